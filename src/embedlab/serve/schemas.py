"""Request and response bodies of the HTTP API (pydantic models; they are the OpenAPI schema).

The request models are built per app by :func:`request_models` so the configured limits (texts
per request, characters per text) appear in the schema at ``/openapi.json`` and are enforced by
validation with a 422 that names the offending field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model


@dataclass(frozen=True)
class ServeLimits:
    """What one request may hold; larger requests get a 413 (body) or a 422 (texts, characters)."""

    max_texts: int = 512
    max_chars: int = 20_000
    max_body_bytes: int = 4 * 1024 * 1024

    def __post_init__(self) -> None:
        for name in ("max_texts", "max_chars", "max_body_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                from embedlab.errors import ConfigError

                raise ConfigError(f"serve limit {name} must be a positive integer, found {value!r}")


class _Forbid(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def request_models(limits: ServeLimits, methods: Sequence[str] = ()) -> tuple[type[BaseModel], type[BaseModel]]:
    """``(PredictRequest, ExplainRequest)`` with ``limits`` in their field constraints and the
    explanation ``methods`` (``auto`` first) as the choices of ``method``."""
    text = Annotated[str, StringConstraints(max_length=limits.max_chars)]
    predict = create_model(
        "PredictRequest",
        __base__=_Forbid,
        texts=(list[text], Field(min_length=1, max_length=limits.max_texts,
                                 description="texts to classify (one or a batch); a text that "
                                 "preprocessing leaves without tokens is a 422 naming its index",
                                 examples=[["Stocks fall as oil prices climb to a record high"]])),
        top_k=(int, Field(3, ge=1, description="classes returned per text, most probable first "
                          "(capped at the number of classes)")),
        coverage=(float | None, Field(None, gt=0, lt=1, description="also return each text's "
                                      "conformal prediction set: the classes that hold the true "
                                      "one this often on texts like the validation split")),
        min_confidence=(float | None, Field(None, ge=0, le=1, description="abstain (label null, "
                                            "status abstained) below this top probability")),
        threshold=(float | None, Field(None, ge=0.0, le=1.0, description="multi-label models: "
                                       "one threshold for every label instead of the run's "
                                       "thresholds (chosen on validation); a 422 for other models")),
    )
    names = tuple(methods) or ("auto",)
    # a Literal of the methods the served model can do, made at run time: a type to pydantic,
    # a value to mypy (hence Any)
    method_type: Any = Literal[names]
    explain = create_model(
        "ExplainRequest",
        __base__=_Forbid,
        text=(text, Field(description="the text to explain (one text; empty after preprocessing: 422)",
                          examples=["Stocks fall as oil prices climb to a record high"])),
        method=(method_type, Field("auto", description="explanation method; GET /v1/models/{name} "
                                      "lists the ones a model can do; auto: the family's best")),
        target=(str | None, Field(None, description="class to explain (default: the predicted one)")),
    )
    return predict, explain


class ClassProbability(BaseModel):
    label: str
    probability: float


class TextPrediction(BaseModel):
    label: str | None = Field(description="the most probable class (null when abstained)")
    probability: float = Field(description="the top probability (calibrated when the run fitted "
                               "its calibration on a validation split)")
    top_k: list[ClassProbability] = Field(description="the top_k classes, most probable first")
    status: Literal["ok", "no_known_words", "out_of_distribution", "abstained"] = Field(
        description="no_known_words: the text has tokens but none in the vocabulary, so the "
        "prediction carries no information from the text; out_of_distribution: the text is "
        "unlike the training texts (label is the model's guess); abstained: the top "
        "probability is below min_confidence")
    known_words: int = Field(description="tokens of the text found in the vocabulary")
    prediction_set: list[str] | None = Field(
        None, description="with coverage: the conformal prediction set (may be empty: no class "
        "is plausible enough)")
    ood_score: float | None = Field(
        None, description="out-of-distribution score in [0, 1] (higher: less like the "
        "validation texts); null when the run has no detector")
    labels: list[str] | None = Field(
        None, description="multi-label models: the predicted label set (every label at or over "
        "its threshold, at least the most probable; under a hierarchy each label's parent too)")
    probabilities: dict[str, float] | None = Field(
        None, description="multi-label models: every label's own probability (one sigmoid each)")
    thresholds: dict[str, float] | None = Field(
        None, description="multi-label models: the threshold each label was decided by")


class PredictResponse(BaseModel):
    model: str
    predictions: list[TextPrediction]


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    detail: str = Field(description="what was wrong, in one line")
    errors: list[ErrorItem] | None = Field(None, description="every problem found (422 only)")


class ModelSummary(BaseModel):
    name: str
    architecture: str
    classes: list[str]
    test_accuracy: float | None
    checksum: str


class ModelList(BaseModel):
    models: list[ModelSummary]


class ModelCard(BaseModel):
    """Everything known about a served run, read from its files at start-up."""

    model_config = ConfigDict(extra="allow")

    name: str
    classes: list[str]
    architecture: dict[str, Any]
    hyperparameters: dict[str, Any]
    preprocessing: dict[str, Any]
    vocabulary: dict[str, Any]
    embeddings: dict[str, Any]
    metrics: dict[str, Any]
    training: dict[str, Any]
    data: dict[str, Any]
    checksum: dict[str, Any]
    explanations: dict[str, Any] = Field(description="methods this model can be explained with "
                                         "(POST /v1/models/{name}/explain), the one auto picks "
                                         "and what each method's scores measure (units)")
    decisions: dict[str, Any] = Field(default_factory=dict, description=(
        "calibration (temperature, ECE / Brier / log loss before and after on the validation "
        "split and on the test split), conformal set figures and the out-of-distribution "
        "detector's false-flag rate"))
    examples: dict[str, Any] = Field(default_factory=dict, description=(
        "example texts (one per class): the held-out texts the run kept (examples.json), else "
        "the test split of its data set when that set is shipped with embedlab; otherwise "
        "none, and a note"))


class ExplainedToken(BaseModel):
    token: str = Field(description="the token as the model saw it (preprocessed)")
    start: int = Field(description="its character span in the original text: text[start:end]")
    end: int
    status: Literal["known", "unknown", "cut"]
    score: float | None


class ExplainedNGram(BaseModel):
    tokens: list[str]
    first: int
    last: int
    start: int
    end: int
    score: float | None
    width: int
    filters: int


class ExplanationResponse(BaseModel):
    """The explanation JSON of :class:`embedlab.explain.Explanation` (``to_dict``)."""

    model_config = ConfigDict(extra="allow")

    format: str
    text: str
    predicted: str
    explained: str
    probability: float | None
    probabilities: dict[str, float | None]
    method: str
    settings: dict[str, Any]
    tokens: list[ExplainedToken]
    score_kind: Literal["attribution", "attention"]
    ngrams: list[ExplainedNGram]
    delta: float | None
    base: float | None
    maps: dict[str, list[list[float | None]]]
    notes: list[str]
    status: str


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    models: list[str]
