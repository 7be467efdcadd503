"""Spans and dates are grounded like quotes.

A string field annotated with :data:`ARTICLE_SPAN` (a name, a place, a source
*as written*) must be found in the article, so a model cannot invent a person
or copy the prompt's own marker. A date value annotated with :class:`DateOf`
must agree with its date words and never be later than the publication date.
Both fail with the error type :data:`UNGROUNDED`, which the engine re-asks
and, when re-asks run out, answers by removing the least that makes the
answer true (a date, an actor, the words a place does not have; the record
only when nothing less will do), with a warning (:func:`drop_ungrounded`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any, get_args

from annotated_types import MaxLen
from pydantic import BaseModel, GetCoreSchemaHandler, ValidationError, ValidationInfo
from pydantic.fields import FieldInfo
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from .context import context_of
from .numbers import numbers_stated
from .text import EDGE_JUNK, SourceText, normalize, quotable_passages, strip_prefix

UNGROUNDED = "ungrounded"
"""The error type of a span or date the article does not support (see :func:`drop_ungrounded`)."""

SPAN_MARK = "x-llm-extract-article-span"
"""Marks a :class:`Span` field: in its core schema's metadata, and in a JSON schema built to show spans
(``answer_schema(model, spans=True)``), where a grammar-constrained backend can offer only the article's words."""


def _field(info: ValidationInfo) -> str:
    return info.field_name or "value"


@dataclass(frozen=True)
class Span:
    """Field marker: a string copied from the article (a name or place *as written*), which must be found in it.

    Annotate the field (``Annotated[str, ARTICLE_SPAN]``); ``None`` and empty
    strings are allowed, since they claim nothing. Translations and
    normalised forms (``name_en``) are not spans and stay unmarked.
    """

    qualified_by: tuple[str, ...] = ()
    """Sibling fields whose values a model also writes into the span ("Syria Aleppo" beside ``country`` "Syria").

    Salvage cuts such a value from the span's start or end, in the order
    given, when the record's own quotes write what is left (never the
    qualifier itself); the engine never needs to know what a country is.
    """

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.with_info_after_validator_function(self._check, handler(source), metadata={SPAN_MARK: True})

    @staticmethod
    def _check(value: Any, info: ValidationInfo) -> Any:
        ctx = context_of(info)
        text = ctx.get("source") if ctx and ctx.get("spans", True) else None
        if isinstance(value, str) and isinstance(text, SourceText) and not text.contains(value):
            raise PydanticCustomError(
                UNGROUNDED,
                "{field} {value} is not written in the article; copy it exactly as the article writes it, "
                "or leave out the record",
                {"field": _field(info), "value": repr(value[:120])},
            )
        return value


ARTICLE_SPAN = Span()
ArticleSpan = Annotated[str, ARTICLE_SPAN]
"""A string the article must contain (normalised like quotes)."""


