"""A model's answer is read as its own words state it: a date from its date words, a governorate
from the place as written, an event type from its sub-event type, and no record its quotes do
not support.

Small models copy "8 October 2017" and leave the date value null, write "Syria" as the
governorate of "Raqqa province", call an air strike "Violence against civilians", and write a
record into every list, sport articles included. During extraction these are read from the
record itself; words that leave doubt change nothing, and gold fixtures keep what a person wrote.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from llm_extract.schemas.conflict import (
    LEXICON,
    Casualties,
    ConflictRecords,
    EventDate,
    Incident,
    Location,
    Negotiation,
    sub_event_named,
)
from llm_extract.schemas.places import governorate_named_in

from llm_extract import Extractor
from llm_extract.grounding import SourceText, date_in, date_stated, grounding
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
        ("November last year", "2017-12-20", ("2016-11", "month")),
        ("15 كانون الأول من العام الماضي", "2017-12-20", ("2016-12-15", "day")),
        ("آذار الماضي", "2017-03-20", ("2016-03", "month")),
        ("last March", "2017-05-20", ("2017-03", "month")),
        ("March 15.", "2017-03-10", ("2016-03-15", "day")),
        ("في 15 من الشهر الجاري", "2022-03-20", ("2022-03-15", "day")),
        # Day or month first: the one reading in the week up to publication (a dateline).
        ("02.10.2017", "2017-10-02", ("2017-10-02", "day")),
        ("06-01-2016", "2016-01-09", ("2016-01-06", "day")),
        # A weekday alone is the latest such day on or before publication.
        ("on Monday", "2017-04-04", ("2017-04-03", "day")),
        ("the fighters may have been killed on Tuesday", "2017-06-20", ("2017-06-20", "day")),
        ("last Tuesday", "2017-06-20", ("2017-06-13", "day")),
        ("الجمعة الماضية", "2017-03-17", ("2017-03-10", "day")),
        ("during a protest march on Friday", "2017-03-20", ("2017-03-17", "day")),  # a march, not March
        ("عند باب الهوى يوم الجمعة", "2017-04-20", ("2017-04-14", "day")),  # آب (August) inside باب
    ],
)
def test_date_words_state_their_value(words: str, published: str, expected: tuple[str, str]) -> None:
    assert date_stated(words, published) == expected


@pytest.mark.parametrize(
    ("words", "published"),
    [
        ("06-01-2016", "2016-03-20"),  # day first or month first: the words do not say
        ("06-01-2016", "2016-01"),  # nor does a publication month
        ("between 5 and 7 March", "2017-04-04"),  # two days
        ("March 3-4", "2017-04-04"),
        ("Astana 4 talks in May", "2017-06-20"),  # a number that is not the day
        ("a 5-day truce in May", "2017-06-20"),
        ("7 years after March 2011", "2017-04-20"),
        ("on Monday", "2017-04"),  # a weekday of which week?
        ("Monday and Tuesday", "2017-04-04"),  # two days
        ("a daily halt of fighting starting Thursday", "2016-08-10"),  # maybe still to come
        ("هدنة اعتبارا من الخميس", "2016-08-10"),
        ("yesterday", "2017-04-04"),  # whose: the article's, or a quoted statement's?
        ("أمس", "2017-04-04"),
        ("on the 15th", "2017-04-04"),  # a day of which month?
        ("15 نيسان المقبل", "2017-03-20"),  # to come
        ("since 2011", "2017-03-20"),  # the start of a period
        ("the 1990s", "2017-03-20"),
        ("at 1930 GMT on Friday", "2017-03-20"),  # a clock time, not a year
        ("في الثالث من نيسان", "2017-04-02"),  # a day we cannot read decides the year
        ("this March", "2017-02-20"),  # still to come
        ("21 November 2016", "2016-11-20"),  # later than publication
        ("31 February 2017", None),  # no such day
        ("15 March", None),  # which year?
        ("last month", "0001-01-15"),  # before the calendar
        ("", "2017-04-04"),
    ],
)
def test_date_words_that_leave_doubt_state_no_value(words: str, published: str | None) -> None:
    assert date_stated(words, published) is None


def test_a_null_date_value_is_read_from_its_words_during_extraction() -> None:
    with grounding(SourceText(ARTICLE), lexicon=LEXICON, published="2017-10-08", model_answer=True):
        date = EventDate.model_validate({"text": "8 October 2017", "value": None})
    assert (date.value, date.precision.value) == ("2017-10-08", "day")


def test_a_date_value_the_model_gave_stays_the_models() -> None:
    with grounding(SourceText(ARTICLE), lexicon=LEXICON, published="2017-10-08", model_answer=True):
        date = EventDate.model_validate({"text": "on Sunday", "value": "2017-10-08", "precision": "day"})
    assert date.value == "2017-10-08"  # a weekday alone is not read, but the model's resolution of it stands


@pytest.mark.parametrize(("value", "precision"), [("2017-10-08", "day"), ("2017-10", "month"), ("2017", "year")])
def test_a_date_value_written_with_precision_unknown_takes_the_precision_of_its_form(
    value: str, precision: str
) -> None:
    with grounding(SourceText(ARTICLE), lexicon=LEXICON, published="2017-10-08", model_answer=True):
        date = EventDate.model_validate({"text": "8 October 2017", "value": value, "precision": "unknown"})
    assert (date.value, date.precision.value) == (value, precision)


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
        ("Syrias Deir ez-Zor province", "Deir ez-Zor"),  # FA-KES writes the possessive without its apostrophe
        ("Aleppo and Damascus", None),
        ("Eastern Ghouta near Damascus", None),  # beside a city is not in its governorate
        ("دوما شرق دمشق", None),
        ("Damascus airport", None),
        ("Beirut-Damascus highway", None),
        ("Damascus province", None),  # the city, its countryside, or both
        ("دمشق وريفها", None),
        ("Idlip and Aleppo", None),  # a place the table cannot place, in a list
        ("Syria", None),
        ("Hamas", None),
    ],
)
def test_a_place_as_written_names_at_most_one_governorate(place: str, expected: str | None) -> None:
    assert governorate_named_in(place) == expected


def test_the_governorate_a_place_names_replaces_the_country_written_as_admin1() -> None:
    with grounding(SourceText(ARTICLE), lexicon=LEXICON, model_answer=True):
        location = Location.model_validate({"as_written": "Raqqa province", "admin1": "Syria"})
    assert (location.admin1, location.country) == ("Raqqa", "Syria")


def test_a_place_that_names_no_governorate_keeps_the_models_admin1() -> None:
    with grounding(SourceText(ARTICLE), lexicon=LEXICON, model_answer=True):
        location = Location.model_validate({"as_written": "al-Saleh", "admin1": "Raqqa"})
    assert location.admin1 == "Raqqa"


def test_a_place_in_another_country_is_never_given_a_syrian_governorate() -> None:
    with grounding(SourceText("Shells fell on Ramtha, across from Daraa."), lexicon=LEXICON, model_answer=True):
        location = Location.model_validate({"as_written": "Daraa", "admin1": None, "country": "Jordan"})
    assert location.admin1 is None


def test_a_governorate_the_model_wrote_in_the_articles_words_becomes_its_english_name() -> None:
    """The seed's clash: admin1 written as the phrase "... مدينة جاسم بريف درعا الشمالي", place "جاسم"."""
    text = "اشتباكات في مدينة جاسم بريف درعا الشمالي."
    with grounding(SourceText(text), lexicon=LEXICON, model_answer=True):
        location = Location.model_validate({"as_written": "جاسم", "admin1": "مدينة جاسم بريف درعا الشمالي"})
    assert (location.admin1, location.country) == ("Daraa", "Syria")


