"""The ``prunus ctmc fit`` command."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from biomodels.ctmc import CTMC, random_sparse_theta
from biomodels.ctmc.crossval import _heldout_theta
from core.cli import main


def _cohort(tmp_path):
    names = ["TP53", "IDH1", "EGFR", "PTEN", "CDK4"]
    x = CTMC(random_sparse_theta(5, seed=0), names).sample(200, seed=1).X
    frame = pd.DataFrame(x, columns=names)
    frame.insert(0, "sample", [f"t{i}" for i in range(len(x))])
    path = tmp_path / "cohort.csv"
    frame.to_csv(path, index=False)
    return path, names


def test_cli_fit_writes_theta_metrics_and_heatmap(tmp_path, capsys):
    path, names = _cohort(tmp_path)
    out = tmp_path / "out"
    code = main(
        [
            "ctmc",
            "fit",
            str(path),
            "--l1",
            "0.005",
            "--method",
            "exact",
            "--seed",
            "3",
            "--folds",
            "3",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    theta = pd.read_csv(out / "theta.csv", index_col=0)
    assert list(theta.index) == names and list(theta.columns) == names
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["heldout_loglik_per_tumour"] < 0 and metrics["l1"] == 0.005
    assert len(metrics["heldout_loglik_folds"]) == 3
    assert (out / "theta.png").stat().st_size > 1000
    assert np.isfinite(theta.to_numpy()).all()
    # theta.csv is the saved model's theta, rows = affected event (model.theta[i, j], j -> i)
    model = CTMC.load(out / "model.json")
    assert theta.index.name == "affected\\influencing"
    assert np.allclose(theta.to_numpy(), model.theta, rtol=0, atol=1e-12)
    assert metrics["heldout_loglik_per_tumour"] > metrics["independence_heldout_loglik_per_tumour"]
    assert "held-out log-likelihood" in capsys.readouterr().out
    # the versions and torch threads, in both files (neither recorded them)
    import torch

    saved = json.loads((out / "model.json").read_text())["environment"]
    assert metrics["environment"] == saved and saved["torch"] == torch.__version__


def test_cli_bad_input_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"TP53": [0, 1, 3], "IDH1": [1, 0, 0]}).to_csv(bad, index=False)
    assert main(["ctmc", "fit", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "'TP53'" in capsys.readouterr().err
    assert not (tmp_path / "o" / "theta.csv").exists()
    with pytest.raises(SystemExit) as err:
        main(["ctmc", "fit", str(bad), "--method", "fast", "--out", str(tmp_path / "o")])
    # exit code 2 alone also came from "unrecognized arguments" had --method not existed
    assert err.value.code == 2
    assert ("argument --method: invalid choice: 'fast' (choose from 'auto', 'exact', 'mcmc')"
            in capsys.readouterr().err)


def test_cli_chooses_l1_by_cross_validation(tmp_path):
    path, names = _cohort(tmp_path)
    out = tmp_path / "cv"
    assert main(["ctmc", "fit", str(path), "--folds", "2", "--seed", "4", "--quiet",
                 "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    grid = metrics["l1_cv_scores"]
    assert len(grid) == 5 and str(metrics["l1"]) in grid
    # the cross-validation's folds are drawn with --seed (it was left at 0 unnoticed)
    x = pd.read_csv(path, index_col=0).to_numpy()
    cv = CTMC().fit(x, event_names=names, folds=2, seed=4, progress=False).cv_scores
    assert grid == pytest.approx({str(k): float(np.mean(v)) for k, v in cv.items()}, abs=1e-9)
    assert metrics["heldout_loglik_per_tumour"] == pytest.approx(max(grid.values()))
    assert metrics["l1_chosen_on_these_folds"] is True  # the figure is the choice's CV score
    assert not (out / "cv_checkpoint.json").exists()  # removed once the outputs are written


def test_cli_leaves_an_unfinished_cross_validation_alone(tmp_path, capsys, monkeypatch):
    import biomodels.ctmc.crossval as cv

    path, _ = _cohort(tmp_path)
    out = tmp_path / "o"
    real, calls = cv._fold_score, []

    def dies_on_the_second(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(cv, "_fold_score", dies_on_the_second)
    # Ctrl-C: one line and exit code 130, the finished folds kept in the checkpoint
    assert main(["ctmc", "fit", str(path), "--folds", "2", "--out", str(out)]) == 130
    assert "prunus: interrupted; " in capsys.readouterr().err
    monkeypatch.setattr(cv, "_fold_score", real)
    checkpoint = out / "cv_checkpoint.json"
    assert checkpoint.exists()
    capsys.readouterr()
    # other settings: a one-line error that says how to go on, the checkpoint kept
    assert main(["ctmc", "fit", str(path), "--folds", "3", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    # the run may be still going (another command into the same --out): not "interrupted"
    assert "another run (interrupted, or still running) with other settings" in err
    assert "differs in: folds" in err
    # nor with --l1, whose own cross-validation checkpoints to the same file (it ran and
    # left the file alone when only the L1 choice was checkpointed)
    assert main(["ctmc", "fit", str(path), "--l1", "0.01", "--folds", "2", "--out", str(out)]) == 2
    assert "differs in: grid, l1)" in capsys.readouterr().err
    # another model: the fit option is named (it said "differs in: fit"), and nothing said
    # "resuming the cross-validation" before refusing to
    assert main(["ctmc", "fit", str(path), "--model", "omhn", "--folds", "2",
                 "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "differs in: fit.model)" in captured.err and "resum" not in captured.out
    assert checkpoint.exists()
    # the same command resumes, and says so
    assert main(["ctmc", "fit", str(path), "--folds", "2", "--quiet", "--out", str(out)]) == 0
    # a note on stderr: stdout, the results, is that of an uninterrupted run
    assert (f"prunus: note: resumed the cross-validation from {checkpoint}"
            in capsys.readouterr().err)


@pytest.mark.parametrize("weights", [False, True])
def test_cli_fixed_l1_cross_validation_resumes_from_its_checkpoint(tmp_path, capsys,
                                                                   monkeypatch, weights):
    # with --l1 the held-out score's fold fits (and the independence fits) were not
    # checkpointed, though --help, the README and the Ctrl-C line said a rerun resumes: a
    # run killed after some folds saved nothing and the rerun refitted every fold (13.9 s
    # of 14.8 s); --weights needs --l1, so a deduplicated cohort was never checkpointed
    import biomodels.ctmc.fit as fit_module

    if weights:
        path, _, _, _ = _counted(tmp_path, n_tumours=90)
        head = ["ctmc", "fit", str(path), "--weights", "count"]
    else:
        path, _ = _cohort(tmp_path)
        head = ["ctmc", "fit", str(path)]
    tail = ["--folds", "3", "--seed", "2", "--quiet"]
    argv = [*head, "--l1", "0.01", *tail]
    assert main([*argv, "--out", str(tmp_path / "ref")]) == 0  # uninterrupted
    real, calls = fit_module.fit_theta, []

    def counted(x, *args, **kwargs):  # the fold fits: the final fit is CTMC.fit's own
        calls.append(len(x))
        if len(calls) == stop_at:
            raise KeyboardInterrupt
        return real(x, *args, **kwargs)

    monkeypatch.setattr(fit_module, "fit_theta", counted)
    # fold fit, then independence fit, per fold: Ctrl-C in the second fold's independence fit
    out, stop_at = tmp_path / "o", 4
    assert main([*argv, "--out", str(out)]) == 130
    checkpoint = out / "cv_checkpoint.json"
    saved = json.loads(checkpoint.read_text())
    assert saved["format"] == "prunus.ctmc.cv-checkpoint/1"
    assert sorted(saved["scores"]) == ["0.01/0", "0.01/1", "independence/0"]
    assert saved["signature"]["l1"] == 0.01 and "grid" not in saved["signature"]
    # other arguments: the checkpoint is not reused (nor overwritten), before any fit
    capsys.readouterr()
    calls.clear()
    assert main([*head, "--l1", "0.02", *tail, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    # the run may be still going (another command into the same --out): not "interrupted"
    assert "another run (interrupted, or still running) with other settings" in err
    assert "differs in: l1)" in err
    if not weights:  # nor by a run that chooses the L1 strength
        assert main([*head, *tail, "--out", str(out)]) == 2
        assert "differs in: grid, l1)" in capsys.readouterr().err
    assert json.loads(checkpoint.read_text()) == saved and calls == []
    # the same command resumes: only the independence fit of fold 1 and fold 2's two fits
    stop_at = 0
    assert main([*argv, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "prunus: note: resuming the cross-validation" in captured.err
    assert "resum" not in captured.out
    assert len(calls) == 3
    for name in ["theta.csv", "model.json", "metrics.json", "theta.png"]:
        # as the uninterrupted run's, byte for byte
        assert (out / name).read_bytes() == (tmp_path / "ref" / name).read_bytes(), name
    assert not checkpoint.exists()  # removed once the outputs are written


@pytest.mark.parametrize(("text", "says"), [
    ('{"format": "prunus.ctmc.cv-checkpoint/1", "scores": {}}', "it is damaged"),
    ("{not json", "cannot be read"),
    ('{"format": "prunus.ctmc/1"}', "is not a prunus CTMC cross-validation checkpoint"),
])
def test_cli_says_a_damaged_checkpoint_is_damaged(tmp_path, capsys, text, says):
    # before: "is from an interrupted run with other settings", for a file no run wrote
    path, _ = _cohort(tmp_path)
    out = tmp_path / "o"
    out.mkdir()
    (out / "cv_checkpoint.json").write_text(text)
    assert main(["ctmc", "fit", str(path), "--folds", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert says in err and "other settings" not in err and "start afresh" in err
    assert len(err.strip().splitlines()) == 1


def test_cli_warns_once_and_writes_all_files_or_none(tmp_path, capsys):
    path, names = _cohort(tmp_path)
    frame = pd.read_csv(path)
    frame["CDK4"] = 0  # never observed
    frame.to_csv(path, index=False)
    out = tmp_path / "o"
    (out / "theta.png").mkdir(parents=True)  # the last file cannot be written
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as outside pytest, where warnings are not errors
        assert main(["ctmc", "fit", str(path), "--l1", "0.01", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("never observed") == 1 and "never observed" not in captured.out
    assert "prunus: warning: events never observed in any tumour: ['CDK4']" in captured.err
    assert "in the way" in captured.err
    # no theta.csv, metrics.json; the cross-validation's checkpoint is kept for the rerun
    assert sorted(p.name for p in out.iterdir()) == ["cv_checkpoint.json", "theta.png"]


def test_cli_usage_errors_name_the_option(tmp_path, capsys):
    path, _ = _cohort(tmp_path)
    for argv, message in ((["--seed", "-1"], "argument --seed: must be >= 0"),
                          # torch's 64-bit seeds: "Overflow when unpacking long long"
                          (["--seed", str(2**64)], "argument --seed: must be < 2**64"),
                          (["--folds", "1"], "argument --folds: must be >= 2"),
                          (["--l1", "nan"], "argument --l1: must be a finite number")):
        with pytest.raises(SystemExit) as err:
            main(["ctmc", "fit", str(path), *argv, "--out", str(tmp_path / "o")])
        assert err.value.code == 2 and message in capsys.readouterr().err
    with pytest.raises(SystemExit) as err:  # the group without its command
        main(["ctmc"])
    assert err.value.code == 2 and "a command is required (fit)" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [[], ["--l1", "0.01"]])
def test_cli_more_folds_than_tumours_names_the_option(tmp_path, capsys, extra):
    # 4 tumours and the default 5 folds said "folds must be in [2, 4], got 5" (with --l1,
    # only after the fit): an option the user never gave, named as a Python argument
    path = tmp_path / "small.csv"
    pd.DataFrame({"TP53": [0, 1, 0, 1], "IDH1": [1, 0, 1, 1]}).to_csv(path, index=False)
    assert main(["ctmc", "fit", str(path), *extra, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--folds 5 needs at least 5 tumours" in err[0], err
    assert "has 4" in err[0]
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_cli_help_spells_the_usage_of_the_issue(capsys):
    # issue 5: prunus ctmc fit DATA.csv [--l1 X] [--method auto|exact|mcmc] [--seed S] --out DIR
    with pytest.raises(SystemExit) as err:
        main(["ctmc", "fit", "--help"])
    assert err.value.code == 0
    usage = " ".join(capsys.readouterr().out.split())
    for part in ("[--l1 X]", "[--method {auto,exact,mcmc}]", "[--seed S]", "--out DIR",
                 "DATA.csv", "DIR/theta.csv", "DIR/theta.png", "DIR/metrics.json"):
        assert part in usage, part


def test_cli_method_mcmc_reaches_the_fit(tmp_path, monkeypatch):
    path, names = _cohort(tmp_path)
    out = tmp_path / "mcmc"
    argv = ["ctmc", "fit", str(path), "--l1", "0.01", "--method", "mcmc", "--folds", "2",
            "--out", str(out)]
    import biomodels.ctmc.fit

    fit_theta, methods = biomodels.ctmc.fit.fit_theta, []

    def spy(*args, **kwargs):
        methods.append(kwargs.get("method"))
        return fit_theta(*args, **kwargs)

    monkeypatch.setattr(biomodels.ctmc.fit, "fit_theta", spy)
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["method"] == "mcmc" and len(metrics["heldout_loglik_folds"]) == 2
    assert methods and set(methods) == {"mcmc"}  # the held-out fold fits too, not auto
    assert list(pd.read_csv(out / "theta.csv", index_col=0).columns) == names


def test_cli_names_no_python_argument_for_a_file_with_another_separator(tmp_path, capsys):
    # before: "... expected event names separated by ',' (pass sep= for another separator)",
    # an argument of read_cohort that the command line does not have
    path, _ = _cohort(tmp_path)
    semicolons = tmp_path / "semicolons.csv"
    pd.read_csv(path).to_csv(semicolons, sep=";", index=False)
    assert main(["ctmc", "fit", str(semicolons), "--quiet", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("prunus: error: ") and len(err.strip().splitlines()) == 1
    assert "semicolons.csv: a single column" in err and "sep=" not in err
    assert "',' from .csv files and tabs from .tsv" in err
    assert not (tmp_path / "o").exists()


def test_cli_names_the_method_option_not_the_python_argument(tmp_path, capsys):
    # before: "method='exact': a tumour carries 26 events (> 25); ... Use method='mcmc'.",
    # fit_theta's argument rather than the --method the user typed
    x = np.zeros((6, 26), dtype=int)
    x[0] = 1  # one tumour with every event: 2^26 subsets for the exact likelihood
    x[1:, :3] = np.eye(5, 3, dtype=int)
    path = tmp_path / "wide.csv"
    pd.DataFrame(x, columns=[f"e{i}" for i in range(26)]).to_csv(path, index=False)
    argv = ["ctmc", "fit", str(path), "--method", "exact", "--l1", "0.1", "--folds", "2",
            "--quiet", "--out", str(tmp_path / "o")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # events never observed
        assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == ("prunus: error: --method exact: a tumour carries 26 events (> 25); the "
                   "exact subset likelihood needs 2^k states per tumour. Use --method mcmc.\n")
    assert not (tmp_path / "o").exists()


def test_cli_help_states_every_default(capsys):
    # ctmc fit did not state --method's default (every option's: tests/test_foundation.py)
    with pytest.raises(SystemExit):
        main(["ctmc", "fit", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "auto (default: the cheapest exact route" in text


def test_cli_metrics_describe_the_fit_and_the_options_given(tmp_path, capsys):
    # metrics.json against the library run with the same options: an option left at its
    # default (--seed of the folds, --folds, --quiet), the held-out figure scored on the
    # training tumours, or a field from the wrong array all passed the tests
    import torch

    from biomodels.ctmc.crossval import kfold_indices
    from biomodels.ctmc.fit import data_log_likelihood, fit_theta

    path, _ = _cohort(tmp_path)
    x = pd.read_csv(path, index_col=0).to_numpy()
    out = tmp_path / "o"
    capsys.readouterr()
    assert main(["ctmc", "fit", str(path), "--l1", "0.01", "--seed", "4", "--folds", "3",
                 "--quiet", "--out", str(out)]) == 0
    assert capsys.readouterr().err == ""  # --quiet: no progress bars
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["seed"], metrics["folds"], metrics["l1"]) == (4, 3, 0.01)
    assert metrics["method"] in ("exact", "statespace")  # what auto chose, not "auto"
    assert (metrics["n_tumours"], metrics["n_events"]) == (200, 5)
    theta = CTMC.load(out / "model.json").theta
    off = theta - np.diag(np.diag(theta))
    assert metrics["nonzero_effects"] == np.count_nonzero(off)
    train = float(CTMC.load(out / "model.json").log_likelihood(x).mean())
    assert metrics["train_loglik_per_tumour"] == pytest.approx(train, abs=1e-9)
    assert metrics["penalised_loglik_per_tumour"] == pytest.approx(
        train - 0.01 * np.abs(off).sum(), abs=1e-9)
    held = []  # each fold (drawn with --seed) fitted on the others, scored on its own
    for test in kfold_indices(len(x), 3, seed=4):
        rest = np.setdiff1d(np.arange(len(x)), test)
        fold = fit_theta(x[rest], l1=0.01, method="auto", seed=4, progress=False).theta
        fold = _heldout_theta(fold, len(rest))  # base rates floored, as mhn's CV scores
        held.append(float(data_log_likelihood(torch.as_tensor(fold), x[test]).mean()))
    assert metrics["heldout_loglik_folds"] == pytest.approx(held, abs=1e-9)


def test_cli_heldout_scores_floor_the_rate_of_an_event_unseen_in_training(tmp_path):
    # one event in one of ten tumours, two folds: the fold that holds the carrier is fitted
    # on five tumours without it, whose rate is floored at 1/6 (as in mhn's cross-validation;
    # the independence baseline scored the carrier -27 nats, the MHN -17.5); the other fold
    # is fitted on one carrier in five, lambda / (1 + lambda) = 1/5, so lambda = 1/4
    from biomodels.ctmc.crossval import kfold_indices

    x = np.zeros(10, dtype=int)
    x[3] = 1
    path = tmp_path / "one.csv"
    pd.DataFrame({"TP53": x}).to_csv(path, index=False)
    out = tmp_path / "o"
    assert main(["ctmc", "fit", str(path), "--l1", "0.01", "--folds", "2", "--seed", "0",
                 "--quiet", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    expected = []
    for test in kfold_indices(10, 2, seed=0):
        rate = 1 / 6 if 3 in test else 1 / 4
        expected.append(float(np.mean(np.where(x[test] == 1, np.log(rate / (1 + rate)),
                                               np.log(1 / (1 + rate))))))
    assert metrics["heldout_loglik_folds"] == pytest.approx(expected, abs=1e-5)
    assert metrics["independence_heldout_loglik_per_tumour"] == pytest.approx(
        np.mean(expected), abs=1e-5)


def test_cli_leave_one_out_is_as_many_folds_as_tumours(tmp_path):
    # --folds N on N tumours (leave-one-out) is the largest cross-validation there is
    path = tmp_path / "small.csv"
    pd.DataFrame({"TP53": [0, 1, 0, 1], "IDH1": [1, 0, 1, 1]}).to_csv(path, index=False)
    out = tmp_path / "o"
    argv = ["ctmc", "fit", str(path), "--l1", "0.01", "--folds", "4", "--quiet"]
    assert main([*argv, "--out", str(out)]) == 0
    assert len(json.loads((out / "metrics.json").read_text())["heldout_loglik_folds"]) == 4


def _counted(tmp_path, n_tumours=120):
    """A cohort deduplicated to one row per genotype with a count column, and its rows."""
    names = ["TP53", "IDH1", "EGFR", "PTEN"]
    x = CTMC(random_sparse_theta(4, seed=0), names).sample(n_tumours, seed=2).X
    frame = pd.DataFrame(x, columns=names).value_counts().rename("count").reset_index()
    frame.insert(0, "genotype", [f"g{i}" for i in range(len(frame))])  # sample-id-like
    path = tmp_path / "counted.csv"
    frame.to_csv(path, index=False)
    rows = frame.loc[frame.index.repeat(frame["count"]), names].to_numpy()
    return path, names, frame, rows


def test_cli_weights_fit_a_deduplicated_cohort_as_its_repeated_rows(tmp_path, capsys):
    # a deduplicated cohort (genotype, count) fitted with --weights is the cohort with its
    # rows repeated: the same theta, and held-out folds that split its tumours, not rows
    from biomodels.ctmc.crossval import kfold_indices
    from biomodels.ctmc.fit import fit_theta

    path, names, frame, rows = _counted(tmp_path)
    out = tmp_path / "o"
    assert main(["ctmc", "fit", str(path), "--weights", "count", "--l1", "0.01", "--folds",
                 "2", "--seed", "1", "--quiet", "--out", str(out)]) == 0
    assert capsys.readouterr().err == ""
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["total_weight"] == 120.0 and metrics["weights"] == "count"
    # the tumours the rows stand for (n_tumours was the rows, now n_rows)
    assert (metrics["n_tumours"], metrics["n_rows"], metrics["n_events"]) == (120, len(frame), 4)
    theta = pd.read_csv(out / "theta.csv", index_col=0)
    assert list(theta.columns) == names  # neither the counts nor the ids are events
    repeated = CTMC().fit(rows, l1=0.01, event_names=names)
    assert np.allclose(theta.to_numpy(), repeated.theta, atol=1e-5)
    assert metrics["train_loglik_per_tumour"] == pytest.approx(
        float(repeated.log_likelihood(rows).mean()), abs=1e-6)
    test = kfold_indices(120, 2, seed=1)[0]
    rest = np.setdiff1d(np.arange(120), test)
    fold = _heldout_theta(fit_theta(rows[rest], l1=0.01, seed=1).theta, len(rest))
    import torch

    from biomodels.ctmc.fit import data_log_likelihood

    first = float(data_log_likelihood(torch.as_tensor(fold), rows[test]).mean())
    assert metrics["heldout_loglik_folds"][0] == pytest.approx(first, abs=1e-9)
    assert CTMC.load(out / "model.json").fit_info["total_weight"] == 120.0


def test_cli_weights_errors_name_the_option(tmp_path, capsys):
    path, names, frame, _ = _counted(tmp_path, n_tumours=40)
    out = tmp_path / "o"

    def error(argv, frame=None):
        if frame is not None:
            frame.to_csv(path, index=False)
        assert main(["ctmc", "fit", str(path), *argv, "--quiet", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("prunus: error: --weights") and len(err.splitlines()) == 1, err
        return err

    # CTMC.fit(sample_weight=...) needs l1: the cross-validation splits tumours
    assert "needs --l1" in error(["--weights", "count"])
    assert "no column 'n'" in error(["--weights", "n", "--l1", "0.01"])
    half = frame.astype({"count": float})
    half.loc[2, "count"] = 2.5
    assert "line 4 of" in error(["--weights", "count", "--l1", "0.01"], half)
    assert "whole numbers >= 0" in error(["--weights", "count", "--l1", "0.01"],
                                         frame.assign(count=-1))
    assert "every count" in error(["--weights", "count", "--l1", "0.01"],
                                  frame.assign(count=0))
    assert not out.exists()


@pytest.mark.parametrize(("method", "certified"), [("exact", True), ("mcmc", False)])
def test_cli_metrics_give_the_fit_optimality(tmp_path, monkeypatch, capsys, method,
                                             certified):
    # fit_info["optimality"], the KKT residual of the L1 problem: small at a converged
    # exact fit, null where noisy MCMC gradients certify nothing
    import biomodels.ctmc.fit
    import biomodels.ctmc.model

    fit_theta = biomodels.ctmc.fit.fit_theta

    def short(*args, **kwargs):  # MCMC fits in a few steps: the test is about the report
        if method == "mcmc":
            kwargs.update(max_steps=10, n_samples=10, burn_in=5)
        return fit_theta(*args, **kwargs)

    for module in (biomodels.ctmc.fit, biomodels.ctmc.model):
        monkeypatch.setattr(module, "fit_theta", short)
    rows = (np.random.default_rng(0).random((30, 8)) < 0.3).astype(int)
    rows[0] = 1  # a tumour of 8 events: the MCMC route samples orderings for it
    cohort = tmp_path / "rows.csv"
    pd.DataFrame(rows, columns=[f"e{i}" for i in range(8)]).to_csv(cohort, index=False)
    out = tmp_path / "o"
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as outside pytest, where warnings are not errors
        assert main(["ctmc", "fit", str(cohort), "--l1", "0.02", "--method", method,
                     "--folds", "2", "--quiet", "--out", str(out)]) == 0
    # the MCMC fits, cut to 10 steps, stop at that limit and say so; the exact ones converge
    said = "stopped at its step limit, --max-steps 10" in capsys.readouterr().err
    assert said == (method == "mcmc")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["method"] == method
    assert metrics["optimality"] == CTMC.load(out / "model.json").fit_info["optimality"]
    if certified:
        assert 0 <= metrics["optimality"] < 1e-3
    else:
        assert metrics["optimality"] is None
    assert "total_weight" not in metrics and "weights" not in metrics


def test_cli_weights_warns_of_an_event_column_taken_for_the_counts(tmp_path, capsys):
    # --weights TP53 on a cohort of one row per tumour fitted the other events on the
    # tumours carrying TP53, silently; sample ids repeated now say rows stand for counts
    path, names, frame, rows = _counted(tmp_path, n_tumours=40)
    plain = tmp_path / "rows.csv"
    pd.DataFrame(rows, columns=names).to_csv(plain, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as outside pytest, where warnings are not errors
        assert main(["ctmc", "fit", str(plain), "--weights", "TP53", "--l1", "0.01", "--folds",
                     "2", "--quiet", "--out", str(tmp_path / "o")]) == 0
        err = capsys.readouterr().err
        zeros = int((rows[:, 0] == 0).sum())
        assert f"prunus: warning: --weights TP53: {plain} holds only 0 and 1" in err
        assert f"its {zeros} row(s) with 0 are left out" in err
        frame = frame.rename(columns={"genotype": "sample"})  # an id header: kept repeated
        frame.loc[1, "sample"] = frame.loc[0, "sample"]
        frame.to_csv(path, index=False)
        assert main(["ctmc", "fit", str(path), "--weights", "count", "--l1", "0.01", "--folds",
                     "2", "--quiet", "--out", str(tmp_path / "o2")]) == 0
    err = capsys.readouterr().err
    assert "each row counts as its count tumours" in err and "0 and 1" not in err


def test_cli_weights_on_a_file_of_counts_alone_says_there_is_no_event(tmp_path, capsys):
    # the temporary copy without the count column made pandas say "No columns to parse"
    path = tmp_path / "counts.csv"
    path.write_text("count\n3\n4\n")
    assert main(["ctmc", "fit", str(path), "--weights", "count", "--l1", "0.01", "--quiet",
                 "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == (f"prunus: error: --weights count: {path} has no event "
                                       "column besides 'count'\n")


def test_cli_restarts_write_the_objective_of_every_start(tmp_path, capsys):
    path, _ = _cohort(tmp_path)
    argv = ["ctmc", "fit", str(path), "--l1", "0.01", "--folds", "2", "--quiet"]
    assert main([*argv, "--restarts", "2", "--out", str(tmp_path / "r")]) == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    record = metrics["restarts"]
    assert len(record["objectives"]) == 3 and 0 <= record["best"] <= 2
    assert record == CTMC.load(tmp_path / "r" / "model.json").fit_info["restarts"]
    returned = record["objectives"][record["best"]]
    assert returned == pytest.approx(metrics["penalised_loglik_per_tumour"], abs=1e-9)
    # without the option metrics.json has no such key (the default run is as before)
    assert main([*argv, "--out", str(tmp_path / "d")]) == 0
    assert "restarts" not in json.loads((tmp_path / "d" / "metrics.json").read_text())
    capsys.readouterr()
    for bad, message in (("-1", "must be >= 0"), ("1.5", "")):
        with pytest.raises(SystemExit) as err:
            main([*argv, "--restarts", bad, "--out", str(tmp_path / "n")])
        assert err.value.code == 2
        assert f"argument --restarts: {message}" in capsys.readouterr().err


def test_cli_restarts_with_mcmc_orderings_name_the_options(tmp_path, capsys):
    # tumours of >= 8 events: --method mcmc samples their orderings, whose objective is an
    # estimate, so the starts cannot be compared; refused before any fit, naming the options
    x = np.eye(20, 9, dtype=int)
    x[:4] = 1
    path = tmp_path / "big.csv"
    pd.DataFrame(x, columns=[f"e{i}" for i in range(9)]).to_csv(path, index=False)
    argv = ["ctmc", "fit", str(path), "--l1", "0.01", "--method", "mcmc", "--restarts", "1",
            "--folds", "2", "--quiet", "--out", str(tmp_path / "m")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("prunus: error: --restarts 1 needs exact objective values")
    assert "--method mcmc" in err and "restarts=" not in err
    assert not (tmp_path / "m").exists()


def test_cli_one_se_chooses_the_l1_as_the_library_does(tmp_path, capsys, monkeypatch):
    import biomodels.ctmc.crossval as cv

    path, _ = _cohort(tmp_path)
    chosen = []
    real = cv.select_l1

    def spy(*args, **kwargs):
        chosen.append(kwargs.get("one_se"))
        return real(*args, **kwargs)

    monkeypatch.setattr("biomodels.ctmc.model.select_l1", spy)
    argv = ["ctmc", "fit", str(path), "--folds", "2", "--quiet"]
    assert main([*argv, "--one-se", "--out", str(tmp_path / "a")]) == 0
    assert chosen == [True]
    assert json.loads((tmp_path / "a" / "metrics.json").read_text())["one_se"] is True
    assert main([*argv, "--l1", "0.01", "--one-se", "--out", str(tmp_path / "b")]) == 0
    assert "prunus: warning: ignoring --one-se: it chooses the L1 strength, and --l1 0.01 " \
        "gives it" in capsys.readouterr().err


def test_cli_l1_grid_sets_the_strengths_cross_validation_chooses_from(tmp_path, capsys,
                                                                      monkeypatch):
    import biomodels.ctmc.crossval as cv

    path, _ = _cohort(tmp_path)
    grids = []
    real = cv.select_l1

    def spy(*args, **kwargs):
        grids.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr("biomodels.ctmc.model.select_l1", spy)
    argv = ["ctmc", "fit", str(path), "--folds", "2", "--quiet"]
    assert main([*argv, "--l1-grid", "0.002, 0.2", "--out", str(tmp_path / "a")]) == 0
    assert grids == [[0.002, 0.2]]
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert sorted(metrics["l1_cv_scores"]) == ["0.002", "0.2"]
    assert metrics["l1"] in (0.002, 0.2)
    capsys.readouterr()
    assert main([*argv, "--l1", "0.01", "--l1-grid", "0.1,1", "--one-se",
                 "--out", str(tmp_path / "b")]) == 0
    assert "ignoring --one-se and --l1-grid: they choose the L1 strength, and --l1 0.01 " \
        "gives it" in capsys.readouterr().err
    for bad in ("0.1,,1", "0.1,-1", "abc", "0.1,nan"):
        with pytest.raises(SystemExit) as exc:
            main([*argv, "--l1-grid", bad, "--out", str(tmp_path / "c")])
        assert exc.value.code == 2
        assert "--l1-grid" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_reading_counted_cohorts_in_threads_leaves_the_warning_filters(tmp_path, in_threads):
    # the messages about --weights were reworded by catching the reader's warnings under
    # warnings.catch_warnings, which swaps the filters of the whole process: runs in threads
    # put them back out of order and left "always" (and a dead recorder) behind
    import warnings

    from biomodels.ctmc.cli import _read_counted_cohort

    path = tmp_path / "counted.csv"
    path.write_text("A,B,n\n1,0,3\n0,1,2\n1,1,1\n0,0,4\n")
    before, shown = list(warnings.filters), warnings.showwarning
    got = in_threads(lambda i: _read_counted_cohort(path, "n")[2].tolist(), range(8))
    assert got == [[3.0, 2.0, 1.0, 4.0]] * 8
    # what the reader's catch_warnings(record=True) left: "always" for every Warning and
    # its recorder. pandas' own catch_warnings around np.dtype, overlapping in threads, may
    # leave its ("always", DeprecationWarning) behind (Python < 3.14): not ours, not checked
    left = [f for f in warnings.filters if f not in before]
    assert not [f for f in left if f[2] is not DeprecationWarning], left
    assert warnings.showwarning is shown
    with pytest.raises(ValueError, match=r"^--weights m: .* has no column 'm'"):
        _read_counted_cohort(path, "m")


def test_cli_weights_n_tumours_counts_the_tumours_and_n_rows_the_rows(tmp_path):
    # with --weights, metrics.json's n_tumours was the number of rows (12 beside a
    # total_weight of 80), though total_weight is "the number of tumours"
    path, _, frame, rows = _counted(tmp_path, n_tumours=40)
    frame.loc[len(frame)] = ["g_none", 1, 1, 1, 1, 0]  # a row of count 0 is a row, no tumour
    frame.to_csv(path, index=False)
    out = tmp_path / "o"
    assert main(["ctmc", "fit", str(path), "--weights", "count", "--l1", "0.01", "--folds",
                 "2", "--quiet", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["n_tumours"], metrics["total_weight"]) == (40, 40.0)
    assert metrics["n_rows"] == len(frame) and len(frame) < 40
    # the repeated rows fit without --weights: n_tumours as before, and no n_rows
    plain = tmp_path / "rows.csv"
    pd.DataFrame(rows, columns=frame.columns[1:-1]).to_csv(plain, index=False)
    assert main(["ctmc", "fit", str(plain), "--l1", "0.01", "--folds", "2", "--quiet",
                 "--out", str(tmp_path / "p")]) == 0
    metrics = json.loads((tmp_path / "p" / "metrics.json").read_text())
    assert metrics["n_tumours"] == 40 and "n_rows" not in metrics


def test_a_checkpoint_of_another_run_may_be_of_a_run_still_going(tmp_path, capsys,
                                                                  monkeypatch):
    # the refusal said "is from an interrupted run with other settings ...; rerun that
    # command to finish it, or delete the file": a run into the same --out that is still
    # going keeps such a file too, and deleting it would break that run
    import biomodels.ctmc.fit as fit_module

    path, _ = _cohort(tmp_path)
    argv = ["ctmc", "fit", str(path), "--folds", "2", "--quiet"]
    real, calls = fit_module.fit_theta, []

    def stops(x, *args, **kwargs):  # the run in progress, after its first fold fit
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(x, *args, **kwargs)

    monkeypatch.setattr(fit_module, "fit_theta", stops)
    out = tmp_path / "o"
    assert main([*argv, "--l1", "0.01", "--out", str(out)]) == 130
    monkeypatch.setattr(fit_module, "fit_theta", real)
    capsys.readouterr()
    assert main([*argv, "--l1", "0.02", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    checkpoint = out / "cv_checkpoint.json"
    assert "resum" not in captured.out
    assert captured.err == (
        f"prunus: error: {checkpoint} is from another run (interrupted, or still running) "
        "with other settings (differs in: l1); if it was interrupted, rerun that command to "
        "finish it; to start afresh, delete the file if no run is using it, or use another "
        "--out\n")
    assert checkpoint.exists()


def test_theta_csv_reads_back_bit_exact_as_the_readme_says(tmp_path):
    # the README loaded theta.csv with pd.read_csv(..., index_col=0), whose default float
    # parser is off by an ulp now and then (4.4e-16 on the GBM theta): round_trip is exact
    import re
    from pathlib import Path

    path, names = _cohort(tmp_path)
    out = tmp_path / "out"
    assert main(["ctmc", "fit", str(path), "--l1", "0.005", "--method", "exact", "--folds",
                 "2", "--out", str(out), "--quiet"]) == 0
    theta = pd.read_csv(out / "theta.csv", index_col=0, float_precision="round_trip")
    assert np.array_equal(theta.to_numpy(), CTMC.load(out / "model.json").theta)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    shown = re.findall(r"pd\.read_csv\([^)]*index_col=0[^)]*\)", readme)
    assert shown and all('float_precision="round_trip"' in call for call in shown)


def test_cli_points_a_count_column_to_the_weights_option(tmp_path, capsys):
    # "event column 'count' has non-binary entry 10 on line 2; expected 0/1" named no way to
    # read a deduplicated cohort, and counts that were all 0/1 became a fourth event silently
    path = tmp_path / "dedup.csv"
    path.write_text("A,B,C,count\n0,0,0,10\n1,0,0,3\n1,1,0,2\n0,1,1,4\n")
    assert main(["ctmc", "fit", str(path), "--quiet", "--out", str(tmp_path / "dd")]) == 2
    assert capsys.readouterr().err == (
        f"prunus: error: {path}: event column 'count' has non-binary entry 10 on line 2; "
        "expected 0/1; a column counting the tumours of each row (a deduplicated cohort) is "
        "read with --weights count (and --l1)\n")
    assert not (tmp_path / "dd").exists()
    rows = ["0,0,0,1", "1,0,0,1", "1,1,0,0", "0,1,1,1", "1,0,1,0", "0,0,1,1"]
    path.write_text("A,B,C,count\n" + "\n".join(rows) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as outside pytest, where warnings are not errors
        assert main(["ctmc", "fit", str(path), "--l1", "0.01", "--folds", "2", "--quiet",
                     "--out", str(tmp_path / "dd")]) == 0
    assert (f"prunus: warning: {path}: column 'count' holds only 0 and 1 and is read as an "
            "event; if it counts the tumours of each row (a deduplicated cohort), read it "
            "with --weights count (and --l1)") in capsys.readouterr().err


def test_cli_help_ends_with_an_example(capsys):
    # the help of ctmc fit showed no example command
    with pytest.raises(SystemExit):
        main(["ctmc", "fit", "--help"])
    text = capsys.readouterr().out
    assert " ".join(text.split()).endswith(
        "example: prunus ctmc fit cohort.csv --method auto --seed 0 --out results/")


def test_cli_help_example_stays_whole_on_a_narrow_terminal(capsys, monkeypatch):
    # argparse rewrapped the epilog to the terminal: at COLUMNS=60 the example ended
    # "... --seed 0" and "--out results/" on the next line, where it could not be copied
    monkeypatch.setenv("COLUMNS", "60")
    for command, example in (
            ("fit", "prunus ctmc fit cohort.csv --method auto --seed 0 --out results/"),):
        with pytest.raises(SystemExit):
            main(["ctmc", command, "--help"])
        lines = capsys.readouterr().out.splitlines()
        assert lines[-2:] == ["example:", f"  {example}"]


def _fold_fit_options(monkeypatch, option):
    """Record the ``option`` the command's held-out fold fits (``fit_theta``) are given."""
    import biomodels.ctmc.fit as fit_module

    real, asked = fit_module.fit_theta, []

    def spy(*args, **kwargs):
        asked.append(kwargs.get(option))
        return real(*args, **kwargs)

    monkeypatch.setattr(fit_module, "fit_theta", spy)
    return asked


