"""Notebook display: a result as HTML a reader can check at a glance.

A record is only as useful as the sentence it came from, so the page shows
the article with every evidence quote highlighted, one colour per record
list, each highlight titled with the record and field it supports
(``incidents[0].casualties[1].evidence[0]``), and the records as tables
beside it. The same HTML serves Jupyter (``_repr_html_`` /
``_repr_mimebundle_`` on the result objects) and files
(:func:`save_html`).

Design choices, and why:

* **Self-contained.** One ``<style>`` block, no script, no font or image
  from the network: outputs stay readable offline, in CI artifacts and in
  sanitising viewers. Mark colours are also set inline, so highlights
  survive viewers that strip ``<style>``.
* **Everything escaped.** Article text, quotes and field values pass
  through :func:`html.escape`; an article containing ``<script>`` shows it
  as text.
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

import html
import itertools
import typing
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from .batch import BatchResult
from .grounding import Evidence, SourceText, Stated
from .results import VIEWS, DocumentResult, iter_evidence_paths, mimebundle, record_lists

__all__ = [
    "EvidenceSpan",
    "evidence_spans",
    "iter_evidence_paths",
    "mimebundle",
    "record_lists",
    "render_batch_html",
    "render_html",
    "render_page",
    "save_html",
    "text_direction",
]

PALETTE = ("#ffc078", "#8ce99a", "#74c0fc", "#e599f7", "#ffe066", "#63e6be", "#ffa8a8", "#b197fc")
"""Highlight colours, one per record list in schema order; light enough for black text."""

MAX_DOCUMENTS_SHOWN = 20
"""A batch shows per-document details for this many documents (a notebook output is not a report)."""

_QUOTE_CHARS = 160


# --- walking results ---------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceSpan:
    """One evidence quote of a result, located in the article.

    Attributes:
        path: where the quote sits in the records, e.g.
            ``"incidents[0].casualties[1].evidence[0]"``.
        record_type: the record list it belongs to (``"incidents"``).
        record_index: the record's index in that list.
        quote: the quote as the model gave it.
        start, end: offsets into the original text, or ``None`` when the
            quote could not be located (only for results built by hand).
        label: a short description of the record, for tooltips.
    """

    path: str
    record_type: str
    record_index: int
    quote: str
    start: int | None
    end: int | None
    label: str = ""

    @property
    def record(self) -> str:
        """The record part of the path: ``"incidents[0]"``."""
        return f"{self.record_type}[{self.record_index}]"

    @property
    def field(self) -> str:
        """The path inside the record: ``"casualties[1].evidence[0]"``."""
        return self.path[len(self.record) + 1 :]


def record_label(record: Any, limit: int = 90) -> str:
    """A one-line description of a record: its ``summary`` if it has one, else its first text field."""
    if not isinstance(record, BaseModel):
        return ""
    summary = getattr(record, "summary", None)
    if isinstance(summary, str) and summary:
        text = summary
    else:
        text = next((v for n in type(record).model_fields if isinstance(v := getattr(record, n), str) and v), "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def evidence_spans(records: BaseModel, text: str) -> list[EvidenceSpan]:
    """Every evidence quote of ``records`` with offsets into ``text``.

    Offsets come from grounding. A quote without offsets (a result built by
    hand, outside :func:`~llm_extract.grounding.grounding`) is looked up in
    the text the same way grounding does; one that is not found keeps
    ``None`` offsets and is reported, not highlighted.
    """
    source: SourceText | None = None
    spans: list[EvidenceSpan] = []
    for list_name, items in record_lists(records):
        for i, record in enumerate(items):
            label = record_label(record)
            for path, ev in iter_evidence_paths(record, f"{list_name}[{i}]"):
                start, end = ev.start, ev.end
                if start is None or end is None:
                    source = source or SourceText(text)
                    found = source.find(ev.quote)
                    start, end = found if found else (None, None)
                if start is not None and end is not None:
                    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
                    if start >= end:
                        start = end = None
                spans.append(EvidenceSpan(path, list_name, i, ev.quote, start, end, label))
    return spans


# --- direction ---------------------------------------------------------------------

_ARABIC_RANGES = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x0870, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))


def _strong_counts(text: str) -> tuple[int, int, int]:
    """(right-to-left, left-to-right, Arabic) strong-character counts."""
    rtl = ltr = arabic = 0
    for ch in text:
        bidi = unicodedata.bidirectional(ch)
        if bidi in ("R", "AL"):
            rtl += 1
            code = ord(ch)
            arabic += any(lo <= code <= hi for lo, hi in _ARABIC_RANGES)
        elif bidi == "L":
            ltr += 1
    return rtl, ltr, arabic


def text_direction(text: str, default: Literal["rtl", "ltr"] = "ltr") -> Literal["rtl", "ltr"]:
    """``"rtl"`` when most strong characters of ``text`` are right-to-left, else ``"ltr"``.

    A share rather than the first strong character (what ``dir="auto"``
    does): an Arabic paragraph that starts with "BBC" or a date in Latin
    digits must still run right-to-left.
    """
    rtl, ltr, _ = _strong_counts(text)
    if rtl == ltr == 0:
        return default
    return "rtl" if rtl >= ltr else "ltr"


def text_language(text: str) -> str | None:
    """``"ar"`` when Arabic letters are most of the strong characters; ``None`` when unsure."""
    rtl, ltr, arabic = _strong_counts(text)
    return "ar" if arabic and arabic * 2 >= rtl + ltr else None


# --- small HTML helpers --------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _bdi(text: str) -> str:
    """Isolate a value so mixed-direction text does not reorder what is around it."""
    return f"<bdi>{_e(text)}</bdi>"


def _color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _css(list_names: Sequence[str]) -> str:
    rules = [
        ".lx-result{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Naskh Arabic',"
        "'Noto Sans Arabic',Arial,sans-serif;font-size:13px;line-height:1.45;color:#1f2328;background:#fff;"
        "border:1px solid #d0d7de;border-radius:6px;padding:10px 14px;margin:4px 0;max-width:1200px;"
        "box-sizing:border-box;text-align:start}",
        ".lx-result .lx-head{display:flex;flex-wrap:wrap;gap:4px 14px;align-items:baseline;margin-bottom:6px}",
        ".lx-result .lx-doc{font-weight:600;font-size:14px}",
        ".lx-result .lx-prov,.lx-result .lx-muted{color:#59636e;font-size:12px}",
        ".lx-result .lx-warn{color:#9a6700;font-size:12px;margin:2px 0}",
        ".lx-result .lx-legend{display:flex;flex-wrap:wrap;gap:4px 12px;font-size:12px;margin:6px 0}",
        ".lx-result .lx-swatch{display:inline-block;width:.9em;height:.9em;border-radius:2px;"
        "vertical-align:-1px;margin-inline-end:4px;border:1px solid rgba(0,0,0,.15)}",
        ".lx-result .lx-article{font-size:16px;line-height:1.9;border:1px solid #d0d7de;border-radius:4px;"
        "padding:8px 12px;margin:6px 0 10px;max-height:42em;overflow-y:auto;background:#fff}",
        ".lx-result .lx-article p{margin:0 0 .55em;padding:0;text-align:start;unicode-bidi:isolate;"
        "white-space:pre-wrap}",
        ".lx-result mark.lx-mark{color:inherit;padding:0}",
        ".lx-result mark.lx-overlap{box-shadow:inset 0 -2px 0 rgba(0,0,0,.55)}",
        ".lx-result .lx-h{font-size:13px;margin:10px 0 4px;font-weight:600}",
        ".lx-result .lx-scroll{overflow-x:auto}",
        ".lx-result table.lx-table{border-collapse:collapse;font-size:12px;margin:0 0 6px;width:auto;"
        "table-layout:auto;color:inherit;border:none}",
        ".lx-result table.lx-table th,.lx-result table.lx-table td{border:1px solid #d0d7de;padding:3px 6px;"
        "vertical-align:top;text-align:start;max-width:26em;background:#fff;color:inherit}",
        ".lx-result table.lx-table th{background:#f6f8fa;font-weight:600;white-space:nowrap}",
        ".lx-result table.lx-sub{font-size:11.5px;margin:0}",
        ".lx-result table.lx-sub th{background:#fbfbfc;font-weight:500}",
        ".lx-result .lx-num{text-align:end;font-variant-numeric:tabular-nums;white-space:nowrap}",
        ".lx-result table.lx-table tr.lx-detail>td{background:#fcfcfd}",
        ".lx-result .lx-blocks{display:flex;flex-wrap:wrap;gap:6px 18px}",
        ".lx-result .lx-block{flex:0 1 auto;max-width:100%}",
        ".lx-result .lx-bh{color:#59636e;font-size:11px;font-weight:600;text-transform:uppercase;"
        "letter-spacing:.03em;margin-bottom:1px}",
        ".lx-result .lx-none{color:#8c959f;font-style:italic}",
        ".lx-result .lx-k{color:#59636e;font-size:11px;margin-inline-end:4px}",
        ".lx-result ul.lx-items{margin:0;padding-inline-start:1.1em}",
        ".lx-result .lx-q{font-size:11.5px;min-width:12em;max-width:36em;border-inline-start:2px solid #afb8c1;"
        "padding-inline-start:5px;margin:1px 0 3px;text-align:start}",
        ".lx-result .lx-off{color:#8c959f;font-size:10.5px;white-space:nowrap}",
        ".lx-result details{margin:4px 0}",
        ".lx-result summary{cursor:pointer}",
    ]
    for i, name in enumerate(list_names):
        rules.append(f".lx-result .lx-t-{name}{{background:{_color(i)}}}")
    return "<style>" + "".join(rules) + "</style>"


# --- the article ---------------------------------------------------------------------


def _mark(segment: str, covering: list[EvidenceSpan], colors: dict[str, str]) -> str:
    inner = min(covering, key=lambda s: ((s.end or 0) - (s.start or 0), s.path))
    classes = f"lx-mark lx-t-{inner.record_type}" + (" lx-overlap" if len(covering) > 1 else "")
    title = "\n".join(f"{s.path}" + (f" — {s.label}" if s.label else "") for s in covering)
    paths = " ".join(s.path for s in covering)
    return (
        f'<mark class="{_e(classes)}" style="background:{colors[inner.record_type]}" '
        f'title="{_e(title)}" data-evidence="{_e(paths)}">{_e(segment)}</mark>'
    )


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each non-blank line; a span crossing lines is cut at the line break."""
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            yield pos, pos + len(line)
        pos += len(line) + 1


