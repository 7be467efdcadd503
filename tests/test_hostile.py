"""A hostile probe's failures, one behaviour per test (issue 12).

An attacker or a careless user: a tampered cache row, an output path that is the input,
symlinks out of the corpus, credentials and odd keys that must not leak, oversized and
special files, trickling servers, bad headers, bad ids, two processes on one cache, loose
config values, SIGTERM, and model answers that name people, places, sources or dates the
article never mentions.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import diskcache
import pytest
from conftest import SEED, seed_reply, write_config

from llm_extract import Extractor
from llm_extract.cli import main
from llm_extract.testing import ChatServer, Reply

SEED_TEXT = SEED.read_text(encoding="utf-8")


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# -- case 1: a cache row names a file outside the cache ------------------------------------------


def _plant_file_row(cache_dir: Path, key: str, mode: int, filename: str, value: str | None = None) -> None:
    """A row as an attacker with write access to cache.db would write it."""
    with sqlite3.connect(cache_dir / "cache.db") as db:
        db.execute(
            "INSERT OR REPLACE INTO Cache (key, raw, store_time, expire_time, access_time, access_count,"
            " tag, size, mode, filename, value) VALUES (?, 1, ?, NULL, ?, 0, NULL, 0, ?, ?, ?)",
            (key, time.time(), time.time(), mode, filename, value),
        )


@pytest.mark.parametrize(
    ("mode", "where", "refresh"),
    [
        (diskcache.core.MODE_BINARY, "absolute", False),
        (diskcache.core.MODE_BINARY, "relative", False),
        (diskcache.core.MODE_RAW, "absolute", True),
    ],
    ids=["mode2-absolute", "mode2-relative", "mode1-refresh"],
)
def test_cache_row_naming_a_file_outside_the_cache_never_deletes_it(
    mode: int, where: str, refresh: bool, tmp_path: Path, server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = tmp_path / "cache"
    monkeypatch.delenv("LLM_EXTRACT_CACHE_DIR")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    config = write_config(tmp_path / "c.toml", server.url, cache_dir=cache_dir)
    with Extractor.from_config(config) as ex:
        key = ex.cache_key(ex.document(SEED))
    filename = str(victim) if where == "absolute" else "../victim.txt"
    stored = json.dumps({"doc_id": "x"}) if mode == diskcache.core.MODE_RAW else None
    _plant_file_row(cache_dir, key, mode, filename, stored)
    server.push(Reply.records(seed_reply()))

    code = main(["extract", "--config", str(config), "-q", *(["--refresh"] if refresh else []), str(SEED)])

    assert code == 0 and len(server.requests) == 1  # the tampered row was a miss
    assert victim.read_text(encoding="utf-8") == "precious"


# -- case 2: an output path that is an input or another output ----------------------------------


def test_out_equal_to_the_input_is_refused_before_the_article_is_touched(
    tmp_path: Path, server: ChatServer, capsys: pytest.CaptureFixture[str]
) -> None:
    article = tmp_path / "a.txt"
    article.write_text(SEED_TEXT, encoding="utf-8")
    config = write_config(tmp_path / "c.toml", server.url)

    code = main(["extract", "--config", str(config), "-q", "--out", str(tmp_path / "." / "a.txt"), str(article)])

    assert code == 2 and server.requests == []
    assert article.read_text(encoding="utf-8") == SEED_TEXT
    assert capsys.readouterr().err.splitlines() == [
        f"llm-extract: error: --out {tmp_path / '.' / 'a.txt'}: is also an input ({article}); "
        "write the output to another file"
    ]


def test_two_outputs_on_one_file_are_refused(
    tmp_path: Path, server: ChatServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "c.toml", server.url)
    same = tmp_path / "run.jsonl"

    code = main(["extract", "--config", str(config), "--out", str(same), "--summary", str(same), str(SEED)])

    assert code == 2 and server.requests == [] and not same.exists()
    assert capsys.readouterr().err.splitlines() == [
        f"llm-extract: error: --summary {same}: is the same file as --out; give each output its own file"
    ]


def test_unwritable_summary_is_refused_before_the_first_request(
    tmp_path: Path, server: ChatServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "c.toml", server.url)
    summary = tmp_path / "missing-dir" / "summary.json"

    code = main(["extract", "--config", str(config), "-q", "--summary", str(summary), str(SEED)])

    assert code == 2 and server.requests == []
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and f"--summary {summary}: directory" in err[0] and "does not exist" in err[0]
