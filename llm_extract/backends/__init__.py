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
import inspect
import os
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
    """Map a ``kind`` to ``"module:Class"``; the class takes ``(name, config)`` and any :data:`SETTINGS` it wants."""
    _REGISTRY[kind] = target


SETTINGS = ("cache_dir",)
"""Engine settings a backend class may take as keyword arguments (the ``[cache] dir``, for its model files)."""


def create_backend(name: str, config: BackendConfig, *, cache_dir: str | os.PathLike[str] | None = None) -> Backend:
    """The backend of ``config.kind``, given the settings its class takes (see :data:`SETTINGS`).

    A class that does not take a setting (an HTTP client has no use for the
    cache dir) is not handed it.
    """
    module_name, _, attr = _REGISTRY[config.kind].partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    settings = {"cache_dir": cache_dir}
    accepted = inspect.signature(cls).parameters
    backend: Backend = cls(name, config, **{k: v for k, v in settings.items() if k in accepted and v is not None})
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
