"""Two runs side by side: per document and overall, A, B and the difference B - A.

A prompt, a strategy or a model is worth changing only if the change shows
on the same documents, so a comparison pairs the two runs document by
document (a document only one run scored is shown with a blank side) and
states each difference with its sign: ``+0.25`` is B better on F1 or recall,
``-2`` is B inventing two records fewer. The sides are any two backends of
:class:`~llm_extract.evaluation.EvaluationReport` s: two backends of one run
(two ``[backends.NAME]`` entries, which may differ only in their strategy) or
the same or different backends of two saved JSON reports.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .report import EvaluationReport, _grid, _num
from .scoring import Counts, DocumentScore

__all__ = ["Comparison", "compare"]


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a backend's scores in a report, and what to call it."""

    label: str
    report: EvaluationReport
    backend: str

    def document(self, doc_id: str) -> DocumentScore | None:
        return next((d for d in self.report.documents if d.backend == self.backend and d.doc_id == doc_id), None)

    @property
    def overall(self) -> DocumentScore:
        return self.report.overall[self.backend]


def _diff(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None else f"{b - a:+.2f}"


def _idiff(a: int, b: int) -> str:
    return f"{b - a:+d}"


_METRICS: Sequence[tuple[str, str]] = (
    ("precision", "P"),
    ("recall", "R"),
    ("f1", "F1"),
    ("tp", "TP"),
    ("fp", "FP"),
    ("fn", "FN"),
)


def _metric(c: Counts, name: str) -> float | int | None:
    value: float | int | None = getattr(c, name)
    return value


@dataclass(frozen=True)
class Comparison:
    """Side A against side B, document by document and overall (see the module docstring)."""

    a: Side
    b: Side

    @property
    def doc_ids(self) -> list[str]:
        ids = [d.doc_id for d in self.a.report.documents if d.backend == self.a.backend]
        ids += [d.doc_id for d in self.b.report.documents if d.backend == self.b.backend]
        return list(dict.fromkeys(ids))

    def _doc_row(self, doc_id: str) -> tuple[str, list[list[str]]]:
        da, db = self.a.document(doc_id), self.b.document(doc_id)
        cells: list[str] = []
        for d in (da, db):
            cells += (
                ["", "", ""] if d is None else [_num(d.f1) + ("!" if d.error else ""), str(d.total.fp), str(d.total.fn)]
            )
        if da is None or db is None:
            cells += ["", "", ""]
        else:
            cells += [_diff(da.f1, db.f1), _idiff(da.total.fp, db.total.fp), _idiff(da.total.fn, db.total.fn)]
        negative = any(d is not None and d.negative_control for d in (da, db))
        return doc_id + (" [no event]" if negative else ""), [cells[0:3], cells[3:6], cells[6:9]]

    def _overall_rows(self) -> list[tuple[str, list[list[str]]]]:
        oa, ob = self.a.overall, self.b.overall
        rows: list[tuple[str, list[list[str]]]] = []
        for name, label in _METRICS:
            va, vb = _metric(oa.total, name), _metric(ob.total, name)
            if isinstance(va, int) and isinstance(vb, int):
                rows.append((label, [[str(va)], [str(vb)], [_idiff(va, vb)]]))
            else:
                rows.append((label, [[_num(va)], [_num(vb)], [_diff(va, vb)]]))
        rows.append(
            (
                "quotes",
                [[_num(oa.grounding_rate)], [_num(ob.grounding_rate)], [_diff(oa.grounding_rate, ob.grounding_rate)]],
            )
        )
        for name in dict.fromkeys([*oa.counts, *ob.counts]):
            ca, cb = oa.counts.get(name, Counts()), ob.counts.get(name, Counts())
            rows.append((f"F1 {name}", [[_num(ca.f1)], [_num(cb.f1)], [_diff(ca.f1, cb.f1)]]))
        return rows

    def table(self) -> str:
        """The comparison as plain text: documents (F1, FP, FN), then overall metrics, each with B - A."""
        groups = [f"A: {self.a.label}", f"B: {self.b.label}", "B - A"]
        docs = [self._doc_row(doc_id) for doc_id in self.doc_ids]
        oa, ob = self.a.overall, self.b.overall
        docs.append(
            (
                "overall",
                [
                    [_num(oa.f1), str(oa.total.fp), str(oa.total.fn)],
                    [_num(ob.f1), str(ob.total.fp), str(ob.total.fn)],
                    [_diff(oa.f1, ob.f1), _idiff(oa.total.fp, ob.total.fp), _idiff(oa.total.fn, ob.total.fn)],
                ],
            )
        )
        better = sum(1 for _, cells in docs[:-1] if cells[2][0].startswith("+") and cells[2][0] != "+0.00")
        worse = sum(1 for _, cells in docs[:-1] if cells[2][0].startswith("-") and cells[2][0] not in ("-", "-0.00"))
        return "\n\n".join(
            [
                f"Comparison of {len(self.doc_ids)} documents: A = {self.a.label}, B = {self.b.label}",
                _grid("document", groups, ("F1", "FP", "FN"), docs),
                _grid("overall", groups, ("",), self._overall_rows()),
                f"B is better on {better} documents, worse on {worse}, even on {len(docs) - 1 - better - worse}. "
                "F1 over required records; quotes: predicted quotes found in the source; !: extraction failed.",
            ]
        )

    def __str__(self) -> str:
        return self.table()

    def to_dict(self) -> dict[str, Any]:
        """A, B and B - A per document and overall, as JSON-ready data."""

        def scores(d: DocumentScore | None) -> dict[str, Any] | None:
            return None if d is None else d.total.to_dict() | {"error": d.error}

        documents = []
        for doc_id in self.doc_ids:
            da, db = self.a.document(doc_id), self.b.document(doc_id)
            documents.append(
                {
                    "doc_id": doc_id,
                    "a": scores(da),
                    "b": scores(db),
                    "f1_difference": None if da is None or db is None else db.f1 - da.f1,
                }
            )
        oa, ob = self.a.overall, self.b.overall
        return {
            "a": {"label": self.a.label, "backend": self.a.backend},
            "b": {"label": self.b.label, "backend": self.b.backend},
            "overall": {
                "a": oa.to_dict(details=False),
                "b": ob.to_dict(details=False),
                "difference": {
                    name: (None if va is None or vb is None else vb - va)
                    for name, _ in _METRICS
                    for va, vb in [(_metric(oa.total, name), _metric(ob.total, name))]
                },
            },
            "documents": documents,
        }

    def write_json(self, path: str | os.PathLike[str]) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def compare(
    a: EvaluationReport,
    b: EvaluationReport | None = None,
    *,
    backend_a: str | None = None,
    backend_b: str | None = None,
    labels: tuple[str, str] | None = None,
) -> Comparison:
    """Compare two backends: of one report (``compare(report)``: its first two) or of two reports.

    Args:
        a: the report of side A (and of B when ``b`` is ``None``).
        b: the report of side B.
        backend_a, backend_b: which backend of each report; by default A's first, and B's first
            (or, within one report, its second).
        labels: what the table calls the sides; by default the backends' names.

    Raises:
        ValueError: a report does not hold the backend asked for, or one report holds one backend only.
    """
    report_b = a if b is None else b
    name_a = backend_a or a.backends[0]
    if backend_b is not None:
        name_b = backend_b
    elif b is None:
        if len(a.backends) < 2:
            raise ValueError("compare(report) needs a report of two backends, or a second report")
        name_b = a.backends[1]
    else:
        name_b = report_b.backends[0]
    for report, name in ((a, name_a), (report_b, name_b)):
        if name not in report.backends:
            raise ValueError(f"the report holds no backend {name!r} (it holds {', '.join(report.backends)})")
    label_a, label_b = labels or (name_a, name_b)
    return Comparison(Side(label_a, a, name_a), Side(label_b, report_b, name_b))
