"""Atomic outputs, and the one writer every directory artifact of embedlab goes through.

Files: :func:`atomic_file` yields a temporary sibling and ``os.replace``-s it onto the target
when the block succeeds; on any error (or Ctrl-C) the temporary file is removed and the target
is untouched.

Directories (run directories, vectors, experiments, exports): :func:`atomic_dir` is the single
place that decides whether a directory may be written or replaced. Use it as::

    from embedlab.atomic import atomic_dir

    with atomic_dir(out, kind=VECTORS_KIND, overwrite=overwrite) as tmp:  # embedlab.kinds
        ...  # write files into tmp (leave manifest.json to the writer, or write one whose
             # "kind" is the same)

Call :func:`check_destination` with the same arguments before long work (training) so that a
refusal comes before the work, not after it. The rules, checked before the block starts and
again just before the swap:

* ``out`` does not exist, or is an empty directory: it is written.
* ``out`` is one of ours (its ``manifest.json`` says ``"kind": kind``): replaced, but only with
  ``overwrite=True``, and only when it holds nothing but the files its manifest lists: a file or
  folder the user added (notes, a subfolder) is named and the replacement refused.
* anything else — a file, a non-empty directory without our manifest, an artifact of another
  kind — is refused with :class:`~embedlab.errors.ArtifactError`, even with ``overwrite=True``:
  nothing we write may delete what we did not write.
* the destination must be writable: the nearest existing ancestor must be a directory in which
  a directory can be created (tried with a probe that is removed at once).

``kind=None`` is for callers that check ownership and ``overwrite`` themselves (and write their
own manifest): it still refuses to replace anything that is not an embedlab artifact.

Leftovers: temporaries are hidden siblings named ``.<name>.<8 random chars>.tmp`` (``.old`` for
a replaced directory on its way out), locked (``flock``) by the process writing them. A process
killed mid-write (SIGKILL) leaves one behind; the next write to the same ``<name>`` removes the
unlocked ones (a live writer's are locked and kept) and logs their names. A ``.old`` directory is
removed only once the new ``<name>`` is in place and it holds nothing but what its manifest lists.

Files: :func:`atomic_file` with ``overwrite=False`` puts the finished file in place with a hard
link, which fails if the target appeared meanwhile (another process): a second writer is refused
at the end, not only at the start, and never replaces the first one's file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from embedlab.errors import ArtifactError
from embedlab.kinds import LEGACY_FORMATS, LEGACY_VECTORS_META

try:  # POSIX; where it is missing, leftovers are named but never removed
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

#: The file that marks a directory as an embedlab artifact; its ``"kind"`` names which.
MANIFEST = "manifest.json"
#: Markers of directories written before manifests carried a ``"kind"`` (see :mod:`embedlab.kinds`).
LEGACY_KINDS = LEGACY_FORMATS
_LEGACY_VECTORS_META = LEGACY_VECTORS_META


def sha256_file(path: str | Path) -> str:
    """Hash the bytes every time (no memo by size and mtime: an edit may keep both)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def refuse_link(path: str | Path, error: type[Exception] = ArtifactError) -> Path:
    """``path`` itself, or ``error`` when it is a symbolic link: an embedlab directory is
    self-contained, so its manifest (like every file it lists) is never read through a link."""
    path = Path(path)
    if path.is_symlink():
        raise error(f"{path}: is a symbolic link; an embedlab directory is self-contained, links "
                    "are refused rather than followed")
    return path


