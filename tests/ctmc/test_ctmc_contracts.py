"""The names, arguments and defaults that issue 5 spells out, each exercised once."""

from __future__ import annotations

import numpy as np
import pytest

from biomodels.ctmc import CTMC, fit_theta, independence_theta, random_sparse_theta


def test_sample_takes_n_and_seed_and_returns_event_times():
    model = CTMC(random_sparse_theta(4, seed=0), ["TP53", "IDH1", "EGFR", "PTEN"])
    a, b = model.sample(50, 3), model.sample(50, seed=3)  # `sample(n, seed)`, positional
    assert np.array_equal(a.X, b.X) and np.array_equal(a.times, b.times, equal_nan=True)
    placed = a.order >= 0
    assert np.isfinite(a.times[placed]).all() and np.isnan(a.times[~placed]).all()


def test_log_likelihood_names_the_model_events_for_a_wrong_width():
    model = CTMC(np.zeros((3, 3)), ["A", "B", "C"])
    # the message blamed an `event_names` argument the caller had not passed
    with pytest.raises(ValueError, match=r"X has 4 event columns but the model has 3 events"):
        model.log_likelihood(np.zeros((2, 4)))


def test_exact_lattice_below_eight_events_mcmc_from_eight():
    # issue 5: MCMC over orderings with exact DP below 8 events (the default threshold)
    rng = np.random.default_rng(0)
    x = (rng.random((40, 9)) < 0.3).astype(np.uint8)
    x[:, 7:] = 0
    x[0, :7] = 1  # the largest tumour carries 7 events: every gradient is exact
    # five steps (the fits stop at that limit, and say so)
    with pytest.warns(UserWarning, match="stopped at its step limit, max_steps=5"):
        exact = fit_theta(x, l1=0.01, method="exact", optimizer="adam", max_steps=5)
    with pytest.warns(UserWarning, match="stopped at its step limit, max_steps=5"):
        mcmc = fit_theta(x, l1=0.01, method="mcmc", optimizer="adam", max_steps=5)
    assert np.allclose(exact.theta, mcmc.theta, rtol=0, atol=1e-12)
    assert np.isfinite(mcmc.history).all()
    x[0, 7] = 1  # 8 events: that tumour goes through the Metropolis-Hastings estimate
    with pytest.warns(UserWarning, match="stopped at its step limit, max_steps=5"):
        noisy = fit_theta(x, l1=0.01, method="mcmc", max_steps=5)
    assert noisy.method == "mcmc" and np.isnan(noisy.history).all()


def test_chain_defaults_are_fifty_samples_after_five_burn_in(monkeypatch):
    import biomodels.ctmc.fit as fit

    seen = {}
    real = fit.mcmc_gradient

    def spy(theta, events, **kw):
        seen.update(kw)
        return real(theta, events, **kw)

    monkeypatch.setattr(fit, "mcmc_gradient", spy)
    x = np.zeros((5, 9), dtype=np.uint8)
    x[0, :8] = 1
    with pytest.warns(UserWarning, match="stopped at its step limit, max_steps=1"):
        fit_theta(x, l1=0.01, method="mcmc", max_steps=1)  # one step: the chains' settings
    assert seen["n_samples"] == 50 and seen["burn_in"] == 5


def test_proximal_adagrad_zeroes_interactions_and_leaves_base_rates():
    # issue 5: AdaGrad (or Adam) with proximal L1 on the off-diagonal entries only
    x = CTMC(random_sparse_theta(4, seed=1)).sample(300, seed=2).X
    res = fit_theta(x, l1=10.0, optimizer="adagrad", max_steps=100)
    assert res.optimizer == "adagrad"
    off = ~np.eye(4, dtype=bool)
    assert (res.theta[off] == 0).all()
    assert np.abs(np.diag(res.theta) - np.diag(independence_theta(x))).max() < 0.5
    assert (np.diag(res.theta) != 0).all()


def test_posterior_uses_nuts_for_few_events_and_svi_beyond(monkeypatch):
    import pyro.infer

    from biomodels.ctmc import posterior_theta

    class Used(Exception):
        pass

    def no_nuts(*args, **kwargs):
        raise Used

    monkeypatch.setattr(pyro.infer, "MCMC", no_nuts)
    # 6 events, the last that NUTS takes under method='auto'
    small = CTMC(random_sparse_theta(6, seed=0)).sample(60, seed=1).X
    with pytest.raises(Used):
        posterior_theta(small)
    large = CTMC(random_sparse_theta(7, seed=0)).sample(60, seed=1).X
    draws = posterior_theta(large, svi_steps=1, num_samples=2)  # SVI: MCMC untouched
    assert draws.shape == (2, 7, 7)


