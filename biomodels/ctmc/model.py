"""The model class: fit an MHN-type CTMC to a cohort and query it.

``CTMC`` wraps the pure-torch likelihoods (``likelihood_statespace``, ``likelihood_subsets``,
``orderings_mcmc``) with the usual lifecycle: construct, ``fit``, labelled getters, ``save`` /
``load``. Convention: ``theta[i, j]`` is the effect of event j on the rate of event i (rows are
the affected events, as in MHN and ``mhn``; Gotovos et al.'s code stores the transpose); the
diagonal holds the log base rates.
"""

from __future__ import annotations

import base64
import json
import math
import numbers
import os
import reprlib
import warnings
from collections.abc import Iterator
from collections.abc import Set as AbcSet
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from biomodels._stacklevel import user_stacklevel
from biomodels.ctmc._checks import as_theta
from biomodels.ctmc.crossval import cross_validate, kfold_indices, select_l1
from biomodels.ctmc.data import (
    _event_names,
    _is_anndata,
    _warn_unobserved,
    validate_cohort,
)
from biomodels.ctmc.fit import (
    _check_sample_weight,
    data_log_likelihood,
    fit_theta,
    independence_fit,
)
from biomodels.ctmc.omhn import (
    OBSERVATION,
    as_omhn_theta,
    classical_theta,
    is_omhn_shape,
    sample_omhn_trajectories,
)
from biomodels.ctmc.orders import (
    _order_probabilities,
    most_likely_order,
    order_probability,
    top_orders,
)
from biomodels.ctmc.sampling import Trajectories, sample_trajectories
from biomodels.ctmc.sequences import sequence_log_prob
from core.checks import (
    NotFittedError,
    check_count,
    check_h5ad_key,
    refuse_meta,
    refuse_unordered,
    text_encoding,
)

__all__ = ["CTMC"]


def _check_no_observation_event(names: list[str] | None) -> None:
    """Refuse an event named as an oMHN's observation row (its frame and theta.csv)."""
    if names is not None and OBSERVATION in names:
        raise ValueError(
            f"an oMHN names its observation row {OBSERVATION!r}, as mhn does, and one of "
            "its events (a column of the cohort, or event_names) has that name; rename the "
            f"event (e.g. '{OBSERVATION} (event)')"
        )


def _theta_from_frame(frame: pd.DataFrame, event_names: Any) -> tuple[np.ndarray, list[str]]:
    """Theta and its event names from a labelled frame (``theta_frame()``, mhn's CSV).

    Rows are matched to the columns by label: a cMHN's (n, n) frame has the events on both
    axes, an oMHN's (n + 1, n) the events, then the row ``Observation``, as ``mhn``'s
    ``oMHN.save`` writes it.
    """
    cols = [str(c) for c in frame.columns]
    rows = [str(r) for r in frame.index]
    if event_names is not None and [str(e) for e in _event_names(event_names)] != cols:
        raise ValueError("event_names: a DataFrame theta names its events by its columns; "
                         "leave event_names out or give the columns in their order")
    omhn = frame.shape[0] == frame.shape[1] + 1 and rows[-1] == OBSERVATION
    events = rows[:-1] if omhn else rows
    if len(set(cols)) != len(cols) or sorted(events) != sorted(cols):
        # pd.read_csv reads an event called NA (or nan, None, null) as a missing label
        missing = (" A row label was read as missing: pd.read_csv reads the names NA, nan, "
                   "None and null as missing unless given keep_default_na=False, "
                   "na_values=['']" if bool(pd.isna(frame.index).any()) else "")
        raise ValueError(
            "theta: a DataFrame needs the events as columns and as rows (each once, in any "
            f"order){', then the row ' + repr(OBSERVATION) if omhn else ''}; got rows "
            f"{rows[:6]}{'...' if len(rows) > 6 else ''} and columns "
            f"{cols[:6]}{'...' if len(cols) > 6 else ''} (an oMHN's last row must be named "
            f"{OBSERVATION!r}).{missing}")
    order = [events.index(c) for c in cols] + ([len(events)] if omhn else [])
    values = frame.to_numpy(dtype=np.float64)[order]
    return values, cols


