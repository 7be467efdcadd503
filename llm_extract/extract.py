"""The engine: one document in, grounded and validated records out.

Each failure class has exactly one layer that handles it:

* transport faults (timeouts, resets, 429, 5xx): retried by :mod:`llm_extract.calls` with tenacity,
  per request, ``max_attempts`` in all, honouring ``Retry-After``;
* invalid output (schema or grounding): re-asked by instructor with the
  errors fed back, ``max_reasks`` times;
* everything else (400/401/404, refusals, cut-off answers): raised at once.

So a model call costs at most ``(max_reasks + 1) * max_attempts`` requests,
and usually one. Results are cached only after they validated.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Coroutine, Iterable
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TextIO, TypeVar

from pydantic import BaseModel, ValidationError

from .backends import Backend, create_backend
from .batch import BatchResult, Source, arun_batch, as_document, documents_from
from .cache import ResultCache, cache_key, sha256_text
from .calls import Calls, Loop
from .config import Config, load_config
from .documents import Document, parse_published, split_chunks
from .errors import ConfigError, DeadlineExceeded, ExtractionError, InputError
from .fixtures import with_example
from .grounding import NUMBER_REQUOTED, NUMBER_UNKNOWN, SALVAGE_VERSION, SPANS_VERSION, SourceText, grounding
from .merge import merge_parts
from .results import DocumentResult, Provenance, Usage
from .strategies import Job, Strategy, create_strategy
from .strategies.complete import COMPLETE
from .task import Task, load_task

__all__ = ["Extractor"]

log = logging.getLogger("llm_extract")

T = TypeVar("T")

_GROUNDED_MAX = 100_000
"""Cache entries an extractor remembers having grounded (64-character digests: a few MB at most)."""

try:
    __version__ = version("llm_extract")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"


LEASE_POLL_S = 0.25
"""How often a run waiting for another run's document looks again."""


