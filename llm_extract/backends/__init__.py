"""Backends: how to reach a model. How to talk to it (prompt, schema, re-ask) is the engine's.

A backend sends one chat-completion request and returns an
``openai.types.chat.ChatCompletion``, or raises :class:`~llm_extract.errors.BackendError`
(:class:`~llm_extract.errors.TransientBackendError` for faults worth retrying).
It does not retry, validate or cache: the engine does that once for all kinds.

Kinds resolve through a small registry, imported lazily so that using a
server never loads the embedded runtime.
"""

from __future__ import annotations

import asyncio
import importlib
import weakref
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from openai.types.chat import ChatCompletion

from ..config import BackendConfig

__all__ = ["Backend", "PerLoop", "create_backend", "register_backend"]

_REGISTRY: dict[str, str] = {
    "openai": "llm_extract.backends.server:ServerBackend",
    "openai-compatible": "llm_extract.backends.server:ServerBackend",
    "embedded": "llm_extract.backends.embedded:EmbeddedBackend",
}


class Backend(Protocol):
    """The one thing the engine needs from a way of reaching a model."""

    name: str
    config: BackendConfig

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in logs, errors or the cache."""
        ...

    def identity(self) -> dict[str, Any]:
        """What makes this backend's answers differ from another's (never the key)."""
        ...

    async def complete(self, **request: Any) -> ChatCompletion:
        """Send one request; no retries."""
        ...

    async def aclose(self) -> None: ...


def register_backend(kind: str, target: str) -> None:
    """Map a ``kind`` to ``"module:Class"``; the class takes ``(name, config)``."""
    _REGISTRY[kind] = target


def create_backend(name: str, config: BackendConfig) -> Backend:
    module_name, _, attr = _REGISTRY[config.kind].partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    backend: Backend = cls(name, config)
    return backend


T = TypeVar("T")


class PerLoop(Generic[T]):
    """One object per running event loop.

    HTTP clients and semaphores are bound to the loop that created them; a
    notebook may drive the same extractor from its own loop and from the
    extractor's background loop, so each loop gets its own.
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._items: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()

    def get(self) -> T:
        loop = asyncio.get_running_loop()
        item = self._items.get(loop)
        if item is None:
            item = self._items[loop] = self._factory()
        return item

    def items(self) -> list[T]:
        return list(self._items.values())

    def clear(self) -> None:
        self._items.clear()
