"""Score a backend against gold fixtures: which events it finds, which it invents, which facts it gets wrong.

Generic extraction scaffolds score exact matches of whole objects. For event
data that is useless: one wrong digit in a casualty count makes a whole
incident "wrong" and hides that the event itself was found. So scoring here
has two steps, per record list (``incidents``, ``negotiations``, ...):

1. **Matching.** Predicted records are paired one-to-one with gold records
   by an optimal assignment (``scipy.optimize.linear_sum_assignment``) on a
   similarity; a pair below the list's ``min_similarity`` is no match. The
   assignment maximises, in this order, matched *required* gold records,
   matched records, then total similarity, so it never loses a match that a
   different pairing would have made (greedy first-come matching does).
   Unmatched predictions are false positives; unmatched required gold records
   are false negatives; optional gold records (background events) count
   neither way. On a negative control every prediction is a false positive.
2. **Fields.** Every matched pair (optional ones included: a wrong fact is
   wrong wherever it is) is compared field by field; a field's accuracy is
   the mean score over the pairs where it applies.

What counts as "similar" and "the same fact" is domain knowledge, so none of
it is here. A task declares it in an :class:`EvaluationSpec` built from the
generic comparators of this module (:class:`Exact`, :class:`Text`,
:class:`Date`, :class:`Names`, :class:`SetOf`, :class:`Aligned`,
:class:`Claims`, :class:`Quotes`, :class:`All`) and exposes it as the
``EVALUATION`` attribute of its schema's module (the built-in one is in
``llm_extract.schemas.conflict``). A schema module without one gets
:meth:`EvaluationSpec.default`: matching on shared evidence, exact fields.

Entry points: :func:`evaluate` (extract with configured backends, through the
cache, and score; the CLI's ``llm-extract eval``), :func:`score_fixture` and
:func:`score_records` (score predictions you already have).
"""

from __future__ import annotations

import html
import json
import os
import re
import sys
import time
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from .config import Config, load_config
from .errors import ConfigError, FixtureError
from .extract import Extractor
from .fixtures import Fixture, load_fixtures
from .grounding import SourceText, iter_evidence, normalize
from .results import DocumentResult, Usage
from .task import Task

if TYPE_CHECKING:
    import pandas

__all__ = [
    "Aligned",
    "All",
    "Claims",
    "Comparator",
    "Counts",
    "Date",
    "DocumentScore",
    "EvaluationReport",
    "EvaluationSpec",
    "Exact",
    "FieldScore",
    "Names",
    "Quotes",
    "RecordSpec",
    "RunInfo",
    "SetOf",
    "Text",
    "evaluate",
    "score_fixture",
    "score_records",
]

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


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model class inside ``X``, ``X | None``, ``list[X]`` or ``Annotated[...]``, if any."""
    if typing.get_origin(annotation) is None and isinstance(annotation, type):
        return annotation if issubclass(annotation, BaseModel) else None
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
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
        current = _inner_model(current.model_fields[name].annotation)
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


@lru_cache(maxsize=65536)
def _same_token(a: str, b: str) -> bool:
    """Equal, or near spellings of one longer word (transliterations: Jasim / Jassim)."""
    return a == b or (len(a) >= 4 and len(b) >= 4 and SequenceMatcher(None, a, b).ratio() >= 0.8)


def _overlap(a: Sequence[str], b: Sequence[str]) -> float:
    """Share of the shorter name's words found in the other: a short form matches its long form."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if not short:
        return 0.0
    return sum(any(_same_token(t, u) for u in long) for t in short) / len(short)


