"""Greedy seed selection (influence maximisation) with CELF lazy evaluation.

The expected cascade size σ(S) of a seed set is monotone and submodular (Kempe, Kleinberg
& Tardos, KDD 2003), so greedy selection is within ``1 - 1/e`` of the optimum; CELF (Leskovec
et al., KDD 2007) re-evaluates a candidate's marginal gain only when it reaches the top of
the queue, since gains can only shrink. Objectives are evaluated on size distributions
instead of Monte Carlo estimates: exact on forests and where every component with a cycle
is small (households, enumerated), TDA on other networks with cycles. The tail objective
``P(size >= threshold)`` is not submodular in general: a candidate's gain can grow, so lazy
evaluation could skip the best one, and :func:`celf` re-evaluates every candidate in each
round for it (plain greedy).

For the mean objective on a forest, the gains of all candidates are first bounded in one
linear-time pass of exact expected sizes (belief propagation is exact on trees), and a
distribution is computed only for each pick and where two bounds overlap: the same picks
and values as evaluating every candidate, with ``k`` plus a few distributions instead of
one per candidate (10,000 nodes: about 2 s instead of about 30 minutes).
"""

from __future__ import annotations

import heapq
import math
import reprlib
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from core.checks import check_count
from core.progress import bar_disabled

from .exact import _auto_exact, _check_exact, _instead_of_tree, exact_size_distribution
from .graph import (
    CascadeGraph,
    as_label_list,
    by_node_label,
    check_graph,
    find_cycle_link,
    first_labels,
    is_bool_scalar,
)
from .loopy import tda_size_distribution
from .plan import TreePlan, tree_plan
from .tree import tree_size_distribution

__all__ = ["SeedSelection", "celf"]


@dataclass(frozen=True, repr=False)
class SeedSelection:
    """Result of :func:`celf`.

    Attributes
    ----------
    seeds
        Chosen node labels, in the order picked.
    values
        Objective after each pick.
    evaluations
        Number of size distributions computed (CELF's saving against plain greedy; with
        the mean objective on a forest, only the picks and near-ties need one).
    """

    seeds: list[Hashable]
    values: list[float]
    evaluations: int

    def __repr__(self) -> str:
        # the dataclass repr listed every seed and every value at full precision
        # (2.5000000000000004); the seeds picked first and the objective reached instead
        k = len(self.seeds)
        reached = ""
        if len(self.values) and isinstance(self.values[-1], float | int | np.number):
            reached = f": objective {float(self.values[-1]):.4g}"
            if len(self.values) > 1 and isinstance(self.values[0], float | int | np.number):
                reached += f" (after the first pick {float(self.values[0]):.4g})"
        ev = self.evaluations
        return (f"SeedSelection of {k} seed{'s' * (k != 1)} {first_labels(self.seeds, 5)}"
                f"{reached}; "
                f"{ev} size distribution{'s' * (ev != 1)} computed")


