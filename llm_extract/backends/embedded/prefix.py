"""The fixed prompt prefix, evaluated once per model and prompt, kept in the cache directory.

The system prompt (the task's rules, and in some instructor modes the
schema) is the same for every document, yet a new process has to read it
again before the first article: hundreds of tokens at ~40 tokens/s on two
cores. llama.cpp can export the key/value cache of a sequence and import it
later, so the prefix's state is computed once, written to
``<cache dir>/prefix-states/``, and loaded by every later process (and by
this one whenever its context was last used for another prompt); llama-cpp-python's
own longest-common-prefix match then evaluates only the article's tokens.

Why not ``LlamaDiskCache``/``LlamaState``: they pickle a ``LlamaState``,
and unpickling a file from a cache directory runs whatever it says; they
also carry a logits matrix of ``n_batch x n_vocab`` floats (about 300 MB
for Qwen2.5's vocabulary). This module writes the sequence's KV state only,
as raw bytes behind a JSON header that names what the state belongs to:

* the model file (its pinned sha256), ``n_ctx`` and the llama-cpp-python
  version: a state from another model, size or runtime is *stale*;
* the prefix's tokens (their sha256): the file name is derived from all of
  the above, and the header is checked again on load;
* the payload's size and sha256: a truncated or altered file is *corrupt*.

A stale or corrupt file is never handed to llama.cpp (whose state reader
asserts, aborting the process, on some malformed input): it is reported with
a warning and rebuilt. Files are written to a temporary name in the same
directory and renamed into place, so a reader never sees half a file, and
two processes building the same state at once both leave a whole one.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import logging
import os
import struct
import tempfile
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llama_cpp import Llama

log = logging.getLogger("llm_extract.embedded")

__all__ = ["MIN_PREFIX_TOKENS", "PREFIX_DIR", "Identity", "PrefixStore", "StaleState", "prefix_length", "truncate"]

PREFIX_DIR = "prefix-states"
"""The folder of the cache dir (beside ``models/``) that holds the state files."""
MAGIC = b"LLMXKV01"
"""First bytes of a state file; bumped when the layout below changes."""
SUFFIX = ".kvstate"
MIN_PREFIX_TOKENS = 16
"""Shorter prefixes cost less to evaluate than to load."""
KEEP_FILES = 16
"""State files kept per cache directory (the least recently used beyond it are removed)."""
KEEP_IN_MEMORY = 4
"""Verified payloads kept in memory, for strategies that alternate between prompts."""
_SEQ = 0
"""llama-cpp-python evaluates every prompt in sequence 0."""


class StaleState(Exception):
    """A state file that does not belong to this model, prompt and runtime, or is damaged."""


@dataclass(frozen=True)
class Identity:
    """What a prefix state is valid for, besides its tokens."""

    model_sha256: str
    n_ctx: int
    runtime: str

    def header(self, tokens: Sequence[int]) -> dict[str, Any]:
        return {
            "model_sha256": self.model_sha256,
            "n_ctx": self.n_ctx,
            "runtime": self.runtime,
            "n_tokens": len(tokens),
            "tokens_sha256": _tokens_sha256(tokens),
        }

    def key(self, tokens: Sequence[int]) -> str:
        return hashlib.sha256(json.dumps(self.header(tokens), sort_keys=True).encode()).hexdigest()


def _tokens_sha256(tokens: Sequence[int]) -> str:
    return hashlib.sha256(struct.pack(f"<{len(tokens)}i", *tokens)).hexdigest()


def prefix_length(llama: Llama, tokens: Sequence[int], text: str) -> int:
    """How many of the prompt's ``tokens`` it takes to cover ``text`` (the system message); 0 if absent.

    The chat template wraps the system message in its own marker tokens,
    which differ between models; rather than re-render the template, the
    prompt's own tokens are searched (by bisection over their decoded text)
    for the shortest run that contains the message. The run ends inside the
    fixed part, so every document with the same system message starts with
    the same tokens.
    """
    needle = text.strip().encode("utf-8")
    if not needle or needle not in llama.detokenize(list(tokens)):
        return 0
    lo, hi = 1, len(tokens)
    while lo < hi:
        mid = (lo + hi) // 2
        if needle in llama.detokenize(list(tokens[:mid])):
            hi = mid
        else:
            lo = mid + 1
    return lo


class PrefixStore:
    """State files of evaluated prompt prefixes in one directory, for one model and runtime.

    ``prepare`` is called with the prompt's tokens just before llama.cpp
    generates; it leaves the context holding the prefix, from memory, from a
    verified file, or evaluated now and saved.
    """

    def __init__(self, directory: Path, identity: Identity) -> None:
        self.directory = directory
        self.identity = identity
        self._memory: OrderedDict[str, bytes] = OrderedDict()
        self.loads = 0
        """States loaded into the context (from a file or memory), for tests and benchmarks."""
        self.builds = 0
        """States evaluated and saved because none could be used."""

    def path(self, tokens: Sequence[int]) -> Path:
        return self.directory / f"{self.identity.key(tokens)}{SUFFIX}"

    # -- the context ------------------------------------------------------------

    def prepare(self, llama: Llama, prefix: Sequence[int]) -> int:
        """Leave ``llama`` holding the evaluated ``prefix`` (unless it does); how many tokens it keeps (0: none)."""
        n = len(prefix)
        if n < MIN_PREFIX_TOKENS or n >= llama.n_ctx():
            return 0
        key = self.identity.key(prefix)
        holds = llama.n_tokens >= n and list(llama.input_ids[:n]) == list(prefix)
        if holds and key in self._memory:
            return n  # in the context and saved: llama-cpp-python's prefix match reuses it
        payload = self._memory.get(key)
        saved = payload is not None
        if payload is None:
            payload = self._read(prefix)
            saved = payload is not None
        if holds and payload is None:
            # The context already holds the prefix (evaluated for an earlier answer): export it.
            truncate(llama, n)
            payload = self._export(llama)
        elif not holds and payload is not None:
            if self._restore(llama, prefix, payload):
                self.loads += 1
                log.info("prefix state: %d prompt tokens loaded, not evaluated", n)
            else:
                payload, saved = None, False
        if not holds and payload is None:
            truncate(llama, 0)
            llama.eval(list(prefix))
            payload = self._export(llama)
            self.builds += 1
        if payload is None:
            return n
        self._remember(key, payload)
        if not saved:
            self._save(prefix, payload)
        return n

    def _save(self, prefix: Sequence[int], payload: bytes) -> None:
        try:
            self._write(prefix, payload)
        except OSError as exc:  # a read-only or full cache dir costs speed, never the answer
            log.warning("prefix state: cannot write in %s (%s); it is evaluated again next time", self.directory, exc)

    def _remember(self, key: str, payload: bytes) -> None:
        self._memory[key] = payload
        self._memory.move_to_end(key)
        while len(self._memory) > KEEP_IN_MEMORY:
            self._memory.popitem(last=False)

    def _restore(self, llama: Llama, prefix: Sequence[int], payload: bytes) -> bool:
        """Import ``payload`` as sequence 0; ``False`` (context cleared) if llama.cpp refuses it."""
        import llama_cpp

        truncate(llama, 0)
        buffer = (ctypes.c_uint8 * len(payload)).from_buffer_copy(payload)
        read = llama_cpp.llama_state_seq_set_data(llama.ctx, buffer, len(payload), _SEQ)
        if int(read) <= 0:
            truncate(llama, 0)
            log.warning("prefix state: llama.cpp did not accept the saved state; rebuilding it")
            return False
        llama.input_ids[: len(prefix)] = prefix
        llama.n_tokens = len(prefix)
        # The logits are not part of the state: the next decode (the article) refreshes them.
        llama._requires_eval = True
        return True

    def _export(self, llama: Llama) -> bytes | None:
        """The state of sequence 0 (the prefix the context holds now)."""
        import llama_cpp

        size = int(llama_cpp.llama_state_seq_get_size(llama.ctx, _SEQ))
        buffer = (ctypes.c_uint8 * size)()
        written = int(llama_cpp.llama_state_seq_get_data(llama.ctx, buffer, size, _SEQ))
        if written <= 0 or written > size:
            log.warning("prefix state: llama.cpp could not export the prompt state; it is not kept")
            return None
        return bytes(buffer[:written])

    # -- the files ---------------------------------------------------------------

    def _read(self, prefix: Sequence[int]) -> bytes | None:
        """The verified payload of ``prefix``'s file; ``None`` (with a warning if one was there but bad)."""
        path = self.path(prefix)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("prefix state: cannot read %s (%s); rebuilding it", path, exc)
            return None
        try:
            payload = self._verified(data, prefix)
        except StaleState as exc:
            log.warning("prefix state: %s is %s; rebuilding it", path, exc)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: kept by the pruning below
        return payload

    def _verified(self, data: bytes, prefix: Sequence[int]) -> bytes:
        """The payload of ``data``, after checking every field of its header.

        Raises:
            StaleState: the reason, in a few words.
        """
        if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
            raise StaleState("not a prefix state file (corrupt)")
        (length,) = struct.unpack_from("<I", data, len(MAGIC))
        start = len(MAGIC) + 4
        try:
            header = json.loads(data[start : start + length].decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise StaleState("corrupt (unreadable header)") from None
        if not isinstance(header, dict):
            raise StaleState("corrupt (unreadable header)")
        expected = self.identity.header(prefix)
        for field, value in expected.items():
            if header.get(field) != value:
                raise StaleState(f"stale ({field} differs)")
        payload = data[start + length :]
        if len(payload) != header.get("payload_size") or hashlib.sha256(payload).hexdigest() != header.get(
            "payload_sha256"
        ):
            raise StaleState("corrupt (its checksum does not match)")
        return payload

    def _write(self, prefix: Sequence[int], payload: bytes) -> None:
        """Write ``prefix``'s file atomically: a temporary file in the same directory, then a rename."""
        self.directory.mkdir(parents=True, exist_ok=True)
        header = self.identity.header(prefix) | {
            "payload_size": len(payload),
            "payload_sha256": hashlib.sha256(payload).hexdigest(),
        }
        head = json.dumps(header, sort_keys=True).encode("utf-8")
        target = self.path(prefix)
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".partial", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(MAGIC + struct.pack("<I", len(head)) + head)
                out.write(payload)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        log.info("prefix state: %d prompt tokens saved to %s", len(prefix), target.name)
        self._prune()

    def _prune(self) -> None:
        """Remove the least recently used state files beyond :data:`KEEP_FILES` (ours only)."""
        try:
            files = sorted(self.directory.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
        except OSError:
            return
        for old in files[KEEP_FILES:]:
            with contextlib.suppress(OSError):
                old.unlink()


def truncate(llama: Llama, n: int) -> None:
    """Keep only the first ``n`` tokens of the context (their KV cells); the next decode refreshes the logits."""
    llama.n_tokens = n
    llama._ctx.kv_cache_seq_rm(-1, n, -1)
    llama._requires_eval = True
