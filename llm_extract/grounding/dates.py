"""Date words read into an ISO value: "8 October 2017", "في 15 من آذار الحالي", "23.04.2017".

Small models copy an event's date words from the article and leave its value
empty (on 20 FA-KES articles the words were there in 7 and no value in any).
Turning words into a calendar date needs no model: :func:`date_stated` reads
the value the words give, resolved against the publication date where they
leave out the year ("15 آذار الحالي", "last March", "November last year"),
the way domain.md asks dates to be resolved.

Only shapes that leave no doubt are read, because a wrong date is worse than
none. A day counts only right beside its month ("15 March", "March 15",
"15 من آذار"), and only when no other small number is in the words (a range
"5 to 7 March", "Astana 4", "a 5-day truce"). A weekday alone ("يوم السبت")
is the latest such day on or before a publication day. ``None`` for: two
months or two years, a day without its month, "today" and "yesterday"
(whose today: the article's, or a quoted statement's?), what is to come
("next", "المقبل", "will"), the start of a period ("since 2011"), decades
("the 1990s"), 06-01-2016 (day or month first?) unless only one reading lies
in the week up to publication, "May" or "march" with no
number beside them (a verb, a protest march), clock times ("at 1930 GMT"), and
any value :class:`~llm_extract.grounding.DateOf` would refuse.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from .datewords import _DAY_AFTER, _DAY_BEFORE, _ISO, _MONTH_WORD, _MONTHS, _NUMERIC, _YEAR_AFTER
from .spans import _WEEKDAY_NAMES, date_problem
from .text import EDGE_JUNK, normalize

Precision = Literal["day", "month", "year"]

_NEEDS_NUMBER = frozenset({"may", "march", "mar", "jan", "sep", normalize("آب")})
"""Month names that are also words ("may", a protest "march", باب with آب inside): read only beside a day or
year, or, in English, capitalised ("last March")."""
_CLOCK = re.compile(
    r"\b\d{1,2}[:.]\d\d\b|\b(?:at\s+)?\d{3,4}\s*(?:gmt|utc|hrs|hours|h|local time)\b|\bat\s+\d{4}\b", re.IGNORECASE
)
_SMALL = re.compile(r"(?<![\d'’])(\d{1,2})(?:st|nd|rd|th)?(?![\d])")
_YEAR = re.compile(r"(?<![\d'’])((?:19|20)\d\d)(?!\d|s\b|'s\b|’s\b)")
_REFUSE = re.compile(
    r"\b(?:next|coming|upcoming|will|since|today|tonight|yesterday|decade)\b|\b(?:19|20)\d0s\b"
    r"|(?<!\w)[وف]?(?:المقبل|القادم|منذ|اليوم|امس|البارحه)(?!\w)|ينيات(?!\w)"
)
_LAST_YEAR = re.compile(r"\blast year\b|(?:العام|السنه) (?:الماضي|الماضيه|المنصرم|المنصرمه|الفائت)")
_THIS_YEAR = re.compile(r"\bthis year\b|(?:العام|السنه) (?:الجاري|الحالي|الجاريه|الحاليه)")
_THIS_MONTH = re.compile(r"\b(?:this|the current) month\b|الشهر (?:الحالي|الجاري)|(?<!\w)هذا الشهر(?!\w)")
_LAST_MONTH = re.compile(r"\blast month\b|الشهر (?:الماضي|المنصرم|الفائت)")
_LAST_BEFORE = re.compile(r"\blast\s+$")
_LAST_AFTER = re.compile(r"^\s*(?:الماضي|المنصرم|الفائت)(?!\w)")
_THIS_BEFORE = re.compile(r"\bthis\s+$")
_THIS_AFTER = re.compile(r"^\s*(?:الحالي|الجاري)(?!\w)")
_MONTH_ITSELF = frozenset({"month", "الشهر"})
"""The word that, with "this" or "last", dates by the publication's month ("earlier this month", "الشهر الماضي")."""
_ORDINAL = re.compile(
    r"\b(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|\w+teenth|\w+tieth)\b"
    r"|(?<!\w)(?:ال)?(?:اول|ثاني|ثالث|رابع|خامس|سادس|سابع|ثامن|تاسع|عاشر|عشرين|ثلاثين)(?!\w)"
)


def date_stated(words: str, published: str | None) -> tuple[str, Precision] | None:
    """The ISO value and precision that ``words`` state, or ``None`` when they leave any doubt.

    ``published`` (ISO, maybe partial) supplies what the words leave out: the
    year of "15 March", the month of "the 15th of this month".
    """
    text = normalize(words).strip(EDGE_JUNK)
    try:
        read = _read(text, words, published, _as_date(published))
    except (ValueError, OverflowError):  # no such day, or a year outside the calendar
        return None
    if read is None or date_problem(read[0], words, published) is not None:
        return None
    return read


