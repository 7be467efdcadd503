"""The engine's one rule for "the same record", applied to every backend's answers.

* An exact repeat (equal JSON, any key order) is a model's loop, never two
  events: it is dropped, within one answer and across chunks. The embedded
  backend also uses :func:`item_key` to stop a generation at the first repeat.
* Across the chunks of one long document, two records that quote an
  overlapping passage of the article are one event seen from two chunks:
  the first is kept.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from .grounding import iter_evidence

__all__ = ["drop_repeats", "item_key", "merge_parts", "same_event", "without_repeats"]


def item_key(item: Any) -> str:
    """What makes two records the same record: equal JSON, whatever the key order."""
    return json.dumps(item, sort_keys=True, ensure_ascii=False)


def drop_repeats(items: list[Any]) -> list[Any]:
    """``items`` without exact repeats: a small model's loop, never two real events."""
    seen: set[str] = set()
    kept: list[Any] = []
    for item in items:
        key = item_key(item)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def without_repeats(content: str) -> str:
    """``content`` with exact repeats removed from its top-level lists (unchanged if not a JSON object)."""
    try:
        answer = json.loads(content)
    except json.JSONDecodeError:
        return content
    if not isinstance(answer, dict):
        return content
    cleaned = {k: drop_repeats(v) if isinstance(v, list) else v for k, v in answer.items()}
    return content if cleaned == answer else json.dumps(cleaned, ensure_ascii=False)


def _spans(record: BaseModel) -> list[tuple[int, int]]:
    return [(e.start, e.end) for e in iter_evidence(record) if e.start is not None and e.end is not None]


def same_event(a: BaseModel, b: BaseModel) -> bool:
    """Two records from overlapping chunks that quote the same passage are one event."""
    return any(s1 < e2 and s2 < e1 for s1, e1 in _spans(a) for s2, e2 in _spans(b))


def merge_parts(parts: Sequence[BaseModel], list_fields: Sequence[str], schema: type[BaseModel]) -> BaseModel:
    """The records of one document from the answers for its chunks (one answer: itself), under the rule above."""
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
