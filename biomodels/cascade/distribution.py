"""One entry point for the cascade size distribution, whatever the method."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Literal

import numpy as np
import torch

from .exact import (
    _auto_exact,
    _exact_conditional_activation,
    _exact_size_distribution,
    _instead_of_tree,
)
from .graph import CascadeGraph, check_graph, find_cycle_link, seed_probabilities
from .loopy import _tda_conditional_activation, tda_size_distribution
from .montecarlo import monte_carlo
from .tree import tree_conditional_activation, tree_size_distribution

__all__ = ["size_distribution", "conditional_activation", "Method"]

Method = Literal["auto", "tree", "tda", "exact", "mc"]
_METHODS = ("auto", "tree", "tda", "exact", "mc")


def _resolve(graph: CascadeGraph, method: str, *, exact_auto: bool = False) -> str:
    """Return the method that ``method`` stands for on ``graph`` (``"auto"`` resolved).

    ``"auto"``: ``"tree"`` on a forest; with ``exact_auto``, ``"exact"`` where the
    components with a cycle are small (:func:`~biomodels.cascade.exact._auto_exact`);
    else ``"tda"``. :func:`size_distribution` and :func:`conditional_activation` pass
    ``exact_auto=True``; callers that do not know the ``"exact"`` method yet keep the
    default.
    """
    if method not in _METHODS:
        raise ValueError(f"method: expected one of {_METHODS}, got {method!r}")
    if method == "auto":
        if graph.is_forest():
            return "tree"
        return "exact" if exact_auto and _auto_exact(graph) else "tda"
    return method


def size_distribution(
    graph: CascadeGraph,
    *,
    seeds: Iterable[Hashable] | None = None,
    seed_prob: float | Sequence[float] | np.ndarray | torch.Tensor | None = None,
    method: Method = "auto",
    tail_accurate: bool = False,
    seed_mixture: bool = False,
    n_runs: int = 100_000,
    seed: int | None = 0,
    progress: bool = False,
) -> torch.Tensor:
    """Distribution of the final size of an Independent Cascade, ``P(size = k)``, k = 0..n.

    Burkholz & Quackenbush, "Cascade Size Distributions: Why They Matter and How to
    Compute Them Efficiently", AAAI 2021.

    Parameters
    ----------
    graph
        The weighted directed network (``w_uv`` = probability that u activates v).
    seeds
        A fixed set of seed node labels: active for sure.
    seed_prob
        Independent seed probability, one for all nodes or one per node, read as
        :func:`~biomodels.cascade.seed_probabilities` reads it. Give ``seeds``,
        ``seed_prob`` or both: with both, the nodes of ``seeds`` are seeds for sure and
        ``seed_prob`` applies to the other nodes only (its values for the seeds must still
        be probabilities, but are not used), as ``seed_probabilities`` combines them. E.g. a
        star of 3 leaves, edge weight 0.5, ``seeds=[0]`` (its centre), ``seed_prob=0.1``:
        each leaf is active with probability ``1 - 0.9 * 0.5 = 0.55``, so the size is
        ``1 + Binomial(3, 0.55)`` (the last example below).
    method
        ``"tree"``: exact SDP (forests only); ``"tda"``: tree approximation for networks
        with cycles (exact on forests); ``"exact"``: exact on networks whose weakly
        connected components with a cycle have at most 12 nodes (households; about
        ``3^m`` work for ``m`` nodes, see
        :func:`~biomodels.cascade.exact_size_distribution`); ``"mc"``: Monte Carlo with
        ``n_runs`` runs; ``"auto"``: ``"tree"`` on forests, ``"exact"`` where every
        component with a cycle has at most 12 nodes, however many there are (the work
        grows linearly with their number, as TDA's: 100,000 households of 5 in about 2 s,
        TDA 9 s), else ``"tda"``. A
        household of 4 (``K4``, ``w = 0.4``, one index case) has ``P(size = 1..4)`` =
        ``.216 .156 .228 .400``, which TDA gives as ``.216 .156 .403 .225``.
    tail_accurate
        Small tail probabilities keep a small relative error (``"tree"``, ``"tda"``,
        ``"exact"``): tree passes on several contour radii, and the components'
        distributions convolved term by term. ``"exact"`` enumerates every component with
        a cycle to a small relative error in both modes.
    seed_mixture
        ``"tda"`` only (the other methods ignore it): one TDA pass per possible seed,
        combined as independent cascades (more accurate for small random seed
        probabilities, ``n`` times the cost; see
        :func:`~biomodels.cascade.tda_size_distribution`).
    n_runs, seed
        Monte Carlo runs and generator seed (``"mc"`` only; ``seed=None`` draws fresh
        entropy, other runs on every call).
    progress
        Show a tqdm bar of the Monte Carlo runs (``"mc"`` only; the other methods take one
        pass).

    Returns
    -------
    torch.Tensor
        Shape ``(n + 1,)``, dtype and device of ``graph.weight``; differentiable for
        ``"tree"``, ``"tda"`` and ``"exact"``. The size counts every active node, the
        initially active ones (the seeds, the index case) included: to compare with data
        that count secondary cases only, add the seeds to the data (``+ 1`` for one index
        case).

    Raises
    ------
    TypeError
        If ``graph`` is not a :class:`~biomodels.cascade.CascadeGraph` (the message names
        ``CascadeGraph.from_networkx`` for a networkx graph, ``from_scipy`` for a matrix).
    ValueError
        Unknown method, ``"tree"`` on a network with a cycle (naming a link on it, and
        ``"exact"`` where its components with a cycle are small enough), ``"exact"`` on one
        with a component with a cycle of more than 12 nodes (naming its size;
        :func:`~biomodels.cascade.exact_size_distribution` takes up to 14), neither
        ``seeds`` nor ``seed_prob`` given, or bad seeds or seed probabilities (naming the
        node).

    Notes
    -----
    An SIR epidemic with a fixed infectious period ``tau`` and per-contact transmission
    rate ``beta`` is this model with ``w = 1 - exp(-beta * tau)`` on each contact. With a
    random infectious period a node's transmissions share its period, so they are
    correlated; the Independent Cascade with ``w = 1 - E[exp(-beta * T)]`` gets each
    contact's probability right, but the size distribution, and its mean on networks with
    cycles, only approximately (on a forest a node is reached along one path, so its
    probability and the mean size stay exact; Newman 2002; Kenah & Robins 2007).

    Examples
    --------
    >>> import networkx as nx
    >>> from biomodels.cascade import CascadeGraph, size_distribution
    >>> g = CascadeGraph.from_networkx(nx.path_graph(4), default=0.5)
    >>> P = size_distribution(g, seeds=[0])
    >>> round(float(P.sum()), 12), round(float(P[1]), 3)
    (1.0, 0.5)
    >>> star = CascadeGraph.from_networkx(nx.star_graph(3), default=0.5)  # centre 0
    >>> [round(float(x), 6) for x in size_distribution(star, seeds=[0], seed_prob=0.1)]
    [0.0, 0.091125, 0.334125, 0.408375, 0.166375]

    A household of 4 with one index case: ``"auto"`` takes the exact enumeration.

    >>> home = CascadeGraph.from_networkx(nx.complete_graph(4), default=0.4)
    >>> [round(float(x), 4) for x in size_distribution(home, seeds=[0])]
    [0.0, 0.216, 0.1555, 0.2281, 0.4004]
    """
    check_graph(graph)
    if seeds is None and seed_prob is None:
        # seed= sits beside seeds= and is easy to take for it
        raise ValueError("seeds, seed_prob: give seeds=[node, ...] or seed_prob=...; seed= is "
                         "the Monte Carlo random seed")
    p = seed_probabilities(graph, seeds, seed_prob)
    how = _resolve(graph, method, exact_auto=True)
    if how == "tree":
        return tree_size_distribution(graph, p, tail_accurate=tail_accurate)
    if how == "exact":
        # its refusal of a large component names this function's options (it named
        # max_nodes=12, which size_distribution has not)
        return _exact_size_distribution(graph, p, tail_accurate=tail_accurate)
    if how == "tda":
        return tda_size_distribution(
            graph, p, tail_accurate=tail_accurate, seed_mixture=seed_mixture
        )
    res = monte_carlo(graph, p, n_runs=n_runs, seed=seed, progress=progress)
    return torch.as_tensor(res.distribution, dtype=graph.dtype, device=graph.device)


def conditional_activation(
    graph: CascadeGraph,
    *,
    seeds: Iterable[Hashable] | None = None,
    seed_prob: float | Sequence[float] | np.ndarray | torch.Tensor | None = None,
    method: Literal["auto", "tree", "tda", "exact"] = "auto",
    min_prob: float | None = None,
) -> torch.Tensor:
    """``P(node i active | size = k)`` for every node and size (the downward pass, conSDP).

    Parameters
    ----------
    graph
        The network.
    seeds, seed_prob
        As in :func:`size_distribution`.
    method
        ``"tree"``: exact on forests; ``"exact"``: exact where every weakly connected
        component with a cycle has at most 12 nodes (households, small groups), from the
        probabilities of its final active sets (as ``size_distribution``'s ``"exact"``);
        ``"tda"``: on networks with cycles, the downward pass on TDA's spanning tree with
        folded seed probabilities (an approximation) for sizes ``k >= 3``, and exact for
        ``k <= 2`` (from the closed forms of :func:`~biomodels.cascade.exact_small_sizes`,
        as ``size_distribution``'s exact ``P(1)``, ``P(2)``); exact on forests.
        ``"auto"``: ``"tree"`` on forests, ``"exact"`` where it applies, else ``"tda"``,
        as ``size_distribution`` chooses.
    min_prob
        Sizes with ``P(size = k) < min_prob`` are NaN (undefined or below the precision
        floor). Default: ``max(1e-12, 1e3 * eps)`` of the weights' dtype (``1e-12`` in
        float64, ``1.2e-4`` in float32). With ``"tda"`` on a network with cycles, sizes
        ``k <= 2`` are judged by their exact probabilities, larger ones by the probabilities
        ``size_distribution`` reports (and, on a connected network, by the tree's own; on
        several weakly connected components each is taken alone and their joint
        probabilities convolved with the other components' distributions).

    Returns
    -------
    torch.Tensor
        Shape ``(n, n + 1)``; row ``i`` is node ``i`` (``graph.labels[i]``). For each
        defined ``k`` the column sums to ``k``. Not differentiable (detached from the
        weights and seed probabilities).

    Raises
    ------
    TypeError
        If ``graph`` is not a :class:`~biomodels.cascade.CascadeGraph` (naming the
        constructor that converts it).
    ValueError
        If ``method`` is not ``"auto"``, ``"tree"``, ``"tda"`` or ``"exact"``, is
        ``"tree"`` on a network with a cycle (naming a link on it), or ``"exact"`` on one
        with a component with a cycle of more than 12 nodes.

    Examples
    --------
    >>> import networkx as nx
    >>> from biomodels.cascade import CascadeGraph, conditional_activation
    >>> g = CascadeGraph.from_networkx(nx.path_graph(3), default=0.5)  # 0 - 1 - 2
    >>> C = conditional_activation(g, seeds=[1])
    >>> tuple(C.shape)  # (nodes, sizes 0..n)
    (3, 4)
    >>> bool(C[:, 0].isnan().all())  # size 0 never happens with a seed: undefined
    True
    >>> [round(float(x), 4) for x in C[:, 2]]  # size 2: the seed and one of its neighbours
    [0.5, 1.0, 0.5]
    >>> [round(float(x), 4) for x in C[:, 1:].sum(dim=0)]  # column k sums to k
    [1.0, 2.0, 3.0]
    """
    check_graph(graph)
    p = seed_probabilities(graph, seeds, seed_prob)
    how = _resolve(graph, method, exact_auto=True)
    if how == "mc":
        raise ValueError(f"method: expected 'auto', 'tree', 'tda' or 'exact' for conditional "
                         f"activation, got {method!r}")
    if how == "tree" and (link := find_cycle_link(graph)) is not None:
        # the tree plan's refusal names 'mc', which this function has not
        u, v = link
        raise ValueError(f"method='tree' needs a forest, but the link ({graph.labels[u]!r}, "
                         f"{graph.labels[v]!r}) closes a cycle; use "
                         f"{_instead_of_tree(graph, mc=False)}")
    if how == "exact" and not graph.is_forest():
        return _exact_conditional_activation(graph, p, min_prob=min_prob)
    if how == "tda" and not graph.is_forest():
        return _tda_conditional_activation(graph, p, min_prob=min_prob)
    return tree_conditional_activation(graph, p, min_prob=min_prob)[1]
