"""What every strategy shares: one asking step (instructor, grounding, re-asks) and the registry.

A strategy turns one chunk of a document into model calls and returns the
task's records for it. It asks through :meth:`Job.ask`, which sends one
:class:`~llm_extract.backends.ModelRequest` per instructor attempt, grounds
the answer against the article, re-asks on invalid output, and never sends a
request identical to one already sent for this document (the earlier answer
is reused: at the same settings it would come back the same).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import weakref
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar, TypeVar

import instructor
import pydantic_core
from instructor.core.exceptions import InstructorRetryException
from instructor.v2.core import patch as _instructor_patch
from instructor.v2.validation import async_validators as _instructor_async_validators
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from ..backends import ModelRequest
from ..calls import Calls
from ..config import BackendConfig
from ..documents import Document
from ..errors import AnswerCutOff, ConfigError, ExtractionError, LLMExtractError, redact
from ..grounding import SPAN_MARK, SourceText, drop_ungrounded, grounding
from ..results import Usage
from ..task import Task
from .repair import repair_numbers

__all__ = [
    "STRATEGIES",
    "Job",
    "Strategy",
    "compact",
    "create_strategy",
    "payload",
    "register_strategy",
]

log = logging.getLogger("llm_extract")

M = TypeVar("M", bound=BaseModel)

MODES = {
    "tools": instructor.Mode.TOOLS,
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "json": instructor.Mode.JSON,
    "md_json": instructor.Mode.MD_JSON,
}

_FENCE = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.DOTALL)


def payload(completion: Any) -> str | None:
    """The JSON a completion carries, as a tool call or as (fenced) content."""
    try:
        message = completion.choices[0].message
    except (AttributeError, IndexError):
        return None
    calls = getattr(message, "tool_calls", None)
    if calls:
        return str(calls[0].function.arguments)
    content = getattr(message, "content", None)
    if not content:
        return None
    fenced = _FENCE.search(content)
    return fenced.group(1) if fenced else str(content)


def _finished_records(text: str, max_tokens: int) -> tuple[str | None, list[str]]:
    """The records a cut-off JSON answer finished, as JSON, and a warning; ``None`` when it finished none.

    Generation is sequential, so every list item but the last one written is
    complete; the last is dropped whether or not it was, since a record cut
    short would pass for a whole one.
    """
    try:
        data = pydantic_core.from_json(text, allow_partial=True)
    except ValueError:
        return None, []
    if not isinstance(data, dict):
        return None, []
    open_list = next((k for k in reversed(list(data)) if isinstance(data[k], list) and data[k]), None)
    if open_list is None:
        return None, []
    data[open_list] = data[open_list][:-1]
    kept = sum(len(v) for v in data.values() if isinstance(v, list))
    if not kept:
        return None, []
    note = f"the answer was cut off at max_tokens={max_tokens}: kept the {kept} record(s) finished before it"
    return json.dumps(data, ensure_ascii=False), [f"set {open_list}: {note}"]


@lru_cache(maxsize=256)
def wrapped(model: type[BaseModel]) -> type[BaseModel]:
    """``model`` wrapped once for instructor, and checked once for async validators.

    instructor wraps a plain model in a new class on every call, which defeats
    its schema cache (~15 ms of JSON-schema generation per call); wrapped
    once, it hits.
    """
    response_model = instructor.response_schema(model)
    if response_model not in _NO_ASYNC_VALIDATORS:
        _reject_async_validators(response_model)  # raises for a model that has one, every time
        _NO_ASYNC_VALIDATORS.add(response_model)
    return response_model


_reject_async_validators: Callable[[Any], None] = _instructor_async_validators.reject_async_validators
_NO_ASYNC_VALIDATORS: weakref.WeakSet[type] = weakref.WeakSet()
"""Response models this module wrapped and found free of instructor async validators."""


def _reject_async_validators_once(response_model: Any) -> None:
    """instructor's check, skipped for a model :func:`wrapped` has already checked.

    instructor 1.17 walks the response model's whole class tree, every member
    of every base class, six times per call to refuse async validators: about
    5 ms a call for the conflict schema, a third of the client's CPU per
    request (measured with ``benchmarks/bench.py``). The verdict depends only
    on the class, which does not change, so a class this module checked is
    not walked again. Any other class gets instructor's own check, unchanged.
    """
    if isinstance(response_model, type) and response_model in _NO_ASYNC_VALIDATORS:
        return
    _reject_async_validators(response_model)


# instructor reads the check from its module at each call, except ``patch``, which imported it.
_instructor_async_validators.reject_async_validators = _reject_async_validators_once
_instructor_patch.reject_async_validators = _reject_async_validators_once  # type: ignore[attr-defined]


@lru_cache(maxsize=256)
def answer_schema(model: type[BaseModel], spans: bool = False) -> dict[str, Any]:
    """The JSON schema an answer for ``model`` follows (what a grammar-constrained backend compiles).

    With ``spans``, every field copied from the article (a :class:`~llm_extract.grounding.Span`) is
    marked :data:`~llm_extract.grounding.SPAN_MARK`, for a request that offers the spans it may be.
    Only then: the mark is not JSON Schema, and the task's schema hash stays as it was.
    """
    return model.model_json_schema(schema_generator=_MarkingSpans) if spans else model.model_json_schema()


class _MarkingSpans(GenerateJsonSchema):
    """Writes a span field's mark, which :class:`~llm_extract.grounding.Span` keeps in its core schema's metadata."""

    def function_after_schema(self, schema: core_schema.AfterValidatorFunctionSchema) -> JsonSchemaValue:
        out = super().function_after_schema(schema)
        # Only a string can be one of the offered spans (an optional span is marked on its string branch).
        marked = schema.get("metadata", {}).get(SPAN_MARK) and out.get("type") == "string"
        return {**out, SPAN_MARK: True} if marked else out


def compact(node: Any) -> Any:
    """A JSON schema without its titles and descriptions: the structure only, in far fewer tokens.

    For models that know JSON and need the structure, not the field notes
    (the prompt says what the fields mean); validation still uses the full model.
    """
    if isinstance(node, list):
        return [compact(v) for v in node]
    if not isinstance(node, dict):
        return node
    return {
        k: (compact(v) if k not in ("properties", "$defs") else {n: compact(d) for n, d in v.items()})
        for k, v in node.items()
        if k not in ("title", "description")
    }


def _compact_protocol(protocol: dict[str, Any]) -> dict[str, Any]:
    """``protocol`` with the schema instructor put in a tool or a response format made :func:`compact`."""
    out = dict(protocol)
    if out.get("tools"):
        out["tools"] = [
            {**t, "function": {**t["function"], "parameters": compact(t["function"].get("parameters", {}))}}
            for t in out["tools"]
        ]
    fmt = out.get("response_format")
    if isinstance(fmt, dict) and isinstance(fmt.get("json_schema"), dict):
        inner = fmt["json_schema"]
        out["response_format"] = {**fmt, "json_schema": {**inner, "schema": compact(inner.get("schema", {}))}}
    return out


@dataclass
class Job:
    """One chunk of one document, and the means to ask the model about it.

    Built by the extractor for each chunk; ``sent`` is shared by the chunks
    of a document, so an identical request is never sent twice for it.
    """

    task: Task
    doc: Document
    source: SourceText
    span: tuple[int, int]
    backend_name: str
    config: BackendConfig
    calls: Calls
    secrets: tuple[str, ...]
    usage: Usage
    warnings: list[str]
    sent: dict[str, asyncio.Future[ChatCompletion]] = field(default_factory=dict)
    document_key: str = ""
    """The document the requests read (its id and text hash), for backends that keep state between calls."""

    @property
    def text(self) -> str:
        """The chunk's text."""
        return self.doc.text[self.span[0] : self.span[1]]

    def messages(self, text: str | None = None) -> list[dict[str, Any]]:
        """The task's prompt about ``text`` (by default the whole chunk)."""
        return self.task.messages(
            self.text if text is None else text,
            doc_id=self.doc.id,
            published=self.doc.published,
            compact=self.config.compact_prompt,
        )

    async def send(self, request: ModelRequest) -> ChatCompletion:
        """One model call, unless an identical request was already sent for this document: then its answer."""
        earlier = self.sent.get(request.key)
        if earlier is not None:
            log.info("%s: an identical request was already sent; its answer is reused", self.doc.id)
            return await asyncio.shield(earlier)
        future: asyncio.Future[ChatCompletion] = asyncio.get_running_loop().create_future()
        self.sent[request.key] = future
        try:
            response = await self.calls.send(request, self.usage)
        except Exception as exc:
            del self.sent[request.key]  # a failed call is not an answer to reuse
            future.set_exception(exc)
            future.exception()  # marks it retrieved: asyncio does not warn when nobody else waits
            raise
        except BaseException:
            del self.sent[request.key]
            future.cancel()
            raise
        future.set_result(response)
        return response

    async def ask(
        self,
        model: type[M],
        messages: Sequence[Mapping[str, Any]],
        *,
        passages: Sequence[str] = (),
        list_name: str | None = None,
        window: tuple[int, int] | None = None,
        max_reasks: int | None = None,
        salvage: bool = True,
        compact_schema: bool = False,
        spans: Sequence[str] = (),
    ) -> M:
        """An answer of type ``model``, validated and grounded against the article.

        Args:
            passages: the only quotes the answer may use, for a backend that can constrain them.
            list_name: the one record list the answer holds, if so.
            window: where quotes are looked up first (default: this chunk).
            max_reasks: re-asks after invalid output (default: the backend's ``max_reasks``).
            salvage: after the last re-ask, keep an answer whose only fault is unstated
                numbers, with those numbers unknown and a warning (else fail); with the
                backend's ``repairs``, each record concerned is then re-asked alone.
            compact_schema: send a server the schema without titles and descriptions (see
                :func:`compact`); in the JSON and MD_JSON modes instructor writes it into the
                prompt, where it stays whole; a grammar-constrained backend compiles it whole.
            spans: the only strings a name or place copied from the article may be, for a
                backend that can constrain them (see :func:`~llm_extract.grounding.article_spans`).
        """
        cfg = self.config
        last: list[ChatCompletion] = []
        # The request's schema stays whole: a grammar finds the evidence objects by their title.
        # Only what instructor sends a server (tools, response_format) is made compact.
        schema = answer_schema(model, spans=bool(spans))
        sampling_keys = set(cfg.sampling())

        async def create(*args: Any, **kwargs: Any) -> ChatCompletion:
            msgs = kwargs.pop("messages")
            kwargs.pop("model", None)
            sampling = {k: kwargs.pop(k) for k in list(kwargs) if k in sampling_keys}
            tools = kwargs.get("tools") or []
            tool = tools[0].get("function", {}).get("name") if tools else None
            request = ModelRequest(
                model=cfg.model,
                messages=tuple(msgs),
                schema=schema,
                tool=tool,
                sampling=sampling,
                passages=tuple(passages),
                spans=tuple(spans),
                list_name=list_name,
                protocol=_compact_protocol(kwargs) if compact_schema else kwargs,
                document=self.document_key,
            )
            response = await self.send(request)
            last[:] = [response]
            return response

        patched: Callable[..., Awaitable[BaseModel]] = instructor.patch(create=create, mode=MODES[cfg.default_mode()])
        window = window or self.span
        salvaged: tuple[M, list[str], Any] | None = None
        with grounding(self.source, window=window, lexicon=self.task.lexicon, published=self.doc.published) as ctx:
            try:
                answer = await patched(
                    response_model=wrapped(model),
                    messages=list(messages),
                    max_retries=cfg.max_reasks if max_reasks is None else max_reasks,
                    model=cfg.model,
                    **cfg.sampling(),
                )
            except InstructorRetryException as exc:
                cause = exc.__cause__
                if isinstance(cause, AnswerCutOff) and salvage:
                    completion = cause.completion if isinstance(cause.completion, ChatCompletion) else None
                    salvaged = self.salvage(model, completion, window, cut=True)
                    if salvaged is None:
                        raise cause from None
                elif isinstance(cause, LLMExtractError):
                    raise cause from None
                else:
                    salvaged = self.salvage(model, last[0] if last else None, window) if salvage else None
                    if salvaged is None:
                        raise self.exhausted(exc) from None
            finally:
                ctx.clear()
        if salvaged is not None:
            kept, warnings, raw = salvaged
            for warning in warnings:
                if warning.startswith(("dropped ", "removed ", "set ")):  # news to the user, not only provenance
                    log.warning("%s: %s", self.doc.id, warning)
            if cfg.repairs:
                kept = await repair_numbers(self, kept, raw, warnings, window)
            self.warnings.extend(warnings)
            return kept
        if not isinstance(answer, model):
            raise AssertionError(f"instructor returned {type(answer).__name__}, not {model.__name__}")
        return answer

    def salvage(
        self, model: type[M], completion: ChatCompletion | None, window: tuple[int, int], *, cut: bool = False
    ) -> tuple[M, list[str], Any] | None:
        """Last resort after re-asks: keep what the article supports.

        Unstated numbers become unknown (never kept), and what the article
        does not state is mended or removed as narrowly as it can be (see
        :func:`~llm_extract.grounding.drop_ungrounded`: a span the model
        shortened becomes the article's words, a date written as a value becomes
        unknown, an unnamed actor goes; a record goes only when nothing less
        will do), each with a warning; any other problem (an invented quote, a
        schema error) still fails. Returns the records, the warnings and the
        answer's JSON as written.

        ``cut``: the answer stopped at ``max_tokens`` (a small model that
        loops). The records it finished before the cut are kept, the one it
        was writing is dropped, with a warning; with none finished, ``None``.
        """
        text = payload(completion) if completion is not None else None
        if text is None:
            return None
        cut_note: list[str] = []
        if cut:
            text, cut_note = _finished_records(text, self.config.max_tokens)
            if text is None:
                return None
        with grounding(
            self.source,
            window=window,
            unstated_numbers="unknown",
            lexicon=self.task.lexicon,
            published=self.doc.published,
        ) as ctx:
            try:
                data = json.loads(text)
            except ValueError:
                return None
            mended: list[str] = []
            for _ in range(4):  # a mended span is checked again (its date words, say) before it is kept
                ctx["warnings"].clear()  # number warnings of this attempt only
                try:
                    records = model.model_validate(data)
                    return records, [*cut_note, *ctx["warnings"], *mended], data
                except ValidationError as exc:
                    dropped = (
                        drop_ungrounded(data, exc, self.doc.text, self.doc.published, model)
                        if isinstance(data, dict)
                        else None
                    )
                    if dropped is None:
                        return None
                    mended += dropped
            return None

    def exhausted(self, exc: InstructorRetryException) -> ExtractionError:
        errors: list[str] = []
        cause = exc.__cause__
        if isinstance(cause, ValidationError):
            for err in cause.errors()[:10]:
                loc = ".".join(str(p) for p in err["loc"])
                errors.append(f"{loc}: {err['msg']}"[:300])
        elif cause is not None:
            errors.append(f"{type(cause).__name__}: {str(cause)[:300]}")
        first = errors[0] if errors else "no valid answer"
        return ExtractionError(
            redact(
                f"{self.doc.id}: no valid answer from {self.backend_name!r} after {self.usage.model_calls} model calls "
                f"(max_reasks={self.config.max_reasks}); last error: {first}",
                self.secrets,
            ),
            attempts=self.usage.model_calls,
            errors=[redact(e, self.secrets) for e in errors],
        )


