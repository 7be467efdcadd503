"""Notebook display: a result as HTML a reader can check at a glance.

A record is only as useful as the sentence it came from, so the page shows
the article with every evidence quote highlighted, each highlight titled
with the record and field it supports
(``incidents[0].casualties[1].evidence[0]``), and the records as tables
beside it. The same HTML serves Jupyter (``_repr_html_`` /
``_repr_mimebundle_`` on the result objects) and files
(:func:`save_html`).

Design choices, and why:

* **One colour and one number per record.** Incident 0 and incident 2
  must be told apart in the text, so each record of a document gets its
  own colour and a short number (``I0``, ``I2``, ``PC0``: list initials and
  the record's index, as in its paths and the review sheet) shown where
  each of its quotes starts. Clicking a highlight goes to its record's row;
  the row's ``↑`` links go back to each of its quotes (plain anchors and
  element ids, so it works without script and in files).
* **Self-contained.** One ``<style>`` block, no script, no font or image
  from the network: outputs stay readable offline, in CI artifacts and in
  sanitising viewers. Mark colours are also set inline, so highlights
  survive viewers that strip ``<style>``.
* **Everything escaped.** The markup lives in Jinja templates
  (``display/templates``) with autoescape on: article text, quotes and
  field values are shown as text; an article containing ``<script>`` shows
  it as text.
* **Right-to-left by content.** Direction is decided per paragraph from
  its strong characters (Unicode bidi classes, so Hebrew or Persian work
  too), not by the first character, so an Arabic paragraph that opens
  with a Latin name still runs right-to-left. Values in the (left-to-right)
  tables are wrapped in ``<bdi>`` so Arabic names do not scramble the
  punctuation around them.
* **Overlaps split into segments.** Quotes from different records often
  overlap (a casualty quote inside an incident quote); HTML cannot
  interleave elements, so the text is cut at every span boundary and each
  segment is one ``<mark>`` naming every quote that covers it.
* **Domain-agnostic.** Tables are built from the Pydantic models: record
  lists are the list fields of the records model, columns are the item
  model's fields. The one hint taken from the schema is the engine's own
  :data:`~llm_extract.grounding.STATED` marker: a ``None`` count shows as
  "unknown", never as blank or 0.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ..batch import BatchResult
from ..results import VIEWS, DocumentResult, iter_evidence_paths, mimebundle, record_lists
from .spans import EvidenceSpan, evidence_spans, record_label, text_direction, text_language
from .view import PALETTE, document_view, heading

__all__ = [
    "PALETTE",
    "EvidenceSpan",
    "evidence_spans",
    "iter_evidence_paths",
    "mimebundle",
    "record_label",
    "record_lists",
    "render_batch_html",
    "render_html",
    "render_page",
    "save_html",
    "text_direction",
    "text_language",
]

MAX_DOCUMENTS_SHOWN = 20
"""A batch shows per-document details for this many documents (a notebook output is not a report)."""


@cache
def _environment() -> jinja2.Environment:
    """Templates are package data (``llm_extract/display/templates``); every value is escaped."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("llm_extract.display", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _render(name: str, **context: Any) -> str:
    return _environment().get_template(name).render(**context)


def render_html(result: DocumentResult) -> str:
    """One result as a self-contained HTML fragment (what Jupyter shows).

    Example::

        from llm_extract.display import render_html
        html = render_html(result)   # same as result._repr_html_()
    """
    return _render("fragment.html.j2", doc=document_view(result))


def _batch_view(batch: BatchResult) -> dict[str, Any]:
    s = batch.summary
    u = s.usage
    names: list[str] = []
    for result in batch.results:
        names.extend(name for name, _ in record_lists(result.records) if name not in names)
    line = (
        f"{s.records} records · {s.cache_hits} from cache · {s.failed} failed · {u.model_calls} model calls · "
        f"{u.prompt_tokens:,}+{u.completion_tokens:,} tokens · {s.wall_time_s:.1f} s"
        + (f" · ${u.cost_usd:.4f}" if u.cost_usd is not None else "")
    )
    rows = []
    for result in batch.results:
        p = result.provenance
        counts = {name: len(items) for name, items in record_lists(result.records)}
        rows.append(
            {
                "doc_id": result.doc_id,
                "counts": [counts.get(n, 0) for n in names],
                "backend": p.backend,
                "model": p.model,
                "cache": "hit" if p.cache_hit else "miss",
                "tokens": f"{p.usage.total_tokens:,}",
                "time": f"{p.wall_time_s:.2f} s",
                "warnings": len(p.warnings),
            }
        )
    return {
        "succeeded": s.succeeded,
        "documents": s.documents,
        "line": line,
        "lists": [heading(n) for n in names],
        "rows": rows,
        "failures": s.failures,
        "details": [document_view(r) for r in batch.results[:MAX_DOCUMENTS_SHOWN]],
        "more": len(batch.results) - MAX_DOCUMENTS_SHOWN,
    }


def render_batch_html(batch: BatchResult) -> str:
    """A batch as a self-contained HTML fragment: summary, per-document table, failures, details."""
    return _render("fragment.html.j2", batch=_batch_view(batch))


def render_page(obj: DocumentResult | BatchResult, title: str | None = None) -> str:
    """A complete HTML document (for a file or a browser), UTF-8, with no external resource."""
    body = render_batch_html(obj) if isinstance(obj, BatchResult) else render_html(obj)
    if title is None:
        title = "llm_extract batch" if isinstance(obj, BatchResult) else f"llm_extract: {obj.doc_id}"
    return _render("page.html.j2", title=title, body=Markup(body)) + "\n"


def save_html(obj: DocumentResult | BatchResult, path: str | Path) -> Path:
    """Write :func:`render_page` to ``path`` (UTF-8) and return the path."""
    out = Path(path)
    out.write_text(render_page(obj), encoding="utf-8")
    return out


# Results cannot import their views (the views sit above them): they call these through VIEWS.
VIEWS.html = render_html
VIEWS.batch_html = render_batch_html
VIEWS.page = render_page
