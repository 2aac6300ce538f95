"""Property-based fuzz (hypothesis) of the file readers and of ``--set`` (issue 18).

Generated files: CSV / TSV / JSON Lines / JSON / plain lines with random unicode, quotes,
delimiters, missing and duplicate headers, ragged and empty rows, a byte-order mark, bytes that
are not UTF-8, a suffix that lies about the content, an unknown encoding. Generated ``--set``
items: real and made-up dotted keys, YAML values of every shape (tags that would build Python
objects among them). Each is run in-process (many examples) and through the real CLI in a new
process (a few, marked slow). The property: success with a complete output, or one clear error
— in-process an :class:`~embedlab.errors.EmbedlabError`; in the CLI exit 1 or 2, ONE line on
stderr, no traceback and nothing written at ``--out``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from embedlab.config import RunConfig
from embedlab.config.keys import config_keys, parse_set
from embedlab.data import load_data, load_table
from embedlab.data.tables import read_chunks
from embedlab.errors import EmbedlabError

T = TypeVar("T")
#: examples per in-process test; raise it to hunt (EMBEDLAB_FUZZ_EXAMPLES=5000 pytest ...)
EXAMPLES = int(os.environ.get("EMBEDLAB_FUZZ_EXAMPLES", "150"))
IN_PROCESS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
#: examples per CLI test (each a new process: ~4 s); EMBEDLAB_FUZZ_CLI_EXAMPLES raises it
CLI_RUNS = settings(max_examples=int(os.environ.get("EMBEDLAB_FUZZ_CLI_EXAMPLES", "5")),
                    deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --------------------------------------------------------------------------- generated files

#: characters that break naive readers, mixed with any other (non-surrogate) character
AWKWARD = list(',"\'\t\n\r;|\\ {}[]:#\x00\x0b\x0c\x1c\x85\u2028\ufeffé中🙂')
cells = st.text(st.one_of(st.sampled_from(AWKWARD), st.characters()), max_size=10)
words = st.text("abc xyz", min_size=1, max_size=12)  # cells a model can read
names = st.one_of(st.sampled_from(["text", "label", "id", "", "text ", "Text", "text"]), cells)


@st.composite
def delimited(draw: st.DrawFn, delimiter: str) -> str:
    """A CSV/TSV table: a header (names may repeat or be empty), rows of the header's width or
    ragged, written properly quoted or naively joined."""
    width = draw(st.integers(1, 4))
    header = draw(st.lists(names, min_size=width, max_size=width))
    if draw(st.booleans()):
        header[0] = "text"
    cell = st.one_of(words, cells)
    rows = draw(st.lists(st.one_of(st.lists(cell, min_size=width, max_size=width),
                                   st.lists(cell, max_size=5)), max_size=6))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    if draw(st.booleans()):
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
        writer.writerows([header, *rows])
        return buffer.getvalue()
    end = draw(st.sampled_from(["", newline, newline * 2]))
    return newline.join(delimiter.join(r) for r in [header, *rows]) + end


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), words, cells),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(cells, inner, max_size=3)),
    max_leaves=6,
)
objects = st.dictionaries(names, json_values, max_size=4)


@st.composite
def json_lines(draw: st.DrawFn) -> str:
    """JSON Lines: objects, blank lines, non-objects, invalid JSON, a key written twice."""
    line = st.one_of(
        objects.map(json.dumps),
        st.builds(lambda t: json.dumps({"text": t, "label": "a"}), words),
        json_values.map(json.dumps),
        cells,
        st.just(""),
        st.just('{"text": "a", "text": "b"}'),
    )
    return "\n".join(draw(st.lists(line, max_size=6))) + draw(st.sampled_from(["", "\n"]))


@st.composite
def json_array(draw: st.DrawFn) -> str:
    """A JSON array of objects (or of anything), whole or cut short, or JSON Lines."""
    items = draw(st.lists(st.one_of(objects, json_values), max_size=5))
    text = json.dumps(items, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 1])))
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]
    return draw(st.one_of(st.just(text), json_lines()))


plain_lines = st.lists(st.one_of(words, cells), max_size=6).map("\n".join)
CONTENT = {".csv": delimited(","), ".tsv": delimited("\t"), ".tab": delimited("\t"),
           ".jsonl": json_lines(), ".json": json_array(), ".txt": plain_lines}


@st.composite
def files(draw: st.DrawFn) -> tuple[str, bytes, str]:
    """``(suffix, bytes, encoding)``: content of one format, mostly under its own suffix,
    UTF-8 with sometimes a byte-order mark or bytes that are not UTF-8."""
    kind = draw(st.sampled_from(sorted(CONTENT)))
    suffix = draw(st.one_of(st.just(kind), st.sampled_from([*sorted(CONTENT), ".dat"])))
    data = draw(CONTENT[kind]).encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 4)) == 0:
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 3)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\x80", b"\xc3", b"\xe2\x82"])) + data[at:]
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["latin-1", "utf-16", "nope", "hex"]))
    return suffix, data, encoding


def outcome(call: Callable[[], T]) -> T | EmbedlabError:
    """The call's result, or the EmbedlabError it raised; any other exception fails the test."""
    try:
        return call()
    except EmbedlabError as error:
        assert str(error).strip(), f"{type(error).__name__} without a message"
        return error


