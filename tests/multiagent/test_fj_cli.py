"""``prunus fj simulate`` / ``prunus fj fit`` write their files and reject bad input."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from core.cli import main

# `prunus fj fit`'s warnings are warnings.warn, which pytest's filters make errors (exit
# code 2, as under `python -W error`): tests that run it where it warns show them, as the
# command does outside pytest (one line each on stderr)
ADVERSARY_SHOWN = pytest.mark.filterwarnings(
    "default:agents .* are marked adversary in the role column:UserWarning")
ISOLATED_SHOWN = pytest.mark.filterwarnings("default::multiagent.fit.IsolatedAgentWarning")
IN_SAMPLE_SHOWN = pytest.mark.filterwarnings(
    "default:--train-rounds .* is the transcripts' last round:UserWarning")


@ADVERSARY_SHOWN
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
        (["--adversary", "9"], "adversary position must be 'hub', 'leaf' or an agent index "
                               "in [0, 6), got 9"),
        (["--graph", "ba", "--n", "2"], "--graph ba needs --n >= 3"),
    ],
)
def test_simulate_bad_input(tmp_path, capsys, argv, message):
    rc = main(["fj", "simulate", "--graph", "star", "--out", str(tmp_path), *argv])
    assert rc == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--questions", "0"], "argument --questions: must be >= 1, got 0"),
        (["--options", "1"], "argument --options: must be >= 2, got 1"),
        (["--rounds", "0"], "argument --rounds: must be >= 1, got 0"),
        (["--seed", "-1"], "argument --seed: must be >= 0, got -1"),
        (["--sleeper", "-3"], "argument --sleeper: must be >= 0"),
        (["--persuasion", "nan"], "argument --persuasion: must be a finite number"),
        (["--questions", "x"], "argument --questions: expected a whole number, got 'x'"),
    ],
)
def test_simulate_bad_numbers_are_usage_errors_naming_the_option(tmp_path, capsys, argv,
                                                                 message):
    with pytest.raises(SystemExit) as exc:
        main(["fj", "simulate", "--out", str(tmp_path / "o"), *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.fixture(scope="module")
def debate(tmp_path_factory):
    """Two questions on a star with a stubborn hub adversary, as simulate writes them."""
    out = tmp_path_factory.mktemp("debate")
    assert main(["fj", "simulate", "--graph", "star", "--n", "6", "--questions", "2",
                 "--out", str(out)]) == 0
    return pd.read_csv(out / "trajectories.csv")


def test_fit_writes_every_transcripts_agents_and_trust(debate, tmp_path, capsys):
    data = debate.assign(question=debate["question"].map({0: "q-a", 1: "q-b"}),
                         round=debate["round"].astype(float))  # 0.0, 1.0, ... as many tools
    data.to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "fit"
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--per-agent", "--out", str(out)]) == 0
    fits = pd.read_csv(out / "fits.csv")
    assert fits["question"].tolist() == ["q-a", "q-b"]  # the labels, not 0..Q-1
    agents = pd.read_csv(out / "agents.csv")
    assert len(agents) == 2 * 6 and set(agents["question"]) == {"q-a", "q-b"}
    benign = agents[agents.agent != 0]  # agent 0 is the hub adversary (gamma 1)
    assert benign.gamma.to_numpy() == pytest.approx(0.2, abs=1e-4)
    assert benign.alpha.to_numpy() == pytest.approx(0.5, abs=5e-3)  # weakly identified
    hub = agents[agents.agent == 0]  # never moves: no weight on the others' beliefs
    assert ((1 - hub.gamma) * (1 - hub.alpha)).to_numpy() == pytest.approx(0, abs=1e-3)
    trust = pd.read_csv(out / "trust.csv")
    assert len(trust) == 2 * 36
    assert trust.groupby(["question", "listener"]).trust.sum().to_numpy() == pytest.approx(1)
    assert "marked adversary" not in capsys.readouterr().err  # --per-agent fits each agent
    assert json.loads((out / "metrics.json").read_text())["per_agent"] is True


@ADVERSARY_SHOWN
def test_fit_warns_when_a_shared_fit_includes_adversaries(debate, tmp_path, capsys):
    debate.to_csv(tmp_path / "t.csv", index=False)
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--out", str(tmp_path / "f")]) == 0
    err = capsys.readouterr().err
    assert "agents [0] are marked adversary" in err and "--per-agent" in err
    agents = pd.read_csv(tmp_path / "f" / "agents.csv")
    assert agents.groupby("question").gamma.nunique().eq(1).all()  # one shared value


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.assign(round=d["round"] - 1), "column 'round' must hold integers >= 0; "
                                                   "line 2 has '-1'"),
        (lambda d: d.assign(round=d["round"] * 0.5), "column 'round' must hold integers"),
        (lambda d: d.assign(option=d["option"].where(d.index != 5)),
         "column 'option' must hold integers >= 0; line 7 has nothing"),
        (lambda d: d.assign(agent=d["agent"].astype(str).where(d.index != 3, "a")),
         "column 'agent' must hold integers >= 0; line 5 has 'a'"),
        (lambda d: d.assign(belief=d["belief"].where(d.index != 4)),
         "column 'belief' must hold finite numbers; line 6"),
        (lambda d: pd.concat([d, d.iloc[[10]]]), "repeats a (question, round, agent, option)"),
    ],
)
def test_fit_refuses_bad_transcript_tables(debate, tmp_path, capsys, edit, message):
    # before, these crashed with an IndexError or, for negative rounds, silently wrapped
    # round -1 onto the last round and fitted the wrong transcript
    edit(debate).to_csv(tmp_path / "t.csv", index=False)
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--out", str(tmp_path / "f")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "f").exists()


def test_simulate_writes_all_files_or_none(tmp_path, capsys):
    out = tmp_path / "run"
    (out / "trajectories.png").mkdir(parents=True)  # the last file cannot be written
    assert main(["fj", "simulate", "--questions", "1", "--out", str(out)]) == 2
    assert "a folder of that name is in the way" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["trajectories.png"]


def test_fit_shows_progress_over_questions_unless_quiet(debate, tmp_path, capsys):
    debate.to_csv(tmp_path / "t.csv", index=False)
    capsys.readouterr()
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--per-agent",
                 "--out", str(tmp_path / "a")]) == 0
    assert "fit FJ" in capsys.readouterr().err  # one fit per question, as grn/ctmc show theirs
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--per-agent", "--quiet",
                 "--out", str(tmp_path / "b")]) == 0
    assert capsys.readouterr().err == ""


def test_simulate_takes_quiet_like_every_other_command(tmp_path, capsys):
    # `prunus fj simulate ... --quiet` failed with "unrecognized arguments: --quiet"
    argv = ["fj", "simulate", "--graph", "star", "--questions", "2"]
    assert main([*argv, "--quiet", "--out", str(tmp_path / "quiet")]) == 0
    assert capsys.readouterr().err == ""
    assert main([*argv, "--out", str(tmp_path / "shown")]) == 0
    quiet = json.loads((tmp_path / "quiet" / "metrics.json").read_text())
    shown = json.loads((tmp_path / "shown" / "metrics.json").read_text())
    assert quiet["parameters"].pop("out") != shown["parameters"].pop("out")
    assert quiet == shown  # a display option: the same metrics, parameters included
    assert quiet["adversary_weight"] == pytest.approx(2 / 3, abs=1e-10)  # star, hub


def test_gamma_outside_unit_interval_is_a_usage_error(tmp_path, capsys):
    for value, message in (("1.5", "must be a probability in [0, 1], got 1.5"),
                           ("x", "expected a number, got 'x'")):  # was "invalid _unit value"
        with pytest.raises(SystemExit) as exc:
            main(["fj", "simulate", "--gamma", value, "--out", str(tmp_path)])
        assert exc.value.code == 2
        assert f"argument --gamma: {message}" in capsys.readouterr().err


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


def test_fit_graph_restricts_trust_to_the_topology(tmp_path):
    # a pure star's transcripts (hub 0; each leaf hears only the hub) could only be fitted
    # with trust between every pair; --graph star fits W on the star's edges, as fit_fj does
    # with its adjacency (MAS-Cascade's star fit: softmax at the hub, weight 1 at a leaf)
    from multiagent.fit import fit_fj, simulate_transcript
    from multiagent.topologies import adjacency, make_graph

    A = adjacency(make_graph("star", 5))
    W = A / A.sum(axis=1, keepdims=True)
    X = np.stack([simulate_transcript(5, 10, 4, gamma=0.3, alpha=0.4, W=W, noise=0.002,
                                      seed=s) for s in range(2)])
    np.save(tmp_path / "star.npy", X)
    assert main(["fj", "fit", str(tmp_path / "star.npy"), "--graph", "star", "--quiet",
                 "--out", str(tmp_path / "o")]) == 0
    trust = pd.read_csv(tmp_path / "o" / "trust.csv")
    first = trust[trust.question == 0].trust.to_numpy().reshape(5, 5)
    np.testing.assert_allclose(first, fit_fj(X[0], adjacency=A).W, atol=1e-10)
    assert (first[A == 0] == 0).all() and np.allclose(first[1:, 0], 1.0)
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["graph"] == "star"
    assert main(["fj", "fit", str(tmp_path / "star.npy"), "--quiet",
                 "--out", str(tmp_path / "c")]) == 0
    complete = pd.read_csv(tmp_path / "c" / "trust.csv")
    assert (complete[complete.question == 0].trust.to_numpy().reshape(5, 5)[A == 0]
            [~np.eye(5, dtype=bool)[A == 0]] > 0).any()


def test_fit_names_an_npy_file_it_cannot_read(tmp_path, capsys):
    import numpy as np

    # before: numpy's message alone ("This file contains pickled (object) data..."),
    # without the file
    X = np.random.default_rng(0).random((3, 2, 2))
    np.save(tmp_path / "x.npy", X)
    (tmp_path / "cut.npy").write_bytes((tmp_path / "x.npy").read_bytes()[:100])
    (tmp_path / "junk.npy").write_text("not an array\n")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    for name in ("cut.npy", "junk.npy", "obj.npy"):
        path = tmp_path / name
        assert main(["fj", "fit", str(path), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert f"cannot read {str(path)!r} as a numeric .npy array" in err, err
    assert not (tmp_path / "o").exists()


def test_fit_names_the_option_when_train_rounds_exceed_the_transcript(debate, tmp_path, capsys):
    # before: "train_rounds must be in [1, 10], got 12" from fit_fj, after the warning
    debate.to_csv(tmp_path / "t.csv", index=False)
    argv = ["fj", "fit", str(tmp_path / "t.csv"), "--per-agent", "--train-rounds", "12",
            "--out", str(tmp_path / "f")]
    assert main(argv) == 2
    assert "--train-rounds must be at most 10 (the transcripts hold rounds 0..10), got 12" \
        in capsys.readouterr().err
    assert not (tmp_path / "f").exists()


def _old_writer(path, trajectories, truth, nodes):
    """The writer before chunking (one frame of every line): the reference format."""
    Q, T1, n, K = trajectories.shape
    idx = pd.MultiIndex.from_product([range(Q), range(T1), range(n), range(K)],
                                     names=["question", "round", "agent", "option"])
    frame = pd.DataFrame({"belief": trajectories.ravel()}, index=idx).reset_index()
    frame["role"] = ["adversary" if a in nodes else "benign" for a in frame["agent"]]
    frame["truth"] = truth[frame["question"].to_numpy()]
    frame.to_csv(path, index=False, lineterminator="\n")  # pandas' default is os.linesep


@pytest.mark.parametrize("chunk_rows", [1, 7, 15, 1 << 16])
def test_trajectories_csv_written_in_chunks_is_byte_identical(tmp_path, chunk_rows):
    from multiagent.cli import _write_trajectories

    rng = np.random.default_rng(0)
    traj = rng.dirichlet(np.ones(3), size=(2, 4, 5))  # (Q, T + 1, n, K)
    traj[0, 1, 2] = [1.0, 0.0, 0.0]  # round numbers as pandas writes them
    traj[1, 0, 0] = [1 / 3, 1e-17, 2 / 3 - 1e-17]
    traj[1, 2, 4] = [np.nan, -0.0, 5e-324]  # pandas: NaN as an empty field
    traj[0, 3, 1] = [np.inf, 1e300, 0.1 + 0.2]
    truth = np.array([2, 0])
    _old_writer(tmp_path / "old.csv", traj, truth, [1, 3])
    _write_trajectories(tmp_path / "new.csv", traj, truth, [1, 3], chunk_rows=chunk_rows)
    assert (tmp_path / "new.csv").read_bytes() == (tmp_path / "old.csv").read_bytes()


def test_simulate_no_trajectories_writes_the_same_metrics_only(tmp_path, capsys):
    argv = ["fj", "simulate", "--graph", "ba", "--n", "30", "--questions", "4",
            "--sleeper", "2"]
    assert main([*argv, "--out", str(tmp_path / "full")]) == 0
    assert main([*argv, "--no-trajectories", "--out", str(tmp_path / "light")]) == 0
    assert sorted(p.name for p in (tmp_path / "light").iterdir()) == ["metrics.json"]
    full = json.loads((tmp_path / "full" / "metrics.json").read_text())
    light = json.loads((tmp_path / "light" / "metrics.json").read_text())
    assert light["parameters"].pop("no_trajectories") is True
    assert full["parameters"].pop("no_trajectories") is False
    assert light["parameters"].pop("out") != full["parameters"].pop("out")
    assert light == full
    capsys.readouterr()
    # an earlier run's trajectories in the folder are removed, not passed off as this run's
    assert main([*argv, "--no-trajectories", "--out", str(tmp_path / "full")]) == 0
    assert "prunus: note: removed" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "full").iterdir()) == ["metrics.json"]


def test_fit_refuses_transcripts_without_beliefs(debate, tmp_path, capsys):
    # before: a header-only CSV ended in "prunus: error: cannot convert float NaN to
    # integer", an .npy with no questions in an IndexError traceback (exit 1) and one with
    # no agents in a torch RuntimeError traceback
    debate.head(0).to_csv(tmp_path / "header.csv", index=False)
    np.save(tmp_path / "no_questions.npy", np.zeros((0, 3, 2, 2)))
    np.save(tmp_path / "no_agents.npy", np.ones((4, 0, 2)))
    for name, message in (("header.csv", "has a header but no beliefs"),
                          ("no_questions.npy", "holds no beliefs"),
                          ("no_agents.npy", "holds no beliefs")):
        path = tmp_path / name
        assert main(["fj", "fit", str(path), "--quiet", "--out", str(tmp_path / "f")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("prunus: error: ") and message in err, err
        assert str(path) in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "f").exists()


def test_fit_errors_name_the_options_not_python_arguments(debate, tmp_path, capsys):
    # before: "loss='kl' ... use loss='mse'", fit_fj's argument rather than --loss
    one_option = debate[debate.option == 0].drop(columns="role").assign(belief=1.0)  # K = 1
    one_option.to_csv(tmp_path / "k1.csv", index=False)
    argv = ["fj", "fit", str(tmp_path / "k1.csv"), "--loss", "kl", "--quiet",
            "--out", str(tmp_path / "f")]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "prunus: error: --loss kl compares probability vectors over K >= 2 options; this "
        "transcript has K = 1 (scalar opinions): use --loss mse\n")
    assert not (tmp_path / "f").exists()


def test_fit_names_the_question_round_and_agent_of_a_bad_belief(debate, tmp_path, capsys):
    # before: "transcript[2][3] (agent 3) sums to 2, expected 1", a Python index into an
    # array the user never saw, and no question
    data = debate.drop(columns="role")  # no warning about the adversary
    row = data.index[(data.question == 1) & (data["round"] == 2) & (data.agent == 3)
                     & (data.option == 0)][0]
    data.loc[row, "belief"] += 1.0
    data.to_csv(tmp_path / "t.csv", index=False)
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--quiet",
                 "--out", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("prunus: error: question 1, round 2, agent 3: sums to 2, expected 1: "
                          "beliefs over K options must be probability vectors"), err
    assert len(err.strip().splitlines()) == 1 and "transcript[" not in err
    assert not (tmp_path / "f").exists()


@ADVERSARY_SHOWN
def test_fit_reads_utf16_transcripts_and_any_spelling_of_adversary(debate, tmp_path, capsys):
    # Excel's "Unicode Text" (UTF-16) failed with "'utf-8' codec can't decode byte 0xff";
    # a role "Adversary" or " adversary" marked no agent: no warning, and metrics.json
    # said adversaries_in_data = []
    data = debate.assign(role=debate["role"].map({"adversary": " Adversary",
                                                  "benign": "benign"}))
    (tmp_path / "t.csv").write_bytes(data.to_csv(index=False).encode("utf-16"))
    out = tmp_path / "f"
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--out", str(out)]) == 0
    assert "agents [0] are marked adversary" in capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["adversaries_in_data"] == [0] and metrics["transcripts"] == 2


def test_fit_of_transcripts_not_in_utf8_says_to_save_them_so(debate, tmp_path, capsys):
    # older Excel's "CSV" is Windows-1252: the error was pandas' "'utf-8' codec can't decode
    # byte 0xf6", which did not say what to do
    data = debate.assign(question=debate["question"].map({0: "Größe", 1: "Höhe"}))
    (tmp_path / "t.csv").write_bytes(data.to_csv(index=False).encode("cp1252"))
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--out", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err
    assert "t.csv' is not UTF-8 text (it has byte 0xf6: " in err
    assert err.rstrip().endswith('save it as UTF-8 text (in Excel: "CSV UTF-8")')


def test_fit_says_when_two_question_labels_are_read_as_one_number(debate, tmp_path, capsys):
    # questions "01" and "1" are both read as 1: the error said only that a line of the
    # second repeats a (question, round, agent, option) "of an earlier line"
    data = debate.assign(question=debate["question"].map({0: "01", 1: "1"}))
    data.to_csv(tmp_path / "t.csv", index=False)
    second = int((debate["question"] == 1).to_numpy().argmax()) + 2  # its first line
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--out", str(tmp_path / "f")]) == 2
    assert (f"line {second} repeats a (question, round, agent, option) of line 2 (questions "
            "'01' and '1' are read as the same number; write each question's label one way, "
            "or use labels that are not numbers, such as 'q01' and 'q1'); each belief must be "
            "given once") in capsys.readouterr().err


def test_fit_names_a_comment_line_read_as_beliefs(debate, tmp_path, capsys):
    # comments are not read (a label may hold '#'): "line 3 has nothing" did not say why
    lines = debate.to_csv(index=False).splitlines()
    lines.insert(2, "# second half")
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--out", str(tmp_path / "f")]) == 2
    assert ("column 'round' must hold integers >= 0; line 3 has nothing; line 3 starts with "
            "'#' (comments are not supported)") in capsys.readouterr().err


def test_a_figure_that_fails_to_draw_is_closed(tmp_path, capsys, monkeypatch):
    # the figure was made before the try that closes it: a drawing error left it open
    import matplotlib.pyplot as plt

    import multiagent.plot as plot

    def broken(*args, **kwargs):
        raise ValueError("cannot draw")

    monkeypatch.setattr(plot, "plot_trajectories", broken)
    before = set(plt.get_fignums())
    assert main(["fj", "simulate", "--questions", "1", "--out", str(tmp_path / "o")]) == 2
    assert "cannot draw" in capsys.readouterr().err
    assert set(plt.get_fignums()) == before


def test_simulate_passes_every_option_to_the_library(tmp_path):
    # --rounds, --options, --persuasion, --sleeper, --adversary-gamma and --seed each left
    # at its default still wrote a plausible run: compare with the library's own
    from multiagent.adversary import Adversary, Scenario, closed_form_weight, simulate

    out = tmp_path / "leaf"
    assert main(["fj", "simulate", "--graph", "star", "--n", "5", "--adversary", "leaf",
                 "--gamma", "0.3", "--alpha", "0.4", "--persuasion", "2", "--sleeper", "1",
                 "--rounds", "4", "--options", "3", "--questions", "2", "--seed", "7",
                 "--quiet", "--out", str(out)]) == 0
    scenario = Scenario(graph="star", n=5, gamma=0.3, alpha=0.4, rounds=4, n_options=3,
                        adversaries=(Adversary("leaf", persuasion=2.0, sleeper=1),), seed=7)
    expect = simulate(scenario, questions=2, seed=7)
    frame = pd.read_csv(out / "trajectories.csv")
    assert np.allclose(frame["belief"], expect.trajectories.ravel(), rtol=0, atol=1e-15)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["asr"] == expect.metrics["asr"]
    assert metrics["adversary_weight_closed_form"] == pytest.approx(
        closed_form_weight("star_leaf", 5, 0.3, 0.4, persuasion=2.0)["mean"], abs=1e-12)
    # a random topology (drawn with --seed) and an adversary that moves
    out = tmp_path / "er"
    assert main(["fj", "simulate", "--graph", "er", "--n", "8", "--adversary-gamma", "0.6",
                 "--questions", "2", "--seed", "3", "--no-trajectories", "--out", str(out)]) == 0
    scenario = Scenario(graph="er", n=8, gamma=0.2, alpha=0.5, seed=3,
                        adversaries=(Adversary("hub", gamma=0.6),))
    expect = simulate(scenario, questions=2, seed=3, keep_trajectories=False).metrics
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["adversary_weight_closed_form"] is None  # no closed form: gamma < 1
    for key in ("asr", "adversary_weight", "accuracy_end"):
        assert metrics[key] == pytest.approx(expect[key], abs=1e-12), key


@ADVERSARY_SHOWN
def test_fit_writes_the_fits_it_made(debate, tmp_path):
    # the standard errors swapped, fit.json from the last question rather than the first,
    # or metrics.json's mean wrong all passed the tests
    from multiagent.fit import FJFit, fit_transcripts

    debate.to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "f"
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--quiet", "--out", str(out)]) == 0
    X = np.stack([g.sort_values(["round", "agent", "option"])["belief"].to_numpy()
                  .reshape(11, 6, 5) for _, g in debate.groupby("question")])
    table, fits = fit_transcripts(X, return_fits=True)
    agents = pd.read_csv(out / "agents.csv")
    for column in ("gamma", "alpha", "gamma_se", "alpha_se"):
        expect = np.concatenate([np.broadcast_to(getattr(f, column), 6)  # one, shared
                                 for f in fits])
        assert np.allclose(agents[column], expect, rtol=1e-6, atol=1e-9), column
    saved = FJFit.load(out / "fit.json")  # the first question's fit
    assert np.allclose(saved.gamma, fits[0].gamma) and not np.allclose(saved.W, fits[1].W)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["per_agent"] is False
    assert metrics["mean"]["rmse"] == pytest.approx(table["rmse"].mean(), rel=1e-6)


def _own_graph(tmp_path):
    """A pure star on named agents as a matrix (rows listen to columns): hub 'mod'."""
    names = ["mod", "ann", "bob", "cy", "dee"]
    A = pd.DataFrame(0, index=names, columns=names)
    A.loc["mod", names[1:]] = 1  # the hub hears every leaf
    A.loc[names[1:], "mod"] = 1  # each leaf hears only the hub
    path = tmp_path / "own graph.csv"
    A.to_csv(path)
    return path, names


def test_simulate_and_fit_on_an_adjacency_file_keep_the_agents_names(tmp_path, capsys):
    from multiagent.adversary import Adversary, Scenario, simulate
    from multiagent.fit import fit_fj

    path, names = _own_graph(tmp_path)
    out = tmp_path / "sim"
    assert main(["fj", "simulate", "--adjacency", str(path), "--adversary", "ann",
                 "--questions", "1", "--rounds", "6", "--quiet", "--out", str(out)]) == 0
    frame = pd.read_csv(out / "trajectories.csv")
    assert frame["agent"].unique().tolist() == names  # names, in the file's order
    assert set(frame.loc[frame.role == "adversary", "agent"]) == {"ann"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["adversary_nodes"] == ["ann"] and metrics["agents"] == names
    assert metrics["parameters"]["adjacency"] == str(path)
    assert metrics["parameters"]["graph"] is None and metrics["parameters"]["n"] == 5
    # the same debate as the library's on the named topology: a star, adversary at leaf 1
    expect = simulate(Scenario(graph="star", n=5, rounds=6, adversaries=(Adversary(1),)),
                      questions=1, seed=0)
    np.testing.assert_allclose(frame["belief"], expect.trajectories.ravel(), rtol=0,
                               atol=1e-15)
    assert metrics["adversary_weight"] == pytest.approx(expect.metrics["adversary_weight"])
    # fit them back on the file's graph: trust only along its edges, agents by name
    fit = tmp_path / "fit"
    assert main(["fj", "fit", str(out / "trajectories.csv"), "--adjacency", str(path),
                 "--per-agent", "--quiet", "--out", str(fit)]) == 0
    trust = pd.read_csv(fit / "trust.csv")
    first = trust[trust.question == 0].pivot(index="listener", columns="speaker",
                                             values="trust").loc[names, names]
    A = pd.read_csv(path, index_col=0).to_numpy()
    assert (first.to_numpy()[A == 0] == 0).all() and first.loc["bob", "mod"] == 1.0
    X = frame[frame.question == 0]["belief"].to_numpy().reshape(7, 5, 5)  # as written
    np.testing.assert_allclose(first.to_numpy(), fit_fj(X, adjacency=A, per_agent=True).W,
                               atol=1e-8)
    agents = pd.read_csv(fit / "agents.csv")
    assert agents["agent"].tolist() == names
    summary = json.loads((fit / "metrics.json").read_text())
    assert summary["adjacency"] == str(path) and summary["graph"] is None
    assert summary["agents"] == names and summary["adversaries_in_data"] == ["ann"]


def test_simulate_hub_of_a_directed_adjacency_is_the_agent_heard_most(tmp_path):
    # x1..x5 speak to c and in a ring; c speaks to no one. --adversary hub picked c (most
    # edges, in and out together): adversary weight 0.0000, an attack nobody hears
    from multiagent.adversary import Adversary, Scenario, simulate
    from multiagent.cli import _speaker_graph
    from multiagent.topologies import read_adjacency

    path = tmp_path / "dstar.csv"
    path.write_text("source,target\nx1,c\nx2,c\nx3,c\nx4,c\nx5,c\nx1,x2\nx2,x3\n"
                    "x3,x4\nx4,x5\nx5,x1\nx2,x1\n")
    out = tmp_path / "o"
    assert main(["fj", "simulate", "--adjacency", str(path), "--questions", "2",
                 "--no-trajectories", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["adversary_nodes"] == ["x2"]  # heard by c, x1 and x3
    frame = read_adjacency(path)
    graph = _speaker_graph(list(frame.index), frame.to_numpy())
    expect = simulate(Scenario(graph=graph, adversaries=(Adversary("x2"),)), questions=2,
                      seed=0, keep_trajectories=False)
    assert metrics["adversary_weight"] == pytest.approx(expect.metrics["adversary_weight"])
    assert metrics["adversary_weight"] > 0.3
    assert main(["fj", "simulate", "--adjacency", str(path), "--questions", "2",
                 "--adversary", "leaf", "--no-trajectories", "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["adversary_nodes"] == ["c"]


def _traced_peak(argv: list[str]) -> int:
    """Run ``prunus argv`` (it must succeed); return the peak of Python's traced memory."""
    import tracemalloc

    tracemalloc.start()
    try:
        assert main(argv) == 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _random_edge_list(path, n: int, *, weighted: bool) -> set[tuple[int, int]]:
    """Write about 2n random directed edges among agents u0..u{n-1}; return the pairs."""
    rng = np.random.default_rng(0)
    pairs = {(int(a), int(b)) for a, b in rng.integers(0, n, size=(2 * n, 2)) if a != b}
    lines = [f"u{a},u{b}" + (f",{1 + (a + b) % 3}" if weighted else "")
             for a, b in sorted(pairs)]
    header = "source,target,weight" if weighted else "source,target"
    path.write_text(header + "\n" + "\n".join(lines) + "\n")
    return pairs


