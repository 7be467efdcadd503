"""External benchmarks: published, annotated datasets scored at article level.

Gold fixtures (:mod:`llm_extract.evaluation`) say which records an article
holds, field by field. A published dataset annotates less, usually one main
event per article with a few facts (a toll, a place, a date, a cause), but it
has hundreds of articles written by real outlets, so it tells backends and
prompts apart where a handful of fixtures cannot. What its annotations mean,
and how they are compared with extracted records, is domain knowledge; the
engine only runs and reports it, and names none: a task registers its
datasets (``Task.datasets``: name -> ``"module:ATTR"`` or the object), and
``llm-extract eval --dataset NAME:PATH`` finds NAME there (:func:`task_dataset`).
A dataset is an object with the :class:`Dataset` protocol:

* ``load(path)`` reads the dataset's file into :class:`DatasetItem` s, each a
  :class:`~llm_extract.documents.Document` and the annotation of one row;
* ``score(result_or_failure, annotation)`` turns an extraction (or its
  :class:`~llm_extract.batch.Failure`) into an :class:`ArticleScore`: named
  :class:`Check` s, each ``pass``, ``fail`` or ``n/a`` with a short reason that
  says what matched and what did not.

:func:`run_dataset` samples items deterministically (:func:`sample_items`),
extracts their documents through the public :class:`~llm_extract.Extractor`
and its cache (a rerun costs no model call), scores every item and returns a
:class:`DatasetReport`: one row per article plus totals and rates, as a text
table, JSON or a pandas DataFrame.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar, runtime_checkable

from ..batch import Failure
from ..config import Config, load_config
from ..documents import Document
from ..errors import ConfigError
from ..extract import Extractor
from ..results import DocumentResult, Usage
from ..task import Task

if TYPE_CHECKING:
    import pandas

__all__ = [
    "DEFAULT_SAMPLE",
    "ArticleScore",
    "Check",
    "CheckSpec",
    "Dataset",
    "DatasetItem",
    "DatasetReport",
    "Outcome",
    "load_dataset",
    "run_dataset",
    "sample_items",
    "task_dataset",
]

DEFAULT_SAMPLE = 40
"""Articles scored when no sample size is given: about 50 minutes with the embedded model on 2 cores
(~80 s an article), for rates known to about ±8 points (one standard error at 50 %)."""

Outcome = Literal["pass", "fail", "n/a"]

A = TypeVar("A")


@dataclass(frozen=True)
class Check:
    """One article-level judgement: did the extraction state what the annotation says?"""

    outcome: Outcome
    reason: str
    """What matched and what did not, in a few words (``"killed 70 (incident 1) = civilians 70"``)."""

    def to_dict(self) -> dict[str, str]:
        return {"outcome": self.outcome, "reason": self.reason}


@dataclass(frozen=True)
class CheckSpec:
    """A column of the report: a check's name and how its total is read.

    Most checks report a pass rate. A check whose *failures* are the figure of
    interest (an article with deaths where no event came out) sets
    ``rate_of="fail"`` and names that rate, e.g. ``"zero-event rate"``.
    """

    name: str
    rate_name: str
    rate_of: Literal["pass", "fail"] = "pass"
    description: str = ""


@dataclass(frozen=True)
class DatasetItem(Generic[A]):
    """One annotated row: its id, the document to extract from, and the annotation.

    ``id`` is unique in the dataset; ``document.id`` may be shared by rows that
    annotate the same article (it is then extracted once).
    """

    id: str
    document: Document
    annotation: A


@dataclass
class ArticleScore:
    """One row of the report: an item's checks, in the dataset's column order."""

    id: str
    doc_id: str
    checks: dict[str, Check]
    records: int = 0
    """Records extracted from the article (of every kind)."""
    error: str | None = None
    """Why extraction failed; every applicable check then fails."""
    cache_hit: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "doc_id": self.doc_id,
            "records": self.records,
            "error": self.error,
            "cache_hit": self.cache_hit,
            "checks": {name: check.to_dict() for name, check in self.checks.items()},
        }


@runtime_checkable
class Dataset(Protocol[A]):
    """What the engine needs from a published dataset (see the module docstring)."""

    name: str
    checks: Sequence[CheckSpec]

    def load(self, path: str | os.PathLike[str]) -> list[DatasetItem[A]]:
        """Every usable row of the file; raises ``InputError`` (one line) when the file cannot be read at all."""
        ...

    def score(self, result: DocumentResult | Failure, annotation: A) -> ArticleScore:
        """Judge one extraction (or failure) against one row's annotation."""
        ...


