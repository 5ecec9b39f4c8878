"""Warnings that name the caller's line, however deep in the package they are raised."""

from __future__ import annotations

import core
from core.stacklevel import package_dirs, stacklevel_outside

__all__ = ["user_stacklevel"]

# multiagent and the core it calls back through (core.grad_mode.with_grad wraps the fits);
# biomodels' user_stacklevel passes over biomodels' frames, not these
_PACKAGES = package_dirs([__file__, core.__file__])


def user_stacklevel() -> int:
    """Stack level of the first frame outside ``multiagent`` and ``core``, for ``warnings.warn``.

    A fixed ``stacklevel`` names the user's line only through the one path it was counted
    for: ``fit_fj``'s 4 (its ``with_grad`` wrapper included) named a line of the package
    when ``fit_transcripts`` called it. See :func:`core.stacklevel.stacklevel_outside`.

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
