"""Streaming batch prediction of a large file: wall time, texts/s and peak RSS.

Builds a ``--rows`` file (default 1,000,000) by cycling the AG News test texts (title +
description, real text) with an ``id`` column, trains a small model on AG News train (or uses
``--run``), then runs the real command line in a child process::

    embedlab predict RUN --file big.csv --id-column id --out preds.csv --no-progress

and reports its wall time and peak resident memory (the child's ``VmHWM``, Linux). For scale,
the same child is first run on a 10,000-row file: streaming means the peak barely moves with
the file size.

    EMBEDLAB_DATA_MIRROR=../shared/data python benchmarks/predict_stream.py
    python benchmarks/predict_stream.py --rows 200000 --model fasttext --format parquet
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_file(path: Path, rows: int, texts: list[str]) -> None:
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        writer = None
        for start in range(0, rows, 100_000):
            n = min(100_000, rows - start)
            table = pa.table({"id": [f"r{start + i}" for i in range(n)],
                              "text": [texts[(start + i) % len(texts)] for i in range(n)]})
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
        writer.close()
        return
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "text"])
        for i in range(rows):
            w.writerow([f"r{i}", texts[i % len(texts)]])


# the child reports its own high-water mark: ru_maxrss would also count the parent's memory
# that a forked child shares until it execs
CHILD = """
import atexit, os, sys
def report():
    with open("/proc/self/status") as f:
        peak = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    with open(os.environ["PEAK_FILE"], "w") as f:
        f.write(peak)
atexit.register(report)
from embedlab.cli import main
main(sys.argv[1:])
"""


def run_child(run: Path, src: Path, out: Path, threads: int) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one ``embedlab predict --file`` child process."""
    peak_file = out.with_suffix(".peak")
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PEAK_FILE": str(peak_file)}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", CHILD, "predict", str(run), "--file", str(src),
                    "--id-column", "id", "--out", str(out), "--no-progress", "--overwrite"],
                   env=env, stdout=subprocess.DEVNULL, check=True)
    seconds = time.perf_counter() - t0
    return seconds, int(peak_file.read_text()) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--model", default="cnn")
    ap.add_argument("--run", type=Path, help="use this run directory instead of training one")
    ap.add_argument("--format", choices=["csv", "parquet"], default="csv")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workdir", type=Path, help="where the big files go (default: a temp dir)")
    args = ap.parse_args()

    import embedlab
    from embedlab.config import RunConfig
    from embedlab.data import load_dataset

    test = load_dataset("ag_news", "test")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="embedlab-stream-"))
    work.mkdir(parents=True, exist_ok=True)
    run = args.run
    if run is None:
        run = work / f"ag-{args.model}"
        cfg = RunConfig.from_dict({"data": {"dataset": "ag_news"}, "model": {"name": args.model},
                                   "training": {"epochs": 2}})
        embedlab.train(cfg, run, overwrite=True)
    suffix = f".{args.format}"
    small, big = work / f"small{suffix}", work / f"big{suffix}"
    make_file(small, 10_000, test.texts)
    make_file(big, args.rows, test.texts)
    out_suffix = ".parquet" if args.format == "parquet" else ".csv"
    small_s, small_mb = run_child(run, small, work / f"small-preds{out_suffix}", args.threads)
    big_s, big_mb = run_child(run, big, work / f"preds{out_suffix}", args.threads)
    size = big.stat().st_size / 2**20
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), "
          f"Python {platform.python_version()}, torch threads {args.threads}")
    print(f"Command: python benchmarks/predict_stream.py --rows {args.rows} --model {args.model} "
          f"--format {args.format}\n")
    print("| input | rows | file MiB | model | wall s | texts/s | peak RSS MiB |")
    print("|---|---:|---:|---|---:|---:|---:|")
    print(f"| {args.format} | 10,000 | {small.stat().st_size / 2**20:.1f} | {args.model} | "
          f"{small_s:.1f} | {10_000 / small_s:,.0f} | {small_mb:,.0f} |")
    print(f"| {args.format} | {args.rows:,} | {size:,.0f} | {args.model} | {big_s:.1f} | "
          f"{args.rows / big_s:,.0f} | {big_mb:,.0f} |")
    if args.workdir is None:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
