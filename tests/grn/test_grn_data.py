"""Tests of biomodels.grn.datasets and biomodels.grn.simulate (known answers, planted truth)."""

from __future__ import annotations

import re
import time
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

import biomodels.grn.datasets as datasets
from biomodels.grn.datasets import krumsiek11, krumsiek11_network, krumsiek11_simulate
from biomodels.grn.evaluate import evaluate
from biomodels.grn.simulate import _HillNetwork, corrupt_prior, simulate_hill_network

KRUMSIEK_GENES = [
    "Gata2", "Gata1", "Fog1", "EKLF", "Fli1", "SCL", "Cebpa", "Pu.1", "cJun", "EgrNab", "Gfi1",
]  # fmt: skip

# METHODS 6.1 (scanpy/sim_models/krumsiek11.txt read target-first), regulator -> target: weight
KRUMSIEK_EDGES = {
    ("Gata2", "Gata1"): 1.0, ("Gata2", "Pu.1"): -1.0,
    ("Gata1", "Gata2"): -0.1, ("Gata1", "Fog1"): 0.1, ("Gata1", "EKLF"): 0.2,
    ("Gata1", "Fli1"): 0.2, ("Gata1", "SCL"): 1.0, ("Gata1", "Cebpa"): -1.0,
    ("Gata1", "Pu.1"): -1.0,
    ("Fog1", "Gata2"): -1.0, ("Fog1", "Cebpa"): -1.0,
    ("Pu.1", "Gata2"): -1.15, ("Pu.1", "Gata1"): -1.21, ("Pu.1", "SCL"): -1.0,
    ("Pu.1", "cJun"): 1.0, ("Pu.1", "EgrNab"): 1.0,
    ("Fli1", "Gata1"): 1.0, ("Fli1", "EKLF"): -1.0,
    ("EKLF", "Fli1"): -1.0,
    ("SCL", "Cebpa"): -1.0,
    ("Cebpa", "Pu.1"): 10.0, ("Cebpa", "Gfi1"): 1.0,
    ("cJun", "EgrNab"): 1.0,
    ("EgrNab", "Gfi1"): -5.0,
    ("Gfi1", "cJun"): -1.0, ("Gfi1", "EgrNab"): -1.3,
    ("Gata2", "Gata2"): 1.0, ("Gata1", "Gata1"): 0.1, ("Cebpa", "Cebpa"): 10.0,
    ("Pu.1", "Pu.1"): 10.0,
}  # fmt: skip


@pytest.fixture(scope="module")
def k11():
    return krumsiek11()


def test_krumsiek11_network_matches_the_published_table():
    net = krumsiek11_network()
    assert list(net.index) == KRUMSIEK_GENES and list(net.columns) == KRUMSIEK_GENES
    expected = pd.DataFrame(0.0, index=KRUMSIEK_GENES, columns=KRUMSIEK_GENES)
    for (reg, tgt), w in KRUMSIEK_EDGES.items():
        expected.loc[reg, tgt] = w
    pd.testing.assert_frame_equal(net, expected, check_names=False)
    values = net.to_numpy()
    off = ~np.eye(11, dtype=bool)
    assert int((values[off] != 0).sum()) == 26
    assert int((np.diag(values) != 0).sum()) == 4
    assert int((values > 0).sum()) == 15 and int((values < 0).sum()) == 15
    # orientation: rows regulate columns (the file is target-first)
    assert net.loc["Cebpa", "Pu.1"] == 10.0 and net.loc["Pu.1", "Cebpa"] == 0.0
    assert net.loc["Pu.1", "Gata1"] < 0 and net.loc["Gata1", "Pu.1"] < 0


