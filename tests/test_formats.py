"""One reader: every input format gives the same rows to train, predict --file and explain --file.

The same labelled texts are written as CSV, TSV (.tsv and .tab), a JSON array, JSON Lines
(.jsonl and .ndjson), Parquet, lines and a class folder. Training on each must read the same
rows in the same order (same split, same vocabulary counts as the CSV run); predicting and
explaining each must give one row per text, the same texts in the same order. Then the
reader's findings of the hostile review (issue 18): duplicate headers, labels merged by their
spaces, binary files in a data folder, and line numbers counted from 1.
"""

from __future__ import annotations

import csv
import json
import logging
import random
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from embedlab.cli import app
from embedlab.data import load_data, read_chunks
from embedlab.errors import DataError

runner = CliRunner()

WORDS = {
    "sport": ["goal", "team", "match", "striker", "coach", "win", "league", "score", "final", "cup"],
    "tech": ["chip", "laptop", "software", "code", "cloud", "robot", "phone", "data", "server", "app"],
}
# Sorted by label, then by number: the order a class folder is read in, so every format,
# the folder included, holds the rows in the same order.
LABELS = ["sport"] * 15 + ["tech"] * 15
_rng = random.Random(0)
TEXTS = [" ".join(_rng.choice(WORDS[label]) for _ in range(6)) + ("," if i % 5 == 0 else "")
         + (' "quoted" end' if i % 7 == 0 else "") for i, label in enumerate(LABELS)]
# One line of `predict --file` on a terminal: row, label, "label p, label p", text.
SHOWN = re.compile(r"^(?P<row>\S+)\s+\S+\s+\S+ \d\.\d{3}(?:, \S+ \d\.\d{3})*\s+(?P<text>.*)$")
FORMATS = ["csv", "tsv", "tab", "json", "jsonl", "ndjson", "parquet", "lines", "folder"]


def invoke(*args: object, code: int = 0):
    r = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"}, prog_name="embedlab")
    assert r.exit_code == code, (r.output, r.exception)
    return r


