r"""Exact cascade size distributions of networks whose components with a cycle are small.

Households, classrooms and other small groups are where the Independent Cascade meets
short cycles, and where TDA (:mod:`biomodels.cascade.loopy`) is only an approximation:
a household of 4 (``K4``, ``w = 0.4``, one index case) has ``P(size = 1..4)`` =
``.216 .156 .228 .400``, which TDA gives as ``.216 .156 .403 .225`` (total variation
0.175). For a component of ``m`` nodes the exact distribution takes about ``3^m``
operations, which is cheap for small ``m``.

The method (live-edge form of the model; a virtual source ``s`` with an edge ``s -> v`` of
probability ``p_v`` to every node ``v``): for a source ``x`` (``s`` or a node) and a set
``A`` of nodes without ``x``, let ``R_x(A)`` be the probability that every node of ``A`` is
reached from ``x`` along live edges inside ``A + x``. The final active set is ``S`` with
probability

.. math:: P(S) = R_s(S) \prod_{v \notin S} (1 - p_v) \prod_{u \in S} (1 - w_{uv}).

``R_x(A)`` follows from smaller sets. The textbook recursion
``R(A) = 1 - Σ_{B ⊊ A} R(B) cut(B, A \ B)`` subtracts a sum near 1 where ``R(A)`` is
tiny (``K5`` seeded at one node: at ``w = 0.01`` ``P(size = 5) = 1.2e-6`` came out with
a relative error of 1.2e-10, at ``w = 1e-4`` ``P(size = 5) = 1.25e-14`` with 1.4e-2; this
form: at most 6e-16 for every size of both). We split on the highest node ``v`` of
``A`` instead: let ``B`` be the set that ``x`` reaches inside ``A \ v``, so that no live
edge leads from ``B + x`` to ``C = A \ v \ B``; then ``v`` must be hit from ``B + x``, and
all of ``C`` reached from ``v`` inside ``C + v`` (the edges into ``C`` from ``B + x`` are
dead). The four events use disjoint edges, so

.. math:: R_x(A) = \sum_{B \subseteq A \setminus v} R_x(B)\, \mathrm{cut}_x(B, C)\,
          \mathrm{hit}_x(B, v)\, R_v(C),

with ``cut_x(B, C) = Π_{c ∈ C} (1 - w_xc) Π_{u ∈ B} (1 - w_uc)`` and
``hit_x(B, v) = 1 - (1 - w_xv) Π_{u ∈ B} (1 - w_uv)``, the latter summed as positive terms
(``w_xv + (1 - w_xv) hit(B, v)``, by the first live edge). Every term is a product of
probabilities: no cancellation, every ``P(S)`` to a relative error of a few ``eps`` however
small, weights of exactly 0 and 1 exact, and differentiable in the weights and seed
probabilities through torch's products. A node source ``x`` only ever needs sets below it
(``C`` lies below ``v``), so the work is about ``0.75 * 3^m`` terms per component of ``m``
nodes.

Per weakly connected component (by structure, as TDA splits the network): components
without a cycle go through the exact tree pass (:func:`~biomodels.cascade.tree_size_distribution`),
components with a cycle are enumerated, in batches of components of the same size, and
the components' distributions are convolved (their sizes add). ``P(node i active | size =
k)`` (:func:`~biomodels.cascade.conditional_activation`) sums the same ``P(S)`` over the
sets with ``i``, per component, before the convolution.
"""

from __future__ import annotations

import contextlib
import functools
from typing import NamedTuple

import numpy as np
import torch

from core.checks import check_count

from .graph import CascadeGraph, check_graph
from .loopy import (
    _combine_blocks,
    _Components,
    _convolve_rows,
    _exact_head_conditionals,
    _one_row,
    _reached_sizes,
    _weak_components,
)
from .tail import _held_warnings, _last_unresolved, _record_unresolved, _warn_parts_unresolved
from .tree import (
    _min_prob,
    check_seed_vector,
    tree_conditional_activation,
    tree_size_distribution,
)

__all__ = ["exact_size_distribution"]