def test_krumsiek11_trajectories(k11):
    import scanpy as sc

    assert k11.shape == (640, 11)
    assert list(k11.var_names) == KRUMSIEK_GENES
    assert k11.obs_names.is_unique
    assert isinstance(k11.obs["trajectory"].dtype, pd.CategoricalDtype)
    assert k11.obs["trajectory"].value_counts().tolist() == [160] * 4
    assert k11.obs["time"].dtype == np.float64
    for k in range(4):
        sub = k11[k11.obs["trajectory"] == str(k)]
        np.testing.assert_array_equal(sub.obs["time"].to_numpy(), np.arange(160.0))
        start = sub.X[0]
        # progenitor state: Gata2, Cebpa, Pu.1 high, everything else off
        high = [KRUMSIEK_GENES.index(g) for g in ("Gata2", "Cebpa", "Pu.1")]
        assert np.all(start[high] > 0.75)
        assert np.all(np.abs(np.delete(start, high)) < 0.01)
        assert sub.obs["cell_type"].iloc[0] == "progenitor"
    fates = [k11.obs["cell_type"].iloc[160 * k + 159] for k in range(4)]
    assert fates == ["Mo", "Ery", "Mk", "Neu"]
    # boundaries are real: steps within a trajectory are small, the restarts are jumps
    jumps = np.abs(np.diff(k11.X, axis=0)).max(axis=1)
    boundary = np.arange(159, 639, 160)
    assert jumps[boundary].min() > 5 * np.delete(jumps, boundary).max()
    # the data and scanpy's annotations are untouched
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = sc.datasets.krumsiek11()
    np.testing.assert_array_equal(k11.X, raw.X)
    assert k11.obs["cell_type"].tolist() == raw.obs["cell_type"].tolist()
    truth = pd.DataFrame(k11.varp["truth"], index=k11.var_names, columns=k11.var_names)
    pd.testing.assert_frame_equal(truth, krumsiek11_network(), check_names=False)
    k11.copy()  # no duplicate-name warning (warnings are errors in the tests)


def test_krumsiek11_correlation_baseline(k11):
    """METHODS 2.10: |Pearson| over all 640 cells scores AUROC 0.69, AUPRC 0.41, EPR 2.12."""
    genes = k11.var_names
    c = np.abs(np.corrcoef(k11.X.T))
    # corrcoef is symmetric only up to BLAS round-off (1e-16, numpy-version dependent);
    # symmetrise so that (i, j) and (j, i) tie as BEELINE assumes (else AUPRC 0.40 or 0.41)
    corr = pd.DataFrame((c + c.T) / 2, index=genes, columns=genes)
    m = evaluate(corr, krumsiek11_network())
    assert m["auroc"] == pytest.approx(0.69, abs=0.005)
    assert m["auprc"] == pytest.approx(0.41, abs=0.005)
    assert m["epr"] == pytest.approx(2.12, abs=0.01)
    assert m["density"] == pytest.approx(26 / 110)


def _one_step_fit(k11) -> tuple[float, float]:
    """R^2 of the data's one-step changes under one noise-free step, residual lag-1 corr."""
    x = np.asarray(k11.X, dtype=np.float64)
    t = k11.obs["time"].to_numpy()
    rows = np.flatnonzero(t < t.max())
    pred = krumsiek11_simulate(x[rows], 2)[1]
    resid = x[rows + 1] - pred
    r2 = 1 - (resid**2).sum() / ((x[rows + 1] - x[rows]) ** 2).sum()
    return float(r2), float(np.corrcoef(resid[:-1].ravel(), resid[1:].ravel())[0, 1])


def test_krumsiek11_simulate_is_the_data_generator(k11, monkeypatch):
    # known answer: the model file's Hill kinetics, 5 Euler steps a recorded step, leave
    # only the data's dynamic noise, white (a wrong time axis leaves correlated residuals)
    r2, lag1 = _one_step_fit(k11)
    assert r2 > 0.93 and abs(lag1) < 0.05
    monkeypatch.setattr(datasets, "_SUBSTEPS", 1)  # the file's own time step: far off
    r2, lag1 = _one_step_fit(k11)
    assert r2 < 0.5 and lag1 > 0.5


def test_krumsiek11_kinetics_equal_scanpys_simulator():
    # the same derivative as scanpy's own (private) simulator, at random states
    import gc

    sim = pytest.importorskip("scanpy.tools._sim")
    state = np.random.get_state()  # its constructor seeds numpy's global generator
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # it leaves the model file open
        ref = sim.GRNsim(model="krumsiek11", modelType="hill", params={"seed": 0})
        gc.collect()
    np.random.set_state(state)
    ours = datasets._HillKinetics(datasets._model_file())
    assert list(ref.varNames) == ours.genes and ref.invTimeStep == ours.rate
    x = np.random.default_rng(0).uniform(-0.05, 1.1, (50, 11))
    expected = np.stack([ref.Xdiff_hill(row) for row in x])
    np.testing.assert_allclose(ours.derivative(x), expected, rtol=1e-12, atol=1e-15)
    assert np.abs(expected).max() > 0.01


