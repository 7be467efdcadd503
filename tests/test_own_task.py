"""A task that is not about conflict runs through the whole engine without touching it.

Product recalls: product, company, hazard and date, each with its quote, and
the number of units affected, which the recall notices write in their own
words ("three gross of jars"). The task is one object defined here; the
engine, the test server, the cache, grounding, number grounding, evaluation
and the DataFrame are the real ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import write_config
from pydantic import BaseModel, Field

from llm_extract import ConfigError, Extractor, load_config
from llm_extract.evaluation.comparators import Exact, Text
from llm_extract.evaluation.scoring import score_records
from llm_extract.evaluation.spec import EvaluationSpec, RecordSpec
from llm_extract.grounding import Count, Evidence, GroundedRecord, NumberLexicon
from llm_extract.task import Task
from llm_extract.testing import ChatServer, RecordedRequest, Reply

# --- the task -----------------------------------------------------------------------------


class Quoted(BaseModel):
    """A value with the words of the notice that state it."""

    value: str = Field(max_length=200)
    evidence: list[Evidence] = Field(min_length=1, max_length=2)


class Recall(GroundedRecord):
    product: Quoted
    company: Quoted
    hazard: Quoted
    date: Quoted | None = None
    units: Count
    evidence: list[Evidence] = Field(min_length=1, max_length=3)


class RecallRecords(BaseModel):
    recalls: list[Recall] = Field(default_factory=list, max_length=5)


TASK = Task.define(
    "recalls",
    RecallRecords,
    system="You list product recalls in the notice as JSON. Quote the notice exactly.",
    user="Notice {{ doc_id }}:\n<{{ boundary }}>\n{{ text }}\n</{{ boundary }}>",
    evaluation=EvaluationSpec(
        {"recalls": RecordSpec(match={"product": (Text("product.value"), 1.0)}, fields={"units": Exact("units")})},
        name="recalls",
    ),
    lexicon=NumberLexicon(words={"gross": 144}, singular_nouns=("pallet", "batch")),
    columns={"product_value": "product", "company_value": "company", "units": "units_affected"},
)

NOTICE = (
    "Acme Foods recalled three gross of Crunchy Peanut Butter jars on 4 May 2026. The jars may contain glass fragments."
)


def recall(units: int | None = 432, units_quote: str = "recalled three gross of Crunchy Peanut Butter jars") -> Recall:
    def quoted(value: str, quote: str) -> dict[str, Any]:
        return {"value": value, "evidence": [{"quote": quote}]}

    return Recall.model_validate(
        {
            "product": quoted("Crunchy Peanut Butter", "Crunchy Peanut Butter jars"),
            "company": quoted("Acme Foods", "Acme Foods recalled"),
            "hazard": quoted("glass fragments", "may contain glass fragments"),
            "date": quoted("2026-05-04", "on 4 May 2026"),
            "units": units,
            "evidence": [{"quote": units_quote}],
        }
    )


def answer(units: int | None = 432) -> Reply:
    return Reply.records(RecallRecords(recalls=[recall(units)]))


# --- the behaviours -----------------------------------------------------------------------


def test_own_task_extracts_grounded_records_through_server_and_cache(tmp_path: Path) -> None:
    with ChatServer([answer()]) as server:
        config = load_config(write_config(tmp_path / "c.toml", server.url, cache_dir=tmp_path / "cache"))
        with Extractor(config, task=TASK) as ex:
            first = ex.extract(NOTICE, doc_id="notice-1")
            again = ex.extract(NOTICE, doc_id="notice-1")

        assert len(server.requests) == 1  # the second answer came from the cache
    assert again.provenance.cache_hit and again.provenance.task == "recalls"
    (found,) = first.recalls
    assert found.units == 432  # "three gross" states 432 only with the task's own number word
    quote = found.company.evidence[0]
    assert quote.start is not None and NOTICE[quote.start : quote.end] == "Acme Foods recalled"
    assert again.recalls[0].units == 432


def test_own_task_number_not_stated_in_its_words_is_asked_again(tmp_path: Path) -> None:
    replies = [answer(units=500), answer()]

    def respond(_: RecordedRequest) -> Reply:
        return replies.pop(0)

    with ChatServer(respond) as server:
        config = load_config(write_config(tmp_path / "c.toml", server.url, cache_dir=tmp_path / "cache"))
        with Extractor(config, task=TASK, cache=False) as ex:
            result = ex.extract(NOTICE)

        assert len(server.requests) == 2
        assert "units=500 is not stated" in server.requests[1].text
    assert result.recalls[0].units == 432


def test_own_task_is_named_in_config_and_scored_and_exported(tmp_path: Path) -> None:
    with ChatServer([answer()]) as server:
        path = write_config(tmp_path / "c.toml", server.url, cache_dir=tmp_path / "cache")
        path.write_text(path.read_text() + f'[task]\nname = "{__name__}:TASK"\n', encoding="utf-8")
        with Extractor.from_config(path) as ex:
            result = ex.extract(NOTICE, doc_id="notice-1")

    assert ex.task is TASK
    spec = EvaluationSpec.for_task(TASK)
    score = score_records({"recalls": [recall()]}, result, spec, source=NOTICE)
    assert score.total.f1 == 1.0 and score.fields["recalls.units"].accuracy == 1.0
    frame = result.to_pandas()
    assert list(frame["record_type"]) == ["recalls"]
    assert frame.loc[0, "product"] == "Crunchy Peanut Butter" and frame.loc[0, "units_affected"] == 432


def test_a_record_repeated_in_one_answer_is_kept_once_whatever_the_backend(tmp_path: Path) -> None:
    looped = Reply.records(RecallRecords(recalls=[recall(), recall()]))  # a model's loop, from a server

    with ChatServer([looped]) as server:
        config = load_config(write_config(tmp_path / "c.toml", server.url, cache_dir=tmp_path / "cache"))
        with Extractor(config, task=TASK) as ex:
            result = ex.extract(NOTICE)

    assert len(result.recalls) == 1 and result.recalls[0].units == 432


def test_config_naming_a_task_and_the_older_schema_key_is_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[task]\nname = "{__name__}:TASK"\nschema = "{__name__}:RecallRecords"\n', encoding="utf-8")

    with pytest.raises(ConfigError, match=r"task: give either name .* not both") as caught:
        load_config(path)
    assert "\n" not in str(caught.value)


def test_task_name_that_is_not_a_task_names_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"is not an llm_extract Task \(got RecallRecords\); export one"):
        Extractor(load_config(None), task=f"{__name__}:RecallRecords")