def celf(
    graph: CascadeGraph,
    k: int,
    *,
    objective: Literal["mean", "tail"] = "mean",
    threshold: int | None = None,
    candidates: Iterable[Hashable] | None = None,
    base_seed_prob: float | np.ndarray | torch.Tensor | None = None,
    method: Literal["auto", "tree", "tda", "exact"] = "auto",
    progress: bool = False,
) -> SeedSelection:
    """Choose ``k`` seeds greedily (CELF) to maximise expected size or a tail probability.

    Parameters
    ----------
    graph
        The network.
    k
        Number of seeds to choose.
    objective
        ``"mean"``: expected final size; ``"tail"``: ``P(size >= threshold)``.
    threshold
        Size threshold of the tail objective.
    candidates
        Labels allowed as seeds (default: all nodes); one label alone allows that node. A
        set is taken in node order (``graph.labels``), a list or other sequence in its
        own order, which ties are broken by (below).
    base_seed_prob
        Background seed probabilities (e.g. spontaneous infections) that the chosen
        seeds are added to (one number, one per node, or a dict / pandas Series keyed by
        node label); default none.
    method
        Distribution method, as in :func:`~biomodels.cascade.size_distribution`:
        ``"tree"`` (exact, forests only), ``"exact"`` (exact where every weakly connected
        component with a cycle has at most 12 nodes: households; only the components a
        seed can start are enumerated), ``"tda"`` (an approximation on networks with
        cycles) or ``"auto"``: ``"tree"`` on forests, ``"exact"`` where the components
        with a cycle are that small, else ``"tda"``. A household of 4 (``K4``, ``w =
        0.4``) beside a star of 4 leaves (``w = 0.425``): one seed in the household gives
        2.8129 on average, at the star's centre 2.7; TDA gave the household's seed 2.638
        and picked the centre.
    progress
        Show a tqdm bar of the distributions computed (the tail objective, TDA and the
        exact enumeration compute one per candidate and round; TDA about 10 s per round
        for 1,000 nodes, half an hour for 10,000).

    Returns
    -------
    SeedSelection

    Raises
    ------
    TypeError
        If ``graph`` is not a :class:`~biomodels.cascade.CascadeGraph` (naming the
        constructor that converts a networkx graph or a matrix), or a candidate is not a
        label (a list or set of labels: ``candidates=[["a"], ["b"]]``), naming
        ``candidates``.
    ValueError
        If a candidate is not a node or is given twice (naming ``candidates``), or ``k``,
        ``objective``, ``threshold``, ``base_seed_prob`` or ``method`` is invalid
        (``"tree"`` on a network with a cycle, naming a link on it; ``"exact"`` on one
        with a component with a cycle of more than 12 nodes, naming its size).

    Notes
    -----
    Ties (candidates of exactly equal value, as computed: values equal in exact arithmetic
    may differ in their last bits, and the larger wins) go to the lower node index with the
    mean objective; with the tail objective, to the candidate first in ``candidates`` (node
    order when ``candidates`` is None or a set, so both objectives then agree).

    With the mean objective on a forest (float64 weights), every candidate's gain is
    first known to within the round-off of its distribution from exact expected sizes
    (one linear-time pass per round); the CELF queue is replayed on these intervals and a
    distribution is computed only where the order of the queue depends on it. Picks and
    values are bit for bit those of computing every gain, which is what happens for
    TDA, the exact enumeration, float32 or the tail objective.

    Examples
    --------
    >>> import networkx as nx
    >>> from biomodels.cascade import CascadeGraph
    >>> g = CascadeGraph.from_networkx(nx.star_graph(5), default=0.5)
    >>> celf(g, 1).seeds
    [0]
    """
    n = check_graph(graph).n
    k = check_count("k", k)
    if k > n:
        raise ValueError(f"k: expected 1..{n} seeds, got {k}")
    if objective not in ("mean", "tail"):
        raise ValueError(f"objective: expected 'mean' or 'tail', got {objective!r}")
    if objective == "tail":
        if threshold is None:
            raise ValueError(f"threshold: the tail objective needs a size in 1..{n}")
        threshold = check_count("threshold", threshold)
        if threshold > n:
            raise ValueError(f"threshold: the tail objective needs a size in 1..{n}, "
                             f"got {threshold}")
    if method not in ("auto", "tree", "tda", "exact"):
        raise ValueError(f"method: expected 'auto', 'tree', 'tda' or 'exact', got {method!r}")
    forest = graph.is_forest()
    # auto as size_distribution's: it was TDA on every network with a cycle, households
    # too, where it misjudged seeds (a K4 household's 2.81 read as 2.64)
    how = ("tree" if forest else "exact" if _auto_exact(graph) else "tda"
           ) if method == "auto" else method
    if how == "tree" and not forest:
        # celf's own options: the tree plan's refusal names 'mc', which celf has not
        u, v = find_cycle_link(graph)
        raise ValueError(
            f"method='tree' needs a forest, but the link ({graph.labels[u]!r}, "
            f"{graph.labels[v]!r}) closes a cycle; use {_instead_of_tree(graph, mc=False)}")
    if how == "exact":
        _check_exact(graph, mc=False)  # names a component with a cycle that is too large
    plan = tree_plan(graph) if how == "tree" else None
    dtype, device = graph.dtype, graph.device
    if base_seed_prob is None:
        base = torch.zeros(n, dtype=dtype, device=device)
    else:
        if is_bool_scalar(base_seed_prob) or isinstance(base_seed_prob, str | bytes):
            # True (also torch.tensor(True)) was read as 1.0, every node seeded for sure,
            # and "0.3" failed in torch
            raise TypeError(f"base_seed_prob: expected a probability (a number) or one per "
                            f"node, got {base_seed_prob!r}")
        base = torch.as_tensor(by_node_label(graph, base_seed_prob, "base_seed_prob"),
                               dtype=dtype, device=device)
        if base.dim() > 1 or base.numel() not in (1, n):
            raise ValueError(
                f"base_seed_prob: expected a number or one probability per node ({n}), "
                f"got shape {tuple(base.shape)}"
            )
        if not bool(torch.isfinite(base).all()) or bool(((base < 0) | (base > 1)).any()):
            raise ValueError("base_seed_prob: expected finite probabilities in [0, 1]")
        base = base.expand(n).clone()
    sizes = torch.arange(n + 1, dtype=dtype, device=device)
    evaluations = 0
    from tqdm.auto import tqdm

    bar = tqdm(desc="celf", unit=" distributions", disable=bar_disabled(progress), leave=False)
    # closed however the search ends: a bar left open by Ctrl-C (kept alive by the
    # traceback a notebook holds) pushed every later bar one line down
    try:
        # objective of each seed set computed so far: the exact fallback reuses them
        cache: dict[tuple[int, ...], float] = {}

        def value(chosen: list[int]) -> float:
            nonlocal evaluations
            key = tuple(sorted(chosen))
            if key in cache:
                return cache[key]
            evaluations += 1
            bar.update()
            p = base.clone()
            if chosen:
                p[chosen] = 1.0
            with torch.no_grad():
                if how == "tree":
                    P = tree_size_distribution(graph, p, plan=plan)
                elif how == "exact":  # enumerates the seeded components only
                    P = exact_size_distribution(graph, p)
                else:
                    P = tda_size_distribution(graph, p)
            if objective == "mean":
                cache[key] = float((P * sizes).sum())
            else:
                cache[key] = float(P[threshold:].sum())
            return cache[key]

        # one label alone is a candidate set of one (iterating "12" offered nodes "1" and "2")
        pool = (list(range(n)) if candidates is None
                else [_candidate_index(graph, c) for c in as_label_list(candidates, graph)])
        if isinstance(candidates, set | frozenset):
            # in node order, as without candidates: the tail objective broke ties by the
            # set's own order (string hashing), 'c' in one run and 'a' in the next
            pool.sort()
        if len(set(pool)) != len(pool):
            # a count per node, not pool.count per entry (O(n^2): 1.4 s at 10,000 candidates)
            seen = Counter(pool)
            dup = sorted({graph.labels[v] for v, c in seen.items() if c > 1}, key=str)
            raise ValueError(f"candidates: each node may appear once, repeated: {dup}")
        if k > len(pool):
            raise ValueError(f"k: expected at most the {len(pool)} candidates, got {k}")
        current = value([])
        chosen: list[int] = []
        values: list[float] = []
        if objective == "tail":  # not submodular: lazy bounds do not hold, so plain greedy
            rest = list(pool)
            while len(chosen) < k and rest:
                gains = [value(chosen + [v]) for v in rest]
                best = int(np.argmax(gains))  # ties: the earlier candidate
                chosen.append(rest.pop(best))
                values.append(gains[best])
            return SeedSelection([graph.labels[v] for v in chosen], values, evaluations)
        if how == "tree" and plan is not None and dtype == torch.float64:
            picked = _celf_bounded(graph, plan, base, pool, k, value, current)
            if picked is not None:
                return SeedSelection([graph.labels[v] for v in picked[0]], picked[1], evaluations)
        # every candidate's gain from its distribution (TDA, exact, float32, or a missed bound)
        heap = [(-(value([v]) - current), v, 0) for v in pool]
        heapq.heapify(heap)
        while len(chosen) < k and heap:
            neg_gain, v, stamp = heapq.heappop(heap)
            if stamp == len(chosen):
                chosen.append(v)
                current = current - neg_gain
                values.append(current)
            else:
                gain = value(chosen + [v]) - current
                heapq.heappush(heap, (-gain, v, len(chosen)))
        return SeedSelection([graph.labels[v] for v in chosen], values, evaluations)
    finally:
        bar.close()


