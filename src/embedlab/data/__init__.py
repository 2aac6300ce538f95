"""Data area: labelled text collections, the file reader and loaders, built-in datasets, splits.

>>> from embedlab.data import load_dataset, stratified_split
>>> train = load_dataset("ag_news_sample", "train")
>>> tr, va, te = stratified_split(train.labels, seed=0)
>>> len(tr), len(va), len(te)
(1400, 300, 300)
"""

from embedlab.data.ag_news_text import unescape_ag_news
from embedlab.data.builtin import (
    DATASETS,
    DataFile,
    DatasetInfo,
    PartialCopy,
    available_splits,
    dataset_info,
    dataset_protocol,
    download,
    holdout_note,
    list_datasets,
    load_dataset,
    register_dataset,
)
from embedlab.data.dataset import TextDataset
from embedlab.data.loaders import (
    TABLE_SUFFIXES,
    load_data,
    load_folder,
    load_indexed_lines,
    load_label_lines,
    load_lines,
    load_table,
    read_text_lines,
)
from embedlab.data.splits import (
    iterative_stratification,
    kfold_splits,
    multilabel_kfold,
    multilabel_split,
    stratified_split,
)
from embedlab.data.tables import read_chunks, read_text
from embedlab.download import cache_dir, fetch_file, sha256_file

__all__ = [
    "DATASETS",
    "TABLE_SUFFIXES",
    "DataFile",
    "DatasetInfo",
    "PartialCopy",
    "TextDataset",
    "available_splits",
    "cache_dir",
    "dataset_info",
    "dataset_protocol",
    "download",
    "fetch_file",
    "holdout_note",
    "iterative_stratification",
    "kfold_splits",
    "list_datasets",
    "load_data",
    "load_dataset",
    "load_folder",
    "load_label_lines",
    "load_indexed_lines",
    "load_lines",
    "load_table",
    "multilabel_kfold",
    "multilabel_split",
    "read_chunks",
    "read_text",
    "read_text_lines",
    "register_dataset",
    "sha256_file",
    "stratified_split",
    "unescape_ag_news",
]
