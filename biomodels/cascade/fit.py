"""Fit edge activation probabilities to observed cascade sizes (maximum likelihood or Bayes).

The size distribution from :func:`~biomodels.cascade.size_distribution` is differentiable
in the edge weights, so the log-likelihood of a sample of final sizes,
``Σ_obs log P(size = k_obs | w)``, is maximised on logits of the weights (Adam or
L-BFGS). Weights are shared per edge type (``graph.edge_type`` or a given array), one per
edge, or one for all edges. :func:`fit_bayesian` puts Beta priors on the shared weights and
computes the posterior: exactly on a grid when one weight is shared by all edges, with pyro's
stochastic variational inference when there are several.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from core.checks import check_count, check_number, check_seed
from core.fingerprint import fingerprint
from core.grad_mode import with_grad
from core.plateau import loss_plateaued
from core.progress import bar_disabled
from core.seeding import seeded_globals

from .exact import _auto_exact, _check_exact, _instead_of_tree, exact_size_distribution
from .graph import (
    CascadeGraph,
    as_label_list,
    check_graph,
    find_cycle_link,
    first_labels,
    seed_probabilities,
)
from .loopy import tda_size_distribution
from .plan import tree_plan
from .tail import _last_unresolved, _size_support
from .tree import tree_size_distribution

__all__ = ["CascadeFit", "fit_bayesian"]

Sharing = Literal["type", "edge", "all"]
_FORMAT = "prunus.cascade.fit/1"
# SVI's guide: a full covariance up to this many weights (d^2 entries, a Cholesky factor per
# step), beyond it a covariance of this rank plus a diagonal (ctmc's and FJ's choice too)
_FULL_COVARIANCE_MAX = 500
_LOW_RANK = 50


def _param_index(graph: CascadeGraph, share: str, edge_type: np.ndarray | None) -> np.ndarray:
    if share == "all":
        return np.zeros(graph.num_edges, dtype=np.int64)
    if share == "edge":
        return np.arange(graph.num_edges, dtype=np.int64)
    if share == "type":
        types = edge_type if edge_type is not None else graph.edge_type
        if types is None:
            raise ValueError("share='type' needs edge types: set graph.edge_type or `edge_type=`")
        types = np.asarray(types)
        if types.shape != (graph.num_edges,):
            raise ValueError(f"edge_type: expected {graph.num_edges} values, got {types.shape}")
        _, idx = np.unique(types, return_inverse=True)
        return idx.astype(np.int64)
    raise ValueError(f"share: expected 'type', 'edge' or 'all', got {share!r}")


def _type_names(graph: CascadeGraph, share: str,
                edge_type: Any) -> tuple[Hashable, ...] | None:
    """Name of each shared weight of ``share="type"`` (in :func:`_param_index`'s order).

    The types given as ``edge_type`` name themselves; the graph's own are named by
    ``graph.edge_type_names`` (from_networkx numbered "household" and "work" 0 and 1, and
    nothing said which was which). None for other sharings or types without names.
    """
    if share != "type":
        return None
    if edge_type is not None:
        return tuple(np.unique(np.asarray(edge_type)).tolist())
    names = graph.edge_type_names
    if names is None or graph.edge_type is None:
        return None
    return tuple(names[t] for t in np.unique(graph.edge_type).tolist())


def _json_name(name: Any) -> Any:
    """Return a type name as JSON holds it: str, int, float, bool as they are, else text."""
    if isinstance(name, np.generic):
        name = name.item()
    return name if isinstance(name, str | int | float | bool) else str(name)


def _shown(value: Any) -> str:
    """Return a saved field as an error shows it: its first 80 characters."""
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _saved_index(index: Any, share: Any, n_weights: int) -> np.ndarray:
    """Check a saved fit's ``index`` and ``share`` against its ``n_weights`` shared weights.

    ``index[0] = -1`` loaded and ``fit.weights`` then raised IndexError, 0.7 was truncated
    to 0, and a shared weight named by no edge shifted the others (the constructor numbers
    the types it is given anew). Raises ValueError naming the field.

    Parameters
    ----------
    index, share
        The saved fields (from JSON).
    n_weights
        How many shared weights the file holds.

    Returns
    -------
    numpy.ndarray
        The index as int64.
    """
    if share not in ("type", "edge", "all"):
        raise ValueError(f"share is {share!r}, not one of ['type', 'edge', 'all']")
    if not isinstance(index, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in index):
        raise ValueError(f"index must be a list of integers (the shared weight of each "
                         f"edge), got {_shown(index)}")
    outside = next((i for i in index if not 0 <= i < n_weights), None)
    if outside is not None:
        raise ValueError(f"index must hold shared-weight numbers 0 to {n_weights - 1} (one "
                         f"per value of shared_weights), got {outside}")
    out = np.asarray(index, dtype=np.int64)
    unused = np.setdiff1d(np.arange(n_weights), out)
    if unused.size:  # a fit numbers only the weights its edges use
        raise ValueError(f"index names no edge of shared weight {unused[:10].tolist()}")
    if share == "all" and n_weights > 1:
        raise ValueError(f"share is 'all' but index names {n_weights} shared weights")
    if share == "edge" and not np.array_equal(out, np.arange(out.size)):
        raise ValueError("share is 'edge' but index does not give each edge its own weight")
    return out


def _refuse_value_counts(sizes: object) -> None:
    """Refuse a pandas ``value_counts()`` or ``groupby("size")`` Series of counts.

    Either would be read as a list of sizes. The values of ``value_counts()`` are how often
    each size (its index) occurred: read as sizes they fitted 0.729 for 0.433. pandas 2.0
    and later name it ``"count"`` (``"proportion"`` with ``normalize=True``) on an ``Index``
    of the distinct values, never a ``RangeIndex``; a column of raw sizes keeps its own
    name, or a ``RangeIndex`` as read from a file. ``df.groupby("size").size()`` has no
    name, but its index of distinct sizes is named ``"size"`` (0.6146 for 0.4852).
    """
    pd = sys.modules.get("pandas")  # not imported by the caller: no Series to look at
    if pd is None or not isinstance(sizes, pd.Series):
        return
    if isinstance(sizes.index, pd.RangeIndex) or not sizes.index.is_unique:
        return  # value_counts and groupby list each value once
    if sizes.name not in ("count", "proportion"):
        if sizes.index.name == "size":
            raise ValueError(
                "sizes: got a pandas Series whose index is named 'size' and unique, as "
                "df.groupby('size').size() returns (index: the sizes, values: how many "
                "cascades had each), but sizes takes one final size per observed cascade; "
                "pass np.repeat(s.index, s.to_numpy()) to expand it into one size per "
                "cascade (a Series of raw sizes that happens to carry this index: pass "
                "sizes.to_numpy())")
        return
    if sizes.name == "proportion":
        how = ("value_counts(normalize=True) keeps no number of cascades: count them with "
               "vc = ....value_counts() and pass np.repeat(vc.index, vc.to_numpy())")
    else:
        how = "pass np.repeat(vc.index, vc.to_numpy()) to expand it into one size per cascade"
    raise ValueError(
        f"sizes: got a pandas Series named {sizes.name!r} whose index is unique, as "
        "value_counts() returns (index: the sizes, values: how often each occurred), but "
        f"sizes takes one final size per observed cascade; {how} (a Series of raw sizes "
        "that happens to carry this name: pass sizes.to_numpy())")


def _counts(sizes: Sequence[int] | np.ndarray, n: int) -> np.ndarray:
    _refuse_value_counts(sizes)
    if isinstance(sizes, list | tuple) and any(isinstance(v, bool | np.bool_) for v in sizes):
        # np.asarray([1, 2, True]) is [1, 2, 1]: a flag read as a cascade of size 1
        raise TypeError("sizes: expected integer cascade sizes, got a boolean entry")
    s = np.asarray(sizes)
    if s.dtype == object:  # a column of a mixed DataFrame's .values: its entries' own dtype
        # NAType first: pd.NA != pd.NA is itself NA, whose truth pandas 2.0 refuses
        missing = [i for i, v in enumerate(s.tolist()) if v is None
                   or type(v).__name__ == "NAType" or (isinstance(v, float) and v != v)]
        if missing:  # pd.NA of an Int64 column was "must be whole numbers"
            raise ValueError(f"sizes: missing values at positions {missing[:5]}; drop the "
                             "cascades whose size is unknown")
        s = np.asarray(s.tolist())
    if s.ndim != 1 or s.size == 0:
        raise ValueError("sizes: expected a non-empty 1-d array of observed cascade sizes")
    if s.dtype.kind == "f" and np.isnan(s).any():
        raise ValueError(f"sizes: missing values (NaN) at positions "
                         f"{np.flatnonzero(np.isnan(s))[:5].tolist()}; drop the cascades "
                         "whose size is unknown")
    if s.dtype.kind not in "iuf":  # strings break np.mod; booleans would pass as sizes 0, 1
        raise ValueError(f"sizes: expected integer cascade sizes, got dtype {s.dtype}")
    if not np.issubdtype(s.dtype, np.integer):
        if not np.all(np.equal(np.mod(s, 1), 0)):
            raise ValueError("sizes: observed sizes must be whole numbers")
        s = s.astype(np.int64)
    if s.min() < 0 or s.max() > n:
        raise ValueError(f"sizes: observed sizes must lie in 0..{n}, got {s.min()}..{s.max()}")
    return np.bincount(s, minlength=n + 1).astype(np.float64)


def _reachable_count(graph: CascadeGraph, start: np.ndarray) -> int:
    """Count the nodes reachable from the nodes in ``start`` along edges of any weight.

    One breadth-first search from a virtual source linked to ``start``: ``O(n + edges)``.
    Growing the set one hop per pass over all edges cost ``O(diameter x edges)`` (a path
    of 30,000 nodes: 2.2 s, quadratic in ``n``).
    """
    import scipy.sparse as sp
    from scipy.sparse.csgraph import breadth_first_order

    n = graph.n
    if not start.any():
        return 0
    heads = np.flatnonzero(start)
    src = np.concatenate([graph.src, np.full(heads.size, n)])
    dst = np.concatenate([graph.dst, heads])
    adj = sp.csr_matrix((np.ones(src.size, dtype=np.int8), (src, dst)), shape=(n + 1, n + 1))
    return int(breadth_first_order(adj, n, directed=True, return_predecessors=False).size) - 1


class _Likelihood:
    """Log-likelihood of size counts as a function of the shared weights."""

    # its tensors take part in the fits' backward: ordinary ones also when the fit is set up
    # inside the caller's torch.inference_mode()
    @torch.inference_mode(False)
    def __init__(self, graph: CascadeGraph, p: torch.Tensor, index: np.ndarray, method: str):
        self.graph = graph
        # the fits do not fit the seeding: a caller's seed_prob tensor that requires grad
        # got their gradients (a non-leaf one failed at the second backward), and an edit of
        # it in place changed the fit's seeding
        self.p = p.detach().clone()
        self.index = torch.from_numpy(index).to(graph.device)
        forest = graph.is_forest()
        if method == "auto":  # as size_distribution's: exact on households
            method = "tree" if forest else "exact" if _auto_exact(graph) else "tda"
        if method == "tree" and not forest:
            # the fits' own options: the tree plan's refusal names 'mc', which they have not
            u, v = find_cycle_link(graph)
            raise ValueError(
                f"method='tree' needs a forest, but the link ({graph.labels[u]!r}, "
                f"{graph.labels[v]!r}) closes a cycle; use {_instead_of_tree(graph, mc=False)}")
        if method not in ("tree", "tda", "exact"):
            raise ValueError(f"method: expected 'auto', 'tree', 'tda' or 'exact', got "
                             f"{method!r}")
        if method == "exact":
            # names a component with a cycle that is too large, and 'tda' (no 'mc' here)
            _check_exact(graph, mc=False)
        self.method = method
        self.plan = tree_plan(graph) if method == "tree" else None
        # observed sizes whose P came out 0 at the last call (their term: log(tiny)), and
        # whether any call since the flag was reset had one (see floor_message)
        self.floored = np.zeros(0, dtype=np.int64)
        self.floored_unresolved = np.zeros(0, dtype=np.int64)
        self.floored_impossible = np.zeros(0, dtype=np.int64)
        self.floored_any = False

    def counts(self, sizes: Sequence[int] | np.ndarray) -> torch.Tensor:
        """Observed size counts, refusing sizes that no weights can produce.

        Such a size would add a constant ``log(tiny)`` to the likelihood, with no gradient
        and no warning: a fit would report a finite likelihood for impossible data.
        """
        c = _counts(sizes, self.graph.n)
        p = self.p.detach().cpu().numpy()
        low = int((p >= 1).sum())  # the sure seeds are always active
        high = _reachable_count(self.graph, p > 0)
        bad = [int(k) for k in np.flatnonzero(c) if k < low or k > high]
        if bad:
            raise ValueError(
                f"sizes: {bad} cannot occur under these seeds: every cascade has between "
                f"{low} (the sure seeds) and {high} (the nodes a possible seed can reach) "
                "active nodes")
        return torch.as_tensor(c, dtype=self.graph.dtype, device=self.graph.device)

    def distribution(self, shared: torch.Tensor, tail_accurate: bool = False) -> torch.Tensor:
        g = self.graph.with_weight(shared.index_select(0, self.index))
        if self.method == "tree":
            return tree_size_distribution(g, self.p, plan=self.plan, tail_accurate=tail_accurate)
        if self.method == "exact":
            return exact_size_distribution(g, self.p, tail_accurate=tail_accurate)
        return tda_size_distribution(g, self.p, tail_accurate=tail_accurate)

    def __call__(self, shared: torch.Tensor, counts: torch.Tensor, *,
                 strict: bool = False) -> torch.Tensor:
        P = self.distribution(shared)
        # The fast evaluation resolves probabilities only down to ~1e-16 of the total mass;
        # an observed size below that floor would add a constant log(tiny) with no gradient
        # (and can pull the fit to a wrong optimum), so evaluate those weights in the tail-
        # accurate mode instead.
        floor = 1e3 * torch.finfo(P.dtype).eps
        if bool(((counts > 0) & (P.detach() < floor)).any()):
            # in float64 whatever the weights' dtype: float32 probabilities end at 1e-38 and
            # below (log P = -104) gave log(tiny) = -87 with no gradient
            P = self.distribution(shared.double(), tail_accurate=True)
        # a possible size (counts() refused the impossible ones) that came out 0: below
        # float64's range, or one the tail mode could not resolve (it warned; before the
        # tail mode resolved every size, such sizes of 1e-19 were called "below 1e-308")
        lost = np.flatnonzero(((counts > 0) & (P.detach() == 0)).cpu().numpy())
        self.floored = lost
        self.floored_unresolved = (np.intersect1d(lost, _last_unresolved()) if lost.size
                                   else lost)
        self.floored_impossible = self._impossible(shared, lost) if lost.size else lost
        self.floored_any |= bool(lost.size)
        if strict and lost.size:
            # log(tiny) = -708 stood for, e.g., log P = -1040 on a 2,000-node path
            raise ValueError(f"sizes: {self.floor_message()}, so the log-likelihood cannot "
                             "be computed")
        tiny = torch.finfo(P.dtype).tiny
        return (counts.to(P.dtype) * torch.log(P.clamp_min(tiny))).sum().to(counts.dtype)

    def _impossible(self, shared: torch.Tensor, sizes: np.ndarray) -> np.ndarray:
        """Those of ``sizes`` that weights or seed probabilities of exactly 0 or 1 rule out.

        Exact on a forest (:func:`~biomodels.cascade.tail._size_support`); none on TDA.
        """
        if self.method != "tree":
            return sizes[:0]
        w = shared.detach().double().index_select(0, self.index)
        return sizes[~_size_support(self.plan, w, self.p.double())[sizes]]

    def floor_message(self) -> str:
        """Say which observed sizes came out 0 at the last call, and why."""
        unresolved = self.floored_unresolved
        impossible = self.floored_impossible
        under = np.setdiff1d(self.floored, np.union1d(unresolved, impossible))
        parts = []
        if impossible.size:
            parts.append(f"P(size = k) for k = {impossible[:10].tolist()} is 0 under these "
                         "weights: a weight or seed probability of exactly 0 or 1 (a logit "
                         "beyond +-37 rounds to it) rules it out")
        if under.size:
            parts.append(f"P(size = k) for k = {under[:10].tolist()} is below float64's "
                         "range (1e-308) under these weights")
        if unresolved.size:
            parts.append(f"P(size = k) for k = {unresolved[:10].tolist()} could not be "
                         "resolved under these weights (the tail-accurate mode returned 0 "
                         "and named it in a RuntimeWarning)")
        return "; ".join(parts)

    def warn_floored(self, where: str) -> None:
        """Warn that the log-likelihood at ``where`` counted ``log(tiny)`` for some sizes."""
        import warnings

        from biomodels._stacklevel import user_stacklevel

        warnings.warn(
            f"{where}: {self.floor_message()}; the log-likelihood counted log(1e-308) = -708 "
            "for each such cascade, a bound with no gradient, so the result may not be the "
            "likelihood's", RuntimeWarning, stacklevel=user_stacklevel())


class _OutOfPasses(Exception):
    """An L-BFGS line search would exceed the passes ``epochs`` allows (see ``_lbfgs``)."""


def _graph_fingerprint(graph: CascadeGraph) -> str:
    """Fingerprint of the node labels and the edge list (not the weights) of ``graph``.

    In the order the graph stores them: the same network built another way (from networkx
    rather than ``read_edgelist``) has another; :func:`_graph_order` has one for both.
    """
    labels = np.asarray([str(lab) for lab in graph.labels])
    return fingerprint(labels, np.asarray(graph.src, np.int64), np.asarray(graph.dst, np.int64))


def _graph_order(graph: CascadeGraph) -> dict[str, Any] | None:
    """Fingerprint of ``graph``'s labels and edges whatever their order, and that order.

    Nodes are sorted by their label as text and edges by their ends' labels, so any graph
    with the same labels and edges has the same ``fingerprint``; ``nodes`` and ``edges``
    list the graph's own positions in that sorted order, which maps a saved fit's per-node
    and per-edge values onto another storage order (:func:`_reordered`). None where two
    labels read the same as text (1 and "1"), which leaves the sorted order ambiguous.
    """
    text = np.asarray([str(lab) for lab in graph.labels])
    nodes = np.argsort(text, kind="stable")
    if (text[nodes][1:] == text[nodes][:-1]).any():
        return None
    rank = np.empty(graph.n, dtype=np.int64)
    rank[nodes] = np.arange(graph.n)
    src, dst = rank[np.asarray(graph.src, np.int64)], rank[np.asarray(graph.dst, np.int64)]
    edges = np.lexsort((dst, src))  # edges are unique (CascadeGraph refuses repeats)
    return {"fingerprint": fingerprint(text[nodes], src[edges], dst[edges]),
            "nodes": nodes.tolist(), "edges": edges.tolist()}


def _reordered(saved: Any, graph: CascadeGraph) -> tuple[np.ndarray, np.ndarray] | None:
    """Where each node and edge of ``graph`` sits in the graph a fit was saved from.

    Parameters
    ----------
    saved
        The saved fit's ``graph_order`` (:func:`_graph_order` of its graph), or None for
        files written before it.
    graph
        The graph the fit is loaded onto.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray) or None
        ``node[i]``, the saved position of node ``i`` of ``graph``, and ``edge[e]``, that
        of edge ``e``; None if the file has no order or ``graph`` is another network.

    Raises
    ------
    ValueError
        If the saved order is not a permutation of the saved nodes or edges.
    """
    mine = _graph_order(graph)
    if mine is None or not isinstance(saved, dict) or saved.get(
            "fingerprint") != mine["fingerprint"]:
        return None
    maps = []
    for key in ("nodes", "edges"):
        theirs = saved.get(key)
        if not isinstance(theirs, list) or len(theirs) != len(mine[key]) or sorted(
                i if isinstance(i, int) and not isinstance(i, bool) else -1
                for i in theirs) != list(range(len(theirs))):
            raise ValueError(f"graph_order {key} must list the positions 0 to "
                             f"{len(mine[key]) - 1} once each, got {_shown(theirs)}")
        # the k-th node (edge) in sorted order is theirs[k] in the file, mine[k] here
        out = np.empty(len(theirs), dtype=np.int64)
        out[np.asarray(mine[key], dtype=np.int64)] = np.asarray(theirs, dtype=np.int64)
        maps.append(out)
    return maps[0], maps[1]


#: the spread, in logits, of weights that start equal (see :func:`_untied`)
_TIE_SPREAD = 1e-2


def _untied(logits: torch.Tensor) -> torch.Tensor:
    """Return starting logits with the weights that start equal spread apart a little.

    Edges that the network's symmetry exchanges (the leaves of a star, the members of a
    household) get the same gradient at equal weights, so a fit from equal starts kept
    them equal and stopped at a saddle: a star's three leaves, fitted at 0.503 each, 174
    nats below the maximum (0.17, 0.51, 0.83). Starts within ``_TIE_SPREAD`` of another
    count as equal: 1e-6 apart, the fit stopped at the same saddle. The spread is fixed
    (normal draws of sd ``_TIE_SPREAD`` from seed 0, on the CPU in float64), so a fit stays
    reproducible.
    """
    out = logits.detach().clone()
    if out.numel() < 2:
        return out
    order = torch.argsort(out)
    close = (out[order].diff().abs() < _TIE_SPREAD).cpu()
    near = torch.zeros(out.numel(), dtype=torch.bool)
    near[:-1] |= close
    near[1:] |= close
    tied = torch.zeros_like(near)
    tied[order.cpu()] = near
    tied = tied.to(out.device)
    if bool(tied.any()):
        gen = torch.Generator().manual_seed(0)
        noise = _TIE_SPREAD * torch.randn(out.shape, generator=gen, dtype=torch.float64)
        out = torch.where(tied, out + noise.to(device=out.device, dtype=out.dtype), out)
    return out


class CascadeFit:
    """Maximum-likelihood edge activation probabilities from observed cascade sizes.

    Parameters
    ----------
    graph
        The network; its weights are the starting point unless ``init`` is given.
    seeds, seed_prob
        How cascades start (see :func:`~biomodels.cascade.seed_probabilities`). The
        labels are kept as :attr:`seeds`, in the order given (a set's in node order).
    share
        ``"type"``: one weight per edge type (``edge_type`` or ``graph.edge_type``);
        ``"edge"``: one per edge; ``"all"``: one transmission probability for every edge.
    edge_type
        Edge types for ``share="type"``. The shared weights follow the sorted type values;
        ``edge_type_names`` holds them (or the graph's ``edge_type_names`` when the graph's
        own types are used), None for other sharings or unnamed types.
    method
        ``"tree"``, ``"tda"``, ``"exact"`` or ``"auto"`` for the likelihood, as in
        :func:`~biomodels.cascade.size_distribution`: ``"auto"`` is ``"tree"`` on a
        forest, ``"exact"`` where every component with a cycle is small (households of
        at most 12 nodes), else ``"tda"``. A fit saved with ``"auto"`` takes this rule
        when loaded (households fitted before ``"exact"`` existed used TDA).
    init
        Starting probability for every shared weight (None: mean of the graph's weights
        within each group). A first :meth:`fit` spreads the weights that start within 0.01
        of another in logits (equal ones; on a network of many weights given as data, most)
        by fixed draws of sd 0.01, the same on every run: edges that the network's symmetry
        exchanges keep equal gradients at equal weights, and a fit from there stopped at a
        saddle of the likelihood (see Notes).

    Raises
    ------
    TypeError
        If ``graph`` is not a :class:`~biomodels.cascade.CascadeGraph` (naming the
        constructor that converts a networkx graph or a matrix).
    ValueError
        If ``method`` is unknown, ``"tree"`` on a network with a cycle, or ``"exact"`` on
        one with a component with a cycle of more than 12 nodes (naming its size).

    Notes
    -----
    Sizes alone identify weights of edges that the network's symmetry exchanges (the
    leaves of a star, two equal branches) only up to that exchange: a star's leaves of
    0.2, 0.5 and 0.8 fit 0.17, 0.51 and 0.83 in some order, the order set by the start.
    With ``share="edge"`` compare such edges' weights as a set, or share them by type.
    Weights the sizes carry no information on (an edge into a sure seed, or back towards
    the seed on a tree) keep their start, with a warning from :meth:`fit`.

    A gradient step keeps every subtree's distribution for backward, memory that grows
    like nodes times tree depth: measured 0.46 GB on a random tree of 10^4 nodes and
    2.1 GB at 3 x 10^4 (2.7 GB when the likelihood switches to the tail-accurate mode);
    a tree of 10^5 nodes needs more than 10 GB.

    Examples
    --------
    >>> import networkx as nx
    >>> from biomodels.cascade import CascadeGraph, monte_carlo, seed_probabilities
    >>> g = CascadeGraph.from_networkx(nx.random_labeled_tree(30, seed=0), default=0.6)
    >>> sizes = monte_carlo(g, seed_probabilities(g, seeds=[0]), n_runs=500, seed=0).sizes
    >>> fit = CascadeFit(g, seeds=[0], share="all", init=0.3).fit(sizes)
    >>> abs(float(fit.shared_weights[0]) - 0.6) < 0.1
    True
    >>> fit.converged, fit.epochs_run < 300  # it stopped once the gradient met tol
    (True, True)
    """

    def __init__(
        self,
        graph: CascadeGraph,
        *,
        seeds: Iterable[Hashable] | None = None,
        seed_prob: float | Sequence[float] | np.ndarray | torch.Tensor | None = None,
        share: Sharing = "all",
        edge_type: Sequence[int] | np.ndarray | None = None,
        method: Literal["auto", "tree", "tda", "exact"] = "auto",
        init: float | None = None,
    ) -> None:
        self.graph = check_graph(graph)
        self.seeds = as_label_list(seeds, graph)
        self.seed_prob = seed_prob
        self.share = share
        self.method = method
        self.index = _param_index(graph, share, edge_type)
        # the type of each shared weight (share="type"), unnamed types too, for messages
        self._types = (None if share != "type" else np.unique(np.asarray(
            edge_type if edge_type is not None else graph.edge_type)).tolist())
        # the name of each shared weight (share="type"), as fit.json and the repr show them
        self.edge_type_names = _type_names(graph, share, edge_type)
        p = seed_probabilities(graph, self.seeds, seed_prob)
        if isinstance(seeds, set | frozenset):
            # in node order (the labels are checked above): the repr listed a set's seeds
            # in its own order, which string hashing changes from one run to the next
            self.seeds = sorted(self.seeds, key=graph.index_of)
        self._lik = _Likelihood(graph, p, self.index, method)
        n_par = int(self.index.max()) + 1 if self.index.size else 0
        if init is None:
            w = graph.weight.detach()
            sums = torch.zeros(n_par, dtype=w.dtype, device=w.device).index_add(
                0, self._lik.index, w
            )
            cnt = torch.bincount(self._lik.index, minlength=n_par).to(w.dtype)
            start = (sums / cnt.clamp_min(1)).clamp(1e-3, 1 - 1e-3)
        else:
            # a string failed in the comparison with a message naming no argument
            if not 0 < check_number("init", init) < 1:
                raise ValueError(f"init: expected a probability in (0, 1), got {init}")
            start = torch.full((n_par,), float(init), dtype=graph.dtype, device=graph.device)
        self.logits = torch.logit(start).clone()
        # the start: a first fit from it spreads the weights that start equal (fit)
        self._start = self.logits.clone()
        self.history: list[float] = []
        # set by fit: the largest |d mean log-likelihood / d logit| at the fitted weights
        self.gradient: float | None = None
        self.converged: bool | None = None
        # set by fit: the steps its last call took (Adam: at most its epochs)
        self.epochs_run: int | None = None
        # set by fit: the distribution passes its last call made, and its optimizer
        self.evaluations: int | None = None
        self.optimizer: str | None = None

    def __repr__(self) -> str:
        # what a notebook shows for `fit` (it was "<biomodels.cascade.fit.CascadeFit object
        # at 0x...>"); cheap: no likelihood is computed
        g, sp = self.graph, self.seed_prob
        seeding = [] if self.seeds is None else [f"seeds {first_labels(self.seeds)}"]
        if isinstance(sp, float | int | np.number) or (isinstance(sp, np.ndarray | torch.Tensor)
                                                        and sp.ndim == 0):
            seeding.append(f"seed_prob={float(torch.as_tensor(sp).detach()):g}")
        elif sp is not None:  # one per node, or the saved seeding of a loaded fit
            p = self._lik.p.detach()
            sure = torch.nonzero(p == 1).reshape(-1).tolist()
            seeding = ([f"seeds {first_labels([g.labels[i] for i in sure])}"]
                       if self.seeds is None and bool(((p == 0) | (p == 1)).all())
                       else [*seeding, "seed_prob per node"])
        n_par = len(self.logits)
        auto = " (auto)" if self.method == "auto" else ""
        e = g.num_edges
        lines = [f"CascadeFit on {g.n} node{'s' * (g.n != 1)}, {e} edge{'s' * (e != 1)}; "
                 f"{' + '.join(seeding)}",
                 f"    share={self.share!r} ({n_par} weight{'s' * (n_par != 1)}), "
                 f"method {self._lik.method!r}{auto}"]
        if not self.history:
            lines.append("    not fitted: call fit(sizes)")
        else:
            values = self.shared_weights[:3].tolist()
            names = self.edge_type_names
            # names that are not just the numbers 0..T-1 say which weight is which type
            if names is not None and list(names) != list(range(len(names))):
                w = ", ".join(f"{name} {v:.3g}" for name, v in zip(names, values))
            else:
                w = ", ".join(f"{v:.3g}" for v in values)
            # "epochs" read wrong for L-BFGS steps; whether more steps would move the weights
            # is what a reader of a fit wants next
            state = ("" if self.converged is None else ", converged" if self.converged
                     else f", not converged (gradient {self.gradient:.2g})")
            # history holds one value per step, or one for a call that took none: it
            # counted "1 steps" for such a call and summed earlier calls' steps in
            n, h = self.epochs_run, len(self.history)
            if n is None:  # a file written before epochs_run was saved
                steps = f"{h} value{'s' * (h != 1)} in history"
            else:
                steps = f"{n} step{'s' * (n != 1)}" + (
                    f" in its last call ({h} values in history)" if h != max(n, 1) else "")
            lines.append(f"    fitted: {steps}{state}; "
                         f"weight{'s' * (n_par != 1)} {w}{', ...' * (n_par > 3)}; mean "
                         f"log-likelihood {self.history[-1]:.4g} per cascade")
        return "\n".join(lines)

    @property
    def shared_weights(self) -> torch.Tensor:
        """The fitted probability of each shared parameter (type, edge or the single one)."""
        return torch.sigmoid(self.logits.detach())

    @property
    def weights(self) -> torch.Tensor:
        """The fitted probability of every edge."""
        return self.shared_weights.index_select(0, self._lik.index)

    @property
    def fitted_graph(self) -> CascadeGraph:
        """The network with the fitted weights."""
        return self.graph.with_weight(self.weights)

    def log_likelihood(self, sizes: Sequence[int] | np.ndarray) -> float:
        """Log-likelihood of observed sizes under the current weights.

        Parameters
        ----------
        sizes
            Observed final cascade sizes (integers in ``0..n``).

        Returns
        -------
        float
            ``Σ_obs log P(size = k_obs | w)`` (a sum, not the per-outbreak mean that
            ``history`` holds).

        Raises
        ------
        ValueError
            If a size cannot occur under these seeds, or its probability is below
            float64's range (``1e-308``) under the current weights, or the tail-accurate
            mode could not resolve it (the message says which, by size).
        """
        counts = self._lik.counts(sizes)
        with torch.no_grad():
            return float(self._lik(self.shared_weights, counts, strict=True))

    @with_grad  # also inside the caller's torch.no_grad()
    def fit(
        self,
        sizes: Sequence[int] | np.ndarray,
        *,
        epochs: int = 300,
        lr: float | None = None,
        tol: float = 1e-5,
        progress: bool = False,
        stop_early: bool = True,
        optimizer: Literal["adam", "lbfgs"] = "adam",
    ) -> CascadeFit:
        """Maximise the likelihood of the observed final sizes with Adam or L-BFGS on logits.

        Parameters
        ----------
        sizes
            Observed final cascade sizes (integers in ``0..n``), one per cascade. A size
            counts every active node, the initially active ones (the index case) included:
            data counting secondary cases only must add the seeds (``+ 1`` for one index
            case). A pandas ``value_counts()`` Series (sizes as its index) is refused:
            expand it with ``np.repeat(vc.index, vc.to_numpy())``.
        epochs
            The cost bound, in exact distribution passes (each with its backward) after
            the one at the starting weights, so that a call makes at most ``epochs + 1``
            passes with either optimizer. Adam: the most steps to take, one pass each (the
            last pass scores the fitted weights). L-BFGS: the most passes its line searches
            may make; a step takes one or more of them, so it takes at most ``epochs``
            steps. Fewer when the fit converges first (see ``stop_early``).
        lr
            Adam's learning rate on the logits (None: 0.05), or L-BFGS's, the first trial
            step of each line search as a multiple of the quasi-Newton step (None: 1; the
            line search extrapolates or backtracks from it).
        tol
            The weights have converged when no logit's gradient of the mean log-likelihood
            per cascade exceeds ``tol`` at them.
        progress
            Show a tqdm progress bar.
        stop_early
            Stop, without taking the step, at the first weights that have converged (their
            gradient is computed for the step anyway, so the test costs nothing). False: take
            all ``epochs`` steps (L-BFGS: use all the passes, or stop where its line search
            can no longer move the weights), as Adam at a fixed ``lr`` may carry the weights
            past the point where they met ``tol``.
        optimizer
            ``"adam"``: Adam at a fixed ``lr``, one step per pass. ``"lbfgs"``:
            ``torch.optim.LBFGS`` with a strong-Wolfe line search; a step is one L-BFGS
            iteration (a quasi-Newton direction and the line search along it) and ends at
            the point the line search accepts. For this deterministic, smooth objective with
            few weights L-BFGS typically meets a small ``tol`` in far fewer passes, where
            Adam at a fixed ``lr`` can stall above it (see Notes).

        Returns
        -------
        CascadeFit
            ``self``, with ``epochs_run`` the steps this call took, ``history`` extended by
            the mean log-likelihood per cascade of the weights after each of them
            (``history[-1]``: the fitted weights'; a call that takes no step, its starting
            weights having converged, adds their value as its one entry), ``converged``
            and ``gradient`` (the largest absolute gradient per logit at the fitted weights;
            ``False`` means more ``epochs`` would still move them), ``evaluations`` (the
            distribution passes the call made) and ``optimizer``. A further call continues
            from the fitted weights (with a fresh Adam or L-BFGS state) and extends
            ``history``; a call that fails or is interrupted (Ctrl-C) changes none of these.

        Raises
        ------
        TypeError, ValueError
            If ``epochs`` is not a positive integer, ``lr`` not a positive number, ``tol``
            not a non-negative number, ``stop_early`` not True or False, ``optimizer`` not
            ``"adam"`` or ``"lbfgs"``, a size cannot occur, ``sizes`` holds a missing value
            (NaN, None, ``pd.NA``) or a boolean, or is a pandas ``value_counts()`` Series.

        Warns
        -----
        RuntimeWarning
            If at the fitted weights an observed size's probability is below float64's
            range (``1e-308``) or unresolved: its term counts ``log(1e-308)``, a bound with
            no gradient, so the weights may not maximise the likelihood; ``converged`` is
            then False.

        Notes
        -----
        Measured (float64, ``tol=1e-5``): on a 200-node random tree with three edge types
        (``seed_prob=0.02``, 2,000 cascades, three samples) Adam ended its 300 steps at a
        gradient of 1.5e-4 to 2.6e-4 and met ``tol`` after 514 to 993 passes, L-BFGS after
        32 to 39 (0.2 to 0.3 s against 3.7 to 7.5 s); one weight shared by a 30-node tree:
        154 passes against 5. Where the likelihood is flat a gradient below ``tol`` still
        leaves the weights up to 0.03 from the optimum: a smaller ``tol`` takes them there,
        with L-BFGS down to gradients of 1e-10 to 1e-8, where float64 rounding stops its
        line search (``converged`` False for a smaller ``tol``). On a float32 graph that
        happens above the default ``tol``, at gradients near 1e-4 (a 12-node tree: 5.3e-5
        after 8 passes, the weights those of float64 to four digits, ``converged`` False
        however many ``epochs``): fit in float64 (``graph.to(dtype=torch.float64)``), with
        Adam, or with a ``tol`` to match. Many weakly identified
        weights (one per edge) have several stationary points, and a logit's gradient
        vanishes as its weight nears 0 or 1: on a 50-node tree L-BFGS's long steps took 28
        of the 49 weights within 3e-4 of 0 or 1 (Adam 11) and stopped at a lower likelihood
        than Adam's; L-BFGS continued from Adam's fit improved on both.
        """
        epochs = check_count("epochs", epochs)
        tol = check_number("tol", tol, at_least=0)
        if not isinstance(stop_early, bool | np.bool_):  # "no" would switch it on
            raise TypeError(f"stop_early must be True or False, got {stop_early!r}")
        if not isinstance(optimizer, str) or optimizer not in ("adam", "lbfgs"):
            raise ValueError(f"optimizer: expected 'adam' or 'lbfgs', got {optimizer!r}")
        if lr is None:
            lr = 0.05 if optimizer == "adam" else 1.0
        lr = check_number("lr", lr, above=0)
        counts = self._lik.counts(sizes)
        run = self._adam if optimizer == "adam" else self._lbfgs
        # a first fit from the start given spreads the weights that start equal (a later
        # one goes on from where the last stopped, a loaded fit from where it was saved)
        spread = not self.history and torch.equal(self.logits, self._start)
        begin = _untied(self.logits) if spread else self.logits
        bar = tqdm(total=epochs, disable=bar_disabled(progress), desc="cascade fit")
        self._lik.floored_any = False
        try:
            logits, values, taken, (first, last), evaluations = run(
                begin, counts, epochs=epochs, lr=lr, tol=tol, stop_early=bool(stop_early),
                bar=bar)
        finally:
            bar.close()
        gradient = float(last.abs().max()) if last.numel() else 0.0
        floored = False
        if self._lik.floored_any:  # some pass counted log(tiny): do the fitted weights?
            with torch.no_grad():
                self._lik(torch.sigmoid(logits), counts)
            floored = bool(self._lik.floored.size)
            if floored:
                self._lik.warn_floored("fit (converged is set to False)")
        # a floored term at the fitted weights has no gradient: a zero one then says nothing
        # of the edge (a floor met only at a line search's rejected trial point does not
        # count)
        if not floored:
            idle = self._warn_uninformed(first, last)
            if spread:
                # weights the sizes say nothing about keep the start given, not its spread
                # (a gradient of 1e-17 on the way moved one by 1e-16); history[-1] scored
                # them at the spread, the same value to round-off
                logits = torch.where(idle, self.logits, logits)
        # values[j]: mean log-likelihood of the weights after j steps, kept apart until here:
        # an interrupted call appended them to history while the weights stayed those
        # before it, and a rerun counted them twice
        self.logits = logits
        # a call without a step scores its starting weights once (a first fit's spread):
        # history[-1] stays that of the fitted weights under these sizes
        self.history.extend(values[1:] if taken else values)
        self.epochs_run = taken
        self.gradient = gradient
        # a floored term has no gradient: the one measured is not the likelihood's
        self.converged = gradient <= tol and not floored
        self.evaluations = evaluations
        self.optimizer = optimizer
        return self

    def _warn_uninformed(self, first: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        """Warn of the weights whose gradient is exactly 0 at the start and at the fit.

        Their edges never change a size's probability under these seeds (an edge into a
        sure seed, or back towards the seed on a tree): they kept their start, and were
        reported as fitted as the others. Returns which weights those are (all False for
        a single shared weight, whose zero gradient is its own case: all sizes 1, ...).
        """
        import warnings

        from biomodels._stacklevel import user_stacklevel

        mask = (first == 0) & (last == 0)
        idle = torch.nonzero(mask).flatten().tolist()
        if not idle or len(first) < 2:
            return torch.zeros_like(mask)
        g = self.graph
        if self.share == "edge":  # as weights.csv names them
            names = [f"{g.labels[g.src[i]]}->{g.labels[g.dst[i]]}" for i in idle]
        else:
            types = self.edge_type_names or self._types or list(range(len(first)))
            names = [str(types[i]) for i in idle]
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        kind = ("edge" if self.share == "edge" else "edge type") + ("s" if len(idle) > 1 else "")
        warnings.warn(
            f"CascadeFit.fit: the sizes carry no information on {len(idle)} of the "
            f"{len(first)} weights ({kind} {shown}): their gradient is exactly 0 at the start "
            "and at the fitted weights, as no cascade from these seeds can use them (an edge "
            "into a sure seed, or back towards the seed on a tree), so they keep their start",
            UserWarning, stacklevel=user_stacklevel())
        return mask

    def _objective(self, logits: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood per cascade; its backward fills ``logits.grad``."""
        logits.grad = None
        loss = -self._lik(torch.sigmoid(logits), counts) / float(counts.sum())
        loss.backward()
        return loss.detach()

    def _adam(self, start: torch.Tensor, counts: torch.Tensor, *, epochs: int, lr: float,
              tol: float, stop_early: bool, bar: tqdm) -> tuple[Any, ...]:
        """Adam steps; returns logits, values, steps, gradient and passes (see :meth:`fit`).

        The gradient is a pair of vectors, at the starting and at the fitted weights.
        """
        logits = start.clone().requires_grad_(True)
        opt = torch.optim.Adam([logits], lr=lr)
        values: list[float] = []
        first = None
        # one pass more than steps: the last scores the fitted weights, and its gradient
        # says whether they are stationary (Adam at a fixed lr ran its epochs and said
        # nothing: 10 per-edge weights of a 6-node tree ended 0.09 from the optimum)
        for taken in range(epochs + 1):
            values.append(-float(self._objective(logits, counts)))
            grad = logits.grad
            if first is None:
                first = grad.detach().clone()
            gradient = float(grad.abs().max()) if grad.numel() else 0.0
            # the gradient that met tol is that of these weights: no step, no extra pass
            if taken == epochs or (stop_early and gradient <= tol):
                break
            opt.step()
            bar.update()
        return logits.detach(), values, taken, (first, grad.detach().clone()), taken + 1

    def _lbfgs(self, start: torch.Tensor, counts: torch.Tensor, *, epochs: int, lr: float,
               tol: float, stop_early: bool, bar: tqdm) -> tuple[Any, ...]:
        """L-BFGS steps; returns logits, values, steps, gradient and passes (see :meth:`fit`).

        The gradient is a pair of vectors, at the starting and at the fitted weights.

        Each ``LBFGS.step`` runs one iteration (``max_iter=1``); torch keeps its curvature
        memory between the calls. Every pass is recorded with its weights, so the one that
        starts each call (at the point the last line search accepted) and the accepted
        point's value and gradient are looked up, not computed again.
        """
        logits = start.clone().requires_grad_(True)
        seen: list[tuple[torch.Tensor, float, torch.Tensor]] = []  # (logits, loss, grad)
        passes = 0

        def evaluate() -> tuple[float, torch.Tensor]:
            nonlocal passes
            x = logits.detach()
            for point, loss, grad in seen:
                if torch.equal(point, x):
                    return loss, grad
            # torch bounds its line search by max_eval (set below); one that did not (torch
            # 2.2's ran up to 25 trials) would overrun the budget: the step is then dropped
            if passes > epochs:
                raise _OutOfPasses
            value = float(self._objective(logits, counts))
            passes += 1
            if passes > 1:
                bar.update()
            seen.append((x.clone(), value, logits.grad.detach().clone()))
            return value, seen[-1][2]

        def closure() -> torch.Tensor:
            loss, grad = evaluate()
            logits.grad = grad.clone()
            return torch.tensor(loss, dtype=logits.dtype)

        # with max_iter=1 tolerance_change only stops a step whose direction does not
        # descend (g.d > -tolerance_change; the default 1e-9 stopped the 6-node per-edge fit
        # at a gradient of 1.1e-5), tolerance_grad 0 one with no gradient at all: tol is
        # tested here, on the gradient of the mean log-likelihood
        opt = torch.optim.LBFGS([logits], lr=lr, max_iter=1, max_eval=epochs,
                                tolerance_grad=0.0,
                                tolerance_change=float(torch.finfo(logits.dtype).tiny),
                                line_search_fn="strong_wolfe")
        loss, grad = evaluate()
        first = grad
        values = [-loss]
        taken = 0
        while True:
            gradient = float(grad.abs().max()) if grad.numel() else 0.0
            if (stop_early and gradient <= tol) or gradient == 0 or passes > epochs:
                break
            before = logits.detach().clone()
            # the line search may make the passes left: torch bounds it by max_eval less
            # the pass that starts the step, which the look-up answers without a pass
            opt.param_groups[0]["max_eval"] = epochs + 1 - passes
            seen[:] = [(before, loss, grad)]
            try:
                opt.step(closure)
                if torch.equal(logits.detach(), before):
                    break  # the line search found no better point: L-BFGS cannot go on
                loss, grad = evaluate()  # the accepted point: one of the line search's
            except _OutOfPasses:  # the step is not taken; the weights stay those before it
                logits.data.copy_(before)
                break
            values.append(-loss)
            taken += 1
        return logits.detach(), values, taken, (first, grad), passes

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted shared weights and settings as JSON (atomically).

        With ``share="type"`` and named types, ``edge_type_names`` lists the type of each
        shared weight (names that are not str or numbers as text). ``graph`` fingerprints
        the network in its storage order, ``graph_order`` whatever the order (with the
        order, so that :meth:`load` maps the values onto the same network stored in
        another order).

        Parameters
        ----------
        path
            The JSON file to write; read it back with :meth:`load`.

        Returns
        -------
        pathlib.Path
            ``path``, as the other modules' ``save`` return it.
        """
        from core.atomic import write_json
        from core.provenance import environment

        order = _graph_order(self.graph)
        return write_json(
            {
                "format": _FORMAT,
                "share": self.share,
                "method": self.method,
                "index": self.index.tolist(),
                "shared_weights": self.shared_weights.cpu().tolist(),
                # the weights alone lose a logit beyond +-27.6 (clamped on load) and the
                # last bits of others: a resumed fit took other steps
                "logits": self.logits.cpu().tolist(),
                "seed_probabilities": self._lik.p.detach().cpu().tolist(),
                # the seeds' node positions, in the order given: the labels came back None
                # (absent from older files and for a fit seeded by seed_prob alone)
                **({} if self.seeds is None else {
                    "seed_nodes": [self.graph.index_of(s) for s in self.seeds]}),
                "graph": _graph_fingerprint(self.graph),
                # the same network stored in another order loads too (absent where two
                # labels read the same as text, and from older files)
                **({} if order is None else {"graph_order": order}),
                "history": self.history,
                "gradient": self.gradient,
                "converged": self.converged,
                "epochs_run": self.epochs_run,
                # what epochs_run and history's steps were (absent from older files)
                "optimizer": self.optimizer,
                "evaluations": self.evaluations,
                # what it was saved with (load ignores it)
                "environment": environment(),
                # share="type": which type each shared weight is (absent from older files)
                **({} if self.edge_type_names is None else {
                    "edge_type_names": [_json_name(t) for t in self.edge_type_names]}),
            },
            path,
        )

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        graph: CascadeGraph,
        *,
        seeds: Iterable[Hashable] | None = None,
        seed_prob: float | Sequence[float] | np.ndarray | torch.Tensor | None = None,
    ) -> CascadeFit:
        """Restore a fit saved by :meth:`save` onto the same ``graph``.

        Parameters
        ----------
        path
            A file written by :meth:`save`.
        graph
            The network the fit was made on: the same node labels and edges, stored in
            any order (``read_edgelist`` or ``from_networkx`` of one edge list; files
            written before ``graph_order`` was saved need the order they were fitted in);
            the weights may differ. The saved per-edge weights and per-node seed
            probabilities follow their edges and nodes.
        seeds, seed_prob
            Seeding to use instead of the saved one (default: the saved seeding).

        Returns
        -------
        CascadeFit
            The fit, with its logits, settings and ``history`` restored, and its
            :attr:`seeds` when the saved seeding is used (None for files written before
            they were saved).

        Raises
        ------
        TypeError
            If ``graph`` is not a :class:`~biomodels.cascade.CascadeGraph` (naming the
            constructor that converts a networkx graph or a matrix).
        ValueError
            If ``graph`` has other nodes or edges than the saved one (the saved weights
            are per edge of that graph), or the file is not a saved fit (naming it). If a
            field is invalid (naming the file and the field): an ``index`` entry that is
            not an integer naming one of the shared weights (or a shared weight that no
            edge uses), a ``share`` other than ``"type"``, ``"edge"`` or ``"all"`` (or one
            the index contradicts), a ``method`` other than ``"auto"``, ``"tree"``,
            ``"tda"`` or ``"exact"``, ``shared_weights`` or ``seed_probabilities`` (one per
            node) outside [0, 1] or null, non-finite ``logits``, or ``edge_type_names``
            that are not one name (str or number) per shared weight, or a ``graph_order``
            that does not list each saved node and edge once. Files of earlier versions,
            without ``logits``, ``edge_type_names``, ``graph_order`` or a format tag, still
            load.
        """
        check_graph(graph)
        try:
            with open(path, encoding="utf-8") as handle:
                state = json.load(handle)
        except ValueError as exc:  # not JSON, or not text at all
            raise ValueError(f"{os.fspath(path)} cannot be read as a saved cascade fit: {exc}"
                             ) from exc
        # files of earlier versions carry no format tag, but the keys this load needs
        if not isinstance(state, dict) or state.get("format", _FORMAT) != _FORMAT or not {
                "index", "shared_weights", "method", "share", "history"} <= set(state):
            raise ValueError(f"{os.fspath(path)} is not a saved cascade fit (CascadeFit.save)")
        try:  # an edited or damaged file: one error naming it, not torch's "new(): ..."
            weights = np.asarray(state["shared_weights"], dtype=np.float64)
            if weights.ndim != 1:
                raise ValueError(f"shared_weights must be a list of probabilities, got "
                                 f"{_shown(state['shared_weights'])}")
            index = _saved_index(state["index"], state["share"], weights.size)
            n_par = weights.size
            if state["method"] not in ("auto", "tree", "tda", "exact"):
                # the list as files before "exact" named it, which scripts may match
                raise ValueError(f"method is {state['method']!r}, not one of ['auto', "
                                 "'tree', 'tda'] or 'exact'")
            logits = None if "logits" not in state else np.asarray(state["logits"],
                                                                   dtype=np.float64)
            saved_p = None if "seed_probabilities" not in state else np.asarray(
                state["seed_probabilities"], dtype=np.float64)
            # save writes a non-finite value as null
            history = [float("nan") if v is None else float(v) for v in state["history"]]
            for name, values in (("logits", logits), ("shared_weights", weights)):
                if values is not None and values.shape != (n_par,):
                    raise ValueError(f"{name} holds {values.size} values for {n_par} shared "
                                     "weights")
            if logits is not None and not np.isfinite(logits).all():
                raise ValueError("logits holds NaN, infinite or null values")
            # the weights of a file without logits: null was read as a NaN weight, 2.5 was
            # clamped to 1; with logits they are sigmoid(logits), in [0, 1] as well
            if not ((weights >= 0) & (weights <= 1)).all():  # False for NaN
                raise ValueError(f"shared_weights must be probabilities in [0, 1], got "
                                 f"{_shown(state['shared_weights'])}")
            counts = {}
            for key in ("epochs_run", "evaluations"):  # int("many") named no file
                value = state.get(key)
                if value is not None and (isinstance(value, bool) or not isinstance(
                        value, int) or value < 0):
                    raise ValueError(f"{key} must be an integer or null, got {value!r}")
                counts[key] = value
            gradient = None if state.get("gradient") is None else float(state["gradient"])
            seed_nodes = state.get("seed_nodes")
            if seed_nodes is not None and (not isinstance(seed_nodes, list) or not all(
                    isinstance(i, int) and not isinstance(i, bool)
                    and 0 <= i < (0 if saved_p is None else saved_p.size) for i in seed_nodes)):
                raise ValueError(f"seed_nodes must be a list of node positions, got "
                                 f"{_shown(seed_nodes)}")
            type_names = state.get("edge_type_names")
            if type_names is not None:
                if not isinstance(type_names, list) or not all(
                        isinstance(t, str | int | float | bool) for t in type_names):
                    raise ValueError(f"edge_type_names must be a list of names, got "
                                     f"{_shown(type_names)}")
                if len(type_names) != n_par:
                    raise ValueError(f"edge_type_names holds {len(type_names)} names for "
                                     f"{n_par} shared weights")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{os.fspath(path)} is not a valid saved cascade fit: {exc}"
                             ) from exc
        if index.shape != (graph.num_edges,):
            raise ValueError(
                f"{os.fspath(path)}: saved for {index.size} edges, graph has {graph.num_edges}"
            )
        saved = state.get("graph")
        if saved is not None and saved != _graph_fingerprint(graph):
            # the same labels and edges in another order (networkx's rather than the file's)
            try:
                moved = _reordered(state.get("graph_order"), graph)
            except ValueError as exc:
                raise ValueError(f"{os.fspath(path)} is not a valid saved cascade fit: {exc}"
                                 ) from exc
            if moved is None:
                # a file without graph_order cannot tell a reordered network from another
                older = ("" if "graph_order" in state else ", or on this one with its nodes "
                         "or edges stored in another order, which a file written before "
                         "graph_order was saved cannot follow")
                raise ValueError(
                    f"graph: {os.fspath(path)} was fitted on another network (other nodes "
                    f"or edges){older}; load it with the graph it was fitted on"
                )
            node, edge = moved
            # the saved values follow their nodes and edges, not their positions
            if saved_p is not None and saved_p.shape == (graph.n,):
                saved_p = saved_p[node]
            if seed_nodes is not None:  # node[i] is the saved position of node i
                seed_nodes = [int(i) for i in np.argsort(node)[seed_nodes]]
            if state["share"] == "edge":  # shared weight j stays that of edge j
                weights = weights[edge]
                logits = None if logits is None else logits[edge]
            else:
                index = index[edge]
        if saved_p is not None and (saved_p.shape != (graph.n,) or not (
                (saved_p >= 0) & (saved_p <= 1)).all()):  # False for NaN (null)
            # refused by seed_probabilities, naming no file; after the graph checks, which
            # name the right cause for a fit loaded onto another graph
            raise ValueError(f"{os.fspath(path)} is not a valid saved cascade fit: "
                             f"seed_probabilities must be {graph.n} probabilities in [0, 1] "
                             f"(one per node), got {_shown(state['seed_probabilities'])}")
        saved_seeding = seeds is None and seed_prob is None
        if saved_seeding and saved_p is not None:
            seed_prob = torch.tensor(saved_p, dtype=graph.dtype, device=graph.device)
        fit = cls(
            graph,
            seeds=seeds,
            seed_prob=seed_prob,
            share="type",
            edge_type=index,
            method=state["method"],
            init=0.5,
        )
        fit.share = state["share"]
        if logits is not None:
            fit.logits = torch.tensor(logits, dtype=graph.dtype, device=graph.device)
        else:  # written before the logits were saved
            w = torch.tensor(weights, dtype=graph.dtype, device=graph.device)
            fit.logits = torch.logit(w.clamp(1e-12, 1 - 1e-12))
        fit._start = fit.logits.clone()
        fit.history = history
        # files written before these fields (or of an unfitted fit) hold none
        fit.gradient = gradient
        fit.converged = None if state.get("converged") is None else bool(state["converged"])
        fit.epochs_run = counts["epochs_run"]
        fit.optimizer = None if state.get("optimizer") is None else str(state["optimizer"])
        fit.evaluations = counts["evaluations"]
        # files written before the names were saved (or of other sharings) hold none
        fit.edge_type_names = (None if type_names is None or fit.share != "type"
                               else tuple(type_names))
        if saved_seeding and seed_nodes is not None:
            # the saved seeding (its probabilities restored above) keeps its labels too
            fit.seeds = [graph.labels[i] for i in seed_nodes]
            alone = np.zeros(graph.n)
            alone[seed_nodes] = 1.0
            if np.array_equal(saved_p, alone):  # seeded by the labels alone, as it was made
                fit.seed_prob = None
        return fit


@with_grad  # SVI differentiates, also inside the caller's torch.no_grad()
def fit_bayesian(
    graph: CascadeGraph,
    sizes: Sequence[int] | np.ndarray,
    *,
    seeds: Iterable[Hashable] | None = None,
    seed_prob: float | Sequence[float] | np.ndarray | torch.Tensor | None = None,
    share: Sharing = "all",
    edge_type: Sequence[int] | np.ndarray | None = None,
    prior: tuple[float, float] = (1.0, 1.0),
    method: Literal["auto", "grid", "svi"] = "auto",
    steps: int = 500,
    lr: float = 0.02,
    num_samples: int = 1000,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, torch.Tensor]:
    """Posterior of the shared weights under Beta priors.

    Parameters
    ----------
    graph
        The network (as in :class:`CascadeFit`).
    sizes
        Observed final cascade sizes, one per cascade, counting the initially active nodes
        (the index case) too: data counting secondary cases only must add the seeds (as in
        :meth:`CascadeFit.fit`, which also refuses a pandas ``value_counts()`` Series).
    seeds, seed_prob, share, edge_type
        As in :class:`CascadeFit`.
    prior
        Beta(a, b) prior of every shared weight (``a``, ``b`` finite and positive).
    method
        ``"grid"``: the exact posterior of a single shared weight on a grid in logit
        space (a coarse pass over (0, 1), then 201 points where the posterior lives,
        refined up to five times, a cubic spline of the log density between them, and the
        tails beyond the weights the graph's dtype holds apart from 0 and 1 in closed form;
        250 to 1,050 likelihood evaluations); ``"svi"``: pyro SVI with a full-covariance
        Gaussian guide in logit space (``AutoMultivariateNormal``; beyond 500 weights
        ``AutoLowRankMultivariateNormal``, rank 50 plus a diagonal, as its d^2 entries
        grow), which keeps the weights' correlations: on a two-leaf star (50 cascades, exact
        sd 0.151, correlation -0.83) it gave sds 0.12-0.16 and correlations -0.73 to -0.80
        across seeds, where a mean-field guide gave 0.10 and 0.01. Still a Gaussian in logit
        space: a skewed or curved posterior is approximated; ``"auto"``: grid for one
        weight, SVI for more.
    steps, lr
        SVI steps and Adam learning rate.
    num_samples
        Posterior draws returned (SVI: at least 2, its moments are those of the draws).
    seed
        Seed of the draws: pyro's for SVI (below 2**32, numpy's global seed range; seeded
        for this call only: the global generators are restored afterwards), a private numpy
        generator's for the grid. SVI fits in other threads wait for each other (pyro's
        generators, handlers and parameters are process-wide), so a thread pool of seeds
        gives each seed's posterior, one fit at a time. SVI runs under
        ``pyro.poutine.block()``: the caller's pyro handlers (``trace``, ``scale``,
        ``condition``) neither see nor change it.
    progress
        tqdm progress bar.

    Returns
    -------
    dict
        ``"samples"`` (``num_samples x n_params``), ``"mean"``, ``"std"``, ``"q05"``,
        ``"q95"`` of the shared weights (for the grid: the exact moments and quantiles, the
        samples drawn from it); ``"elbo"``, the SVI loss (the negative ELBO, a one-draw
        Monte Carlo estimate, as ``svi.step()`` returned it) at each of the ``steps``, and
        ``"converged"``, a 0-d bool tensor: whether that loss has levelled off (see Notes).
        The grid optimises nothing: an empty ``"elbo"`` and ``"converged"`` True.

    Raises
    ------
    TypeError, ValueError
        If ``graph`` is not a :class:`CascadeGraph` (a TypeError naming the constructor
        that converts a networkx graph or a matrix), ``method`` is unknown, ``"grid"`` is
        asked for more than one shared weight,
        ``prior`` is not two positive finite numbers, or ``steps``, ``num_samples`` are not
        positive integers (``seed`` a non-negative one).

    Warns
    -----
    RuntimeWarning
        If an observed size's probability is below float64's range (``1e-308``) or
        unresolved where the grid posterior lives (within 40 nats of its top), or at the
        SVI posterior mean: its term counts ``log(1e-308)``, a bound, so the posterior may
        be wrong there.
    UserWarning
        If SVI's loss has clearly not settled (naming ``steps``): ``"converged"`` False and
        fewer than 50 steps, a non-finite loss, or a trend over the last half of the steps
        beyond 5 standard errors of its noise (see Notes).

    Notes
    -----
    SVI runs all ``steps``; ``"converged"`` is a heuristic plateau test of its noisy loss
    (:func:`core.plateau.loss_plateaued`): the mean loss over the last 10 % of the steps is
    within 0.1 % (relative) of the mean over the 10 % before. It is False with fewer than 50
    steps or a non-finite loss. Where the loss's Monte Carlo noise exceeds 0.1 % of it a
    settled guide reads False (measured: 5 sizes on a 2-edge chain, settled by step 200,
    read False at 1,000 and 2,000 steps), and a temporary plateau can read True: when in
    doubt look at ``"elbo"`` (a running mean) and add steps. Where it reads False only a
    clear sign warns: too few steps, or a trend beyond the noise (500 steps at the default
    ``lr`` on 2-22 weights, 23 seeds: none warned). The guide returned is Adam's
    last iterate at a constant ``lr``, whose location keeps moving with the gradient noise:
    on one shared weight (100 cascades, exact mean 0.397, sd 0.030) SVI's means ranged over
    0.381-0.413 across seeds and 500-5,000 steps, each run "converged"; read SVI's mean to
    about half a posterior sd, and use the grid where there is one weight.
    """
    check_graph(graph)
    try:
        a_prior, b_prior = prior
    except (TypeError, ValueError):
        raise ValueError(f"prior: expected the Beta parameters (a, b), got {prior!r}") from None
    # a Beta density needs a, b > 0; otherwise the grid would return a mean, not a posterior
    prior = (check_number("prior a", a_prior, above=0), check_number("prior b", b_prior, above=0))
    steps = check_count("steps", steps)
    num_samples = check_count("num_samples", num_samples)
    seed = check_count("seed", seed, at_least=0)
    index = _param_index(graph, share, edge_type)
    if index.size == 0:
        raise ValueError("graph: has no edges, so there is no edge weight to infer")
    p = seed_probabilities(graph, as_label_list(seeds, graph), seed_prob)
    lik = _Likelihood(graph, p, index, "auto")
    counts = lik.counts(sizes)
    n_par = int(index.max()) + 1
    if method not in ("auto", "grid", "svi"):
        raise ValueError(f"method: expected 'auto', 'grid' or 'svi', got {method!r}")
    if method == "grid" and n_par != 1:
        raise ValueError(f"method='grid' needs one shared weight (share='all'), got {n_par}")
    if method == "grid" or (method == "auto" and n_par == 1):
        # weights far from the mode weigh 0 by design (also under np.seterr(all="raise"))
        with np.errstate(under="ignore"):
            post = _grid_posterior(lik, counts, prior, num_samples, seed)
        # the same keys as SVI's: no optimisation, nothing left to converge
        post["elbo"] = torch.zeros(0, dtype=counts.dtype, device=counts.device)
        post["converged"] = torch.tensor(True, device=counts.device)
        return post
    # pyro seeds numpy's global generator: checked before the fit, not at its end
    check_seed(seed, optional=False, bits=32)
    if num_samples < 2:  # one draw has no spread: its "std" came out NaN
        raise ValueError(f"num_samples: SVI estimates the posterior's spread from its draws, "
                         f"so it needs at least 2, got {num_samples}")

    import pyro
    import pyro.distributions as dist
    from pyro.infer import SVI, Trace_ELBO
    from pyro.infer.autoguide import AutoLowRankMultivariateNormal, AutoMultivariateNormal

    a = torch.tensor(float(prior[0]), dtype=graph.dtype, device=graph.device)
    b = torch.tensor(float(prior[1]), dtype=graph.dtype, device=graph.device)

    def model() -> None:
        w = pyro.sample("w", dist.Beta(a, b).expand([n_par]).to_event(1))
        pyro.factor("sizes", lik(w.clamp(1e-9, 1 - 1e-9), counts))

    # the caller's global random streams and pyro parameters stay as they were; block():
    # the fit's sites reach none of the caller's pyro handlers (inside trace() it failed
    # with "Multiple sample sites named 'w'", inside scale() its loss and draws changed)
    with seeded_globals(seed), pyro.get_param_store().scope(), pyro.poutine.block():
        # full covariance (low rank plus diagonal beyond _FULL_COVARIANCE_MAX weights, its
        # d^2 entries): weights that explain the same cascades trade off (two leaves of a
        # star: correlation -0.83), and a mean-field guide put the sd at 2/3 of the exact one
        guide = (AutoMultivariateNormal(model, init_scale=0.05) if n_par <= _FULL_COVARIANCE_MAX
                 else AutoLowRankMultivariateNormal(model, init_scale=0.05, rank=_LOW_RANK))
        svi = SVI(model, guide, pyro.optim.Adam({"lr": lr}), loss=Trace_ELBO())
        losses = [float(svi.step()) for _ in tqdm(range(steps), disable=bar_disabled(progress),
                                                  desc="cascade SVI")]
        with torch.no_grad():
            draws = torch.stack([guide()["w"] for _ in range(num_samples)])
    with torch.no_grad():  # does the likelihood at the posterior mean count log(tiny)?
        lik(draws.mean(0).clamp(1e-9, 1 - 1e-9), counts)
    if lik.floored.size:
        lik.warn_floored("fit_bayesian (at the posterior mean)")
    converged = loss_plateaued(losses)
    if not converged:
        _warn_unsettled(losses, lr)
    return {
        "samples": draws,
        "mean": draws.mean(0),
        "std": draws.std(0),
        "q05": draws.quantile(0.05, dim=0),
        "q95": draws.quantile(0.95, dim=0),
        "elbo": torch.tensor(losses, dtype=counts.dtype, device=counts.device),
        "converged": torch.tensor(converged, device=counts.device),
    }


def _warn_unsettled(losses: list[float], lr: float) -> None:
    """Warn where SVI's loss (not levelled off by ``loss_plateaued``) has clearly not settled.

    That is: fewer than 50 steps (too few for the plateau test, and for the guide to leave
    its start at the default ``lr``: ``steps=1`` returned the starting guide without a
    word), a non-finite loss, or a trend over the last half of the steps more than 5 standard
    errors from flat. The plateau test alone reads False on settled fits whose noise exceeds
    0.1 % of the loss; the trend's t value on those stayed within 4 (measured: 500 steps at
    lr 0.02 on 2-22 weights, 23 seeds), where 50 steps on a 2-weight chain gave -9 to -10.
    """
    import warnings

    from biomodels._stacklevel import user_stacklevel

    steps = len(losses)
    half = np.asarray(losses[steps // 2:], dtype=np.float64)
    if steps < 50:
        why = "too few to settle, or to tell (the loss is judged over at least 50)"
    elif not np.isfinite(half).all():
        why = "the loss is not finite"
    else:
        x = np.arange(half.size) - (half.size - 1) / 2
        slope = float(x @ half / (x @ x))
        resid = half - half.mean() - slope * x
        se = float(np.sqrt(resid @ resid / (half.size - 2) / (x @ x)))
        if not abs(slope) > 5 * se:  # flat within the noise: the plateau test's False is noise
            return
        trend = "falls" if slope < 0 else "rises"
        why = (f"the loss still {trend} over the last half of the steps, by "
               f"{abs(slope) * half.size:.3g} ({abs(slope) / se:.1f} standard errors)")
    warnings.warn(
        f"fit_bayesian: SVI has not settled after steps={steps} (lr={lr:g}): {why}, so the "
        "posterior returned is the guide where SVI stopped, its means and sds not yet the "
        "posterior's; raise steps (see 'elbo')", UserWarning, stacklevel=user_stacklevel())


def _grid_posterior(lik: _Likelihood, counts: torch.Tensor, prior: tuple[float, float],
                    num_samples: int, seed: int) -> dict[str, torch.Tensor]:
    """Exact posterior of one shared weight: log-likelihood + Beta log-prior on a grid.

    The grid is in logit space, ``u = log(w / (1 - w))``, where the posterior density
    ``p(w) w (1 - w)`` is smooth and falls to 0 at both ends: a posterior piled up at 0 or 1
    (every cascade of size 1 under a Beta(0.5, 0.5) prior) is resolved as well as any other.
    A grid in w put a few intervals under such a spike and interpolated the CDF linearly
    where it rises like ``w^a``: its 5 % quantile was 8.8 times the exact one. Beyond the
    weights the graph's dtype can tell from 0 and 1 the density is ``e^(a u)`` (``e^(-b u)``)
    times the likelihood's limit, whose mass is added in closed form: with ``a`` well below 1
    much of the posterior lies there.
    """
    a, b = float(prior[0]), float(prior[1])
    floored: dict[float, tuple[np.ndarray, np.ndarray]] = {}  # u: (floored, unresolved)

    def log_post(u: np.ndarray) -> np.ndarray:
        # log w and log(1 - w) from u without rounding w to 0 or 1; the Jacobian w (1 - w)
        # turns the Beta(a, b) log density into a log w + b log(1 - w)
        log_w, log_1mw = -np.logaddexp(0.0, -u), -np.logaddexp(0.0, u)
        t = torch.as_tensor(np.exp(log_w), dtype=counts.dtype, device=counts.device)
        ll = np.empty(u.size)
        with torch.no_grad():
            for i, v in enumerate(t):
                ll[i] = float(lik(v.reshape(1), counts))
                if lik.floored.size:
                    floored[float(u[i])] = (lik.floored, lik.floored_unresolved)
        return ll + a * log_w + b * log_1mw

    # the weights the likelihood's dtype holds apart from 1: float32 rounded w to 1 from
    # u = 17 on, where the likelihood jumped to its floor and the spline rang (a point mass
    # at w = 1); float64 to u = 36
    edge = min(35.0, float(np.log(1 / torch.finfo(counts.dtype).eps)) - 1.0)
    # a coarse pass finds where the posterior lives (sparse far out, where the tail-accurate
    # likelihood is slow); finer passes zoom in until its mass (log density within 40 of the
    # top) spans at least 60 grid points
    far = np.linspace(9.0, edge, 7)[1:] if edge > 9.0 else np.empty(0)
    u = np.concatenate([-far[::-1], np.linspace(-9.0, 9.0, 37), far])
    lp = log_post(u)
    for step in range(5):
        live = np.flatnonzero(lp > lp.max() - 40)
        if step and live.size >= 60:
            break
        lo = u[live[0] - 1] if live[0] > 0 else u[0]
        hi = u[live[-1] + 1] if live[-1] < u.size - 1 else u[-1]
        u = np.linspace(lo, hi, 201)
        lp = log_post(u)
    top = lp[np.isfinite(lp)].max()
    # weights where an observed size came out 0 count log(tiny) for it, a bound: harmless
    # far below the top (the coarse pass's far ends), not where the posterior lives
    near = [float(x) for x, v in zip(u, lp) if float(x) in floored and v > top - 40]
    if near:
        lik.floored, lik.floored_unresolved = floored[near[0]]
        lik.warn_floored(f"fit_bayesian (at w = {1 / (1 + np.exp(-near[0])):.4g})")
    # the log density is smooth in u: a cubic spline through the evaluated points gives
    # ten points per interval for the integrals and quantiles without more likelihood
    # passes (quantiles interpolated between the evaluated points alone were 1 % off)
    fine = np.linspace(u[0], u[-1], 10 * (u.size - 1) + 1)
    if np.isfinite(lp).all():
        from scipy.interpolate import CubicSpline

        dens = np.exp(CubicSpline(u, lp - top)(fine))
    else:  # impossible weights (-inf) weigh 0: no spline through them
        dens = np.interp(fine, u, np.exp(lp - top))
    u = fine
    w = 1 / (1 + np.exp(-u))
    # trapezoids in u: the density is smooth there
    du = np.diff(u)
    mass = du * (dens[1:] + dens[:-1]) / 2
    m1 = np.sum(du * (dens[1:] * w[1:] + dens[:-1] * w[:-1]) / 2)
    m2 = np.sum(du * (dens[1:] * w[1:] ** 2 + dens[:-1] * w[:-1] ** 2) / 2)
    # the tails beyond a grid that reaches the edge: dens(u) ~ dens(u0) e^(a (u - u0)) below,
    # ~ dens(u1) e^(-b (u - u1)) above (w ~ e^u, 1 - w ~ e^-u there); elsewhere the grid
    # ends 40 nats below the top and they are nothing
    d0 = dens[0] if u[0] <= -edge else 0.0
    d1 = dens[-1] if u[-1] >= edge else 0.0
    # the tails' exponents: a (b) where the likelihood tends to a constant at w -> 0 (1), more
    # where it vanishes there (a size that needs w > 0: w^k more), read off the last step
    with np.errstate(divide="ignore", invalid="ignore"):
        rise = np.log(dens[1] / dens[0]) / (u[1] - u[0]) if d0 > 0 else a
        fall = np.log(dens[-2] / dens[-1]) / (u[-1] - u[-2]) if d1 > 0 else b
    a_t = max(float(rise), a) if np.isfinite(rise) else a
    b_t = max(float(fall), b) if np.isfinite(fall) else b
    left, right = d0 / a_t, d1 / b_t
    total = left + mass.sum() + right
    e0, e1 = np.exp(u[0]), np.exp(-u[-1])
    mean = float((m1 + d0 * e0 / (a_t + 1) + right - d1 * e1 / (b_t + 1)) / total)
    second = float((m2 + d0 * e0**2 / (a_t + 2) + right - 2 * d1 * e1 / (b_t + 1)) / total)
    cdf = (left + np.concatenate([[0.0], np.cumsum(mass)])) / total
    rng = np.random.default_rng(check_seed(seed))

    def quantile(q: np.ndarray | float) -> np.ndarray:
        # interpolated in u, where the CDF is smooth, then mapped to w; in the tails the
        # exponential CDF inverted
        q = np.asarray(q, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            below = u[0] + np.log(q * total * a_t / d0) / a_t
            above = u[-1] - np.log((1 - q) * total * b_t / d1) / b_t
        uq = np.where(q < cdf[0], below, np.where(q > cdf[-1], above, np.interp(q, cdf, u)))
        from scipy.special import expit

        return expit(uq)  # 1 / (1 + e^-u) overflowed for tail draws far below 0

    draws = quantile(rng.random(int(num_samples)))

    def out(x: float | np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x, dtype=np.float64).reshape(-1),
                               dtype=counts.dtype, device=counts.device)

    return {
        "samples": out(draws).reshape(-1, 1),
        "mean": out(mean),
        "std": out(np.sqrt(max(second - mean**2, 0.0))),
        "q05": out(quantile(0.05)),
        "q95": out(quantile(0.95)),
    }
