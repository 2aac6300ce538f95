"""The configuration schema of a run: data, preprocessing, vocabulary, embeddings, model, training.

YAML files and CLI flags both map onto :class:`RunConfig`; a run saves the resolved config so
``embedlab train --config runs/x/config.yaml`` reproduces it.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from pathlib import Path
from typing import Any, Literal, TypeGuard

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from embedlab.config.defaults import DEFAULT_VECTORS
from embedlab.data.loaders import TableFormat, check_label_options
from embedlab.data.tables import file_format
from embedlab.errors import ConfigError, suggest
from embedlab.text.preprocess import PreprocessConfig
from embedlab.text.vocab import VocabConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class DataConfig(_Strict):
    """Where the texts come from: a built-in dataset or a file / folder."""

    dataset: str | None = Field(None, description="built-in dataset name (see `embedlab datasets list`)")
    path: str | None = Field(None, description="CSV/TSV/JSONL/parquet file, class folder or label-lines file")
    test_path: str | None = Field(None, description="optional separate test file in the same format")
    text_columns: list[str] = Field(default_factory=lambda: ["text"])
    label_column: str = "label"
    format: TableFormat | None = Field(None, description="the table format when the suffix does "
                                       "not tell (csv, tsv, jsonl, json, parquet)")
    encoding: str = "utf-8"
    pattern: str | None = Field(None, description="class folders: read only files matching this "
                                "glob (e.g. '*.txt'); default: every non-hidden file")
    empty: Literal["skip", "error"] = Field("skip", description="rows with empty text: skip (logged) or fail")
    val_size: float = Field(0.15, ge=0.0, lt=1.0, description="validation share (carved from train)")
    test_size: float = Field(0.15, ge=0.0, lt=1.0, description="test share when the data has no test split")
    splits: Literal["official", "carve"] = Field(
        "official", description="official: keep a data set's own validation / test splits; "
        "carve: use its train split alone and carve val_size and test_size from it (stratified, "
        "seeded), as tutorials that split train.csv 70/15/15 do")
    limit: int | None = Field(None, ge=1, description="use only the first N training rows (quick runs)")
    multilabel: bool | None = Field(
        None, description="each text carries a set of labels (one sigmoid per label); null: "
        "multi-label when label_sep or label_hierarchy is set or the rows carry lists of labels")
    label_sep: str | None = Field(None, description="multi-label: the separator of several "
                                  "labels in one label cell (e.g. ',')")
    label_hierarchy: str | None = Field(
        None, description="the separator of a label's levels: with ':', 'LOC:city' is the label "
        "'LOC:city' under its parent 'LOC' (every level predicted, a child implies its parent)")
    label_names: str | None = Field(None, description="a names file: line k names label id k "
                                    "(the GoEmotions layout: ids in the data, emotions.txt)")

    @field_validator("format", mode="before")
    @classmethod
    def _known_format(cls, value: Any) -> Any:
        """An unknown name is refused with the table reader's own message (a "did you mean")."""
        if isinstance(value, str):
            file_format("", value)
        return value

    @model_validator(mode="after")
    def _one_source(self) -> DataConfig:
        if self.dataset and self.path:
            raise ValueError("give either data.dataset or data.path, not both")
        if self.splits == "carve" and self.test_path:
            raise ValueError("data.splits=carve carves the test split from the training data; "
                             "remove data.test_path or use data.splits=official")
        if self.splits == "carve" and not self.test_size:
            raise ValueError("data.splits=carve needs data.test_size > 0")
        check_label_options(self.label_sep, self.label_hierarchy, self.multilabel)
        given = [k for k in ("label_sep", "label_hierarchy", "label_names") if getattr(self, k)]
        given += ["multilabel"] if self.multilabel is not None else []
        if self.dataset and given:
            raise ValueError(f"data.{given[0]} reads labels of a file (data.path); a built-in "
                             "data set defines its own labels")
        return self


