"""K-fold cross-validation of the held-out log-likelihood and L1 selection.

Held-out score = mean log-likelihood per tumour of the test folds (exact, or importance-sampled
for tumours with more than 16 events), the metric of the MHN and Gotovos et al. papers; each
fit's base rates are floored at log(1 / (N_train + 1)) for the scoring, as in ``mhn``'s
``lambda_from_cv``. The default L1 grid spans the range of ``mhn``'s, 0.1/N to 10/N, but in
5 log-spaced steps (``mhn``: 9), and :func:`select_l1` takes the best mean score unless
``one_se=True`` (``mhn`` applies the one-standard-error rule). A cross-validation over
hundreds of events runs for hours, so :func:`select_l1` can checkpoint every finished fold fit
to a JSON file and skip those fits when it is called again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from tqdm.auto import tqdm

from biomodels._stacklevel import user_stacklevel
from biomodels.ctmc.data import validate_cohort
from biomodels.ctmc.fit import (
    _STEP_LIMITS,
    StepLimitWarning,
    _Stop,
    data_log_likelihood,
    fit_theta,
)
from biomodels.ctmc.omhn import classical_theta
from core.checks import check_count, check_seed, refuse_meta
from core.fingerprint import fingerprint
from core.progress import bar_disabled

__all__ = ["kfold_indices", "cross_validate", "select_l1", "default_l1_grid"]


def kfold_indices(n_tumours: int, folds: int = 5, *, seed: int | None = 0) -> list[np.ndarray]:
    """Shuffle tumours and split them into ``folds`` test sets of nearly equal size.

    Parameters
    ----------
    n_tumours
        Number of tumours N.
    folds
        Number of test sets, in [2, N].
    seed
        Seed of the shuffle; None draws fresh entropy (other folds on every call).

    Returns
    -------
    list of numpy.ndarray
        ``folds`` sorted arrays of tumour indices; together they hold every index once.

    Examples
    --------
    >>> import numpy as np
    >>> from biomodels.ctmc import kfold_indices
    >>> folds = kfold_indices(10, folds=3, seed=0)
    >>> [len(test) for test in folds]
    [4, 3, 3]
    >>> sorted(np.concatenate(folds).tolist()) == list(range(10))
    True
    """
    # np.array_split truncates folds=2.5 to 2 folds without a word
    n_tumours = check_count("n_tumours", n_tumours, at_least=0)
    folds = check_count("folds", folds, at_least=0)
    if folds < 2 or folds > n_tumours:
        raise ValueError(f"folds must be in [2, {n_tumours}], got {folds}")
    perm = np.random.default_rng(check_seed(seed)).permutation(n_tumours)
    return [np.sort(part) for part in np.array_split(perm, folds)]


def default_l1_grid(n_tumours: int, steps: int = 5) -> np.ndarray:
    """Log-spaced grid from 0.1/N to 10/N (``mhn``'s range; ``mhn`` uses 9 steps).

    Parameters
    ----------
    n_tumours
        Number of tumours N (>= 1).
    steps
        Number of grid points.

    Returns
    -------
    numpy.ndarray
        (steps,) increasing L1 strengths.

    Examples
    --------
    >>> from biomodels.ctmc import default_l1_grid
    >>> default_l1_grid(100).round(4).tolist()      # 0.1/N to 10/N, log-spaced
    [0.001, 0.0032, 0.01, 0.0316, 0.1]
    """
    # 0 divides by zero, a negative N gives negative strengths; steps=True gave one point
    n_tumours = check_count("n_tumours", n_tumours)
    steps = check_count("steps", steps)
    return np.geomspace(0.1 / n_tumours, 10.0 / n_tumours, steps)


def cross_validate(
    x: np.ndarray,
    l1: float,
    *,
    folds: int = 5,
    seed: int | None = 0,
    fold_indices: Sequence[np.ndarray] | None = None,
    **fit_kwargs: Any,
) -> np.ndarray:
    """Held-out mean log-likelihood per tumour of each fold.

    Parameters
    ----------
    x
        Binary (N, n) uint8 matrix.
    l1
        Penalty strength.
    folds, seed
        Number of folds and seed of the shuffle (both ignored for the folds when
        ``fold_indices`` is given) and of the fits' MCMC chains. ``seed=None`` draws new
        folds on every call; the chains then get seed 0 (see
        :func:`~biomodels.ctmc.fit.fit_theta`).
    fold_indices
        Explicit test-set indices (e.g. to share folds with another package): non-empty
        integer arrays in [0, N), each leaving tumours to fit on (else ValueError).
    **fit_kwargs
        Passed to :func:`~biomodels.ctmc.fit.fit_theta`.

    Returns
    -------
    np.ndarray
        (folds,) held-out mean log-likelihoods, each fit's base rates floored at
        ``-log(N_train + 1)`` before scoring, as ``mhn``'s ``lambda_from_cv`` (an event absent
        from the training tumours otherwise scores at whatever rate the optimiser reached).

    Examples
    --------
    >>> import numpy as np
    >>> from biomodels.ctmc import cross_validate
    >>> X = np.repeat([[0, 0], [1, 0], [0, 1], [1, 1]], [10, 5, 3, 2], axis=0)
    >>> scores = cross_validate(X, l1=0.01, folds=2)
    >>> scores.shape, bool((scores < 0).all())      # a log-likelihood per fold
    ((2,), True)
    """
    x, _ = validate_cohort(x, warn_unobserved=False)
    tests = (
        _check_folds(fold_indices, len(x))
        if fold_indices is not None
        else kfold_indices(len(x), folds, seed=seed)
    )
    with _step_limits_said_once(len(tests)):
        return np.asarray([_fold_score(x, l1, test, seed, fit_kwargs) for test in tests])


@contextlib.contextmanager
def _step_limits_said_once(total: int) -> Any:
    """Say once how many of a cross-validation's ``total`` fold fits hit their step limit.

    And once how many stopped where their line search found no decrease, away from an
    optimum (OWL-QN; a warning per fold fit before).

    Each fold fit that stopped at ``max_steps`` warned on its own: the GBM cohort's default
    cross-validation printed one warning per fold and strength (3 lines for 7 of 25 fits at
    the two smallest strengths, the rest folded by Python's registry). The fits inside
    report to a list instead of warning (other warnings pass as they are raised, to the
    caller's filters); said also when a fit fails or Ctrl-C stops the search, but the error
    that stopped it wins over a warning made an error (``-W error``).
    """
    stopped: list[_Stop] = []
    try:
        with _step_limits_to(stopped):
            yield
    except BaseException:
        with contextlib.suppress(Exception):
            _say_step_limits(stopped, total)
        raise
    _say_step_limits(stopped, total)


@contextlib.contextmanager
def _step_limits_to(stopped: list[_Stop]) -> Any:
    """Have the fits inside report how they stopped short to ``stopped`` instead of warning."""
    token = _STEP_LIMITS.set(stopped)
    try:
        yield
    finally:
        _STEP_LIMITS.reset(token)


def _say_step_limits(stopped: list[_Stop], total: int, *, chooses_l1: bool = True) -> None:
    """Warn once for the fold fits of ``total`` that ``stopped`` short, once per way.

    ``chooses_l1=False`` for fold fits at a given strength, which score the fit only (the
    command line's held-out figure with ``--l1``): their messages said the choice of l1 moved.
    """
    # the held-out scores chose l1 only in a cross-validation over strengths
    choice = ", and with them the choice of l1" if chooses_l1 else ""
    stalled = [s for s in stopped if s.optimality is not None]
    if stalled:
        l1s = sorted({s.l1 for s in stalled})
        warnings.warn(
            f"{len(stalled)} of {total} cross-validation fits stopped before their step "
            f"limit, max_steps={max(s.max_steps for s in stalled)}, where their line search "
            f"found no decrease (at l1={', '.join(f'{g:g}' for g in l1s)}; the largest "
            "pseudo-gradient entry there up to "
            f"{max(s.optimality for s in stalled if s.optimality is not None):.3g}, 0 at an "
            f"optimum): their held-out scores may be off the optimum's{choice}; fit from "
            "other starts (restarts=3) or with optimizer='adam' and compare",
            stacklevel=user_stacklevel())
    stopped = [s for s in stopped if s.optimality is None]
    if not stopped:
        return
    steps = max(s.max_steps for s in stopped)
    l1s = sorted({s.l1 for s in stopped})
    warnings.warn(StepLimitWarning(
        f"{len(stopped)} of {total} cross-validation fits stopped at their step limit, "
        f"max_steps={steps}, before their stopping rule fired (at l1="
        f"{', '.join(f'{g:g}' for g in l1s)}): their held-out scores may still move"
        f"{choice}; raise max_steps (e.g. max_steps={2 * steps})",
        l1=l1s[0], max_steps=steps), stacklevel=user_stacklevel())


def _check_folds(fold_indices: Sequence[np.ndarray], n_tumours: int) -> list[np.ndarray]:
    """Check explicit test sets: non-empty integer indices in [0, N) that leave tumours to fit.

    A negative index or a boolean mask would select test tumours that the training set
    (the complement of the indices) still holds; an empty fold would score NaN.
    """
    tests = []
    for k, fold in enumerate(fold_indices):
        arr = np.asarray(fold)
        if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iu":
            raise ValueError(f"fold_indices[{k}] must be a non-empty 1-D array of integer tumour "
                             f"indices, got dtype {arr.dtype} and shape {arr.shape}")
        if int(arr.min()) < 0 or int(arr.max()) >= n_tumours:
            raise ValueError(f"fold_indices[{k}] must hold tumour indices in [0, {n_tumours}), "
                             f"got values in [{int(arr.min())}, {int(arr.max())}]")
        if np.unique(arr).size == n_tumours:
            raise ValueError(f"fold_indices[{k}] holds every tumour: none is left to fit on")
        tests.append(arr)
    if not tests:
        raise ValueError("fold_indices must hold at least one test set")
    return tests


def _heldout_theta(theta: np.ndarray, n_train: int) -> np.ndarray:
    """Theta with its base rates floored at log(1 / (n_train + 1)), to score held-out tumours.

    An event absent from the training tumours has no finite maximum-likelihood rate: the fit
    drives it down only as far as its optimiser goes (on 200 tumours -11 with Adam, -17.5
    with OWL-QN, -27 for :func:`~biomodels.ctmc.fit.independence_fit`), and a held-out
    tumour carrying it scored that arbitrary value. ``mhn``'s ``lambda_from_cv`` uses the
    same floor (it also floors interactions; here only the base rates).

    Parameters
    ----------
    theta
        (n, n) fitted parameters (rows = affected event).
    n_train
        Number of tumours the fit saw.

    Returns
    -------
    numpy.ndarray
        A float64 copy of ``theta`` with ``theta[i, i] >= -log(n_train + 1)``.
    """
    out = np.array(theta, dtype=np.float64)
    np.fill_diagonal(out, np.maximum(np.diag(out), -np.log(n_train + 1.0)))
    return out


def _fold_score(x: np.ndarray, l1: float, test: np.ndarray, seed: int | None,
                fit_kwargs: dict[str, Any]) -> float:
    train = np.setdiff1d(np.arange(len(x)), test)
    res = fit_theta(x[train], l1=l1, seed=seed, **fit_kwargs)
    fitted = res.theta
    if fit_kwargs.get("model") == "omhn":  # scored by its classical theta (same likelihood)
        fitted = classical_theta(fitted)
    # score on the fit's device: the held-out likelihood costs as much as a fit's evaluation
    theta = torch.as_tensor(_heldout_theta(fitted, len(train)), dtype=torch.float64,
                            device=fit_kwargs.get("device"))
    return float(data_log_likelihood(theta, x[test]).mean())


_CHECKPOINT_FORMAT = "prunus.ctmc.cv-checkpoint/1"


def _setting_key(value: Any) -> str:
    """Return a fit setting as text for the checkpoint signature, array-likes by fingerprint.

    Arrays and tensors are keyed by the fingerprint of their values (an array's repr elides
    entries beyond 1000), a pandas DataFrame or Series by that of its values and labels (its
    repr rounds to 6 digits and hides columns beyond 20, so two ``theta0`` frames matched),
    a numpy bool, integer or float scalar as numpy 1's repr wrote it (numpy 2's repr
    ``np.float64(1e-06)`` is numpy 1's ``1e-06``; a float32 or float16 by the shortest text
    of its precision, so ``np.float32(0.3)`` shares the key of ``0.3``: the dtype is not
    part of the key), and a list or tuple element by element.
    Plain Python values (what ``prunus ctmc fit`` writes) keep their repr, so the keys of
    earlier checkpoints do not change.

    Parameters
    ----------
    value
        One keyword argument of the fold fits.

    Returns
    -------
    str
        Text that differs when the setting does.
    """
    if isinstance(value, np.ndarray | torch.Tensor) or sp.issparse(value):
        return f"array:{fingerprint(value)}"
    if isinstance(value, pd.DataFrame):
        labels = (_labels(value.index), _labels(value.columns))
        return f"frame:{fingerprint(value.to_numpy(), *labels)}"
    if isinstance(value, pd.Series):
        return f"series:{fingerprint(value.to_numpy(), _labels(value.index))}"
    if isinstance(value, np.bool_):
        return repr(bool(value))
    if isinstance(value, np.integer):
        return repr(int(value))
    if isinstance(value, np.floating):
        # as numpy 1's repr wrote it: a float64 exactly, a float32 or float16 by the shortest
        # text of its own precision (float32 0.1 as "0.1", not 0.10000000149011612), so
        # numpy 1's checkpoints resume. Not str(): np.set_printoptions(legacy="1.13") cuts
        # it to 12 digits, and two strengths shared a key
        if value.dtype.itemsize >= 8:
            return repr(float(value))
        return repr(float(np.format_float_scientific(value, unique=True)))
    if hasattr(value, "__array__"):  # a pandas Index, an xarray or a cupy array, ...
        return f"array:{fingerprint(np.asarray(value))}"
    if type(value) in (list, tuple) and not all(type(v) in _PLAIN for v in value):
        # written as repr() writes it, so that a list of plain values keeps its key
        inner = ", ".join(_setting_key(v) for v in value)
        if type(value) is list:
            return f"[{inner}]"
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


# types whose repr() is exact and the same on every supported stack
_PLAIN = (type(None), bool, int, float, complex, str, bytes)


def _labels(index: pd.Index) -> np.ndarray:
    """Return an index's labels as an object array of Python values (hashed by repr)."""
    out = np.empty(len(index), dtype=object)
    for k, label in enumerate(index.tolist()):  # one by one: MultiIndex labels are tuples
        out[k] = label
    return out


# numpy 2 wrote a numpy scalar setting as np.float64(1e-06), np.int64(3) or np.True_
_NUMPY2_SCALAR = re.compile(r"\bnp\.(True_|False_|(?:u?int|float)(?:8|16|32|64|128)?|longdouble)"
                            r"(?:\(([^()]*)\))?")


def _legacy_setting_key(key: Any) -> Any:
    """Return a setting's key as written before 2026-12-07 in today's form.

    Keys of numpy scalars, as numpy 2 wrote them, are rewritten to those of the Python
    numbers they hold, so that such a checkpoint still resumes; any other key is returned
    unchanged.
    """
    if not isinstance(key, str) or "np." not in key:
        return key

    def plain(m: re.Match[str]) -> str:
        name, inner = m.group(1), m.group(2)
        if name in ("True_", "False_"):
            return "True" if name == "True_" else "False"
        if inner is None:
            return m.group(0)
        try:
            return _setting_key(getattr(np, name)(inner))
        except (AttributeError, TypeError, ValueError, OverflowError):
            return m.group(0)

    return _NUMPY2_SCALAR.sub(plain, key)


def _read_cv_checkpoint(path: str | os.PathLike[str], signature: dict[str, Any]
                        ) -> dict[str, float]:
    try:
        with open(path, encoding="utf-8") as fh:
            saved = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ValueError(f"checkpoint {str(path)!r} cannot be read: {exc}") from exc
    if not isinstance(saved, dict) or saved.get("format") != _CHECKPOINT_FORMAT:
        raise ValueError(f"checkpoint {str(path)!r} is not a prunus CTMC cross-validation "
                         "checkpoint")
    try:  # an edited or damaged file: KeyError 'signature', AttributeError ... 'items'
        old = dict(saved["signature"])
        # JSON writes a NaN or infinite fold score as null: read it back as NaN
        scores = {str(k): float("nan") if v is None else float(v)
                  for k, v in saved["scores"].items()}
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"checkpoint {str(path)!r} cannot be read: it is damaged "
                         f"({type(exc).__name__}: {exc}); delete it to start afresh") from exc
    differ = []
    for k in sorted(set(old) | set(signature)):
        was, now = old.get(k), signature.get(k)
        if isinstance(was, dict) and isinstance(now, dict):
            # the fit's settings by name: "fit" alone left the user guessing which option
            differ += [f"{k}.{s}" for s in sorted(set(was) | set(now))
                       # both sides: a key of today's that holds "np." (a dict of numpy
                       # scalars) is rewritten as the checkpoint's was
                       if _legacy_setting_key(was.get(s)) != _legacy_setting_key(now.get(s))]
        elif was != now:
            differ.append(k)
    if differ:
        raise ValueError(f"checkpoint {str(path)!r} belongs to another cross-validation "
                         f"(differs in: {', '.join(differ)}); delete it or pass another path")
    return scores


def _grid_value(g: Any) -> Any:
    """Read a float32 or float16 strength as the float64 of its shortest decimal (0.01).

    ``torch.logspace`` and ``np.float32`` grids gave ``cv_scores`` keys and a chosen ``l1``
    such as 0.009999999776482582; anything else is returned unchanged.
    """
    if isinstance(g, torch.Tensor) and g.ndim == 0 and g.is_floating_point():
        g = g.detach().cpu()
        # numpy has no bfloat16
        g = (g.float() if g.dtype == torch.bfloat16 else g).numpy()[()]
    if isinstance(g, np.ndarray) and g.ndim == 0:
        g = g[()]
    if isinstance(g, np.floating) and g.dtype.itemsize < 8:
        return float(str(g))  # numpy prints the shortest decimal that round-trips
    return g


def select_l1(
    x: np.ndarray,
    grid: Sequence[float] | None = None,
    *,
    folds: int = 5,
    seed: int | None = 0,
    one_se: bool = False,
    checkpoint: str | os.PathLike[str] | None = None,
    **fit_kwargs: Any,
) -> tuple[float, dict[float, np.ndarray]]:
    """Choose the L1 strength by k-fold cross-validated held-out log-likelihood.

    Parameters
    ----------
    x
        Binary (N, n) matrix.
    grid
        Candidate strengths (default :func:`default_l1_grid`); float32 values (e.g. of
        ``torch.logspace``) are read as their shortest decimal (0.01, not 0.0099999998).
    folds, seed
        CV settings (the same folds for every candidate); the seed also seeds the fits'
        MCMC chains. ``seed=None`` draws new folds on every call (the chains then get seed
        0, see :func:`~biomodels.ctmc.fit.fit_theta`) and cannot be combined with
        ``checkpoint``.
    one_se
        Pick the largest strength within one standard error of the best (``mhn``'s rule)
        instead of the best. The standard error uses the folds' sample standard deviation
        (``ddof=1``, as glmnet), ``mhn``'s ``np.std`` (``ddof=0``): ours is wider by
        sqrt(folds / (folds - 1)), 1.12 at 5 folds.
    checkpoint
        JSON file that records each (strength, fold) score as soon as its fit finishes
        (written atomically). When it exists, those fits are skipped; it must come from the
        same data, grid, folds, seed and fit settings (else ValueError): arrays, tensors and
        pandas objects (``theta0``) are compared by their values (and labels), numpy scalars
        as the Python numbers they hold, on any numpy version.
    **fit_kwargs
        Passed to the fits; ``progress=True`` also shows a bar over all the fold fits.

    Returns
    -------
    best, scores
        The chosen strength (a float, among those with a finite mean score) and the per-fold
        scores of every candidate, keyed by the strengths as floats.

    Warns
    -----
    UserWarning
        When the best mean score is at the smallest or largest of three or more candidates
        (with finite scores): the optimum may lie outside the grid.

    Examples
    --------
    Two strengths, two folds (four fits):

    >>> import numpy as np
    >>> from biomodels.ctmc import select_l1
    >>> X = np.repeat([[0, 0], [1, 0], [0, 1], [1, 1]], [10, 5, 3, 2], axis=0)
    >>> best, scores = select_l1(X, grid=[0.01, 0.1], folds=2)
    >>> sorted(scores), scores[best].shape
    ([0.01, 0.1], (2,))
    >>> best == max(scores, key=lambda g: scores[g].mean())
    True
    """
    x, _ = validate_cohort(x, warn_unobserved=False)
    if checkpoint is not None and seed is None:
        # without a seed the folds differ between runs, so saved scores would mix two splits
        raise ValueError("checkpoint needs a fixed seed (the folds must be the same on resume)")
    grid = [_grid_value(g) for g in (default_l1_grid(len(x)) if grid is None else grid)]
    if not grid:  # else max() of no scores fails after the fits with a message naming nothing
        raise ValueError("grid must hold at least one L1 strength")
    tests = kfold_indices(len(x), folds, seed=seed)
    for k, v in fit_kwargs.items():  # its fingerprint failed inside torch, naming nothing
        refuse_meta(v, k)
    signature = {
        "data_sha1": hashlib.sha1(np.ascontiguousarray(x).tobytes()).hexdigest(),
        "shape": list(x.shape), "grid": [float(g) for g in grid], "folds": folds,
        "seed": seed, "fit": {k: _setting_key(v) for k, v in sorted(fit_kwargs.items())
                              if k != "progress"},
        # scores saved before the floor (2026-12-06) must not mix with floored ones
        "score": "heldout, base rates >= -log(N_train + 1)",
    }
    done: dict[str, float] = {}
    if checkpoint is not None and os.path.exists(checkpoint):
        done = _read_cv_checkpoint(checkpoint, signature)
    # len(grid) x folds fits: hours for hundreds of events, so one bar over all of them
    fits = {f"{float(g)!r}/{k}": (float(g), test) for g in grid for k, test in enumerate(tests)}
    todo = [(key, g, test) for key, (g, test) in fits.items() if key not in done]
    bar = tqdm(total=len(fits), initial=len(fits) - len(todo),
               disable=bar_disabled(fit_kwargs.get("progress", False)),
               desc="ctmc cross-validation")
    # closed however the loop ends: a bar left open by Ctrl-C (kept alive by the traceback
    # a notebook holds) pushed every later bar one line down
    try:
        with _step_limits_said_once(len(todo)):
            for key, g, test in todo:
                done[key] = _fold_score(x, g, test, seed, fit_kwargs)
                bar.update()
                if checkpoint is not None:
                    from core import write_json

                    write_json({"format": _CHECKPOINT_FORMAT, "signature": signature,
                                "scores": done}, checkpoint)
    finally:
        bar.close()
    scores = {float(g): np.asarray([done[f"{float(g)!r}/{k}"] for k in range(len(tests))])
              for g in grid}
    # a NaN mean compares false both ways, so max() kept a NaN candidate that came first
    means = {g: s.mean() for g, s in scores.items() if np.isfinite(s.mean())}
    if not means:
        raise ValueError("every L1 strength of the grid got a non-finite held-out score")
    best = max(means, key=means.get)
    _warn_at_grid_edge(best, sorted(means))
    if one_se:
        se = scores[best].std(ddof=1) / np.sqrt(len(scores[best]))
        ok = [g for g in means if means[g] >= means[best] - se]
        best = max(ok)
    return best, scores


def _warn_at_grid_edge(best: float, candidates: list[float]) -> None:
    """Warn when the best mean score lies at an end of a grid of three or more strengths.

    The held-out score may still rise beyond that end, so the choice is a bound, not an
    optimum (two candidates always put the best at an end, so they are not warned about).
    """
    if len(candidates) < 3 or candidates[0] < best < candidates[-1]:
        return
    if best == candidates[0] == 0.0:  # no L1 at all: there is no smaller strength to try
        return
    side, beyond = ("smallest", "smaller") if best == candidates[0] else ("largest", "larger")
    warnings.warn(
        f"select_l1: the best held-out score is at the grid's {side} L1 strength {best:.3g} "
        f"(grid {candidates[0]:.3g} to {candidates[-1]:.3g}); a {beyond} strength may score "
        "better, so extend the grid past it",
        # the caller's line, through CTMC.fit too (stacklevel=3 named model.py's call)
        UserWarning, stacklevel=user_stacklevel(),
    )
