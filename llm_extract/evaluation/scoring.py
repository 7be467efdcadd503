"""Scoring: optimal one-to-one matching of predicted to gold records, then field accuracy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from ..fixtures import Fixture
from ..grounding import SourceText, iter_evidence
from ..results import DocumentResult
from .comparators import assign
from .spec import EvaluationSpec

# --- scores --------------------------------------------------------------------------


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


@dataclass
class Counts:
    """Matching outcome for one record list (or all of them).

    ``precision`` and ``recall`` are ``None`` when undefined (nothing
    predicted / nothing to find); ``f1`` is 2TP / (2TP + FP + FN), which
    equals their harmonic mean when both exist and is 1.0 when there was
    nothing to find and nothing was invented (a negative control done right).
    """

    tp: int = 0
    fp: int = 0
    fn: int = 0
    optional_found: int = 0
    optional_missed: int = 0

    @property
    def precision(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        den = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / den if den else 1.0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.optional_found += other.optional_found
        self.optional_missed += other.optional_missed

    def to_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "optional_found": self.optional_found,
            "optional_missed": self.optional_missed,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


@dataclass
class FieldScore:
    """Sum of a field's scores over matched pairs and how many pairs it applied to."""

    total: float = 0.0
    n: int = 0

    @property
    def accuracy(self) -> float | None:
        return self.total / self.n if self.n else None

    def add(self, other: FieldScore) -> None:
        self.total += other.total
        self.n += other.n

    def to_dict(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "n": self.n}


@dataclass
class DocumentScore:
    """The scores of one backend on one document (or, from :meth:`combine`, on many).

    Attributes:
        counts: per record list.
        fields: ``"<list>.<field label>"`` -> score over matched pairs.
        quotes, grounded: predicted evidence quotes, and how many are found in the source.
        matches: per pair, the gold id (``incidents[1]``: the fixture's list and index from 0),
            both indexes, the similarity, whether the gold is optional, and both records' summaries.
        mismatches: every field of a matched pair that scored below 1: gold id, field, both values.
        missed: every required gold record no prediction matched: its id, summary and first quote.
        invented: every prediction that matched no gold record: its list, type, summary and first quote.
        error: why extraction failed (the document then counts as all missed).
    """

    doc_id: str
    backend: str = ""
    negative_control: bool = False
    counts: dict[str, Counts] = field(default_factory=dict)
    fields: dict[str, FieldScore] = field(default_factory=dict)
    quotes: int = 0
    grounded: int = 0
    matches: list[dict[str, Any]] = field(default_factory=list)
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    missed: list[dict[str, Any]] = field(default_factory=list)
    invented: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    cache_hit: bool | None = None
    documents: int = 1

    @property
    def total(self) -> Counts:
        """All record lists together."""
        out = Counts()
        for c in self.counts.values():
            out.add(c)
        return out

    @property
    def precision(self) -> float | None:
        return self.total.precision

    @property
    def recall(self) -> float | None:
        return self.total.recall

    @property
    def f1(self) -> float:
        return self.total.f1

    @property
    def grounding_rate(self) -> float | None:
        return _ratio(self.grounded, self.quotes)

    @classmethod
    def combine(cls, scores: Sequence[DocumentScore], doc_id: str = "overall", backend: str = "") -> DocumentScore:
        """Micro-averaged: counts and field scores summed over documents before dividing."""
        out = cls(doc_id=doc_id, backend=backend, documents=0)
        for s in scores:
            out.documents += s.documents
            for name, c in s.counts.items():
                out.counts.setdefault(name, Counts()).add(c)
            for name, f in s.fields.items():
                out.fields.setdefault(name, FieldScore()).add(f)
            out.quotes += s.quotes
            out.grounded += s.grounded
        return out

    def to_dict(self, *, details: bool = True) -> dict[str, Any]:
        """The JSON shape; ``details=False`` (for combined scores) leaves out per-document status and pairs."""
        data: dict[str, Any] = {"doc_id": self.doc_id, "backend": self.backend}
        if details:
            data |= {"negative_control": self.negative_control, "error": self.error, "cache_hit": self.cache_hit}
        else:
            data["documents"] = self.documents
        data["records"] = {name: c.to_dict() for name, c in self.counts.items()} | {"all": self.total.to_dict()}
        data["fields"] = {name: f.to_dict() for name, f in self.fields.items()}
        data["evidence"] = {"quotes": self.quotes, "grounded": self.grounded, "rate": self.grounding_rate}
        if details:
            data["matches"] = self.matches
            data["mismatches"] = self.mismatches
            data["missed"] = self.missed
            data["invented"] = self.invented
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DocumentScore:
        """A document's score back from :meth:`to_dict` (a saved JSON report), for comparing runs."""

        def counts(c: Mapping[str, Any]) -> Counts:
            return Counts(c["tp"], c["fp"], c["fn"], c.get("optional_found", 0), c.get("optional_missed", 0))

        evidence = data.get("evidence") or {}
        return cls(
            doc_id=data["doc_id"],
            backend=data.get("backend", ""),
            negative_control=bool(data.get("negative_control", False)),
            counts={name: counts(c) for name, c in data.get("records", {}).items() if name != "all"},
            fields={
                name: FieldScore((f["accuracy"] or 0.0) * f["n"], f["n"]) for name, f in data.get("fields", {}).items()
            },
            quotes=evidence.get("quotes", 0),
            grounded=evidence.get("grounded", 0),
            matches=list(data.get("matches", [])),
            mismatches=list(data.get("mismatches", [])),
            missed=list(data.get("missed", [])),
            invented=list(data.get("invented", [])),
            error=data.get("error"),
            cache_hit=data.get("cache_hit"),
            documents=data.get("documents", 1),
        )


