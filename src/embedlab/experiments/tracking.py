"""MLflow tracking of an experiment: one parent run, one child run per cell × seed × fold with the
run's flattened config as params, its per-epoch history and final metrics as metrics, its
metrics, history, config and plots as artifacts, and tags for cell, seed, fold, data checksum
and package version.

The store is ``$MLFLOW_TRACKING_URI`` when set, else ``sqlite:///<experiment>/mlflow.db`` with
artifacts in ``<experiment>/mlflow-artifacts`` (``mlflow ui --backend-store-uri sqlite:///...``
shows it). MLflow is imported only here, only when tracking is asked for (extra ``mlflow``).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from embedlab.errors import ConfigError
from embedlab.experiments.grid import RunSpec

ARTIFACTS = ("metrics.json", "history.json", "config.yaml", "learning_curves.png", "confusion_matrix.png")


def check_mlflow() -> None:
    """A one-line error when MLflow is not installed."""
    try:
        import mlflow  # noqa: F401
    except ImportError:
        raise ConfigError("--track mlflow needs MLflow: pip install 'embedlab[mlflow]'") from None


def flatten(data: Any, prefix: str = "") -> dict[str, str]:
    """``{"a": {"b": 1}}`` → ``{"a.b": "1"}`` (lists and None as JSON text)."""
    if isinstance(data, dict):
        out: dict[str, str] = {}
        for k, v in data.items():
            out.update(flatten(v, f"{prefix}{k}."))
        return out if out or not prefix else {prefix[:-1]: "{}"}
    value = data if isinstance(data, str) else json.dumps(data)
    return {prefix[:-1]: value[:6000]}


_CHECKSUMS: dict[str, str] = {}


def data_checksum(config_data: dict) -> str:
    """sha256 of the training rows (label TAB text per line) a config reads."""
    from embedlab.config import RunConfig
    from embedlab.experiments.cv import load_cv_data

    key = json.dumps(config_data.get("data", {}), sort_keys=True)
    if key not in _CHECKSUMS:
        data = load_cv_data(RunConfig.from_dict(config_data))
        h = hashlib.sha256()
        for label, text in zip(data.labels, data.texts):
            h.update(f"{label}\t{text}\n".encode())
        _CHECKSUMS[key] = h.hexdigest()
    return _CHECKSUMS[key]


class MlflowTracker:
    """Logs runs of one experiment folder as children of one MLflow run."""

    def __init__(self, client: Any, experiment_id: str, parent_id: str) -> None:
        self.client = client
        self.experiment_id = experiment_id
        self.parent_id = parent_id

    @classmethod
    def open(cls, out: Path, manifest: dict) -> MlflowTracker:
        """Connect to the store; reuse the experiment's parent run when resuming (recorded in
        ``manifest["mlflow"]``, which this updates)."""
        from mlflow.tracking import MlflowClient

        from embedlab import __version__

        # an unreachable server: a one-line error in seconds, not MLflow's default minutes of retries
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
        env = os.environ.get("MLFLOW_TRACKING_URI")
        uri = env or f"sqlite:///{(out / 'mlflow.db').resolve()}"
        try:
            client = MlflowClient(tracking_uri=uri)
            name = manifest["grid"]["name"]
            exp = client.get_experiment_by_name(name)
            if exp is None:
                location = None if env else (out / "mlflow-artifacts").resolve().as_uri()
                exp_id = client.create_experiment(name, artifact_location=location)
            else:
                exp_id = exp.experiment_id
            info = manifest.get("mlflow") or {}
            parent = info.get("parent_run_id") if info.get("tracking_uri") == uri else None
            if parent is None:
                run = client.create_run(exp_id, run_name=name, tags={
                    "embedlab.kind": "experiment", "embedlab.version": __version__,
                    "embedlab.folder": str(out.resolve())})
                parent = run.info.run_id
                client.log_param(parent, "grid", json.dumps(manifest["grid"]["cells"])[:6000])
                client.log_param(parent, "seeds", json.dumps(manifest["grid"]["seeds"]))
            else:
                client.update_run(parent, status="RUNNING")
        except Exception as e:  # noqa: BLE001  the store could not be reached or created
            raise ConfigError(f"MLflow store {uri}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") \
                from None
        manifest["mlflow"] = {"tracking_uri": uri, "experiment_id": exp_id, "parent_run_id": parent}
        return cls(client, exp_id, parent)

    def log_run(self, spec: RunSpec, run_dir: Path) -> str:
        """Log one finished run directory as a child run; return its MLflow run id."""
        from mlflow.entities import Metric, Param

        from embedlab import __version__
        from embedlab.config import RunConfig

        config = RunConfig.from_yaml(run_dir / "config.yaml").model_dump(mode="json")
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
        history = json.loads((run_dir / "history.json").read_text(encoding="utf-8"))
        tags = {"mlflow.parentRunId": self.parent_id, "cell": spec.cell, "seed": str(spec.seed),
                "fold": "" if spec.fold is None else str(spec.fold),
                "data_checksum": data_checksum(config), "embedlab_version": __version__}
        name = spec.key.removeprefix("runs/")
        run = self.client.create_run(self.experiment_id, run_name=name, tags=tags)
        rid = run.info.run_id
        params = [Param(k, v) for k, v in flatten(config).items()]
        for i in range(0, len(params), 100):
            self.client.log_batch(rid, params=params[i:i + 100])
        rows: list[Metric] = []
        for h in history:
            for key, value in h.items():
                if key != "epoch" and isinstance(value, (int, float)) and not isinstance(value, bool):
                    rows.append(Metric(key, float(value), 0, int(h["epoch"])))
        split = "test" if "test" in metrics else "validation"
        m = metrics[split]
        final = {f"{split}_accuracy": m["accuracy"], f"{split}_macro_f1": m["macro"]["f1"],
                 f"{split}_weighted_f1": m["weighted"]["f1"], "train_seconds": metrics["train"]["seconds"]}
        rows += [Metric(k, float(v), 0, 0) for k, v in final.items()]
        for i in range(0, len(rows), 1000):
            self.client.log_batch(rid, metrics=rows[i:i + 1000])
        for name in ARTIFACTS:
            if (run_dir / name).is_file():
                self.client.log_artifact(rid, str(run_dir / name))
        self.client.set_terminated(rid, "FINISHED")
        return rid

    def close(self, finished: bool) -> None:
        self.client.set_terminated(self.parent_id, "FINISHED" if finished else "KILLED")
