"""Decisions on top of a model's outputs: calibrated probabilities (temperature scaling),
split-conformal prediction sets and the risk–coverage trade-off, and out-of-distribution scores.

Pure functions over logits / probabilities (numpy, scipy, scikit-learn): they do not know how a
model was trained, so every predictor kind can use them.
"""
