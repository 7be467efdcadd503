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
from .lexicon import DUAL_ENDINGS, NO_LEXICON, NumberLexicon
from .text import ARABIC_PREFIXES, normalize, strip_prefix


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
_WORD = re.compile(r"[0-9][0-9,.]*|[^\W\d_]+(?:'[^\W\d_]+)*")
"""Numbers and words; a word never swallows digits, so "و20" (and 20) states 20."""


_PREFIXES = (*ARABIC_PREFIXES, "ل")
"""The count reader also strips the preposition ل (لمقتل)."""


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
        word = strip_prefix(raw)
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
    """A number a text states for one kind of count, and the noun it counts."""

    value: int
    noun: str | None
    """The counted noun as the text writes it ("civilians", "شخصين"), or ``None`` when the text names none."""


_TOKEN = re.compile(r"[0-9]+(?:[,.][0-9]{3})*|[^\W\d_]+(?:'[^\W\d_]+)?|[^\w\s]")
_LEADS = frozenset(
    {
        *("at", "least", "more", "than", "about", "nearly", "some", "around", "over", "up", "to", "almost"),
        *("approximately", "roughly", "rose", "risen", "has", "had", "climbed", "reached", "stood", "stands"),
        *("is", "was", "now", "of", "the", "ما", "لا", "يقل", "عن", "اكثر", "من", "نحو", "حوالي", "قرابه"),
        *("زهاء", "يزيد", "الى", "ارتفعت", "ارتفع", "بلغت", "بلغ", "وصلت"),
    }
)
"""Words that may stand between a count's word and its number: "killed at least 20", "rose to 35", "مقتل نحو 10"."""
_LEAD_PAIRS = frozenset({("well", "over"), ("well", "above")})
"""Leads of two words ("killing well over 1000"); "well" alone describes ("12 well-armed fighters")."""
_AT_LEAST_AFTER = (("علي", "الاقل"), ("at", "least"))
"""A minimum written after its number and noun ("139 مسلحا على الأقل قتلوا", "10 at least were killed"):
it stands between them and the count's word, and hides neither."""
_CLAUSES = frozenset({"while", "whereas", "فيما", "بينما", "لقي", "لقوا", "لقيت"})
"""Words that start another clause: a number before them counts something else ("7 فيما لقي آخرون مصرعهم")."""
_VERBS = frozenset({"were", "was", "have", "has", "had", "been", "are", "is", "reportedly", "also", "all", "being"})
"""Words that may stand between a number and its count's word: "four civilians were killed"."""
_AFTER = frozenset({"in", "on", "near", "at", "during", "when", "after", "and", "في", "قرب", "خلال", "بعد", "و"})
"""What may follow a number that names no noun: "killed 4 in Idlib", not "killed 3 hours after"."""
_ANDS = frozenset({"and", "or", "و", "او"})
_NOT = frozenset({"no", "not"})
"""Before a count's number, these deny it: "no one was killed" and "not a single soldier was killed" count none."""
_DOUBT = CountMention(-1, None)
"""A number found for a count in a shape that leaves doubt (a list of groups, a count shared by two kinds)."""
_STOPS = frozenset(".,;:!)،؛")
_SUBSET = frozenset({"among", "including", "included", "بين", "منهم", "بينهم"})
"""Before a count's word, these make what follows a part of the dead, not their number ("من بين القتلى 5 أطفال")."""
_VAGUE = frozenset(
    {"dozens", "scores", "many", "several", "hundreds", "number", "عدد", "عشرات", "مئات", "العشرات", "المئات"}
)
"""Quantities that state no number: a count word they come before already has its (unknown) number."""
_MULTIPLIERS = {"hundred": 100, "thousand": 1000, "مئه": 100, "مائه": 100, "الف": 1000, "الاف": 1000}
_REFUSE = ("since", "منذ")
"""A quote with these counts a war or a period ("has killed 350,000 since 2011"), not an event."""


