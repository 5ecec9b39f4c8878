"""Square pandas DataFrames over labelled items (genes, nodes, agents), read by label.

``np.asarray`` reads a DataFrame by position, so a matrix whose columns are listed in
another order than its rows silently pairs each row with the wrong column. The applied
modules take adjacency and trust matrices as DataFrames and go through here.
"""

from __future__ import annotations

import sys
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

__all__ = ["is_dataframe", "square_frame_values"]


def is_dataframe(x: Any) -> bool:
    """Whether ``x`` is a pandas DataFrame (without importing pandas when it is not loaded).

    Parameters
    ----------
    x
        Anything.

    Returns
    -------
    bool
    """
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(x, pd.DataFrame)


def square_frame_values(
    frame: Any,
    name: str,
    order: Sequence[Hashable] | None = None,
    *,
    kind: str = "",
    rows_are: str = "rows",
    cols_are: str = "columns",
) -> tuple[np.ndarray, list[Hashable]]:
    """Return a square DataFrame's values with rows and columns in one label order.

    Labels are compared as text: ``pd.read_csv(..., index_col=0)`` gives int rows and str
    columns.

    Parameters
    ----------
    frame
        A square DataFrame whose index and columns hold the same labels, each once, in any
        order.
    name
        Argument name used in the error message.
    order
        Labels the rows and columns should follow (e.g. the index of another frame this one
        goes with); default the frame's index.
    kind, rows_are, cols_are
        Words for the message: what the labels name (``"node"``) and what rows and columns
        stand for (``"sources"``, ``"targets"``).

    Returns
    -------
    values, labels
        The ``(n, n)`` values, and the row labels (``order`` when given) as they were.

    Raises
    ------
    ValueError
        If the index, the columns (and ``order``) do not hold the same distinct labels.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame([[0, 1], [2, 0]], index=["a", "b"], columns=["b", "a"])
    >>> square_frame_values(f, "W")[0].tolist()
    [[1, 0], [0, 2]]
    """
    labels = list(frame.index if order is None else order)
    rows = [str(r) for r in labels]
    index = {str(r): i for i, r in enumerate(frame.index)}
    columns = {str(c): j for j, c in enumerate(frame.columns)}
    if (len(index) != frame.shape[0] or len(columns) != frame.shape[1]
            or len(set(rows)) != len(rows) or set(rows) != set(columns)
            or set(rows) != set(index)):
        differ = sorted(set(rows) ^ set(columns) | set(rows) ^ set(index))[:5]
        also = "" if order is None else " and as the matrix it goes with"
        raise ValueError(
            f"{name}: a DataFrame needs the same {kind + ' ' if kind else ''}labels as index "
            f"({rows_are}) and columns ({cols_are}){also}, each once; they differ in "
            f"{differ or 'repeated labels'}"
        )
    if list(index) == rows and list(columns) == rows:
        return frame.to_numpy(), labels
    return frame.iloc[[index[r] for r in rows], [columns[r] for r in rows]].to_numpy(), labels
