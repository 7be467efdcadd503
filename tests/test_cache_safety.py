"""The cache under interruption, concurrency and tampering (issue 6, sections 7-9).

Entries are JSON text written in one SQLite transaction after the whole document validated;
a killed run leaves a cache that opens and a re-run that finishes the job; two processes can
share a cache; nothing in it is ever unpickled; a stale entry is a miss; the directory is 0700.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import diskcache
import pytest
from conftest import ROOT, SEED, seed_reply, write_config

from llm_extract import ExtractionError, Extractor
from llm_extract.cache import ResultCache
from llm_extract.cli import main
from llm_extract.testing import ChatServer, RecordedRequest, Reply

MakeExtractor = Callable[..., Extractor]
SEED_TEXT = SEED.read_text(encoding="utf-8")


def cli(*args: str) -> list[str]:
    """The command line as a user runs it."""
    exe = shutil.which("llm-extract")
    return [*([exe] if exe else [sys.executable, "-m", "llm_extract.cli"]), *args]


def cli_env(cache_dir: Path) -> dict[str, str]:
    return {**os.environ, "LLM_EXTRACT_CACHE_DIR": str(cache_dir)}


def corpus(directory: Path, names: list[str]) -> list[Path]:
    """Copies of the seed article under different names (so different documents and keys)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{name}.txt" for name in names]
    for path in paths:
        path.write_text(SEED_TEXT, encoding="utf-8")
    return paths


def records_of(jsonl: str) -> list[dict[str, Any]]:
    """Each output line without provenance (timings and cache hits differ between runs)."""
    return [{k: v for k, v in json.loads(line).items() if k != "provenance"} for line in jsonl.splitlines()]


def entries(directory: Path) -> dict[str, dict[str, Any]]:
    """Every entry of a cache directory, parsed; fails if the cache does not open or an entry is not JSON."""
    cache = ResultCache(directory)
    try:
        with sqlite3.connect(directory / "cache.db") as db:
            keys = [row[0] for row in db.execute("SELECT key FROM Cache")]
        found = {}
        for key in keys:
            text = cache.get(key)
            assert text is not None, f"entry {key} is not JSON text"
            found[key] = json.loads(text)
        return found
    finally:
        cache.close()


# -- section 7: written only after validation; killed mid-run ------------------------------


def test_nothing_is_cached_when_any_chunk_of_a_document_fails(tmp_path: Path) -> None:
    first_line = SEED_TEXT.split("\n")[0]
    empty = {"incidents": [], "negotiations": [], "personnel_changes": []}

    def answer(request: RecordedRequest) -> Reply:
        # the first chunk validates; every other chunk never does
        return Reply.records(empty) if first_line in request.text else Reply.raw('{"incidents": 5}')

    with ChatServer(answer) as server:
        config = write_config(tmp_path / "c.toml", server.url, chunk_chars=1200, chunk_overlap=100, max_reasks=1)
        with Extractor.from_config(config) as ex:
            with pytest.raises(ExtractionError):
                ex.extract(SEED)
            assert ex.cache is not None and len(ex.cache) == 0


def test_sigkill_mid_run_leaves_a_cache_that_opens_and_a_rerun_with_identical_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = corpus(tmp_path / "docs", [f"doc{i}" for i in range(4)])
    cache_dir, out = tmp_path / "cache", tmp_path / "out.jsonl"
    reply = Reply.records(seed_reply(), delay=0.5)
    with ChatServer(lambda _: reply) as server:
        config = write_config(tmp_path / "c.toml", server.url, concurrency=1)
        args = ("extract", "--config", str(config), "-q", "--out", str(out), str(tmp_path / "docs"))

        proc = subprocess.Popen(cli(*args), env=cli_env(cache_dir), cwd=ROOT)
        try:
            deadline = time.monotonic() + 60
            # The third request means the first document's answer came back 0.5 s earlier and was
            # stored; the second request alone does not (it is sent as soon as the first answer
            # arrives, before that answer is grounded and cached).
            while len(server.requests) < 3 and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert len(server.requests) >= 3, "the run never got to its third document"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL

        cached = entries(cache_dir)  # opens cleanly; every entry is whole JSON
        assert 1 <= len(cached) < len(docs)
        assert {e["doc_id"] for e in cached.values()} <= {p.stem for p in docs}

        sent = len(server.requests)
        monkeypatch.setenv("LLM_EXTRACT_CACHE_DIR", str(cache_dir))
        assert main(list(args)) == 0  # the re-run, in-process this time
        assert len(server.requests) - sent == len(docs) - len(cached)  # only the unfinished ones again

        fresh_out = tmp_path / "fresh.jsonl"
        monkeypatch.setenv("LLM_EXTRACT_CACHE_DIR", str(tmp_path / "fresh-cache"))
        assert main([*args[:-2], str(fresh_out), str(tmp_path / "docs")]) == 0  # a clean run to compare with

    resumed = out.read_text(encoding="utf-8")
    assert [r["doc_id"] for r in records_of(resumed)] == [p.stem for p in docs]
    assert records_of(resumed) == records_of(fresh_out.read_text(encoding="utf-8"))
    assert len(entries(cache_dir)) == len(docs)


