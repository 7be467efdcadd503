"""Corpus runs (issue 7): input kinds, order, concurrency, progress, failure isolation,
resume after SIGKILL, cost, and long documents, against a real chat-completions server.

Servers here answer by the document id in the prompt ("Document id: <id>"), so a test
can slow down, hold back or break one document. Concurrency and order are asserted on
the server's request log, never on timings.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SEED, run_cli, seed_reply, write_config

from llm_extract import Document, Extractor
from llm_extract.documents import split_chunks
from llm_extract.errors import ExtractionError
from llm_extract.testing import ChatServer, RecordedRequest, Reply

SEED_TEXT = SEED.read_text(encoding="utf-8")
_DOC_ID = re.compile(r"^Document id: (.+)$", re.MULTILINE)

Start = Callable[..., tuple[ChatServer, Extractor]]


def doc_id_of(request: RecordedRequest) -> str:
    found = _DOC_ID.search(request.text)
    assert found, "every prompt names its document"
    return found.group(1).strip()


def seed_corpus(directory: Path, ids: list[str]) -> Path:
    """A directory of copies of the seed article, one ``<id>.txt`` each (the seed answer grounds in all)."""
    directory.mkdir(parents=True, exist_ok=True)
    for doc_id in ids:
        (directory / f"{doc_id}.txt").write_text(SEED_TEXT, encoding="utf-8")
    return directory


def seed_docs(*ids: str) -> list[Document]:
    return [Document(id=doc_id, text=SEED_TEXT) for doc_id in ids]


def seed_answers(request: RecordedRequest) -> Reply:
    return Reply.records(seed_reply())


def wait_until(condition: Callable[[], bool], timeout: float = 180.0) -> None:
    """Poll ``condition``; the deadline is generous because a CLI subprocess's imports alone took over 30 s on a
    2-core machine busy with a model run (the killed-batch test failed there at 30 s)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    """Start a server with a script and an extractor for it: ``start(script, **backend_settings)``."""
    with contextlib.ExitStack() as stack:
        count = 0

        def make(
            script: Callable[[RecordedRequest], Reply] = seed_answers, *, cache: bool = True, **backend: Any
        ) -> tuple[ChatServer, Extractor]:
            nonlocal count
            count += 1
            server = stack.enter_context(ChatServer(script))
            config = write_config(tmp_path / f"batch-{count}.toml", server.url, **backend)
            return server, stack.enter_context(Extractor.from_config(config, cache=cache))

        yield make


@pytest.fixture
def config_for(tmp_path: Path) -> Callable[..., Path]:
    """A config file for a server: ``config_for(server, **backend_settings)``."""

    def make(server: ChatServer, **backend: Any) -> Path:
        return write_config(tmp_path / f"cli-{len(backend)}-{id(server)}.toml", server.url, **backend)

    return make


# -- corpus input -------------------------------------------------------------------


def test_directory_input_gives_one_line_per_txt_file_in_name_order(
    tmp_path: Path, config_for: Callable[..., Path]
) -> None:
    corpus = seed_corpus(tmp_path / "corpus", ["b", "c", "a"])
    (corpus / "notes.md").write_text("not an article", encoding="utf-8")
    with ChatServer(seed_answers) as server:
        proc = run_cli("extract", str(corpus), "--config", str(config_for(server)), "-q")

    assert proc.returncode == 0, proc.stderr
    assert [d["doc_id"] for d in jsonl(proc.stdout)] == ["a", "b", "c"]
    assert len(server.requests) == 3


def test_jsonl_input_takes_ids_and_publication_dates(tmp_path: Path, start: Start) -> None:
    corpus = tmp_path / "corpus.jsonl"
    rows = [{"id": "jasim-1", "text": SEED_TEXT, "published": "2022-03"}, {"id": "jasim-2", "text": SEED_TEXT}]
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    server, ex = start()

    batch = ex.extract_many(corpus, progress=False)

    assert [r.doc_id for r in batch] == ["jasim-1", "jasim-2"]
    assert [r.provenance.published for r in batch] == ["2022-03", None]
    prompts = {doc_id_of(r): r.text for r in server.requests}
    assert "Publication date: 2022-03" in prompts["jasim-1"]
    assert "Publication date: unknown" in prompts["jasim-2"]


