"""A request's key: equal for identical requests, different as soon as anything in them differs."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from llm_extract.backends import ModelRequest

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"incidents": {"type": "array", "items": {"$ref": "#/$defs/Incident"}}},
    "$defs": {"Incident": {"type": "object", "properties": {"place": {"type": "string"}}}},
}


def _request(schema: dict[str, Any], parameters: dict[str, Any]) -> ModelRequest:
    tool = {"type": "function", "function": {"name": "Answer", "parameters": parameters}}
    return ModelRequest(
        model="m",
        messages=({"role": "user", "content": "article"},),
        schema=schema,
        tool="Answer",
        protocol={"tools": [tool], "tool_choice": {"type": "function", "function": {"name": "Answer"}}},
    )


def test_identical_requests_have_one_key_whether_or_not_they_share_the_schema_object() -> None:
    first = _request(SCHEMA, SCHEMA)

    assert _request(SCHEMA, SCHEMA).key == first.key
    assert _request(copy.deepcopy(SCHEMA), copy.deepcopy(SCHEMA)).key == first.key


def test_a_schema_changed_in_place_gives_a_new_key() -> None:
    schema = copy.deepcopy(SCHEMA)
    before = _request(schema, schema).key

    schema["$defs"]["Incident"]["properties"]["place"]["type"] = "integer"

    assert _request(schema, schema).key != before


def test_requests_that_differ_only_in_the_tool_parameters_have_different_keys() -> None:
    other = copy.deepcopy(SCHEMA)
    other["properties"]["incidents"]["maxItems"] = 3

    assert _request(SCHEMA, other).key != _request(SCHEMA, SCHEMA).key


def test_requests_that_differ_only_in_the_spans_they_offer_have_different_keys() -> None:
    plain = _request(SCHEMA, SCHEMA)
    offering = dataclasses.replace(plain, spans=("Jasim", "Nawa"))

    assert offering.key != plain.key