def read_json(path: str | Path, what: str) -> Any:
    """The JSON in ``path``, or one :class:`ArtifactError` line naming the file and ``what`` it
    should hold (the reader of every JSON file an artifact lists)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ArtifactError(f"{path}: cannot read {what} JSON ({str(e).splitlines()[0]})") from None


def _read_json(path: Path) -> Any:
    if path.is_symlink():  # never read through a link (see refuse_link): not ours
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def artifact_kind(path: str | Path) -> str | None:
    """The kind of embedlab artifact ``path`` is (one of :mod:`embedlab.kinds`), or None if it is not
    one: a directory whose ``manifest.json`` has a ``"kind"`` (or, for directories written by
    embedlab 0.1, a run manifest's ``"format"`` or a vectors ``meta.json``)."""
    path = Path(path)
    if not path.is_dir():
        return None
    manifest = _read_json(path / MANIFEST) if (path / MANIFEST).is_file() else None
    if isinstance(manifest, dict):
        kind = manifest.get("kind")
        if isinstance(kind, str) and kind.startswith("embedlab-"):
            return kind
        legacy = LEGACY_KINDS.get(str(manifest.get("format")))
        if legacy:
            return legacy
    name, fmt = _LEGACY_VECTORS_META
    meta = _read_json(path / name) if (path / name).is_file() else None
    if isinstance(meta, dict) and meta.get("format") == fmt:
        return fmt
    return None


def _nearest_existing(path: Path) -> Path:
    p = path.absolute()
    while not (p.exists() or p.is_symlink()) and p != p.parent:
        p = p.parent
    return p


def listed_names(path: Path) -> set[str] | None:
    """The files the artifact at ``path`` says it consists of (relative POSIX names, the
    manifest included), or None when its manifest has no file list."""
    manifest = _read_json(path / MANIFEST) if (path / MANIFEST).is_file() else None
    if isinstance(manifest, dict) and isinstance(manifest.get("files"), Mapping):
        return {str(n) for n in manifest["files"]} | {MANIFEST}
    name, fmt = _LEGACY_VECTORS_META
    meta = _read_json(path / name) if (path / name).is_file() else None
    if isinstance(meta, dict) and meta.get("format") == fmt:  # embedlab 0.1 vectors
        return {name} | {p.name for p in path.iterdir() if p.name.startswith("vectors.kv")}
    return None


def unlisted_entries(path: str | Path) -> list[str]:
    """What inside artifact directory ``path`` its manifest does not list: files, symlinks and
    folders (a folder is named once, with a trailing ``/``, when nothing in it is listed).
    Everything is unlisted when the manifest has no file list. The embedlab manifest of a
    listed folder (an ensemble's member run: :func:`write_manifest` leaves every
    ``manifest.json`` out of the list) counts as listed."""
    path = Path(path)
    listed = listed_names(path) or set()
    found: list[str] = []

    def walk(d: Path, prefix: str) -> None:
        for p in sorted(d.iterdir()):
            rel = prefix + p.name
            if p.is_symlink() or not (p.is_dir() or p.is_file()):
                found.append(rel)
            elif p.is_dir():
                if any(n.startswith(rel + "/") for n in listed):
                    walk(p, rel + "/")
                else:
                    found.append(rel + "/")
            elif rel not in listed and not (p.name == MANIFEST and prefix and artifact_kind(d)):
                found.append(rel)

    walk(path, "")
    return found


def _named(items: list[str], most: int = 5) -> str:
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def _refuse_artifact_file(path: Path) -> None:
    """Refuse a path that is one of the files an artifact's manifest lists (``--out
    RUN/metrics.json``): replacing it, even with ``--overwrite``, would damage that artifact."""
    target = path.absolute()
    for folder in target.parents:
        kind = artifact_kind(folder)
        if kind is not None and target.relative_to(folder).as_posix() in (listed_names(folder) or ()):
            raise ArtifactError(f"{path}: is a file of the {kind} directory {folder}; writing it "
                                "would damage that directory, even with --overwrite: choose "
                                "another path")


def check_writable(path: str | Path) -> None:
    """Refuse (one line) when ``path`` cannot be created: a path below a regular file, or a
    read-only location. Creates and removes a probe directory in the nearest existing ancestor;
    nothing else is touched (missing parents are not created)."""
    path = Path(path)
    _refuse_artifact_file(path)
    base = _nearest_existing(path.parent)
    if not base.is_dir():
        raise ArtifactError(f"{path}: cannot be written: {base} is a file, not a directory")
    try:
        probe = tempfile.mkdtemp(prefix=".embedlab-probe.", dir=base)
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise ArtifactError(f"{path}: cannot be written: {base} is not writable ({reason})") from None
    os.rmdir(probe)


def check_destination(path: str | Path, kind: str | None = None, overwrite: bool = False) -> Path:
    """Raise :class:`ArtifactError` unless :func:`atomic_dir` may write ``path`` (rules in the
    module docstring). Nothing is changed; call it before long work."""
    path = Path(path)
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise ArtifactError(f"{path}: exists and is not a directory; refusing to replace it")
        if any(path.iterdir()):
            found = artifact_kind(path)
            if found is None:
                raise ArtifactError(
                    f"{path}: is a non-empty directory that embedlab did not write (no "
                    f"{MANIFEST} with a kind); refusing to replace it, even with --overwrite"
                )
            if kind is not None and found != kind:
                raise ArtifactError(
                    f"{path}: holds an {found} directory, not an {kind}; refusing to replace it"
                )
            if kind is not None and not overwrite:
                raise ArtifactError(
                    f"{path}: {found} directory already exists; choose another --out or pass "
                    "--overwrite"
                )
            extra = unlisted_entries(path)
            if extra:
                raise ArtifactError(
                    f"{path}: holds files embedlab did not write ({_named(extra)}); refusing to "
                    "replace it, even with --overwrite: move them away or choose another --out"
                )
    check_writable(path)
    return path


def unsafe_name_problem(directory: str | Path, name: object) -> str | None:
    """Why a manifest entry ``name`` may not be opened, or None when it may: it must be a plain
    relative POSIX name inside ``directory`` (no absolute path, no ``..``, ``.`` or empty part,
    no backslash or NUL), and neither the file nor any folder on the way to it may be a symbolic
    link: an artifact directory is self-contained, so a link (which could point anywhere) is
    refused rather than followed. Only ``lstat`` is used: nothing is opened."""
    if not isinstance(name, str) or not name:
        return f"{MANIFEST} lists an entry that is not a file name ({name!r})"
    parts = name.split("/")
    if (name.startswith("/") or "\\" in name or "\x00" in name
            or any(part in ("", ".", "..") for part in parts) or Path(name).is_absolute()):
        return (f"{MANIFEST} lists {name!r}, which is not a plain relative name inside the "
                "directory; refused without opening it")
    p = Path(directory)
    for part in parts:
        p = p / part
        if p.is_symlink():
            return (f"{p.relative_to(directory).as_posix()} is a symbolic link; an embedlab "
                    "directory is self-contained, links are refused rather than followed")
    return None


def listed_file_problem(directory: str | Path, files: Any, required: tuple[str, ...],
                        after: str) -> tuple[bool, str] | None:
    """Check the files a manifest lists against the disk: ``(False, "NAME is not in the
    manifest")`` when a required file is not listed (incomplete); ``(True, reason)`` when a listed
    file is missing or its sha256 differs ("... altered after ``after``"), or when a listed name
    is unsafe (:func:`unsafe_name_problem`: checked for every name before any file is opened,
    so a crafted manifest cannot have a file outside ``directory`` hashed): damaged; ``None``
    when every file is there and intact."""
    directory = Path(directory)
    if not isinstance(files, Mapping):
        return True, f"{MANIFEST} has no file list"
    for name in required:
        if name not in files:
            return False, f"{name} is not in the manifest"
    for name in files:  # every name is checked before any file is opened
        unsafe = unsafe_name_problem(directory, name)
        if unsafe:
            return True, unsafe
    for name, meta in files.items():
        p = directory / name
        if not p.is_file():
            return True, f"{name}: file listed in the manifest is missing"
        expected = meta.get("sha256") if isinstance(meta, dict) else None
        found = sha256_file(p)
        if found != expected:
            return True, (f"{name}: checksum mismatch (expected sha256 {str(expected)[:12]}…, "
                          f"found {found[:12]}…): the file was altered after {after}")
    return None


def write_manifest(directory: str | Path, kind: str, fields: Mapping[str, Any] | None = None,
                   checksums: bool = True) -> dict:
    """Write ``manifest.json`` into ``directory``: the kind, ``fields`` and every other file with
    its size (and sha256 when ``checksums``)."""
    directory = Path(directory)
    files = {}
    for p in sorted(directory.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            entry: dict[str, Any] = {"bytes": p.stat().st_size}
            if checksums:
                entry["sha256"] = sha256_file(p)
            files[p.relative_to(directory).as_posix()] = entry
    manifest = {"kind": kind, **(fields or {}), "files": files}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _public_modes(path: Path) -> None:
    """Give ``path`` (a file, or a directory and everything in it) the modes a plain ``open`` /
    ``mkdir`` would have given it under the process's umask: temporary files and directories
    are created owner-only (0600 / 0700), which must not outlive the rename into place."""
    mask = _umask()
    items = [path, *path.rglob("*")] if path.is_dir() else [path]
    for p in items:
        if not p.is_symlink():
            os.chmod(p, (0o777 if p.is_dir() else 0o666) & ~mask)


def _leftover_pattern(path: Path) -> re.Pattern[str]:
    # tempfile's names: prefix + 8 characters of [a-z0-9_] + suffix
    return re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}\.(tmp|old)")


def _lock(fd: int) -> bool:
    """Take an exclusive ``flock`` on ``fd`` without waiting; False when another holds it."""
    if fcntl is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _hold(p: Path) -> int:
    """Open and lock ``p`` (a temporary of ours) for as long as it is being written."""
    fd = os.open(p, os.O_RDONLY)
    _lock(fd)
    return fd


def clean_leftovers(path: str | Path) -> list[Path]:
    """Remove the temporaries that an interrupted write of ``path`` left beside it (hidden
    siblings named ``.<name>.<8 chars>.tmp`` / ``.old``, see the module docstring) and return
    them. One that another process still holds locked is kept; so is an ``.old`` directory
    while ``path`` is missing (it may hold the previous artifact) or when it holds anything its
    manifest does not list. Without ``flock`` nothing is removed and the leftovers are logged."""
    path = Path(path)
    parent = path.parent
    if not parent.is_dir():
        return []
    pattern = _leftover_pattern(path)
    removed: list[Path] = []
    for p in sorted(parent.iterdir()):
        if not pattern.fullmatch(p.name) or p.is_symlink():
            continue
        if p.name.endswith(".old"):
            previous = p / "previous"
            if not (path.exists() and p.is_dir()) or (
                    previous.is_dir() and artifact_kind(previous) and unlisted_entries(previous)):
                continue
        try:
            fd = os.open(p, os.O_RDONLY)
        except OSError:
            continue
        try:
            if not _lock(fd):
                if fcntl is None:
                    log.warning("%s: left by an interrupted write, or being written by another "
                                "process; not removed", p)
                continue  # locked: another process is writing it right now
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p)
        finally:
            os.close(fd)
    if removed:
        log.warning("removed what an interrupted write of %s left: %s", path,
                    ", ".join(p.name for p in removed))
    return removed