def test_cli_fit_says_when_the_step_limit_ended_the_fit_and_takes_max_steps(tmp_path, capsys,
                                                                            monkeypatch):
    # a fit that ran out of steps was silent: `--method mcmc --l1 0.0038` on the GBM cohort
    # ended unconverged after its 600 steps, metrics.json had no converged nor n_steps (only
    # model.json's fit_info did) and there was no option to give it more steps
    import argparse

    from biomodels.ctmc.cli import _FixedL1Checkpoint

    path, _ = _cohort(tmp_path)
    asked = _fold_fit_options(monkeypatch, "max_steps")
    argv = ["ctmc", "fit", str(path), "--l1", "0.01", "--folds", "2", "--quiet", "--out"]
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as outside pytest, where warnings are not errors
        assert main([*argv, str(tmp_path / "short"), "--max-steps", "2"]) == 0
    err = capsys.readouterr().err
    # the final fit, then the held-out fold fits (100 tumours each) once for all (the
    # independence baseline's fits take no --max-steps and are not counted)
    assert err.splitlines() == [
        "prunus: warning: the fit to 200 tumours at --l1 0.01 stopped at its step limit, "
        "--max-steps 2, before its stopping rule fired (n_steps=2, converged=False): the "
        "estimates may still move with more steps; raise --max-steps (e.g. --max-steps 4)",
        "prunus: warning: 2 of 2 cross-validation fits stopped at their step limit, "
        "--max-steps 2, before their stopping rule fired (at --l1 0.01): their held-out "
        "scores may still move; raise --max-steps (e.g. --max-steps 4)"]
    short = json.loads((tmp_path / "short" / "metrics.json").read_text())
    assert (short["converged"], short["n_steps"], short["max_steps"]) == (False, 2, 2)
    assert asked == [2, None, 2, None]  # fold fits get it; the independence baseline not
    # the default run converges: no warning (pytest's filters make one an error, code 2)
    asked.clear()
    assert main([*argv, str(tmp_path / "default")]) == 0
    full = json.loads((tmp_path / "default" / "metrics.json").read_text())
    info = CTMC.load(tmp_path / "default" / "model.json").fit_info
    assert (full["converged"], full["n_steps"]) == (True, info["n_steps"])
    assert "max_steps" not in full
    assert asked == [None] * 4
    # keys added only (the file is written with sorted keys), max_steps only with the option
    added = ("converged", "n_steps", "max_steps")
    assert [k for k in short if k not in added] == [k for k in full if k not in added]
    assert list(full) == sorted(full)
    # a checkpoint of another step limit is not resumed; without the option it is as before
    base = dict(l1=0.01, folds=2, seed=0, method="auto", restarts=0, model="cmhn")
    sig = [_FixedL1Checkpoint(tmp_path / "c.json", np.zeros((4, 2)), argparse.Namespace(
        **base, **extra)).signature["fit"] for extra in ({}, {"max_steps": None},
                                                         {"max_steps": 2})]
    assert sig[0] == sig[1] != sig[2] and "max_steps" in sig[2]


