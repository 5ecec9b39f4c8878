"""PHOENIX vector field, training pieces and the GRNModel wrapper."""

from __future__ import annotations

import copy
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from anndata import AnnData

from biomodels.grn import GRNModel, PhoenixODEFunc, PruningSchedule, simulate
from biomodels.grn.odefunc import PRUNABLE, shifted_softsign
from biomodels.grn.train import integrate, make_pairs, split_pairs

# Fits of a few epochs on tiny data explain little of the held-out dynamics, or none (R^2 < 0),
# and say so; the warnings are tested in test_poor_fits_warn and test_grn_model_krumsiek.py.
pytestmark = [pytest.mark.filterwarnings("ignore:the model explains:UserWarning"),
              pytest.mark.filterwarnings("ignore:the soft prior outweighs:UserWarning")]


#: tiny ODE fits, where intra-op threads only spin: one thread (tests/grn/conftest.py)
ONE_THREAD = True


# ---------------------------------------------------------------- vector field
def test_vector_field_matches_equations(torch_gen):
    func = PhoenixODEFunc(5, 7, dtype=torch.float64, generator=torch_gen)
    with torch.no_grad():
        for p in func.parameters():
            p.copy_(torch.randn(p.shape, generator=torch_gen, dtype=torch.float64) * 0.3)
    y = torch.rand(4, 5, generator=torch_gen, dtype=torch.float64)
    s = (y - 0.5) / (1 + (y - 0.5).abs())
    u = s @ func.sum_in.weight.T + func.sum_in.bias
    v = torch.exp(torch.log1p(s) @ func.prod_in.weight.T + func.prod_in.bias)
    f = u @ func.sum_out.weight.T + v @ func.prod_out.weight.T
    expected = torch.relu(func.gene_rates) * (f - y)
    torch.testing.assert_close(func(torch.tensor(0.0), y), expected)
    assert torch.allclose(shifted_softsign(torch.tensor([0.5, 1.5])), torch.tensor([0.0, 0.5]))


def test_effects_equal_jacobian_of_additive_branch(torch_gen):
    # With the product branch switched off, f is linear in s = softsign(y - 0.5):
    # df_j/ds_i = (C W)_{ji}, so E[i, j] = (C W)_{ji} * ReLU(g_j) (rows = regulators).
    func = PhoenixODEFunc(6, 4, dtype=torch.float64, generator=torch_gen)
    with torch.no_grad():
        func.sum_in.weight.normal_(generator=torch_gen)
        func.prod_out.weight.zero_()
        func.prod_in.weight.zero_()
        func.gene_rates.copy_(torch.tensor([0.5, -1.0, 2.0, 1.0, 0.1, 3.0]))
    s0 = torch.zeros(6, dtype=torch.float64)
    jac = torch.func.jacrev(lambda s: func.sum_out(func.sum_in(s)))(s0)  # (target, regulator)
    expected = jac.T * torch.relu(func.gene_rates)[None, :]
    torch.testing.assert_close(func.effects(), expected)
    assert (func.effects()[:, 1] == 0).all()  # dead rate -> no incoming edges


def test_vector_field_gradcheck(torch_gen):
    func = PhoenixODEFunc(3, 2, dtype=torch.float64, generator=torch_gen)
    y = torch.rand(2, 3, dtype=torch.float64, generator=torch_gen, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: func(torch.tensor(0.0), x), (y,))


def test_init_is_seeded_and_sparse():
    a = PhoenixODEFunc(20, 30, generator=torch.Generator().manual_seed(3))
    b = PhoenixODEFunc(20, 30, generator=torch.Generator().manual_seed(3))
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        assert torch.equal(p, q), n
    zero = float((a.sum_in.weight == 0).float().mean())
    assert 0.9 < zero < 0.99  # 95 % zeros
    w = a.sum_out.weight.double()  # (20, 30): orthonormal rows
    torch.testing.assert_close(w @ w.T, torch.eye(20, dtype=torch.float64), atol=1e-5, rtol=0)


def test_input_biases_span_torchs_default_bound():
    """Input-layer biases are U(-1/sqrt(G), 1/sqrt(G)), nn.Linear's default for G inputs."""
    f = PhoenixODEFunc(4, 200, generator=torch.Generator().manual_seed(0))
    for b in (f.sum_in.bias.detach(), f.prod_in.bias.detach()):
        assert float(b.abs().max()) <= 0.5  # 1 / sqrt(4)
        assert float(b.abs().max()) > 0.45  # 200 draws come close to the bound


def test_default_start_is_the_last_early_cell_by_obs_name():
    """Of two cells at the earliest time, the one pairing with the next time is the start."""
    x = np.array([[0.2, 0.9], [0.8, 0.1], [0.5, 0.5]])
    ad = AnnData(x, obs=pd.DataFrame({"time": [0.0, 0.0, 1.0]}, index=["b", "a", "c"]))
    ad.var_names = ["g0", "g1"]
    with pytest.warns(UserWarning, match="share a time point"):
        model = GRNModel(ad, time_key="time", n_hidden=4)
    np.testing.assert_allclose(model._default_y0(), x[0], atol=1e-6)  # "b" follows "a"


class _Decay(torch.nn.Module):
    def __init__(self, k: torch.Tensor) -> None:
        super().__init__()
        self.k = k

    def forward(self, t, y):
        return -self.k * y


@pytest.mark.parametrize("method,options,tol", [("dopri5", None, 1e-6),
                                                 ("rk4", {"step_size": 0.05}, 1e-3)])
def test_batched_integration_uses_each_rows_own_dt(method, options, tol):
    k = torch.tensor([0.5, 2.0], dtype=torch.float64)
    y0 = torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]], dtype=torch.float64)
    dt = torch.tensor([0.1, 1.0, 3.0], dtype=torch.float64)
    out = integrate(_Decay(k), y0, dt, method=method, rtol=1e-10, atol=1e-12, options=options)
    exact = y0 * torch.exp(-k[None, :] * dt[:, None])
    torch.testing.assert_close(out, exact, rtol=tol, atol=tol * 1e-2)


class _DecayUndefinedBelowZero(_Decay):
    """Decay whose field is NaN at states the solution never reaches (y < -1e-3)."""

    def forward(self, t, y):
        out = super().forward(t, y)
        return torch.where(y < -1e-3, torch.full_like(y, float("nan")), out)


def test_dopri5_rejects_a_trial_step_that_lands_where_the_field_is_not_finite():
    # a trial step too long for a stiff field overshoots to where PHOENIX's field is NaN
    # (log1p of a softsign that rounds to -1); torchdiffeq then set the step to 0 and
    # failed with "underflow in dt 0.0", and every retry at a lower learning rate did too
    # (a dpt pseudotime fit of 400 cells x 30 genes crashed at epoch 29 this way)
    k = torch.tensor([10.0])
    y0 = torch.ones(2, 1)
    dt = torch.tensor([1.0, 3.0])
    out = integrate(_DecayUndefinedBelowZero(k), y0, dt)
    torch.testing.assert_close(out, torch.exp(-k * dt)[:, None], rtol=0.0, atol=2e-4)


def test_an_adaptive_solve_that_never_ends_is_a_divergence():
    # a fit whose field turned stiff made dopri5 take ever more steps: a pbmc68k dpt lineage
    # (seed 3) went from 500 steps a solve to one solve running for minutes, and the process
    # was killed. Known answer: decay at rate 1e4 over a unit step needs about 1e4 / 3.3
    # dopri5 steps (its stability bound), more than the 2,000 a batch may take
    from biomodels.grn.train import _MAX_STEPS, SolverDivergedError

    assert _MAX_STEPS == 2000
    with pytest.raises(SolverDivergedError, match=r"^ODE solver 'dopri5' took more than 2000 "
                       r"steps on one batch \(the fitted field became too stiff\); try a "
                       r"lower learning rate$"):
        integrate(_Decay(torch.tensor([1e4])), torch.ones(1, 1), torch.tensor([1.0]))
    # a limit of its own (options): rate 100 takes about 30 steps
    with pytest.raises(SolverDivergedError, match="took more than 10 steps"):
        integrate(_Decay(torch.tensor([100.0])), torch.ones(1, 1), torch.tensor([1.0]),
                  options={"max_num_steps": 10})
    out = integrate(_Decay(torch.tensor([100.0])), torch.ones(1, 1), torch.tensor([1.0]),
                    options={"max_num_steps": 100})
    torch.testing.assert_close(out, torch.zeros(1, 1), rtol=0.0, atol=1e-4)


def test_make_pairs_sorts_and_stays_within_trajectories():
    x = torch.arange(12.0).reshape(6, 2)
    time = torch.tensor([2.0, 0.0, 1.0, 0.0, 5.0, 5.0])
    traj = torch.tensor([0, 0, 0, 1, 1, 1])
    p = make_pairs(x, time, traj)
    # trajectory 0: rows 1 -> 2 -> 0; trajectory 1: 3 -> 4 (4 and 5 share a time: skipped)
    assert p.x0[:, 0].tolist() == [2.0, 4.0, 6.0]
    assert p.x1[:, 0].tolist() == [4.0, 0.0, 8.0]
    assert p.dt.tolist() == [1.0, 1.0, 5.0]
    train, val = split_pairs(p, 0.3, seed=0)
    assert len(train) + len(val) == len(p) and len(val) >= 1


# ---------------------------------------------------------------- GRNModel
@pytest.fixture(scope="module")
def small():
    ad = simulate.simulate_hill_network(8, n_trajectories=12, n_timepoints=5, seed=2)
    return ad


def _snapshot(adata: AnnData) -> tuple:
    return (adata.X.copy(), adata.obs.copy(), list(adata.uns.keys()), list(adata.varp.keys()),
            list(adata.layers.keys()))


def _unchanged(adata: AnnData, snap: tuple) -> None:
    x, obs, uns, varp, layers = snap
    np.testing.assert_array_equal(adata.X, x)
    pd.testing.assert_frame_equal(adata.obs, obs)
    assert list(adata.uns.keys()) == uns and list(adata.varp.keys()) == varp
    assert list(adata.layers.keys()) == layers


def test_bad_inputs_raise_and_leave_adata_alone(small):
    ad = small.copy()
    snap = _snapshot(ad)
    with pytest.raises(ValueError, match="time_key='nope'"):
        GRNModel(ad, time_key="nope")
    ad2 = ad.copy()
    ad2.obs["label"] = "a"
    with pytest.raises(ValueError, match="must be real numbers"):
        GRNModel(ad2, time_key="label")
    ad2.obs["label"] = np.arange(ad2.n_obs) * (1 + 1j)  # numpy dropped the imaginary part
    with pytest.raises(ValueError, match="must be real numbers, got dtype complex"):
        GRNModel(ad2, time_key="label")
    ad2.obs[0] = np.arange(ad2.n_obs)  # a column named 0 exists, yet keys are names
    with pytest.raises(TypeError, match="time_key must be the name"):
        GRNModel(ad2, time_key=0)
    with pytest.raises(TypeError, match="trajectory_key must be the name"):
        GRNModel(ad, time_key="time", trajectory_key=["trajectory"])
    with pytest.raises(ValueError, match="trajectory_key='missing'"):
        GRNModel(ad, time_key="time", trajectory_key="missing")
    ad3 = ad.copy()
    ad3.obs["one"] = np.arange(ad3.n_obs).astype(str)  # every cell its own trajectory
    with pytest.raises(ValueError, match="single time point"):
        GRNModel(ad3, time_key="time", trajectory_key="one")
    bad = ad.copy()
    bad.X = np.asarray(bad.X, dtype=np.float64)
    bad.X[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        GRNModel(bad, time_key="time", trajectory_key="trajectory")
    bad.X[3, 2] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        GRNModel(bad, time_key="time", trajectory_key="trajectory")
    with pytest.raises(ValueError, match="layer='counts'"):
        GRNModel(ad, time_key="time", layer="counts")
    genes = list(ad.var_names)
    # each refusal names its own reason: a bare ValueError also passed when the shape check
    # was gone and the row/column label check refused the 8 x 7 frame instead
    with pytest.raises(ValueError, match=r"prior must be square .* got shape \(8, 7\)"):
        GRNModel(ad, time_key="time", prior=pd.DataFrame(np.zeros((8, 7)), index=genes,
                                                         columns=genes[:7]))
    other = [f"x{i}" for i in range(8)]
    with pytest.raises(ValueError, match="no gene of the prior is among the data genes"):
        GRNModel(ad, time_key="time", prior=pd.DataFrame(np.eye(8), index=other, columns=other))
    with pytest.raises(ValueError, match="neither a key of adata.varp"):
        GRNModel(ad, time_key="time", prior="no_such_key")
    with pytest.raises(TypeError, match="adata must be an AnnData, got ndarray"):
        GRNModel(ad.X, time_key="time")
    model = GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=4)
    with pytest.raises(ValueError, match="needs a prior"):
        model.train(2, pruning="dash", progress=False)
    with pytest.raises(ValueError, match="pruning must be"):
        model.train(2, pruning="magic", progress=False)  # type: ignore[arg-type]
    _unchanged(ad, snap)


