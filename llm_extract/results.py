"""What an extraction returns: the task's records plus where they came from.

The JSON form is flat, ``{"doc_id", <each record list>, "provenance"}``, so
a JSONL line reads like the records themselves; :class:`DocumentResult`
keeps the typed records and the source text (for highlighting) beside it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DocumentResult", "Provenance", "Usage"]


class Usage(BaseModel):
    """Tokens and calls, summed over every attempt (re-asks and chunks included)."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    model_calls: int = 0
    """Answers received from the model (each re-ask is one more)."""
    requests: int = 0
    """HTTP requests sent, transport retries included."""
    cost_usd: float | None = None

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.total_tokens += other.total_tokens
        self.model_calls += other.model_calls
        self.requests += other.requests
        if other.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + other.cost_usd


class Provenance(BaseModel):
    """Everything needed to trust, reproduce or invalidate a result."""

    model_config = ConfigDict(extra="forbid")

    doc_id: str
    text_sha256: str
    published: str | None = None
    source: str | None = None
    """The publisher given with the input (JSONL/CSV ``source``), for citing; not sent to the model."""
    url: str | None = None
    """The article's address given with the input (JSONL/CSV ``url``)."""
    backend: str
    backend_kind: str
    model: str
    mode: str
    task: str
    prompt_sha256: str
    schema_sha256: str
    usage: Usage = Field(default_factory=Usage)
    attempts: int = 0
    """Model calls for this document: 1 when the first answer validated."""
    chunks: int = 1
    wall_time_s: float = 0.0
    cache_hit: bool = False
    warnings: list[str] = Field(default_factory=list)
    llm_extract_version: str = ""


@dataclass
class DocumentResult:
    """The records of one document, their provenance and the text they were grounded in.

    Record lists are reachable as attributes (``result.incidents``) as well
    as through ``result.records``.
    """

    doc_id: str
    records: BaseModel
    provenance: Provenance
    text: str

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("records", "provenance", "text", "doc_id"):
            raise AttributeError(name)
        try:
            return getattr(self.records, name)
        except AttributeError:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}") from None

    def to_dict(self) -> dict[str, Any]:
        """The JSONL shape: ``doc_id``, each record list, ``provenance``."""
        return {
            "doc_id": self.doc_id,
            **self.records.model_dump(mode="json"),
            "provenance": self.provenance.model_dump(mode="json"),
        }

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        schema: type[BaseModel],
        text: str,
        context: dict[str, Any] | None = None,
    ) -> DocumentResult:
        """Rebuild from the JSON shape; records are re-validated (and re-grounded with ``context``)."""
        body = {k: v for k, v in data.items() if k not in ("doc_id", "provenance")}
        return cls(
            doc_id=str(data["doc_id"]),
            records=schema.model_validate(body, context=context),
            provenance=Provenance.model_validate(data["provenance"]),
            text=text,
        )

    @property
    def record_count(self) -> int:
        return sum(len(v) for v in self.records.__dict__.values() if isinstance(v, list))

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={len(v)}" for k, v in self.records.__dict__.items() if isinstance(v, list))
        p = self.provenance
        return f"DocumentResult(doc_id={self.doc_id!r}, {counts}, backend={p.backend!r}, cache_hit={p.cache_hit})"

    # -- notebooks (see llm_extract.display and llm_extract.frames) -------------------

    def _repr_html_(self) -> str:
        """Jupyter's HTML: the article with evidence highlighted, records as tables."""
        from .display import render_html

        return render_html(self)

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None, **kwargs: Any
    ) -> dict[str, str]:
        """HTML for notebooks plus ``repr`` as ``text/plain`` for consoles and logs."""
        from .display import mimebundle, render_html

        return mimebundle(repr(self), lambda: render_html(self), include, exclude)

    def to_html(self, *, full_page: bool = False) -> str:
        """The notebook HTML; ``full_page=True`` gives a standalone document for a file or browser."""
        from .display import render_html, render_page

        return render_page(self) if full_page else render_html(self)

    def to_pandas(
        self, record_type: str | None = None, *, columns: str | None = None, acled: bool = False
    ) -> pd.DataFrame:
        """One row per record, flattened columns; see :func:`llm_extract.frames.to_pandas`.

        Args:
            record_type: one record list, e.g. ``"incidents"``: its rows and its columns only.
            columns: a form the task defines, e.g. ``"acled"`` (see :mod:`llm_extract.export`).
            acled: the same as ``columns="acled"``.

        Raises:
            ImportError: pandas is not installed (``pip install 'llm_extract[pandas]'``).
            ValueError: an unknown record type or form.
        """
        from .export import to_frame

        return to_frame([self], record_type, "acled" if acled else columns)
