"""Probability of one event ordering and the brute-force sum over orderings (Gotovos eq. 6).

For an ordering sigma of the events of x (rows-are-targets ``theta``),

    p(sigma) = prod_m lambda_{sigma_m}(S_{m-1}) / (1 + sum_{j not in S_{m-1}} lambda_j(S_{m-1}))
               * 1 / (1 + sum_{j not in x} lambda_j(x)),

and p(x) = sum over orderings of x (Gotovos, Burkholz, Quackenbush, Jegelka, NeurIPS 2021).
The brute-force sum is the slow, obviously correct reference for the fast likelihoods.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from biomodels.ctmc._checks import as_binary_tensor, as_event_indices, as_theta

__all__ = ["sequence_log_prob", "bruteforce_log_likelihood"]

# elements of one (orderings, k + 1, n + 1) log-rate table: all orderings at once took 2.3 GB
# for top_orders of 8 events among 300 (40,320 x 9 x 301 float64, plus temporaries) and
# 2.2 GB for the held-out likelihood of 8 tumours of 48 events (2,000 proposals each)
_CHUNK_ELEMENTS = 2**22


def sequence_log_prob(theta: torch.Tensor, orders: torch.Tensor) -> torch.Tensor:
    """Log-probability of observing the events of each ordering, in that order.

    Parameters
    ----------
    theta
        (n, n) parameters, rows = affected event.
    orders
        Integer tensor (..., k) of distinct event indices in [0, n) (first event first);
        anything else raises (a float index is not truncated).

    Returns
    -------
    torch.Tensor
        Shape (...,): ``log p(sigma)``, differentiable in ``theta``.
    """
    theta = as_theta(theta)
    n = theta.shape[0]
    orders = as_event_indices(orders, n, name="orders", device=theta.device)
    return _sequence_log_prob(theta, orders)


def _sequence_log_prob(theta: torch.Tensor, orders: torch.Tensor) -> torch.Tensor:
    """:func:`sequence_log_prob` without argument checks, for the samplers' valid orders.

    The orderings are scored in slices of at most ``_CHUNK_ELEMENTS`` table entries, so
    memory stays bounded however many there are; each ordering's value does not depend on
    the slicing.
    """
    n, k = theta.shape[0], orders.shape[-1]
    batch = orders.shape[:-1]
    rows = math.prod(batch)
    step = max(1, _CHUNK_ELEMENTS // ((k + 1) * (n + 1)))
    if rows <= step:
        return _sequence_table_log_prob(theta, orders)
    flat = orders.reshape(rows, k)
    parts = [_sequence_table_log_prob(theta, flat[s : s + step]) for s in range(0, rows, step)]
    return torch.cat(parts).reshape(batch)


def _sequence_table_log_prob(theta: torch.Tensor, orders: torch.Tensor) -> torch.Tensor:
    """Score all orderings through one (..., k + 1, n + 1) table (the kernel)."""
    n = theta.shape[0]
    k = orders.shape[-1]
    batch = orders.shape[:-1]
    base = torch.diagonal(theta)
    off = theta - torch.diag(base)
    # one (..., k+1, n+1) table, column 0 the observation clock (log rate 0) and column
    # 1 + j event j: the clock and events go through a single logsumexp without a
    # concatenated copy, and no one-hot cumsum is built for the mask
    log_rates = torch.empty(*batch, k + 1, n + 1, dtype=theta.dtype, device=theta.device)
    log_rates[..., 0] = 0.0
    log_rates[..., 0, 1:] = 0.0  # no event yet: the base rates alone
    # row m, column 1 + j: theta[j, j] + sum of theta[j, sigma_l] over l < m
    log_rates[..., 1:, 1:] = torch.cumsum(off.T[orders], dim=-2)
    log_rates[..., 1:] += base
    # event j is present from the step after its position (absent events: never)
    pos = torch.full((*batch, n + 1), k + 1, dtype=torch.int64, device=theta.device)
    pos.scatter_(-1, orders + 1, torch.arange(k, device=theta.device).expand_as(orders))
    steps = torch.arange(k + 1, device=theta.device)[:, None]
    log_rates.masked_fill_(pos[..., None, :] < steps, float("-inf"))
    log_exit = torch.logsumexp(log_rates, dim=-1)  # log D(S_m)
    # sigma_m is not yet present at step m, so the mask leaves the chosen rates intact
    chosen = torch.gather(log_rates[..., :k, :], -1, orders[..., None] + 1).squeeze(-1)
    return chosen.sum(-1) - log_exit.sum(-1)


def bruteforce_log_likelihood(
    theta: torch.Tensor | np.ndarray, x: torch.Tensor | np.ndarray
) -> torch.Tensor:
    """Compute the reference ``log p(x)`` of one tumour by summing over all orderings of its events.

    Cost k! for k events: meant for tests (k <= 9, else ValueError).

    Parameters
    ----------
    theta
        (n, n) parameters, rows = affected event.
    x
        Binary vector of length n.

    Returns
    -------
    torch.Tensor
        Scalar log-likelihood, differentiable in ``theta``.
    """
    theta = as_theta(theta)
    xb = as_binary_tensor(x, theta.shape[0])
    if len(xb) != 1:
        raise ValueError(f"x must be one tumour (a vector of length {theta.shape[0]})")
    events = torch.nonzero(xb[0]).flatten().tolist()
    if len(events) > 9:
        raise ValueError(f"x: {len(events)} events, expected at most 9 (brute force over "
                         f"{math.factorial(len(events))} orderings is too slow)")
    perms = torch.tensor(
        list(itertools.permutations(events)), dtype=torch.int64, device=theta.device
    ).reshape(math.factorial(len(events)), len(events))
    return torch.logsumexp(sequence_log_prob(theta, perms), dim=0)
