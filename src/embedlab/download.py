"""Fetch a file by URL into the cache (``$EMBEDLAB_CACHE``), verified by SHA-256 where one is
registered, written atomically. Used for data sets and for embedding files."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from embedlab.errors import DataError

#: Files larger than this (bytes) show a progress bar when stderr is a terminal.
PROGRESS_MIN_BYTES = 1 << 20
_CHUNK = 1 << 16

# (path, size, mtime_ns) → sha256, so a file verified once in this process is not re-hashed.
_verified: dict[tuple[str, int, int], str] = {}


def cache_dir() -> Path:
    """Return the cache root: ``$EMBEDLAB_CACHE`` or ``~/.cache/embedlab``."""
    env = os.environ.get("EMBEDLAB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "embedlab"


def sha256_file(path: str | Path) -> str:
    """Return the hex SHA-256 of a file (memoised per path, size and modification time)."""
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _verified:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(chunk)
        _verified[key] = digest.hexdigest()
    return _verified[key]


def fetch_file(url: str, dest: str | Path, sha256: str | None, *, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` unless ``dest`` already holds the expected bytes.

    The download goes to a temporary file next to ``dest``, is checked against ``sha256``
    and only then moved into place with :func:`os.replace`, so ``dest`` is never a partial
    or wrong file. On a checksum mismatch the temporary file is deleted and a
    :class:`DataError` names the URL and both checksums. ``sha256=None`` (a source with no
    published checksum) skips the check.

    Returns
    -------
    Path
        ``dest``.
    """
    dest = Path(dest)
    if dest.is_file():
        if sha256 is None:
            return dest
        found = sha256_file(dest)
        if found == sha256:
            return dest
        raise DataError(
            f"{dest}: cached file has sha256 {found}, expected {sha256}; delete it to "
            "download again"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, _open_url(url, timeout) as response:
            total = int(response.headers.get("Content-Length") or 0)
            with _progress(dest.name, total) as advance:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    advance(len(chunk))
        found = digest.hexdigest()
        if sha256 is not None and found != sha256:
            raise DataError(
                f"checksum mismatch for {url}: expected sha256 {sha256}, found {found}; "
                "the file was not saved"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


@contextlib.contextmanager
def _open_url(url: str, timeout: float) -> Iterator[object]:
    request = urllib.request.Request(url, headers={"User-Agent": "embedlab"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise DataError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(f"cannot download {url}: {reason}") from None
    with response:
        yield response


@contextlib.contextmanager
def _progress(name: str, total: int) -> Iterator[Callable[[int], object]]:
    """Yield ``advance(n)``; draws a rich progress bar for big downloads on a terminal."""
    if total < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(f"downloading {name}", total=total)
        yield lambda n: bar.advance(task, n)