def test_a_place_written_as_a_governorates_name_is_normalized_to_its_english_name() -> None:
    """The model never fills ``normalized``; "القنيطرة" as written is Quneitra."""
    text = "سقطت قذائف على القنيطرة."
    with grounding(SourceText(text), lexicon=LEXICON, model_answer=True):
        location = Location.model_validate({"as_written": "القنيطرة"})
    assert (location.normalized, location.admin1) == ("Quneitra", "Quneitra")


def test_a_town_keeps_no_normalized_name_the_model_did_not_write() -> None:
    with grounding(SourceText(ARTICLE), lexicon=LEXICON, model_answer=True):
        location = Location.model_validate({"as_written": "al-Saleh"})
    assert location.normalized is None


def test_an_admin1_in_syria_that_is_no_governorate_is_unknown() -> None:
    """jordan-times: Douma's admin1 came back "Eastern Ghouta", a region of Rif Dimashq, not a governorate."""
    text = "Strikes hit the town of Douma in Eastern Ghouta, Syria."
    with grounding(SourceText(text), lexicon=LEXICON, model_answer=True):
        location = Location.model_validate({"as_written": "Douma", "admin1": "Eastern Ghouta", "country": "Syria"})
    assert location.admin1 is None


def test_a_country_written_as_admin1_is_no_governorate() -> None:
    text = "Clashes in al-Khawkha, Yemen."
    with grounding(SourceText(text), lexicon=LEXICON, model_answer=True):
        location = Location.model_validate({"as_written": "al-Khawkha", "admin1": "Yemen", "country": "Yemen"})
    assert (location.admin1, location.country) == (None, "Yemen")


def test_a_yemeni_place_takes_its_governorate_from_yemens_table() -> None:
    """alarabiya: "الحديدة" with admin1 "Yemen" and no country is in Al Hudaydah, Yemen."""
    text = "أسر قيادي حوثي بارز في الحديدة"
    with grounding(SourceText(text), lexicon=LEXICON, model_answer=True):
        location = Location.model_validate({"as_written": "الحديدة", "admin1": "Yemen"})
    assert (location.admin1, location.country, location.normalized) == ("Al Hudaydah", "Yemen", "Al Hudaydah")


def test_an_invented_admin1_in_libya_gives_way_to_the_district_the_place_names() -> None:
    """skynews-arabia: a camp "in the capital Tripoli" came back with admin1 "trablagh"."""
    place = "مخيم الفلاح لنازحي تاورغاء بالعاصمة طرابلس"
    with grounding(SourceText(f"قتل 40 شخصا في {place}"), lexicon=LEXICON, model_answer=True):
        location = Location.model_validate({"as_written": place, "admin1": "trablagh", "country": "Libya"})
    assert location.admin1 == "Tripoli"


def test_a_tripoli_in_a_country_without_a_table_is_left_as_the_model_wrote_it() -> None:
    """طرابلس is also Lebanon's Tripoli: Libya's table applies only where the record names Libya."""
    with grounding(SourceText("اشتباكات في طرابلس شمال لبنان"), lexicon=LEXICON, model_answer=True):
        location = Location.model_validate({"as_written": "طرابلس", "country": "لبنان"})
    assert (location.admin1, location.normalized) == (None, None)


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
    with grounding(SourceText(ARTICLE), lexicon=LEXICON, published="2017-10-08", model_answer=True):
        record = Incident.model_validate(incident())
    assert (record.event_type.value, record.sub_event_type.value) == ("Explosions/Remote violence", "Air/drone strike")


def test_an_event_type_other_than_violence_against_civilians_stays_as_the_model_wrote_it() -> None:
    with grounding(SourceText(ARTICLE), lexicon=LEXICON, published="2017-10-08", model_answer=True):
        record = Incident.model_validate(
            incident(event_type="Battles", sub_event_type="Attack", evidence=[{"quote": "killed 12 civilians"}])
        )
    assert record.event_type.value == "Battles"


@pytest.mark.parametrize(
    ("quote", "expected"),
    [
        ("Regime planes fired rockets on several parts of Douma", "Air/drone strike"),
        ("a suicide bomber blew up a car bomb at the checkpoint", "Suicide bomb"),
        ("an explosive device went off in the northern city of Aleppo", "Remote explosive/landmine/IED"),
        ("Houthis keep firing Katyusha rockets and shells at Manzar", "Shelling/artillery/missile attack"),
        ("وأسفرت الاشتباكات في جاسم عن مقتل شخصين", "Armed clash"),
        ("قتل 11 مدنيا في غارات للطيران الحربي على دوما", "Air/drone strike"),
        ("قصف جوي ومدفعي على دوما", "Air/drone strike"),
        ("a suicide drone hit the base", "Air/drone strike"),
        ("clashes and shelling killed 12", None),  # two ways of fighting: the model's choice stands
        ("anti-aircraft guns fired on the crowd", None),
        ("الرشاشات المضادة للطيران", None),
        ("إغارة على مواقع النظام", None),  # a ground raid, not غارة
        ("لن يتهاونوا مع المسلحين", None),  # "will not tolerate", not هاون
        ("الانفجار الغامض", None),  # "mysterious", not ألغام
        ("the regime claimed he committed suicide in prison", None),
        ("12 civilians were killed in Raqqa", None),
    ],
)
def test_the_weapon_a_quote_names_is_the_sub_event_type(quote: str, expected: str | None) -> None:
    named = sub_event_named(quote)
    assert (named.value if named else None) == expected


def test_the_weapon_the_quotes_name_replaces_the_models_sub_event_type_and_its_event_type() -> None:
    with grounding(SourceText(ARTICLE), lexicon=LEXICON, published="2017-10-08", model_answer=True):
        record = Incident.model_validate(incident(event_type="Battles", sub_event_type="Remote explosive/landmine/IED"))
    assert (record.event_type.value, record.sub_event_type.value) == ("Explosions/Remote violence", "Air/drone strike")


def test_a_protest_type_gives_way_to_the_weapon_quotes_that_name_no_crowd() -> None:
    """The 1.5B model wrote "Excessive force against protesters" for a bombing, "Violent demonstration" for a strike."""
    quote = "an explosive device went off in the northern city of Aleppo killing six people"
    with grounding(SourceText(f"Raqqa province. {quote}."), lexicon=LEXICON, model_answer=True):
        record = Incident.model_validate(
            incident(
                sub_event_type="Excessive force against protesters", date={"text": ""}, evidence=[{"quote": quote}]
            )
        )
    assert (record.event_type.value, record.sub_event_type.value) == (
        "Explosions/Remote violence",
        "Remote explosive/landmine/IED",
    )


def test_a_protest_its_quotes_name_keeps_its_type_whatever_weapon_they_name() -> None:
    quote = "security forces fired rockets at protesters in Daraa"
    with grounding(SourceText(f"Raqqa province. {quote}."), lexicon=LEXICON, model_answer=True):
        record = Incident.model_validate(
            incident(
                sub_event_type="Excessive force against protesters", date={"text": ""}, evidence=[{"quote": quote}]
            )
        )
    assert record.sub_event_type.value == "Excessive force against protesters"


@pytest.mark.parametrize(
    ("sub_event_type", "quote"),
    [
        ("Chemical weapon", "Chlorine barrel bombs dropped by helicopters killed 12 civilians"),
        ("Attack", "gunmen killed 12 civilians since the clashes of 2018"),  # a clash word replaces only an explosion
    ],
)
def test_a_sub_event_type_the_weapon_words_cannot_tell_stays_as_the_model_wrote_it(
    sub_event_type: str, quote: str
) -> None:
    text = f"Raqqa province, 8 October 2017. {quote}."
    with grounding(SourceText(text), lexicon=LEXICON, published="2017-10-08", model_answer=True):
        record = Incident.model_validate(incident(sub_event_type=sub_event_type, evidence=[{"quote": quote}]))
    assert record.sub_event_type.value == sub_event_type


