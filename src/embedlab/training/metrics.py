"""Classification metrics (scikit-learn) and their printable table."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict:
    """Accuracy; precision/recall/F1/support per class, weighted and macro; confusion matrix."""
    labels = list(range(len(classes)))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    out: dict = {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "n": len(y_true),
        "per_class": {
            c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, c in enumerate(classes)
        },
    }
    for avg in ("weighted", "macro"):
        pa, ra, fa, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=avg, zero_division=0
        )
        out[avg] = {"precision": float(pa), "recall": float(ra), "f1": float(fa)}
    out["confusion_matrix"] = confusion_matrix(y_true, y_pred, labels=labels).tolist()
    out["classes"] = list(classes)
    return out


def metrics_table(metrics: dict, title: str = "metrics"):
    """A rich Table: one row per class plus macro / weighted averages and accuracy
    (multi-label metrics: :func:`multilabel_table`)."""
    from rich.table import Table

    if metrics.get("multilabel"):
        return multilabel_table(metrics, title)
    t = Table(title=title)
    for col in ("class", "precision", "recall", "f1", "support"):
        t.add_column(col, justify="left" if col == "class" else "right")
    for c, m in metrics["per_class"].items():
        t.add_row(c, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", str(m["support"]))
    t.add_section()
    for avg in ("macro", "weighted"):
        m = metrics[avg]
        t.add_row(f"{avg} avg", f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", str(metrics["n"]))
    t.add_row("accuracy", "", "", f"{metrics['accuracy']:.3f}", str(metrics["n"]))
    return t


def multilabel_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict:
    """Multi-label metrics of boolean indicator rows (scikit-learn): micro, macro, samples and
    (support-)weighted precision/recall/F1; per-label precision/recall/F1/support; subset accuracy (every label of
    a row right), Hamming loss, label cardinality (mean labels per row) true vs predicted, and a
    true-label × predicted-label co-occurrence count as ``confusion_matrix``."""
    from sklearn.metrics import hamming_loss

    y_true = np.asarray(y_true) > 0.5
    y_pred = np.asarray(y_pred).astype(bool)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, zero_division=0)
    out: dict = {
        "multilabel": True,
        "n": len(y_true),
        "subset_accuracy": float(accuracy_score(y_true, y_pred)),
        "hamming_loss": float(hamming_loss(y_true, y_pred)),
        "cardinality": {"true": float(y_true.sum(1).mean()) if len(y_true) else 0.0,
                        "predicted": float(y_pred.sum(1).mean()) if len(y_pred) else 0.0},
        "per_class": {
            c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                "support": int(s[i])}
            for i, c in enumerate(classes)
        },
    }
    for avg in ("micro", "macro", "samples", "weighted"):
        pa, ra, fa, _ = precision_recall_fscore_support(y_true, y_pred, average=avg,
                                                        zero_division=0)
        out[avg] = {"precision": float(pa), "recall": float(ra), "f1": float(fa)}
    # the keys experiments, search and tracking read: accuracy is the subset accuracy, and the
    # "confusion matrix" counts, for each true label (row) and predicted label (column), the
    # texts that carry the one and got the other (its diagonal: each label's true positives)
    out["accuracy"] = out["subset_accuracy"]
    out["confusion_matrix"] = (y_true.T.astype(np.int64) @ y_pred.astype(np.int64)).tolist()
    out["classes"] = list(classes)
    return out


def multilabel_table(metrics: dict, title: str = "metrics"):
    """A rich Table of :func:`multilabel_metrics`: one row per label, then the averages,
    subset accuracy, Hamming loss and label cardinality."""
    from rich.table import Table

    t = Table(title=title)
    for col in ("label", "precision", "recall", "f1", "support"):
        t.add_column(col, justify="left" if col == "label" else "right")
    for c, m in metrics["per_class"].items():
        t.add_row(c, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}",
                  str(m["support"]))
    t.add_section()
    for avg in ("micro", "macro", "samples"):
        m = metrics[avg]
        t.add_row(f"{avg} avg", f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}",
                  str(metrics["n"]))
    t.add_row("subset accuracy", "", "", f"{metrics['subset_accuracy']:.3f}", str(metrics["n"]))
    t.add_row("Hamming loss", "", "", f"{metrics['hamming_loss']:.4f}", "")
    card = metrics["cardinality"]
    t.add_row("labels per text", "", "", f"{card['true']:.2f} true / {card['predicted']:.2f} "
              "predicted", "")
    if "levels" in metrics:
        t.add_section()
        for level, m in metrics["levels"].items():
            t.add_row(f"level {level} accuracy", "", "", f"{m['accuracy']:.3f}", str(m["n"]))
    return t


def level_metrics(y_true: np.ndarray, probs: np.ndarray, y_pred: np.ndarray,
                  parents: np.ndarray) -> dict:
    """Per level of a label hierarchy (1 = top): the accuracy of the most probable label of
    that level among the rows whose true labels include one of it, and micro-F1 of the level's
    predicted set."""
    from sklearn.metrics import f1_score

    from embedlab.text.labels import label_depths

    y_true = np.asarray(y_true) > 0.5
    depth = label_depths(parents)
    out: dict = {}
    for level in sorted(set(depth.tolist())):
        cols = np.flatnonzero(depth == level)
        rows = y_true[:, cols].any(1)
        top = cols[probs[np.ix_(rows, cols)].argmax(1)] if rows.any() else cols[:0]
        hit = y_true[np.flatnonzero(rows), top] if rows.any() else np.zeros(0, bool)
        out[str(level + 1)] = {
            "labels": len(cols), "n": int(rows.sum()),
            "accuracy": float(hit.mean()) if len(hit) else 0.0,
            "micro_f1": float(f1_score(y_true[:, cols], y_pred[:, cols], average="micro",
                                       zero_division=0)),
        }
    return out
