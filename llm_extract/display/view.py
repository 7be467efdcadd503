"""The view model: a result turned into plain dicts and lists that the templates lay out.

Python decides *what* is shown (which fields get a column, which records
own a highlight, which colour and number each record gets, where the links
point); the Jinja templates in ``templates/`` decide *how* it looks and
escape every value on the way out. Nothing here builds markup.

Every record of a document gets its own colour and a short number (``I0``
for ``incidents[0]``, ``PC1`` for ``personnel_changes[1]``): the number
matches the record's index in its list, in the paths and in the review
sheet, and survives the palette running out. Highlights and record rows
link to each other by element ids derived from the document, so two
results on one notebook page do not steal each other's links.
"""

from __future__ import annotations

import hashlib
import itertools
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pydantic import BaseModel

from ..grounding import Evidence, Stated
from ..results import DocumentResult, record_lists
from .spans import EvidenceSpan, evidence_spans, record_label, text_direction, text_language

PALETTE = (
    "#ffc078",
    "#74c0fc",
    "#8ce99a",
    "#e599f7",
    "#ffe066",
    "#63e6be",
    "#ffa8a8",
    "#b197fc",
    "#c0eb75",
    "#99e9f2",
    "#fcc2d7",
    "#d9c2a7",
)
"""Highlight colours, one per record of a document in schema order; light enough for black text."""

_QUOTE_CHARS = 160

Node = dict[str, Any]
"""A field value for the ``value`` macro: ``kind`` says how it is laid out."""


def color(index: int) -> str:
    """The ``index``-th record's colour (the palette repeats; the record number tells repeats apart)."""
    return PALETTE[index % len(PALETTE)]


def badge_prefixes(list_names: Sequence[str]) -> dict[str, str]:
    """A short prefix per record list: initials (``personnel_changes`` -> ``PC``), the full name on a clash."""
    initials = {name: "".join(w[0] for w in name.split("_") if w).upper() or name for name in list_names}
    clashes = {p for p in initials.values() if list(initials.values()).count(p) > 1}
    return {name: (name if p in clashes else p) for name, p in initials.items()}


@dataclass
class RecordView:
    """One record's identity on the page: its colour, number, row id and the quotes that link back."""

    path: str
    list_name: str
    index: int
    badge: str
    color: str
    id: str
    label: str
    quotes: list[dict[str, str]] = field(default_factory=list)


# --- field values ------------------------------------------------------------------


def _is_stated(model: type[BaseModel], name: str) -> bool:
    return any(isinstance(m, Stated) for m in model.model_fields[name].metadata)


def _is_evidence_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Evidence) for v in value)


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == ""


def _scalar(value: Any) -> Node:
    if isinstance(value, Enum):
        return {"kind": "text", "text": str(value.value)}
    if isinstance(value, bool):
        return {"kind": "text", "text": "yes" if value else "no"}
    if isinstance(value, (int, float)):
        return {"kind": "text", "text": str(value)}
    return {"kind": "bdi", "text": str(value)}  # isolated: Arabic names do not scramble what is around them


def _quotes(items: list[Evidence]) -> Node:
    shown = []
    for ev in items:
        short = ev.quote if len(ev.quote) <= _QUOTE_CHARS else ev.quote[: _QUOTE_CHARS - 1] + "…"
        shown.append({"full": ev.quote, "short": short, "start": ev.start, "end": ev.end})
    return {"kind": "quotes", "entries": shown}


def _inline(model: BaseModel) -> Node:
    """A nested model as compact ``key value`` lines (unset fields left out, unknown counts shown)."""
    cls = type(model)
    lines = []
    for name in cls.model_fields:
        value = getattr(model, name)
        stated = _is_stated(cls, name)
        if _empty(value) and not stated:
            continue
        lines.append({"key": name, "node": value_node(value, stated)})
    return {"kind": "fields", "entries": lines} if lines else {"kind": "none", "stated": False}


def value_node(value: Any, stated: bool = False) -> Node:
    """Any field value; ``stated`` marks a count, whose ``None`` shows as "unknown", never blank or 0."""
    if _empty(value):
        return {"kind": "none", "stated": stated}
    if _is_evidence_list(value):
        return _quotes(value)
    if isinstance(value, BaseModel):
        return _inline(value)
    if isinstance(value, list):
        if all(isinstance(v, BaseModel) for v in value):
            return _models(value)
        return {"kind": "join", "entries": [value_node(v) for v in value]}
    return _scalar(value)


