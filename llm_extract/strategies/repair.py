"""Targeted repairs: re-ask one record whose number its quotes do not state, never the whole document.

When re-asks are spent and a record still holds a number its quotes do not
state, the number becomes unknown (nothing invented is kept). If a sentence
of the article does state that number, the model may simply have quoted the
wrong sentence (a headline instead of the sentence with the toll). Then only
that record is asked again, shown only the sentences that state its candidate
numbers, which are also the only quotes it may use. One call per record, with
no re-ask; an identical repair is never sent twice (see :meth:`Job.send`).
When the repaired record does not validate, the unknown stays.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from ..errors import LLMExtractError
from ..grounding import iter_evidence, numbers_stated, quotable_passages

if TYPE_CHECKING:
    from .base import Job

__all__ = ["lost_numbers", "repair_numbers"]

log = logging.getLogger("llm_extract")

M = TypeVar("M", bound=BaseModel)

REPAIR_ASK = (
    "In this record, {problems} not stated by the record's own quotes. The sentences above are the "
    "article's sentences that state these numbers. Write the record again: quote the sentence that states "
    "each number, or make the number null if none does."
)


def lost_numbers(raw: Any, kept: Any, path: str = "") -> list[tuple[str, int]]:
    """Where the answer as written had a number that validation made unknown: ``(path, number)``."""
    if isinstance(raw, dict) and isinstance(kept, dict):
        return [p for k, v in raw.items() for p in lost_numbers(v, kept.get(k), f"{path}.{k}" if path else k)]
    if isinstance(raw, list) and isinstance(kept, list) and len(raw) == len(kept):
        return [p for i, (r, k) in enumerate(zip(raw, kept, strict=True)) for p in lost_numbers(r, k, f"{path}.{i}")]
    if isinstance(raw, int) and not isinstance(raw, bool) and kept is None:
        return [(path, raw)]
    return []


async def repair_numbers(job: Job, answer: M, raw: Any, warnings: list[str], window: tuple[int, int]) -> M:
    """``answer`` with each record whose numbers were made unknown re-asked once, where the article
    states those numbers; ``warnings`` loses the lines of numbers a repair restored."""
    if not isinstance(raw, dict):
        return answer
    update: dict[str, list[Any]] = {}
    for name in type(answer).model_fields:
        records = getattr(answer, name)
        written = raw.get(name)
        if not isinstance(records, list) or not isinstance(written, list) or len(written) != len(records):
            continue
        fixed = list(records)
        for i, (record, as_written) in enumerate(zip(records, written, strict=True)):
            if not isinstance(record, BaseModel):
                continue
            lost = lost_numbers(as_written, record.model_dump(mode="json"))
            if lost:
                repaired = await _repair_record(job, record, as_written, lost, window)
                if repaired is not None:
                    fixed[i] = repaired
                    restored = {f"{p.rsplit('.', 1)[-1]}={v} is not stated" for p, v in lost}
                    warnings[:] = [w for w in warnings if not any(r in w for r in restored)]
        if fixed != records:
            update[name] = fixed
    return answer.model_copy(update=update) if update else answer


async def _repair_record(
    job: Job, record: BaseModel, as_written: Any, lost: list[tuple[str, int]], window: tuple[int, int]
) -> BaseModel | None:
    text = job.doc.text[window[0] : window[1]]
    lexicon = job.task.lexicon
    wanted = {value for _, value in lost}
    stating = [s for s in quotable_passages(text) if wanted & numbers_stated(s, lexicon)]
    sentences = [s for s in stating if not any(s != t and s in t for t in stating)]  # whole sentences only
    if not sentences:
        log.info("%s: no sentence states %s; left unknown", job.doc.id, sorted(wanted))
        return None
    quotes = [e.quote for e in iter_evidence(record)]
    passages = list(dict.fromkeys([*quotable_passages("\n".join(sentences)), *quotes]))
    problems = ", ".join(f"{path}={value}" for path, value in lost) + (" is" if len(lost) == 1 else " are")
    messages = [
        *job.messages("\n".join(sentences)),
        {"role": "assistant", "content": json.dumps(as_written, ensure_ascii=False)},
        {"role": "user", "content": REPAIR_ASK.format(problems=problems)},
    ]
    try:
        return await job.ask(type(record), messages, passages=passages, window=window, max_reasks=0, salvage=False)
    except LLMExtractError as exc:  # a repair is a second chance, never a reason to lose the document
        log.info("%s: repair of a record failed (%s); its number stays unknown", job.doc.id, type(exc).__name__)
        return None