def first_quote(record: BaseModel) -> str | None:
    """The record's own first evidence quote, else the first inside it (a casualty's, a claim's)."""
    own = getattr(record, "evidence", None)
    if isinstance(own, list):
        for ev in iter_evidence(own):
            return ev.quote
    for ev in iter_evidence(record):
        return ev.quote
    return None


def summary_of(record: BaseModel, name: str = "summary") -> str | None:
    """What a reader knows the record by: its ``name`` field, else its first text field (a person's name)."""
    value = getattr(record, name, None)
    if isinstance(value, str) and value:
        return value
    for field_name in type(record).model_fields:
        value = getattr(record, field_name)
        if isinstance(value, str) and value:
            return value
    return None


def _named(name: str, record: BaseModel) -> dict[str, Any]:
    return {
        "records": name,
        "type": type(record).__name__,
        "summary": summary_of(record),
        "quote": first_quote(record),
    }


GoldList = Sequence[BaseModel | tuple[BaseModel, bool]]
Predicted = Mapping[str, Sequence[BaseModel]] | BaseModel | DocumentResult | None


def _predicted_lists(predicted: Predicted, names: Sequence[str]) -> dict[str, list[BaseModel]]:
    if predicted is None:
        return {name: [] for name in names}
    if isinstance(predicted, DocumentResult):
        predicted = predicted.records
    if isinstance(predicted, BaseModel):
        return {name: list(getattr(predicted, name, None) or []) for name in names}
    return {name: list(predicted.get(name, [])) for name in names}


