"""Hosted APIs and OpenAI-compatible servers (vLLM, Ollama, llama.cpp server).

A server is a config entry, not a subclass: ``base_url``, ``model`` and the
name of the variable holding the key. The openai client's own retries are
off (``max_retries=0``) because the engine retries once, with tenacity;
stacking both would multiply attempts.
"""

from __future__ import annotations

import contextlib
import email.utils
import time
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from ..config import EmbeddedBackendConfig, OpenAIBackendConfig, OpenAICompatibleBackendConfig
from ..errors import BackendError, TransientBackendError, redact
from . import PerLoop

__all__ = ["ServerBackend", "parse_retry_after"]

_PLACEHOLDER_KEY = "not-needed"
"""Local servers ignore the key, but the openai client insists on one."""


def parse_retry_after(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` / ``Retry-After`` (seconds or HTTP date)."""
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
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(parsed.timestamp() - time.time(), 0.0) if parsed else None


class ServerBackend:
    """One chat-completions endpoint reached with the real ``openai`` client."""

    def __init__(
        self, name: str, config: OpenAIBackendConfig | OpenAICompatibleBackendConfig | EmbeddedBackendConfig
    ) -> None:
        if isinstance(config, EmbeddedBackendConfig):
            raise TypeError("ServerBackend needs a server config")
        self.name = name
        self.config: OpenAIBackendConfig | OpenAICompatibleBackendConfig = config
        self._key = config.api_key.get_secret_value() if config.api_key else None
        self._clients: PerLoop[openai.AsyncOpenAI] = PerLoop(self._new_client)

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self._key,) if self._key else ()

    @property
    def base_url(self) -> str | None:
        return str(self.config.base_url) if self.config.base_url else None

    def identity(self) -> dict[str, Any]:
        return {"kind": self.config.kind, "base_url": self.base_url, "model": self.config.model}

    def _new_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            api_key=self._key or _PLACEHOLDER_KEY,
            base_url=self.base_url,
            max_retries=0,
            timeout=self.config.request_timeout,
        )

    def __repr__(self) -> str:
        return f"ServerBackend(name={self.name!r}, base_url={self.base_url!r}, model={self.config.model!r})"

    async def complete(self, **request: Any) -> ChatCompletion:
        client = self._clients.get()
        try:
            response: ChatCompletion = await client.chat.completions.create(**request)
            return response
        except openai.APITimeoutError:
            raise TransientBackendError(
                f"{self.name}: no answer within request_timeout={self.config.request_timeout}s"
            ) from None
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            raise TransientBackendError(
                self._clean(
                    f"{self.name}: connection to {self.base_url or 'the API'} failed ({type(cause).__name__}: {cause})"
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
