"""Exact top-k selection over per-parameter scores: the one selection engine.

Every pruning criterion in :mod:`core` (magnitude, Wanda, gradient scores, a
caller's own) reduces to "keep the k highest-scoring entries". This module does
that exactly (never more or fewer than k kept) without sorting:

1. the threshold ``t`` (the k-th largest score) is found by sampling a bracket
   ``[lo, hi]`` around the target rank, counting entries above ``hi`` and taking
   ``kthvalue`` over the few entries inside the bracket (exact; a full
   ``kthvalue`` is the fallback when the bracket misses);
2. every entry with score ``> t`` is kept, and of the entries with score
   ``== t`` the ones with the **smallest flat index** are kept until k are kept.

Tie-breaking rule (deterministic): entries are ordered by concatenating the
scores in the iteration order of the ``scores`` mapping, each tensor flattened in
row-major (C) order; among equal scores the earlier entry is kept. With
``scope="layer"`` the order is that of the tensor, with ``scope="row"`` that of
the row (dim 0 indexes rows; the remaining dims are flattened).
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping
from typing import Literal

import torch

from core.checks import _zero_dim, check_count, refuse_meta
from core.masks import MaskSet

__all__ = ["select_topk", "kth_largest", "topk_mask_flat"]

Scope = Literal["global", "layer", "row"]

_SAMPLE = 1 << 16


def _check_density(density: float, name: str = "density") -> float:
    if _zero_dim(density):  # np.array(0.5), torch.tensor(0.5): the number they hold
        density = density.item()
    # numbers.Real, not (int, float): np.float32 (a float32 array's entries) is no float
    if isinstance(density, bool) or not isinstance(density, numbers.Real):
        raise TypeError(f"{name}: expected a float in (0, 1], got {type(density).__name__}")
    density = float(density)
    if not (0.0 < density <= 1.0) or math.isnan(density):
        raise ValueError(f"{name}: expected a value in (0, 1], got {density}")
    return density


def kth_largest(flat: torch.Tensor, k: int) -> torch.Tensor:
    """Return the k-th largest value of a 1-D tensor (``k`` in ``1..numel``), exactly.

    Avoids a full sort: a random sample brackets the target rank, one pass
    counts entries above the bracket and ``kthvalue`` runs only on the entries
    inside it. Falls back to ``torch.kthvalue`` on everything if the bracket
    misses (correct either way).

    Parameters
    ----------
    flat
        1-D tensor of scores (no NaN).
    k
        Rank from the top, ``1 <= k <= flat.numel()``.

    Returns
    -------
    torch.Tensor
        0-d tensor, same dtype and device as ``flat``.
    """
    if not isinstance(flat, torch.Tensor) or flat.ndim != 1:
        raise ValueError(f"flat: expected a 1-D tensor, got "
                         f"{tuple(flat.shape) if isinstance(flat, torch.Tensor) else type(flat)}")
    if flat.dtype == torch.bool or flat.is_complex():
        raise ValueError(f"flat: expected real scores, got {flat.dtype}")
    n = flat.numel()
    if _zero_dim(k):  # np.array(3), torch.tensor(3): the int they hold
        k = k.item()
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= n:
        raise ValueError(f"k: expected an integer 1 <= k <= {n}, got {k!r}")
    if flat.is_floating_point() and torch.isnan(flat).any():
        raise ValueError("flat: contains NaN; expected comparable scores")
    return _kth_largest(flat, k)


def _kth_largest(flat: torch.Tensor, k: int) -> torch.Tensor:
    """:func:`kth_largest` without the checks (the selection engine checked its scores)."""
    n = flat.numel()
    if n <= 4 * _SAMPLE:
        return torch.kthvalue(flat, n - k + 1).values
    gen = torch.Generator(device=flat.device).manual_seed(0)
    idx = torch.randint(0, n, (_SAMPLE,), generator=gen, device=flat.device)
    sample = flat[idx].sort().values
    q = (n - k + 0.5) / n  # target quantile from the bottom
    half = 6.0 * math.sqrt(q * (1 - q) / _SAMPLE) + 8.0 / _SAMPLE
    lo = sample[max(int((q - half) * _SAMPLE), 0)]
    hi = sample[min(int(math.ceil((q + half) * _SAMPLE)), _SAMPLE - 1)]
    above = int(torch.count_nonzero(flat > hi))
    if above < k and bool(lo == hi):
        # one-value bracket (e.g. all-tied scores): the answer is ``hi`` itself when
        # enough entries equal it, no kthvalue over a band that may be all of ``flat``
        ties = flat == hi
        n_ties = int(torch.count_nonzero(ties))
        if k - above <= n_ties:
            if not flat.is_floating_point() or bool(hi != 0):
                return hi.clone()  # equal non-zero values have one bit pattern
            # 0.0 and -0.0 compare equal: ``hi`` is the answer bit for bit only when
            # every tied zero has its sign; a mix keeps kthvalue's choice (below)
            neg = int(torch.count_nonzero(ties & torch.signbit(flat)))
            if neg in (0, n_ties):
                return hi.clone()
    if above < k:
        band = flat[(flat >= lo) & (flat <= hi)]
        rank = k - above  # rank from the top inside the band
        if 1 <= rank <= band.numel():
            return torch.kthvalue(band, band.numel() - rank + 1).values
    return torch.kthvalue(flat, n - k + 1).values


def topk_mask_flat(flat: torch.Tensor, k: int, alive: torch.Tensor | None = None
                   ) -> torch.Tensor:
    """Bool mask of exactly ``k`` kept entries of a 1-D score tensor.

    Ties at the threshold are resolved in favour of smaller indices. With ``alive``
    (bool, same shape; dead entries must score ``-inf``) ties are taken among alive
    entries only, so a legitimate ``-inf`` score never revives a dead entry.

    Parameters
    ----------
    flat
        1-D scores (no NaN; not checked here).
    k
        Number of entries to keep (``<= 0``: none, ``>= numel``: all).
    alive
        Optional bool mask of the entries that may be kept.

    Returns
    -------
    torch.Tensor
        Bool mask of ``flat``'s shape and device.
    """
    n = flat.numel()
    if k <= 0:
        return torch.zeros(n, dtype=torch.bool, device=flat.device)
    if k >= n:
        return torch.ones(n, dtype=torch.bool, device=flat.device)
    t = _kth_largest(flat, k)
    keep = flat > t
    need = k - int(torch.count_nonzero(keep))
    if need > 0:
        at = flat == t
        ties = torch.nonzero(at if alive is None else at & alive).flatten()[:need]
        keep[ties] = True
    return keep


def _flatten(scores: Mapping[str, torch.Tensor], current: MaskSet | None
             ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Scores in one flat tensor, entries ``current`` prunes at ``-inf``, and the alive mask."""
    dtype = torch.float32
    for s in scores.values():  # the widest score dtype: no float64 score cut to float32
        dtype = torch.promote_types(dtype, s.dtype)
    device = next(iter(scores.values())).device
    total = sum(s.numel() for s in scores.values())
    flat = torch.empty(total, dtype=dtype, device=device)
    masks = current.masks if current is not None else {}
    alive = None
    if any(name in masks for name in scores):
        alive = torch.ones(total, dtype=torch.bool, device=device)
    start = 0
    for name, s in scores.items():
        view = flat[start : start + s.numel()]
        view.copy_(s.reshape(-1))
        if alive is not None and name in masks:
            m = masks[name].to(device).reshape(-1)
            view.masked_fill_(~m, -math.inf)
            alive[start : start + s.numel()] = m
        start += s.numel()
    return flat, alive


