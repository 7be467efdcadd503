"""Results as a pandas DataFrame: one row per record, flat columns, evidence kept.

Analysts filter, group and join; nested JSON gets in the way. So every
record (an incident, a negotiation, a personnel change, ...) becomes one
row, built from the schema rather than from a hard-coded column list:

* ``doc_id``, ``record_type`` (the record list, e.g. ``"incidents"``),
  ``record_index`` (its index in that list, as in
  ``result.incidents[0]``) come first; ``backend`` and ``model`` last,
  so frames from two backends concatenate and group.
* A scalar field is a column of its own name; an enum is its value.
* A nested model is flattened to ``<field>_<subfield>`` (``date_value``,
  ``location_admin1``); a missing one gives missing values, so the
  columns are the same for every document of a schema.
* A list of nested models is one readable text column (``"; "``-joined
  labels, e.g. the actors), plus, for every count the items carry (a
  :data:`~llm_extract.grounding.STATED` field), a column
  ``<field>_<count>`` with the **sum over the items**: for conflict
  records, ``killed`` is the sum of the numbers stated for each side.
  Per-side numbers stay readable in the text column
  (``"قوات النظام (killed=5, captured=6)"``) and exact in
  ``result.to_dict()``.
* Counts are pandas' nullable ``Int64``. Unknown stays missing (``<NA>``),
  never 0: a sum is missing when no item states a number, and counts only
  what is stated otherwise (an unknown side adds nothing).
* Evidence: ``evidence_fields`` (path inside the record, e.g.
  ``"casualties[1].evidence[0]"``), ``evidence_quotes``,
  ``evidence_starts`` and ``evidence_ends`` hold every quote of the record
  (its own first, then its parts'), as equal-length lists, so
  ``df.explode(["evidence_fields", "evidence_quotes", "evidence_starts",
  "evidence_ends"])`` gives one row per quote with its offsets.

A schema can give the flattened columns friendlier names with a class
attribute on its records model, ``dataframe_columns: ClassVar[dict[str,
str]]`` (the conflict schema maps ``location_as_written`` to ``place``,
``casualties_killed`` to ``killed``, ...). pandas is optional: ``pip install
'llm_extract[pandas]'``.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from .grounding import Evidence, Stated
from .results import EXPORT_COLUMNS, VIEWS, DocumentResult, iter_evidence_paths, record_lists

if TYPE_CHECKING:
    import pandas as pd

    from .results import DocumentResult

__all__ = ["PANDAS_MISSING", "check_record_type", "record_rows", "to_pandas"]

PANDAS_MISSING = "to_pandas() needs pandas: pip install 'llm_extract[pandas]'"

LEADING = ("doc_id", "record_type", "record_index")
EVIDENCE = ("evidence_fields", "evidence_quotes", "evidence_starts", "evidence_ends")
TRAILING = ("backend", "model")


def _strip_optional(annotation: Any) -> Any:
    """``X | None`` -> ``X`` (and ``Optional[X]``); anything else unchanged."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _model_class(annotation: Any) -> type[BaseModel] | None:
    inner = _strip_optional(annotation)
    return inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None


def _list_item(annotation: Any) -> Any:
    """The item type of ``list[X]`` (or ``list[X] | None``), else ``None``."""
    inner = _strip_optional(annotation)
    if typing.get_origin(inner) in (list, tuple):
        args = typing.get_args(inner)
        return args[0] if args else Any
    return None


def _is_int(annotation: Any) -> bool:
    inner = _strip_optional(annotation)
    return inner is int


def _is_stated(model: type[BaseModel], name: str) -> bool:
    return any(isinstance(m, Stated) for m in model.model_fields[name].metadata)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def label(item: Any) -> str:
    """A record or nested item as one line: its first field, then ``name=value`` for the rest."""
    if not isinstance(item, BaseModel):
        return str(_plain(item))
    head: str | None = None
    rest: list[str] = []
    for name in type(item).model_fields:
        value = getattr(item, name)
        if value is None or value == [] or value == "":
            continue
        if isinstance(value, list) and all(isinstance(v, Evidence) for v in value):
            continue
        text = ", ".join(label(v) for v in value) if isinstance(value, list) else label(value)
        if head is None:
            head = text
        else:
            rest.append(f"{name}={text}")
    return (head or "") + (f" ({', '.join(rest)})" if rest else "")


def _flatten(
    row: dict[str, Any], ints: set[str], key: str, value: Any, annotation: Any, *, stated: bool = False
) -> None:
    """Add the columns of one field to ``row`` (from the annotation, so ``None`` values give the same keys)."""
    nested = _model_class(annotation)
    item = _list_item(annotation)
    if nested is not None:
        for sub, info in nested.model_fields.items():
            if _list_item(info.annotation) is Evidence:
                continue
            sub_value = getattr(value, sub) if value is not None else None
            _flatten(row, ints, f"{key}_{sub}", sub_value, info.annotation, stated=_is_stated(nested, sub))
    elif isinstance(item, type) and issubclass(item, BaseModel):
        items = list(value or [])
        row[key] = "; ".join(label(v) for v in items) or None
        for sub in item.model_fields:
            if _is_stated(item, sub):
                numbers = [n for v in items if (n := getattr(v, sub)) is not None]
                row[f"{key}_{sub}"] = sum(numbers) if numbers else None
                ints.add(f"{key}_{sub}")
    elif item is not None:
        row[key] = "; ".join(str(_plain(v)) for v in value) if value else None
    else:
        row[key] = _plain(value)
        if stated or _is_int(annotation):
            ints.add(key)