def _date_of(iso: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(iso) if len(iso) == 10 else None
    except ValueError:
        return None


@dataclass(frozen=True)
class DateOf:
    """Field marker for an ISO date value (``YYYY[-MM[-DD]]``) resolved from the date words in ``text_field``.

    The value must not be later than the publication date (at the precision
    both have), a year the words state must be its year, and a day of the
    month the words state must be its day, unless that number is how many days
    before publication the value lies ("three days ago").
    A value without date words is refused: use null when the article gives no date.
    The text field must be declared before the value field.
    """

    text_field: str = "text"

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.with_info_after_validator_function(self._check, handler(source))

    def _check(self, value: Any, info: ValidationInfo) -> Any:
        ctx = context_of(info)
        if not isinstance(value, str) or not ctx or not isinstance(ctx.get("source"), SourceText):
            return value
        if not ctx.get("spans", True):
            return value
        data = info.data if isinstance(info.data, dict) else {}
        if self.text_field not in data:
            return value  # the words themselves failed; that error is reported already
        words = str(data[self.text_field] or "")
        published = ctx.get("published")
        problem = date_problem(value, words, published if isinstance(published, str) else None)
        if problem:
            raise PydanticCustomError(
                UNGROUNDED,
                "{field} {value}: {problem}",
                {"field": _field(info), "value": value, "problem": problem},
            )
        return value


_WEEKDAY = re.compile(r"(?:\bال|\b)(?:اثنين|إثنين|أثنين)\b")
"""Monday in Arabic (الاثنين) is spelt "the two": in date words it names a weekday, not the number 2."""


_WEEKDAY_NAMES: dict[str, int] = {
    normalize(name): day
    for day, names in enumerate(
        (
            ("monday", "الاثنين", "الإثنين"),
            ("tuesday", "الثلاثاء"),
            ("wednesday", "الأربعاء"),
            ("thursday", "الخميس"),
            ("friday", "الجمعة"),
            ("saturday", "السبت"),
            ("sunday", "الأحد"),
        )
    )
    for name in names
}
"""Weekday names (``date.weekday()`` numbers); Arabic ones with their article, since أحد alone is "one"."""


def _weekday_of(word: str) -> int | None:
    """The day of the week (Monday 0) a token of a quote names, or ``None``."""
    return _WEEKDAY_NAMES.get(normalize(word.strip(EDGE_JUNK)).lower())


def weekday_words(value: str, quotes: list[str], published: str | None) -> str | None:
    """The weekday a quote names for ``value``, as written, when ``value`` is that day of the week before publication.

    Articles date an event by its weekday ("killed on Wednesday"), and a model
    that resolves it writes the value in place of the words. The value is
    the article's when a record's own quote names its weekday and it lies in
    the week up to the publication date: those words then support it.
    """
    when, pub = _date_of(value.strip()), _date_of(published or "")
    if when is None or pub is None or not 0 <= (pub - when).days < 7:
        return None
    for quote in quotes:
        tokens = list(_TOKEN.finditer(quote))
        for i, m in enumerate(tokens):
            if _weekday_of(m.group()) != when.weekday():
                continue
            # "Wednesday 9 March": the words after the weekday may date it otherwise
            after = quote[m.start() : tokens[min(i + 3, len(tokens) - 1)].end()]
            if date_problem(value.strip(), after, published) is None:
                return m.group().strip(EDGE_JUNK)
    return None


def _names_a_weekday(quotes: list[str]) -> bool:
    """Whether a quote names a day of the week ("On Tuesday", "الجمعة")."""
    return any(_weekday_of(m.group()) is not None for quote in quotes for m in _TOKEN.finditer(quote))


def date_problem(value: str, words: str, published: str | None) -> str | None:
    if not normalize(words).strip(EDGE_JUNK):
        return "no date words from the article support it; give them in the text field, or use null"
    if published:
        n = min(len(value), len(published))
        if value[:n] > published[:n]:
            return f"is later than the publication date {published}"
    stated = numbers_stated(_WEEKDAY.sub(" ", words))
    years = {n for n in stated if 1000 <= n <= 2999}
    if years and int(value[:4]) not in years:
        return f"the date words {words[:80]!r} state the year {min(years)}"
    days = {n for n in stated if 1 <= n <= 31}
    when, pub = _date_of(value), _date_of(published or "")
    relative = when is not None and pub is not None and (pub - when).days in stated  # "three days ago"
    if when is not None and days and when.day not in days and not relative:
        return f"the date words {words[:80]!r} state the day {min(days)}, not {when.day}"
    return None


_TOKEN = re.compile(r"\S+")
_WORD = re.compile(r"[^\s/]+")
"""A word as spans are repaired: Arabic month pairs are written "فبراير/ شباط" as often as "فبراير/شباط"."""
_MAX_EXTRA_WORDS = 3
"""How many words a repaired span may hold beyond the model's own (``15 آذار`` -> ``15 من آذار``)."""


def quotes_in(obj: Any) -> list[str]:
    """Every evidence quote inside one record as JSON data (an answer as the model wrote it)."""
    if isinstance(obj, dict):
        own = [obj["quote"]] if isinstance(obj.get("quote"), str) else []
        return own + [q for v in obj.values() for q in quotes_in(v)]
    if isinstance(obj, list):
        return [q for v in obj for q in quotes_in(v)]
    return []


def article_words(value: str, quotes: list[str], max_extra: int = _MAX_EXTRA_WORDS, min_words: int = 2) -> str | None:
    """The article's own words for a span the model shortened, or ``None``.

    Small models abbreviate what they copy ("15 آذار" for "في 15 من آذار
    الحالي"). When every word of ``value`` occurs, in order and with at most
    ``max_extra`` other words among them, in one of ``quotes`` (the record's
    own grounded quotes, or the article's sentences), the shortest such
    stretch is what the article writes. A slash parts words as a space does
    ("18 فبراير/شباط" is the article's "18 من فبراير/ شباط"). A name or place
    written nowhere in them (an invented person) stays unrepaired.
    """
    wanted = [w for w in (_word_key(m.group()) for m in _WORD.finditer(value)) if w]
    if len(wanted) < min_words:
        return None
    best: str | None = None
    for quote in quotes:
        tokens = [(m.start(), m.end(), _word_key(m.group())) for m in _WORD.finditer(quote)]
        for first, (start, _, word) in enumerate(tokens):
            if word != wanted[0]:
                continue
            k, last = 1, first
            for j in range(first + 1, min(len(tokens), first + len(wanted) + max_extra)):
                if k < len(wanted) and tokens[j][2] == wanted[k]:
                    k, last = k + 1, j
            if k == len(wanted):
                stretch = quote[start : tokens[last][1]].strip(EDGE_JUNK)
                if best is None or len(stretch) < len(best):
                    best = stretch
    return best


_ARTICLE_PREFIXES = ("وال", "بال", "ال")
"""Only the definite article (with و or ب before it): a lone و or ب may be a name's first letter (وسام, بسام)."""


_POSSESSIVE = re.compile(r"(?<=[a-z]{3})'?s$")
"""An English possessive, written as the FA-KES texts write it with the apostrophe removed ("Syrias")."""


def _word_key(word: str) -> str:
    """A word as spans compare it: folded, without the Arabic article ("القيادي" is the article's "قيادي"),
    and without an English possessive: the model writes "Syria Deir ez-Zor province" for the article's
    "Syrias Deir ez-Zor province" (Syria's), and only the article's words are ever kept."""
    return _POSSESSIVE.sub("", strip_prefix(normalize(word).strip(EDGE_JUNK), _ARTICLE_PREFIXES))


_MAX_EXTRA_WORDS_ARTICLE = 1
"""Outside the record's own quotes, a repaired span may hold one word beyond the model's (``15 من آذار``)."""


_VALUE_AS_WORDS = re.compile(r"\d{4}(?:[-/]\d{1,2}(?:[-/]\d{1,2})?)?")
"""Date words that are an ISO value ("2016-08-10"): the model wrote the value where the article's words belong."""


def _later(value: str, published: str | None) -> bool:
    n = min(len(value), len(published or ""))
    return bool(published) and value[:n].replace("/", "-") > (published or "")[:n]


def _class_at(model: type[BaseModel] | None, path: tuple[Any, ...]) -> Any:
    """The model class of the object ``path`` (names and list indices, from the top of ``model``) leads to."""
    cls: Any = model
    for step in path:
        if isinstance(step, int):
            continue
        fields = getattr(cls, "model_fields", None)
        if not isinstance(fields, dict) or step not in fields:
            return None
        types = _types_in(fields[step].annotation)
        cls = next((t for t in types if isinstance(t, type) and issubclass(t, BaseModel)), None)
    return cls


def _field_at(model: type[BaseModel] | None, path: tuple[Any, ...]) -> FieldInfo | None:
    """The field that ``path`` ends in (its last step is a field name), or ``None``."""
    fields = getattr(_class_at(model, path[:-1]), "model_fields", None)
    return fields.get(path[-1]) if isinstance(fields, dict) and isinstance(path[-1], str) else None


def _types_in(annotation: Any) -> list[Any]:
    """``annotation`` and every type inside it (``list[Actor] | None`` -> list, Actor, None)."""
    return [annotation, *(t for arg in get_args(annotation) for t in _types_in(arg))]


def _value_of_words(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> str | None:
    """The field a :class:`DateOf` resolves from the date words at ``loc``, when ``loc`` holds date words."""
    fields = getattr(_class_at(model, loc[:-1]), "model_fields", None) or {}
    for name, field in fields.items():
        if any(isinstance(m, DateOf) and m.text_field == loc[-1] for m in field.metadata):
            return str(name)
    return None


def _optional_item(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> int | None:
    """Where in ``loc`` the innermost list item below the record sits, when its list may lose items.

    A list with a minimum length (a personnel change's claims) is part of
    what its record says, so a bad item there costs the record; an actor
    the article does not name is one actor fewer.
    """
    for j in range(len(loc) - 2, 2, -1):
        if isinstance(loc[j], int):
            field = _field_at(model, loc[:j])
            if field is None or any(getattr(m, "min_length", 0) for m in field.metadata):
                return None
            return j
    return None


def _written_part(value: str, passages: list[str], qualifiers: list[str], quotes: list[str]) -> str | None:
    """The article's words for ``value`` without its qualifiers ("Qalamoun region, Syria", "Syria Aleppo").

    Models append the country or governorate to a place, or the article
    ("المصياف" for the article's "مصياف", which the words compare alike). Trailing
    comma-separated parts are cut, and what is left must be written in the
    article as whole words: "Nawa, Daraa" is "Nawa", never "Daraa", and
    "مدينة باريس" is not "مدينة". A ``qualifiers`` value (the place's own
    ``country``, from :attr:`Span.qualified_by`) written as whole words at its
    start or end is cut too, and then what is left must be in the record's
    own ``quotes``: "South Lebanon" less "Lebanon" is no place because the
    article writes "south" somewhere. What is left is never a qualifier itself.
    """
    parts = [p for p in re.split(r"\s*[,،]\s*", value.strip()) if p]
    refused = {_words_key(q) for q in qualifiers}
    for n in range(len(parts), 0, -1):
        kept = " ".join(parts[:n])
        tries = [(kept, passages)] + [(_without(kept, q), quotes) for q in qualifiers]
        for words, where in tries:
            found = article_words(words, where, 0, min_words=1) if words else None
            if found is not None and _words_key(found) not in refused:
                return found
    return None


def _words_key(words: str) -> tuple[str, ...]:
    return tuple(_word_key(w) for w in words.split())


def _without(words: str, qualifier: str) -> str | None:
    """``words`` less ``qualifier`` written as whole words at their start or end, or ``None``."""
    have, cut = words.split(), qualifier.split()
    if not cut or len(cut) >= len(have):
        return None
    keys, cut_keys = list(_words_key(words)), list(_words_key(qualifier))
    if keys[: len(cut)] == cut_keys:
        return " ".join(have[len(cut) :])
    if keys[-len(cut) :] == cut_keys:
        return " ".join(have[: -len(cut)])
    return None


@dataclass
class _Ungrounded:
    """One value of an answer that grounding refused, and where it sits in the answer's JSON."""

    loc: tuple[Any, ...]
    value: Any
    record: Any
    """The item of a top-level list that holds it (``incidents[0]``)."""
    parent: Any
    """The object whose field it is."""

    @classmethod
    def at(cls, data: dict[str, Any], loc: tuple[Any, ...], value: Any) -> _Ungrounded:
        records = data.get(loc[0])
        record = records[loc[1]] if isinstance(records, list) and loc[1] < len(records) else None
        return cls(loc, value, record, _at(record, loc[2:-1]))

    @property
    def own(self) -> bool:
        """Whether the answer still holds the refused string where grounding found it (so it may be mended)."""
        return (
            isinstance(self.parent, dict)
            and isinstance(self.value, str)
            and self.parent.get(self.loc[-1]) == self.value
        )

    def set(self, words: str) -> str:
        """Write the article's ``words`` in its place; the warning that says so."""
        self.parent[self.loc[-1]] = words
        where = f"{self.loc[0]}[{self.loc[1]}].{_dotted(self.loc[2:])}"
        return f"set {where} to the article's words {words!r} (was {self.value!r})"


def _fits(bad: _Ungrounded, words: str, model: type[BaseModel] | None) -> bool:
    """Whether ``words`` fit the field of ``bad`` (its ``max_length``).

    The article's words for a span can be longer than the model's (a word
    it left out), and a mend that breaks the schema would fail the whole
    document where removing the value costs one record at most.
    """
    field = _field_at(model, bad.loc)
    limit = next((m.max_length for m in field.metadata if isinstance(m, MaxLen)), None) if field else None
    return limit is None or len(words) <= limit


def _as_article_words(bad: _Ungrounded, passages: list[str], model: type[BaseModel] | None) -> str | None:
    """A span the model shortened becomes the record's quotes' words, or one of the article's sentences'."""
    if not bad.own or len(bad.loc) <= 2:
        return None
    mended = article_words(bad.value, quotes_in(bad.record)) or article_words(
        bad.value, passages, _MAX_EXTRA_WORDS_ARTICLE
    )
    return bad.set(mended) if mended is not None and _fits(bad, mended, model) else None


def _value_field(bad: _Ungrounded, model: type[BaseModel] | None) -> str | None:
    """The field that holds the value of ``bad``'s date words, or ``None`` when ``bad`` is no date words."""
    if not bad.own:
        return None
    field = _value_of_words(model, bad.loc)
    if field is None and model is None and bad.loc[-1] != "value" and "value" in bad.parent:
        field = "value"  # without the answer's class: any object with a value beside the words
    return field


def _date_mended(bad: _Ungrounded, value_field: str | None, published: str | None) -> str | None:
    """Date words written as a value: the weekday a quote of the record names for it, else an unknown date.

    A value later than publication makes the date unknown too, not the
    record, when a quote of the record names a weekday: "On Tuesday" written
    as "2017-11-03" in an article of 2017-11-02 is a weekday counted wrong,
    and the record's own quotes date it again on the way out (the weekday
    before publication); dropping it lost a gold incident with its toll (11
    killed). A later value with no weekday quoted is not mended: an injected
    "report an incident in Paris" dated 2024 goes, as before.
    """
    if value_field is None or not _VALUE_AS_WORDS.fullmatch(bad.value.strip()):
        return None
    parent, value = bad.parent, bad.value.strip()
    weekday = weekday_words(bad.value, quotes_in(bad.record), published)
    if weekday is not None:
        parent[value_field] = value
        if "precision" in parent:
            parent["precision"] = "day"
        return bad.set(weekday)
    later = _later(bad.value, published)
    if later and not _names_a_weekday(quotes_in(bad.record)):
        return None
    parent[bad.loc[-1]], parent[value_field] = "", None
    parent.pop("precision", None)
    why = "is the publication date" if value == published else "is a value, not the article's words"
    if later:
        why = f"is a value later than the publication date {published}"
    return f"set {bad.loc[0]}[{bad.loc[1]}].{_dotted(bad.loc[2:-1])} unknown: {bad.value!r} {why}"


def _place_mended(bad: _Ungrounded, passages: list[str], model: type[BaseModel] | None) -> str | None:
    """A span of a nested object (a place, not a list item) keeps the words the article writes, less qualifiers."""
    nested = len(bad.loc) > 3 and not any(isinstance(p, int) for p in bad.loc[2:-1])
    if not (bad.own and nested):
        return None
    field = _field_at(model, bad.loc)
    names = next((m.qualified_by for m in field.metadata if isinstance(m, Span)), ()) if field else ()
    qualifiers = [v for v in (bad.parent.get(n) for n in names) if isinstance(v, str) and v.strip()]
    part = _written_part(bad.value, passages, qualifiers, quotes_in(bad.record))
    return bad.set(part) if part is not None and _fits(bad, part, model) else None


def _optional_object(bad: _Ungrounded, model: type[BaseModel] | None) -> tuple[Any, ...] | None:
    """Where the optional object that holds ``bad`` sits (``negotiations[0].location``), when it may be unknown.

    A negotiation's place the article does not write is an unknown place,
    not an invented negotiation; a field the record cannot be without (an
    incident's place) has no default, and the record goes as before.
    """
    path = tuple(bad.loc[:-1])
    if len(path) != 3 or not isinstance(path[-1], str):
        return None
    field = _field_at(model, path)
    if field is None or field.is_required() or field.default is not None:
        return None
    return path


def _set_unknown(data: dict[str, Any], path: tuple[Any, ...], why: str) -> str:
    holder = _at(data, path[:-1])
    if isinstance(holder, dict):
        holder[path[-1]] = None
    return f"set {path[0]}[{path[1]}].{_dotted(path[2:])} unknown: {why}"


SALVAGE_VERSION = 12
"""Bumped whenever salvage keeps or removes differently (:func:`drop_ungrounded`, or a number kept with the
article's passage that states it): the cache stores salvaged answers."""


def drop_ungrounded(
    data: dict[str, Any],
    error: ValidationError,
    article: str | None = None,
    published: str | None = None,
    model: type[BaseModel] | None = None,
) -> list[str] | None:
    """Mend or remove what in ``data`` holds an ungrounded span or date, keeping what the article supports.

    The engine's last resort once re-asks ran out. Most answers that fail
    grounding are true events badly copied, and dropping them is how a
    small model's recall was lost, so the least that makes the answer true
    is removed (``model``, the answer's class, says which lists may lose items):

    - a span the model shortened becomes the article's own words when the
      record's quotes hold them, or else one of the ``article``'s sentences
      with at most one word more (:func:`article_words`);
    - date words that are a value ("2016-08-10", or the ``published`` date
      the prompt gave) are not the article's: they become the weekday a
      quote of the record names for that value in the week up to
      publication (:func:`weekday_words`), else the date becomes unknown
      (words ``""``, value null), also when it is later than publication and a
      quote of the record names a weekday;
    - a name in a list that may lose items (an actor, a party) is removed;
    - a span of a nested object (a place) written with words the article
      does not have ("Qalamoun region, Syria", or "Syria Aleppo" beside the
      place's country "Syria") becomes its words before a comma, or less a
      qualifier its field declares (:attr:`Span.qualified_by`), that the
      article writes;
    - a span in an optional object of a record (a negotiation's place, a
      personnel change's date) that nothing above mends makes that object
      unknown (null), keeping the record;
    - anything else (an invented person, place or date words) costs its
      record (an item of a top-level list), not the document.

    Each step leaves a warning. Returns the warnings (the caller validates
    again), or ``None`` when any error is of another kind (or outside a
    record), which no drop may hide.
    """
    where: dict[tuple[str, int], str] = {}
    warnings: list[str] = []
    removals: dict[tuple[Any, ...], set[int]] = {}
    removed: list[tuple[Any, str]] = []
    unknown: set[tuple[Any, ...]] = set()
    passages = quotable_passages(article) if article else []  # the article's sentences, split once per answer
    for err in error.errors():
        loc = err["loc"]
        if err["type"] != UNGROUNDED or len(loc) < 2 or not isinstance(loc[0], str) or not isinstance(loc[1], int):
            return None
        bad = _Ungrounded.at(data, loc, err.get("input"))
        value_field = _value_field(bad, model)
        note = (
            _as_article_words(bad, passages, model)
            or _date_mended(bad, value_field, published)
            or (None if value_field is not None else _place_mended(bad, passages, model))
        )
        if note is not None:
            warnings.append(note)
            continue
        held = _optional_object(bad, model)
        if held is not None:
            if held not in unknown:  # one warning for an object with several bad values
                unknown.add(held)
                warnings.append(_set_unknown(data, held, err["msg"]))
            continue
        item = _optional_item(model, loc)
        if item is not None:
            removals.setdefault(tuple(loc[:item]), set()).add(int(loc[item]))
            removed.append((loc, f"removed {loc[0]}[{loc[1]}].{_dotted(loc[2 : item + 1])}: {err['msg']}"))
            continue
        where.setdefault((loc[0], loc[1]), err["msg"])
    for list_path, gone in sorted(removals.items(), key=lambda kv: -len(kv[0])):  # inner lists first
        if (list_path[0], list_path[1]) in where:
            continue  # the record goes anyway
        items = _at(data, list_path)
        if isinstance(items, list):
            items[:] = [x for i, x in enumerate(items) if i not in gone]
    warnings += [note for loc, note in removed if (loc[0], loc[1]) not in where]
    for name in {name for name, _ in where}:
        items = data.get(name)
        if not isinstance(items, list):
            return None
        dropped = {i for n, i in where if n == name}
        data[name] = [item for i, item in enumerate(items) if i not in dropped]
        warnings += [f"dropped {name}[{i}]: {where[(name, i)]}" for i in sorted(dropped)]
    return sorted(warnings)


def _dotted(path: tuple[Any, ...]) -> str:
    """``("actors", 0, "name")`` as ``actors[0].name``."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        if isinstance(data, dict) and isinstance(step, str):
            data = data.get(step)
        elif isinstance(data, list) and isinstance(step, int) and step < len(data):
            data = data[step]
        else:
            return None
    return data
