"""``embedlab explain RUN``: why the model decided — one text, a file, a data set, or how faithful
each method is."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Annotated, Any

import typer

from embedlab.cli.common import console, err_console, free_file, rows, setup_logging


def _progress(enabled: bool | None, label: str):
    """A Rich progress wrapper on stderr, or ``None`` (no bar)."""
    if enabled is False or (enabled is None and not err_console.is_terminal):
        return None
    from rich.progress import track

    def wrap(items):
        return track(items, description=label, console=err_console, transient=True)

    return wrap


def _dataset_texts(dataset: str | None, split: str, file: Path | None, text_column: list[str],
                   limit: int | None, seed: int) -> tuple[list[str], str]:
    from embedlab.errors import ConfigError

    if dataset and file:
        raise ConfigError("give --dataset or --file, not both")
    if dataset:
        from embedlab.data import load_dataset

        texts = list(load_dataset(dataset, split).texts)
        name = f"{dataset}/{split}"
    elif file:
        texts = _read_file(file, text_column)[1]
        name = str(file)
    else:
        raise ConfigError("this needs texts: give --dataset NAME [--split test] or --file")
    if limit is not None and len(texts) > limit:
        picked = sorted(random.Random(seed).sample(range(len(texts)), limit))
        texts = [texts[i] for i in picked]
        name += f", a random {limit} (seed {seed})"
    return texts, name


def _read_file(file: Path, text_column: list[str]) -> tuple[list[Any], list[str]]:
    from embedlab.data.tables import read_chunks

    ids: list[Any] = []
    texts: list[str] = []
    for chunk in read_chunks(file, text_columns=text_column):
        ids += chunk.ids
        texts += chunk.texts
    return ids, texts


def explain(
    run: Annotated[Path, typer.Argument(help="run directory")],
    text: Annotated[str | None, typer.Argument(help="text to explain")] = None,
    method: Annotated[str, typer.Option(
        help="auto, ig, exact (fasttext), ngrams (cnn), attention (rnn), lime, occlusion")] = "auto",
    target: Annotated[str | None, typer.Option(
        help="class to explain (a multi-label run: any one label; default: the predicted "
             "one); with --faithfulness, the class measured in every text")] = None,
    html: Annotated[Path | None, typer.Option(
        help="write a self-contained HTML page (one text, --file or --global)")] = None,
    png: Annotated[Path | None, typer.Option(
        help="write a picture: token bars, cnn filters heatmap (ngrams), attention heatmap; "
             "with --global, the terms per class; with --faithfulness, the deletion curves")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the explanation JSON")] = None,
    file: Annotated[Path | None, typer.Option(
        help="explain every row of a CSV/TSV/JSONL/Parquet table or text-per-line file")] = None,
    text_column: Annotated[list[str] | None, typer.Option(
        help="text column of a table (repeat to join several); default 'text'")] = None,
    out: Annotated[Path | None, typer.Option(
        help="--file: JSON Lines, one explanation per row (without the cnn filter maps); "
             "--global / --faithfulness: the report JSON")] = None,
    global_: Annotated[bool, typer.Option(
        "--global", help="per predicted class: the words / n-grams with the largest mean "
        "contribution (seen --min-count+ times); cnn: most-chosen n-grams per width; "
        "--png / --html draw it")] = False,
    min_count: Annotated[int, typer.Option(
        min=1, help="--global: leave out terms seen fewer times in a class's texts")] = 5,
    faithfulness: Annotated[bool, typer.Option(
        "--faithfulness", help="ERASER comprehensiveness / sufficiency / AOPC of each method")] = False,
    methods: Annotated[list[str] | None, typer.Option(
        "--compare", help="--faithfulness: methods to measure (repeat; default: all the model can do)")] = None,
    dataset: Annotated[str | None, typer.Option(help="built-in data set for --global / --faithfulness")] = None,
    split: Annotated[str, typer.Option(help="split of --dataset")] = "test",
    limit: Annotated[int | None, typer.Option(
        min=1, help="random sample of this many texts (--faithfulness default 300)")] = None,
    seed: Annotated[int, typer.Option(help="seed of the sample, LIME and the random baseline")] = 0,
    n_steps: Annotated[int | None, typer.Option(min=1, help="ig: integration steps (default 50)")] = None,
    num_samples: Annotated[int | None, typer.Option(
        min=1, help="lime: perturbed samples (default 1000)")] = None,
    top: Annotated[int, typer.Option(min=1, help="tokens / n-grams listed")] = 10,
    overwrite: Annotated[bool, typer.Option(help="replace existing output files")] = False,
    progress: Annotated[bool | None, typer.Option(
        "--progress/--no-progress", help="progress bar on stderr (default: when it is a terminal)")] = None,
) -> None:
    """Explain why the model decided: coloured tokens and a ranked list, HTML, PNG, JSON.

    Bad input (an empty text, an unknown --target, a method the model cannot do) is a one-line
    error, exit 1, and nothing is written.
    """
    from embedlab.artifacts import load
    from embedlab.errors import ConfigError
    from embedlab.explain.model_view import ModelView

    setup_logging()
    _check_mode(text, file, global_, faithfulness)
    _check_outputs(text, file, global_, faithfulness, out=out, html=html, png=png, json_out=json_out)
    if global_ and target is not None:
        raise ConfigError("--target is for single texts, --file and --faithfulness; --global "
                          "already ranks the terms of every class")
    for path in (html, png, json_out, out):
        free_file(path, overwrite)
    view = ModelView(load(run))
    settings = {k: v for k, v in (("n_steps", n_steps), ("num_samples", num_samples)) if v is not None}
    if target is not None:
        view.class_index(target, 0)
    columns = text_column or ["text"]
    if faithfulness:
        _faithfulness(view, methods, settings, dataset, split, file, columns, limit or 300, seed,
                      out, png, progress, target)
        return
    if methods:
        raise ConfigError("--compare is for --faithfulness")
    resolved, chosen = _method_settings(view, method, settings, seed)
    if global_:
        _global(view, method, chosen, dataset, split, file, columns, limit, seed, top, min_count,
                {"out": out, "png": png, "html": html}, progress)
    elif file is not None:
        _batch(view, resolved, target, chosen, file, columns, out, html, progress)
    else:
        _one(view, text or "", resolved, target, chosen, html, png, json_out, top)


def _check_mode(text: str | None, file: Path | None, global_: bool, faithfulness: bool) -> None:
    """Exactly one of: a text, --file, --global, --faithfulness (the last two may read --file)."""
    from embedlab.errors import ConfigError, DataError

    modes = sum([text is not None, file is not None and not (global_ or faithfulness),
                 global_, faithfulness])
    if global_ and faithfulness:
        raise ConfigError("choose --global or --faithfulness, not both")
    if modes == 0:
        raise DataError("nothing to explain: give a text, --file, --global or --faithfulness")
    if text is not None and (file is not None or global_ or faithfulness):
        raise ConfigError("a text argument explains one text; drop it to use --file, --global "
                          "or --faithfulness")


def _check_outputs(text: str | None, file: Path | None, global_: bool, faithfulness: bool, *,
                   out: Path | None, html: Path | None, png: Path | None,
                   json_out: Path | None) -> None:
    """The output options the chosen mode writes (anything else is refused before any work)."""
    from embedlab.errors import ConfigError

    report = global_ or faithfulness
    if out is not None and text is not None:
        raise ConfigError("--out is for --file, --global and --faithfulness; for one text use "
                          "--json, --html or --png")
    if file is not None and not report and (png or json_out):
        raise ConfigError("--png and --json are for one text; with --file use --out (JSON "
                          "Lines) and/or --html")
    if report and json_out:
        raise ConfigError("--json is for one text; --global and --faithfulness write their "
                          "JSON report with --out")
    if faithfulness and html:
        raise ConfigError("--faithfulness writes --out (JSON) and --png (deletion curves), "
                          "not --html")
    if png is not None and png.suffix.lower() != ".png":
        raise ConfigError(f"--png must end in .png, found '{png.name}'")


def _method_settings(view, method: str, settings: dict, seed: int) -> tuple[str, dict]:
    """The method ``auto`` stands for on this model, and the settings it takes (checked)."""
    from embedlab.explain.explainer import check_settings, resolve_method

    resolved = resolve_method(view, method)
    chosen = {k: v for k, v in settings.items() if k in _takes(resolved)}
    check_settings(resolved, chosen)
    if resolved == "lime":
        chosen.setdefault("seed", seed)
    return resolved, chosen


def _takes(method: str) -> list[str]:
    import inspect

    from embedlab.explain.explainer import METHODS

    return list(inspect.signature(METHODS[method]).parameters)


def _one(view, text: str, method: str, target: str | None, settings: dict, html: Path | None,
         png: Path | None, json_out: Path | None, top: int) -> None:
    from embedlab.atomic import atomic_file
    from embedlab.explain.explainer import explain_prepared
    from embedlab.explain.render_terminal import render_terminal

    e = explain_prepared(view, view.prepare(text), method, target, **settings)
    outputs = []
    if png is not None:
        from embedlab.explain.render_png import render_png

        outputs.append(render_png(e, png))
    if html is not None:
        from embedlab.explain.render_html import render_html_page

        with atomic_file(html) as tmp:
            tmp.write_text(render_html_page([e]), encoding="utf-8")
        outputs.append(html)
    if json_out is not None:
        with atomic_file(json_out) as tmp:
            tmp.write_text(e.to_json(indent=1), encoding="utf-8")
        outputs.append(json_out)
    render_terminal(e, console, top)
    for path in outputs:
        console.print(f"wrote {path}", highlight=False)


def _batch(view, method: str, target: str | None, settings: dict, file: Path,
           text_column: list[str], out: Path | None, html: Path | None, progress) -> None:
    from embedlab.atomic import atomic_file
    from embedlab.errors import ConfigError

    if out is None and html is None:
        raise ConfigError("--file needs --out why.jsonl (and/or --html page.html)")
    ids, texts = _read_file(file, text_column)
    wrap = _progress(progress, f"explaining {len(texts):,} texts ({method})")
    pairs = list(zip(ids, texts))
    lines, explanations, empty = _explain_rows(view, method, target, settings,
                                               wrap(pairs) if wrap else pairs)
    if out is not None:
        with atomic_file(out) as tmp:
            tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if html is not None:
        from embedlab.explain.render_html import render_html_page

        with atomic_file(html) as tmp:
            tmp.write_text(render_html_page(explanations, f"embedlab explain: {file.name}"),
                           encoding="utf-8")
    written = " and ".join(str(p) for p in (out, html) if p is not None)
    console.print(f"wrote {len(explanations):,} explanations ({method}) to {written}",
                  highlight=False)
    if empty:
        err_console.print(f"[yellow]warning:[/] {rows(empty, 'empty row')} kept with status 'empty'",
                          highlight=False)


def _explain_rows(view, method: str, target: str | None, settings: dict,
                  pairs) -> tuple[list[str], list[Any], int]:
    """Explain each ``(id, text)``: the JSON Lines, the explanations (without the cnn filter
    maps) and how many texts were empty (kept as rows with status 'empty')."""
    import json

    from embedlab.errors import DataError
    from embedlab.explain.explainer import explain_prepared

    lines, explanations, empty = [], [], 0
    for row, text in pairs:
        try:
            e = explain_prepared(view, view.prepare(text), method, target, **settings)
        except DataError as err:
            if "empty text" not in str(err):
                raise
            empty += 1
            lines.append(json.dumps({"id": row, "status": "empty", "text": text,
                                     "error": "empty text: nothing to explain"}))
            continue
        e = e.without_maps()  # filters × tokens per row would dwarf everything else
        explanations.append(e)
        lines.append(json.dumps({"id": row, **e.to_dict()}, ensure_ascii=False))
    return lines, explanations, empty


def _global(view, method: str, settings: dict, dataset, split, file, text_column, limit, seed,
            top, min_count: int, outputs: dict[str, Path | None], progress) -> None:
    from embedlab.explain.global_ import global_explanation

    texts, name = _dataset_texts(dataset, split, file, text_column, limit, seed)
    wrap = _progress(progress, f"explaining {len(texts):,} texts")
    report = global_explanation(view, texts, method, top=top, data=name, progress=wrap,
                                min_count=min_count, **settings)
    for table in report.tables():
        console.print(table)
    if report.skipped:
        err_console.print(f"[yellow]warning:[/] {report.skipped:,} empty texts skipped",
                          highlight=False)
    writers = {"out": report.write_json, "png": report.plot, "html": report.write_html}
    for key, path in outputs.items():
        if path is not None:
            writers[key](path)
            console.print(f"wrote {path}", highlight=False)


def _faithfulness(view, methods, settings, dataset, split, file, text_column, limit, seed, out,
                  png, progress, target: str | None = None) -> None:
    from embedlab.explain.explainer import available_methods, resolve_method
    from embedlab.explain.faithfulness import faithfulness

    names = [resolve_method(view, m) for m in (methods or available_methods(view))]
    per_method = {m: {k: v for k, v in settings.items() if k in _takes(m)} for m in names}
    if "lime" in per_method:
        per_method["lime"].setdefault("seed", seed)
    texts, name = _dataset_texts(dataset, split, file, text_column, limit, seed)
    wrap = _progress(progress, f"measuring {len(names)} methods on {len(texts):,} texts")
    report = faithfulness(view, texts, names, seed=seed, settings=per_method, data=name,
                          progress=wrap, target=target)
    if target is not None:
        console.print(f"explained class: {target} in every text (--target)", highlight=False)
    console.print(report.table())
    console.print("comp: drop of the explained class's probability when the top k% tokens are "
                  "deleted (higher is better); suff: drop when only they are kept (lower is "
                  "better); AOPC: mean over k. random: a random ranking, the floor.",
                  style="dim", highlight=False)
    if out is not None:
        report.write_json(out)
        console.print(f"wrote {out}", highlight=False)
    if png is not None:
        report.plot(png)
        console.print(f"wrote {png}", highlight=False)
