"""Corpus runs: many documents, concurrently, in order, resumable, with progress.

A batch keeps the backend busy without flooding it: the engine caps the
requests in flight at the backend's ``concurrency``, chunks included, and
twice that many workers take documents in input order, so a request is ready
whenever a slot frees (one worker for the embedded model, whose documents
run one at a time). Around that:

* **Order.** A result is written as soon as it and every earlier document
  are done, one JSON line each, flushed; a killed run loses only what was
  in flight.
* **Resume.** Every finished document is in the cache before its line is
  written, so running the same batch again answers those from the cache
  (no request) and extracts only the rest. The output is the same as an
  uninterrupted run's, except the per-run fields ``provenance.cache_hit``
  and ``provenance.wall_time_s``.
* **Isolation.** A document that cannot be read, never validates or meets a
  server error becomes a :class:`Failure` (id, error class, reason) in the
  errors file and the summary; the batch goes on.
* **Cost.** :class:`BatchSummary` counts what *this run* spent (cache hits
  spend nothing; failed documents count the calls they made) per document
  and in total, priced when the backend config gives prices.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TextIO, TypeVar

from tqdm.auto import tqdm

from .config import BackendConfig
from .documents import Document, unique_ids
from .errors import InputError, LLMExtractError
from .results import VIEWS, DocumentResult, Usage
from .sources import Source, as_document, documents_from

if TYPE_CHECKING:
    from collections.abc import Coroutine

    import pandas as pd

__all__ = [
    "BatchInterrupted",
    "BatchResult",
    "BatchSummary",
    "DocumentReport",
    "Engine",
    "Failure",
    "Source",
    "arun_batch",
    "as_document",
    "documents_from",
    "run_batch",
]

log = logging.getLogger("llm_extract")


T = TypeVar("T")


class Engine(Protocol):
    """What a batch needs of the engine (:class:`~llm_extract.extract.Extractor` is one).

    A protocol, not an import: the extractor sits above the batch (its
    ``extract_many`` runs one), so the batch names only the methods it calls.
    """

    backend_config: BackendConfig

    def cached(self, doc: Document) -> DocumentResult | None: ...

    async def aextract_document(
        self, doc: Document, *, refresh: bool = False, usage: Usage | None = None
    ) -> DocumentResult: ...

    def priced(self, usage: Usage) -> Usage: ...

    def run(self, coro: Coroutine[Any, Any, T]) -> T: ...


@dataclass
class Failure:
    """A document the batch could not extract."""

    doc_id: str
    """The document id, or for unreadable input the file (``path`` or ``path:line``)."""
    error: str
    """The error class, e.g. ``ExtractionError``."""
    reason: str
    """The error's own one-line message (it names the document or file, then why)."""

    def to_dict(self) -> dict[str, str]:
        return {"doc_id": self.doc_id, "error": self.error, "reason": self.reason}


@dataclass
class DocumentReport:
    """One document's line in the summary: what happened and what it cost this run."""

    doc_id: str
    status: Literal["extracted", "cached", "failed"]
    records: int = 0
    usage: Usage = field(default_factory=Usage)
    wall_time_s: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"doc_id": self.doc_id, "status": self.status, "records": self.records}
        data.update(self.usage.model_dump(exclude_none=True))
        data["wall_time_s"] = round(self.wall_time_s, 3)
        if self.error is not None:
            data["error"] = self.error
        return data


@dataclass
class BatchSummary:
    """Counts, tokens and cost of one run.

    ``usage`` is what this run spent: extracted documents and the calls
    failed ones made; cache hits cost nothing. ``describe()`` is the stderr
    summary; ``to_dict()`` is the ``--summary`` JSON.
    """

    documents: int = 0
    succeeded: int = 0
    failed: int = 0
    cache_hits: int = 0
    records: int = 0
    usage: Usage = field(default_factory=Usage)
    wall_time_s: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    per_document: list[DocumentReport] = field(default_factory=list)
    """In input order."""

    @property
    def extracted(self) -> int:
        """Documents that went to the model this run (succeeded minus cache hits)."""
        return self.succeeded - self.cache_hits

    def describe(self) -> str:
        u = self.usage
        parts = [
            f"{self.succeeded}/{self.documents} documents",
            f"{self.records} records",
            f"{self.cache_hits} from cache",
            f"{self.failed} failed",
            f"{u.model_calls} model calls",
            f"{u.prompt_tokens:,} prompt + {u.completion_tokens:,} completion tokens",
        ]
        if u.cost_usd is not None:
            parts.append(f"${u.cost_usd:.4f}")
        parts.append(f"{self.wall_time_s:.1f}s")
        text = "llm-extract: " + ", ".join(parts)
        for f in self.failures:
            text += f"\n  failed {f.doc_id}: {f.reason}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "succeeded": self.succeeded,
            "extracted": self.extracted,
            "cache_hits": self.cache_hits,
            "failed": self.failed,
            "records": self.records,
            "usage": self.usage.model_dump(exclude_none=True),
            "wall_time_s": round(self.wall_time_s, 3),
            "failures": [f.to_dict() for f in self.failures],
            "per_document": [d.to_dict() for d in self.per_document],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)


