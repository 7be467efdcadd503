"""Which way of running the packaged model does the most honest work per second?

Runs variants of the embedded backend (steps or one call, list caps,
repetition penalty, model size) over the gold fixtures of the seed and the
corpus articles, scores each result with :mod:`llm_extract.evaluation`, and
prints per variant: seconds per article, prompt and generated tokens per
second, records found, matched / invented / missed records, numbers the
engine had to set to unknown, numbers kept that the evidence does not state
(must be 0), re-asks and failures.

Slow on purpose (a real model on the CPU: minutes per article on 2 cores), so
every finished document is appended to ``benchmarks/results/embedded_variants.jsonl``
and a rerun resumes where it stopped. Extraction goes through the cache, so a
document that ``llm-extract eval`` already extracted with the same settings
costs nothing here (its seconds are those of the extraction that made it)::

    python benchmarks/embedded_variants.py --variant steps --variant one-call --variant detect
    python benchmarks/embedded_variants.py --variant detect --doc enab-baladi-558021.ar   # one document
    python benchmarks/embedded_variants.py --report          # the table only

Documents: every fixture of the dev set (``seeds/``), the seed first, unless ``--doc`` names some.

Each row records the machine's load average: llama.cpp's threads spin-wait
on each other, so another busy process on a 2-core machine slows it several
times over; compare rows measured under similar load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from llm_extract import LLMExtractError
from llm_extract.backends.embedded import EmbeddedBackend, EmbeddedStats
from llm_extract.config import load_config
from llm_extract.evaluation import EvaluationSpec, score_fixture
from llm_extract.extract import Extractor
from llm_extract.fixtures import Fixture, load_fixtures
from llm_extract.grounding import GroundedRecord, Stated, iter_evidence, numbers_stated
from llm_extract.task import Task

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "embedded_variants.jsonl"

VARIANTS: dict[str, dict[str, Any]] = {
    "steps": {},  # the embedded default: per-list, one generation per record list
    "one-call": {"strategy": "one-call", "compact_prompt": True},  # the plain instructor shape
    "detect": {"strategy": "detect-then-fill", "compact_prompt": True},
    "single": {"steps": False, "max_items": 4},
    "steps-compact": {"steps": True, "max_items": 4, "compact_prompt": True},
    "steps-free-quotes": {"steps": True, "max_items": 4, "verbatim_quotes": False},
    "steps-no-penalty": {"steps": True, "max_items": 4, "repeat_penalty": 1.0},
    "single-uncapped": {"steps": False, "max_items": 8},
    "steps-0.5b": {"steps": True, "max_items": 4, "model": "qwen2.5-0.5b"},
}
"""Backend settings per variant, on top of the embedded defaults (1.5B, json_schema, penalty 1.1, verbatim quotes)."""

SEED = "enab-baladi-558021.ar"


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(str(v))


def write_config(folder: Path, variants: list[str]) -> Path:
    lines = [f'default_backend = "{variants[0]}"']
    for name in variants:
        lines.append(f'[backends."{name}"]')
        lines.append('kind = "embedded"')
        lines += [f"{k} = {toml_value(v)}" for k, v in VARIANTS[name].items()]
    path = folder / "variants.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def stated_numbers(records: Any) -> tuple[int, int]:
    """(counts kept, counts kept that their record's evidence does not state): the second must be 0."""
    kept = unstated = 0

    def visit(obj: Any) -> None:
        nonlocal kept, unstated
        if isinstance(obj, GroundedRecord):
            quotes = " ".join(e.quote for e in iter_evidence(getattr(obj, "evidence", [])))
            stated = numbers_stated(quotes, type(obj).number_lexicon)
            for name, info in type(obj).model_fields.items():
                value = getattr(obj, name)
                if value is not None and any(isinstance(m, Stated) for m in info.metadata):
                    kept += 1
                    unstated += value not in stated
        if isinstance(obj, BaseModel):
            for name in type(obj).model_fields:
                visit(getattr(obj, name))
        elif isinstance(obj, list):
            for item in obj:
                visit(item)

    visit(records)
    return kept, unstated


def cpu_idle(seconds: float = 2.0) -> float | None:
    """Fraction of CPU time idle over ``seconds`` (Linux), or ``None`` where unknown."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return fields[3] + fields[4], sum(fields)

    try:
        idle0, total0 = sample()
        time.sleep(seconds)
        idle1, total1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return (idle1 - idle0) / max(total1 - total0, 1)


def wait_for_quiet(max_wait: float = 180.0) -> float | None:
    """Wait until the machine is mostly idle: a second busy process makes llama.cpp's threads crawl."""
    deadline = time.monotonic() + max_wait
    idle = cpu_idle()
    while idle is not None and idle < 0.6 and time.monotonic() < deadline:
        print(f"  waiting for a quiet machine (idle {idle:.0%})", file=sys.stderr, flush=True)
        time.sleep(10)
        idle = cpu_idle()
    return idle


def dates_after(records: Any, published: str | None) -> int:
    """Dates whose value is later than the publication date, at the precision both have (must be 0)."""
    if not published:
        return 0
    later = 0

    def visit(obj: Any) -> None:
        nonlocal later
        if isinstance(obj, dict):
            value = obj.get("value")
            if {"text", "value", "precision"} <= obj.keys() and isinstance(value, str):
                n = min(len(value), len(published))
                later += value[:n] > published[:n]
            for v in obj.values():
                visit(v)
        elif isinstance(obj, list):
            for v in obj:
                visit(v)

    visit(records.model_dump(mode="json"))
    return later


def run_document(
    ex: Extractor, fx: Fixture, spec: EvaluationSpec, variant: str, refresh: bool = False
) -> dict[str, Any]:
    backend = ex.backend
    assert isinstance(backend, EmbeddedBackend)
    before = replace(backend.stats)
    # A model run needs a quiet machine to be timed; a cached result needs none.
    idle = wait_for_quiet() if refresh or ex.cached(fx.document) is None else None
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    started = time.perf_counter()
    result = None
    error = None
    try:
        result = ex.extract(fx.document, refresh=refresh)
    except LLMExtractError as exc:
        error = f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - started
    if result is not None and result.provenance.cache_hit:  # the time of the extraction that made it
        seconds = result.provenance.wall_time_s
    after = backend.stats
    delta = EmbeddedStats(**{k: getattr(after, k) - getattr(before, k) for k in asdict(after)})
    score = score_fixture(fx, result, spec, backend=variant, error=error)
    total = score.total
    kept, unstated = stated_numbers(result.records) if result else (0, 0)
    warnings = result.provenance.warnings if result else []
    return {
        "variant": variant,
        "settings": VARIANTS[variant],
        "doc_id": fx.doc_id,
        "seconds": round(seconds, 1),
        "load_avg_1m": load,
        "idle_before": idle,
        "prompt_tokens": delta.prompt_tokens,
        "prompt_evaluated": delta.prompt_evaluated,
        "prompt_seconds": round(delta.prompt_seconds, 1),
        "generated_tokens": delta.generated_tokens,
        "generation_seconds": round(delta.generation_seconds, 1),
        "model_calls": result.provenance.attempts if result else None,
        "chunks": result.provenance.chunks if result else None,
        "records": {name: len(getattr(result.records, name)) for name in ex.task.list_fields} if result else None,
        "tp": total.tp,
        "fp": total.fp,
        "fn": total.fn,
        "quotes": score.quotes,
        "grounded": score.grounded,
        "counts_kept": kept,
        "counts_unstated_kept": unstated,
        "counts_set_unknown": sum("recorded as unknown" in w for w in warnings),
        "negative_control": fx.header.negative_control,
        "dates_after_publication": dates_after(result.records, fx.document.published) if result else 0,
        "cache_hit": bool(result and result.provenance.cache_hit),
        "error": error,
        "predicted": result.records.model_dump(mode="json", exclude_none=True) if result else None,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {cpu_model()} x{os.cpu_count()}",
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_rows() -> list[dict[str, Any]]:
    if not RESULTS.is_file():
        return []
    return [json.loads(line) for line in RESULTS.read_text(encoding="utf-8").splitlines() if line.strip()]


def report(rows: list[dict[str, Any]]) -> str:
    """A Markdown table, one line per variant (latest row per document)."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        latest[(row["variant"], row["doc_id"])] = row
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for (variant, _), row in latest.items():
        by_variant.setdefault(variant, []).append(row)
    head = (
        "| variant | docs | median s/article | prompt tok/s | gen tok/s | records | matched | invented | missed "
        "| recall | precision | F1 | records on negative controls | numbers set unknown | unstated numbers kept "
        "| dates after publication | model calls | failed | load |"
    )
    lines = [head, "|" + "---|" * 19]
    for variant, rs in by_variant.items():
        n = len(rs)

        def s(key: str, rows: list[dict[str, Any]] = rs) -> float:
            return float(sum(r[key] or 0 for r in rows))

        tp, fp, fn = s("tp"), s("fp"), s("fn")
        recs = sum(sum((r["records"] or {}).values()) for r in rs)
        calls = sum(r["model_calls"] or 0 for r in rs)
        pp = s("prompt_evaluated") / s("prompt_seconds") if s("prompt_seconds") else 0
        gen = s("generated_tokens") / s("generation_seconds") if s("generation_seconds") else 0
        loads = [r["load_avg_1m"] for r in rs if r["load_avg_1m"] is not None]
        median = statistics.median(r["seconds"] for r in rs)
        lines.append(
            f"| {variant} | {n} | {median:.0f} | {pp:.1f} | {gen:.1f} | {recs} "
            f"| {tp:.0f} | {fp:.0f} | {fn:.0f} "
            f"| {tp / (tp + fn) if tp + fn else 0:.2f} | {tp / (tp + fp) if tp + fp else 0:.2f} "
            f"| {2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0:.2f} "
            f"| {sum(sum((r['records'] or {}).values()) for r in rs if r.get('negative_control'))} "
            f"| {s('counts_set_unknown'):.0f} | {s('counts_unstated_kept'):.0f} "
            f"| {sum(r.get('dates_after_publication', 0) for r in rs)} | {calls} "
            f"| {sum(1 for r in rs if r['error'])} | {sum(loads) / len(loads) if loads else 0:.1f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS), help="variant(s) to run")
    parser.add_argument("--doc", action="append", help="doc ids to run (default: the seed and the corpus)")
    parser.add_argument("--rerun", action="store_true", help="run documents that already have a row again")
    parser.add_argument("--report", action="store_true", help="print the table of what was measured and exit")
    args = parser.parse_args()
    if args.report or not args.variant:
        print(report(load_rows()))
        return 0
    done = {(r["variant"], r["doc_id"]) for r in load_rows()}
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(write_config(Path(tmp), args.variant))
        task = Task.from_config(config.task)
        spec = EvaluationSpec.for_task(task)
        fixtures = {fx.doc_id: fx for fx in load_fixtures(ROOT / "seeds", task)}
        docs = [SEED, *sorted(d for d in fixtures if d != SEED)]
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        for variant in args.variant:
            with Extractor(config, variant) as ex:
                for doc_id in args.doc or docs:
                    if (variant, doc_id) in done and not args.rerun:
                        continue
                    print(f"{variant}: {doc_id} ...", file=sys.stderr, flush=True)
                    row = run_document(ex, fixtures[doc_id], spec, variant, refresh=args.rerun)
                    with RESULTS.open("a", encoding="utf-8") as out:
                        out.write(json.dumps(row, ensure_ascii=False) + "\n")
                    print(
                        f"  {row['seconds']:.0f} s, {row['generated_tokens']} generated, records {row['records']}, "
                        f"tp/fp/fn {row['tp']}/{row['fp']}/{row['fn']}, error {row['error']}",
                        file=sys.stderr,
                        flush=True,
                    )
    print(report(load_rows()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
