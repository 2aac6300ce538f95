"""Is an explanation right about the model? ERASER's faithfulness metrics, per method.

DeYoung et al. (2020), "ERASER: A Benchmark to Evaluate Rationalized NLP Models":

* comprehensiveness at k % — how much the explained class's probability drops when the top k %
  of the tokens (by the method's scores) are removed: ``p(x) − p(x without them)``; higher is
  better (the method found what the model relies on);
* sufficiency at k % — the drop when ONLY those tokens are kept: ``p(x) − p(only them)``; lower
  is better;
* AOPC — ERASER's area over the perturbation curve: the mean comprehensiveness (and
  sufficiency) over the k bins.

k % of a text's seen tokens is rounded up (at least one token). Removed tokens are deleted (the
text closes up), the same perturbation every method is judged by. The explained class is the
predicted one, or the one ``target`` names (a multi-label run: any one label, its own sigmoid
probability). A ``random`` row (a seeded random ranking per text) is the floor every method
should beat. The deletion curve is the mean probability of the explained class as 0-100 % of
the top tokens are removed.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embedlab.errors import DataError
from embedlab.explain.explainer import available_methods, check_settings, resolve_method, run_method
from embedlab.explain.model_view import ModelView, delete, keep

K_PERCENT: tuple[int, ...] = (5, 10, 20, 50)
CURVE: tuple[float, ...] = tuple(i / 10 for i in range(11))
FORMAT = "embedlab-faithfulness-v1"


@dataclass
class MethodScores:
    """One row of the table: a method's metrics averaged over the texts."""

    method: str
    comprehensiveness: dict[str, float]
    sufficiency: dict[str, float]
    aopc_comprehensiveness: float
    aopc_sufficiency: float
    ms_per_text: float
    texts: int
    curve: list[float]


@dataclass
class FaithfulnessReport:
    """Faithfulness of each method (and the random floor) on a set of texts."""

    model: str
    data: str
    texts: int
    skipped: int
    k_percent: list[int]
    fractions: list[float]
    rows: list[MethodScores]
    #: each row's ``curve`` is the mean probability of the explained class at ``fractions``
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the class every text was explained for (None: each text's predicted class)
    target: str | None = None

    def row(self, method: str) -> MethodScores:
        for r in self.rows:
            if r.method == method:
                return r
        raise KeyError(method)

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self)}

    def write_json(self, path: str | Path) -> Path:
        from embedlab.atomic import atomic_file

        with atomic_file(path) as tmp:
            tmp.write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")
        return Path(path)

    def table(self) -> Any:
        """A Rich table: one column per method (random last), one row per metric."""
        from rich import box
        from rich.table import Table

        table = Table(title=f"faithfulness: {self.model} on {self.data}: {self.texts} texts",
                      box=box.SIMPLE_HEAD)
        table.add_column("metric", no_wrap=True)
        for r in self.rows:
            table.add_column(r.method, justify="right", no_wrap=True,
                             style="dim" if r.method == "random" else None)
        for k in self.k_percent:
            table.add_row(f"comp@{k}% ↑", *(f"{r.comprehensiveness[str(k)]:.3f}" for r in self.rows))
        for k in self.k_percent:
            table.add_row(f"suff@{k}% ↓", *(f"{r.sufficiency[str(k)]:.3f}" for r in self.rows),
                          end_section=k == self.k_percent[-1])
        table.add_row("AOPC comp ↑", *(f"{r.aopc_comprehensiveness:.3f}" for r in self.rows))
        table.add_row("AOPC suff ↓", *(f"{r.aopc_sufficiency:.3f}" for r in self.rows),
                      end_section=True)
        table.add_row("ms / text", *("" if r.method == "random" else f"{r.ms_per_text:.1f}"
                                     for r in self.rows))
        return table

    def plot(self, path: str | Path) -> Path:
        """Deletion curves (mean probability of the explained class vs share removed) to PNG."""
        from embedlab.explain.render_png import deletion_curves_png

        return deletion_curves_png(self, path)