def load_dataset(spec: str) -> Dataset[Any]:
    """The dataset object named by ``"package.module:ATTR"``.

    Raises:
        ConfigError: the module does not import, or the attribute is not a dataset.
    """
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"dataset {spec!r}: cannot import {module_name!r} ({exc})") from None
    dataset = getattr(module, attr, None)
    if not isinstance(dataset, Dataset):
        raise ConfigError(f"dataset {spec!r}: is not a dataset (needs name, checks, load() and score())")
    return dataset


def task_dataset(task: Task, name: str) -> Dataset[Any]:
    """The dataset ``task`` registers under ``name`` (``--dataset NAME:PATH``), imported only now.

    Raises:
        ConfigError: the task registers no such name (the line lists those it does), or it is not a dataset.
    """
    entry = task.datasets.get(name)
    if entry is None:
        known = ", ".join(sorted(task.datasets)) or "none"
        raise ConfigError(f"dataset {name!r}: task {task.name!r} registers no such dataset (it registers: {known})")
    if isinstance(entry, str):
        return load_dataset(entry)
    if not isinstance(entry, Dataset):
        raise ConfigError(
            f"dataset {name!r} of task {task.name!r}: is not a dataset (needs name, checks, load() and score())"
        )
    return entry


def _rank(seed: int, item_id: str) -> str:
    return hashlib.sha256(f"{seed}:{item_id}".encode()).hexdigest()


def sample_items(items: Sequence[DatasetItem[A]], n: int | None, seed: int = 0) -> list[DatasetItem[A]]:
    """``n`` items chosen by ``seed``, in the file's order; all items when ``n`` is ``None`` or too large.

    Each item is ranked by a hash of the seed and its id, and the ``n`` lowest
    ranks are taken. So the sample does not depend on the Python version or on
    the order of the file, a larger sample contains every smaller one with the
    same seed (``--sample 40`` extends ``--sample 20``, whose results come from
    the cache), and a row added to the file displaces at most one chosen row.
    """
    if n is None or n >= len(items):
        return list(items)
    chosen = {item.id for item in sorted(items, key=lambda it: _rank(seed, it.id))[:n]}
    return [item for item in items if item.id in chosen]


@dataclass
class CheckTotal:
    """How one check came out over the report's articles."""

    spec: CheckSpec
    passed: int = 0
    failed: int = 0
    not_applicable: int = 0

    @property
    def applicable(self) -> int:
        return self.passed + self.failed

    @property
    def rate(self) -> float | None:
        """The spec's rate (of passes or of failures) over the articles where the check applies."""
        if not self.applicable:
            return None
        return (self.passed if self.spec.rate_of == "pass" else self.failed) / self.applicable

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.spec.name,
            "rate_name": self.spec.rate_name,
            "rate": None if self.rate is None else round(self.rate, 4),
            "pass": self.passed,
            "fail": self.failed,
            "n/a": self.not_applicable,
        }


_MARK = {"pass": "pass", "fail": "FAIL", "n/a": "-"}


