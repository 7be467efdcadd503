"""The engine's one rule for "the same record", applied to every backend's answers.

* An exact repeat (equal JSON, any key order) is a model's loop, never two
  events: it is dropped, within one answer and across chunks. The embedded
  backend also uses :func:`item_key` to stop a generation at the first repeat.
* Across the chunks of one long document, two records that quote an
  overlapping passage of the article are one event seen from two chunks:
  the first is kept.
* Where the task names key fields for a list (``Task.merge_keys``, e.g. the
  person and claims of a personnel change), records whose key fields agree
  (strings after the grounding normalisation, lists as sets: order does not
  count) are one record: the first keeps its values, takes the other's where
  it has none, and gains the other's list items it lacks (the same person
  with the same claims in another order is one record; the same person
  appointed, then arrested, stays two).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from .grounding import iter_evidence, normalize

__all__ = ["item_key", "merge_by_keys", "merge_parts", "same_event"]


def item_key(item: Any) -> str:
    """What makes two records the same record: equal JSON, whatever the key order."""
    return json.dumps(item, sort_keys=True, ensure_ascii=False)


def _spans(record: BaseModel) -> list[tuple[int, int]]:
    return [(e.start, e.end) for e in iter_evidence(record) if e.start is not None and e.end is not None]


def same_event(a: BaseModel, b: BaseModel) -> bool:
    """Two records from overlapping chunks that quote the same passage are one event."""
    return any(s1 < e2 and s2 < e1 for s1, e1 in _spans(a) for s2, e2 in _spans(b))


def _key(record: BaseModel, fields: Sequence[str]) -> tuple[str, ...] | None:
    """The record's key: strings normalised, lists as the set of their items (order does not count)."""
    values = [getattr(record, f, None) for f in fields]
    if any(v is None or v == "" or v == [] for v in values):
        return None  # a record without its key is never merged by it
    return tuple(
        normalize(v)
        if isinstance(v, str)
        else item_key(sorted({item_key(_plain(x)) for x in v}))
        if isinstance(v, list)
        else item_key(_plain(v))
        for v in values
    )


def _combined(first: BaseModel, other: BaseModel) -> BaseModel:
    """``first`` with what only ``other`` says: missing values filled, list items it lacks appended."""
    update: dict[str, Any] = {}
    for name in type(first).model_fields:
        mine, theirs = getattr(first, name), getattr(other, name)
        if isinstance(mine, list) and isinstance(theirs, list):
            known = {item_key(_plain(x)) for x in mine}
            extra = [x for x in theirs if item_key(_plain(x)) not in known]
            if extra:
                update[name] = [*mine, *extra]
        elif mine is None and theirs is not None:
            update[name] = theirs
    return first.model_copy(update=update) if update else first


def _plain(value: Any) -> Any:
    """A list item as JSON, without offsets: the same claim quoted at two places is the same claim."""
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    return _without_offsets(data)


def _without_offsets(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _without_offsets(v) for k, v in data.items() if k not in ("start", "end")}
    if isinstance(data, list):
        return [_without_offsets(v) for v in data]
    return data


def merge_by_keys(records: list[BaseModel], fields: Sequence[str]) -> list[BaseModel]:
    """``records`` with those whose key ``fields`` agree merged into the first of them."""
    kept: list[BaseModel] = []
    index: dict[tuple[str, ...], int] = {}
    for record in records:
        key = _key(record, fields)
        if key is not None and key in index:
            kept[index[key]] = _combined(kept[index[key]], record)
            continue
        if key is not None:
            index[key] = len(kept)
        kept.append(record)
    return kept


def merge_parts(
    parts: Sequence[BaseModel],
    list_fields: Sequence[str],
    schema: type[BaseModel],
    keys: Mapping[str, Sequence[str]] | None = None,
) -> BaseModel:
    """The records of one document from the answers for its chunks (one answer: itself), under the rules above."""
    merged = _merge_parts(parts, list_fields, schema)
    update = {}
    for name, fields in (keys or {}).items():
        records = getattr(merged, name, None)
        if isinstance(records, list) and len(records) > 1:
            combined = merge_by_keys(records, fields)
            if len(combined) < len(records):
                update[name] = combined
    return merged.model_copy(update=update) if update else merged


def _merge_parts(parts: Sequence[BaseModel], list_fields: Sequence[str], schema: type[BaseModel]) -> BaseModel:
    if len(parts) == 1:
        part = parts[0]
        update = {}
        for name in list_fields:
            records = getattr(part, name)
            keys = [item_key(r.model_dump(mode="json")) for r in records]
            if len(set(keys)) < len(keys):
                update[name] = [r for i, r in enumerate(records) if keys[i] not in keys[:i]]
        return part.model_copy(update=update) if update else part
    merged: dict[str, Any] = {}
    for name in list_fields:
        kept: list[BaseModel] = []
        for part in parts:
            for record in getattr(part, name):
                if not any(same_event(record, other) for other in kept):
                    kept.append(record)
        merged[name] = kept
    return schema.model_construct(**merged)
