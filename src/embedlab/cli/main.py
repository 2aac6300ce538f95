"""``embedlab`` commands: train, evaluate, predict, demo (plus the datasets / models / embeddings groups)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from embedlab.cli.common import console, free_file, free_image, new_app, setup_logging, starting

if TYPE_CHECKING:  # the CLI imports the API inside its commands (a fast --help)
    from embedlab.config import RunConfig

app = new_app(
    help="embedlab: text classifiers on word embeddings — train, evaluate, predict; learn and "
    "explore embeddings.",
)

DEMO_TEXTS = [
    "Stocks fall as oil prices climb to a record high",
    "The striker scored twice as the home team won the cup final",
    "New chip makes laptops faster and saves battery power",
]


def _default_out(config, what: str | None = None) -> Path:
    """``runs/<data>-<model>`` (or ``-<what>``), numbered past the directories that exist."""
    source = config.data.dataset or Path(config.data.path or "data").stem
    base = Path("runs") / f"{source}-{what or config.model.name}"
    out, n = base, 2
    while out.exists():
        out, n = base.with_name(f"{base.name}-{n}"), n + 1
    return out


@app.command()
def train(
    config: Annotated[Path | None, typer.Option(help="YAML run config (e.g. a previous run's config.yaml)")] = None,
    dataset: Annotated[str | None, typer.Option(help="built-in data set (embedlab datasets list)")] = None,
    data: Annotated[Path | None, typer.Option(help="CSV/TSV/JSONL/parquet file, class folder or label-lines file")] = None,
    test_data: Annotated[Path | None, typer.Option(help="separate test file in the same format as --data")] = None,
    text_column: Annotated[list[str] | None, typer.Option(help="text column (repeat for several)")] = None,
    label_column: Annotated[str | None, typer.Option(help="label column")] = None,
    label_sep: Annotated[str | None, typer.Option(help="multi-label: the separator of several labels in "
                                                  "one label cell, e.g. ','")] = None,
    multilabel: Annotated[bool, typer.Option("--multilabel", help="each text carries a set of labels (also "
                                             "implied by --label-sep, --label-hierarchy or rows holding "
                                             "lists)")] = False,
    label_hierarchy: Annotated[str | None, typer.Option(help="the separator of a label's levels: with ':', "
                                                        "LOC:city is under LOC")] = None,
    label_names: Annotated[Path | None, typer.Option(help="names file: line k names label id k "
                                                     "(GoEmotions' emotions.txt)")] = None,
    threshold_metric: Annotated[str | None, typer.Option(help="multi-label thresholds are chosen on "
                                                         "validation by micro_f1 (default) or macro_f1")] = None,
    encoding: Annotated[str | None, typer.Option(help="file encoding, e.g. latin-1")] = None,
    model: Annotated[str | None, typer.Option(help="fasttext (default) | cnn | bag | rnn (embedlab models list)")] = None,
    epochs: Annotated[int | None, typer.Option(help="epochs (the most, with early stopping); default: the model's")] = None,
    batch_size: Annotated[int | None, typer.Option()] = None,
    lr: Annotated[float | None, typer.Option(help="learning rate")] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    embeddings: Annotated[str | None, typer.Option(help="pretrained vectors: name (glove-6b-50d) or path; default "
                                                   "auto: glove-6b-50d if installed, else random "
                                                   "(--set embeddings.source=null: random)")] = None,
    freeze: Annotated[bool, typer.Option("--freeze", help="keep pretrained vectors fixed")] = False,
    fine_tune: Annotated[bool, typer.Option("--fine-tune", help="fine-tune pretrained vectors (the default)")] = False,
    embedding_dim: Annotated[int | None, typer.Option(help="size of random embeddings")] = None,
    limit: Annotated[int | None, typer.Option(help="use only the first N training rows")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="any config key, e.g. --set model.params.filters=100")] = None,
    out: Annotated[Path | None, typer.Option(help="run directory (default runs/<data>-<model>)")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace an existing run directory")] = False,
    folds: Annotated[int | None, typer.Option(help="K-fold cross-validation: K runs and a report in --out")] = None,
    autotune: Annotated[float | None, typer.Option(help="search hyperparameters for SECONDS on the validation "
                                                   "split, then train the best")] = None,
    ensemble: Annotated[bool, typer.Option(
        "--ensemble", help="train the ensemble recipe instead of one run: the config as given and a "
        "cnn, each also on minilm-static-256 vectors (the minilm extra; the first cnn is a wider "
        "one on the config's vectors stacked with them), on the same splits; --out (default "
        "runs/<data>-ensemble) gets the ensemble, its members inside")] = False,
    bag_folds: Annotated[int | None, typer.Option(
        help="with --ensemble: bag the recipe: pool the training and validation texts into K "
        "folds and train each member K times, each on all folds but one and calibrated on the "
        "one it left out, then weight the members on their out-of-fold probabilities (K times "
        "the training time)")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Train a classifier and write a run directory (config, vocabulary, labels, weights, metrics, plots)."""
    starting("training: loading PyTorch and the data…")
    from embedlab.config import RunConfig
    from embedlab.config.keys import parse_set
    from embedlab.training.metrics import metrics_table
    from embedlab.training.run import train_run

    setup_logging(verbose)
    if data is not None and dataset is not None:
        raise typer.BadParameter("give either --data FILE or --dataset NAME, not both",
                                 param_hint="'--data' / '--dataset'")
    if freeze and fine_tune:
        raise typer.BadParameter("give either --freeze or --fine-tune, not both",
                                 param_hint="'--freeze' / '--fine-tune'")
    base = RunConfig.from_yaml(config) if config else RunConfig()
    updates: dict = {}
    if dataset is not None:
        updates.update({"data.dataset": dataset, "data.path": None})
    if data is not None:
        updates.update({"data.path": str(data), "data.dataset": None})
    flags = {
        "data.test_path": str(test_data) if test_data else None, "data.text_columns": text_column,
        "data.label_column": label_column, "data.encoding": encoding, "data.limit": limit,
        "model.name": model, "training.epochs": epochs, "training.batch_size": batch_size,
        "training.lr": lr, "training.seed": seed, "embeddings.source": embeddings,
        "embeddings.freeze": True if freeze else False if fine_tune else None,
        "embeddings.dim": embedding_dim, "data.label_sep": label_sep,
        "data.multilabel": True if multilabel else None, "data.label_hierarchy": label_hierarchy,
        "data.label_names": str(label_names) if label_names else None,
        "training.threshold_metric": threshold_metric,
    }
    updates.update({k: v for k, v in flags.items() if v not in (None, [])})
    if model is not None and (config is None or base.model.name != model):
        updates["model.params"] = {}
    sets = parse_set(set_ or [])
    _refuse_clashes(updates, sets)
    updates.update(sets)
    cfg = base.override(updates) if updates else base
    out = out or _default_out(cfg, "ensemble" if ensemble else None)
    if bag_folds is not None and not ensemble:
        raise typer.BadParameter("--bag-folds bags the ensemble recipe; give it with --ensemble",
                                 param_hint="'--bag-folds'")
    if ensemble:
        if folds is not None or autotune is not None:
            raise typer.BadParameter("--ensemble trains fixed members; it takes neither --folds "
                                     "nor --autotune", param_hint="'--ensemble'")
        return _train_ensemble(cfg, out, overwrite, bag_folds)
    if folds is not None or autotune is not None:
        from embedlab.cli.experiment import train_folds_or_autotune

        return train_folds_or_autotune(cfg, out, overwrite=overwrite, folds=folds, autotune=autotune)
    result = train_run(cfg, out, overwrite=overwrite)
    if result.out is None:  # a rank other than 0 of a torchrun job: rank 0 writes and reports
        return
    split = next((s for s in ("test", "validation") if s in result.metrics), None)
    if split is None:  # data.val_size=0 and data.test_size=0: asked to train on everything
        console.print("no validation or test split: nothing was scored")
    else:
        console.print(metrics_table(result.metrics[split], title=f"{split} metrics"))
    tr = result.metrics["train"]
    console.print(f"trained {tr['epochs']} epochs (best {tr['best_epoch']}) in {tr['seconds']:.1f}s, "
                  f"{tr['samples_per_s']:.0f} samples/s")
    console.print(f"run saved to [bold]{out}[/]")


