"""The triangular solve shared by both exact likelihoods, in log space, with an adjoint backward.

Both the full state space and the per-sample subset lattice solve the same system

    (D - N) p = e_empty,

where states are subsets T of k items (bit i of the index = item i), ``N[T + {i}, T] =
R[T, i]`` for i not in T (the rate of adding item i) and ``D[T] = 1 + sum of all exit
rates of T`` (the 1 is the observation clock T ~ Exp(1)). ``N`` strictly adds items, so the
subsets of one size depend only on those one item smaller, and the solve runs level by level:

    log p[T] = logsumexp_{i in T} (log R[T - i, i] + log p[T - i]) - log D[T].

Probabilities of observed states routinely fall below the floating-point range (e^-100 is
subnormal in float32, e^-745 is zero in float64) and rates can overflow (e^800), so everything
is carried as logarithms: the result matches the log-space sum over orderings wherever that is
finite. Each state is visited once (O(k 2^k) per lattice), through per-level index tensors.

The backward pass is the adjoint solve, again level by level from the top: with the softmax
weights ``w[T, i] = R[T - i, i] p[T - i] / (D[T] p[T])`` (in [0, 1], so it cannot overflow),
``rbar[T] = g[T] + sum_{i not in T} w[T + i, i] rbar[T + i]``, ``dL/dlog R[T, i] =
w[T + i, i] rbar[T + i]`` and ``dL/dlog D[T] = -rbar[T]``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import torch
from torch.autograd.function import once_differentiable

__all__ = ["first_order_only", "subset_bits", "log1p_sum_exp", "solve_lattice_log"]


def subset_bits(k: int, *, dtype: torch.dtype, device: torch.device | str | None) -> torch.Tensor:
    """0/1 matrix of shape (2^k, k): row T holds the members of subset T (bit i = item i)."""
    idx = torch.arange(2**k, device=device)
    shifts = torch.arange(k, device=device)
    return ((idx[:, None] >> shifts[None, :]) & 1).to(dtype)


def log1p_sum_exp(log_rates: torch.Tensor) -> torch.Tensor:
    """Return ``log(1 + sum_j exp(log_rates[..., j]))`` without overflow; ``-inf`` entries add 0.

    Used for ``log D`` (the observation clock's rate 1 plus the exit rates). The shift is
    detached, so the gradient is the usual softmax and never NaN, even for rows of ``-inf``.
    """
    if log_rates.shape[-1] == 0:  # no events at all: D = 1
        return log_rates.sum(-1)
    shift = log_rates.detach().amax(-1, keepdim=True).clamp_min_(0.0)
    total = torch.exp(log_rates - shift).sum(-1, keepdim=True).add_(torch.exp(-shift))
    return torch.log(total).add_(shift).squeeze(-1)


# lattices up to this size keep their level indices cached (16 * 2^15 entries, ~8 MB)
_CACHED_MAX_K = 16


def _level_indices(k: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, list]:
    """Index tensors of the level-by-level solve.

    Returns ``order`` (the 2^k states sorted by size, then index), its inverse permutation,
    and per size m = 1..k: the slices of levels m and m - 1 in ``order``, the position of
    each predecessor T - i within level m - 1 and the flat index (T - i) k + i of its rate.
    """
    states = torch.arange(2**k, device=device)
    shifts = torch.arange(k, device=device)
    size = torch.zeros(2**k, dtype=torch.int64, device=device)
    for i in range(k):
        size += (states >> i) & 1
    order = torch.argsort(size, stable=True)
    inverse = torch.empty_like(order)
    inverse[order] = states
    counts = torch.bincount(size, minlength=k + 1)
    rank = inverse - (torch.cumsum(counts, 0) - counts)[size]  # position within its level
    levels = []
    start = 1
    for m in range(1, k + 1):
        count = math.comb(k, m)
        level = order[start : start + count]
        items = torch.nonzero((level[:, None] >> shifts) & 1)[:, 1].reshape(count, m)
        prev = level[:, None] ^ (1 << items)
        levels.append((
            slice(start, start + count),
            slice(start - math.comb(k, m - 1), start),
            rank[prev].reshape(-1),
            (prev * k + items).reshape(-1),
        ))
        start += count
    return order, inverse, levels


@lru_cache(maxsize=64)
@torch.inference_mode(False)  # cached for the session: inference tensors failed later backwards
def _cached_levels(k: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, list]:
    return _level_indices(k, device)


def _levels(k: int, device: torch.device, tables: dict | None = None
            ) -> tuple[torch.Tensor, torch.Tensor, list]:
    if k <= _CACHED_MAX_K:
        return _cached_levels(k, device)
    if tables is None:
        return _level_indices(k, device)
    # larger lattices: kept only in the caller's store (a call or a fit), not the process's
    key = ("levels", k, device)
    if key not in tables:
        tables[key] = _level_indices(k, device)
    return tables[key]


def first_order_only(backward: Callable[..., Any]) -> Callable[..., Any]:
    """``once_differentiable`` that also refuses a backward pass with ``create_graph=True``.

    ``once_differentiable`` raises on a second derivative only when the incoming gradient
    itself requires grad; for a likelihood summed straight from theta it does not, so a
    Hessian went through the solve without a word, its curvature dropped (wrong numbers).

    Parameters
    ----------
    backward
        The ``backward`` of a :class:`torch.autograd.Function`.

    Returns
    -------
    Callable
        The same backward, under ``once_differentiable``, raising a RuntimeError when
        autograd records it for higher derivatives.
    """
    inner = once_differentiable(backward)

    @functools.wraps(backward)
    def wrapper(ctx: Any, *grads: torch.Tensor) -> Any:
        if torch.is_grad_enabled():  # the engine runs backward in grad mode = create_graph
            raise RuntimeError(
                "second derivatives of the exact CTMC likelihoods are not implemented (their "
                "adjoint solve is differentiable once), so create_graph=True or a Hessian "
                "would be wrong; take finite differences of the gradient, or, for a few "
                "events, use bruteforce_log_likelihood, which has exact higher derivatives")
        return inner(ctx, *grads)

    return wrapper


class _LatticeSolveLog(torch.autograd.Function):
    @staticmethod
    def forward(ctx, log_rates: torch.Tensor, log_diag: torch.Tensor,  # type: ignore[override]
                tables: dict | None = None) -> torch.Tensor:
        k = log_rates.shape[-1]
        batch = log_diag.shape[:-1]
        order, inverse, levels = _levels(k, log_diag.device, tables)
        lr_flat = log_rates.reshape(*batch, -1)
        # states in level order: each level is a contiguous slice, right after its predecessors
        ld = log_diag.index_select(-1, order)
        lp = torch.empty_like(ld)
        lp[..., 0] = -ld[..., 0]
        keep = any(ctx.needs_input_grad)
        tiny = torch.finfo(ld.dtype).tiny
        weights = []
        for m, (here, below, prev, flat) in enumerate(levels, start=1):
            terms = lr_flat.index_select(-1, flat)
            terms += lp[..., below].index_select(-1, prev)
            terms = terms.view(*batch, -1, m)  # log R[T - i, i] + log p[T - i]
            # logsumexp over the predecessors; the clamp keeps unreachable states (all -inf)
            # at -inf instead of NaN
            top = terms.amax(-1, keepdim=True).clamp_min_(torch.finfo(ld.dtype).min)
            terms = terms.sub_(top).exp_()
            total = terms.sum(-1, keepdim=True)
            lp[..., here] = (torch.log(total) + top).squeeze(-1) - ld[..., here]
            if keep:  # softmax weights of the predecessors, all the backward pass needs
                weights.append(terms.div_(total.clamp_min_(tiny)))
        ctx.levels, ctx.weights = levels, weights
        ctx.save_for_backward(order, inverse)
        ctx.rate_shape = log_rates.shape
        return lp.index_select(-1, inverse)

    @staticmethod
    @first_order_only  # the saved softmax weights are constants: no double backward
    def backward(ctx, grad_lp: torch.Tensor):  # type: ignore[override]
        order, inverse = ctx.saved_tensors
        batch = grad_lp.shape[:-1]
        rbar = grad_lp.index_select(-1, order)
        grad_flat = grad_lp.new_zeros(*batch, ctx.rate_shape[-2] * ctx.rate_shape[-1])
        for (here, below, prev, flat), w in zip(reversed(ctx.levels), reversed(ctx.weights)):
            contrib = (w * rbar[..., here, None]).view(*batch, -1)
            grad_flat.index_copy_(-1, flat, contrib)
            rbar[..., below].index_add_(-1, prev, contrib)
        return grad_flat.view(ctx.rate_shape), (-rbar).index_select(-1, inverse), None


def solve_lattice_log(log_rates: torch.Tensor, log_diag: torch.Tensor, *,
                      tables: dict | None = None) -> torch.Tensor:
    """Solve ``(D - N) p = e_empty`` on the lattice of subsets of k items, in log space.

    Parameters
    ----------
    log_rates
        Shape (..., 2^k, k): ``log_rates[..., T, i]`` is the log rate of adding item i to
        subset T; entries with i already in T are never read (``-inf`` there keeps
        :func:`log1p_sum_exp` of the same table right).
    log_diag
        Shape (..., 2^k): ``log(1 + total exit rate)`` of every subset (may include rates of
        items outside the lattice, which only leave it); see :func:`log1p_sum_exp`.
    tables
        A dict that keeps the index tables of lattices beyond 16 items between calls (the
        caller owns it and frees them with it); None builds them per call. Smaller
        lattices always use the process-wide cache.

    Returns
    -------
    torch.Tensor
        Shape (..., 2^k): ``log p[T]``, the log-probability that the chain is observed in T
        (``-inf`` only for states that no path reaches). Differentiable in ``log_rates`` and
        ``log_diag`` through an adjoint solve (no unrolled graph is kept).
    """
    return _LatticeSolveLog.apply(log_rates, log_diag, tables)
