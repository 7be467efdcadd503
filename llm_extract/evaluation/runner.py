"""Running an evaluation: extract every fixture with each backend (through the cache) and score it."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from ..batch import arun_batch
from ..config import Config, load_config
from ..errors import FixtureError
from ..extract import Extractor
from ..fixtures import load_fixtures, task_fixtures, with_example
from ..task import Task
from .report import EvaluationReport, RunInfo
from .scoring import DocumentScore, score_fixture
from .spec import EvaluationSpec

# --- running it --------------------------------------------------------------------------


def evaluate(
    fixtures_dir: str | os.PathLike[str] | None = None,
    config: Config | str | os.PathLike[str] | None = None,
    backends: str | Sequence[str] | None = None,
    *,
    cache: bool = True,
    refresh: bool = False,
    spec: EvaluationSpec | None = None,
    progress: bool = True,
) -> EvaluationReport:
    """Extract every fixture's document with each backend and score it against the gold.

    Extraction goes through the cache, so a second run of the same backend
    costs no model call. Documents run concurrently (the backend's
    ``concurrency``); a document that fails is reported and counts as all
    missed, it never stops the run.

    Args:
        fixtures_dir: folder of ``*.gold.json`` fixtures beside their sources; by default the
            task's own, installed with it (:func:`~llm_extract.fixtures.task_fixtures`).
        config: a :class:`Config`, a config file, or ``None`` to find one as usual.
        backends: ``[backends.NAME]`` names to compare; default ``default_backend``.
        cache: ``False`` neither reads nor writes the cache.
        refresh: skip cache lookups (new results are still stored).
        spec: overrides the task's ``EVALUATION``.
        progress: a progress bar on stderr.

    Raises:
        ConfigError: unknown backend, missing key, bad spec.
        FixtureError: a fixture that does not load (one line: file and field).
    """
    cfg = config if isinstance(config, Config) else load_config(config)
    names = [backends] if isinstance(backends, str) else list(backends or [cfg.default_backend])
    for name in names:
        cfg.backend(name)  # unknown names and missing keys fail before any model call
    task = with_example(Task.from_config(cfg.task), cfg.task.example)
    spec = spec or EvaluationSpec.for_task(task)
    fixtures_dir = task_fixtures(task) if fixtures_dir is None else Path(fixtures_dir)
    fixtures = load_fixtures(fixtures_dir, task)
    if task.example is not None:  # the worked example shown to the model is never scored
        fixtures = [fx for fx in fixtures if fx.doc_id != task.example.doc_id]
    seen: dict[str, Path] = {}
    for fx in fixtures:
        if fx.doc_id in seen:
            raise FixtureError(f"{fx.path}: doc_id: {fx.doc_id!r} is also the doc_id of {seen[fx.doc_id]}")
        seen[fx.doc_id] = fx.path
    scores: list[DocumentScore] = []
    runs: dict[str, RunInfo] = {}
    for name in names:
        started = time.perf_counter()
        with Extractor(cfg, name, cache=cache) as ex:
            batch = ex.run(arun_batch(ex, [fx.document for fx in fixtures], refresh=refresh, progress=progress))
            results = {r.doc_id: r for r in batch.results}
            failures = {f.doc_id: f"{f.error}: {f.reason}" for f in batch.summary.failures}
            for fx in fixtures:
                scores.append(
                    score_fixture(fx, results.get(fx.doc_id), spec, backend=name, error=failures.get(fx.doc_id))
                )
            s = batch.summary
            runs[name] = RunInfo(
                backend=name,
                kind=ex.backend_config.kind,
                model=ex.backend_config.model,
                documents=s.documents,
                failed=s.failed,
                cache_hits=s.cache_hits,
                usage=s.usage,
                wall_time_s=time.perf_counter() - started,
            )
    return EvaluationReport(scores, names, runs, fixtures=str(fixtures_dir), spec=spec.name)
