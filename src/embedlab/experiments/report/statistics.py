"""An experiment's numbers: each finished run's record, per-cell statistics over seeds/folds and
a paired comparison against a reference cell.

Statistics come from each run directory's ``metrics.json`` (the test split, or validation when
the data has no test split) and ``history.json``; ``sd`` is the sample standard deviation
(``ddof=1``), empty for a single run.

The paired t-test's p-value is withheld (``None``, with a note saying why) below
:data:`MIN_PAIRS` pairs: with 2-4 seeds the test has 1-3 degrees of freedom, its normality
assumption cannot be checked and one lucky seed decides the result.

Published numbers sit beside ours only when they can be compared: once the command line changed
the grid (``--set``, ``--folds``; recorded as the grid's ``overrides``), beyond keys that do not
change what is trained (:data:`NEUTRAL_KEYS`), the report says they are not comparable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embedlab.errors import ArtifactError
from embedlab.experiments.grid import Grid
from embedlab.experiments.runner import read_manifest

METRIC_LABELS = {"accuracy": "accuracy", "macro_f1": "macro F1", "weighted_f1": "weighted F1",
                 "train_seconds": "train time (s)"}
QUALITY = ("accuracy", "macro_f1", "weighted_f1")
#: fewest (seed, fold) pairs for which the paired t-test's p-value is shown
MIN_PAIRS = 5
#: overrides that leave the trained model and its evaluation as the grid file describes them
NEUTRAL_KEYS = frozenset({"training.threads", "training.progress", "training.device"})


@dataclass
class RunRecord:
    """One finished run's numbers."""

    cell: str
    seed: int
    fold: int | None
    split: str
    values: dict[str, float]
    history: list[dict]
    confusion: list[list[int]]
    classes: list[str]
    notes: list[str]
    key: str = ""  # the run directory, relative to the experiment folder
    #: the run's calibration figures (``metrics.json``'s ``decisions``), when it fitted them
    decisions: dict | None = None


@dataclass
class Stats:
    mean: float
    sd: float | None
    min: float
    max: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Stats:
        a = np.asarray(values, dtype=np.float64)
        sd = float(a.std(ddof=1)) if len(a) > 1 else None
        return cls(float(a.mean()), sd, float(a.min()), float(a.max()), len(a))


@dataclass
class Report:
    """Everything the report files show."""

    grid: Grid
    records: list[RunRecord]
    cells: dict[str, dict[str, Stats]]
    comparison: list[dict]
    best: str | None
    reference: str | None
    expected_runs: int
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    @property
    def changed(self) -> dict:
        """The command line's changes to the grid that alter what is trained or measured."""
        return {k: v for k, v in (self.grid.overrides or {}).items() if k not in NEUTRAL_KEYS}

    @property
    def published_comparable(self) -> bool:
        """True only when the command line is known to have changed nothing that matters (an
        experiment recorded before overrides were kept is not known to be comparable)."""
        return self.grid.overrides is not None and not self.changed

    @property
    def published_note(self) -> str | None:
        """Why the published numbers are not comparable (None when they are, or there are none)."""
        if not self.grid.published or self.published_comparable:
            return None
        if self.grid.overrides is None:
            return ("the published numbers may not be comparable with these runs: this "
                    "experiment was recorded before embedlab kept its command-line changes")
        changes = ", ".join(f"{k}={v}" for k, v in self.changed.items())
        return (f"the published numbers are NOT comparable with these runs: they come from the "
                f"settings the grid file describes, and this experiment changed {changes}")


def _values(metrics: dict) -> tuple[str, dict[str, float]]:
    split = "test" if "test" in metrics else "validation"
    m = metrics[split]
    return split, {"accuracy": float(m["accuracy"]), "macro_f1": float(m["macro"]["f1"]),
                   "weighted_f1": float(m["weighted"]["f1"]),
                   "train_seconds": float(metrics["train"]["seconds"])}