def _count(percent: float, seen: int) -> int:
    return min(seen, max(1, math.ceil(percent / 100 * seen)))


def _perturbations(ids: list[int], order: np.ndarray, ks: Sequence[int]) -> list[list[int]]:
    """Rows: each k's deletion, each k's keep-only, then the deletion curve."""
    seen = len(ids)
    rows = [delete(ids, order[:_count(k, seen)]) for k in ks]
    rows += [keep(ids, order[:_count(k, seen)]) for k in ks]
    rows += [delete(ids, order[:round(f * seen)]) for f in CURVE]
    return rows


def faithfulness(predictor: Any, texts: Sequence[str], methods: Sequence[str] | None = None,
                 k_percent: Sequence[int] = K_PERCENT, seed: int = 0,
                 settings: dict[str, dict[str, Any]] | None = None, data: str = "texts",
                 progress: Callable[[Iterable], Iterable] | None = None,
                 target: str | None = None) -> FaithfulnessReport:
    """Comprehensiveness, sufficiency and AOPC of each method on ``texts``.

    ``methods`` defaults to every method the model can do; ``settings`` maps a method to its
    settings (e.g. ``{"lime": {"num_samples": 500}}``). Texts that preprocess to nothing are
    skipped and counted in ``skipped``. ``target`` explains that class in every text (an
    unknown one is a one-line error) instead of each text's predicted class.
    """
    view = predictor if isinstance(predictor, ModelView) else ModelView(predictor)
    fixed = None if target is None else view.class_index(target, 0)
    names = list(methods) if methods else available_methods(view)
    names = [resolve_method(view, m) for m in names]
    names = list(dict.fromkeys(names))
    settings = {m: dict((settings or {}).get(m, {})) for m in names}
    for m in names:
        check_settings(m, settings[m])
    if any(int(k) <= 0 or int(k) > 100 for k in k_percent):
        raise DataError(f"k must be percentages in (0, 100], found {list(k_percent)}")
    ks = [int(k) for k in k_percent]
    prepared, skipped = view.prepare_many(texts, "measure")
    rng = np.random.default_rng(seed)
    per: dict[str, list[np.ndarray]] = {m: [] for m in [*names, "random"]}
    seconds = dict.fromkeys(names, 0.0)
    items = progress(prepared) if progress else prepared
    explained = []
    for p in items:
        base = view.proba([p.ids])[0]
        target_index = int(np.argmax(base)) if fixed is None else fixed
        explained.append(base[target_index])
        orders = {}
        for m in names:
            start = time.perf_counter()
            scores = run_method(view, p, m, target_index, **settings[m]).scores
            seconds[m] += time.perf_counter() - start
            orders[m] = np.argsort(-np.asarray(scores), kind="stable")
        orders["random"] = rng.permutation(p.seen)
        rows: list[list[int]] = []
        for order in orders.values():
            rows += _perturbations(p.ids, order, ks)
        probs = view.proba(rows)[:, target_index]
        width = 2 * len(ks) + len(CURVE)
        for j, m in enumerate(orders):
            per[m].append(base[target_index] - probs[j * width:(j + 1) * width])
    report_rows = []
    start = float(np.mean(explained))
    for m, drops in per.items():
        d = np.mean(np.stack(drops), 0)
        comp = {str(k): float(d[i]) for i, k in enumerate(ks)}
        suff = {str(k): float(d[len(ks) + i]) for i, k in enumerate(ks)}
        curve = [float(start - x) for x in d[2 * len(ks):]]
        report_rows.append(MethodScores(
            method=m, comprehensiveness=comp, sufficiency=suff,
            aopc_comprehensiveness=float(np.mean(list(comp.values()))),
            aopc_sufficiency=float(np.mean(list(suff.values()))),
            ms_per_text=1000 * seconds.get(m, 0.0) / len(prepared), texts=len(prepared),
            curve=curve))
    return FaithfulnessReport(
        model=view.family, data=data, texts=len(prepared), skipped=skipped, k_percent=ks,
        fractions=list(CURVE), rows=report_rows, settings=settings, target=target)
