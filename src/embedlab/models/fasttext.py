"""fastText-style classifier: the average of word and hashed word-n-gram vectors → output head,
plus (version 4) a wide linear term on the same words and n-grams, tf-idf weighted."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from embedlab.models.classifier import ClassifierModule, ModelParams, Signals
from embedlab.models.embedding import EmbeddingSpec
from embedlab.models.masking import Bag, Bags, packed_bag, padding_mask
from embedlab.models.registry import register_model

#: the n-gram hash's multiplier (fastText's own constant). Version 2 used 1_000_003, which is 3
#: modulo 10**5 and 10**6: (a, b) and (a + 1, b - 3) shared a bucket, and the bigrams of SST-2
#: filled 27k of 100k buckets where random hashing fills 51k — version 3 fixes it.
HASH_MULTIPLIER = 116_049_371
V2_HASH_MULTIPLIER = 1_000_003


class FastTextV2Params(ModelParams):
    """Hyperparameters of ``embedlab.fasttext.v2`` (unchanged: runs saved with it reload as they were).

    ``ngrams`` defaults to 1, as in fastText itself (``-wordNgrams 1``). ``sparse`` defaults to
    "only with n-grams": the n-gram table is large and each batch touches few of its rows.
    The output head defaults to fastText's: no hidden layer (``hidden=[]``), no dropout.
    """

    # lr 1e-2: at it, the best validation epoch of fasttext in the models suite of
    # benchmarks/RESULTS.md (`python benchmarks/classify.py`) is the 1st or 2nd, so patience 2
    # stops soon after it
    training_defaults: ClassVar[dict[str, Any]] = {"lr": 1e-2, "patience": 2}

    hidden: list[int] = Field(
        default=[], description="sizes of the output head's Linear+ReLU layers ([]: none)"
    )
    dropout: float = Field(
        default=0.0, ge=0.0, lt=1.0, description="dropout before each Linear of the output head "
        "after the first hidden one (with no hidden layer: on the text vector)"
    )
    ngrams: int = Field(
        default=1, ge=1, le=5, description="longest word n-gram hashed into buckets (1: words only)"
    )
    buckets: int = Field(
        default=100_000, ge=1, le=20_000_000, description="hash buckets shared by all n-grams"
    )
    sparse: bool | None = Field(
        default=None,
        description="sparse gradients for the tables (train sparse_parameters() with SparseAdam); "
        "None: only when there is an n-gram table (ngrams > 1)",
    )


class FastTextParams(FastTextV2Params):
    """Hyperparameters of ``fasttext`` (version 3), trained as fastText trains.

    Word bigrams by default (``ngrams=2``: fastText's own recommendation for classification),
    hashed into 100,000 buckets with sparse gradients. Training defaults: plain SGD whose rate
    (per example, as fastText's ``-lr``) decays linearly to 0 over a fixed number of epochs,
    no early stopping — Adam with early stopping on a 10-15 % carve stopped after the first
    epoch and left the n-gram rows barely trained. The values come from the accuracy suite of
    ``benchmarks/classify.py`` (see ``benchmarks/RESULTS.md``).
    """

    # threads 1: a batch's work is too small to share, and with 2 threads and OpenMP's default
    # spin-waiting training slows down several-fold while another process is busy
    # (`python benchmarks/classify.py --suite threads`)
    training_defaults: ClassVar[dict[str, Any]] = {
        "optimizer": "sgd", "schedule": "linear", "lr": 0.2, "epochs": 10, "patience": 0,
        "threads": 1}

    ngrams: int = Field(
        default=2, ge=1, le=5, description="longest word n-gram hashed into buckets (1: words only)"
    )


#: ``wide_scale=None``: the scale is sqrt(mean number of features (words + n-grams) of a training
#: text / this). With L2-normalised texts a feature's value shrinks as 1/sqrt(length), so its
#: SGD step shrinks with the length of the texts; a scale growing as sqrt(length) keeps the step
#: of one feature the same on sentences and on abstracts. The constant, from 8, 12, 16, 24 and
#: 32 with three seeds each (benchmarks/RESULTS.md, "Long documents: the wide term's scale"):
#: on the eight single-label sets of the accuracy suite 12 gains 0.19 points over 8 on average
#: (`hp_parts` +0.96, SST-1 +0.45, Ohsumed −0.12) and 16 gains 0.23, but on GoEmotions
#: (multi-label) 16 loses 1.05 points of macro-F1 where 12 loses 0.16. A smaller scale is a
#: slower wide term: its rare words take smaller steps. With the default ``wide_ngrams=1`` the
#: features are the words.
WIDE_FEATURES_PER_UNIT = 12.0


class FastTextV4Params(FastTextParams):
    """Hyperparameters of ``fasttext`` (version 4): version 3's network and training, plus a
    wide term (``wide``, on by default).

    The wide term is a linear model on the same features as the vectors (words and hashed word
    n-grams), each weighted as TF-IDF + a linear SVM weight them (sublinear term frequency
    ``1 + log tf`` times the feature's idf on the training texts, the text's vector L2
    normalised), its logits added to the embedding path's. The mean of a few hundred vectors
    dilutes the rare, decisive words of a long text; this term keeps them (Ohsumed: see the
    long-documents section of ``benchmarks/RESULTS.md``).
    """

    wide: bool = Field(
        default=True, description="add a tf-idf weighted linear term on the words and n-grams "
        "(one weight per feature and class) to the logits"
    )
    wide_scale: float | None = Field(
        default=None, gt=0.0, le=1000.0, description="length of each text's tf-idf vector in the "
        "wide term (its SGD rate is the training rate times its square); None: from the "
        f"training texts, sqrt(mean features per text / {WIDE_FEATURES_PER_UNIT})"
    )
    wide_ngrams: int = Field(
        default=1, ge=1, le=5, description="longest word n-gram of the wide term's features (at "
        "most ngrams; 1: words only)"
    )


def _fasttext_init(weight: torch.Tensor) -> None:
    """fastText's input-matrix init, uniform(-1/dim, 1/dim), keeping the padding row 0 zero."""
    with torch.no_grad():
        bound = 1.0 / weight.size(1)
        weight.uniform_(-bound, bound)
        weight[0].zero_()


def _multilabel_loss_grad(logits: torch.Tensor, y: torch.Tensor,
                          pos_weight: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch's mean over rows of the per-label binary cross-entropy summed over labels (with
    ``pos_weight``), and its gradient with respect to the logits."""
    pw = torch.ones_like(logits[0]) if pos_weight is None else pos_weight
    loss = -(pw * y * F.logsigmoid(logits) + (1 - y) * F.logsigmoid(-logits)).sum(1).mean()
    d_logits = ((pw * y + 1 - y) * torch.sigmoid(logits) - pw * y) / logits.size(0)
    return loss, d_logits


def hash_ngrams(ids: torch.Tensor, n_max: int, buckets: int,
                multiplier: int = HASH_MULTIPLIER) -> torch.Tensor:
    """Bucket of every word n-gram (n = 2..n_max) starting at each position of ``ids``.

    Returns ``[batch, n_max - 1, time]`` with -1 where the n-gram would touch padding or run
    off the row. The hash is the polynomial ``h = (h * multiplier + id) mod buckets`` over the
    n-gram's token ids (``<UNK>`` included: it is a real token); ``h < buckets <= 2e7`` keeps
    ``h * multiplier`` inside int64.
    """
    batch, time = ids.shape
    real = padding_mask(ids)
    out = ids.new_full((batch, max(n_max - 1, 0), time), -1)
    hashed, valid = ids, real
    for n in range(2, n_max + 1):
        if time < n:
            break
        hashed = (hashed[:, :-1] * multiplier + ids[:, n - 1 :]) % buckets
        valid = valid[:, :-1] & real[:, n - 1 :]
        out[:, n - 2, : time - n + 1] = torch.where(valid, hashed, -1)
    return out


@register_model("fasttext", version=4)
class FastTextClassifier(ClassifierModule):
    """(Σ word vectors + Σ n-gram vectors) / (#words + #n-grams) → head (by default Linear),
    plus, with ``wide`` (version 4's default), ``Σ_f x_f W_f``: a weight row per word and
    n-gram bucket (``wide_table``, ``[vocab + buckets, classes]``, zero at start, trained with
    the rest) times the feature's tf-idf value ``x_f`` in the text (``(1 + log tf) · idf``, the
    text's values L2-normalised; idf from the training texts, :meth:`observe_training`, kept in
    the ``wide_idf`` buffer).

    Two sum-mode ``nn.EmbeddingBag`` tables: ``words`` comes from the ``EmbeddingSpec`` (the
    pretrained matrix, or random; frozen when the spec says so), ``ngram_vectors`` has ``buckets``
    rows (+1 unused padding row) and is always trained — freezing applies to the word rows only.
    Random rows are initialised as fastText initialises its input matrix, uniform ±1/dim (not
    with the spec's ``init_std``). With ``sparse`` (default when ngrams > 1) the tables give
    sparse gradients: train ``sparse_parameters()`` with ``torch.optim.SparseAdam`` and the rest
    with Adam. Padding and all-padding rows are ignored (an empty text gives the output of a
    zero text vector).

    Per-token path: with ``ngrams = N`` and ``ids [batch, T]``, :meth:`embed` returns
    ``[batch, N * T, dim]``: the ``T`` word vectors, then for ``n = 2 .. N`` a block of ``T``
    vectors of the n-grams of length ``n`` — position ``(n - 1) * T + t`` holds the vector of the
    n-gram of tokens ``t .. t + n - 1`` (zero where that n-gram runs into padding or off the
    row). :meth:`feature_spans` gives each position's token span ``[t, t + n)``;
    ``forward_embedded`` averages the vectors of the features that exist (real words and
    n-grams made only of real tokens, as ``hash_ngrams`` marks them), so an attribution to an
    n-gram position is the credit of that n-gram.

    With ``wide``, each position's vector is followed by its share of the wide term,
    ``x_f / tf · W_f`` (``[batch, N * T, dim + classes]``): ``forward_embedded`` adds the sum of
    these shares to the logits, so the model stays affine in what :meth:`embed` returns.

    Signals: ``ngram_ids`` ``[batch, ngrams - 1, time]`` (bucket of the n-gram of length
    ``n = 2 + axis-1 index`` starting at each token, -1 where there is none) and ``pooled``.
    """

    # typed as version 2's: versions 3 and 4 change defaults and add the optional wide term,
    # and the older classes reuse every method with their own Params
    Params: ClassVar[type[FastTextV2Params]] = FastTextV4Params
    params: FastTextV2Params
    #: the wide term (version 4): its table (an ``nn.EmbeddingBag``, so that DDP knows its
    #: gradients are sparse when ``sparse``), idf and scale (set by ``_build`` with ``wide``)
    wide_table: nn.EmbeddingBag
    wide_idf: torch.Tensor
    wide_scale: torch.Tensor
    #: multiplier of :func:`hash_ngrams` (version 2 keeps its own)
    hash_multiplier: ClassVar[int] = HASH_MULTIPLIER
    #: benchmarks/explain.py: exact, ig and occlusion rank identically; exact is the fastest
    auto_explanation = ("exact", "ig")

    def is_linear(self) -> bool:
        return not self.params.hidden

    def order_free(self) -> bool:
        return self.params.ngrams == 1

    def export_hashing(self) -> dict[str, Any] | None:
        """With n-grams, the hash the exported graph computes (a reimplementation must match)."""
        if self.params.ngrams < 2:
            return None
        return {"ngrams": self.params.ngrams, "buckets": self.params.buckets,
                "multiplier": self.hash_multiplier,
                "where": "in the graph: h = (h * multiplier + id) mod buckets over the n-gram's ids"}

    def _build(self, embedding: EmbeddingSpec) -> int:
        params = self.params
        self.sparse = params.ngrams > 1 if params.sparse is None else params.sparse
        self.words = embedding.build(self.vocab_size, bag_mode="sum", sparse=self.sparse)
        if embedding.matrix is None:
            _fasttext_init(self.words.weight)
        self.ngram_vectors: nn.EmbeddingBag | None = None
        if params.ngrams > 1:
            self.ngram_vectors = nn.EmbeddingBag(
                params.buckets + 1, embedding.dim, mode="sum", padding_idx=0, sparse=self.sparse
            )
            _fasttext_init(self.ngram_vectors.weight)
        self.dim = embedding.dim
        self.wide = bool(getattr(params, "wide", False))
        if self.wide:
            # features: word ids, then vocab_size + bucket for the n-grams
            self.wide_ngrams = min(params.ngrams, getattr(params, "wide_ngrams", params.ngrams))
            width = self.vocab_size + (params.buckets if self.wide_ngrams > 1 else 0)
            self.wide_table = nn.EmbeddingBag(width, self.num_classes, mode="sum",
                                              sparse=bool(self.sparse))
            nn.init.zeros_(self.wide_table.weight)
            self.register_buffer("wide_idf", torch.ones(width))
            # the wide_scale in use (set from the training texts when the params leave it None)
            self.register_buffer("wide_scale", torch.tensor(
                float(getattr(params, "wide_scale", None) or 1.0)))
        return embedding.dim

    # ------------------------------------------------------------------ the wide term

    def _wide_features(self, ids: torch.Tensor, buckets: torch.Tensor | None = None
                       ) -> torch.Tensor:
        """``[batch, ngrams * time]``: each position's wide feature (the layout of
        :meth:`embed`), -1 where there is none (padding, an n-gram running off the text);
        ``buckets``: the batch's :meth:`_buckets`, when already hashed."""
        words = torch.where(padding_mask(ids), ids, -1)
        if self.params.ngrams < 2:
            return words
        buckets = self._buckets(ids) if buckets is None else buckets
        grams = torch.where(buckets >= 0, buckets + self.vocab_size, -1)
        if self.wide_ngrams < self.params.ngrams:  # n-grams longer than wide_ngrams: no feature
            grams[:, self.wide_ngrams - 1 :] = -1
        return torch.cat([words, grams.flatten(1)], 1)

    def _wide_shares(self, features: torch.Tensor) -> torch.Tensor:
        """``[batch, positions]``: each position's share of its feature's tf-idf value in the
        text, ``(1 + log tf) · idf / tf / ‖x‖`` (0 where there is no feature), so that summing
        over positions gives ``Σ_f x_f`` with ``x`` the text's L2-normalised tf-idf vector."""
        present = features >= 0
        rows = torch.arange(features.size(0), device=features.device).unsqueeze(1)
        key = (rows * self.wide_idf.numel() + features)[present]  # padding left out of the sort
        _, inverse, counts = key.unique(return_inverse=True, return_counts=True)
        tf = torch.ones(features.shape, dtype=self.wide_weight.dtype, device=features.device)
        tf[present] = counts[inverse].to(tf.dtype)
        value = (1.0 + torch.log(tf)) * self.wide_idf[features.clamp_min(0)]
        norm = torch.where(present, value * value / tf, 0.0).sum(1, keepdim=True).sqrt()
        return torch.where(present, value * self.wide_scale / tf / norm.clamp_min(1e-12), 0.0)

    def _wide_logits(self, ids: torch.Tensor) -> torch.Tensor:
        features = self._wide_features(ids)
        return F.embedding_bag(features.clamp_min(0), self.wide_weight, mode="sum",
                               per_sample_weights=self._wide_shares(features),
                               sparse=bool(self.sparse))

    @torch.no_grad()
    def observe_training(self, batches: Iterable[torch.Tensor]) -> None:
        """Set the wide term's idf from the training texts' ids (called once before training):
        ``idf_f = log((1 + n) / (1 + df_f)) + 1``, scikit-learn's smoothed idf; and its scale,
        unless the params give one (see :data:`WIDE_FEATURES_PER_UNIT`)."""
        if not self.wide:
            return
        width = self.wide_idf.numel()
        df = torch.zeros(width, dtype=torch.float64)
        n = total = 0
        for ids in batches:
            features = self._wide_features(ids)
            present = features >= 0
            total += int(present.sum())
            rows = torch.arange(features.size(0)).unsqueeze(1)
            unique = (rows * width + features)[present].unique()  # padding left out of the sort
            df += torch.bincount(unique % width, minlength=width).to(torch.float64)
            n += ids.size(0)
        self.wide_idf.copy_((torch.log((1.0 + n) / (1.0 + df)) + 1.0).to(self.wide_idf.dtype))
        chosen = getattr(self.params, "wide_scale", None)
        self.wide_scale.fill_(chosen or (total / max(n, 1) / WIDE_FEATURES_PER_UNIT) ** 0.5)

    @property
    def wide_weight(self) -> torch.Tensor:
        """The wide term's weights ``[vocab (+ buckets), classes]``."""
        return self.wide_table.weight

    def sparse_parameters(self) -> list[nn.Parameter]:
        if not self.sparse:
            return []
        return self._trained_weights(self.words, self.ngram_vectors,
                                     self.wide_table if self.wide else None)

    def _buckets(self, ids: torch.Tensor) -> torch.Tensor:
        return hash_ngrams(ids, self.params.ngrams, self.params.buckets, self.hash_multiplier)

    def _run(self, ids: torch.Tensor, signals: Signals | None) -> torch.Tensor:
        if signals is not None:
            return super()._run(ids, signals)
        real = padding_mask(ids)
        total = packed_bag(self.words, ids, real)
        count = real.sum(1)
        if self.ngram_vectors is not None:
            buckets = self._buckets(ids)
            present = buckets >= 0
            # row 0 of the n-gram table is its (unused) padding row: buckets start at row 1
            total = total + packed_bag(self.ngram_vectors, buckets + 1, present)
            count = count + present.sum((1, 2))
        logits = self.head(total / count.clamp_min(1).unsqueeze(1).to(total.dtype))
        return logits + self._wide_logits(ids) if self.wide else logits

    def can_step_sgd(self) -> bool:
        """Whether :meth:`sgd_step` can train this model: sparse tables and a head that is one
        Linear layer without dropout (fastText's network)."""
        return bool(self.sparse) and not len(self.head.hidden) and self.params.dropout == 0.0

    @torch.no_grad()
    def sgd_step(self, ids: torch.Tensor, y: torch.Tensor, lr: float, weight_decay: float = 0.0,
                 class_weights: torch.Tensor | None = None, clip: float | None = None
                 ) -> tuple[float, int]:
        """One plain-SGD step on the batch's (class-weighted) mean cross-entropy (multi-label
        indicator rows ``y``: the trainer's per-label binary cross-entropy, ``class_weights``
        its positive weights), with the
        gradients written out instead of taken by autograd, as fastText computes them.

        The update is the one the trainer's generic step makes (forward, backward,
        ``clip_grad_norm_`` on the dense head, ``torch.optim.SGD`` with ``weight_decay`` on the
        head only): the head steps by ``lr`` on its clipped gradient; every word and n-gram row
        of a text receives ``-lr x`` the gradient of that text's vector divided by its number of
        features, added in place (``scatter_add_``) — no sparse gradient tensor is built and
        frozen word rows are left alone. Requires :meth:`can_step_sgd`. Returns the batch's
        summed loss and its number of correct predictions, as ``Trainer.train_step`` does.
        """
        return self._sgd_update(self._packed_features(self._check_ids(ids)), y, lr,
                                weight_decay, class_weights, clip)

    @torch.no_grad()
    def sgd_prepare(self, batches: Iterable[torch.Tensor]) -> Bags:
        """Every row's features (``batches``: all the training rows' ids, in row order),
        packed once before the epochs, after :meth:`observe_training`: the words, the n-gram
        buckets and the wide term's tf-idf shares do not change while the model trains, so
        :meth:`sgd_step_bags` takes a batch's instead of hashing and counting them again."""
        return Bags.join([self._packed_features(self._check_ids(ids)).compact()
                          for ids in batches])

    @torch.no_grad()
    def sgd_step_bags(self, bags: Bags, y: torch.Tensor, lr: float, weight_decay: float = 0.0,
                      class_weights: torch.Tensor | None = None, clip: float | None = None
                      ) -> tuple[float, int]:
        """:meth:`sgd_step` on a batch of the features :meth:`sgd_prepare` packed (cut by
        :meth:`Bags.take` and :meth:`Bags.batches`)."""
        return self._sgd_update(bags, y, lr, weight_decay, class_weights, clip)

    def _packed_features(self, ids: torch.Tensor) -> Bags:
        """The batch's features without padding: word rows, n-gram rows (+1: row 0 of the
        n-gram table is its padding row) and the wide term's features with their shares."""
        batch = ids.size(0)
        real = padding_mask(ids)
        bags = [Bag(ids[real], real.sum(1))]
        buckets = self._buckets(ids) if self.params.ngrams > 1 else None
        if self.ngram_vectors is not None and buckets is not None:
            present = (buckets >= 0).reshape(batch, -1)
            bags.append(Bag((buckets + 1).reshape(batch, -1)[present], present.sum(1)))
        wide = None
        if self.wide:
            features = self._wide_features(ids, buckets)
            shares = self._wide_shares(features)
            present = features >= 0
            if self.wide_ngrams == 1:  # its features are the words, in the same order
                wide = Bag(bags[0].flat, bags[0].lengths, shares[present])
            else:
                wide = Bag(features[present], present.sum(1), shares[present])
        return Bags(bags, wide)

    @torch.no_grad()
    def logits_of_bags(self, bags: Bags) -> torch.Tensor:
        """The logits :meth:`forward` gives the rows packed in ``bags`` (by :meth:`sgd_prepare`,
        cut by :meth:`Bags.take` and :meth:`Bags.batches`): the trainer scores its validation
        rows from such a packing, made once per fit, instead of hashing and counting them at
        every epoch."""
        return self._bags_forward(bags)[0]

    def _tables(self) -> list[torch.Tensor]:
        return [self.words.weight] + ([self.ngram_vectors.weight]
                                      if self.ngram_vectors is not None else [])

    def _bags_forward(self, bags: Bags) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(logits, pooled text vectors, 1 / features per text) of packed rows."""
        total = count = None
        for weight, bag in zip(self._tables(), bags.deep, strict=True):
            summed = F.embedding_bag(bag.flat, weight, bag.offsets(), mode="sum")
            total = summed if total is None else total + summed
            count = bag.lengths if count is None else count + bag.lengths
        assert total is not None and count is not None
        inverse = 1.0 / count.clamp_min(1).to(total.dtype)
        pooled = total * inverse.unsqueeze(1)
        out = self.head.output
        logits = F.linear(pooled, out.weight, out.bias)
        wide = bags.wide
        if wide is not None:
            logits = logits + F.embedding_bag(wide.flat, self.wide_weight, wide.offsets(),
                                              mode="sum", per_sample_weights=wide.shares)
        return logits, pooled, inverse

    def _sgd_update(self, bags: Bags, y: torch.Tensor, lr: float, weight_decay: float,
                    class_weights: torch.Tensor | None, clip: float | None
                    ) -> tuple[float, int]:
        tables = self._tables()
        batch = y.size(0)
        logits, pooled, inverse = self._bags_forward(bags)
        out = self.head.output
        wide = bags.wide
        if y.dim() == 2:  # multi-label: Trainer's batch_loss (BCE, pos_weight, summed per row)
            loss, d_logits = _multilabel_loss_grad(logits, y, class_weights)
        else:
            log_p = F.log_softmax(logits, 1)
            w = (torch.ones(batch, dtype=log_p.dtype, device=y.device) if class_weights is None
                 else class_weights[y])
            scale = w / w.sum()
            loss = -(log_p.gather(1, y.unsqueeze(1)).squeeze(1) * scale).sum()
            d_logits = log_p.exp()
            d_logits[torch.arange(batch, device=y.device), y] -= 1.0
            d_logits *= scale.unsqueeze(1)
        d_pooled = d_logits @ out.weight  # with the head's weights before this step
        d_weight, d_bias = d_logits.t() @ pooled, d_logits.sum(0)
        if clip:
            norm = torch.sqrt(d_weight.square().sum() + d_bias.square().sum())
            coef = torch.clamp(clip / (norm + 1e-6), max=1.0)
            d_weight, d_bias = d_weight * coef, d_bias * coef
        if weight_decay:
            d_weight, d_bias = d_weight + weight_decay * out.weight, d_bias + weight_decay * out.bias
        out.weight.sub_(lr * d_weight)
        out.bias.sub_(lr * d_bias)
        step = d_pooled * (-lr * inverse).unsqueeze(1)
        for weight, bag in zip(tables, bags.deep, strict=True):
            if weight.requires_grad:  # scatter_add_: faster than index_add_ (benchmarks/sgd_step.py)
                weight.scatter_add_(0, bag.flat.unsqueeze(1).expand(-1, weight.size(1)),
                                    step.index_select(0, bag.owner()))
        if wide is not None:  # row f of the text: -lr x its share x the gradient of the logits
            assert wide.shares is not None
            rows_of = d_logits.index_select(0, wide.owner())
            self.wide_weight.scatter_add_(
                0, wide.flat.unsqueeze(1).expand(-1, self.num_classes),
                rows_of * (-lr * wide.shares).unsqueeze(1))
        if y.dim() == 2:
            correct = int(((logits > 0) == (y > 0.5)).all(1).sum())
        else:
            correct = int((logits.argmax(1) == y).sum())
        return float(loss) * batch, correct

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        words = F.embedding(ids, self.words.weight)
        if self.ngram_vectors is not None:
            # -1 (no n-gram) + 1 = row 0, the zero padding row
            ngrams = F.embedding(self._buckets(ids) + 1, self.ngram_vectors.weight)
            words = torch.cat([words, ngrams.flatten(1, 2)], 1)
        if not self.wide:
            return words
        features = self._wide_features(ids)
        shares = self._wide_shares(features).unsqueeze(-1)
        return torch.cat([words, F.embedding(features.clamp_min(0), self.wide_weight) * shares], -1)

    def feature_spans(self, ids: torch.Tensor) -> torch.Tensor:
        time = ids.size(1)
        start = torch.arange(time, device=ids.device).repeat(self.params.ngrams)
        length = torch.arange(1, self.params.ngrams + 1, device=ids.device).repeat_interleave(time)
        return torch.stack([start, start + length], 1)

    def _from_vectors(
        self, vectors: torch.Tensor, ids: torch.Tensor, signals: Signals | None
    ) -> torch.Tensor:
        present = padding_mask(ids)
        buckets = self._buckets(ids)
        if self.ngram_vectors is not None:
            present = torch.cat([present, (buckets >= 0).flatten(1)], 1)
        weights = present.unsqueeze(-1).to(vectors.dtype)
        deep = vectors[..., : self.dim]
        pooled = (deep * weights).sum(1) / weights.sum(1).clamp_min(1.0)
        if signals is not None:
            signals["ngram_ids"] = buckets
            signals["pooled"] = pooled
        logits = self.head(pooled)
        if self.wide:
            logits = logits + (vectors[..., self.dim :] * weights).sum(1)
        return logits


@register_model("fasttext", version=3)
class FastTextClassifierV3(FastTextClassifier):
    """Version 3: version 4 without the wide term (runs saved with it load as they were)."""

    Params = FastTextParams
    params: FastTextV2Params


@register_model("fasttext", version=2)
class FastTextClassifierV2(FastTextClassifier):
    """Version 2: the same network with the old n-gram hash multiplier (1_000_003), unigrams and
    Adam with early stopping by default, kept so runs trained with it load and predict exactly
    as they did."""

    Params = FastTextV2Params
    params: FastTextV2Params
    hash_multiplier: ClassVar[int] = V2_HASH_MULTIPLIER