def _candidate_index(graph: CascadeGraph, label: Hashable) -> int:
    """Index of one candidate label; errors name ``candidates`` (not seeds, nor a dict).

    A group of labels (``[["a"], ["b"]]``) failed with a bare "unhashable type: 'list'".
    """
    if not isinstance(label, Hashable):
        raise TypeError(f"candidates: {reprlib.repr(label)} is a {type(label).__name__}, not "
                        "a node label; candidates are the labels allowed as seeds "
                        "(candidates=['a', 'b']), each picked alone")
    try:
        return graph.index_of(label)
    except ValueError as exc:  # "seed 'q' is not a node ...": celf has no seeds argument
        raise ValueError(f"candidates: {str(exc).removeprefix('seed ')}") from None


def _celf_bounded(
    graph: CascadeGraph,
    plan: TreePlan,
    base: torch.Tensor,
    pool: list[int],
    k: int,
    value: Callable[[list[int]], float],
    current: float,
) -> tuple[list[int], list[float]] | None:
    """CELF on a forest with the mean objective, computing few distributions.

    Replays the CELF queue of :func:`celf` (keys ``(-gain, node)``, gains
    ``value(chosen + [v]) - current`` from the size distributions) with each gain known
    only to within ``tol`` of its exact expected value (:func:`_expected_gains`, one
    linear pass per round), and computes a distribution only for a pick or where the
    interval leaves the order of the queue open. The picks and values are then those of
    the queue with every gain computed (bit for bit). Returns None if a computed gain
    falls outside its interval (the caller then computes every gain).
    """
    n = graph.n
    tol = _gain_tolerance(n, graph.dtype)
    w = graph.weight.detach().cpu().numpy().astype(np.float64)
    base_np = base.detach().cpu().numpy().astype(np.float64)
    chosen: list[int] = []
    values: list[float] = []
    currents = [current]  # ``current`` when the gains of stamp s were computed
    estimates: dict[int, list[float]] = {}

    def estimate(stamp: int) -> list[float]:
        if stamp not in estimates:
            p = base_np.copy()
            p[chosen[:stamp]] = 1.0
            estimates[stamp] = _expected_gains(plan, w, p).tolist()
        return estimates[stamp]

    def exact(v: int, stamp: int) -> float:
        # the heap key of the full queue, computed as there (same floats)
        return -(value(chosen[:stamp] + [v]) - currents[stamp])

    # entries: (key, node, stamp, estimate); key = -(upper bound of the gain) until the
    # gain is computed (estimate None); the node breaks ties, so the rest never compares
    est0 = estimate(0)
    heap: list[tuple[float, int, int, float | None]] = [
        (-(est0[v] + tol), v, 0, est0[v]) for v in pool
    ]
    heapq.heapify(heap)
    while len(chosen) < k and heap:
        key, v, stamp, est = heapq.heappop(heap)
        if est is not None:
            # the full queue pops v next if even its lowest gain beats every other bound
            first = not heap or (-(est - tol), v) < heap[0][:2]
            if not first or stamp == len(chosen):
                key = exact(v, stamp)
                if abs(-key - est) > tol:
                    return None  # the round-off bound failed: compute every gain
                if not first:
                    heapq.heappush(heap, (key, v, stamp, None))
                    continue
        if stamp == len(chosen):
            chosen.append(v)
            current = current - key
            values.append(current)
            currents.append(current)
        else:  # stale: its new gain, bounded
            g = estimate(len(chosen))[v]
            heapq.heappush(heap, (-(g + tol), v, len(chosen), g))
    return chosen, values


