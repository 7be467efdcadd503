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
        ("لقي 4 أشخاص مصرعهم فيما جرح سبعة آخرون", {"killed": 4, "wounded": 7}),  # "met their death"
        ("accused government forces of killing well over 1000 civilians", {"killed": 1000}),
        ("أن 139 مسلحا على الأقل قتلوا خلال المعارك", {"killed": 139}),  # "at least" after the noun
        ("مقتل 10 على الأقل في القصف", {"killed": 10}),
        ("12 people at least were killed", {"killed": 12}),
        ("12 well-armed fighters were killed", {"killed": 12}),
        # FA-KES: 31 of its 397 articles count the dead as terrorists, commanders or leaders
        ("Syrian army killed 11 terrorists in an attack on their positions in Deir Ezzor", {"killed": 11}),
        ("killing 5 terrorists injuring 15 others and destroying a 4WD vehicle", {"killed": 5, "wounded": 15}),
        ("has thwarted an attack by terrorists in Syrias Qalamoun region killing two commanders", {"killed": 2}),
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


@pytest.mark.parametrize("quote", ["No one was killed in the blast", "Not a single soldier was killed"])
def test_one_denied_is_no_count_of_one(quote: str) -> None:
    assert counts(quote) == {}


def test_children_among_the_dead_are_not_the_wounded() -> None:
    assert counts("the names of 69 civilians killed including 19 children") == {"killed": 69}


@pytest.mark.parametrize(
    ("quote", "expected"),
    [
        ("On Thursday 23 civilians including nine children were killed in regime air raids", 23),
        ("On Tuesday 11 people including six school children were killed in regime shelling", 11),
    ],
)
def test_the_dead_are_the_group_a_subset_is_part_of(quote: str, expected: int) -> None:
    """The gold's 23 was refused by a reader that took the nine children (the number next to the verb)."""
    assert counts(quote) == {"killed": expected}


def test_a_subset_of_a_vague_number_states_no_count() -> None:
    assert counts("Dozens including nine children were killed") == {}


def test_a_models_count_of_a_subset_becomes_the_count_its_quote_states() -> None:
    """The 1.5B model wrote killed=9 from "23 civilians including nine children were killed"."""
    quote = "On Thursday 23 civilians including nine children were killed in regime air raids"
    with grounding(SourceText(f"{quote}."), lexicon=LEXICON, model_answer=True) as ctx:
        losses = Casualties.model_validate({"side": "civilians", "killed": 9, "evidence": [{"quote": quote}]})
    assert losses.killed == 23
    assert "Casualties.killed=9 is not the killed count its quotes state (23); recorded as unknown" in ctx["warnings"]


def test_a_persons_count_stays_as_written_whatever_the_quote_reads() -> None:
    """Gold records are checked, not read: a stated number a person chose is theirs."""
    quote = "On Thursday 23 civilians including nine children were killed in regime air raids"
    with grounding(SourceText(f"{quote}."), lexicon=LEXICON):
        losses = Casualties.model_validate({"side": "children", "killed": 9, "evidence": [{"quote": quote}]})
    assert losses.killed == 9


def test_two_different_numbers_for_one_count_leave_it_unknown() -> None:
    assert counts("3 people were killed in Idlib. In Aleppo 5 people were killed") == {}


@pytest.mark.parametrize(
    "quote",
    [
        "ارتفع عدد الجرحى إلى 7 فيما لقي آخرون مصرعهم",  # the 7 are the wounded
        "نقل الجرحى إلى 3 مستشفيات بينما لقي آخرون مصرعهم",  # 3 hospitals
    ],
)
def test_a_number_of_another_clause_is_not_the_dead(quote: str) -> None:
    assert "killed" not in counts(quote)


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


@pytest.mark.parametrize(
    ("quote", "expected"),
    [
        ("Terrorist attacks kill 10 injure scores in Aleppo and Idleb", {"killed": 10}),
        ("4 killed 7 wounded", {"killed": 4, "wounded": 7}),
        ("killed 4 wounded 7", {"killed": 4, "wounded": 7}),
    ],
)
def test_a_number_between_two_counts_words_belongs_to_the_one_written_the_same_way(
    quote: str, expected: dict[str, int]
) -> None:
    """ "kill 10 injure scores": the 10 are the killed, and "scores" of wounded state no number."""
    assert counts(quote) == expected


