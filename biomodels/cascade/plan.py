"""The level-batched schedule of Subtree Distribution Propagation on a forest.

:func:`tree_plan` roots each tree of the forest at its centre by peeling leaves, which also
orders the nodes in levels (all children of a node are in earlier levels), groups the nodes
of a level by the length ``L`` of their polynomials (a power of two above the subtree
size), and gives a node with many children a tree of product-only ("virtual") nodes of at
most ``max_children`` children each, so that small subtrees are multiplied at short lengths
instead of each being transformed at the hub's length. The passes
(:mod:`biomodels.cascade.passes`) run on that schedule; one plan serves every weight of the
same graph (fits reuse it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .graph import CascadeGraph, check_graph, find_cycle_link

__all__ = ["TreePlan", "tree_plan"]

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


@dataclass(repr=False)
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

    def __repr__(self) -> str:
        # the dataclass repr printed every array and batch tensor (40,993 characters for a
        # tree of 364 nodes); the forest's shape and the schedule's size instead
        def count(k: int, noun: str) -> str:
            return f"{k} {noun}" + ("" if k == 1 else "es" if noun.endswith("h") else "s")

        levels = (", " + count(int(self.level.max()) + 1, "level")
                  if isinstance(self.level, np.ndarray) and self.level.size else "")
        longest = max((b.L for b in self.batches), default=0)
        virtual = f", {self.n_virtual} product-only nodes" if self.n_virtual else ""
        return (f"TreePlan of {count(self.n, 'node')} in {count(np.size(self.roots), 'tree')}"
                f"{levels}; {count(len(self.batches), 'batch')}, polynomials up to length "
                f"{longest}{virtual}")


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


@torch.inference_mode(False)  # kept on the graph: fits and gradients reuse its indices
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
    TypeError
        If ``graph`` is not a :class:`CascadeGraph` (the message names its constructor).
    ValueError
        If the skeleton has a cycle (the message names a link on it).
    """
    check_graph(graph)
    n = graph.n
    link = find_cycle_link(graph)
    if link is not None:
        from .exact import _instead_of_tree  # imports this module

        u, v = link
        # 'exact' first where it takes the network (it said "use method='tda' or 'mc'"
        # on households too)
        raise ValueError(
            f"method='tree' needs a forest, but the link ({graph.labels[u]!r}, "
            f"{graph.labels[v]!r}) closes a cycle; use {_instead_of_tree(graph)}"
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



def _plan_for(graph: CascadeGraph, plan: TreePlan | None) -> TreePlan:
    """Build a plan of ``graph``, or check that ``plan`` was built for its structure.

    A plan of another graph would silently give that graph's answer: its edge indices
    would pick the wrong weights. The weights may differ (fits reuse one plan).
    """
    if plan is None:
        return graph._tree_plan  # built once per graph structure
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
