"""FA-KES, a published dataset of Syrian-war news, as an article-level benchmark for conflict records.

FA-KES (Abu Salem, Al Feel, Elbassuoni, Jaber and Farah, "FA-KES: A Fake News
Dataset around the Syrian War", ICWSM 2019; CC BY 4.0, Zenodo 2607278) gives,
for each of 804 English articles, crowd-sourced annotations of the main event
it reports: its date, governorate, actor, cause of death and the deaths the
article states. This module reads its CSV and scores extracted
:class:`~llm_extract.schemas.conflict.Incident` s against those annotations
(``llm-extract eval --dataset fakes:PATH``). The tables and the rules, with the
reasons for each choice, are in ``docs/fakes.md``.

Checks, in column order:

* ``events``: an article that states deaths yields at least one incident
  (its failures are the *zero-event rate*);
* ``toll``: some incident's killed count states the annotated civilian,
  non-civilian or total figure;
* ``governorate``: the main incident's ``admin1`` is the annotated governorate
  (this and the next two do not apply when no incident came out of an article
  that states no deaths: talks and statements are annotated too);
* ``date``: the main incident's date is not after publication and is the
  article's stated day or the day before;
* ``cause``: the main incident's event type and sub-type are consistent with
  the annotated cause of death.

The *main incident* is the one the annotation describes: the first incident
whose killed count states an annotated figure; failing that, the incident
with the most killed; failing that, the first incident.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from llm_extract.schemas.conflict import ConflictRecords, EventType, Incident, SubEventType
from llm_extract.schemas.places import GOVERNORATES, governorate

from llm_extract.batch import Failure
from llm_extract.documents import Document, read_bytes
from llm_extract.errors import InputError
from llm_extract.evaluation.datasets import ArticleScore, Check, CheckSpec, DatasetItem
from llm_extract.results import DocumentResult

__all__ = [
    "CAUSES",
    "FAKES",
    "GOVERNORATES",
    "FakesAnnotation",
    "FakesDataset",
    "governorate",
    "main_incident",
]

log = logging.getLogger("llm_extract")

# --- governorates -----------------------------------------------------------------------

FAKES_DAMASCUS_ALSO = {"Damascus": frozenset({"Damascus", "Rif Dimashq"})}
"""FA-KES's "damascus" covers the city and its countryside: its annotators put Eastern Ghouta
(Rif Dimashq) under "damascus" (e.g. unit 1915433669, Douma), and its dev half has no "rif dimashq"."""

# --- causes -----------------------------------------------------------------------------

_ERV = EventType.EXPLOSIONS_REMOTE_VIOLENCE
_VAC = EventType.VIOLENCE_AGAINST_CIVILIANS
_S = SubEventType

CAUSES: dict[str, frozenset[tuple[EventType, SubEventType]]] = {
    # Artillery, rockets, missiles and air raids: FA-KES (after the VDC casualty database) files
    # barrel bombs and air strikes under shelling.
    "shelling": frozenset({(_ERV, _S.SHELLING_ARTILLERY_MISSILE_ATTACK), (_ERV, _S.AIR_DRONE_STRIKE)}),
    # Bombs: suicide, car and roadside bombs, mines, grenades, and a rocket whose blast is the news.
    "explosion": frozenset(
        {
            (_ERV, _S.SUICIDE_BOMB),
            (_ERV, _S.REMOTE_EXPLOSIVE_LANDMINE_IED),
            (_ERV, _S.GRENADE),
            (_ERV, _S.SHELLING_ARTILLERY_MISSILE_ATTACK),
            (_ERV, _S.AIR_DRONE_STRIKE),
        }
    ),
    "chemical and toxic gases": frozenset({(_ERV, _S.CHEMICAL_WEAPON)}),
    # Gunfire: fighting between armed groups, or armed men firing on civilians or protesters.
    "shooting": frozenset(
        {
            (EventType.BATTLES, _S.ARMED_CLASH),
            (EventType.BATTLES, _S.GOVERNMENT_REGAINS_TERRITORY),
            (EventType.BATTLES, _S.NON_STATE_ACTOR_OVERTAKES_TERRITORY),
            (_VAC, _S.ATTACK),
            (EventType.PROTESTS, _S.EXCESSIVE_FORCE_AGAINST_PROTESTERS),
        }
    ),
    # ACLED codes the killing of captives (by any means) as violence against civilians, attack.
    "execution": frozenset({(_VAC, _S.ATTACK)}),
}
"""FA-KES ``cause_of_death`` -> the (event type, sub-event type) pairs consistent with it.
``unknown`` and causes not listed make the check not applicable."""


# --- the annotation and its loader --------------------------------------------------------


@dataclass(frozen=True)
class FakesAnnotation:
    """One FA-KES row's annotation of the article's main event.

    Counts are the deaths the article states; FA-KES writes 0 for "none stated",
    so 0 is read as *not stated*, never as "nobody died". ``None``: the cell
    was not a number.
    """

    unit_id: str
    date: str | None
    """The annotated day (ISO), also the article's dateline, hence its publication date."""
    location: str
    actor: str
    cause_of_death: str
    civilians: int | None
    noncivilians: int | None
    children: int | None
    women: int | None

    @property
    def tolls(self) -> dict[str, int]:
        """The stated figures a killed count may match: civilians, non-civilians and, with both, their total."""
        found = {name: n for name, n in (("civilians", self.civilians), ("non-civilians", self.noncivilians)) if n}
        if len(found) == 2:
            found["total"] = sum(found.values())
        return found


