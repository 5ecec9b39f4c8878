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

Implementation
--------------
The tree is rooted at its centre by peeling leaves, which also orders the nodes in
levels (all children of a node are in earlier levels). A level is processed as a batch of
complex tensors: the children's messages, held as polynomial coefficients of length
``L`` (a power of two above the subtree size; nodes of a level are grouped by ``L``), are
moved to the ``L``-th roots of unity by one batched ``rfft``, multiplied pointwise per
parent by a pairwise (log-depth) segmented product, combined into the three messages and
brought back by one batched ``irfft``. A node with many children multiplies them through a
tree of product-only ("virtual") nodes of at most ``max_children`` children each
(:func:`tree_plan`), so that small subtrees are multiplied at short lengths instead of
each being transformed at the hub's length. The work is ``O(Σ_c size_c log size_c)`` instead of the
``O(N^2)`` of evaluating every message at ``N + 1`` points, and all of it runs in torch
(any device; complex dtype follows the weights; differentiable).

Precision
---------
Values on the unit circle carry an absolute error of about ``1e-16`` times the largest
coefficient, so probabilities below ``~1e-15`` are noise (they may even come out slightly
negative). :func:`tree_size_distribution` with ``tail_accurate=True`` evaluates the GFs on
circles of several radii ``ρ`` (exponential tilting, ``P̃_k = P_k ρ^k``, each message row
rescaled on its own so that the tilted coefficients stay in range for ``|log ρ|`` up to
700) and takes each ``P_k`` from the radius whose Chernoff bound ``Σ_m P_m ρ^m / ρ^k`` is
smallest, which makes the *relative* error of the tail small. The radii are searched size
by size, bracketing the saddle point of each unresolved size (:func:`_tail_step`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .graph import CascadeGraph, find_cycle_link

__all__ = ["TreePlan", "tree_plan", "tree_size_distribution", "tree_conditional_activation"]

_MIN_L = 8


@dataclass
class _Batch:
    nodes: torch.Tensor  # (n_b,) node ids
    L: int
    pieces: list[tuple[int, torch.Tensor]]  # (child batch, rows) in concatenation order
    perm: torch.Tensor | None  # reorder concatenated children to (parent, rank) order
    rounds: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]  # pairwise products
    slots: torch.Tensor | None  # batch position of each reduced product (None: all, in order)
    e_up: torch.Tensor  # edge child->parent per node (index into padded weights)
    e_down: torch.Tensor  # edge parent->child per node
    children: torch.Tensor  # child ids of the batch's nodes
    group: torch.Tensor  # batch position of each child's parent
    virtual: torch.Tensor | None  # product-only nodes of the batch (None: none)


@dataclass
class TreePlan:
    """The structure of a forest prepared for :func:`tree_size_distribution`.

    Building a plan costs a few numpy passes over the nodes; it depends only on the
    graph's structure, so fits and greedy searches that change weights or seeds reuse it.
    It records that structure (``n``, ``src``, ``dst``), and the functions taking a plan
    refuse one built for another graph.

    Attributes
    ----------
    n
        Number of nodes.
    parent
        Parent of each node in the rooted forest, ``-1`` for roots.
    level
        Processing level of each node (children are in earlier levels).
    size
        Subtree size of each node.
    roots
        The component roots.
    src, dst
        The edge list of the graph the plan was built for (not its weights).
    """

    n: int
    parent: np.ndarray
    level: np.ndarray
    size: np.ndarray
    roots: np.ndarray
    e_up: np.ndarray
    e_down: np.ndarray
    batches: list[_Batch]
    node_batch: np.ndarray  # batch whose output holds node v's messages
    node_row: np.ndarray  # row of node v in that output
    last_use: np.ndarray  # per batch: last batch that reads its output (len: never freed)
    final_pieces: list[tuple[int, torch.Tensor]]
    final_rounds: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
    kids: np.ndarray  # children of all nodes, grouped by parent (CSR)
    kid_start: np.ndarray  # first position of node v's children in ``kids``
    kid_count: np.ndarray  # number of children of v
    src: np.ndarray  # edge list the plan was built for: e_up/e_down index into it
    dst: np.ndarray
    n_virtual: int = 0  # product-only nodes ``n..n+n_virtual-1`` of the upward pass


def _next_pow2(x: np.ndarray) -> np.ndarray:
    return np.left_shift(1, np.ceil(np.log2(np.maximum(x, 1))).astype(np.int64))


def _reduction_rounds(group: np.ndarray, rank: np.ndarray):
    """Index plan for a segmented product of rows sorted by (group, rank)."""
    rounds = []
    g, r = group, rank
    while r.size and r.max() > 0:
        m = r.shape[0]
        keep = np.flatnonzero(r % 2 == 0)
        nxt = keep + 1
        has = nxt < m
        has[has] = g[nxt[has]] == g[keep[has]]
        partner = np.where(has, nxt, keep)
        rounds.append((torch.from_numpy(keep), torch.from_numpy(partner), torch.from_numpy(has)))
        g, r = g[keep], r[keep] // 2
    return rounds, g


def _pieces(nodes: np.ndarray, node_batch: np.ndarray, node_row: np.ndarray):
    """Group ``nodes`` by the batch output holding them; return pieces and permutation.

    The permutation takes the concatenated pieces back to the order of ``nodes``.
    """
    bs = node_batch[nodes]
    pieces, order = [], []
    for b in np.unique(bs):
        sel = np.flatnonzero(bs == b)
        pieces.append((int(b), torch.from_numpy(node_row[nodes[sel]])))
        order.append(sel)
    cat = np.concatenate(order) if order else np.zeros(0, dtype=np.int64)
    perm = None if len(pieces) <= 1 else torch.from_numpy(np.argsort(cat, kind="stable"))
    return pieces, perm


def _merge_buckets(at_level: np.ndarray, node_L: np.ndarray, budget: int):
    """Group a level's nodes by transform length, merging small groups into larger ones.

    A group of ``n_s`` nodes moves up to the next larger length ``L`` when ``n_s * L``
    stays within ``budget`` values: one batch fewer saves more Python and dispatch
    overhead than the longer transforms cost.
    """
    Ls = node_L[at_level]
    groups: list[tuple[int, list[np.ndarray]]] = []
    for L in np.unique(Ls)[::-1]:
        nodes = at_level[Ls == L]
        if groups and nodes.size * groups[-1][0] <= budget:
            groups[-1][1].append(nodes)
        else:
            groups.append((int(L), [nodes]))
    return [(L, np.concatenate(parts)) for L, parts in groups[::-1]]


