"""K-fold cross-validation of the held-out log-likelihood and L1 selection.

Held-out score = mean log-likelihood per tumour of the test folds (exact, or importance-sampled
for tumours with more than 16 events), the metric of the MHN and Gotovos et al. papers. The L1
grid follows ``mhn``'s ``lambda_from_cv``: a log grid around 1/N.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from biomodels.ctmc.fit import data_log_likelihood, fit_theta

__all__ = ["kfold_indices", "cross_validate", "select_l1", "default_l1_grid"]


def kfold_indices(n_tumours: int, folds: int = 5, *, seed: int | None = 0) -> list[np.ndarray]:
    """Shuffle tumours and split them into ``folds`` test sets of nearly equal size."""
    if folds < 2 or folds > n_tumours:
        raise ValueError(f"folds must be in [2, {n_tumours}], got {folds}")
    perm = np.random.default_rng(seed).permutation(n_tumours)
    return [np.sort(part) for part in np.array_split(perm, folds)]


def default_l1_grid(n_tumours: int, steps: int = 5) -> np.ndarray:
    """Log-spaced grid from 0.1/N to 10/N (``mhn``'s range)."""
    return np.geomspace(0.1 / n_tumours, 10.0 / n_tumours, steps)


def cross_validate(
    x: np.ndarray,
    l1: float,
    *,
    folds: int = 5,
    seed: int | None = 0,
    fold_indices: Sequence[np.ndarray] | None = None,
    **fit_kwargs: Any,
) -> np.ndarray:
    """Held-out mean log-likelihood per tumour of each fold.

    Parameters
    ----------
    x
        Binary (N, n) uint8 matrix.
    l1
        Penalty strength.
    folds, seed
        Number of folds and shuffling seed (ignored when ``fold_indices`` is given).
    fold_indices
        Explicit test-set indices (e.g. to share folds with another package).
    **fit_kwargs
        Passed to :func:`~biomodels.ctmc.fit.fit_theta`.

    Returns
    -------
    np.ndarray
        (folds,) held-out mean log-likelihoods.
    """
    x = np.asarray(x, dtype=np.uint8)
    tests = (
        list(fold_indices) if fold_indices is not None else kfold_indices(len(x), folds, seed=seed)
    )
    scores = []
    for test in tests:
        train = np.setdiff1d(np.arange(len(x)), test)
        res = fit_theta(x[train], l1=l1, seed=seed, **fit_kwargs)
        ll = data_log_likelihood(torch.as_tensor(res.theta), x[test])
        scores.append(float(ll.mean()))
    return np.asarray(scores)


def select_l1(
    x: np.ndarray,
    grid: Sequence[float] | None = None,
    *,
    folds: int = 5,
    seed: int | None = 0,
    one_se: bool = False,
    **fit_kwargs: Any,
) -> tuple[float, dict[float, np.ndarray]]:
    """Choose the L1 strength by k-fold cross-validated held-out log-likelihood.

    Parameters
    ----------
    x
        Binary (N, n) matrix.
    grid
        Candidate strengths (default :func:`default_l1_grid`).
    folds, seed
        CV settings (the same folds for every candidate).
    one_se
        Pick the largest strength within one standard error of the best (``mhn``'s rule)
        instead of the best.
    **fit_kwargs
        Passed to the fits.

    Returns
    -------
    best, scores
        The chosen strength and the per-fold scores of every candidate.
    """
    x = np.asarray(x, dtype=np.uint8)
    grid = list(default_l1_grid(len(x)) if grid is None else grid)
    tests = kfold_indices(len(x), folds, seed=seed)
    scores = {
        float(g): cross_validate(x, float(g), fold_indices=tests, seed=seed, **fit_kwargs)
        for g in grid
    }
    means = {g: s.mean() for g, s in scores.items()}
    best = max(means, key=means.get)
    if one_se:
        se = scores[best].std(ddof=1) / np.sqrt(len(scores[best]))
        ok = [g for g in means if means[g] >= means[best] - se]
        best = max(ok)
    return best, scores