FAKES_TOLL = "Terrorist attacks kill 10 injure scores in Aleppo and Idleb. Terrorists shelled civilians in Aleppo."


def incident(text_quote: str, casualties: list[dict[str, object]]) -> dict[str, object]:
    return {
        "date": {"text": ""},
        "location": {"as_written": "Aleppo"},
        "event_type": "Explosions/Remote violence",
        "sub_event_type": "Shelling/artillery/missile attack",
        "casualties": casualties,
        "summary": "Terrorist shelling killed 10 in Aleppo.",
        "evidence": [{"quote": text_quote}],
    }


def test_sides_listed_without_any_count_get_the_toll_the_incidents_quote_states() -> None:
    """Count-less sides named by the article's politics: the headline's toll is read, the other sides stay."""
    quote = "Terrorist attacks kill 10 injure scores in Aleppo and Idleb"
    side = {"evidence": [{"quote": "Terrorists shelled civilians in Aleppo"}]}
    data = incident(quote, [{"side": "Terrorists", **side}, {"side": "civilians", **side}])
    with grounding(SourceText(FAKES_TOLL), lexicon=LEXICON, model_answer=True):
        record = Incident.model_validate(data)

    assert [(s.side, s.killed, s.wounded) for s in record.casualties] == [
        ("unspecified", 10, None),
        ("Terrorists", None, None),
        ("civilians", None, None),
    ]


def test_a_side_written_again_word_for_word_is_one_entry_so_no_total_counts_it_twice() -> None:
    text = "Rocket shells hit al-Meridian in Aleppo injuring four other civilians."
    quote = "Rocket shells hit al-Meridian in Aleppo injuring four other civilians"
    side = {"side": "civilians", "wounded": 4, "evidence": [{"quote": quote}]}
    with grounding(SourceText(text), lexicon=LEXICON, model_answer=True):
        record = Incident.model_validate(incident(quote, [side, side, side, side]))

    assert [(s.side, s.wounded) for s in record.casualties] == [("civilians", 4)]


def test_a_side_stated_again_with_less_gives_way_to_the_fuller_entry() -> None:
    """The headline's "4 killed" and the body's "4 killed, 7 wounded" are one loss of the same people."""
    head = "مقتل 4 أشخاص وجرح آخرين في تاورغاء"
    body = "لقي 4 أشخاص مصرعهم فيما جرح سبعة آخرون إثر سقوط قذيفة على المخيم"
    sides = [
        {"side": "أشخاص", "killed": 4, "evidence": [{"quote": head}]},
        {"side": "أشخاص", "killed": 4, "wounded": 7, "evidence": [{"quote": body}]},
    ]
    with grounding(SourceText(f"Aleppo.\n{head}\n{body}."), lexicon=LEXICON, model_answer=True):
        record = Incident.model_validate(incident(body, sides))

    assert [(s.side, s.killed, s.wounded) for s in record.casualties] == [("أشخاص", 4, 7)]


def test_a_toll_told_twice_reads_the_noun_of_the_telling_that_names_one() -> None:
    """Of "Six Killed" and "Six people were killed" the mention is the people's, in every process (it was a
    set's first item, so the side a record came out with changed with the hash seed)."""
    mention = count_mentions("Six Killed in Aleppo Bombing. Six people were killed in a blast", COUNT_WORDS, LEXICON)
    assert (mention["killed"].value, mention["killed"].noun) == (6, "people")


def test_the_day_of_a_date_is_no_count() -> None:
    """ "Date of publication 12 June 2016 Dozens of civilians have been killed": the model wrote 12 killed."""
    quote = "Date of publication 12 June 2016 Dozens of civilians have been killed"
    with (
        grounding(SourceText(f"{quote}."), lexicon=LEXICON),
        pytest.raises(ValueError, match="killed=12 is not stated"),
    ):
        Casualties.model_validate({"side": "civilians", "killed": 12, "evidence": [{"quote": quote}]})


def test_a_number_the_quote_states_only_as_another_count_is_not_stated() -> None:
    """ "injuring one person" states 1, but as the wounded: killed=1 from it would be invented."""
    text = "Terrorists fired explosive rounds at al-Mazraa injuring one person."
    quote = "Terrorists fired explosive rounds at al-Mazraa injuring one person"
    with grounding(SourceText(text), lexicon=LEXICON), pytest.raises(ValueError, match="killed=1 is the wounded count"):
        Casualties.model_validate({"side": "person", "killed": 1, "wounded": 1, "evidence": [{"quote": quote}]})