def test_simulate_on_a_large_edge_list_never_builds_the_dense_matrix(tmp_path):
    # --adjacency filled an n x n array: 20,000 agents took 3.4 GB (2.9 GiB for the matrix
    # alone) and 12.5 s for a 1.6 MB edge list; here 4,000 agents peaked at 166 MB
    import multiagent.adversary
    import multiagent.sweeps  # noqa: F401  (imported before tracing: not the run's memory)

    first = min(_random_edge_list(tmp_path / "big.csv", 4000, weighted=False))
    argv = ["fj", "simulate", "--adjacency", str(tmp_path / "big.csv"), "--questions", "1",
            "--rounds", "2", "--no-trajectories", "--out", str(tmp_path / "o")]
    peak = _traced_peak(argv)
    assert peak < 90e6, f"peak {peak / 1e6:.0f} MB"  # the dense matrix alone: 128 MB
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert len(metrics["agents"]) == metrics["parameters"]["n"]
    assert metrics["agents"][:2] == ["u0", f"u{first[1]}"]  # in the order first named


def test_adjacency_edge_list_agents_are_matched_by_name_not_position(tmp_path):
    # the transcript lists agent "b" first; the edge list names "a" first: a fit by
    # position would pair every agent's beliefs with another agent's neighbours
    from multiagent.fit import fit_fj, simulate_transcript

    W = np.array([[0, 1, 0], [0.5, 0, 0.5], [0, 1, 0]])  # a chain a - b - c
    X = simulate_transcript(3, 8, 3, gamma=0.3, alpha=0.4, W=W, noise=0.002, seed=4)
    (tmp_path / "chain.csv").write_text("source,target\na,b\nb,a\nc,b\nb,c\n")
    order = ["b", "c", "a"]  # rows of the transcript file
    rows = [{"round": t, "agent": name, "option": k, "belief": X[t, "abc".index(name), k]}
            for t in range(9) for name in order for k in range(3)]
    pd.DataFrame(rows).to_csv(tmp_path / "t.csv", index=False)
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--adjacency",
                 str(tmp_path / "chain.csv"), "--quiet", "--out", str(tmp_path / "o")]) == 0
    trust = pd.read_csv(tmp_path / "o" / "trust.csv")
    assert trust["listener"].unique().tolist() == ["a", "b", "c"]  # the edge list's order
    got = trust.trust.to_numpy().reshape(3, 3)
    np.testing.assert_allclose(got, fit_fj(X, adjacency=W).W, atol=1e-8)
    assert got[0].tolist() == [0, 1, 0] and got[2].tolist() == [0, 1, 0]


