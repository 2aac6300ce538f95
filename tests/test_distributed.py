"""One run trained by two real processes under ``torchrun`` (gloo on 127.0.0.1).

The training split has an odd number of rows whose halves need a different number of batches
(17 and 16 rows at batch size 8: 3 and 2 batches), which made the ranks of the old loop wait
on each other forever; a timeout turns such a hang into a failure. Both ranks must end with
identical weights and only rank 0 may write the run directory.

How to run the same thing by hand (see :mod:`embedlab.training.distributed`)::

    torchrun --nproc_per_node 2 script.py   # script.py calls embedlab.training.run.train_run
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest
from safetensors.torch import load_file

from embedlab.config import RunConfig
from embedlab.training.run import load_splits

pytestmark = pytest.mark.slow  # torchrun: two training processes per test

DRIVER = textwrap.dedent('''
    import faulthandler
    import json
    import os
    import sys

    faulthandler.dump_traceback_later(150, exit=True)  # a hung rank ends itself

    import torch.distributed as dist
    from safetensors.torch import save_file

    from embedlab.config import RunConfig
    from embedlab.training.run import train_run

    config_path, out, report = sys.argv[1:4]
    rank = int(os.environ["RANK"])
    worlds = []
    result = train_run(RunConfig.from_yaml(config_path), out,
                       on_epoch_end=lambda row: worlds.append(dist.get_world_size()) or False)
    state = {k: v.contiguous() for k, v in result.predictor.model.state_dict().items()}
    save_file(state, os.path.join(report, f"rank{rank}.safetensors"))
    with open(os.path.join(report, f"rank{rank}.json"), "w") as f:
        json.dump({"out": None if result.out is None else str(result.out), "worlds": worlds,
                   "epochs": len(result.history), "initialised_after": dist.is_initialized()}, f)
''')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(tmp_path, model: dict) -> RunConfig:
    rows = ["text,label"]
    for i in range(44):
        label = "ab"[i % 2]
        key = "good great fine" if label == "a" else "bad awful poor"
        rows.append(f"{key.split()[i % 3]} filler{i % 7} words {i} here,{label}")
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "test.csv").write_text("text,label\ngood words,a\nawful words,b\n")
    cfg = RunConfig.from_dict({
        "data": {"path": str(tmp_path / "train.csv"), "test_path": str(tmp_path / "test.csv"),
                 "val_size": 0.25},
        "model": model,
        "embeddings": {"dim": 8},
        "training": {"epochs": 3, "batch_size": 8, "patience": 0, "threads": 1,
                     "progress": False},
    })
    (tmp_path / "config.yaml").write_text(cfg.to_yaml())
    return cfg


@pytest.mark.parametrize("model", [
    {"name": "cnn", "params": {"filters": 4, "hidden": [8]}},
    {"name": "fasttext", "params": {"ngrams": 2, "buckets": 50}},  # sparse tables, SparseAdam
], ids=["cnn", "fasttext-sparse"])
def test_two_processes_train_one_model_and_rank_zero_writes_it(tmp_path, model):
    cfg = _config(tmp_path, model)
    n_train = len(load_splits(cfg).train)
    assert n_train % 2 == 1 and -(-(n_train // 2 + 1) // 8) != -(-(n_train // 2) // 8)
    (tmp_path / "driver.py").write_text(DRIVER)
    report = tmp_path / "report"
    report.mkdir()
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo",
           "MASTER_ADDR": "127.0.0.1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1",
               "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
               "--master_port", str(_free_port()), str(tmp_path / "driver.py"),
               str(tmp_path / "config.yaml"), str(out), str(report)]
    log = tmp_path / "torchrun.log"
    with open(log, "w") as sink:
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=sink,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            process.wait(timeout=200)
        except subprocess.TimeoutExpired:
            process.terminate()  # torchrun stops its workers on SIGTERM
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            pytest.fail("the two training processes did not finish in 200 s (a hang?)")
    assert process.returncode == 0, log.read_text()[-3000:]

    ranks = [json.loads((report / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["worlds"] == [2, 2, 2]  # rank 0 trained inside a world of two
    assert ranks[1]["worlds"] == []  # the epoch hook runs on rank 0 only
    assert [r["epochs"] for r in ranks] == [3, 3]
    assert not any(r["initialised_after"] for r in ranks)  # train_run left the group
    assert ranks[0]["out"] == str(out) and ranks[1]["out"] is None
    weights = [load_file(str(report / f"rank{r}.safetensors")) for r in (0, 1)]
    assert weights[0].keys() == weights[1].keys()
    for key in weights[0]:
        assert weights[0][key].equal(weights[1][key]), key
    saved = load_file(str(out / "model.safetensors"))
    assert all(saved[key].equal(weights[0][key]) for key in saved)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "config.yaml", "driver.py", "report", "run", "test.csv", "torchrun.log", "train.csv"]
