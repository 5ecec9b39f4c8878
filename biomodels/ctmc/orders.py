"""Order statements from a fitted MHN: P(a before b) and most likely event orders.

``order_probability(theta, a, b)`` is P(a occurred before b | both a and b are observed). It is
exact on the full state space: removing the transitions that add b while a is absent (keeping
every exit rate) leaves, in each state containing both, exactly the mass of the paths on which a
came first. For more events than the state space allows, it is estimated from simulated
trajectories. ``most_likely_order`` is the Viterbi path over the subsets of a tumour's events,
and ``top_orders`` beyond 8 events its k-best version (each subset keeps its k best partial
orders), normalised by the sum over all orders on the same lattice.

Convention: ``theta[i, j]`` = effect of event j on the rate of event i (rows are targets).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from biomodels.ctmc._checks import as_theta
from biomodels.ctmc._solve import log1p_sum_exp, solve_lattice_log, subset_bits
from biomodels.ctmc.likelihood_statespace import MAX_STATESPACE_EVENTS
from biomodels.ctmc.sampling import sample_trajectories
from biomodels.ctmc.sequences import sequence_log_prob
from core.checks import check_count, check_seed

__all__ = ["order_probability", "most_likely_order", "top_orders"]

# method="auto" solves exactly up to here, at most about the cost of 100,000 trajectories
# (measured 0.2 s against 0.6 s at 17 events, 0.3-0.8 s against 0.5 s at 18, 1 s against
# 0.5 s at 19, 3-4 s against 0.6 s at 20)
AUTO_EXACT_EVENTS = 18

# entries of one slice of most_likely_order's (subsets, n) rate table
_CHUNK_ELEMENTS = 2**22

#: most_likely_order and top_orders search the 2^k subsets of a tumour's k events
MAX_ORDER_EVENTS = 20

#: top_orders enumerates every ordering up to this many events (8! = 40,320 orders), as it did
#: before the lattice; beyond, the k-best dynamic programme over the subsets
_ENUMERATED_EVENTS = 8

#: partial orders that the k-best programme keeps for the largest layer of subsets (k of each;
#: float64 value and two int64 keys, 24 bytes each: about 400 MB)
_KBEST_ENTRIES = 2**24

#: bits of one event position in top_orders' sort keys (positions < 32): a partial order's
#: first 12 positions go into one int64 key, the others into a second
_KEY_BITS = 5
_KEY_HEAD = 12


def _check_event(name: str, value: int, n: int) -> int:
    # True is an int: it would read as event 1
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer) \
            or not 0 <= int(value) < n:
        raise ValueError(f"{name} must be an event index in [0, {n}), got {value!r}")
    return int(value)


def order_probability(
    theta: torch.Tensor | np.ndarray,
    a: int,
    b: int,
    *,
    method: str = "auto",
    n_samples: int = 100_000,
    seed: int | None = 0,
    return_se: bool = False,
) -> float | tuple[float, float]:
    """P(event a occurred before event b | both are observed).

    Parameters
    ----------
    theta
        (n, n) parameters, rows = affected event.
    a, b
        Distinct event indices.
    method
        ``"exact"`` (state space, n <= 24), ``"sample"`` (Gillespie trajectories) or ``"auto"``
        (exact when n <= 18, where the exact solve costs about as much as 100,000
        trajectories or less: 0.2 s against 0.6 s at 17 events, 0.3-0.8 s against 0.5 s at
        18, 1 s against 0.5 s at 19, 3-4 s against 0.6 s at 20; it needs about 1.3 GB at
        20 events and doubles per event).
    n_samples, seed
        Trajectories and their seed where they are simulated (``method="sample"``, or
        ``"auto"`` beyond 18 events). The default seed 0 gives the same estimate on every
        call (before, ``seed=None`` gave another one per call: 0.419, 0.433, 0.410 for
        TP53 before IDH1 on the 20-event glioblastoma cohort, exact 0.4188), as
        ``CTMC.fit``'s and ``kfold_indices``' folds are seeded with 0; ``seed=None`` draws
        fresh entropy. The samplers and generators ``CTMC.sample``, ``sample_trajectories``,
        ``sample_omhn_trajectories``, ``random_sparse_theta`` and ``block_theta`` (and
        ``multiagent``'s ``make_graph`` and ``random_graph``) default to ``seed=None``,
        fresh entropy on every call: pass ``seed=`` to reproduce them. The estimate
        is the fraction of the m simulated tumours carrying both events in which a came
        first; its Monte Carlo standard error is ``sqrt(p (1 - p) / m)`` (``return_se=True``
        gives it), 0.008 in that example, where m = 3,600 of the 100,000 trajectories carry
        both (seed 0 gives 0.4143; the sd over 20 seeds was 0.0075). Unused by the exact
        solve.
    return_se
        Return ``(p, se)``, the probability and its Monte Carlo standard error (0.0 for
        the exact solve; NaN with ``p``; 0.0 also when every simulated tumour with both
        events has them in the same order, so raise ``n_samples`` then), instead of ``p``
        alone.

    Returns
    -------
    float or (float, float)
        The probability; NaN if a and b are never observed together. With ``return_se``,
        also its standard error.

    Examples
    --------
    >>> import numpy as np
    >>> theta = np.array([[0.0, 0.0], [2.0, -1.0]])  # event 0 promotes event 1
    >>> order_probability(theta, 0, 1) > 0.5
    True
    >>> p, se = order_probability(theta, 0, 1, method="sample", n_samples=10_000,
    ...                           return_se=True)
    >>> bool(abs(p - order_probability(theta, 0, 1)) < 4 * se)
    True
    """
    if not isinstance(return_se, bool | np.bool_):  # "no" would read as True
        raise TypeError(f"return_se must be True or False, got {return_se!r}")
    th = as_theta(theta).detach()
    n = th.shape[0]
    a, b, method, n_samples = _check_order_args(n, a, b, method, n_samples)
    if method == "exact":
        p = _exact_order_probability(th, a, b, {})
        return (p, 0.0 if math.isfinite(p) else math.nan) if return_se else p
    p, m = _sampled_order_probability(th, a, b, n_samples, seed)
    # binomial standard error of a fraction of m; NaN where no tumour had both events
    se = math.sqrt(p * (1.0 - p) / m) if m else math.nan
    return (p, se) if return_se else p


def _check_order_args(n: int, a: int, b: int, method: str, n_samples: int
                      ) -> tuple[int, int, str, int]:
    """Check :func:`order_probability`'s arguments; ``method`` resolved from ``"auto"``."""
    a = _check_event("a", a, n)
    b = _check_event("b", b, n)
    if a == b:
        raise ValueError("a and b must be different events")
    if method not in ("auto", "exact", "sample"):
        raise ValueError(f"method must be 'auto', 'exact' or 'sample', got {method!r}")
    if method == "auto":
        method = "exact" if n <= AUTO_EXACT_EVENTS else "sample"
    if method == "exact":
        if n > MAX_STATESPACE_EVENTS:
            raise ValueError(f"exact order probabilities need n <= {MAX_STATESPACE_EVENTS}")
    else:
        # no trajectories would read as "never observed together" (NaN) instead of an error
        n_samples = check_count("n_samples", n_samples, at_least=1)
    return a, b, method, n_samples


def _exact_order_probability(th: torch.Tensor, a: int, b: int, tables: dict) -> float:
    """P(a before b | both observed) on the state space; ``tables`` as solve_lattice_log's."""
    n = th.shape[0]
    bits = subset_bits(n, dtype=th.dtype, device=th.device)
    off = th - torch.diag(torch.diagonal(th))
    log_rates = (bits @ off.T + torch.diagonal(th)).masked_fill(bits > 0, -math.inf)
    log_diag = log1p_sum_exp(log_rates)
    # both solves share the lattice's index tables (n > 16: built here, or kept by the caller)
    lp = solve_lattice_log(log_rates, log_diag, tables=tables)
    # b may only enter once a is present (exit rates unchanged)
    blocked = log_rates.clone()
    blocked[:, b] = blocked[:, b].masked_fill(bits[:, a] == 0, -math.inf)
    lp_ab = solve_lattice_log(blocked, log_diag, tables=tables)
    both = (bits[:, a] * bits[:, b]) > 0
    log_denom = torch.logsumexp(lp[both], dim=0)
    if not bool(torch.isfinite(log_denom)):
        return float("nan")
    return float(torch.exp(torch.logsumexp(lp_ab[both], dim=0) - log_denom))


def _sampled_order_probability(th: torch.Tensor, a: int, b: int, n_samples: int,
                               seed: int | None) -> tuple[float, int]:
    """P(a before b | both observed) from ``n_samples`` Gillespie trajectories.

    Returns the estimate (NaN if no trajectory carries both) and the number m of
    trajectories that carry both, on which it rests.
    """
    n = th.shape[0]
    traj = sample_trajectories(th, n_samples, seed=seed)
    pos_a = np.where(traj.order == a, np.arange(n)[None, :], n).min(axis=1)
    pos_b = np.where(traj.order == b, np.arange(n)[None, :], n).min(axis=1)
    both = (pos_a < n) & (pos_b < n)
    if not both.any():
        return float("nan"), 0
    return float((pos_a[both] < pos_b[both]).mean()), int(both.sum())


def _order_probabilities(
    thetas: np.ndarray,
    a: int,
    b: int,
    *,
    method: str = "auto",
    n_samples: int = 100_000,
    seed: int | None = 0,
) -> np.ndarray:
    """P(a before b | both observed) under each of several thetas (e.g. posterior draws).

    Parameters
    ----------
    thetas
        (S, n, n) parameters, rows = affected event.
    a, b
        Distinct event indices.
    method, n_samples
        As :func:`order_probability`.
    seed
        Seed of ``method="sample"``'s trajectories: draw s gets its own seed, derived from
        this one (``numpy.random.SeedSequence``), so the same draws give the same answers
        on every call; None draws fresh entropy. Unused by the exact solve.

    Returns
    -------
    numpy.ndarray
        (S,) probabilities (NaN where a and b are never observed together).
    """
    n = thetas.shape[1]
    a, b, method, n_samples = _check_order_args(n, a, b, method, n_samples)
    seed = check_seed(seed)
    out = np.empty(len(thetas))
    if method == "exact":
        tables: dict = {}  # the lattice's index tables (n > 16), built once for all draws
        for s, th in enumerate(thetas):
            out[s] = _exact_order_probability(as_theta(th).detach(), a, b, tables)
        return out
    seeds = ([None] * len(thetas) if seed is None else
             [int(v) for v in np.random.SeedSequence(seed).generate_state(len(thetas))])
    for s, th in enumerate(thetas):
        out[s] = _sampled_order_probability(as_theta(th).detach(), a, b, n_samples,
                                            seeds[s])[0]
    return out


def _lattice_steps(th: torch.Tensor, ev: list[int]
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Build the jump chain on the subsets of the events ``ev``: members, exits and steps.

    Returns ``bits`` ((2^k, k) 0/1 members of each subset T, bit i = ``ev[i]``), ``log_exit``
    ((2^k,) log of 1 plus the rates of every event absent from T, the observation clock's
    rate 1 included) and ``step`` ((2^k, k): ``log P(next = ev[i] | T)``, meaningful for i
    not in T). The log-probability of an order is the sum of its steps minus ``log_exit``
    of the full set.
    """
    n, k = th.shape[0], len(ev)
    idx = torch.tensor(ev, dtype=torch.int64, device=th.device)
    bits = subset_bits(k, dtype=th.dtype, device=th.device)
    off = th - torch.diag(torch.diagonal(th))
    log_exit = torch.empty(2**k, dtype=th.dtype, device=th.device)
    step = torch.empty(2**k, k, dtype=th.dtype, device=th.device)
    # the (2^k, n) rate table in slices of states: whole, it took 7.7 GB at k = 20, n = 300
    chunk = max(1, _CHUNK_ELEMENTS // (n + 1))
    for start in range(0, 2**k, chunk):
        sub = bits[start : start + chunk]
        log_rates = sub @ off[:, idx].T + torch.diagonal(th)  # (states, n)
        inside = torch.zeros(len(sub), n, dtype=torch.bool, device=th.device)
        inside[:, idx] = sub > 0
        exit_here = torch.logsumexp(
            torch.cat(
                [
                    torch.zeros(len(sub), 1, dtype=th.dtype, device=th.device),
                    log_rates.masked_fill(inside, float("-inf")),
                ],
                dim=1,
            ),
            dim=1,
        )
        log_exit[start : start + chunk] = exit_here
        # log P(next = x_i | T)
        step[start : start + chunk] = log_rates[:, idx] - exit_here[:, None]
    return bits, log_exit, step


def most_likely_order(
    theta: torch.Tensor | np.ndarray, events: list[int] | np.ndarray
) -> tuple[list[int], float]:
    """Find the most likely order in which a tumour acquired its events (Viterbi over subsets).

    Parameters
    ----------
    theta
        (n, n) parameters, rows = affected event.
    events
        Indices of the tumour's events (at most 20).

    Returns
    -------
    order, log_prob
        The event indices in order of occurrence and ``log p(order)`` (joint with observing
        exactly these events). Of orders of equal probability, the first in
        ``itertools.permutations(events)``'s order, the one :func:`top_orders` lists first.

    Examples
    --------
    Event 0 (rate 1) raises the rate of event 1 from e^-1 to e^1; the observation
    clock has rate 1, so 0 then 1 has probability ``1 / (2 + e^-1) * e / (1 + e)``:

    >>> import math
    >>> import numpy as np
    >>> from biomodels.ctmc import most_likely_order
    >>> theta = np.array([[0.0, 0.0], [2.0, -1.0]])
    >>> order, log_p = most_likely_order(theta, [0, 1])
    >>> order, round(log_p, 6)
    ([0, 1], -1.175256)
    >>> round(math.log(1 / (2 + math.exp(-1)) * math.e / (1 + math.e)), 6)
    -1.175256
    """
    th = as_theta(theta).detach()
    n = th.shape[0]
    ev = [_check_event("events", e, n) for e in events]
    if len(set(ev)) != len(ev):
        raise ValueError("events must be distinct")
    k = len(ev)
    if k == 0:
        return [], float(sequence_log_prob(th, torch.zeros(0, dtype=torch.int64)))
    if k > MAX_ORDER_EVENTS:
        raise ValueError(f"most_likely_order enumerates 2^k subsets; got k = {k} > "
                         f"{MAX_ORDER_EVENTS}")
    bits, log_exit, step = _lattice_steps(th, ev)
    best = torch.full((2**k,), float("-inf"), dtype=th.dtype, device=th.device)
    best[0] = 0.0
    # tight[s, i]: the best order of subset s may end with event i (it attains best[s])
    tight = torch.zeros(2**k, k, dtype=torch.bool, device=th.device)
    popcount = bits.sum(1).long()
    shifts = torch.arange(k, device=th.device)
    # Viterbi layer by layer: all subsets of one size at once, as subsets of size m depend
    # only on those of size m - 1 (k^2 tensor operations instead of k 2^k Python steps)
    for size in range(1, k + 1):
        states = torch.nonzero(popcount == size).squeeze(-1)
        has = (states[:, None] >> shifts) & 1 == 1  # (states, k): event i is in the subset
        prev = states[:, None] ^ (1 << shifts)
        cand = (best[prev] + step[prev, shifts]).masked_fill(~has, float("-inf"))
        val = cand.max(dim=1).values
        best[states] = val
        tight[states] = has & (cand == val[:, None])
    full = 2**k - 1
    # ties as in top_orders (itertools.permutations' order, the lexicographically first
    # order of the events' positions): mark the subsets on some best path to the full set,
    # then go forwards, each time taking the first event that stays on one. Backtracking
    # from the full set with the first maximum chose the *last* event first, and reversed
    # the ties ([2, 1, 0] where top_orders gives [0, 1, 2]).
    on_path = torch.zeros(2**k, dtype=torch.bool, device=th.device)
    on_path[full] = True
    for size in range(k, 0, -1):
        states = torch.nonzero(popcount == size).squeeze(-1)
        keep = tight[states] & on_path[states][:, None]
        on_path[(states[:, None] ^ (1 << shifts))[keep]] = True
    tight, on_path = tight.cpu().numpy(), on_path.cpu().numpy()
    order: list[int] = []
    s = 0
    while s != full:
        i = next(i for i in range(k) if not s >> i & 1
                 and on_path[s | 1 << i] and tight[s | 1 << i, i])
        order.append(ev[i])
        s |= 1 << i
    return order, float(best[full] - log_exit[full])


def top_orders(
    theta: torch.Tensor | np.ndarray, events: list[int] | np.ndarray, *, k: int = 5
) -> list[tuple[list[int], float]]:
    """Return the ``k`` most probable orders of a tumour's events, with probabilities.

    Parameters
    ----------
    theta
        (n, n) parameters.
    events
        Distinct event indices, at most 20 (as :func:`most_likely_order`). Up to 8 events
        every ordering is scored (8! = 40,320); beyond, a k-best dynamic programme over the
        2^m subsets of the m events keeps the ``k`` best partial orders of each subset and
        extends them one event at a time, and the orders' probabilities are normalised by
        the sum over all orders on the same lattice (the tumour's likelihood).
    k
        How many orders to return (all of them where there are fewer). Beyond 8 events the
        programme keeps ``k`` partial orders for each subset: at most 2^24 for the largest
        layer of subsets (about 90 orders at 20 events, 2,600 at 15), else a ValueError.

    Returns
    -------
    list of (order, probability)
        Orders with P(order | these events observed), most probable first; orders of
        equal probability in the order of ``itertools.permutations(events)``. Beyond 8
        events the first order is :func:`most_likely_order`'s, and "equal" is equal as the
        programme sums the steps (orders equal in exact arithmetic can differ in the last
        bits, as in :func:`most_likely_order`).

    Raises
    ------
    ValueError
        If the events repeat, lie outside [0, n), number more than 20, or ``k`` partial
        orders of each subset exceed the programme's memory budget.

    Examples
    --------
    Event 0 promotes event 1: 0 then 1 is observed with probability proportional to
    ``e / (1 + e)``, 1 then 0 to ``e^-1 / 2`` (see :func:`most_likely_order`):

    >>> import math
    >>> import numpy as np
    >>> from biomodels.ctmc import top_orders
    >>> theta = np.array([[0.0, 0.0], [2.0, -1.0]])
    >>> [(order, round(p, 4)) for order, p in top_orders(theta, [0, 1])]
    [([0, 1], 0.799), ([1, 0], 0.201)]
    >>> a, b = math.e / (1 + math.e), math.exp(-1) / 2
    >>> round(a / (a + b), 4)
    0.799
    """
    th = as_theta(theta).detach()
    ev = [_check_event("events", e, th.shape[0]) for e in events]
    if len(set(ev)) != len(ev):
        raise ValueError("events must be distinct")
    if len(ev) > MAX_ORDER_EVENTS:
        # it refused more than 8 ("top_orders enumerates all orderings")
        raise ValueError(f"top_orders searches the 2^m subsets of the m events, at most "
                         f"{MAX_ORDER_EVENTS}; got {len(ev)} events")
    k = check_count("k", k)  # k=1.0 failed in the slice below, naming no argument
    if len(ev) > _ENUMERATED_EVENTS:
        return _top_orders_lattice(th, ev, k)
    import itertools

    perms = torch.tensor(list(itertools.permutations(ev)), dtype=torch.int64, device=th.device)
    lp = sequence_log_prob(th, perms.reshape(len(perms), len(ev)))
    prob = torch.softmax(lp, dim=0)
    # stable: orders of equal probability (e.g. independent events of equal rates) came
    # back in an unspecified order
    top = torch.argsort(prob, descending=True, stable=True)[:k]
    return [(perms[i].tolist(), float(prob[i])) for i in top]


def _top_orders_lattice(th: torch.Tensor, ev: list[int], k: int
                        ) -> list[tuple[list[int], float]]:
    """:func:`top_orders` by the k-best dynamic programme over the subsets of ``ev``.

    Layer by layer (subsets of one size depend only on those one event smaller), each subset
    T keeps its ``min(k, |T|!)`` best partial orders: the candidates are those of ``T - i``
    extended by i, for each i in T, ranked by log-probability (descending) and, among equal
    ones, by the orders themselves (lexicographically in the positions of ``ev``, the order
    of ``itertools.permutations``). An order is carried as its value and two int64 sort keys
    holding its positions (5 bits each), sorted only for the subsets where values tie. The
    values are sums of the steps of :func:`most_likely_order`, so the best order and its
    value are its own; the forward sum over all orders (log-sum-exp over the same steps)
    normalises the probabilities. At 20 events and ``k=5``: 4.4 s against 2.8 s for
    :func:`most_likely_order` (one thread).
    """
    m = len(ev)
    dev, dtype = th.device, th.dtype
    sizes = [math.comb(m, size) * min(k, math.factorial(size)) for size in range(m + 1)]
    if max(sizes) > _KBEST_ENTRIES:
        size = sizes.index(max(sizes))
        raise ValueError(
            f"k={k}: the {min(k, math.factorial(size))} best orders of each of the "
            f"{math.comb(m, size)} subsets of {size} of the {m} events take {max(sizes):,} "
            f"entries, more than the {_KBEST_ENTRIES:,} top_orders keeps; pass a smaller k")
    bits, log_exit, step = _lattice_steps(th, ev)
    popcount = bits.sum(1).long()
    shifts = torch.arange(m, device=dev)
    # row of each subset within its layer's tables
    row_of = torch.zeros(2**m, dtype=torch.int64, device=dev)
    # the empty set: one empty order of log-probability 0
    vals = torch.zeros(1, 1, dtype=dtype, device=dev)
    keys = torch.zeros(1, 1, 2, dtype=torch.int64, device=dev)
    alpha = torch.full((2**m,), -math.inf, dtype=dtype, device=dev)
    alpha[0] = 0.0
    for size in range(1, m + 1):
        states = torch.nonzero(popcount == size).squeeze(-1)
        row_of[states] = torch.arange(len(states), device=dev)
        keep = min(k, math.factorial(size))
        prev_k = vals.shape[1]
        # the event appended at position size - 1 goes into the first or the second key
        slot = 0 if size <= _KEY_HEAD else 1
        shift = _KEY_BITS * ((_KEY_HEAD if slot == 0 else MAX_ORDER_EVENTS) - size)
        new_vals = torch.empty(len(states), keep, dtype=dtype, device=dev)
        new_keys = torch.empty(len(states), keep, 2, dtype=torch.int64, device=dev)
        chunk = max(1, _CHUNK_ELEMENTS // (m * prev_k))
        for start in range(0, len(states), chunk):
            sub = states[start : start + chunk]
            has = (sub[:, None] >> shifts) & 1 == 1  # (states, m): event i is in the subset
            prev = torch.where(has, sub[:, None] ^ (1 << shifts), 0)
            gain = step[prev, shifts].masked_fill(~has, -math.inf)  # (states, m)
            alpha[sub] = torch.logsumexp(alpha[prev] + gain, dim=1)
            rows = row_of[prev]  # (states, m); rows of absent events are masked by gain
            cand = (vals[rows] + gain[..., None]).reshape(len(sub), m * prev_k)
            # the best keep + 1: where no two neighbours among them are equal, the values
            # alone order the kept ones and decide which are kept
            top = torch.topk(cand, min(keep + 1, m * prev_k), dim=1, sorted=True)
            chosen = top.indices[:, :keep].clone()
            tied = (top.values[:, 1:] == top.values[:, :-1]).any(1)
            if bool(tied.any()):
                # equal values: the orders' lexicographic order, from the sort keys
                t_rows = torch.nonzero(tied).squeeze(-1)
                ckeys = keys[rows[t_rows]].clone()  # (tied, m, prev_k, 2)
                ckeys[..., slot] |= (shifts << shift)[None, :, None]
                ckeys = ckeys.reshape(len(t_rows), m * prev_k, 2)
                # by the second key, the first, then the value (each sort stable)
                order = torch.arange(m * prev_k, device=dev).expand(len(t_rows), -1)
                for key in ([1, 0] if size > _KEY_HEAD else [0]):
                    part = torch.gather(ckeys[..., key], 1, order)
                    order = torch.gather(order, 1, torch.sort(part, dim=1, stable=True).indices)
                value = torch.gather(cand[t_rows], 1, order)
                # ascending on the negated value: -inf (absent events) last
                order = torch.gather(order, 1, torch.sort(-value, dim=1, stable=True).indices)
                chosen[t_rows] = order[:, :keep]
            new_vals[start : start + chunk] = torch.gather(cand, 1, chosen)
            # the kept orders' keys: their prefix's, with event i at position size - 1
            last, rank = chosen // prev_k, chosen % prev_k
            picked = keys[torch.gather(rows, 1, last), rank].clone()  # (states, keep, 2)
            picked[..., slot] |= last << shift
            new_keys[start : start + chunk] = picked
        vals, keys = new_vals, new_keys
    full = 2**m - 1
    # P(order | these events observed): the full set's exit term cancels
    prob = torch.exp(vals[0] - alpha[full]).tolist()
    out = []
    for (head, tail), p in zip(keys[0].tolist(), prob):
        pos = [head >> _KEY_BITS * (_KEY_HEAD - 1 - t) & 31 for t in range(min(m, _KEY_HEAD))]
        pos += [tail >> _KEY_BITS * (MAX_ORDER_EVENTS - 1 - t) & 31
                for t in range(_KEY_HEAD, m)]
        out.append(([ev[i] for i in pos], p))
    return out
