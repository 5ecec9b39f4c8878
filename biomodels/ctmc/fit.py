"""Penalised maximum likelihood for theta: exact or MCMC gradients, proximal L1 or m*w.

Objective (Schill et al. 2020; Gotovos et al. 2021)::

    maximise  (1/N) sum_s log p_theta(x_s)  -  l1 * sum_{i != j} |theta[i, j]|

The penalty is the exact L1 norm; Schill et al.'s R code and ``mhn`` smooth it as
``sqrt(theta^2 + 1e-5)``, which leaves no exact zeros. Without it (``l1 = 0``) theta is
not identified by the state distribution at 2 to 4 events: its n^2 entries exceed the
2^n - 1 free probabilities, so fits to the exact distribution end at different thetas
with the same likelihood. From 5 events up it is identified, but the objective has local
optima: fits to the exact distribution recover theta from the default start for some
thetas only, and ``restarts`` for more (counts under :func:`fit_distribution`).

Gradients of the data term come from one of three sources:

* ``"statespace"``: the full 2^n distribution (cost independent of N; n <= ~16);
* ``"exact"``: the subset lattice of every tumour (cost sum_s 2^{k_s});
* ``"mcmc"``: the subset lattice below ``mcmc_threshold`` events (paper: 8) and the
  Metropolis-Hastings estimate over orderings above it (Gotovos et al., eq. 7).

Sparsity mechanisms:

* ``"proximal"``: AdaGrad or Adam steps followed by soft-thresholding of the off-diagonal
  entries with the coordinate's effective step size (proximal gradient; base rates unpenalised);
  with exact gradients the default optimiser is instead OWL-QN (orthant-wise L-BFGS, Andrew &
  Gao, ICML 2007), which solves the same non-smooth problem with exact zeros in 3-5x fewer
  steps (about 100 on GBM 261 x 20, against 300-500 for proximal Adam);
* ``"mirror"``: the off-diagonals are reparameterised as ``m * w`` with penalty
  ``l1/2 (m^2 + w^2)``, whose minimum over the factorisations equals ``l1 |theta|``; gradient
  flow on (m, w) is the hyperbolic-entropy mirror flow (Woodworth et al. 2020), the
  sparse core's implicit-sparsity mechanism, started from core's balanced split
  (:func:`core.reparam.balanced_split`) and stepped here with the fit's own Adam/AdaGrad;
* ``"ham"``: the sparse core's HAM wrapper (Jacobs et al., ICLR 2026) around Adam/AdaGrad,
  a multiplicative hyperbolic step on the off-diagonals with decay ``ham_alpha * l1``.

Convention: ``theta[i, j]`` = effect of event j on the rate of event i (rows are targets).
"""

from __future__ import annotations

import contextvars
import math
import numbers
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
from tqdm.auto import tqdm

from biomodels._stacklevel import user_stacklevel
from biomodels.ctmc._checks import as_theta
from biomodels.ctmc.data import validate_cohort
from biomodels.ctmc.likelihood_statespace import log_state_distribution, state_index
from biomodels.ctmc.likelihood_subsets import (
    _CHUNK_ELEMENTS,
    MAX_SUBSET_EVENTS,
    _group_log_prob,
    group_by_size,
    subset_log_likelihood,
)
from biomodels.ctmc.omhn import _OmhnObjective, omhn_penalty_mask
from biomodels.ctmc.orderings_mcmc import importance_log_likelihood, mcmc_gradient
from core.checks import check_count, check_device, check_number, check_seed, host_array
from core.grad_mode import with_grad
from core.progress import bar_disabled

__all__ = [
    "FitResult",
    "fit_theta",
    "independence_fit",
    "independence_theta",
    "data_log_likelihood",
    "choose_method",
    "fit_distribution",
]

Method = Literal["auto", "exact", "statespace", "mcmc"]


@dataclass(repr=False)
class FitResult:
    """Outcome of :func:`fit_theta`.

    Attributes
    ----------
    theta
        (n, n) fitted parameters (float64 numpy, rows = affected event); (n + 1, n) for
        ``model="omhn"``, the last row omega (:mod:`biomodels.ctmc.omhn`).
    method
        Gradient source actually used.
    n_steps
        Optimiser steps taken.
    converged
        Whether the stopping rule fired before ``max_steps``; :func:`fit_theta` warns when
        the step limit ended the fit instead, or OWL-QN's line search found no decrease
        away from an optimum.
    history
        Penalised objective of the starting theta and after each step (``history[k]`` after
        ``k`` steps; exact methods), or NaN (noisy MCMC gradients). With exact objectives the
        returned theta is the best-scoring iterate, ``max(history)``.
    optimizer
        Optimiser actually used (``"auto"`` resolved).
    optimality
        First-order optimality of ``theta`` (exact methods; NaN for noisy MCMC gradients): the
        largest entry of the minimum-norm subgradient of the penalised objective, the
        pseudo-gradient of OWL-QN (Andrew & Gao 2007), a uniform norm as scipy's
        ``least_squares`` reports its ``optimality``. It is 0 exactly at a stationary point:
        zero gradient on the diagonal, ``grad_ij = l1 * sign(theta_ij)`` on the non-zero
        interactions and ``|grad_ij| <= l1`` on those at zero (gradient of the mean
        log-likelihood). The penalised likelihood is not concave, so a small value certifies
        a local optimum, not the global one: fits from other starts can end elsewhere. The
        mirror and HAM fits leave tiny non-zero interactions where the L1 solution has zeros,
        whose entries count ``|grad_ij -/+ l1|``: there it stays near ``l1`` when converged.
    restarts
        None for a fit from one start (``restarts=0``, the default). With ``restarts=k > 0``
        the record of the ``k + 1`` fits: ``"objectives"``, the exact penalised objective
        at each start's fitted theta (start 0 = the default start, then the random ones; NaN
        where a random start's likelihood was not finite), ``"best"``, the index of the
        returned fit (the highest objective; the default start unless another beats it by more
        than 1e-6, relative), ``"theta_distance"``, the
        largest entry of ``|theta_k - theta|`` against the returned theta,
        ``"converged"``, each fit's stopping rule, and ``"scale"``, the standard deviation of
        the random interactions of the starts. Objectives within rounding and small distances
        say that every start found the same optimum; the other attributes (``n_steps``,
        ``history``, ``optimality``, ...) are those of the returned fit.
    """

    theta: np.ndarray
    method: str
    n_steps: int
    converged: bool
    history: list[float] = field(default_factory=list)
    optimizer: str = "adam"
    optimality: float = math.nan
    restarts: dict[str, Any] | None = None

    def __repr__(self) -> str:
        # the dataclass repr printed theta and every step of the history (one float per
        # optimiser step); the shape, the non-zero interactions and how the fit ended instead
        th = self.theta
        if isinstance(th, np.ndarray) and th.ndim == 2 and th.shape[0] == th.shape[1]:
            n = th.shape[0]
            off = int(np.count_nonzero(th)) - int(np.count_nonzero(np.diag(th)))
            head = (f"FitResult: theta ({n}, {n}) {th.dtype}, {off} of {n * (n - 1)} "
                    "interactions non-zero")
        else:
            head = f"FitResult: theta {type(th).__name__}"
        steps = f"{self.n_steps} steps, " + ("converged" if self.converged
                                              else "did not converge")
        # the returned theta is the best-scoring iterate (NaN scores for noisy mcmc)
        scores = [h for h in self.history if isinstance(h, float | int) and math.isfinite(h)]
        if scores:
            steps += f", final objective {max(scores):.6g}"
        if isinstance(self.optimality, float | int) and math.isfinite(self.optimality):
            steps += f", optimality {self.optimality:.2g}"
        if isinstance(self.restarts, dict) and isinstance(self.restarts.get("objectives"), list):
            steps += (f", best of {len(self.restarts['objectives'])} starts (start "
                      f"{self.restarts.get('best')})")
        return (f"{head}\n    method {self.method!r}, optimizer {self.optimizer!r}, {steps}")


def _check_sample_weight(sample_weight: object, n_rows: int) -> np.ndarray:
    """Return ``sample_weight`` as float64 (n_rows,), checked: finite, >= 0, not all zero."""
    try:
        w = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:  # text, None inside a list, complex
        raise TypeError(f"sample_weight: expected one real number per tumour, got "
                        f"{sample_weight!r}") from exc
    if w.ndim != 1 or len(w) != n_rows:
        raise ValueError(f"sample_weight must have one entry per tumour (shape ({n_rows},)), "
                         f"got shape {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or infinite entries")
    if (w < 0).any():
        raise ValueError(f"sample_weight must be non-negative, got {w[w < 0][0]:g}")
    if not w.sum() > 0:
        raise ValueError("sample_weight is zero for every tumour; at least one must be > 0")
    return w


