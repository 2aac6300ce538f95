"""The :class:`Explanation` object every method returns, and its JSON form.

One explanation describes one text: the class the model predicted, the class that was explained
(the predicted one unless a ``target`` was asked for), the probability of every class, the method
and its settings, and one :class:`TokenScore` per token of the preprocessed text with its
character span in the ORIGINAL text. N-gram methods (``ngrams``, ``exact`` with n-gram features)
also list :class:`NGramScore` entries.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from embedlab.errors import DataError

FORMAT = "embedlab-explanation-v1"

#: what each method's scores measure (the legend of every rendering, and the served model card)
UNITS = {
    "ig": "share of the class's logit (integrated gradients: they sum to logit − logit of an "
          "all-padding text)",
    "exact": "exact share of the class's logit (they sum to logit − bias)",
    "ngrams": "share of the class's logit, credited to the n-grams the filters chose",
    "occlusion": "drop of the class's logit when the token is deleted",
    "lime": "LIME weight: change of the class's probability (local linear fit)",
    "attention": "attention weight (they sum to 1; not an attribution)",
}

#: what the scores of a method mean (shown next to every rendering)
ScoreKind = Literal["attribution", "attention"]
TokenStatus = Literal["known", "unknown", "cut"]


@dataclass(frozen=True)
class TokenScore:
    """One token as the model saw it.

    ``start``/``end`` index the original text (``text[start:end]`` is the surface form, e.g.
    ``"Peru"`` for the token ``"peru"``). ``status``: ``known`` (in the vocabulary), ``unknown``
    (read as ``<UNK>``) or ``cut`` (beyond the model's window: not seen, score 0).
    """

    token: str
    start: int
    end: int
    status: TokenStatus
    score: float


@dataclass(frozen=True)
class NGramScore:
    """A run of tokens ``[first, last]`` (token indices) and its score.

    For ``ngrams`` (cnn) it is a window chosen by max-pooling: ``filters`` says how many filters
    chose it and ``score`` is their summed contribution to the explained class's logit.
    """

    tokens: list[str]
    first: int
    last: int
    start: int
    end: int
    score: float
    width: int
    filters: int = 0

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


@dataclass
class Explanation:
    """Why the model gave ``text`` its prediction, according to ``method``.

    ``probabilities`` holds every class (model order); ``score_kind`` is ``"attribution"``
    (a token's contribution to the explained class's logit or probability, positive = for it) or
    ``"attention"`` (the rnn's attention weights, which are not an attribution). ``delta`` is the
    integrated-gradients convergence delta where the method has one. ``maps`` (cnn ``ngrams``)
    holds each width's filter activations ``[filters][tokens]`` and ``choices`` the token each
    filter's max-pool chose (its window's anchor; -1 for a filter that stayed at 0). ``notes`` are one-line remarks
    (text cut to the model's window, no known word, large IG delta).
    """

    text: str
    predicted: str
    explained: str
    probability: float
    probabilities: dict[str, float]
    method: str
    settings: dict[str, Any]
    tokens: list[TokenScore]
    score_kind: ScoreKind = "attribution"
    ngrams: list[NGramScore] = field(default_factory=list)
    delta: float | None = None
    base: float | None = None
    maps: dict[str, list[list[float]]] = field(default_factory=dict)
    choices: dict[str, list[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    status: str = "ok"

    @property
    def seen(self) -> list[TokenScore]:
        """The tokens the model saw (not cut)."""
        return [t for t in self.tokens if t.status != "cut"]

    @property
    def cut(self) -> bool:
        return any(t.status == "cut" for t in self.tokens)

    def top_tokens(self, k: int = 10) -> list[TokenScore]:
        """The ``k`` seen tokens with the largest ``|score|`` (ties: first in the text): the
        strongest evidence for the explained class and against it, in one ranked list (every
        ranked list, in the terminal, HTML and the web page, is this one)."""
        order = sorted(range(len(self.tokens)), key=lambda i: (-abs(self.tokens[i].score), i))
        return [self.tokens[i] for i in order if self.tokens[i].status != "cut"][:k]

    def top_ngrams(self, k: int = 10) -> list[NGramScore]:
        """The ``k`` n-grams with the largest ``|score|`` (ties: first in the text)."""
        return sorted(self.ngrams, key=lambda g: (-abs(g.score), g.first))[:k]

    @property
    def units(self) -> str:
        """What this explanation's scores measure (see :data:`UNITS`)."""
        return UNITS.get(self.method, "score")

    @property
    def scores(self) -> list[float]:
        return [t.score for t in self.tokens]

    def without_maps(self) -> Explanation:
        """A copy without the cnn filter maps (``filters × tokens`` floats: large in batches)."""
        return replace(self, maps={}, choices={})

    # ----- JSON ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = {"format": FORMAT, **asdict(self)}
        return out

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Explanation:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise DataError(f"not an explanation: expected format '{FORMAT}', found {found!r}")
        data = dict(data)
        data.pop("format")
        try:
            data["tokens"] = [TokenScore(**t) for t in data["tokens"]]
            data["ngrams"] = [NGramScore(**g) for g in data.get("ngrams", [])]
            return cls(**data)
        except (TypeError, KeyError) as e:
            raise DataError(f"explanation JSON: {e}") from None

    @classmethod
    def from_json(cls, text: str) -> Explanation:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"explanation JSON: {e}") from None
        return cls.from_dict(data)
