"""The run config schema: YAML round trip, overrides, one-line errors with suggestions."""

import pytest

from embedlab.config import RunConfig
from embedlab.errors import ConfigError


def test_yaml_round_trip(tmp_path):
    c = RunConfig().override({"training.epochs": 3, "model.name": "bag", "model.params.pooling": "max"})
    p = tmp_path / "c.yaml"
    p.write_text(c.to_yaml())
    assert RunConfig.from_yaml(p) == c


def test_misspelled_option_suggests_the_closest():
    with pytest.raises(ConfigError, match=r"unknown option 'training.epoch' \(did you mean 'epochs'\?\)"):
        RunConfig.from_dict({"training": {"epoch": 3}})


def test_bad_value_names_the_field_and_the_value():
    with pytest.raises(ConfigError, match=r"training.epochs: .*found 'ten'"):
        RunConfig.from_dict({"training": {"epochs": "ten"}})
    with pytest.raises(ConfigError, match="punctuation"):
        RunConfig.from_dict({"preprocess": {"punctuation": "drop"}})


def test_dataset_and_path_are_exclusive():
    with pytest.raises(ConfigError, match="either data.dataset or data.path"):
        RunConfig.from_dict({"data": {"dataset": "trec", "path": "x.csv"}})


def test_missing_and_invalid_yaml_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        RunConfig.from_yaml(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("training: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        RunConfig.from_yaml(bad)
