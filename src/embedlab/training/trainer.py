"""The training loop: Adam (+ SparseAdam for sparse embeddings), ReduceLROnPlateau on the
validation loss, early stopping that restores the best weights, class-weighted loss, gradient
clipping, per-epoch history and an ``on_epoch_end`` hook — or, with ``optimizer="sgd"`` and
``schedule="linear"``, fastText's recipe: SGD whose rate decays linearly to 0 over a fixed
number of epochs.

Each step is a method that can be called and tested alone: :meth:`Trainer.build_optimizers`,
:meth:`Trainer.build_schedulers`, :meth:`Trainer.train_step` (one batch),
:meth:`Trainer.train_epoch`, :meth:`Trainer.evaluate`; :meth:`Trainer.fit` strings them together.

Distributed data parallel: when ``torch.distributed`` is initialised (``embedlab.training.run``
joins the group ``torchrun`` describes, see :mod:`embedlab.training.distributed`), the model
is wrapped in DDP and every rank trains on its equal shard of each shuffled epoch
(:mod:`embedlab.training.loader`), so no collective waits forever. Validation is split between
the ranks and its sums all-reduced, so every rank sees the same validation loss and takes the
same early-stopping, scheduler and callback decisions; only rank 0 logs.
"""

from __future__ import annotations

import logging
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, cast

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn import functional as F

from embedlab.config import TrainConfig
from embedlab.config.defaults import unresolved
from embedlab.errors import TrainingError
from embedlab.inference.encoding import INFERENCE_BATCH
from embedlab.inference.forward import EncodedTexts
from embedlab.models.classifier import refuse_non_finite
from embedlab.models.masking import Bags
from embedlab.training.device import resolve_device
from embedlab.training.distributed import world
from embedlab.training.early_stopping import EarlyStopping
from embedlab.training.loader import labels_of, shard_batches
from embedlab.training.progress import TrainingProgress, legend

log = logging.getLogger("embedlab")

#: ``on_epoch_end(row)``: called after every epoch with that epoch's history row (the keys of
#: :meth:`Trainer.fit`'s rows); returning ``True`` stops training after this epoch (the best
#: weights are still restored). Under DDP it runs on rank 0 only and its answer is broadcast.
EpochCallback = Callable[[dict[str, Any]], bool | None]


#: the most training tokens whose features the SGD stepper packs (``sgd_prepare``: 12 bytes a
#: token with the default bigrams, a peak of about 28 while it is made, measured on 3 and 12
#: million tokens); larger training sets step on padded batches, as before the packing
PACKED_TOKENS = 20_000_000
#: batches whose packed features are gathered at once (the memory of one such gather)
PACKED_GROUP = 256
#: validation rows scored at once from their packing (logits of this many rows at a time)
PACKED_EVAL_ROWS = 4096


class SgdStepper(Protocol):
    """A model that makes plain SGD's update itself with written-out gradients (the fasttext
    model): :meth:`Trainer.train_step` hands it the batch when it says it can."""

    def can_step_sgd(self) -> bool: ...

    def sgd_step(self, ids: torch.Tensor, y: torch.Tensor, lr: float, weight_decay: float = 0.0,
                 class_weights: torch.Tensor | None = None, clip: float | None = None
                 ) -> tuple[float, int]: ...

    def sgd_prepare(self, batches: Iterable[torch.Tensor]) -> Bags: ...

    def sgd_step_bags(self, bags: Bags, y: torch.Tensor, lr: float, weight_decay: float = 0.0,
                      class_weights: torch.Tensor | None = None, clip: float | None = None
                      ) -> tuple[float, int]: ...

    def logits_of_bags(self, bags: Bags) -> torch.Tensor: ...


