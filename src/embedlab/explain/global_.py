"""What a model relies on over a whole data set.

* Per predicted class, the words (or, for a cnn, the n-grams chosen by max-pooling) with the
  largest mean contribution to that class per occurrence (cnn: per text that chose it), in
  absolute value (evidence for the class and against it), among the terms seen at least
  ``min_count`` times in that class's texts: a summed contribution would put the most frequent
  words ("what", "is", "?") first in every class, and a word seen once is an anecdote.
* cnn only, per filter width: the n-grams the filters' max-pool chose most often (the
  tutorial's "tennis / tennis tournament / final tennis tournament"), counted over every filter
  with a positive activation in every text.

The cnn statistics (for a model whose class offers the ``ngrams`` method) come from batched
``forward_with_signals`` passes (fast on a full test set); other families run their explanation method (``auto`` by default) text by text.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from embedlab.explain.explainer import explain_prepared, resolve_method
from embedlab.explain.explanation import UNITS
from embedlab.explain.model_view import ModelView, Prepared
from embedlab.explain.ngrams import cnn_model

FORMAT = "embedlab-global-explanation-v2"
#: terms seen fewer times than this in a class's texts are left out of its list
MIN_COUNT = 5


@dataclass
class GlobalExplanation:
    """Top terms per predicted class, and (cnn) the most-chosen n-grams per filter width.

    ``classes[c]`` is a list of ``[term, mean contribution, occurrences, texts]`` by
    |mean| (cnn n-grams: occurrences = texts); ``widths[k]`` a list of
    ``[n-gram, times chosen]``; ``predicted[c]`` how many texts were predicted ``c``.
    """

    model: str
    data: str
    method: str
    texts: int
    skipped: int
    classes: dict[str, list[list[Any]]]
    widths: dict[str, list[list[Any]]] = field(default_factory=dict)
    min_count: int = MIN_COUNT
    predicted: dict[str, int] = field(default_factory=dict)
    units: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self)}

    def write_json(self, path: str | Path) -> Path:
        from embedlab.atomic import atomic_file

        with atomic_file(path) as tmp:
            tmp.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False), "utf-8")
        return Path(path)

    def caption(self) -> str:
        return (f"per predicted class, the terms with the largest |mean contribution| per "
                f"occurrence, seen at least {self.min_count} times (+ for the class, − against)")

    def plot(self, path: str | Path) -> Path:
        """A PNG: one panel per class, a bar per term (red: for the class, blue: against)."""
        from embedlab.explain.render_png import global_png

        return global_png(self, path)

    def to_html(self) -> str:
        """A self-contained HTML page: per class, the terms and their mean contribution bars."""
        from embedlab.explain.render_html import render_global_html

        return render_global_html(self)

    def write_html(self, path: str | Path) -> Path:
        from embedlab.atomic import atomic_file

        with atomic_file(path) as tmp:
            tmp.write_text(self.to_html(), "utf-8")
        return Path(path)

    def tables(self) -> list[Any]:
        from rich import box
        from rich.table import Table

        out = []
        from rich.text import Text

        from embedlab.explain.render_terminal import score_style

        t = Table(title=f"{self.model} on {self.data} ({self.texts} texts, {self.method}): "
                  f"{self.caption()}", box=box.SIMPLE_HEAD)
        t.add_column("class (texts)")
        t.add_column("term: mean contribution (occurrences)", overflow="fold")
        for c, terms in self.classes.items():
            cell = Text()
            for i, (term, mean, n, _) in enumerate(terms):
                cell.append(", " if i else "")
                cell.append(f"{term} ")
                cell.append(f"{mean:+.3f}", style=score_style(mean, "attribution"))
                cell.append(f" ({n})", style="dim")
            t.add_row(f"{c} ({self.predicted.get(c, 0)})",
                      cell if terms else Text(f"no term seen {self.min_count}+ times", style="dim"))
        out.append(t)
        if self.widths:
            w = Table(title="most-chosen n-grams per filter width (times chosen by max-pooling)",
                      box=box.SIMPLE_HEAD)
            w.add_column("width")
            w.add_column("n-grams", overflow="fold")
            for k, grams in self.widths.items():
                w.add_row(k, ", ".join(f"{g} ({n})" for g, n in grams))
            out.append(w)
        return out


#: per predicted class, the summed contribution of each term
TermScores = dict[str, dict[str, float]]


def _term_scores() -> TermScores:
    return defaultdict(lambda: defaultdict(float))


def _cnn(view: ModelView, prepared: list[Prepared], top: int, batch: int = 128
         ) -> tuple[TermScores, dict[str, Counter[str]], dict[str, Counter[str]], Counter[str]]:
    model = cnn_model(view.model)  # the family that offers ngrams
    filters = model.params.filters
    per_class: TermScores = _term_scores()
    per_class_n: dict[str, Counter[str]] = defaultdict(Counter)
    per_width: dict[str, Counter[str]] = defaultdict(Counter)
    predicted_n: Counter[str] = Counter()
    for start in range(0, len(prepared), batch):
        part = prepared[start:start + batch]
        ids = view.pad([p.ids for p in part])
        with torch.no_grad():
            _, signals = model.forward_with_signals(ids)
        with torch.enable_grad():
            pooled = signals["pooled"].detach().clone().requires_grad_(True)
            logits = model.head(pooled)
            offset = view.class_bias if view.class_bias is not None else 0.0
            predicted = (logits.detach() + offset).argmax(1)  # the class predict answers
            (grad,) = torch.autograd.grad(logits.gather(1, predicted[:, None]).sum(), pooled)
        predicted_n.update(view.classes[int(i)] for i in predicted)
        contributions = (grad * pooled).detach().numpy()
        values = pooled.detach().numpy()
        for i, k in enumerate(model.widths):
            argmax = signals[f"pool_argmax.{k}"].numpy()
            for r, p in enumerate(part):
                cls = view.classes[int(predicted[r])]
                seen_here: set[str] = set()
                for f in range(filters):
                    col = i * filters + f
                    if values[r, col] <= 0:
                        continue
                    a, b = model.window(k, int(argmax[r, f]))
                    a, b = max(a, 0), min(b, p.seen)
                    if b <= a:
                        continue
                    gram = " ".join(p.tokens[a:b])
                    per_width[str(k)][gram] += 1
                    per_class[cls][gram] += float(contributions[r, col])
                    if gram not in seen_here:
                        per_class_n[cls][gram] += 1
                        seen_here.add(gram)
    return per_class, per_class_n, per_width, predicted_n


def global_explanation(predictor: Any, texts: Sequence[str], method: str = "auto",
                       top: int = 10, data: str = "texts",
                       progress: Callable[[Iterable], Iterable] | None = None,
                       min_count: int = MIN_COUNT, **settings: Any) -> GlobalExplanation:
    """Aggregate explanations of ``texts`` (see the module docstring)."""
    view = predictor if isinstance(predictor, ModelView) else ModelView(predictor)
    prepared, skipped = view.prepare_many(texts, "explain")
    widths: dict[str, list[list[Any]]] = {}
    # models with max-pooled n-gram windows (the cnn) get the batched n-gram statistics
    if "ngrams" in view.model.explanation_methods() and method in ("auto", "ngrams"):
        name = "ngrams"
        per_class, per_class_n, per_width, predicted = _cnn(view, prepared, top)
        widths = {k: [[g, n] for g, n in c.most_common(top)] for k, c in per_width.items()}
        occurrences = per_class_n  # a window is chosen once per text
        in_texts = per_class_n
    else:
        name = resolve_method(view, method)
        per_class = _term_scores()
        occurrences = defaultdict(Counter)
        in_texts = defaultdict(Counter)
        predicted = Counter()
        for p in (progress(prepared) if progress else prepared):
            e = explain_prepared(view, p, name, None, **settings)
            predicted[e.predicted] += 1
            for t in e.seen:
                per_class[e.predicted][t.token] += t.score
                occurrences[e.predicted][t.token] += 1
            in_texts[e.predicted].update({t.token for t in e.seen})
    return GlobalExplanation(
        model=view.family, data=data, method=name, texts=len(prepared), skipped=skipped,
        classes={c: _ranked_terms(per_class.get(c, {}), occurrences[c], in_texts[c], top,
                                  min_count) for c in view.classes},
        widths=widths, min_count=min_count, units=UNITS.get(name, ""),
        predicted={c: predicted[c] for c in view.classes})


def _ranked_terms(sums: dict[str, float], occurrences: Counter[str], in_texts: Counter[str],
                  top: int, min_count: int) -> list[list[Any]]:
    """``[term, mean, occurrences, texts]`` of the terms seen ``min_count``+ times, by |mean|."""
    means = {term: total / occurrences[term] for term, total in sums.items()
             if occurrences[term] >= min_count}
    ranked = sorted(means.items(), key=lambda kv: (-abs(kv[1]), kv[0]))[:top]
    return [[term, float(np.round(mean, 4)), occurrences[term], in_texts[term]]
            for term, mean in ranked]