def _gain_tolerance(n: int, dtype: torch.dtype) -> float:
    """Bound on ``|gain from distributions - exact expected gain|`` for ``n`` nodes.

    Each ``P(size = k)`` carries up to ``4 eps sqrt(n + 1)`` of round-off (the measured
    floor of the unit-circle evaluation, ``cli._precision_floor``), so a mean
    ``Σ k P_k`` is off by at most that times ``n (n + 1) / 2``; a gain is a difference of
    two means. The last term covers the linear pass (``~eps`` per step, ``n`` steps).
    """
    eps = float(torch.finfo(dtype).eps)
    floor = 4 * eps * math.sqrt(n + 1)
    return 2 * floor * n * (n + 1) / 2 + 4 * eps * (n + 1) ** 2


def _expected_gains(plan: TreePlan, weight: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Exact ``E[size | seeds p, plus v] - E[size | seeds p]`` of every node ``v`` of a forest.

    With ``r_{f->x}`` the probability that no activation reaches ``x`` from the branch of
    its neighbour ``f`` while ``x`` is inactive (exact belief propagation on a tree),
    seeding ``v`` activates an inactive ``u`` with the product, along the path
    ``v = x_0, ..., x_m = u``, of ``w_{x_i x_{i+1}} (1 - p_{x_i}) Π r`` over the other
    neighbours of ``x_i``, times ``u``'s own ``(1 - p_u) Π r``. Summing over ``u`` is a
    pass up and a pass down the rooted forest, each neighbour contributing a dual number
    ``(r_{f->x}, w_{xf} T_f)`` (``T_f``: the sum over ``f``'s branch); exclusive products
    are prefix times suffix, so there are no divisions by zero probabilities. ``O(n)``.
    """
    n = plan.n
    wl = np.append(weight, 0.0)  # index num_edges: an absent direction
    w_up = wl[plan.e_up].tolist()  # child -> parent
    w_dn = wl[plan.e_down].tolist()  # parent -> child
    q = (1.0 - p).tolist()
    parent = plan.parent.tolist()
    order = np.argsort(plan.level, kind="stable").tolist()  # children first
    kids, start, count = plan.kids.tolist(), plan.kid_start.tolist(), plan.kid_count.tolist()
    r_up = [1.0] * n  # r_{c -> parent}
    t_up = [0.0] * n  # T of c's branch entered from its parent
    for c in order:
        a, b = 1.0, 0.0
        for d in kids[start[c] : start[c] + count[c]]:
            a, b = a * r_up[d], a * w_dn[d] * t_up[d] + b * r_up[d]
        if parent[c] >= 0:
            r_up[c] = 1.0 - w_up[c] * (1.0 - q[c] * a)
            t_up[c] = q[c] * (a + b)
    gain = [0.0] * n
    r_dn = [1.0] * n  # r_{parent -> c}
    t_dn = [0.0] * n  # T of the parent's branch entered from c
    for v in reversed(order):
        ch = kids[start[v] : start[v] + count[v]]
        fa = [r_up[d] for d in ch]
        fb = [w_dn[d] * t_up[d] for d in ch]
        if parent[v] >= 0:
            fa.append(r_dn[v])
            fb.append(w_up[v] * t_dn[v])
        m = len(fa)
        pa, pb = [1.0] * (m + 1), [0.0] * (m + 1)  # prefix products (dual numbers)
        for i in range(m):
            pa[i + 1] = pa[i] * fa[i]
            pb[i + 1] = pa[i] * fb[i] + pb[i] * fa[i]
        gain[v] = q[v] * (pa[m] + pb[m])
        sa, sb = 1.0, 0.0  # suffix product
        for i in range(m - 1, -1, -1):
            if i < len(ch):
                ea, eb = pa[i] * sa, pa[i] * sb + pb[i] * sa
                d = ch[i]
                r_dn[d] = 1.0 - w_dn[d] * (1.0 - q[v] * ea)
                t_dn[d] = q[v] * (ea + eb)
            sa, sb = sa * fa[i], sa * fb[i] + sb * fa[i]
    return np.asarray(gain, dtype=np.float64)
