"""Shared fixtures: small real text from the package's AG News sample; the shared data mirror."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest

# pytest-xdist workers (make test: -n 2) start with COLUMNS=80 and LINES=24 in their environment;
# rich would fix the CLI's console at that width when embedlab.cli is imported, so the tests that
# run the CLI with a wider COLUMNS would see 80 columns under `make test` only.
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)

REPO = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("EMBEDLAB_DATA_MIRROR", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Never touch the user's ~/.cache in tests."""
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


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