def _virtual_products(parent, level, size, e_up, e_down, kids, start, count, m, max_children):
    """Extend the rooted forest with product-only nodes under nodes with many children.

    Returns the children CSR (count, kids, start), subtree sizes, edge indices and
    processing keys of the extended structure (real nodes ``0..n-1`` first) and the number
    of virtual nodes. Processing key of a real node at level ``t``: ``t * (R + 1) + R``; of
    a virtual node built in grouping round ``r`` under a node at level ``t``:
    ``t * (R + 1) + r - 1``, so every child comes before its parent.
    """
    n = parent.size
    hubs = np.flatnonzero(count > max_children)
    cap = n + 2 * int(count[hubs].sum()) // (max_children - 1) + hubs.size + 1
    uparent = np.full(cap, -1, dtype=np.int64)
    uparent[:n] = parent
    usize = np.zeros(cap, dtype=np.int64)
    usize[:n] = size
    rnd = np.zeros(cap, dtype=np.int64)
    hub_level = np.zeros(cap, dtype=np.int64)
    hub_level[:n] = level
    next_id, R = n, 0
    for h in hubs.tolist():
        current = kids[start[h] : start[h] + count[h]]
        r = 0
        while current.size > max_children:
            r += 1
            nv = -(-current.size // max_children)
            ids = np.arange(next_id, next_id + nv)
            owner = np.arange(current.size) // max_children
            uparent[ids] = h
            uparent[current] = ids[owner]
            np.add.at(usize, ids[owner], usize[current])
            rnd[ids] = r
            hub_level[ids] = level[h]
            next_id += nv
            current = ids
        R = max(R, r)
    total = next_id
    uparent, usize = uparent[:total], usize[:total]
    ukey = hub_level[:total] * (R + 1) + np.where(np.arange(total) < n, R, rnd[:total] - 1)
    ue_up = np.concatenate([e_up, np.full(total - n, m, dtype=np.int64)])
    ue_down = np.concatenate([e_down, np.full(total - n, m, dtype=np.int64)])
    if total == n:
        return count, kids, start, usize, ue_up, ue_down, ukey, 0
    ukids = np.flatnonzero(uparent >= 0)
    ukids = ukids[np.argsort(uparent[ukids], kind="stable")]
    ustart = np.searchsorted(uparent[ukids], np.arange(total))
    ucount = np.bincount(uparent[ukids], minlength=total)
    return ucount, ukids, ustart, usize, ue_up, ue_down, ukey, total - n


def tree_plan(
    graph: CascadeGraph, *, merge_budget: int = 1 << 14, max_children: int = 16
) -> TreePlan:
    """Root a forest at the centres of its components and plan the level-by-level pass.

    Parameters
    ----------
    graph
        A network whose undirected skeleton has no cycle.
    merge_budget
        Nodes of a level whose transform length would differ are batched together when
        the padding costs at most this many values (fewer, larger batches).
    max_children
        A node with more children multiplies their messages through a tree of
        product-only (virtual) nodes with at most this many children each, so that small
        subtrees are multiplied at short transform lengths: ``K`` children of a node of
        subtree size ``S`` cost ``O(S log S log K)`` instead of ``O(K S log S)`` (a star
        of 10,000 nodes: 36 s -> well under a second).

    Returns
    -------
    TreePlan

    Raises
    ------
    ValueError
        If the skeleton has a cycle (the message names a link on it).
    """
    n = graph.n
    link = find_cycle_link(graph)
    if link is not None:
        u, v = link
        raise ValueError(
            f"method='tree' needs a forest, but the link ({graph.labels[u]!r}, "
            f"{graph.labels[v]!r}) closes a cycle; use method='tda' or 'mc'"
        )
    a, b, e_ab, e_ba = graph.undirected_links()
    deg = np.bincount(a, minlength=n) + np.bincount(b, minlength=n)
    xor = np.zeros(n, dtype=np.int64)
    np.bitwise_xor.at(xor, a, b)
    np.bitwise_xor.at(xor, b, a)
    alive = np.ones(n, dtype=bool)
    parent = np.full(n, -1, dtype=np.int64)
    level = np.zeros(n, dtype=np.int64)
    size = np.ones(n, dtype=np.int64)
    is_leaf = np.zeros(n, dtype=bool)
    rnd = 0
    leaves = np.flatnonzero(deg == 1)
    while leaves.size:
        par = xor[leaves]
        is_leaf[:] = False
        is_leaf[leaves] = True
        peel = ~is_leaf[par] | (leaves < par)  # a last pair keeps its larger node as root
        leaves, par = leaves[peel], par[peel]
        parent[leaves] = par
        level[leaves] = rnd
        alive[leaves] = False
        np.add.at(size, par, size[leaves])
        np.subtract.at(deg, par, 1)
        np.bitwise_xor.at(xor, par, leaves)
        deg[leaves] = 0
        rnd += 1
        leaves = np.flatnonzero((deg == 1) & alive)
    roots = np.flatnonzero(alive)
    level[roots] = rnd

    # edge indices child->parent and parent->child (``num_edges`` = a zero weight)
    m = graph.num_edges
    keys = a * n + b
    e_up = np.full(n, m, dtype=np.int64)
    e_down = np.full(n, m, dtype=np.int64)
    kids = np.flatnonzero(parent >= 0)
    if kids.size:
        pk = parent[kids]
        idx = np.searchsorted(keys, np.minimum(kids, pk) * n + np.maximum(kids, pk))
        fwd = kids < pk  # child is the smaller endpoint: child->parent is a->b
        up = np.where(fwd, e_ab[idx], e_ba[idx])
        down = np.where(fwd, e_ba[idx], e_ab[idx])
        e_up[kids] = np.where(up >= 0, up, m)
        e_down[kids] = np.where(down >= 0, down, m)

    # children lists in CSR form
    kids = kids[np.argsort(parent[kids], kind="stable")]
    kid_par = parent[kids]
    start = np.searchsorted(kid_par, np.arange(n))
    count = np.searchsorted(kid_par, np.arange(n), side="right") - start

    # upward structure: hubs multiply their children through virtual product nodes
    ucount, ukids, ustart, usize, ue_up, ue_down, ukey, n_virtual = _virtual_products(
        parent, level, size, e_up, e_down, kids, start, count, m, max(2, int(max_children))
    )
    node_L = np.maximum(_MIN_L, _next_pow2(usize + 1))
    node_row = np.zeros(node_L.size, dtype=np.int64)
    node_batch = np.zeros(node_L.size, dtype=np.int64)
    last_use: list[int] = []
    batches = []
    by_level = np.argsort(ukey, kind="stable")
    keys_sorted = ukey[by_level]
    for t in np.unique(keys_sorted):
        at_level = by_level[
            np.searchsorted(keys_sorted, t) : np.searchsorted(keys_sorted, t, "right")
        ]
        for L, nodes in _merge_buckets(at_level, node_L, merge_budget):
            node_L[nodes] = L  # merged nodes are stored zero-padded at the batch length
            # each batch's messages are a tensor of their own: writing them into shared
            # per-length stores made every backward step copy the whole store (backward
            # on a path of 2,000 nodes: 9 s for a 0.3 s forward, cubic in the depth)
            node_batch[nodes] = len(batches)
            node_row[nodes] = np.arange(nodes.size)
            last_use.append(len(batches))
            cnt = ucount[nodes]
            total = int(cnt.sum())
            if total:
                ends = np.cumsum(cnt)
                offs = np.repeat(ustart[nodes] - ends + cnt, cnt) + np.arange(total)
                children = ukids[offs]
                group = np.repeat(np.arange(nodes.size), cnt)
                rank = np.arange(total) - np.repeat(ends - cnt, cnt)
                pieces, perm = _pieces(children, node_batch, node_row)
                for b, _ in pieces:
                    last_use[b] = len(batches)
                rounds, slots = _reduction_rounds(group, rank)
                slot_t = None if slots.size == nodes.size else torch.from_numpy(slots)
            else:
                pieces, perm, rounds, slot_t = [], None, [], None
                children = group = np.zeros(0, dtype=np.int64)
            virt = nodes >= n
            batches.append(
                _Batch(
                    nodes=torch.from_numpy(nodes),
                    L=L,
                    pieces=pieces,
                    perm=perm,
                    rounds=rounds,
                    slots=slot_t,
                    e_up=torch.from_numpy(ue_up[nodes]),
                    e_down=torch.from_numpy(ue_down[nodes]),
                    children=torch.from_numpy(children),
                    group=torch.from_numpy(group),
                    virtual=torch.from_numpy(virt) if virt.any() else None,
                )
            )
    final_pieces, _ = _pieces(roots, node_batch, node_row)  # order of roots is irrelevant
    last_use_arr = np.asarray(last_use, dtype=np.int64)
    last_use_arr[node_batch[roots]] = len(batches)  # read after the pass
    final_rounds, _ = _reduction_rounds(np.zeros(roots.size, dtype=np.int64), np.arange(roots.size))
    plan = TreePlan(
        n=n,
        parent=parent,
        level=level,
        size=size,
        roots=roots,
        e_up=e_up,
        e_down=e_down,
        batches=batches,
        node_batch=node_batch,
        node_row=node_row,
        last_use=last_use_arr,
        final_pieces=final_pieces,
        final_rounds=final_rounds,
        kids=kids,
        kid_start=start,
        kid_count=count,
        src=graph.src.copy(),
        dst=graph.dst.copy(),
        n_virtual=n_virtual,
    )
    return plan


def _segmented_product(x: torch.Tensor, rounds) -> torch.Tensor:
    """Segmented product of rows (the tail mode's scaled rows: :func:`_tilted_product`)."""
    dev = x.device  # the plan's index tensors live on the CPU
    for keep, partner, has in rounds:
        other = x.index_select(0, partner.to(dev))
        mask = has.to(dev).view(-1, *([1] * (x.dim() - 1)))
        one = torch.ones_like(other)
        x = x.index_select(0, keep.to(dev)) * torch.where(mask, other, one)
    return x


def _gather(outs: list[torch.Tensor | None], pieces, perm, L: int) -> torch.Tensor:
    parts = [torch.fft.rfft(outs[b].index_select(0, rows), n=L, dim=-1) for b, rows in pieces]
    x = parts[0] if len(parts) == 1 else torch.cat(parts, dim=0)
    return x if perm is None else x.index_select(0, perm.to(x.device))


def _upward(
    plan: TreePlan,
    weight: torch.Tensor,
    p: torch.Tensor,
    radius: float,
    keep: bool = False,
) -> tuple[list[torch.Tensor | None], None]:
    """Run the upward pass; return each batch's coefficients (and None: no log-scales).

    Node ``v``'s messages are row ``plan.node_row[v]`` of output ``plan.node_batch[v]``.
    Without ``keep`` an output is dropped once its last reader has run (only the roots'
    outputs are returned), so that memory follows the messages still waiting for their
    parent instead of all ``Σ_v L_v`` values (a path of 100,000 nodes: 25 GB).

    The tail mode's pass, with every message row scaled on its own, is
    :func:`_upward_tilted`.
    """
    real = weight.dtype
    device = weight.device
    w = torch.cat([weight, weight.new_zeros(1)])  # index num_edges = absent edge
    # p enters through one node, so that each radius adds its gradient to p in one sum
    # (the tail mode's backward rebuilds the radii one at a time and must add alike)
    p_all = torch.cat([p, p.new_zeros(plan.n_virtual)])
    q_all = 1.0 - p_all
    outs: list[torch.Tensor | None] = []
    free_after: dict[int, list[int]] = {}
    if not keep:
        for b, last in enumerate(plan.last_use.tolist()):
            free_after.setdefault(last, []).append(b)
    zs: dict[int, torch.Tensor] = {}
    for i, bt in enumerate(plan.batches):
        L = bt.L
        if L not in zs:
            j = torch.arange(L // 2 + 1, dtype=real, device=device)
            zs[L] = radius * torch.exp(-2j * math.pi * j / L)
        z = zs[L]
        nodes = bt.nodes.to(device)
        nb = nodes.shape[0]
        if bt.pieces:
            prod = _segmented_product(
                _gather(outs, [(b, r.to(device)) for b, r in bt.pieces], bt.perm, L),
                bt.rounds,
            )
            if bt.slots is not None:
                full = torch.ones(nb, 3, L // 2 + 1, dtype=prod.dtype, device=device)
                prod = full.index_copy(0, bt.slots.to(device), prod)
            PB, PA0, PA = prod[:, 0], prod[:, 1], prod[:, 2]
        else:
            PB = PA0 = PA = torch.ones(nb, L // 2 + 1, dtype=z.dtype, device=device)
        q = q_all.index_select(0, nodes).unsqueeze(-1)
        Nq = q * PB
        Uq = q * z * PA0
        Iq = z * (PA - q * PA0)
        wu = w.index_select(0, bt.e_up.to(device)).unsqueeze(-1)
        wd = w.index_select(0, bt.e_down.to(device)).unsqueeze(-1)
        B = (1 - wu) * Iq + Nq
        A0 = (1 - wu) * Iq + wd * Uq + (1 - wd) * Nq
        A = A0 + wu * Iq
        if bt.virtual is not None:  # product-only nodes pass their children's products on
            v = bt.virtual.to(device).unsqueeze(-1)
            B, A0, A = torch.where(v, PB, B), torch.where(v, PA0, A0), torch.where(v, PA, A)
        out = torch.fft.irfft(torch.stack([B, A0, A], dim=1), n=L, dim=-1)
        outs.append(out)
        for b in free_after.get(i, ()):
            outs[b] = None
    return outs, None


#: log-scale of a zero row or term of the tilted pass: below every real one (those reach
#: about -700 per node), and exp() of a difference with it is 0
_NONE = -1e30


def _tilted_product(x: torch.Tensor, scale: torch.Tensor, rounds):
    """Segmented product of rows ``(B, A0, D)`` (``D = A - A0``), each row with a log-scale.

    The true rows are ``x * exp(scale)``. ``Π B`` and ``Π A0`` multiply and add scales; the
    third row carries ``Π A - Π A0 = D1 (A0_2 + D2) + A0_1 D2`` with each term brought to
    the largest term's scale (no subtraction, and a term far below it underflows
    harmlessly). Returns the products and their log-scales.
    """
    dev = x.device
    ident = torch.tensor([0.0, 0.0, _NONE], dtype=scale.dtype, device=dev)
    one = torch.ones_like(x[:1])
    one[:, 2] = 0  # the identity of (B, A0, D): no difference
    for keep, partner, has in rounds:
        keep, partner, has = keep.to(dev), partner.to(dev), has.to(dev)
        other = torch.where(has.view(-1, 1, 1), x.index_select(0, partner), one)
        mine = x.index_select(0, keep)
        with torch.no_grad():
            so = torch.where(has.view(-1, 1), scale.index_select(0, partner), ident)
            sm = scale.index_select(0, keep)
            m2 = torch.maximum(so[:, 1], so[:, 2])  # scale of A_2 = A0_2 + D2
            t1, t2 = sm[:, 2] + m2, sm[:, 1] + so[:, 2]  # D1 A_2 and A0_1 D2
            sd = torch.maximum(t1, t2)
            # D1 (f0 A0_2 + f1 D2) f2 + A0_1 D2 f3, folded into three factors
            f = torch.exp(torch.stack([so[:, 1] - m2 + t1 - sd, so[:, 2] - m2 + t1 - sd,
                                       t2 - sd], 1)).to(x.dtype).unsqueeze(-1)
        c0, c1, c2 = f.unbind(1)
        a2 = torch.addcmul(other[:, 1] * c0, other[:, 2], c1)
        d = torch.addcmul(mine[:, 2] * a2, mine[:, 1], other[:, 2] * c2)
        x = torch.cat([mine[:, :2] * other[:, :2], d.unsqueeze(1)], dim=1)
        scale = torch.cat([sm[:, :2] + so[:, :2], sd.unsqueeze(1)], dim=1)
    return x, scale


def _upward_tilted(
    plan: TreePlan, weight: torch.Tensor, p: torch.Tensor, radius: float, keep: bool = False
) -> tuple[list[torch.Tensor | None], torch.Tensor]:
    """Run the upward pass on the circle ``|z| = radius``, each message row scaled alone.

    The third row holds ``A - A0`` (``= w_cv I_c``) instead of ``A``, so that
    ``I = z [p Π A0 + (Π A - Π A0)]`` has no subtraction: off the unit circle the A rows
    can exceed B by many orders, and the round-off of ``Π A - q Π A0`` then swamped B
    (a leaf seed under a root it cannot reach: P(size = 2) = 1.4e-9 instead of 0).

    Row ``r`` of node ``v`` is stored divided by ``exp(logscale[v, r])`` (largest
    coefficient 1), and ``rho = radius`` enters the log-scales, never the values. One
    scale per node let a row that is never used (the A rows of a component without seeds,
    ``rho^size`` times its B row) push the others below float64's range: a seed that
    reaches nobody got ``P(1) = 0.998`` at ``log rho = 27.5``, and whole radii from
    ``log rho = 120`` on came out empty. A sum of terms is brought to its largest term's
    scale, leaving out terms whose factor (``p``, ``q``, ``w`` or ``1 - w``) is 0.
    """
    real = weight.dtype
    device = weight.device
    lr = math.log(radius)
    nt = plan.n + plan.n_virtual
    m = weight.shape[0]
    w = torch.cat([weight, weight.new_zeros(1)])  # index num_edges = absent edge
    # per node (virtual ones: no seed, no edge): the factors of the terms below, with
    # the gradient, and 0 / _NONE (factor nonzero / zero) for their log-scales
    p_all = torch.cat([p, p.new_zeros(plan.n_virtual)])
    q_all = 1.0 - p_all
    pad = np.full(plan.n_virtual, m, dtype=np.int64)
    wu = w.index_select(0, torch.from_numpy(np.concatenate([plan.e_up, pad])).to(device))
    wd = w.index_select(0, torch.from_numpy(np.concatenate([plan.e_down, pad])).to(device))
    # p Π A0 | Π A - Π A0 in I / z; (1-wu) I | q Π B in B; (1-wu) I | wd q z Π A0 |
    # (1-wd) q Π B in A0; wu I in A - A0
    coef = torch.stack([p_all, torch.ones_like(p_all), 1 - wu, q_all, 1 - wu, wd * q_all,
                        (1 - wd) * q_all, wu], 1)
    with torch.no_grad():
        zero = torch.where(coef > 0, 0.0, _NONE).to(real)
    outs: list[torch.Tensor | None] = []
    free_after: dict[int, list[int]] = {}
    if not keep:
        for b, last in enumerate(plan.last_use.tolist()):
            free_after.setdefault(last, []).append(b)
    logscale = torch.full((nt, 3), _NONE, dtype=real, device=device)
    ident = torch.tensor([0.0, 0.0, _NONE], dtype=real, device=device)
    tiny = torch.finfo(real).tiny
    zs: dict[int, torch.Tensor] = {}
    for i, bt in enumerate(plan.batches):
        L = bt.L
        if L not in zs:
            j = torch.arange(L // 2 + 1, dtype=real, device=device)
            zs[L] = torch.exp(-2j * math.pi * j / L)  # the unit circle: rho is in the scales
        z = zs[L]
        nodes = bt.nodes.to(device)
        nb = nodes.shape[0]
        if bt.pieces:
            prod, sc = _tilted_product(
                _gather(outs, [(b, r.to(device)) for b, r in bt.pieces], bt.perm, L),
                logscale.index_select(0, bt.children.to(device)),
                bt.rounds,
            )
            if bt.slots is not None:
                slots = bt.slots.to(device)
                full = torch.ones(nb, 3, L // 2 + 1, dtype=prod.dtype, device=device)
                full[:, 2] = 0  # no children: no difference A - A0
                prod = full.index_copy(0, slots, prod)
                sc = ident.repeat(nb, 1).index_copy(0, slots, sc)
            PB, PA0, PA = prod[:, 0], prod[:, 1], prod[:, 2]
        else:
            PB = PA0 = torch.ones(nb, L // 2 + 1, dtype=z.dtype, device=device)
            PA = torch.zeros_like(PB)
            sc = ident.expand(nb, 3)
        with torch.no_grad():
            # log-scale of every term (_NONE where its factor is 0), and of each row: the
            # largest of its terms; every term is scaled by exp(own - largest) <= 1
            zn = zero.index_select(0, nodes)
            s_b, s_a, s_d = sc.unbind(1)
            s_in = torch.maximum(s_a + zn[:, 0], s_d)  # I / z
            s_i = s_in + lr
            t = torch.stack([s_a, s_d, s_i, s_b, s_i, s_a + lr, s_b, s_i], 1) + zn
            o_b, o_a = t[:, 2:4].amax(1), t[:, 4:7].amax(1)
            rows = torch.stack([o_b, o_a, t[:, 7]], 1)
            f = torch.exp(t[:, :7] - torch.stack([s_in, s_in, o_b, o_b, o_a, o_a, o_a], 1))
        cn = coef.index_select(0, nodes)
        k0, k1, k2, k3, k4, k5, k6 = (cn[:, :7] * f).unsqueeze(-1).unbind(1)
        # PA holds Π A - Π A0; p itself, as 1 - q loses a p below 1e-16
        Iz = z * (k0 * PA0 + k1 * PA)
        B = k2 * Iz + k3 * PB
        A0 = k4 * Iz + k5 * (z * PA0) + k6 * PB
        A = cn[:, 7:] * Iz
        if bt.virtual is not None:  # product-only nodes pass their children's products on
            v = bt.virtual.to(device).unsqueeze(-1)
            B, A0, A = torch.where(v, PB, B), torch.where(v, PA0, A0), torch.where(v, PA, A)
            rows = torch.where(v, sc, rows)
        out = torch.fft.irfft(torch.stack([B, A0, A], dim=1), n=L, dim=-1)
        with torch.no_grad():
            s = out.abs().amax(dim=-1)  # (nb, 3): each row to a largest coefficient of 1
            logscale[nodes] = torch.nan_to_num(torch.log(s), neginf=_NONE) + rows
        out = out / s.clamp_min(tiny).unsqueeze(-1)
        outs.append(out)
        for b in free_after.get(i, ()):
            outs[b] = None
    return outs, logscale


def _root_rows(plan: TreePlan, outs, n_out: int, device) -> torch.Tensor:
    """Move the roots' ``B`` messages (their components' distributions) to Fourier space."""
    parts = [
        torch.fft.rfft(outs[b].index_select(0, rows.to(device))[:, 0], n=n_out, dim=-1)
        for b, rows in plan.final_pieces
    ]
    return torch.cat(parts, dim=0) if len(parts) > 1 else parts[0]


def _root_product(plan: TreePlan, outs, n_out: int, device) -> torch.Tensor:
    """Multiply the roots' ``B`` messages (= their component distributions) and invert."""
    x = _segmented_product(_root_rows(plan, outs, n_out, device), plan.final_rounds)
    return torch.fft.irfft(x[0], n=n_out, dim=-1)


def _tilted_root_product(plan: TreePlan, outs, n_out: int, device) -> tuple[torch.Tensor, float]:
    """Return :func:`_root_product` scaled to a largest coefficient of 1, and the log-scale.

    The tail mode's product of the roots' rows: every partial product is brought to a
    largest value of 1. Unscaled, the rows of many components multiplied past float64's
    range (1,200 isolated nodes with ``p = 0.5`` at the radius of the mode: ``2^1200``,
    NaN), and a product of ``1e38`` (200 nodes, ``p = 1e-3``) left ``P_k`` a factor in the
    subnormals (digits lost, or 0).
    """

    def unit(x: torch.Tensor) -> tuple[torch.Tensor, float]:
        # by the value at z = 1 (frequency 0), the largest: all coefficients are >= 0
        with torch.no_grad():
            s = x[:, :1].abs().clamp_min(torch.finfo(x.real.dtype).tiny)
        return x / s, float(torch.log(s).sum())

    x, log_out = unit(_root_rows(plan, outs, n_out, device))
    for rnd in plan.final_rounds:
        x, t = unit(_segmented_product(x, [rnd]))
        log_out += t
    coef = torch.fft.irfft(x[0], n=n_out, dim=-1)
    with torch.no_grad():
        top = coef.abs().amax().clamp_min(torch.finfo(coef.dtype).tiny)
    return coef / top, log_out + float(torch.log(top))


def clip_negative(x: torch.Tensor) -> torch.Tensor:
    """Set round-off negatives of ``x`` to zero but keep the gradient of ``x`` there.

    ``clamp_min(0)`` would give a zero gradient wherever round-off pushed an exact
    probability to about ``-1e-17``, e.g. at a weight of exactly 0, where the true
    derivative is not zero.
    """
    return torch.where(x < 0, x - x.detach(), x)


def _single_radius(
    plan: TreePlan, weight: torch.Tensor, p: torch.Tensor, radius: float, tilt: bool = False
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Coefficients of the size GF on ``|z| = radius``; with ``tilt`` also their log-scale.

    With ``tilt`` the true coefficients are ``coef * exp(logscale)`` (largest ``coef`` 1);
    without it the log-scale is None.
    """
    if not tilt:
        stores, _ = _upward(plan, weight, p, radius)
        return _root_product(plan, stores, plan.n + 1, weight.device), None
    stores, logscale = _upward_tilted(plan, weight, p, radius)
    coef, log_out = _tilted_root_product(plan, stores, plan.n + 1, weight.device)
    roots = torch.from_numpy(plan.roots).to(weight.device)
    return coef, logscale[:, 0].index_select(0, roots).sum() + log_out  # the roots' B rows


def _plan_for(graph: CascadeGraph, plan: TreePlan | None) -> TreePlan:
    """Build a plan of ``graph``, or check that ``plan`` was built for its structure.

    A plan of another graph would silently give that graph's answer: its edge indices
    would pick the wrong weights. The weights may differ (fits reuse one plan).
    """
    if plan is None:
        return tree_plan(graph)
    if not isinstance(plan, TreePlan):
        raise TypeError(f"plan: expected a TreePlan from tree_plan(graph), got "
                        f"{type(plan).__name__}")
    if not (plan.n == graph.n and np.array_equal(plan.src, graph.src)
            and np.array_equal(plan.dst, graph.dst)):
        raise ValueError(
            f"plan: built for another graph ({plan.n} nodes, {plan.src.size} edges) than "
            f"`graph` ({graph.n} nodes, {graph.num_edges} edges) or for other edges; build it "
            "with tree_plan(graph) (a plan may be reused across weights, not structures)"
        )
    return plan


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


#: contour radii of the tail mode's starting grid (25 took twice the time for the same values)
_TAIL_RADII = 9


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
        with respect to the weights and ``p``. In the default mode, entries below the
        ``~1e-15`` precision floor are clipped at zero (never negative); in the
        tail-accurate mode every size down to float64's ``1e-308`` has a relative error of
        about ``1e-8`` (computed in float64, returned in the weights' dtype) and
        impossible sizes are exactly 0, except a size far below the line through ``log P``
        of sizes on both sides of it (a valley: no contour radius lifts it above the
        round-off of the others, e.g. ``P(1) = 2e-18`` between ``P(0) = 1`` and
        ``P(2) = 2e-3``, or ``P(1) = 1e-60`` between ``P(0) = 1`` and ``P(2) = 5e-76``):
        that one comes out with a larger error, below about 1%, or as 0 when even that
        is out of reach, never as round-off noise. There, a weight or seed probability
        within 1e-12 of 0 or 1 that requires a gradient costs one more evaluation (``P``
        is linear in it, so its derivative is a difference of two, accurate to about 1e-8
        of the larger of ``P`` at 0 and at 1, or that value's valley error), and the
        second derivatives between two such entries are left out (0).

    Raises
    ------
    TypeError, ValueError
        If ``p`` is not one probability per node, or ``plan`` was built for another graph.

    Warns
    -----
    RuntimeWarning
        In the tail-accurate mode, naming the sizes the radius search left neither
        resolved nor shown to be valleys (its rounds ran out, or a ratio
        ``P(k+1) / P(k)`` below about ``e^-700`` needs a radius beyond its range).

    Examples
    --------
    >>> import torch
    >>> from biomodels.cascade import CascadeGraph, seed_probabilities
    >>> g = CascadeGraph.from_edges([(0, 1, 0.5), (1, 2, 0.5)])
    >>> P = tree_size_distribution(g, seed_probabilities(g, seeds=[0]))
    >>> [round(float(x), 3) for x in P]
    [0.0, 0.5, 0.25, 0.25]
    """
    plan = _plan_for(graph, plan)
    weight = graph.weight
    p = check_seed_vector(graph, p)
    p0 = torch.prod(1 - p).reshape(1)  # exact P(size = 0): no seed at all
    if not tail_accurate:
        coef, _ = _single_radius(plan, weight, p, 1.0)
        return torch.cat([p0, clip_negative(coef[1:])])
    return _tail_with_boundaries(plan, weight, p, int(radii))


def _tail_with_boundaries(plan: TreePlan, weight: torch.Tensor, p: torch.Tensor,
                          radii: int, fixed_p: np.ndarray | None = None) -> torch.Tensor:
    """Run the tail mode, with exact gradients at weights and seed probabilities near 0 or 1.

    The tilted pass leaves out the terms whose factor (``w``, ``1 - w``, ``p``, ``q``) is
    0 (their scale could push the others out of range), and with them those terms'
    derivatives: at a weight of 0 the gradient came out -0.16 instead of 0.036, and a
    factor below about 1e-20 gave 2^32 for -0.5. Every ``P(size = k)`` is linear in each
    weight and each seed probability (an edge is live, a node seeded, independently), so
    the derivative along an entry within ``_BOUND`` of 0 or 1 is the difference of two
    evaluations, ``P(x_j = 1) - P(x_j = 0)``: one more tail-mode evaluation per such entry
    that asks for a gradient, accurate to about ``_TAIL_RTOL`` of the larger of the two
    values. The other entries keep the gradient of the pass itself, and the difference
    stays differentiable in them. ``fixed_p`` marks seed probabilities whose gradient is
    zero by construction (TDA's folded probabilities of nodes without a dropped link):
    they cost nothing.
    """
    # P(0) in float64 too, like every other size (float32: n roundings, 2e-6 at n = 200);
    # exact and differentiable in p (no seed at all), also at p of 0 or 1
    p0 = torch.prod(1 - p.double()).reshape(1)
    out_dtype = weight.dtype
    track = torch.is_grad_enabled()
    edges = _near_bounds(weight) if track and weight.requires_grad else np.zeros(0, np.int64)
    nodes = _near_bounds(p) if track and p.requires_grad else np.zeros(0, np.int64)
    if fixed_p is not None:
        nodes = nodes[~fixed_p[nodes]]
    if not edges.size and not nodes.size:
        return _tail_accurate(plan, weight, p, p0, radii).to(out_dtype)
    import warnings

    if edges.size + nodes.size > 32:
        warnings.warn(
            f"tail_accurate: {edges.size} weights and {nodes.size} seed probabilities are "
            "0 or 1 (within 1e-12) and require a gradient; each costs one more "
            "tail-accurate evaluation (P is linear in each of them, so its derivative is "
            "the difference of two evaluations). Detach them if their gradient is not "
            "needed", RuntimeWarning, stacklevel=_user_stacklevel())
    on_w = torch.zeros(weight.shape, dtype=torch.bool, device=weight.device)
    on_w[torch.as_tensor(edges, device=weight.device)] = True
    on_p = torch.zeros(p.shape, dtype=torch.bool, device=p.device)
    on_p[torch.as_tensor(nodes, device=p.device)] = True
    w_in = torch.where(on_w, weight.detach(), weight)
    p_in = torch.where(on_p, p.detach(), p)
    base = _tail_accurate(plan, w_in, p_in, p0, radii)
    sizes = base[1:]
    extra = torch.zeros_like(sizes)
    for x, x_in, idx, is_w in ((weight, w_in, edges, True), (p, p_in, nodes, False)):
        for j in idx.tolist():
            low = float(x_in[j].detach()) < 0.5
            flipped = x_in.index_put((torch.tensor([j], device=x.device),),
                                     x_in.new_full((1,), 1.0 if low else 0.0))
            with warnings.catch_warnings():  # the value's own search has warned already
                warnings.simplefilter("ignore", RuntimeWarning)
                other = (_tail_accurate(plan, flipped, p_in, p0, radii) if is_w
                         else _tail_accurate(plan, w_in, flipped, p0, radii))
            # d P / d x_j = P(x_j = 1) - P(x_j = 0), whatever x_j (an x_j within 1e-12 of
            # the bound moves P by at most 1e-12 of the slope); 0 in value
            slope = (other[1:] - sizes) if low else (sizes - other[1:])
            extra = extra + (x[j] - x[j].detach()).double() * slope
    return torch.cat([base[:1], sizes + extra]).to(out_dtype)


#: entries this close to 0 or 1 get their derivative by linearity (_tail_with_boundaries):
#: the tilted pass's own is wrong from about 1e-20 on (2^32 for -0.5 at w = 1e-50)
_BOUND = 1e-12


def _near_bounds(x: torch.Tensor) -> np.ndarray:
    """Return the indices of the entries of ``x`` within ``_BOUND`` of 0 or 1."""
    v = x.detach()
    return torch.nonzero((v <= _BOUND) | (v >= 1 - _BOUND)).reshape(-1).cpu().numpy()


def _user_stacklevel() -> int:
    """Stack level of the first frame outside this package, for warnings.warn."""
    import os
    import sys

    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level


class _ChosenRadii(torch.autograd.Function):
    """The coefficients of the chosen radii of the tail mode, with a memory-lean backward.

    Forward returns the coefficients the radius search computed without gradients.
    Backward rebuilds the graph of one radius at a time (the same operations, so the same
    values) and pulls its rows of the output gradient back to ``weight`` and ``p``; a
    radius whose rows get no gradient is skipped. Memory is one radius's graph instead of
    all of them (on a deep tree each holds ``~Σ_v L_v`` complex values), and the time is
    that of building the graphs in forward and running them in backward, as before.
    """

    @staticmethod
    def forward(ctx: Any, weight: torch.Tensor, p: torch.Tensor, plan: TreePlan,
                radii: list[float], coefs: list[torch.Tensor]) -> torch.Tensor:
        ctx.plan, ctx.radii = plan, radii
        ctx.save_for_backward(weight, p)
        return torch.stack(coefs)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        weight, p = ctx.saved_tensors
        want_w, want_p = ctx.needs_input_grad[:2]
        # under create_graph the rebuilt graphs start at the saved inputs, so the
        # gradients stay differentiable (double backward)
        higher = torch.is_grad_enabled()
        gw = gp = None
        # last radius first: the order in which autograd summed the graphs of all radii
        for radius, g in reversed(list(zip(ctx.radii, grad))):
            if not g.requires_grad and not bool(g.any()):
                # no size of this radius reaches the loss; under create_graph a zero g can
                # still have a derivative (the slope terms of entries at 0 or 1: value 0)
                continue
            with torch.enable_grad():
                w_in = weight if higher else weight.detach().requires_grad_(want_w)
                p_in = p if higher else p.detach().requires_grad_(want_p)
                inputs = [x for x, want in ((w_in, want_w), (p_in, want_p)) if want]
                coef, _ = _single_radius(ctx.plan, w_in, p_in, radius, True)
                parts = list(torch.autograd.grad(coef, inputs, g, create_graph=higher,
                                                 allow_unused=True))
            if want_w:
                d = parts.pop(0)
                gw = d if gw is None else gw if d is None else gw + d
            if want_p:
                d = parts.pop(0)
                gp = d if gp is None else gp if d is None else gp + d
        if want_w and gw is None:
            gw = torch.zeros_like(weight)
        if want_p and gp is None:
            gp = torch.zeros_like(p)
        return gw, gp, None, None, None


#: relative error a radius must reach for a size to count as resolved in the tail mode
_TAIL_RTOL = 1e-8
#: largest |log rho| of the tail mode (rho and 1 / rho stay finite in float64)
_TAIL_MAX_LR = 700.0
#: an unresolved size (a valley) keeps its estimate while its relative error bound is
#: below this; above, the value may be round-off of larger sizes (noise): it comes out 0.
#: The bound eps * Σ_m |P_m| rho^m can fall 10-50x short of the round-off (a valley's
#: bound of 8% of its estimate, which was 3e9 times the true value; kept valleys of
#: random trees: errors up to 1.2% for bounds of 2.5e-4), hence the margin
_TAIL_KEEP = 1e-3


def _reach_count(plan: TreePlan, live: np.ndarray, heads: np.ndarray) -> int:
    """Count the nodes reachable from ``heads`` along the edges marked ``live``."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import breadth_first_order

    n = plan.n
    if not heads.size:
        return 0
    # one search from a virtual source n linked to every head
    src = np.concatenate([plan.src[live], np.full(heads.size, n)])
    dst = np.concatenate([plan.dst[live], heads])
    adj = sp.csr_matrix((np.ones(src.size, dtype=np.int8), (src, dst)), shape=(n + 1, n + 1))
    return int(breadth_first_order(adj, n, directed=True, return_predecessors=False).size) - 1


def _largest_size(plan: TreePlan, weight: torch.Tensor, p: torch.Tensor) -> int:
    """Largest possible cascade size: the nodes reachable from a possible seed."""
    live = (weight.detach() > 0).cpu().numpy()
    return _reach_count(plan, live, np.flatnonzero(p.detach().cpu().numpy() > 0))


def _smallest_size(plan: TreePlan, weight: torch.Tensor, p: torch.Tensor) -> int:
    """Return a lower bound on the smallest positive cascade size.

    The sure seeds (``p = 1``) and the nodes their weight-1 edges force are active in
    every cascade; without a sure seed the bound is 1.
    """
    sure = np.flatnonzero(p.detach().cpu().numpy() >= 1)
    if not sure.size:
        return 1
    return _reach_count(plan, (weight.detach() >= 1).cpu().numpy(), sure)


def _minkowski(a: int, b: int) -> int:
    """Minkowski sum of two sets of sizes held as bitsets (bit ``i``: size ``i``)."""
    if not a or not b:
        return 0
    if a.bit_count() > b.bit_count():
        a, b = b, a
    out = 0
    while a:  # one run of consecutive sizes of ``a`` at a time, by doubling shifts
        i = (a & -a).bit_length() - 1
        t = a >> i
        r = (t ^ (t + 1)).bit_length() - 1  # length of the run starting at i
        s, width = b, 1
        while width < r:
            step = min(width, r - width)
            s |= s << step
            width += step
        out |= s << i
        a ^= ((1 << r) - 1) << i
    return out


def _size_support(plan: TreePlan, weight: torch.Tensor, p: torch.Tensor) -> np.ndarray:
    """Mark the cascade sizes that have a positive probability, exactly (no round-off).

    The upward pass of the tail mode (``I = z [p Π A0 + (Π A - Π A0)]``, third row
    ``A - A0``) adds and multiplies nonnegative polynomials only, so the support of each
    message is a union (sums) and Minkowski sum (products) of supports, and a factor
    ``w``, ``1 - w``, ``p`` or ``q`` only matters through being 0 or not. The sets are
    held as Python integers, one bit per size, and dropped once the parent has read them.

    Returns
    -------
    numpy.ndarray
        Boolean, shape ``(n + 1,)``.
    """
    n = plan.n
    w = np.append(weight.detach().cpu().numpy(), 0.0)  # index num_edges: no edge
    pv = p.detach().cpu().numpy()
    B, A0, D = [0] * n, [0] * n, [0] * n
    total = 1
    for c in np.argsort(plan.level, kind="stable").tolist():  # children first
        pB, pA0, pD = 1, 1, 0  # products over the children (Π A - Π A0 for pD)
        s = int(plan.kid_start[c])
        for d in plan.kids[s : s + int(plan.kid_count[c])].tolist():
            pB = _minkowski(pB, B[d])
            pD = _minkowski(pD, A0[d] | D[d]) | _minkowski(pA0, D[d])
            pA0 = _minkowski(pA0, A0[d])
            B[d] = A0[d] = D[d] = 0
        has_q, has_p = pv[c] < 1, pv[c] > 0
        never = pB if has_q else 0  # N
        by_parent = pA0 << 1 if has_q else 0  # U
        inside = ((pA0 if has_p else 0) | pD) << 1  # I
        wu, wd = w[plan.e_up[c]], w[plan.e_down[c]]
        B[c] = (inside if wu < 1 else 0) | never
        A0[c] = ((inside if wu < 1 else 0) | (by_parent if wd > 0 else 0)
                 | (never if wd < 1 else 0))
        D[c] = inside if wu > 0 else 0
        if plan.parent[c] < 0:
            total = _minkowski(total, never | inside)
    bits = np.frombuffer(total.to_bytes((n + 8) // 8, "little"), dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little")[: n + 1].astype(bool)


@dataclass
class _TailState:
    """What the radius search knows about every size ``k`` (arrays of shape ``(n + 1,)``)."""

    best: np.ndarray  # log of the smallest error bound over the radii (without eps)
    est: np.ndarray  # log P_k from the radius of that bound (-inf: none)
    resolved: np.ndarray  # relative error bound within _TAIL_RTOL
    below: np.ndarray  # P_k is surely below float64's tiny
    hopeless: np.ndarray  # no radius can resolve P_k (a valley or an impossible size)
    proposals: np.ndarray  # log rho of the radii the unresolved sizes ask for next


def _tail_step(lrs: np.ndarray, means: np.ndarray, lerr: np.ndarray, est: np.ndarray,
               possible: np.ndarray) -> _TailState:
    """Judge every size from the radii so far and propose the next radii.

    The log error bound of size ``k`` at ``lr = log rho``, ``f_k(lr) = log Σ_m |P_m| rho^m
    - k lr``, is convex in ``lr`` with slope ``mean(lr) - k`` (the tilted mean rises with
    ``lr``), and the relative error ``eps exp(f_k) / P_k`` is smallest where that slope is
    0. An unresolved size is bracketed between the adjacent radii whose means lie below
    and above ``k``; their tangents meet at the next radius (kept 1/8 of the bracket
    away from its ends, so that the bracket shrinks at least that fast) and below the
    smallest ``f_k`` any radius between them can reach. A size
    that no radius could resolve even there (a size impossible or far less likely than
    its neighbours, a valley) asks for none, so it costs no passes, unless a radius there
    could still bring it within ``_TAIL_KEEP`` (the error it is then returned with). A
    size without a radius on one side asks for the range to widen (doubling ``|lr|`` up
    to ``_TAIL_MAX_LR``).
    """
    log_eps = math.log(float(np.finfo(np.float64).eps))
    log_rtol = math.log(_TAIL_RTOL)
    log_tiny = math.log(float(np.finfo(np.float64).tiny))
    kk = np.arange(lerr.shape[1], dtype=np.float64)
    arg = lerr.argmin(axis=0)
    cols = np.arange(lerr.shape[1])
    best, e = lerr[arg, cols], est[arg, cols]
    resolved = best + log_eps <= log_rtol + e
    # an upper bound on log P_k, with a margin on the round-off bound
    below = np.logaddexp(e, best + log_eps + math.log(1e3)) < log_tiny
    todo = np.flatnonzero(possible & ~resolved & ~below)
    state = _TailState(best, e, resolved, below, np.zeros(lerr.shape[1], dtype=bool),
                       np.zeros(0))
    ok = np.isfinite(means) & np.isfinite(lerr).any(axis=1)
    if not todo.size or not ok.any():
        return state
    order = np.flatnonzero(ok)[np.argsort(lrs[ok])]
    L, M, F = lrs[order], means[order], lerr[order][:, todo]
    k = kk[todo]
    # first radius whose mean exceeds k (the running maximum keeps round-off monotone)
    b = np.searchsorted(np.maximum.accumulate(M), k, side="right")
    props = []
    hi, lo = L[-1], L[0]
    if (b == L.size).any() and hi < _TAIL_MAX_LR:  # some size lies beyond every mean
        props.append(min(max(2 * hi, hi + 30.0), _TAIL_MAX_LR))
    if (b == 0).any() and lo > -_TAIL_MAX_LR:
        props.append(max(min(2 * lo, lo - 30.0), -_TAIL_MAX_LR))
    j = np.flatnonzero((b > 0) & (b < L.size))  # bracketed sizes, between radii a and b
    if j.size:
        bj = b[j]
        xa, xb = L[bj - 1], L[bj]
        fa, fb = F[bj - 1, j], F[bj, j]
        sa, sb = M[bj - 1] - k[j], M[bj] - k[j]  # slopes: sa <= 0 < sb
        with np.errstate(invalid="ignore"):  # an infinite bound: no tangent
            x = (fb - fa + sa * xa - sb * xb) / (sa - sb)
            floor = fa + sa * (x - xa)  # lower bound of f_k between xa and xb
        width = xb - xa
        x = np.clip(np.nan_to_num(x, nan=0.5 * (xa + xb)), xa + width / 8, xb - width / 8)
        floor = np.where(np.isfinite(floor), floor, -np.inf)
        # not resolvable even at the best radius in the bracket, with P_k at its largest
        upper = np.logaddexp(e[todo[j]], best[todo[j]] + log_eps)
        hopeless = upper < log_eps + floor - log_rtol
        state.hopeless[todo[j[hopeless]]] = True
        # a valley is still worth a radius while the best one in the bracket could bring
        # it within _TAIL_KEEP (returned with that error) and no radius so far has
        keep = math.log(_TAIL_KEEP)
        near = (upper >= log_eps + floor - keep) & (best[todo[j]] + log_eps > keep + e[todo[j]])
        go = (~hopeless | near) & (width > 1e-6) & np.isfinite(fa) & np.isfinite(fb)
        props.extend(np.round(x[go], 7).tolist())
    state.proposals = np.unique(np.asarray(props, dtype=np.float64))  # widening: the ends
    return state


def _tail_accurate(plan: TreePlan, weight: torch.Tensor, p: torch.Tensor, p0: torch.Tensor,
                   radii: int, max_rounds: int = 12, per_round: int = 12) -> torch.Tensor:
    """``P(size = k)`` with a small relative error for every ``k`` (tilted contours).

    At ``log rho = lr`` the tilted coefficients are ``P_k rho^k``; size ``k`` is resolved
    to about ``eps * sum_m P_m rho^m / (P_k rho^k)``, so the best radius for ``k`` is the
    one whose tilted distribution has its mean near ``k`` (a saddle point). A grid of
    ``radii`` radii over ``log rho`` in [-30, 30] is widened and refined where sizes are
    still unresolved (:func:`_tail_step`). A geometric tail ``w^k`` over 1000 sizes needs
    ``lr`` within ``~0.004`` of ``log(1/w)``, which no fixed grid provides; a star of
    tiny weights ``w`` needs ``lr`` near ``log(1/w)``, far beyond it. A size that no
    radius resolves (a valley) keeps its estimate within ``_TAIL_KEEP`` and is 0 beyond
    it; one the search left open is also named in a warning, unless it is impossible.
    Computed and returned in float64 whatever the dtype.
    """
    weight = weight.to(torch.float64)
    p = p.to(torch.float64)
    n = plan.n
    k = torch.arange(n + 1, dtype=torch.float64, device=weight.device)
    kk = np.arange(n + 1, dtype=np.float64)
    # one record per radius: log rho, coefficients, log scale, the log error bound per
    # size, the tilted mean and log P_k estimates. The search runs without gradients: the
    # graphs of all its radii (~35 passes) held 13.8 GB for one fit step on a 2,000-node
    # path; the graphs of the radii that are picked are rebuilt in backward (_ChosenRadii)
    passes: list[tuple[float, torch.Tensor, torch.Tensor, np.ndarray, float, np.ndarray]] = []

    def run(lr: float) -> None:
        with torch.no_grad():
            # the true coefficients: coef * exp(logtot)
            coef, logtot = _single_radius(plan, weight, p, float(math.exp(lr)), True)
            c = clip_negative(coef).detach().cpu().numpy()
            total = float(np.abs(coef.detach().cpu().numpy()).sum())
            mean = float((c * kk).sum() / c.sum()) if c.sum() > 0 else math.nan
            lerr = (math.log(total) + float(logtot) - kk * lr if 0 < total < math.inf
                    else np.full(n + 1, np.inf))
            with np.errstate(divide="ignore"):
                est = np.log(c) + float(logtot) - kk * lr
        passes.append((lr, coef, logtot, lerr, mean, est))

    def state() -> _TailState:
        return _tail_step(np.array([rec[0] for rec in passes]),
                          np.array([rec[4] for rec in passes]),
                          np.stack([rec[3] for rec in passes]),
                          np.stack([rec[5] for rec in passes]), possible)

    for lr in np.linspace(-30.0, 30.0, max(int(radii), 2) | 1):
        run(float(lr))
    # sizes outside [smallest, largest] reachable are exactly 0: no radius is spent on them
    possible = (kk >= _smallest_size(plan, weight, p)) & (kk <= _largest_size(plan, weight, p))
    st = state()
    for _ in range(max_rounds):
        lrs = np.array([rec[0] for rec in passes])
        new = [lr for lr in st.proposals.tolist() if np.abs(lrs - lr).min() > 1e-7]
        if not new:
            break
        if len(new) > per_round:  # spread the budget over the unresolved sizes
            new = [new[i] for i in np.linspace(0, len(new) - 1, per_round).round().astype(int)]
        for lr in new:
            run(float(lr))
        st = state()
    # every size from the radius with the smallest error bound; computed for that radius
    # only, so radii whose scale overflows never enter the value or its gradient
    pick_all = np.stack([rec[3] for rec in passes]).argmin(axis=0)
    used, pick_np = np.unique(pick_all, return_inverse=True)
    pick = torch.as_tensor(pick_np.reshape(-1), device=weight.device)
    chosen_passes = [passes[i] for i in used.tolist()]
    if torch.is_grad_enabled() and (weight.requires_grad or p.requires_grad):
        # the search's values, with each radius's graph rebuilt in backward one at a time:
        # keeping the graphs of all chosen radii held 2.6 GB on a 2,000-node path
        coefs = _ChosenRadii.apply(weight, p, plan, [math.exp(rec[0]) for rec in chosen_passes],
                                   [rec[1] for rec in chosen_passes])
    else:
        coefs = torch.stack([rec[1] for rec in chosen_passes])
    logtots = torch.stack([rec[2] for rec in chosen_passes])
    lr_t = torch.as_tensor([rec[0] for rec in chosen_passes], dtype=torch.float64,
                           device=weight.device)
    chosen = coefs.gather(0, pick.reshape(1, -1)).reshape(-1)
    result = clip_negative(chosen) * torch.exp(logtots[pick] - k * lr_t[pick])
    # a value within its own round-off is noise, not an estimate: 0, keeping the gradient
    # (a weight of exactly 0 makes larger sizes possible at first order)
    log_eps = math.log(float(np.finfo(np.float64).eps))
    keep = possible & (st.best + log_eps <= math.log(_TAIL_KEEP) + st.est)
    # sizes the search left open: neither resolved nor shown out of reach of every radius
    # (those are valleys, or impossible: documented, and 0 unless within _TAIL_KEEP)
    open_ = np.flatnonzero(possible & ~st.resolved & ~st.below & ~st.hopeless)
    open_ = open_[open_ > 0]
    if open_.size:
        support = _size_support(plan, weight, p)  # impossible sizes are exactly 0
        keep &= support
        _warn_unresolved(open_[support[open_]], st, log_eps)
    keep_t = torch.as_tensor(keep, device=weight.device)
    result = torch.where(keep_t, result, result - result.detach())
    return torch.cat([p0.to(torch.float64), result[1:]])


def _warn_unresolved(sizes: np.ndarray, st: _TailState, log_eps: float) -> None:
    """Warn that the radius search stopped before resolving the possible sizes ``sizes``."""
    if not sizes.size:
        return
    import warnings

    rel = np.exp(np.minimum(st.best[sizes] + log_eps - st.est[sizes], 0.0))
    shown = ", ".join(f"{int(s)}" + (f" (relative error <= {r:.0e})" if r <= _TAIL_KEEP else "")
                      for s, r in zip(sizes[:10], rel[:10]))
    more = f" and {sizes.size - 10} more" if sizes.size > 10 else ""
    warnings.warn(
        f"tail_accurate: the contour radius search stopped before P(size = k) was resolved "
        f"to a relative error of {_TAIL_RTOL:g} for k = {shown}{more} (its rounds ran out, "
        f"or the size needs |log rho| beyond {_TAIL_MAX_LR:g}); such sizes are returned as "
        "0 unless a bound is given", RuntimeWarning, stacklevel=_user_stacklevel())


def _exclusive_rows(x: torch.Tensor) -> torch.Tensor:
    """Row ``i`` of the result is the product of all rows of ``x`` but ``i`` (no divisions)."""
    ones = torch.ones_like(x[:1])
    pre = torch.cumprod(torch.cat([ones, x[:-1]]), dim=0)
    suf = torch.flip(torch.cumprod(torch.flip(torch.cat([x[1:], ones]), [0]), dim=0), [0])
    return pre * suf


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
    """
    plan = _plan_for(graph, plan)
    p = check_seed_vector(graph, p).detach()
    weight = graph.weight.detach()
    real, device = weight.dtype, weight.device
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
        cond = joint / total
        if min_prob is None:  # the precision floor of the dtype
            min_prob = max(1e-12, 1e3 * torch.finfo(total.dtype).eps)
        cond.masked_fill_((total < min_prob).unsqueeze(0), math.nan)
    return joint, cond
