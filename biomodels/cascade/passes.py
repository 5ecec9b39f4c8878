"""The upward passes of SDP: messages as polynomials, multiplied at roots of unity.

On the schedule of a :class:`~biomodels.cascade.plan.TreePlan`, a level is processed as a
batch of complex tensors: the children's messages, held as polynomial coefficients of length
``L``, are moved to the ``L``-th roots of unity by one batched ``rfft``, multiplied
pointwise per parent by a pairwise (log-depth) segmented product, combined into the three
messages and brought back by one batched ``irfft``. The work is
``O(Σ_c size_c log size_c)`` instead of the ``O(N^2)`` of evaluating every message at
``N + 1`` points, and all of it runs in torch (any device; complex dtype follows the
weights; differentiable). The components' distributions (the roots' messages) are
multiplied at the ``n + 1``-th roots of unity when there are few of them, and in a
product tree whose transforms follow the factors' summed lengths when ``components x n``
would be large (:func:`_tree_product`).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .plan import TreePlan


def node_factors(plan: TreePlan, weight: torch.Tensor, p: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per node of ``plan`` (virtual ones too): ``p``, ``1 - p`` and its up / down weights.

    Virtual nodes (hub splitting) are no seed and hang on no edge (weight 0), as is a root.
    The factors keep the gradient of ``weight`` and ``p``.
    """
    m = weight.shape[0]
    w = torch.cat([weight, weight.new_zeros(1)])  # index num_edges = absent edge
    p_all = torch.cat([p, p.new_zeros(plan.n_virtual)])
    pad = np.full(plan.n_virtual, m, dtype=np.int64)
    wu = w.index_select(0, torch.from_numpy(np.concatenate([plan.e_up, pad])).to(w.device))
    wd = w.index_select(0, torch.from_numpy(np.concatenate([plan.e_down, pad])).to(w.device))
    return p_all, 1.0 - p_all, wu, wd


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
    # per node: the factors of the terms below, with the gradient, and 0 / _NONE (factor
    # nonzero / zero) for their log-scales
    p_all, q_all, wu, wd = node_factors(plan, weight, p)
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


#: above this many values (components x (n + 1)), the roots' distributions are multiplied
#: in a product tree (:func:`_tree_product`) instead of all at length ``n + 1``: the dense
#: layout cost 5.4 GB and 13 s on a 10,000-node tree with 10,000 isolated nodes
_DENSE_ROOT_VALUES = 2**22


def _dense_roots(plan: TreePlan, n_out: int) -> bool:
    """Whether the roots' product takes the dense path (few components: unchanged results)."""
    return int(np.size(plan.roots)) * n_out <= _DENSE_ROOT_VALUES


def _width_class(lens: np.ndarray) -> np.ndarray:
    """Exponent ``k`` of the smallest power of two ``2**k >= lens`` (at least 1)."""
    return np.maximum(1, np.ceil(np.log2(np.maximum(lens, 1))).astype(np.int64))


