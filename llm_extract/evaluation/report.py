"""The evaluation report: per document, per record type and per field, as text, JSON, HTML or pandas."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..results import Usage

if TYPE_CHECKING:
    import pandas
from .scoring import Counts, DocumentScore, FieldScore

# --- the report ------------------------------------------------------------------------


@dataclass
class RunInfo:
    """How one backend's extraction run went: cost, cache use, failures."""

    backend: str
    kind: str = ""
    model: str = ""
    documents: int = 0
    failed: int = 0
    cache_hits: int = 0
    usage: Usage = field(default_factory=Usage)
    wall_time_s: float = 0.0

    def describe(self) -> str:
        u = self.usage
        text = (
            f"{self.backend} ({self.kind} {self.model}): {self.documents} documents, {self.cache_hits} from cache, "
            f"{u.model_calls} model calls, {u.prompt_tokens}+{u.completion_tokens} tokens, "
            f"{self.failed} failed, {self.wall_time_s:.1f}s"
        )
        return text + (f", ${u.cost_usd:.4f}" if u.cost_usd is not None else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "kind": self.kind,
            "model": self.model,
            "documents": self.documents,
            "failed": self.failed,
            "cache_hits": self.cache_hits,
            "usage": self.usage.model_dump(),
            "wall_time_s": round(self.wall_time_s, 3),
        }


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


_DOC_COLS = ("P", "R", "F1", "TP", "FP", "FN", "opt", "quotes")
_TYPE_COLS = ("P", "R", "F1", "TP", "FP", "FN", "opt")
_FIELD_COLS = ("acc", "n")


def _count_cells(c: Counts) -> list[str]:
    found, total = c.optional_found, c.optional_found + c.optional_missed
    return [_num(c.precision), _num(c.recall), _num(c.f1), str(c.tp), str(c.fp), str(c.fn), f"{found}/{total}"]


def _grid(title: str, groups: Sequence[str], cols: Sequence[str], rows: Sequence[tuple[str, list[list[str]]]]) -> str:
    """A plain-text table: a label column, then one group of ``cols`` per backend."""
    width = [max([len(title), *(len(label) for label, _ in rows)])]
    for g in range(len(groups)):
        for c, name in enumerate(cols):
            width.append(max([len(name), *(len(cells[g][c]) for _, cells in rows)]))
    ncols = len(cols)
    for g, name in enumerate(groups):  # a long backend name widens the group's first column
        span = sum(width[1 + g * ncols : 1 + (g + 1) * ncols]) + 2 * (ncols - 1)
        width[1 + g * ncols] += max(0, len(name) - span)

    def line(label: str, cells: list[str]) -> str:
        parts = [label.ljust(width[0])]
        for i, cell in enumerate(cells):
            sep = "   " if i % ncols == 0 else "  "
            parts.append(sep + cell.rjust(width[1 + i]))
        return "".join(parts).rstrip()

    head = [title.ljust(width[0])]
    for g, name in enumerate(groups):
        span = sum(width[1 + g * ncols : 1 + (g + 1) * ncols]) + 2 * (ncols - 1)
        head.append("   " + name.ljust(span))
    out = ["".join(head).rstrip(), line("", [c for _ in groups for c in cols])]
    out += [line(label, [c for cells in group for c in cells]) for label, group in rows]
    return "\n".join(out)


