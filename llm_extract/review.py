"""Review: a sheet to accept, correct or reject what was extracted, and gold made from it.

The loop an analyst runs::

    llm-extract review results.jsonl --articles corpus/ --out review.csv
    # open review.csv in a spreadsheet; mark rows
    llm-extract review results.jsonl --articles corpus/ --apply review.csv \\
        --out corrected.jsonl --to-fixtures gold/
    llm-extract eval --fixtures gold/ --backend next-model

or in Python :func:`write_review` / :func:`review_table`, :func:`apply_review`
and :func:`write_fixtures`.

The sheet has one row per record (``field`` is ``(record)``) and one per
field of it (``date.value``, ``actors[1].name``, ``evidence[0].quote`` with
its ``start``/``end``), with the extracted ``value`` and three columns to
fill: mark ``accept`` or ``reject`` (any text, e.g. ``x``), or write the new
value in ``correct`` (``null`` for unknown). A blank row is accepted as
extracted.

* Rejecting a record drops it. Rejecting a field makes it unknown
  (``null``); a field that cannot be unknown inside a list item (an
  actor's name, a quote) drops that item; a required field of the record
  itself cannot be rejected (reject the record instead).
* Corrections are validated like a model's answer, grounding included: a
  corrected quote must be found in the article (its offsets are computed
  again), and a corrected count must be stated by its quotes.
* The ``value`` column must still be what the results hold: a sheet made
  from other results is refused rather than applied to the wrong fields.

Every problem is one ``InputError`` line naming the sheet row.
"""

from __future__ import annotations

import csv
import json
import os
import re
import types
import typing
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from .errors import InputError
from .frames import label
from .grounding import SourceText, grounding
from .results import DocumentResult

if TYPE_CHECKING:
    import pandas as pd

    from .documents import Document

__all__ = ["REVIEW_COLUMNS", "apply_review", "review_rows", "review_table", "write_fixtures", "write_review"]

REVIEW_COLUMNS = (
    "doc_id",
    "record_type",
    "record_index",
    "field",
    "value",
    "start",
    "end",
    "accept",
    "correct",
    "reject",
)
RECORD = "(record)"
NULL = "null"

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _text(value: Any) -> str:
    """A value as the sheet shows it: text as is, numbers and booleans as JSON, unknown as empty."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _leaves(obj: Any, path: str) -> Iterator[tuple[str, Any, dict[str, Any] | None]]:
    """``(path, value, evidence)`` for every field of a dumped record; a quote row carries its evidence."""
    if isinstance(obj, dict):
        if set(obj) == {"quote", "start", "end"}:
            yield f"{path}.quote", obj["quote"], obj
            return
        for key, value in obj.items():
            yield from _leaves(value, f"{path}.{key}" if path else key)
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _leaves(value, f"{path}[{i}]")
    else:
        yield path, obj, None


def _lists(result: DocumentResult) -> Iterator[tuple[str, list[Any]]]:
    for name in type(result.records).model_fields:
        value = getattr(result.records, name)
        if isinstance(value, list):
            yield name, value


def review_rows(results: Iterable[DocumentResult]) -> list[dict[str, Any]]:
    """The sheet's rows, as dicts with :data:`REVIEW_COLUMNS` (decision columns empty)."""
    rows: list[dict[str, Any]] = []
    for result in results:
        for list_name, records in _lists(result):
            for i, record in enumerate(records):
                base = {"doc_id": result.doc_id, "record_type": list_name, "record_index": i}
                blank = {"start": "", "end": "", "accept": "", "correct": "", "reject": ""}
                rows.append({**base, "field": RECORD, "value": label(record), **blank})
                for path, value, evidence in _leaves(record.model_dump(mode="json"), ""):
                    row = {**base, "field": path, "value": _text(value), **blank}
                    if evidence is not None:
                        row["start"], row["end"] = _text(evidence["start"]), _text(evidence["end"])
                    rows.append(row)
    return rows


