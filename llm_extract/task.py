"""A task is one object: the only place the engine meets a domain.

A :class:`Task` holds what to extract (a Pydantic schema), how to ask for it
(system and user templates), how to score it (an evaluation spec), what else
states a number (a :class:`~llm_extract.grounding.NumberLexicon`) and the
DataFrame's column names. A domain module exports one, e.g.
``llm_extract.schemas.conflict:TASK``; the config names it with ``[task]
name = "module:ATTR"``, and ``Extractor(task=...)`` takes one from Python.
The hashes of the schema and prompt go into every cache key and provenance.

The older keys ``[task] schema``/``prompt``/``prompt_dir`` still build a
task; the rest is then taken from the ``TASK`` of the schema's module when it
describes that schema.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel

from .cache import sha256_text
from .config import TaskConfig
from .errors import ConfigError
from .grounding import NO_LEXICON, NumberLexicon
from .results import EXPORT_COLUMNS, EXPORT_FORMS

__all__ = ["BUILTIN_TASK", "Task", "WorkedExample", "load_task", "read_template"]

BUILTIN_TASK = "llm_extract.schemas:TASK"
"""The task run when the config names none (the package's own domain)."""


def _load_schema(spec: str) -> type[BaseModel]:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"task.schema: cannot import {module_name!r} ({exc}); fix the module path") from None
    schema = getattr(module, attr, None)
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        raise ConfigError(f"task.schema: {spec!r} is not a Pydantic model class")
    return schema


def load_task(spec: str) -> Task:
    """The :class:`Task` named by ``"package.module:ATTR"`` (the config's ``[task] name``).

    Raises:
        ConfigError: one line naming the spec and what to fix.
    """
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"task.name: cannot import {module_name!r} ({exc}); fix the module path") from None
    task = getattr(module, attr, None)
    if not isinstance(task, Task):
        raise ConfigError(
            f"task.name: {spec!r} is not an llm_extract Task (got {getattr(task, '__name__', type(task).__name__)}); "
            f"export one, e.g. TASK = Task.define(...)"
        )
    return task


def read_template(package: str, name: str) -> str:
    """A template shipped as package data (``read_template("llm_extract.prompts", "conflict.system.j2")``)."""
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")


def _read_template(cfg: TaskConfig, name: str, prompt: str) -> str:
    """A template from ``prompt_dir`` or, by default, from the installed package."""
    try:
        if cfg.prompt_dir is not None:
            return (Path(cfg.prompt_dir).expanduser() / name).read_text(encoding="utf-8")
        return resources.files("llm_extract.prompts").joinpath(name).read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        raise ConfigError(
            f"task.prompt: template {name!r} not found; provide {prompt}.system.j2 "
            f"and {prompt}.user.j2 (in task.prompt_dir for your own)"
        ) from None


_UNSAFE_ID = re.compile(r"[^\w.\-]+")
_MARKER_LIKE = re.compile(r"(?i)article-[0-9a-f]{6,}")


def prompt_id(doc_id: str) -> str:
    """The document id as the prompt may show it: one short line of letters, digits, ``.``, ``-`` and ``_``.

    Ids come from JSONL files a user did not write; one holding newlines or
    text like the article marker would otherwise reach the model as prompt.
    """
    return _UNSAFE_ID.sub("_", _MARKER_LIKE.sub("_", doc_id)).strip("_")[:80] or "document"


@dataclass(frozen=True)
class WorkedExample:
    """One solved document shown to the model before the article: its text and its answer (JSON)."""

    doc_id: str
    text: str
    answer: str
    published: str | None = None