def test_files_directories_and_jsonl_keep_command_line_order(tmp_path: Path, config_for: Callable[..., Path]) -> None:
    single = seed_corpus(tmp_path / "single", ["z-single"]) / "z-single.txt"
    corpus = seed_corpus(tmp_path / "dir", ["m1", "m2"])
    lines = tmp_path / "more.jsonl"
    lines.write_text(json.dumps({"id": "a-jsonl", "text": SEED_TEXT}, ensure_ascii=False) + "\n", encoding="utf-8")
    with ChatServer(seed_answers) as server:
        proc = run_cli("extract", str(single), str(corpus), str(lines), "--config", str(config_for(server)), "-q")

    assert proc.returncode == 0, proc.stderr
    assert [d["doc_id"] for d in jsonl(proc.stdout)] == ["z-single", "m1", "m2", "a-jsonl"]


# -- order ----------------------------------------------------------------------------


def test_output_is_in_input_order_even_when_later_documents_finish_first(start: Start) -> None:
    holder: list[ChatServer] = []

    def first_answers_last(request: RecordedRequest) -> Reply:
        if doc_id_of(request) == "d1":  # hold d1 until the three others have been answered
            wait_until(lambda: sum(r.finished > 0 for r in holder[0].requests) >= 3)
        return Reply.records(seed_reply())

    server, ex = start(first_answers_last, concurrency=4)
    holder.append(server)
    out = io.StringIO()

    batch = ex.extract_many(seed_docs("d1", "d2", "d3", "d4"), progress=False, out=out)

    finished = sorted(server.requests, key=lambda r: r.finished)
    assert doc_id_of(finished[-1]) == "d1"
    assert [d["doc_id"] for d in jsonl(out.getvalue())] == ["d1", "d2", "d3", "d4"]
    assert [r.doc_id for r in batch] == ["d1", "d2", "d3", "d4"]


# -- concurrency ----------------------------------------------------------------------


def _answer_once_limit_is_reached(
    limit: int, total: int, holder: list[ChatServer]
) -> Callable[[RecordedRequest], Reply]:
    """Hold each request until ``limit`` are in flight (or all ``total`` have come, or 5 s pass),
    then a little longer, so a client reaches its limit whenever it allows it, and a client
    that allowed more would have sent the excess while these are held (the log shows it).
    """

    def respond(request: RecordedRequest) -> Reply:
        server = holder[0]
        deadline = time.monotonic() + 5.0
        while server.in_flight < limit and len(server.requests) < total and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.05)
        return Reply.records(seed_reply())

    return respond


def test_server_never_sees_more_requests_in_flight_than_the_limit(start: Start) -> None:
    holder: list[ChatServer] = []
    server, ex = start(_answer_once_limit_is_reached(3, 12, holder), concurrency=3)
    holder.append(server)

    batch = ex.extract_many(seed_docs(*(f"d{i}" for i in range(12))), progress=False)

    assert batch.summary.succeeded == 12 and len(server.requests) == 12
    assert server.max_in_flight == 3


def test_limit_also_holds_for_the_chunks_of_long_documents(start: Start) -> None:
    holder: list[ChatServer] = []
    chunks = len(split_chunks(SEED_TEXT, 1000, 200))
    server, ex = start(
        _answer_once_limit_is_reached(2, 2 * chunks, holder), concurrency=2, chunk_chars=1000, chunk_overlap=200
    )
    holder.append(server)
    docs = seed_docs("long-1", "long-2")

    ex.extract_many(docs, progress=False)

    assert chunks >= 3 and len(server.requests) == 2 * chunks
    assert server.max_in_flight == 2


# -- progress -------------------------------------------------------------------------


def test_progress_bar_on_stderr_shows_documents_records_cache_hits_failures_tokens_and_eta(
    tmp_path: Path, config_for: Callable[..., Path]
) -> None:
    corpus = seed_corpus(tmp_path / "corpus", ["a", "b"])
    (corpus / "c-empty.txt").write_text("", encoding="utf-8")
    with ChatServer(seed_answers) as server:
        proc = run_cli("extract", str(corpus), "--config", str(config_for(server)))

    bar = [line for line in proc.stderr.splitlines() if line.startswith("extract:")][-1]  # \r reads as \n here
    assert re.search(r"3/3 \[\d\d:\d\d<\d\d:\d\d", bar), bar  # documents done/total [elapsed<ETA
    assert "records=4" in bar and "cached=0" in bar and "failed=1" in bar
    assert re.search(r"tokens=[1-9]\d*", bar), bar
    assert all(json.loads(line)["doc_id"] in ("a", "b") for line in proc.stdout.splitlines())
    assert len(proc.stdout.splitlines()) == 2


