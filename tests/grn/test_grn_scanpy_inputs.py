"""What a scanpy user brings: backed and sparse data, pseudotime, replicates, odd files.

Each test here failed, or gave a silently wrong answer, before the fix it guards.
"""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from biomodels.grn import GRNModel, simulate_hill_network
from biomodels.grn.datasets import krumsiek11

pytestmark = pytest.mark.filterwarnings("ignore:the model explains")  # 2-epoch fits


@pytest.fixture(scope="module")
def planted():
    return simulate_hill_network(8, n_trajectories=10, n_timepoints=6, seed=0)


def _fit(adata, **kwargs):
    model = GRNModel(adata, time_key="time", trajectory_key="trajectory", n_hidden=4, **kwargs)
    model.train(2, pruning="none", method="rk4", step_size=0.5, progress=False)
    return model


def test_an_untrained_model_has_no_network(planted):
    model = GRNModel(planted, time_key="time", trajectory_key="trajectory", n_hidden=4)
    for call in (model.network, lambda: model.evaluate(planted.varp["truth"]),
                 lambda: model.simulate(perturb={planted.var_names[0]: 0.0}),
                 lambda: model.write_results(planted.copy())):
        with pytest.raises(ValueError, match="not trained; call train\\(\\) first"):
            call()
    # one error class for an unfitted model across the modules (ctmc's too)
    from core.checks import NotFittedError

    with pytest.raises(NotFittedError):
        model.network()


def test_a_series_start_state_is_matched_by_gene_name(planted):
    model = _fit(planted)
    state = planted.to_df().iloc[0]
    t = [0.0, 1.0, 2.0]
    np.testing.assert_allclose(model.predict(state[::-1], t), model.predict(state, t))
    np.testing.assert_allclose(model.predict(state, t),
                               model.predict(state.to_numpy(), t))


def test_an_anndata_start_state_says_which_matrix_to_pass(planted):
    # adata[:2] itself failed with numpy's "The requested array would exceed the maximum
    # number of dimension of 64", which says nothing of AnnData
    model = _fit(planted)
    with pytest.raises(ValueError, match=r"y0 must be numbers.*\(adata.X, adata.layers\[key\] "
                                         r"or adata.to_df\(\)\), got an AnnData"):
        model.predict(planted[:2], [0.0, 1.0])
    assert model.predict(planted[:2].X, [0.0, 1.0]).shape == (2, 2, planted.n_vars)


def test_backed_and_sparse_expression(planted, tmp_path):
    dense = _fit(planted).network()
    for fmt in ("csr", "csc"):
        data = planted.copy()
        data.X = sp.csr_matrix(data.X) if fmt == "csr" else sp.csc_matrix(data.X)
        data.write_h5ad(tmp_path / f"{fmt}.h5ad")
        backed = ad.read_h5ad(tmp_path / f"{fmt}.h5ad", backed="r")
        model = _fit(backed)
        pd.testing.assert_frame_equal(model.network(), dense)
        row = data.X[:1]  # a sparse row as start state: one cell, as a dense X's X[0]
        assert model.predict(row, [0.0, 1.0]).shape == (2, planted.n_vars)


def test_write_results_into_a_backed_view_says_what_to_do(planted, tmp_path):
    # anndata's own "To copy an AnnData object in backed mode, pass a filename" named a
    # copy nobody asked for
    model = _fit(planted)
    planted.write_h5ad(tmp_path / "d.h5ad")
    backed = ad.read_h5ad(tmp_path / "d.h5ad", backed="r")
    view = backed[:6]
    with pytest.raises(ValueError, match=r"view of a backed AnnData .*adata.to_memory\(\)"):
        model.write_results(view)
    assert "grn" not in view.varp and "grn" not in view.uns and view.is_view
    subset = view.to_memory()
    model.write_results(subset)
    np.testing.assert_array_equal(subset.varp["grn"], model.network().to_numpy())
    model.write_results(backed)  # a backed AnnData itself takes them (in memory)
    assert "grn" in backed.varp
    backed.file.close()


def _fits_with_replicates(data: ad.AnnData, time: float) -> tuple[GRNModel, GRNModel,
                                                                    ad.AnnData]:
    """Fits of ``data`` plus shifted replicates of the cells at ``time``, rows as they come
    and shuffled; the replicates follow their twins by name."""
    reps = data[data.obs["time"] == time].copy()
    reps.X = reps.X + 0.05
    reps.obs_names = [f"{n}-rep" for n in reps.obs_names]
    both = ad.concat([data, reps])
    with pytest.warns(UserWarning, match="cells share a time point.*last by obs_names"):
        model = _fit(both)
    rng = np.random.default_rng(0)
    with pytest.warns(UserWarning, match="cells share a time point"):
        shuffled = _fit(both[rng.permutation(both.n_obs)].copy())
    return model, shuffled, reps


def test_pairs_do_not_depend_on_row_order_when_cells_share_a_time(planted):
    data = planted.copy()
    model, shuffled, _ = _fits_with_replicates(data, data.obs["time"].unique()[2])
    pd.testing.assert_frame_equal(model.network(), shuffled.network())


