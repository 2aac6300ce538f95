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