#: default largest component with a cycle that is enumerated, and the largest that
#: ``method="auto"`` takes, however many there are (one CPU thread: 12 nodes 0.02 s,
#: 0.05-0.07 s with backward; each node more about triples time and memory)
MAX_NODES = 12

#: the most nodes a component may have for the enumeration at all: 14 nodes took
#: 0.4-0.7 s with its tables (0.9-1.3 s and 1.4 GB with backward); 16 would take about ten
#: times that
_HARD_MAX_NODES = 14

#: terms of one batch of components of the same size (bounds the memory of a pass)
_BATCH_TERMS = 1 << 21


class _Enumeration(NamedTuple):
    """The terms of the recursion for components of ``m`` nodes, level by level (``|A|``).

    Sources are numbered ``0..m-1`` (the nodes) and ``m`` (the virtual source ``s``); a
    set of nodes is a bit mask. Per level: each term's source ``x``, sets ``A``, ``B``,
    ``C``, pivot ``v`` and its pair ``(B, C)`` (index into that level's ``pair_b`` /
    ``pair_c``), so that ``cut`` is taken once per pair, not per source.
    """

    levels: list[dict[str, np.ndarray]]
    popcount: np.ndarray  # |S| of every mask S
    bits: np.ndarray  # (2^m, m): whether node i is in mask S
    terms: int


def _enumeration(m: int) -> _Enumeration:
    """Return the terms of the recursion for ``m`` nodes (kept for ``m <= MAX_NODES``)."""
    # 14 nodes: 3.6e6 terms, 0.15 s to build and 200 MB of indices, not worth keeping;
    # exact_size_distribution builds them once per call, for all its batches
    return _cached_enumeration(m) if m <= MAX_NODES else _build_enumeration(m)


def _build_enumeration(m: int) -> _Enumeration:
    """Build the terms of the recursion, as described in the module."""
    full = 1 << m
    masks = np.arange(full, dtype=np.int64)
    bits = ((masks[:, None] >> np.arange(m)) & 1).astype(bool)
    popcount = bits.sum(1).astype(np.int64)
    pa, pb, pc, pv = [], [], [], []
    b = c = np.zeros(1, dtype=np.int64)
    for v in range(m):
        # every node below v is outside A, in B or in C: the base-3 digits of 0..3^v - 1,
        # node v - 1's the highest, so the sets of v - 1 taken three times (digit by
        # digit, all at once, was 0.46 s of the 14-node tables' 0.6 s)
        if v:
            bit = np.int64(1) << (v - 1)
            b, c = np.concatenate([b, b + bit, b]), np.concatenate([c, c, c + bit])
        pa.append(b | c | (1 << v))
        pb.append(b)
        pc.append(c)
        pv.append(np.full(b.size, v, dtype=np.int64))
    A, B, C, V = (np.concatenate(x) for x in (pa, pb, pc, pv))
    level_of = popcount[A]
    levels = []
    terms = 0
    for k in range(1, m + 1):
        at = np.flatnonzero(level_of == k)
        a, b, c, v = A[at], B[at], C[at], V[at]
        # sources: the nodes above the pivot (R_x of sets below x only) and s
        count = m - v
        pair = np.repeat(np.arange(at.size), count)
        start = np.repeat(np.cumsum(count) - count, count)
        x = v[pair] + 1 + (np.arange(pair.size) - start)
        levels.append(dict(x=x, A=a[pair], B=b[pair], C=c[pair], v=v[pair], pair=pair,
                           pair_b=b, pair_c=bits[c]))
        terms += pair.size
    return _Enumeration(levels, popcount, bits, terms)


_cached_enumeration = functools.lru_cache(maxsize=None)(_build_enumeration)


def _enumerate(W: torch.Tensor, p: torch.Tensor, plan: _Enumeration) -> torch.Tensor:
    """Exact size distributions of a batch of components of the same size.

    Parameters and the result as :func:`_set_probabilities`, summed by set size: shape
    ``(K, m + 1)``, ``P(size = j)`` of each component, every entry a sum of products of
    probabilities.
    """
    out = torch.zeros(p.shape[0], p.shape[1] + 1, dtype=W.dtype, device=W.device)
    return out.index_add(1, torch.from_numpy(plan.popcount).to(W.device),
                         _set_probabilities(W, p, plan))