def independence_theta(x: np.ndarray, *, sample_weight: np.ndarray | None = None
                       ) -> np.ndarray:
    """Independence model matching each event's frequency: diagonal, logit of the frequency.

    With no interactions P(event i observed) = lambda_i / (1 + lambda_i), so
    ``theta_ii = log(f_i / (1 - f_i))`` reproduces every marginal frequency; frequencies are
    clipped to [0.5/N, 1 - 0.5/N] so that never-observed events keep a finite rate. It is
    the starting point of the fits, not the independence model's maximum likelihood: the
    shared observation time couples the events (see :func:`independence_fit`).

    Parameters
    ----------
    x
        Tumours x events, 0/1 (at least one tumour; checked as :func:`validate_cohort`).
    sample_weight
        Optional non-negative weight of each tumour (e.g. the count of a deduplicated
        genotype): frequencies are weighted means, clipped at half a tumour's share,
        ``0.5 min(1, min(w > 0)) / sum(w)``: 0.5/N for counts, so that they give the theta
        of the cohort with repeated rows, and half the lightest weight's share for weights
        below 1 (probabilities).

    Returns
    -------
    numpy.ndarray
        Diagonal (n, n) theta.
    """
    # a 2 or a NaN would pass into the mean and the logit silently (NaN base rates), no
    # tumours would make it NaN; a scipy sparse x is made dense (len() of it raised
    # "sparse array length is ambiguous")
    x, _ = validate_cohort(x, warn_unobserved=False)
    if sample_weight is None:
        n_t = len(x)
        f = np.clip(np.asarray(x, dtype=float).mean(0), 0.5 / n_t, 1 - 0.5 / n_t)
    else:
        w = _check_sample_weight(sample_weight, len(x))
        total = w.sum()
        # counts clip as their repeated rows do (0.5 / N; the lightest count's share was
        # 1 / N with every count >= 2), probabilities at half the lightest one's
        lo = 0.5 * min(1.0, float(w[w > 0].min())) / total
        f = np.clip(w @ np.asarray(x, dtype=float) / total, lo, 1 - lo)
    return np.diag(np.log(f / (1 - f)))


def independence_fit(x: np.ndarray, *, method: Method = "auto", seed: int | None = 0
                     ) -> np.ndarray:
    """Maximum-likelihood independence model (diagonal theta), the baseline of held-out scores.

    Events without interactions are still coupled through the shared observation time, so
    the frequency logits of :func:`independence_theta` are not the maximum: on the GBM
    cohort they score -8.345 per tumour against -8.282 for the fitted diagonal (in-sample,
    on the whole cohort; held out, -8.421 and -8.345 as in the README). Fitted as
    :func:`fit_theta` with an L1 weight that keeps every interaction at exactly zero.

    Parameters
    ----------
    x
        Tumours x events, 0/1.
    method, seed
        As in :func:`fit_theta` (``seed=None`` is seed 0).

    Returns
    -------
    numpy.ndarray
        Diagonal (n, n) theta.

    Examples
    --------
    With one event the maximum is the logit of its frequency, here log(3 / 1):

    >>> import math
    >>> import numpy as np
    >>> from biomodels.ctmc import independence_fit
    >>> theta = independence_fit(np.array([[1], [1], [1], [0]]))
    >>> round(float(theta[0, 0]), 4), round(math.log(3), 4)
    (1.0986, 1.0986)
    >>> theta = independence_fit(np.array([[0, 0], [1, 0], [0, 1], [1, 1], [0, 0]]))
    >>> theta.shape, int(np.count_nonzero(theta - np.diag(np.diag(theta))))
    ((2, 2), 0)
    """
    # checked first: choose_method reads x.shape, which a list or a tensor lacks (an
    # AttributeError / TypeError naming nothing, where fit_theta accepts both)
    x, _ = validate_cohort(x, warn_unobserved=False)
    # n free parameters: OWL-QN's tight tolerance costs a few steps and leaves a stationary
    # point (the MCMC route keeps its own stopping rule)
    tol = None if choose_method(x, method) == "mcmc" else 1e-12
    res = fit_theta(x, l1=1e6, method=method, seed=seed, theta0=independence_theta(x), tol=tol)
    return np.diag(np.diag(res.theta))


#: Entries of all subset lattices (2^k (n + k^2) per distinct tumour) up to which ``auto``
#: stays exact for tumours of 15-25 events.
_EXACT_BUDGET = 2.0**28


def choose_method(x: np.ndarray, method: Method, mcmc_threshold: int = 8) -> str:
    """Resolve ``"auto"``: the cheapest exact route unless tumours are too large for it.

    Parameters
    ----------
    x
        Tumours x events, 0/1.
    method
        Requested method; anything but ``"auto"`` is returned unchanged.
    mcmc_threshold
        Not used by the rule: ``"auto"`` picks ``"mcmc"`` only when the exact subset
        lattices are out of reach (the MCMC route then still solves tumours below the
        threshold exactly).

    Returns
    -------
    str
        ``"statespace"`` (n <= 16 and cheaper than the subset lattices), ``"exact"`` (at
        most 14 events per tumour, or at most 25 with lattices of at most ``2^28`` entries
        in all, about a second a gradient; each tumour's lattice has ``2^k`` states for its
        ``k`` events, whatever the cohort's ``n``) or ``"mcmc"`` (any number of events).
    """
    n = x.shape[1]
    sizes = x.sum(1)
    if method != "auto":
        return method
    kmax = int(sizes.max()) if len(sizes) else 0
    # costs compared only up to 16 events: 2.0**n overflows a float from 1024 events on,
    # and 2.0**sizes for tumours that large
    if n <= 16 and float(2.0**n) * n <= float(np.sum(2.0**sizes)) * n:
        return "statespace"
    if kmax <= 14:
        return "exact"
    if kmax <= MAX_SUBSET_EVENTS:
        # a few larger tumours: exact gradients still cost about a second (measured 3-7 ns
        # an entry), while the MCMC fit stopped 0.005-0.04 nats short in as long or longer
        k = np.unique(x, axis=0).sum(1).astype(np.float64)  # identical tumours share one
        if float(np.sum(2.0**k * (n + k * k))) <= _EXACT_BUDGET:
            return "exact"
    return "mcmc"


def data_log_likelihood(
    theta: torch.Tensor,
    x: np.ndarray,
    *,
    is_threshold: int = 16,
    n_proposals: int = 2000,
    seed: int | None = 0,
) -> np.ndarray:
    """Per-tumour log-likelihood: exact for small tumours or models, importance-sampled above.

    Parameters
    ----------
    theta
        (n, n) parameters (rows = targets), on the device and in the dtype of the
        arithmetic (float16 and bfloat16 are computed in float32).
    x
        Binary (N, n) matrix.
    is_threshold
        Tumours with more events than this get the importance-sampling estimate; at most
        ``MAX_SUBSET_EVENTS`` (25): the exact lattice needs ``2^k`` states per tumour. Not
        used for a model of at most 12 events: every tumour's likelihood is then exact,
        from the full state space (``2^n`` states, cheaper than sampling).
    n_proposals, seed
        Importance-sampling settings; ``seed=None`` is seed 0 (the estimate is the same on
        every call). Each tumour's estimate depends on its events and the seed alone, not on
        the other tumours or their order.

    Returns
    -------
    np.ndarray
        (N,) log-likelihoods, float64.

    Raises
    ------
    ValueError
        If ``is_threshold`` is negative or above ``MAX_SUBSET_EVENTS``.

    Examples
    --------
    Without interactions (theta = 0) both events and the observation have rate 1, so
    nothing is observed with probability 1/3, event 0 alone with 1/3 * 1/2 and both
    events with 2 * 1/3 * 1/2 = 1/3:

    >>> import numpy as np
    >>> import torch
    >>> from biomodels.ctmc import data_log_likelihood
    >>> X = np.array([[0, 0], [1, 0], [1, 1]])
    >>> lp = data_log_likelihood(torch.zeros(2, 2, dtype=torch.float64), X)
    >>> np.exp(lp).round(6).tolist()
    [0.333333, 0.166667, 0.333333]
    """
    x, _ = validate_cohort(x, warn_unobserved=False)
    is_threshold = check_count("is_threshold", is_threshold, at_least=0)
    if is_threshold > MAX_SUBSET_EVENTS:
        # a 26-event tumour on the exact lattice asked for 14 GB
        raise ValueError(f"is_threshold must be at most {MAX_SUBSET_EVENTS} (the exact "
                         f"lattice needs 2^k states per tumour), got {is_threshold}")
    th = as_theta(theta, n=x.shape[1]).detach()
    # in at least float32: a float16 theta lost 3e-3 nats a tumour, a bfloat16 one failed
    # in .numpy() ("unsupported ScalarType BFloat16")
    th = th.to(torch.promote_types(th.dtype, torch.float32))
    xb = torch.as_tensor(x, device=th.device).bool()
    out = np.zeros(len(xb))
    seed = check_seed(seed, bits=64)  # torch.Generator's range
    seed = 0 if seed is None else seed
    with torch.no_grad():
        if th.shape[0] <= 12:
            lp = log_state_distribution(th)
            # float64 like the subset and sampled estimates (a float32 theta gave float32)
            return lp[state_index(xb, th.shape[0])].cpu().numpy().astype(np.float64)
        small = xb.sum(-1) <= is_threshold
        if bool(small.any()):
            exact = subset_log_likelihood(th, xb[small], max_events=is_threshold)
            out[small.cpu().numpy()] = exact.cpu().numpy()
        large = torch.nonzero(~small).squeeze(-1)
        if large.numel():
            # a stream per distinct tumour, seeded by its events: one stream through the
            # cohort made a tumour's estimate depend on the rows before it (row order, the
            # other tumours in the call; up to 3.8 nats at 17-20 of 20 events)
            patterns, inverse = torch.unique(xb[large], dim=0, return_inverse=True)
            for j, pattern in enumerate(patterns):
                events = torch.nonzero(pattern).reshape(1, -1)
                key = np.random.SeedSequence([seed, *events.reshape(-1).tolist()])
                gen = torch.Generator(device=th.device).manual_seed(
                    int(key.generate_state(1, np.uint64)[0]))
                est = importance_log_likelihood(th, events, n_proposals=n_proposals,
                                                generator=gen)
                out[large[inverse == j].cpu().numpy()] = float(est[0])
    return out


