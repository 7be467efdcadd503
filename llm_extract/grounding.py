"""Grounding: every quote a model returns must be found in the article.

Models copy Arabic text with small orthographic drift (a hamza dropped from
an alef, a taa marbuta written as haa, diacritics added, Eastern digits turned
Western), so quotes are compared after a normalisation that erases exactly
those differences. The normalised text keeps a map back to the original
characters, so the offsets a record stores satisfy
``source[start:end] == matched passage`` in the *original* text.

Numbers are grounded like quotes: a count is kept only when the evidence of
the record that holds it states that number, in digits or in words. The
engine applies this to any schema field annotated with :data:`STATED`.

Spans are grounded like quotes too: a string field annotated with
:data:`ARTICLE_SPAN` (a name, a place, a source *as written*) must be found in
the article, so a model cannot invent a person or copy the prompt's own
marker. A date value annotated with :class:`DateOf` must agree with its
date words and never be later than the publication date. Both fail with the
error type :data:`UNGROUNDED`, which the engine re-asks and, when re-asks
run out, answers by dropping the record that holds the field, with a warning.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

__all__ = [
    "ARTICLE_SPAN",
    "NO_LEXICON",
    "STATED",
    "UNGROUNDED",
    "ArticleSpan",
    "Count",
    "DateOf",
    "Evidence",
    "GroundedRecord",
    "NumberLexicon",
    "SourceText",
    "Span",
    "Stated",
    "current_passage",
    "drop_ungrounded",
    "grounding",
    "iter_evidence",
    "normalize",
    "numbers_stated",
    "quotable_passages",
]

MIN_QUOTE_CHARS = 6
"""Shorter quotes ground trivially (any article contains "في"), so they prove nothing."""

_ALEFS = {"\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627", "\u0671": "\u0627"}
_FOLD = {
    **_ALEFS,
    "\u0629": "\u0647",  # taa marbuta -> haa
    "\u0649": "\u064a",  # alef maqsura -> yaa
    "\u201c": '"',
    "\u201d": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u201e": '"',
    "\u2018": "'",
    "\u2019": "'",
    "\u2032": "'",
    "\u2013": "-",
    "\u2014": "-",
    "\u2011": "-",
}
_DIGITS = {chr(0x0660 + i): str(i) for i in range(10)} | {chr(0x06F0 + i): str(i) for i in range(10)}
_DROP_RANGES = (
    (0x064B, 0x065F),  # harakat, shadda, sukun
    (0x0670, 0x0670),  # superscript alef
    (0x06D6, 0x06ED),  # Quranic annotation marks
    (0x0640, 0x0640),  # tatweel
    (0x200B, 0x200F),  # zero-width space/joiners, LRM, RLM
    (0x202A, 0x202E),  # bidi embeddings
    (0x2066, 0x2069),  # bidi isolates
    (0xFEFF, 0xFEFF),  # BOM
)


def _fold_char(ch: str) -> str:
    """Map one original character to its normalised form ('' drops it).

    Memoised in ``_FOLDS`` by :func:`_normalize_with_map`: articles reuse a few
    hundred distinct characters, and that loop is the grounding hot path.
    """
    code = ord(ch)
    for lo, hi in _DROP_RANGES:
        if lo <= code <= hi:
            return ""
    if ch in _DIGITS:
        return _DIGITS[ch]
    if ch in _FOLD:
        return _FOLD[ch]
    if code >= 0xFB50:  # Arabic presentation forms, ligatures, full-width forms
        return "".join(_fold_char(c) for c in unicodedata.normalize("NFKC", ch))
    return ch.lower()


_FOLDS: dict[str, str | None] = {}
"""Per character: its fold, or ``None`` for whitespace (one dict look-up in the hot loop)."""


def _normalize_with_map(text: str) -> tuple[str, list[int]]:
    """Normalise ``text`` and return, for each output character, its source index."""
    out: list[str] = []
    index: list[int] = []
    pending_space = False
    folds = _FOLDS
    for i, ch in enumerate(text):
        try:
            folded = folds[ch]
        except KeyError:
            folded = folds[ch] = None if ch.isspace() else _fold_char(ch)
        if folded is None:
            pending_space = bool(out)
            continue
        if not folded:
            continue
        if pending_space:
            out.append(" ")
            index.append(i - 1)
            pending_space = False
        if len(folded) == 1:
            out.append(folded)
            index.append(i)
        else:
            for c in folded:
                out.append(c)
                index.append(i)
    return "".join(out), index


def normalize(text: str) -> str:
    """The comparison form of ``text``: whitespace collapsed, Arabic orthography folded."""
    return _normalize_with_map(text)[0]


_EDGE_JUNK = " \"'.,:;،؛…-"


class SourceText:
    """An article prepared once for many quote look-ups.

    Normalising a long article per quote would make grounding quadratic;
    this object normalises it once and answers ``find`` in one ``str.find``.
    """

    __slots__ = ("_index", "_norm", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._norm, self._index = _normalize_with_map(text)

    def find(self, quote: str, window: tuple[int, int] | None = None) -> tuple[int, int] | None:
        """Offsets ``(start, end)`` of ``quote`` in the original text, or ``None``.

        Args:
            quote: the text a model says it copied from the article.
            window: original-text offsets to search first (the chunk the
                model saw); the whole article is searched after that.
        """
        needle = normalize(quote).strip(_EDGE_JUNK)
        if len(needle) < MIN_QUOTE_CHARS:
            return None
        hit = -1
        if window is not None:
            lo = self._norm_pos(window[0])
            hit = self._norm.find(needle, lo, self._norm_pos(window[1]))
        if hit < 0:
            hit = self._norm.find(needle)
        if hit < 0:
            return None
        end = self._index[hit + len(needle) - 1] + 1
        # Take in marks that follow the last matched letter (a final kasra, a tatweel).
        while end < len(self.text) and not self.text[end].isspace() and not _fold_char(self.text[end]):
            end += 1
        return self._index[hit], end

    def contains(self, span: str) -> bool:
        """Whether ``span`` (a name, a place) is written in the article, normalised as quotes are.

        No minimum length, unlike quotes: a short place name is still a claim
        the article must make. An empty span claims nothing and is allowed.
        """
        needle = normalize(span).strip(_EDGE_JUNK)
        if not needle or needle in self._norm:
            return True
        # ل + ال is written لل: "للحكومة السورية" contains the name "الحكومة السورية"
        return needle.startswith("\u0627\u0644") and "\u0644" + needle[2:] in self._norm

    def _norm_pos(self, original: int) -> int:
        """First normalised position whose source index is >= ``original``."""
        return bisect.bisect_left(self._index, original)


_CONTEXT: ContextVar[dict[str, Any] | None] = ContextVar("llm_extract_grounding", default=None)


@contextmanager
def grounding(
    source: SourceText,
    *,
    window: tuple[int, int] | None = None,
    unstated_numbers: Literal["reask", "unknown"] = "reask",
    lexicon: NumberLexicon | None = None,
    published: str | None = None,
    spans: bool = True,
) -> Iterator[dict[str, Any]]:
    """Validate models against ``source`` inside this block.

    A context variable rather than Pydantic's ``context=`` argument, because
    instructor renders messages as Jinja templates whenever a context is
    passed, and an article must never be executed as a template. Yields the
    context dict, whose ``"warnings"`` list collects numbers set to unknown.
    ``lexicon`` is the task's :class:`NumberLexicon` for number grounding;
    ``published`` (ISO, maybe partial) bounds every :class:`DateOf` value;
    ``spans=False`` checks quotes and numbers only (gold fixtures, where a
    person may attribute a claim to the outlet itself).
    """
    ctx: dict[str, Any] = {
        "source": source,
        "window": window,
        "unstated_numbers": unstated_numbers,
        "published": published,
        "spans": spans,
        "warnings": [],
        "lexicon": lexicon,
    }
    token = _CONTEXT.set(ctx)
    try:
        yield ctx
    finally:
        _CONTEXT.reset(token)


def current_passage() -> str | None:
    """The text the current model call is about (the chunk being grounded), or ``None`` outside one.

    A backend that can constrain its sampler (the embedded one) uses it to
    make every quote a passage of the article, so a small model cannot
    paraphrase its evidence in the first place.
    """
    ctx = _CONTEXT.get()
    source = ctx.get("source") if ctx else None
    if not isinstance(source, SourceText):
        return None
    window = ctx.get("window") if ctx else None
    return source.text[window[0] : window[1]] if window else source.text


_SENTENCE_END = re.compile(r"\n+|(?<=[.!?؟])\s+")
_CLAUSE_END = re.compile(r"[،,؛;:]\s+")


def quotable_passages(text: str, max_chars: int = 400) -> list[str]:
    """The sentences of ``text`` and their clauses, in order, without repeats.

    What a quote may be when a backend restricts quotes to the article:
    whole sentences for a full account, clauses for a single fact ("أسفرت عن
    قتيلين وعدد من الجرحى"), each short enough to fit the evidence field
    and long enough to ground.
    """
    passages: dict[str, None] = {}
    for sentence in _SENTENCE_END.split(text):
        for piece in (sentence, *_CLAUSE_END.split(sentence)):
            piece = piece.strip(_EDGE_JUNK + "\t")
            if len(normalize(piece)) >= MIN_QUOTE_CHARS and len(piece) <= max_chars:
                passages.setdefault(piece)
    return list(passages)


def _context(info: ValidationInfo) -> dict[str, Any] | None:
    if isinstance(info.context, dict) and "source" in info.context:
        return info.context
    return _CONTEXT.get()


class Evidence(BaseModel):
    """A verbatim quote from the article, with its offsets once grounded.

    The model fills ``quote`` only; ``start``/``end`` are hidden from the JSON
    schema it sees and are always computed here, never trusted from a model.
    """

    model_config = ConfigDict(extra="forbid")

    quote: str = Field(
        min_length=1,
        max_length=400,
        description="A passage copied verbatim from the article, word for word.",
    )
    start: SkipJsonSchema[int | None] = None
    end: SkipJsonSchema[int | None] = None

    @model_validator(mode="after")
    def _ground(self, info: ValidationInfo) -> Evidence:
        ctx = _context(info)
        source = ctx.get("source") if ctx else None
        if not isinstance(source, SourceText):
            return self  # no article to check against (e.g. building by hand)
        window = ctx.get("window") if ctx else None
        span = source.find(self.quote, window)
        if span is None:
            raise ValueError(
                f"evidence quote not found in the article: {self.quote[:200]!r}. "
                "Copy a passage of the article exactly, or drop the record."
            )
        self.start, self.end = span
        return self


def iter_evidence(obj: Any) -> Iterator[Evidence]:
    """Every :class:`Evidence` inside a model, list or dict, depth first."""
    if isinstance(obj, Evidence):
        yield obj
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from iter_evidence(getattr(obj, name))
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from iter_evidence(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from iter_evidence(item)


# --- numbers -------------------------------------------------------------------


@dataclass(frozen=True)
class Stated:
    """Field marker: the value must be stated in the enclosing record's evidence."""

    kind: Literal["count"] = "count"


STATED = Stated()

Count = Annotated[
    int | None,
    Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="Only a number the quoted evidence states; null when unknown "
        "('a number of', 'several', not mentioned).",
    ),
    STATED,
]
"""A count the evidence must state; ``None`` means unknown, never 0."""