def _set_probabilities(W: torch.Tensor, p: torch.Tensor, plan: _Enumeration) -> torch.Tensor:
    """Exact probabilities of every final active set of a batch of components of one size.

    Parameters
    ----------
    W
        Shape ``(K, m, m)``, float64: ``W[k, u, v]`` the weight of ``u -> v`` in component
        ``k`` (0 where there is no edge).
    p
        Shape ``(K, m)``, float64: the seed probabilities.
    plan
        ``_enumeration(m)``, built once by the caller for all its batches (above
        ``MAX_NODES`` it is not cached, and building it took longer than the pass: 0.3 s
        of a 13-node component's 0.33 s).

    Returns
    -------
    torch.Tensor
        Shape ``(K, 2^m)``: ``P(final set = S)`` of each component, ``S`` a bit mask of its
        nodes, every entry a sum of products of probabilities (``R_s(S)`` times the
        dead edges).
    """
    K, m = p.shape
    full = 1 << m
    dev = W.device

    def idx(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a).to(dev)

    src = torch.cat([W, p.unsqueeze(1)], dim=1)  # (K, m + 1, m): row m is s -> v
    # M[B, c] = Π_{u ∈ B} (1 - w_uc) and H[B, c] = 1 - M[B, c], built one node at a time
    # (H as a sum of positive terms, by the first live edge)
    M = torch.ones(K, 1, m, dtype=W.dtype, device=dev)
    H = torch.zeros(K, 1, m, dtype=W.dtype, device=dev)
    E = torch.ones(K, m + 1, 1, dtype=W.dtype, device=dev)  # E[x, C] = Π_{c ∈ C} (1 - w_xc)
    for u in range(m):
        row = W[:, u : u + 1, :]
        M, H = torch.cat([M, M * (1 - row)], dim=1), torch.cat([H, H + M * row], dim=1)
        E = torch.cat([E, E * (1 - src[:, :, u : u + 1])], dim=2)
    Hf, Ef, Sf = H.reshape(K, -1), E.reshape(K, -1), src.reshape(K, -1)
    R = torch.zeros(K, (m + 1) * full, dtype=W.dtype, device=dev)
    R[:, ::full] = 1  # R_x(∅) = 1 for every source
    for lev in plan.levels:
        x, A, B, C, v = (idx(lev[key]) for key in ("x", "A", "B", "C", "v"))
        pair_b = idx(lev["pair_b"])
        cut_nodes = torch.where(idx(lev["pair_c"]), M.index_select(1, pair_b), 1.0).prod(-1)
        w_xv = Sf.index_select(1, x * m + v)
        hit = w_xv + (1 - w_xv) * Hf.index_select(1, B * m + v)
        term = (R.index_select(1, x * full + B) * Ef.index_select(1, x * full + C)
                * cut_nodes.index_select(1, idx(lev["pair"])) * hit
                * R.index_select(1, v * full + C))
        R = R.index_add(1, x * full + A, term)
    Rs = R[:, m * full :]
    # no live edge leaves the final set S: Π_{v ∉ S} (1 - p_v) M[S, v]
    stay = torch.where(idx(plan.bits), 1.0, (1 - p).unsqueeze(1) * M).prod(-1)
    return Rs * stay


def _auto_exact(graph: CascadeGraph, *, max_nodes: int = MAX_NODES) -> bool:
    """Whether ``method="auto"`` takes the exact enumeration on ``graph``.

    True where ``graph`` has a cycle and every weakly connected component with a cycle has
    at most ``max_nodes`` nodes (by structure: the weights do not matter), however many
    such components there are: the enumeration's work grows linearly with their number,
    as TDA's does, and it was faster than TDA on households (100,000 households of 5:
    1.8 s against 9 s); the batches bound its memory.
    """
    return 0 < _largest_cyclic(graph) <= max_nodes


def _largest_cyclic(graph: CascadeGraph) -> int:
    """Nodes of the largest weakly connected component with a cycle (0 on a forest)."""
    if graph.is_forest():
        return 0
    count, comp = _weak_components(graph)
    parts = _Components.of(graph, comp, count)
    return int(np.diff(parts.node_start)[parts.cyclic].max())