def test_a_number_stated_as_another_count_stands_when_the_quote_also_names_its_own() -> None:
    """Six captured "whose release followed": the six are the released too."""
    quote = "وأسر ستة عناصر أُطلق سراحهم بعد الاجتماع"
    with grounding(SourceText(quote), lexicon=LEXICON):
        side = Casualties.model_validate(
            {"side": "قوات النظام", "captured": 6, "released": 6, "evidence": [{"quote": quote}]}
        )
    assert (side.captured, side.released) == (6, 6)


WRONG_SENTENCE = (
    "Mortar fire hit a rally in Daraa and wounded at least 30 people. "
    "21 people were killed in the attack, the Observatory said."
)


def test_a_count_quoted_by_the_wrong_sentence_is_kept_with_the_sentence_that_states_it(
    server: ChatServer, make_extractor: MakeExtractor
) -> None:
    """The model's 21 killed, quoted by the sentence of the 30 wounded: one request, the toll kept and quoted."""
    wrong = "Mortar fire hit a rally in Daraa and wounded at least 30 people"
    side = {"side": "people", "killed": 21, "wounded": 30, "evidence": [{"quote": wrong}]}
    reply = {"incidents": [incident(wrong, [side])], "negotiations": [], "personnel_changes": []}
    reply["incidents"][0]["location"] = {"as_written": "Daraa"}
    server.push(Reply.records(reply))

    result = make_extractor(max_reasks=0).extract(WRONG_SENTENCE, published="2014-05-23")

    [kept] = result.incidents[0].casualties
    assert (kept.killed, kept.wounded) == (21, 30)
    added = kept.evidence[-1]
    assert WRONG_SENTENCE[added.start : added.end] == added.quote and "21 people were killed" in added.quote
    assert any("killed=21" in w and "kept" in w for w in result.provenance.warnings)
    assert len(server.requests) == 1


def test_a_count_no_passage_states_for_its_kind_is_still_unknown(
    server: ChatServer, make_extractor: MakeExtractor
) -> None:
    """The 30 are the wounded: killed=30 finds no passage of killed 30, so it is not kept."""
    wrong = "Mortar fire hit a rally in Daraa and wounded at least 30 people"
    side = {"side": "people", "killed": 30, "evidence": [{"quote": wrong}]}
    reply = {"incidents": [incident(wrong, [side])], "negotiations": [], "personnel_changes": []}
    reply["incidents"][0]["location"] = {"as_written": "Daraa"}
    server.push(Reply.records(reply))

    result = make_extractor(max_reasks=0).extract(WRONG_SENTENCE, published="2014-05-23")

    [side_read] = result.incidents[0].casualties
    assert (side_read.killed, side_read.wounded) == (None, 30)
    assert any("killed=30" in w and "unknown" in w for w in result.provenance.warnings)


def test_a_cached_count_a_stricter_reader_refuses_is_read_as_unknown_with_a_warning(
    server: ChatServer, make_extractor: MakeExtractor
) -> None:
    """An answer stored before the reader knew "injuring one person" is no death: unknown, said once, no call.

    A misread number is not mended with another passage that happens to state it (the death in Aleppo).
    """
    text = (
        "Terrorists fired explosive rounds at al-Mazraa in Damascus injuring one person. "
        "Earlier shelling killed one person in Aleppo."
    )
    quote = "Terrorists fired explosive rounds at al-Mazraa in Damascus injuring one person"
    side = {"side": "person", "wounded": 1, "evidence": [{"quote": quote}]}
    reply = {"incidents": [incident(quote, [side])], "negotiations": [], "personnel_changes": []}
    reply["incidents"][0]["location"] = {"as_written": "Damascus"}
    server.push(Reply.records(reply))
    ex = make_extractor()
    doc = ex.document(text, published="2016-11-28")
    ex.extract(doc)
    assert ex.cache is not None
    key = ex.cache_key(doc)
    stored = json.loads(ex.cache.get(key) or "")
    stored["incidents"][0]["casualties"][0]["killed"] = 1  # what an older reader let through
    ex.cache.set(key, json.dumps(stored, ensure_ascii=False))

    result = ex.extract(doc)

    assert [(s.killed, s.wounded) for s in result.incidents[0].casualties] == [(None, 1)]
    assert any("killed=1 is the wounded count" in w for w in result.provenance.warnings)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "quote",
    [
        "Dozens of people were killed 5 injured in Aleppo",  # the killed are "dozens"; the 5 are injured
        "Many people were killed 12 wounded in the attack",
        "سقوط عدد من القتلى 7 جرحى",
    ],
)
def test_a_number_after_a_vague_or_passive_count_is_not_that_counts(quote: str) -> None:
    assert "killed" not in counts(quote)


