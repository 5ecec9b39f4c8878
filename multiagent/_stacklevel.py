"""Warnings that name the caller's line, however deep in the package they are raised."""

from __future__ import annotations

import os
import sys
from types import FrameType

import core

__all__ = ["user_stacklevel"]

# multiagent and the core it calls back through (core.grad_mode.with_grad wraps the fits);
# biomodels' user_stacklevel passes over biomodels' frames, not these
_PACKAGES = tuple(os.path.dirname(os.path.abspath(f)) + os.sep
                  for f in (__file__, core.__file__))

#: Modules whose frames only pass a call on: a decorator such as
#: ``@torch.inference_mode(False)`` (or a ``contextlib`` one) puts its wrapper between the
#: package and the user
_WRAPPERS = frozenset({"torch.utils._contextlib", "contextlib"})


def _passes_on(frame: FrameType) -> bool:
    """Whether ``frame`` is the package's own or a library wrapper's around it."""
    return (os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGES)
            or frame.f_globals.get("__name__") in _WRAPPERS)


def user_stacklevel() -> int:
    """Stack level of the first frame outside ``multiagent`` and ``core``, for ``warnings.warn``.

    A fixed ``stacklevel`` names the user's line only through the one path it was counted
    for: ``fit_fj``'s 4 (its ``with_grad`` wrapper included) named a line of the package
    when ``fit_transcripts`` called it.  The frames of decorators that wrap a package
    function (torch's ``inference_mode``/``no_grad`` and ``contextlib``'s) are passed over
    too, when they lie between the package's frames and the user's.

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
    # only the frames next to the package's are passed over: a user's own function under
    # such a decorator stops the walk at its own frame
    while frame is not None and _passes_on(frame):
        frame, level = frame.f_back, level + 1
    return level
