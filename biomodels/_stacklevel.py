"""Warnings that name the caller's line, however deep in the package they are raised."""

from __future__ import annotations

import os
import sys

import core

__all__ = ["user_stacklevel"]

# biomodels and the core it calls back through (with_grad wraps the fits)
_PACKAGES = tuple(os.path.dirname(os.path.abspath(f)) + os.sep
                  for f in (__file__, core.__file__))


def user_stacklevel() -> int:
    """Stack level of the first frame outside ``biomodels`` and ``core``, for ``warnings.warn``.

    A fixed ``stacklevel=2`` names the user's line only when the user called the warning
    function directly; reached through a model method (``CTMC.fit`` -> ``fit_theta``) it
    named a line of the package.

    Returns
    -------
    int
        The ``stacklevel`` to pass from the function that calls it.

    Examples
    --------
    >>> import warnings
    >>> def check() -> None:
    ...     warnings.warn("suspicious input", UserWarning, stacklevel=user_stacklevel())
    """
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
            _PACKAGES):
        frame, level = frame.f_back, level + 1
    return level
