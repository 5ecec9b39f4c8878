"""The observation MHN (oMHN; Schill, Klever, Lösch, Spang et al. 2024), ``mhn``'s default model.

An oMHN has an (n + 1) x n theta: rows ``0..n-1`` are those of the classical MHN (cMHN;
``theta[i, j]`` the effect of present event j on the rate of event i, the diagonal the log
base rates) and the last row ``omega`` holds the events' effects on the rate of the
observation (biopsy): in state S event i not in S occurs at
``exp(theta[i, i] + sum_{j in S} theta[i, j])`` and the tumour is observed at
``exp(sum_{j in S} omega[j])`` (rate 1 in the empty state, as the cMHN's observation clock).

Dividing every rate of state S by the observation rate leaves the jump chain (and so the
distribution of the observed genotypes and of the event orders) unchanged: it is that of the
cMHN with ``theta'[i, j] = theta[i, j] - omega[j]`` (i != j) and ``theta'[i, i] =
theta[i, i]`` (:func:`classical_theta`, ``mhn``'s ``oMHN.get_equivalent_classical_mhn``).
The likelihood of an oMHN is therefore the cMHN likelihood of that theta; what differs is the
parametrisation and the penalty: ``mhn``'s default for the oMHN, used here, is the L1 norm
of the off-diagonal event rows *and* of omega (``mhn`` smooths it as ``sqrt(x^2 + 1e-5)``,
this package solves the exact L1 problem with OWL-QN). Among the observationally equivalent
models the penalty prefers one effect on the observation to the same shift of every rate it
acts on, which removes the spurious "j inhibits everything" pattern that an event raising
the chance of a biopsy leaves in a cMHN.

Quantities with times (when events occur, a fixed observation time) are not those of the
equivalent cMHN: the holding time in state S is shorter by the observation rate.
:func:`sample_omhn_trajectories` simulates them correctly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from core.checks import check_count, check_seed, refuse_meta

__all__ = [
    "OBSERVATION",
    "as_omhn_theta",
    "classical_theta",
    "is_omhn_shape",
    "omhn_penalty_mask",
    "sample_omhn_trajectories",
]

#: Name of the observation row (``theta.csv``, ``theta_frame()``), as ``mhn``'s
#: ``oMHN.save`` names it.
OBSERVATION = "Observation"


def is_omhn_shape(theta: Any) -> bool:
    """Whether ``theta`` is a 2-D array of shape (n + 1, n), n >= 1 (an oMHN's)."""
    shape = tuple(theta.shape) if hasattr(theta, "shape") else np.shape(theta)
    return len(shape) == 2 and shape[1] >= 1 and shape[0] == shape[1] + 1


def as_omhn_theta(theta: torch.Tensor | np.ndarray, n: int | None = None) -> torch.Tensor:
    """Return an oMHN's theta as an (n + 1, n) floating tensor (float64 for numpy input).

    Parameters
    ----------
    theta
        (n + 1, n) parameters: event rows, then the observation row omega.
    n
        Number of events expected, checked when given.

    Returns
    -------
    torch.Tensor
        The checked theta (float64 for numpy or integer input).

    Raises
    ------
    TypeError
        If ``theta`` is not a real tensor or array.
    ValueError
        If its shape is not (n + 1, n), it is on the meta device, or it has a NaN or
        infinite entry.
    """
    if isinstance(theta, np.ndarray):
        if theta.dtype == object:
            theta = np.asarray(theta.tolist())
        if theta.dtype.kind not in "biuf":
            raise TypeError(f"theta must be real, got dtype {theta.dtype}")
        theta = torch.as_tensor(theta, dtype=torch.float64)
    if not isinstance(theta, torch.Tensor):
        raise TypeError(f"theta must be a torch.Tensor or numpy array, got {type(theta).__name__}")
    refuse_meta(theta, "theta")  # its finiteness check failed inside torch (Tensor.item())
    if theta.is_complex():
        raise TypeError(f"theta must be real, got dtype {theta.dtype}")
    if not is_omhn_shape(theta):
        raise ValueError(f"theta of an oMHN must have shape (n + 1, n) (n event rows, then "
                         f"the observation row), got {tuple(theta.shape)}")
    if n is not None and theta.shape[1] != n:
        raise ValueError(f"theta has shape {tuple(theta.shape)} but the data have {n} "
                         f"events; expected ({n + 1}, {n})")
    if not theta.is_floating_point():
        theta = theta.to(torch.float64)
    if not bool(torch.isfinite(theta).all()):
        bad = torch.nonzero(~torch.isfinite(theta))[0].tolist()
        where = "omega" if bad[0] == theta.shape[1] else "theta"
        raise ValueError(f"theta contains NaN or infinite entries (first at row {bad[0]}, "
                         f"column {bad[1]}, in {where})")
    return theta


def classical_theta(theta: torch.Tensor | np.ndarray) -> Any:
    """Return the classical MHN (n, n) theta with the oMHN's genotype distribution.

    ``theta'[i, j] = theta[i, j] - omega[j]`` off the diagonal, ``theta'[i, i] =
    theta[i, i]``; as ``mhn``'s ``oMHN.get_equivalent_classical_mhn().log_theta``. The
    genotypes, event orders and order probabilities of the two models are the same; times
    are not (see the module docstring).

    Parameters
    ----------
    theta
        (n + 1, n) oMHN parameters, numpy or torch (differentiable: a fit's gradient flows
        through it).

    Returns
    -------
    numpy.ndarray or torch.Tensor
        (n, n): a tensor of the dtype given for a tensor, else float64 numpy.
    """
    if isinstance(theta, torch.Tensor):
        th = as_omhn_theta(theta)
        n = th.shape[1]
        off = ~torch.eye(n, dtype=torch.bool, device=th.device)
        # where, not a product with the mask: the diagonal stays bit for bit
        return torch.where(off, th[:-1] - th[-1:], th[:-1])
    th = as_omhn_theta(np.asarray(theta)).numpy()  # float64
    out = th[:-1] - th[-1:]
    np.fill_diagonal(out, np.diag(th[:-1]))
    return out


def omhn_gradient(grad_classical: torch.Tensor) -> torch.Tensor:
    """Chain rule: the gradient with respect to the oMHN's theta from that of its cMHN.

    ``d/d theta[i, j] = G[i, j]`` for the event rows and ``d/d omega[j] = -sum_{i != j}
    G[i, j]``, G the gradient with respect to :func:`classical_theta`.
    """
    g = grad_classical
    omega = -(g.sum(0) - torch.diagonal(g))
    return torch.cat([g, omega.unsqueeze(0)], 0)


def omhn_penalty_mask(n: int, device: torch.device | None = None) -> torch.Tensor:
    """(n + 1, n) bool mask of the L1-penalised entries: off-diagonal event rows and omega.

    ``mhn``'s default oMHN penalty (``penalties_omhn.l1``) covers the same entries.
    """
    mask = ~torch.eye(n + 1, n, dtype=torch.bool, device=device)
    return mask


class _OmhnObjective:
    """A fit objective over an oMHN's (n + 1, n) theta, from one over its classical theta.

    ``accumulate(theta)`` evaluates the inner objective at :func:`classical_theta` and adds
    the chain-ruled gradient (:func:`omhn_gradient`) to ``theta.grad``; this works for every
    gradient source, also the MCMC one that writes its gradient without autograd.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def accumulate(self, theta: torch.Tensor) -> float:
        leaf = classical_theta(theta.detach()).requires_grad_(True)
        value = self.inner.accumulate(leaf)
        grad = omhn_gradient(leaf.grad if leaf.grad is not None else torch.zeros_like(leaf))
        if theta.grad is None:
            theta.grad = grad
        else:
            theta.grad.add_(grad)
        return value


def sample_omhn_trajectories(
    theta: torch.Tensor | np.ndarray, n_samples: int, *, seed: int | None = None
) -> Any:
    """Simulate tumours of an oMHN by the Gillespie algorithm, observation rate included.

    In state S the events not in S occur at their rates and the observation at
    ``exp(sum_{j in S} omega[j])``; the first to fire wins. The observed states and the event
    orders follow the equivalent cMHN (:func:`classical_theta`); the times are the oMHN's.

    Parameters
    ----------
    theta
        (n + 1, n) oMHN parameters.
    n_samples
        Number of tumours.
    seed
        Seed of the numpy generator; None draws fresh entropy.

    Returns
    -------
    Trajectories
        ``X``, ``order``, ``times`` (occurrence times, NaN where padded) and ``obs_time``
        (the time of the observation event).
    """
    from biomodels.ctmc.sampling import Trajectories

    th = as_omhn_theta(theta).detach().cpu().to(torch.float64).numpy()
    n_samples = check_count("n_samples", n_samples, at_least=0)
    n = th.shape[1]
    rng = np.random.default_rng(check_seed(seed))
    ev = th[:-1]
    omega = th[-1]
    base = np.diag(ev).copy()
    off = ev - np.diag(base)
    state = np.zeros((n_samples, n), dtype=bool)
    order = np.full((n_samples, n), -1, dtype=np.int64)
    times = np.full((n_samples, n), np.nan)
    clock = np.zeros(n_samples)
    t_obs = np.full(n_samples, np.nan)
    log_rate = np.tile(base, (n_samples, 1))
    log_obs = np.zeros(n_samples)
    alive = np.arange(n_samples)
    for step in range(n + 1):
        if alive.size == 0:
            break
        # the observation competes as one more clock (column n)
        lr = np.concatenate([np.where(state[alive], -np.inf, log_rate[alive]),
                             log_obs[alive, None]], axis=1)
        top = lr.max(axis=1, keepdims=True)
        with np.errstate(divide="ignore", over="ignore", under="ignore"):
            w = np.exp(lr - top)
            total = w.sum(axis=1) * np.exp(top[:, 0])
            wait = rng.exponential(1.0, size=alive.size) / total
        new_clock = clock[alive] + wait
        cum = np.cumsum(w, axis=1)
        u = rng.random(alive.size) * cum[:, -1]
        pick = np.minimum((cum < u[:, None]).sum(axis=1), n)
        observed = pick == n
        t_obs[alive[observed]] = new_clock[observed]
        idx = alive[~observed]
        if idx.size:
            e = pick[~observed]
            state[idx, e] = True
            order[idx, step] = e
            times[idx, step] = new_clock[~observed]
            clock[idx] = new_clock[~observed]
            log_rate[idx] += off[:, e].T
            log_obs[idx] += omega[e]
        alive = idx
    return Trajectories(X=state.astype(np.uint8), order=order, times=times, obs_time=t_obs)
