"""The training loop: Adam (+ SparseAdam for sparse embeddings), ReduceLROnPlateau, early stopping
that restores the best weights, class-weighted loss, gradient clipping, per-epoch history.

The loop is written to run unchanged under ``torchrun``: when ``torch.distributed`` is
initialised the model is wrapped in DDP, each rank takes its shard of every shuffled epoch,
validation losses are all-reduced and only rank 0 logs.
"""

from __future__ import annotations

import logging
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn import functional as F

from embedlab.config import TrainConfig
from embedlab.training.batching import EncodedTexts
from embedlab.training.early_stopping import EarlyStopping

log = logging.getLogger("embedlab")


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _split_params(model: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    sparse_ids = {id(p) for p in getattr(model, "sparse_parameters", list)()}
    dense = [p for p in model.parameters() if p.requires_grad and id(p) not in sparse_ids]
    sparse = [p for p in model.parameters() if p.requires_grad and id(p) in sparse_ids]
    return dense, sparse


@torch.no_grad()
def predict_logits(model: nn.Module, data: EncodedTexts, batch_size: int = 1024) -> torch.Tensor:
    """Logits for every row, computed in length-sorted batches and returned in input order."""
    model.eval()
    out = torch.empty(len(data), 0)
    parts, order = [], []
    for index in data.batches(batch_size, by_length=True):
        parts.append(model(data.batch(index)))
        order.append(index)
    if not parts:
        return out
    logits = torch.cat(parts)
    result = torch.empty_like(logits)
    result[torch.cat(order)] = logits
    return result


class Trainer:
    """Fit a model on encoded texts; see the module docstring."""

    def __init__(self, model: nn.Module, config: TrainConfig, class_weights: np.ndarray | None = None) -> None:
        self.config = config
        self.model = model
        self.rank, self.world = _world()
        self.weights = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)
        self.history: list[dict] = []
        self.best_epoch: int | None = None

    def _log(self, msg: str) -> None:
        if self.rank == 0:
            log.info(msg)

    def _evaluate(self, model: nn.Module, data: EncodedTexts) -> tuple[float, float]:
        logits = predict_logits(model, data, batch_size=max(self.config.batch_size, 512))
        loss_sum = F.cross_entropy(logits, data.y, weight=self.weights, reduction="sum")
        if self.weights is not None:
            denom = self.weights[data.y].sum()
        else:
            denom = torch.tensor(float(len(data)))
        correct = (logits.argmax(1) == data.y).sum().float()
        stats = torch.stack([loss_sum, denom, correct, torch.tensor(float(len(data)))])
        if self.world > 1:
            dist.all_reduce(stats)
        return float(stats[0] / stats[1]), float(stats[2] / stats[3])

    def fit(self, train: EncodedTexts, val: EncodedTexts | None = None) -> list[dict]:
        """Train; returns the per-epoch history. With ``val``, the best epoch's weights are restored."""
        cfg = self.config
        model = self.model
        if self.world > 1:
            model = nn.parallel.DistributedDataParallel(model)
        dense, sparse = _split_params(self.model)
        lr = cfg.lr if cfg.lr is not None else 1e-3
        optimizers: list[torch.optim.Optimizer] = []
        if dense:
            # fused Adam: measured 1.7x (cnn) to 4x (bag) more training samples/s on CPU
            optimizers.append(torch.optim.Adam(dense, lr=lr, weight_decay=cfg.weight_decay, fused=True))
        if sparse:
            optimizers.append(torch.optim.SparseAdam(sparse, lr=lr))
        schedulers = [
            torch.optim.lr_scheduler.ReduceLROnPlateau(o, mode="min", factor=cfg.lr_factor, patience=cfg.lr_patience)
            for o in optimizers
        ]
        patience = cfg.patience if cfg.patience is not None else 3
        stopper = EarlyStopping(patience)
        gen = torch.Generator().manual_seed(cfg.seed)
        show = cfg.progress and self.rank == 0 and sys.stderr.isatty()
        for epoch in range(1, cfg.epochs + 1):
            model.train()
            t0 = time.perf_counter()
            total_loss = total_correct = seen = 0.0
            batches = list(train.batches(cfg.batch_size, shuffle=True, generator=gen, shard=(self.rank, self.world)))
            bar = None
            if show:
                from tqdm import tqdm

                bar = tqdm(total=len(batches), desc=f"epoch {epoch}/{cfg.epochs}", leave=False, unit="batch")
            for step, index in enumerate(batches):
                ids, y = train.batch(index), train.y.index_select(0, index)
                logits = model(ids)
                loss = F.cross_entropy(logits, y, weight=self.weights)
                for o in optimizers:
                    o.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.clip_grad_norm and dense:
                    nn.utils.clip_grad_norm_(dense, cfg.clip_grad_norm)
                for o in optimizers:
                    o.step()
                n = len(index)
                total_loss += loss.item() * n
                total_correct += float((logits.argmax(1) == y).sum())
                seen += n
                if bar is not None:
                    bar.update(1)
                    if step % 20 == 0:
                        bar.set_postfix(loss=f"{total_loss / seen:.4f}")
            if bar is not None:
                bar.close()
            row = {
                "epoch": epoch,
                "train_loss": total_loss / max(seen, 1),
                "train_acc": total_correct / max(seen, 1),
                "lr": optimizers[0].param_groups[0]["lr"] if optimizers else lr,
                "seconds": time.perf_counter() - t0,
                "samples_per_s": seen * self.world / max(time.perf_counter() - t0, 1e-9),
            }
            if val is not None and len(val):
                row["val_loss"], row["val_acc"] = self._evaluate(self.model, val)
                row["best"] = stopper.step(row["val_loss"], epoch, self.model)
                for s in schedulers:
                    s.step(row["val_loss"])
            self.history.append(row)
            msg = f"epoch {epoch}: train loss {row['train_loss']:.4f} acc {row['train_acc']:.3f}"
            if "val_loss" in row:
                msg += f" | val loss {row['val_loss']:.4f} acc {row['val_acc']:.3f}{' *' if row['best'] else ''}"
            self._log(msg + f" | {row['seconds']:.1f}s")
            if val is not None and stopper.should_stop:
                self._log(f"early stopping: no val-loss improvement for {patience} epochs")
                break
        if stopper.best_state is not None:
            stopper.restore(self.model)
            self.best_epoch = stopper.best_epoch
            self._log(f"restored best weights from epoch {stopper.best_epoch} (val loss {stopper.best_loss:.4f})")
        else:
            self.best_epoch = len(self.history)
        self.model.eval()
        return self.history