def _models(items: list[Any]) -> Node:
    """A list of nested models: a sub-table when they carry counts (to compare numbers), else a list."""
    cls = type(items[0])
    if any(_is_stated(cls, n) for n in cls.model_fields):
        return {"kind": "table", "table": table_view(cls, items, sub=True)}
    entries = []
    for item in items:
        parts = []
        for i, name in enumerate(cls.model_fields):
            value = getattr(item, name)
            if _empty(value):
                continue
            first = i == 0
            parts.append(
                {
                    "key": None if first else name,
                    "bold": first and not isinstance(value, BaseModel),
                    "node": value_node(value),
                }
            )
        entries.append(parts)
    return {"kind": "items", "entries": entries}


def _columns(cls: type[BaseModel], items: Sequence[Any]) -> list[str]:
    """Fields worth a column: set in some item, or a count (whose unknown is worth showing)."""
    return [n for n in cls.model_fields if _is_stated(cls, n) or any(not _empty(getattr(i, n, None)) for i in items)]


def _cell(cls: type[BaseModel], item: Any, name: str) -> Node:
    value = getattr(item, name, None)
    stated = _is_stated(cls, name)
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return {"num": numeric or (stated and value is None), "node": value_node(value, stated)}


def heading(name: str) -> str:
    return name.replace("_", " ")


def table_view(cls: type[BaseModel], items: Sequence[Any], *, sub: bool = False) -> Node:
    """Nested items with counts: one row each, numbers in columns, evidence last."""
    columns = _columns(cls, items)
    evidence = [n for n in columns if any(_is_evidence_list(getattr(item, n, None)) for item in items)]
    columns = [n for n in columns if n not in evidence] + evidence
    rows = [[_cell(cls, item, n) for n in columns] for item in items]
    return {"sub": sub, "head": [heading(n) for n in columns], "rows": rows}


def _is_block(value: Any) -> bool:
    """Lists of models and quotes are too big for a column: they go in the record's detail row."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, BaseModel) for v in value)


def record_table(cls: type[BaseModel], items: Sequence[Any], views: list[RecordView]) -> Node:
    """Top-level records: a row of short fields, then a detail row with their lists and quotes.

    Nested lists (actors, casualties per side, claims) side by side under
    the record keep the table as wide as the page instead of a column each.
    """
    columns = _columns(cls, items)
    blocks = [n for n in columns if any(_is_block(getattr(item, n, None)) for item in items)]
    evidence = [n for n in blocks if any(_is_evidence_list(getattr(item, n, None)) for item in items)]
    blocks = [n for n in blocks if n not in evidence] + evidence
    simple = [n for n in columns if n not in blocks]
    rows = []
    for item, view in zip(items, views, strict=True):
        detail = [
            {"title": heading(n), "node": value_node(getattr(item, n, None))}
            for n in blocks
            if not _empty(getattr(item, n, None))
        ]
        rows.append({"record": view, "cells": [_cell(cls, item, n) for n in simple], "blocks": detail})
    return {
        "head": [heading(n) for n in simple],
        "rows": rows,
        "has_blocks": bool(blocks),
        "colspan": max(1, len(simple)),
    }


def _item_model(records: BaseModel, name: str, items: list[Any]) -> type[BaseModel] | None:
    if items:
        first = type(items[0])
        return first if issubclass(first, BaseModel) else None
    args = typing.get_args(type(records).model_fields[name].annotation)
    return args[0] if args and isinstance(args[0], type) and issubclass(args[0], BaseModel) else None


# --- the article -------------------------------------------------------------------


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each non-blank line; a span crossing lines is cut at the line break."""
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            yield pos, pos + len(line)
        pos += len(line) + 1


