"""Experiments: grid expansion and validation, resumable runs (interrupted + resumed = the same
report), the report's statistics against the runs' own metrics, the folder lock, parallel jobs,
MLflow tracking, built-in experiments and the CLI's one-line errors."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from embedlab.errors import ArtifactError, ConfigError
from embedlab.experiments import load_grid, parse_grid, run_experiment
from embedlab.experiments.grid import builtin_names, load_builtin
from embedlab.experiments.report import write_report
from embedlab.experiments.runner import experiment_lock, read_manifest
from tiny_configs import BAG_BASE

BASE = BAG_BASE
GRID = {"name": "tiny", "base": BASE,
        "grid": {"model.params.pooling": ["mean", "sum"], "training.lr": [0.01, 0.003]},
        "seeds": [0, 1]}


def _grid(**changes):
    return parse_grid({**GRID, **changes}, "test-grid")


def _quality(path: Path) -> list[dict]:
    """summary.csv without the timing columns (which differ between runs)."""
    with open(path / "report" / "summary.csv", encoding="utf-8") as f:
        return [{k: v for k, v in row.items() if "seconds" not in k} for row in csv.DictReader(f)]


class Stop(Exception):
    pass


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("exp") / "whole"
    result = run_experiment(_grid(), out)
    assert (result.total, result.trained, result.skipped) == (8, 8, 0)
    write_report(out)
    return out


def test_grid_expands_product_of_keys_times_seeds():
    g = _grid()
    assert [c.name for c in g.cells] == ["pooling=mean,lr=0.01", "pooling=mean,lr=0.003",
                                         "pooling=sum,lr=0.01", "pooling=sum,lr=0.003"]
    runs = g.runs()
    assert len(runs) == 8
    assert runs[3].config.model.params["pooling"] == "mean" and runs[3].config.training.lr == 0.003
    assert runs[3].config.training.seed == 1
    assert len({r.key for r in runs}) == 8


def test_variants_cross_the_grid_and_count_seeds():
    g = _grid(grid={"embeddings.dim": [4, 8]}, seeds=3,
              variants=[{"name": "mean", "set": {"model.params.pooling": "mean"}},
                        {"name": "sum", "set": {"model.params.pooling": "sum"}}])
    assert [c.name for c in g.cells] == ["mean,dim=4", "mean,dim=8", "sum,dim=4", "sum,dim=8"]
    assert g.seeds == [0, 1, 2] and len(g.runs()) == 12


@pytest.mark.slow
def test_killed_experiment_resumes_to_the_same_report(finished, tmp_path):
    out = tmp_path / "resumed"
    done = []

    def stop_after_three(spec, summary):
        done.append(spec.key)
        if len(done) == 3:
            raise Stop("simulated kill")

    with pytest.raises(Stop):
        run_experiment(_grid(), out, on_run_done=stop_after_three)
    assert len(read_manifest(out)["runs"]) == 3
    # a run killed while writing leaves a hidden temporary folder; resuming removes it
    stale = out / "runs" / "pooling=sum,lr=0.003" / ".seed-0.abc123.tmp"
    stale.mkdir(parents=True)
    (stale / "model.safetensors").write_bytes(b"half")
    result = run_experiment(_grid(), out)
    assert (result.trained, result.skipped) == (5, 3)
    assert not stale.exists()
    write_report(out)
    assert _quality(out) == _quality(finished)
    # a third call finds everything done
    assert run_experiment(_grid(), out).trained == 0


def test_an_experiment_written_before_a_setting_existed_still_resumes(finished, tmp_path):
    # a manifest from an older version lacks settings added since (at their defaults): the
    # grids are the same, nothing is retrained; a real change is still refused
    out = tmp_path / "old"
    shutil.copytree(finished, out)
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["grid"]["base"]["data"]["splits"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert run_experiment(_grid(), out).trained == 0
    changed = _grid(base={**BASE, "training": {**BASE["training"], "epochs": 3}})
    with pytest.raises(ArtifactError, match="different grid"):
        run_experiment(changed, out)


def test_report_statistics_equal_a_recomputation_from_metrics(finished):
    report = json.loads((finished / "report" / "report.json").read_text())
    for cell in ["pooling=mean,lr=0.01", "pooling=sum,lr=0.003"]:
        runs = sorted((finished / "runs" / cell).glob("seed-*/metrics.json"))
        assert len(runs) == 2
        ms = [json.loads(p.read_text()) for p in runs]
        for metric, get in (("accuracy", lambda m: m["test"]["accuracy"]),
                            ("macro_f1", lambda m: m["test"]["macro"]["f1"]),
                            ("weighted_f1", lambda m: m["test"]["weighted"]["f1"]),
                            ("train_seconds", lambda m: m["train"]["seconds"])):
            values = np.array([get(m) for m in ms])
            stats = report["cells"][cell][metric]
            assert stats["mean"] == pytest.approx(values.mean())
            assert stats["sd"] == pytest.approx(values.std(ddof=1))
            assert (stats["min"], stats["max"], stats["n"]) == (values.min(), values.max(), 2)
    # the paired comparison: differences seed by seed against the reference (first cell)
    ref = [json.loads((finished / "runs" / "pooling=mean,lr=0.01" / f"seed-{s}" / "metrics.json").read_text())
           for s in (0, 1)]
    other = [json.loads((finished / "runs" / "pooling=sum,lr=0.003" / f"seed-{s}" / "metrics.json").read_text())
             for s in (0, 1)]
    diffs = np.array([o["test"]["accuracy"] - r["test"]["accuracy"] for o, r in zip(other, ref)])
    row = next(r for r in report["comparison"] if r["cell"] == "pooling=sum,lr=0.003")
    assert row["accuracy"]["mean"] == pytest.approx(diffs.mean())
    assert row["accuracy"]["sd"] == pytest.approx(diffs.std(ddof=1))


def test_report_files_are_complete_and_self_contained(finished):
    folder = finished / "report"
    for name in ("report.md", "report.html", "summary.csv", "comparison.csv", "metrics.png",
                 "learning_curves.png", "confusion_best.png", "reliability_best.png"):
        assert (folder / name).is_file() and (folder / name).stat().st_size > 0, name
    for png in folder.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (folder / "report.html").read_text()
    # the reliability diagram: the runs kept a validation split, so they were calibrated
    assert page.count("data:image/png;base64,") == 4 and "<img" in page and 'src="http' not in page
    md = (folder / "report.md").read_text()
    assert "pooling=sum,lr=0.003" in md and "Paired comparison" in md and " ± " in md
    manifest = read_manifest(finished)
    assert manifest["kind"] == "embedlab-experiment" and len(manifest["runs"]) == 8


def test_second_writer_is_refused(tmp_path):
    out = tmp_path / "locked"
    with experiment_lock(out), pytest.raises(ArtifactError, match="another process .* is running"):
        run_experiment(_grid(), out)
    assert not (out / "runs").exists()


def test_second_process_is_refused(tmp_path):
    out = tmp_path / "locked2"
    code = ("import time; from pathlib import Path; from embedlab.experiments.runner import experiment_lock\n"
            f"with experiment_lock(Path({str(out)!r})):\n    print('held', flush=True); time.sleep(30)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ArtifactError, match=f"pid {holder.pid}"):
            run_experiment(_grid(), out)
    finally:
        holder.kill()
        holder.wait()


def test_folders_we_did_not_write_are_refused(tmp_path, finished):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ArtifactError, match="not an embedlab experiment"):
        run_experiment(_grid(), foreign, overwrite=True)
    assert (foreign / "notes.txt").read_text() == "mine"
    with pytest.raises(ArtifactError, match="different grid"):
        run_experiment(_grid(grid={"training.lr": [0.5]}), finished)


@pytest.mark.slow
def test_parallel_jobs_give_the_serial_results(finished, tmp_path):
    g = _grid(grid={"model.params.pooling": ["mean"], "training.lr": [0.01]})
    out = tmp_path / "jobs"
    result = run_experiment(g, out, jobs=2)
    assert result.trained == 2
    for seed in (0, 1):
        a = json.loads((out / "runs/pooling=mean,lr=0.01" / f"seed-{seed}" / "metrics.json").read_text())
        b = json.loads((finished / "runs/pooling=mean,lr=0.01" / f"seed-{seed}" / "metrics.json").read_text())
        assert a["test"]["confusion_matrix"] == b["test"]["confusion_matrix"]


@pytest.mark.parametrize("changes, message", [
    ({"grid": {"trainig.lr": [0.1]}}, "unknown key 'trainig.lr' (did you mean 'training.lr'?)"),
    ({"grid": {"model.params.poolng": ["mean"]}}, "did you mean 'pooling'"),
    ({"grid": {"training.lr": ["fast"]}}, "training.lr"),
    ({"grid": {"training.epochs": [1.5]}}, "training.epochs"),
    ({"grid": {}}, "empty grid"),
    ({"grid": {"training.lr": []}}, "non-empty list"),
    ({"seeds": []}, "seeds"),
    ({"folds": 1}, "folds must be an integer of at least 2"),
    ({"reference": "pooling=max"}, "reference cell"),
    ({"metric": "f1"}, "unknown metric"),
    ({"gird": {}}, "did you mean 'grid'"),
    ({"grid": {"embeddings.source": ["glove-6b-5d"]}}, "did you mean 'glove-6b-50d'"),
])
def test_bad_grids_fail_in_one_line_before_any_run(changes, message):
    with pytest.raises(ConfigError) as e:
        _grid(**changes)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_folds_larger_than_the_smallest_class_fail_before_any_run(tmp_path):
    data = tmp_path / "d.csv"
    rows = [("good film", "pos")] * 12 + [("bad film", "neg")] * 3
    data.write_text("text,label\n" + "\n".join(f"{t} {i},{lab}" for i, (t, lab) in enumerate(rows)) + "\n")
    g = _grid(base={**BASE, "data": {"path": str(data)}}, folds=5)
    with pytest.raises(ConfigError, match=r"5 folds is more than the smallest class has rows \('neg': 3"):
        run_experiment(g, tmp_path / "cv")
    assert not (tmp_path / "cv" / "runs").exists()


def test_every_builtin_experiment_is_valid():
    names = builtin_names()
    assert {"tutorial-embeddings", "tutorial-flax-pooling", "tutorial-mxnet-glove", "kim2014"} <= set(names)
    for name in names:
        g = load_builtin(name)
        assert g.published and g.description and len(g.seeds) == 3
        assert set(g.published) <= {c.name for c in g.cells}
    kim = load_builtin("kim2014")
    per_cell = {}
    for spec in kim.runs():
        per_cell.setdefault(spec.cell, set()).add(spec.fold)
    assert per_cell["rand,dataset=mr"] == set(range(10)) and per_cell["static,dataset=trec"] == {None}


@pytest.mark.slow
def test_builtin_runs_and_reports_published_numbers_and_partial_data(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDLAB_DATA_MIRROR", str(mirror))
    from embedlab.cli import main

    out = tmp_path / "flax"
    with pytest.raises(SystemExit) as e:
        main(["experiment", "run", "--builtin", "tutorial-flax-pooling", "--seeds", "1", "--out", str(out),
              "--set", "data.limit=600", "--set", "training.epochs=1", "--set", "training.threads=1"])
    assert e.value.code == 0
    md = (out / "report" / "report.md").read_text()
    assert "published (not comparable)" in md and "(0.913)" in md and "training.epochs=1" in md
    assert "partial copy of AG News train.csv" in md
    assert len(read_manifest(out)["runs"]) == 6


@pytest.mark.slow
def test_mlflow_store_holds_the_logged_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    from mlflow.tracking import MlflowClient

    g = _grid(grid={"model.params.pooling": ["sum"]})
    out = tmp_path / "tracked"
    run_experiment(g, out, track="mlflow")
    info = read_manifest(out)["mlflow"]
    client = MlflowClient(tracking_uri=f"sqlite:///{out / 'mlflow.db'}")
    runs = client.search_runs([info["experiment_id"]])
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == info["parent_run_id"]]
    assert len(runs) == 3 and len(children) == 2
    for child in children:
        seed = child.data.tags["seed"]
        metrics = json.loads((out / "runs/pooling=sum" / f"seed-{seed}" / "metrics.json").read_text())
        assert child.data.metrics["test_accuracy"] == pytest.approx(metrics["test"]["accuracy"])
        history = client.get_metric_history(child.info.run_id, "val_acc")
        assert [m.step for m in history] == [1, 2]
        config = yaml.safe_load((out / "runs/pooling=sum" / f"seed-{seed}" / "config.yaml").read_text())
        assert child.data.params["training.lr"] == json.dumps(config["training"]["lr"])
        assert child.data.params["model.params.pooling"] == "sum"
        assert len(child.data.tags["data_checksum"]) == 64 and child.data.tags["embedlab_version"]
        artifacts = {a.path for a in client.list_artifacts(child.info.run_id)}
        assert {"metrics.json", "learning_curves.png"} <= artifacts


def test_nothing_imports_mlflow_or_optuna_unless_asked():
    code = ("import sys, embedlab.cli, embedlab.experiments, embedlab.experiments.report; "
            "print(sorted(m for m in ('mlflow', 'optuna') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    from embedlab.cli import main

    with pytest.raises(SystemExit) as e:
        main(list(args))
    captured = capsys.readouterr()
    return e.value.code, captured.out, captured.err


def test_cli_bad_grid_is_one_line(tmp_path, capsys):
    path = tmp_path / "g.yaml"
    path.write_text(yaml.safe_dump({**GRID, "grid": {"model.params.poolnig": ["mean"]}}))
    code, _, err = _cli(capsys, "experiment", "run", str(path), "--out", str(tmp_path / "x"))
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 1 and len(lines) == 1 and "did you mean 'pooling'" in lines[0]
    assert not (tmp_path / "x").exists()


def test_cli_list_and_report(finished, capsys):
    code, out, _ = _cli(capsys, "experiment", "list")
    assert code == 0 and "kim2014" in out and "tutorial-flax-pooling" in out
    code, out, _ = _cli(capsys, "experiment", "report", str(finished), "--reference", "pooling=sum,lr=0.01")
    assert code == 0 and "paired comparison against pooling=sum,lr=0.01" in out


def test_grid_file_with_base_config(tmp_path):
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(BASE))
    (tmp_path / "g.yaml").write_text(yaml.safe_dump({"base_config": "base.yaml",
                                                     "grid": {"training.lr": [0.1, 0.2]}}))
    g = load_grid(tmp_path / "g.yaml")
    assert g.base.data.limit == 240 and [c.name for c in g.cells] == ["lr=0.1", "lr=0.2"]
    assert os.fspath(g.source).endswith("g.yaml")


def test_unreachable_mlflow_store_is_one_line_before_any_run(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    out = tmp_path / "untracked"
    with pytest.raises(ConfigError, match="MLflow store http://127.0.0.1:9") as e:
        run_experiment(_grid(), out, track="mlflow")
    assert "\n" not in str(e.value)
    assert not (out / "runs").exists()


def test_the_readme_grid_and_its_reference_are_valid():
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("```yaml\nname: pooling\n", 1)[1].split("```", 1)[0]
    grid = parse_grid(yaml.safe_load("name: pooling\n" + block), "README grid")
    assert len(grid.cells) == 6 and grid.seeds == [0, 1, 2]
    shown = readme.split("embedlab experiment report experiments/pooling --reference ", 1)[1]
    assert shown.split()[0] in [c.name for c in grid.cells]


def test_console_tables_wrap_cell_names_on_a_narrow_terminal(finished):
    from rich.console import Console

    from embedlab.experiments.report import build_report, comparison_table, console_table

    report = build_report(finished, reference="pooling=sum,lr=0.01")
    names = [c.name for c in report.grid.cells]
    others = [n for n in names if n != report.reference]
    for table, shown in ((console_table(report), names), (comparison_table(report), others)):
        console = Console(width=60, record=True)
        console.print(table)
        text = console.export_text()
        assert "…" not in text
        first = "".join(ln.split("│")[1].strip() for ln in text.splitlines() if ln.startswith("│"))
        assert all(name in first for name in shown)
