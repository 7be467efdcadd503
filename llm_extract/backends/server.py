"""Hosted APIs and OpenAI-compatible servers (vLLM, Ollama, llama.cpp server).

A server is a config entry, not a subclass: ``base_url``, ``model`` and the
name of the variable holding the key. The openai client's own retries are
off (``max_retries=0``) because the engine retries once, with tenacity;
stacking both would multiply attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import time
from typing import Any

import openai
from openai.types.chat import ChatCompletion
from pydantic import SecretStr

from ..config import EmbeddedBackendConfig, OpenAIBackendConfig, OpenAICompatibleBackendConfig
from ..errors import BackendError, TransientBackendError, redact, redact_url
from . import PerLoop

__all__ = ["ServerBackend", "parse_retry_after"]

_PLACEHOLDER_KEY = "not-needed"
"""Local servers ignore the key, but the openai client insists on one."""


def parse_retry_after(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` / ``Retry-After`` (seconds or HTTP date); ``None`` when absent or unreadable."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):  # "soon": no usable hint, so back off as usual
        return None
    return max(parsed.timestamp() - time.time(), 0.0)


def _innermost(exc: BaseException) -> BaseException:
    """The deepest cause with a message (``ConnectionResetError: ... reset by peer``, not ``ReadError('')``)."""
    best, seen = exc, 0
    cur: BaseException | None = exc
    while cur is not None and seen < 10:
        if str(cur):
            best = cur
        cur, seen = cur.__cause__ or cur.__context__, seen + 1
    return best


class ServerBackend:
    """One chat-completions endpoint reached with the real ``openai`` client."""

    def __init__(
        self, name: str, config: OpenAIBackendConfig | OpenAICompatibleBackendConfig | EmbeddedBackendConfig
    ) -> None:
        if isinstance(config, EmbeddedBackendConfig):
            raise TypeError("ServerBackend needs a server config")
        self.name = name
        self.config: OpenAIBackendConfig | OpenAICompatibleBackendConfig = config
        self._key: SecretStr | None = config.api_key  # a secret value: its repr is '**********'
        self._clients: PerLoop[openai.AsyncOpenAI] = PerLoop(self._new_client)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The key, and the password of a ``base_url`` like ``http://user:secret@host/v1``."""
        found = [self._key.get_secret_value()] if self._key else []
        url = self.config.base_url
        if url is not None and url.password:
            found.append(url.password)
        return tuple(found)

    @property
    def base_url(self) -> str | None:
        return str(self.config.base_url) if self.config.base_url else None

    @property
    def shown_url(self) -> str | None:
        """``base_url`` as it may be printed or stored: without user or password."""
        return redact_url(self.base_url) if self.base_url else None

    def identity(self) -> dict[str, Any]:
        return {"kind": self.config.kind, "base_url": self.shown_url, "model": self.config.model}

    def _new_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            api_key=self._key.get_secret_value() if self._key else _PLACEHOLDER_KEY,
            base_url=self.base_url,
            max_retries=0,
            timeout=self.config.request_timeout,
        )

    def __repr__(self) -> str:
        return f"ServerBackend(name={self.name!r}, base_url={self.shown_url!r}, model={self.config.model!r})"

    async def complete(self, **request: Any) -> ChatCompletion:
        client = self._clients.get()
        try:
            # The client's timeout bounds each gap between bytes; a server trickling one byte a
            # second never trips it. This bounds the whole request, body included.
            async with asyncio.timeout(self.config.request_timeout):
                response: ChatCompletion = await client.chat.completions.create(**request)
            return self._well_formed(response)
        except (openai.APITimeoutError, TimeoutError):
            raise TransientBackendError(
                f"{self.name}: no answer within request_timeout={self.config.request_timeout}s"
            ) from None
        except openai.APIConnectionError as exc:
            cause = _innermost(exc)
            raise TransientBackendError(
                self._clean(
                    f"{self.name}: connection to {self.shown_url or 'the API'} failed ({type(cause).__name__}: {cause})"
                )
            ) from None
        except openai.APIStatusError as exc:
            raise self._status_error(exc) from None
        except openai.APIResponseValidationError as exc:
            raise TransientBackendError(
                self._clean(f"{self.name}: server sent a malformed response ({exc.message})"),
                status=exc.status_code,
            ) from None
        except (ValueError, TypeError) as exc:  # a 200 whose body is not a chat completion
            raise TransientBackendError(
                self._clean(f"{self.name}: server sent a response that is not a chat completion ({exc})")
            ) from None

    def _clean(self, text: str) -> str:
        return redact(text, self.secrets)

    def _well_formed(self, response: object) -> ChatCompletion:
        """The response if it has the shape of a chat completion, else a transient fault.

        The openai client hands back a 200 whose body is not JSON (a proxy's
        HTML page) as a ``str``, and a JSON body that is not a completion (an
        error object sent with 200) as a ``ChatCompletion`` with ``choices=None``.
        Both are server faults worth retrying, not model answers to parse.
        An empty ``choices`` list is well formed: the engine fails it at once.
        """
        if isinstance(response, ChatCompletion):
            choices: object = response.choices  # None at run time when the body had none
            if isinstance(choices, list) and all(getattr(c, "message", None) is not None for c in choices):
                return response
            error = getattr(response, "error", None)
            what = f"a JSON body without choices{f' (error: {error})' if error else ''}"
        else:
            what = f"a body that is not a chat completion: {self._clean(str(response))[:80]!r}"
        # redact before cutting, so no fragment of a key survives the cut
        raise TransientBackendError(self._clean(f"{self.name}: server answered 200 with {what}")[:400])

    def _status_error(self, exc: openai.APIStatusError) -> BackendError:
        status = exc.status_code
        detail = self._clean(str(exc.message))[:300]
        message = f"{self.name}: server answered HTTP {status}: {detail}"
        if status == 429 or status == 408 or status == 409 or status >= 500:
            return TransientBackendError(message, status=status, retry_after=parse_retry_after(exc.response.headers))
        hint = {
            401: "; check the key in the variable named by api_key_env",
            403: "; the key lacks access to this model",
            404: "; check base_url and model",
        }.get(status, "")
        return BackendError(message + hint, status=status)

    async def aclose(self) -> None:
        for client in self._clients.items():
            with contextlib.suppress(RuntimeError):  # its loop is gone already
                await client.close()
        self._clients.clear()
