"""Today's two ways of asking: every record list in one call, or one call per list."""

from __future__ import annotations

import copy
import logging
from functools import lru_cache
from typing import Any

from annotated_types import MaxLen, MinLen
from pydantic import BaseModel, ConfigDict, create_model
from pydantic_core import PydanticUndefined

from ..errors import AnswerCutOff
from ..grounding import quotable_passages
from .base import Job, Strategy, register_strategy

log = logging.getLogger("llm_extract")

__all__ = ["CompactOneCall", "OneCall", "PerList", "list_about", "one_list_model", "step_message"]


@lru_cache(maxsize=256)
def one_list_model(schema: type[BaseModel], name: str, at_most: int | None = None) -> type[BaseModel]:
    """``schema`` reduced to its one list field ``name``, required (so the answer is explicit).

    ``at_most`` replaces the list's own length bounds (``per-list-cued`` asks
    for at most one record; a grammar caps the list there). Made once per
    task and list: instructor and a grammar-constrained backend cache their
    work per class.
    """
    info = copy.copy(schema.model_fields[name])
    info.default = PydanticUndefined
    info.default_factory = None
    if at_most is not None:  # a new list: the copy shares the original's
        info.metadata = [*(m for m in info.metadata if not isinstance(m, (MaxLen, MinLen))), MaxLen(at_most)]
    suffix = "" if at_most is None else "_one" if at_most == 1 else f"_max{at_most}"
    fields: dict[str, Any] = {name: (info.annotation, info)}
    model: type[BaseModel] = create_model(
        f"{schema.__name__}_{name}{suffix}",
        __config__=ConfigDict(extra="forbid"),
        __doc__=schema.__doc__,
        **fields,
    )
    return model


def list_about(schema: type[BaseModel], name: str) -> str:
    """What the list ``name`` holds, in one line: its description or its item model's docstring."""
    info = schema.model_fields[name]
    about = info.description or ""
    if not about:
        args = getattr(info.annotation, "__args__", ())
        item = args[0] if args else None
        about = (item.__doc__ or "") if isinstance(item, type) and issubclass(item, BaseModel) else ""
    about = about.strip()
    return about.splitlines()[0] if about else ""


def step_message(name: str, about: str) -> dict[str, str]:
    """The one line that turns the shared prompt into a question about one list.

    Deliberately neutral: a first version added "use an empty list if the
    article reports none", and the 1.5B model then answered every list of
    the seed article with an empty one (README, "The embedded model").
    """
    what = f" ({about.rstrip('.')})" if about else ""
    return {"role": "user", "content": f'Now write only "{name}"{what}, following the rules above.'}


@register_strategy
class OneCall(Strategy):
    """One call for all record lists: the plain instructor shape (the default for servers)."""

    name = "one-call"

    async def extract(self, job: Job) -> BaseModel:
        return await job.ask(job.task.schema, job.messages(), passages=quotable_passages(job.text))


@register_strategy
class CompactOneCall(Strategy):
    """One call for all record lists with a compact schema (no titles or descriptions): the shape of
    a plain instructor call with a small schema, the baseline a strategy has to beat."""

    name = "one-call-compact"

    async def extract(self, job: Job) -> BaseModel:
        return await job.ask(job.task.schema, job.messages(), passages=quotable_passages(job.text), compact_schema=True)


@register_strategy
class PerList(Strategy):
    """One call per record list, each after the same article prompt (the embedded default).

    llama.cpp keeps the evaluated prompt in its KV cache and reuses the
    longest common prefix, so each list after the first pays only for its
    one-line instruction and its own answer. Asking for one kind of record
    at a time keeps a small model from filing a personnel change as an
    incident, or stopping after the first list. Each answer holds one list
    (``list_name`` in the request), so a backend may stop it at the first
    repeated item.

    A list whose answer is cut off at ``max_tokens`` with no record that can
    be kept (a small model looping inside its first) comes out empty, with a
    warning, and the other lists are kept: one runaway answer does not lose
    the whole document. Only when every list is cut off does the document fail.
    """

    name = "per-list"

    async def extract(self, job: Job) -> BaseModel:
        task = job.task
        if len(task.list_fields) < 2:
            return await OneCall().extract(job)
        messages = job.messages()
        passages = quotable_passages(job.text)
        found: dict[str, Any] = {}
        cut: list[AnswerCutOff] = []
        for name in task.list_fields:
            model = one_list_model(task.schema, name)
            step = [*messages, step_message(name, list_about(task.schema, name))]
            try:
                answer = await job.ask(model, step, passages=passages, list_name=name)
            except AnswerCutOff as exc:
                cut.append(exc)
                found[name] = []
                note = (
                    f"set {name} empty: the answer was cut off at max_tokens={job.config.max_tokens} "
                    "and none of its records could be kept; the other lists are kept"
                )
                log.warning("%s: %s", job.doc.id, note)
                job.warnings.append(note)
                continue
            found[name] = getattr(answer, name)
        if len(cut) == len(task.list_fields):
            raise cut[0]
        return task.schema.model_construct(**found)