def test_default_start_does_not_depend_on_row_order_when_cells_share_the_first_time(planted):
    # simulate()'s default start took the first row at the earliest time of each trajectory,
    # so shuffling the rows moved it by 0.05 here while the fit itself stayed the same
    data = planted.copy()
    model, shuffled, reps = _fits_with_replicates(data, data.obs["time"].min())
    t0 = [float(data.obs["time"].min())]
    # the cell that pairs with the next time point, the last by obs_names, as in training
    expected = np.asarray(reps.X).mean(axis=0)
    np.testing.assert_allclose(model.simulate(times=t0)[0], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(shuffled.simulate(times=t0)[0], expected, rtol=1e-5, atol=1e-6)


def test_steps_are_taken_in_float64(planted):
    data = planted.copy()
    data.obs["time"] = 1.7e9 + 37.0 * data.obs["time"]  # POSIX seconds
    model = GRNModel(data, time_key="time", trajectory_key="trajectory", n_hidden=4)
    steps = model._pairs().dt.double() / model.time_scale
    ref = GRNModel(planted, time_key="time", trajectory_key="trajectory", n_hidden=4)
    expected = 37.0 * ref._pairs().dt.double() / ref.time_scale
    # float32 absolute times put steps of 37 s on a 128 s grid (up to 2.5 % off here)
    torch.testing.assert_close(steps, expected, rtol=1e-6, atol=0)


@pytest.mark.filterwarnings("ignore:consecutive cells in time are far apart")  # random cells
def test_auto_time_scale_is_total_change_over_total_time():
    # a pseudotime with uneven gaps: cells a hair apart differ by cell noise, and the mean
    # of per-pair velocities (the old rule) was ruled by them (largest scaled gap 202 for
    # 5k random cells; rk4 diverged); total change over total time keeps the gaps moderate
    rng = np.random.default_rng(0)
    x = rng.random((2000, 5))
    data = ad.AnnData(x, obs=pd.DataFrame({"time": rng.random(2000)},
                                          index=[f"c{i}" for i in range(2000)]))
    model = GRNModel(data, time_key="time", n_hidden=2)
    order = np.argsort(data.obs["time"].to_numpy())
    scaled = (x - x.min(axis=0)) / np.ptp(x, axis=0)  # the model's per-gene [0, 1]
    change = np.abs(np.diff(scaled[order], axis=0)).mean(axis=1).sum()
    span = np.ptp(data.obs["time"].to_numpy())
    assert model.time_scale == pytest.approx(change / span / 0.5, rel=1e-12)
    gaps = model._pairs().dt.double()
    assert float(gaps.max()) < 10  # 4.6; the mean of per-pair velocities gave 38


@pytest.mark.filterwarnings("ignore:consecutive cells in time are far apart")  # random cells
@pytest.mark.filterwarnings("ignore:the model explains")
def test_a_fixed_step_too_wide_for_the_widest_gap_warns():
    rng = np.random.default_rng(1)
    data = ad.AnnData(rng.random((2000, 5)), obs=pd.DataFrame(
        {"time": rng.random(2000)}, index=[f"c{i}" for i in range(2000)]))
    model = GRNModel(data, time_key="time", n_hidden=2)
    gap = model.largest_gap()
    assert gap == pytest.approx(float(model._pairs().dt.double().max()), rel=1e-6)
    assert 4 < gap < 10  # uneven pseudotime: the widest gap is several times the mean
    with pytest.warns(UserWarning, match=r"step_size=0.5 takes fixed steps of up to .*"
                                         r"pass step_size <= 0\.\d+ or an adaptive method"):
        model.train(1, pruning="none", method="rk4", step_size=0.5, progress=False)
    # steps of 2 time units passed, stable only for rates below 1.4, which fits pass within
    # their first epochs (a pbmc68k dpt lineage diverged): the rule is 0.2 now
    with pytest.warns(UserWarning, match=r"takes fixed steps of up to 2 time units .* above "
                                         r"0\.2 the solver may diverge \(RK4 is stable while "
                                         r"the learnt rates times the step stay below 2\.78"):
        model.train(1, pruning="none", method="rk4", step_size=2 / gap, progress=False)
    model.train(1, pruning="none", method="rk4", step_size=0.2 / gap, progress=False)


def test_a_branching_pseudotime_without_lineages_warns():
    import scanpy as sc

    data = krumsiek11()
    sc.pp.neighbors(data, n_neighbors=10)
    sc.tl.diffmap(data)
    data.uns["iroot"] = 0
    sc.tl.dpt(data)
    with pytest.warns(UserWarning, match="far apart in expression.*lineage"):
        GRNModel(data, time_key="dpt_pseudotime")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GRNModel(data, time_key="dpt_pseudotime", trajectory_key="trajectory")


def test_numeric_categorical_time_tsv_and_boolean_priors(planted, tmp_path):
    data = planted.copy()
    data.obs["time"] = data.obs["time"].astype("category")  # as scanpy often stores it
    model = GRNModel(data, time_key="time", trajectory_key="trajectory", n_hidden=4)
    assert len(model._pairs()) == len(GRNModel(planted, time_key="time",
                                               trajectory_key="trajectory")._pairs())
    genes = list(planted.var_names)
    truth = pd.DataFrame(planted.varp["truth"], index=genes, columns=genes)
    truth.to_csv(tmp_path / "prior.tsv", sep="\t")
    (truth != 0).to_csv(tmp_path / "prior_bool.csv")  # True/False cells
    for path in ("prior.tsv", "prior_bool.csv"):
        prior = GRNModel(planted, time_key="time", trajectory_key="trajectory",
                         prior=tmp_path / path).prior
        np.testing.assert_array_equal(prior.to_numpy() != 0, truth.to_numpy() != 0)


def test_perturb_values_and_plot_alignment(planted):
    from biomodels.grn.plot import plot_network

    model = _fit(planted)
    gene = str(planted.var_names[0])
    with pytest.raises(ValueError, match="perturb values must be finite numbers"):
        model.simulate(perturb={gene: True})
    np.testing.assert_allclose(model.simulate(perturb={gene: np.array(0.1)}),
                               model.simulate(perturb={gene: 0.1}))
    genes = list(planted.var_names)
    truth = pd.DataFrame(planted.varp["truth"], index=genes, columns=genes)
    plot_network(model.network(), truth=truth.loc[genes[::-1], genes])  # any order


def test_a_numeric_categorical_time_with_a_missing_cell_names_the_key(planted):
    data = planted.copy()
    time = pd.Categorical(data.obs.groupby("trajectory", observed=True).cumcount())
    time[3] = np.nan  # one cell without a time point
    data.obs["time"] = time
    assert data.obs["time"].cat.categories.dtype == np.int64
    with pytest.raises(ValueError, match=r"adata.obs\['time'\] has NaN"):  # was pandas'
        GRNModel(data, time_key="time", trajectory_key="trajectory")  # "float NaN to integer"


def test_write_results_refuses_a_key_that_h5ad_cannot_store(planted, tmp_path):
    model = GRNModel(planted, time_key="time", trajectory_key="trajectory", n_hidden=2)
    model.train(1, pruning="none", method="euler", step_size=1.0, progress=False)
    data = planted.copy()
    for key in (None, 1, "grn/dash", ""):  # stored, then write_h5ad raised AttributeError
        with pytest.raises(ValueError, match="key_added must be a non-empty string"):
            model.write_results(data, key_added=key)
    assert "grn" not in data.varp and set(data.uns) == set(planted.uns)
    model.write_results(data, key_added="grn_dash")
    data.write_h5ad(tmp_path / "out.h5ad")
    assert ad.read_h5ad(tmp_path / "out.h5ad").varp["grn_dash"].shape == (8, 8)


def test_unusable_times_say_how_to_fix_them(planted):
    # an unreachable cell's dpt pseudotime is inf: the message said only "has NaN or
    # infinite values"; for dates it advised astype(float), which pandas refuses
    data = planted.copy()
    data.obs["dpt_pseudotime"] = data.obs["time"] / 8.0
    data.obs.loc[data.obs_names[[6, 7]], "dpt_pseudotime"] = np.inf
    with pytest.raises(ValueError, match=r"has NaN or infinite values in 2 of 60 cells "
                                         r"\(e.g. \['1_0', '1_1'\]\); leave them out"):
        GRNModel(data, time_key="dpt_pseudotime", trajectory_key="trajectory")
    key = "dpt_pseudotime"  # the advice, as given, works
    kept = data[np.isfinite(data.obs[key].astype(float))].copy()
    assert GRNModel(kept, time_key=key, trajectory_key="trajectory").n_hidden == 40
    for when in (pd.Timestamp("2024-01-01") + pd.to_timedelta(planted.obs["time"], unit="h"),
                 pd.to_timedelta(planted.obs["time"], unit="h")):
        data.obs["when"] = when
        with pytest.raises(ValueError, match=r"\(t - t.min\(\)\) / pd.Timedelta\(hours=1\)"):
            GRNModel(data, time_key="when", trajectory_key="trajectory")
        t = data.obs["when"]
        data.obs["hours"] = (t - t.min()) / pd.Timedelta(hours=1)
        np.testing.assert_allclose(data.obs["hours"], planted.obs["time"])


def test_a_truth_over_more_genes_scores_data_subset_to_some_genes(planted):
    # after sc.pp.highly_variable_genes and subsetting, the truth (or gold standard) names
    # genes the data no longer has; it was refused ("must name exactly the data genes"),
    # though the edges among the kept genes are all that can be scored
    genes = list(planted.var_names)
    full = pd.DataFrame(planted.varp["truth"], index=genes, columns=genes)
    kept = genes[:6]
    model = _fit(planted[:, kept].copy())
    with pytest.warns(UserWarning, match=r"2 gene\(s\) of the truth are not in the data"):
        scores = model.evaluate(full)
    assert scores == model.evaluate(full.loc[kept, kept])
    # a truth without a data gene is still refused: that gene would count as edgeless
    with pytest.raises(ValueError, match=r"truth must name every data gene.*\['g5'\]"):
        model.evaluate(full.drop(index="g5", columns="g5"))


@pytest.mark.parametrize("labels", [
    ["day0", "day2", "day4", "day6", "day8", "day10"],  # what sample sheets hold
    ["E0", "E2", "E4.5", "E6", "E8", "E10"],  # embryonic days, a decimal among them
    ["0", "2", "4", "6", "8", "10"],  # numbers read as text
    ["0", "0,5", "1", "1,5", "2", "2,5"],  # decimal commas: "1,5" was read as 1
    ["2024-01-01", "2024-01-03", "2024-01-05", "2024-01-07", "2024-01-09", "2024-01-11"],
    # a time of day on some: pandas infers one format from the first and refused the rest
    ["2024-01-01", "2024-01-01 12:00", "2024-01-02", "2024-01-02 12:00", "2024-01-03",
     "2024-01-03 12:00"],
])
@pytest.mark.parametrize("as_category", [False, True])  # write_h5ad stores text as categories
def test_time_labels_as_text_get_a_conversion_that_works(planted, labels, as_category):
    # "convert it, e.g. adata.obs[key].astype(float)" was the advice for any text, and for
    # "day0" pandas refuses it ("could not convert string to float")
    data = planted.copy()
    step = data.obs.groupby("trajectory", observed=True).cumcount().to_numpy()
    text = pd.Series(np.asarray(labels, dtype=object)[step], index=data.obs_names)
    data.obs["day"] = text.astype("category") if as_category else text
    with pytest.raises(ValueError, match=r"adata.obs\['day'\] must be real numbers") as info:
        GRNModel(data, time_key="day", trajectory_key="trajectory")
    message = str(info.value)
    assert repr(labels[0]) in message  # shows what it holds
    advice = message.split("e.g. ", 1)[1].rsplit(")", 1)[0]
    # the advice, run as given, gives a time key the model takes, in the labels' order
    exec(advice, {"adata": data, "pd": pd, "np": np})
    model = GRNModel(data, time_key="day", trajectory_key="trajectory", n_hidden=2)
    order = np.argsort(model._times[:6])
    np.testing.assert_array_equal(order, np.arange(6))
    assert len(model._pairs()) == len(GRNModel(planted, time_key="time",
                                               trajectory_key="trajectory")._pairs())


def test_time_words_get_a_mapping_to_fill_in(planted):
    data = planted.copy()
    step = data.obs.groupby("trajectory", observed=True).cumcount().to_numpy()
    data.obs["stage"] = np.array(["early", "mid", "late", "late", "late", "late"])[step]
    with pytest.raises(ValueError, match=r"adata.obs\['stage'\]\.map\(\{'early': "):
        GRNModel(data, time_key="stage", trajectory_key="trajectory")


def test_missing_lineages_and_duplicated_genes_say_how_to_fix_them(planted):
    # "has missing values" said neither how many cells nor how to leave them out, and
    # duplicated var_names (scanpy warns on reading) did not name scanpy's remedy
    data = planted.copy()
    lineage = data.obs["trajectory"].astype(object)
    lineage.iloc[[6, 7]] = np.nan  # cells no lineage was assigned to
    data.obs["lineage"] = lineage
    with pytest.raises(ValueError, match=r"adata.obs\['lineage'\] has missing values in 2 "
                                         r"of 60 cells \(e.g. \['1_0', '1_1'\]\); leave "):
        GRNModel(data, time_key="time", trajectory_key="lineage")
    adata = data  # the advice, as given, works
    adata = adata[adata.obs['lineage'].notna()].copy()
    model = GRNModel(adata, time_key="time", trajectory_key="lineage", n_hidden=2)
    assert model._x.shape[0] == 58
    genes = data.var_names.tolist()
    genes[3] = genes[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # anndata: not unique
        data.var_names = genes
    with pytest.raises(ValueError, match=r"duplicated genes: \['g1'\]; .*"
                                         r"adata.var_names_make_unique\(\)"):
        GRNModel(data, time_key="time", trajectory_key="trajectory")
    data.var_names_make_unique()
    assert GRNModel(data, time_key="time", trajectory_key="trajectory").genes[3] == "g1-1"


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_a_sparse_or_matrix_row_is_one_start_state(planted):
    # adata.X[adata.uns["iroot"]] of a sparse X (a 1 x G csr_matrix, as the README
    # recommends for a pseudotime fit) gave (T, 1, G) trajectories where the dense row gave
    # (T, G), and plot_perturbation then failed
    import matplotlib.pyplot as plt

    from biomodels.grn.plot import plot_perturbation

    model = _fit(planted)
    t = [0.0, 1.0, 2.0]
    dense = model.simulate(planted.X[3], t, perturb={planted.var_names[0]: 0.0})
    assert dense.shape == (3, planted.n_vars)
    sparse = sp.csr_matrix(planted.X)
    for row in (sparse[3], sp.csc_matrix(planted.X)[3], np.asmatrix(planted.X[3:4])):
        out = model.simulate(row, t, perturb={planted.var_names[0]: 0.0})
        np.testing.assert_allclose(out, dense, rtol=1e-12)
        assert model.predict(row, t).shape == (3, planted.n_vars)
    fig = plot_perturbation(t, model.simulate(sparse[3], t), dense, list(model.genes))
    plt.close(fig)
    # several rows keep their axis, one per cell; a 2-D array of one row too
    assert model.predict(sparse[3:5], t).shape == (3, 2, planted.n_vars)
    assert model.predict(sp.csr_array(planted.X)[3:4], t).shape == (3, 1, planted.n_vars)
    assert model.predict(planted.X[3:4], t).shape == (3, 1, planted.n_vars)


def test_a_network_fitted_on_some_genes_is_written_into_the_full_anndata(planted, tmp_path):
    # fitted on the highly variable genes, the network could not be written back into the
    # full AnnData ("adata.var_names do not match the model's genes"), nor into one with the
    # same genes in another order, while CTMC.write_results matches by name
    full = planted.copy()
    full.var["highly_variable"] = [True] * 6 + [False] * 2
    kept = ["g0", "g1", "g2", "g3", "g4", "g5"]
    model = _fit(full[:, full.var["highly_variable"]])
    net = model.network()
    info = model.write_results(full, truth="truth")
    # sparse, the fitted block alone in float32 (see the 2,000-gene test below)
    written = pd.DataFrame(full.varp["grn"].toarray(), index=full.var_names,
                           columns=full.var_names)
    pd.testing.assert_frame_equal(written.loc[kept, kept].astype(np.float64), net,
                                  check_exact=True)
    # 0 = no edge estimated for the genes the model did not cover, as sc.pp.pca's zeros
    assert not written.loc[["g6", "g7"]].to_numpy().any()
    assert not written[["g6", "g7"]].to_numpy().any()
    assert list(full.uns["grn"]["genes"]) == kept and info["genes"] == kept
    # the truth key of the full AnnData is scored on the model's genes
    truth = pd.DataFrame(planted.varp["truth"], index=planted.var_names,
                         columns=planted.var_names).loc[kept, kept]
    assert info["metrics"]["auroc"] == model.evaluate(truth)["auroc"]
    full.write_h5ad(tmp_path / "full.h5ad")
    assert list(ad.read_h5ad(tmp_path / "full.h5ad").uns["grn"]["genes"]) == kept
    # the same genes in another order: written in var_names order, all genes covered
    flipped = planted[:, planted.var_names[::-1]].copy()
    whole = _fit(planted)
    whole.write_results(flipped)
    np.testing.assert_array_equal(
        flipped.varp["grn"], whole.network().loc[flipped.var_names, flipped.var_names])
    assert "genes" not in flipped.uns["grn"]
    # genes of the model that the AnnData lacks are named
    fewer = planted[:, kept].copy()
    with pytest.raises(ValueError, match=r"adata lacks 2 of the model's 8 genes: "
                                         r"\['g6', 'g7'\]"):
        whole.write_results(fewer)
    assert "grn" not in fewer.varp and "grn" not in fewer.uns


def test_a_model_fitted_on_some_genes_loads_onto_the_full_anndata(planted, tmp_path):
    # GRNModel.load(path, adata) refused an AnnData with more genes, or the same in another
    # order, with "adata.var_names do not match the saved model's genes"
    kept = ["g0", "g1", "g2", "g3", "g4", "g5"]
    model = _fit(planted[:, kept].copy())
    path = model.save(tmp_path / "m.pt")
    full = planted.copy()
    loaded = GRNModel.load(path, full)
    pd.testing.assert_frame_equal(loaded.network(), model.network(), check_exact=True)
    assert list(loaded.adata.var_names) == kept and loaded.adata.n_obs == full.n_obs
    np.testing.assert_allclose(loaded._x, model._x)  # the same genes, in the saved order
    loaded.write_results(full)
    assert full.varp["grn"].shape == (8, 8) and list(full.uns["grn"]["genes"]) == kept
    # without a target: into the AnnData given to load, not a copy of the model's view
    # (the review: a warning, and nothing in full)
    again = planted.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GRNModel.load(path, again).write_results()
    np.testing.assert_array_equal(again.varp["grn"].toarray(), full.varp["grn"].toarray())
    flipped = planted[:, kept[::-1]].copy()
    np.testing.assert_allclose(GRNModel.load(path, flipped)._x, model._x)
    with pytest.raises(ValueError, match=r"adata lacks 1 of the saved model's 6 genes: "
                                         r"\['g5'\]"):
        GRNModel.load(path, planted[:, kept[:5]].copy())


def test_write_results_without_a_target_says_where_a_views_results_went(planted):
    # a model built on an inline view (GRNModel(adata[mask])) wrote write_results() into
    # the model's private copy, which the user could not reach, with only anndata's
    # ImplicitModificationWarning; model.adata now exposes it
    data = planted.copy()
    model = _fit(data[data.obs["trajectory"].isin(["0", "1", "2", "3"])])
    assert model.adata.is_view and model.adata.n_obs == 24
    with pytest.raises(AttributeError):
        model.adata = data  # read-only
    with pytest.warns(UserWarning, match=r"the model's AnnData is a view: the results were "
                                         r"written into model.adata.*write_results\(parent\)"):
        model.write_results()
    assert not model.adata.is_view and "grn" in model.adata.varp
    assert "grn" not in data.varp and "grn" not in data.uns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.write_results()  # no longer a view: no warning
        model.write_results(data)
    np.testing.assert_array_equal(data.varp["grn"], model.network().to_numpy())


def test_the_schedule_read_back_from_h5ad_rebuilds_the_fit_schedule(planted, tmp_path):
    # h5ad stored settings["schedule"] [3, 0.7, 10, 0.1] as one float array, and
    # PruningSchedule(*schedule) then refused first_epoch np.float64(3.0)
    from biomodels.grn import PruningSchedule

    schedule = PruningSchedule(first_epoch=1, first_fraction=0.5, every=2, fraction=0.25)
    model = GRNModel(planted, time_key="time", trajectory_key="trajectory", n_hidden=4)
    model.train(2, pruning="imp", schedule=schedule, method="rk4", step_size=0.5,
                progress=False)
    data = planted.copy()
    model.write_results(data)
    data.write_h5ad(tmp_path / "r.h5ad")
    back = ad.read_h5ad(tmp_path / "r.h5ad").uns["grn"]["settings"]
    assert back["schedule"].dtype == np.float64  # the key stays as it was
    assert PruningSchedule(*back["schedule"]) == schedule
    params = back["schedule_params"]
    assert PruningSchedule(**params) == schedule
    assert all(isinstance(params[k], int | np.integer) for k in ("first_epoch", "every"))
    assert model.settings["schedule_params"] == {"first_epoch": 1, "first_fraction": 0.5,
                                                 "every": 2, "fraction": 0.25}
    none = _fit(planted)
    assert none.settings["schedule"] is None and none.settings["schedule_params"] is None


def test_write_results_into_views_in_threads_leaves_the_warning_filters(planted, monkeypatch):
    # writing into the model's own view silenced anndata's "initializing view as actual"
    # with warnings.catch_warnings, which swaps the filters of the whole process: writes in
    # threads put them back out of order and left "ignore ImplicitModificationWarning" in
    # them for good. Here the first write ends while the second is under way, that order.
    import threading

    data = planted.copy()
    models = [_fit(data[data.obs["trajectory"].isin(["0", "1", "2", "3"])]) for _ in range(2)]
    first_in, second_in, first_done = (threading.Event() for _ in range(3))
    copy = ad.AnnData.copy
    held: set[int] = set()

    def copy_in_turn(self, *args, **kwargs):  # the view made an AnnData of its own
        out = copy(self, *args, **kwargs)
        me = threading.get_ident()
        if me not in held and threading.current_thread() is not threading.main_thread():
            held.add(me)
            if self is models[0].adata:
                first_in.set()
                assert second_in.wait(30)
            else:
                second_in.set()
                assert first_done.wait(30)
        return out

    monkeypatch.setattr(ad.AnnData, "copy", copy_in_turn)
    infos: list = [None, None]

    def write(k: int) -> None:
        infos[k] = models[k].write_results()

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "the model's AnnData is a view", UserWarning)
        before = list(warnings.filters)
        first = threading.Thread(target=write, args=(0,))
        second = threading.Thread(target=write, args=(1,))
        first.start()
        assert first_in.wait(30)
        second.start()
        first.join(30)
        first_done.set()
        second.join(30)
        assert warnings.filters == before
    for model, info in zip(models, infos):
        assert not model.adata.is_view and model.adata.uns["grn"] is info
        np.testing.assert_array_equal(model.adata.varp["grn"], model.network().to_numpy())
    assert "grn" not in data.varp and "grn" not in data.uns


def test_write_results_into_a_view_is_refused_naming_the_parent_or_a_copy(planted):
    # model.write_results(adata[mask]) raised anndata's ImplicitModificationWarning, made
    # the view an AnnData of its own that nobody held, and left the parent without results
    model = _fit(planted)
    data = planted.copy()
    view = data[data.obs["trajectory"].isin(["0", "1"])]
    with pytest.raises(ValueError, match=r"adata is a view .*pass the AnnData it was "
                                         r"taken from .* or a copy, adata\[mask\]\.copy\(\)"):
        model.write_results(view)
    assert view.is_view and "grn" not in data.varp and "grn" not in data.uns
    subset = view.copy()
    model.write_results(subset)
    np.testing.assert_array_equal(subset.varp["grn"], model.network().to_numpy())
    # a model built on a view writes into it as write_results() does, given it by name too
    # (write_results(model.adata) was refused while write_results() wrote into it)
    on_view = _fit(view)
    for call in (on_view.write_results, lambda: on_view.write_results(on_view.adata)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # anndata's and ours about writing into a view
            call()


def test_a_fit_on_some_genes_of_a_large_anndata_is_written_back_sparse(tmp_path):
    # a fit on a subset written into the full AnnData was a dense float64 n_vars x n_vars
    # matrix, though only the fitted genes' block can be non-zero: 12 genes in 2,000 made
    # 32 MB in memory and in the h5ad (300 of 12,300 genes: 1.21 GB each). Now a CSR matrix
    # of the fitted block in the model's dtype, as scanpy keeps obsp["connectivities"]
    from biomodels.grn.plot import plot_network

    small = simulate_hill_network(12, n_trajectories=8, n_timepoints=6, seed=1)
    genes = list(small.var_names)
    extra = sp.random(small.n_obs, 1988, density=0.05, format="csr", random_state=0,
                      dtype=np.float32)
    order = np.random.default_rng(0).permutation(2000)  # the fitted genes spread over var
    names = np.array(genes + [f"x{i}" for i in range(1988)])[order]
    full = ad.AnnData(sp.hstack([sp.csr_matrix(small.X), extra]).tocsr()[:, order],
                      obs=small.obs.copy(), var=pd.DataFrame(index=names))
    pos = full.var_names.get_indexer(genes)
    full.varp["truth"] = sp.coo_matrix(
        (small.varp["truth"][small.varp["truth"] != 0],
         tuple(pos[i] for i in np.nonzero(small.varp["truth"]))), shape=(2000, 2000)).tocsr()
    model = _fit(full[:, genes], prior="truth")  # a sparse varp read as the prior
    net = model.network()
    truth = pd.DataFrame(small.varp["truth"], index=genes, columns=genes)
    info = model.write_results(full, truth="truth")  # a sparse varp read as the truth
    assert info["metrics"]["auroc"] == model.evaluate(truth)["auroc"]
    grn = full.varp["grn"]
    assert sp.issparse(grn) and grn.format == "csr" and grn.shape == (2000, 2000)
    assert grn.dtype == np.float32  # the model's (float64 held no more digits)
    assert grn.nnz == np.count_nonzero(net.to_numpy())  # the fitted block's non-zeros only
    np.testing.assert_array_equal(grn[pos][:, pos].toarray(), net.to_numpy())
    assert list(full.uns["grn"]["genes"]) == genes
    full.write_h5ad(tmp_path / "full.h5ad")
    assert (tmp_path / "full.h5ad").stat().st_size < 1_000_000  # dense: 32 MB
    back = ad.read_h5ad(tmp_path / "full.h5ad")
    assert sp.issparse(back.varp["grn"])
    np.testing.assert_array_equal(back.varp["grn"].toarray(), grn.toarray())
    # read back: onto the full AnnData (which holds it), its block as a prior, a plot
    loaded = GRNModel.load(model.save(tmp_path / "m.pt"), back)
    pd.testing.assert_frame_equal(loaded.network(), net, check_exact=True)
    loaded.write_results(key_added="again")
    assert (back.varp["again"] != back.varp["grn"]).nnz == 0
    with pytest.warns(UserWarning, match="the prior names 132 of the 132 pairs"):
        assert _fit(back[:, genes], prior="grn").prior.equals(net)  # unpruned: every pair
    block = back[:, genes].varp["grn"]  # the fitted genes' block, as README says
    ax = plot_network(pd.DataFrame(block.toarray(), index=genes, columns=genes))
    import matplotlib.pyplot as plt

    plt.close(ax.figure)
    # a fit over every gene stays as it was: a dense float64 array
    whole = simulate_hill_network(8, n_trajectories=10, n_timepoints=6, seed=0)
    _fit(whole).write_results(whole)
    assert isinstance(whole.varp["grn"], np.ndarray) and whole.varp["grn"].dtype == np.float64


def test_gene_symbols_translate_priors_perturbations_and_labels(planted, tmp_path):
    # 10x data are keyed by Ensembl IDs, priors (DoRothEA, CollecTRI, TRRUST) by symbol,
    # and nothing read the symbols kept in var (scanpy's gene_symbols=): a symbol prior was
    # refused ("no gene of the prior edge list is among the data genes") and
    # simulate(perturb={"SYM1": 0.0}) failed "perturb names genes not in the data"
    data = planted.copy()
    genes = list(planted.var_names)  # g0 ... g7
    ens = [f"ENSG{i:011d}" for i in range(8)]
    data.var_names = ens
    symbol = {g: f"SYM{i}" for i, g in enumerate(genes)}
    symbol["g7"] = "SYM6"  # g6 and g7 share a symbol, as 10x data have a few
    data.var["gene_symbols"] = [symbol[g] for g in genes]
    truth = pd.DataFrame(planted.varp["truth"], index=genes, columns=genes)
    # one row per pair of symbols, as a symbol-keyed prior has (g7's pairs are g6's)
    pairs = list({(symbol[r], symbol[t]): (r, t, truth.loc[r, t]) for r in genes
                  for t in genes if truth.loc[r, t] != 0 and "g7" not in (r, t)}.values())
    assert any("g6" in p[:2] for p in pairs)
    first = next(p for p in pairs if "g6" not in p[:2])  # by Ensembl ID: a var_name
    table = pd.DataFrame([(ens[genes.index(first[0])], ens[genes.index(first[1])], first[2])]
                         + [(symbol[r], symbol[t], w) for r, t, w in pairs if (r, t, w) != first],
                         columns=["source", "target", "weight"])
    table.to_csv(tmp_path / "prior.csv", index=False)
    # the known answer: each pair on its genes, SYM6's edges on both g6 and g7
    expected = pd.DataFrame(0.0, index=ens, columns=ens)
    for r, t, w in pairs:
        for rr in ({"g6", "g7"} if r == "g6" else {r}):
            for tt in ({"g6", "g7"} if t == "g6" else {t}):
                expected.loc[ens[genes.index(rr)], ens[genes.index(tt)]] = w
    for prior in (table, tmp_path / "prior.csv"):
        with pytest.warns(UserWarning, match=r"1 gene symbol\(s\) of the prior name several "
                          r"genes .*'SYM6': \['ENSG00000000006', 'ENSG00000000007'\]"):
            model = _fit(data, prior=prior, gene_symbols="gene_symbols")
        pd.testing.assert_frame_equal(model.prior, expected, check_exact=True)
    with pytest.raises(ValueError, match="no gene of the prior edge list is among"):
        GRNModel(data, time_key="time", prior=table[1:])  # symbols alone, no gene_symbols
    with pytest.raises(ValueError, match=r"gene_symbols='symbol' is not a column of adata"
                                         r"\.var \(\['tf', 'input', 'gene_symbols'\]\)"):
        GRNModel(data, time_key="time", gene_symbols="symbol")
    # perturb by symbol: the same as by Ensembl ID
    t = [0.0, 1.0]
    np.testing.assert_array_equal(model.simulate(times=t, perturb={"SYM2": 0.0}),
                                  model.simulate(times=t, perturb={ens[2]: 0.0}))
    with pytest.warns(UserWarning, match=r"'SYM6': \['ENSG00000000006', 'ENSG00000000007'\]"):
        both = model.simulate(times=t, perturb={"SYM6": 0.0})
    np.testing.assert_array_equal(both, model.simulate(times=t, perturb={ens[6]: 0.0,
                                                                         ens[7]: 0.0}))
    with pytest.raises(ValueError, match=r"perturb names genes not among the model's 8 genes: "
                                         r"\['SYM9'\] \(neither var_names nor symbols"):
        model.simulate(times=t, perturb={"SYM9": 0.0})
    # labels: symbols made unique as scanpy does, the same values; edges gain two columns
    net = model.network()
    by_symbol = model.network(labels="symbols")
    assert list(by_symbol.index) == [f"SYM{i}" for i in range(7)] + ["SYM6-1"]
    np.testing.assert_array_equal(by_symbol.to_numpy(), net.to_numpy())
    edges = model.edges()
    assert list(edges.columns) == ["regulator", "target", "effect", "score", "in_prior",
                                   "regulator_symbol", "target_symbol"]
    assert [symbol[genes[ens.index(g)]] for g in edges["regulator"]] == list(
        edges["regulator_symbol"])
    # a truth by symbol scores as the same truth by Ensembl ID
    sym_truth = pd.DataFrame([(symbol[r], symbol[t], w) for r, t, w in pairs],
                             columns=["Gene1", "Gene2", "Type"])
    with pytest.warns(UserWarning, match="'SYM6'"):
        scored = model.evaluate(sym_truth)
    assert pd.Series(scored).equals(pd.Series(model.evaluate(expected)))  # NaN equal
    # recorded, saved and loaded
    assert model.settings["gene_symbols"] == "gene_symbols"
    model.write_results(data)
    assert data.uns["grn"]["settings"]["gene_symbols"] == "gene_symbols"
    loaded = GRNModel.load(model.save(tmp_path / "m.pt"))
    pd.testing.assert_frame_equal(loaded.network(labels="symbols"), by_symbol)
    pd.testing.assert_frame_equal(loaded.edges(), edges)
    assert GRNModel.load(tmp_path / "m.pt", data).network(labels="symbols").equals(by_symbol)
    # without gene_symbols nothing changes: no symbol columns, no setting, labels refused
    plain = _fit(planted)
    assert "regulator_symbol" not in plain.edges() and "gene_symbols" not in plain.settings
    with pytest.raises(ValueError, match="labels='symbols' needs the genes' symbols"):
        plain.network(labels="symbols")


def test_a_pair_named_by_var_name_and_by_symbol_is_averaged_with_a_warning(planted):
    # the translation summed the two names of one pair: +1 by symbol and -1 by Ensembl ID
    # cancelled to 0 without a word, and +1 twice gave 2, where align_prior averages a
    # repeated pair and says so
    data = planted.copy()
    ens = [f"ENSG{i:011d}" for i in range(data.n_vars)]
    data.var_names = ens
    data.var["gene_symbols"] = [f"SYM{i}" for i in range(data.n_vars)]
    for second, want in ((-1.0, 0.0), (1.0, 1.0)):
        table = pd.DataFrame([("SYM0", "SYM1", 1.0), (ens[0], ens[1], second),
                              ("SYM2", "SYM3", 1.0)], columns=["source", "target", "weight"])
        with pytest.warns(UserWarning, match=r"1 regulator-target pair\(s\) of the prior are "
                          r"named more than once, by var_name and by symbol .*averaged: "
                          r"ENSG00000000000 -> ENSG00000000001$"):
            prior = GRNModel(data, time_key="time", trajectory_key="trajectory", prior=table,
                             gene_symbols="gene_symbols").prior
        assert prior.loc[ens[0], ens[1]] == want and prior.loc[ens[2], ens[3]] == 1.0
        assert int((prior != 0).to_numpy().sum()) == 1 + (want != 0)


def test_a_knockout_of_scaled_data_is_its_minimum_in_model_offset(planted):
    # sc.pp.scale centres each gene, so 0 is its mean: the docstring called 0 a knockout;
    # the knockout is the gene's minimum, model.offset at its position
    import scanpy as sc

    data = planted.copy()
    sc.pp.scale(data)
    model = _fit(data)
    x = np.asarray(data.X)
    lo = x[:, 2].min()
    assert lo < 0 < x[:, 2].max() and model.offset[2] == lo
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ko = model.simulate(times=[0.0, 1.0], perturb={data.var_names[2]: float(model.offset[2])})
    np.testing.assert_allclose(ko[:, 2], lo, atol=1e-6)


def test_perturb_names_a_gene_outside_the_models_genes_as_such(planted):
    # a model of the highly variable genes: perturb={"CD14": 0.0} said "perturb names genes
    # not in the data" of a gene of the data, which is only not among the model's
    model = _fit(planted[:, :6])
    with pytest.raises(ValueError, match=r"^perturb names genes not among the model's 6 genes: "
                                         r"\['g7'\]$"):
        model.simulate(times=[0.0, 1.0], perturb={"g7": 0.0})


def test_the_constant_gene_warning_names_the_genes_by_symbol(planted):
    # with gene_symbols= the warning named only the var_names (Ensembl IDs)
    data = planted.copy()
    data.var_names = [f"ENSG{i:011d}" for i in range(8)]
    data.var["gene_symbols"] = [f"SYM{i}" for i in range(8)]
    data.X[:, 3] = 0.5
    with pytest.warns(UserWarning, match=r"no signal \(1 of 8 genes\): \['SYM3' "
                                         r"\('ENSG00000000003'\)\]; "):
        GRNModel(data, time_key="time", trajectory_key="trajectory", n_hidden=2,
                 gene_symbols="gene_symbols")