def _tree_product(plan: TreePlan, outs, n_out: int, device, tilt: bool):
    """Multiply the roots' ``B`` rows in a product tree; return coefficients and log-scale.

    A component of ``c`` nodes has a distribution of ``c + 1`` coefficients. Rows are kept
    in classes of padded width ``2**k`` (true length at most ``2**k``); a round multiplies
    neighbouring rows of a class (sorted by length) with one batched transform of length
    ``2**(k+1)`` and cuts each product to its true length ``a + b - 1``. Time and memory
    follow the total length ``n + components`` per round (``O(n log^2 n)`` in all), not
    ``components x n``. With ``tilt`` every product is scaled to a largest coefficient of
    1 and the log of the scales is returned (else 0.0): unscaled products overflow.
    """
    roots = np.asarray(plan.roots)
    lens_all = plan.size[roots].astype(np.int64) + 1
    pool: dict[int, list[tuple[torch.Tensor, np.ndarray]]] = {}
    log_out = 0.0
    tiny = None

    def add(x: torch.Tensor, lens: np.ndarray) -> None:
        """File rows ``x`` (true lengths ``lens``) under their width classes."""
        ks = _width_class(lens)
        for k in np.unique(ks):
            sel = np.flatnonzero(ks == k)
            width = 1 << int(k)
            y = x if sel.size == x.shape[0] else x.index_select(
                0, torch.from_numpy(sel).to(device))
            y = y[:, :width]
            if y.shape[1] < width:
                y = torch.nn.functional.pad(y, (0, width - y.shape[1]))
            pool.setdefault(int(k), []).append((y, lens[sel]))

    bs = plan.node_batch[roots]
    for b in np.unique(bs):
        sel = np.flatnonzero(bs == b)
        rows = torch.from_numpy(plan.node_row[roots[sel]]).to(device)
        add(outs[int(b)].index_select(0, rows)[:, 0], lens_all[sel])
    while True:
        total = sum(len(lens) for parts in pool.values() for _, lens in parts)
        if total <= 1:
            break
        current, pool = pool, {}
        carry: tuple[torch.Tensor, np.ndarray] | None = None
        for k in sorted(current):
            parts = current[k]
            width = 1 << k
            if carry is not None:  # last round's odd row of a narrower class joins this one
                cx, cl = carry
                parts = [(torch.nn.functional.pad(cx, (0, width - cx.shape[1])), cl)] + parts
                carry = None
            x = parts[0][0] if len(parts) == 1 else torch.cat([p_[0] for p_ in parts])
            lens = np.concatenate([p_[1] for p_ in parts])
            order = np.argsort(lens, kind="stable")  # similar lengths multiply together
            if x.shape[0] % 2:
                carry = (x.index_select(0, torch.from_numpy(order[-1:]).to(device)),
                         lens[order[-1:]])
                order = order[:-1]
            if order.size == 0:
                continue
            x = x.index_select(0, torch.from_numpy(order).to(device))
            lens = lens[order]
            f = torch.fft.rfft(x, n=2 * width, dim=-1)
            y = torch.fft.irfft(f[0::2] * f[1::2], n=2 * width, dim=-1)
            new = lens[0::2] + lens[1::2] - 1
            if tilt:
                with torch.no_grad():
                    if tiny is None:
                        tiny = torch.finfo(y.dtype).tiny
                    s = y.abs().amax(dim=-1, keepdim=True).clamp_min(tiny)
                    log_out += float(torch.log(s).sum())
                y = y / s
            add(y, new)
        if carry is not None:
            add(*carry)
    (x, lens), = [p_ for parts in pool.values() for p_ in parts]
    coef = x[0, : min(int(lens[0]), n_out)]
    if coef.shape[0] < n_out:
        coef = torch.nn.functional.pad(coef, (0, n_out - coef.shape[0]))
    return coef, log_out


def _root_product(plan: TreePlan, outs, n_out: int, device) -> torch.Tensor:
    """Multiply the roots' ``B`` messages (= their component distributions) and invert.

    Few components (``components x n_out`` up to ``_DENSE_ROOT_VALUES``) are multiplied
    at the ``n_out``-th roots of unity; more in a product tree (:func:`_tree_product`).
    """
    if not _dense_roots(plan, n_out):
        return _tree_product(plan, outs, n_out, device, False)[0]
    x = _segmented_product(_root_rows(plan, outs, n_out, device), plan.final_rounds)
    return torch.fft.irfft(x[0], n=n_out, dim=-1)


def _tilted_root_product(plan: TreePlan, outs, n_out: int, device) -> tuple[torch.Tensor, float]:
    """Return :func:`_root_product` scaled to a largest coefficient of 1, and the log-scale.

    The tail mode's product of the roots' rows: every partial product is brought to a
    largest value of 1. Unscaled, the rows of many components multiplied past float64's
    range (1,200 isolated nodes with ``p = 0.5`` at the radius of the mode: ``2^1200``,
    NaN), and a product of ``1e38`` (200 nodes, ``p = 1e-3``) left ``P_k`` a factor in the
    subnormals (digits lost, or 0). Many components go through the product tree
    (:func:`_tree_product`), which scales every partial product alike.
    """
    if not _dense_roots(plan, n_out):
        coef, log_out = _tree_product(plan, outs, n_out, device, True)
        with torch.no_grad():
            top = coef.abs().amax().clamp_min(torch.finfo(coef.dtype).tiny)
        return coef / top, log_out + float(torch.log(top))

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

    Parameters
    ----------
    x
        Probabilities, possibly with round-off negatives.

    Returns
    -------
    torch.Tensor
        ``x`` with its negative entries replaced by zeros whose gradient is that of ``x``.
    """
    return torch.where(x < 0, x - x.detach(), x)


def clip_probability(x: torch.Tensor) -> torch.Tensor:
    """Set round-off outside [0, 1] of ``x`` to 0 or 1 but keep the gradient of ``x`` there.

    As :func:`clip_negative` below 0, and likewise above 1: where the size is nearly
    certain the round-off grows with the nodes, and a star of 10,000 leaves at ``w = 1``
    gave ``P(size = 10001) = 1.0000000000001108``.

    Parameters
    ----------
    x
        Probabilities, possibly with round-off below 0 or above 1.

    Returns
    -------
    torch.Tensor
        ``x`` with its entries below 0 replaced by zeros and those above 1 by ones, whose
        gradient is that of ``x``.
    """
    x = clip_negative(x)
    return torch.where(x > 1, x - x.detach() + 1, x)


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

