"""Strategies: how a document becomes model calls, each run against the real test server.

A small task of its own (clashes with a death toll, people moved to new
posts) keeps the scripted answers short; the engine, instructor, grounding,
the merge and the server's request log are the real ones.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import write_config
from pydantic import BaseModel, Field, ValidationInfo, model_validator

from llm_extract import BackendError, ConfigError, Extractor, load_config
from llm_extract.config import EmbeddedBackendConfig, OpenAICompatibleBackendConfig
from llm_extract.grounding import ArticleSpan, Count, Evidence, GroundedRecord, context_of
from llm_extract.strategies.detect import sentences
from llm_extract.task import Task
from llm_extract.testing import ChatServer, RecordedRequest, Reply

# --- the task -----------------------------------------------------------------------------


class Claim(BaseModel):
    destination: str
    source: str
    evidence: list[Evidence] = Field(min_length=1, max_length=2)


class Move(BaseModel):
    """A person moved to a new post."""

    person: str
    claims: list[Claim] = Field(min_length=1, max_length=4)
    evidence: list[Evidence] = Field(min_length=1, max_length=2)


class Clash(GroundedRecord):
    """A fight between armed groups."""

    place: str
    killed: Count = None
    evidence: list[Evidence] = Field(min_length=1, max_length=2)


class Records(BaseModel):
    clashes: list[Clash] = Field(default_factory=list, max_length=4)
    moves: list[Move] = Field(default_factory=list, max_length=4)


TASK = Task.define(
    "moves",
    Records,
    system="List the clashes and the moves the article reports, as JSON. Quote it exactly.",
    user="Article {{ doc_id }}:\n<{{ boundary }}>\n{{ text }}\n</{{ boundary }}>",
    merge_keys={"moves": ("person", "claims")},
)

FIGHT = "Fighting broke out in Jasim on Monday."
TOLL = "Two fighters were killed in the clashes."
WEATHER = "The weather was mild."
DAMASCUS = "Colonel Saqr was moved to Damascus, a local source said."
QAMISHLI = "Another group said Saqr was moved to Qamishli."
ARTICLE = " ".join([FIGHT, TOLL, WEATHER, DAMASCUS, WEATHER.replace("mild", "cold"), QAMISHLI])
LABELS = ["clashes", "clashes", "none", "moves", "none", "moves"]


def clash(quote: str = TOLL, killed: int | None = 2) -> dict[str, Any]:
    return {"place": "Jasim", "killed": killed, "evidence": [{"quote": quote}]}


def claim(where: str) -> dict[str, Any]:
    quote = DAMASCUS.split(",")[0] if where == "Damascus" else QAMISHLI
    return {"destination": where, "source": "a local source", "evidence": [{"quote": quote}]}


def move(*places: str, quote: str = DAMASCUS) -> dict[str, Any]:
    return {"person": "Saqr", "claims": [claim(p) for p in places], "evidence": [{"quote": quote}]}


def extractor(tmp_path: Path, server: ChatServer, **backend: Any) -> Extractor:
    config = load_config(write_config(tmp_path / "c.toml", server.url, cache_dir=tmp_path / "cache", **backend))
    return Extractor(config, task=TASK, cache=False)


def schema_of(request: RecordedRequest) -> dict[str, Any]:
    """The JSON schema instructor sent (TOOLS mode, the server default)."""
    params: dict[str, Any] = request.body["tools"][0]["function"]["parameters"]
    return params


def is_detection(request: RecordedRequest) -> bool:
    return "labels" in schema_of(request).get("properties", {})


def article_of(request: RecordedRequest) -> str:
    """The article text the request shows (the last user message holding an article block)."""
    return next(m["content"] for m in reversed(request.messages) if "<ARTICLE-" in str(m.get("content")))


# --- choosing a strategy ------------------------------------------------------------------


def test_default_strategy_is_one_call_for_servers_and_per_list_cued_for_the_embedded_model() -> None:
    server = OpenAICompatibleBackendConfig(kind="openai-compatible", model="m", base_url="http://127.0.0.1:1/v1")
    assert server.default_strategy() == "one-call"
    assert EmbeddedBackendConfig(kind="embedded").default_strategy() == "per-list-cued"
    assert EmbeddedBackendConfig(kind="embedded", steps=False).default_strategy() == "one-call"
    assert EmbeddedBackendConfig(kind="embedded", strategy="detect-then-fill").default_strategy() == "detect-then-fill"


def test_unknown_strategy_is_one_config_error_naming_the_known_ones(tmp_path: Path, server: ChatServer) -> None:
    with pytest.raises(ConfigError, match=r"strategy: unknown strategy 'guess'; use one of: .*detect-then-fill"):
        extractor(tmp_path, server, strategy="guess")


def test_a_new_strategy_is_one_registered_class(tmp_path: Path, server: ChatServer) -> None:
    from llm_extract.strategies import STRATEGIES, Job, Strategy, register_strategy

    @register_strategy
    class FirstSentenceOnly(Strategy):
        """Asks about the first sentence only (a toy, to show the plumbing)."""

        name = "first-sentence-only"

        async def extract(self, job: Job) -> BaseModel:
            return await job.ask(job.task.schema, job.messages(job.text.split(". ")[0]))

    server.push(Reply.records({"clashes": [], "moves": []}))
    try:
        with extractor(tmp_path, server, strategy="first-sentence-only") as ex:
            ex.extract(ARTICLE, doc_id="a")
    finally:
        del STRATEGIES["first-sentence-only"]

    (request,) = server.requests
    assert FIGHT.rstrip(".") in request.text and TOLL not in request.text


def test_strategy_is_part_of_the_cache_key(tmp_path: Path, server: ChatServer) -> None:
    with extractor(tmp_path, server) as one, extractor(tmp_path, server, strategy="per-list") as per_list:
        doc = one.document(ARTICLE, doc_id="a")
        assert one.cache_key(doc) != per_list.cache_key(doc)


# --- one call, one call per list ----------------------------------------------------------


def test_one_call_asks_for_every_list_in_one_request(tmp_path: Path, server: ChatServer) -> None:
    server.push(Reply.records({"clashes": [clash()], "moves": [move("Damascus")]}))
    with extractor(tmp_path, server, strategy="one-call") as ex:
        result = ex.extract(ARTICLE, doc_id="a")

    (request,) = server.requests
    assert set(schema_of(request)["properties"]) == {"clashes", "moves"}
    assert result.clashes[0].killed == 2 and result.moves[0].person == "Saqr"


def test_one_call_compact_sends_the_schema_without_titles_or_descriptions(tmp_path: Path, server: ChatServer) -> None:
    server.push(Reply.records({"clashes": [clash()], "moves": []}))
    with extractor(tmp_path, server, strategy="one-call-compact") as ex:
        result = ex.extract(ARTICLE, doc_id="a")

    (request,) = server.requests
    sent = json.dumps(schema_of(request))
    assert '"description"' not in sent and '"title"' not in sent
    assert set(schema_of(request)["properties"]) == {"clashes", "moves"}
    assert result.clashes[0].killed == 2  # validated against the full schema, grounded as always


def test_per_list_asks_one_request_per_list_after_the_same_prompt(tmp_path: Path, server: ChatServer) -> None:
    server.push(Reply.records({"clashes": [clash()]}), Reply.records({"moves": [move("Damascus")]}))
    with extractor(tmp_path, server, strategy="per-list") as ex:
        result = ex.extract(ARTICLE, doc_id="a")

    first, second = server.requests
    assert list(schema_of(first)["properties"]) == ["clashes"]
    assert list(schema_of(second)["properties"]) == ["moves"]
    assert first.messages[:2] == second.messages[:2]  # the shared prefix a local model evaluates once
    assert 'Now write only "moves"' in second.messages[-1]["content"]
    assert len(result.clashes) == 1 and len(result.moves) == 1


CUT_IN_FIRST_RECORD = '{"clashes": [{"place": "Jasim", "evidence": [{"quote": "Fighting broke'
"""A small model looping inside its first record until max_tokens."""


def cut_off(text: str = CUT_IN_FIRST_RECORD) -> Reply:
    return Reply("json", text, headers={"x-finish-reason": "length"})


def test_per_list_keeps_the_other_lists_when_one_answer_is_cut_off_before_its_first_record(
    tmp_path: Path, server: ChatServer
) -> None:
    server.push(cut_off(), Reply.records({"moves": [move("Damascus")]}))
    with extractor(tmp_path, server, strategy="per-list", max_reasks=0) as ex:
        result = ex.extract(ARTICLE, doc_id="a")

    assert len(server.requests) == 2
    assert result.clashes == [] and [m.person for m in result.moves] == ["Saqr"]
    assert any(
        w.startswith("set clashes empty: the answer was cut off at max_tokens=") for w in result.provenance.warnings
    )


def test_per_list_fails_the_document_when_every_list_is_cut_off(tmp_path: Path, server: ChatServer) -> None:
    server.push(cut_off(), cut_off('{"moves": [{"person": "Saq'))
    with (
        extractor(tmp_path, server, strategy="per-list", max_reasks=0) as ex,
        pytest.raises(BackendError, match=r"cut off at max_tokens="),
    ):
        ex.extract(ARTICLE, doc_id="a")

    assert len(server.requests) == 2


# --- per list, then the cued sentences no record quotes -----------------------------------


def mentions_a_fight(sentence: str) -> bool:
    return "killed" in sentence or "Fighting" in sentence


CUED = dataclasses.replace(TASK, cues={"clashes": mentions_a_fight})


def cued_extractor(tmp_path: Path, server: ChatServer) -> Extractor:
    config = load_config(write_config(tmp_path / "c.toml", server.url, strategy="per-list-cued"))
    return Extractor(config, task=CUED, cache=False)


def test_per_list_cued_asks_once_more_about_a_cued_sentence_no_record_quotes(
    tmp_path: Path, server: ChatServer
) -> None:
    server.push(
        Reply.records({"clashes": [clash(FIGHT, killed=None)]}),
        Reply.records({"moves": [move("Damascus")]}),
        Reply.records({"clashes": [clash(TOLL, killed=2)]}),
    )
    with cued_extractor(tmp_path, server) as ex:
        result = ex.extract(ARTICLE, doc_id="a")

    first, _, fill = server.requests
    assert fill.messages[:2] == first.messages[:2]  # the article a local model has already read
    assert fill.messages[-1]["content"].endswith(f"The sentence: {TOLL}")
    assert schema_of(fill)["properties"]["clashes"]["maxItems"] == 1
    assert [(c.evidence[0].quote, c.killed) for c in result.clashes] == [(FIGHT, None), (TOLL, 2)]


def test_per_list_cued_gives_a_list_the_model_left_empty_no_second_look(tmp_path: Path, server: ChatServer) -> None:
    server.push(Reply.records({"clashes": []}), Reply.records({"moves": []}))
    with cued_extractor(tmp_path, server) as ex:
        result = ex.extract(ARTICLE, doc_id="a")

    assert len(server.requests) == 2 and result.clashes == []


def states_a_toll(sentence: str) -> bool:
    return "killed" in sentence


def test_per_list_cued_asks_a_list_the_model_left_empty_only_about_sentences_its_empty_list_cue_passes(
    tmp_path: Path, server: ChatServer
) -> None:
    server.push(Reply.records({"clashes": []}), Reply.records({"moves": []}), Reply.records({"clashes": [clash(TOLL)]}))
    config = load_config(write_config(tmp_path / "c.toml", server.url, strategy="per-list-cued"))
    task = dataclasses.replace(CUED, empty_list_cues={"clashes": states_a_toll})
    with Extractor(config, task=task, cache=False) as ex:
        result = ex.extract(ARTICLE, doc_id="a")

    assert len(server.requests) == 3  # FIGHT is cued, but names no toll: only TOLL is asked about
    assert server.requests[2].messages[-1]["content"].endswith(f"The sentence: {TOLL}")
    assert [(c.evidence[0].quote, c.killed) for c in result.clashes] == [(TOLL, 2)]


class ReadRecords(Records):
    """The moves task with a reader, as a domain has: a clash placed nowhere is dropped on the way out."""

    @model_validator(mode="after")
    def _drop_nowhere(self, info: ValidationInfo) -> ReadRecords:
        ctx = context_of(info)
        if ctx and ctx.get("model_answer"):
            self.clashes = [c for c in self.clashes if c.place != "nowhere"]
        return self


def test_per_list_cued_gives_no_second_look_to_a_list_whose_records_the_reader_drops(
    tmp_path: Path, server: ChatServer
) -> None:
    server.push(
        Reply.records({"clashes": [clash(FIGHT, killed=None) | {"place": "nowhere"}]}), Reply.records({"moves": []})
    )
    config = load_config(write_config(tmp_path / "c.toml", server.url, strategy="per-list-cued"))
    task = dataclasses.replace(CUED, schema=ReadRecords)
    with Extractor(config, task=task, cache=False) as ex:
        result = ex.extract(ARTICLE, doc_id="a")

    assert len(server.requests) == 2 and result.clashes == []


def test_per_list_cued_skips_the_title_and_asks_about_at_most_three_sentences(
    tmp_path: Path, server: ChatServer
) -> None:
    tolls = [f"{n} fighters were killed in Jasim." for n in ("Two", "Three", "Four", "Five")]
    article = "Fighting in Jasim\n" + " ".join([FIGHT, *tolls])
    server.push(Reply.records({"clashes": [clash(FIGHT, killed=None)]}), Reply.records({"moves": []}))
    server.push(*[Reply.records({"clashes": []}) for _ in range(3)])
    with cued_extractor(tmp_path, server) as ex:
        ex.extract(article, doc_id="a")

    asked = [r.messages[-1]["content"].split("The sentence: ")[-1] for r in server.requests[2:]]
    assert asked == tolls[:3]


def test_per_list_cued_asks_no_more_than_the_list_has_room_for(tmp_path: Path, server: ChatServer) -> None:
    tolls = [f"{n} fighters were killed in Jasim." for n in ("Two", "Three", "Four")]
    three = [clash(FIGHT, killed=None) | {"place": place} for place in ("Jasim", "Nawa", "Inkhil")]
    server.push(Reply.records({"clashes": three}), Reply.records({"moves": []}), Reply.records({"clashes": []}))
    with cued_extractor(tmp_path, server) as ex:
        ex.extract(" ".join([FIGHT, *tolls]), doc_id="a")

    assert len(server.requests) == 3  # clashes holds 4: one of the three toll sentences asked about


# --- per list-cued: one more look at a record that leaves out what the task wants ----------


class Talks(BaseModel):
    """A meeting between parties."""

    place: ArticleSpan | None = None
    parties: list[ArticleSpan] = Field(default_factory=list, max_length=4)
    summary: str = ""
    evidence: list[Evidence] = Field(min_length=1, max_length=2)


class TalkRecords(BaseModel):
    talks: list[Talks] = Field(default_factory=list, max_length=4)
    moves: list[Move] = Field(default_factory=list, max_length=4)


MEETING = "Elders of Jasim met the security committee in Sanamayn on Tuesday."
TALKS_ARTICLE = " ".join([FIGHT, WEATHER, MEETING, WEATHER.replace("mild", "cold")])
WANTING = dataclasses.replace(
    TASK, name="talks", schema=TalkRecords, merge_keys={}, wanted={"talks": ("place", "parties")}
)


def talks_extractor(tmp_path: Path, server: ChatServer) -> Extractor:
    config = load_config(write_config(tmp_path / "c.toml", server.url, strategy="per-list-cued"))
    return Extractor(config, task=WANTING, cache=False)


def test_per_list_cued_asks_a_record_for_the_fields_it_left_out_shown_only_its_own_sentence(
    tmp_path: Path, server: ChatServer
) -> None:
    bare = {"summary": "a meeting", "evidence": [{"quote": MEETING}]}
    server.push(
        Reply.records({"talks": [bare]}),
        Reply.records({"moves": []}),
        Reply.records({"place": "Sanamayn", "parties": ["Elders of Jasim", "the security committee"]}),
    )
    with talks_extractor(tmp_path, server) as ex:
        result = ex.extract(TALKS_ARTICLE, doc_id="a")

    first, _, again = server.requests
    assert again.messages[:2] == first.messages[:2]  # the article a local model has already read
    assert again.messages[-1]["content"].endswith(f"It quotes these sentences: {MEETING}")
    assert set(schema_of(again)["required"]) == set(schema_of(again)["properties"]) == {"place", "parties"}
    assert schema_of(again)["properties"]["parties"]["minItems"] == 1
    (talk,) = result.talks
    assert (talk.place, talk.parties, talk.evidence[0].quote) == (
        "Sanamayn",
        ["Elders of Jasim", "the security committee"],
        MEETING,
    )


def test_the_second_looks_come_after_the_cued_calls_and_a_record_a_cued_call_found_gets_one(
    tmp_path: Path, server: ChatServer
) -> None:
    """Last, so the calls before them are a task's that wants nothing: a local model's answers depend on them."""
    again = "Elders of Nawa met the committee in Inkhil on Friday."
    config = load_config(write_config(tmp_path / "c.toml", server.url, strategy="per-list-cued"))
    task = dataclasses.replace(WANTING, cues={"talks": lambda sentence: " met " in sentence})
    server.push(
        Reply.records({"talks": [{"summary": "a meeting", "evidence": [{"quote": MEETING}]}]}),
        Reply.records({"moves": []}),
        Reply.records({"talks": [{"summary": "another", "evidence": [{"quote": again}]}]}),
        Reply.records({"place": "Sanamayn", "parties": ["Elders of Jasim"]}),
        Reply.records({"place": "Inkhil", "parties": ["Elders of Nawa"]}),
    )
    with Extractor(config, task=task, cache=False) as ex:
        result = ex.extract(f"{TALKS_ARTICLE} {again}", doc_id="a")

    cued, first_look, second_look = (r.messages[-1]["content"] for r in server.requests[2:])
    assert cued.endswith(f"The sentence: {again}")
    assert first_look.endswith(f"It quotes these sentences: {MEETING}")
    assert second_look.endswith(f"It quotes these sentences: {again}")
    assert [(t.place, t.parties) for t in result.talks] == [
        ("Sanamayn", ["Elders of Jasim"]),
        ("Inkhil", ["Elders of Nawa"]),
    ]


def test_a_record_whose_second_look_names_what_the_article_does_not_write_stays_as_it_was(
    tmp_path: Path, server: ChatServer
) -> None:
    bare = {"summary": "a meeting", "evidence": [{"quote": MEETING}]}
    server.push(
        Reply.records({"talks": [bare]}),
        Reply.records({"moves": []}),
        Reply.records({"place": "Geneva", "parties": ["Elders of Jasim"]}),
    )
    with talks_extractor(tmp_path, server) as ex:
        result = ex.extract(TALKS_ARTICLE, doc_id="a")

    assert len(server.requests) == 3  # no re-ask of the second look
    (talk,) = result.talks
    assert (talk.place, talk.parties) == (None, [])


def test_a_record_that_gives_every_wanted_field_gets_no_second_look(tmp_path: Path, server: ChatServer) -> None:
    whole = {"place": "Sanamayn", "parties": ["Elders of Jasim"], "evidence": [{"quote": MEETING}]}
    server.push(Reply.records({"talks": [whole]}), Reply.records({"moves": []}))
    with talks_extractor(tmp_path, server) as ex:
        result = ex.extract(TALKS_ARTICLE, doc_id="a")

    assert len(server.requests) == 2 and result.talks[0].place == "Sanamayn"


def test_a_task_wanting_a_field_its_records_do_not_have_is_one_config_error() -> None:
    with pytest.raises(ConfigError, match="wanted\\['talks'\\] names no field 'venue'"):
        dataclasses.replace(WANTING, wanted={"talks": ("venue",)})


# --- detect, then fill --------------------------------------------------------------------


def detect_then_fill(request: RecordedRequest) -> Reply:
    """Labels for the detection call; for each fill, the records its sentences report."""
    if is_detection(request):
        return Reply.records({"labels": LABELS})
    shown = article_of(request)
    if FIGHT in shown:
        return Reply.records({"clashes": [clash()]})
    if DAMASCUS in shown:
        return Reply.records({"moves": [move("Damascus", "Qamishli")]})
    # The same person again, from the other sentence, with the claims in another order.
    return Reply.records({"moves": [move("Qamishli", "Damascus", quote=QAMISHLI)]})


def test_detection_labels_each_sentence_with_a_list_of_the_task_or_none(tmp_path: Path) -> None:
    with ChatServer(detect_then_fill) as server, extractor(tmp_path, server, strategy="detect-then-fill") as ex:
        ex.extract(ARTICLE, doc_id="a")

    detection = server.requests[0]
    labels = schema_of(detection)["properties"]["labels"]
    assert labels["minItems"] == labels["maxItems"] == len(sentences(ARTICLE)) == 6
    assert labels["items"]["enum"] == ["none", "clashes", "moves"]
    assert f"[2] {TOLL}" in detection.text and f"[6] {QAMISHLI}" in detection.text


def test_fill_calls_see_and_may_quote_only_their_detected_sentences(tmp_path: Path) -> None:
    with ChatServer(detect_then_fill) as server, extractor(tmp_path, server, strategy="detect-then-fill") as ex:
        ex.extract(ARTICLE, doc_id="a")

    fills = [r for r in server.requests if not is_detection(r)]
    assert len(server.requests) == 4 and len(fills) == 3  # one per group: 2 clash sentences, then 2 moves apart
    shown = [article_of(r) for r in fills]
    assert FIGHT in shown[0] and TOLL in shown[0] and "Saqr" not in shown[0]
    assert DAMASCUS in shown[1] and QAMISHLI not in shown[1]
    assert QAMISHLI in shown[2] and DAMASCUS not in shown[2]
    assert all("weather" not in s for s in shown)
    assert list(schema_of(fills[0])["properties"]) == ["clashes"]
    assert list(schema_of(fills[1])["properties"]) == ["moves"]


def test_same_person_with_shuffled_claims_is_merged_into_one_record(tmp_path: Path) -> None:
    with ChatServer(detect_then_fill) as server, extractor(tmp_path, server, strategy="detect-then-fill") as ex:
        result = ex.extract(ARTICLE, doc_id="a")

    (moved,) = result.moves
    assert [c.destination for c in moved.claims] == ["Damascus", "Qamishli"]
    assert [e.quote for e in moved.evidence] == [DAMASCUS, QAMISHLI]
    (fight,) = result.clashes
    assert fight.killed == 2 and ARTICLE[fight.evidence[0].start : fight.evidence[0].end] == TOLL.rstrip(".")


@pytest.mark.parametrize(
    "other",
    [move("Qamishli", quote=QAMISHLI) | {"person": "Another group"}, move("Qamishli", quote=QAMISHLI)],
    ids=["another person", "the same person, other claims"],
)
def test_records_whose_key_fields_differ_are_not_merged(tmp_path: Path, other: dict[str, Any]) -> None:
    with (
        ChatServer([Reply.records({"clashes": [], "moves": [move("Damascus"), other]})]) as server,
        extractor(tmp_path, server) as ex,
    ):
        assert len(ex.extract(ARTICLE, doc_id="a").moves) == 2


# --- a worked example ---------------------------------------------------------------------


def test_worked_example_comes_before_the_article_with_its_answer(tmp_path: Path) -> None:
    example = {"clashes": [clash()], "moves": []}
    task = TASK.with_example("shown", f"{FIGHT} {TOLL}", example)
    with ChatServer([Reply.records({"clashes": [], "moves": []})]) as server:
        config = load_config(write_config(tmp_path / "c.toml", server.url))
        with Extractor(config, task=task, cache=False) as ex, Extractor(config, task=TASK) as plain:
            ex.extract(DAMASCUS, doc_id="scored")
            assert ex.cache_key(ex.document(DAMASCUS)) != plain.cache_key(plain.document(DAMASCUS))

    roles = [m["role"] for m in server.requests[0].messages]
    assert roles == ["system", "user", "assistant", "user"]
    shown, answer, article = server.requests[0].messages[1:]
    assert "Article shown" in shown["content"] and TOLL in shown["content"]
    assert json.loads(answer["content"]) == example
    assert "Article scored" in article["content"] and TOLL not in article["content"]


def test_eval_leaves_out_the_fixture_shown_as_the_worked_example(tmp_path: Path) -> None:
    from llm_extract.evaluation import evaluate
    from llm_extract.fixtures import load_fixtures
    from llm_extract.testing import replay

    seeds = Path(__file__).resolve().parent.parent / "seeds"
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    for name in ("sputnik-fakes-1965495340.en", "daily-sabah-fakes-1924058215.en"):
        for ext in (".txt", ".gold.json"):
            (fixtures / (name + ext)).write_bytes((seeds / (name + ext)).read_bytes())
    shown, scored = load_fixtures(fixtures)
    with ChatServer(replay({fx.doc_id: fx.as_answer() for fx in (shown, scored)})) as server:
        config = write_config(tmp_path / "c.toml", server.url, cache_dir=tmp_path / "cache")
        config.write_text(
            config.read_text(encoding="utf-8") + f'[task]\nexample = "{shown.path.as_posix()}"\n', encoding="utf-8"
        )
        report = evaluate(fixtures, config, progress=False)

    assert [d.doc_id for d in report.documents] == [scored.doc_id]
    assert report.f1("test") == 1.0
    (request,) = server.requests
    assert [m["role"] for m in request.messages] == ["system", "user", "assistant", "user"]
    assert shown.document.text[:60] in request.messages[1]["content"]


# --- targeted repairs ---------------------------------------------------------------------


def test_unstated_number_is_repaired_by_re_asking_only_that_record(tmp_path: Path) -> None:
    wrong_quote = clash(quote=FIGHT)  # killed=2, but the quote is the sentence without the toll
    with (
        ChatServer([Reply.records({"clashes": [wrong_quote]}), Reply.records(clash())]) as server,
        extractor(tmp_path, server, strategy="one-call", max_reasks=0, repairs=True) as ex,
    ):
        result = ex.extract(ARTICLE, doc_id="a")

    assert len(server.requests) == 2
    repair = server.requests[1]
    shown = article_of(repair)
    assert TOLL.rstrip(".") in shown and FIGHT.rstrip(".") not in shown and "weather" not in shown  # states 2
    assert "killed=2" in repair.messages[-1]["content"]
    assert set(schema_of(repair)["properties"]) == {"place", "killed", "evidence"}  # one record, not the document
    (fight,) = result.clashes
    assert fight.killed == 2 and not result.provenance.warnings


def test_identical_repair_is_sent_once(tmp_path: Path) -> None:
    looped = {"clashes": [clash(quote=FIGHT), clash(quote=FIGHT)]}  # a model's loop: the same record twice
    with (
        ChatServer([Reply.records(looped), Reply.records(clash())]) as server,
        extractor(tmp_path, server, strategy="one-call", max_reasks=0, repairs=True) as ex,
    ):
        result = ex.extract(ARTICLE, doc_id="a")

    assert len(server.requests) == 2  # the second, identical repair reused the first one's answer
    assert [c.killed for c in result.clashes] == [2]


def test_without_repairs_an_unstated_number_is_unknown_after_one_request(tmp_path: Path) -> None:
    with (
        ChatServer([Reply.records({"clashes": [clash(quote=FIGHT)]})]) as server,
        extractor(tmp_path, server, max_reasks=0) as ex,
    ):
        result = ex.extract(ARTICLE, doc_id="a")

    assert len(server.requests) == 1 and result.clashes[0].killed is None


def test_failed_repair_leaves_the_number_unknown_with_its_warning(tmp_path: Path) -> None:
    still_wrong = clash(quote=FIGHT)
    with (
        ChatServer([Reply.records({"clashes": [still_wrong]}), Reply.records(still_wrong)]) as server,
        extractor(tmp_path, server, strategy="one-call", max_reasks=0, repairs=True) as ex,
    ):
        result = ex.extract(ARTICLE, doc_id="a")

    assert len(server.requests) == 2
    assert result.clashes[0].killed is None
    assert any("killed=2 is not stated" in w for w in result.provenance.warnings)