def test_snapshot_data_and_uninformative_priors_warn(small):
    ad = small.copy()
    snap = _snapshot(ad)
    # 12 trajectories at the same 5 times: without the trajectory key only 4 pairs
    with pytest.warns(UserWarning, match="only 4 one-step pairs from 60 cells.*'time'"):
        GRNModel(ad, time_key="time", n_hidden=4)
    ad.obs["constant"] = 1.0
    with pytest.raises(ValueError, match="adata.obs\\['constant'\\] has a single value"):
        GRNModel(ad, time_key="constant")
    genes = list(ad.var_names)
    empty = pd.DataFrame(0.0, index=genes, columns=genes)
    with pytest.warns(UserWarning, match="no edge between genes of the data"):
        GRNModel(ad, time_key="time", trajectory_key="trajectory", prior=empty, n_hidden=4)
    del ad.obs["constant"]
    _unchanged(ad, snap)


def test_a_prior_naming_nearly_every_pair_warns_and_says_how_to_threshold_it(small, tmp_path):
    # README offers an earlier run's edges.csv as a prior, but that file lists every pair
    # with a non-zero effect (4.6e-4 counted): GRNModel(prior="demo_out/edges.csv") said
    # "prior with 110 edges" (all pairs of 11 genes), and nothing warned that such a prior
    # marks no pair as a non-edge
    genes = list(small.var_names)
    rng = np.random.default_rng(0)
    effect = rng.normal(scale=0.01, size=(8, 8))
    np.fill_diagonal(effect, 0.0)
    rows, cols = np.nonzero(effect)
    order = np.argsort(-np.abs(effect[rows, cols]), kind="stable")  # strongest first
    edges = pd.DataFrame({"regulator": np.asarray(genes)[rows[order]],
                          "target": np.asarray(genes)[cols[order]],
                          "effect": effect[rows, cols][order]})
    edges.to_csv(tmp_path / "edges.csv", index=False)
    kw = {"time_key": "time", "trajectory_key": "trajectory", "n_hidden": 2}
    with pytest.warns(UserWarning) as record:
        m = GRNModel(small, prior=tmp_path / "edges.csv", **kw)
    text = str(record[0].message)
    assert text.startswith("the prior names 56 of the 56 pairs of distinct genes (100%), so "
                           "it marks (almost) no pair as a non-edge"), text
    assert "pd.read_csv(path).head(16)" in text and "head -n 17 edges.csv > prior.csv" in text
    assert "\n" not in text  # one line on the command line
    assert len(record) == 1 and int(np.count_nonzero(m.prior.to_numpy())) == 56  # read as before
    # 90 % of the pairs (51 of 56) still warn; 50 (89 %) and the thresholded file do not
    with pytest.warns(UserWarning, match=r"^the prior names 51 of the 56 pairs .*\(91%\)"):
        GRNModel(small, prior=edges.head(51), **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sparse = GRNModel(small, prior=edges.head(50), **kw)
        top = GRNModel(small, prior=pd.read_csv(tmp_path / "edges.csv").head(16), **kw)
        # self-loops do not count: a full diagonal with a sparse off-diagonal is sparse
        GRNModel(small, prior=np.eye(8) + np.diag(np.ones(7), 1), **kw)
    assert int(np.count_nonzero(sparse.prior.to_numpy())) == 50
    # the one-liner keeps the 16 strongest pairs of the complete prior, as they were
    full, kept = m.prior.to_numpy(), top.prior.to_numpy() != 0
    assert kept.sum() == 16 and np.abs(full[kept]).min() > np.abs(full[~kept]).max()
    np.testing.assert_array_equal(top.prior.to_numpy()[kept], full[kept])
    # a 3- or 4-gene motif may well be complete (a toggle switch, a feedback loop), and two
    # edges per gene would keep it whole: it warned "names 6 of the 6 pairs ... head(6)"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for g in (3, 4):
            motif = small[:, genes[:g]].copy()
            GRNModel(motif, prior=np.ones((g, g)) - np.eye(g), **kw)


def test_prior_from_varp_csv_and_frame_agree(small, tmp_path):
    ad = small.copy()
    genes = list(ad.var_names)
    truth = pd.DataFrame(ad.varp["truth"], index=genes, columns=genes)
    csv = tmp_path / "prior.csv"
    truth.iloc[::-1, ::-1].to_csv(csv)  # other order on disk
    priors = [
        GRNModel(ad, time_key="time", trajectory_key="trajectory", prior=p, n_hidden=4).prior
        for p in ("truth", csv, truth, ad.varp["truth"])
    ]
    for p in priors[1:]:
        pd.testing.assert_frame_equal(p, priors[0])


def test_an_edge_table_prior_frame_gives_the_csv_prior(small, tmp_path):
    # GRNModel(prior=<source, target, weight DataFrame>) was refused as "prior must be
    # square", where the same table saved as a CSV was read as an edge list
    genes = list(small.var_names)
    table = pd.DataFrame({"source": [genes[1], genes[0]], "target": [genes[0], genes[3]],
                          "weight": [1, -1]})
    table.to_csv(tmp_path / "edges.csv", index=False)
    priors = [GRNModel(small, time_key="time", trajectory_key="trajectory", prior=p,
                       n_hidden=2).prior for p in (tmp_path / "edges.csv", table)]
    pd.testing.assert_frame_equal(priors[1], priors[0])
    assert priors[1].loc[genes[0], genes[3]] == -1.0
    assert int((priors[1] != 0).to_numpy().sum()) == 2


def test_the_prior_tensors_are_copies_of_the_models_table(small, tmp_path):
    # torch.as_tensor shared a float64 prior's memory with model.prior (an in-place change
    # of one moved the other), and pandas 3's read-only to_numpy() made torch warn "The
    # given NumPy array is not writable" at the first fit and the first save
    model = GRNModel(small, time_key="time", trajectory_key="trajectory", prior="truth",
                     ppi="truth", n_hidden=3, dtype=torch.float64)
    model._prior_tensor(model.prior).add_(1.0)
    model.save(tmp_path / "m.pt")
    payload = torch.load(tmp_path / "m.pt", weights_only=False)
    payload["prior"].add_(1.0)
    payload["ppi"].add_(1.0)
    assert model.prior.to_numpy().tolist() == small.varp["truth"].tolist()
    assert model.ppi.to_numpy().tolist() == small.varp["truth"].tolist()


def test_sparse_and_dense_input_give_the_same_model(small):
    dense = small.copy()
    sparse = small.copy()
    sparse.X = sp.csr_matrix(np.asarray(sparse.X))
    nets = []
    for ad in (dense, sparse):
        m = GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=4, seed=1)
        m.train(2, pruning="none", method="rk4", step_size=0.5, progress=False)
        nets.append(m.network())
    pd.testing.assert_frame_equal(nets[0], nets[1])


@pytest.fixture(scope="module")
def fitted(small):
    genes = list(small.var_names)
    truth = pd.DataFrame(small.varp["truth"], index=genes, columns=genes)
    model = GRNModel(small, time_key="time", trajectory_key="trajectory", prior=truth,
                     n_hidden=8, seed=0)
    loss0 = model.train(1, pruning="none", method="rk4", step_size=0.5,
                        progress=False)["train_loss"][0]
    model = GRNModel(small, time_key="time", trajectory_key="trajectory", prior=truth,
                     n_hidden=8, seed=0)
    history = model.train(25, pruning="dash", method="rk4", step_size=0.5, progress=False)
    return model, history, loss0, truth


def test_training_reduces_loss_and_prunes(fitted):
    model, history, loss0, _ = fitted
    assert history["train_loss"][-1] < 0.7 * loss0
    assert set(history) >= {"train_loss", "val_loss", "lr", "density", "pruned"}
    # rounds at epochs 3, 10, 20
    assert [int(e) for e, p in zip(history["epoch"], history["pruned"]) if p] == [3, 10, 20]
    assert model.sparsity() == pytest.approx(1 - 0.3 * 0.9**2, abs=0.01)


def test_repr_summarises_data_prior_and_fit(fitted, small, tmp_path):
    # a notebook showed "<biomodels.grn.model.GRNModel object at 0x...>"
    model, _, _, truth = fitted
    fresh = GRNModel(small, time_key="time", trajectory_key="trajectory", n_hidden=8)
    assert repr(fresh).splitlines() == [
        f"GRNModel of 8 genes, {small.n_obs} cells in 12 trajectories (time_key='time', "
        "trajectory_key='trajectory')",
        "    no prior, 8 hidden units per branch, seed 0",
        "    not trained: call train()"]
    text = repr(model).splitlines()
    assert f"prior with {int((truth.to_numpy() != 0).sum())} edges" in text[1]
    assert text[2] == (f"    trained: 25 of 25 epochs, pruning 'dash', sparsity "
                       f"{model.sparsity():.3f}, held-out one-step R^2 "
                       f"{model.fit_summary['r2']:.3f}")
    loaded = GRNModel.load(model.save(tmp_path / "m.pt"))
    assert repr(loaded).splitlines()[0] == "GRNModel of 8 genes, loaded without its data"
    assert repr(loaded).splitlines()[2] == text[2]


def test_held_out_r2_is_the_fraction_of_one_step_changes_explained(fitted):
    from biomodels.grn.train import evaluate_loss, no_change_mse

    model, history, _, _ = fitted
    pairs = model._pairs()
    # R^2 of predicting no change is 0, by construction of the yardstick
    still = PhoenixODEFunc(8, 2)
    with torch.no_grad():
        still.gene_rates.zero_()
    base = no_change_mse(pairs)
    assert evaluate_loss(still, pairs, method="rk4", options={"step_size": 0.5}) == \
        pytest.approx(base)
    fit = model.fit_summary
    assert fit["r2"] == pytest.approx(1 - fit["mse"] / fit["no_change_mse"])
    assert 0 < fit["r2"] <= 1  # better than no change (25 epochs on a small planted net)
    # the weights kept are those of the best epoch since the last pruning round (epoch 20)
    since = [r for e, r in zip(history["epoch"], history["val_r2"]) if e >= 20]
    assert max(since) == pytest.approx(fit["r2"], abs=1e-9)
    r2 = np.asarray(history["val_r2"])
    np.testing.assert_allclose(r2, 1 - np.asarray(history["val_loss"]) / fit["no_change_mse"])


def test_poor_fits_warn(small):
    # no prior, barely trained (a learning rate of ~0): worse than predicting no change,
    # which got only the mild "explains only -40%" (a pbmc68k dpt fit at R^2 -13.8, a gene
    # at -46,483, had nothing more); now a warning of its own, with the worst gene
    plain = GRNModel(small, time_key="time", trajectory_key="trajectory", n_hidden=8, seed=0)
    with pytest.warns(UserWarning) as caught:
        plain.train(1, lr=1e-9, pruning="none", method="rk4", step_size=0.5, progress=False)
    r2, per_gene = plain.fit_summary["r2"], plain.fit_summary["r2_per_gene"]
    worst = min(per_gene, key=per_gene.get)
    assert r2 < 0 and "prior_mse" not in plain.fit_summary
    assert [str(w.message) for w in caught] == [
        f"the model explains none of the held-out one-step changes (held-out R^2 {r2:.2f} < "
        f"0; worst gene {worst!r} at {per_gene[worst]:.4g}): it predicts them worse than "
        "predicting no change, so its network does not describe the data. A fit this poor "
        "was trained too briefly or went unstable: train longer, or train again with a lower "
        "learning rate (lr=, or --lr on the command line), method='dopri5' (adaptive steps) "
        "or another seed; and check that the time key orders the cells of each trajectory."]
    # the soft-prior case is tested on krumsiek11 (test_grn_model_krumsiek.py)


