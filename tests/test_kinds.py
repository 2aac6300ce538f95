"""Artifact kinds are spelled once, in :mod:`embedlab.kinds`: no other module's code holds a kind
string (docstrings may name one), so a writer and its reader cannot drift apart."""

from __future__ import annotations

import ast
from pathlib import Path

import embedlab
from embedlab import kinds
from embedlab.atomic import artifact_kind, atomic_dir

SRC = Path(embedlab.__file__).parent


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string nodes that are docstrings (module, class, function)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                ids.add(id(body[0].value))
    return ids


def test_every_kind_string_in_code_is_in_kinds_module_only():
    spelled = set(kinds.KINDS) | {kinds.RUN_FORMAT, kinds.ENSEMBLE_FORMAT, kinds.EXPORT_FORMAT,
                                  kinds.EXPERIMENT_FORMAT}
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "kinds.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and node.value in spelled and id(node) not in docs):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}: {node.value!r}")
    assert found == [], "kind strings outside embedlab/kinds.py:\n" + "\n".join(found)


def test_every_kind_written_by_atomic_dir_is_read_back_as_that_kind(tmp_path):
    """``artifact_kind`` recognises each declared kind (and tells them apart)."""
    for kind in kinds.KINDS:
        out = tmp_path / kind
        with atomic_dir(out, kind=kind) as tmp:
            (tmp / "notes.txt").write_text("x")
        assert artifact_kind(out) == kind
    assert len(set(kinds.KINDS)) == len(kinds.KINDS)
