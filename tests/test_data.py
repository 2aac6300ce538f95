"""Data area: loaders, bad-input messages, built-in datasets (mirror, download, sample), splits."""

from __future__ import annotations

import hashlib
import logging
import shutil
import urllib.request
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from embedlab.data import (
    DataFile,
    DatasetInfo,
    TextDataset,
    available_splits,
    cache_dir,
    dataset_info,
    dataset_protocol,
    download,
    fetch_file,
    kfold_splits,
    list_datasets,
    load_data,
    load_dataset,
    load_folder,
    load_indexed_lines,
    load_label_lines,
    load_lines,
    load_table,
    read_text_lines,
    register_dataset,
    stratified_split,
    unescape_ag_news,
)
from embedlab.data import builtin as registry
from embedlab.errors import ConfigError, DataError

MIRROR = Path(__file__).parents[1].parent / "shared" / "data"
needs_mirror = pytest.mark.skipif(
    not (MIRROR / "ag_news" / "test.csv").is_file(), reason=f"data mirror {MIRROR} absent"
)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets an empty cache and no mirror unless it sets one."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("EMBEDLAB_CACHE", str(cache))
    monkeypatch.delenv("EMBEDLAB_DATA_MIRROR", raising=False)
    return cache


def _raises(match: str, call, *args, error=DataError, **kwargs) -> str:
    """Assert ``call`` raises ``error`` with a one-line message matching ``match``."""
    with pytest.raises(error, match=match) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message, message
    return message


