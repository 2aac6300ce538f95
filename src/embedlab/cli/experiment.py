"""``embedlab experiment run | report | list`` and ``embedlab search``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from embedlab.cli.common import console, new_app, print_error, setup_logging

app = new_app(help="Grids of runs over seeds and folds, with reports; the built-in tutorial experiments.")


class _RunLinesOnly:
    """Logging filter: warnings (each once), and the experiment's own messages."""

    def __init__(self) -> None:
        self.warned: set[str] = set()

    def filter(self, record) -> bool:
        if record.levelno >= 30:  # each warning once, not once per run
            message = record.getMessage()
            if message in self.warned:
                return False
            self.warned.add(message)
            return True
        return "experiments" in record.pathname


def _logging(verbose: bool) -> None:
    """One line per run or trial; the runs' own per-epoch lines only with --verbose."""
    import logging

    setup_logging(verbose)
    for handler in logging.getLogger("embedlab").handlers:
        handler.filters = [f for f in handler.filters if not isinstance(f, _RunLinesOnly)]
        if not verbose:
            handler.addFilter(_RunLinesOnly())


def _set(items: list[str] | None) -> dict:
    from embedlab.config.keys import parse_set

    return parse_set(items or [])


def _seeds(seeds: int | None) -> list[int] | None:
    if seeds is None:
        return None
    if seeds < 1:
        from embedlab.errors import ConfigError

        raise ConfigError(f"--seeds must be at least 1; found {seeds}")
    return list(range(seeds))


def show_report(out: Path, reference: str | None = None) -> None:
    from embedlab.experiments.report import comparison_table, console_table, write_report
    from embedlab.experiments.report.pages import settings_lines

    report = write_report(out, reference)
    for line in settings_lines(report):
        console.print(line, highlight=False)
    console.print(console_table(report))
    if report.comparison:
        console.print(comparison_table(report))
    for note in report.notes:
        console.print(f"note: {note}", highlight=False)
    console.print(f"report written to [bold]{out / 'report'}[/] (report.md, report.html, summary.csv, plots)")


