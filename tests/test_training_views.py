"""What training shows a user: the progress bars `embedlab train` draws in a real terminal (the
command runs with its stderr on a pseudo-terminal 100 columns wide, and the test reads what the
terminal received) and the learning-curve plot."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pytest


def _run_on_a_terminal(args: list[str], columns: int = 100, timeout: float = 180) -> tuple[int, str]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm-256color", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "embedlab", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(master)
    text = b"".join(chunks).decode("utf-8", "replace")
    return proc.returncode, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


@pytest.mark.slow
def test_training_progress_shows_running_loss_an_overall_bar_and_the_star_legend(tmp_path):
    # batches of 1: ~1,400 steps an epoch, so every epoch outlasts several of the bar's 0.1 s
    # redraws even on a fast machine (with batches of 8 an epoch could end within one redraw)
    code, screen = _run_on_a_terminal([
        "train", "--dataset", "ag_news_sample", "--model", "bag", "--epochs", "3", "--batch-size", "1",
        "--set", "data.limit=2000", "--set", "embeddings.source=null", "--set", "embeddings.dim=16",
        "--set", "training.threads=1", "--out", str(tmp_path / "run")])
    assert code == 0, screen[-2000:]
    frames = [f for f in re.split(r"[\r\n]", screen) if f.strip()]
    # the epoch bar's loss is a running mean, redrawn during the epoch: several values per epoch
    losses: dict[str, set[str]] = {}
    for f in frames:
        m = re.search(r"^(epoch \d/3):.*loss (\d\.\d{4}) acc \d\.\d{3} \(running mean\)", f)
        if m:
            losses.setdefault(m.group(1), set()).add(m.group(2))
    assert len(losses) == 3 and all(len(v) >= 2 for v in losses.values()), losses
    # the overall bar: epochs done, time left, and the last validation metric
    overall = [f for f in frames if f.startswith("training ") and "epochs" in f]
    assert any(re.search(r"1/3 epochs \|[^|]+\| \d\d:\d\d, ≤\d\d:\d\d left, val loss \d\.\d{4} "
                         r"acc \d\.\d{3}, best \d\.\d{3}", f) for f in overall), overall
    # the * is explained before the first epoch line that may carry it
    legend = screen.index("* = validation loss improved")
    assert legend < screen.index("epoch 1: train loss")
    # no bar is left on the screen at the end: the last line is the run's own output
    assert frames[-1].strip().startswith("run saved to") or "restored best weights" in screen


def test_learning_curves_have_whole_epoch_ticks_and_mark_the_kept_epoch(trained_run):
    from embedlab.training.plots import learning_curves_figure

    run = trained_run("bag")
    history = json.loads((run / "history.json").read_text(encoding="utf-8"))
    assert len(history) == 2  # a two-epoch axis is where fractional ticks (1.2, 1.4, ...) appeared
    fig = learning_curves_figure(history)
    fig.canvas.draw()
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    kept = [h["epoch"] for h in history if h.get("best")][-1]
    assert any(t.get_text() == f"kept (epoch {kept})" for t in fig.axes[0].get_legend().get_texts())
