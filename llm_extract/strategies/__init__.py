"""Strategies: how a document becomes model calls, chosen per backend (``strategy = "..."``).

* ``one-call``: every record list in one call (the default for servers);
* ``one-call-compact``: the same with the schema sent without titles and descriptions;
* ``per-list``: one call per record list after the same prompt;
* ``per-list-cued``: per list, then one more call for each sentence the task's cues pick
  and no record quotes (at most three per list; the embedded default);
* ``detect-then-fill``: label each sentence with the list it reports (or none),
  then fill one record list per group of detected sentences, only those quotable.

Adding one is one class: subclass :class:`Strategy`, give it a ``name`` and
decorate it with :func:`register_strategy`. Merging chunks and dropping
repeats stays the engine's one rule (:mod:`llm_extract.merge`).
"""

from __future__ import annotations

from .base import STRATEGIES, Job, Strategy, create_strategy, register_strategy
from .basic import CompactOneCall, OneCall, PerList
from .cued import PerListCued
from .detect import DetectThenFill

__all__ = [
    "STRATEGIES",
    "CompactOneCall",
    "DetectThenFill",
    "Job",
    "OneCall",
    "PerList",
    "PerListCued",
    "Strategy",
    "create_strategy",
    "register_strategy",
]
