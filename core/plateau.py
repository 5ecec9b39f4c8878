"""Whether a noisy loss trace has levelled off: the convergence flag of the SVI fits.

Stochastic variational inference reports a one-draw Monte Carlo estimate of the negative
ELBO at every step, so a single step's change says nothing; the mean of the last tenth of
the steps against the tenth before does. A heuristic, not a certificate: measured on 3,000-step
runs of the package's SVI fits, a relative tolerance of 1 % called fits converged while their
loss was still 15-48 above where it settled; 0.1 % did so only for small FJ transcripts, and
reads False where the noise exceeds 0.1 % of the loss although the fit has settled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["loss_plateaued"]


def loss_plateaued(losses: Sequence[float], *, rtol: float = 1e-3,
                   min_window: int = 5) -> bool:
    """Whether the mean of the last tenth of ``losses`` is within ``rtol`` of the tenth before.

    Parameters
    ----------
    losses
        The loss at each step, oldest first.
    rtol
        Relative tolerance on the change of the windows' means.
    min_window
        Fewer steps a window (a tenth of ``losses``) than this say nothing about a noisy
        trace: False.

    Returns
    -------
    bool
        False also when a loss in the two windows is NaN or infinite.

    Examples
    --------
    >>> loss_plateaued([10.0 / (k + 1) for k in range(100)])  # still falling by ~10 %
    False
    >>> loss_plateaued([1.0 + 0.5 ** k for k in range(100)])
    True
    """
    w = len(losses) // 10
    if w < min_window:
        return False
    last = math.fsum(losses[-w:]) / w
    before = math.fsum(losses[-2 * w:-w]) / w
    return bool(abs(last - before) <= rtol * abs(before))  # NaN, inf: False