def test_a_held_out_r2_that_is_nan_warns_and_says_why():
    # NaN passed `r2 < 0.1` on purpose, so a fit whose held-out predictions were NaN (pbmc68k
    # dpt lineage, RK4 steps of 2 time units: R^2 NaN for all 309 genes) had no warning
    from biomodels.grn.model import _warn_on_poor_fit

    diverged = {"mse": float("nan"), "no_change_mse": 0.02, "r2": float("nan"),
                "r2_per_gene": {"a": float("nan")}}
    with pytest.warns(UserWarning) as caught:
        _warn_on_poor_fit(diverged, 1.0, "held-out pairs", "rk4")
    assert [str(w.message) for w in caught] == [
        "the model's predictions of the held-out one-step changes are not finite (held-out "
        "R^2 nan): the fitted field blows up on them, so its network does not describe the "
        "data; train again with a lower learning rate (lr=, or --lr on the command line), "
        "method='dopri5' (adaptive steps) or another seed; and check that the time key orders "
        "the cells of each trajectory."]
    # nothing changed in the pairs measured: no yardstick, said as such (dopri5: no advice
    # to switch solvers)
    still = {"mse": 0.0, "no_change_mse": 0.0, "r2": float("nan")}
    with pytest.warns(UserWarning, match=r"^the one-step changes of the training pairs \(none "
                      r"held out\) are all 0 \(R\^2 nan on the training pairs: their "
                      r"no-change MSE is 0\), so nothing measures") as caught:
        _warn_on_poor_fit(still, 1.0, "training pairs", "dopri5")
    assert len(caught) == 1


def test_rk4_steps_of_the_stable_step_keep_the_learnt_rates_stable():
    # the rule was steps of up to 2 time units, where RK4 (stable for rate x step < 2.785)
    # holds rates below 1.4 only, which fits pass within their first epochs (1.3-1.5 on a
    # pbmc68k dpt lineage, 6.5-9.3 by epoch 60 on krumsiek11): the dpt lineage diverged.
    # Known answer: pure decay dy/dt = -13 y (a rate above every one measured on
    # krumsiek11) under RK4 steps h shrinks by |1 - z + z^2/2 - z^3/6 + z^4/24|, z = 13 h,
    # per step: 0.755 at the rule's 0.2, 16,424 at 2
    from biomodels.grn.model import _STABLE_STEP
    from biomodels.grn.train import solve

    func = PhoenixODEFunc(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():  # f = 0
        func.sum_out.weight.zero_()
        func.prod_out.weight.zero_()
        func.gene_rates.fill_(13.0)
    y0 = torch.full((1, 3), 0.5, dtype=torch.float64)
    for h, factor in ((_STABLE_STEP, 0.755), (2.0, 16424.0)):
        z = 13.0 * h
        assert abs(1 - z + z**2 / 2 - z**3 / 6 + z**4 / 24) == pytest.approx(factor, rel=1e-3)
        with torch.no_grad():  # 3 steps (more at 2 reach states where the field is NaN)
            out = solve(func, y0, torch.tensor([0.0, 3 * h], dtype=torch.float64),
                        method="rk4", options={"step_size": h})
        torch.testing.assert_close(out[-1], y0 * (1 - z + z**2 / 2 - z**3 / 6 + z**4 / 24)
                                   ** 3, rtol=1e-9, atol=0.0)
    assert _STABLE_STEP == 0.2 and 13.0 * _STABLE_STEP < 2.785


def test_network_is_labelled_and_orientation_is_regulator_by_target(fitted):
    model, _, _, _ = fitted
    net = model.network()
    assert list(net.index) == list(model.genes) == list(net.columns)
    e = model.func.effects().double().numpy()
    np.testing.assert_allclose(net.to_numpy(), e)
    norm = model.network(normalize="target").to_numpy()
    col = np.abs(norm).sum(axis=0)
    np.testing.assert_allclose(col[col > 0], 1.0)
    # one path regulator 2 -> hidden 1 -> target 5 gives exactly one edge E[2, 5]
    func = PhoenixODEFunc(8, 3)
    with torch.no_grad():
        for n in PRUNABLE:
            dict(func.named_parameters())[n].zero_()
        func.sum_in.weight[1, 2] = 1.0
        func.sum_out.weight[5, 1] = 1.0
        func.gene_rates.fill_(1.0)
    e = func.effects()
    assert e[2, 5] == 1.0 and int((e != 0).sum()) == 1


def test_fit_without_prior_recovers_a_planted_network():
    # the data alone: 30 genes, 61 planted edges among 870 directed pairs (AUPRC of a random
    # ranking ~0.07). Measured at 20 epochs: AUROC 0.871 / AUPRC 0.605 (seeds 1, 2: 0.850,
    # 0.831); the network read transposed (targets as regulators) scores 0.398 / 0.055, and
    # GENIE3 on the same cells 0.606 / 0.124 (tests/benchmarks, test_bench_planted_vs_arboreto)
    ad = simulate.simulate_hill_network(30, noise=0.05, seed=0)
    genes = list(ad.var_names)
    truth = pd.DataFrame(ad.varp["truth"], index=genes, columns=genes)
    model = GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=40, seed=0)
    model.train(20, pruning="none", method="rk4", step_size=0.5, progress=False)
    metrics = model.evaluate(truth)
    assert metrics["auroc"] >= 0.8 and metrics["auprc"] >= 0.45


def test_results_written_without_touching_anything_else(fitted, small):
    model, _, _, truth = fitted
    ad = small.copy()
    snap = _snapshot(ad)
    info = model.write_results(ad, truth=truth)
    assert ad.varp["grn"].shape == (8, 8)
    assert set(ad.uns["grn"]) >= {"settings", "metrics", "weight_sparsity"}
    assert info["metrics"]["auroc"] == ad.uns["grn"]["metrics"]["auroc"]
    # the metrics say what they ranked: not the raw effects stored in varp
    assert "normalize='target'" in info["metrics"]["ranked_by"]
    assert info["metrics"]["auroc"] == model.evaluate(truth, normalize="target")["auroc"]
    # the model's own prior (here the truth) splits the ranking; by_prior=False leaves it out
    assert info["metrics"]["prior_true_edges"] == info["metrics"]["n_true_edges"]
    assert info["metrics"]["prior_false_edges"] == 0.0
    assert "prior_edges_first" not in model.evaluate(truth, by_prior=False)
    # a truth must cover the data's genes: a missing or misspelt gene is not "no edges"
    partial = truth.rename(index={truth.index[0]: "typo"}, columns={truth.index[0]: "typo"})
    with pytest.raises(ValueError, match="truth must name every data gene.*typo"):
        model.evaluate(partial)
    with pytest.raises(ValueError, match="truth must be square"):
        model.evaluate(truth.iloc[:, :5])
    del ad.varp["grn"]
    del ad.uns["grn"]
    _unchanged(ad, snap)


def test_save_load_roundtrip_keeps_masks(fitted, small, tmp_path):
    model, _, _, _ = fitted
    path = model.save(tmp_path / "m.pt")
    loaded = GRNModel.load(path, small)
    pd.testing.assert_frame_equal(loaded.network(), model.network())
    assert loaded.sparsity() == model.sparsity()
    np.testing.assert_allclose(loaded.simulate(), model.simulate(), rtol=1e-6)
    # the masks travel: continued training keeps pruned weights at zero
    zero = {n: dict(loaded.func.named_parameters())[n] == 0 for n in PRUNABLE}
    loaded.train(2, pruning="none", method="rk4", step_size=0.5, progress=False)
    params = dict(loaded.func.named_parameters())
    for n in PRUNABLE:
        assert (params[n][zero[n]] == 0).all(), n
    with pytest.raises(ValueError, match="var_names"):
        GRNModel.load(path, small[:, :4].copy())



def test_a_pruned_model_loads_inside_inference_mode(fitted, small, tmp_path):
    # loading for read-outs inside torch.inference_mode() made the weights inference
    # tensors, and attaching the masks failed: "Inference tensors do not track version
    # counter"; the loaded model is an ordinary one, which trains afterwards
    model, _, _, _ = fitted
    path = model.save(tmp_path / "m.pt")
    with torch.inference_mode():
        loaded = GRNModel.load(path, small)
        pd.testing.assert_frame_equal(loaded.network(), model.network())
    assert loaded.sparsity() == model.sparsity() > 0
    loaded.train(1, pruning="none", method="rk4", step_size=0.5, progress=False)

def test_load_warnings_name_the_callers_line(small, tmp_path):
    # load runs under @torch.inference_mode(False): the constructor's warning about
    # shuffled times named torch/utils/_contextlib.py, the decorator's wrapper
    ad = small.copy()
    ad.obs["shuffled"] = np.random.default_rng(0).permutation(ad.n_obs).astype(float)
    with pytest.warns(UserWarning, match="far apart"):
        path = GRNModel(ad, time_key="shuffled", n_hidden=2).save(tmp_path / "w.pt")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        GRNModel.load(path, ad)
    assert any("far apart" in str(w.message) for w in record)
    assert [w.filename for w in record] == [__file__] * len(record)


def test_a_seed_gives_the_same_fit_whatever_torchs_default_dtype(small):
    # the initialisation, DASH's first prior scores and the soft prior's random states were
    # drawn in torch's default dtype: after torch.set_default_dtype(torch.float64) the same
    # seed and model dtype gave another network (krumsiek11, 12 epochs: effects up to 6.5
    # apart)
    def network() -> pd.DataFrame:
        model = GRNModel(small, time_key="time", trajectory_key="trajectory", prior="truth",
                         n_hidden=4, seed=3)
        model.train(3, pruning="dash", prior_weight=0.99, method="rk4", step_size=0.5,
                    schedule=PruningSchedule(first_epoch=2), progress=False)
        return model.network()

    expected = network()
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64 if default == torch.float32 else torch.float32)
    try:
        got = network()
    finally:
        torch.set_default_dtype(default)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_saving_one_model_twice_writes_the_same_bytes(fitted, tmp_path):
    # torch.save to a path names the archive's inner folder after the file, which was the
    # random temporary name of the atomic write: two same-seed runs of `prunus grn fit`
    # wrote model.pt files that differed (in 24 bytes), so their checksums never matched
    model, _, _, _ = fitted
    first = model.save(tmp_path / "a.pt").read_bytes()
    assert model.save(tmp_path / "b.pt").read_bytes() == first
    assert model.save(tmp_path / "a.pt").read_bytes() == first  # and over an earlier file


@pytest.mark.parametrize("seed", [1.5, True, -1])
def test_split_pairs_checks_its_seed(seed):
    pairs = make_pairs(torch.rand(6, 2), torch.arange(6.0), torch.zeros(6, dtype=torch.long))
    with pytest.raises((TypeError, ValueError), match="^seed: expected an integer >= 0"):
        split_pairs(pairs, 0.2, seed=seed)  # torch took 1.5 as 1 and True as 1


def test_seeds_beyond_64_bits_and_pruner_seeds_are_named(small):
    # torch.Generator().manual_seed(2**64) failed as "Overflow when unpacking long long",
    # naming no argument; DashPruner took any seed and failed (None) or wrapped it (-1 as
    # 2**64 - 1, 1.5 as 1) only at its first pruning round
    from biomodels.grn import DashPruner

    pairs = make_pairs(torch.rand(6, 2), torch.arange(6.0), torch.zeros(6, dtype=torch.long))
    too_big = r"^seed: expected an integer below 2\*\*64 \(a 64-bit seed\)"
    for call in (lambda s: split_pairs(pairs, 0.2, seed=s),
                 lambda s: GRNModel(small, time_key="time", trajectory_key="trajectory",
                                    n_hidden=2, seed=s),
                 lambda s: DashPruner("imp", seed=s)):
        with pytest.raises(ValueError, match=too_big):
            call(2**64)
        call(2**64 - 1)  # the largest seed torch takes, as the command line's --seed
    for seed, error in ((None, TypeError), (1.5, TypeError), (True, TypeError),
                        (-1, ValueError)):
        with pytest.raises(error, match="^seed: expected an integer >= 0"):
            DashPruner("imp", seed=seed)
    assert DashPruner("imp", seed=np.int64(3)).seed == 3


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool, "float32", np.float64])
def test_dtype_must_be_a_floating_torch_dtype(small, dtype):
    with pytest.raises(TypeError, match="^dtype: expected a floating torch dtype"):
        GRNModel(small, time_key="time", trajectory_key="trajectory", dtype=dtype)


