"""The mixture-of-experts reading of an FJ agent network.

Bause, Niederle, Pawelczyk & Burkholz (2026), "Multi-Agent Systems are Mixtures of
Experts: Who Becomes an Influencer?": at equilibrium every agent's belief is a convex
mixture of innate beliefs, ``b*_i(x) = sum_j M_ij(x) s_j(x)``, so the system's answer
``sum_j pi_j(x) s_j(x)`` (``pi`` = social power, the column means of ``M``, when the
system reports the mean belief) is a mixture of experts with an implicit router ``pi``.

**Error decomposition (Brier loss).**  With ``r_j(x) = ||s_j(x) - e_y||^2``, system loss
``R(x) = ||sum_j pi_j s_j - e_y||^2`` and the best fixed agent ``j* = argmin_j E[r_j]``,
the ambiguity identity ``R = sum_j pi_j r_j - D_pi`` (Krogh & Vedelsby 1995) gives

``E[r_j*] - E[R] = E[r_j* - min_j r_j]`` (expertise gain)
``+ E[D_pi]`` (local diversity, ``D_pi = sum_j pi_j ||s_j - sbar_pi||^2``)
``- E[delta_pi]`` (routing regret, ``delta_pi = sum_j pi_j r_j - min_j r_j``),

so the system beats its best agent iff expertise gain + diversity > routing regret
(their Thm 2.4).  :func:`error_decomposition` returns every term and the identity's
numerical residual.

Router proxies: confidence ``C_j = 1 - H(s_j)/log K``, relative confidence
``C_j / C_(2)`` (against the second most confident agent), and the softmax router
``pi_j ∝ exp(beta C_j)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.checks import check_number
from multiagent import _backend as bk
from multiagent.analysis import social_power
from multiagent.dynamics import FriedkinJohnsen, check_beliefs

__all__ = [
    "confidence",
    "relative_confidence",
    "confidence_router",
    "equilibrium_router",
    "error_decomposition",
]


def confidence(beliefs: Any) -> np.ndarray:
    """``C = 1 - H(b) / log K`` per belief vector (1: certain, 0: uniform).

    Parameters
    ----------
    beliefs
        ``(..., K)`` probability vectors, ``K >= 2``.

    Returns
    -------
    Array of shape ``beliefs.shape[:-1]``.

    Examples
    --------
    >>> confidence(np.array([[1.0, 0.0], [0.5, 0.5]])).tolist()
    [1.0, 0.0]
    """
    b = bk.as_numpy(beliefs).astype(np.float64)  # tensors: detached, from any device
    K = b.shape[-1]
    if K < 2:
        raise ValueError("confidence needs at least K = 2 options")
    if not np.isfinite(b).all() or (b < 0).any() or not np.allclose(b.sum(-1), 1.0, atol=1e-6):
        raise ValueError("beliefs: expected probability vectors over the options (finite, "
                         ">= 0, summing to 1 along the last axis)")
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(b > 0, b * np.log(np.where(b > 0, b, 1.0)), 0.0)
    return 1.0 + plogp.sum(axis=-1) / np.log(K)


def relative_confidence(beliefs: Any) -> np.ndarray:
    """Each agent's confidence divided by the second-highest confidence among the agents.

    Parameters
    ----------
    beliefs
        ``(..., n, K)``.

    Returns
    -------
    ``(..., n)``; values above 1 only for the most confident agent (``inf`` when every
    other agent is at confidence 0, which then scores 1).
    """
    C = confidence(beliefs)
    if C.shape[-1] < 2:
        raise ValueError("relative confidence needs at least two agents")
    second = np.sort(C, axis=-1)[..., -2][..., None]
    # second = 0: only the top agent can be above it (inf); the others are at the
    # second-highest level themselves, C_j = C_(2) = 0, a ratio of 1 as for any tie
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(second > 0, C / second, np.where(C > 0, np.inf, 1.0))


def confidence_router(beliefs: Any, beta: float = 1.0) -> np.ndarray:
    """Softmax router ``pi_j ∝ exp(beta C_j)`` over agents (last-but-one axis of beliefs).

    Parameters
    ----------
    beliefs
        ``(..., n, K)`` belief vectors of the n agents.
    beta
        Inverse temperature: 0 routes uniformly, large values to the most confident.

    Returns
    -------
    numpy.ndarray
        ``(..., n)`` weights summing to 1.
    """
    # a NaN or infinite beta gave NaN weights without an error
    z = check_number("beta", beta) * confidence(beliefs)
    z = z - z.max(axis=-1, keepdims=True)
    w = np.exp(z)
    return w / w.sum(axis=-1, keepdims=True)


def equilibrium_router(model: FriedkinJohnsen, *, listener: int | None = None) -> np.ndarray:
    """Router weights implied by the FJ equilibrium.

    Parameters
    ----------
    model
        The FJ model (for one input).
    listener
        None: social power ``pi = (1/n) 1^T M`` (the router of the mean belief, by one
        transposed solve); an integer agent index ``i``: row ``M_i`` (agent ``i`` as the
        system's voice).

    Returns
    -------
    ``(n,)`` non-negative weights summing to 1.

    Raises
    ------
    TypeError
        If ``listener`` is not one integer (a bool would be read as a mask).
    ValueError
        If it is not in ``[0, n)``.
    """
    if listener is None:
        return _unit_sum(bk.as_numpy(social_power(model)).astype(np.float64))
    i = bk.check_indices(listener, "listener", model.n, "an agent index")
    if i.ndim != 0:
        raise TypeError(f"listener must be one agent index, got shape {i.shape}")
    listener = int(i)
    g, a, c = model._effective()
    classes = model._closed_classes(g, c)
    if not bool((g > 0).any()) and len(classes) == 1:
        # DeGroot: M = 1 pi^T, every row is pi (no solve exists)
        return _unit_sum(bk.as_numpy(model.consensus_weights()).astype(np.float64))
    e = np.zeros(model.n)
    e[listener] = 1.0
    if classes:  # agents that reach no stubborn agent: row i of the limit map M
        row = model._limit_solve(model._vec(e), g, a, c, classes, transpose=True)
        return _unit_sum(bk.as_numpy(row).astype(np.float64))
    y = bk.as_numpy(model.solve(model._vec(e), transpose=True))
    # float64 like the social-power and DeGroot branches (a float32 model gave float32)
    return _unit_sum((bk.as_numpy(g) * y).astype(np.float64))


def _unit_sum(w: np.ndarray) -> np.ndarray:
    """Rescale float64 router weights to sum to 1 to float64 round-off.

    A float32 model's solve sums to 1 only within its own eps (5e-8 for 30 agents), which
    error_decomposition, checking a float64 router to 1e-8, refused.
    """
    return w / w.sum()


def error_decomposition(beliefs: Any, labels: Any, router: Any) -> dict[str, Any]:
    """Brier-loss decomposition of the system's advantage over its best single agent.

    Parameters
    ----------
    beliefs
        ``(Q, n, K)`` innate beliefs of ``n`` agents on ``Q`` inputs.
    labels
        ``(Q,)`` correct options, integers in ``[0, K)``.
    router
        ``(Q, n)`` (input-dependent) or ``(n,)`` router weights, rows summing to 1.

    Returns
    -------
    dict
        ``system_risk`` E[R], ``agent_risks`` E[r_j], ``best_agent`` j*,
        ``best_agent_risk``, ``expertise_gain``, ``local_diversity``, ``routing_regret``,
        ``advantage`` (best agent risk - system risk) and ``residual`` = advantage -
        (gain + diversity - regret), zero up to rounding.

    Raises
    ------
    ValueError
        If the beliefs are not probability vectors, the labels are out of range or of the
        wrong shape, or the router rows are not distributions.
    TypeError
        If ``labels`` are not integers (bools and floats included).
    """
    S = bk.as_numpy(beliefs).astype(np.float64)  # tensors: detached, from any device
    if S.ndim != 3:
        raise ValueError(f"beliefs must have shape (Q, n, K), got {S.shape}")
    Q, n, K = S.shape
    for q in range(Q):
        check_beliefs(S[q], n, f"beliefs[{q}]", simplex=True)
    y = bk.check_indices(labels, "labels", K, f"{Q} option indices")
    if y.shape != (Q,):
        raise ValueError(f"labels must be {Q} option indices in [0, {K}), got shape {y.shape}")
    raw = bk.as_numpy(router)
    # a float32 router (equilibrium_router of a float32 model) sums to 1 only within a
    # few float32 eps (1.2e-7 at n = 30), which the float64 tolerance of 1e-8 refused
    eps = float(np.finfo(raw.dtype).eps) if np.issubdtype(raw.dtype, np.floating) else 0.0
    sum_tol = max(1e-8, 16 * eps * max(1.0, float(np.sqrt(n))))
    pi = raw.astype(np.float64)
    if pi.shape not in ((n,), (Q, n)):  # numpy's broadcast error did not name the router
        raise ValueError(f"router must have shape ({n},) or ({Q}, {n}) for {Q} inputs and "
                         f"{n} agents, got shape {pi.shape}")
    pi = np.broadcast_to(pi, (Q, n))
    if (not np.isfinite(pi).all() or (pi < -1e-12).any()
            or np.abs(pi.sum(axis=1) - 1).max() > sum_tol):
        raise ValueError("router rows must be finite, non-negative and sum to 1")
    onehot = np.eye(K)[y][:, None, :]
    r = ((S - onehot) ** 2).sum(axis=-1)  # (Q, n) Brier loss per agent
    mix = np.einsum("qn,qnk->qk", pi, S)
    R = ((mix - onehot[:, 0]) ** 2).sum(axis=-1)
    diversity = (pi * ((S - mix[:, None]) ** 2).sum(axis=-1)).sum(axis=1)
    oracle = r.min(axis=1)
    regret = (pi * r).sum(axis=1) - oracle
    agent_risks = r.mean(axis=0)
    best = int(np.argmin(agent_risks))
    gain = float(np.mean(r[:, best] - oracle))
    advantage = float(agent_risks[best] - R.mean())
    out = {
        "system_risk": float(R.mean()),
        "agent_risks": agent_risks,
        "best_agent": best,
        "best_agent_risk": float(agent_risks[best]),
        "expertise_gain": gain,
        "local_diversity": float(diversity.mean()),
        "routing_regret": float(regret.mean()),
        "advantage": advantage,
    }
    out["residual"] = advantage - (gain + out["local_diversity"] - out["routing_regret"])
    return out
