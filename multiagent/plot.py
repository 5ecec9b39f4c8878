"""Matplotlib figures for FJ debates: belief trajectories, influence matrices, sweeps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["plot_trajectories", "plot_influence", "plot_sweep"]


def plot_trajectories(
    trajectory: np.ndarray,
    *,
    option: int = 0,
    adversaries: Sequence[int] = (),
    ax: Any | None = None,
    title: str | None = None,
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

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    from multiagent._backend import as_numpy, check_indices

    traj = as_numpy(trajectory)  # e.g. a torch model's rollout: detached, from any device
    y = traj[..., option] if traj.ndim == 3 else traj
    # a bool True would otherwise match agent 1
    marked = set(check_indices(adversaries, "adversaries", y.shape[1], "agent indices",
                               empty=True).ravel().tolist())
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    rounds = np.arange(y.shape[0])
    palette = [c for k, c in enumerate(plt.get_cmap("tab10").colors) if k != 3]  # red: adversary
    for i in range(y.shape[1]):
        adv = i in marked
        colour = "tab:red" if adv else palette[i % len(palette)]
        ax.plot(rounds, y[:, i], ls="--" if adv else "-", color=colour,
                lw=2 if adv else 1.2, label=f"agent {i}" + (" (adversary)" if adv else ""))
    ax.set_xlabel("round")
    ax.set_ylabel(f"belief in option {option}" if traj.ndim == 3 else "opinion")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    return ax


def plot_influence(M: np.ndarray, *, ax: Any | None = None, title: str | None = None) -> Any:
    """Heat map of an influence matrix ``M`` (row: listener, column: source).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    from multiagent._backend import as_numpy

    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3.5))
    # e.g. a torch model's influence_matrix: detached, from any device
    im = ax.imshow(as_numpy(M), vmin=0, cmap="viridis")
    ax.figure.colorbar(im, ax=ax, shrink=0.8)
    ax.set_xlabel("source agent j")
    ax.set_ylabel("agent i")
    if title:
        ax.set_title(title)
    return ax


def plot_sweep(
    frame: Any, *, x: str, y: str, hue: str | None = None, ax: Any | None = None
) -> Any:
    """Line plot of a tidy sweep DataFrame: ``y`` against ``x``, one line per ``hue`` value.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    groups = [(None, frame)] if hue is None else frame.groupby(hue, sort=True)
    for key, sub in groups:
        sub = sub.groupby(x, sort=True)[y].mean()
        ax.plot(sub.index, sub.values, marker="o", label=None if key is None else f"{hue}={key}")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if hue is not None:
        ax.legend(fontsize=7)
    return ax
