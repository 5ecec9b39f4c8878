"""The triangular solve shared by both exact likelihoods, with an adjoint backward.

Both the full state space and the per-sample subset lattice solve the same system

    (D - N) p = e_empty,

where states are subsets T of k items (bit i of the index = item i), ``N[T + {i}, T] =
R[T, i]`` for i not in T (the rate of adding item i) and ``D[T] = 1 + sum of all exit
rates of T`` (the 1 is the observation clock T ~ Exp(1)). ``N`` strictly adds items, so it is
nilpotent and k + 1 Jacobi sweeps ``p <- (e + N p) / D`` give the exact solution (the same
iteration MHN uses). Each sweep touches every (state, item) pair once through strided views,
so nothing of size 2^k x 2^k is ever formed.

The backward pass is the adjoint solve ``(D - N)^T r = grad_p`` (again k + 1 sweeps), from
which ``dL/dR[T, i] = r[T + {i}] p[T]`` and ``dL/dD[T] = -r[T] p[T]``.
"""

from __future__ import annotations

import torch

__all__ = ["subset_bits", "solve_lattice"]


def subset_bits(k: int, *, dtype: torch.dtype, device: torch.device | str | None) -> torch.Tensor:
    """0/1 matrix of shape (2^k, k): row T holds the members of subset T (bit i = item i)."""
    idx = torch.arange(2**k, device=device)
    shifts = torch.arange(k, device=device)
    return ((idx[:, None] >> shifts[None, :]) & 1).to(dtype)


def _push(p: torch.Tensor, rt: torch.Tensor, k: int) -> torch.Tensor:
    """Return ``N p``: mass of T moved to T + {i} at rate R[T, i]; rt has shape (..., k, 2^k)."""
    out = torch.zeros_like(p)
    batch = p.shape[:-1]
    for i in range(k):
        src = (rt[..., i, :] * p).reshape(*batch, 2 ** (k - 1 - i), 2, 2**i)
        out.view(*batch, 2 ** (k - 1 - i), 2, 2**i)[..., 1, :] += src[..., 0, :]
    return out


def _pull(r: torch.Tensor, rt: torch.Tensor, k: int) -> torch.Tensor:
    """Return ``N^T r``: state T collects R[T, i] r[T + {i}]."""
    out = torch.zeros_like(r)
    batch = r.shape[:-1]
    for i in range(k):
        rview = r.reshape(*batch, 2 ** (k - 1 - i), 2, 2**i)
        rate = rt[..., i, :].reshape(*batch, 2 ** (k - 1 - i), 2, 2**i)
        out.view(*batch, 2 ** (k - 1 - i), 2, 2**i)[..., 0, :] += rate[..., 0, :] * rview[..., 1, :]
    return out


_INDEXED_MAX_K = 12


def _targets(k: int, device: torch.device) -> torch.Tensor:
    """(2^k, k) index of T + {i}; equals T where i is in T (those rates are zero)."""
    states = torch.arange(2**k, device=device)
    return states[:, None] | (1 << torch.arange(k, device=device))[None, :]


def _forward_sweeps(rt: torch.Tensor, d: torch.Tensor, rhs: torch.Tensor, k: int) -> torch.Tensor:
    p = rhs / d
    if k <= _INDEXED_MAX_K:  # small lattices: one scatter per sweep instead of k strided ops
        rates = rt.transpose(-1, -2)
        tgt = _targets(k, d.device).reshape(-1).expand(*d.shape[:-1], -1)
        for _ in range(k):
            flow = (rates * p[..., None]).reshape(*d.shape[:-1], -1)
            p = (rhs + torch.zeros_like(p).scatter_add_(-1, tgt, flow)) / d
        return p
    for _ in range(k):
        p = (rhs + _push(p, rt, k)) / d
    return p


def _adjoint_sweeps(rt: torch.Tensor, d: torch.Tensor, rhs: torch.Tensor, k: int) -> torch.Tensor:
    r = rhs / d
    if k <= _INDEXED_MAX_K:
        rates = rt.transpose(-1, -2)
        tgt = _targets(k, d.device)
        for _ in range(k):
            r = (rhs + (rates * r[..., tgt]).sum(-1)) / d
        return r
    for _ in range(k):
        r = (rhs + _pull(r, rt, k)) / d
    return r


class _LatticeSolve(torch.autograd.Function):
    @staticmethod
    def forward(ctx, rates: torch.Tensor, diag: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        k = rates.shape[-1]
        rt = rates.transpose(-1, -2).contiguous()
        rhs = torch.zeros_like(diag)
        rhs[..., 0] = 1.0
        p = _forward_sweeps(rt, diag, rhs, k)
        ctx.save_for_backward(rt, diag, p)
        return p

    @staticmethod
    def backward(ctx, grad_p: torch.Tensor):  # type: ignore[override]
        rt, diag, p = ctx.saved_tensors
        k = rt.shape[-2]
        r = _adjoint_sweeps(rt, diag, grad_p, k)
        batch = p.shape[:-1]
        if k <= _INDEXED_MAX_K:
            tgt = _targets(k, p.device)
            bits = subset_bits(k, dtype=p.dtype, device=p.device)
            grad_rates = r[..., tgt] * p[..., None] * (1.0 - bits)
        else:
            grads = []
            for i in range(k):
                shape = (*batch, 2 ** (k - 1 - i), 2, 2**i)
                g = torch.zeros(shape, dtype=p.dtype, device=p.device)
                g[..., 0, :] = r.reshape(shape)[..., 1, :] * p.reshape(shape)[..., 0, :]
                grads.append(g.reshape(*batch, 2**k))
            grad_rates = torch.stack(grads, dim=-1)
        grad_diag = -r * p
        return grad_rates, grad_diag


def solve_lattice(rates: torch.Tensor, diag: torch.Tensor) -> torch.Tensor:
    """Solve ``(D - N) p = e_empty`` on the lattice of subsets of k items.

    Parameters
    ----------
    rates
        Shape (..., 2^k, k): ``rates[..., T, i]`` is the rate of adding item i to subset T;
        entries with i already in T must be zero.
    diag
        Shape (..., 2^k): ``1 + total exit rate`` of every subset (may include rates of items
        outside the lattice, which only leave it).

    Returns
    -------
    torch.Tensor
        Shape (..., 2^k): ``p[T]``, the probability that the chain is observed in T. Differentiable
        in ``rates`` and ``diag`` through an adjoint solve (no unrolled graph is kept).
    """
    return _LatticeSolve.apply(rates, diag)
