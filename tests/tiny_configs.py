"""The small run configurations that several test files share (one home, imported by them)."""

from __future__ import annotations

from typing import Any

#: a bag model on 240 AG News sample rows, 2 epochs: the base of the grid and search tests
BAG_BASE: dict[str, Any] = {
    "data": {"dataset": "ag_news_sample", "limit": 240},
    "model": {"name": "bag"},
    "embeddings": {"dim": 8},
    "training": {"epochs": 2, "batch_size": 32, "threads": 1, "progress": False},
}
