"""``embedlab embeddings ...``: learn, load, explore and probe word vectors.

A thin layer over :mod:`embedlab.embeddings`; every command has a Python counterpart.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast, get_args

import typer

from embedlab.cli.common import console, free_file, free_image, new_app
from embedlab.kinds import VECTORS_KIND

if TYPE_CHECKING:
    from rich.table import Table

    from embedlab.embeddings import Vectors
    from embedlab.embeddings.vectors import ExportFormat

app = new_app(help="Learn, load, explore and probe word embeddings.")


def _load(source: str, fmt: str | None = None, limit: int | None = None) -> Vectors:
    from embedlab.embeddings import load

    return load(source, format=fmt, limit=limit)


def _check_out(out: Path, directory: bool, overwrite: bool) -> None:
    """Refuse, before any work, an output that cannot be written or must not be replaced: a
    directory goes through :func:`embedlab.atomic.check_destination`; an existing file is
    replaced only with --overwrite."""
    from embedlab.atomic import check_destination, check_writable
    from embedlab.errors import ArtifactError

    if directory:
        check_destination(out, VECTORS_KIND, overwrite)
    elif out.is_dir():
        raise ArtifactError(f"{out}: is a directory; give a file name for --out")
    elif out.exists() and not overwrite:
        raise ArtifactError(f"{out}: already exists; choose another --out or pass --overwrite")
    else:
        check_writable(out)


def _pairs_table(title: str, pairs: list[tuple[str, float]]) -> Table:
    from rich.table import Table

    table = Table(title=title)
    table.add_column("#", justify="right")
    table.add_column("word")
    table.add_column("cosine", justify="right")
    for i, (w, s) in enumerate(pairs, 1):
        table.add_row(str(i), w, f"{s:.4f}")
    return table


Source = Annotated[str, typer.Argument(help="Registered name (see 'list') or vectors path.")]
Format = Annotated[str | None, typer.Option("--format", help="Vectors file format "
                                               "(sniffed when left out).")]
Limit = Annotated[int | None, typer.Option("--limit", help="Keep the N most frequent words.")]
TopN = Annotated[int, typer.Option("--topn", min=1, help="How many words to show.")]


@app.command()
def train(
    out: Annotated[Path, typer.Option("--out", help="Output directory (.npy arrays + words.json + manifest.json).")],
    corpus: Annotated[Path | None, typer.Argument(help="Plain-text corpus, or a table "
                                                     "(.csv/.tsv/.jsonl/.parquet) with --text-column.")] = None,
    method: Annotated[str, typer.Option(help="word2vec or fasttext.")] = "word2vec",
    sg: Annotated[bool, typer.Option("--sg/--cbow", help="Skip-gram or CBOW.")] = True,
    dim: int = 100,
    window: int = 5,
    min_count: Annotated[int, typer.Option("--min-count")] = 3,
    negative: int = 20,
    hs: Annotated[bool, typer.Option("--hs", help="Hierarchical softmax instead of negative sampling.")] = False,
    epochs: int = 5,
    workers: int = 2,
    seed: int = 0,
    min_n: Annotated[int, typer.Option("--min-n")] = 3,
    max_n: Annotated[int, typer.Option("--max-n")] = 6,
    buckets: int = 200_000,
    dataset: Annotated[str | None, typer.Option(help="Train on a built-in dataset's texts.")] = None,
    split: Annotated[str, typer.Option(help="Dataset split with --dataset.")] = "train",
    text_column: Annotated[list[str] | None, typer.Option("--text-column", help="Table column(s) holding the text.")] = None,
    encoding: str = "utf-8",
    lowercase: Annotated[bool, typer.Option("--lowercase/--keep-case")] = True,
    punctuation: Annotated[str, typer.Option(help="remove, separate or keep.")] = "remove",
    remove_stopwords: Annotated[bool, typer.Option("--remove-stopwords")] = False,
    split_sentences: Annotated[bool, typer.Option("--split-sentences/--no-split-sentences")] = True,
    export: Annotated[str | None, typer.Option(help="Also write word2vec-text, word2vec-binary "
                                                  "or glove-text into --out.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing embedlab vectors "
                                             "directory at --out.")] = False,
) -> None:
    """Train word2vec or fastText vectors and save them (atomically) to --out."""
    from rich.table import Table

    from embedlab.data.tables import SUFFIXES
    from embedlab.embeddings import sentences_from_texts
    from embedlab.embeddings import train as train_vectors
    from embedlab.embeddings.vectors import EXPORT_FORMATS
    from embedlab.errors import ConfigError, suggest
    from embedlab.text.preprocess import Punctuation

    # checked before any work: a bad value must not surface after training (or after --out
    # is written); the other option strings are checked by the functions they go to
    if punctuation not in get_args(Punctuation):
        raise ConfigError(f"unknown --punctuation '{punctuation}'"
                          f"{suggest(punctuation, get_args(Punctuation))}; known: "
                          f"{', '.join(get_args(Punctuation))}")
    if export is not None and export not in EXPORT_FORMATS:
        raise ConfigError(f"unknown --export format '{export}'{suggest(export, EXPORT_FORMATS)}; "
                          f"known: {', '.join(EXPORT_FORMATS)}")
    if export == "fasttext-bin" and method != "fasttext":
        raise ConfigError("--export fasttext-bin needs --method fasttext (it writes the full "
                          "fastText model)")
    punct = cast("Punctuation", punctuation)
    if dataset and corpus:
        raise ConfigError("give either a corpus file or --dataset, not both")
    _check_out(out, directory=True, overwrite=overwrite)
    if dataset:
        from embedlab.data import load_dataset

        texts = load_dataset(dataset, split).texts
        source: Any = sentences_from_texts(texts, split=split_sentences, lowercase=lowercase,
                                      punctuation=punct, remove_stopwords=remove_stopwords)
        name = f"{dataset}:{split}"
    elif corpus is None:
        raise ConfigError("no corpus: give a text file, a table with --text-column, or --dataset")
    elif text_column or corpus.suffix.lower() in SUFFIXES:
        if not text_column:
            raise ConfigError(f"{corpus} is a table; name the text column(s) with --text-column")
        from embedlab.data import load_table

        texts = load_table(corpus, text_column, None, encoding=encoding).texts
        source = sentences_from_texts(texts, split=split_sentences, lowercase=lowercase,
                                      punctuation=punct, remove_stopwords=remove_stopwords)
        name = f"{corpus}:{','.join(text_column)}"
    else:
        source, name = corpus, str(corpus)
    vectors = train_vectors(
        source, method=cast("Literal['word2vec', 'fasttext']", method), sg=sg, dim=dim, window=window, min_count=min_count,
        negative=negative, hs=hs, epochs=epochs, workers=workers, seed=seed, min_n=min_n,
        max_n=max_n, buckets=buckets, split_sentences=split_sentences, encoding=encoding,
        progress=sys.stderr.isatty(), lowercase=lowercase, punctuation=punct,
        remove_stopwords=remove_stopwords,
    )
    vectors.name = name
    vectors.meta["corpus"] = name
    vectors.save(out, overwrite=overwrite)
    if export:
        suffix = ".bin" if export.endswith("binary") else ".txt"
        vectors.export(out / f"vectors.{export}{suffix}", format=cast("ExportFormat", export))
    table = Table(title=f"{method} vectors → {out}")
    table.add_column("words", justify="right")
    table.add_column("dim", justify="right")
    table.add_column("sentences", justify="right")
    table.add_column("tokens", justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("last epoch loss", justify="right")
    losses = vectors.meta.get("epoch_losses") or []
    table.add_row(f"{len(vectors):,}", str(vectors.dim), f"{vectors.meta['sentences']:,}",
                  f"{vectors.meta['tokens']:,}", f"{vectors.meta['train_seconds']:.1f}",
                  f"{losses[-1]:,.0f}" if losses else "-")
    console.print(table)


@app.command()
def neighbors(
    source: Source,
    word: str,
    topn: TopN = 10,
    fmt: Format = None,
    limit: Limit = None,
) -> None:
    """Nearest words by cosine similarity (fastText vectors answer for unseen words too)."""
    vectors = _load(source, fmt, limit)
    note = "" if word in vectors else " (built from subwords)"
    console.print(_pairs_table(f"neighbours of '{word}'{note} in {vectors.name}",
                               vectors.neighbors(word, topn=topn)))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def analogy(
    ctx: typer.Context,
    source: Source,
    topn: TopN = 10,
    method: Annotated[str, typer.Option(help="add (3CosAdd) or mul (3CosMul).")] = "add",
    fmt: Format = None,
    limit: Limit = None,
) -> None:
    """Solve analogies: --positive king woman --negative man  →  queen."""
    from embedlab.cli.common import UsageError

    groups: dict[str, list[str]] = {"positive": [], "negative": []}
    current: str | None = None
    for arg in ctx.args:
        key, _, value = arg.partition("=")
        if key in ("--positive", "-p", "--negative", "-n"):
            current = "positive" if key in ("--positive", "-p") else "negative"
            if value:
                groups[current] += [v for v in value.split(",") if v]
        elif arg.startswith("-"):
            raise UsageError(f"No such option: {arg}", ctx=ctx)
        elif current is None:
            raise UsageError(f"'{arg}': put words after --positive or --negative", ctx=ctx)
        else:
            groups[current] += [v for v in arg.split(",") if v]
    if not groups["positive"]:
        raise UsageError("analogy needs --positive words (e.g. --positive king woman "
                         "--negative man)", ctx=ctx)
    vectors = _load(source, fmt, limit)
    hits = vectors.analogy(groups["positive"], groups["negative"], topn=topn,
                            method=cast("Literal['add', 'mul']", method))
    title = f"{' + '.join(groups['positive'])}" + "".join(f" − {w}" for w in groups["negative"])
    console.print(_pairs_table(f"{title} ({method}) in {vectors.name}", hits))


@app.command()
def plot(
    source: Source,
    words: Annotated[list[str], typer.Argument(help="Words to project.")],
    out: Annotated[Path | None, typer.Option("--out", help="Image file (PNG, SVG, PDF).")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Interactive HTML file.")] = None,
    method: Annotated[str, typer.Option(help="pca or tsne.")] = "pca",
    seed: int = 0,
    fmt: Format = None,
    limit: Limit = None,
    overwrite: Annotated[bool, typer.Option(help="replace existing --out / --html files")] = False,
    groups: Annotated[int | None, typer.Option(
        min=0, help="colour groups: k-means clusters of the full vectors (0: none; default: "
                    "from the number of words)")] = None,
) -> None:
    """2-D projection of words as a PNG (labels placed apart, PCA axes with their share of the
    variance) and/or a self-contained HTML page (colour groups, zoom, neighbour search)."""
    from embedlab.embeddings import plot_projection, plot_projection_html

    if out is None and html is None:
        out = Path("projection.png")
    free_image(out, overwrite)
    free_file(html, overwrite)
    vectors = _load(source, fmt, limit)
    if out is not None:
        plot_projection(vectors, words, method=cast("Literal['pca', 'tsne']", method), seed=seed,
                        out=out, groups=groups)
        console.print(f"wrote {out}")
    if html is not None:
        plot_projection_html(vectors, words, method=cast("Literal['pca', 'tsne']", method),
                             seed=seed, out=html, groups=groups)
        console.print(f"wrote {html}")


@app.command()
def bias(
    source: Source,
    permutations: Annotated[int, typer.Option(min=1)] = 10_000,
    seed: int = 0,
    topn: TopN = 3,
    fmt: Format = None,
    limit: Limit = None,
) -> None:
    """Analogy probes (man : doctor :: woman : ?) and WEAT effect sizes with p-values."""
    from rich.table import Table

    from embedlab.embeddings import bias as probes

    vectors = _load(source, fmt, limit)
    table = Table(title=f"analogy probe in {vectors.name}")
    table.add_column("word")
    table.add_column("man : word :: woman : ?")
    table.add_column("woman : word :: man : ?")
    for row in probes.analogy_probe(vectors, topn=topn):
        table.add_row(row.word, ", ".join(w for w, _ in row.to_second),
                      ", ".join(w for w, _ in row.to_first))
    console.print(table)
    weat = Table(title=f"WEAT (Caliskan et al. 2017) in {vectors.name}")
    for col in ("test", "effect size", "p-value", "|X|,|Y|,|A|,|B|", "missing"):
        weat.add_column(col, justify="left" if col in ("test", "missing") else "right")
    for r in probes.run_all(vectors, permutations=permutations, seed=seed):
        if math.isnan(r.effect_size):
            weat.add_row(r.name, "-", "-", "-", "")
            continue
        missing = ", ".join(r.missing[:6]) + (" ..." if len(r.missing) > 6 else "")
        weat.add_row(r.name, f"{r.effect_size:+.2f}",
                     f"{r.p_value:.4f}" + ("" if r.exact else "*"),
                     f"{r.n_x},{r.n_y},{r.n_a},{r.n_b}", missing)
    console.print(weat)
    console.print("* sampled permutations; otherwise exact. Positive effect: X ~ A, Y ~ B.")


@app.command()
def evaluate(
    source: Source,
    restrict_vocab: Annotated[int, typer.Option(
        "--restrict-vocab", min=1, help="Answer analogies among the N most frequent words.")] = 300_000,
    fmt: Format = None,
    limit: Limit = None,
) -> None:
    """Google analogy accuracy and word-similarity Spearman (WordSim-353, SimLex-999)."""
    from rich.table import Table

    from embedlab.embeddings import evaluate as run

    vectors = _load(source, fmt, limit)
    result = run(vectors, restrict_vocab=restrict_vocab)
    table = Table(title=f"intrinsic evaluation of {vectors.name}")
    for col in ("test", "score", "answered", "OOV"):
        table.add_column(col, justify="left" if col == "test" else "right")
    a = result["analogy"]
    table.add_row("Google analogies (3CosAdd accuracy)", f"{a['accuracy']:.3f}",
                  f"{a['answered']}/{a['questions']}", f"{a['oov_ratio']:.1%}")
    for key in ("semantic_accuracy", "syntactic_accuracy"):
        if a[key] is not None:
            table.add_row(f"  {key.split('_')[0]}", f"{a[key]:.3f}", "", "")
    for name in ("wordsim353", "simlex999"):
        if name in result:
            r = result[name]
            table.add_row(f"{name} (Spearman)", f"{r['spearman']:.3f}",
                          f"{r['pairs']}/{r['total']}", f"{r['oov_ratio']:.1%}")
    console.print(table)


@app.command()
def convert(
    source: Source,
    to: Annotated[str, typer.Option("--to", help="embedlab (a directory: .npy + words.json, no "
                                    "pickle), word2vec-text, word2vec-binary, glove-text or gensim "
                                    "(gensim's native file, a pickle: load it back with --format "
                                    "gensim only).")],
    out: Annotated[Path, typer.Option("--out")],
    fmt: Annotated[str | None, typer.Option("--from", help="Input format (sniffed when left out).")] = None,
    limit: Limit = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing --out (a directory only "
                                             "if it holds embedlab vectors).")] = False,
) -> None:
    """Convert vectors between formats (written atomically)."""
    _check_out(out, directory=to == "embedlab", overwrite=overwrite)
    vectors = _load(source, fmt, limit)
    if to == "embedlab":
        vectors.save(out, overwrite=overwrite)
    else:
        vectors.export(out, format=cast("ExportFormat", to))
    console.print(f"wrote {len(vectors):,} × {vectors.dim} vectors to {out} ({to})")


@app.command("list")
def list_sources() -> None:
    """Registered embedding sources, how their download is checked, and whether they are
    available offline."""
    from rich.table import Table

    from embedlab.embeddings import SOURCES, cache_dir

    shown = {"sha256": "sha256", "size": "size only", "none": "unchecked"}
    table = Table(title=f"embedding sources (cache: {cache_dir()})")
    for col in ("name", "dim", "words", "download", "checked", "format", "installed"):
        number = col in ("dim", "words", "download")
        table.add_column(col, justify="right" if number else "left", overflow="fold",
                         no_wrap=number or col == "name")
    # the whole name on one line, to be copied: "glove-6b-…" could not be typed
    table.columns[0].min_width = max(len(s.name) for s in SOURCES.values())
    for s in SOURCES.values():
        where = ("package" if s.package and s.installed and not s.path.exists() else "cache")
        size = f"{s.file.size / 2**20:,.0f} MB" if s.file.size is not None else "?"
        check = shown[s.check]
        if s.built:  # distilled here from a package, never downloaded
            size, check = "built", "manifest"
        table.add_row(s.name, str(s.dim), f"{s.words:,}", size, check, s.format,
                      f"yes ({where})" if s.installed else "no")
    console.print(table)
    console.print("checked: sha256 = the download must match its published SHA-256; size only "
                  "= no checksum is published, only the byte count is verified; unchecked = "
                  "nothing is published to verify against; built = made on this machine "
                  "from an installed package on first use (manifest = the sizes and sha256 of "
                  "its files are recorded; sizes are checked on every load).")
