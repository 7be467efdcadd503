"""Corpus runs beyond one machine: the unchanged engine inside Ray Data, resumable.

``extract_many`` with the cache is right for one machine. Past that, the
work goes to an existing distributed engine rather than a home-made one:
Ray Data reads the corpus in blocks, a pool of actors runs the engine, and
the results are written as JSONL or Parquet part files::

    from llm_extract.distributed import run
    summary = run("corpus.jsonl", "out.parquet", config="llm_extract.toml", workers=4)

Why it is built this way:

* **One extractor per worker.** :class:`ExtractWorker` is a callable class
  for ``map_batches``: each actor builds its :class:`~llm_extract.Extractor`
  once from the config file (client, cache, or loaded model) and runs each
  batch through ``extract_many``, so backends, cache, grounding, re-asks and
  retries behave exactly as on one machine. Only the public API is used.
* **One bad article never fails a block.** ``extract_many`` turns a failed
  document into a failure, which becomes a row with its ``error``; records
  are then null (unknown), never an invented empty list.
* **Keys stay in the environment.** What Ray serialises (the actor's
  constructor arguments, the batches) holds a config *path* and a backend
  name, never a key: each worker reads the key from the environment variable
  the config names, as on one machine. On a cluster, set it on the nodes
  (a Kubernetes Secret in the pod's env), not in a ``runtime_env``.
* **Resume from Ray's outputs.** Output is only trustworthy where Ray wrote
  it: with Ray's checkpointing (``ray.data.checkpoint.CheckpointConfig``,
  Ray >= 2.54) the ids of every written block are recorded under
  ``OUT/_checkpoint`` and a rerun reads only documents with no output row.
  Where it cannot apply (a folder of .txt files, an older Ray), the rerun
  skips the ids already in the output files. Documents a worker finished but
  whose block was not yet written are cache hits on the rerun: no request.
* **Ids are refused up front when missing or repeated**: resume is by id, so
  a repeated id would silently lose a document.

Ray is an optional extra (``pip install 'llm_extract[ray]'``); importing this
module does not import it, and ``import llm_extract`` never imports this module.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

# public names only (each from its own module, so the layer contract holds)
from .documents import Document, read_document
from .errors import ConfigError, InputError
from .extract import Extractor

if TYPE_CHECKING:
    import pyarrow as pa
    import ray.data

__all__ = [
    "OUTPUT_COLUMNS",
    "DistributedSummary",
    "ExtractWorker",
    "build_dataset",
    "read_output",
    "run",
]

log = logging.getLogger("llm_extract")

OUTPUT_COLUMNS = ("id", "error", "records", "provenance")
"""One row per document. ``records`` is the task's record lists and ``provenance`` the provenance, each as
JSON text (the same objects as a line of ``llm-extract extract``); both are null when ``error`` is set."""

CHECKPOINT_DIR = "_checkpoint"
"""Ray's checkpoint inside the output folder: the leading ``_`` keeps pyarrow and pandas readers off it."""

Format = Literal["parquet", "jsonl"]


def _import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise ConfigError("--engine ray needs Ray: pip install 'llm_extract[ray]'") from None
    return ray


def _output_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([(name, pa.string()) for name in OUTPUT_COLUMNS])