def carry_unscored(out: dict[str, torch.Tensor], current: MaskSet | None) -> MaskSet:
    """MaskSet of ``out`` plus the masks of ``current`` that were not re-scored.

    A round that scores only some parameters must not revive the others.
    """
    if current is not None:
        for name, m in current.masks.items():
            out.setdefault(name, m.clone())
    return MaskSet(out)


def _refuse_meta(name: str, t: torch.Tensor) -> None:
    """Refuse a tensor on the meta device: it has a shape but no values to rank.

    torch failed deep inside the checks ("Tensor.item() cannot be called on meta tensors").
    """
    refuse_meta(t, name, fix="materialise it first (e.g. model.to_empty(device=...) and "
                "initialise the weights)")


def _validate(scores: Mapping[str, torch.Tensor], current: MaskSet | None) -> None:
    if not isinstance(scores, Mapping):  # a bare tensor: a type, not a value, problem
        hint = " (e.g. {'weight': scores})" if isinstance(scores, torch.Tensor) else ""
        raise TypeError("scores: expected a mapping name -> tensor" + hint +
                        f", got {type(scores).__name__}")
    if not scores:
        raise ValueError("scores: expected a non-empty mapping name -> tensor")
    for name, s in scores.items():
        if not isinstance(s, torch.Tensor):
            raise TypeError(f"scores[{name!r}]: expected a torch.Tensor, got {type(s).__name__}")
        if s.is_complex() or s.dtype == torch.bool:
            raise TypeError(f"scores[{name!r}]: expected real floating/int scores, got {s.dtype}")
        _refuse_meta(f"scores[{name!r}]", s)
        if torch.isnan(s).any():
            raise ValueError(f"scores[{name!r}]: contains NaN; expected finite scores")
        if current is not None and name in current.masks \
                and current.masks[name].shape != s.shape:
            raise ValueError(f"current: mask {name!r} has shape "
                             f"{tuple(current.masks[name].shape)}, expected {tuple(s.shape)}")