@pytest.mark.parametrize(
    ("quote", "expected"),
    [
        (
            "The Syrian army backed by Hezbollah fighters has thwarted an attack by terrorists in Qalamoun, "
            "killing two commanders",
            "Armed clash",
        ),
        ("Rebel fire on the district of Hamdaniyeh killed 13 people", "Remote explosive/landmine/IED"),
        ("Fierce fighting after a car bomb killed 13 people", "Remote explosive/landmine/IED"),
    ],
    ids=["a fight, no weapon", "no fight named", "a fight and a bomb"],
)
def test_an_explosion_whose_quotes_tell_of_a_fight_and_name_no_weapon_is_an_armed_clash(
    quote: str, expected: str
) -> None:
    """al-alam-1962495654: the army "thwarted an attack by terrorists … killing two commanders", typed an IED."""
    with grounding(SourceText(f"Raqqa province. {quote}."), lexicon=LEXICON, model_answer=True):
        record = Incident.model_validate(
            incident(sub_event_type="Remote explosive/landmine/IED", date={"text": ""}, evidence=[{"quote": quote}])
        )
    assert record.sub_event_type.value == expected
    assert record.event_type.value == ("Battles" if expected == "Armed clash" else "Explosions/Remote violence")


def test_a_strategic_development_keeps_its_sub_event_type_whatever_weapon_its_quotes_name() -> None:
    with grounding(SourceText(ARTICLE), lexicon=LEXICON, published="2017-10-08", model_answer=True):
        record = Incident.model_validate(
            incident(event_type="Strategic developments", sub_event_type="Disrupted weapons use")
        )
    assert record.sub_event_type.value == "Disrupted weapons use"


def test_outside_extraction_nothing_is_filled() -> None:
    """Gold fixtures and reviewed results are validated without model_answer: they keep what a person wrote."""
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


# --- records their own quotes do not support ----------------------------------------------

SPORT = (
    "Syria's national team beat Iran 2-1 in Damascus on Tuesday. "
    "Coach Fajr Ibrahim praised the fans. The match was the team's first win this year."
)


def read(text: str, answer: dict[str, Any]) -> tuple[ConflictRecords, list[str]]:
    """A model's answer as the engine reads it, and the warnings reading it gave."""
    with grounding(SourceText(text), lexicon=LEXICON, published="2017-10-08", model_answer=True) as ctx:
        return ConflictRecords.model_validate(answer), ctx["warnings"]


def test_an_incident_whose_quotes_name_no_violent_event_is_dropped() -> None:
    answer = {
        "incidents": [
            incident(
                location={"as_written": "Damascus"},
                evidence=[{"quote": "Syria's national team beat Iran 2-1 in Damascus on Tuesday"}],
                date={"text": ""},
            )
        ]
    }
    result, warnings = read(SPORT, answer)
    assert result.incidents == []
    assert warnings == ["dropped incidents[0]: no word of its quotes names a violent event"]


def test_a_negotiation_whose_quotes_name_no_meeting_or_agreement_is_dropped() -> None:
    praise = [{"quote": "Coach Fajr Ibrahim praised the fans"}]
    negotiation = {"date": {"text": ""}, "summary": "Talks.", "evidence": praise}
    assert read(SPORT, {"negotiations": [negotiation]})[0].negotiations == []


def test_a_negotiation_whose_own_quote_names_no_talks_is_dropped_though_a_term_names_a_truce() -> None:
    """the-new-arab-1923102926: the record quoted "The Army of Conquest … is regularly bombarded", a term quoted
    "several attempts at securing a long-lasting truce have faltered": the truce that failed is no negotiation."""
    bombed = "The Army of Conquest is regularly bombarded by pro-government forces"
    faltered = "Several attempts at securing a long-lasting truce have faltered"
    term = {"party": "rebels", "commitment": "a ceasefire", "evidence": [{"quote": faltered}]}
    negotiation = {"date": {"text": ""}, "summary": "Talks.", "evidence": [{"quote": bombed}], "terms": [term]}
    result, warnings = read(f"{bombed}. {faltered}.", {"negotiations": [negotiation]})
    assert result.negotiations == []
    assert warnings == ["dropped negotiations[0]: no word of its own quotes names a meeting, talks or an agreement"]


TALKS = "The UN envoy held urgent talks in Sanaa on the fighting in Hodeidah"


def test_an_incident_whose_quotes_tell_of_talks_and_state_no_toll_or_weapon_is_dropped() -> None:
    """bbc-arabic-44510170: the envoy's talks "on the fighting" came back as an incident (and as a negotiation)."""
    talks = incident(location={"as_written": "Sanaa"}, date={"text": ""}, evidence=[{"quote": TALKS}])
    result, warnings = read(f"{TALKS}.", {"incidents": [talks]})
    assert result.incidents == []
    assert warnings == [
        "dropped incidents[0]: its quotes state no toll and name no way of fighting, but tell of talks or a change "
        "of post"
    ]


def test_an_incident_whose_quotes_tell_of_talks_and_its_toll_is_kept() -> None:
    quote = "Air strikes killed 12 civilians in Hodeidah during the talks"
    strike = incident(location={"as_written": "Hodeidah"}, date={"text": ""}, evidence=[{"quote": quote}])
    assert len(read(f"{quote}.", {"incidents": [strike]})[0].incidents) == 1


DISMISSAL = "The president dismissed the head of national security"


@pytest.mark.parametrize(
    ("quote", "kept"),
    [(DISMISSAL, 0), (f"{DISMISSAL} and had him arrested", 1)],
    ids=["a dismissal", "a dismissal and an arrest"],
)
def test_an_arrest_whose_quotes_tell_only_of_a_dismissal_is_dropped(quote: str, kept: int) -> None:
    """bbc-arabic-44627339: "الرئيس الجزائري يقيل رئيس جهاز الأمن الوطني" came back as an incident typed Arrests."""
    arrest = incident(
        event_type="Strategic developments",
        sub_event_type="Arrests",
        location={"as_written": "Algiers"},
        date={"text": ""},
        evidence=[{"quote": quote}],
    )
    assert len(read(f"Algiers. {quote}.", {"incidents": [arrest]})[0].incidents) == kept


def test_according_to_names_no_accord() -> None:
    """sputnik: "According to the SANA news agency the incident took place …" came back as a negotiation."""
    quote = "According to the SANA news agency the incident took place in the Al Midan district"
    negotiation = {"date": {"text": ""}, "summary": "Talks.", "evidence": [{"quote": quote}]}
    assert read(f"{quote}.", {"negotiations": [negotiation]})[0].negotiations == []


def test_a_personnel_change_whose_person_is_its_own_source_is_dropped() -> None:
    """A correspondent who "revealed that 15 people died" came back appointed, on his own word."""
    quote = "Sputnik correspondent revealed that 15 people died including five policemen"
    claim = {"change_type": "appointment", "source": "Sputnik correspondent", "evidence": [{"quote": quote}]}
    change = {"person": "Sputnik correspondent", "claims": [claim], "evidence": [{"quote": quote}]}
    records, warnings = read(f"{quote}.", {"personnel_changes": [change]})
    assert records.personnel_changes == []
    assert warnings == [
        "dropped personnel_changes[0]: 'Sputnik correspondent' is who reports the deaths, not whose post changed"
    ]


def test_a_personnel_change_whose_person_is_who_gives_the_toll_is_dropped() -> None:
    """jordan-times: the monitor's director came back appointed, his claims sourced to his Observatory."""
    said = "Regime planes fired rockets on Douma said Rami Abdel Rahman director of the Syrian Observatory"
    toll = "Four civilians were killed including a child he said"
    claim = {"change_type": "appointment", "source": "Syrian Observatory", "evidence": [{"quote": toll}]}
    change = {"person": "Rami Abdel Rahman", "claims": [claim], "evidence": [{"quote": said}]}
    records, warnings = read(f"{said}. {toll}.", {"personnel_changes": [change]})
    assert records.personnel_changes == []
    assert warnings == [
        "dropped personnel_changes[0]: 'Rami Abdel Rahman' is who reports the deaths, not whose post changed"
    ]


