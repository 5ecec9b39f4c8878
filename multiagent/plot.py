"""Matplotlib figures for FJ debates: trajectories, influence, sweeps, trust streams."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np

from core.blocks import block_factor, strongest_blocks
from core.checks import refuse_unordered

__all__ = ["plot_trajectories", "plot_influence", "plot_sweep", "plot_trust_stream"]

# axis labels for the columns of multiagent.sweep; other columns keep their names
_SWEEP_LABELS = {
    "asr": "attack success rate",
    "accuracy_start": "benign accuracy, round 0",
    "accuracy_end": "benign accuracy, last round",
    "adversary_weight": "benign weight on adversary",
    "adversary_weight_closed_form": "benign weight on adversary (closed form)",
    "n": "agents n",
    "gamma": "benign stubbornness gamma",
    "alpha": "benign peer-resistance alpha",
    "adversary_persuasion": "adversary persuasion",
}

#: Markers of successive lines in :func:`plot_sweep`.
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def plot_trajectories(
    trajectory: np.ndarray,
    *,
    option: int = 0,
    adversaries: Sequence[int] = (),
    ax: Any | None = None,
    title: str | None = None,
    ylabel: str | None = None,
    names: Sequence[Any] | None = None,
) -> Any:
    """Plot each agent's belief in one option across rounds.

    Parameters
    ----------
    trajectory
        ``(T + 1, n)`` scalar opinions or ``(T + 1, n, K)`` belief vectors.
    option
        Option plotted for belief vectors (e.g. the correct answer).
    adversaries
        Agents drawn dashed in red.
    ax
        Axes to draw on (a new figure when None).
    title
        Axes title.
    ylabel
        y-axis label; default ``"belief in option <option>"`` (``"opinion"`` for scalars).
    names
        One label per agent, in the trajectory's order (e.g. the agents of an adjacency
        file); default ``"agent 0"``, ``"agent 1"``, ...  Shown as text (``$`` is not
        read as mathtext).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.  Up to 18 benign agents get a colour and a legend entry each;
        more share one colour and one entry.  The legend sits right of the axes, so it
        never hides a line.  A single round (``T = 0``) is drawn as marked points, which
        a line alone would not show.

    Raises
    ------
    TypeError
        If ``names`` is a string rather than a sequence of names, or ``trajectory`` is a
        whole :class:`~multiagent.SimulationResult` (pass ``result.trajectories[q]``).
    ValueError
        If ``names`` does not hold one name per agent (checked before a figure is made),
        ``trajectory`` has neither 2 nor 3 axes (simulate's 4-axis stack of questions), or
        holds a NaN or infinite opinion (the first one is named).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_trajectories(np.array([[1.0, 0.0], [0.5, 0.5]]), adversaries=[1])
    >>> ax.get_ylabel()
    'opinion'
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from multiagent._backend import as_numpy, check_indices

    if hasattr(trajectory, "trajectories") and hasattr(trajectory, "truth"):
        # a SimulationResult failed in numpy ("tuple index out of range")
        fix = ("pass result.trajectories[q] (and option=int(result.truth[q]))"
               if trajectory.trajectories is not None else "it kept no trajectories: "
               "simulate again with keep_trajectories=True")
        raise TypeError("trajectory: expected one question's (T + 1, n) or (T + 1, n, K) "
                        f"array, got a SimulationResult; {fix}")
    traj = as_numpy(trajectory)  # e.g. a torch model's rollout: detached, from any device
    if traj.ndim not in (2, 3):
        # simulate's (questions, T + 1, n, K) failed in matplotlib ("x and y can be no
        # greater than 2D")
        more = ("; a (questions, T + 1, n, K) stack holds one per question: pass "
                "trajectories[q]" if traj.ndim == 4 else "")
        raise ValueError(f"trajectory: expected a (T + 1, n) or (T + 1, n, K) array, got "
                         f"shape {traj.shape}{more}")
    if traj.ndim == 3:
        # option=True plotted every option as one agent ("x and y can be no greater than
        # 2D"), 1.0 or "1" failed in numpy's indexing, 5 of 3 options with an IndexError
        if np.ndim(option) != 0:
            raise TypeError(f"option: expected one option index, got {option!r}")
        option = int(check_indices(option, "option", traj.shape[2], "an option index"))
    # NaN or inf was drawn as a gap (inf: the axis limits went NaN) with nothing saying so:
    # opinions are finite, so one is a slip upstream, refused as plot_influence refuses it
    bad = ~np.isfinite(np.asarray(traj, dtype=float))
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"trajectory: expected finite opinions; trajectory"
                         f"[{', '.join(map(str, where))}] = {traj[where]} (round {where[0]}, "
                         f"agent {where[1]})")
    y = traj[..., option] if traj.ndim == 3 else traj
    # a bool True would otherwise match agent 1
    marked = set(check_indices(adversaries, "adversaries", y.shape[1], "agent indices",
                               empty=True).ravel().tolist())
    labels = _agent_labels(names, y.shape[1])
    if ax is None:  # laid out at each draw: the legend beside the axes and the x label were
        # cut off. Tight, not constrained: a caller's later fig.tight_layout() warned of a
        # layout change; not tight_layout() once here: a title the caller added was cut off
        _, ax = plt.subplots(figsize=(6, 3.2), layout="tight")
    rounds = np.arange(y.shape[0])
    # a line through a single round draws nothing: its points are marked instead
    alone = {"marker": "o", "ms": 4} if y.shape[0] == 1 else {}
    # tab10 then tab20's light shades, both without red (red marks adversaries): 18
    # distinct colours, the first nine far apart; beyond that colours would repeat and
    # the legend would name two agents for one colour
    palette = [c for k, c in enumerate(plt.get_cmap("tab10").colors) if k != 3]
    palette += [c for k, c in enumerate(plt.get_cmap("tab20").colors) if k % 2 and k != 7]
    n_benign = y.shape[1] - len(marked)
    one_colour = n_benign > len(palette)
    benign = [k for k in range(y.shape[1]) if k not in marked]
    if one_colour:
        # one artist for all benign lines: a Line2D each took ~1 ms to add and to draw
        # (5 s at 5000 agents); same look, one legend entry
        from matplotlib.collections import LineCollection

        segments = np.stack(np.broadcast_arrays(rounds[None, :], y[:, benign].T), axis=-1)
        ax.add_collection(LineCollection(segments, colors="tab:blue", linewidths=0.8,
                                         alpha=0.6, label=f"benign agents ({n_benign})"))
        if alone:  # one artist for the points too
            ax.scatter(np.repeat(rounds, n_benign), y[:, benign].ravel(), s=9,
                       color="tab:blue", alpha=0.6)
        ax.autoscale_view()
    else:
        for rank, i in enumerate(benign):
            # colour by agent index where it fits, so an agent keeps its colour across panels
            colour = palette[i if y.shape[1] <= len(palette) else rank]
            ax.plot(rounds, y[:, i], color=colour, lw=1.2, label=labels[i], **alone)
    for i in sorted(marked):
        ax.plot(rounds, y[:, i], ls="--", color="tab:red", lw=2,
                label=f"{labels[i]} (adversary)", **({"marker": "X", "ms": 6} if alone else {}))
    ax.set_xlabel("round")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # rounds are whole numbers
    if alone:  # round 0 alone spanned -0.05..0.05, ticked in fractions of a round
        low, high = ax.get_xlim()
        ax.set_xlim(min(low, -0.5), max(high, 0.5))
        if ax.get_xlim() == (-0.5, 0.5):  # nothing else on the axes: round 0's tick only
            ax.set_xticks([0])
    if ylabel is None:
        ylabel = f"belief in option {option}" if traj.ndim == 3 else "opinion"
    ax.set_ylabel(ylabel)
    if traj.ndim == 3:  # probabilities: show the whole [0, 1] scale, not a zoomed band
        ax.set_ylim(-0.03, 1.03)
    if title:
        ax.set_title(title)
    n_entries = (1 if one_colour else n_benign) + len(marked)
    ax.legend(fontsize=7, ncol=1 + n_entries // 13, loc="upper left",
              bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)
    return ax