def _available(name: str, s: torch.Tensor, current: MaskSet | None) -> int:
    if current is not None and name in current.masks:
        return int(torch.count_nonzero(current.masks[name]))
    return s.numel()


def _share(arg: str, density: float) -> str:
    """``density`` as the caller gave it: a density, or a sparsity of ``1 - density``."""
    if arg == "sparsity":
        return f"{1.0 - density:g} (density {density:g})"
    return f"{density:g}"


def _refuse_nothing_kept(arg: str, density: float, n: int) -> None:
    """Raise when ``round(density * n)`` keeps none of ``n > 0`` entries."""
    least = (f"a sparsity below {1.0 - 0.5 / n:.6g}" if arg == "sparsity"
             else f"a density above {0.5 / n:.3g} (or keep=0 to prune everything)")
    raise ValueError(
        f"{arg}: {_share(arg, density)} keeps round({density:g} * {n}) = 0 of the {n} "
        f"entries, so no weight would be left; ask for {least}")


def _check_collapse(arg: str, density: float, empty: list[str], scored: int,
                    per_row: bool, stacklevel: int, total: int = 0) -> None:
    """Refuse masks that keep nothing at all; warn about layers that keep nothing.

    ``empty`` lists the scored tensors (with entries) where ``round(density * n)`` is 0
    (``n`` the entries of the tensor, or of one row with ``per_row``), of ``scored``
    tensors with entries; ``total`` counts the entries of all of them, which
    ``scope='global'`` ranks together.
    """
    if not empty:
        return
    if len(empty) == scored:
        # scope='global' keeps round(density * total): advised only where that is not 0
        # (with one tensor it never was, and the advice led to the same refusal)
        other = " or use scope='global'" if round(density * total) >= 1 else ""
        raise ValueError(
            f"{arg}: {_share(arg, density)} keeps no entry of any scored tensor {empty} "
            f"(round(density * {'row length' if per_row else 'entries'}) = 0), so no weight "
            f"would be left; ask for a larger density{',' if other else ''}{other}")
    # layer collapse: those layers are cut off, the network's output no longer depends
    # on what comes before them; a warning, since the others still learn
    warnings.warn(
        f"{arg}: {_share(arg, density)} keeps no entry of {empty} "
        f"(round(density * {'row length' if per_row else 'entries'}) = 0): "
        "layer collapse, these layers are pruned entirely; give them a share with "
        "scope='global' or select_topk(..., keep={name: count}, scope='layer')",
        UserWarning, stacklevel=stacklevel + 1)