def _write(path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode(encoding)
    path.write_bytes(content)
    return path


# --------------------------------------------------------------------------- TextDataset


def test_text_dataset_len_subset_counts() -> None:
    ds = TextDataset(["a b", "c", "d", "e"], ["x", "y", "x", "x"], "mem", ["note"])
    assert len(ds) == 4
    assert ds.class_counts() == {"x": 3, "y": 1}
    assert ds.classes == ["x", "y"]
    sub = ds.subset(np.array([3, 1]))
    assert sub.texts == ["e", "c"] and sub.labels == ["x", "y"]
    assert sub.source == "mem" and sub.notes == ["note"]
    assert ds.subset([True, False, False, True]).texts == ["a b", "e"]
    unlabelled = TextDataset(["a", "b"], [], "mem")
    assert unlabelled.subset([1]).labels == [] and not unlabelled.has_labels
    _raises("2 texts but 1 labels", TextDataset, ["a", "b"], ["x"], "mem")
    _raises("index out of range", ds.subset, [7])


# --------------------------------------------------------------------------- tables


def test_load_table_csv_joins_columns_and_keeps_na_words(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "d.csv",
        'title,body,label\nNA,null,pos\n"Big, news","line one",neg\n,only body,neg\n',
    )
    ds = load_table(path, ["title", "body"], "label")
    assert ds.texts == ["NA null", "Big, news line one", "only body"]
    assert ds.labels == ["pos", "neg", "neg"]
    assert ds.source == str(path)


def test_load_table_without_header_by_position(tmp_path: Path) -> None:
    path = _write(tmp_path / "ag.csv", '"3","Title A","Desc A"\n"1","Title B","Desc B"\n')
    ds = load_table(path, [1, 2], 0, header=False, label_map={"1": "World", "3": "Business"})
    assert ds.texts == ["Title A Desc A", "Title B Desc B"]
    assert ds.labels == ["Business", "World"]


def test_load_table_tsv_jsonl_json_parquet(tmp_path: Path) -> None:
    tsv = _write(tmp_path / "d.tsv", 'text\tlabel\nthe " conan " film\t1\nbad\t0\n')
    assert load_table(tsv, "text", "label").texts == ['the " conan " film', "bad"]
    jsonl = _write(
        tmp_path / "d.jsonl",
        '{"text": "hello", "label": 1}\n\n{"text": "bye", "label": "neg", "x": null}\n',
    )
    ds = load_table(jsonl, "text", "label")
    assert ds.texts == ["hello", "bye"] and ds.labels == ["1", "neg"]
    array = _write(tmp_path / "d.json", '[{"t": "a", "y": "p"}, {"t": "b", "y": "q"}]')
    assert load_table(array, "t", "y").labels == ["p", "q"]
    parquet = tmp_path / "d.parquet"
    pd.DataFrame({"text": ["x y", "z"], "label": [2, 3]}).to_parquet(parquet)
    ds = load_table(parquet, "text", "label")
    assert ds.texts == ["x y", "z"] and ds.labels == ["2", "3"]


def test_load_table_without_labels_for_prediction(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.csv", "text\nfirst\nsecond\n")
    ds = load_table(path, "text", None)
    assert ds.texts == ["first", "second"] and ds.labels == []


def test_table_missing_file_and_columns(tmp_path: Path) -> None:
    _raises(r"nope\.csv: file not found", load_table, tmp_path / "nope.csv", "text", "label")
    path = _write(tmp_path / "d.csv", "text,label\nhello,pos\n")
    msg = _raises(r"no column 'txt' \(did you mean 'text'\?\); available: 'text', 'label'",
                  load_table, path, "txt", "label")
    assert str(path) in msg
    _raises(r"no column 'lable' \(did you mean 'label'\?\)", load_table, path, "text", "lable")
    _raises(r"column 5 out of range; the file has 2 column\(s\)", load_table, path, 5, "label")
    _raises("read without a header; use positions 0-1", load_table, path, "text", 0,
            header=False)
    _raises(r"cannot tell the table format from suffix '\.xyz'", load_table,
            _write(tmp_path / "d.xyz", "a"), "text", "label")
    _raises("unknown table format 'cvs'", load_table, path, "text", "label", format="cvs",
            error=ConfigError)


def test_table_empty_files(tmp_path: Path) -> None:
    _raises(r"e\.csv: no rows \(empty file\)", load_table, _write(tmp_path / "e.csv", ""),
            "text", "label")
    _raises(r"h\.csv: no rows \(empty file\)", load_table,
            _write(tmp_path / "h.csv", "text,label\n"), "text", "label")
    _raises(r"e\.jsonl: no rows", load_table, _write(tmp_path / "e.jsonl", "\n\n"),
            "text", "label")


def test_table_empty_text_skip_warns_and_error_names_row(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path / "d.csv", "text,label\nok,a\n   ,b\nfine,a\n,b\n")
    with caplog.at_level(logging.WARNING, logger="embedlab"):
        ds = load_table(path, "text", "label")
    assert ds.texts == ["ok", "fine"] and ds.labels == ["a", "a"]
    assert any("skipped 2 row(s) with empty text" in r.getMessage() and "row 2 (line 3)"
               in r.getMessage() for r in caplog.records)
    _raises(r"d\.csv: empty text at row 2 \(line 3\) \(2 empty in all\)", load_table, path,
            "text", "label", empty="error")


def test_table_empty_label_names_row(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", "text,label\nok,a\nfine,\n")
    _raises(r"d\.csv: empty label \(column 'label'\) at row 2 \(line 3\)", load_table, path,
            "text", "label")


def test_table_undecodable_bytes_suggest_encoding(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", b"text,label\ncaf\xe9,a\n")
    msg = _raises(r"cannot decode byte 0xe9 at byte offset 14 \(line 2\) as utf-8", load_table,
                  path, "text", "label")
    assert 'encoding="latin-1"' in msg
    assert load_table(path, "text", "label", encoding="latin-1").texts == ["café"]


def test_table_malformed_rows(tmp_path: Path) -> None:
    _raises(r"bad\.jsonl: invalid JSON on line 2", load_table,
            _write(tmp_path / "bad.jsonl", '{"text": "a", "label": "x"}\n{"text": \n'),
            "text", "label")
    _raises(r"list\.jsonl: expected a JSON object at line 1", load_table,
            _write(tmp_path / "list.jsonl", '["a", "b"]\n'), "text", "label")
    _raises(r"bad\.csv: line 3 has 4 field\(s\) but the header has 2", load_table,
            _write(tmp_path / "bad.csv", 'text,label\n"a","x"\n"b","y","z","w"\n'),
            "text", "label")
    _raises(r"open\.csv: malformed CSV at line 3", load_table,
            _write(tmp_path / "open.csv", 'text,label\n"a","x"\n"b,y\n'), "text", "label")
    _raises(r"not a readable Parquet file", load_table,
            _write(tmp_path / "bad.parquet", b"not parquet"), "text", "label")


def test_csv_rows_with_an_extra_field_are_refused_not_shifted(tmp_path: Path) -> None:
    # Every row has one field more than the header: pandas used to take the first column
    # as an index, so "text" became the label column and training ran on shifted data.
    shifted = _write(tmp_path / "shifted.csv",
                     "text,label\ngreat film,pos,extra\ndull film,neg,extra\n")
    _raises(r"shifted\.csv: line 2 has 3 field\(s\) but the header has 2; every row "
            r"needs exactly 2 \(an unquoted comma", load_data, shifted)
    _raises(r"line 3 has 1 field\(s\) but the header has 2;.*a field is missing", load_table,
            _write(tmp_path / "short.csv", "text,label\na,pos\nb\n"), "text", "label")
    _raises(r"line 2 has 3 field\(s\) but the first row has 2", load_table,
            _write(tmp_path / "nohead.csv", "pos,a\nneg,b,c\n"), 1, 0, header=False)
    _raises(r"t\.tsv: line 3 has 3 field\(s\) but the header has 2; .*\(a tab inside",
            load_table, _write(tmp_path / "t.tsv", "text\tlabel\na\tx\nb\tc\ty\n"),
            "text", "label")
    # Quoted fields may still hold commas and newlines; line numbers follow the file.
    good = _write(tmp_path / "good.csv",
                  'text,label\n"two\nlines, one text",pos\n\n"bye",neg\n"",neg\n')
    ds = load_table(good, "text", "label", empty="skip")
    assert ds.texts == ["two\nlines, one text", "bye"] and ds.labels == ["pos", "neg"]
    _raises(r"empty text at row 3 \(line 6\)", load_table, good, "text", "label",
            empty="error")


def test_csv_field_longer_than_the_csv_module_default(tmp_path: Path) -> None:
    import csv

    long_text = "word " * 40_000  # 200 kB in one field, over the csv module's 128 KiB cap
    path = _write(tmp_path / "long.csv", f'text,label\n"{long_text}",pos\n')
    limit = csv.field_size_limit()
    assert load_table(path, "text", "label").texts == [long_text.strip()]
    assert csv.field_size_limit() == limit, "the process-wide csv limit must be restored"


# --------------------------------------------------------------------------- folders and lines


def test_load_folder(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    _write(root / "pos" / "1.txt", "great film\n")
    _write(root / "pos" / "2.txt", "loved it")
    _write(root / "neg" / "1.txt", "dull")
    _write(root / "neg" / "notes.md", "boring notes")
    ds = load_folder(root)
    assert ds.texts == ["dull", "boring notes", "great film", "loved it"]
    assert ds.labels == ["neg", "neg", "pos", "pos"]
    assert load_data(root).labels == ds.labels
    only_txt = load_folder(root, pattern="*.txt")
    assert only_txt.texts == ["dull", "great film", "loved it"]
    assert load_data(root, pattern="*.txt").texts == only_txt.texts


def test_class_folders_named_by_ids_take_their_names_from_a_names_file(tmp_path: Path) -> None:
    """``label_names`` (line k names label id k) maps class folder names as it maps a table's
    label column; a folder the file does not name is a one-line error, not a silent label."""
    root = tmp_path / "corpus"
    _write(root / "0" / "a.txt", "great film")
    _write(root / "1" / "a.txt", "dull")
    names = tmp_path / "names.txt"
    names.write_text("positive\nnegative\n")
    assert load_data(root, label_names=names).labels == ["positive", "negative"]
    _write(root / "2" / "a.txt", "so-so")
    with pytest.raises(DataError, match="unknown label '2' at file .*expected one of: 0, 1"):
        load_data(root, label_names=names)


def test_load_folder_newsgroups_layout(tmp_path: Path) -> None:
    """scikit-learn ``load_files`` / 20 Newsgroups: extension-less files, hidden files."""
    root = tmp_path / "20news-bydate-train"
    _write(root / "sci.space" / "59848", "From: a@b\nSubject: orbit\n\nThe shuttle flew.",
           "latin-1")
    _write(root / "sci.space" / "60150", "Subject: moon\n\nCaf\xe9 on the moon", "latin-1")
    _write(root / "rec.autos" / "101551", "Subject: cars\n\nMy engine.", "latin-1")
    _write(root / "rec.autos" / "table.csv", "not,a,table\n")  # one text, not a table
    _write(root / "rec.autos" / ".DS_Store", b"\x00\x01binary")
    _write(root / "rec.autos" / ".hidden" / "x", "in a hidden folder")
    _write(root / "rec.autos" / "nested" / "y", "in a sub-folder of a class")
    _write(root / ".git" / "HEAD", "ref: refs/heads/main")
    _write(root / "README", "a file next to the class folders")
    ds = load_data(root, encoding="latin-1")
    assert ds.labels == ["rec.autos", "rec.autos", "sci.space", "sci.space"]
    assert ds.texts[0] == "Subject: cars\n\nMy engine." and ds.texts[1] == "not,a,table"
    assert ds.texts[3].endswith("Café on the moon")
    numbered = load_folder(root, encoding="latin-1", pattern="[0-9]*")
    assert numbered.labels == ["rec.autos", "sci.space", "sci.space"]
    assert "not,a,table" not in numbered.texts
    _raises(r"sci\.space: no files matching '\*\.csv' for class 'sci\.space'", load_folder,
            root, encoding="latin-1", pattern="*.csv")
    _raises("pattern is empty", load_folder, root, pattern=" ", error=ConfigError)


def test_load_folder_errors(tmp_path: Path) -> None:
    _raises("folder not found", load_folder, tmp_path / "missing")
    (tmp_path / "flat").mkdir()
    _write(tmp_path / "flat" / "a.txt", "x")
    _raises("no class sub-folders", load_folder, tmp_path / "flat")
    root = tmp_path / "c"
    _write(root / "a" / "1.txt", "x")
    (root / "b").mkdir()
    _raises(r"no files for class 'b' \(hidden files are skipped\)", load_folder, root)
    _write(root / "b" / ".only-hidden", "x")
    _raises(r"no files for class 'b'", load_folder, root)
    _raises(r"no files matching '\*\.txt' for class 'b'", load_folder, root, pattern="*.txt")
    _write(root / "b" / "1.txt", b"\xff\xfe bad")
    _raises(r"1\.txt: cannot decode byte 0xff at byte offset 0 \(line 1\)", load_folder, root)
    _write(root / "b" / "1.txt", "   ")
    _raises(r"empty text at file b/1\.txt", load_folder, root, empty="error")


def test_load_label_lines_sst_and_trec_styles(tmp_path: Path) -> None:
    sst = _write(tmp_path / "stsa.binary.dev", "1 a fine film\r\n0 dull , dull\r\n\n")
    ds = load_label_lines(sst, label_map={"0": "negative", "1": "positive"})
    assert ds.texts == ["a fine film", "dull , dull"] and ds.labels == ["positive", "negative"]
    trec = _write(tmp_path / "TREC.x", "DESC:manner How did it go ?\nLOC:city Which city ?\n")
    by_regex = load_label_lines(trec, label_regex=r"^([^:\s]+):\S*\s+(.*)$")
    by_map = load_label_lines(trec, label_map=lambda s: s.split(":")[0])
    assert by_regex.labels == by_map.labels == ["DESC", "LOC"]
    assert by_map.texts == ["How did it go ?", "Which city ?"]
    assert load_data(trec).labels == ["DESC:manner", "LOC:city"]


def test_load_label_lines_errors(tmp_path: Path) -> None:
    path = _write(tmp_path / "l.txt", "1 good\nlonely\n")
    _raises(r"l\.txt: line 2 does not match 'LABEL text'.*found 'lonely'", load_label_lines,
            path)
    path = _write(tmp_path / "m.txt", "1 good\n7 what\n")
    _raises(r"m\.txt: unknown label '7' at line 2; expected one of: 0, 1", load_label_lines,
            path, label_map={"0": "neg", "1": "pos"})
    _raises("expected 2 \\(label, text\\)", load_label_lines, path, label_regex=r"^(\S+)",
            error=ConfigError)
    _raises(r"empty\.txt: no rows \(empty file\)", load_label_lines,
            _write(tmp_path / "empty.txt", ""))
    _raises(r"blank\.neg: no rows \(empty file\)", load_lines,
            _write(tmp_path / "blank.neg", ""), "negative")


def test_read_text_lines_for_prediction(tmp_path: Path) -> None:
    path = _write(tmp_path / "new.txt", "first text\n\n  second text  \r\n")
    assert read_text_lines(path) == ["first text", "second text"]
    _raises(r"new\.txt: no rows", read_text_lines, _write(path, ""))


def test_load_lines_latin1_does_not_split_on_0x85(tmp_path: Path) -> None:
    path = _write(tmp_path / "rt.pos", b"so good \x85 really\nclich\xe9s , but fun \n")
    ds = load_lines(path, "positive", "latin-1")
    assert ds.texts == ["so good \x85 really", "clichés , but fun"]
    assert ds.labels == ["positive", "positive"]
    assert load_data(path, label="positive", encoding="latin-1").texts == ds.texts
    _raises(r"rt\.pos: cannot decode byte 0x85 at byte offset 8 \(line 1\)", load_lines, path,
            "positive")


# --------------------------------------------------------------------------- registry


def test_registry_info_and_protocols() -> None:
    names = [info.name for info in list_datasets()]
    assert names == ["ag_news", "ag_news_sample", "ag_news_titles", "goemotions", "mr", "ohsumed",
                     "sst1", "sst2", "subj", "trec"]
    ag = dataset_info("ag_news")
    assert ag.classes == ["World", "Sports", "Business", "Sci/Tech"]
    assert ag.files["train"][0].sha256.startswith("76a0a2d2")
    assert ag.files["test"][0].url.endswith("CharCnn_Keras/master/data/ag_news_csv/test.csv")
    assert available_splits("sst2") == ["train", "validation", "test"]
    assert available_splits("trec") == ["train", "test"] and available_splits("mr") == ["train"]
    assert "10-fold cross-validation" in dataset_protocol("subj")
    assert dataset_info("sst1").classes[0] == "very negative"
    for info in list_datasets():
        assert info.citation and info.licence and info.protocol
        for files in info.files.values():
            for f in files:
                assert len(f.sha256) == 64
                assert f.url is None or f.url.startswith("https://raw.githubusercontent.com/")
    _raises(r"unknown dataset 'ag_nwes' \(did you mean 'ag_news'\?\); known: ag_news",
            dataset_info, "ag_nwes", error=ConfigError)


def test_missing_splits_explain_protocol() -> None:
    _raises("'ag_news' has no official validation split.*carved from train by the trainer",
            load_dataset, "ag_news", "validation", error=ConfigError)
    _raises("'mr' has no official test split.*kfold_splits", load_dataset, "mr", "test",
            error=ConfigError)
    _raises(r"unknown split 'tset'.*\(did you mean 'test'\?\)", load_dataset, "trec", "tset",
            error=ConfigError)


def test_sample_loads_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError("the sample must not download anything")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    train = load_dataset("ag_news_sample", "train")
    test = load_dataset("ag_news_sample", "test")
    assert len(train) == 2000 and len(test) == 500
    assert set(train.class_counts().values()) == {500}
    assert test.class_counts() == {"Business": 125, "Sci/Tech": 125, "Sports": 125, "World": 125}
    assert train.source == "builtin:ag_news_sample/train" and train.notes == []
    assert not set(train.texts) & set(test.texts)
    assert not any(" #39;" in t or "\\" in t for t in train.texts)
    raw = load_dataset("ag_news_sample", "train", raw=True)
    assert any(" #39;" in t for t in raw.texts)
    paths = download("ag_news_sample")
    readme = (paths[0].parent / "README.md").read_text(encoding="utf-8")
    for path in paths:
        assert hashlib.sha256(path.read_bytes()).hexdigest() in readme
    assert "non-commercial" in readme


def test_unescape_ag_news() -> None:
    text = "A second\\team gets  #36;10 million; it #39;s  quot;big quot; &lt;b&gt;AT&amp;T&lt;/b&gt;"
    assert unescape_ag_news(text) == "A second team gets $10 million; it's \"big\" AT&T"
    assert unescape_ag_news("forecast; fine") == "forecast; fine"


# --------------------------------------------------------------------------- the real mirror

EXPECTED = {
    ("ag_news", "test"): (7600, {"World": 1900, "Sports": 1900, "Business": 1900,
                                 "Sci/Tech": 1900}),
    ("ag_news", "train"): (10000, {"World": 2523, "Sports": 2338, "Business": 2477,
                                   "Sci/Tech": 2662}),
    ("trec", "train"): (5452, {"ABBR": 86, "DESC": 1162, "ENTY": 1250, "HUM": 1223,
                               "LOC": 835, "NUM": 896}),
    ("trec", "test"): (500, {"ABBR": 9, "DESC": 138, "ENTY": 94, "HUM": 65, "LOC": 81,
                             "NUM": 113}),
    ("sst2", "train"): (6920, {"negative": 3310, "positive": 3610}),
    ("sst2", "validation"): (872, {"negative": 428, "positive": 444}),
    ("sst2", "test"): (1821, {"negative": 912, "positive": 909}),
    ("sst1", "train"): (8544, {"very negative": 1092, "negative": 2218, "neutral": 1624,
                               "positive": 2322, "very positive": 1288}),
    ("sst1", "validation"): (1101, {"very negative": 139, "negative": 289, "neutral": 229,
                                    "positive": 279, "very positive": 165}),
    ("sst1", "test"): (2210, {"very negative": 279, "negative": 633, "neutral": 389,
                              "positive": 510, "very positive": 399}),
    ("mr", "train"): (10662, {"negative": 5331, "positive": 5331}),
    ("subj", "train"): (10000, {"objective": 5000, "subjective": 5000}),
    # the TextGCN README's class table (../shared/data/ohsumed/README.md)
    ("ohsumed", "train"): (3357, {"C01": 114, "C02": 25, "C03": 21, "C04": 430, "C05": 83, "C06": 176, "C07": 29,
                "C08": 121, "C09": 35, "C10": 215, "C11": 49, "C12": 155, "C13": 92, "C14": 585,
                "C15": 54, "C16": 59, "C17": 101, "C18": 168, "C19": 40, "C20": 179, "C21": 240,
                "C22": 9, "C23": 377}),
    ("ohsumed", "test"): (4043, {"C01": 102, "C02": 50, "C03": 29, "C04": 600, "C05": 140, "C06": 178, "C07": 34,
                "C08": 129, "C09": 28, "C10": 342, "C11": 76, "C12": 187, "C13": 103, "C14": 590,
                "C15": 79, "C16": 70, "C17": 132, "C18": 155, "C19": 46, "C20": 231, "C21": 313,
                "C22": 10, "C23": 419}),
}


@needs_mirror
def test_every_builtin_split_matches_the_readmes(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, _isolated_cache: Path
) -> None:
    monkeypatch.setenv("EMBEDLAB_DATA_MIRROR", str(MIRROR))
    for (name, split), (rows, counts) in EXPECTED.items():
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="embedlab"):
            ds = load_dataset(name, split)
        assert len(ds) == rows, (name, split)
        assert ds.class_counts() == dict(sorted(counts.items())), (name, split)
        assert ds.source == f"builtin:{name}/{split}"
        assert set(ds.labels) <= set(dataset_info(name).classes)
        partial = (name, split) == ("ag_news", "train")
        assert bool(ds.notes) == partial
        assert any("first 10,000 of 120,000 rows" in r.getMessage()
                   for r in caplog.records) == partial
    assert "first 10,000 of 120,000" in load_dataset("ag_news", "train").notes[0]
    assert not _isolated_cache.exists(), "the mirror must be used in place, nothing cached"


def test_indexed_lines_keep_one_split_and_reject_misaligned_files(tmp_path: Path) -> None:
    index, corpus = tmp_path / "index.txt", tmp_path / "corpus.txt"
    index.write_text("a/1\ttraining\tC01\na/2\ttest\tC02\na/3\ttraining\tC02\n")
    corpus.write_text("first text\nsecond text\nthird text")  # no final newline (Ohsumed's)
    train = load_indexed_lines(index, corpus, "training")
    assert (train.texts, train.labels) == (["first text", "third text"], ["C01", "C02"])
    assert load_indexed_lines(index, corpus, "test").texts == ["second text"]
    _raises("no row has split 'validation'", load_indexed_lines, index, corpus, "validation")
    corpus.write_text("first text\nsecond text")
    _raises(r"corpus\.txt: 2 lines, but its index index\.txt has 3", load_indexed_lines,
            index, corpus, "training")
    index.write_text("a/1\ttraining\na/2\ttest\tC02\n")
    _raises(r"index\.txt: line 1 has 2 tab-separated field\(s\); expected 3", load_indexed_lines,
            index, corpus, "training")


@needs_mirror
def test_mirror_files_load_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    trec = load_data(MIRROR / "trec" / "TREC.test", encoding="latin-1",
                     label_map=lambda s: s.split(":")[0])
    assert len(trec) == 500 and len(trec.class_counts()) == 6
    ag = load_data(MIRROR / "ag_news" / "test.csv", [1, 2], 0, header=False)
    assert len(ag) == 7600 and ag.class_counts() == {str(i): 1900 for i in range(1, 5)}
    subj = load_lines(MIRROR / "subj" / "subj.subjective", "subjective", "latin-1")
    assert len(subj) == 5000 and not any(t != t.strip() for t in subj.texts)
    _raises(r"subj\.subjective: cannot decode byte .* try encoding=\"latin-1\"", load_lines,
            MIRROR / "subj" / "subj.subjective", "subjective")


@needs_mirror
def test_altered_mirror_file_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "trec").mkdir(parents=True)
    shutil.copyfile(MIRROR / "trec" / "TREC.test", mirror / "trec" / "TREC.test")
    with (mirror / "trec" / "TREC.test").open("ab") as fh:
        fh.write(b"NUM:count How many ?\n")
    monkeypatch.setenv("EMBEDLAB_DATA_MIRROR", str(mirror))
    _raises(r"TREC\.test: sha256 [0-9a-f]{64} matches neither the expected 033f22c0",
            load_dataset, "trec", "test")


# --------------------------------------------------------------------------- downloads


def _tiny_dataset(base_url: str, sha: dict[str, str]) -> DatasetInfo:
    trec = dataset_info("trec")
    files = {
        split: [DataFile(f"tiny.{split}", f"{base_url}tiny.{split}", sha[split])]
        for split in ("train", "test")
    }
    return replace(trec, name="tiny_trec", files=files, mirror_dir=None)


def test_download_caches_once_over_http(
    http_root, monkeypatch: pytest.MonkeyPatch, _isolated_cache: Path
) -> None:
    root, base, requests = http_root
    content = {"train": b"HUM:ind Who is he ?\nLOC:city Where is it ?\n",
               "test": b"NUM:count How many ?\n"}
    for split, data in content.items():
        (root / f"tiny.{split}").write_bytes(data)
    sha = {s: hashlib.sha256(d).hexdigest() for s, d in content.items()}
    monkeypatch.setitem(registry.DATASETS, "tiny_trec", _tiny_dataset(base, sha))

    paths = download("tiny_trec")
    assert paths == [cache_dir() / "datasets" / "tiny_trec" / f"tiny.{s}" for s in content]
    assert [p.read_bytes() for p in paths] == list(content.values())
    assert sorted(requests) == ["/tiny.test", "/tiny.train"]
    ds = load_dataset("tiny_trec", "train")
    assert ds.labels == ["HUM", "LOC"] and ds.texts[0] == "Who is he ?"
    assert download("tiny_trec") == paths
    assert len(requests) == 2, "a cached file must not be downloaded again"
    assert sorted(p.name for p in paths[0].parent.iterdir()) == ["tiny.test", "tiny.train"]


def test_download_bad_checksum_leaves_nothing(
    http_root, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, base, _ = http_root
    (root / "tiny.train").write_bytes(b"HUM:ind Who ?\n")
    (root / "tiny.test").write_bytes(b"NUM:count How many ?\n")
    wrong = {"train": "0" * 64, "test": "1" * 64}
    monkeypatch.setitem(registry.DATASETS, "tiny_trec", _tiny_dataset(base, wrong))
    msg = _raises(rf"checksum mismatch for {base}tiny\.train: expected sha256 0{{64}}, found "
                  r"[0-9a-f]{64}", load_dataset, "tiny_trec", "train")
    assert hashlib.sha256(b"HUM:ind Who ?\n").hexdigest() in msg
    folder = cache_dir() / "datasets" / "tiny_trec"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_fetch_file_from_file_url(tmp_path: Path) -> None:
    src = _write(tmp_path / "src" / "data.txt", "1 hello\n")
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    dest = tmp_path / "cache" / "d" / "data.txt"
    assert fetch_file(src.as_uri(), dest, sha) == dest
    assert dest.read_bytes() == src.read_bytes()
    src.unlink()
    assert fetch_file(src.as_uri(), dest, sha) == dest  # served from the cache
    other = tmp_path / "cache" / "d" / "other.txt"
    _raises("cannot download file://", fetch_file, src.as_uri(), other, sha)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["data.txt"]
    dest.write_bytes(b"tampered")
    _raises(r"data\.txt: cached file has sha256 [0-9a-f]{64}, expected", fetch_file,
            src.as_uri(), dest, sha)


def test_register_dataset_refuses_duplicates() -> None:
    _raises("already registered", register_dataset, dataset_info("trec"), error=ConfigError)


# --------------------------------------------------------------------------- splits


def test_stratified_split_proportions_and_determinism() -> None:
    labels = ["a"] * 600 + ["b"] * 300 + ["c"] * 100
    train, val, test = stratified_split(labels, seed=3)
    assert (len(train), len(val), len(test)) == (700, 150, 150)
    everything = np.concatenate([train, val, test])
    assert sorted(everything.tolist()) == list(range(1000))
    y = np.array(labels)
    for part, n in ((train, 700), (val, 150), (test, 150)):
        counts = Counter(y[part].tolist())
        for cls, share in (("a", 0.6), ("b", 0.3), ("c", 0.1)):
            assert abs(counts[cls] - share * n) <= 1, (cls, counts, n)
    again = stratified_split(labels, seed=3)
    assert all(np.array_equal(x, z) for x, z in zip((train, val, test), again, strict=True))
    other = stratified_split(labels, seed=4)
    assert not np.array_equal(other[1], val)


def test_stratified_split_edge_cases(caplog: pytest.LogCaptureFixture) -> None:
    labels = ["x", "y"] * 50
    train, val, test = stratified_split(labels, val_size=0.2, test_size=0.0, seed=0)
    assert len(test) == 0 and len(val) == 20 and len(train) == 80
    with caplog.at_level(logging.WARNING, logger="embedlab"):
        train, val, test = stratified_split(["a"] * 30 + ["lonely"], seed=0)
    assert any("stay in training only" in r.getMessage() and "'lonely' (1)" in r.getMessage()
               for r in caplog.records)
    assert 30 in train and len(train) + len(val) + len(test) == 31
    _raises("must be below 1", stratified_split, labels, val_size=0.5, test_size=0.5,
            error=ConfigError)
    _raises(r"test_size must be in \[0, 1\)", stratified_split, labels, test_size=-0.1,
            error=ConfigError)
    _raises("cannot split an empty data set", stratified_split, [])


def test_split_warning_names_ten_small_classes_then_counts_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    labels = [f"label{i:04d}" for i in range(3000)] + ["big"] * 40  # 3,000 one-example classes
    with caplog.at_level(logging.WARNING, logger="embedlab"):
        train, val, test = stratified_split(labels, seed=0)
    assert len(train) + len(val) + len(test) == 3040 and set(range(3000)) <= set(train)
    (message,) = [r.getMessage() for r in caplog.records if "stay in training" in r.getMessage()]
    assert message.startswith("3000 class(es) have fewer than 3 examples")
    assert message.endswith("'label0000' (1), 'label0001' (1), 'label0002' (1), 'label0003' (1), "
                            "'label0004' (1), 'label0005' (1), 'label0006' (1), 'label0007' (1), "
                            "'label0008' (1), 'label0009' (1) and 2990 more")
    assert all(len(r.getMessage()) < 400 and "\n" not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("val_size", "test_size", "parts"),
                         [(0.15, 0.15, 3), (0.2, 0.0, 2), (0.0, 0.3, 2)])
def test_stratified_split_keeps_every_class_in_train(
    val_size: float, test_size: float, parts: int, caplog: pytest.LogCaptureFixture
) -> None:
    labels = ["big"] * 20 + ["mid"] * 8 + ["one"] + ["two"] * 2 + ["three"] * 3
    y = np.array(labels)
    small = {c for c in ("one", "two", "three") if labels.count(c) < parts}
    for seed in range(40):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="embedlab"):
            train, val, test = stratified_split(labels, val_size=val_size,
                                                test_size=test_size, seed=seed)
        assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(len(y)))
        assert set(y[train]) == set(labels), f"seed {seed}: a class is missing from train"
        held_out = set(y[val]) | set(y[test])
        assert not held_out & small, f"seed {seed}: {held_out & small} left train"
        message = " ".join(r.getMessage() for r in caplog.records)
        for cls in small:
            assert f"'{cls}' ({labels.count(cls)})" in message
        assert "'big'" not in message and "'mid'" not in message
    assert (len(val), len(test)) == (int(np.ceil(val_size * 34)), int(np.ceil(test_size * 34)))


def test_stratified_split_with_more_classes_than_a_part_can_hold() -> None:
    labels = [c for c in "abcdefghij" for _ in range(3)]  # 10 classes of 3; 5 per part
    y = np.array(labels)
    for seed in range(20):
        train, val, test = stratified_split(labels, seed=seed)
        assert set(y[train]) == set(labels) and (len(val), len(test)) == (5, 5)


def test_kfold_splits_cover_every_example_once() -> None:
    labels = ["neg"] * 55 + ["pos"] * 45
    folds = kfold_splits(labels, k=10, seed=0)
    assert len(folds) == 10
    tests = np.concatenate([te for _, te in folds])
    assert sorted(tests.tolist()) == list(range(100))
    for train, test in folds:
        assert not set(train.tolist()) & set(test.tolist())
        assert Counter(np.array(labels)[test].tolist()) in (
            Counter(neg=5, pos=5), Counter(neg=6, pos=4), Counter(neg=5, pos=4),
            Counter(neg=6, pos=5),
        )
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, kfold_splits(labels, k=10),
                                                           strict=True))
    _raises("cannot make 10 folds from 5 examples", kfold_splits, labels[:5])
    _raises("k must be at least 2", kfold_splits, labels, k=1, error=ConfigError)