@dataclass(frozen=True)
class Task:
    """What to extract, how to ask for it, how to score it, and what states a number.

    Build one with :meth:`define` in a domain module and export it (see the
    module docstring); the engine never imports a domain by itself.
    """

    name: str
    schema: type[BaseModel]
    system_source: str
    user_source: str
    evaluation: Any = None
    """An :class:`llm_extract.evaluation.EvaluationSpec`, or ``None`` for the default (shared evidence).
    Typed loosely because evaluation sits above tasks; :meth:`EvaluationSpec.for_task` checks it."""
    lexicon: NumberLexicon = NO_LEXICON
    """What states a count besides digits and number words (the task's countable nouns)."""
    columns: Mapping[str, str] = field(default_factory=dict)
    """Friendlier ``to_pandas()`` column names (flattened name -> analyst name)."""
    exports: Mapping[str, Callable[[list[Any]], Any]] = field(default_factory=dict)
    """Named export forms (``{"acled": function}``): results in, a DataFrame out."""
    datasets: Mapping[str, Any] = field(default_factory=dict)
    """Published benchmarks for ``llm-extract eval --dataset NAME:PATH``: name -> ``"module:ATTR"``
    (imported only when run) or an :class:`llm_extract.evaluation.datasets.Dataset`."""
    fixtures: str | None = None
    """The package holding the task's gold fixtures as package data (``llm-extract eval``'s default),
    so an installed task can be evaluated without a clone; ``None``: ``./seeds``."""
    merge_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per record list, the fields that make two records one (``{"people": ("name",)}``): the engine's
    merge joins records whose key fields agree (see :mod:`llm_extract.merge`)."""
    cues: Mapping[str, Callable[[str], bool]] = field(default_factory=dict)
    """Per record list, a cheap test of whether a sentence may report such a record (``{"incidents":
    states_a_toll}``): the ``per-list-cued`` strategy asks again about cued sentences no record quotes."""
    empty_list_cues: Mapping[str, Callable[[str], bool]] = field(default_factory=dict)
    """Per record list, the stricter test a sentence must pass to be asked about when the model left that
    list empty (``{"incidents": states_a_toll}``): an article about talks may still state a bombing's
    dead, while a film's plot or a match report names fighting without a toll. No entry: an empty list
    gets no second look."""
    wanted: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per record list, fields a record should not leave empty (``{"negotiations": ("location", "parties")}``):
    the ``per-list-cued`` strategy asks once more about a kept record that leaves some out, shown only the
    sentences it quotes (see :mod:`llm_extract.strategies.complete`)."""
    example: WorkedExample | None = None
    """One solved document shown before the article (see :meth:`with_example`)."""
    compact_system_source: str | None = None
    """The system template for grammar-constrained backends (``compact_prompt = true``), if the task has one.

    A grammar already forces the answer's structure, so this variant states
    only the rules and the field meanings a model cannot infer from key names;
    a shorter prompt is read faster on a CPU."""

    def __post_init__(self) -> None:
        # Results carry their records, not their task: the DataFrame views find these here.
        if self.columns:
            EXPORT_COLUMNS[self.schema] = dict(self.columns)
        if self.exports:
            EXPORT_FORMS[self.schema] = dict(self.exports)
        for name, fields in self.wanted.items():
            info = self.schema.model_fields.get(name)
            item = next(iter(getattr(info.annotation, "__args__", ())), None) if info is not None else None
            known = item.model_fields if isinstance(item, type) and issubclass(item, BaseModel) else {}
            if unknown := [f for f in fields if f not in known]:
                raise ConfigError(
                    f"task {self.name!r}: wanted[{name!r}] names no field {', '.join(map(repr, unknown))} "
                    "of a record of that list"
                )

    @classmethod
    def define(
        cls,
        name: str,
        schema: type[BaseModel],
        *,
        system: str,
        user: str,
        evaluation: Any = None,
        lexicon: NumberLexicon = NO_LEXICON,
        columns: Mapping[str, str] | None = None,
        exports: Mapping[str, Callable[[list[Any]], Any]] | None = None,
        datasets: Mapping[str, Any] | None = None,
        fixtures: str | None = None,
        merge_keys: Mapping[str, tuple[str, ...]] | None = None,
        compact_system: str | None = None,
        cues: Mapping[str, Callable[[str], bool]] | None = None,
        empty_list_cues: Mapping[str, Callable[[str], bool]] | None = None,
        wanted: Mapping[str, tuple[str, ...]] | None = None,
    ) -> Task:
        """A task from its parts; ``system``/``user``/``compact_system`` are Jinja template sources.

        The user template gets ``text``, ``doc_id``, ``published`` and
        ``boundary`` (a delimiter the article cannot contain); the system ones
        all but ``text``.
        """
        if columns is None:
            declared = getattr(schema, "dataframe_columns", None)
            columns = dict(declared) if isinstance(declared, dict) else {}
        return cls(
            name,
            schema,
            system,
            user,
            evaluation=evaluation,
            lexicon=lexicon,
            columns=dict(columns),
            exports=dict(exports or {}),
            datasets=dict(datasets or {}),
            fixtures=fixtures,
            merge_keys=dict(merge_keys or {}),
            cues=dict(cues or {}),
            empty_list_cues=dict(empty_list_cues or {}),
            wanted=dict(wanted or {}),
            compact_system_source=compact_system,
        )

    def with_example(self, doc_id: str, text: str, answer: Mapping[str, Any], published: str | None = None) -> Task:
        """This task with one worked example: ``text`` and its ``answer`` go before every article.

        A small model copies a shape it has seen more readily than one it was
        told about. Take the example from a document that is not scored in the
        same run (:func:`llm_extract.evaluation.evaluate` leaves it out).
        """
        example = WorkedExample(doc_id, text, json.dumps(dict(answer), ensure_ascii=False), published)
        return dataclasses.replace(self, example=example)

    @classmethod
    def from_config(cls, cfg: TaskConfig | None = None) -> Task:
        """The task the config names: ``[task] name``, or the older ``schema``/``prompt`` keys."""
        cfg = cfg or TaskConfig()
        if cfg.name is not None:
            return load_task(cfg.name)
        builtin = load_task(BUILTIN_TASK)
        if cfg.schema_ is None and cfg.prompt is None and cfg.prompt_dir is None:
            return builtin
        prompt = cfg.prompt or builtin.name
        sources = [_read_template(cfg, f"{prompt}.{part}.j2", prompt) for part in ("system", "user")]
        schema = _load_schema(cfg.schema_) if cfg.schema_ else builtin.schema
        # The rest of the task (evaluation, lexicon, columns, exports...) comes from the schema module's TASK.
        declared = getattr(importlib.import_module(schema.__module__), "TASK", None)
        if isinstance(declared, Task) and declared.schema is schema:
            compact = declared.compact_system_source if sources[0] == declared.system_source else None
            return dataclasses.replace(
                declared,
                name=prompt,
                system_source=sources[0],
                user_source=sources[1],
                compact_system_source=compact,
            )
        return cls.define(prompt, schema, system=sources[0], user=sources[1])

    @cached_property
    def _env(self) -> jinja2.Environment:
        return jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)

    @cached_property
    def _system(self) -> jinja2.Template:
        return self._env.from_string(self.system_source)

    @cached_property
    def _compact_system(self) -> jinja2.Template | None:
        return self._env.from_string(self.compact_system_source) if self.compact_system_source else None

    @cached_property
    def _user(self) -> jinja2.Template:
        return self._env.from_string(self.user_source)

    @cached_property
    def prompt_sha256(self) -> str:
        example = self.example
        shown = "" if example is None else f"\x00{example.doc_id}\x00{example.text}\x00{example.answer}"
        return sha256_text(self.system_source + "\x00" + self.user_source + shown)

    def prompt_sha256_for(self, compact: bool) -> str:
        """The hash of the templates a request uses: :attr:`prompt_sha256` unless the compact one is."""
        if compact and self.compact_system_source:
            return sha256_text(self.compact_system_source + "\x00" + self.user_source)
        return self.prompt_sha256

    @cached_property
    def schema_sha256(self) -> str:
        return sha256_text(json.dumps(self.schema.model_json_schema(), sort_keys=True))

    @cached_property
    def lexicon_sha256(self) -> str:
        """The lexicon decides which counts a quote states, and so which numbers are kept: part of the cache key."""
        return sha256_text(repr(self.lexicon))[:16]

    @cached_property
    def list_fields(self) -> tuple[str, ...]:
        """The record lists of the schema (e.g. incidents, negotiations, personnel_changes)."""
        return tuple(
            name
            for name, field in self.schema.model_fields.items()
            if getattr(field.annotation, "__origin__", None) is list
        )

    def messages(self, text: str, *, doc_id: str, published: str | None, compact: bool = False) -> list[dict[str, Any]]:
        """System instructions, then the article as delimited *user* content.

        The article never enters the system role, so text inside it cannot
        pose as instructions from us. Its delimiter (``boundary``) is derived
        from the text itself, like a MIME boundary: an article cannot contain
        the marker that would close its own block. ``compact`` picks the
        compact system template, where the task has one.
        """
        boundary = f"ARTICLE-{sha256_text(text)[:12]}"
        ctx = {"doc_id": prompt_id(doc_id), "published": published, "boundary": boundary}
        system = (self._compact_system if compact else None) or self._system
        messages = [{"role": "system", "content": system.render(**ctx)}]
        example = self.example
        if example is not None:
            shown = {
                "doc_id": prompt_id(example.doc_id),
                "published": example.published,
                "boundary": f"ARTICLE-{sha256_text(example.text)[:12]}",
            }
            messages += [
                {"role": "user", "content": self._user.render(text=example.text, **shown)},
                {"role": "assistant", "content": example.answer},
            ]
        messages.append({"role": "user", "content": self._user.render(text=text, **ctx)})
        return messages
