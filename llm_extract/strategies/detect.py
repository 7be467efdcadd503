"""Detect, then fill: label each sentence with the record list it reports, then fill each group.

Small models classify far better than they write open lists: asked for
every list at once, a 1.5B model writes about one record per list whatever
the article says. Here the first call only labels the numbered sentences
(``none`` or a record list's name; the labels come from the task's list
fields, so the engine names no domain), and its answer has exactly one label
per sentence (a schema a grammar enforces). Then each run of consecutive
sentences with the same label is one fill call for that list, whose prompt
holds only those sentences, which are also the only quotable passages.
The engine's merge then joins what the groups found (exact repeats, and the
task's key fields).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from ..cache import sha256_text
from ..grounding import normalize, quotable_passages
from .base import Job, Strategy, register_strategy
from .basic import list_about, one_list_model, step_message

__all__ = ["NONE", "DetectThenFill", "groups", "label_model", "sentences"]

NONE = "none"
"""The label of a sentence that reports no record."""

_BREAK = re.compile(r"\n+|(?<=[.!?؟])\s+")

DETECT_SYSTEM = """You label the sentences of a news article by what they report.
The labels:
{labels}
- {none}: none of these.
Give exactly one label per numbered sentence, in order ({count} labels)."""


def sentences(text: str) -> list[tuple[int, int]]:
    """The sentences of ``text`` as ``(start, end)`` offsets, without surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    start = 0
    for brk in [*_BREAK.finditer(text), None]:
        end = brk.start() if brk is not None else len(text)
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip())
        if normalize(piece):
            spans.append((start + lead, start + len(piece.rstrip())))
        if brk is not None:
            start = brk.end()
    return spans


@lru_cache(maxsize=256)
def label_model(labels: tuple[str, ...], count: int) -> type[BaseModel]:
    """An answer of exactly ``count`` labels, each ``none`` or one of ``labels``."""
    label: Any = Literal.__getitem__((NONE, *labels))
    fields: dict[str, Any] = {"labels": (list[label], Field(min_length=count, max_length=count))}
    model: type[BaseModel] = create_model("SentenceLabels", __config__=ConfigDict(extra="forbid"), **fields)
    return model


def groups(labels: list[str]) -> list[tuple[str, int, int]]:
    """Runs of consecutive sentences with the same label other than ``none``: ``(label, first, last)``."""
    runs: list[tuple[str, int, int]] = []
    for i, label in enumerate(labels):
        if label == NONE:
            continue
        if runs and runs[-1][0] == label and runs[-1][2] == i - 1:
            runs[-1] = (label, runs[-1][1], i)
        else:
            runs.append((label, i, i))
    return runs


@register_strategy
class DetectThenFill(Strategy):
    """One labelling call for the chunk, then one fill call per group of detected sentences."""

    name = "detect-then-fill"

    def identity(self) -> dict[str, Any]:
        return {"name": self.name, "prompt": sha256_text(DETECT_SYSTEM)[:16]}

    def detect_messages(self, job: Job, spans: list[tuple[int, int]]) -> list[dict[str, Any]]:
        """The labelling prompt: the task's lists and what each holds, then the numbered sentences."""
        schema = job.task.schema
        labels = "\n".join(f"- {name}: {list_about(schema, name) or name}" for name in job.task.list_fields)
        system = DETECT_SYSTEM.format(labels=labels, none=NONE, count=len(spans))
        text = job.text
        numbered = "\n".join(f"[{i + 1}] {text[s:e]}" for i, (s, e) in enumerate(spans))
        return [{"role": "system", "content": system}, {"role": "user", "content": numbered}]

    async def extract(self, job: Job) -> BaseModel:
        task = job.task
        spans = sentences(job.text)
        found: dict[str, Any] = {name: [] for name in task.list_fields}
        if not spans:
            return task.schema.model_construct(**found)
        model = label_model(tuple(task.list_fields), len(spans))
        detected = await job.ask(model, self.detect_messages(job, spans))
        offset = job.span[0]
        for label, first, last in groups(list(detected.labels)):  # type: ignore[attr-defined]
            start, end = offset + spans[first][0], offset + spans[last][1]
            group = job.doc.text[start:end]
            fill = one_list_model(task.schema, label)
            messages = [*job.messages(group), step_message(label, list_about(task.schema, label))]
            answer = await job.ask(
                fill, messages, passages=quotable_passages(group), list_name=label, window=(start, end)
            )
            found[label].extend(getattr(answer, label))
        return task.schema.model_construct(**found)