def count_mentions(
    text: str, kinds: Mapping[str, Collection[str]], lexicon: NumberLexicon | None = None
) -> dict[str, CountMention]:
    """For each kind of count, the one number ``text`` states for it without doubt.

    ``kinds`` maps a count (``"killed"``) to the words that name it
    (``"killed"``, ``"مقتل"``, ``"قتلى"``; an Arabic word also matches after
    و/ب/ل/ال). Only these shapes count, each with a noun of people from the
    task's lexicon (:attr:`NumberLexicon.counted_nouns`, its singular and
    dual nouns) where one is written:

    * the word, then the number: "killed at least 20 people", "مقتل 5 عناصر",
      "rose to 35", "مقتل شخصين", "kill 10 injure scores" (another count's
      word may follow the number);
    * the number, then the word: "four civilians were killed", "21 wounded",
      "10 قتلى", "a soldier was killed";
    * a dual that is the word: "قتيلين".

    Left out, because a wrong count is worse than an unknown one: a list of
    groups ("two soldiers and three civilians were killed"), a shared count
    ("killed or wounded 15", "قتل وجرح"), a subset ("including 5 children"),
    a year, a number of anything but people ("killed 3 hours after", "the
    4th Division"), a war's total ("since 2011"), vague quantities ("a number
    of"), and a kind whose words meet two different numbers. Every number
    returned is one :func:`numbers_stated` finds in ``text``.
    """
    lexicon = lexicon or NO_LEXICON
    norm = normalize(text)
    if any(re.search(rf"\b{w}\b", norm) for w in _REFUSE):
        return {}
    tokens = _TOKEN.findall(norm.replace("٬", ",").replace("٫", "."))
    owner: dict[str, str] = {normalize(w): kind for kind, words in kinds.items() for w in words}
    people = {normalize(w) for w in lexicon.counted_nouns} | set(lexicon.singular_nouns)
    stated = numbers_stated(text, lexicon)

    def kind_of(i: int) -> str | None:
        if not 0 <= i < len(tokens):
            return None
        word = strip_prefix(tokens[i], _PREFIXES)
        if kind := owner.get(tokens[i]) or owner.get(word):
            return kind
        if 2 in lexicon.noun_forms.get(word, ()):  # قتيلين: the dual of a count's word
            return next((owner[word[: -len(e)]] for e in DUAL_ENDINGS if owner.get(word[: -len(e)])), None)
        return None

    def person(i: int) -> bool:
        if not 0 <= i < len(tokens) or kind_of(i):
            return False
        word = strip_prefix(tokens[i], _PREFIXES)
        return tokens[i] in people or word in people or bool(lexicon.noun_forms.get(word))

    def number_at(i: int, step: int) -> tuple[int, int] | None:
        """The number whose run starts (step 1) or ends (step -1) at ``i``, and the index past its run."""
        j = i
        while 0 <= j < len(tokens) and (
            _number_token(tokens[j], lexicon)
            or (
                tokens[j] in ("-", "and", "و")
                and 0 <= j + step < len(tokens)
                and _number_token(tokens[j + step], lexicon)
                and j != i
            )
        ):
            j += step
        if j == i:
            return None
        run = tokens[i:j] if step > 0 else tokens[j + 1 : i + 1]
        value = _run_value(run, lexicon)
        return (value, j) if value is not None else None

    def adjectives(i: int, step: int) -> int:
        """Index of the first token after up to two describing words ("Syrian", "pro-Assad")."""
        k = i
        for _ in range(3):
            if 0 <= k < len(tokens) and tokens[k] == "-":  # "pro-Assad"
                k += step
                continue
            if not (0 <= k < len(tokens)) or person(k) or not tokens[k].isalpha() or kind_of(k):
                return k
            if tokens[k] in ("a", "an", "the"):
                return k
            if _number_token(tokens[k], lexicon):
                return k
            if tokens[k] in _ANDS or tokens[k] in _VERBS or tokens[k] in _LEADS or tokens[k] in _CLAUSES:
                return k
            k += step
        return k

    def forward(i: int) -> CountMention | None:
        k = i + 1
        while k < len(tokens) and k - i <= 4 and (tokens[k] in _LEADS or tuple(tokens[k : k + 2]) in _LEAD_PAIRS):
            k += 1
        if person(k) and _dual(tokens[k], lexicon):
            return CountMention(2, _as_written(tokens[k], text))  # مقتل شخصين
        found = number_at(k, 1)
        if found is None:
            return None
        value, after = found
        after = past_at_least(after, 1)
        noun_at = adjectives(after, 1)
        if person(noun_at):
            if noun_at + 2 < len(tokens) and tokens[noun_at + 1] in _ANDS and number_at(noun_at + 2, 1):
                return _DOUBT  # "12 soldiers and 5 rebels"
            return CountMention(value, _as_written(tokens[noun_at], text))
        if after >= len(tokens) or tokens[after] in _AFTER or tokens[after] in _STOPS:
            return CountMention(value, None)  # "killed 4 in Idlib"
        if kind_of(after) and takes_following(i):
            return CountMention(value, None)  # "kill 10 injure scores", not "4 killed 7 wounded"
        return None

    def takes_following(i: int) -> bool:
        """Whether the count word at ``i`` is one whose number follows it ("attacks kill 10 injure scores").

        Not when a number comes before it ("4 killed 7 wounded"), when it is
        passive or has its noun before it ("people were killed 12 wounded"),
        or when a vague quantity already counts it ("عدد من القتلى 7 جرحى").
        """
        if backward(i) is not None or (i > 0 and (tokens[i - 1] in _VERBS or person(i - 1))):
            return False
        return not any(strip_prefix(t, _PREFIXES) in _VAGUE for t in tokens[max(i - 3, 0) : i])

    def listed(before: int) -> bool:
        """Whether a group stands before this one: "two soldiers and [three civilians]"."""
        if before < 1 or not (tokens[before] in _ANDS or tokens[before] == ","):
            return False
        return person(before - 1) or _number_token(tokens[before - 1], lexicon)

    def whole(k: int) -> CountMention | None:
        """The count of the group written right before a subset ("23 civilians" before "including nine children")."""
        if not person(k):
            return _DOUBT
        found = number_at(adjectives(k - 1, -1), -1)
        return CountMention(found[0], _as_written(tokens[k], text)) if found is not None else _DOUBT

    def past_at_least(k: int, step: int) -> int:
        """``k``, or the index past an "at least" written after a number there ("10 على الأقل")."""
        pair = tuple(tokens[k : k + 2]) if step > 0 else tuple(tokens[max(k - 1, 0) : k + 1])
        return k + 2 * step if k >= (0 if step > 0 else 1) and pair in _AT_LEAST_AFTER else k

    def backward(i: int) -> CountMention | None:
        k = i - 1
        while k >= 0 and tokens[k] in _VERBS and i - k <= 3:
            k -= 1
        k = past_at_least(k, -1)
        while k >= 0 and tokens[k] in _VERBS and i - k <= 5:
            k -= 1
        noun: str | None = None
        if person(k):
            noun, k = tokens[k], adjectives(k - 1, -1)
            if k >= 0 and tokens[k] in ("a", "an") and noun in lexicon.singular_nouns:
                if k > 0 and tokens[k - 1] in _NOT:
                    return None
                return _DOUBT if listed(k - 1) else CountMention(1, _as_written(noun, text))
        found = number_at(k, -1)
        if found is None:
            return None
        value, before = found
        if before >= 0 and tokens[before] in _SUBSET:  # "23 civilians including nine children were killed"
            return whole(before - 1)
        if before >= 0 and tokens[before] in _NOT:
            return None
        if before >= 0 and kind_of(before) and takes_following(before):
            return None  # "kill 10 injure scores": the 10 is the killed ("4 killed 7 wounded": the 7 is not)
        if listed(before):
            return _DOUBT  # "two soldiers and three civilians were killed"
        return CountMention(value, _as_written(noun, text) if noun else None)

    found: dict[str, list[CountMention]] = {}  # in the order the text writes them
    for i in range(len(tokens)):
        kind = kind_of(i)
        if kind is None:
            continue
        neighbours = (kind_of(i + 1), kind_of(i + 2) if i + 1 < len(tokens) and tokens[i + 1] in _ANDS else None)
        before = (
            kind_of(i - 1) if tokens[i][0] == "و" else None,
            kind_of(i - 2) if i and tokens[i - 1] in _ANDS else None,
        )
        if any(k not in (None, kind) for k in (*neighbours, *before)):
            found.setdefault(kind, []).append(_DOUBT)  # "killed or wounded 15", "قتل وجرح 15": one number, two counts
            continue
        if i > 0 and tokens[i - 1] in _SUBSET:
            continue  # "among the dead": what follows is a part of them
        dual = _dual(tokens[i], lexicon)
        mention = CountMention(2, None) if dual else forward(i) or backward(i)
        if mention is _DOUBT or (mention is not None and mention.value in stated and mention.value > 0):
            found.setdefault(kind, []).append(mention)
    # A kind that met a doubtful number anywhere in the quote is read nowhere in it: "4 killed including
    # 3 children and 43 others injured ... one person was injured" states no one number of wounded.
    # Of one number written twice ("Six Killed ... Six people were killed") the first telling that names
    # what it counts is the mention: the same text reads the same in every process.
    return {
        k: next((m for m in ms if m.noun is not None), ms[0])
        for k, ms in found.items()
        if _DOUBT not in ms and len({m.value for m in ms}) == 1
    }