def _article_html(text: str, spans: list[EvidenceSpan], colors: dict[str, str], direction: str) -> str:
    located = [(s.start, s.end, s) for s in spans if s.start is not None and s.end is not None]
    out: list[str] = []
    for p_start, p_end in _paragraphs(text):
        here = [(a, b, s) for a, b, s in located if a < p_end and b > p_start]
        cuts = {p_start, p_end}
        for a, b, _ in here:
            cuts.update(c for c in (a, b) if p_start < c < p_end)
        parts: list[str] = []
        for lo, hi in itertools.pairwise(sorted(cuts)):
            covering = [s for a, b, s in here if a <= lo and b >= hi]
            segment = text[lo:hi]
            parts.append(_mark(segment, covering, colors) if covering else _e(segment))
        p_dir = text_direction(text[p_start:p_end], default="rtl" if direction == "rtl" else "ltr")
        out.append(f'<p dir="{p_dir}">' + "".join(parts) + "</p>")
    return "".join(out)


# --- tables --------------------------------------------------------------------------


def _is_stated(model: type[BaseModel], name: str) -> bool:
    return any(isinstance(m, Stated) for m in model.model_fields[name].metadata)


def _is_evidence_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Evidence) for v in value)


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == ""


def _none(stated: bool) -> str:
    return '<span class="lx-none">unknown</span>' if stated else '<span class="lx-none">—</span>'