def _train_ensemble(cfg: RunConfig, out: Path, overwrite: bool, bag_folds: int | None) -> None:
    from embedlab.training.metrics import metrics_table
    from embedlab.training.recipes import train_ensemble

    result = train_ensemble(cfg, out, overwrite=overwrite, bag_folds=bag_folds)
    split = next((s for s in ("test", "validation") if s in result.metrics), None)
    key = "subset_accuracy" if result.predictor.multilabel else "accuracy"
    if split is not None:
        console.print(metrics_table(result.metrics[split], title=f"ensemble: {split} metrics"))
    elif not bag_folds:
        console.print("no validation or test split: nothing was scored")
    shown = split or ("validation" if bag_folds else None)  # bagged: each one's held-out fold
    if shown is not None:
        kept = result.metrics.get("weights")  # bagged: the members the weights kept
        members = ", ".join(
            f"{name} {scores[shown][key]:.3f}"
            + ("" if kept is None or name.rsplit(".", 1)[0] in kept else " (left out)")
            for name, scores in result.metrics["members"].items())
        where = "held-out fold" if shown == "validation" and bag_folds else shown
        console.print(f"members' {where} {key.replace('_', ' ')}: {members}", highlight=False)
    if "accuracy" in result.metrics.get("out_of_fold", {}):
        oof = result.metrics["out_of_fold"]
        console.print(f"ensemble: out-of-fold accuracy {oof['accuracy']:.3f} on {oof['texts']} "
                      "training texts (each scored by the runs that held it out)", highlight=False)
    if "weights" in result.metrics:
        weights = ", ".join(f"{n} {w:.3f}" for n, w in result.metrics["weights"].items())
        console.print(f"member weights, fitted on out-of-fold probabilities: {weights}",
                      highlight=False)
    console.print(f"ensemble saved to [bold]{out}[/]; try: embedlab predict {out} \"your text\"",
                  highlight=False)