@dataclass
class DatasetReport:
    """Article-level scores of one backend on a sample of a dataset.

    ``print(report)`` gives the text table; :meth:`to_dict` / :meth:`to_json`
    the full report; :meth:`to_pandas` one row per article (or per check).
    """

    dataset: str
    source: str
    checks: Sequence[CheckSpec]
    articles: list[ArticleScore]
    available: int
    """Usable rows in the file (the population the sample was drawn from)."""
    sample: int | None
    seed: int
    backend: str = ""
    kind: str = ""
    model: str = ""
    cache_hits: int = 0
    usage: Usage = field(default_factory=Usage)
    wall_time_s: float = 0.0

    @property
    def failed(self) -> int:
        return sum(a.error is not None for a in self.articles)

    @property
    def totals(self) -> dict[str, CheckTotal]:
        totals = {spec.name: CheckTotal(spec) for spec in self.checks}
        for article in self.articles:
            for name, check in article.checks.items():
                total = totals[name]
                if check.outcome == "pass":
                    total.passed += 1
                elif check.outcome == "fail":
                    total.failed += 1
                else:
                    total.not_applicable += 1
        return totals

    def rate(self, check: str) -> float | None:
        """The named check's rate (see :class:`CheckSpec`), ``None`` where it never applied."""
        return self.totals[check].rate

    def _heading(self) -> str:
        scope = (
            f"all {len(self.articles)} articles"
            if self.sample is None or len(self.articles) == self.available
            else f"{len(self.articles)} of {self.available} articles (sample {self.sample}, seed {self.seed})"
        )
        who = f", backend {self.backend} ({self.kind} {self.model})" if self.backend else ""
        return f"{self.dataset}: {scope} from {self.source}{who}"

    def table(self) -> str:
        """One row per article (records and each check), its reasons beneath it, then totals and rates."""
        names = [spec.name for spec in self.checks]
        id_width = max([len("article"), *(len(a.id) for a in self.articles)])
        widths = [max(len(n), 4) for n in names]

        def row(label: str, records: str, cells: Sequence[str]) -> str:
            parts = [label.ljust(id_width), records.rjust(7)]
            parts += [cell.ljust(w) for cell, w in zip(cells, widths, strict=True)]
            return "  ".join(parts).rstrip()

        lines = [self._heading(), "", row("article", "records", names)]
        for a in self.articles:
            lines.append(row(a.id, str(a.records), [_MARK[a.checks[n].outcome] for n in names]))
            if a.error is not None:
                lines.append(f"    extraction failed: {a.error}")
            for n in names:
                check = a.checks[n]
                if check.outcome != "n/a" or a.error is None:
                    lines.append(f"    {n}: {check.outcome}: {check.reason}")
        lines += ["", self._totals_table()]
        return "\n".join(lines)

    def _totals_table(self) -> str:
        totals = list(self.totals.values())
        name_w = max([len("check"), *(len(t.spec.name) for t in totals)])
        rate_w = max([len("rate"), *(len(t.spec.rate_name) for t in totals)])
        head = f"{'check'.ljust(name_w)}  {'pass':>4}  {'fail':>4}  {'n/a':>4}  {'rate'.ljust(rate_w)}  value"
        lines = [
            f"totals: {len(self.articles)} articles, {self.failed} failed, {self.cache_hits} from cache, "
            f"{self.usage.model_calls} model calls, {self.wall_time_s:.1f}s",
            head,
        ]
        for t in totals:
            value = "-" if t.rate is None else f"{t.rate:.0%} ({t.passed if t.spec.rate_of == 'pass' else t.failed}"
            value += "" if t.rate is None else f"/{t.applicable})"
            lines.append(
                f"{t.spec.name.ljust(name_w)}  {t.passed:>4}  {t.failed:>4}  {t.not_applicable:>4}  "
                f"{t.spec.rate_name.ljust(rate_w)}  {value}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "source": self.source,
            "available": self.available,
            "sample": self.sample,
            "seed": self.seed,
            "backend": self.backend,
            "kind": self.kind,
            "model": self.model,
            "articles_scored": len(self.articles),
            "failed": self.failed,
            "cache_hits": self.cache_hits,
            "usage": self.usage.model_dump(),
            "wall_time_s": round(self.wall_time_s, 3),
            "totals": {name: t.to_dict() for name, t in self.totals.items()},
            "articles": [a.to_dict() for a in self.articles],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def write_json(self, path: str | os.PathLike[str]) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    def to_pandas(self, kind: Literal["articles", "totals"] = "articles") -> pandas.DataFrame:
        """A DataFrame: ``"articles"``, a row per article with ``CHECK`` and ``CHECK_reason`` columns; ``"totals"``.

        Raises:
            ImportError: pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_pandas() needs pandas: pip install 'llm_extract[pandas]'") from None
        if kind == "totals":
            return pd.DataFrame([t.to_dict() for t in self.totals.values()])
        if kind != "articles":
            raise ValueError(f"kind must be articles or totals, not {kind!r}")
        rows: list[dict[str, Any]] = []
        for a in self.articles:
            row: dict[str, Any] = {"id": a.id, "doc_id": a.doc_id, "records": a.records, "error": a.error}
            for name, check in a.checks.items():
                row[name] = check.outcome
                row[f"{name}_reason"] = check.reason
            rows.append(row)
        return pd.DataFrame(rows)


def run_dataset(
    dataset: Dataset[A],
    path: str | os.PathLike[str],
    config: Config | str | os.PathLike[str] | None = None,
    backend: str | None = None,
    *,
    sample: int | None = DEFAULT_SAMPLE,
    seed: int = 0,
    cache: bool = True,
    refresh: bool = False,
    progress: bool = True,
) -> DatasetReport:
    """Load ``path``, extract a deterministic sample through the cache, and score every article.

    Rows that annotate the same article share one extraction. A document
    whose extraction fails is scored as a failure (its applicable checks
    fail, with the reason) and the run goes on.

    Args:
        dataset: the dataset object (for example the one :func:`load_dataset` names).
        path: the dataset's file.
        config: a :class:`Config`, a config file, or ``None`` to find one as usual.
        backend: a ``[backends.NAME]``; by default ``default_backend``.
        sample: how many rows to score (``None``: all); see :func:`sample_items`.
        seed: which sample.
        cache: ``False`` neither reads nor writes the cache.
        refresh: skip cache lookups (new results are still stored).
        progress: a progress bar on stderr.

    Raises:
        InputError: the file cannot be read as the dataset.
        ConfigError: unknown backend, missing key.
    """
    cfg = config if isinstance(config, Config) else load_config(config)
    items = dataset.load(path)
    chosen = sample_items(items, sample, seed)
    documents = list({item.document.id: item.document for item in chosen}.values())
    started = time.perf_counter()
    with Extractor(cfg, backend, cache=cache) as ex:
        batch = ex.extract_many(documents, refresh=refresh, progress=progress)
        kind, model, name = ex.backend_config.kind, ex.backend_config.model, ex.backend_name
    results: dict[str, DocumentResult | Failure] = {r.doc_id: r for r in batch.results}
    results.update({f.doc_id: f for f in batch.failures})
    articles: list[ArticleScore] = []
    for item in chosen:
        outcome = results.get(item.document.id) or Failure(item.document.id, "LLMExtractError", "no result")
        score = dataset.score(outcome, item.annotation)
        score.id, score.doc_id = item.id, item.document.id
        articles.append(score)
    return DatasetReport(
        dataset=dataset.name,
        source=Path(path).name,
        checks=list(dataset.checks),
        articles=articles,
        available=len(items),
        sample=sample,
        seed=seed,
        backend=name,
        kind=kind,
        model=model,
        cache_hits=batch.summary.cache_hits,
        usage=batch.summary.usage,
        wall_time_s=time.perf_counter() - started,
    )
