"""Run directories: written atomically, verified by checksums on load, no pickle anywhere.

A run directory holds ``config.yaml``, ``vocab.json``, ``labels.json``, ``model.json``,
``model.safetensors`` and, when trained through the pipeline, ``metrics.json``,
``history.json`` and PNG plots; ``manifest.json`` lists every file with its sha256.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from embedlab.atomic import atomic_dir
from embedlab.errors import ArtifactError

MANIFEST = "manifest.json"
REQUIRED = ("config.yaml", "vocab.json", "labels.json", "model.json", "model.safetensors")
FORMAT = "embedlab-run-v1"


def sha256_file(path: Path) -> str:
    """Hash the bytes every time: unlike :func:`embedlab.download.sha256_file`, which memoises by
    path, size and mtime, a run check must see an edit that kept both."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(directory: Path) -> dict:
    files = {
        p.relative_to(directory).as_posix(): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }
    manifest = {"format": FORMAT, "files": files}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def ensure_free(out: str | Path, overwrite: bool = False) -> Path:
    """Refuse to replace a non-empty directory unless asked (checked before training starts)."""
    out = Path(out)
    if out.exists() and not overwrite and (not out.is_dir() or any(out.iterdir())):
        raise ArtifactError(f"{out}: run directory already exists; choose another --out or pass --overwrite")
    return out


@contextmanager
def atomic_run_dir(out: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary directory beside ``out``; on success it gets a manifest and becomes
    ``out`` in one rename. On any error or Ctrl-C it is removed and ``out`` is untouched."""
    out = ensure_free(out, overwrite)
    with atomic_dir(out) as tmp:
        yield tmp
        write_manifest(tmp)


def verify_run(directory: str | Path) -> dict:
    """Check the run is complete and unaltered; return its manifest."""
    d = Path(directory)
    if not d.is_dir():
        raise ArtifactError(f"{d}: run directory not found")
    mpath = d / MANIFEST
    if not mpath.is_file():
        raise ArtifactError(f"{d}: incomplete run: {MANIFEST} is missing (was training interrupted?)")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
        files = manifest["files"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise ArtifactError(f"{mpath}: not a valid run manifest") from None
    for name in REQUIRED:
        if name not in files:
            raise ArtifactError(f"{d}: incomplete run: {name} is not in the manifest")
    for name, meta in files.items():
        p = d / name
        if not p.is_file():
            raise ArtifactError(f"{p}: file listed in the manifest is missing")
        found = sha256_file(p)
        if found != meta["sha256"]:
            raise ArtifactError(
                f"{p}: checksum mismatch (expected sha256 {meta['sha256'][:12]}…, found {found[:12]}…): "
                "the file was altered after training"
            )
    return manifest
