"""Exact per-tumour likelihood by dynamic programming over the subsets of its own events.

For a tumour with event set x (k events) only the 2^k subsets of x can lie on a path to x, so
``p(x)`` solves the same triangular system as the full state space restricted to that lattice,
with each subset's exit rate still summing over *all* n events (Gotovos et al., NeurIPS 2021,
eq. 6; the state-space restriction of MHN). Cost O(2^k (n + k^2)) per tumour, so many events can
coexist with few events per tumour. Tumours are grouped by k and solved as a batch.

Convention: ``theta[i, j]`` = effect of event j on the rate of event i (rows are targets).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

from biomodels.ctmc._checks import as_binary_tensor, as_theta
from biomodels.ctmc._solve import (
    _CACHED_MAX_K,
    first_order_only,
    log1p_sum_exp,
    solve_lattice_log,
    subset_bits,
)

__all__ = ["MAX_SUBSET_EVENTS", "subset_log_likelihood", "group_by_size"]

MAX_SUBSET_EVENTS = 25
_CHUNK_ELEMENTS = 2**22


def group_by_size(xb: torch.Tensor) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    """Group tumours by their number of events.

    Parameters
    ----------
    xb
        Boolean (N, n) matrix of observed events.

    Returns
    -------
    dict
        k -> (row indices (B,), event indices (B, k) sorted ascending).
    """
    sizes = xb.sum(-1)
    out: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
    for k in torch.unique(sizes).tolist():
        rows = torch.nonzero(sizes == k).squeeze(-1)
        events = torch.nonzero(xb[rows])[:, 1].reshape(len(rows), int(k))
        out[int(k)] = (rows, events)
    return out


class _LogExit(torch.autograd.Function):
    """``log(1 + sum_{i not in T} exp(base_i + sum_{l in T} cols[i, l]))`` for every subset T.

    Built in linear space by doubling (``rate[T + l] = rate[T] * exp(cols[:, l])`` for item l): one
    multiplication per entry of the (B, 2^k, n) table instead of a matrix product, a shift, an
    exponential and their autograd graph, which made this table most of a fit's time. The
    caller checks that no rate or factor can overflow and that no rate underflows on the way
    to one that matters (:func:`_exit_fits_linear`); rates that underflow then only drop
    terms far below the observation clock's 1.
    """

    @staticmethod
    def forward(ctx, cols: torch.Tensor, base: torch.Tensor,  # type: ignore[override]
                events: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
        bsz, n, k = cols.shape
        factor = torch.exp(cols)  # (B, n, k)
        rate = cols.new_empty(bsz, 2**k, n)
        rate[:, 0] = torch.exp(base)
        for item in range(k):  # subsets with the item = those without it, times its factor
            half = 2**item
            with_item = rate[:, half : 2 * half]
            torch.mul(rate[:, :half], factor[:, None, :, item], out=with_item)
            # the item is present there and cannot occur again; later doublings copy the zero
            with_item.scatter_(2, events[:, None, item : item + 1].expand(bsz, half, 1), 0.0)
        total = rate.sum(-1).add_(1.0)
        ctx.save_for_backward(rate, total, bits)
        return torch.log(total)

    @staticmethod
    @first_order_only
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        rate, total, bits = ctx.saved_tensors
        # d log D[T] / d log rate[T, i] = rate[T, i] / D[T] (zero for present events)
        weighted = rate * grad.div(total)[..., None]
        grad_base = weighted.sum((0, 1))
        grad_cols = torch.matmul(bits.T, weighted).transpose(1, 2)  # (B, n, k), no copy
        return grad_cols, grad_base, None, None


def _bits(k: int, dtype: torch.dtype, device: torch.device, tables: dict | None = None
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """Subset membership (2^k, k) and its mask of present items: 0 where absent, -inf where in.

    Cached up to ``_CACHED_MAX_K`` events, as the lattice's levels are: the tables of
    tumours with 18-20 events kept 570 MB alive for the rest of the process. Larger ones
    are kept in ``tables``, a store the caller owns (see :func:`solve_lattice_log`).
    """
    if k <= _CACHED_MAX_K:
        return _cached_bits(k, dtype, device)
    if tables is None:
        return _build_bits(k, dtype, device)
    key = ("bits", k, dtype, device)
    if key not in tables:
        tables[key] = _build_bits(k, dtype, device)
    return tables[key]


@lru_cache(maxsize=64)
@torch.inference_mode(False)  # kept for the session (see _solve._cached_levels)
def _cached_bits(k: int, dtype: torch.dtype, device: torch.device
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    return _build_bits(k, dtype, device)


def _build_bits(k: int, dtype: torch.dtype, device: torch.device
                ) -> tuple[torch.Tensor, torch.Tensor]:
    bits = subset_bits(k, dtype=dtype, device=device)
    return bits, torch.zeros_like(bits).masked_fill_(bits > 0, -math.inf)


def _exit_fits_linear(cols: torch.Tensor, base: torch.Tensor) -> bool:
    """Whether every exit rate of the lattice and their sum stay finite in linear space.

    Also refuses two ways the doubling loses a rate that matters: a factor ``exp(cols)``
    that overflows on its own (0 * inf = NaN where its row's rate underflowed), and a rate
    that underflows on the way up and is then multiplied back above the rounding of
    ``1 + ...`` (float32, theta[0, 0] = -100, theta[0, 1] = 100, x = {1}: log p was -inf,
    and NaN at -110, for the exact -1.386; float64 at -800 / 800 likewise).
    """
    finfo = torch.finfo(cols.dtype)
    c, b = cols.detach(), base.detach()
    n = cols.shape[1]
    log_max = math.log(finfo.max)
    high = b + c.clamp_min(0.0).sum(-1)  # (B, n): the largest rate of each event on the lattice
    if not float(high.max()) < log_max - math.log(n + 1) - 1.0:
        return False
    if c.numel() and not float(c.max()) < log_max - 1.0:
        return False
    low = b + c.clamp_max(0.0).sum(-1)  # the smallest: below tiny it is rounded or lost
    lost = (low < math.log(finfo.tiny)) & (high > math.log(finfo.eps) - math.log(n + 1))
    return not bool(lost.any())


def _group_log_prob(theta: torch.Tensor, events: torch.Tensor, tables: dict | None = None
                    ) -> torch.Tensor:
    """Log p(x) for B tumours that all carry k events (indices ``events``, shape (B, k)).

    ``tables`` keeps the lattice's tables beyond 16 events between calls (see
    :func:`solve_lattice_log`); None builds them per call.
    """
    bsz, k = events.shape
    base = torch.diagonal(theta)
    off = theta - torch.diag(base)
    if k == 0:
        return -log1p_sum_exp(base).expand(bsz)
    bits, present = _bits(k, theta.dtype, theta.device, tables)  # (2^k, k); 0 / -inf
    cols = off[:, events].permute(1, 0, 2)  # (B, n, k): theta[j, x_l]
    # rates of the tumour's own events, in log space: p(x) is often below the float range
    own = torch.gather(cols, 1, events[:, :, None].expand(bsz, k, k))  # (B, k, k)
    log_items = torch.matmul(bits, own.transpose(1, 2)) + (base[events][:, None, :] + present)
    if _exit_fits_linear(cols, base):
        log_diag = _LogExit.apply(cols, base, events, bits)
    else:  # rates beyond the float range: the whole table in log space
        index = events[:, None, :].expand(bsz, 2**k, k)
        log_rates = torch.einsum("tl,bjl->btj", bits, cols) + base  # (B, 2^k, n)
        log_diag = log1p_sum_exp(log_rates.scatter(2, index, log_items))
    return solve_lattice_log(log_items, log_diag, tables=tables)[:, -1]


def subset_log_likelihood(
    theta: torch.Tensor | np.ndarray,
    x: torch.Tensor | np.ndarray,
    *,
    max_events: int = MAX_SUBSET_EVENTS,
) -> torch.Tensor:
    """Exact per-tumour ``log p_theta(x)`` by dynamic programming over subsets of x.

    Parameters
    ----------
    theta
        (n, n) parameters, rows = affected event i, columns = influencing event j.
    x
        Binary (N, n) matrix of observed events.
    max_events
        Refuse tumours with more events than this (cost and memory grow as 2^k).

    Returns
    -------
    torch.Tensor
        Shape (N,), differentiable in ``theta``; equal to the full state-space likelihood.
        With no events at all (n = 0) the chain stays in the empty state, so every tumour
        gets log 1 = 0.

    Examples
    --------
    >>> import torch
    >>> theta = torch.zeros(4, 4, dtype=torch.float64)
    >>> x = torch.tensor([[1, 0, 1, 0]])
    >>> subset_log_likelihood(theta, x).shape
    torch.Size([1])
    """
    theta = as_theta(theta)
    n = theta.shape[0]
    xb = as_binary_tensor(x, n, device=theta.device)
    kmax = int(xb.sum(-1).max()) if len(xb) else 0
    if kmax > max_events:
        raise ValueError(
            f"a tumour carries {kmax} events (> max_events={max_events}); the exact subset "
            "likelihood needs 2^k states. Use method='mcmc' for the gradient."
        )
    out = torch.zeros(len(xb), dtype=theta.dtype, device=theta.device)
    pieces = []
    for k, (rows, events) in group_by_size(xb).items():
        chunk = max(1, _CHUNK_ELEMENTS // (2**k * max(n, 1)))  # n = 0: only the empty state
        # a chunk of a large lattice holds one or a few tumours, and each rebuilt the tables
        # (1.8x the time at 18 events); built once per size, dropped before the next size
        tables: dict = {}
        for start in range(0, len(rows), chunk):
            sl = slice(start, start + chunk)
            pieces.append((rows[sl], _group_log_prob(theta, events[sl], tables)))
    if not pieces:
        return out
    rows = torch.cat([r for r, _ in pieces])
    vals = torch.cat([v for _, v in pieces])
    return out.index_put((rows,), vals)
