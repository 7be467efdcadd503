"""The evaluation report: per document, per record type and per field, as text, JSON, HTML or pandas."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import jinja2

from ..errors import InputError
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


@cache
def _environment() -> jinja2.Environment:
    """Templates are package data (``llm_extract/evaluation/templates``); every value is escaped."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("llm_extract.evaluation", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _template(name: str) -> jinja2.Template:
    return _environment().get_template(name)


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
    out = ["".join(head).rstrip()]
    if any(cols):  # a table of single values (a comparison's metrics) needs no column names
        out.append(line("", [c for _ in groups for c in cols]))
    out += [line(label, [c for cells in group for c in cells]) for label, group in rows]
    return "\n".join(out)


def _short(value: Any, limit: int = 70) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quoted(value: str | None, limit: int = 70) -> str:
    return "-" if not value else '"' + _short(value, limit) + '"'


def _missed_line(m: dict[str, Any]) -> str:
    return f"    missed   {m['id']}: {_quoted(m.get('summary'))} quote {_quoted(m.get('quote'))}"


def _invented_line(r: dict[str, Any]) -> str:
    return f"    invented {r['type']}: {_quoted(r.get('summary'))} quote {_quoted(r.get('quote'))}"


def _wrong_line(m: dict[str, Any]) -> str:
    where = m.get("id") or f"{m['records']}[{m['gold']}]"
    return (
        f"    wrong    {where}.{m['field']}: gold {_short(m['gold_value'])} / predicted {_short(m['predicted_value'])}"
    )


def _limited(lines: list[str], limit: int) -> list[str]:
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], f"    ... and {len(lines) - limit} more (see the JSON report)"]


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
        type_rows = [(n, [_count_cells(overall[b].counts.get(n, Counts())) for b in self.backends]) for n in types]
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

    def details(self) -> list[DocumentScore]:
        """The documents that have something to name: a missed, invented or wrong record, or a failure."""
        return [d for d in self.documents if d.missed or d.invented or d.mismatches or d.error]

    def table(self, *, limit: int = 20) -> str:
        """The report as plain text: documents, record types, fields, failures, then per document what went wrong.

        Args:
            limit: at most this many missed, invented and wrong lines per document (the JSON report has all).
        """
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
        named = [d for d in self.details() if d.missed or d.invented or d.mismatches]
        if named:
            lines = [
                "Per document: missed = required gold record no prediction matched (its id: list[index] in the "
                "fixture, from 0);\ninvented = predicted record that matched no gold one; "
                "wrong = field of a matched pair, gold / predicted."
            ]
            for d in named:
                lines.append(f"  {d.backend} {d.doc_id}" + (" [no event]" if d.negative_control else ""))
                lines += _limited([_missed_line(m) for m in d.missed], limit)
                lines += _limited([_invented_line(r) for r in d.invented], limit)
                lines += _limited([_wrong_line(m) for m in d.mismatches], limit)
            parts.append("\n".join(lines))
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
        return _template("report.html.j2").render(report=self, page=False, **self._html_context())

    def to_html(self) -> str:
        """A whole HTML page (UTF-8) around :meth:`_repr_html_`, for ``--html``."""
        return _template("report.html.j2").render(report=self, page=True, **self._html_context())

    def _html_context(self) -> dict[str, Any]:
        return {
            "title": f"llm-extract evaluation: {', '.join(self.backends)}",
            "groups": [self._group_name(b) for b in self.backends],
            "sections": self._sections(),
            "failures": [d for d in self.documents if d.error],
            "named": [d for d in self.details() if d.missed or d.invented or d.mismatches],
            "runs": [self.runs[b].describe() for b in self.backends if b in self.runs],
            "short": _short,
        }

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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationReport:
        """A report back from :meth:`to_dict`, so a saved run can be shown or compared with a new one."""
        runs = {
            b: RunInfo(**(r | {"usage": Usage.model_validate(r.get("usage") or {})}))
            for b, r in (data.get("runs") or {}).items()
        }
        return cls(
            [DocumentScore.from_dict(d) for d in data["documents"]],
            list(data["backends"]),
            runs,
            fixtures=data.get("fixtures", ""),
            spec=data.get("spec", ""),
        )

    @classmethod
    def read_json(cls, path: str | os.PathLike[str]) -> EvaluationReport:
        """A report saved by ``llm-extract eval --report FILE.json``.

        Raises:
            InputError: the file cannot be read, or it is not such a report (one line naming the file).
        """
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except OSError as exc:
            raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: not an llm-extract evaluation report ({type(exc).__name__}: {exc})") from None

    def write_html(self, path: str | os.PathLike[str]) -> None:
        Path(path).write_text(self.to_html(), encoding="utf-8")

    def to_pandas(
        self,
        kind: Literal["documents", "fields", "overall", "mismatches", "missed", "invented"] = "documents",
        records: str | None = None,
    ) -> pandas.DataFrame:
        """A DataFrame for analysis.

        Args:
            kind: ``"documents"``: one row per backend, document and record
                list; ``"overall"``: per backend and record list (``"all"``
                included); ``"fields"``: per backend, document and field;
                ``"mismatches"``: one row per wrong fact; ``"missed"`` / ``"invented"``: one row
                per missed required gold record / per invented record.
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
        elif kind in ("mismatches", "missed", "invented"):
            for d in self.documents:
                for m in getattr(d, kind):
                    rows.append({"backend": d.backend, "doc_id": d.doc_id, **m})
        else:
            raise ValueError(f"kind must be documents, overall, fields, mismatches, missed or invented, not {kind!r}")
        if records is not None:
            rows = [r for r in rows if r.get("records", str(r.get("field", "")).split(".")[0]) == records]
        return pd.DataFrame(rows)
