"""Run directories: written atomically, verified by checksums on load, no pickle anywhere.

A run directory holds ``config.yaml``, ``vocab.json``, ``labels.json``, ``model.json``,
``model.safetensors`` and, when trained through the pipeline, ``metrics.json``,
``history.json`` and PNG plots; ``manifest.json`` (kind :data:`embedlab.kinds.RUN_KIND`) lists every file
with its size and sha256. Writing goes through :func:`embedlab.atomic.atomic_dir`, the one
writer that refuses to replace what embedlab did not write (``--overwrite`` included: a run
holding a file its manifest does not list, e.g. the user's notes, is refused, naming it).

:func:`load` is ``embedlab.load``: it reads a directory's kind (:mod:`embedlab.kinds`) and hands
it to that kind's predictor — a run, an ensemble or an ONNX export.

A run directory is self-contained: :func:`verify_run` refuses a manifest entry that is not a
plain relative name inside the directory (``../x``, ``/etc/x``) before opening anything, and
refuses a listed file that is a symbolic link or lies in a linked folder rather than following
it — a link could make loading read, and report on, files outside the directory. (Unlisted
entries are never read; a linked ``manifest.json`` is refused before it is read.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from embedlab.atomic import (
    MANIFEST,
    artifact_kind,
    atomic_dir,
    check_destination,
    listed_file_problem,
    refuse_link,
    sha256_file,
)
from embedlab.atomic import write_manifest as _write_manifest
from embedlab.errors import ArtifactError
from embedlab.kinds import ENSEMBLE_KIND, EXPORT_KIND
from embedlab.kinds import RUN_FORMAT as FORMAT
from embedlab.kinds import RUN_KIND as KIND

if TYPE_CHECKING:
    from embedlab.inference.prediction import TextPredictor

REQUIRED = ("config.yaml", "vocab.json", "labels.json", "model.json", "model.safetensors")

__all__ = ["FORMAT", "KIND", "MANIFEST", "REQUIRED", "atomic_run_dir", "check_run_files",
           "ensure_free", "load", "sha256_file", "verify_run", "write_manifest"]


def write_manifest(directory: Path) -> dict:
    """Write a run manifest (kind, format, every file's size and sha256) into ``directory``."""
    return _write_manifest(directory, KIND, {"format": FORMAT})


def ensure_free(out: str | Path, overwrite: bool = False) -> Path:
    """Check, before training starts, that a run directory can be written at ``out``: it is new
    or empty, or an existing run replaced only with ``overwrite``; anything embedlab did not write
    is refused even with ``overwrite``; the location must be writable."""
    return check_destination(out, KIND, overwrite)


@contextmanager
def atomic_run_dir(out: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary directory beside ``out``; on success it gets a run manifest and is put
    at ``out`` (see :func:`embedlab.atomic.atomic_dir` for the swap). On any error or Ctrl-C it
    is removed and ``out`` is untouched."""
    with atomic_dir(out, kind=KIND, overwrite=overwrite, fields={"format": FORMAT}) as tmp:
        yield tmp


def _damaged(d: Path, detail: str) -> ArtifactError:
    return ArtifactError(f"{d}: this run directory is damaged: {detail}")


def check_run_files(directory: str | Path) -> None:
    """Check that the run's files can be read as what they claim to be — the safetensors header
    and sizes, JSON and YAML syntax — so a damaged file whose checksum was recomputed gives one
    line ("this run directory is damaged: ...") instead of a parser's traceback."""
    import yaml
    from safetensors import SafetensorError, safe_open

    d = Path(directory)
    weights = d / "model.safetensors"
    try:
        with safe_open(str(weights), framework="numpy") as f:
            f.keys()
    except (SafetensorError, OSError, ValueError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise _damaged(d, f"model.safetensors cannot be read ({reason})") from None
    for name in ("vocab.json", "labels.json", "model.json"):
        try:
            json.loads((d / name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise _damaged(d, f"{name} is not valid JSON ({str(e).splitlines()[0]})") from None
    try:
        yaml.safe_load((d / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise _damaged(d, f"config.yaml is not valid YAML ({str(e).splitlines()[0]})") from None


def verify_run(directory: str | Path) -> dict:
    """Check the run is complete, unaltered (sha256 of every file) and readable; return its
    manifest. Every manifest entry must be a plain relative name inside the directory and no
    symbolic link (checked before any file is opened). Every failure is one
    :class:`ArtifactError` line naming the file."""
    d = Path(directory)
    if not d.exists():
        raise ArtifactError(f"{d}: run directory not found")
    if not d.is_dir():
        raise ArtifactError(f"{d}: not a run directory but a file; give the folder that "
                            "`embedlab train --out` wrote")
    mpath = refuse_link(d / MANIFEST)
    if not mpath.is_file():
        if not any((d / name).exists() for name in REQUIRED):
            raise ArtifactError(f"{d}: not a run directory (no {MANIFEST} and none of "
                                f"{', '.join(REQUIRED)}); give the folder that "
                                "`embedlab train --out` wrote")
        raise ArtifactError(f"{d}: incomplete run: {MANIFEST} is missing (was training interrupted?)")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
        files = manifest["files"]
        if not isinstance(files, dict):
            raise TypeError
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
        raise _damaged(d, f"{MANIFEST} is not a valid run manifest") from None
    kind = artifact_kind(d)
    if kind != KIND:
        raise ArtifactError(f"{d}: not a run directory ({MANIFEST} says {kind or 'no kind'})")
    problem = listed_file_problem(d, files, REQUIRED, "training")
    if problem and not problem[0]:
        raise ArtifactError(f"{d}: incomplete run: {problem[1]}")
    if problem:
        raise _damaged(d, problem[1])
    check_run_files(d)
    return manifest


def load(directory: str | Path) -> TextPredictor:
    """Load a trained run directory (PyTorch), an ensemble of runs or an ONNX export
    (onnxruntime) for prediction, by the kind its manifest declares. Each predictor module is
    imported only when its kind is loaded, so loading an export does not import torch."""
    d = Path(directory)
    kind = artifact_kind(d)
    if kind == ENSEMBLE_KIND:
        from embedlab.inference.ensemble import EnsemblePredictor

        return EnsemblePredictor.load(d)
    if kind == EXPORT_KIND or (d / "model.onnx").is_file():
        from embedlab.export.runtime import OnnxPredictor

        return OnnxPredictor.load(d)
    from embedlab.inference.predictor import Predictor

    return Predictor.load(d)