def _instead_of_tree(graph: CascadeGraph, *, exact: bool = True, mc: bool = True,
                     cli: bool = False) -> str:
    """Name the methods to use where ``method="tree"`` meets ``graph``, which has a cycle.

    Only those that the caller has (``exact``: an ``"exact"`` method, ``mc``: a Monte Carlo
    one; ``cli``: worded as ``prunus cascade size``'s options, which has both and auto):
    ``"exact"`` first where every component with a cycle is small enough for it, else the
    size of the largest.
    """
    largest = _largest_cyclic(graph) if exact else 0
    small = exact and largest <= MAX_NODES
    if cli:
        use = ["--method tda (an approximation) or mc,", "or auto"]
        if small:
            use.insert(0, f"--method exact (exact here: every component with a cycle has at "
                          f"most {MAX_NODES} nodes),")
        else:
            use.append(f"(--method exact takes components with a cycle of at most "
                       f"{MAX_NODES} nodes; one here has {largest} nodes)")
        return " ".join(use)
    names = ["'tda' (an approximation)"] + ["'mc' (Monte Carlo)"] * mc
    if small:
        names.insert(0, f"'exact' (exact here: every component with a cycle has at most "
                        f"{MAX_NODES} nodes)")
    use = "method=" + (", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1
                       else names[0])
    if exact and not small:
        use += (f" ('exact' takes components with a cycle of at most {MAX_NODES} nodes, "
                f"one here has {largest} nodes)")
    return use


def _check_exact(graph: CascadeGraph, max_nodes: int = MAX_NODES, *, mc: bool = True,
                 hint: bool = False) -> None:
    """Refuse a network with a component with a cycle of more than ``max_nodes`` nodes.

    ``mc``: whether the caller has a Monte Carlo method to name; ``hint``: whether to name
    :func:`exact_size_distribution`'s ``max_nodes`` (up to 14) for components that it takes.

    Raises
    ------
    ValueError
        Naming the component's size, ``max_nodes`` and the methods that take it.
    """
    if not graph.is_forest():
        count, comp = _weak_components(graph)
        _refuse_large(_Components.of(graph, comp, count), max_nodes, mc=mc, hint=hint)


def _refuse_large(parts: _Components, max_nodes: int, *, mc: bool = True, hint: bool = False,
                  direct: bool = False) -> None:
    """Raise the ValueError of :func:`_check_exact` where a component of ``parts`` is too large.

    The message names only the caller's options: ``method='exact'`` of
    :func:`~biomodels.cascade.size_distribution` and the fits has no ``max_nodes`` (the
    message said ``max_nodes=12``, and ``method='mc'`` to fits that have none);
    ``direct``: the caller is :func:`exact_size_distribution` itself.
    """
    sizes = np.diff(parts.node_start)[parts.cyclic]
    over = int((sizes > max_nodes).sum())
    if not over:
        return
    largest = int(sizes.max())
    more = f" ({over} such components)" if over > 1 else ""
    head = f"a weakly connected component with a cycle has {largest} nodes{more}, more than "
    why = "the work grows like 3^nodes"
    takes = largest <= _HARD_MAX_NODES  # within what the enumeration takes at all
    if direct:
        if takes:
            why += f"; max_nodes takes up to {_HARD_MAX_NODES}"
        raise ValueError(
            f"graph: {head}max_nodes={max_nodes} ({why}); for larger ones use "
            "size_distribution(graph, ..., method='tda') (an approximation) or method='mc' "
            "(Monte Carlo)")
    if hint and takes:
        allowed = " or ".join(str(k) for k in range(largest, _HARD_MAX_NODES + 1))
        why += (f"; exact_size_distribution(graph, p, max_nodes={allowed}) takes up to "
                f"{_HARD_MAX_NODES}")
    use = "method='tda' (an approximation)" + (" or method='mc' (Monte Carlo)" if mc else "")
    raise ValueError(f"method='exact': {head}the {max_nodes} that method='exact' enumerates "
                     f"({why}); use {use}")


