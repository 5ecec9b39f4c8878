"""Analysis of FJ equilibria: social power, convergence times, polarization and conflict indices.

Indices follow Musco, Musco & Tsourakakis (WWW 2018, "Minimizing polarization and
disagreement in social networks") and Chen, Lijffijt & De Bie (KDD 2018, "Quantifying and
minimizing risk of conflict in social networks").  For an undirected weighted graph with
Laplacian ``L`` and innate opinions ``s``, the classic FJ equilibrium is
``z = (I + L)^{-1} s`` (the three-force model with ``gamma_i = 1/(1 + d_i)``,
``alpha = 0``, ``W = D^{-1} A``); with ``zbar`` the mean-centred ``z``:

* polarization ``P = zbar^T zbar``; disagreement ``D = sum_{(i,j) in E} w_ij (z_i - z_j)^2
  = z^T L z``; polarization-disagreement index ``I_pd = P + D = sbar^T (I + L)^{-1} sbar``;
* internal conflict ``C_I = ||z - s||^2 = ||L z||^2``; controversy ``C = z^T z``;
  disagreement-controversy index ``I_dc = D + C``; Chen et al.'s conservation law
  ``C_I + 2 D + C = s^T s``.

P, D and C_I do not depend on where the opinion scale starts. C and I_dc do: ``z^T z``
measures the opinions' distance from the scale's 0, which Chen et al. take as the neutral
opinion (opinions in [-1, 1]). Code the neutral answer as 0 before reading them (Likert
1-7: subtract 4); for mean-centred opinions C equals P.

Everything is computed with linear solves (Jacobi-preconditioned CG), never an inverse,
so it scales to graphs with millions of nodes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from core.checks import check_count, check_number
from multiagent import _backend as bk
from multiagent._sparse import drop_diagonal
from multiagent.dynamics import FriedkinJohnsen, check_beliefs

__all__ = [
    "social_power",
    "time_to_consensus",
    "time_to_equilibrium",
    "polarization",
    "disagreement",
    "internal_conflict",
    "controversy",
    "classic_fj",
    "opinion_indices",
]


def social_power(model: FriedkinJohnsen, *, tol: float = 1e-12, method: Any = "auto",
                 maxiter: int | None = None, rounds: int | None = None) -> Any:
    """Column means of the influence matrix, ``pi = (1/n) 1^T M``, by one transposed solve.

    ``pi_j`` is agent ``j``'s share of the equilibrium (its aggregate router weight in the
    mixture-of-experts reading); the entries sum to 1 (rescaled to sum to 1 after the
    solve: the transposed solve is off by about ``eps / gamma``, mostly in scale, so at
    every ``gamma`` = 1e-14 the sum was 2e-3 off while the rescaled entries are accurate to
    round-off).  Computed as ``pi = Gamma (I - H)^{-T} 1/n`` without forming ``M``; with
    every ``gamma = 0`` and one closed group of agents it is the DeGroot stationary
    distribution.  Where some agents reach no stubborn agent, ``M`` is the limit map of
    :meth:`~FriedkinJohnsen.equilibrium` (each closed group of them reaches its own
    consensus) and ``pi`` its column means.

    With ``rounds=T`` it is the social power after ``T`` rounds instead, the column means
    of ``M_T = influence_matrix(rounds=T)`` (``b(T) = M_T b(0)``): each agent's share of
    the answers after a debate of ``T`` rounds, which can be far from the equilibrium's
    (the gap shrinks at least like ``max(1 - gamma)^T``).  It is computed as
    ``pi_T = sum_{t < T} Gamma G^t 1/n + G^T 1/n`` (``G`` the transpose of ``H``, ``G^t``
    its ``t``-th power) by ``T`` products with ``W``'s transpose, without forming ``M_T``
    (no ``max_n``); ``tol``, ``method`` and ``maxiter`` are then unused.

    Parameters
    ----------
    model
        The FJ model.
    tol
        Relative tolerance of the solve.
    method
        Solver key as in :meth:`FriedkinJohnsen.equilibrium` (``"auto"``, ``"direct"``,
        ``"cg"``, ``"bicgstab"``, ``"fixed_point"``).
    maxiter
        Iteration cap of an iterative solve, or of the power iteration for DeGroot
        weights (None: the solver's default), which a convergence error advises raising.
    rounds
        None (default): the equilibrium's social power.  An integer ``T >= 0``: that after
        ``T`` rounds (``1/n`` each at ``T = 0``).

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Length-``n`` social powers in the model's backend, summing to 1.

    Raises
    ------
    ValueError
        If ``rounds`` is negative.
    TypeError
        If ``rounds`` is not an integer or None.

    Examples
    --------
    >>> import numpy as np
    >>> from multiagent import FriedkinJohnsen, social_power
    >>> W = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> fj = FriedkinJohnsen(W, gamma=[0.5, 0.25], alpha=0.0)
    >>> fj.influence_matrix().round(4).tolist()
    [[0.8, 0.2], [0.6, 0.4]]
    >>> social_power(fj).round(4).tolist()  # its column means
    [0.7, 0.3]
    >>> social_power(fj, rounds=1).round(4).tolist()  # of M_1 = [[0.5, 0.5], [0.75, 0.25]]
    [0.625, 0.375]
    """
    if rounds is not None:
        return _social_power_after(model, check_count("rounds", rounds, at_least=0))
    g, a, c = model._effective()
    classes = model._closed_classes(g, c)
    if not bool((g > 0).any()) and len(classes) == 1:
        return (model.consensus_weights(tol=tol) if maxiter is None
                else model.consensus_weights(tol=tol, maxiter=maxiter))
    ones = model._vec(np.full(model.n, 1.0 / model.n))
    if classes:  # some agents reach no stubborn agent: M is the limit map (I - H singular)
        pi = model._limit_solve(ones, g, a, c, classes, transpose=True, method=method,
                                tol=tol, maxiter=maxiter, pi_tol=tol,
                                pi_maxiter=100_000 if maxiter is None else maxiter)
    else:
        pi = g * model.solve(ones, transpose=True, method=method, tol=tol, maxiter=maxiter)
    # the transposed solve is off by about eps / gamma, mostly in scale: the sum was 2e-3
    # off 1 at every gamma = 1e-14; rescaled, the entries are accurate to round-off
    return pi / pi.sum()


def _social_power_after(model: FriedkinJohnsen, rounds: int) -> Any:
    """Return the column means of ``M_T`` by ``T`` transposed rounds from ``u = 1/n``.

    ``1' M_T / n = 1' H^T / n + sum_{t < T} (1' H^t / n) Gamma`` (powers of ``H``; ``'``
    transposes): ``u <- H' u`` each round.  No rescaling: the sum stays 1 to round-off.
    """
    u = model._vec(np.full((model.n, 1), 1.0 / model.n))
    g = model.gamma[:, None]
    a, c = model._mix()  # raw gamma and alpha, as the rollout takes them
    Wt = bk.transpose(model.W)
    acc = u * 0
    for _ in range(rounds):
        acc = acc + g * u
        u = a * u + bk.matmul(Wt, c * u)
    return (acc + u)[:, 0]


def _spread(B: Any) -> float:
    B2 = B[:, None] if B.ndim == 1 else B
    if bk.backend_of(B2) == "torch":  # a tensor's max(0) is a (values, indices) pair
        return float((B2.amax(0) - B2.amin(0)).max())
    return float((B2.max(0) - B2.min(0)).max())


def _check_tol_steps(tol: float, max_steps: int) -> tuple[float, int]:
    """``tol`` and ``max_steps`` as a float and an int, checked by name.

    Neither was checked: ``max_steps=True`` simulated one round, ``"100"`` failed in
    ``range``, and a NaN ``tol`` was never reached.
    """
    return check_number("tol", tol, at_least=0), check_count("max_steps", max_steps, at_least=0)


def time_to_consensus(
    model: FriedkinJohnsen, S: Any, *, tol: float = 1e-6, max_steps: int = 100_000,
    check: bool = True,
) -> int | None:
    """First round from which all agents agree to within ``tol`` for good (max over options).

    An agreement that does not last is not consensus: two agents who swap opinions with
    ``gamma = 1/2`` pass through ``(0.5, 0.5)`` at round 1 from ``(0.2, 0.8)`` and then
    settle at ``(0.4, 0.6)``, so they never reach consensus (round 1 was returned).  The
    round is found by a rollout checked against the equilibrium ``b*``
    (:meth:`~FriedkinJohnsen.equilibrium`, the limit, or for a periodic group its time
    average): ``b(t) - b*`` is multiplied by ``H``, whose rows are non-negative and sum to
    at most 1, so ``max |b(t) - b*|`` never grows and every later spread is at most
    ``spread(b*) + 2 max |b(t) - b*|``.  If ``spread(b*) >= tol`` there is no consensus
    (None, with no rollout); otherwise the rollout stops once that bound is below ``tol``
    and returns the first round of the agreement that lasts to there.  A rollout that
    repeats itself (a fixed point or a 2-cycle of round-off: float32 stalls a few eps
    away from the solved ``b*``, where that bound may stay above ``tol``) is decided by
    its own spreads, which are then those of every later round.  With every
    ``gamma = 0`` (DeGroot) each belief is a convex combination of the previous ones, the
    spread never grows, and the first round below ``tol`` is returned at once.

    Parameters
    ----------
    model
        The FJ model.
    S
        Innate beliefs ``b(0)``, ``(n,)`` or ``(n, K)``.
    tol
        Largest spread ``max_i b_i - min_i b_i`` (over options) that counts as agreement.
    max_steps
        Rounds simulated before giving up: the agreement must be shown to last (the bound
        above below ``tol``) by then.
    check
        Validate the beliefs (``(n, K)`` rows as distributions); False for real-valued
        opinions on several topics (one column per topic).

    Returns
    -------
    int or None
        The round, or None if the beliefs do not come within ``tol`` of each other for
        good: the equilibrium itself is no consensus (FJ with stubborn agents usually
        never reaches consensus), or an agreement that lasts is not shown within
        ``max_steps`` rounds.  ``b*`` comes from a solve at its default tolerance, so a
        ``tol`` near the solve's error (1e-10, relative, for the iterative methods) may
        read its round-off as disagreement.

    Examples
    --------
    >>> import numpy as np
    >>> from multiagent import FriedkinJohnsen, time_to_consensus
    >>> W = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> time_to_consensus(FriedkinJohnsen(W, gamma=0.0, alpha=0.5), np.array([1.0, 0.0]))
    1
    >>> swap = FriedkinJohnsen(W, gamma=0.0, alpha=0.0)  # the two swap opinions every round
    >>> print(time_to_consensus(swap, np.array([1.0, 0.0]), max_steps=100))
    None
    >>> anchored = FriedkinJohnsen(W, gamma=0.5, alpha=0.0)  # (0.5, 0.5) at round 1 only
    >>> print(time_to_consensus(anchored, np.array([0.2, 0.8])))  # settles at (0.4, 0.6)
    None
    """
    tol, max_steps = _check_tol_steps(tol, max_steps)
    # no autograd graph: with a W that needs grad every round was recorded for a count
    # that has no gradient (see time_to_equilibrium)
    with torch.no_grad():
        B = model._beliefs(S, "S", check)
        S0 = B
        # DeGroot: convex combinations never widen the spread, so the first hit lasts
        degroot = not bool((model.gamma != 0).any())
        if not degroot:
            target = model.equilibrium(S0, check=False)
            settled = _spread(target)
            if settled >= tol:  # the limit itself disagrees: any agreement is transient
                return None
        first = None  # first round of the current run of rounds below tol
        before = None  # b(t - 1) and whether its spread was below tol
        for t in range(max_steps + 1):
            below = _spread(B) < tol
            first = (t if first is None else first) if below else None
            # every later spread is at most spread(b*) + 2 max |b(t) - b*| (H's rows are
            # non-negative and sum to at most 1): below tol, the run lasts. DeGroot:
            # convex combinations never widen the spread, so the first hit lasts
            if below and (degroot or settled + 2 * float(abs(B - target).max()) < tol):
                return first
            if t < max_steps:
                after = model.step(B, S0, check=False)
                if not degroot:
                    # in float32 the rollout stalls a few eps (times 1 / (1 - rate)) away
                    # from the solved b*, where the bound above stayed >= tol (1e-6) and
                    # None came back: once it repeats itself (a fixed point, or a 2-cycle
                    # of round-off) every later round is one seen, and its spreads decide
                    if bool((after == B).all()):
                        return first if below else None
                    if before is not None and bool((after == before[0]).all()):
                        return first if below and before[1] else None
                    before = (B, below)
                B = after
    return None  # any agreement at the end is not shown to last: it may be transient


def time_to_equilibrium(
    model: FriedkinJohnsen, S: Any, *, tol: float = 1e-6, max_steps: int = 100_000,
    check: bool = True,
) -> int | None:
    """First round with ``max |b(t) - b*| < tol`` (the equilibrium obtained by a solve).

    Parameters
    ----------
    model
        The FJ model.
    S
        Innate beliefs ``b(0)``, ``(n,)`` or ``(n, K)``.
    tol
        Largest absolute distance to the equilibrium that counts as reached.
    max_steps
        Rounds simulated before giving up.
    check
        Validate the beliefs (``(n, K)`` rows as distributions); False for real-valued
        opinions on several topics (one column per topic).

    Returns
    -------
    int or None
        The round, or None if not reached in ``max_steps`` rounds.

    Examples
    --------
    Two agents who each keep half their innate opinion: ``b* = (2/3, 1/3)`` and the
    distance to it halves every round from ``1/3``, below ``1e-6`` first at round 19:

    >>> import numpy as np
    >>> from multiagent import FriedkinJohnsen, time_to_equilibrium
    >>> fj = FriedkinJohnsen(np.array([[0.0, 1.0], [1.0, 0.0]]), gamma=0.5, alpha=0.0)
    >>> time_to_equilibrium(fj, np.array([1.0, 0.0]), tol=1e-6)
    19
    """
    tol, max_steps = _check_tol_steps(tol, max_steps)
    # no autograd graph: with a W that needs grad every round was recorded (575 MB after
    # 3,000 rounds of 400 agents, 11 MB without), and float() warned about it
    with torch.no_grad():
        # check=False for real-valued opinions on several topics, as step, rollout and
        # equilibrium take it (they were refused, advised to normalise the rows)
        S0 = model._beliefs(S, "S", check)
        target = model.equilibrium(S0, check=False)
        B = S0
        for t in range(max_steps + 1):
            if float(abs(B - target).max()) < tol:
                return t
            B = model.step(B, S0, check=False)
    return None


def _np2(x: Any) -> np.ndarray:
    a = bk.as_numpy(x).astype(np.float64)
    return a[:, None] if a.ndim == 1 else a


def _opinions(x: Any, name: str) -> np.ndarray:
    """``x`` as a float ``(n, K)`` array after checking it is finite ``(n,)`` or ``(n, K)``."""
    a = bk.as_numpy(x).astype(np.float64)
    if a.ndim not in (1, 2) or a.shape[0] == 0:
        raise ValueError(f"{name} must have shape (n,) or (n, K) with n >= 1 agents, got "
                         f"shape {a.shape}")
    check_beliefs(a, a.shape[0], name, simplex=False)
    return a[:, None] if a.ndim == 1 else a


def polarization(z: Any) -> float:
    """``P = ||z - mean(z)||^2`` (summed over columns for vector opinions).

    Parameters
    ----------
    z
        Opinions, ``(n,)`` or ``(n, K)`` (e.g. the classic-FJ equilibrium).

    Returns
    -------
    float
        The polarization index (Musco, Musco & Tsourakakis 2018).

    Raises
    ------
    ValueError
        If ``z`` is not a finite ``(n,)`` or ``(n, K)`` array.

    Examples
    --------
    >>> import numpy as np
    >>> from multiagent import polarization
    >>> polarization(np.array([1.0, 0.0]))  # mean 0.5: 0.5^2 + 0.5^2
    0.5
    >>> polarization(np.array([[1.0, 0.0], [0.0, 1.0]]))  # summed over the two columns
    1.0
    """
    Z = _opinions(z, "z")
    Zc = Z - Z.mean(axis=0)
    return float((Zc**2).sum())


def disagreement(z: Any, adjacency: Any) -> float:
    """``D = sum over undirected edges of w_ij (z_i - z_j)^2 = z^T L z`` (symmetric weights).

    A directed/asymmetric ``adjacency`` is symmetrised as ``(A + A^T)/2``.  Evaluated as
    ``zbar^T L zbar`` on the mean-centred ``z`` (equal, as ``L 1 = 0``), which stays accurate
    when the opinions share a large offset.

    Parameters
    ----------
    z
        Opinions, ``(n,)`` or ``(n, K)`` (e.g. the classic-FJ equilibrium).
    adjacency
        ``(n, n)`` non-negative edge weights (dense or scipy sparse); a pandas DataFrame is
        read by label, and a labelled Series / DataFrame ``z`` by its labels.  A matrix has
        no agent names: a ``z`` indexed by names (anything but the positions ``0..n-1``)
        is then refused rather than read by position.

    Returns
    -------
    float
        The disagreement index.

    Raises
    ------
    ValueError
        If ``z`` is not a finite ``(n,)`` or ``(n, K)`` array, or ``adjacency`` is not a
        finite, non-negative ``(n, n)`` matrix (a negative weight would make ``D`` negative),
        or ``z`` names agents that ``adjacency`` does not (a matrix names none).
    TypeError
        If ``adjacency`` is a :class:`FriedkinJohnsen` model, not its weights.

    Examples
    --------
    >>> import numpy as np
    >>> from multiagent import disagreement
    >>> A = np.array([[0.0, 2.0], [2.0, 0.0]])  # one edge of weight 2
    >>> disagreement(np.array([1.0, 0.0]), A)  # 2 * (1 - 0)^2
    2.0
    """
    _refuse_model(adjacency)
    # a labelled z follows a DataFrame adjacency's agents (it was read by position)
    labels = bk.frame_labels(adjacency)
    Z = _opinions(bk.by_agent_label(z, labels, "z", **_ADJACENCY_HAS_NO_NAMES), "z")
    n = Z.shape[0]
    A = bk.to_scipy_csr(bk.square_frame(adjacency, "adjacency"))  # a DataFrame by label
    if A.shape != (n, n):
        raise ValueError(f"adjacency must be ({n}, {n}) for the {n} agents of z, got shape "
                         f"{A.shape}")
    FriedkinJohnsen._check_entries_of(A, "adjacency")
    A = (A + A.T) * 0.5
    # D is shift-invariant (L 1 = 0): z^T L z of an uncentred z cancelled under a common
    # offset (relative error 4e-3 at opinions near 1e6), so take zbar^T L zbar as Xu et al.
    Z = Z - Z.mean(axis=0)
    d = np.asarray(A.sum(axis=1)).ravel()
    LZ = d[:, None] * Z - A @ Z
    return float((Z * LZ).sum())


def internal_conflict(z: Any, s: Any) -> float:
    """``C_I = ||z - s||^2``: how far agents moved from their innate opinions.

    Parameters
    ----------
    z
        Opinions, ``(n,)`` or ``(n, K)`` (e.g. the classic-FJ equilibrium).
    s
        Innate opinions, same shape as ``z``; read by label when both are pandas Series /
        DataFrames with agent labels, by position when neither is (arrays, tensors, or an
        index that is the positions ``0..n-1``).

    Returns
    -------
    float
        The internal conflict.

    Raises
    ------
    ValueError
        If ``z`` or ``s`` is not finite, or their shapes differ (no broadcasting); if only
        one of them is indexed by agent names (e.g. ``z`` the array that
        :meth:`~FriedkinJohnsen.equilibrium` returns and ``s`` a Series by name), which
        was paired by position: pass both by name, or both as arrays in one order.

    Examples
    --------
    >>> import numpy as np
    >>> from multiagent import classic_fj, internal_conflict
    >>> s = np.array([1.0, 0.0])
    >>> z = classic_fj(np.array([[0.0, 1.0], [1.0, 0.0]])).equilibrium(s)  # (2/3, 1/3)
    >>> round(internal_conflict(z, s), 4)  # 2 * (1/3)^2
    0.2222
    """
    # paired by label when both name their agents; one named and one by position was
    # paired by position, each agent's opinion against another's innate one: refused
    Z = _opinions(z, "z")
    S = _opinions(bk.pair_by_label(z, s, "z", "s"), "s")
    if S.shape != Z.shape:
        raise ValueError(f"s has shape {np.shape(bk.as_numpy(s))} but z has "
                         f"{np.shape(bk.as_numpy(z))}: expected one innate opinion per "
                         "opinion of z")
    return float(((Z - S) ** 2).sum())


def controversy(z: Any) -> float:
    """``C = z^T z`` (Chen et al. 2018): the opinions' distance from the neutral opinion 0.

    Unlike :func:`polarization` it depends on where the scale starts: Chen, Lijffijt & De
    Bie take opinions in [-1, 1] with 0 neutral, so code the neutral answer as 0 first
    (Likert 1-7: subtract 4; the equilibrium ``(2/3, 1/3)`` of two agents on one edge has
    ``C = 5/9``, and ``365/9`` with 4 added to both). For mean-centred opinions it equals
    :func:`polarization`.

    Parameters
    ----------
    z
        Opinions, ``(n,)`` or ``(n, K)`` (e.g. the classic-FJ equilibrium).

    Returns
    -------
    float
        The controversy index.

    Raises
    ------
    ValueError
        If ``z`` is not a finite ``(n,)`` or ``(n, K)`` array.

    Examples
    --------
    >>> import numpy as np
    >>> from multiagent import controversy
    >>> round(controversy(np.array([0.6, 0.8])), 4)  # 0.36 + 0.64
    1.0
    """
    return float((_opinions(z, "z") ** 2).sum())


# by_agent_label's words when the opinions name agents and the adjacency is a bare matrix
_ADJACENCY_HAS_NO_NAMES = {
    "who": "adjacency, a numpy / scipy / torch matrix,",
    "fix": "pass adjacency as a pandas DataFrame indexed by the agents' names"}


def _refuse_model(adjacency: Any) -> None:
    """Refuse a model passed where its adjacency is expected, by name."""
    # scipy failed on it with "missing 1 required positional argument: 'shape'"
    if isinstance(adjacency, FriedkinJohnsen):
        raise TypeError("adjacency: expected an (n, n) weight matrix, got a FriedkinJohnsen "
                        "model; pass the adjacency the classic FJ model is built from")


def classic_fj(adjacency: Any) -> FriedkinJohnsen:
    """Build the classic FJ model ``z = (I + L)^{-1} s`` (Musco et al.; Bindel et al.).

    It is the three-force model with ``gamma_i = 1/(1 + d_i)``, ``alpha = 0`` and
    ``W = D^{-1} A`` (``d_i`` weighted degrees); isolated agents keep ``z_i = s_i``.

    Parameters
    ----------
    adjacency
        Symmetric ``(n, n)`` non-negative edge weights (dense or scipy sparse); self-loops
        are ignored.  A pandas DataFrame is read by label, and the model then reads
        labelled beliefs by label too.

    Returns
    -------
    FriedkinJohnsen
        The model; its :meth:`~FriedkinJohnsen.equilibrium` is ``(I + L)^{-1} s``.

    Examples
    --------
    >>> import numpy as np
    >>> from multiagent import classic_fj
    >>> fj = classic_fj(np.array([[0.0, 1.0], [1.0, 0.0]]))  # two agents, one edge
    >>> fj.gamma.tolist()  # 1 / (1 + degree)
    [0.5, 0.5]
    >>> fj.equilibrium(np.array([1.0, 0.0])).round(4).tolist()  # (I + L)^-1 s
    [0.6667, 0.3333]
    """
    _refuse_model(adjacency)
    labels = bk.frame_labels(adjacency)
    adjacency = bk.square_frame(adjacency, "adjacency")  # a DataFrame is read by label
    A = bk.to_scipy_csr(adjacency)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"adjacency must be a square (n, n) matrix, got shape {A.shape}")
    FriedkinJohnsen._check_entries_of(A, "adjacency")  # before the degrees divide below
    if not _symmetric(A):
        raise ValueError("adjacency must be symmetric (an undirected weighted graph)")
    # a self-loop is not an edge of L = D - A (it cancels), and from_adjacency drops it:
    # counting it in d would lower gamma_i and give z != (I + L)^{-1} s
    A = drop_diagonal(A)
    d = np.asarray(A.sum(axis=1)).ravel()
    backend = bk.backend_of(adjacency)
    adj = adjacency if backend != "numpy" else np.asarray(adjacency, dtype=np.float64)
    gamma = 1.0 / (1.0 + d)
    if backend == "torch":
        import torch

        # an integer adjacency (the model makes it float64) truncated 1/(1 + d) to 0: DeGroot
        dtype = adj.dtype if adj.is_floating_point() else torch.float64
        gamma = torch.as_tensor(gamma, dtype=dtype, device=adj.device)
    model = FriedkinJohnsen.from_adjacency(adj, gamma, 0.0)
    model._labels = labels  # a labelled s was read by position
    return model


def _symmetric(A: sp.csr_array) -> bool:
    diff = A - A.T
    return diff.nnz == 0 or float(abs(diff).max()) <= 1e-12 * max(1.0, float(abs(A).max()))


def opinion_indices(
    adjacency: Any, s: Any, *, tol: float = 1e-12, method: Any = "auto"
) -> dict[str, Any]:
    """Classic-FJ equilibrium and all polarization/conflict indices, by linear solves.

    Parameters
    ----------
    adjacency
        Symmetric non-negative ``(n, n)`` weights (dense, scipy sparse or torch).
    s
        Innate opinions ``(n,)`` (or ``(n, K)``; indices are summed over columns); a
        labelled Series / DataFrame is read by the labels of a DataFrame ``adjacency``,
        and refused with a matrix ``adjacency``, which names no agent (an index that is
        the positions ``0..n-1`` is read by position).
    tol, method
        Solver settings (see :meth:`FriedkinJohnsen.solve`).  ``tol`` bounds the relative
        residual of the FJ system ``(I - H) z = Gamma s``, i.e. of ``(I + L) z = s`` with row
        ``i`` divided by ``1 + d_i`` (Xu et al., WWW 2021, bound the unscaled one).

    Returns
    -------
    dict
        ``z`` (equilibrium, in the order of a DataFrame ``adjacency``'s index),
        ``polarization``, ``disagreement`` and ``internal_conflict`` (from the solve of the
        mean-centred ``sbar``, as Xu et al. take P and D, so a common offset of the
        opinions costs no digits),
        ``pd_index`` (``P + D``), ``pd_index_quadratic`` (``sbar^T (I + L)^{-1} sbar``:
        equal to ``pd_index``), ``controversy`` and ``dc_index`` (``D + C``), with
        ``internal_conflict + 2 disagreement + controversy = s^T s`` (Chen et al.).
        ``controversy`` (and so ``dc_index``) is ``z^T z``, the distance from the scale's
        0, taken as the neutral opinion: it grows with the scale's offset (Likert 1-7
        answers: subtract 4 first), while the other indices do not move.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0, 1.0], [1.0, 0]])
    >>> out = opinion_indices(A, np.array([1.0, 0.0]))
    >>> round(out["polarization"], 6), round(out["disagreement"], 6)
    (0.055556, 0.111111)
    """
    model = classic_fj(adjacency)
    # a named s and a bare adjacency: refused here, naming the adjacency, not the model
    bk.by_agent_label(s, bk.frame_labels(adjacency), "s", **_ADJACENCY_HAS_NO_NAMES)
    s_arr = model._beliefs(s, "s", False)
    if not np.isfinite(_np2(s_arr)).all():
        raise ValueError("s has NaN or infinite entries")
    check_beliefs(s_arr, model.n, "s", simplex=False)  # shape: one opinion row per agent
    z = model.equilibrium(s_arr, method=method, tol=tol, check=False)
    s_np = _np2(s_arr)
    sbar = s_np - s_np.mean(axis=0)
    zbar = _np2(model.equilibrium(model._beliefs(sbar if s_arr.ndim == 2 else sbar[:, 0], "s",
                                                 False), method=method, tol=tol, check=False))
    # P, D and C_I from the solve of the centred sbar (Xu et al., WWW 2021, take P and D so):
    # from z they lost the common offset's digits (3.6 % off in D at opinions near 1e6 by CG)
    P = polarization(zbar)
    D = disagreement(zbar, adjacency)
    C = controversy(z)  # of the raw z: the distance from the neutral opinion 0 (Chen et al.)
    return {
        "z": z,
        "polarization": P,
        "disagreement": D,
        "pd_index": P + D,
        "pd_index_quadratic": float((sbar * zbar).sum()),
        "internal_conflict": internal_conflict(zbar, sbar),  # z - s = zbar - sbar
        "controversy": C,
        "dc_index": D + C,
    }
