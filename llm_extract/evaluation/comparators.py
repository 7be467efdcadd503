"""Generic comparators: how similar two records are, and whether two values are the same fact.

A task builds its :class:`~llm_extract.evaluation.EvaluationSpec` from these; none of them knows a domain.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from rapidfuzz import fuzz

from ..grounding import iter_evidence, normalize

# --- paths into records ------------------------------------------------------------


def _get(obj: Any, path: str) -> Any:
    """``"date.value"`` -> ``obj.date.value``; ``"claims[].source"`` -> one value per claim; ``""`` -> ``obj``.

    A ``None`` on the way gives ``None``: an absent location has no ``admin1``.
    """
    return _walk(obj, path.split(".")) if path else obj


def _walk(obj: Any, parts: Sequence[str]) -> Any:
    if not parts:
        return obj
    if obj is None:
        return None
    head, rest = parts[0], parts[1:]
    name = head.removesuffix("[]")
    value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
    if head.endswith("[]"):
        return [_walk(v, rest) for v in (value or [])]
    return _walk(value, rest)


def inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model class inside ``X``, ``X | None``, ``list[X]`` or ``Annotated[...]``, if any."""
    if typing.get_origin(annotation) is None and isinstance(annotation, type):
        return annotation if issubclass(annotation, BaseModel) else None
    for arg in typing.get_args(annotation):
        found = inner_model(arg)
        if found is not None:
            return found
    return None


def _check_path(model: type[BaseModel] | None, path: str) -> type[BaseModel] | None:
    """Follow ``path`` through the schema; a misspelt field fails when the spec loads, not mid-run."""
    current = model
    for part in filter(None, path.split(".")):
        if current is None:
            return None  # below the typed part of the schema; nothing more to check
        name = part.removesuffix("[]")
        if name not in current.model_fields:
            raise ValueError(f"{current.__name__} has no field {name!r} (path {path!r})")
        current = inner_model(current.model_fields[name].annotation)
    return current


def _plain(value: Any) -> Any:
    """A JSON-able, comparable form: enums by value, models dumped without unset (None) fields."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# --- similarity helpers -------------------------------------------------------------

_AR_ARTICLE = ("وال", "بال", "فال", "كال", "لل", "ال")
_FUNCTION_WORDS = (
    "the and for with from near into onto over under between its their his her "
    "على الى إلى بين عند قرب حول نحو ضد التي الذي الذين بعد قبل"
)
"""Words of the languages themselves (not of any domain) that never tell two names apart."""


def _words(text: str) -> list[str]:
    out = []
    for word in re.findall(r"\w+", normalize(text)):
        for prefix in _AR_ARTICLE:
            if word.startswith(prefix) and len(word) - len(prefix) >= 3:
                word = word[len(prefix) :]
                break
        if word not in out:
            out.append(word)
    return out


_STOP = frozenset(_words(_FUNCTION_WORDS))


@lru_cache(maxsize=4096)
def _tokens(text: str) -> tuple[str, ...]:
    """Content words of a name: normalised, Arabic article stripped, function words and words under 3 letters dropped.

    Short words are mostly particles ("of", "al", "في"); if a name is nothing
    but short words ("UN"), they are kept.
    """
    words = [w for w in _words(text) if w not in _STOP]
    return tuple([w for w in words if len(w) >= 3] or words)


def _same_token(a: str, b: str) -> bool:
    """Equal, or near spellings of one longer word (transliterations: Jasim / Jassim)."""
    return a == b or (len(a) >= 4 and len(b) >= 4 and fuzz.ratio(a, b, score_cutoff=80) >= 80)


def _overlap(a: Sequence[str], b: Sequence[str]) -> float:
    """Share of the shorter name's words found in the other: a short form matches its long form."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if not short:
        return 0.0
    return sum(any(_same_token(t, u) for u in long) for t in short) / len(short)


def assign(weights: Sequence[Sequence[float]]) -> list[tuple[int, int]]:
    """Row/column pairs of the maximum-weight one-to-one assignment (scipy imported only when scoring)."""
    if not weights or not weights[0]:
        return []
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(weights, maximize=True)
    return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True)]