class _Objective:
    """Mean log-likelihood gradients, accumulated chunk by chunk into ``theta.grad``."""

    def __init__(
        self,
        x: np.ndarray,
        method: str,
        *,
        mcmc_threshold: int,
        n_samples: int,
        burn_in: int,
        device: torch.device,
        dtype: torch.dtype,
        seed: int | None,
        sample_weight: np.ndarray | None = None,
    ):
        self.n = x.shape[1]
        # the mean log-likelihood is sum_s w_s log p(x_s) / sum_s w_s (all w_s = 1 unweighted)
        self.n_tumours = len(x) if sample_weight is None else float(sample_weight.sum())
        self.method = method
        self.n_samples, self.burn_in = n_samples, burn_in
        xb = torch.as_tensor(x, device=device).bool()
        row_w = None if sample_weight is None else torch.as_tensor(
            sample_weight, dtype=dtype, device=device)
        self.gen = torch.Generator(device=device).manual_seed(0 if seed is None else seed)
        # the tables of lattices beyond 16 events, for the fit's lifetime: rebuilt for every
        # tumour at every evaluation they took 40 % of its time at 18-20 events. They double
        # with each event, so all sizes together hold at most about twice the largest's.
        self.tables: dict = {}
        if method == "statespace":
            idx = state_index(xb, self.n)
            self.weights = torch.bincount(
                idx, weights=None if row_w is None else row_w.to(torch.float64),
                minlength=2**self.n).to(dtype) / self.n_tumours
            self.groups = []
        else:
            threshold = mcmc_threshold if method == "mcmc" else 10**9
            small = x.sum(1) < threshold
            # identical tumours share one lattice solve, weighted by their count (or by the
            # sum of their weights)
            uniq, inverse, counts = np.unique(x[small], axis=0, return_inverse=True,
                                              return_counts=True)
            if sample_weight is not None:
                counts = np.bincount(inverse.reshape(-1), weights=sample_weight[small],
                                     minlength=len(uniq))
            weight = torch.as_tensor(counts, dtype=dtype, device=device)
            self.groups = []
            for k, (rows, events) in group_by_size(
                torch.as_tensor(uniq, device=device).bool()
            ).items():
                chunk = max(1, _CHUNK_ELEMENTS // (2**k * self.n))
                for start in range(0, len(events), chunk):
                    sl = slice(start, start + chunk)
                    self.groups.append(("exact", events[sl], weight[rows[sl]]))
            large = torch.as_tensor(~small)
            for k, (rows, events) in group_by_size(xb[large]).items():
                # (chunk, M, k + 1, n + 1) float32 ordering terms, ~2^24 elements at most
                per_tumour = (1 + burn_in + n_samples) * (k + 1) * (self.n + 1)
                chunk = max(1, 4 * _CHUNK_ELEMENTS // per_tumour)
                w_k = None if row_w is None else row_w[large.to(device)][rows]
                for start in range(0, len(events), chunk):
                    sl = slice(start, start + chunk)
                    self.groups.append(("mcmc", events[sl], None if w_k is None else w_k[sl]))

    def accumulate(self, theta: torch.Tensor) -> float:
        """Add grad of -(mean log-likelihood) to theta.grad; return the exact part's value."""
        if self.method == "statespace":
            lp = log_state_distribution(theta)
            mask = self.weights > 0
            loss = -(self.weights[mask] * lp[mask]).sum()
            loss.backward()
            return float(loss.detach())
        total = 0.0
        for mode, events, weight in self.groups:
            if mode == "exact":
                lp = _group_log_prob(theta, events, self.tables)
                loss = -(weight * lp).sum() / self.n_tumours
                total += float(loss.detach())
            else:
                grad, _ = mcmc_gradient(
                    theta,
                    events,
                    n_samples=self.n_samples,
                    burn_in=self.burn_in,
                    generator=self.gen,
                    weight=weight,
                )
                if theta.grad is None:
                    theta.grad = torch.zeros_like(theta)
                theta.grad.sub_(grad / self.n_tumours)
                total = math.nan
                continue
            loss.backward()
        return total


def _soft_threshold(theta: torch.Tensor, thresh: torch.Tensor, offdiag: torch.Tensor) -> None:
    shrunk = torch.sign(theta) * torch.clamp(theta.abs() - thresh, min=0.0)
    theta.copy_(torch.where(offdiag, shrunk, theta))


def _pseudo_gradient(
    x: torch.Tensor, g: torch.Tensor, l1: float, pen: torch.Tensor
) -> torch.Tensor:
    """Minimum-norm subgradient of f + l1 * sum(|x| on ``pen``) (Andrew & Gao 2007)."""
    right, left = g + l1, g - l1
    at_zero = torch.where(right < 0, right, torch.where(left > 0, left, torch.zeros_like(g)))
    pg = torch.where(x > 0, right, torch.where(x < 0, left, at_zero))
    return torch.where(pen, pg, g)


def _optimality(theta: torch.Tensor, grad: torch.Tensor, l1: float,
                offdiag: torch.Tensor) -> float:
    """Largest entry of the pseudo-gradient at ``theta`` (``grad`` of the minimised objective).

    0 at a stationary point of the L1-penalised problem (its KKT conditions): ``grad`` 0 on the
    unpenalised entries, ``-l1 * sign(theta)`` on the non-zero penalised ones and at most
    ``l1`` in size on those at zero. NaN if ``grad`` is.
    """
    return float(_pseudo_gradient(theta, grad, l1, offdiag).abs().max())


def _subspace_direction(
    pg: torch.Tensor, s_list: list[torch.Tensor], y_list: list[torch.Tensor], free: torch.Tensor
) -> torch.Tensor:
    """``(B_FF)^{-1} pg_F`` on the free coordinates F (zero elsewhere), B the L-BFGS matrix.

    B = theta I - W M W^T is the compact form of the BFGS matrix built from the pairs (Byrd,
    Nocedal & Schnabel, Math. Prog. 63, 1994, eq. 3.5; theta = y'y / s'y of the newest pair);
    its block on F is inverted by the Sherman-Morrison-Woodbury formula, a 2m x 2m solve, as in
    L-BFGS-B's subspace step. Restricting the two-loop product ``H pg`` to F instead uses the
    block of the inverse, ``(B^-1)_FF``, which exceeds ``(B_FF)^-1`` whenever the coordinates
    held at zero are coupled to the free ones: those steps overshoot and need backtracking.
    """
    f = free.to(pg.dtype)
    if not s_list:
        return pg * f / max(1.0, float(pg.abs().max()))
    s_mat = torch.stack([s.reshape(-1) for s in s_list], 1)
    y_mat = torch.stack([y.reshape(-1) for y in y_list], 1)
    scale = float((y_mat[:, -1] ** 2).sum()) / float((s_mat[:, -1] * y_mat[:, -1]).sum())
    sy = s_mat.T @ y_mat
    lower = torch.tril(sy, -1)
    middle_inv = torch.cat([
        torch.cat([-torch.diag(torch.diagonal(sy)), lower.T], 1),
        torch.cat([lower, scale * (s_mat.T @ s_mat)], 1),
    ])
    w = torch.cat([y_mat, scale * s_mat], 1) * f.reshape(-1, 1)
    g = pg.reshape(-1) * f.reshape(-1)
    v = torch.linalg.solve(middle_inv - (w.T @ w) / scale, w.T @ g)
    return (g / scale + (w @ v) / scale**2).reshape(pg.shape)


def _fit_owlqn(
    objective: _Objective,
    theta0: torch.Tensor,
    l1: float,
    offdiag: torch.Tensor,
    *,
    max_steps: int,
    tol: float,
    memory: int = 30,
    progress: bool = False,
    desc: str = "ctmc fit",
) -> tuple[torch.Tensor, int, bool, list[float], float]:
    """Orthant-wise limited-memory quasi-Newton (OWL-QN; Andrew & Gao, ICML 2007).

    Minimises ``f(theta) + l1 * sum_{i != j} |theta_ij|`` with ``f`` the exact mean negative
    log-likelihood, with a projected Armijo backtracking line search: off-diagonal entries that
    would change sign are set to exactly zero, so the result is as sparse as a proximal-gradient
    fit. The direction is the L-BFGS Newton step on the pseudo-gradient restricted to the free
    coordinates (those not held at zero), ``-(B_FF)^-1 pg_F``; an off-diagonal entry whose step
    would not follow its pseudo-gradient's sign (OWL-QN's sign projection) is held fixed and
    the step re-solved, so the projection never truncates a step computed for the others.
    Projecting the full-space two-loop step instead (Andrew & Gao) overshoots: the line search
    rejected the unit step on 46 % of the iterations of a 30-event fit (430 evaluations), against
    2 % here (130 evaluations, the same optimum).
    Stops when the penalised objective changes by less than ``tol`` (relative) over one step or
    the largest pseudo-gradient entry falls below 1e-8. Returns the final theta, the steps
    taken, whether a stopping rule fired, the objective history and the largest
    pseudo-gradient entry at the final theta (:func:`_optimality`).
    """

    def evaluate(theta: torch.Tensor) -> tuple[float, torch.Tensor]:
        leaf = theta.detach().clone().requires_grad_(True)
        value = objective.accumulate(leaf)
        return value + l1 * float((theta * offdiag).abs().sum()), leaf.grad.detach()

    x = theta0.detach().clone()
    fx, g = evaluate(x)
    if not math.isfinite(fx) or not bool(torch.isfinite(g).all()):
        raise ValueError(
            "the likelihood or its gradient is not finite at the starting theta (its sums "
            "of log rates overflow the floating-point range); start closer, e.g. from the "
            "independence model (theta0=None)"
        )
    history = [-fx]
    s_list: list[torch.Tensor] = []
    y_list: list[torch.Tensor] = []
    converged = False
    step = 0
    # leave=None: a fit's bar stays, one nested under the cross-validation's bar is cleared
    bar = tqdm(range(1, max_steps + 1), disable=bar_disabled(progress), desc=desc, leave=None)
    for step in bar:
        pg = _pseudo_gradient(x, g, l1, offdiag)
        if float(pg.abs().max()) < 1e-8:
            converged = True
            step -= 1
            break
        # entries at zero with a zero pseudo-gradient stay there; each round drops the entries
        # whose Newton step would not follow -pg (each round drops at least one)
        movable = ~(offdiag & (x == 0) & (pg == 0))
        free = movable.clone()
        for _ in range(free.numel()):
            try:
                q = _subspace_direction(pg, s_list, y_list, free)
            except RuntimeError:  # a singular 2m x 2m system: restart the memory
                s_list.clear()
                y_list.clear()
                q = _subspace_direction(pg, s_list, y_list, free)
            wrong = free & offdiag & (q * pg <= 0)
            if not bool(wrong.any()):
                break
            free &= ~wrong
        d = torch.where(free, -q, torch.zeros_like(q))
        if not float((pg * d).sum()) < 0:  # rounding broke B's positive definiteness
            s_list.clear()
            y_list.clear()
            d = -_subspace_direction(pg, s_list, y_list, movable)  # scaled steepest descent
        orthant = torch.where(x != 0, torch.sign(x), -torch.sign(pg))
        t, accepted = 1.0, False
        for _ in range(40):
            x_new = x + t * d
            x_new = torch.where(offdiag & (torch.sign(x_new) != orthant), 0.0, x_new)
            f_new, g_new = evaluate(x_new)
            if math.isfinite(f_new) and f_new <= fx + 1e-4 * float((pg * (x_new - x)).sum()):
                accepted = True
                break
            t *= 0.5
        if not accepted:
            # no decrease along the direction: at the optimum up to rounding if the
            # pseudo-gradient is small, else stuck (reported as not converged)
            converged = float(pg.abs().max()) < 1e-4 * max(1.0, abs(fx))
            break
        s, y = x_new - x, g_new - g
        # curvature test relative to |y|^2 (as L-BFGS-B) and |s|^2 (a curvature at rounding
        # level, where the objective is linear, would blow up the steps): an absolute floor
        # (1e-12) dropped every pair once steps shrank near the optimum, and the stale memory
        # stalled the fit (exact-distribution recovery stopped 0.2 short of theta at 5 events)
        if float((s * y).sum()) > torch.finfo(s.dtype).eps * max(float((y * y).sum()),
                                                                 float((s * s).sum())):
            s_list.append(s)
            y_list.append(y)
            if len(s_list) > memory:
                s_list.pop(0)
                y_list.pop(0)
        change = fx - f_new
        x, fx, g = x_new, f_new, g_new
        history.append(-fx)
        if progress:
            bar.set_postfix(objective=f"{-fx:.6f}")
        if change <= tol * max(1.0, abs(fx)):
            converged = True
            break
    bar.close()
    return x, step, converged, history, _optimality(x, g, l1, offdiag)


@with_grad  # also inside the caller's torch.no_grad()
def fit_theta(
    x: np.ndarray,
    *,
    l1: float,
    method: Method = "auto",
    sparsity: Literal["proximal", "mirror", "ham"] = "proximal",
    optimizer: Literal["auto", "adam", "adagrad", "lbfgs"] = "auto",
    lr: float | None = None,
    max_steps: int | None = None,
    tol: float | None = None,
    mcmc_threshold: int = 8,
    n_samples: int = 50,
    burn_in: int = 5,
    ham_alpha: float = 2.0,
    theta0: np.ndarray | None = None,
    seed: int | None = 0,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
    progress: bool = False,
    sample_weight: np.ndarray | None = None,
    restarts: int = 0,
    model: Literal["cmhn", "omhn"] = "cmhn",
) -> FitResult:
    """Fit theta by penalised maximum likelihood.

    Parameters
    ----------
    x
        Binary (N, n) matrix (checked: non-binary or NaN entries raise, naming the column).
    l1
        Strength of the L1 penalty on off-diagonal entries (per tumour, as in MHN's lambda).
    method
        Gradient source, see the module docstring; ``"auto"`` picks statespace/exact/mcmc.
    sparsity
        ``"proximal"`` (soft-thresholding), ``"mirror"`` (m * w reparameterisation) or ``"ham"``
        (the sparse core's :class:`core.HAM` hyperbolic step after each Adam/AdaGrad step, with
        decay ``beta = ham_alpha * l1``).
    optimizer
        ``"auto"`` (``"lbfgs"`` when the gradients are exact and ``sparsity="proximal"``,
        else ``"adam"``), ``"adam"``, ``"adagrad"`` (Gotovos et al.) or ``"lbfgs"``: orthant-wise
        L-BFGS (OWL-QN, Andrew & Gao 2007) on the exact penalised objective, which keeps exact
        zeros like the proximal step and converges in far fewer steps; it needs exact
        gradients and objective values (``sparsity="proximal"``, no MCMC tumours) and ignores
        ``lr``.
    lr
        Step size, finite and > 0 (default 0.1 for Adam, 0.5 for AdaGrad; halved for noisy
        MCMC gradients).
    max_steps
        Step cap (default 500 exact, 600 mcmc, 300 for ``"lbfgs"``). A fit that reaches it
        before its stopping rule fires (``converged`` False) warns (``UserWarning``): its
        estimates may still move with more steps.
    tol
        Stop when max |theta_t - theta_{t-50}| < tol (default 1e-4 exact; 0.03 over 200 steps
        for mcmc, the paper's rule); exact fits also stop when the penalised log-likelihood
        gained less than 1e-6 over the last 50 steps. For ``"lbfgs"``: stop when one step
        changes the penalised objective by less than ``tol`` relative (default 1e-8) or the
        largest pseudo-gradient entry is below 1e-8.
    mcmc_threshold, n_samples, burn_in
        MCMC settings (paper: 8, 50, 5); tumours with fewer than ``mcmc_threshold`` (>= 1)
        events get the exact lattice. The short chains start from one proposal draw, so the
        gradient is biased beyond its Monte Carlo error: about 4 % relative at ``burn_in=5``
        and 1.4 % at 100 on random theta with 7 events, 14 % on a structured block with 11;
        raise ``burn_in`` where the fit must be close.
    ham_alpha
        HAM's geometry strength (2 reproduces the m * w geometry, HAM Thm 3.1). With
        ``sparsity="ham"`` the decay competes with Adam's normalised step, so the fit does
        not reach the L1 optimum (on 5 events it ends 0.1-0.25 nats per tumour below it,
        without exact zeros): an experiment, not a solver of the L1 problem.
    theta0
        Initial theta (default: the independence model, zero interactions).
    seed
        Seed of the MCMC chains and of the ``restarts``' starting points; None is seed 0 (the
        chains and starts are the same on every call).
    dtype, device
        Arithmetic (float32 or float64; float64 recommended) and device.
    progress
        Show a tqdm progress bar.
    sample_weight
        Optional (N,) non-negative, finite weights of the tumours, e.g. the counts of a
        deduplicated cohort (unique genotypes + counts) or probabilities (see
        :func:`fit_distribution`). The objective becomes the weighted mean
        ``sum_s w_s log p(x_s) / sum_s w_s`` minus the same penalty, so integer counts fit
        exactly as the cohort with repeated rows (for the same ``method``: ``"auto"`` chooses
        by the rows it is given) and rows of weight 0 are dropped before anything else.
    restarts
        Extra fits from random starting points besides the default start (``theta0`` or the
        independence model), an integer >= 0 (default 0: one fit, as before the option).
        The penalised likelihood is not concave and fits from different starts can end at
        different local optima; the fit with the highest exact penalised objective is
        returned (the default start's unless another is better by more than 1e-6, relative: fits
        that end at the same optimum differ by round-off; for ``"lbfgs"`` with a ``tol``
        below its default, 100 ``tol`` and at least 1e-10, as its fits agree that closely)
        and all of them are recorded in
        :attr:`FitResult.restarts`. Start k adds N(0, 1) off-diagonal entries to the default
        start (fitted interactions mostly lie within +-2), drawn from a generator seeded
        by ``seed`` (None is 0): the same seed gives the same starts, and ``restarts=0``
        draws nothing. Each restart costs about one more fit. Needs exact objective values:
        refused (ValueError) when MCMC samples orderings (``method="mcmc"`` with tumours of
        at least ``mcmc_threshold`` events).
    model
        ``"cmhn"`` (default), the classical MHN with an (n, n) theta, or ``"omhn"``, the
        observation MHN of Schill et al. 2024 (``mhn``'s default model): an (n + 1, n) theta
        whose last row omega holds the events' effects on the observation rate. Its
        likelihood is the cMHN likelihood of
        :func:`~biomodels.ctmc.omhn.classical_theta`; the L1 penalty covers the off-diagonal
        event rows and omega (``mhn``'s default oMHN penalty, exact here). Every ``method``,
        ``sparsity`` and ``optimizer`` works with it; the default start is the independence
        model with omega = 0, as in ``mhn``, and ``theta0`` may be (n + 1, n) or an (n, n)
        classical theta (omega = 0).

    Returns
    -------
    FitResult
        ``theta`` is (n + 1, n) for ``model="omhn"``.

    Examples
    --------
    >>> import numpy as np
    >>> genotypes = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
    >>> res = fit_theta(genotypes, l1=0.01, sample_weight=[50, 20, 15, 15])
    >>> res.theta.shape
    (2, 2)
    """
    if isinstance(l1, bool) or not (isinstance(l1, numbers.Real | torch.Tensor)
                                    or isinstance(l1, np.ndarray) and l1.ndim == 0):
        # None or a string failed on the comparison below with a message naming nothing
        raise TypeError(f"l1: expected a real number, got {l1!r}")
    if l1 < 0 or not math.isfinite(l1):
        raise ValueError(f"l1 must be a finite non-negative number, got {l1}")
    if lr is not None:
        # a negative step ascends the loss and the best-iterate rule hands back theta0
        lr = check_number("lr", lr, above=0)
    # max_steps=20.0, n_samples=10.0 or tol="1e-4" failed deep in the fit naming nothing,
    # max_steps=True ran one step
    if max_steps is not None:
        max_steps = check_count("max_steps", max_steps)
    if tol is not None:
        tol = check_number("tol", tol, at_least=0)
    n_samples = check_count("n_samples", n_samples)
    burn_in = check_count("burn_in", burn_in, at_least=0)
    ham_alpha = check_number("ham_alpha", ham_alpha, at_least=0)
    restarts = check_count("restarts", restarts, at_least=0)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        # an integer theta would fail deep in autograd ("only Tensors of floating point ...")
        raise ValueError(f"dtype must be a floating torch dtype, got {dtype!r}")
    if torch.finfo(dtype).bits < 32:
        # a float16 fit reported convergence 0.6 away from the float64 theta; a bfloat16
        # one failed after the whole fit, in .numpy() ("unsupported ScalarType BFloat16")
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}: too coarse for "
                         "the log-likelihood")
    x, _ = validate_cohort(x, warn_unobserved=False)  # the checks below index x as an array
    if sample_weight is not None:
        sample_weight = _check_sample_weight(sample_weight, len(x))
        # rows of weight 0 drop out here, so that they cannot steer the method, the start
        # or the size checks below (a weightless 30-event row would force the MCMC route)
        keep = sample_weight > 0
        x, sample_weight = x[keep], sample_weight[keep]
    if l1 == 0 and len(np.unique(np.asarray(x, dtype=np.uint8), axis=0)) < 2 ** x.shape[1]:
        warnings.warn(
            "l1 = 0 with some of the 2^n states never observed: the maximum likelihood may not "
            "exist (interactions can grow without bound towards the unseen states); use a "
            "small l1 such as 1/N", UserWarning, stacklevel=user_stacklevel())
    if sparsity not in ("proximal", "mirror", "ham"):
        raise ValueError(f"sparsity must be 'proximal', 'mirror' or 'ham', got {sparsity!r}")
    if optimizer not in ("auto", "adam", "adagrad", "lbfgs"):
        raise ValueError(
            f"optimizer must be 'auto', 'adam', 'adagrad' or 'lbfgs', got {optimizer!r}"
        )
    if method not in ("auto", "exact", "statespace", "mcmc"):
        raise ValueError(f"method must be 'auto', 'exact', 'statespace' or 'mcmc', got {method!r}")
    mcmc_threshold = check_count("mcmc_threshold", mcmc_threshold)
    if model not in ("cmhn", "omhn"):
        raise ValueError(f"model must be 'cmhn' or 'omhn', got {model!r}")
    seed = check_seed(seed, bits=64)  # torch.Generator's range
    n = x.shape[1]
    used = choose_method(x, method, mcmc_threshold)
    if used == "statespace" and n > 20:
        raise ValueError(f"method='statespace' needs n <= 20 events, got {n}")
    sizes = x.sum(1)
    kmax = int(sizes.max())
    if used == "exact" and kmax > MAX_SUBSET_EVENTS:
        raise ValueError(
            f"method='exact': a tumour carries {kmax} events (> {MAX_SUBSET_EVENTS}); the "
            "exact subset likelihood needs 2^k states per tumour. Use method='mcmc'."
        )
    lattice = sizes[sizes < mcmc_threshold] if used == "mcmc" else sizes[:0]
    if lattice.size and int(lattice.max()) > MAX_SUBSET_EVENTS:
        # those tumours get the exact lattice: 2^k states each (14 GB at 26 events of 26)
        raise ValueError(
            f"mcmc_threshold={mcmc_threshold}: tumours with fewer events get the exact subset "
            f"lattice (2^k states), and one carries {int(lattice.max())} events (> "
            f"{MAX_SUBSET_EVENTS}); use mcmc_threshold <= {MAX_SUBSET_EVENTS + 1}"
        )
    noisy = used == "mcmc" and kmax >= mcmc_threshold
    # method='exact' is advised only where it runs (it refuses tumours of more than
    # MAX_SUBSET_EVENTS events, which sent the user back to mcmc in a loop)
    exact_fits = kmax <= MAX_SUBSET_EVENTS
    if restarts and noisy:
        # the starts are compared by their objective, which sampled orderings only estimate
        raise ValueError(
            f"restarts={restarts} needs exact objective values to compare the fits, and "
            f"method='mcmc' samples the orderings of tumours of >= {mcmc_threshold} events; "
            + ("use an exact method (method='exact') or restarts=0" if exact_fits else
               f"a tumour carries {kmax} events, too many for method='exact' (> "
               f"{MAX_SUBSET_EVENTS}): use restarts=0")
        )
    if optimizer == "auto":
        optimizer = "adam" if noisy or sparsity != "proximal" else "lbfgs"
    if optimizer == "lbfgs" and (noisy or sparsity != "proximal"):
        raise ValueError(
            "optimizer='lbfgs' needs exact gradients; got method='mcmc' with tumours of "
            f">= {mcmc_threshold} events ("
            + ("use method='exact' or optimizer='adam')" if exact_fits else
               f"a tumour carries {kmax} events, too many for method='exact': use "
               "optimizer='adam')")
            if noisy
            else f"optimizer='lbfgs' needs sparsity='proximal', got sparsity={sparsity!r}"
        )
    if lr is None:
        lr = (0.1 if optimizer == "adam" else 0.5) * (0.5 if noisy else 1.0)
    lbfgs = optimizer == "lbfgs"
    if max_steps is None:
        max_steps = 300 if lbfgs else 600 if noisy else 500
    window = 200 if noisy else 50
    if tol is None:
        tol = 1e-8 if lbfgs else 0.03 if noisy else 1e-4
    dev = check_device(device)  # torch's own messages named no argument
    objective = _Objective(
        x,
        used,
        mcmc_threshold=mcmc_threshold,
        n_samples=n_samples,
        burn_in=burn_in,
        device=dev,
        dtype=dtype,
        seed=seed,
        sample_weight=sample_weight,
    )
    init = (independence_theta(x, sample_weight=sample_weight) if theta0 is None
            # a tensor needing grad or on a GPU as y0 elsewhere; a meta one refused by name
            else np.asarray(host_array(theta0, "theta0"), dtype=float))
    if model == "omhn":
        # the oMHN's parameters; the likelihood is that of its classical theta
        objective = _OmhnObjective(objective)
        if init.shape == (n, n):  # the independence model or a classical theta: omega = 0
            init = np.vstack([init, np.zeros((1, n))])
        if init.shape != (n + 1, n):
            raise ValueError(f"theta0 must have shape ({n + 1}, {n}) (or ({n}, {n}), omega "
                             f"= 0) for model='omhn', got {init.shape}")
    if init.shape != (n, n) and model == "cmhn":
        raise ValueError(f"theta0 must have shape ({n}, {n}), got {init.shape}")
    if not np.isfinite(init).all():
        raise ValueError("theta0 contains NaN or infinite entries")
    offdiag = (~torch.eye(n, dtype=torch.bool, device=dev) if model == "cmhn"
               else omhn_penalty_mask(n, device=dev))
    theta_init = torch.as_tensor(init, dtype=dtype, device=dev)
    settings: dict[str, Any] = dict(
        l1=l1, offdiag=offdiag, used=used, sparsity=sparsity, optimizer=optimizer, lr=lr,
        max_steps=max_steps, tol=tol, window=window, noisy=noisy, ham_alpha=ham_alpha,
        progress=progress)
    if restarts == 0:
        res = _descend(objective, theta_init, **settings)
    else:
        res = _best_of_starts(objective, init, restarts, seed=seed, dtype=dtype, device=dev,
                              **settings)
    if not res.converged and res.n_steps >= max_steps:
        # only FitResult.converged (fit_info["converged"]) said so: a 500-step Adam fit of 8
        # GBM events ended 1.12 from the OWL-QN theta without a word
        stopped = _STEP_LIMITS.get()
        if stopped is not None:  # a cross-validation's fold fit: it says so once for all
            stopped.append(_Stop(float(l1), max_steps))
            return res
        warnings.warn(StepLimitWarning(
            _step_limit_message(max_steps, l1, len(x), sample_weight is not None),
            l1=float(l1), max_steps=max_steps), stacklevel=user_stacklevel())
    elif not res.converged:
        # OWL-QN's line search found no decrease before the limit, away from an optimum:
        # FitResult.converged was the only sign of it
        stopped = _STEP_LIMITS.get()
        if stopped is not None:  # a fold fit: said once for all (a warning per fold before)
            stopped.append(_Stop(float(l1), max_steps, float(res.optimality)))
            return res
        warnings.warn(
            f"the fit to {len(x)} {'weighted rows' if sample_weight is not None else 'tumours'}"
            f" at l1={float(l1):g} stopped after n_steps={res.n_steps} of max_steps="
            f"{max_steps}: its line search found no decrease while the largest pseudo-gradient"
            f" entry is {res.optimality:.3g} (optimality; 0 at an optimum), so the estimates "
            "may be off the optimum; fit from other starts (restarts=3) or with "
            "optimizer='adam' and compare", stacklevel=user_stacklevel())
    return res


