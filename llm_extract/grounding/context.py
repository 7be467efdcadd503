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
    fill_from_text: bool = False,
) -> Iterator[dict[str, Any]]:
    """Validate models against ``source`` inside this block.

    A context variable rather than Pydantic's ``context=`` argument, because
    instructor renders messages as Jinja templates whenever a context is
    passed, and an article must never be executed as a template. Yields the
    context dict, whose ``"warnings"`` list collects numbers set to unknown.
    ``lexicon`` is the task's :class:`NumberLexicon` for number grounding;
    ``published`` (ISO, maybe partial) bounds every :class:`DateOf` value;
    ``spans=False`` checks quotes and numbers only (gold fixtures, where a
    person may attribute a claim to the outlet itself). ``fill_from_text=True``
    lets a record read a null count from its own quotes (see
    :class:`~llm_extract.grounding.GroundedRecord`): the engine's extraction
    does, while gold fixtures and reviewed results keep the nulls a person chose.
    """
    ctx: dict[str, Any] = {
        "source": source,
        "window": window,
        "unstated_numbers": unstated_numbers,
        "published": published,
        "spans": spans,
        "fill_from_text": fill_from_text,
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
