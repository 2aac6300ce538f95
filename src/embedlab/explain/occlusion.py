"""``occlusion``: leave one token out and measure the drop of the explained class's logit.

Model-agnostic and exact about what it measures (one forward pass per token, all in one batch),
so it is the reference the other methods are compared with. The token is deleted (the text
closes up), not replaced, so the model sees a real text of one token fewer.
"""

from __future__ import annotations

from embedlab.explain.model_view import ModelView, Prepared, delete
from embedlab.explain.result import MethodResult


def occlusion(view: ModelView, prepared: Prepared, target: int) -> MethodResult:
    """Score of token i = logit_target(text) − logit_target(text without token i)."""
    rows = [prepared.ids] + [delete(prepared.ids, [i]) for i in range(prepared.seen)]
    logits = view.logits(rows)[:, target].double().numpy()
    return MethodResult(scores=logits[0] - logits[1:], settings={"removal": "delete"},
                        base=None)
