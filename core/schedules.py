"""Iterative pruning schedules as objects a training loop calls into.

Three schemes share one mechanism (:class:`PruningSchedule`): train a round,
prune to the next density with a score (default global magnitude over the
surviving weights), then rewind and train again.

``IMP``      Iterative Magnitude Pruning with *weight rewinding*: after each prune
             the surviving weights, the optimizer state and the LR schedule go
             back to a saved checkpoint (Frankle et al. 2020, "Linear Mode
             Connectivity and the Lottery Ticket Hypothesis").
``LRR``      Learning-Rate Rewinding: keep the trained weights, restart only the
             LR schedule (Renda et al. 2020; analysed in Gadhikar & Burkholz,
             "Masks, Signs, and Learning Rate Rewinding", ICLR 2024).
``Cyclic``   Cyclic Sparse Training / SCULPT-ing: several LR cycles on the
             current (dense or any) mask, then one magnitude prune to the target
             and a final retraining cycle (Gadhikar, Mukherjee, Burkholz, arXiv
             2406.02773).

Density lists: :func:`geometric_densities` (a fixed fraction of the *remaining*
weights pruned per round, 20 % by default in IMP/LRR) or any explicit,
non-increasing list of densities in (0, 1].

Examples
--------
>>> import torch
>>> from torch import nn
>>> from core import LRR, geometric_densities
>>> net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
>>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
>>> sched = LRR(net, opt, geometric_densities(0.5, rounds=2))
>>> for density in sched:                      # one training round per density
...     pass                                   # train(net, opt) goes here
>>> [round(d, 2) for d in sched.history]
[1.0, 0.5, 0.25]
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

import torch
from torch import nn

from core.checks import check_count, check_number
from core.masks import _HOOK_ATTR, MaskSet, prunable_names
from core.scores import check_scores, magnitude_scores
from core.select import Scope, _check_density, select_topk

__all__ = [
    "geometric_densities",
    "check_densities",
    "PruningSchedule",
    "IMP",
    "LRR",
    "Cyclic",
]

#: the parameter-group entries an LR scheduler writes, rewound with the schedule
_SCHEDULED = ("lr", "momentum", "betas")

ScoreFn = Callable[[nn.Module], Mapping[str, torch.Tensor]]


def geometric_densities(
    rate: float = 0.2,
    rounds: int | None = None,
    *,
    target: float | None = None,
    start: float = 1.0,
) -> list[float]:
    """Densities that prune a fraction ``rate`` of the remaining weights per round.

    Parameters
    ----------
    rate
        Fraction of the remaining weights removed each round, in (0, 1).
    rounds
        Number of rounds. Give ``rounds`` or ``target``.
    target
        Stop at the first round whose density is ``<= target``; the last entry is
        then exactly ``target``.
    start
        Density before the first round.

    Returns
    -------
    list of float
        ``start * (1 - rate) ** r`` for ``r = 1, 2, ...``.

    Examples
    --------
    >>> [round(d, 3) for d in geometric_densities(0.2, 3)]
    [0.8, 0.64, 0.512]
    >>> geometric_densities(0.5, target=0.2)
    [0.5, 0.25, 0.2]
    """
    rate = check_number("rate", rate)
    if not 0.0 < rate < 1.0:
        raise ValueError(f"rate: expected a fraction in (0, 1), got {rate}")
    start = _check_density(start, "start")
    if (rounds is None) == (target is None):
        raise ValueError("rounds/target: give exactly one of them")
    if rounds is not None:
        rounds = check_count("rounds", rounds, at_least=1)
        return [start * (1 - rate) ** r for r in range(1, rounds + 1)]
    target = _check_density(target, "target")  # type: ignore[arg-type]
    if target > start:
        raise ValueError(f"target: expected <= start={start}, got {target}")
    out: list[float] = []
    d = start
    close = target * (1 + 1e-9)  # 0.8 * 0.8 is 0.6400000000000001: that is 0.64, not above
    while d > close:
        d *= 1 - rate
        out.append(target if d <= close else d)
    return out or [target]


def check_densities(densities: Iterable[float]) -> list[float]:
    """Validate an explicit density list: values in (0, 1], non-increasing.

    Parameters
    ----------
    densities
        Densities after each prune.

    Returns
    -------
    list of float
        The densities as floats.

    Raises
    ------
    TypeError
        If ``densities`` is one number (or a string) rather than a sequence.
    ValueError
        If the list is empty, a density is outside (0, 1] or the list increases.
    """
    # one density alone (IMP(net, opt, 0.5)) failed with "'float' object is not iterable"
    if isinstance(densities, str) or not isinstance(densities, Iterable) \
            or getattr(densities, "ndim", 1) == 0:
        raise TypeError(f"densities: expected a sequence of densities, got {densities!r} "
                        "(one round to density d: [d])")
    out = [_check_density(d, "densities") for d in densities]
    if not out:
        raise ValueError("densities: expected at least one density")
    if any(b > a + 1e-12 for a, b in zip(out, out[1:])):
        raise ValueError(f"densities: expected a non-increasing list, got {out}")
    return out


class PruningSchedule:
    """Train, prune, rewind, repeat: the common engine of IMP, LRR and Cyclic.

    Iterate over the schedule and train one round in the loop body; advancing
    the iterator prunes to the next density, attaches the masks (they keep
    pruned weights at zero through the optimizer) and rewinds::

        for density in schedule:
            train_one_round(model, optimizer, lr_scheduler)

    The first round trains at the starting density (1.0, or that of ``masks``).
    Call :meth:`checkpoint` whenever the rewind point should be (re)taken (IMP:
    after a short warm-up); it is taken at construction otherwise.

    Parameters
    ----------
    model
        The model to prune.
    optimizer
        Its optimizer; masks re-apply after its steps.
    densities
        Densities after each prune (explicit non-increasing list; see
        :func:`geometric_densities`).
    lr_scheduler
        Optional LR scheduler; rewound with the learning rates.
    rewind
        ``"weights"`` (IMP: weights, optimizer state and LR schedule go back to
        the checkpoint), ``"lr"`` (LRR: only the learning rates, the momenta a
        schedule cycles and the LR schedule go back), ``"none"`` (plain iterative
        pruning with fine-tuning).
    score
        ``"magnitude"`` or a callable ``model -> {name: score}`` (higher = keep),
        e.g. DASH's prior-weighted score.
    scope
        Selection scope, ``"global"`` (default), ``"layer"`` or ``"row"``.
    names
        Parameters to prune (default: ``ndim >= 2``).
    masks
        Masks to start from (e.g. a random mask); they are attached at once.

    Notes
    -----
    Departures from the imp-lrr-lts reference code (Gadhikar & Burkholz): a prune
    keeps exactly ``round(d N)`` weights, ties broken by index (:func:`core.select_topk`),
    where the reference drops every score ``<=`` the ``floor((1 - d) N)``-th smallest,
    so it can keep one weight more, or fewer on ties. ``rewind="weights"`` restores
    the whole ``state_dict`` (buffers such as BatchNorm running statistics too), the
    reference only the weights and biases.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        densities: Sequence[float],
        *,
        lr_scheduler: Any | None = None,
        rewind: Literal["weights", "lr", "none"] = "lr",
        score: Literal["magnitude"] | ScoreFn = "magnitude",
        scope: Scope = "global",
        names: Iterable[str] | None = None,
        masks: MaskSet | None = None,
    ) -> None:
        if rewind not in ("weights", "lr", "none"):
            raise ValueError(f"rewind: expected 'weights', 'lr' or 'none', got {rewind!r}")
        if score != "magnitude" and not callable(score):
            raise ValueError(f"score: expected 'magnitude' or a callable, got {score!r}")
        if scope not in ("global", "layer", "row"):  # else refused only after a whole round
            raise ValueError(f"scope: expected 'global', 'layer' or 'row', got {scope!r}")
        self.model = model
        self.optimizer = optimizer
        self.lr_scheduler = lr_scheduler
        self.rewind = rewind
        self.score = score
        self.scope = scope
        self.names = prunable_names(model, names)
        self.densities = check_densities(densities)
        self.masks = masks
        start = masks.density() if masks is not None else 1.0
        # checked before the masks are attached: a refusal leaves the model as it was
        if self.densities[0] > start + 1e-12:
            raise ValueError(f"densities: first density {self.densities[0]} exceeds the "
                             f"starting density {start}")
        if masks is not None:
            masks.attach(model, optimizer)
        self.history: list[float] = []
        self.round = 0
        self._start = start
        self.checkpoint()

    def __setstate__(self, state: dict[str, Any]) -> None:
        # a copy (deepcopy, pickle) of the model keeps its masks, but torch copies no
        # optimizer hooks: without them again, the copy's steps moved pruned weights that a
        # gradient other than the masked one (noise added by hand) reached
        self.__dict__.update(state)
        if getattr(self.model, _HOOK_ATTR, None) is not None:  # masks attached
            MaskSet.attach_optimizer(self.model, self.optimizer)

    # -- rewind point ------------------------------------------------------------
    def checkpoint(self) -> None:
        """Save the rewind point: weights, optimizer state, learning rates, LR schedule."""
        self._weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()
                         if not k.endswith("_mask")}
        self._opt_state = copy.deepcopy(self.optimizer.state_dict())
        # the momentum too: OneCycleLR and CyclicLR cycle it with the lr, and a round that
        # stopped part way began the next one with its last momentum
        self._lrs = [{k: copy.deepcopy(g[k]) for k in _SCHEDULED if k in g}
                     for g in self.optimizer.param_groups]
        self._sched_state = (copy.deepcopy(self.lr_scheduler.state_dict())
                             if self.lr_scheduler is not None else None)

    def _check_groups(self) -> None:
        # a group added since the rewind point: IMP failed inside torch's load_state_dict
        # ("different number of parameter groups"), LRR left its lr unrewound
        have, saved = len(self.optimizer.param_groups), len(self._lrs)
        if have != saved:
            raise ValueError(f"optimizer: it has {have} parameter groups but the rewind point "
                             f"saved {saved}; call checkpoint() after add_param_group")

    def _rewind_lr(self) -> None:
        self._check_groups()
        for group, saved in zip(self.optimizer.param_groups, self._lrs):
            for key, value in saved.items():
                # torch's schedulers write a tensor lr in place (fill_): putting the saved
                # tensor itself into the group let the next round overwrite the rewind point
                if isinstance(group.get(key), torch.Tensor) and isinstance(value, torch.Tensor):
                    group[key].copy_(value)
                else:
                    group[key] = copy.deepcopy(value)
        if self.lr_scheduler is not None:
            self.lr_scheduler.load_state_dict(copy.deepcopy(self._sched_state))

    def _rewind_weights(self) -> None:
        self._check_groups()
        with torch.no_grad():
            state = self.model.state_dict()
            for k, v in self._weights.items():
                state[k].copy_(v)
        self.optimizer.load_state_dict(copy.deepcopy(self._opt_state))

    # -- pruning -------------------------------------------------------------------
    def scores(self) -> dict[str, torch.Tensor]:
        """Scores of the prunable parameters at the current weights.

        Returns
        -------
        dict of str to torch.Tensor
            Parameter name -> score (higher = keep), checked against the model.
        """
        if self.score == "magnitude":
            return magnitude_scores(self.model, self.names)
        out = dict(self.score(self.model))  # type: ignore[operator]
        check_scores(self.model, out)
        return out

    def prune(self, density: float) -> MaskSet:
        """Prune to ``density`` (of all prunable weights), attach the masks and rewind.

        Parameters
        ----------
        density
            Density after the prune, in (0, 1], of all prunable weights.

        Returns
        -------
        MaskSet
            The masks now attached to the model.
        """
        density = _check_density(density)
        current = self.masks
        if current is not None and density >= current.density() - 1e-12 \
                and set(current) == set(self.names):
            masks = current  # nothing to prune this round (Cyclic's extra cycles)
        else:
            masks = select_topk(self.scores(), density, scope=self.scope, current=current)
        if self.rewind == "weights":
            self._rewind_weights()
        masks.attach(self.model, self.optimizer)
        if self.rewind in ("weights", "lr"):
            self._rewind_lr()
        self.masks = masks
        return masks

    def __iter__(self) -> Iterator[float]:
        """Yield the density of each training round, pruning between rounds.

        A loop stopped part way (an error, Ctrl-C in a notebook) and iterated again goes
        on from the round it stopped in, at that round's masks: the masks cannot be
        undone, and a fresh start yielded 1.0 for rounds that trained sparse. A finished
        schedule iterated again yields its last round once more.
        """
        done = self.round  # prunes made by an earlier loop over this schedule
        self.history = self.history[:done + 1] or [self._start]
        yield self.densities[done - 1] if done else self._start
        for d in self.densities[done:]:
            self.prune(d)
            self.round += 1
            self.history.append(self.masks.density() if self.masks is not None else d)
            yield d

    def __len__(self) -> int:
        return len(self.densities) + 1

    def __repr__(self) -> str:
        # IMP, LRR and Cyclic print their own name, where they are and what comes next
        now = self.densities[self.round - 1] if self.round else self._start
        ahead = self.densities[self.round:]
        nxt = f", next {ahead[0]:.4g}" if ahead else ", done"
        return (f"{type(self).__name__}(round {self.round + 1} of {len(self)}: density "
                f"{now:.4g}{nxt}; rewind={self.rewind!r}, scope={self.scope!r}, "
                f"{len(self.names)} tensors)")


