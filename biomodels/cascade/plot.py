"""Plots of cascade size distributions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import torch

from .montecarlo import MonteCarloResult, _float64_array

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_distribution"]

#: Line styles of successive curves on one axes, so they differ in more than colour.
_LINE_STYLES = ("-", "--", "-.", ":")
#: Marks the curves :func:`plot_distribution` drew, to continue their styles on the axes.
_CURVE_GID = "prunus-size-distribution"


def plot_distribution(
    curves: Mapping[str, np.ndarray | torch.Tensor | MonteCarloResult] | np.ndarray
    | torch.Tensor | MonteCarloResult,
    *,
    ax: Axes | None = None,
    log: bool = False,
    title: str | None = None,
    floor: float | None = None,
) -> Axes:
    """Plot one or several size distributions ``P(size = k)`` against ``k``.

    Parameters
    ----------
    curves
        A distribution, or a non-empty mapping from legend label to distribution (an array,
        a tensor or a :class:`~biomodels.cascade.MonteCarloResult`, drawn with the band of
        its 95 % Wilson intervals).  Each is a non-empty
        1-D array of probabilities in [0, 1], up to round-off (``16 eps sqrt(K)`` of its
        dtype for ``K`` sizes, at least ``1e-9``: the unit-circle evaluation leaves
        ``~4 eps sqrt(K)``).  NaN and infinite values are refused: no size distribution
        holds them (the graph, the seed probabilities and Monte Carlo refuse NaN), so one
        is a slip upstream, which a line with a gap would hide.  A bare distribution is
        labelled ``"P(size = k)"``: to tell curves apart in the legend (also when drawn by
        several calls on one axes), pass a mapping from label to distribution.
    ax
        Matplotlib axes to draw on (a new figure if None).
    log
        Logarithmic probability axis (to show the tail); sizes of probability 0 (and
        negative round-off) have no place on it and are not drawn, which the y label says
        (in lines short enough for a 3.5-inch figure).
    title
        Axes title.
    floor
        Precision floor of the values (e.g. ``1e-15`` for the default unit-circle
        evaluation, whose smaller entries are round-off). With ``log=True`` values below it
        are not drawn, so that noise is not read as a tail, and a dotted line marks it when
        it lies within two decades of the drawn values; ignored on a linear axis.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Raises
    ------
    ValueError
        If ``curves`` or one of its curves is empty, a curve is not 1-D, or holds NaN,
        infinite or negative values or values above 1 (beyond round-off), or ``floor`` is
        not positive; checked before a figure is created.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_distribution({"exact": [0.0, 0.5, 0.25, 0.25]}, log=True, floor=1e-15)
    >>> ax.get_xlabel()
    'final cascade size k (active nodes)'
    >>> import matplotlib.pyplot as plt
    >>> plt.close(ax.figure)
    """
    import matplotlib.pyplot as plt

    if floor is not None and not floor > 0:  # NaN too: a log axis needs a positive line
        raise ValueError(f"floor: expected a positive probability, got {floor!r}")
    if not isinstance(curves, Mapping):
        curves = {"P(size = k)": curves}
    if not curves:  # drew an empty axes on a new figure
        raise ValueError("curves is empty: expected a distribution, or a mapping from "
                         "label to distribution")
    # read before a figure is made: a curve that failed left an empty figure open
    arrays = {label: _float64_array(values) for label, values in curves.items()}
    for label, y in arrays.items():  # a list not rounded to float32 on the way
        if y.ndim != 1 or y.size == 0:
            raise ValueError(f"curves: {label!r} must be one probability per size, a "
                             f"non-empty 1-D array, got shape {y.shape}")
        _check_probabilities(label, y, _round_off(curves[label], y.size))
    if ax is None:  # laid out at each draw: the x label was cut off at the bottom of a
        # saved figure. Tight, not constrained: a caller's later fig.tight_layout() warned of
        # a layout change; not tight_layout() once here: a title the caller added was cut off
        _, ax = plt.subplots(figsize=(6, 3.5), layout="tight")
    # curves drawn on this axes before (e.g. one call per curve): the next line style
    drawn = sum(line.get_gid() == _CURVE_GID for line in ax.get_lines())
    hidden = log and "not drawn" in ax.get_ylabel()  # an earlier call's gaps stay named
    sampled = any(isinstance(v, MonteCarloResult) for v in curves.values())
    for rank, (label, y) in enumerate(arrays.items(), start=drawn):
        k = np.arange(y.size)
        if log:
            shown = y > (floor or 0.0)
            hidden |= not shown.all()
            y = np.where(shown, y, np.nan)
        # a line style each: curves told apart by more than their colour
        (line,) = ax.plot(k, y, drawstyle="steps-mid", label=label, lw=1.2,
                          ls=_LINE_STYLES[rank % len(_LINE_STYLES)], gid=_CURVE_GID)
        # a step drawn at a size with no drawn neighbour has no width: a point mass (or
        # [1.0]) drew nothing at all, so such sizes get a dot
        finite = np.isfinite(y)
        alone = finite & ~np.r_[False, finite[:-1]] & ~np.r_[finite[1:], False]
        if alone.any():  # markers, not a line: the curves are the axes' lines
            ax.scatter(k[alone], y[alone], s=9, color=line.get_color(), zorder=line.zorder)
        source = curves[label]
        if isinstance(source, MonteCarloResult):
            # the sampling error of each size, as distribution.csv's lower and upper give it
            lower, upper = source.interval(0.95)
            if log:
                lower = np.where(lower > (floor or 0.0), lower, np.nan)
            ax.fill_between(k, lower, upper, step="mid", color=line.get_color(), alpha=0.2,
                            lw=0, label=f"{label}: 95 % Wilson interval")
    ax.set_xlabel("final cascade size k (active nodes)")
    if hidden:  # the gaps are sizes, not missing data: say so
        # in lines of up to 30 characters: "(gaps: never sampled or below the floor, not
        # drawn)" on one line was taller than a 3.8-inch figure, cut off at its bottom and
        # run into the suptitle of cascade fit's fit.png
        below = "P = 0, not drawn" if floor is None else "P below the floor,\nnot drawn"
        if sampled:  # a size no run reached may still have a small probability
            below = ("never sampled,\nnot drawn" if floor is None
                     else "never sampled or\nbelow the floor, not drawn")
        ax.set_ylabel(f"P(size = k), log scale\n(gaps: {below})")
    elif log:
        ax.set_ylabel("P(size = k), log scale")
    else:
        ax.set_ylabel("P(size = k)")
    if log:
        ax.set_yscale("log")
        # probabilities: no decade above 1 (autoscaling over many decades showed 1e3)
        ax.set_ylim(top=2.0)
        # marked when it lies in view or within two decades below it (the view then
        # stretches to it): a floor far below the values got a legend entry for a line no
        # one could see
        bottom = ax.get_ylim()[0]
        marked = floor is not None and floor >= bottom / 100
        if marked:
            ax.set_ylim(bottom=min(bottom, floor / 2))
            ax.axhline(floor, color="0.5", ls=":", lw=1, label="precision floor")
    else:
        marked = False
    if title:
        ax.set_title(title)
    if len(curves) > 1 or marked or sampled:
        # "best" for sampled curves too: "upper right" covered observed sizes of cascade
        # fit's log panel (outbreaks at sizes 25-66, P = 0.01); "best" avoids their steps
        # and dots, over which the band lies
        ax.legend(frameon=False, loc="best", fontsize=8 if sampled else None)
    return ax


def _round_off(values: object, size: int) -> float:
    """Tolerance of a curve's probabilities beyond [0, 1], from the dtype it came in."""
    dtype = getattr(values, "dtype", None)  # a MonteCarloResult or a list: float64
    if isinstance(dtype, torch.dtype):
        eps = torch.finfo(dtype).eps if dtype.is_floating_point else np.finfo(np.float64).eps
    else:
        eps = np.finfo(dtype if dtype is not None and np.issubdtype(dtype, np.floating)
                       else np.float64).eps
    # 4x the unit-circle evaluation's bound (cli._precision_floor), whose noise stays
    # well below it: round-off passes, a count or a log-probability does not
    return max(1e-9, 16 * float(eps) * float(np.sqrt(size)))


def _check_probabilities(label: object, y: np.ndarray, tol: float) -> None:
    """Refuse values of a curve that are no probability (NaN, inf, < 0 or > 1 beyond ``tol``).

    Unchecked, a negative or NaN value drew a line with a gap (on a linear axis too) and a
    value above 1 a spike, read as data.
    """
    bad = ~((y >= -tol) & (y <= 1 + tol))  # NaN fails both comparisons
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"curves: {label!r} holds {float(y[k])!r} at size {k}: expected "
                         "probabilities in [0, 1] (P(size = k), no NaN)")