# --------------------------------------------------------------------------- readers in-process


@IN_PROCESS
@given(case=files(), columns=st.sampled_from([("text", None), ("text", "label"), (0, None)]))
@example(case=(".csv", b"text\nhello\n", "nope"), columns=("text", None))  # LookupError before
@example(case=(".json", b"[{\"text\": \"a\"}", "hex"), columns=("text", None))
def test_readers_give_complete_rows_or_one_clear_error(
        case: tuple[str, bytes, str], columns: tuple[Any, Any]) -> None:
    suffix, data, encoding = case
    text_column, label_column = columns
    header = not isinstance(text_column, int)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"data{suffix}"
        path.write_bytes(data)
        table = outcome(lambda: load_table(path, text_column, label_column, encoding=encoding,
                                           header=header))
        labelled = outcome(lambda: load_data(path, encoding=encoding))
        chunks = outcome(lambda: list(read_chunks(path, [text_column] if header else ["text"],
                                                  encoding=encoding, chunk_rows=2)))
    for dataset in (table, labelled):
        if not isinstance(dataset, EmbedlabError):
            assert dataset.texts and all(t == t.strip() and t for t in dataset.texts)
            assert dataset.labels == [] or (len(dataset.labels) == len(dataset.texts)
                                            and all(dataset.labels))
    if isinstance(chunks, EmbedlabError):
        return
    texts = [t for chunk in chunks for t in chunk.texts]
    assert all(len(c.ids) == len(c.texts) and 0 < len(c.texts) <= 2 for c in chunks)
    assert [i for chunk in chunks for i in chunk.ids] == list(range(1, len(texts) + 1))
    if header and label_column is None and not isinstance(table, EmbedlabError):
        # training and prediction read the same rows (blank texts: dropped vs kept as empty)
        assert table.texts == [t.strip() for t in texts if t.strip()]


# --------------------------------------------------------------------------- --set in-process

KEYS = config_keys()
made_up_keys = st.one_of(
    st.sampled_from(KEYS),
    st.sampled_from(KEYS).map(lambda k: k + ".x"),
    st.builds(lambda k, t: f"{k}.{t}", st.sampled_from(["model.params", "training", "data", ""]),
              st.text("abcdefghij_.", max_size=8)),
    cells,
)
yaml_values = st.one_of(
    cells,
    st.sampled_from(["", "null", "~", "true", "-1", "0", "1e309", ".nan", "-.inf", "[1, 2]",
                     "[", "{a: 1}", "{", "- a", "!!python/object/apply:os.system ['true']",
                     "!!binary aGk=", "&a [*a]", "'unterminated", "0x10", "1_000", "2024-01-01",
                     "[1000000000]", "{filters: -3}", "? a"]),
    st.integers().map(str),
    st.floats().map(str),
    json_values.map(json.dumps),
)
set_items = st.one_of(st.builds(lambda k, v: f"{k}={v}", made_up_keys, yaml_values), cells)


