"""Server faults, one behaviour each: what is retried, what fails at once, and how many
requests the server saw (issue 6, sections 5 and 6).

Transport faults (429, 5xx, resets, timeouts, truncated or non-JSON bodies) are retried by
tenacity, ``max_attempts`` in all; answers no retry can fix (400/401/404, empty choices,
``finish_reason: "length"``, refusals) fail at once. Either way the user gets one
:class:`BackendError` line, never a bare ``IndexError``/``KeyError``, and nothing is cached.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import SEED, run_cli, seed_reply, write_config

from llm_extract import BackendError, DeadlineExceeded, ExtractionError, Extractor, TransientBackendError
from llm_extract.documents import split_chunks
from llm_extract.testing import ChatServer, RecordedRequest, Reply

MakeExtractor = Callable[..., Extractor]

VALID = Reply.records(seed_reply())
INVALID = Reply.raw('{"incidents": "not a list"}')


def fail(ex: Extractor, error: type[BaseException] = BackendError, match: str = "") -> BackendError:
    """Extract the seed expecting ``error``; check it is one line of our own type and nothing was cached."""
    with pytest.raises(error, match=match) as info:
        ex.extract(SEED)
    assert isinstance(info.value, BackendError)
    assert "\n" not in str(info.value)
    assert ex.cache is not None and len(ex.cache) == 0
    return info.value


# -- retried, then success --------------------------------------------------------


def test_429_retry_after_is_honoured_before_the_next_attempt(server: ChatServer, make_extractor: MakeExtractor) -> None:
    server.push(Reply.error(429, "slow down", {"Retry-After": "1"}), VALID)

    result = make_extractor(backoff_initial=0.0).extract(SEED)

    assert len(server.requests) == 2 and len(result.incidents) == 1
    first, second = server.requests
    assert second.started - first.finished >= 0.9  # waited as asked, not the (zero) backoff


def test_very_long_retry_after_fails_fast_naming_max_retry_after(
    server: ChatServer, make_extractor: MakeExtractor
) -> None:
    server.push(Reply.error(429, "quota exhausted", {"Retry-After": "3600"}), VALID)
    ex = make_extractor(max_attempts=4, max_retry_after=30.0, deadline=60.0)

    started = time.monotonic()
    err = fail(ex, match=r"HTTP 429.*retry after 3600s, over max_retry_after=30s")

    assert time.monotonic() - started < 20  # no hour-long sleep, no waiting out the deadline
    assert type(err) is BackendError and err.status == 429
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 408, 409])
def test_5xx_408_409_then_success_is_retried(status: int, server: ChatServer, make_extractor: MakeExtractor) -> None:
    server.push(Reply.error(status), Reply.error(status), VALID)

    result = make_extractor(max_attempts=3).extract(SEED)

    assert len(server.requests) == 3 and len(result.incidents) == 1
    assert result.provenance.usage.requests == 3 and result.provenance.attempts == 1


@pytest.mark.parametrize("fault", [Reply.reset, Reply.truncated, Reply.not_json], ids=lambda f: f.__name__)
def test_transport_fault_then_success_is_retried(
    fault: Callable[[], Reply], server: ChatServer, make_extractor: MakeExtractor
) -> None:
    server.push(fault(), VALID)

    result = make_extractor().extract(SEED)

    assert len(server.requests) == 2 and len(result.incidents) == 1


# -- retried until max_attempts ----------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (lambda: Reply.error(503, "overloaded"), r"HTTP 503: .*overloaded"),
        (Reply.reset, r"connection to http://127\.0\.0\.1:\d+/v1 failed \(ConnectionResetError"),
        (Reply.truncated, r"connection to .* failed \(RemoteProtocolError"),
        (Reply.not_json, r"200 with a body that is not a chat completion: '<html>"),
        (lambda: Reply("http", '{"error": {"message": "model is loading"}}'), r"200 with a JSON body without choices"),
    ],
    ids=["503", "reset", "truncated", "not_json", "error_object_200"],
)
def test_persistent_transport_fault_uses_exactly_max_attempts(
    fault: Callable[[], Reply], message: str, server: ChatServer, make_extractor: MakeExtractor
) -> None:
    server.push(*[fault() for _ in range(6)])

    err = fail(make_extractor(max_attempts=3, max_reasks=2), match=message + r".*gave up after 3 attempt")

    assert type(err) is BackendError and err.attempts == 3
    assert len(server.requests) == 3


# -- failed at once ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "hint"),
    [(400, ""), (401, "check the key"), (403, "lacks access"), (404, "check base_url and model"), (422, "")],
)
def test_client_errors_fail_at_once_without_retry(
    status: int, hint: str, server: ChatServer, make_extractor: MakeExtractor
) -> None:
    server.push(*[Reply.error(status, "no")] * 3, VALID)

    err = fail(make_extractor(max_attempts=4, max_reasks=2), match=f"HTTP {status}.*{hint}")

    assert type(err) is BackendError and err.status == status
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply.empty_choices, r"server answered 200 with no choices"),
        (lambda: Reply.cut_off(seed_reply()), r"cut off at max_tokens=4096; raise max_tokens in \[backends\.test\]"),
        (lambda: Reply.refusal("I cannot help with that request."), r"the model refused: I cannot help"),
        (lambda: Reply("json", "{}", headers={"x-finish-reason": "content_filter"}), r"content filter"),
    ],
    ids=["empty_choices", "length", "refusal", "content_filter"],
)
def test_answers_no_retry_can_fix_fail_at_once(
    reply: Callable[[], Reply], message: str, server: ChatServer, make_extractor: MakeExtractor
) -> None:
    server.push(*[reply() for _ in range(3)], VALID)

    err = fail(make_extractor(max_attempts=4, max_reasks=2), match=message)

    assert not isinstance(err, TransientBackendError)
    assert len(server.requests) == 1


# -- a server that never answers ---------------------------------------------------------


def test_server_that_never_answers_hits_request_timeout_on_every_attempt(
    server: ChatServer, make_extractor: MakeExtractor
) -> None:
    server.push(Reply.hang(30), Reply.hang(30), VALID)
    ex = make_extractor(request_timeout=0.5, max_attempts=2, deadline=60.0)

    started = time.monotonic()
    err = fail(ex, match=r"no answer within request_timeout=0\.5s.*gave up after 2 attempt")

    assert time.monotonic() - started < 20
    assert len(server.requests) == 2 and err.attempts == 2


def test_deadline_holds_when_every_attempt_would_wait_longer(server: ChatServer, make_extractor: MakeExtractor) -> None:
    server.push(*[Reply.hang(30)] * 4)
    ex = make_extractor(request_timeout=30.0, max_attempts=4, deadline=2.0)

    started = time.monotonic()
    fail(ex, DeadlineExceeded, match=r"enab-baladi-558021\.ar: no result within deadline=2s of backend 'test'")

    assert time.monotonic() - started < 20  # far below request_timeout * max_attempts = 120 s
    assert len(server.requests) == 1


def test_deadline_also_bounds_the_retry_waits(server: ChatServer, make_extractor: MakeExtractor) -> None:
    server.push(Reply.error(429, "wait", {"Retry-After": "30"}), VALID)
    ex = make_extractor(max_retry_after=60.0, deadline=2.0)

    started = time.monotonic()
    fail(ex, DeadlineExceeded, match="deadline=2s")

    assert time.monotonic() - started < 20
    assert len(server.requests) == 1


# -- retries and re-asks never multiply -------------------------------------------------------

E500 = Reply.error(500)


@pytest.mark.parametrize(
    ("script", "requests", "outcome"),
    [
        ([E500, E500], 2, BackendError),  # transport faults are not re-asked
        ([E500, INVALID, E500, INVALID], 4, ExtractionError),  # (max_reasks + 1) * max_attempts, the bound
        ([INVALID, E500, E500], 3, BackendError),  # a re-ask's transport retries stop at max_attempts
        ([INVALID, INVALID], 2, ExtractionError),  # re-asks stop at max_reasks
        ([E500, INVALID, E500, VALID], 4, None),  # worst case that still succeeds
        ([Reply.empty_choices()], 1, BackendError),  # not retried, not re-asked
    ],
    ids=["500,500", "500,bad,500,bad", "bad,500,500", "bad,bad", "500,bad,500,ok", "empty"],
)
def test_requests_never_exceed_what_the_config_allows(
    script: list[Reply],
    requests: int,
    outcome: type[Exception] | None,
    server: ChatServer,
    make_extractor: MakeExtractor,
) -> None:
    server.push(*script, *[VALID] * 6)  # spare answers: any extra request would succeed and show
    ex = make_extractor(max_attempts=2, max_reasks=1)

    if outcome is None:
        result = ex.extract(SEED)
        assert result.provenance.usage.requests == requests and result.provenance.attempts == 2
    else:
        with pytest.raises(outcome):
            ex.extract(SEED)
        assert ex.cache is not None and len(ex.cache) == 0
    assert len(server.requests) == requests


def test_a_chunk_that_fails_the_document_stops_its_sibling_chunks(tmp_path: Path) -> None:
    first_line = SEED.read_text(encoding="utf-8").split("\n")[0]

    def answer(request: RecordedRequest) -> Reply:
        if first_line in request.text:  # the first chunk: fails the document at once
            return Reply.error(401, "bad key")
        slow = Reply.error(503)  # the second chunk: slow transient faults, retried while it lives
        slow.delay = 1.0
        return slow

    with ChatServer(answer) as server:
        config = write_config(tmp_path / "c.toml", server.url, chunk_chars=1200, chunk_overlap=100, max_attempts=3)
        with Extractor.from_config(config) as ex:
            with pytest.raises(BackendError, match="HTTP 401"):
                ex.extract(SEED)
            time.sleep(2.5)  # long enough for two more attempts of an orphaned sibling
            assert ex.cache is not None and len(ex.cache) == 0

    siblings = len(split_chunks(SEED.read_text(encoding="utf-8"), 1200, 100)) - 1
    assert siblings >= 1
    assert sum(first_line in r.text for r in server.requests) == 1
    assert sum(first_line not in r.text for r in server.requests) <= siblings  # cancelled, never retried


def test_cli_reports_a_server_failure_on_exactly_one_line(tmp_path: Path, server: ChatServer) -> None:
    server.push(*[Reply.error(500, "upstream down")] * 2, VALID)
    config = write_config(tmp_path / "c.toml", server.url, max_attempts=2)

    proc = run_cli("extract", "-q", "--config", str(config), str(SEED))

    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "llm-extract: failed enab-baladi-558021.ar: test: server answered HTTP 500: Error code: 500 - "
        "{'error': {'message': 'upstream down', 'type': 'server_error', 'code': 500}} "
        "(gave up after 2 attempt(s), max_attempts=2)"
    ]
    assert len(server.requests) == 2


def test_an_answer_cut_off_after_finished_records_keeps_them_and_drops_the_one_it_was_writing(
    server: ChatServer, make_extractor: MakeExtractor
) -> None:
    """A small model that loops hits max_tokens: what it finished before the cut is not lost."""
    reply = seed_reply()
    reply["incidents"].append(reply["incidents"][0])  # the loop: the same incident again, cut short
    text = json.dumps(reply, ensure_ascii=False)
    cut = text[: text.rindex('"summary"')]  # inside the second incident
    server.push(Reply("json", cut, headers={"x-finish-reason": "length"}))

    result = make_extractor(max_reasks=0).extract(SEED, published="2022-03")

    assert len(server.requests) == 1
    assert len(result.incidents) == 1 and result.incidents[0].casualties[0].killed == 2
    assert any("cut off at max_tokens=4096: kept the 1 record(s)" in w for w in result.provenance.warnings)


def test_a_cut_in_a_later_list_keeps_the_earlier_lists_records(
    server: ChatServer, make_extractor: MakeExtractor
) -> None:
    reply = seed_reply()
    text = json.dumps(reply, ensure_ascii=False)
    cut = text[: text.index('"claims"')]  # inside the first personnel change, after the incident
    server.push(Reply("json", cut, headers={"x-finish-reason": "length"}))

    result = make_extractor(max_reasks=0).extract(SEED, published="2022-03")

    assert len(result.incidents) == 1 and result.personnel_changes == []
