"""Tail-accurate size distributions: each ``P_k`` from the contour radius that resolves it.

Values on the unit circle carry an absolute error of about ``1e-16`` times the largest
coefficient, so probabilities below ``~1e-15`` are noise (they may even come out slightly
negative). :func:`tree_size_distribution` with ``tail_accurate=True`` evaluates the GFs on
circles of several radii ``ρ`` (exponential tilting, ``P̃_k = P_k ρ^k``, each message row
rescaled on its own so that the tilted coefficients stay in range for ``|log ρ|`` up to
700) and takes each ``P_k`` from the radius whose Chernoff bound ``Σ_m P_m ρ^m / ρ^k`` is
smallest, which makes the *relative* error of the tail small. The radii are searched size
by size, bracketing the saddle point of each unresolved size (:func:`_tail_step`).

A radius resolves only the sizes on the upper concave hull of ``log P``: a size far below
the line through ``log P`` of a smaller and a larger size stays below their round-off at
every radius. That is a valley between neighbours, but also a whole run of sizes between
a likely small size and the bulk: a leaf seed next to a hub has ``P(1) = 1 - w``, then
``P(2) = w (1 - w)^d`` (1e-19 on a BA tree at d = 36), and on a star of 100 leaves at
``w = 0.9`` every radius left sizes 2-71 unresolved (the tilted mean jumps from 1 to 82
between two radii). Such sizes came out 0, silently. They are taken from an upward pass
in the coefficient domain instead (:func:`_direct_sizes`): the messages only add and
multiply nonnegative polynomials, so products summed term by term keep every
coefficient's relative error at a few ``eps`` per node, down to float64's ``tiny``. It
costs up to ``O(n k)`` for sizes up to ``k`` (1-16 ms on the cases above), and runs only
when some size is left unresolved; beyond ``_DIRECT_BUDGET`` multiply-adds it is skipped
and those sizes are named in a RuntimeWarning.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from biomodels._stacklevel import user_stacklevel

from .passes import _single_radius, clip_negative, node_factors
from .plan import TreePlan

#: contour radii of the tail mode's starting grid (25 took twice the time for the same values)
_TAIL_RADII = 9


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
            "needed", RuntimeWarning, stacklevel=user_stacklevel())
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
            # the value's own search has warned already; not warnings.catch_warnings, which
            # swaps the process-wide filters (fits in threads left "ignore" in them for good)
            other = (_tail_accurate(plan, flipped, p_in, p0, radii, warn=False) if is_w
                     else _tail_accurate(plan, w_in, flipped, p0, radii, warn=False))
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
#: where the direct pass is over its budget, an unresolved size (a valley) keeps its
#: estimate while its relative error bound is below this; above, the value may be
#: round-off of larger sizes (noise): it comes out 0.
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


#: values of one block of a direct product's Toeplitz matrix (:func:`_conv_rows`): 32 MB
_DIRECT_BLOCK = 1 << 22


def _conv_rows(a: torch.Tensor, b: torch.Tensor, width: int) -> torch.Tensor:
    """Row-wise product of polynomials ``a`` and ``b``, its first ``width`` coefficients.

    Summed term by term (no transform), so a product of nonnegative rows has every
    coefficient to a relative error of about ``eps`` times the number of terms; an FFT
    product only reaches ``eps`` times the largest one. Blocks of ``b``'s coefficients at a
    time, so that the Toeplitz matrix of ``a`` never holds more than ``_DIRECT_BLOCK``
    values at once.
    """
    m, la = a.shape
    lb = min(b.shape[1], width)
    out = a.new_zeros(m, width)
    step = max(1, min(lb, _DIRECT_BLOCK // max(1, m * width)))
    for s in range(0, lb, step):
        bb = b[:, s : s + step]
        e, span = bb.shape[1], width - s
        aa = a[:, :span]
        # row t of the matrix: a[t - j] for j = e-1 .. 0 (zeros before a[0])
        mat = torch.nn.functional.pad(aa, (e - 1, span - aa.shape[1])).unfold(1, e, 1)
        out[:, s:] += torch.matmul(mat, bb.flip(1).unsqueeze(-1)).squeeze(-1)
    return out


def _fit_width(x: torch.Tensor, width: int) -> torch.Tensor:
    """Cut or zero-pad the rows of ``x`` to ``width`` coefficients."""
    if x.shape[-1] >= width:
        return x[..., :width]
    return torch.nn.functional.pad(x, (0, width - x.shape[-1]))


class _PolyMul(torch.autograd.Function):
    """:func:`_conv_rows` with its gradient: a correlation, which is again a product.

    ``d out[t] / d a[j] = b[t - j]``, so the gradient of ``a`` is the reversed product of
    the reversed output gradient with ``b`` (and alike for ``b``). Backward calls this
    Function again, so second derivatives (``create_graph``) work too.
    """

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, b: torch.Tensor, width: int) -> torch.Tensor:
        ctx.save_for_backward(a, b)
        ctx.width = width
        return _conv_rows(a, b, width)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        a, b = ctx.saved_tensors
        rev = grad.flip(-1)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = _fit_width(_PolyMul.apply(rev, b, ctx.width).flip(-1), a.shape[1])
        if ctx.needs_input_grad[1]:
            gb = _fit_width(_PolyMul.apply(rev, a, ctx.width).flip(-1), b.shape[1])
        return ga, gb, None


def _direct_product(x: torch.Tensor, lens: np.ndarray, rounds, top: int
                    ) -> tuple[torch.Tensor, np.ndarray]:
    """Segmented product of rows ``(B, A0, D)`` in the coefficient domain (exact sums).

    ``x`` is ``(m, 3, width)``, ``lens`` the number of coefficients each row may hold (at
    most ``top``); the rounds are the plan's (:func:`_tilted_product` in the Fourier
    domain). ``Π A - Π A0`` is carried as ``D1 (A0_2 + D2) + A0_1 D2``: no subtraction.
    """
    dev = x.device
    for keep, partner, has in rounds:
        kn, pn, hn = keep.numpy(), partner.numpy(), has.numpy()
        lk, lp = lens[kn], np.where(hn, lens[pn], 1)
        new = np.minimum(lk + lp - 1, top)
        mine = x.index_select(0, keep.to(dev))[..., : int(lk.max())]
        other = x.index_select(0, partner.to(dev))[..., : int(lp.max())]
        ident = torch.zeros_like(other[:1])
        ident[0, :2, 0] = 1.0  # the identity of (B, A0, D): 1, 1 and no difference
        other = torch.where(has.to(dev).view(-1, 1, 1), other, ident)
        left = torch.stack([mine[:, 0], mine[:, 1], mine[:, 2], mine[:, 1]], 1)
        right = torch.stack([other[:, 0], other[:, 1], other[:, 1] + other[:, 2],
                             other[:, 2]], 1)
        width = int(new.max())
        c = _PolyMul.apply(left.reshape(-1, left.shape[-1]), right.reshape(-1, right.shape[-1]),
                           width).view(-1, 4, width)
        x = torch.stack([c[:, 0], c[:, 1], c[:, 2] + c[:, 3]], 1)
        lens = new
    return x, lens


def _direct_sizes(plan: TreePlan, weight: torch.Tensor, p: torch.Tensor, top: int
                  ) -> torch.Tensor:
    """``P(size = k)`` for ``k < top`` from the upward pass in the coefficient domain.

    The tail mode's messages ``(B, A0, D = A - A0)`` only add and multiply nonnegative
    polynomials (:func:`_size_support`), so computed term by term (:func:`_conv_rows`) and
    cut after ``top`` coefficients every ``P_k`` keeps a relative error of a few ``eps``
    per node on its way (1e-13 measured on a path of 10,000), down to float64's ``tiny``, with
    no radius at all: it resolves the sizes that lie far below the line through ``log P``
    of sizes on both sides, where every contour radius leaves them below the round-off of
    the others (a leaf seed next to a hub: ``P(1) = 1 - w``, then ``P(2) = w (1 - w)^d``).
    The work is ``O(Σ`` products of the children's lengths ``)``, up to ``O(n top)`` per
    level, so the tail mode runs it only for such sizes. Differentiable (twice).
    """
    dev = weight.device
    outs = _direct_upward(plan, weight, p, top)
    # the components' distributions (the roots' B rows), multiplied pairwise, shortest first
    rows, lens = [], []
    for b, r in plan.final_pieces:
        x, ln = outs[b]  # type: ignore[misc]
        rows.append(x.index_select(0, r.to(dev))[:, 0])
        lens.append(ln[r.numpy()])
    width = max(x.shape[-1] for x in rows)
    x = torch.cat([_fit_width(x, width) for x in rows])
    ln = np.concatenate(lens)
    while x.shape[0] > 1:
        order = np.argsort(ln, kind="stable")
        odd = order[-1:] if order.size % 2 else order[:0]
        a, c = order[0 : order.size - odd.size : 2], order[1 : order.size - odd.size : 2]
        new = np.minimum(ln[a] + ln[c] - 1, top)
        left = x.index_select(0, torch.from_numpy(a).to(dev))[:, : int(ln[a].max())]
        right = x.index_select(0, torch.from_numpy(c).to(dev))[:, : int(ln[c].max())]
        prod = _PolyMul.apply(left, right, int(new.max()))
        rest = x.index_select(0, torch.from_numpy(odd).to(dev))
        width = max(prod.shape[-1], rest.shape[-1])
        x = torch.cat([_fit_width(prod, width), _fit_width(rest, width)])
        ln = np.concatenate([new, ln[odd]])
    return _fit_width(x[0], top)


def _direct_upward(plan: TreePlan, weight: torch.Tensor, p: torch.Tensor, top: int
                   ) -> list[tuple[torch.Tensor, np.ndarray] | None]:
    """Run the upward pass of :func:`_direct_sizes`: each batch's messages, cut after ``top``.

    Returns
    -------
    list
        Per batch of ``plan``, its rows ``(B, A0, D)`` of shape ``(nodes, 3, width)`` and
        the number of coefficients each may hold (zeros beyond), or None where no later
        batch reads them (freed). A root's row ``B`` is its tree's size distribution (its
        batch is never freed).
    """
    dev = weight.device
    dt = weight.dtype
    p_all, q_all, wu, wd = node_factors(plan, weight, p)
    outs: list[tuple[torch.Tensor, np.ndarray] | None] = []
    free_after: dict[int, list[int]] = {}
    for b, last in enumerate(plan.last_use.tolist()):
        free_after.setdefault(last, []).append(b)
    for i, bt in enumerate(plan.batches):
        nodes = bt.nodes.to(dev)
        nb = nodes.shape[0]
        if bt.pieces:
            parts, lens = [], []
            for b, rows in bt.pieces:
                x, ln = outs[b]  # type: ignore[misc]
                parts.append(x.index_select(0, rows.to(dev)))
                lens.append(ln[rows.numpy()])
            width = max(x.shape[-1] for x in parts)
            x = torch.cat([_fit_width(x, width) for x in parts])
            ln = np.concatenate(lens)
            if bt.perm is not None:
                x, ln = x.index_select(0, bt.perm.to(dev)), ln[bt.perm.numpy()]
            x, ln = _direct_product(x, ln, bt.rounds, top)
            if bt.slots is not None:
                full = torch.zeros(nb, 3, x.shape[-1], dtype=dt, device=dev)
                full[:, :2, 0] = 1.0  # no children: products 1, no difference
                x = full.index_copy(0, bt.slots.to(dev), x)
                ln_full = np.ones(nb, dtype=np.int64)
                ln_full[bt.slots.numpy()] = ln
                ln = ln_full
            PB, PA0, PD = x.unbind(1)
        else:
            PB = PA0 = torch.ones(nb, 1, dtype=dt, device=dev)
            PD = torch.zeros(nb, 1, dtype=dt, device=dev)
            ln = np.ones(nb, dtype=np.int64)
        width = min(PB.shape[-1] + 1, top)

        def z(y: torch.Tensor, width: int = width) -> torch.Tensor:  # times z, cut
            return torch.nn.functional.pad(y, (1, 0))[:, :width]

        q = q_all.index_select(0, nodes).unsqueeze(-1)
        pv = p_all.index_select(0, nodes).unsqueeze(-1)
        u = wu.index_select(0, nodes).unsqueeze(-1)
        d = wd.index_select(0, nodes).unsqueeze(-1)
        Iz = z(pv * PA0 + PD)  # p itself: 1 - q loses a p below 1e-16
        N = _fit_width(q * PB, width)
        B = (1 - u) * Iz + N
        A0 = (1 - u) * Iz + d * z(q * PA0) + (1 - d) * N
        D = u * Iz
        if bt.virtual is not None:  # product-only nodes pass their children's products on
            v = bt.virtual.to(dev).unsqueeze(-1)
            B = torch.where(v, _fit_width(PB, width), B)
            A0 = torch.where(v, _fit_width(PA0, width), A0)
            D = torch.where(v, _fit_width(PD, width), D)
            ln = np.where(bt.virtual.numpy(), ln, np.minimum(ln + 1, top))
        else:
            ln = np.minimum(ln + 1, top)
        outs.append((torch.stack([B, A0, D], 1), ln))
        for b in free_after.get(i, ()):
            outs[b] = None
    return outs


#: multiply-adds (as :func:`_direct_work` counts them) :func:`_direct_sizes` may spend:
#: 2-8 s on one CPU core, 3x that with its backward (measured: 5.3e10 took 11.6 s on a
#: random tree of 20,000 nodes up to every size); beyond, the tail mode leaves its sizes as
#: the radius search had them and warns
_DIRECT_BUDGET = 1e10


def _direct_work(plan: TreePlan, top: int) -> float:
    """Multiply-adds of :func:`_direct_sizes` cut after ``top`` coefficients (lengths only)."""
    nt = plan.n + plan.n_virtual
    lens = np.ones(nt, dtype=np.int64)  # coefficients each node's messages may hold
    work = 0.0
    for bt in plan.batches:
        nodes = bt.nodes.numpy()
        ln = np.ones(nodes.size, dtype=np.int64)
        if bt.children.numel():
            x = lens[bt.children.numpy()]
            for keep, partner, has in bt.rounds:
                kn, pn, hn = keep.numpy(), partner.numpy(), has.numpy()
                lk, lp = x[kn], np.where(hn, x[pn], 1)
                new = np.minimum(lk + lp - 1, top)
                work += 4.0 * kn.size * float(new.max()) * float(lp.max())
                x = new
            if bt.slots is None:
                ln = x
            else:
                ln[bt.slots.numpy()] = x
        work += 20.0 * nodes.size * float(min(int(ln.max()) + 1, top))
        virtual = np.zeros(nodes.size, dtype=bool) if bt.virtual is None else bt.virtual.numpy()
        lens[nodes] = np.where(virtual, ln, np.minimum(ln + 1, top))
    ln = lens[np.asarray(plan.roots)]
    while ln.size > 1:
        ln = np.sort(ln)
        odd = ln[-1:] if ln.size % 2 else ln[:0]
        a, c = ln[0 : ln.size - odd.size : 2], ln[1 : ln.size - odd.size : 2]
        new = np.minimum(a + c - 1, top)
        work += a.size * float(new.max()) * float(c.max())
        ln = np.concatenate([new, odd])
    return work


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
    that no radius could resolve even there (a size impossible or far below the line
    through ``log P`` of sizes on both sides, a valley) asks for none, so it costs no
    passes, unless a radius there could still bring it within ``_TAIL_KEEP`` (the tail
    mode takes every unresolved size from :func:`_direct_sizes`, unless that is over its
    budget: then the estimate within ``_TAIL_KEEP`` is returned). A size without a radius
    on one side asks for the range to widen (doubling ``|lr|`` up to ``_TAIL_MAX_LR``).
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
                   radii: int, max_rounds: int = 12, per_round: int = 12,
                   warn: bool = True) -> torch.Tensor:
    """``P(size = k)`` with a small relative error for every ``k`` (tilted contours).

    At ``log rho = lr`` the tilted coefficients are ``P_k rho^k``; size ``k`` is resolved
    to about ``eps * sum_m P_m rho^m / (P_k rho^k)``, so the best radius for ``k`` is the
    one whose tilted distribution has its mean near ``k`` (a saddle point). A grid of
    ``radii`` radii over ``log rho`` in [-30, 30] is widened and refined where sizes are
    still unresolved (:func:`_tail_step`). A geometric tail ``w^k`` over 1000 sizes needs
    ``lr`` within ``~0.004`` of ``log(1/w)``, which no fixed grid provides; a star of
    tiny weights ``w`` needs ``lr`` near ``log(1/w)``, far beyond it. Every possible size
    that no radius resolves (a valley, a run of sizes below the line from a likely small
    size to the bulk, or one the search left open) and that is not shown below float64's
    range comes from the coefficient-domain pass (:func:`_direct_sizes`). Only where that
    would exceed ``_DIRECT_BUDGET`` multiply-adds does such a size keep its estimate
    within ``_TAIL_KEEP`` (0 beyond it), named in a warning unless ``warn`` is False, and
    recorded for :func:`_last_unresolved`. Computed and returned in float64 whatever the
    dtype.
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
    open_ = np.flatnonzero(possible & ~st.resolved & ~st.below & ~st.hopeless)
    open_ = open_[open_ > 0]
    # every possible size that no radius resolved and that is not shown below float64's
    # range: a valley, or a size far below the line from a likely small size to the bulk
    # (a leaf seed next to a hub: P(2) = 1e-19 after P(1) = 0.3), which no contour lifts
    # above the others' round-off (they came out 0, silently, or within _TAIL_KEEP), and
    # the sizes the search left open. The coefficient-domain pass resolves them all
    rest = possible & ~st.resolved & ~st.below
    rest[0] = False
    support = _size_support(plan, weight, p) if rest.any() else None
    if open_.size:
        keep &= support  # impossible sizes are exactly 0
    if support is not None:
        rest &= support
    keep_t = torch.as_tensor(keep, device=weight.device)
    result = torch.where(keep_t, result, result - result.detach())
    unresolved = np.zeros(0, dtype=np.int64)
    if rest.any():
        top = int(np.flatnonzero(rest).max()) + 1
        work = _direct_work(plan, top)
        if work <= _DIRECT_BUDGET:
            exact = _direct_sizes(plan, weight, p, top)
            # below float64's range the products lost their digits: 0, as documented
            exact = torch.where(exact < float(np.finfo(np.float64).tiny),
                                exact - exact.detach(), exact)
            mask = torch.tensor(rest[:top], device=weight.device)
            result = torch.cat([torch.where(mask, exact, result[:top]), result[top:]])
        else:
            if warn:
                _warn_unresolved(np.flatnonzero(rest), st, log_eps, top, work)
            unresolved = np.flatnonzero(rest)
    if warn:
        _LAST.unresolved = unresolved
    return torch.cat([p0.to(torch.float64), result[1:]])


#: per thread, the sizes that the last tail-mode evaluation (its value, not the extra ones
#: of entries at 0 or 1) left unresolved: the fits tell them from sizes below float64's range
_LAST = threading.local()


def _last_unresolved() -> np.ndarray:
    """Return the sizes the last tail-mode evaluation of this thread left unresolved.

    Returns
    -------
    numpy.ndarray
        Sizes ``k`` whose ``P(size = k)`` neither the radius search nor the direct pass
        resolved (named in the RuntimeWarning of that evaluation); empty when every
        possible size was resolved or shown below float64's range, or no evaluation ran.
    """
    return getattr(_LAST, "unresolved", np.zeros(0, dtype=np.int64))


def _record_unresolved(sizes: np.ndarray) -> None:
    """Set what :func:`_last_unresolved` returns in this thread to ``sizes``.

    For a caller that runs several tail passes whose sizes are not its own: TDA on a
    network of several components names the network's sizes (each pass left its
    component's there, and the last pass overwrote the others).
    """
    _LAST.unresolved = np.asarray(sizes, dtype=np.int64)


@contextlib.contextmanager
def _held_warnings() -> Iterator[list[tuple[int, float]]]:
    """Hold back the unresolved-size warnings of the tail passes run inside.

    A caller whose passes number the sizes of a part (a component) names the whole's
    sizes in one warning of its own (:func:`_warn_parts_unresolved`). Yields the list to
    which each held warning adds its direct pass's ``(top, work)``.
    """
    before = getattr(_LAST, "held", None)
    _LAST.held = held = []
    try:
        yield held
    finally:
        _LAST.held = before


def _warn_parts_unresolved(sizes: np.ndarray, held: list[tuple[int, float]]) -> None:
    """Warn that the sizes ``sizes`` of a whole rest on part sizes no pass resolved.

    ``held`` is what :func:`_held_warnings` collected from the parts' passes.
    """
    if not sizes.size:
        return
    import warnings

    shown = ", ".join(str(int(s)) for s in sizes[:10])
    more = f" and {sizes.size - 10} more" if sizes.size > 10 else ""
    top = max(t for t, _ in held)
    work = max(w for _, w in held)
    warnings.warn(
        f"tail_accurate: P(size = k) could not be resolved to a relative error of "
        f"{_TAIL_RTOL:g} for k = {shown}{more}: these sizes take a size of a weakly "
        "connected component that no contour radius reaches (it lies far below the line "
        "through log P of the component's smaller and larger sizes, or the search's rounds "
        f"ran out), and the component's direct pass up to size {top - 1} would take about "
        f"{work:.1e} multiply-adds, more than its budget of {_DIRECT_BUDGET:.0e}; that "
        "component's size is returned as 0 unless a bound is given, so P(size = k) may "
        "come out too small, or 0", RuntimeWarning, stacklevel=user_stacklevel())


def _warn_unresolved(sizes: np.ndarray, st: _TailState, log_eps: float, top: int,
                     work: float) -> None:
    """Warn that neither the radius search nor the direct pass resolved ``sizes``.

    Within :func:`_held_warnings` the warning is held back for the caller to give.
    """
    if not sizes.size:
        return
    held = getattr(_LAST, "held", None)
    if held is not None:
        held.append((top, work))
        return
    import warnings

    rel = np.exp(np.minimum(st.best[sizes] + log_eps - st.est[sizes], 0.0))
    shown = ", ".join(f"{int(s)}" + (f" (relative error <= {r:.0e})" if r <= _TAIL_KEEP else "")
                      for s, r in zip(sizes[:10], rel[:10]))
    more = f" and {sizes.size - 10} more" if sizes.size > 10 else ""
    warnings.warn(
        f"tail_accurate: P(size = k) could not be resolved to a relative error of "
        f"{_TAIL_RTOL:g} for k = {shown}{more}: no contour radius reaches it (it lies far "
        "below the line through log P of smaller and larger sizes, or the search's rounds "
        f"ran out), and the direct pass up to size {top - 1} would take about "
        f"{work:.1e} multiply-adds, more than its budget of "
        f"{_DIRECT_BUDGET:.0e}; such sizes are returned as 0 unless a bound is given",
        RuntimeWarning, stacklevel=user_stacklevel())