class _Stop(NamedTuple):
    """How a fold fit stopped short: at its step limit, or where its line search stalled."""

    l1: float
    max_steps: int
    #: for a line search that found no decrease: the optimality where it stopped
    optimality: float | None = None


#: where a cross-validation collects its fold fits that stopped at their step limit or
#: whose line search stalled, to warn once for all of them (None: each fit warns)
_STEP_LIMITS: contextvars.ContextVar[list[_Stop] | None] = contextvars.ContextVar(
    "_STEP_LIMITS", default=None)


class StepLimitWarning(UserWarning):
    """A fit ended at its step limit ``max_steps`` before its stopping rule fired.

    A ``UserWarning`` (filters on that category catch it) that keeps the fit's ``l1`` and
    ``max_steps``, so that a cross-validation says once how many of its fits stopped. Both
    are optional: code that re-raises a warning as ``category(message)`` (pytest's
    ``warns`` on older versions, a message rewritten for the command line) gives neither.
    """

    def __init__(self, message: str, *, l1: float | None = None,
                 max_steps: int | None = None) -> None:
        super().__init__(message)
        self.l1 = l1
        self.max_steps = max_steps


def _step_limit_message(max_steps: int, l1: float, rows: int, weighted: bool) -> str:
    """Say that a fit ended at its step limit ``max_steps``, unconverged, and what to do.

    The fit is named by its ``l1`` and its number of ``rows`` (tumours, or ``weighted``
    rows), which tell a cross-validation's fold fits (fewer tumours, the grid's strengths)
    from the final one: on the GBM cohort the default fit converged in 92 steps while 7 of
    its 25 fold fits stopped at 300, up to 0.02 nats a tumour short of their optimum. Fits
    with the same message are shown once (Python's warning registry). Worded with the
    arguments as ``max_steps=N`` and ``l1=X``, which the command line shows as its options.
    """
    who = f"{rows} {'weighted rows' if weighted else 'tumours'}"
    return (f"the fit to {who} at l1={float(l1):g} stopped at its step limit, "
            f"max_steps={max_steps}, before its stopping rule fired (n_steps={max_steps}, "
            "converged=False): the estimates may still move with more steps; raise max_steps "
            f"(e.g. max_steps={2 * max_steps})")