def test_krumsiek11_simulate_pu1_knockout(k11):
    # Pu.1 represses Gata2, Gata1 and SCL and activates cJun and EgrNab (Krumsiek et al.)
    start = k11[k11.obs["time"] == 0].X.mean(axis=0)
    wild = krumsiek11_simulate(start, 60)
    ko = krumsiek11_simulate(start, 60, perturb={"Pu.1": 0.0})
    assert wild.shape == ko.shape == (60, 11)
    np.testing.assert_array_equal(wild[0], start)
    change = pd.Series(ko[50] - wild[50], index=KRUMSIEK_GENES)
    assert (ko[:, KRUMSIEK_GENES.index("Pu.1")] == 0).all()
    assert (change[["Gata2", "Gata1", "SCL"]] > 0.3).all()
    assert (change[["cJun", "EgrNab"]] < -0.05).all()
    # many starts at once: the same as one at a time
    both = krumsiek11_simulate(np.stack([start, start * 0.5]), 10, perturb={"Gata1": 1.0})
    assert both.shape == (10, 2, 11)
    np.testing.assert_array_equal(both[:, 1], krumsiek11_simulate(start * 0.5, 10,
                                                                  perturb={"Gata1": 1.0}))


@pytest.mark.parametrize("args,kwargs,error,message", [
    ((np.zeros(10),), {}, ValueError, "y0 must have shape"),
    ((np.full(11, np.nan),), {}, ValueError, "y0 must be finite"),
    ((np.zeros(11), 0), {}, ValueError, "n_steps must be an integer >= 1"),
    ((np.zeros(11),), {"perturb": {"Pu1": 0.0}}, ValueError, "['Pu1']"),
    ((np.zeros(11),), {"perturb": {"Pu.1": float("inf")}}, ValueError, "finite numbers"),
    ((np.zeros(11),), {"perturb": {"Pu.1": "off"}}, ValueError, "finite numbers"),
    ((np.zeros(11),), {"perturb": [("Pu.1", 0.0)]}, TypeError, "perturb must be a mapping"),
])  # fmt: skip
def test_krumsiek11_simulate_bad_input(args, kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        krumsiek11_simulate(*args, **kwargs)


@pytest.mark.parametrize("perturb", [
    {np.str_("Pu.1"): np.float32(0.0)}, {"Pu.1": torch.tensor(0.0)}, {"Pu.1": np.array(0.0)},
    {"Pu.1": np.int64(0)}, pd.Series({"Pu.1": 0.0}),
], ids=["numpy str and float32", "0-d tensor", "0-d array", "numpy int", "Series"])
def test_krumsiek11_simulate_takes_the_perturbations_grnmodel_takes(perturb):
    # before: a tensor or 0-d array value was "not a finite number" and a Series "not a
    # mapping", while GRNModel.simulate took the first two
    y0 = np.full(11, 0.5)
    np.testing.assert_array_equal(krumsiek11_simulate(y0, 5, perturb=perturb),
                                  krumsiek11_simulate(y0, 5, perturb={"Pu.1": 0.0}))
    with pytest.raises(ValueError, match=re.escape("perturb names genes more than once: "
                                                   "['Pu.1']")):
        krumsiek11_simulate(y0, 5, perturb=pd.Series([0.0, 1.0], index=["Pu.1", "Pu.1"]))


# ---------------------------------------------------------------- simulator


@pytest.fixture(scope="module")
def sim():
    return simulate_hill_network(30, seed=3)


def _net_from(adata) -> _HillNetwork:
    p = adata.uns["hill_network"]
    return _HillNetwork(
        adata.varp["truth"], p["ec50"], p["hill_n"], p["logic"] == "and", p["rate"],
        adata.var["input"].to_numpy(),
    )  # fmt: skip


def test_simulator_layout(sim):
    g, b, t = 30, 100, 6
    assert sim.shape == (b * t, g)
    assert sim.X.dtype == np.float32
    assert sim.obs["trajectory"].value_counts().tolist() == [t] * b
    assert isinstance(sim.obs["trajectory"].dtype, pd.CategoricalDtype)
    np.testing.assert_allclose(sim.obs["time"].to_numpy()[:t], np.linspace(0, 8, t))
    truth = sim.varp["truth"]
    assert set(np.unique(truth)) <= {-1.0, 0.0, 1.0}
    assert np.all(np.diag(truth) == 0)
    regulated = (truth != 0).any(axis=0)
    assert np.array_equal(regulated, ~sim.var["input"].to_numpy())
    assert sim.var["tf"].sum() <= round(0.3 * g)  # only TFs regulate
    assert 1.5 * (~sim.var["input"]).sum() < (truth != 0).sum() < 3 * g
    assert 0.5 < (truth > 0).sum() / (truth != 0).sum() < 0.85


def test_simulator_is_bounded_noisy_and_non_trivial(sim):
    clean = sim.layers["noise_free"]
    assert clean.min() >= 0.0 and clean.max() <= 1.0
    resid = sim.X - clean
    assert resid.std() == pytest.approx(0.05, rel=0.05)
    traj = clean.reshape(100, 6, 30)
    moving = ~sim.var["input"].to_numpy()
    assert np.abs(traj[:, -1, moving] - traj[:, 0, moving]).mean() > 0.1
    assert traj[:, -1, moving].std(axis=0).mean() > 0.05  # steady states differ across runs
    inputs = ~moving
    np.testing.assert_allclose(traj[:, :, inputs], np.repeat(traj[:, :1, inputs], 6, axis=1))


def test_simulator_solution_satisfies_the_ode(sim):
    """An independent fixed-step RK4 from the same start reproduces the stored solution."""
    net = _net_from(sim)
    traj = sim.layers["noise_free"].reshape(100, 6, 30).astype(np.float64)
    x = traj[:5, 0]
    times = np.linspace(0, 8, 6)
    h = 0.01
    out = [x]
    for t0, t1 in zip(times[:-1], times[1:]):
        for _ in range(int(round((t1 - t0) / h))):
            k1 = net.velocity(x)
            k2 = net.velocity(x + h / 2 * k1)
            k3 = net.velocity(x + h / 2 * k2)
            k4 = net.velocity(x + h * k3)
            x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        out.append(x)
    np.testing.assert_allclose(np.stack(out, axis=1), traj[:5], atol=1e-4)


def test_planted_truth_is_the_sign_of_the_jacobian(sim, rng):
    """d f_target / d x_regulator has the planted sign on edges and is zero elsewhere."""
    net = _net_from(sim)
    truth = sim.varp["truth"]
    moving = ~sim.var["input"].to_numpy()
    x = rng.uniform(0.1, 0.9, size=(4, 30))
    eps = 1e-6
    for i in range(30):
        d = np.zeros(30)
        d[i] = eps
        jac = (net.production(x + d) - net.production(x - d)) / (2 * eps)  # (4, G)
        jac[:, i] = 0.0
        jac[:, ~moving] = 0.0
        edge = truth[i] != 0
        assert np.all(np.sign(jac[:, edge]) == truth[i, edge])
        assert np.all(jac[:, ~edge] == 0.0)


def test_hill_function_is_normalised():
    sign = np.array([[0.0, 1.0], [0.0, 0.0]])
    ec50 = np.array([[0.0, 0.45], [0.0, 0.0]])
    hill_n = np.array([[0.0, 1.6], [0.0, 0.0]])
    net = _HillNetwork(
        sign, ec50, hill_n, np.array([True, True]), np.array([0.0, 1.0]), np.array([True, False])
    )
    levels = np.array([[0.0, 0.3], [0.45, 0.3], [1.0, 0.3]])
    np.testing.assert_allclose(net.production(levels)[:, 1], [0.0, 0.5, 1.0], atol=1e-12)
    rep = _HillNetwork(
        -sign, ec50, hill_n, np.array([True, True]), np.ones(2), np.array([1, 0]) > 0
    )
    np.testing.assert_allclose(rep.production(levels)[:, 1], [1.0, 0.5, 0.0], atol=1e-12)


def test_simulator_kinetics_are_drawn_from_the_documented_ranges(sim):
    # module docstring: K in [0.4, 0.52], n in [1.4, 1.8] per edge; rates U(0.5, 1.5), 0 for
    # the inputs (held constant); no parameters off the edges
    p = sim.uns["hill_network"]
    edge = sim.varp["truth"] != 0
    ec50, hill_n, rate = p["ec50"], p["hill_n"], p["rate"]
    assert ec50.shape == hill_n.shape == edge.shape and edge.sum() > 40
    assert np.all(ec50[~edge] == 0) and np.all(hill_n[~edge] == 0)
    k, n = ec50[edge], hill_n[edge]
    assert k.min() >= 0.4 and k.max() <= 0.52
    assert n.min() >= 1.4 and n.max() <= 1.8
    # and spread over the ranges, not a narrower part of them
    assert k.min() < 0.41 and k.max() > 0.51 and n.min() < 1.43 and n.max() > 1.77
    inputs = sim.var["input"].to_numpy()
    assert np.all(rate[inputs] == 0)
    assert rate[~inputs].min() >= 0.5 and rate[~inputs].max() <= 1.5


def test_simulator_data_carry_the_network(sim):
    """A linear finite-difference regression already ranks the planted edges well."""
    x = sim.X.astype(np.float64).reshape(100, 6, 30)
    dt = 8 / 5
    x0 = x[:, :-1].reshape(-1, 30)
    dx = ((x[:, 1:] - x[:, :-1]) / dt).reshape(-1, 30)
    z = np.c_[x0, np.ones(len(x0))]
    w = np.linalg.solve(z.T @ z + 1e-2 * np.eye(31), z.T @ dx)[:-1]
    genes = sim.var_names
    m = evaluate(pd.DataFrame(w, genes, genes), pd.DataFrame(sim.varp["truth"], genes, genes))
    assert m["auroc"] > 0.8
    assert m["signed_epr"] > 3.0


def test_simulator_seed_and_speed():
    a = simulate_hill_network(20, n_trajectories=5, seed=1)
    b = simulate_hill_network(20, n_trajectories=5, seed=1)
    c = simulate_hill_network(20, n_trajectories=5, seed=2)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.varp["truth"], b.varp["truth"])
    assert not np.array_equal(a.varp["truth"], c.varp["truth"])
    start = time.perf_counter()
    big = simulate_hill_network(50, seed=0)
    assert time.perf_counter() - start < 2.0
    assert big.shape == (600, 50)
    quiet = simulate_hill_network(10, n_trajectories=3, noise=0.0)
    np.testing.assert_array_equal(quiet.X, quiet.layers["noise_free"])



