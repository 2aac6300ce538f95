"""Training word2vec / fastText (embedlab.embeddings.train) on small real text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gensim.test.utils import datapath

from embedlab.embeddings import load, read_corpus, split_sentences, train
from embedlab.errors import ConfigError, DataError, EmbeddingError

LEE = Path(datapath("lee_background.cor"))
HARRY = Path(__file__).resolve().parents[2] / "shared" / "data" / "harrypotter" / "harrypotter.txt"
FAST = {"dim": 24, "epochs": 3, "min_count": 2, "workers": 1, "seed": 0}


@pytest.fixture(scope="module")
def w2v():
    return train(LEE, method="word2vec", **FAST)


@pytest.fixture(scope="module")
def ft():
    return train(LEE, method="fasttext", buckets=20_000, **FAST)


def test_word2vec_trains_and_answers_neighbours(w2v):
    assert 3000 < len(w2v) < 5000 and w2v.dim == 24 and not w2v.has_subwords
    hits = w2v.neighbors("government", topn=5)
    assert len(hits) == 5 and "government" not in [w for w, _ in hits]
    assert all(-1 <= s <= 1 for _, s in hits)
    losses = w2v.meta["epoch_losses"]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert w2v.meta["sentences"] > 2000 and w2v.meta["method"] == "word2vec"


def test_fasttext_answers_unseen_word_word2vec_raises(w2v, ft):
    assert ft.has_subwords
    unseen = "governmentally"
    assert unseen not in ft and unseen not in w2v
    assert ft.vector(unseen).shape == (24,) and ft.vector(unseen).any()
    assert len(ft.neighbors(unseen, topn=3)) == 3
    with pytest.raises(EmbeddingError, match="'governmentally' is not in the vocabulary .*"
                       "no subword information.*closest known: 'government'"):
        w2v.neighbors(unseen)


def test_seeded_single_worker_training_is_reproducible(w2v):
    again = train(LEE, method="word2vec", **FAST)
    assert again.words == w2v.words and np.array_equal(again.kv.vectors, w2v.kv.vectors)


def test_fasttext_bin_round_trip_keeps_subwords(ft, tmp_path):
    path = ft.export(tmp_path / "lee.bin", format="fasttext-bin")
    back = load(path)
    assert back.has_subwords and back.words == ft.words
    np.testing.assert_allclose(back.kv.vectors, ft.kv.vectors, atol=1e-6)
    np.testing.assert_allclose(back.vector("governmentally"), ft.vector("governmentally"),
                               atol=1e-5)
    with pytest.raises(EmbeddingError, match="limit is not supported"):
        load(path, limit=10)


def test_fasttext_saved_directory_keeps_subwords_without_pickle(ft, tmp_path):
    ft.save(tmp_path / "ft")
    names = {p.name for p in (tmp_path / "ft").iterdir()}
    assert names == {"manifest.json", "words.json", "vectors.npy", "vectors_vocab.npy",
                     "vectors_ngrams.npy"}
    back = load(tmp_path / "ft")
    assert back.has_subwords and back.meta["method"] == "fasttext"
    assert back.words == ft.words and np.array_equal(back.kv.vectors, ft.kv.vectors)
    assert np.array_equal(back.vector("governmentally"), ft.vector("governmentally"))
    assert back.neighbors("governmentally", topn=3) == ft.neighbors("governmentally", topn=3)


def test_token_lists_hs_and_cbow():
    sentences = [["a", "b", "c", "a"], ["b", "c", "a"]] * 20
    v = train(sentences, sg=False, hs=True, dim=8, epochs=2, min_count=1, workers=1)
    assert set(v.words) == {"a", "b", "c"} and v.meta["negative"] == 0


def test_corpus_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        train(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("  ... !!\n\n")
    with pytest.raises(DataError, match="is empty"):
        train(empty)
    rare = tmp_path / "rare.txt"
    rare.write_text("the cat sat. the dog ran.")
    with pytest.raises(DataError, match=r"min_count=3 .*'the', occurs 2"):
        train(rare, min_count=3)
    cp = tmp_path / "cp1252.txt"
    cp.write_bytes("Harry\u2019s wand.\n".encode("cp1252"))
    with pytest.raises(DataError, match=r"line 1 is not valid utf-8 .*0x92.*cp1252"):
        train(cp)
    assert read_corpus(cp, "cp1252") == "Harry\u2019s wand.\n"
    with pytest.raises(ConfigError, match="unknown training method"):
        train(rare, method="glove")


def test_split_sentences():
    assert split_sentences("He ran. Did she?\r\nYes! \u201cNo.\u201d Ok") == [
        "He ran.", "Did she?", "Yes!", "\u201cNo.\u201d", "Ok"]


@pytest.mark.skipif(not HARRY.exists(), reason="shared Harry Potter corpus not present")
def test_harry_potter_word2vec_and_fasttext(tmp_path):
    lines = HARRY.read_bytes().split(b"\r\n")[:2000]
    corpus = tmp_path / "hp.txt"
    corpus.write_bytes(b"\r\n".join(lines))
    w2v = train(corpus, encoding="cp1252", dim=30, epochs=3, workers=1)
    ft = train(corpus, method="fasttext", encoding="cp1252", dim=30, epochs=3, workers=1,
               buckets=20_000)
    assert "harry" in w2v and "Harry" not in w2v  # lower-cased as the seed does
    assert len(w2v.neighbors("harry", topn=5)) == 5
    assert "scarring" not in ft and len(ft.neighbors("scarring", topn=5)) == 5
    with pytest.raises(EmbeddingError, match="'scarring'"):
        w2v.neighbors("scarring")