def _descend(
    objective: _Objective,
    theta_init: torch.Tensor,
    *,
    l1: float,
    offdiag: torch.Tensor,
    used: str,
    sparsity: str,
    optimizer: str,
    lr: float,
    max_steps: int,
    tol: float,
    window: int,
    noisy: bool,
    ham_alpha: float,
    progress: bool,
    desc: str = "",
) -> FitResult:
    """One fit of :func:`fit_theta` from ``theta_init``, its settings resolved.

    ``desc`` is appended to the progress bar's label (the start of a fit with restarts).
    """
    if optimizer == "lbfgs":
        final, n_steps, converged, history, optimality = _fit_owlqn(
            objective,
            theta_init,
            l1,
            # without a penalty, plain L-BFGS: the orthant rules stopped entries crossing
            # zero and truncated the quasi-Newton steps (theta 0.04 off where it was exact)
            offdiag if l1 > 0 else torch.zeros_like(offdiag),
            max_steps=max_steps,
            tol=tol,
            progress=progress,
            desc=f"ctmc fit ({used}, lbfgs){desc}",
        )
        return FitResult(
            theta=final.cpu().numpy().astype(np.float64),
            method=used,
            n_steps=n_steps,
            converged=converged,
            history=history,
            optimizer="lbfgs",
            optimality=optimality,
        )

    ham = None
    if sparsity == "proximal":
        params = [theta_init.clone().requires_grad_(True)]

        def current() -> torch.Tensor:
            return params[0]
    elif sparsity == "ham":
        from core.ham import HAM

        diag_p = torch.diagonal(theta_init).clone().requires_grad_(True)
        off_p = (theta_init * offdiag).clone().requires_grad_(True)
        params = [diag_p, off_p]
        inner = (torch.optim.Adam if optimizer == "adam" else torch.optim.Adagrad)(params, lr=lr)
        # dtheta = -(1 + alpha|theta|) grad f - beta theta: for alpha|theta| >> 1 the decay acts
        # like an L1 penalty of strength beta / alpha, so beta = alpha * l1 (min_ndim=2 leaves
        # the base rates, a vector, to the inner optimizer alone; zeros on the diagonal stay 0)
        ham = HAM(inner, alpha=ham_alpha, beta=ham_alpha * l1)

        def current() -> torch.Tensor:
            return _diag_matrix(diag_p, offdiag) + off_p * offdiag
    else:
        from core.reparam import balanced_split

        # the balanced start of "Mask in the Mirror": m * w = theta, m^2 - w^2 = 1
        m0, w0 = balanced_split(theta_init * offdiag, 1.0)
        diag_p = torch.diagonal(theta_init).clone().requires_grad_(True)
        m_p = m0.clone().requires_grad_(True)
        w_p = w0.clone().requires_grad_(True)
        params = [diag_p, m_p, w_p]

        def current() -> torch.Tensor:
            return _diag_matrix(diag_p, offdiag) + m_p * w_p * offdiag

    state = [dict(m=torch.zeros_like(p), v=torch.zeros_like(p)) for p in params]
    b1, b2, eps = 0.9, 0.999, 1e-8
    history: list[float] = []
    snapshots: list[torch.Tensor] = []
    converged = False
    # the best-scoring iterate and the data term's gradient there (for its optimality)
    best: tuple[float, torch.Tensor | None, torch.Tensor | None] = (-math.inf, None, None)
    step = 0
    bar = tqdm(range(1, max_steps + 1), disable=bar_disabled(progress),
               desc=f"ctmc fit ({used}){desc}", leave=None)
    for step in bar:
        for p in params:
            p.grad = None
        if sparsity == "proximal":
            value = objective.accumulate(params[0])
            penalty = l1 * float((params[0].detach() * offdiag).abs().sum())
            grad_theta = params[0].grad
        elif sparsity == "ham":
            theta_leaf = current().detach().requires_grad_(True)
            value = objective.accumulate(theta_leaf)
            grad_theta = theta_leaf.grad
            diag_p.grad = torch.diagonal(theta_leaf.grad).clone()
            off_p.grad = theta_leaf.grad * offdiag
            penalty = l1 * float((off_p.detach() * offdiag).abs().sum())
        else:
            theta = current()
            theta_leaf = theta.detach().requires_grad_(True)
            value = objective.accumulate(theta_leaf)
            grad_theta = theta_leaf.grad
            pen = 0.5 * l1 * ((m_p**2 + w_p**2) * offdiag).sum()
            (theta * theta_leaf.grad).sum().add(pen).backward()
            penalty = float(pen.detach())
        history.append(-(value + penalty) if math.isfinite(value) else math.nan)
        if not noisy and math.isfinite(history[-1]) and history[-1] > best[0]:
            # the iterate just scored
            best = (history[-1], current().detach().clone(), grad_theta.detach().clone())
        if any(p.grad is not None and not bool(torch.isfinite(p.grad).all()) for p in params):
            raise ValueError(
                f"the log-likelihood gradient is not finite at step {step} (theta's sums of "
                "log rates overflow the floating-point range); lower lr or start from the "
                "independence model (theta0=None)"
            )
        with torch.no_grad():
            lr_t = lr * (
                1.0
                if step < 0.5 * max_steps
                else 0.5
                * (1 + math.cos(math.pi * (step - 0.5 * max_steps) / (0.5 * max_steps)))
                * 0.9
                + 0.1
            )
            if ham is not None:
                for group in ham.param_groups:
                    group["lr"] = lr_t
                ham.step()
            for p, st in zip(params if ham is None else [], state):
                g = p.grad
                if optimizer == "adam":
                    st["m"].mul_(b1).add_(g, alpha=1 - b1)
                    st["v"].mul_(b2).addcmul_(g, g, value=1 - b2)
                    mhat = st["m"] / (1 - b1**step)
                    eta = lr_t / (torch.sqrt(st["v"] / (1 - b2**step)) + eps)
                    p.sub_(eta * mhat)
                else:
                    st["v"].addcmul_(g, g)
                    eta = lr_t / (torch.sqrt(st["v"]) + 1e-6)
                    p.sub_(eta * g)
                if sparsity == "proximal":
                    _soft_threshold(p, eta * l1, offdiag)
            snap = current().detach().clone()
            snapshots.append(snap)
            if len(snapshots) > window:
                old = snapshots.pop(0)
                gain = history[-1] - history[-window - 1]
                # a small gain is a stall; a loss is instability, not convergence
                stalled = (
                    not noisy
                    and ham is None
                    and math.isfinite(history[-1])
                    and 0 <= gain < 1e-6
                )
                if stalled or float((snap - old).abs().max()) < tol:
                    converged = True
                    break
        if progress and math.isfinite(history[-1]):
            bar.set_postfix(objective=f"{history[-1]:.4f}")
    bar.close()
    final = current().detach()
    if not noisy:
        # each step scored the iterate it started from; score the last one too, so that
        # history[k] is the objective after k steps and the last iterate can be chosen
        leaf = final.clone().requires_grad_(True)
        value = objective.accumulate(leaf)
        if sparsity == "mirror":
            penalty = float(0.5 * l1 * ((m_p**2 + w_p**2) * offdiag).sum().detach())
        else:
            penalty = l1 * float((final * offdiag).abs().sum())
        history.append(-(value + penalty) if math.isfinite(value) else math.nan)
        if math.isfinite(history[-1]) and history[-1] > best[0]:
            best = (history[-1], final.clone(), leaf.grad.detach().clone())
        if best[1] is not None:
            final = best[1]  # exact objectives: return the best iterate, not a worse last one
    return FitResult(
        theta=final.cpu().numpy().astype(np.float64),
        method=used,
        n_steps=step,
        converged=converged,
        history=history,
        optimizer=optimizer,
        # of the exact-L1 problem also for the mirror and HAM fits (which solve it only
        # approximately); noisy MCMC gradients certify nothing
        optimality=math.nan if best[2] is None else _optimality(best[1], best[2], l1, offdiag),
    )


