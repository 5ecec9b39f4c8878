"""Progress bars with standard error closed."""

from __future__ import annotations

import sys

import pytest

from core.progress import bar_disabled


def test_a_bar_is_left_out_where_standard_error_is_closed(monkeypatch: pytest.MonkeyPatch):
    assert bar_disabled(True) is False and bar_disabled(False) is True
    monkeypatch.setattr(sys, "stderr", None)  # as Python sets it under 2>&-
    assert bar_disabled(True) is True
