"""DASH: pruning the PHOENIX vector field with data and domain knowledge.

Hossain, Fischer, Burkholz, Quackenbush. "Pruning neural network models for gene regulatory
dynamics using data and domain knowledge". NeurIPS 2024, arXiv:2403.04805 (code:
QuackenbushLab/DASH, ``train_DASH_simu.py``).

Iterative unstructured pruning during training, per layer, of the four weight matrices
(``sum_in``/``prod_in``: (h, G) branch inputs; ``sum_out``/``prod_out``: (G, h) combine
layers). Each round removes a fraction of the *still unpruned* weights of each layer by the
lowest combined score

    Omega = lambda * prior_term + (1 - lambda) * data_term

(``lambda_ppi`` for the input layers, ``lambda_motif`` for the output layers):

- data term: ``|W|`` (``sum_in``), ``exp(W)`` (``prod_in``, a log-space branch) and
  ``|C| * ReLU(g)[target]`` (both output layers);
- prior term, least-squares "best guesses" given the previous round's scores ``S``
  ((h, G), U(0, 1) before round 1): input layers ``X = argmin ||S^T X - Q||`` with ``Q`` the
  co-regulation matrix (``|P| |P|^T`` when no PPI matrix is given, scaled to sum 1); output
  layers ``C = argmin ||C S - |P|^T||`` with ``S`` the incoming branch layer's current
  score. Both are computed with the Moore-Penrose pseudo-inverse in float64, which equals
  the paper's ``(S S^T)^-1 S Q`` and ``(S |P|)^T (S S^T)^-1`` when ``S S^T`` is invertible
  and stays defined when it is singular (h > G, e.g. h = 40 on 11 genes).
- scores are recursive: each round's Omega is the next round's ``S``.

**Normalisation** (explicit, ``normalize=``). The prior guess enters raw in the first two
modes: its scale is set by Q (which sums to 1) and ``|P|``, so even lambda = 0.01 can let
the prior dominate where the guesses are large; on planted networks this is what makes DASH
beat IMP and prior-only pruning.

- ``"alive"`` (default): the data term is divided by its sum over the layer's unpruned
  entries, and entries pruned in earlier rounds score 0. The ``S`` kept for the next
  round's guesses is the Omega this round ranked (as in the reference), so the entries it
  removes keep their scores there until the round after.
- ``"reference"``: DASH's ``train_DASH_simu.py`` exactly (a test checks the masks against a
  transcription of it): the data term is divided by its sum over the whole layer, where a
  pruned weight is 0, or ``exp(0) = 1`` in the log-space branch (so at high sparsity the
  data term of ``prod_in`` is that much smaller), and the scores keep their values at
  pruned entries for the next round's guesses.
- ``"sum"``: both terms divided by their sums over the unpruned entries, so lambda is
  exactly the prior's share of the score mass (then larger lambdas, e.g. 0.5, are needed
  for the prior to matter).

Planted networks (10 % prior corruption, 200 epochs, 8 seeds; 350 genes 2 seeds), balanced
accuracy of DASH / prior-only pruning: ``"alive"`` 0.884 / 0.861 (30 genes), 0.895 / 0.869
(50), 0.890 / 0.877 (350); ``"reference"`` 0.842 / 0.778 (50), 0.860 / 0.783 (350). The
paper reports about 0.90 / 0.88 on its 350-gene networks, so ``"alive"`` is the default.

**Schedule** as in the reference: the first cut at ``first_epoch``, then every ``every``
epochs before the last epoch (no round at the final epoch, which would leave no time to
recover from it).

Baselines on the same schedule: ``"imp"`` (lambda = 0: iterative magnitude/data-score
pruning) and ``"prior"`` (lambda = 1: prior best guesses only, "Bio-pruning").
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from biomodels.grn.odefunc import PRUNABLE, PhoenixODEFunc
from core.checks import check_seed

__all__ = [
    "PruningSchedule",
    "DashPruner",
    "data_scores",
    "prior_guesses",
    "combine_scores",
    "coregulation",
]

PruningMethod = Literal["dash", "imp", "prior"]
Normalize = Literal["alive", "reference", "sum"]
_INPUT = ("sum_in.weight", "prod_in.weight")
_OUTPUT = ("sum_out.weight", "prod_out.weight")
_INCOMING = {"sum_out.weight": "sum_in.weight", "prod_out.weight": "prod_in.weight"}


def _check_epoch(name: str, value: Any) -> None:
    """Refuse a non-integer epoch count by name (50.0 failed inside ``range``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer number of epochs, got {value!r}")


@dataclass(frozen=True)
class PruningSchedule:
    """When and how much DASH prunes (defaults: the paper's simulations).

    Rounds start at epoch ``first_epoch`` (fraction ``first_fraction`` of each layer), then
    at every epoch that is a multiple of ``every`` (fraction ``fraction`` of the weights
    still unpruned) except the last epoch of the fit. Epochs are 1-based. Sparsity after n
    rounds is ``1 - (1 - first_fraction) * (1 - fraction) ** (n - 1)`` (up to rounding per
    layer).

    Parameters
    ----------
    first_epoch
        Epoch of the first round (1-based). An integer, or a whole float such as ``3.0``
        (as h5ad reads ``uns["grn"]["settings"]["schedule"]`` back); ``3.5`` is refused.
    first_fraction
        Fraction of each layer removed by the first round, in [0, 1).
    every
        Later rounds start every epoch that is a multiple of ``every`` (integer or whole
        float, as ``first_epoch``).
    fraction
        Fraction of the still-unpruned weights removed by each later round, in [0, 1).

    Examples
    --------
    >>> s = PruningSchedule()
    >>> [e for e in range(1, 31) if s.is_round(e, max_epochs=30)]
    [3, 10, 20]
    >>> round(s.sparsity_after(2), 3)
    0.73
    """

    first_epoch: int = 3
    first_fraction: float = 0.7
    every: int = 10
    fraction: float = 0.1

    def __post_init__(self) -> None:
        for name in ("first_epoch", "every"):
            v = getattr(self, name)
            # first_epoch=1.5 matched no epoch, so the first cut silently never happened;
            # a whole float (3.0) is taken: h5ad reads settings["schedule"] back as floats
            whole = isinstance(v, numbers.Real) and not isinstance(v, numbers.Integral) \
                and math.isfinite(v) and float(v).is_integer()
            if isinstance(v, bool) or not (isinstance(v, numbers.Integral) or whole):
                raise TypeError(f"schedule: {name} must be an integer epoch, got {v!r}")
            if v < 1:
                raise ValueError("schedule: first_epoch and every must be >= 1")
            # plain Python numbers: a numpy scalar reached model.settings, which then failed
            # json.dumps
            object.__setattr__(self, name, int(v))
        for name in ("first_fraction", "fraction"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"schedule: {name} must be a number, got {v!r}")
            if not 0.0 <= v < 1.0:
                raise ValueError(f"schedule: {name} must be in [0, 1), got {v!r}")
            object.__setattr__(self, name, float(v))

    def is_round(self, epoch: int, max_epochs: int | None = None) -> bool:
        """Whether a pruning round starts ``epoch`` of a fit of ``max_epochs`` epochs.

        Parameters
        ----------
        epoch
            1-based epoch.
        max_epochs
            Length of the fit (no later round at its last epoch; the first round, at
            ``first_epoch``, is kept even there); None for an open-ended fit.

        Returns
        -------
        bool
        """
        if epoch == self.first_epoch:
            return True
        last = max_epochs is not None and epoch >= max_epochs
        return epoch > self.first_epoch and epoch % self.every == 0 and not last

    def amount(self, epoch: int, max_epochs: int | None = None) -> float:
        """Fraction of the still-unpruned weights removed at ``epoch`` (0 when no round).

        Parameters
        ----------
        epoch, max_epochs
            As in :meth:`is_round`.

        Returns
        -------
        float
        """
        if epoch == self.first_epoch:
            return self.first_fraction
        return self.fraction if self.is_round(epoch, max_epochs) else 0.0

    def rounds_by(self, epoch: int, max_epochs: int | None = None) -> int:
        """Count the rounds in epochs 1..``epoch`` of a fit of ``max_epochs`` epochs.

        Parameters
        ----------
        epoch, max_epochs
            As in :meth:`is_round`.

        Returns
        -------
        int
        """
        _check_epoch("epoch", epoch)
        return sum(self.is_round(e, max_epochs) for e in range(1, epoch + 1))

    def last_round_epoch(self, max_epochs: int) -> int:
        """Last round epoch of a fit of ``max_epochs`` epochs (0 when none).

        Parameters
        ----------
        max_epochs
            Length of the fit.

        Returns
        -------
        int
        """
        _check_epoch("max_epochs", max_epochs)
        rounds = [e for e in range(1, max_epochs + 1) if self.is_round(e, max_epochs)]
        return rounds[-1] if rounds else 0

    def sparsity_after(self, n_rounds: int) -> float:
        """Closed-form sparsity after ``n_rounds`` rounds.

        Parameters
        ----------
        n_rounds
            Rounds done (0 or more).

        Returns
        -------
        float
            ``1 - (1 - first_fraction) * (1 - fraction) ** (n_rounds - 1)``; 0 for no round.
        """
        if n_rounds <= 0:
            return 0.0
        return 1.0 - (1.0 - self.first_fraction) * (1.0 - self.fraction) ** (n_rounds - 1)


def coregulation(prior: torch.Tensor, ppi: torch.Tensor | None = None) -> torch.Tensor:
    """Co-regulation matrix Q (G x G) scaled to sum 1.

    ``|PPI|`` when given, else ``|P| |P|^T`` (entry (i, k) counts the targets that
    regulators i and k share, weighted), as in DASH's simulations.

    Parameters
    ----------
    prior
        Gene-gene prior ``P`` (regulators x targets).
    ppi
        Optional G x G protein-protein interaction / co-regulation matrix.

    Returns
    -------
    torch.Tensor
        G x G, non-negative, summing to 1 (all zeros when the input is).
    """
    q = ppi.abs() if ppi is not None else prior.abs() @ prior.abs().T
    total = q.sum()
    return q / total if total > 0 else q


def data_scores(func: PhoenixODEFunc) -> dict[str, torch.Tensor]:
    """DASH data scores of the four weight matrices (not normalised).

    ``|W_sum|``, ``exp(W_prod)``, ``|C_sum| * ReLU(g)`` and ``|C_prod| * ReLU(g)`` (row j
    of a combine layer feeds target gene j).

    Parameters
    ----------
    func
        The vector field.

    Returns
    -------
    dict of str to torch.Tensor
        One score per weight, keyed by the names in :data:`biomodels.grn.odefunc.PRUNABLE`.
    """
    with torch.no_grad():
        rate = torch.relu(func.gene_rates)[:, None]
        return {
            "sum_in.weight": func.sum_in.weight.abs().clone(),
            "prod_in.weight": torch.exp(func.prod_in.weight),
            "sum_out.weight": func.sum_out.weight.abs() * rate,
            "prod_out.weight": func.prod_out.weight.abs() * rate,
        }


def prior_guesses(
    previous: dict[str, torch.Tensor],
    current_inputs: dict[str, torch.Tensor] | None,
    prior: torch.Tensor,
    coreg: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """Least-squares prior best guesses of all four layers (absolute values).

    Parameters
    ----------
    previous
        Previous-round scores ``S`` of the input layers, (h, G) each.
    current_inputs
        This round's combined scores of the input layers (the ``S`` of the output layers);
        ``previous`` is used when None.
    prior
        Gene-gene prior ``P`` (regulators x targets).
    coreg
        Co-regulation matrix Q (G x G), see :func:`coregulation`.

    Returns
    -------
    dict
        ``|X|`` (h, G) for the input layers and ``|C|`` (G, h) for the output layers.
    """
    out: dict[str, torch.Tensor] = {}
    q = coreg.to(torch.float64)
    p_t = prior.abs().to(torch.float64).T
    for name in _INPUT:
        s = previous[name].to(torch.float64)
        out[name] = (torch.linalg.pinv(s.T) @ q).abs().to(previous[name].dtype)
    src = current_inputs if current_inputs is not None else previous
    for name in _OUTPUT:
        s = src[_INCOMING[name]].to(torch.float64)
        out[name] = (p_t @ torch.linalg.pinv(s)).abs().to(previous[_INCOMING[name]].dtype)
    return out


def _normalise(x: torch.Tensor, alive: torch.Tensor | None = None) -> torch.Tensor:
    x = x if alive is None else x * alive
    total = x.sum()
    return x / total if total > 0 else x


def combine_scores(
    data: torch.Tensor,
    guess: torch.Tensor | None,
    lam: float,
    *,
    alive: torch.Tensor | None = None,
    normalize: Normalize = "alive",
) -> torch.Tensor:
    """``lam * prior_term + (1 - lam) * data_term`` with the documented normalisation.

    Parameters
    ----------
    data, guess
        Data score and prior best guess (same shape); ``guess`` None means ``lam`` must be 0.
    lam
        Prior weight in [0, 1].
    alive
        Bool mask of still-unpruned entries (``"alive"``, ``"sum"``: pruned ones score 0 and
        are left out of the sums; ``"reference"``: ignored, as in the DASH code).
    normalize
        ``"alive"``: the data term scaled to sum 1 over alive entries, the guess raw;
        ``"reference"``: the data term scaled to sum 1 over the whole layer (a pruned
        weight is 0, or ``exp(0) = 1`` in the log-space branch), the guess raw, both kept
        at pruned entries; ``"sum"``: both terms scaled to sum 1 over alive entries.

    Returns
    -------
    torch.Tensor
        The scores; pruned entries are never selected again whatever their score (the
        selection masks them).
    """
    if normalize == "reference":
        alive = None  # train_DASH_simu.py scores and keeps the whole matrix
    d = _normalise(data, alive)
    if guess is None:
        if lam != 0.0:
            raise ValueError("combine_scores: a prior guess is needed when lam > 0")
        return d
    if normalize == "sum":
        g = _normalise(guess, alive)
    else:
        g = guess if alive is None else guess * alive
    return lam * g + (1.0 - lam) * d


def _score_seed(seed: int) -> int:
    """Seed of the first round's U(0, 1) scores, a stream apart from ``seed``'s own.

    The model draws its initialisation from a generator seeded with the same ``seed``, whose
    first numbers decide which input weights start non-zero: scores drawn from that stream
    were exactly those numbers (S >= 0.95 where a weight was kept), not independent of the
    weights as DASH's U(0, 1) start is.
    """
    return int(np.random.SeedSequence([seed, 1]).generate_state(1, np.uint64)[0]) >> 1


class DashPruner:
    """DASH pruning schedule for :func:`biomodels.grn.train.fit` using ``core``'s masks.

    Parameters
    ----------
    method
        ``"dash"`` (data and prior), ``"imp"`` (lambda = 0) or ``"prior"`` (lambda = 1).
    prior
        Signed gene-gene prior P (regulators x targets); needed for ``"dash"`` and
        ``"prior"`` (a zero prior makes the guesses zero).
    ppi
        Optional G x G protein-protein interaction / co-regulation matrix, used as |PPI| (its
        signs do not count; else |P||P|^T), normalised to sum 1 (:func:`coregulation`).
    lambda_ppi, lambda_motif
        Prior weights of the input and output layers (paper's simulations: 0.05, 0.01).
    schedule
        A :class:`PruningSchedule`.
    normalize
        See :func:`combine_scores` (module docstring).
    seed
        Seeds the U(0, 1) initial scores ``S`` (drawn from a stream of their own, independent
        of a model initialised with the same seed).

    Attributes
    ----------
    masks : core.MaskSet | None
        Current masks (None before the first round).
    rounds : int
        Rounds done, including those of an earlier fit this one continues
        (:meth:`continue_from`).
    """

    def __init__(
        self,
        method: PruningMethod = "dash",
        *,
        prior: torch.Tensor | None = None,
        ppi: torch.Tensor | None = None,
        lambda_ppi: float = 0.05,
        lambda_motif: float = 0.01,
        schedule: PruningSchedule | None = None,
        normalize: Normalize = "alive",
        seed: int = 0,
    ) -> None:
        if method not in ("dash", "imp", "prior"):
            raise ValueError(f"method must be 'dash', 'imp' or 'prior', got {method!r}")
        if normalize not in ("alive", "reference", "sum"):
            raise ValueError(f"normalize must be 'alive', 'reference' or 'sum', got {normalize!r}")
        if method in ("dash", "prior") and prior is None:
            raise ValueError(f"pruning method {method!r} needs a prior network")
        if schedule is not None and not isinstance(schedule, PruningSchedule):
            # a dict failed later with "'dict' object has no attribute 'last_round_epoch'"
            raise TypeError(f"schedule must be a PruningSchedule, got {type(schedule).__name__}")
        for name, v in (("lambda_ppi", lambda_ppi), ("lambda_motif", lambda_motif)):
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"{name} must be a number, got {v!r}")
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {v!r}")
        for name, net in (("prior", prior), ("ppi", ppi)):
            if net is None:
                continue
            if not isinstance(net, torch.Tensor) or net.ndim != 2 \
                    or net.shape[0] != net.shape[1]:
                shape = tuple(net.shape) if isinstance(net, torch.Tensor) else type(net).__name__
                raise ValueError(f"{name} must be a square G x G tensor, got {shape}")
            if not torch.isfinite(net).all():  # NaN reached an SVD only at the first round
                raise ValueError(f"{name} has NaN or infinite entries")
        self.method = method
        self.prior = prior
        self.ppi = ppi
        if method == "imp":
            lambda_ppi = lambda_motif = 0.0
        elif method == "prior":
            lambda_ppi = lambda_motif = 1.0
        self.lambda_ppi = lambda_ppi
        self.lambda_motif = lambda_motif
        self.schedule = schedule or PruningSchedule()
        self.normalize = normalize
        # checked here: a float or None failed only at the first pruning round, and torch
        # took -1 as 2**64 - 1
        self.seed = check_seed(seed, optional=False, bits=64)
        self.masks = None
        self.rounds = 0
        self._continued = False
        self._previous: dict[str, torch.Tensor] | None = None
        # Q in float64 for the prior and PPI as they are in the model's dtype and device:
        # |P| |P|^T costs G^3 and does not change between rounds (0.6 s a round at 3,000
        # genes, 2.8 s at 5,000, recomputed every round); dropped after the last round
        self._coreg: tuple[Any, Any, tuple[Any, ...], torch.Tensor] | None = None

    def __repr__(self) -> str:
        mask = "" if self.masks is None else f", density {self.masks.density():.4g}"
        lambdas = f"lambda_ppi={self.lambda_ppi:g}, lambda_motif={self.lambda_motif:g}"
        return (f"DashPruner({self.method!r}, {lambdas}, {self.schedule}; "
                f"{self.rounds} rounds done{mask})")

    def continue_from(self, masks: Any, state: dict[str, Any] | None = None) -> None:
        """Continue an earlier pruned fit instead of starting the schedule over.

        The earlier masks stay (nothing pruned is revived), the round count goes on and the
        schedule's first round removes ``fraction`` instead of ``first_fraction``, so
        sparsity keeps following ``1 - (1 - first_fraction) * (1 - fraction) ** (n - 1)``
        over both fits. The earlier recursive scores ``S`` are reused when ``state`` (the
        earlier pruner's :meth:`state_dict`) holds them for layers of the same shapes.

        Parameters
        ----------
        masks
            The ``core.MaskSet`` attached to the model.
        state
            The earlier pruner's state; None when unknown (then one earlier round is
            assumed and the scores ``S`` start afresh).
        """
        self.masks = masks
        self.rounds = max(1, int(state["rounds"])) if state is not None else 1
        self._continued = True
        prev = None if state is None else state.get("previous")
        if prev is not None and all(
                n in prev and tuple(prev[n].shape) == tuple(masks[n].shape) for n in _INPUT):
            self._previous = {n: prev[n].detach().clone() for n in _INPUT}

    def last_round_epoch(self, max_epochs: int) -> int:
        """Last scheduled round within ``max_epochs``.

        Parameters
        ----------
        max_epochs
            Length of the fit.

        Returns
        -------
        int
            See :meth:`PruningSchedule.last_round_epoch`.
        """
        return self.schedule.last_round_epoch(max_epochs)

    def scores(self, func: PhoenixODEFunc) -> dict[str, torch.Tensor]:
        """Compute the combined scores Omega of the four layers (no side effects).

        Parameters
        ----------
        func
            The vector field to score.

        Returns
        -------
        dict of str to torch.Tensor
            ``Omega`` per layer (see :func:`combine_scores`), keyed as ``PRUNABLE``.
        """
        data = data_scores(func)
        alive = {n: (self.masks[n] if self.masks is not None else None) for n in PRUNABLE}
        if self.method == "imp":
            return {n: combine_scores(data[n], None, 0.0, alive=alive[n]) for n in PRUNABLE}
        assert self.prior is not None
        w = func.sum_in.weight
        prior = self.prior.to(device=w.device, dtype=w.dtype)
        ppi = self.ppi.to(device=w.device, dtype=w.dtype) if self.ppi is not None else None
        previous = self._previous
        if previous is None:
            g = torch.Generator().manual_seed(_score_seed(self.seed))
            # float32 draws whatever torch's default dtype (which changes the numbers drawn)
            previous = {n: torch.rand(tuple(data[n].shape), generator=g,
                                      dtype=torch.float32).to(w) for n in _INPUT}
        previous = {n: v.to(w) for n, v in previous.items()}  # saved scores: CPU, any dtype
        q = self._coregulation(prior, ppi)
        in_guess = prior_guesses(previous, None, prior, q)
        out: dict[str, torch.Tensor] = {}
        for n in _INPUT:
            out[n] = combine_scores(data[n], in_guess[n], self.lambda_ppi, alive=alive[n],
                                    normalize=self.normalize)
        out_guess = prior_guesses(previous, out, prior, q)
        for n in _OUTPUT:
            out[n] = combine_scores(data[n], out_guess[n], self.lambda_motif, alive=alive[n],
                                    normalize=self.normalize)
        return out

    def _coregulation(self, prior: torch.Tensor, ppi: torch.Tensor | None) -> torch.Tensor:
        """:func:`coregulation` of ``prior`` and ``ppi`` in float64, computed once per fit.

        ``prior`` and ``ppi`` are ``self.prior`` and ``self.ppi`` moved to the model's dtype and
        device; the key holds those and the versions of the tensors, so an in-place change
        of the prior or the PPI recomputes Q.
        """
        # the tensors themselves, not their id(): a prior replaced after the old one was
        # freed often gets its id, and the old Q was returned for it
        key = (prior.dtype, prior.device, self.prior._version,
               None if self.ppi is None else self.ppi._version)
        cached = self._coreg
        if cached is None or cached[0] is not self.prior or cached[1] is not self.ppi \
                or cached[2] != key:
            self._coreg = None  # free the old Q before building the new one
            self._coreg = (self.prior, self.ppi, key,
                           coregulation(prior, ppi).to(torch.float64))
        return self._coreg[3]

    def prune(self, func: PhoenixODEFunc, amount: float,
              optimizer: torch.optim.Optimizer | None = None) -> None:
        """One round: remove ``amount`` of each layer's unpruned weights, attach masks.

        Parameters
        ----------
        func
            The vector field, pruned in place.
        amount
            Fraction of each layer's still-unpruned weights to remove.
        optimizer
            Optimizer after whose steps the masks are re-applied (its state of the pruned
            entries is zeroed too); None when the module is not being trained.
        """
        from core import MaskSet, select_topk

        for name, net in (("prior", self.prior), ("ppi", self.ppi)):
            if net is not None and net.shape[0] != func.n_genes:
                raise ValueError(f"{name} is {net.shape[0]} x {net.shape[1]} but the model has "
                                 f"{func.n_genes} genes")
        omega = self.scores(func)
        keep = {}
        for n in PRUNABLE:
            alive = int(self.masks[n].sum()) if self.masks is not None else omega[n].numel()
            # a fraction < 1 of a tiny layer (1 weight, or 4 at 0.9) rounded to all of it,
            # zeroing the whole network; keep at least one weight of a layer that has any
            keep[n] = max(alive - int(round(amount * alive)), min(alive, 1))
        ranked = {n: torch.where(self.masks[n], omega[n], torch.full_like(omega[n], -1.0))
                  if self.masks is not None else omega[n] for n in PRUNABLE}
        masks = select_topk(ranked, keep=keep, scope="layer", current=self.masks)
        self.masks = MaskSet(dict(masks.masks)).attach(func, optimizer)
        self._previous = {n: omega[n].detach().clone() for n in _INPUT}
        self.rounds += 1

    def step(self, epoch: int, module: nn.Module, optimizer: torch.optim.Optimizer,
             max_epochs: int | None = None) -> bool:
        """Prune at the start of ``epoch`` (of ``max_epochs``) when the schedule says so.

        Parameters
        ----------
        epoch
            1-based epoch about to start.
        module
            The vector field (a :class:`PhoenixODEFunc`).
        optimizer
            Its optimizer (see :meth:`prune`).
        max_epochs
            Length of the fit (no round at its last epoch).

        Returns
        -------
        bool
            Whether a round was run.
        """
        amount = self.schedule.amount(epoch, max_epochs)
        if amount <= 0.0:
            return False
        if self._continued and epoch == self.schedule.first_epoch:
            amount = self.schedule.fraction  # the first cut was made by the earlier fit
        assert isinstance(module, PhoenixODEFunc)
        self.prune(module, amount, optimizer)
        if max_epochs is not None and epoch >= self.schedule.last_round_epoch(max_epochs):
            self._coreg = None  # no round left in this fit: free Q (G x G float64)
        return True

    def finalize_epoch(self, epoch: int, module: nn.Module) -> dict[str, float]:
        """Density of the masked weights (1.0 before the first round).

        Parameters
        ----------
        epoch
            The epoch that ended (unused; part of the pruner protocol of ``fit``).
        module
            The vector field (unused; the masks are the pruner's).

        Returns
        -------
        dict
            ``{"density": fraction kept}``, merged into the epoch's history record.
        """
        return {"density": float(self.masks.density()) if self.masks is not None else 1.0}

    def density(self) -> float:
        """Fraction of the four weight matrices kept.

        Returns
        -------
        float
            1.0 before the first round.
        """
        return float(self.masks.density()) if self.masks is not None else 1.0

    def _settings(self) -> dict[str, Any]:
        sch = self.schedule
        return {"method": self.method, "lambda_ppi": self.lambda_ppi,
                "lambda_motif": self.lambda_motif, "normalize": self.normalize,
                "seed": self.seed, "schedule": [sch.first_epoch, sch.first_fraction,
                                                sch.every, sch.fraction]}

    def state_dict(self) -> dict[str, Any]:
        """Return settings, rounds done and the recursive scores ``S`` (not the masks).

        The masks are buffers of the pruned module and are saved with its weights.

        Returns
        -------
        dict
            ``settings``, ``rounds``, ``continued`` and ``previous`` (CPU tensors or None).
        """
        prev = self._previous
        return {"settings": self._settings(), "rounds": self.rounds,
                "continued": self._continued, "previous": None if prev is None else
                {k: v.detach().cpu() for k, v in prev.items()}}

    def load_state_dict(self, state: dict[str, Any] | None, module: nn.Module) -> None:
        """Restore :meth:`state_dict` output; the masks are read from ``module``.

        Parameters
        ----------
        state
            Output of :meth:`state_dict`.
        module
            The vector field whose attached masks become this pruner's.

        Raises
        ------
        ValueError
            When ``state`` is missing or was saved by a pruner with other settings.
        """
        if not isinstance(state, dict) or "settings" not in state:
            raise ValueError("pruner state: missing (the checkpoint was written without a "
                             "pruner)")
        mine, saved = self._settings(), state["settings"]
        differ = sorted(k for k in mine if mine[k] != saved.get(k))
        if differ:
            detail = ", ".join(f"{k}: saved {saved.get(k)!r}, now {mine[k]!r}" for k in differ)
            raise ValueError(f"pruner state was saved with other settings ({detail})")
        from core import MaskSet

        try:
            self.masks = MaskSet(dict(MaskSet.from_module(module).masks))
        except ValueError:
            self.masks = None
        self.rounds = int(state["rounds"])
        self._continued = bool(state.get("continued", False))
        w = next(module.parameters())
        prev = state["previous"]
        self._previous = None if prev is None else {k: v.to(w) for k, v in prev.items()}
