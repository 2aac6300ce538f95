"""Streaming batch prediction: every row in, one row out, any format, bounded memory, atomic."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import embedlab
from embedlab.config import RunConfig
from embedlab.errors import ArtifactError, DataError
from embedlab.inference.files import predict_file

TEXTS = ["Stocks fall as oil prices climb", "", "The striker scored twice in the final",
         "qwxzzy blorfty", "New chip makes laptops faster", "   "]
STATUS = ["ok", "empty", "ok", "no_known_words", "ok", "empty"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("batch") / "ag-bag"
    cfg = RunConfig.from_dict({"data": {"dataset": "ag_news_sample", "limit": 600},
                               "model": {"name": "bag"}, "training": {"epochs": 2},
                               "embeddings": {"dim": 16}})
    embedlab.train(cfg, out)
    return out


@pytest.fixture(scope="module")
def predictor(run_dir):
    return embedlab.load(run_dir)


def write_input(path: Path, fmt: str) -> None:
    ids = [f"id{i}" for i in range(len(TEXTS))]
    if fmt in ("csv", "tsv"):
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, delimiter="," if fmt == "csv" else "\t")
            w.writerow(["key", "text"])
            w.writerows(zip(ids, TEXTS))
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps({"key": k, "text": t}) + "\n" for k, t in zip(ids, TEXTS)))
    elif fmt == "parquet":
        pq.write_table(pa.table({"key": ids, "text": TEXTS}), path)
    else:
        path.write_text("\n".join(TEXTS) + "\n")


def read_output(path: Path) -> list[dict]:
    if path.suffix == ".csv":
        return list(csv.DictReader(path.open(encoding="utf-8")))
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    return pq.read_table(path).to_pylist()


@pytest.mark.parametrize("fmt_in", ["csv", "tsv", "jsonl", "parquet", "txt"])
@pytest.mark.parametrize("fmt_out", ["csv", "jsonl", "parquet"])
def test_every_row_in_gives_one_row_out_in_every_format(predictor, tmp_path, fmt_in, fmt_out):
    src, out = tmp_path / f"in.{fmt_in}", tmp_path / f"out.{fmt_out}"
    write_input(src, fmt_in)
    id_column = None if fmt_in == "txt" else "key"
    report = predict_file(predictor, src, out, id_column=id_column, top_k=2, chunk_rows=4)
    assert (report.rows, report.empty, report.no_known_words) == (6, 2, 1)
    rows = read_output(out)
    assert [r["status"] for r in rows] == STATUS
    expected_ids = list(range(1, 7)) if fmt_in == "txt" else [f"id{i}" for i in range(6)]
    id_name = "row" if fmt_in == "txt" else "key"
    assert [str(r[id_name]) for r in rows] == [str(i) for i in expected_ids]
    reference = predictor.predict(TEXTS)
    for row, ref in zip(rows, reference):
        if ref.status == "empty":
            assert row["label"] in ("", None) and row["probability"] in ("", None)
            continue
        (l1, p1), (l2, p2) = ref.top(2)
        assert (row["label"], row["label_2"]) == (l1, l2)
        assert abs(float(row["probability"]) - p1) < 1e-5 and abs(float(row["probability_2"]) - p2) < 1e-5
        assert int(row["known_words"]) == ref.known_words
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_blank_lines_and_empty_cells_keep_rows_aligned(predictor, tmp_path):
    src = tmp_path / "lines.txt"
    src.write_text("oil prices\n\n\nstriker scores\r\n\n")
    rows = read_output(predict_file(predictor, src, tmp_path / "o.csv").out)
    # the rows' statuses are the Python API's ("ok", or "out_of_distribution" where the run's
    # detector flags a two-word text), and the blank lines stay empty rows in place
    api = [p.status for p in predictor.predict(["oil prices", "", "", "striker scores", ""])]
    assert [(r["row"], r["status"]) for r in rows] == list(zip(["1", "2", "3", "4", "5"], api))
    assert [s == "empty" for s in api] == [False, True, True, False, True]
    one_column = tmp_path / "one.csv"
    one_column.write_text("text\noil\n\nprices\n")
    rows = read_output(predict_file(predictor, one_column, tmp_path / "one.out.csv").out)
    assert [(r["row"], r["status"] == "empty") for r in rows] == [("1", False), ("2", True), ("3", False)]
    table = tmp_path / "t.csv"
    table.write_text("title,body\noil,prices\n,\n,\"the\"\n")
    rows = read_output(predict_file(predictor, table, tmp_path / "t.out.jsonl",
                                    text_columns=["title", "body"]).out)
    assert [r["status"] == "empty" for r in rows] == [False, True, False]
    assert rows[0]["known_words"] == 2 and rows[2]["known_words"] == 1


def test_a_chunk_of_only_empty_rows_keeps_the_ood_column(predictor, tmp_path):
    """``predict --file --json`` writes each chunk's records (output_records): their keys
    follow the run (it has a detector), not the chunk, so a chunk whose rows are all empty
    scores no text and its records still carry ``ood_score`` (None)."""
    from embedlab.inference.files import iter_predictions, output_records

    assert predictor.decisions is not None and predictor.decisions.ood is not None
    src = tmp_path / "lines.txt"
    src.write_text("\n\noil prices soar\nstriker scores\n")
    records = [r for chunk in iter_predictions(predictor, src, chunk_rows=2)
               for r in output_records(chunk, "row", 1, None, predictor.classes)]
    assert [r["status"] == "empty" for r in records] == [True, True, False, False]
    assert [r.get("ood_score", "missing") for r in records[:2]] == [None, None]
    expected = predictor.predict(["oil prices soar"])[0].ood_score
    assert records[2]["ood_score"] == pytest.approx(expected)


def test_bad_rows_and_interrupts_leave_no_output(predictor, tmp_path, monkeypatch):
    src = tmp_path / "ragged.csv"
    src.write_text("text\n" + "oil prices\n" * 10 + "a,b\n")
    out = tmp_path / "o.csv"
    with pytest.raises(DataError, match=r"ragged\.csv: line 12 has 2 field\(s\) but the header has 1"):
        predict_file(predictor, src, out, chunk_rows=3)
    assert list(tmp_path.iterdir()) == [src]
    with pytest.raises(DataError, match="no column 'txt' \\(did you mean 'text'\\?\\)"):
        predict_file(predictor, src, out, text_columns=["txt"])
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\u00e9 prices\n".encode("latin-1") * 3)
    with pytest.raises(DataError, match=r"cannot decode byte 0xe9 at byte offset 3 \(line 1\) as utf-8.*--encoding latin-1"):
        predict_file(predictor, latin, out)
    assert predict_file(predictor, latin, out, encoding="latin-1").rows == 3
    out.unlink()
    latin.unlink()
    good = tmp_path / "good.txt"
    good.write_text("oil prices\n" * 20)
    calls = []
    original = type(predictor)._logits

    def interrupted(self, enc, batch_size):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, enc, batch_size)

    monkeypatch.setattr(type(predictor), "_logits", interrupted)
    with pytest.raises(KeyboardInterrupt):
        predict_file(predictor, good, out, chunk_rows=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.txt", "ragged.csv"]
    monkeypatch.undo()
    predict_file(predictor, good, out)
    with pytest.raises(ArtifactError, match="already exists; choose another --out or pass --overwrite"):
        predict_file(predictor, good, out)
    assert len(read_output(predict_file(predictor, good, out, overwrite=True).out)) == 20
    with pytest.raises(ArtifactError, match="cannot be written: .*good.txt is a file"):
        predict_file(predictor, good, good / "below" / "o.csv")


def test_progress_bar_shows_texts_per_second(predictor, tmp_path, capsys):
    src = tmp_path / "x.txt"
    src.write_text("oil prices\n" * 30)
    predict_file(predictor, src, tmp_path / "o.csv", progress=True)
    assert "texts/s" in capsys.readouterr().err
    predict_file(predictor, src, tmp_path / "o2.csv")  # not a terminal: no bar
    assert capsys.readouterr().err == ""


def test_cli_file_prediction(run_dir, tmp_path):
    from embedlab.cli import app

    src = tmp_path / "q.csv"
    src.write_text("id,q\n7,Stocks tumble as oil prices soar\n8,\n9,\"New phone, new chip\"\n")
    out = tmp_path / "preds.parquet"
    runner = CliRunner()
    args = ["predict", str(run_dir), "--file", str(src), "--text-column", "q", "--id-column", "id",
            "--top-k", "1", "--out", str(out)]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "wrote 3 predictions" in r.output and "1 empty row (status" in r.output
    rows = pq.read_table(out).to_pylist()
    assert [(x["id"], x["status"] == "empty") for x in rows] == [("7", False), ("8", True), ("9", False)]
    # ood_score: the run fitted an out-of-distribution detector on its validation split
    assert set(rows[0]) == {"id", "label", "probability", "status", "known_words", "ood_score"}
    r = runner.invoke(app, args)
    assert r.exit_code == 1 and "--overwrite" in r.output
    r = runner.invoke(app, ["predict", str(run_dir), "--file", str(src), "--text-column", "q"])
    assert r.exit_code == 0 and "[empty]" in r.output and len(r.output.splitlines()) == 3
    r = runner.invoke(app, ["predict", str(run_dir), "--file", str(src), "--text-column", "q",
                            "--id-column", "id", "--json"])
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(x["id"], x["status"]) for x in records] == [("7", "ok"), ("8", "empty"), ("9", "ok")]
    assert records[1]["label"] is None and records[0]["label"] == rows[0]["label"]


@pytest.mark.slow  # a real process: seconds
def test_streaming_memory_stays_bounded(run_dir, predictor, tmp_path):
    """200,000 lines through a subprocess: peak RSS may grow by less than the bound, which is
    below what holding the file's lines alone as Python strings takes, so whole-file loading
    (the former ``predict --file``) fails this test."""
    rng = np.random.default_rng(0)
    words = np.array(predictor.vocab.itos[2:])
    big, small = tmp_path / "big.txt", tmp_path / "small.txt"
    for path, n in ((big, 200_000), (small, 5_000)):
        with open(path, "w", encoding="utf-8") as f:
            for start in range(0, n, 10_000):
                picks = words[rng.integers(0, len(words), (min(10_000, n - start), 12))]
                f.write("\n".join(" ".join(r) for r in picks) + "\n")
    code = (
        "import json, resource, sys, embedlab\n"
        "from embedlab.inference.files import predict_file\n"
        "run, big, small = sys.argv[1:]\n"
        "p = embedlab.load(run)\n"
        "predict_file(p, small, small + '.csv')  # warm-up: the same code path, a small file\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "r = predict_file(p, big, big + '.csv')\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps({'rows': r.rows, 'growth_kb': peak - base}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(run_dir), str(big), str(small)],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    result = json.loads(out.splitlines()[-1])
    assert result["rows"] == 200_000
    assert big.with_name("big.txt.csv").read_text().count("\n") == 200_001
    bound_kb = 16 * 1024
    lines_alone_kb = (big.stat().st_size + 200_000 * sys.getsizeof("")) / 1024
    assert bound_kb < lines_alone_kb  # the bound is tight enough to catch whole-file loading
    assert result["growth_kb"] < bound_kb, result


@pytest.mark.slow  # a real process: seconds
def test_ctrl_c_in_a_real_process_leaves_no_output(run_dir, tmp_path):
    src = tmp_path / "many.txt"
    src.write_text("oil prices rise again as the team wins\n" * 300_000)
    out = tmp_path / "preds.csv"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, "-m", "embedlab", "predict", str(run_dir), "--file",
                              str(src), "--out", str(out)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".preds.csv.*")) and child.poll() is None:
        assert time.monotonic() < deadline, "the temporary output never appeared"
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert "interrupted; nothing was written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.txt"]


@pytest.mark.parametrize("content", ["", "id,q\n"])
def test_a_file_without_rows_is_an_error_and_writes_nothing(run_dir, tmp_path, content):
    from embedlab.cli import app

    src = tmp_path / "q.csv"
    src.write_text(content)
    out = tmp_path / "preds.csv"
    runner = CliRunner()
    for extra in (["--out", str(out)], []):
        r = runner.invoke(app, ["predict", str(run_dir), "--file", str(src), "--text-column", "q",
                                *extra])
        assert r.exit_code == 1, r.output
        assert "no rows to predict" in r.output and len(r.output.strip().splitlines()) == 1
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["q.csv"]