@dataclass
class BatchResult:
    """The results of a batch, in input order, with its failures and summary.

    Iterating yields the :class:`~llm_extract.results.DocumentResult` of every
    document that succeeded; ``failures`` holds the rest.
    """

    results: list[DocumentResult]
    summary: BatchSummary

    @property
    def failures(self) -> list[Failure]:
        return self.summary.failures

    def __iter__(self) -> Iterator[DocumentResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, index: int) -> DocumentResult:
        return self.results[index]

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"BatchResult({s.succeeded}/{s.documents} documents, {s.records} records, "
            f"{s.cache_hits} from cache, {s.failed} failed)"
        )

    def _repr_html_(self) -> str:
        """Jupyter's HTML: summary, a row per document, failures, each document's highlights."""
        return str(VIEWS.get("batch_html")(self))

    def to_pandas(
        self, record_type: str | None = None, *, columns: str | None = None, acled: bool = False
    ) -> pd.DataFrame:
        """One row per record of every document; arguments as :meth:`DocumentResult.to_pandas`."""
        frame: pd.DataFrame = VIEWS.get("frame")(self.results, record_type, "acled" if acled else columns)
        return frame

    def to_jsonl(self, path: str | os.PathLike[str] | None = None) -> str:
        """The results as JSON lines (the ``extract`` output), returned and, with ``path``, written there."""
        text = "".join(r.to_json() + "\n" for r in self.results)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_html(self, *, full_page: bool = False) -> str:
        """The notebook HTML (summary, documents, failures, highlights); ``full_page`` for a file or browser."""
        return str(VIEWS.get("page" if full_page else "batch_html")(self))


class BatchInterrupted(KeyboardInterrupt):
    """A batch stopped by Ctrl-C or SIGTERM, carrying the summary of what finished.

    A ``KeyboardInterrupt``, so callers that stop on one still do; the
    command line uses ``summary`` to write ``--summary`` and say what is done.
    """

    def __init__(self, summary: BatchSummary) -> None:
        super().__init__("batch interrupted")
        self.summary = summary


def _input_id(error: InputError) -> str:
    """Input errors start with where the input was: ``path``, ``path:line`` or a document id."""
    return str(error).split(": ", 1)[0]