def _link_into_place(tmp: Path, path: Path) -> None:
    """Put file ``tmp`` at ``path`` only if ``path`` does not exist at that moment."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise ArtifactError(
            f"{path}: was created by another process while this one was writing it; not "
            "replaced (choose another --out, or pass --overwrite)") from None
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV,
                           errno.EMLINK, errno.ENOSYS):
            raise
        # no hard links on this file system: the best left is a check just before the rename
        if path.exists() or path.is_symlink():
            raise ArtifactError(
                f"{path}: was created by another process while this one was writing it; not "
                "replaced (choose another --out, or pass --overwrite)") from None
        os.replace(tmp, path)
        return
    tmp.unlink()


@contextlib.contextmanager
def atomic_file(path: str | Path, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` when the block succeeds
    (with the mode a plain ``open`` would give it under the umask). With ``overwrite=False`` a
    ``path`` that exists when the block ends (another process wrote it meanwhile) is never
    replaced: :class:`ArtifactError`, and the temporary is removed. Leftovers of an earlier,
    killed write of ``path`` are removed first (:func:`clean_leftovers`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    _lock(fd)  # held until the end: a locked temporary is a live one, not a leftover
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _public_modes(tmp_path)
        if overwrite:
            os.replace(tmp_path, path)
        else:
            _link_into_place(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
        os.close(fd)


def _swap_in(tmp: Path, path: Path) -> None:
    """Put directory ``tmp`` at ``path``. A missing or empty ``path``: one rename. Otherwise two
    renames and a delete: the old directory is renamed aside into a hidden sibling, ``tmp`` is
    renamed to ``path``, then the old directory is deleted. If the second rename fails, the old
    directory is renamed back before the error propagates."""
    if not path.is_symlink() and (not path.exists() or not any(path.iterdir())):
        os.replace(tmp, path)  # rename(2) replaces an empty directory in one step
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
    fd = _hold(aside)
    keep = False
    try:
        os.replace(path, aside / "previous")
        try:
            os.replace(tmp, path)
        except BaseException:
            os.replace(aside / "previous", path)
            raise
        # something added to the old directory after it was checked is never deleted
        extra = unlisted_entries(aside / "previous")
        if extra:
            keep = True
            log.warning("%s: the replaced directory is kept at %s: files were added to it while "
                        "it was being replaced (%s)", path, aside / "previous", _named(extra))
    finally:
        os.close(fd)
        if not keep:
            shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(path: str | Path, kind: str | None = None, overwrite: bool = False,
               fields: Mapping[str, Any] | None = None, checksums: bool = True) -> Iterator[Path]:
    """Yield a new temporary directory beside ``path``; when the block succeeds, put it at ``path``.

    With ``kind``, a ``manifest.json`` is written last — ``{"kind": kind, **fields, "files":
    {name: {"bytes", "sha256"}}}`` — unless the block wrote its own, which must then carry the
    same ``"kind"``. Whether ``path`` may be written or replaced follows the module's rules
    (:func:`check_destination`), checked before the block and again before the swap. The swap:
    a missing or empty ``path`` is one rename; an existing artifact is renamed aside, the new
    directory renamed in, and the old one deleted (renamed back if the second rename fails; kept,
    with a warning, if files were added to it meanwhile). On any error or Ctrl-C inside the block, the temporary directory is removed and ``path`` is
    untouched.
    """
    path = Path(path)
    check_destination(path, kind, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    fd = _hold(tmp)  # held until the end: a locked temporary is a live one, not a leftover
    try:
        yield tmp
        if kind is not None:
            own = tmp / MANIFEST
            if own.exists():
                found = _read_json(own)
                if not (isinstance(found, dict) and found.get("kind") == kind):
                    raise ArtifactError(f"{path}: the {MANIFEST} written does not say kind {kind!r}")
            else:
                write_manifest(tmp, kind, fields, checksums)
        check_destination(path, kind, overwrite)
        _public_modes(tmp)
        _swap_in(tmp, path)
    finally:
        os.close(fd)
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