_AR_UNITS = {
    "واحد": 1,
    "واحده": 1,
    "اثنان": 2,
    "اثنين": 2,
    "اثنتان": 2,
    "اثنتين": 2,
    "اثنا": 2,
    "اثني": 2,
    "ثلاث": 3,
    "ثلاثه": 3,
    "اربع": 4,
    "اربعه": 4,
    "خمس": 5,
    "خمسه": 5,
    "ست": 6,
    "سته": 6,
    "سبع": 7,
    "سبعه": 7,
    "ثمان": 8,
    "ثماني": 8,
    "ثمانيه": 8,
    "تسع": 9,
    "تسعه": 9,
    "عشر": 10,
    "عشره": 10,
}
_AR_TENS = {
    "عشرون": 20,
    "عشرين": 20,
    "ثلاثون": 30,
    "ثلاثين": 30,
    "اربعون": 40,
    "اربعين": 40,
    "خمسون": 50,
    "خمسين": 50,
    "ستون": 60,
    "ستين": 60,
    "سبعون": 70,
    "سبعين": 70,
    "ثمانون": 80,
    "ثمانين": 80,
    "تسعون": 90,
    "تسعين": 90,
}
_AR_BIG = {
    "مئه": 100,
    "مائه": 100,
    "مئتين": 200,
    "مئتان": 200,
    "مائتين": 200,
    "مائتان": 200,
    "الف": 1000,
    "الفين": 2000,
    "الفان": 2000,
}
_EN_WORDS = {
    "zero": 0,
    "no": 0,
    "none": 0,
    "one": 1,
    "single": 1,
    "two": 2,
    "both": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "dozen": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "thousand": 1000,
}
_WORD = re.compile(r"[0-9][0-9,.]*|[\w']+")