REQUIRED_COLUMNS = (
    "unit_id",
    "article_title",
    "article_content",
    "date",
    "location",
    "cause_of_death",
    "nb_civilians",
    "nb_noncivilians",
)


def _count(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() else None


def _day(value: str | None) -> str | None:
    """FA-KES dates are m/d/yy (``4/5/17``); anything else is ``None``, never a guess."""
    try:
        return dt.datetime.strptime((value or "").strip(), "%m/%d/%y").date().isoformat()
    except ValueError:
        return None


def _decoded_lines(data: bytes, name: str) -> list[str]:
    """The file's lines as text; bytes that are not UTF-8 become U+FFFD, and the lines that had them are logged.

    Lines are split on bytes (a newline byte is never part of a UTF-8 sequence), so one bad byte
    costs one character of one row, not the file.
    """
    lines: list[str] = []
    bad: list[int] = []
    for n, raw in enumerate(data.splitlines(keepends=True), 1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(raw.decode("utf-8", errors="replace"))
            bad.append(n)
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    if bad:
        shown = ", ".join(map(str, bad[:8])) + (", ..." if len(bad) > 8 else "")
        log.info("%s: %d lines hold bytes that are not UTF-8 (lines %s); read with U+FFFD", name, len(bad), shown)
    return lines


@dataclass(frozen=True)
class FakesDataset:
    """The FA-KES CSV as a :class:`~llm_extract.evaluation.datasets.Dataset` of conflict records."""

    name: str = "FA-KES"
    checks: tuple[CheckSpec, ...] = (
        CheckSpec("events", "zero-event rate", "fail", "an article that states deaths yields an incident"),
        CheckSpec("toll", "toll found", "pass", "some incident's killed count states an annotated figure"),
        CheckSpec("governorate", "governorate right", "pass", "the main incident's admin1 is the annotated one"),
        CheckSpec("date", "date right", "pass", "the main incident's date is the stated day or the day before"),
        CheckSpec("cause", "cause consistent", "pass", "the main incident's type fits the annotated cause"),
    )
    date_slack_days: int = 1
    """An event may precede the stated day by this much: a dateline-day article reports the night before."""

    def load(self, path: str | os.PathLike[str]) -> list[DatasetItem[FakesAnnotation]]:
        """Every row with text, as documents (line 1 the title, then the content) published on the annotated day.

        A row that annotates an article already seen (same ``unit_id``, same text) shares its
        document; its item id gets ``#2``, ``#3``... A row without text is skipped with a warning.

        Raises:
            InputError: the file is missing, unreadable, not CSV or lacks a required column.
        """
        p = Path(path)
        reader = csv.DictReader(_decoded_lines(read_bytes(p), str(p)))
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{p}: not a FA-KES CSV file: no column {', '.join(map(repr, missing))}")
        items: list[DatasetItem[FakesAnnotation]] = []
        seen: Counter[str] = Counter()
        first_doc: dict[str, Document] = {}
        try:
            for row in reader:
                item = self._item(row, p, reader.line_num, seen, first_doc)
                if item is not None:
                    items.append(item)
        except csv.Error as exc:
            raise InputError(f"{p}:{reader.line_num}: not valid CSV ({exc})") from None
        return items

    def _item(
        self,
        row: dict[str, str | None],
        path: Path,
        line: int,
        seen: Counter[str],
        first_doc: dict[str, Document],
    ) -> DatasetItem[FakesAnnotation] | None:
        unit_id = (row.get("unit_id") or "").strip() or f"line{line}"
        title = (row.get("article_title") or "").strip()
        content = (row.get("article_content") or "").strip()
        if not (title or content):
            log.warning("%s:%d: unit %s skipped: the row has no article text", path, line, unit_id)
            return None
        text = f"{title}\n{content}" if title else content
        seen[unit_id] += 1
        item_id = unit_id if seen[unit_id] == 1 else f"{unit_id}#{seen[unit_id]}"
        day = _day(row.get("date"))
        earlier = first_doc.get(unit_id)
        if earlier is not None and earlier.text == text and earlier.published == day:
            document = earlier
        else:
            document = Document(id=item_id, text=text, published=day)
            first_doc.setdefault(unit_id, document)
        annotation = FakesAnnotation(
            unit_id=unit_id,
            date=day,
            location=(row.get("location") or "").strip().lower(),
            actor=(row.get("actor") or "").strip(),
            cause_of_death=(row.get("cause_of_death") or "").strip().lower(),
            civilians=_count(row.get("nb_civilians")),
            noncivilians=_count(row.get("nb_noncivilians")),
            children=_count(row.get("nb_children")),
            women=_count(row.get("nb_women")),
        )
        return DatasetItem(item_id, document, annotation)

    # --- scoring ------------------------------------------------------------------------

    def score(self, result: DocumentResult | Failure, annotation: FakesAnnotation) -> ArticleScore:
        """The five checks of one article (see the module docstring)."""
        if isinstance(result, Failure):
            # Nothing came out: each check that applies fails, and says why, as for an empty extraction.
            failed = f"no result ({result.error})"
            checks = {
                name: check if check.outcome == "n/a" else Check("fail", failed)
                for name, check in self._checks([], annotation).items()
            }
            return ArticleScore(annotation.unit_id, result.doc_id, checks, error=f"{result.error}: {result.reason}")
        records = result.records
        incidents: list[Incident] = list(records.incidents) if isinstance(records, ConflictRecords) else []
        return ArticleScore(
            annotation.unit_id,
            result.doc_id,
            self._checks(incidents, annotation),
            records=result.record_count,
            cache_hit=result.provenance.cache_hit,
        )

    def _checks(self, incidents: list[Incident], annotation: FakesAnnotation) -> dict[str, Check]:
        main = main_incident(incidents, annotation)
        return {
            "events": _events(incidents, annotation),
            "toll": _toll(incidents, annotation),
            "governorate": _governorate(incidents, main, annotation),
            "date": self._date(incidents, main, annotation),
            "cause": _cause(incidents, main, annotation),
        }

    def _date(self, incidents: list[Incident], main: int | None, a: FakesAnnotation) -> Check:
        if a.date is None:
            return Check("n/a", "no annotated date")
        if main is None:
            return _no_incident(a, f"stated day {a.date}")
        date = incidents[main].date
        where = f"(incident {main + 1})"
        if date.value is None:
            return Check("fail", f"no date value {where} for {date.text!r}; stated day {a.date}")
        if len(date.value) < 10:
            return Check("fail", f"{date.value} {where} gives no day; stated day {a.date}")
        try:
            day = dt.date.fromisoformat(date.value)
        except ValueError:
            return Check("fail", f"{date.value} {where} is not a calendar date; stated day {a.date}")
        stated = dt.date.fromisoformat(a.date)
        if day > stated:
            return Check("fail", f"{day} {where} is after publication {stated}")
        if (stated - day).days > self.date_slack_days:
            return Check("fail", f"{day} {where} is {(stated - day).days} days before the stated day {stated}")
        return Check("pass", f"{day} {where} " + ("= stated day" if day == stated else f"is the day before {stated}"))


FAKES = FakesDataset()
"""The dataset ``llm-extract eval --dataset fakes:PATH`` runs."""


def _killed(incident: Incident) -> list[int]:
    """The killed counts an incident states: each side's and, with several, their sum."""
    counts = [c.killed for c in incident.casualties if c.killed is not None]
    return [*counts, sum(counts)] if len(counts) > 1 else counts


def _toll_match(incidents: list[Incident], a: FakesAnnotation) -> tuple[int, int, str] | None:
    """(incident index, count, figure name) of the first killed count that states an annotated figure."""
    tolls = a.tolls
    for i, incident in enumerate(incidents):
        for count in _killed(incident):
            for figure, n in tolls.items():
                if count == n:
                    return i, count, figure
    return None


def main_incident(incidents: list[Incident], annotation: FakesAnnotation) -> int | None:
    """Index of the incident the annotation describes (see the module docstring), ``None`` when none came out."""
    if not incidents:
        return None
    found = _toll_match(incidents, annotation)
    if found is not None:
        return found[0]
    return max(range(len(incidents)), key=lambda i: (max(_killed(incidents[i]), default=-1), -i))


def _has_deaths(a: FakesAnnotation) -> bool:
    return bool(a.tolls)


def _no_incident(a: FakesAnnotation, annotated: str) -> Check:
    """No incident to judge: a miss when the article states deaths, else nothing to hold against the model.

    FA-KES annotates a place, day and cause for every row, also for articles that report no
    violence (talks, statements); an extraction that finds no event there is right.
    """
    if _has_deaths(a):
        return Check("fail", f"no incident; {annotated}")
    return Check("n/a", f"no incident, and the annotation states no deaths; {annotated}")


def _figures(a: FakesAnnotation) -> str:
    return ", ".join(f"{figure} {n}" for figure, n in a.tolls.items())


def _events(incidents: list[Incident], a: FakesAnnotation) -> Check:
    if not _has_deaths(a):
        return Check("n/a", f"the annotation states no deaths ({len(incidents)} incidents)")
    if not incidents:
        return Check("fail", f"no incident, though the article states deaths ({_figures(a)})")
    return Check("pass", f"{len(incidents)} incident{'s' if len(incidents) > 1 else ''}")


def _toll(incidents: list[Incident], a: FakesAnnotation) -> Check:
    if not _has_deaths(a):
        return Check("n/a", "the annotation states no deaths")
    found = _toll_match(incidents, a)
    if found is not None:
        i, count, figure = found
        return Check("pass", f"killed {count} (incident {i + 1}) = {figure} {a.tolls[figure]}")
    stated = sorted({n for incident in incidents for n in _killed(incident)})
    got = f"killed counts {', '.join(map(str, stated))}" if stated else "no killed count"
    return Check("fail", f"{got}; annotated {_figures(a)}")


def _governorate(incidents: list[Incident], main: int | None, a: FakesAnnotation) -> Check:
    if not a.location:
        return Check("n/a", "no annotated location")
    expected = governorate(a.location)
    if expected is None:
        return Check("n/a", f"annotated location {a.location!r} is not in the governorate table")
    accepted = FAKES_DAMASCUS_ALSO.get(expected, frozenset({expected}))
    if main is None:
        return _no_incident(a, f"annotated {a.location}")
    location = incidents[main].location
    where = f"(incident {main + 1})"
    if not location.admin1:
        return Check("fail", f"no admin1 {where} for {location.as_written!r}; annotated {a.location}")
    got = governorate(location.admin1)
    if got is None:
        return Check("fail", f"{location.admin1!r} {where} is no governorate; annotated {a.location}")
    if got in accepted:
        return Check("pass", f"{location.admin1} {where} = {a.location}")
    return Check("fail", f"{location.admin1} {where}, annotated {a.location}")


def _cause(incidents: list[Incident], main: int | None, a: FakesAnnotation) -> Check:
    consistent = CAUSES.get(a.cause_of_death)
    if consistent is None:
        return Check("n/a", f"cause {a.cause_of_death or 'empty'!r} is not in the cause table")
    if main is None:
        return _no_incident(a, f"annotated {a.cause_of_death}")
    incident = incidents[main]
    pair = (EventType(incident.event_type), SubEventType(incident.sub_event_type))
    shown = f"{pair[0].value} / {pair[1].value} (incident {main + 1})"
    if pair in consistent:
        return Check("pass", f"{shown} fits {a.cause_of_death}")
    return Check("fail", f"{shown} does not fit {a.cause_of_death}")