def test_cli_fit_says_the_fold_fits_step_limits_when_ctrl_c_stops_it(tmp_path, capsys,
                                                                      monkeypatch):
    # the folds done are checkpointed and a rerun skips them, so the step limits they hit
    # were never said when Ctrl-C stopped the cross-validation (said only after its loop)
    import biomodels.ctmc.fit as fit_module

    path, _ = _cohort(tmp_path)
    real, calls = fit_module.fit_theta, []

    def interrupted(*args, **kwargs):  # Ctrl-C in fold 1's fit
        calls.append(kwargs.get("max_steps"))
        if calls.count(2) == 2:  # the fold fits take --max-steps (the baseline's not)
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(fit_module, "fit_theta", interrupted)
    argv = ["ctmc", "fit", str(path), "--l1", "0.01", "--folds", "2", "--quiet",
            "--max-steps", "2", "--out", str(tmp_path / "out")]
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as outside pytest, where warnings are not errors
        assert main(argv) == 130
    err = capsys.readouterr().err
    # of the fold fits that finished (the rerun fits the one stopped again)
    assert ("prunus: warning: 1 of 1 cross-validation fits stopped at their step limit, "
            "--max-steps 2") in err


def test_cli_fit_takes_the_optimizer_its_stall_warnings_advise(tmp_path, capsys,
                                                               monkeypatch):
    # the warnings of a stalled OWL-QN fit said "or with optimizer='adam' and compare",
    # which a command-line user had no option to do; with --l1 the fold fits' warnings said
    # their scores moved "the choice of l1", which --l1 fixes
    import argparse

    from biomodels.ctmc.cli import _CHOICES, _OPTIONS, _FixedL1Checkpoint
    from biomodels.ctmc.crossval import _say_step_limits
    from biomodels.ctmc.fit import _Stop
    from core.cli import option_names

    path, _ = _cohort(tmp_path)
    asked = _fold_fit_options(monkeypatch, "optimizer")
    argv = ["ctmc", "fit", str(path), "--l1", "0.01", "--folds", "2", "--quiet", "--out"]
    assert main([*argv, str(tmp_path / "adam"), "--optimizer", "adam"]) == 0
    capsys.readouterr()
    adam = json.loads((tmp_path / "adam" / "metrics.json").read_text())
    assert adam["optimizer"] == "adam"
    assert CTMC.load(tmp_path / "adam" / "model.json").fit_info["optimizer"] == "adam"
    assert asked == ["adam", None, "adam", None]  # fold fits; the independence baseline not
    # the default run resolves auto as before, and its metrics have no such key
    assert main([*argv, str(tmp_path / "auto")]) == 0
    assert "optimizer" not in json.loads((tmp_path / "auto" / "metrics.json").read_text())
    assert CTMC.load(tmp_path / "auto" / "model.json").fit_info["optimizer"] == "lbfgs"
    # a checkpoint of another optimiser is not resumed; the default's is as before
    base = dict(l1=0.01, folds=2, seed=0, method="auto", restarts=0, model="cmhn")
    sig = [_FixedL1Checkpoint(tmp_path / "c.json", np.zeros((4, 2)), argparse.Namespace(
        **base, **extra)).signature["fit"] for extra in ({}, {"optimizer": "auto"},
                                                         {"optimizer": "adam"})]
    assert sig[0] == sig[1] != sig[2]
    # a refusal names the option
    assert option_names("optimizer='lbfgs' needs exact gradients; got method='mcmc'",
                        _OPTIONS, _CHOICES) == ("--optimizer lbfgs needs exact gradients; "
                                                "got --method mcmc")
    # the advice of a stalled fit names options the command has
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        _say_step_limits([_Stop(0.01, 300, 0.5)], 5)
        _say_step_limits([_Stop(0.01, 300, 0.5)], 5, chooses_l1=False)
    chosen, fixed = (option_names(str(w.message), _OPTIONS, _CHOICES) for w in seen)
    assert "off the optimum's, and with them the choice of l1; fit from" in chosen
    assert "off the optimum's; fit from other starts (--restarts 3)" in fixed
    assert fixed.endswith("or with --optimizer adam and compare")
