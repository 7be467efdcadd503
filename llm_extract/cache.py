"""A result cache that stores JSON text and never unpickles.

diskcache pickles any value that is not ``str``/``bytes``/number and
unpickles it on read, so an entry planted in the cache directory could run
code (CVE-2025-69872). :class:`JSONDisk` refuses both directions: only text
goes in, and an entry stored any other way reads as a miss. The directory is
created private (0700) because results may quote sensitive sources.

Entries are written in one SQLite transaction after a result validated, so
a killed process leaves either the whole entry or none.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import sqlite3
from pathlib import Path
from typing import Any

import diskcache

from .errors import ConfigError

__all__ = ["JSONDisk", "ResultCache", "cache_key", "sha256_text"]

log = logging.getLogger(__name__)

CACHE_FORMAT = 1
"""Bumped when the stored layout changes, so old entries stop matching."""


class UnsafeEntry(Exception):
    """An entry that was not stored as text by this cache."""


class JSONDisk(diskcache.Disk):  # type: ignore[misc]
    """A diskcache ``Disk`` for ``str`` keys and ``str`` values only."""

    def put(self, key: Any) -> tuple[Any, bool]:
        if not isinstance(key, str):
            raise TypeError("cache keys must be str")
        return super().put(key)  # type: ignore[no-any-return]

    def get(self, key: Any, raw: bool) -> Any:
        if not raw:
            raise UnsafeEntry("pickled key")
        return super().get(key, raw)

    def store(self, value: Any, read: bool, key: Any = diskcache.UNKNOWN) -> Any:
        if not isinstance(value, str):
            raise TypeError("cache values must be JSON text")
        return super().store(value, read, key=key)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        if mode != diskcache.core.MODE_RAW or filename is not None:
            # We store every value inline (see ResultCache); a row that names a file was not
            # written by us, and reading it would open whatever path the row says.
            raise UnsafeEntry(f"entry stored in mode {mode}" + (" in a file" if filename else ""))
        return super().fetch(mode, filename, value, read)

    def remove(self, file_path: str) -> None:
        """Never delete a file a row names.

        diskcache removes the file of a row it overwrites or evicts; a tampered
        row can name any path (``/home/me/thesis.txt``, ``../victim``). This
        cache writes no files, so there is nothing of ours to remove.
        """
        log.warning("ignoring cache entry's file %r: this cache stores values inline only", file_path)


def _gone(holder: str) -> bool:
    """Whether a lease holder (``host:pid``) was a process on this machine that has ended."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_key(parts: dict[str, Any]) -> str:
    """A stable key: canonical JSON (sorted keys) hashed, so dict order never matters."""
    blob = json.dumps({"format": CACHE_FORMAT, **parts}, sort_keys=True, ensure_ascii=False, default=str)
    return sha256_text(blob)


class ResultCache:
    """Validated results as JSON text, keyed by everything that changes the answer."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(directory, 0o700)
            # disk_min_file_size: every value inline in SQLite, so no row ever needs a file
            self._cache = diskcache.Cache(str(directory), disk=JSONDisk, timeout=60, disk_min_file_size=2**62)
            self._leases = diskcache.Cache(
                str(directory / "leases"), disk=JSONDisk, timeout=60, disk_min_file_size=2**62
            )
        except (OSError, sqlite3.Error) as exc:  # sqlite3: a cache.db that is not a database
            raise ConfigError(
                f"cache.dir: {directory} cannot be created or opened ({getattr(exc, 'strerror', None) or exc}); "
                "fix: point [cache] dir or $LLM_EXTRACT_CACHE_DIR at a writable directory (or move a damaged one aside)"
            ) from None

    def claim(self, key: str, seconds: float) -> bool:
        """Take the lease on ``key`` for ``seconds``; ``False`` while another holder's lease runs.

        diskcache's ``add`` is one SQLite transaction, so of two processes
        exactly one gets it. Leases live in their own database (``leases/``)
        so they never mix with results. A lease whose holder was a process on
        this machine that no longer exists (``kill -9``) is taken over at once.
        """
        holder = f"{socket.gethostname()}:{os.getpid()}"
        if self._leases.add(key, holder, expire=seconds, retry=True):
            return True
        with self._leases.transact(retry=True):  # a holder killed on this machine leaves no one to wait for
            current = self._leases.get(key, default=None, retry=True)
            if isinstance(current, str) and _gone(current):
                self._leases.set(key, holder, expire=seconds, retry=True)
                return True
        return False

    def release(self, key: str) -> None:
        self._leases.delete(key, retry=True)

    def get(self, key: str) -> str | None:
        """The stored JSON text, or ``None`` for a miss or an entry that is not ours."""
        try:
            value = self._cache.get(key, default=None, retry=True)
        except (UnsafeEntry, TypeError) as exc:
            log.warning("ignoring cache entry %s…: %s", key[:12], exc)
            return None
        return value if isinstance(value, str) else None

    def set(self, key: str, value: str) -> None:
        self._cache.set(key, value, retry=True)

    def delete(self, key: str) -> None:
        self._cache.delete(key, retry=True)

    def __len__(self) -> int:
        return len(self._cache)

    def close(self) -> None:
        self._cache.close()
        self._leases.close()
