"""Run every cell × seed × fold of a grid into one experiment directory, resumably.

Layout::

    <out>/manifest.json                 kind "embedlab-experiment": the grid and every finished run
    <out>/runs/<cell>/seed-<s>[/fold-<k>]   ordinary run directories (written atomically)
    <out>/report/                       tables and plots (``embedlab experiment report``)

A run counts as done once its directory is complete (it has its own manifest); the experiment
manifest is rewritten atomically after each run, so a killed experiment continues where it
stopped. One process at a time may write an experiment: a second one is refused (``fcntl`` lock).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

from embedlab.atomic import atomic_file
from embedlab.config import RunConfig
from embedlab.errors import ArtifactError, ConfigError
from embedlab.experiments.grid import Grid, RunSpec
from embedlab.kinds import EXPERIMENT_FORMAT as FORMAT
from embedlab.kinds import EXPERIMENT_KIND as KIND

log = logging.getLogger("embedlab")

MANIFEST = "manifest.json"
LOCK = ".lock"
_STALE = re.compile(r"^\..+\.(tmp|old)$")
# what must match for a folder to be resumed with a grid (seeds may be added later)
_SAME = ("base", "cells", "folds")


@dataclass
class ExperimentResult:
    out: Path
    total: int
    trained: int
    skipped: int
    seconds: float


def read_manifest(out: str | Path) -> dict:
    """The experiment manifest of ``out`` (a clear error if it is not an experiment folder)."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"{out}: not an experiment folder ({MANIFEST} is missing)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise ArtifactError(f"{path}: not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != KIND:
        raise ArtifactError(f"{out}: {MANIFEST} is not an embedlab experiment manifest "
                            f"(kind {manifest.get('kind') if isinstance(manifest, dict) else None!r})")
    return manifest


def write_manifest(out: Path, manifest: dict) -> None:
    with atomic_file(out / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")


@contextmanager
def experiment_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on the experiment folder; refuse at once if another process has it."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise ArtifactError(f"{out}: another process (pid {holder}) is running this experiment; "
                                "wait for it to finish or choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def _prepare(out: Path, grid: Grid, overwrite: bool) -> dict:
    """Check ``out`` can hold this experiment; return its manifest (new or resumed)."""
    from embedlab import __version__

    fresh = {"kind": KIND, "format": FORMAT, "embedlab_version": __version__,
             "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
             "grid": grid.to_dict(), "runs": {}}
    if out.exists() and not out.is_dir():
        raise ArtifactError(f"{out}: exists and is not a folder; choose another --out")
    if not (out / MANIFEST).is_file():
        others = [p.name for p in out.iterdir() if p.name != LOCK] if out.is_dir() else []
        if others:
            raise ArtifactError(f"{out}: folder is not empty and is not an embedlab experiment; "
                                "refusing to write into it (choose another --out)")
        return fresh
    manifest = read_manifest(out)
    old = _with_current_defaults(manifest.get("grid", {}))
    new = grid.to_dict()
    if all(old.get(k) == new.get(k) for k in _SAME):
        manifest["grid"] = new
        return manifest
    if not overwrite:
        diff = next(k for k in _SAME if old.get(k) != new.get(k))
        raise ArtifactError(f"{out}: holds an experiment with a different grid ({diff} differ); choose "
                            "another --out, or pass --overwrite to replace it")
    for name in ("runs", "report", "mlflow-artifacts"):  # only what an experiment writes
        shutil.rmtree(out / name, ignore_errors=True)
    for name in (MANIFEST, "mlflow.db"):
        (out / name).unlink(missing_ok=True)
    return fresh


def _with_current_defaults(grid: dict) -> dict:
    """A recorded grid whose base config is re-read with this version's defaults, so that a
    setting added since it was written (at its default) does not make the grids differ."""
    try:
        return {**grid, "base": RunConfig.from_dict(grid["base"]).model_dump(mode="json")}
    except (ConfigError, KeyError, TypeError):
        return grid  # a field that no longer exists: compared as recorded


def _clean_stale(out: Path) -> None:
    """Remove half-written run directories a killed process left (``.<name>.*.tmp``)."""
    runs = out / "runs"
    if not runs.is_dir():
        return
    for p in sorted(runs.rglob(".*"), reverse=True):
        if p.is_dir() and _STALE.match(p.name):
            shutil.rmtree(p, ignore_errors=True)
            log.info("removed an unfinished run left by an interrupted experiment: %s", p)


def _is_complete(run_dir: Path) -> bool:
    from embedlab.artifacts import MANIFEST as RUN_MANIFEST

    return (run_dir / RUN_MANIFEST).is_file() and (run_dir / "metrics.json").is_file()


def _check_folds(grid: Grid) -> None:
    """Every cross-validated cell's data must allow its fold count (checked before any run)."""
    from embedlab.experiments.cv import check_folds, load_cv_data

    seen: set[str] = set()
    for cell in grid.cells:
        config = grid.cell_config(cell, grid.seeds[0])
        k = grid.cell_folds(config)
        if not k:
            continue
        key = json.dumps([config.data.model_dump(mode="json"), k], sort_keys=True)
        if key not in seen:
            seen.add(key)
            check_folds(load_cv_data(config), k, f"{grid.source}: cell '{cell.name}': ")


def execute_run(config_data: dict, folds: int | None, fold: int | None, out: str) -> dict:
    """Train one run into ``out`` (a worker process calls this too); return a short summary."""
    from embedlab.config import RunConfig
    from embedlab.training.run import train_run

    config = RunConfig.from_dict(config_data)
    t0 = time.perf_counter()
    if folds:
        from embedlab.experiments.cv import train_fold

        result = train_fold(config, folds, fold or 0, out)
    else:
        result = train_run(config, out)
    split = "test" if "test" in result.metrics else "validation"
    m = result.metrics[split]
    return {"split": split, "accuracy": m["accuracy"], "weighted_f1": m["weighted"]["f1"],
            "macro_f1": m["macro"]["f1"], "seconds": time.perf_counter() - t0}


def _threads_per_job(jobs: int) -> int:
    return max(1, (os.cpu_count() or 1) // jobs)


def _check_options(jobs: int, track: str | None) -> None:
    if jobs < 1:
        raise ConfigError(f"--jobs must be at least 1; found {jobs}")
    if track not in (None, "mlflow"):
        raise ConfigError(f"unknown tracker '{track}'; known: mlflow")


def _plan(out: Path, specs: list[RunSpec], done: dict[str, dict]) -> list[RunSpec]:
    """The runs still to train; finished runs the manifest missed (killed before it was
    updated) are added to ``done``. A partial run directory we did not leave is refused."""
    todo: list[RunSpec] = []
    for spec in specs:
        run_dir = out / spec.key
        if _is_complete(run_dir):
            if spec.key not in done:
                done[spec.key] = {"cell": spec.cell, "seed": spec.seed, "fold": spec.fold}
            continue
        if run_dir.exists() and any(p for p in run_dir.iterdir() if not p.name.startswith("fold-")):
            raise ArtifactError(f"{run_dir}: incomplete run directory that this experiment did not "
                                "leave; move it away and run again")
        done.pop(spec.key, None)
        todo.append(spec)
    return todo


def _open_tracker(out: Path, manifest: dict, specs: list[RunSpec]) -> Any:
    """An MLflow tracker for the experiment, with every finished but untracked run logged."""
    from embedlab.experiments.tracking import MlflowTracker

    tracker = MlflowTracker.open(out, manifest)
    write_manifest(out, manifest)
    done = manifest["runs"]
    for spec in specs:  # runs finished before tracking was asked for, or before a kill
        entry = done.get(spec.key)
        if entry is not None and not entry.get("tracked"):
            tracker.log_run(spec, out / spec.key)
            entry["tracked"] = True
    write_manifest(out, manifest)
    return tracker


@dataclass
class _Recorder:
    """Records each finished run: in the manifest (rewritten at once), the tracker, the log."""

    out: Path
    manifest: dict
    total: int
    tracker: Any = None
    on_run_done: Callable[[RunSpec, dict], Any] | None = None

    def __call__(self, spec: RunSpec, summary: dict) -> None:
        done = self.manifest["runs"]
        entry = {"cell": spec.cell, "seed": spec.seed, "fold": spec.fold,
                 "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"), **summary}
        done[spec.key] = entry
        if self.tracker is not None:
            self.tracker.log_run(spec, self.out / spec.key)
            entry["tracked"] = True
        write_manifest(self.out, self.manifest)
        fold = f" fold {spec.fold + 1}" if spec.fold is not None else ""
        log.info("[%d/%d] %s seed %d%s: %s accuracy %.4f, weighted F1 %.4f (%.1fs)", len(done),
                 self.total, spec.cell, spec.seed, fold, summary["split"], summary["accuracy"],
                 summary["weighted_f1"], summary["seconds"])
        if self.on_run_done is not None:
            self.on_run_done(spec, summary)


def _job_args(grid: Grid, out: Path, threads: int | None, spec: RunSpec) -> tuple:
    """The arguments of :func:`execute_run` for one run (plain data: they cross processes)."""
    config = spec.config
    if threads is not None and config.training.threads is None:
        config = config.override({"training.threads": threads})
    config = config.override({"training.progress": False})
    folds = grid.cell_folds(spec.config) if spec.fold is not None else None
    return config.model_dump(mode="json"), folds, spec.fold, str(out / spec.key)


def run_experiment(grid: Grid, out: str | Path, *, jobs: int = 1, overwrite: bool = False,
                   track: str | None = None,
                   on_run_done: Callable[[RunSpec, dict], Any] | None = None) -> ExperimentResult:
    """Train every run of ``grid`` not yet finished in ``out``.

    ``jobs`` > 1 trains that many runs at once in separate processes, each with its share of
    the CPU threads (unless the config sets ``training.threads``). ``track="mlflow"`` logs every
    run as a child of one MLflow run. ``on_run_done(spec, summary)`` is called after each run.
    """
    _check_options(jobs, track)
    out = Path(out)
    specs = grid.runs()
    _check_folds(grid)
    if track == "mlflow":
        from embedlab.experiments.tracking import check_mlflow

        check_mlflow()
    t_start = time.perf_counter()
    with experiment_lock(out):
        manifest = _prepare(out, grid, overwrite)
        _clean_stale(out)
        todo = _plan(out, specs, manifest["runs"])
        write_manifest(out, manifest)
        tracker = _open_tracker(out, manifest, specs) if track == "mlflow" else None
        skipped = len(specs) - len(todo)
        if skipped:
            log.info("%s: %d of %d runs already done; %d to go", out, skipped, len(specs), len(todo))
        record = _Recorder(out, manifest, len(specs), tracker, on_run_done)
        job_args = partial(_job_args, grid, out, _threads_per_job(jobs) if jobs > 1 else None)
        try:
            if jobs == 1:
                for spec in todo:
                    record(spec, execute_run(*job_args(spec)))
            else:
                _run_parallel(todo, jobs, job_args, record)
        finally:
            if tracker is not None:
                tracker.close(finished=len(manifest["runs"]) == len(specs))
    return ExperimentResult(out, len(specs), len(todo), skipped, time.perf_counter() - t_start)


def _run_parallel(todo: list[RunSpec], jobs: int, job_args: Callable[[RunSpec], tuple],
                  record: Callable[[RunSpec, dict], None]) -> None:
    """Keep ``jobs`` worker processes busy; stop handing out runs at the first failure."""
    import multiprocessing

    pending = list(todo)
    running: dict[Future, RunSpec] = {}
    error: BaseException | None = None
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            while pending or running:
                while pending and len(running) < jobs and error is None:
                    spec = pending.pop(0)
                    running[pool.submit(execute_run, *job_args(spec))] = spec
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    spec = running.pop(future)
                    try:
                        summary = future.result()
                    except Exception as e:  # noqa: BLE001  keep the first; let running jobs finish
                        error = error or e
                        pending.clear()
                        continue
                    record(spec, summary)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    if error is not None:
        raise error
