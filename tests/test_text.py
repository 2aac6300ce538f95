"""Preprocessing, vocabulary and label encoding."""

import json

import numpy as np
import pytest

from embedlab.errors import ArtifactError, DataError
from embedlab.text import LabelEncoder, Preprocessor, VocabConfig, Vocabulary, english_stop_words


def test_default_preprocessing_keeps_question_words_and_separates_punctuation():
    assert Preprocessor()("What is the capital of Peru?") == "what is the capital of peru ?"


def test_seed_recipe_steps_are_switchable():
    p = Preprocessor(remove_stopwords=True, remove_parentheses=True, punctuation="remove")
    assert p("Oil prices rise (Reuters) again, not down!") == "oil prices rise"
    assert Preprocessor(lowercase=False, punctuation="keep")("Hi, Bob") == "Hi, Bob"
    assert Preprocessor()("Tom &amp; Jerry") == "tom & jerry"


def test_stop_word_list_is_the_shipped_one():
    words = english_stop_words()
    assert len(words) == 179 and {"what", "not", "no", "how"} <= words


def test_vocabulary_is_fitted_in_frequency_order_with_pad_and_unk_first():
    v = Vocabulary.fit(["b a b", "c b a", "d"])
    assert v.itos[:2] == ["<PAD>", "<UNK>"]
    assert v.itos[2:] == ["b", "a", "c", "d"]  # ties broken alphabetically
    assert v.token_counts()["b"] == 3


def test_vocabulary_cap_and_min_freq():
    v = Vocabulary.fit(["a a a b b c"], VocabConfig(max_size=4, min_freq=1))
    assert v.itos == ["<PAD>", "<UNK>", "a", "b"]
    v = Vocabulary.fit(["a a a b b c"], VocabConfig(min_freq=2))
    assert "c" not in v and "b" in v
    with pytest.raises(DataError, match="min_freq=5"):
        Vocabulary.fit(["a b"], VocabConfig(min_freq=5))


def test_encoding_pads_to_longest_or_fixed_length_and_maps_unknowns():
    v = Vocabulary.fit(["a b c"])
    assert v.encode(["a zzz", "c"]).tolist() == [[v.stoi["a"], 1], [v.stoi["c"], 0]]
    fixed = v.encode(["a b c a b", "a"], length=3)
    assert fixed.shape == (2, 3) and fixed[1].tolist() == [v.stoi["a"], 0, 0]


def test_word_encoding_splits_as_fitting_counts_and_as_the_saved_tokenizer_reads():
    """Encoding splits on whitespace as fit counts (tabs, newlines, runs of spaces, a unit
    separator); on ordinary whitespace it gives the ids of the tokenizers JSON it saves."""
    texts = ["the  cat\tsat\non", "a\x1fcat", "zzz the"]
    vocab = Vocabulary.fit(texts)
    assert "a\x1fcat" not in vocab and "a" in vocab  # fit split it
    assert vocab.encode_lists(["a\x1fcat"]) == [[vocab.stoi["a"], vocab.stoi["cat"]]]
    assert vocab.tokens("the  cat\tsat") == ["the", "cat", "sat"]
    saved = vocab._tokenizer.encode_batch_fast([texts[0], texts[2]], add_special_tokens=False)
    assert vocab.encode_lists([texts[0], texts[2]]) == [e.ids for e in saved]


def test_truncation_to_max_length():
    v = Vocabulary.fit(["a b c d e"], VocabConfig(max_length=2))
    assert v.encode(["a b c d e"]).shape == (1, 2)


def test_char_level_vocabulary():
    v = Vocabulary.fit(["abc"], VocabConfig(level="char"))
    ids = v.encode(["cab"])[0].tolist()
    assert v.decode(ids) == ["c", "a", "b"]


def test_vocabulary_json_round_trip(tmp_path):
    v = Vocabulary.fit(["the cat sat", "the dog"], VocabConfig(max_size=10, min_freq=1))
    v.save(tmp_path / "vocab.json")
    w = Vocabulary.load(tmp_path / "vocab.json")
    assert w.itos == v.itos and w.counts == v.counts and w.config == v.config
    assert (w.encode(["dog the bird"]) == v.encode(["dog the bird"])).all()


def test_vocabulary_load_rejects_other_json(tmp_path):
    (tmp_path / "v.json").write_text(json.dumps({"format": "x"}))
    with pytest.raises(ArtifactError, match="embedlab-vocab-v1"):
        Vocabulary.load(tmp_path / "v.json")


def test_labels_encode_decode_weights_and_round_trip(tmp_path):
    enc = LabelEncoder.fit(["b", "a", "b", "b"])
    assert enc.classes == ["a", "b"]
    y = enc.encode(["b", "a"])
    assert y.tolist() == [1, 0] and enc.decode(y) == ["b", "a"]
    w = enc.class_weights(enc.encode(["b", "a", "b", "b"]), "balanced")
    np.testing.assert_allclose(w, [2.0, 2 / 3], rtol=1e-6)
    assert enc.class_weights(y, "none") is None
    enc.save(tmp_path / "labels.json")
    assert LabelEncoder.load(tmp_path / "labels.json").classes == ["a", "b"]


def test_labels_keep_a_given_order_and_reject_unseen_labels():
    enc = LabelEncoder.fit(["Sports", "World"], order=["World", "Sports", "Business"])
    assert enc.classes == ["World", "Sports"]
    with pytest.raises(DataError, match="row 2: label 'Business' was never seen"):
        enc.encode(["World", "Business"], source="test.csv")


def test_a_single_class_is_a_clear_error():
    with pytest.raises(DataError, match="at least 2 classes.*found only 'x'"):
        LabelEncoder.fit(["x", "x"], source="one.csv")