def write_review(results: Iterable[DocumentResult], path: str | os.PathLike[str]) -> int:
    """Write the review sheet as CSV (UTF-8 with a BOM, so spreadsheets show Arabic); returns the row count."""
    rows = review_rows(results)
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(REVIEW_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def review_table(results: Iterable[DocumentResult]) -> pd.DataFrame:
    """The review sheet as a DataFrame (edit it in a notebook, then :func:`apply_review` it)."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("review_table() needs pandas: pip install 'llm_extract[pandas]'") from None
    return pd.DataFrame(review_rows(results), columns=list(REVIEW_COLUMNS))


def _read_sheet(reviewed: str | os.PathLike[str] | pd.DataFrame) -> tuple[str, list[dict[str, str]]]:
    if isinstance(reviewed, (str, os.PathLike)):
        try:
            with open(reviewed, encoding="utf-8-sig", newline="") as f:
                reader = csv.DictReader(f)
                missing = [c for c in REVIEW_COLUMNS if c not in (reader.fieldnames or [])]
                if missing:
                    raise InputError(f"{reviewed}: not a review sheet (no column {missing[0]!r})")
                return str(reviewed), [dict(r) for r in reader]
        except FileNotFoundError:
            raise InputError(f"{reviewed}: no such file") from None
        except UnicodeDecodeError:
            raise InputError(f"{reviewed}: is not UTF-8 text") from None
    frame = reviewed.fillna("")
    return "review table", [{str(k): _text(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _steps(path: str) -> list[str | int]:
    return [int(index) if index else name for name, index in _STEP.findall(path)]


def _get(obj: Any, steps: list[str | int]) -> Any:
    for step in steps:
        obj = obj[step]
    return obj


def _nullable(model: type[BaseModel], steps: list[str | int]) -> bool:
    """Whether the field at ``steps`` (inside ``model``) may be ``None``."""
    annotation: Any = model
    for step in steps:
        if isinstance(step, int):
            annotation = typing.get_args(_strip(annotation))[0]
            continue
        inner = _strip(annotation)
        if not (isinstance(inner, type) and issubclass(inner, BaseModel)) or step not in inner.model_fields:
            return False
        annotation = inner.model_fields[step].annotation
    return type(None) in typing.get_args(annotation)


def _strip(annotation: Any) -> Any:
    """``X | None`` -> ``X``; anything else unchanged."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation


def _item_model(schema: type[BaseModel], name: str) -> type[BaseModel]:
    return typing.get_args(schema.model_fields[name].annotation)[0]  # type: ignore[no-any-return]


def apply_review(
    results: Iterable[DocumentResult], reviewed: str | os.PathLike[str] | pd.DataFrame
) -> list[DocumentResult]:
    """The results with the sheet's decisions applied and every record validated and grounded again.

    Raises:
        InputError: a row that does not fit the results (unknown record or
            field, a changed value, two decisions, a correction that does not
            validate or a quote not in the article), named by its sheet row.
    """
    where, rows = _read_sheet(reviewed)
    by_doc = {r.doc_id: r for r in results}
    decisions: dict[tuple[str, str, int], list[tuple[int, dict[str, str]]]] = {}
    for n, row in enumerate(rows, 2):  # row 1 is the header
        marks = [c for c in ("accept", "correct", "reject") if row.get(c, "").strip()]
        if len(marks) > 1:
            raise InputError(f"{where}:{n}: fill one of accept, correct, reject, not {' and '.join(marks)}")
        if marks and marks[0] != "accept":
            try:
                key = (row["doc_id"], row["record_type"], int(row["record_index"]))
            except ValueError:
                raise InputError(f"{where}:{n}: record_index {row['record_index']!r} is not a number") from None
            decisions.setdefault(key, []).append((n, row))
    out: list[DocumentResult] = []
    applied: set[tuple[str, str, int]] = set()
    for result in by_doc.values():
        schema = type(result.records)
        data: dict[str, list[Any]] = {}
        changes = 0
        for list_name, records in _lists(result):
            kept = []
            for i, record in enumerate(records):
                key = (result.doc_id, list_name, i)
                dumped = record.model_dump(mode="json")
                rejected = _apply(where, dumped, _item_model(schema, list_name), decisions.get(key, []))
                applied.add(key)
                changes += len(decisions.get(key, []))
                if not rejected:
                    kept.append((i, dumped))
            data[list_name] = [d for _, d in kept]
        try:
            with grounding(SourceText(result.text)):
                records_model = schema.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise InputError(f"{where}: {result.doc_id}: {loc}: {err['msg']}") from None
        provenance = result.provenance.model_copy(deep=True)
        if changes:
            provenance.warnings.append(f"reviewed: {changes} decision(s) applied from {Path(where).name}")
        out.append(DocumentResult(result.doc_id, records_model, provenance, result.text))
    unknown = [(k, decisions[k][0][0]) for k in decisions if k not in applied]
    if unknown:
        (doc_id, name, index), n = unknown[0]
        raise InputError(f"{where}:{n}: no record {name}[{index}] of {doc_id!r} in the results")
    return out


def _apply(where: str, record: dict[str, Any], model: type[BaseModel], rows: list[tuple[int, dict[str, str]]]) -> bool:
    """Apply one record's rows to its dumped form; ``True`` when the record is rejected."""
    removals: list[tuple[list[str | int], int]] = []
    for n, row in rows:
        path = row["field"]
        if path == RECORD:
            if row.get("correct", "").strip():
                raise InputError(f"{where}:{n}: correct a field of the record, not the (record) row")
            return True
        value_steps = _steps(path)
        try:
            current = _get(record, value_steps)
        except (KeyError, IndexError, TypeError):
            raise InputError(
                f"{where}:{n}: {path}: no such field in {row['record_type']}[{row['record_index']}]"
            ) from None
        if _text(current) != row.get("value", ""):
            raise InputError(
                f"{where}:{n}: {path}: the sheet says {row.get('value', '')!r} but the results hold "
                f"{_text(current)!r}; make the sheet from these results"
            )
        parent = _get(record, value_steps[:-1])
        last = value_steps[-1]
        if row.get("correct", "").strip():
            text = row["correct"].strip()
            parent[last] = None if text == NULL else text
            if last == "quote":  # offsets are found again by grounding
                parent["start"] = parent["end"] = None
        elif _nullable(model, value_steps):
            parent[last] = None
        else:
            owner = next((i for i in range(len(value_steps) - 1, -1, -1) if isinstance(value_steps[i], int)), None)
            if owner is None:
                raise InputError(f"{where}:{n}: {path}: a record needs this field; reject the (record) row instead")
            removals.append((value_steps[:owner], int(value_steps[owner])))
    for list_steps, index in sorted(removals, key=lambda r: r[1], reverse=True):
        items = _get(record, list_steps)
        if index < len(items):
            del items[index]
    return False


def _safe_name(doc_id: str) -> str:
    return re.sub(r"[^\w.\-]+", "_", doc_id).strip("._") or "document"


def write_fixtures(
    results: Iterable[DocumentResult],
    directory: str | os.PathLike[str],
    *,
    documents: dict[str, Document] | None = None,
) -> list[Path]:
    """Write each result as a gold fixture (``<id>.gold.json``) beside its article (``<id>.txt``).

    The fixtures are in the evaluation format (:mod:`llm_extract.fixtures`):
    ``llm-extract eval --fixtures DIR`` scores a backend against them. A
    document left with no record becomes a negative control.

    Args:
        documents: the input documents by id, for ``source``/``url``/``published``
            (else taken from each result's provenance).
    """
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for result in results:
        stem = _safe_name(result.doc_id)
        doc = (documents or {}).get(result.doc_id)
        p = result.provenance
        origin = ", ".join(x for x in (doc.source if doc else p.source, doc.url if doc else p.url) if x) or None
        fixture: dict[str, Any] = {
            "doc_id": result.doc_id,
            "source": f"{stem}.txt",
            "published": p.published,
            "origin": origin,
            "notes": f"reviewed from {p.backend} ({p.model}) output",
            "negative_control": result.record_count == 0,
        }
        for name, records in _lists(result):
            fixture[name] = [
                {"optional": False, "record": r.model_dump(mode="json", exclude_none=True)} for r in records
            ]
        (target / f"{stem}.txt").write_text(result.text, encoding="utf-8", newline="")
        path = target / f"{stem}.gold.json"
        path.write_text(json.dumps(fixture, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
