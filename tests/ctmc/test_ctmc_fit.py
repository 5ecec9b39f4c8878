"""Fitting: recovery of a known sparse theta, GBM reference, CV, save/load, input types."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pytest
import torch

from biomodels.ctmc import (
    CTMC,
    block_theta,
    data_log_likelihood,
    fit_theta,
    independence_theta,
    random_sparse_theta,
    read_cohort,
    sample_trajectories,
    select_l1,
    state_distribution,
)


def _capped():
    """Expect the warning of fits stopped at a step limit set low to keep a test fast."""
    return pytest.warns(UserWarning, match="stopped at (its|their) step limit")


def _kl(p_true, theta):
    q = state_distribution(torch.as_tensor(theta)).numpy()
    return float((p_true * np.log(p_true / q)).sum())


@pytest.mark.parametrize("sparsity", ["proximal", "mirror"])
def test_recovery_n8_kl_below_001(sparsity):
    theta = random_sparse_theta(8, sparsity=0.5, seed=1)
    x = sample_trajectories(theta, 5000, seed=11).X
    p_true = state_distribution(theta).numpy()
    res = fit_theta(x, l1=1 / 5000, sparsity=sparsity)
    assert _kl(p_true, res.theta) <= 0.01
    assert _kl(p_true, independence_theta(x)) > 0.1  # the interactions matter


def test_proximal_l1_gives_exact_zeros_and_strong_effects_survive():
    theta = random_sparse_theta(8, sparsity=0.5, seed=1)
    x = sample_trajectories(theta, 5000, seed=11).X
    res = fit_theta(x, l1=5 / 5000)
    off = ~np.eye(8, dtype=bool)
    assert (res.theta[off] == 0).sum() >= 10
    strong = off & (np.abs(theta) > 1.0)
    assert (np.sign(res.theta[strong]) == np.sign(theta[strong])).mean() >= 0.8


@pytest.mark.slow
def test_mcmc_fit_matches_exact_fit():
    theta, _ = block_theta(10, blocks="synth5", seed=0)
    x = sample_trajectories(theta, 300, seed=1).X
    assert (x.sum(1) >= 8).sum() >= 30  # enough tumours go through the MCMC gradient
    # same optimiser and step budget: only the gradient source differs
    with _capped():
        exact = fit_theta(x, l1=0.01, method="exact", optimizer="adam", max_steps=80)
    with _capped():
        mcmc = fit_theta(x, l1=0.01, method="mcmc", max_steps=80)
    assert exact.method == "exact" and mcmc.method == "mcmc"
    ll_exact = data_log_likelihood(torch.as_tensor(exact.theta), x).mean()
    ll_mcmc = data_log_likelihood(torch.as_tensor(mcmc.theta), x).mean()
    ll_indep = data_log_likelihood(torch.as_tensor(independence_theta(x)), x).mean()
    assert abs(ll_exact - ll_mcmc) < 0.03
    assert ll_mcmc > ll_indep + 0.3


@pytest.mark.slow
def test_gbm_penalised_loglik_and_published_signs(shared_data):
    frame = pd.read_csv(shared_data / "gbm_261x20.csv")
    model = CTMC().fit(frame, l1=1 / len(frame), method="exact")
    ll = model.log_likelihood(frame).mean()
    th = model.theta_frame()
    off = model.theta - np.diag(np.diag(model.theta))
    penalised = ll - model.l1 * np.abs(off).sum()
    assert penalised >= -7.67  # cMHN (mhn) reaches about -7.66 nats with lambda = 1/N
    assert ll > model.independence_log_likelihood(frame).mean() + 0.2
    # published effects (Schill et al. 2020): MDM2(A) and CDK4(A) co-occur; CDKN2A(D) and
    # TP53(M) are exclusive with MDM2(A)
    assert th.loc["CDK4(A)", "MDM2(A)"] > 1.0 or th.loc["MDM2(A)", "CDK4(A)"] > 1.0
    assert th.loc["MDM2(A)", "CDKN2A(D)"] < 0
    assert th.loc["MDM2(A)", "TP53(M)"] < 0


def test_l1_by_cross_validation_prefers_moderate_penalty():
    theta = random_sparse_theta(5, sparsity=0.5, seed=2)
    x = sample_trajectories(theta, 600, seed=3).X
    best, scores = select_l1(x, [1e-4, 0.3], folds=3, max_steps=150)
    assert best == 1e-4
    assert scores[1e-4].mean() > scores[0.3].mean()
    model = CTMC().fit(x, l1_grid=[1e-4, 0.3], folds=3, max_steps=150)
    assert model.l1 == 1e-4 and set(model.cv_scores) == {1e-4, 0.3}


@pytest.mark.parametrize("grid", [np.array([1e-4, 0.3], dtype=np.float32),
                                  [np.float32(1e-4), np.float32(0.3)],
                                  torch.tensor([1e-4, 0.3]), torch.tensor([1e-4, 0.3]).half()])
def test_a_float32_l1_grid_gives_the_strengths_as_written(grid):
    # the keys and the chosen l1 were float32 values: 9.99999974737875e-05, 0.30000001192...
    x = sample_trajectories(random_sparse_theta(3, seed=0), 60, seed=1).X
    with _capped():  # five steps a fit
        best, scores = select_l1(x, grid, folds=2, max_steps=5)
    assert list(scores) == [1e-4, 0.3] and all(type(k) is float for k in scores)
    assert type(best) is float and best in (1e-4, 0.3)
    with _capped():
        model = CTMC().fit(x, l1_grid=grid, folds=2, max_steps=5)
    assert list(model.cv_scores) == [1e-4, 0.3] and model.l1 in (1e-4, 0.3)
    assert type(model.l1) is float


def _scoring_devices(monkeypatch):
    import biomodels.ctmc.crossval as cv

    seen = []

    def spy(theta, x, **kw):
        seen.append(theta.device.type)
        return data_log_likelihood(theta, x, **kw)

    monkeypatch.setattr(cv, "data_log_likelihood", spy)
    return seen


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_heldout_score_floors_the_rate_of_an_event_unseen_in_training(optimizer):
    # one event, carried by the held-out tumour only: the fit drove its rate down as far as
    # the optimiser went (e^-17.5 or e^-11), and that set the held-out score. Floored at
    # 1 / (N_train + 1) as in mhn's lambda_from_cv: lambda = 1/10, p({event}) = 1/11
    from biomodels.ctmc import cross_validate

    x = np.zeros((10, 1), dtype=np.uint8)
    x[9, 0] = 1
    # the rate of the event it never sees falls without end: Adam stops at its step limit
    with _capped() if optimizer == "adam" else contextlib.nullcontext():
        held = cross_validate(x, 0.01, fold_indices=[np.array([9])], optimizer=optimizer)
    assert held == pytest.approx([np.log(1 / 11)], abs=1e-9)


def test_cross_validation_scores_on_the_fit_device(monkeypatch):
    from biomodels.ctmc import cross_validate

    x = sample_trajectories(random_sparse_theta(4, sparsity=0.5, seed=2), 200, seed=3).X
    with _capped():
        plain = cross_validate(x, 0.01, folds=2, max_steps=20)
    seen = _scoring_devices(monkeypatch)
    with _capped():
        on_cpu = cross_validate(x, 0.01, folds=2, max_steps=20, device="cpu")
    assert seen == ["cpu", "cpu"]
    np.testing.assert_allclose(on_cpu, plain)


@pytest.mark.gpu
def test_cross_validation_scores_on_cuda(monkeypatch):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from biomodels.ctmc import cross_validate

    x = sample_trajectories(random_sparse_theta(4, sparsity=0.5, seed=2), 200, seed=3).X
    plain = cross_validate(x, 0.01, folds=2, max_steps=20)
    seen = _scoring_devices(monkeypatch)
    on_gpu = cross_validate(x, 0.01, folds=2, max_steps=20, device="cuda")
    assert seen == ["cuda", "cuda"]
    np.testing.assert_allclose(on_gpu, plain, rtol=1e-6)


def test_cross_validation_resumes_from_its_checkpoint(tmp_path, monkeypatch):
    import json

    import biomodels.ctmc.crossval as cv

    theta = random_sparse_theta(5, sparsity=0.5, seed=2)
    x = sample_trajectories(theta, 300, seed=3).X
    grid, kw = [1e-4, 0.3], dict(folds=3, max_steps=60)
    with _capped():  # the fits at l1 = 1e-4
        best, scores = select_l1(x, grid, **kw)
    path = tmp_path / "cv.json"
    real, calls = cv._fold_score, []

    def counted(*args):
        calls.append(args[1])
        if len(calls) == 4:  # the job dies during the 4th of 6 fold fits
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(cv, "_fold_score", counted)
    from tqdm.auto import tqdm

    before = [bar for bar in list(tqdm._instances) if not bar.disable]
    with pytest.raises(KeyboardInterrupt) as info, _capped():
        select_l1(x, grid, checkpoint=path, progress=True, **kw)
    assert len(json.loads(path.read_text())["scores"]) == 3
    # its bar is closed, though the traceback (kept by a notebook) holds it: an open one
    # pushed every later bar one line down
    assert info.traceback
    assert [bar for bar in list(tqdm._instances) if not bar.disable] == before
    calls.clear()
    best2, scores2 = select_l1(x, grid, checkpoint=path, **kw)
    assert calls == [0.3, 0.3, 0.3]  # only the fits not yet done
    assert best2 == best
    for g in grid:
        np.testing.assert_array_equal(scores2[g], scores[g])
    with pytest.raises(ValueError, match="differs in: grid"):
        select_l1(x, [1e-4, 0.1], checkpoint=path, **kw)
    with pytest.raises(ValueError, match="differs in: fit"):
        select_l1(x, grid, checkpoint=path, folds=3, max_steps=61)


def test_model_cross_validation_seeds_the_mcmc_chains_as_fit_does():
    # CTMC.cross_validate(seed=s) seeded only the folds: the chains always got seed 0, so
    # its scores differed from those CTMC.fit(seed=s) chose l1 by (select_l1)
    x = sample_trajectories(random_sparse_theta(6, seed=0), 60, seed=1).X
    kw = dict(method="mcmc", mcmc_threshold=2, max_steps=5)
    model = CTMC(np.zeros((6, 6)))
    model.l1 = 0.05
    with _capped():
        _, scores = select_l1(x, [0.05], folds=3, seed=5, **kw)
    with _capped():
        held = model.cross_validate(x, folds=3, seed=5, **kw)
    np.testing.assert_array_equal(held, scores[0.05])


def test_fit_records_its_seed_in_the_saved_model_and_the_anndata(tmp_path):
    import anndata

    x = sample_trajectories(random_sparse_theta(3, seed=0), 100, seed=1).X
    model = CTMC().fit(x, l1=0.01, seed=7, max_steps=20)
    assert model.fit_info["seed"] == 7  # the folds and chains: needed to reproduce the fit
    assert CTMC.load(model.save(tmp_path / "model.json")).fit_info["seed"] == 7
    cohort = anndata.AnnData(x.astype(np.float32),
                             var=pd.DataFrame(index=model.event_names))
    assert model.write_results(cohort)["fit"]["seed"] == 7


def test_fit_records_one_se_and_the_fit_options_that_shaped_theta(tmp_path):
    # one_se moved the chosen l1 tenfold and max_steps=3 theta by 1.25, with fit_info the
    # same as without them: the saved model could not say how it was made
    import torch

    x = sample_trajectories(random_sparse_theta(3, seed=0), 60, seed=1).X
    with _capped():
        model = CTMC().fit(x, l1=0.01, max_steps=20, tol=1e-6, dtype=torch.float64)
    want = {"dtype": "torch.float64", "max_steps": 20, "tol": 1e-6}
    assert model.fit_info["fit_options"] == want and "one_se" not in model.fit_info
    assert CTMC.load(model.save(tmp_path / "m.json")).fit_info["fit_options"] == want
    with _capped():
        chosen = CTMC().fit(x, l1_grid=[0.01, 0.1], folds=2, one_se=True, max_steps=5)
    assert chosen.fit_info["one_se"] is True
    default = CTMC().fit(x, l1=0.01, device=None)  # a default fit's keys are as before
    assert "fit_options" not in default.fit_info and "one_se" not in default.fit_info
    import anndata

    cohort = anndata.AnnData(x.astype(np.float32), var=pd.DataFrame(index=model.event_names))
    model.write_results(cohort)
    cohort.write_h5ad(tmp_path / "c.h5ad")  # the options go into the h5ad as they are
    back = anndata.read_h5ad(tmp_path / "c.h5ad").uns["ctmc"]["fit"]["fit_options"]
    assert back["max_steps"] == 20 and back["dtype"] == "torch.float64"


def test_repr_summarises_events_interactions_and_fit(tmp_path):
    # a notebook showed "<biomodels.ctmc.model.CTMC object at 0x...>"
    import json

    assert repr(CTMC()) == "CTMC, not fitted: call fit()"
    assert repr(CTMC(event_names=list("abcdef"))) == (
        "CTMC of 6 events (a, b, c, d, ...), not fitted: call fit()")
    theta = np.diag([-1.0, -2.0, -3.0])
    theta[0, 1] = 0.5
    given = CTMC(theta, ["TP53", "KRAS", "EGFR"])
    assert repr(given).splitlines() == [
        "CTMC of 3 events (TP53, KRAS, EGFR), 1 of 6 interactions non-zero",
        "    theta given, not fitted"]
    assert repr(CTMC.load(given.save(tmp_path / "given.json"))) == repr(given)
    x = given.sample(200, seed=0).X
    model = CTMC().fit(x, l1_grid=[0.01, 0.1], folds=2, method="statespace")
    info, off = model.fit_info, int((model.theta[~np.eye(3, dtype=bool)] != 0).sum())
    assert info["converged"]
    text = [f"CTMC of 3 events (E0, E1, E2), {off} of 6 interactions non-zero",
            f"    fitted on 200 tumours: l1={model.l1:g}, method 'statespace', converged "
            f"after {info['n_steps']} steps",
            "    l1 chosen by 2-fold cross-validation over 2 values"]
    assert repr(model).splitlines() == text
    model.posterior_samples = np.zeros((5, 3, 3))
    assert repr(model).splitlines() == [*text, "    5 posterior samples of theta"]
    # a loaded model has no cross-validation text unless saved with it; an edited file's
    # fit_info that is not a dict still shows
    path = model.save(tmp_path / "model.json")
    assert repr(CTMC.load(path)).splitlines() == [*text, "    5 posterior samples of theta"]
    saved = json.loads(path.read_text())
    path.write_text(json.dumps({**saved, "fit_info": [saved["fit_info"]]}))
    assert repr(CTMC.load(path)).splitlines()[1] == f"    fitted: l1={model.l1:g}"


def test_seed_none_is_seed_zero_for_the_chains_as_documented():
    x = sample_trajectories(random_sparse_theta(6, seed=0), 40, seed=1).X
    kw = dict(l1=0.05, method="mcmc", mcmc_threshold=2, max_steps=5)
    with _capped():  # five steps each
        np.testing.assert_array_equal(fit_theta(x, seed=None, **kw).theta,
                                      fit_theta(x, seed=0, **kw).theta)
        assert not np.array_equal(fit_theta(x, seed=1, **kw).theta,
                                  fit_theta(x, seed=0, **kw).theta)


def test_a_seed_too_large_for_torch_generators_is_refused_by_name():
    # before: "Overflow when unpacking long long" from torch.Generator.manual_seed
    x = sample_trajectories(random_sparse_theta(3, seed=0), 20, seed=1).X
    with pytest.raises(ValueError, match=r"^seed: expected an integer below 2\*\*64"):
        fit_theta(x, l1=0.05, seed=2**64, max_steps=2)
    with pytest.raises(ValueError, match=r"^seed: expected an integer below 2\*\*64"):
        data_log_likelihood(torch.zeros(3, 3), x, seed=2**64)
    with _capped():
        fit_theta(x, l1=0.05, seed=2**64 - 1, max_steps=2)  # the largest 64-bit seed is taken


def test_model_api_roundtrip(tmp_path):
    import anndata

    theta = random_sparse_theta(4, seed=0)
    names = ["TP53", "IDH1", "EGFR", "PTEN"]
    truth = CTMC(theta, names)
    x = truth.sample(300, seed=1).X
    frame = pd.DataFrame(x, columns=names)
    m1 = CTMC().fit(frame, l1=0.01, max_steps=100)
    m2 = CTMC().fit(
        anndata.AnnData(x.astype(np.float32), var=pd.DataFrame(index=names)), l1=0.01, max_steps=100
    )
    assert np.allclose(m1.theta, m2.theta)
    assert m1.event_names == names
    path = m1.save(tmp_path / "model.json")
    m3 = CTMC.load(path)
    assert np.array_equal(m3.theta, m1.theta) and m3.event_names == names and m3.l1 == 0.01
    p = m3.order_probability("TP53", "IDH1")
    assert 0 < p < 1 and p == pytest.approx(1 - m3.order_probability("IDH1", "TP53"))
    order, _ = m3.most_likely_order(["TP53", "EGFR", "PTEN"])
    assert sorted(order) == sorted(["TP53", "EGFR", "PTEN"])
    assert m3.log_likelihood(frame).shape == (300,)
    assert len(m3.strongest_effects(3)) <= 3
    # the same events in another column order are matched by name
    np.testing.assert_array_equal(m3.log_likelihood(frame[names[::-1]]), m3.log_likelihood(x))
    with pytest.raises(ValueError, match="do not match"):
        m3.log_likelihood(frame.rename(columns={"PTEN": "KRAS"}))
    with pytest.raises(ValueError, match="a='KRAS' is not an event"):
        m3.order_probability("KRAS", "TP53")
    with pytest.raises(RuntimeError, match="fit"):
        _ = CTMC().theta
    from core.checks import NotFittedError  # also a ValueError, as grn's unfitted model raises

    with pytest.raises(NotFittedError, match="call fit\\(\\) first"):
        _ = CTMC().theta
    with pytest.raises(ValueError, match="call sample_posterior"):
        CTMC().order_probability_samples("a", "b")


def test_a_non_finite_fold_score_survives_save_and_load(tmp_path):
    # save writes a non-finite fold score as null, which load kept as None: the loaded
    # model's write_results then failed (TypeError adding None and float in np.mean)
    import anndata

    model = CTMC(np.zeros((2, 2)), ["TP53", "IDH1"])
    model.l1, model.cv_scores = 0.1, {0.1: [-np.inf, -3.0], 0.2: [-2.0, -3.0]}
    back = CTMC.load(model.save(tmp_path / "model.json"))
    assert np.isnan(back.cv_scores[0.1][0]) and back.cv_scores[0.2] == [-2.0, -3.0]
    cohort = anndata.AnnData(np.zeros((3, 2)), var=pd.DataFrame(index=back.event_names))
    np.testing.assert_array_equal(back.write_results(cohort)["cv_mean"], [np.nan, -2.5])


@pytest.mark.parametrize("content, match", [
    (b"\x80\x04\x95 a pickle", "cannot be read as a prunus.ctmc model file"),
    (b"{not json", "cannot be read as a prunus.ctmc model file"),
    (b"[1, 2]", "is not a prunus.ctmc model file"),
    (b'{"format": "prunus.ctmc/1", "event_names": ["A"]}', "is not a valid prunus.ctmc model"),
])
def test_load_names_a_file_that_is_not_a_model(tmp_path, content, match):
    # a model.pt, a truncated JSON, a list or a file missing theta gave UnicodeDecodeError,
    # JSONDecodeError, AttributeError or KeyError without the path
    bad = tmp_path / "notes.json"
    bad.write_bytes(content)
    with pytest.raises(ValueError, match=f"notes.json {match}"):
        CTMC.load(bad)


def test_load_reads_a_byte_order_mark_and_refuses_deep_nesting_and_text_numbers(tmp_path):
    # a UTF-8 byte-order mark (Notepad) was refused ("Unexpected UTF-8 BOM") where the CSV
    # readers take it, a deeply nested file raised a bare RecursionError without the path,
    # and theta entries written as text ("1.5") or true were read as the numbers 1.5 and 1
    import json

    model = CTMC(np.array([[-1.0, 0.5], [0.0, -2.0]]), ["TP53", "IDH1"])
    text = model.save(tmp_path / "model.json").read_text(encoding="utf-8")
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    (tmp_path / "utf16.json").write_text(text, encoding="utf-16")  # Notepad's "Unicode"
    for name in ("bom.json", "utf16.json"):
        back = CTMC.load(tmp_path / name)
        assert back.theta.tolist() == [[-1.0, 0.5], [0.0, -2.0]]
        assert back.event_names == ["TP53", "IDH1"]
    data = json.loads(text)
    data["theta"] = [[-1, 0], [0, -2]]  # integers are JSON numbers too
    (tmp_path / "ints.json").write_text(json.dumps(data))
    assert CTMC.load(tmp_path / "ints.json").theta.tolist() == [[-1.0, 0.0], [0.0, -2.0]]
    deep = tmp_path / "deep.json"
    deep.write_text('{"format": "prunus.ctmc/1", "theta": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ValueError, match="deep.json cannot be read as a prunus.ctmc model file: "
                                         "its JSON nests too deeply"):
        CTMC.load(deep)
    for entry, kind in [("1.5", "str"), (True, "bool"), (None, "NoneType"), ([0.5], "list")]:
        data["theta"] = [[-1.0, entry], [0.0, -2.0]]
        (tmp_path / "edited.json").write_text(json.dumps(data))
        with pytest.raises(ValueError, match=r"edited.json is not a valid prunus.ctmc model "
                           rf"file: .*theta\[0\]\[1\] is .* \({kind}\); expected a JSON number"):
            CTMC.load(tmp_path / "edited.json")


def test_ham_sparsity_mechanism_runs_and_fits():
    theta = random_sparse_theta(5, sparsity=0.5, seed=2)
    x = sample_trajectories(theta, 800, seed=3).X
    with _capped():  # HAM's decay and Adam's step never settle
        res = fit_theta(x, l1=1 / 800, sparsity="ham", max_steps=150)
    ll = data_log_likelihood(torch.as_tensor(res.theta), x).mean()
    ll_ind = data_log_likelihood(torch.as_tensor(independence_theta(x)), x).mean()
    assert ll > ll_ind + 0.02
    assert np.isfinite(res.theta).all() and res.n_steps == 150
    with pytest.raises(ValueError, match="sparsity"):
        fit_theta(x, l1=0.1, sparsity="lasso")


def test_ham_decay_is_ham_alpha_times_l1(monkeypatch):
    # documented: beta = ham_alpha * l1, the decay that acts like an L1 penalty of strength
    # l1 once alpha |theta| >> 1 (beta = l1 alone would halve the penalty at alpha = 2)
    import core.ham

    seen = []
    real = core.ham.HAM

    def recording(inner, **kwargs):
        seen.append(kwargs)
        return real(inner, **kwargs)

    monkeypatch.setattr(core.ham, "HAM", recording)
    x = sample_trajectories(random_sparse_theta(3, seed=2), 50, seed=3).X
    with _capped():
        fit_theta(x, l1=0.05, sparsity="ham", ham_alpha=3.0, max_steps=2)
    assert seen == [{"alpha": 3.0, "beta": pytest.approx(0.15, abs=1e-15)}]


def test_lbfgs_reaches_the_proximal_adam_optimum_with_exact_zeros():
    from biomodels.ctmc import subset_log_likelihood

    theta = random_sparse_theta(5, sparsity=0.5, seed=4)
    x = sample_trajectories(theta, 2000, seed=5).X
    l1 = 0.005
    adam = fit_theta(x, l1=l1, optimizer="adam")
    owl = fit_theta(x, l1=l1, optimizer="lbfgs")
    assert owl.converged and owl.n_steps < adam.n_steps / 2
    # optimality certificate (KKT of the penalised problem) at the L-BFGS solution
    t = torch.tensor(owl.theta, requires_grad=True)
    (-subset_log_likelihood(t, x).mean()).backward()
    g, off = t.grad.numpy(), ~np.eye(5, dtype=bool)
    nonzero, zero = off & (owl.theta != 0), off & (owl.theta == 0)
    assert zero.sum() >= 5
    assert np.abs(np.diag(g)).max() < 1e-4
    assert np.abs(g[nonzero] + l1 * np.sign(owl.theta[nonzero])).max() < 1e-4
    assert np.abs(g[zero]).max() <= l1 + 1e-4
    # the same penalised optimum, and the same support, as proximal Adam
    assert owl.history[-1] == pytest.approx(adam.history[-1], abs=1e-6)
    assert np.array_equal(owl.theta[off] == 0, adam.theta[off] == 0)
    assert np.abs(owl.theta - adam.theta).max() < 0.01
    with pytest.raises(ValueError, match="sparsity='proximal'"):
        fit_theta(x, l1=l1, optimizer="lbfgs", sparsity="mirror")


def test_cross_validation_checks_data_and_checkpoint_settings(tmp_path):
    from biomodels.ctmc import cross_validate

    x = sample_trajectories(random_sparse_theta(3, seed=0), 40, seed=1).X.astype(float)
    bad = x.copy()
    bad[1, 1] = 0.5  # was cast to 0 by np.asarray(x, uint8)
    with pytest.raises(ValueError, match="non-binary entry 0.5"):
        cross_validate(bad, 0.01, folds=2, max_steps=5)
    with pytest.raises(ValueError, match="non-binary entry 0.5"):
        select_l1(bad, [0.01], folds=2, max_steps=5)
    # without a seed the folds change between runs: a resume would mix two splits
    with pytest.raises(ValueError, match="checkpoint needs a fixed seed"):
        select_l1(x, [0.01], folds=2, seed=None, checkpoint=tmp_path / "cv.json", max_steps=5)
    # a checkpoint from before the held-out floor holds unfloored scores: not mixed in
    import json

    path = tmp_path / "old.json"
    with _capped():
        select_l1(x, [0.01], folds=2, checkpoint=path, max_steps=5)
    saved = json.loads(path.read_text())
    del saved["signature"]["score"]
    path.write_text(json.dumps(saved))
    with pytest.raises(ValueError, match="differs in: score"):
        select_l1(x, [0.01], folds=2, checkpoint=path, max_steps=5)
    # theta0 arrays over 1000 entries have elided reprs; the signature hashes their values
    from biomodels.ctmc.crossval import _setting_key

    a, b = np.zeros((40, 40)), np.zeros((40, 40))
    b[20, 21] = 1.0
    assert repr(a) == repr(b) and _setting_key(a) != _setting_key(b)


def test_cv_checkpoint_tells_theta0_frames_apart(tmp_path):
    # a DataFrame setting was keyed by its repr, which rounds to 6 digits: a warm start
    # differing by 4e-7 (a previous fit's theta_frame()) resumed with the other's scores
    import json

    x = sample_trajectories(random_sparse_theta(6, seed=0), 60, seed=1).X
    a = CTMC().fit(x, l1=0.05, max_steps=20).theta_frame()
    b = a.copy()
    b.iloc[0, 0] += 4e-7
    assert repr(a) == repr(b)
    path, kw = tmp_path / "th0.json", dict(l1_grid=[0.005, 0.05], folds=3, max_steps=20)
    with _capped():  # fold fits at l1 = 0.005
        first = CTMC().fit(x, checkpoint=path, theta0=a, **kw)
    with pytest.raises(ValueError, match=r"differs in: fit\.theta0\)"):
        CTMC().fit(x, checkpoint=path, theta0=b, **kw)
    assert json.loads(path.read_text())["signature"]["fit"]["theta0"].startswith("frame:")
    renamed = a.rename(columns={a.columns[0]: "other"})  # the labels count too
    with pytest.raises(ValueError, match=r"differs in: fit\.theta0\)"):
        CTMC().fit(x, checkpoint=path, theta0=renamed, **kw)
    again = CTMC().fit(x, checkpoint=path, theta0=a.copy(), **kw)  # same frame: resumes
    assert again.cv_scores.keys() == first.cv_scores.keys()
    for g in first.cv_scores:
        np.testing.assert_array_equal(again.cv_scores[g], first.cv_scores[g])


def test_cv_checkpoint_keys_numpy_scalars_as_the_numbers_they_hold(tmp_path, monkeypatch):
    # repr(np.float64(1e-6)) is '1e-06' on numpy 1 and 'np.float64(1e-06)' on numpy 2: a
    # checkpoint was refused on the other numpy, and on numpy 2 tol=1e-6 and
    # tol=np.float64(1e-6) counted as different settings
    import json

    import biomodels.ctmc.crossval as cv
    from biomodels.ctmc.crossval import _setting_key

    # plain values (what `prunus ctmc fit` writes) keep their keys: old checkpoints resume
    assert [_setting_key(v) for v in (1e-06, 3, None, "lbfgs", True, [50, 20, 15.5], (1,))] \
        == ["1e-06", "3", "None", "'lbfgs'", "True", "[50, 20, 15.5]", "(1,)"]
    # as numpy 1 wrote them: a float32 by the shortest text of its precision (numpy 1 wrote
    # np.float32(0.1) as 0.1; its checkpoint was refused when keyed 0.10000000149011612)
    assert [_setting_key(v) for v in (np.float64(1e-6), np.int64(3), np.bool_(True),
                                      [np.float64(1.0), 2], np.float32(0.5),
                                      np.float32(0.1), np.float32(1e-6))] \
        == ["1e-06", "3", "True", "[1.0, 2]", "0.5", "0.1", "1e-06"]
    # whatever numpy's print options (legacy="1.13" prints 12 digits: 0.1 + 0.2 was "0.3")
    with np.printoptions(legacy="1.13"):
        assert _setting_key(np.float64(0.1) + np.float64(0.2)) == "0.30000000000000004"
        assert _setting_key(np.float64(1.0000000000001)) == "1.0000000000001"
        assert _setting_key(np.float32(0.1)) == "0.1"
    x = sample_trajectories(random_sparse_theta(3, seed=0), 40, seed=1).X
    path, kw = tmp_path / "cv.json", dict(folds=2, max_steps=5)
    with _capped():
        _, scores = select_l1(x, [0.01], checkpoint=path, tol=1e-6, **kw)
    real, calls = cv._fold_score, []
    monkeypatch.setattr(cv, "_fold_score", lambda *a: calls.append(a) or real(*a))
    _, again = select_l1(x, [0.01], checkpoint=path, tol=np.float64(1e-6), **kw)
    # a checkpoint written by numpy 2 before the fix still resumes
    saved = json.loads(path.read_text())
    saved["signature"]["fit"]["tol"] = "np.float64(1e-06)"
    path.write_text(json.dumps(saved))
    _, legacy = select_l1(x, [0.01], checkpoint=path, tol=1e-6, **kw)
    assert calls == []  # every fold score came from the checkpoint
    np.testing.assert_array_equal(again[0.01], scores[0.01])
    np.testing.assert_array_equal(legacy[0.01], scores[0.01])
    with pytest.raises(ValueError, match=r"differs in: fit\.tol\)"):
        select_l1(x, [0.01], checkpoint=path, tol=np.float64(2e-6), **kw)
    # a key of today's holding "np." (a dict of numpy scalars) is read as the checkpoint's
    # was: rewritten on the checkpoint's side only, today's own checkpoint was refused
    signature = {"fit": {"opts": _setting_key({"a": np.float64(0.5)})}}
    path.write_text(json.dumps({"format": cv._CHECKPOINT_FORMAT, "signature": signature,
                                "scores": {}}))
    assert cv._read_cv_checkpoint(path, signature) == {}
    with pytest.raises(ValueError, match=r"differs in: fit\.opts\)"):
        cv._read_cv_checkpoint(path, {"fit": {"opts": _setting_key({"a": np.float64(0.6)})}})


def test_fit_refuses_starts_it_cannot_leave_and_sizes_it_cannot_solve():
    x = sample_trajectories(random_sparse_theta(5, seed=0), 300, seed=1).X
    x[0] = 1
    # p(x) = e^-1000 at this start: the fit used to stop at once and report convergence;
    # in log space it is finite, so the fit climbs (far from the optimum: not converged)
    with _capped():
        far = fit_theta(x, l1=0.01, theta0=np.diag([-200.0] * 5), method="exact", max_steps=20)
    assert np.isfinite(far.history).all() and far.history[-1] > far.history[0] + 5
    assert not far.converged
    # rates beyond the floating-point range still stop the fit with a clear error
    with pytest.raises(ValueError, match="not finite at the starting theta"):
        fit_theta(x, l1=0.01, theta0=np.full((5, 5), 1e308), method="exact")
    with pytest.raises(ValueError, match="not finite at step"):
        fit_theta(x, l1=0.01, theta0=np.full((5, 5), 1e308), method="exact", optimizer="adam")
    start = np.zeros((5, 5))
    start[0, 1] = np.nan
    with pytest.raises(ValueError, match="theta0 contains NaN"):
        fit_theta(x, l1=0.01, theta0=start, method="exact")
    with pytest.raises(ValueError, match="mcmc_threshold"):
        fit_theta(x, l1=0.01, method="mcmc", mcmc_threshold=0)
    big = np.zeros((5, 28), dtype=np.uint8)
    big[0] = 1  # 2^28 lattice states: was an out-of-memory RuntimeError
    with pytest.raises(ValueError, match="method='exact': a tumour carries 28 events"):
        fit_theta(big, l1=0.01, method="exact", max_steps=2)


def test_model_state_changes_only_with_a_successful_fit():
    x = sample_trajectories(random_sparse_theta(3, seed=0), 120, seed=1).X
    model = CTMC().fit(x, folds=2, l1_grid=[0.01, 0.1], max_steps=30, event_names=list("ABC"))
    theta = model.theta.copy()
    model.sample_posterior(x, method="svi", svi_steps=2, num_samples=3)
    with pytest.raises(ValueError, match="l1 must be"):
        model.fit(x, l1=-1, event_names=list("PQR"))
    assert model.event_names == list("ABC") and model.l1 in (0.01, 0.1)
    np.testing.assert_array_equal(model.theta, theta)
    x4 = sample_trajectories(random_sparse_theta(4, seed=0), 120, seed=1).X
    model.fit(x4, l1=0.05, event_names=list("PQRS"), max_steps=30)
    assert model.cv_scores == {} and model.posterior_samples is None  # nothing stale
    with pytest.raises(ValueError, match="event_names"):
        CTMC().fit(pd.DataFrame(x, columns=list("ABC")), l1=0.01, event_names=list("XYZ"))


def test_independence_baseline_is_the_maximum_likelihood():
    # the frequency logits ignore that a shared observation time couples the events
    # (GBM: -8.345 per tumour against -8.282 for the fitted diagonal)
    from biomodels.ctmc import independence_fit

    x = sample_trajectories(random_sparse_theta(6, seed=5), 400, seed=6).X
    fitted = independence_fit(x)
    assert np.count_nonzero(fitted - np.diag(np.diag(fitted))) == 0
    from biomodels.ctmc.likelihood_subsets import subset_log_likelihood

    d = torch.tensor(np.diag(fitted).copy(), requires_grad=True)
    ll = subset_log_likelihood(torch.diag(d), torch.as_tensor(x)).mean()
    ll.backward()
    assert float(d.grad.abs().max()) < 1e-4  # a stationary point of the diagonal model
    logit = float(data_log_likelihood(torch.as_tensor(independence_theta(x)), x).mean())
    assert float(ll.detach()) > logit + 1e-3


def test_independence_baseline_is_fitted_on_train_not_on_the_scored_tumours():
    # one event: the maximum-likelihood model gives P(event) = its frequency in train
    # (3 of 4), so the scored tumours get log 0.75 and log 0.25, not log 0.5 (X's own)
    model = CTMC(np.zeros((1, 1)), ["a"])
    got = model.independence_log_likelihood(np.array([[1], [0]]),
                                            train=np.array([[1], [1], [1], [0]]))
    np.testing.assert_allclose(got, np.log([0.75, 0.25]), rtol=0, atol=1e-6)


def test_mirror_fit_reaches_the_l1_optimum_of_the_same_strength():
    # the m * w penalty l1/2 (m^2 + w^2) has minimum l1 |theta| over the factorisations, so
    # the mirror fit must end at the OWL-QN optimum of the same l1 (theta[2, 3] = -0.083,
    # which a penalty twice as strong sets to zero) and score its objective
    x = sample_trajectories(random_sparse_theta(4, seed=0), 200, seed=1).X
    exact = fit_theta(x, l1=0.02)
    mirror = fit_theta(x, l1=0.02, sparsity="mirror", max_steps=2000, tol=1e-7)
    assert abs(exact.theta[2, 3]) > 0.05
    np.testing.assert_allclose(mirror.theta, exact.theta, rtol=0, atol=5e-3)
    assert max(mirror.history) == pytest.approx(max(exact.history), abs=1e-6)


def test_a_fit_that_falls_back_is_not_converged_and_returns_its_best_iterate():
    # the stall rule fired on any change below 1e-6, falls included, and the fit returned
    # a worse last iterate with converged=True
    x = sample_trajectories(random_sparse_theta(5, seed=0), 300, seed=1).X
    res = fit_theta(x, l1=1 / 300, sparsity="mirror", optimizer="adagrad", max_steps=400)
    h = np.asarray(res.history)
    off = res.theta - np.diag(np.diag(res.theta))
    ll = float(data_log_likelihood(torch.as_tensor(res.theta), x).mean())
    assert ll - np.abs(off).sum() / 300 >= np.nanmax(h) - 2e-3  # not worse than the best
    if res.converged:
        assert h[-1] - h[-11] >= -1e-12  # converged never on a fall


@pytest.mark.parametrize("sparsity", ["proximal", "ham"])
def test_first_order_history_ends_with_the_last_iterate_and_the_best_is_returned(sparsity):
    # each step scored the iterate it started from: the last iterate was never scored, the
    # history had n_steps entries and the returned theta could score below max(history)
    x = sample_trajectories(random_sparse_theta(5, seed=0), 200, seed=1).X
    l1 = 1 / 200
    with _capped():  # tol=0: every step is taken
        res = fit_theta(x, l1=l1, method="exact", sparsity=sparsity, optimizer="adam", lr=0.3,
                        max_steps=40, tol=0.0)
    assert len(res.history) == res.n_steps + 1  # the start and after every step
    off = res.theta - np.diag(np.diag(res.theta))
    score = float(data_log_likelihood(torch.as_tensor(res.theta), x).mean())
    assert score - l1 * np.abs(off).sum() == pytest.approx(max(res.history), abs=1e-10)
    with _capped():
        start = fit_theta(x, l1=l1, method="exact", sparsity=sparsity, optimizer="adam",
                          lr=0.3, max_steps=1, tol=0.0)
    assert start.history[0] == pytest.approx(res.history[0], abs=1e-12)  # same start


def test_l1_zero_warns_when_the_likelihood_may_have_no_maximum():
    x = sample_trajectories(random_sparse_theta(5, seed=0), 100, seed=1).X
    with _capped(), pytest.warns(UserWarning,
                                 match="l1 = 0 with some of the 2\\^n states never observed"):
        fit_theta(x, l1=0.0, max_steps=5)


def test_warnings_of_fit_and_read_cohort_point_at_the_callers_line(tmp_path):
    # stacklevel=2 named the package's own call (model.py's fit_theta or validate_cohort,
    # crossval.py's fold fit, data.py's check of the table read), not the caller's line
    x = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 0]] * 5)
    with pytest.warns(UserWarning) as record:
        CTMC().fit(x, l1=0.0, max_steps=3)
    with pytest.warns(UserWarning) as in_cv:
        CTMC().fit(x, l1_grid=[0.0, 0.1], folds=2, max_steps=3)
    pd.DataFrame(x, columns=["A", "B", "C"]).to_csv(tmp_path / "c.csv", index=False)
    with pytest.warns(UserWarning, match="never observed") as on_read:
        read_cohort(tmp_path / "c.csv")
    said = [str(w.message)[:12] for w in record]
    assert said == ["events never", "l1 = 0 with ", "the fit to 2"]  # 3 steps: the step limit
    assert {w.filename for w in [*record, *in_cv, *on_read]} == {__file__}


def test_a_checkpointed_nan_fold_score_resumes(tmp_path):
    # JSON stores NaN as null, and float(None) made the resume fail
    import json

    from biomodels.ctmc.crossval import _CHECKPOINT_FORMAT, _read_cv_checkpoint

    signature = {"grid": "[0.1]"}
    path = tmp_path / "cv.json"
    path.write_text(json.dumps({"format": _CHECKPOINT_FORMAT, "signature": signature,
                                "scores": {"0.1/0": None, "0.1/1": -2.5}}))
    scores = _read_cv_checkpoint(path, signature)
    assert np.isnan(scores["0.1/0"]) and scores["0.1/1"] == -2.5


@pytest.mark.parametrize("state", [{}, {"signature": None, "scores": {}},
                                   {"signature": {"grid": "[0.1]"}, "scores": [1]},
                                   {"signature": {"grid": "[0.1]"}, "scores": {"0.1/0": "x"}}])
def test_a_damaged_checkpoint_is_named(tmp_path, state):
    # KeyError 'signature', "'list' object has no attribute 'items'", naming no file
    import json

    from biomodels.ctmc.crossval import _CHECKPOINT_FORMAT, _read_cv_checkpoint

    path = tmp_path / "cv.json"
    path.write_text(json.dumps({"format": _CHECKPOINT_FORMAT, **state}))
    with pytest.raises(ValueError, match="checkpoint .*cv.json' cannot be read: it is damaged"):
        _read_cv_checkpoint(path, {"grid": "[0.1]"})


def test_fit_checks_the_step_size():
    x = sample_trajectories(random_sparse_theta(3, seed=0), 60, seed=1).X
    # lr = -1 ascended the loss and the best-iterate rule returned the starting theta;
    # lr = nan surfaced as a misleading "theta contains NaN"
    for bad in (-1.0, 0.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="lr: expected"):
            fit_theta(x, l1=0.05, lr=bad, optimizer="adam", max_steps=50)


def test_fit_validates_the_cohort_before_the_l1_zero_check():
    # a plain nested list is validated before the l1 = 0 check reads its shape
    with _capped(), pytest.warns(UserWarning, match="l1 = 0"):
        res = fit_theta([[1, 0], [0, 1], [1, 1]], l1=0.0, max_steps=5)
    assert res.theta.shape == (2, 2)


def test_cross_validation_scores_each_fold_with_a_fit_on_the_other_folds():
    # known answer: the documented per-fold score, rebuilt by hand (fit on the other folds,
    # mean per-tumour log-likelihood of the held-out rows); training on every row, held-out
    # fold included, gave different scores
    from biomodels.ctmc import cross_validate, kfold_indices
    from biomodels.ctmc.crossval import _heldout_theta

    x = sample_trajectories(random_sparse_theta(4, sparsity=0.5, seed=2), 150, seed=3).X
    l1, kw = 0.02, dict(max_steps=60)
    scores = cross_validate(x, l1, folds=3, seed=4, **kw)
    tests = kfold_indices(len(x), 3, seed=4)
    np.testing.assert_array_equal(np.sort(np.concatenate(tests)), np.arange(len(x)))
    hand, in_sample = [], []
    for test in tests:
        train = np.setdiff1d(np.arange(len(x)), test)
        fitted = fit_theta(x[train], l1=l1, seed=4, **kw).theta
        theta = torch.as_tensor(fitted)
        # scored with base rates floored at -log(N_train + 1) (binds only for unseen events)
        floored = torch.as_tensor(_heldout_theta(fitted, len(train)))
        hand.append(data_log_likelihood(floored, x[test]).mean())
        in_sample.append(data_log_likelihood(theta, x[train]).mean())
    assert scores.shape == (3,)
    np.testing.assert_allclose(scores, hand, rtol=1e-10)
    # a fit on all rows scores every fold differently: the check can tell the two apart
    full = torch.as_tensor(fit_theta(x, l1=l1, seed=4, **kw).theta)
    leaked = [data_log_likelihood(full, x[t]).mean() for t in tests]
    assert np.abs(np.asarray(leaked) - hand).max() > 1e-4
    # explicit folds give the same scores
    np.testing.assert_allclose(cross_validate(x, l1, fold_indices=tests, seed=4, **kw), hand,
                               rtol=1e-10)


def _fold_scores_from(table, monkeypatch):
    """Make 3-fold cross-validation score fold k of strength l1 as ``table[l1][k]``.

    Returns the cohort to pass to ``select_l1(..., folds=3, seed=0)``.
    """
    import biomodels.ctmc.crossval as cv

    x = sample_trajectories(random_sparse_theta(3, seed=0), 30, seed=1).X
    folds = cv.kfold_indices(len(x), 3, seed=0)

    def fake_score(x_, l1, test, seed, fit_kwargs):
        k = next(i for i, f in enumerate(folds) if np.array_equal(f, test))
        return table[l1][k]

    monkeypatch.setattr(cv, "_fold_score", fake_score)
    return x


def test_one_standard_error_rule_on_hand_made_fold_scores(monkeypatch):
    # known answer: best mean -4.9 at 0.01 with fold scores (-4.9, -5.1, -4.7), so
    # se = 0.2 / sqrt(3) = 0.1155 (ddof = 1) and the band is means >= -5.0155; the largest
    # strength in it is 0.1 (mean -5.005); 1.0 (mean -5.3) lies outside. With ddof = 0
    # (se 0.0943) 0.1 would drop out; min instead of max would give 0.001.
    table = {
        0.001: [-4.95, -5.05, -4.85],
        0.01: [-4.9, -5.1, -4.7],
        0.1: [-5.005, -5.105, -4.905],
        1.0: [-5.3, -5.3, -5.3],
    }
    x = _fold_scores_from(table, monkeypatch)
    grid = list(table)
    best, scores = select_l1(x, grid, folds=3, seed=0, one_se=True)
    assert best == 0.1
    for g in grid:
        np.testing.assert_array_equal(scores[g], table[g])
    assert select_l1(x, grid, folds=3, seed=0)[0] == 0.01  # plain rule: the best mean
    # a best with no spread leaves a band of width zero: only the best itself
    flat = {g: [v[0]] * 3 for g, v in table.items()}
    table.clear()
    table.update(flat)
    assert select_l1(x, grid, folds=3, seed=0, one_se=True)[0] == 0.01


def test_ctmc_fit_takes_the_one_standard_error_rule(monkeypatch):
    # one_se reached fit_theta through **fit_kwargs too and failed there ("unexpected keyword
    # argument 'one_se'"), after the whole cross-validation
    table = {0.001: [-4.95, -5.05, -4.85], 0.01: [-4.9, -5.1, -4.7],
             0.1: [-5.005, -5.105, -4.905], 1.0: [-5.3, -5.3, -5.3]}
    x = _fold_scores_from(table, monkeypatch)
    model = CTMC().fit(x, l1_grid=list(table), folds=3, seed=0, one_se=True, max_steps=20)
    assert model.l1 == 0.1  # as select_l1(..., one_se=True) chooses on these scores
    assert CTMC().fit(x, l1_grid=list(table), folds=3, seed=0, max_steps=20).l1 == 0.01
    with pytest.raises(TypeError, match="one_se"):
        CTMC().fit(x, one_se="yes")


def test_one_standard_error_band_is_one_standard_error_wide(monkeypatch):
    # best mean -4.9 at 0.01, se = 0.2 / sqrt(3) = 0.1155: the band ends at -5.0155, so 0.1
    # (mean -5.05, 1.35 se below the best) lies outside it and the rule keeps 0.01; a band
    # of two standard errors (-5.131) would take 0.1
    table = {0.01: [-4.9, -5.1, -4.7], 0.1: [-5.05, -5.05, -5.05]}
    x = _fold_scores_from(table, monkeypatch)
    assert select_l1(x, list(table), folds=3, seed=0, one_se=True)[0] == 0.01


def test_strongest_effects_lists_source_target_by_magnitude():
    # rows are the affected event: theta[1, 0] = 3 is A -> B, theta[0, 2] = -5 is C -> A
    theta = np.diag([-8.0, -7.0, -9.0])
    theta[1, 0], theta[0, 2], theta[2, 1] = 3.0, -5.0, 0.5
    model = CTMC(theta, list("ABC"))
    top = model.strongest_effects(2)
    assert list(top.columns) == ["source", "target", "theta"]
    assert list(top.itertuples(index=False, name=None)) == [("C", "A", -5.0), ("A", "B", 3.0)]
    # zeros and the diagonal (base rates) are not effects
    assert list(model.strongest_effects().itertuples(index=False, name=None)) == [
        ("C", "A", -5.0), ("A", "B", 3.0), ("B", "C", 0.5)]


@pytest.mark.parametrize("theta, expected", [
    # ties in magnitude keep theta's order (rows = affected event, then columns); the index
    # is 0..k-1 (it held the rows' places before sorting: [0, 1, 2, 4, 3] here)
    (np.array([[-1.0, 0.5, -0.5], [0.5, -1.0, 0.2], [0.0, 0.5, -1.0]]),
     [("B", "A", 0.5), ("C", "A", -0.5), ("A", "B", 0.5), ("B", "C", 0.5),
      ("C", "B", 0.2)]),
    # no interaction at all (an independence fit, a strong penalty): the theta column held
    # objects, not float64
    (np.diag([-1.0, -2.0, -0.5]), []),
])
def test_strongest_effects_is_a_float_table_indexed_by_rank(theta, expected):
    table = CTMC(theta, list("ABC")).strongest_effects(10)
    assert list(table.itertuples(index=False, name=None)) == expected
    assert table.index.equals(pd.RangeIndex(len(expected)))
    assert table["theta"].dtype == np.float64
    assert table["source"].tolist() == [s for s, _, _ in expected]


def test_owlqn_direction_is_the_newton_step_of_the_bfgs_matrix_on_the_free_block():
    # reference: the dense BFGS matrix from the same pairs and initial scaling, its free block
    # inverted directly; the two-loop product restricted to F is (B^-1)_FF pg, not this
    from biomodels.ctmc.fit import _subspace_direction

    rng = np.random.default_rng(0)
    n, m = 5, 4
    a = rng.normal(size=(n * n, n * n))
    hess = a @ a.T / (n * n) + 0.1 * np.eye(n * n)
    s_list = [rng.normal(size=(n, n)) for _ in range(m)]
    y_list = [(hess @ s.ravel()).reshape(n, n) for s in s_list]
    scale = (y_list[-1] ** 2).sum() / (s_list[-1] * y_list[-1]).sum()
    b = scale * np.eye(n * n)
    for s, y in zip(s_list, y_list):
        s, y = s.ravel(), y.ravel()
        b = b - np.outer(b @ s, b @ s) / (s @ b @ s) + np.outer(y, y) / (y @ s)
    pg = rng.normal(size=(n, n))
    free = rng.random((n, n)) < 0.7
    f = free.ravel()
    want = np.zeros(n * n)
    want[f] = np.linalg.solve(b[np.ix_(f, f)], pg.ravel()[f])
    got = _subspace_direction(
        torch.as_tensor(pg), [torch.as_tensor(s) for s in s_list],
        [torch.as_tensor(y) for y in y_list], torch.as_tensor(free),
    )
    np.testing.assert_allclose(got.numpy().ravel(), want, rtol=1e-8, atol=1e-10)
    # no pairs yet: the pseudo-gradient scaled to a largest entry of at most 1, on F only
    first = _subspace_direction(torch.as_tensor(pg), [], [], torch.as_tensor(free)).numpy()
    np.testing.assert_allclose(first, pg * free / max(1.0, np.abs(pg).max()))


def test_lbfgs_unit_steps_are_accepted_without_backtracking(monkeypatch):
    # the sign-projected full-space L-BFGS step overshot: 128 evaluations for 100 steps here
    # (the line search halved on 28 % of them); the free-block Newton step needs 78 for 76
    from biomodels.ctmc import fit as fit_module

    calls = []
    accumulate = fit_module._Objective.accumulate

    def counted(self, theta):
        calls.append(1)
        return accumulate(self, theta)

    monkeypatch.setattr(fit_module._Objective, "accumulate", counted)
    x = sample_trajectories(random_sparse_theta(8, sparsity=0.5, seed=0), 300, seed=0).X
    res = fit_theta(x, l1=1 / 300, method="exact", optimizer="lbfgs")
    assert res.converged
    assert len(calls) <= 1.1 * res.n_steps + 2 and len(calls) < 100
    assert res.history[-1] == pytest.approx(-4.0655228, abs=1e-6)  # the old solver's optimum
    monkeypatch.undo()
    t = torch.tensor(res.theta, requires_grad=True)
    from biomodels.ctmc import subset_log_likelihood

    (-subset_log_likelihood(t, x).mean()).backward()
    g, off = t.grad.numpy(), ~np.eye(8, dtype=bool)
    nonzero, zero = off & (res.theta != 0), off & (res.theta == 0)
    assert np.abs(np.diag(g)).max() < 1e-4
    assert np.abs(g[nonzero] + np.sign(res.theta[nonzero]) / 300).max() < 1e-4
    assert np.abs(g[zero]).max() <= 1 / 300 + 1e-4


def test_unpenalised_lbfgs_recovers_theta_from_a_near_exact_distribution():
    # Schill et al.'s ExampleApplications.R: given the true distribution, lambda = 0 and a
    # tight tolerance, theta "can often be recovered exactly". Counts round(p * 1e5) of the
    # 32 states move the maximum by < 0.01; the orthant rules of OWL-QN, kept at l1 = 0,
    # clipped entries at zero and stalled 0.15 away in 1000 steps
    theta = random_sparse_theta(5, sparsity=0.5, seed=1)
    p = state_distribution(torch.as_tensor(theta)).numpy()
    states = np.repeat(np.arange(32), np.round(p * 1e5).astype(int))
    x = ((states[:, None] >> np.arange(5)) & 1).astype(np.uint8)
    res = fit_theta(x, l1=0.0, method="statespace", tol=1e-13, max_steps=1000)
    assert res.converged and res.n_steps < 500
    assert np.abs(res.theta - theta).max() < 0.02


def test_lbfgs_recovers_theta_exactly_from_the_true_distribution():
    # the exact p_theta as data weights (R's Learn.MHN(pTh, lambda = 0, reltol = 1e-13)):
    # theta is identifiable from 2^5 - 1 probabilities. An absolute curvature floor
    # (s'y > 1e-12) dropped every L-BFGS pair near the optimum and the fit stalled 0.2 away.
    # Through the public fit_distribution now (it needed _Objective and _fit_owlqn); its
    # default start is R's Learn.Indep, the logits of the marginal frequencies of p
    from biomodels.ctmc import fit_distribution

    theta = random_sparse_theta(5, sparsity=0.5, seed=1)
    p = state_distribution(torch.as_tensor(theta))
    res = fit_distribution(p, l1=0.0, tol=0.0, max_steps=1000)
    assert res.converged and res.optimizer == "lbfgs"
    assert np.abs(res.theta - theta).max() < 1e-4


def _kkt_residual(theta, grad, l1):
    """Largest violation of the optimality conditions, entry by entry from their definition.

    ``grad`` is the gradient of the mean log-likelihood (maximised): 0 on the diagonal,
    ``l1 * sign(theta_ij)`` on non-zero interactions, at most ``l1`` in size on zero ones.
    """
    off = ~np.eye(len(theta), dtype=bool)
    viol = np.abs(grad)  # the diagonal
    nonzero, zero = off & (theta != 0), off & (theta == 0)
    viol[nonzero] = np.abs(grad[nonzero] - l1 * np.sign(theta[nonzero]))
    viol[zero] = np.maximum(np.abs(grad[zero]) - l1, 0.0)
    return float(viol.max())


def _loglik_grad(theta, x, weight=None):
    from biomodels.ctmc import bruteforce_log_likelihood

    w = np.ones(len(x)) if weight is None else np.asarray(weight, dtype=float)
    states, inverse = np.unique(np.asarray(x, dtype=np.uint8), axis=0, return_inverse=True)
    counts = np.bincount(inverse.reshape(-1), weights=w)
    t = torch.tensor(theta, requires_grad=True)
    total = sum(c * bruteforce_log_likelihood(t, s) for s, c in zip(states, counts) if c > 0)
    (total / w.sum()).backward()
    return t.grad.numpy()


def test_fit_optimality_is_the_kkt_residual_of_the_returned_theta():
    # FitResult.optimality certifies a fit: 0 at a stationary point of the penalised
    # likelihood. Known answers: theta fitted to its own exact distribution without a penalty
    # (the MHN paper's recovery) is stationary; a perturbed theta is not
    from biomodels.ctmc import fit_distribution

    theta = random_sparse_theta(5, sparsity=0.5, seed=1)
    p = state_distribution(torch.as_tensor(theta)).numpy()
    states = ((np.arange(32)[:, None] >> np.arange(5)) & 1).astype(np.uint8)
    exact = fit_distribution(p, l1=0.0, theta0=theta, max_steps=1)
    assert exact.optimality < 1e-12
    off = ~np.eye(5, dtype=bool)
    bumped = theta + np.where(off, 0.0, 0.2)  # base rates 0.2 too high
    with _capped():
        moved = fit_distribution(p, l1=0.0, theta0=bumped, max_steps=1, optimizer="adam",
                                 lr=1e-9)
    ref = _kkt_residual(moved.theta, _loglik_grad(moved.theta, states, p), 0.0)
    assert moved.optimality == pytest.approx(ref, rel=1e-6) and ref > 0.01
    # an L1 fit, by OWL-QN and by proximal Adam: the value is the residual of the returned
    # theta computed from the definition (brute-force gradient over all orderings), small
    x = sample_trajectories(random_sparse_theta(5, sparsity=0.5, seed=4), 400, seed=5).X
    l1 = 1 / 400
    for method, optimizer in (("exact", "lbfgs"), ("statespace", "adam")):
        res = fit_theta(x, l1=l1, method=method, optimizer=optimizer)
        g = _loglik_grad(res.theta, x)
        zero = off & (res.theta == 0)
        assert zero.sum() >= 3 and np.abs(g[zero]).max() <= l1 + res.optimality
        assert res.optimality == pytest.approx(_kkt_residual(res.theta, g, l1), rel=1e-6,
                                               abs=1e-12)
        assert res.optimality < 1e-4
        assert f"optimality {res.optimality:.2g}" in repr(res)
    # noisy MCMC gradients certify nothing
    with _capped():
        assert np.isnan(fit_theta(x, l1=l1, method="mcmc", mcmc_threshold=1,
                                  max_steps=2).optimality)


def test_ctmc_fit_info_records_the_optimality_and_saves_it(tmp_path):
    x = sample_trajectories(random_sparse_theta(4, sparsity=0.5, seed=2), 200, seed=3).X
    model = CTMC().fit(x, l1=1 / 200)
    res = fit_theta(x, l1=1 / 200)
    assert model.fit_info["optimality"] == res.optimality < 1e-4
    assert CTMC.load(model.save(tmp_path / "m.json")).fit_info["optimality"] == res.optimality
    with _capped():
        mcmc = CTMC().fit(x, l1=1 / 200, method="mcmc", mcmc_threshold=1, max_steps=2)
    assert mcmc.fit_info["optimality"] is None  # JSON has no NaN


def test_auto_stays_exact_for_a_few_tumours_of_15_to_25_events():
    # one tumour of 16 events used to send a whole cohort to the MCMC route (Adam, 600 steps,
    # a worse optimum); its lattice costs 2^16 entries per event, well within reach
    from biomodels.ctmc.fit import _EXACT_BUDGET, choose_method

    rng = np.random.default_rng(0)
    x = (rng.random((60, 20)) < 0.15).astype(np.uint8)
    x[0] = 0
    x[0, :16] = 1
    assert x.sum(1).max() == 16 and choose_method(x, "auto") == "exact"
    res = fit_theta(x, l1=0.05, method="auto")
    assert res.method == "exact" and res.optimizer == "lbfgs" and res.converged
    # lattices beyond the budget, or tumours beyond 25 events, go to MCMC
    big = np.ones((1, 26), dtype=np.uint8)
    assert choose_method(np.vstack([big, np.zeros((5, 26), np.uint8)]), "auto") == "mcmc"
    many = np.zeros((40, 40), dtype=np.uint8)
    for i in range(40):  # 40 distinct tumours of 22 events: 40 * 2^22 * (40 + 484) entries
        many[i, rng.choice(40, 22, replace=False)] = 1
    assert 40 * 2.0**22 * 524 > _EXACT_BUDGET and choose_method(many, "auto") == "mcmc"
    assert choose_method(x, "mcmc") == "mcmc"  # only auto is resolved


@pytest.mark.parametrize("n", [30, 1023, 1024, 5000])
def test_auto_chooses_a_feasible_method_for_many_events(n):
    # the state space's cost was float(2.0**n) * n, computed for every n: OverflowError
    # (34, 'Numerical result out of range') from 1024 events on (`prunus ctmc fit` of a
    # 10 x 20,000 cohort crashed), and 2.0**sizes warned of an overflow for tumours of
    # 1024 events or more. "exact" is each tumour's own lattice (2^k_s states, not 2^n)
    from biomodels.ctmc.fit import choose_method

    rng = np.random.default_rng(n)
    small = np.zeros((10, n), dtype=np.uint8)
    for i in range(10):  # tumours of 1-6 events: lattices of at most 2^6 states
        small[i, rng.choice(n, i % 6 + 1, replace=False)] = 1
    assert choose_method(small, "auto") == "exact"
    assert choose_method(small, "auto", None) == "exact"
    big = small.copy()
    big[0, : min(n, 2000)] = 1  # 30 to 2,000 events in one tumour: beyond any lattice
    assert choose_method(big, "auto") == "mcmc"
    assert choose_method(big, "statespace") == "statespace"  # only auto is resolved


def test_fit_result_repr_summarises_theta_and_how_the_fit_ended():
    from biomodels.ctmc import FitResult

    theta = np.array([[-1.0, 0.5, 0.0], [0.0, -2.0, 0.0], [0.25, 0.0, -1.5]])
    res = FitResult(theta, "exact", 120, True, [-3.0, -2.5, -2.4567891], "lbfgs")
    assert repr(res) == (
        "FitResult: theta (3, 3) float64, 2 of 6 interactions non-zero\n"
        "    method 'exact', optimizer 'lbfgs', 120 steps, converged, final objective -2.45679")
    # a first-order fit returns its best iterate: the objective shown is that one's
    res = FitResult(theta, "exact", 2, False, [-3.0, -2.4, -2.5], "adam")
    assert repr(res).endswith("2 steps, did not converge, final objective -2.4")
    # mcmc records NaN objectives: no objective is shown; the history is never printed
    res = FitResult(np.zeros((40, 40)), "mcmc", 5000, False, [float("nan")] * 5000)
    assert repr(res) == ("FitResult: theta (40, 40) float64, 0 of 1560 interactions non-zero\n"
                         "    method 'mcmc', optimizer 'adam', 5000 steps, did not converge")


def test_a_fit_builds_the_tables_of_a_large_lattice_once(large_table_builds):
    # every objective evaluation of an exact fit rebuilt the index and membership tables
    # of each tumour with more than 16 events (1.7x the time of an evaluation at 18-20
    # events); the fit keeps them while it runs and gives the same theta.
    rng = np.random.default_rng(0)
    x = (rng.random((40, 18)) < 0.2).astype(np.int64)
    x[0] = 1
    x[0, 4] = 0  # one tumour of 17 events
    with _capped():
        res = fit_theta(x, l1=0.05, method="exact", optimizer="adam", max_steps=3)
    assert res.n_steps == 3 and np.isfinite(res.history).all()
    assert large_table_builds == {"levels": 1, "bits": 1}



def _grad_off() -> object:
    return torch.set_grad_enabled(False)


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode, _grad_off],
                         ids=["no_grad", "inference_mode", "set_grad_enabled"])
def test_fits_train_inside_the_callers_no_grad_block(mode):
    # a fit differentiates its likelihood itself: under the caller's no_grad it failed with
    # torch's "element 0 of tensors does not require grad" (also the independence baseline
    # that independence_log_likelihood fits, a read-out)
    theta = random_sparse_theta(3, seed=0)
    x = sample_trajectories(theta, 80, seed=1).X
    plain = fit_theta(x, l1=0.02, max_steps=30).theta
    baseline = CTMC(theta).independence_log_likelihood(x)
    with mode():
        inside = fit_theta(x, l1=0.02, max_steps=30).theta
        inside_baseline = CTMC(theta).independence_log_likelihood(x)
        assert not torch.is_grad_enabled()  # the caller's mode, as it set it
    assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()
    np.testing.assert_allclose(inside, plain, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(inside_baseline, baseline, rtol=1e-12)


# --- weighted cohorts and exact distributions -------------------------------------------


def _all_states(n):
    return ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(np.uint8)


@pytest.mark.parametrize(("n", "seed"), [(5, 4), (6, 2)])
def test_fit_distribution_recovers_theta_from_its_own_distribution(n, seed):
    # Schill et al.'s check at more thetas (seed 1 at 5 events: the test above). The
    # likelihood is not concave:
    # from the independence start about half of the random thetas at 5 events end at another
    # stationary point 1e-6 nats below (scipy's L-BFGS-B stops there too), so fixed seeds
    theta = random_sparse_theta(n, sparsity=0.5, seed=seed)
    from biomodels.ctmc import fit_distribution

    res = fit_distribution(state_distribution(theta), l1=0.0, tol=0.0, max_steps=1000)
    assert res.method == "statespace" and res.converged
    assert np.abs(res.theta - theta).max() < 1e-4


def test_fit_distribution_matches_the_distribution_where_theta_is_not_identified():
    # at 4 events theta's 16 entries exceed the 15 free probabilities: the fit reproduces
    # p (the objective reaches sum p log p) but not necessarily theta
    from biomodels.ctmc import fit_distribution

    theta = random_sparse_theta(4, sparsity=0.5, seed=1)
    p = state_distribution(torch.as_tensor(theta))
    res = fit_distribution(p.numpy(), l1=0.0, tol=0.0, max_steps=1000, n_events=4)
    assert res.history[-1] == pytest.approx(float((p * p.log()).sum()), abs=1e-10)
    q = state_distribution(torch.as_tensor(res.theta))
    assert float((q - p).abs().max()) < 1e-6


def test_fit_distribution_equals_the_weighted_fit_of_all_states_and_keeps_the_penalty():
    from biomodels.ctmc import fit_distribution

    theta = random_sparse_theta(5, sparsity=0.5, seed=3)
    p = state_distribution(torch.as_tensor(theta)).numpy()
    res = fit_distribution(p, l1=0.02)
    direct = fit_theta(_all_states(5), l1=0.02, method="statespace", sample_weight=p)
    np.testing.assert_array_equal(res.theta, direct.theta)
    off = ~np.eye(5, dtype=bool)
    assert (res.theta[off] == 0).sum() >= 5  # the L1 penalty acts as in a cohort fit
    # the objective recorded is sum_x p(x) log p_theta(x) - l1 |theta_offdiag|
    want = float(p @ data_log_likelihood(torch.as_tensor(res.theta), _all_states(5)))
    assert res.history[-1] == pytest.approx(want - 0.02 * np.abs(res.theta[off]).sum(),
                                            abs=1e-12)


@pytest.mark.parametrize(
    ("p", "kwargs", "error", "match"),
    [
        (np.full(6, 1 / 6), {}, ValueError, r"p must have 2\^n entries"),
        (np.full((4, 2), 1 / 8), {}, ValueError, r"p must be a 1-D vector"),
        (np.full(8, 1 / 8), {"n_events": 4}, ValueError, r"n_events=4 needs 2\^4 = 16"),
        (np.array([0.5, 0.6, -0.1, 0.0]), {}, ValueError, r"p must be non-negative"),
        (np.array([0.5, np.nan, 0.25, 0.25]), {}, ValueError, r"p contains NaN"),
        (np.full(4, 0.3), {}, ValueError, r"p must sum to 1 \(within atol=1e-08\)"),
        (np.full(4, 0.25), {"sample_weight": np.ones(4)}, TypeError, r"sample_weight"),
        (["a", "b"], {}, TypeError, r"p: expected a vector"),
    ],
)
def test_fit_distribution_names_what_is_wrong_with_p(p, kwargs, error, match):
    from biomodels.ctmc import fit_distribution

    with pytest.raises(error, match=match):
        fit_distribution(p, l1=0.0, **kwargs)


@pytest.mark.parametrize(("method", "optimizer"),
                         [("statespace", "lbfgs"), ("exact", "lbfgs"), ("exact", "adam")])
def test_counts_fit_exactly_as_the_cohort_with_repeated_rows(method, optimizer):
    # a deduplicated cohort (unique genotypes + counts) is the same data as its expansion
    x = sample_trajectories(random_sparse_theta(5, sparsity=0.5, seed=0), 400, seed=2).X
    uniq, counts = np.unique(x, axis=0, return_counts=True)
    assert counts.min() == 1 and counts.max() > 10
    rng = np.random.default_rng(0)
    expanded = np.repeat(uniq, counts, axis=0)[rng.permutation(counts.sum())]
    kw = dict(l1=0.01, method=method, optimizer=optimizer, max_steps=60)
    # Adam takes every one of its 60 steps (L-BFGS converges in fewer)
    capped = _capped if optimizer == "adam" else contextlib.nullcontext
    with capped():
        weighted = fit_theta(uniq, sample_weight=counts, **kw)
    with capped():
        plain = fit_theta(expanded, **kw)
    assert weighted.n_steps == plain.n_steps
    np.testing.assert_allclose(weighted.theta, plain.theta, rtol=0, atol=1e-10)
    np.testing.assert_allclose(weighted.history, plain.history, rtol=0, atol=1e-12)
    # the weights are relative: scaling them changes nothing but rounding
    with capped():
        scaled = fit_theta(uniq, sample_weight=counts / counts.sum(), **kw)
    np.testing.assert_allclose(scaled.theta, plain.theta, rtol=0, atol=1e-8)


def test_counts_fit_as_the_repeated_rows_also_with_an_event_never_observed():
    # the start clipped a frequency of 0 at half the lightest count's share, 1 / N with
    # every count >= 2, where the repeated rows clip at 0.5 / N: the base rate of the event
    # never observed (flat in the likelihood) ended 0.55 away from the repeated rows' fit
    x = sample_trajectories(random_sparse_theta(5, sparsity=0.5, seed=0), 400, seed=2).X
    x[:, 4] = 0
    uniq, counts = np.unique(x, axis=0, return_counts=True)
    uniq, counts = uniq[counts >= 2], counts[counts >= 2]
    expanded = np.repeat(uniq, counts, axis=0)
    np.testing.assert_allclose(independence_theta(uniq, sample_weight=counts),
                               independence_theta(expanded), rtol=0, atol=1e-12)
    kw = dict(l1=0.01, method="exact", max_steps=60)
    np.testing.assert_allclose(fit_theta(uniq, sample_weight=counts, **kw).theta,
                               fit_theta(expanded, **kw).theta, rtol=0, atol=1e-10)
    # fractional weights (probabilities) keep half the lightest weight's share
    p = counts / counts.sum()
    f = np.exp(independence_theta(uniq, sample_weight=p)[4, 4])
    assert f / (1 + f) == pytest.approx(0.5 * p.min())


def test_rows_of_weight_zero_change_nothing():
    x = sample_trajectories(random_sparse_theta(5, sparsity=0.5, seed=0), 200, seed=3).X
    w = np.random.default_rng(1).integers(1, 4, len(x)).astype(float)
    base = fit_theta(x, l1=0.01, sample_weight=w)
    # weightless rows: a state never seen, every event at once (which would change the
    # start and, unweighted, the method), and copies of seen rows
    extra = np.vstack([np.ones((1, 5), np.uint8), x[:7], 1 - x[:3]])
    more = fit_theta(np.vstack([x, extra]), l1=0.01,
                     sample_weight=np.concatenate([w, np.zeros(len(extra))]))
    assert more.method == base.method and more.n_steps == base.n_steps
    np.testing.assert_array_equal(more.theta, base.theta)
    np.testing.assert_array_equal(more.history, base.history)


def test_weighted_mcmc_gradient_is_the_weighted_sum_of_per_tumour_gradients():
    from biomodels.ctmc import mcmc_gradient

    theta = torch.as_tensor(random_sparse_theta(10, seed=0))
    events = torch.tensor([[0, 2, 3, 5, 6, 7, 8, 9], [1, 2, 3, 4, 5, 6, 7, 8]])
    w = torch.tensor([3.0, 0.5], dtype=torch.float64)
    kw = dict(compute_dtype=torch.float64)  # float32 terms would round at 1e-7

    def gen():  # the same chains in every call
        return torch.Generator().manual_seed(4)

    weighted, log_is = mcmc_gradient(theta, events, generator=gen(), weight=w, **kw)
    full, log_is_plain = mcmc_gradient(theta, events, generator=gen(), **kw)
    # each tumour's share: weight one tumour at a time
    per = [mcmc_gradient(theta, events, generator=gen(), **kw,
                         weight=torch.eye(2, dtype=torch.float64)[b])[0] for b in range(2)]
    torch.testing.assert_close(per[0] + per[1], full, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(weighted, 3.0 * per[0] + 0.5 * per[1], rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(log_is, log_is_plain)
    with pytest.raises(ValueError, match=r"weight must have shape \(2,\)"):
        mcmc_gradient(theta, events, weight=torch.ones(3))


def test_weighted_mcmc_fit_runs_and_drops_weightless_hypermutated_rows():
    theta, _ = block_theta(7, blocks="synth5", seed=0)
    x = sample_trajectories(theta, 120, seed=1).X
    assert (x.sum(1) >= 8).sum() >= 3  # some tumours go through the MCMC gradient
    w = np.random.default_rng(0).integers(1, 3, len(x))
    with _capped():
        res = fit_theta(x, l1=0.02, method="mcmc", max_steps=20, sample_weight=w)
    assert res.method == "mcmc" and np.isfinite(res.theta).all()
    with _capped():
        more = fit_theta(np.vstack([x, np.ones((2, 12), np.uint8)]), l1=0.02, method="mcmc",
                         max_steps=20, sample_weight=np.concatenate([w, [0, 0]]))
    np.testing.assert_array_equal(more.theta, res.theta)


@pytest.mark.parametrize(
    ("w", "error", "match"),
    [
        (np.ones(3), ValueError, r"sample_weight must have one entry per tumour \(shape \(4,\)\)"),
        (np.ones((4, 1)), ValueError, r"sample_weight must have one entry per tumour"),
        ([1.0, -1.0, 1.0, 1.0], ValueError, r"sample_weight must be non-negative, got -1"),
        ([1.0, np.inf, 1.0, 1.0], ValueError, r"sample_weight contains NaN or infinite"),
        (np.zeros(4), ValueError, r"sample_weight is zero for every tumour"),
        (["a", "b", "c", "d"], TypeError, r"sample_weight: expected one real number"),
    ],
)
def test_sample_weight_errors_name_the_argument(w, error, match):
    x = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
    with pytest.raises(error, match=match):
        fit_theta(x, l1=0.01, sample_weight=w)


def test_ctmc_fit_takes_counts_and_needs_l1_for_them(tmp_path):
    x = sample_trajectories(random_sparse_theta(4, sparsity=0.5, seed=0), 300, seed=5).X
    uniq, counts = np.unique(x, axis=0, return_counts=True)
    model = CTMC().fit(uniq, l1=0.01, sample_weight=counts)
    plain = CTMC().fit(np.repeat(uniq, counts, axis=0), l1=0.01)
    np.testing.assert_allclose(model.theta, plain.theta, rtol=0, atol=1e-10)
    assert model.fit_info["n_tumours"] == len(uniq)
    assert model.fit_info["total_weight"] == 300.0
    # the repr said "fitted on 13 tumours" for a cohort of 300
    assert f"fitted on {len(uniq)} rows of total weight 300:" in repr(model)
    assert repr(CTMC.load(model.save(tmp_path / "m.json"))) == repr(model)
    with pytest.raises(ValueError, match=r"sample_weight needs a given l1"):
        CTMC().fit(uniq, sample_weight=counts)


def test_fit_distribution_takes_a_single_precision_distribution():
    # a float32 state_distribution sums to 1 within ~1e-7: refused under the float64 atol
    from biomodels.ctmc import fit_distribution, state_distribution

    theta = random_sparse_theta(5, seed=1)
    p32 = state_distribution(theta).to(torch.float32)
    p32 = p32 / p32.sum() * (1 + 1.2e-7)  # the round-off of a float32 sum
    for p in (p32, p32.numpy()):
        with _capped():
            res = fit_distribution(p, l1=0.0, max_steps=5)
        assert res.theta.shape == (5, 5)
    with pytest.raises(ValueError, match="atol=1e-08"):
        fit_distribution(p32.double(), l1=0.0, max_steps=5)


def _case_two_optima():
    # the exact distribution of a random 5-event theta from which the default (independence)
    # start converges (optimality < 1e-8) to a theta 3.3 away, 4e-5 below the true optimum
    rng = np.random.default_rng(4)
    rng.uniform(-1.5, 1.5, (3, 3))  # drawn and discarded: the theta below is the next draw
    theta = rng.uniform(-1.5, 1.5, (5, 5))
    return theta, state_distribution(torch.as_tensor(theta)).numpy()


def test_restarts_find_the_better_optimum_that_the_default_start_misses():
    from biomodels.ctmc import fit_distribution

    theta, p = _case_two_optima()
    settings = dict(l1=0.0, tol=0.0, max_steps=1000)
    default = fit_distribution(p, **settings)
    assert default.optimality < 1e-7 and np.abs(default.theta - theta).max() > 1
    res = fit_distribution(p, restarts=2, seed=0, **settings)
    assert np.abs(res.theta - theta).max() < 1e-4 and res.optimality < 1e-7
    record = res.restarts
    objectives = record["objectives"]
    assert len(objectives) == 3 and record["best"] != 0
    # start 0 is the default fit; the returned one scores the true theta's objective
    assert objectives[0] == pytest.approx(default.history[-1], abs=1e-12)
    best = float(p @ data_log_likelihood(torch.as_tensor(theta), _all_states(5)))
    assert objectives[record["best"]] == max(objectives) == pytest.approx(best, abs=1e-9)
    assert max(objectives) - objectives[0] > 3e-5
    assert record["theta_distance"][record["best"]] == 0
    assert record["theta_distance"][0] > 1
    assert "best of 3 starts" in repr(res)


def test_restarts_of_a_tight_fit_return_the_truth_they_found():
    # random_sparse_theta(5, seed=3)'s exact distribution: the default start ends 3.21 from
    # the truth, 1.1e-6 nats below it, and start 2 at the truth (to 1e-14); the default
    # start was returned all the same, as no other beat it by 1e-6 relative, a margin for
    # fits stopped at tol=1e-8 that tol=0 fits (agreeing to 3e-14) do not need
    from biomodels.ctmc import fit_distribution

    theta = random_sparse_theta(5, seed=3)
    p = state_distribution(torch.as_tensor(theta)).numpy()
    res = fit_distribution(p, l1=0.0, tol=0.0, max_steps=1000, restarts=2, seed=0)
    objectives = res.restarts["objectives"]
    assert 1e-7 < objectives[2] - objectives[0] < 1e-6 * abs(objectives[0])
    assert res.restarts["best"] == 2 and np.abs(res.theta - theta).max() < 1e-4
    assert res.restarts["theta_distance"][0] > 3


def test_a_random_start_that_fails_is_recorded_as_nan_and_the_best_finite_one_kept(
        monkeypatch):
    # pins _best_of_starts' branch for a random start whose fit raises (a start beyond the
    # floating-point range): provoked by failing the inner fit of start 2 of 3, the one that
    # wins without the failure. The random starts are drawn whether or not a fit fails, so
    # starts 1 and 3 end as before, start 2 is NaN, and start 3 (better than the default
    # start by 1.5e-5) is returned; a failing default start raises as without restarts
    import biomodels.ctmc.fit as fit_module
    from biomodels.ctmc import fit_distribution

    _, p = _case_two_optima()
    settings = dict(l1=0.0, tol=0.0, max_steps=1000, restarts=2, seed=0)
    plain = fit_distribution(p, **settings)
    assert plain.restarts["best"] == 1
    assert plain.restarts["objectives"][2] > plain.restarts["objectives"][0] + 1e-5
    descend = fit_module._descend

    def failing(which):
        def fit(objective, theta0, *, desc, **kwargs):
            if f"start {which}/3" in desc:
                raise ValueError("log-likelihood is not finite at this start")
            return descend(objective, theta0, desc=desc, **kwargs)
        return fit

    monkeypatch.setattr(fit_module, "_descend", failing(2))
    res = fit_distribution(p, **settings)
    record, before = res.restarts, plain.restarts
    assert record["objectives"][0] == before["objectives"][0]
    assert record["objectives"][2] == before["objectives"][2]
    assert np.isnan(record["objectives"][1]) and np.isnan(record["theta_distance"][1])
    assert record["best"] == 2 and record["converged"] == [True, False, True]
    assert record["theta_distance"][2] == 0.0
    # the theta returned is the one start 3 found without the failure
    assert float(np.abs(res.theta - plain.theta).max()) == before["theta_distance"][2]
    monkeypatch.setattr(fit_module, "_descend", failing(1))
    with pytest.raises(ValueError, match="not finite at this start"):
        fit_distribution(p, **settings)


def test_restarts_zero_is_the_fit_without_restarts():
    x = sample_trajectories(random_sparse_theta(5, sparsity=0.5, seed=2), 150, seed=3).X
    for settings in (dict(l1=0.01), dict(l1=0.01, optimizer="adam", max_steps=30),
                     dict(l1=0.01, sparsity="mirror", max_steps=30)):
        # 30 Adam steps: the step limit ends those fits
        capped = _capped if "max_steps" in settings else contextlib.nullcontext
        with capped():
            plain = fit_theta(x, **settings)
        with capped():
            zero = fit_theta(x, restarts=0, seed=7, **settings)  # the seed draws nothing then
        np.testing.assert_array_equal(zero.theta, plain.theta)
        assert zero.history == plain.history and zero.n_steps == plain.n_steps
        assert zero.optimality == plain.optimality and zero.restarts is None
    model, plain_model = CTMC().fit(x, l1=0.01, restarts=0), CTMC().fit(x, l1=0.01)
    np.testing.assert_array_equal(model.theta, plain_model.theta)
    assert model.fit_info == plain_model.fit_info and "restarts" not in model.fit_info


def test_restarts_that_find_the_same_optimum_return_the_default_starts_fit():
    # starts ending at one optimum differ by round-off (8e-9 here): the best of them by that
    # noise was returned, a theta away from the fit without restarts
    x = sample_trajectories(random_sparse_theta(5, sparsity=0.5, seed=2), 80, seed=3).X
    plain = fit_theta(x, l1=0.01)
    res = fit_theta(x, l1=0.01, restarts=3, seed=0)
    objectives = res.restarts["objectives"]
    # start 3 ends where the default start does, better by round-off only (start 1 and 2
    # at a worse optimum)
    assert 0 < objectives[3] - objectives[0] < 1e-6 * abs(objectives[0])
    assert max(objectives) == objectives[3] and res.restarts["best"] == 0
    np.testing.assert_array_equal(res.theta, plain.theta)


def test_ctmc_fit_records_the_restarts_and_cross_validates_with_them(tmp_path, monkeypatch):
    import biomodels.ctmc.crossval

    x = sample_trajectories(random_sparse_theta(4, sparsity=0.5, seed=2), 120, seed=3).X
    fold_fit, asked = biomodels.ctmc.crossval.fit_theta, []

    def spy(*args, **kwargs):
        asked.append(kwargs.get("restarts", 0))
        return fold_fit(*args, **kwargs)

    monkeypatch.setattr(biomodels.ctmc.crossval, "fit_theta", spy)
    model = CTMC().fit(x, l1_grid=[0.01, 0.05], folds=2, restarts=2, seed=1)
    assert asked == [2] * 4  # every fold fit, as the final fit
    record = model.fit_info["restarts"]
    objectives = record["objectives"]
    # the best, or the default start within the fits' precision of it
    assert len(objectives) == 3 and objectives[record["best"]] >= max(objectives) - 1e-6 * abs(
        max(objectives))
    # the objective recorded is the returned theta's penalised mean log-likelihood
    off = model.theta - np.diag(np.diag(model.theta))
    want = model.log_likelihood(x).mean() - model.l1 * np.abs(off).sum()
    assert record["objectives"][record["best"]] == pytest.approx(want, abs=1e-9)
    # the same seed gives the same starts; the record survives save and load
    again = CTMC().fit(x, l1=model.l1, restarts=2, seed=1)
    assert again.fit_info["restarts"] == record
    assert CTMC.load(model.save(tmp_path / "m.json")).fit_info["restarts"] == record


@pytest.mark.parametrize(("restarts", "error", "match"), [
    (-1, ValueError, "restarts: expected an integer >= 0, got -1"),
    (1.5, TypeError, "restarts: expected an integer >= 0, got 1.5"),
    (True, TypeError, "restarts: expected an integer >= 0, got True"),
    ("2", TypeError, "restarts: expected an integer >= 0, got '2'"),
    (None, TypeError, "restarts: expected an integer >= 0, got None"),
])
def test_restarts_must_be_a_whole_number_of_at_least_zero(restarts, error, match):
    from biomodels.ctmc import fit_distribution

    x = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
    with pytest.raises(error, match=match):
        fit_theta(x, l1=0.01, restarts=restarts)
    with pytest.raises(error, match=match):
        CTMC().fit(x, l1=0.01, restarts=restarts)
    with pytest.raises(error, match=match):
        fit_distribution(np.full(4, 0.25), l1=0.01, restarts=restarts)


def test_restarts_are_refused_where_mcmc_samples_the_objective():
    x = sample_trajectories(random_sparse_theta(4, sparsity=0.5, seed=2), 60, seed=3).X
    with pytest.raises(ValueError, match=r"restarts=2 needs exact objective values"):
        fit_theta(x, l1=0.01, method="mcmc", mcmc_threshold=1, restarts=2)
    # tumours below mcmc_threshold get the exact lattice: the objective is exact there
    res = fit_theta(x, l1=0.01, method="mcmc", mcmc_threshold=20, restarts=1)
    assert len(res.restarts["objectives"]) == 2


def test_load_names_a_newer_format_version_and_says_to_upgrade(tmp_path):
    # a model.json of a later format ("prunus.ctmc/3") was called "not a prunus.ctmc model
    # file", as if it were some other file, where it needs a newer prunus
    import json

    data = json.loads(CTMC(np.zeros((2, 2)), ["A", "B"]).save(tmp_path / "m.json").read_text())
    for version in ("prunus.ctmc/3", "prunus.ctmc/12"):
        data["format"] = version
        (tmp_path / "new.json").write_text(json.dumps(data))
        with pytest.raises(ValueError, match=(
                rf"new.json is a prunus.ctmc model file of format '{version}', newer than "
                r"this version of prunus reads \('prunus.ctmc/1', 'prunus.ctmc/2'\): "
                r"upgrade prunus to load it")):
            CTMC.load(tmp_path / "new.json")
    # a format of the family this version does not know, and a foreign one, are not "newer"
    for version, match in [("prunus.ctmc/x", "has the unknown format 'prunus.ctmc/x'"),
                           ("prunus.cascade/1", "is not a prunus.ctmc model file")]:
        data["format"] = version
        (tmp_path / "other.json").write_text(json.dumps(data))
        with pytest.raises(ValueError, match=f"other.json {match}"):
            CTMC.load(tmp_path / "other.json")


def test_fit_optimality_is_the_largest_pseudo_gradient_entry_in_size():
    # FitResult.optimality is the largest entry of the minimum-norm subgradient *in size*.
    # A mutation-testing audit found that its largest signed entry (no abs) went unnoticed:
    # the converged fits of the tests above have their largest entry positive. Two L-BFGS
    # steps leave the largest one negative: 0.0448 (the mutant's signed maximum: 0.0253).
    # Independent reference: gradient g of the minimised mean negative log-likelihood from
    # the public statespace likelihood by autograd; the diagonal (log base rates) is not
    # penalised (|g|), a non-zero interaction counts |g + l1 sign(theta)|, one at zero
    # max(|g| - l1, 0)
    from biomodels.ctmc import statespace_log_likelihood

    rng = np.random.default_rng(0)
    x = (rng.random((60, 4)) < np.array([0.5, 0.3, 0.2, 0.6])).astype(int)
    l1 = 0.01
    with _capped():
        res = fit_theta(x, l1=l1, method="exact", optimizer="lbfgs", max_steps=2)
    t = torch.tensor(res.theta, requires_grad=True)
    (-statespace_log_likelihood(t, x).mean()).backward()
    g, theta = t.grad.numpy(), res.theta
    off = ~np.eye(4, dtype=bool)
    pg = g.copy()  # the diagonal: the gradient itself
    nonzero, zero = off & (theta != 0), off & (theta == 0)
    pg[nonzero] = g[nonzero] + l1 * np.sign(theta[nonzero])
    pg[zero] = np.sign(g[zero]) * np.maximum(np.abs(g[zero]) - l1, 0.0)
    ref = float(np.abs(pg).max())
    assert res.optimality == pytest.approx(ref, rel=1e-9)
    assert ref == pytest.approx(0.0448, abs=5e-4)
    assert pg.max() < ref - 0.01  # the largest entry in size is a negative one


def test_mcmc_refusals_do_not_advise_exact_for_tumours_it_refuses():
    # with a tumour of 27 events, restarts and L-BFGS under mcmc advised method='exact',
    # which then refused that tumour ("> 25 ... Use method='mcmc'"): a loop
    x = (np.random.default_rng(0).random((60, 30)) < 0.1).astype(int)
    x[0, :27] = 1
    with pytest.raises(ValueError, match=r"too many for method='exact' \(> 25\): use "
                       r"restarts=0$"):
        CTMC().fit(x, l1=0.02, method="mcmc", restarts=2)
    with pytest.raises(ValueError, match=r"too many for method='exact': use "
                       r"optimizer='adam'\)$"):
        CTMC().fit(x, l1=0.02, method="mcmc", optimizer="lbfgs")


def test_an_owlqn_fit_whose_line_search_stalls_away_from_an_optimum_warns(monkeypatch):
    # a line search that found no decrease ended the fit before its limit, away from an
    # optimum, with only FitResult.converged False saying so (no StepLimitWarning either)
    from biomodels.ctmc import fit as fit_module

    calls = []
    accumulate = fit_module._Objective.accumulate

    def worse_after_three(self, theta):  # every trial point after the third scores worse
        calls.append(1)
        return accumulate(self, theta) + (1.0 if len(calls) > 3 else 0.0)

    monkeypatch.setattr(fit_module._Objective, "accumulate", worse_after_three)
    x = sample_trajectories(random_sparse_theta(5, seed=0), 200, seed=1).X
    with pytest.warns(UserWarning, match=(
            r"^the fit to 200 tumours at l1=0\.01 stopped after n_steps=3 of max_steps=300: "
            r"its line search found no decrease while the largest pseudo-gradient entry is "
            r"[0-9.e-]+ \(optimality; 0 at an optimum\), so the estimates may be off the "
            r"optimum; fit from other starts \(restarts=3\) or with optimizer='adam' and "
            r"compare$")) as seen:
        res = fit_theta(x, l1=0.01, method="exact", optimizer="lbfgs")
    assert (res.n_steps, res.converged) == (3, False) and res.optimality > 1e-3
    assert len(seen) == 1 and seen[0].filename == __file__


def test_a_fit_that_ends_at_its_step_limit_warns():
    # a fit that ran out of steps was silent: on the first 8 events of the GBM cohort
    # CTMC().fit(..., l1=0.004, method="exact", optimizer="adam") ended after its 500 steps,
    # theta up to 1.12 from the OWL-QN fit, with only fit_info["converged"] False saying so
    import warnings

    x = sample_trajectories(random_sparse_theta(5, seed=0), 200, seed=1).X
    limit = (r"^the fit to 200 tumours at l1=0\.01 stopped at its step limit, max_steps={0}, "
             r"before its stopping rule fired \(n_steps={0}, converged=False\): the "
             r"estimates may still move with more steps; raise max_steps \(e\.g\. "
             r"max_steps={1}\)$")
    with pytest.warns(UserWarning, match=limit.format(20, 40)) as seen:
        res = fit_theta(x, l1=0.01, method="exact", optimizer="adam", max_steps=20)
    assert (res.n_steps, res.converged) == (20, False) and len(seen) == 1
    assert seen[0].filename == __file__  # the caller's line, not the library's
    for kwargs in (dict(max_steps=2), dict(sparsity="mirror", max_steps=3),
                   dict(restarts=1, max_steps=2)):
        with pytest.warns(UserWarning, match=limit.format(kwargs["max_steps"],
                                                          2 * kwargs["max_steps"])) as seen:
            model = CTMC().fit(x, l1=0.01, **kwargs)
        assert model.fit_info["converged"] is False and len(seen) == 1
        assert model.fit_info["n_steps"] == kwargs["max_steps"]
        assert seen[0].filename == __file__
    # a fit that converges (here by its default steps) says nothing
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fit_theta(x, l1=0.01)
        model = CTMC().fit(x, l1=0.01, sparsity="mirror")
    assert res.converged and res.n_steps < 300 and model.fit_info["converged"]
    # the fits of a cross-validation say which they are: their tumours and strength
    # (the folds' once, together: the GBM cohort's default fit printed a line per fold)
    with pytest.warns(UserWarning, match="stopped at (its|their) step limit") as seen:
        CTMC().fit(x, l1_grid=[0.001, 0.002], folds=2, max_steps=2)
    assert len(seen) == 2 and all(w.filename == __file__ for w in seen)
    assert str(seen[0].message) == (
        "4 of 4 cross-validation fits stopped at their step limit, max_steps=2, before their "
        "stopping rule fired (at l1=0.001, 0.002): their held-out scores may still move, and "
        "with them the choice of l1; raise max_steps (e.g. max_steps=4)")
    assert str(seen[1].message).startswith("the fit to 200 tumours at l1=0.00")
    # re-raised from its message alone (older pytest's warns does so): it failed with
    # "missing 2 required keyword-only arguments"
    from biomodels.ctmc import cross_validate
    from biomodels.ctmc.fit import StepLimitWarning

    assert StepLimitWarning("the fit ...").l1 is None
    # other warnings of the fold fits reach the caller's filters as raised: recorded and
    # raised again without their module, a module= filter of the caller's missed them
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=StepLimitWarning)
        warnings.filterwarnings("ignore", message="l1 = 0", module=__name__)
        cross_validate(x, l1=0.0, folds=2)


@pytest.mark.filterwarnings("ignore::biomodels.ctmc.fit.StepLimitWarning")  # capped: fast
def test_fits_with_progress_run_where_standard_error_is_closed(monkeypatch):
    # under 2>&- Python sets sys.stderr to None and the first tqdm write failed the fit
    # ('NoneType' object has no attribute 'write'): prunus ctmc fit exited 1 with no output
    import sys

    from biomodels.ctmc.crossval import select_l1

    x = sample_trajectories(random_sparse_theta(4, seed=0), 60, seed=1).X
    monkeypatch.setattr(sys, "stderr", None)
    for optimizer in ("lbfgs", "adam"):
        assert fit_theta(x, l1=0.01, method="exact", optimizer=optimizer, max_steps=3,
                         progress=True, restarts=1).n_steps <= 3
    select_l1(x, [0.01, 0.02], folds=2, max_steps=2, progress=True)
    model = CTMC().fit(x, l1=0.01, max_steps=5)
    assert model.sample_posterior(x, method="svi", svi_steps=2, num_samples=3,
                                  progress=True).shape[0] == 3


def test_cross_validation_says_once_that_line_searches_stalled(monkeypatch):
    # each fold fit whose OWL-QN line search stalled away from an optimum warned on its own:
    # a cross-validation repeated the same warning once per fold
    import re
    import warnings

    from biomodels.ctmc import cross_validate
    from biomodels.ctmc import fit as fit_module

    fits = []
    accumulate = fit_module._Objective.accumulate

    def worse_after_three(self, theta):  # each fit's trial points after its third score worse
        if not hasattr(self, "calls"):  # counted on the fit's own objective (an id is reused)
            self.calls = 0
            fits.append(1)
        self.calls += 1
        return accumulate(self, theta) + (1.0 if self.calls > 3 else 0.0)

    monkeypatch.setattr(fit_module._Objective, "accumulate", worse_after_three)
    x = sample_trajectories(random_sparse_theta(5, seed=0), 200, seed=1).X
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        scores = cross_validate(x, 0.01, folds=3, method="exact", optimizer="lbfgs")
    assert len(fits) == 3 and np.isfinite(scores).all()
    assert len(seen) == 1 and seen[0].filename == __file__
    assert re.fullmatch(
        r"3 of 3 cross-validation fits stopped before their step limit, max_steps=300, where "
        r"their line search found no decrease \(at l1=0\.01; the largest pseudo-gradient "
        r"entry there up to [0-9.e-]+, 0 at an optimum\): their held-out scores may be off "
        r"the optimum's, and with them the choice of l1; fit from other starts "
        r"\(restarts=3\) or with optimizer='adam' and compare", str(seen[0].message))