@app.command("run")
def run(
    grid: Annotated[Path | None, typer.Argument(help="grid YAML file")] = None,
    builtin: Annotated[str | None, typer.Option(help="a built-in experiment (embedlab experiment list)")] = None,
    out: Annotated[Path | None, typer.Option(help="experiment folder (default experiments/<name>)")] = None,
    seeds: Annotated[int | None, typer.Option(help="use seeds 0..N-1 instead of the file's")] = None,
    folds: Annotated[int | None, typer.Option(help="k-fold cross-validation for every cell")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a base config key, e.g. "
                                                   "--set training.epochs=2")] = None,
    jobs: Annotated[int, typer.Option(help="runs trained at once, in separate processes")] = 1,
    track: Annotated[str | None, typer.Option(help="log runs to a tracker: mlflow")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace an experiment with a different grid in --out")] = False,
    report: Annotated[bool, typer.Option(help="write the report when done")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log every epoch")] = False,
) -> None:
    """Train every cell × seed × fold of a grid (resumable: finished runs are skipped), then report."""
    _logging(verbose)
    g = build_grid(grid, builtin, set_, seeds, folds)
    out = out or Path("experiments") / g.name
    console.print(f"experiment [bold]{g.name}[/]: {len(g.cells)} cells × {len(g.seeds)} seeds"
                  + (f" × folds ({g.folds})" if g.folds else "") + f" = {len(g.runs())} runs → {out}")
    _run_grid(g, out, jobs=jobs, overwrite=overwrite, track=track)
    if report:
        show_report(out)


def _grid_source(grid: Path | None, builtin: str | None) -> tuple[dict, str, Path | None]:
    """The grid mapping as written, its name for messages and the folder its paths are relative to."""
    import yaml

    from embedlab.errors import ConfigError
    from embedlab.experiments.grid import builtin_data, load_grid

    if (grid is None) == (builtin is None):
        raise ConfigError("give a grid file or --builtin NAME (one of them)")
    if builtin is not None:
        return builtin_data(builtin), f"builtin:{builtin}", None
    assert grid is not None
    if not grid.is_file():
        raise ConfigError(f"{grid}: grid file not found")
    load_grid(grid)  # validates the file as written
    return yaml.safe_load(grid.read_text(encoding="utf-8")), str(grid), grid.parent


def build_grid(grid: Path | None, builtin: str | None, set_: list[str] | None,
               seeds: int | None, folds: int | None):
    """The grid of a file or a built-in experiment with the command line's ``--set``,
    ``--seeds`` and ``--folds`` applied (validated as a whole, like the file)."""
    from embedlab.experiments.grid import with_overrides

    data, source, base_dir = _grid_source(grid, builtin)
    return with_overrides(data, source, base_dir, _set(set_),
                          None if seeds is None else _seeds(seeds), folds)


def _run_grid(g, out: Path, *, jobs: int, overwrite: bool, track: str | None) -> None:
    """Run the grid; Ctrl+C says how many runs are kept and exits 130."""
    from embedlab.experiments.runner import read_manifest, run_experiment

    try:
        result = run_experiment(g, out, jobs=jobs, overwrite=overwrite, track=track)
    except KeyboardInterrupt:
        done = len(read_manifest(out)["runs"]) if (out / "manifest.json").is_file() else 0
        print_error(f"interrupted: {done} of {len(g.runs())} runs are done and kept; run the same "
                    "command again to continue")
        raise typer.Exit(130) from None
    console.print(f"{result.trained} runs trained, {result.skipped} already done, in {result.seconds:.1f}s")


@app.command("report")
def report_cmd(
    folder: Annotated[Path, typer.Argument(help="experiment folder")],
    reference: Annotated[str | None, typer.Option(help="cell the others are compared against")] = None,
) -> None:
    """Tables (Markdown, CSV, HTML) and plots of an experiment folder, finished or not."""
    setup_logging()
    show_report(folder, reference)


@app.command("list")
def list_cmd() -> None:
    """The built-in experiments shipped with embedlab."""
    from rich.table import Table

    from embedlab.experiments.grid import builtin_names, load_builtin

    t = Table(title="built-in experiments (embedlab experiment run --builtin NAME)")
    for col in ("name", "cells", "seeds", "folds", "runs", "what"):
        t.add_column(col, no_wrap=col != "what", overflow="fold")
    for name in builtin_names():
        g = load_builtin(name)
        t.add_row(name, str(len(g.cells)), str(len(g.seeds)), str(g.folds or ""), str(len(g.runs())),
                  g.description.split(":")[0])
    console.print(t)


def search(
    space: Annotated[Path, typer.Argument(help="search-space YAML file")],
    trials: Annotated[int | None, typer.Option(help="total trial budget of the study (all workers)")] = None,
    timeout: Annotated[float | None, typer.Option(help="stop this worker after SECONDS")] = None,
    out: Annotated[Path | None, typer.Option(help="folder for the study and the best config")] = None,
    storage: Annotated[str | None, typer.Option(help="shared study storage: sqlite:///f.db, a database "
                                                "URL, or journal:PATH for a journal file")] = None,
    study: Annotated[str | None, typer.Option(help="study name (default: the space file's name)")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a base config key")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Optuna search over a space file; many processes or machines can share one study via --storage."""
    from embedlab.experiments.search import load_space, run_search

    _logging(verbose)
    sp = load_space(space, _set(set_))
    result = run_search(sp, out=out, trials=trials, timeout=timeout, storage=storage, study_name=study)
    console.print(f"this worker ran {result.ran} trials; the study has {result.finished} finished "
                  f"({result.pruned} pruned) of a budget of {result.budget}")
    if result.best_value is not None:
        console.print(f"best {result.metric} {result.best_value:.4f} with {result.best_params}")
    if result.config_path is not None:
        console.print(f"best config written to [bold]{result.config_path}[/]; train it with "
                      f"embedlab train --config {result.config_path}")


def train_folds_or_autotune(config, out: Path, *, overwrite: bool = False, folds: int | None = None,
                            autotune: float | None = None) -> None:
    """``embedlab train --folds K`` (an experiment folder: one run per fold and a report) or
    ``embedlab train --autotune SECONDS`` (a search on the validation split, then the best config
    trained into an ordinary run directory)."""
    from embedlab.errors import ConfigError

    if folds is not None and autotune is not None:
        raise ConfigError("give --folds or --autotune, not both")
    if folds is not None:
        _train_folds(config, out, folds, overwrite)
    else:
        _train_autotuned(config, out, float(autotune or 0), overwrite)


def _train_folds(config, out: Path, folds: int, overwrite: bool) -> None:
    """One run per fold into the experiment folder ``out``, then its report."""
    from embedlab.errors import ConfigError
    from embedlab.experiments.grid import Cell, Grid
    from embedlab.experiments.runner import run_experiment

    _logging(False)
    if folds < 2:
        raise ConfigError(f"--folds must be at least 2; found {folds}")
    grid = Grid(name=out.name, base=config, cells=[Cell(config.model.name, {})],
                seeds=[config.training.seed], folds=folds, source="--folds")
    console.print(f"{folds}-fold cross-validation → {out}")
    result = run_experiment(grid, out, overwrite=overwrite)
    console.print(f"{result.trained} folds trained, {result.skipped} already done, in {result.seconds:.1f}s")
    show_report(out)


def _train_autotuned(config, out: Path, seconds: float, overwrite: bool) -> None:
    """A search of ``seconds`` on the validation split, then the best config trained into ``out``."""
    from embedlab.artifacts import ensure_free
    from embedlab.errors import ConfigError
    from embedlab.experiments.search import autotune as run_autotune
    from embedlab.training.metrics import metrics_table
    from embedlab.training.run import train_run

    ensure_free(out, overwrite)
    found = run_autotune(config, seconds)
    if found.best_config is None:
        raise ConfigError(f"--autotune {seconds}: no trial finished in time; give it more seconds")
    console.print(f"autotune: {found.ran} trials ({found.pruned} pruned); best validation "
                  f"{found.metric} {found.best_value:.4f} with {found.best_params}")
    result = train_run(found.best_config, out, overwrite=overwrite)
    split = "test" if "test" in result.metrics else "validation"
    console.print(metrics_table(result.metrics[split], title=f"{split} metrics"))
    console.print(f"run saved to [bold]{out}[/] (its config.yaml is the best configuration found)")