@dataclass(frozen=True)
class NumberLexicon:
    """A task's words that state a count without a number word: the domain half of number grounding.

    The engine knows how Arabic and English write numbers (digits, number
    words, "twenty-one", "ثلاثة عشر"); what else states a count depends on
    what a task counts, so the task supplies it and grounding receives it
    (see :func:`grounding`). The conflict task's lexicon, for example, makes
    قتيلين ("two killed", a dual) state 2 and "a soldier" state 1.
    """

    dual_nouns: tuple[str, ...] = ()
    """Arabic nouns (normalized, without the article) whose bare singular states 1 and whose dual
    (``-ين``, ``-ان``, ``-تين``, ``-تان``) states 2."""
    singular_nouns: tuple[str, ...] = ()
    """English nouns that state 1 after "a"/"an" (one adjective may stand between)."""
    zero_phrases: tuple[str, ...] = ()
    """Normalized phrases that state 0 ("no injuries")."""
    words: Mapping[str, int] = field(default_factory=dict)
    """The task's own number words, lower case ("gross": 144 for a task that counts in gross)."""

    @cached_property
    def singular(self) -> re.Pattern[str] | None:
        if not self.singular_nouns:
            return None
        nouns = "|".join(re.escape(n) for n in self.singular_nouns)
        return re.compile(rf"\b(?:a|an)\s+(?:\w+\s+)?(?:{nouns})\b")


