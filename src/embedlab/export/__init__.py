"""Export a trained run to ONNX and run the export with onnxruntime (no torch needed to load).

>>> from embedlab.export import export_onnx                  # doctest: +SKIP
>>> report = export_onnx("runs/ag-cnn", "exported/ag-cnn")    # verified against PyTorch
>>> import embedlab; embedlab.load("exported/ag-cnn").predict(["..."])

Names are imported lazily: ``OnnxPredictor`` needs onnxruntime but not torch; ``export_onnx``
needs torch and onnx.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "EXPORT_KIND": "embedlab.export.runtime",
    "OnnxPredictor": "embedlab.export.runtime",
    "verify_export": "embedlab.export.runtime",
    "ExportReport": "embedlab.export.onnx",
    "export_onnx": "embedlab.export.onnx",
    "held_out_texts": "embedlab.export.onnx",
}

__all__ = ["EXPORT_KIND", "ExportReport", "OnnxPredictor", "export_onnx", "held_out_texts",
           "verify_export"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'embedlab.export' has no attribute '{name}'")
