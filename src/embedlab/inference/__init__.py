"""Inference: texts → padded id batches, the batched forward pass, predictions, batch files.

Used by training (validation) and prediction alike; importing it does not import torch
(``forward`` does: it holds the PyTorch forward pass).

* :mod:`embedlab.inference.encoding` — encoding and the length-sorted batching rule (numpy);
* :mod:`embedlab.inference.forward` — ``EncodedTexts`` and ``predict_logits`` (PyTorch);
* :mod:`embedlab.inference.prediction` — ``Prediction``, ``TextPredictor`` and the empty-text rule;
* :mod:`embedlab.inference.predictor` — ``Predictor``, a run's PyTorch model (torch on load);
* :mod:`embedlab.inference.ensemble` — ``EnsemblePredictor``, soft voting over runs;
* :mod:`embedlab.inference.files` — streaming prediction over files (read by
  :mod:`embedlab.data.tables`).
"""

from embedlab.inference.encoding import INFERENCE_BATCH, EncodedArrays, encode_texts
from embedlab.inference.prediction import Prediction, TextPredictor

__all__ = ["INFERENCE_BATCH", "EncodedArrays", "Prediction", "TextPredictor", "encode_texts"]
