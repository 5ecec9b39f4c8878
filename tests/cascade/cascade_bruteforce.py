"""Brute-force reference for the Independent Cascade model on tiny graphs.

By the live-edge equivalence (Kempe, Kleinberg & Tardos 2003), the final active set of
an Independent Cascade is the set of nodes reachable from the seeds in the random graph
that keeps edge e independently with probability w_e. We enumerate every edge-liveness
outcome and every seed set, with their probabilities, and read off the exact
distribution of the number of active nodes (and of which nodes are active).
"""

from __future__ import annotations

import numpy as np


def brute_force(n, src, dst, w, p):
    """Return (P(size = k), P(i active, size = k)) by full enumeration."""
    src, dst = np.asarray(src), np.asarray(dst)
    w, p = np.asarray(w, dtype=float), np.asarray(p, dtype=float)
    E = src.size
    assert E <= 16 and n <= 10, "brute force is exponential"
    configs = (np.arange(2**E)[:, None] >> np.arange(E)[None, :]) & 1  # (C, E)
    p_live = np.prod(np.where(configs == 1, w, 1 - w), axis=1)
    # reach[c, v]: bitmask of nodes reachable from v in live graph c
    reach = np.tile((1 << np.arange(n)).astype(np.int64), (configs.shape[0], 1))
    for _ in range(n):
        for e in range(E):
            reach[:, src[e]] |= np.where(configs[:, e] == 1, reach[:, dst[e]], 0)
    subsets = np.arange(2**n)
    p_seed = np.ones(subsets.size)
    for i in range(n):
        p_seed *= np.where((subsets >> i) & 1, p[i], 1 - p[i])
    active = np.zeros((configs.shape[0], subsets.size), dtype=np.int64)
    for s in range(1, subsets.size):
        low = (s & -s).bit_length() - 1
        active[:, s] = active[:, s & (s - 1)] | reach[:, low]
    sizes = np.zeros_like(active)
    for i in range(n):
        sizes += (active >> i) & 1
    weight = p_live[:, None] * p_seed[None, :]
    dist = np.bincount(sizes.ravel(), weights=weight.ravel(), minlength=n + 1)
    joint = np.zeros((n, n + 1))
    for i in range(n):
        on = ((active >> i) & 1).astype(bool)
        joint[i] = np.bincount(sizes[on], weights=weight[on], minlength=n + 1)
    return dist, joint


def star_mle(sizes, d, starts=20):
    """Per-leaf MLE of a star seeded at its hub, by scipy from random starts.

    A size is 1 + PoissonBinomial(p_1, ..., p_d): returns the best log-likelihood and
    the sorted leaf probabilities (the leaves are exchangeable: sizes fix no order).
    """
    from scipy.optimize import minimize

    k = np.bincount(np.asarray(sizes) - 1, minlength=d + 1)

    def nll(u):
        p = 1 / (1 + np.exp(-u))
        pmf = np.array([1.0])
        for pi in p:
            pmf = np.convolve(pmf, [1 - pi, pi])
        return -(k * np.log(np.maximum(pmf, 1e-300))).sum()

    rng = np.random.default_rng(0)
    best = min((minimize(nll, rng.normal(size=d), method="BFGS", options={"gtol": 1e-10})
                for _ in range(starts)), key=lambda r: r.fun)
    return -best.fun, np.sort(1 / (1 + np.exp(-best.x)))