@pytest.mark.parametrize(
    ("command", "text", "message"),
    [
        ("simulate", ",a,b\na,0,1\nb,1,0\nc,1,1\n", "--adjacency: "),
        ("simulate", ",a,b\na,0,1\nc,1,0\n", "differ in ['b', 'c']"),
        ("simulate", ",a,b\na,0,-1\nb,1,0\n", "weights must be finite numbers >= 0"),
        ("simulate", ",a,b\na,1,1\nb,1,0\n", "agent 'a' hears itself"),
        ("simulate", "source,target\na,b\nb,a\n", "--adversary: 'hub_' is not an agent of "
                                                  "--adjacency"),
        ("fit", "source,target\na,a\n", "--adjacency: "),
        ("fit", "source,target\nx,y\ny,x\n", "column 'agent' must hold the names of the "
                                             "--adjacency file's agents ['x', 'y']; line 2 "
                                             "has '0'"),
    ],
)
def test_bad_adjacency_files_are_refused_naming_the_option(debate, tmp_path, capsys, command,
                                                           text, message):
    path = tmp_path / "g.csv"
    path.write_text(text)
    if command == "simulate":
        argv = ["fj", "simulate", "--adjacency", str(path), "--adversary", "hub_"]
    else:
        debate.to_csv(tmp_path / "t.csv", index=False)
        argv = ["fj", "fit", str(tmp_path / "t.csv"), "--adjacency", str(path)]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and "--adjacency" in err
    assert not (tmp_path / "o").exists()


def test_adjacency_excludes_graph_and_n(tmp_path, capsys):
    path, _ = _own_graph(tmp_path)
    with pytest.raises(SystemExit):
        main(["fj", "simulate", "--adjacency", str(path), "--graph", "star", "--out",
              str(tmp_path / "o")])
    assert "not allowed with argument --adjacency" in capsys.readouterr().err
    assert main(["fj", "simulate", "--adjacency", str(path), "--n", "5", "--out",
                 str(tmp_path / "o")]) == 2
    assert "--n and --adjacency" in capsys.readouterr().err
    np.save(tmp_path / "x.npy", np.full((3, 4, 2), 0.5))  # 4 agents, the file names 5
    assert main(["fj", "fit", str(tmp_path / "x.npy"), "--adjacency", str(path),
                 "--out", str(tmp_path / "o")]) == 2
    assert "--adjacency names 5 agents, but" in capsys.readouterr().err


@ADVERSARY_SHOWN
def test_fit_incremental_scores_the_incremental_prediction(debate, tmp_path, capsys):
    from multiagent.fit import FJFit

    debate.to_csv(tmp_path / "t.csv", index=False)
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--incremental", "--out",
                 str(tmp_path / "o")]) == 2
    assert "--incremental predicts the rounds after --train-rounds" in capsys.readouterr().err
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--train-rounds", "7",
                 "--incremental", "--quiet", "--out", str(tmp_path / "o")]) == 0
    fits = pd.read_csv(tmp_path / "o" / "fits.csv")
    X = debate[debate.question == 0].sort_values(["round", "agent", "option"])["belief"]
    X = X.to_numpy().reshape(11, 6, 5)
    fit = FJFit.load(tmp_path / "o" / "fit.json")  # question 0's
    assert fits.loc[0, "mse"] == pytest.approx(fit.score(X, incremental=True)["mse"],
                                               rel=1e-9)
    assert fits.loc[0, "mse"] != pytest.approx(fit.score(X)["mse"], rel=1e-3)
    assert json.loads((tmp_path / "o" / "metrics.json").read_text())["incremental"] is True


@pytest.mark.parametrize("per_agent", [False, True])
def test_fit_writes_95_percent_intervals_of_gamma_and_alpha(tmp_path, per_agent):
    # agents.csv: FJFit.interval("gamma"/"alpha") at 95 % next to the standard errors,
    # broadcast over the agents like the SEs of a shared fit, inside [0, 1]
    from multiagent.fit import fit_transcripts, simulate_transcript

    X = np.stack([simulate_transcript(5, 8, 4, gamma=0.3, alpha=0.4, noise=0.01, seed=s)
                  for s in range(2)])
    np.save(tmp_path / "d.npy", X)
    out = tmp_path / "o"
    argv = ["fj", "fit", str(tmp_path / "d.npy"), "--quiet", "--out", str(out)]
    assert main(argv + (["--per-agent"] if per_agent else [])) == 0
    agents = pd.read_csv(out / "agents.csv")
    assert list(agents.columns) == ["question", "agent", "gamma", "alpha", "gamma_se",
                                    "alpha_se", "gamma_low", "gamma_high", "alpha_low",
                                    "alpha_high"]
    _, fits = fit_transcripts(X, return_fits=True, per_agent=per_agent)
    for name in ("gamma", "alpha"):
        low, high = zip(*(np.broadcast_to(f.interval(name, level=0.95), (2, 5))
                          for f in fits))
        assert np.allclose(agents[f"{name}_low"], np.concatenate(low), rtol=1e-6, atol=1e-9)
        assert np.allclose(agents[f"{name}_high"], np.concatenate(high), rtol=1e-6, atol=1e-9)
        assert ((0 <= agents[f"{name}_low"]) & (agents[f"{name}_low"] < agents[name])
                & (agents[name] < agents[f"{name}_high"])
                & (agents[f"{name}_high"] <= 1)).all()
    # no standard errors with --loss kl: no intervals either (empty fields)
    assert main(argv[:-1] + [str(tmp_path / "kl"), "--loss", "kl"]) == 0
    kl = pd.read_csv(tmp_path / "kl" / "agents.csv")
    bounds = ["gamma_low", "gamma_high", "alpha_low", "alpha_high"]
    assert kl[["gamma_se", "alpha_se", *bounds]].isna().all().all()


def test_fit_reads_the_named_agents_simulate_writes_without_adjacency(tmp_path, capsys):
    # "column 'agent' must hold integers >= 0; line 2 has 'mod'": simulate --adjacency's
    # transcripts could not be fitted without the file, though a complete graph needs none
    path, names = _own_graph(tmp_path)
    out = tmp_path / "sim"
    assert main(["fj", "simulate", "--adjacency", str(path), "--adversary", "ann",
                 "--questions", "1", "--rounds", "6", "--quiet", "--out", str(out)]) == 0
    data = str(out / "trajectories.csv")
    assert main(["fj", "fit", data, "--per-agent", "--quiet", "--out",
                 str(tmp_path / "named")]) == 0
    agents = pd.read_csv(tmp_path / "named" / "agents.csv")
    assert agents["agent"].tolist() == names  # in the order simulate writes them
    summary = json.loads((tmp_path / "named" / "metrics.json").read_text())
    assert summary["agents"] == names and summary["graph"] == "complete"
    assert summary["adversaries_in_data"] == ["ann"]
    # the same fit as on the complete graph of those names given as --adjacency
    complete = pd.DataFrame(1 - np.eye(5, dtype=int), index=names, columns=names)
    complete.to_csv(tmp_path / "complete.csv")
    assert main(["fj", "fit", data, "--adjacency", str(tmp_path / "complete.csv"),
                 "--per-agent", "--quiet", "--out", str(tmp_path / "given")]) == 0
    for name in ("agents.csv", "trust.csv", "fits.csv", "fit.json"):
        assert (tmp_path / "named" / name).read_bytes() == \
            (tmp_path / "given" / name).read_bytes(), name
    # a topology numbered 0..n-1 cannot place named agents
    assert main(["fj", "fit", data, "--graph", "star", "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "--graph star numbers them 0..n-1" in err
    assert "names in the agent column need --adjacency FILE naming them" in err


@pytest.mark.parametrize(
    "names",
    [["101", "205", "333"],  # respondent IDs: "its indices call for ... 334 agents ... typo?"
     ["O'Brien, Pat", "Zoë", "007"],  # "line 2 has "O'Brien, Pat", but line 17 has '007'"
     ["NA", "ann", "bob"]],  # pandas read "NA" as missing: "line 2 has nothing"
)
def test_fit_reads_back_any_agent_names_simulate_writes_without_adjacency(tmp_path, names):
    # the README promises that fit reads the named agents simulate --adjacency writes
    # without the file; names that look like numbers were read as agent indices
    edges = pd.DataFrame([(a, b) for a in names for b in names if a != b],
                         columns=["source", "target"])
    edges.to_csv(tmp_path / "g.csv", index=False)
    out = tmp_path / "sim"
    assert main(["fj", "simulate", "--adjacency", str(tmp_path / "g.csv"), "--adversary",
                 "none", "--questions", "2", "--rounds", "4", "--out", str(out)]) == 0
    data = str(out / "trajectories.csv")
    assert main(["fj", "fit", data, "--quiet", "--out", str(tmp_path / "named")]) == 0
    summary = json.loads((tmp_path / "named" / "metrics.json").read_text())
    assert summary["agents"] == names and summary["graph"] == "complete"
    agents = pd.read_csv(tmp_path / "named" / "agents.csv", dtype=str, keep_default_na=False)
    assert agents["agent"].tolist() == names * 2
    # the same fit as with the file (a complete graph), which read "NA" as missing too
    assert main(["fj", "fit", data, "--adjacency", str(tmp_path / "g.csv"), "--quiet",
                 "--out", str(tmp_path / "given")]) == 0
    for name in ("agents.csv", "trust.csv", "fits.csv", "fit.json"):
        assert (tmp_path / "named" / name).read_bytes() == \
            (tmp_path / "given" / name).read_bytes(), name


def test_numbered_agents_not_0_to_n_minus_1_are_names_only_when_every_belief_is_there(
        debate, tmp_path, capsys):
    # a typo in agents numbered 0..n-1 leaves a belief of the right agent missing, so it is
    # still refused; numbers that give every (question, round, agent, option) once are names
    from multiagent import read_transcripts

    path = tmp_path / "t.csv"
    debate.assign(agent=debate["agent"].where(debate.index != 29, 50)).to_csv(path,
                                                                             index=False)
    assert main(["fj", "fit", str(path), "--out", str(tmp_path / "f")]) == 2
    assert ("the largest agent 50 on line 31 (7 distinct agent values in the file): a typo? "
            "(read as the names of 7 agents ['0', '1', '2', '3', '4', '...'], as respondent "
            "IDs are, it lacks beliefs too)") in capsys.readouterr().err
    # numbered from 1 (as R numbers them): agents "1".."6", not 7 agents with 0 missing
    debate.assign(agent=debate["agent"] + 1).to_csv(path, index=False)
    read = read_transcripts(path)
    assert read.agents == ["1", "2", "3", "4", "5", "6"] and read.adversaries == [0]
    np.testing.assert_array_equal(read.beliefs.ravel(), debate["belief"].to_numpy())
    # 0..n-1 listed in another order stay indices
    order = {0: 2, 1: 0, 2: 1, 3: 3, 4: 5, 5: 4}
    assert read_transcripts(debate.assign(agent=debate["agent"].map(order))).agents is None
    # one "l" among indices: the mixture is refused as before
    debate.assign(agent=debate["agent"].astype(str).where(debate.index != 3, "l")).to_csv(
        path, index=False)
    with pytest.raises(ValueError, match="line 5 has 'l', but line 2 has '0'"):
        read_transcripts(path)


def test_simulate_warns_of_adversary_settings_without_an_adversary(tmp_path, capsys):
    # --adversary none with --persuasion 5 --adversary-gamma 0.1 --sleeper 3 ran silently
    argv = ["fj", "simulate", "--adversary", "none", "--questions", "1", "--no-trajectories",
            "--out", str(tmp_path / "o")]
    assert main([*argv, "--persuasion", "5", "--adversary-gamma", "0.1", "--sleeper",
                 "3"]) == 0
    assert ("prunus: warning: ignoring --adversary-gamma, --persuasion and --sleeper: "
            "adversary settings, and --adversary none places no adversary"
            ) in capsys.readouterr().err
    assert main([*argv, "--sleeper", "2"]) == 0
    assert "ignoring --sleeper: adversary settings" in capsys.readouterr().err
    assert main(argv) == 0  # none set: nothing to say
    assert "warning" not in capsys.readouterr().err


def test_simulate_refuses_a_sleeper_that_never_attacks(tmp_path, capsys):
    # --sleeper 10 --rounds 10: benign throughout (ASR 0), yet "adversary weight 0.6667"
    argv = ["fj", "simulate", "--questions", "1", "--no-trajectories", "--rounds", "10"]
    assert main([*argv, "--sleeper", "10", "--out", str(tmp_path / "o")]) == 2
    assert ("--sleeper 10 must be less than --rounds 10: the adversary attacks from round "
            "--sleeper on") in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert main([*argv, "--sleeper", "9", "--out", str(tmp_path / "o")]) == 0


def test_fit_warns_that_seed_without_a_random_graph_is_ignored(debate, tmp_path, capsys):
    debate.to_csv(tmp_path / "t.csv", index=False)
    argv = ["fj", "fit", str(tmp_path / "t.csv"), "--quiet", "--per-agent"]
    assert main([*argv, "--seed", "3", "--out", str(tmp_path / "a")]) == 0
    assert ("prunus: warning: ignoring --seed 3: it draws a random --graph (er or ba), and "
            "a complete graph is not drawn") in capsys.readouterr().err
    assert main([*argv, "--graph", "star", "--seed", "3", "--out", str(tmp_path / "b")]) == 0
    assert "ignoring --seed 3" in capsys.readouterr().err
    assert main([*argv, "--graph", "ba", "--seed", "3", "--out", str(tmp_path / "c")]) == 0
    assert "warning" not in capsys.readouterr().err


@ADVERSARY_SHOWN
@IN_SAMPLE_SHOWN
def test_fit_warns_that_train_rounds_at_the_last_round_score_in_sample(debate, tmp_path,
                                                                        capsys):
    # --train-rounds 10 on rounds 0..10 held nothing out and scored in-sample (scored_from 0)
    # without a word; it still runs, as it did
    debate.to_csv(tmp_path / "t.csv", index=False)
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--train-rounds", "10",
                 "--out", str(tmp_path / "f")]) == 0
    assert ("prunus: warning: --train-rounds 10 is the transcripts' last round: no round is "
            "held out, so the scores are in-sample") in capsys.readouterr().err
    assert (tmp_path / "f" / "fits.csv").exists()


