"""The ``embedlab`` command line: a thin layer over the Python API."""

from __future__ import annotations

import sys

import click

from embedlab.cli.datasets import app as datasets_app
from embedlab.cli.embeddings import app as embeddings_app
from embedlab.cli.main import app
from embedlab.cli.serve import serve

app.add_typer(datasets_app, name="datasets")
app.add_typer(embeddings_app, name="embeddings")
app.command("serve")(serve)


def main() -> None:
    """Entry point: EmbedlabError and Ctrl-C become one line on stderr and a non-zero exit."""
    from embedlab.cli.common import fail
    from embedlab.errors import EmbedlabError

    try:
        app(standalone_mode=False)
    except EmbedlabError as e:
        fail(str(e))
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        fail("interrupted; nothing was written", code=130)


__all__ = ["app", "main"]
