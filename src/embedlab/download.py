"""Downloadable files: one description (:class:`RemoteFile`), one resolver (:func:`locate`),
one cache root (:func:`cache_dir`). Used for the built-in data sets and the embedding sources.

A file is found, in this order:

1. in a local mirror named by ``$EMBEDLAB_DATA_MIRROR``, as ``<mirror>/<mirror_dir>/<name>``
   (the archive's name when the file is a member of an archive), verified;
2. in the cache, ``<cache_dir()>/<area>/<name>``;
3. downloaded from its URL into the cache: to a temporary file, verified, then moved into
   place, so the cache never holds a partial or wrong file. A member of a zip or gzip archive
   is then extracted next to it (the archive stays under ``<area>/downloads``).

Verification uses what is published for the file: its SHA-256 where one is known, otherwise
its size in bytes where that is known, otherwise nothing (:attr:`RemoteFile.check` says which).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from embedlab.errors import DataError

if TYPE_CHECKING:
    import http.client

logger = logging.getLogger("embedlab")

MIRROR_ENV = "EMBEDLAB_DATA_MIRROR"
CACHE_ENV = "EMBEDLAB_CACHE"
#: Files larger than this (bytes) show a progress bar when stderr is a terminal.
PROGRESS_MIN_BYTES = 1 << 20
_CHUNK = 1 << 16

# (path, size, mtime_ns) → sha256, so a file verified once in this process is not re-hashed.
_verified: dict[tuple[str, int, int], str] = {}


@dataclass(frozen=True)
class PartialCopy:
    """A known incomplete copy of a file, accepted from a mirror with a warning."""

    name: str
    sha256: str
    rows: int
    note: str


@dataclass(frozen=True)
class RemoteFile:
    """A file we can fetch: where it is published and how to check it.

    Attributes
    ----------
    name:
        File name in the cache and in a mirror folder; for an archive member, the member.
    url:
        Canonical download URL (``None`` for files that only come from the package or a mirror).
    sha256:
        Published hex SHA-256 of the bytes at ``url`` (the archive when ``member`` is set), or
        ``None`` where none is published.
    size:
        Size in bytes of the bytes at ``url``, or ``None`` where unknown.
    member:
        File to extract from the zip or gzip archive at ``url``.
    partial_copies:
        Known incomplete copies a mirror may hold instead (recognised by their checksum).
    """

    name: str
    url: str | None
    sha256: str | None = None
    size: int | None = None
    member: str | None = None
    partial_copies: tuple[PartialCopy, ...] = ()

    @property
    def download_name(self) -> str:
        """Name of what the URL serves: the archive for a member, else the file itself."""
        if self.member and self.url:
            archive = self.url.rsplit("/", 1)[-1]
            if archive != self.member:
                return archive
        return self.name

    @property
    def check(self) -> Literal["sha256", "size", "none"]:
        """How a download is verified: by SHA-256, by size only, or not at all."""
        return "sha256" if self.sha256 else "size" if self.size is not None else "none"


@dataclass(frozen=True)
class Located:
    """Where :func:`locate` found a file, and a caveat worth telling the user (if any)."""

    path: Path
    note: str | None = None


def cache_dir() -> Path:
    """Return the cache root: ``$EMBEDLAB_CACHE`` or ``~/.cache/embedlab``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "embedlab"


def mirror_root() -> Path | None:
    """The local mirror named by ``$EMBEDLAB_DATA_MIRROR``, or ``None``."""
    env = os.environ.get(MIRROR_ENV)
    return Path(env).expanduser() if env else None


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


def locate(file: RemoteFile, area: str, *, mirror_dir: str | None = None) -> Located:
    """Return a verified local copy of ``file``: from the mirror, the cache, or a download.

    Parameters
    ----------
    file:
        What to fetch.
    area:
        Cache sub-folder, e.g. ``"datasets/trec"`` or ``"vectors"``.
    mirror_dir:
        Folder of ``$EMBEDLAB_DATA_MIRROR`` that may hold the file; ``None`` skips the mirror.

    Raises
    ------
    DataError
        One line: a checksum or size mismatch, a failed download (naming where a local copy
        was looked for), or a damaged archive.
    """
    folder = cache_dir() / area
    target = folder / file.name
    archived = file.download_name != file.name
    if archived and target.is_file():
        return Located(target)  # extracted from a verified archive, written atomically
    mirrored = _from_mirror(file, mirror_dir)
    if mirrored is not None and not archived:
        return mirrored
    if mirrored is not None:
        _extract(mirrored.path, file, target)
        return Located(target, mirrored.note)
    if file.url is None:
        raise DataError(f"{file.name}: no download URL and not found at {target}")
    download_to = folder / "downloads" / file.download_name if archived else target
    try:
        fetch_file(file.url, download_to, file.sha256, size=file.size)
    except DataError as exc:
        root = mirror_root()
        where = (f"{root / mirror_dir / file.download_name} or {download_to}"
                 if root and mirror_dir else str(download_to))
        raise DataError(f"{exc} (no local copy at {where}; set {MIRROR_ENV} to a folder "
                        "holding the files to work offline)") from None
    if archived:
        _extract(download_to, file, target)
    return Located(target)


