"""What every CLI command shares: the console, logging set-up and one-line errors."""

from __future__ import annotations

import logging
import sys

from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

console = Console()
err_console = Console(stderr=True)


def setup_logging(verbose: bool = False) -> None:
    logger = logging.getLogger("embedlab")
    if not any(isinstance(h, RichHandler) for h in logger.handlers):
        handler = RichHandler(console=err_console, show_path=False, show_time=False, markup=False)
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False


def print_error(message: str) -> None:
    """One red line on stderr (the message itself is never read as markup)."""
    err_console.print(f"[bold red]error:[/] {escape(str(message))}", highlight=False, markup=True, soft_wrap=True)


def fail(message: str, code: int = 1) -> None:
    """Print one red line to stderr and exit non-zero."""
    print_error(message)
    sys.exit(code)