def times_written(value: int, text: str, lexicon: NumberLexicon | None = None) -> int:
    """How many words of ``text`` write ``value`` ("3", "three", "اثنين"): a number written once counts one group."""
    return sum(value in numbers_stated(word, lexicon) for word in text.split())


def names_count(text: str, words: Collection[str]) -> bool:
    """Whether ``text`` writes one of a count's words, with or without a number.

    Generous on purpose (it only ever keeps a number): a word may take a
    prefix (و/ب/ل/ال) and any ending, so سراحهم ("their release") names سراح
    and بالإفراج names الإفراج.
    """
    names = tuple({n for w in words for n in (normalize(w), strip_prefix(normalize(w), _PREFIXES))})
    tokens = _TOKEN.findall(normalize(text))
    return any(t.startswith(names) or strip_prefix(t, _PREFIXES).startswith(names) for t in tokens)


def _dual(token: str, lexicon: NumberLexicon) -> bool:
    """Whether ``token`` is a dual (شخصين); a dual of a noun in ي is also its plural (مدنيين), so not."""
    word = strip_prefix(token, _PREFIXES)
    return 2 in lexicon.noun_forms.get(word, ()) and not word.endswith(("يين", "يان"))


def _number_token(token: str, lexicon: NumberLexicon) -> bool:
    """Whether ``token`` is a number or a number word (not a year, not "a", not "dozens")."""
    digits = token.replace(",", "").replace(".", "")
    if digits.isdigit():
        return not (len(token) == 4 and 1900 <= int(token) <= 2100)
    word = strip_prefix(token, _PREFIXES)
    if token in ("no", "none", "zero", "a", "an", "single", "both", "dozen"):
        return False
    return bool(
        token in _EN_WORDS
        or word in _AR_UNITS
        or word in _AR_TENS
        or word in _AR_BIG
        or word in _MULTIPLIERS
        or token in lexicon.words
    )


def _run_value(run: list[str], lexicon: NumberLexicon) -> int | None:
    """The value of a run of number words: "twenty one" 21, "three hundred" 300, "ثلاثة عشر" 13."""
    total = current = 0
    for token in run:
        if token in ("-", "and", "و"):
            continue
        word = strip_prefix(token, _PREFIXES)
        digits = token.replace(",", "").replace(".", "")
        if digits.isdigit():
            current += int(digits)
        elif word in _MULTIPLIERS or token in _MULTIPLIERS:
            mult = _MULTIPLIERS.get(word) or _MULTIPLIERS[token]
            if mult == 1000:
                total, current = total + (current or 1) * 1000, 0
            else:
                current = (current or 1) * mult
        else:
            value = _EN_WORDS.get(token) or _AR_UNITS.get(word) or _AR_TENS.get(word) or _AR_BIG.get(word)
            value = value or lexicon.words.get(token)
            if not value:
                return None
            current += value
    return total + current or None


def _as_written(noun: str | None, text: str) -> str | None:
    """The article's spelling of a normalized word (``civilians`` → ``Civilians``)."""
    if noun is None:
        return None
    word: str
    for word in re.findall(r"[^\W\d_]+", text):
        if normalize(word) == noun:
            return word
    return noun
