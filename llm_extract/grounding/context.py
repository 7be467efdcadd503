"""The validation context: which article (and which task lexicon) a validator grounds against."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

from pydantic import ValidationInfo

from .lexicon import NumberLexicon
from .text import SourceText

_CONTEXT: ContextVar[dict[str, Any] | None] = ContextVar("llm_extract_grounding", default=None)


@contextmanager
def grounding(
    source: SourceText,
    *,
    window: tuple[int, int] | None = None,
    unstated_numbers: Literal["reask", "unknown"] = "reask",
    lexicon: NumberLexicon | None = None,
    published: str | None = None,
    spans: bool = True,
    model_answer: bool = False,
) -> Iterator[dict[str, Any]]:
    """Validate models against ``source`` inside this block.

    A context variable rather than Pydantic's ``context=`` argument, because
    instructor renders messages as Jinja templates whenever a context is
    passed, and an article must never be executed as a template. Yields the
    context dict, whose ``"warnings"`` list collects numbers set to unknown.
    ``lexicon`` is the task's :class:`NumberLexicon` for number grounding;
    ``published`` (ISO, maybe partial) bounds every :class:`DateOf` value;
    ``spans=False`` checks quotes and numbers only (gold fixtures, where a
    person may attribute a claim to the outlet itself). ``model_answer=True``
    says the data is a model's answer, which a schema may complete from its
    own words and prune where they do not support it: a record reads a null
    count from its own quotes (see :class:`~llm_extract.grounding.GroundedRecord`),
    and a task's validators may do more (the conflict schema reads dates and
    governorates, and drops records whose quotes name no event). The engine's
    extraction sets it; gold fixtures and reviewed results keep what a person wrote.
    """
    ctx: dict[str, Any] = {
        "source": source,
        "window": window,
        "unstated_numbers": unstated_numbers,
        "published": published,
        "spans": spans,
        "model_answer": model_answer,
        "warnings": [],
        "lexicon": lexicon,
    }
    token = _CONTEXT.set(ctx)
    try:
        yield ctx
    finally:
        _CONTEXT.reset(token)


def current_context() -> dict[str, Any] | None:
    """The context dict of the innermost :func:`grounding` block, or ``None`` outside one."""
    return _CONTEXT.get()


def context_of(info: ValidationInfo) -> dict[str, Any] | None:
    """The grounding context a validator runs under.

    Pydantic's ``context=`` when it names a source, else the innermost :func:`grounding` block's.
    """
    if isinstance(info.context, dict) and "source" in info.context:
        return info.context
    return _CONTEXT.get()
