"""The llama.cpp runtime: one loaded model per process, shared by every backend, closed at exit."""

from __future__ import annotations

import atexit
import importlib.metadata
import importlib.util
import json
import logging
import os
import threading
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import BackendError, ConfigError

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_grammar import LlamaGrammar
from ...merge import item_key
from .prefix import Identity, PrefixStore, prefix_length, truncate
from .sampling import GreedyGrammar, greedy_applies
from .weights import PORTABLE_CMAKE_ARGS, RUNTIME_DIST, RUNTIME_VERSION, PackagedModel

log = logging.getLogger("llm_extract.embedded")

# --- the runtime ---------------------------------------------------------------------


def runtime_version() -> str:
    """The installed llama-cpp-python version, or a ConfigError that says how to install it."""
    try:
        installed = importlib.metadata.version(RUNTIME_DIST)
    except importlib.metadata.PackageNotFoundError:
        installed = None
    if installed is None or importlib.util.find_spec("llama_cpp") is None:
        raise ConfigError(
            f"the embedded backend needs {RUNTIME_DIST}=={RUNTIME_VERSION}, which is not installed; "
            f"fix: CMAKE_ARGS=\"{PORTABLE_CMAKE_ARGS}\" pip install 'llm_extract[embedded]'"
        )
    return installed


@dataclass
class Loaded:
    """A model loaded in this process and the lock that serialises its use."""

    llama: Llama
    lock: threading.Lock
    running: _Running
    grammars: dict[str, LlamaGrammar]
    load_s: float


class _Running:
    """The cancel flag and repeat watch of the request the model is working on now (set under the lock)."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self.watch: RepeatWatch | None = None
        self.prefixes: PrefixStore | None = None
        """Where the fixed prompt prefix's state is kept (``None``: not kept)."""
        self.system: str | None = None
        """The system message of the chat completion being generated: the fixed prefix."""
        self.prefix_tokens: dict[str, tuple[int, ...]] = {}
        """The prefix tokens found for each system message (found once, checked every time)."""
        self.greedy: GreedyGrammar | None = None
        """The grammar-constrained greedy sampler of the generation under way."""
        self.document = ""
        """The document of the request being answered (``""``: unknown, a document of its own)."""
        self.last_document: str | None = None
        """The document whose tokens the context holds after the fixed prefix."""


class RepeatWatch:
    """Stops a one-list answer (``{"name": [...]}``) when an item repeats an earlier one exactly.

    Small models at temperature 0 fall into writing the same record again
    until the list cap; each copy costs as long as the original (a minute for
    a personnel change) and is dropped anyway. Watching the bytes as they are
    sampled, the first exact repeat ends the generation; :meth:`answer` then
    closes the list after the last new item, so nothing the model found is lost.
    """

    def __init__(self) -> None:
        self.text = bytearray()
        self.repeated_at: int | None = None
        self._depth = 0
        self._in_string = False
        self._escaped = False
        self._item_start = 0
        self._seen: set[str] = set()

    def feed(self, piece: bytes) -> bool:
        """Add the bytes of one sampled token; ``True`` once an item has repeated."""
        for byte in piece:
            self.text.append(byte)
            if self._in_string:
                if self._escaped:
                    self._escaped = False
                elif byte == 0x5C:  # backslash
                    self._escaped = True
                elif byte == 0x22:  # quote
                    self._in_string = False
            elif byte == 0x22:
                self._in_string = True
            elif byte in (0x7B, 0x5B):  # { [
                self._depth += 1
                if self._depth == 3:
                    self._item_start = len(self.text) - 1
            elif byte in (0x7D, 0x5D):  # } ]
                self._depth -= 1
                if self._depth == 2 and self._item_closed():
                    return True
        return False

    def _item_closed(self) -> bool:
        try:
            item = json.loads(bytes(self.text[self._item_start :]))
        except ValueError:
            return False
        key = item_key(item)
        if key in self._seen:
            self.repeated_at = self._item_start
            return True
        self._seen.add(key)
        return False

    def answer(self) -> str:
        """The answer up to the repeat, with its list and object closed."""
        head = bytes(self.text[: self.repeated_at]).decode("utf-8").rstrip().removesuffix(",")
        return head + "\n  ]\n}"


_MODELS: dict[tuple[str, int, int], Loaded] = {}
_MODELS_LOCK = threading.Lock()


def unload_models() -> None:
    """Free every model this process loaded (the next call loads again).

    Backends do not unload on ``aclose``: the point of the process-wide
    cache is that a second extractor reuses the model the first one loaded.
    """
    with _MODELS_LOCK:
        for loaded in _MODELS.values():
            with loaded.lock:
                loaded.llama.close()
        _MODELS.clear()


def _close_at_exit() -> None:
    """Free loaded models while the interpreter still works.

    Left to garbage collection at shutdown, llama-cpp-python's finaliser
    runs after the modules it needs are gone and prints a traceback. A model
    still generating (a worker thread after Ctrl-C) is told to stop and given
    a moment; if it does not, the OS reclaims it.
    """
    with _MODELS_LOCK:
        for loaded in _MODELS.values():
            loaded.running.cancelled.set()
            if loaded.lock.acquire(timeout=2.0):
                try:
                    loaded.llama.close()
                finally:
                    loaded.lock.release()
        _MODELS.clear()


def loaded_model(spec: PackagedModel, n_ctx: int, n_threads: int) -> Loaded | None:
    """The model this process already loaded with these settings, if any."""
    with _MODELS_LOCK:
        return _MODELS.get((spec.sha256, n_ctx, n_threads))


