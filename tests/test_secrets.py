"""The API key appears nowhere (issue 6, section 10; issue 3, section 10).

The server here echoes the bearer token into its error bodies, as some do, and every logger
(ours, openai's, httpx's, httpcore's, instructor's) runs at DEBUG. The key must not show up
in logs, exception text (the whole chain, hidden context included), any ``repr``, the cache
directory, results, reports or the command line's output.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SECRET, SEED, run_cli, seed_reply, write_config

from llm_extract import BackendError, Extractor, load_config
from llm_extract.testing import ChatServer, Reply

KEY_ENV = "LLM_EXTRACT_TEST_KEY"
FRAGMENT = SECRET[-16:]  # catches a key cut in half as well as a whole one
LOGGERS = ("llm_extract", "openai", "httpx", "httpx2", "httpcore", "httpcore2", "instructor")


def leaks(text: str | bytes) -> bool:
    if isinstance(text, bytes):
        return SECRET.encode() in text or FRAGMENT.encode() in text
    return SECRET in text or FRAGMENT in text


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, SECRET)
    return KEY_ENV


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


@pytest.fixture
def echo_server() -> Iterator[ChatServer]:
    with ChatServer(echo_key=True) as srv:
        yield srv


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes and contexts, hidden (suppressed) ones included."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        stack += [item.__cause__, item.__context__]


def assert_logs_clean(caplog: pytest.LogCaptureFixture) -> None:
    assert caplog.records, "nothing was logged: the DEBUG capture is not working"
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in caplog.records:
        assert not leaks(formatter.format(record)), record.name
        assert not leaks(repr(record.args)), record.name
    assert not leaks(caplog.text)


def assert_dir_clean(directory: Path) -> None:
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert files, f"{directory} holds no files to check"
    for path in files:
        assert not leaks(path.read_bytes()), path


@pytest.mark.parametrize(
    "replies",
    [[Reply.error(401, "error: invalid key")], [Reply.error(500, "error: upstream")] * 3],
    ids=["401", "500-retried"],
)
def test_key_echoed_by_the_server_is_in_no_log_exception_or_repr(
    replies: list[Reply],
    keyed: str,
    echo_server: ChatServer,
    debug_logs: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    echo_server.push(*replies)
    config = load_config(write_config(tmp_path / "c.toml", echo_server.url, api_key_env=keyed))
    ex = Extractor(config)

    with pytest.raises(BackendError) as info:
        ex.extract(SEED)

    headers = {k.lower(): v for k, v in echo_server.requests[0].headers.items()}
    assert headers["authorization"] == f"Bearer {SECRET}"  # the key was really sent
    assert "Bearer ***" in str(info.value)  # ... and really echoed, then redacted
    for exc in exception_chain(info.value):
        assert not leaks(str(exc)) and not leaks(repr(exc)) and not leaks(repr(vars(exc))), type(exc).__name__
    assert not leaks("".join(traceback.format_exception(info.value)))
    assert_logs_clean(debug_logs)
    for obj in (config, ex, ex.backend, ex.backend_config, vars(ex), vars(ex.backend)):
        assert not leaks(repr(obj)) and not leaks(str(obj))
    assert not leaks(ex.backend_config.model_dump_json()) and not leaks(config.model_dump_json())
    ex.close()


def test_key_is_in_no_result_cache_file_or_log_after_a_successful_run(
    keyed: str, echo_server: ChatServer, debug_logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    echo_server.push(Reply.error(503, "error: busy"), Reply.records(seed_reply()))
    with Extractor.from_config(write_config(tmp_path / "c.toml", echo_server.url, api_key_env=keyed)) as ex:
        result = ex.extract(SEED)
        assert ex.cache is not None
        cache_dir = ex.cache.directory
        assert ex.extract(SEED).provenance.cache_hit

    assert len(echo_server.requests) == 2
    assert not leaks(result.to_json()) and not leaks(repr(result))
    assert_dir_clean(cache_dir)
    assert_logs_clean(debug_logs)


def test_key_is_in_no_cli_output_or_report_at_debug_verbosity(
    keyed: str, echo_server: ChatServer, tmp_path: Path
) -> None:
    echo_server.push(Reply.error(401, "error: invalid key"), Reply.error(503, "error: busy"), Reply.error(503))
    echo_server.push(Reply.records(seed_reply()))
    cache_dir = tmp_path / "cache"
    other = tmp_path / "other.txt"
    other.write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    config = write_config(tmp_path / "c.toml", echo_server.url, api_key_env=keyed, cache_dir=cache_dir, concurrency=1)
    errors, summary = tmp_path / "errors.jsonl", tmp_path / "summary.json"

    proc = run_cli(
        "extract",
        "-vv",
        "--config",
        str(config),
        "--errors",
        str(errors),
        "--summary",
        str(summary),
        str(SEED),
        str(other),
        env={KEY_ENV: SECRET, "LLM_EXTRACT_CACHE_DIR": str(cache_dir)},
    )

    assert proc.returncode == 1  # the first document failed with 401, the second succeeded after retries
    assert "DEBUG" in proc.stderr and "Bearer ***" in proc.stderr  # debug on, echo happened and was redacted
    assert [json.loads(line)["doc_id"] for line in proc.stdout.splitlines()] == ["other"]
    assert not leaks(proc.stdout) and not leaks(proc.stderr)
    assert not leaks(errors.read_text(encoding="utf-8")) and "HTTP 401" in errors.read_text(encoding="utf-8")
    assert not leaks(summary.read_text(encoding="utf-8"))
    assert_dir_clean(cache_dir)
