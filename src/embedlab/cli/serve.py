"""``embedlab serve RUN [RUN ...]``: the HTTP API and web page under uvicorn."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from typing import Annotated

import typer

from embedlab.cli.common import console, setup_logging


def _check_port(host: str, port: int) -> None:
    """Fail in one line, before loading anything, when the address cannot be bound."""
    from embedlab.errors import ConfigError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ConfigError(f"--host {host}: cannot resolve ({e.strerror})") from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as e:
            raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror}") from None


def serve(
    runs: Annotated[list[str], typer.Argument(metavar="RUN", help="run directories to serve; the model is named "
                                              "after the directory, or NAME=PATH")],
    host: Annotated[str, typer.Option(help="address to listen on (0.0.0.0: every interface)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes (each loads the models)")] = 1,
    threads: Annotated[int | None, typer.Option(min=1, help="torch threads per worker "
                                                "(default: CPU cores / workers)")] = None,
    max_texts: Annotated[int, typer.Option(min=1, help="texts per request")] = 512,
    max_chars: Annotated[int, typer.Option(min=1, help="characters per text")] = 20_000,
    max_body_bytes: Annotated[int, typer.Option(min=1, help="bytes per request body (larger: 413)")] = 4 * 1024 * 1024,
    access_log: Annotated[bool, typer.Option(help="log every request")] = True,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve trained runs over HTTP: model cards, prediction, /metrics, /docs and a web page at /."""
    import uvicorn

    from embedlab.serve.models import load_served_models, normalise_specs
    from embedlab.serve.schemas import ServeLimits

    setup_logging()
    limits = ServeLimits(max_texts=max_texts, max_chars=max_chars, max_body_bytes=max_body_bytes)
    specs = normalise_specs(runs)
    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    # torch gets `threads` per worker; the HF tokenizer's own thread pool stays off (one batch
    # per request is small, and workers would compete for the same cores)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    _check_port(host, port)
    url = f"http://{host}:{port}"
    names = ", ".join(specs)
    if workers == 1:
        from embedlab.serve.app import create_app

        app = create_app(specs, limits=limits, torch_threads=threads)
        console.print(f"serving {names} at [bold]{url}[/] (page /, API docs /docs); Ctrl+C stops")
        uvicorn.run(app, host=host, port=port, access_log=access_log, log_level=log_level)
        return
    # Several workers: check every run here first (one clear error, exit 1), then each worker
    # process loads them itself through the factory; metrics are shared through a temp dir.
    load_served_models(specs, warm_up=False)
    metrics_dir = tempfile.mkdtemp(prefix="embedlab-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    os.environ["EMBEDLAB_SERVE_CONFIG"] = json.dumps({
        "models": {k: str(v.resolve()) for k, v in specs.items()},
        "limits": {"max_texts": max_texts, "max_chars": max_chars, "max_body_bytes": max_body_bytes},
        "torch_threads": threads,
    })
    console.print(f"serving {names} at [bold]{url}[/] with {workers} workers "
                  "(page /, API docs /docs); Ctrl+C stops")
    try:
        uvicorn.run("embedlab.serve.app:app_from_env", factory=True, host=host, port=port,
                    workers=workers, access_log=access_log, log_level=log_level)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
