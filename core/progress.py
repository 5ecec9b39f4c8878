"""Progress bars that stay quiet where there is nowhere to draw them."""

from __future__ import annotations

import os
import sys

__all__ = ["bar_disabled"]


def bar_disabled(progress: bool) -> bool:
    """Whether a tqdm bar asked for with ``progress`` should be disabled.

    With standard error closed (``2>&-``, a daemon, ``pythonw``) Python sets ``sys.stderr``
    to None, and a tqdm bar's first write failed the run (``'NoneType' object has no
    attribute 'write'``), before any result was written; the bar is then left out. So is
    every bar where the environment sets ``TQDM_DISABLE`` to any value but ``""`` (``0``
    too, as tqdm itself reads it): tqdm reads it only for bars that do not pass
    ``disable``, as these do, and a pipeline's logs filled with bars it asked to be
    spared.

    Parameters
    ----------
    progress
        Whether the caller asked for a bar.

    Returns
    -------
    bool
        tqdm's ``disable``.

    Examples
    --------
    >>> bar_disabled(False)
    True
    """
    return not progress or sys.stderr is None or bool(os.environ.get("TQDM_DISABLE"))
