"""Scale: what a lab's data size (thousands of genes, tens of thousands of cells) must not cost.

Each test pins one cost that grew faster than the method needs (a copy of the whole data, a
quadratic loop, a figure that grows with the genes) by behaviour, not by wall-clock time.
"""

from __future__ import annotations

import tracemalloc
import weakref

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import torch  # noqa: E402

import biomodels.grn.model as grn_model  # noqa: E402
import biomodels.grn.prior as grn_prior  # noqa: E402
import biomodels.grn.train as grn_train  # noqa: E402
from biomodels.grn import GRNModel, simulate  # noqa: E402
from biomodels.grn.plot import plot_graph, plot_network, plot_networks  # noqa: E402
from biomodels.grn.prior import align_prior  # noqa: E402
from biomodels.grn.train import split_pairs  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore:the model explains:UserWarning")]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _genes(n: int) -> list[str]:
    return [f"g{i}" for i in range(n)]


# ---------------------------------------------------------------- priors
def test_a_numeric_prior_csv_is_not_parsed_cell_by_cell(tmp_path, monkeypatch):
    # reading every cell as a string and converting it took 23 s and +1.3 GB for a
    # 5,000-gene table; the values must come out of the C parser, bitwise the same numbers
    genes = _genes(30)
    rng = np.random.default_rng(0)
    values = rng.standard_normal((30, 30)) * 10.0 ** rng.integers(-5, 5, (30, 30))
    values[rng.random((30, 30)) < 0.7] = 0.0
    path = tmp_path / "prior.csv"
    pd.DataFrame(values, index=genes, columns=genes).to_csv(path)
    text = pd.read_csv(path, dtype=str).set_index("Unnamed: 0").apply(pd.to_numeric)

    def cell_by_cell(*args, **kwargs):
        raise AssertionError("a numeric prior CSV was converted cell by cell")

    monkeypatch.setattr(pd, "to_numeric", cell_by_cell)
    out = align_prior(path, genes)
    np.testing.assert_array_equal(out.to_numpy(), text.to_numpy())


def test_a_prior_csv_with_words_still_reads(tmp_path):
    path = tmp_path / "prior.csv"
    path.write_text("gene,0012,b\n0012,TRUE,-0.5\nb,FALSE,2\n")
    out = align_prior(path, ["b", "0012"])
    assert out.loc["0012", "0012"] == 1.0 and out.loc["0012", "b"] == -0.5
    assert out.loc["b", "0012"] == 0.0 and out.loc["b", "b"] == 2.0


def test_aligning_a_prior_builds_its_gene_sets_once(monkeypatch):
    # set(rows) inside the comprehension was rebuilt for every gene: quadratic in the genes
    calls = []

    def counting_set(*args):
        calls.append(1)
        return set(*args)

    genes = _genes(300)
    prior = pd.DataFrame(np.eye(400), index=_genes(400), columns=_genes(400))
    monkeypatch.setattr(grn_prior, "set", counting_set, raising=False)
    with pytest.warns(UserWarning, match="100 gene"):
        out = align_prior(prior, genes)
    assert out.shape == (300, 300)
    assert len(calls) < 20  # was > 700 (one per gene and per prior gene)


# ---------------------------------------------------------------- AnnData -> model
def test_sparse_expression_is_densified_once_in_float64():
    # toarray() in float32, then a float64 copy, held both at 50k cells x 3k genes
    x = sp.random(2000, 1000, density=0.01, format="csr", dtype=np.float32, random_state=0)
    tracemalloc.start()
    try:
        dense = grn_model._dense(x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert dense.dtype == np.float64
    np.testing.assert_array_equal(dense, x.toarray().astype(np.float64))
    assert peak < 1.25 * dense.nbytes  # the float32 detour peaked at 1.5x


def test_the_constructor_does_not_gather_the_training_pairs(monkeypatch):
    # the time scale and the checks need pair indices only; gathering both sides of
    # every pair in float64 held two more copies of the data (2 GB at 20k x 2k)
    ad = simulate.simulate_hill_network(6, n_trajectories=4, n_timepoints=6, seed=0)
    reference = GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=4)

    def gather(*args, **kwargs):
        raise AssertionError("the constructor gathered every training pair")

    monkeypatch.setattr(grn_model, "make_pairs", gather)
    model = GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=4)
    assert model.time_scale == reference.time_scale
    np.testing.assert_array_equal(model._x, reference._x)


def test_training_does_not_hold_the_unsplit_pairs(monkeypatch):
    # the split copies the pairs; keeping the unsplit ones alive through the fit was a
    # third copy of the data for the whole training
    ad = simulate.simulate_hill_network(6, n_trajectories=4, n_timepoints=6, seed=0)
    model = GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=4)
    seen: list[weakref.ref] = []
    split, fit = grn_model.split_pairs, grn_model.fit

    def spy_split(pairs, *args, **kwargs):
        seen.append(weakref.ref(pairs))
        return split(pairs, *args, **kwargs)

    def spy_fit(*args, **kwargs):
        assert seen and seen[0]() is None, "the unsplit pairs are alive during the fit"
        return fit(*args, **kwargs)

    monkeypatch.setattr(grn_model, "split_pairs", spy_split)
    monkeypatch.setattr(grn_model, "fit", spy_fit)
    model.train(1, pruning="none", method="rk4", step_size=0.5, progress=False)