def _assign(weights: Sequence[Sequence[float]]) -> list[tuple[int, int]]:
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
    return [(i, j) for i, j in _assign(weights) if scores[i][j] >= threshold]


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

    ``min_ratio`` below 1 also accepts near spellings (difflib ratio), for
    transliterations such as "Daraa" / "Deraa". Two missing values agree.
    """

    min_ratio: float = 1.0

    def __call__(self, gold: Any, pred: Any) -> float:
        g, p = _text(_get(gold, self.attr)), _text(_get(pred, self.attr))
        if g is None or p is None:
            return 1.0 if g is None and p is None else 0.0
        if g == p or (self.min_ratio < 1.0 and SequenceMatcher(None, g, p).ratio() >= self.min_ratio):
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


# --- the spec ------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordSpec:
    """How one record list is matched and scored.

    Attributes:
        match: name -> (comparator, weight); the similarity of two records is
            the weighted mean of these scores (those that do not apply are left out).
        fields: field label -> comparator, scored on every matched pair.
        min_similarity: below this, two records are not the same event.
    """

    match: Mapping[str, tuple[Comparator, float]]
    fields: Mapping[str, Comparator] = field(default_factory=dict)
    min_similarity: float = 0.5

    def similarity(self, gold: Any, pred: Any) -> float:
        total = weights = 0.0
        for comparator, weight in self.match.values():
            score = comparator(gold, pred)
            if score is not None:
                total += weight * score
                weights += weight
        return total / weights if weights else 0.0


_FALLBACK = RecordSpec(match={"evidence": (Quotes(), 1.0)})


@dataclass(frozen=True)
class EvaluationSpec:
    """What to compare, per record list of a task schema; the engine's only domain input for scoring.

    A task exposes one as ``EVALUATION`` in the module of its schema class;
    record lists it does not mention are matched on shared evidence and have
    no field scores.
    """

    records: Mapping[str, RecordSpec]
    name: str = "custom"

    def for_list(self, name: str) -> RecordSpec:
        return self.records.get(name, _FALLBACK)

    def check(self, schema: type[BaseModel]) -> None:
        """Every list and path must exist in ``schema``.

        Raises:
            ConfigError: one line naming the spec, the list, the entry and the bad field.
        """
        for list_name, rs in self.records.items():
            where = f"evaluation spec {self.name}: {list_name}"
            if list_name not in schema.model_fields:
                raise ConfigError(f"{where}: {schema.__name__} has no record list {list_name!r}")
            item = _inner_model(schema.model_fields[list_name].annotation)
            entries = [(f"match[{k!r}]", c) for k, (c, _) in rs.match.items()]
            entries += [(f"fields[{k!r}]", c) for k, c in rs.fields.items()]
            for label, comparator in entries:
                try:
                    comparator.check(item)
                except ValueError as exc:
                    raise ConfigError(f"{where}.{label}: {exc}; fix the path in the spec") from None

    @classmethod
    def default(cls, schema: type[BaseModel]) -> EvaluationSpec:
        """For a schema without a spec: match on shared evidence, compare each top-level field exactly."""
        records = {}
        for name, info in schema.model_fields.items():
            item = _inner_model(info.annotation)
            if typing.get_origin(info.annotation) is list and item is not None:
                fields = {f: Exact(f) for f in item.model_fields if f != "evidence"}
                records[name] = RecordSpec(match=_FALLBACK.match, fields=fields)
        return cls(records, name="default (shared evidence, exact fields)")

    @classmethod
    def for_task(cls, task: Task) -> EvaluationSpec:
        """The ``EVALUATION`` of the task schema's module, checked against the schema, else :meth:`default`."""
        module_name = task.schema.__module__
        spec = getattr(sys.modules.get(module_name), "EVALUATION", None)
        if spec is None:
            return cls.default(task.schema)
        if not isinstance(spec, EvaluationSpec):
            raise ConfigError(
                f"{module_name}.EVALUATION: expected an llm_extract.evaluation.EvaluationSpec, "
                f"got {type(spec).__name__}"
            )
        if spec.name == "custom":
            spec = EvaluationSpec(spec.records, name=f"{module_name}:EVALUATION")
        spec.check(task.schema)
        return spec


# --- scores --------------------------------------------------------------------------


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


