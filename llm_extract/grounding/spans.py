"""Spans and dates are grounded like quotes.

A string field annotated with :data:`ARTICLE_SPAN` (a name, a place, a source
*as written*) must be found in the article, so a model cannot invent a person
or copy the prompt's own marker. A date value annotated with :class:`DateOf`
must agree with its date words and never be later than the publication date.
Both fail with the error type :data:`UNGROUNDED`, which the engine re-asks
and, when re-asks run out, answers by dropping the record that holds the
field, with a warning (:func:`drop_ungrounded`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, ValidationError, ValidationInfo
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from .context import context_of
from .numbers import numbers_stated
from .text import EDGE_JUNK, SourceText, normalize, quotable_passages

UNGROUNDED = "ungrounded"
"""The error type of a span or date the article does not support (see :func:`drop_ungrounded`)."""


def _field(info: ValidationInfo) -> str:
    return info.field_name or "value"


@dataclass(frozen=True)
class Span:
    """Field marker: a string copied from the article (a name or place *as written*), which must be found in it.

    Annotate the field (``Annotated[str, ARTICLE_SPAN]``); ``None`` and empty
    strings are allowed, since they claim nothing. Translations and
    normalised forms (``name_en``) are not spans and stay unmarked.
    """

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.with_info_after_validator_function(self._check, handler(source))

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
_MAX_EXTRA_WORDS = 3
"""How many words a repaired span may hold beyond the model's own (``15 آذار`` -> ``15 من آذار``)."""


def _quotes(obj: Any) -> list[str]:
    """Every evidence quote inside one record, as the model wrote it."""
    if isinstance(obj, dict):
        own = [obj["quote"]] if isinstance(obj.get("quote"), str) else []
        return own + [q for v in obj.values() for q in _quotes(v)]
    if isinstance(obj, list):
        return [q for v in obj for q in _quotes(v)]
    return []


def article_words(value: str, quotes: list[str], max_extra: int = _MAX_EXTRA_WORDS) -> str | None:
    """The article's own words for a span the model shortened, or ``None``.

    Small models abbreviate what they copy ("15 آذار" for "في 15 من آذار
    الحالي"). When every word of ``value`` occurs, in order and with at most
    ``max_extra`` other words among them, in one of ``quotes`` (the record's
    own grounded quotes, or the article's sentences), the shortest such
    stretch is what the article writes. A name or place written nowhere in
    them (an invented person) stays unrepaired.
    """
    wanted = [w for w in (normalize(t).strip(EDGE_JUNK) for t in value.split()) if w]
    if len(wanted) < 2:
        return None
    best: str | None = None
    for quote in quotes:
        tokens = [(m.start(), m.end(), normalize(m.group()).strip(EDGE_JUNK)) for m in _TOKEN.finditer(quote)]
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


_MAX_EXTRA_WORDS_ARTICLE = 1
"""Outside the record's own quotes, a repaired span may hold one word beyond the model's (``15 من آذار``)."""


def drop_ungrounded(
    data: dict[str, Any], error: ValidationError, article: str | None = None, published: str | None = None
) -> list[str] | None:
    """Mend or remove what in ``data`` holds an ungrounded span or date.

    The engine's last resort once re-asks ran out. A span the model
    shortened is replaced by the article's own words when the record's
    quotes hold them, or else when one of the ``article``'s sentences holds
    them with at most one word more (:func:`article_words`); any other invented name, or a
    date the article does not give, costs its record (an item of a top-level
    list), with a warning per record, not the document. Date words that are
    the ``published`` date itself (the prompt's metadata, which small models
    copy for "when") are not the article's: that date becomes unknown
    (words ``""``, value null) and the record stays. Returns the
    warnings (the caller validates again), or ``None`` when any error is of
    another kind (or outside a record), which no drop may hide.
    """
    where: dict[tuple[str, int], str] = {}
    warnings: list[str] = []
    for err in error.errors():
        loc = err["loc"]
        if err["type"] != UNGROUNDED or len(loc) < 2 or not isinstance(loc[0], str) or not isinstance(loc[1], int):
            return None
        value = err.get("input")
        records = data.get(loc[0])
        record = records[loc[1]] if isinstance(records, list) and loc[1] < len(records) else None
        mended = article_words(value, _quotes(record)) if isinstance(value, str) and len(loc) > 2 else None
        if mended is None and article and isinstance(value, str) and len(loc) > 2:
            mended = article_words(value, quotable_passages(article), _MAX_EXTRA_WORDS_ARTICLE)
        parent: Any = record
        for step in loc[2:-1]:
            if isinstance(parent, dict):
                parent = parent.get(step)
            elif isinstance(parent, list) and isinstance(step, int) and step < len(parent):
                parent = parent[step]
            else:
                parent = None
        copied = mended is None and published and isinstance(value, str) and value.strip() == published
        if copied and isinstance(parent, dict) and parent.get(loc[-1]) == value and "value" in parent:
            parent[loc[-1]], parent["value"] = "", None
            parent.pop("precision", None)
            path = ".".join(str(p) for p in loc[2:-1])
            warnings.append(f"set {loc[0]}[{loc[1]}].{path} unknown: {value!r} is the publication date")
            continue
        if mended is not None and isinstance(parent, dict) and parent.get(loc[-1]) == value:
            parent[loc[-1]] = mended
            path = ".".join(str(p) for p in loc[2:])
            warnings.append(f"set {loc[0]}[{loc[1]}].{path} to the article's words {mended!r} (was {value!r})")
            continue
        where.setdefault((loc[0], loc[1]), err["msg"])
    for name in {name for name, _ in where}:
        items = data.get(name)
        if not isinstance(items, list):
            return None
        dropped = {i for n, i in where if n == name}
        data[name] = [item for i, item in enumerate(items) if i not in dropped]
        warnings += [f"dropped {name}[{i}]: {where[(name, i)]}" for i in sorted(dropped)]
    return sorted(warnings)
