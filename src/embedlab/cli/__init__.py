"""The ``embedlab`` command line: a thin layer over the Python API.

Exit codes: 0 success, 1 an error (one line on stderr), 2 a usage error, 130 Ctrl-C
(:class:`embedlab.cli.common.EmbedlabGroup` does the mapping).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from embedlab.cli.datasets import app as datasets_app
from embedlab.cli.embeddings import app as embeddings_app
from embedlab.cli.experiment import app as experiment_app
from embedlab.cli.experiment import search
from embedlab.cli.explain import explain
from embedlab.cli.export import export
from embedlab.cli.main import app
from embedlab.cli.predict import predict
from embedlab.cli.serve import serve

app.add_typer(datasets_app, name="datasets")
app.add_typer(embeddings_app, name="embeddings")
app.command("serve")(serve)
app.add_typer(experiment_app, name="experiment")
app.command("search")(search)
app.command("explain")(explain)
app.command("predict")(predict)
app.command("export")(export)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point (``embedlab`` and ``python -m embedlab``): run the CLI and exit with its code."""
    import sys

    import typer

    sys.exit(typer.main.get_command(app).main(args=argv, prog_name="embedlab",
                                              standalone_mode=False))


__all__ = ["app", "main"]
