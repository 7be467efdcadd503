"""Backends: how to reach a model. How to talk to it (prompt, schema, re-ask) is the engine's.

A backend receives one :class:`ModelRequest` (the messages, the JSON schema
the answer must follow, the sampling settings and, where the strategy wants
it, the passages a quote may be) and returns an
``openai.types.chat.ChatCompletion`` with its usage, or raises
:class:`~llm_extract.errors.BackendError`
(:class:`~llm_extract.errors.TransientBackendError` for faults worth retrying).
Everything a backend may use is in the request: nothing reaches it through a
context variable, and nothing has to be read back out of a prompt.
It does not retry, validate or cache: the engine does that once for all kinds.

Kinds resolve through a small registry, imported lazily so that using a
server never loads the embedded runtime.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, Protocol, TypeVar

from openai.types.chat import ChatCompletion

from ..config import BackendConfig

__all__ = ["Backend", "ModelRequest", "PerLoop", "create_backend", "register_backend"]

_REGISTRY: dict[str, str] = {
    "openai": "llm_extract.backends.server:ServerBackend",
    "openai-compatible": "llm_extract.backends.server:ServerBackend",
    "embedded": "llm_extract.backends.embedded:EmbeddedBackend",
}


@dataclass(frozen=True)
class ModelRequest:
    """One model call, complete: the only thing a backend receives.

    The engine builds it (a strategy decides what to ask, instructor shapes
    the messages for the configured mode); a server backend sends
    ``protocol`` fields as they are, a grammar-constrained backend compiles
    ``schema`` and ``passages`` into its sampler.
    """

    model: str
    messages: tuple[Mapping[str, Any], ...]
    schema: Mapping[str, Any] | None = None
    """The JSON schema the answer must follow (``None``: any JSON)."""
    tool: str | None = None
    """Answer as a call of this tool (instructor's TOOLS mode), else as message content."""
    sampling: Mapping[str, Any] = field(default_factory=dict)
    """temperature, max_tokens, top_p, seed, and backend-specific ones (``repeat_penalty``)."""
    passages: tuple[str, ...] = ()
    """When not empty, the only strings an evidence quote may be (the strategy's quotable sentences)."""
    spans: tuple[str, ...] = ()
    """When not empty, the only strings a field ``schema`` marks as an article span
    (:data:`llm_extract.grounding.SPAN_MARK`) may be: runs of the article's words."""
    list_name: str | None = None
    """The one record list this answer holds (``{"incidents": [...]}``), when the strategy asks for one:
    a backend that samples token by token may then stop at the first exact repeat of an item."""
    protocol: Mapping[str, Any] = field(default_factory=dict)
    """OpenAI request fields instructor set for its mode (``tools``, ``tool_choice``, ``response_format``)."""
    document: str = ""
    """The document the request reads (its id and text hash). A backend that keeps model state between calls
    starts each document from the state a new process has, so its answers do not depend on what was
    read before. Not part of :attr:`key`: it does not change what is asked."""

    @cached_property
    def key(self) -> str:
        """Equal for identical requests (the engine never sends one twice for a document).

        The schema, twice in a request (as ``schema`` and inside ``protocol``), is most of its
        JSON; it is the same object on every request for a model class, so :func:`_canonical`
        writes it once rather than on every request.
        """
        head = [self.model, self.messages, self.tool, self.sampling, self.passages, self.list_name]
        if self.spans:  # only then, so the keys of requests that offer no spans stay as they were
            head.append(self.spans)
        return "\n".join((_json(head), _canonical(self.schema, _NESTED), _canonical(self.protocol)))

    def openai_kwargs(self) -> dict[str, Any]:
        """The request as ``chat.completions.create`` keyword arguments."""
        return {"model": self.model, "messages": list(self.messages), **self.protocol, **self.sampling}


def _json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)


_WRITTEN: dict[int, tuple[Any, Any, str]] = {}
"""id -> (the object, kept alive so its id is not reused; a snapshot of it; its JSON)."""

_NESTED = 4
"""How deep :func:`_canonical` looks for a reused object: ``protocol["tools"][0]["function"]["parameters"]``."""


def _canonical(obj: Any, depth: int = 0) -> str:
    """``obj`` as canonical JSON, a large mapping written once while it is the same, unchanged object.

    A hit needs the very object (``is``) and equality with the snapshot taken
    when it was written, so a mapping changed in place is written again;
    anything else is written as usual. Equal objects give equal strings, as
    :attr:`ModelRequest.key` needs.
    """
    if isinstance(obj, Mapping):
        hit = _WRITTEN.get(id(obj))
        if hit is not None and hit[0] is obj and hit[1] == obj:
            return hit[2]
        if depth < _NESTED and len(obj) < 8:  # a small wrapper built per request (tools, response_format)
            items = sorted((str(k), v) for k, v in obj.items())
            return "{" + ",".join(_json(k) + ":" + _canonical(v, depth + 1) for k, v in items) + "}"
        text = _json(obj)
        if len(_WRITTEN) >= 64:
            _WRITTEN.clear()
        _WRITTEN[id(obj)] = (obj, json.loads(text), text)
        return text
    if isinstance(obj, (list, tuple)) and depth < _NESTED:
        return "[" + ",".join(_canonical(v, depth + 1) for v in obj) + "]"
    return _json(obj)


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

    async def complete(self, request: ModelRequest) -> ChatCompletion:
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
