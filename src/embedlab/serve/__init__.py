"""Serve trained runs over HTTP: a FastAPI app (model cards, prediction, Prometheus metrics, a
web page) and ``embedlab serve`` to run it under uvicorn. Needs the ``serve`` extra.

>>> from embedlab.serve import create_app                      # doctest: +SKIP
>>> app = create_app(["runs/ag-cnn", "trec=runs/trec-cnn"])     # doctest: +SKIP
"""

from __future__ import annotations

from embedlab.serve.app import create_app
from embedlab.serve.schemas import ServeLimits

__all__ = ["ServeLimits", "create_app"]
