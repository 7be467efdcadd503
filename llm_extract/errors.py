"""The one exception tree of llm_extract.

Every failure a user can meet is one of these, so a notebook can catch
``LLMExtractError`` and a CLI can print ``str(error)`` as its one line::

    LLMExtractError                 root: catch this to catch everything
    ├── ConfigError                 bad config file or setting, raised at load time
    ├── InputError                  a document that cannot be read as text
    ├── BackendError                the model server failed (transport, HTTP status)
    │   ├── TransientBackendError   worth retrying: timeouts, resets, 429, 5xx
    │   └── DeadlineExceeded        the overall time budget for a document ran out
    ├── ExtractionError             the model never produced a valid, grounded answer
    └── FixtureError                a gold fixture that does not validate

Messages never contain the article text or a secret: ``redact`` is applied
to anything that came back from a server before it reaches a message.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable

__all__ = [
    "AnswerCutOff",
    "BackendError",
    "ConfigError",
    "DeadlineExceeded",
    "ExtractionError",
    "FixtureError",
    "InputError",
    "LLMExtractError",
    "TransientBackendError",
    "redact",
    "redact_url",
]


class LLMExtractError(Exception):
    """Root of every error llm_extract raises on purpose."""


class ConfigError(LLMExtractError):
    """The config file or a setting is wrong; the message names file, key and fix."""


class InputError(LLMExtractError):
    """A document could not be read as text; the message names the file and why."""


class BackendError(LLMExtractError):
    """The model backend failed in a way retrying will not fix (or retries ran out).

    Attributes:
        status: HTTP status when the server answered, else ``None``.
        attempts: how many requests were sent for this call.
    """

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts


class AnswerCutOff(BackendError):
    """The answer stopped at ``max_tokens``; ``completion`` holds what was written, for the records it finished."""

    def __init__(self, message: str, completion: object) -> None:
        super().__init__(message)
        self.completion = completion


class TransientBackendError(BackendError):
    """A fault that may pass: retried by the transport layer, never by re-ask.

    Attributes:
        retry_after: seconds the server asked us to wait (``Retry-After``), if any.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        attempts: int = 1,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, attempts=attempts)
        self.retry_after = retry_after


class DeadlineExceeded(BackendError):
    """The per-document deadline ran out; raised instead of hanging forever."""


class ExtractionError(LLMExtractError):
    """The model's answers never validated (schema or grounding) within the re-ask budget.

    Attributes:
        attempts: model calls made, re-asks included.
        errors: the validation errors of the last attempt, one line each.
    """

    def __init__(self, message: str, *, attempts: int = 0, errors: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.errors = list(errors)


class FixtureError(LLMExtractError):
    """A gold fixture is malformed; the message names the file and the field."""


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s'\"]+@")


def redact_url(url: str) -> str:
    """``url`` with its user and password (``http://user:secret@host``) replaced by ``***``."""
    return _USERINFO.sub(r"\1***@", url)


def _encodings(secret: str) -> set[str]:
    """Every form the secret can take in text: raw, JSON- and repr-escaped (once and twice), URL-encoded.

    A key with a backslash or a quote (``sk-a\\b"c``) is echoed by servers inside
    JSON, shown by Python inside a repr, and sent in URLs percent-encoded; a
    redaction of the raw form alone misses all three.
    """
    forms = {secret}
    for _ in range(2):
        for form in list(forms):
            forms.add(json.dumps(form, ensure_ascii=False)[1:-1])
            forms.add(json.dumps(form)[1:-1])
            forms.add(repr(form)[1:-1])
            forms.add(form.encode("unicode_escape").decode("ascii"))
    for form in list(forms):
        forms.add(urllib.parse.quote(form, safe=""))
        forms.add(urllib.parse.quote_plus(form, safe=""))
    return forms


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret value in ``text``, in every encoding it can take, with ``***``.

    Servers echo request data back in error bodies (some echo the key), so
    anything that came from the wire is passed through here before it is
    shown or logged. Credentials in a URL (``http://user:pass@host``) are
    removed as well, whether or not they were named as secrets.
    """
    forms: set[str] = set()
    for secret in secrets:
        if secret and len(secret) >= 4:
            forms |= _encodings(secret)
    for form in sorted(forms, key=len, reverse=True):  # longest first: an escaped form contains no raw one
        text = text.replace(form, "***")
    return redact_url(text)
