"""ONNX (onnxruntime) vs PyTorch prediction speed per model family, at batch 1 and 256.

For each family a model is trained briefly on AG News train (real vocabulary, real weights;
speed does not depend on accuracy), exported with ``embedlab.export.export_onnx`` (which
verifies parity), and both predictors score AG News test texts end to end (preprocessing,
encoding, forward, softmax):

* batch 1: ``predict_proba([text])`` for each of ``--single`` texts, one call per text;
* batch 256: ``predict_proba(texts, batch_size=256)`` over ``--texts`` texts.

Both runtimes get the same thread count (``--threads``). Each figure is the best of
``--repeats`` runs (the machine is shared).

    EMBEDLAB_DATA_MIRROR=../shared/data python benchmarks/export.py
    python benchmarks/export.py --families cnn fasttext --threads 2
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

FAMILIES = {"cnn": {}, "bag": {}, "rnn": {}, "fasttext": {"ngrams": 2}}


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--texts", type=int, default=5000)
    ap.add_argument("--single", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    import torch

    import embedlab
    from embedlab.config import RunConfig
    from embedlab.data import load_dataset
    from embedlab.export import OnnxPredictor, export_onnx

    torch.set_num_threads(args.threads)
    test = load_dataset("ag_news", "test").texts
    texts, single = test[: args.texts], test[: args.single]
    work = Path(tempfile.mkdtemp(prefix="embedlab-export-bench-"))
    rows = []
    for family in args.families:
        cfg = RunConfig.from_dict({"data": {"dataset": "ag_news"},
                                   "model": {"name": family, "params": FAMILIES[family]},
                                   "training": {"epochs": 1, "threads": args.threads}})
        embedlab.train(cfg, work / family)
        torch_p = embedlab.load(work / family)
        report = export_onnx(torch_p, work / f"{family}-onnx")
        onnx_p = OnnxPredictor.load(work / f"{family}-onnx", threads=args.threads)
        for name, p in (("PyTorch", torch_p), ("ONNX Runtime", onnx_p)):
            p.predict_proba(texts[:512])  # warm-up
            one = best(lambda p=p: [p.predict_proba([t]) for t in single], args.repeats)
            many = best(lambda p=p: p.predict_proba(texts, batch_size=256), args.repeats)
            rows.append((family, name, len(single) / one, len(texts) / many, report.max_abs_diff))
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), "
          f"Python {platform.python_version()}, torch {torch.__version__}, {args.threads} thread(s) "
          "for both runtimes")
    print(f"Command: python benchmarks/export.py --threads {args.threads}\n")
    print("| model | runtime | texts/s at batch 1 | texts/s at batch 256 | export max prob. diff |")
    print("|---|---|---:|---:|---:|")
    for family, name, one, many, diff in rows:
        print(f"| {family} | {name} | {one:,.0f} | {many:,.0f} | {diff:.1e} |")
    import shutil

    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