class ExtractWorker:
    """A Ray Data callable class: one extractor per actor, one output row per input row.

    Input rows carry ``id`` and either ``text`` (and ``published``) or
    ``path`` (a .txt file). Constructor arguments are what Ray serialises to
    start the actor, so they are only a config path, a backend name and cache
    settings: the key is read from the worker's own environment.
    """

    def __init__(
        self,
        config: str | None,
        backend: str | None,
        cache: bool,
        cache_dir: str | None,
        refresh: bool,
    ) -> None:
        self.extractor = Extractor.from_config(config, backend, cache=cache, cache_dir=cache_dir)
        self.refresh = refresh

    def __call__(self, batch: pa.Table) -> pa.Table:
        import pyarrow as pa

        rows = batch.to_pylist()
        docs: list[Document] = []
        errors: dict[str, str] = {}
        for row in rows:
            doc_id = str(row["id"])
            try:
                docs.append(_document(row))
            except InputError as exc:
                errors[doc_id] = f"InputError: {exc}"
        done = self.extractor.extract_many(docs, refresh=self.refresh, progress=False)
        results = {r.doc_id: r for r in done.results}
        for failure in done.failures:
            errors[failure.doc_id] = f"{failure.error}: {failure.reason}"
        out: list[dict[str, str | None]] = []
        for row in rows:
            doc_id = str(row["id"])
            result = results.get(doc_id)
            if result is None:
                reason = errors.get(doc_id, "LLMExtractError: no result and no error (please report this)")
                out.append({"id": doc_id, "error": reason, "records": None, "provenance": None})
                continue
            data = result.to_dict()
            provenance = data.pop("provenance")
            data.pop("doc_id")
            out.append(
                {
                    "id": doc_id,
                    "error": None,
                    "records": json.dumps(data, ensure_ascii=False),
                    "provenance": json.dumps(provenance, ensure_ascii=False),
                }
            )
        return pa.Table.from_pylist(out, schema=_output_schema())

    def __del__(self) -> None:
        extractor = getattr(self, "extractor", None)
        if extractor is not None:
            extractor.close()


def _document(row: dict[str, Any]) -> Document:
    """An input row as a document; a .txt path is read here, on the worker, as ``read_document`` reads it."""
    doc_id = str(row["id"])
    if row.get("path") is not None:
        return read_document(str(row["path"]), doc_id=doc_id)
    text = row.get("text")
    if not isinstance(text, str):
        raise InputError(f"{doc_id}: expected a string 'text'")
    published = row.get("published")
    if isinstance(published, dt.datetime):  # Arrow's JSON reader turns "2022-03-15" into a timestamp
        published = published.date().isoformat()
    return Document(id=doc_id, text=text, published=published)


# -- inputs ---------------------------------------------------------------------------


def _input_kind(path: str) -> Literal["jsonl", "parquet", "txt"]:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: no such file or folder")
    if p.is_file():
        if p.suffix == ".jsonl":
            return "jsonl"
        if p.suffix == ".parquet":
            return "parquet"
        raise InputError(f"{path}: --engine ray reads a .jsonl file, a Parquet dataset or a folder of .txt files")
    names = {f.suffix for f in p.rglob("*") if f.is_file()}
    for kind in ("jsonl", "parquet", "txt"):
        if f".{kind}" in names:
            return kind
    raise InputError(f"{path}: folder holds no .jsonl, .parquet or .txt files")


def _read_input(rt: Any, path: str) -> ray.data.Dataset:
    """The input as a dataset of ``id`` + ``text``/``published`` or ``id`` + ``path``.

    Ray's checkpoint filter sits on a read, so JSONL and Parquet are read by
    Ray; a .txt folder is listed here and each worker reads its own files.
    """
    kind = _input_kind(path)
    ds: ray.data.Dataset
    if kind == "jsonl":
        ds = rt.data.read_json(path, file_extensions=["jsonl"])
    elif kind == "parquet":
        ds = rt.data.read_parquet(path, file_extensions=["parquet"])
    else:
        files = sorted(f for f in Path(path).iterdir() if f.is_file() and f.suffix == ".txt")
        ds = rt.data.from_items([{"id": f.name[: -len(".txt")], "path": str(f)} for f in files])
    return ds


def _input_ids(path: str) -> Iterator[Any]:
    """Every input row's id, read here with pyarrow, one file at a time (a Ray job would cost seconds more)."""
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    kind, p = _input_kind(path), Path(path)
    if kind == "txt":
        yield from (f.name[: -len(".txt")] for f in p.iterdir() if f.is_file() and f.suffix == ".txt")
        return
    files = [p] if p.is_file() else sorted(f for f in p.rglob(f"*.{kind}") if f.is_file())
    for f in files:
        try:
            table = pj.read_json(f) if kind == "jsonl" else pq.read_table(f)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise InputError(f"{f}: cannot be read as {kind} ({str(exc).splitlines()[0]})") from None
        if "id" not in table.column_names:
            raise InputError(f"{f}: every document needs an 'id' (resume and output rows are by id)")
        yield from table.column("id").to_pylist()


