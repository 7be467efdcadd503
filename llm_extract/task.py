"""A task is a schema plus a prompt: the only place the engine meets a domain.

The schema is named by an import spec (``"package.module:Class"``) and the
prompt by a template name, so a user can point the config at their own
records and wording without touching the engine. The hashes of both go into
every cache key and every provenance record.
"""

from __future__ import annotations

import importlib
import json
import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel

from .cache import sha256_text
from .config import TaskConfig
from .errors import ConfigError

__all__ = ["Task"]


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


def _read_template(cfg: TaskConfig, name: str) -> str:
    """A template from ``prompt_dir`` or, by default, from the installed package."""
    try:
        if cfg.prompt_dir is not None:
            return (Path(cfg.prompt_dir).expanduser() / name).read_text(encoding="utf-8")
        return resources.files("llm_extract.prompts").joinpath(name).read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        raise ConfigError(
            f"task.prompt: template {name!r} not found; provide {cfg.prompt}.system.j2 "
            f"and {cfg.prompt}.user.j2 (in task.prompt_dir for your own)"
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
class Task:
    """What to extract (``schema``) and how to ask for it (``system``/``user`` templates)."""

    name: str
    schema: type[BaseModel]
    system_source: str
    user_source: str

    @classmethod
    def from_config(cls, cfg: TaskConfig | None = None) -> Task:
        cfg = cfg or TaskConfig()
        sources = [_read_template(cfg, f"{cfg.prompt}.{part}.j2") for part in ("system", "user")]
        return cls(cfg.prompt, _load_schema(cfg.schema_), sources[0], sources[1])

    @cached_property
    def _env(self) -> jinja2.Environment:
        return jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)

    @cached_property
    def _system(self) -> jinja2.Template:
        return self._env.from_string(self.system_source)

    @cached_property
    def _user(self) -> jinja2.Template:
        return self._env.from_string(self.user_source)

    @cached_property
    def prompt_sha256(self) -> str:
        return sha256_text(self.system_source + "\x00" + self.user_source)

    @cached_property
    def schema_sha256(self) -> str:
        return sha256_text(json.dumps(self.schema.model_json_schema(), sort_keys=True))

    @cached_property
    def list_fields(self) -> tuple[str, ...]:
        """The record lists of the schema (e.g. incidents, negotiations, personnel_changes)."""
        return tuple(
            name
            for name, field in self.schema.model_fields.items()
            if getattr(field.annotation, "__origin__", None) is list
        )

    def messages(self, text: str, *, doc_id: str, published: str | None) -> list[dict[str, Any]]:
        """System instructions, then the article as delimited *user* content.

        The article never enters the system role, so text inside it cannot
        pose as instructions from us. Its delimiter (``boundary``) is derived
        from the text itself, like a MIME boundary: an article cannot contain
        the marker that would close its own block.
        """
        boundary = f"ARTICLE-{sha256_text(text)[:12]}"
        ctx = {"doc_id": prompt_id(doc_id), "published": published, "boundary": boundary}
        return [
            {"role": "system", "content": self._system.render(**ctx)},
            {"role": "user", "content": self._user.render(text=text, **ctx)},
        ]