def test_simulator_runs_under_numpy_raise():
    # the ODE solver's first step from t = 0 underflows (np.nextafter(0, inf) is subnormal)
    # by design; under np.seterr(all="raise") that was a FloatingPointError
    plain = simulate_hill_network(8, n_trajectories=3, n_timepoints=6, seed=1)
    with np.errstate(all="raise"):
        ad = simulate_hill_network(8, n_trajectories=3, n_timepoints=6, seed=1)
    assert np.geterr()["under"] == "ignore"  # numpy's default, as the caller left it
    np.testing.assert_array_equal(ad.X, plain.X)
    np.testing.assert_array_equal(ad.varp["truth"], plain.varp["truth"])

def test_simulator_sums_per_target_sparsely(sim, rng):
    """The log-terms are summed per target through a sparse incidence, as the dense one did.

    A dense (edges x genes) incidence made every right-hand side cost O(B E G): 3.0 s for
    1,000 genes and 24 s for 3,000, where 0.8 s and 3.2 s do the same sums.
    """
    net = _net_from(sim)
    assert sp.issparse(net.incidence) and net.incidence.nnz == len(net.reg)
    x = rng.uniform(0.0, 1.0, size=(7, 30))
    sparse = net.production(x)
    net.incidence = net.incidence.toarray()  # the former dense product
    # the same sums up to their order: BLAS may add a dense product's terms in another order
    # (one element in 210 differed by 6e-18 on a run with one thread)
    np.testing.assert_allclose(sparse, net.production(x), rtol=1e-13, atol=0)
    start = time.perf_counter()
    big = simulate_hill_network(2000, n_trajectories=20, n_timepoints=3, seed=0)
    # 3.3-3.7 s with the dense incidence, 0.65 s now (4 s seen on a loaded machine)
    assert time.perf_counter() - start < 3.0
    assert big.shape == (60, 2000)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_genes": 2}, ValueError, "n_genes"),
        ({"n_genes": 3.5}, TypeError, "n_genes"),
        ({"n_timepoints": 1}, ValueError, "n_timepoints"),
        ({"noise": -0.1}, ValueError, "noise"),
        ({"noise": float("nan")}, ValueError, "noise"),
        ({"edges_per_gene": 0.5}, ValueError, "edges_per_gene"),
        ({"t_max": 0.0}, ValueError, "t_max"),
        ({"input_fraction": 0.5}, ValueError, "input_fraction"),
        ({"seed": -1}, ValueError, "seed"),
    ],
)
def test_simulator_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        simulate_hill_network(**kwargs)


