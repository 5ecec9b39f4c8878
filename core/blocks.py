"""Block reductions that keep a large heatmap honest: each cell the strongest of k x k.

A heatmap of more rows than its axes has pixels is resampled by matplotlib, and a lone
strong entry is averaged with the zeros around it into a near-white speck (2,000 genes:
no pixel at the top of the scale for ~2,000 full-strength edges). Drawn instead as one
cell per k x k block holding the block's entry of largest magnitude, every strong entry
keeps its colour. Shared by the GRN and FJ heatmaps (numpy only; the axes is only asked
for its size).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["block_factor", "strongest_blocks"]


def block_factor(ax: Any, n: int, max_cells: int = 500) -> int:
    """Side ``k`` of the k x k blocks one heatmap cell shows: 1 while ``n`` cells fit.

    At most ``max_cells`` cells a side, and at least 1.25 pixels (at the figure's dpi) a
    cell: the axes shrinks a little when its colour bar and the layout come.

    Parameters
    ----------
    ax
        The matplotlib axes the heatmap goes on (its window extent is read).
    n
        Rows (and columns) of the square map.
    max_cells
        Most cells a side, whatever the axes' size.

    Returns
    -------
    int
        ``ceil(n / limit)``, at least 1.
    """
    box = ax.get_window_extent()
    limit = max(min(max_cells, int(0.8 * min(box.width, box.height))), 1)
    return -(-n // limit)


def strongest_blocks(values: np.ndarray, k: int) -> np.ndarray:
    """Each k x k block of ``values`` as its entry of largest ``|value|``, with its sign.

    NaN entries are passed over; a block of NaN only stays NaN. The last row and column of
    blocks are padded with NaN up to ``k``.

    Parameters
    ----------
    values
        A 2-D float array.
    k
        Side of the blocks.

    Returns
    -------
    numpy.ndarray
        ``(ceil(rows / k), ceil(cols / k))`` array.

    Examples
    --------
    >>> v = np.array([[0.1, -0.9, 0.2], [0.0, 0.5, np.nan]])
    >>> strongest_blocks(v, 2).tolist()
    [[-0.9, 0.2]]
    """
    rows, cols = -(-values.shape[0] // k), -(-values.shape[1] // k)
    padded = np.full((rows * k, cols * k), np.nan)
    padded[:values.shape[0], :values.shape[1]] = values
    blocks = padded.reshape(rows, k, cols, k).transpose(0, 2, 1, 3).reshape(rows, cols, k * k)
    strength = np.where(np.isnan(blocks), -1.0, np.abs(blocks))
    pick = strength.argmax(axis=-1)[..., None]
    return np.take_along_axis(blocks, pick, axis=-1)[..., 0]
