"""Matplotlib figures for FJ debates: trajectories, influence, sweeps, trust streams."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

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

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.  Up to 18 benign agents get a colour and a legend entry each;
        more share one colour and one entry.  The legend sits right of the axes, so it
        never hides a line.

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

    traj = as_numpy(trajectory)  # e.g. a torch model's rollout: detached, from any device
    if traj.ndim == 3:
        # option=True plotted every option as one agent ("x and y can be no greater than
        # 2D"), 1.0 or "1" failed in numpy's indexing, 5 of 3 options with an IndexError
        if np.ndim(option) != 0:
            raise TypeError(f"option: expected one option index, got {option!r}")
        option = int(check_indices(option, "option", traj.shape[2], "an option index"))
    y = traj[..., option] if traj.ndim == 3 else traj
    # a bool True would otherwise match agent 1
    marked = set(check_indices(adversaries, "adversaries", y.shape[1], "agent indices",
                               empty=True).ravel().tolist())
    if ax is None:  # laid out at each draw: the legend beside the axes and the x label were
        # cut off. Tight, not constrained: a caller's later fig.tight_layout() warned of a
        # layout change; not tight_layout() once here: a title the caller added was cut off
        _, ax = plt.subplots(figsize=(6, 3.2), layout="tight")
    rounds = np.arange(y.shape[0])
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
        ax.autoscale_view()
    else:
        for rank, i in enumerate(benign):
            # colour by agent index where it fits, so an agent keeps its colour across panels
            colour = palette[i if y.shape[1] <= len(palette) else rank]
            ax.plot(rounds, y[:, i], color=colour, lw=1.2, label=f"agent {i}")
    for i in sorted(marked):
        ax.plot(rounds, y[:, i], ls="--", color="tab:red", lw=2,
                label=f"agent {i} (adversary)")
    ax.set_xlabel("round")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # rounds are whole numbers
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


def plot_influence(M: np.ndarray, *, ax: Any | None = None, title: str | None = None) -> Any:
    """Heat map of an influence matrix ``M`` (row: listener, column: source).

    Parameters
    ----------
    M
        ``(n, n)`` non-negative influence matrix, e.g.
        :meth:`~multiagent.FriedkinJohnsen.influence_matrix` (numpy or torch).
    ax
        Axes to draw on (a new figure when None).
    title
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on; the colour scale starts at 0 and its bar is labelled.

    Raises
    ------
    ValueError
        If ``M`` is not a square ``(n, n)`` matrix (checked before a figure is created).
    """
    import matplotlib.pyplot as plt

    from multiagent._backend import as_numpy

    # e.g. a torch model's influence_matrix: detached, from any device
    M = as_numpy(M)
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] == 0:
        # a (2, 3) array was drawn as an "influence matrix" with 3 sources for 2 listeners
        raise ValueError(f"M: expected a square (n, n) influence matrix, got shape {M.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.5))
    im = ax.imshow(M, vmin=0, cmap="viridis")
    bar = ax.figure.colorbar(im, ax=ax, shrink=0.8)
    bar.set_label("equilibrium weight $M_{ij}$")
    if M.shape[0] <= 20:  # one tick per agent while the labels still fit
        ax.set_xticks(range(M.shape[1]))
        ax.set_yticks(range(M.shape[0]))
    ax.set_xlabel("source agent j")
    ax.set_ylabel("listener agent i")
    if title:
        ax.set_title(title)
    return ax


def plot_sweep(
    frame: Any, *, x: str, y: str, hue: str | None = None, ax: Any | None = None
) -> Any:
    """Line plot of a tidy sweep DataFrame: ``y`` against ``x``, one line per ``hue`` value.

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

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    import matplotlib.pyplot as plt

    columns = list(getattr(frame, "columns", []))
    for name, column in (("x", x), ("y", y), ("hue", hue)):
        if column is not None and column not in columns:  # pandas' KeyError named neither
            raise ValueError(f"{name}: {column!r} is not a column of frame; it has {columns}")
    if ax is None:  # laid out at each draw (tight, as plot_trajectories): the x label was
        # cut off at the bottom of a saved figure
        _, ax = plt.subplots(figsize=(5, 3.2), layout="tight")
    groups = [(None, frame)] if hue is None else frame.groupby(hue, sort=True)
    # a marker each, continued over the lines already on ax (e.g. a second call for another
    # y): lines told apart by more than their colour
    drawn = len(ax.get_lines())
    for rank, (key, sub) in enumerate(groups, start=drawn):
        sub = sub.groupby(x, sort=True)[y].mean()
        ax.plot(sub.index, sub.values, marker=_MARKERS[rank % len(_MARKERS)],
                label=None if key is None else f"{hue}={key}")
    ax.set_xlabel(_SWEEP_LABELS.get(x, x))
    ax.set_ylabel(_SWEEP_LABELS.get(y, y))
    if hue is not None:
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
        spans = {round(p.get_x(), 6) for p in ax.patches if p.get_gid() == "warm-up"}
        if round(-warmup - 0.5, 6) not in spans:
            first = not spans
            ax.axvspan(-warmup - 0.5, -0.5, color="0.92", zorder=0, gid="warm-up",
                       label=_WARMUP_LABEL if first else None)
    ax.plot(x, frame["trust_in_adversary"].to_numpy(), label=label, **line_kwargs)
    ax.set_xlabel("debate question (a run's warm-up questions before 0)")
    ax.set_ylabel("mean trust in adversary")
    return ax