def test_simulator_and_corrupt_prior_take_the_seeds_every_other_seed_takes():
    # both checked seeds with their own _check_int and refused seed=torch.tensor(1) ("seed
    # must be an integer, got Tensor"), which every other seed= (core.check_seed) accepts
    a = simulate_hill_network(6, n_trajectories=2, n_timepoints=3, seed=1)
    for seed in (torch.tensor(1), np.int64(1), np.array(1)):
        b = simulate_hill_network(6, n_trajectories=2, n_timepoints=3, seed=seed)
        np.testing.assert_array_equal(a.X, b.X)
        settings = b.uns["hill_network"]["settings"]
        assert settings["seed"] == 1 and type(settings["seed"]) is int  # h5ad writes it
    truth = krumsiek11_network()
    assert corrupt_prior(truth, 0.2, seed=torch.tensor(3)).equals(
        corrupt_prior(truth, 0.2, seed=3))
    # refused in check_seed's words, naming the argument
    for bad, error in ((1.5, TypeError), (True, TypeError), (torch.tensor(1.0), TypeError),
                       (-1, ValueError)):
        with pytest.raises(error, match=r"^seed: expected an integer >= 0, got "):
            simulate_hill_network(6, seed=bad)
        with pytest.raises(error, match=r"^seed: expected an integer >= 0, got "):
            corrupt_prior(truth, 0.2, seed=bad)