def test_a_person_killed_after_a_quote_that_ends_in_said_is_not_who_says_it() -> None:
    """Quotes are read one by one: "… monitoring groups said" and "Mesouti was killed" are two quotes."""
    first = "A child was killed in a regime-held area monitoring groups said"
    second = "Mohammad Alaa Mesouti was killed in a rebel-held area"
    claim = {"change_type": "arrest", "source": "monitoring groups", "evidence": [{"quote": first}]}
    change = {"person": "Mohammad Alaa Mesouti", "claims": [claim], "evidence": [{"quote": second}]}
    records, _ = read(f"{first}. {second}.", {"personnel_changes": [change]})
    assert [c.person for c in records.personnel_changes] == ["Mohammad Alaa Mesouti"]


def test_a_personnel_change_of_one_the_article_calls_a_civilian_is_dropped() -> None:
    """the-new-arab: "snipers … killing civilian Mohammad Alaa Mesouti" came back as his arrest."""
    killed = "Mohammad Alaa Mesouti was killed in a rebel-held area on Thursday"
    sniper = "Snipers fired into Zabadieh killing civilian Mohammad Alaa Mesouti an activist told The New Arab"
    claim = {"change_type": "arrest", "source": "The New Arab", "evidence": [{"quote": killed}]}
    change = {"person": "Mohammad Alaa Mesouti", "claims": [claim], "evidence": [{"quote": killed}]}
    records, warnings = read(f"{killed}. {sniper}.", {"personnel_changes": [change]})
    assert records.personnel_changes == []
    assert warnings == [
        "dropped personnel_changes[0]: the article calls 'Mohammad Alaa Mesouti' a civilian: "
        "a casualty, not an official or commander"
    ]


def test_a_civilian_word_elsewhere_in_the_article_leaves_a_commander_killed_in_place() -> None:
    killed = "Abu Obaida a commander of the group was killed in the clashes with civilians nearby"
    claim = {"change_type": "death", "source": "the group", "evidence": [{"quote": killed}]}
    change = {"person": "Abu Obaida", "claims": [claim], "evidence": [{"quote": killed}]}
    records, _ = read(f"{killed}. Two civilians were wounded.", {"personnel_changes": [change]})
    assert [c.person for c in records.personnel_changes] == ["Abu Obaida"]


def test_a_strategic_development_that_tells_of_a_meeting_is_no_incident() -> None:
    """The seed: the meeting held hours after the attack came back as a "non-violent transfer of territory"."""
    quote = "A meeting was held in Raqqa province hours after the attack with the security committee"
    meeting = incident(
        date={"text": ""},
        event_type="Strategic developments",
        sub_event_type="Non-violent transfer of territory",
        evidence=[{"quote": quote}],
    )
    records, warnings = read(f"{quote}.", {"incidents": [meeting]})
    assert records.incidents == []
    assert warnings == [
        "dropped incidents[0]: a strategic development whose quotes tell of talks or a meeting: "
        "a negotiation, not an incident"
    ]


def test_a_claim_whose_quotes_tell_only_of_a_death_is_a_death() -> None:
    """al-alam: "… the Al-Nusra Front commander in Lattakia was killed" came back as a dismissal."""
    killed = "Abu Abdul Rahman al-Madani the Al-Nusra Front commander in Lattakia was killed a military source said"
    claim = {"change_type": "dismissal", "source": "a military source", "evidence": [{"quote": killed}]}
    change = {"person": "Abu Abdul Rahman al-Madani", "claims": [claim], "evidence": [{"quote": killed}]}
    records, _ = read(f"{killed}.", {"personnel_changes": [change]})
    assert [c.change_type.value for c in records.personnel_changes[0].claims] == ["death"]


def test_a_claim_whose_quotes_tell_of_a_death_and_an_appointment_keeps_its_type() -> None:
    said = "Colonel Hassan was appointed to lead the brigade after its commander was killed the army said"
    claim = {"change_type": "appointment", "source": "the army", "evidence": [{"quote": said}]}
    change = {"person": "Colonel Hassan", "claims": [claim], "evidence": [{"quote": said}]}
    records, _ = read(f"{said}.", {"personnel_changes": [change]})
    assert [c.change_type.value for c in records.personnel_changes[0].claims] == ["appointment"]


SOCIAL = "ورحب على مواقع التواصل الاجتماعي مغردون عراقيون بقدوم المنتخب السعودي لخوض المباراة"


def test_a_negotiation_quoting_social_media_is_no_meeting() -> None:
    """A dev negative control: الاجتماعي (social) is not اجتماع (a meeting), and مواقع (sites) is not وقع (signed)."""
    negotiation = {"date": {"text": ""}, "summary": "Talks.", "evidence": [{"quote": SOCIAL}]}
    assert read(SOCIAL, {"negotiations": [negotiation]})[0].negotiations == []


RAPPROCHEMENT = "وانعكاس لتقارب بين البلدين تمثل بزيارات مسؤولين عراقيين إلى السعودية قبل فترة"


def test_a_negotiation_in_an_article_that_names_no_conflict_is_dropped() -> None:
    """A dev negative control: a sports page reads the match as a sign of officials' visits (زيارات)."""
    negotiation = {"date": {"text": ""}, "summary": "Visits.", "evidence": [{"quote": RAPPROCHEMENT}]}
    records, warnings = read(f"{RAPPROCHEMENT}. ويلتقي المنتخبان في البصرة.", {"negotiations": [negotiation]})
    assert records.negotiations == []
    assert warnings == [
        "dropped negotiations[0]: the article names no fighting, war, truce, army or armed group: "
        "no talks between parties to a conflict"
    ]


def test_the_same_negotiation_in_an_article_about_a_war_is_kept() -> None:
    negotiation = {"date": {"text": ""}, "summary": "Visits.", "evidence": [{"quote": RAPPROCHEMENT}]}
    text = f"{RAPPROCHEMENT}، بعد سنوات من الحرب."
    assert len(read(text, {"negotiations": [negotiation]})[0].negotiations) == 1


def test_a_personnel_change_whose_quotes_do_not_name_its_person_is_dropped() -> None:
    claim = {"change_type": "appointment", "source": "Syria", "evidence": [{"quote": "Coach Fajr Ibrahim praised"}]}
    change = {"person": "Syria", "claims": [claim], "evidence": [{"quote": "The match was the team's first win"}]}
    assert read(SPORT, {"personnel_changes": [change]})[0].personnel_changes == []


GRANDI = "لبنان يستنكر تصريحات غراندي حول عودة اللاجئين السوريين"


def test_a_personnel_change_whose_quotes_name_no_change_of_post_is_dropped() -> None:
    """A negative control of the dev set: Lebanon condemns what Grandi said; nobody's post changed."""
    claim = {"change_type": "dismissal", "source": "لبنان", "evidence": [{"quote": GRANDI}]}
    change = {"person": "غراندي", "claims": [claim], "evidence": [{"quote": GRANDI}]}
    records, warnings = read(GRANDI, {"personnel_changes": [change]})
    assert records.personnel_changes == []
    assert warnings == [
        "dropped personnel_changes[0]: no word of its quotes names a change of post, a death, a capture or a release"
    ]


def test_a_personnel_change_quoted_as_he_was_succeeded_is_kept() -> None:
    quote = "وكان صلاح مديرا للمخابرات سنوات طويلة، قبل أن يخلفه عطا نفسه في عام 2009"
    claim = {"change_type": "appointment", "source": "عطا", "evidence": [{"quote": quote}]}
    change = {"person": "عطا", "claims": [claim], "evidence": [{"quote": quote}]}
    assert len(read(quote, {"personnel_changes": [change]})[0].personnel_changes) == 1


