"""HTTP serving benchmark: `embedlab serve` under a bounded load generator on loopback.

Usage::

    EMBEDLAB_DATA_MIRROR=../shared/data python benchmarks/serve.py                 # trains a cnn
    python benchmarks/serve.py --run runs/ag-cnn --workers 2 --no-write

Starts ``embedlab serve RUN --workers W --no-access-log`` on a free 127.0.0.1 port (a real
uvicorn, separate processes), then drives it with httpx + asyncio from this process:

1. **latency**: single-text requests sent open-loop at a fixed rate (default 100 requests/s,
   1,000 requests), each timed from send to full response by the client; p50 / p99 / max.
2. **throughput**: 64-text requests sent back to back by C concurrent clients for a fixed
   number of requests (capped by a duration), for each C in ``--concurrency``; texts/s is
   64 × completed requests / wall time. The highest is reported.

Every response must be a 200 with one prediction per text; any other answer or transport error
is counted and reported (the targets need 0). The texts are AG News test texts (the mirror's
official test split). Without ``--run`` the benchmark trains the default cnn on AG News through
the Python API first. Prints a Markdown table and, unless ``--no-write``, appends it to
``benchmarks/RESULTS.md``. Note: the client shares the machine's cores with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from machine import describe

HERE = Path(__file__).resolve().parent
TARGETS = {"p50_ms": 5.0, "p99_ms": 20.0, "texts_per_s": 10_000}


def machine() -> str:
    return describe()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_default_cnn(out: Path) -> Path:
    from embedlab.config import RunConfig
    from embedlab.training.run import train_run

    cfg = RunConfig.from_dict({"data": {"dataset": "ag_news"}, "model": {"name": "cnn"},
                               "training": {"progress": False}})
    t0 = time.perf_counter()
    result = train_run(cfg, out)
    print(f"trained cnn on AG News in {time.perf_counter() - t0:.0f}s: test accuracy "
          f"{result.metrics['test']['accuracy']:.3f}", file=sys.stderr, flush=True)
    return out


def ag_news_texts(n: int) -> list[str]:
    from embedlab.data import load_dataset

    texts = load_dataset("ag_news", "test").texts
    rng = np.random.default_rng(0)
    return [texts[i] for i in rng.choice(len(texts), size=min(n, len(texts)), replace=False)]


class Server:
    """``embedlab serve`` in a subprocess, stopped on exit."""

    def __init__(self, run: Path, workers: int, threads: int | None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "embedlab", "serve", f"model={run}", "--port", str(self.port),
               "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
        if threads:
            cmd += ["--threads", str(threads)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def __enter__(self) -> Server:  # noqa: PYI034
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read()}")
            try:
                if httpx.get(self.base + "/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server not ready after 120 s")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def _post(client: httpx.AsyncClient, texts: list[str], errors: list[str]) -> float | None:
    t0 = time.perf_counter()
    try:
        r = await client.post("/v1/models/model/predict", json={"texts": texts, "top_k": 1})
        dt = time.perf_counter() - t0
        if r.status_code != 200 or len(r.json()["predictions"]) != len(texts):
            errors.append(f"{r.status_code}: {r.text[:120]}")
            return None
        return dt
    except httpx.HTTPError as e:
        errors.append(f"{type(e).__name__}: {e}")
        return None


async def latency(base: str, texts: list[str], rate: float, n: int, warmup: int) -> dict:
    """Open loop: request i is sent at t0 + i / rate whatever the earlier ones are doing."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        errors: list[str] = []
        for i in range(warmup):
            await _post(client, [texts[i % len(texts)]], errors)
        errors.clear()
        start = time.perf_counter()
        tasks = []
        for i in range(n):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_post(client, [texts[i % len(texts)]], errors)))
        times = await asyncio.gather(*tasks)
        wall = time.perf_counter() - start
    ok = np.array([t for t in times if t is not None]) * 1000
    return {"requests": n, "errors": len(errors), "first_error": errors[0] if errors else "",
            "achieved_rps": n / wall, "p50_ms": float(np.percentile(ok, 50)) if len(ok) else float("nan"),
            "p99_ms": float(np.percentile(ok, 99)) if len(ok) else float("nan"),
            "max_ms": float(ok.max()) if len(ok) else float("nan")}


