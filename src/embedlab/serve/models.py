"""The runs a server holds: naming (``name=path``), loading once at start-up, model cards.

A run directory that is missing, incomplete, altered after training (checksum mismatch), whose
files do not fit together or whose weights are not finite is refused by ``Predictor.load``
(:mod:`embedlab.inference.predictor`); one that loads but answers a plain sentence with nan is
refused by the warm-up here. Either way before the server listens, with the reason in one line.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embedlab.errors import ArtifactError, ConfigError, EmbedlabError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
NAME_RULE = "a name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
WARM_UP_TEXT = "warm up the model once before the first request"


@dataclass
class ServedModel:
    """One loaded run: its predictor and the model card shown by the API."""

    name: str
    path: Path
    predictor: Any
    card: dict[str, Any]
    #: what the explainers see of the model (None: it cannot be explained, see card)
    view: Any = None


def parse_model_spec(spec: str | Path) -> tuple[str, Path]:
    """``"runs/ag-cnn"`` → ``("ag-cnn", Path("runs/ag-cnn"))``; ``"ag=runs/ag-cnn"`` → ``("ag", ...)``."""
    text = str(spec)
    name, sep, rest = text.partition("=")
    if sep and not Path(text).exists():
        if not NAME.match(name):
            raise ConfigError(f"model name '{name}' in '{text}': {NAME_RULE}")
        return name, Path(rest)
    path = Path(text)
    name = path.resolve().name
    if not NAME.match(name):
        raise ConfigError(f"cannot name a model after '{text}': {NAME_RULE}; or give NAME=PATH")
    return name, path


def normalise_specs(run_dirs: Mapping[str, str | Path] | Iterable[str | Path]) -> dict[str, Path]:
    """Name → run directory, from a mapping or from ``PATH`` / ``NAME=PATH`` strings."""
    pairs = ([(str(k), Path(v)) for k, v in run_dirs.items()] if isinstance(run_dirs, Mapping)
             else [parse_model_spec(s) for s in run_dirs])
    if not pairs:
        raise ConfigError("no run directory given: name at least one run to serve")
    out: dict[str, Path] = {}
    for name, path in pairs:
        if not NAME.match(name):
            raise ConfigError(f"model name '{name}': {NAME_RULE}")
        if name in out:
            raise ConfigError(f"two runs are named '{name}' ({out[name]} and {path}); "
                              "name them with NAME=PATH")
        out[name] = path
    return out


def load_served_model(name: str, path: Path, warm_up: bool = True) -> ServedModel:
    """Verify and load one run (no pickle), build its card, run one prediction to warm it up."""
    from embedlab.inference.predictor import Predictor

    try:
        predictor = Predictor.load(path)  # refuses non-finite weights
        card = model_card(name, predictor, path)
        view, card["explanations"] = explanation_view(predictor)
        card["examples"] = examples(predictor, path)
        if warm_up and not np.isfinite(predictor.predict_proba([WARM_UP_TEXT])).all():
            raise ArtifactError(f"{path}: the model gives non-finite probabilities (nan or inf) "
                                "for a plain sentence: it cannot be served; retrain it")
    except EmbedlabError:
        raise
    except Exception as e:  # noqa: BLE001 - any other failure of a run's files is the run's fault
        first = str(e).splitlines()[0] if str(e) else ""
        raise ArtifactError(f"{path}: cannot load run ({type(e).__name__}: {first})") from None
    return ServedModel(name, path, predictor, card, view)


def explanation_view(predictor: Any) -> tuple[Any, dict[str, Any]]:
    """The explainers' view of a model and the card's ``explanations`` entry: the methods this
    model can be explained with and the one ``auto`` picks (or why it cannot be explained)."""
    from embedlab.explain.explainer import available_methods, resolve_method
    from embedlab.explain.model_view import ModelView

    try:
        view = ModelView(predictor)
    except ConfigError as e:
        return None, {"methods": [], "auto": None, "note": str(e)}
    from embedlab.explain.explanation import UNITS

    methods = available_methods(view)
    return view, {"methods": ["auto", *methods], "auto": resolve_method(view, "auto"),
                  "note": None, "units": {m: UNITS.get(m, "score") for m in methods}}


#: example texts offered per class, and the longest one kept
EXAMPLES_PER_CLASS = 1
EXAMPLE_CHARS = 300
#: the run's own example texts (see :func:`embedlab.training.run.train_run`)
EXAMPLES_FILE = "examples.json"


def examples(predictor: Any, path: Path | None = None) -> dict[str, Any]:
    """Example texts for the page, one per class: the held-out texts the run kept in
    ``examples.json`` (written by ``embedlab train`` from its test or validation split), else
    the test split of its data set when that set is shipped inside the package (starting a
    server never downloads or reads a large file); otherwise none, and ``note`` says why."""
    from embedlab.data.builtin import dataset_info, load_dataset

    kept = _listed_json(Path(path), EXAMPLES_FILE) if path is not None else None
    if isinstance(kept, dict) and isinstance(kept.get("texts"), list):
        texts = [{"label": str(t["label"]), "text": str(t["text"])[:EXAMPLE_CHARS]}
                 for t in kept["texts"] if isinstance(t, dict) and "label" in t and "text" in t]
        return {"texts": texts, "source": f"the run's {kept.get('split', 'held-out')} split",
                "note": None}
    name = predictor.config.data.dataset
    try:
        info = dataset_info(name) if name else None
    except EmbedlabError:
        info = None
    if info is None or info.package_dir is None or "test" not in info.splits:
        return {"texts": [], "source": None,
                "note": "no example texts: the run kept none (examples.json) and its data set "
                        "is not shipped with embedlab"}
    data = load_dataset(name, "test")
    return {"texts": data.examples(predictor.classes, EXAMPLES_PER_CLASS, EXAMPLE_CHARS),
            "source": f"{name}/test", "note": None}


def load_served_models(run_dirs: Mapping[str, str | Path] | Iterable[str | Path],
                       warm_up: bool = True) -> dict[str, ServedModel]:
    """Load every run; the first bad one stops start-up with its reason."""
    return {name: load_served_model(name, path, warm_up)
            for name, path in normalise_specs(run_dirs).items()}


def finite(value: Any) -> Any:
    """The same structure with NaN/inf floats replaced by None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def _listed_json(directory: Path, name: str) -> Any:
    """The JSON of ``directory/name`` when the directory's manifest lists it (never through a
    link: a run is self-contained), else None: an unlisted file is not read."""
    from embedlab.atomic import listed_names, refuse_link

    if name not in (listed_names(directory) or ()):
        return None
    return _read_json(refuse_link(directory / name))