class CTMC:
    """Mutual-hazard CTMC of event accumulation (MHN; Gotovos et al. 2021 for large cohorts).

    Parameters
    ----------
    theta
        Optional known (n, n) parameters (rows = affected event i, columns = influencing
        event j, diagonal = log base rates) of a classical MHN, or (n + 1, n) parameters of
        an oMHN (observation MHN, ``mhn``'s default; e.g. ``oMHN.log_theta``): the event
        rows, then the events' effects on the observation rate (see
        :mod:`biomodels.ctmc.omhn`).
    event_names
        Names of the n events (default ``E0, E1, ...``) in the order of theta's rows, a
        list (a set, whose order changes from one run to the next, is refused with a
        ``TypeError``), read as text like a DataFrame's columns; without ``theta``, the
        names that :meth:`fit` gives a plain array's columns (a DataFrame's or AnnData's
        must be the same events, matched by name in any order). Methods taking an event
        read an integer as its index and a string as its name; methods taking a cohort
        match a DataFrame's or AnnData's events by name.

    Examples
    --------
    >>> import numpy as np
    >>> from biomodels.ctmc import CTMC, random_sparse_theta
    >>> truth = CTMC(random_sparse_theta(4, seed=0))
    >>> X = truth.sample(300, seed=1).X
    >>> model = CTMC().fit(X, l1=0.01, max_steps=100)
    >>> model.theta.shape
    (4, 4)

    Notes
    -----
    An oMHN (``fit(..., model="omhn")`` or an (n + 1, n) ``theta``) keeps its event rows in
    :attr:`theta` ((n, n), as a cMHN's) and its observation row in :attr:`omega`;
    :attr:`log_theta` is the (n + 1, n) matrix of ``mhn``'s ``oMHN.log_theta`` and
    :meth:`classical_theta` the equivalent cMHN's theta (``get_equivalent_classical_mhn``).
    Everything about the observed genotypes and the event order (``log_likelihood``,
    ``order_probability``, ``most_likely_order``, ``top_orders``, ``sample``'s ``X`` and
    ``order``) is that of the equivalent cMHN; ``sample``'s times are simulated with the
    oMHN's own observation rate, and a fixed ``obs_time`` or ``sample_posterior`` is refused.
    """

    def __init__(
        self, theta: np.ndarray | torch.Tensor | None = None, event_names: list[str] | None = None
    ) -> None:
        self._theta: np.ndarray | None = None
        # an oMHN's observation row (None: a classical MHN)
        self._omega: np.ndarray | None = None
        self.event_names: list[str] | None = None
        self.l1: float | None = None
        self.cv_scores: dict[float, list[float]] = {}
        self.fit_info: dict[str, Any] = {}
        self.posterior_samples: np.ndarray | None = None
        # how sample_posterior drew them: method, SVI loss trace and plateau flag
        self.posterior_info: dict[str, Any] | None = None
        if isinstance(theta, pd.DataFrame):
            # theta_frame() or mhn's CSV (pd.read_csv(path, index_col=0)): the names come
            # with it (a frame was refused: "must be a torch.Tensor or numpy array")
            theta, event_names = _theta_from_frame(theta, event_names)
        names = None if event_names is None else _event_names(event_names)
        if names is not None and len(set(names)) != len(names):
            raise ValueError("event_names contains duplicates")
        shape = tuple(theta.shape) if hasattr(theta, "shape") else ()
        if len(shape) == 2 and shape[1] == shape[0] + 1:
            raise ValueError(
                f"theta must be a square (n, n) matrix or an oMHN's (n + 1, n), its last row "
                f"the observation effects (mhn's log_theta), got shape {shape}: pass theta.T "
                "if an oMHN was transposed")
        if theta is not None and is_omhn_shape(theta):
            if names is not None and len(names) == shape[1] + 1:
                raise ValueError(
                    f"event_names has {len(names)} entries for an oMHN of {shape[1]} events: "
                    "pass the events' names (an mhn CSV's columns, not its rows, which end "
                    f"with {OBSERVATION!r})")
            _check_no_observation_event(names)
            # mhn's oMHN.log_theta: event rows, then the observation row
            full = as_omhn_theta(theta).detach().cpu().to(torch.float64).numpy().copy()
            theta, self._omega = full[:-1].copy(), full[-1].copy()
        if theta is not None:
            # a copy: a float64 array was kept as is, so editing it changed the model
            th = as_theta(theta).detach().cpu().to(torch.float64).numpy().copy()
            names = names or [f"E{i}" for i in range(th.shape[0])]
            if len(names) != th.shape[0]:
                raise ValueError(
                    f"event_names has {len(names)} entries but theta has {th.shape[0]} rows"
                )
            self._theta = th
        # without theta they name a plain array's events in fit() (they were dropped, and
        # the events became E0, E1, ...)
        self.event_names = names

    # -- state -------------------------------------------------------------------------
    @property
    def theta(self) -> np.ndarray:
        """(n, n) parameters; rows = affected event i, columns = influencing event j.

        For an oMHN its event rows (the observation row is :attr:`omega`; the likelihood is
        that of :meth:`classical_theta`).
        """
        if self._theta is None:
            raise NotFittedError("the model has no theta yet; call fit() first")
        return self._theta

    @property
    def n_events(self) -> int:
        """Number of events n."""
        return self.theta.shape[0]

    @property
    def model_type(self) -> str:
        """``"omhn"`` for an observation MHN (with :attr:`omega`), else ``"cmhn"``."""
        return "cmhn" if self._omega is None else "omhn"

    @property
    def omega(self) -> np.ndarray | None:
        """An oMHN's (n,) effects of the events on the observation rate; None for a cMHN.

        In state S the tumour is observed at rate ``exp(sum_{j in S} omega[j])``.
        """
        return self._omega

    @property
    def log_theta(self) -> np.ndarray:
        """Theta as ``mhn`` holds it: (n + 1, n) for an oMHN (last row omega), else (n, n).

        A new array: editing it leaves the model unchanged.
        """
        if self._omega is None:
            return self.theta.copy()
        return np.vstack([self.theta, self._omega])

    def classical_theta(self) -> np.ndarray:
        """Return the (n, n) theta of the classical MHN with the same genotype distribution.

        For an oMHN ``theta[i, j] - omega[j]`` off the diagonal and ``theta[i, i]`` on it
        (``mhn``'s ``get_equivalent_classical_mhn().log_theta``); for a cMHN a copy of
        :attr:`theta`.
        """
        if self._omega is None:
            return self.theta.copy()
        return classical_theta(self.log_theta)

    def to_classical(self) -> CTMC:
        """Return the equivalent classical MHN as a new model (``get_equivalent_classical_mhn``).

        Same genotype and order distributions, not the same times (see :mod:`~biomodels.ctmc.omhn`).
        """
        return CTMC(self.classical_theta(), list(self.event_names or []))

    def _ctheta(self) -> np.ndarray:
        """Theta of the likelihood and the jump chain: the classical one (no copy for a cMHN)."""
        return self.theta if self._omega is None else classical_theta(self.log_theta)

    def __repr__(self) -> str:
        # what a notebook shows for `model` (it was "<biomodels.ctmc.model.CTMC object at
        # 0x...>"); never raises, also for an unfitted model or an edited saved file
        names = self.event_names or []
        shown = ", ".join(map(str, names if len(names) <= 5 else [*names[:4], "..."]))
        if self._theta is None:
            head = f"CTMC of {len(names)} events ({shown})" if names else "CTMC"
            return f"{head}, not fitted: call fit()"
        n = self._theta.shape[0]
        off = int(np.count_nonzero(self._theta)) - int(np.count_nonzero(np.diag(self._theta)))
        lines = [f"CTMC of {n} events ({shown}), {off} of {n * (n - 1)} interactions non-zero"]
        if self._omega is not None:  # only for an oMHN: a cMHN's repr stays as it was
            lines[0] = "oMHN " + lines[0] + (f", {int(np.count_nonzero(self._omega))} of {n} "
                                             "observation effects non-zero")
        info = self.fit_info if isinstance(self.fit_info, dict) else {}
        if self.l1 is None and not info:
            lines.append("    theta given, not fitted")
        else:
            steps = info.get("n_steps")
            done = info.get("converged")
            conv = None if not isinstance(done, bool) else (
                ("converged" if done else "did not converge")
                + ("" if steps is None else f" after {steps} steps"))
            l1 = self.l1  # as read from a saved file, which may have been edited
            parts = [f"l1={l1:g}" if isinstance(l1, float | int) else f"l1={l1!r}",
                     f"method {info['method']!r}" if "method" in info else None, conv]
            on = f" on {info['n_tumours']} tumours" if "n_tumours" in info else ""
            weight = info.get("total_weight")
            if on and weight is not None:  # a weighted fit's rows stand for more tumours
                shown = f"{weight:g}" if isinstance(weight, int | float) else repr(weight)
                on = f" on {info['n_tumours']} rows of total weight {shown}"
            lines.append(f"    fitted{on}: " + ", ".join(p for p in parts if p is not None))
            folds = {len(s) for s in self.cv_scores.values()} if self.cv_scores else set()
            if len(folds) == 1:
                lines.append(f"    l1 chosen by {folds.pop()}-fold cross-validation over "
                             f"{len(self.cv_scores)} values")
        if self.posterior_samples is not None:
            lines.append(f"    {len(self.posterior_samples)} posterior samples of theta")
        return "\n".join(lines)

    def theta_frame(self) -> pd.DataFrame:
        """Theta as a labelled DataFrame (index = affected event, columns = influencing event).

        Returns
        -------
        pandas.DataFrame
            (n, n) copy of :attr:`theta` labelled by the event names; the diagonal holds the
            log base rates. For an oMHN (n + 1, n): :attr:`log_theta`, its last row
            ``"Observation"`` (:attr:`omega`), as ``mhn``'s ``oMHN.save`` writes it.
        """
        if self._omega is not None:
            return pd.DataFrame(self.log_theta, index=[*self.event_names, OBSERVATION],
                                columns=self.event_names)
        # a copy: the frame wrapped the model's own array, so editing it changed the model
        return pd.DataFrame(self.theta.copy(), index=self.event_names,
                            columns=self.event_names)

    def _event(self, e: int | str, arg: str) -> int:
        """Return the index of event ``e`` (a name or an index in ``[0, n)``) for ``arg``."""
        if isinstance(e, str):
            if e not in (self.event_names or []):
                raise ValueError(f"{arg}={e!r} is not an event; events: {self.event_names}")
            return self.event_names.index(e)  # type: ignore[union-attr]
        if isinstance(e, bool) or not isinstance(e, int | np.integer):
            raise TypeError(f"{arg}: expected an event name or index, got {e!r}")
        n = self.n_events
        if not 0 <= int(e) < n:
            # -1 was numpy's last event (next_event_probabilities([-1]) answered for [3]),
            # n a bare IndexError; the order functions refuse both in these words
            raise ValueError(f"{arg} must be an event index in [0, {n}), got {e!r}")
        return int(e)

    def _tumour_events(self, events: Any, arg: str) -> list[int]:
        """Return the indices of a tumour's events given as ``arg`` (one rule for all methods).

        A list, tuple, set, range or iterator holds distinct names or indices (returned in
        its order, which ``top_orders`` breaks ties by; a set's in the model's event order);
        so does an array, Index or Series of
        names (a long table's ``maf.loc[maf.sample == "s1", "Hugo_Symbol"]``: its values,
        whatever its index). A numpy array, tensor or pandas Series of numbers is a 0/1 state
        over the model's events (a Series matched by name), returned in ascending order:
        ``np.array([0, 1])`` of a 2-event model is the state {E1}, never the events 0 and 1.
        An empty one-dimensional array, Index, tensor or Series (any dtype) holds no events,
        as ``[]`` does: an event-free tumour's ``df.columns[row == 1]``.
        """
        n = self.n_events
        if isinstance(events, str):
            # iterated, "AC" was the events A and C
            raise ValueError(f"{arg}: expected the present events as a list, or a 0/1 vector "
                             f"of the model's {n} events, got {events!r} (one event: "
                             f"[{events!r}])")
        if not isinstance(events, list | tuple | range | AbcSet | Iterator):
            if isinstance(events, pd.Series):
                values = events.to_numpy()
                # names (a long table's column) and empty Series are read by their values;
                # a Series of numbers is a state by name: positions could be another order
                if values.ndim == 1 and values.size and not _holds_names(values):
                    try:
                        pos = _event_positions([str(e) for e in events.index],
                                               self.event_names or [], f"{arg}'s index",
                                               "the model's events")
                    except ValueError as err:
                        raise ValueError(
                            f"{err}; a Series of numbers is a 0/1 state matched by its index: "
                            f"pass {arg}.to_numpy() for one in the model's event order, or a "
                            f"list of names or indices") from None
                    values = values[np.argsort(pos)]
                events = values
            refuse_meta(events, arg)  # .cpu() failed: "Cannot copy out of meta tensor"
            vec = (events.detach().cpu().numpy() if isinstance(events, torch.Tensor)
                   else np.asarray(events))
            if vec.ndim == 1 and vec.size == 0:
                # an event-free tumour's df.columns[row == 1] (an empty object Index), as []
                return []
            if vec.ndim == 1 and _holds_names(vec):
                events = vec.tolist()  # names (adata.var_names[mask]): no state holds one
            else:
                if vec.dtype == object and vec.shape == (n,) and all(map(_is_zero_one, vec)):
                    # a row of a DataFrame with a column of names (df.iloc[0].drop("id"))
                    # holds its 0/1 integers as objects: read them as the numbers they are
                    vec = vec.astype(np.int8)
                if (vec.shape != (n,) or vec.dtype.kind not in "biuf"
                        or not np.isin(vec, (0, 1)).all()):
                    hint = ""
                    if vec.ndim == 1 and vec.dtype.kind in "iu" and len(set(vec.tolist())) == len(
                            vec) and all(0 <= i < n for i in vec.tolist()):
                        # np.flatnonzero(row): indices, which only a list holds
                        hint = (f"; an array is a 0/1 state, a list names events: to name "
                                f"them by index, pass {reprlib.repr(vec.tolist())}")
                    raise ValueError(f"{arg}: expected the present events as a list, or a 0/1 "
                                     f"vector of the model's {n} events, got "
                                     f"{reprlib.repr(events)}{hint}")
                return np.flatnonzero(vec).tolist()
        given = events if isinstance(events, list) else list(events)
        idx = [self._event(e, arg) for e in given]
        if len(set(idx)) != len(idx):
            # [1, 0, 0, 1] is mhn's 0/1 state, not events 1, 0, 0 and 1 (read as {A, B})
            shown = given if isinstance(events, Iterator) else events
            fix = (f"pass each event once, e.g. list(dict.fromkeys({arg})) (a long table "
                   f"repeats an event mutated twice)" if all(isinstance(e, str) for e in given)
                   else f"pass a 0/1 state as a numpy array, e.g. np.array({arg})")
            raise ValueError(
                f"{arg}={reprlib.repr(shown)} names an event twice: a list names the events "
                f"present (names or indices); {fix}")
        if isinstance(events, set | frozenset):
            # a set has no order of its own: its iteration order of names moves with
            # PYTHONHASHSEED, and top_orders' ties (orders of equal probability) with it
            # (a dict's keys keep their insertion order, and so does the result)
            return sorted(idx)
        return idx

    def _matrix(self, X: Any, name: str = "X") -> np.ndarray:
        if isinstance(X, pd.DataFrame) or type(X).__name__ == "AnnData":
            x, names = validate_cohort(X, warn_unobserved=False)
            if names != self.event_names:
                # the model's events in another column order are matched by name, as
                # plot_theta and theta_frame do (they were refused)
                x = _reorder(x, names, self.event_names or [], "X's events",
                             "the model's events")
            return x
        refuse_meta(X, name)  # numpy: "can't convert meta device type tensor to numpy"
        arr = np.asarray(X)
        if arr.ndim == 2 and self.event_names is not None and arr.shape[1] != len(
            self.event_names
        ):  # else validate_cohort blames an event_names argument the caller never passed
            raise ValueError(
                f"{name} has {arr.shape[1]} event columns but the model has "
                f"{len(self.event_names)} events {self.event_names}"
            )
        x, _ = validate_cohort(X, self.event_names, warn_unobserved=False)
        return x

    # -- fitting ---------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        *,
        l1: float | None = None,
        method: Literal["auto", "exact", "statespace", "mcmc"] = "auto",
        sparsity: Literal["proximal", "mirror", "ham"] = "proximal",
        optimizer: Literal["auto", "adam", "adagrad", "lbfgs"] = "auto",
        l1_grid: list[float] | None = None,
        folds: int = 5,
        event_names: list[str] | None = None,
        seed: int | None = 0,
        progress: bool = False,
        checkpoint: str | os.PathLike[str] | None = None,
        sample_weight: Any | None = None,
        restarts: int = 0,
        one_se: bool = False,
        model: Literal["cmhn", "omhn"] = "cmhn",
        **fit_kwargs: Any,
    ) -> CTMC:
        """Fit theta by L1-penalised maximum likelihood.

        Parameters
        ----------
        X
            Tumours x events: binary numpy array, pandas DataFrame (columns = events) or AnnData
            (variables = events); of a :meth:`sample`, its matrix ``.X`` (the sample itself is
            a TypeError).
        l1
            Penalty strength on off-diagonal entries; chosen by ``folds``-fold cross-validation
            of the held-out log-likelihood over ``l1_grid`` when None.
        method
            ``"statespace"``, ``"exact"`` (subset lattice per tumour), ``"mcmc"`` (Gotovos et
            al.: lattice below 8 events, Metropolis-Hastings over orderings above) or
            ``"auto"``.
        sparsity
            ``"proximal"`` soft-thresholding, ``"mirror"`` (m * w) or ``"ham"`` (core.HAM).
        optimizer
            ``"auto"`` (OWL-QN ``"lbfgs"`` for exact gradients, else ``"adam"``), ``"adam"``,
            ``"adagrad"`` or ``"lbfgs"`` (see :func:`~biomodels.ctmc.fit.fit_theta`).
        l1_grid, folds
            Candidates and folds for the cross-validated choice.
        event_names
            Names when X is a plain array, in the order of its columns (a list; a set is
            refused with a ``TypeError``, as its order changes from one run to the next;
            default: the model's names when it has as many, else ``E0, E1, ...``).
        seed
            Seed of folds and MCMC chains, recorded in ``fit_info["seed"]``. None draws
            new folds on every call (not reproducible; no ``checkpoint`` then) while the
            chains are seeded with 0 (see :func:`~biomodels.ctmc.fit.fit_theta`).
        progress
            tqdm progress bars.
        checkpoint
            JSON file for the cross-validation: every finished fold fit is recorded, and a
            call after an interruption skips those fits (see
            :func:`~biomodels.ctmc.crossval.select_l1`). Unused when ``l1`` is given.
        sample_weight
            Optional non-negative weight of each row of X, e.g. the counts of a deduplicated
            cohort (unique genotypes + counts): fits as the cohort with repeated rows (see
            :func:`~biomodels.ctmc.fit.fit_theta`). Needs ``l1``: the cross-validation
            splits tumours, not weights.
        restarts
            Extra fits from random starts, the one with the best penalised objective kept
            (see :func:`~biomodels.ctmc.fit.fit_theta`; default 0, one fit). When ``l1`` is
            chosen by cross-validation every fold fit uses them too, so that the strengths
            are compared as the final fit is made: the cross-validation then costs
            ``restarts + 1`` times as much. Needs exact gradients (ValueError where MCMC
            samples orderings). ``fit_info["restarts"]`` records the final fit's starts.
        one_se
            With ``l1=None``: choose the largest strength whose held-out log-likelihood is
            within one standard error of the best (the one-standard-error rule, as ``mhn``
            does) instead of the best (see :func:`~biomodels.ctmc.crossval.select_l1`).
        model
            ``"cmhn"`` (default): the classical MHN. ``"omhn"``: the observation MHN of
            Schill et al. 2024, ``mhn``'s default (``Optimizer()``), whose extra row omega
            models how each event changes the rate of observation; the L1 penalty (chosen by
            cross-validation as for the cMHN) covers the interactions and omega, as in
            ``mhn``. Every method, optimiser, ``sample_weight``, ``restarts`` and
            ``checkpoint`` work as for the cMHN. The fitted model keeps the event rows in
            :attr:`theta`, the observation row in :attr:`omega` and both in
            :attr:`log_theta`; ``fit_info["model"]`` is ``"omhn"`` (absent for a cMHN).
        **fit_kwargs
            Passed to :func:`~biomodels.ctmc.fit.fit_theta` (``lr``, ``max_steps``, ``tol``,
            ``mcmc_threshold``, ``n_samples``, ``burn_in``, ``dtype``, ``device``).

        Returns
        -------
        CTMC
            ``self``, with ``theta``, ``l1``, ``cv_scores`` and ``fit_info`` set
            (``fit_info["one_se"]`` when that rule chose ``l1``, ``fit_info["fit_options"]``
            the ``**fit_kwargs`` given, as JSON values);
            ``fit_info["optimality"]`` is the fit's first-order optimality
            (:attr:`~biomodels.ctmc.fit.FitResult.optimality`, None for noisy MCMC gradients).
            With ``restarts > 0``, ``fit_info["restarts"]`` is
            :attr:`~biomodels.ctmc.fit.FitResult.restarts` (``"objectives"`` of every start,
            the ``"best"`` one, ...); the key is absent without restarts.
        """
        if event_names is not None and (
            isinstance(X, pd.DataFrame) or type(X).__name__ == "AnnData"
        ):
            raise ValueError(
                "event_names: the events are named by the DataFrame's columns / the AnnData's "
                "var_names; pass event_names only with a plain array"
            )
        # names given to the constructor (no theta yet) name a plain array's events
        preset = self.event_names if self._theta is None else None
        plain = not (isinstance(X, pd.DataFrame) or type(X).__name__ == "AnnData")
        if preset is not None and event_names is None and plain:
            event_names = preset
        elif (event_names is None and plain and self.event_names is not None
              and np.ndim(X) == 2 and np.shape(X)[1] == len(self.event_names)):
            # a fitted (or loaded) model's names too, as its other methods read a plain
            # array: running the fit cell twice renamed the events E0, E1, ...
            event_names = self.event_names
        # a weighted cohort's warnings are of the rows that count (below)
        x, names = validate_cohort(X, event_names, warn_unobserved=sample_weight is None)
        if sample_weight is not None:
            # a row of weight 0 is dropped by the fit: an event missing only there is in
            # every tumour that counts (theta_ii = 19 without a word)
            _warn_unobserved(x[_check_sample_weight(sample_weight, len(x)) > 0], names)
        if preset is not None and names != preset:
            # a DataFrame's columns in another order are matched to the names by name
            x = _reorder(x, names, preset, "X's events", "the event_names given to CTMC()")
            names = preset
        kwargs = dict(
            method=method,
            sparsity=sparsity,
            optimizer=optimizer,
            progress=progress,
            **fit_kwargs,
        )
        # checked before any fold fit; passed on only when asked for, so that a fit without
        # restarts (and its cross-validation checkpoint's settings) is as before the option
        restarts = check_count("restarts", restarts, at_least=0)
        # a select_l1 option: in **fit_kwargs it reached fit_theta too and failed there, after
        # the whole cross-validation
        if not isinstance(one_se, bool | np.bool_):
            raise TypeError(f"one_se must be True or False, got {one_se!r}")
        if model not in ("cmhn", "omhn"):
            raise ValueError(f"model must be 'cmhn' or 'omhn', got {model!r}")
        if restarts:
            kwargs["restarts"] = restarts
        if model == "omhn":  # only then: a cMHN's checkpoint signature stays as it was
            _check_no_observation_event(names)  # before the fit, not when writing theta
            kwargs["model"] = model
        cv_scores: dict[float, list[float]] = {}
        if sample_weight is not None and l1 is None:
            # the folds would split deduplicated rows, i.e. whole groups of tumours
            raise ValueError("sample_weight needs a given l1 (l1=None chooses it by "
                             "cross-validation, which splits tumours, not weights); pass l1, "
                             "e.g. 1 / sum(sample_weight)")
        if l1 is None:
            l1, scores = select_l1(x, l1_grid, folds=folds, seed=seed, checkpoint=checkpoint,
                                   one_se=one_se, **kwargs)
            cv_scores = {float(k): [float(v) for v in s] for k, s in scores.items()}
        if sample_weight is not None:
            kwargs["sample_weight"] = sample_weight
        res = fit_theta(x, l1=float(l1), seed=seed, **kwargs)
        # the model changes only once the fit succeeded, and nothing of an earlier fit stays
        self.event_names, self.l1, self.cv_scores = names, float(l1), cv_scores
        self.posterior_samples = self.posterior_info = None
        if model == "omhn":  # (n + 1, n): event rows, then the observation row
            self._theta, self._omega = res.theta[:-1].copy(), res.theta[-1].copy()
        else:
            self._theta, self._omega = res.theta, None
        self.fit_info = dict(
            method=res.method,
            n_steps=res.n_steps,
            converged=res.converged,
            sparsity=sparsity,
            optimizer=res.optimizer,
            # the certificate of the fit (FitResult.optimality); None for noisy MCMC gradients
            optimality=(float(res.optimality) if math.isfinite(res.optimality) else None),
            n_tumours=int(len(x)),
            # the tumours a weighted fit stands for (the sum of the counts)
            **({} if sample_weight is None else
               {"total_weight": float(np.sum(np.asarray(sample_weight, dtype=float)))}),
            # the folds and chains, to reproduce the fit from a saved model (fit_theta
            # checked it: a whole number >= 0 or None)
            seed=None if seed is None else int(seed),
        )
        if model == "omhn":  # added only for an oMHN: a cMHN fit's keys stay
            self.fit_info["model"] = "omhn"
        if res.restarts is not None:  # added only with restarts: a default fit's keys stay
            self.fit_info["restarts"] = dict(res.restarts)
        # what else shaped theta, to reproduce it from a saved model: one_se moved the
        # chosen l1 tenfold and max_steps=3 theta by 1.25, with nothing saved saying so;
        # recorded only when given, so that a default fit's keys stay
        if one_se and cv_scores:
            self.fit_info["one_se"] = True
        # None is each option's default, and h5ad (write_results) cannot store it
        given = {k: _json_setting(v) for k, v in sorted(fit_kwargs.items()) if v is not None}
        if given:
            self.fit_info["fit_options"] = given
        return self

    def cross_validate(
        self, X: Any, *, folds: int = 5, seed: int | None = 0, **fit_kwargs: Any
    ) -> np.ndarray:
        """Held-out mean log-likelihood per tumour of each fold at the model's ``l1``.

        Parameters
        ----------
        X
            Tumours x events with the model's events (array, DataFrame or AnnData).
        folds
            Number of folds.
        seed
            Seed of the fold split and of the fits' MCMC chains, as in :meth:`fit` (None:
            new folds on every call, chains seeded with 0).
        **fit_kwargs
            Passed to :func:`~biomodels.ctmc.fit.fit_theta` (an oMHN's folds are fitted as
            oMHNs, ``model="omhn"``, unless given).

        Returns
        -------
        numpy.ndarray
            (folds,) held-out mean log-likelihoods per tumour, each fit's base rates floored
            at ``-log(N_train + 1)`` as in :func:`~biomodels.ctmc.cross_validate`.
        """
        if self.l1 is None:
            raise NotFittedError("fit() first (or set model.l1)")
        x = self._matrix(X)
        if self._omega is not None:
            fit_kwargs.setdefault("model", "omhn")
        # the seed also seeds the fits' chains, as in fit (select_l1); they always got 0
        return cross_validate(
            x, self.l1, fold_indices=kfold_indices(len(x), folds, seed=seed), seed=seed,
            **fit_kwargs
        )

    # -- queries ---------------------------------------------------------------------------
    def log_likelihood(self, X: Any) -> np.ndarray:
        """Per-tumour log-likelihood (exact up to 16 events, importance-sampled above).

        Parameters
        ----------
        X
            Tumours x events with the model's events (array, DataFrame or AnnData).

        Returns
        -------
        numpy.ndarray
            (N,) log p(x) per tumour, in nats (an oMHN's: that of its classical theta).
        """
        x = self._matrix(X)
        return data_log_likelihood(torch.as_tensor(self._ctheta()), x)

    def independence_log_likelihood(self, X: Any, train: Any | None = None) -> np.ndarray:
        """Per-tumour log-likelihood of the independence model fitted on ``train`` (default X).

        The independence model's maximum likelihood (:func:`~biomodels.ctmc.independence_fit`).

        Parameters
        ----------
        X
            Tumours to score, with the model's events.
        train
            Tumours to fit the independence model on (default: ``X`` itself). The fit is
            scored as it is, not floored like the held-out scores of
            :func:`~biomodels.ctmc.cross_validate` and ``prunus ctmc fit``'s
            ``independence_heldout_loglik_per_tumour``: an event absent from ``train`` gets
            whatever rate the optimiser reached (e^-27 on a 200-tumour cohort measured here).

        Returns
        -------
        numpy.ndarray
            (N,) log-likelihoods of the tumours of ``X``.
        """
        x = self._matrix(X)
        xt = x if train is None else self._matrix(train, "train")
        return data_log_likelihood(torch.as_tensor(independence_fit(xt)), x)

    def sample(
        self, n: int, seed: int | None = None, *, obs_time: float | None = None
    ) -> Trajectories:
        """Simulate ``n`` tumours (Gillespie): observed states, event orders and times.

        Parameters
        ----------
        n
            Number of tumours.
        seed
            Seed of the simulation; None draws fresh entropy (another sample on every call).
        obs_time
            Fixed observation time (default: T ~ Exp(1) per tumour, the MHN model). An oMHN
            refuses it (ValueError): its observation is an event of the model, at rate
            ``exp(sum_{j in S} omega[j])``.

        Returns
        -------
        Trajectories
            ``X`` (observed 0/1 states), ``order``, ``times`` and ``obs_time``
            (see :func:`~biomodels.ctmc.sampling.sample_trajectories`). An oMHN's are
            simulated with its state-dependent observation rate
            (:func:`~biomodels.ctmc.omhn.sample_omhn_trajectories`): ``X`` and ``order``
            follow the equivalent cMHN, the times are the oMHN's own.
        """
        # checked here so that the error names this method's argument, not n_samples
        n = check_count("n", n, at_least=0)
        if self._omega is not None:
            if obs_time is not None:
                raise ValueError(
                    f"obs_time={obs_time!r}: an oMHN observes a tumour at the state-dependent "
                    "rate exp(sum of omega over its events), not at a fixed time; leave "
                    "obs_time=None, or sample the classical MHN (model.to_classical().sample"
                    "(n, obs_time=...)), whose event times differ")
            return sample_omhn_trajectories(self.log_theta, n, seed=seed)
        return sample_trajectories(self.theta, n, seed=seed, obs_time=obs_time)

    def order_probability(self, a: int | str, b: int | str,
                          **kwargs: Any) -> float | tuple[float, float]:
        """Return P(a occurred before b | both observed).

        Parameters
        ----------
        a, b
            Event names or indices.
        **kwargs
            ``method``, ``n_samples``, ``seed``, ``return_se`` of
            :func:`~biomodels.ctmc.orders.order_probability`: exact up to 18 events,
            simulated from 100,000 trajectories beyond, seeded with 0 (the same estimate on
            every call; its Monte Carlo standard error is ``sqrt(p (1 - p) / m)`` for the m
            trajectories carrying both events, which ``return_se=True`` returns).

        Returns
        -------
        float or (float, float)
            The probability; NaN if a and b are never observed together. With
            ``return_se=True``, also its standard error (0.0 when solved exactly).
        """
        # an oMHN's orders are those of its classical theta (the same jump chain)
        return order_probability(self._ctheta(), self._event(a, "a"), self._event(b, "b"),
                                 **kwargs)

    def most_likely_order(self, events: Any) -> tuple[list[str], float]:
        """Most likely order of a tumour's events (names) and its log-probability.

        Parameters
        ----------
        events
            The tumour's events (at most 20), read as :meth:`next_event_probabilities` reads
            its ``state``: a list (or tuple, set) of distinct names or indices, or a 0/1
            vector over the model's events (a numpy array, tensor or pandas Series, a Series
            matched by name; a cohort row such as ``X[0]``). An array of numbers is always a
            0/1 state: ``np.array([0, 1])`` of a 2-event model is the tumour carrying E1 only;
            pass event indices as a list (``[0, 1]``). An array, Index or Series of names is
            read as names, a Series by its values whatever its index (a long table's
            ``maf.loc[maf.Tumor_Sample_Barcode == "s1", "Hugo_Symbol"]``); an empty one of
            any dtype (an event-free tumour's ``df.columns[row == 1]``) as no events, as
            ``[]`` is.

        Returns
        -------
        order, log_prob
            Event names in order of occurrence and ``log p(order)`` (joint with observing
            exactly these events).
        """
        order, lp = most_likely_order(self._ctheta(), self._tumour_events(events, "events"))
        return [self.event_names[i] for i in order], lp  # type: ignore[index]

    def top_orders(self, events: Any, k: int = 5) -> list[tuple[list[str], float]]:
        """Return the k most probable orders of a tumour's events (with probabilities).

        Parameters
        ----------
        events
            At most 20 events (see :func:`~biomodels.ctmc.orders.top_orders`), read as
            :meth:`most_likely_order` reads them: a list (or tuple, set) of distinct names or
            indices, or a 0/1 vector over the model's events (a numpy array, tensor or pandas
            Series; ``np.array([0, 1])`` is the state carrying the second event only,
            ``[0, 1]`` the first two events); an array, Index or Series of names as names, an
            empty one as no events.
        k
            How many orders to return.

        Returns
        -------
        list of (order, probability)
            Orders as event names with P(order | these events observed), most probable
            first; orders of equal probability in the order of
            ``itertools.permutations(events)`` (a 0/1 state's or a set's events in the
            model's order).
        """
        res = top_orders(self._ctheta(), self._tumour_events(events, "events"), k=k)
        return [([self.event_names[i] for i in o], p) for o, p in res]  # type: ignore[index]

    def order_log_probability(self, order: list[int | str]) -> float:
        """Return ``log p(order)``: the events happen in this order, then the tumour is observed.

        The probability of one ordering (Gotovos et al. 2021, eq. 6; ``mhn``'s
        ``order_likelihood``, here in log space): each event in turn wins the race against the
        other absent events and the observation clock, and after the last one the
        observation comes first. Summed over the orderings of a tumour's events it is the
        tumour's likelihood (``exp`` of :meth:`log_likelihood`).

        Parameters
        ----------
        order
            Distinct events, names or indices, first event first; ``[]`` is the probability
            of observing a tumour without events. A sequence, not a set: unlike
            :meth:`most_likely_order`'s ``events``, a numpy array here lists event indices in
            order (``np.array([1, 0])`` is E1 then E0), as a 0/1 state has no order.

        Returns
        -------
        float
            The log-probability (an oMHN's is that of its equivalent cMHN, the same jump
            chain with the observation).
        """
        # a set was refused showing its items in hash order, which changed between runs
        refuse_unordered(order, "order", "event names or indices, first event first")
        if isinstance(order, str) or not isinstance(order, list | tuple | np.ndarray):
            raise TypeError(f"order: expected a list of event names or indices, got {order!r}")
        idx = [self._event(e, "order") for e in order]
        if len(set(idx)) != len(idx):
            # a cohort row, np.array([1, 0, 1]), met "orders must not repeat an event"
            raise ValueError(
                f"order={reprlib.repr(order)} names an event twice: an order lists distinct "
                "events first to last (names or indices); a 0/1 state has no order (its most "
                "likely one: most_likely_order(state))")
        theta = torch.as_tensor(self._ctheta())
        return float(sequence_log_prob(theta, torch.tensor(idx, dtype=torch.int64)))

    def next_event_probabilities(self, state: Any, *,
                                 allow_observation: bool = False) -> pd.Series:
        """Return the probability of each event to be the next one in a tumour at ``state``.

        In state S event i (not in S) comes next with probability
        ``lambda_i(S) / sum_{j not in S} lambda_j(S)`` (``mhn``'s ``compute_next_event_probs``);
        with ``allow_observation=True`` the observation races the events too (rate 1 for a
        cMHN, ``exp(sum_{j in S} omega_j)`` for an oMHN) and gets its own entry.

        Parameters
        ----------
        state
            The events present: a list (or tuple, set) of distinct names or indices, or a 0/1
            vector over the model's events (a numpy array, tensor or pandas Series, as
            ``mhn`` takes a state; a Series is matched by name), read by the rule of
            :meth:`most_likely_order` and :meth:`top_orders`. Its entries are booleans,
            integers or floats; 0/1 numbers held as objects (a row of a DataFrame with a
            column of names, ``df.iloc[0].drop("id")``) are read as their values. An array of
            numbers is always a state (``np.array([0, 1])`` is the second event only; pass
            indices as a list), an array, Index or Series of names (a Series by its values)
            a list of names, and an empty one of any dtype no events, as ``[]``.
        allow_observation
            Also give the probability that the tumour is observed before any further event.

        Returns
        -------
        pandas.Series
            Float64 probabilities indexed by the event names (0 for events already present),
            then ``"Observation"`` with ``allow_observation``; they sum to 1.
        """
        if not isinstance(allow_observation, bool | np.bool_):
            raise TypeError(f"allow_observation must be True or False, got {allow_observation!r}")
        n = self.n_events
        present = np.zeros(n, dtype=bool)
        present[self._tumour_events(state, "state")] = True
        theta = self._ctheta()  # observation at rate 1 in the equivalent cMHN
        log_rates = np.diag(theta) + theta[:, present].sum(axis=1)
        log_rates[present] = -np.inf
        if allow_observation:
            log_rates = np.append(log_rates, 0.0)
        if np.isneginf(log_rates).all():
            raise ValueError("state: every event is present, so no event can come next; pass "
                             "allow_observation=True for the observation")
        shift = log_rates.max()
        p = np.exp(log_rates - shift)
        names = list(self.event_names or range(n)) + [OBSERVATION] * allow_observation
        return pd.Series(p / p.sum(), index=names, name="next_event", dtype=np.float64)

    def strongest_effects(self, k: int = 10) -> pd.DataFrame:
        """Return the k largest off-diagonal effects by magnitude (source -> target, value).

        Parameters
        ----------
        k
            How many effects to list.

        Returns
        -------
        pandas.DataFrame
            Columns ``source`` (influencing event j), ``target`` (affected event i) and
            ``theta`` (= ``theta[i, j]``, float64), largest magnitude first (ties in the
            order of theta's rows, then columns), indexed ``0..k-1``; zero effects are left
            out. An oMHN's are its own parameters: the interactions of :attr:`theta` and the
            observation effects :attr:`omega` (target ``"Observation"``, the last row of
            :attr:`log_theta`).
        """
        th = self.theta if self._omega is None else self.log_theta
        k = check_count("k", k, at_least=0)  # head(-1) kept all but the weakest, silently
        names = np.asarray(self.event_names, dtype=object)
        if self._omega is not None:
            names = np.asarray([*self.event_names, OBSERVATION], dtype=object)
        i, j = np.nonzero((th != 0) & ~np.eye(*th.shape, dtype=bool))  # row-major
        # a stable sort and a fresh index: the index held each effect's place before the
        # sort, and without effects the theta column was of objects
        order = np.argsort(-np.abs(th[i, j]), kind="stable")[:k]
        i, j = i[order], j[order]
        return pd.DataFrame({"source": names[j], "target": names[i],
                             "theta": th[i, j].astype(np.float64)})

    # -- uncertainty -----------------------------------------------------------------------
    def sample_posterior(self, X: Any, **kwargs: Any) -> np.ndarray:
        """Draw posterior samples of theta with pyro (NUTS for n <= 6, SVI beyond).

        The Laplace prior on interactions matches the model's ``l1`` (default 1/N). SVI
        draws are too narrow (95 % intervals covered the truth 33-73 % of the time, see
        :func:`~biomodels.ctmc.bayes.posterior_theta`); ``method="nuts"`` covered 96 %.

        Parameters
        ----------
        X
            Tumours x events (with the model's events once it has any). The model must have
            a theta (fitted, or constructed from one): draw without a model with
            :func:`~biomodels.ctmc.bayes.posterior_theta`.
        **kwargs
            Passed to :func:`~biomodels.ctmc.bayes.posterior_theta` (``method``,
            ``sample_weight``, ``num_samples``, ``warmup_steps``, ``svi_steps``, ``lr``,
            ``seed``, ...); ``l1`` and ``init_theta`` default to the model's. A seed's draws
            reproduce within one software stack (other torch, pyro or numpy versions can
            draw others, see ``seed`` there). A model fitted with ``sample_weight``
            (``fit_info["total_weight"]``) needs ``sample_weight`` here too (the fit's counts
            for its genotype table; ``np.ones(len(X))`` for rows that are single tumours):
            without it a ValueError, as each row would count as one tumour.

        Returns
        -------
        numpy.ndarray
            (S, n, n) draws of theta, also stored in ``posterior_samples``. How they were
            drawn is stored in ``posterior_info`` (a dict; None until the first call, and
            again after :meth:`fit`): ``"method"`` (``"nuts"`` or ``"svi"``), ``"elbo"``
            (SVI's loss, the negative ELBO as ``svi.step()`` returned it, one float per
            step; None for NUTS) and ``"converged"`` (SVI: whether that loss levelled off,
            a heuristic, see :func:`~biomodels.ctmc.bayes.posterior_theta`; None for NUTS).
            NUTS adds its diagnostics: ``"num_samples"``, ``"warmup_steps"``, ``"n_eff"``
            and ``"r_hat"`` (effective sample size and split R-hat of each entry of theta,
            (n, n) lists laid out as theta), ``"min_n_eff"``, ``"max_r_hat"``,
            ``"divergences"`` (count), ``"acceptance_rate"`` (pyro's: the share of draws
            that moved), ``"mean_accept_prob"`` (the statistic the step size is adapted to,
            target 0.8) and ``"step_size"``. A weighted posterior adds ``"total_weight"``,
            the sum of ``sample_weight``.

        Warns
        -----
        UserWarning
            When NUTS's smallest effective sample size is below 100, a split R-hat above
            1.05 or a transition diverged (draw more: ``num_samples``, ``warmup_steps``).
        """
        import inspect

        from biomodels.ctmc.bayes import _posterior_theta, _warn_if_unreliable, posterior_theta

        if self._theta is None:
            # the draws were stored on a model without events or l1, which no query could
            # then use (order_probability_samples: "the model has no theta yet")
            raise NotFittedError("sample_posterior needs a fitted model (its events, l1 and "
                                 "starting theta): call fit(X) first, or construct "
                                 "CTMC(theta)")
        if self._omega is not None:
            raise ValueError(
                "sample_posterior draws a classical MHN's theta; this model is an oMHN (its "
                "prior would need omega too): draw the posterior of its classical MHN, "
                "model.to_classical().sample_posterior(X), whose genotype and order "
                "probabilities are the same")
        x = self._matrix(X) if self.event_names is not None else validate_cohort(X)[0]
        if kwargs.get("sample_weight") is None and "total_weight" in self.fit_info:
            # the rows of a deduplicated cohort counted as one tumour each: 4 genotypes of
            # 400 tumours gave a posterior 100 times too flat (sd 28 against 0.3), silently
            raise ValueError(
                f"sample_weight: this model was fitted with sample_weight (fit_info"
                f"['total_weight'] = {self.fit_info['total_weight']:g} tumours), so "
                "sample_posterior needs one too: pass the fit's weights "
                "(sample_posterior(X, sample_weight=counts)), or np.ones(len(X)) if each "
                "row of X is one tumour")
        kwargs.setdefault("l1", self.l1)
        if self._theta is not None:
            kwargs.setdefault("init_theta", self._theta)
        # posterior_theta's signature checks the keywords and gives the defaults; the private
        # function returns how the draws were made too (the SVI loss trace)
        args = inspect.signature(posterior_theta).bind(x, **kwargs)
        args.apply_defaults()
        self.posterior_samples, self.posterior_info = _posterior_theta(**args.arguments)
        _warn_if_unreliable(self.posterior_info, stacklevel=2)
        return self.posterior_samples

    def order_probability_samples(
        self,
        a: int | str,
        b: int | str,
        *,
        method: Literal["auto", "exact", "sample"] = "auto",
        n_samples: int = 100_000,
        seed: int | None = 0,
    ) -> np.ndarray:
        """P(a before b | both observed) under every posterior draw (``sample_posterior`` first).

        Parameters
        ----------
        a, b
            Event names or indices.
        method, n_samples
            As :func:`~biomodels.ctmc.orders.order_probability`: ``"auto"`` solves exactly up
            to 18 events and simulates ``n_samples`` trajectories per draw beyond (where the
            estimates' own noise, about ``sqrt(p (1 - p) / m)`` for m trajectories with both
            events, adds to their spread over the draws); ``"exact"`` up to 24 events
            (at 20 events 1.5 s and 1.3 GB per draw, against 0.6 s for 100,000
            trajectories).
        seed
            Seed of the trajectories: each draw's is derived from it, so the same draws give
            the same answers on every call (default 0; before this option they were
            simulated unseeded, another answer per call); None draws fresh entropy. Unused
            by the exact solve.

        Returns
        -------
        numpy.ndarray
            (S,) order probabilities, one per draw in ``posterior_samples``.
        """
        draws = self.posterior_samples
        if draws is None:
            raise NotFittedError("call sample_posterior(X) first")
        ia, ib = self._event(a, "a"), self._event(b, "b")
        return _order_probabilities(draws, ia, ib, method=method, n_samples=n_samples,
                                    seed=seed)

    # -- results into AnnData ----------------------------------------------------------------
    def write_results(self, adata: Any, *, key_added: str = "ctmc") -> dict[str, Any]:
        """Write theta and the fit's settings into the cohort's AnnData (events = variables).

        Writes ``adata.varp[key_added]`` (theta, n x n in ``var_names`` order: rows = affected
        event i, columns = influencing event j, the diagonal the log base rates) and
        ``adata.uns[key_added]`` (``convention``, ``l1``, the cross-validation grid
        ``cv_l1`` with its mean held-out log-likelihood per tumour ``cv_mean`` and, where
        every strength has as many folds, the fold scores ``cv_folds`` (one row per strength
        of ``cv_l1``), the fit information, and ``environment``: the versions of Python,
        prunus and its numerical libraries and torch's thread count at the time of writing,
        :func:`core.provenance.environment`), the scverse way; nothing else is touched. For
        an oMHN ``varp`` holds its event rows (:attr:`theta`) and ``uns`` adds ``model``
        (``"omhn"``) and ``omega`` (the observation row, in ``var_names`` order); a cMHN's
        entries are as before. :meth:`from_anndata` reads the model back.

        Parameters
        ----------
        adata
            AnnData whose variables are the model's events, in any order (theta is
            written in ``var_names`` order). Not a view (``adata[mask]``): anndata would
            turn it into an AnnData of its own to hold the results (with an
            ``ImplicitModificationWarning``), leaving the AnnData it was taken from without
            them, so a view is refused: pass the AnnData it was taken from (its tumours do
            not matter) or a copy, ``adata[mask].copy()``.
        key_added
            Key of the ``varp`` and ``uns`` entries.

        Returns
        -------
        dict
            What was written to ``uns``.

        Raises
        ------
        TypeError
            If ``adata`` is not an AnnData.
        ValueError
            If ``adata`` is a view, its ``var_names`` are not the model's events, or
            ``key_added`` is no key h5ad can store.

        Examples
        --------
        >>> import anndata as ad
        >>> model = CTMC(np.zeros((2, 2)), ["TP53", "IDH1"])
        >>> cohort = ad.AnnData(np.zeros((3, 2)), var=pd.DataFrame(index=["TP53", "IDH1"]))
        >>> _ = model.write_results(cohort)
        >>> cohort.varp["ctmc"].shape
        (2, 2)
        """
        check_h5ad_key("key_added", key_added)
        if not _is_anndata(adata):
            raise TypeError(f"adata: expected an AnnData, got {type(adata).__name__}")
        if getattr(adata, "is_view", False):
            # anndata turned the view into an AnnData of its own to hold the results
            # (ImplicitModificationWarning), which the caller often held no name for, and
            # the AnnData it was taken from got nothing (as GRNModel.write_results refuses)
            raise ValueError(
                "write_results: adata is a view (adata[mask]), which anndata would turn into "
                "an AnnData of its own to hold the results, leaving the AnnData it was taken "
                "from without them: pass the AnnData it was taken from (the model's events "
                "are matched by name; its tumours do not matter) or a copy, "
                "adata[mask].copy()")
        theta = self.theta  # NotFittedError before anything is written
        omega = self._omega
        var = [str(v) for v in adata.var_names]
        if var != list(self.event_names):
            # the model's events in another order: theta is written in var_names order
            # (it was refused, while log_likelihood and plot_theta match events by name)
            idx = _event_positions(var, list(self.event_names or []), "adata.var_names",
                                   "the model's events")
            theta = theta[np.ix_(idx, idx)]
            omega = None if omega is None else omega[idx]
        grid = sorted(self.cv_scores)
        info: dict[str, Any] = {
            "convention": "theta[i, j] = effect of event j on the rate of event i; "
                          "diagonal = log base rates" + (
                              "" if omega is None else
                              "; an oMHN: varp holds its event rows, uns 'omega' the events' "
                              "effects on the observation rate; the equivalent classical "
                              "theta is theta[i, j] - omega[j] off the diagonal"),
            "l1": float(self.l1) if self.l1 is not None else float("nan"),
            "cv_l1": np.asarray(grid, dtype=np.float64),
            "cv_mean": np.asarray([np.mean(self.cv_scores[k]) for k in grid], dtype=np.float64),
            "fit": {k: v for k, v in self.fit_info.items() if v is not None},
        }
        if grid and len({len(self.cv_scores[k]) for k in grid}) == 1:
            # the fold scores too (the means alone were kept): from_anndata restores
            # cv_scores from them; added only with cross-validation scores
            info["cv_folds"] = np.asarray([self.cv_scores[k] for k in grid], dtype=np.float64)
        if omega is not None:  # only for an oMHN: a cMHN's uns keys stay as they were
            info["model"] = "omhn"
            info["omega"] = np.asarray(omega, dtype=np.float64).copy()
            # by name: varp follows var when the AnnData is reordered or subset, uns does not
            info["omega_events"] = np.asarray([str(v) for v in var], dtype=object)
        from core.provenance import environment

        # what the results were written with (strings and ints, as h5ad stores them), as
        # uns["grn"] and model.json record it
        info["environment"] = environment()
        adata.varp[key_added] = theta.copy()
        adata.uns[key_added] = info
        return info

    @classmethod
    def from_anndata(cls, adata: Any, *, key: str = "ctmc") -> CTMC:
        """Rebuild the model that :meth:`write_results` stored in an AnnData.

        Parameters
        ----------
        adata
            AnnData with ``varp[key]`` and ``uns[key]`` as :meth:`write_results` writes
            them, in memory or read back with ``anndata.read_h5ad``.
        key
            The ``key_added`` they were written under.

        Returns
        -------
        CTMC
            The model, its events named by ``var_names`` (theta in their order), with
            ``l1`` (None where none was recorded), ``fit_info`` (as the fit left it: the
            entries that h5ad cannot store as None, ``optimality`` and ``seed``, come back
            as None, and numbers, flags and lists as Python's) and ``cv_scores`` from
            ``cv_folds`` (an AnnData written before that key holds only the means
            ``cv_mean``: ``cv_scores`` is then empty); an oMHN with its observation row
            ``omega``. Posterior draws are not stored in the AnnData: save the model with
            :meth:`save` to keep them.

        Raises
        ------
        TypeError
            If ``adata`` is not an AnnData.
        ValueError
            If ``key`` is no key h5ad can store, or ``adata`` holds no CTMC results under it
            (the message lists the keys that hold some).

        Examples
        --------
        >>> import anndata as ad
        >>> model = CTMC(np.array([[0.0, 0.5], [0.0, -1.0]]), ["TP53", "IDH1"])
        >>> cohort = ad.AnnData(np.zeros((3, 2)), var=pd.DataFrame(index=["TP53", "IDH1"]))
        >>> _ = model.write_results(cohort)
        >>> CTMC.from_anndata(cohort).theta.tolist()
        [[0.0, 0.5], [0.0, -1.0]]
        """
        check_h5ad_key("key", key)
        if not _is_anndata(adata):
            raise TypeError(f"adata: expected an AnnData, got {type(adata).__name__}")
        if not _holds_ctmc_results(adata, key):
            found = [k for k in sorted(map(str, adata.uns.keys()))
                     if _holds_ctmc_results(adata, k)]
            raise ValueError(
                f"key={key!r}: adata holds no CTMC results under {key!r} (varp[{key!r}] and "
                f"uns[{key!r}], as write_results writes them); "
                + (f"found ctmc results under {found}" if found else
                   "write them with model.write_results(adata, key_added=...)"))
        info = adata.uns[key]
        theta = adata.varp[key]
        # a scipy sparse varp (an edited AnnData) as a dense array
        theta = np.asarray(theta.toarray() if hasattr(theta, "toarray") else theta,
                           dtype=np.float64)
        names = [str(v) for v in adata.var_names]
        if info.get("model") == "omhn":  # the event rows, then the observation row
            omega = np.asarray(info["omega"], dtype=np.float64)
            written = info.get("omega_events")
            if written is not None:
                # varp was reordered or subset with var since write_results; uns was not:
                # the observation row went to the wrong events
                written = [str(v) for v in _plain(written)]
                missing = sorted(set(written) - set(names))
                if missing or len(names) != len(written):
                    raise ValueError(
                        f"adata: its variables are not the {len(written)} events the oMHN was "
                        f"written with (missing: {reprlib.repr(missing)}): an oMHN's "
                        "observation row needs all of them; read the model from the "
                        "AnnData as write_results left it, or save it with model.save")
                omega = omega[[written.index(v) for v in names]]
            elif len(omega) != len(names):
                raise ValueError(
                    f"adata: uns[{key!r}]['omega'] holds {len(omega)} events, var_names "
                    f"{len(names)}: the AnnData was subset after write_results")
            else:
                warnings.warn(
                    f"adata: uns[{key!r}] names no events for its oMHN observation row "
                    "'omega' (written by an earlier prunus): it is read in var_names order, "
                    "which is right only if the AnnData's variables were not reordered since "
                    "write_results", UserWarning, stacklevel=user_stacklevel())
            theta = np.vstack([theta, omega[None, :]])
        model = cls(theta, names)
        l1 = float(info["l1"])
        model.l1 = None if math.isnan(l1) else l1  # written as NaN for a model without one
        folds = info.get("cv_folds")
        if folds is not None:
            model.cv_scores = {float(g): [float(v) for v in row]
                               for g, row in zip(_plain(info["cv_l1"]), _plain(folds))}
        fit = _plain(dict(info.get("fit", {})))
        if "method" in fit:
            # written without the entries that were None (h5ad cannot store None)
            fit = {"optimality": None, "seed": None, **fit}
        # in the order the fit gave them (h5ad gives them back sorted)
        model.fit_info = _ordered(fit, _FIT_INFO_ORDER)
        if isinstance(model.fit_info.get("restarts"), dict):
            model.fit_info["restarts"] = _ordered(model.fit_info["restarts"], _RESTARTS_ORDER)
        return model

    # -- persistence -----------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model to a JSON file (atomically).

        Parameters
        ----------
        path
            Target file (format ``prunus.ctmc/1``: event names, theta with rows = affected
            event, l1, cross-validation scores and fit information; after
            :meth:`sample_posterior`, also the key ``posterior``: the draws of theta, exact
            as base64 float64 ``samples``, their ``mean`` and ``sd`` as readable (n, n)
            lists, and ``info``, the ``posterior_info``). An oMHN is written as format
            ``prunus.ctmc/2`` with ``model: "omhn"`` and theta (n + 1, n), its last row
            ``"Observation"`` (:attr:`log_theta`): readers of ``prunus.ctmc/1`` (before the
            oMHN) refuse it as "not a prunus.ctmc model file" instead of misreading it; a
            cMHN is written as before.

        Returns
        -------
        pathlib.Path
            The file written.

        Notes
        -----
        The draws are kept, not only their mean and sd: :meth:`order_probability_samples`
        and any other summary need them. Written as numbers in JSON they took about 30
        bytes each (200 draws of 100 events: 60 MB); the base64 bytes take 10.7. A model
        without draws writes no ``posterior`` key, as before it existed, and readers that
        do not know the key ignore it.
        """
        from core.atomic import write_json

        omhn = self._omega is not None
        data = dict(
            format=_FORMAT_OMHN if omhn else "prunus.ctmc/1",
            convention="theta[i, j] = effect of j on i" + (
                "; last row (Observation): effect of j on the observation rate" if omhn
                else ""),
            **({"model": "omhn"} if omhn else {}),
            event_names=self.event_names,
            theta=(self.log_theta if omhn else self.theta).tolist(),
            l1=self.l1,
            cv_scores={str(k): v for k, v in self.cv_scores.items()},
            fit_info=self.fit_info,
        )
        if self.posterior_samples is not None:
            data["posterior"] = _posterior_record(self.posterior_samples, self.posterior_info)
        from core.provenance import environment

        data["environment"] = environment()  # what it was saved with; load ignores it
        return write_json(data, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CTMC:
        """Read a model written by :meth:`save`.

        Parameters
        ----------
        path
            A file written by :meth:`save`: format ``prunus.ctmc/1`` (a classical MHN, also
            files written before the oMHN) or ``prunus.ctmc/2`` (an oMHN).

        Returns
        -------
        CTMC
            The model, with theta, event names, ``l1``, ``cv_scores`` and ``fit_info``, and
            ``posterior_samples`` and ``posterior_info`` where the file has them (None for
            a file without, e.g. one written before they were saved).

        Raises
        ------
        ValueError
            If ``path`` is not a readable prunus.ctmc model file (the message names it):
            an AnnData's h5ad (rebuild its model with :meth:`from_anndata`), not JSON,
            nested too deeply for Python's parser, or with an entry of theta that is not a
            JSON number (text such as ``"1.5"``, ``true`` or ``null``). A file of a newer
            format version (``prunus.ctmc/3`` on) is named as such, with the formats this
            version reads: upgrade prunus to load it.

        Notes
        -----
        The file is read as UTF-8, after a byte-order mark where it has one (Notepad's
        UTF-8, or its UTF-16 "Unicode"), as the cohort readers read CSV files.
        """
        if _is_hdf5(path):
            # it failed as "'utf-8' codec can't decode byte 0x89 in position 0"
            what = ("an AnnData (h5ad) file" if str(path).lower().endswith(".h5ad")
                    else "an HDF5 file (an AnnData's h5ad?)")
            raise ValueError(
                f"{path} is {what}, not a prunus.ctmc model file: read it with "
                "anndata.read_h5ad and pass it to CTMC.from_anndata(adata, key='ctmc'), which "
                "rebuilds the model that write_results stored in it")
        try:
            data = json.loads(Path(path).read_text(encoding=text_encoding(path)))
        except ValueError as exc:  # not JSON, or not text at all (e.g. a model.pt)
            raise ValueError(f"{path} cannot be read as a prunus.ctmc model file: {exc}"
                             ) from exc
        except RecursionError as exc:  # json's parser recurses once per nested [ or {
            raise ValueError(f"{path} cannot be read as a prunus.ctmc model file: its JSON "
                             "nests too deeply") from exc
        if not isinstance(data, dict) or data.get("format") not in _READ_FORMATS:
            raise ValueError(_format_error(path, data))
        try:
            _check_json_numbers(data["theta"], "theta")
            theta = np.asarray(data["theta"], dtype=float)
            # the shape must say what the file says: an (n + 1, n) theta in a cMHN file
            # would load as an oMHN, a square one in an oMHN file as a cMHN
            kind = "omhn" if data["format"] == _FORMAT_OMHN else "cmhn"
            if kind == "omhn" and data.get("model") != "omhn":
                raise ValueError(f"model is {data.get('model')!r}; expected 'omhn' in a "
                                 f"{_FORMAT_OMHN} file")
            if (kind == "omhn") != is_omhn_shape(theta):
                raise ValueError(f"theta has shape {theta.shape}; expected (n + 1, n) for an "
                                 "oMHN (prunus.ctmc/2), (n, n) for a cMHN (prunus.ctmc/1)")
            model = cls(theta, data["event_names"])
            model.l1 = data.get("l1")
            # save wrote a NaN or infinite fold score as null: read it back as NaN (as the
            # cross-validation checkpoint does), not None, which write_results cannot average
            model.cv_scores = {float(k): [float("nan") if v is None else float(v) for v in s]
                               for k, s in data.get("cv_scores", {}).items()}
            model.fit_info = data.get("fit_info", {})
            if data.get("posterior") is not None:  # absent from files of models without draws
                model.posterior_samples, model.posterior_info = _read_posterior(
                    data["posterior"], model.theta.shape[0])
        except (KeyError, TypeError, AttributeError, ValueError) as exc:  # damaged or edited
            raise ValueError(f"{path} is not a valid prunus.ctmc model file: {exc!r}") from exc
        return model


#: Format of a saved oMHN (readers from before it refuse the file); a cMHN is still written
#: as ``prunus.ctmc/1``.
_FORMAT_OMHN = "prunus.ctmc/2"

#: The formats :meth:`CTMC.load` reads, oldest first.
_READ_FORMATS = ("prunus.ctmc/1", _FORMAT_OMHN)


#: The order of :meth:`CTMC.fit`'s ``fit_info`` keys and of its ``"restarts"`` record, which
#: :meth:`CTMC.from_anndata` restores (h5ad gives a dict's keys back sorted).
_FIT_INFO_ORDER = ("method", "n_steps", "converged", "sparsity", "optimizer", "optimality",
                   "n_tumours", "total_weight", "seed", "model", "restarts", "one_se",
                   "fit_options")
_RESTARTS_ORDER = ("objectives", "best", "theta_distance", "converged", "scale")

#: The first bytes of every HDF5 file (h5ad among them)
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _is_hdf5(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a readable file that starts as HDF5 (an h5ad) does."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(_HDF5_SIGNATURE)) == _HDF5_SIGNATURE
    except (OSError, TypeError, ValueError):  # left to the reader, which names the problem
        return False


def _holds_ctmc_results(adata: Any, key: str) -> bool:
    """Whether ``adata`` holds :meth:`CTMC.write_results`'s entries under ``key``."""
    info = adata.uns.get(key)
    return (key in adata.varp.keys() and isinstance(info, dict) and "l1" in info
            and str(info.get("convention", "")).startswith("theta[i, j] = effect of event j"))