def test_records_their_quotes_support_are_kept_and_links_follow_the_incidents_kept() -> None:
    text = SPORT + " " + ARTICLE + " The two sides met in Raqqa and agreed a truce."
    sport = incident(location={"as_written": "Damascus"}, date={"text": ""})
    sport["evidence"] = [{"quote": "Syria's national team beat Iran 2-1 in Damascus on Tuesday"}]
    truce = {
        "date": {"text": ""},
        "summary": "A truce.",
        "linked_incident": 1,
        "evidence": [{"quote": "The two sides met in Raqqa and agreed a truce"}],
    }
    result, _ = read(text, {"incidents": [sport, incident()], "negotiations": [truce]})
    assert [i.location.as_written for i in result.incidents] == ["Raqqa province"]
    assert result.negotiations[0].linked_incident == 0


# --- one event written twice ---------------------------------------------------------------


def test_an_incident_written_twice_with_the_same_quotes_and_date_is_one_record() -> None:
    """The 1.5B model wrote the same strike twice on the dev set: the repeat was scored as invented."""
    result, warnings = read(ARTICLE, {"incidents": [incident(), incident(summary="Twelve civilians were killed.")]})
    assert len(result.incidents) == 1
    assert warnings == [
        "dropped incidents[1]: repeats incidents[0] (the same passage, date and sub-event type): "
        "one record, the better supported kept"
    ]


def test_an_incident_retold_with_one_quote_in_common_and_no_toll_is_one_record() -> None:
    """A FA-KES mosque bombing (no count: a named imam) asked about sentence by sentence: each answer
    quoted the lead beside a sentence of its own, and each was scored as an invented record."""
    lead = "A bomb planted inside the Grand Mosque in Damascus went off on Friday killing the imam"
    text = f"{lead}. Five worshippers were wounded. The explosion caused much destruction."
    bombing = {
        "date": {"text": "on Friday"},
        "location": {"as_written": "Damascus"},
        "event_type": "Explosions/Remote violence",
        "sub_event_type": "Remote explosive/landmine/IED",
        "summary": "A bomb in the Grand Mosque.",
    }
    told = [bombing | {"evidence": [{"quote": lead}, {"quote": q}]} for q in text.split(". ")[1:]]

    with grounding(SourceText(text), lexicon=LEXICON, published="2015-07-03", model_answer=True):
        result = ConflictRecords.model_validate({"incidents": told})

    assert len(result.incidents) == 1


def test_of_two_repeats_the_one_whose_quotes_write_its_place_is_kept() -> None:
    region = incident(location={"as_written": "Syria", "admin1": "Syria"})
    result, _ = read(f"Syria. {ARTICLE}", {"incidents": [region, incident()]})
    assert [i.location.as_written for i in result.incidents] == ["Raqqa province"]


def test_a_repeat_fills_only_what_the_first_left_empty_so_no_count_is_added_twice() -> None:
    losses = [{"side": "civilians", "killed": 12, "evidence": [{"quote": QUOTE}]}]
    actors = [{"name": "Coalition", "type": "foreign_force"}]
    result, _ = read(ARTICLE, {"incidents": [incident(casualties=losses), incident(casualties=losses, actors=actors)]})
    [record] = result.incidents
    assert [c.killed for c in record.casualties] == [12]
    assert [a.name for a in record.actors] == ["Coalition"]


HIT = [{"quote": "The village was hit"}]  # names no weapon and no toll: the model's sub-event type stays


@pytest.mark.parametrize(
    ("first", "other"),
    [
        ({}, {"date": {"text": "8 October 2016"}}),
        ({"evidence": HIT}, {"evidence": HIT, "sub_event_type": "Shelling/artillery/missile attack"}),
        ({"evidence": HIT}, {"evidence": [{"quote": "air strikes on the village of al-Saleh"}]}),
    ],
    ids=["another date", "another sub-event type", "other quotes, neither with a toll"],
)
def test_incidents_that_differ_in_date_type_or_quotes_stay_two(first: dict[str, Any], other: dict[str, Any]) -> None:
    text = f"{ARTICLE} The village was hit on 8 October 2016 too."
    assert len(read(text, {"incidents": [incident(**first), incident(**other)]})[0].incidents) == 2


def told_again(dead: int) -> tuple[str, list[dict[str, Any]]]:
    """The article with a second sentence on its strike, and the strike written once per sentence."""
    again = f"Activists said the strikes on Raqqa province killed {dead} civilians"

    def strike(quote: str, killed: int) -> dict[str, Any]:
        losses = [{"side": "civilians", "killed": killed, "evidence": [{"quote": quote}]}]
        return incident(casualties=losses, evidence=[{"quote": quote}])

    return f"{ARTICLE} {again}.", [strike(QUOTE, 12), strike(again, dead)]


def test_an_incident_told_again_with_its_dead_and_no_other_date_or_place_is_one_record() -> None:
    """per-list-cued asked again about a sentence retelling the event it had found, and got it twice."""
    text, twice = told_again(12)
    result, warnings = read(text, {"incidents": twice})
    assert len(result.incidents) == 1
    assert warnings == [
        "dropped incidents[1]: repeats incidents[0] (the same event, told again with its toll): "
        "one record, the better supported kept"
    ]


def test_a_headline_lead_and_body_telling_one_toll_are_one_record_with_the_date_the_lead_states() -> None:
    """asharq-al-awsat: the headline, the dated lead and the body each came back as an incident, each its own type."""
    headline = "Six Killed in Aleppo Bombing"
    lead = "Posted on April 19 2017. Six people were killed in a blast that rocked Aleppo"
    body = "an explosive device went off in the northern city of Aleppo killing six people and wounding 30 others"
    text = f"{headline}. {lead}. State TV said {body}."

    def told(quote: str, sub_event_type: str, date: str = "") -> dict[str, Any]:
        return incident(
            date={"text": date},
            location={"as_written": "Aleppo"},
            sub_event_type=sub_event_type,
            casualties=[{"side": "people", "killed": 6, "evidence": [{"quote": quote}]}],
            evidence=[{"quote": quote}],
        )

    answer = {
        "incidents": [
            told(headline, "Remote explosive/landmine/IED"),
            told(lead, "Excessive force against protesters", "April 19 2017"),
            told(body, "Excessive force against protesters"),
        ]
    }
    result, _ = read(text, answer)
    [record] = result.incidents
    assert record.date.value == "2017-04-19"
    assert [c.killed for c in record.casualties] == [6]


def test_the_repeat_kept_without_a_date_takes_the_date_of_the_one_dropped() -> None:
    losses = [{"side": "civilians", "killed": 12, "evidence": [{"quote": QUOTE}]}]
    actors = [{"name": "Coalition", "type": "foreign_force"}]
    undated = incident(date={"text": ""}, casualties=losses, actors=actors)
    result, _ = read(ARTICLE, {"incidents": [undated, incident(casualties=losses)]})
    [record] = result.incidents
    assert ([a.name for a in record.actors], record.date.value) == (["Coalition"], "2017-10-08")


def test_tolls_of_two_places_are_two_incidents() -> None:
    text = "Strikes killed 6 people in Aleppo. Shelling killed 6 people in Hama."
    answer = {
        "incidents": [
            incident(
                date={"text": ""},
                location={"as_written": town},
                casualties=[{"side": "people", "killed": 6, "evidence": [{"quote": quote}]}],
                evidence=[{"quote": quote}],
            )
            for town, quote in (
                ("Aleppo", "Strikes killed 6 people in Aleppo"),
                ("Hama", "Shelling killed 6 people in Hama"),
            )
        ]
    }
    assert len(read(text, answer)[0].incidents) == 2