def _check_ids(path: str) -> int:
    """Refuse missing or repeated ids before any request: resume is by id. Returns the document count."""
    seen: set[str] = set()
    repeated: list[str] = []
    missing = 0
    for value in _input_ids(path):
        if value is None or str(value) == "":
            missing += 1
            continue
        key = str(value)
        if key in seen:
            repeated.append(key)
        seen.add(key)
    if missing:
        raise InputError(f"{path}: {missing} document(s) have no 'id'; every document needs a unique id")
    if repeated:
        shown = ", ".join(sorted(set(repeated))[:5])
        raise InputError(
            f"{path}: {len(repeated)} repeated id(s) ({shown}); ids must be unique, a repeat would lose a document"
        )
    return len(seen)


# -- outputs ----------------------------------------------------------------------------


def _output_format(out: str) -> Format:
    name = out.rstrip("/")
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".jsonl"):
        return "jsonl"
    raise ConfigError(f"{out}: --out must end in .parquet or .jsonl (a folder of part files in that format)")


def _part_files(out: str, fmt: Format) -> list[Path]:
    p = Path(out)
    if not p.is_dir():
        return []
    suffix = ".parquet" if fmt == "parquet" else ".json"
    return sorted(f for f in p.iterdir() if f.is_file() and f.name.endswith(suffix))


def read_output(out: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The rows of a finished output folder, with ``records`` and ``provenance`` parsed back into objects."""
    out = str(out)
    fmt = _output_format(out)
    for f in _part_files(out, fmt):
        for row in _read_part(f, fmt, columns=None):
            for key in ("records", "provenance"):
                if row.get(key) is not None:
                    row[key] = json.loads(row[key])
            yield row


def _read_part(f: Path, fmt: Format, columns: list[str] | None) -> list[dict[str, Any]]:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return list(pq.read_table(f, columns=columns).to_pylist())
    rows = [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{k: r.get(k) for k in columns} for r in rows] if columns else rows


def _output_ids(out: str, fmt: Format) -> list[str]:
    return [str(r["id"]) for f in _part_files(out, fmt) for r in _read_part(f, fmt, columns=["id"])]


# -- the run ----------------------------------------------------------------------------


@dataclass
class DistributedSummary:
    """What a run found and wrote."""

    documents: int = 0
    """Documents in the input."""
    skipped: int = 0
    """Documents that already had an output row before this run (resume)."""
    rows: int = 0
    """Output rows after this run, earlier runs' included."""
    failed: int = 0
    """Output rows with an ``error``."""
    wall_time_s: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    """``(id, error)`` of failed rows, first 20."""

    def describe(self) -> str:
        return (
            f"llm-extract: {self.rows} of {self.documents} documents have a row, {self.failed} failed; "
            f"{self.skipped} were done before this run; {self.wall_time_s:.1f}s"
        )


def _checkpoint_config(out: str) -> Any:
    """Ray's own resume, when the installed Ray has it (2.54 and later)."""
    try:
        from ray.data.checkpoint import CheckpointConfig
    except ImportError:
        return None
    return CheckpointConfig(
        id_column="id",
        checkpoint_path=str(Path(out).resolve() / CHECKPOINT_DIR),
        # kept after success, so a rerun of a finished job reads nothing
        delete_checkpoint_on_success=False,
    )


def build_dataset(
    inputs: str | os.PathLike[str],
    *,
    config: str | os.PathLike[str] | None = None,
    backend: str | None = None,
    workers: int = 2,
    batch_size: int = 16,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    refresh: bool = False,
    checkpoint: Any = None,
    skip_ids: Sequence[str] = (),
) -> tuple[ray.data.Dataset, int]:
    """The lazy pipeline ``run`` executes: (dataset of output rows, document count in the input).

    Ids are checked first, before Ray reads anything. Exposed so a test can
    inspect exactly what Ray would serialise.
    """
    ray = _import_ray()
    where = str(inputs)
    total = _check_ids(where)
    ctx = ray.data.DataContext.get_current()
    previous = ctx.checkpoint_config if checkpoint is not None else None
    if checkpoint is not None:
        ctx.checkpoint_config = checkpoint  # a dataset keeps a copy of the context it was created in
    try:
        ds = _read_input(ray, where)
    finally:
        if checkpoint is not None:
            ctx.checkpoint_config = previous
    if skip_ids:
        done = set(skip_ids)
        ds = ds.filter(lambda row: str(row["id"]) not in done)
    # A JSONL file is one block; smaller blocks spread it over the actor pool and bound
    # what a crash can lose to the blocks in flight. Streaming: nothing is materialised.
    ds = ds.repartition(target_num_rows_per_block=batch_size)
    ds = ds.map_batches(
        ExtractWorker,
        fn_constructor_kwargs={
            "config": None if config is None else str(Path(config).resolve()),
            "backend": backend,
            "cache": cache,
            "cache_dir": None if cache_dir is None else str(cache_dir),
            "refresh": refresh,
        },
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=workers),
    )
    return ds, total