def test_load_without_the_data_reads_out_and_simulates(fitted, small, tmp_path):
    # the issue's `.load(path)`: no AnnData needed to use a fitted network
    model, _, _, truth = fitted
    path = model.save(tmp_path / "m.pt")
    torch.manual_seed(123)  # not 0, the seed every test starts from (and the model's)
    before = torch.random.get_rng_state()
    alone = GRNModel.load(path)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert alone.is_trained and alone.trajectories == model.trajectories
    pd.testing.assert_frame_equal(alone.network(), model.network())
    assert alone.sparsity() == model.sparsity() and alone.settings == model.settings
    pd.testing.assert_series_equal(pd.Series(alone.evaluate(truth)),
                                   pd.Series(model.evaluate(truth)))  # NaN == NaN here
    # default start and times come from the file; given states in the saved scaling
    np.testing.assert_allclose(alone.simulate(), model.simulate(), rtol=1e-6)
    y0, times = small.X[:3], [0.0, 0.5, 1.0]
    np.testing.assert_allclose(alone.predict(y0, times), model.predict(y0, times), rtol=1e-6)
    gene = str(small.var_names[0])
    np.testing.assert_allclose(alone.simulate(perturb={gene: 0.0}),
                               model.simulate(perturb={gene: 0.0}), rtol=1e-6)
    # what needs the data says how to get it
    with pytest.raises(ValueError, match=r"train: .*without its data.*load\(path, adata\)"):
        alone.train(1, pruning="none", progress=False)
    with pytest.raises(ValueError, match="write_results without adata: .*without its data"):
        alone.write_results()
    with pytest.raises(ValueError, match="neither a key of adata.varp"):
        alone.evaluate("truth")
    target = small.copy()
    alone.write_results(target)
    np.testing.assert_array_equal(target.varp["grn"], model.network().to_numpy())
    # saved again without data, it comes back the same, and onto the data it trains on
    again = GRNModel.load(alone.save(tmp_path / "again.pt"))
    np.testing.assert_allclose(again.simulate(), model.simulate(), rtol=1e-6)
    onto = GRNModel.load(tmp_path / "again.pt", small)
    pd.testing.assert_frame_equal(onto.network(), model.network())
    onto.train(1, pruning="none", method="rk4", step_size=0.5, progress=False)
    # a file without the saved start (written before this version) asks for the data
    state = torch.load(path, weights_only=False)
    del state["start"]
    torch.save(state, tmp_path / "old.pt")
    with pytest.raises(ValueError, match="predates data-free loading"):
        GRNModel.load(tmp_path / "old.pt")
    assert GRNModel.load(tmp_path / "old.pt", small).network().equals(model.network())


def test_load_names_the_fields_a_damaged_file_lacks(quick, small, tmp_path):
    # a file of the right format without "genes" failed with a bare KeyError: 'genes'
    state = torch.load(quick.save(tmp_path / "m.pt"), weights_only=False)
    del state["genes"], state["seed"]
    torch.save(state, tmp_path / "cut.pt")
    for adata in (None, small):
        with pytest.raises(ValueError, match=r"cut.pt' is a prunus GRN model file without the "
                           r"fields \['genes', 'seed'\]: it was damaged"):
            GRNModel.load(tmp_path / "cut.pt", adata)
    state = torch.load(tmp_path / "m.pt", weights_only=False)
    del state["time_range"]  # needed only without the data
    torch.save(state, tmp_path / "no_range.pt")
    with pytest.raises(ValueError, match=r"without the fields \['time_range'\]"):
        GRNModel.load(tmp_path / "no_range.pt")
    assert GRNModel.load(tmp_path / "no_range.pt", small).network().equals(quick.network())


def test_predict_and_knockout(fitted):
    model, _, _, _ = fitted
    y0 = model._default_y0()
    times = np.linspace(0.0, 8.0, 9)
    traj = model.predict(y0, times)
    assert traj.shape == (9, 8)
    np.testing.assert_allclose(traj[0], y0, atol=1e-6)
    both = model.predict(np.stack([y0, y0]), times)
    np.testing.assert_allclose(both[:, 1], traj, atol=1e-4)
    gene = model.genes[0]
    ko = model.simulate(y0, times, perturb={gene: 0.0})
    np.testing.assert_allclose(ko[:, 0], 0.0, atol=1e-9)
    with pytest.raises(ValueError, match=r"perturb names genes not among the model's 8 "
                                         r"genes: \['nope'\]"):
        model.simulate(y0, times, perturb={"nope": 1.0})
    for value in (np.nan, np.inf, "high"):
        with pytest.raises(ValueError, match="perturb values must be finite numbers"):
            model.simulate(y0, times, perturb={gene: value})
    with pytest.raises(ValueError, match="increasing"):
        model.predict(y0, [1.0, 0.0])


def test_predict_matches_the_closed_form_of_pure_decay(fitted):
    # no production (output weights 0): z(t) = z0 exp(-r s (t - t0)) in [0, 1] units, with
    # s the model's time scale; in data units y = offset + scale * z
    model = copy.deepcopy(fitted[0])
    with torch.no_grad():
        model.func.sum_out.weight.zero_()
        model.func.prod_out.weight.zero_()
        model.func.gene_rates.copy_(torch.linspace(0.2, 1.5, len(model.genes)))
    y0 = model._default_y0()
    times = np.array([3.0, 4.0, 7.5, 11.0])
    traj = model.predict(y0, times)
    r = torch.relu(model.func.gene_rates).detach().double().numpy()
    z0 = (y0 - model.offset) / model.scale
    decay = np.exp(-np.outer(times - times[0], r) * model.time_scale)
    np.testing.assert_allclose(traj, model.offset + model.scale * z0 * decay, rtol=1e-4,
                               atol=1e-6)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"lr": 0.0}, ValueError, "lr: expected > 0"),
    ({"lr": float("nan")}, ValueError, "lr: expected a finite number"),
    ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
    ({"batch_size": 2.5}, TypeError, "batch_size must be an integer"),
    ({"pruning": "l1", "l1": -1.0}, ValueError, "l1: expected >= 0"),
    ({"patience": -1}, ValueError, "patience must be >= 0"),
    ({"method": "rk4", "step_size": 0.0}, ValueError, "step_size: expected > 0"),
    # was "can't multiply sequence by non-int of type 'float'"
    ({"method": "rk4", "step_size": "0.5"}, TypeError, "step_size: expected a real number"),
    ({"rtol": -1e-3}, ValueError, "rtol: expected > 0"),
])
def test_bad_training_settings_are_named(small, kwargs, error, match):
    m = GRNModel(small, time_key="time", trajectory_key="trajectory", n_hidden=4, seed=0)
    kwargs = {"pruning": "none", **kwargs}
    with pytest.raises(error, match=match):
        m.train(1, progress=False, **kwargs)
    assert not m.is_trained


@pytest.mark.parametrize("pruning", ["none", "l1", "imp", "prior"])
def test_normalize_is_checked_whatever_the_pruning(small, pruning, monkeypatch):
    # only DashPruner checked it: with pruning="none" a typo ran and was recorded
    import biomodels.grn.model as model_mod

    genes = list(small.var_names)
    m = GRNModel(small, time_key="time", trajectory_key="trajectory", n_hidden=4, seed=0,
                 prior=pd.DataFrame(small.varp["truth"], index=genes, columns=genes))
    before = {k: v.clone() for k, v in m.func.state_dict().items()}
    monkeypatch.setattr(model_mod, "fit", lambda *a, **k: pytest.fail("training ran"))
    with pytest.raises(ValueError, match="normalize must be 'alive', 'reference' or 'sum', "
                                         "got 'x'"):
        m.train(1, pruning=pruning, normalize="x", progress=False)
    assert not m.is_trained and m.history == {} and m.settings == {}
    for k, v in m.func.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)


def test_a_failed_fit_leaves_the_model_as_it_was(small, monkeypatch):
    import biomodels.grn.train as train_mod

    m = GRNModel(small, time_key="time", trajectory_key="trajectory", n_hidden=4, seed=0)
    m.train(4, pruning="imp", progress=False, method="rk4", step_size=0.5)
    before = {k: v.clone() for k, v in m.func.state_dict().items()}
    net, history, settings = m.network(), m.history, dict(m.settings)
    real = train_mod.integrate
    calls = []

    def diverging(*args, **kwargs):  # the third batch blows up, after two optimizer steps
        calls.append(1)
        out = real(*args, **kwargs)
        return out * float("nan") if len(calls) >= 3 else out

    monkeypatch.setattr(train_mod, "integrate", diverging)
    # every retry at a lower learning rate diverges too: the fit gives up after four
    with pytest.warns(RuntimeWarning, match="diverged"), \
            pytest.raises(train_mod.SolverDivergedError, match="non-finite loss"):
        m.train(12, pruning="imp", progress=False, method="rk4", step_size=0.5, batch_size=8)
    after = m.func.state_dict()
    assert before.keys() == after.keys()
    for k, v in before.items():
        torch.testing.assert_close(after[k], v, rtol=0, atol=0)
    pd.testing.assert_frame_equal(m.network(), net)
    assert m.history is history and m.settings == settings
    monkeypatch.setattr(train_mod, "integrate", real)
    m.train(12, pruning="imp", progress=False, method="rk4", step_size=0.5)  # still trainable
    assert np.isfinite(m.network().to_numpy()).all() and m.settings["epochs"] == 12


def test_an_anndata_without_x_asks_for_a_layer(small):
    b = small.copy()
    b.layers["counts"] = b.X.copy()
    b.X = None
    with pytest.raises(ValueError, match=r"adata.X is None; pass layer= \(one of .*'counts'"):
        GRNModel(b, time_key="time", trajectory_key="trajectory")
    GRNModel(b, time_key="time", trajectory_key="trajectory", layer="counts")


def test_knockout_mask_follows_the_model_device(small):
    from biomodels.grn.model import _Clamped

    m = GRNModel(small, time_key="time", trajectory_key="trajectory", n_hidden=4,
                 dtype=torch.float64)
    func = copy.deepcopy(m.func).to("meta")  # a stand-in for a GPU without one
    out = _Clamped(func, [0], small.n_vars)(torch.tensor(0.0),
                                            torch.zeros(2, small.n_vars, device="meta",
                                                        dtype=torch.float64))
    assert out.device.type == "meta"


def test_loading_a_file_that_is_not_a_model_names_it(small, tmp_path):
    bad = tmp_path / "notes.pt"
    bad.write_text("not a model")
    with pytest.raises(ValueError, match="notes.pt' cannot be read as a saved GRN model"):
        GRNModel.load(bad, small)


def test_a_seeded_model_leaves_the_global_generator_alone(small):
    # nn.Linear's default initialisation drew from torch's global generator before the seeded
    # one overwrote it: building a model moved the caller's random stream
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    func = PhoenixODEFunc(5, 8, generator=torch.Generator().manual_seed(0))
    model = GRNModel(small, time_key="time", trajectory_key="trajectory", n_hidden=4, seed=2)
    assert torch.equal(torch.random.get_rng_state(), before)
    torch.rand(7)  # whatever the global state, the same seed gives the same model
    again = PhoenixODEFunc(5, 8, generator=torch.Generator().manual_seed(0))
    for (n, p), q in zip(func.named_parameters(), again.parameters()):
        assert torch.equal(p, q), n
    other = GRNModel(small, time_key="time", trajectory_key="trajectory", n_hidden=4, seed=2)
    for (n, p), q in zip(model.func.named_parameters(), other.func.parameters()):
        assert torch.equal(p, q), n


def test_a_blow_up_is_an_error_not_nan():
    from biomodels.grn.train import SolverDivergedError, solve

    # one gene: the multiplicative branch exp(-50 log1p(s(y))) diverges as y falls, and
    # enters with a negative sign, so y runs away to -inf
    func = PhoenixODEFunc(1, 1, dtype=torch.float64)
    with torch.no_grad():
        for n in PRUNABLE:
            dict(func.named_parameters())[n].zero_()
        func.prod_in.weight.fill_(-50.0)
        func.prod_out.weight.fill_(-1.0)
        func.prod_in.bias.zero_()
        func.gene_rates.fill_(1.0)
    y0 = torch.tensor([[-0.5]], dtype=torch.float64)
    with pytest.raises(SolverDivergedError, match="not finite from t = "):
        solve(func, y0, torch.linspace(0, 1, 5), method="rk4")
    with pytest.raises(SolverDivergedError):
        solve(func, y0, torch.linspace(0, 1, 5))  # dopri5: step underflow


def test_float64_model_follows_dtype(small):
    m = GRNModel(small, time_key="time", trajectory_key="trajectory", n_hidden=4,
                 dtype=torch.float64)
    m.train(1, pruning="none", method="rk4", step_size=0.5, progress=False)
    assert m.func.sum_in.weight.dtype == torch.float64
    assert m.predict(m._default_y0(), [0.0, 1.0]).dtype == np.float64


