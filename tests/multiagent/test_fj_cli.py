"""``prunus fj simulate`` / ``prunus fj fit`` write their files and reject bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.cli import main


def test_simulate_star_hub_writes_files(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["fj", "simulate", "--graph", "star", "--n", "6", "--adversary", "hub",
               "--gamma", "0.2", "--alpha", "0.5", "--questions", "5", "--out", str(out)])
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["adversary_weight"] == pytest.approx(2 / 3, abs=1e-10)
    assert metrics["adversary_weight_closed_form"] == pytest.approx(2 / 3, abs=1e-12)
    assert 0 <= metrics["asr"] <= 1
    frame = pd.read_csv(out / "trajectories.csv")
    assert set(frame.columns) >= {"question", "round", "agent", "option", "belief", "role"}
    assert len(frame) == 5 * 11 * 6 * 5
    assert (out / "trajectories.png").stat().st_size > 1000
    assert not list(out.glob(".*"))  # no temporary files left behind
    rc = main(["fj", "fit", str(out / "trajectories.csv"), "--train-rounds", "7",
               "--out", str(tmp_path / "fit")])
    assert rc == 0
    summary = json.loads((tmp_path / "fit" / "metrics.json").read_text())
    assert summary["transcripts"] == 5 and summary["mean"]["rmse"] < 0.2
    fits = pd.read_csv(tmp_path / "fit" / "fits.csv")
    assert len(fits) == 5 and (fits.scored_from == 7).all()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--adversary", "nowhere"], "--adversary must be hub, leaf, none"),
        (["--n", "1"], "--n must be >= 2"),
        (["--adversary", "9"], "adversary position 9 is not an agent index"),
        (["--questions", "0"], "questions must be a positive integer"),
        (["--options", "1"], "n_options must be >= 2"),
        (["--gamma", "0", "--persuasion", "0", "--questions", "0"], "questions must be"),
    ],
)
def test_simulate_bad_input(tmp_path, capsys, argv, message):
    rc = main(["fj", "simulate", "--graph", "star", "--out", str(tmp_path), *argv])
    assert rc == 2
    assert message in capsys.readouterr().err


def test_gamma_outside_unit_interval_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["fj", "simulate", "--gamma", "1.5", "--out", str(tmp_path)])
    assert exc.value.code == 2


def test_fit_npy_recovers_parameters(tmp_path, capsys):
    import numpy as np

    from multiagent.fit import simulate_transcript

    X = np.stack([simulate_transcript(6, 10, 5, gamma=0.3, alpha=0.4, noise=0.005, seed=s)
                  for s in range(2)])
    np.save(tmp_path / "debates.npy", X)
    assert main(["fj", "fit", str(tmp_path / "debates.npy"), "--out", str(tmp_path / "o")]) == 0
    fits = pd.read_csv(tmp_path / "o" / "fits.csv")
    assert (abs(fits.gamma - 0.3) < 0.05).all() and (abs(fits.alpha - 0.4) < 0.05).all()
    bad = tmp_path / "bad.csv"
    bad.write_text("round,agent,belief\n0,0,1.0\n")
    assert main(["fj", "fit", str(bad), "--out", str(tmp_path / "o2")]) == 2
    assert "needs columns" in capsys.readouterr().err
