"""Argument checks shared by the CTMC functions."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["as_theta", "as_binary_tensor"]


def as_theta(theta: torch.Tensor | np.ndarray, n: int | None = None) -> torch.Tensor:
    """Return ``theta`` as a square floating tensor (float64 for numpy input), checking shape."""
    if isinstance(theta, np.ndarray):
        theta = torch.as_tensor(theta, dtype=torch.float64)
    if not isinstance(theta, torch.Tensor):
        raise TypeError(f"theta must be a torch.Tensor or numpy array, got {type(theta).__name__}")
    if theta.ndim != 2 or theta.shape[0] != theta.shape[1]:
        raise ValueError(f"theta must be a square (n, n) matrix, got shape {tuple(theta.shape)}")
    if n is not None and theta.shape[0] != n:
        raise ValueError(
            f"theta has shape {tuple(theta.shape)} but the data have {n} events; "
            f"expected ({n}, {n})"
        )
    if not theta.is_floating_point():
        theta = theta.to(torch.get_default_dtype())
    if not bool(torch.isfinite(theta).all()):
        raise ValueError("theta contains NaN or infinite entries")
    return theta


def as_binary_tensor(
    x: torch.Tensor | np.ndarray, n: int, *, device: torch.device | None = None
) -> torch.Tensor:
    """Return a (N, n) bool tensor of observed events, checking shape and 0/1 entries."""
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x, device=device)
    if t.ndim == 1:
        t = t[None, :]
    if t.ndim != 2 or t.shape[1] != n:
        raise ValueError(f"X must have shape (tumours, {n}), got {tuple(t.shape)}")
    if t.dtype != torch.bool:
        if t.is_floating_point() and bool(torch.isnan(t).any()):
            raise ValueError("X contains NaN; expected 0/1 entries")
        if not bool(((t == 0) | (t == 1)).all()):
            raise ValueError("X must be binary (0/1 entries)")
        t = t != 0
    return t
