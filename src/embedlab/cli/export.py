"""``embedlab export RUN --format onnx --out DIR``: a verified ONNX export of a run."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from embedlab.cli.common import console, setup_logging


class ExportFormat(str, Enum):
    onnx = "onnx"


def export(
    run: Annotated[Path, typer.Argument(help="run directory")],
    out: Annotated[Path, typer.Option(help="export directory to write")],
    format: Annotated[ExportFormat, typer.Option("--format", help="export format")] = ExportFormat.onnx,
    texts: Annotated[Path | None, typer.Option(
        help="UTF-8 file, one text per line, to verify the export on (default: texts built "
             "from the run's vocabulary)")] = None,
    tolerance: Annotated[float, typer.Option(
        min=0.0, help="largest probability difference to PyTorch accepted")] = 1e-4,
    overwrite: Annotated[bool, typer.Option(help="replace an existing export directory")] = False,
) -> None:
    """Export a run to ONNX (dynamic batch and length) with its preprocessing files.

    The export is run on onnxruntime and PyTorch before it is written; it is refused (exit 1,
    nothing written) if their probabilities differ by more than --tolerance. Load it with
    embedlab.load(DIR) or `embedlab predict DIR "text"` (no torch needed).
    """
    from embedlab.export.onnx import export_onnx

    setup_logging()
    check = None
    if texts is not None:
        from embedlab.data.tables import read_chunks

        check = [t for chunk in read_chunks(texts) for t in chunk.texts if t.strip()]
    report = export_onnx(run, out, overwrite=overwrite, texts=check, tolerance=tolerance)
    console.print(f"exported {report.model} to [bold]{out}[/] ({report.onnx_bytes / 1e6:.1f} MB "
                  f"model.onnx); verified on {report.texts_checked} texts: largest probability "
                  f"difference {report.max_abs_diff:.1e} (tolerance {report.tolerance:.0e})",
                  highlight=False, soft_wrap=True)