def _agent_labels(names: Sequence[Any] | None, n: int) -> list[str]:
    """Legend labels of ``n`` agents: ``names`` as text, or ``agent 0``, ``agent 1``, ..."""
    if names is None:
        return [f"agent {i}" for i in range(n)]
    if isinstance(names, str | bytes):  # "abc" would name three agents a, b and c
        raise TypeError(f"names: expected a sequence of agent names, got a "
                        f"{type(names).__name__} ({names!r})")
    # a set named the curves in its hash order, another in each process
    refuse_unordered(names, "names", "agent names, one per agent of trajectory")
    labels = [str(name) for name in names]
    if len(labels) != n:
        raise ValueError(f"names: expected {n} agent names, one per agent of trajectory, "
                         f"got {len(labels)}")
    # a label starting with "_" is left out of a legend, and a pair of "$" starts mathtext:
    # a name is shown as written
    return [(" " + label if label.startswith("_") else label).replace("$", r"\$")
            for label in labels]


def plot_influence(M: np.ndarray, *, ax: Any | None = None, title: str | None = None,
                   diagonal: bool = False) -> Any:
    """Heat map of an influence matrix ``M`` (row: listener, column: source).

    By default the colours show who influences whom: the scale runs from 0 to the
    largest off-diagonal weight, and the diagonal (each agent's weight on its own initial
    opinion, which in the Friedkin-Johnsen model is often several times any other weight)
    is drawn grey, with its values written in the cells up to 20 agents and their range
    given in the colour bar's label.  ``diagonal=True`` colours the diagonal on the same
    scale instead (from 0 to the largest entry).  Each cell is drawn in its own colour (no
    blending with its neighbours); with more agents than the axes has room for (over 500,
    or over its pixels a side), each cell shows the largest weight of a block of
    k x k pairs, so that a lone strong weight does not fade into the zeros around it, and
    the colour bar's label says so.

    Parameters
    ----------
    M
        ``(n, n)`` non-negative influence matrix, e.g.
        :meth:`~multiagent.FriedkinJohnsen.influence_matrix` (numpy or torch).  Round-off
        down to ``-1e-9`` (of a solve) is drawn as 0.
    ax
        Axes to draw on (a new figure when None).
    title
        Axes title.
    diagonal
        Colour the diagonal on the scale of the other entries (True), or draw it grey and
        scale the colours to the off-diagonal entries (False, the default).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on; the colour scale starts at 0 (0 to 1 when every coloured entry
        is 0) and its bar, the figure's last axes, is labelled.

    Raises
    ------
    ValueError
        If ``M`` is not a square ``(n, n)`` matrix, or holds a NaN, infinite or negative
        entry (the first one is named); checked before a figure is created.
    """
    import matplotlib.pyplot as plt

    from multiagent._backend import as_numpy

    # e.g. a torch model's influence_matrix: detached, from any device
    M = as_numpy(M)
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] == 0:
        # a (2, 3) array was drawn as an "influence matrix" with 3 sources for 2 listeners
        raise ValueError(f"M: expected a square (n, n) influence matrix, got shape {M.shape}")
    M = np.asarray(M, dtype=float)
    # NaN was drawn white and a negative weight in the colour of 0, neither with a key:
    # influence weights are finite and non-negative, so either is a slip upstream
    bad = ~np.isfinite(M)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"M: expected finite influence weights; M[{i}, {j}] = {M[i, j]}")
    negative = M < -1e-9
    if negative.any():
        i, j = np.argwhere(negative)[0]
        raise ValueError(f"M: influence weights are non-negative; M[{i}, {j}] = {M[i, j]:g}")
    M = np.maximum(M, 0.0)  # round-off of a solve, e.g. -1e-17, is a weight of 0
    n = M.shape[0]
    if ax is None:  # laid out at each draw: a plain savefig cut off the y label
        _, ax = plt.subplots(figsize=(4.2, 3.5), layout="tight")
    shown = np.ma.masked_array(M, mask=np.zeros_like(M, dtype=bool) if diagonal
                               else np.eye(n, dtype=bool))
    # an all-zero matrix had a -0.1..0.1 bar; weights of a row-stochastic M lie in [0, 1]
    top = float(shown.max()) if shown.count() else 0.0
    cmap = plt.get_cmap("viridis").with_extremes(bad="0.8")  # masked diagonal: grey
    scale = {"vmin": 0, "vmax": top if top > 0 else 1.0, "cmap": cmap}
    # nearest: matplotlib's default antialiasing blended each cell with its neighbours once
    # a cell had fewer than 3 pixels, and a lone strong weight faded into the zeros around it
    k = block_factor(ax, n, _MAX_CELLS)
    if k == 1:
        im = ax.imshow(shown, interpolation="nearest", **scale)
    else:
        # more agents than the axes has room for: a cell per k x k block, its largest
        # weight, laid over the agents' own coordinates
        side = -(-n // k) * k
        im = ax.imshow(strongest_blocks(shown.filled(np.nan), k), interpolation="nearest",
                       extent=(-0.5, side - 0.5, side - 0.5, -0.5), **scale)
        ax.set(xlim=(-0.5, n - 0.5), ylim=(n - 0.5, -0.5))
    bar = ax.figure.colorbar(im, ax=ax, shrink=0.8)
    if k > 1:  # said beside the scale, where a title the caller sets cannot replace it
        block = f"\n(each cell the largest of {k} x {k} pairs)"
    else:
        block = ""
    if diagonal:
        bar.set_label("equilibrium weight $M_{ij}$" + block)
    else:
        self_weights = np.diag(M)
        low, high = f"{self_weights.min():.2f}", f"{self_weights.max():.2f}"
        span = low if low == high else f"{low}-{high}"
        bar.set_label(f"equilibrium weight $M_{{ij}}$, $i \\neq j$\n(grey diagonal: "
                      f"$M_{{ii}}$ = {span}){block}", fontsize=9)
        if n <= 20:  # the self-weights in their cells while they fit
            for i in range(n):
                ax.text(i, i, f"{M[i, i]:.2g}", ha="center", va="center",
                        fontsize=7 if n <= 10 else 5, color="0.15")
    if n <= 20:  # one tick per agent while the labels still fit
        ax.set_xticks(range(M.shape[1]))
        ax.set_yticks(range(M.shape[0]))
    ax.set_xlabel("source agent j")
    ax.set_ylabel("listener agent i")
    if title:
        ax.set_title(title)
    return ax


#: Most cells a side of :func:`plot_influence`'s map: beyond it (or beyond the axes'
#: pixels) each cell is the largest weight of k x k pairs. One cell an agent, 2,000 agents
#: on a few hundred pixels were resampled and a lone strong weight averaged away.
_MAX_CELLS = 500


def _short_labels(values: Sequence[Any]) -> list[str]:
    """Text of sweep values: numbers to 4 significant digits, more where 4 would merge two.

    ``np.linspace(0.1, 0.9, 5)`` gave the legend "gamma=0.30000000000000004"; whole numbers
    stay whole (``n=1000``, not ``1e+03``), other values are shown as ``str`` gives them.
    """
    def text(value: Any, digits: int) -> str:
        if isinstance(value, bool | np.bool_) or not isinstance(value, Real):
            return str(value)
        if float(value).is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{float(value):.{digits}g}"

    for digits in range(4, 18):
        labels = [text(v, digits) for v in values]
        if len(set(labels)) == len(set(values)):
            break
    return labels


#: Where a legend of more entries than this goes beside the axes (inside, it hid curves).
_LEGEND_INSIDE_MAX = 6


def plot_sweep(
    frame: Any, *, x: str, y: str, hue: str | None = None, ax: Any | None = None,
    spread: str | None = "ci",
) -> Any:
    """Plot a tidy sweep DataFrame: the mean of ``y`` against ``x``, one line per ``hue``.

    A numeric ``x`` is drawn as lines with markers.  A categorical one (e.g. graph names)
    is drawn as markers without joining lines, its categories in the order they first
    appear in ``frame`` (the grid's), each ``hue`` shifted a little sideways so their
    markers do not hide each other.  Numbers in the legend and on categorical ticks are
    shown to 4 significant digits (more where 4 would give two values the same label).

    Where some point has several rows (e.g. seeds of a sweep over ``seed``), the spread
    is drawn around the mean: a band (numeric ``x``) or a vertical bar (categorical
    ``x``), in the line's colour, of the 95 % confidence interval of the mean
    (``mean +- t(0.975, k-1) sd / sqrt(k)`` over the point's ``k`` rows, Student's t),
    or of the smallest and largest value; the y label says which and over how many runs.

    Parameters
    ----------
    frame
        Tidy table, e.g. from :func:`multiagent.sweep`; rows sharing ``x`` (and ``hue``)
        are averaged.
    x
        Column on the x-axis (the sweep's columns get readable axis labels).
    y
        Column on the y-axis.
    hue
        Column whose values get one line each (one line when None).
    ax
        Axes to draw on (a new figure when None).
    spread
        Spread drawn where a point has several rows: ``"ci"`` (95 % confidence interval
        of the mean, the default), ``"range"`` (min-max) or None (none).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.  A legend of more than 6 entries sits right of the axes, so
        it hides no curve.

    Raises
    ------
    ValueError
        If ``x``, ``y`` or ``hue`` is not a column of ``frame``, or ``spread`` is not one
        of ``"ci"``, ``"range"`` or None.
    """
    import matplotlib.pyplot as plt
    import pandas as pd
    from matplotlib.transforms import Affine2D

    columns = list(getattr(frame, "columns", []))
    for name, column in (("x", x), ("y", y), ("hue", hue)):
        if column is not None and column not in columns:  # pandas' KeyError named neither
            raise ValueError(f"{name}: {column!r} is not a column of frame; it has {columns}")
    if spread not in ("ci", "range", None):
        raise ValueError(f"spread: expected 'ci', 'range' or None, got {spread!r}")
    if ax is None:  # laid out at each draw (tight, as plot_trajectories): the x label was
        # cut off at the bottom of a saved figure
        _, ax = plt.subplots(figsize=(5, 3.2), layout="tight")
    # graph names were joined by lines, as if "ring" lay between "complete" and "star"
    numeric = (pd.api.types.is_numeric_dtype(frame[x])
               and not pd.api.types.is_bool_dtype(frame[x]))
    if numeric:
        groups = [(None, frame)] if hue is None else list(frame.groupby(hue, sort=True))
    else:  # as text on a categorical axis, in the grid's order (not alphabetical)
        order = list(pd.unique(frame[x]))
        frame = frame.assign(**{x: frame[x].map(dict(zip(order, _short_labels(order))))})
        groups = [(None, frame)] if hue is None else list(frame.groupby(hue, sort=True))
        # the categories on the axis first, in the grid's order, whatever each hue holds
        ax.xaxis.update_units(frame[x].drop_duplicates().tolist())
    labels = _short_labels([key for key, _ in groups]) if hue is not None else [None]
    # a marker each, continued over the lines already on ax (e.g. a second call for another
    # y): lines told apart by more than their colour
    drawn = len(ax.get_lines())
    counts: set[int] = set()
    for rank, ((_, sub), label) in enumerate(zip(groups, labels), start=drawn):
        stats = sub.groupby(x, sort=numeric)[y].agg(["mean", "std", "count", "min", "max"])
        points = stats.index.tolist()
        style: dict[str, Any] = {"marker": _MARKERS[rank % len(_MARKERS)]}
        if not numeric:  # markers only, each hue shifted by up to a third of a category
            style["ls"] = "none"
            shift = 0.0 if len(groups) == 1 else (
                (rank - drawn) / (len(groups) - 1) - 0.5) * min(0.4, 0.12 * len(groups))
            style["transform"] = Affine2D().translate(shift, 0) + ax.transData
        (line,) = ax.plot(points, stats["mean"].to_numpy(), label=None if hue is None else
                          f"{hue}={label}", **style)
        several = stats["count"] > 1
        if spread is None or not several.any():
            continue
        counts.update(stats.loc[stats["count"] > 0, "count"].tolist())
        if spread == "ci":
            from scipy.stats import t

            k = stats["count"].to_numpy(dtype=float)
            half = (t.ppf(0.975, np.maximum(k - 1, 1)) * stats["std"].to_numpy()
                    / np.sqrt(k))
            low = np.where(k > 1, stats["mean"] - half, np.nan)
            high = np.where(k > 1, stats["mean"] + half, np.nan)
        else:
            low = np.where(several, stats["min"], np.nan)
            high = np.where(several, stats["max"], np.nan)
        if numeric:
            ax.fill_between(points, low, high, color=line.get_color(), alpha=0.2, lw=0)
        else:
            ax.vlines(points, low, high, color=line.get_color(), lw=1.5,
                      transform=style["transform"])
    ax.set_xlabel(_SWEEP_LABELS.get(x, x))
    ylabel = _SWEEP_LABELS.get(y, y)
    if counts:  # say what the band is: seaborn's default band is easy to misread
        runs = (f"{min(counts)}" if len(counts) == 1 else f"{min(counts)}-{max(counts)}")
        what = "95 % CI" if spread == "ci" else "min-max"
        ylabel = f"{ylabel}\n(mean of {runs} runs, {what})"
    ax.set_ylabel(ylabel)
    if hue is not None:
        entries = len(ax.get_legend_handles_labels()[0])
        if entries > _LEGEND_INSIDE_MAX:
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                      borderaxespad=0.0, frameon=False, ncol=1 + entries // 16)
        else:
            ax.legend(fontsize=7)
    return ax


_WARMUP_LABEL = "warm-up (labelled questions)"


def plot_trust_stream(frame: Any, *, label: str | None = None, ax: Any | None = None,
                      **line_kwargs: Any) -> Any:
    """Mean benign trust in the adversary over a stream of questions, by debate question.

    The x-axis counts debated questions from 0 in every run, and a run's warm-up questions
    sit before them at ``-warmup..-1`` under a grey band: runs with and without a warm-up
    then compare the same debate questions (plotted by the stream's question number, a
    run without warm-up had its first debates under the other runs' warm-up band).

    Parameters
    ----------
    frame
        The table of :func:`multiagent.run_trust_stream` (columns ``phase`` and
        ``trust_in_adversary``, one row per question in stream order).
    label
        Legend entry of the line.
    ax
        Axes to draw on (a new figure when None); call again with the same ``ax`` for
        another run.
    **line_kwargs
        Passed to ``ax.plot`` (``ls``, ``lw``, ``color``...).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on; the warm-up band is drawn once per warm-up length.

    Raises
    ------
    ValueError
        If ``frame`` lacks the columns ``phase`` or ``trust_in_adversary``.
    """
    import matplotlib.pyplot as plt

    columns = list(getattr(frame, "columns", []))
    if not {"phase", "trust_in_adversary"} <= set(columns):
        raise ValueError("frame: expected run_trust_stream's table (columns 'phase' and "
                         f"'trust_in_adversary'), got columns {columns}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.4), layout="tight")
    warmup = int((frame["phase"] == "warmup").sum())
    x = np.arange(len(frame)) - warmup  # debate questions from 0, the warm-up before them
    if warmup:
        # the band's length in its gid: matplotlib < 3.9 returns a Polygon (no get_x)
        spans = {p.get_gid() for p in ax.patches
                 if str(p.get_gid()).startswith("warm-up ")}
        if f"warm-up {warmup}" not in spans:
            first = not spans
            ax.axvspan(-warmup - 0.5, -0.5, color="0.92", zorder=0, gid=f"warm-up {warmup}",
                       label=_WARMUP_LABEL if first else None)
    ax.plot(x, frame["trust_in_adversary"].to_numpy(), label=label, **line_kwargs)
    ax.set_xlabel("debate question (a run's warm-up questions before 0)")
    ax.set_ylabel("mean trust in adversary")
    return ax
