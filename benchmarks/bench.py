"""How fast is llm_extract, and what does it add over a plain ``instructor`` call?

Run by hand from the repository root (nothing to set up beyond the install)::

    python benchmarks/bench.py                 # about 30 s
    python benchmarks/bench.py --embedded      # also the packaged model (about a minute more)
    python benchmarks/bench.py --ray           # also Ray Data with 1, 2, 4 workers (a few minutes more)

It starts the test chat-completions server (``python -m llm_extract.testing``)
in a *subprocess*, so the client's CPU time is measured alone, answering
every request with the gold records of the seed article after a configurable
latency and simulated generation speed. It prints a table and writes JSON to
``benchmarks/results/latest.json``. Speed is measured here, never asserted in
tests: the targets are those of issue 7.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import instructor
import openai
import pydantic

from llm_extract import Document, Extractor, LLMExtractError
from llm_extract.config import load_config
from llm_extract.fixtures import load_fixture

ROOT = Path(__file__).resolve().parent.parent
SEED_GOLD = ROOT / "seeds" / "enab-baladi-558021.ar.gold.json"
RESULTS = Path(__file__).resolve().parent / "results"


# -- the server -------------------------------------------------------------------


@contextlib.contextmanager
def chat_server(answer: dict[str, Any], latency: float, tokens_per_s: float | None) -> Iterator[str]:
    """``python -m llm_extract.testing`` in a subprocess; yields its base URL."""
    cmd = [sys.executable, "-m", "llm_extract.testing", "--port", "0", "--latency", str(latency)]
    cmd += ["--reply", json.dumps(answer, ensure_ascii=False)]
    if tokens_per_s:
        cmd += ["--tokens-per-s", str(tokens_per_s)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http"):
            raise SystemExit(f"bench: the test server did not start (got {url!r})")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def seed_answer() -> tuple[Document, dict[str, Any]]:
    """The seed article and its gold records as a model would send them (quotes only, no offsets)."""
    fixture = load_fixture(SEED_GOLD)

    def strip(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in ("start", "end")}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    return fixture.document, strip(fixture.as_answer())


# -- the two clients ---------------------------------------------------------------


def extractor(url: str, workdir: Path, *, concurrency: int = 4, cache: bool = False) -> Extractor:
    config = workdir / f"bench-{concurrency}-{cache}.toml"
    config.write_text(
        'default_backend = "bench"\n'
        f'[cache]\ndir = "{workdir / "cache"}"\n'
        "[backends.bench]\n"
        'kind = "openai-compatible"\n'
        'model = "bench-model"\n'
        f'base_url = "{url}"\n'
        f"concurrency = {concurrency}\n",
        encoding="utf-8",
    )
    return Extractor(load_config(config), cache=cache)


def baseline_schema(ex: Extractor) -> type[pydantic.BaseModel]:
    """The task's schema as a class of its own, the same fields and JSON schema.

    llm_extract skips instructor's per-call async-validator walk for the classes it
    wrapped itself (``strategies/base.py``); in this process that would speed up the
    baseline too. A class of its own gets instructor exactly as shipped.
    """
    schema = ex.task.schema
    return pydantic.create_model(schema.__name__, __base__=schema, __doc__=schema.__doc__)


def plain_instructor(url: str, ex: Extractor, doc: Document, *, prewrapped: bool = False) -> Callable[[], Any]:
    """The same request with instructor alone: same prompt, schema, mode and sampling; no grounding, no cache.

    ``prewrapped`` passes the schema already wrapped with ``instructor.response_schema``, which lets
    instructor reuse its JSON schema (a plain model is re-wrapped, and its schema rebuilt, on every call).
    """
    client = instructor.from_openai(
        openai.OpenAI(base_url=url, api_key="not-needed", max_retries=0), mode=instructor.Mode.TOOLS
    )
    messages: Any = ex.task.messages(doc.text, doc_id=doc.id, published=doc.published)
    sampling = ex.backend_config.sampling()
    schema = instructor.response_schema(baseline_schema(ex)) if prewrapped else baseline_schema(ex)

    def call() -> Any:
        return client.chat.completions.create(
            model="bench-model", response_model=schema, messages=messages, max_retries=0, **sampling
        )

    return call


async def plain_async_instructor(url: str, ex: Extractor, doc: Document, n: int, concurrency: int) -> float:
    """Seconds for ``n`` calls of async instructor (pre-wrapped schema), ``concurrency`` at a time."""
    client = instructor.from_openai(
        openai.AsyncOpenAI(base_url=url, api_key="not-needed", max_retries=0), mode=instructor.Mode.TOOLS
    )
    messages: Any = ex.task.messages(doc.text, doc_id=doc.id, published=doc.published)
    schema = instructor.response_schema(baseline_schema(ex))
    gate = asyncio.Semaphore(concurrency)

    async def call() -> None:
        async with gate:
            await client.chat.completions.create(
                model="bench-model",
                response_model=schema,
                messages=messages,
                max_retries=0,
                **ex.backend_config.sampling(),
            )

    await call()
    t0 = time.perf_counter()
    await asyncio.gather(*(call() for _ in range(n)))
    return time.perf_counter() - t0


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# -- the measurements ------------------------------------------------------------


def overhead(url: str, workdir: Path, doc: Document, calls: int) -> dict[str, float]:
    """Median per-call time of ``Extractor.extract`` vs plain instructor, interleaved, zero latency.

    The three clients take turns call by call, so a busy machine slows them alike.
    """
    with extractor(url, workdir) as ex:
        clients: dict[str, Callable[[], Any]] = {
            "plain_instructor": plain_instructor(url, ex, doc),
            "plain_instructor_prewrapped": plain_instructor(url, ex, doc, prewrapped=True),
            "llm_extract": lambda: ex.extract(doc),
        }
        samples: dict[str, list[float]] = {name: [] for name in clients}
        for _ in range(20):
            for call in clients.values():
                call()
        for _ in range(calls):
            for name, call in clients.items():
                samples[name].append(timed(call))
    ms = {name: median_ms(values) for name, values in samples.items()}
    return {
        "calls": calls,
        **{f"{name}_ms": round(value, 3) for name, value in ms.items()},
        "overhead_ms": round(ms["llm_extract"] - ms["plain_instructor"], 3),
        "overhead_vs_prewrapped_ms": round(ms["llm_extract"] - ms["plain_instructor_prewrapped"], 3),
    }


def throughput(url: str, workdir: Path, doc: Document, sequential_docs: int, seconds: float) -> dict[str, Any]:
    """Documents per second: plain sequential instructor loop, and extract_many at concurrency 1, 4, 16."""
    out: dict[str, Any] = {}
    with extractor(url, workdir) as ex:
        plain = plain_instructor(url, ex, doc)
        plain()
        wall = timed(lambda: [plain() for _ in range(sequential_docs)])
        out["sequential_instructor"] = {"documents": sequential_docs, "docs_per_s": round(sequential_docs / wall, 2)}
    base = out["sequential_instructor"]["docs_per_s"]
    with extractor(url, workdir) as ex:
        n = round(base * 16 * seconds)
        wall = asyncio.run(plain_async_instructor(url, ex, doc, n, 16))
        rate = n / wall
        out["async_instructor_16"] = {"documents": n, "docs_per_s": round(rate, 2), "speedup": round(rate / base, 2)}
    for c in (1, 4, 16):
        n = max(c, round(base * c * seconds))
        docs = [Document(id=doc.id, text=doc.text, published=doc.published) for _ in range(n)]
        with extractor(url, workdir, concurrency=c) as ex:
            ex.extract(doc)  # connect, build the schema, warm up
            cpu0, t0 = time.process_time(), time.perf_counter()
            batch = ex.extract_many(docs, progress=False)
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        assert batch.summary.succeeded == n, batch.summary.describe()
        out[f"concurrency_{c}"] = {
            "documents": n,
            "docs_per_s": round(n / wall, 2),
            "speedup": round(n / wall / base, 2),
            "client_cpu_cores": round(cpu / wall, 3),
        }
    return out


def _tree_cpu_s() -> float:
    """CPU seconds of this process and every process below it, the reaped ones included.

    Ray's raylet starts the worker processes and reaps them, so their CPU shows up in
    its ``children_*`` times once they exit: this counts the whole local Ray run.
    """
    import psutil

    me = psutil.Process()
    total = 0.0
    for p in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


def ray_scaling(url: str, workdir: Path, doc: Document, documents: int, workers: tuple[int, ...]) -> dict[str, Any]:
    """Docs/s and client CPU per document: extract_many at concurrency 4 against Ray with N workers × 4.

    Every Ray run includes reading the input, checking its ids and starting the actors;
    the whole run's CPU counts (driver, raylet, GCS, workers), so this is Ray's price too.
    """
    import ray

    from llm_extract.distributed import run

    corpus = workdir / "ray-corpus.jsonl"
    corpus.write_text(
        "".join(json.dumps({"id": f"d{i}", "text": doc.text}, ensure_ascii=False) + "\n" for i in range(documents)),
        encoding="utf-8",
    )
    out: dict[str, Any] = {}
    docs = [Document(id=f"d{i}", text=doc.text, published=doc.published) for i in range(documents)]
    with extractor(url, workdir, concurrency=4) as ex:
        ex.extract(doc)
        cpu0, t0 = time.process_time(), time.perf_counter()
        batch = ex.extract_many(docs, progress=False)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert batch.summary.succeeded == documents, batch.summary.describe()
    out["extract_many_4"] = {
        "documents": documents,
        "docs_per_s": round(documents / wall, 2),
        "cpu_ms_per_doc": round(cpu / documents * 1000, 2),
    }
    config = workdir / "bench-4-False.toml"  # written by extractor() above
    ray.init(num_cpus=max(workers) + 2, include_dashboard=False, log_to_driver=False)
    try:
        for n in workers:
            cpu0, t0 = _tree_cpu_s(), time.perf_counter()
            summary = run(corpus, workdir / f"ray-{n}.parquet", config=config, workers=n, cache=False, progress=False)
            wall, cpu = time.perf_counter() - t0, _tree_cpu_s() - cpu0
            assert summary.rows == documents and summary.failed == 0, summary.describe()
            out[f"ray_{n}"] = {
                "documents": documents,
                "docs_per_s": round(documents / wall, 2),
                "cpu_ms_per_doc": round(cpu / documents * 1000, 2),
                "wall_s": round(wall, 1),
            }
    finally:
        ray.shutdown()
    return out


def cache_hits(url: str, workdir: Path, doc: Document, calls: int) -> dict[str, float]:
    """Median time of ``Extractor.extract`` answered from the cache."""
    with extractor(url, workdir, cache=True) as ex:
        ex.extract(doc)
        samples = [timed(lambda: ex.extract(doc)) for _ in range(calls)]
    # The first hit of an entry in a process grounds it again (later hits of the same bytes only parse it).
    first = []
    for _ in range(20):
        with extractor(url, workdir, cache=True) as ex:
            first.append(timed(lambda: ex.extract(doc)))
    p90 = sorted(samples)[int(0.9 * calls)] * 1000
    return {
        "calls": calls,
        "median_ms": round(median_ms(samples), 3),
        "p90_ms": round(p90, 3),
        "first_in_process_median_ms": round(median_ms(first), 3),
    }


def embedded(doc: Document, workdir: Path, model: str | None) -> dict[str, Any]:
    """Seconds per seed article and generated tokens/s with the packaged model, or why it was skipped.

    Uses the ``embedded`` backend of your config (or the built-in one), with ``model`` if given;
    the time includes any re-asks the model needed (``model_calls``).
    """
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return {"skipped": "llama_cpp is not installed (./install.sh)"}
    try:
        config = load_config(None, backend="embedded")
        if model is not None:
            path = workdir / "embedded.toml"
            path.write_text(f'[backends.embedded]\nkind = "embedded"\nmodel = "{model}"\n', encoding="utf-8")
            config = load_config(path)
        with Extractor(config, cache=False) as ex:
            with contextlib.suppress(LLMExtractError):  # load the model before timing
                ex.extract(Document(id="warm-up", text="The talks in the town ended without an agreement.\n"))
            t0 = time.perf_counter()
            result = ex.extract(doc)
            wall = time.perf_counter() - t0
    except Exception as exc:  # report any reason, the other numbers still stand
        return {"skipped": f"{type(exc).__name__}: {exc}"}
    u = result.provenance.usage
    return {
        "model": ex.backend_config.model,
        "seconds_per_article": round(wall, 2),
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "tokens_per_s": round(u.completion_tokens / wall, 1) if wall else 0.0,
        "all_tokens_per_s": round(u.total_tokens / wall, 1) if wall else 0.0,
        "model_calls": u.model_calls,
        "records": result.record_count,
    }


# -- report ------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "llm_extract": version("llm_extract"),
        "instructor": version("instructor"),
        "openai": version("openai"),
    }


def table(r: dict[str, Any]) -> str:
    o, t, c, lat = r["overhead"], r["throughput"], r["cache_hit"], r["settings"]["latency_s"]
    base = t["sequential_instructor"]["docs_per_s"]
    c16 = t["concurrency_16"]

    def ok(good: bool) -> str:
        return "yes" if good else "NO"

    rows = [
        (
            "per-call overhead vs plain instructor (median, 0 ms latency)",
            f"{o['overhead_ms']:.2f} ms",
            "< 2 ms",
            ok(o["overhead_ms"] < 2),
        ),
        (
            "  plain instructor call / llm_extract call (median)",
            f"{o['plain_instructor_ms']:.2f} / {o['llm_extract_ms']:.2f} ms",
            "",
            "",
        ),
        (
            "  overhead vs instructor with a pre-wrapped schema (median)",
            f"{o['overhead_vs_prewrapped_ms']:.2f} ms",
            "< 2 ms",
            ok(o["overhead_vs_prewrapped_ms"] < 2),
        ),
        (f"docs/s, plain sequential instructor loop ({lat * 1000:.0f} ms latency)", f"{base:.2f}", "", ""),
    ]
    for n in (1, 4, 16):
        row = t[f"concurrency_{n}"]
        target, good = ("", "")
        if n == 16:
            target, good = ">= 12x", ok(row["speedup"] >= 12)
        rows.append(
            (f"docs/s, llm_extract concurrency {n}", f"{row['docs_per_s']:.2f} ({row['speedup']:.1f}x)", target, good)
        )
    a16 = t["async_instructor_16"]
    rows.append(
        (
            "  for comparison: plain async instructor, 16 at a time",
            f"{a16['docs_per_s']:.2f} ({a16['speedup']:.1f}x)",
            "",
            "",
        )
    )
    rows += [
        ("cache hit through Extractor.extract (median)", f"{c['median_ms']:.2f} ms", "< 2 ms", ok(c["median_ms"] < 2)),
        ("  first hit of an entry in a process (grounded again)", f"{c['first_in_process_median_ms']:.2f} ms", "", ""),
        (
            "client CPU at concurrency 16 (cores)",
            f"{c16['client_cpu_cores']:.2f}",
            "< 0.75 (well under 1)",
            ok(c16["client_cpu_cores"] < 0.75),
        ),
    ]
    rs = r.get("ray")
    if rs is not None:
        base4 = rs["extract_many_4"]
        rows.append(
            (
                f"docs/s, extract_many concurrency 4, {base4['documents']} docs",
                f"{base4['docs_per_s']:.2f}, {base4['cpu_ms_per_doc']:.1f} ms CPU/doc",
                "",
                "",
            )
        )
        for key, row in rs.items():
            if key.startswith("ray_"):
                n = int(key.split("_")[1])
                rows.append(
                    (
                        f"docs/s, Ray {n} worker(s) x concurrency 4 (whole run)",
                        f"{row['docs_per_s']:.2f} ({row['docs_per_s'] / base4['docs_per_s']:.1f}x), "
                        f"{row['cpu_ms_per_doc']:.1f} ms CPU/doc",
                        f"~{n}x",
                        "",
                    )
                )
    e = r.get("embedded")
    if e is not None:
        if "skipped" in e:
            rows.append(("embedded model", "skipped: " + e["skipped"][:60], "", ""))
        else:
            name = f"embedded {e['model']}"
            rows.append(
                (
                    f"{name}: seconds per seed article",
                    f"{e['seconds_per_article']:.1f} s ({e['model_calls']} model calls, {e['records']} records)",
                    "",
                    "",
                )
            )
            rows.append(
                (f"{name}: generated tokens/s", f"{e['tokens_per_s']:.1f} ({e['completion_tokens']} tokens)", "", "")
            )
            rows.append(
                (
                    f"{name}: prompt + generated tokens/s",
                    f"{e['all_tokens_per_s']:.1f} ({e['prompt_tokens']} + {e['completion_tokens']} tokens)",
                    "",
                    "",
                )
            )
    widths = [max(len(str(row[i])) for row in [("measure", "result", "target", "met"), *rows]) for i in range(4)]
    lines = []
    for row in [("measure", "result", "target", "met"), *rows]:
        lines.append("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--latency", type=float, default=0.2, help="server latency per request for throughput (s)")
    parser.add_argument(
        "--tokens-per-s", type=float, default=None, help="simulated generation speed of the server (default: instant)"
    )
    parser.add_argument("--calls", type=int, default=300, help="calls per median (overhead, cache hit)")
    parser.add_argument("--sequential-docs", type=int, default=10, help="documents in the plain sequential loop")
    parser.add_argument("--seconds", type=float, default=2.0, help="about how long each concurrency level runs")
    parser.add_argument("--embedded", action="store_true", help="also time the packaged model (minutes on 2 cores)")
    parser.add_argument("--embedded-model", metavar="NAME", help="packaged model to time (default: your config's)")
    parser.add_argument("--ray", action="store_true", help="also Ray Data with 1, 2, 4 workers (the [ray] extra)")
    parser.add_argument("--ray-docs", type=int, default=400, help="documents per Ray run")
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json", help="where to write the results")
    args = parser.parse_args(argv)

    doc, answer = seed_answer()
    report: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {"latency_s": args.latency, "tokens_per_s": args.tokens_per_s, "calls": args.calls},
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print("bench: per-call overhead and cache hits (server latency 0) ...", file=sys.stderr)
        with chat_server(answer, 0.0, None) as url:
            report["overhead"] = overhead(url, work, doc, args.calls)
            report["cache_hit"] = cache_hits(url, work, doc, args.calls)
        print(f"bench: throughput (server latency {args.latency * 1000:.0f} ms) ...", file=sys.stderr)
        with chat_server(answer, args.latency, args.tokens_per_s) as url:
            report["throughput"] = throughput(url, work, doc, args.sequential_docs, args.seconds)
            if args.ray:
                print("bench: Ray Data with 1, 2, 4 workers ...", file=sys.stderr)
                report["ray"] = ray_scaling(url, work, doc, args.ray_docs, (1, 2, 4))
    m = report["machine"]
    print(
        f"\nllm_extract {m['llm_extract']}, instructor {m['instructor']}, openai {m['openai']}, "
        f"Python {m['python']}; {m['cpu']}, {m['cores']} cores\n"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    if args.embedded:  # the server numbers are kept even if the model run is interrupted
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print("bench: embedded model (minutes on 2 cores) ...", file=sys.stderr)
        with tempfile.TemporaryDirectory() as tmp:
            report["embedded"] = embedded(doc, Path(tmp), args.embedded_model)
    print(table(report))
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