def _warn_global_collapse(arg: str, out: Mapping[str, torch.Tensor],
                          scores: Mapping[str, torch.Tensor], current: MaskSet | None,
                          stacklevel: int) -> None:
    """Warn when one global threshold empties tensors that kept entries until now.

    Global magnitude pruning is where layer collapse is best known (Tanaka et al. 2020):
    a layer of larger fan-in has smaller weights and can lose all of them. Tensors that
    ``current`` had already emptied were warned about then.
    """
    if not any(m.any() for m in out.values()):
        return  # keep=0 asks for nothing at all
    empty = [name for name, m in out.items() if scores[name].numel() and not m.any()
             and _available(name, scores[name], current) > 0]
    if not empty:
        return
    warnings.warn(
        f"{arg}: the global threshold keeps no entry of {empty}, while other tensors keep "
        "entries: layer collapse, these layers are pruned entirely (the output no longer "
        "depends on what comes before them); keep a share of each with scope='layer', or "
        "leave them out of the scores",
        UserWarning, stacklevel=stacklevel + 1)


def select_topk(
    scores: Mapping[str, torch.Tensor],
    density: float | None = None,
    *,
    keep: int | Mapping[str, int] | None = None,
    scope: Scope = "global",
    current: MaskSet | None = None,
) -> MaskSet:
    """Keep the highest-scoring entries: exactly k, ties broken by index.

    Parameters
    ----------
    scores
        Mapping parameter name -> score tensor (shape of the parameter). Higher
        scores are kept. Scores are compared as floats (at least float32).
    density
        Fraction of entries kept, of *all* entries in the scope (not of the
        entries still alive in ``current``): ``k = round(density * n)``, Python's
        rounding of the kept count, a half to the even count (0.1 of 25 keeps 2, 0.3 of 25
        keeps 8; ``torch.nn.utils.prune`` rounds the pruned count, keeping 3 and 7, and
        IMP code that prunes ``floor((1 - density) n)`` keeps 3 and 8). Give either
        ``density`` or ``keep``.
    keep
        Explicit number of kept entries: an ``int`` for ``scope="global"``, or a
        mapping name -> count for ``scope="layer"``.
    scope
        ``"global"``: one threshold over all tensors; ``"layer"``: k per tensor;
        ``"row"``: k per row (dim 0) of each tensor (``density`` only).
    current
        An existing MaskSet: entries it prunes count as pruned and are never
        re-selected (iterative pruning). Asking for more kept entries than
        ``current`` keeps raises ``ValueError``.

    Returns
    -------
    MaskSet
        Bool masks on the devices of the scores.

    Raises
    ------
    ValueError
        ``density`` outside (0, 1], both or neither of ``density``/``keep``,
        NaN scores, unknown ``scope``, ``keep`` negative or larger than what is
        available, ``keep`` with ``scope="row"``, a ``keep`` mapping whose names are
        not those of ``scores``, empty ``scores``, a ``current`` mask of another
        shape, scores on the meta device, or a ``density`` so small that nothing is
        kept (``round(density * n) == 0`` over all entries with ``scope="global"``;
        in every scored tensor, or every row of each, with ``"layer"``/``"row"``).
    TypeError
        ``density`` not a real number (e.g. ``"0.5"`` or ``True``); a ``keep`` count
        not an integer (e.g. ``2.0`` or ``True``; numpy and 0-d integers are taken),
        whether ``keep`` itself or a value of the ``keep`` mapping; a mapping as
        ``keep`` with ``scope="global"`` (e.g. ``{"w": 2}``) or an int with
        ``scope="layer"``; ``scores`` not a mapping (e.g. a bare tensor) or holding
        something other than real-valued tensors (lists, bool or complex tensors).

    Warns
    -----
    UserWarning
        With ``scope="layer"`` or ``"row"``, when ``density`` keeps nothing of some
        tensors (``round(density * n) == 0``, ``n`` their entries or row length) while
        others keep entries: layer collapse, those layers are pruned entirely. An
        explicit ``keep={name: 0}`` asks for it and is not warned about. With
        ``scope="global"``, when the one threshold keeps no entry of a tensor that had
        entries left (in ``current``) while others keep some.

    Notes
    -----
    Tie-breaking: among entries with equal score at the threshold, the one that
    comes first (mapping order, then row-major order inside each tensor) is kept.

    Examples
    --------
    >>> import torch
    >>> from core import select_topk
    >>> m = select_topk({"w": torch.tensor([[3.0, 1.0], [1.0, 2.0]])}, keep=3)
    >>> m["w"].tolist()
    [[True, True], [False, True]]
    """
    return _select_topk(scores, density, keep=keep, scope=scope, current=current)