#: Standard deviation of the random interactions that each restart adds to the default start
#: (base rates kept): fitted interactions mostly lie within +-2 (a rate multiplied or divided
#: by up to e^2; GBM, Schill et al. 2020) and ``random_sparse_theta`` draws them from N(0, 1),
#: so N(0, 1) starts cover that range without sums of log rates that overflow.
_RESTART_SCALE = 1.0

#: Relative margin by which a random start's objective must beat the default start's to be
#: returned: far below the gains of another optimum (6.9e-5 to 5.5e-4 nats a tumour on
#: synthetic 10-12-event cohorts), above the spread of fits that end at the same one.
_RESTART_TIE = 1e-6

#: The margin's floor for OWL-QN fits run to a tighter ``tol`` than the default 1e-8 (the
#: margin is 100 ``tol`` between the two): with ``tol=0`` (fit_distribution's recovery
#: check) starts that end at one optimum agree to 3e-14, and on the exact distributions of
#: 5-event thetas 1e-6 kept the default start's optimum 1.1e-6 to 1.5e-6 nats below the true
#: theta that a restart had found.
_RESTART_TIE_TIGHT = 1e-10

#: Mixed into the seed for the restarts' generator: a stream of its own, apart from any other
#: use of the same seed.
_RESTART_STREAM = 0x5EED_0F_57A2


