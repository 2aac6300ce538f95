"""The one directory writer (embedlab.atomic) and run checks (embedlab.artifacts): what may be
replaced, what happens when a write fails inside the writer, and damaged run directories."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from embedlab import atomic
from embedlab.artifacts import KIND, atomic_run_dir, ensure_free, verify_run, write_manifest
from embedlab.atomic import artifact_kind, atomic_dir, check_destination, check_writable
from embedlab.errors import ArtifactError

GOLDEN = Path(__file__).parent / "data" / "golden_run_v0"


def snapshot(d: Path) -> dict[str, bytes]:
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def write_run(out: Path, text: str, overwrite: bool = False) -> None:
    with atomic_run_dir(out, overwrite=overwrite) as tmp:
        (tmp / "weights.txt").write_text(text)


@pytest.fixture
def unwritable(tmp_path) -> Iterator[Path]:
    """A directory in which nothing can be created (root ignores permission bits, so /sys)."""
    if os.geteuid() == 0:
        yield Path("/sys")
        return
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o500)
    yield d
    d.chmod(0o700)


def test_new_directory_gets_a_manifest_with_kind_and_checksums(tmp_path):
    out = tmp_path / "a" / "run"
    write_run(out, "v1")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == KIND and manifest["format"] == "embedlab-run-v1"
    assert manifest["files"]["weights.txt"]["bytes"] == 2
    assert len(manifest["files"]["weights.txt"]["sha256"]) == 64
    assert artifact_kind(out) == KIND
    assert leftovers(out.parent) == []


def test_failure_inside_the_writer_keeps_the_old_run_and_leaves_no_temp(tmp_path):
    out = tmp_path / "run"
    write_run(out, "old")
    before = snapshot(out)
    with pytest.raises(RuntimeError, match="disk full"), atomic_run_dir(out, overwrite=True) as tmp:
        (tmp / "weights.txt").write_text("new, half written")
        (tmp / "more.txt").write_text("x")
        raise RuntimeError("disk full")
    assert snapshot(out) == before
    assert leftovers(tmp_path) == []
    with pytest.raises(KeyboardInterrupt), atomic_run_dir(tmp_path / "fresh") as tmp:
        (tmp / "weights.txt").write_text("x")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_overwrite_replaces_our_run_only_when_asked(tmp_path):
    out = tmp_path / "run"
    write_run(out, "old")
    with pytest.raises(ArtifactError, match="already exists.*--overwrite"):
        write_run(out, "new")
    assert (out / "weights.txt").read_text() == "old"
    write_run(out, "new", overwrite=True)
    assert (out / "weights.txt").read_text() == "new"
    assert json.loads((out / "manifest.json").read_text())["kind"] == KIND
    assert leftovers(tmp_path) == []


def test_a_failed_swap_puts_the_old_directory_back(tmp_path, monkeypatch):
    out = tmp_path / "run"
    write_run(out, "old")
    real = os.replace
    calls = []

    def replace(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # old renamed aside; now renaming the new one in fails
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OSError, match="No space"):
        write_run(out, "new", overwrite=True)
    monkeypatch.undo()
    assert len(calls) == 3  # aside, in (failed), back
    assert (out / "weights.txt").read_text() == "old"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("overwrite", [False, True])
def test_what_we_did_not_write_is_never_replaced(tmp_path, overwrite):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "notes.txt").write_text("mine")
    (proj / "base.csv").write_text("text,label\n")
    with pytest.raises(ArtifactError, match="embedlab did not write.*even with --overwrite"):
        write_run(proj, "x", overwrite=overwrite)
    assert snapshot(proj) == {"notes.txt": b"mine", "base.csv": b"text,label\n"}
    a_file = tmp_path / "file.txt"
    a_file.write_text("keep")
    with pytest.raises(ArtifactError, match="not a directory"):
        write_run(a_file, "x", overwrite=overwrite)
    assert a_file.read_text() == "keep"
    assert leftovers(tmp_path) == []


def test_an_artifact_of_another_kind_is_refused(tmp_path):
    out = tmp_path / "vec"
    with atomic_dir(out, kind="embedlab-vectors") as tmp:
        (tmp / "vectors.npy").write_bytes(b"x")
    with pytest.raises(ArtifactError, match="holds an embedlab-vectors directory, not an embedlab-run"):
        write_run(out, "x", overwrite=True)
    assert artifact_kind(out) == "embedlab-vectors"


def test_an_empty_directory_is_written(tmp_path):
    (tmp_path / "empty").mkdir()
    write_run(tmp_path / "empty", "x")
    assert (tmp_path / "empty" / "weights.txt").read_text() == "x"


def test_a_manifest_written_by_the_body_must_say_the_kind(tmp_path):
    out = tmp_path / "out"
    with (pytest.raises(ArtifactError, match="does not say kind 'embedlab-vectors'"),
          atomic_dir(out, kind="embedlab-vectors") as tmp):
        (tmp / "manifest.json").write_text('{"kind": "something-else"}')
    assert not out.exists() and leftovers(tmp_path) == []
    with atomic_dir(out, kind="embedlab-vectors") as tmp:
        (tmp / "manifest.json").write_text('{"kind": "embedlab-vectors", "words": 3}')
    assert json.loads((out / "manifest.json").read_text()) == {"kind": "embedlab-vectors", "words": 3}


def test_untyped_writer_replaces_artifacts_but_not_other_directories(tmp_path):
    """kind=None is for callers that check overwrite themselves (Vectors.save)."""
    out = tmp_path / "vec"
    with atomic_dir(out, kind="embedlab-vectors") as tmp:
        (tmp / "a").write_text("1")
    with atomic_dir(out) as tmp:
        (tmp / "manifest.json").write_text('{"kind": "embedlab-vectors"}')
    assert not (out / "a").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "x").write_text("x")
    with pytest.raises(ArtifactError, match="did not write"), atomic_dir(tmp_path / "mine"):
        pass
    assert (tmp_path / "mine" / "x").read_text() == "x"


def test_directories_from_before_manifests_had_a_kind_are_recognised(tmp_path):
    assert artifact_kind(GOLDEN / "cnn") == KIND  # manifest with format embedlab-run-v1 only
    old_vectors = tmp_path / "old"
    old_vectors.mkdir()
    (old_vectors / "meta.json").write_text('{"format": "embedlab-vectors", "version": 1}')
    (old_vectors / "vectors.kv").write_bytes(b"\x80")
    assert artifact_kind(old_vectors) == "embedlab-vectors"
    (old_vectors / "meta.json").write_text('{"format": "other"}')
    assert artifact_kind(old_vectors) is None
    copy = tmp_path / "golden"
    shutil.copytree(GOLDEN / "cnn", copy)
    write_run(copy, "new", overwrite=True)
    assert (copy / "weights.txt").read_text() == "new"


def test_unwritable_destinations_are_refused_before_any_work(tmp_path, unwritable):
    a_file = tmp_path / "f.txt"
    a_file.write_text("x")
    with pytest.raises(ArtifactError, match=r"cannot be written: .*f\.txt is a file"):
        ensure_free(a_file / "sub" / "run")
    with pytest.raises(ArtifactError, match="cannot be written: .* is not writable"):
        check_writable(unwritable / "run")
    with pytest.raises(ArtifactError, match="not writable"):
        check_destination(unwritable / "deeper" / "run", kind=KIND)
    assert leftovers(tmp_path) == []
    assert a_file.read_text() == "x"


def test_train_run_checks_the_destination_before_training(tmp_path, monkeypatch, unwritable):
    from embedlab.config import RunConfig
    from embedlab.training import run

    def no_training(*a, **k):
        raise AssertionError("training started before the destination was checked")

    monkeypatch.setattr(run, "load_splits", no_training)
    cfg = RunConfig.from_dict({"data": {"dataset": "ag_news_sample"}, "model": {"name": "bag"}})
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "base.csv").write_text("text,label\n")
    with pytest.raises(ArtifactError, match="did not write"):
        run.train_run(cfg, proj, overwrite=True)
    with pytest.raises(ArtifactError, match="not writable"):
        run.train_run(cfg, unwritable / "run")
    assert (proj / "base.csv").read_text() == "text,label\n"


# ----------------------------------------------------------------------------- damaged runs
def damaged_copy(tmp_path: Path, name: str, damage) -> Path:
    """A copy of a golden run with ``name`` damaged and the manifest's checksums recomputed."""
    d = tmp_path / "damaged"
    shutil.copytree(GOLDEN / "cnn", d)
    p = d / name
    p.write_bytes(damage(p.read_bytes()))
    write_manifest(d)
    return d


