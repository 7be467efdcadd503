"""Packaging: one import name; schemas and prompts ship inside it."""

from __future__ import annotations

import importlib
import subprocess
import sys
from importlib import resources
from pathlib import Path

from llm_extract.task import Task


def test_schemas_and_prompts_are_subpackages_of_llm_extract() -> None:
    conflict = importlib.import_module("llm_extract.schemas.conflict")

    assert hasattr(conflict, "ConflictRecords")
    names = {p.name for p in resources.files("llm_extract.prompts").iterdir()}
    assert {"conflict.system.j2", "conflict.user.j2"} <= names


def test_schemas_and_prompts_are_not_import_names_of_their_own(tmp_path: Path) -> None:
    # from outside the source tree, as an installed package is used
    code = "import importlib.util as u; print(u.find_spec('schemas'), u.find_spec('prompts'))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)

    assert proc.stdout.split() == ["None", "None"]


def test_builtin_task_is_the_conflict_schema_and_prompt() -> None:
    task = Task.from_config()

    assert task.schema.__name__ == "ConflictRecords"
    assert task.list_fields == ("incidents", "negotiations", "personnel_changes")


def test_engine_does_not_import_the_domain() -> None:
    engine = Path(importlib.import_module("llm_extract").__file__ or "").parent
    for source in engine.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert "schemas.conflict import" not in text and "import schemas" not in text, source


def test_schema_bounds_every_list_and_string_for_grammar_sampling() -> None:
    schema = Task.from_config().schema.model_json_schema()
    unbounded: list[str] = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "array" and "maxItems" not in node:
                unbounded.append(path)
            if node.get("type") == "string" and not ({"maxLength", "enum", "pattern"} & set(node)):
                unbounded.append(path)
            for key, value in node.items():
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]")

    walk(schema, "$")
    assert unbounded == []
