"""Errors that reach the user as one clear line.

Every error the product raises on bad input derives from :class:`EmbedlabError`. The CLI prints
``str(error)`` on one line and exits non-zero; the Python API lets it propagate. Messages name
the file (and row/column or line where it applies), what was expected and what was found.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class EmbedlabError(Exception):
    """Base class: a problem with the user's input, described in one line."""


class DataError(EmbedlabError, ValueError):
    """A data file or data set could not be read as asked."""


class ConfigError(EmbedlabError, ValueError):
    """A configuration value, option or name is invalid."""


class ArtifactError(EmbedlabError, OSError):
    """A run directory or vectors file is missing, incomplete or altered."""


class TrainingError(EmbedlabError, ArithmeticError):
    """Training went numerically wrong (a non-finite loss or weights); nothing is saved."""


class EmbeddingError(EmbedlabError, ValueError):
    """An embeddings source, file or query is invalid (OOV word, bad dimensions, ...)."""


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""`` if none is close."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_name(kind: str, name: str, choices: Iterable[str],
                 error: type[EmbedlabError] = ConfigError) -> EmbedlabError:
    """Build the standard error for an unknown registered name, listing the known ones."""
    choices = sorted(str(c) for c in choices)
    return error(f"unknown {kind} '{name}'{suggest(name, choices)}; known: {', '.join(choices)}")
