"""Plots of cascade size distributions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_distribution"]


def plot_distribution(
    curves: Mapping[str, np.ndarray | torch.Tensor] | np.ndarray | torch.Tensor,
    *,
    ax: Axes | None = None,
    log: bool = False,
    title: str | None = None,
) -> Axes:
    """Plot one or several size distributions ``P(size = k)`` against ``k``.

    Parameters
    ----------
    curves
        A distribution, or a mapping from legend label to distribution.
    ax
        Matplotlib axes to draw on (a new figure if None).
    log
        Logarithmic probability axis (to show the tail).
    title
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if not isinstance(curves, Mapping):
        curves = {"P(size = k)": curves}
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for label, values in curves.items():
        y = np.asarray(torch.as_tensor(values).detach().cpu(), dtype=np.float64)
        k = np.arange(y.size)
        if log:
            y = np.where(y > 0, y, np.nan)
        ax.plot(k, y, drawstyle="steps-mid", label=label, lw=1.2)
    ax.set_xlabel("final cascade size k")
    ax.set_ylabel("P(size = k)")
    if log:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    if len(curves) > 1:
        ax.legend(frameon=False)
    return ax
