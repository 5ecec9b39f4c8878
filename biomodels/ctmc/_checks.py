"""Argument checks shared by the CTMC functions."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from core.checks import refuse_meta

__all__ = ["as_theta", "as_binary_tensor", "as_event_indices", "check_generator",
           "check_not_trajectories"]


def check_not_trajectories(x: Any, name: str = "X") -> None:
    """Refuse a :class:`~biomodels.ctmc.sampling.Trajectories` given for a 0/1 matrix.

    ``CTMC().fit(model.sample(100))`` (the sample, not its matrix) became a 0-d object array
    and failed with "got shape ()", which did not say what to pass.

    Raises
    ------
    TypeError
        If ``x`` is a ``Trajectories``, naming ``name`` and its matrix ``.X``.
    """
    from biomodels.ctmc.sampling import Trajectories  # sampling imports this module

    if isinstance(x, Trajectories):
        raise TypeError(
            f"{name}: got a Trajectories (what CTMC.sample and sample_trajectories return); "
            f"pass its 0/1 matrix {name}.X, e.g. CTMC().fit(model.sample(n).X)")


def check_generator(generator: Any) -> torch.Generator | None:
    """Return ``generator`` if it is a ``torch.Generator`` or None.

    A seed passed instead failed in ``torch.rand`` with "received an invalid combination of
    arguments", naming no argument.
    """
    if generator is not None and not isinstance(generator, torch.Generator):
        # on theta's device: a CPU generator with a CUDA theta fails inside torch.rand
        raise TypeError("generator: expected a torch.Generator on theta's device (e.g. "
                        "torch.Generator(device=theta.device).manual_seed(seed)) or None, "
                        f"got {generator!r}")
    return generator


def as_theta(theta: torch.Tensor | np.ndarray, n: int | None = None) -> torch.Tensor:
    """Return ``theta`` as a square floating tensor (float64 for numpy or integer input).

    Raises
    ------
    TypeError
        If ``theta`` is not a real tensor or numpy array.
    ValueError
        If it is not square (of ``n`` rows when given), is on the meta device, or has a
        NaN or infinite entry.
    """
    if isinstance(theta, np.ndarray):
        if theta.dtype == object:  # a DataFrame's .values: torch cannot convert object arrays
            theta = np.asarray(theta.tolist())
        if theta.dtype.kind not in "biuf":  # the float cast below drops an imaginary part
            raise TypeError(f"theta must be real, got dtype {theta.dtype}")
        theta = torch.as_tensor(theta, dtype=torch.float64)
    if not isinstance(theta, torch.Tensor):
        raise TypeError(f"theta must be a torch.Tensor or numpy array, got {type(theta).__name__}")
    refuse_meta(theta, "theta")
    if theta.is_complex():  # .to(float) would keep only the real part, with a warning at most
        raise TypeError(f"theta must be real, got dtype {theta.dtype}")
    if theta.ndim != 2 or theta.shape[0] != theta.shape[1]:
        # (n + 1, n) is mhn's default model, oMHN (last row: effects on the observation rate)
        hint = ("; an (n + 1, n) theta is mhn's oMHN: CTMC(theta) builds one, and this "
                "function takes its classical MHN, biomodels.ctmc.omhn.classical_theta(theta) "
                "(oMHN.get_equivalent_classical_mhn().log_theta)"
                if theta.ndim == 2 and theta.shape[0] == theta.shape[1] + 1 else "")
        raise ValueError(
            f"theta must be a square (n, n) matrix, got shape {tuple(theta.shape)}{hint}")
    if n is not None and theta.shape[0] != n:
        raise ValueError(
            f"theta has shape {tuple(theta.shape)} but the data have {n} events; "
            f"expected ({n}, {n})"
        )
    if not theta.is_floating_point():
        # float64 like an integer numpy theta: the default dtype gave float32 likelihoods
        # whose value depended on torch.set_default_dtype
        theta = theta.to(torch.float64)
    if not bool(torch.isfinite(theta).all()):
        raise ValueError("theta contains NaN or infinite entries")
    return theta


def as_binary_tensor(
    x: torch.Tensor | np.ndarray, n: int, *, device: torch.device | None = None
) -> torch.Tensor:
    """Return a (N, n) bool tensor of observed events, checking shape and 0/1 entries.

    A tensor on the meta device is refused (ValueError naming ``X``): it has no entries to
    check.
    """
    check_not_trajectories(x)
    refuse_meta(x, "X")
    if sp.issparse(x):  # np.asarray gave a 0-d object array, which torch refused
        x = x.toarray()
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


def as_event_indices(
    events: torch.Tensor | np.ndarray,
    n: int,
    *,
    name: str = "events",
    ndim: int | None = None,
    device: torch.device | None = None,
) -> torch.Tensor:
    """Return event indices as int64, checking integer dtype, range [0, n) and distinctness.

    Indices must be distinct along the last axis (one tumour's events, or one ordering);
    ``ndim`` fixes the number of axes (e.g. 2 for a (B, k) batch of tumours). A tensor on
    the meta device is refused (ValueError naming ``name``).
    """
    refuse_meta(events, name)
    t = torch.as_tensor(np.asarray(events) if not isinstance(events, torch.Tensor) else events)
    if ndim is not None and t.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} axes, got shape {tuple(t.shape)}")
    if t.ndim == 0:
        raise ValueError(f"{name} must have at least one axis, got a scalar")
    if t.numel() == 0:
        return t.to(device=device, dtype=torch.int64)
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        # a float index would be truncated silently, a bool mask read as indices 0/1
        raise TypeError(f"{name} must hold integer event indices, got dtype {t.dtype}")
    t = t.to(device=device, dtype=torch.int64)
    if int(t.min()) < 0 or int(t.max()) >= n:
        raise ValueError(f"{name} must hold event indices in [0, {n}), got values in "
                         f"[{int(t.min())}, {int(t.max())}]")
    if t.shape[-1] > 1 and bool((t.sort(-1).values.diff(dim=-1) == 0).any()):
        raise ValueError(f"{name} must not repeat an event within a tumour / ordering")
    return t