def batch_loss(logits: torch.Tensor, y: torch.Tensor, weights: torch.Tensor | None,
               reduction: str = "mean") -> torch.Tensor:
    """The one loss switch: single-label (``y`` class indices) is (class-weighted)
    cross-entropy; multi-label (``y`` indicator rows ``[N, C]``) is one sigmoid per label, binary
    cross-entropy with per-label positive weights (``weights``), summed over the labels (as
    fastText's ``-loss ova``) and averaged (or summed) over the rows."""
    if y.dim() == 2:
        per_row = F.binary_cross_entropy_with_logits(logits, y, pos_weight=weights,
                                                     reduction="none").sum(1)
        return per_row.mean() if reduction == "mean" else per_row.sum()
    return F.cross_entropy(logits, y, weight=weights, reduction=reduction)


def batch_correct(logits: torch.Tensor, y: torch.Tensor) -> int:
    """Rows predicted right: the argmax class, or (multi-label) every label at logit 0
    (probability 0.5; the tuned thresholds come after training)."""
    if y.dim() == 2:
        return int(((logits > 0) == (y > 0.5)).all(1).sum())
    return int((logits.argmax(1) == y).sum())


def _stop_non_finite(where: str, loss: float) -> None:
    raise TrainingError(
        f"training stopped at {where}: the loss is not finite ({loss}); nothing was saved. "
        "Lower training.lr, or look for nan / inf values in the data or the vectors")


