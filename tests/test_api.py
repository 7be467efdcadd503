"""The Python API's one obvious entry, and batch results that write themselves."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import SEED, seed_reply

import llm_extract
from llm_extract import Extractor
from llm_extract.testing import ChatServer, Reply

ARTICLE = SEED.read_text(encoding="utf-8")


def test_top_level_extract_takes_article_text(server: ChatServer, config_path: Path) -> None:
    server.push(Reply.records(seed_reply()))

    result = llm_extract.extract(ARTICLE, config=config_path, published="2022-03")

    assert result.incidents[0].location.normalized == "Jasim"
    assert result.provenance.published == "2022-03"
    assert len(server.requests) == 1


def test_top_level_extract_reads_a_string_that_names_a_file(server: ChatServer, config_path: Path) -> None:
    server.push(Reply.records(seed_reply()))

    result = llm_extract.extract(str(SEED), config=config_path, backend="test")

    assert result.doc_id == "enab-baladi-558021.ar"
    assert result.text == ARTICLE
    assert ARTICLE in server.requests[0].text  # the article went to the model, not its path


def test_extractor_logs_that_a_string_naming_a_file_is_read_as_the_file(
    server: ChatServer, make_extractor: Callable[..., Extractor], caplog: pytest.LogCaptureFixture
) -> None:
    server.push(Reply.records(seed_reply()))

    with caplog.at_level(logging.INFO, logger="llm_extract"):
        result = make_extractor().extract(str(SEED))

    assert result.record_count == 2
    assert "the string names a file, so the file is read" in caplog.text


def test_extract_many_out_takes_a_path(
    server: ChatServer, make_extractor: Callable[..., Extractor], tmp_path: Path
) -> None:
    server.push(Reply.records(seed_reply()))

    batch = make_extractor().extract_many([SEED], out=tmp_path / "out.jsonl", progress=False)

    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["doc_id"] for line in lines] == [batch[0].doc_id]


def test_batch_result_writes_jsonl_and_html(
    server: ChatServer, make_extractor: Callable[..., Extractor], tmp_path: Path
) -> None:
    server.push(Reply.records(seed_reply()))
    batch = make_extractor().extract_many([SEED], progress=False)

    text = batch.to_jsonl(tmp_path / "batch.jsonl")
    page = batch.to_html(full_page=True)

    assert (tmp_path / "batch.jsonl").read_text(encoding="utf-8") == text
    assert json.loads(text.splitlines()[0])["incidents"][0]["event_type"] == "Battles"
    assert page.startswith("<!DOCTYPE html>") and "جاسم" in page
    assert "<!DOCTYPE" not in batch.to_html()


def test_a_csv_path_given_as_one_article_logs_a_warning(
    server: ChatServer, make_extractor: Callable[..., Extractor], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server.push(Reply.records({"incidents": []}))
    (tmp_path / "a.csv").write_text("id,text\n1,Clashes were reported in the town.\n", encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="llm_extract"):
        make_extractor().extract(tmp_path / "a.csv")

    assert "a.csv: a .csv file is read as one article" in caplog.text
