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


def test_an_unknown_table_format_is_refused_with_the_config():
    # refused when the config is read, before any data, with the table reader's suggestion
    with pytest.raises(ConfigError, match=r"data.format: unknown table format 'cvs' \(did you "
                       r"mean 'csv'\?\); known: csv, json, jsonl, parquet, tsv"):
        RunConfig.from_dict({"data": {"path": "x.txt", "format": "cvs"}})
    assert RunConfig.from_dict({"data": {"path": "x.txt", "format": "tsv"}}).data.format == "tsv"


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


# ----- dotted keys (embedlab.config.keys): the CLI's --set, grid files and search spaces ---------
def test_config_keys_list_every_leaf_and_model_params_as_one():
    from embedlab.config.keys import config_keys

    keys = config_keys()
    assert {"training.lr", "data.val_size", "embeddings.source", "model.params"} <= set(keys)
    assert not [k for k in keys if k.startswith("model.params.")]
    for key in keys:  # every listed key is accepted by --set
        assert RunConfig().override({key: getattr(_section(key), key.rsplit(".", 1)[1])})


def _section(key: str):
    node = RunConfig()
    for part in key.split(".")[:-1]:
        node = getattr(node, part)
    return node


def test_set_parses_plain_yaml_values_and_checks_keys():
    from embedlab.config.keys import parse_set

    assert parse_set(["training.lr=0.01", "embeddings.source=null", "model.params.hidden=[8, 4]",
                      "data.text_columns=[title, body]"]) == {
        "training.lr": 0.01, "embeddings.source": None, "model.params.hidden": [8, 4],
        "data.text_columns": ["title", "body"]}
    with pytest.raises(ConfigError, match=r"--set: unknown key 'training.lrr' \(did you mean "
                                          r"'training.lr'\?\)"):
        parse_set(["training.lrr=0.1"])
    with pytest.raises(ConfigError, match="'training.lr' is a value, not a section"):
        parse_set(["training.lr.x=1"])
    with pytest.raises(ConfigError, match="--set expects key=value"):
        parse_set(["training.lr"])
    with pytest.raises(ConfigError, match=r"--set training.lr: not a plain YAML value") as e:
        parse_set(['training.lr=!!python/object/apply:os.system ["true"]'])
    assert "\n" not in str(e.value)
