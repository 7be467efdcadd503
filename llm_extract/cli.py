"""``llm-extract``: a thin command line over the library.

Data goes to stdout (or ``--out``), one JSON object per line; logs, progress
and the summary go to stderr. Failure is a non-zero exit with one line that
names the problem.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import TextIO

from .documents import parse_published
from .errors import ConfigError, InputError, LLMExtractError
from .extract import Extractor

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
    parser = argparse.ArgumentParser(
        prog="llm-extract", description="Grounded conflict-event records from news articles."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    ex = sub.add_parser("extract", help="extract records from files, directories or JSONL")
    ex.add_argument(
        "inputs",
        nargs="+",
        metavar="FILE",
        help="text file, directory of .txt files, or .jsonl of {id, text, published}",
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
    _ray_options(ex)
    _eval_parser(sub)
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


def _fraction(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        x = -1.0
    if not 0.0 <= x <= 1.0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number between 0 and 1")
    return x


def _eval_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ev = sub.add_parser(
        "eval",
        help="score backends against the gold fixtures",
        description="Extract every fixture's document (through the cache), score it against its gold "
        "records and print a table per document and overall; see the README, section Evaluation.",
    )
    ev.add_argument(
        "--fixtures", metavar="DIR", default="seeds", help="folder of *.gold.json fixtures (default: seeds)"
    )
    _common(ev)
    ev.add_argument(
        "--backend",
        metavar="NAME",
        nargs="+",
        action="extend",
        help="[backends.NAME] to evaluate; several are compared side by side (default: default_backend)",
    )
    ev.add_argument("--report", metavar="FILE.json", help="write the full report (every score and wrong fact) as JSON")
    ev.add_argument("--html", metavar="FILE.html", help="write the report as an HTML page")
    ev.add_argument(
        "--min-f1", type=_fraction, metavar="X", help="exit 1 when a backend's overall F1 is below X (0 to 1)"
    )
    ev.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    ev.add_argument("--refresh", action="store_true", help="ignore cached results (new ones are still stored)")


def _run_eval(args: argparse.Namespace) -> int:
    """Print the table on stdout, write the reports, then judge: a low F1 or a backend that failed everywhere is 1."""
    from .evaluation import evaluate

    report = evaluate(
        args.fixtures,
        args.config,
        args.backend,
        cache=not args.no_cache,
        refresh=args.refresh,
        progress=not args.quiet,
    )
    print(report.table())
    if args.report:
        report.write_json(args.report)
    if args.html:
        report.write_html(args.html)
    status = EXIT_OK
    for name, overall in report.overall.items():
        run = report.runs[name]
        if not args.quiet:
            print(f"llm-extract eval: {name}: overall F1 {overall.f1:.3f}", file=sys.stderr)
        if run.documents and run.failed == run.documents:
            print(f"llm-extract eval: {name}: every document failed; see 'Failed' above", file=sys.stderr)
            status = EXIT_FAILED
        if args.min_f1 is not None and overall.f1 < args.min_f1:
            print(
                f"llm-extract eval: {name}: overall F1 {overall.f1:.3f} is below --min-f1 {args.min_f1:g}",
                file=sys.stderr,
            )
            status = EXIT_FAILED
    return status


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    configured_here = not logging.getLogger().handlers  # not when embedded in a host that set up logging
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    if configured_here and verbose < 2:
        # instructor logs every failed model call at ERROR; the engine reports the same failure
        # once, as the document's own line, so below -vv those copies are noise
        logging.getLogger("instructor").setLevel(logging.CRITICAL)


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        if args.command == "extract" and args.engine == "ray":
            return _run_ray(args)
        if args.command == "extract":
            if args.out:
                with open(args.out, "w", encoding="utf-8") as out:
                    return _run_extract(args, out)
            return _run_extract(args, sys.stdout)
        if args.command == "eval":
            return _run_eval(args)
        parser.error(f"unknown command {args.command}")
    except ConfigError as exc:
        print(f"llm-extract: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LLMExtractError as exc:
        print(f"llm-extract: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("llm-extract: interrupted; finished documents are in the output and the cache", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"llm-extract: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