def test_adjoint_gives_the_same_solution_and_gradients(torch_gen):
    func = PhoenixODEFunc(4, 3, dtype=torch.float64, generator=torch_gen)
    y0 = torch.rand(3, 4, dtype=torch.float64, generator=torch_gen)
    dt = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    grads = []
    for adjoint in (False, True):
        func.zero_grad()
        out = integrate(func, y0, dt, rtol=1e-9, atol=1e-11, adjoint=adjoint)
        out.pow(2).sum().backward()
        grads.append((out.detach(), [p.grad.clone() for p in func.parameters()]))
    torch.testing.assert_close(grads[0][0], grads[1][0])
    for a, b in zip(grads[0][1], grads[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_layer_ppi_and_options(small):
    ad = small.copy()
    ad.layers["clean"] = np.asarray(ad.layers["noise_free"]).copy()
    genes = list(ad.var_names)
    truth = pd.DataFrame(ad.varp["truth"], index=genes, columns=genes)
    ppi = pd.DataFrame(np.abs(truth.to_numpy()) @ np.abs(truth.to_numpy()).T, index=genes,
                       columns=genes)
    m = GRNModel(ad, time_key="time", trajectory_key="trajectory", layer="clean", prior=truth,
                 ppi=ppi, n_hidden=5, init="phoenix", time_scale=0.5)
    assert m.time_scale == 0.5
    np.testing.assert_allclose(m._x * m.scale + m.offset, ad.layers["clean"], atol=1e-12)
    h = m.train(4, pruning="dash", normalize="sum", lambda_ppi=0.5, lambda_motif=0.5,
                method="dopri5", progress=False)
    assert len(h["epoch"]) == 4 and m.settings["normalize"] == "sum"
    with pytest.raises(ValueError, match="time_scale"):
        GRNModel(ad, time_key="time", trajectory_key="trajectory", time_scale=-1.0)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"time_scale": float("inf")}, ValueError, "time_scale"),  # then "no training pairs"
    ({"n_hidden": 2.7}, TypeError, "n_hidden"),  # silently truncated to 2
    ({"n_hidden": 0}, ValueError, "n_hidden"),
    ({"seed": 2.5}, TypeError, "seed"),
    ({"seed": True}, TypeError, "seed"),
])
def test_model_options_are_checked_not_truncated(small, kwargs, error, match):
    with pytest.raises(error, match=match):
        GRNModel(small, time_key="time", trajectory_key="trajectory", **kwargs)
    assert GRNModel(small, time_key="time", trajectory_key="trajectory", n_hidden=np.int64(3),
                    seed=np.int64(1)).n_hidden == 3


# ---------------------------------------------------------------- boundary cases
def test_a_validation_fraction_near_one_keeps_a_training_pair():
    # few trajectories: random pairs are held out; 0.9 of 2 pairs rounded to both, and the
    # fit then failed with "every trajectory needs at least two time points"
    p = make_pairs(torch.arange(6.0).reshape(3, 2), torch.tensor([0.0, 1.0, 2.0]),
                   torch.tensor([0, 0, 0]))
    train, val = split_pairs(p, 0.9, seed=0)
    assert (len(train), len(val)) == (1, 1)
    ad = AnnData(np.random.default_rng(0).random((3, 3)),
                 obs=pd.DataFrame({"time": [0.0, 1.0, 2.0]}, index=["a", "b", "c"]))
    m = GRNModel(ad, time_key="time", n_hidden=2)
    # (3 cells: the widest gap is 1.51 time units, and 0.5 of it is beyond a stable step)
    m.train(1, pruning="none", val_fraction=0.9, method="rk4", step_size=0.1, progress=False)
    assert (m.settings["n_pairs_train"], m.settings["n_pairs_val"]) == (1, 1)


def test_the_constant_gene_warning_says_how_many_and_that_the_list_is_cut():
    # all 12 genes constant: the warning named 10 of them, with no count and no "..."
    genes = [f"g{i}" for i in range(12)]
    ad = AnnData(np.zeros((4, 12)), obs=pd.DataFrame({"time": [0.0, 1.0, 2.0, 3.0]},
                                                      index=list("abcd")))
    ad.var_names = genes
    listed = re.escape(repr(genes[:10])[:-1] + ", ...]")
    with pytest.warns(UserWarning, match=r"no signal \(12 of 12 genes\): " + listed + "; "):
        GRNModel(ad, time_key="time", n_hidden=2)
    ad.X[1:, 2:] = 1.0  # two constant genes: all named, no "..."
    with pytest.warns(UserWarning, match=r"no signal \(2 of 12 genes\): \['g0', 'g1'\]; "):
        GRNModel(ad, time_key="time", n_hidden=2)


@pytest.fixture(scope="module")
def quick(small):
    m = GRNModel(small, time_key="time", trajectory_key="trajectory", n_hidden=4, seed=0)
    m.train(1, pruning="none", method="rk4", step_size=0.5, progress=False)
    return m


@pytest.mark.parametrize("times", [[0.0, np.nan], [0.0, np.inf], [-np.inf, 0.0]])
def test_non_finite_times_are_refused_by_name(quick, times):
    # NaN reached the solver ("t must be strictly increasing") and [0, inf] never ended
    # under dopri5; rk4 here, so that the old code fails instead of hanging
    with pytest.raises(ValueError, match="times must be .* finite"):
        quick.predict(quick._default_y0(), times, method="rk4")


def test_an_empty_batch_of_initial_states_is_refused(quick):
    # (0, G) y0 reached dopri5, which failed with "underflow in dt 0.0"
    with pytest.raises(ValueError, match="y0 must have 8 genes per row and at least one row"):
        quick.predict(np.zeros((0, 8)), [0.0, 1.0])


def test_perturb_must_be_a_mapping(quick):
    with pytest.raises(TypeError, match="perturb must be a mapping"):  # was AttributeError
        quick.simulate(times=[0.0, 1.0], perturb=[quick.genes[0]])  # type: ignore[arg-type]


def test_perturb_may_be_a_series_keyed_by_gene(quick):
    # a Series is what a loop over a DataFrame row gives: "perturb must be a mapping"
    gene = quick.genes[1]
    ref = quick.simulate(times=[0.0, 1.0], perturb={gene: 0.0}, method="rk4")
    got = quick.simulate(times=[0.0, 1.0], perturb=pd.Series({np.str_(gene): np.float32(0)}),
                         method="rk4")
    np.testing.assert_array_equal(got, ref)


def test_perturb_keys_name_genes_as_text_as_the_prior_does(small):
    # numeric gene ids: {3: 0.0} was "not in the data" while align_prior matched int labels
    ad = small.copy()
    ad.var_names = [str(i) for i in range(ad.n_vars)]
    m = GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=4, seed=0)
    m.train(1, pruning="none", method="rk4", step_size=0.5, progress=False)
    times = [0.0, 1.0, 2.0]
    got = m.simulate(times=times, perturb={3: 0.0}, method="rk4")
    np.testing.assert_array_equal(got, m.simulate(times=times, perturb={"3": 0.0}, method="rk4"))
    np.testing.assert_allclose(got[:, 3], 0.0, atol=1e-6)  # clamped at the knockout value
    with pytest.raises(ValueError, match=r"perturb names genes more than once: \['3'\]"):
        m.simulate(times=times, perturb={3: 0.0, "3": 1.0}, method="rk4")


@pytest.mark.parametrize("kwargs,error", [
    ({"rtol": "1e-5"}, TypeError), ({"atol": "1e-7"}, TypeError),
    ({"rtol": -1e-5}, ValueError), ({"atol": float("nan")}, ValueError),
])
def test_solver_tolerances_of_predict_are_named(quick, kwargs, error):
    # a string failed inside torch with "new(): invalid data type 'str'", naming neither
    with pytest.raises(error, match=next(iter(kwargs))):
        quick.predict(quick._default_y0(), [0.0, 1.0], **kwargs)


def test_numpy_settings_are_stored_as_python_numbers(small):
    # np.float32 / 0-d array settings stayed numpy in model.settings: json.dumps failed
    import json

    m = GRNModel(small, time_key="time", trajectory_key="trajectory", n_hidden=4, seed=0)
    m.train(1, pruning="imp", method="rk4", step_size=np.array(0.5), lr=np.float32(0.5),
            batch_size=np.int64(16), progress=False,
            schedule=PruningSchedule(first_epoch=np.int64(1), first_fraction=np.float32(0.5)))
    back = json.loads(json.dumps(m.settings))
    assert back["lr"] == 0.5 and back["step_size"] == 0.5 and back["batch_size"] == 16
    assert back["schedule"] == [1, 0.5, 10, 0.1]


def test_returned_history_and_written_settings_are_copies(fitted, small):
    # train() returned model.history itself and write_results wrote the model's own
    # schedule list: editing either edited the model
    model, history, _, _ = fitted
    assert history == model.history and history is not model.history
    n_epochs = len(model.history["train_loss"])
    history["train_loss"].append(0.0)
    assert len(model.history["train_loss"]) == n_epochs
    history["train_loss"].pop()
    ad = small.copy()
    info = model.write_results(ad)
    schedule = list(model.settings["schedule"])
    info["settings"]["schedule"][0] = 99
    ad.uns["grn"]["settings"]["schedule"][1] = 0.0
    assert model.settings["schedule"] == schedule


def test_edges_list_the_network_strongest_first(fitted):
    model, _, _, truth = fitted
    net, score = model.network(), model.network(normalize="target").abs()
    edges = model.edges()
    # every non-zero off-diagonal effect once, none of the pairs that pruning cut
    off = ~np.eye(len(net), dtype=bool)
    assert (net.to_numpy() == 0)[off].any()  # the DASH fit cut some pairs
    assert len(edges) == int((net.to_numpy() != 0)[off].sum())
    assert list(edges.columns) == ["regulator", "target", "effect", "score", "in_prior"]
    for row in edges.itertuples():
        assert row.regulator != row.target
        assert row.effect == net.loc[row.regulator, row.target] != 0
        assert row.score == score.loc[row.regulator, row.target]
        assert row.in_prior == (truth.loc[row.regulator, row.target] != 0)
    assert (np.diff(edges["score"].to_numpy()) <= 0).all()
    # top keeps the head; self-loops add the diagonal's non-zero effects
    pd.testing.assert_frame_equal(model.edges(top=5), edges.head(5))
    loops = model.edges(self_loops=True)
    assert len(loops) - len(edges) == int((np.diag(net.to_numpy()) != 0).sum()) > 0
    assert (loops["regulator"] == loops["target"]).any()


def test_edges_top_is_the_head_of_the_full_list_under_ties(fitted, monkeypatch):
    # top ranks only the pairs scoring at least the top-th score (ranking every pair took
    # 5 s and 1 GB for top=20 of 3,000 genes); ties across that cut keep regulator-major order
    model = fitted[0]
    tied = torch.sign(model.func.effects().detach())  # scores 1 / (non-zeros of the column)
    monkeypatch.setattr(model.func, "effects", lambda: tied)
    full = model.edges()
    assert full["score"].duplicated().sum() > len(full) // 2
    for top in (1, 2, 5, 17, len(full) - 1, len(full), len(full) + 3):
        pd.testing.assert_frame_equal(model.edges(top=top), full.head(top))
    loops = model.edges(self_loops=True)
    pd.testing.assert_frame_equal(model.edges(top=9, self_loops=True), loops.head(9))


def test_edges_without_a_prior_and_bad_top(quick):
    assert "in_prior" not in quick.edges().columns
    for top in (0, -1, 2.5, True, "5"):
        with pytest.raises(ValueError, match="top must be a positive integer"):
            quick.edges(top=top)


def test_write_results_reads_a_truth_key_from_the_anndata_written_to(quick, small, tmp_path):
    # the key was looked up in the model's own data: a loaded model (no data) raised, and
    # a model with data scored against its own varp entry, not the one of the target
    genes = list(small.var_names)
    truth = pd.DataFrame(small.varp["truth"], index=genes, columns=genes)
    target = small.copy()
    target.varp["truth"] = small.varp["truth"].T  # same key, another network (reversed)
    target.varp["reversed"] = small.varp["truth"].T  # a key only the target has
    reversed_ = quick.evaluate(truth.T)
    assert reversed_["auroc"] != quick.evaluate(truth)["auroc"]
    for key in ("truth", "reversed"):
        info = quick.write_results(target, truth=key)
        assert info["metrics"]["auroc"] == reversed_["auroc"], key
    loaded = GRNModel.load(quick.save(tmp_path / "m.pt"))
    info = loaded.write_results(target, truth="reversed")
    assert info["metrics"]["auroc"] == reversed_["auroc"]
    # a key of the model's own data that the target lacks still works
    other = small.copy()
    del other.varp["truth"]
    assert quick.write_results(other, truth="truth")["metrics"]["auroc"] == \
        quick.evaluate(truth)["auroc"]


def test_write_results_names_the_keys_of_the_anndata_written_to(quick, small, tmp_path):
    # a misspelt key was reported with the keys of the model's own data (['truth'], so the
    # "fix" scored against another AnnData's matrix) or, for a loaded model, "(no data)"
    target = small.copy()
    target.varp["true_net"] = target.varp.pop("truth")
    loaded = GRNModel.load(quick.save(tmp_path / "m.pt"))
    for model in (quick, loaded):
        with pytest.raises(ValueError, match=r"truth='true_nte' is neither a key of "
                                             r"adata.varp \(\['true_net'\]\)"):
            model.write_results(target, truth="true_nte")
        assert "grn" not in target.varp