def run(
    inputs: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    config: str | os.PathLike[str] | None = None,
    backend: str | None = None,
    workers: int = 2,
    batch_size: int = 16,
    ray_address: str | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    refresh: bool = False,
    progress: bool = True,
) -> DistributedSummary:
    """Extract a corpus on Ray Data and write one row per document to ``out``; resumable.

    Args:
        inputs: a .jsonl file or folder of them (``{"id", "text", "published"?}``),
            a Parquet dataset with those columns, or a folder of .txt files (id = file name).
        out: a folder ending in ``.parquet`` or ``.jsonl``, written as part files.
        config: the config file; it must be readable at this path on every node.
        workers: actors, each with one extractor running ``concurrency`` requests.
        batch_size: documents per block (and per checkpoint record).
        progress: Ray Data's progress lines on stderr.
        ray_address: an existing cluster (``"auto"`` or ``"ray://..."``); None starts
            a local Ray for this run and stops it afterwards.

    Raises:
        ConfigError, InputError: before Ray starts any work, one line each.
    """
    t0 = time.monotonic()
    out = str(out)
    fmt = _output_format(out)
    _input_kind(str(inputs))
    # the config is checked here, once, so a bad file or a missing key is one line, not one per worker
    Extractor.from_config(config, backend, cache=False).close()
    ray = _import_ray()
    started = False
    if not ray.is_initialized():
        if ray_address is None:
            # The read, the actor pool and Ray's checkpoint-filter actor each reserve a CPU: with only the
            # machine's cores Ray waits forever for one more. The workers mostly wait on the model server,
            # so a logical oversubscription is right.
            ray.init(num_cpus=max(os.cpu_count() or 1, workers + 2), include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=ray_address, log_to_driver=False)
        started = True
    if not progress:
        ray.data.DataContext.get_current().enable_progress_bars = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
    try:
        return _run(ray, inputs, out, fmt, t0, config, backend, workers, batch_size, cache, cache_dir, refresh)
    finally:
        if started:
            ray.shutdown()


def _run(
    ray: Any,
    inputs: str | os.PathLike[str],
    out: str,
    fmt: Format,
    t0: float,
    config: str | os.PathLike[str] | None,
    backend: str | None,
    workers: int,
    batch_size: int,
    cache: bool,
    cache_dir: str | os.PathLike[str] | None,
    refresh: bool,
) -> DistributedSummary:
    before = _output_ids(out, fmt)
    # Ray's checkpoint filter sits on a Ray read: JSONL and Parquet, not a listed .txt folder
    checkpoint = _checkpoint_config(out) if _input_kind(str(inputs)) != "txt" else None
    ds, total = build_dataset(
        inputs,
        config=config,
        backend=backend,
        workers=workers,
        batch_size=batch_size,
        cache=cache,
        cache_dir=cache_dir,
        refresh=refresh,
        checkpoint=checkpoint,
        skip_ids=() if checkpoint is not None else before,
    )
    if fmt == "parquet":
        ds.write_parquet(out)
    else:
        ds.write_json(out)
    rows = [r for f in _part_files(out, fmt) for r in _read_part(f, fmt, columns=["id", "error"])]
    failed = [(str(r["id"]), str(r["error"])) for r in rows if r["error"] is not None]
    return DistributedSummary(
        documents=total,
        skipped=len(before),
        rows=len(rows),
        failed=len(failed),
        wall_time_s=time.monotonic() - t0,
        failures=failed[:20],
    )