def exact_size_distribution(
    graph: CascadeGraph,
    p: torch.Tensor,
    *,
    max_nodes: int = MAX_NODES,
    tail_accurate: bool = False,
) -> torch.Tensor:
    """Exact cascade size distribution of a network whose components with a cycle are small.

    Every weakly connected component with a cycle is enumerated exactly (see the module
    notes: about ``0.75 * 3^m`` products for ``m`` nodes), the components without a cycle
    go through the exact tree pass, and the components' distributions are convolved.

    Parameters
    ----------
    graph
        The network: any number of components without a cycle (a forest, isolated
        nodes), and components with a cycle of at most ``max_nodes`` nodes each
        (households, small groups). Directed or not, weights of 0 and 1 included.
    p
        Seed probability of every node, shape ``(n,)`` (see
        :func:`~biomodels.cascade.seed_probabilities`).
    max_nodes
        Largest component with a cycle to enumerate, 1 to 14. Time and memory grow
        like ``3^m`` per component, and linearly with the number of components (batched):
        measured on one CPU thread, one component of 12 nodes 0.02 s (0.05-0.07 s with
        backward), 13 nodes 0.12-0.2 s, 14 nodes 0.4-0.7 s (0.9-1.3 s and 1.4 GB with
        backward); 1,000 households of 5 nodes 0.02 s, 100,000 about 2 s (TDA 9 s; with
        backward 7 s and 3.8 GB, TDA 40 s and 13 GB).
    tail_accurate
        Every enumerated probability already has a small relative error, however tiny
        (no cancellation). With True the components' distributions are also convolved
        term by term in float64 (FFT otherwise, whose round-off is about ``eps`` of the
        largest probability), and the components without a cycle take the tail-accurate
        tree pass (:func:`~biomodels.cascade.tree_size_distribution`; it may warn about
        sizes it cannot resolve), so that every size keeps a small relative error.

    Returns
    -------
    torch.Tensor
        ``P(size = k)``, ``k = 0..n``, dtype and device of ``graph.weight`` (computed in
        float64); differentiable in the weights and ``p``, also at weights and seed
        probabilities of exactly 0 or 1. ``P(size = 0)`` is the exact ``Π (1 - p_v)``.
        On a single component with a cycle every entry has a relative error of a few
        ``eps`` (float64); with several components the FFT convolution adds round-off of
        about ``eps`` (use ``tail_accurate`` for tiny probabilities).

    Raises
    ------
    TypeError, ValueError
        If ``graph`` is not a :class:`~biomodels.cascade.CascadeGraph`, ``p`` is not one
        probability per node, ``max_nodes`` is not an integer from 1 to 14, or a component
        with a cycle has more than ``max_nodes`` nodes (naming its size, how far
        ``max_nodes`` goes, and :func:`~biomodels.cascade.size_distribution`'s
        ``method='tda'`` and ``'mc'`` for larger ones).

    Examples
    --------
    A household of 4 (all contacts, ``w = 0.4``) with one index case:

    >>> import networkx as nx
    >>> from biomodels.cascade import CascadeGraph, seed_probabilities
    >>> g = CascadeGraph.from_networkx(nx.complete_graph(4), default=0.4)
    >>> P = exact_size_distribution(g, seed_probabilities(g, seeds=[0]))
    >>> [round(float(x), 4) for x in P]
    [0.0, 0.216, 0.1555, 0.2281, 0.4004]
    """
    check_graph(graph)
    p = check_seed_vector(graph, p)
    max_nodes = check_count("max_nodes", max_nodes)
    if max_nodes > _HARD_MAX_NODES:
        raise ValueError(f"max_nodes: expected at most {_HARD_MAX_NODES} (the work grows like "
                         f"3^nodes: 3^{_HARD_MAX_NODES} = {3**_HARD_MAX_NODES:.1e} terms), "
                         f"got {max_nodes}")
    return _exact_size_distribution(graph, p, max_nodes=max_nodes, tail_accurate=tail_accurate,
                                    refusal={"direct": True})