def date_in(quote: str, published: str | None) -> tuple[str, str, Precision] | None:
    """The one date a quote's own words state, as ``(words as written, value, precision)``, or ``None``.

    Small models leave an event's date empty even when its quote dates it
    ("ووصل غريفيث السبت إلى صنعاء", "killed on 8 October 2017 in Idlib").
    Around each month or weekday name, the runs of words within its clause
    (up to two before, three after) that :func:`date_stated` reads give its
    date: the most precise, as the widest run reads it ("last Monday", not
    "Monday"), in the fewest words that give it. A name any of whose runs
    speaks of what is to come or of a period ("الاثنين المقبل", "since
    March") gives none; a date in digits gives itself. A quote whose names
    give two dates gives ``None``.
    """
    tokens = list(re.finditer(r"[^\s,.،؛;:!?()\"]+", quote))
    rank = {"day": 0, "month": 1, "year": 2}
    found: dict[str, str] = {}
    precision: dict[str, Precision] = {}
    for i, token in enumerate(tokens):
        word = normalize(token.group()).lower()
        if word not in _WEEKDAY_NAMES and word not in _MONTH_ITSELF and not _MONTH_WORD.fullmatch(word):
            continue
        runs = [
            quote[tokens[lo].start() : tokens[hi].end()]
            for lo in range(max(i - 2, 0), i + 1)
            for hi in range(i, min(i + 4, len(tokens)))
        ]
        runs = [r for r in runs if not re.search(r"[,.،؛;:!?()]", r)]  # within the clause
        refuse = (_REFUSE, _FROM_WEEKDAY) if word in _WEEKDAY_NAMES else (_REFUSE,)
        if any(p.search(normalize(r).lower()) for r in runs for p in refuse):
            continue
        read = [(words, *got) for words in runs if (got := date_stated(words, published)) is not None]
        if read:
            best = min(rank[r[2]] for r in read)
            read = [r for r in read if rank[r[2]] == best]
            value = max(read, key=lambda r: len(r[0]))[1]  # "last Monday", not "Monday"
            words, _, prec = min((r for r in read if r[1] == value), key=lambda r: len(r[0]))
            found.setdefault(value, words)
            precision[value] = prec
    for pattern in (_ISO, _NUMERIC):  # a date in digits ("02.10.2017"), which the clause split above cuts apart
        for m in pattern.finditer(quote):
            if (got := date_stated(m.group(), published)) is not None:
                found.setdefault(got[0], m.group())
                precision[got[0]] = got[1]
    if len(found) != 1:
        return None
    value, words = next(iter(found.items()))
    return words, value, precision[value]


def _read(text: str, raw: str, published: str | None, pub: dt.date | None) -> tuple[str, Precision] | None:
    """``text``: the normalised words (lower case); ``raw``: as written, for the case of English month names."""
    lower = text.lower()
    if _REFUSE.search(lower):
        return None
    numeric = _numeric(lower, pub if published is not None and len(published) == 10 else None)
    if numeric is not None:
        return numeric or None
    lower = _CLOCK.sub(" ", lower)
    years = {int(y) for y in _YEAR.findall(lower)}
    if len(years) > 1:
        return None
    months: set[int] = set()
    day: int | None = None
    last = this = False
    for m in _MONTH_WORD.finditer(lower):
        name = m.group("name")
        before, after = lower[: m.start()], lower[m.end() :]
        day_match = _DAY_BEFORE.search(before) or _DAY_AFTER.search(after)
        capital = name.isascii() and len(name) > 2 and re.search(rf"\b(?:{name.title()}|{name.upper()})\b", raw)
        beside = day_match or _YEAR_AFTER.search(after) or capital
        if name in _NEEDS_NUMBER and (m.group("prefix") or not beside):
            continue  # "may", "a protest march", باب: no number beside it and not a capitalised name
        months.add(_MONTHS[name])
        if day_match:
            day = int(day_match.group(1))
        last = last or bool(_LAST_BEFORE.search(before) or _LAST_AFTER.search(after))
        this = this or bool(_THIS_BEFORE.search(before) or _THIS_AFTER.search(after))
    if len(months) > 1:
        return None
    small = {int(n) for n in _SMALL.findall(_YEAR.sub(" ", lower))}
    if not months and len(small) == 1 and _THIS_MONTH.search(lower):
        day = small.pop()  # "في 15 من الشهر الجاري"
    if small - ({day} if day is not None else set()):
        return None  # a number that is not the month's day: a range, a label ("Astana 4"), a count of days
    if not months and not years and day is None and (weekday := _weekday(lower, published, pub)):
        return weekday
    if not months:
        return _month_from_publication(lower, years, day, published, pub)
    month = months.pop()
    if day is None and _ORDINAL.search(_MONTH_WORD.sub(" ", lower)):
        return None  # "في الثالث من نيسان": a day we cannot read decides the year
    year = _year(month, day, years, lower, "last" if last else "this" if this else "", published, pub)
    if year is None:
        return None
    if day is None:
        return f"{year:04d}-{month:02d}", "month"
    return dt.date(year, month, day).isoformat(), "day"