@dataclass
class Counts:
    """Matching outcome for one record list (or all of them).

    ``precision`` and ``recall`` are ``None`` when undefined (nothing
    predicted / nothing to find); ``f1`` is 2TP / (2TP + FP + FN), which
    equals their harmonic mean when both exist and is 1.0 when there was
    nothing to find and nothing was invented (a negative control done right).
    """

    tp: int = 0
    fp: int = 0
    fn: int = 0
    optional_found: int = 0
    optional_missed: int = 0

    @property
    def precision(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        den = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / den if den else 1.0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.optional_found += other.optional_found
        self.optional_missed += other.optional_missed

    def to_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "optional_found": self.optional_found,
            "optional_missed": self.optional_missed,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


@dataclass
class FieldScore:
    """Sum of a field's scores over matched pairs and how many pairs it applied to."""

    total: float = 0.0
    n: int = 0

    @property
    def accuracy(self) -> float | None:
        return self.total / self.n if self.n else None

    def add(self, other: FieldScore) -> None:
        self.total += other.total
        self.n += other.n

    def to_dict(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "n": self.n}


@dataclass
class DocumentScore:
    """The scores of one backend on one document (or, from :meth:`combine`, on many).

    Attributes:
        counts: per record list.
        fields: ``"<list>.<field label>"`` -> score over matched pairs.
        quotes, grounded: predicted evidence quotes, and how many are found in the source.
        matches: ``(list, gold index, predicted index, similarity, optional)`` per pair.
        mismatches: every field of a matched pair that scored below 1, with both values.
        error: why extraction failed (the document then counts as all missed).
    """

    doc_id: str
    backend: str = ""
    negative_control: bool = False
    counts: dict[str, Counts] = field(default_factory=dict)
    fields: dict[str, FieldScore] = field(default_factory=dict)
    quotes: int = 0
    grounded: int = 0
    matches: list[dict[str, Any]] = field(default_factory=list)
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    cache_hit: bool | None = None
    documents: int = 1

    @property
    def total(self) -> Counts:
        """All record lists together."""
        out = Counts()
        for c in self.counts.values():
            out.add(c)
        return out

    @property
    def precision(self) -> float | None:
        return self.total.precision

    @property
    def recall(self) -> float | None:
        return self.total.recall

    @property
    def f1(self) -> float:
        return self.total.f1

    @property
    def grounding_rate(self) -> float | None:
        return _ratio(self.grounded, self.quotes)

    @classmethod
    def combine(cls, scores: Sequence[DocumentScore], doc_id: str = "overall", backend: str = "") -> DocumentScore:
        """Micro-averaged: counts and field scores summed over documents before dividing."""
        out = cls(doc_id=doc_id, backend=backend, documents=0)
        for s in scores:
            out.documents += s.documents
            for name, c in s.counts.items():
                out.counts.setdefault(name, Counts()).add(c)
            for name, f in s.fields.items():
                out.fields.setdefault(name, FieldScore()).add(f)
            out.quotes += s.quotes
            out.grounded += s.grounded
        return out

    def to_dict(self, *, details: bool = True) -> dict[str, Any]:
        """The JSON shape; ``details=False`` (for combined scores) leaves out per-document status and pairs."""
        data: dict[str, Any] = {"doc_id": self.doc_id, "backend": self.backend}
        if details:
            data |= {"negative_control": self.negative_control, "error": self.error, "cache_hit": self.cache_hit}
        else:
            data["documents"] = self.documents
        data["records"] = {name: c.to_dict() for name, c in self.counts.items()} | {"all": self.total.to_dict()}
        data["fields"] = {name: f.to_dict() for name, f in self.fields.items()}
        data["evidence"] = {"quotes": self.quotes, "grounded": self.grounded, "rate": self.grounding_rate}
        if details:
            data["matches"] = self.matches
            data["mismatches"] = self.mismatches
        return data


GoldList = Sequence[BaseModel | tuple[BaseModel, bool]]
Predicted = Mapping[str, Sequence[BaseModel]] | BaseModel | DocumentResult | None


def _predicted_lists(predicted: Predicted, names: Sequence[str]) -> dict[str, list[BaseModel]]:
    if predicted is None:
        return {name: [] for name in names}
    if isinstance(predicted, DocumentResult):
        predicted = predicted.records
    if isinstance(predicted, BaseModel):
        return {name: list(getattr(predicted, name, None) or []) for name in names}
    return {name: list(predicted.get(name, [])) for name in names}


def score_records(
    gold: Mapping[str, GoldList],
    predicted: Predicted,
    spec: EvaluationSpec,
    *,
    source: str | None = None,
    negative_control: bool = False,
    doc_id: str = "",
    backend: str = "",
) -> DocumentScore:
    """Match and score one document's predicted records against its gold records.

    Args:
        gold: record list -> gold records; a ``(record, optional)`` pair marks
            an optional one (a bare record is required).
        predicted: the task's records object, a :class:`DocumentResult`, a
            mapping of lists, or ``None`` (nothing predicted).
        spec: what to compare (see :class:`EvaluationSpec`).
        source: the article text, to check that predicted quotes are in it;
            without it a quote counts as grounded when it carries offsets.
        negative_control: the document reports no event (shown in reports; the
            gold is then empty, so every prediction is a false positive anyway).
    """
    names = list(dict.fromkeys([*spec.records, *gold]))
    if isinstance(predicted, Mapping):
        names += [n for n in predicted if n not in names]
    preds = _predicted_lists(predicted, names)
    out = DocumentScore(doc_id=doc_id, backend=backend, negative_control=negative_control)
    for name in names:
        rs = spec.for_list(name)
        entries = [(g, False) if isinstance(g, BaseModel) else g for g in gold.get(name, [])]
        p = preds[name]
        counts = out.counts.setdefault(name, Counts())
        for label in rs.fields:
            out.fields.setdefault(f"{name}.{label}", FieldScore())
        sims = [[rs.similarity(g, pr) for pr in p] for g, _ in entries]
        # Lexicographic objective: required matches, then matches, then similarity.
        k = min(len(entries), len(p))
        per_match = k + 1.0
        per_required = k * (per_match + 1.0) + 1.0
        weights = [
            [s + per_match + (0.0 if optional else per_required) if s >= rs.min_similarity else 0.0 for s in row]
            for row, (_, optional) in zip(sims, entries, strict=True)
        ]
        pairs = [(i, j) for i, j in _assign(weights) if sims[i][j] >= rs.min_similarity]
        matched_g, matched_p = {i for i, _ in pairs}, {j for _, j in pairs}
        for i, j in sorted(pairs):
            g, optional = entries[i]
            if optional:
                counts.optional_found += 1
            else:
                counts.tp += 1
            out.matches.append(
                {"records": name, "gold": i, "predicted": j, "similarity": round(sims[i][j], 4), "optional": optional}
            )
            for label, comparator in rs.fields.items():
                score = comparator(g, p[j])
                if score is None:
                    continue
                fs = out.fields[f"{name}.{label}"]
                fs.total += score
                fs.n += 1
                if score < 1.0:
                    out.mismatches.append(
                        {
                            "records": name,
                            "gold": i,
                            "predicted": j,
                            "field": label,
                            "score": round(score, 4),
                            "gold_value": comparator.show(g),
                            "predicted_value": comparator.show(p[j]),
                        }
                    )
        for i, (_, optional) in enumerate(entries):
            if i not in matched_g:
                if optional:
                    counts.optional_missed += 1
                else:
                    counts.fn += 1
        counts.fp += len(p) - len(matched_p)
    finder = SourceText(source) if source is not None else None
    for records in preds.values():
        for ev in iter_evidence(records):
            out.quotes += 1
            found = finder.find(ev.quote) is not None if finder else ev.start is not None
            out.grounded += found
    return out


def score_fixture(
    fixture: Fixture,
    predicted: Predicted,
    spec: EvaluationSpec,
    *,
    backend: str = "",
    error: str | None = None,
) -> DocumentScore:
    """Score predictions for one loaded fixture (``None`` with an ``error`` for a failed extraction)."""
    score = score_records(
        fixture.gold,
        predicted,
        spec,
        source=fixture.document.text,
        negative_control=fixture.header.negative_control,
        doc_id=fixture.doc_id,
        backend=backend,
    )
    score.error = error
    if isinstance(predicted, DocumentResult):
        score.cache_hit = predicted.provenance.cache_hit
    return score


# --- the report ------------------------------------------------------------------------


@dataclass
class RunInfo:
    """How one backend's extraction run went: cost, cache use, failures."""

    backend: str
    kind: str = ""
    model: str = ""
    documents: int = 0
    failed: int = 0
    cache_hits: int = 0
    usage: Usage = field(default_factory=Usage)
    wall_time_s: float = 0.0

    def describe(self) -> str:
        u = self.usage
        text = (
            f"{self.backend} ({self.kind} {self.model}): {self.documents} documents, {self.cache_hits} from cache, "
            f"{u.model_calls} model calls, {u.prompt_tokens}+{u.completion_tokens} tokens, "
            f"{self.failed} failed, {self.wall_time_s:.1f}s"
        )
        return text + (f", ${u.cost_usd:.4f}" if u.cost_usd is not None else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "kind": self.kind,
            "model": self.model,
            "documents": self.documents,
            "failed": self.failed,
            "cache_hits": self.cache_hits,
            "usage": self.usage.model_dump(),
            "wall_time_s": round(self.wall_time_s, 3),
        }


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


_DOC_COLS = ("P", "R", "F1", "TP", "FP", "FN", "opt", "quotes")
_TYPE_COLS = ("P", "R", "F1", "TP", "FP", "FN", "opt")
_FIELD_COLS = ("acc", "n")


def _count_cells(c: Counts) -> list[str]:
    found, total = c.optional_found, c.optional_found + c.optional_missed
    return [_num(c.precision), _num(c.recall), _num(c.f1), str(c.tp), str(c.fp), str(c.fn), f"{found}/{total}"]


def _grid(title: str, groups: Sequence[str], cols: Sequence[str], rows: Sequence[tuple[str, list[list[str]]]]) -> str:
    """A plain-text table: a label column, then one group of ``cols`` per backend."""
    width = [max([len(title), *(len(label) for label, _ in rows)])]
    for g in range(len(groups)):
        for c, name in enumerate(cols):
            width.append(max([len(name), *(len(cells[g][c]) for _, cells in rows)]))
    ncols = len(cols)
    for g, name in enumerate(groups):  # a long backend name widens the group's first column
        span = sum(width[1 + g * ncols : 1 + (g + 1) * ncols]) + 2 * (ncols - 1)
        width[1 + g * ncols] += max(0, len(name) - span)

    def line(label: str, cells: list[str]) -> str:
        parts = [label.ljust(width[0])]
        for i, cell in enumerate(cells):
            sep = "   " if i % ncols == 0 else "  "
            parts.append(sep + cell.rjust(width[1 + i]))
        return "".join(parts).rstrip()

    head = [title.ljust(width[0])]
    for g, name in enumerate(groups):
        span = sum(width[1 + g * ncols : 1 + (g + 1) * ncols]) + 2 * (ncols - 1)
        head.append("   " + name.ljust(span))
    out = ["".join(head).rstrip(), line("", [c for _ in groups for c in cols])]
    out += [line(label, [c for cells in group for c in cells]) for label, group in rows]
    return "\n".join(out)


def _short(value: Any, limit: int = 70) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class EvaluationReport:
    """Scores of one or more backends on a set of fixtures.

    Prints as a text table (``print(report)``), renders as HTML in Jupyter,
    and converts with :meth:`to_dict` / :meth:`to_json` / :meth:`to_pandas`.

    Attributes:
        documents: one :class:`DocumentScore` per backend and fixture.
        backends: in the order given; the table shows them side by side.
        runs: per backend, how the extraction run went.
    """

    documents: list[DocumentScore]
    backends: list[str]
    runs: dict[str, RunInfo] = field(default_factory=dict)
    fixtures: str = ""
    spec: str = ""

    @property
    def doc_ids(self) -> list[str]:
        return list(dict.fromkeys(d.doc_id for d in self.documents))

    @property
    def overall(self) -> dict[str, DocumentScore]:
        """Per backend, every document combined (micro-averaged)."""
        return {
            b: DocumentScore.combine([d for d in self.documents if d.backend == b], backend=b) for b in self.backends
        }

    def f1(self, backend: str | None = None) -> float:
        """Overall F1 of ``backend`` (default: the first)."""
        return self.overall[backend or self.backends[0]].f1

    def _doc(self, backend: str, doc_id: str) -> DocumentScore | None:
        return next((d for d in self.documents if d.backend == backend and d.doc_id == doc_id), None)

    # -- text ---------------------------------------------------------------------------

    def _sections(self) -> list[tuple[str, Sequence[str], list[tuple[str, list[list[str]]]]]]:
        """(title, columns, rows) of the three tables, shared by the text and HTML renderings."""
        overall = self.overall
        doc_rows: list[tuple[str, list[list[str]]]] = []
        for doc_id in self.doc_ids:
            cells, negative = [], False
            for b in self.backends:
                d = self._doc(b, doc_id)
                if d is None:
                    cells.append([""] * len(_DOC_COLS))
                    continue
                negative = negative or d.negative_control
                cells.append([*_count_cells(d.total), _pct(d.grounding_rate)])
                if d.error:
                    cells[-1][2] += "!"
            doc_rows.append((doc_id + (" [no event]" if negative else ""), cells))
        doc_rows.append(
            ("overall", [[*_count_cells(overall[b].total), _pct(overall[b].grounding_rate)] for b in self.backends])
        )
        types = list(dict.fromkeys(n for b in self.backends for n in overall[b].counts))
        type_rows = [
            (n, [_count_cells(overall[b].counts.get(n, Counts())) for b in self.backends]) for n in types
        ]
        type_rows.append(("all", [_count_cells(overall[b].total) for b in self.backends]))
        names = list(dict.fromkeys(n for b in self.backends for n in overall[b].fields))
        field_rows = []
        for n in names:
            cells = []
            for b in self.backends:
                f = overall[b].fields.get(n, FieldScore())
                cells.append([_num(f.accuracy), str(f.n)])
            field_rows.append((n, cells))
        return [
            ("document", _DOC_COLS, doc_rows),
            ("record type", _TYPE_COLS, type_rows),
            ("field (matched pairs)", _FIELD_COLS, field_rows),
        ]

    def table(self, *, mismatches: int = 20) -> str:
        """The report as plain text: documents, record types, fields, then failures and wrong facts."""
        groups = [self._group_name(b) for b in self.backends]
        parts = [
            f"Evaluation of {len(self.doc_ids)} fixture{'' if len(self.doc_ids) == 1 else 's'}"
            + (f" in {self.fixtures}" if self.fixtures else "")
            + (f" (spec: {self.spec})" if self.spec else "")
        ]
        parts += [_grid(title, groups, cols, rows) for title, cols, rows in self._sections()]
        parts.append(
            "P/R/F1: required records (- = undefined). opt: optional gold records found/total, never counted.\n"
            "quotes: predicted quotes found in the source. acc: mean field score over n matched pairs.\n"
            "[no event]: negative control, any record is a false positive. !: extraction failed, all missed."
        )
        failures = [d for d in self.documents if d.error]
        if failures:
            parts.append("Failed:\n" + "\n".join(f"  {d.backend} {d.doc_id}: {d.error}" for d in failures))
        wrong = [(d, m) for d in self.documents for m in d.mismatches]
        if wrong and mismatches:
            lines = [
                f"  {d.backend} {d.doc_id} {m['records']}[{m['gold']}].{m['field']}: "
                f"gold {_short(m['gold_value'])} / predicted {_short(m['predicted_value'])}"
                for d, m in wrong[:mismatches]
            ]
            if len(wrong) > mismatches:
                lines.append(f"  ... and {len(wrong) - mismatches} more (see the JSON report)")
            parts.append("Wrong facts:\n" + "\n".join(lines))
        runs = [self.runs[b].describe() for b in self.backends if b in self.runs]
        if runs:
            parts.append("Runs:\n" + "\n".join("  " + r for r in runs))
        return "\n\n".join(parts)

    def _group_name(self, backend: str) -> str:
        run = self.runs.get(backend)
        return f"{backend} ({run.model})" if run and run.model and run.model != backend else backend

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        f1 = ", ".join(f"{b}={self.f1(b):.3f}" for b in self.backends)
        return f"EvaluationReport({len(self.doc_ids)} documents, F1 {f1})"

    # -- HTML ---------------------------------------------------------------------------

    def _repr_html_(self) -> str:
        """A self-contained HTML rendering (no scripts, no external CSS); every value is escaped."""
        e = html.escape
        groups = [self._group_name(b) for b in self.backends]
        cell = 'style="padding:2px 8px;text-align:right;border-bottom:1px solid #ddd"'
        left = 'style="padding:2px 8px;text-align:left;border-bottom:1px solid #ddd"'
        out = ['<div class="llm-extract-eval">']
        for title, cols, rows in self._sections():
            out.append('<table style="border-collapse:collapse;margin:8px 0">')
            out.append(f"<thead><tr><th {left}></th>")
            out += [f'<th colspan="{len(cols)}" {left}>{e(g)}</th>' for g in groups]
            out.append(f"</tr><tr><th {left}>{e(title)}</th>")
            out += [f"<th {cell}>{e(c)}</th>" for _ in groups for c in cols]
            out.append("</tr></thead><tbody>")
            for label, cells in rows:
                out.append(f"<tr><td {left}>{e(label)}</td>")
                out += [f"<td {cell}>{e(v)}</td>" for group in cells for v in group]
                out.append("</tr>")
            out.append("</tbody></table>")
        failures = [d for d in self.documents if d.error]
        if failures:
            out.append("<p><b>Failed</b></p><ul>")
            out += [f"<li>{e(d.backend)} {e(d.doc_id)}: {e(d.error or '')}</li>" for d in failures]
            out.append("</ul>")
        wrong = [(d, m) for d in self.documents for m in d.mismatches]
        if wrong:
            out.append('<table style="border-collapse:collapse;margin:8px 0"><thead><tr>')
            out += [f"<th {left}>{e(h)}</th>" for h in ("backend", "document", "field", "gold", "predicted")]
            out.append("</tr></thead><tbody>")
            for d, m in wrong[:500]:
                where = f"{m['records']}[{m['gold']}].{m['field']}"
                out.append(
                    f"<tr><td {left}>{e(d.backend)}</td><td {left}>{e(d.doc_id)}</td><td {left}>{e(where)}</td>"
                    f'<td {left} dir="auto">{e(_short(m["gold_value"], 300))}</td>'
                    f'<td {left} dir="auto">{e(_short(m["predicted_value"], 300))}</td></tr>'
                )
            out.append("</tbody></table>")
        out += [f"<p>{e(self.runs[b].describe())}</p>" for b in self.backends if b in self.runs]
        out.append("</div>")
        return "".join(out)

    def to_html(self) -> str:
        """A whole HTML page (UTF-8) around :meth:`_repr_html_`, for ``--html``."""
        title = html.escape(f"llm-extract evaluation: {', '.join(self.backends)}")
        return (
            f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title></head>'
            f'<body style="font-family:sans-serif;font-size:14px"><h1>{title}</h1>{self._repr_html_()}</body></html>\n'
        )

    # -- data ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "fixtures": self.fixtures,
            "spec": self.spec,
            "backends": self.backends,
            "overall": {b: s.to_dict(details=False) for b, s in self.overall.items()},
            "runs": {b: r.to_dict() for b, r in self.runs.items()},
            "documents": [d.to_dict() for d in self.documents],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def write_json(self, path: str | os.PathLike[str]) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    def write_html(self, path: str | os.PathLike[str]) -> None:
        Path(path).write_text(self.to_html(), encoding="utf-8")

    def to_pandas(
        self,
        kind: Literal["documents", "fields", "overall", "mismatches"] = "documents",
        records: str | None = None,
    ) -> pandas.DataFrame:
        """A DataFrame for analysis.

        Args:
            kind: ``"documents"``: one row per backend, document and record
                list; ``"overall"``: per backend and record list (``"all"``
                included); ``"fields"``: per backend, document and field;
                ``"mismatches"``: one row per wrong fact.
            records: only the rows of one record list, e.g. ``"incidents"``.

        Raises:
            ImportError: pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_pandas() needs pandas: pip install 'llm_extract[pandas]'") from None
        rows: list[dict[str, Any]] = []
        if kind == "documents":
            for d in self.documents:
                for name, c in d.counts.items():
                    rows.append(
                        {"backend": d.backend, "doc_id": d.doc_id, "records": name, **c.to_dict()}
                        | {"negative_control": d.negative_control, "error": d.error}
                    )
        elif kind == "overall":
            for b, s in self.overall.items():
                for name, c in [*s.counts.items(), ("all", s.total)]:
                    rows.append({"backend": b, "records": name, **c.to_dict()})
        elif kind == "fields":
            for d in self.documents:
                for name, f in d.fields.items():
                    rows.append({"backend": d.backend, "doc_id": d.doc_id, "field": name, **f.to_dict()})
        elif kind == "mismatches":
            for d in self.documents:
                for m in d.mismatches:
                    rows.append({"backend": d.backend, "doc_id": d.doc_id, **m})
        else:
            raise ValueError(f"kind must be documents, overall, fields or mismatches, not {kind!r}")
        if records is not None:
            rows = [r for r in rows if r.get("records", str(r.get("field", "")).split(".")[0]) == records]
        return pd.DataFrame(rows)


# --- running it --------------------------------------------------------------------------


def evaluate(
    fixtures_dir: str | os.PathLike[str] = "seeds",
    config: Config | str | os.PathLike[str] | None = None,
    backends: str | Sequence[str] | None = None,
    *,
    cache: bool = True,
    refresh: bool = False,
    spec: EvaluationSpec | None = None,
    progress: bool = True,
) -> EvaluationReport:
    """Extract every fixture's document with each backend and score it against the gold.

    Extraction goes through the cache, so a second run of the same backend
    costs no model call. Documents run concurrently (the backend's
    ``concurrency``); a document that fails is reported and counts as all
    missed, it never stops the run.

    Args:
        fixtures_dir: folder of ``*.gold.json`` fixtures beside their sources.
        config: a :class:`Config`, a config file, or ``None`` to find one as usual.
        backends: ``[backends.NAME]`` names to compare; default ``default_backend``.
        cache: ``False`` neither reads nor writes the cache.
        refresh: skip cache lookups (new results are still stored).
        spec: overrides the task's ``EVALUATION``.
        progress: a progress bar on stderr.

    Raises:
        ConfigError: unknown backend, missing key, bad spec.
        FixtureError: a fixture that does not load (one line: file and field).
    """
    from .batch import arun_batch

    cfg = config if isinstance(config, Config) else load_config(config)
    names = [backends] if isinstance(backends, str) else list(backends or [cfg.default_backend])
    for name in names:
        cfg.backend(name)  # unknown names and missing keys fail before any model call
    task = Task.from_config(cfg.task)
    spec = spec or EvaluationSpec.for_task(task)
    fixtures = load_fixtures(Path(fixtures_dir), task)
    seen: dict[str, Path] = {}
    for fx in fixtures:
        if fx.doc_id in seen:
            raise FixtureError(f"{fx.path}: doc_id: {fx.doc_id!r} is also the doc_id of {seen[fx.doc_id]}")
        seen[fx.doc_id] = fx.path
    scores: list[DocumentScore] = []
    runs: dict[str, RunInfo] = {}
    for name in names:
        started = time.perf_counter()
        with Extractor(cfg, name, cache=cache) as ex:
            batch = ex._run(arun_batch(ex, [fx.document for fx in fixtures], refresh=refresh, progress=progress))
            results = {r.doc_id: r for r in batch.results}
            failures = {f.doc_id: f"{f.error}: {f.reason}" for f in batch.summary.failures}
            for fx in fixtures:
                scores.append(
                    score_fixture(fx, results.get(fx.doc_id), spec, backend=name, error=failures.get(fx.doc_id))
                )
            s = batch.summary
            runs[name] = RunInfo(
                backend=name,
                kind=ex.backend_config.kind,
                model=ex.backend_config.model,
                documents=s.documents,
                failed=s.failed,
                cache_hits=s.cache_hits,
                usage=s.usage,
                wall_time_s=time.perf_counter() - started,
            )
    return EvaluationReport(scores, names, runs, fixtures=str(fixtures_dir), spec=spec.name)
