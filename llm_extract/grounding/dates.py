"""Date words read into an ISO value: "8 October 2017", "في 15 من آذار الحالي", "23.04.2017".

Small models copy an event's date words from the article and leave its value
empty (on 20 FA-KES articles the words were there in 7 and no value in any).
Turning words into a calendar date needs no model: :func:`date_stated` reads
the value the words give, resolved against the publication date where they
leave out the year or the month ("15 آذار الحالي"), the way domain.md asks
dates to be resolved. Only shapes that leave no doubt are read: two months,
two days or two years in the words (a range, a second date), a day with no
month, a weekday alone, and "today" or "yesterday" (whose today: the
article's, or that of a statement it quotes?) give ``None``, and so does a value that
:class:`~llm_extract.grounding.DateOf` would refuse (later than publication,
another year or day than the words state).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from .spans import _date_problem
from .text import normalize

Precision = Literal["day", "month", "year"]

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
    r"(?<!\w)(?:ب|ل|و)?(" + "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True)) + r")(?!\w)"
)
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_NUMERIC = re.compile(r"(?<!\d)(\d{1,2})[./-](\d{1,2})[./-](\d{4})(?!\d)")
_DAY = re.compile(r"(?<![\d.])(\d{1,2})(?:st|nd|rd|th)?(?![\d.:])")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
_TIME = re.compile(r"\d{1,2}:\d\d")
_THIS_MONTH = re.compile(r"\b(?:this|the current) month\b|الشهر (?:الحالي|الجاري)")
_LAST_MONTH = re.compile(r"\blast month\b|الشهر الماضي")


def date_stated(words: str, published: str | None) -> tuple[str, Precision] | None:
    """The ISO value and precision that ``words`` state, or ``None`` when they leave any doubt.

    ``published`` (ISO, maybe partial) supplies what the words leave out: the
    year of "15 March", the month of "the 15th of this month".
    """
    text = _TIME.sub(" ", normalize(words).lower())
    pub = _as_date(published)
    read = _read(text, published, pub)
    if read is None or _date_problem(read[0], words, published) is not None:
        return None
    return read


def _read(text: str, published: str | None, pub: dt.date | None) -> tuple[str, Precision] | None:
    for pattern, order in ((_ISO, (0, 1, 2)), (_NUMERIC, (2, 1, 0))):
        found = {tuple(int(m.group(1 + i)) for i in order) for m in pattern.finditer(text)}
        if found:
            if len(found) > 1:
                return None
            (year, month, day) = found.pop()
            if pattern is _NUMERIC and month <= 12 and day <= 12 and month != day:
                return None  # 06-01-2016: day first or month first, the words do not say
            return _iso(year, month, day)
    months = {_MONTHS[m.group(1)] for m in _MONTH_WORD.finditer(text)}
    rest = _MONTH_WORD.sub(" ", text)
    years = {int(y) for y in _YEAR.findall(rest)}
    days = {int(d) for d in _DAY.findall(_YEAR.sub(" ", rest)) if 1 <= int(d) <= 31}
    if len(months) > 1 or len(years) > 1 or len(days) > 1:
        return None
    if not months and pub is not None and published is not None:
        if _LAST_MONTH.search(text):
            first = pub.replace(day=1) - dt.timedelta(days=1)
            months, years = {first.month}, years or {first.year}
        elif _THIS_MONTH.search(text) and len(published) >= 7:
            months, years = {pub.month}, years or {pub.year}
    if not months:
        if days:
            return None  # "on the 15th": a day of which month?
        return (f"{years.pop():04d}", "year") if years else None
    month = months.pop()
    if years:
        year = years.pop()
    elif pub is not None and published is not None and len(published) >= 7:
        # The latest such day on or before publication, at the precision publication is known.
        stated = (month, min(days, default=1)) if len(published) == 10 else (month, 1)
        year = pub.year if stated <= (pub.month, pub.day) else pub.year - 1
    else:
        return None
    if not days:
        return f"{year:04d}-{month:02d}", "month"
    return _iso(year, month, days.pop())


def _iso(year: int, month: int, day: int) -> tuple[str, Precision] | None:
    try:
        return dt.date(year, month, day).isoformat(), "day"
    except ValueError:
        return None


def _as_date(published: str | None) -> dt.date | None:
    """The publication date as a day; a partial one (``2022-03``) as its first day."""
    if not published:
        return None
    try:
        parts = [int(p) for p in published.split("-")]
        return dt.date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except (ValueError, IndexError):
        return None