def article_view(
    text: str, spans: list[EvidenceSpan], records: dict[str, RecordView], prefix: str, direction: str
) -> list[Node]:
    """Paragraphs cut at every span boundary; each covered segment is one mark naming every quote over it.

    HTML cannot interleave elements, so overlapping quotes (a casualty quote
    inside an incident quote) become segments. A segment takes the colour of
    its innermost quote's record and links to that record's row; the segment
    where a quote starts carries the quote's id (the row links back to it)
    and its record's number.
    """
    located = [(s.start, s.end, k, s) for k, s in enumerate(spans) if s.start is not None and s.end is not None]
    paragraphs = []
    for p_start, p_end in _paragraphs(text):
        here = [(a, b, k, s) for a, b, k, s in located if a < p_end and b > p_start]
        cuts = {p_start, p_end}
        for a, b, _, _ in here:
            cuts.update(c for c in (a, b) if p_start < c < p_end)
        parts: list[Node] = []
        for lo, hi in itertools.pairwise(sorted(cuts)):
            covering = [s for a, b, _, s in here if a <= lo and b >= hi]
            if not covering:
                parts.append({"text": text[lo:hi], "mark": None})
                continue
            inner = min(covering, key=lambda s: ((s.end or 0) - (s.start or 0), s.path))
            owner = records[inner.record]
            starting = [(k, s) for a, _, k, s in here if a == lo]
            anchor = f"{prefix}-q{starting[0][0]}" if starting else None
            for _, s in starting:
                records[s.record].quotes.append({"href": f"#{anchor}", "field": s.field})
            badges = list(dict.fromkeys(records[s.record].badge for _, s in starting))
            mark = {
                "classes": f"lx-mark lx-t-{inner.record_type}" + (" lx-overlap" if len(covering) > 1 else ""),
                "color": owner.color,
                "title": "\n".join(s.path + (f" — {s.label}" if s.label else "") for s in covering),
                "paths": " ".join(s.path for s in covering),
                "record": owner.path,
                "href": f"#{owner.id}",
                "id": anchor,
                "badge": " ".join(badges),
            }
            parts.append({"text": text[lo:hi], "mark": mark})
        p_dir = text_direction(text[p_start:p_end], default="rtl" if direction == "rtl" else "ltr")
        paragraphs.append({"dir": p_dir, "parts": parts})
    return paragraphs


# --- a whole document --------------------------------------------------------------


def _provenance(result: DocumentResult) -> Node:
    p = result.provenance
    u = p.usage
    rest = [
        "cache hit" if p.cache_hit else "cache miss",
        f"{u.prompt_tokens:,} prompt + {u.completion_tokens:,} completion tokens",
        f"{p.attempts} model call{'s' if p.attempts != 1 else ''}",
        f"{p.wall_time_s:.2f} s",
    ]
    if p.chunks > 1:
        rest.append(f"{p.chunks} chunks")
    if u.cost_usd is not None:
        rest.append(f"${u.cost_usd:.4f}")
    return {"backend": p.backend, "kind": p.backend_kind, "model": p.model, "rest": rest}


def page_prefix(result: DocumentResult) -> str:
    """Element ids of one document: stable across renders (the HTML is deterministic), distinct per document."""
    digest = hashlib.sha256(f"{result.doc_id}\0{result.text}".encode()).hexdigest()
    return f"lx-{digest[:10]}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def document_view(result: DocumentResult) -> Node:
    """Everything the ``document.html.j2`` template shows for one result."""
    lists = record_lists(result.records)
    prefix = page_prefix(result)
    badges = badge_prefixes([name for name, _ in lists])
    records: dict[str, RecordView] = {}
    for n, (name, i, item) in enumerate((name, i, item) for name, items in lists for i, item in enumerate(items)):
        path = f"{name}[{i}]"
        records[path] = RecordView(
            path, name, i, f"{badges[name]}{i}", color(n), f"{prefix}-{name}-{i}", record_label(item)
        )
    spans = evidence_spans(result.records, result.text)
    direction = text_direction(result.text)
    paragraphs = article_view(result.text, spans, records, prefix, direction)
    legend, tables = [], []
    for name, items in lists:
        views = [records[f"{name}[{i}]"] for i in range(len(items))]
        n_spans = sum(1 for s in spans if s.record_type == name and s.start is not None)
        legend.append(
            {
                "title": heading(name),
                "text": f"{_plural(len(items), 'record')}, {_plural(n_spans, 'quote')}",
                "records": views,
            }
        )
        model = _item_model(result.records, name, items)
        table = record_table(model, items, views) if items and model is not None else None
        tables.append({"title": f"{heading(name)} ({len(items)})", "table": table})
    return {
        "doc_id": result.doc_id,
        "published": result.provenance.published,
        "counts": " · ".join(f"{heading(name)} {len(items)}" for name, items in lists),
        "provenance": _provenance(result),
        "warnings": list(result.provenance.warnings),
        "legend": legend,
        "missing": [s.path for s in spans if s.start is None],
        "direction": direction,
        "lang": text_language(result.text),
        "paragraphs": paragraphs,
        "tables": tables,
    }
