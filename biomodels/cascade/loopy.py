r"""Approximate size distributions on networks with cycles: TDA and a Poisson-binomial baseline.

TDA (Tree Distribution Approximation; Burkholz & Quackenbush, AAAI 2021):

1. loopy belief propagation for the Independent Cascade activation marginals,
   ``m_{j->i} = w_ji [1 - (1 - p_j) Π_{k in in(j) \ i} (1 - m_{k->j})]``;
2. a maximum spanning tree of the undirected skeleton, link weight ``w_uv + w_vu``;
3. every dropped edge ``j -> i`` becomes extra seed probability of ``i``:
   ``p'_i = 1 - (1 - p_i) Π_{dropped j->i} (1 - m_{j->i})``;
4. the exact tree pass (:mod:`biomodels.cascade.tree`) on the tree with ``p'``;
5. ``P(size = 0)`` is reset to the exact ``Π_i (1 - p_i)`` and the rest renormalised.

On a network of several weakly connected components (households, say) the steps run on
each component alone, the components without a cycle go through one exact tree pass, and
the components' distributions are convolved: their sizes add. Step 5 on the whole network
fitted one component and not many (30 households of 4, w = 0.4, p = 0.05: total variation
to Monte Carlo 0.68 taken as one piece, 0.07 per component).

The defaults of :func:`tda_size_distribution` depart from the authors' R code in steps 1,
2 and 5 (BP to convergence instead of 10 updates, link score ``m_uv + m_vu``, exact
``P(1)`` and ``P(2)`` too); ``iterations=10, spanning_tree="weights", exact_head=False``
reproduce it to round-off, up to its tie-breaking between links of equal weight.

Known weakness (measured, see the tests and benchmark): a pseudo-seed of step 3 fires
independently of the real cascade although in truth it only fires when the cascade has
reached the dropped edge's tail. On dense, near-critical networks with few seeds the
approximation loses the early-extinction mode and its total variation to Monte Carlo can
reach 0.3-0.9; use :func:`~biomodels.cascade.monte_carlo` there. On directed graphs with
cycles near the threshold, BP run to convergence (``iterations=None``) also counts
activation going round directed cycles, which inflates the pseudo-seeds: on directed ER
graphs of 300 nodes (mean out-degree 1.5, w in 0.3-0.9, one seed) the paper's 10 updates
gave a total variation to Monte Carlo of 0.24-0.47 with means within 10 %, the default
0.29-0.52 with means up to 30 % high (on one more graph 38.6 against Monte Carlo's 17.9);
pass ``iterations=10`` there. Not on undirected graphs above the threshold, where 10 updates
stop before the marginals settle (3-regular, 1,000 nodes, w = 0.8: total variation 0.99
against the default's 0.08); just below it they do better (0.31 against 0.63 at w = 0.5),
but neither is close there.

The baseline treats the nodes as independent with the BP marginals, i.e. a
Poisson-binomial distribution.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable
from typing import Literal, NamedTuple

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse import csgraph
from scipy.sparse.csgraph import minimum_spanning_tree

from biomodels._stacklevel import user_stacklevel
from core.checks import check_count, check_number

from .graph import CascadeGraph
from .passes import (
    _dense_roots,
    _segmented_product,
    _tree_product,
    _upward,
    clip_negative,
    clip_probability,
)
from .plan import TreePlan, _pieces, _reduction_rounds, tree_plan
from .tail import (
    _TAIL_RADII,
    _direct_upward,
    _held_warnings,
    _last_unresolved,
    _minkowski,
    _PolyMul,
    _record_unresolved,
    _tail_with_boundaries,
    _warn_parts_unresolved,
)
from .tree import (
    _exclusive_rows,
    _min_prob,
    check_probabilities,
    check_seed_vector,
    tree_conditional_activation,
    tree_size_distribution,
)

__all__ = [
    "bp_messages",
    "bp_marginals",
    "exact_small_sizes",
    "tda_size_distribution",
    "tda_tree",
    "poisson_binomial",
]


def _reverse_index(graph: CascadeGraph) -> np.ndarray:
    """Index of the reverse edge ``v -> u`` of each edge ``u -> v`` (or -1)."""
    n = graph.n
    key = graph.src * n + graph.dst
    order = np.argsort(key)
    rkey = graph.dst * n + graph.src
    pos = np.searchsorted(key[order], rkey)
    pos = np.minimum(pos, max(len(key) - 1, 0))
    found = key[order][pos] == rkey if len(key) else np.zeros(0, dtype=bool)
    return np.where(found, order[pos], -1)


def _check_iterations(iterations: int | None) -> int | None:
    """Return a fixed number of BP updates (``>= 1``), or None.

    ``range`` took -3 as 0 without a word, and no update leaves only the seeds' own
    messages: TDA then summed to 0.75 on a 4-node graph with cycles.
    """
    return None if iterations is None else check_count("iterations", iterations, at_least=1)


def _rounding_tol(tol: float, dtype: torch.dtype) -> float:
    """BP's convergence threshold: ``tol``, but no finer than the rounding of ``dtype``.

    float32 messages end in a cycle between neighbouring floats (a change of one eps) that
    never fell below the default 1e-10: all ``max_iterations`` updates ran, then a warning
    that BP had not converged.
    """
    return max(tol, 4 * torch.finfo(dtype).eps)


def bp_messages(
    graph: CascadeGraph,
    p: torch.Tensor,
    *,
    iterations: int | None = None,
    tol: float = 1e-10,
    max_iterations: int = 1000,
) -> torch.Tensor:
    """Loopy belief-propagation messages ``m_{j->i}`` (one per directed edge).

    Parameters
    ----------
    graph
        The network.
    p
        Seed probabilities, shape ``(n,)``.
    iterations
        A fixed number of updates (the paper's reference code uses 10). None iterates
        until the largest change is below ``tol`` (at most ``max_iterations``); on a
        forest this is exact after at most diameter-many updates.
    tol, max_iterations
        Convergence control when ``iterations`` is None. A change within rounding of the
        weights' dtype (``4 eps``: ``4.8e-7`` in float32) counts as converged, whatever
        ``tol``.

    Returns
    -------
    torch.Tensor
        ``m`` of shape ``(num_edges,)``: probability that the tail activates the head,
        with the head's own influence on the tail removed (cavity). Differentiable; at a
        sure seed (``p = 1``) or a certain edge (``w = 1``) the derivative is the
        one-sided one, and with ``iterations`` None BP runs on until the derivatives have
        settled as well as the values (the values are those at which they settled).

    Raises
    ------
    TypeError, ValueError
        If ``iterations`` or ``max_iterations`` is not an integer ``>= 1`` (``iterations``
        may be None), or ``tol`` is negative or not finite.
    """
    w = graph.weight
    p = check_seed_vector(graph, p)
    iterations = _check_iterations(iterations)
    # max_iterations=-1 ran no update and returned the seeds' own messages, without the
    # warning that BP had not converged
    max_iterations = check_count("max_iterations", max_iterations, at_least=1)
    tol = check_number("tol", tol, at_least=0)
    stop = _rounding_tol(tol, w.dtype)
    n = graph.n
    src = torch.from_numpy(graph.src).to(w.device)
    dst = torch.from_numpy(graph.dst).to(w.device)
    rev = torch.from_numpy(_reverse_index(graph)).to(w.device)
    has_rev = rev >= 0
    rev_c = rev.clamp_min(0)
    tiny = torch.finfo(w.dtype).tiny
    certain = _needs_certain_slopes(w, p)

    def update(m: torch.Tensor, w: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        log1m = torch.log((1 - m).clamp_min(tiny))
        S = torch.zeros(n, dtype=w.dtype, device=w.device).index_add(0, dst, log1m)
        excl = S.index_select(0, src) - torch.where(has_rev, log1m.index_select(0, rev_c), 0.0)
        fail = torch.exp(excl)
        if certain and torch.is_grad_enabled():  # (not in the probe: 0 in value)
            fail = fail + _certain_slope(1 - m, excl, dst, n, src=src, rev=rev_c,
                                         has_rev=has_rev)
        return w * (1 - (1 - p.index_select(0, src)) * fail)

    # a sure seed's 1 - p = 0 hides from the values what the derivative in p multiplies;
    # with every p 0 the messages are 0 after one update, their slopes in p are not
    lift = _unseeded(p)
    probe = certain or lift or (torch.is_grad_enabled() and p.requires_grad
                                and bool((p.detach() >= 1).any()))
    return _bp_loop(lambda w, p: p.index_select(0, src) * w, update, (w, p), iterations=iterations,
                    max_iterations=max_iterations, stop=stop, probe=probe, lift=lift)


def _bp_loop(init: Callable[..., torch.Tensor], update: Callable[..., torch.Tensor],
             params: tuple[torch.Tensor, ...], *, iterations: int | None, max_iterations: int,
             stop: float, probe: bool, lift: bool = False) -> torch.Tensor:
    """Iterate BP messages ``m <- update(m, *params)`` from ``init(*params)``.

    Parameters
    ----------
    init, update
        The first messages, and one synchronous update.
    params
        The tensors they depend on (weights, seed probabilities).
    iterations, max_iterations, stop
        A fixed number of updates, or (``iterations`` None) updates until the largest
        change is below ``stop``, warning when ``max_iterations`` run out first.
    probe
        Whether autograd records through an exact zero factor: a sure seed's ``1 - p`` or
        a message of exactly 1. There the messages can settle before their derivatives:
        the zero hides, from the values, the messages that the derivative in that factor
        multiplies (P(k)'s slope in a sure seed's ``p`` stopped 5e-4 off, a marginal's in a
        certain edge 0.07). A probe then runs along: in float64, without autograd, the
        messages at the inputs and at inputs moved inwards by a relative ``1e-4`` in a
        random direction, whose difference follows the derivative in that direction; the
        updates go on until it settles too. The messages keep the value at which they
        settled and take the derivative of the last update. Only with ``iterations``
        None: a fixed number of updates is differentiated as it is.
    lift
        Probe inputs of exactly 0 too (:func:`_probe_inputs`): with every seed
        probability 0 the messages are 0 after one update, and their slopes in ``p`` were
        those of that one update (8e-3 off in ``dP/dp``).

    Returns
    -------
    torch.Tensor
        The messages.
    """
    m = init(*params)
    probe = probe and iterations is None and m.numel() > 0
    if probe:
        step = 1e-4  # differences of 1e-16 become 1e-12 in the slope, well below stop
        at, inward = _probe_inputs(params, step, lift)
        # float64 messages serve as the probe's own (same values: the slopes add 0)
        own = all(x.dtype == torch.float64 for x in params)
        with torch.no_grad():
            pair = [m.detach() if own else init(*at), init(*inward)]
        slope = (pair[0] - pair[1]) / step
    settled = None
    delta = 0.0
    steps = iterations if iterations is not None else max_iterations
    for _ in range(steps):
        new = update(m, *params)
        delta = float((new - m).detach().abs().max()) if m.numel() else 0.0
        moving = False
        if probe:
            with torch.no_grad():
                pair = [new.detach() if own else update(pair[0], *at), update(pair[1], *inward)]
            moved = (pair[0] - pair[1]) / step
            scale = max(1.0, float(moved.abs().max()))
            moving = float((moved - slope).abs().max()) >= stop * scale
            slope = moved
        m = new
        if iterations is None and delta < stop:
            settled = m if settled is None else settled
            if not moving:
                break
    else:
        if iterations is None and steps > 0 and settled is None:
            _warn_unconverged(max_iterations, delta, stop)
    if settled is not None and settled is not m:
        # the value at which BP settled, with the derivative of the last update
        m = settled.detach() + (m - m.detach())
    return m


def _probe_inputs(params: tuple[torch.Tensor, ...], step: float, lift: bool
                  ) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """Return the probe's inputs (float64, detached) and those moved inwards (:func:`_bp_loop`).

    Each input that requires grad moves by a relative ``step`` times a random number in
    ``[0.5, 1.5)``; with ``lift`` its exact zeros, which no relative move leaves, move up
    by ``step`` times one.
    """
    gen = torch.Generator().manual_seed(0)
    at = tuple(x.detach().to(torch.float64) for x in params)
    inward = []
    for x, t in zip(at, params):
        if not t.requires_grad:
            inward.append(x)
            continue
        r = (torch.rand(x.shape, generator=gen, dtype=x.dtype) + 0.5).to(x.device)
        moved = x * (1 - step * r)
        inward.append(torch.where(x == 0, step * r, moved) if lift else moved)
    return at, tuple(inward)


def _warn_unconverged(max_iterations: int, delta: float, stop: float) -> None:
    """Say that loopy BP ran out of updates before its largest change fell below ``stop``."""
    # BP oscillates on some lattices (1e5-node grid: change 0.008 after 1000 updates,
    # 16 s): say so rather than hand TDA marginals that have not settled
    warnings.warn(
        f"loopy BP did not converge in max_iterations={max_iterations} updates "
        f"(largest change {delta:.2g}, tol {stop:g}); the activation marginals, and "
        "TDA's folded seeds, may be off: compare with monte_carlo, or pass "
        "iterations=10 (the paper's setting) to stop early", UserWarning,
        # the caller's line: 2 named loopy.py, which always calls this function
        stacklevel=user_stacklevel())


def _needs_certain_slopes(x: torch.Tensor, *inputs: torch.Tensor) -> bool:
    """Whether a BP product may meet a message of exactly 1 while autograd records.

    ``x`` is the messages, or the weights: ``m_{j->i} = w_ji [1 - (1 - p_j) Π (1 - m)]``
    is 1 only along an edge of weight 1. Without one the slope terms of
    :func:`_certain_slope` (and a check per BP update) are skipped; ``inputs`` are the
    other tensors autograd may record through.
    """
    return (torch.is_grad_enabled() and any(t.requires_grad for t in (x, *inputs))
            and bool((x.detach() >= 1).any()))


def _one_zero_slope(log: torch.Tensor, zeros: torch.Tensor,
                    slope: torch.Tensor) -> torch.Tensor:
    """Return the part of a product that its exact zero factors contribute to first order.

    Parameters
    ----------
    log
        Sum of the logs of the product's nonzero factors.
    zeros
        Number of its factors that are exactly 0.
    slope
        Sum of ``x - x.detach()`` over those factors ``x``: 0, with the derivative of each.

    Returns
    -------
    torch.Tensor
        0 in value. With exactly one zero factor ``x_z`` the product is ``x_z Π_others``,
        whose derivative in ``x_z`` is ``Π_others = exp(log)``: this term carries it.
        With two or more zero factors the product is flat to first order.
    """
    return torch.where((zeros - 1).abs() < 0.5, slope * torch.exp(log), 0.0)


def _product(log: torch.Tensor, zeros: torch.Tensor, slope: torch.Tensor) -> torch.Tensor:
    """Return a product from the parts of :func:`_one_zero_slope`.

    ``exp(log)`` without zero factors, else 0 with the derivative in a lone zero factor
    (its one-sided value; a plain 0 lost it, e.g. in ``p_v`` of a sure seed or ``w`` of a
    certain edge).
    """
    return torch.where(zeros > 0.5, _one_zero_slope(log, zeros, slope), torch.exp(log))


def _certain_slope(one_minus: torch.Tensor, log_sum: torch.Tensor, index: torch.Tensor,
                   n: int, *, mask: torch.Tensor | None = None,
                   src: torch.Tensor | None = None, rev: torch.Tensor | None = None,
                   has_rev: torch.Tensor | None = None) -> torch.Tensor:
    """Return the 0 to add to BP's ``exp(Σ log max(1 - m, tiny))`` for an exact derivative.

    The clip at a message of exactly 1 (a certain edge out of a sure-active node) gave that
    factor ``1 - m = 0`` a zero slope instead of minus the product of the others: the
    messages, marginals and TDA's folded seeds downstream lost their derivative in it.

    Parameters
    ----------
    one_minus
        ``1 - m``, edges on the last axis.
    log_sum
        The sums of the clipped logs that the caller formed: per node, or per edge with
        ``src``. Each clipped factor added ``log(tiny)`` to them.
    index
        Node of each factor's product (``index_add`` along the last axis into ``n``).
    mask
        Factors that take part (the others' logs were 0); all when None.
    src, rev, has_rev
        For the cavity products per edge: the node's product at the edge's tail without
        the reverse edge's factor, as in :func:`bp_messages`.

    Returns
    -------
    torch.Tensor
        Zeros, per node (or per edge with ``src``).
    """
    tiny = torch.finfo(one_minus.dtype).tiny
    zero = one_minus < tiny  # where the clip acted
    if mask is not None:
        zero = zero & mask
    # one sum for both: the number of clipped factors in value, their slopes in derivative
    counted = torch.where(zero, 1 + (one_minus - one_minus.detach()), 0.0)
    last = counted.dim() - 1
    sums = counted.new_zeros(*counted.shape[:-1], n).index_add(last, index, counted)
    if src is not None:
        sums = sums.index_select(last, src) - torch.where(
            has_rev, counted.index_select(last, rev), 0.0)
    zeros = sums.detach()
    # the others' product: log_sum without the clipped factors' log(tiny)
    return _one_zero_slope(log_sum - zeros * math.log(tiny), zeros, sums - zeros)


class _CertainEdges(NamedTuple):
    """Where batched BP messages can be exactly 1, for :func:`_with_lone_certain_slopes`."""

    cols: torch.Tensor  # the edges of weight 1 (a message is at most its weight)
    col_of: torch.Tensor  # per edge its place in cols, -1 if none
    dst: torch.Tensor
    rev: torch.Tensor  # reverse edge, -1 if none
    out_edges: torch.Tensor  # the edges sorted by tail
    out_start: torch.Tensor  # per node where its run of out_edges starts
    out_degree: torch.Tensor

    @classmethod
    def of(cls, graph: CascadeGraph, rev: torch.Tensor) -> _CertainEdges:
        """Index ``graph`` (its weights as they are now); ``rev`` from :func:`_reverse_index`."""
        w = graph.weight.detach()
        dev = w.device
        cols = torch.nonzero(w >= 1).reshape(-1)
        col_of = torch.full_like(rev, -1)
        col_of[cols] = torch.arange(cols.numel(), device=dev)
        out_degree = torch.from_numpy(np.bincount(graph.src, minlength=graph.n)).to(dev)
        return cls(cols, col_of, torch.from_numpy(graph.dst).to(dev), rev,
                   torch.from_numpy(np.argsort(graph.src, kind="stable")).to(dev),
                   torch.cumsum(out_degree, 0) - out_degree, out_degree)


def _with_lone_certain_slopes(fail: torch.Tensor, M: torch.Tensor, excl: torch.Tensor,
                              edges: _CertainEdges) -> torch.Tensor:
    """Return batched cavity products ``fail`` with the slope terms of :func:`_certain_slope`.

    The same zero-valued terms as ``_certain_slope(1 - M, excl, dst, n, src=..., rev=...,
    has_rev=...)``, formed from the list of the messages of exactly 1 (few: they run along
    chains of certain edges from the seeds) instead of arrays of all (seeds, edges). Per
    BP update the dense form recorded for autograd about as many ``(seeds, edges)``
    tensors as the update itself: seed_mixture's gradients with a certain edge took 2.5x
    the memory (12.8 GB for 5.2 GB on ER(200)), and 300 nodes no longer fitted.

    Parameters
    ----------
    fail
        ``exp(excl)``, shape ``(seeds, edges)``.
    M
        The messages that ``excl`` was formed from, same shape; each at most its edge's
        weight.
    excl
        Per message ``j -> i`` the sum over the messages into ``j`` but the one from ``i``
        of ``log(max(1 - M, tiny))``.
    edges
        The graph's certain edges and adjacency.

    Returns
    -------
    torch.Tensor
        ``fail``, same values; where a cavity product holds exactly one factor
        ``1 - M_z = 0`` it carries the derivative in ``M_z``, minus the product of the
        others (with two or more such factors the product is flat to first order).
    """
    tiny = torch.finfo(M.dtype).tiny
    values = M.detach()
    # where log(1 - M) was clipped: only along edges of weight 1
    zero = (1 - values.index_select(1, edges.cols)) < tiny
    rows, z = torch.nonzero(zero, as_tuple=True)
    if rows.numel() == 0:
        return fail
    z = edges.cols[z]
    j = edges.dst[z]
    # per clipped factor, how many are clipped into its node j for its seed
    _, group, size = torch.unique(rows * edges.out_start.numel() + j, return_inverse=True,
                                  return_counts=True)
    count = size[group]
    # pair each clipped z = k -> j with the messages j -> i (i != k) whose cavity holds it
    deg = edges.out_degree[j]
    pick = torch.repeat_interleave(deg)  # the clipped factor of each pair
    e = edges.out_edges[(edges.out_start[j] - torch.cumsum(deg, 0) + deg)[pick]
                        + torch.arange(pick.numel(), device=M.device)]
    rows, z, count = rows[pick], z[pick], count[pick]
    # a message j -> i leaves out the factor from i
    back = edges.col_of[edges.rev[e].clamp_min(0)]  # i -> j among the certain edges
    back_zero = (edges.rev[e] >= 0) & (back >= 0) & zero[rows, back.clamp_min(0)]
    lone = (e != edges.rev[z]) & (count - back_zero.to(count.dtype) == 1)
    rows, e, z = rows[lone], e[lone], z[lone]
    # the others' product: excl without the clipped factor's log(tiny)
    others = torch.exp(excl.detach()[rows, e] - math.log(tiny))
    slope = others * (values[rows, z] - M[rows, z])  # 1 - M_z's: 0, with its derivative
    return fail.index_put((rows, e), slope, accumulate=True)


def bp_marginals(
    graph: CascadeGraph,
    p: torch.Tensor,
    *,
    iterations: int | None = None,
    messages: torch.Tensor | None = None,
) -> torch.Tensor:
    """Activation marginals ``P(node i active)`` from loopy BP (exact on forests).

    Parameters
    ----------
    graph, p, iterations
        See :func:`bp_messages`.
    messages
        Precomputed messages (skips the iterations).

    Returns
    -------
    torch.Tensor
        Shape ``(n,)``.

    Examples
    --------
    >>> from biomodels.cascade import CascadeGraph, bp_marginals, seed_probabilities
    >>> g = CascadeGraph.from_edges([(0, 1, 0.5), (1, 2, 0.5)])  # a chain: BP is exact
    >>> [round(float(x), 4) for x in bp_marginals(g, seed_probabilities(g, seeds=[0]))]
    [1.0, 0.5, 0.25]
    """
    w = graph.weight
    p = check_seed_vector(graph, p)
    m = bp_messages(graph, p, iterations=iterations) if messages is None else messages
    dst = torch.from_numpy(graph.dst).to(w.device)
    tiny = torch.finfo(w.dtype).tiny
    log1m = torch.log((1 - m).clamp_min(tiny))
    S = torch.zeros(graph.n, dtype=w.dtype, device=w.device).index_add(0, dst, log1m)
    fail = torch.exp(S)
    if _needs_certain_slopes(m):
        fail = fail + _certain_slope(1 - m, S, dst, graph.n)
    return 1 - (1 - p) * fail


def _log_nonzero(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split ``x`` into the parts of :func:`_product`.

    ``log x`` where ``x > 0`` (else 0), the indicator of ``x == 0``, and there a 0 with the
    derivative of ``x``.
    """
    zero = x <= 0
    return (torch.where(zero, 0.0, torch.log(torch.where(zero, 1.0, x))), zero,
            torch.where(zero, x - x.detach(), 0.0))


def _exclusive_sums(h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per entry the sums of ``h`` before it and after it.

    ``Σ_{a<b} h_a h_b = Σ_b h_b before_b`` and the partners' sum ``before + after``:
    ``((Σh)² - Σh²)/2`` and ``Σh - h_v`` cancelled to 0 when one near-sure seed
    (``p = 1 - 2^-52``, ``h ~ 4e15``) dominated, losing ``P(2) = 0.1``.
    """
    before = torch.cat([h.new_zeros(1), torch.cumsum(h, 0)[:-1]])
    after = torch.cat([torch.flip(torch.cumsum(torch.flip(h, [0]), 0), [0])[1:],
                       h.new_zeros(1)])
    return before, after


def exact_small_sizes(graph: CascadeGraph, p: torch.Tensor) -> torch.Tensor:
    """Exact ``P(size = 0)``, ``P(size = 1)`` and ``P(size = 2)`` on any network.

    The final active set is exactly ``F`` when the cascade started inside ``F``, reached
    all of ``F`` and every edge leaving ``F`` failed (each edge is tried once). For
    ``|F| <= 2`` this is a closed form: ``P(F = {v}) = p_v Π_{u≠v}(1-p_u) Π_x (1-w_vx)`` and
    ``P(F = {a, b}) = Π_{u∉{a,b}}(1-p_u) R_ab Π_{x≠b}(1-w_ax) Π_{x≠a}(1-w_bx)`` with
    ``R_ab = p_a p_b + p_a(1-p_b) w_ab + (1-p_a) p_b w_ba``. Pairs without a link are
    summed in closed form (``O(n + edges)``); products that exclude a factor count exact
    zeros instead of dividing, so sure seeds and certain edges are handled exactly.

    Parameters
    ----------
    graph
        The network.
    p
        Seed probabilities, shape ``(n,)``.

    Returns
    -------
    torch.Tensor
        ``[P(0), P(1), P(2)]`` (fewer entries when ``n < 2``); differentiable, also at a
        sure seed (``p_v = 1``) or a certain edge (``w = 1``), where the derivative is
        the one-sided one (``P(k)`` is linear in each ``p_v`` and ``w``).

    Examples
    --------
    >>> import networkx as nx
    >>> from biomodels.cascade import CascadeGraph, exact_small_sizes, seed_probabilities
    >>> g = CascadeGraph.from_networkx(nx.cycle_graph(3), default=0.5)  # a triangle
    >>> P = exact_small_sizes(g, seed_probabilities(g, seeds=[0]))
    >>> [round(float(x), 4) for x in P]  # P(1) = 0.5^2, P(2) = 2 * 0.5^3
    [0.0, 0.25, 0.25]
    """
    return _small_sets(graph, p)[0]


def _linked_pair_tables(graph: CascadeGraph, w: torch.Tensor, lw: torch.Tensor,
                        zw: torch.Tensor, sw: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Index the undirected links ``(a, b)`` and their edges, for the linked-pair terms.

    Returns ``a``, ``b``, the indices of the edges ``a -> b`` and ``b -> a`` (``m``, one
    past the last edge, where a direction is missing), and ``w`` with its
    :func:`_log_nonzero` parts ``lw``, ``zw`` (as ``w``'s dtype) and ``sw``, each padded
    with one 0 that the missing directions index.
    """
    a_np, b_np, e_ab, e_ba = graph.undirected_links()
    dev = w.device
    m = graph.num_edges
    return (torch.from_numpy(a_np).to(dev), torch.from_numpy(b_np).to(dev),
            torch.from_numpy(np.where(e_ab >= 0, e_ab, m)).to(dev),
            torch.from_numpy(np.where(e_ba >= 0, e_ba, m)).to(dev),
            torch.cat([w, w.new_zeros(1)]), torch.cat([lw, lw.new_zeros(1)]),
            torch.cat([zw, zw.new_zeros(1)]).to(w.dtype), torch.cat([sw, sw.new_zeros(1)]))


def _small_sets(
    graph: CascadeGraph, p: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Exact head of the size distribution and which nodes make up the sizes 1 and 2.

    The closed forms of :func:`exact_small_sizes`, kept per node as well as summed.

    Parameters
    ----------
    graph
        The network.
    p
        Seed probabilities, shape ``(n,)``.

    Returns
    -------
    head : torch.Tensor
        ``[P(0), P(1), P(2)]`` as :func:`exact_small_sizes` returns it.
    single : torch.Tensor
        ``P(final set = {v})`` per node ``v``, shape ``(n,)``; sums to ``P(1)``.
    pair : torch.Tensor
        ``P(v active, size = 2) = Σ_u P(final set = {u, v})`` per node, shape ``(n,)``;
        sums to ``2 P(2)`` (zeros when ``n < 2``).
    """
    w = graph.weight
    p = check_seed_vector(graph, p)
    n = graph.n
    dev = w.device
    src = torch.from_numpy(graph.src).to(dev)
    # products as exp(Σ log) over the nonzero factors, a count of the exact zeros, and the
    # zeros' slopes: a product with one zero factor keeps its derivative in that factor
    lf, zf, sf = _log_nonzero(1 - p)  # seeds: f = 1 - p
    LF, ZF, SF = lf.sum(), zf.sum(), sf.sum()
    lw, zw, sw = _log_nonzero(1 - w)  # edge failures
    LD = torch.zeros(n, dtype=w.dtype, device=dev).index_add(0, src, lw)
    ZD = torch.zeros(n, dtype=w.dtype, device=dev).index_add(0, src, zw.to(w.dtype))
    SD = torch.zeros(n, dtype=w.dtype, device=dev).index_add(0, src, sw)
    D = _product(LD, ZD, SD)  # all out-edges of v fail

    def excl_seeds(*nodes: torch.Tensor) -> torch.Tensor:
        """Π over u outside ``nodes`` of (1 - p_u), with exact zeros."""
        lsum, zsum, ssum = LF, ZF.to(w.dtype), SF
        for v in nodes:
            lsum = lsum - lf[v]
            zsum = zsum - zf[v].to(w.dtype)
            ssum = ssum - sf[v]
        return _product(lsum, zsum, ssum)

    ar = torch.arange(n, device=dev)
    P0 = _product(LF, ZF.to(w.dtype), SF)
    single = p * excl_seeds(ar) * D
    P1 = single.sum()
    if n < 2:
        return torch.stack([P0, P1]), single, torch.zeros_like(single)
    # all pairs as if unlinked: Σ_{a<b} E_ab p_a p_b D_a D_b, by the number of sure seeds
    g = p * D  # per-node factor; E_ab = Π_{u∉{a,b}} f_u
    nz = int(ZF)
    if nz == 0:
        h = g / (1 - p)
        before, after = _exclusive_sums(h)  # Σ_{a<b} h_a h_b, and per node the partners'
        pairs = torch.exp(LF) * (h * before).sum()
        pair = torch.exp(LF) * h * (before + after)
    elif nz == 1:
        z = int(torch.nonzero(zf)[0])
        h = torch.where(zf, 0.0, g / torch.where(zf, 1.0, 1 - p))
        pairs = torch.exp(LF) * g[z] * h.sum()
        # every pair holds the sure seed z (h_z = 0)
        pair = torch.exp(LF) * g[z] * h + torch.where(zf, pairs, 0.0)
    elif nz == 2:
        z1, z2 = (int(i) for i in torch.nonzero(zf).reshape(-1))
        pairs = torch.exp(LF) * g[z1] * g[z2]
        pair = torch.where(zf, pairs, 0.0)
    else:
        pairs = torch.zeros((), dtype=w.dtype, device=dev)
        pair = torch.zeros_like(single)
    if 1 <= nz <= 3:
        # the pairs that leave out a sure seed hold its factor 1 - p_z = 0: no value, but
        # their derivative in p_z, which the branches above leave out
        slope, slope_each = _sure_seed_slopes(g, p, zf, sf, nz)
        pairs = pairs + torch.exp(LF) * slope
        pair = pair + torch.exp(LF) * slope_each
    # correct the linked pairs: exact R_ab and out-products excluding the partner
    a_np = graph.undirected_links()[0]
    if a_np.size:
        a, b, iab, iba, wz, lwz, zwz, swz = _linked_pair_tables(graph, w, lw, zw, sw)
        w_ab, w_ba = wz[iab], wz[iba]

        def d_excl(v: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
            """All out-edges of ``v`` but edge ``e`` fail (exact zeros counted)."""
            return _product(LD[v] - lwz[e], ZD[v] - zwz[e], SD[v] - swz[e])

        E = excl_seeds(a, b)
        pa, pb = p[a], p[b]
        R = pa * pb + pa * (1 - pb) * w_ab + (1 - pa) * pb * w_ba
        linked = E * R * d_excl(a, iab) * d_excl(b, iba)
        unlinked = E * pa * pb * D[a] * D[b]
        fix = linked - unlinked
        pairs = pairs + fix.sum()
        pair = pair.index_add(0, a, fix).index_add(0, b, fix)
    return torch.stack([P0, P1, pairs]), single, pair


def _sure_seed_slopes(g: torch.Tensor, p: torch.Tensor, zero: torch.Tensor,
                      slope: torch.Tensor, nz: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the unlinked pairs' terms that hold a sure seed's factor ``1 - p_z = 0``.

    With ``F_u = 1 - p_u`` for ``p_u < 1`` and the zero ``F_z`` (``slope``) for the ``nz``
    sure seeds, the unlinked pairs sum to ``exp(Σ log F_u) [t²] Π_u (F_u + H_u t)``,
    ``H_u = g_u / (1 - p_u)`` (``g_u`` at a sure seed). To first order in the zeros
    ``Π_{sure}(F_z + g_z t) = t^nz Π g_z + t^(nz-1) Σ_z F_z Π_{z'≠z} g_z'``: the first
    part is the value :func:`_small_sets` has, the second (0 in value, its derivative
    in ``p_z``) is returned; beyond three sure seeds both parts vanish.

    Parameters
    ----------
    g
        ``p_v D_v`` per node.
    p
        Seed probabilities.
    zero, slope
        The sure seeds and their zeros with slope (see :func:`_log_nonzero`).
    nz
        Number of sure seeds, 1 to 3.

    Returns
    -------
    total, per_node : torch.Tensor
        The term of ``Σ_{a<b}`` and of each node's ``Σ_u`` over its partners, to be
        multiplied by ``exp(Σ log F_u)``.
    """
    sure = [int(i) for i in torch.nonzero(zero).reshape(-1)]
    h = torch.where(zero, 0.0, g / torch.where(zero, 1.0, 1 - p))  # the others' H_u
    before, after = _exclusive_sums(h)
    e = [h.new_ones(()), h.sum(), (h * before).sum()]  # [t^k] Π_others (1 + H_u t)

    def lead(zs: list[int]) -> torch.Tensor:
        """Σ_z F_z Π_{z'≠z} g_z' over the sure seeds ``zs``."""
        out = h.new_zeros(())
        for z in zs:
            term = slope[z]
            for y in zs:
                if y != z:
                    term = term * g[y]
            out = out + term
        return out

    q = lead(sure)
    total = q * e[3 - nz]
    # a node's partners: all but itself; for a node that is not sure that leaves the
    # other nodes' sums (before + after) in place of e1, 1 in place of e0
    per_node = h * q * [before + after, h.new_ones(()), h.new_zeros(())][nz - 1]
    for v in sure:
        rest = lead([z for z in sure if z != v])
        per_node = per_node + torch.where(torch.arange(h.shape[0], device=h.device) == v,
                                          g[v] * rest * e[3 - nz], 0.0)
    return total, per_node


def _spanning_tree_edges(graph: CascadeGraph, edge_score: np.ndarray,
                         groups: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask of the directed edges whose link is in a maximum spanning forest.

    The score of a link is the sum of ``edge_score`` over its two directions; ties are
    broken by the sum of the weights.

    With ``groups`` (one component label per node, ``graph`` a disjoint union) each
    component's scores are scaled by its own largest, as on the component alone, and links
    whose scores still tie are taken in the order of their endpoints: each component's tree
    then depends on that component only (scipy's sort broke ties by the whole array, so
    identical households got different trees).
    """
    a, b, e_ab, e_ba = graph.undirected_links()
    w = graph.weight.detach().cpu().numpy()

    def both(x: np.ndarray) -> np.ndarray:
        return np.where(e_ab >= 0, x[np.maximum(e_ab, 0)], 0.0) + np.where(
            e_ba >= 0, x[np.maximum(e_ba, 0)], 0.0
        )

    s = both(edge_score) + 1e-9 * both(w)
    if groups is None:
        s = s / max(float(s.max()), 1e-300) if s.size else s
        cost = 3.0 - s
    else:
        g = groups[a]
        top = np.zeros(int(groups.max()) + 1)
        np.maximum.at(top, g, s)
        s = s / np.maximum(top[g], 1e-300)
        # Kruskal depends on the order of the costs alone: their stable ranks keep it and
        # leave scipy no tie to break
        cost = np.empty(s.size)
        cost[np.argsort(3.0 - s, kind="stable")] = np.arange(1, s.size + 1)
    # minimum spanning tree of 3 - s == maximum spanning tree of s (all entries > 0)
    mat = sp.coo_matrix((cost, (a, b)), shape=(graph.n, graph.n)).tocsr()
    mst = minimum_spanning_tree(mat).tocoo()
    lo, hi = np.minimum(mst.row, mst.col), np.maximum(mst.row, mst.col)
    kept_keys = np.sort(lo.astype(np.int64) * graph.n + hi)
    ekey = np.minimum(graph.src, graph.dst) * graph.n + np.maximum(graph.src, graph.dst)
    pos = np.minimum(np.searchsorted(kept_keys, ekey), max(kept_keys.size - 1, 0))
    return kept_keys[pos] == ekey if kept_keys.size else np.zeros(graph.num_edges, dtype=bool)


def tda_tree(
    graph: CascadeGraph,
    p: torch.Tensor,
    *,
    iterations: int | None = None,
    spanning_tree: Literal["messages", "weights"] = "messages",
    messages: torch.Tensor | None = None,
) -> tuple[CascadeGraph, torch.Tensor]:
    """Build TDA's spanning tree and seed probabilities with folded edges (steps 1-3).

    Parameters
    ----------
    graph, p, iterations, spanning_tree, messages
        As in :func:`tda_size_distribution`.

    Returns
    -------
    tree : CascadeGraph
        The kept edges (same nodes and labels).
    p_eff : torch.Tensor
        Seed probabilities with the dropped edges' BP messages folded in.
    """
    w = graph.weight
    p = check_seed_vector(graph, p)
    if spanning_tree not in ("messages", "weights"):
        raise ValueError(f"spanning_tree: expected 'messages' or 'weights', got {spanning_tree!r}")
    m = bp_messages(graph, p, iterations=iterations) if messages is None else messages
    score = m if spanning_tree == "messages" else w
    keep = _spanning_tree_edges(graph, score.detach().cpu().numpy().astype(np.float64))
    return _fold(graph, p, m, keep)


def _fold(graph: CascadeGraph, p: torch.Tensor, m: torch.Tensor,
          keep: np.ndarray) -> tuple[CascadeGraph, torch.Tensor]:
    """Keep the spanning tree's edges ``keep`` and fold the others' messages ``m`` into ``p``.

    Step 3 of TDA; returns the tree and the folded seed probabilities (see :func:`tda_tree`).
    """
    w = graph.weight
    drop = torch.from_numpy(~keep).to(w.device)
    dst = torch.from_numpy(graph.dst).to(w.device)
    tiny = torch.finfo(w.dtype).tiny
    log1m = torch.where(drop, torch.log((1 - m).clamp_min(tiny)), 0.0)
    S = torch.zeros(graph.n, dtype=w.dtype, device=w.device).index_add(0, dst, log1m)
    fail = torch.exp(S)
    if _needs_certain_slopes(m):
        fail = fail + _certain_slope(1 - m, S, dst, graph.n, mask=drop)
    p_eff = 1 - (1 - p) * fail
    kt = torch.from_numpy(np.flatnonzero(keep)).to(w.device)
    tree = CascadeGraph(
        graph.n, graph.src[keep], graph.dst[keep], w.index_select(0, kt), graph.labels
    )
    return tree, p_eff


def tda_size_distribution(
    graph: CascadeGraph,
    p: torch.Tensor,
    *,
    iterations: int | None = None,
    spanning_tree: Literal["messages", "weights"] = "messages",
    exact_head: bool = True,
    messages: torch.Tensor | None = None,
    seed_mixture: bool = False,
    prune: float = 1e-12,
    tail_accurate: bool = False,
) -> torch.Tensor:
    """Tree Distribution Approximation of the cascade size distribution (exact on forests).

    Parameters
    ----------
    graph
        Any network. One of several weakly connected components is computed component by
        component (see Notes).
    p
        Seed probabilities, shape ``(n,)``.
    iterations
        Loopy BP updates, ``>= 1`` (None: to convergence; the paper uses 10).
    spanning_tree
        Which maximum spanning tree to keep. ``"weights"`` (the paper): link score
        ``w_uv + w_vu``. ``"messages"`` (default, our change): link score
        ``m_uv + m_vu``, the BP probabilities that the link transmits; this minimises
        the total activation mass moved onto independent pseudo-seeds, keeps the links
        around the seeds and is no longer at the mercy of tie-breaking when all weights
        are equal (3-regular graph of 1,000 nodes, one seed, w = 0.3, TV to Monte Carlo:
        0.19 -> 0.02 with ``exact_head=False``, 0.05 -> 0.015 with the default exact
        head; see tests).
    exact_head
        Our change (default True): replace ``P(size = 1)`` and ``P(size = 2)`` by their
        exact values (:func:`exact_small_sizes`) and rescale the larger sizes. This
        restores the early-extinction mode that independent pseudo-seeds wash out
        (ER, mean degree 10, w = 0.1, one seed: TV 0.91 -> about 0.4). False gives the
        paper's step 5 (only ``P(size = 0)`` exact). ``conditional_activation`` with
        ``method="tda"`` (as ``size_distribution``) always takes the exact head: its
        columns ``k <= 2`` are exact too.
    messages
        Precomputed BP messages for ``p``, one per edge (skips loopy BP; not used with
        ``seed_mixture``).
    seed_mixture
        Our change for random seeds (off by default; all ``p_v < 1``): run TDA once per
        possible seed ``v`` with ``v`` as the only seed (its own spanning tree, exact
        head) and combine the single-seed distributions ``G_v`` as independent
        contributions, ``P(z) = Π_v (1 - p_v + p_v G_v(z))`` (overlaps of cascades from
        different seeds are ignored, so it suits small ``p``). TDA's pseudo-seeds are
        independent and wash out the correlations that make cascades heavy-tailed; per
        seed they are harmless. Measured with ``p_v = 0.01`` on 1,000 nodes, TV to Monte
        Carlo: 3-regular 0.19 -> 0.03, BA 0.28 -> 0.09, ER(4) 0.42 -> 0.14. All seeds are
        batched: loopy BP runs for every single-seed problem at once, and one tree pass
        covers the disjoint union of the subgraphs the seeds reach (nodes whose
        single-seed BP marginal exceeds ``prune``), in batches of about ``2^16`` union
        nodes (a seed's components are multiplied in a product tree where there are
        many). The arithmetic is still about one TDA pass per node with ``p_v > 0``
        (1,000 nodes, single-thread CPU: 3-regular 3.3 s, ER(4) 5.7 s, BA 8-10 s; one at
        a time it took 8, 17 and 15 s). Not combined with ``tail_accurate`` (the
        mixture is formed on the unit circle).
    prune
        Nodes whose BP activation marginal from a single seed is below this are left out
        of that seed's computation (error at most about their total marginal). The mass
        the exact head leaves is spread over the sizes the kept part can reach, or put at
        size 3 where no more than two kept nodes are reachable from the seed.
    tail_accurate
        Passed to the tree pass (not with ``seed_mixture``).

    Returns
    -------
    torch.Tensor
        Approximate ``P(size = k)``, ``k = 0..n``; differentiable in weights and ``p``,
        with the one-sided derivative at ``w = 1`` and ``p = 1``. TDA is not continuous in
        the weights where the spanning tree it keeps changes: at weights where two links
        tie for it (as chains of certain edges can with ``seed_mixture``) the distribution
        jumps, and the derivative is that of the tree kept on either side (on a connected
        30-node G(n, m) graph, weights moved by 1e-16 changed P(size = 3..6) by 3-4 %,
        a step of 27 nats in the log-likelihood of 2,000 cascades; a line search or a grid
        that crosses such a point sees the step). With ``seed_mixture``
        the per-seed BP stops once its messages have settled, without the check of
        :func:`bp_messages` that their derivatives have too (it kept BP, with the
        ``seeds x edges`` messages recorded for autograd, running 2.4x as long on ER(200)
        with certain edges, for a gradient 1e-8 closer): the derivative is that of the
        update where the values settled, within about BP's tolerance of the limit.
        Where every ``p_v`` of a component with a cycle is 0 (kept when ``p`` requires
        grad) its sizes past the exact head are 0 over 0 (the tree's, scaled to the mass
        the head leaves): the derivative in each ``p_v`` is the one along ``p_v`` alone,
        ``ρ_v ∂rest/∂p_v``, so that the sizes' slopes sum to 0; BP at such a component
        runs on until its slopes settle. At ``p = 0`` the BP messages all tie, and a
        spanning tree by messages is the one by weights, which ``p > 0`` may not keep:
        finite differences then see another tree (K4 with ``w`` 0.1-0.3, far below the
        threshold: slopes up to 0.034 apart), and match with ``spanning_tree="weights"``
        (1e-5). That derivative is BP's linearisation at 0, which matches finite
        differences below the epidemic threshold (weighted non-backtracking radius < 1)
        but not above it, where any small ``p`` takes BP to its other fixed point and so
        another shape of the sizes past the head (K4 at ``w = 0.7``: slopes 0.44 and 0.51
        of sizes 3 and 4 against 0.14 and 0.81 by differences).

    Raises
    ------
    TypeError, ValueError
        If ``p`` is not one probability per node, ``iterations`` or ``prune`` is not
        valid, ``spanning_tree`` is unknown, ``messages`` is not one message per edge,
        ``seed_mixture`` meets a sure seed or ``tail_accurate``.

    Notes
    -----
    On a network of several weakly connected components (linked by structure, whatever
    the weights) the components' sizes are independent and add, so the distribution is
    the convolution of theirs. Each component with a cycle takes TDA alone, with every
    option above: its own BP (stopping when its own messages settle), spanning tree,
    folded seeds and exact head (or seed mixture). The components without a cycle,
    isolated nodes included, go through one exact tree pass; components that no seed can
    start (every ``p_v`` 0) add a point mass at 0 and are left out (unless ``p`` requires
    grad). The components with cycles are batched (one BP run, one spanning forest, one
    tree pass, their heads at once) except where a sure seed or ``seed_mixture`` asks for
    them one at a time; with ``tail_accurate`` the batch's tree pass runs in the
    coefficient domain (every size to a small relative error, no contour radius; a
    component of more than 4,096 nodes takes its own radius search), and the sizes the
    tail mode leaves unresolved are named in the network's numbering. The distributions
    are multiplied in an FFT product tree, or by direct convolutions with ``tail_accurate``
    (tiny tails keep their relative error). The network's exact ``P(0)`` (and ``P(1)``,
    ``P(2)`` with ``exact_head``) is put in front. Links of a component that tie for the
    spanning tree are taken in node order, which can keep another tree than the component
    alone (a connected network) does. A connected network is computed as before. TDA on
    the whole network put its exact head in front and rescaled every larger size
    together, which fits one component and not many: 30 households of 4 (w = 0.4,
    ``p_v = 0.05``) had a total variation of 0.68 to Monte Carlo and a mean size of 29.4
    for Monte Carlo's 15.9 (now 0.07 and 14.8); a triangle and a person without contacts
    had ``P(3)`` 0.13589 for the exact 0.135225 (now exact).

    Examples
    --------
    On a triangle seeded at node 0 the exact distribution is ``[0, 1/4, 1/4, 1/2]``. TDA
    with its exact head finds it (``P(3)`` is the mass that sizes 1 and 2 leave); the
    paper's TDA (``exact_head=False``) only approximates it:

    >>> import networkx as nx
    >>> from biomodels.cascade import CascadeGraph, seed_probabilities, tda_size_distribution
    >>> g = CascadeGraph.from_networkx(nx.cycle_graph(3), default=0.5)
    >>> p = seed_probabilities(g, seeds=[0])
    >>> [round(float(x), 4) for x in tda_size_distribution(g, p)]
    [0.0, 0.25, 0.25, 0.5]
    >>> [round(float(x), 6) for x in tda_size_distribution(g, p, exact_head=False)]
    [0.0, 0.140625, 0.46875, 0.390625]
    """
    p = check_seed_vector(graph, p)
    if spanning_tree not in ("messages", "weights"):
        raise ValueError(f"spanning_tree: expected 'messages' or 'weights', got {spanning_tree!r}")
    iterations = _check_iterations(iterations)
    # a NaN prune kept no node but the seeds (every comparison with NaN is False)
    prune = check_number("prune", prune, at_least=0)
    if graph.is_forest():
        return tree_size_distribution(graph, p, tail_accurate=tail_accurate)
    if seed_mixture:
        if bool((p.detach() >= 1).any()):
            raise ValueError(
                "seed_mixture: needs random seeds (every p_v < 1); with a fixed seed set "
                "use the default (seed_mixture=False)"
            )
        if tail_accurate:
            raise ValueError(
                "tail_accurate: not available with seed_mixture (the per-seed "
                "distributions are combined on the unit circle, which sets a 1e-16 floor)"
            )
    if messages is not None:
        # sliced per component below: a wrong length failed inside index_select
        if not isinstance(messages, torch.Tensor):
            raise TypeError(f"messages: expected a tensor of BP messages (bp_messages), got "
                            f"{type(messages).__name__}")
        if messages.shape != (graph.num_edges,):
            raise ValueError(f"messages: expected one BP message per edge, shape "
                             f"({graph.num_edges},), got {tuple(messages.shape)}")
    how = dict(iterations=iterations, spanning_tree=spanning_tree, exact_head=exact_head,
               seed_mixture=seed_mixture, prune=prune, tail_accurate=tail_accurate)
    count, comp = _weak_components(graph)
    if count > 1:
        return _tda_by_component(graph, p, comp, count, messages=messages, **how)
    return _tda_connected(graph, p, messages=messages, **how)


def _tda_connected(graph: CascadeGraph, p: torch.Tensor, *, iterations: int | None,
                   spanning_tree: str, exact_head: bool, messages: torch.Tensor | None,
                   seed_mixture: bool, prune: float, tail_accurate: bool) -> torch.Tensor:
    """TDA of a network with cycles taken as one piece (see :func:`tda_size_distribution`).

    The whole answer on a (weakly) connected network, and each component's part of it on
    one that falls apart.
    """

    def tree_part(q: torch.Tensor) -> torch.Tensor:
        """Return the distribution before the exact head: the tree pass's or mixture's."""
        if seed_mixture:
            return _seed_mixture(graph, q, iterations=iterations, spanning_tree=spanning_tree,
                                 prune=prune)
        tree, p_eff = tda_tree(
            graph, q, iterations=iterations, spanning_tree=spanning_tree, messages=messages
        )
        if tail_accurate:
            return _tail_with_boundaries(tree_plan(tree), tree.weight, p_eff, _TAIL_RADII,
                                         fixed_p=_fixed_seeds(graph, tree, q))
        return tree_size_distribution(tree, p_eff)

    if _unseeded(p):
        # the same value as below (the exact head, then 0), with the slopes it lost
        head = exact_small_sizes(graph, p) if exact_head else torch.prod(1 - p).reshape(1)
        h = head.shape[0]
        rest = _unseeded_rest(p, head.unsqueeze(0), torch.zeros_like(p, dtype=torch.long),
                              lambda q: tree_part(q)[h:].unsqueeze(0))
        return torch.cat([head, rest[0]])
    return _with_head(graph, p, tree_part(p), exact_head)


def _unseeded(p: torch.Tensor) -> bool:
    """Whether no seed can start a cascade (every ``p`` 0) while ``p`` asks for a gradient."""
    return torch.is_grad_enabled() and p.requires_grad and not bool((p.detach() != 0).any())


#: an unseeded piece's tree mass past the head must move at least this fraction of the
#: exact head's to scale its slope (:func:`_unseeded_rest`); below, it is FFT round-off
_UNSEEDED_FLOOR = 1e-6


def _unseeded_rest(p: torch.Tensor, head: torch.Tensor, row: torch.Tensor,
                   rest_of: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Return the sizes past the exact head of pieces no seed can start, with slopes.

    Where every ``p`` of a piece is 0 its tree distribution past the head and the mass
    ``left`` that the exact head leaves are both 0, and step 5 scales the one to the other,
    ``rest * left / rest.sum()``: 0, whose derivative autograd took as 0 (the batch of
    components) or spread by round-off (a 4-cycle with a chord lost 0.648 of
    ``sum_k dP_k/dp_0``, which must be 0). Along ``p_v`` alone the scaled rest is
    ``p_v ρ_v ∂rest/∂p_v + O(p_v²)`` with ``ρ_v = (∂left/∂p_v) / (∂rest.sum()/∂p_v)``:
    those are the slopes returned, from the tree pass at seeds whose derivative is scaled
    by ``ρ`` (a second pass, same values). Where the tree's mass past the head barely moves
    (``_UNSEEDED_FLOOR`` of the head's), what leaves the head goes to the first size past
    it, as :func:`_rest_after_head` does.

    Parameters
    ----------
    p
        The seed probabilities, all 0, requiring grad.
    head
        The pieces' exact heads, shape ``(K, h)``, differentiable in ``p``.
    row
        Each entry of ``p``'s piece (row of ``head``).
    rest_of
        The pieces' tree distributions past the head for seeds ``q`` (same values as
        ``p``), shape ``(K, L)``: zeros past each piece's sizes.

    Returns
    -------
    torch.Tensor
        Shape ``(K, L)``: 0 in value, with the slopes above.
    """
    rest = rest_of(p)

    def slope(y: torch.Tensor) -> torch.Tensor:
        """Return ``∂y/∂p`` (kept: the head's graph serves the result too)."""
        if not y.requires_grad:
            return torch.zeros_like(p)
        (d,) = torch.autograd.grad(y, p, retain_graph=True, allow_unused=True)
        return torch.zeros_like(p) if d is None else d.detach()

    left, mass = -slope(head.sum()), slope(rest.sum())
    scaled = mass > _UNSEEDED_FLOOR * left.abs()
    ratio = torch.where(scaled, left / torch.where(scaled, mass, 1.0), 0.0)
    bump = p - p.detach()
    rest = rest_of(p.detach() + ratio * bump)
    out = rest - rest.detach()
    # the tail mode's head and rest are float64 whatever p's dtype
    lost = torch.zeros(head.shape[0], dtype=out.dtype, device=out.device).index_add(
        0, row, (torch.where(scaled, 0.0, left) * bump).to(out.dtype))
    return torch.cat([out[:, :1] + lost.unsqueeze(1), out[:, 1:]], dim=1)


def _weak_components(graph: CascadeGraph) -> tuple[int, np.ndarray]:
    """Return the number of weakly connected components of ``graph`` and each node's.

    By structure: a link of weight 0 joins its ends too, so that a fit's weights never
    move a network from one way of computing to the other.
    """
    n = graph.n
    adj = sp.csr_array((np.ones(graph.num_edges, dtype=np.int8), (graph.src, graph.dst)),
                       shape=(n, n))
    count, comp = csgraph.connected_components(adj, directed=True, connection="weak")
    return int(count), comp.astype(np.int64)


class _Components(NamedTuple):
    """The nodes and edges of a graph grouped by weakly connected component."""

    comp: np.ndarray  # component of each node
    node_order: np.ndarray  # nodes by component, in node order within one
    node_start: np.ndarray  # where each component's run of node_order starts (+ the end)
    edge_order: np.ndarray  # edges by the component of their tail, in edge order within one
    edge_start: np.ndarray
    local: np.ndarray  # each node's index within its component
    cyclic: np.ndarray  # whether a component has a cycle (links >= nodes)

    @classmethod
    def of(cls, graph: CascadeGraph, comp: np.ndarray, count: int) -> _Components:
        """Group ``graph`` by the labels ``comp`` (from :func:`_weak_components`)."""
        node_order = np.argsort(comp, kind="stable")
        sizes = np.bincount(comp, minlength=count)
        node_start = np.concatenate([[0], np.cumsum(sizes)])
        local = np.empty(graph.n, dtype=np.int64)
        local[node_order] = np.arange(graph.n) - node_start[comp[node_order]]
        tail = comp[graph.src]
        edge_order = np.argsort(tail, kind="stable")
        edge_start = np.concatenate([[0], np.cumsum(np.bincount(tail, minlength=count))])
        a, _, _, _ = graph.undirected_links()
        links = np.bincount(comp[a], minlength=count)
        return cls(comp, node_order, node_start, edge_order, edge_start, local, links >= sizes)

    def one(self, graph: CascadeGraph, p: torch.Tensor,
            c: int) -> tuple[CascadeGraph, torch.Tensor, torch.Tensor]:
        """Component ``c`` as a graph of its own: the graph, its ``p`` and its edges' indices."""
        nodes = self.node_order[self.node_start[c]:self.node_start[c + 1]]
        edges = self.edge_order[self.edge_start[c]:self.edge_start[c + 1]]
        return _induced(graph, p, nodes, edges, self.local)

    def union(self, graph: CascadeGraph, p: torch.Tensor, cs: np.ndarray
              ) -> tuple[CascadeGraph, torch.Tensor, torch.Tensor, np.ndarray, np.ndarray]:
        """Return the disjoint union of the components ``cs`` (ascending) as a graph.

        Its nodes come component by component, in node order within one; its edges in the
        graph's order, so that every node sums its incoming messages in the same order as
        on its component alone. Returned with its ``p``, its edges' indices in ``graph``,
        each node's component as its rank in ``cs``, and its nodes' indices in ``graph``.
        """
        chosen = np.zeros(self.node_start.size - 1, dtype=bool)
        chosen[cs] = True
        nodes = self.node_order[chosen[self.comp[self.node_order]]]
        edges = np.flatnonzero(chosen[self.comp[graph.src]])
        new = np.full(graph.n, -1, dtype=np.int64)
        new[nodes] = np.arange(nodes.size)
        sub, q, e = _induced(graph, p, nodes, edges, new)
        return sub, q, e, np.searchsorted(cs, self.comp[nodes]), nodes


def _induced(graph: CascadeGraph, p: torch.Tensor, nodes: np.ndarray, edges: np.ndarray,
             new: np.ndarray) -> tuple[CascadeGraph, torch.Tensor, torch.Tensor]:
    """Return the subgraph on ``nodes`` with ``edges`` (all among them), ``v`` renamed ``new[v]``.

    With its ``p`` and its edges' indices; its weights and ``p`` are slices of the graph's
    (autograd reaches the originals).
    """
    dev = graph.weight.device
    e = torch.from_numpy(edges).to(dev)
    sub = CascadeGraph(nodes.size, new[graph.src[edges]], new[graph.dst[edges]],
                       graph.weight.index_select(0, e),
                       tuple(graph.labels[i] for i in nodes.tolist()))
    return sub, p.index_select(0, torch.from_numpy(nodes).to(dev)), e


def _tda_by_component(graph: CascadeGraph, p: torch.Tensor, comp: np.ndarray, count: int,
                      *, iterations: int | None, spanning_tree: str, exact_head: bool,
                      messages: torch.Tensor | None, seed_mixture: bool, prune: float,
                      tail_accurate: bool) -> torch.Tensor:
    """TDA on a network of several weakly connected components: each alone, then convolved.

    Independent components' sizes add, so the distribution is the convolution of theirs.
    TDA on the whole network put the exact head of the whole network in front and rescaled
    all larger sizes together, which fits one component and not many (30 households of 4,
    w = 0.4, p = 0.05: total variation 0.68 to Monte Carlo, mean size 29.4 for 15.9).

    The components without a cycle go through one exact tree pass; those that no seed can
    start (every ``p`` 0) add a point mass at 0 and are left out, unless ``p`` requires grad.
    The others take TDA with their own exact head: in one batch (one BP run, each component
    stopping on its own, one spanning forest, one tree pass), or one by one where the batch
    does not apply (a sure seed, ``seed_mixture``, and in the tail-accurate mode a
    component of more than ``_TAIL_BATCH_NODES`` nodes). In the tail-accurate mode the
    batch's tree pass runs in the coefficient domain
    (:func:`~biomodels.cascade.tail._direct_upward`), whose sizes keep a small relative
    error without any radius: one radius search per household took 42 s on 4,000 K4
    households (0.46 s for TDA on the whole network; now 0.26 s). The distributions are
    multiplied in a product tree (FFT; exact direct convolutions in the tail-accurate
    mode, so that tiny tails keep their relative error), and the network's exact ``P(0)``
    (and ``P(1)``, ``P(2)`` with ``exact_head``), which the convolution holds up to
    round-off, put in front. Sizes that a tail pass left unresolved are named in the
    network's numbering, those of the convolution that an unresolved size of a component
    reaches (each pass left its component's sizes, and the last pass's stood).
    """
    w = graph.weight
    dev = w.device
    n = graph.n
    parts = _Components.of(graph, comp, count)
    grad_p = torch.is_grad_enabled() and p.requires_grad
    pn = p.detach().cpu().numpy()
    seeded = np.bincount(comp, weights=pn > 0, minlength=count) > 0
    cyclic = np.flatnonzero(parts.cyclic & (seeded | grad_p))
    how = dict(iterations=iterations, spanning_tree=spanning_tree, exact_head=exact_head,
               seed_mixture=seed_mixture, prune=prune, tail_accurate=tail_accurate)
    rows: list[tuple[torch.Tensor, np.ndarray]] = []
    # per tail pass: its row in rows and the sizes it left unresolved, in its own numbering
    loose: list[tuple[int, np.ndarray]] = []
    with _held_warnings() if tail_accurate else contextlib.nullcontext([]) as held:

        def add(run: Callable[..., torch.Tensor], *args: object, **kwargs: object) -> None:
            """Append ``run(*args, **kwargs)`` to rows (and its tail pass's unresolved sizes)."""
            if tail_accurate:
                _record_unresolved(np.zeros(0, dtype=np.int64))
            P = run(*args, **kwargs)
            if tail_accurate:
                loose.append((len(rows), _last_unresolved()))
            rows.append(_one_row(P))

        if not parts.cyclic.all():  # forests and isolated nodes: exact, in one pass
            F, pF, _, _, _ = parts.union(graph, p, np.flatnonzero(~parts.cyclic))
            add(tree_size_distribution, F, pF, tail_accurate=tail_accurate)
        if seed_mixture:
            alone, batch = cyclic, cyclic[:0]
        else:
            lone = np.bincount(comp, weights=pn >= 1, minlength=count) > 0  # sure seeds
            if tail_accurate:  # the direct pass costs up to O(nodes^2) per component
                lone |= np.diff(parts.node_start) > _TAIL_BATCH_NODES
            alone, batch = cyclic[lone[cyclic]], cyclic[~lone[cyclic]]
        for c in alone.tolist():
            sub, pc, edges = parts.one(graph, p, c)
            mc = None if messages is None else messages.index_select(0, edges)
            add(_tda_connected, sub, pc, messages=mc, **how)
        # the components no seed can start (kept for their gradient) in a batch of their own
        for cs, unseeded in ((batch[seeded[batch]], False), (batch[~seeded[batch]], True)):
            if cs.size:
                rows.extend(_tda_batch(graph, p, parts, cs, iterations=iterations,
                                       spanning_tree=spanning_tree, exact_head=exact_head,
                                       messages=messages, tail=tail_accurate,
                                       unseeded=unseeded))
    P = _convolve_rows(rows, n + 1, w.dtype, dev, direct=tail_accurate)
    if tail_accurate:
        reached = _reached_sizes(rows, loose, n)
        _record_unresolved(reached)
        _warn_parts_unresolved(reached, held)
    head = exact_small_sizes(graph, p) if exact_head else torch.prod(1 - p).reshape(1)
    return torch.cat([head, P[head.shape[0]:]])


#: components of at most this many nodes take the tail-accurate mode in one batch, with
#: the coefficient-domain tree pass (up to O(nodes^2) each); larger ones their own search
_TAIL_BATCH_NODES = 4096


def _reached_sizes(rows: list[tuple[torch.Tensor, np.ndarray]],
                   loose: list[tuple[int, np.ndarray]], n: int) -> np.ndarray:
    """Return the network's sizes that a component's unresolved size reaches.

    Parameters
    ----------
    rows
        The components' distributions, as :func:`_convolve_rows` takes them.
    loose
        Per tail pass, its row in ``rows`` (a batch of one) and the sizes it left
        unresolved, numbered as in that row.
    n
        Number of nodes of the network.

    Returns
    -------
    numpy.ndarray
        Sorted sizes ``k <= n``: ``j + m`` for an unresolved size ``j`` of one row and a
        size ``m`` of the others together (a positive entry of theirs, or unresolved).
    """
    bad = {i: s for i, s in loose if s.size}
    if not bad:
        return np.zeros(0, dtype=np.int64)

    def bits(mask: np.ndarray) -> int:
        return int.from_bytes(np.packbits(mask, bitorder="little").tobytes(), "little")

    def unresolved(sizes: np.ndarray) -> int:
        mask = np.zeros(int(sizes.max()) + 1, dtype=bool)
        mask[sizes] = True
        return bits(mask)

    clean, dirty = 1, {}  # sets of sizes as bitsets (bit k: size k)
    for i, (X, lens) in enumerate(rows):
        on = (X.detach() > 0).cpu().numpy()
        for j, k in enumerate(lens.tolist()):
            s = bits(on[j, :k])
            if i in bad:
                dirty[i] = s | unresolved(bad[i])
            else:
                clean = _minkowski(clean, s)
    out = 0
    for i in dirty:
        others = clean
        for o, s in dirty.items():
            others = _minkowski(others, s) if o != i else others
        out |= _minkowski(unresolved(bad[i]), others)
    mask = np.unpackbits(np.frombuffer(out.to_bytes(out.bit_length() // 8 + 1, "little"),
                                       dtype=np.uint8), bitorder="little")
    return np.flatnonzero(mask[: n + 1]).astype(np.int64)


def _one_row(P: torch.Tensor) -> tuple[torch.Tensor, np.ndarray]:
    """Return a distribution as a batch of one row for :func:`_convolve_rows`."""
    return P.unsqueeze(0), np.array([P.shape[0]], dtype=np.int64)


def _convolve_rows(rows: list[tuple[torch.Tensor, np.ndarray]], n_out: int,
                   dtype: torch.dtype, device: torch.device, *, direct: bool) -> torch.Tensor:
    """Convolve distributions given as batches of zero-padded rows with their true lengths.

    Parameters
    ----------
    rows
        ``(X, lens)`` pairs: row ``i`` of ``X`` holds a distribution of ``lens[i]``
        entries, followed by zeros.
    n_out
        Length of the result (cut or padded with zeros).
    dtype, device
        Of the result.
    direct
        Direct convolutions (in float64) in a product tree: sums of products of
        nonnegative numbers, every entry with a small relative error. Else an FFT product
        tree (:func:`~biomodels.cascade.passes._tree_product`), round-off about ``eps``
        of the largest entry, clipped to ``[0, 1]``.

    Returns
    -------
    torch.Tensor
        Shape ``(n_out,)``; a point mass at 0 when ``rows`` is empty.
    """
    if not rows:
        out = torch.zeros(n_out, dtype=dtype, device=device)
        out[0] = 1
        return out
    if direct:
        polys = [X[i, : int(k)].to(torch.float64) for X, lens in rows for i, k in enumerate(lens)]
        while len(polys) > 1:
            polys.sort(key=lambda x: x.shape[0])  # similar lengths together
            half = len(polys) // 2 * 2
            polys = (_convolve_pairs(polys[0:half:2], polys[1:half:2], n_out)
                     + polys[half:])
        out = polys[0][:n_out].to(dtype)
        return torch.nn.functional.pad(out, (0, n_out - out.shape[0]))
    lens = np.concatenate([k for _, k in rows])
    view = _RootsView(np.arange(lens.size), lens - 1,
                      np.concatenate([np.full(k.size, i) for i, (_, k) in enumerate(rows)]),
                      np.concatenate([np.arange(k.size) for _, k in rows]))
    coef, _ = _tree_product(view, [X.unsqueeze(1) for X, _ in rows], n_out, device, False)
    return clip_probability(coef)


def _convolve_pairs(left: list[torch.Tensor], right: list[torch.Tensor],
                    n_out: int) -> list[torch.Tensor]:
    """Convolve ``left[i]`` with ``right[i]`` by sums of products, cut after ``n_out`` terms.

    The pairs come in ascending length; runs of pairs whose lengths stay within twice the
    first's are multiplied as one batch of zero-padded rows
    (:class:`~biomodels.cascade.tail._PolyMul`, a Toeplitz matrix product, differentiable):
    one ``conv1d`` per pair took 1.0 s of the 1.1 s for 4,000 households (0.5 s for two
    rows of 8,000 terms, 0.09 s as a matrix product).
    """
    out: list[torch.Tensor] = []
    i = 0
    while i < len(left):
        limit = 2 * right[i].shape[0]
        j = i + 1
        while j < len(left) and right[j].shape[0] <= limit:
            j += 1
        la = max(x.shape[0] for x in left[i:j])
        lb = max(x.shape[0] for x in right[i:j])
        width = min(la + lb - 1, n_out)
        A = torch.stack([torch.nn.functional.pad(x, (0, la - x.shape[0])) for x in left[i:j]])
        B = torch.stack([torch.nn.functional.pad(x, (0, lb - x.shape[0])) for x in right[i:j]])
        C = _PolyMul.apply(A, B, width)
        out.extend(C[k, : min(a.shape[0] + b.shape[0] - 1, n_out)]
                   for k, (a, b) in enumerate(zip(left[i:j], right[i:j])))
        i = j
    return out


def _tda_batch(graph: CascadeGraph, p: torch.Tensor, parts: _Components, cs: np.ndarray, *,
               iterations: int | None, spanning_tree: str, exact_head: bool,
               messages: torch.Tensor | None, tail: bool = False,
               unseeded: bool = False) -> list[tuple[torch.Tensor, np.ndarray]]:
    """TDA with its own head for each of the components ``cs``, in one pass over their union.

    As :func:`_tda_connected` on each alone (no sure seed): the same BP updates, each
    component's stopping when its own largest change (and under the derivative probe its
    slopes) does; one spanning forest (each component's tree as alone where its links do
    not tie); one tree pass, whose roots' messages are the components' distributions; their
    exact heads in closed form for all at once. With ``tail`` the tree pass runs in float64 in
    the coefficient domain (:func:`~biomodels.cascade.tail._direct_upward`): every size
    to a small relative error, as the tail-accurate mode asks. With ``unseeded`` (every
    ``p`` of ``cs`` 0, ``p`` requiring grad) the sizes past the heads get the slopes of
    :func:`_unseeded_rest`.

    Returns
    -------
    list of (torch.Tensor, numpy.ndarray)
        Batches of rows for :func:`_convolve_rows`: each component's distribution.
    """
    U, pU, edges, group, _ = parts.union(graph, p, cs)
    K = cs.size
    dev = U.weight.device
    given = None if messages is None else messages.index_select(0, edges)
    keep: np.ndarray | None = None  # the spanning forest and its plan: the same every call
    plan: TreePlan | None = None

    def root_rows(q: torch.Tensor) -> list[tuple[torch.Tensor, np.ndarray, np.ndarray]]:
        """Return per batch of roots their tree distributions for seeds ``q``, lengths, roots."""
        nonlocal keep, plan
        if given is None:
            m = _bp_by_component(U, q, group[U.src], K, iterations=iterations)
        else:
            m = given
        if keep is None:
            score = m if spanning_tree == "messages" else U.weight
            keep = _spanning_tree_edges(U, score.detach().cpu().numpy().astype(np.float64),
                                        groups=group)
        tree, p_eff = _fold(U, q, m, keep)
        plan = tree_plan(tree) if plan is None else plan
        roots = np.asarray(plan.roots)
        if tail:
            top = int(plan.size[roots].max()) + 1
            outs = _direct_upward(plan, tree.weight.double(), p_eff.double(), top)
            stores = [None if o is None else o[0] for o in outs]
        else:
            stores, _ = _upward(plan, tree.weight, p_eff, 1.0)
        # every component is connected: its spanning tree has one root, whose B message is
        # the component's distribution
        out = []
        for b in np.unique(plan.node_batch[roots]).tolist():
            r = roots[plan.node_batch[roots] == b]
            lens = plan.size[r].astype(np.int64) + 1
            X = stores[b].index_select(0, torch.from_numpy(plan.node_row[r]).to(dev))[:, 0]
            X = torch.nn.functional.pad(X, (0, max(0, int(lens.max()) - X.shape[1])))
            out.append((X[:, : int(lens.max())], lens, r))
        return out

    def heads() -> torch.Tensor:
        """Return the components' exact heads, shape ``(K, h)`` (float64 with ``tail``)."""
        V, pV = (U.with_weight(U.weight.double()), pU.double()) if tail else (U, pU)
        if exact_head:
            return _component_heads(V, pV, group, K)
        lf = torch.log(1 - pV)  # no sure seed here
        g = torch.from_numpy(group).to(dev)
        return torch.exp(lf.new_zeros(K).index_add(0, g, lf)).unsqueeze(1)

    if unseeded:
        head = heads()
        h = head.shape[1]
        lens = np.bincount(group, minlength=K).astype(np.int64) + 1
        L = int(lens.max())
        end = torch.from_numpy(lens - h).to(dev).unsqueeze(1)

        def rest_of(q: torch.Tensor) -> torch.Tensor:
            out = head.new_zeros(K, max(L - h, 0))
            for X, _, r in root_rows(q):
                X = torch.nn.functional.pad(X, (0, L - X.shape[1]))[:, h:].to(out.dtype)
                out = out.index_copy(0, torch.from_numpy(group[r]).to(dev), X)
            col = torch.arange(out.shape[1], device=dev)
            return torch.where(col < end, out, 0.0)  # round-off past each one's sizes

        rest = _unseeded_rest(pU, head, torch.from_numpy(group).to(dev), rest_of)
        return [(torch.cat([head, rest], dim=1), lens)]
    rows = root_rows(pU)
    head = heads()  # after the tree pass: the order in which autograd sums the gradients
    out = []
    for X, lens, r in rows:
        rows_head = head.index_select(0, torch.from_numpy(group[r]).to(dev))
        out.append((_after_head_rows(X, lens, rows_head), lens))
    return out


def _batch_trees(graph: CascadeGraph, p: torch.Tensor, parts: _Components, cs: np.ndarray, *,
                 iterations: int | None, spanning_tree: str, messages: torch.Tensor | None
                 ) -> tuple[CascadeGraph, torch.Tensor, np.ndarray, np.ndarray, CascadeGraph,
                            torch.Tensor]:
    """TDA's steps 1-3 on the union of the components ``cs``, each as alone (:func:`_tda_batch`).

    Returns
    -------
    tuple
        The union and its ``p`` (:meth:`_Components.union`), each of its nodes' component
        (rank in ``cs``) and index in ``graph``, its spanning forest and folded seed
        probabilities.
    """
    U, pU, edges, group, nodes = parts.union(graph, p, cs)
    if messages is None:
        m = _bp_by_component(U, pU, group[U.src], cs.size, iterations=iterations)
    else:
        m = messages.index_select(0, edges)
    score = m if spanning_tree == "messages" else U.weight
    keep = _spanning_tree_edges(U, score.detach().cpu().numpy().astype(np.float64),
                                groups=group)
    tree, p_eff = _fold(U, pU, m, keep)
    return U, pU, group, nodes, tree, p_eff


def _after_head_rows(X: torch.Tensor, lens: np.ndarray, head: torch.Tensor) -> torch.Tensor:
    """:func:`_with_head` for rows of tree distributions: ``head`` in front, the rest rescaled.

    Row ``i`` of ``X`` is a tree distribution of ``lens[i]`` entries (round-off beyond);
    the result holds ``head[i]`` and then the row's sizes past the head, clipped to
    ``[0, 1]`` and scaled to the mass the head leaves, and zeros past ``lens[i]``.
    """
    dev = X.device
    col = torch.arange(X.shape[1], device=dev)
    end = torch.from_numpy(lens).to(dev).unsqueeze(1)
    h = head.shape[1]
    rest = torch.where((col >= h) & (col < end), clip_probability(X), 0.0)
    left = clip_negative(1 - head.sum(1))
    tiny = torch.finfo(X.dtype).tiny
    scaled = rest * (left / rest.sum(1).clamp_min(tiny)).unsqueeze(1)
    return torch.where(col < h, torch.nn.functional.pad(head, (0, X.shape[1] - h)), scaled)


def _bp_by_component(graph: CascadeGraph, p: torch.Tensor, groups: np.ndarray, count: int,
                     *, iterations: int | None, tol: float = 1e-10,
                     max_iterations: int = 1000) -> torch.Tensor:
    """Loopy BP messages on a disjoint union, each component stopping on its own.

    The updates of :func:`bp_messages`, with its slope terms at certain edges and its
    derivative probe where autograd records through one or every ``p`` is 0 (no sure
    seed here: the caller computes those components alone). A component's messages are
    kept from the update at which its own largest change fell below the tolerance, as BP
    on it alone: a slowly settling component elsewhere does not move them. With the probe
    a component updates on until its own slopes have settled too, and keeps the
    derivative of its last update (as :func:`_bp_loop`).

    Parameters
    ----------
    graph, p
        The union and its seed probabilities.
    groups
        Component (``0..count-1``) of each edge.
    count
        Number of components.
    iterations, tol, max_iterations
        As in :func:`bp_messages`.

    Returns
    -------
    torch.Tensor
        The messages, one per edge.
    """
    w = graph.weight
    n = graph.n
    dev = w.device
    src = torch.from_numpy(graph.src).to(dev)
    dst = torch.from_numpy(graph.dst).to(dev)
    rev = torch.from_numpy(_reverse_index(graph)).to(dev)
    has_rev = rev >= 0
    rev_c = rev.clamp_min(0)
    tiny = torch.finfo(w.dtype).tiny
    stop = _rounding_tol(tol, w.dtype)
    certain = _needs_certain_slopes(w, p)

    def update(m: torch.Tensor, w: torch.Tensor = w, p: torch.Tensor = p) -> torch.Tensor:
        log1m = torch.log((1 - m).clamp_min(tiny))
        S = torch.zeros(n, dtype=w.dtype, device=dev).index_add(0, dst, log1m)
        excl = S.index_select(0, src) - torch.where(has_rev, log1m.index_select(0, rev_c), 0.0)
        if certain and torch.is_grad_enabled():  # (not in the probe: 0 in value)
            fail = torch.exp(excl) + _certain_slope(1 - m, excl, dst, n, src=src, rev=rev_c,
                                                    has_rev=has_rev)
            return w * (1 - (1 - p.index_select(0, src)) * fail)
        return w * (1 - (1 - p.index_select(0, src)) * torch.exp(excl))

    m = p.index_select(0, src) * w
    if iterations is not None:
        for _ in range(iterations):
            m = update(m)
        return m
    g = torch.from_numpy(groups).to(dev)
    lift = _unseeded(p)
    if (certain or lift) and m.numel():
        return _bp_probed(lambda w, p: p.index_select(0, src) * w, update, (w, p), g, count,
                          max_iterations=max_iterations, stop=stop, lift=lift)
    active = torch.ones(count, dtype=torch.bool, device=dev)
    change = torch.zeros(count, dtype=w.dtype, device=dev)
    for _ in range(max_iterations):
        new = update(m)
        with torch.no_grad():
            change = torch.zeros(count, dtype=w.dtype, device=dev).scatter_reduce(
                0, g, (new - m).abs(), "amax")
        m = torch.where(active.index_select(0, g), new, m)
        active = active & (change >= stop)
        if not bool(active.any()):
            break
    else:
        _warn_unconverged(max_iterations, float(change[active].max()), stop)
    return m


def _bp_probed(init: Callable[..., torch.Tensor], update: Callable[..., torch.Tensor],
               params: tuple[torch.Tensor, torch.Tensor], g: torch.Tensor, count: int, *,
               max_iterations: int, stop: float, lift: bool) -> torch.Tensor:
    """:func:`_bp_loop`'s updates with the derivative probe, each component on its own.

    A certain edge under autograd sent its household through TDA alone (1,000 households:
    1.65 s for 0.20 s). Component ``c`` (edges ``g == c``) stops at the first update at
    which its largest change is below ``stop`` and its probe's slopes have settled; its
    messages keep the value of the update at which they first settled, with the
    derivative of its last one.

    Parameters
    ----------
    init, update
        The first messages and one update, as in :func:`_bp_loop`.
    params
        The weights and seed probabilities of the union.
    g
        Component of each edge.
    count
        Number of components.
    max_iterations, stop, lift
        As in :func:`_bp_loop`.

    Returns
    -------
    torch.Tensor
        The messages.
    """
    m = init(*params)
    dev = m.device
    step = 1e-4  # as in _bp_loop
    at, inward = _probe_inputs(params, step, lift)
    own = all(x.dtype == torch.float64 for x in params)

    def per_component(x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(count, dtype=x.dtype, device=dev).scatter_reduce(0, g, x, "amax")

    with torch.no_grad():
        pair = [m.detach() if own else init(*at), init(*inward)]
    slope = (pair[0] - pair[1]) / step
    active = torch.ones(count, dtype=torch.bool, device=dev)
    settled = torch.zeros(count, dtype=torch.bool, device=dev)
    held = m.detach()  # each component's messages where they first settled
    change = torch.zeros(count, dtype=m.dtype, device=dev)
    for _ in range(max_iterations):
        new = update(m, *params)
        with torch.no_grad():
            change = per_component((new - m).abs())
            pair = [new.detach() if own else update(pair[0], *at), update(pair[1], *inward)]
            moved = (pair[0] - pair[1]) / step
            scale = per_component(moved.abs()).clamp_min(1.0)
            moving = per_component((moved - slope).abs()) >= stop * scale
            slope = moved
        m = torch.where(active.index_select(0, g), new, m)
        calm = active & (change < stop)
        held = torch.where((calm & ~settled).index_select(0, g), new.detach(), held)
        settled = settled | calm
        active = active & ~(calm & ~moving)
        if not bool(active.any()):
            break
    else:
        if bool((~settled).any()):
            _warn_unconverged(max_iterations, float(change[~settled].max()), stop)
    # the value at which each settled, with the derivative of its last update
    return torch.where(settled.index_select(0, g), held + (m - m.detach()), m)


def _component_heads(graph: CascadeGraph, p: torch.Tensor, group: np.ndarray,
                     count: int) -> torch.Tensor:
    """Exact ``[P(0), P(1), P(2)]`` of every component of a disjoint union, at once.

    The closed forms of :func:`exact_small_sizes` (its branch without sure seeds) with the
    products and sums taken per component.

    Parameters
    ----------
    graph
        A disjoint union whose nodes come component by component.
    p
        Seed probabilities, every one below 1.
    group
        Component (``0..count-1``) of each node, ascending.
    count
        Number of components.

    Returns
    -------
    torch.Tensor
        Shape ``(count, 3)``; differentiable.
    """
    w = graph.weight
    n = graph.n
    dev = w.device
    src = torch.from_numpy(graph.src).to(dev)
    g = torch.from_numpy(group).to(dev)
    lf = torch.log(1 - p)
    LF = lf.new_zeros(count).index_add(0, g, lf)
    lw, zw, sw = _log_nonzero(1 - w)
    LD = torch.zeros(n, dtype=w.dtype, device=dev).index_add(0, src, lw)
    ZD = torch.zeros(n, dtype=w.dtype, device=dev).index_add(0, src, zw.to(w.dtype))
    SD = torch.zeros(n, dtype=w.dtype, device=dev).index_add(0, src, sw)
    D = _product(LD, ZD, SD)  # all out-edges of v fail
    LFv = LF.index_select(0, g)
    P1 = lf.new_zeros(count).index_add(0, g, p * torch.exp(LFv - lf) * D)
    # unlinked pairs: Σ_{a<b} h_a h_b per component, by running sums that start afresh
    # in each (one cumulative sum across components let a near-sure seed's h ~ 4e15 in one
    # swamp the small ones of the next); components of one size form a matrix
    h = p * D / (1 - p)
    sizes = np.bincount(group, minlength=count)
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pairs = lf.new_zeros(count)
    for k in np.unique(sizes).tolist():
        cs = np.flatnonzero(sizes == k)
        idx = torch.from_numpy(start[cs][:, None] + np.arange(k)).to(dev)
        hk = h[idx]
        before = torch.cat([hk.new_zeros(cs.size, 1), torch.cumsum(hk, 1)[:, :-1]], 1)
        pairs = pairs.index_add(0, torch.from_numpy(cs).to(dev), (hk * before).sum(1))
    P2 = torch.exp(LF) * pairs
    # the linked pairs: exact R_ab and out-products without the partner
    a_np = graph.undirected_links()[0]
    a, b, iab, iba, wz, lwz, zwz, swz = _linked_pair_tables(graph, w, lw, zw, sw)

    def d_excl(v: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """All out-edges of ``v`` but edge ``e`` fail (exact zeros counted)."""
        return _product(LD[v] - lwz[e], ZD[v] - zwz[e], SD[v] - swz[e])

    E = torch.exp(LFv[a] - lf[a] - lf[b])
    pa, pb = p[a], p[b]
    R = pa * pb + pa * (1 - pb) * wz[iab] + (1 - pa) * pb * wz[iba]
    fix = E * R * d_excl(a, iab) * d_excl(b, iba) - E * pa * pb * D[a] * D[b]
    P2 = P2.index_add(0, torch.from_numpy(group[a_np]).to(dev), fix)
    return torch.stack([torch.exp(LF), P1, P2], dim=1)


def _fixed_seeds(graph: CascadeGraph, tree: CascadeGraph, p: torch.Tensor) -> np.ndarray | None:
    """Mark the folded seed probabilities whose gradient is zero by construction.

    ``p_eff = 1 - (1 - p) exp(S)`` requires a gradient with the weights, but where no
    incoming link was dropped (``S`` = 0, no messages) or ``p = 1`` its derivative is 0:
    at 0 or 1 the tail mode spent one evaluation on each of them (10x a fit's time).
    """
    if p.requires_grad:
        return None  # the caller's own p: every entry may carry a gradient
    # the tree keeps a subset of the links: a node lost one iff its in-degree fell
    n = graph.n
    has_drop = np.bincount(graph.dst, minlength=n) > np.bincount(tree.dst, minlength=n)
    return ~has_drop | (p.detach().cpu().numpy() >= 1)


def _single_seed_heads(graph: CascadeGraph, seeds: np.ndarray) -> torch.Tensor:
    """Exact ``[P(size=0), P(size=1), P(size=2)]`` with ``v`` as the only seed, per ``v``.

    ``P(1) = Π_x (1 - w_vx)``; ``P(2) = Σ_{v->x} w_vx Π_{y≠x}(1 - w_vy) Π_{y≠v}(1 - w_xy)``
    (the special case of :func:`exact_small_sizes`, for all seeds at once in ``O(edges)``);
    exclusions count exact zeros instead of dividing, and a product with one keeps its
    derivative in it (:func:`_product`).
    """
    w = graph.weight
    dev = w.device
    n = graph.n
    src = torch.from_numpy(graph.src).to(dev)
    dst = torch.from_numpy(graph.dst).to(dev)
    rev = _reverse_index(graph)
    lw, zw, sw = _log_nonzero(1 - w)
    zw = zw.to(w.dtype)
    LD = torch.zeros(n, dtype=w.dtype, device=dev).index_add(0, src, lw)
    ZD = torch.zeros(n, dtype=w.dtype, device=dev).index_add(0, src, zw)
    SD = torch.zeros(n, dtype=w.dtype, device=dev).index_add(0, src, sw)
    r = torch.from_numpy(np.where(rev >= 0, rev, -1)).to(dev)
    lr, zr, sr = (torch.cat([x, x.new_zeros(1)])[r] for x in (lw, zw, sw))
    term = (w * _product(LD[src] - lw, ZD[src] - zw, SD[src] - sw)
            * _product(LD[dst] - lr, ZD[dst] - zr, SD[dst] - sr))
    P2 = torch.zeros(n, dtype=w.dtype, device=dev).index_add(0, src, term)
    s = torch.from_numpy(seeds).to(dev)
    P1 = _product(LD, ZD, SD)
    return torch.stack([torch.zeros_like(P1[s]), P1[s], P2[s]], dim=1)


def _seed_mixture(
    graph: CascadeGraph,
    p: torch.Tensor,
    *,
    iterations: int | None,
    spanning_tree: str,
    prune: float,
    chunk_nodes: int = 1 << 16,
) -> torch.Tensor:
    """TDA once per possible seed, combined as independent cascades (see ``seed_mixture``).

    Seeds are processed in batches of about ``chunk_nodes / n`` (see
    :func:`_mixture_factor`); the product of their generating functions is inverted once.
    Returns the distribution before the exact head (:func:`_with_head`).

    Under autograd the nodes with ``p_v = 0`` take part too, with factors of value 1:
    ``P`` is linear in ``p_v``, with slope ``G_v - 1`` times the others' product, which
    leaving them out set to 0 (on a component that no seed can start, every slope).
    """
    w = graph.weight
    n = graph.n
    pn = p.detach().cpu().numpy()
    seeds = np.flatnonzero(pn > 0)
    idle = (np.flatnonzero(pn == 0) if torch.is_grad_enabled() and p.requires_grad
            else seeds[:0])
    step = max(1, chunk_nodes // n)
    acc = None
    # the idle nodes' factors 1 - x + x G_v at x = p_v - p_v: 1 in value, their slopes
    for group, x in ((seeds, p), (idle, p - p.detach())):
        for i in range(0, group.size, step):
            f = _mixture_factor(
                graph,
                x,
                group[i : i + step],
                iterations=iterations,
                spanning_tree=spanning_tree,
                prune=prune,
            )
            acc = f if acc is None else acc * f
    point = torch.cat([torch.ones(1, dtype=w.dtype, device=w.device), w.new_zeros(n)])
    if seeds.size == 0:  # nobody can be a seed: the empty cascade (and the idle slopes)
        if acc is None:
            return point
        slopes = torch.fft.irfft(acc, n=n + 1)
        return point + (slopes - slopes.detach())
    return clip_negative(torch.fft.irfft(acc, n=n + 1))


class _RootsView(NamedTuple):
    """A :class:`~biomodels.cascade.plan.TreePlan` restricted to some of its roots.

    Holds only the fields :func:`~biomodels.cascade.passes._tree_product` reads.
    """

    roots: np.ndarray
    size: np.ndarray
    node_batch: np.ndarray
    node_row: np.ndarray


def _mixture_factor(
    graph: CascadeGraph,
    p: torch.Tensor,
    seeds: np.ndarray,
    *,
    iterations: int | None,
    spanning_tree: str,
    prune: float,
    tol: float = 1e-10,
    max_iterations: int = 1000,
) -> torch.Tensor:
    """``Π_v (1 - p_v + p_v G_v(z))`` over ``seeds`` at the ``(n+1)``-th roots of unity.

    Loopy BP runs for all single-seed problems at once (messages ``(seeds, edges)``); the
    part of the graph each seed reaches (BP marginal above ``prune``) becomes one component
    of a disjoint union, whose maximum spanning forest, folded pseudo-seeds and tree pass
    are computed in one go; each seed's distribution ``G_v`` is the product of its
    components' distributions (the part it reaches may fall apart when nodes are pruned),
    with its exact head: multiplied at the ``n + 1``-th roots of unity when there are few
    components, and per seed in a product tree (:func:`~.passes._tree_product`) when
    ``components x (n + 1)`` exceeds ``passes._DENSE_ROOT_VALUES``.
    """
    w = graph.weight
    dev, real = w.device, w.dtype
    n = graph.n
    tiny = torch.finfo(real).tiny
    S = seeds.size
    src = torch.from_numpy(graph.src).to(dev)
    dst = torch.from_numpy(graph.dst).to(dev)
    rev = torch.from_numpy(_reverse_index(graph)).to(dev)
    has_rev, rev_c = rev >= 0, rev.clamp_min(0)
    seed_t = torch.from_numpy(seeds).to(dev)
    at_seed = src.unsqueeze(0) == seed_t.unsqueeze(1)  # (S, E): edge leaves the seed
    # batched single-seed loopy BP (a seed's out-messages are w: it is active for sure)
    certain = _needs_certain_slopes(w)  # the messages here depend on w alone
    edges = _CertainEdges.of(graph, rev) if certain else None  # for their slope terms

    def update(M: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        log1m = torch.log((1 - M).clamp_min(tiny))
        into = torch.zeros(S, n, dtype=w.dtype, device=dev).index_add(1, dst, log1m)
        excl = into.index_select(1, src) - torch.where(has_rev, log1m.index_select(1, rev_c), 0.0)
        fail = torch.exp(excl)
        if certain and torch.is_grad_enabled():
            fail = _with_lone_certain_slopes(fail, M, excl, edges)
        return torch.where(at_seed, w, w * (1 - fail))

    # as bp_messages (1000 updates ran out silently on messages that had not settled), but
    # without its derivative probe: no sure seed's p enters these messages, and with
    # certain edges the probe kept the (seeds, edges) updates recorded for autograd 2.4x
    # as long (980 for 413 on ER(200)) for a gradient 1e-8 closer (see seed_mixture)
    M = _bp_loop(lambda w: torch.where(at_seed, w, 0.0), update, (w,), iterations=iterations,
                 max_iterations=max_iterations, stop=_rounding_tol(tol, real), probe=False)
    log1m = torch.log((1 - M).clamp_min(tiny))
    into = torch.zeros(S, n, dtype=real, device=dev).index_add(1, dst, log1m)
    is_seed = torch.zeros(S, n, dtype=torch.bool, device=dev)
    is_seed[torch.arange(S, device=dev), seed_t] = True
    keep = ((1 - torch.exp(into.detach()) > prune) | is_seed).cpu().numpy()
    # disjoint union of the reached subgraphs: union node = (seed, node)
    uid = np.full((S, n), -1, dtype=np.int64)
    owner, node = np.nonzero(keep)
    uid[owner, node] = np.arange(owner.size)
    es, ee = np.nonzero(keep[:, graph.src] & keep[:, graph.dst])
    ee_t, es_t = torch.from_numpy(ee).to(dev), torch.from_numpy(es).to(dev)
    m_u = M[es_t, ee_t]
    union = CascadeGraph(
        int(owner.size), uid[es, graph.src[ee]], uid[es, graph.dst[ee]], w.index_select(0, ee_t)
    )
    score = m_u if spanning_tree == "messages" else union.weight
    kept = _spanning_tree_edges(union, score.detach().cpu().numpy().astype(np.float64))
    drop = torch.from_numpy(~kept).to(dev)
    folded = torch.where(drop, torch.log((1 - m_u).clamp_min(tiny)), 0.0)
    u_dst = torch.from_numpy(union.dst).to(dev)
    log_q = torch.zeros(union.n, dtype=real, device=dev).index_add(0, u_dst, folded)
    p_base = torch.from_numpy(node == seeds[owner]).to(dev)
    fail = torch.exp(log_q)
    if certain:
        fail = fail + _certain_slope(1 - m_u, log_q, u_dst, union.n, mask=drop)
    p_eff = 1 - torch.where(p_base, 0.0, fail)
    kt = torch.from_numpy(np.flatnonzero(kept)).to(dev)
    forest = CascadeGraph(
        union.n, union.src[kept], union.dst[kept], union.weight.index_select(0, kt)
    )
    plan = tree_plan(forest)
    stores, _ = _upward(plan, forest.weight, p_eff, 1.0)
    # each root's B message is its component's distribution; multiply per seed
    roots = plan.roots[np.argsort(owner[plan.roots], kind="stable")]
    group = owner[roots]
    rank = np.arange(roots.size) - np.searchsorted(group, group)
    if _dense_roots(plan, n + 1):
        parts, perm = _pieces(roots, plan.node_batch, plan.node_row)
        x = torch.cat(
            [
                torch.fft.rfft(stores[b].index_select(0, rows.to(dev))[:, 0], n=n + 1, dim=-1)
                for b, rows in parts
            ]
        )
        x = x if perm is None else x.index_select(0, perm.to(dev))
        rounds, _ = _reduction_rounds(group, rank)
        G = clip_negative(torch.fft.irfft(_segmented_product(x, rounds), n=n + 1, dim=-1))
    else:
        # many components (components x (n + 1) above passes._DENSE_ROOT_VALUES): the
        # dense layout holds every root at length n + 1; a product tree per seed follows
        # the components' sizes instead (as passes._root_product does)
        cuts = np.flatnonzero(np.diff(group)) + 1
        G = clip_negative(torch.stack([
            _tree_product(_RootsView(own, plan.size, plan.node_batch, plan.node_row),
                          stores, n + 1, dev, False)[0]
            for own in np.split(roots, cuts)
        ]))
    head = _single_seed_heads(graph, seeds)  # exact per seed; the seed is always active
    small = torch.from_numpy(_reach_at_most_two(union, uid[np.arange(S), seeds], owner, S))
    small = small.to(dev)  # no size past 2 left to scale: the leftover goes to size 3
    G = torch.cat([head, _rest_after_head(G[:, 3:], clip_negative(1 - head.sum(1)), small)],
                  dim=1)
    ps = p.index_select(0, seed_t).unsqueeze(1)
    factors = 1 - ps + ps * torch.fft.rfft(G, n=n + 1, dim=-1)
    all_rounds, _ = _reduction_rounds(np.zeros(S, dtype=np.int64), np.arange(S))
    return _segmented_product(factors, all_rounds)[0]


def _reach_at_most_two(union: CascadeGraph, starts: np.ndarray, owner: np.ndarray,
                       S: int) -> np.ndarray:
    """Per seed, whether at most two nodes of its pruned subgraph can ever be active.

    Those reachable along kept links of positive weight from the seed's node
    ``starts[s]`` of the disjoint union (one search from a source linked to every seed). A
    node kept for its marginal can still be cut off from the seed when the weak paths that
    reach it were pruned.
    """
    m = union.n
    # a link of weight 0 is no path (it sent the leftover onto round-off again)
    live = union.weight.detach().cpu().numpy() > 0
    rows = np.concatenate([np.asarray(union.src, np.int64)[live], np.full(S, m)])
    cols = np.concatenate([np.asarray(union.dst, np.int64)[live], starts])
    links = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(m + 1, m + 1))
    reached = csgraph.breadth_first_order(links, m, directed=True, return_predecessors=False)
    reached = reached[reached < m]
    return np.bincount(owner[reached], minlength=S) <= 2


def _with_head(graph: CascadeGraph, p: torch.Tensor, P: torch.Tensor, exact: bool) -> torch.Tensor:
    """Put the exact ``P(0)`` (and ``P(1)``, ``P(2)`` if ``exact``) in front of ``P``'s rest."""
    head = exact_small_sizes(graph, p) if exact else torch.prod(1 - p).reshape(1)
    h = head.shape[0]
    return torch.cat([head, _rest_after_head(P[h:], clip_negative(1 - head.sum()))])


def _rest_after_head(rest: torch.Tensor, left: torch.Tensor,
                     empty: torch.Tensor | None = None) -> torch.Tensor:
    """Scale ``rest`` (sizes past an exact head, last axis) to hold the mass ``left``.

    Rows marked ``empty`` (a ``prune`` cut a seed's reach down to the head's two nodes) hold
    only FFT round-off past the head: scaling put ``left`` onto that noise, at sizes the
    seed cannot cause; it goes to the first size of ``rest``, the smallest size left out.
    Decided by the kept nodes, not by the mass: a real float32 tail of 1e-5 is as small as
    the round-off of 400 sizes.
    """
    tiny = torch.finfo(rest.dtype).tiny
    scaled = rest * (left / rest.sum(-1).clamp_min(tiny)).unsqueeze(-1)
    if empty is None or rest.shape[-1] == 0:
        return scaled
    first = torch.zeros_like(rest)
    first[..., 0] = 1
    return torch.where(empty.unsqueeze(-1), first * left.unsqueeze(-1), scaled)


def _exact_head_conditionals(graph: CascadeGraph, p: torch.Tensor,
                             min_prob: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact ``P(node v active | size = k)`` for ``k = 0, 1, 2`` on any network.

    ``P(v active, size = 1) = P(final set = {v})`` and ``P(v active, size = 2)`` is the sum
    of ``P(final set = {u, v})`` over ``u``: the terms of :func:`exact_small_sizes`.

    Parameters
    ----------
    graph
        The network.
    p
        Seed probabilities, shape ``(n,)``.
    min_prob
        Sizes with exact ``P(size = k) < min_prob`` get NaN.

    Returns
    -------
    cond : torch.Tensor
        Shape ``(n, 3)`` (``(n, 2)`` when ``n < 2``); column 0 is 0 or NaN. Differentiable in
        the weights and ``p`` (one-sided at ``w = 1``, ``p = 1``, as
        :func:`exact_small_sizes`).
    head : torch.Tensor
        ``[P(0), P(1), P(2)]``, as :func:`exact_small_sizes` returns it.
    """
    head, single, pair = _small_sets(graph, p)
    joint = torch.stack([torch.zeros_like(single), single, pair][: head.shape[0]], dim=1)
    defined = head >= min_prob
    # a safe denominator: where's unused branch 0/0 would put NaN in the gradient
    cond = joint / torch.where(defined, head, 1.0)
    # round-off of the linked-pair corrections left 1 + 2e-16 where one node is in every
    # set; clamp passes the gradient at the bounds, unlike min(joint, P(k)) at a tie
    return torch.where(defined, cond.clamp(0.0, 1.0), math.nan), head


def _tda_conditional_activation(graph: CascadeGraph, p: torch.Tensor, *,
                                min_prob: float | None = None) -> torch.Tensor:
    """TDA's ``P(node i active | size = k)``: conSDP on TDA's tree, exact for ``k <= 2``.

    The counterpart of :func:`tda_size_distribution`'s default exact head: sizes 1 and 2
    (and the 0-or-NaN column of size 0) come from the exact closed forms instead of the
    tree with folded pseudo-seeds, whose conditionals there could be far off (a pseudo-seed
    fires alone although in truth it needs the cascade to reach its dropped edge).

    Parameters
    ----------
    graph
        A network with cycles.
    p
        Seed probabilities, shape ``(n,)``.
    min_prob
        As in :func:`~biomodels.cascade.tree_conditional_activation`; sizes 0-2 are judged
        by their exact probabilities, larger sizes by those :func:`tda_size_distribution`
        reports (the tree's rescaled to the mass the exact head leaves; a size also stays
        NaN where the tree's own probability is below ``min_prob``).

    Returns
    -------
    torch.Tensor
        Shape ``(n, n + 1)``, not differentiable (as the tree pass).

    Notes
    -----
    On a network of several weakly connected components each component ``c`` is taken
    alone, as :func:`tda_size_distribution` takes it: ``P_c(i active, size_c = m)`` from the
    exact closed forms for ``m <= 2`` and from conSDP on its TDA tree, scaled as its sizes
    are, for ``m >= 3`` (the components without a cycle exactly, together). Then
    ``P(i active, size = k) = Σ_m P_c(i active, size_c = m) P(rest = k - m)``, the rest being
    the other components, and the columns ``k >= 3`` are defined where the reported
    ``P(size = k)`` is at least ``min_prob``. One TDA tree over all components scaled the
    sizes of all together (see :func:`tda_size_distribution`).
    """
    count, comp = _weak_components(graph)
    if count > 1:
        return _conditional_by_component(graph, p, comp, count, min_prob=min_prob)
    tree, p_eff = tda_tree(graph, p)
    joint, cond = tree_conditional_activation(tree, p_eff, min_prob=min_prob)
    floor = _min_prob(min_prob, cond.dtype)
    exact, head = _exact_head_conditionals(graph, p, floor)
    h = exact.shape[1]
    cond[:, :h] = exact.detach()
    if cond.shape[1] > h:
        # larger sizes are undefined where the P(k) that size_distribution reports (the
        # tree's, rescaled to the mass the exact head leaves) is below the floor, not only
        # where the tree's own P(k) is: the two differ by the head's share (x 0.77 on K6)
        with torch.no_grad():
            tree_p = joint[:, h:].sum(0) / torch.arange(h, cond.shape[1], dtype=joint.dtype,
                                                        device=joint.device)
            left = clip_negative(1 - head.detach().sum())
            reported = tree_p * (left / tree_p.sum().clamp_min(torch.finfo(joint.dtype).tiny))
        cond[:, h:] = cond[:, h:].masked_fill((reported < floor).unsqueeze(0), math.nan)
    return cond


def _conditional_by_component(graph: CascadeGraph, p: torch.Tensor, comp: np.ndarray,
                              count: int, *, min_prob: float | None) -> torch.Tensor:
    """:func:`_tda_conditional_activation` on several weakly connected components (its Notes).

    Parameters
    ----------
    graph, p, min_prob
        As in :func:`_tda_conditional_activation`.
    comp, count
        Each node's component and their number (:func:`_weak_components`).

    Returns
    -------
    torch.Tensor
        Shape ``(n, n + 1)``.
    """
    p = check_seed_vector(graph, p).detach()
    real, dev = graph.dtype, graph.device
    floor = _min_prob(min_prob, real)
    tiny = torch.finfo(real).tiny
    parts = _Components.of(graph, comp, count)
    n = graph.n
    # per block of independent nodes: the nodes, P(i active, block size = m), P(block size)
    blocks: list[tuple[np.ndarray, torch.Tensor, torch.Tensor]] = []
    with torch.no_grad():
        if not parts.cyclic.all():  # forests and isolated nodes: exact, together
            F, pF, _, _, nodes = parts.union(graph, p, np.flatnonzero(~parts.cyclic))
            joint, _ = tree_conditional_activation(F, pF, min_prob=min_prob)
            blocks.append((nodes, joint, tree_size_distribution(F, pF)))
        pn = p.cpu().numpy()
        seeded = np.bincount(comp, weights=pn > 0, minlength=count) > 0
        cyclic = np.flatnonzero(parts.cyclic & seeded)  # the others never start
        # the trees of size_distribution: alone with a sure seed, else from one batch
        lone = np.bincount(comp, weights=pn >= 1, minlength=count)[cyclic] > 0
        trees = {c: tda_tree(*parts.one(graph, p, c)[:2]) for c in cyclic[lone].tolist()}
        if not lone.all():
            trees.update(_sliced_trees(graph, p, parts, cyclic[~lone]))
        for c in cyclic.tolist():
            sub, pc, _ = parts.one(graph, p, c)
            joint, _ = tree_conditional_activation(*trees.pop(c), min_prob=min_prob)
            head, single, pair = _small_sets(sub, pc)
            tree_p = joint[:, 3:].sum(0) / torch.arange(3, sub.n + 1, dtype=real, device=dev)
            scale = clip_negative(1 - head.sum()) / tree_p.sum().clamp_min(tiny)
            J = torch.cat([torch.zeros_like(single).unsqueeze(1), single.unsqueeze(1),
                           pair.unsqueeze(1), joint[:, 3:] * scale], dim=1)
            nodes = parts.node_order[parts.node_start[c]:parts.node_start[c + 1]]
            blocks.append((nodes, J, torch.cat([head, tree_p * scale])))
        cond = _combine_blocks(blocks, n, real, dev, floor)
        exact, _ = _exact_head_conditionals(graph, p, floor)
        cond[:, : exact.shape[1]] = exact
    return cond


def _combine_blocks(blocks: list[tuple[np.ndarray, torch.Tensor, torch.Tensor]], n: int,
                    real: torch.dtype, dev: torch.device, floor: float) -> torch.Tensor:
    """``P(node i active | size = k)`` from independent blocks of nodes.

    Parameters
    ----------
    blocks
        Per block: its nodes, ``P(i active, block size = m)`` (one row per node) and
        ``P(block size = m)``. Nodes in no block never activate (their components have no
        seed); the blocks' sizes add, so ``P(i active, size = k)`` is the block's joint
        convolved with the other blocks' size distributions (FFT).
    n, real, dev
        The network's nodes, the dtype and device of the result.
    floor
        Sizes with ``P(size = k) < floor`` are NaN.

    Returns
    -------
    torch.Tensor
        Shape ``(n, n + 1)``.
    """
    L = n + 1
    joint = torch.zeros(n, L, dtype=real, device=dev)
    if blocks:
        hats = torch.stack([torch.fft.rfft(P, n=L) for _, _, P in blocks])
        total = torch.fft.irfft(hats.prod(0), n=L).clamp_min(0.0)
        rest = _exclusive_rows(hats)  # each block's partner: all the other blocks
        for (nodes, J, _), r in zip(blocks, rest):
            joint[torch.from_numpy(nodes).to(dev)] = torch.fft.irfft(
                torch.fft.rfft(J, n=L) * r, n=L)
    else:
        total = torch.zeros(L, dtype=real, device=dev)
        total[0] = 1
    joint.clamp_min_(0.0)
    torch.minimum(joint, total, out=joint)  # round-off of the transforms
    cond = joint / total
    return cond.masked_fill_((total < floor).unsqueeze(0), math.nan)


def _sliced_trees(graph: CascadeGraph, p: torch.Tensor, parts: _Components,
                  cs: np.ndarray) -> dict[int, tuple[CascadeGraph, torch.Tensor]]:
    """Each of the components ``cs``' TDA tree and folded seeds, as :func:`_tda_batch` has them.

    Built once for all (:func:`_batch_trees`), then cut per component, whose nodes are
    renamed ``0..size-1`` in node order.
    """
    _, _, group, _, tree, p_eff = _batch_trees(graph, p, parts, cs, iterations=None,
                                               spanning_tree="messages", messages=None)
    sizes = np.bincount(group, minlength=cs.size)
    start = np.concatenate([[0], np.cumsum(sizes)])
    tail = group[tree.src]
    order = np.argsort(tail, kind="stable")
    cuts = np.concatenate([[0], np.cumsum(np.bincount(tail, minlength=cs.size))])
    out = {}
    for j, c in enumerate(cs.tolist()):
        e = order[cuts[j]:cuts[j + 1]]
        lo = start[j]
        sub = CascadeGraph(int(sizes[j]), tree.src[e] - lo, tree.dst[e] - lo,
                           tree.weight.index_select(0, torch.from_numpy(e).to(tree.device)),
                           tree.labels[lo:start[j + 1]])
        out[c] = (sub, p_eff[lo:start[j + 1]])
    return out


def poisson_binomial(marginals: torch.Tensor) -> torch.Tensor:
    """Distribution of a sum of independent Bernoulli variables (exact, FFT product tree).

    Parameters
    ----------
    marginals
        Success probabilities, shape ``(n,)``: float32 or float64 (whose dtype and device the
        result takes), or 0/1 integers or bools (computed in float64).

    Returns
    -------
    torch.Tensor
        ``P(sum = k)``, ``k = 0..n``, clipped at zero; differentiable.

    Raises
    ------
    TypeError, ValueError
        If ``marginals`` is not a 1-d tensor of probabilities in ``[0, 1]``, or is float16
        or bfloat16.

    Examples
    --------
    >>> import torch
    >>> from biomodels.cascade import poisson_binomial
    >>> P = poisson_binomial(torch.tensor([0.5, 0.5, 0.5], dtype=torch.float64))
    >>> [round(float(x), 4) for x in P]  # three fair coins: Binomial(3, 1/2)
    [0.125, 0.375, 0.375, 0.125]
    >>> [round(float(x), 4) for x in poisson_binomial(torch.tensor([True, False]))]
    [0.0, 1.0, 0.0]
    """
    if not isinstance(marginals, torch.Tensor):
        raise TypeError(f"marginals must be a torch tensor of probabilities, got "
                        f"{type(marginals).__name__}")
    if marginals.dim() != 1:
        raise ValueError(f"marginals must be a 1-d tensor, got shape {tuple(marginals.shape)}")
    check_probabilities("marginals", marginals)
    # as CascadeGraph's weights: 0/1 integers or bools in float64 (the FFT took the default
    # dtype, P(sum = 0) = 6e-9 for a sure success; bools failed at 1 - mu), 16-bit floats
    # refused (the CPU FFT has no Half: "Unsupported dtype Half")
    if marginals.dtype in (torch.float16, torch.bfloat16):
        raise ValueError(f"marginals: {marginals.dtype} is too coarse for probabilities of "
                         "products over many nodes; use float32 or float64")
    mu = marginals if marginals.is_floating_point() else marginals.to(torch.float64)
    polys = torch.stack([1 - mu, mu], dim=1)  # (m, d+1)
    if polys.shape[0] == 0:
        return torch.ones(1, dtype=mu.dtype, device=mu.device)
    while polys.shape[0] > 1:
        m, d1 = polys.shape
        if m % 2:
            one = torch.zeros(1, d1, dtype=polys.dtype, device=polys.device)
            one[0, 0] = 1
            polys = torch.cat([polys, one], dim=0)
        out_len = 2 * d1 - 1
        L = 1 << (out_len - 1).bit_length()
        f = torch.fft.rfft(polys, n=L, dim=-1)
        polys = torch.fft.irfft(f[0::2] * f[1::2], n=L, dim=-1)[:, :out_len]
    res = polys[0, : mu.shape[0] + 1]
    return clip_negative(res)
