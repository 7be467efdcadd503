"""Gold fixtures: hand-made records for a source document, validated like model output.

A fixture is ``seeds/<stem>.gold.json`` beside ``seeds/<stem>.txt``::

    {
      "doc_id": "enab-baladi-558021.ar",
      "source": "enab-baladi-558021.ar.txt",
      "published": "2022-03",            # YYYY-MM-DD, YYYY-MM, YYYY or null
      "language": "ar",
      "origin": "Enab Baladi, https://...",
      "synthetic": false,                 # true for a text we wrote ourselves
      "negative_control": false,          # true: the document reports no event
      "notes": "...",
      "incidents":         [{"optional": false, "note": "...", "record": {...}}],
      "negotiations":      [...],
      "personnel_changes": [...]
    }

The record lists are the task schema's lists, and each ``record`` must
validate against that list's item model *with grounding*: every gold quote
must be found in the source, exactly as a model's would. ``optional``
marks background events that a backend may omit without penalty.
"""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .documents import Document, parse_published, read_document
from .errors import FixtureError, InputError
from .grounding import SourceText, grounding
from .task import Task

__all__ = ["GoldDocument", "GoldEntry", "load_fixture", "load_fixtures"]


class GoldEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    optional: bool = False
    note: str | None = None
    record: dict[str, Any]


class GoldDocument(BaseModel):
    """A fixture's header plus its entries per record list (validated separately)."""

    model_config = ConfigDict(extra="allow")

    doc_id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    published: str | None = None
    language: str | None = None
    origin: str | None = None
    synthetic: bool = False
    negative_control: bool = False
    notes: str | None = None

    @model_validator(mode="after")
    def _check_published(self) -> GoldDocument:
        try:
            parse_published(self.published)
        except InputError as exc:
            raise ValueError(str(exc)) from None
        return self


class Fixture:
    """A loaded fixture: the document, its typed gold records and which are optional."""

    def __init__(
        self, path: Path, header: GoldDocument, document: Document, gold: dict[str, list[tuple[BaseModel, bool]]]
    ):
        self.path = path
        self.header = header
        self.document = document
        self.gold = gold

    @property
    def doc_id(self) -> str:
        return self.header.doc_id

    def records(self, *, include_optional: bool = True) -> dict[str, list[BaseModel]]:
        return {
            name: [r for r, optional in entries if include_optional or not optional]
            for name, entries in self.gold.items()
        }

    def as_answer(self) -> dict[str, Any]:
        """The gold as a model answer would carry it (for replaying through a test server)."""
        return {
            name: [r.model_dump(mode="json", exclude_none=True) for r, _ in entries]
            for name, entries in self.gold.items()
        }

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={len(v)}" for k, v in self.gold.items())
        return f"Fixture({self.doc_id!r}, {counts}, negative_control={self.header.negative_control})"


def _item_model(schema: type[BaseModel], name: str) -> type[BaseModel]:
    args = typing.get_args(schema.model_fields[name].annotation)
    if not args or not (isinstance(args[0], type) and issubclass(args[0], BaseModel)):
        raise TypeError(f"{schema.__name__}.{name} is not a list of models")
    return args[0]


def _where(err: Any) -> str:
    return ".".join(str(p) for p in err["loc"])


def load_fixture(path: str | Path, task: Task | None = None) -> Fixture:
    """Load and validate one fixture; any problem is one ``FixtureError`` line naming file and field."""
    path = Path(path)
    task = task or Task.from_config()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise FixtureError(f"{path}: cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise FixtureError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise FixtureError(f"{path}: expected a JSON object")
    unknown = set(data) - set(GoldDocument.model_fields) - set(task.list_fields)
    if unknown:
        raise FixtureError(f"{path}: {sorted(unknown)[0]}: unknown field; record lists are {list(task.list_fields)}")
    try:
        header = GoldDocument.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise FixtureError(f"{path}: {_where(err)}: {err['msg']}") from None
    try:
        document = read_document(path.parent / header.source, doc_id=header.doc_id, published=header.published)
    except InputError as exc:
        raise FixtureError(f"{path}: source: {exc}") from None
    source = SourceText(document.text)
    gold: dict[str, list[tuple[BaseModel, bool]]] = {}
    for name in task.list_fields:
        model = _item_model(task.schema, name)
        entries = data.get(name, [])
        if not isinstance(entries, list):
            raise FixtureError(f"{path}: {name}: expected a list")
        gold[name] = []
        for i, raw in enumerate(entries):
            try:
                entry = GoldEntry.model_validate(raw)
                # quotes and numbers only: a gold record may name the outlet as a claim's source
                with grounding(source, lexicon=task.lexicon, spans=False):
                    record = model.model_validate(entry.record)
            except ValidationError as exc:
                err = exc.errors()[0]
                field = f"{name}.{i}." + ("record." if "record" in raw else "") + _where(err)
                raise FixtureError(f"{path}: {field.rstrip('.')}: {err['msg']}") from None
            gold[name].append((record, entry.optional))
    if header.negative_control and any(gold.values()):
        raise FixtureError(f"{path}: negative_control: a negative control must hold no records")
    return Fixture(path, header, document, gold)


def load_fixtures(directory: str | Path = "seeds", task: Task | None = None) -> list[Fixture]:
    """Every ``*.gold.json`` under ``directory``, sorted by name."""
    directory = Path(directory)
    files = sorted(directory.glob("*.gold.json"))
    if not files:
        raise FixtureError(f"{directory}: no *.gold.json fixtures found")
    task = task or Task.from_config()
    return [load_fixture(f, task) for f in files]