# --------------------------------------------------------------------------- runs: data section


def test_run_config_pattern_reaches_the_folder_loader(tmp_path: Path) -> None:
    from embedlab.config import RunConfig
    from embedlab.training.run import load_splits

    root = tmp_path / "corpus"
    for cls in ("neg", "pos"):
        for i in range(4):
            _write(root / cls / f"{i}.txt", f"{cls} text number {i}")
        _write(root / cls / "README", "not a text of this class")
    base = RunConfig.from_dict({"data": {"path": str(root), "val_size": 0.25,
                                         "test_size": 0.25}})
    everything = load_splits(base)
    assert sum(len(s) for s in (everything.train, everything.validation, everything.test)) == 10
    only_txt = load_splits(base.override({"data.pattern": "*.txt"}))
    texts = only_txt.train.texts + only_txt.validation.texts + only_txt.test.texts
    assert len(texts) == 8 and "not a text of this class" not in texts


@needs_mirror
def test_cross_validation_datasets_warn_about_the_holdout(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from embedlab.config import RunConfig
    from embedlab.training.run import load_splits

    monkeypatch.setenv("EMBEDLAB_DATA_MIRROR", str(MIRROR))
    assert dataset_info("mr").folds == dataset_info("subj").folds == 10
    assert dataset_info("trec").folds is None
    with caplog.at_level(logging.WARNING, logger="embedlab"):
        splits = load_splits(RunConfig.from_dict({"data": {"dataset": "mr"}}))
    expected = ("mr: the published protocol is 10-fold cross-validation, but this run trains "
                "and scores on one stratified 70%/15%/15% train/validation/test holdout (seed 0)")
    assert any(r.getMessage().startswith(expected) for r in caplog.records)
    assert splits.train.notes and splits.train.notes[0].startswith(expected)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="embedlab"):
        load_splits(RunConfig.from_dict({"data": {"dataset": "trec"}}))
    assert not any("cross-validation" in r.getMessage() for r in caplog.records)


