"""Corpus runs on Ray Data (issue 17): every id once, a dead worker costs nothing, the key goes nowhere.

A real local Ray runs the real engine in its actors against the real test server. The
command-line run and the in-process runs share one Ray start each, since starting Ray
takes seconds on two cores.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SECRET, run_cli, write_config

from llm_extract import InputError
from llm_extract.testing import ChatServer, RecordedRequest, Reply

ray = pytest.importorskip("ray")

from llm_extract.distributed import build_dataset, read_output, run  # noqa: E402

pytestmark = pytest.mark.ray

KEY_ENV = "LLM_EXTRACT_TEST_KEY"
FRAGMENT = SECRET[-16:]
EMPTY = {"incidents": [], "negotiations": [], "personnel_changes": []}
DOC_ID = re.compile(r"^Document id: (.+)$", re.MULTILINE)
N = 200


def doc_of(request: RecordedRequest) -> str | None:
    """The document a request asks about; None for one whose body never arrived (its sender was killed)."""
    found = DOC_ID.search(request.text)
    return found.group(1).strip() if found else None


def write_corpus(path: Path, n: int = N, ids: list[str] | None = None) -> Path:
    ids = ids or [f"doc-{i:03d}" for i in range(n)]
    with path.open("w", encoding="utf-8") as f:
        for i, doc_id in enumerate(ids):
            text = f"Report {i}: the town council of Town {i} met on Monday; nothing else happened."
            f.write(json.dumps({"id": doc_id, "text": text}) + "\n")
    return path


def leaks(data: bytes) -> bool:
    return SECRET.encode() in data or FRAGMENT.encode() in data


# -- the command line, one run shared by three tests ---------------------------------------------


@dataclass
class CliRun:
    proc: subprocess.CompletedProcess[str]
    out: Path
    ray_dir: Path
    server: ChatServer


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRun]:
    """``llm-extract extract corpus.jsonl --engine ray --workers 2 --out out.parquet`` over 200 documents.

    doc-077 meets an HTTP 400 whose body echoes the bearer token, as some servers do.
    Ray's session files go to a folder of this test's own (RAY_TMPDIR), to be searched.
    """
    tmp = tmp_path_factory.mktemp("cli")
    corpus = write_corpus(tmp / "corpus.jsonl")

    def respond(request: RecordedRequest) -> Reply:
        if doc_of(request) == "doc-077":
            return Reply.error(400, "error: this document is refused")
        return Reply.records(EMPTY)

    ray_dir = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # short: Ray's socket paths have a length limit
    with ChatServer(respond, echo_key=True) as server:
        config = write_config(tmp / "llm_extract.toml", server.url, api_key_env=KEY_ENV)
        env = {KEY_ENV: SECRET, "LLM_EXTRACT_CACHE_DIR": str(tmp / "cache"), "RAY_TMPDIR": str(ray_dir)}
        proc = run_cli(
            "extract", str(corpus), "--engine", "ray", "--workers", "2", "--out", str(tmp / "out.parquet"),
            "--config", str(config), "-vv", env=env, timeout=600,
        )  # fmt: skip
        yield CliRun(proc, tmp / "out.parquet", ray_dir, server)
    shutil.rmtree(ray_dir, ignore_errors=True)


def test_the_command_line_writes_one_parquet_row_per_document(cli_run: CliRun) -> None:
    rows = list(read_output(cli_run.out))
    assert Counter(r["id"] for r in rows) == Counter(f"doc-{i:03d}" for i in range(N))
    ok = next(r for r in rows if r["id"] == "doc-001")
    assert ok["error"] is None
    assert ok["records"] == EMPTY
    assert ok["provenance"]["doc_id"] == "doc-001"


def test_a_failing_document_is_a_row_with_its_error_and_the_exit_code_says_so(cli_run: CliRun) -> None:
    rows = {r["id"]: r for r in read_output(cli_run.out)}
    bad = rows["doc-077"]
    assert bad["error"].startswith("BackendError: ")
    assert "400" in bad["error"]
    assert bad["records"] is None and bad["provenance"] is None  # unknown, not an empty list
    assert sum(r["error"] is not None for r in rows.values()) == 1
    assert cli_run.proc.returncode == 1
    assert "failed doc-077: BackendError" in cli_run.proc.stderr


def test_the_key_is_in_no_output_log_or_ray_session_file(cli_run: CliRun) -> None:
    assert any(leaks(json.dumps(r.headers).encode()) for r in cli_run.server.requests), "the key was sent"
    assert not leaks((cli_run.proc.stdout + cli_run.proc.stderr).encode())
    searched = 0
    for folder in (cli_run.out, cli_run.ray_dir):
        for f in folder.rglob("*"):
            if f.is_file() and not f.is_symlink() and not f.name.endswith(".sock"):
                assert not leaks(f.read_bytes()), f
                searched += 1
    assert searched > 20  # Ray's logs, the workers' stdout/stderr, the part files, the checkpoint


def _cli_command(corpus: Path, out: Path, config: Path) -> list[str]:
    exe = shutil.which("llm-extract")
    cmd = [exe] if exe else [sys.executable, "-m", "llm_extract.cli"]
    return [*cmd, "extract", str(corpus), "--engine", "ray", "--workers", "2", "--out", str(out),
            "--config", str(config), "-q"]  # fmt: skip


def test_a_job_killed_mid_run_resumes_with_only_the_documents_without_a_row(tmp_path: Path) -> None:
    """SIGKILL to the whole command (driver, Ray and its workers) mid-run, then the same command again."""
    corpus = write_corpus(tmp_path / "corpus.jsonl")
    out, config = tmp_path / "out.parquet", tmp_path / "llm_extract.toml"
    ray_dir = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))
    env = {**os.environ, "LLM_EXTRACT_CACHE_DIR": str(tmp_path / "cache"), "RAY_TMPDIR": str(ray_dir)}
    job: dict[str, Any] = {}
    lock = threading.Lock()

    def respond(request: RecordedRequest) -> Reply:
        # Time, not a request count (as in the worker-kill test below): on a fast machine 150
        # requests fit in a second, and then no answer is old enough to have surely reached the cache.
        with lock:
            answered = [r.finished for r in server.requests if r.finished]
            if answered and time.monotonic() - min(answered) >= 2.5 and "killed_at" not in job:
                os.killpg(job["proc"].pid, signal.SIGKILL)
                job["killed_at"] = time.monotonic()
        return Reply.records(EMPTY)

    try:
        with ChatServer(respond, latency=0.1) as server:  # 200 documents stay busy past the kill
            write_config(config, server.url)
            job["proc"] = subprocess.Popen(
                _cli_command(corpus, out, config), env=env, cwd=ROOT, start_new_session=True,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            assert job["proc"].wait(timeout=600) == -signal.SIGKILL
            written_before = {r["id"] for r in read_output(out)}
            again = subprocess.run(
                _cli_command(corpus, out, config), env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
            )
            requests = list(server.requests)
    finally:
        _kill_leftovers(ray_dir)
        shutil.rmtree(ray_dir, ignore_errors=True)

    assert again.returncode == 0, again.stderr
    ids = [r["id"] for r in read_output(out)]
    assert Counter(ids) == Counter(f"doc-{i:03d}" for i in range(N))
    assert 0 < len(written_before) < N  # the crash came after some rows and before the end
    finished = {doc_of(r) for r in requests if r.finished and r.finished < job["killed_at"] - 1.0} - {None}
    asked_after = {doc_of(r) for r in requests if r.started > job["killed_at"]} - {None}
    assert finished and asked_after  # how many finished a second before the kill depends on the machine's speed
    assert not finished & asked_after
    assert not written_before & asked_after


def _kill_leftovers(ray_dir: Path) -> None:
    """Ray processes of a killed run that outlived it: found by their session folder, killed by pid."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(ray_dir).encode() in (entry / "cmdline").read_bytes():
                    os.kill(int(entry.name), signal.SIGKILL)
            except OSError:
                continue