def _pair(gold: Sequence[Any], pred: Sequence[Any], item: Comparator, threshold: float) -> list[tuple[int, int]]:
    """Optimal one-to-one pairing of list items whose score reaches ``threshold``; most pairs first."""
    scores = [[item(g, p) or 0.0 for p in pred] for g in gold]
    bonus = min(len(gold), len(pred)) + 1.0  # one more pair always outweighs any sum of scores
    weights = [[s + bonus if s >= threshold else 0.0 for s in row] for row in scores]
    return [(i, j) for i, j in assign(weights) if scores[i][j] >= threshold]


# --- comparators ---------------------------------------------------------------------


@dataclass(frozen=True)
class Comparator:
    """Compares what two records hold at ``attr`` (a path such as ``"location.admin1"``; ``""`` is the record).

    Calling it gives a score in [0, 1] (1: the same fact), or ``None`` when
    there is nothing to compare; subclasses say what "the same" means.
    """

    attr: str = ""

    def __call__(self, gold: Any, pred: Any) -> float | None:
        raise NotImplementedError

    def show(self, obj: Any) -> Any:
        """What this comparator looked at in ``obj``, JSON-able, for the list of wrong facts."""
        return _plain(_get(obj, self.attr))

    def check(self, model: type[BaseModel] | None) -> None:
        """Raise ``ValueError`` when a path does not exist in ``model``."""
        _check_path(model, self.attr)


@dataclass(frozen=True)
class Exact(Comparator):
    """Equal values score 1, others 0. ``None`` is a value of its own.

    So for a count, *unknown* matches only unknown, and unknown vs 0 is wrong;
    for an enum, the same member.
    """

    def __call__(self, gold: Any, pred: Any) -> float:
        return 1.0 if _plain(_get(gold, self.attr)) == _plain(_get(pred, self.attr)) else 0.0


@dataclass(frozen=True)
class Text(Comparator):
    """The same text after :func:`llm_extract.grounding.normalize` (case, whitespace, Arabic orthography).

    ``min_ratio`` below 1 also accepts near spellings (rapidfuzz's ratio, difflib's measure), for
    transliterations such as "Daraa" / "Deraa". Two missing values agree.
    """

    min_ratio: float = 1.0

    def __call__(self, gold: Any, pred: Any) -> float:
        g, p = _text(_get(gold, self.attr)), _text(_get(pred, self.attr))
        if g is None or p is None:
            return 1.0 if g is None and p is None else 0.0
        if g == p or (self.min_ratio < 1.0 and fuzz.ratio(g, p) >= 100 * self.min_ratio):
            return 1.0
        return 0.0


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = normalize(str(_plain(value))).strip(" .,;:،؛-'\"")
    return text or None


@dataclass(frozen=True)
class Date(Comparator):
    """A date object with a ``value`` (ISO, maybe partial) and a ``precision``: both must agree.

    With ``partial`` (for matching), dates that agree at the coarser precision
    (``2022-03`` vs ``2022-03-15``) score ``partial``: close enough to
    recognise the same event, still wrong as a fact. An ISO string at
    ``attr`` is compared on its value alone.
    """

    partial: float = 0.0
    value: str = "value"
    precision: str = "precision"

    def _parts(self, obj: Any) -> tuple[Any, Any]:
        if isinstance(obj, str):
            return obj, None
        return _plain(_get(obj, self.value)), _plain(_get(obj, self.precision))

    def __call__(self, gold: Any, pred: Any) -> float:
        g, p = _get(gold, self.attr), _get(pred, self.attr)
        if g is None or p is None:
            return 1.0 if g is None and p is None else 0.0
        (gv, gp), (pv, pp) = self._parts(g), self._parts(p)
        if gv == pv and gp == pp:
            return 1.0
        if self.partial and gv and pv and (str(gv).startswith(str(pv)) or str(pv).startswith(str(gv))):
            return self.partial
        return 0.0

    def show(self, obj: Any) -> Any:
        d = _get(obj, self.attr)
        if d is None:
            return None
        value, precision = self._parts(d)
        return f"{value} ({precision})" if precision is not None else value

    def check(self, model: type[BaseModel] | None) -> None:
        inner = _check_path(model, self.attr)
        _check_path(inner, self.value)
        _check_path(inner, self.precision)


