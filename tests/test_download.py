"""embedlab.download: one file type, one resolver and one cache root for data sets and vectors."""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from embedlab import download
from embedlab.data import builtin as datasets
from embedlab.download import RemoteFile, cache_dir, fetch_file, locate
from embedlab.embeddings import load, registry
from embedlab.errors import DataError

VECTORS = "a 1 0 0\nb 0 1 0\nc 0 0 1\n"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("EMBEDLAB_DATA_MIRROR", raising=False)


def _zip(member: str, text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(member, text)
    return buf.getvalue()


def _one_line_error(call, *args, match: str, **kwargs) -> str:
    with pytest.raises(DataError, match=match) as info:
        call(*args, **kwargs)
    assert "\n" not in str(info.value)
    return str(info.value)


def _files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_zip_member_is_downloaded_once_verified_and_extracted(http_root) -> None:
    root, base, requests = http_root
    data = _zip("toy.3d.txt", VECTORS)
    (root / "toy.zip").write_bytes(data)
    file = RemoteFile("toy.3d.txt", f"{base}toy.zip", hashlib.sha256(data).hexdigest(),
                      len(data), member="toy.3d.txt")
    assert file.download_name == "toy.zip" and file.check == "sha256"
    found = locate(file, "vectors")
    assert found.path == cache_dir() / "vectors" / "toy.3d.txt"
    assert found.path.read_text() == VECTORS
    assert _files_under(cache_dir()) == ["vectors/downloads/toy.zip", "vectors/toy.3d.txt"]
    assert locate(file, "vectors").path == found.path and requests == ["/toy.zip"]


def test_wrong_checksum_or_size_keeps_nothing(http_root) -> None:
    root, base, requests = http_root
    data = _zip("toy.3d.txt", VECTORS)
    (root / "toy.zip").write_bytes(data)
    wrong_sha = RemoteFile("toy.3d.txt", f"{base}toy.zip", "0" * 64, member="toy.3d.txt")
    _one_line_error(locate, wrong_sha, "vectors",
                    match=rf"checksum mismatch for {base}toy\.zip: expected sha256 0{{64}}")
    wrong_size = RemoteFile("toy.3d.txt", f"{base}toy.zip", None, len(data) + 1,
                            member="toy.3d.txt")
    assert wrong_size.check == "size"
    _one_line_error(locate, wrong_size, "vectors",
                    match=rf"announces {len(data):,} bytes, expected {len(data) + 1:,}; not "
                    r"downloaded .*no local copy at")
    assert _files_under(cache_dir()) == []
    assert len(requests) == 2


def test_size_only_source_checks_the_size_of_a_cached_file(tmp_path: Path) -> None:
    src = tmp_path / "src" / "v.txt"
    src.parent.mkdir()
    src.write_text(VECTORS)
    file = RemoteFile("v.txt", src.as_uri(), None, len(VECTORS))
    assert locate(file, "vectors").path.read_text() == VECTORS
    cached = cache_dir() / "vectors" / "v.txt"
    cached.write_text(VECTORS + "d 1 1 1\n")
    _one_line_error(locate, file, "vectors",
                    match=rf"v\.txt: cached file has {len(VECTORS) + 8:,} bytes, expected "
                    rf"{len(VECTORS)}; it is incomplete")
    unchecked = RemoteFile("v.txt", src.as_uri())
    assert unchecked.check == "none" and locate(unchecked, "vectors").path == cached


def test_gzip_member_and_damaged_archives(tmp_path: Path) -> None:
    gz = tmp_path / "model.bin.gz"
    gz.write_bytes(gzip.compress(b"\x00binary vectors\x01"))
    file = RemoteFile("model.bin", gz.as_uri(), hashlib.sha256(gz.read_bytes()).hexdigest(),
                      member="model.bin")
    assert locate(file, "vectors").path.read_bytes() == b"\x00binary vectors\x01"

    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK not really a zip")
    damaged = RemoteFile("x.txt", bad.as_uri(), hashlib.sha256(bad.read_bytes()).hexdigest(),
                         member="x.txt")
    _one_line_error(locate, damaged, "other", match=r"bad\.zip is not a valid zip file .*"
                    "delete it and retry")
    assert not (cache_dir() / "other" / "x.txt").exists()
    other = tmp_path / "other.zip"
    other.write_bytes(_zip("y.txt", "y"))
    missing = RemoteFile("x.txt", other.as_uri(), member="x.txt")
    _one_line_error(locate, missing, "third", match=r"other\.zip has no member x\.txt")


def test_mirror_serves_vector_archives_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror"
    (mirror / registry.MIRROR_DIR).mkdir(parents=True)
    data = _zip("toy.3d.txt", VECTORS)
    (mirror / "vectors" / "toy.zip").write_bytes(data)
    monkeypatch.setenv("EMBEDLAB_DATA_MIRROR", str(mirror))
    unreachable = "http://127.0.0.1:9/toy.zip"  # never contacted: the mirror has it
    src = registry.Source("toy-3d", 3, 3, "glove-text",
                          RemoteFile("toy.3d.txt", unreachable, hashlib.sha256(data).hexdigest(),
                                     len(data), member="toy.3d.txt"))
    monkeypatch.setitem(registry.SOURCES, "toy-3d", src)
    vectors = load("toy-3d")
    assert vectors.words == ["a", "b", "c"] and src.path.parent == cache_dir() / "vectors"

    altered = registry.Source("toy-bad", 3, 3, "glove-text",
                              RemoteFile("toy.bad.txt", unreachable, "1" * 64, len(data),
                                         member="toy.bad.txt"))
    (mirror / "vectors" / "toy.zip").write_bytes(_zip("toy.bad.txt", VECTORS))
    monkeypatch.setitem(registry.SOURCES, "toy-bad", altered)
    _one_line_error(load, "toy-bad", match=r"toy\.zip: sha256 [0-9a-f]{64} matches neither "
                    r"the expected 1{64}")


def test_datasets_and_vectors_share_one_type_resolver_and_cache_root() -> None:
    assert issubclass(datasets.DataFile, RemoteFile)
    assert all(isinstance(s.file, RemoteFile) for s in registry.SOURCES.values())
    assert registry.cache_dir() == download.cache_dir() / "vectors"
    assert datasets.locate is download.locate and registry.download.locate is download.locate


def test_every_registered_source_is_size_or_checksum_checked() -> None:
    for source in registry.SOURCES.values():
        if source.built:  # made here from an installed package, never downloaded
            assert source.package and source.file.url is None, source.name
            continue
        assert source.file.size is not None and source.file.size > 100_000_000, source.name
        sha = source.file.sha256
        assert sha is None or (len(sha) == 64 and int(sha, 16) >= 0), source.name
    checks = {s.name: s.check for s in registry.SOURCES.values()}
    assert checks["glove-6b-50d"] == checks["fasttext-crawl-300d-2m"] == "sha256"
    assert checks["fasttext-cc-en-300-bin"] == "size"


def test_embeddings_list_says_how_each_source_is_checked() -> None:
    from embedlab.cli import app

    result = CliRunner().invoke(app, ["embeddings", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines()
            if line.count("│") > 5}
    assert set(rows) >= set(registry.SOURCES)
    for name, source in registry.SOURCES.items():
        expected = "manifest" if source.built else {
            "sha256": "sha256", "size": "size only", "none": "unchecked"}[source.check]
        assert f"│ {expected} " in rows[name], rows[name]
    assert "size only = no checksum is published" in " ".join(result.output.split())


def test_fetch_file_refuses_a_short_download_without_content_length(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class _NoLength:
        headers: ClassVar[dict[str, str]] = {}

        def __init__(self) -> None:
            self._body = io.BytesIO(b"short")

        def read(self, n: int) -> bytes:
            return self._body.read(n)

    import contextlib

    @contextlib.contextmanager
    def fake_open(url: str, timeout: float):
        yield _NoLength()

    monkeypatch.setattr(download, "_open_url", fake_open)
    dest = tmp_path / "d" / "file.bin"
    _one_line_error(fetch_file, "http://example.invalid/file.bin", dest, None, size=10,
                    match=r"size mismatch for .*expected 10 bytes, received 5")
    assert _files_under(tmp_path / "d") == []
