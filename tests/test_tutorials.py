"""Every tutorial runs start to end in quick mode (PRUNUS_QUICK=1), offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).resolve().parents[1] / "tutorials").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("tutorial", TUTORIALS, ids=[t.stem for t in TUTORIALS])
def test_tutorial_runs(tutorial: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PRUNUS_QUICK": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(tutorial)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # a hang guard: tutorial 04 alone takes minutes on 2 busy cores
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # figures and files go to ./tutorial-output, nothing else lands in the working folder
    assert [p.name for p in tmp_path.iterdir()] == ["tutorial-output"]
    written = list((tmp_path / "tutorial-output").iterdir())
    assert written and all(p.stat().st_size > 0 for p in written)


def test_tutorial_02_states_the_dash_schedule_its_fit_runs() -> None:
    # before: "10% of what is left at epochs 10, 20, ..., 60 (7 rounds, 84% pruned)", the
    # schedule from before the round at the last epoch was dropped (the fit prunes 82%)
    from biomodels.grn.dash import PruningSchedule

    source = (TUTORIALS[0].parent / "02_grn_dash.py").read_text()
    assert "EPOCHS = 12 if QUICK else 60" in source
    text = " ".join(line.lstrip("# ") for line in source.splitlines())
    schedule = PruningSchedule()
    rounds = [e for e in range(1, 61) if schedule.is_round(e, max_epochs=60)]
    assert rounds[0] == schedule.first_epoch == 3
    assert f"at epoch 3 and then 10% of what is left at epochs 10, 20, ..., {rounds[-1]} " \
           f"({len(rounds)} rounds" in text
    assert f"{schedule.sparsity_after(len(rounds)):.0%} pruned" in text