@dataclass(frozen=True)
class Names(Comparator):
    """One named thing (a place, a person, an actor) under several name forms, e.g. as written and in English.

    Score: the best word overlap between any gold form and any predicted form
    (share of the shorter name's content words found in the other, near
    spellings accepted), or 0 below ``min_overlap``. So "Syrian regime
    security patrol" matches "State Security patrol of the Syrian regime".
    ``ignore`` lists words too generic to identify anything in this domain
    ("village", "مدينة"); a form made only of them names nothing. Two
    objects without any name agree.
    """

    names: tuple[str, ...] = ("",)
    min_overlap: float = 0.5
    ignore: frozenset[str] = frozenset()

    def _forms(self, obj: Any) -> list[tuple[str, ...]]:
        if obj is None:
            return []
        ignore = _ignored(self.ignore)
        forms = []
        for path in self.names:
            value = _get(obj, path)
            if isinstance(value, str) and (tokens := tuple(t for t in _tokens(value) if t not in ignore)):
                forms.append(tokens)
        return forms

    def __call__(self, gold: Any, pred: Any) -> float:
        g, p = self._forms(_get(gold, self.attr)), self._forms(_get(pred, self.attr))
        if not g or not p:
            return 1.0 if not g and not p else 0.0
        best = max(_overlap(a, b) for a in g for b in p)
        return best if best >= self.min_overlap else 0.0

    def show(self, obj: Any) -> Any:
        target = _get(obj, self.attr)
        if target is None:
            return None
        forms = [v for v in (_get(target, n) for n in self.names) if v is not None]
        return forms[0] if len(forms) == 1 else forms

    def check(self, model: type[BaseModel] | None) -> None:
        inner = _check_path(model, self.attr)
        for path in self.names:
            _check_path(inner, path)


@lru_cache(maxsize=64)
def _ignored(words: frozenset[str]) -> frozenset[str]:
    return frozenset(w for word in words for w in _words(word))


@dataclass(frozen=True)
class Quotes(Comparator):
    """How far two objects rest on the same passages of the article.

    Overlap of their evidence (every :class:`~llm_extract.grounding.Evidence`
    inside, at any depth) relative to the smaller of the two: character
    offsets where both are grounded, else normalised quote containment.
    ``None`` when neither holds evidence.
    """

    def __call__(self, gold: Any, pred: Any) -> float | None:
        g = list(iter_evidence(_get(gold, self.attr)))
        p = list(iter_evidence(_get(pred, self.attr)))
        if not g or not p:
            return None if not g and not p else 0.0
        if all(e.start is not None and e.end is not None for e in [*g, *p]):
            gc = {i for e in g for i in range(e.start or 0, e.end or 0)}
            pc = {i for e in p for i in range(e.start or 0, e.end or 0)}
            return len(gc & pc) / min(len(gc), len(pc)) if gc and pc else 0.0
        gq, pq = [normalize(e.quote) for e in g], [normalize(e.quote) for e in p]

        def share(a: list[str], b: list[str]) -> float:
            return sum(any(x in y or y in x for y in b) for x in a) / len(a)

        return max(share(gq, pq), share(pq, gq))

    def show(self, obj: Any) -> Any:
        return [e.quote for e in iter_evidence(_get(obj, self.attr))]


@dataclass(frozen=True)
class All(Comparator):
    """Every part must agree: the lowest of their scores (parts that do not apply are skipped)."""

    parts: tuple[Comparator, ...] = field(default=(), kw_only=True)

    def __call__(self, gold: Any, pred: Any) -> float | None:
        g, p = _get(gold, self.attr), _get(pred, self.attr)
        scores = [s for s in (part(g, p) for part in self.parts) if s is not None]
        return min(scores) if scores else None

    def show(self, obj: Any) -> Any:
        target = _get(obj, self.attr)
        return [part.show(target) for part in self.parts]

    def check(self, model: type[BaseModel] | None) -> None:
        inner = _check_path(model, self.attr)
        for part in self.parts:
            part.check(inner)