def test_vector_field_takes_numpy_counts():
    # np.int64 (a count from numpy) was refused as "not a positive integer"
    func = PhoenixODEFunc(np.int64(4), np.int32(3), generator=torch.Generator().manual_seed(0))
    assert func.effects().shape == (4, 4) and isinstance(func.n_genes, int)
    for bad in (True, 0, 2.0):
        with pytest.raises(ValueError, match="n_genes must be a positive integer"):
            PhoenixODEFunc(bad, 3)


def test_a_missing_truth_or_data_that_is_not_an_anndata_is_named(quick, small, tmp_path):
    # evaluate(None) failed with a bare AssertionError; write_results and load, given a
    # DataFrame of the expression, with "'DataFrame' object has no attribute 'var_names'"
    with pytest.raises(TypeError, match="truth: expected the true network"):
        quick.evaluate(None)  # type: ignore[arg-type]
    frame = small.to_df()
    with pytest.raises(TypeError, match="adata must be an AnnData, got DataFrame"):
        quick.write_results(frame)
    path = quick.save(tmp_path / "m.pt")
    with pytest.raises(TypeError, match="adata must be an AnnData, got DataFrame"):
        GRNModel.load(path, frame)


@pytest.mark.parametrize("y0, times, match", [
    ("abc", [0.0, 1.0], "y0 must be numbers"),
    ([[0.5] * 8, [0.5]], [0.0, 1.0], "y0 must be numbers"),  # ragged rows
    (None, ["a", "b"], "times must be a 1-D increasing sequence"),
    (None, "ab", "times must be a 1-D increasing sequence"),
    (pd.DataFrame([["x"] * 8], columns=[f"g{i}" for i in range(8)]), [0.0, 1.0],
     "y0 must be numbers"),
])
def test_initial_states_and_times_that_are_not_numbers_are_named(quick, y0, times, match):
    # numpy's "could not convert string to float: 'abc'" named neither argument
    with pytest.raises(ValueError, match=match):
        quick.predict(quick._default_y0() if y0 is None else y0, times, method="rk4")


def test_network_per_target_scores_by_hand_and_an_unknown_normalization_is_named(quick):
    # pins network()'s refusal of a normalize it does not know ("sum" is combine_scores'
    # word, not this method's) next to the documented meaning of "target" on a network set
    # by hand: E = W_sum^T C_sum^T + W_prod^T C_prod^T, column j times ReLU(g_j), then
    # each column divided by its sum of |E_ij|, the sign kept
    model = copy.deepcopy(quick)
    assert not model._constant.any()  # no constant target: no column zeroed on that ground
    with torch.no_grad():
        for n in PRUNABLE:
            dict(model.func.named_parameters())[n].zero_()
        model.func.sum_in.weight[1, 2] = 1.0  # regulator 2 -> hidden 1 -> target 5, x 1
        model.func.sum_out.weight[5, 1] = 1.0
        model.func.sum_in.weight[2, 3] = 1.0  # regulator 3 -> hidden 2 -> target 5, x -3
        model.func.sum_out.weight[5, 2] = -3.0
        model.func.prod_in.weight[3, 0] = 2.0  # product branch: regulator 0 -> target 0, x 2
        model.func.prod_out.weight[0, 3] = 1.0
        model.func.gene_rates.fill_(1.0)
        model.func.gene_rates[5] = 0.5
    raw = np.zeros((8, 8))
    raw[2, 5], raw[3, 5], raw[0, 0] = 0.5, -1.5, 2.0
    np.testing.assert_allclose(model.network().to_numpy(), raw, rtol=1e-6, atol=0)
    scores = np.zeros((8, 8))
    scores[2, 5], scores[3, 5], scores[0, 0] = 0.25, -0.75, 1.0  # 0.5 / 2, -1.5 / 2, 2 / 2
    net = model.network(normalize="target")
    np.testing.assert_allclose(net.to_numpy(), scores, rtol=1e-12, atol=0)
    assert list(net.index) == list(net.columns) == list(model.genes)
    for bad in ("sum", "Target", None):
        with pytest.raises(ValueError, match=re.escape(
                f"normalize must be 'none' or 'target', got {bad!r}")):
            model.network(normalize=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_initial_states_are_refused_by_name(quick, bad):
    # pins the finiteness check of y0 in predict and simulate: a NaN start would integrate
    # to NaN trajectories without a word; one bad entry in a row of a batch is enough
    y0 = np.stack([quick._default_y0(), quick._default_y0()])
    y0[1, 3] = bad
    with pytest.raises(ValueError, match="y0 has NaN or infinite values"):
        quick.predict(y0, [0.0, 1.0], method="rk4")
    with pytest.raises(ValueError, match="y0 has NaN or infinite values"):
        quick.simulate(y0[1], [0.0, 1.0], method="rk4")


def test_initial_states_and_times_on_the_meta_device_are_refused_by_name(quick):
    # a meta tensor (a shape without values) failed inside torch with the
    # NotImplementedError "Cannot copy out of meta tensor; no data!", naming no argument
    y0, times = quick._default_y0(), [0.0, 1.0]
    with pytest.raises(ValueError, match=r"^y0: is on the meta device \(a shape without "
                                         r"values\); pass a tensor with data"):
        quick.simulate(torch.zeros(3, 8, device="meta"), times)
    with pytest.raises(ValueError, match=r"^times: is on the meta device"):
        quick.predict(y0, torch.tensor(times, device="meta"), method="rk4")


def test_times_that_require_grad_are_detached_as_y0_is(quick):
    # np.asarray(times) raised "Can't call numpy() on Tensor that requires grad" while a y0
    # that requires grad was accepted (detached: the output carries no gradient)
    y0, times = quick._default_y0(), [0.0, 0.5, 1.0]
    want = quick.predict(y0, times, method="rk4")
    for t in (torch.tensor(times, requires_grad=True),
              torch.tensor(times, dtype=torch.float64, requires_grad=True)):
        np.testing.assert_array_equal(quick.predict(y0, t, method="rk4"), want)
        np.testing.assert_array_equal(quick.simulate(torch.tensor(y0, requires_grad=True), t,
                                                     method="rk4"), want)


def test_an_h5ad_or_a_cut_file_given_as_a_model_is_named_without_torchs_advice(
        quick, small, tmp_path):
    # torch's weights-only error advised re-running with weights_only=False ("will likely
    # succeed") and filing an issue; an h5ad (or a pickle) is no saved model at all
    small.write_h5ad(tmp_path / "data.h5ad")
    data = quick.save(tmp_path / "m.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"data.h5ad' cannot be read as a saved GRN model: "
                       r"it is not a complete file written by torch.save; it is an HDF5 file "
                       r"\(an .h5ad\? read that with anndata.read_h5ad\)") as err:
        GRNModel.load(tmp_path / "data.h5ad")
    assert "weights_only" not in str(err.value)
    with pytest.raises(ValueError, match="cut.pt' cannot be read as a saved GRN model: it is "
                       "not a complete file written by torch.save; it was cut short"):
        GRNModel.load(tmp_path / "cut.pt")


@pytest.mark.parametrize(("dtype", "hint"), [
    ("float64", "'float64': pass torch.float64"),
    (np.float32, "<class 'numpy.float32'>: pass torch.float32"),
    (np.dtype("float64"), "dtype('float64'): pass torch.float64"),
    ("bfloat16", "'bfloat16': pass torch.bfloat16"),
    (torch.int64, "torch.int64"),
])
def test_a_dtype_given_by_name_says_which_torch_dtypes_are_taken(small, dtype, hint):
    # "dtype: expected a floating torch dtype, got 'float64'" said neither which dtypes a
    # model takes nor that torch.float64 is the one meant (CTMC and cascade say ValueError;
    # a name is not a torch.dtype, so a TypeError as the project's rule and GRN's tests say)
    taken = "(torch.float32, torch.float64 or torch.bfloat16)"
    with pytest.raises(TypeError) as err:
        GRNModel(small, time_key="time", trajectory_key="trajectory", dtype=dtype)
    assert str(err.value) == f"dtype: expected a floating torch dtype {taken}, got {hint}"
    with pytest.raises(TypeError) as err:  # the ODE function also takes float16
        PhoenixODEFunc(3, 2, dtype=dtype)
    assert "(torch.float32, torch.float64, torch.bfloat16 or torch.float16)" in str(err.value)
    assert str(err.value).endswith(f"got {hint}")


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool, torch.complex64, "float32"])
def test_odefunc_dtype_must_be_a_floating_torch_dtype(dtype):
    # PhoenixODEFunc(3, dtype=torch.int64) failed in torch with "Only Tensors of floating
    # point and complex dtype can require gradients", naming no argument
    with pytest.raises(TypeError, match="^dtype: expected a floating torch dtype"):
        PhoenixODEFunc(3, 2, dtype=dtype)
    assert PhoenixODEFunc(3, 2, dtype=torch.float16).gene_rates.dtype == torch.float16


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_saved_float64_model_with_a_ppi_loads_and_trains_on_as_the_original(small,
                                                                               tmp_path):
    # a double-precision model, an asymmetric PPI and DASH's scores: a load that read any
    # of them back otherwise (float32, the PPI transposed, no saved pruner state or
    # history) gave another network or another continued fit than the model saved
    from biomodels.grn import PruningSchedule

    small = small.copy()
    small.var_names = genes = [f"gene_{c}" for c in "hgfedcba"]  # not in sorted order
    ppi = pd.DataFrame(np.triu(np.ones((8, 8)), 1), index=genes, columns=genes)
    model = GRNModel(small, time_key="time", trajectory_key="trajectory", prior="truth",
                     ppi=ppi, n_hidden=4, seed=0, dtype=torch.float64)
    kw = dict(pruning="dash", method="rk4", step_size=0.5, progress=False,
              schedule=PruningSchedule(first_epoch=2, every=2, first_fraction=0.3,
                                       fraction=0.3))
    model.train(3, **kw)
    path = model.save(tmp_path / "m.pt")
    for loaded in (GRNModel.load(path, small), GRNModel.load(path)):
        assert loaded.dtype == torch.float64
        pd.testing.assert_frame_equal(loaded.ppi, ppi)
        pd.testing.assert_frame_equal(loaded.network(), model.network(), check_exact=True)
        assert loaded.history == model.history and loaded.settings == model.settings
    on = GRNModel.load(path, small)
    assert on.train(2, **kw) == model.train(2, **kw)  # the whole history, to the last bit
    pd.testing.assert_frame_equal(on.network(), model.network(), check_exact=True)


def test_a_model_loaded_onto_new_data_starts_from_that_datas_first_states(quick, small,
                                                                          tmp_path):
    # the new data are put in the saved scaling: read in their own scaling instead, the
    # model's default start was not the mean first state of the data it was loaded onto
    path = quick.save(tmp_path / "m.pt")
    new = small.copy()
    new.X = new.X * 2.0 + 0.5
    loaded = GRNModel.load(path, new)
    first = new.obs["time"] == new.obs["time"].min()
    expected = np.asarray(new.X[first.to_numpy()]).mean(axis=0)
    assert new.obs["trajectory"][first].nunique() == first.sum()  # one first cell each
    np.testing.assert_allclose(loaded.simulate()[0], expected, rtol=1e-5, atol=1e-6)


def test_a_model_loaded_without_its_data_simulates_over_the_saved_time_range(small,
                                                                             tmp_path):
    # data observed from t = 5: the default simulation spans [5, t_max] in 100 points; a
    # loaded model that started its range at 0 spaced the points otherwise
    late = small.copy()
    late.obs["time"] = late.obs["time"] + 5.0
    model = GRNModel(late, time_key="time", trajectory_key="trajectory", n_hidden=4, seed=0)
    model.train(1, pruning="none", method="rk4", step_size=0.5, progress=False)
    alone = GRNModel.load(model.save(tmp_path / "m.pt"))
    assert alone._time_range() == model._time_range() == (5.0, float(late.obs["time"].max()))
    np.testing.assert_allclose(alone.simulate(), model.simulate(), rtol=1e-6, atol=1e-9)