def write(fmt: str, root: Path, *, labelled: bool) -> Path:
    """The texts (and labels) in format ``fmt``; a lines file holds 'LABEL text' to train."""
    root.mkdir(parents=True, exist_ok=True)
    records = [{"text": t, "label": y} for t, y in zip(TEXTS, LABELS, strict=True)]
    if fmt == "csv":
        path = root / "data.csv"
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["text", "label"])
            w.writerows([r["text"], r["label"]] for r in records)
    elif fmt in ("tsv", "tab"):  # TSV has no quoting: '"' is an ordinary character
        path = root / f"data.{fmt}"
        rows = ["text\tlabel", *(f"{r['text']}\t{r['label']}" for r in records)]
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    elif fmt == "json":
        path = root / "data.json"
        path.write_text(json.dumps(records, indent=1), encoding="utf-8")
    elif fmt in ("jsonl", "ndjson"):
        path = root / f"data.{fmt}"
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    elif fmt == "parquet":
        path = root / "data.parquet"
        pq.write_table(pa.table({"text": TEXTS, "label": LABELS}), path, row_group_size=7)
    elif fmt == "lines":
        path = root / ("labelled.txt" if labelled else "texts.txt")
        lines = [f"{y} {t}" if labelled else t for t, y in zip(TEXTS, LABELS, strict=True)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        path = root / "folder"
        for i, (text, label) in enumerate(zip(TEXTS, LABELS, strict=True)):
            (path / label).mkdir(parents=True, exist_ok=True)
            (path / label / f"{i:03d}.txt").write_text(text, encoding="utf-8")
    return path


def train(data: Path, out: Path) -> Path:
    invoke("train", "--data", data, "--model", "bag", "--epochs", "1", "--embedding-dim", "8",
           "--set", "embeddings.source=null", "--seed", "3", "--out", out)
    return out


def train_view(run: Path) -> tuple:
    """What training read: the split sizes, classes and the vocabulary's token counts."""
    metrics = json.loads((run / "metrics.json").read_text())
    return (metrics["data"], (run / "labels.json").read_text(), (run / "vocab.json").read_text())


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """A run trained on the CSV file: every format must train into the same split and vocab."""
    root = tmp_path_factory.mktemp("formats")
    return train(write("csv", root / "csv", labelled=True), root / "run-csv")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_gives_the_same_rows_to_train_predict_and_explain(reference, tmp_path,
                                                                        fmt):
    labelled = write(fmt, tmp_path / "in", labelled=True)
    assert train_view(train(labelled, tmp_path / "run")) == train_view(reference)

    texts_file = labelled if fmt != "lines" else write(fmt, tmp_path / "in", labelled=False)
    shown = [SHOWN.match(line) for line in
             invoke("predict", reference, "--file", texts_file).stdout.splitlines()]
    assert [m and m["text"] for m in shown] == TEXTS
    assert [m and m["row"] for m in shown] == [str(i) for i in range(1, 31)]

    why = tmp_path / "why.jsonl"
    invoke("explain", reference, "--file", texts_file, "--out", why, "--no-progress")
    rows = [json.loads(line) for line in why.read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in rows] == TEXTS and [r["id"] for r in rows] == list(range(1, 31))


def test_the_streaming_reader_and_the_training_loader_agree_chunk_by_chunk(tmp_path):
    for fmt in FORMATS:
        path = write(fmt, tmp_path / fmt, labelled=False)
        streamed = [t for c in read_chunks(path, chunk_rows=4) for t in c.texts]
        assert streamed == TEXTS, fmt
        if fmt != "lines":
            assert load_data(path).texts == [t.strip() for t in TEXTS], fmt


def test_a_tab_file_has_a_header_and_a_json_array_predicts(reference, tmp_path):
    """The two disagreements of the old readers: a .tab file predicted line by line (its header
    classified as a text), a .json array refused by predict --file."""
    for fmt in ("tab", "json"):
        out = tmp_path / f"{fmt}.csv"
        invoke("predict", reference, "--file", write(fmt, tmp_path, labelled=True), "--out", out)
        with open(out, encoding="utf-8") as f:
            assert len(list(csv.DictReader(f))) == len(TEXTS), fmt


# --------------------------------------------------------------------------- issue 18 findings


def one_line(r) -> str:
    lines = [ln for ln in r.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in r.output, r.output
    return lines[0]


def test_a_duplicate_text_header_is_an_error_not_the_first_column(reference, tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("text,label,text\nfirst goal,sport,second chip\nchip,tech,code\n")
    with pytest.raises(DataError, match=r"column 'text' appears 2 times in the header "
                                        r"\(positions 0, 2\)"):
        load_data(path)
    assert "appears 2 times" in one_line(
        invoke("train", "--data", path, "--out", tmp_path / "r", code=1))
    assert "appears 2 times" in one_line(
        invoke("predict", reference, "--file", path, code=1))
    ok = tmp_path / "ok.csv"  # a duplicated column nobody reads is fine
    ok.write_text("text,label,note,note\ngoal,sport,a,b\nchip,tech,c,d\n")
    assert load_data(ok).texts == ["goal", "chip"]
    twice = tmp_path / "twice.jsonl"
    twice.write_text('{"text": "goal", "text": "chip", "label": "sport"}\n')
    with pytest.raises(DataError, match=r"key 'text' appears twice in one object at line 1"):
        load_data(twice)


def test_labels_that_differ_only_in_spaces_are_merged_with_a_warning(tmp_path, caplog):
    path = tmp_path / "spaces.csv"
    path.write_text("text,label\ngoal,a\nchip,a \ncode,b\n")
    with caplog.at_level(logging.WARNING, logger="embedlab"):
        assert load_data(path).labels == ["a", "a", "b"]
    assert any("labels 'a' and 'a ' differ only in surrounding spaces; merged as 'a'"
               in r.getMessage() for r in caplog.records)
    caplog.clear()
    clean = tmp_path / "clean.csv"
    clean.write_text("text,label\ngoal,a\nchip, b\n")  # stripped, but nothing merged: no warning
    with caplog.at_level(logging.WARNING, logger="embedlab"):
        assert load_data(clean).labels == ["a", "b"]
    assert not caplog.records


def test_a_data_folder_with_images_says_what_a_data_folder_is(tmp_path):
    photos = tmp_path / "photos"
    (photos / "cats").mkdir(parents=True)
    (photos / "cats" / "1.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(40))
    r = invoke("train", "--data", photos, "--out", tmp_path / "r", code=1)
    line = one_line(r)
    assert "1.png" in line and "one sub-folder per class" in line and "pattern" in line
    with pytest.raises(DataError, match=r"1\.png: not a text file .*one sub-folder per class"):
        load_data(photos, encoding="latin-1")  # latin-1 decodes any byte: the NUL byte tells
    (photos / "cats" / "1.txt").write_text("a cat")
    (photos / "dogs").mkdir()
    (photos / "dogs" / "1.txt").write_text("a dog")
    assert load_data(photos, pattern="*.txt").texts == ["a cat", "a dog"]
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "a.txt").write_text("x")
    with pytest.raises(DataError, match="no class sub-folders; a data folder holds one sub-folder"):
        load_data(flat)


def test_line_numbers_count_from_one(reference, tmp_path):
    """The old streaming CSV reader said 'line 0' for bad bytes in the header line."""
    path = tmp_path / "latin.csv"
    path.write_bytes("t\u00e9xt\ngoal\n".encode("latin-1"))
    line = one_line(invoke("predict", reference, "--file", path, "--text-column", "t\u00e9xt",
                           code=1))
    assert "(line 1)" in line and "line 0" not in line
    assert "--encoding latin-1" in line


def test_a_json_array_read_in_blocks_of_1_to_9_bytes_gives_what_json_loads_gives(tmp_path, monkeypatch):
    """Blocks of 1-9 bytes cut records, strings, escapes and UTF-8 characters anywhere: the
    rows must equal json.loads of the whole file, and a cut file is a one-line error."""
    from embedlab.data import tables

    rng = random.Random(1)
    path = tmp_path / "a.json"
    for _ in range(200):
        monkeypatch.setattr(tables, "BLOCK_BYTES", rng.randint(1, 9))
        records = [{"text": "".join(rng.choice('ab é\n"\\,[]{}') for _ in range(rng.randint(0, 8))),
                    "label": rng.choice(["x", "y"]), "n": rng.choice([1, 2.5, None, True])}
                   for _ in range(rng.randint(1, 6))]
        text = json.dumps(records, indent=rng.choice([None, 1]), ensure_ascii=rng.random() < 0.5)
        path.write_text(text, encoding="utf-8")
        assert [r for c in tables.iter_records(path, chunk_rows=2) for r in c.rows] == records
        path.write_text(text[: rng.randint(1, len(text) - 1)], encoding="utf-8")
        with pytest.raises(DataError, match=r"a\.json: (invalid JSON at line \d+|expected)"):
            list(tables.iter_records(path))
    for bad, message in [("[1]", r"expected a JSON object at record 1 \(line 1\); found int"),
                         ('[{"a": 1} {"b": 2}]', "expected ',' or ']' after a record"),
                         ('[{"a": 1}] x', "extra data after the array"),
                         ('[\n{"a": 1, "a": 2}]', r"key 'a' appears twice .* record 1 \(line 2\)")]:
        path.write_text(bad, encoding="utf-8")
        with pytest.raises(DataError, match=message):
            list(tables.iter_records(path))