def _plain(value: Any) -> Any:
    """Give what h5ad read back as Python values: arrays as lists, numpy scalars as Python's."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _ordered(record: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    """``record`` with the keys of ``order`` first, in that order, then the others."""
    return {**{k: record[k] for k in order if k in record},
            **{k: v for k, v in record.items() if k not in order}}


def _format_error(path: str | os.PathLike[str], data: Any) -> str:
    """Say why ``data``, read from ``path``, is not a model file this version reads.

    A file of a later format version ("prunus.ctmc/3") was called "not a prunus.ctmc model
    file", as if it were some other file, where it needs a newer prunus.
    """
    found = data.get("format") if isinstance(data, dict) else None
    if not isinstance(found, str) or not found.startswith("prunus.ctmc/"):
        return f"{path} is not a prunus.ctmc model file"
    reads = ", ".join(repr(f) for f in _READ_FORMATS)
    version = found.removeprefix("prunus.ctmc/")
    # newer: a whole version number beyond the last this version reads
    newest = int(_READ_FORMATS[-1].rsplit("/", 1)[1])
    if version.isdigit() and version.isascii() and int(version) > newest:
        return (f"{path} is a prunus.ctmc model file of format {found!r}, newer than this "
                f"version of prunus reads ({reads}): upgrade prunus to load it")
    return f"{path} has the unknown format {found!r}; this version of prunus reads ({reads})"


def _check_json_numbers(rows: Any, what: str) -> None:
    """TypeError naming the first entry of the rows of ``rows`` that is not a JSON number.

    numpy reads ``"1.5"`` as 1.5 and ``true`` as 1; save writes numbers only. A ``rows``
    that is not a list of lists is left to the shape checks of ``np.asarray`` and theta.
    """
    if not isinstance(rows, list):
        return
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            continue
        for j, value in enumerate(row):
            # json gives exactly int or float for a number (bool is an int subclass)
            if type(value) not in (int, float):
                raise TypeError(f"{what}[{i}][{j}] is {reprlib.repr(value)} "
                                f"({type(value).__name__}); "
                                "expected a JSON number")


def _posterior_record(samples: np.ndarray, info: dict[str, Any] | None) -> dict[str, Any]:
    """Record the posterior draws ``samples`` and how they were made, for :meth:`CTMC.save`."""
    draws = np.ascontiguousarray(samples, dtype="<f8")  # little-endian on every machine
    return {
        "samples": {"dtype": "<f8", "shape": list(draws.shape),
                    "base64": base64.b64encode(draws.tobytes()).decode("ascii")},
        # for a reader of the file; load takes the draws
        "mean": draws.mean(0).tolist() if len(draws) else None,
        "sd": draws.std(0).tolist() if len(draws) else None,
        "info": info,
    }


def _read_posterior(record: dict[str, Any], n: int) -> tuple[np.ndarray, dict[str, Any] | None]:
    """Restore the draws and ``posterior_info`` of a saved record; ValueError if damaged."""
    stored = record["samples"]
    shape = tuple(int(v) for v in stored["shape"])
    if stored["dtype"] != "<f8" or len(shape) != 3 or shape[1:] != (n, n):
        raise ValueError(f"posterior samples of dtype {stored['dtype']!r} and shape {shape}; "
                         f"expected '<f8' and (S, {n}, {n})")
    raw = base64.b64decode(stored["base64"], validate=True)
    if len(raw) != 8 * math.prod(shape):
        raise ValueError(f"posterior samples hold {len(raw)} bytes, not the {8 * math.prod(shape)} "
                         f"of shape {shape}")
    # a writable array in the machine's byte order, as sample_posterior returns
    draws = np.frombuffer(raw, dtype="<f8").reshape(shape).astype(np.float64)
    info = record.get("info")
    if isinstance(info, dict) and isinstance(info.get("elbo"), list):
        # save wrote a NaN or infinite loss as null
        info["elbo"] = [float("nan") if v is None else float(v) for v in info["elbo"]]
    if isinstance(info, dict) and info.get("method") == "nuts":
        # NUTS's diagnostics (files since they were kept): NaN written as null
        for key in ("n_eff", "r_hat"):
            if isinstance(info.get(key), list):
                info[key] = [[float("nan") if v is None else float(v) for v in row]
                             for row in info[key]]
        for key in ("min_n_eff", "max_r_hat", "acceptance_rate", "mean_accept_prob",
                    "step_size"):
            if key in info and info[key] is None:
                info[key] = float("nan")
    return draws, info


def _holds_names(values: np.ndarray) -> bool:
    """Whether ``values`` (non-empty) holds text only: event names, which no 0/1 state holds.

    A numpy string array, or an object array of ``str`` (a pandas Index or Series of names,
    string and categorical dtypes included, once taken ``to_numpy``).
    """
    return bool(values.size) and (values.dtype.kind in "US" or (
        values.dtype == object and all(isinstance(e, str) for e in values.flat)))


def _is_zero_one(value: object) -> bool:
    """Whether ``value`` is a boolean or real number equal to 0 or 1.

    Strings, None and complex numbers are not (``1 + 0j == 1``, but a complex state is
    refused as a complex array is).
    """
    return isinstance(value, bool | np.bool_ | numbers.Real) and bool(value in (0, 1))


def _event_positions(names: list[str], events: list[str], what: str, of: str) -> list[int]:
    """Position in ``events`` of each of ``names``; ValueError unless they are the same set."""
    pos = {e: i for i, e in enumerate(events)}
    given = set(names)
    if len(given) != len(names) or given != set(pos):
        missing = [e for e in events if e not in given][:10]
        extra = [e for e in names if e not in pos][:10]
        raise ValueError(f"{what} {names[:10]} do not match {of} {events[:10]} (missing: "
                         f"{missing}, unexpected: {extra})")
    return [pos[e] for e in names]


def _reorder(x: np.ndarray, names: list[str], events: list[str], what: str,
             of: str) -> np.ndarray:
    """Columns of ``x`` (named ``names``) put in the order of ``events``, matched by name."""
    _event_positions(names, events, what, of)  # the same events, else a ValueError
    where = {e: i for i, e in enumerate(names)}
    return x[:, [where[e] for e in events]]


def _json_setting(value: Any) -> Any:
    """Give a fit option as JSON can hold it: numbers, text and bools as they are."""
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    return str(value)  # torch.float64, torch.device("cpu"), ...