@pytest.mark.parametrize("how", ["adjacency", "agent column", "numbered"])
def test_fit_json_keeps_the_agents_names(tmp_path, how):
    # agents.csv, trust.csv and metrics.json named the agents, but fit.json did not:
    # FJFit.load gave unlabelled arrays
    from multiagent.fit import FJFit, simulate_transcript

    names = ["mod", "ann", "bob", "cy"]  # not sorted: the order they first appear in
    X = simulate_transcript(4, 3, 2, gamma=0.3, alpha=0.4, noise=0.01, seed=0)
    r, i, k = np.meshgrid(range(4), range(4), range(2), indexing="ij")
    who = np.array(names)[i.ravel()] if how != "numbered" else i.ravel()
    pd.DataFrame({"round": r.ravel(), "agent": who, "option": k.ravel(),
                  "belief": X.ravel()}).to_csv(tmp_path / "t.csv", index=False)
    argv = ["fj", "fit", str(tmp_path / "t.csv"), "--quiet", "--out", str(tmp_path / "o")]
    if how == "adjacency":
        complete = pd.DataFrame(1 - np.eye(4, dtype=int), index=names, columns=names)
        complete.to_csv(tmp_path / "a.csv")
        argv += ["--adjacency", str(tmp_path / "a.csv")]
    assert main(argv) == 0
    fit = FJFit.load(tmp_path / "o" / "fit.json")
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    if how == "numbered":
        assert fit.agents is None and "agents" not in metrics
        assert "agents" not in json.loads((tmp_path / "o" / "fit.json").read_text())
    else:
        assert fit.agents == names == metrics["agents"]
        assert pd.read_csv(tmp_path / "o" / "agents.csv")["agent"].tolist() == names


def test_a_waking_sleeper_gets_the_same_metrics_from_the_command_line_and_a_sweep(tmp_path):
    # before: `--sleeper 3` wrote adversary_weight_closed_form 0.6667 while sweep gave None
    # for any sleeper; the equilibrium weight does not depend on when the adversary woke
    from multiagent import Adversary, Scenario, sweep

    out = tmp_path / "o"
    assert main(["fj", "simulate", "--graph", "star", "--adversary", "hub", "--sleeper", "3",
                 "--questions", "2", "--seed", "0", "--no-trajectories", "--out",
                 str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    row = sweep(Scenario(graph="star", adversaries=(Adversary("hub"),)),
                {"adversary_sleeper": [3]}, questions=2, seed=0).iloc[0]
    for key in ("asr", "accuracy_start", "accuracy_end", "adversary_weight",
                "adversary_weight_closed_form"):
        assert row[key] == pytest.approx(metrics[key], abs=1e-12), key
    assert metrics["adversary_weight_closed_form"] == pytest.approx(2 / 3, abs=1e-12)


@ADVERSARY_SHOWN
def test_a_per_agent_fit_does_not_summarise_the_adversary_into_the_benign_gamma(
        debate, tmp_path, capsys):
    # before: "2 transcript(s): mean gamma 0.333, ..." on a star whose hub adversary fits
    # gamma 1 and five benign agents 0.2: the mean over agents reads as a benign 1/3
    debate.to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "f"
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--per-agent", "--graph", "star",
                 "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "mean gamma 0.333" not in printed
    assert "median gamma 0.200 (0.200-1.000 over agents)" in printed
    assert ("agents not marked adversary: mean gamma 0.200, mean alpha 0.500; "
            "adversaries [0]: mean gamma 1.000") in printed
    fits = pd.read_csv(out / "fits.csv")
    # the columns written before keep their values (the mean over agents) and places
    assert list(fits.columns[:6]) == ["transcript", "question", "gamma", "alpha", "loss",
                                      "scored_from"]
    assert fits.gamma.to_numpy() == pytest.approx((1 + 5 * 0.2) / 6, abs=1e-4)
    assert list(fits.columns[-5:]) == ["gamma_median", "alpha_median", "gamma_benign",
                                       "alpha_benign", "converged"]  # converged added last
    assert fits.gamma_median.to_numpy() == pytest.approx(0.2, abs=1e-4)
    assert fits.gamma_benign.to_numpy() == pytest.approx(0.2, abs=1e-4)
    assert fits.alpha_benign.to_numpy() == pytest.approx(0.5, abs=5e-3)
    # a shared fit's summary is its one value, printed as before
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--quiet", "--out",
                 str(tmp_path / "s")]) == 0
    assert capsys.readouterr().out.startswith("2 transcript(s): mean gamma ")
    assert "gamma_median" not in pd.read_csv(tmp_path / "s" / "fits.csv").columns


@ADVERSARY_SHOWN
def test_fit_metrics_record_every_option_that_changes_the_fit(debate, tmp_path):
    # before: metrics.json held adjacency, adversaries_in_data, graph, incremental, mean,
    # per_agent and transcripts, but not --seed (which draws the er support), --loss (fit.json's
    # "loss" is its value) or --train-rounds
    debate.to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "f"
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--graph", "er", "--seed", "4",
                 "--loss", "kl", "--train-rounds", "7", "--quiet", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["seed"] == 4 and metrics["loss"] == "kl" and metrics["train_rounds"] == 7
    assert metrics["data"] == str(tmp_path / "t.csv")
    assert {k: metrics[k] for k in ("adjacency", "adversaries_in_data", "graph", "incremental",
                                    "per_agent", "transcripts")} == {
        "adjacency": None, "adversaries_in_data": [0], "graph": "er", "incremental": False,
        "per_agent": False, "transcripts": 2}
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--quiet", "--out",
                 str(tmp_path / "d")]) == 0
    defaults = json.loads((tmp_path / "d" / "metrics.json").read_text())
    assert (defaults["seed"], defaults["loss"], defaults["train_rounds"]) == (0, "mse", None)
    # and what computed them, as fj simulate's metrics.json records it
    import torch

    assert metrics["environment"]["torch"] == torch.__version__
    assert main(["fj", "simulate", "--questions", "1", "--no-trajectories", "--quiet",
                 "--out", str(tmp_path / "s")]) == 0
    simulated = json.loads((tmp_path / "s" / "metrics.json").read_text())
    assert simulated["environment"]["torch_threads"] == torch.get_num_threads()


def test_simulate_on_an_adjacency_file_names_the_agents_in_the_plot(tmp_path, monkeypatch):
    # before: the title said "adversary=ann" and the CSV named the agents, but the legend
    # said "agent 0", ..., "agent 1 (adversary)"
    import multiagent.plot as plot

    seen = {}
    original = plot.plot_trajectories

    def spy(*args, **kwargs):
        ax = original(*args, **kwargs)
        seen["legend"] = [t.get_text() for t in ax.get_legend().get_texts()]
        return ax

    monkeypatch.setattr(plot, "plot_trajectories", spy)
    path, names = _own_graph(tmp_path)
    assert main(["fj", "simulate", "--adjacency", str(path), "--adversary", "ann",
                 "--questions", "1", "--quiet", "--out", str(tmp_path / "o")]) == 0
    assert seen["legend"] == ["mod", "bob", "cy", "dee", "ann (adversary)"]
    # a numbered graph keeps its numbered legend
    assert main(["fj", "simulate", "--graph", "star", "--n", "3", "--questions", "1",
                 "--quiet", "--out", str(tmp_path / "n")]) == 0
    assert seen["legend"] == ["agent 1", "agent 2", "agent 0 (adversary)"]


