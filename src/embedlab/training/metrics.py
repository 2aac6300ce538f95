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
    """A rich Table: one row per class plus macro / weighted averages and accuracy."""
    from rich.table import Table

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