def test_write_results_refuses_a_view_and_records_the_environment():
    # write_results(adata[mask]) wrote into the view, which anndata turned into an AnnData of
    # its own: the AnnData it was taken from got nothing (only ImplicitModificationWarning)
    import anndata as ad
    import pandas as pd

    from core.provenance import environment

    model = CTMC(random_sparse_theta(3, seed=0), ["A", "B", "C"])
    cohort = ad.AnnData(model.sample(20, seed=1).X.astype(np.float32),
                        var=pd.DataFrame(index=["A", "B", "C"]))
    view = cohort[:10]
    with pytest.raises(ValueError, match=r"^write_results: adata is a view \(adata\[mask\]\), "
                                         r"which anndata would turn into an AnnData of its own"
                                         r".*pass the AnnData it was taken from .* or a copy, "
                                         r"adata\[mask\]\.copy\(\)"):
        model.write_results(view)
    assert view.is_view and "ctmc" not in cohort.uns and "ctmc" not in cohort.varp
    # the parent, or a copy of the view, take the results; uns names the software stack
    info = model.write_results(view.copy())
    assert info["environment"] == environment()
    assert model.write_results(cohort)["environment"]["torch"] == environment()["torch"]
    np.testing.assert_array_equal(cohort.varp["ctmc"], model.theta)


@pytest.mark.parametrize("event", [-1, 4, -5])
def test_next_event_probabilities_refuses_an_index_out_of_range(event):
    # [-1] gave the answer of [3] (numpy's negative indexing), [4] a bare IndexError
    model = CTMC(random_sparse_theta(4, seed=0), ["A", "B", "C", "D"])
    with pytest.raises(ValueError, match=rf"^state must be an event index in \[0, 4\), "
                                         rf"got {event}$"):
        model.next_event_probabilities([event])
    with pytest.raises(ValueError, match=rf"^order must be an event index in \[0, 4\), "
                                         rf"got {event}$"):
        model.order_log_probability([event])
    p = model.next_event_probabilities([3])  # in range: as before
    assert p["D"] == 0 and p.sum() == pytest.approx(1.0)


@pytest.mark.parametrize(("method", "arg"), [("most_likely_order", "events"),
                                             ("top_orders", "events"),
                                             ("next_event_probabilities", "state")])
def test_a_tumours_events_are_read_by_one_rule(method, arg):
    # most_likely_order and top_orders read an array as event indices, next_event_probabilities
    # as a 0/1 state: np.array([0, 2]) gave the order of events A and C, np.array([1, 0, 1])
    # failed, "events must be distinct", and "AC" was read letter by letter as [A, C]
    import pandas as pd

    model = CTMC(np.zeros((3, 3)), ["A", "B", "C"])
    call = getattr(model, method)
    assert str(call(np.array([1, 0, 1]))) == str(call(["A", "C"])) == str(call([0, 2]))
    assert str(call(pd.Series([1, 1, 0], index=["C", "A", "B"]))) == str(call([0, 2]))
    # an array of names is names (no 0/1 state holds a name): adata.var_names[mask]
    assert str(call(pd.Index(["A", "C"]))) == str(call(np.array(["A", "C"]))) == str(
        call(["A", "C"]))
    with pytest.raises(ValueError, match=rf"^{arg}: expected the present events as a list, or "
                                         rf"a 0/1 vector of the model's 3 events, got "
                                         rf"array\(\[0, 2\]\).*pass \[0, 2\]"):
        call(np.array([0, 2]))
    with pytest.raises(ValueError, match=rf"^{arg}=\[0, 1, 0\] names an event twice: a list "
                                         rf"names the events present"):
        call([0, 1, 0])
    with pytest.raises(ValueError, match=rf"^{arg}: expected the present events as a list.*"
                                         rf"got 'AC'.*\['AC'\]"):
        call("AC")



@pytest.mark.parametrize(("method", "arg"), [("most_likely_order", "events"),
                                             ("top_orders", "events"),
                                             ("next_event_probabilities", "state")])
def test_a_tumours_names_series_and_empty_containers_follow_the_rule(method, arg):
    # a Series of names (a long table's column) was matched by its index, a 0/1 state:
    # "events's index ['0', '1'] do not match the model's events"; an empty Index or array
    # (an event-free tumour's df.columns[row == 1]) was "expected the present events as a
    # list, or a 0/1 vector of the model's 3 events"
    import pandas as pd

    model = CTMC(np.zeros((3, 3)), ["A", "B", "C"])
    call = getattr(model, method)
    assert str(call(pd.Series(["C", "A"]))) == str(call(["C", "A"]))
    assert str(call(pd.Series(["C", "A"], index=["A", "B"]))) == str(call(["C", "A"]))
    for empty in (pd.Index([], dtype=object), np.array([], dtype=str), np.array([]),
                  pd.Series([], dtype=float), pd.Series([], dtype=object)):
        assert str(call(empty)) == str(call([]))
    with pytest.raises(ValueError, match=rf"^{arg}'s index \['0', '1', '2'\] do not match"):
        call(pd.Series([1, 0, 1]))  # a state by name; by position: .to_numpy()