def _short(value: Any, limit: int = 70) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class EvaluationReport:
    """Scores of one or more backends on a set of fixtures.

    Prints as a text table (``print(report)``), renders as HTML in Jupyter,
    and converts with :meth:`to_dict` / :meth:`to_json` / :meth:`to_pandas`.

    Attributes:
        documents: one :class:`DocumentScore` per backend and fixture.
        backends: in the order given; the table shows them side by side.
        runs: per backend, how the extraction run went.
    """

    documents: list[DocumentScore]
    backends: list[str]
    runs: dict[str, RunInfo] = field(default_factory=dict)
    fixtures: str = ""
    spec: str = ""

    @property
    def doc_ids(self) -> list[str]:
        return list(dict.fromkeys(d.doc_id for d in self.documents))

    @property
    def overall(self) -> dict[str, DocumentScore]:
        """Per backend, every document combined (micro-averaged)."""
        return {
            b: DocumentScore.combine([d for d in self.documents if d.backend == b], backend=b) for b in self.backends
        }

    def f1(self, backend: str | None = None) -> float:
        """Overall F1 of ``backend`` (default: the first)."""
        return self.overall[backend or self.backends[0]].f1

    def _doc(self, backend: str, doc_id: str) -> DocumentScore | None:
        return next((d for d in self.documents if d.backend == backend and d.doc_id == doc_id), None)

    # -- text ---------------------------------------------------------------------------

    def _sections(self) -> list[tuple[str, Sequence[str], list[tuple[str, list[list[str]]]]]]:
        """(title, columns, rows) of the three tables, shared by the text and HTML renderings."""
        overall = self.overall
        doc_rows: list[tuple[str, list[list[str]]]] = []
        for doc_id in self.doc_ids:
            cells, negative = [], False
            for b in self.backends:
                d = self._doc(b, doc_id)
                if d is None:
                    cells.append([""] * len(_DOC_COLS))
                    continue
                negative = negative or d.negative_control
                cells.append([*_count_cells(d.total), _pct(d.grounding_rate)])
                if d.error:
                    cells[-1][2] += "!"
            doc_rows.append((doc_id + (" [no event]" if negative else ""), cells))
        doc_rows.append(
            ("overall", [[*_count_cells(overall[b].total), _pct(overall[b].grounding_rate)] for b in self.backends])
        )
        types = list(dict.fromkeys(n for b in self.backends for n in overall[b].counts))
        type_rows = [
            (n, [_count_cells(overall[b].counts.get(n, Counts())) for b in self.backends]) for n in types
        ]
        type_rows.append(("all", [_count_cells(overall[b].total) for b in self.backends]))
        names = list(dict.fromkeys(n for b in self.backends for n in overall[b].fields))
        field_rows = []
        for n in names:
            cells = []
            for b in self.backends:
                f = overall[b].fields.get(n, FieldScore())
                cells.append([_num(f.accuracy), str(f.n)])
            field_rows.append((n, cells))
        return [
            ("document", _DOC_COLS, doc_rows),
            ("record type", _TYPE_COLS, type_rows),
            ("field (matched pairs)", _FIELD_COLS, field_rows),
        ]

    def table(self, *, mismatches: int = 20) -> str:
        """The report as plain text: documents, record types, fields, then failures and wrong facts."""
        groups = [self._group_name(b) for b in self.backends]
        parts = [
            f"Evaluation of {len(self.doc_ids)} fixture{'' if len(self.doc_ids) == 1 else 's'}"
            + (f" in {self.fixtures}" if self.fixtures else "")
            + (f" (spec: {self.spec})" if self.spec else "")
        ]
        parts += [_grid(title, groups, cols, rows) for title, cols, rows in self._sections()]
        parts.append(
            "P/R/F1: required records (- = undefined). opt: optional gold records found/total, never counted.\n"
            "quotes: predicted quotes found in the source. acc: mean field score over n matched pairs.\n"
            "[no event]: negative control, any record is a false positive. !: extraction failed, all missed."
        )
        failures = [d for d in self.documents if d.error]
        if failures:
            parts.append("Failed:\n" + "\n".join(f"  {d.backend} {d.doc_id}: {d.error}" for d in failures))
        wrong = [(d, m) for d in self.documents for m in d.mismatches]
        if wrong and mismatches:
            lines = [
                f"  {d.backend} {d.doc_id} {m['records']}[{m['gold']}].{m['field']}: "
                f"gold {_short(m['gold_value'])} / predicted {_short(m['predicted_value'])}"
                for d, m in wrong[:mismatches]
            ]
            if len(wrong) > mismatches:
                lines.append(f"  ... and {len(wrong) - mismatches} more (see the JSON report)")
            parts.append("Wrong facts:\n" + "\n".join(lines))
        runs = [self.runs[b].describe() for b in self.backends if b in self.runs]
        if runs:
            parts.append("Runs:\n" + "\n".join("  " + r for r in runs))
        return "\n\n".join(parts)

    def _group_name(self, backend: str) -> str:
        run = self.runs.get(backend)
        return f"{backend} ({run.model})" if run and run.model and run.model != backend else backend

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        f1 = ", ".join(f"{b}={self.f1(b):.3f}" for b in self.backends)
        return f"EvaluationReport({len(self.doc_ids)} documents, F1 {f1})"

    # -- HTML ---------------------------------------------------------------------------

    def _repr_html_(self) -> str:
        """A self-contained HTML rendering (no scripts, no external CSS); every value is escaped."""
        e = html.escape
        groups = [self._group_name(b) for b in self.backends]
        cell = 'style="padding:2px 8px;text-align:right;border-bottom:1px solid #ddd"'
        left = 'style="padding:2px 8px;text-align:left;border-bottom:1px solid #ddd"'
        out = ['<div class="llm-extract-eval">']
        for title, cols, rows in self._sections():
            out.append('<table style="border-collapse:collapse;margin:8px 0">')
            out.append(f"<thead><tr><th {left}></th>")
            out += [f'<th colspan="{len(cols)}" {left}>{e(g)}</th>' for g in groups]
            out.append(f"</tr><tr><th {left}>{e(title)}</th>")
            out += [f"<th {cell}>{e(c)}</th>" for _ in groups for c in cols]
            out.append("</tr></thead><tbody>")
            for label, cells in rows:
                out.append(f"<tr><td {left}>{e(label)}</td>")
                out += [f"<td {cell}>{e(v)}</td>" for group in cells for v in group]
                out.append("</tr>")
            out.append("</tbody></table>")
        failures = [d for d in self.documents if d.error]
        if failures:
            out.append("<p><b>Failed</b></p><ul>")
            out += [f"<li>{e(d.backend)} {e(d.doc_id)}: {e(d.error or '')}</li>" for d in failures]
            out.append("</ul>")
        wrong = [(d, m) for d in self.documents for m in d.mismatches]
        if wrong:
            out.append('<table style="border-collapse:collapse;margin:8px 0"><thead><tr>')
            out += [f"<th {left}>{e(h)}</th>" for h in ("backend", "document", "field", "gold", "predicted")]
            out.append("</tr></thead><tbody>")
            for d, m in wrong[:500]:
                where = f"{m['records']}[{m['gold']}].{m['field']}"
                out.append(
                    f"<tr><td {left}>{e(d.backend)}</td><td {left}>{e(d.doc_id)}</td><td {left}>{e(where)}</td>"
                    f'<td {left} dir="auto">{e(_short(m["gold_value"], 300))}</td>'
                    f'<td {left} dir="auto">{e(_short(m["predicted_value"], 300))}</td></tr>'
                )
            out.append("</tbody></table>")
        out += [f"<p>{e(self.runs[b].describe())}</p>" for b in self.backends if b in self.runs]
        out.append("</div>")
        return "".join(out)

    def to_html(self) -> str:
        """A whole HTML page (UTF-8) around :meth:`_repr_html_`, for ``--html``."""
        title = html.escape(f"llm-extract evaluation: {', '.join(self.backends)}")
        return (
            f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title></head>'
            f'<body style="font-family:sans-serif;font-size:14px"><h1>{title}</h1>{self._repr_html_()}</body></html>\n'
        )

    # -- data ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "fixtures": self.fixtures,
            "spec": self.spec,
            "backends": self.backends,
            "overall": {b: s.to_dict(details=False) for b, s in self.overall.items()},
            "runs": {b: r.to_dict() for b, r in self.runs.items()},
            "documents": [d.to_dict() for d in self.documents],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def write_json(self, path: str | os.PathLike[str]) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    def write_html(self, path: str | os.PathLike[str]) -> None:
        Path(path).write_text(self.to_html(), encoding="utf-8")

    def to_pandas(
        self,
        kind: Literal["documents", "fields", "overall", "mismatches"] = "documents",
        records: str | None = None,
    ) -> pandas.DataFrame:
        """A DataFrame for analysis.

        Args:
            kind: ``"documents"``: one row per backend, document and record
                list; ``"overall"``: per backend and record list (``"all"``
                included); ``"fields"``: per backend, document and field;
                ``"mismatches"``: one row per wrong fact.
            records: only the rows of one record list, e.g. ``"incidents"``.

        Raises:
            ImportError: pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_pandas() needs pandas: pip install 'llm_extract[pandas]'") from None
        rows: list[dict[str, Any]] = []
        if kind == "documents":
            for d in self.documents:
                for name, c in d.counts.items():
                    rows.append(
                        {"backend": d.backend, "doc_id": d.doc_id, "records": name, **c.to_dict()}
                        | {"negative_control": d.negative_control, "error": d.error}
                    )
        elif kind == "overall":
            for b, s in self.overall.items():
                for name, c in [*s.counts.items(), ("all", s.total)]:
                    rows.append({"backend": b, "records": name, **c.to_dict()})
        elif kind == "fields":
            for d in self.documents:
                for name, f in d.fields.items():
                    rows.append({"backend": d.backend, "doc_id": d.doc_id, "field": name, **f.to_dict()})
        elif kind == "mismatches":
            for d in self.documents:
                for m in d.mismatches:
                    rows.append({"backend": d.backend, "doc_id": d.doc_id, **m})
        else:
            raise ValueError(f"kind must be documents, overall, fields or mismatches, not {kind!r}")
        if records is not None:
            rows = [r for r in rows if r.get("records", str(r.get("field", "")).split(".")[0]) == records]
        return pd.DataFrame(rows)


