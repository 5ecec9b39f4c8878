"""Warnings that name the caller's line, however deep in a package they are raised."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from types import FrameType

__all__ = ["package_dirs", "stacklevel_outside"]

#: Modules whose frames only pass a call on: a decorator such as
#: ``@torch.inference_mode(False)`` on ``GRNModel.load`` (or a ``contextlib`` one) puts its
#: wrapper between the package and the user, and the warning named torch's file
_WRAPPERS = frozenset({"torch.utils._contextlib", "contextlib"})


def package_dirs(files: Iterable[str]) -> tuple[str, ...]:
    """Folders (with a trailing separator) of the packages whose ``__file__`` are ``files``.

    Parameters
    ----------
    files
        A file of each package, e.g. its ``__init__.py``.

    Returns
    -------
    tuple of str
        What :func:`stacklevel_outside` takes.
    """
    return tuple(os.path.dirname(os.path.abspath(f)) + os.sep for f in files)


def _passes_on(frame: FrameType, packages: tuple[str, ...]) -> bool:
    """Whether ``frame`` is one of the packages' own or a library wrapper's around them."""
    return (os.path.abspath(frame.f_code.co_filename).startswith(packages)
            or frame.f_globals.get("__name__") in _WRAPPERS)


def stacklevel_outside(packages: tuple[str, ...], depth: int = 1) -> int:
    """Stack level of the first frame outside ``packages``, for ``warnings.warn``.

    A fixed ``stacklevel=2`` names the user's line only when the user called the warning
    function directly; reached through a model method (``CTMC.fit`` -> ``fit_theta``) it
    named a line of the package. The frames of decorators that wrap a package function
    (torch's ``inference_mode``/``no_grad`` and ``contextlib``'s) are passed over too, when
    they lie between the package's frames and the user's.

    Parameters
    ----------
    packages
        Folders of the packages whose frames are passed over (:func:`package_dirs`).
    depth
        How many frames above this function the warning function is: 1 when it calls this
        directly, 2 through a package's own ``user_stacklevel()``.

    Returns
    -------
    int
        The ``stacklevel`` to pass from the function that warns.
    """
    frame: FrameType | None = sys._getframe(depth)
    level = 1
    # only the frames next to the package's are passed over: a user's own function under
    # such a decorator stops the walk at its own frame
    while frame is not None and _passes_on(frame, packages):
        frame, level = frame.f_back, level + 1
    return level
