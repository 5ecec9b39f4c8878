"""core.plateau: the levelled-off test of the SVI fits' loss traces."""

from __future__ import annotations

import math

from core.plateau import loss_plateaued


def test_a_trace_levels_off_when_its_last_tenth_matches_the_tenth_before():
    flat = [100.0 + (-1) ** k * 0.01 for k in range(200)]  # noise 1e-4 of the loss
    assert loss_plateaued(flat)
    falling = [100.0 - 0.05 * k for k in range(200)]  # 1 a window of 20 steps: 1.1 %
    assert not loss_plateaued(falling)
    assert loss_plateaued(falling, rtol=0.02)
    # the windows are the last two tenths: an early drop does not matter
    assert loss_plateaued([1e6] * 10 + [5.0] * 90)


def test_short_or_non_finite_traces_are_not_levelled_off():
    assert not loss_plateaued([1.0] * 49)  # windows of 4 steps
    assert loss_plateaued([1.0] * 50)
    assert loss_plateaued([1.0] * 20, min_window=2)
    assert not loss_plateaued([1.0] * 99 + [math.nan])
    assert not loss_plateaued([1.0] * 99 + [math.inf])
    assert not loss_plateaued([])