def _refuse_clashes(options: dict, sets: dict) -> None:
    """An option and a ``--set`` of the same key with different values is a mistake, not a
    precedence rule to guess (``--epochs 2 --set training.epochs=3``)."""
    for key, value in sets.items():
        if key in options and key != "model.params" and options[key] != value:
            raise typer.BadParameter(f"--set {key}={value} disagrees with the option that sets "
                                     f"{key} to {options[key]!r}; give one of them",
                                     param_hint="'--set'")


@app.command()
def evaluate(
    run: Annotated[Path, typer.Argument(help="run directory")],
    dataset: Annotated[str | None, typer.Option(help="built-in data set")] = None,
    split: Annotated[str, typer.Option(help="split of the built-in data set")] = "test",
    data: Annotated[Path | None, typer.Option(help="labelled file (columns as in training unless given)")] = None,
    text_column: Annotated[list[str] | None, typer.Option()] = None,
    label_column: Annotated[str | None, typer.Option()] = None,
    encoding: Annotated[str | None, typer.Option()] = None,
    label_sep: Annotated[str | None, typer.Option(
        help="multi-label --data: the separator of a row's labels (default: the run's; an ONNX "
             "export keeps none, so give it for a file that joins labels)")] = None,
    label_hierarchy: Annotated[str | None, typer.Option(
        help="the separator of a label's levels (default: the run's or the export's)")] = None,
    out: Annotated[Path | None, typer.Option(help="write the metrics JSON here")] = None,
    plot: Annotated[Path | None, typer.Option(help="write the confusion-matrix PNG here (multi-label: "
                                              "per-label precision-recall curves)")] = None,
    risk_coverage: Annotated[Path | None, typer.Option(
        help="write the risk-coverage curve PNG here: the error among the texts answered "
             "against the share answered, answering the most confident first")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace existing --out / --plot files")] = False,
) -> None:
    """Evaluate a trained run, an ensemble or an ONNX export on a data set split or a labelled file.

    Also prints the risk-coverage trade-off: for a few confidence thresholds
    (``predict --min-confidence``), the share of texts answered and the error among them."""
    from embedlab.artifacts import load
    from embedlab.config import DataConfig
    from embedlab.data import load_data, load_dataset
    from embedlab.errors import DataError
    from embedlab.training.metrics import metrics_table
    from embedlab.training.run import predictor_metrics

    setup_logging()
    if data is not None and dataset is not None:
        raise typer.BadParameter("give either --data FILE or --dataset NAME, not both",
                                 param_hint="'--data' / '--dataset'")
    if out is not None and plot is not None and out.resolve() == plot.resolve():
        raise typer.BadParameter("--out and --plot name the same file",
                                 param_hint="'--out' / '--plot'")
    free_file(out, overwrite)
    free_image(plot, overwrite)
    free_image(risk_coverage, overwrite)
    predictor = load(run)
    config = getattr(predictor, "config", None)  # an ONNX export carries no training config
    if risk_coverage and predictor.multilabel:
        raise typer.BadParameter("the risk-coverage curve is for single-label runs; this run "
                                 "predicts label sets", param_hint="'--risk-coverage'")
    d = config.data if config is not None else DataConfig()
    if dataset:
        ds = load_dataset(dataset, split)
    elif data:  # read as the model predicts: label sets for a multi-label run or export
        hierarchy = label_hierarchy or d.label_hierarchy or getattr(predictor.labels, "hierarchy", None)
        ds = load_data(data, text_columns=text_column or d.text_columns, label_column=label_column or d.label_column,
                       encoding=encoding or d.encoding, label_sep=label_sep or d.label_sep,
                       multilabel=True if predictor.multilabel else d.multilabel,
                       label_hierarchy=hierarchy, label_names=d.label_names)
    elif d.dataset:
        ds = load_dataset(d.dataset, split)
    else:
        raise DataError("nothing to evaluate on: give --dataset NAME or --data FILE")
    metrics = predictor_metrics(predictor, ds)
    console.print(metrics_table(metrics, title=f"{ds.source}"))
    if "risk_coverage" in metrics:  # single-label: the trade-off of answering when confident
        console.print(risk_coverage_table(metrics["risk_coverage"]))
    from embedlab.atomic import atomic_file

    if risk_coverage:
        from embedlab.decisions.conformal import plot_risk_coverage
        from embedlab.decisions.conformal import risk_coverage as curve_of

        probs = predictor.probabilities(predictor.encode_arrays(ds.texts))
        curve = curve_of(probs, predictor.labels.encode(ds.labels, source=ds.source))
        with atomic_file(risk_coverage, overwrite=overwrite) as tmp:
            plot_risk_coverage(curve, tmp, f"risk–coverage on {ds.source}",
                               risk_coverage.suffix.lstrip(".").lower() or "png")

    if plot and metrics.get("multilabel"):  # per-label precision-recall, thresholds marked
        from embedlab.training.run import plot_multilabel_pr

        with atomic_file(plot, overwrite=overwrite) as tmp:
            plot_multilabel_pr(predictor, ds, tmp)
    elif plot:  # first: the figure is the likelier to fail, and neither file is written half
        from embedlab.training.plots import confusion_figure

        figure = confusion_figure(metrics["confusion_matrix"], metrics["classes"])
        with atomic_file(plot, overwrite=overwrite) as tmp:
            figure.savefig(tmp, dpi=100, format=plot.suffix.lstrip(".").lower() or "png")
    if out:
        with atomic_file(out, overwrite=overwrite) as tmp:
            tmp.write_text(json.dumps(metrics, indent=1), encoding="utf-8")


def risk_coverage_table(summary: dict):
    """A rich Table of :func:`embedlab.decisions.conformal.risk_coverage_summary`."""
    from rich.table import Table

    t = Table(title=f"answer only when confident (AURC {summary['aurc']:.3f}; lower is better)")
    for col in ("--min-confidence", "texts answered", "error among them"):
        t.add_column(col, justify="right", no_wrap=True)
    for p in summary["points"]:
        t.add_row(f"{p['min_confidence']:g}", f"{100 * p['coverage']:.1f} %", f"{100 * p['risk']:.1f} %")
    return t


@app.command()
def ensemble(
    runs: Annotated[list[Path], typer.Argument(help="the member run directories (two or more)")],
    out: Annotated[Path, typer.Option(help="the ensemble directory to write")],
    weight: Annotated[list[float] | None, typer.Option(
        help="a member's weight, once per member in order (default: equal weights)")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace an existing ensemble at --out")] = False,
) -> None:
    """Combine trained runs into one classifier: the weighted mean of their probabilities.

    Members are copied in. predict, evaluate and embedlab.load take it; explain, serve, export don't."""
    from embedlab.inference.ensemble import make_ensemble

    setup_logging()
    result = make_ensemble(runs, out, weights=weight or None, overwrite=overwrite)
    members = ", ".join(f"{n} ({w:.2f})" for n, w in zip(result.names, result.weights))
    console.print(f"ensemble of {len(result.members)} runs saved to [bold]{out}[/]: {members}; "
                  f"try: embedlab predict {out} \"your text\"", highlight=False)


@app.command()
def demo(
    model: Annotated[str | None, typer.Option(help="model to train (default: the default "
                                              "model, as `embedlab train`)")] = None,
    epochs: Annotated[int | None, typer.Option(help="epochs; default: the model's")] = None,
    out: Annotated[Path, typer.Option(help="run directory")] = Path("runs/demo"),
) -> None:
    """Train the default model on the AG News sample shipped in the package, show metrics, predict 3 texts."""
    starting("demo: loading PyTorch and the AG News sample…")
    from embedlab.artifacts import load
    from embedlab.config import RunConfig
    from embedlab.training.metrics import metrics_table
    from embedlab.training.run import train_run

    setup_logging()
    cfg = RunConfig.from_dict({"data": {"dataset": "ag_news_sample"},
                               "model": {"name": model} if model else {},
                               "training": {"epochs": epochs} if epochs else {}})
    result = train_run(cfg, out, overwrite=True)
    console.print(metrics_table(result.metrics["test"], title="ag_news_sample test metrics"))
    predictor = load(out)
    for text, p in zip(DEMO_TEXTS, predictor.predict(DEMO_TEXTS)):
        top = ", ".join(f"{c} {v:.2f}" for c, v in p.probabilities.items())
        console.print(f"[bold]{p.label:9}[/] {top}  ← {text}", highlight=False)
    console.print(f"run saved to [bold]{out}[/]; try: embedlab predict {out} \"your text\"")


models_app = new_app(help="Model architectures and their hyperparameters.")
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list() -> None:
    """List registered models with their hyperparameters and defaults."""
    from rich.table import Table

    from embedlab.models import model_names, model_param_schema

    t = Table(title="models")
    t.add_column("model")
    t.add_column("hyperparameters (default)", overflow="fold")
    for name in model_names():
        schema = model_param_schema(name)
        params = ", ".join(f"{k}={f.default!r}" for k, f in schema.model_fields.items())
        t.add_row(name, params)
    console.print(t)
