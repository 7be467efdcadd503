"""Numbers are grounded like quotes: a count is kept only when its record's evidence states it.

The engine applies this to any schema field annotated with :data:`STATED`,
in digits or in Arabic/English number words, plus the task's own
:class:`~llm_extract.grounding.lexicon.NumberLexicon`.
"""

from __future__ import annotations

import re
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
        counts = lexicon.noun_forms.get(word)
        if counts:
            found |= counts
    if lexicon.singular is not None and lexicon.singular.search(norm):
        found.add(1)
    if any(phrase in norm for phrase in lexicon.zero_phrases):
        found.add(0)
    return found
