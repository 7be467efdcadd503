"""Per list, then one more look at each cued sentence no record quotes.

Asked for a whole list at once, a 1.5B model writes about one record per
list, whatever the article reports: on the dev set it found 11 of 42
incidents, most of the rest told in a sentence of their own ("a further two
civilians were wounded in the Bustan al-Qasr district"). A task may name,
per record list, a cheap test of whether a sentence may report such a record
(:attr:`llm_extract.task.Task.cues`: for conflict events, a toll or a way of
fighting). After the per-list calls, each cued sentence that no record of
that list quotes is asked about alone: the same prompt, so the backend reuses
the evaluated article, then one line that quotes the sentence; the answer
holds at most one record, and a grammar-constrained backend may quote only
that sentence (a server's quotes are looked up there first).

After that, a kept record that leaves out a field the task wants
(:attr:`llm_extract.task.Task.wanted`, e.g. a negotiation's place and parties) is
asked about once more, shown only the sentences it quotes (:mod:`.complete`). It
comes last so that every call before it is the one a task wanting nothing makes:
a local model's answers depend on the calls before them (where the context they
reuse ends), so a second look placed earlier changed other records' answers too,
and could not be measured apart from them.

Three limits keep the cued calls from inventing: a list that is empty once read as the
user gets it (:func:`as_read`) gets a second look only at sentences that pass the task's
stricter cue for it (:attr:`llm_extract.task.Task.empty_list_cues`: a stated toll), or
none (the article may report none: a film's plot about a bombing is not an incident;
an article about talks may still state a bombing's dead); a title line is
skipped (it restates the main event, which the list call found, and a second
record of it would be a duplicate); and at most :attr:`PerListCued.max_fills`
sentences per list and chunk are asked about, in document order, never more
than the list has room for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from annotated_types import MaxLen
from pydantic import BaseModel, ValidationError

from ..cache import sha256_text
from ..errors import AnswerCutOff, ExtractionError
from ..grounding import grounding, quotable_passages
from .base import Job, register_strategy
from .basic import PerList, list_about, one_list_model
from .complete import complete_records, quoted_spans
from .detect import sentences

__all__ = ["FILL", "PerListCued", "as_read", "fill_message", "unquoted_cued"]

log = logging.getLogger("llm_extract")

FILL = (
    'Now write only "{name}"{about}: at most one, the one this sentence of the article reports, '
    "following the rules above.\nThe sentence: {sentence}"
)
"""The line after the shared prompt that asks about one cued sentence."""

_ENDS = (".", "!", "?", "؟", ":", "…")


def fill_message(name: str, about: str, sentence: str) -> dict[str, str]:
    """The user message asking for the one record of list ``name`` that ``sentence`` reports."""
    what = f" ({about.rstrip('.')})" if about else ""
    return {"role": "user", "content": FILL.format(name=name, about=what, sentence=sentence)}


def room_in(schema: type[BaseModel], name: str, used: int) -> int:
    """How many more records the list ``name`` holds after ``used`` (its ``max_length``; unbounded: a lot)."""
    limit = next((m.max_length for m in schema.model_fields[name].metadata if isinstance(m, MaxLen)), None)
    return max(limit - used, 0) if limit is not None else 1 << 30


def _is_title(text: str, span: tuple[int, int]) -> bool:
    """Whether ``span`` is the text's first line and reads as a headline: no sentence end, a line break after."""
    start, end = span
    return not text[:start].strip() and text[end : end + 1] == "\n" and not text[start:end].rstrip().endswith(_ENDS)


def unquoted_cued(text: str, offset: int, records: Sequence[Any], cue: Callable[[str], bool]) -> list[tuple[int, int]]:
    """The sentences of ``text`` (a chunk starting at ``offset``) that ``cue`` accepts and no record quotes.

    Offsets are the document's. A record quotes a sentence when one of its
    grounded quotes overlaps it.
    """
    quoted = quoted_spans(records)
    found: list[tuple[int, int]] = []
    for span in sentences(text):
        if offset == 0 and _is_title(text, span):
            continue
        start, end = offset + span[0], offset + span[1]
        if any(s < end and start < e for s, e in quoted):
            continue
        if cue(text[span[0] : span[1]]):
            found.append((start, end))
    return found


def as_read(job: Job, answer: BaseModel) -> BaseModel:
    """``answer`` as the user will get it: read like a stored answer, without the records the task drops.

    The engine reads every answer on its way out (``model_answer``); a record
    the task drops there (a film's title as an incident) must not open a
    list to a second look.
    """
    data = answer.model_dump(mode="json")
    try:
        with grounding(job.source, lexicon=job.task.lexicon, published=job.doc.published, model_answer=True):
            return job.task.schema.model_validate(data)
    except ValidationError:
        return answer


@register_strategy
class PerListCued(PerList):
    """Per list, then at most ``max_fills`` more calls per list for cued sentences its records do not quote,
    then one more for each kept record that leaves out a field the task wants (:mod:`.complete`)."""

    name = "per-list-cued"
    max_fills = 3

    def identity(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "max_fills": self.max_fills,
            "prompt": sha256_text(FILL)[:16],
            "gate": "read, else toll",
        }

    async def extract(self, job: Job) -> BaseModel:
        answer = await super().extract(job)
        task = job.task
        found: dict[str, Any] = {name: list(getattr(answer, name)) for name in task.list_fields}
        read = as_read(job, answer)
        messages = job.messages()
        for name, any_cue in task.cues.items():
            kept = getattr(read, name, None)
            cue = any_cue if kept else task.empty_list_cues.get(name)
            if name not in found or cue is None:
                continue
            model = one_list_model(task.schema, name, at_most=1)
            about = list_about(task.schema, name)
            asked = min(self.max_fills, room_in(task.schema, name, len(found[name])))
            for start, end in unquoted_cued(job.text, job.span[0], kept or [], cue)[:asked]:
                sentence = job.doc.text[start:end]
                step = [*messages, fill_message(name, about, sentence)]
                try:
                    more = await job.ask(
                        model, step, passages=quotable_passages(sentence), list_name=name, window=(start, end)
                    )
                except (AnswerCutOff, ExtractionError) as exc:
                    why = type(exc).__name__
                    note = f"asked again about {name} in characters {start}-{end}: no record kept ({why})"
                    log.warning("%s: %s", job.doc.id, note)
                    job.warnings.append(note)
                    continue
                found[name].extend(getattr(more, name))
        if task.wanted:  # last: the calls before it are those of a task that wants nothing
            read = as_read(job, task.schema.model_construct(**found))
            for name, wanted in task.wanted.items():
                if name in found:
                    found[name] = await complete_records(job, name, found[name], getattr(read, name, []), wanted)
        return task.schema.model_construct(**found)
