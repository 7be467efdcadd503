"""The words and digits that write a date: month names, dates in digits, a day or year beside a month.

Shared by :mod:`.dates` (which reads a date from them) and :mod:`.records`
(for which their numbers are no counts); this module sits low, beside
:mod:`.numbers`, so both may import it.
"""

from __future__ import annotations

import re

from .text import normalize

_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("january", "jan", "كانون الثاني", "يناير"),
    2: ("february", "feb", "شباط", "فبراير"),
    3: ("march", "mar", "آذار", "مارس"),
    4: ("april", "apr", "نيسان", "أبريل", "ابريل"),
    5: ("may", "أيار", "مايو"),
    6: ("june", "jun", "حزيران", "يونيو", "يونيه"),
    7: ("july", "jul", "تموز", "يوليو", "يوليه"),
    8: ("august", "aug", "آب", "أغسطس", "اغسطس"),
    9: ("september", "sep", "sept", "أيلول", "سبتمبر"),
    10: ("october", "oct", "تشرين الأول", "أكتوبر", "اكتوبر"),
    11: ("november", "nov", "تشرين الثاني", "نوفمبر"),
    12: ("december", "dec", "كانون الأول", "ديسمبر"),
}
"""English names and abbreviations; the Levantine and the Egyptian Arabic names."""

_MONTHS = {normalize(name): month for month, names in _MONTH_NAMES.items() for name in names}
_MONTH_WORD = re.compile(
    r"(?<!\w)(?P<prefix>[بلو])?(?P<name>"
    + "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True))
    + r")(?!\w)",
    re.IGNORECASE,
)
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_NUMERIC = re.compile(r"(?<!\d)(\d{1,2})[./-](\d{1,2})[./-](\d{4})(?!\d)")
_DAY_BEFORE = re.compile(r"(?<![\d'’])(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+|من\s+|(?:the\s+))?$")
_DAY_AFTER = re.compile(r"^,?\s*(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?(?![\d'’-])")
_YEAR_AFTER = re.compile(
    r"^,?\s*(?:(?:the\s+)?\d{1,2}(?:st|nd|rd|th)?,?\s+)?(?:(?:من\s+)?(?:عام|العام)\s+)?(?:19|20)\d\d\b"
)


def dates_blanked(text: str) -> str:
    """``text``, normalised and lower case, with the numbers that write a date blanked out.

    What a count is checked against: "Date of publication 12 June 2016 Dozens
    of civilians have been killed" states no toll of 12, yet the 1.5B model
    wrote 12 killed from it. A day beside a month's name, a year after one, and
    dates in digits ("02.10.2017", "2016-06-12") are blanked; a bare number or
    year stays (it may be a count).
    """
    lower = normalize(text).lower()
    spans = [m.span() for pattern in (_ISO, _NUMERIC) for m in pattern.finditer(lower)]
    for m in _MONTH_WORD.finditer(lower):
        if day := _DAY_BEFORE.search(lower[: m.start()]):
            spans.append(day.span(1))
        after = lower[m.end() :]
        for found, group in ((_DAY_AFTER.search(after), 1), (_YEAR_AFTER.search(after), 0)):
            if found:
                spans.append((m.end() + found.start(group), m.end() + found.end(group)))
    chars = list(lower)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)