def test_simulate_where_the_leaves_hear_nobody_writes_the_limit_weight(tmp_path):
    # --gamma 0 --persuasion 0: the leaves trust nobody and keep their beliefs, weight 0 on
    # the hub; metrics.json had "adversary_weight": null next to the closed form 0.0
    out = tmp_path / "o"
    assert main(["fj", "simulate", "--graph", "star", "--adversary", "hub", "--gamma", "0",
                 "--persuasion", "0", "--questions", "2", "--no-trajectories", "--out",
                 str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["adversary_weight"] == 0.0
    assert metrics["adversary_weight_closed_form"] == 0.0


@pytest.mark.parametrize(("adversary", "key"), [("0", "star_hub"), ("3", "star_leaf")])
def test_an_adversary_placed_by_index_on_a_star_gets_its_closed_form(tmp_path, adversary, key):
    # `--adversary 0` is the star's hub: metrics.json had adversary_weight 0.6667 with
    # adversary_weight_closed_form null (the lookup knew only the words hub and leaf)
    from multiagent import closed_form_weight

    out = tmp_path / "o"
    assert main(["fj", "simulate", "--graph", "star", "--adversary", adversary,
                 "--questions", "2", "--no-trajectories", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    closed = closed_form_weight(key, 6, 0.2, 0.5)["mean"]
    assert metrics["adversary_weight_closed_form"] == pytest.approx(closed, abs=1e-15)
    assert metrics["adversary_weight"] == pytest.approx(closed, abs=1e-12)
    assert metrics["adversary_nodes"] == [int(adversary)]


def test_simulate_no_trajectories_removes_an_earlier_runs_trajectories(tmp_path, capsys):
    # they were left beside the new metrics.json (a warning on stderr said they were from an
    # earlier run), and `prunus fj fit DIR/trajectories.csv` then fitted that run's debate
    out = tmp_path / "o"
    argv = ["fj", "simulate", "--graph", "star", "--questions", "2", "--out", str(out)]
    assert main(argv) == 0
    (out / "notes.txt").write_text("mine")  # not a file simulate writes: kept
    earlier = (out / "trajectories.csv").read_bytes()
    # a run that fails removes nothing: the earlier run's files stay together
    (out / "metrics.json").unlink()
    (out / "metrics.json").mkdir()
    assert main([*argv, "--no-trajectories"]) == 2
    assert (out / "trajectories.csv").read_bytes() == earlier
    assert (out / "trajectories.png").exists()
    (out / "metrics.json").rmdir()
    capsys.readouterr()
    assert main([*argv, "--no-trajectories", "--seed", "3"]) == 0
    captured = capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "notes.txt"]
    # a note on stderr, the only line there: stdout holds the results
    assert captured.err == (f"prunus: note: removed the earlier run's "
                            f"{out / 'trajectories.csv'}, {out / 'trajectories.png'} "
                            "(--no-trajectories writes metrics.json only)\n")
    assert json.loads((out / "metrics.json").read_text())["parameters"]["seed"] == 3
    # the stale debate can no longer be fitted by mistake
    with pytest.raises(SystemExit):
        main(["fj", "fit", str(out / "trajectories.csv"), "--out", str(tmp_path / "f")])


def _short_debates(tmp_path):
    """Four questions among four agents, as simulate writes them."""
    sim = tmp_path / "sim"
    assert main(["fj", "simulate", "--graph", "ring", "--n", "4", "--questions", "4",
                 "--rounds", "5", "--options", "3", "--quiet", "--out", str(sim)]) == 0
    return sim / "trajectories.csv"


@ADVERSARY_SHOWN
def test_fit_resumes_after_an_interruption_with_the_files_of_an_uninterrupted_run(
        tmp_path, capsys, monkeypatch):
    # `prunus fj fit` lost every fit on an interruption (1,000 questions of 40 agents take
    # ~25 min); grn fit and ctmc fit resume when rerun with the same arguments
    import multiagent.fit as module

    data = _short_debates(tmp_path)
    argv = ["fj", "fit", str(data), "--per-agent", "--train-rounds", "4", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "whole")]) == 0
    real, calls, stop = module.fit_fj, [], [3]

    def counted(*args, **kwargs):
        calls.append(1)
        if len(calls) == stop[0]:  # Ctrl-C during the third question's fit
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "fit_fj", counted)
    out = tmp_path / "resumed"
    capsys.readouterr()
    assert main([*argv, "--out", str(out)]) == 130
    assert "interrupted" in capsys.readouterr().err
    checkpoint = out / "fit_checkpoint.json"
    assert sorted(p.name for p in out.iterdir()) == ["fit_checkpoint.json"]
    assert len(json.loads(checkpoint.read_text())["done"]) == 2
    # a rerun with other settings is refused, naming the file, and keeps it
    assert main(["fj", "fit", str(data), "--train-rounds", "4", "--quiet",
                 "--out", str(out)]) == 2
    captured = capsys.readouterr()
    err = captured.err
    # it may be of a run still going: not announced as resumed, nor called interrupted
    assert f"{checkpoint} is from another run (interrupted, or still running) with other " \
        "settings" in err and "delete the file if no run is using it" in err
    assert "(differs in: per_agent)" in err and checkpoint.exists()
    assert "resum" not in captured.out
    calls.clear()
    stop[0] = 0
    assert main([*argv, "--out", str(out)]) == 0
    assert (f"prunus: note: resumed the fits from {checkpoint} (2 of 4 questions had been "
            "done)") in capsys.readouterr().err
    assert len(calls) == 2  # the other two questions
    assert not checkpoint.exists()  # the outputs are complete
    for name in ("fits.csv", "agents.csv", "trust.csv", "fit.json", "metrics.json"):
        assert (out / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


@ADVERSARY_SHOWN
def test_fit_refuses_a_damaged_checkpoint_naming_it(tmp_path, capsys):
    data = _short_debates(tmp_path)
    out = tmp_path / "f"
    out.mkdir()
    (out / "fit_checkpoint.json").write_text("{")
    assert main(["fj", "fit", str(data), "--quiet", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"cannot resume the fits: checkpoint {str(out / 'fit_checkpoint.json')!r}" in err
    assert "delete it (or use another --out) to start afresh" in err


def test_fit_names_a_typo_d_index_before_allocating_the_transcript(debate, tmp_path, capsys,
                                                                   monkeypatch):
    # before: the lines 0,0,0,0,1.0 and 0,100000,100000,0,0.5 asked np.full for a
    # (1, 100001, 100001, 1) array, 74.5 GiB, and the error ("Unable to allocate 74.5 GiB
    # for an array ...") named no line or value; the lines are now counted first
    full, asked = np.full, []

    def spy(shape, *args, **kwargs):
        if np.prod(shape, dtype=float) > 1e6:  # never allocate that much in a test
            asked.append(shape)
            raise MemoryError(f"np.full{shape} asked for in a test")
        return full(shape, *args, **kwargs)

    monkeypatch.setattr(np, "full", spy)
    (tmp_path / "t.csv").write_text("question,round,agent,option,belief\n0,0,0,0,1.0\n"
                                    "0,100000,100000,0,0.5\n")
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--out", str(tmp_path / "f")]) == 2
    assert ("t.csv does not hold every (question, round, agent, option) belief: its indices "
            "call for 1 question x 100,001 rounds x 100,001 agents x 1 option = "
            "10,000,200,001 lines, one per belief, and it has 2; the largest round 100000 on "
            "line 3 (2 distinct round values in the file), the largest agent 100000 on line 3 "
            "(2 distinct agent values in the file): a typo?") in capsys.readouterr().err
    assert asked == []
    # a missing line without skipped indices: the count, and the belief missing
    debate.drop(index=7).to_csv(tmp_path / "t.csv", index=False)
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--out", str(tmp_path / "f")]) == 2
    assert ("belief: its indices call for 2 questions x 11 rounds x 6 agents x 5 options = 660 "
            "lines, one per belief, and it has 659; no belief for question 0, round 0, agent 1 "
            "(option 2)\n") in capsys.readouterr().err
    assert not (tmp_path / "f").exists()


@ISOLATED_SHOWN
def test_fit_fits_the_others_when_an_adjacency_agent_hears_no_one(tmp_path, capsys):
    # simulate --adjacency ran with agent d hearing no one (it listens to itself, as the
    # model reads a zero row), but fit --adjacency on its transcripts refused: "agent 'd'
    # hears no one ...; its trust cannot be fitted"
    from multiagent.fit import FJFit, fit_fj
    from multiagent.topologies import read_adjacency

    path = tmp_path / "adj.csv"
    path.write_text(",a,b,c,d\na,0,1,1,0\nb,1,0,1,0\nc,1,1,0,0\nd,0,0,0,0\n")
    sim = tmp_path / "sim"
    assert main(["fj", "simulate", "--adjacency", str(path), "--adversary", "none",
                 "--questions", "2", "--rounds", "6", "--quiet", "--out", str(sim)]) == 0
    for per_agent in ([], ["--per-agent"]):
        out = tmp_path / f"fit{len(per_agent)}"
        assert main(["fj", "fit", str(sim / "trajectories.csv"), "--adjacency", str(path),
                     *per_agent, "--quiet", "--out", str(out)]) == 0
        err = capsys.readouterr().err
        assert err.count("hears no one") == 1 and "agent 'd' hears no one" in err
        agents = pd.read_csv(out / "agents.csv")
        d, others = agents[agents.agent == "d"], agents[agents.agent != "d"]
        assert others.gamma.to_numpy() == pytest.approx(0.2, abs=1e-6)  # noise-free
        assert others.alpha.to_numpy() == pytest.approx(0.5, abs=1e-4)
        trust = pd.read_csv(out / "trust.csv")
        assert trust[trust.listener == "d"].trust.tolist() == [0, 0, 0, 1] * 2  # itself
        if per_agent:  # its alpha does nothing: left at the start, and said so
            assert (d.alpha == 0.5).all() and np.isinf(d.alpha_se).all()
            assert (d.alpha_low == 0).all() and (d.alpha_high == 1).all()
            fits = pd.read_csv(out / "fits.csv")
            assert fits.alpha.to_numpy() == pytest.approx(0.5, abs=1e-4)  # a, b, c only
    # the long table simulate wrote, read with pandas, is what fit_fj reads too
    frame = pd.read_csv(sim / "trajectories.csv")
    with pytest.warns(UserWarning, match="agent 'd' hears no one"):
        fit = fit_fj(frame[frame.question == 1], adjacency=read_adjacency(path),
                     per_agent=True)
    with pytest.warns(UserWarning, match="agent 'd' hears no one"):
        first = fit_fj(frame[frame.question == 0], adjacency=read_adjacency(path),
                       per_agent=True)
    saved = FJFit.load(tmp_path / "fit1" / "fit.json")
    assert saved.agents == fit.agents == list("abcd")
    np.testing.assert_array_equal(saved.W, first.W)
    np.testing.assert_array_equal(saved.alpha, first.alpha)


@ISOLATED_SHOWN
def test_fit_leaves_an_isolated_agents_gamma_out_of_the_summaries(tmp_path, capsys):
    # agent c hears no one, so it keeps its innate belief whatever its gamma: fitted all
    # the same, its gamma came out 0.99999 in question 0 (gamma_se inf, planted 0.2), and
    # fits.csv's mean gamma 0.600 and gamma_benign 0.467 counted it, where b and d fit 0.2
    path = tmp_path / "adj.csv"
    path.write_text(",a,b,c,d\na,0,1,1,0\nb,1,0,1,1\nc,0,0,0,0\nd,1,1,0,0\n")
    sim, out = tmp_path / "sim", tmp_path / "fit"
    assert main(["fj", "simulate", "--adjacency", str(path), "--adversary", "a",
                 "--questions", "3", "--rounds", "8", "--quiet", "--out", str(sim)]) == 0
    assert main(["fj", "fit", str(sim / "trajectories.csv"), "--adjacency", str(path),
                 "--per-agent", "--quiet", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    agents = pd.read_csv(out / "agents.csv")
    c = agents[agents.agent == "c"]
    assert c.gamma.to_numpy() == pytest.approx(0.2) and np.isinf(c.gamma_se).all()
    assert (c.gamma_low == 0).all() and (c.gamma_high == 1).all()
    fits = pd.read_csv(out / "fits.csv")
    # a (the adversary, fully stubborn) at 1, b and d at 0.2: c is in none of them
    assert fits.gamma.to_numpy() == pytest.approx(1.4 / 3, abs=1e-6)
    assert fits.gamma_benign.to_numpy() == pytest.approx(0.2, abs=1e-6)
    assert fits.gamma_median.to_numpy() == pytest.approx(0.2, abs=1e-6)
    assert "mean gamma 0.200" in captured.out  # the benign agents' line: b and d
    # the warning said "its gamma is fitted"
    assert ("so neither is identified: its transitions are left out of the fits (with "
            "--per-agent its gamma and alpha stay at 0.2 and 0.5, with gamma_se and alpha_se "
            "inf in agents.csv") in captured.err


def test_simulate_runs_in_a_thread_pool_write_the_files_of_serial_runs(tmp_path):
    # matplotlib's drawing is not thread-safe: the commands draw under one lock for the
    # process (core.cli.figures_locked), fj simulate too
    from concurrent.futures import ThreadPoolExecutor

    def run(seed: int, where: str) -> int:
        return main(["fj", "simulate", "--graph", "star", "--n", "6", "--adversary", "hub",
                     "--questions", "3", "--rounds", "4", "--seed", str(seed),
                     "--out", str(tmp_path / where / f"s{seed}")])

    assert [run(s, "serial") for s in range(3)] == [0] * 3
    with ThreadPoolExecutor(3) as pool:
        assert list(pool.map(lambda s: run(s, "threads"), range(3))) == [0] * 3
    for s in range(3):
        threads, serial = tmp_path / "threads" / f"s{s}", tmp_path / "serial" / f"s{s}"
        for name in ("trajectories.csv", "trajectories.png"):
            assert (threads / name).read_bytes() == (serial / name).read_bytes(), name
        metrics = [json.loads((d / "metrics.json").read_text()) for d in (threads, serial)]
        for m in metrics:  # the folders differ, and torch's thread count in other threads
            m["parameters"].pop("out")
            m.pop("environment")
        assert metrics[0] == metrics[1]


@ISOLATED_SHOWN
def test_fit_per_agent_median_and_record_leave_out_an_isolated_agent_of_three(tmp_path,
                                                                             capsys):
    # mutation audit: with four agents the median gamma was 0.2 with or without isolated c,
    # so a median over all agents, or a metrics.json without isolated_agents, went unseen.
    # Here a (adversary, gamma 1) and b (0.2) hear each other and c hears no one: the
    # median over a and b is 0.6, where one over all three reads 0.2
    path = tmp_path / "adj.csv"
    path.write_text(",a,b,c\na,0,1,0\nb,1,0,0\nc,0,0,0\n")
    sim, out = tmp_path / "sim", tmp_path / "fit"
    assert main(["fj", "simulate", "--adjacency", str(path), "--adversary", "a",
                 "--questions", "1", "--rounds", "6", "--quiet", "--out", str(sim)]) == 0
    assert main(["fj", "fit", str(sim / "trajectories.csv"), "--adjacency", str(path),
                 "--per-agent", "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "median gamma 0.600 (0.200-1.000 over agents)" in printed
    fits = pd.read_csv(out / "fits.csv")
    assert fits.gamma_median.to_numpy() == pytest.approx(0.6, abs=1e-6)
    assert fits.gamma_benign.to_numpy() == pytest.approx(0.2, abs=1e-6)  # b alone
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["isolated_agents"] == ["c"]
    assert metrics["mean"]["gamma"] == pytest.approx(0.6, abs=1e-6)  # fits.csv's, a and b


def test_simulate_an_adjacency_file_whose_name_is_not_utf8(tmp_path, monkeypatch, capsys):
    # a Latin-1 file name ("x\xe4dj.csv" from an old Windows zip) on a UTF-8 system: the
    # figure's title held its surrogate escape, which matplotlib cannot draw, and the run
    # ended "matplotlib failed to draw a figure ...: set_text(): incompatible function
    # arguments ..." with no file written. The title now shows the byte as U+FFFD
    import os

    import multiagent.plot

    name = os.fsdecode(b"x\xe4dj.csv")
    if name != "x\udce4dj.csv":
        pytest.skip("file names are not decoded as UTF-8 with surrogate escapes here")
    path = tmp_path / name
    try:
        path.write_text(",a,b,c\na,0,1,1\nb,1,0,1\nc,1,1,0\n")
    except (OSError, UnicodeError):
        pytest.skip("the file system refuses file names that are not UTF-8")
    titles = []
    drawn = multiagent.plot.plot_trajectories

    def recorded(*args, **kwargs):
        titles.append(kwargs.get("title"))
        return drawn(*args, **kwargs)

    monkeypatch.setattr(multiagent.plot, "plot_trajectories", recorded)
    out = tmp_path / "run"
    assert main(["fj", "simulate", "--adjacency", str(path), "--questions", "2",
                 "--rounds", "2", "--quiet", "--out", str(out)]) == 0
    assert titles == ["x\ufffddj.csv, n=3, adversary=hub: question 0"]
    for file in ("trajectories.csv", "metrics.json", "trajectories.png"):
        assert (out / file).is_file(), file


def _weighted_debate(tmp_path, *, noise=0.0):
    """A noise-free debate on a weighted directed edge list, as a long table by name."""
    from multiagent.fit import simulate_transcript
    from multiagent.topologies import read_adjacency

    path = tmp_path / "ties.csv"
    path.write_text("source,target,weight\nb,a,3\nc,a,1\na,b,2\nc,b,2\nd,c,5\nb,c,1\n"
                    "a,d,1\nc,d,4\n")
    A = read_adjacency(path)  # agents in the order first named: b, a, c, d
    W = A.to_numpy() / A.to_numpy().sum(axis=1, keepdims=True)
    X = simulate_transcript(4, 10, 3, gamma=0.3, alpha=0.4, W=W, noise=noise, seed=2)
    names = list(A.index)
    rows = [{"round": t, "agent": names[i], "option": k, "belief": X[t, i, k]}
            for t in range(11) for i in range(4) for k in range(3)]
    pd.DataFrame(rows).to_csv(tmp_path / "t.csv", index=False)
    return path, A, W, X


def test_fit_trust_given_takes_the_adjacency_weights_and_fits_gamma_and_alpha(tmp_path):
    # before: --adjacency counted weights as edges only, and trust was always learned: a
    # researcher with measured tie strengths had to call fit_fj(..., trust="given") in
    # Python. --trust given fixes W to the row-normalised weights: on a noise-free debate
    # gamma and alpha come back exactly and trust.csv is those weights
    from multiagent.fit import fit_transcripts

    path, A, W, X = _weighted_debate(tmp_path)
    out = tmp_path / "given"
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--adjacency", str(path), "--trust",
                 "given", "--quiet", "--out", str(out)]) == 0
    fits = pd.read_csv(out / "fits.csv")
    assert fits.gamma.to_numpy() == pytest.approx(0.3, abs=1e-5)
    assert fits.alpha.to_numpy() == pytest.approx(0.4, abs=1e-5)
    trust = pd.read_csv(out / "trust.csv").pivot(index="listener", columns="speaker",
                                                   values="trust")
    np.testing.assert_allclose(trust.loc[A.index, A.index].to_numpy(), W, rtol=0, atol=1e-15)
    assert json.loads((out / "metrics.json").read_text())["trust"] == "given"
    # uniform: equal trust in each neighbour, only gamma and alpha fitted (here misfitted)
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--adjacency", str(path), "--trust",
                 "uniform", "--quiet", "--out", str(tmp_path / "u")]) == 0
    uniform = pd.read_csv(tmp_path / "u" / "trust.csv").trust.to_numpy().reshape(4, 4)
    np.testing.assert_allclose(uniform, (A.to_numpy() > 0) / 2)
    assert abs(pd.read_csv(tmp_path / "u" / "fits.csv").gamma[0] - 0.3) > 0.01
    # the default learns W as before: the library's fit without the new keywords
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--adjacency", str(path), "--quiet",
                 "--out", str(tmp_path / "d")]) == 0
    _, (fit,) = fit_transcripts(X[None], adjacency=A.to_numpy(), return_fits=True)
    learned = pd.read_csv(tmp_path / "d" / "trust.csv").trust.to_numpy().reshape(4, 4)
    np.testing.assert_allclose(learned, fit.W, rtol=0, atol=1e-12)  # X via CSV: last bits
    assert json.loads((tmp_path / "d" / "metrics.json").read_text())["trust"] == "learn"


@pytest.mark.parametrize("where", [[], ["--graph", "star"]])
def test_fit_trust_given_without_adjacency_is_refused_naming_the_option(debate, tmp_path,
                                                                        capsys, where):
    debate.to_csv(tmp_path / "t.csv", index=False)
    assert main(["fj", "fit", str(tmp_path / "t.csv"), *where, "--trust", "given",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--trust given takes the trust from the weights of --adjacency FILE" in err
    assert not (tmp_path / "o").exists()


def test_fit_checkpoint_of_learned_trust_is_not_resumed_with_trust_given(tmp_path, capsys):
    # the checkpoint records the fits' settings: one of --trust learn is refused, naming
    # the option (not fit_fj's learn_trust, trust)
    from multiagent.fit import fit_transcripts

    path, A, _, X = _weighted_debate(tmp_path, noise=0.002)
    np.save(tmp_path / "t.npy", X[None])  # the beliefs bit for bit (the fingerprint's)
    out = tmp_path / "o"
    out.mkdir()
    fit_transcripts(X[None], checkpoint=out / "fit_checkpoint.json", per_agent=False,
                    train_rounds=None, loss="mse", adjacency=A.to_numpy())
    assert main(["fj", "fit", str(tmp_path / "t.npy"), "--adjacency", str(path), "--trust",
                 "given", "--quiet", "--out", str(out)]) == 2
    assert "other settings (differs in: --trust)" in capsys.readouterr().err


def _fj_equilibrium(A, S, gamma, alpha):
    """B* of b_i(t+1) = g_i s_i + (1 - g_i)[a_i b_i(t) + (1 - a_i) sum_j W_ij b_j(t)]."""
    W = A / A.sum(axis=1, keepdims=True)
    g, a = np.broadcast_to(gamma, len(A)), np.broadcast_to(alpha, len(A))
    H = (1 - g)[:, None] * (np.diag(a) + (1 - a)[:, None] * W)
    M = np.linalg.solve(np.eye(len(A)) - H, np.diag(g))  # B* = M S
    return M @ S, M.mean(axis=0)  # and the social power, column means of M


def test_equilibrium_of_a_weighted_chain_by_name_on_a_likert_scale(tmp_path, capsys):
    # before: no command answered "where do these opinions settle?": the researcher with an
    # edge list and a survey wrote Python. Known answer: the FJ fixed point, solved here
    (tmp_path / "g.csv").write_text("source,target,weight\na,b,1\nb,a,1\nb,c,2\nc,b,2\n"
                                    "c,d,1\nd,c,1\n")
    # rows in another order than the edge list's agents; Likert 1-7 and a 0-100 scale
    (tmp_path / "op.csv").write_text("agent,economy,thermometer\nd,7,10\nb,3,55\n"
                                     "a,1,90\nc,5,40\n")
    out = tmp_path / "o"
    assert main(["fj", "equilibrium", "--adjacency", str(tmp_path / "g.csv"), "--opinions",
                 str(tmp_path / "op.csv"), "--gamma", "0.3", "--alpha", "0.4",
                 "--out", str(out)]) == 0
    A = np.array([[0, 1, 0, 0], [1, 0, 2, 0], [0, 2, 0, 1], [0, 0, 1, 0]], dtype=float)
    S = np.array([[1, 90], [3, 55], [5, 40], [7, 10]], dtype=float)
    B, power = _fj_equilibrium(A, S, 0.3, 0.4)
    eq = pd.read_csv(out / "equilibrium.csv")
    assert eq.columns.tolist() == ["agent", "economy", "thermometer"]
    assert eq.agent.tolist() == ["a", "b", "c", "d"]  # the network's order
    np.testing.assert_allclose(eq[["economy", "thermometer"]].to_numpy(), B, rtol=1e-13)
    assert eq.economy.between(1, 7).all()  # a weighted mean of innate opinions
    sp_ = pd.read_csv(out / "social_power.csv")
    assert sp_.columns.tolist() == ["agent", "power"]
    np.testing.assert_allclose(sp_.power.to_numpy(), power, rtol=1e-12)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["parameters"]["gamma"] == 0.3 and metrics["parameters"]["alpha"] == 0.4
    assert metrics["solver"] == {"method": "direct", "iterations": 0}
    assert metrics["symmetric"] is True and metrics["classic_fj"] is False
    assert "indices" not in metrics  # not the classic model: they would describe another z
    assert metrics["topics"] == ["economy", "thermometer"] and metrics["n_agents"] == 4
    assert "torch" in metrics["environment"]
    shown = capsys.readouterr().out
    assert "economy" in shown and "add --classic" in shown and "equilibrium.csv" in shown
    assert not list(out.glob(".*"))  # written atomically, nothing left behind


def test_equilibrium_per_agent_gamma_and_alpha_columns_override_the_options(tmp_path,
                                                                             capsys):
    (tmp_path / "g.csv").write_text("source,target\nx,y\ny,z\nz,x\nx,z\n")  # directed
    (tmp_path / "op.csv").write_text("agent,Gamma,opinion,ALPHA\nz,0.5,-1,0\n"
                                     "x,1,2,0.9\ny,0.1,0.5,0.2\n")
    assert main(["fj", "equilibrium", "--adjacency", str(tmp_path / "g.csv"), "--opinions",
                 str(tmp_path / "op.csv"), "--gamma", "0.7", "--out", str(tmp_path / "o")]) == 0
    assert "ignoring --gamma 0.7: --opinions gives gamma per agent" in capsys.readouterr().err
    # x, y, z as the edge list first names them; y hears x, z hears y and x, x hears z
    A = np.array([[0, 0, 1], [1, 0, 0], [1, 1, 0]], dtype=float)
    B, power = _fj_equilibrium(A, np.array([[2.0], [0.5], [-1.0]]), np.array([1, 0.1, 0.5]),
                               np.array([0.9, 0.2, 0]))
    eq = pd.read_csv(tmp_path / "o" / "equilibrium.csv")
    assert eq.columns.tolist() == ["agent", "opinion"] and eq.opinion[0] == 2.0  # gamma 1
    np.testing.assert_allclose(eq[["opinion"]].to_numpy(), B, rtol=1e-13)
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["per_agent_columns"] == ["alpha", "gamma"] and not metrics["symmetric"]
    assert metrics["parameters"]["alpha"] is None  # from the column, not the default
    # social power by agent: column means of B* = M S's M (x, y, z differ, so a reversed or
    # shuffled column would show)
    powers = pd.read_csv(tmp_path / "o" / "social_power.csv")
    assert powers.agent.tolist() == ["x", "y", "z"] and len(set(power.round(6))) == 3
    np.testing.assert_allclose(powers.power.to_numpy(), power, rtol=1e-12)


def test_equilibrium_classic_reports_the_indices_of_opinion_indices(tmp_path, capsys):
    # the indices of Musco et al. describe the classic model's equilibrium: reported with
    # --classic (and equal to multiagent.opinion_indices), not for another gamma and alpha
    from multiagent import opinion_indices

    (tmp_path / "g.csv").write_text(",p,q,r,s\np,0,2,1,0\nq,2,0,0,1\nr,1,0,0,3\ns,0,1,3,0\n")
    (tmp_path / "op.csv").write_text("agent,t1,t2\ns,4,1\nr,2,7\nq,6,3\np,1,5\n")
    out = tmp_path / "o"
    assert main(["fj", "equilibrium", "--adjacency", str(tmp_path / "g.csv"), "--opinions",
                 str(tmp_path / "op.csv"), "--classic", "--out", str(out)]) == 0
    A = np.array([[0, 2, 1, 0], [2, 0, 0, 1], [1, 0, 0, 3], [0, 1, 3, 0]], dtype=float)
    S = np.array([[1, 5], [6, 3], [2, 7], [4, 1]], dtype=float)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["classic_fj"] is True and metrics["parameters"]["gamma"] is None
    eq = pd.read_csv(out / "equilibrium.csv")
    for k, topic in enumerate(["t1", "t2"]):
        expect = opinion_indices(A, S[:, k])
        assert set(metrics["indices"][topic]) == {"polarization", "disagreement",
                                                  "internal_conflict", "controversy",
                                                  "pd_index", "dc_index"}
        for key, value in metrics["indices"][topic].items():
            assert value == pytest.approx(expect[key], rel=1e-12), key
        np.testing.assert_allclose(eq[topic], expect["z"], rtol=1e-13)
        # z = (I + L)^{-1} s, the classic FJ equilibrium
        L = np.diag(A.sum(axis=1)) - A
        np.testing.assert_allclose(eq[topic], np.linalg.solve(np.eye(4) + L, S[:, k]))
    assert "polarization" in capsys.readouterr().out
    # the same network with gamma 0.2 and alpha 0.5: no indices (another equilibrium)
    assert main(["fj", "equilibrium", "--adjacency", str(tmp_path / "g.csv"), "--opinions",
                 str(tmp_path / "op.csv"), "--out", str(tmp_path / "p")]) == 0
    assert "indices" not in json.loads((tmp_path / "p" / "metrics.json").read_text())
    # nor with alpha 0 and a gamma other than 1/(1 + d_i): only the classic model has them
    assert main(["fj", "equilibrium", "--adjacency", str(tmp_path / "g.csv"), "--opinions",
                 str(tmp_path / "op.csv"), "--alpha", "0", "--out", str(tmp_path / "r")]) == 0
    assert "indices" not in json.loads((tmp_path / "r" / "metrics.json").read_text())


@pytest.mark.parametrize(
    ("opinions", "extra", "message"),
    [
        ("agent,x\na,1\nb,2\n", [], "has no row for the agents ['c'] of --adjacency"),
        # an agent in no edge is added as an isolated one, but not when it takes the place
        # of one of the network's agents: then it is likely misspelt
        ("agent,x\na,1\nb,2\nzed,4\n", [], "has no row for the agents ['c'] of --adjacency"),
        ("agent,x\na,1\nb,2\nzed,4\n", [], "every agent needs its innate opinion (its rows "
                                           "also name ['zed'], in no edge of --adjacency: "
                                           "misspelt?)"),
        ("agent,x\na,1\nb,2\nc,3\na,4\n", [], "agent 'a' has two rows (lines 2 and 5)"),
        ("agent,x\na,1\nb,\nc,3\n", [], "column 'x' must hold finite numbers (innate "
                                        "opinions, on any scale); line 3 (agent 'b') has "
                                        "nothing"),
        ("agent,x\na,1\nb,yes\nc,3\n", [], "line 3 (agent 'b') has 'yes'"),
        ("agent,x,gamma\na,1,0.2\nb,2,1.5\nc,3,0\n", [], "column 'gamma' must hold numbers "
                                                         "in [0, 1] (stubbornness); line 3"),
        ("name,x\na,1\nb,2\nc,3\n", [], "has no column 'agent'"),
        ("agent,gamma\na,1\nb,1\nc,1\n", [], "has no column of opinions"),
        ("agent,x,x\na,1,1\nb,2,2\nc,3,3\n", [], "has the column 'x' twice"),
        ("agent,x\na,1\nb,2\nc,3\n", ["--classic"], "--classic needs a symmetric "
                                                   "--adjacency"),
        ("agent,x\na,1\nb,2\nc,3\n", ["--classic"], "agent 'c' hears 'b' with weight 1, "
                                                   "but 'b' hears 'c' with weight 0"),
        ("agent,x\na,1\nb,2\nc,3\n", ["--classic", "--alpha", "0"], "leave --alpha out"),
    ],
)
def test_equilibrium_refuses_bad_opinions_naming_the_file_column_and_agent(
        tmp_path, capsys, opinions, extra, message):
    (tmp_path / "g.csv").write_text("source,target\na,b\nb,a\nb,c\n")  # c hears b only
    (tmp_path / "op.csv").write_text(opinions)
    assert main(["fj", "equilibrium", "--adjacency", str(tmp_path / "g.csv"), "--opinions",
                 str(tmp_path / "op.csv"), *extra, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_equilibrium_adds_survey_respondents_without_ties_to_an_edge_list(tmp_path, capsys):
    # before: an --opinions row for an agent in no edge was refused ("--opinions ... names
    # agents that --adjacency ... does not: ['999']"), and a self-loop 999,999,0 as a
    # self-loop, so respondents without ties could not be included. Known answer: such an
    # agent hears no one and keeps its innate opinion (x_i = s_i), the others settle as
    # without it, and it holds all of its own weight (social power 1/n)
    (tmp_path / "g.csv").write_text("source,target,weight\na,b,1\nb,a,1\nb,c,2\nc,b,2\n")
    (tmp_path / "op.csv").write_text("agent,x\nc,5\n999,6\na,1\nb,3\n")
    out = tmp_path / "o"
    argv = ["fj", "equilibrium", "--adjacency", str(tmp_path / "g.csv"), "--opinions",
            str(tmp_path / "op.csv"), "--gamma", "0.3", "--alpha", "0.4"]
    assert main([*argv, "--out", str(out)]) == 0
    assert (f"prunus: note: --opinions {str(tmp_path / 'op.csv')!r} names 1 agent in no edge "
            f"of --adjacency {str(tmp_path / 'g.csv')!r}: added as an isolated agent (hears "
            "no one, so it keeps its innate opinion): '999'\n") in capsys.readouterr().err
    A = np.array([[0, 1, 0], [1, 0, 2], [0, 2, 0]], dtype=float)
    B, power = _fj_equilibrium(A, np.array([[1.0], [3.0], [5.0]]), 0.3, 0.4)
    eq = pd.read_csv(out / "equilibrium.csv", dtype={"agent": str})
    assert eq.agent.tolist() == ["a", "b", "c", "999"]  # the edge list's, then the added
    np.testing.assert_allclose(eq.x.to_numpy(), [*B[:, 0], 6.0], rtol=1e-13)
    np.testing.assert_allclose(pd.read_csv(out / "social_power.csv").power.to_numpy(),
                               [*(power * 3 / 4), 1 / 4], rtol=1e-12)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_agents"] == 4 and metrics["agents_without_ties"] == ["999"]
    # --classic: gamma 1/(1 + 0) = 1 for the isolated agent, the indices those of the
    # network with a zero row and column for it, as a matrix file writes it
    (tmp_path / "m.csv").write_text(",a,b,c,999\na,0,1,0,0\nb,1,0,2,0\nc,0,2,0,0\n"
                                    "999,0,0,0,0\n")
    for adjacency, folder in (("g.csv", "k"), ("m.csv", "km")):
        assert main(["fj", "equilibrium", "--adjacency", str(tmp_path / adjacency),
                     "--opinions", str(tmp_path / "op.csv"), "--classic",
                     "--out", str(tmp_path / folder)]) == 0
    edges, matrix = (json.loads((tmp_path / f / "metrics.json").read_text())
                     for f in ("k", "km"))
    assert edges["classic_fj"] is True and edges["indices"] == matrix["indices"]
    assert ((tmp_path / "k" / "equilibrium.csv").read_bytes()
            == (tmp_path / "km" / "equilibrium.csv").read_bytes())
    assert "agents_without_ties" not in matrix  # none added: as before
    capsys.readouterr()
    # a matrix names every agent: an unknown one is refused, saying how to include it
    (tmp_path / "m.csv").write_text(",a,b,c\na,0,1,0\nb,1,0,2\nc,0,2,0\n")
    assert main(["fj", "equilibrium", "--adjacency", str(tmp_path / "m.csv"), "--opinions",
                 str(tmp_path / "op.csv"), "--out", str(tmp_path / "no")]) == 2
    assert ("does not: ['999']; its rows must be the network's agents (names compared as "
            "text): give an agent without ties a row and a column of zeros in --adjacency, "
            "or use an edge list, to which agents in no edge are added") in (
        capsys.readouterr().err)
    # a self-loop is still refused, now saying how to include an agent without ties
    (tmp_path / "g.csv").write_text("source,target\na,b\nb,a\n999,999\n")
    assert main(["fj", "equilibrium", "--adjacency", str(tmp_path / "g.csv"), "--opinions",
                 str(tmp_path / "op.csv"), "--out", str(tmp_path / "no")]) == 2
    err = capsys.readouterr().err
    assert "is a self-loop ('999' -> '999')" in err and err.endswith(
        "; for an agent without ties, leave it out of --adjacency and give it a row in "
        "--opinions: it is added as an isolated agent\n")


def test_equilibrium_of_a_20000_agent_edge_list_never_builds_the_dense_matrix(tmp_path):
    # the dense matrix alone of 20,000 agents takes 3.2 GB; read sparse and solved by
    # BiCGSTAB the whole run peaked at 0.36 GB resident (README), imports included
    import multiagent.analysis  # noqa: F401  (imported before tracing: not the run's memory)

    pairs = _random_edge_list(tmp_path / "big.csv", 20_000, weighted=True)
    agents = sorted({a for pair in pairs for a in pair})
    (tmp_path / "op.csv").write_text("agent,q\n" + "".join(f"u{a},{1 + a % 7}\n"
                                                           for a in agents[::-1]))
    argv = ["fj", "equilibrium", "--adjacency", str(tmp_path / "big.csv"), "--opinions",
            str(tmp_path / "op.csv"), "--out", str(tmp_path / "o")]
    peak = _traced_peak(argv)
    assert peak < 100e6, f"peak {peak / 1e6:.0f} MB"  # 42 MB traced; dense: 3.2 GB
    eq = pd.read_csv(tmp_path / "o" / "equilibrium.csv")
    assert len(eq) == len(agents) and eq.q.between(1 - 1e-6, 7 + 1e-6).all()
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["solver"]["method"] == "bicgstab" and metrics["n_agents"] == len(agents)


def test_equilibrium_help_lists_the_files_it_writes(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["fj", "equilibrium", "--help"])
    assert exc.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())
    for name in ("equilibrium.csv", "social_power.csv", "metrics.json", "--opinions",
                 "--classic"):
        assert name in shown


@pytest.mark.parametrize("name", ["t.tsv", "t.TAB"])
@ADVERSARY_SHOWN
def test_fit_reads_tab_separated_transcripts(debate, tmp_path, capsys, name):
    # before: a .tsv transcript was read with commas, its whole header one column:
    # "t.tsv needs columns ['agent', 'belief', 'option', 'round'], has ['question\tround
    # \tagent\t...']", though prunus ctmc fit reads .tsv, .tab (any case) with tabs
    from multiagent import read_transcripts

    names = dict(enumerate(["007", "Zoë", "a b", "NA", "x", "y"]))  # read back as text
    data = debate.assign(agent=debate.agent.map(names))
    data.to_csv(tmp_path / "t.csv", index=False)
    data.to_csv(tmp_path / name, sep="\t", index=False)
    for path, folder in ((tmp_path / "t.csv", "c"), (tmp_path / name, "t")):
        assert main(["fj", "fit", str(path), "--quiet", "--out", str(tmp_path / folder)]) == 0
    for file in ("fits.csv", "agents.csv", "trust.csv"):
        assert ((tmp_path / "t" / file).read_bytes() == (tmp_path / "c" / file).read_bytes())
    read = read_transcripts(tmp_path / name)
    assert read.agents == list(names.values()) and read.adversaries == [0]
    np.testing.assert_array_equal(read.beliefs, read_transcripts(tmp_path / "t.csv").beliefs)


#: README's example line of each command, as its --help ends
HELP_EXAMPLES = [
    ("simulate", "prunus fj simulate --graph star --n 6 --adversary hub --gamma 0.2 "
                 "--alpha 0.5 --out results/"),
    ("fit", "prunus fj fit results/trajectories.csv --per-agent --graph star --out fit/"),
    ("equilibrium", "prunus fj equilibrium --adjacency ties.csv --opinions survey.csv "
                    "--gamma 0.2 --alpha 0.5 --out eq/"),
]


@pytest.mark.parametrize(("command", "example"), HELP_EXAMPLES)
def test_help_ends_with_an_example_command(capsys, command, example):
    # before: no command's --help showed how to call it; README's example, on one line
    # (argparse re-wraps the other text) so that it can be copied
    with pytest.raises(SystemExit) as exc:
        main(["fj", command, "--help"])
    assert exc.value.code == 0
    shown = capsys.readouterr().out
    assert shown.endswith(f"\nexample:\n  {example}\n"), shown[-300:]
    assert shown.startswith(f"usage: prunus fj {command} [-h]")


@pytest.mark.parametrize(("command", "example"), HELP_EXAMPLES)
def test_help_example_stays_whole_on_a_narrow_terminal(capsys, monkeypatch, command, example):
    # the layout is core.cli's now (example_help), shared with grn, ctmc and cascade: the
    # example is never wrapped
    monkeypatch.setenv("COLUMNS", "60")
    with pytest.raises(SystemExit):
        main(["fj", command, "--help"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2:] == ["example:", f"  {example}"]


def test_fit_names_missing_beliefs_and_rounds_from_1(debate, tmp_path, capsys):
    # before: a missing answer was refused by count only ("... = 660 lines, one per belief,
    # and it has 655"), and rounds numbered from 1 got "the largest round 11 on line ...:
    # a typo?"
    names = dict(enumerate(["gpt-4o", "claude-3.5", "llama", "mistral", "gemini", "qwen"]))
    data = debate.drop(columns="role").assign(agent=debate.agent.map(names))
    gone = (data.question == 1) & (data["round"] == 3) & (data.agent == "claude-3.5")
    data[~gone].to_csv(tmp_path / "t.csv", index=False)
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--out", str(tmp_path / "f")]) == 2
    assert capsys.readouterr().err.endswith(
        "= 660 lines, one per belief, and it has 655; no belief for question 1, round 3, "
        "agent 'claude-3.5'\n")
    # a question that stops early (a debate that ends once the agents agree) was refused
    # here, "question 0 stops at round 8 (others go on to round 9)": now fitted up to it
    data[data["round"] < 9 + data.question].to_csv(tmp_path / "t.csv", index=False)
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--quiet",
                 "--out", str(tmp_path / "short")]) == 0
    assert json.loads((tmp_path / "short" / "metrics.json").read_text())["last_rounds"] == {
        "0": 8, "1": 9}
    data.assign(round=data["round"] + 1).to_csv(tmp_path / "t.csv", index=False)
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--out", str(tmp_path / "f")]) == 2
    assert capsys.readouterr().err == (
        f"prunus: error: {tmp_path / 't.csv'}: rounds must start at 0 (round 0 holds the "
        "agents' innate beliefs), and the file's rounds start at 1: subtract 1 from the "
        "round column if its first round is the agents' first answers\n")
    assert not (tmp_path / "f").exists()


def test_fit_normalize_repairs_rounded_probabilities(debate, tmp_path, capsys):
    # before: rows rounded to 3 decimals were refused ("question 1, round 2, agent 3: sums
    # to 1.001") with no repair, naming the agent by position though the file names it
    names = dict(enumerate(["gpt-4o", "claude-3.5", "llama", "mistral", "gemini", "qwen"]))
    data = debate.drop(columns="role").assign(agent=debate.agent.map(names),
                                              belief=debate.belief.round(3))
    data.to_csv(tmp_path / "t.csv", index=False)
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--quiet", "--out",
                 str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err
    assert re.match(r"prunus: error: question \d, round \d+, agent '[a-z0-9.-]+': sums to "
                    r"[\d.]+, expected 1: .*\(rounded probabilities\? pass --normalize; "
                    r"percentages\? divide by 100\)\n$", err), err
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--quiet", "--normalize",
                 "--out", str(tmp_path / "f")]) == 0
    err = capsys.readouterr().err
    assert re.search(r"prunus: warning: .*t\.csv: each belief row divided by its sum \(the "
                     r"largest deviation from 1: [\d.e-]+, question \d, round \d+, agent '", err)
    assert json.loads((tmp_path / "f" / "metrics.json").read_text())["normalize"] is True


def _star_csv(path, deaf=()):
    """The debate fixture's star (hub 0, leaves 1..5) as a 0/1 matrix; ``deaf`` hear no one."""
    A = np.zeros((6, 6), int)
    A[0, 1:] = A[1:, 0] = 1
    A[list(deaf)] = 0
    pd.DataFrame(A, index=range(6), columns=range(6)).to_csv(path)
    return path


_ISOLATED_5 = (
    "--adjacency: agent '5' hears no one (no edge to it, or a row of zeros): as simulate has "
    "it, it listens only to itself and, in the model, keeps its innate belief whatever its "
    "gamma and alpha, so neither is identified: its transitions are left out of the fits "
    "(with --per-agent its gamma and alpha stay at 0.2 and 0.5, with gamma_se and alpha_se "
    "inf in agents.csv, out of the means and medians over agents) and trust.csv gives its "
    "trust in itself as 1")


@pytest.mark.parametrize(("argv", "category", "message"), [
    ([], UserWarning,
     "agents [0] are marked adversary in the role column; one gamma and alpha shared by "
     "all agents also fits them, which biases both. Use --per-agent to fit every agent its "
     "own."),
    (["--per-agent", "--train-rounds", "10"], UserWarning,
     "--train-rounds 10 is the transcripts' last round: no round is held out, so the scores "
     "are in-sample, as without the option; give at most 9 to score later rounds"),
    (["--per-agent", "--adjacency", "star.csv", "--trust", "given"], UserWarning,
     "--trust given: the weights of --adjacency '{star}' are all equal, so the given trust "
     "is uniform over each agent's neighbours, as --trust uniform (an edge list needs a "
     "weight column source,target,weight to give other trust)"),
    (["--per-agent", "--adjacency", "deaf.csv"], "isolated", _ISOLATED_5),
], ids=["adversary", "in-sample", "equal-weights", "isolated"])
def test_fit_warnings_follow_the_warning_filters(debate, tmp_path, capsys, monkeypatch,
                                                 argv, category, message):
    # fj fit printed these four with print(): `python -W error` still ran to exit code 0
    # and `-W ignore` still printed them, where the other commands' warnings follow the
    # filters. Now warnings: the same line without filters, none when ignored, and made
    # errors they end the run as errors do (one line, exit code 2, no files written)
    import warnings

    from multiagent.fit import IsolatedAgentWarning

    category = IsolatedAgentWarning if category == "isolated" else category
    monkeypatch.delenv("PRUNUS_DEBUG", raising=False)
    debate.to_csv(tmp_path / "t.csv", index=False)
    star = _star_csv(tmp_path / "star.csv")
    _star_csv(tmp_path / "deaf.csv", deaf=[5])
    argv = [str(tmp_path / a) if a.endswith(".csv") else a for a in argv]
    message = message.format(star=star)

    def fit(action: str, out: str) -> int:
        with warnings.catch_warnings():
            warnings.simplefilter(action, category)
            # the noise-free star's fits may stop at --max-steps: said by its own test
            warnings.filterwarnings("ignore", ".* fits? did not converge", UserWarning)
            return main(["fj", "fit", str(tmp_path / "t.csv"), *argv, "--quiet", "--out",
                         str(tmp_path / out)])

    assert fit("default", "shown") == 0
    assert capsys.readouterr().err == f"prunus: warning: {message}\n"  # as it was printed
    assert fit("ignore", "ignored") == 0
    assert capsys.readouterr().err == ""
    assert fit("error", "refused") == 2
    assert capsys.readouterr().err == f"prunus: error: {message}\n"
    assert not (tmp_path / "refused").exists()


def test_equilibrium_reads_opinions_and_edge_lists_saved_with_a_row_index(tmp_path, capsys):
    # before: --opinions saved with survey.to_csv() (header ",agent,t1", the row index
    # first) was refused: "column 1 of the header has no name (a trailing comma?)"; and an
    # edge list saved so, read as one now, must still take agents in no edge from --opinions
    (tmp_path / "g.csv").write_text("source,target,weight\na,b,1\nb,a,1\nb,c,2\nc,b,2\n")
    survey = pd.DataFrame({"agent": ["c", "999", "a", "b"], "x": [5, 6, 1, 3]})
    survey.to_csv(tmp_path / "plain.csv", index=False)
    survey.to_csv(tmp_path / "indexed.csv")
    assert (tmp_path / "indexed.csv").read_text().startswith(",agent,x\n0,c,5\n")
    pd.read_csv(tmp_path / "g.csv").to_csv(tmp_path / "gi.csv")  # ",source,target,weight"
    outs = []
    for graph, opinions in (("g", "plain"), ("g", "indexed"), ("gi", "indexed")):
        out = tmp_path / f"{graph}-{opinions}"
        assert main(["fj", "equilibrium", "--adjacency", str(tmp_path / f"{graph}.csv"),
                     "--opinions", str(tmp_path / f"{opinions}.csv"), "--gamma", "0.3",
                     "--out", str(out)]) == 0
        outs.append([(out / name).read_bytes() for name in ("equilibrium.csv",
                                                            "social_power.csv")])
    assert outs[0] == outs[1] == outs[2]
    assert b"\n999,6.0\n" in outs[0][0]  # added as an isolated agent
    assert capsys.readouterr().err.count("added as an isolated agent") == 3
    # a first column without a name that is not a row index: name the columns
    (tmp_path / "op.csv").write_text(",x\na,1\nb,2\nc,3\n")
    assert main(["fj", "equilibrium", "--adjacency", str(tmp_path / "g.csv"), "--opinions",
                 str(tmp_path / "op.csv"), "--out", str(tmp_path / "o")]) == 2
    assert ("has no column 'agent' (its columns: ['', 'x']; its first column, without a "
            "name, is read as a row index, as DataFrame.to_csv() writes it: name it agent "
            "if it holds the agents)") in capsys.readouterr().err


NOT_CONVERGED_SHOWN = pytest.mark.filterwarnings(
    "default:.* fits? did not converge in --max-steps:UserWarning")


def _long_rows(X, question, names, roles=None):
    """One question's ``(T + 1, n, K)`` beliefs as the rows simulate writes."""
    T1, n, K = X.shape
    frame = pd.DataFrame({"question": question, "round": np.repeat(np.arange(T1), n * K),
                          "agent": np.tile(np.repeat(names, K), T1),
                          "option": np.tile(np.arange(K), T1 * n), "belief": X.reshape(-1)})
    return frame if roles is None else frame.assign(role=np.tile(np.repeat(roles, K), T1))


def _rotating_adversary(path):
    """Three noise-free questions among a..d, agent q the adversary (gamma 0.9) in q."""
    from multiagent import simulate_transcript

    frames = []
    for q in range(3):
        gamma = np.array([0.2, 0.3, 0.4, 0.5])
        gamma[q] = 0.9
        X = simulate_transcript(4, 6, 3, gamma=gamma, alpha=0.4, noise=0.0, seed=q)
        frames.append(_long_rows(X, q, ["a", "b", "c", "d"],
                                 np.where(np.arange(4) == q, "adversary", "benign")))
    pd.concat(frames).to_csv(path, index=False)
    return path


def test_per_agent_means_take_each_questions_adversaries_from_its_own_rows(tmp_path, capsys):
    # before: a role column that makes another agent the adversary in each question (to
    # avoid position bias) was read as one list, a, b and c: question 0's gamma_benign was
    # d's alone (0.5, not the 0.4 of b, c, d) and the adversaries' mean pooled a, b and c
    # in every question ("adversaries ['a', 'b', 'c']: mean gamma 0.500", not 0.900)
    data = _rotating_adversary(tmp_path / "t.csv")
    out = tmp_path / "f"
    assert main(["fj", "fit", str(data), "--per-agent", "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert ("agents not marked adversary: mean gamma 0.367, mean alpha 0.400; adversaries "
            "['a', 'b', 'c'] (each in the questions that mark it): mean gamma 0.900, mean "
            "alpha 0.400") in printed
    fits = pd.read_csv(out / "fits.csv")
    assert fits.gamma_benign.to_numpy() == pytest.approx([0.4, 1.1 / 3, 1 / 3], abs=1e-6)
    assert fits.alpha_benign.to_numpy() == pytest.approx(0.4, abs=1e-6)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["adversaries_in_data"] == ["a", "b", "c"]  # the union, as before
    assert metrics["adversaries_by_question"] == {"0": ["a"], "1": ["b"], "2": ["c"]}


def test_per_agent_means_give_questions_without_role_values_the_others_marks(tmp_path,
                                                                             capsys):
    # before: the role written in question 0's rows only (blank in 1 and 2, as in a file
    # edited by hand) marked adversary a in question 0 alone: gamma_benign averaged a with
    # the benign agents in 1 and 2, 0.3, 0.45, 0.45 (0.3 in each before per-question roles)
    from multiagent import simulate_transcript

    frames = []
    for q in range(3):
        X = simulate_transcript(4, 6, 3, gamma=[0.9, 0.2, 0.3, 0.4], alpha=0.4, noise=0.0,
                                seed=q)
        roles = ["adversary", "benign", "benign", "benign"] if q == 0 else [""] * 4
        frames.append(_long_rows(X, q, ["a", "b", "c", "d"], roles))
    pd.concat(frames).to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "f"
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--per-agent", "--quiet", "--out",
                 str(out)]) == 0
    assert ("agents not marked adversary: mean gamma 0.300, mean alpha 0.400; adversaries "
            "['a']: mean gamma 0.900") in capsys.readouterr().out
    fits = pd.read_csv(out / "fits.csv")
    assert fits.gamma_benign.to_numpy() == pytest.approx([0.3, 0.3, 0.3], abs=1e-6)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["adversaries_in_data"] == ["a"] and "adversaries_by_question" not in metrics


