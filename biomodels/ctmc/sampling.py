"""Gillespie simulation of tumours: event orders, event times and the observation time.

A tumour starts with no events; in state S event i occurs at rate
``exp(theta[i, i] + sum_{j in S} theta[i, j])`` (rows are targets, as in MHN) and the tumour is
observed at T ~ Exp(1) (or at a fixed time). All tumours are simulated together, one event per
step, so the cost is O(N n^2) for N tumours and n events.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import torch

from biomodels.ctmc._checks import as_theta
from core.checks import check_count, check_seed

__all__ = ["Trajectories", "sample_trajectories"]


@dataclass(frozen=True, repr=False)
class Trajectories:
    """Simulated tumours.

    Attributes
    ----------
    X
        (N, n) uint8 matrix of the events present at observation.
    order
        (N, n) int64: event indices in order of occurrence, padded with -1.
    times
        (N, n) float64: occurrence time of ``order[:, m]``, NaN where padded.
    obs_time
        (N,) observation times.
    """

    X: np.ndarray
    order: np.ndarray
    times: np.ndarray
    obs_time: np.ndarray

    def __repr__(self) -> str:
        # what a notebook shows for `traj`: the dataclass repr printed all four arrays
        # (18,880 characters for 1,000 tumours of 10 events); shapes and dtypes instead
        X = self.X
        if isinstance(X, np.ndarray) and X.ndim == 2:
            head = (f"Trajectories of {X.shape[0]} tumour{'s' * (X.shape[0] != 1)} over "
                    f"{X.shape[1]} events")
            if X.size and X.dtype.kind in "biuf":
                head += f", {float(X.sum(1).mean()):.2f} events per tumour at observation"
        else:
            head = "Trajectories"
        arrays = ", ".join(f"{k} {_array_text(getattr(self, k))}"
                           for k in ("X", "order", "times", "obs_time"))
        return f"{head}\n    {arrays}"


def _array_text(x: object) -> str:
    """``(5, 4) uint8``: the shape and dtype of an array without its values (for reprs)."""
    shape, dtype = getattr(x, "shape", None), getattr(x, "dtype", None)
    if shape is None or dtype is None:
        return type(x).__name__
    return f"{tuple(shape)} {dtype}"


def sample_trajectories(
    theta: torch.Tensor | np.ndarray,
    n_samples: int,
    *,
    seed: int | None = None,
    obs_time: float | None = None,
) -> Trajectories:
    """Simulate ``n_samples`` tumours by the Gillespie algorithm.

    Parameters
    ----------
    theta
        (n, n) parameters: ``theta[i, j]`` = effect of event j on the rate of event i,
        diagonal = log base rates.
    n_samples
        Number of tumours.
    seed
        Seed of the numpy generator; None draws fresh entropy (another sample on every
        call).
    obs_time
        Fixed observation time; default draws T ~ Exp(1) per tumour (the MHN model).

    Returns
    -------
    Trajectories
        Observed states, event orders, event times and observation times.

    Examples
    --------
    >>> import numpy as np
    >>> traj = sample_trajectories(np.zeros((3, 3)), 5, seed=0)
    >>> traj.X.shape
    (5, 3)
    """
    th = as_theta(theta).detach().cpu().to(torch.float64).numpy()
    # as every other count: True failed in numpy ("expected a sequence of integers"), 5.0
    # raised a ValueError
    n_samples = check_count("n_samples", n_samples, at_least=0)
    n = th.shape[0]
    rng = np.random.default_rng(check_seed(seed))
    base = np.diag(th).copy()
    off = th - np.diag(base)
    if obs_time is None:
        t_obs = rng.exponential(1.0, size=n_samples)
    else:
        if isinstance(obs_time, bool | str | bytes) or not isinstance(
            obs_time, numbers.Real | np.ndarray | torch.Tensor
        ):  # np.isfinite("1") raised a TypeError naming no argument
            raise TypeError(f"obs_time: expected a real number, got {obs_time!r}")
        if not np.isfinite(obs_time) or obs_time < 0:
            raise ValueError(f"obs_time must be finite and non-negative, got {obs_time}")
        t_obs = np.full(n_samples, float(obs_time))
    state = np.zeros((n_samples, n), dtype=bool)
    order = np.full((n_samples, n), -1, dtype=np.int64)
    times = np.full((n_samples, n), np.nan)
    clock = np.zeros(n_samples)
    log_rate = np.tile(base, (n_samples, 1))
    alive = np.arange(n_samples)
    for step in range(n):
        if alive.size == 0:
            break
        lr = np.where(state[alive], -np.inf, log_rate[alive])
        top = lr.max(axis=1, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)
        # a rate beyond float range (theta_ii = 710: total = inf, wait 0) or below it
        # (-720: wait = inf, never happens; e^-745 of the largest: share 0) is exact here;
        # numpy's overflow warnings were errors under -W error, its underflow ones under
        # np.seterr(all="raise")
        with np.errstate(divide="ignore", over="ignore", under="ignore"):
            w = np.exp(lr - top)
            total = w.sum(axis=1) * np.exp(top[:, 0])
            wait = rng.exponential(1.0, size=alive.size) / total
        new_clock = clock[alive] + wait
        happens = (new_clock < t_obs[alive]) & (total > 0)
        idx = alive[happens]
        if idx.size:
            cum = np.cumsum(w[happens], axis=1)
            u = rng.random(idx.size) * cum[:, -1]
            ev = (cum < u[:, None]).sum(axis=1)
            ev = np.minimum(ev, n - 1)
            state[idx, ev] = True
            order[idx, step] = ev
            times[idx, step] = new_clock[happens]
            clock[idx] = new_clock[happens]
            log_rate[idx] += off[:, ev].T
        alive = idx
    return Trajectories(X=state.astype(np.uint8), order=order, times=times, obs_time=t_obs)
