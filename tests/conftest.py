"""Shared fixtures: small real text from the package's AG News sample, tiny real trained runs of
any model family (:func:`trained_run`), the shared data mirror, loopback servers."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

# pytest-xdist workers (make test: -n 2) start with COLUMNS=80 and LINES=24 in their environment;
# rich would fix the CLI's console at that width when embedlab.cli is imported, so the tests that
# run the CLI with a wider COLUMNS would see 80 columns under `make test` only.
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)

REPO = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("EMBEDLAB_DATA_MIRROR", REPO.parent / "shared" / "data"))


# The fast tier (`make test-fast`, `pytest -m "not slow"`) leaves out the tests marked slow: by
# hand where a test takes seconds (several processes, Optuna studies, whole experiments), and
# here every test that uses one of these fixtures: a real server process on a port, a headless
# browser, or the schemathesis fuzz of the whole API.
SLOW_FIXTURES = frozenset({"embedlab_server", "free_port", "browser", "api_schema"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Never touch the user's ~/.cache in tests."""
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


#: the "embedlab" logger as the package leaves it (handlers, propagation, level)
_PRISTINE_LOGGER = (list(logging.getLogger("embedlab").handlers),
                    logging.getLogger("embedlab").propagate, logging.getLogger("embedlab").level)


@pytest.fixture(autouse=True)
def _embedlab_logger_restored():
    """A CLI command run in-process sets up the "embedlab" logger (a rich handler, no propagation
    to the root logger), and a library's logging configuration may disable existing loggers; put
    its handlers, propagation and level back after each test and re-enable the embedlab loggers,
    so that a later test's ``caplog`` depends less on what ran before it in the process.

    The state put back is the one of before any test ran (:data:`_PRISTINE_LOGGER`), and it is
    put in place before each test as well: a session or module fixture that runs a CLI command
    in-process is set up before this fixture saves anything, so the state of the moment could
    already be the CLI's (no propagation: ``caplog`` then sees nothing)."""
    logger = logging.getLogger("embedlab")

    def pristine() -> None:
        logger.handlers[:], logger.propagate = list(_PRISTINE_LOGGER[0]), _PRISTINE_LOGGER[1]
        logger.setLevel(_PRISTINE_LOGGER[2])  # setLevel, not .level: it clears the loggers' caches
        for name, child in logging.root.manager.loggerDict.items():
            if name.startswith("embedlab") and isinstance(child, logging.Logger):
                child.disabled = False

    pristine()
    yield
    pristine()


@pytest.fixture(scope="session")
def ag_sample():
    from embedlab.data import load_dataset

    return load_dataset("ag_news_sample", "train")


@pytest.fixture(scope="session")
def tiny(ag_sample):
    """40 real AG News texts, 10 per class."""
    seen: dict[str, int] = {}
    idx = []
    for i, lab in enumerate(ag_sample.labels):
        if seen.get(lab, 0) < 10:
            seen[lab] = seen.get(lab, 0) + 1
            idx.append(i)
    return ag_sample.subset(idx)


TINY_RUN: dict[str, Any] = {"data.dataset": "ag_news_sample", "data.limit": 400,
                            "training.epochs": 2, "embeddings.dim": 16}


def _nested(dotted: dict[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1}`` -> ``{"a": {"b": 1}}`` (the shape of a run config file)."""
    out: dict[str, Any] = {}
    for key, value in dotted.items():
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Callable[..., Path]:
    """``trained_run(family="cnn", **overrides) -> Path``: a tiny real run directory of any model
    family, trained once per session for each distinct set of arguments (treat it as read-only).

    It is a real ``embedlab.train`` run: 400 AG News sample rows, 2 epochs, random 16-d vectors,
    unless ``overrides`` say otherwise. Their keys are dotted config keys, given as
    ``**{"data.limit": 600}`` or with ``__`` for the dots (``model__params__pooling="max"``);
    a value of ``None`` removes a default (``**{"embeddings.dim": None}``).
    """
    import embedlab
    from embedlab.config import RunConfig

    root = tmp_path_factory.mktemp("trained_runs")
    made: dict[str, Path] = {}

    def make(family: str = "cnn", **overrides: Any) -> Path:
        settings = {**TINY_RUN, "model.name": family,
                    **{k.replace("__", "."): v for k, v in overrides.items()}}
        settings = {k: v for k, v in settings.items() if v is not None}
        key = json.dumps(settings, sort_keys=True, default=str)
        if key not in made:
            out = root / f"{family}-{len(made)}"
            embedlab.train(RunConfig.from_dict(_nested(settings)), out)
            made[key] = out
        return made[key]

    return make


@pytest.fixture(scope="session")
def mirror() -> Path:
    if not (MIRROR / "trec" / "TREC.train").is_file():
        pytest.skip(f"shared data mirror not found at {MIRROR}")
    return MIRROR


class _CountingHandler(http.server.SimpleHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def http_root(tmp_path: Path):
    """Serve a tmp folder on 127.0.0.1 (loopback only); yields (folder, base_url, request log)."""
    root = tmp_path / "served"
    root.mkdir()
    _CountingHandler.requests = []
    handler = functools.partial(_CountingHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}/", _CountingHandler.requests
    finally:
        server.shutdown()
        server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    return _free_port()


@contextlib.contextmanager
def _embedlab_server(*args: str, timeout: float = 90):
    import httpx

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "embedlab", "serve", *args, "--port", str(port),
                             "--no-access-log"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"server did not become ready in {timeout:.0f} s"
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def embedlab_server():
    """``with embedlab_server(*serve_args) as base_url:`` a real ``embedlab serve`` process on a
    free loopback port, ready (``/readyz`` 200) inside the block, stopped after it."""
    return _embedlab_server