@NOT_CONVERGED_SHOWN
def test_fit_writes_and_warns_which_questions_did_not_converge(debate, tmp_path, capsys):
    # before: fits.csv had no converged column (fit.json held the first question's only),
    # nothing said that a fit had stopped at max_steps, and no --max-steps option gave the
    # larger max_steps that fit_fj's docstring advises
    from multiagent.fit import FJFit

    debate.to_csv(tmp_path / "t.csv", index=False)
    argv = ["fj", "fit", str(tmp_path / "t.csv"), "--per-agent", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "default")]) == 0
    assert capsys.readouterr().err == ""
    fits = pd.read_csv(tmp_path / "default" / "fits.csv")
    assert fits.columns[-1] == "converged" and fits.converged.tolist() == [True, True]
    # the default is fit_fj's: the same files, and the checkpoint's signature, as without
    from multiagent.cli import _default_max_steps

    assert _default_max_steps() == 50
    assert main([*argv, "--max-steps", "50", "--out", str(tmp_path / "fifty")]) == 0
    for name in ("fits.csv", "agents.csv", "trust.csv", "fit.json"):
        assert ((tmp_path / "fifty" / name).read_bytes()
                == (tmp_path / "default" / name).read_bytes()), name
    assert "max_steps" not in json.loads((tmp_path / "default" / "metrics.json").read_text())
    assert json.loads((tmp_path / "fifty" / "metrics.json").read_text())["max_steps"] == 50
    # one step: the warm start is not checked for convergence, the warning names both
    assert main([*argv, "--max-steps", "1", "--out", str(tmp_path / "one")]) == 0
    assert capsys.readouterr().err == (
        "prunus: warning: 2 of 2 fits did not converge in --max-steps 1 L-BFGS steps "
        "(questions [0, 1]; converged is False in fits.csv): their estimates may still "
        "move; refit with a larger --max-steps (e.g. 10)\n")
    assert pd.read_csv(tmp_path / "one" / "fits.csv").converged.tolist() == [False, False]
    assert FJFit.load(tmp_path / "one" / "fit.json").converged is False
    with pytest.raises(SystemExit):
        main([*argv, "--max-steps", "0", "--out", str(tmp_path / "zero")])
    assert "argument --max-steps: must be >= 1, got 0" in capsys.readouterr().err