def test_an_incident_told_again_with_another_toll_of_the_same_type_and_place_is_one_record() -> None:
    """ahram-online: "21 killed as rebels shell election rally"; "It had initially given a toll of 22"."""
    text, twice = told_again(22)
    result, warnings = read(text, {"incidents": twice})
    assert [[c.killed for c in r.casualties] for r in result.incidents] in ([[12]], [[22]])
    assert warnings == [
        "dropped incidents[1]: repeats incidents[0] (the same event, told again with its toll): "
        "one record, the better supported kept"
    ]


def test_a_retelling_without_a_toll_joins_the_event_once_a_join_gave_it_its_type() -> None:
    """The seed: an IED with the clash's 2 dead, the clash itself, then "the battle of Jasim" without a toll."""
    toll = "The clashes in Jasim killed two people from the city"
    battle = "The battle of Jasim showed the regime's weakness"

    def told(quote: str, sub_event_type: str, place: str, killed: int | None) -> dict[str, Any]:
        losses = [{"side": "people", "killed": killed, "evidence": [{"quote": quote}]}] if killed else []
        return incident(
            date={"text": ""},
            location={"as_written": place},
            sub_event_type=sub_event_type,
            casualties=losses,
            evidence=[{"quote": quote}],
        )

    answer = {
        "incidents": [
            told(toll, "Remote explosive/landmine/IED", "", 2),
            told(battle, "Armed clash", "Jasim", None),
            told(toll, "Armed clash", "Jasim", 2),
        ]
    }
    result, warnings = read(f"{toll}. {battle}.", answer)
    assert [(r.sub_event_type.value, [c.killed for c in r.casualties]) for r in result.incidents] == [
        ("Armed clash", [2])
    ]
    assert len(warnings) == 2


def test_other_tolls_of_another_sub_event_type_stay_two() -> None:
    shelling = "Activists said shelling on Raqqa province killed 22 civilians"
    losses = [{"side": "civilians", "killed": 22, "evidence": [{"quote": shelling}]}]
    other = incident(
        sub_event_type="Shelling/artillery/missile attack", casualties=losses, evidence=[{"quote": shelling}]
    )
    text, (strike, _) = told_again(12)
    assert len(read(f"{text} {shelling}.", {"incidents": [strike, other]})[0].incidents) == 2


def test_an_undated_toll_and_a_tollless_clash_at_one_place_stay_two() -> None:
    """bbc-arabic: the day's attack in Tripoli (2 killed, no date) and "earlier this month" clashes there."""
    attack = "Gunmen stormed the oil company in Tripoli and two employees were killed"
    earlier = "Earlier this month clashes broke out between armed groups in Tripoli"

    def clash(quote: str, date: str, killed: int | None) -> dict[str, Any]:
        losses = [{"side": "employees", "killed": killed, "evidence": [{"quote": quote}]}] if killed else []
        return incident(
            date={"text": date},
            location={"as_written": "Tripoli"},
            sub_event_type="Armed clash",
            casualties=losses,
            evidence=[{"quote": quote}],
        )

    answer = {"incidents": [clash(attack, "", 2), clash(earlier, "Earlier this month", None)]}
    assert len(read(f"{attack}. {earlier}.", answer)[0].incidents) == 2


def test_other_tolls_in_two_neighbourhoods_of_one_city_stay_two() -> None:
    """ahram-online: two shellings of Aleppo the same day, each placed as written, both normalized "Aleppo"."""
    first = "Shells hit a government-held neighbourhood on 8 October 2017 killing 4 people"
    second = "Shells hit the southern edges of the city on 8 October 2017 killing 9 people"

    def shelling(quote: str, place: str, killed: int) -> dict[str, Any]:
        return incident(
            location={"as_written": place, "normalized": "Aleppo"},
            sub_event_type="Shelling/artillery/missile attack",
            casualties=[{"side": "people", "killed": killed, "evidence": [{"quote": quote}]}],
            evidence=[{"quote": quote}],
        )

    answer = {
        "incidents": [
            shelling(first, "a government-held neighbourhood", 4),
            shelling(second, "the southern edges of the city", 9),
        ]
    }
    assert len(read(f"{first}. {second}.", answer)[0].incidents) == 2


TWO_TOWNS = "Air strikes hit Douma and Harasta on Sunday, killing 12 civilians"


def test_two_places_the_shared_quote_writes_are_two_incidents() -> None:
    """ACLED codes one event per place: one sentence about strikes on two towns is two records."""
    strikes = [
        incident(location={"as_written": town}, date={"text": ""}, evidence=[{"quote": TWO_TOWNS}])
        for town in ("Douma", "Harasta")
    ]
    assert len(read(f"{TWO_TOWNS}.", {"incidents": strikes})[0].incidents) == 2


def test_a_place_inside_a_longer_word_is_not_a_second_place_of_the_quote() -> None:
    """asharq-al-awsat: "Syria" is not written in "Syrian Towns"; one headline told twice is one incident."""
    headline = "Six Killed in Aleppo Bombing as Evacuation of 4 Syrian Towns Resumes"
    tellings = [
        incident(location={"as_written": place}, date={"text": ""}, evidence=[{"quote": headline}])
        for place in ("Aleppo", "Syria")
    ]
    assert len(read(f"{headline}. It happened in Syria.", {"incidents": tellings})[0].incidents) == 1


def test_a_place_written_within_the_other_is_not_a_second_place_of_the_quote() -> None:
    """al-manar: one mosque bombing quoted once as in "Damascus", once as in "Syrias Damascus"."""
    quote = "A bomb planted inside the Grand Mosque in Syrias Damascus exploded on Friday"
    tellings = [
        incident(location={"as_written": place}, date={"text": "Friday"}, evidence=[{"quote": quote}])
        for place in ("Damascus", "Syrias Damascus")
    ]
    assert len(read(f"{quote}.", {"incidents": tellings})[0].incidents) == 1


MASYAF = (
    "Aziz Asbar was assassinated by a bomb under his car in the town of Masyaf in Hama. "
    "The Abu Amara battalion said it planted the bomb that killed Asbar in Masyaf."
)


def telling(
    quote: str, place: str, actor: str, kind: str = "rebels", sub_event_type: str = "Shelling/artillery/missile attack"
) -> dict[str, Any]:
    """An undated incident without a toll, as one sentence tells it."""
    return incident(
        date={"text": ""},
        location={"as_written": place},
        sub_event_type=sub_event_type,
        actors=[{"name": actor, "type": kind}],
        evidence=[{"quote": quote}],
    )


def assassination(quote: str, place: str, actor: str) -> dict[str, Any]:
    return telling(quote, place, actor, sub_event_type="Remote explosive/landmine/IED")


def test_one_undated_event_without_a_toll_told_in_two_paragraphs_by_place_and_actor_is_one_record() -> None:
    """bbc-arabic: an assassination told in the lead and again where its authors claim it (ACLED: one event)."""
    answer = {
        "incidents": [
            assassination(
                "Aziz Asbar was assassinated by a bomb under his car in the town of Masyaf in Hama",
                "the town of Masyaf in Hama",
                "Abu Amara battalion",
            ),
            assassination(
                "The Abu Amara battalion said it planted the bomb that killed Asbar in Masyaf",
                "Masyaf",
                "Abu Amara battalion",
            ),
        ]
    }
    result, warnings = read(MASYAF, answer)
    assert len(result.incidents) == 1
    assert warnings == [
        "dropped incidents[1]: repeats incidents[0] (the same event, one day, place and actor): "
        "one record, the better supported kept"
    ]