@pytest.mark.parametrize("n_traj, val_fraction", [(4, 0.2), (10, 0.25), (10, 0.0)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_training_pairs_split_before_gathering_equal_the_split_of_all_pairs(
        monkeypatch, n_traj, val_fraction, dtype):
    # train() splits the pair indices and gathers the rows of each side in blocks from the
    # float64 data (no float32 copy of the data, no unsplit pairs); the reference gathers
    # every pair, then splits: the same pairs, bitwise (random pairs below 8 trajectories,
    # whole trajectories from 8 on, no validation set)
    ad = simulate.simulate_hill_network(7, n_trajectories=n_traj, n_timepoints=5, seed=1)
    model = GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=4,
                     dtype=dtype, seed=3)
    monkeypatch.setattr(grn_model, "_GATHER_BLOCK", 7 * 3)  # three rows a block
    got = model._split_pairs(val_fraction)
    want = split_pairs(model._pairs(), val_fraction, seed=model.seed)
    assert (got[1] is None) == (want[1] is None) == (val_fraction == 0.0)
    for g, w in zip(got, want):
        if w is None:
            continue
        for name in ("x0", "x1", "dt", "trajectory"):
            a, b = getattr(g, name), getattr(w, name)
            assert a.dtype == b.dtype and torch.equal(a, b), name


def test_the_soft_prior_of_many_genes_goes_through_its_edges(monkeypatch):
    # Y_r P with a dense G x G prior cost O(n_random G^2) a step, most of a step from a
    # thousand genes (0.52 s of it at 3,000, 0.18 s through the edges); the sums are the
    # same to round-off, and small priors keep the dense product bit for bit
    gen = torch.Generator().manual_seed(0)
    y = torch.rand(7, 1200, generator=gen, dtype=torch.float64) - 0.5
    prior = torch.zeros(1200, 1200, dtype=torch.float64)
    rows, cols = torch.randint(0, 1200, (2, 3600), generator=gen)
    prior[rows, cols] = torch.where(torch.rand(3600, generator=gen) < 0.5, -1.0, 1.0).double()
    prior[:, 5] = 0.0  # a target without regulators
    dynamics = grn_train._PriorDynamics(prior)
    assert dynamics.entries is not None
    torch.testing.assert_close(dynamics(y), y @ prior, rtol=0, atol=1e-12)
    small = prior[:200, :200]
    assert torch.equal(grn_train._PriorDynamics(small)(y[:, :200]), y[:, :200] @ small)
    # a fit builds it once, not every step
    built = []
    real = grn_train._PriorDynamics
    monkeypatch.setattr(grn_train, "_PriorDynamics", lambda p: built.append(1) or real(p))
    ad = simulate.simulate_hill_network(6, n_trajectories=4, n_timepoints=6, seed=0)
    model = GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=4,
                     prior=pd.DataFrame(np.eye(6), index=ad.var_names, columns=ad.var_names))
    with pytest.warns(UserWarning, match="soft prior outweighs"):
        model.train(2, pruning="none", prior_weight=0.5, batch_size=4, method="rk4",
                    step_size=0.5, progress=False)
    assert len(built) == 2  # the fit's, and the held-out prior MSE's


def test_a_fit_without_a_checkpoint_does_not_hash_the_data(monkeypatch, tmp_path):
    # the checkpoint signature hashes every training pair (1.2 GB at 50k cells x 3k genes);
    # without a checkpoint nothing reads it, and the fit is the same
    ad = simulate.simulate_hill_network(6, n_trajectories=4, n_timepoints=6, seed=0)
    kw = {"pruning": "none", "method": "rk4", "step_size": 0.5, "progress": False}
    with_ckpt = GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=4)
    reference = with_ckpt.train(3, checkpoint=tmp_path / "fit.pt", **kw)

    def no_hash(*args, **kwargs):
        raise AssertionError("a fit without a checkpoint hashed the data")

    monkeypatch.setattr(grn_train, "fingerprint", no_hash)
    model = GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=4)
    assert model.train(3, **kw) == reference
    np.testing.assert_array_equal(model.network().to_numpy(), with_ckpt.network().to_numpy())


# ---------------------------------------------------------------- figures
def _dense_network(n: int, seed: int = 0) -> pd.DataFrame:
    genes = _genes(n)
    values = np.random.default_rng(seed).standard_normal((n, n))
    return pd.DataFrame(values, index=genes, columns=genes)


def test_heatmaps_stay_a_printable_size():
    # 0.3 inch per gene: 153 inches and 10 GB to save at 500 genes, 27 GiB at 2,000
    net = _dense_network(400)
    width, height = plot_network(net).figure.get_size_inches()
    assert width <= 14 and height <= 13
    width, height = plot_networks({"a": net, "b": net}).get_size_inches()
    assert width <= 2 * 14 and height <= 13


def test_graph_of_a_dense_network_draws_a_bounded_number_of_edges():
    # every non-zero edge by default: 120 genes took 54 s, 500 genes tens of minutes
    net = _dense_network(25)
    with pytest.warns(UserWarning, match="not all 600 non-zero edges"):  # self-loops not
        ax = plot_graph(net)
    assert ax.get_title() == "top 300 edges"


def test_graph_of_many_genes_places_only_genes_with_drawn_edges():
    net = _dense_network(100)
    ax = plot_graph(net, top=4)
    labels = [t.get_text() for t in ax.texts]
    assert 2 <= len(labels) <= 8  # not a circle of 100 overlapping nodes