def _read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ArtifactError(f"{path}: not valid JSON ({str(e).splitlines()[0]})") from None


def _split_metrics(m: dict | None) -> dict | None:
    if not isinstance(m, dict):
        return None
    keep = ("n", "accuracy", "macro", "micro", "samples", "weighted", "per_class", "hamming_loss",
            "confusion_matrix", "classes")
    return {k: m[k] for k in keep if k in m}


def _architecture(predictor: Any) -> dict[str, Any]:
    info, cfg = predictor.model_info, predictor.config
    return {"name": info.get("name", cfg.model.name), "params": info.get("params", cfg.model.params),
            "embedding_dim": info.get("embedding_dim"),
            "vocab_size": info.get("vocab_size", len(predictor.vocab)),
            "n_parameters": info.get("n_parameters")}


def _data(predictor: Any, metrics: dict) -> dict[str, Any]:
    """What the run was trained on: the data settings, the split sizes and their notes."""
    data_cfg = predictor.config.data.model_dump(mode="json")
    sizes = metrics.get("data") or {}
    data = {k: data_cfg.get(k) for k in ("dataset", "path", "text_columns", "label_column", "limit")}
    return {**data, "sizes": {k: sizes[k] for k in ("train", "validation", "test") if k in sizes},
            "notes": list(sizes.get("notes") or [])}


def _checksum(manifest_bytes: bytes) -> dict[str, Any]:
    manifest = json.loads(manifest_bytes)
    return {"manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
            "files": {k: v.get("sha256") for k, v in (manifest.get("files") or {}).items()}}


def _decisions(predictor: Any, metrics: dict) -> dict[str, Any]:
    """Calibration and out-of-distribution figures of the card: what the run fitted on its
    validation split, and how that did on its test split (``metrics.json``)."""
    dec = getattr(predictor, "decisions", None)
    if dec is None:
        return {"calibrated": False, "note": "no validation split was kept: probabilities are the "
                "plain softmax, no prediction sets or out-of-distribution flags"}
    figures = {k: v for k, v in (metrics.get("decisions") or {}).items()
               if not k.startswith("reliability")}
    try:  # the page asks for 90 % sets; a small validation split cannot give them
        sets = not dec.multilabel and dec.set_threshold(0.9) is not None
    except EmbedlabError:
        sets = False
    return {"calibrated": True, "coverage_sets": sets,
            "temperature": None if dec.multilabel else dec.temperature,
            "label_temperatures": dec.label_temperatures,
            "class_bias": dec.class_bias is not None,
            "calibration": dec.figures.get("calibration"),
            "validation": {k: dec.figures.get(k) for k in ("n", "before", "after")},
            "evaluation": figures or None,
            "ood": None if dec.ood is None else {"false_flag_rate": dec.ood.alpha,
                                                 "reference_texts": len(dec.ood.energies)}}


def model_card(name: str, predictor: Any, path: Path) -> dict[str, Any]:
    """The model card of a run: what it predicts, how it was built and trained, how well it did,
    on what data, and the checksum that identifies exactly these files."""
    d = Path(path)
    cfg = predictor.config
    metrics = _listed_json(d, "metrics.json") or {}
    train = metrics.get("train") or {}
    card = {
        "name": name,
        "run": d.resolve().name,
        "classes": list(predictor.classes),
        "architecture": _architecture(predictor),
        "hyperparameters": cfg.training.model_dump(mode="json", exclude={"progress"}),
        "preprocessing": cfg.preprocess.model_dump(mode="json"),
        "vocabulary": {**cfg.vocab.model_dump(mode="json"), "size": len(predictor.vocab)},
        "embeddings": {**cfg.embeddings.model_dump(mode="json"),
                       "coverage": metrics.get("embeddings_coverage")},
        "metrics": {split: _split_metrics(metrics.get(split)) for split in ("test", "validation")
                    if isinstance(metrics.get(split), dict)},
        "training": {k: train[k] for k in ("epochs", "best_epoch", "seconds", "samples_per_s")
                     if k in train},
        "data": _data(predictor, metrics),
        "checksum": _checksum((d / "manifest.json").read_bytes()),
        "decisions": _decisions(predictor, metrics),
    }
    if not metrics:
        card["data"]["notes"].append("the run has no metrics.json (saved from Python, not trained "
                                     "by `embedlab train`): no test metrics")
    return finite(card)