def test_a_telling_whose_place_the_other_telling_quotes_is_the_same_event() -> None:
    """alarabiya: locals said the Houthis keep shelling "near Hodeidah airport" (placed "محليون", the locals), and
    the next sentence, "the shells fall amid homes", placed near the airport: one shelling, told in two sentences."""
    first = "قال سكان محليون إن ميليشيات الحوثي تواصل إطلاق القذائف باتجاه قرية منظر في محيط مطار الحديدة"
    second = "وأوضح السكان أن القذائف الحوثية تتساقط وسط الأحياء السكنية"
    answer = {
        "incidents": [
            telling(first, "محليون", "ميليشيات الحوثي"),
            telling(second, "محيط مطار الحديدة", "ميليشيات الحوثي"),
        ]
    }
    result, warnings = read(f"{first}. {second}.", answer)
    assert [r.evidence[0].quote for r in result.incidents] == [first]
    assert warnings == [
        "dropped incidents[1]: repeats incidents[0] (the same event, one day, place and actor): "
        "one record, the better supported kept"
    ]


def test_two_undated_shellings_of_one_town_by_two_actors_stay_two() -> None:
    text = "Regime forces shelled the town of Masyaf in Hama. Rebel fighters shelled Masyaf too."
    answer = {
        "incidents": [
            telling("Regime forces shelled the town of Masyaf in Hama", "the town of Masyaf in Hama", "Regime forces"),
            telling("Rebel fighters shelled Masyaf too", "Masyaf", "Rebel fighters"),
        ]
    }
    assert len(read(text, answer)[0].incidents) == 2


def test_a_place_behind_an_arabic_conjunction_is_still_a_place_of_the_quote() -> None:
    """Harasta, written with و in front ("دوما وحرستا"), is the quote's second place."""
    quote = "غارات جوية على دوما وحرستا أمس"
    strikes = [
        incident(location={"as_written": town}, date={"text": ""}, evidence=[{"quote": quote}])
        for town in ("دوما", "حرستا")
    ]
    assert len(read(f"{quote}.", {"incidents": strikes})[0].incidents) == 2


def test_a_repeat_fills_an_outcome_the_first_left_unknown() -> None:
    text = "The two sides met in Raqqa and agreed a truce."
    truce = {"date": {"text": ""}, "summary": "A truce.", "evidence": [{"quote": text.rstrip(".")}]}
    result, _ = read(text, {"negotiations": [truce, truce | {"outcome": "agreement_reached"}]})
    assert [n.outcome.value for n in result.negotiations] == ["agreement_reached"]


def test_a_negotiation_linked_to_a_merged_repeat_points_at_the_record_kept() -> None:
    text = ARTICLE + " The two sides met in Raqqa and agreed a truce."
    truce = {
        "date": {"text": ""},
        "summary": "A truce.",
        "linked_incident": 1,
        "evidence": [{"quote": "The two sides met in Raqqa and agreed a truce"}],
    }
    result, _ = read(text, {"incidents": [incident(), incident()], "negotiations": [truce, truce]})
    assert len(result.incidents) == 1 and len(result.negotiations) == 1
    assert result.negotiations[0].linked_incident == 0


def test_a_dropped_record_is_named_in_the_results_warnings(server: ChatServer, make_extractor: MakeExtractor) -> None:
    sport = incident(location={"as_written": "Damascus"}, date={"text": ""})
    sport["evidence"] = [{"quote": "Syria's national team beat Iran 2-1 in Damascus on Tuesday"}]
    server.push(Reply.records({"incidents": [sport], "negotiations": [], "personnel_changes": []}))
    ex = make_extractor()

    result = ex.extract(ex.document(SPORT, published="2017-10-08"))

    assert result.incidents == []
    assert "dropped incidents[0]: no word of its quotes names a violent event" in result.provenance.warnings


def test_a_record_dropped_on_reading_is_logged_once_when_extracted_not_on_each_cache_hit(
    server: ChatServer, make_extractor: MakeExtractor, caplog: pytest.LogCaptureFixture
) -> None:
    sport = incident(location={"as_written": "Damascus"}, date={"text": ""})
    sport["evidence"] = [{"quote": "Syria's national team beat Iran 2-1 in Damascus on Tuesday"}]
    server.push(Reply.records({"incidents": [sport], "negotiations": [], "personnel_changes": []}))
    ex = make_extractor()
    doc = ex.document(SPORT, published="2017-10-08")

    with caplog.at_level(logging.WARNING, logger="llm_extract"):
        ex.extract(doc)
        ex.extract(doc)

    assert caplog.text.count("dropped incidents[0]: no word of its quotes names a violent event") == 1
    assert len(server.requests) == 1


FOUR = "Four civilians were killed including a child he said adding that 21 others were wounded"


def test_losses_quoted_as_four_civilians_killed_and_21_wounded_are_the_civilians_4_and_21() -> None:
    """Issue 15: such records came out with a side named "regime" and no counts."""
    with grounding(SourceText(f"Douma. {FOUR}."), lexicon=LEXICON, model_answer=True):
        losses = Casualties.model_validate({"side": "regime", "evidence": [{"quote": FOUR}]})
    assert (losses.side, losses.killed, losses.wounded) == ("civilians", 4, 21)


def test_a_side_its_quote_names_stays_as_the_model_wrote_it() -> None:
    quote = "Sputnik correspondent revealed that 15 people died including five policemen"
    with grounding(SourceText(f"Damascus. {quote}."), lexicon=LEXICON, model_answer=True):
        losses = Casualties.model_validate({"side": "policemen", "evidence": [{"quote": quote}]})
    assert losses.side == "policemen"


@pytest.mark.parametrize(
    ("side", "killed", "quote", "expected"),
    [
        ("Syrian rebels", 14, "A barrage of rocket fire from Syrian rebels killed at least 14 people", "people"),
        ("government forces", 1000, "accused government forces of killing well over 1000 civilians", "civilians"),
        ("evacuees", 120, "buses with evacuees from pro-regime areas killing over 120 mostly women", "evacuees"),
        ("قوات النظام", 5, "بينما قُتل خمسة عناصر لقوات النظام", "قوات النظام"),
        ("regime", 23, "23 civilians including nine children were killed in regime air raids", "civilians"),
        ("regime", 1, "one civilian was killed in a regime-held area of the divided city", "civilian"),
    ],
    ids=[
        "the killers named",
        "the accused named",
        "the dead named before the blast",
        "the dead named after",
        "the raids' owner named",
        "the place's holder named",
    ],
)
def test_a_side_the_quote_writes_as_the_killer_becomes_the_noun_it_counts(
    side: str, killed: int, quote: str, expected: str
) -> None:
    with grounding(SourceText(f"Syria. {quote}."), lexicon=LEXICON, model_answer=True):
        losses = Casualties.model_validate({"side": side, "killed": killed, "evidence": [{"quote": quote}]})
    assert (losses.side, losses.killed) == (expected, killed)


@pytest.mark.parametrize(
    ("quote", "expected"),
    [
        ("No casualties were reported, a military source said", (0, 0)),
        ("انفجرت العبوة دون وقوع إصابات", (0, 0)),
        ("No one was killed but three trucks burned", (0, None)),
        ("A number of soldiers were wounded", (None, None)),
    ],
    ids=["no casualties", "دون وقوع إصابات", "no one killed", "a number of wounded"],
)
def test_a_side_quoted_as_losing_no_one_lost_0_not_an_unknown_number(
    quote: str, expected: tuple[int | None, int | None]
) -> None:
    with grounding(SourceText(f"Nawa. {quote}."), lexicon=LEXICON, model_answer=True):
        losses = Casualties.model_validate({"side": "soldiers", "evidence": [{"quote": quote}]})
    assert (losses.killed, losses.wounded) == expected


