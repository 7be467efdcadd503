"""Honest is not empty: a count the record's own quote states is read from it, and only then.

The model often quotes "four civilians were killed … 21 others were wounded"
and leaves the counts null. During extraction such a count is read from the
quote; a vague or doubtful one stays unknown, and gold fixtures and reviewed
results keep the nulls a person chose.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from conftest import SEED, seed_reply
from llm_extract.schemas.conflict import COUNT_WORDS, LEXICON, Casualties, Incident

from llm_extract import Extractor
from llm_extract.grounding import SourceText, count_mentions, grounding
from llm_extract.testing import ChatServer, Reply

MakeExtractor = Callable[..., Extractor]


def counts(text: str) -> dict[str, int]:
    return {kind: m.value for kind, m in count_mentions(text, COUNT_WORDS, LEXICON).items()}


@pytest.mark.parametrize(
    ("quote", "expected"),
    [
        ("four civilians were killed and 21 others were wounded", {"killed": 4, "wounded": 21}),
        ("50 Civilians Killed by Coalition Airstrikes Against IS in Syria", {"killed": 50}),
        ("the death toll rose to thirty-five", {"killed": 35}),
        ("killed two people and wounded three", {"killed": 2, "wounded": 3}),
        ("أسفر القصف عن مقتل شخصين وإصابة ٣ آخرين", {"killed": 2, "wounded": 3}),
        ("قُتل خمسة عناصر لقوات النظام وعطب ستة آليات، وأسر ستة عناصر", {"killed": 5, "captured": 6}),
        ("ارتفعت حصيلة القتلى إلى 12 قتيلا", {"killed": 12}),
    ],
)
def test_a_count_is_read_next_to_the_word_that_says_what_it_counts(quote: str, expected: dict[str, int]) -> None:
    assert counts(quote) == expected


@pytest.mark.parametrize(
    "quote",
    [
        "a number of wounded were taken to hospital",
        "أسفرت الاشتباكات عن قتيلين وعدد من الجرحى",  # two killed, "a number of" wounded
        "dozens of people were wounded",
    ],
)
def test_a_vague_quantity_states_no_count(quote: str) -> None:
    assert "wounded" not in counts(quote)


def test_children_among_the_dead_are_not_the_wounded() -> None:
    assert counts("the names of 69 civilians killed including 19 children") == {"killed": 69}


def test_two_different_numbers_for_one_count_leave_it_unknown() -> None:
    assert counts("3 people were killed in Idlib. In Aleppo 5 people were killed") == {}


def test_a_year_is_not_a_count() -> None:
    assert counts("civilians killed in 2016") == {}


def test_a_null_count_is_read_from_its_own_quote_during_extraction(
    server: ChatServer, make_extractor: MakeExtractor
) -> None:
    reply = seed_reply()
    for side in reply["incidents"][0]["casualties"]:
        side.update(killed=None, captured=None)
    server.push(Reply.records(reply))

    result = make_extractor().extract(SEED, published="2022-03")

    sides = result.incidents[0].casualties
    assert [(s.killed, s.captured) for s in sides] == [(2, None), (5, 6)]
    assert len(server.requests) == 1  # read, not re-asked


def test_an_incident_quoted_with_its_toll_gets_that_side_even_when_the_model_listed_none() -> None:
    text = "50 Civilians Killed by Coalition Airstrikes Against IS in Syria. The strikes hit Raqqa."
    incident = {
        "date": {"text": ""},
        "location": {"as_written": "Raqqa"},
        "event_type": "Explosions/Remote violence",
        "sub_event_type": "Air/drone strike",
        "summary": "Coalition airstrikes killed 50 civilians.",
        "evidence": [{"quote": "50 Civilians Killed by Coalition Airstrikes Against IS in Syria"}],
    }
    with grounding(SourceText(text), lexicon=LEXICON, model_answer=True):
        record = Incident.model_validate(incident)

    [side] = record.casualties
    assert (side.side, side.killed, side.wounded) == ("Civilians", 50, None)
    assert side.evidence[0].start == 0


def test_outside_extraction_a_null_count_stays_as_a_person_chose_it() -> None:
    """Gold fixtures and reviewed results are validated without model_answer."""
    text = "four civilians were killed and 21 others were wounded"
    with grounding(SourceText(text), lexicon=LEXICON):
        side = Casualties.model_validate({"side": "civilians", "evidence": [{"quote": text}]})
    assert (side.killed, side.wounded) == (None, None)


def test_a_cached_answer_without_the_counts_reads_them_on_every_hit(
    server: ChatServer, make_extractor: MakeExtractor
) -> None:
    server.push(Reply.records(seed_reply()))
    ex = make_extractor()
    doc = ex.document(SEED, published="2022-03")
    ex.extract(doc)
    assert ex.cache is not None
    key = ex.cache_key(doc)
    stored = json.loads(ex.cache.get(key) or "")
    for side in stored["incidents"][0]["casualties"]:
        side.update(killed=None, captured=None)
    ex.cache.set(key, json.dumps(stored, ensure_ascii=False))  # an entry stored before counts were read

    for _ in range(2):
        sides = ex.extract(doc).incidents[0].casualties
        assert [(s.killed, s.captured) for s in sides] == [(2, None), (5, 6)]
    assert len(server.requests) == 1


def test_a_plural_that_looks_like_a_dual_is_no_count() -> None:
    """مدنيين is "two civilians" and "civilians" alike: "لعدد من الجرحى المدنيين" states no number."""
    assert counts("بالإضافة لعدد من الجرحى المدنيين") == {}


def test_the_cache_keeps_the_models_answer_and_counts_are_read_on_the_way_out(
    server: ChatServer, make_extractor: MakeExtractor
) -> None:
    """A better reader then needs no model call, and never meets a count an older reader wrote."""
    reply = seed_reply()
    reply["incidents"][0]["casualties"][1].update(killed=None, captured=None)
    server.push(Reply.records(reply))
    ex = make_extractor()
    doc = ex.document(SEED, published="2022-03")

    side = ex.extract(doc).incidents[0].casualties[1]

    assert ex.cache is not None
    stored = json.loads(ex.cache.get(ex.cache_key(doc)) or "")["incidents"][0]["casualties"][1]
    assert (stored["killed"], stored["captured"]) == (None, None)
    assert (side.killed, side.captured) == (5, 6)


def test_a_count_met_in_a_doubtful_shape_is_read_nowhere_in_that_quote() -> None:
    """The 43 injured follow "3 children and": a list; the one injured elsewhere is then no total either."""
    quote = (
        "4 people were killed including 3 children and 43 others were injured in rocket shells "
        "Meanwhile in Damascus city one person was injured by explosive rounds"
    )
    assert counts(quote) == {"killed": 4}