def _numeric(lower: str, pub: dt.date | None = None) -> tuple[str, Precision] | tuple[()] | None:
    """A date written in digits (2017-04-23, 23.04.2017); ``()`` when such digits leave doubt, ``None`` if none.

    06-01-2016 is 6 January or 1 June; when only one of the two lies in the week up to the
    publication day (a dateline: "02.10.2017" on an article of 2 October), it is that one.
    """
    for pattern, order in ((_ISO, (0, 1, 2)), (_NUMERIC, (2, 1, 0))):
        found = {tuple(int(m.group(1 + i)) for i in order) for m in pattern.finditer(lower)}
        if len(found) > 1:
            return ()
        if found:
            year, month, day = found.pop()
            if pattern is _NUMERIC and month <= 12 and day <= 12 and month != day:
                near = [d for d in (dt.date(year, month, day), dt.date(year, day, month)) if _within_week(d, pub)]
                return (near[0].isoformat(), "day") if len(near) == 1 else ()  # else: the words do not say
            return dt.date(year, month, day).isoformat(), "day"
    return None


def _year(
    month: int, day: int | None, years: set[int], lower: str, which: str, published: str | None, pub: dt.date | None
) -> int | None:
    """The year of a month (and day) the words name: stated, else resolved against publication."""
    if years:
        return years.pop()
    if pub is None or published is None or len(published) < 7:
        return None
    if _LAST_YEAR.search(lower):
        return pub.year - 1
    if _THIS_YEAR.search(lower) or which == "this":  # "this March", "آذار الحالي": maybe still to come
        return pub.year
    if which == "last":  # "last March", "آذار الماضي": the latest such month before the publication month
        return pub.year if month < pub.month else pub.year - 1
    # The latest such day on or before publication, at the precision publication is known.
    stated = (month, day or 1) if len(published) == 10 else (month, 1)
    return pub.year if stated <= (pub.month, pub.day) else pub.year - 1


def _month_from_publication(
    lower: str, years: set[int], day: int | None, published: str | None, pub: dt.date | None
) -> tuple[str, Precision] | None:
    """Words without a month name: "this month", "last month", or a year alone."""
    if pub is not None and published is not None and len(published) >= 7:
        if _LAST_MONTH.search(lower) and not years:
            first = pub.replace(day=1) - dt.timedelta(days=1)
            return (f"{first.year:04d}-{first.month:02d}", "month") if day is None else None
        if _THIS_MONTH.search(lower) and not years:
            if day is None:
                return f"{pub.year:04d}-{pub.month:02d}", "month"
            return dt.date(pub.year, pub.month, day).isoformat(), "day"
    if day is not None:
        return None  # "on the 15th": a day of which month?
    return (f"{years.pop():04d}", "year") if years else None


_FROM_WEEKDAY = re.compile(
    r"\b(?:starting|starts|start|from|until|till|by|beginning|begins|effective)\b"
    r"|(?<!\w)(?:اعتبارا|ابتداء|بدءا|بدء|حتى|من)(?!\w)"
)
"""A weekday that starts or ends a period ("a halt of fighting starting Thursday") may be still to come."""
_LAST_WEEKDAY = re.compile(r"\blast\b|(?<!\w)(?:الماضي|المنصرم|الفائت)ه?(?!\w)")


def _weekday(lower: str, published: str | None, pub: dt.date | None) -> tuple[str, Precision] | None:
    """A weekday alone ("on Saturday", "يوم الجمعة"): the latest such day on or before publication.

    The same week :func:`~llm_extract.grounding.spans.weekday_words` accepts
    for a value the model resolved itself, so a value read here is one a
    model could have written. "Last Friday" on a Friday is the week before;
    a weekday that starts or ends a period ("starting Thursday") gives none.
    Only with a publication day: a weekday of which week, otherwise?
    """
    if pub is None or published is None or len(published) < 10 or _FROM_WEEKDAY.search(lower):
        return None
    named = {_WEEKDAY_NAMES[w] for w in re.findall(r"\w+", lower) if w in _WEEKDAY_NAMES}
    if len(named) != 1:
        return None
    back = (pub.weekday() - named.pop()) % 7
    if back == 0 and _LAST_WEEKDAY.search(lower):
        back = 7
    return (pub - dt.timedelta(days=back)).isoformat(), "day"


def _within_week(day: dt.date, pub: dt.date | None) -> bool:
    return pub is not None and 0 <= (pub - day).days < 7


def _as_date(published: str | None) -> dt.date | None:
    """The publication date as a day; a partial one (``2022-03``) as its first day."""
    if not published:
        return None
    try:
        parts = [int(p) for p in published.split("-")]
        return dt.date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except (ValueError, IndexError):
        return None
