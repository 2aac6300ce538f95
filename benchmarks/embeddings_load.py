"""Time and memory of loading word vectors (``python benchmarks/embeddings_load.py``).

Each case runs in a fresh subprocess; RSS delta is measured around the ``load`` call only
(imports excluded), then again after a first similarity query (which touches every row of a
memory-mapped array and computes the norms).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

CASE = r"""
import json, os, sys, time
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
import embedlab.embeddings as E
source, kwargs = sys.argv[1], json.loads(sys.argv[2])
r0 = rss(); t0 = time.perf_counter()
v = E.load(source, **kwargs)
t1 = time.perf_counter(); r1 = rss()
v.neighbors(v.words[100], topn=5)
t2 = time.perf_counter(); r2 = rss()
print(json.dumps({"words": len(v), "dim": v.dim, "load_s": t1 - t0, "rss_mb": r1 - r0,
                  "query_s": t2 - t1, "rss_after_query_mb": r2 - r0}))
"""


def run_case(source: str, **kwargs: object) -> dict:
    """Run one load in a subprocess and return its measurements."""
    out = subprocess.run(
        [sys.executable, "-c", CASE, source, json.dumps(kwargs)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", default="glove-6b-50d")
    parser.add_argument("--text", action="store_true",
                        help="also export the vectors as GloVe text / word2vec binary / native "
                             "and time loading those")
    args = parser.parse_args()
    from rich.console import Console
    from rich.table import Table

    cases = [(args.source, {}), (f"{args.source} (mmap=False)", {"mmap": False}),
             (f"{args.source} limit=50k", {"limit": 50_000})]
    rows = [(label, run_case(args.source, **kw)) for label, kw in cases]
    if args.text:
        import embedlab.embeddings as E

        with tempfile.TemporaryDirectory() as tmp:
            v = E.load(args.source)
            for fmt, name in [("glove-text", "g.txt"), ("word2vec-binary", "g.bin")]:
                v.export(f"{tmp}/{name}", format=fmt)
                rows.append((f"{fmt} file", run_case(f"{tmp}/{name}")))
            v.save(f"{tmp}/native")
            rows.append(("gensim native dir (mmap)", run_case(f"{tmp}/native")))
    table = Table(title="embedlab.embeddings.load")
    for col in ("case", "words", "dim", "load s", "RSS Δ MB", "1st query s", "RSS Δ after query MB"):
        table.add_column(col, justify="left" if col == "case" else "right")
    for label, r in rows:
        table.add_row(label, f"{r['words']:,}", str(r["dim"]), f"{r['load_s']:.2f}",
                      f"{r['rss_mb']:.0f}", f"{r['query_s']:.2f}", f"{r['rss_after_query_mb']:.0f}")
    Console().print(table)


if __name__ == "__main__":
    main()
