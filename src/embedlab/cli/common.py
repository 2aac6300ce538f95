"""What every CLI command shares: the console, logging set-up, the command-group class that turns
every error into one line and an exit code, and :func:`new_app` to make a command group.

Exit codes: 0 success; 1 an error in the input or the environment (one red line on stderr);
2 a usage error (unknown command or option, bad or missing value; one line plus where to find
help); 130 interrupted with Ctrl-C. Only heavy-free modules are imported here: the CLI must
start fast, so commands import torch, pandas, scikit-learn, gensim or matplotlib inside their
functions.
"""

from __future__ import annotations

import difflib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape

# Typer 0.29 bundles click and exposes its usage exceptions only under typer._click: this module
# is the one place the CLI touches Typer's internals (the pin typer>=0.29,<0.30 says why).
from typer._click.exceptions import ClickException, NoArgsIsHelpError, NoSuchOption, UsageError
from typer.core import TyperGroup

PIPED_WIDTH = 200


def _no_terminal() -> bool:
    """True when none of stdin, stdout, stderr is a terminal that could tell its width."""
    for fd in (0, 1, 2):
        try:
            os.get_terminal_size(fd)
        except (OSError, ValueError):
            continue
        return False
    return True


class _Console(Console):
    """rich's Console, but :data:`PIPED_WIDTH` columns instead of 80 when no terminal gives the
    width and ``COLUMNS`` is unset (``embedlab embeddings list > file`` from a script): tables
    are drawn as wide as their content needs instead of folding every cell."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self._width is None and not self._environ.get("COLUMNS") and _no_terminal():
            return ConsoleDimensions(PIPED_WIDTH, size.height)
        return size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


console: Console = _Console()
err_console = Console(stderr=True)

INTERRUPTED = "interrupted; nothing was written"


def setup_logging(verbose: bool = False) -> None:
    from rich.logging import RichHandler

    logger = logging.getLogger("embedlab")
    if not any(isinstance(h, RichHandler) for h in logger.handlers):
        handler = RichHandler(console=err_console, show_path=False, show_time=False, markup=False)
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False


def print_error(message: str, hint: str = "") -> None:
    """One red line on stderr (the message itself is never read as markup)."""
    line = " ".join(str(message).split())  # one line, whatever the message holds
    err_console.print(f"[bold red]error:[/] {escape(line)}{escape(hint)}", highlight=False,
                      markup=True, soft_wrap=True)


def starting(what: str) -> None:
    """One dim line on stderr before a command's heavy imports (PyTorch takes seconds to import,
    tens of seconds on a loaded machine), so a user at a terminal sees at once that it started.
    Nothing when stderr is not a terminal: scripts get only the one-line errors."""
    if err_console.is_terminal:
        err_console.print(f"[dim]{escape(what)}[/]", highlight=False)


class _Interrupted(Exception):
    """Ctrl-C, carried past Typer (which would turn KeyboardInterrupt into a silent exit 130)."""


class EmbedlabGroup(TyperGroup):
    """A Typer group whose ``main`` turns every error into one line and the right exit code
    (see the module docstring), in a real process and under ``typer.testing.CliRunner`` alike.

    Typer 0.29 raises its own bundled click exceptions (``typer._click``), returns exit codes
    instead of raising under ``standalone_mode=False``, and turns Ctrl-C into ``Exit(130)``
    without a message; this class handles all three (hence the pin ``typer>=0.29,<0.30``).
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise _Interrupted() from None

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        code = self._run(args, prog_name or "embedlab", complete_var,
                         windows_expand_args=windows_expand_args, **extra)
        if standalone_mode:
            sys.exit(code)
        return code

    def _run(self, args: Sequence[str] | None, prog_name: str, complete_var: str | None,
             **extra: Any) -> int:
        from embedlab.errors import EmbedlabError

        try:
            rv = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                              standalone_mode=False, **extra)
        except EmbedlabError as e:
            print_error(str(e))
            return 1
        except NoArgsIsHelpError as e:
            # A group called with no command: its help (which Typer has printed already with
            # rich, or is in the message without it) and exit 2 — nothing was done, as for any
            # other usage error (click >= 8.2 does the same).
            if e.format_message().strip():
                typer.echo(e.format_message(), err=True)
            return 2
        except UsageError as e:
            if isinstance(e, NoSuchOption):
                e.possibilities = _closest_options(e)
            where = f"{e.ctx.command_path} --help" if e.ctx is not None else f"{prog_name} --help"
            print_error(e.format_message(), hint=f" (see '{where}')")
            return 2
        except ClickException as e:
            print_error(e.format_message())
            return e.exit_code
        except (_Interrupted, KeyboardInterrupt, typer.Abort):
            print_error(INTERRUPTED)
            return 130
        except OSError as e:  # a file or directory the user named: say which, in one line
            where = f"{e.filename}: " if e.filename else ""
            print_error(f"{where}{e.strerror or e}")
            return 1
        return rv if isinstance(rv, int) else 0


def _closest_options(error: NoSuchOption) -> list[str]:
    """The command's options closest to the unknown one, compared without their dashes (click
    counts the ``--`` as a match, so ``--bogus`` got "Possible options: --out, --verbose")."""
    if error.ctx is None:
        return []
    names = [opt for param in error.ctx.command.get_params(error.ctx)
             for opt in (*param.opts, *getattr(param, "secondary_opts", ()))
             if opt.startswith("-")]
    by_stem = {name.lstrip("-"): name for name in names}
    close = difflib.get_close_matches(error.option_name.lstrip("-"), list(by_stem), n=3, cutoff=0.6)
    return [by_stem[c] for c in close]


def new_app(help: str, **kwargs: Any) -> typer.Typer:
    """A command group with embedlab's settings (one-line errors, no completion install flags)."""
    return typer.Typer(cls=EmbedlabGroup, help=help, no_args_is_help=True,
                       pretty_exceptions_enable=False, add_completion=False, **kwargs)


def rows(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1: ``rows(1, "empty row")`` -> "1 empty row"."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def free_file(path: Path | None, overwrite: bool) -> None:
    """Refuse, before any work, an output file that exists (unless ``overwrite``), is a
    directory, or cannot be written."""
    from embedlab.atomic import check_writable
    from embedlab.errors import ArtifactError

    if path is None:
        return
    if path.exists() and not overwrite:
        raise ArtifactError(f"{path}: already exists; choose another path or pass --overwrite")
    if path.exists() and path.is_dir():
        raise ArtifactError(f"{path}: is a directory, expected a file path")
    check_writable(path)  # before any work: an unwritable later output must not strand earlier ones


def free_image(path: Path | None, overwrite: bool) -> None:
    """:func:`free_file`, and a suffix matplotlib can write (``.png``, ``.svg``, ``.pdf``...;
    none: PNG), refused before any work rather than as a traceback after it."""
    free_file(path, overwrite)
    if path is None or not path.suffix:
        return
    from matplotlib.backend_bases import FigureCanvasBase

    from embedlab.errors import ConfigError

    known = FigureCanvasBase.get_supported_filetypes()
    if path.suffix.lower().lstrip(".") not in known:
        raise ConfigError(f"{path}: unknown image format '{path.suffix}'; use "
                          f"{', '.join('.' + k for k in sorted(known))}")