def _diag_matrix(diag: torch.Tensor, offdiag: torch.Tensor) -> torch.Tensor:
    """``diag`` on the diagonal of a zero matrix shaped as ``offdiag`` ((n, n) or (n + 1, n))."""
    square = torch.diag(diag)
    if offdiag.shape[0] == offdiag.shape[1]:
        return square
    return torch.cat([square, square.new_zeros(offdiag.shape[0] - offdiag.shape[1],
                                               offdiag.shape[1])])


def _penalised_objective(objective: _Objective, theta: torch.Tensor, l1: float,
                         offdiag: torch.Tensor) -> float:
    """Return the exact L1-penalised mean log-likelihood at ``theta`` (a fit maximises it)."""
    leaf = theta.detach().clone().requires_grad_(True)
    value = objective.accumulate(leaf)
    return -(value + l1 * float((leaf.detach() * offdiag).abs().sum()))


def _best_of_starts(
    objective: _Objective,
    init: np.ndarray,
    restarts: int,
    *,
    seed: int | None,
    dtype: torch.dtype,
    device: torch.device,
    **settings: Any,
) -> FitResult:
    """Fit from ``init`` and from ``restarts`` random starts; return the best-scoring fit.

    Start k >= 1 is ``init`` plus N(0, ``_RESTART_SCALE``) off-diagonal entries, drawn from a
    generator seeded by ``seed`` (None is 0). The fits are compared by the exact penalised
    objective at their returned theta (also for the mirror and HAM fits, whose histories hold
    their own penalty); the default start wins unless another beats it by more than
    ``_RESTART_TIE`` (relative; for OWL-QN fits 100 ``tol`` where that is smaller, at least
    ``_RESTART_TIE_TIGHT``), else ties go to the earlier start. A random start whose
    likelihood is not finite is recorded with a NaN objective and skipped.
    """
    offdiag = settings["offdiag"]
    l1 = settings["l1"]
    progress = settings["progress"]
    tie = _RESTART_TIE
    if settings["optimizer"] == "lbfgs":
        # its fits agree to about the tol asked for (relative objective change per step):
        # the default 1e-8 keeps 1e-6, a tighter one a margin to match (see _RESTART_TIE_TIGHT)
        tie = min(_RESTART_TIE, max(100.0 * settings["tol"], _RESTART_TIE_TIGHT))
    # (n, n), or (n + 1, n) for an oMHN, whose omega row gets random entries too
    off_np = offdiag.cpu().numpy()
    rng = np.random.default_rng(
        np.random.SeedSequence([0 if seed is None else seed, _RESTART_STREAM]))
    total = restarts + 1
    fits: list[FitResult | None] = []
    scores: list[float] = []
    # one bar over the starts; each fit's own bar is nested under it and cleared
    bar = tqdm(total=total, disable=bar_disabled(progress), desc="ctmc fit starts", leave=None)
    try:
        for k in range(total):
            start = init if k == 0 else init + off_np * rng.normal(0.0, _RESTART_SCALE, init.shape)
            theta0 = torch.as_tensor(start, dtype=dtype, device=device)
            try:
                res = _descend(objective, theta0, desc=f", start {k + 1}/{total}", **settings)
            except ValueError:
                if k == 0:  # the default start fails as it does without restarts
                    raise
                fits.append(None)  # a random start beyond the floating-point range
                scores.append(math.nan)
            else:
                fits.append(res)
                theta = torch.as_tensor(res.theta, dtype=dtype, device=device)
                scores.append(_penalised_objective(objective, theta, l1, offdiag))
            bar.update()
            finite = [v for v in scores if math.isfinite(v)]
            if progress and finite:
                bar.set_postfix(best=f"{max(finite):.6f}")
    finally:
        bar.close()
    best = max(range(total), key=lambda k: scores[k] if math.isfinite(scores[k]) else -math.inf)
    # the default start unless another is better by more than the fits' own precision: starts
    # that found the same optimum differ by round-off (5e-8 on an 80 x 5 cohort), and the
    # noise picked a theta 2e-3 from the fit without restarts
    if best and math.isfinite(scores[0]) and (
            scores[best] - scores[0] <= tie * max(1.0, abs(scores[0]))):
        best = 0
    chosen = fits[best]
    assert chosen is not None  # the default start either ran or raised
    chosen.restarts = {
        "objectives": scores,
        "best": best,
        # how far each start's theta ended from the returned one (largest entry); NaN where
        # the start failed
        "theta_distance": [math.nan if f is None else float(np.abs(f.theta - chosen.theta).max())
                           for f in fits],
        "converged": [f is not None and f.converged for f in fits],
        "scale": _RESTART_SCALE,
    }
    return chosen


