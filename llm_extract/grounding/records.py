"""Evidence and grounded records: the schema building blocks whose quotes and counts are checked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator
from pydantic.json_schema import SkipJsonSchema

from .context import context_of
from .lexicon import NO_LEXICON, NumberLexicon
from .numbers import Stated, numbers_stated
from .text import SourceText


class Evidence(BaseModel):
    """A verbatim quote from the article, with its offsets once grounded.

    The model fills ``quote`` only; ``start``/``end`` are hidden from the JSON
    schema it sees and are always computed here, never trusted from a model.
    """

    model_config = ConfigDict(extra="forbid")

    quote: str = Field(
        min_length=1,
        max_length=400,
        description="A passage copied verbatim from the article, word for word.",
    )
    start: SkipJsonSchema[int | None] = None
    end: SkipJsonSchema[int | None] = None

    @model_validator(mode="after")
    def _ground(self, info: ValidationInfo) -> Evidence:
        ctx = context_of(info)
        source = ctx.get("source") if ctx else None
        if not isinstance(source, SourceText):
            return self  # no article to check against (e.g. building by hand)
        window = ctx.get("window") if ctx else None
        span = source.find(self.quote, window)
        if span is None:
            raise ValueError(
                f"evidence quote not found in the article: {self.quote[:200]!r}. "
                "Copy a passage of the article exactly, or drop the record."
            )
        self.start, self.end = span
        return self


def iter_evidence(obj: Any) -> Iterator[Evidence]:
    """Every :class:`Evidence` inside a model, list or dict, depth first."""
    if isinstance(obj, Evidence):
        yield obj
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from iter_evidence(getattr(obj, name))
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from iter_evidence(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from iter_evidence(item)


class GroundedRecord(BaseModel):
    """Base for schema models whose :data:`STATED` counts must appear in their evidence.

    A subclass declares ``evidence: list[Evidence]``. When validation runs
    with an article in context, every non-null ``STATED`` field must be a
    number the record's quotes state. By default an unstated number is a
    validation error (so the model is re-asked); with
    ``context["unstated_numbers"] == "unknown"`` it is set to ``None`` and a
    warning is appended to ``context["warnings"]`` instead: the engine's last
    resort when re-asks ran out, so a number is never invented.
    """

    model_config = ConfigDict(extra="forbid")

    number_lexicon: ClassVar[NumberLexicon | None] = None
    """What states a count in this record's quotes when the grounding block names no task lexicon
    (a record validated on its own, outside the engine); the task's lexicon wins inside the engine."""

    @model_validator(mode="after")
    def _numbers_are_stated(self, info: ValidationInfo) -> GroundedRecord:
        ctx = context_of(info)
        if not ctx or not isinstance(ctx.get("source"), SourceText):
            return self
        stated: set[int] | None = None
        for name, finfo in type(self).model_fields.items():
            if not any(isinstance(m, Stated) for m in finfo.metadata):
                continue
            value = getattr(self, name)
            if value is None:
                continue
            if stated is None:
                quotes = " ".join(e.quote for e in iter_evidence(getattr(self, "evidence", [])))
                lexicon = ctx.get("lexicon") or type(self).number_lexicon
                stated = numbers_stated(quotes, lexicon if isinstance(lexicon, NumberLexicon) else NO_LEXICON)
            if value in stated:
                continue
            problem = f"{type(self).__name__}.{name}={value} is not stated in this record's evidence quotes"
            if ctx.get("unstated_numbers") == "unknown":
                object.__setattr__(self, name, None)
                warnings = ctx.setdefault("warnings", [])
                if isinstance(warnings, list):
                    warnings.append(problem + "; recorded as unknown")
                continue
            raise ValueError(problem + ". Quote the words that state the number, or use null (unknown).")
        return self
