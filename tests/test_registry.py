"""The one registry shape (embedlab.registry.Registry) and the registries built on it."""

from __future__ import annotations

import pytest

from embedlab.errors import ConfigError, DataError
from embedlab.registry import Registry


def test_register_get_names_and_membership() -> None:
    shapes: Registry[int] = Registry("shape")

    @shapes.register("square")
    def square() -> int:
        return 4

    assert shapes.register("triangle", 3) == 3
    assert shapes.register("tri", 3, listed=False) == 3  # an alias: found, not listed
    assert shapes.get("square") is square and shapes["triangle"] == 3 and shapes.get("tri") == 3
    assert shapes.names() == ["square", "triangle"] == list(shapes) and len(shapes) == 2
    assert shapes.names(unlisted=True) == ["square", "triangle", "tri"]
    assert "tri" in shapes and "circle" not in shapes


def test_unknown_names_are_one_line_errors_of_the_callers_class() -> None:
    shapes: Registry[int] = Registry("shape")
    shapes.register("triangle", 3)
    shapes.register("square", 4)
    with pytest.raises(ConfigError) as error:
        shapes.get("triangel")
    assert str(error.value) == ("unknown shape 'triangel' (did you mean 'triangle'?); "
                                "known: square, triangle")
    data: Registry[str] = Registry("data set", error=DataError)
    data.register("trec", "x")
    with pytest.raises(DataError, match=r"^unknown data set 'zzz'; known: trec$"):
        data.get("zzz")


def test_a_taken_name_is_not_rebound_unless_asked() -> None:
    shapes: Registry[object] = Registry("shape")
    first, second = object(), object()
    shapes.register("a", first)
    shapes.register("a", first)  # the same object again: a no-op
    with pytest.raises(ValueError, match="shape 'a' is already registered"):
        shapes.register("a", second)
    assert shapes.get("a") is first
    shapes.register("a", second, overwrite=True)
    assert shapes.get("a") is second


def test_models_and_explanation_methods_are_registries() -> None:
    from embedlab.explain.methods import METHODS
    from embedlab.models.registry import ARCHITECTURES, FAMILIES

    assert FAMILIES.names() == ["bag", "cnn", "fasttext", "rnn"]
    assert FAMILIES.get("cnn") == "embedlab.cnn.v2" and "embedlab.cnn.v2" in ARCHITECTURES
    with pytest.raises(ConfigError, match=r"unknown model 'cnm' \(did you mean 'cnn'\?\)"):
        FAMILIES.get("cnm")
    assert set(METHODS) == {"ig", "exact", "ngrams", "attention", "lime", "occlusion"}
    with pytest.raises(ConfigError, match=r"explanation method 'oclusion' \(did you mean "
                                          r"'occlusion'\?\)"):
        METHODS.get("oclusion")


def test_data_sets_are_a_registry() -> None:
    from dataclasses import replace

    from embedlab.data import DATASETS, dataset_info, list_datasets, register_dataset

    assert isinstance(DATASETS, Registry) and "trec" in DATASETS and "mr" in DATASETS.names()
    assert dataset_info("trec") is DATASETS.get("trec")
    assert [i.name for i in list_datasets()] == sorted(DATASETS.names())
    with pytest.raises(ConfigError) as error:  # the CLI's exit code 2, as before the move
        dataset_info("trecc")
    assert str(error.value).startswith("unknown dataset 'trecc' (did you mean 'trec'?); known: ")
    assert "\n" not in str(error.value) and "ag_news_sample" in str(error.value)
    with pytest.raises(ConfigError, match="dataset 'trec' is already registered"):
        register_dataset(dataset_info("trec"))
    mine = replace(dataset_info("trec"), name="my_trec")
    register_dataset(mine)
    try:
        assert dataset_info("my_trec") is mine and "my_trec" in [i.name for i in list_datasets()]
        register_dataset(replace(mine, description="v2"), overwrite=True)
        assert dataset_info("my_trec").description == "v2"
    finally:
        del DATASETS["my_trec"]
    assert "my_trec" not in DATASETS


def test_embedding_sources_are_a_registry() -> None:
    from embedlab.embeddings import SOURCES, load
    from embedlab.embeddings.registry import get_source

    assert isinstance(SOURCES, Registry)
    assert SOURCES.names()[:4] == [f"glove-6b-{d}d" for d in (50, 100, 200, 300)]
    assert get_source("glove-6b-50d") is SOURCES["glove-6b-50d"] and SOURCES.get("x", None) is None
    assert [name for name, _ in SOURCES.items()] == SOURCES.names() == list(SOURCES)
    assert [s.name for s in SOURCES.values()] == SOURCES.names()
    for lookup in (get_source, load):  # a name that is no file: the registry's one-line error
        with pytest.raises(ConfigError) as error:
            lookup("glove-6b-50")
        assert str(error.value).startswith(
            "unknown embeddings source 'glove-6b-50' (did you mean 'glove-6b-50d'?); known: ")


def test_a_registry_reads_and_writes_like_the_dict_it_replaced(
        monkeypatch: pytest.MonkeyPatch) -> None:
    shapes: Registry[int] = Registry("shape")
    shapes.register("square", 4)
    assert shapes.get("circle", 0) == 0 and shapes.get("square", 0) == 4
    monkeypatch.setitem(shapes, "triangle", 3)  # a test adds an entry for itself ...
    monkeypatch.setitem(shapes, "square", 5)
    assert shapes.items() == [("square", 5), ("triangle", 3)] and shapes.values() == [5, 3]
    monkeypatch.undo()  # ... and it is gone afterwards
    assert shapes.items() == [("square", 4)]
    with pytest.raises(KeyError):
        del shapes["circle"]
