"""``llm-extract``: a thin command line over the library.

Data goes to stdout (or ``--out``), one JSON object per line; logs, progress
and the summary go to stderr. Failure is a non-zero exit with one line that
names the problem.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .documents import parse_published
from .errors import ConfigError, InputError, LLMExtractError
from .extract import Extractor, __version__

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _date(value: str) -> str:
    try:
        return parse_published(value) or ""
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $LLM_EXTRACT_CONFIG, ./llm_extract.toml, user config dir)",
    )
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr (-vv for debug)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary on stderr")


def build_parser() -> argparse.ArgumentParser:
    from .commands import add_commands
    from .eval_command import add_eval_command
    from .export import FORMATS

    parser = argparse.ArgumentParser(
        prog="llm-extract", description="Grounded, evidence-checked records from news articles."
    )
    parser.add_argument("--version", action="version", version=f"llm-extract {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    ex = sub.add_parser("extract", help="extract records from files, directories or JSONL")
    ex.add_argument(
        "inputs",
        nargs="+",
        metavar="FILE",
        help="text file, directory of .txt files, .jsonl of {id, text, published, source, url}, "
        ".csv with --text-column, or - for stdin",
    )
    _common(ex)
    ex.add_argument("--backend", metavar="NAME", help="a [backends.NAME] from the config (default: default_backend)")
    ex.add_argument(
        "--published",
        type=_date,
        metavar="DATE",
        help="publication date of the input files: YYYY-MM-DD, YYYY-MM or YYYY",
    )
    ex.add_argument("--out", metavar="FILE", help="write JSONL here instead of stdout")
    ex.add_argument("--errors", metavar="FILE", help="write failed documents (id, reason) as JSONL here")
    ex.add_argument(
        "--summary",
        metavar="FILE",
        help="write the run's summary as JSON here: counts, failures, tokens, calls and cost, per document and total",
    )
    ex.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    ex.add_argument("--refresh", action="store_true", help="ignore cached results (new ones are still stored)")
    ex.add_argument(
        "--format",
        choices=list(FORMATS),
        help="output format (default: from the --out suffix, else jsonl); csv/parquet/geojson need --out",
    )
    ex.add_argument("--acled", action="store_true", help="write ACLED's columns for the incidents (needs --out)")
    ex.add_argument("--text-column", metavar="NAME", help="read .csv inputs as one article per row, text in NAME")
    ex.add_argument("--id-column", metavar="NAME", help="with --text-column: the document ids are in NAME")
    ex.add_argument(
        "--dry-run",
        action="store_true",
        help="send nothing: print documents, chunks, estimated tokens and cost where prices are configured",
    )
    ex.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="in a directory input, also read links to files outside it (skipped and named otherwise)",
    )
    _ray_options(ex)
    add_eval_command(sub, _common)
    add_commands(sub, _common)
    return parser


def _ray_options(ex: argparse.ArgumentParser) -> None:
    """``--engine ray``: the same extraction on Ray Data (the ``[ray]`` extra); see docs/scale-out.md."""
    ex.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process (default); ray: Ray Data, resumable, --out a folder ending .parquet or .jsonl",
    )
    ex.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        help="with --engine ray: a running cluster ('auto' or ray://HOST:PORT); default: a local Ray for this run",
    )
    ex.add_argument(
        "--workers", type=int, default=2, metavar="N", help="with --engine ray: extractor actors (default 2)"
    )


def _run_ray(args: argparse.Namespace) -> int:
    """One input, one output folder; failed documents are rows with an error, so exit 1 when there are any."""
    from .distributed import run

    refused = [
        flag
        for flag, value in (("--errors", args.errors), ("--summary", args.summary), ("--published", args.published))
        if value
    ]
    if refused:
        raise ConfigError(f"--engine ray does not take {', '.join(refused)}: failed documents are rows with an error")
    if len(args.inputs) != 1 or not args.out:
        raise ConfigError("--engine ray takes one INPUT (a .jsonl, a Parquet dataset or a .txt folder) and --out")
    if args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    summary = run(
        args.inputs[0],
        args.out,
        config=args.config,
        backend=args.backend,
        workers=args.workers,
        ray_address=args.ray_address,
        cache=not args.no_cache,
        refresh=args.refresh,
        progress=not args.quiet,
    )
    for doc_id, error in summary.failures:
        print(f"llm-extract: failed {doc_id}: {error}", file=sys.stderr)
    if not args.quiet:
        print(summary.describe(), file=sys.stderr)
    return EXIT_OK if summary.failed == 0 else EXIT_FAILED


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    configured_here = not logging.getLogger().handlers  # not when embedded in a host that set up logging
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    if configured_here and verbose < 2:
        # instructor logs every failed model call at ERROR; the engine reports the same failure
        # once, as the document's own line, so below -vv those copies are noise
        logging.getLogger("instructor").setLevel(logging.CRITICAL)


def _interrupted(args: argparse.Namespace, exc: KeyboardInterrupt, code: int) -> int:
    """Ctrl-C or SIGTERM: the summary of what finished, then the one line that says where it is."""
    from .batch import BatchInterrupted

    if isinstance(exc, BatchInterrupted):
        if args.summary:
            with open(args.summary, "w", encoding="utf-8") as f:
                f.write(exc.summary.to_json() + "\n")
        if not args.quiet:
            print(exc.summary.describe(), file=sys.stderr)
    print("llm-extract: interrupted; finished documents are in the output and the cache", file=sys.stderr)
    return code


def _run_extract(args: argparse.Namespace, out: TextIO) -> int:
    from .backends.embedded import EmbeddedBackend
    from .batch import run_batch

    extractor = Extractor.from_config(args.config, args.backend, cache=not args.no_cache)
    try:
        summary = run_batch(
            extractor,
            args.inputs,
            out=out,
            published=args.published,
            refresh=args.refresh,
            progress=not args.quiet,
            errors_path=args.errors,
            text_column=args.text_column,
            id_column=args.id_column,
            follow_symlinks=args.follow_symlinks,
        )
    finally:
        extractor.close()
    if args.summary:
        with open(args.summary, "w", encoding="utf-8") as f:
            f.write(summary.to_json() + "\n")
    if not args.quiet:
        print(summary.describe(), file=sys.stderr)
        speed = extractor.backend.describe_speed() if isinstance(extractor.backend, EmbeddedBackend) else None
        if speed:
            print(f"llm-extract: {speed}", file=sys.stderr)
    else:  # quiet drops progress and summary, never the one line a failed document owes the user
        for failure in summary.failures:
            print(f"llm-extract: failed {failure.doc_id}: {failure.reason}", file=sys.stderr)
    return EXIT_OK if summary.failed == 0 else EXIT_FAILED


def _output_format(args: argparse.Namespace) -> str | None:
    """The format ``extract`` writes: --format checked against the --out suffix; ``None`` after an error line."""
    from .export import format_of

    try:
        if args.out is None:
            if args.format not in (None, "jsonl"):
                raise ValueError(f"--format {args.format} writes a file: give --out")
            if args.acled:
                raise ValueError("--acled writes a file: give --out (.csv, .parquet, .geojson or .jsonl)")
            return "jsonl"
        fmt = format_of(args.out, args.format)
        if fmt == "geojson" and not args.acled:  # found out before the run, not after it
            raise ValueError("geojson needs coordinates: add --acled")
        return fmt
    except ValueError as exc:
        print(f"llm-extract: error: {exc}", file=sys.stderr)
        return None


def _extract_to_frame(args: argparse.Namespace, fmt: str) -> int:
    """Extract, then write the results as a frame (``--format csv|parquet|geojson``, ``--acled``)."""
    import io

    from .config import load_config
    from .export import to_frame, write_frame
    from .results import DocumentResult
    from .task import Task

    buffer = io.StringIO()
    status = _run_extract(args, buffer)
    schema = Task.from_config(load_config(args.config).task).schema
    results = [DocumentResult.from_dict(json.loads(line), schema, "") for line in buffer.getvalue().splitlines()]
    try:
        write_frame(to_frame(results, None, "acled" if args.acled else None), args.out, fmt)
    except ValueError as exc:
        print(f"llm-extract: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return status


def _output_problem(args: argparse.Namespace) -> str | None:
    """Why an output path cannot be used, checked before any work, or ``None``.

    ``--out a.txt`` on input ``a.txt`` would truncate the article before it is
    read, and two outputs on one file keep only the last one written; an
    unwritable ``--summary`` would be found only after every request was paid.
    Paths are compared resolved, so ``./a.txt`` and ``a.txt`` are one file.
    """
    inputs = {Path(p).resolve(): p for p in args.inputs}
    seen: dict[Path, str] = {}
    for flag in ("--out", "--errors", "--summary"):
        path = getattr(args, flag[2:])
        if not path:
            continue
        where = Path(path).resolve()
        if where in inputs:
            return f"{flag} {path}: is also an input ({inputs[where]}); write the output to another file"
        folder = next((i for i in inputs if i.is_dir() and where.parent == i and where.suffix == ".txt"), None)
        if folder is not None:
            return f"{flag} {path}: is inside the input directory {inputs[folder]}; write the output elsewhere"
        if where in seen:
            return f"{flag} {path}: is the same file as {seen[where]}; give each output its own file"
        seen[where] = flag
        if where.is_dir():
            return f"{flag} {path}: is a directory; name a file"
        if where.exists() and not os.access(where, os.W_OK):
            return f"{flag} {path}: is not writable (permission denied)"
        if not where.exists() and not where.parent.is_dir():
            return f"{flag} {path}: directory {where.parent} does not exist; create it first"
        if not where.exists() and not os.access(where.parent, os.W_OK | os.X_OK):
            return f"{flag} {path}: directory {where.parent} is not writable (permission denied)"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    terminated = False

    def on_sigterm(signum: int, frame: object) -> None:
        nonlocal terminated
        terminated = True
        raise KeyboardInterrupt

    previous = None
    if args.command == "extract" and threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, on_sigterm)  # a scheduler's stop is treated like Ctrl-C
    try:
        if args.command == "extract" and args.engine == "ray":
            return _run_ray(args)
        if args.command == "extract":
            problem = _output_problem(args)
            if problem:
                print(f"llm-extract: error: {problem}", file=sys.stderr)
                return EXIT_USAGE
            fmt = _output_format(args)
            if fmt is None:
                return EXIT_USAGE
            if args.dry_run:
                from .commands import dry_run

                return dry_run(args)
            if fmt != "jsonl" or args.acled:
                return _extract_to_frame(args, fmt)
            if args.out:
                with open(args.out, "w", encoding="utf-8") as out:
                    return _run_extract(args, out)
            return _run_extract(args, sys.stdout)
        if args.command == "eval":
            from .eval_command import run_eval

            return run_eval(args)
        if args.command in ("export", "review", "backends", "config"):
            from .commands import run_command

            return run_command(args)
        parser.error(f"unknown command {args.command}")
    except ConfigError as exc:
        print(f"llm-extract: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LLMExtractError as exc:
        print(f"llm-extract: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt as exc:
        return _interrupted(args, exc, 143 if terminated else 130)
    except OSError as exc:
        print(f"llm-extract: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