@pytest.mark.parametrize(("name", "damage", "reason"), [
    ("model.safetensors", lambda b: b[: len(b) // 2], "model.safetensors cannot be read"),
    ("model.safetensors", lambda b: b[:8] + b"[" + b[9:], "model.safetensors cannot be read"),
    ("model.safetensors", lambda b: b[:5], "model.safetensors cannot be read"),
    ("vocab.json", lambda b: b[:-10], "vocab.json is not valid JSON"),
    ("config.yaml", lambda b: b + b"\n  - [unclosed", "config.yaml is not valid YAML"),
])
def test_damaged_run_with_recomputed_checksums_is_one_line(tmp_path, name, damage, reason):
    import embedlab

    d = damaged_copy(tmp_path, name, damage)
    with pytest.raises(ArtifactError, match=f"this run directory is damaged: {reason}") as e:
        verify_run(d)
    assert "\n" not in str(e.value)
    with pytest.raises(ArtifactError, match="this run directory is damaged"):
        embedlab.load(d)


def test_altered_file_is_reported_as_damage_with_its_checksum(tmp_path):
    d = tmp_path / "run"
    shutil.copytree(GOLDEN / "bag", d)
    (d / "labels.json").write_text((d / "labels.json").read_text().replace("World", "Wrold"))
    with pytest.raises(ArtifactError, match="damaged: labels.json: checksum mismatch"):
        verify_run(d)


def test_a_directory_of_another_kind_is_not_a_run(tmp_path):
    d = tmp_path / "vec"
    with atomic_dir(d, kind="embedlab-vectors") as tmp:
        (tmp / "vectors.npy").write_bytes(b"x")
    with pytest.raises(ArtifactError, match="not a run directory.*embedlab-vectors"):
        verify_run(d)


def test_outputs_get_the_umask_modes_not_the_temporary_owner_only_ones(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic.atomic_file(tmp_path / "preds.csv") as tmp:
            tmp.write_text("a\n")
        with atomic_dir(tmp_path / "run", kind="embedlab-run") as tmp:
            (tmp / "sub").mkdir()
            (tmp / "sub" / "w.bin").write_bytes(b"x")
            os.chmod(tmp / "sub" / "w.bin", 0o600)  # as safetensors' save_file leaves it
        os.umask(0o027)
        with atomic.atomic_file(tmp_path / "strict.csv") as tmp:
            tmp.write_text("a\n")
    finally:
        os.umask(old)

    def mode(p: str) -> int:
        return (tmp_path / p).stat().st_mode & 0o777

    assert mode("preds.csv") == 0o644 and mode("strict.csv") == 0o640
    assert mode("run") == 0o755 and mode("run/sub") == 0o755
    assert mode("run/sub/w.bin") == 0o644 and mode("run/manifest.json") == 0o644