async def throughput(base: str, texts: list[str], batch: int, concurrency: int, n: int,
                     max_seconds: float) -> dict:
    """Closed loop: ``concurrency`` clients each send the next batch as soon as one returns."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        errors: list[str] = []
        batches = [texts[(i * batch) % len(texts):][:batch] for i in range(64)]
        batches = [b if len(b) == batch else texts[:batch] for b in batches]
        for b in batches[:concurrency * 2]:
            await _post(client, b, errors)
        errors.clear()
        done = 0
        start = time.perf_counter()
        deadline = start + max_seconds
        counter = iter(range(n))

        async def worker() -> None:
            nonlocal done
            for i in counter:
                if time.perf_counter() > deadline:
                    return
                if await _post(client, batches[i % len(batches)], errors) is not None:
                    done += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return {"concurrency": concurrency, "requests": done + len(errors), "errors": len(errors),
            "first_error": errors[0] if errors else "", "texts_per_s": done * batch / wall,
            "requests_per_s": done / wall, "seconds": wall}


def _row(measure: str, measured: str, target: str, met: bool) -> str:
    return f"| {measure} | {measured} | {target} | {'yes' if met else 'no'} |"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, help="run directory to serve (default: train a cnn on AG News)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None, help="torch threads per worker")
    ap.add_argument("--rate", type=float, default=100.0, help="requests/s of the latency phase")
    ap.add_argument("--requests", type=int, default=1000, help="requests of the latency phase")
    ap.add_argument("--batch", type=int, default=64, help="texts per request, throughput phase")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--batch-requests", type=int, default=600, help="requests per concurrency level")
    ap.add_argument("--max-seconds", type=float, default=20.0, help="cap per concurrency level")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="embedlab-bench-serve-") as tmp:
        run = args.run or train_default_cnn(Path(tmp) / "ag-cnn")
        texts = ag_news_texts(4096)
        load_before = os.getloadavg()[0]
        with Server(run, args.workers, args.threads) as server:
            lat = asyncio.run(latency(server.base, texts, args.rate, args.requests, warmup=100))
            print(f"latency: {lat}", file=sys.stderr, flush=True)
            tps = []
            for c in args.concurrency:
                r = asyncio.run(throughput(server.base, texts, args.batch, c, args.batch_requests,
                                           args.max_seconds))
                print(f"throughput: {r}", file=sys.stderr, flush=True)
                tps.append(r)
        load_after = os.getloadavg()[0]
    best = max(tps, key=lambda r: r["texts_per_s"])
    errors = lat["errors"] + sum(r["errors"] for r in tps)
    run_name = "cnn trained on AG News by this script" if args.run is None else f"`{args.run}`"
    p50, p99, tput = lat["p50_ms"], lat["p99_ms"], best["texts_per_s"]
    levels = ", ".join(str(c) for c in args.concurrency)
    rows = [
        "| measure | measured | target | met? |",
        "|---|---|---|---|",
        _row(f"single-text latency p50 at {lat['achieved_rps']:.0f} req/s ({lat['requests']} requests)",
             f"{p50:.2f} ms", f"≤ {TARGETS['p50_ms']:.0f} ms", p50 <= TARGETS["p50_ms"]),
        _row(f"single-text latency p99 (max {lat['max_ms']:.1f} ms)", f"{p99:.2f} ms",
             f"≤ {TARGETS['p99_ms']:.0f} ms", p99 <= TARGETS["p99_ms"]),
        _row(f"throughput, {args.batch}-text requests (best of concurrency {levels}: "
             f"{best['concurrency']})", f"{tput:,.0f} texts/s ({best['requests_per_s']:.0f} req/s)",
             f"≥ {TARGETS['texts_per_s']:,} texts/s", tput >= TARGETS["texts_per_s"]),
        _row("errors (non-200 or transport)", str(errors), "0", errors == 0),
    ]
    detail = ["", "| concurrency | requests | texts/s | requests/s | errors |", "|---|---|---|---|---|"]
    detail += [f"| {r['concurrency']} | {r['requests']} | {r['texts_per_s']:,.0f} | {r['requests_per_s']:.0f} | "
               f"{r['errors']} |" for r in tps]
    table = "\n".join(rows + detail)
    print(table)
    print(f"load average (1 min): {load_before:.1f} before, {load_after:.1f} after", file=sys.stderr)
    if not args.no_write:
        threads = args.threads or max(1, (os.cpu_count() or 1) // args.workers)
        section = (
            f"\n## serve (HTTP) — {time.strftime('%Y-%m-%d')}\n\n"
            f"Machine: {machine()}. Command: `python benchmarks/serve.py"
            f"{'' if args.run is None else ' --run ' + str(args.run)}` — `embedlab serve` with "
            f"{args.workers} uvicorn workers × {threads} torch thread(s), access log off, model "
            f"{run_name}; load generator: httpx + asyncio in one process on the same cores, "
            "loopback only. Latency is measured by the client (send → full response), open loop "
            f"at {args.rate:.0f} requests/s; throughput is closed loop with "
            f"{args.batch}-text requests. The CPU was shared with other jobs while this ran: "
            f"1-minute load average {load_before:.1f} before, {load_after:.1f} after.\n\n"
            + table + "\n")
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(section)
        print(f"appended to {HERE / 'RESULTS.md'}", file=sys.stderr)
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