def test_a_number_written_twice_may_be_two_counts_even_in_words_the_list_lacks() -> None:
    """حتفهم ("met their end") is no word of the killed list, but the first 3 are the dead."""
    quote = "لقي 3 أشخاص حتفهم وأصيب 3 آخرون"
    with grounding(SourceText(quote), lexicon=LEXICON):
        side = Casualties.model_validate({"side": "أشخاص", "killed": 3, "wounded": 3, "evidence": [{"quote": quote}]})
    assert (side.killed, side.wounded) == (3, 3)


def test_a_record_with_every_quote_it_may_hold_gets_no_more_and_its_number_is_unknown() -> None:
    """A stored answer must validate again when read: a fifth quote would make it unreadable."""
    quotes = [
        "Mortar fire hit a rally in Daraa",
        "The Observatory reported the attack",
        "Rebels claimed the shelling",
        "The rally was for the election",
    ]
    text = ". ".join([*quotes, "21 people were killed in the attack"]) + "."
    data = {"side": "people", "killed": 21, "evidence": [{"quote": q} for q in quotes]}
    with grounding(SourceText(text), lexicon=LEXICON, unstated_numbers="unknown"):
        side = Casualties.model_validate(data)
    assert side.killed is None and len(side.evidence) == 4
    with grounding(SourceText(text), lexicon=LEXICON, model_answer=True):
        assert len(Casualties.model_validate(side.model_dump()).evidence) == 4


def test_one_toll_written_for_every_side_under_one_quote_is_counted_once() -> None:
    """4 × 43 killed, each side quoted by the one passage that states 43 dead, summed to 172: one entry."""
    text = "US warplanes bombed Manbij in Aleppo leaving 43 civilians dead. The raids hit a market."
    toll = "US warplanes bombed Manbij in Aleppo leaving 43 civilians dead"
    sides = [
        {"side": name, "killed": 43, "evidence": [{"quote": toll}, {"quote": "The raids hit a market"}][: 1 + i % 2]}
        for i, name in enumerate(("civilians", "US warplanes", "victims"))
    ]
    with grounding(SourceText(text), lexicon=LEXICON, model_answer=True):
        record = Incident.model_validate(incident(toll, sides))
    assert [(s.side, s.killed) for s in record.casualties] == [("civilians", 43)]


def test_equal_counts_of_two_sides_quoted_apart_stay_two() -> None:
    text = "Two soldiers were killed in Aleppo. Two rebels were killed near the town."
    sides = [
        {"side": "soldiers", "killed": 2, "evidence": [{"quote": "Two soldiers were killed in Aleppo"}]},
        {"side": "rebels", "killed": 2, "evidence": [{"quote": "Two rebels were killed near the town"}]},
    ]
    with grounding(SourceText(text), lexicon=LEXICON, model_answer=True):
        record = Incident.model_validate(incident("Two soldiers were killed in Aleppo", sides))
    assert [(s.side, s.killed) for s in record.casualties] == [("soldiers", 2), ("rebels", 2)]


def test_two_groups_one_passage_counts_apart_stay_two_sides() -> None:
    """ "At least two employees and two gunmen were killed": equal counts, one quote, two groups."""
    quote = "إن اثنين على الأقل من العاملين بالمؤسسة واثنين من المسلحين قتلوا"
    text = quote + " في طرابلس."
    sides = [
        {"side": "العاملين بالمؤسسة", "killed": 2, "evidence": [{"quote": quote}]},
        {"side": "المسلحين", "killed": 2, "evidence": [{"quote": quote}]},
    ]
    data = incident(quote, sides)
    data["location"] = {"as_written": "طرابلس"}
    with grounding(SourceText(text), lexicon=LEXICON, model_answer=True):
        record = Incident.model_validate(data)
    assert [(s.side, s.killed) for s in record.casualties] == [("العاملين بالمؤسسة", 2), ("المسلحين", 2)]
