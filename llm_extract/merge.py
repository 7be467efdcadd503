"""The engine's rule for "the same record": exact repeats are a model's loop, never two events."""

from __future__ import annotations

import json
from typing import Any


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
