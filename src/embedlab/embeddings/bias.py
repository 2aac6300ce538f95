"""Bias probes: the seed's analogy probe and WEAT (Caliskan, Bryson & Narayanan, 2017).

WEAT measures whether target sets X and Y (e.g. male vs female names) are differently
associated with attribute sets A and B (e.g. career vs family words)::

    s(w, A, B)   = mean_a cos(w, a) - mean_b cos(w, b)
    effect size  = (mean_x s(x) - mean_y s(y)) / std_{w in X ∪ Y} s(w)      (sample std)
    p-value      = P[ s(X_i, Y_i) >= s(X, Y) ] over equal-size re-partitions (X_i, Y_i) of X ∪ Y

with ``s(X, Y) = sum_x s(x) - sum_y s(y)``. The p-value is one-sided; it is exact (all
partitions, the observed one included) when there are at most ``permutations`` partitions,
otherwise estimated from ``permutations`` random ones as ``(hits + 1) / (permutations + 1)``.
Words missing from the vectors are dropped (after trying their lower-case form) and reported.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources

import numpy as np

from embedlab.embeddings.vectors import Vectors
from embedlab.errors import ConfigError, EmbeddingError

OCCUPATIONS = (
    "doctor", "nurse", "engineer", "programmer", "scientist", "teacher", "homemaker", "surgeon",
    "receptionist", "lawyer", "architect", "secretary", "librarian", "carpenter",
)


@dataclass
class WeatResult:
    """Outcome of one WEAT test (``missing`` lists the words dropped as not in the vectors)."""

    name: str
    effect_size: float
    p_value: float
    statistic: float
    n_x: int
    n_y: int
    n_a: int
    n_b: int
    n_missing: int
    missing: list[str] = field(default_factory=list)
    exact: bool = False
    permutations: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ProbeRow:
    """``pair[0] : word :: pair[1] : ?`` answers (``to_second``) and the reverse (``to_first``)."""

    word: str
    to_second: list[tuple[str, float]]
    to_first: list[tuple[str, float]]


def _resolve(vectors: Vectors, words: Sequence[str]) -> tuple[list[str], list[str]]:
    found, missing = [], []
    for w in words:
        if w in vectors:
            found.append(w)
        elif w.lower() in vectors:
            found.append(w.lower())
        elif vectors.has_subwords and vectors.can_embed(w):
            found.append(w)
        else:
            missing.append(w)
    return found, missing


def _unit(vectors: Vectors, words: list[str]) -> np.ndarray:
    m = np.stack([vectors.kv.get_vector(w) for w in words]).astype(np.float64)
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)


def weat(
    vectors: Vectors,
    targets_x: Sequence[str],
    targets_y: Sequence[str],
    attrs_a: Sequence[str],
    attrs_b: Sequence[str],
    permutations: int = 10_000,
    seed: int = 0,
    name: str = "weat",
) -> WeatResult:
    """Run one WEAT test; see the module docstring for the statistic and p-value.

    A positive effect size means X is closer to A (and Y to B) than the reverse.
    """
    if permutations < 1:
        raise ConfigError(f"permutations must be at least 1; found {permutations}")
    sets = {"X": targets_x, "Y": targets_y, "A": attrs_a, "B": attrs_b}
    resolved: dict[str, list[str]] = {}
    missing: list[str] = []
    for key, words in sets.items():
        found, lost = _resolve(vectors, words)
        missing += lost
        if not found:
            raise EmbeddingError(
                f"WEAT '{name}': none of the {len(words)} words of set {key} is in "
                f"{vectors.name}"
            )
        resolved[key] = found
    x, y = resolved["X"], resolved["Y"]
    if len(x) + len(y) < 3:
        raise EmbeddingError(f"WEAT '{name}': need at least 3 target words in X ∪ Y; found "
                             f"{len(x) + len(y)}")
    targets = _unit(vectors, x + y)
    assoc = (targets @ _unit(vectors, resolved["A"]).T).mean(axis=1) - (
        targets @ _unit(vectors, resolved["B"]).T).mean(axis=1)
    k, n = len(x), len(x) + len(y)
    sx, sy = assoc[:k], assoc[k:]
    std = float(np.std(assoc, ddof=1))
    effect = float((sx.mean() - sy.mean()) / std) if std > 0 else 0.0
    total = float(assoc.sum())
    observed = float(sx.sum())
    statistic = 2 * observed - total
    tol = 1e-12 * max(1.0, abs(total))
    n_partitions = math.comb(n, k)
    if n_partitions <= permutations:
        sums = np.fromiter(
            (assoc[list(c)].sum() for c in itertools.combinations(range(n), k)),
            dtype=np.float64, count=n_partitions,
        )
        p = float((sums >= observed - tol).mean())
        exact, used = True, n_partitions
    else:
        rng = np.random.default_rng(seed)
        idx = rng.permuted(np.tile(np.arange(n), (permutations, 1)), axis=1)[:, :k]
        sums = assoc[idx].sum(axis=1)
        p = float((np.count_nonzero(sums >= observed - tol) + 1) / (permutations + 1))
        exact, used = False, permutations
    return WeatResult(name=name, effect_size=effect, p_value=p, statistic=statistic,
                      n_x=len(x), n_y=len(y), n_a=len(resolved["A"]), n_b=len(resolved["B"]),
                      n_missing=len(missing), missing=missing, exact=exact, permutations=used)


def weat_tests() -> list[dict]:
    """The standard WEAT word sets shipped in ``resources/embeddings/weat.json``."""
    text = resources.files("embedlab.resources").joinpath("embeddings/weat.json").read_text(
        "utf-8")
    return json.loads(text)["tests"]


def run_all(
    vectors: Vectors, *, permutations: int = 10_000, seed: int = 0,
    tests: Sequence[str] | None = None,
) -> list[WeatResult]:
    """Run every shipped WEAT test (or the ids in ``tests``); tests that cannot run are skipped
    with their reason as the result name's suffix and NaN scores."""
    known = weat_tests()
    if tests is not None:
        ids = {t["id"] for t in known}
        unknown = [t for t in tests if t not in ids]
        if unknown:
            raise ConfigError(f"unknown WEAT test '{unknown[0]}'; known: {', '.join(sorted(ids))}")
        known = [t for t in known if t["id"] in set(tests)]
    results = []
    for t in known:
        label = f"{t['id']}: {t['x_name']} vs {t['y_name']} / {t['a_name']} vs {t['b_name']}"
        try:
            results.append(weat(vectors, t["x"], t["y"], t["a"], t["b"],
                                permutations=permutations, seed=seed, name=label))
        except EmbeddingError as e:
            results.append(WeatResult(name=f"{label} (skipped: {e})", effect_size=math.nan,
                                      p_value=math.nan, statistic=math.nan, n_x=0, n_y=0, n_a=0,
                                      n_b=0, n_missing=0))
    return results


def analogy_probe(
    vectors: Vectors,
    words: Sequence[str] = OCCUPATIONS,
    pair: tuple[str, str] = ("man", "woman"),
    topn: int = 3,
) -> list[ProbeRow]:
    """For each word w: ``pair[0] : w :: pair[1] : ?`` and ``pair[1] : w :: pair[0] : ?``.

    With the default pair, "man : doctor :: woman : ?" is the seed's probe (GloVe answers
    "nurse"). Words missing from the vectors are skipped.
    """
    first, second = pair
    for w in pair:
        vectors._check(w)
    rows = []
    for w in words:
        if not vectors.can_embed(w):
            continue
        rows.append(ProbeRow(
            word=w,
            to_second=vectors.analogy(positive=[w, second], negative=[first], topn=topn),
            to_first=vectors.analogy(positive=[w, first], negative=[second], topn=topn),
        ))
    return rows
