"""The analyst's commands: ``export``, ``review``, ``backends``, ``config``, and ``extract --dry-run``.

Kept apart from :mod:`llm_extract.cli` (which parses and dispatches) so the
extraction command stays small. Every command prints its data on stdout
and fails with one line on stderr: exit 2 for a usage problem (a wrong
suffix, an unknown column), 1 for a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .config import ENV_CONFIG, Config, find_config, load_config
from .documents import Document, iter_documents, split_chunks
from .errors import InputError
from .export import FORMATS, format_of, read_results, write_frame
from .task import Task

__all__ = ["add_commands", "dry_run", "run_command"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

CHARS_PER_TOKEN = 4.0
"""The usual rule of thumb for estimating tokens before a run (Arabic text often costs more per character)."""


class UsageError(Exception):
    """A command-line mistake: one line, exit 2."""


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: Any) -> None:
    """Register ``export``, ``review``, ``backends`` and ``config`` on the ``llm-extract`` parser."""
    ex = sub.add_parser(
        "export",
        help="write extract results (JSONL) as CSV, Parquet, GeoJSON or JSONL frames",
        description="Read the JSONL that 'extract' wrote and write one frame: every record (default), "
        "one record type (--records incidents) or a task's form (--acled: ACLED's columns).",
    )
    ex.add_argument("results", metavar="RESULTS.jsonl")
    ex.add_argument("--format", choices=list(FORMATS), help="output format (default: from the --out suffix)")
    ex.add_argument("--out", metavar="FILE", required=True, help="output file; its suffix must match --format")
    ex.add_argument("--records", metavar="TYPE", help="one record list, e.g. incidents")
    ex.add_argument("--acled", action="store_true", help="ACLED's columns and types (incidents; --columns acled)")
    ex.add_argument("--columns", metavar="FORM", help="a form the task defines, e.g. acled")
    common(ex)

    rv = sub.add_parser(
        "review",
        help="write a review sheet (CSV) of extract results, or apply a reviewed one",
        description="Without --apply: write one row per record and field, with accept/correct/reject columns. "
        "With --apply REVIEWED.csv: apply the decisions, check every corrected quote against its article, "
        "write corrected results (--out) and, with --to-fixtures DIR, gold fixtures the eval harness scores.",
    )
    rv.add_argument("results", metavar="RESULTS.jsonl")
    rv.add_argument(
        "--articles",
        nargs="+",
        metavar="PATH",
        required=True,
        help="the articles the results came from (files, directories, .jsonl, .csv with --text-column)",
    )
    rv.add_argument("--text-column", metavar="NAME", help="the text column of a .csv of articles")
    rv.add_argument("--id-column", metavar="NAME", help="the id column of a .csv of articles")
    rv.add_argument("--apply", metavar="REVIEWED.csv", help="the reviewed sheet to apply")
    rv.add_argument("--out", metavar="FILE", help="the sheet (.csv) to write, or with --apply the corrected JSONL")
    rv.add_argument("--to-fixtures", metavar="DIR", help="with --apply: write gold fixtures (and their texts) here")
    common(rv)

    bk = sub.add_parser("backends", help="list the configured backends, the default, and whether keys are set")
    common(bk)
    cf = sub.add_parser("config", help="print the effective config as JSON (keys are never shown)")
    common(cf)


def run_command(args: argparse.Namespace) -> int:
    """Run one of the commands registered by :func:`add_commands`."""
    try:
        if args.command == "export":
            return _export(args)
        if args.command == "review":
            return _review(args)
        if args.command == "backends":
            return _backends(args)
        return _config(args)
    except UsageError as exc:
        print(f"llm-extract: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _task(config_path: str | None) -> Task:
    return Task.from_config(load_config(config_path).task)


def _export(args: argparse.Namespace) -> int:
    columns = "acled" if args.acled else args.columns
    try:
        fmt = format_of(args.out, args.format)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    results = read_results(args.results, _task(args.config).schema)
    from .export import to_frame

    try:
        frame = to_frame(results, args.records, columns)
        write_frame(frame, args.out, fmt)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not args.quiet:
        print(f"llm-extract: wrote {len(frame)} rows to {args.out} ({fmt})", file=sys.stderr)
    return EXIT_OK


def _articles(paths: list[str], text_column: str | None, id_column: str | None) -> dict[str, Document]:
    docs: dict[str, Document] = {}
    for item in iter_documents(list(paths), text_column=text_column, id_column=id_column):
        if isinstance(item, InputError):
            raise item
        docs[item.id] = item
    return docs


def _review(args: argparse.Namespace) -> int:
    from .review import apply_review, write_fixtures, write_review

    task = _task(args.config)
    docs = _articles(args.articles, args.text_column, args.id_column)
    results = read_results(args.results, task.schema, {k: d.text for k, d in docs.items()})
    if args.apply is None:
        if args.to_fixtures:
            raise UsageError("--to-fixtures needs --apply REVIEWED.csv")
        if not args.out:
            raise UsageError("give --out review.csv for the sheet")
        if Path(args.out).suffix.lower() != ".csv":
            raise UsageError(f"{args.out}: the review sheet is CSV; name it {Path(args.out).with_suffix('.csv').name}")
        rows = write_review(results, args.out)
        if not args.quiet:
            print(f"llm-extract: wrote {rows} review rows to {args.out}", file=sys.stderr)
        return EXIT_OK
    if not args.out and not args.to_fixtures:
        raise UsageError("with --apply, give --out corrected.jsonl and/or --to-fixtures DIR")
    corrected = apply_review(results, args.apply)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            for result in corrected:
                f.write(result.to_json() + "\n")
    if args.to_fixtures:
        written = write_fixtures(corrected, args.to_fixtures, documents=docs)
        if not args.quiet:
            print(f"llm-extract: wrote {len(written)} fixtures to {args.to_fixtures}", file=sys.stderr)
    return EXIT_OK


def _origin(path: str | None, found: Path | None) -> str:
    """Why this config file (or none) was chosen, in the order :func:`find_config` applies."""
    if found is None:
        return "built-in defaults (no config file found)"
    if path is not None:
        return f"{found} (--config)"
    if os.environ.get(ENV_CONFIG):
        return f"{found} (${ENV_CONFIG})"
    if found == Path("llm_extract.toml"):
        return f"{found} (./llm_extract.toml in the working directory)"
    return f"{found} (user config dir)"


def _safe_url(url: object) -> str | None:
    """A base URL without any user:password part."""
    if url is None:
        return None
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _backend_rows(cfg: Config) -> list[dict[str, Any]]:
    rows = []
    for name, backend in cfg.backends.items():
        env = getattr(backend, "api_key_env", None)
        rows.append(
            {
                "name": name,
                "default": name == cfg.default_backend,
                "kind": backend.kind,
                "model": backend.model,
                "base_url": _safe_url(getattr(backend, "base_url", None)),
                "key_env": env,
                "key_set": bool(os.environ.get(env)) if env else None,
            }
        )
    return rows


def _backends(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    print(f"config: {_origin(args.config, find_config(args.config))}")
    for row in _backend_rows(cfg):
        mark = "*" if row["default"] else " "
        where = f" at {row['base_url']}" if row["base_url"] else ""
        if row["key_env"] is None:
            key = "no key needed"
        else:
            key = f"key ${row['key_env']} {'is set' if row['key_set'] else 'is NOT set'}"
        print(f"{mark} {row['name']}: {row['kind']}, model {row['model']}{where}; {key}")
    print("(* = default_backend)")
    return EXIT_OK


def _config(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    data = cfg.model_dump(mode="json", by_alias=True)  # api_key is excluded from dumps; it is never read here
    for row in _backend_rows(cfg):
        backend = data["backends"][row["name"]]
        if row["base_url"] is not None:
            backend["base_url"] = row["base_url"]
        if row["key_env"] is not None:
            backend["api_key"] = "<set, not shown>" if row["key_set"] else "<not set>"
    data = {"source": _origin(args.config, find_config(args.config)), **data}
    print(json.dumps(data, indent=2, ensure_ascii=False))
    return EXIT_OK


def dry_run(args: argparse.Namespace) -> int:
    """What ``extract`` would send, without sending it: documents, chunks, estimated tokens and cost."""
    cfg = load_config(args.config)
    name = args.backend or cfg.default_backend
    if name not in cfg.backends:
        cfg.backend(name)  # raises the usual one-line ConfigError
    backend = cfg.backends[name]
    task = Task.from_config(cfg.task)
    documents = chunks = prompt_chars = 0
    unreadable: list[str] = []
    for item in iter_documents(
        list(args.inputs), published=args.published, text_column=args.text_column, id_column=args.id_column
    ):
        if isinstance(item, InputError):
            unreadable.append(str(item))
            continue
        documents += 1
        for start, end in split_chunks(item.text, backend.chunk_chars, backend.chunk_overlap):
            chunks += 1
            messages = task.messages(item.text[start:end], doc_id=item.id, published=item.published)
            prompt_chars += sum(len(str(m["content"])) for m in messages)
    prompt_tokens = round(prompt_chars / CHARS_PER_TOKEN)
    completion_max = chunks * backend.max_tokens
    print(f"backend: {name} ({backend.kind}, model {backend.model})")
    print(f"documents: {documents}" + (f" ({len(unreadable)} unreadable)" if unreadable else ""))
    print(f"chunks: {chunks} (at least one model call each)")
    print(f"prompt tokens: about {prompt_tokens:,} (characters / {CHARS_PER_TOKEN:g})")
    print(f"completion tokens: at most {completion_max:,} ({chunks} x max_tokens={backend.max_tokens:,})")
    p_in, p_out = backend.price_prompt_per_mtok, backend.price_completion_per_mtok
    if p_in is None and p_out is None:
        print(f"cost: no prices configured (price_prompt_per_mtok / price_completion_per_mtok in [backends.{name}])")
    else:
        low = prompt_tokens * (p_in or 0.0) / 1e6
        high = low + completion_max * (p_out or 0.0) / 1e6
        print(f"cost: about ${low:.4f} for the prompts, at most ${high:.4f} with every answer at max_tokens")
    for line in unreadable:
        print(f"llm-extract: unreadable: {line}", file=sys.stderr)
    return EXIT_OK