def score_records(
    gold: Mapping[str, GoldList],
    predicted: Predicted,
    spec: EvaluationSpec,
    *,
    source: str | None = None,
    negative_control: bool = False,
    doc_id: str = "",
    backend: str = "",
) -> DocumentScore:
    """Match and score one document's predicted records against its gold records.

    Args:
        gold: record list -> gold records; a ``(record, optional)`` pair marks
            an optional one (a bare record is required).
        predicted: the task's records object, a :class:`DocumentResult`, a
            mapping of lists, or ``None`` (nothing predicted).
        spec: what to compare (see :class:`EvaluationSpec`).
        source: the article text, to check that predicted quotes are in it;
            without it a quote counts as grounded when it carries offsets.
        negative_control: the document reports no event (shown in reports; the
            gold is then empty, so every prediction is a false positive anyway).
    """
    names = list(dict.fromkeys([*spec.records, *gold]))
    if isinstance(predicted, Mapping):
        names += [n for n in predicted if n not in names]
    preds = _predicted_lists(predicted, names)
    out = DocumentScore(doc_id=doc_id, backend=backend, negative_control=negative_control)
    for name in names:
        rs = spec.for_list(name)
        entries = [(g, False) if isinstance(g, BaseModel) else g for g in gold.get(name, [])]
        p = preds[name]
        counts = out.counts.setdefault(name, Counts())
        for label in rs.fields:
            out.fields.setdefault(f"{name}.{label}", FieldScore())
        sims = [[rs.similarity(g, pr) for pr in p] for g, _ in entries]
        # Lexicographic objective: required matches, then matches, then similarity.
        k = min(len(entries), len(p))
        per_match = k + 1.0
        per_required = k * (per_match + 1.0) + 1.0
        weights = [
            [s + per_match + (0.0 if optional else per_required) if s >= rs.min_similarity else 0.0 for s in row]
            for row, (_, optional) in zip(sims, entries, strict=True)
        ]
        pairs = [(i, j) for i, j in assign(weights) if sims[i][j] >= rs.min_similarity]
        matched_g, matched_p = {i for i, _ in pairs}, {j for _, j in pairs}
        for i, j in sorted(pairs):
            g, optional = entries[i]
            if optional:
                counts.optional_found += 1
            else:
                counts.tp += 1
            out.matches.append(
                {
                    "records": name,
                    "id": f"{name}[{i}]",
                    "gold": i,
                    "predicted": j,
                    "similarity": round(sims[i][j], 4),
                    "optional": optional,
                    "gold_summary": summary_of(g),
                    "predicted_summary": summary_of(p[j]),
                }
            )
            for label, comparator in rs.fields.items():
                score = comparator(g, p[j])
                if score is None:
                    continue
                fs = out.fields[f"{name}.{label}"]
                fs.total += score
                fs.n += 1
                if score < 1.0:
                    out.mismatches.append(
                        {
                            "records": name,
                            "id": f"{name}[{i}]",
                            "gold": i,
                            "predicted": j,
                            "field": label,
                            "score": round(score, 4),
                            "gold_value": comparator.show(g),
                            "predicted_value": comparator.show(p[j]),
                        }
                    )
        for i, (g, optional) in enumerate(entries):
            if i not in matched_g:
                if optional:
                    counts.optional_missed += 1
                else:
                    counts.fn += 1
                    out.missed.append({"id": f"{name}[{i}]", "gold": i} | _named(name, g))
        for j, record in enumerate(p):
            if j not in matched_p:
                out.invented.append({"predicted": j} | _named(name, record))
        counts.fp += len(p) - len(matched_p)
    finder = SourceText(source) if source is not None else None
    for records in preds.values():
        for ev in iter_evidence(records):
            out.quotes += 1
            found = finder.find(ev.quote) is not None if finder else ev.start is not None
            out.grounded += found
    return out


def score_fixture(
    fixture: Fixture,
    predicted: Predicted,
    spec: EvaluationSpec,
    *,
    backend: str = "",
    error: str | None = None,
) -> DocumentScore:
    """Score predictions for one loaded fixture (``None`` with an ``error`` for a failed extraction)."""
    score = score_records(
        fixture.gold,
        predicted,
        spec,
        source=fixture.document.text,
        negative_control=fixture.header.negative_control,
        doc_id=fixture.doc_id,
        backend=backend,
    )
    score.error = error
    if isinstance(predicted, DocumentResult):
        score.cache_hit = predicted.provenance.cache_hit
    return score
