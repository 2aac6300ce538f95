"""Where a study lives: Optuna storages (SQLite, journal file, database server) and the file lock
that makes "count trials, then create one" atomic between workers on a local storage."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from embedlab.errors import ConfigError


def _check_optuna() -> None:
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise ConfigError("search needs Optuna: pip install 'embedlab[search]'") from None


def open_storage(url: str) -> tuple[Any, Path | None]:
    """An Optuna storage for ``url`` and, for local files, the path to lock; one-line errors."""
    import optuna

    local: Path | None = None
    if url.startswith("journal:"):
        local = Path(url.removeprefix("journal:")).expanduser()
    elif url.startswith("sqlite:///"):
        local = Path(url.removeprefix("sqlite:///"))
    elif "://" not in url:
        raise ConfigError(f"storage '{url}': expected sqlite:///FILE, journal:FILE or a database URL "
                          "such as postgresql://user@host/db")
    if local is not None and not local.parent.is_dir():
        raise ConfigError(f"storage {url}: folder {local.parent} does not exist")
    try:
        with _claim_lock(local):  # two workers must not create a new database's tables at once
            if url.startswith("journal:"):
                from optuna.storages.journal import JournalFileBackend, JournalStorage

                return JournalStorage(JournalFileBackend(str(local))), local
            kwargs = {} if url.startswith("sqlite") else {"pool_pre_ping": True,
                                                          "connect_args": {"connect_timeout": 10}}
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs), local
    except Exception as e:  # noqa: BLE001  driver missing, server down, bad URL...
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"storage {url} cannot be reached: {msg}") from None


@contextmanager
def _claim_lock(local: Path | None) -> Iterator[None]:
    """Serialise 'count trials, then create one' between workers sharing a local storage."""
    if local is None:
        yield
        return
    fd = os.open(f"{local}.embedlab-lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