def _stopping_debates(path, last_rounds=(5, 3, 5)):
    """Noise-free questions q0, q1, ... of agents a..d that stop at ``last_rounds``."""
    from multiagent import simulate_transcript

    gamma = [0.2, 0.3, 0.4, 0.6]
    frames = [_long_rows(simulate_transcript(4, t, 3, gamma=gamma, alpha=0.4, noise=0.0,
                                             seed=q), f"q{q}", ["a", "b", "c", "d"])
              for q, t in enumerate(last_rounds)]
    table = pd.concat(frames, ignore_index=True)
    table.to_csv(path, index=False)
    return table


@IN_SAMPLE_SHOWN
def test_fit_reads_questions_that_stop_at_different_rounds(tmp_path, capsys):
    # before: refused, "question 'q1' stops at round 3 (others go on to round 5)", though
    # debates often stop once the agents agree (fit_transcripts of one table per question
    # fitted them, its rows labelled 0..2 unless each table kept its question column)
    table = _stopping_debates(tmp_path / "t.csv")
    out = tmp_path / "f"
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--per-agent", "--quiet",
                 "--out", str(out)]) == 0
    fits, agents = pd.read_csv(out / "fits.csv"), pd.read_csv(out / "agents.csv")
    assert fits.question.tolist() == ["q0", "q1", "q2"]
    assert agents.question.tolist() == [q for q in ("q0", "q1", "q2") for _ in range(4)]
    assert agents.gamma.to_numpy() == pytest.approx([0.2, 0.3, 0.4, 0.6] * 3, abs=1e-6)
    trust = pd.read_csv(out / "trust.csv")
    assert trust.question.unique().tolist() == ["q0", "q1", "q2"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["last_rounds"] == {"q0": 5, "q1": 3, "q2": 5}
    # q1's fit is that of its own rows, read alone
    table[table.question == "q1"].to_csv(tmp_path / "q1.csv", index=False)
    assert main(["fj", "fit", str(tmp_path / "q1.csv"), "--per-agent", "--quiet",
                 "--out", str(tmp_path / "q1")]) == 0
    alone = pd.read_csv(tmp_path / "q1" / "agents.csv")
    pd.testing.assert_frame_equal(agents[agents.question == "q1"].reset_index(drop=True),
                                  alone, check_exact=True)
    # --train-rounds must leave a round of the shortest question to score
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--train-rounds", "4", "--quiet",
                 "--out", str(tmp_path / "r")]) == 2
    assert ("--train-rounds must be at most 3 (question 'q1' holds rounds 0..3), got 4"
            in capsys.readouterr().err)
    assert main(["fj", "fit", str(tmp_path / "t.csv"), "--train-rounds", "3", "--quiet",
                 "--out", str(tmp_path / "r")]) == 0
    assert ("prunus: warning: --train-rounds 3 is the transcripts' last round for question "
            "'q1': no round of its is held out, so its scores are in-sample"
            in capsys.readouterr().err)
    assert pd.read_csv(tmp_path / "r" / "fits.csv").scored_from.tolist() == [3, 0, 3]
    # a question of round 0 alone: named (the fit said "transcript needs at least two
    # rounds", not which)
    _stopping_debates(tmp_path / "t0.csv", (2, 0, 2))
    assert main(["fj", "fit", str(tmp_path / "t0.csv"), "--quiet",
                 "--out", str(tmp_path / "z")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("prunus: error: question 'q1' of ") and err.endswith(
        "holds round 0 only (the innate beliefs): a fit needs at least rounds 0 and 1; "
        "leave it out\n")
    # a belief missing inside a question is still named, by its own rounds
    table.drop(index=table.index[(table.question == "q1") & (table["round"] == 2)
                                 & (table.agent == "b")]).to_csv(tmp_path / "gap.csv",
                                                                 index=False)
    assert main(["fj", "fit", str(tmp_path / "gap.csv"), "--quiet",
                 "--out", str(tmp_path / "g")]) == 2
    err = capsys.readouterr().err
    assert ("its 3 questions, each up to its last round, x 4 agents x 3 options call for "
            "192 lines, one per belief, and it has 189; no belief for question 'q1', "
            "round 2, agent 'b'\n") in err and "stops at" not in err


def test_fit_of_scalar_scores_writes_no_kl(debate, tmp_path):
    # before: fits.csv gave a kl metric for K = 1 (scalar scores, no distributions), which
    # --loss kl refuses
    scores = debate[debate.option == 0].drop(columns="role")
    scores.assign(belief=3 * scores.belief + 1).to_csv(tmp_path / "k1.csv", index=False)
    assert main(["fj", "fit", str(tmp_path / "k1.csv"), "--per-agent", "--quiet",
                 "--out", str(tmp_path / "f")]) == 0
    fits = pd.read_csv(tmp_path / "f" / "fits.csv")
    assert "kl" in fits.columns and fits.kl.isna().all()  # the columns stay as they were
    assert fits.rmse.notna().all()
    metrics = json.loads((tmp_path / "f" / "metrics.json").read_text())
    assert metrics["mean"]["kl"] is None


def test_fit_warns_of_role_values_that_mark_no_one(debate, tmp_path, capsys):
    # before: role 'attacker' (or 'adversarial') marked no agent, without a word
    import warnings

    data = debate.assign(role=debate.role.map({"adversary": "Attacker", "benign": "benign"}))
    data.to_csv(tmp_path / "t.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        assert main(["fj", "fit", str(tmp_path / "t.csv"), "--per-agent", "--quiet",
                     "--out", str(tmp_path / "f")]) == 0
    assert capsys.readouterr().err == (
        f"prunus: warning: {tmp_path / 't.csv'}: the role column holds 'Attacker': only "
        "'adversary' (any case) marks an agent adversary, so these agents are read as not "
        "marked (write 'adversary' for an adversary, 'benign' for the others)\n")
    assert json.loads((tmp_path / "f" / "metrics.json").read_text())[
        "adversaries_in_data"] == []
    # it follows the filters: -W error refuses the run
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["fj", "fit", str(tmp_path / "t.csv"), "--per-agent", "--quiet",
                     "--out", str(tmp_path / "e")]) == 2
    assert not (tmp_path / "e").exists()