def _record_row(record: BaseModel | None, model: type[BaseModel], ints: set[str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if _list_item(info.annotation) is Evidence:
            continue
        value = getattr(record, name) if record is not None else None
        _flatten(row, ints, name, value, info.annotation, stated=_is_stated(model, name))
    return row


def _item_model(records_model: type[BaseModel], name: str) -> type[BaseModel] | None:
    item = _list_item(records_model.model_fields[name].annotation)
    return item if isinstance(item, type) and issubclass(item, BaseModel) else None


def _aliases(records_model: type[BaseModel]) -> dict[str, str]:
    for cls in records_model.__mro__:  # the task's columns (instructor may hand back a subclass)
        if cls in EXPORT_COLUMNS:
            return EXPORT_COLUMNS[cls]
    aliases = getattr(records_model, "dataframe_columns", None)
    return dict(aliases) if isinstance(aliases, dict) else {}


def _schema_columns(records_model: type[BaseModel], ints: set[str], record_type: str | None = None) -> list[str]:
    """Every flattened column a records model (or one of its lists) can produce, in schema order."""
    aliases = _aliases(records_model)
    columns: list[str] = []
    for name in records_model.model_fields:
        if record_type is not None and name != record_type:
            continue
        model = _item_model(records_model, name)
        if model is None:
            continue
        for key in _record_row(None, model, ints):
            column = aliases.get(key, key)
            if column not in columns:
                columns.append(column)
    return columns


def record_rows(
    result: DocumentResult, ints: set[str] | None = None, record_type: str | None = None
) -> list[dict[str, Any]]:
    """The rows :func:`to_pandas` builds for one result, as plain dicts (no pandas needed).

    Args:
        result: a document result.
        ints: if given, collects the names of integer columns (for dtypes).
        record_type: only the records of this list (e.g. ``"incidents"``).
    """
    ints = set() if ints is None else ints
    aliases = _aliases(type(result.records))
    found: set[str] = set()
    rows = []
    for list_name, items in record_lists(result.records):
        if record_type is not None and list_name != record_type:
            continue
        for i, record in enumerate(items):
            if not isinstance(record, BaseModel):
                continue
            flat = _record_row(record, type(record), found)
            # the record's own quotes first, then those of its parts
            paths = sorted(iter_evidence_paths(record, ""), key=lambda pe: not pe[0].startswith("evidence["))
            row: dict[str, Any] = {"doc_id": result.doc_id, "record_type": list_name, "record_index": i}
            row.update({aliases.get(k, k): v for k, v in flat.items()})
            row["evidence_fields"] = [p for p, _ in paths]
            row["evidence_quotes"] = [e.quote for _, e in paths]
            row["evidence_starts"] = [e.start for _, e in paths]
            row["evidence_ends"] = [e.end for _, e in paths]
            row["backend"] = result.provenance.backend
            row["model"] = result.provenance.model
            rows.append(row)
    ints.update(aliases.get(k, k) for k in found)
    return rows


def check_record_type(results: list[DocumentResult], record_type: str | None) -> None:
    """A record type must be one of the schema's lists; a typo is an error, not an empty frame."""
    if record_type is None:
        return
    for result in results:
        names = [n for n, _ in record_lists(result.records)]
        if record_type not in names:
            raise ValueError(f"record type {record_type!r} is not one of the schema's lists: {', '.join(names)}")


def to_pandas(results: Iterable[DocumentResult], record_type: str | None = None) -> pd.DataFrame:
    """One row per record of every result, in order; columns as the module docstring lists.

    The columns depend only on the schema, never on which records a
    document happens to have, so frames of different documents or backends
    concatenate cleanly (and an empty result still has them).

    Args:
        record_type: one record list (``"incidents"``): its rows, and only
            the columns its records have, instead of every list's columns
            side by side (mostly empty for the other types).

    Raises:
        ImportError: pandas is not installed; the message names the extra to install.
        ValueError: ``record_type`` is not a list of the schema.
    """
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(PANDAS_MISSING) from None

    results = list(results)
    check_record_type(results, record_type)
    ints: set[str] = set()
    columns: list[str] = list(LEADING)
    seen_models: set[type[BaseModel]] = set()
    rows: list[dict[str, Any]] = []
    for result in results:
        records_model = type(result.records)
        if records_model not in seen_models:
            seen_models.add(records_model)
            schema_ints: set[str] = set()
            columns += [c for c in _schema_columns(records_model, schema_ints, record_type) if c not in columns]
            aliases = _aliases(records_model)
            ints.update(aliases.get(k, k) for k in schema_ints)
        rows.extend(record_rows(result, ints, record_type))
    columns += [*EVIDENCE, *TRAILING]
    frame = pd.DataFrame(rows, columns=columns)
    for column in columns:
        if column in ints:
            frame[column] = frame[column].astype("Int64")
        elif frame[column].isna().all():
            frame[column] = frame[column].astype(object)  # a text column with no value yet, not float NaN
    frame["record_index"] = frame["record_index"].astype("int64")
    return frame


VIEWS.pandas = to_pandas  # results cannot import this module (it sits above them)