def _select_topk(
    scores: Mapping[str, torch.Tensor],
    density: float | None = None,
    *,
    keep: int | Mapping[str, int] | None = None,
    scope: Scope = "global",
    current: MaskSet | None = None,
    arg: str = "density",
    stacklevel: int = 3,
) -> MaskSet:
    """:func:`select_topk`; errors and warnings name ``arg``, the caller's argument."""
    _validate(scores, current)
    if scope not in ("global", "layer", "row"):
        raise ValueError(f"scope: expected 'global', 'layer' or 'row', got {scope!r}")
    if (density is None) == (keep is None):
        raise ValueError("density/keep: give exactly one of them")
    if density is not None:
        density = _check_density(density, arg)

    if scope == "global":
        n = sum(s.numel() for s in scores.values())
        if keep is None:
            k = int(round(density * n))  # type: ignore[operator]
            if k == 0 and n > 0:  # 1e-9 or a sparsity of 0.999 on a small model kept nothing
                _refuse_nothing_kept(arg, density, n)  # type: ignore[arg-type]
        elif isinstance(keep, Mapping):
            raise TypeError("keep: expected an int for scope='global', got a mapping")
        else:
            # check_count, not int(): keep=0.5 (a density) was 0 kept
            k = check_count("keep", keep, at_least=0)
        avail = sum(_available(nm, s, current) for nm, s in scores.items())
        if not 0 <= k <= n:
            raise ValueError(f"keep: expected 0 <= keep <= {n}, got {k}")
        if k > avail:
            # named as the caller asked (it said "density/keep" for sparsity=0.5 too)
            raise ValueError(f"{arg if keep is None else 'keep'}: asks for {k} of the {n} "
                             f"entries but `current` keeps only {avail}")
        flat, alive = _flatten(scores, current)
        mask = topk_mask_flat(flat, k, alive)
        out, start = {}, 0
        for name, s in scores.items():
            out[name] = mask[start : start + s.numel()].reshape(s.shape).clone()
            start += s.numel()
        # named as the caller asked: keep=5 was reported as "density: ..."
        _warn_global_collapse(arg if keep is None else "keep", out, scores, current,
                              stacklevel)
        return carry_unscored(out, current)

    if scope == "layer":
        if keep is not None and not isinstance(keep, Mapping):
            raise TypeError("keep: expected a mapping name -> count for scope='layer'")
        if isinstance(keep, Mapping):
            unknown = [n for n in keep if n not in scores]
            if unknown or set(keep) != set(scores):
                raise ValueError(f"keep: expected one count per score name {list(scores)}")
        if keep is None:
            sized = [name for name, s in scores.items() if s.numel()]
            _check_collapse(arg, density, [  # type: ignore[arg-type]
                name for name in sized if round(density * scores[name].numel()) == 0],
                len(sized), per_row=False, stacklevel=stacklevel,
                total=sum(scores[name].numel() for name in sized))
        out = {}
        for name, s in scores.items():
            k = (int(round(density * s.numel())) if keep is None  # type: ignore[operator]
                 else check_count(f"keep[{name!r}]", keep[name], at_least=0))
            avail = _available(name, s, current)
            if not 0 <= k <= avail and keep is None:
                # sparsity=0.5 was reported as "keep['weight']: ..., got 20", an argument
                # the caller never passed; the count is of all entries, not the survivors
                raise ValueError(f"{arg}: asks for {k} of the {s.numel()} entries of "
                                 f"{name!r} but `current` keeps only {avail}")
            if not 0 <= k <= avail:
                raise ValueError(f"keep[{name!r}]: expected 0 <= k <= {avail} available "
                                 f"entries, got {k}")
            flat, alive = _flatten({name: s}, current)
            out[name] = topk_mask_flat(flat, k, alive).reshape(s.shape)
        return carry_unscored(out, current)

    # scope == "row"
    if keep is not None:
        raise ValueError("keep: scope='row' takes `density` only")
    sized = [name for name, s in scores.items() if s.numel()]
    _check_collapse(arg, density, [  # type: ignore[arg-type]
        name for name in sized if round(density * math.prod(scores[name].shape[1:])) == 0],
        len(sized), per_row=True, stacklevel=stacklevel,
        total=sum(scores[name].numel() for name in sized))
    out = {}
    for name, s in scores.items():
        # math.prod, not -1: a tensor with no rows has no inferable row length
        rows = s.reshape(s.shape[0], math.prod(s.shape[1:])) if s.ndim >= 1 else s.reshape(1, 1)
        cols = rows.shape[1]
        k = int(round(density * cols))  # type: ignore[operator]
        vals = rows.to(torch.promote_types(torch.float32, rows.dtype))
        cur = None
        if current is not None and name in current.masks:
            cur = current.masks[name].to(vals.device).reshape(vals.shape)
            # a tensor without rows has no row short of k (min() of nothing raised)
            if cur.shape[0] and int(cur.sum(1).min()) < k:
                raise ValueError(f"{arg}: asks for {k} of the {cols} entries per row of "
                                 f"{name!r} but `current` keeps fewer in some row")
            vals = vals.masked_fill(~cur, -math.inf)
        out[name] = _topk_rows(vals, k, cur).reshape(s.shape)
    return carry_unscored(out, current)