@pytest.mark.parametrize("ids", [[101, 205, 333, 412, 518, 620, 777, 888], list(range(1, 9))])
@pytest.mark.parametrize("options", [["q"], ["A", "B"]])
def test_fit_reads_respondent_ids_beside_labelled_options(tmp_path, capsys, ids, options):
    # before: a survey panel with respondent IDs (101..888, or 1..8) and an option column
    # of labels ("q", or "A"/"B") was refused: "its indices call for 1 question x 5 rounds
    # x 889 agents x 1 option = 4,445 lines ... (read as the names of 8 agents [...], as
    # respondent IDs are, it lacks beliefs too)" although, read as names, all 40 of 40
    # lines were there; options numbered 0..K-1 were read. Now the same panel either way
    from multiagent import read_transcripts, simulate_transcript

    K = len(options)
    X = simulate_transcript(8, 4, 2, gamma=0.3, alpha=0.4, noise=0.0, seed=1)[..., :K]
    table = pd.DataFrame({"round": np.repeat(np.arange(5), 8 * K),
                          "agent": np.tile(np.repeat(ids, K), 5),
                          "option": np.tile(np.arange(K), 5 * 8),
                          "belief": X.reshape(-1)}).sample(frac=1, random_state=1)
    table.to_csv(tmp_path / "numbered.csv", index=False)
    table.assign(option=table.option.map(dict(enumerate(options)))).to_csv(
        tmp_path / "labelled.csv", index=False)
    read = read_transcripts(tmp_path / "labelled.csv")
    numbered = read_transcripts(tmp_path / "numbered.csv")
    assert read.options == options and sorted(read.agents, key=int) == [str(i) for i in ids]
    assert read.agents == numbered.agents
    np.testing.assert_array_equal(read.beliefs, numbered.beliefs)
    for name in ("labelled", "numbered"):
        assert main(["fj", "fit", str(tmp_path / f"{name}.csv"), "--trust", "uniform",
                     "--quiet", "--out", str(tmp_path / name)]) == 0, capsys.readouterr().err
    for name in ("agents.csv", "fits.csv", "trust.csv"):
        assert (tmp_path / "labelled" / name).read_bytes() == \
            (tmp_path / "numbered" / name).read_bytes(), name


@pytest.mark.parametrize(("keyword", "meaning"), [
    ("hub", "the agent heard by the most agents"),
    ("leaf", "the agent heard by the fewest"),
    ("none", "no adversary"),
])
def test_simulate_refuses_an_adversary_keyword_that_is_also_an_agents_name(
        tmp_path, capsys, keyword, meaning):
    # before: with agents named "hub" and "leaf", --adversary hub made the agent "leaf" the
    # adversary (the keyword: most heard), and --adversary none placed none beside an agent
    # "none", without a word
    other = "leaf" if keyword != "leaf" else "hub"
    (tmp_path / "kw.csv").write_text(f",{keyword},{other},x,y\n{keyword},0,1,0,0\n"
                                     f"{other},1,0,1,1\nx,0,1,0,1\ny,0,1,1,0\n")
    out = tmp_path / "o"
    assert main(["fj", "simulate", "--adjacency", str(tmp_path / "kw.csv"), "--adversary",
                 keyword, "--questions", "1", "--rounds", "2", "--options", "2",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert (f"--adversary {keyword}: --adjacency {str(tmp_path / 'kw.csv')!r} has an agent "
            f"named {keyword!r}, and {keyword} is also the keyword for {meaning}; rename "
            "that agent in the file to say which is meant") in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
    # another agent by its name, and the keywords on a file without such names, as before
    assert main(["fj", "simulate", "--adjacency", str(tmp_path / "kw.csv"), "--adversary",
                 "x", "--questions", "1", "--rounds", "2", "--options", "2", "--quiet",
                 "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["adversary_nodes"] == ["x"]
    # the default (not typed) stays the keyword hub: such a file ran before and still runs
    if keyword == "hub":
        assert main(["fj", "simulate", "--adjacency", str(tmp_path / "kw.csv"),
                     "--questions", "1", "--rounds", "2", "--options", "2", "--quiet",
                     "--out", str(tmp_path / "d")]) == 0
        assert json.loads((tmp_path / "d" / "metrics.json").read_text())[
            "adversary_nodes"] == ["leaf"]  # heard by the most agents


def test_simulate_names_an_agent_whose_quotes_r_escaped_with_a_backslash(tmp_path):
    # R's write.table(m, sep = ",") escapes a quote as \": the agent Bob "B" was written
    # to the outputs as 'Bob \\B\\""'
    (tmp_path / "r.csv").write_text('"Zoë","Bob \\"B\\"","Cy"\n"Zoë",0,1,1\n'
                                    '"Bob \\"B\\"",1,0,1\n"Cy",1,1,0\n', encoding="utf-8")
    out = tmp_path / "o"
    assert main(["fj", "simulate", "--adjacency", str(tmp_path / "r.csv"), "--adversary",
                 'Bob "B"', "--questions", "1", "--rounds", "1", "--options", "2",
                 "--quiet", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["agents"] == ["Zoë", 'Bob "B"', "Cy"]
    assert metrics["adversary_nodes"] == ['Bob "B"']
    frame = pd.read_csv(out / "trajectories.csv", keep_default_na=False)
    assert frame["agent"].unique().tolist() == ["Zoë", 'Bob "B"', "Cy"]


@pytest.mark.parametrize("sep", [";", "\t"])
def test_equilibrium_says_when_opinions_are_separated_by_semicolons_with_decimal_commas(
        tmp_path, capsys, sep):
    # European Excel writes "agent;topic" over "Zoë;0,5": the decimal commas split its data
    # lines into two fields, and the error was pandas' bare "Error tokenizing data. C
    # error: Expected 1 fields in line 2, saw 2", where --adjacency says what is wrong
    (tmp_path / "op.csv").write_text(f"agent{sep}topic\nZoë{sep}0,5\n007{sep}1,5\n",
                                     encoding="utf-8")
    (tmp_path / "g.csv").write_text("source,target\nZoë,007\n007,Zoë\n", encoding="utf-8")
    assert main(["fj", "equilibrium", "--adjacency", str(tmp_path / "g.csv"), "--opinions",
                 str(tmp_path / "op.csv"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert (f"cannot read --opinions {str(tmp_path / 'op.csv')!r} as CSV (Error tokenizing "
            "data. C error: Expected 1 fields in line 2, saw 2) (fields separated by "
            f"{sep!r}? The columns must be separated by commas); expected a CSV with a "
            "column agent") in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
