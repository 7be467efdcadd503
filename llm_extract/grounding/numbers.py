"""Numbers are grounded like quotes: a count is kept only when its record's evidence states it.

The engine applies this to any schema field annotated with :data:`STATED`,
in digits or in Arabic/English number words, plus the task's own
:class:`~llm_extract.grounding.lexicon.NumberLexicon`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field

from .context import current_context
from .lexicon import NO_LEXICON, NumberLexicon
from .text import normalize


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
        ctx = current_context()
        lexicon = ctx.get("lexicon") if ctx else None
        lexicon = lexicon if isinstance(lexicon, NumberLexicon) else NO_LEXICON
    norm = normalize(text)
    found: set[int] = set()
    words = _WORD.findall(norm)
    prev_unit: int | None = None
    prev_tens: int | None = None  # English "thirty-five": the tens come first
    for i, raw in enumerate(words):
        tens, prev_tens = prev_tens, None
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
            if tens is not None and raw in _EN_WORDS and value < 10:
                found.add(tens + value)
            if raw in _EN_WORDS and value in range(20, 100, 10):
                prev_tens = value
            if (value in (100, 1000) or raw in lexicon.words) and prev_unit is not None:
                found.add(prev_unit * value)
            prev_unit = value if value < 10 else None
            continue
        if raw.startswith("و") and _AR_TENS.get(raw[1:]) and prev_unit is not None:
            found.add(prev_unit + _AR_TENS[raw[1:]])
            found.add(_AR_TENS[raw[1:]])
        prev_unit = prev_unit if raw == "و" else None
        counts = lexicon.noun_forms.get(word)
        if counts:
            found |= counts
    if lexicon.singular is not None and lexicon.singular.search(norm):
        found.add(1)
    if any(phrase in norm for phrase in lexicon.zero_phrases):
        found.add(0)
    return found


@dataclass(frozen=True)
class CountMention:
    """A number a text states for one kind of count, and the word after it that says what it counts."""

    value: int
    noun: str | None
    """The counted noun as the text writes it ("civilians", "شخصين"), or ``None`` when none follows."""


_TOKEN = re.compile(r"[0-9]+(?:[,.][0-9]{3})*|[^\W\d_]+(?:'[^\W\d_]+)?|[^\w\s]")
_BOUNDARY = frozenset('.;:!?،؛,()[]"«»')
_BLOCK = frozenset(
    {
        *("and", "including", "among", "besides", "while", "but", "بينهم", "منهم", "بينها", "فيما", "بينما"),
        *("number", "several", "dozens", "scores", "hundreds", "many", "some", "عدد", "عشرات", "مئات", "العديد", "بعض"),
    }
)
"""Words a count does not reach across: "killed 69 civilians including 19 children" counts 69 killed,
and "قتيلين وعدد من الجرحى" (two killed and a number of wounded) states no number of wounded."""
_DUAL_ENDINGS = ("تين", "تان", "ين", "ان")
_NOT_NOUNS = frozenset(
    {
        *("in", "of", "at", "on", "and", "were", "was", "by", "from", "the", "to", "as", "after", "with", "when"),
        *("في", "من", "على", "الى", "عن", "بعد", "خلال", "جراء", "اثر", "حين"),
    }
)
_REACH = 4
"""How many words may stand between a count and the word that says what it counts."""


def _is_latin(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return sum(c.isascii() for c in letters) * 2 > len(letters)


def count_mentions(
    text: str, kinds: Mapping[str, Collection[str]], lexicon: NumberLexicon | None = None
) -> dict[str, CountMention]:
    """For each kind of count, the one number ``text`` states next to one of its words.

    ``kinds`` maps a count (``"killed"``) to the words that name it
    (``"killed"``, ``"مقتل"``; an Arabic word also matches after و/ب/ال).
    A number counts for the nearest such word within a few words, never
    across punctuation, "and" or "including", and never a year written in
    digits. English puts the number first ("four civilians were killed"),
    Arabic after the word ("مقتل أربعة مدنيين"); the other side is read when
    the first has none. A kind whose words meet two different numbers is
    left out: a count is read only when the text leaves no doubt, and
    "a number of wounded" states none.
    """
    lexicon = lexicon or NO_LEXICON
    tokens = _TOKEN.findall(normalize(text))
    latin = _is_latin(text)
    owner: dict[str, str] = {normalize(w): kind for kind, words in kinds.items() for w in words}

    def kind_of(token: str) -> str | None:
        word = _strip_article(token)
        if kind := owner.get(token) or owner.get(word):
            return kind
        stem = next((word[: -len(e)] for e in _DUAL_ENDINGS if word.endswith(e) and len(word) - len(e) >= 3), "")
        return owner.get(stem) if stem in lexicon.noun_forms else None  # قتيلين: two killed

    def value_at(i: int) -> tuple[int, int] | None:
        """The number starting at token ``i`` and the index of the word after it."""
        run: list[str] = []
        j = i
        while j < len(tokens) and ((tokens[j] == "-" and run) or _number_word(tokens[j], lexicon)):
            run.append(tokens[j])
            j += 1
        if run and run[-1] == "-":
            run.pop()
            j -= 1
        if not run:
            article = tokens[i] in ("a", "an") and lexicon.singular is not None
            if article and lexicon.singular.match(" ".join(tokens[i : i + 3])):  # type: ignore[union-attr]
                return 1, i + 1 if lexicon.singular.match(" ".join(tokens[i : i + 2])) else i + 2  # type: ignore[union-attr]
            return None
        if len(run) == 1 and run[0].isdigit() and 1900 <= int(run[0]) <= 2100:
            return None  # a year
        stated = numbers_stated(" ".join(run), lexicon) - {0}
        if not stated:
            return None
        if lexicon.noun_forms.get(_strip_article(run[-1])):
            return max(stated), j - 1  # a dual noun is its own counted word: قتيلين
        return max(stated), j

    def nearest(i: int, step: int, kind: str) -> CountMention | None:
        k = i + step
        while 0 <= k < len(tokens) and abs(k - i) <= _REACH:
            token = tokens[k]
            if token in _BOUNDARY or token in _BLOCK or _strip_article(token) in _BLOCK:
                return None
            if kind_of(token) not in (None, kind):
                return None
            if (found := value_at(k)) is not None:
                value, after = found
                noun = tokens[after] if after < len(tokens) else None
                if noun is not None and (noun in _NOT_NOUNS or noun in _BOUNDARY or kind_of(noun) or noun.isdigit()):
                    noun = None
                return CountMention(value, _as_written(noun, text))
            k += step
        return None

    found: dict[str, set[CountMention]] = {}
    for i, token in enumerate(tokens):
        kind = kind_of(token)
        if kind is None:
            continue
        first, second = (-1, 1) if latin else (1, -1)
        itself = _number_word(token, lexicon) and value_at(i)  # a dual that names the count: قتيلين
        mention = CountMention(itself[0], None) if itself else None
        mention = mention or nearest(i, first, kind) or nearest(i, second, kind)
        if mention is not None:
            found.setdefault(kind, set()).add(mention)
    return {kind: next(iter(ms)) for kind, ms in found.items() if len({m.value for m in ms}) == 1}


def _number_word(token: str, lexicon: NumberLexicon) -> bool:
    """Whether ``token`` is (part of) a number; a dual of a noun in ي is also its plural (مدنيين), so not."""
    if token.isdigit() or token.replace(",", "").replace(".", "").isdigit():
        return True
    if token in ("no", "none", "zero", "a", "an", "single"):
        return False
    word = _strip_article(token)
    return bool(
        token in _EN_WORDS
        or word in _AR_UNITS
        or word in _AR_TENS
        or word in _AR_BIG
        or token in lexicon.words
        or (lexicon.noun_forms.get(word, frozenset()) - {1} and not word.endswith(("يين", "يان")))
    )


def _as_written(noun: str | None, text: str) -> str | None:
    """The article's spelling of a normalized word (``civilians`` → ``Civilians``)."""
    if noun is None:
        return None
    word: str
    for word in re.findall(r"[^\W\d_]+", text):
        if normalize(word) == noun:
            return word
    return noun
