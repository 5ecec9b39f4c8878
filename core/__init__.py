"""prunus.core: the shared sparse engine (masks, pruning, mirror-flow optimizers)."""

from __future__ import annotations

from core.atomic import atomic_path, write_json
from core.budgets import layer_budgets, layer_densities, random_mask
from core.masks import MaskSet, prunable_names
from core.scores import (
    check_scores,
    gradient_scores,
    input_norms,
    magnitude_mask,
    magnitude_scores,
    score_mask,
    wanda_scores,
)
from core.select import kth_largest, select_topk

__all__ = [
    "atomic_path",
    "write_json",
    "MaskSet",
    "prunable_names",
    "select_topk",
    "kth_largest",
    "magnitude_mask",
    "magnitude_scores",
    "gradient_scores",
    "wanda_scores",
    "input_norms",
    "check_scores",
    "score_mask",
    "random_mask",
    "layer_budgets",
    "layer_densities",
]