def _interactive(stream: Any) -> bool:
    """A terminal, or a Jupyter kernel's stream (where ``tqdm.auto`` draws a widget)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) or type(stream).__module__.startswith("ipykernel")


class _Progress:
    """Progress on stderr: documents (with ETA), records, cache hits, failures, tokens.

    A terminal or notebook gets the ``tqdm.auto`` bar; anything else (a log
    file, a pipe, CI) gets one plain line per finished document in the same
    words, since carriage-return frames turn a log into one unreadable line.
    """

    def __init__(self, total: int, enabled: bool) -> None:
        self._plain = enabled and not _interactive(sys.stderr)
        self._bar = tqdm(
            total=total, unit="doc", desc="extract", disable=not enabled or self._plain, dynamic_ncols=True
        )
        self._total = total
        self._done = 0
        self._started = time.perf_counter()

    def update(self, summary: BatchSummary) -> None:
        counts = {
            "records": summary.records,
            "cached": summary.cache_hits,
            "failed": summary.failed,
            "tokens": summary.usage.total_tokens,
        }
        self._done += 1
        if self._plain:
            line = tqdm.format_meter(
                self._done,
                self._total,
                time.perf_counter() - self._started,
                prefix="extract",
                unit="doc",
                bar_format="{desc}: {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]",
                postfix=", ".join(f"{k}={v}" for k, v in counts.items()),
            )
            print(line, file=sys.stderr, flush=True)
            return
        self._bar.set_postfix(counts, refresh=False)  # a dict keeps this order; keywords are sorted
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


async def arun_batch(
    extractor: Engine,
    documents: Iterable[Document | InputError],
    *,
    out: TextIO | None = None,
    refresh: bool = False,
    progress: bool = True,
    errors_path: str | os.PathLike[str] | None = None,
    keep_results: bool = True,
    summary: BatchSummary | None = None,
) -> BatchResult:
    """Extract every document; a failure is recorded, never fatal to the batch.

    Args:
        extractor: the engine and its backend; its ``concurrency`` caps the
            requests in flight; its ``documents_in_progress()`` how many documents are worked on at once.
        documents: in output order; an ``InputError`` item is a document
            that could not be read, reported as a failure.
        out: JSON lines are written here in input order as documents finish.
        refresh: skip cache lookups (results are still stored).
        progress: the ``tqdm.auto`` bar on stderr.
        errors_path: failed documents as JSON lines (``doc_id``, ``error``, ``reason``).
        keep_results: ``False`` drops results once written (for long CLI runs).
        summary: filled in as documents finish, so a caller still has it when the run is interrupted.
    """
    items = list(unique_ids(documents))  # one id, one output line and one cache entry
    summary = summary if summary is not None else BatchSummary()
    summary.documents = len(items)
    done: list[DocumentResult | Failure | None] = [None] * len(items)
    reports: list[DocumentReport | None] = [None] * len(items)
    kept: list[DocumentResult] = []
    started = time.perf_counter()
    bar = _Progress(len(items), progress)
    errors_file = open(errors_path, "w", encoding="utf-8") if errors_path else None  # noqa: SIM115
    written = 0
    queue: Iterator[int] = iter(range(len(items)))

    def flush() -> None:
        nonlocal written
        while written < len(done) and done[written] is not None:
            item = done[written]
            if isinstance(item, DocumentResult):
                if out is not None:
                    out.write(item.to_json() + "\n")
                    out.flush()
                if keep_results:
                    kept.append(item)
            done[written] = None if not keep_results else item
            written += 1

    def finish(index: int, item: DocumentResult | Failure, report: DocumentReport) -> None:
        reports[index] = report
        if isinstance(item, DocumentResult):
            summary.succeeded += 1
            summary.records += item.record_count
            if item.provenance.cache_hit:
                summary.cache_hits += 1
        else:
            summary.failed += 1
            summary.failures.append(item)
            if errors_file is not None:
                errors_file.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
                errors_file.flush()
        summary.usage.add(report.usage)
        done[index] = item
        flush()
        bar.update(summary)

    def fail(index: int, doc_id: str, exc: Exception, usage: Usage, t0: float, reason: str | None = None) -> None:
        failure = Failure(doc_id, type(exc).__name__, " ".join((reason or str(exc)).split())[:1000])
        report = DocumentReport(doc_id, "failed", usage=extractor.priced(usage), error=failure.reason)
        report.wall_time_s = time.perf_counter() - t0
        finish(index, failure, report)

    async def one(index: int) -> None:
        item = items[index]
        t0 = time.perf_counter()
        if isinstance(item, InputError):
            fail(index, _input_id(item), item, Usage(), t0)
            return
        usage = Usage()
        try:
            # Cache hits are answered here, so they never wait behind extractions.
            hit = None if refresh else extractor.cached(item)
            if hit is not None:
                report = DocumentReport(item.id, "cached", hit.record_count, extractor.priced(Usage()))
                report.wall_time_s = time.perf_counter() - t0
                finish(index, hit, report)
                return
            # refresh as asked: the engine looks again once it holds the document's lease,
            # so a result another process stored meanwhile is not extracted twice
            result = await extractor.aextract_document(item, refresh=refresh, usage=usage)
        except LLMExtractError as exc:
            fail(index, item.id, exc, usage, t0)
            return
        except Exception as exc:  # a bug must not cost the rest of the corpus
            log.error("%s: unexpected %s", item.id, type(exc).__name__, exc_info=True)
            fail(index, item.id, exc, usage, t0, f"{item.id}: unexpected {type(exc).__name__}: {exc}")
            return
        status: Literal["extracted", "cached"] = "cached" if result.provenance.cache_hit else "extracted"
        report = DocumentReport(item.id, status, result.record_count, usage, result.provenance.wall_time_s)
        finish(index, result, report)

    async def worker() -> None:
        for index in queue:  # shared iterator: each index is taken by exactly one worker
            await one(index)

    # Server backends: twice as many documents in progress as requests allowed in flight, so while
    # one document is parsed and grounded, the next one's request already waits for the freed slot.
    n_workers = max(1, min(extractor.backend_config.documents_in_progress(), len(items)))
    workers = [asyncio.ensure_future(worker()) for _ in range(n_workers)]
    try:
        await asyncio.gather(*workers)
    except BaseException:  # cancelled, or the output cannot be written: stop every worker first
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    finally:
        bar.close()
        if errors_file is not None:
            errors_file.close()
        summary.wall_time_s = time.perf_counter() - started
        summary.usage.cost_usd = None
        summary.usage = extractor.priced(summary.usage)
        summary.per_document = [r for r in reports if r is not None]
    return BatchResult(kept, summary)


def run_batch(
    extractor: Engine,
    sources: Iterable[str | os.PathLike[str]],
    *,
    out: TextIO | None = None,
    published: str | None = None,
    refresh: bool = False,
    progress: bool = True,
    errors_path: str | os.PathLike[str] | None = None,
    text_column: str | None = None,
    id_column: str | None = None,
    follow_symlinks: bool = False,
) -> BatchSummary:
    """The CLI's entry: files, directories, JSONL and CSV files (strings are paths here), synchronously."""
    docs = documents_from(
        list(sources),
        published=published,
        text_is_path=True,
        text_column=text_column,
        id_column=id_column,
        follow_symlinks=follow_symlinks,
    )
    summary = BatchSummary()
    try:
        batch = extractor.run(
            arun_batch(
                extractor,
                docs,
                out=out,
                refresh=refresh,
                progress=progress,
                errors_path=errors_path,
                keep_results=False,
                summary=summary,
            )
        )
    except KeyboardInterrupt:
        raise BatchInterrupted(summary) from None
    return batch.summary
