"""Figures for fitted CTMC models: theta heatmap and order probabilities."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["plot_theta", "plot_order_probabilities"]


def plot_theta(
    theta: pd.DataFrame | np.ndarray,
    *,
    names: Sequence[str] | None = None,
    ax=None,
    title: str | None = None,
    limit: float | None = None,
):
    """Heatmap of theta: rows = affected event i, columns = influencing event j.

    Off-diagonal cells use a diverging colour map (red promotes, blue inhibits); the diagonal
    (log base rates) is annotated rather than coloured so it does not dominate the scale.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if isinstance(theta, pd.DataFrame):
        names = list(theta.index)
        mat = theta.to_numpy(dtype=float)
    else:
        mat = np.asarray(theta, dtype=float)
        names = list(names) if names is not None else [f"E{i}" for i in range(len(mat))]
    n = len(mat)
    if ax is None:
        size = max(4.0, 0.35 * n + 2)
        _, ax = plt.subplots(figsize=(size + 1, size))
    off = mat.copy()
    np.fill_diagonal(off, np.nan)
    vmax = (
        limit if limit is not None else max(float(np.nanmax(np.abs(off))) if n > 1 else 1.0, 1e-6)
    )
    im = ax.imshow(off, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    if n <= 40:
        for i in range(n):
            ax.text(i, i, f"{mat[i, i]:.1f}", ha="center", va="center", fontsize=6, color="0.3")
        ax.set_xticks(range(n), names, rotation=90, fontsize=7)
        ax.set_yticks(range(n), names, fontsize=7)
    ax.set_xlabel("influencing event j")
    ax.set_ylabel("affected event i")
    ax.set_title(
        title or "theta[i, j]: effect of j on the rate of i (diagonal: log base rate)", fontsize=8
    )
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return ax


def plot_order_probabilities(
    labels: Sequence[str],
    means: Sequence[float],
    errors: Sequence[float] | None = None,
    *,
    ax=None,
    title: str = "P(a before b)",
):
    """Bar chart of order probabilities with optional error bars (e.g. 2 s.d.).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 0.8 * len(labels) + 2), 3.5))
    ax.bar(range(len(labels)), means, yerr=errors, capsize=3, color="0.6")
    ax.axhline(0.5, color="k", lw=0.8, ls="--")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=9)
    return ax
