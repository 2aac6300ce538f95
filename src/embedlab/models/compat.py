"""The one place where retired architectures are translated to the current ones.

Version 1 of every model (runs written before the shared output head) had its own head with
its own parameter name: ``cnn`` ``hidden: int``, ``rnn`` ``fc_hidden: int``, ``bag``
``hidden: list[int]`` and ``fasttext`` no hidden layer, with weights ``hidden.*`` (cnn, rnn),
``mlp.<3i>.*`` (bag) and ``output.*``. Version 2 uses :class:`~embedlab.models.head.OutputHead`
(``hidden: list[int]``, weights ``head.hidden.<i>.*`` and ``head.output.*``) and computes the
same function: ``embedlab.<family>.v1`` loads as ``embedlab.<family>.v2`` with the parameters
and weights renamed below.
"""

from __future__ import annotations

import re
from typing import Any

from embedlab.models import bag, cnn, fasttext, rnn  # noqa: F401  (the v2 targets)
from embedlab.models.registry import StateDict, register_legacy, versioned_name


def _v1_state(state: StateDict, params: dict[str, Any]) -> StateDict:
    """v1 head weights -> ``OutputHead`` weights (every other weight keeps its name)."""
    out = {}
    for key, value in state.items():
        key = re.sub(r"^hidden\.", "head.hidden.0.", key)  # cnn, rnn: one optional layer
        # bag: nn.Sequential of [Linear, ReLU, Dropout] per size, so Linear i sits at 3 * i
        key = re.sub(r"^mlp\.(\d+)\.", lambda m: f"head.hidden.{int(m.group(1)) // 3}.", key)
        out[re.sub(r"^output\.", "head.output.", key)] = value
    return out


def _cnn_params(params: dict[str, Any]) -> dict[str, Any]:
    return params  # ``hidden: int`` is read as ``[hidden]`` (0: none) by every model's Params


def _rnn_params(params: dict[str, Any]) -> dict[str, Any]:
    params = dict(params)
    if "fc_hidden" in params:
        params["hidden"] = params.pop("fc_hidden")
    return params


def _bag_params(params: dict[str, Any]) -> dict[str, Any]:
    params = dict(params)
    if params.get("hidden", [100]) == []:
        params["dropout"] = 0.0  # v1 applied dropout only after hidden layers
    return params


def _fasttext_params(params: dict[str, Any]) -> dict[str, Any]:
    return {**params, "hidden": []}


for _family, _params in {"cnn": _cnn_params, "rnn": _rnn_params, "bag": _bag_params,
                         "fasttext": _fasttext_params}.items():
    register_legacy(versioned_name(_family, 1), versioned_name(_family, 2), _params, _v1_state)