@IN_PROCESS
@given(items=st.lists(set_items, min_size=1, max_size=3))
@example(items=["training.lr=!!python/object/apply:os.system ['true']"])
@example(items=["model.params.hidden=[1000000000]"])
@example(items=["model.params.=.nan"])  # an empty key part was accepted
@example(items=['data.dataset="\\ud83d"'])  # a lone surrogate: no file could hold the config
@example(items=["data.text_columns=&a [*a]"])  # RecursionError before
@example(items=["data.dataset=" + "[" * 2000 + "]" * 2000])  # RecursionError in the YAML parser
def test_set_values_give_a_valid_config_or_one_clear_error(items: list[str]) -> None:
    updates = outcome(lambda: parse_set(items))
    if isinstance(updates, EmbedlabError):
        return
    assert set(updates) <= {i.split("=", 1)[0].strip() for i in items}
    config = outcome(lambda: RunConfig().override(updates))
    if not isinstance(config, EmbedlabError):
        assert isinstance(config, RunConfig)
        again = RunConfig.from_dict(config.model_dump(mode="json"))  # it round-trips
        assert again.model_dump_json() == config.model_dump_json()


# --------------------------------------------------------------------------- the real CLI


def cli(*args: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "embedlab", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def assert_one_line_failure(result: subprocess.CompletedProcess[str], out: Path,
                            logged: bool = False) -> None:
    """Exit 1 or 2, no traceback, nothing at ``out`` (nor beside it), and the error in ONE line:
    all of stderr, or (``logged``: train logs its progress on stderr first) its last line."""
    assert result.returncode in (1, 2), (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors and errors == lines[-1:], result.stderr
    assert logged or len(lines) == 1, result.stderr
    assert not out.exists() and list(out.parent.iterdir()) == [], "a failure wrote something"


@pytest.mark.slow
@CLI_RUNS
@given(case=files())
@example(case=(".csv", b"text\nhello\n", "nope"))  # LookupError traceback before
def test_predict_file_writes_every_row_or_one_line_and_nothing(
        case: tuple[str, bytes, str], trained_run: Callable[..., Path]) -> None:
    suffix, data, encoding = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"data{suffix}"
        path.write_bytes(data)
        (Path(folder) / "out").mkdir()
        out = Path(folder) / "out" / "predictions.csv"
        result = cli("predict", trained_run("bag"), "--file", path, "--encoding", encoding,
                     "--out", out)
        if result.returncode != 0:
            assert_one_line_failure(result, out)
            return
        expected = sum(len(c.texts) for c in read_chunks(path, encoding=encoding))
        with out.open(encoding="utf-8", newline="") as f:
            written = list(csv.reader(f))
        assert len(written) == expected + 1, (len(written), expected)  # header + every row
        assert [p.name for p in out.parent.iterdir()] == ["predictions.csv"]


#: appended after the fuzzed items (a later --set wins), so a run that trains stays tiny
TINY = ("--set", "training.epochs=1", "--set", "data.limit=120", "--set", "embeddings.dim=4",
        "--set", "embeddings.source=null")
small_values = st.one_of(  # no large numbers: a valid huge model.params size would allocate it
    yaml_values.filter(lambda v: not re.search(r"\d{3}|\de", v)),
    st.integers(-3, 30).map(str),
)


@pytest.mark.slow
@CLI_RUNS
@given(key=made_up_keys, value=small_values)
@example(key="training.lr", value="!!python/object/apply:os.system ['true']")
@example(key="model.name", value="bag")  # the success path: a complete run
def test_train_set_trains_a_complete_run_or_one_line_and_nothing(key: str, value: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run"
        result = cli("train", "--dataset", "ag_news_sample", "--set", f"{key}={value}", *TINY,
                     "--out", out)
        if result.returncode != 0:
            assert_one_line_failure(result, out, logged=True)
            return
        import embedlab

        assert (out / "manifest.json").is_file()
        assert embedlab.load(out).predict(["stocks fell"])[0].label
