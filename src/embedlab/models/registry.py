"""Model registry: names (and versioned aliases) → classifier classes and parameter schemas.

Example
-------
>>> from embedlab.models import EmbeddingSpec, build_model, validate_model_params
>>> validate_model_params("cnn", {"filters": 64})["widths"]
[1, 2, 3]
>>> model = build_model("cnn", vocab_size=100, num_classes=4, embedding=EmbeddingSpec(dim=16),
...                     params={"filters": 8})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from embedlab.errors import ConfigError, suggest, unknown_name
from embedlab.models.classifier import ClassifierModule, ModelParams
from embedlab.models.embedding import EmbeddingSpec

ModelClass = TypeVar("ModelClass", bound=type[ClassifierModule])

_MODELS: dict[str, type[ClassifierModule]] = {}
_ALIASES: dict[str, str] = {}


def register_model(name: str, *aliases: str) -> Callable[[ModelClass], ModelClass]:
    """Class decorator registering a :class:`ClassifierModule` under ``name`` and ``aliases``.

    The class must define ``Params`` (a :class:`ModelParams` subclass) and accept
    ``(vocab_size, num_classes, embedding, params)`` in its constructor.
    """

    def decorate(cls: ModelClass) -> ModelClass:
        if not (
            isinstance(getattr(cls, "Params", None), type) and issubclass(cls.Params, ModelParams)
        ):
            raise TypeError(
                f"model class {cls.__name__} needs a Params(ModelParams) class attribute"
            )
        for key in (name, *aliases):
            owner = _ALIASES.get(key)
            if owner is not None and _MODELS[owner] is not cls:
                raise ValueError(f"model name '{key}' is already registered to '{owner}'")
        _MODELS[name] = cls
        for key in (name, *aliases):
            _ALIASES[key] = name
        return cls

    return decorate


def model_names(include_aliases: bool = False) -> list[str]:
    """Sorted registered model names (plus versioned aliases such as ``embedlab.cnn.v1``)."""
    return sorted(_ALIASES if include_aliases else _MODELS)


def _resolve(name: str) -> str:
    canonical = _ALIASES.get(name)
    if canonical is None:
        raise unknown_name("model", name, model_names())
    return canonical


def model_param_schema(name: str) -> type[ModelParams]:
    """The pydantic class describing model ``name``'s hyperparameters (defaults included)."""
    return _MODELS[_resolve(name)].Params


def _parse_params(name: str, params: Mapping[str, Any] | None) -> ModelParams:
    canonical = _resolve(name)
    schema = _MODELS[canonical].Params
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ConfigError(
            f"model '{canonical}' parameters: expected a mapping of name to value; "
            f"found {type(params).__name__}"
        )
    valid = list(schema.model_fields)
    unknown = sorted(str(key) for key in params if key not in schema.model_fields)
    if unknown:
        key = unknown[0]
        more = f" (also unknown: {', '.join(unknown[1:])})" if len(unknown) > 1 else ""
        raise ConfigError(
            f"unknown parameter '{key}' for model '{canonical}'{suggest(key, valid)}; "
            f"valid parameters: {', '.join(valid)}{more}"
        )
    try:
        return schema.model_validate(dict(params))
    except ValidationError as error:
        raise ConfigError(_one_line(canonical, error)) from None


def _one_line(model: str, error: ValidationError) -> str:
    problems = error.errors()
    first = problems[0]
    field = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    where = f"parameter '{field}'" if field else "parameters"
    found = f"; found {first['input']!r}" if field else ""
    more = f" (+{len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    return f"model '{model}' {where}: {message}{found}{more}"


def validate_model_params(name: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check ``params`` for model ``name`` and return them with every default filled in.

    Raises
    ------
    ConfigError
        Unknown model, unknown parameter (with the closest valid name), or a bad value.
    """
    return _parse_params(name, params).model_dump(mode="json")


def build_model(
    name: str,
    *,
    vocab_size: int,
    num_classes: int,
    embedding: EmbeddingSpec,
    params: Mapping[str, Any] | None = None,
) -> ClassifierModule:
    """Validate ``params`` and build model ``name`` (its embedding layer comes from ``embedding``).

    The returned model's ``config`` holds ``{"name": canonical name, "params": full params}``,
    enough to rebuild it with the same architecture.
    """
    parsed = _parse_params(name, params)
    canonical = _resolve(name)
    if vocab_size < 2:
        raise ConfigError(
            f"model '{canonical}': vocab_size must be at least 2 (<PAD>, <UNK>); found {vocab_size}"
        )
    if num_classes < 2:
        raise ConfigError(
            f"model '{canonical}': num_classes must be at least 2; found {num_classes}"
        )
    model = _MODELS[canonical](vocab_size, num_classes, embedding, parsed)
    model.config = {"name": canonical, "params": parsed.model_dump(mode="json")}
    return model
