"""Command-line housekeeping, run as a user runs it: --version, backends, config, stdin, CSV, --dry-run, progress."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, SECRET, SEED, run_cli, seed_reply, write_config

from llm_extract import __version__
from llm_extract.testing import ChatServer, Reply, replay

ARTICLE = SEED.read_text(encoding="utf-8")


def cli_with_stdin(data: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    exe = shutil.which("llm-extract")
    cmd = [exe] if exe else [sys.executable, "-m", "llm_extract.cli"]
    return subprocess.run([*cmd, *args], input=data, capture_output=True, env=dict(os.environ), cwd=ROOT, timeout=120)


def test_version_prints_the_package_version() -> None:
    proc = run_cli("--version")

    assert proc.returncode == 0
    assert proc.stdout.strip() == f"llm-extract {__version__}"


def test_backends_lists_each_backend_the_default_and_whether_its_key_is_set_never_the_key(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", "http://127.0.0.1:9/v1", api_key_env="MY_TEST_KEY")

    unset = run_cli("backends", "--config", str(config))
    set_ = run_cli("backends", "--config", str(config), env={"MY_TEST_KEY": SECRET})

    assert unset.returncode == 0, unset.stderr
    assert unset.stdout.splitlines()[0] == f"config: {config} (--config)"
    assert "* test: openai-compatible, model test-model at http://127.0.0.1:9/v1; key $MY_TEST_KEY is NOT set" in (
        unset.stdout
    )
    assert "  embedded: embedded" in unset.stdout and "no key needed" in unset.stdout
    assert "key $MY_TEST_KEY is set" in set_.stdout
    assert SECRET not in set_.stdout + set_.stderr


def test_backends_says_when_no_config_file_was_found() -> None:
    proc = run_cli("backends")

    assert proc.returncode == 0
    assert proc.stdout.splitlines()[0] == "config: built-in defaults (no config file found)"
    assert "* embedded: embedded" in proc.stdout


def test_config_prints_the_effective_config_with_keys_redacted(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", "http://127.0.0.1:9/v1", api_key_env="MY_TEST_KEY", concurrency=3)

    proc = run_cli("config", "--config", str(config), env={"MY_TEST_KEY": SECRET})

    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["source"] == f"{config} (--config)"
    assert data["default_backend"] == "test"
    assert data["backends"]["test"]["concurrency"] == 3
    assert data["backends"]["test"]["api_key"] == "<set, not shown>"
    assert data["backends"]["embedded"]["kind"] == "embedded"  # built-in defaults are part of the effective config
    assert SECRET not in proc.stdout


def test_dash_reads_one_article_from_stdin(server: ChatServer, config_path: Path) -> None:
    server.push(Reply.records(seed_reply()))

    proc = cli_with_stdin(SEED.read_bytes(), "extract", "-", "--config", str(config_path), "-q")

    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    assert doc["doc_id"] == "stdin"
    assert doc["incidents"][0]["evidence"][0]["quote"] in ARTICLE


def test_csv_input_with_text_and_id_columns_is_one_document_per_row(tmp_path: Path) -> None:
    table = tmp_path / "articles.csv"
    with table.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["article_id", "body", "source", "url", "published"])
        writer.writerow(["jasim", ARTICLE, "Enab Baladi", "https://x.test/1", "2022-03"])
        writer.writerow(["other", "Nothing happened in the town today.", "", "", ""])

    with ChatServer(replay({"jasim": seed_reply(), "other": {"incidents": []}})) as server:
        config = write_config(tmp_path / "c.toml", server.url)
        proc = run_cli(
            "extract", str(table), "--config", str(config), "-q", "--text-column", "body", "--id-column", "article_id"
        )

    assert proc.returncode == 0, proc.stderr
    docs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [d["doc_id"] for d in docs] == ["jasim", "other"]
    assert docs[0]["provenance"]["source"] == "Enab Baladi" and docs[0]["provenance"]["url"] == "https://x.test/1"
    assert docs[0]["provenance"]["published"] == "2022-03"


def test_csv_input_naming_a_missing_column_fails_with_one_line(config_path: Path, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,body\n1,text\n", encoding="utf-8")

    proc = run_cli("extract", str(tmp_path / "a.csv"), "--config", str(config_path), "-q", "--text-column", "text")

    assert proc.returncode == 1
    assert "a.csv: no column 'text' (columns: id, body)" in proc.stderr


def test_a_csv_or_json_file_given_as_an_article_gets_a_warning(
    server: ChatServer, config_path: Path, tmp_path: Path
) -> None:
    server.push(Reply.records({"incidents": []}), Reply.records({"incidents": []}))
    (tmp_path / "a.csv").write_text("id,text\n1,Clashes were reported in the town.\n", encoding="utf-8")
    (tmp_path / "b.json").write_text('{"text": "Clashes were reported in the town."}\n', encoding="utf-8")

    proc = run_cli("extract", str(tmp_path / "a.csv"), str(tmp_path / "b.json"), "--config", str(config_path), "-q")

    assert proc.returncode == 0, proc.stderr
    assert "a.csv: a .csv file is read as one article; use --text-column to read one article per row" in proc.stderr
    assert "b.json: a .json file is read as one article; use .jsonl" in proc.stderr


def test_dry_run_counts_documents_chunks_tokens_and_cost_and_sends_nothing(server: ChatServer, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.toml", server.url, price_prompt_per_mtok=1.0, price_completion_per_mtok=2.0, max_tokens=1000
    )
    long = tmp_path / "long.txt"
    long.write_text((ARTICLE + "\n\n") * 6, encoding="utf-8")

    proc = run_cli("extract", str(SEED), str(long), "--config", str(config), "--dry-run")

    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "documents: 2" in lines
    chunks = int(next(line for line in lines if line.startswith("chunks:")).split()[1])
    assert chunks > 2  # the long article is split
    assert any(line.startswith("prompt tokens: about ") for line in lines)
    assert f"completion tokens: at most {chunks * 1000:,} ({chunks} x max_tokens=1,000)" in lines
    assert any(line.startswith("cost: about $") for line in lines)
    assert server.requests == []


def test_dry_run_without_prices_says_so(config_path: Path) -> None:
    proc = run_cli("extract", str(SEED), "--config", str(config_path), "--dry-run")

    assert proc.returncode == 0
    assert "cost: no prices configured" in proc.stdout


def test_progress_is_one_plain_line_per_document_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("Nothing happened in the town today.", encoding="utf-8")
    answers = {"enab-baladi-558021.ar": seed_reply(), "b": {"incidents": []}}

    with ChatServer(replay(answers)) as server:
        config = write_config(tmp_path / "c.toml", server.url)
        proc = run_cli("extract", str(SEED), str(tmp_path / "b.txt"), "--config", str(config))

    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr
    progress = [line for line in proc.stderr.splitlines() if line.startswith("extract:")]
    assert [line.split()[1] for line in progress] == ["1/2", "2/2"]
    assert "records=" in progress[-1] and "tokens=" in progress[-1]
