"""The built-in experiments (the tutorials' tables and Kim 2014) with several seeds: our mean ± sd
beside each published number, and the wall time of each experiment.

Usage::

    EMBEDLAB_DATA_MIRROR=../shared/data python benchmarks/experiments.py              # all, 3 seeds
    python benchmarks/experiments.py --names tutorial-flax-pooling --jobs 2
    python benchmarks/experiments.py --names tutorial-flax-pooling --seeds 1 \\
        --set training.epochs=1 --set data.limit=600 --no-write                      # a quick check

Experiments are resumable: run folders live under ``--out`` (default ``runs/bench-experiments``),
so an interrupted benchmark continues where it stopped. Prints a Markdown table and, unless
``--no-write``, appends it with the machine description to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import yaml
from machine import describe

from embedlab.experiments import (
    build_report,
    builtin_names,
    load_builtin,
    run_experiment,
    write_report,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--names", nargs="*", default=None, help="built-in experiments (default: all)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--set", dest="sets", action="append", default=[], help="base override key=value")
    ap.add_argument("--out", type=Path, default=Path("runs/bench-experiments"))
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    overrides = {}
    for item in args.sets:
        key, value = item.split("=", 1)
        overrides[key] = yaml.safe_load(value)
    lines = ["| experiment | cell | metric | ours mean ± sd (n) | published | ours − published |",
             "|---|---|---|---|---|---|"]
    walls: list[str] = []
    notes: list[str] = []
    for name in args.names or builtin_names():
        grid = load_builtin(name, overrides or None, seeds=list(range(args.seeds)))
        t0 = time.perf_counter()
        run_experiment(grid, args.out / name, jobs=args.jobs)
        wall = time.perf_counter() - t0
        write_report(args.out / name)
        report = build_report(args.out / name)
        manifest = json.loads((args.out / name / "manifest.json").read_text(encoding="utf-8"))
        run_s = sum(entry.get("seconds", 0.0) for entry in manifest["runs"].values())
        walls.append(f"{name}: {len(report.records)} runs, {run_s / 60:.1f} min summed over its runs "
                     f"(across resumed invocations), {wall / 60:.1f} min in this invocation")
        for cell, stats in report.cells.items():
            s = stats[grid.metric]
            sd = f" ± {s.sd:.3f}" if s.sd is not None else ""
            pub = grid.published.get(cell)
            diff = ("" if pub is None else f"{s.mean - pub:+.3f}" if report.published_comparable
                    else "not comparable (overrides)")
            lines.append(f"| {name} | {cell} | {grid.metric} | {s.mean:.3f}{sd} ({s.n}) | "
                         f"{'' if pub is None else f'{pub:.3f}'} | {diff} |")
        notes += [f"- {name}: {note}" for note in report.notes]
    table = "\n".join(lines) + "\n\n" + "\n".join(notes)
    machine = (f"{describe()}; jobs {args.jobs}, seeds {args.seeds}"
               + (f", overrides {overrides}" if overrides else ""))
    text = (f"\n## Built-in experiments ({machine})\n\n{table}\n\nWall time: {'; '.join(walls)}. "
            f"Reports: `{args.out}/<experiment>/report/`.\n")
    print(text)
    if not args.no_write:
        with open(Path(__file__).with_name("RESULTS.md"), "a", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
