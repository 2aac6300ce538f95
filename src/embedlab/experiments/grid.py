"""Grid files: a base run config, a grid of dotted keys (their product) and/or named variants,
seeds and optional cross-validation folds, expanded into cells × seeds × folds.

A grid file (YAML)::

    name: pooling
    base:                                # a RunConfig mapping (or base_config: path.yaml)
      data: {dataset: ag_news_sample}
      model: {name: bag, params: {max_length: 50}}   # flatten pooling needs max_length
      training: {epochs: 5}
    grid:                                # product of every key's values
      embeddings.dim: [10, 20]
      model.params.pooling: [flatten, mean, sum]
    variants:                            # optional named variants (crossed with the grid)
      - {name: random, set: {embeddings.source: null}}
    seeds: [0, 1, 2]                     # or a count: 3 -> 0, 1, 2
    folds: 10                            # optional: k-fold CV instead of the data's splits;
                                         # "protocol": CV only where the data set's protocol says so
    metric: accuracy                     # accuracy | macro_f1 | weighted_f1 (best cell, search)
    reference: random                    # cell the paired comparison is made against
    published: {random: 0.801}           # numbers a tutorial or paper reports, per cell

Every value is checked before any run: each cell's config is built and validated (unknown key →
the closest valid one; wrong type → the key and the value).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from embedlab.config import RunConfig, read_yaml
from embedlab.config.keys import check_key
from embedlab.errors import ConfigError, suggest, unknown_name

METRICS = ("accuracy", "macro_f1", "weighted_f1")
TOP_KEYS = ("name", "description", "base", "base_config", "grid", "variants", "seeds", "folds",
            "metric", "reference", "published", "published_source", "notes")


@dataclass(frozen=True)
class Cell:
    """One configuration of the grid: its name and the dotted-key values that define it."""

    name: str
    updates: dict[str, Any]


@dataclass(frozen=True)
class RunSpec:
    """One run of an experiment: a cell, a seed and (for cross-validation) a fold."""

    cell: str
    seed: int
    fold: int | None
    config: RunConfig

    @property
    def key(self) -> str:
        """Relative run directory, e.g. ``runs/pooling=mean/seed-0/fold-3``."""
        tail = f"/fold-{self.fold}" if self.fold is not None else ""
        return f"runs/{self.cell}/seed-{self.seed}{tail}"


@dataclass
class Grid:
    """A parsed, validated grid file."""

    name: str
    base: RunConfig
    cells: list[Cell]
    seeds: list[int]
    folds: int | str | None = None
    metric: str = "accuracy"
    reference: str | None = None
    description: str = ""
    published: dict[str, float] = field(default_factory=dict)
    published_source: str = ""
    notes: list[str] = field(default_factory=list)
    source: str = "grid"
    #: what the command line changed in the grid as written: ``--set`` keys (dotted) and
    #: ``folds`` for ``--folds`` (reports show them; published numbers then are not comparable);
    #: None for an experiment recorded before embedlab kept them
    overrides: dict[str, Any] | None = field(default_factory=dict)

    def cell_config(self, cell: Cell, seed: int) -> RunConfig:
        return self.base.override({**cell.updates, "training.seed": seed})

    def cell_folds(self, config: RunConfig) -> int | None:
        """Number of CV folds for a cell's config (None: the data's own train/validation/test)."""
        from embedlab.experiments.cv import protocol_folds

        if self.folds == "protocol":
            return protocol_folds(config)
        return self.folds  # type: ignore[return-value]

    def runs(self) -> list[RunSpec]:
        """Every cell × seed × fold, cells in grid order."""
        out = []
        for c in self.cells:
            for s in self.seeds:
                config = self.cell_config(c, s)
                k = self.cell_folds(config)
                for f in (range(k) if k else [None]):
                    out.append(RunSpec(c.name, s, f, config))
        return out

    def to_dict(self) -> dict:
        """The resolved grid (what the manifest records, and compares on resume)."""
        return {
            "name": self.name, "description": self.description,
            "base": self.base.model_dump(mode="json"),
            "cells": [{"name": c.name, "set": c.updates} for c in self.cells],
            "seeds": self.seeds, "folds": self.folds, "metric": self.metric,
            "reference": self.reference, "published": self.published,
            "published_source": self.published_source, "notes": self.notes,
            "source": self.source, "overrides": self.overrides,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Grid:
        """Rebuild from :meth:`to_dict` (an experiment's manifest)."""
        return cls(
            name=data["name"], base=RunConfig.from_dict(data["base"]),
            cells=[Cell(c["name"], dict(c["set"])) for c in data["cells"]],
            seeds=list(data["seeds"]), folds=data.get("folds"), metric=data.get("metric", "accuracy"),
            reference=data.get("reference"), description=data.get("description", ""),
            published=dict(data.get("published") or {}),
            published_source=data.get("published_source", ""), notes=list(data.get("notes") or []),
            source=data.get("source", "grid"),
            overrides=dict(data["overrides"] or {}) if "overrides" in data else None,
        )


def _slug(value: Any) -> str:
    text = "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    text = Path(text).stem if "/" in text else text
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip("-") or "x"


def _leaf(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def validate_config(config: RunConfig, where: str) -> None:
    """What a config's schema leaves to run time, checked now: model parameters and the
    embeddings source."""
    from embedlab.models import validate_model_params

    try:
        validate_model_params(config.model.name, config.model.params)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None
    source = config.embeddings.source
    if source and source != "auto":
        from embedlab.embeddings.registry import check_source

        try:
            check_source(source)
        except ConfigError as e:
            raise ConfigError(f"{where}: {e}") from None


def _validate_cell(grid_source: str, cell: Cell, base: RunConfig) -> RunConfig:
    where = f"{grid_source}: cell '{cell.name}'"
    try:
        config = base.override(cell.updates)
    except ConfigError as e:
        raise ConfigError(f"{where}: {str(e).removeprefix('options: ')}") from None
    validate_config(config, where)
    return config


def _seeds(value: Any, source: str) -> list[int]:
    if value is None:
        return [0]
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise ConfigError(f"{source}: seeds must be a positive count or a list; found {value}")
        return list(range(value))
    if isinstance(value, list) and value and all(isinstance(s, int) and not isinstance(s, bool) for s in value):
        if len(set(value)) != len(value):
            raise ConfigError(f"{source}: seeds repeat: {value}")
        return list(value)
    raise ConfigError(f"{source}: seeds must be a count or a non-empty list of integers; found {value!r}")


def check_top_keys(data: Any, source: str, keys: tuple[str, ...], what: str) -> None:
    """``data`` must be a mapping whose keys are all in ``keys`` (the closest one is suggested);
    ``what`` names the file kind in the error ("grid-file", "space-file")."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level, found {type(data).__name__}")
    for key in data:
        if key not in keys:
            raise ConfigError(f"{source}: unknown {what} key '{key}'{suggest(str(key), keys)}; "
                              f"valid: {', '.join(keys)}")


def parse_grid(data: dict, source: str = "grid", base_dir: Path | None = None) -> Grid:
    """Validate a grid mapping and expand its cells (see the module docstring for the format)."""
    check_top_keys(data, source, TOP_KEYS, "grid-file")
    base = _base_config(data, source, base_dir)
    grid = _grid_axes(data, source)
    variants = _variants(data, source)
    if not grid and not variants:
        raise ConfigError(f"{source}: empty grid: give 'grid' (dotted keys → lists of values) and/or "
                          "'variants'")
    cells = _expand(grid, variants, source)
    for cell in cells:
        _validate_cell(source, cell, base)
    names = [c.name for c in cells]

    folds = _folds(data.get("folds"), source)
    metric = data.get("metric", "accuracy")
    if metric not in METRICS:
        raise unknown_name("metric", str(metric), METRICS)
    reference = data.get("reference")
    if reference is not None and str(reference) not in names:
        raise ConfigError(f"{source}: reference cell '{reference}' is not a cell"
                          f"{suggest(str(reference), names)}; cells: {', '.join(names)}")
    published = _published(data.get("published") or {}, source, names)
    notes = data.get("notes") or []
    return Grid(
        name=str(data.get("name") or source), base=base, cells=cells,
        seeds=_seeds(data.get("seeds"), source), folds=folds, metric=metric,
        reference=str(reference) if reference is not None else None,
        description=str(data.get("description") or ""),
        published=published,
        published_source=str(data.get("published_source") or ""),
        notes=[str(n) for n in (notes if isinstance(notes, list) else [notes])], source=source,
    )


def _base_config(data: dict, source: str, base_dir: Path | None) -> RunConfig:
    """The config every cell starts from: ``base_config`` (a YAML file, relative to
    ``base_dir``) or the inline ``base`` mapping."""
    if data.get("base") is not None and data.get("base_config") is not None:
        raise ConfigError(f"{source}: give either base or base_config, not both")
    if data.get("base_config") is not None:
        path = Path(data["base_config"])
        return RunConfig.from_yaml(path if path.is_absolute() or base_dir is None else base_dir / path)
    raw = data.get("base") or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: base must be a run-config mapping; found {type(raw).__name__}")
    return RunConfig.from_dict(raw, f"{source}: base")


def _grid_axes(data: dict, source: str) -> dict[str, list]:
    """The ``grid`` mapping: known dotted keys, each to a non-empty list of values."""
    grid = data.get("grid") or {}
    if not isinstance(grid, dict):
        raise ConfigError(f"{source}: grid must map dotted keys to lists of values; found {type(grid).__name__}")
    for key, values in grid.items():
        check_key(key, source)
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{source}: grid key '{key}' needs a non-empty list of values; found {values!r}")
    return grid


def _variants(data: dict, source: str) -> list[Cell]:
    """The ``variants`` list: each a name and a ``set`` mapping of known dotted keys."""
    variants_raw = data.get("variants") or []
    if not isinstance(variants_raw, list):
        raise ConfigError(f"{source}: variants must be a list of {{name, set}} mappings")
    variants: list[Cell] = []
    for i, v in enumerate(variants_raw):
        if not isinstance(v, dict) or not isinstance(v.get("name"), str) or not isinstance(v.get("set", {}), dict):
            raise ConfigError(f"{source}: variant {i + 1} must be a mapping with a name and a 'set' mapping; "
                              f"found {v!r}")
        extra = set(v) - {"name", "set"}
        if extra:
            raise ConfigError(f"{source}: variant '{v['name']}': unknown field(s) {', '.join(map(str, extra))}; "
                              "valid: name, set")
        for key in v.get("set") or {}:
            check_key(key, f"{source}: variant '{v['name']}'")
        variants.append(Cell(_slug(v["name"]), dict(v.get("set") or {})))
    return variants


def _expand(grid: dict[str, list], variants: list[Cell], source: str) -> list[Cell]:
    """Every variant crossed with every combination of the grid's values, each cell named by
    its variant and its values; two cells with one name are refused."""
    keys = list(grid)
    combos = [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]
    cells: list[Cell] = []
    for v in variants or [Cell("", {})]:
        for combo in combos:
            parts = ([v.name] if v.name else []) + [f"{_leaf(k)}={_slug(x)}" for k, x in combo.items()]
            cells.append(Cell(",".join(parts), {**v.updates, **combo}))
    names = [c.name for c in cells]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{source}: cells share a name ({', '.join(dupes)}); give variants distinct names "
                          "or grid values with distinct last key parts")
    return cells


def _folds(folds: Any, source: str) -> int | str | None:
    """``folds``: unset, an integer of at least 2, or ``protocol``."""
    if folds is not None and folds != "protocol" and (
            not isinstance(folds, int) or isinstance(folds, bool) or folds < 2):
        raise ConfigError(f"{source}: folds must be an integer of at least 2 or 'protocol'; found {folds!r}")
    return folds


def _published(published: Any, source: str, names: list[str]) -> dict[str, float]:
    """``published``: numbers from a paper, keyed by the names of cells of this grid."""
    if not isinstance(published, dict) or not all(isinstance(v, (int, float)) for v in published.values()):
        raise ConfigError(f"{source}: published must map cell names to numbers")
    for cell_name in published:
        if cell_name not in names:
            raise ConfigError(f"{source}: published number for unknown cell '{cell_name}'"
                              f"{suggest(str(cell_name), names)}")
    return {str(k): float(v) for k, v in published.items()}


def load_grid(path: str | Path) -> Grid:
    """Read and validate a grid YAML file."""
    path = Path(path)
    data = read_yaml(path, "grid file")
    if data is None:
        raise ConfigError(f"{path}: empty grid file")
    return parse_grid(data, str(path), path.parent)


# ----------------------------------------------------------------------------- built-ins

def builtin_names() -> list[str]:
    """Names of the experiments shipped in the package."""
    root = resources.files("embedlab.experiments") / "builtin"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def builtin_data(name: str) -> dict:
    """The raw mapping of a built-in experiment."""
    if name not in builtin_names():
        raise unknown_name("built-in experiment", name, builtin_names())
    text = (resources.files("embedlab.experiments") / "builtin" / f"{name}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def load_builtin(name: str, overrides: dict[str, Any] | None = None,
                 seeds: list[int] | None = None, folds: int | None = None) -> Grid:
    """A built-in experiment, optionally with base overrides (e.g. fewer epochs) and other seeds."""
    return with_overrides(builtin_data(name), f"builtin:{name}", None, overrides, seeds, folds)


def with_overrides(data: dict, source: str, base_dir: Path | None = None,
                   overrides: dict[str, Any] | None = None, seeds: list[int] | None = None,
                   folds: int | None = None) -> Grid:
    """The grid of ``data`` (a grid file's mapping) with dotted-key ``overrides`` applied to its
    base config, other ``seeds`` and ``folds``, validated as a whole; what was changed (the
    overrides, and folds when they differ) is kept in :attr:`Grid.overrides` for the manifest
    and the report (the one place the command line and the Python API apply them)."""
    changed: dict[str, Any] = dict(overrides or {})
    if overrides:
        base = parse_grid(data, source, base_dir).base.override(overrides)
        data = {**data, "base": base.model_dump(mode="json")}
        data.pop("base_config", None)
    if seeds is not None:
        data = {**data, "seeds": seeds}
    if folds is not None and folds != data.get("folds"):
        data = {**data, "folds": folds}
        changed["folds"] = folds
    grid = parse_grid(data, source, base_dir)
    grid.overrides = changed
    return grid