class IMP(PruningSchedule):
    """Iterative Magnitude Pruning with weight rewinding (see :class:`PruningSchedule`).

    Call :meth:`checkpoint` after the warm-up (e.g. 10 epochs in the
    imp-lrr-lts reference setup) to set the rewind point.

    Parameters
    ----------
    model
        The model to prune.
    optimizer
        Its optimizer; its state is rewound with the weights.
    densities
        Densities after each prune (e.g. :func:`geometric_densities`).
    **kwargs
        Keyword arguments of :class:`PruningSchedule` other than ``rewind``.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                 densities: Sequence[float], **kwargs: Any) -> None:
        super().__init__(model, optimizer, densities, rewind="weights", **kwargs)


class LRR(PruningSchedule):
    """Learning-Rate Rewinding: keep weights, restart the LR schedule each round.

    Parameters
    ----------
    model
        The model to prune.
    optimizer
        Its optimizer; its learning rates are rewound each round.
    densities
        Densities after each prune (e.g. :func:`geometric_densities`).
    **kwargs
        Keyword arguments of :class:`PruningSchedule` other than ``rewind``.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                 densities: Sequence[float], **kwargs: Any) -> None:
        super().__init__(model, optimizer, densities, rewind="lr", **kwargs)


class Cyclic(PruningSchedule):
    """Cyclic Sparse Training then one prune (SCULPT-ing).

    ``cycles`` LR cycles at the starting density (dense, or that of ``masks``),
    one magnitude prune to ``density``, then one retraining cycle. Iterating
    yields ``cycles + 1`` rounds; the LR schedule is restarted between rounds.

    Parameters
    ----------
    model
        The model to prune.
    optimizer
        Its optimizer; its learning rates are rewound each cycle.
    density
        The one target density, in (0, 1].
    cycles
        Number of training cycles before the prune, ``>= 1``.
    **kwargs
        Keyword arguments of :class:`PruningSchedule` other than ``rewind``
        (``masks`` to start from a sparse mask).
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                 density: float, cycles: int = 3, **kwargs: Any) -> None:
        cycles = check_count("cycles", cycles, at_least=1)
        masks = kwargs.get("masks")
        start = masks.density() if masks is not None else 1.0
        density = _check_density(density)
        super().__init__(model, optimizer, [start] * (cycles - 1) + [density],
                         rewind="lr", **kwargs)
