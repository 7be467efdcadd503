"""The evaluation spec: which comparators match and score each record list of a task."""

from __future__ import annotations

import sys
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from ..errors import ConfigError
from ..task import Task
from .comparators import Comparator, Exact, Quotes, inner_model

# --- the spec ------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordSpec:
    """How one record list is matched and scored.

    Attributes:
        match: name -> (comparator, weight); the similarity of two records is
            the weighted mean of these scores (those that do not apply are left out).
        fields: field label -> comparator, scored on every matched pair.
        min_similarity: below this, two records are not the same event.
    """

    match: Mapping[str, tuple[Comparator, float]]
    fields: Mapping[str, Comparator] = field(default_factory=dict)
    min_similarity: float = 0.5

    def similarity(self, gold: Any, pred: Any) -> float:
        total = weights = 0.0
        for comparator, weight in self.match.values():
            score = comparator(gold, pred)
            if score is not None:
                total += weight * score
                weights += weight
        return total / weights if weights else 0.0


_FALLBACK = RecordSpec(match={"evidence": (Quotes(), 1.0)})


@dataclass(frozen=True)
class EvaluationSpec:
    """What to compare, per record list of a task schema; the engine's only domain input for scoring.

    A task exposes one as ``EVALUATION`` in the module of its schema class;
    record lists it does not mention are matched on shared evidence and have
    no field scores.
    """

    records: Mapping[str, RecordSpec]
    name: str = "custom"

    def for_list(self, name: str) -> RecordSpec:
        return self.records.get(name, _FALLBACK)

    def check(self, schema: type[BaseModel]) -> None:
        """Every list and path must exist in ``schema``.

        Raises:
            ConfigError: one line naming the spec, the list, the entry and the bad field.
        """
        for list_name, rs in self.records.items():
            where = f"evaluation spec {self.name}: {list_name}"
            if list_name not in schema.model_fields:
                raise ConfigError(f"{where}: {schema.__name__} has no record list {list_name!r}")
            item = inner_model(schema.model_fields[list_name].annotation)
            entries = [(f"match[{k!r}]", c) for k, (c, _) in rs.match.items()]
            entries += [(f"fields[{k!r}]", c) for k, c in rs.fields.items()]
            for label, comparator in entries:
                try:
                    comparator.check(item)
                except ValueError as exc:
                    raise ConfigError(f"{where}.{label}: {exc}; fix the path in the spec") from None

    @classmethod
    def default(cls, schema: type[BaseModel]) -> EvaluationSpec:
        """For a schema without a spec: match on shared evidence, compare each top-level field exactly."""
        records = {}
        for name, info in schema.model_fields.items():
            item = inner_model(info.annotation)
            if typing.get_origin(info.annotation) is list and item is not None:
                fields = {f: Exact(f) for f in item.model_fields if f != "evidence"}
                records[name] = RecordSpec(match=_FALLBACK.match, fields=fields)
        return cls(records, name="default (shared evidence, exact fields)")

    @classmethod
    def for_task(cls, task: Task) -> EvaluationSpec:
        """The task's ``evaluation`` (else its schema module's ``EVALUATION``), checked; else :meth:`default`."""
        module_name = task.schema.__module__
        spec = task.evaluation
        if spec is None:
            spec = getattr(sys.modules.get(module_name), "EVALUATION", None)
        if spec is None:
            return cls.default(task.schema)
        if not isinstance(spec, EvaluationSpec):
            raise ConfigError(
                f"{module_name}.EVALUATION: expected an llm_extract.evaluation.EvaluationSpec, "
                f"got {type(spec).__name__}"
            )
        if spec.name == "custom":
            spec = EvaluationSpec(spec.records, name=f"{module_name}:EVALUATION")
        spec.check(task.schema)
        return spec
