"""Figures for fitted CTMC models: theta heatmap and order probabilities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.checks import check_number, refuse_unordered
from core.frames import square_frame_values

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_theta", "plot_order_probabilities"]

# beyond this many events the heatmap keeps a readable size instead of growing with n (at
# 0.35 inch per event a 200-event fit gave a 72-inch, 10,800-pixel-wide figure)
_MAX_FIGSIZE = 12.0
#: Font size (points) of the pair labels of :func:`plot_order_probabilities`.
_TICK_POINTS = 8


def plot_theta(
    theta: pd.DataFrame | np.ndarray,
    *,
    names: Sequence[str] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    limit: float | None = None,
) -> Axes:
    """Heatmap of theta: rows = affected event i, columns = influencing event j.

    Off-diagonal cells use a diverging colour map centred on 0 (red promotes, blue inhibits);
    the diagonal (log base rates) is drawn grey and annotated with its value (up to 40 events)
    rather than coloured, so it does not dominate the scale. An infinite effect takes the
    colour at the end of the scale; a NaN one is grey, and the title says so. Beyond 40
    events every k-th event is named (40 names at most).

    An oMHN's (n + 1, n) theta (``CTMC.theta_frame()`` of an oMHN, or an array) gets its
    observation row ``omega`` drawn below the events, on the same colour scale.

    Parameters
    ----------
    theta
        (n, n) parameters; a DataFrame's index names the events and its columns, the same
        events in any order, are matched to them by name. (n + 1, n) for an oMHN: a
        DataFrame's last row is the observation row (named ``"Observation"`` by
        ``theta_frame``).
    names
        Event names for an array, in the order of its rows (default ``E0, E1, ...``; a
        set, whose order changes from one run to the next, is refused); ignored for a
        DataFrame.
    ax
        Axes to draw on (default: a new figure sized to n, at most 12 inches).
    title
        Axes title (default states the convention).
    limit
        Colour scale limit: the map spans [-limit, limit] (default: the largest off-diagonal
        magnitude); pass the same value to compare several heatmaps. Finite effects beyond
        it take the colour at the end of the scale, and the colour bar gets a pointed end
        on that side (``extend="max"``, ``"min"`` or ``"both"``).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on; its colour bar is the figure's last axes.

    Raises
    ------
    TypeError
        If ``names`` is a set (its order changes from one run to the next).
    ValueError
        If ``theta`` is not square (or an oMHN's (n + 1, n)), ``names`` has not one name
        per row, or ``limit`` is not above 0.
    """
    import matplotlib.pyplot as plt

    omega = None
    if _is_omhn(theta):
        # the observation row apart; the event rows are checked as a cMHN's below
        omega = np.asarray(theta.iloc[-1] if isinstance(theta, pd.DataFrame) else theta[-1],
                           dtype=float)
        theta = theta.iloc[:-1] if isinstance(theta, pd.DataFrame) else np.asarray(theta)[:-1]
        if isinstance(theta, pd.DataFrame):  # omega in the order of the rows' events
            omega = pd.Series(omega, index=theta.columns).reindex(theta.index).to_numpy()
    if isinstance(theta, pd.DataFrame):
        # columns matched to the rows by label: a frame sorted by its index only
        # (theta.sort_index()) had its columns labelled with the row names
        values, names = square_frame_values(theta, "theta", kind="event",
                                            rows_are="affected events",
                                            cols_are="influencing events")
        mat = np.asarray(values, dtype=float)
    else:
        mat = np.asarray(theta, dtype=float)
        # names go to the rows by position: a set's order changed from one run to the next
        refuse_unordered(names, "names", "event names, one per row of theta")
        names = list(names) if names is not None else [f"E{i}" for i in range(len(mat))]
    if mat.ndim != 2 or mat.shape[0] != mat.shape[1]:
        raise ValueError(f"theta: expected a square (n, n) matrix, got shape {mat.shape}")
    n = len(mat)
    if len(names) != n:
        raise ValueError(f"names: expected {n} event names, one per row of theta, got "
                         f"{len(names)}")
    if limit is not None:  # 0 or less failed only when the figure was drawn, naming vmin
        limit = check_number("limit", limit, above=0)
    if ax is None:
        size = min(max(4.0, 0.35 * n + 2), _MAX_FIGSIZE)
        # laid out at each draw: a plain savefig cut off the axis labels and long names
        _, ax = plt.subplots(figsize=(size + 1, size), layout="tight")
    off = mat.copy()
    np.fill_diagonal(off, np.nan)
    missing = bool(np.isnan(off[~np.eye(n, dtype=bool)]).any())
    if omega is not None:  # one row more, below the events
        missing = missing or bool(np.isnan(omega).any())
        off = np.vstack([off, omega])
    # the scale from finite effects: an inf one made it inf (a meaningless colour bar)
    finite = np.abs(off[np.isfinite(off)])
    vmax = limit if limit is not None else max(float(finite.max()) if finite.size else 1.0, 1e-6)
    # effects beyond a given limit were clipped to its colours without a word: the colour
    # bar's pointed ends say on which side (inf is at the ends by convention, as above)
    signed = off[np.isfinite(off)]
    above, below = bool((signed > vmax).any()), bool((signed < -vmax).any())
    extend = {(True, True): "both", (True, False): "max", (False, True): "min"}.get(
        (above, below), "neither")
    # an infinite effect at the end of the scale, as plot_network draws it: imshow masked
    # it, grey as the diagonal
    off = np.where(np.isinf(off), np.sign(off) * vmax, off)
    # the diagonal: grey, not the near-white of a zero effect
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="0.85")
    im = ax.imshow(off, cmap=cmap, vmin=-vmax, vmax=vmax)
    labelled = n <= 40
    if labelled:
        for i in range(n):
            text = f"{mat[i, i]:.1f}"
            text = "0.0" if text == "-0.0" else text
            ax.text(i, i, text, ha="center", va="center", fontsize=6, color="0.2")
    # every name up to 40 events, beyond that every k-th (40 at most), not none: position
    # numbers alone could not be read back to events
    step = -(-n // 40)
    shown = range(0, n, step)
    ax.set_xticks(shown, [names[i] for i in shown], rotation=90, fontsize=7)
    if omega is None:
        ax.set_yticks(shown, [names[i] for i in shown], fontsize=7)
    else:
        ax.set_yticks([*shown, n], [*(names[i] for i in shown), "Observation"], fontsize=7)
    suffix = "" if step == 1 else f" (1 in {step} named)"  # no "2th": no ordinal
    ax.set_xlabel(f"influencing event j{suffix}")
    ax.set_ylabel(f"affected event i{suffix}")
    diagonal = "log base rate" if labelled else "log base rates, grey, values not shown"
    # a NaN effect is grey too: say so (on a line of its own, within a small figure's width)
    nan_note = "\ngrey off the diagonal: NaN" if missing else ""
    ax.set_title(
        title or f"theta[i, j]: effect of j on the rate of i\n(diagonal: {diagonal}){nan_note}"
        + ("" if omega is None else "\nlast row: effect of j on the observation rate (oMHN)"),
        fontsize=8,
    )
    bar = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, extend=extend)
    # short: a longer label ran past the top of an 8-event figure
    bar.set_label("theta[i, j], > 0 promotes", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    return ax


def _is_omhn(theta: object) -> bool:
    """Whether ``theta`` is an oMHN's (n + 1, n) matrix (a frame's last row not an event)."""
    shape = np.shape(theta)
    if len(shape) != 2 or shape[0] != shape[1] + 1:
        return False
    if isinstance(theta, pd.DataFrame):
        return str(theta.index[-1]) not in {str(c) for c in theta.columns}
    return True


def plot_order_probabilities(
    labels: Sequence[str],
    means: Sequence[float],
    errors: Sequence[float] | None = None,
    *,
    ax: Axes | None = None,
    title: str = "P(a before b)",
) -> Axes:
    """Bar chart of order probabilities with optional error bars (e.g. 2 s.d.).

    Parameters
    ----------
    labels
        One label per pair (e.g. ``"TP53 before IDH1"``).
    means
        P(a before b | both observed) per pair, in [0, 1], one per label.  NaN (what
        :func:`~biomodels.ctmc.orders.order_probability` returns for two events never
        observed together) is drawn as a missing bar marked "n/a", so that it is not read
        as a probability of 0.
    errors
        Half-lengths of the error bars, non-negative: one per label, a ``(2, n)`` array of
        lower and upper half-lengths, or one for all (default: none).  NaN only where the
        mean is NaN. Bars end at 0 and 1, the range of a probability.
    ax
        Axes to draw on (default: a new figure).
    title
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on. Every bar is drawn; where the labels would run into each other
        (over ~40 pairs on the default 16-inch width), every k-th bar is named and the x
        label says so (``"pair (1 in k named)"``).

    Raises
    ------
    TypeError
        If ``labels`` is a set (its order changes from one run to the next).
    ValueError
        If ``means`` or ``errors`` do not match ``labels`` in length, are empty, a mean is
        outside [0, 1], or an error is negative or not finite under a finite mean; checked
        before a figure is created.
    """
    import matplotlib.pyplot as plt

    means, errors = _check_order_bars(labels, means, errors)
    if ax is None:
        # the rotated labels were cut off at the bottom of a saved figure: laid out at each
        # draw, and height for them (~0.03 inch each character at 30 degrees, 8 pt). Tight,
        # not constrained: a caller's later fig.tight_layout() warned of a layout change
        longest = max((len(str(label)) for label in labels), default=0)
        # at most 16 inches wide: 50 pairs gave a 42-inch figure
        width = min(max(4.0, 0.8 * len(labels) + 2), 16.0)
        _, ax = plt.subplots(figsize=(width, 3.5 + 0.03 * longest), layout="tight")
    if errors is not None:
        # a probability's bar ends in [0, 1]: one past 1 was cut at the axis, its cap lost
        lower, upper = np.broadcast_to(errors, (2, len(means))) if errors.ndim == 2 else (
            np.broadcast_to(errors, means.shape), np.broadcast_to(errors, means.shape))
        errors = np.stack([np.minimum(lower, means), np.minimum(upper, 1.0 - means)])
    ax.bar(range(len(labels)), means, yerr=errors, capsize=3, color="0.6")
    ax.axhline(0.5, color="k", lw=0.8, ls="--", label="0.5: no preferred order")
    # every k-th pair named where more would run into each other (105 pairs of 15 events
    # on 16 inches were an illegible overlap), as plot_theta names every k-th event
    step = _label_step(ax, len(labels))
    named = range(0, len(labels), step)
    ax.set_xticks(named, [labels[i] for i in named], rotation=30, ha="right",
                  fontsize=_TICK_POINTS)
    if step > 1:
        ax.set_xlabel(f"pair (1 in {step} named)", fontsize=8)
    for i in np.flatnonzero(np.isnan(means)):  # no bar: say why, not a probability of 0
        ax.text(i, 0.02, "n/a", ha="center", va="bottom", fontsize=7, color="0.3")
    ax.set_ylim(0, 1)
    ax.set_ylabel("P(a before b | both observed)", fontsize=8)
    ax.legend(fontsize=7, loc="best", frameon=False)
    ax.set_title(title, fontsize=9)
    return ax


def _label_step(ax: Axes, n: int) -> int:
    """Step k at which every k-th of n bar labels (8 pt, turned 30 degrees) keeps clear.

    Labels turned by 30 degrees are parallel strips a line (8 pt x 1.2) high: their
    neighbours ``d`` apart along the axis are ``d sin 30`` apart across them, so they need
    ``d >= 2 x 1.2 x 8 pt``, plus a tenth for the axes' width changing with the layout.
    """
    width = ax.get_window_extent().width / ax.figure.dpi  # inches, before the layout
    needed = 1.1 * 2 * 1.2 * _TICK_POINTS / 72
    return max(1, int(np.ceil(n * needed / max(width, 1e-9))))


def _check_order_bars(
    labels: Sequence[str], means: Sequence[float], errors: Sequence[float] | float | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return ``means`` and ``errors`` as float arrays after checking them against ``labels``.

    Unchecked, matplotlib broadcast one mean over all labels, drew bars without labels, and
    clipped a mean above 1 at the axis limit without a word. A set of labels, whose order
    changes from one run to the next, is refused before a figure is created (it failed
    while drawing, "'set' object is not subscriptable").
    """
    refuse_unordered(labels, "labels", "pair labels, one per mean")
    n = len(labels)
    if n == 0:
        raise ValueError("labels is empty: expected one label per pair to plot")
    m = np.asarray(means, dtype=float)
    if m.ndim != 1 or len(m) != n:
        raise ValueError(f"means: expected one probability per label ({n} labels), got shape "
                         f"{m.shape}")
    bad = ~np.isnan(m) & ~((m >= 0) & (m <= 1))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"means[{i}] = {float(m[i])!r} ({labels[i]!r}) is outside [0, 1]: "
                         "expected a probability (NaN for a pair never observed together)")
    if errors is None:
        return m, None
    e = np.asarray(errors, dtype=float)
    if e.shape not in ((), (n,), (2, n)):
        raise ValueError(f"errors: expected one half-length per label ({n} labels) or a "
                         f"(2, {n}) array of lower and upper ones, got shape {e.shape}")
    # an error bar of a missing (NaN) mean may be NaN too, as the spread of NaN draws is
    unset = np.broadcast_to(np.isnan(m), e.shape) if e.ndim else np.isnan(m).all()
    bad = ~(((e >= 0) & np.isfinite(e)) | (unset & np.isnan(e)))
    if bad.any():
        k = np.unravel_index(int(np.argmax(bad)), e.shape) if e.ndim else ()
        where = f"[{', '.join(str(int(j)) for j in k)}]" if k else ""
        raise ValueError(f"errors{where} = {float(e[k])!r}: expected a finite half-length "
                         ">= 0 (NaN only for a NaN mean)")
    return m, e
