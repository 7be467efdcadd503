"""What an extraction returns: the task's records plus where they came from.

The JSON form is flat, ``{"doc_id", <each record list>, "provenance"}``, so
a JSONL line reads like the records themselves; :class:`DocumentResult`
keeps the typed records and the source text (for highlighting) beside it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from .grounding import Evidence

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EXPORT_COLUMNS",
    "EXPORT_FORMS",
    "VIEWS",
    "DocumentResult",
    "Provenance",
    "ResultViews",
    "Usage",
    "iter_evidence_paths",
    "mimebundle",
    "record_lists",
]


@dataclass
class ResultViews:
    """How results show themselves (HTML, DataFrame), filled in by the view modules.

    The views (:mod:`llm_extract.display`, :mod:`llm_extract.frames`) sit
    above the results they show, so this module cannot import them; each
    view module registers its functions here when it is imported, and
    ``import llm_extract`` imports both. A result method asks for its view
    at call time.
    """

    html: Callable[[Any], str] | None = None
    """One :class:`DocumentResult` as an HTML fragment."""
    batch_html: Callable[[Any], str] | None = None
    """A batch result as an HTML fragment."""
    page: Callable[[Any], str] | None = None
    """A result or batch as a standalone HTML page."""
    pandas: Callable[[Iterable[DocumentResult]], pd.DataFrame] | None = None
    """Results as one DataFrame row per record."""
    frame: Callable[..., pd.DataFrame] | None = None
    """Results as a frame of one record type or of a task's export form (:func:`llm_extract.export.to_frame`)."""

    def get(self, name: str) -> Callable[..., Any]:
        view = getattr(self, name)
        if view is None:  # only when a view module failed to import
            raise RuntimeError(f"llm_extract: no {name} view registered; import llm_extract.display and .frames")
        return view  # type: ignore[no-any-return]


VIEWS = ResultViews()
"""The registered result views; see :class:`ResultViews`."""

EXPORT_FORMS: dict[type[BaseModel], dict[str, Callable[[list[DocumentResult]], pd.DataFrame]]] = {}
"""Named export forms per records model (``{"acled": function}``), set by each task (its ``exports``)."""

EXPORT_COLUMNS: dict[type[BaseModel], dict[str, str]] = {}
"""DataFrame column names per records model, set by each :class:`~llm_extract.task.Task` (its ``columns``):
results carry their records, not their task."""


def record_lists(records: BaseModel) -> list[tuple[str, list[Any]]]:
    """The record lists of a records model, in schema order (``[("incidents", [...]), ...]``)."""
    return [(name, value) for name in type(records).model_fields if isinstance(value := getattr(records, name), list)]


def iter_evidence_paths(obj: Any, path: str) -> Iterator[tuple[str, Evidence]]:
    """Every :class:`Evidence` under ``obj`` with its path, depth first (like ``iter_evidence``)."""
    if isinstance(obj, Evidence):
        yield path, obj
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from iter_evidence_paths(getattr(obj, name), f"{path}.{name}" if path else name)
    elif isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            yield from iter_evidence_paths(item, f"{path}[{i}]")
    elif isinstance(obj, dict):
        for key, item in obj.items():
            yield from iter_evidence_paths(item, f"{path}[{key!r}]")


def mimebundle(
    plain: str,
    html_fn: Callable[[], str],
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
) -> dict[str, str]:
    """The ``_repr_mimebundle_`` answer: HTML for notebooks, ``repr`` for consoles.

    ``include``/``exclude`` are honoured as IPython passes them, and the HTML
    is only built when it is wanted.
    """
    wanted = {"text/plain", "text/html"}
    if include is not None:
        wanted &= set(include)
    if exclude is not None:
        wanted -= set(exclude)
    bundle: dict[str, str] = {}
    if "text/plain" in wanted:
        bundle["text/plain"] = plain
    if "text/html" in wanted:
        bundle["text/html"] = html_fn()
    return bundle


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
        return str(VIEWS.get("html")(self))

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None, **kwargs: Any
    ) -> dict[str, str]:
        """HTML for notebooks plus ``repr`` as ``text/plain`` for consoles and logs."""
        return mimebundle(repr(self), lambda: str(VIEWS.get("html")(self)), include, exclude)

    def to_html(self, *, full_page: bool = False) -> str:
        """The notebook HTML; ``full_page=True`` gives a standalone document for a file or browser."""
        return str(VIEWS.get("page" if full_page else "html")(self))

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
        frame: pd.DataFrame = VIEWS.get("frame")([self], record_type, "acled" if acled else columns)
        return frame