async def _all_or_none(coros: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    """``asyncio.gather``, except that the first failure cancels the others.

    Plain ``gather`` lets sibling chunks run on (and retry) after one chunk
    failed the document, sending requests whose answers nobody will use.
    """
    tasks = [asyncio.ensure_future(coro) for coro in coros]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()  # no-op for finished ones
        await asyncio.gather(*tasks, return_exceptions=True)


class Extractor:
    """Extract a task's records from articles with one configured backend.

    Build it with :meth:`from_config`; call :meth:`extract` from scripts and
    notebooks or ``await`` :meth:`aextract` from async code. One extractor
    reuses its HTTP client (or loaded model) across documents.
    """

    def __init__(
        self,
        config: Config | None = None,
        backend: str | None = None,
        *,
        task: Task | str | None = None,
        cache: bool = True,
    ) -> None:
        """An extractor for ``task`` with the backend ``[backends.NAME]`` of ``config``.

        Args:
            config: the settings; by default found as :func:`~llm_extract.config.load_config` does.
            backend: a ``[backends.NAME]``; by default ``default_backend``.
            task: a :class:`~llm_extract.task.Task` or its spec (``"module:ATTR"``);
                by default the config's ``[task]``.
            cache: ``False`` neither reads nor writes the cache.
        """
        config = config if config is not None else load_config()
        self.config = config
        self.backend_name, self.backend_config = config.backend(backend)
        if isinstance(task, str):
            task = load_task(task)
        self.task = task if task is not None else with_example(Task.from_config(config.task), config.task.example)
        try:
            self.cache = ResultCache(config.cache.resolved_dir()) if cache and config.cache.enabled else None
        except ConfigError as exc:  # name the config file, as every other config error does
            raise ConfigError(f"{config.where}: {exc}") from None
        # The [cache] dir reaches the backend: the embedded model's weights are assembled in it.
        self.backend: Backend = create_backend(self.backend_name, self.backend_config, cache_dir=config.cache.dir)
        # How a document becomes model calls: the [backends.NAME] strategy, or the kind's default.
        self.strategy: Strategy = create_strategy(
            self.backend_config.default_strategy(), f"{config.where}: backends.{self.backend_name}.strategy"
        )
        self._calls = Calls(self.backend_name, self.backend_config, self.backend)
        self._loop: Loop | None = None
        self._lock = threading.Lock()
        self._grounded: dict[str, None] = {}  # digests of cache entries this process grounded (ordered set)

    @classmethod
    def from_config(
        cls,
        path: str | os.PathLike[str] | None = None,
        backend: str | None = None,
        *,
        cache: bool = True,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> Extractor:
        """Load the config (see :func:`llm_extract.config.load_config`) and build an extractor.

        Args:
            path: config file; by default found as the config docs describe.
            backend: a ``[backends.NAME]``; by default ``default_backend``.
            cache: ``False`` neither reads nor writes the cache.
            cache_dir: overrides ``[cache] dir``.
        """
        return cls(load_config(path, cache_dir=cache_dir), backend, cache=cache)

    def __repr__(self) -> str:
        return (
            f"Extractor(backend={self.backend_name!r}, kind={self.backend_config.kind!r}, "
            f"model={self.backend_config.model!r}, task={self.task.name!r})"
        )

    # -- public API -------------------------------------------------------------

    def extract(
        self,
        source: str | os.PathLike[str] | Document,
        *,
        doc_id: str | None = None,
        published: dt.date | str | None = None,
        refresh: bool = False,
    ) -> DocumentResult:
        """Extract records from article text, a file path or a :class:`Document`.

        A ``str`` is article text, except that a one-line string naming an
        existing file is read as that file (logged at INFO): an article is
        never a bare file name, and treating one as text would quietly give
        no records. A ``pathlib.Path`` is always a file.

        Args:
            doc_id: id for the result; defaults to the file name or a text hash.
            published: publication date, used to resolve "this month".
            refresh: skip the cache lookup (the new result is still stored).

        Raises:
            InputError, ConfigError, BackendError, ExtractionError: one line each.
        """
        doc = self.document(source, doc_id=doc_id, published=published)
        if not refresh and len(doc.text) <= self.backend_config.max_document_chars:
            # A cache hit needs no event loop: answering it on this thread saves two thread hand-offs.
            hit = self.cached(doc)
            if hit is not None:
                return hit
        return self.run(self.aextract_document(doc, refresh=True))

    async def aextract(
        self,
        source: str | os.PathLike[str] | Document,
        *,
        doc_id: str | None = None,
        published: dt.date | str | None = None,
        refresh: bool = False,
    ) -> DocumentResult:
        """Async :meth:`extract`."""
        return await self.aextract_document(self.document(source, doc_id=doc_id, published=published), refresh=refresh)

    def extract_many(
        self,
        sources: Source | Iterable[Source],
        *,
        published: dt.date | str | None = None,
        refresh: bool = False,
        progress: bool = True,
        out: TextIO | str | os.PathLike[str] | None = None,
        errors_path: str | os.PathLike[str] | None = None,
    ) -> BatchResult:
        """Extract a corpus concurrently, in order, with a progress bar; failures never stop it.

        Args:
            sources: :class:`Document` objects, paths (a text file, a directory
                of ``*.txt`` or a ``.jsonl`` of ``{"id", "text", "published"}``)
                or article texts, or one path.
            published: publication date of text files and texts (JSONL lines carry their own).
            refresh: skip cache lookups (results are still stored).
            progress: a ``tqdm.auto`` bar on stderr (a widget in notebooks).
            out: also write each result as a JSON line here, in input order: an open
                text file, or a path (created or replaced, like ``errors_path``).
            errors_path: write failed documents (id, error, reason) as JSON lines here.

        Returns:
            A :class:`~llm_extract.batch.BatchResult`: the results in input
            order, ``failures`` and a ``summary`` with tokens and cost.
        """
        return self.run(
            self.aextract_many(
                sources, published=published, refresh=refresh, progress=progress, out=out, errors_path=errors_path
            )
        )

    async def aextract_many(
        self,
        sources: Source | Iterable[Source],
        *,
        published: dt.date | str | None = None,
        refresh: bool = False,
        progress: bool = True,
        out: TextIO | str | os.PathLike[str] | None = None,
        errors_path: str | os.PathLike[str] | None = None,
    ) -> BatchResult:
        """Async :meth:`extract_many`."""
        docs = list(documents_from(sources, published=parse_published(published)))
        if isinstance(out, (str, os.PathLike)):
            with open(out, "w", encoding="utf-8") as file:
                return await arun_batch(
                    self, docs, out=file, refresh=refresh, progress=progress, errors_path=errors_path
                )
        return await arun_batch(self, docs, out=out, refresh=refresh, progress=progress, errors_path=errors_path)

    def close(self) -> None:
        """Release the HTTP client or model and the background loop."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            loop.run(self.backend.aclose())
            loop.close()
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- documents --------------------------------------------------------------

    @staticmethod
    def document(
        source: str | os.PathLike[str] | Document,
        *,
        doc_id: str | None = None,
        published: dt.date | str | None = None,
    ) -> Document:
        """Normalise what a user passes (text, path, Document) into a :class:`Document`."""
        return as_document(source, doc_id=doc_id, published=published)

    def cache_key(self, doc: Document) -> str:
        """Everything that changes the answer, and nothing that does not (the key, dict order)."""
        cfg = self.backend_config
        return cache_key(
            {
                "backend": self.backend.identity(),
                "mode": cfg.default_mode(),
                "sampling": cfg.sampling(),
                "chunking": [cfg.chunk_chars, cfg.chunk_overlap],
                "strategy": self.strategy.identity() | ({"repairs": True} if cfg.repairs else {}),
                "max_reasks": cfg.max_reasks,
                "salvage": SALVAGE_VERSION,
                "task": self.task.name,
                "merge": {name: list(keys) for name, keys in self.task.merge_keys.items()},
                "prompt": self.task.prompt_sha256_for(cfg.compact_prompt),
                "schema": self.task.schema_sha256,
                "lexicon": self.task.lexicon_sha256,
                "text": sha256_text(doc.text),
                "doc_id": doc.id,
                "published": doc.published,
            }
            # Only for a task that names wanted fields, so other tasks' cached answers stay valid.
            | (
                {
                    "wanted": {
                        "fields": dict(self.task.wanted),
                        "prompt": sha256_text(COMPLETE)[:16],
                        "after": "fills",
                        "spans": SPANS_VERSION,
                    }
                }
                if self.task.wanted
                else {}
            )
        )

    def cached(self, doc: Document, source: SourceText | None = None) -> DocumentResult | None:
        """The cached result for ``doc``, or ``None``; an entry that no longer validates is a miss."""
        if self.cache is None:
            return None
        key = self.cache_key(doc)
        text = self.cache.get(key)
        if text is None:
            return None
        # Grounding a stored entry again (every quote, number, name and date against the article)
        # is most of a hit's time. Its verdict depends only on the entry's bytes under this key
        # (the key holds the text, publication date and task), so bytes this process has already
        # grounded are only parsed; changed bytes, or another process, are grounded again.
        digest = hashlib.sha256(f"{key}\n{text}".encode("utf-8", "surrogatepass")).hexdigest()
        try:
            if digest in self._grounded:
                result = DocumentResult.from_dict(json.loads(text), self.task.schema, doc.text)
            else:
                result = self._read(doc, source or SourceText(doc.text), text)
                # An entry whose quotes state a count the model left null comes back changed:
                # only bytes that read as themselves may be parsed without grounding next time.
                if result.to_json() == text:
                    self._grounded[digest] = None
                    if len(self._grounded) > _GROUNDED_MAX:
                        del self._grounded[next(iter(self._grounded))]
        except (ValueError, KeyError, TypeError, AttributeError, ValidationError) as exc:  # Attribute: not a dict
            log.warning("%s: cached result no longer validates, extracting again (%s)", doc.id, type(exc).__name__)
            return None
        result.provenance.cache_hit = True
        # where the article came from is not part of the answer (nor of the key): this input's says
        result.provenance.source, result.provenance.url = doc.source, doc.url
        return result

    async def aextract_document(
        self, doc: Document, *, refresh: bool = False, usage: Usage | None = None
    ) -> DocumentResult:
        """Extract one :class:`Document`: cache, chunks, model calls, merge, store.

        Args:
            refresh: skip the cache lookup (the new result is still stored).
            usage: add tokens and calls to this object as they happen, so a
                caller (a batch) can count what a document that fails spent.
        """
        cfg = self.backend_config
        if len(doc.text) > cfg.max_document_chars:
            raise InputError(
                f"{doc.id}: {len(doc.text):,} characters is over max_document_chars={cfg.max_document_chars:,} "
                f"of backend {self.backend_name!r}; raise it in [backends.{self.backend_name}] to process it in chunks"
            )
        source = SourceText(doc.text)
        if not refresh:
            hit = self.cached(doc, source)
            if hit is not None:
                return hit
        usage = usage if usage is not None else Usage()
        if self.cache is None:
            return await self._extract_uncached(doc, source, usage)
        key = self.cache_key(doc)
        hit = await self._lease(doc, source, key, refresh)
        if hit is not None:
            return hit
        try:
            return await self._extract_uncached(doc, source, usage)
        finally:
            self.cache.release(key)

    async def _lease(self, doc: Document, source: SourceText, key: str, refresh: bool) -> DocumentResult | None:
        """Hold the document's lease in the cache, waiting while another process holds it.

        Two runs on one cache would otherwise ask the model for every
        document twice. The lease expires after the deadline (and a minute),
        so a crashed holder delays the work, never loses it. Returns the
        result the other process stored meanwhile, if any (``None`` when
        this process is to extract; it then holds the lease).
        """
        assert self.cache is not None
        seconds = self.backend_config.deadline + 60.0
        while not self.cache.claim(key, seconds):
            await asyncio.sleep(LEASE_POLL_S)
        if refresh:
            return None
        hit = self.cached(doc, source)  # finished by the holder we waited for, or just before we asked
        if hit is not None:
            self.cache.release(key)
        return hit

    async def _extract_uncached(self, doc: Document, source: SourceText, usage: Usage) -> DocumentResult:
        cfg = self.backend_config
        started = time.perf_counter()
        warnings: list[str] = []
        spans = split_chunks(doc.text, cfg.chunk_chars, cfg.chunk_overlap)
        text_sha256 = sha256_text(doc.text)
        try:
            async with asyncio.timeout(cfg.deadline):
                sent: dict[str, Any] = {}  # requests sent for this document: none is sent twice
                document = f"{doc.id} {text_sha256[:16]}"  # for a backend that keeps state between calls
                parts = await _all_or_none(
                    self._extract_span(doc, source, span, usage, warnings, sent, document) for span in spans
                )
        except TimeoutError:
            raise DeadlineExceeded(
                f"{doc.id}: no result within deadline={cfg.deadline:g}s of backend {self.backend_name!r}"
            ) from None
        records = merge_parts(parts, self.task.list_fields, self.task.schema, self.task.merge_keys)
        provenance = Provenance(
            doc_id=doc.id,
            text_sha256=text_sha256,
            published=doc.published,
            source=doc.source,
            url=doc.url,
            backend=self.backend_name,
            backend_kind=cfg.kind,
            model=cfg.model,
            mode=cfg.default_mode(),
            task=self.task.name,
            prompt_sha256=self.task.prompt_sha256_for(cfg.compact_prompt),
            schema_sha256=self.task.schema_sha256,
            usage=self.priced(usage),
            attempts=usage.model_calls,
            chunks=len(spans),
            wall_time_s=round(time.perf_counter() - started, 3),
            warnings=warnings,
            llm_extract_version=__version__,
        )
        result = DocumentResult(doc_id=doc.id, records=records, provenance=provenance, text=doc.text)
        stored = result.to_json()
        try:
            read = self._read(doc, source, stored)
        except ValidationError as exc:
            # Each chunk's answer validated, yet together they can break a rule of the whole document
            # (a list's max_length). Nothing is cached: the same chunks would break it again on every read.
            errors = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
            raise ExtractionError(
                f"{doc.id}: the records of its {len(spans)} chunks together do not fit the schema "
                f"({errors[0]}); raise that list's max_length, or chunk_chars",
                attempts=usage.model_calls,
                errors=errors,
            ) from None
        if self.cache is not None:
            self.cache.set(self.cache_key(doc), stored)
        for warning in read.provenance.warnings[len(warnings) :]:  # dropped on reading: said once, when extracted
            log.warning("%s: %s", doc.id, warning)
        return read

    def _read(self, doc: Document, source: SourceText, stored: str) -> DocumentResult:
        """A stored answer as the user gets it: grounded again, with what its own words state filled in.

        The cache holds what the model answered; values the schema reads from a
        record's own words (``model_answer``: counts from quotes, in the conflict
        schema also dates from date words) are derived on every read, so a better
        reader never needs the model again and never meets a value an older one wrote.
        Records a schema drops, and numbers it makes unknown, on reading are named in ``provenance.warnings``.
        """
        with grounding(source, lexicon=self.task.lexicon, published=doc.published, model_answer=True) as ctx:
            result = DocumentResult.from_dict(json.loads(stored), self.task.schema, doc.text)
        # Records the schema drops and numbers it makes unknown on reading (their quotes do not support
        # them) are news to the user; values read from a record's own words are not.
        news = [w for w in ctx["warnings"] if w.startswith("dropped ") or w.endswith((NUMBER_UNKNOWN, NUMBER_REQUOTED))]
        result.provenance.warnings.extend(w for w in news if w not in result.provenance.warnings)
        return result

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on this extractor's own event loop thread and wait for its result.

        The synchronous API (``extract``, batches, evaluation) goes through
        here, so it works where a loop already runs (notebooks); the loop is
        started on first use and stopped by :meth:`close`.
        """
        with self._lock:
            if self._loop is None:
                self._loop = Loop()
            loop = self._loop
        return loop.run(coro)

    def priced(self, usage: Usage) -> Usage:
        """Set ``usage.cost_usd`` from the backend's configured prices (left as is without prices); returns it."""
        cfg = self.backend_config
        if cfg.price_prompt_per_mtok is not None or cfg.price_completion_per_mtok is not None:
            usage.cost_usd = round(
                usage.prompt_tokens * (cfg.price_prompt_per_mtok or 0.0) / 1e6
                + usage.completion_tokens * (cfg.price_completion_per_mtok or 0.0) / 1e6,
                6,
            )
        return usage

    # Old private names, kept so code written against them keeps working.
    _run = run
    _priced = priced

    # -- internals --------------------------------------------------------------

    async def _extract_span(
        self,
        doc: Document,
        source: SourceText,
        span: tuple[int, int],
        usage: Usage,
        warnings: list[str],
        sent: dict[str, Any],
        document_key: str,
    ) -> BaseModel:
        job = Job(
            task=self.task,
            doc=doc,
            source=source,
            span=span,
            backend_name=self.backend_name,
            config=self.backend_config,
            calls=self._calls,
            secrets=self.backend.secrets,
            usage=usage,
            warnings=warnings,
            sent=sent,
            document_key=document_key,
        )
        return await self.strategy.extract(job)
