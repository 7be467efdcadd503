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
    ex.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    ex.add_argument("--refresh", action="store_true", help="ignore cached results (new ones are still stored)")
    return parser


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def _run_extract(args: argparse.Namespace, out: TextIO) -> int:
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
    if not args.quiet:
        print(summary.describe(), file=sys.stderr)
    return EXIT_OK if summary.failed == 0 else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        if args.command == "extract":
            if args.out:
                with open(args.out, "w", encoding="utf-8") as out:
                    return _run_extract(args, out)
            return _run_extract(args, sys.stdout)
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
