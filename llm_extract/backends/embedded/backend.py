"""The embedded backend: the llama.cpp model behind the same contract as a server."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openai.types.chat import ChatCompletion
from pydantic import ValidationError

from ...config import BackendConfig, EmbeddedBackendConfig
from ...errors import BackendError, ConfigError
from .. import ModelRequest

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_grammar import LlamaGrammar
from .grammar import (
    ARTICLE_GRAMMARS,
    GRAMMAR_VERSION,
    JSON_CHAR,
    LOOSE_CHAR,
    PRETTY_SPACE,
    QUOTE_MARKER,
    QUOTE_RULE,
    SPACE_RULE,
    SPAN_MARKER,
    SPAN_RULE,
    article_span_rule,
    gbnf_literal,
    grammar_schema,
    schema_key,
    verbatim_quote_rule,
    without_schema_text,
)
from .prefix import PREFIX_DIR
from .runtime import Loaded, RepeatWatch, default_threads, keep_prefix_states, load, loaded_model, runtime_version
from .weights import RUNTIME_DIST, ensure_model, lookup, models_dir, part_files

log = logging.getLogger("llm_extract.embedded")


@dataclass
class _Generation:
    content: str
    finish: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    prompt_seconds: float = 0.0
    prompt_evaluated: int = 0


@dataclass
class EmbeddedStats:
    """Where an embedded backend's time went, summed over its generations.

    ``prompt_tokens`` counts every prompt token of every call (as an API
    would bill them); ``prompt_evaluated`` only those llama.cpp actually had
    to process, the rest being reused from its KV cache (the calls of one
    document share their prompt). Generation time includes grammar-constrained sampling.
    """

    generations: int = 0
    prompt_tokens: int = 0
    prompt_evaluated: int = 0
    prompt_seconds: float = 0.0
    generated_tokens: int = 0
    generation_seconds: float = 0.0

    @property
    def prompt_tokens_per_s(self) -> float | None:
        return self.prompt_evaluated / self.prompt_seconds if self.prompt_seconds > 0 else None

    @property
    def generated_tokens_per_s(self) -> float | None:
        return self.generated_tokens / self.generation_seconds if self.generation_seconds > 0 else None

    def add(self, g: _Generation) -> None:
        self.generations += 1
        self.prompt_tokens += g.prompt_tokens
        self.prompt_evaluated += g.prompt_evaluated
        self.prompt_seconds += g.prompt_seconds
        self.generated_tokens += g.completion_tokens
        self.generation_seconds += max(g.seconds - g.prompt_seconds, 0.0)


class EmbeddedBackend:
    """A packaged GGUF model run in this process by llama.cpp, grammar-constrained.

    Construction checks that the runtime and the weights are installed (one
    :class:`~llm_extract.errors.ConfigError` line with the pip command if
    not); the model is assembled, verified and loaded on the first request,
    and then shared by every backend in the process.
    """

    def __init__(self, name: str, config: BackendConfig, *, cache_dir: str | os.PathLike[str] | None = None) -> None:
        """Args:
        name: the ``[backends.NAME]`` this came from, for messages.
        config: an ``embedded`` backend config.
        cache_dir: the config's resolved ``[cache] dir``; models go in its
            ``models/`` folder (see :func:`models_dir` for the default).
        """
        if not isinstance(config, EmbeddedBackendConfig):
            raise TypeError("EmbeddedBackend needs an embedded backend config")
        self.name = name
        self.config: EmbeddedBackendConfig = config
        try:
            self.model = lookup(config.model)
        except ConfigError as exc:
            raise ConfigError(f"backends.{name}.model: {exc}") from None
        self.runtime_version = runtime_version()
        self.directory = models_dir(cache_dir)
        self.path = self.directory / f"{self.model.name}.gguf"
        if not self.path.is_file():
            part_files(self.model)  # fail now, with the pip command, rather than at the first document
        self.n_threads = config.n_threads or default_threads()
        self.stats = EmbeddedStats()
        """Token counts and seconds of this backend's generations (for progress lines and benchmarks)."""
        self._loaded: Loaded | None = None
        self._setup = threading.Lock()

    @property
    def secrets(self) -> tuple[str, ...]:
        return ()

    def identity(self) -> dict[str, Any]:
        """The model *file* (by sha256) and runtime version: what decides the answers."""
        return {
            "kind": self.config.kind,
            "model": self.model.name,
            "weights_sha256": self.model.sha256,
            "runtime": f"{RUNTIME_DIST} {self.runtime_version}",
            "max_items": self.config.max_items,
            "grammar": GRAMMAR_VERSION,
            "verbatim_quotes": self.config.verbatim_quotes,
        }

    def __repr__(self) -> str:
        return f"EmbeddedBackend(name={self.name!r}, model={self.model.name!r}, path={str(self.path)!r})"

    def describe_speed(self) -> str | None:
        """One line on where this backend's time went (``None`` before its first generation).

        A CPU model's speed depends on the machine and on what else runs on
        it, so the command line prints it after every run rather than the
        README promising a number.
        """
        st = self.stats
        if st.generations == 0:
            return None
        prompt = f" at {st.prompt_tokens_per_s:.1f} tok/s" if st.prompt_tokens_per_s else ""
        generated = f" at {st.generated_tokens_per_s:.1f} tok/s" if st.generated_tokens_per_s else ""
        return (
            f"{self.model.name} on {self.n_threads} thread(s): {st.generations} generation(s), "
            f"{st.prompt_evaluated:,} prompt tokens evaluated{prompt}, {st.generated_tokens:,} generated{generated}"
        )

    @property
    def load_seconds(self) -> float | None:
        """Seconds this process spent verifying and loading the model, once loaded."""
        return self._loaded.load_s if self._loaded else None

    @property
    def llama(self) -> Llama | None:
        """The loaded ``llama_cpp.Llama`` (shared by every backend of this process), once loaded."""
        return self._loaded.llama if self._loaded else None

    def load(self) -> None:
        """Assemble, verify and load the model now; otherwise the first request does it.

        Lets a command line say "loading the model" before the first document,
        and a notebook pay the load once, up front.

        Raises:
            ConfigError: the weights' packages are missing (the message is the pip command).
            BackendError: the file is corrupt and cannot be rebuilt, or llama.cpp cannot load it.
        """
        self._ensure_loaded()

    def _ensure_loaded(self) -> Loaded:
        with self._setup:
            if self._loaded is None:
                self._loaded = loaded_model(self.model, self.config.n_ctx, self.n_threads)
            if self._loaded is None:
                started = time.perf_counter()
                path = ensure_model(self.model, self.directory)  # hashes the file: once per process
                self._loaded = load(self.model, path, self.config.n_ctx, self.n_threads, time.perf_counter() - started)
            prefixes = self.directory.parent / PREFIX_DIR if self.config.prefix_cache else None
            keep_prefix_states(self._loaded, self.model, prefixes, self.config.n_ctx)
            return self._loaded

    async def complete(self, request: ModelRequest) -> ChatCompletion:
        """Run one chat completion in a worker thread; no retries (the engine decides).

        The answer follows ``request.schema`` (compiled into a grammar); with
        ``verbatim_quotes``, every evidence quote is one of ``request.passages`` and every
        string the schema marks as an article span one of ``request.spans``.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ChatCompletion] = loop.create_future()
        cancelled = threading.Event()

        def work() -> None:
            try:
                result: ChatCompletion | BaseException = self._complete_sync(request, cancelled)
            except BaseException as exc:  # delivered to the awaiting task below
                result = exc
            with contextlib.suppress(RuntimeError):  # the loop closed while we ran
                loop.call_soon_threadsafe(_settle, future, result)

        # A daemon thread rather than asyncio.to_thread: the executor's threads
        # are joined at exit, so Ctrl-C would wait for the generation to end.
        threading.Thread(target=work, name=f"llm_extract-{self.name}", daemon=True).start()
        try:
            return await future
        except asyncio.CancelledError:
            cancelled.set()  # the worker stops at its next token, or never starts
            raise

    def _complete_sync(self, request: ModelRequest, cancelled: threading.Event) -> ChatCompletion:
        """Answer ``request`` in one grammar-constrained generation.

        When the request holds one record list (``list_name``), the bytes are
        watched as they are sampled and the generation ends at the first exact
        repeat of an item (:class:`RepeatWatch`); the engine's merge drops
        repeats of any other answer.
        """
        loaded = self._ensure_loaded()
        schema = dict(request.schema) if request.schema is not None else None
        passages = request.passages if self.config.verbatim_quotes else ()
        spans = request.spans if self.config.verbatim_quotes else ()
        messages: list[dict[str, Any]] = [dict(m) for m in request.messages]
        if self.config.compact_prompt and schema is not None:
            messages = without_schema_text(messages)  # the grammar carries it
        with loaded.lock:
            if cancelled.is_set():
                raise BackendError(f"{self.name}: request cancelled before it started")
            loaded.running.cancelled = cancelled
            loaded.running.document = request.document
            watch = RepeatWatch() if request.list_name is not None else None
            loaded.running.watch = watch
            try:
                result = self._generate(loaded, messages, schema, self._sampling(request.sampling), passages, spans)
            finally:
                loaded.running.watch = None
            if watch is not None and watch.repeated_at is not None:
                log.info("%s: stopped %r at a repeated item", self.model.name, request.list_name)
                result.content, result.finish = watch.answer(), "stop"
        if cancelled.is_set():
            raise BackendError(f"{self.name}: request cancelled")
        return self._to_completion(result, request.tool)

    def _generate(
        self,
        loaded: Loaded,
        messages: list[Any],
        schema: dict[str, Any] | None,
        kwargs: dict[str, Any],
        passages: Sequence[str] = (),
        spans: Sequence[str] = (),
    ) -> _Generation:
        """One grammar-constrained chat completion; the caller holds the model's lock."""
        import llama_cpp

        grammar = self._grammar(loaded, schema, passages, spans)
        llama_cpp.llama_perf_context_reset(loaded.llama.ctx)
        started = time.perf_counter()
        try:
            raw = loaded.llama.create_chat_completion(messages=messages, grammar=grammar, stream=False, **kwargs)
        except ValueError as exc:
            if "exceed context window" in str(exc):
                raise BackendError(
                    f"{self.name}: the prompt does not fit n_ctx={self.config.n_ctx} ({exc}); "
                    f"lower chunk_chars or raise n_ctx in [backends.{self.name}]"
                ) from None
            raise BackendError(f"{self.name}: llama.cpp rejected the request ({exc})") from None
        except RuntimeError as exc:
            raise BackendError(f"{self.name}: llama.cpp failed while generating ({exc})") from None
        seconds = time.perf_counter() - started
        perf = llama_cpp.llama_perf_context(loaded.llama.ctx)
        if not isinstance(raw, dict):
            raise BackendError(f"{self.name}: llama.cpp returned a stream for a non-streaming request")
        choice = raw["choices"][0]
        usage = raw.get("usage") or {}
        result = _Generation(
            content=str(choice["message"].get("content") or ""),
            finish=str(choice.get("finish_reason") or "stop"),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            seconds=seconds,
            prompt_seconds=min(perf.t_p_eval_ms / 1000.0, seconds),
            prompt_evaluated=int(perf.n_p_eval),
        )
        self.stats.add(result)
        log.debug("%s answered (finish=%s): %s", self.model.name, result.finish, result.content)
        generating = max(seconds - result.prompt_seconds, 1e-9)
        log.info(
            "%s: %d prompt tokens (%d evaluated, %.1f s), %d generated in %.1f s (%.1f tok/s), finish=%s",
            self.model.name,
            result.prompt_tokens,
            result.prompt_evaluated,
            result.prompt_seconds,
            result.completion_tokens,
            generating,
            result.completion_tokens / generating,
            result.finish,
        )
        return result

    def _grammar(
        self, loaded: Loaded, schema: dict[str, Any] | None, passages: Sequence[str] = (), spans: Sequence[str] = ()
    ) -> LlamaGrammar:
        """The grammar for ``schema`` (plain JSON without one), compiled and checked once per schema.

        llama.cpp crashes the process, rather than raising, when it samples
        with a grammar it cannot parse, so every grammar is parsed once by
        llama.cpp itself before it is used. With ``passages``, every evidence
        quote must be one of them, and with ``spans`` every marked name or place:
        the grammar is then the article's own, and only the last few are kept.
        """
        own = "\x00".join(passages) + ("\x01" + "\x00".join(spans) if spans else "")
        article = hashlib.sha256(own.encode()).hexdigest() if own else ""
        key = f"{self.config.max_items}:{schema_key(schema)}:{article}"
        grammar = loaded.grammars.get(key)
        if grammar is None:
            import llama_cpp
            from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar, json_schema_to_gbnf

            try:
                marker = QUOTE_MARKER if passages else None
                span_marker = SPAN_MARKER if spans else None
                text = (
                    json_schema_to_gbnf(json.dumps(grammar_schema(schema, self.config.max_items, marker, span_marker)))
                    if schema is not None
                    else JSON_GBNF
                )
                text = SPACE_RULE.sub(lambda _: PRETTY_SPACE, text, count=1)
                text = text.replace(LOOSE_CHAR, JSON_CHAR)
                placeholder = gbnf_literal(json.dumps(QUOTE_MARKER))  # how the converter wrote the constant
                if marker is not None and placeholder in text:
                    text = text.replace(placeholder, QUOTE_RULE) + "\n" + verbatim_quote_rule(passages) + "\n"
                placeholder = gbnf_literal(json.dumps(SPAN_MARKER))
                if span_marker is not None and placeholder in text:
                    text = text.replace(placeholder, SPAN_RULE) + "\n" + article_span_rule(spans) + "\n"
            except (ValueError, AssertionError, KeyError, TypeError, NotImplementedError) as exc:
                raise BackendError(
                    f"{self.name}: the task's JSON schema cannot be turned into a llama.cpp grammar "
                    f"({type(exc).__name__}: {str(exc)[:200]}); simplify the schema (patterns, formats)"
                ) from None
            vocab = llama_cpp.llama_model_get_vocab(loaded.llama.model)
            sampler = llama_cpp.llama_sampler_init_grammar(vocab, text.encode("utf-8"), b"root")
            if not sampler:
                raise BackendError(
                    f"{self.name}: llama.cpp cannot parse the grammar built from the task's JSON schema "
                    "(its parse error is on stderr); simplify the schema's patterns"
                )
            llama_cpp.llama_sampler_free(sampler)
            grammar = LlamaGrammar.from_string(text, verbose=False)
            if article:
                per_article = [k for k in loaded.grammars if not k.endswith(":")]
                for old in per_article[: max(0, len(per_article) - ARTICLE_GRAMMARS + 1)]:
                    del loaded.grammars[old]
            loaded.grammars[key] = grammar
        return grammar

    def _sampling(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The request's sampling settings in llama.cpp's names; the config fills what the request lacks."""
        cfg = self.config
        kwargs: dict[str, Any] = {
            "temperature": float(request.get("temperature", cfg.temperature)),
            "max_tokens": int(request.get("max_tokens") or request.get("max_completion_tokens") or cfg.max_tokens),
            "repeat_penalty": float(request.get("repeat_penalty", cfg.repeat_penalty)),
        }
        if request.get("top_p") is not None:
            kwargs["top_p"] = float(request["top_p"])
        seed = request.get("seed", cfg.seed)
        if seed is not None:
            kwargs["seed"] = int(seed)
        stop = request.get("stop")
        if stop:
            kwargs["stop"] = stop
        return kwargs

    def _to_completion(self, result: _Generation, tool: str | None) -> ChatCompletion:
        """The answer as a validated ``ChatCompletion``: a tool call when one was asked for, usage included."""
        finish = result.finish
        message: dict[str, Any] = {"role": "assistant", "content": result.content}
        if tool is not None:
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{uuid.uuid4().hex[:12]}",
                        "type": "function",
                        "function": {"name": tool, "arguments": result.content},
                    }
                ],
            }
            finish = "tool_calls" if finish == "stop" else finish
        body = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model.name,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {
                "prompt_tokens": result.prompt_tokens,
                "completion_tokens": result.completion_tokens,
                "total_tokens": result.prompt_tokens + result.completion_tokens,
            },
        }
        try:
            return ChatCompletion.model_validate(body)
        except ValidationError as exc:
            raise BackendError(
                f"{self.name}: llama.cpp returned an unexpected completion ({exc.error_count()} errors)"
            ) from None

    async def aclose(self) -> None:
        """Forget this backend's handle; the model stays loaded for the rest of the process.

        Call :func:`unload_models` to free its memory.
        """
        self._loaded = None


def _settle(future: asyncio.Future[ChatCompletion], result: ChatCompletion | BaseException) -> None:
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