# -- section 8: two processes, one cache ---------------------------------------------------------


def test_two_processes_extracting_into_one_cache_lose_nothing(tmp_path: Path) -> None:
    shared = corpus(tmp_path / "shared", ["both"])
    ours = corpus(tmp_path / "a", [f"a{i}" for i in range(5)])
    theirs = corpus(tmp_path / "b", [f"b{i}" for i in range(5)])
    cache_dir = tmp_path / "cache"
    reply = Reply.records(seed_reply(), delay=0.05)
    with ChatServer(lambda _: reply) as server:
        config = write_config(tmp_path / "c.toml", server.url, concurrency=2)
        procs = [
            subprocess.Popen(
                cli("extract", "--config", str(config), "-q", *map(str, [*docs, *shared])),
                env=cli_env(cache_dir),
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for docs in (ours, theirs)
        ]
        outputs = [p.communicate(timeout=120) for p in procs]

    for proc, (stdout, stderr) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0 and stderr == ""
        assert len(stdout.splitlines()) == 6
    assert sorted(e["doc_id"] for e in entries(cache_dir).values()) == sorted(p.stem for p in [*ours, *theirs, *shared])


# -- section 9: planted pickles, stale entries, tampered files ------------------------------------


class _Payload:
    """Unpickling this creates ``path``: proof that a pickle was executed."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.path), "w"))


def _plant(cache_dir: Path, key: str, mode: int, value: bytes, *, as_file: bool = False) -> None:
    """Write a row into diskcache's SQLite table directly, as an attacker with file access would.

    ``as_file`` stores the value the way diskcache stores large ones: in a file the row names.
    """
    filename = None
    if as_file:
        filename = "ab/cd/planted.val"
        (cache_dir / "ab" / "cd").mkdir(parents=True, exist_ok=True)
        (cache_dir / filename).write_bytes(value)
    with sqlite3.connect(cache_dir / "cache.db") as db:
        db.execute(
            "INSERT OR REPLACE INTO Cache (key, raw, store_time, expire_time, access_time, access_count,"
            " tag, size, mode, filename, value) VALUES (?, 1, ?, NULL, ?, 0, NULL, ?, ?, ?, ?)",
            (key, time.time(), time.time(), len(value), mode, filename, None if filename else value),
        )


@pytest.mark.parametrize("where", ["inline", "file"])
def test_planted_pickle_is_never_unpickled_and_reads_as_a_miss(
    where: str, tmp_path: Path, server: ChatServer, make_extractor: MakeExtractor, caplog: pytest.LogCaptureFixture
) -> None:
    control, marker = tmp_path / "control-ran", tmp_path / "planted-ran"
    pickle.loads(pickle.dumps(_Payload(control))).close()
    assert control.exists()  # the payload is live: unpickling it does run code
    ex = make_extractor()
    key = ex.cache_key(ex.document(SEED))
    assert ex.cache is not None
    _plant(ex.cache.directory, key, diskcache.core.MODE_PICKLE, pickle.dumps(_Payload(marker)), as_file=where == "file")
    server.push(Reply.records(seed_reply()))

    with caplog.at_level(logging.WARNING, logger="llm_extract"):
        result = ex.extract(SEED)

    assert not marker.exists()
    assert not result.provenance.cache_hit and len(server.requests) == 1
    assert "ignoring cache entry" in caplog.text
    assert ex.extract(SEED).provenance.cache_hit  # replaced by our own JSON entry
    assert len(server.requests) == 1


def test_planted_binary_entry_reads_as_a_miss(server: ChatServer, make_extractor: MakeExtractor) -> None:
    ex = make_extractor()
    assert ex.cache is not None
    _plant(ex.cache.directory, ex.cache_key(ex.document(SEED)), diskcache.core.MODE_BINARY, b"\x00\x01")
    server.push(Reply.records(seed_reply()))

    assert not ex.extract(SEED).provenance.cache_hit
    assert len(server.requests) == 1


def _stale(entry: dict[str, Any], change: str) -> str:
    if change == "not_json":
        return '{"doc_id": "enab'
    if change == "json_array":
        return "[1, 2, 3]"
    if change == "enum_value_renamed":
        entry["incidents"][0]["event_type"] = "Skirmish"
    elif change == "field_removed_from_schema":
        entry["incidents"][0]["old_field"] = 1
    elif change == "quote_not_in_article":
        entry["incidents"][0]["evidence"][0]["quote"] = "a passage that is not in the article at all"
    elif change == "no_provenance":
        del entry["provenance"]
    elif change == "provenance_wrong_type":
        entry["provenance"] = "yesterday"
    return json.dumps(entry, ensure_ascii=False)


@pytest.mark.parametrize(
    "change",
    [
        "not_json",
        "json_array",
        "enum_value_renamed",
        "field_removed_from_schema",
        "quote_not_in_article",
        "no_provenance",
        "provenance_wrong_type",
    ],
)
def test_entry_that_no_longer_validates_is_a_miss_not_a_crash(
    change: str, server: ChatServer, make_extractor: MakeExtractor
) -> None:
    server.push(Reply.records(seed_reply()), Reply.records(seed_reply()))
    ex = make_extractor()
    first = ex.extract(SEED)
    assert ex.cache is not None
    key = ex.cache_key(ex.document(SEED))
    ex.cache.set(key, _stale(first.to_dict(), change))

    again = ex.extract(SEED)

    assert not again.provenance.cache_hit and len(server.requests) == 2
    assert again.to_dict()["incidents"] == first.to_dict()["incidents"]
    assert ex.extract(SEED).provenance.cache_hit  # the good result replaced the stale one


def test_entry_changed_after_this_process_read_it_is_grounded_again(
    server: ChatServer, make_extractor: MakeExtractor
) -> None:
    server.push(Reply.records(seed_reply()), Reply.records(seed_reply()))
    ex = make_extractor()
    first = ex.extract(SEED)
    assert ex.extract(SEED).provenance.cache_hit  # grounded once by this extractor
    assert ex.cache is not None
    ex.cache.set(ex.cache_key(ex.document(SEED)), _stale(first.to_dict(), "quote_not_in_article"))

    again = ex.extract(SEED)

    assert not again.provenance.cache_hit and len(server.requests) == 2


def test_changing_max_reasks_extracts_again(server: ChatServer, make_extractor: MakeExtractor) -> None:
    server.push(Reply.records(seed_reply()), Reply.records(seed_reply()))
    make_extractor(max_reasks=0).extract(SEED)

    again = make_extractor(max_reasks=1).extract(SEED)

    assert not again.provenance.cache_hit and len(server.requests) == 2


def test_cache_file_that_is_not_a_database_is_one_config_line(
    tmp_path: Path, server: ChatServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    (cache_dir / "cache.db").write_bytes(b"this is not an SQLite database, someone overwrote it" * 100)
    config = write_config(tmp_path / "c.toml", server.url, cache_dir=cache_dir)
    monkeypatch.delenv("LLM_EXTRACT_CACHE_DIR")  # the config's [cache] dir, not the test's

    code = main(["extract", "--config", str(config), "-q", str(SEED)])

    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"llm-extract: error: {config}: cache.dir: {cache_dir} cannot be created or opened "
        "(file is not a database); fix: point [cache] dir or $LLM_EXTRACT_CACHE_DIR at a writable directory "
        "(or move a damaged one aside)"
    ]
    assert server.requests == []


def test_cache_dir_is_created_private(tmp_path: Path, server: ChatServer, make_extractor: MakeExtractor) -> None:
    server.push(Reply.records(seed_reply()))
    ex = make_extractor()
    ex.extract(SEED)
    assert ex.cache is not None

    assert stat.S_IMODE(ex.cache.directory.stat().st_mode) == 0o700


def test_existing_cache_dir_is_made_private(tmp_path: Path) -> None:
    shared = tmp_path / "was-public"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)

    ResultCache(shared).close()

    assert stat.S_IMODE(shared.stat().st_mode) == 0o700