def fit_distribution(
    p: np.ndarray | torch.Tensor,
    *,
    l1: float,
    n_events: int | None = None,
    atol: float | None = None,
    restarts: int = 0,
    **fit_kwargs: Any,
) -> FitResult:
    """Fit theta to a probability distribution over all 2^n observable states.

    Maximises ``sum_x p(x) log p_theta(x) - l1 * sum_{i != j} |theta[i, j]|``, the objective
    of :func:`fit_theta` with the data distribution in place of a cohort's frequencies: the
    check of Schill et al. (Bioinformatics 36(1):241, 2020; R ``Learn.MHN(pD)``) that theta
    is recovered from its own exact distribution (``l1=0``, a tight ``tol``). It is
    :func:`fit_theta` on the 2^n states weighted by ``p`` (``sample_weight``).

    Parameters
    ----------
    p
        (2^n,) probabilities: entry S is the probability of the state whose events are the set
        bits of S (bit i = event i), the order of :func:`state_distribution` and
        :func:`state_index`. Finite, non-negative and summing to 1 within ``atol``.
    l1
        Strength of the L1 penalty on off-diagonal entries, as in :func:`fit_theta`.
    n_events
        Number of events n, checked against the length of ``p`` when given.
    atol
        Tolerance of the sum of ``p`` around 1; default ``1e-8``, or ``1e-5`` for a float32
        or float16 ``p`` (a float32 ``state_distribution`` sums to 1 within ~1e-7).
    restarts
        Extra fits from random starts, the best kept, as in :func:`fit_theta` (default 0).
        From 5 events up theta is identified by ``p``, but the objective has local optima
        where the default start can end (converged, optimality below 1e-8, objective 6e-7
        to 3e-4 nats below the truth's). On the exact distributions of
        ``random_sparse_theta(n, seed=s)`` (``l1=0.0, tol=0.0, max_steps=1000``) the default
        start recovered theta (to 1e-4) for 5 of 10 seeds at n = 5 (the others ended 0.6 to
        49 away), 5 of 5 at n = 6 and 3 of 5 at n = 7 (11 to 21 away); ``restarts=5``
        recovered 9 of 10, 5 of 5 and 5 of 5 (seed 0 at n = 5 ended 3.45 away; 20 restarts
        found it). No number of restarts guarantees the global optimum: compare
        ``restarts["objectives"]`` (and ``"theta_distance"``), and where starts end at
        different thetas with different objectives, add restarts until the best objective
        stops improving.
    **fit_kwargs
        Passed to :func:`fit_theta` (``method`` defaults to ``"statespace"``, which costs
        O(n^2 2^n) per step whatever ``p`` is; ``optimizer``, ``tol``, ``max_steps``,
        ``theta0``, ``dtype``, ...).

    Returns
    -------
    FitResult
        As :func:`fit_theta`; ``history`` holds ``sum_x p(x) log p_theta(x)`` minus the
        penalty.

    Raises
    ------
    ValueError
        If ``p`` is not a 1-D vector of 2^n finite, non-negative entries summing to 1, or
        its length does not match ``n_events``.

    Examples
    --------
    >>> import torch
    >>> from biomodels.ctmc import random_sparse_theta, state_distribution
    >>> theta = random_sparse_theta(5, seed=1)  # 5 events: theta is identified by p
    >>> res = fit_distribution(state_distribution(theta), l1=0.0, tol=0.0, max_steps=1000)
    >>> bool(abs(res.theta - theta).max() < 1e-4)
    True
    """
    if "sample_weight" in fit_kwargs:
        raise TypeError("fit_distribution: p is the weight of each state; sample_weight "
                        "cannot be given as well")
    if atol is None:  # single-precision probabilities sum to 1 only to ~1e-7
        dtype = p.dtype if isinstance(p, torch.Tensor | np.ndarray) else None
        low = dtype in (torch.float32, torch.float16, torch.bfloat16, np.float32, np.float16)
        atol = 1e-5 if low else 1e-8
    atol = check_number("atol", atol, at_least=0)
    if isinstance(p, torch.Tensor):
        p = p.detach().cpu().to(torch.float64).numpy()
    try:
        probs = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"p: expected a vector of probabilities, got {p!r}") from exc
    if probs.ndim != 1:
        raise ValueError(f"p must be a 1-D vector of 2^n state probabilities, got shape "
                         f"{probs.shape}")
    n = len(probs).bit_length() - 1
    if len(probs) < 2 or len(probs) != 2**n:
        raise ValueError(f"p must have 2^n entries (one per state of n >= 1 events), got "
                         f"{len(probs)}")
    if n_events is not None:
        n_events = check_count("n_events", n_events)
        if n != n_events:
            raise ValueError(f"p has {len(probs)} = 2^{n} entries but n_events={n_events} "
                             f"needs 2^{n_events} = {2**n_events}")
    if not np.isfinite(probs).all():
        raise ValueError("p contains NaN or infinite entries")
    if (probs < 0).any():
        raise ValueError(f"p must be non-negative, got {probs[probs < 0][0]:g} at state "
                         f"{int(np.flatnonzero(probs < 0)[0])}")
    total = float(probs.sum())
    if abs(total - 1.0) > atol:
        raise ValueError(f"p must sum to 1 (within atol={atol:g}), sums to {total!r}")
    # every state once, in state_index order; fit_theta drops the states of probability 0
    states = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(np.uint8)
    fit_kwargs.setdefault("method", "statespace")
    return fit_theta(states, l1=l1, sample_weight=probs, restarts=restarts, **fit_kwargs)