def test_quiet_turns_progress_and_summary_off(tmp_path: Path, config_for: Callable[..., Path]) -> None:
    corpus = seed_corpus(tmp_path / "corpus", ["a", "b"])
    with ChatServer(seed_answers) as server:
        proc = run_cli("extract", str(corpus), "--config", str(config_for(server)), "--quiet")

    assert proc.returncode == 0
    assert proc.stderr == ""
    assert len(jsonl(proc.stdout)) == 2


def test_progress_false_writes_nothing_to_stderr(start: Start, capsys: pytest.CaptureFixture[str]) -> None:
    _, ex = start()
    ex.extract_many(seed_docs("a", "b"), progress=False)
    assert capsys.readouterr().err == ""

    ex.extract_many(seed_docs("c"), progress=True)
    assert "1/1" in capsys.readouterr().err


# -- failure isolation ------------------------------------------------------------------


def test_unreadable_file_goes_to_the_errors_file_and_the_rest_complete_with_exit_code_1(
    tmp_path: Path, config_for: Callable[..., Path]
) -> None:
    corpus = seed_corpus(tmp_path / "corpus", ["a", "c"])
    (corpus / "b.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    errors = tmp_path / "errors.jsonl"
    with ChatServer(seed_answers) as server:
        proc = run_cli("extract", str(corpus), "--config", str(config_for(server)), "-q", "--errors", str(errors))

    assert proc.returncode == 1
    assert [d["doc_id"] for d in jsonl(proc.stdout)] == ["a", "c"]
    (failure,) = jsonl(errors.read_text(encoding="utf-8"))
    assert failure["doc_id"] == str(corpus / "b.txt")
    assert failure["error"] == "InputError" and "PNG" in failure["reason"]


def test_exhausted_reasks_fail_only_that_document(start: Start, tmp_path: Path) -> None:
    invented = seed_reply()
    invented["incidents"][0]["evidence"] = [{"quote": "قصفت الطائرات الروسية مدينة جاسم بعشرة صواريخ"}]

    def respond(request: RecordedRequest) -> Reply:
        return Reply.records(invented if doc_id_of(request) == "bad" else seed_reply())

    server, ex = start(respond, max_reasks=1)
    errors = tmp_path / "errors.jsonl"

    batch = ex.extract_many(seed_docs("ok-1", "bad", "ok-2"), progress=False, errors_path=errors)

    assert [r.doc_id for r in batch] == ["ok-1", "ok-2"]
    (failure,) = batch.failures
    assert (failure.doc_id, failure.error) == ("bad", "ExtractionError")
    assert "not found in the article" in failure.reason
    assert jsonl(errors.read_text(encoding="utf-8")) == [failure.to_dict()]
    assert [doc_id_of(r) for r in server.requests].count("bad") == 2


def test_server_error_fails_only_that_document(start: Start) -> None:
    def respond(request: RecordedRequest) -> Reply:
        return Reply.error(500, "boom") if doc_id_of(request) == "broken" else Reply.records(seed_reply())

    _, ex = start(respond, max_attempts=2)

    batch = ex.extract_many(seed_docs("ok-1", "broken", "ok-2"), progress=False)

    assert [r.doc_id for r in batch] == ["ok-1", "ok-2"]
    (failure,) = batch.failures
    assert (failure.doc_id, failure.error) == ("broken", "BackendError")
    assert "HTTP 500" in failure.reason and "gave up after 2 attempt" in failure.reason


def test_summary_lists_each_failure_with_id_and_reason(tmp_path: Path, config_for: Callable[..., Path]) -> None:
    corpus = seed_corpus(tmp_path / "corpus", ["a", "broken"])
    summary_file = tmp_path / "summary.json"

    def respond(request: RecordedRequest) -> Reply:
        return Reply.error(500, "boom") if doc_id_of(request) == "broken" else Reply.records(seed_reply())

    with ChatServer(respond) as server:
        cfg = config_for(server, max_attempts=1)
        proc = run_cli("extract", str(corpus), "--config", str(cfg), "--summary", str(summary_file))

    assert proc.returncode == 1
    assert "1/2 documents" in proc.stderr and "1 failed" in proc.stderr
    assert re.search(r"failed broken: .*HTTP 500", proc.stderr)
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    assert summary["failed"] == 1
    assert summary["failures"][0]["doc_id"] == "broken" and "HTTP 500" in summary["failures"][0]["reason"]


# -- resume -----------------------------------------------------------------------------


def _cli() -> list[str]:
    exe = shutil.which("llm-extract")
    return [exe] if exe else [sys.executable, "-m", "llm_extract.cli"]


def _stable(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A result without its per-run fields (whether it came from the cache, and how long it took)."""
    for line in lines:
        line["provenance"].pop("cache_hit")
        line["provenance"].pop("wall_time_s")
    return lines


def test_batch_killed_half_way_skips_cached_documents_and_ends_with_identical_output(
    tmp_path: Path, config_for: Callable[..., Path]
) -> None:
    ids = [f"doc{i}" for i in range(1, 7)]
    corpus = seed_corpus(tmp_path / "corpus", ids)
    release = threading.Event()

    def respond(request: RecordedRequest) -> Reply:
        if doc_id_of(request) in ("doc4", "doc5", "doc6") and not release.is_set():
            release.wait(60)  # the first run is killed while these are in flight
        return Reply.records(seed_reply())

    killed_out, resumed_out, clean_out = (tmp_path / f"{n}.jsonl" for n in ("killed", "resumed", "clean"))
    with ChatServer(respond) as server:
        cfg = config_for(server, concurrency=2)
        args = ["extract", str(corpus), "--config", str(cfg), "-q"]
        proc = subprocess.Popen([*_cli(), *args, "--out", str(killed_out)], cwd=ROOT, env=dict(os.environ))
        try:
            wait_until(lambda: killed_out.exists() and len(killed_out.read_text(encoding="utf-8").splitlines()) == 3)
            wait_until(lambda: len(server.requests) == 5)  # doc4 and doc5 in flight
        finally:
            proc.kill()  # SIGKILL
            proc.wait()
        release.set()
        first_run = [doc_id_of(r) for r in server.requests]

        resumed = run_cli(*args, "--out", str(resumed_out))
        second_run = [doc_id_of(r) for r in server.requests[len(first_run) :]]

        clean = run_cli(*args, "--out", str(clean_out), env={"LLM_EXTRACT_CACHE_DIR": str(tmp_path / "fresh")})

    assert sorted(first_run) == ids[:5]
    assert [d["doc_id"] for d in jsonl(killed_out.read_text(encoding="utf-8"))] == ["doc1", "doc2", "doc3"]
    assert resumed.returncode == 0 and clean.returncode == 0
    assert sorted(second_run) == ["doc4", "doc5", "doc6"]  # nothing already cached was asked again
    resumed_lines = jsonl(resumed_out.read_text(encoding="utf-8"))
    assert [d["provenance"]["cache_hit"] for d in resumed_lines] == [True] * 3 + [False] * 3
    assert _stable(resumed_lines) == _stable(jsonl(clean_out.read_text(encoding="utf-8")))


# -- cost -------------------------------------------------------------------------------


def _prompt_tokens(request: RecordedRequest) -> int:
    """What the test server reports as prompt tokens for a request."""
    return max(1, len(json.dumps(request.body.get("messages", []), ensure_ascii=False)) // 4)


def test_summary_reports_tokens_per_document_and_in_total_across_reasks(start: Start) -> None:
    invented = seed_reply()
    invented["incidents"][0]["evidence"] = [{"quote": "قصفت الطائرات الروسية مدينة جاسم بعشرة صواريخ"}]
    answered: set[str] = set()

    def respond(request: RecordedRequest) -> Reply:
        doc_id = doc_id_of(request)
        if doc_id == "reasked" and doc_id not in answered:
            answered.add(doc_id)
            return Reply.records(invented)
        return Reply.records(seed_reply())

    server, ex = start(respond, concurrency=1)

    summary = ex.extract_many(seed_docs("once", "reasked"), progress=False).summary

    once, reasked = summary.per_document
    assert (once.doc_id, once.usage.model_calls, reasked.doc_id, reasked.usage.model_calls) == ("once", 1, "reasked", 2)
    assert reasked.usage.prompt_tokens > once.usage.prompt_tokens > 0
    assert summary.usage.model_calls == 3 == len(server.requests)
    assert summary.usage.prompt_tokens == once.usage.prompt_tokens + reasked.usage.prompt_tokens
    assert summary.usage.prompt_tokens == sum(_prompt_tokens(r) for r in server.requests)
    assert summary.usage.completion_tokens == once.usage.completion_tokens + reasked.usage.completion_tokens > 0
    assert summary.usage.cost_usd is None
    assert "cost_usd" not in summary.to_dict()["usage"]


def test_cost_is_reported_when_prices_are_configured(start: Start) -> None:
    _, ex = start(price_prompt_per_mtok=2.5, price_completion_per_mtok=10.0)

    summary = ex.extract_many(seed_docs("a", "b"), progress=False).summary

    u = summary.usage
    assert u.cost_usd == pytest.approx((u.prompt_tokens * 2.5 + u.completion_tokens * 10.0) / 1e6, abs=1e-6)
    assert u.cost_usd > 0  # costs are rounded to a millionth of a dollar, per document and in total
    assert sum(d.usage.cost_usd or 0.0 for d in summary.per_document) == pytest.approx(u.cost_usd, abs=2e-6)
    assert f"${u.cost_usd:.4f}" in summary.describe()


def test_failed_documents_count_their_tokens_and_cache_hits_cost_nothing(start: Start) -> None:
    def respond(request: RecordedRequest) -> Reply:
        return Reply.raw("{not json") if doc_id_of(request) == "bad" else Reply.records(seed_reply())

    server, ex = start(respond, max_reasks=1)
    ex.extract_many(seed_docs("cached"), progress=False)
    before = len(server.requests)

    summary = ex.extract_many(seed_docs("cached", "bad"), progress=False).summary

    cached, bad = summary.per_document
    assert (cached.status, cached.usage.model_calls, cached.usage.total_tokens) == ("cached", 0, 0)
    assert (bad.status, bad.usage.model_calls) == ("failed", 2)
    assert summary.usage.model_calls == 2 == len(server.requests) - before
    assert summary.usage.prompt_tokens == bad.usage.prompt_tokens > 0
    assert summary.cache_hits == 1 and summary.extracted == 0


def test_summary_file_holds_totals_and_per_document_usage(tmp_path: Path, config_for: Callable[..., Path]) -> None:
    corpus = seed_corpus(tmp_path / "corpus", ["a", "b"])
    summary_file = tmp_path / "summary.json"
    with ChatServer(seed_answers) as server:
        cfg = config_for(server, price_prompt_per_mtok=1.0, price_completion_per_mtok=4.0)
        proc = run_cli("extract", str(corpus), "--config", str(cfg), "-q", "--summary", str(summary_file))

    assert proc.returncode == 0 and proc.stderr == ""
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    assert (summary["documents"], summary["succeeded"], summary["failed"], summary["records"]) == (2, 2, 0, 4)
    assert [d["doc_id"] for d in summary["per_document"]] == ["a", "b"]
    for key in ("prompt_tokens", "completion_tokens", "total_tokens", "model_calls", "cost_usd"):
        assert summary["usage"][key] == pytest.approx(sum(d[key] for d in summary["per_document"]), abs=2e-6)
    assert summary["usage"]["model_calls"] == 2 == len(server.requests)


# -- long documents ---------------------------------------------------------------------

_FILL = [f"Line {i}: markets in the valley opened as usual and the roads were calm today." for i in range(1, 23)]
_EVENT = "Gunmen attacked a checkpoint near the village of Tell Shihab on Monday night."
_QUOTE = "Gunmen attacked a checkpoint near the village of Tell Shihab"
_LONG = "\n".join([*_FILL[:10], _EVENT, *_FILL[10:]]) + "\n"


def _event_answer(request: RecordedRequest) -> Reply:
    """Report the checkpoint attack from every chunk that contains it."""
    if _EVENT not in request.text:
        return Reply.records({"incidents": [], "negotiations": [], "personnel_changes": []})
    incident = {
        "date": {"text": "on Monday night", "precision": "unknown"},
        "location": {"as_written": "Tell Shihab", "normalized": "Tell Shihab"},
        "event_type": "Violence against civilians",
        "sub_event_type": "Attack",
        "summary": "Gunmen attacked a checkpoint near Tell Shihab.",
        "evidence": [{"quote": _QUOTE}],
    }
    return Reply.records({"incidents": [incident], "negotiations": [], "personnel_changes": []})


def test_long_document_is_split_into_overlapping_chunks(start: Start) -> None:
    server, ex = start(_event_answer, chunk_chars=600, chunk_overlap=250)

    result = ex.extract(_LONG, doc_id="long")

    spans = split_chunks(_LONG, 600, 250)
    assert len(server.requests) == result.provenance.chunks == len(spans) > 2
    assert spans[0][0] == 0 and spans[-1][1] == len(_LONG)  # the chunks cover the whole document
    for (_, end), (start_next, _) in itertools.pairwise(spans):
        assert start_next < end  # and each overlaps the one before
    for s, e in spans:  # each chunk went to the model once
        assert sum(_LONG[s:e] in r.text for r in server.requests) == 1


def test_event_seen_in_two_chunks_is_one_record_with_offsets_into_the_whole_document(start: Start) -> None:
    server, ex = start(_event_answer, chunk_chars=600, chunk_overlap=250)

    result = ex.extract(_LONG, doc_id="long")

    assert sum(_EVENT in r.text for r in server.requests) == 2  # reported twice, by two chunks
    (incident,) = result.incidents
    (evidence,) = incident.evidence
    assert (evidence.start, evidence.end) == (_LONG.index(_QUOTE), _LONG.index(_QUOTE) + len(_QUOTE))
    assert _LONG[evidence.start : evidence.end] == _QUOTE


_VILLAGES = [f"Village {chr(65 + i)}" for i in range(12)]
_MANY = "\n".join(f"Gunmen attacked a checkpoint near {v} on Monday night. Roads were calm later." for v in _VILLAGES)


def _every_attack_answer(request: RecordedRequest) -> Reply:
    """One incident for each attack the chunk holds: twelve in all, more than the schema's eight."""
    incidents = [
        {
            "date": {"text": "on Monday night", "precision": "unknown"},
            "location": {"as_written": v, "normalized": v},
            "event_type": "Violence against civilians",
            "sub_event_type": "Attack",
            "summary": f"Gunmen attacked a checkpoint near {v}.",
            "evidence": [{"quote": f"Gunmen attacked a checkpoint near {v}"}],
        }
        for v in _VILLAGES
        if f"near {v} on Monday night" in request.text
    ]
    return Reply.records({"incidents": incidents, "negotiations": [], "personnel_changes": []})


def test_chunks_finding_more_records_than_the_schema_allows_fail_in_one_line_and_cache_nothing(
    start: Start,
) -> None:
    server, ex = start(_every_attack_answer, chunk_chars=600, chunk_overlap=100)
    why = r"^long: the records of its \d+ chunks together do not fit the schema \(incidents: List should have at most 8"

    with pytest.raises(ExtractionError, match=why):
        ex.extract(_MANY, doc_id="long")
    asked = len(server.requests)
    with pytest.raises(ExtractionError, match=why):
        ex.extract(_MANY, doc_id="long")

    assert asked > 1 and len(server.requests) == 2 * asked  # no cache entry answered the second time


# -- the Python batch API ------------------------------------------------------------------


def test_extract_many_takes_documents_paths_and_texts_and_keeps_failures_apart(tmp_path: Path, start: Start) -> None:
    path = seed_corpus(tmp_path / "corpus", ["from-file"]) / "from-file.txt"
    _, ex = start()

    batch = ex.extract_many(
        [Document(id="doc", text=SEED_TEXT), path, SEED_TEXT, tmp_path / "missing.txt"], progress=False
    )

    assert [r.doc_id for r in batch][:2] == ["doc", "from-file"]
    assert batch[2].doc_id.startswith("text-")
    assert len(batch) == 3 and batch.summary.documents == 4
    (failure,) = batch.failures
    assert failure.error == "InputError" and "no such file" in failure.reason
    assert repr(batch) == "BatchResult(3/4 documents, 6 records, 0 from cache, 1 failed)"


def test_aextract_many_runs_on_the_callers_event_loop(start: Start) -> None:
    server, ex = start()

    batch = asyncio.run(ex.aextract_many(seed_docs("a", "b"), progress=False))

    assert [r.doc_id for r in batch] == ["a", "b"] and len(server.requests) == 2
