"""What the article's words state is filled in, and only that: a date from its date words, a
governorate from the place as written, an event type from its sub-event type.

Small models copy "8 October 2017" and leave the date value null, write "Syria" as the
governorate of "Raqqa province", and call an air strike "Violence against civilians".
During extraction these are read from the record itself; words that leave doubt change
nothing, and gold fixtures keep what a person wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from llm_extract.schemas.conflict import LEXICON, EventDate, Incident, Location
from llm_extract.schemas.places import governorate_named_in

from llm_extract import Extractor
from llm_extract.grounding import SourceText, date_stated, grounding
from llm_extract.testing import ChatServer, Reply

MakeExtractor = Callable[..., Extractor]

ARTICLE = (
    "Raqqa 8 October 2017. Coalition air strikes on the village of al-Saleh in Raqqa province "
    "killed 12 civilians on Sunday."
)
QUOTE = "Coalition air strikes on the village of al-Saleh in Raqqa province killed 12 civilians"


@pytest.mark.parametrize(
    ("words", "published", "expected"),
    [
        ("8 October 2017", "2017-10-08", ("2017-10-08", "day")),
        ("Sat Aug 6 2016", "2016-08-06", ("2016-08-06", "day")),
        ("23.04.2017", "2017-04-23", ("2017-04-23", "day")),
        ("في 15 من آذار الحالي", "2022-03", ("2022-03-15", "day")),
        ("15 December", "2017-01-10", ("2016-12-15", "day")),
        ("March 2017", "2017-04-04", ("2017-03", "month")),
        ("last month", "2022-03-14", ("2022-02", "month")),
        ("in 2016", "2017-04-04", ("2016", "year")),
    ],
)
def test_date_words_state_their_value(words: str, published: str, expected: tuple[str, str]) -> None:
    assert date_stated(words, published) == expected


@pytest.mark.parametrize(
    ("words", "published"),
    [
        ("06-01-2016", "2016-01-09"),  # day first or month first: the words do not say
        ("between 5 and 7 March", "2017-04-04"),  # two days
        ("on Monday", "2017-04-04"),  # a weekday alone
        ("yesterday", "2017-04-04"),  # whose: the article's, or a quoted statement's?
        ("أمس", "2017-04-04"),
        ("on the 15th", "2017-04-04"),  # a day of which month?
        ("21 November 2016", "2016-11-20"),  # later than publication
        ("31 February 2017", None),  # no such day
        ("15 March", None),  # which year?
        ("", "2017-04-04"),
    ],
)
def test_date_words_that_leave_doubt_state_no_value(words: str, published: str | None) -> None:
    assert date_stated(words, published) is None


def test_a_null_date_value_is_read_from_its_words_during_extraction() -> None:
    with grounding(SourceText(ARTICLE), lexicon=LEXICON, published="2017-10-08", fill_from_text=True):
        date = EventDate.model_validate({"text": "8 October 2017", "value": None})
    assert (date.value, date.precision.value) == ("2017-10-08", "day")


def test_a_date_value_the_model_gave_stays_the_models() -> None:
    with grounding(SourceText(ARTICLE), lexicon=LEXICON, published="2017-10-08", fill_from_text=True):
        date = EventDate.model_validate({"text": "on Sunday", "value": "2017-10-08", "precision": "day"})
    assert date.value == "2017-10-08"  # a weekday alone is not read, but the model's resolution of it stands


@pytest.mark.parametrize(
    ("place", "expected"),
    [
        ("Raqqa province", "Raqqa"),
        ("Aleppo eastern neighborhoods", "Aleppo"),
        ("ريف حلب الشمالي", "Aleppo"),
        ("بريف دمشق", "Rif Dimashq"),
        ("countryside of Damascus", "Rif Dimashq"),
        ("محافظة الحسكة", "Hasakah"),
        ("Aleppo, Syria", "Aleppo"),
        ("Aleppo and Damascus", None),
        ("Idlip and Aleppo", None),  # a place the table cannot place, in a list
        ("Syria", None),
        ("Hamas", None),
    ],
)
def test_a_place_as_written_names_at_most_one_governorate(place: str, expected: str | None) -> None:
    assert governorate_named_in(place) == expected


def test_the_governorate_a_place_names_replaces_the_country_written_as_admin1() -> None:
    with grounding(SourceText(ARTICLE), lexicon=LEXICON, fill_from_text=True):
        location = Location.model_validate({"as_written": "Raqqa province", "admin1": "Syria"})
    assert (location.admin1, location.country) == ("Raqqa", "Syria")


def test_a_place_that_names_no_governorate_keeps_the_models_admin1() -> None:
    with grounding(SourceText(ARTICLE), lexicon=LEXICON, fill_from_text=True):
        location = Location.model_validate({"as_written": "al-Saleh", "admin1": "Raqqa"})
    assert location.admin1 == "Raqqa"


def incident(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "date": {"text": "8 October 2017"},
        "location": {"as_written": "Raqqa province", "admin1": "Syria"},
        "event_type": "Violence against civilians",
        "sub_event_type": "Air/drone strike",
        "summary": "Coalition air strikes killed 12 civilians.",
        "evidence": [{"quote": QUOTE}],
    }
    return record | changes


def test_the_sub_event_type_decides_the_event_type() -> None:
    with grounding(SourceText(ARTICLE), lexicon=LEXICON, published="2017-10-08", fill_from_text=True):
        record = Incident.model_validate(incident())
    assert (record.event_type.value, record.sub_event_type.value) == ("Explosions/Remote violence", "Air/drone strike")


def test_outside_extraction_nothing_is_filled() -> None:
    """Gold fixtures and reviewed results are validated without fill_from_text: they keep what a person wrote."""
    with grounding(SourceText(ARTICLE), lexicon=LEXICON, published="2017-10-08"):
        record = Incident.model_validate(incident())
    assert record.date.value is None
    assert record.location.admin1 == "Syria"
    assert record.event_type.value == "Violence against civilians"


def test_an_extracted_incident_comes_out_with_its_date_governorate_and_event_type(
    server: ChatServer, make_extractor: MakeExtractor
) -> None:
    server.push(Reply.records({"incidents": [incident()], "negotiations": [], "personnel_changes": []}))
    ex = make_extractor()

    [record] = ex.extract(ex.document(ARTICLE, published="2017-10-08")).incidents

    assert record.date.value == "2017-10-08"
    assert record.location.admin1 == "Raqqa"
    assert record.event_type.value == "Explosions/Remote violence"
    assert record.casualties[0].killed == 12