NO_LEXICON = NumberLexicon()
"""Numbers as written only: what grounding uses when a task gives no lexicon."""


def _strip_article(word: str) -> str:
    for prefix in ("وال", "بال", "لل", "ال", "و", "ب"):
        if word.startswith(prefix) and len(word) - len(prefix) >= 3:
            return word[len(prefix) :]
    return word


def numbers_stated(text: str, lexicon: NumberLexicon | None = None) -> set[int]:
    """Every number the text states, in digits or Arabic/English words (plus the task's ``lexicon``).

    Without ``lexicon``, the one of the current :func:`grounding` block is
    used (none outside one).

    Deliberately generous with what counts as *stated* (a dual noun like
    قتيلين states 2) and silent on vague quantities ("a number of",
    "عدد من", "dozens"): those state no number, so a count drawn from them
    is rejected and becomes unknown.
    """
    if lexicon is None:
        ctx = _CONTEXT.get()
        lexicon = ctx.get("lexicon") if ctx else None
        lexicon = lexicon if isinstance(lexicon, NumberLexicon) else NO_LEXICON
    norm = normalize(text)
    found: set[int] = set()
    words = _WORD.findall(norm)
    prev_unit: int | None = None
    for i, raw in enumerate(words):
        if raw[0].isdigit():
            digits = raw.rstrip(".,").replace(",", "")
            if digits.isdigit():
                found.add(int(digits))
            prev_unit = None
            continue
        word = _strip_article(raw)
        value = _EN_WORDS.get(raw) or _AR_UNITS.get(word) or _AR_TENS.get(word) or _AR_BIG.get(word)
        value = value or lexicon.words.get(raw)
        if raw in ("no", "zero", "none"):
            found.add(0)
        if value:
            found.add(value)
            nxt = words[i + 1] if i + 1 < len(words) else ""
            if word in _AR_UNITS and nxt in ("عشر", "عشره"):
                found.add(value % 10 + 10)
            if prev_unit is not None and (word in _AR_TENS or (raw in _EN_WORDS and value >= 20)):
                found.add(prev_unit + value)
            if (value in (100, 1000) or raw in lexicon.words) and prev_unit is not None:
                found.add(prev_unit * value)
            prev_unit = value if value < 10 else None
            continue
        if raw.startswith("و") and _AR_TENS.get(raw[1:]) and prev_unit is not None:
            found.add(prev_unit + _AR_TENS[raw[1:]])
            found.add(_AR_TENS[raw[1:]])
        prev_unit = prev_unit if raw == "و" else None
        for noun in lexicon.dual_nouns:
            if word == noun:
                found.add(1)
            elif word in (noun + "ين", noun + "ان", noun + "تين", noun + "تان"):
                found.add(2)
    if lexicon.singular is not None and lexicon.singular.search(norm):
        found.add(1)
    if any(phrase in norm for phrase in lexicon.zero_phrases):
        found.add(0)
    return found