@pytest.mark.parametrize(
    ("quote", "published", "expected"),
    [
        ("ووصل غريفيث السبت إلى صنعاء على أمل إقناع الحوثيين", "2018-06-17", ("السبت", "2018-06-16", "day")),
        ("Six people were killed on 8 October 2017 in Idlib", "2017-10-09", ("8 October", "2017-10-08", "day")),
        ("02.10.2017 Fifteen people died during an explosion", "2017-10-02", ("02.10.2017", "2017-10-02", "day")),
        ("raids on a market last Monday the first day", "2016-06-13", ("last Monday", "2016-06-06", "day")),
        ("في 15 من آذار الحالي هاجمت قوات النظام", "2022-03-20", ("15 من آذار", "2022-03-15", "day")),
        ("وفي وقت سابق من هذا الشهر، اندلعت اشتباكات", "2018-09-10", ("هذا الشهر", "2018-09", "month")),
        ("Clashes broke out last month in Tripoli", "2018-09-10", ("last month", "2018-08", "month")),
        # "next Monday" is to come, so only Friday dates the quote
        (
            "أفادت هيلي، الجمعة، بأن الأطراف اتفقت على فتح المعبر الاثنين المقبل",
            "2018-10-13",
            ("الجمعة", "2018-10-12", "day"),
        ),
    ],
)
def test_a_quote_states_the_one_date_its_words_give(quote: str, published: str, expected: tuple[str, str, str]) -> None:
    assert date_in(quote, published) == expected


@pytest.mark.parametrize(
    "quote",
    [
        "One soldier was killed on Monday and two on Tuesday",  # two dates
        "fighting since March 2011 has killed 5",  # a period, not the event
        "The talks will resume next Monday",  # to come
        "The talks will resume next month",  # to come
        "clashes since last month have killed 5",  # a period
        "Rebels shelled the town, killing 5",  # no date
    ],
)
def test_a_quote_with_two_dates_or_none_states_no_date(quote: str) -> None:
    assert date_in(quote, "2017-10-09") is None


def test_a_record_with_no_date_takes_the_date_its_own_quote_states_during_extraction() -> None:
    """The model wrote neither date words nor a value; the negotiation's quote dates it with the article's words."""
    text = "ووصل غريفيث السبت إلى صنعاء على أمل إقناع الحوثيين بتسليم المدينة. وقال إن المحادثات مستمرة."
    data = {
        "date": {"text": ""},
        "summary": "Griffiths held talks in Sanaa.",
        "evidence": [{"quote": "ووصل غريفيث السبت إلى صنعاء على أمل إقناع الحوثيين بتسليم المدينة"}],
    }
    with grounding(SourceText(text), lexicon=LEXICON, published="2018-06-17", model_answer=True):
        record = Negotiation.model_validate(data)
    assert (record.date.text, record.date.value, record.date.precision.value) == ("السبت", "2018-06-16", "day")


def test_outside_extraction_an_empty_date_stays_as_a_person_left_it() -> None:
    text = "ووصل غريفيث السبت إلى صنعاء على أمل إقناع الحوثيين بتسليم المدينة."
    data = {
        "date": {"text": ""},
        "summary": "Griffiths held talks in Sanaa.",
        "evidence": [{"quote": "ووصل غريفيث السبت إلى صنعاء على أمل إقناع الحوثيين بتسليم المدينة"}],
    }
    with grounding(SourceText(text), lexicon=LEXICON, published="2018-06-17"):
        record = Negotiation.model_validate(data)
    assert record.date.value is None


def test_a_date_written_outside_the_records_quotes_gives_way_to_the_one_they_state() -> None:
    """The model dated an air raid by the dateline; its own quote says "last Monday"."""
    text = (
        "12 June 2016. Dozens of civilians including children were killed in air raids on a market "
        "in eastern Syria last Monday the first day of Ramadan."
    )
    quote = "Dozens of civilians including children were killed in air raids on a market in eastern Syria last Monday"
    data = {
        "date": {"text": "12 June 2016"},
        "location": {"as_written": "eastern Syria"},
        "event_type": "Explosions/Remote violence",
        "sub_event_type": "Air/drone strike",
        "summary": "Air raids on a market killed dozens.",
        "evidence": [{"quote": quote}],
    }
    with grounding(SourceText(text), lexicon=LEXICON, published="2016-06-12", model_answer=True):
        record = Incident.model_validate(data)
    assert (record.date.text, record.date.value) == ("Monday", "2016-06-06")


def test_date_words_inside_the_records_quotes_stay_the_models() -> None:
    text = "On 12 June 2016 air raids hit a market in Idlib, a week after raids last Monday."
    quote = "On 12 June 2016 air raids hit a market in Idlib"
    data = {
        "date": {"text": "12 June 2016"},
        "location": {"as_written": "Idlib"},
        "event_type": "Explosions/Remote violence",
        "sub_event_type": "Air/drone strike",
        "summary": "Air raids hit a market.",
        "evidence": [{"quote": quote}],
    }
    with grounding(SourceText(text), lexicon=LEXICON, published="2016-06-13", model_answer=True):
        record = Incident.model_validate(data)
    assert (record.date.text, record.date.value) == ("12 June 2016", "2016-06-12")


def test_a_party_named_twice_is_one_party_with_the_representatives_of_both() -> None:
    """The seed's second look named اللواء الثامن twice as the talks' parties."""
    quote = "اجتمع وفد من اللواء الثامن مع ممثلين عن الفيلق الخامس لبحث وقف القتال في بصرى الشام"
    party = {"actor": {"name": "اللواء الثامن"}, "representatives": ["أحمد العودة"]}
    again = {"actor": {"name": "اللواء  الثامن"}, "representatives": ["أحمد العودة", "نسيم أبو عرة"]}
    negotiation = {"date": {"text": ""}, "parties": [party, again], "summary": "Talks.", "evidence": [{"quote": quote}]}
    text = f"{quote}. وقال أحمد العودة ونسيم أبو عرة إن الحرب انتهت."

    (talks,) = read(text, {"negotiations": [negotiation]})[0].negotiations

    assert [(p.actor.name, p.representatives) for p in talks.parties] == [
        ("اللواء الثامن", ["أحمد العودة", "نسيم أبو عرة"])
    ]


def actors_read(text: str, place: str, *names: str) -> list[str]:
    """The actors left of one incident at ``place`` whose answer names ``names``, as the engine reads it."""
    answer = {"incidents": [telling(text, place, names[0]) | {"actors": [{"name": n} for n in names]}]}
    result, _ = read(text, answer)
    return [actor.name for actor in result.incidents[0].actors]


def test_the_monitor_and_the_channel_that_tell_of_an_incident_are_not_its_actors() -> None:
    """ahram-online, asharq-al-awsat: "the Syrian Observatory for Human Rights said", "Syrian state TV said"."""
    text = "Regime forces shelled Douma, the Syrian Observatory for Human Rights and Syrian state TV said"
    assert actors_read(text, "Douma", "Syrian Observatory for Human Rights", "Regime forces", "Syrian state TV") == [
        "Regime forces"
    ]


def test_an_arabic_monitor_and_correspondent_are_not_actors_either() -> None:
    text = "قصفت قوات النظام مدينة دوما بحسب المرصد السوري لحقوق الإنسان ومراسل سكاي نيوز"
    assert actors_read(text, "دوما", "قوات النظام", "المرصد السوري لحقوق الإنسان", "مراسل سكاي نيوز") == ["قوات النظام"]


def test_a_party_whose_name_only_looks_like_a_source_stays() -> None:
    """Sanaa is no SANA, and an intelligence agency is no news agency."""
    text = "The Sanaa government and the Central Intelligence Agency shelled Douma"
    names = ("Sanaa government", "Central Intelligence Agency")
    assert actors_read(text, "Douma", *names) == list(names)


def test_a_country_written_in_arabic_is_given_its_english_name() -> None:
    """An ACLED export finds the ISO code by the English name: " اليمن" as the model wrote it would have none."""
    text = "انفجر لغم أرضي عند مدخل قرية منظر"
    with grounding(SourceText(text), lexicon=LEXICON, model_answer=True):
        location = Location.model_validate({"as_written": "قرية منظر", "country": " اليمن"})
    assert location.country == "Yemen"
