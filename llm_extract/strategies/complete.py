"""One more look at a kept record that leaves out what its task wants, shown only its own sentences.

Asked for a list, the 1.5B model finds a negotiation's passage but writes its
place and parties in none of them: the grammar lets a model close an object
after its required fields, and it does. On the dev set 3 of 6 invented
negotiations quote a gold negotiation's very passage and miss only because
they name neither place nor parties. Asking for every property of every
record was tried and lost more than it found (the model filled fields no
article states, and long answers ran past ``max_tokens``). This asks for the
missing fields of one record at a time, where the task says a record needs
them (:attr:`llm_extract.task.Task.wanted`): the record as the model wrote it,
the sentences it quotes (the only quotes the answer may use), and a grammar
whose object holds only those fields, each required. Asked to write the whole
record again, the model changed its date or terms too, and one ungrounded
value lost the answer (3 of 5 second looks on the dev set); an answer that
does not validate (a place the article does not write) changes nothing; so a
backend that can constrain them is offered only runs of the article's words
as names and places (``spans``, :func:`llm_extract.grounding.article_spans`).
Measured on the dev documents with a negotiation (docs/strategies.md): the
whole record again matched no more negotiations. Only the missing fields, asked
after every other call of the document (so those calls, and the records they
give, are unchanged): one more negotiation matched and two fewer invented, where
4 of the second looks named what the article does not write and changed
nothing. The conflict task wants a negotiation's place and parties; the wanted
fields and this prompt go into the cache key
(:meth:`llm_extract.extract.Extractor.cache_key`) only for a task that names some.
"""

from __future__ import annotations

import copy
import json
import logging
import types
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Union, get_args, get_origin

from annotated_types import MinLen
from pydantic import BaseModel, ConfigDict, create_model
from pydantic_core import PydanticUndefined

from ..errors import LLMExtractError
from ..grounding import article_spans, iter_evidence, quotable_passages
from .base import Job
from .detect import sentences

__all__ = ["COMPLETE", "complete_records", "lacking", "quoted_spans", "requiring"]

log = logging.getLogger("llm_extract")

COMPLETE = (
    'This is one of the "{name}" you wrote: {record}\nIt leaves out {fields}. Write only {fields}, '
    "as the article writes them, following the rules above. It quotes these sentences: {sentences}"
)
"""The line after the shared prompt that asks for a record's missing fields."""


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, (list, str)) and not value)


def lacking(record: BaseModel, fields: Sequence[str]) -> tuple[str, ...]:
    """The ``fields`` that ``record`` leaves empty (``None``, an empty list or string)."""
    return tuple(f for f in fields if _empty(getattr(record, f, None)))


@lru_cache(maxsize=64)
def requiring(item: type[BaseModel], fields: tuple[str, ...]) -> type[BaseModel]:
    """Only ``fields`` of ``item``, required: an optional value must be given, a list must hold at least one.

    Not the whole record: asked to write a negotiation again, the 1.5B model changed its date or terms
    too, and one ungrounded value anywhere lost the answer (on the dev set most second looks failed so).
    The fields' own types keep their grounding (a place or a name the article must write).
    """
    overrides: dict[str, Any] = {}
    for name in fields:
        info = copy.copy(item.model_fields[name])
        annotation: Any = info.annotation
        if get_origin(annotation) in (Union, types.UnionType):
            given = [a for a in get_args(annotation) if a is not type(None)]
            annotation = given[0] if len(given) == 1 else Union.__getitem__(tuple(given))
        info.default = PydanticUndefined
        info.default_factory = None
        info.annotation = annotation
        if get_origin(annotation) is list:
            info.metadata = [*(m for m in info.metadata if not isinstance(m, MinLen)), MinLen(1)]
        overrides[name] = (annotation, info)
    model: type[BaseModel] = create_model(
        f"{item.__name__}_{'_'.join(fields)}", __config__=ConfigDict(extra="forbid"), __doc__=item.__doc__, **overrides
    )
    return model


def _first_quote(record: BaseModel) -> str | None:
    return next((e.quote for e in iter_evidence(record)), None)


def quoted_spans(records: Any) -> list[tuple[int, int]]:
    """Where the grounded quotes of ``records`` (a record, a list, any nesting) lie in the document."""
    return [(e.start, e.end) for e in iter_evidence(records) if e.start is not None and e.end is not None]


def _quoted_sentences(job: Job, record: BaseModel) -> list[tuple[int, int]]:
    """The sentences of the document that the record's grounded quotes overlap, in order."""
    quoted = quoted_spans(record)
    return [(s, e) for s, e in sentences(job.doc.text) if any(a < e and s < b for a, b in quoted)]


async def complete_records(
    job: Job, name: str, records: list[Any], kept: Sequence[Any], fields: Sequence[str]
) -> list[Any]:
    """``records`` (one list as the model wrote it) with each kept record that lacks some of ``fields``
    asked about once more; a record is kept when one of ``kept`` (the list as read) shares its first quote."""
    done: list[Any] = []
    for record in records:
        quote = _first_quote(record)
        read = next((k for k in kept if _first_quote(k) == quote), None) if quote is not None else None
        missing = lacking(read, fields) if read is not None else ()
        spans = _quoted_sentences(job, record) if missing else []
        if not spans:
            done.append(record)
            continue
        done.append(await _complete(job, name, record, missing, spans))
    return done


async def _complete(
    job: Job, name: str, record: BaseModel, missing: tuple[str, ...], spans: list[tuple[int, int]]
) -> Any:
    text = job.doc.text
    quoted = [text[s:e] for s, e in spans]
    written = json.dumps(record.model_dump(mode="json", exclude_none=True), ensure_ascii=False)
    ask = COMPLETE.format(name=name, record=written, fields=" and ".join(missing), sentences=" ".join(quoted))
    model = requiring(type(record), missing)
    passages = list(dict.fromkeys(p for q in quoted for p in quotable_passages(q)))
    try:
        answer = await job.ask(
            model,
            [*job.messages(), {"role": "user", "content": ask}],
            passages=passages,
            window=(spans[0][0], spans[-1][1]),
            max_reasks=0,
            salvage=False,
            spans=article_spans(text),
        )
    except LLMExtractError as exc:  # one more look is a second chance, never a reason to lose the record
        log.info("%s: %s left out by a record stay empty (%s)", job.doc.id, " and ".join(missing), type(exc).__name__)
        return record
    filled = {f: getattr(answer, f) for f in missing if not _empty(getattr(answer, f, None))}
    return record.model_copy(update=filled)