def _exact_size_distribution(graph: CascadeGraph, p: torch.Tensor, *,
                             max_nodes: int = MAX_NODES, tail_accurate: bool = False,
                             refusal: dict[str, bool] | None = None) -> torch.Tensor:
    """:func:`exact_size_distribution` of checked arguments.

    ``refusal``: the keywords of :func:`_refuse_large` that word the caller's refusal of a
    component too large (default: ``size_distribution``'s, which names
    ``exact_size_distribution``'s ``max_nodes``).
    """
    if graph.is_forest():
        return tree_size_distribution(graph, p, tail_accurate=tail_accurate)
    w = graph.weight
    dev, n = w.device, graph.n
    count, comp = _weak_components(graph)
    parts = _Components.of(graph, comp, count)
    _refuse_large(parts, max_nodes, **({"hint": True} if refusal is None else refusal))
    grad_p = torch.is_grad_enabled() and p.requires_grad
    seeded = np.bincount(comp, weights=p.detach().cpu().numpy() > 0, minlength=count) > 0
    # components that no seed can start add a point mass at 0 (kept for p's gradient)
    cyclic = np.flatnonzero(parts.cyclic & (seeded | grad_p))
    rows: list[tuple[torch.Tensor, np.ndarray]] = []
    loose: list[tuple[int, np.ndarray]] = []  # the tree pass's row, unresolved sizes
    with _held_warnings() if tail_accurate else contextlib.nullcontext([]) as held:
        if not parts.cyclic.all():  # forests and isolated nodes: exact, in one pass
            F, pF, _, _, _ = parts.union(graph, p, np.flatnonzero(~parts.cyclic))
            if tail_accurate:
                _record_unresolved(np.zeros(0, dtype=np.int64))
            rows.append(_one_row(tree_size_distribution(F, pF, tail_accurate=tail_accurate)))
            if tail_accurate:
                loose.append((0, _last_unresolved()))
        sizes = np.diff(parts.node_start)
        for m in np.unique(sizes[cyclic]).tolist():
            group = cyclic[sizes[cyclic] == m]
            # once per size: above MAX_NODES the tables are not cached, and building them
            # for every batch (one component of 13 each) took 0.3 s a component
            plan = _enumeration(m)
            chunk = max(1, _BATCH_TERMS // max(plan.terms, 1))
            for at in range(0, group.size, chunk):
                X = _enumerate(*_dense(graph, p, parts, group[at : at + chunk], m), plan)
                # float64 for the direct convolution: float32 ends at 1e-45
                X = X if tail_accurate else X.to(w.dtype)
                rows.append((X, np.full(X.shape[0], m + 1, dtype=np.int64)))
    if len(rows) == 1 and rows[0][0].shape[0] == 1:  # one component: nothing to convolve
        X = rows[0][0][0].to(w.dtype)
        P = torch.nn.functional.pad(X, (0, n + 1 - X.shape[0]))
    else:
        P = _convolve_rows(rows, n + 1, w.dtype, dev, direct=tail_accurate)
    if tail_accurate:
        reached = _reached_sizes(rows, loose, n)
        _record_unresolved(reached)
        _warn_parts_unresolved(reached, held)
    return torch.cat([torch.prod(1 - p).reshape(1), P[1:]])


def _exact_conditional_activation(graph: CascadeGraph, p: torch.Tensor, *,
                                  min_prob: float | None = None) -> torch.Tensor:
    """Exact ``P(node i active | size = k)`` where every component with a cycle is small.

    Per component with a cycle (and a seed), ``P(i active, component size = m)`` sums the
    enumeration's ``P(final set = S)`` over the sets ``S`` of ``m`` nodes with ``i``; the
    components without a cycle take the exact downward pass together
    (:func:`~biomodels.cascade.tree_conditional_activation`); then the blocks are convolved
    with each other's sizes, as :func:`_tda_conditional_activation` does with its blocks.

    Parameters
    ----------
    graph, p, min_prob
        As in :func:`~biomodels.cascade.conditional_activation`, whose ``"exact"`` method
        this is; ``p`` checked.

    Returns
    -------
    torch.Tensor
        Shape ``(n, n + 1)``, the graph's dtype and device (computed in float64), not
        differentiable.

    Raises
    ------
    ValueError
        If a component with a cycle has more than ``MAX_NODES`` nodes (naming it and
        ``method='tda'``).
    """
    real, dev, n = graph.dtype, graph.device, graph.n
    floor = _min_prob(min_prob, real)
    p = p.detach()
    count, comp = _weak_components(graph)
    parts = _Components.of(graph, comp, count)
    _refuse_large(parts, MAX_NODES, mc=False)
    blocks: list[tuple[np.ndarray, torch.Tensor, torch.Tensor]] = []
    with torch.no_grad():
        if not parts.cyclic.all():  # forests and isolated nodes: exact, together
            F, pF, _, _, nodes = parts.union(graph, p, np.flatnonzero(~parts.cyclic))
            F, pF = F.to(dtype=torch.float64), pF.to(torch.float64)  # as the enumeration
            joint, _ = tree_conditional_activation(F, pF, min_prob=min_prob)
            blocks.append((nodes, joint, tree_size_distribution(F, pF)))
        seeded = np.bincount(comp, weights=p.cpu().numpy() > 0, minlength=count) > 0
        cyclic = np.flatnonzero(parts.cyclic & seeded)  # the others never start
        sizes = np.diff(parts.node_start)
        for m in np.unique(sizes[cyclic]).tolist():
            group = cyclic[sizes[cyclic] == m]
            plan = _enumeration(m)
            pop = torch.from_numpy(plan.popcount).to(dev)
            bits = torch.from_numpy(plan.bits.T).to(dev)  # (m, 2^m): node i in set S
            chunk = max(1, _BATCH_TERMS // max(plan.terms, 1))
            for at in range(0, group.size, chunk):
                cs = group[at : at + chunk]
                PS = _set_probabilities(*_dense(graph, p, parts, cs, m), plan)
                P = torch.zeros(cs.size, m + 1, dtype=PS.dtype, device=dev).index_add(1, pop, PS)
                J = torch.zeros(cs.size, m, m + 1, dtype=PS.dtype, device=dev).index_add(
                    2, pop, PS.unsqueeze(1) * bits)
                for k, c in enumerate(cs.tolist()):
                    nodes = parts.node_order[parts.node_start[c]:parts.node_start[c + 1]]
                    blocks.append((nodes, J[k], P[k]))
        cond = _combine_blocks(blocks, n, torch.float64, dev, floor)
        # sizes 1 and 2 from their closed forms, as the other methods have them (the
        # transforms' round-off is about eps of the largest probability)
        head, _ = _exact_head_conditionals(graph, p, floor)
        cond[:, : head.shape[1]] = head.to(torch.float64)
    return cond.to(real)


def _dense(graph: CascadeGraph, p: torch.Tensor, parts: _Components, cs: np.ndarray,
           m: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the weight matrices ``(K, m, m)`` and seed probabilities ``(K, m)`` of ``cs``.

    In float64, as slices of the graph's weights and ``p`` (autograd reaches them).
    """
    dev = graph.weight.device
    rank = np.full(parts.node_start.size - 1, -1, dtype=np.int64)
    rank[cs] = np.arange(cs.size)
    edges = np.flatnonzero(rank[parts.comp[graph.src]] >= 0)
    nodes = np.flatnonzero(rank[parts.comp] >= 0)
    local = parts.local
    at_edge = (rank[parts.comp[graph.src[edges]]] * m + local[graph.src[edges]]) * m \
        + local[graph.dst[edges]]
    at_node = rank[parts.comp[nodes]] * m + local[nodes]

    def gather(x: torch.Tensor, where: np.ndarray, to: np.ndarray, size: int) -> torch.Tensor:
        values = x.index_select(0, torch.from_numpy(where).to(dev)).to(torch.float64)
        return torch.zeros(size, dtype=torch.float64, device=dev).index_add(
            0, torch.from_numpy(to).to(dev), values)

    W = gather(graph.weight, edges, at_edge, cs.size * m * m).reshape(cs.size, m, m)
    q = gather(p, nodes, at_node, cs.size * m).reshape(cs.size, m)
    return W, q