def test_corrupt_prior_refuses_seed_none_as_its_docstring_says():
    # its Raises listed only ValueError, yet seed=None raised a TypeError (where CTMC.sample
    # and monte_carlo draw fresh entropy): refused by design, the default 0 reproducible
    truth = krumsiek11_network()
    with pytest.raises(TypeError, match=r"^seed: expected an integer >= 0, got None$"):
        corrupt_prior(truth, 0.2, seed=None)
    assert corrupt_prior(truth, 0.2).equals(corrupt_prior(truth, 0.2, seed=0))


# ---------------------------------------------------------------- prior corruption


def test_corrupt_prior_counts_and_signs():
    truth = krumsiek11_network()
    t = truth.to_numpy()
    off = ~np.eye(11, dtype=bool)
    assert corrupt_prior(truth, 0.0).equals(truth)
    kept_flips = []
    for seed in range(40):
        prior = corrupt_prior(truth, 0.2, seed=seed)
        p = prior.to_numpy()
        assert list(prior.index) == list(truth.index)
        np.testing.assert_array_equal(np.diag(p), np.diag(t))  # self-loops untouched
        true_pos = (t != 0) & off
        moved_away = true_pos & (p == 0)
        moved_to = (t == 0) & (p != 0)
        assert moved_away.sum() == 5 and moved_to.sum() == 5  # round(0.2 * 26)
        assert not np.any(moved_to & ~off)
        # magnitudes are moved, not invented
        np.testing.assert_allclose(np.sort(np.abs(p[p != 0])), np.sort(np.abs(t[t != 0])))
        kept = true_pos & (p != 0)
        flipped = int((np.sign(p[kept]) != np.sign(t[kept])).sum())
        assert flipped <= 5
        kept_flips.append(flipped)
    # flips are chosen independently of moves: on average 5 * 21/26 land on kept edges
    assert np.mean(kept_flips) == pytest.approx(5 * 21 / 26, abs=0.5)
    assert corrupt_prior(truth, 0.2, seed=1).equals(corrupt_prior(truth, 0.2, seed=1))


def test_relocated_edges_carry_their_flipped_weight():
    # fraction 1: every edge is flipped and every edge moved, so every moved edge must carry
    # the negated weight (moved before the flip, they would all keep the truth's sign)
    genes = ["a", "b", "c", "d"]
    truth = pd.DataFrame(0.0, index=genes, columns=genes)
    truth.loc["a", "b"], truth.loc["c", "d"], truth.loc["d", "a"] = 2.0, -3.0, 0.5
    for seed in range(5):
        p = corrupt_prior(truth, 1.0, seed=seed).to_numpy()
        t = truth.to_numpy()
        assert not np.any((t != 0) & (p != 0))  # all moved away
        np.testing.assert_array_equal(np.sort(p[p != 0]), [-2.0, -0.5, 3.0])


def test_corrupt_prior_flips_exactly_its_share_also_of_the_moved_edges():
    # each true edge gets its own magnitude, so a moved edge is found by it wherever it went:
    # exactly round(fraction * E) edges, kept or moved, must carry the negated weight
    truth = krumsiek11_network()
    t = truth.to_numpy()
    off = ~np.eye(11, dtype=bool)
    rows, cols = np.nonzero((t != 0) & off)
    weighted = t.copy()
    weighted[rows, cols] = np.sign(t[rows, cols]) * np.arange(1, len(rows) + 1)  # 1 .. 26
    source = {float(abs(weighted[r, c])): float(weighted[r, c]) for r, c in zip(rows, cols)}
    moved_flipped = 0
    for seed in range(20):
        p = corrupt_prior(pd.DataFrame(weighted, truth.index, truth.columns), 0.2,
                          seed=seed).to_numpy()
        got = {float(abs(p[r, c])): float(p[r, c]) for r, c in zip(*np.nonzero((p != 0) & off))}
        assert sorted(got) == sorted(source)  # every edge once, magnitude kept
        flipped = {k for k in source if got[k] == -source[k]}
        assert all(got[k] in (source[k], -source[k]) for k in source)
        assert len(flipped) == 5, seed  # round(0.2 * 26), moved edges included
        at = {float(abs(p[r, c])) for r, c in zip(*np.nonzero((t == 0) & (p != 0)))}
        moved_flipped += len(at & flipped)
    assert moved_flipped > 0  # the seeds do flip some of the moved edges


