"""Corpus runs: many documents, concurrently, in order, resumable, with progress.

Documents run concurrently up to the backend's ``concurrency`` (the same
limit also caps requests in flight). Output lines are written in input order
as soon as every earlier document is done, so a killed run loses only what
was in flight; every finished document is also in the cache, so the re-run
skips it and produces the same output.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from tqdm.auto import tqdm

from .documents import Document, iter_documents
from .errors import InputError, LLMExtractError
from .extract import Extractor
from .results import DocumentResult, Usage

__all__ = ["BatchResult", "BatchSummary", "run_batch"]


@dataclass
class Failure:
    doc_id: str
    reason: str
    error: str

    def to_dict(self) -> dict[str, str]:
        return {"doc_id": self.doc_id, "error": self.error, "reason": self.reason}


@dataclass
class BatchSummary:
    """Counts, tokens and cost of one run; ``describe()`` is the stderr summary."""

    documents: int = 0
    succeeded: int = 0
    failed: int = 0
    cache_hits: int = 0
    records: int = 0
    usage: Usage = field(default_factory=Usage)
    wall_time_s: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    per_document: list[dict[str, Any]] = field(default_factory=list)

    def add(self, result: DocumentResult) -> None:
        self.succeeded += 1
        self.records += result.record_count
        p = result.provenance
        if p.cache_hit:
            self.cache_hits += 1
        else:
            self.usage.add(p.usage)
        self.per_document.append(
            {"doc_id": result.doc_id, "cache_hit": p.cache_hit, **p.usage.model_dump(exclude_none=True)}
        )

    def describe(self) -> str:
        u = self.usage
        rate = u.completion_tokens / self.wall_time_s if self.wall_time_s and u.completion_tokens else 0.0
        parts = [
            f"{self.succeeded}/{self.documents} documents",
            f"{self.records} records",
            f"{self.cache_hits} from cache",
            f"{self.failed} failed",
            f"{u.model_calls} model calls",
            f"{u.prompt_tokens}+{u.completion_tokens} tokens",
            f"{self.wall_time_s:.1f}s",
        ]
        if rate:
            parts.append(f"{rate:.1f} generated tok/s")
        if u.cost_usd is not None:
            parts.append(f"${u.cost_usd:.4f}")
        text = "llm-extract: " + ", ".join(parts)
        for f in self.failures:
            text += f"\n  failed {f.doc_id}: {f.reason}"
        return text


@dataclass
class BatchResult:
    """Results and failures of a batch, in input order."""

    results: list[DocumentResult]
    summary: BatchSummary

    def __iter__(self) -> Any:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __repr__(self) -> str:
        s = self.summary
        return f"BatchResult({s.succeeded} documents, {s.records} records, {s.failed} failed)"


def _doc_id_of(error: InputError) -> str:
    return str(error).split(": ", 1)[0]


async def arun_batch(
    extractor: Extractor,
    documents: Iterable[Document | InputError],
    *,
    out: TextIO | None = None,
    refresh: bool = False,
    progress: bool = True,
    errors_path: str | os.PathLike[str] | None = None,
) -> BatchResult:
    """Extract every document; failures are recorded, never fatal to the batch."""
    items = list(documents)
    summary = BatchSummary(documents=len(items))
    results: list[DocumentResult | Failure | None] = [None] * len(items)
    started = time.perf_counter()
    bar = tqdm(total=len(items), unit="doc", disable=not progress, dynamic_ncols=True, leave=True)
    errors_file = open(errors_path, "w", encoding="utf-8") if errors_path else None  # noqa: SIM115
    written = 0
    gate = asyncio.Semaphore(max(1, extractor.backend_config.concurrency))

    def flush() -> None:
        nonlocal written
        while written < len(results) and results[written] is not None:
            item = results[written]
            if isinstance(item, DocumentResult) and out is not None:
                out.write(item.to_json() + "\n")
                out.flush()
            written += 1

    def finish(index: int, item: DocumentResult | Failure) -> None:
        results[index] = item
        if isinstance(item, DocumentResult):
            summary.add(item)
        else:
            summary.failed += 1
            summary.failures.append(item)
            if errors_file is not None:
                errors_file.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
                errors_file.flush()
        flush()
        bar.update(1)
        bar.set_postfix(
            records=summary.records,
            cached=summary.cache_hits,
            failed=summary.failed,
            tokens=summary.usage.total_tokens,
            refresh=False,
        )

    async def one(index: int, item: Document | InputError) -> None:
        if isinstance(item, InputError):
            finish(index, Failure(_doc_id_of(item), str(item), "InputError"))
            return
        async with gate:
            try:
                result = await extractor.aextract_document(item, refresh=refresh)
            except LLMExtractError as exc:
                finish(index, Failure(item.id, str(exc), type(exc).__name__))
                return
        finish(index, result)

    try:
        await asyncio.gather(*(one(i, item) for i, item in enumerate(items)))
    finally:
        bar.close()
        if errors_file is not None:
            errors_file.close()
        summary.wall_time_s = time.perf_counter() - started
        summary.usage = extractor._priced(summary.usage)
    return BatchResult([r for r in results if isinstance(r, DocumentResult)], summary)


def run_batch(
    extractor: Extractor,
    sources: list[str | os.PathLike[str]],
    *,
    out: TextIO | None = None,
    published: str | None = None,
    refresh: bool = False,
    progress: bool = True,
    errors_path: str | os.PathLike[str] | None = None,
) -> BatchSummary:
    """Synchronous batch over files, directories and JSONL files (the CLI's entry)."""
    docs = iter_documents(sources, published=published)
    batch = extractor._run(
        arun_batch(extractor, docs, out=out, refresh=refresh, progress=progress, errors_path=errors_path)
    )
    return batch.summary
