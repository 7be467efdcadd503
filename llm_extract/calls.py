"""Model calls: one request to a backend with transport retries, the concurrency limit and answer checks.

Transport faults (timeouts, resets, 429, 5xx) are retried here with
tenacity, per request, ``max_attempts`` in all, honouring ``Retry-After``;
answers no re-ask can fix (no choices, a refusal, a cut-off or filtered
answer) fail at once. The extractor sends every request through a
:class:`Calls`; :class:`Loop` runs the synchronous API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from openai.types.chat import ChatCompletion
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from .backends import Backend, ModelRequest, PerLoop
from .config import BackendConfig
from .errors import AnswerCutOff, BackendError, TransientBackendError, redact
from .results import Usage

__all__ = ["Calls", "Loop", "usage_of"]

log = logging.getLogger("llm_extract")

T = TypeVar("T")


class Loop:
    """A private event loop on a daemon thread, for the synchronous API.

    Notebooks already run a loop, so ``asyncio.run`` is not an option there;
    a daemon thread also never blocks interpreter exit.

    Kept rather than anyio's blocking portal because it is cheaper per call:
    measured on the 2-core dev machine under load, a no-op coroutine took
    ~0.5 ms through this loop and ~1.1 ms through
    ``anyio.from_thread.start_blocking_portal().call``, which every
    synchronous ``extract()`` would pay.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="llm_extract", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def close(self) -> None:
        """Let cancelled work finish its cleanup, then stop the loop.

        After Ctrl-C or SIGTERM the batch's workers are still unwinding; a
        loop stopped under them leaves tasks that print tracebacks at exit.
        """

        async def drain() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self.loop.is_running():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(drain(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


def usage_of(response: ChatCompletion) -> Usage:
    u = response.usage
    if u is None:
        return Usage(model_calls=1)
    return Usage(
        prompt_tokens=u.prompt_tokens or 0,
        completion_tokens=u.completion_tokens or 0,
        total_tokens=u.total_tokens or 0,
        model_calls=1,
    )


class Calls:
    """Sends one backend's requests: retries, the ``concurrency`` limit (per event loop), checks."""

    def __init__(self, backend_name: str, backend_config: BackendConfig, backend: Backend) -> None:
        self.backend_name = backend_name
        self.backend_config = backend_config
        self.backend = backend
        self._limit: PerLoop[asyncio.Semaphore] = PerLoop(lambda: asyncio.Semaphore(backend_config.concurrency))

    def _retryable(self, exc: BaseException) -> bool:
        """Transient faults, unless the server asks for a wait over ``max_retry_after``.

        Sleeping an hour because a ``Retry-After`` said so would look like a
        hang; giving up at once lets the error say why and what to change.
        """
        if not isinstance(exc, TransientBackendError):
            return False
        return exc.retry_after is None or exc.retry_after <= self.backend_config.max_retry_after

    def _wait(self, state: RetryCallState) -> float:
        cfg = self.backend_config
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientBackendError) and exc.retry_after is not None:
            return exc.retry_after
        return float(min(cfg.backoff_max, cfg.backoff_initial * 2 ** (state.attempt_number - 1)))

    async def send(self, request: ModelRequest, usage: Usage) -> ChatCompletion:
        """One model call: transport retries, concurrency limit, response checks."""
        cfg = self.backend_config
        retrying = AsyncRetrying(
            stop=stop_after_attempt(cfg.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(self._retryable),
            reraise=True,
            before_sleep=lambda s: log.info(
                "%s: retrying after %s", self.backend_name, s.outcome.exception() if s.outcome else "?"
            ),
        )
        attempts = 0
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    usage.requests += 1
                    async with self._limit.get():
                        response = await self.backend.complete(request)
                    usage.add(usage_of(response))
                    self._check(response)
                    return response
        except TransientBackendError as exc:
            if exc.retry_after is not None and exc.retry_after > cfg.max_retry_after:
                raise BackendError(
                    f"{exc} - server asked to retry after {exc.retry_after:g}s, over "
                    f"max_retry_after={cfg.max_retry_after:g}s; try later or raise max_retry_after",
                    status=exc.status,
                    attempts=attempts,
                ) from None
            raise BackendError(
                f"{exc} (gave up after {attempts} attempt(s), max_attempts={cfg.max_attempts})",
                status=exc.status,
                attempts=attempts,
            ) from None
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _check(self, response: ChatCompletion) -> None:
        """Answers no re-ask can fix: fail now with a clear message."""
        name = self.backend_name
        if not response.choices:
            raise BackendError(f"{name}: server answered 200 with no choices")
        choice = response.choices[0]
        refusal = getattr(choice.message, "refusal", None)
        if refusal:
            raise BackendError(f"{name}: the model refused: {redact(str(refusal), self.backend.secrets)[:200]}")
        if choice.finish_reason == "length":
            raise AnswerCutOff(
                f"{name}: the answer was cut off at max_tokens={self.backend_config.max_tokens}; "
                f"raise max_tokens in [backends.{name}]",
                response,
            )
        if choice.finish_reason == "content_filter":
            raise BackendError(f"{name}: the answer was withheld by the server's content filter")
