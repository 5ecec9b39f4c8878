"""Warnings that name the caller's line, however deep in the package they are raised."""

from __future__ import annotations

import core
from core.stacklevel import package_dirs, stacklevel_outside

__all__ = ["user_stacklevel"]

# biomodels and the core it calls back through (with_grad wraps the fits)
_PACKAGES = package_dirs([__file__, core.__file__])


def user_stacklevel() -> int:
    """Stack level of the first frame outside ``biomodels`` and ``core``, for ``warnings.warn``.

    See :func:`core.stacklevel.stacklevel_outside`.

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
    return stacklevel_outside(_PACKAGES, depth=2)
