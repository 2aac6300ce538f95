"""Model registry: versioned architectures, family names, legacy translations.

Every architecture is registered under an immutable versioned name, ``embedlab.<family>.v<N>``;
the family name (``cnn``) is an alias of its newest version. A run records the versioned name
it was trained with (``model.json`` and ``config.yaml``), so it keeps meaning the same network
when a newer version appears. When an architecture's parameters or weights change, the new
class is registered as the next version and the old name stays loadable through a
translation registered with :func:`register_legacy` (see :mod:`embedlab.models.compat`).

Example
-------
>>> from embedlab.models import EmbeddingSpec, build_model, validate_model_params
>>> validate_model_params("cnn", {"filters": 64})["widths"]
[1, 2, 3]
>>> model = build_model("cnn", vocab_size=100, num_classes=4, embedding=EmbeddingSpec(dim=16),
...                     params={"filters": 8})
>>> model.config["name"]
'embedlab.cnn.v2'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from pydantic import ValidationError

from embedlab.errors import ConfigError, suggest
from embedlab.models.classifier import ClassifierModule, ModelParams
from embedlab.models.embedding import EmbeddingSpec
from embedlab.registry import Registry

ModelClass = TypeVar("ModelClass", bound=type[ClassifierModule])
StateDict = dict[str, torch.Tensor]

_VERSIONED = re.compile(r"^embedlab\.([a-z0-9_]+)\.v([1-9][0-9]*)$")


@dataclass(frozen=True)
class Legacy:
    """How an old architecture name loads: its params and weights translated to ``target``."""

    target: str
    params: Callable[[dict[str, Any]], dict[str, Any]]
    state_dict: Callable[[StateDict, dict[str, Any]], StateDict]


#: every architecture registered as a class, by versioned name (``embedlab.cnn.v2``)
ARCHITECTURES: Registry[type[ClassifierModule]] = Registry("model")
#: retired versioned names and how they load (:func:`register_legacy`)
LEGACY: Registry[Legacy] = Registry("model")
#: family name (``cnn``) → its newest versioned name; the names users type and ``models list``
FAMILIES: Registry[str] = Registry("model")


def versioned_name(family: str, version: int) -> str:
    return f"embedlab.{family}.v{version}"


def _version(name: str) -> int:
    match = _VERSIONED.match(name)
    assert match is not None, name
    return int(match.group(2))


def register_model(family: str, *, version: int) -> Callable[[ModelClass], ModelClass]:
    """Class decorator registering a :class:`ClassifierModule` as ``embedlab.<family>.v<version>``.

    The class's ``family`` becomes ``family`` (what :mod:`embedlab.explain` and
    :mod:`embedlab.export` report); the family name then means the newest registered version.
    A versioned name is never re-bound: registering a different class under it raises
    ``ValueError``.
    """

    def decorate(cls: ModelClass) -> ModelClass:
        if not (
            isinstance(getattr(cls, "Params", None), type) and issubclass(cls.Params, ModelParams)
        ):
            raise TypeError(
                f"model class {cls.__name__} needs a Params(ModelParams) class attribute"
            )
        name = versioned_name(family, version)
        if name in LEGACY:
            raise ValueError(f"model '{name}' is already registered")
        ARCHITECTURES.register(name, cls, listed=False)
        cls.family = family
        latest = FAMILIES.get(family) if family in FAMILIES else None
        if latest is None or version > _version(latest):
            FAMILIES.register(family, name, overwrite=True)
        return cls

    return decorate


def register_legacy(
    name: str,
    target: str,
    params: Callable[[dict[str, Any]], dict[str, Any]],
    state_dict: Callable[[StateDict, dict[str, Any]], StateDict],
) -> None:
    """Keep the retired architecture ``name`` loadable as ``target``.

    ``params`` maps the old parameters to ``target``'s; ``state_dict(old_state, old_params)``
    renames/reshapes the old weights so that ``target`` computes exactly what ``name`` did.
    """
    if name in ARCHITECTURES or name in LEGACY:
        raise ValueError(f"model '{name}' is already registered")
    if target not in ARCHITECTURES:
        raise ValueError(f"legacy model '{name}': unknown target '{target}'")
    LEGACY.register(name, Legacy(target, params, state_dict), listed=False)


def model_names(include_aliases: bool = False) -> list[str]:
    """Sorted family names (plus every versioned name, legacy ones included, on request)."""
    names = FAMILIES.names()
    if include_aliases:
        names += [*ARCHITECTURES.names(unlisted=True), *LEGACY.names(unlisted=True)]
    return sorted(names)


def architecture_names() -> list[str]:
    """Sorted versioned names of the architectures registered as classes (not the legacy ones)."""
    return sorted(ARCHITECTURES.names(unlisted=True))


def architecture_name(name: str) -> str:
    """The versioned architecture :func:`build_model` builds for ``name``: a family name gives
    its newest version, a legacy name the version it loads as, a current one itself."""
    return _resolve(name, None)[0]


def model_class(name: str) -> type[ClassifierModule]:
    """The class :func:`build_model` builds for ``name`` (family, versioned or legacy name):
    what a family can do (explanation methods, export graph) is asked of it."""
    return ARCHITECTURES.get(architecture_name(name))


def _resolve(name: str, params: Mapping[str, Any] | None) -> tuple[str, Any]:
    """Current architecture and (translated) params for ``name``."""
    if name in FAMILIES:
        name = FAMILIES.get(name)
    elif name not in ARCHITECTURES and name not in LEGACY:
        raise FAMILIES.unknown(name)
    if name not in LEGACY:
        return name, params
    legacy = LEGACY.get(name)
    if isinstance(params, Mapping):
        params = legacy.params(dict(params))
    return legacy.target, params


def model_param_schema(name: str) -> type[ModelParams]:
    """The pydantic class describing model ``name``'s hyperparameters (defaults included).

    For a legacy name, the schema of the architecture it loads as.
    """
    return ARCHITECTURES.get(_resolve(name, None)[0]).Params


def _parse_params(name: str, params: Mapping[str, Any] | None) -> ModelParams:
    canonical, params = _resolve(name, params)
    schema = ARCHITECTURES.get(canonical).Params
    canonical = name  # errors name the model as the caller did
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
    """Check ``params`` for model ``name`` and return them with every default filled in
    (for a legacy name: translated to the parameters of the architecture it loads as).

    Raises
    ------
    ConfigError
        Unknown model, unknown parameter (with the closest valid name), or a bad value.

    A parameter kept out of the architecture (``Field(exclude=True)``: how the model trains,
    such as the cnn's ``sparse``) is returned only when ``params`` sets it: a run's config then
    records it (a retrain from its ``config.yaml`` trains the same way), while the architecture
    a run saves (``model.config``) leaves it out.
    """
    parsed = _parse_params(name, params)
    fields = type(parsed).model_fields
    return {**parsed.model_dump(mode="json"),
            **{key: getattr(parsed, key) for key in parsed.model_fields_set if fields[key].exclude}}


def build_model(
    name: str,
    *,
    vocab_size: int,
    num_classes: int,
    embedding: EmbeddingSpec,
    params: Mapping[str, Any] | None = None,
) -> ClassifierModule:
    """Validate ``params`` and build model ``name`` (its embedding layer comes from ``embedding``).

    The returned model's ``config`` holds ``{"name": versioned architecture, "params": full
    params}``, enough to rebuild it with the same architecture.
    """
    parsed = _parse_params(name, params)
    canonical = _resolve(name, None)[0]
    if vocab_size < 2:
        raise ConfigError(
            f"model '{name}': vocab_size must be at least 2 (<PAD>, <UNK>); found {vocab_size}"
        )
    if num_classes < 2:
        raise ConfigError(f"model '{name}': num_classes must be at least 2; found {num_classes}")
    model = ARCHITECTURES.get(canonical)(vocab_size, num_classes, embedding, parsed)
    model.config = {"name": canonical, "params": parsed.model_dump(mode="json")}
    return model


def load_model(
    info: Mapping[str, Any],
    state_dict: Mapping[str, torch.Tensor],
    *,
    vocab_size: int | None = None,
    num_classes: int | None = None,
) -> ClassifierModule:
    """Rebuild a saved model from its ``model.json`` (``info``) and weights.

    ``info`` needs ``name``, ``params`` and ``embedding_dim``, and ``vocab_size`` /
    ``num_classes`` unless given (a run directory gives them by its vocabulary and labels).
    A family name without a version (``"cnn"``) is what runs wrote before architectures were
    versioned: it means version 1. Legacy weights are translated; then every weight must
    match (``RuntimeError`` otherwise).
    """
    name = str(info["name"])
    if not _VERSIONED.match(name):
        name = versioned_name(name, 1)
    params = dict(info["params"])
    state = dict(state_dict)
    if name in LEGACY:
        state = LEGACY.get(name).state_dict(state, params)
    model = build_model(
        name,
        vocab_size=int(info["vocab_size"] if vocab_size is None else vocab_size),
        num_classes=int(info["num_classes"] if num_classes is None else num_classes),
        embedding=EmbeddingSpec(dim=int(info["embedding_dim"])),
        params=params,
    )
    model.load_state_dict(state)
    return model
