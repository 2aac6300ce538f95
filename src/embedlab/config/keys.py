"""Dotted config keys (``training.lr``, ``model.params.filters``): listing them, checking one
(an unknown key is a one-line error with "did you mean"), parsing ``--set key=value`` and
applying updates to a config. The CLI, grid files and search spaces all go through here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from embedlab.errors import ConfigError, suggest

if TYPE_CHECKING:
    from embedlab.config.schema import RunConfig

#: the one key whose value is a free mapping (each model family checks its own params)
FREE_KEY = "model.params"


def config_keys(model: Any = None, prefix: str = "") -> list[str]:
    """Every dotted key of the run config (``model.params`` counts as one)."""
    if model is None:
        from embedlab.config.schema import RunConfig

        model = RunConfig
    keys = []
    for name, f in model.model_fields.items():
        key = f"{prefix}{name}"
        sub = f.annotation
        if isinstance(sub, type) and hasattr(sub, "model_fields") and key != FREE_KEY:
            keys += config_keys(sub, f"{key}.")
        else:
            keys.append(key)
    return keys


def check_key(key: Any, source: str) -> None:
    """A dotted key must name a config field (``model.params.*`` is checked per model later);
    otherwise a one-line :class:`ConfigError` naming ``source``, the closest key and the valid
    keys at that level."""
    from embedlab.config.schema import RunConfig

    if not isinstance(key, str) or not key:
        raise ConfigError(f"{source}: keys must be dotted config keys such as training.lr; "
                          f"found {key!r}")
    parts = key.split(".")
    if not all(parts):  # "model.params." or "a..b": a name left empty
        raise ConfigError(f"{source}: key '{key}' has an empty part; expected dotted names such "
                          "as training.lr or model.params.filters")
    node: Any = RunConfig
    for i, part in enumerate(parts):
        if node is None:
            return
        fields = node.model_fields
        if part not in fields:
            done = ".".join(parts[:i])
            known = [f"{done}.{f}" if done else f for f in fields]
            raise ConfigError(f"{source}: unknown key '{key}'{suggest(key, config_keys())}; "
                              f"valid here: {', '.join(known)}")
        if ".".join(parts[: i + 1]) == FREE_KEY:
            return
        annotation = fields[part].annotation
        node = (annotation if isinstance(annotation, type) and hasattr(annotation, "model_fields")
                else None)
        if node is None and i < len(parts) - 1:
            raise ConfigError(f"{source}: '{'.'.join(parts[: i + 1])}' is a value, not a section; "
                              f"found key '{key}'")


#: how deeply a ``--set`` value may nest lists and mappings (a YAML alias that contains
#: itself, ``&a [*a]``, nests without end)
MAX_DEPTH = 32


def parse_value(key: str, text: str, source: str = "--set") -> Any:
    """A ``--set`` value read as YAML data (``3``, ``0.01``, ``null``, ``[1, 2]``, ``{a: 1}``);
    YAML tags that build Python objects are refused (safe loading), and so are values nested
    deeper than :data:`MAX_DEPTH` and lone surrogate escapes, each in one line."""
    too_deep = ConfigError(f"{source} {key}: the value nests lists or mappings more than "
                           f"{MAX_DEPTH} levels deep (or a YAML alias refers to itself)")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as e:
        reason = str(e).splitlines()[0]
        raise ConfigError(f"{source} {key}: not a plain YAML value ({reason}); found {text!r}"
                          ) from None
    except RecursionError:  # too deep for the YAML parser itself
        raise too_deep from None
    try:
        return _plain(value, MAX_DEPTH)
    except RecursionError:
        raise too_deep from None
    except UnicodeError:  # '"\ud800"': no file (config.yaml, a JSON file) can hold the value
        raise ConfigError(f"{source} {key}: the value holds a lone UTF-16 surrogate escape, not "
                          f"valid Unicode text; found {text!r}") from None


def _plain(value: Any, depth: int) -> Any:
    """``value`` with YAML's surrogate-pair escapes (``"\\ud83d\\ude42"``) joined into the
    characters they spell. A lone surrogate raises ``UnicodeError``, nesting beyond ``depth``
    ``RecursionError``."""
    if isinstance(value, str):
        if not any("\ud800" <= ch <= "\udfff" for ch in value):
            return value
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    if isinstance(value, dict | list) and depth <= 0:
        raise RecursionError
    if isinstance(value, dict):
        return {_plain(k, depth - 1): _plain(v, depth - 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, depth - 1) for v in value]
    return value


def parse_set(items: list[str], source: str = "--set") -> dict[str, Any]:
    """``["training.lr=0.01", ...]`` as ``{"training.lr": 0.01, ...}``: each key checked, each
    value parsed as plain YAML data."""
    updates: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"{source} expects key=value (e.g. training.lr=0.01), found '{item}'")
        key, value = item.split("=", 1)
        key = key.strip()
        check_key(key, source)
        parsed = parse_value(key, value, source)
        if key in updates and updates[key] != parsed:  # which one was meant is a guess
            raise ConfigError(f"{source}: {key} is given twice ({updates[key]!r} and "
                              f"{parsed!r}); give it once")
        updates[key] = parsed
    return updates


def apply(config: RunConfig, updates: dict[str, Any], source: str = "options") -> RunConfig:
    """A copy of ``config`` with dotted-key ``updates`` (``{"training.epochs": 3}``), validated
    again as a whole."""
    data = config.model_dump(mode="json")
    for key, value in updates.items():
        node = data
        *parents, leaf = key.split(".")
        for p in parents:
            child = node.get(p)
            if not isinstance(child, dict):
                child = node[p] = {}
            node = child
        node[leaf] = value
    return type(config).from_dict(data, source)
