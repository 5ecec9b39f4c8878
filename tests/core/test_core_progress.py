"""Progress bars with standard error closed."""

from __future__ import annotations

import sys

import pytest

from core.progress import bar_disabled


def test_a_bar_is_left_out_where_standard_error_is_closed(monkeypatch: pytest.MonkeyPatch):
    assert bar_disabled(True) is False and bar_disabled(False) is True
    monkeypatch.setattr(sys, "stderr", None)  # as Python sets it under 2>&-
    assert bar_disabled(True) is True


# as tqdm reads it (4.66 on): any value but "" turns the bars off, "0" and "false" too
@pytest.mark.parametrize(("value", "off"), [("1", True), ("True", True), ("0", True),
                                            ("false", True), ("", False)])
def test_tqdm_disable_in_the_environment_turns_the_bars_off(monkeypatch, capsys, value, off):
    # tqdm reads TQDM_DISABLE only for bars that do not pass disable=, as ours do: a
    # pipeline's log filled with 19 KB of bars under TQDM_DISABLE=1
    from tqdm.auto import tqdm

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert bar_disabled(True) is False
    monkeypatch.setenv("TQDM_DISABLE", value)
    assert bar_disabled(True) is off and bar_disabled(False) is True
    for _ in tqdm(range(3), disable=bar_disabled(True), desc="bar"):
        pass
    assert ("bar" in capsys.readouterr().err) is not off