class EmbeddingsConfig(_Strict):
    """The embedding layer: size and, optionally, pretrained vectors."""

    dim: int | None = Field(
        None, ge=1, description="size of random embeddings (unset: 100); ignored when `source` names "
        "vectors (their dimension is used); with source auto, setting it chooses random vectors")
    source: str | None = Field(
        "auto", description="pretrained vectors: registered name or path; auto (the default): "
        f"{DEFAULT_VECTORS} when it is available offline (the `glove` extra) and `dim` is unset, "
        "otherwise random vectors of `dim` (a warning when GloVe is missing); null: random vectors")
    freeze: bool = Field(False, description="keep pretrained vectors fixed (True) or fine-tune them")
    oov: Literal["auto", "zeros", "random", "subword"] = Field(
        "auto", description="rows of words the vectors lack (fine-tuned like the others): auto = "
        "subword vectors for fastText sources, zeros otherwise (as the tutorials); random: "
        "normal at the vectors' own scale")
    lowercase_fallback: bool = True
    limit: int | None = Field(None, ge=1, description="read only the N most frequent vectors")


class ModelConfig(_Strict):
    name: str = Field("fasttext", description="model family (`embedlab models list`); the "
                      "default, fasttext, won the accuracy suite of benchmarks/classify.py")
    params: dict[str, Any] = Field(default_factory=dict, description="model hyperparameters")


#: the values ``training.device`` accepts (resolved by :func:`embedlab.training.device.resolve_device`)
DEVICE_PATTERN = r"^(auto|cpu|cuda(:[0-9]+)?)$"


