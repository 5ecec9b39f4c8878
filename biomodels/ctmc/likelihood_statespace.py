"""Exact MHN likelihood over the full state space, p = (I - Q)^-1 e_empty.

Convention (as in MHN and the ``mhn`` package): ``theta[i, j]`` is the effect of event j on
the rate of event i (rows are targets); the diagonal holds the base rates, so in state S event
i not in S occurs at rate ``exp(theta[i, i] + sum_{j in S} theta[i, j])``. States are indexed
by bit masks, bit i = event i. The tumour is observed at T ~ Exp(1), hence

    p = integral_0^inf e^-t exp(tQ) e_empty dt = (I - Q)^-1 e_empty

(Schill et al., Bioinformatics 36(1):241, 2020). Q = sum_i Q_i is a sum of Kronecker products
of 2x2 factors; we evaluate each Q_i through its diagonal Kronecker factor (the per-state rate
table of shape (2^n, n), kept as log rates) and solve level by level in log space, never forming
a 2^n x 2^n matrix.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from biomodels.ctmc._checks import as_binary_tensor, as_theta
from biomodels.ctmc._solve import log1p_sum_exp, solve_lattice_log, subset_bits

__all__ = [
    "MAX_STATESPACE_EVENTS",
    "log_state_distribution",
    "state_distribution",
    "state_index",
    "statespace_log_likelihood",
]

MAX_STATESPACE_EVENTS = 24


def log_state_distribution(theta: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Log-probabilities of all 2^n observable states under the MHN with parameters ``theta``.

    Computed in log space throughout, so states far below the floating-point range of
    probabilities (e.g. e^-800, or e^-100 in float32) keep finite, accurate values.

    Parameters
    ----------
    theta
        (n, n) log-hazard matrix, rows = affected event i, columns = influencing event j,
        diagonal = log base rates. dtype/device are followed (use float64 for precision).

    Returns
    -------
    torch.Tensor
        Shape (2^n,), entry S = log P(observed state S), bit i of S = event i.
        Differentiable in ``theta`` (adjoint solve; O(n^2 2^n) time for the rate table, O(n 2^n)
        memory).

    Examples
    --------
    >>> import torch
    >>> theta = -400.0 * torch.eye(3, dtype=torch.float64)  # very rare events
    >>> round(float(log_state_distribution(theta)[7]), 2)  # all three: p = 0.0 in float64
    -1198.21
    """
    theta = as_theta(theta)
    n = theta.shape[0]
    if n > MAX_STATESPACE_EVENTS:
        raise ValueError(
            f"theta has {n} events; the full state space needs 2^{n} entries "
            f"(limit {MAX_STATESPACE_EVENTS}). Use the subset likelihood or method='mcmc'."
        )
    bits = subset_bits(n, dtype=theta.dtype, device=theta.device)
    off = theta - torch.diag(torch.diagonal(theta))
    log_rates = (bits @ off.T + torch.diagonal(theta)[None, :]).masked_fill(bits > 0, -math.inf)
    return solve_lattice_log(log_rates, log1p_sum_exp(log_rates))


def state_distribution(theta: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Probabilities of all 2^n observable states under the MHN with parameters ``theta``.

    Parameters
    ----------
    theta
        (n, n) log-hazard matrix, rows = affected event i, columns = influencing event j,
        diagonal = log base rates. dtype/device are followed (use float64 for precision).

    Returns
    -------
    torch.Tensor
        Shape (2^n,), entry S = P(observed state S), bit i of S = event i. Sums to 1.
        Differentiable in ``theta`` (adjoint solve; O(n^2 2^n) time for the rate table, O(n 2^n)
        memory). States below the floating-point range come out as 0: use
        :func:`log_state_distribution` for log-likelihoods.

    Examples
    --------
    >>> import torch
    >>> p = state_distribution(torch.zeros(3, 3, dtype=torch.float64))
    >>> float(p.sum())  # doctest: +ELLIPSIS
    1.0...
    """
    return torch.exp(log_state_distribution(theta))


def _dense(x: Any) -> np.ndarray:
    """Return a numpy array of an array-like or a scipy sparse matrix (densified)."""
    return x.toarray() if sp.issparse(x) else np.asarray(x)


def state_index(x: torch.Tensor | np.ndarray, n: int | None = None) -> torch.Tensor:
    """Bit-mask index of every row of a binary (N, n) matrix (bit i = event i).

    Parameters
    ----------
    x
        Binary (N, n) matrix (or one row of length n).
    n
        Number of events (default: the last dimension of ``x``).

    Returns
    -------
    torch.Tensor
        (N,) int64 state indices into :func:`log_state_distribution`.
    """
    # a scipy sparse cohort (as validate_cohort takes): np.asarray made a 0-d object array
    # that torch refused with "can't convert np.ndarray of type numpy.object_"
    arr = x if isinstance(x, torch.Tensor) else torch.as_tensor(_dense(x))
    n = arr.shape[-1] if n is None else n
    if n > 63:  # bit 63 and above overflow the int64 index silently
        raise ValueError(f"state indices need n <= 63 events (int64 bit masks), got n = {n}")
    xb = as_binary_tensor(arr, n)
    weights = 2 ** torch.arange(n, device=xb.device, dtype=torch.int64)
    return (xb.to(torch.int64) * weights).sum(-1)


def statespace_log_likelihood(
    theta: torch.Tensor | np.ndarray, x: torch.Tensor | np.ndarray
) -> torch.Tensor:
    """Per-tumour log-likelihood ``log p_theta(x)`` through the full state space.

    Parameters
    ----------
    theta
        (n, n) parameters (rows = targets).
    x
        Binary (N, n) matrix of observed events.

    Returns
    -------
    torch.Tensor
        Shape (N,), differentiable in ``theta``.
    """
    theta = as_theta(theta)
    idx = state_index(
        torch.as_tensor(_dense(x)) if not isinstance(x, torch.Tensor) else x, theta.shape[0]
    ).to(theta.device)
    return log_state_distribution(theta)[idx]
