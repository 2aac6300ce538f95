"""Intrinsic evaluation: Google analogies (3CosAdd accuracy) and word-similarity Spearman.

The test sets are the ones gensim ships as test data (``questions-words.txt``,
``wordsim353.tsv``, ``simlex999.txt``), so evaluation runs offline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gensim.test.utils import datapath
from scipy.stats import spearmanr

from embedlab.embeddings.vectors import Vectors
from embedlab.errors import DataError

ANALOGY_FILE = "questions-words.txt"
SIMILARITY_FILES = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}


def _lookup(vectors: Vectors, restrict: int) -> dict[str, int]:
    """Lower-cased word → index of its most frequent spelling among the first ``restrict``."""
    table: dict[str, int] = {}
    for i, w in enumerate(vectors.words[:restrict]):
        table.setdefault(w.lower(), i)
    return table


def evaluate_analogies(
    vectors: Vectors, path: str | Path | None = None, *, restrict_vocab: int = 300_000,
    batch: int = 256,
) -> dict:
    """Accuracy on the Google analogy set (``a : b :: c : d``, 3CosAdd, query words excluded).

    Like gensim's ``evaluate_word_analogies``: case-insensitive, answers searched among the
    ``restrict_vocab`` most frequent words, questions with an unknown word skipped (and
    counted in ``oov_ratio``). Vectorised in batches, so the 19.5k questions take seconds.
    """
    path = Path(path or datapath(ANALOGY_FILE))
    table = _lookup(vectors, restrict_vocab)
    n = min(restrict_vocab, len(vectors))
    unit = np.asarray(vectors.kv.vectors[:n], dtype=np.float32)
    unit = unit / np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
    sections: dict[str, list[tuple[int, int, int, int]]] = {}
    total = 0
    section = "?"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(":"):
            section = line[1:].strip()
            sections.setdefault(section, [])
            continue
        parts = line.lower().split()
        if len(parts) != 4:
            continue
        total += 1
        ids = [table.get(p) for p in parts]
        if None not in ids:
            sections.setdefault(section, []).append(tuple(ids))  # type: ignore[arg-type]
    per_section = {}
    correct_all = answered_all = 0
    semantic = [0, 0]
    syntactic = [0, 0]
    for name, questions in sections.items():
        if not questions:
            continue
        q = np.asarray(questions)
        correct = 0
        for start in range(0, len(q), batch):
            b = q[start:start + batch]
            target = unit[b[:, 1]] - unit[b[:, 0]] + unit[b[:, 2]]
            scores = target @ unit.T
            rows = np.arange(len(b))
            for col in (0, 1, 2):
                scores[rows, b[:, col]] = -np.inf
            correct += int((scores.argmax(axis=1) == b[:, 3]).sum())
        per_section[name] = {"correct": correct, "total": len(q), "accuracy": correct / len(q)}
        correct_all += correct
        answered_all += len(q)
        bucket = syntactic if name.startswith("gram") else semantic
        bucket[0] += correct
        bucket[1] += len(q)
    return {
        "accuracy": correct_all / answered_all if answered_all else 0.0,
        "semantic_accuracy": semantic[0] / semantic[1] if semantic[1] else None,
        "syntactic_accuracy": syntactic[0] / syntactic[1] if syntactic[1] else None,
        "answered": answered_all,
        "questions": total,
        "oov_ratio": 1 - answered_all / total if total else 0.0,
        "sections": per_section,
    }


def evaluate_similarity(vectors: Vectors, path: str | Path) -> dict:
    """Spearman correlation between cosine similarity and human scores on word pairs."""
    path = Path(path)
    human, model = [], []
    total = 0
    table = _lookup(vectors, len(vectors))
    unit_cache: dict[int, np.ndarray] = {}

    def unit(i: int) -> np.ndarray:
        if i not in unit_cache:
            v = np.asarray(vectors.kv.vectors[i], dtype=np.float64)
            unit_cache[i] = v / max(float(np.linalg.norm(v)), 1e-12)
        return unit_cache[i]

    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 3:
            raise DataError(f"{path}: expected 'word1<TAB>word2<TAB>score'; found {line[:40]!r}")
        total += 1
        a, b = table.get(parts[0].lower()), table.get(parts[1].lower())
        if a is None or b is None:
            continue
        human.append(float(parts[2]))
        model.append(float(unit(a) @ unit(b)))
    rho = float(spearmanr(human, model).statistic) if len(human) > 2 else float("nan")
    return {"spearman": rho, "pairs": len(human), "total": total,
            "oov_ratio": 1 - len(human) / total if total else 0.0}


def evaluate(vectors: Vectors, *, restrict_vocab: int = 300_000) -> dict:
    """Analogy accuracy (Google set) and Spearman on WordSim-353 and SimLex-999 (if shipped)."""
    result = {"analogy": evaluate_analogies(vectors, restrict_vocab=restrict_vocab)}
    for name, file in SIMILARITY_FILES.items():
        path = Path(datapath(file))
        if path.exists():
            result[name] = evaluate_similarity(vectors, path)
    return result
