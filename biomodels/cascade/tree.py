"""Exact cascade size distributions on trees and forests: SDP, batched by level in torch.

Subtree Distribution Propagation (Burkholz & Quackenbush, AAAI 2021, "Cascade Size
Distributions: Why They Matter and How to Compute Them Efficiently") for the Independent
Cascade model on a network whose undirected skeleton is a forest (one or both directions
of each link may be present). Every link ``c -- v`` between a child ``c`` and its parent
``v`` carries three generating functions (GFs) in ``z`` (``z`` counts active nodes of the
subtree of ``c``):

* ``B_c``  -- ``v`` is never active,
* ``A0_c`` -- ``v`` is active but not because of ``c``,
* ``A_c``  -- ``v`` is active, for any reason.

With the node quantities (products over the children ``d`` of ``c``; ``q_c = 1 - p_c``)
``N_c = q_c Π B_d`` (never active), ``U_c = q_c z Π A0_d`` (activated by the parent only) and
``I_c = z [Π A_d - q_c Π A0_d]`` (active from inside the subtree), the messages are
``B_c = (1 - w_cv) I_c + N_c``, ``A0_c = (1 - w_cv) I_c + w_vc U_c + (1 - w_vc) N_c`` and
``A_c = A0_c + w_cv I_c``; at a root ``P(z) = N + I``.

The schedule of the computation is :mod:`biomodels.cascade.plan`, its upward passes
(FFT products, ``O(Σ_c size_c log size_c)``) :mod:`biomodels.cascade.passes`, and the
tail-accurate mode (``tail_accurate=True``) :mod:`biomodels.cascade.tail`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from core.checks import check_number

from .graph import CascadeGraph, check_graph
from .passes import _root_product, _single_radius, _upward, clip_probability
from .plan import TreePlan, _plan_for
from .tail import _TAIL_RADII, _tail_with_boundaries

__all__ = ["tree_size_distribution", "tree_conditional_activation"]


def check_probabilities(name: str, x: torch.Tensor) -> None:
    """Refuse complex, NaN, infinite or out-of-[0, 1] entries of ``x`` (naming ``name``)."""
    if x.is_complex():
        raise TypeError(f"{name} must hold real probabilities, got a complex tensor")
    q = x.detach()
    if not bool(torch.isfinite(q).all()) or bool(((q < 0) | (q > 1)).any()):
        raise ValueError(f"{name} must hold probabilities in [0, 1] (no NaN)")


def check_seed_vector(graph: CascadeGraph, p: Any) -> torch.Tensor:
    """Check per-node seed probabilities ``p`` ((n,), finite, in [0, 1]); cast to the graph.

    Raises
    ------
    TypeError, ValueError
        Naming ``p`` and what was expected.
    """
    if not isinstance(p, torch.Tensor):
        raise TypeError(f"p must be a torch tensor of seed probabilities, got "
                        f"{type(p).__name__} (build it with seed_probabilities)")
    if p.shape != (graph.n,):
        raise ValueError(f"p must have one seed probability per node, shape ({graph.n},), "
                         f"got {tuple(p.shape)}")
    check_probabilities("p", p)
    return p.to(dtype=graph.weight.dtype, device=graph.weight.device)



def tree_size_distribution(
    graph: CascadeGraph,
    p: torch.Tensor,
    *,
    plan: TreePlan | None = None,
    tail_accurate: bool = False,
    radii: int = _TAIL_RADII,
) -> torch.Tensor:
    """Exact distribution of the final cascade size on a forest (SDP).

    Parameters
    ----------
    graph
        A network whose undirected skeleton has no cycle.
    p
        Seed probability of every node, shape ``(n,)`` (see
        :func:`~biomodels.cascade.seed_probabilities`).
    plan
        A :func:`tree_plan` of ``graph`` to reuse (built if None); one built for another
        structure (nodes or edge list) is refused, other weights are fine.
    tail_accurate
        Evaluate on circles of several radii and combine (see the module notes) so that
        tiny tail probabilities keep a small *relative* error. Each radius costs about
        two default passes: ``radii`` of them, then radii added where sizes are
        unresolved (typically a few, at most 144); 31-37 times the default mode's time on
        random trees of 1,000-2,000 nodes.
    radii
        Number of contour radii of the starting grid in the tail-accurate mode. The search
        refines it where sizes are unresolved, so a finer grid costs passes without
        adding accuracy (25 took twice the time for the same values).

    Returns
    -------
    torch.Tensor
        ``P(size = k)`` for ``k = 0..n``, dtype/device of the weights; differentiable
        with respect to the weights and ``p``. In the default mode every entry carries a
        round-off of up to about ``4 eps sqrt(n + 1)`` (9e-14 at n = 10,000), or, where the
        size is nearly certain (weights at or near 1 on deep or wide trees), up to about
        ``eps E[size]`` (4.4e-13 on a star of 10,000 leaves at w = 1, 1.5e-12 on a path of
        10,000 nodes; the ``precision_floor`` of ``prunus cascade size`` bounds both); it
        never takes an entry below 0 or above 1 (clipped, keeping the gradient); in the
        tail-accurate mode every size down to float64's ``1e-308`` has a relative error of
        about ``1e-8`` (computed in float64, returned in the weights' dtype) and
        impossible sizes are exactly 0. A size far below the line through ``log P`` of
        sizes on both sides of it, which no contour radius lifts above the round-off of
        the others (a valley, e.g. ``P(1) = 2e-18`` between ``P(0) = 1`` and
        ``P(2) = 2e-3``; or a run of sizes between a likely small size and the bulk, as
        for a leaf seed next to a hub, ``P(2) = w (1 - w)^d``), is summed term by term
        instead (relative error about 1e-13); only beyond that pass's work budget does it
        come out with a larger error, below about 1%, or as 0, named in a RuntimeWarning,
        never as round-off noise. There, a weight or seed probability
        within 1e-12 of 0 or 1 that requires a gradient costs one more evaluation (``P``
        is linear in it, so its derivative is a difference of two, accurate to about 1e-8
        of the larger of ``P`` at 0 and at 1, or that value's valley error), and the
        second derivatives between two such entries are left out (0).

    Raises
    ------
    TypeError, ValueError
        If ``p`` is not one probability per node, or ``plan`` was built for another graph;
        TypeError if ``graph`` is not a :class:`CascadeGraph` (naming its constructor).

    Warns
    -----
    RuntimeWarning
        In the tail-accurate mode, naming the sizes left unresolved: those the radius
        search did not resolve when the term-by-term pass for them would exceed its work
        budget.

    Examples
    --------
    >>> import torch
    >>> from biomodels.cascade import CascadeGraph, seed_probabilities
    >>> g = CascadeGraph.from_edges([(0, 1, 0.5), (1, 2, 0.5)])
    >>> P = tree_size_distribution(g, seed_probabilities(g, seeds=[0]))
    >>> [round(float(x), 3) for x in P]
    [0.0, 0.5, 0.25, 0.25]
    """
    check_graph(graph)
    plan = _plan_for(graph, plan)
    weight = graph.weight
    p = check_seed_vector(graph, p)
    p0 = torch.prod(1 - p).reshape(1)  # exact P(size = 0): no seed at all
    if not tail_accurate:
        coef, _ = _single_radius(plan, weight, p, 1.0)
        return torch.cat([p0, clip_probability(coef[1:])])
    return _tail_with_boundaries(plan, weight, p, int(radii))



def _exclusive_rows(x: torch.Tensor) -> torch.Tensor:
    """Row ``i`` of the result is the product of all rows of ``x`` but ``i`` (no divisions)."""
    ones = torch.ones_like(x[:1])
    pre = torch.cumprod(torch.cat([ones, x[:-1]]), dim=0)
    suf = torch.flip(torch.cumprod(torch.flip(torch.cat([x[1:], ones]), [0]), dim=0), [0])
    return pre * suf


def _min_prob(min_prob: float | None, dtype: torch.dtype) -> float:
    """Return the checked ``min_prob`` of conditional activation, or the floor of ``dtype``.

    Parameters
    ----------
    min_prob
        A probability, or None for ``max(1e-12, 1e3 * eps)`` of ``dtype``.
    dtype
        The weights' dtype.

    Returns
    -------
    float
    """
    if min_prob is None:  # the precision floor of the dtype
        return max(1e-12, 1e3 * torch.finfo(dtype).eps)
    # "1e-6" failed in torch's comparison; True masked every size
    return check_number("min_prob", min_prob, at_least=0, at_most=1)


def tree_conditional_activation(
    graph: CascadeGraph,
    p: torch.Tensor,
    *,
    plan: TreePlan | None = None,
    min_prob: float | None = None,
    chunk_values: int = 1 << 21,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Downward pass: joint and conditional activation probabilities per node and size.

    Re-roots the forest at every node by combining its upward messages with a message
    from its parent's side (prefix/suffix products over siblings, no divisions), giving
    the GF of ``(size, node active)`` for every node. Time ``O(N^2)``; apart from the
    ``N x (N+1)`` output, memory is bounded by ``chunk_values`` per batch plus the
    parent-side messages of the nodes waiting for their level (the tree's width, not
    ``N``): levels are processed top-down in chunks of parents, each node's joint row is
    written as soon as its parent-side message is known, and upward messages are moved to
    the output length only for the chunk that uses them. One node with ``K`` children
    needs ``~ K (N+1)`` values (a star is the worst case).

    Parameters
    ----------
    graph, p, plan
        As in :func:`tree_size_distribution`.
    min_prob
        Sizes with ``P(size = k) < min_prob`` get NaN in the conditional (undefined or
        below the precision floor). Default: ``max(1e-12, 1e3 * eps)`` of the weights'
        dtype (``1e-12`` in float64, ``1.2e-4`` in float32).
    chunk_values
        Complex values per batch of parents (memory ``~ 64 * chunk_values`` bytes).

    Returns
    -------
    joint : torch.Tensor
        ``P(node i active, size = k)``, shape ``(n, n+1)``.
    conditional : torch.Tensor
        ``P(node i active | size = k)``, shape ``(n, n+1)``, NaN where undefined.

    Examples
    --------
    >>> import networkx as nx
    >>> from biomodels.cascade import (CascadeGraph, seed_probabilities,
    ...                                tree_conditional_activation)
    >>> g = CascadeGraph.from_networkx(nx.path_graph(3), default=0.5)  # 0 - 1 - 2
    >>> joint, conditional = tree_conditional_activation(g, seed_probabilities(g, seeds=[1]))
    >>> [round(float(x), 4) for x in joint[:, 2]]  # P(node active, size = 2)
    [0.25, 0.5, 0.25]
    >>> [round(float(x), 4) for x in conditional[:, 2]]  # divided by P(size = 2) = 0.5
    [0.5, 1.0, 0.5]
    """
    check_graph(graph)
    plan = _plan_for(graph, plan)
    p = check_seed_vector(graph, p).detach()
    weight = graph.weight.detach()
    real, device = weight.dtype, weight.device
    min_prob = _min_prob(min_prob, real)
    n = plan.n
    Lf = n + 1
    F = Lf // 2 + 1
    ctype = torch.complex128 if real == torch.float64 else torch.complex64
    w = torch.cat([weight, weight.new_zeros(1)])
    q_all = (1.0 - p).to(ctype)
    z = torch.exp(-2j * math.pi * torch.arange(F, dtype=real, device=device) / Lf).to(ctype)
    count, kids, kstart = plan.kid_count, plan.kids, plan.kid_start
    joint = torch.zeros(n, Lf, dtype=real, device=device)

    with torch.no_grad():
        stores, _ = _upward(plan, weight, p, 1.0, keep=True)

        def up_hat(nodes: np.ndarray) -> torch.Tensor:
            """Upward messages of ``nodes`` at the ``Lf``-th roots of unity, ``(k, 3, F)``."""
            out = torch.empty(nodes.size, 3, F, dtype=ctype, device=device)
            bs = plan.node_batch[nodes]
            for b in np.unique(bs):
                sel = np.flatnonzero(bs == b)
                rows = torch.from_numpy(plan.node_row[nodes[sel]]).to(device)
                out[torch.from_numpy(sel).to(device)] = torch.fft.rfft(
                    stores[int(b)].index_select(0, rows), n=Lf, dim=-1
                )
            return out

        def finish(nodes: np.ndarray, prod: torch.Tensor) -> None:
            """Write the joint rows of ``nodes`` from their all-slot products."""
            q = q_all[torch.from_numpy(nodes).to(device)].unsqueeze(-1)
            act = z * (prod[:, 2] - q * prod[:, 1])
            joint[torch.from_numpy(nodes).to(device)] = torch.fft.irfft(act, n=Lf, dim=-1)

        def emit(ch: np.ndarray, par: np.ndarray, ex: torch.Tensor) -> None:
            """Children's parent-side messages from the products over all other slots."""
            qv = q_all[torch.from_numpy(par).to(device)].unsqueeze(-1)
            Nq = qv * ex[:, 0]
            Uq = qv * z * ex[:, 1]
            Iq = z * (ex[:, 2] - qv * ex[:, 1])
            w_vi = w[torch.from_numpy(plan.e_down[ch]).to(device)].unsqueeze(-1)
            w_iv = w[torch.from_numpy(plan.e_up[ch]).to(device)].unsqueeze(-1)
            B = (1 - w_vi) * Iq + Nq
            A0 = (1 - w_vi) * Iq + w_iv * Uq + (1 - w_iv) * Nq
            down_ch = torch.stack([B, A0, A0 + w_vi * Iq], dim=1)
            leaf = count[ch] == 0
            if leaf.any():  # a leaf's all-slot product is its parent-side message
                finish(ch[leaf], down_ch[torch.from_numpy(np.flatnonzero(leaf)).to(device)])
            if not leaf.all():
                inner = np.flatnonzero(~leaf)
                down_in = down_ch[torch.from_numpy(inner).to(device)]
                for lv in np.unique(plan.level[ch[inner]]):
                    sel = np.flatnonzero(plan.level[ch[inner]] == lv)
                    pending.setdefault(int(lv), []).append(
                        (ch[inner][sel], down_in[torch.from_numpy(sel).to(device)])
                    )

        def hub(v: int, down_v: torch.Tensor) -> None:
            """Handle a node with many children by two-level (block) exclusive products."""
            ch_all = kids[kstart[v] : kstart[v] + count[v]]
            B = max(1, chunk_values // (3 * F))
            blocks = [ch_all[k : k + B] for k in range(0, ch_all.size, B)]
            outside = down_v * _exclusive_rows(
                torch.stack([up_hat(blk).prod(dim=0) for blk in blocks])
            )
            finish(np.array([v]), (outside[0] * up_hat(blocks[0]).prod(dim=0)).unsqueeze(0))
            for blk, out_b in zip(blocks, outside):
                emit(blk, np.full(blk.size, v), out_b * _exclusive_rows(up_hat(blk)))

        # parent-side messages waiting for their level: level -> [(nodes, messages)]
        pending: dict[int, list[tuple[np.ndarray, torch.Tensor]]] = {}
        roots = plan.roots
        top = int(plan.level[roots].max())
        # a root's parent side is the product of the other components' distributions
        # (the roots' B messages); every message below it is linear in it
        blk = max(1, chunk_values // (3 * F))
        rb = [up_hat(roots[i : i + blk])[:, 0] for i in range(0, roots.size, blk)]
        outside = _exclusive_rows(torch.stack([r.prod(dim=0) for r in rb]))
        for i, r in enumerate(rb):
            others = outside[i] * _exclusive_rows(r)
            nodes = roots[i * blk : i * blk + r.shape[0]]
            pending.setdefault(top, []).append((nodes, others.unsqueeze(1).expand(-1, 3, -1)))
        for t in range(top, -1, -1):
            waiting = pending.pop(t, [])
            if not waiting:
                continue
            at = np.concatenate([a for a, _ in waiting])
            down_at = torch.cat([d for _, d in waiting]) if len(waiting) > 1 else waiting[0][1]
            del waiting
            order = np.argsort(count[at], kind="stable")  # similar child counts together
            at, order_t = at[order], torch.from_numpy(order).to(device)
            i = 0
            while i < at.size:
                K = int(count[at[i]])
                if 3 * F * (K + 2) > chunk_values and K > 1:  # a hub: children in blocks
                    hub(at[i], down_at.index_select(0, order_t[i : i + 1])[0])
                    i += 1
                    continue
                m = max(1, chunk_values // (3 * F * (K + 2)))
                j = min(at.size, i + m)
                K = int(count[at[j - 1]])  # largest count in the chunk (sorted)
                while 3 * F * (K + 2) > chunk_values and K > 1:
                    j -= 1  # leave the hubs to their own path
                    K = int(count[at[j - 1]])
                vs, down_v = at[i:j], down_at.index_select(0, order_t[i:j])
                i = j
                if K == 0:
                    finish(vs, down_v)
                    continue
                cnt = count[vs]
                total = int(cnt.sum())
                ends = np.cumsum(cnt)
                offs = np.repeat(kstart[vs] - ends + cnt, cnt) + np.arange(total)
                ch = kids[offs]
                g = np.repeat(np.arange(vs.size), cnt)
                r = np.arange(total) - np.repeat(ends - cnt, cnt)
                gt, rt = torch.from_numpy(g).to(device), torch.from_numpy(r).to(device)
                pad = torch.ones(vs.size, K + 2, 3, F, dtype=ctype, device=device)
                pad[:, 0] = down_v
                pad[gt, rt + 1] = up_hat(ch)
                pre = torch.cumprod(pad, dim=1)  # pre[:, k] = prod of slots 0..k
                suf = torch.flip(torch.cumprod(torch.flip(pad, [1]), dim=1), [1])
                ex = pre[gt, rt] * suf[gt, rt + 2]  # all slots but the child's own
                finish(vs, pre[:, -1])
                del pad, suf
                emit(ch, vs[g], ex)
        joint.clamp_min_(0.0)
        total = _root_product(plan, stores, Lf, device).clamp_min(0.0)
        # P(i active, size = k) <= P(size = k): the two passes' round-off put conditional
        # probabilities at 1.00000001 (float64, P(k) = 1e-9) and 1.00002 (float32)
        torch.minimum(joint, total, out=joint)
        cond = joint / total
        cond.masked_fill_((total < min_prob).unsqueeze(0), math.nan)
    return joint, cond