def test_importing_the_data_area_loads_no_heavy_library() -> None:
    import subprocess
    import sys

    code = ("import sys, embedlab.data; "
            "print(sorted(m for m in ('sklearn', 'pandas', 'numpy', 'pyarrow', 'torch') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_text_classifier_fits_with_a_one_example_class(caplog: pytest.LogCaptureFixture) -> None:
    """Seed 18 used to carve the only 'c' into validation: "label 'c' was never seen"."""
    from embedlab import TextClassifier

    texts = ["good film great"] * 6 + ["bad film awful"] * 6 + ["odd one"]
    labels = ["a"] * 6 + ["b"] * 6 + ["c"]
    with caplog.at_level(logging.WARNING, logger="embedlab"):
        clf = TextClassifier(model="bag", epochs=1, seed=18).fit(texts, labels)
    assert list(clf.classes_) == ["a", "b", "c"]
    assert any("'c' (1)" in r.getMessage() for r in caplog.records)


@needs_mirror
def test_ag_news_titles_and_a_carved_70_15_15_split(monkeypatch: pytest.MonkeyPatch,
                                                     _isolated_cache: Path) -> None:
    # the Embeddings lesson's protocol: titles only, validation and test carved from train.csv
    from embedlab.config import RunConfig
    from embedlab.training.run import load_splits

    monkeypatch.setenv("EMBEDLAB_DATA_MIRROR", str(MIRROR))
    full = load_dataset("ag_news", "train")
    titles = load_dataset("ag_news_titles", "train")
    assert titles.labels == full.labels
    assert titles.texts[0] == "Wall St. Bears Claw Back Into the Black (Reuters)"
    assert all(f.startswith(t) and len(f) > len(t) for t, f in zip(titles.texts, full.texts))
    cfg = RunConfig.from_dict({"data": {"dataset": "ag_news_titles", "splits": "carve"}})
    sp = load_splits(cfg)
    assert (len(sp.train), len(sp.validation), len(sp.test)) == (7000, 1500, 1500)
    assert set(sp.test.texts) <= set(titles.texts)  # from train.csv, not the official test
    for label, n in titles.class_counts().items():  # stratified: 15 % of every class
        assert abs(sp.test.class_counts()[label] - 0.15 * n) <= 1
    assert any("carved from the train split" in n for n in sp.train.notes)
    official = load_splits(RunConfig.from_dict({"data": {"dataset": "ag_news_titles"}}))
    assert len(official.test) == 7600
    assert not _isolated_cache.exists()  # the mirror is read in place
    with pytest.raises(ConfigError, match="data.splits=carve carves the test split"):
        RunConfig.from_dict({"data": {"path": "a.csv", "test_path": "b.csv", "splits": "carve"}})


def test_examples_give_every_class_a_text_even_when_all_its_texts_are_long():
    from embedlab.data import TextDataset

    ds = TextDataset(["a long one " * 50, "short b", "another long " * 40, "short a"],
                     ["a", "b", "c", "a"], "test")
    got = {e["label"]: e["text"] for e in ds.examples(["a", "b", "c"], 1, max_chars=100)}
    assert got["a"] == "short a" and got["b"] == "short b"  # whole texts first
    assert got["c"].startswith("another long") and got["c"].endswith(" …")
    assert len(got["c"]) <= 102
    ml = TextDataset(["x y", "z"], [], "test", label_sets=[["LOC", "LOC:city"], ["HUM"]])
    assert {e["label"] for e in ml.examples(["LOC", "LOC:city", "HUM"])} == {
        "LOC", "LOC:city", "HUM"}


def test_concat_joins_datasets_labelled_the_same_way_and_refuses_a_mix():
    from embedlab.data import TextDataset

    a = TextDataset(["good film"], ["pos"], "a", notes=["a note"])
    b = TextDataset(["bad film", "fine"], ["neg", "pos"], "b")
    joined = a.concat(b)
    assert joined.texts == ["good film", "bad film", "fine"] and joined.labels == ["pos", "neg", "pos"]
    assert joined.source == "a" and joined.notes == ["a note"] and a.texts == ["good film"]
    sets = TextDataset(["x"], [], "m", label_sets=[["u", "v"]])
    assert sets.concat(sets).label_sets == [["u", "v"], ["u", "v"]]
    with pytest.raises(DataError, match="labelled differently"):
        a.concat(sets)
    with pytest.raises(DataError, match="labelled differently"):
        a.concat(TextDataset(["no label"], [], "u"))
    nothing = TextDataset([], [], "empty")  # an empty part joins anything, its labels kept
    assert nothing.concat(sets).label_sets == [["u", "v"]] and sets.concat(nothing).texts == ["x"]
    assert a.concat(nothing).labels == ["pos"]
