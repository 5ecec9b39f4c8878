"""Fit the three-force FJ model to debate transcripts (maximum likelihood and Bayesian).

A transcript is an array ``(T + 1, n, K)``: the belief vector over ``K`` options that each
of ``n`` agents reported at round 0 (its innate belief ``s``) and after each of ``T``
rounds - what a multi-agent LLM debate produces when agents state probabilities.  The fits
also take the long table of such a debate, one row per belief, as a pandas DataFrame, or
what :func:`multiagent.read_transcripts` returns of it (a :class:`~multiagent.Transcripts`).

Maximum likelihood (:func:`fit_fj`) follows the fitting protocol of MAS-Cascade
(Abedini, Mavali, Schönherr, Pawelczyk & Burkholz 2026) with ``per_agent=True`` (CLI:
``prunus fj fit --per-agent``): one fit per transcript, one ``gamma_i`` and ``alpha_i``
per agent, one-step teacher-forced prediction ``b(t+1) = gamma s + (1 - gamma)(alpha b(t)
+ (1 - alpha) W b(t))`` from the *observed* ``b(t)``, squared error (the Gaussian
log-likelihood up to constants) or KL divergence, initial ``gamma = 0.2``,
``alpha = 0.5``, uniform trust.  The default (``per_agent=False``) departs from it: it
pools all agents into one shared gamma and alpha, which for agents that differ is none
of theirs (a planted ``alpha`` of 0.1 to 0.6 was fitted at 0.628).  Parameters are
unconstrained logits mapped by a sigmoid (``gamma``, ``alpha``) and a masked softmax over
each agent's neighbours (``W``), and optimised with L-BFGS under torch autograd in
float64.  ``gamma`` is stubbornness (see
:mod:`multiagent.dynamics` for the Lambda convention).

When parameters are not identified - an agent that never moves fits ``gamma = 1`` and
``alpha = 1`` equally well - :func:`fit_fj_bayes` puts Beta priors on ``gamma`` and
``alpha`` and Dirichlet priors on trust rows and returns posterior summaries (pyro SVI).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import reprlib
import warnings
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from core.checks import check_count, check_number, check_seed
from core.frames import is_dataframe
from core.grad_mode import with_grad
from core.progress import bar_disabled
from core.seeding import seeded_globals
from multiagent._backend import (
    as_dense_numpy,
    as_numpy,
    frame_labels,
    refuse_meta,
    square_frame,
)
from multiagent._stacklevel import user_stacklevel
from multiagent.dynamics import FriedkinJohnsen, check_beliefs

__all__ = [
    "FJFit",
    "IsolatedAgentWarning",
    "fit_fj",
    "fit_fj_bayes",
    "fit_sparse_trust",
    "fit_transcripts",
    "simulate_transcript",
    "stubborn_test",
    "transcript_metrics",
]

Loss = Literal["mse", "kl"]
_EPS = 1e-9
# Standard errors from the full (P, P) Fisher information up to this many parameters; above,
# from its per-agent blocks (_standard_errors_blocked): P = n^2 + 2 grows with the agents,
# and three P^3 factorisations took 14 s at 48 agents and minutes at 100.
_DENSE_SE_MAX = 500


#: appended to a refused row's sum: LLMs report rounded probabilities, or percentages
_ROUNDED_HINT = (" (rounded probabilities? pass normalize=True to read_transcripts / "
                 "--normalize; percentages? divide by 100)")


def _check_transcript(transcript: Any, agents: Sequence[Any] | None = None,
                      question: Any = None) -> np.ndarray:
    """Return the transcript as a checked float64 ``(T + 1, n, K)`` array.

    ``agents``, ``question``: the names a long table gave them, said in messages about a
    row (``transcript[t][i] (question 'q', round t, agent 'name')``) instead of an index.

    Rows are checked at the precision they were given in (float16 and bfloat16 round each
    belief by up to 5e-4 and 4e-3, relative; see :func:`~multiagent.dynamics.check_beliefs`),
    so pass the transcript itself, not this widened copy, to a function that checks it
    again.
    """
    refuse_meta(transcript, "transcript")  # as_numpy: "Cannot copy out of meta tensor"
    # as_numpy, not np.asarray, which failed on a tensor that needs grad or lives on a GPU
    # (the rollout of a torch model used as a transcript)
    X = as_numpy(transcript).astype(np.float64)
    if X.ndim != 3:
        raise ValueError(
            f"transcript must have shape (rounds + 1, n_agents, K), got shape {X.shape}"
        )
    # torch.stack failed inside the fit ("stack expects a non-empty TensorList"), where
    # FriedkinJohnsen says "W is empty (0, 0): expected at least one agent"
    for axis, what in ((1, "agent"), (2, "option")):
        if X.shape[axis] == 0:
            raise ValueError(f"transcript has 0 {what}s (shape {X.shape}): expected at least "
                             f"one {what}")
    if X.shape[0] < 2:
        raise ValueError("transcript needs at least two rounds (initial + one update)")
    source = getattr(transcript, "dtype", None)
    for t in range(X.shape[0]):
        try:
            check_beliefs(X[t], X.shape[1], f"transcript[{t}]", simplex=X.shape[2] >= 2,
                          source_dtype=source)
        except ValueError as exc:
            raise ValueError(_named_row(str(exc), agents, question)) from exc
    return X


def _named_row(message: str, agents: Sequence[Any] | None, question: Any) -> str:
    """Name the agent (and question) of a refused row where known, with a hint.

    ``transcript[t][i] (agent i)`` becomes ``(question 'q', round t, agent 'name')``; a
    row that does not sum to 1 gains the hint at normalising rounded probabilities.
    """
    if " sums to " in message:
        message += _ROUNDED_HINT
    found = re.match(r"transcript\[(\d+)\]\[(\d+)\] \(agent (\d+)\)", message)
    if found is None or (agents is None and question is None):
        return message
    t, i = int(found[1]), int(found[2])
    who = repr(agents[i]) if agents is not None else str(i)
    where = "" if question is None else f"question {question!r}, "
    return (f"transcript[{t}][{i}] ({where}round {t}, agent {who})"
            f"{message[found.end():]}")


class IsolatedAgentWarning(UserWarning):
    """An agent hears no one in the adjacency given to a fit: it listens only to itself.

    As in :class:`~multiagent.dynamics.FriedkinJohnsen` (and the simulations), a zero row
    of the adjacency (or one with a self-loop only) is the agent's trust in itself alone,
    ``W_ii = 1``: ``b_i(t + 1) = gamma_i s_i + (1 - gamma_i) b_i(t)``, which from
    ``b_i(0) = s_i`` stays at ``s_i`` whatever ``gamma_i`` and ``alpha_i`` are.  The
    transcript determines neither (only report noise would move them), so its
    transitions are left out of the fits, and its ``gamma`` and ``alpha`` out of the means
    over agents (see :func:`fit_fj`).  The fits go on; filter this class to silence them.
    """


# set while a caller that has already warned about isolated agents fits again (the rounds
# of fit_sparse_trust, the questions of fit_transcripts and prunus fj fit): one warning
# per call, not per fit, without touching the process's warning filters (threads)
_ISOLATED_SAID: ContextVar[bool] = ContextVar("_ISOLATED_SAID", default=False)


@contextlib.contextmanager
def _isolated_said() -> Iterator[None]:
    """Fit without warning about isolated agents again (the caller has said it)."""
    token = _ISOLATED_SAID.set(True)
    try:
        yield
    finally:
        _ISOLATED_SAID.reset(token)


def _mask(adjacency: Any | None, n: int, names: list[str] | None = None) -> np.ndarray:
    """Who each agent hears: ``(n, n)`` booleans, no diagonal but for isolated agents.

    An agent that hears no one (a zero row) gets its own diagonal entry: it listens to
    itself, trust 1, as :class:`~multiagent.dynamics.FriedkinJohnsen` reads such a row
    (:class:`IsolatedAgentWarning`, naming it by ``names`` or the adjacency's labels, at
    the line of the user's code that called the package).
    """
    if adjacency is None:
        mask = np.ones((n, n), bool)
    else:
        # also a scipy or torch sparse adjacency; a DataFrame is read by label
        mask = as_dense_numpy(square_frame(adjacency, "adjacency")) > 0
        if mask.shape != (n, n):
            raise ValueError(f"adjacency must be ({n}, {n}), got {mask.shape}")
    mask = mask.copy()
    np.fill_diagonal(mask, False)
    deaf = np.flatnonzero(~mask.any(axis=1))
    if deaf.size:
        # "agent 3 has no neighbour in adjacency; nothing to fit" refused what the model
        # and the simulations accept: it hears itself (W_ii = 1), and the others are fitted
        mask[deaf, deaf] = True
        if not _ISOLATED_SAID.get():
            names = _agent_names(adjacency) if names is None else names
            who = [int(i) if names is None else names[i] for i in deaf]
            # the user's line through any public function (a fixed stacklevel named
            # fit.py's call of fit_fj when fit_transcripts called it)
            warnings.warn(_isolated_message(who, "adjacency"), IsolatedAgentWarning,
                          stacklevel=user_stacklevel())
    return mask


def _hears_someone(mask: np.ndarray) -> np.ndarray:
    """``(n,)`` booleans: whether each agent hears another (not isolated) in ``_mask``."""
    return (mask & ~np.eye(mask.shape[0], dtype=bool)).any(axis=1)


def _isolated_message(who: list[Any], where: str) -> str:
    """Say that the agents ``who`` hear no one in ``where``, and what the fit does."""
    one = len(who) == 1
    shown = repr(who[0]) if one else reprlib.repr(who)
    its = "its" if one else "their"
    return (f"agent{'' if one else 's'} {shown} hear{'s' if one else ''} no one in {where} "
            f"(a row of zeros): as in FriedkinJohnsen {'it listens' if one else 'they listen'}"
            f" only to {'itself' if one else 'themselves'} (trust 1) and keep"
            f"{'s' if one else ''} {its} innate belief whatever {its} gamma and alpha, so "
            f"neither {its} gamma nor {its} alpha is identified by the transcript: the fits "
            f"leave {its} transitions out, and a per-agent fit_fj leaves {its} gamma and alpha "
            "at init_gamma and init_alpha (standard errors inf)")


def _is_transcripts(value: Any) -> bool:
    """Whether ``value`` is what :func:`multiagent.read_transcripts` returns."""
    from multiagent.transcripts import Transcripts

    return isinstance(value, Transcripts)


def _read_in_order(read: Any, agents: list[str] | None, given: str = "adjacency"
                   ) -> tuple[np.ndarray, list[Any], list[str] | None]:
    """Return a :class:`~multiagent.Transcripts`' beliefs, questions and agents' names.

    As its long table is read with ``agents`` (a labelled adjacency's or a fit's names,
    which messages call ``given``'s): the agents matched to them as text (agents numbered
    ``0..n-1`` to ``"0".."n-1"``) and put in their order; without ``agents`` as read.
    """
    X = np.asarray(read.beliefs)
    if X.ndim != 4:
        raise ValueError(f"transcripts: expected Transcripts.beliefs of shape (questions, "
                         f"rounds + 1, agents, options), got shape {X.shape}")
    names = None if read.agents is None else [str(a) for a in read.agents]
    if agents is None:
        return X, list(read.questions), names
    have = names if names is not None else [str(i) for i in range(X.shape[2])]
    at = {name: i for i, name in enumerate(have)}
    if len(have) != len(agents) or set(at) != set(agents):
        raise ValueError(f"transcripts: the Transcripts' agents {reprlib.repr(have)} are not "
                         f"the agents of {given} {reprlib.repr(list(agents))}: expected the "
                         "same names (compared as text), in any order")
    # a C-ordered copy, as the reader builds it (a strided one fits differently in the
    # last bits)
    X = np.ascontiguousarray(X[:, :, [at[a] for a in agents]])
    return X, list(read.questions), list(agents)


def _transcript_of(transcript: Any, agents: list[str] | None, given: str = "adjacency",
                   question: list[Any] | None = None) -> tuple[Any, list[str] | None]:
    """Return a long-table DataFrame's or a Transcripts' one transcript and agents' names.

    Read as :func:`multiagent.read_transcripts` reads it, in the order of ``agents`` when
    given (a labelled adjacency's, a fit's: messages name them as ``given``'s); anything
    else is returned as it is, with no names.  ``question``: a list to which the
    question's label is appended when the table has a question column (a
    :class:`~multiagent.Transcripts` always has its questions' labels).
    """
    if _is_transcripts(transcript):
        # "float() argument must be a string or a real number, not 'Transcripts'"
        X, questions, names = _read_in_order(transcript, agents, given)
        if len(questions) != 1:
            raise ValueError(
                f"transcript holds {len(questions)} questions ({reprlib.repr(questions)}): "
                "give one question's beliefs (transcripts.beliefs[q]), or fit every "
                "question with fit_transcripts(transcripts)")
        if question is not None:
            question.append(questions[0])
        return X[0], names
    if not is_dataframe(transcript):
        return transcript, None
    from multiagent.transcripts import _read_frame

    read = _read_frame(transcript, agents, given)
    if len(read.questions) != 1:
        raise ValueError(
            f"transcript holds {len(read.questions)} questions "
            f"({reprlib.repr(read.questions)}): give the rows of one question "
            "(frame[frame['question'] == q]), or fit every question with fit_transcripts")
    if question is not None and ("question" in transcript.columns
                                 or "question" in transcript.index.names):
        question.append(read.questions[0])
    return read.beliefs[0], read.agents


def transcript_metrics(observed: Any, predicted: Any) -> dict[str, float]:
    """MSE, RMSE, MAE, R^2 (global and filtered) and mean KL between belief arrays.

    Parameters
    ----------
    observed, predicted
        Arrays of the same shape ``(..., K)``.

    Returns
    -------
    dict
        ``mse``, ``rmse``, ``mae``, ``r2`` (1 - SSE/SST over all entries),
        ``r2_filtered`` (as in MAS-Cascade: the mean of the R^2 of each (agent, option)
        series over time, over the series whose sum of squares about their mean exceeds
        1e-6), ``kl`` (mean KL(observed || predicted) per belief vector, nats; clipped
        at 0, where round-off on beliefs that agree gave -1e-17; NaN for scalar
        opinions, K = 1, which are no distributions).
    """
    y = as_numpy(observed).astype(np.float64)  # tensors too, as in _check_transcript
    p = as_numpy(predicted).astype(np.float64)
    if y.shape != p.shape:
        raise ValueError(f"observed {y.shape} and predicted {p.shape} differ in shape")
    err = y - p
    mse = float(np.mean(err**2))
    sst = float(np.sum((y - y.mean()) ** 2))
    r2 = 1 - float(np.sum(err**2)) / sst if sst > 0 else float("nan")
    if y.ndim >= 2:
        flat_y = y.reshape(y.shape[0], -1)
        flat_p = p.reshape(p.shape[0], -1)
        # MAS-Cascade (cascade/analysis/fit_fj_complete_full.py): the mean of one R^2 per
        # (agent, option) series, over the series whose sum of squares about their own mean
        # exceeds 1e-6 (a pooled R^2 over series with variance > 1e-6 differed from theirs)
        sst_series = np.sum((flat_y - flat_y.mean(axis=0)) ** 2, axis=0)
        keep = sst_series > 1e-6
        if keep.any():
            sse_series = np.sum((flat_y - flat_p) ** 2, axis=0)
            r2f = float(np.mean(1 - sse_series[keep] / sst_series[keep]))
        else:
            r2f = float("nan")
    else:
        r2f = r2
    if y.shape[-1] < 2:
        # scalar scores are no distributions (loss='kl' refuses them): their "KL" was a
        # number all the same, which fit_transcripts reported (the CLI left it empty)
        kl = float("nan")
    else:
        yc, pc = np.clip(y, _EPS, None), np.clip(p, _EPS, None)
        kl = float(np.mean(np.sum(yc * (np.log(yc) - np.log(pc)), axis=-1)))
        kl = max(kl, 0.0)  # KL >= 0: round-off on equal beliefs gave -1e-17 in fits.csv
    return {"mse": mse, "rmse": mse**0.5, "mae": float(np.mean(np.abs(err))), "r2": r2,
            "r2_filtered": r2f, "kl": kl}


@dataclass(repr=False)
class FJFit:
    """Fitted FJ parameters for one transcript.

    Attributes
    ----------
    gamma, alpha
        ``(n,)`` stubbornness and peer-resistance (an agent that hears no one has a
        ``gamma`` and ``alpha`` the transcript does not determine: see :func:`fit_fj`'s
        ``adjacency``).
    W
        ``(n, n)`` row-stochastic trust (zero diagonal, but for an agent that hears no
        one: it trusts itself, ``W_ii = 1``, as in :class:`FriedkinJohnsen`).
    loss
        Final training loss (over the transitions of the agents that hear someone, see
        :func:`fit_fj`'s ``adjacency``).
    train_rounds
        Rounds ``0..train_rounds`` used for fitting.
    history
        Loss after each optimiser step.
    gamma_se, alpha_se
        Asymptotic standard errors of ``gamma`` and ``alpha`` (Gauss-Newton / Fisher
        information of the squared-error fit, noise variance from the residuals);
        ``None`` for ``loss="kl"``.  A large ``alpha_se`` flags a transcript in which
        peer-resistance is weakly identified; ``inf`` marks a value the transcript does not
        determine at all (e.g. both of an agent that never moves) and an estimate pinned
        on a bound (``gamma`` ~ 1e-10 on a DeGroot debate); all are inf, with a
        ``UserWarning`` that gives the numbers, when the fit has no residual degrees of
        freedom (no more residual values than parameters, e.g. a per-agent fit of one
        opinion over 3 waves: 2 transitions for 2 parameters per agent), where the noise
        cannot be estimated (they were 0, intervals of zero width).  Symmetric: near 0 or 1 use
        :meth:`interval` (logit scale, inside [0, 1]); the calibration measured is in
        :func:`fit_fj`'s Notes.  A value on the boundary itself (a fully stubborn agent,
        ``gamma = 1``) is not covered: test it with :func:`stubborn_test`.
    converged
        Whether the optimiser stopped by :func:`fit_fj`'s ``tol`` (or L-BFGS's own
        tolerances) rather than at ``max_steps``; ``None`` for a fit made by hand or read
        from a file written before this field.  ``False`` means the loss was still
        falling: refit with a larger ``max_steps`` (see :func:`fit_fj`'s Notes).
    agents
        The agents' names (as text) in the order of ``gamma``, ``alpha`` and the rows and
        columns of ``W``: the index of a DataFrame ``adjacency`` given to :func:`fit_fj`,
        or the names ``prunus fj fit`` read; ``None`` for a fit without names (a matrix
        adjacency, or a file written before this field).  Kept by :meth:`save` and
        :meth:`load`; the arrays stay unlabelled numpy arrays, and :meth:`model` reads
        beliefs and parameters given as pandas Series by these names.
    """

    gamma: np.ndarray
    alpha: np.ndarray
    W: np.ndarray
    loss: float
    train_rounds: int
    history: list[float] = field(default_factory=list)
    gamma_se: np.ndarray | None = None
    alpha_se: np.ndarray | None = None
    converged: bool | None = None
    agents: list[str] | None = None

    def __repr__(self) -> str:
        # the dataclass repr printed gamma, alpha, W and the loss history (18,179 characters
        # for 30 agents); the forces (their means when per agent), the loss and the shapes
        def values(x: Any) -> np.ndarray | None:
            return (x.astype(np.float64, copy=False).ravel() if isinstance(x, np.ndarray)
                    and x.size and x.dtype.kind in "biuf" else None)

        g, a = values(self.gamma), values(self.alpha)
        if g is None or a is None:
            forces = "gamma, alpha not arrays"
        elif g.size > 1 and (g == g[0]).all() and (a == a[0]).all():
            forces = f"shared gamma={g[0]:.3g}, alpha={a[0]:.3g}"
        elif g.size > 1:
            forces = f"per agent, mean gamma={g.mean():.3g}, alpha={a.mean():.3g}"
        else:
            forces = f"gamma={g[0]:.3g}, alpha={a[0]:.3g}"
        n = g.size if g is not None else "?"
        loss = (f"loss {float(self.loss):.4g}" if isinstance(self.loss, float | int | np.number)
                else f"loss {self.loss!r}")
        W = self.W
        shape = (f"W {W.shape} {W.dtype}" if isinstance(W, np.ndarray)
                 else f"W {type(W).__name__}")
        k = len(self.history) if isinstance(self.history, list | np.ndarray) else "?"
        steps = f"{k} optimiser step{'s' * (k != 1)}"
        gs, as_ = values(self.gamma_se), values(self.alpha_se)
        if gs is None or as_ is None:
            se = "no standard errors"
        elif gs.size == 1 and as_.size == 1:
            se = f"standard errors gamma {gs[0]:.3g}, alpha {as_[0]:.3g}"
        else:
            se = f"largest standard errors gamma {gs.max():.3g}, alpha {as_.max():.3g}"
        # the first names only: a fit of 100 named agents stays a two-line repr
        names = "" if self.agents is None else f" {_NAMES_REPR.repr(list(self.agents))}"
        return (f"FJFit of {n} agents{names}, {forces}; {loss} on rounds "
                f"0..{self.train_rounds}\n    {shape}, {steps}, {se}")

    def model(self) -> FriedkinJohnsen:
        """Return the fitted :class:`~multiagent.dynamics.FriedkinJohnsen` model.

        Returns
        -------
        FriedkinJohnsen
            A numpy model with the fitted ``W``, ``gamma`` and ``alpha``.  With
            :attr:`agents` set, its agents carry those names, as a model built from a
            labelled DataFrame does: a pandas Series / DataFrame of beliefs indexed by
            them is read by name (it was read by position, each agent given another's
            beliefs), and one indexed by other names is refused.

        Raises
        ------
        ValueError
            If :attr:`agents` is set but is not one distinct name per agent of ``W``.
        """
        model = self._unnamed_model()
        if self.agents is not None:
            # the labels FriedkinJohnsen.from_adjacency gives a model of a DataFrame; names
            # are text, and the model compares labels as text
            model._labels = list(_checked_agents(self.agents, model.n))
        return model

    def _unnamed_model(self) -> FriedkinJohnsen:
        """Return the fitted model without the agents' names (arrays in the fit's order)."""
        return FriedkinJohnsen(self.W, self.gamma, self.alpha, normalise=True)

    def predict(
        self,
        transcript: Any,
        *,
        start: int | None = None,
        incremental: bool = False,
        steps: int = 50,
        lr: float = 0.01,
    ) -> np.ndarray:
        """Predict the rounds after ``start`` of ``transcript``: roll out, or incrementally.

        Anchors are the transcript's round 0; ``start`` defaults to ``train_rounds``.

        - Roll-out (default, MAS-Cascade's fixed-parameter prediction): the fitted model
          runs from the observed round ``start``, each prediction fed back as the next
          round's beliefs; later rounds are never looked at.
        - ``incremental=True`` (MAS-Cascade's "incremental" variant, for debates whose
          dynamics drift): round ``r + 1`` is predicted one step ahead from the *observed*
          round ``r``; then round ``r + 1`` is observed and the parameters take ``steps``
          gradient steps of size ``lr`` on the squared error of that newest transition,
          from where they were, before round ``r + 2`` is predicted. As in MAS-Cascade
          the steps move ``gamma`` and ``alpha`` themselves (per agent, projected back
          onto [0, 1]) and the trust logits ``log W`` (softmax over each agent's speakers,
          the support of ``W`` kept), on the newest transition only; MAS-Cascade takes
          finite-difference gradients, here they are torch autograd's (exact). The fit
          itself is not changed. With ``steps=0`` this is the fitted model's one-step
          prediction from each observed round; on a transcript the model fits exactly, it
          equals the roll-out.

        Parameters
        ----------
        transcript
            ``(T + 1, n, K)`` beliefs per round and agent (round 0 gives the anchors), or
            one question's long table (a DataFrame, or a
            :class:`~multiagent.Transcripts` of one question, as :func:`fit_fj` reads
            them; named agents in the order of :attr:`agents` when the fit has them).
        start
            Round to start from; default ``train_rounds`` (the first held-out prediction
            is of round ``start + 1``).
        incremental
            Predict one round ahead from the observed rounds, updating the parameters
            after each (see above).
        steps, lr
            Gradient steps after each observed round and their size (MAS-Cascade: 50 at
            0.01); used only when ``incremental``.

        Returns
        -------
        numpy.ndarray
            ``(T + 1 - start, n, K)`` predicted beliefs for rounds ``start..T`` (entry 0
            is the observed round ``start``).

        Examples
        --------
        >>> X = simulate_transcript(5, 10, 3, gamma=0.3, alpha=0.4, noise=0.01, seed=0)
        >>> fit = fit_fj(X, train_rounds=7)
        >>> fit.predict(X, incremental=True).shape  # rounds 7..10
        (4, 5, 3)
        """
        transcript, _ = _transcript_of(transcript, self.agents, "FJFit.agents")
        X = _check_transcript(transcript)
        start = self.train_rounds if start is None else check_count("start", start, at_least=0)
        if not 0 <= start < X.shape[0]:
            raise ValueError(f"start must be in [0, {X.shape[0] - 1}], got {start}")
        if not isinstance(incremental, bool | np.bool_):
            raise TypeError(f"incremental must be True or False, got {incremental!r}")
        steps = check_count("steps", steps, at_least=0)
        lr = check_number("lr", lr, at_least=0)
        if incremental:
            return _incremental_predictions(X, start, self.gamma, self.alpha, self.W,
                                            steps=steps, lr=lr)
        # checked above at the transcript's own precision: a float16 one, widened, would
        # fail the model's float64 check
        return self._unnamed_model().rollout(X[0], X.shape[0] - 1 - start, B0=X[start],
                                             check=False)

    def score(
        self,
        transcript: Any,
        *,
        start: int | None = None,
        incremental: bool = False,
        steps: int = 50,
        lr: float = 0.01,
    ) -> dict[str, float]:
        """Metrics of :meth:`predict` on the rounds after ``start`` (held out by default).

        Parameters
        ----------
        transcript
            ``(T + 1, n, K)`` beliefs per round and agent (round 0 gives the anchors), or
            one question's long table (a DataFrame or a Transcripts), as in
            :meth:`predict`.
        start
            Round to start from; default ``train_rounds`` (the first held-out prediction
            is of round ``start + 1``).
        incremental
            Score the incremental prediction instead of the roll-out (see :meth:`predict`).
        steps, lr
            Its gradient steps per observed round and their size.

        Returns
        -------
        dict of str to float
            ``mse``, ``rmse``, ``mae``, ``r2``, ``r2_filtered`` and ``kl`` over rounds
            ``start + 1..T`` (see :func:`transcript_metrics`).
        """
        transcript, _ = _transcript_of(transcript, self.agents, "FJFit.agents")
        X = _check_transcript(transcript)
        start = self.train_rounds if start is None else check_count("start", start, at_least=0)
        last = X.shape[0] - 1
        if start >= last:
            # a fit of every round (the default) left the bare "no rounds after start to
            # score", though prunus fj fit and fit_transcripts score such a fit in-sample;
            # that hint only where this transcript ends at train_rounds (a shorter one,
            # fit_fj(X) then score(X[:3]), was told the fit used every round)
            if start == self.train_rounds == last:
                held = ("the fit used every round of it (train_rounds = "
                        f"{self.train_rounds}): pass start=0 to score it in-sample, as prunus "
                        "fj fit and fit_transcripts do, or fit with train_rounds below the "
                        "last round to hold rounds out")
            elif start > last:
                given = (f"start (by default train_rounds = {start})"
                         if start == self.train_rounds else "start")
                held = (f"{given} exceeds the transcript's last round: pass start below "
                        f"{last}")
            else:
                held = "pass a smaller start"
            raise ValueError(f"no rounds after start to score: start={start} and the "
                             f"transcript's last round is {last}; {held}")
        # the transcript as given: X, widened, would fail predict's check at float64
        pred = self.predict(transcript, start=start, incremental=incremental, steps=steps,
                            lr=lr)
        return transcript_metrics(X[start + 1 :], pred[1:])

    def interval(
        self, name: Literal["gamma", "alpha"], *, level: float = 0.95
    ) -> tuple[np.ndarray, np.ndarray]:
        """Asymptotic confidence interval of ``gamma`` or ``alpha``, inside [0, 1].

        The standard errors are delta-method values on the [0, 1] scale, and
        ``estimate +/- 1.96 se`` is symmetric: near a bound it reaches below 0 or above 1
        (``gamma = 0.0014 +/- 0.0049`` on a DeGroot debate).  This interval is
        ``estimate +/- z se`` on the logit scale, where the fit optimises, mapped back:
        the same as the symmetric one when ``se`` is small next to the distance to the
        bounds, asymmetric and inside (0, 1) near them.  An infinite ``se`` (a value the
        transcript does not determine, or an estimate on a bound) gives [0, 1].  Near a
        bound neither is exact: 95 % intervals of ``gamma`` on 150 debates each (6 agents,
        known uniform trust, noise 0.01; se ~ 0.004) covered the truth 0.01 in 96 % (the
        symmetric one 97 %) and the truth 0.003 in 91 % (the symmetric one, which reaches
        below 0, 99 %).

        On the boundary itself neither covers: the logit interval never contains 0 or 1,
        and an estimate there is not asymptotically normal.  A planted fully stubborn
        agent (``gamma = 1``; 5 agents, 8 rounds, K = 3, noise 0.005, per-agent fit) was
        fitted at 0.954 with the interval [0.893, 0.981], and in 10 of 12 such transcripts
        the interval excluded 1 (the other 2 were [0, 1], an infinite ``se``).  Whether an
        agent may be fully stubborn is a test of ``gamma_i = 1``: :func:`stubborn_test`.

        Parameters
        ----------
        name
            ``"gamma"`` or ``"alpha"``.
        level
            Coverage, in (0, 1).

        Returns
        -------
        tuple of numpy.ndarray
            ``(low, high)``, each of the shape of the standard errors (``(1,)`` for a
            shared fit, ``(n,)`` per agent).

        Examples
        --------
        >>> X = simulate_transcript(6, 10, 5, gamma=0.3, alpha=0.4, noise=0.01, seed=0)
        >>> low, high = fit_fj(X).interval("gamma")
        >>> bool(low[0] < 0.3 < high[0])
        True
        """
        from scipy.special import expit, logit
        from scipy.stats import norm

        if name not in ("gamma", "alpha"):
            raise ValueError(f"name must be 'gamma' or 'alpha', got {name!r}")
        level = check_number("level", level, above=0, at_most=1)
        if level == 1:
            raise ValueError("level must be below 1 (a 100 % interval is [0, 1])")
        se = self.gamma_se if name == "gamma" else self.alpha_se
        if se is None:
            raise ValueError("this fit has no standard errors (loss='kl'): fit with "
                             "loss='mse' for intervals")
        se = np.asarray(se, dtype=np.float64)
        est = np.asarray(self.gamma if name == "gamma" else self.alpha, dtype=np.float64)
        est = est[: se.size]  # a shared fit repeats its value per agent, with one se
        p = np.clip(est, 1e-12, 1 - 1e-12)
        half = norm.ppf(0.5 + level / 2) * se / (p * (1 - p))  # logit-scale half-width
        low, high = expit(logit(p) - half), expit(logit(p) + half)
        wide = ~np.isfinite(se)
        low[wide], high[wide] = 0.0, 1.0
        return low, high

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fit as JSON (atomically).

        An infinite standard error is written as ``null`` (standard JSON has no inf) and
        read back as inf by :meth:`load`.  ``agents`` is written only when set (a fit
        without names writes the file it wrote before that field).  ``environment`` records
        what it was saved with (:func:`core.environment`: the versions of Python, prunus
        and its numerical libraries, torch's threads), as the project's other saved files
        do; :meth:`load` ignores it, and reads files written before it.

        Parameters
        ----------
        path
            File to write (replaced whole or not at all).

        Returns
        -------
        pathlib.Path
            The path written.

        Raises
        ------
        ValueError
            If ``agents`` is set but is not one distinct name per agent of ``W`` (such a
            file could not be read back).
        """
        from core.atomic import write_json
        from core.provenance import environment

        se = {k: v.tolist() for k, v in (("gamma_se", self.gamma_se),
                                          ("alpha_se", self.alpha_se)) if v is not None}
        # only when set: a fit without names writes the bytes it wrote before the field
        names = ({} if self.agents is None else
                 {"agents": _checked_agents(self.agents, np.shape(self.W)[0])})
        return write_json(
            {"format": _FORMAT, "gamma": self.gamma.tolist(), "alpha": self.alpha.tolist(),
             "W": self.W.tolist(),
             "loss": self.loss, "train_rounds": self.train_rounds, "history": self.history,
             "converged": self.converged, **se, **names,
             # the versions and threads it was computed with, as every other prunus file
             # records them (absent from older files; load ignores it)
             "environment": environment()},
            path,
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FJFit:
        """Read a fit written by :meth:`save`.

        Parameters
        ----------
        path
            A JSON file written by :meth:`save`.

        Returns
        -------
        FJFit
            The fit, standard errors and agents' names included when saved (``agents``
            None for a file without them).

        Raises
        ------
        ValueError
            If ``path`` is not a fit written by :meth:`save` (the message names it).
        """
        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
            # files from before the tag have none; another prunus file has another tag
            if d.get("format", _FORMAT) != _FORMAT:
                raise ValueError(f"its format is {d['format']!r}, not {_FORMAT!r}")
            # save wrote inf (a value the transcript does not determine) as null
            se = {k: np.array([np.inf if v is None else v for v in d[k]], dtype=np.float64)
                  for k in ("gamma_se", "alpha_se") if k in d}
            def num(v: Any) -> float:  # save writes NaN and inf (a diverged fit) as null
                return float("nan") if v is None else float(v)

            fit = cls(np.asarray(d["gamma"], dtype=np.float64),
                      np.asarray(d["alpha"], dtype=np.float64),
                      np.asarray(d["W"], dtype=np.float64), num(d["loss"]),
                      int(d["train_rounds"]), [num(v) for v in d.get("history", [])], **se,
                      converged=None if d.get("converged") is None else bool(d["converged"]))
            # a wrong length failed only later, in model(), without naming the file
            if fit.W.ndim != 2 or fit.W.shape[0] != fit.W.shape[1] or fit.W.shape[0] == 0:
                raise ValueError(f"W has shape {fit.W.shape}, expected (n, n)")
            n = fit.W.shape[0]
            for k, v in (("gamma", fit.gamma), ("alpha", fit.alpha)):
                if v.shape != (n,):
                    raise ValueError(f"{k} has shape {v.shape}, expected ({n},) for the "
                                     f"{n} agents of W")
            for k, v in se.items():  # one standard error for all in a shared fit
                if v.shape not in ((1,), (n,)):
                    raise ValueError(f"{k} has shape {v.shape}, expected (1,) or ({n},)")
            if d.get("agents") is not None:  # files written before the field have none
                fit.agents = _checked_agents(d["agents"], n)
            return fit
        except (AttributeError, KeyError, TypeError, ValueError) as exc:  # JSON errors: ValueError
            raise ValueError(f"{str(path)!r} is not an FJ fit written by FJFit.save: "
                             f"{type(exc).__name__}: {exc}") from exc


_FORMAT = "prunus.fj.fit/1"
_NAMES_REPR = reprlib.Repr()
_NAMES_REPR.maxlist, _NAMES_REPR.maxstring = 4, 20


def _checked_agents(agents: Any, n: int) -> list[str]:
    """Return ``agents`` as a list of ``n`` distinct names, or raise ``ValueError``."""
    if not isinstance(agents, list | tuple | np.ndarray) or not all(isinstance(a, str)
                                                                    for a in agents):
        raise ValueError(f"agents must be a list of names (text), got {reprlib.repr(agents)}")
    agents = [str(a) for a in agents]  # np.str_ too, as plain text
    if len(agents) != n:
        raise ValueError(f"agents holds {len(agents)} names, expected {n} for the {n} agents "
                         "of W")
    if len(set(agents)) != n:
        raise ValueError(f"agents names an agent twice: {reprlib.repr(agents)}")
    return agents


def _agent_names(adjacency: Any) -> list[str] | None:
    """Return a DataFrame adjacency's agents as text in its index order, else None."""
    labels = frame_labels(adjacency)
    return None if labels is None else [str(a) for a in labels]


@with_grad  # also inside the caller's torch.no_grad() or inference_mode()
def _incremental_predictions(
    X: np.ndarray, start: int, gamma: np.ndarray, alpha: np.ndarray, W: np.ndarray, *,
    steps: int, lr: float,
) -> np.ndarray:
    """One-step predictions of rounds ``start + 1..T``, updating after each (FJFit.predict).

    Predictions come from a :class:`FriedkinJohnsen` of the current parameters, so that
    with no update (``steps=0`` or ``lr=0``) they are the fitted model's bit for bit.
    """
    n = X.shape[1]
    W = np.asarray(W, dtype=np.float64)
    support = W > 0
    if not support.any(axis=1).all():  # log W would be -inf on a whole row
        raise ValueError(f"agent {int(np.argmin(support.any(axis=1)))} trusts no speaker "
                         "(a zero row of W); incremental prediction needs one per agent")
    mask = torch.as_tensor(support)
    g = torch.tensor(np.broadcast_to(gamma, (n,)), dtype=torch.float64, requires_grad=True)
    a = torch.tensor(np.broadcast_to(alpha, (n,)), dtype=torch.float64, requires_grad=True)
    # logits whose masked softmax is W: the support stays W's, as the fit's mask kept it
    wl = torch.tensor(np.log(np.where(support, W, 1.0)), requires_grad=True)
    data = torch.as_tensor(X)
    S = data[0]

    def one_step(B: torch.Tensor) -> torch.Tensor:
        Wt = torch.softmax(wl.masked_fill(~mask, float("-inf")), dim=1)
        g2, a2 = g[:, None], a[:, None]
        return g2 * S + (1 - g2) * (a2 * B + (1 - a2) * (Wt @ B))

    model = FriedkinJohnsen(W, gamma, alpha, normalise=True)
    out = [X[start]]
    T = X.shape[0] - 1
    for r in range(start, T):
        out.append(np.asarray(model.step(X[r], X[0])))
        if r + 1 == T or steps == 0 or lr == 0:
            continue  # nothing left to predict, or nothing to change
        for _ in range(steps):  # plain gradient descent, as MAS-Cascade's update
            loss = ((one_step(data[r]) - data[r + 1]) ** 2).mean()
            dg, da, dw = torch.autograd.grad(loss, (g, a, wl))
            with torch.no_grad():
                g.sub_(lr * dg).clamp_(0, 1)  # projected back onto [0, 1]
                a.sub_(lr * da).clamp_(0, 1)
                wl.sub_(lr * dw)
        with torch.no_grad():
            W_now = torch.softmax(wl.masked_fill(~mask, float("-inf")), dim=1)
            model = FriedkinJohnsen(W_now.numpy().copy(), g.numpy().copy(), a.numpy().copy(),
                                    normalise=True)
    return np.stack(out)


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return float(np.log(p / (1 - p)))


def _simplex_least_squares(A: np.ndarray, y: np.ndarray, *, max_iter: int | None = None
                           ) -> np.ndarray:
    """``argmin ||A b - y||^2`` over the probability simplex ``b >= 0, sum(b) = 1``.

    A primal active-set method (Lawson-Hanson, with the equality constraint): on the
    current support ``F`` the equality-constrained least squares is solved exactly by
    eliminating one coordinate (``lstsq`` on ``A``, not on the squared-conditioned Gram
    matrix); a coordinate whose solution is not positive is stepped back to the boundary
    and dropped; the coordinate that most violates the KKT conditions (gradient below the
    common gradient ``lam`` of the support) is added, until none does.  Each added
    coordinate strictly lowers the convex objective, so it ends in finitely many steps
    at the global optimum (``max_iter`` guards against cycling by round-off; the last
    feasible iterate is returned then).  Rank-deficient ``A`` (collinear regressors, an
    agent that never moves) gives one of the optima.

    Parameters
    ----------
    A
        ``(m, p)`` regressors.
    y
        ``(m,)`` response.
    max_iter
        Support changes allowed (default ``10 p + 10``).

    Returns
    -------
    numpy.ndarray
        ``(p,)`` non-negative weights summing to 1.
    """
    A = np.asarray(A, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    p = A.shape[1]
    max_iter = 10 * p + 10 if max_iter is None else max_iter
    # KKT slack below this counts as zero: round-off in A^T (A b - y), bounded by scale
    scale = float(np.abs(A).sum(axis=0).max()) * float(np.abs(A).max() + np.abs(y).max())
    tol = 1e-12 * max(scale, 1e-300)

    def solve(F: list[int]) -> np.ndarray:
        # b_F[0] = 1 - sum(z), the others z: an unconstrained least squares in z
        if len(F) == 1:
            return np.ones(1)
        D = A[:, F[1:]] - A[:, F[:1]]
        z = np.linalg.lstsq(D, y - A[:, F[0]], rcond=None)[0]
        return np.concatenate([[1 - z.sum()], z])

    # start at the best vertex
    j0 = int(np.argmin(((A - y[:, None]) ** 2).sum(axis=0)))
    b = np.zeros(p)
    b[j0] = 1.0
    F = [j0]
    for _ in range(max_iter):
        grad = A.T @ (A @ b - y)
        slack = grad - grad[F].mean()  # at a support optimum grad is constant on F
        slack[F] = np.inf
        j = int(np.argmin(slack))
        if slack[j] >= -tol:
            break
        F.append(j)
        while True:  # each pass drops one coordinate or accepts: at most len(F) passes
            z = solve(F)
            if (z > 0).all():
                b[:] = 0
                b[F] = z
                break
            bF = b[F]
            ratio = np.full(len(F), np.inf)
            neg = z <= 0
            ratio[neg] = bF[neg] / (bF[neg] - z[neg])
            first = int(np.argmin(ratio))  # the first to reach the boundary
            bF = bF + ratio[first] * (z - bF)
            keep = bF > 1e-15
            keep[first] = False  # dropped even if round-off left it a hair above 0
            if not keep.any():  # cannot happen in exact arithmetic (sum stays 1)
                keep[int(np.argmax(bF))] = True
            F = [k for k, kept in zip(F, keep) if kept]
            b[:] = 0
            b[F] = bF[keep] / bF[keep].sum()
    return b


def _agent_regressors(S: np.ndarray, prev: np.ndarray, mask: np.ndarray, i: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Agent ``i``'s neighbours and the ``(T K, 2 + neighbours)`` regressors of its update.

    Columns ``s_i``, ``b_i(t)`` and ``b_j(t)`` of each neighbour ``j``, rows (round,
    option): agent ``i``'s one-step prediction is this matrix times ``(g_i, (1 - g_i) a_i,
    (1 - g_i)(1 - a_i) W_i.)``, a point of the simplex (:func:`_convex_start`).  An
    isolated agent (only its own diagonal entry in ``mask``) has no neighbour column: its
    ``W_ii = 1`` repeats ``b_i(t)``, so the prediction is ``(g_i, 1 - g_i)`` times the two.
    """
    T, _, K = prev.shape
    nb = np.flatnonzero(mask[i])
    nb = nb[nb != i]  # an isolated agent's self-loop (_mask) is no neighbour
    A = np.concatenate([np.broadcast_to(S[i], (T, K))[..., None], prev[:, i, :, None],
                        prev[:, nb].transpose(0, 2, 1)], axis=2).reshape(T * K, -1)
    return nb, A


def _convex_start(
    S: np.ndarray, prev: np.ndarray, nxt: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logits of the global optimum of the per-agent squared-error fit with learned trust.

    In ``beta_i = (g_i, (1 - g_i) a_i, (1 - g_i)(1 - a_i) W_i.)`` agent ``i``'s one-step
    prediction ``beta_i . (s_i, b_i(t), b_j(t) for its neighbours j)`` is linear and
    ``beta_i`` lies on a simplex, so the per-agent loss separates by agent into convex
    simplex-constrained least squares (:func:`_simplex_least_squares`).  ``_mask`` always
    excludes the diagonal (an agent's own belief enters through ``alpha`` only), so ``a_i``
    and ``W_ii`` never multiply the same regressor and the map back is one-to-one:
    ``g = beta_0``, ``a = beta_1 / (1 - g)``, ``W = rest / ((1 - g)(1 - a))``.  Where it is
    0/0 (``g = 1``: ``a`` and ``W`` do not matter; ``a = 1``: ``W`` does not) ``a`` is 0.5
    and ``W`` uniform over the neighbours.  An isolated agent (no neighbour, its self-loop
    in ``mask``) fits ``g`` alone (which :func:`fit_fj` replaces by ``init_gamma``: its
    rows are not fitted); its ``a`` does not act and is 0.5, its trust logits 0.
    Values are clamped to ``[1e-9, 1 - 1e-9]`` (trust floored at 1e-9 and renormalised) so
    the logits are finite.

    Parameters
    ----------
    S
        ``(n, K)`` innate beliefs (round 0).
    prev, nxt
        ``(T, n, K)`` beliefs before and after each fitted transition.
    mask
        ``(n, n)`` boolean neighbours (``_mask``: no diagonal but an isolated agent's).

    Returns
    -------
    tuple of numpy.ndarray
        ``(n,)`` gamma logits, ``(n,)`` alpha logits, ``(n, n)`` trust logits (0 off the
        mask).
    """
    T, n, K = prev.shape
    floor = 1e-9
    g = np.empty(n)
    a = np.empty(n)
    w_logit = np.zeros((n, n))
    for i in range(n):
        nb, A = _agent_regressors(S, prev, mask, i)
        beta = _simplex_least_squares(A, nxt[:, i].reshape(-1))
        g[i] = beta[0]
        if nb.size == 0:  # isolated: b_i(t + 1) = g s_i + (1 - g) b_i(t); alpha does nothing
            a[i] = 0.5
            continue
        rest = beta[1:].sum()
        a[i] = beta[1] / rest if rest > 0 else 0.5
        mixed = beta[2:].sum()  # (1 - g)(1 - a)
        w = beta[2:] / mixed if mixed > 0 else np.full(nb.size, 1.0 / nb.size)
        w = np.maximum(w, floor)
        w_logit[i, nb] = np.log(w / w.sum())
    g = np.clip(g, floor, 1 - floor)
    a = np.clip(a, floor, 1 - floor)
    return np.log(g / (1 - g)), np.log(a / (1 - a)), w_logit


def _known_trust_start(
    S: np.ndarray, prev: np.ndarray, nxt: np.ndarray, W: np.ndarray, agents: np.ndarray,
    per_agent: bool, init: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Logits of the global optimum of the squared-error fit with known trust ``W``.

    With ``W`` fixed, agent ``i``'s one-step prediction is linear in ``beta_i = (g_i,
    (1 - g_i) a_i, (1 - g_i)(1 - a_i))``, a point of the simplex, with regressors ``s_i``,
    ``b_i(t)`` and ``(W b(t))_i``: one simplex-constrained least squares per agent
    (:func:`_simplex_least_squares`), or one over the stacked rows of all ``agents`` for
    a shared pair.  The map back is ``g = beta_0``, ``a = beta_1 / (1 - g)`` (0.5 where
    ``g = 1``, where ``a`` does not act), with values clamped to ``[1e-15, 1 - 1e-15]``
    so that the logits are finite.  Where the optimum fits no better than ``init`` (the
    data do not tell the values apart, e.g. beliefs that never move), or where the
    group's 3-column design is rank-deficient (e.g. only the first transition, on which
    ``s_i = b_i(0)``: only ``g + (1 - g) a`` is identified), ``init`` is kept, as the
    default start would.

    Parameters
    ----------
    S
        ``(n, K)`` innate beliefs (round 0).
    prev, nxt
        ``(T, n, K)`` beliefs before and after each fitted transition.
    W
        ``(n, n)`` the known row-stochastic trust.
    agents
        The agents whose transitions are fitted (those that hear someone).
    per_agent
        One ``(gamma, alpha)`` per agent (else one shared pair over ``agents``).
    init
        The default start ``(init_gamma, init_alpha)``.

    Returns
    -------
    tuple of numpy.ndarray
        Gamma and alpha logits, ``(n,)`` per agent (agents not in ``agents`` get 0: the
        caller sets them) or ``(1,)`` shared.
    """
    T, n, K = prev.shape
    mixed = np.einsum("ij,tjk->tik", W, prev)

    def rows(i: int) -> np.ndarray:
        return np.stack([np.broadcast_to(S[i], (T, K)), prev[:, i], mixed[:, i]],
                        axis=-1).reshape(T * K, 3)

    groups = [[int(i)] for i in agents] if per_agent else [[int(i) for i in agents]]
    size = n if per_agent else 1
    g_logit, a_logit = np.zeros(size), np.zeros(size)
    # an optimum on a bound is kept 1e-15 inside it (1 - 1e-15 is still below 1): at
    # _convex_start's 1e-9 the loss was up to 1.4e-9 (relative) above that of the default
    # start, which had crawled to gamma ~ 4e-10 on misspecified debates
    floor = 1e-15
    g0, a0 = init
    start = np.array([g0, (1 - g0) * a0, (1 - g0) * (1 - a0)])
    for slot, group in enumerate(groups):
        A = np.concatenate([rows(i) for i in group])
        y = np.concatenate([nxt[:, i].reshape(-1) for i in group])
        at = group[0] if per_agent else slot
        # a rank-deficient design (on the first transition s_i = b_i(0): only gamma +
        # (1 - gamma) alpha is identified) has a face of optima; the solver's pick was a
        # corner with a finite standard error: keep the default start there, as before
        sv = np.linalg.svd(A, compute_uv=False)
        full = sv.size == 3 and sv[-1] > sv[0] * max(A.shape) * np.finfo(A.dtype).eps
        beta = _simplex_least_squares(A, y) if full else start
        if not full or not ((A @ beta - y) ** 2).sum() < ((A @ start - y) ** 2).sum():
            # no better than the default start (the data do not determine the values,
            # e.g. beliefs that never move): kept there, not moved to a vertex
            g_logit[at], a_logit[at] = _logit(g0), _logit(a0)
            continue
        rest = beta[1] + beta[2]  # 1 - g
        g, a = np.clip([beta[0], beta[1] / rest if rest > 0 else 0.5], floor, 1 - floor)
        g_logit[at], a_logit[at] = np.log(g / (1 - g)), np.log(a / (1 - a))
    return g_logit, a_logit


@with_grad  # also inside the caller's torch.no_grad() or inference_mode()
def fit_fj(
    transcript: Any,
    *,
    adjacency: Any | None = None,
    per_agent: bool = False,
    learn_trust: bool = True,
    trust: Literal["uniform", "given"] = "uniform",
    train_rounds: int | None = None,
    loss: Loss = "mse",
    init_gamma: float = 0.2,
    init_alpha: float = 0.5,
    max_steps: int = 50,
    tol: float = 1e-6,
    progress: bool = False,
) -> FJFit:
    """Maximum-likelihood FJ parameters for one transcript (teacher-forced, L-BFGS).

    Parameters
    ----------
    transcript
        ``(T + 1, n, K)`` beliefs per round and agent (at least one agent and one option),
        a numpy array or a tensor; float16 and bfloat16 rows are checked at their own
        precision (they sum to 1 only within their rounding) and fitted in float64.  Or
        the long table of one question's debate, a DataFrame with one row per belief
        (columns ``round``, ``agent``, ``option``, ``belief``; what ``prunus fj
        simulate`` writes to ``trajectories.csv`` and ``prunus fj fit`` reads, read by
        the same rules: :func:`multiagent.read_transcripts`); agents named there are
        taken in the order of a DataFrame ``adjacency``, else in the order they first
        appear, and become :attr:`FJFit.agents`.  Or what
        :func:`multiagent.read_transcripts` returns (a :class:`~multiagent.Transcripts`)
        of one question: its beliefs, and its agents' names as :attr:`FJFit.agents` (put
        in the order of a DataFrame ``adjacency``, matched as text), the same fit as of
        the table it was read from (``fit_fj(read_transcripts(path))`` failed: "float()
        argument must be a string or a real number, not 'Transcripts'").  For one
        question of several give ``transcripts.beliefs[q]``, or fit them all with
        :func:`fit_transcripts`.
    adjacency
        ``(n, n)`` who listens to whom (default complete); trust is a softmax over each
        agent's neighbours.  A matrix: a networkx graph raises ``TypeError`` (pass
        :func:`multiagent.adjacency` of it).  A DataFrame is read by label, in its index
        order, which is then the transcript's agent order; its index (as text) becomes
        :attr:`FJFit.agents`.  An agent that hears no one (a zero row) listens only to
        itself, as in :class:`~multiagent.dynamics.FriedkinJohnsen`: its trust in itself
        is 1, and from ``b_i(0) = s_i`` it keeps its innate belief whatever its ``gamma``
        and ``alpha``, so neither is identified.  Its transitions are left out of the loss
        (fitted, they moved its ``gamma`` anywhere from 1e-9 to 1 through report noise and
        pulled a shared ``gamma`` towards 1); a per-agent fit leaves its ``gamma`` and
        ``alpha`` at ``init_gamma`` and ``init_alpha`` with ``gamma_se`` and ``alpha_se``
        inf, and a shared fit is that of the other agents.  When no agent hears another,
        nothing is fitted: the starting values, standard errors inf, and the loss theirs.
        An :class:`IsolatedAgentWarning` names such agents.
    per_agent
        One ``gamma``/``alpha`` per agent instead of one shared pair.  The default,
        False, pools all agents into one shared ``gamma`` and ``alpha``: a departure from
        MAS-Cascade's protocol, which fits each agent its own (``per_agent=True``; CLI:
        ``--per-agent``).  For agents that differ the pooled values are none of theirs (a
        noise-free debate with ``alpha`` planted from 0.1 to 0.6 gave a pooled 0.628, with
        ``converged=True``).
    learn_trust
        Fit ``W`` (masked softmax logits); otherwise ``W`` is fixed as ``trust`` says.
    trust
        The fixed ``W`` of ``learn_trust=False``: ``"uniform"`` (default) trusts each
        agent's neighbours equally, whatever ``adjacency``'s weights (they count as edges
        only); ``"given"`` takes ``adjacency``'s weights as known trust, row-normalised as
        :meth:`FriedkinJohnsen.from_adjacency` does (``W_ij = A_ij / sum_k A_ik``,
        self-loops dropped, an agent that hears no one trusting itself), and fits only
        ``gamma`` and ``alpha``: the usual set-up with measured tie strengths.  Its
        weights must be finite and non-negative (``ValueError`` naming ``adjacency``);
        it needs ``adjacency`` and ``learn_trust=False``.  The fit's ``W`` is then those
        weights (a fit saved by :meth:`FJFit.save` keeps them).
    train_rounds
        Use transitions up to round ``train_rounds`` only (default: all), so that later
        rounds can be predicted with :meth:`FJFit.score`.
    loss
        ``"mse"`` (Gaussian likelihood) or ``"kl"`` (KL(observed || predicted), the
        multinomial log-likelihood of the reported distributions up to constants; needs
        K >= 2 options).
    init_gamma, init_alpha
        Starting values (MAS-Cascade: 0.2 and 0.5); not used by squared-error fits with
        known trust (``learn_trust=False``) or per agent with learned trust, which start
        at the global optimum (see Notes), but for an agent that hears no one (see
        ``adjacency``), whose values stay there in a per-agent fit.
    max_steps
        Outer L-BFGS steps (each up to 20 inner iterations); a fit that uses them all
        without meeting ``tol`` has ``converged=False``.
    tol
        Stop when one step improves the loss by less than ``tol`` relative to it.  Not a
        bound on the distance to the minimum (see Notes).
    progress
        Show a tqdm bar.

    Returns
    -------
    FJFit
        With standard errors ``gamma_se``/``alpha_se`` for ``loss="mse"`` (intervals
        inside [0, 1]: :meth:`FJFit.interval`; inf, with a ``UserWarning`` naming the
        counts, where the transitions give no more residual values, ``T n`` times ``K - 1``
        or 1 for scalar opinions, than there are parameters: 2 per agent in a per-agent
        fit, 2 shared, plus each agent's neighbours less one with learned trust).  The fit is
        deterministic (zero trust logits, L-BFGS: no random numbers are drawn).

    Notes
    -----
    Optimisation is not the bottleneck: in ``(gamma, (1 - gamma) alpha,
    (1 - gamma)(1 - alpha) W)`` the one-step model is linear with simplex constraints, so
    the squared-error objective is convex there and the sigmoid/softmax logits reach the
    same global optimum from any start (a multi-start check agreed to 5e-9 in loss); a
    per-agent fit with learned trust, and every squared-error fit with known trust, starts
    there (see Stopping).  The accuracy of
    ``alpha`` is statistical: ``b_i(t)`` and the learned mix ``W b(t)`` are
    close to collinear, more so as beliefs converge, so later rounds add little.
    Measured on 6 agents, 10 rounds, K = 5, random trust (30 transcripts each): median
    ``|alpha_hat - alpha|`` 0.017 / 0.025 / 0.040 at report noise 0.005 / 0.01 / 0.02
    (both parameters within 0.05 in 93 / 73 / 57 % of transcripts); 20 rounds instead of
    10 did not help; when the trust is uniform and known (``learn_trust=False``) the
    median fell from 0.013 to 0.007 at noise 0.005 (0.046 to 0.033 at 0.02).  ``alpha_se``
    tells which regime a transcript is in.

    Calibration of ``gamma +/- 1.96 gamma_se`` (6 agents, 10 rounds, K = 5, noise 0.01,
    ``gamma = 0.3``, ``alpha = 0.4``, :func:`simulate_transcript`; 150-200 transcripts
    each): with known uniform trust (``learn_trust=False``) coverage 95 % for ``gamma``
    and 94 % for ``alpha``, mean se / sd of the estimates 1.01 and 0.96; per-agent fits with
    learned trust 94 % and 94 % (ratios 0.92 and 1.01, 150 transcripts, from the warm
    start below; 95 % and 97 %, ratios 0.94 and 1.08, from the default start); shared
    fits with learned trust 90 % and 92 % (ratios 0.90 and 1.00, ``alpha`` biased by
    -0.017, half its se): the 36 trust values fitted alongside, kept non-negative by the
    softmax, make the shared intervals somewhat narrow.  The residual variance counts
    ``K - 1`` free values per belief row (beliefs sum to 1).

    Stopping: the loss converges linearly and slowly where ``alpha`` and trust are nearly
    collinear, so a step that improves it by ``tol`` leaves more than ``tol`` to gain.
    Against fits polished for 1,500 steps at ``tol=0`` (6 agents, 10 rounds, K = 5,
    ``gamma = 0.3``, ``alpha = 0.4``, :func:`simulate_transcript` seeds 0-9), shared
    squared-error fits with learned trust at the default ``tol`` and ``max_steps``: at
    report noise 0.001, 6 of 10 used all 50 steps (``converged=False``), with ``alpha`` up
    to 2.3e-3 from the polished value (median 2e-4; at most 0.38 ``alpha_se``), ``gamma``
    up to 1.5e-4 and the loss up to 4e-3 (relative) above; at noise 0.005 and 0.01 all
    converged (5 to 29 steps), ``alpha`` within 8e-4 (0.03 ``alpha_se``) and ``gamma``
    within 3e-4.  KL fits converged in 29 of these 30 (noise 0.001 to 0.01), ``gamma``
    and ``alpha`` within 6e-4 of the polished (median 4e-6).  7 of the 30 squared-error
    polishes and 3 of the KL ones still moved at 1,500 steps.  A fit with
    ``converged=False`` is worth refitting with a larger ``max_steps`` (``prunus fj fit
    --max-steps``; ``fits.csv``'s ``converged`` says which).  Per-agent
    squared-error fits with learned trust crawled along that valley, so they start at
    the global optimum: one
    simplex-constrained least squares per agent in the coordinates above, solved exactly
    by an active-set method, mapped back to ``(gamma, alpha, W)`` (values kept 1e-9 from
    0 and 1 so that the logits are finite; the diagonal is never a neighbour, so
    ``alpha`` and trust do not share a regressor), and L-BFGS only polishes.  On
    ``gamma = 0.3``, ``alpha = 0.4``, 10 transcripts each at report noise 0.001 and
    0.005, they stopped after 2 steps (``converged=True``, 0.04 s each) with the loss
    below that of a 1,000-step polish from the default start (by up to 2e-3, relative,
    at noise 0.001; 2e-4 at 0.005).  From the default start they had used all 50 steps at
    noise 0.001 in 9 of 10 (``converged=False``, loss 2e-3 median, up to 7e-3, above the
    optimum, 1.8 s) and 8 to 50 steps at 0.005 (6e-5 median, up to 4e-4, above; 0.75 s).
    An estimate on a bound is now reached, not approached: ``alpha`` at 1e-9 gets an
    infinite ``alpha_se`` (6 of 900 agents at noise 0.01, 2 from the default start), and
    a trust entry at 0 drops out of the information matrix, which narrows that agent's
    ``alpha_se`` (up to 3.5 times at noise 0.005) as if the entry were known to be 0.
    With known trust (``learn_trust=False``, ``trust`` uniform or given) the squared-error
    fit is linear least squares in ``(gamma_i, (1 - gamma_i) alpha_i,
    (1 - gamma_i)(1 - alpha_i))`` per agent (pooled over the agents for a shared fit), so
    it too starts at that global optimum, solved exactly (values kept 1e-15 from 0 and 1;
    where it fits no better than ``init_gamma`` and ``init_alpha``, e.g. beliefs that
    never move, those stay; ``loss="kl"`` fits start at them as before).
    From the default start L-BFGS stopped on noise-free data at a mean squared error of
    6e-16, below its absolute ``tolerance_change`` (1e-15), with ``gamma`` and ``alpha``
    1e-6 off and intervals that excluded the planted values; now they are recovered to
    round-off (1e-15).  On noisy debates (6 agents, 10 rounds, K = 5, noise 0.001 to
    0.02, 144 fits) no loss rose, 32 fell by more than 1e-9 (relative; by up to 1.6 % at
    noise 0.001 where a planted ``gamma = 0`` lies on the bound, and 3 fits that had run
    out of ``max_steps`` now converge), and the estimates moved by 4e-3 at most (median
    5e-7).  An estimate on a bound is reached there too, with an infinite standard
    error (its interval [0, 1]; from the default start it stopped short of the bound,
    with an interval as wide).
    Noise-free transcripts with learned trust seldom meet a relative ``tol`` (the loss
    keeps falling towards 0): of three shared fits (seeds 0-2), two ran ``max_steps`` and
    one stopped at 25 steps with the loss at round-off (2e-13).

    Examples
    --------
    >>> X = simulate_transcript(6, 10, 5, gamma=0.3, alpha=0.4, noise=0.005, seed=1)
    >>> fit = fit_fj(X)
    >>> abs(float(fit.gamma[0]) - 0.3) < 0.05
    True
    """
    names = _agent_names(adjacency)
    label: list[Any] = []
    transcript, read_names = _transcript_of(transcript, names, question=label)
    names = read_names if names is None else names
    X = _check_transcript(transcript, names, label[0] if label else None)
    # a NaN start (min/max in _logit pass it through) fails later inside an SVD
    check_number("init_gamma", init_gamma, at_least=0, at_most=1)
    check_number("init_alpha", init_alpha, at_least=0, at_most=1)
    # int() truncated 2.7 to 2 without a word
    T = X.shape[0] - 1 if train_rounds is None else check_count("train_rounds", train_rounds)
    # never checked: max_steps=True ran one step, "50" or 2.5 failed in range(), and
    # learn_trust=np.False_ (of a numpy flag array) failed in torch.zeros(requires_grad=)
    max_steps = check_count("max_steps", max_steps)
    tol = check_number("tol", tol, at_least=0)
    for name, flag in (("per_agent", per_agent), ("learn_trust", learn_trust)):
        if not isinstance(flag, bool | np.bool_):
            raise TypeError(f"{name} must be True or False, got {flag!r}")
    per_agent, learn_trust = bool(per_agent), bool(learn_trust)
    _check_trust(trust, learn_trust, adjacency)
    if not 1 <= T <= X.shape[0] - 1:
        raise ValueError(f"train_rounds must be in [1, {X.shape[0] - 1}], got {train_rounds}")
    if loss not in ("mse", "kl"):
        raise ValueError(f"loss must be 'mse' or 'kl', got {loss!r}")
    if loss == "kl" and X.shape[2] < 2:
        # y log(y / p) of one scalar is no divergence: the fit drove it negative and gave
        # gamma = alpha = 0 on an exact transcript of gamma = 0.3, alpha = 0.4
        raise ValueError("loss='kl' compares probability vectors over K >= 2 options; this "
                         "transcript has K = 1 (scalar opinions): use loss='mse'")
    n = X.shape[1]
    # measured weights, checked before _mask reads a negative or NaN one as no edge
    fixed_W = None if trust == "uniform" else torch.as_tensor(_given_trust(adjacency, n))
    mask_np = _mask(adjacency, n, names)
    heard = _hears_someone(mask_np)
    isolated = torch.as_tensor(~heard)
    # an isolated agent's transitions, b_i(t + 1) = g s_i + (1 - g) b_i(t) = s_i whatever
    # g is, say nothing on any parameter: left out of the loss (through report noise they
    # set its own gamma anywhere from 1e-9 to 1, and pulled a shared one towards 1). When
    # no agent hears another, nothing is fitted and the loss is that of the starting values
    fitted = (None if heard.all() or not heard.any() else
              torch.as_tensor(np.flatnonzero(heard)))
    mask = torch.as_tensor(mask_np)
    data = torch.as_tensor(X[: T + 1])
    S, prev, nxt = data[0], data[:-1], data[1:]
    size = n if per_agent else 1
    g_logit = torch.full((size,), _logit(init_gamma), dtype=torch.float64, requires_grad=True)
    a_logit = torch.full((size,), _logit(init_alpha), dtype=torch.float64, requires_grad=True)
    w_logit = torch.zeros((n, n), dtype=torch.float64, requires_grad=learn_trust)
    params = [g_logit, a_logit] + ([w_logit] if learn_trust else [])
    if per_agent and learn_trust and loss == "mse":
        # convex per agent in the simplex coordinates (Notes): start L-BFGS at that global
        # optimum; from the default start it crawled along the nearly collinear alpha/trust
        # valley and at report noise 0.001 ran out of its 50 steps (known trust: below)
        starts = _convex_start(S.numpy(), prev.numpy(), nxt.numpy(), mask.numpy())
        with torch.no_grad():
            for logit, start in zip((g_logit, a_logit, w_logit), starts):
                logit.copy_(torch.from_numpy(start))
            # an isolated agent's gamma and alpha are not fitted (their gradients are 0):
            # where the other fits leave them, at init_gamma and init_alpha
            g_logit[isolated] = _logit(init_gamma)
            a_logit[isolated] = _logit(init_alpha)
    elif not learn_trust and loss == "mse" and heard.any():
        # known trust: linear least squares in (gamma, (1 - gamma) alpha) per agent (or
        # pooled), solved exactly; from the default start L-BFGS stopped on noise-free data
        # at MSE 6e-16 (its absolute tolerance_change 1e-15) with gamma and alpha 1e-6 off
        # and intervals 1e-6 wide that excluded the planted values
        with torch.no_grad():
            W_known = (fixed_W if fixed_W is not None else
                       torch.softmax(w_logit.masked_fill(~mask, float("-inf")), dim=1))
            g0, a0 = _known_trust_start(S.numpy(), prev.numpy(), nxt.numpy(),
                                        W_known.numpy(), np.flatnonzero(heard), per_agent,
                                        (init_gamma, init_alpha))
            g_logit.copy_(torch.from_numpy(g0))
            a_logit.copy_(torch.from_numpy(a0))
            if per_agent:  # not fitted: at init_gamma and init_alpha, as above
                g_logit[isolated] = _logit(init_gamma)
                a_logit[isolated] = _logit(init_alpha)

    def unpack(
        gl: torch.Tensor = g_logit, al: torch.Tensor = a_logit, wl: torch.Tensor = w_logit
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        g = torch.sigmoid(gl).expand(n)
        a = torch.sigmoid(al).expand(n)
        if fixed_W is not None:  # trust="given": the adjacency's weights, not fitted
            return g, a, fixed_W
        W = torch.softmax(wl.masked_fill(~mask, float("-inf")), dim=1)
        return g, a, W

    def predict(*logits: torch.Tensor) -> torch.Tensor:
        g, a, W = unpack(*logits)
        g2, a2 = g[None, :, None], a[None, :, None]
        return g2 * S[None] + (1 - g2) * (a2 * prev + (1 - a2) * torch.einsum("ij,tjk->tik", W,
                                                                              prev))

    def fitted_rows(*logits: torch.Tensor) -> torch.Tensor:
        """Predict one step for the agents that hear someone (all, if none does)."""
        pred = predict(*logits)
        return pred if fitted is None else pred[:, fitted]

    target = nxt if fitted is None else nxt[:, fitted]

    def objective() -> torch.Tensor:
        pred = fitted_rows()
        if loss == "mse":
            return ((pred - target) ** 2).mean()
        y = target.clamp_min(_EPS)
        return (y * (y.log() - pred.clamp_min(_EPS).log())).sum(-1).mean()

    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=20, tolerance_grad=1e-12,
                            tolerance_change=1e-15, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        value = objective()
        value.backward()
        return value

    history: list[float] = []
    prev_loss = float("inf")
    # reaching max_steps was silent: per-agent fits at report noise 0.001 stopped there with
    # the loss 3e-3 (relative) above its minimum and alpha 0.3 standard errors away
    converged = False
    # no agent hears another: nothing to fit (every transition repeats the innate belief),
    # and gamma and alpha stay at their starting values, with infinite standard errors
    for _ in tqdm(range(max_steps if heard.any() else 0), disable=bar_disabled(progress),
                  desc="fit FJ"):
        value = float(opt.step(closure).detach())
        history.append(value)
        if abs(prev_loss - value) <= tol * abs(value):
            converged = True
            break
        prev_loss = value
    with torch.no_grad():
        g, a, W = unpack()
        final = float(objective())
    # L-BFGS returns the loss before its step: the loss after step k is the one before
    # step k + 1, and after the last step the fitted loss
    history = history[1:] + [final] if history else history
    converged = converged or not heard.any()
    g_se = a_se = None
    if loss == "mse" and not heard.any():
        g_se, a_se = np.full(size, np.inf), np.full(size, np.inf)
    elif loss == "mse":
        if learn_trust and 2 * size + n * n > _DENSE_SE_MAX:
            g_se, a_se = _standard_errors_blocked(g_logit.detach(), a_logit.detach(), W, S,
                                                  prev, nxt, heard)
        else:
            g_se, a_se = _standard_errors(fitted_rows, target, (g_logit, a_logit, w_logit),
                                          learn_trust)
        g_se, a_se = _unless_no_residual_dof(g_se, a_se, T, heard, X.shape[2], mask_np,
                                             per_agent, learn_trust)
    return FJFit(g.numpy().copy(), a.numpy().copy(), W.numpy().copy(), final, T, history,
                 g_se, a_se, converged, names)


def _check_trust(trust: Any, learn_trust: bool, adjacency: Any) -> None:
    """Check :func:`fit_fj`'s ``trust`` against ``learn_trust`` and ``adjacency``, by name."""
    if not isinstance(trust, str):
        # from_adjacency's trust is a matrix: here the weights are adjacency's
        raise TypeError(f"trust must be 'uniform' or 'given', got a {type(trust).__name__} "
                        f"{reprlib.repr(trust)}; known trust weights are passed as "
                        "adjacency, with trust='given'")
    if trust not in ("uniform", "given"):
        raise ValueError(f"trust must be 'uniform' or 'given', got {trust!r}")
    if trust == "given" and learn_trust:
        raise ValueError("trust='given' fixes W to adjacency's weights (row-normalised), "
                         "which learn_trust=True (the default) would fit: pass "
                         "learn_trust=False")
    if trust == "given" and adjacency is None:
        raise ValueError("trust='given' reads the weights of adjacency, and none was given: "
                         "pass the (n, n) trust weights as adjacency (A_ij: how much agent "
                         "i trusts agent j)")


def _given_trust(adjacency: Any, n: int) -> np.ndarray:
    """``adjacency``'s weights row-normalised as the model reads them, a float64 ``(n, n)``.

    :meth:`FriedkinJohnsen.from_adjacency` builds it, so a DataFrame is read by label and
    negative or non-finite weights are refused naming ``adjacency``; an agent that hears
    no one trusts itself (``W_ii = 1``), as :func:`_mask` marks it.
    """
    W = as_dense_numpy(FriedkinJohnsen.from_adjacency(adjacency, 0.0, 0.0).W)
    if W.shape != (n, n):
        raise ValueError(f"adjacency must be ({n}, {n}), got {W.shape}")
    if W.dtype != np.float64:  # float32 rows summed to 1 only to 1e-7 in float64
        W = W.astype(np.float64)
        W = W / W.sum(axis=1, keepdims=True)
    return W


def stubborn_test(
    transcript: Any,
    *,
    adjacency: Any | None = None,
    train_rounds: int | None = None,
    draws: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Test, per agent, whether it is fully stubborn (``gamma_i = 1``): a likelihood ratio.

    ``gamma = 1`` lies on the boundary of [0, 1], where :meth:`FJFit.interval` (logit
    scale) never reaches and ``gamma_se`` says nothing: a planted ``gamma = 1`` was fitted
    at 0.954 with the interval [0.893, 0.981].  This tests it directly.  An agent with
    ``gamma_i = 1`` keeps its innate belief, ``b_i(t + 1) = s_i``; the alternative is the
    per-agent FJ fit with learned trust (as :func:`fit_fj` with ``per_agent=True`` and
    squared error; its exact optimum, see Notes there).  The statistic is
    ``(SSE_i(gamma_i = 1) - SSE_i) / sigma^2``, ``sigma^2`` the residual variance of the
    per-agent fit of all agents (``K - 1`` free values per belief row).  Under the null
    hypothesis it is not chi-squared: the alternative's parameters, seen from
    ``gamma_i = 1``, form a cone (``gamma`` cannot exceed 1, nor ``alpha`` and trust leave
    their simplex), so it is chi-bar-squared, ``sum_k w_k chi^2_k``, with ``w_k`` the
    probability that Gaussian noise projected onto the cone lands on a ``k``-dimensional
    face (Silvapulle & Sen 2005, ch. 3), estimated from ``draws`` such projections.

    Parameters
    ----------
    transcript
        ``(T + 1, n, K)`` beliefs per round and agent, or one question's long table (a
        DataFrame or a Transcripts), as in :func:`fit_fj`.
    adjacency
        Who listens to whom (default complete), as in :func:`fit_fj`; a DataFrame's index
        names the rows of the result.  An agent that hears no one listens only to itself
        (as in :func:`fit_fj`): the alternative is then ``b_i(t + 1) = gamma_i s_i +
        (1 - gamma_i) b_i(t)``.  In the model such an agent keeps its innate belief
        whatever its ``gamma``, so its row tests report noise only (a p-value near 0 says
        its reports drift back towards ``s_i``, not what it hears).
    train_rounds
        Use transitions up to this round only (default: all), as in :func:`fit_fj`.
    draws
        Monte Carlo draws for each agent's weights ``w_k``: about 0.25 ms each, taken only
        where the p-value is not 0 or 1 in any case.
    seed
        Seed of the draws (each agent's own stream, so a row does not depend on the
        others).

    Returns
    -------
    pandas.DataFrame
        One row per agent (index ``agent``: the names of a DataFrame ``adjacency`` or of
        a long-table ``transcript``, else 0..n-1): ``statistic`` (0 where the fit is at
        ``gamma_i = 1``) and ``p_value``; both NaN, with a ``UserWarning``, where the
        per-agent fits leave no residual degrees of freedom (3 waves of one opinion on a
        complete graph: they match every move, and the noise cannot be estimated; before,
        every p-value read 0).
        A small p-value says that the agent moves away from its innate belief towards
        what it hears; a large one that the transcript is consistent with an agent that
        never does (not that ``gamma_i`` is 1: near 1 the test has little power).

    Notes
    -----
    On the planted case (5 agents, 8 rounds, K = 3, ``gamma = (0.2, 0.3, 1, 0.1, 0.4)``,
    ``alpha = 0.4``, report noise 0.005, :func:`simulate_transcript`) the test rejected
    the fully stubborn agent at 5 % in 10 of 200 transcripts (20 at 10 %, 1 at 1 %): the
    level it claims.  Planted at 0.9, 0.95 and 0.98 instead it rejected ``gamma = 1`` in 30,
    27 and 17 of 30; the other agents' p-values were below 1e-8.  At 40 agents (10 rounds,
    K = 5) it takes about 2 s.  The test assumes Gaussian report noise of one variance for
    all agents, as the squared-error fit does.  Reports clipped at 0 where a belief puts
    almost no mass on an option (:func:`simulate_transcript`'s with Dirichlet(1) innate
    beliefs and K = 5) drift from the innate belief, and the size grows: a planted
    ``gamma = 1`` was rejected at 5 % in 7 % of debates on a complete graph of 6 agents and
    in 10-11 % on a ring of 6 (400-600 debates), again in 5 % with innate beliefs away from
    0 (``concentration=50``).

    Examples
    --------
    >>> X = simulate_transcript(5, 8, 3, gamma=[0.2, 0.3, 1, 0.1, 0.4], alpha=0.4,
    ...                         noise=0.005, seed=1)
    >>> p = stubborn_test(X, draws=200)["p_value"]
    >>> bool(p[2] > 0.05), bool(p.drop(2).max() < 1e-12)  # agent 2 may be fully stubborn
    (True, True)
    """
    from scipy.optimize import nnls
    from scipy.stats import chi2

    names = _agent_names(adjacency)
    transcript, read_names = _transcript_of(transcript, names)
    names = read_names if names is None else names
    X = _check_transcript(transcript)
    T = X.shape[0] - 1 if train_rounds is None else check_count("train_rounds", train_rounds)
    if not 1 <= T <= X.shape[0] - 1:
        raise ValueError(f"train_rounds must be in [1, {X.shape[0] - 1}], got {train_rounds}")
    draws = check_count("draws", draws)
    seed = check_seed(seed, optional=False)
    n, K = X.shape[1], X.shape[2]
    mask = _mask(adjacency, n, names)
    S, prev, nxt = X[0], X[:T], X[1 : T + 1]
    stubborn_sse, sse, ranks, moves = np.empty(n), np.empty(n), np.empty(n, int), []
    for i in range(n):
        _, A = _agent_regressors(S, prev, mask, i)
        y = nxt[:, i].reshape(-1)
        beta = _simplex_least_squares(A, y)  # the per-agent fit's exact optimum
        sse[i] = float(np.sum((A @ beta - y) ** 2))
        stubborn_sse[i] = float(np.sum((A[:, 0] - y) ** 2))  # b_i(t + 1) = s_i
        # the directions from gamma_i = 1 into the simplex: the cone of the alternative
        C = A[:, 1:] - A[:, :1]
        ranks[i] = np.linalg.matrix_rank(C)
        moves.append(C)
    dof = T * n * _free_per_row(K) - int(ranks.sum())
    index = pd.Index(range(n) if names is None else names, name="agent")
    if dof <= 0:
        # max(dof, 1) over a round-off SSE (the alternative matches every move) gave
        # statistics of 1e28 and p-values 0 for every agent of a 3-wave panel
        # gamma, alpha and trust less one: 1 + neighbours free values per agent
        most = 1 + int((mask & ~np.eye(n, dtype=bool)).sum(axis=1).max())
        said = _no_dof_said(T * n * _free_per_row(K), int(ranks.sum()), "gamma, alpha and "
                            "trust of each agent's fit, as far as the transcript determines "
                            "them", T, n, K)
        warnings.warn(f"stubborn_test: {said}, so the noise variance cannot be estimated: "
                      "statistic and p_value are NaN; test on more rounds (each agent's fit "
                      f"has up to {most} free values here) or a sparser adjacency",
                      UserWarning, stacklevel=user_stacklevel())
        return pd.DataFrame({"statistic": np.full(n, np.nan), "p_value": np.full(n, np.nan)},
                            index=index)
    sigma2 = float(sse.sum()) / dof
    # the optimum is at least as good as gamma_i = 1, up to round-off
    gain = np.maximum(stubborn_sse - sse, 0.0)
    if sigma2 > 0:
        statistic = gain / sigma2
    else:  # an exact transcript: any gain is certain
        statistic = np.where(gain > 0, np.inf, 0.0)
    p_value = np.empty(n)
    for i, C in enumerate(moves):
        d = float(statistic[i])
        if d == 0:
            p_value[i] = 1.0  # w_0 + sum_k w_k P(chi2_k >= 0) = 1
            continue
        if chi2.sf(d, max(int(ranks[i]), 1)) == 0.0:  # every chi2_k, k <= rank, is below
            p_value[i] = 0.0
            continue
        # the cone lies in the rows' sum-zero space, so the projection of isotropic noise
        # onto it is that of the noise on the simplex: no need to centre each row
        rng = np.random.default_rng([seed, i])
        faces = np.zeros(C.shape[1] + 1)
        independent = ranks[i] == C.shape[1]  # then a face's dimension is its generators'
        for _ in range(draws):
            active = nnls(C, rng.standard_normal(C.shape[0]))[0] > 0
            k = int(active.sum())
            faces[k if independent or k == 0 else np.linalg.matrix_rank(C[:, active])] += 1
        w = faces / draws
        p_value[i] = float(sum(w[k] * chi2.sf(d, k) for k in range(1, len(w)) if w[k]))
    return pd.DataFrame({"statistic": statistic, "p_value": p_value}, index=index)


def _parameter_count(heard: np.ndarray, mask: np.ndarray, per_agent: bool,
                     learn_trust: bool, per_agent_values: int) -> tuple[int, str]:
    """Count the parameters of a squared-error fit as the model has them, and say what.

    Counted by the model, not by the rank of the information matrix: an estimate on a
    bound (whose logit derivative vanishes) drops out of that rank but was still fitted.
    Agents that hear no one (``heard`` False) are not fitted; learned trust has one free
    value less than the agent's neighbours (its row sums to 1). An agent's own parameters
    (its trust row; its gamma and alpha per agent) reach only its own
    ``per_agent_values`` residual values, so they count at most that many: a hub hearing 9
    agents over 2 transitions matches its 2 values with its 8 trust weights, and counting
    all 8 against everyone's values marked well-posed fits (3 such hubs among 10 agents:
    coverage 0.93 of the parent's finite errors) as having no residual freedom.
    """
    fitted = int(heard.sum())
    own = np.zeros(mask.shape[0], dtype=np.int64)
    if per_agent:
        own += 2
    if learn_trust:
        own += (mask & ~np.eye(mask.shape[0], dtype=bool)).sum(axis=1) - 1
    own = own[heard]
    count = (0 if per_agent else 2) + int(np.minimum(own, per_agent_values).sum())
    what = (f"gamma and alpha of each of {fitted} agents" if per_agent else
            "a shared gamma and alpha")
    if learn_trust:
        neighbours = (mask & ~np.eye(mask.shape[0], dtype=bool)).sum(axis=1)[heard]
        what += (f", and {int((neighbours - 1).sum())} trust weights, one less than each "
                 "agent's neighbours")
    if (own > per_agent_values).any():
        what += (f"; an agent's own count at most its {per_agent_values} value"
                 f"{'s' * (per_agent_values != 1)}")
    return count, what


def _unless_no_residual_dof(
    g_se: np.ndarray, a_se: np.ndarray, T: int, heard: np.ndarray, K: int, mask: np.ndarray,
    per_agent: bool, learn_trust: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Return :func:`fit_fj`'s standard errors, inf where residuals cannot give the noise.

    With no more residual values than parameters the fit can match every move: the
    residual variance is 0 (or that of one agent on a bound) over ``max(dof, 1)``, which
    gave ``gamma_se = 0`` and zero-width intervals on a 3-wave panel fitted per agent.  Then
    every standard error is inf (intervals [0, 1]), with a warning that says why and what
    to do; a fit whose standard errors were all inf already is left as it was, unwarned.
    """
    values = T * int(heard.sum()) * _free_per_row(K)
    count, what = _parameter_count(heard, mask, per_agent, learn_trust, T * _free_per_row(K))
    if values > count or not (np.isfinite(g_se).any() or np.isfinite(a_se).any()):
        return g_se, a_se
    # the transitions that leave dof >= 1 (an agent's own parameters count up to its values)
    need = T + 1
    while need * int(heard.sum()) * _free_per_row(K) <= _parameter_count(
            heard, mask, per_agent, learn_trust, need * _free_per_row(K))[0]:
        need += 1
    instead = [f"fit at least {need} transitions ({need + 1} rounds, or survey waves, "
               "counting round 0)"]
    if per_agent:
        instead.append("one shared gamma and alpha (per_agent=False; prunus fj fit "
                       "without --per-agent)")
    if learn_trust:
        instead.append("known trust (learn_trust=False with trust='uniform' or "
                       "'given'; --trust uniform or given)")
    warnings.warn(f"fit_fj: {_no_dof_said(values, count, what, T, int(heard.sum()), K)}, "
                  "so the report noise, and with it the standard errors, cannot be "
                  "estimated (the fit can match every move, and what is left says nothing "
                  "of the noise): gamma_se and alpha_se are inf, intervals [0, 1]; "
                  f"{', or '.join(instead)}", UserWarning, stacklevel=user_stacklevel())
    return np.full(g_se.shape, np.inf), np.full(a_se.shape, np.inf)


def _no_dof_said(values: int, count: int, what: str, T: int, n: int, K: int) -> str:
    """Say that ``values`` residual values do not exceed ``count`` parameters (``what``)."""
    free = _free_per_row(K)
    return (f"no residual degrees of freedom: {values:,} residual values ({T} "
            f"transition{'s' * (T != 1)} x {n} agent{'s' * (n != 1)} x {free} free "
            f"value{'s' * (free != 1)} per belief) for {count:,} parameters ({what})")


def _free_per_row(K: int) -> int:
    """Free values in one reported belief row: ``K - 1`` on the simplex, 1 for a scalar.

    A ``K = 1`` transcript holds scalar opinions (not probability vectors, see
    :func:`_check_transcript`): ``K - 1 = 0`` left one residual degree of freedom in all,
    and standard errors ``sqrt(T n)`` times too large.
    """
    return K - 1 if K >= 2 else 1


def _standard_errors(
    predict: Any, observed: torch.Tensor, logits: tuple[torch.Tensor, ...], learn_trust: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Newton standard errors of gamma and alpha for the teacher-forced MSE fit.

    ``Cov(theta) = sigma^2 (J^T J)^+`` over the logits (the pseudo-inverse absorbs the
    softmax's row-shift invariance, which gamma and alpha do not depend on), mapped to
    gamma and alpha by the delta method.  ``sigma^2`` = SSE over the residual degrees of
    freedom; each belief row sums to 1, so every (round, agent) contributes ``K - 1`` (1 for
    scalar opinions, K = 1).

    A gamma or alpha that the data do not determine gets an infinite standard error: one
    with weight in a flat direction of ``J^T J`` (the pseudo-inverse would report zero
    variance there), and both of an agent that never moves (``(1 - gamma)(1 - alpha)
    ~ 0``: gamma = 1 and alpha = 1 fit alike).
    """
    g_logit, a_logit, w_logit = (x.detach() for x in logits)
    sizes = [g_logit.numel(), a_logit.numel()] + ([w_logit.numel()] if learn_trust else [])
    flat0 = torch.cat([g_logit, a_logit] + ([w_logit.reshape(-1)] if learn_trust else []))

    def residual(flat: torch.Tensor) -> torch.Tensor:
        parts = list(torch.split(flat, sizes))
        wl = parts[2].reshape(w_logit.shape) if learn_trust else w_logit
        return (predict(parts[0], parts[1], wl) - observed).reshape(-1)

    J = torch.autograd.functional.jacobian(residual, flat0)
    r = residual(flat0).detach()
    info = J.T @ J
    rank = int(torch.linalg.matrix_rank(info))
    T, n, K = observed.shape
    # dof <= 0 (no residual to estimate the noise from): fit_fj makes every se inf
    # (_unless_no_residual_dof); the floor only keeps this division finite
    dof = max(T * n * _free_per_row(K) - rank, 1)
    cov = torch.linalg.pinv(info, hermitian=True) * (r @ r) / dof
    var = cov.diagonal()
    ng, na = sizes[0], sizes[1]
    dg = torch.sigmoid(g_logit) * (1 - torch.sigmoid(g_logit))  # d gamma / d logit
    da = torch.sigmoid(a_logit) * (1 - torch.sigmoid(a_logit))
    g_se = (dg * var[:ng].clamp_min(0).sqrt()).numpy().copy()
    a_se = (da * var[ng : ng + na].clamp_min(0).sqrt()).numpy().copy()
    evals, evecs = torch.linalg.eigh(info)
    flat = evals <= evals.max() * info.shape[0] * torch.finfo(info.dtype).eps
    in_flat = (evecs[: ng + na, flat] ** 2).sum(dim=1).numpy()  # weight in flat directions
    frozen = ((1 - torch.sigmoid(g_logit)) * (1 - torch.sigmoid(a_logit)) < 1e-6).numpy()
    g_se[(in_flat[:ng] > 1e-6) | frozen] = np.inf
    a_se[(in_flat[ng : ng + na] > 1e-6) | frozen] = np.inf
    return g_se, a_se


def _standard_errors_blocked(
    g_logit: torch.Tensor,
    a_logit: torch.Tensor,
    W: torch.Tensor,
    S: torch.Tensor,
    prev: torch.Tensor,
    observed: torch.Tensor,
    heard: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_standard_errors` from the per-agent blocks of the information matrix.

    Agent ``i``'s residuals depend only on its own trust logits (and on gamma, alpha), so
    ``J^T J`` is block diagonal over agents (per-agent fits) or block diagonal plus a
    border of the two shared logits.  Per-agent fits: one eigendecomposition per
    ``(n + 2)`` block, with the dense version's global cut-offs, gives the same rank,
    pseudo-inverse and flat directions.  Shared fits: the gamma/alpha block of the
    pseudo-inverse is the inverse of the 2 x 2 Schur complement ``A - B C^+ B^T`` (exact,
    since ``null(C) = null(J_W)`` lies in ``null(B)``); its null vectors give the flat
    directions.  O(n^4) time and O(n^3) memory instead of O(n^6) and O(n^4).  Only the
    agents ``heard`` marks (default all: the others are isolated, their transitions out of
    the fit) have residuals.
    """
    Wn, Sn, Xp, Xo = (x.detach().numpy() for x in (W, S, prev, observed))
    T, n, K = Xo.shape
    heard = np.ones(n, bool) if heard is None else heard
    shared = g_logit.numel() == 1
    g_own, a_own = torch.sigmoid(g_logit).numpy(), torch.sigmoid(a_logit).numpy()
    g, a = np.broadcast_to(g_own, (n,)), np.broadcast_to(a_own, (n,))
    dg, da = g * (1 - g), a * (1 - a)  # d gamma / d logit, d alpha / d logit
    mix = np.einsum("ij,tjk->tik", Wn, Xp)
    base = a[None, :, None] * Xp + (1 - a[None, :, None]) * mix
    resid = g[None, :, None] * Sn[None] + (1 - g[None, :, None]) * base - Xo
    resid[:, ~heard] = 0
    n_params = (2 if shared else 2 * n) + n * n
    blocks = []  # per agent: J columns (d/d gamma logit, d/d alpha logit, d/d trust logits)
    for i in range(n):
        if not heard[i]:  # isolated: no residual, so no information (an SE of inf)
            blocks.append(np.zeros((T * K, 2 + n)))
            continue
        jg = dg[i] * (Sn[i][None] - base[:, i])  # (T, K)
        ja = (1 - g[i]) * da[i] * (Xp[:, i] - mix[:, i])
        # softmax: d mix_i / d w_ij = W_ij (b_j - mix_i); masked speakers have W_ij = 0
        jw = (1 - g[i]) * (1 - a[i]) * Wn[i][None, :, None] * (Xp - mix[:, i][:, None])
        blocks.append(np.column_stack([jg.ravel(), ja.ravel(),
                                       jw.transpose(0, 2, 1).reshape(T * K, n)]))
    eps = np.finfo(np.float64).eps
    if not shared:
        eig = [np.linalg.eigh(J.T @ J) for J in blocks]
        top = max(float(np.abs(lam).max()) for lam, _ in eig)
        cut = top * n_params * eps  # matrix_rank's and pinv's default tolerance
        rank = sum(int((np.abs(lam) > cut).sum()) for lam, _ in eig)
        var = np.empty((2, n))
        in_flat = np.empty((2, n))
        for i, (lam, V) in enumerate(eig):
            keep = np.abs(lam) > cut
            var[:, i] = (V[:2, keep] ** 2 / lam[keep]).sum(axis=1)
            in_flat[:, i] = (V[:2, lam <= cut] ** 2).sum(axis=1)
        var_g, var_a, flat_g, flat_a = var[0], var[1], in_flat[0], in_flat[1]
    else:
        A = sum(J[:, :2].T @ J[:, :2] for J in blocks)
        svds = [np.linalg.svd(J[:, 2:], full_matrices=False) for J in blocks]
        # the largest eigenvalue of [[A, B], [B^T, C]] is at most the sum of the blocks'
        top = float(np.linalg.eigvalsh(A).max()) + max(float((sv**2).max()) for _, sv, _ in svds)
        cut = top * n_params * eps
        # Schur complement A - B C^+ B^T as sum_i R_i^T R_i, R_i = the gamma/alpha columns
        # with their part in the span of agent i's trust columns removed: positive
        # semidefinite by construction (by subtraction, round-off made it indefinite when
        # trust alone can fit every move, and a negative variance was clipped to SE 0)
        schur, rank = np.zeros((2, 2)), 0
        for J, (Us, sv, _) in zip(blocks, svds):
            Q = Us[:, sv**2 > cut]
            rank += Q.shape[1]
            R = J[:, :2] - Q @ (Q.T @ J[:, :2])
            schur += R.T @ R
        mu, U = np.linalg.eigh(schur)
        keep = mu > cut
        rank += int(keep.sum())
        var_g, var_a = (U[:, keep] ** 2 / mu[keep]).sum(axis=1)
        # a direction of (gamma, alpha) that the trust rows can absorb is flat: its
        # gamma/alpha weight, not that of the whole null vector, whose trust part dwarfs it
        in_flat = (U[:, ~keep] ** 2).sum(axis=1)
        var_g, var_a = np.array([var_g]), np.array([var_a])
        flat_g, flat_a = in_flat[:1], in_flat[1:]
    dof = max(T * int(heard.sum()) * _free_per_row(K) - rank, 1)  # <= 0: see fit_fj
    sigma2 = float((resid.ravel() @ resid.ravel()) / dof)
    g_se = g_own * (1 - g_own) * np.sqrt(np.clip(var_g * sigma2, 0, None))
    a_se = a_own * (1 - a_own) * np.sqrt(np.clip(var_a * sigma2, 0, None))
    frozen = (1 - g_own) * (1 - a_own) < 1e-6
    # no information (variance 0) is not certainty: an SE of 0 would claim it
    g_se[(flat_g > 1e-6) | frozen | (var_g <= 0)] = np.inf
    a_se[(flat_a > 1e-6) | frozen | (var_a <= 0)] = np.inf
    return g_se, a_se


def fit_transcripts(
    transcripts: Any,
    *,
    train_rounds: int | None = None,
    progress: bool = False,
    return_fits: bool = False,
    incremental: bool = False,
    checkpoint: str | os.PathLike[str] | None = None,
    **fit_kwargs: Any,
) -> pd.DataFrame | tuple[pd.DataFrame, list[FJFit]]:
    """One maximum-likelihood fit per transcript (MAS-Cascade's one fit per question).

    Parameters
    ----------
    transcripts
        ``(Q, T + 1, n, K)`` array or a sequence of ``(T + 1, n, K)`` transcripts; or a
        long table (a DataFrame of one row per belief, with a ``question`` column for
        several questions: what ``prunus fj simulate`` writes to ``trajectories.csv``, read
        by :func:`multiagent.read_transcripts` in the order of a DataFrame ``adjacency``),
        one transcript per question in the order of their sorted labels; or a sequence
        of such tables, one question each (each read the same way; they must name the
        same agents), in the order given; or what :func:`multiagent.read_transcripts`
        returns (a :class:`~multiagent.Transcripts`): its beliefs, one transcript per
        question in the order of ``Transcripts.questions``, which label the rows, and
        its agents' names, which name the fits' agents (put in the order of a DataFrame
        ``adjacency``, matched as text), the table and fits that its long table or
        ``prunus fj fit`` of its file give (``fit_transcripts(read_transcripts(path))``
        failed: "'Transcripts' object is not iterable").  Rounded probabilities:
        ``read_transcripts(table, normalize=True)``.
    train_rounds
        Fit on rounds ``0..train_rounds`` and score the later rounds (default: all rounds,
        scored on rounds ``1..T`` of a rollout from round 0, :meth:`FJFit.score` with
        ``start=0``; not one step ahead from each observed round, which is what the fit's
        ``loss`` measures).  MAS-Cascade's prediction protocol (fit rounds 0-7, roll out
        from round 7, score rounds 8 on) is ``train_rounds=7``; it fits ``gamma`` and
        ``alpha`` per agent, i.e. ``per_agent=True`` (shared here by default).
    progress
        Show a tqdm bar over transcripts.
    return_fits
        Also return the :class:`FJFit` of every transcript (per-agent parameters, trust).
    incremental
        Score MAS-Cascade's incremental prediction (one round ahead from each observed
        round, 50 gradient steps at lr 0.01 after each, :meth:`FJFit.predict`) instead of
        the roll-out.
    checkpoint
        A JSON file that keeps the finished transcripts' rows and fits, rewritten
        atomically as they finish (after every transcript, less often when writing it
        would take more than a tenth of the time; and when the loop is interrupted, e.g.
        by Ctrl-C).  When it exists, the transcripts it holds are read back instead of
        fitted again, bit for bit as fitted, so a call interrupted and repeated returns
        what one uninterrupted call returns.  It is used only with the same transcripts
        (their values and dtypes, by fingerprint), ``train_rounds``, ``incremental`` and
        ``fit_kwargs`` (``progress`` aside); with others, or a damaged file, ``ValueError``
        names it.  Every transcript is checked before the first fit (a bad one would
        leave a checkpoint the corrected data cannot use).  It is left in place: delete it
        once the results are saved (``prunus fj fit`` does).  Default: none.
    **fit_kwargs
        Passed to :func:`fit_fj`.

    Returns
    -------
    pandas.DataFrame or tuple
        One row per transcript: ``transcript``, ``gamma``/``alpha`` (mean over agents for
        per-agent fits; over the agents that hear someone, where an isolated agent's are
        not identified, see :func:`fit_fj`), ``loss``, ``scored_from`` (int: the round the
        scoring starts from, ``train_rounds``, or 0 when no round is held out, i.e.
        ``train_rounds`` left out or equal to the last round ``T``: then rounds ``1..T``
        are scored in-sample), the metrics of :func:`transcript_metrics` on the scored
        rounds ``scored_from + 1..T`` and, last, ``converged`` (bool: False where a fit
        used all ``max_steps`` without meeting ``tol``, its estimates still moving; see
        :attr:`FJFit.converged`); for a long table or a Transcripts, ``question`` (its
        label) after ``transcript``, and the fits name the agents it names.  With
        ``return_fits``, ``(table, fits)``.

    Examples
    --------
    Two noise-free debates of three agents who trust each other equally, planted with
    ``gamma`` 0.2 and 0.6; with the trust held uniform the fits find both:

    >>> import numpy as np
    >>> from multiagent import fit_transcripts, simulate_transcript
    >>> W = (np.ones((3, 3)) - np.eye(3)) / 2
    >>> X = np.stack([simulate_transcript(3, 5, 2, gamma=g, alpha=0.4, W=W, noise=0.0, seed=0)
    ...               for g in (0.2, 0.6)])
    >>> table = fit_transcripts(X, learn_trust=False)
    >>> table[["gamma", "alpha"]].round(3).values.tolist()
    [[0.2, 0.4], [0.6, 0.4]]
    """
    questions, names = None, None
    if _is_transcripts(transcripts):
        # read_transcripts' result: "'Transcripts' object is not iterable"
        transcripts, questions, names = _read_in_order(
            transcripts, _agent_names(fit_kwargs.get("adjacency")))
    elif is_dataframe(transcripts):  # a long table: list() gave its column names
        from multiagent.transcripts import _read_frame

        read = _read_frame(transcripts, _agent_names(fit_kwargs.get("adjacency")), "adjacency")
        questions, names = read.questions, read.agents
        transcripts = read.beliefs
    elif (isinstance(transcripts, list | tuple) and transcripts
          and any(is_dataframe(t) for t in transcripts)):
        # one long table per question: each row's values were taken as beliefs ("could not
        # convert string to float: 'q_001'")
        questions, names, transcripts = _read_frames(transcripts, fit_kwargs.get("adjacency"))
    items = list(transcripts)
    saved = None
    if checkpoint is not None:
        # every transcript checked first: one that fails after others were fitted left a
        # checkpoint that the corrected transcripts (another fingerprint) could not use
        for q, given in enumerate(items):
            _check_transcript(given, names, None if questions is None else questions[q])
        saved = _FitCheckpoint(checkpoint, _fits_signature(items, train_rounds, incremental,
                                                           fit_kwargs), len(items))
    done = [] if saved is None else saved.read()
    rows = [row for row, _ in done]
    fits = [fit for _, fit in done]
    bar = tqdm(total=len(items), initial=len(done), disable=bar_disabled(progress), desc="fit FJ")
    # closed however the loop ends: a bar left open by Ctrl-C pushed later bars down
    try:
        for q in range(len(done), len(items)):
            given = items[q]
            X = _check_transcript(given, names, None if questions is None else questions[q])
            # an isolated agent is named once, by the first fit (not once per question)
            with _isolated_said() if q > len(done) else contextlib.nullcontext():
                # the transcript as given, checked at its own precision (X is widened)
                fit = fit_fj(given, train_rounds=train_rounds, **fit_kwargs)
            if fit.agents is None and names is not None:
                fit.agents = list(names)
            start = fit.train_rounds if fit.train_rounds < X.shape[0] - 1 else 0
            # an isolated agent's gamma and alpha (its trust in itself is 1) are not
            # identified: left out of the means unless no agent hears another (its gamma,
            # set by noise anywhere in [1e-9, 1], made a mean of 1, 0.2, 0.2 read 0.6)
            heard = np.diagonal(fit.W) < 1
            gamma, alpha = ((fit.gamma, fit.alpha) if heard.all() or not heard.any() else
                            (fit.gamma[heard], fit.alpha[heard]))
            rows.append({"transcript": q,
                         **({} if questions is None else {"question": questions[q]}),
                         "gamma": float(gamma.mean()), "alpha": float(alpha.mean()),
                         "loss": fit.loss, "scored_from": start,
                         **fit.score(given, start=start, incremental=incremental)})
            fits.append(fit)
            bar.update()
            if saved is not None:
                saved.record(rows, fits)
    except BaseException:
        if saved is not None:  # keep what was fitted (Ctrl-C, or a fit that fails)
            try:
                saved.record(rows, fits, now=True)
            except OSError:  # e.g. a full disk: the error that stopped the fits matters more
                pass
        raise
    finally:
        bar.close()
    if saved is not None:
        saved.record(rows, fits, now=True)  # all of them: the caller's outputs may fail
    table = pd.DataFrame(rows)
    # from the fits, not the rows, so that rows of an older checkpoint get it too; last, so
    # the columns before keep their places (prunus fj fit's fits.csv has it last as well)
    table["converged"] = [fit.converged for fit in fits]
    return (table, fits) if return_fits else table


def _read_frames(frames: list[Any] | tuple[Any, ...], adjacency: Any
                 ) -> tuple[list[Any] | None, list[str] | None, list[np.ndarray]]:
    """Read a list of one-question long tables (:func:`fit_transcripts`).

    Returns the questions' labels (None unless every table has a question column), the
    agents' names (the same in every table) and the transcripts.
    """
    from multiagent.transcripts import _read_frame

    if not all(is_dataframe(t) for t in frames):
        kinds = sorted({type(t).__name__ for t in frames})
        raise TypeError(f"transcripts: expected DataFrames only or arrays only, got a "
                        f"sequence of {kinds}")
    given = _agent_names(adjacency)
    labels, names, beliefs = [], None, []
    for q, frame in enumerate(frames):
        read = _read_frame(frame, given, "adjacency")
        if len(read.questions) != 1:
            raise ValueError(
                f"transcripts[{q}] holds {len(read.questions)} questions "
                f"({reprlib.repr(read.questions)}): give one question per DataFrame, or "
                "concatenate them into one table with a question column "
                "(pd.concat(frames)) and pass that")
        if q and read.agents != names:
            raise ValueError(f"transcripts[{q}] names the agents {reprlib.repr(read.agents)}, "
                             f"transcripts[0] {reprlib.repr(names)}: every question's table "
                             "must name the same agents (in the same order of first "
                             "appearance, or give a DataFrame adjacency naming them)")
        names = read.agents
        if "question" in frame.columns or "question" in frame.index.names:
            labels.append(read.questions[0])
        beliefs.append(read.beliefs[0])
    return (labels if len(labels) == len(frames) else None), names, beliefs


_CHECKPOINT_FORMAT = "prunus.fj.fit_transcripts_checkpoint/1"


def _fits_signature(items: list[Any], train_rounds: Any, incremental: Any,
                    fit_kwargs: dict[str, Any]) -> dict[str, Any]:
    """Return what decides :func:`fit_transcripts`' rows and fits, for its checkpoint.

    The transcripts by fingerprint (values, shapes and dtypes, as given: a float16
    transcript is checked at its own precision), the settings by value, and a matrix
    setting (``adjacency``) by the fingerprint of its values and its agents' names.
    """
    from core.fingerprint import fingerprint

    def value(name: str, v: Any) -> Any:
        if v is None or isinstance(v, bool | str):
            return v
        if isinstance(v, np.bool_):
            return bool(v)
        if isinstance(v, int | np.integer):
            return int(v)
        if isinstance(v, float | np.floating):
            return repr(float(v))  # NaN compares equal as text
        labels = _agent_names(v)
        values = as_dense_numpy(square_frame(v, name))  # a DataFrame in its index order
        return {"fingerprint": fingerprint(values), "agents": labels}

    # one key per setting, so that a refusal names the one that differs
    return {"transcripts": fingerprint(*items),
            "train_rounds": value("train_rounds", train_rounds),
            "incremental": value("incremental", incremental),
            **{k: value(k, v) for k, v in sorted(fit_kwargs.items()) if k != "progress"}}


class _FitCheckpoint:
    """:func:`fit_transcripts`' checkpoint: the finished rows and fits, in order.

    Written as JSON with NaN and inf as such (Python's ``json`` reads them back), so that
    every float returns bit for bit; rewritten whole and atomically, after every transcript
    unless the last write took more than a tenth of the time since.
    """

    def __init__(self, path: str | os.PathLike[str], signature: dict[str, Any],
                 count: int) -> None:
        self.path = Path(path)
        self.signature = signature
        self.count = count
        self.written = 0  # transcripts in the file
        self.last = float("-inf")  # when it was last written, and how long that took
        self.cost = 0.0

    def read(self) -> list[tuple[dict[str, Any], FJFit]]:
        """Return the rows and fits of the file, or none if there is no file.

        Raises
        ------
        ValueError
            If the file cannot be read, or belongs to other transcripts or settings.
        """
        if not self.path.exists():
            return []
        where = f"checkpoint {str(self.path)!r}"
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{where} cannot be read: {exc}") from exc
        if not isinstance(saved, dict) or saved.get("format") != _CHECKPOINT_FORMAT:
            raise ValueError(f"{where} is not a checkpoint of prunus FJ fits")
        try:  # an edited or damaged file: KeyError 'signature', TypeError ...
            old = dict(saved["signature"])
            done = [(dict(entry["row"]), _fit_from_state(entry["fit"]))
                    for entry in saved["done"]]
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"{where} cannot be read: it is damaged ({type(exc).__name__}: "
                             f"{exc}); delete it to start afresh") from exc
        differ = sorted(k for k in set(old) | set(self.signature)
                        if old.get(k) != self.signature.get(k))
        if differ:
            raise ValueError(f"{where} belongs to other fits (differs in: "
                             f"{', '.join(differ)}); delete it or pass another path")
        if len(done) > self.count:
            raise ValueError(f"{where} cannot be read: it is damaged (it holds {len(done)} "
                             f"fits of {self.count} transcripts); delete it to start afresh")
        self.written = len(done)
        return done

    def record(self, rows: list[dict[str, Any]], fits: list[FJFit], *,
               now: bool = False) -> None:
        """Write the rows and fits if any are new, and it is time (or ``now``)."""
        import time

        from core.atomic import atomic_path

        if len(rows) == self.written:
            return
        start = time.monotonic()
        if not now and start - self.last < 10 * self.cost:  # writes take <= 1/10 of the time
            return
        text = json.dumps({"format": _CHECKPOINT_FORMAT, "signature": self.signature,
                           "done": [{"row": row, "fit": _fit_state(fit)}
                                    for row, fit in zip(rows, fits)]})
        with atomic_path(self.path) as tmp:
            tmp.write_text(text + "\n", encoding="utf-8")
        self.written = len(rows)
        self.last = time.monotonic()
        self.cost = self.last - start


def _fit_state(fit: FJFit) -> dict[str, Any]:
    """Return a fit as plain values (floats exact in JSON, NaN and inf included)."""
    def listed(x: np.ndarray | None) -> list[Any] | None:
        return None if x is None else np.asarray(x, dtype=np.float64).tolist()

    return {"gamma": listed(fit.gamma), "alpha": listed(fit.alpha), "W": listed(fit.W),
            "loss": float(fit.loss), "train_rounds": int(fit.train_rounds),
            "history": [float(v) for v in fit.history], "gamma_se": listed(fit.gamma_se),
            "alpha_se": listed(fit.alpha_se), "converged": fit.converged,
            "agents": fit.agents}


def _fit_from_state(state: dict[str, Any]) -> FJFit:
    """Return the :class:`FJFit` of :func:`_fit_state`'s values."""
    def array(x: Any) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    def optional(x: Any) -> np.ndarray | None:  # no standard errors (loss="kl")
        return None if x is None else array(x)

    return FJFit(array(state["gamma"]), array(state["alpha"]), array(state["W"]),
                 float(state["loss"]), int(state["train_rounds"]),
                 [float(v) for v in state["history"]], optional(state["gamma_se"]),
                 optional(state["alpha_se"]), state["converged"], state["agents"])


def fit_sparse_trust(
    transcript: Any,
    keep: int,
    *,
    adjacency: Any | None = None,
    **fit_kwargs: Any,
) -> FJFit:
    """Fit FJ with at most ``keep`` trusted speakers per agent (iterative magnitude pruning).

    Sparsity penalties do not work on row-stochastic trust: every row of ``W`` has L1
    norm 1, so an L1 penalty (or the L1-like implicit bias of a mirror-flow / Hadamard
    parameterization) cannot prefer sparse rows.  Instead this fits the full model,
    removes each agent's least-trusted speaker, refits on the remaining support, and
    repeats until ``keep`` speakers remain (IMP with refitting, as in lottery-ticket
    pruning).

    Parameters
    ----------
    transcript
        ``(T + 1, n, K)`` beliefs, or one question's long table (a DataFrame or a
        Transcripts), as in :func:`fit_fj`.
    keep
        Speakers kept per agent (>= 1).
    adjacency
        Initial support (default complete); a DataFrame's index names the agents
        (:attr:`FJFit.agents`), as in :func:`fit_fj`.  An agent that hears no one keeps
        its trust in itself (as in :func:`fit_fj`).
    **fit_kwargs
        Passed to :func:`fit_fj` (``per_agent``, ``loss``, ``train_rounds``...).

    Returns
    -------
    FJFit
        The final fit; ``W`` is zero outside the kept support.

    Examples
    --------
    Three agents in a ring, each listening to the next one only; pruned to one speaker per
    agent, the fit finds the ring:

    >>> import numpy as np
    >>> from multiagent import fit_sparse_trust, simulate_transcript
    >>> W = np.roll(np.eye(3), 1, axis=1)  # agent i trusts agent i + 1 (mod 3)
    >>> X = simulate_transcript(3, 3, 2, gamma=0.3, alpha=0.4, W=W, noise=0.0, seed=0)
    >>> fit = fit_sparse_trust(X, keep=1)
    >>> fit.W.argmax(axis=1).tolist(), (fit.W > 0).sum(axis=1).tolist()
    ([1, 2, 0], [1, 1, 1])
    """
    names = _agent_names(adjacency)
    # a long table read once, in the adjacency's agent order (the mask below has none)
    transcript, read_names = _transcript_of(transcript, names)
    names = read_names if names is None else names
    X = _check_transcript(transcript)
    n = X.shape[1]
    # check_count: keep=True kept one speaker, a 0-d tensor failed in a compare
    try:
        keep = check_count("keep", keep)
    except (TypeError, ValueError):
        raise ValueError(f"keep must be a positive integer, got {keep!r}") from None
    mask = _mask(adjacency, n, names)
    with _isolated_said():  # said above, by name: not again in every round
        # the transcript as given: X is widened to float64, where a float16 transcript's
        # rounding fails fit_fj's check
        fit = fit_fj(transcript, adjacency=mask, **fit_kwargs)
        while (mask.sum(axis=1) > keep).any():
            W = np.where(mask, fit.W, np.inf)
            for i in range(n):
                if mask[i].sum() > keep:
                    mask[i, int(np.argmin(W[i]))] = False
            fit = fit_fj(transcript, adjacency=mask, **fit_kwargs)
    fit.agents = names  # fit_fj saw the unlabelled mask
    return fit


def simulate_transcript(
    n: int,
    rounds: int,
    n_options: int,
    *,
    gamma: Any,
    alpha: Any,
    W: Any | None = None,
    noise: float = 0.01,
    concentration: float = 1.0,
    seed: int | None = 0,
) -> np.ndarray:
    """Draw a noisy FJ debate transcript (a planted truth for testing fits).

    Innate beliefs are ``Dirichlet(concentration)``; each round applies the FJ update to
    the previous *reported* beliefs and adds Gaussian noise of scale ``noise``, then
    clips at zero and renormalises (reports stay probability vectors).

    Parameters
    ----------
    n, rounds, n_options
        Agents, rounds after round 0, options K.
    gamma, alpha
        Scalars or per-agent vectors.
    W
        Trust matrix (default: random row-stochastic with zero diagonal).
    noise
        Standard deviation of the per-entry report noise.
    concentration
        Dirichlet concentration of innate beliefs.
    seed
        Seed; None draws fresh entropy (another transcript on every call).

    Returns
    -------
    ``(rounds + 1, n, n_options)`` transcript.

    Examples
    --------
    >>> import numpy as np
    >>> from multiagent import fj_step, simulate_transcript
    >>> X = simulate_transcript(5, 10, 3, gamma=0.3, alpha=0.4, seed=0)
    >>> X.shape  # (rounds + 1, agents, options)
    (11, 5, 3)
    >>> bool(np.allclose(X.sum(axis=-1), 1))  # every report is a probability vector
    True
    >>> W = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> X = simulate_transcript(2, 3, 2, gamma=0.5, alpha=0.0, W=W, noise=0.0, seed=0)
    >>> bool(np.allclose(X[1], fj_step(X[0], X[0], W, 0.5, 0.0)))  # noise-free: FJ rounds
    True
    """
    check_count("n", n)
    check_count("rounds", rounds, at_least=0)
    # a float: a 0-d tensor failed in "noise * rng.standard_normal(...)", NaN gave NaN reports
    noise = check_number("noise", noise, at_least=0)
    rng = np.random.default_rng(check_seed(seed))
    if W is None:
        W = rng.random((n, n)) + 0.1
        if n > 1:  # a lone agent has no peer: it hears itself (W = [[1]]), not 0/0
            np.fill_diagonal(W, 0)
        W /= W.sum(axis=1, keepdims=True)
    model = FriedkinJohnsen(W, gamma, alpha)
    S = rng.dirichlet(np.full(n_options, concentration), size=n)
    out = [S]
    B = S
    for _ in range(rounds):
        B = model.step(B, S) + noise * rng.standard_normal(S.shape)
        B = np.clip(B, 0, None)
        B = B / B.sum(axis=1, keepdims=True)
        out.append(B)
    return np.stack(out)


def _elbo_drop(elbo: list[float]) -> tuple[float, float] | None:
    """Return the SVI loss's drop over the second half of the run and its step noise.

    The drop is the mean of the tenth of the steps from mid-run less that of the last
    tenth; the noise is the sd of one step's loss, from successive differences over the
    second half (a falling trend barely moves them). None below 50 steps (windows under 5
    steps say nothing of a loss this noisy).
    """
    w = len(elbo) // 10
    if w < 5:
        return None
    half = len(elbo) // 2
    with np.errstate(invalid="ignore"):  # an infinite loss: NaN, which the caller reports
        drop = float(np.mean(elbo[half:half + w]) - np.mean(elbo[-w:]))
        return drop, float(np.std(np.diff(elbo[half:])) / np.sqrt(2))


def _normalise_trust(raw: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    raw = torch.where(mask, raw, torch.zeros((), dtype=raw.dtype))
    return raw / raw.sum(-1, keepdim=True)


@with_grad  # also inside the caller's torch.no_grad() or inference_mode()
def fit_fj_bayes(
    transcript: Any,
    *,
    adjacency: Any | None = None,
    per_agent: bool = True,
    gamma_prior: tuple[float, float] = (2.0, 5.0),
    alpha_prior: tuple[float, float] = (2.0, 2.0),
    trust_concentration: float = 1.0,
    noise_scale: float = 0.05,
    num_steps: int = 1000,
    lr: float = 0.02,
    num_samples: int = 500,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Bayesian FJ fit with priors, for transcripts where parameters are not identified.

    Model: ``gamma_i ~ Beta(*gamma_prior)``, ``alpha_i ~ Beta(*alpha_prior)``, trust rows
    ``W_i ~ Dirichlet(trust_concentration)`` over neighbours, noise
    ``sigma ~ HalfNormal(noise_scale)``, and ``b(t+1) ~ Normal(FJ(b(t)), sigma)``
    (teacher-forced).  Inference by pyro SVI with a full-covariance Gaussian guide in the
    unconstrained space (``AutoMultivariateNormal``; low-rank plus diagonal beyond 500
    latent values): gamma, alpha and trust are strongly correlated here, and a mean-field
    guide understated the spread (95 % intervals covered the truth 45 % of the time; this
    guide 83-89 % on 6 simulated debates of 6 agents, still somewhat narrow: for calibrated
    intervals of an identified fit use :func:`fit_fj`'s standard errors). An
    agent that never moves is explained by gamma = 1 or alpha = 1 alike, so the posterior
    of the pair follows that ridge rather than the priors.

    Parameters
    ----------
    transcript
        ``(T + 1, n, K)``, or one question's long table (a DataFrame or a
        Transcripts), as in :func:`fit_fj`.
    adjacency
        Who listens to whom (default complete); a DataFrame is read by label, as in
        :func:`fit_fj`.  An agent that hears no one listens only to itself (trust 1, as
        in :func:`fit_fj`) and keeps its innate belief: its transitions are left out of
        the likelihood, so its ``gamma`` and ``alpha`` posteriors are their priors (a
        shared pair is that of the other agents).
    per_agent
        One ``gamma``/``alpha`` per agent (else shared).
    gamma_prior, alpha_prior
        Beta(a, b) parameters.
    trust_concentration
        Dirichlet concentration of each trust row.
    noise_scale
        Scale of the HalfNormal prior on the report noise, in the data's units: the
        default, 0.05, is for beliefs on the probability scale.  Opinions on another
        scale need about 0.05 of their range (0.3 on a Likert 1-7 scale, 5 on a 0-100
        thermometer): there the default pins the noise near 0 and narrows the intervals
        (the same debate x 100 gave a posterior sigma of 0.6 where 3.0 is right, and a
        gamma interval 0.026 wide instead of 0.116), and scalar opinions (K = 1) that span
        a range above 2 with ``noise_scale`` at 0.05 are warned about (``UserWarning``
        naming it and the range).
    num_steps, lr
        SVI steps and Adam learning rate.
    num_samples
        Posterior draws for the summaries, at least 2 (their spread gives the sds).
    seed
        Seed of the SVI and posterior draws, in ``[0, 2**32)``; the global torch, numpy and
        ``random`` generators and pyro's parameter store are left as they were. Fits in
        several threads run their SVI one at a time (pyro's state is process-wide), each
        giving what it gives alone.
    progress
        Show a tqdm bar.

    Returns
    -------
    dict
        ``gamma_mean``, ``gamma_std``, ``alpha_mean``, ``alpha_std`` (``(n,)`` or
        ``(1,)``), ``gamma_low``, ``gamma_high``, ``alpha_low``, ``alpha_high`` (the
        equal-tailed 95 % intervals of the ``num_samples`` draws, inside [0, 1]),
        ``W_mean`` and ``W_std`` ``(n, n)``, ``sigma_mean``, ``sigma_std``, ``elbo`` (loss
        history: the negative ELBO, a one-draw Monte Carlo estimate, as ``svi.step()``
        returned it at each
        of the ``num_steps``) and ``converged`` (bool: whether that loss has levelled off,
        see Notes); with a DataFrame ``adjacency`` also ``agents``, its index as text (the
        order of the arrays, as :attr:`FJFit.agents`), or the names of a long-table
        ``transcript``.

    Notes
    -----
    SVI runs all ``num_steps``; ``converged`` is a heuristic test of its noisy loss: the
    mean loss over the last 10 % of the steps is at most one step's noise (the sd of the
    loss from step to step over the second half) below its mean over the 10 % from mid-run.
    It is False with fewer than 50 steps or a non-finite loss, and then a ``UserWarning``
    says which (as :func:`biomodels.cascade.fit_bayesian` warns); from 50 steps on, False
    comes with a ``UserWarning`` naming ``num_steps`` and the drop. The plateau test of
    :func:`core.plateau.loss_plateaued` (0.1 %) was too strict for this loss, whose noise
    is 1-3 % of it: it read False in 35 of 40 fits at the default 1,000 steps. On
    4 simulated debates (4 to 6 agents, 10 rounds, report noise 0.02, default settings)
    this test read True from 500 steps on and False at 50-100 steps (the loss then 10-48
    above where it settled); a temporary plateau can read True. When in doubt look at
    ``elbo`` (a running mean) and add steps.

    Belief rows on the simplex (``K >= 2``) enter the likelihood by their first ``K - 1``
    values, the last being 1 minus their sum (as :func:`fit_fj` counts them): all ``K``
    counted every transition ``K / (K - 1)`` times and narrowed the intervals (``K = 2``
    gave a gamma sd 0.0116 where its first column alone gave 0.0175).
    """
    import pyro
    import pyro.distributions as dist
    from pyro.infer import SVI, Trace_ELBO
    from pyro.infer.autoguide import AutoLowRankMultivariateNormal, AutoMultivariateNormal

    names = _agent_names(adjacency)
    transcript, read_names = _transcript_of(transcript, names)
    names = read_names if names is None else names
    X = _check_transcript(transcript)
    # pyro's own message named a Dirichlet "concentration", not the argument given
    for name, prior in (("gamma_prior", gamma_prior), ("alpha_prior", alpha_prior)):
        if len(prior) != 2:
            raise ValueError(f"{name}: expected the two Beta parameters (a, b), got {prior!r}")
        for k, v in enumerate(prior):
            check_number(f"{name}[{k}]", v, above=0)
    check_number("trust_concentration", trust_concentration, above=0)
    check_number("noise_scale", noise_scale, above=0)
    spread = float(X.max() - X.min())
    if X.shape[2] == 1 and spread > 2 and float(noise_scale) == 0.05:
        # in the opinions' units: on a 0-100 scale HalfNormal(0.05) pinned sigma at 0.6
        # where 3.0 is right, and the gamma interval narrowed from 0.116 to 0.026 wide
        warnings.warn(
            "fit_fj_bayes: noise_scale is 0.05 (the default), the scale of the HalfNormal "
            "prior on the report noise in the opinions' units, made for beliefs on the "
            f"probability scale; these opinions span a range of {spread:.4g} (from "
            f"{float(X.min()):.4g} to {float(X.max()):.4g}), where it pins the noise near 0 "
            "and narrows the intervals: pass about 0.05 of the range: "
            f"noise_scale={0.05 * spread:.3g} here (0.3 on a 1-7 scale, 5 on 0-100)",
            UserWarning, stacklevel=user_stacklevel())
    # never checked: num_samples=True drew one sample (a NaN std), "1000" failed in range()
    num_steps = check_count("num_steps", num_steps)
    num_samples = check_count("num_samples", num_samples)
    if num_samples < 2:  # one draw has no spread: every "std" came out NaN
        raise ValueError(f"num_samples: the posterior's spread is estimated from its draws, "
                         f"so it needs at least 2, got {num_samples}")
    lr = check_number("lr", lr, above=0)
    seed = check_seed(seed, optional=False, bits=32)  # pyro seeds numpy's global generator
    n = X.shape[1]
    mask_np = _mask(adjacency, n, names)
    data = torch.as_tensor(X)
    S, prev, nxt = data[0], data[:-1], data[1:]
    size = n if per_agent else 1
    mask_t = torch.as_tensor(mask_np)
    # an isolated agent's transitions say nothing on any parameter (it keeps its innate
    # belief whatever they are): out of the likelihood, as in fit_fj
    heard = _hears_someone(mask_np)
    fitted = None if heard.all() else torch.as_tensor(np.flatnonzero(heard))
    observed = nxt if fitted is None else nxt[:, fitted]
    # a belief row on the simplex has K - 1 free values (its last is 1 minus the rest, as
    # _free_per_row says for fit_fj): a likelihood on all K counted each transition K / (K
    # - 1) times, and K = 2 gave a gamma sd 0.0116 where its first column alone gave 0.0175
    free = _free_per_row(X.shape[2])
    observed = observed[..., :free]

    def model() -> None:
        f64 = dict(dtype=torch.float64)
        with pyro.plate("agents", size):
            g = pyro.sample("gamma", dist.Beta(torch.tensor(gamma_prior[0], **f64),
                                               torch.tensor(gamma_prior[1], **f64)))
            a = pyro.sample("alpha", dist.Beta(torch.tensor(alpha_prior[0], **f64),
                                               torch.tensor(alpha_prior[1], **f64)))
        # Dirichlet(conc) rows over each agent's neighbours, as normalised Gamma(conc, 1)
        # draws on the allowed entries (one vectorised site instead of n Dirichlets; the
        # unused entries keep their prior)
        with pyro.plate("listeners", n, dim=-2), pyro.plate("speakers", n, dim=-1):
            raw = pyro.sample("trust", dist.Gamma(torch.tensor(trust_concentration, **f64),
                                                  torch.tensor(1.0, **f64)))
        W = _normalise_trust(raw, mask_t)
        sigma = pyro.sample("sigma", dist.HalfNormal(torch.tensor(noise_scale, **f64)))
        g2 = g.expand(n)[None, :, None]
        a2 = a.expand(n)[None, :, None]
        pred = g2 * S[None] + (1 - g2) * (a2 * prev + (1 - a2) * torch.einsum("ij,tjk->tik", W,
                                                                              prev))
        if fitted is not None:
            pred = pred[:, fitted]
        pyro.sample("obs", dist.Normal(pred[..., :free], sigma).to_event(3), obs=observed)

    latent = 2 * size + n * n + 1
    # the caller's global random streams and pyro parameters stay as they were, and the
    # caller's pyro handlers see none of it (inside a trace() it failed on repeated sites)
    with seeded_globals(seed), pyro.get_param_store().scope(), pyro.poutine.block():
        guide = (AutoMultivariateNormal(model, init_scale=0.05) if latent <= 500 else
                 AutoLowRankMultivariateNormal(model, init_scale=0.05, rank=min(50, latent)))
        svi = SVI(model, guide, pyro.optim.Adam({"lr": lr}), loss=Trace_ELBO())
        elbo = []
        for _ in tqdm(range(num_steps), disable=bar_disabled(progress), desc="pyro FJ"):
            elbo.append(float(svi.step()))
        with torch.no_grad():
            samples = [guide() for _ in range(num_samples)]
    draws = {k: torch.stack([d[k] for d in samples]) for k in ("gamma", "alpha", "sigma",
                                                                "trust")}
    W_draws = _normalise_trust(draws["trust"], mask_t).detach()
    W_mean = W_draws.mean(0).numpy()

    def tails(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        # equal-tailed 95 % from the draws, inside [0, 1] as gamma and alpha are: mean +-
        # 1.96 sd, all the mean and sd allowed, went below 0 for a gamma near 0
        levels = torch.tensor([0.025, 0.975], dtype=torch.float64)
        q = torch.quantile(x.detach().double(), levels, dim=0)
        return q[0].numpy(), q[1].numpy()

    (g_low, g_high), (a_low, a_high) = tails(draws["gamma"]), tails(draws["alpha"])
    # settled: the second half's drop within one step's noise. The plateau test at rtol
    # 1e-3 (last tenth against the tenth before) read False in 35 of 40 default fits, the
    # windows' means moving by 0.2-1.3 % where the loss had settled (noise sd 4-8 on -100 to
    # -280); this drop was 3-7 noise sds at 50-100 steps (loss 10-48 above where it
    # settled) and under 0.6 from 500 steps on (4 debates, 2,000 steps each)
    found = _elbo_drop(elbo)
    converged = (found is not None and all(np.isfinite(found)) and found[0] <= found[1])
    if found is None:
        # as fit_bayesian of the cascades says: num_steps=10 returned converged False alone
        warnings.warn(
            f"fit_fj_bayes: the ELBO cannot have settled after num_steps={num_steps}: too few "
            "to settle, or to tell (the loss is judged over at least 50 steps); the posterior "
            "summaries are those of an unfinished fit: raise num_steps and look at 'elbo'",
            UserWarning, stacklevel=user_stacklevel())
    elif not all(np.isfinite(found)):
        warnings.warn(
            f"fit_fj_bayes: the ELBO is not finite over the second half of num_steps="
            f"{num_steps}; the posterior summaries are not to be trusted: look at 'elbo', "
            "and lower lr", UserWarning, stacklevel=user_stacklevel())
    elif not converged:
        drop, noise = found
        before = float(np.mean(elbo[len(elbo) // 2:len(elbo) // 2 + len(elbo) // 10]))
        warnings.warn(
            f"fit_fj_bayes: the ELBO has not settled after num_steps={num_steps}: the loss "
            f"fell by {drop:.4g} ({drop / abs(before):.2%} relative) over the second half of "
            f"the run (mean of the last tenth of the steps against the tenth from mid-run), "
            f"more than the noise of one step ({noise:.3g}); the posterior summaries are "
            "those of an unfinished fit: raise num_steps (or lr) and look at 'elbo'",
            UserWarning, stacklevel=user_stacklevel())
    return {
        "gamma_mean": draws["gamma"].mean(0).detach().numpy(),
        "gamma_std": draws["gamma"].std(0).detach().numpy(),
        "alpha_mean": draws["alpha"].mean(0).detach().numpy(),
        "alpha_std": draws["alpha"].std(0).detach().numpy(),
        "gamma_low": g_low, "gamma_high": g_high, "alpha_low": a_low, "alpha_high": a_high,
        "W_mean": W_mean,
        "W_std": W_draws.std(0).numpy(),
        "sigma_mean": float(draws["sigma"].mean()),
        "sigma_std": float(draws["sigma"].std()),
        "elbo": elbo,
        "converged": converged,
        # only when named: an unlabelled fit returns the keys it returned before
        **({} if names is None else {"agents": names}),
    }