def _topk_rows(vals: torch.Tensor, k: int, alive: torch.Tensor | None) -> torch.Tensor:
    """Bool mask keeping ``k`` entries of every row of a 2-D score tensor, without sorting.

    The same entries as a stable descending sort of each row taking the first ``k``
    (``alive`` entries before dead ones): the per-row threshold ``t`` is the k-th
    largest score (dead entries score ``-inf`` and every row has ``>= k`` alive
    ones, so ``t`` is the k-th largest alive score); scores ``> t`` are kept, and of
    the alive entries scoring ``== t`` the first ones in the row fill up to ``k``.
    """
    rows, cols = vals.shape
    if k <= 0 or vals.numel() == 0:
        return torch.zeros_like(vals, dtype=torch.bool)
    if k >= cols:
        return torch.ones_like(vals, dtype=torch.bool)
    t = torch.kthvalue(vals, cols - k + 1, dim=1, keepdim=True).values
    keep = vals > t
    at = vals == t
    if alive is not None:
        at &= alive
    # every row has >= k entries kept or tied; a total of rows * k means exactly k each
    if int(torch.count_nonzero(keep)) + int(torch.count_nonzero(at)) != rows * k:
        acc = torch.int32 if cols < 2**31 else torch.int64
        need = k - keep.sum(1, keepdim=True, dtype=acc)
        at &= at.cumsum(1, dtype=acc) <= need  # the first tied entries of each row
    keep |= at
    return keep
