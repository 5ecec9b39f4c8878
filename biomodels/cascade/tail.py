"""Tail-accurate size distributions: each ``P_k`` from the contour radius that resolves it.

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

from biomodels._stacklevel import user_stacklevel

from .passes import _single_radius, clip_negative
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
                   radii: int, max_rounds: int = 12, per_round: int = 12,
                   warn: bool = True) -> torch.Tensor:
    """``P(size = k)`` with a small relative error for every ``k`` (tilted contours).

    At ``log rho = lr`` the tilted coefficients are ``P_k rho^k``; size ``k`` is resolved
    to about ``eps * sum_m P_m rho^m / (P_k rho^k)``, so the best radius for ``k`` is the
    one whose tilted distribution has its mean near ``k`` (a saddle point). A grid of
    ``radii`` radii over ``log rho`` in [-30, 30] is widened and refined where sizes are
    still unresolved (:func:`_tail_step`). A geometric tail ``w^k`` over 1000 sizes needs
    ``lr`` within ``~0.004`` of ``log(1/w)``, which no fixed grid provides; a star of
    tiny weights ``w`` needs ``lr`` near ``log(1/w)``, far beyond it. A size that no
    radius resolves (a valley) keeps its estimate within ``_TAIL_KEEP`` and is 0 beyond
    it; one the search left open is also named in a warning, unless it is impossible (or
    ``warn`` is False). Computed and returned in float64 whatever the dtype.
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
        if warn:
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
        "0 unless a bound is given", RuntimeWarning, stacklevel=user_stacklevel())