class GroundedRecord(BaseModel):
    """Base for schema models whose :data:`STATED` counts must appear in their evidence.

    A subclass declares ``evidence: list[Evidence]``. When validation runs
    with an article in context, every non-null ``STATED`` field must be a
    number the record's quotes state. By default an unstated number is a
    validation error (so the model is re-asked); with
    ``context["unstated_numbers"] == "unknown"`` it is set to ``None`` and a
    warning is appended to ``context["warnings"]`` instead: the engine's last
    resort when re-asks ran out, so a number is never invented.
    """

    model_config = ConfigDict(extra="forbid")

    number_lexicon: ClassVar[NumberLexicon | None] = None
    """What states a count in this record's quotes when the grounding block names no task lexicon
    (a record validated on its own, outside the engine); the task's lexicon wins inside the engine."""

    @model_validator(mode="after")
    def _numbers_are_stated(self, info: ValidationInfo) -> GroundedRecord:
        ctx = _context(info)
        if not ctx or not isinstance(ctx.get("source"), SourceText):
            return self
        stated: set[int] | None = None
        for name, finfo in type(self).model_fields.items():
            if not any(isinstance(m, Stated) for m in finfo.metadata):
                continue
            value = getattr(self, name)
            if value is None:
                continue
            if stated is None:
                quotes = " ".join(e.quote for e in iter_evidence(getattr(self, "evidence", [])))
                lexicon = ctx.get("lexicon") or type(self).number_lexicon
                stated = numbers_stated(quotes, lexicon if isinstance(lexicon, NumberLexicon) else NO_LEXICON)
            if value in stated:
                continue
            problem = f"{type(self).__name__}.{name}={value} is not stated in this record's evidence quotes"
            if ctx.get("unstated_numbers") == "unknown":
                object.__setattr__(self, name, None)
                warnings = ctx.setdefault("warnings", [])
                if isinstance(warnings, list):
                    warnings.append(problem + "; recorded as unknown")
                continue
            raise ValueError(problem + ". Quote the words that state the number, or use null (unknown).")
        return self


# --- spans and dates -------------------------------------------------------------

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
        ctx = _context(info)
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
        ctx = _context(info)
        if not isinstance(value, str) or not ctx or not isinstance(ctx.get("source"), SourceText):
            return value
        if not ctx.get("spans", True):
            return value
        data = info.data if isinstance(info.data, dict) else {}
        if self.text_field not in data:
            return value  # the words themselves failed; that error is reported already
        words = str(data[self.text_field] or "")
        published = ctx.get("published")
        problem = _date_problem(value, words, published if isinstance(published, str) else None)
        if problem:
            raise PydanticCustomError(
                UNGROUNDED,
                "{field} {value}: {problem}",
                {"field": _field(info), "value": value, "problem": problem},
            )
        return value


_WEEKDAY = re.compile(r"(?:\bال|\b)(?:اثنين|إثنين|أثنين)\b")
"""Monday in Arabic (الاثنين) is spelt "the two": in date words it names a weekday, not the number 2."""


def _date_problem(value: str, words: str, published: str | None) -> str | None:
    if not normalize(words).strip(_EDGE_JUNK):
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


def drop_ungrounded(data: dict[str, Any], error: ValidationError) -> list[str] | None:
    """Remove from ``data`` each record (an item of a top-level list) that holds an ungrounded span or date.

    The engine's last resort once re-asks ran out: an invented name or a
    date the article does not give costs that record, with a warning per
    record, not the document. Returns the warnings, or ``None`` when any
    error is of another kind (or outside a record), which no drop may hide.
    """
    where: dict[tuple[str, int], str] = {}
    for err in error.errors():
        loc = err["loc"]
        if err["type"] != UNGROUNDED or len(loc) < 2 or not isinstance(loc[0], str) or not isinstance(loc[1], int):
            return None
        where.setdefault((loc[0], loc[1]), err["msg"])
    warnings: list[str] = []
    for name in {name for name, _ in where}:
        items = data.get(name)
        if not isinstance(items, list):
            return None
        dropped = {i for n, i in where if n == name}
        data[name] = [item for i, item in enumerate(items) if i not in dropped]
        warnings += [f"dropped {name}[{i}]: {where[(name, i)]}" for i in sorted(dropped)]
    return sorted(warnings)