def test_order_log_probability_reads_an_array_as_an_order_and_names_a_repeat():
    # an ordering has no 0/1 form: its array stays event indices in order; a cohort row
    # (np.array([1, 0, 1])) met "orders must not repeat an event within a tumour / ordering"
    model = CTMC(np.zeros((3, 3)), ["A", "B", "C"])
    # three events of rate 1: B, then A, then the observation: 1/4 * 1/3 * 1/2
    assert model.order_log_probability(np.array([1, 0])) == pytest.approx(np.log(1 / 24))
    assert model.order_log_probability(np.array([1, 0])) == model.order_log_probability(
        ["B", "A"])
    with pytest.raises(ValueError, match=r"^order=array\(\[1, 0, 1\]\) names an event twice: "
                                         r"an order lists distinct events.*most_likely_order"):
        model.order_log_probability(np.array([1, 0, 1]))


def test_a_model_comes_back_from_the_anndata_that_write_results_wrote(tmp_path):
    # write_results wrote varp["ctmc"] and uns["ctmc"], but nothing read them back, and
    # CTMC.load("a.h5ad") failed with "'utf-8' codec can't decode byte 0x89 in position 0"
    import anndata as ad
    import pandas as pd

    names = ["TP53", "IDH1", "EGFR", "PTEN"]
    x = CTMC(random_sparse_theta(4, seed=0), names).sample(120, seed=1).X
    cohort = ad.AnnData(x.astype(np.float32), var=pd.DataFrame(index=names))
    model = CTMC().fit(cohort, l1_grid=[0.005, 0.05], folds=2, restarts=1, tol=1e-9)
    omhn = CTMC().fit(cohort, l1=0.01, model="omhn", sample_weight=np.arange(1, 121))
    model.write_results(cohort)
    omhn.write_results(cohort, key_added="omhn")
    cohort.write_h5ad(tmp_path / "a.h5ad")
    read = ad.read_h5ad(tmp_path / "a.h5ad")
    for fitted, back in ((model, CTMC.from_anndata(read)),
                         (omhn, CTMC.from_anndata(read, key="omhn"))):
        assert back.log_theta.tobytes() == fitted.log_theta.tobytes()  # bit for bit
        assert back.model_type == fitted.model_type and back.event_names == names
        assert back.fit_info == fitted.fit_info and back.l1 == fitted.l1
        assert back.cv_scores == fitted.cv_scores and repr(back) == repr(fitted)
        assert type(back.l1) is float and type(back.fit_info["converged"]) is bool
    assert len(model.cv_scores) == 2 and model.fit_info["restarts"]["best"] in (0, 1)
    assert model.fit_info["fit_options"] == {"tol": 1e-9}
    # the AnnData's events in another order: theta follows var_names, as written
    swapped = cohort[:, names[::-1]].copy()
    model.write_results(swapped)
    back = CTMC.from_anndata(swapped)
    assert back.event_names == names[::-1]
    assert back.theta_frame().loc[names, names].equals(model.theta_frame())
    # reordered after write_results: varp follows var, uns did not, and the oMHN's
    # observation row went to the wrong events (log-likelihood -2.2748 read as -2.3575)
    moved = read[:, names[::-1]].copy()
    back = CTMC.from_anndata(moved, key="omhn")
    assert back.theta_frame().loc[[*names, "Observation"], names].equals(omhn.theta_frame())
    assert back.log_likelihood(x[:, ::-1]).mean() == pytest.approx(
        omhn.log_likelihood(x).mean(), rel=1e-12)
    with pytest.raises(ValueError, match=r"not the 4 events the oMHN was written with "
                                         r"\(missing: \['EGFR', 'PTEN'\]\)"):
        CTMC.from_anndata(read[:, names[:2]].copy(), key="omhn")
    # written by an earlier prunus (no event names for omega): read in var_names order, and
    # said so
    del read.uns["omhn"]["omega_events"]
    with pytest.warns(UserWarning, match=r"names no events for its oMHN observation row"):
        old = CTMC.from_anndata(read, key="omhn")
    assert old.log_theta.tobytes() == omhn.log_theta.tobytes()
    with pytest.raises(ValueError, match=r"a\.h5ad is an AnnData \(h5ad\) file, not a prunus"
                                         r"\.ctmc model file: read it with anndata\.read_h5ad "
                                         r"and pass it to CTMC\.from_anndata"):
        CTMC.load(tmp_path / "a.h5ad")
    with pytest.raises(ValueError, match=r"^key='grn': adata holds no CTMC results under "
                                         r"'grn' \(varp\['grn'\] and uns\['grn'\], as "
                                         r"write_results writes them\); found ctmc results "
                                         r"under \['ctmc', 'omhn'\]"):
        CTMC.from_anndata(read, key="grn")
    with pytest.raises(TypeError, match=r"^adata: expected an AnnData, got ndarray"):
        CTMC.from_anndata(np.zeros((2, 2)))
