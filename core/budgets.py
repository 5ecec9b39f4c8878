"""Layer-wise density budgets and Erdős–Rényi random masks.

For L prunable tensors with ``N_l`` entries and a global density ``p`` a budget
assigns per-layer kept counts ``k_l``, each within one weight of its real-valued
target ``p_l * N_l``, with ``sum_l k_l = round(p * N)`` exactly except where a
definition caps layers without redistributing (``balanced``, below):

``uniform``
    ``p_l = p``.
``erk``
    Erdős–Rényi-kernel: ``p_l = eps * sum(shape_l) / prod(shape_l)``, ``eps``
    solved so the budget is met; a layer that would exceed density 1 is made
    dense and ``eps`` is re-solved over the rest (Evci et al. 2020, RigL).
``balanced``
    Every layer keeps the same number of weights, ``p_l = min(1, pN / (L N_l))``:
    a layer smaller than ``pN / L`` is dense and its excess is not given to the
    others, so the global density falls below ``p`` (the paper's definition;
    ``redistribute=True`` spreads the excess equally over the uncapped layers and
    meets ``p``).
``pyramidal``
    ``p_l = r^l`` for ``l = 1..L`` counted from the input, ``r`` the root in
    (0, 1] of ``sum_l N_l r^l = p N``.

``balanced`` and ``pyramidal`` are proposed in Gadhikar, Mukherjee & Burkholz,
"Why Random Pruning Is All We Need to Start Sparse", ICML 2023.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import torch
from torch import nn

from core.checks import check_seed, refuse_meta
from core.masks import MaskSet, prunable_names
from core.select import _check_density

__all__ = ["layer_budgets", "layer_densities", "random_mask", "DISTRIBUTIONS"]

Distribution = Literal["uniform", "erk", "balanced", "pyramidal"]
DISTRIBUTIONS: tuple[str, ...] = ("uniform", "erk", "balanced", "pyramidal")


def _check_distribution(distribution: str) -> None:
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution: expected one of {DISTRIBUTIONS}, got {distribution!r}")


def layer_densities(
    shapes: Mapping[str, Sequence[int]],
    density: float,
    distribution: Distribution = "erk",
    *,
    redistribute: bool | None = None,
) -> dict[str, float]:
    """Real-valued per-layer densities of a budget (before rounding to counts).

    Parameters
    ----------
    shapes
        Mapping name -> tensor shape, in order from the input to the output
        (the order matters for ``pyramidal``).
    density
        Global fraction of kept weights, in (0, 1].
    distribution
        ``"uniform"``, ``"erk"``, ``"balanced"`` or ``"pyramidal"``.
    redistribute
        Whether the excess of layers capped at density 1 goes to the other layers
        so that the global target is met. None (default): as each method defines
        it, yes for ``erk`` (a capped layer is made dense and ``eps`` re-solved),
        no for ``balanced`` (``p_l = min(1, pN / (L N_l))``).

    Returns
    -------
    dict
        name -> density in (0, 1].

    Examples
    --------
    ERK gives each (out, in) layer a density proportional to ``(in + out) / (in out)``,
    scaled so that 0.5 of the 400 weights are kept (0.6667 * 100 + 0.4444 * 300 = 200):

    >>> from core import layer_densities
    >>> shapes = {"a": (10, 10), "b": (10, 30)}
    >>> {k: round(d, 4) for k, d in layer_densities(shapes, 0.5, "erk").items()}
    {'a': 0.6667, 'b': 0.4444}
    >>> layer_densities(shapes, 0.5, "uniform")
    {'a': 0.5, 'b': 0.5}
    """
    density = _check_density(density)
    _check_distribution(distribution)
    if not isinstance(shapes, Mapping):
        # a model failed inside nn.Sequential ("'Linear' object cannot be interpreted as an
        # integer"), naming neither the argument nor what it takes
        hint = ("; random_mask(model, ...) takes a model" if isinstance(shapes, nn.Module)
                else "")
        raise TypeError("shapes: expected a mapping name -> tensor shape, e.g. {n: p.shape "
                        "for n, p in model.named_parameters() if p.ndim >= 2}, got "
                        f"{type(shapes).__name__}{hint}")
    if not shapes:
        raise ValueError("shapes: expected at least one prunable tensor")
    names = list(shapes)
    for k in names:
        try:
            dims = tuple(shapes[k])
        except TypeError:
            raise ValueError(f"shapes[{k!r}]: expected a sequence of positive integer sizes, "
                             f"got {shapes[k]!r}") from None
        if not dims or any(isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1
                           for d in dims):
            raise ValueError(f"shapes[{k!r}]: expected positive integer sizes, got {dims}")
    n = {k: math.prod(shapes[k]) for k in names}
    total = sum(n.values())
    target = density * total
    if distribution == "uniform":
        return {k: density for k in names}
    if distribution == "pyramidal":
        def kept(r: float) -> float:
            return sum(n[k] * r ** (i + 1) for i, k in enumerate(names))

        lo, hi = 0.0, 1.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if kept(mid) < target else (lo, mid)
        r = 0.5 * (lo + hi)
        return {k: r ** (i + 1) for i, k in enumerate(names)}

    if distribution == "erk":
        raw = {k: sum(shapes[k]) / n[k] for k in names}
    else:  # balanced: equal counts -> density proportional to 1 / N_l
        raw = {k: 1.0 / n[k] for k in names}
    spread = (distribution == "erk") if redistribute is None else redistribute
    dense: set[str] = set()
    while True:
        free = [k for k in names if k not in dense]
        budget = target - sum(n[k] for k in dense)
        eps = budget / sum(raw[k] * n[k] for k in free) if free else 0.0
        out = {k: (1.0 if k in dense else eps * raw[k]) for k in names}
        over = [k for k in free if out[k] > 1.0]
        if not over:
            return out
        if not spread:
            return {k: min(v, 1.0) for k, v in out.items()}
        dense.update(over)


def layer_budgets(
    shapes: Mapping[str, Sequence[int]],
    density: float,
    distribution: Distribution = "erk",
    *,
    redistribute: bool | None = None,
) -> dict[str, int]:
    """Integer kept counts per layer for a global density.

    Counts are the floors of the real targets ``p_l N_l`` plus one for the layers
    with the largest remainders, so the total is ``round(p N)`` (whenever the
    caps allow) and each count is within one weight of its target.

    Parameters
    ----------
    shapes
        Mapping name -> tensor shape, in order from the input to the output.
    density
        Global fraction of kept weights, in (0, 1].
    distribution
        ``"uniform"``, ``"erk"``, ``"balanced"`` or ``"pyramidal"``.
    redistribute
        See :func:`layer_densities`.

    Returns
    -------
    dict of str to int
        Name -> number of kept entries.

    Examples
    --------
    >>> from core import layer_budgets
    >>> layer_budgets({"a": (10, 10), "b": (10, 30)}, 0.5, "balanced")
    {'a': 100, 'b': 100}
    """
    density = _check_density(density)  # a float: round() of a 0-d tensor failed below
    dens = layer_densities(shapes, density, distribution, redistribute=redistribute)
    n = {k: math.prod(shapes[k]) for k in shapes}
    real = {k: min(dens[k], 1.0) * n[k] for k in shapes}
    counts = {k: min(int(math.floor(real[k] + 1e-9)), n[k]) for k in shapes}
    total_target = sum(real.values())
    exact = density * sum(n.values())
    if abs(total_target - exact) <= 1e-9 * max(exact, 1.0):
        # the budget is met: round p N itself, not a float sum that may sit just off an x.5
        total_target = exact
    missing = int(round(total_target)) - sum(counts.values())
    order = sorted(shapes, key=lambda k: (-(real[k] - counts[k]), list(shapes).index(k)))
    for k in order:
        if missing <= 0:
            break
        if counts[k] < n[k] and real[k] - counts[k] > 1e-12:
            counts[k] += 1
            missing -= 1
    return counts


def _check_budget_keeps(counts: Mapping[str, int], density: float, distribution: str,
                        shapes: Mapping[str, Sequence[int]]) -> None:
    """Refuse a budget that keeps no weight; warn about layers it empties.

    As :func:`core.select_topk` does for the other masks: ``density=1e-6`` returned a mask
    keeping nothing, and a small layer's share rounding to 0 cut the network in two.
    """
    total = sum(math.prod(v) for v in shapes.values())
    if not any(counts.values()):
        raise ValueError(
            f"density: {density:g} keeps round({density:g} * {total}) = 0 of the {total} "
            f"entries, so no weight would be left; ask for a density above {0.5 / total:.3g}")
    empty = [k for k, c in counts.items() if c == 0]
    if empty:
        other = "" if distribution == "balanced" else (
            ", or distribution='balanced' (the same count in every layer)")
        warnings.warn(
            f"density: the {distribution!r} budget at {density:g} keeps no entry of {empty} "
            "(their share rounds to 0): layer collapse, these layers are pruned entirely; "
            f"ask for a larger density{other}",
            UserWarning, stacklevel=3)


def _warn_balanced_short(counts: Mapping[str, int], density: float,
                         shapes: Mapping[str, Sequence[int]]) -> None:
    """Warn when ``balanced`` keeps fewer weights than ``density`` asks for.

    The paper's ``balanced`` does not give a dense-capped layer's excess to the others, so
    a network with a small head (a 10-class output layer) kept 0.15 at ``density=0.2``
    without a word, while the other budgets meet the target.
    """
    n = {k: math.prod(v) for k, v in shapes.items()}
    total, kept = sum(n.values()), sum(counts.values())
    if kept >= round(density * total):
        return
    capped = [k for k in shapes if counts[k] == n[k]]
    warnings.warn(
        f"density: the 'balanced' budget at {density:g} keeps {kept} of {total} entries "
        f"(density {kept / total:.4g}): {capped} are capped at dense and, as the paper "
        "defines balanced, their excess is not given to the other layers; pass "
        f"redistribute=True to keep {round(density * total)}, or redistribute=False to "
        "keep this budget without this warning",
        UserWarning, stacklevel=3)


def random_mask(
    model: nn.Module,
    density: float,
    distribution: Distribution = "erk",
    seed: int = 0,
    *,
    names: Iterable[str] | None = None,
    redistribute: bool | None = None,
) -> MaskSet:
    """Erdős–Rényi random masks with a layer-wise density budget.

    Each layer keeps exactly its budgeted number of entries, chosen uniformly
    at random without replacement.

    Parameters
    ----------
    model
        The model to mask.
    density
        Global fraction of kept weights, in (0, 1].
    distribution
        Layer-wise budget: ``"uniform"``, ``"erk"``, ``"balanced"`` or
        ``"pyramidal"`` (see :mod:`core.budgets`).
    seed
        Seed of the CPU generator that draws the masks (reproducible across devices): an
        integer in [0, 2**64) (a numpy integer or a one-element integer tensor too). None
        is refused, not read as fresh entropy: the same call gives the same masks; pass
        another integer for another draw.
    names
        Parameters to mask (default: :func:`~core.prunable_names`' weights, in model
        order).
    redistribute
        See :func:`layer_densities`.

    Returns
    -------
    MaskSet
        Masks on the devices of the parameters.

    Raises
    ------
    ValueError
        ``density`` outside (0, 1], or so small that the budget keeps no weight at all;
        an unknown ``distribution``; ``seed`` negative or not below 2**64; a masked
        parameter on the meta device (a model built under ``torch.device("meta")``),
        whose masks would hold no values: draw them once the model is materialised.
    TypeError
        ``density`` not a real number (e.g. ``"0.2"``); ``seed`` not an integer, e.g.
        ``1.0`` or ``None`` ("seed: expected an integer >= 0, got None").

    Warns
    -----
    UserWarning
        When the budget keeps no entry of some layers while others keep entries (layer
        collapse); when ``"balanced"`` caps a layer at dense and so keeps fewer weights
        than ``density`` asks for (``redistribute`` left at None).

    Examples
    --------
    >>> from torch import nn
    >>> from core import random_mask
    >>> net = nn.Sequential(nn.Linear(20, 50), nn.Linear(50, 10))
    >>> masks = random_mask(net, 0.2, distribution="balanced", seed=1)
    >>> masks.kept()
    300
    """
    density = _check_density(density)
    _check_distribution(distribution)
    params = dict(model.named_parameters())
    chosen = prunable_names(model, names)
    for k in chosen:
        # masks on the meta device hold no values: attached, then materialised with
        # to_empty, they kept 0.005 of the weights where 0.1 was asked, without a word
        refuse_meta(params[k], f"model: parameter {k!r}",
                    fix="its masks would hold no values either (to_empty gives them "
                    "arbitrary ones): materialise the model first (e.g. "
                    "model.to_empty(device=...) and initialise the weights), then draw and "
                    "attach the masks; the draw of a seed is the same on every device")
    shapes = {k: tuple(params[k].shape) for k in chosen}
    counts = layer_budgets(shapes, density, distribution, redistribute=redistribute)
    _check_budget_keeps(counts, density, distribution, shapes)
    if distribution == "balanced" and redistribute is None:
        _warn_balanced_short(counts, density, shapes)
    gen = torch.Generator().manual_seed(check_seed(seed, optional=False, bits=64))
    out = {}
    for k in chosen:
        p = params[k]
        flat = torch.zeros(p.numel(), dtype=torch.bool)
        flat[torch.randperm(p.numel(), generator=gen)[: counts[k]]] = True
        out[k] = flat.reshape(p.shape).to(p.device)
    return MaskSet(out)
