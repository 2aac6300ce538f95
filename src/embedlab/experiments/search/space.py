"""The search space: a space file's dotted config keys and their ranges, parsed and validated
(every range end must make a valid config) before any trial runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embedlab.config import RunConfig, read_yaml
from embedlab.config.keys import check_key
from embedlab.errors import ConfigError, suggest
from embedlab.experiments.grid import METRICS, check_top_keys, validate_config

KINDS = ("loguniform", "uniform", "int", "choice")
SPACE_KEYS = ("name", "base", "base_config", "metric", "trials", "space")


@dataclass
class Param:
    """One dimension of the space."""

    key: str
    kind: str
    low: float | None = None
    high: float | None = None
    choices: list[Any] = field(default_factory=list)

    @property
    def bounds(self) -> tuple[float, float]:
        """``(low, high)`` of a numeric range (a choice has none)."""
        if self.low is None or self.high is None:
            raise ConfigError(f"{self.key}: a {self.kind} parameter has no numeric range")
        return self.low, self.high

    def suggest(self, trial: Any) -> Any:
        if self.kind == "choice":
            index = trial.suggest_categorical(self.key, list(range(len(self.choices))))
            return self.choices[index]
        low, high = self.bounds
        if self.kind == "int":
            return trial.suggest_int(self.key, int(low), int(high))
        return trial.suggest_float(self.key, low, high, log=self.kind == "loguniform")

    def probe_values(self) -> list[Any]:
        """Values that must all make a valid config (checked before any trial)."""
        if self.kind == "choice":
            return self.choices
        low, high = self.bounds
        return [int(low), int(high)] if self.kind == "int" else [low, high]


@dataclass
class Space:
    """A parsed, validated search space."""

    name: str
    base: RunConfig
    params: list[Param]
    metric: str = "accuracy"
    trials: int | None = None
    source: str = "space"

    def config(self, values: dict[str, Any]) -> RunConfig:
        return self.base.override(values)


def _param(key: str, spec: Any, source: str) -> Param:
    where = f"{source}: {key}"
    if not isinstance(spec, dict) or len(spec) != 1:
        raise ConfigError(f"{where}: expected one of {', '.join(KINDS)} with its range, e.g. "
                          "{loguniform: [1.0e-4, 1.0e-1]}; found " + repr(spec))
    kind, value = next(iter(spec.items()))
    if kind not in KINDS:
        raise ConfigError(f"{where}: unknown range kind '{kind}'{suggest(str(kind), KINDS)}; "
                          f"known: {', '.join(KINDS)}")
    if kind == "choice":
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{where}: choice needs a non-empty list of values; found {value!r}")
        return Param(key, kind, choices=list(value))
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise ConfigError(f"{where}: {kind} needs [low, high] numbers; found {value!r}")
    low, high = float(value[0]), float(value[1])
    if kind == "int" and (low != int(low) or high != int(high)):
        raise ConfigError(f"{where}: int range needs whole numbers; found {value!r}")
    if not low < high:
        raise ConfigError(f"{where}: inverted range [{value[0]}, {value[1]}]; expected low < high")
    if kind == "loguniform" and low <= 0:
        raise ConfigError(f"{where}: loguniform range must be positive; found low {value[0]}")
    return Param(key, kind, low, high)


def _base(data: dict, source: str, base_dir: Path | None,
          overrides: dict[str, Any] | None) -> RunConfig:
    """The base config: ``base_config`` (a file, relative to ``base_dir``) or ``base``, with
    the command line's ``overrides``."""
    if data.get("base_config") is not None:
        path = Path(data["base_config"])
        base = RunConfig.from_yaml(path if path.is_absolute() or base_dir is None else base_dir / path)
    else:
        base = RunConfig.from_dict(data.get("base") or {}, f"{source}: base")
    return base.override(overrides) if overrides else base


def _settings(data: dict, source: str, base: RunConfig) -> tuple[str, int | None]:
    """The space's metric and trial budget, checked; the base must have a validation split."""
    metric = data.get("metric", "accuracy")
    if metric not in METRICS:
        raise ConfigError(f"{source}: unknown metric '{metric}'{suggest(str(metric), METRICS)}; "
                          f"known: {', '.join(METRICS)}")
    trials = data.get("trials")
    if trials is not None and (not isinstance(trials, int) or isinstance(trials, bool) or trials < 1):
        raise ConfigError(f"{source}: trials must be a positive integer; found {trials!r}")
    if base.data.val_size <= 0:
        raise ConfigError(f"{source}: the search scores trials on the validation split; data.val_size "
                          "must be above 0")
    return metric, trials


def parse_space(data: Any, source: str = "space", base_dir: Path | None = None,
                overrides: dict[str, Any] | None = None) -> Space:
    """Validate a space mapping (its format: :mod:`embedlab.experiments.search`); every range
    end must give a valid config."""
    check_top_keys(data, source, SPACE_KEYS, "space-file")
    base = _base(data, source, base_dir, overrides)
    space = data.get("space")
    if not isinstance(space, dict) or not space:
        raise ConfigError(f"{source}: empty search space: give 'space' (dotted keys → ranges)")
    params = []
    for key, spec in space.items():
        check_key(key, source)
        param = _param(key, spec, source)
        for value in param.probe_values():
            where = f"{source}: {key}={value!r}"
            try:
                config = base.override({key: value})
            except ConfigError as e:
                raise ConfigError(f"{where}: {str(e).removeprefix('options: ')}") from None
            validate_config(config, where)
        params.append(param)
    metric, trials = _settings(data, source, base)
    return Space(str(data.get("name") or source), base, params, metric, trials, source)


def load_space(path: str | Path, overrides: dict[str, Any] | None = None) -> Space:
    """Read and validate a space YAML file (``overrides``: dotted keys applied to its base)."""
    path = Path(path)
    data = read_yaml(path, "space file")
    if data is not None and isinstance(data, dict) and "name" not in data:
        data["name"] = path.stem
    return parse_space(data, str(path), path.parent, overrides)