def _scalar(value: Any) -> str:
    if isinstance(value, Enum):
        return _e(value.value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return _e(value)
    return _bdi(str(value))


def _evidence_html(items: list[Evidence]) -> str:
    """Quotes as blocks that take their own direction, each with its offsets into the text."""
    blocks = []
    for ev in items:
        quote = ev.quote if len(ev.quote) <= _QUOTE_CHARS else ev.quote[: _QUOTE_CHARS - 1] + "…"
        offsets = f' <span class="lx-off" dir="ltr">[{ev.start}:{ev.end}]</span>' if ev.start is not None else ""
        # no <bdi> here: dir="auto" skips text inside <bdi>, and the quote must set the block's direction
        blocks.append(f'<div class="lx-q" dir="auto" title="{_e(ev.quote)}">{_e(quote)}{offsets}</div>')
    return "".join(blocks)


def _inline_model(model: BaseModel) -> str:
    """A nested model as compact ``key value`` lines (unset fields left out, unknown counts shown)."""
    cls = type(model)
    lines = []
    for name in cls.model_fields:
        value = getattr(model, name)
        stated = _is_stated(cls, name)
        if _empty(value) and not stated:
            continue
        lines.append(f'<div><span class="lx-k">{_e(name)}</span>{_value(value, stated)}</div>')
    return "".join(lines) or _none(False)


def _value(value: Any, stated: bool = False) -> str:
    """Any field value as compact HTML."""
    if _empty(value):
        return _none(stated)
    if _is_evidence_list(value):
        return _evidence_html(value)
    if isinstance(value, BaseModel):
        return _inline_model(value)
    if isinstance(value, list):
        if all(isinstance(v, BaseModel) for v in value):
            return _models_html(value)
        return ", ".join(_value(v) for v in value)
    return _scalar(value)


def _models_html(items: list[Any]) -> str:
    """A list of nested models: a sub-table when they carry counts (to compare numbers), else a list."""
    cls = type(items[0])
    if any(_is_stated(cls, n) for n in cls.model_fields):
        return _table(cls, items, sub=True)
    lis = []
    for item in items:
        parts = []
        for i, name in enumerate(cls.model_fields):
            value = getattr(item, name)
            if _empty(value):
                continue
            if i == 0 and not isinstance(value, BaseModel):
                parts.append(f"<b>{_value(value)}</b>")
            elif isinstance(value, BaseModel) and i == 0:
                parts.append(_inline_model(value))
            else:
                parts.append(f'<span class="lx-k">{_e(name)}</span>{_value(value)}')
        lis.append("<li>" + " · ".join(parts) + "</li>")
    return '<ul class="lx-items">' + "".join(lis) + "</ul>"


def _columns(cls: type[BaseModel], items: Sequence[Any]) -> list[str]:
    """Fields worth a column: set in some item, or a count (whose unknown is worth showing)."""
    return [n for n in cls.model_fields if _is_stated(cls, n) or any(not _empty(getattr(i, n, None)) for i in items)]


def _cell(cls: type[BaseModel], item: Any, name: str) -> str:
    value = getattr(item, name, None)
    stated = _is_stated(cls, name)
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    klass = ' class="lx-num"' if numeric or (stated and value is None) else ""
    return f"<td{klass}>{_value(value, stated)}</td>"


def _table(cls: type[BaseModel], items: Sequence[Any], *, sub: bool = False) -> str:
    """Nested items with counts: one row each, numbers in columns, evidence last."""
    columns = _columns(cls, items)
    evidence = [n for n in columns if any(_is_evidence_list(getattr(item, n, None)) for item in items)]
    columns = [n for n in columns if n not in evidence] + evidence
    head = "".join(f"<th>{_e(n.replace('_', ' '))}</th>" for n in columns)
    rows = "".join("<tr>" + "".join(_cell(cls, item, n) for n in columns) + "</tr>" for item in items)
    klass = "lx-table lx-sub" if sub else "lx-table"
    return f'<table class="{klass}"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _is_block(value: Any) -> bool:
    """Lists of models and quotes are too big for a column: they go in the record's detail row."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, BaseModel) for v in value)


def _record_table(cls: type[BaseModel], items: Sequence[Any], list_name: str, color: str) -> str:
    """Top-level records: a row of short fields, then a detail row with their lists and quotes.

    Nested lists (actors, casualties per side, claims) side by side under
    the record keep the table as wide as the page instead of a column each.
    """
    columns = _columns(cls, items)
    blocks = [n for n in columns if any(_is_block(getattr(item, n, None)) for item in items)]
    evidence = [n for n in blocks if any(_is_evidence_list(getattr(item, n, None)) for item in items)]
    blocks = [n for n in blocks if n not in evidence] + evidence
    simple = [n for n in columns if n not in blocks]
    head = "<th>#</th>" + "".join(f"<th>{_e(n.replace('_', ' '))}</th>" for n in simple)
    rows = []
    for i, item in enumerate(items):
        record = f"{_e(list_name)}[{i}]"
        swatch = f'<span class="lx-swatch" style="background:{color}"></span>'
        span = ' rowspan="2"' if blocks else ""
        cells = f'<td class="lx-num"{span}>{swatch}{i}</td>' + "".join(_cell(cls, item, n) for n in simple)
        rows.append(f'<tr class="lx-rec" data-record="{record}">{cells}</tr>')
        if blocks:
            parts = []
            for n in blocks:
                value = getattr(item, n, None)
                if _empty(value):
                    continue
                parts.append(
                    f'<div class="lx-block"><div class="lx-bh">{_e(n.replace("_", " "))}</div>{_value(value)}</div>'
                )
            inner = '<div class="lx-blocks">' + "".join(parts) + "</div>"
            rows.append(
                f'<tr class="lx-detail" data-record="{record}"><td colspan="{max(1, len(simple))}">{inner}</td></tr>'
            )
    table = f'<table class="lx-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    return f'<div class="lx-scroll">{table}</div>'


def _item_model(records: BaseModel, name: str, items: list[Any]) -> type[BaseModel] | None:
    if items:
        first = type(items[0])
        return first if issubclass(first, BaseModel) else None
    args = typing.get_args(type(records).model_fields[name].annotation)
    return args[0] if args and isinstance(args[0], type) and issubclass(args[0], BaseModel) else None


def _records_html(records: BaseModel, colors: dict[str, str]) -> str:
    out = []
    for name, items in record_lists(records):
        title = f"{_e(name.replace('_', ' '))} ({len(items)})"
        model = _item_model(records, name, items)
        if not items or model is None:
            out.append(f'<div class="lx-h">{title} <span class="lx-muted">none</span></div>')
            continue
        out.append(f'<div class="lx-h">{title}</div>' + _record_table(model, items, name, colors.get(name, _color(0))))
    return "".join(out)


# --- whole results -------------------------------------------------------------------


def _provenance_html(result: DocumentResult) -> str:
    p = result.provenance
    u = p.usage
    parts = [
        f"backend <b>{_e(p.backend)}</b> ({_e(p.backend_kind)})",
        f"model {_bdi(p.model)}",
        "cache hit" if p.cache_hit else "cache miss",
        f"{u.prompt_tokens:,} prompt + {u.completion_tokens:,} completion tokens",
        f"{p.attempts} model call{'s' if p.attempts != 1 else ''}",
        f"{p.wall_time_s:.2f} s",
    ]
    if p.chunks > 1:
        parts.append(f"{p.chunks} chunks")
    if u.cost_usd is not None:
        parts.append(f"${u.cost_usd:.4f}")
    return '<span class="lx-prov">' + " · ".join(parts) + "</span>"


def _document_body(result: DocumentResult) -> str:
    """The inner HTML of one result (no ``<style>``; the caller adds it once)."""
    lists = record_lists(result.records)
    colors = {name: _color(i) for i, (name, _) in enumerate(lists)}
    spans = evidence_spans(result.records, result.text)
    direction = text_direction(result.text)
    lang = text_language(result.text)
    counts = " · ".join(f"{name.replace('_', ' ')} {len(items)}" for name, items in lists)
    published = f' <span class="lx-muted">published {_e(result.provenance.published)}</span>'
    head = (
        f'<div class="lx-head"><span class="lx-doc">{_bdi(result.doc_id)}</span>'
        f"{published if result.provenance.published else ''}"
        f'<span class="lx-muted">{_e(counts)}</span>{_provenance_html(result)}</div>'
    )
    warnings = "".join(f'<div class="lx-warn">⚠ {_e(w)}</div>' for w in result.provenance.warnings)
    legend_items = []
    for name, items in lists:
        n_spans = sum(1 for s in spans if s.record_type == name and s.start is not None)
        legend_items.append(
            f'<span><span class="lx-swatch lx-t-{_e(name)}" style="background:{colors[name]}"></span>'
            f"{_e(name.replace('_', ' '))}: {len(items)} record{'s' if len(items) != 1 else ''}, "
            f"{n_spans} quote{'s' if n_spans != 1 else ''}</span>"
        )
    legend_items.append(
        '<span><span class="lx-swatch" style="background:#ddd;box-shadow:inset 0 -2px 0 rgba(0,0,0,.55)">'
        "</span>underlined: quoted by more than one record (hover a highlight for record and field)</span>"
    )
    missing = [s for s in spans if s.start is None]
    if missing:
        legend_items.append(
            f'<span class="lx-warn">{len(missing)} quote(s) not found in the text: '
            + _e(", ".join(s.path for s in missing))
            + "</span>"
        )
    legend = '<div class="lx-legend">' + "".join(legend_items) + "</div>"
    lang_attr = f' lang="{lang}"' if lang else ""
    article = (
        f'<div class="lx-article" dir="{direction}"{lang_attr}>'
        + _article_html(result.text, spans, colors, direction)
        + "</div>"
    )
    return head + warnings + legend + article + _records_html(result.records, colors)


def _list_names_of(results: Iterable[DocumentResult]) -> list[str]:
    names: list[str] = []
    for result in results:
        for name, _ in record_lists(result.records):
            if name not in names:
                names.append(name)
    return names


def render_html(result: DocumentResult) -> str:
    """One result as a self-contained HTML fragment (what Jupyter shows).

    Example::

        from llm_extract.display import render_html
        html = render_html(result)   # same as result._repr_html_()
    """
    names = [name for name, _ in record_lists(result.records)]
    return f'<div class="lx-result" dir="ltr">{_css(names)}{_document_body(result)}</div>'


def _batch_body(batch: BatchResult) -> str:
    s = batch.summary
    names = _list_names_of(batch.results)
    u = s.usage
    summary = (
        f'<div class="lx-head"><span class="lx-doc">{s.succeeded}/{s.documents} documents</span>'
        f'<span class="lx-muted">{s.records} records · {s.cache_hits} from cache · {s.failed} failed · '
        f"{u.model_calls} model calls · {u.prompt_tokens:,}+{u.completion_tokens:,} tokens · "
        f"{s.wall_time_s:.1f} s" + (f" · ${u.cost_usd:.4f}" if u.cost_usd is not None else "") + "</span></div>"
    )
    head = "<th>doc id</th>" + "".join(f"<th>{_e(n.replace('_', ' '))}</th>" for n in names)
    head += "<th>backend</th><th>model</th><th>cache</th><th>tokens</th><th>time</th><th>warnings</th>"
    rows = []
    for result in batch.results:
        p = result.provenance
        counts = {name: len(items) for name, items in record_lists(result.records)}
        cells = f"<td>{_bdi(result.doc_id)}</td>"
        cells += "".join(f'<td class="lx-num">{counts.get(n, 0)}</td>' for n in names)
        cells += (
            f"<td>{_e(p.backend)}</td><td>{_bdi(p.model)}</td><td>{'hit' if p.cache_hit else 'miss'}</td>"
            f'<td class="lx-num">{p.usage.total_tokens:,}</td><td class="lx-num">{p.wall_time_s:.2f} s</td>'
            f'<td class="lx-num">{len(p.warnings)}</td>'
        )
        rows.append(f"<tr>{cells}</tr>")
    table = (
        f'<div class="lx-scroll"><table class="lx-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
    failures = ""
    if s.failures:
        failed_rows = "".join(
            f"<tr><td>{_bdi(f.doc_id)}</td><td>{_e(f.error)}</td><td>{_e(f.reason)}</td></tr>" for f in s.failures
        )
        failures = (
            '<div class="lx-h">failures</div><div class="lx-scroll"><table class="lx-table"><thead><tr><th>doc id</th>'
            f"<th>error</th><th>reason</th></tr></thead><tbody>{failed_rows}</tbody></table></div>"
        )
    details = "".join(
        f"<details><summary>{_bdi(r.doc_id)}</summary>{_document_body(r)}</details>"
        for r in batch.results[:MAX_DOCUMENTS_SHOWN]
    )
    more = len(batch.results) - MAX_DOCUMENTS_SHOWN
    if more > 0:
        details += f'<div class="lx-muted">{more} more documents not shown; display one with batch.results[i]</div>'
    return summary + table + failures + '<div class="lx-h">documents</div>' + details


def render_batch_html(batch: BatchResult) -> str:
    """A batch as a self-contained HTML fragment: summary, per-document table, failures, details."""
    names = _list_names_of(batch.results)
    return f'<div class="lx-result" dir="ltr">{_css(names)}{_batch_body(batch)}</div>'


def render_page(obj: DocumentResult | BatchResult, title: str | None = None) -> str:
    """A complete HTML document (for a file or a browser), UTF-8, with no external resource."""
    body = render_batch_html(obj) if isinstance(obj, BatchResult) else render_html(obj)
    if title is None:
        title = "llm_extract batch" if isinstance(obj, BatchResult) else f"llm_extract: {obj.doc_id}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title></head>"
        f'<body style="margin:12px;background:#fff">{body}</body></html>\n'
    )


def save_html(obj: DocumentResult | BatchResult, path: str | Path) -> Path:
    """Write :func:`render_page` to ``path`` (UTF-8) and return the path."""
    out = Path(path)
    out.write_text(render_page(obj), encoding="utf-8")
    return out


# Results cannot import their views (the views sit above them): they call these through VIEWS.
VIEWS.html = render_html
VIEWS.batch_html = render_batch_html
VIEWS.page = render_page
