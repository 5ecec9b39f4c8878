"""``prunus cascade size`` end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.cli import main


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def test_size_writes_distribution_and_plot(tmp_path):
    graph = _write(tmp_path / "g.edgelist", ["a b 0.5", "b c 0.5", "b d 0.3"])
    out = tmp_path / "out"
    assert main(["cascade", "size", str(graph), "--seed", "a", "--out", str(out)]) == 0
    table = pd.read_csv(out / "distribution.csv")
    assert list(table.columns) == ["size", "probability"]
    assert table["size"].tolist() == [0, 1, 2, 3, 4]
    # a -> b -> {c, d}: closed form
    expect = [0, 0.5, 0.5 * 0.5 * 0.7, 0.5 * (0.5 * 0.3 + 0.5 * 0.7), 0.5 * 0.5 * 0.3]
    assert np.allclose(table["probability"], expect, atol=1e-15)
    assert (out / "distribution.png").stat().st_size > 0
    assert json.loads((out / "summary.json").read_text())["method"] == "tree"


def test_size_methods_on_a_cycle(tmp_path):
    graph = _write(tmp_path / "c.edgelist", ["# a triangle", "1 2 0.5", "2 3 0.5", "3 1 0.5"])
    # brute force over the 8 seed sets and 8 edge outcomes of the directed triangle
    exact = np.array([0.512, 0.192, 0.144, 0.152])
    for method in ("tda", "mc", "auto"):
        out = tmp_path / method
        args = ["cascade", "size", str(graph), "--seed-prob", "0.2", "--method", method]
        assert main(args + ["--runs", "20000", "--out", str(out)]) == 0
        probs = pd.read_csv(out / "distribution.csv")["probability"].to_numpy()
        assert abs(probs.sum() - 1) < 1e-12
        summary = json.loads((out / "summary.json").read_text())
        if method == "mc":  # within 3x the expected sampling error it reports
            assert summary["runs"] == 20000
            assert 0.5 * np.abs(probs - exact).sum() < 3 * summary["expected_tv_error"]
        else:  # TDA's exact head (sizes 0, 1, 2) makes it exact on a triangle
            assert summary["method"] == "tda"
            assert np.abs(probs - exact).max() < 1e-12


@pytest.mark.parametrize(
    "lines,extra,message",
    [
        (
            ["a b 0.5", "b a 0.5", "b c 0.5", "c a 0.5"],
            ["--seed", "a", "--method", "tree"],
            "cycle",
        ),
        (["a b 0.5"], ["--seed", "q"], "seed 'q' is not a node"),
        (["a b 1.5"], ["--seed", "a"], "edge ('a' -> 'b')"),
        (["a a 0.5"], ["--seed", "a"], "self-loop on node 'a'"),
        (["a b nan"], ["--seed", "a"], "NaN"),
        (["a b"], ["--seed", "a"], "expected 'u v p'"),
        ([""], ["--seed", "a"], "empty"),
        (["a b 0.5"], ["--seed-prob", "2"], "--seed-prob"),
    ],
)
def test_size_errors_are_one_line(tmp_path, capsys, lines, extra, message):
    graph = _write(tmp_path / "bad.edgelist", lines)
    code = main(["cascade", "size", str(graph), *extra, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "o" / "distribution.csv").exists()


def test_repeated_seed_options_add_up(tmp_path):
    graph = _write(tmp_path / "g.edgelist", ["a b 0.5", "b c 0.5", "a d 0.5"])
    means = {}
    for name, seeds in (("list", ["--seed", "a", "d"]), ("repeat", ["--seed", "a", "--seed", "d"]),
                        ("last", ["--seed", "d"])):
        assert main(["cascade", "size", str(graph), *seeds, "--out", str(tmp_path / name)]) == 0
        means[name] = json.loads((tmp_path / name / "summary.json").read_text())["mean_size"]
    # before, a repeated --seed kept only the last node: the answer for seed d alone
    assert means["repeat"] == means["list"] == pytest.approx(2 + 0.5 + 0.25)
    assert means["last"] == 1.0


def test_monte_carlo_settings_without_monte_carlo_are_reported(tmp_path, capsys):
    graph = _write(tmp_path / "g.edgelist", ["a b 0.5"])
    assert main(["cascade", "size", str(graph), "--seed", "a", "--runs", "10",
                 "--out", str(tmp_path / "o")]) == 0
    assert "ignoring --runs" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["cascade", "size", str(graph), "--seed", "a", "--method", "mc", "--runs", "0",
              "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "argument --runs: must be >= 1" in capsys.readouterr().err


def test_unreadable_edge_list_is_named(tmp_path, capsys):
    graph = tmp_path / "g.edgelist"
    graph.write_bytes(bytes(range(256)))
    assert main(["cascade", "size", str(graph), "--seed", "a", "--out", str(tmp_path / "o")]) == 2
    assert f"{graph} is not a text edge list" in capsys.readouterr().err


def test_size_writes_all_files_or_none(tmp_path, capsys):
    graph = _write(tmp_path / "g.edgelist", ["a b 0.5"])
    out = tmp_path / "o"
    (out / "distribution.png").mkdir(parents=True)
    assert main(["cascade", "size", str(graph), "--seed", "a", "--out", str(out)]) == 2
    assert "in the way" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["distribution.png"]