# -- in-process runs, one shared local Ray ----------------------------------------------------------


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray whose workers inherit the key from the environment, as on a node with a Secret."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(KEY_ENV, SECRET)
        ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
        try:
            yield
        finally:
            ray.shutdown()


def _worker_pids() -> list[int]:
    """The processes of our Ray Data actors (Ray titles them after the class)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"ExtractWorker" in cmdline and int(entry.name) != os.getpid():
                pids.append(int(entry.name))
    return pids


def _cached_ids(cache_dir: Path) -> set[str]:
    """The documents whose results the cache holds now, read as any process may (no lock, read-only).

    Not "answered a second ago": on a loaded machine a worker may take longer than that between an
    answer and its cache entry, so only the cache itself says which documents are finished.
    """
    db = cache_dir / "cache.db"
    if not db.exists():
        return set()
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
        rows = conn.execute("SELECT value FROM Cache").fetchall()
    return {json.loads(value)["doc_id"] for (value,) in rows if isinstance(value, str) and '"doc_id"' in value}


def test_a_worker_killed_mid_run_then_a_rerun_leaves_each_id_once_and_asks_no_finished_document_again(
    local_ray: None, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "corpus.jsonl")
    out = tmp_path / "out.parquet"
    killed: dict[str, Any] = {}
    lock = threading.Lock()

    def respond(request: RecordedRequest) -> Reply:
        # The kill waits for time, not a request count: on a fast machine 150 requests fit in
        # under a second, and then no answer is old enough to have surely reached the cache.
        with lock:
            answered = [r.finished for r in server.requests if r.finished]
            if answered and time.monotonic() - min(answered) >= 1.5 and not killed:
                pids = _worker_pids()
                assert pids, "no worker process to kill"
                cached = _cached_ids(tmp_path / "cache")
                os.kill(pids[0], signal.SIGKILL)  # no exception, no cleanup: the process is gone
                killed.update(pid=pids[0], at=time.monotonic(), cached=cached)
        return Reply.records(EMPTY)

    # 0.2 s per answer keeps 200 documents busy for seconds at any machine speed, so the kill lands mid-run
    with ChatServer(respond, latency=0.2) as server:
        config = write_config(tmp_path / "llm_extract.toml", server.url, api_key_env=KEY_ENV)
        first = run(corpus, out, config=config, workers=2, cache_dir=tmp_path / "cache", progress=False)
        asked_first = len(server.requests)
        second = run(corpus, out, config=config, workers=2, cache_dir=tmp_path / "cache", progress=False)
        requests = list(server.requests)

    assert killed, "the worker was killed"
    ids = [r["id"] for r in read_output(out)]
    assert len(ids) == N and len(set(ids)) == N
    # what the cache held when the worker died; how much depends on the machine's load, what follows does not
    finished = killed["cached"]
    asked_after = {doc_of(r) for r in requests if r.started > killed["at"]} - {None}
    assert finished
    assert not finished & asked_after
    assert len(requests) == asked_first  # the rerun found every document written: no request at all
    assert first.failed == 0 and second.rows == N and second.skipped == N


def test_repeated_ids_are_refused_before_any_request(local_ray: None, tmp_path: Path, server: ChatServer) -> None:
    corpus = write_corpus(tmp_path / "corpus.jsonl", ids=["a", "b", "a", "c"])
    config = write_config(tmp_path / "llm_extract.toml", server.url)
    with pytest.raises(InputError, match=r"1 repeated id\(s\) \(a\)"):
        run(corpus, tmp_path / "out.jsonl", config=config, progress=False)
    assert server.requests == []
    assert not (tmp_path / "out.jsonl").exists()


def test_what_ray_serialises_holds_no_key(local_ray: None, tmp_path: Path, server: ChatServer) -> None:
    corpus = write_corpus(tmp_path / "corpus.jsonl", n=3)
    config = write_config(tmp_path / "llm_extract.toml", server.url, api_key_env=KEY_ENV)
    ds, total = build_dataset(corpus, config=config, workers=1)
    assert total == 3
    dumped = ray.cloudpickle.dumps(ds)  # the pipeline as shipped: actor class, constructor args, plan
    assert b"ExtractWorker" in dumped and str(config.resolve()).encode() in dumped
    assert not leaks(dumped)


def test_importing_llm_extract_does_not_import_ray() -> None:
    code = "import sys, llm_extract, llm_extract.cli, llm_extract.distributed; print('ray' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "False"


def test_a_txt_folder_goes_to_jsonl_and_a_rerun_skips_the_ids_already_written(
    local_ray: None, tmp_path: Path, server: ChatServer
) -> None:
    """Ray does not read a .txt folder itself, so its checkpoint cannot apply: the ids in the output are skipped."""
    corpus = tmp_path / "articles"
    corpus.mkdir()
    for name in ("a", "b"):
        (corpus / f"{name}.txt").write_text(f"Article {name}: the council met on Monday.", encoding="utf-8")
    (corpus / "empty.txt").write_text("", encoding="utf-8")
    server.push(Reply.records(EMPTY), Reply.records(EMPTY))
    config = write_config(tmp_path / "llm_extract.toml", server.url)
    out = tmp_path / "out.jsonl"
    for _ in range(2):
        run(corpus, out, config=config, workers=1, cache_dir=tmp_path / "cache", progress=False)
    rows = {r["id"]: r for r in read_output(out)}
    assert sorted(rows) == ["a", "b", "empty"]
    assert rows["a"]["records"] == EMPTY and rows["a"]["error"] is None
    assert rows["empty"]["error"].startswith("InputError: ") and "empty" in rows["empty"]["error"]
    assert len(server.requests) == 2  # the second run found every id written