class Trainer:
    """Fit a model on encoded texts; see the module docstring.

    ``config`` is a resolved training config: the model's defaults already applied
    (:func:`embedlab.config.resolve_config` for a run, :func:`embedlab.config.resolve_training`
    for a model alone); one with ``epochs``, ``optimizer``, ``schedule``, ``lr`` or ``patience``
    unset is refused. The model trains on ``config.device`` and is moved back to the CPU when
    :meth:`fit` ends.
    """

    def __init__(self, model: nn.Module, config: TrainConfig,
                 class_weights: np.ndarray | None = None, *,
                 on_epoch_end: EpochCallback | None = None) -> None:
        missing = unresolved(config)
        if missing:
            raise ValueError(f"Trainer needs a resolved training config; unset: {', '.join(missing)} "
                             "(resolve it with embedlab.config.resolve_config or resolve_training)")
        assert config.epochs is not None and config.lr is not None and config.patience is not None
        self.config = config
        # the resolved settings typed as set (unresolved() above checked them)
        self._epochs: int = config.epochs
        self._lr: float = config.lr
        self._patience: int = config.patience
        self.device = resolve_device(self.config.device)
        self.model = model.to(self.device)
        self.rank, self.world = world()
        self.weights = (None if class_weights is None else
                        torch.as_tensor(class_weights, dtype=torch.float32, device=self.device))
        self.on_epoch_end = on_epoch_end
        self.history: list[dict[str, Any]] = []
        self.best_epoch: int | None = None
        self._parallel: nn.Module = self.model
        self._progress: TrainingProgress | None = None
        # the SGD stepper's packings of this fit, by role ("train", "validation"): see _pack
        self._packings: dict[str, tuple[EncodedTexts, Bags]] = {}
        self._validation: EncodedTexts | None = None  # the rows fit() validates on

    def _log(self, msg: str) -> None:
        if self.rank == 0:
            log.info(msg)

    def _all_reduce(self, values: list[float]) -> list[float]:
        stats = torch.tensor(values, dtype=torch.float64, device=self.device)  # nccl: on the GPU
        if self.world > 1:
            dist.all_reduce(stats)
        return stats.tolist()

    # ----- the steps ---------------------------------------------------------------------
    def build_optimizers(self) -> list[torch.optim.Optimizer]:
        """``optimizer="adam"``: Adam (fused) with ``weight_decay`` for dense parameters,
        SparseAdam (no weight decay: it has none) for the model's ``sparse_parameters()``.
        ``optimizer="sgd"``: plain SGD for both (sparse gradients supported; weight decay on the
        dense ones only), stepping ``lr x batch_size`` on the batch's mean loss so ``lr`` is
        per example, as fastText's ``-lr``."""
        sparse_ids = {id(p) for p in getattr(self.model, "sparse_parameters", list)()}
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        dense = [p for p in trainable if id(p) not in sparse_ids]
        sparse = [p for p in trainable if id(p) in sparse_ids]
        lr = self._lr
        optimizers: list[torch.optim.Optimizer] = []
        if self.config.optimizer == "sgd":
            # one optimizer, two groups: one step and one schedule per batch instead of two
            groups = [g for g in ({"params": dense, "weight_decay": self.config.weight_decay},
                                  {"params": sparse, "weight_decay": 0.0}) if g["params"]]
            return [torch.optim.SGD(groups, lr=lr * self.config.batch_size)] if groups else []
        if dense:
            optimizers.append(torch.optim.Adam(dense, lr=lr, weight_decay=self.config.weight_decay,
                                               fused=True))
        if sparse:
            optimizers.append(torch.optim.SparseAdam(sparse, lr=lr))
        return optimizers

    def build_schedulers(self, optimizers: list[torch.optim.Optimizer],
                         total_steps: int = 1) -> list[Any]:
        """``schedule="plateau"``: one ReduceLROnPlateau per optimizer, stepped on the validation
        loss after each epoch. ``schedule="linear"``: one LambdaLR per optimizer, stepped after
        every batch, whose rate falls linearly from ``lr`` to 0 over ``total_steps`` batches
        (:meth:`total_steps`)."""
        if self.config.schedule == "linear":
            total = max(1, total_steps)
            return [torch.optim.lr_scheduler.LambdaLR(
                o, lambda step: max(0.0, 1.0 - step / total)) for o in optimizers]
        return [torch.optim.lr_scheduler.ReduceLROnPlateau(
            o, mode="min", factor=self.config.lr_factor, patience=self.config.lr_patience)
            for o in optimizers]

    def total_steps(self, n_train: int) -> int:
        """Batches of the whole run on this rank: ``epochs x ceil(shard rows / batch_size)``."""
        rows = math.ceil(n_train / self.world)
        return max(1, self._epochs * math.ceil(rows / self.config.batch_size))

    def _sgd_stepper(self, optimizers: list[torch.optim.Optimizer]) -> SgdStepper | None:
        """The model, when this step goes through its own ``sgd_step`` (the fasttext model's
        written-out gradients): plain SGD, one process, a model that says it can."""
        can = getattr(self.model, "can_step_sgd", None)  # per batch: cheaper than isinstance
        if (self.config.optimizer == "sgd" and self.world == 1 and len(optimizers) == 1
                and can is not None and can()):
            return cast(SgdStepper, self.model)
        return None

    def train_step(self, ids: torch.Tensor | None, y: torch.Tensor,
                   optimizers: list[torch.optim.Optimizer],
                   bags: Bags | None = None) -> tuple[float, int]:
        """One batch: forward, (class-weighted) cross-entropy, backward, clip the dense
        gradients to ``clip_grad_norm``, step. Returns the batch's summed loss and its number of
        correct predictions; the gradients stay on the parameters until the next step.

        With plain SGD in one process, a model with ``sgd_step`` (the fasttext model) makes the
        same update itself with written-out gradients, 1.7-1.9x faster per step
        (`python benchmarks/sgd_step.py`); it leaves no gradients on the parameters. ``bags``
        (the batch's features, cut from its :meth:`SgdStepper.sgd_prepare` packing) spare it
        computing them from ``ids`` (then None)."""
        y = y.to(self.device)
        stepper = self._sgd_stepper(optimizers)
        if stepper is not None:
            group = optimizers[0].param_groups[0]
            args = (group["lr"], self.config.weight_decay, self.weights, self.config.clip_grad_norm)
            if bags is not None:
                return stepper.sgd_step_bags(bags, y, *args)
            if ids is not None:
                return stepper.sgd_step(ids.to(self.device), y, *args)
        if ids is None:
            raise ValueError("train_step needs the batch's ids unless the model's own SGD step "
                             "takes packed rows")
        ids = ids.to(self.device)
        logits = self._parallel(ids)
        loss = batch_loss(logits, y, self.weights)
        for o in optimizers:
            o.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.clip_grad_norm:
            dense = [p for p in self.model.parameters()
                     if p.grad is not None and not p.grad.is_sparse]
            if dense:
                nn.utils.clip_grad_norm_(dense, self.config.clip_grad_norm)
        for o in optimizers:
            o.step()
        return loss.item() * len(y), batch_correct(logits, y)

    def _packed(self, train: EncodedTexts, optimizers: list[torch.optim.Optimizer],
                batches: list[torch.Tensor]) -> Iterator[Bags] | None:
        """The epoch's batches of features, cut from the SGD stepper's packing of the training
        rows, or None when the step is autograd's, the model packs nothing, or the training
        texts hold more than :data:`PACKED_TOKENS` tokens (the steps then take padded batches,
        whose memory does not grow with the data).

        The packing is made on the first epoch of ``train`` (:meth:`_pack`)."""
        stepper = self._sgd_stepper(optimizers)
        prepare = getattr(stepper, "sgd_prepare", None)
        packing = None if prepare is None else self._pack("train", train, prepare)
        if packing is None:
            return None

        def cut() -> Iterator[Bags]:  # PACKED_GROUP batches gathered at once: bounded memory
            for at in range(0, len(batches), PACKED_GROUP):
                group = batches[at:at + PACKED_GROUP]
                rows = torch.cat(group).to(self.device)
                yield from packing.take(rows).batches([len(b) for b in group])

        return cut()

    def _packed_rows(self, data: EncodedTexts) -> Bags | None:
        """A packing of ``data`` by the model that packed the training rows of this fit
        (:meth:`_pack`) when ``data`` is the fit's validation split; None outside a packed fit
        (one process, the model's own SGD step: see :meth:`_sgd_stepper`) and for other rows
        (e.g. an ``on_epoch_end`` callback evaluating a third split: packing it would evict
        the validation packing, to be made again at the next epoch)."""
        if "train" not in self._packings or data is not self._validation:
            return None
        return self._pack("validation", data, cast(SgdStepper, self.model).sgd_prepare)

    def _pack(self, role: str, data: EncodedTexts,
              prepare: Callable[[Iterable[torch.Tensor]], Bags]) -> Bags | None:
        """``prepare``'s packing of ``data``'s rows (1,024 at a time), kept for that object
        under ``role`` until :meth:`fit` returns: the features (and the wide term's shares, from
        the training texts' statistics, ``observe_training``) do not change while the model
        trains. None above :data:`PACKED_TOKENS` tokens (the caller then pads batches)."""
        if int(data.lengths.sum()) > PACKED_TOKENS:
            return None
        held = self._packings.get(role)
        if held is None or held[0] is not data:
            rows = (data.batch(index).to(self.device) for index in data.batches(1024))
            held = self._packings[role] = (data, prepare(rows))
        return held[1]

    def train_epoch(self, train: EncodedTexts, epoch: int, optimizers: list[torch.optim.Optimizer],
                    generator: torch.Generator, step_schedulers: list[Any] | None = None
                    ) -> dict[str, Any]:
        """One pass over this rank's shard; returns the epoch's history row (train part).

        ``train_loss`` and ``train_acc`` average the loss and accuracy of the epoch's batches
        (over all ranks) as the weights moved through the epoch.
        """
        cfg = self.config
        self._parallel.train()
        batches = shard_batches(len(train), cfg.batch_size, generator, self.rank, self.world)
        packed = self._packed(train, optimizers, batches)  # made once: not the epoch's time
        start = time.perf_counter()
        labels = labels_of(train)
        bar = self._progress
        if bar is not None:
            bar.start_epoch(epoch, self._epochs, len(batches))
        loss_sum = correct = seen = 0.0
        lr = optimizers[0].param_groups[0]["lr"] if optimizers else self._lr
        scale = cfg.batch_size if cfg.optimizer == "sgd" else 1
        with warnings.catch_warnings():
            if self._sgd_stepper(optimizers) is not None:
                # the model's own sgd_step never calls optimizer.step(), which torch's schedulers
                # take for a wrong call order; the schedule is the same either way (tested)
                warnings.filterwarnings("ignore", "Detected call of `lr_scheduler")
            for step, index in enumerate(batches):
                y = labels.index_select(0, index)
                batch_loss, batch_correct = self.train_step(
                    None if packed is not None else train.batch(index), y, optimizers,
                    None if packed is None else next(packed))
                if self.world == 1 and not math.isfinite(batch_loss):  # ranks: after the epoch
                    _stop_non_finite(f"epoch {epoch}, batch {step + 1}", batch_loss)
                loss_sum, correct = loss_sum + batch_loss, correct + batch_correct
                seen += len(index)
                for scheduler in step_schedulers or []:
                    scheduler.step()
                if bar is not None:
                    bar.step(loss_sum / seen, correct / seen)
        loss_sum, correct, seen = self._all_reduce([loss_sum, correct, seen])
        if not math.isfinite(loss_sum):  # the same sum on every rank: all stop together
            _stop_non_finite(f"epoch {epoch}", loss_sum)
        seconds = time.perf_counter() - start
        return {
            "epoch": epoch,
            "train_loss": loss_sum / max(seen, 1),
            "train_acc": correct / max(seen, 1),
            "lr": lr / scale,
            "seconds": seconds,
            "samples_per_s": seen / max(seconds, 1e-9),
        }

    @torch.no_grad()
    def evaluate(self, data: EncodedTexts, batch_size: int = INFERENCE_BATCH) -> tuple[float, float]:
        """(Class-weighted) mean cross-entropy and accuracy on ``data``; under DDP each rank
        scores its share of the rows and the sums are all-reduced."""
        was_training = self.model.training
        self.model.eval()
        loss_sum = denom = correct = count = 0.0
        labels = labels_of(data)
        for index, logits in self._scored(data, batch_size):
            y = labels.index_select(0, index).to(self.device)
            loss_sum += float(batch_loss(logits, y, self.weights, reduction="sum"))
            single_weighted = self.weights is not None and y.dim() == 1
            denom += float(self.weights[y].sum()) if single_weighted else len(y)  # type: ignore[index]
            correct += batch_correct(logits, y)
            count += len(y)
        self.model.train(was_training)
        loss_sum, denom, correct, count = self._all_reduce([loss_sum, denom, correct, count])
        return loss_sum / max(denom, 1e-12), correct / max(count, 1)

    def _scored(self, data: EncodedTexts, batch_size: int
                ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(row index, logits) of this rank's rows of ``data``, a batch at a time: in a packed
        fit from the validation packing (:meth:`_packed_rows`), :data:`PACKED_EVAL_ROWS`
        consecutive rows at a time (no padding, so no need to group by length); otherwise
        ``batch_size`` rows of similar length, padded, through the model."""
        packing = self._packed_rows(data)
        if packing is None:
            for index in data.batches(batch_size, by_length=True, shard=(self.rank, self.world)):
                yield index, self.model(data.batch(index).to(self.device))
            return
        stepper = cast(SgdStepper, self.model)
        n = len(data)
        starts = range(0, n, PACKED_EVAL_ROWS)
        sizes = [min(PACKED_EVAL_ROWS, n - at) for at in starts]
        for at, size, bags in zip(starts, sizes, packing.batches(sizes), strict=True):
            yield torch.arange(at, at + size), stepper.logits_of_bags(bags)

    def _callback_stops(self, row: dict[str, Any]) -> bool:
        stop = bool(self.on_epoch_end(row)) if self.on_epoch_end and self.rank == 0 else False
        if self.world > 1:
            flag = torch.tensor([int(stop)], device=self.device)
            dist.broadcast(flag, src=0)
            stop = bool(flag.item())
        return stop

    # ----- the loop ----------------------------------------------------------------------
    def fit(self, train: EncodedTexts, val: EncodedTexts | None = None) -> list[dict[str, Any]]:
        """Train for up to ``epochs`` epochs; return the history, one row per epoch.

        A row holds ``epoch``, ``train_loss``, ``train_acc``, ``lr`` (the learning rate the
        epoch ran with), ``seconds``, ``samples_per_s`` and, with ``val``, ``val_loss``,
        ``val_acc`` and ``best``. With ``val`` and ``schedule="plateau"`` the learning rate drops
        on a validation-loss plateau, training stops after ``patience`` epochs without
        improvement (0: never) and the best epoch's weights are restored; with
        ``schedule="linear"`` all ``epochs`` run, validation is only recorded and the last
        weights are kept (``best`` marks the last epoch).
        """
        cfg = self.config
        if len(train) == 0:
            raise ValueError("no training rows")
        self._parallel = (nn.parallel.DistributedDataParallel(self.model) if self.world > 1
                          else self.model)
        optimizers = self.build_optimizers()
        schedulers = self.build_schedulers(optimizers, self.total_steps(len(train)))
        linear = cfg.schedule == "linear"
        stopper = EarlyStopping(self._patience)
        generator = torch.Generator().manual_seed(cfg.seed)
        validate = self._validation = val if val is not None and len(val) > 0 else None
        if cfg.progress and self.rank == 0 and sys.stderr.isatty():
            self._progress = TrainingProgress(self._epochs)
        try:
            for epoch in range(1, self._epochs + 1):
                row = self.train_epoch(train, epoch, optimizers, generator,
                                       schedulers if linear else None)
                if validate is not None:
                    row["val_loss"], row["val_acc"] = self.evaluate(validate)
                    if not math.isfinite(row["val_loss"]):
                        _stop_non_finite(f"epoch {epoch} (validation)", row["val_loss"])
                    if linear:  # fixed epochs: the last weights are the result
                        row["best"] = epoch == self._epochs
                    else:
                        row["best"] = stopper.step(row["val_loss"], epoch, self.model)
                        for scheduler in schedulers:
                            scheduler.step(row["val_loss"])
                self.history.append(row)
                if self._progress is not None:
                    self._progress.end_epoch(row)
                self._log_epoch(row)
                if self._callback_stops(row):
                    self._log(f"stopped by on_epoch_end after epoch {epoch}")
                    break
                if validate is not None and stopper.should_stop:
                    self._log(f"early stopping: no val-loss improvement for {self._patience} epochs")
                    break
            if self._progress is not None:
                self._progress.close()
            if stopper.best_state is not None:
                stopper.restore(self.model)
                self.best_epoch = stopper.best_epoch
                self._log(f"restored best weights from epoch {stopper.best_epoch} "
                          f"(val loss {stopper.best_loss:.4f})")
            else:
                self.best_epoch = len(self.history)
            refuse_non_finite(self.model.state_dict())  # fit never returns nan weights
        finally:
            if self._progress is not None:
                self._progress.close()
                self._progress = None
            self._packings.clear()
            self._validation = None
            self._parallel = self.model
            self.model.to("cpu").eval()
        return self.history

    def _log_epoch(self, row: dict[str, Any]) -> None:
        """The epoch's line; before the first one with validation, what its ``*`` means."""
        lines = []
        if "val_loss" in row and row["epoch"] == 1:
            lines.append(legend(self.config.schedule))
        msg = f"epoch {row['epoch']}: train loss {row['train_loss']:.4f} acc {row['train_acc']:.3f}"
        if "val_loss" in row:
            star = " *" if row["best"] else ""
            msg += f" | val loss {row['val_loss']:.4f} acc {row['val_acc']:.3f}{star}"
        lines.append(msg + f" | {row['seconds']:.1f}s")
        for line in lines:
            if self._progress is not None:
                with self._progress.write():
                    self._log(line)
            else:
                self._log(line)