class Strategy(ABC):
    """How one chunk of a document becomes model calls. Subclass, set ``name``, register: that is all.

    A strategy returns the task's records for its chunk (an instance of
    ``job.task.schema``); the engine merges chunks and drops repeats (see
    :mod:`llm_extract.merge`) for every strategy alike.
    """

    name: ClassVar[str]

    @abstractmethod
    async def extract(self, job: Job) -> BaseModel:
        """The task's records in ``job``'s chunk, grounded."""

    def identity(self) -> dict[str, Any]:
        """What about this strategy changes the answers (goes into the cache key)."""
        return {"name": self.name}


STRATEGIES: dict[str, type[Strategy]] = {}
"""The strategies by config name (``strategy = "..."`` in a ``[backends.NAME]`` table)."""

S = TypeVar("S", bound=type[Strategy])


def register_strategy(cls: S) -> S:
    """Class decorator: make ``cls`` selectable by its ``name`` in config."""
    STRATEGIES[cls.name] = cls
    return cls


def create_strategy(name: str, where: str = "strategy") -> Strategy:
    """The strategy called ``name``; a :class:`ConfigError` naming the known ones otherwise."""
    cls = STRATEGIES.get(name)
    if cls is None:
        raise ConfigError(f"{where}: unknown strategy {name!r}; use one of: {', '.join(sorted(STRATEGIES))}")
    return cls()
