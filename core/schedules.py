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
weights pruned per round, 20 % by default) or any explicit,
non-increasing list of densities in (0, 1].

Examples
--------
>>> import torch
>>> from torch import nn
>>> from core import LRR, geometric_densities
>>> _ = torch.manual_seed(0)
>>> net = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
>>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
>>> sched = LRR(net, opt, geometric_densities(0.5, rounds=2))
>>> for density in sched:                      # one training round per density
...     pass                                   # train(net, opt) goes here
>>> [round(d, 2) for d in sched.history]
[1.0, 0.5, 0.25]
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

import torch
from torch import nn

from core.checks import check_count, check_number
from core.masks import _HOOK_ATTR, MaskSet, _unwrap, prunable_names
from core.scores import check_scores, magnitude_scores
from core.select import (
    Scope,
    _check_collapse,
    _check_density,
    _refuse_nothing_kept,
    _select_topk,
)
from core.stacklevel import package_dirs, stacklevel_outside

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

#: core's folder: a layer-collapse warning of a prune names the first line outside it
_CORE = package_dirs([__file__])


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


def _attached_masks(model: nn.Module) -> MaskSet | None:
    """Return the MaskSet attached to ``model``, or None when none is."""
    # through a DataParallel wrapper the masks are on the module it wraps
    if getattr(_unwrap(model)[0], _HOOK_ATTR, None) is None:
        return None
    return MaskSet.from_module(model)


def _names_density(model: nn.Module, names: Sequence[str], masks: MaskSet | None) -> float:
    """Kept fraction of the entries of ``names``; a name without a mask counts as dense.

    Parameters
    ----------
    model
        The model that owns the parameters ``names``.
    names
        The schedule's parameters.
    masks
        Masks of some (or none, or more) of the parameters.

    Returns
    -------
    float
        ``kept / total`` over ``names``; 1.0 when they hold no entry.
    """
    # not masks.density(): that counts the masks' own entries, so masks on one layer of
    # two read 0.09 where the schedule's weights were 0.455 dense
    params = dict(model.named_parameters())
    have = masks.masks if masks is not None else {}
    total = sum(params[n].numel() for n in names)
    kept = sum(int(torch.count_nonzero(have[n])) if n in have else params[n].numel()
               for n in names)
    return kept / total if total else 1.0


def _covering(model: nn.Module, names: Sequence[str], masks: MaskSet) -> MaskSet:
    """``masks`` with an all-True mask for every name in ``names`` it has none for.

    Parameters
    ----------
    model
        The model that owns the parameters ``names``.
    names
        The schedule's parameters.
    masks
        The current masks.

    Returns
    -------
    MaskSet
        ``masks`` itself when it covers ``names``, else a new MaskSet.
    """
    missing = [n for n in names if n not in masks]
    if not missing:
        return masks
    params = dict(model.named_parameters())
    out = dict(masks.masks)
    for n in missing:
        out[n] = torch.ones_like(params[n], dtype=torch.bool)
    return MaskSet(out)