def test_fit_info_says_how_the_fit_ended_and_is_written_and_saved(fitted, tmp_path):
    # the epoch whose weights were kept, the learning rate cuts and the pruning rounds were
    # not recorded: a 25-epoch DASH fit ran out of epochs, which nothing said
    model, history, _, _ = fitted
    info = model.fit_info
    best = info["best_epoch"]
    assert info["stopped_early"] is False and len(history["epoch"]) == 25
    assert 20 <= best <= 25  # after the last round (epoch 20)
    assert info["best_val_loss"] == min(history["val_loss"][19:])
    assert info["best_val_loss"] == history["val_loss"][best - 1]
    # the held-out loss of the weights kept, as fit_summary measures it anew
    assert info["best_val_loss"] == pytest.approx(model.fit_summary["mse"], rel=1e-9)
    assert info["lr_reductions"] == sum(history["lr_cut"])
    assert info["final_lr"] == history["lr"][-1]
    assert info["solver_retries"] == 0
    assert info["pruning_rounds"] == info["pruning_rounds_scheduled"] == 3
    written = model.write_results(model._adata.copy())
    assert written["fit_info"] == info
    path = tmp_path / "r.h5ad"
    adata = model._adata.copy()
    model.write_results(adata)
    adata.write_h5ad(path)
    from anndata import read_h5ad

    back = read_h5ad(path).uns["grn"]["fit_info"]
    assert {k: (v.item() if hasattr(v, "item") else v) for k, v in back.items()} == info
    assert GRNModel.load(model.save(tmp_path / "m.pt")).fit_info == info


@pytest.mark.filterwarnings("ignore:the model explains")  # 2-epoch fits
def test_a_fit_with_nothing_held_out_says_its_r2_is_on_the_training_pairs(small, tmp_path):
    # val_fraction=0: fit_summary, repr and uns["grn"]["fit"]["held_out_r2"] called the
    # training fit "held-out", and nothing in the h5ad told a reader otherwise
    m = GRNModel(small, time_key="time", trajectory_key="trajectory", n_hidden=4, seed=0)
    m.train(2, pruning="none", val_fraction=0, method="rk4", step_size=0.5, progress=False)
    assert m.settings["val_split"] == "none" and m.settings["n_pairs_val"] == 0
    assert repr(m).splitlines()[2].endswith(
        f", one-step R^2 {m.fit_summary['r2']:.3f} on the training pairs")
    fit = m.write_results(small.copy())["fit"]
    assert fit["r2_on"] == "training pairs" and fit["held_out"] is False
    assert fit["held_out_r2"] == m.fit_summary["r2"]  # the keys stay as they were
    back = GRNModel.load(m.save(tmp_path / "m.pt"))
    assert repr(back).splitlines()[2] == repr(m).splitlines()[2]
    # held out: 12 trajectories are enough to hold out whole ones
    m.train(2, pruning="none", method="rk4", step_size=0.5, progress=False)
    assert m.settings["val_split"] == "trajectories"
    assert "held-out one-step R^2" in repr(m)
    fit = m.write_results(small.copy())["fit"]
    assert fit["r2_on"] == "held-out trajectories" and fit["held_out"] is True


def test_a_damaged_model_file_is_refused_not_loaded_with_wrong_numbers(quick, small, tmp_path,
                                                                      damage):
    # torch.load does not check the zip records' CRC-32s: 40 bytes damaged in a saved
    # model's weights loaded without an error (krumsiek11: largest effect 1.0e+23, not 1.55)
    path = quick.save(tmp_path / "m.pt")
    damage(path, tmp_path / "damaged.pt")
    torch.load(tmp_path / "damaged.pt", weights_only=True)  # torch reads it without a word
    for adata in (None, small):
        with pytest.raises(ValueError, match=r"damaged.pt' cannot be read as a saved GRN "
                           r"model: it is damaged: its record '.*' does not match the CRC-32 "
                           r"checksum saved with it"):
            GRNModel.load(tmp_path / "damaged.pt", adata)
    assert GRNModel.load(path).network().equals(quick.network())  # the intact file loads


def test_float16_is_refused_up_front_naming_the_alternatives(small):
    # float16 trained nowhere: Adam's eps (1e-8) is 0 in float16 and the squared gradients
    # underflow, so the first step made NaN weights; train() then retried down to lr 1.2e-6
    # and raised "SolverDivergedError: non-finite loss at epoch 1; try a lower learning rate"
    with pytest.raises(ValueError, match=r"dtype=torch.float16 cannot be trained: .*eps.*; "
                       r"use torch.float32 \(the default\) or torch.bfloat16"):
        GRNModel(small, time_key="time", trajectory_key="trajectory", n_hidden=2,
                 dtype=torch.float16)
    model = GRNModel(small, time_key="time", trajectory_key="trajectory", n_hidden=2,
                     dtype=torch.bfloat16)
    model.train(1, pruning="none", method="rk4", step_size=0.5, progress=False)


def test_settings_record_every_option_that_changes_the_fit(small, tmp_path):
    # patience changes the network (krumsiek11, 25 epochs: patience 2 kept epoch 13's
    # weights, 40 epoch 25's), yet neither it nor dtype was in uns["grn"]["settings"];
    # layer=None (adata.X) was dropped from it as None, and nothing said which prior or PPI
    # the fit used
    from anndata import read_h5ad

    from core.fingerprint import fingerprint

    genes = list(small.var_names)
    truth = pd.DataFrame(small.varp["truth"], index=genes, columns=genes)
    m = GRNModel(small, time_key="time", trajectory_key="trajectory", prior=truth,
                 n_hidden=3, dtype=torch.float64, seed=0)
    m.train(2, pruning="none", patience=7, method="rk4", step_size=0.5, progress=False)
    s = m.settings
    assert (s["patience"], s["dtype"], s["device"], s["expression"]) == (
        7, "float64", "cpu", "adata.X")
    assert s["torch_threads"] == torch.get_num_threads()
    assert s["prior_fingerprint"] == fingerprint(truth.to_numpy()) and s["ppi_fingerprint"] is None
    adata = small.copy()
    m.write_results(adata)
    adata.write_h5ad(tmp_path / "r.h5ad")  # None values are left out: h5ad cannot hold them
    back = read_h5ad(tmp_path / "r.h5ad").uns["grn"]["settings"]
    assert (back["patience"], back["dtype"], back["expression"]) == (7, "float64", "adata.X")
    assert back["prior_fingerprint"] == s["prior_fingerprint"] and "ppi_fingerprint" not in back
    layered = small.copy()
    layered.layers["scaled"] = layered.X * 2
    m = GRNModel(layered, time_key="time", trajectory_key="trajectory", layer="scaled",
                 n_hidden=3, seed=0)
    m.train(1, pruning="none", method="rk4", step_size=0.5, progress=False)
    assert (m.settings["expression"], m.settings["layer"]) == ("adata.layers['scaled']",
                                                               "scaled")
    assert m.settings["patience"] == 40 and m.settings["dtype"] == "float32"


def test_a_prior_file_wins_over_a_varp_key_of_the_same_name_as_on_the_command_line(
        small, tmp_path, monkeypatch):
    # GRNModel(prior="truth") read adata.varp["truth"] although a file "truth" was there,
    # the opposite of `prunus grn fit --prior truth`, where a file of that name wins
    monkeypatch.chdir(tmp_path)
    (tmp_path / "truth").write_text("regulator,target\ng1,g0\n")
    with pytest.warns(UserWarning, match=r"prior='truth' names both a file and a key of "
                      r"adata.varp; the file is read"):
        m = GRNModel(small, time_key="time", trajectory_key="trajectory", prior="truth",
                     n_hidden=2)
    assert int(np.count_nonzero(m.prior.to_numpy())) == 1 and m.prior.loc["g1", "g0"] == 1
    # the key alone, or a path object, as before
    (tmp_path / "truth").unlink()
    m = GRNModel(small, time_key="time", trajectory_key="trajectory", prior="truth",
                 n_hidden=2)
    np.testing.assert_array_equal(m.prior.to_numpy(), small.varp["truth"])


def test_the_environment_records_networkx():
    # core.environment() left networkx out, yet `prunus fj simulate --graph er|ba` draws its
    # graph with it: the record could not show that two runs used the same networkx
    from importlib.metadata import version

    from core.provenance import environment

    env = environment()
    assert env["networkx"] == version("networkx")
    # only added: the keys recorded before are all still there, in their order
    assert [k for k in env if k != "networkx"] == [
        "python", "prunus", "torch", "numpy", "scipy", "pandas", "anndata", "scanpy",
        "torchdiffeq", "pyro-ppl", "torch_threads"]


def test_the_environment_is_saved_and_written_and_files_without_it_load(fitted, tmp_path):
    # no GRN output recorded the versions it was computed with (python, torch, numpy, ...)
    # nor torch's thread count, which changes the last digits: a result could not be traced
    from anndata import read_h5ad

    from core import save_torch
    from core.provenance import environment

    model, _, _, _ = fitted
    path = model.save(tmp_path / "m.pt")
    state = torch.load(path, weights_only=True)
    assert state["environment"] == environment()
    assert state["environment"]["torch"] == torch.__version__
    assert GRNModel.load(path).fit_info == model.fit_info  # read past, not in the way
    # a file written before it was recorded still loads
    del state["environment"]
    old = GRNModel.load(save_torch(state, tmp_path / "old.pt"))
    pd.testing.assert_frame_equal(old.network(), model.network())
    adata = model._adata.copy()
    info = model.write_results(adata)
    assert info["environment"] == environment()
    adata.write_h5ad(tmp_path / "r.h5ad")  # strings and ints: h5ad stores them
    back = read_h5ad(tmp_path / "r.h5ad").uns["grn"]["environment"]
    assert {k: (v.item() if hasattr(v, "item") else v) for k, v in back.items()} == environment()


def test_a_target_constant_in_the_data_scores_zero_for_its_incoming_edges(tmp_path):
    # its noise-level effects (|E| <= 5.4e-4 against up to 9.4 elsewhere) were divided by
    # their own small total: after 20 epochs g7 -> g3 (effect -0.000545) ranked 3rd of 56
    # edges with score 0.298, and the AUROC / AUPRC fell from 0.984 / 0.934 (g3 varying) to
    # 0.933 / 0.727; after the 8 epochs here an edge into g3 ranked 2nd
    ad = simulate.simulate_hill_network(8, seed=0)
    ad.X = np.asarray(ad.X, dtype=np.float32)
    ad.X[:, 3] = 2.0
    with pytest.warns(UserWarning, match="no signal") as caught:
        m = GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=16, seed=0)
    m.train(8, pruning="none", method="rk4", step_size=0.5, progress=False)
    raw = m.network()
    score = m.network(normalize="target")
    assert (raw["g3"] != 0).all()  # the effects stay as fitted
    assert (score["g3"] == 0).all()  # no evidence: as GENIE3 gives a constant target
    others = score.drop(columns="g3").abs().sum(axis=0)
    np.testing.assert_allclose(others, 1.0)  # the other targets as before
    edges = m.edges()
    into = edges["target"] == "g3"
    assert into.sum() == 7 and (edges.loc[into, "score"] == 0).all()
    assert into.to_numpy()[-7:].all()  # ranked last, after every edge with evidence
    np.testing.assert_array_equal(edges.loc[into, "effect"], raw.loc[raw.index != "g3", "g3"])
    # AUPRC 0.631 (0.539 before; 20 epochs: 0.852, 0.727 before); the true edge g2 -> g3,
    # which constant data cannot show, now ties at the bottom: AUROC 0.786 (0.814 before;
    # 20 epochs: 0.893, 0.933 before, when noise happened to rank it high)
    metrics = m.evaluate(ad.varp["truth"])
    assert metrics["auprc"] == pytest.approx(0.631, abs=0.01)
    assert metrics["auroc"] == pytest.approx(0.786, abs=0.01)
    assert metrics["sparsity"] == 7 / 56  # the 7 pairs into g3: no edge
    # write_results: varp holds the effects, the metrics rank the scores
    written = ad.copy()
    info = m.write_results(written, truth="truth")
    np.testing.assert_array_equal(written.varp["grn"], raw.to_numpy())
    assert info["metrics"]["auroc"] == metrics["auroc"]
    assert info["constant_genes"] == ["g3"]
    # saved and loaded, with or without the data
    path = m.save(tmp_path / "m.pt")
    with pytest.warns(UserWarning, match="no signal"):  # the data's genes, as above
        onto = GRNModel.load(path, ad)
    for back in (GRNModel.load(path), onto):
        pd.testing.assert_frame_equal(back.network(normalize="target"), score)
        pd.testing.assert_frame_equal(back.edges(), edges)
    # and the warning says so (it said only "kept but carry no signal")
    assert re.search(r"no signal \(1 of 8 genes\): \['g3'\]; as targets they score 0: their "
                     r"incoming edges rank last in network\(normalize='target'\)",
                     str(caught[0].message))


