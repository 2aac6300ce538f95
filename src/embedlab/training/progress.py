"""Training's progress in a terminal: two tqdm bars on stderr, drawn only when it is a terminal.

- ``training``: epochs done of ``epochs``, the time left (an upper bound: early stopping may
  end training sooner) and the last epoch's validation loss and accuracy, with the best
  validation accuracy so far;
- ``epoch k/N``: this epoch's batches, with the running mean loss and accuracy of the batches
  trained so far, updated at every batch.

Log lines written while the bars are up (the per-epoch lines) go through :meth:`write`, which
clears the bars, writes and redraws them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any


def legend(schedule: str | None) -> str:
    """What the ``*`` after an epoch's line means."""
    if schedule == "linear":
        return ("* = the epoch whose weights are kept (the linear schedule keeps the last epoch's "
                "weights)")
    return ("* = validation loss improved on every earlier epoch; the best such epoch's weights are "
            "the ones kept")


class TrainingProgress:
    """The two bars; see the module docstring. ``file``: where to draw (stderr by default)."""

    def __init__(self, epochs: int, file: IO[str] | None = None) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self.file = file
        self.overall = tqdm(total=epochs, desc="training", unit="epoch", position=0, leave=False,
                            file=file, bar_format="{desc} {n_fmt}/{total_fmt} epochs |{bar}| "
                            "{elapsed}, ≤{remaining} left{postfix}")
        self.epoch_bar: Any = None
        self.best_acc: float | None = None
        self._shown = 0.0

    def start_epoch(self, epoch: int, epochs: int, batches: int) -> None:
        self.epoch_bar = self._tqdm(total=batches, desc=f"epoch {epoch}/{epochs}", unit="batch",
                                    position=1, leave=False, file=self.file)
        self._shown = 0.0

    def step(self, loss_mean: float, acc_mean: float) -> None:
        """One batch done; ``loss_mean`` / ``acc_mean``: the epoch's running means so far (the
        text is rebuilt at most every 0.05 s, as the bar is redrawn every 0.1 s: a fast model's
        batches take microseconds)."""
        bar = self.epoch_bar
        now = time.monotonic()
        if now - self._shown >= 0.05:
            bar.set_postfix_str(f"loss {loss_mean:.4f} acc {acc_mean:.3f} (running mean)", refresh=False)
            self._shown = now
        bar.update(1)

    def end_epoch(self, row: dict[str, Any]) -> None:
        if self.epoch_bar is not None:
            self.epoch_bar.close()
            self.epoch_bar = None
        if "val_acc" in row:
            self.best_acc = max(self.best_acc or 0.0, row["val_acc"])
            self.overall.set_postfix_str(f"val loss {row['val_loss']:.4f} acc {row['val_acc']:.3f}"
                                         f", best {self.best_acc:.3f}", refresh=False)
        else:
            self.overall.set_postfix_str(f"train loss {row['train_loss']:.4f}", refresh=False)
        self.overall.update(1)

    @contextmanager
    def write(self) -> Iterator[None]:
        """Clear the bars for a log line, redraw them after."""
        with self._tqdm.external_write_mode(file=self.file):
            yield

    def close(self) -> None:
        """Take the bars off the terminal (again: nothing)."""
        if self.epoch_bar is not None:
            self.epoch_bar.close()
            self.epoch_bar = None
        self.overall.close()
