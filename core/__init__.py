"""core (distribution prunus): the shared sparse engine (masks, pruning, mirror-flow optimizers)."""

from __future__ import annotations

import numpy as _np
import torch as _torch

from core.atomic import atomic_outputs, atomic_path, save_torch, write_json
from core.budgets import layer_budgets, layer_densities, random_mask
from core.fingerprint import fingerprint
from core.ham import HAM, hyperbolic_step
from core.horst import HORST
from core.masks import MaskSet, prunable_names
from core.nanoadam import NanoAdam
from core.provenance import check_numpy_abi as _check_numpy_abi
from core.provenance import environment
from core.reparam import (
    PILoT,
    balanced_split,
    hadamard,
    hadamard_factors,
    hadamard_l1,
    hadamard_penalty,
    remove_hadamard,
    sign_in_reset,
)
from core.schedules import IMP, LRR, Cyclic, PruningSchedule, geometric_densities
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

# on import, not deep inside a fit where the first from_numpy fails
_check_numpy_abi(str(_torch.__version__), _np.__version__)

__all__ = [
    "atomic_outputs",
    "atomic_path",
    "save_torch",
    "write_json",
    "fingerprint",
    "environment",
    # masks and selection
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
    # schedules
    "PruningSchedule",
    "IMP",
    "LRR",
    "Cyclic",
    "geometric_densities",
    # mirror-flow optimizers and reparameterization
    "HAM",
    "hyperbolic_step",
    "HORST",
    "NanoAdam",
    "hadamard",
    "hadamard_factors",
    "remove_hadamard",
    "balanced_split",
    "sign_in_reset",
    "hadamard_penalty",
    "hadamard_l1",
    "PILoT",
]