def _check_keeps_some(model: nn.Module, names: Sequence[str], densities: Sequence[float],
                      scope: Scope) -> None:
    """Refuse a density that keeps nothing under ``scope``, as the prune would.

    :func:`core.select_topk`'s rule: ``round(d * N) == 0`` over all entries
    (``"global"``), or in every tensor (``"layer"``) or every row of each
    (``"row"``). A partial layer collapse stays a warning at prune time.

    Parameters
    ----------
    model
        The model that owns the parameters ``names``.
    names
        The schedule's parameters.
    densities
        The schedule's densities (checked, non-increasing).
    scope
        The selection scope.

    Raises
    ------
    ValueError
        The error :func:`core.select_topk` raises, before any round is trained.
    """
    # found only at the prune: IMP(..., [0.5, 0.1, 0.01], scope="layer") raised after
    # three trained rounds
    params = dict(model.named_parameters())
    sizes = [params[n].numel() for n in names]
    if not any(sizes):
        return
    d = min(densities)  # non-increasing: the last one is the smallest, nothing else fails
    if scope == "global":
        n = sum(sizes)
        if round(d * n) == 0:
            _refuse_nothing_kept("densities", d, n)
        return
    per_row = scope == "row"
    sized = [name for name, size in zip(names, sizes) if size]
    lengths = {name: (math.prod(params[name].shape[1:]) if per_row else params[name].numel())
               for name in sized}
    empty = [name for name in sized if round(d * lengths[name]) == 0]
    if len(empty) == len(sized):  # select warns (layer collapse) when only some are empty
        _check_collapse("densities", d, empty, len(sized), per_row=per_row, stacklevel=1,
                        total=sum(params[name].numel() for name in sized))


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
        e.g. DASH's prior-weighted score. It must score every parameter in ``names``
        (a ``ValueError`` at the prune names those it misses; restrict ``names`` to the
        scored ones); scores of other parameters are ignored.
    scope
        Selection scope, ``"global"`` (default), ``"layer"`` or ``"row"``.
    names
        Parameters to prune (default: :func:`~core.prunable_names`' weights: ``ndim >= 2``,
        normalisation layers left dense).
    masks
        Masks to start from (e.g. a random mask); they are attached at once.
        Without them, masks already attached to ``model`` (``MaskSet.attach``) are
        the start: the first round trains at their density, ``history`` begins
        with it, and the weights they pruned stay pruned. A model without masks
        starts dense.

    Notes
    -----
    To checkpoint a run, save the schedule's :meth:`state_dict` with the model's
    and the optimizer's (the masks are buffers of the model and are in the
    schedule's state too; the LR scheduler's state is in the schedule's). To
    resume, build fresh objects as before, load the schedule's state *first* (it
    attaches the saved masks, so the model's ``load_state_dict`` finds their
    buffers), then the model's and the optimizer's; the loop goes on bit for bit
    as the uninterrupted run would (see Examples). Loading the schedule's state
    last works too when the fresh schedule was built before the masks were put on
    the model (``MaskSet.from_state_dict(model_state).attach(model, optimizer)``).

    Departures from the imp-lrr-lts reference code (Gadhikar & Burkholz): a prune
    keeps exactly ``round(d N)`` weights, ties broken by index (:func:`core.select_topk`),
    where the reference drops every score ``<=`` the ``floor((1 - d) N)``-th smallest,
    so it can keep one weight more, or fewer on ties. ``rewind="weights"`` restores
    the whole ``state_dict`` (buffers such as BatchNorm running statistics too), the
    reference only the weights and biases.

    Examples
    --------
    Checkpoint IMP at the end of its second round, then resume it in fresh objects:

    >>> import io
    >>> import torch
    >>> from torch import nn
    >>> from core import IMP
    >>> _ = torch.manual_seed(0)  # small layers can lose every weight at 0.125 (a warning)
    >>> def build():
    ...     net = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    ...     opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    ...     lr = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    ...     return net, opt, lr
    >>> def train(net, opt, lr):
    ...     for _ in range(3):
    ...         opt.zero_grad()
    ...         net(torch.ones(2, 8)).pow(2).mean().backward()
    ...         opt.step()
    ...         lr.step()
    >>> net, opt, lr = build()
    >>> sched = IMP(net, opt, [0.5, 0.25, 0.125], lr_scheduler=lr)
    >>> for density in sched:
    ...     train(net, opt, lr)
    ...     if sched.round == 1:                     # the second round is trained
    ...         file = io.BytesIO()
    ...         torch.save({"model": net.state_dict(), "optimizer": opt.state_dict(),
    ...                     "schedule": sched.state_dict(round_trained=True)}, file)
    ...         break
    >>> _ = file.seek(0)
    >>> saved = torch.load(file, weights_only=True)
    >>> net, opt, lr = build()                       # e.g. in a new process
    >>> sched = IMP(net, opt, [0.5, 0.25, 0.125], lr_scheduler=lr)
    >>> sched.load_state_dict(saved["schedule"])     # first: it attaches the masks
    >>> net.load_state_dict(saved["model"])
    <All keys matched successfully>
    >>> opt.load_state_dict(saved["optimizer"])
    >>> for density in sched:                        # prunes to 0.25, then to 0.125
    ...     train(net, opt, lr)
    >>> sched.history
    [1.0, 0.5, 0.25, 0.125]
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
        _check_keeps_some(model, self.names, self.densities, scope)
        given = masks is not None
        # masks attached to the model before: the schedule ignored them, pruned from 1.0 and
        # let the weights they had pruned grow back (density 0.1 -> 0.198, history 0.25)
        masks = masks if given else _attached_masks(model)
        self.masks = masks
        start = _names_density(model, self.names, masks)
        # checked before the masks are attached: a refusal leaves the model as it was
        if self.densities[0] > start + 1e-12:
            hint = "" if given or masks is None else (
                " of the masks attached to the model (the schedule goes on from them; pass "
                "masks= to start from others, or call MaskSet.detach_from(model) first to "
                "start dense)")
            raise ValueError(f"densities: first density {self.densities[0]} exceeds the "
                             f"starting density {start}{hint}")
        if masks is not None:
            masks.attach(model, optimizer)
        self.history: list[float] = []
        self.round = 0
        self._start = start
        # set by load_state_dict(round_trained=True state): the next loop prunes first
        self._trained = False
        self.checkpoint()

    def __setstate__(self, state: dict[str, Any]) -> None:
        # a copy (deepcopy, pickle) of the model keeps its masks, but torch copies no
        # optimizer hooks: without them again, the copy's steps moved pruned weights that a
        # gradient other than the masked one (noise added by hand) reached
        self.__dict__.update(state)
        if getattr(_unwrap(self.model)[0], _HOOK_ATTR, None) is not None:  # masks attached
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
            Parameter name -> score (higher = keep), checked against the model, for
            exactly the schedule's ``names`` (a callable's scores of other parameters are
            left out: the schedule prunes its ``names`` only).

        Raises
        ------
        ValueError
            If a callable ``score`` returns no score for some of the schedule's ``names``
            (it names them), or a score whose parameter is missing or of another shape.
        """
        if self.score == "magnitude":
            return magnitude_scores(self.model, self.names)
        out = dict(self.score(self.model))  # type: ignore[operator]
        check_scores(self.model, out)
        # the unscored tensors stayed dense while the prune reached the density over the
        # scored ones only: a round at 0.25 left the model at 0.625 (wanda_scores leaves
        # nn.MultiheadAttention's out_proj unscored)
        missing = [n for n in self.names if n not in out]
        if missing:
            raise ValueError(
                f"score: returned no score for {missing} of the schedule's parameters, which "
                "would stay dense while the density counts them; score every one of them, "
                "or prune only the scored ones with names=[...] (e.g. "
                "names=list(score(model)))")
        names = set(self.names)
        return {n: s for n, s in out.items() if n in names}

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
        if current is not None:
            # masks on some of the names (given or attached): the others are dense, and
            # this prune chooses among them too
            current = _covering(self.model, self.names, current)
        if current is not None and \
                density >= _names_density(self.model, self.names, current) - 1e-12:
            masks = current  # nothing to prune this round (Cyclic's extra cycles)
        else:
            # a layer-collapse warning named this line: it names the user's loop (or call of
            # prune()) now; + 1 for the frame of _select_topk, which counts from its own
            masks = _select_topk(self.scores(), density, scope=self.scope, current=current,
                                 stacklevel=stacklevel_outside(_CORE) + 1)
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
        trained, self._trained = getattr(self, "_trained", False), False  # older pickles
        if not trained:  # a state saved with round_trained=True: its round is over
            yield self.densities[done - 1] if done else self._start
        for d in self.densities[done:]:
            self.prune(d)
            self.round += 1
            self.history.append(_names_density(self.model, self.names, self.masks))
            yield d

    # -- checkpointing ---------------------------------------------------------------
    def state_dict(self, *, round_trained: bool = False) -> dict[str, Any]:
        """Return the schedule's state, to save next to the model's and optimizer's.

        It holds the round, the history, the densities, the masks, the rewind point
        (learning rates and LR-schedule state; with ``rewind="weights"`` also the
        weights and the optimizer state) and the live state of ``lr_scheduler``. The
        model's and the optimizer's own state are not in it: save their
        ``state_dict()`` too. Tensors are shared with the schedule, not copied.

        Parameters
        ----------
        round_trained
            ``True`` when the current round's training is over (a checkpoint at the
            end of the loop body): the resumed loop then prunes first and goes on
            with the next round. ``False`` (default): the resumed loop yields the
            current round again, to train it from the saved point (a checkpoint at
            the top of the loop body, or one taken part way through a round).

        Returns
        -------
        dict
            Plain containers, numbers, strings and tensors (``torch.load`` with
            ``weights_only=True`` reads them); give it to :meth:`load_state_dict`.
            Caveat: torch 2.2 (checked: 2.2.2) puts a ``OneCycleLR``'s annealing function in
            its state, which ``weights_only=True`` refuses on every torch; torch 2.4 and later
            (pytorch PR 123775; checked: 2.13, 2.14) store its name, and their files load on 2.2.
        """
        weights = self.rewind == "weights"
        return {
            "kind": type(self).__name__,
            "rewind": self.rewind,
            "scope": self.scope,
            "names": list(self.names),
            "densities": list(self.densities),
            "start": self._start,
            "round": self.round,
            "round_trained": bool(round_trained),
            "history": list(self.history),
            "masks": self.masks.state_dict() if self.masks is not None else None,
            # only IMP rewinds weights and optimizer state: LRR's checkpoint stays small
            "rewind_weights": dict(self._weights) if weights else None,
            "rewind_optimizer": self._opt_state if weights else None,
            "rewind_lrs": self._lrs,
            "rewind_lr_scheduler": self._sched_state,
            "lr_scheduler": (self.lr_scheduler.state_dict()
                             if self.lr_scheduler is not None else None),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict`, to resume the schedule.

        The saved masks are attached to the model (with the optimizer), so the model's
        own ``load_state_dict`` finds its mask buffers; the rewind point, the round,
        the history and the densities replace those of this schedule, and the saved
        state of ``lr_scheduler`` is loaded into it. Build the schedule as the saved
        one was built (same class, model, optimizer kind, ``scope``, ``names``, with
        an ``lr_scheduler`` exactly when it had one).

        Parameters
        ----------
        state
            A dict returned by :meth:`state_dict` (e.g. read back with ``torch.load``).

        Raises
        ------
        ValueError
            If ``state`` is no schedule state or was saved by a schedule built
            differently (kind, rewind, scope, names, LR scheduler, parameter groups).
        """
        keys = ("kind", "rewind", "scope", "names", "densities", "start", "round",
                "round_trained", "history", "masks", "rewind_weights", "rewind_optimizer",
                "rewind_lrs", "rewind_lr_scheduler", "lr_scheduler")
        if not isinstance(state, Mapping) or any(k not in state for k in keys):
            missing = [k for k in keys if not isinstance(state, Mapping) or k not in state]
            raise ValueError(f"state: expected a dict from PruningSchedule.state_dict(), "
                             f"missing {missing}")
        for key, mine in (("kind", type(self).__name__), ("rewind", self.rewind),
                          ("scope", self.scope), ("names", list(self.names))):
            if state[key] != mine:
                hint = ""
                if key == "names" and set(mine) < set(state[key]):
                    # the default names leave normalisation layers dense since 2026-12: a
                    # schedule saved before pruned a LayerNorm([C, L])'s scales and bias
                    hint = ("; the saved names hold more (the default once pruned the "
                            "scales of normalisation layers with ndim >= 2): pass "
                            "names=<the saved names> to resume that run")
                raise ValueError(f"state: saved by a schedule with {key}={state[key]!r}, "
                                 f"this one has {key}={mine!r}{hint}")
        if (state["lr_scheduler"] is None) != (self.lr_scheduler is None):
            had = "had" if state["lr_scheduler"] is not None else "had no"
            raise ValueError(f"state: the saved schedule {had} an lr_scheduler; build this "
                             "one the same way")
        have, saved = len(self.optimizer.param_groups), len(state["rewind_lrs"])
        if have != saved:
            raise ValueError(f"state: the optimizer has {have} parameter groups but the "
                             f"saved rewind point has {saved}")
        densities = check_densities(state["densities"])
        done = int(state["round"])
        if not 0 <= done <= len(densities) or len(state["history"]) > done + 1:
            raise ValueError(f"state: round {done} and {len(state['history'])} history "
                             f"entries do not fit {len(densities)} densities")
        if self.rewind == "weights" and (state["rewind_weights"] is None
                                         or state["rewind_optimizer"] is None):
            raise ValueError("state: the rewind weights or optimizer state are missing")
        state = copy.deepcopy(dict(state))  # the caller's dict stays the caller's
        # masks first: their buffers must exist before model.load_state_dict, and
        # attaching replaces the model's masks (or none) with the saved ones
        if state["masks"] is not None:
            self.masks = MaskSet(state["masks"]).attach(self.model, self.optimizer)
        else:
            MaskSet.detach_from(self.model)
            self.masks = None
        self.densities = densities
        self._start = float(state["start"])
        self.round = done
        self._trained = bool(state["round_trained"])
        self.history = [float(h) for h in state["history"]]
        if self.rewind == "weights":
            self._weights = state["rewind_weights"]
            self._opt_state = state["rewind_optimizer"]
        self._lrs = state["rewind_lrs"]
        self._sched_state = state["rewind_lr_scheduler"]
        if self.lr_scheduler is not None:
            self.lr_scheduler.load_state_dict(state["lr_scheduler"])

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
    imp-lrr-lts reference setup) to set the rewind point. :meth:`state_dict`
    saves it with the round and the masks, to resume a run (see the Examples
    of :class:`PruningSchedule`).

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

    Examples
    --------
    After each prune the kept weights are back at the rewind point (here: taken at
    construction); 80 weights at densities 0.5 and 0.25 keep 40 and 20:

    >>> import torch
    >>> from torch import nn
    >>> from core import IMP
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
    >>> def train():
    ...     opt.zero_grad()
    ...     net(torch.randn(4, 8)).pow(2).mean().backward()
    ...     opt.step()
    >>> sched = IMP(net, opt, [0.5, 0.25])
    >>> w0 = net[0].weight.detach().clone()
    >>> for density in sched:
    ...     if sched.round:                                 # after a prune
    ...         m = sched.masks["0.weight"]
    ...         print(density, sched.masks.kept(), torch.equal(net[0].weight, w0 * m))
    ...     train()
    0.5 40 True
    0.25 20 True
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

    Examples
    --------
    The weights are kept, the learning rate starts each round at 0.1 again:

    >>> import torch
    >>> from torch import nn
    >>> from core import LRR
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
    >>> lr = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    >>> sched = LRR(net, opt, [0.5, 0.25], lr_scheduler=lr)
    >>> for density in sched:
    ...     print(density, opt.param_groups[0]["lr"])
    ...     for _ in range(3):                              # one round: three steps
    ...         opt.zero_grad()
    ...         net(torch.randn(4, 8)).pow(2).mean().backward()
    ...         opt.step()
    ...         lr.step()
    1.0 0.1
    0.5 0.1
    0.25 0.1
    >>> round(opt.param_groups[0]["lr"], 4), sched.masks.kept()    # 0.1 * 0.5**3, 0.25 * 80
    (0.0125, 20)
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

    Examples
    --------
    Two dense cycles, then the prune to 0.25 and one cycle at it (80 weights keep 20):

    >>> import torch
    >>> from torch import nn
    >>> from core import Cyclic
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
    >>> sched = Cyclic(net, opt, density=0.25, cycles=2)
    >>> rounds = []
    >>> for density in sched:
    ...     rounds.append(density)
    ...     opt.zero_grad()                                 # train one cycle here
    ...     net(torch.randn(4, 8)).pow(2).mean().backward()
    ...     opt.step()
    >>> rounds, sched.masks.kept()
    ([1.0, 1.0, 0.25], 20)
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                 density: float, cycles: int = 3, **kwargs: Any) -> None:
        cycles = check_count("cycles", cycles, at_least=1)
        masks = kwargs.get("masks")
        if masks is None:  # masks attached to the model are the start (PruningSchedule)
            masks = _attached_masks(model)
        # the start over the schedule's parameters, as PruningSchedule computes it: over the
        # masks' own entries, a second cycle pruned a dense layer to the masks' density
        start = _names_density(model, prunable_names(model, kwargs.get("names")), masks)
        density = _check_density(density)
        super().__init__(model, optimizer, [start] * (cycles - 1) + [density],
                         rewind="lr", **kwargs)