def load(spec: PackagedModel, path: Path, n_ctx: int, n_threads: int, verified_s: float = 0.0) -> Loaded:
    """Load ``path`` (just verified by :func:`ensure_model`) once per process for these settings."""
    key = (spec.sha256, n_ctx, n_threads)
    with _MODELS_LOCK:
        loaded = _MODELS.get(key)
        if loaded is not None:
            return loaded
        started = time.perf_counter() - verified_s
        try:
            from llama_cpp import Llama
        except (ImportError, OSError) as exc:
            raise BackendError(
                f"the embedded runtime {RUNTIME_DIST} is installed but cannot be loaded ({exc}); "
                f'reinstall it: CMAKE_ARGS="{PORTABLE_CMAKE_ARGS}" pip install --force-reinstall '
                f"--no-cache-dir {RUNTIME_DIST}=={RUNTIME_VERSION}"
            ) from None
        running = _Running()

        class _Cancellable(Llama):
            """Stops generating at the next token once the running request is cancelled.

            llama.cpp's own loop cannot be interrupted from outside, and a
            deadline or Ctrl-C must not leave the model busy for minutes.
            """

            def create_chat_completion(self, *args: Any, **kwargs: Any) -> Any:
                # The chat template turns messages into tokens inside llama-cpp-python; the
                # system message, noted here, is how ``generate`` finds the fixed prefix in them.
                messages = kwargs.get("messages") or (args[0] if args else [])
                first = messages[0] if messages else None
                is_system = isinstance(first, dict) and first.get("role") == "system"
                running.system = first.get("content") if is_system and isinstance(first, dict) else None
                try:
                    return super().create_chat_completion(*args, **kwargs)
                finally:
                    running.system = None

            def generate(
                self, tokens: Sequence[int], *args: Any, **kwargs: Any
            ) -> Generator[int, Sequence[int] | None, None]:
                # Before llama-cpp-python matches the prompt against its KV cache, the context is
                # given the fixed prefix's state if it lacks it (loaded, or evaluated and saved).
                if kwargs.get("reset", True):
                    kept = 0
                    if running.prefixes is not None and isinstance(running.system, str):
                        prefix = _fixed_prefix(self, running, tokens, running.system)
                        if prefix:
                            kept = running.prefixes.prepare(self, prefix)
                    if not running.document or running.document != running.last_document:
                        _new_document(self, kept)
                    running.last_document = running.document
                running.greedy = None  # a new generation: the grammar starts again
                try:
                    for token in super().generate(tokens, *args, **kwargs):
                        if running.cancelled.is_set():
                            return
                        watch = running.watch
                        if watch is not None and watch.feed(self.detokenize([token])):
                            return
                        yield token
                finally:
                    if running.greedy is not None:
                        running.greedy.close()
                        running.greedy = None

            def sample(self, *args: Any, **kwargs: Any) -> int:
                # Greedy under a grammar: the grammar judges the best token first, not the whole vocabulary.
                if args or not greedy_applies(kwargs):
                    return int(super().sample(*args, **kwargs))
                greedy = running.greedy
                if greedy is None or greedy.grammar is not kwargs["grammar"]:
                    if greedy is not None:
                        greedy.close()
                    greedy = running.greedy = GreedyGrammar(
                        self, kwargs["grammar"], float(kwargs.get("repeat_penalty", 1.0)), self.last_n_tokens_size
                    )
                idx = kwargs.get("idx")
                return greedy.sample(idx - self.n_tokens if idx is not None else -1)

        try:
            llama = _Cancellable(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise BackendError(f"llama.cpp could not load {path} ({exc})") from None
        loaded = Loaded(llama, threading.Lock(), running, {}, time.perf_counter() - started)
        if not _MODELS:
            atexit.register(_close_at_exit)
        _MODELS[key] = loaded
        log.info("loaded %s (n_ctx=%d, %d threads) in %.1f s", spec.name, n_ctx, n_threads, loaded.load_s)
        return loaded


def _new_document(llama: Llama, kept: int) -> None:
    """Cut the context back to what a new process holds before its first call: the ``kept`` prefix tokens.

    Left whole, it would still hold the last document's prompt, and llama-cpp-python's prefix match
    would reuse the chat template's tokens that follow the system message in both; the new article
    would then be evaluated from another position, in other batches. llama.cpp's arithmetic depends on
    those batches, and greedy decoding amplifies the difference: one dev document answered 611 tokens in
    a new process and was cut off at 1,536 in a whole run. Cut back, a document's answers are the same
    whatever was read before it, so one document can be measured alone.
    """
    if llama.n_tokens > kept:
        truncate(llama, kept)


def _fixed_prefix(llama: Llama, running: _Running, tokens: Sequence[int], system: str) -> tuple[int, ...]:
    """The tokens of ``tokens`` that end with the system message (empty if it is not there)."""
    known = running.prefix_tokens.get(system)
    if known is not None and tuple(tokens[: len(known)]) == known:
        return known
    n = prefix_length(llama, tokens, system)
    found = tuple(tokens[:n]) if 0 < n < len(tokens) else ()
    if len(running.prefix_tokens) >= 16:
        running.prefix_tokens.clear()
    running.prefix_tokens[system] = found
    return found


def keep_prefix_states(loaded: Loaded, spec: PackagedModel, directory: Path | None, n_ctx: int) -> None:
    """Keep the fixed prompt prefix's llama.cpp state in ``directory`` (``None``: do not).

    The store belongs to the loaded model, which every backend of the
    process shares: the last backend to ask decides the directory.
    """
    running = loaded.running
    if directory is None:
        running.prefixes = None
    elif running.prefixes is None or running.prefixes.directory != directory:
        identity = Identity(spec.sha256, n_ctx, f"{RUNTIME_DIST} {runtime_version()}")
        running.prefixes = PrefixStore(directory, identity)


def default_threads() -> int:
    """CPUs this process may run on (cgroup/affinity aware where the OS says)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)