def _from_mirror(file: RemoteFile, mirror_dir: str | None) -> Located | None:
    root = mirror_root()
    if root is None or mirror_dir is None:
        return None
    folder = root / mirror_dir
    for candidate in (file.download_name, *(p.name for p in file.partial_copies)):
        path = folder / candidate
        if path.is_file():
            return Located(path, _verify_mirrored(path, file))
    return None


def _verify_mirrored(path: Path, file: RemoteFile) -> str | None:
    """Check a mirror file; return the note of a known partial copy, raise on anything else."""
    if file.sha256 is None:
        _check_size(path, file.size, "mirror file")
        return None
    found = sha256_file(path)
    if found == file.sha256:
        return None
    for partial in file.partial_copies:
        if found == partial.sha256:
            logger.warning("%s: %s; results on this split are not comparable with published "
                           "ones", path, partial.note)
            return partial.note
    raise DataError(
        f"{path}: sha256 {found} matches neither the expected {file.sha256} nor a known copy "
        f"of {file.download_name}; the mirror file is altered or a different version"
    )


def _check_size(path: Path, size: int | None, what: str) -> None:
    if size is None:
        return
    found = path.stat().st_size
    if found != size:
        raise DataError(f"{path}: {what} has {found:,} bytes, expected {size:,}; it is "
                        "incomplete or a different version")


def fetch_file(
    url: str, dest: str | Path, sha256: str | None, *, size: int | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest`` unless ``dest`` already holds the expected bytes.

    The download goes to a temporary file next to ``dest``, is checked against ``sha256``
    (or, without one, against ``size``) and only then moved into place with
    :func:`os.replace`, so ``dest`` is never a partial or wrong file. A server announcing a
    length other than ``size`` is refused before anything is read. On a mismatch the
    temporary file is deleted and a :class:`DataError` names the URL and what differed.
    ``sha256=None`` and ``size=None`` (nothing published) skip the checks.

    Returns
    -------
    Path
        ``dest``.
    """
    dest = Path(dest)
    if dest.is_file():
        if sha256 is not None:
            found = sha256_file(dest)
            if found != sha256:
                raise DataError(f"{dest}: cached file has sha256 {found}, expected {sha256}; "
                                "delete it to download again")
        else:
            _check_size(dest, size, "cached file")
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, _open_url(url, timeout) as response:
            total = int(response.headers.get("Content-Length") or 0)
            if size is not None and total and total != size:
                raise DataError(f"{url} announces {total:,} bytes, expected {size:,}; not "
                                "downloaded (a different version of the file?)")
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
        got = tmp.stat().st_size
        if size is not None and got != size:
            raise DataError(f"size mismatch for {url}: expected {size:,} bytes, received "
                            f"{got:,}; the file was not saved")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _extract(archive: Path, file: RemoteFile, dest: Path) -> None:
    """Write ``file.member`` of a zip or gzip ``archive`` to ``dest`` atomically."""
    import gzip
    import shutil
    import zipfile
    import zlib

    from embedlab.atomic import atomic_file

    member = file.member or file.name
    try:
        with atomic_file(dest) as tmp, open(tmp, "wb") as out:
            if archive.name.endswith(".gz"):
                with gzip.open(archive, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
            else:
                with zipfile.ZipFile(archive) as zf, zf.open(member) as src:
                    shutil.copyfileobj(src, out, 1 << 20)
    except KeyError:
        raise DataError(f"{archive} has no member {member}") from None
    except (zipfile.BadZipFile, gzip.BadGzipFile, EOFError, zlib.error) as exc:
        kind = "gzip" if archive.name.endswith(".gz") else "zip"
        raise DataError(f"{archive} is not a valid {kind} file ({exc}); delete it and "
                        "retry") from None


@contextlib.contextmanager
def _open_url(url: str, timeout: float) -> Iterator[http.client.HTTPResponse]:
    import urllib.error
    import urllib.request

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