def test_a_model_trained_twice_records_both_fits(small, tmp_path):
    # train() goes on from the trained weights (a notebook cell run again), yet the record
    # said "3 of 3 epochs" with the second call's rounds and history only: the 5 epochs and
    # every pruning round it ran were in no setting, file or repr
    from anndata import read_h5ad

    kw = {"pruning": "imp", "schedule": PruningSchedule(first_epoch=1, every=1),
          "method": "rk4", "step_size": 0.5, "progress": False}

    def model():
        return GRNModel(small, time_key="time", trajectory_key="trajectory", n_hidden=4,
                        seed=0)

    once = model()
    first = once.train(2, **kw)
    keys = list(once.fit_info)  # trained once: the record as it was
    assert "continued" not in keys and not once.earlier_fits
    assert "earlier_fits" not in once.write_results(small.copy())
    assert "earlier_fits" not in torch.load(once.save(tmp_path / "once.pt"), weights_only=True)
    twice = model()
    twice.train(2, **kw)
    second = twice.train(3, **kw)
    assert second["epoch"] == [1.0, 2.0, 3.0]  # this call's fit, as returned before
    assert twice.settings["epochs"] == twice.settings["epochs_run"] == 3  # the last call's
    info = twice.fit_info
    assert list(info)[:len(keys)] == keys and info["continued"] is True
    assert info["total_epochs"] == 5
    rounds = once.fit_info["pruning_rounds"] + info["pruning_rounds"]
    assert info["total_pruning_rounds"] == rounds == sum(twice.history["pruned"]) == 3
    # the history goes on, as scvi-tools' history_ after a second train()
    assert twice.history["epoch"] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert twice.history["train_loss"] == first["train_loss"] + second["train_loss"]
    assert twice.earlier_fits == [{"settings": once.settings, "fit_info": once.fit_info,
                                   "epochs": 2}]
    assert repr(twice).splitlines()[2].startswith(
        "    trained: 3 of 3 epochs after 1 earlier fit (5 epochs, 3 pruning rounds in all), "
        "pruning 'imp'")
    adata = small.copy()
    written = twice.write_results(adata)
    assert written["fit_info"] == info
    assert written["earlier_fits"]["1"]["settings"]["epochs"] == 2
    adata.write_h5ad(tmp_path / "r.h5ad")
    back = read_h5ad(tmp_path / "r.h5ad").uns["grn"]
    assert int(back["fit_info"]["total_epochs"]) == 5
    assert int(back["earlier_fits"]["1"]["fit_info"]["pruning_rounds"]) == \
        once.fit_info["pruning_rounds"]
    path = twice.save(tmp_path / "twice.pt")
    for loaded in (GRNModel.load(path), GRNModel.load(path, small)):
        assert loaded.fit_info == info and loaded.history == twice.history
        assert loaded.earlier_fits == twice.earlier_fits
        assert repr(loaded).splitlines()[2] == repr(twice).splitlines()[2]
    thrice = GRNModel.load(path, small)
    thrice.train(1, **kw)
    assert thrice.fit_info["total_epochs"] == 6 and len(thrice.earlier_fits) == 2
    assert thrice.earlier_fits[1]["fit_info"] == info
    # a fit resumed from its own checkpoint (the same cell run again) stays one fit
    twice.train(2, checkpoint=tmp_path / "fit.ckpt", **kw)  # a third fit, checkpointed
    record = copy.deepcopy((twice.earlier_fits, twice.history, twice.fit_info))
    assert record[2]["total_epochs"] == 7 and len(record[0]) == 2
    twice.train(2, checkpoint=tmp_path / "fit.ckpt", **kw)  # finished: nothing to do
    assert (twice.earlier_fits, twice.history, twice.fit_info) == record


# ---------------------------------------------------------------- per-gene fit, tolerances
@pytest.mark.filterwarnings("ignore:genes with constant expression:UserWarning")
def test_r2_per_gene_tells_an_unexplained_target_from_a_driven_one(tmp_path):
    # fit_summary gave one pooled R^2 only, so a target the fit leaves unexplained could not
    # be found (tutorial 02: SCL, whose inputs still ranked among the 15 strongest edges).
    # Known answers: a random walk has unpredictable steps (R^2 ~0: no change is the best
    # guess), a constant gene nothing to explain (NaN, as r2 without changes), a gene the
    # planted network drives is predicted (g4: measured 0.80, random walk -0.0006); and r2 is
    # their mean weighted by each gene's no-change MSE (measured 0.5379018 both ways)
    from anndata import read_h5ad

    from core import save_torch

    ad = simulate.simulate_hill_network(6, n_trajectories=10, n_timepoints=8, seed=0)
    rng = np.random.default_rng(0)
    x = np.asarray(ad.X, dtype=np.float64).copy()
    for trajectory in ad.obs["trajectory"].unique():
        rows = np.flatnonzero((ad.obs["trajectory"] == trajectory).to_numpy())
        rows = rows[np.argsort(ad.obs["time"].to_numpy()[rows])]
        x[rows, 5] = 0.5 + np.cumsum(rng.normal(0, 0.05, len(rows)))
    x[:, 2] = 1.0
    ad.X = x.astype(np.float32)
    m = GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=8, seed=0)
    m.train(30, pruning="none", method="rk4", step_size=0.5, val_fraction=0, progress=False)
    per_gene = m.fit_summary["r2_per_gene"]
    assert list(per_gene) == list(m.genes)
    assert np.isnan(per_gene["g2"])
    assert abs(per_gene["g5"]) < 0.02
    assert per_gene["g4"] == pytest.approx(0.80, abs=0.05)
    pairs = m._pairs()  # nothing held out: measured on the training pairs
    base = ((pairs.x1 - pairs.x0).double() ** 2).mean(dim=0).numpy()
    r2 = np.array(list(per_gene.values()))
    weighted = np.nansum(base * r2) / base.sum()
    assert weighted == pytest.approx(m.fit_summary["r2"], rel=1e-5)
    # written to uns as a table (a gene named "a/b" could not be an h5ad key) ...
    adata = ad.copy()
    table = m.write_results(adata)["fit"]["held_out_r2_per_gene"]
    np.testing.assert_array_equal(table["r2"].to_numpy(), r2)
    assert list(table.index) == list(m.genes)
    adata.write_h5ad(tmp_path / "r.h5ad")
    back = read_h5ad(tmp_path / "r.h5ad").uns["grn"]["fit"]["held_out_r2_per_gene"]
    np.testing.assert_array_equal(back["r2"].to_numpy(), r2)
    # ... saved with the model, and a file saved before it was kept loads without it
    path = m.save(tmp_path / "m.pt")
    loaded = GRNModel.load(path)
    np.testing.assert_array_equal(list(loaded.fit_summary["r2_per_gene"].values()), r2)
    state = torch.load(path, weights_only=True)
    del state["fit_summary"]["r2_per_gene"]
    old = GRNModel.load(save_torch(state, tmp_path / "old.pt"), ad)
    assert "r2_per_gene" not in old.fit_summary
    assert old.fit_summary["r2"] == m.fit_summary["r2"]
    assert "held_out_r2_per_gene" not in old.write_results(ad.copy())["fit"]


def test_zero_tolerances_are_refused_up_front_for_an_adaptive_solver(quick):
    # simulate documents rtol and atol >= 0, but rtol = atol = 0 failed inside dopri5 with
    # "underflow in dt 0.0); try method='rk4', looser tolerances or a lower learning rate"
    y0 = quick._default_y0()
    for call in (quick.simulate, lambda **kw: quick.predict(y0, [0.0, 1.0], **kw)):
        with pytest.raises(ValueError, match=r"rtol and atol are both 0.*'dopri5'"):
            call(rtol=0.0, atol=0.0)
    # a fixed step ignores them, and one of the two > 0 is a tolerance dopri5 can meet
    assert np.isfinite(quick.simulate(rtol=0.0, atol=0.0, method="rk4")).all()
    np.testing.assert_allclose(quick.simulate(rtol=0.0, atol=1e-7),
                               quick.simulate(rtol=1e-7, atol=0.0), atol=1e-4)


def test_a_solver_failure_in_simulate_does_not_advise_a_learning_rate(quick, monkeypatch):
    # simulate trains nothing, yet its solver failure said "or a lower learning rate"
    import torchdiffeq

    from biomodels.grn import SolverDivergedError

    def fails(*args, **kwargs):
        raise AssertionError("underflow in dt 0.0")  # how torchdiffeq signals it

    monkeypatch.setattr(torchdiffeq, "odeint", fails)
    with pytest.raises(SolverDivergedError) as caught:
        quick.simulate()
    message = str(caught.value)
    assert message == ("ODE solver 'dopri5' failed while simulating (underflow in dt 0.0); "
                       "try method='rk4' or looser tolerances (rtol=1e-05, atol=1e-07)")
    assert "learning rate" not in message


@pytest.fixture(scope="module")
def wide():
    """A float64 model whose requested output times lie far apart (14 RK4 steps of 0.2)."""
    ad = simulate.simulate_hill_network(8, n_trajectories=12, n_timepoints=6, seed=1)
    m = GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=10, seed=0,
                 dtype=torch.float64)
    m.train(8, pruning="none", progress=False)
    return m, np.asarray(ad.X[0])


def test_fixed_step_simulate_and_predict_follow_the_ode_between_output_times(wide):
    # a fixed-step method took one step per output interval (torchdiffeq steps on the output
    # times only): from 0 to 20 (2.7 scaled time units) RK4 was off by 3.3, Euler by 2.1,
    # against 2.9e-7 for dopri5, with no warning
    m, y0 = wide
    gene = m.genes[2]
    ref = m.simulate(y0, np.linspace(0, 20, 41), perturb={gene: 0.9}, rtol=1e-10,
                     atol=1e-10)
    for method, tol in (("rk4", 1e-4), ("midpoint", 1e-2), ("euler", 0.1)):
        got = m.simulate(y0, [0, 10, 20], perturb={gene: 0.9}, method=method)
        assert np.abs(got - ref[::20]).max() < tol, method
    # a step_size of its own (scaled time units): a finer Euler step comes closer
    coarse = np.abs(m.predict(y0, [0, 20], method="euler")[-1] - m.predict(
        y0, [0, 20], rtol=1e-10, atol=1e-10)[-1]).max()
    fine = np.abs(m.predict(y0, [0, 20], method="euler", step_size=0.02)[-1] - m.predict(
        y0, [0, 20], rtol=1e-10, atol=1e-10)[-1]).max()
    assert fine < coarse / 5
    # an adaptive method chooses its own steps: a step_size would be ignored
    with pytest.raises(ValueError, match=r"step_size.*method='dopri5'"):
        m.simulate(y0, [0, 20], step_size=0.1)
    with pytest.raises(ValueError, match="step_size: expected > 0"):
        m.predict(y0, [0, 20], method="rk4", step_size=0.0)
    # a span the grid cannot hold is refused before any step (1e15 failed allocating it,
    # 1e8 would have run for most of an hour), and explicit Adams, which diverges at these
    # steps, is refused by name
    with pytest.raises(ValueError, match=r"method='rk4' with steps of at most 0\.2 .* more "
                       r"than 1e\+07; use an adaptive method"):
        m.simulate(y0, [0, 1e15], method="rk4")
    with pytest.raises(ValueError, match="method='explicit_adams' is unstable"):
        m.simulate(y0, [0, 20], method="explicit_adams")


def test_a_bfloat16_model_simulates_as_its_weights_do_in_float64(wide):
    # in bfloat16 the time grid and the state were rounded to 3 digits and dopri5's rtol
    # (1e-5) lay below the resolution: 5 % off the same weights' trajectory in float64
    m, y0 = wide
    half = copy.copy(m)
    half.func, half.dtype = copy.deepcopy(m.func).to(torch.bfloat16), torch.bfloat16
    same = copy.copy(m)
    same.func = copy.deepcopy(half.func).to(torch.float64)
    times = np.linspace(0, 20, 5)
    got = half.simulate(y0, times)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, same.simulate(y0, times), rtol=0, atol=1e-4)


def test_tolerances_below_the_float_resolution_are_refused_by_name(quick):
    # rtol=1e-14 with atol=0 ran for 40 minutes on a float32 model, and train(rtol=1e-14,
    # atol=1e-14) hit the step cap and blamed the learning rate 4 times
    with pytest.raises(ValueError, match=r"rtol=1e-14 and atol=0 are both below float32's "
                                         r"resolution"):
        quick.simulate(times=[0.0, 8.0], rtol=1e-14, atol=0.0)
    with pytest.raises(ValueError, match=r"rtol=1e-14 and atol=1e-14 .*float32"):
        copy.deepcopy(quick).train(1, pruning="none", rtol=1e-14, atol=1e-14, progress=False)
    # a fixed step ignores them; a float64 model resolves them
    assert np.isfinite(quick.simulate(times=[0.0, 1.0], rtol=1e-14, atol=0.0,
                                      method="rk4")).all()