@dataclass(frozen=True)
class SetOf(Comparator):
    """A list compared as a set: items paired one-to-one (optimally) where ``item`` scores at least ``threshold``.

    Score: 2 x pairs / (gold items + predicted items), so a missing item and
    an invented one both cost. Two empty lists agree. ``distinct`` drops
    repeated values first (e.g. the change types of several claims).
    """

    item: Comparator = field(default_factory=Exact)
    threshold: float = 0.5
    distinct: bool = False

    def _items(self, obj: Any) -> list[Any]:
        items = list(_get(obj, self.attr) or [])
        if not self.distinct:
            return items
        seen: dict[str, Any] = {}
        for it in items:
            seen.setdefault(json.dumps(_plain(it), sort_keys=True, ensure_ascii=False, default=str), it)
        return list(seen.values())

    def __call__(self, gold: Any, pred: Any) -> float:
        g, p = self._items(gold), self._items(pred)
        if not g or not p:
            return 1.0 if not g and not p else 0.0
        return 2 * len(_pair(g, p, self.item, self.threshold)) / (len(g) + len(p))

    def show(self, obj: Any) -> Any:
        return [self.item.show(it) for it in self._items(obj)]

    def check(self, model: type[BaseModel] | None) -> None:
        self.item.check(_check_path(model, self.attr))


@dataclass(frozen=True)
class Claims(SetOf):
    """Versions of a disputed fact, each with its attribution: every version must be present *with its source*.

    A claim pairs with another when both ``fact`` and ``source`` agree; the
    score is as for :class:`SetOf`. So when two sources disagree (Damascus vs
    Qamishli), a prediction with only one version scores 2/3, and swapping
    the sources scores 0.
    """

    fact: Comparator = field(default_factory=Exact, kw_only=True)
    source: Comparator = field(default_factory=Exact, kw_only=True)

    def __call__(self, gold: Any, pred: Any) -> float:
        g, p = self._items(gold), self._items(pred)
        if not g or not p:
            return 1.0 if not g and not p else 0.0
        both = All(parts=(self.fact, self.source))
        return 2 * len(_pair(g, p, both, self.threshold)) / (len(g) + len(p))

    def show(self, obj: Any) -> Any:
        return [{"fact": self.fact.show(c), "source": self.source.show(c)} for c in self._items(obj)]

    def check(self, model: type[BaseModel] | None) -> None:
        inner = _check_path(model, self.attr)
        self.fact.check(inner)
        self.source.check(inner)


@dataclass(frozen=True)
class Aligned(Comparator):
    """One value inside list items that must be paired first, e.g. the ``killed`` count of each side.

    Items are paired by ``key`` (optimally, at least ``threshold``); each
    pair's ``value`` is compared with ``compare`` (default :class:`Exact`:
    unknown matches only unknown). An item without a partner is wrong if it
    states a value and skipped if it does not. Score: the mean; ``None`` when
    nothing was compared.
    """

    key: Comparator = field(default_factory=Exact, kw_only=True)
    value: str = field(default="", kw_only=True)
    compare: Comparator = field(default_factory=Exact, kw_only=True)
    threshold: float = field(default=0.5, kw_only=True)

    def __call__(self, gold: Any, pred: Any) -> float | None:
        g, p = list(_get(gold, self.attr) or []), list(_get(pred, self.attr) or [])
        pairs = _pair(g, p, self.key, self.threshold)
        scores = [self.compare(_get(g[i], self.value), _get(p[j], self.value)) for i, j in pairs]
        paired_g, paired_p = {i for i, _ in pairs}, {j for _, j in pairs}
        unpaired = [it for i, it in enumerate(g) if i not in paired_g] + [
            it for j, it in enumerate(p) if j not in paired_p
        ]
        scores += [0.0 for it in unpaired if _get(it, self.value) is not None]
        known = [s for s in scores if s is not None]
        return sum(known) / len(known) if known else None

    def show(self, obj: Any) -> Any:
        out = []
        for it in _get(obj, self.attr) or []:
            key = self.key.show(it)
            out.append([key[0] if isinstance(key, list) and key else key, _plain(_get(it, self.value))])
        return out

    def check(self, model: type[BaseModel] | None) -> None:
        inner = _check_path(model, self.attr)
        self.key.check(inner)
        _check_path(inner, self.value)
