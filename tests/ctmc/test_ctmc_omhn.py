"""The observation MHN (oMHN; Schill et al. 2024), ``mhn``'s default model.

Before it, ``biomodels.ctmc`` had the classical MHN only: ``CTMC(theta)`` refused an
(n + 1) x n theta (``mhn``'s ``oMHN.log_theta``) with a hint to convert it, ``fit`` had no
``model`` and ``prunus ctmc fit`` no ``--model``.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from biomodels.ctmc import CTMC, fit_distribution, random_sparse_theta, state_distribution


def _states(n: int) -> np.ndarray:
    """All 2^n states in state_index order (bit i = event i)."""
    return ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(np.uint8)


def _bruteforce_observed(full: np.ndarray) -> np.ndarray:
    """P(observed in S) of an oMHN, from its generator with a state-dependent observation.

    The 2^n transient states S jump to S + {i} at exp(theta_ii + sum_{j in S} theta_ij) and
    are absorbed into "observed in S" at exp(sum_{j in S} omega_j); the absorption
    probabilities from the empty state solve -Q_TT B = Q_TA (a dense solve, nothing of the
    package).
    """
    n = full.shape[1]
    ev, omega = full[:-1], full[-1]
    states = _states(n).astype(bool)
    q = np.zeros((2**n, 2**n))
    absorb = np.zeros((2**n, 2**n))
    for s, present in enumerate(states):
        nu = np.exp(omega[present].sum())
        out = nu
        for i in np.flatnonzero(~present):
            rate = np.exp(ev[i, i] + ev[i, present].sum())
            q[s, s | (1 << i)] = rate
            out += rate
        q[s, s] = -out
        absorb[s, s] = nu
    return np.linalg.solve(-q, absorb)[0]


def _random_omhn(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    full = rng.normal(0.0, 1.0, (n + 1, n))
    full[np.arange(n), np.arange(n)] = rng.normal(-1.0, 0.5, n)
    return full


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_omhn_distribution_equals_bruteforce_with_observation_rate(n):
    # before: CTMC(theta) refused an (n + 1, n) theta. The observed-genotype distribution of
    # an oMHN is that of the cMHN with theta_ij - omega_j off the diagonal (same jump chain)
    for seed in range(3):
        full = _random_omhn(n, seed)
        truth = _bruteforce_observed(full)
        assert truth.sum() == pytest.approx(1.0, abs=1e-12)
        model = CTMC(full)
        got = np.exp(model.log_likelihood(_states(n)))
        np.testing.assert_allclose(got, truth, rtol=1e-10, atol=1e-14)
        # the equivalent classical theta, as mhn's get_equivalent_classical_mhn()
        classical = full[:-1] - full[-1]
        np.fill_diagonal(classical, np.diag(full[:-1]))
        np.testing.assert_array_equal(model.classical_theta(), classical)
        # with omega = 0 the brute force is the cMHN's own distribution
        zero = full.copy()
        zero[-1] = 0.0
        np.testing.assert_allclose(_bruteforce_observed(zero),
                                   state_distribution(torch.as_tensor(full[:-1])).numpy(),
                                   rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("method", ["statespace", "exact"])
def test_omhn_objective_gradient_matches_finite_differences(method):
    # the chain rule onto omega: d/d omega_j = -sum_{i != j} dL/dtheta'_ij
    from biomodels.ctmc.fit import _Objective
    from biomodels.ctmc.omhn import _OmhnObjective

    n = 4
    full = torch.as_tensor(_random_omhn(n, 7))
    x = CTMC(full.numpy()).sample(60, seed=3).X
    objective = _OmhnObjective(_Objective(x, method, mcmc_threshold=8, n_samples=50, burn_in=5,
                                          device=torch.device("cpu"), dtype=torch.float64,
                                          seed=0))
    leaf = full.clone().requires_grad_(True)
    objective.accumulate(leaf)
    grad = leaf.grad.clone()

    def value(th: torch.Tensor) -> float:
        return objective.accumulate(th.clone().requires_grad_(True))

    h = 1e-6
    fd = torch.zeros_like(full)
    for i in range(n + 1):
        for j in range(n):
            up, down = full.clone(), full.clone()
            up[i, j] += h
            down[i, j] -= h
            fd[i, j] = (value(up) - value(down)) / (2 * h)
    assert float((grad - fd).abs().max()) < 1e-7
    assert float(grad[-1].abs().max()) > 1e-3  # omega's gradient is not trivially zero


def test_omhn_fit_recovers_equivalent_classical_theta_from_exact_distribution():
    # l1 = 0: the oMHN is identified only up to its classical theta, which the fit recovers
    # (1.7e-5 measured; from 6 events up, where the cMHN fit recovers theta from the default
    # start, see fit_distribution)
    n = 6
    full = np.vstack([random_sparse_theta(n, seed=0), [0.8, -0.6, 0.0, 0.0, 0.0, 0.0]])
    model = CTMC(full)
    p = state_distribution(torch.as_tensor(model.classical_theta())).numpy()
    res = fit_distribution(p, l1=0.0, tol=0.0, max_steps=1000, model="omhn")
    assert res.theta.shape == (n + 1, n)
    fitted = CTMC(res.theta)
    assert np.abs(fitted.classical_theta() - model.classical_theta()).max() < 1e-4


def _sparse_omega_case() -> tuple[np.ndarray, np.ndarray]:
    """A planted oMHN: one interaction (C -> B, +1) and event A raising the observation rate.

    Its classical MHN needs -1.5 on every other event's rate for A (three entries of column
    A), the oMHN one entry of omega: the L1 penalty prefers the oMHN's explanation.
    """
    n = 4
    full = np.zeros((n + 1, n))
    full[np.arange(n), np.arange(n)] = [-0.5, -1.0, -1.5, -0.8]
    full[1, 2] = 1.0
    full[n, 0] = 1.5
    p = state_distribution(torch.as_tensor(CTMC(full).classical_theta())).numpy()
    return full, p


def test_omhn_penalty_finds_planted_sparse_omega():
    full, p = _sparse_omega_case()
    states = _states(4)
    model = CTMC().fit(states, l1=1e-3, sample_weight=p, model="omhn",
                       event_names=["A", "B", "C", "D"])
    assert model.model_type == "omhn" and model.fit_info["model"] == "omhn"
    # omega's support is the planted one: A only (1.28 measured, shrunk from 1.5)
    assert np.flatnonzero(model.omega).tolist() == [0]
    assert model.omega[0] > 1.0
    off = model.theta - np.diag(np.diag(model.theta))
    assert off[1, 2] > 0.8  # the planted interaction
    off[1, 2] = 0.0
    assert np.abs(off).max() < 0.06  # nothing else (0.048 at most measured)
    assert np.all(off[1:, 0] == 0.0)  # no "A inhibits everything" column
    # the same penalty on a cMHN spreads A's observation effect over column A
    cmhn = CTMC().fit(states, l1=1e-3, sample_weight=p)
    assert np.all(cmhn.theta[1:, 0] < -0.25)
    # both describe the same distribution almost equally well
    ll_o = float(np.dot(p, model.log_likelihood(states)))
    ll_c = float(np.dot(p, cmhn.log_likelihood(states)))
    assert abs(ll_o - ll_c) < 5e-3


def _small_cohort(n_tumours: int = 150) -> tuple[np.ndarray, list[str]]:
    full = np.vstack([random_sparse_theta(4, seed=2), [1.0, 0.0, -0.5, 0.0]])
    return CTMC(full).sample(n_tumours, seed=4).X, ["A", "B", "C", "D"]


@pytest.mark.filterwarnings("ignore::biomodels.ctmc.fit.StepLimitWarning")  # capped: fast
@pytest.mark.parametrize("options", [
    dict(l1=0.01, method="exact"),
    dict(l1=0.01, method="statespace", restarts=1),
    dict(l1=0.01, sparsity="mirror", max_steps=60),
    dict(l1=0.01, method="mcmc", mcmc_threshold=2, max_steps=40),
])
def test_omhn_fit_options(options):
    x, names = _small_cohort()
    model = CTMC().fit(x, model="omhn", event_names=names, **options)
    assert model.log_theta.shape == (5, 4) and model.theta.shape == (4, 4)
    assert np.isfinite(model.log_theta).all()
    if "restarts" in options:
        assert len(model.fit_info["restarts"]["objectives"]) == 2


def test_omhn_cross_validation_sample_weight_and_checkpoint(tmp_path):
    x, names = _small_cohort(120)
    path = tmp_path / "cv.json"
    model = CTMC().fit(x, model="omhn", event_names=names, l1_grid=[0.003, 0.03], folds=2,
                       checkpoint=path)
    assert sorted(model.cv_scores) == [0.003, 0.03] and model.model_type == "omhn"
    # the checkpoint holds oMHN fold fits: a cMHN cross-validation refuses it
    with pytest.raises(ValueError, match="belongs to another cross-validation"):
        CTMC().fit(x, event_names=names, l1_grid=[0.003, 0.03], folds=2, checkpoint=path)
    # counts of a deduplicated cohort fit as the repeated rows
    uniq, counts = np.unique(x, axis=0, return_counts=True)
    a = CTMC().fit(uniq, l1=0.01, sample_weight=counts, model="omhn", event_names=names)
    b = CTMC().fit(x, l1=0.01, model="omhn", event_names=names)
    np.testing.assert_allclose(a.log_theta, b.log_theta, atol=1e-6)
    assert model.cross_validate(x, folds=2).shape == (2,)


def test_cmhn_fit_is_unchanged_by_the_option():
    x, names = _small_cohort()
    a = CTMC().fit(x, l1=0.01, event_names=names)
    b = CTMC().fit(x, l1=0.01, event_names=names, model="cmhn")
    np.testing.assert_array_equal(a.theta, b.theta)
    assert a.fit_info == b.fit_info and "model" not in a.fit_info
    assert a.omega is None and a.model_type == "cmhn"
    np.testing.assert_array_equal(a.log_theta, a.theta)


def test_omhn_downstream_quantities_follow_the_classical_jump_chain():
    full = _random_omhn(4, 11)
    model = CTMC(full, ["A", "B", "C", "D"])
    classical = model.to_classical()
    assert model.order_probability("A", "B") == pytest.approx(
        classical.order_probability("A", "B"), abs=1e-14)
    assert model.most_likely_order(["A", "C", "D"]) == classical.most_likely_order(
        ["A", "C", "D"])
    assert model.top_orders(["B", "C"], k=2) == classical.top_orders(["B", "C"], k=2)
    frame = model.theta_frame()
    assert list(frame.index) == ["A", "B", "C", "D", "Observation"]
    np.testing.assert_array_equal(frame.to_numpy(), full)
    effects = model.strongest_effects(30)
    assert (effects["target"] == "Observation").sum() == 4  # every omega entry is non-zero
    assert np.abs(effects["theta"]).is_monotonic_decreasing
    # the sampled genotypes follow the classical distribution
    x = model.sample(20000, seed=0).X
    p = state_distribution(torch.as_tensor(model.classical_theta())).numpy()
    freq = np.bincount(x @ (1 << np.arange(4)), minlength=16) / len(x)
    assert np.abs(freq - p).max() < 0.015


def test_omhn_sample_times_use_the_observation_rate():
    # one event at rate 1, observed at rate 1 before it and 4 after: E[T_obs] = 1/2 + 1/2 *
    # 1/4 = 0.625 (its classical MHN, theta = [[0]], observes at rate 1: E[T_obs] = 1)
    model = CTMC(np.array([[0.0], [np.log(4.0)]]))
    traj = model.sample(40000, seed=5)
    assert traj.obs_time.mean() == pytest.approx(0.625, abs=0.01)
    assert traj.X.mean() == pytest.approx(0.5, abs=0.01)
    assert model.to_classical().sample(40000, seed=5).obs_time.mean() == pytest.approx(
        1.0, abs=0.02)
    # an event happens before the observation
    happened = traj.X[:, 0] == 1
    assert np.all(traj.times[happened, 0] < traj.obs_time[happened])
    with pytest.raises(ValueError, match="obs_time=1.0: an oMHN observes"):
        model.sample(10, obs_time=1.0)
    with pytest.raises(ValueError, match="to_classical"):
        model.sample_posterior(traj.X[:50])


def test_omhn_save_load_and_formats(tmp_path):
    x, names = _small_cohort()
    model = CTMC().fit(x, l1=0.01, model="omhn", event_names=names)
    path = model.save(tmp_path / "omhn.json")
    data = json.loads(path.read_text())
    # a reader from before the oMHN accepts "prunus.ctmc/1" only: it refuses this file
    assert data["format"] == "prunus.ctmc/2" and data["model"] == "omhn"
    assert np.asarray(data["theta"]).shape == (5, 4)
    back = CTMC.load(path)
    assert back.model_type == "omhn" and back.fit_info == model.fit_info
    np.testing.assert_array_equal(back.log_theta, model.log_theta)
    # a square theta in an oMHN file is refused, naming the file
    data["theta"] = data["theta"][:-1]
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="bad.json is not a valid prunus.ctmc model file"):
        CTMC.load(tmp_path / "bad.json")
    # a cMHN is still written as prunus.ctmc/1
    cmhn = CTMC().fit(x, l1=0.01, event_names=names)
    assert json.loads(cmhn.save(tmp_path / "c.json").read_text())["format"] == "prunus.ctmc/1"


def test_legacy_cmhn_file_still_loads(tmp_path):
    # a file as save wrote it before the oMHN (no model key)
    legacy = {"format": "prunus.ctmc/1", "convention": "theta[i, j] = effect of j on i",
              "event_names": ["A", "B"], "theta": [[-1.0, 0.5], [0.0, -2.0]], "l1": 0.01,
              "cv_scores": {}, "fit_info": {"method": "exact"}}
    (tmp_path / "old.json").write_text(json.dumps(legacy))
    model = CTMC.load(tmp_path / "old.json")
    assert model.model_type == "cmhn" and model.omega is None
    np.testing.assert_array_equal(model.theta, [[-1.0, 0.5], [0.0, -2.0]])
    # an (n + 1, n) theta in a prunus.ctmc/1 file is not silently read as an oMHN
    legacy["theta"] = [[-1.0, 0.5], [0.0, -2.0], [0.3, 0.0]]
    (tmp_path / "odd.json").write_text(json.dumps(legacy))
    with pytest.raises(ValueError, match="odd.json is not a valid"):
        CTMC.load(tmp_path / "odd.json")


def test_omhn_bad_inputs_are_refused_clearly():
    full = _random_omhn(3, 0)
    bad = full.copy()
    bad[-1, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite .*row 3, column 1, in omega"):
        CTMC(bad)
    with pytest.raises(ValueError, match=r"square \(n, n\) matrix, got shape \(5, 3\)"):
        CTMC(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"square \(n, n\) .* got shape \(3, 4\): pass theta\.T"):
        CTMC(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="event_names has 2 entries but theta has 3 rows"):
        CTMC(full, ["A", "B"])
    x, names = _small_cohort(40)
    with pytest.raises(ValueError, match="model must be 'cmhn' or 'omhn', got 'xmhn'"):
        CTMC().fit(x, l1=0.01, model="xmhn")
    with pytest.raises(ValueError, match=r"theta0 must have shape \(5, 4\)"):
        CTMC().fit(x, l1=0.01, model="omhn", theta0=np.zeros((3, 4)))


def test_omhn_write_results_and_plot():
    anndata = pytest.importorskip("anndata")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from biomodels.ctmc import plot_theta

    full = _random_omhn(3, 1)
    model = CTMC(full, ["A", "B", "C"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        adata = anndata.AnnData(np.zeros((2, 3)), var=pd.DataFrame(index=["C", "A", "B"]))
    info = model.write_results(adata)
    assert info["model"] == "omhn"
    np.testing.assert_array_equal(info["omega"], full[-1][[2, 0, 1]])
    np.testing.assert_array_equal(adata.varp["ctmc"], full[:-1][np.ix_([2, 0, 1], [2, 0, 1])])
    ax = plot_theta(model.theta_frame())
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B", "C", "Observation"]
    plt.close(ax.figure)


def test_cli_fit_model_omhn_round_trip(tmp_path):
    from core.cli import main

    x, names = _small_cohort()
    frame = pd.DataFrame(x, columns=names)
    frame.to_csv(tmp_path / "cohort.csv", index=False)
    out = tmp_path / "out"
    code = main(["ctmc", "fit", str(tmp_path / "cohort.csv"), "--model", "omhn", "--l1",
                 "0.01", "--folds", "2", "--quiet", "--out", str(out)])
    assert code == 0
    theta = pd.read_csv(out / "theta.csv", index_col=0)
    assert list(theta.index) == [*names, "Observation"] and list(theta.columns) == names
    model = CTMC.load(out / "model.json")
    assert model.model_type == "omhn"
    np.testing.assert_allclose(theta.to_numpy(), model.log_theta, rtol=0, atol=1e-12)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "omhn"
    assert metrics["nonzero_observation_effects"] == int(np.count_nonzero(model.omega))
    off = np.abs(model.theta - np.diag(np.diag(model.theta))).sum()
    assert metrics["penalised_loglik_per_tumour"] == pytest.approx(
        metrics["train_loglik_per_tumour"] - 0.01 * (off + np.abs(model.omega).sum()))
    assert metrics["heldout_loglik_per_tumour"] > metrics["independence_heldout_loglik_per_tumour"]


@pytest.mark.filterwarnings("ignore::biomodels.ctmc.fit.StepLimitWarning")  # capped: fast
def test_an_event_named_as_the_observation_row_is_refused_before_the_fit():
    # theta_frame and theta.csv label omega "Observation": an event of that name ran the
    # whole fit and cross-validation, then failed on "repeated labels" with no output


    X = pd.DataFrame(np.array([[1, 0], [0, 1], [1, 1], [0, 0]] * 5), columns=["Observation", "B"])
    with pytest.raises(ValueError, match="rename the event"):
        CTMC().fit(X, l1=0.01, model="omhn")
    with pytest.raises(ValueError, match="rename the event"):
        CTMC(np.zeros((3, 2)), ["Observation", "B"])
    CTMC().fit(X, l1=0.01, max_steps=5)  # a cMHN has no observation row: fine


def test_a_theta_csv_of_mhn_or_of_prunus_loads_back_by_its_labels(tmp_path):
    # mhn's oMHN.save writes events as columns and the events, then "Observation", as rows;
    # read back with pd.read_csv(index_col=0), CTMC refused the frame ("must be a
    # torch.Tensor or numpy array"), and theta_frame() could not be fed back either
    rng = np.random.default_rng(0)
    names = ["TP53", "EGFR", "IDH1"]
    full = rng.normal(size=(4, 3))
    om = CTMC(full, names)
    path = tmp_path / "mhn_omhn.csv"
    pd.DataFrame(full, index=[*names, "Observation"], columns=names).to_csv(path)
    back = CTMC(pd.read_csv(path, index_col=0))
    assert back.event_names == names
    np.testing.assert_allclose(back.log_theta, om.log_theta, rtol=1e-15)  # CSV's digits
    # rows in another order are matched to the columns by label
    frame = om.theta_frame().iloc[[2, 0, 1, 3]]
    np.testing.assert_array_equal(CTMC(frame).log_theta, om.log_theta)
    cm = CTMC(full[:3], names)
    np.testing.assert_array_equal(CTMC(cm.theta_frame()).theta, cm.theta)
    # the rows' labels as event names, a transposed oMHN, a missing Observation row
    with pytest.raises(ValueError, match="an mhn CSV's columns, not its rows"):
        CTMC(full, [*names, "Observation"])
    with pytest.raises(ValueError, match=r"pass theta\.T"):
        CTMC(full.T, names)
    with pytest.raises(ValueError, match="last row must be named 'Observation'"):
        CTMC(pd.DataFrame(full, index=[*names, "obs"], columns=names))
    # an event called NA: README's recipe read its row label as missing, and the refusal
    # did not say why
    named = ["NA", "EGFR", "IDH1"]
    pd.DataFrame(full, index=[*named, "Observation"], columns=named).to_csv(path)
    with pytest.raises(ValueError, match=r"A row label was read as missing: pd\.read_csv reads "
                       r"the names NA, nan, None and null as missing unless given "
                       r"keep_default_na=False, na_values=\[''\]$"):
        CTMC(pd.read_csv(path, index_col=0))
    back = CTMC(pd.read_csv(path, index_col=0, keep_default_na=False, na_values=[""],
                            float_precision="round_trip"))
    assert back.event_names == named
    np.testing.assert_array_equal(back.log_theta, full)
    with pytest.raises(ValueError) as exc:  # no missing label: no such advice
        CTMC(pd.DataFrame(full, index=[*names, "obs"], columns=names))
    assert "missing" not in str(exc.value)


def test_write_results_of_an_omhn_says_what_varp_holds():
    # the stored convention read as a cMHN theta: varp holds only the oMHN's event rows
    import anndata

    full = np.random.default_rng(1).normal(size=(3, 2))
    adata = anndata.AnnData(np.zeros((2, 2)), var=pd.DataFrame(index=["A", "B"]))
    info = CTMC(full, ["A", "B"]).write_results(adata)
    assert "omega" in info["convention"] and "observation" in info["convention"]
    cm = anndata.AnnData(np.zeros((2, 2)), var=pd.DataFrame(index=["A", "B"]))
    assert "omega" not in CTMC(full[:2], ["A", "B"]).write_results(cm)["convention"]
