"""The ``llm-extract extract`` command, run as a user runs it: a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import SEED, run_cli, seed_reply

from llm_extract.testing import ChatServer, Reply


def test_extract_prints_one_json_object_per_document_with_grounded_evidence(
    server: ChatServer, config_path: Path
) -> None:
    server.push(Reply.records(seed_reply()))

    proc = run_cli("extract", str(SEED), "--config", str(config_path), "--published", "2022-03", "--quiet")

    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert list(doc) == ["doc_id", "incidents", "negotiations", "personnel_changes", "provenance"]
    evidence = doc["incidents"][0]["evidence"][0]
    assert set(evidence) == {"quote", "start", "end"}
    assert "جاسم" in lines[0]  # Arabic is written as UTF-8, not \u-escaped
    assert proc.stderr == ""


def test_extract_writes_jsonl_to_out_and_a_summary_to_stderr(
    server: ChatServer, config_path: Path, tmp_path: Path
) -> None:
    server.push(Reply.records(seed_reply()))
    out = tmp_path / "records.jsonl"

    proc = run_cli("extract", str(SEED), "--config", str(config_path), "--out", str(out))

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert json.loads(out.read_text(encoding="utf-8"))["doc_id"] == "enab-baladi-558021.ar"
    assert "1/1 documents" in proc.stderr


def test_no_cache_flag_sends_a_request_every_time(server: ChatServer, config_path: Path) -> None:
    server.push(*[Reply.records(seed_reply())] * 2)

    for _ in range(2):
        assert run_cli("extract", str(SEED), "--config", str(config_path), "--no-cache", "-q").returncode == 0
    assert len(server.requests) == 2


def test_missing_file_exits_non_zero_naming_it(server: ChatServer, config_path: Path) -> None:
    proc = run_cli("extract", "no-such-article.txt", "--config", str(config_path), "-q", "--errors", "/dev/stderr")

    assert proc.returncode == 1
    assert "no-such-article.txt: no such file" in proc.stderr
    assert server.requests == []


def test_bad_published_date_is_a_usage_error(config_path: Path) -> None:
    proc = run_cli("extract", str(SEED), "--config", str(config_path), "--published", "15/03/2022")

    assert proc.returncode == 2
    assert "not a date" in proc.stderr