def collect(out: str | Path) -> tuple[Grid, list[RunRecord], int]:
    """The grid, the finished runs' records (grid order), and how many runs the grid has."""
    out = Path(out)
    manifest = read_manifest(out)
    grid = Grid.from_dict(manifest["grid"])
    specs = grid.runs()
    records = []
    for spec in specs:
        if spec.key not in manifest["runs"]:
            continue
        run_dir = out / spec.key
        try:
            metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
            history = json.loads((run_dir / "history.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise ArtifactError(f"{run_dir}: cannot read the run's metrics ({e})") from None
        split, values = _values(metrics)
        m = metrics[split]
        records.append(RunRecord(spec.cell, spec.seed, spec.fold, split, values, history,
                                 m["confusion_matrix"], m["classes"],
                                 list(metrics.get("data", {}).get("notes", [])), spec.key,
                                 metrics.get("decisions")))
    return grid, records, len(specs)


def _by_cell(records: list[RunRecord]) -> dict[str, dict[tuple, RunRecord]]:
    by_cell: dict[str, dict[tuple, RunRecord]] = {}
    for r in records:
        by_cell.setdefault(r.cell, {})[(r.seed, r.fold)] = r
    return by_cell


def _paired_row(cell: dict[tuple, RunRecord], ref: dict[tuple, RunRecord], keys: list[tuple],
                metric: str) -> dict:
    """One cell's differences to the reference over the runs ``keys`` (seed, fold) they share;
    wins, losses and a paired t-test for the grid's ``metric``."""
    from scipy import stats

    row: dict = {"n": len(keys)}
    for name in QUALITY:
        d = np.array([cell[k].values[name] - ref[k].values[name] for k in keys])
        row[name] = Stats.of(d.tolist())
        if name == metric:
            row["wins"] = int((d > 0).sum())
            row["losses"] = int((d < 0).sum())
            p, why = None, None
            if len(d) < MIN_PAIRS:
                why = f"withheld: {len(d)} pair{'s' if len(d) != 1 else ''} (needs ≥ {MIN_PAIRS})"
            elif np.ptp(d) == 0:
                why = "undefined: every difference is the same"
            else:
                p = float(stats.ttest_rel([cell[k].values[name] for k in keys],
                                          [ref[k].values[name] for k in keys]).pvalue)
            row["p_value"] = p
            row["p_note"] = why
    return row


def _paired(grid: Grid, records: list[RunRecord], reference: str) -> list[dict]:
    """Per cell: differences to the reference cell over matching (seed, fold) runs."""
    by_cell = _by_cell(records)
    ref = by_cell.get(reference, {})
    rows = []
    for cell in grid.cells:
        if cell.name == reference or cell.name not in by_cell:
            continue
        keys = sorted(set(ref) & set(by_cell[cell.name]), key=lambda k: (k[0], -1 if k[1] is None else k[1]))
        if keys:
            row = _paired_row(by_cell[cell.name], ref, keys, grid.metric)
            rows.append({"cell": cell.name, "reference": reference, **row})
    return rows


def _notes(grid: Grid, records: list[RunRecord], expected: int, comparison: list[dict]) -> list[str]:
    """The grid's notes, the runs' data notes (once each), and what the numbers are."""
    notes = list(grid.notes)
    for r in records:
        for n in r.notes:
            if not n.startswith("cross-validation fold") and n not in notes:
                notes.append(n)
    withheld = sorted({r["n"] for r in comparison if r["n"] < MIN_PAIRS})
    if withheld:
        notes.append(f"paired t-test p-values are withheld below {MIN_PAIRS} pairs (here "
                     f"{', '.join(map(str, withheld))}): with so few seeds the test means little; "
                     f"run more seeds (--seeds {MIN_PAIRS})")
    if len(records) < expected:
        notes.append(f"unfinished experiment: {len(records)} of {expected} runs are done")
    splits = sorted({r.split for r in records})
    notes.append(f"metrics on the {' / '.join(splits)} split"
                 + (" (each fold's held-out part)" if any(r.fold is not None for r in records) else ""))
    return notes


def build_report(out: str | Path, reference: str | None = None) -> Report:
    """Aggregate a (possibly unfinished) experiment folder."""
    grid, records, expected = collect(out)
    if not records:
        raise ArtifactError(f"{out}: no finished runs yet; run `embedlab experiment run` first")
    cells: dict[str, dict[str, Stats]] = {}
    for cell in grid.cells:
        rs = [r for r in records if r.cell == cell.name]
        if rs:
            cells[cell.name] = {k: Stats.of([r.values[k] for r in rs]) for k in METRIC_LABELS}
    best = max(cells, key=lambda c: cells[c][grid.metric].mean)
    names = [c.name for c in grid.cells]
    reference = reference or grid.reference or names[0]
    if reference not in names:
        from embedlab.errors import ConfigError, suggest

        raise ConfigError(f"reference cell '{reference}' is not a cell{suggest(reference, names)}; "
                          f"cells: {', '.join(names)}")
    comparison = _paired(grid, records, reference)
    return Report(grid, records, cells, comparison, best, reference,
                  expected, _notes(grid, records, expected, comparison))