def test_corrupt_prior_degrades_ranking():
    truth = krumsiek11_network()
    aurocs = [evaluate(corrupt_prior(truth, f, seed=0), truth)["auroc"] for f in (0, 0.2, 0.5)]
    assert aurocs[0] == 1.0 and aurocs[0] > aurocs[1] > aurocs[2]


def test_corrupt_prior_bad_input():
    truth = krumsiek11_network()
    with pytest.raises(ValueError, match="fraction"):
        corrupt_prior(truth, 1.5)
    with pytest.raises(TypeError, match="truth"):
        corrupt_prior(truth.to_numpy(), 0.1)
    with pytest.raises(ValueError, match="square"):
        corrupt_prior(truth.iloc[:, :5], 0.1)
    dense = pd.DataFrame(1.0 - np.eye(3), index=list("abc"), columns=list("abc"))
    with pytest.raises(ValueError, match="relocate"):
        corrupt_prior(dense, 0.5)


def _rule_signs(rule: str) -> dict[str, float]:
    """Variables of a Boolean rule with sign -1 under an odd number of 'not's, else +1."""
    tokens = rule.replace("(", " ( ").replace(")", " ) ").split()
    stack = [False]
    pending = False
    signs: dict[str, float] = {}
    for tok in tokens:
        if tok == "not":
            pending = True
        elif tok == "(":
            stack.append(stack[-1] ^ pending)
            pending = False
        elif tok == ")":
            stack.pop()
        elif tok in ("and", "or"):
            continue
        else:
            signs[tok] = -1.0 if stack[-1] ^ pending else 1.0
            pending = False
    return signs


def test_krumsiek11_network_agrees_with_the_boolean_rules():
    """The file's Boolean rules (target = f(regulators)) give the same signed edges."""
    from biomodels.grn.datasets import _model_file

    net = krumsiek11_network()
    rules = [
        line.split("=", 1)
        for line in _model_file().read_text().splitlines()
        if "=" in line and not line.startswith("#")
    ]
    assert [t.strip() for t, _ in rules] == KRUMSIEK_GENES
    for target, rhs in rules:
        expected = _rule_signs(rhs)
        column = net[target.strip()]
        found = {g: float(np.sign(w)) for g, w in column.items() if w != 0}
        assert found == expected, target


def test_simulated_data_round_trip_h5ad(tmp_path):
    import anndata as ad

    a = simulate_hill_network(8, n_trajectories=3, seed=4)
    a.write_h5ad(tmp_path / "sim.h5ad")
    b = ad.read_h5ad(tmp_path / "sim.h5ad")
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.varp["truth"], b.varp["truth"])
    np.testing.assert_array_equal(a.uns["hill_network"]["ec50"], b.uns["hill_network"]["ec50"])
    assert list(b.obs["trajectory"].cat.categories) == ["0", "1", "2"]


def test_krumsiek11_round_trip_h5ad(k11, tmp_path):
    import anndata as ad

    path = tmp_path / "k11.h5ad"
    k11.write_h5ad(path)
    back = ad.read_h5ad(path)
    np.testing.assert_array_equal(back.varp["truth"], k11.varp["truth"])
    assert list(back.obs["trajectory"]) == list(k11.obs["trajectory"])


def test_corrupt_prior_of_numeric_gene_ids_read_from_a_csv(tmp_path):
    # pd.read_csv(path, index_col=0): ints in the index, text in the header; the truth was
    # refused as "not square" though its genes are the same
    truth = krumsiek11_network()
    ids = [str(1000 + i) for i in range(len(truth))]
    truth.set_axis(ids, axis=0).set_axis(ids, axis=1).to_csv(tmp_path / "truth.csv")
    read = pd.read_csv(tmp_path / "truth.csv", index_col=0)
    assert read.index.dtype == np.int64
    prior = corrupt_prior(read, 0.2, seed=3)
    np.testing.assert_array_equal(prior.to_numpy(),
                                  corrupt_prior(truth, 0.2, seed=3).to_numpy())


