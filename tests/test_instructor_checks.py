"""instructor's refusal of async validators, which llm_extract runs once per class it wraps.

instructor 1.17 walks a response model's class tree six times per call to refuse
async validators; llm_extract skips the walk only for its own wrapped classes that
passed it (``strategies/base.py``). Every other class still gets instructor's check.
"""

from __future__ import annotations

import pytest
from instructor.v2.validation import async_validators
from pydantic import BaseModel

from llm_extract.strategies import base


class WithAsyncValidator(BaseModel):
    name: str

    @async_validators.async_field_validator("name")
    async def known(self, value: str) -> None:
        return None


class Plain(BaseModel):
    name: str


def test_a_class_llm_extract_did_not_wrap_still_gets_instructors_refusal() -> None:
    base.wrapped(Plain)  # llm_extract is in use in this process

    with pytest.raises(ValueError, match="async validators are not supported"):
        async_validators.reject_async_validators(WithAsyncValidator)


def test_wrapping_a_model_with_an_async_validator_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ValueError, match="async validators are not supported"):
            base.wrapped(WithAsyncValidator)
