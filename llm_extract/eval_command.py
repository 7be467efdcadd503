"""The ``eval`` command: score backends against the gold fixtures or a published dataset, or compare two runs.

Kept apart from :mod:`llm_extract.cli` (which parses and dispatches) so each
module holds one command family. The table goes to stdout; a usage problem
is a :class:`~llm_extract.errors.ConfigError` (exit 2), a low F1 or a
backend that failed everywhere is exit 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .evaluation.datasets import DEFAULT_SAMPLE

__all__ = ["add_eval_command", "run_eval"]

EXIT_OK, EXIT_FAILED = 0, 1


def _fraction(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        x = -1.0
    if not 0.0 <= x <= 1.0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number between 0 and 1")
    return x


def add_eval_command(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: Any) -> None:
    """The ``eval`` subcommand's options; ``common`` adds ``--config``, ``-v`` and ``-q`` as for every command."""
    ev = sub.add_parser(
        "eval",
        help="score backends against the gold fixtures",
        description="Extract every fixture's document (through the cache), score it against its gold "
        "records and print a table per document and overall; see the README, section Evaluation.",
    )
    ev.add_argument(
        "--fixtures",
        metavar="DIR",
        help="folder of *.gold.json fixtures (default: the configured task's own, installed with it)",
    )
    ev.add_argument(
        "--dataset",
        metavar="NAME:PATH",
        help="score against a published dataset read from PATH, one the configured task registers as NAME, "
        "instead of the fixtures (an unknown NAME lists the task's datasets)",
    )
    ev.add_argument(
        "--sample",
        type=_sample,
        metavar="N",
        help=f"with --dataset: score N articles chosen by --seed, or 'all' (default: {DEFAULT_SAMPLE})",
    )
    ev.add_argument("--seed", type=int, metavar="S", help="with --dataset: which sample (default: 0)")
    common(ev)
    ev.add_argument(
        "--backend",
        metavar="NAME",
        nargs="+",
        action="extend",
        help="[backends.NAME] to evaluate; several are compared side by side (default: default_backend)",
    )
    ev.add_argument(
        "--compare",
        nargs=2,
        metavar=("A", "B"),
        help="show two runs side by side, per document and overall, with the difference B - A; "
        "each is a [backends.NAME] (run through the cache) or a JSON report saved with --report",
    )
    ev.add_argument(
        "--report",
        metavar="FILE.json",
        help="write the full report (every score; missed, invented and wrong records) as JSON; "
        "with --compare, the comparison",
    )
    ev.add_argument("--html", metavar="FILE.html", help="write the report as an HTML page")
    ev.add_argument(
        "--min-f1", type=_fraction, metavar="X", help="exit 1 when a backend's overall F1 is below X (0 to 1)"
    )
    ev.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    ev.add_argument("--refresh", action="store_true", help="ignore cached results (new ones are still stored)")


def _sample(value: str) -> int:
    """A number of articles; ``all`` is 0 (no sampling), so that ``None`` can mean "not given"."""
    if value == "all":
        return 0
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number of articles or 'all'")
    return int(value)


def _run_dataset(args: argparse.Namespace) -> int:
    """The article-level table on stdout; 1 when every article failed to extract."""
    from .config import load_config
    from .evaluation.datasets import run_dataset, task_dataset
    from .task import Task

    name, _, path = args.dataset.partition(":")
    if not name or not path:
        raise ConfigError(f"--dataset {args.dataset!r}: expected NAME:PATH")
    if args.html or args.min_f1 is not None or len(args.backend or []) > 1:
        raise ConfigError("--dataset takes one --backend and no --html or --min-f1")
    cfg = load_config(args.config)
    report = run_dataset(
        task_dataset(Task.from_config(cfg.task), name),
        path,
        cfg,
        (args.backend or [None])[0],
        sample=DEFAULT_SAMPLE if args.sample is None else args.sample or None,
        seed=args.seed or 0,
        cache=not args.no_cache,
        refresh=args.refresh,
        progress=not args.quiet,
    )
    print(report.table())
    if args.report:
        report.write_json(args.report)
    if report.articles and report.failed == len(report.articles):
        print(f"llm-extract eval: {report.backend}: every article failed (see the table)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _run_compare(args: argparse.Namespace) -> int:
    """Two backends, or saved reports, side by side on stdout; ``--report`` writes the comparison as JSON."""
    from .evaluation import EvaluationReport, compare, evaluate

    if args.backend or args.html or args.min_f1 is not None:
        raise ConfigError("--compare A B names both sides; it takes no --backend, --html or --min-f1")
    if args.compare[0] == args.compare[1]:
        raise ConfigError(f"--compare: A and B are both {args.compare[0]!r}; name two backends or two reports")
    sides: dict[str, tuple[EvaluationReport, str, str]] = {}
    for x in args.compare:
        if x.endswith(".json") or Path(x).is_file():
            saved = EvaluationReport.read_json(x)
            sides[x] = (saved, saved.backends[0], Path(x).name)
    backends = [x for x in args.compare if x not in sides]
    if backends:
        run = evaluate(
            args.fixtures,
            args.config,
            backends,
            cache=not args.no_cache,
            refresh=args.refresh,
            progress=not args.quiet,
        )
        sides |= {x: (run, x, x) for x in backends}
    (report_a, backend_a, label_a), (report_b, backend_b, label_b) = (sides[x] for x in args.compare)
    comparison = compare(report_a, report_b, backend_a=backend_a, backend_b=backend_b, labels=(label_a, label_b))
    print(comparison.table())
    if args.report:
        comparison.write_json(args.report)
    return EXIT_OK


def run_eval(args: argparse.Namespace) -> int:
    """Print the table on stdout, write the reports, then judge: a low F1 or a backend that failed everywhere is 1."""
    from .evaluation import evaluate

    if args.dataset:
        return _run_dataset(args)
    if args.compare:
        return _run_compare(args)
    if args.sample is not None or args.seed is not None:
        raise ConfigError("--sample and --seed choose articles of a --dataset; the fixtures are always scored whole")

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