def test_hill_logic_and_multiplies_or_combines_the_complements():
    """Two activators at their EC50 (Hill term 1/2 each): AND = 1/4, OR = 1 - 1/4 = 3/4."""
    sign = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    ec50 = np.where(sign != 0, 0.45, 0.0)
    hill_n = np.where(sign != 0, 1.6, 0.0)
    is_input = np.array([True, True, False])
    levels = np.array([[0.45, 0.45, 0.3], [1.0, 0.0, 0.3]])
    for use_and, expected in ((True, [0.25, 0.0]), (False, [0.75, 1.0])):
        net = _HillNetwork(sign, ec50, hill_n, np.array([False, False, use_and]),
                           np.array([0.0, 0.0, 1.0]), is_input)
        np.testing.assert_allclose(net.production(levels)[:, 2], expected, atol=1e-12)


def test_krumsiek11_simulate_matches_a_labelled_start_by_gene_name(k11):
    # a Series or DataFrame start was read by position: the same cell with its genes in
    # reverse order gave another run (max difference 0.898 at step 30, Pu.1 knocked out),
    # while GRNModel.simulate and perturb match genes by name
    rev = k11[:, list(k11.var_names[::-1])]
    ko = {"Pu.1": 0.0}
    ref = krumsiek11_simulate(k11.X[0], 30, perturb=ko)
    np.testing.assert_array_equal(krumsiek11_simulate(k11.to_df().iloc[0], 30, perturb=ko),
                                  ref)
    np.testing.assert_array_equal(krumsiek11_simulate(rev.to_df().iloc[0], 30, perturb=ko),
                                  ref)
    both = krumsiek11_simulate(rev.to_df().iloc[:2], 30, perturb=ko)  # one state per row
    assert both.shape == (30, 2, 11)
    np.testing.assert_array_equal(both[:, 0], ref)
    # unlabelled arrays keep their positional meaning, and a 1 x 11 matrix row is one state
    assert not np.allclose(krumsiek11_simulate(rev.X[0], 30, perturb=ko), ref)
    np.testing.assert_array_equal(krumsiek11_simulate(sp.csr_matrix(k11.X)[0], 30,
                                                      perturb=ko), ref)
    with pytest.raises(ValueError, match=re.escape(
            "y0 lacks genes ['Pu.1']: a Series y0 is matched to the genes by its labels, "
            "and these labels name no gene: ['PU.1']")):
        krumsiek11_simulate(k11.to_df().iloc[0].rename({"Pu.1": "PU.1"}), 3)
    # the default labels 0..10 name no gene: by position, as the array they hold (the review:
    # pd.Series(array) and pd.DataFrame(adata.X) were refused as lacking every gene)
    np.testing.assert_array_equal(krumsiek11_simulate(pd.Series(k11.X[0]), 30, perturb=ko), ref)
    np.testing.assert_array_equal(
        krumsiek11_simulate(pd.DataFrame(k11.X[:2]), 30, perturb=ko)[:, 0], ref)


def test_krumsiek11_in_threads_leaves_the_warning_filters_as_they_were():
    # scanpy's file repeats the step numbers as cell names, and krumsiek11 silenced
    # anndata's "names are not unique" with warnings.catch_warnings, which swaps the filters
    # of the whole process: calls in threads put them back out of order and left "ignore
    # names are not unique" in them for good, hiding that warning about the user's own data
    # (a lock around its block could not stop other libraries' own catch_warnings from
    # interleaving with it; now it touches no filter). Libraries it calls (pandas) may
    # still leave their own filters behind in threads: only ours is checked.
    # Run in a fresh interpreter: pytest's own per-test warning capture is process-wide too
    import subprocess
    import sys

    code = (
        "import sys, warnings\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "import anndata, numpy as np, pandas as pd\n"
        "from biomodels.grn import krumsiek11\n"
        "krumsiek11()\n"
        "before = list(warnings.filters)\n"
        "sys.setswitchinterval(1e-6)\n"
        "with ThreadPoolExecutor(8) as pool:\n"
        "    names = list(pool.map(lambda i: str(krumsiek11().obs_names[-1]), range(32)))\n"
        "assert names == ['3_159'] * 32, names\n"
        "left = [f for f in warnings.filters if f not in before]\n"
        "assert not [f for f in left if 'not unique' in str(f[1])], left\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.simplefilter('always')\n"
        "    anndata.AnnData(np.zeros((2, 1)), obs=pd.DataFrame(index=['a', 'a']))\n"
        "assert any('not unique' in str(w.message) for w in seen)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