class TrainConfig(_Strict):
    """How the model is trained. Settings left unset (None) take the model's own
    ``training_defaults``, then :data:`~embedlab.config.defaults.TRAINING_FALLBACKS`
    (:func:`embedlab.config.resolve_config`; the resolved values are saved with the run)."""

    epochs: int | None = Field(None, ge=1, description="epochs to train (the most, with early "
                               "stopping); None: the model's default")
    batch_size: int = Field(64, ge=1)
    optimizer: Literal["adam", "sgd"] | None = Field(
        None, description="adam (SparseAdam for sparse tables), or sgd as fastText trains: plain "
        "SGD whose lr is per example (the step is lr x batch size on the batch's mean loss); "
        "None: the model's default")
    schedule: Literal["plateau", "linear"] | None = Field(
        None, description="plateau: ReduceLROnPlateau on the validation loss with early stopping "
        "and the best epoch's weights restored; linear: the rate decays linearly to 0 over "
        "exactly `epochs` epochs (fastText's schedule; no early stopping, the last weights are "
        "kept); None: the model's default")
    lr: float | None = Field(None, gt=0, description="learning rate; None: the model's default")
    weight_decay: float = Field(0.0, ge=0, description="L2 penalty of Adam (dense parameters)")
    patience: int | None = Field(None, ge=0, description="early-stopping patience in epochs; 0 "
                                 "disables it; None: the model's default")
    lr_patience: int = Field(1, ge=0, description="ReduceLROnPlateau patience")
    lr_factor: float = Field(0.1, gt=0, lt=1)
    clip_grad_norm: float | None = Field(5.0, gt=0, description="max norm of the dense gradients; "
                                         "None disables clipping")
    class_weights: Literal["none", "balanced"] | dict[str, float] = Field(
        "none", description="loss weight per class: none, balanced (n / (classes x count), as "
        "scikit-learn), or a weight per class name (classes left out weigh 1)")
    oversample: bool = Field(False, description="resample the training rows of every class, "
                             "with replacement and seeded, up to the largest class's count")
    threshold_metric: Literal["micro_f1", "macro_f1"] = Field(
        "micro_f1", description="multi-label: the validation metric the decision thresholds "
        "(one global, one per label: the better is kept) are chosen by")
    pos_weight_cap: float = Field(
        10.0, ge=1.0, description="multi-label: the largest per-label positive weight of the "
        "binary cross-entropy (sqrt(negatives / positives), clipped to [1, cap]); 1 disables it")
    seed: int = 0
    threads: int | None = Field(None, ge=1, description="torch CPU threads while training (None: "
                                "the model's default, else torch's)")
    device: str = Field("cpu",
                        description="where training runs: cpu, cuda, cuda:N, or auto (cuda when "
                        "available); the trained model is returned on the CPU")
    progress: bool = True

    @field_validator("class_weights")
    @classmethod
    def _weights(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for name, weight in value.items():
                if not weight > 0:
                    raise ValueError(f"the weight of class '{name}' must be > 0, found {weight}")
        return value

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not re.match(DEVICE_PATTERN, value):
            raise ValueError("expected auto, cpu, cuda or cuda:N")
        return value


class DecisionsConfig(_Strict):
    """What a run fits on its validation split to make decisions (:mod:`embedlab.decisions`):
    calibrated probabilities, conformal prediction sets, out-of-distribution flags and an
    optional per-class correction for imbalanced classes."""

    calibration: Literal["auto", "bcts", "temperature", "none"] = Field(
        "auto", description="bcts: bias-corrected temperature scaling, a temperature and a "
        "logit offset per class fitted for likelihood on the validation split (corrects the "
        "class priors, so it can change the predicted class); temperature: the temperature "
        "alone (never changes it); both are an error without a validation split; auto: bcts "
        "when the run has one (a multi-label run: a temperature per label), otherwise none; "
        "none: the plain softmax")
    class_bias: Literal["none", "macro_f1"] = Field(
        "none", description="macro_f1: a per-class logit offset chosen on the validation split "
        "for macro-F1 (a prior correction for rare classes), instead of bcts's offsets")
    ood_false_flag_rate: float | None = Field(
        0.05, gt=0, lt=1, description="share of validation texts the out-of-distribution "
        "detector may flag (its threshold); None: no detector")


class RunConfig(_Strict):
    """Everything needed to reproduce a run."""

    data: DataConfig = Field(default_factory=DataConfig)
    preprocess: PreprocessConfig = Field(default_factory=PreprocessConfig)
    vocab: VocabConfig = Field(default_factory=VocabConfig)
    embeddings: EmbeddingsConfig = Field(default_factory=EmbeddingsConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainConfig = Field(default_factory=TrainConfig)
    decisions: DecisionsConfig = Field(default_factory=DecisionsConfig)

    # ----- construction --------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> RunConfig:
        try:
            return cls.model_validate(data or {})
        except ValidationError as e:
            raise config_error(e, source, cls) from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> RunConfig:
        path = Path(path)
        data = read_yaml(path, "config file")
        if data is not None and not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level, found {type(data).__name__}")
        return cls.from_dict(data or {}, str(path))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    def override(self, updates: dict[str, Any]) -> RunConfig:
        """Return a copy with dotted-key updates, e.g. ``{"training.epochs": 3}``
        (:func:`embedlab.config.keys.apply`)."""
        from embedlab.config.keys import apply

        return apply(self, updates)


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a key given twice in one mapping (plain YAML keeps the last
    one silently: ``path: a.csv`` then ``path: b.csv`` would train on b.csv)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' is given twice (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep)


def read_yaml(path: str | Path, what: str = "file") -> Any:
    """Parse a YAML file safely (no Python objects, no key given twice); a missing file or bad
    YAML is a one-line :class:`ConfigError` naming ``what`` it is (e.g. "config file")."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: {what} not found")
    try:
        loader = _UniqueKeyLoader(path.read_text(encoding="utf-8"))  # a SafeLoader: plain data
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None


def _is_model(annotation: Any) -> TypeGuard[type[BaseModel]]:
    """Whether a field's annotation is a pydantic model class (a config section)."""
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def config_error(e: ValidationError, source: str, model: type[BaseModel]) -> ConfigError:
    """One line from the first pydantic error, with a suggestion for misspelled keys."""
    err = e.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        parent: Any = model
        for p in err["loc"][:-1]:
            field = parent.model_fields.get(str(p)) if _is_model(parent) else None
            parent = field.annotation if field is not None else None
        known = list(parent.model_fields) if _is_model(parent) else []
        name = str(err["loc"][-1])
        hint = suggest(name, known)
        return ConfigError(f"{source}: unknown option '{loc}'{hint}; valid: {', '.join(known)}")
    message = err["msg"].removeprefix("Value error, ")
    return ConfigError(f"{source}: {loc}: {message} (found {err.get('input')!r})")
