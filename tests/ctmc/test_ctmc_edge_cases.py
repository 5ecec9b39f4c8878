"""Boundary inputs of the public CTMC API: exact answers or errors naming the argument."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from biomodels.ctmc import (
    block_theta,
    cross_validate,
    default_l1_grid,
    fit_theta,
    independence_theta,
    kfold_indices,
    mcmc_gradient,
    most_likely_order,
    order_probability,
    random_sparse_theta,
    read_maf,
    sample_trajectories,
    select_l1,
    state_index,
    top_orders,
    validate_cohort,
)


def test_mcmc_gradient_of_tumours_without_events_is_exact():
    # p(empty) = 1 / (1 + sum_i exp(theta_ii)): the chain has nothing to order, the gradient
    # is the closed form (only the diagonal), and the IS estimate is exact
    theta = torch.tensor([[2.0, 0.3], [-1.0, 0.5]], dtype=torch.float64)
    events = torch.zeros(3, 0, dtype=torch.int64)
    grad, log_is = mcmc_gradient(theta, events, generator=torch.Generator().manual_seed(0))
    t = theta.clone().requires_grad_(True)
    (-3 * torch.log1p(torch.exp(torch.diagonal(t)).sum())).backward()
    assert torch.allclose(grad, t.grad, atol=1e-6)
    expected = -float(torch.log1p(torch.exp(torch.diagonal(theta)).sum()))
    assert torch.allclose(log_is, torch.full((3,), expected, dtype=torch.float64))


def test_independence_theta_of_no_tumours_is_refused_not_nan():
    with pytest.raises(ValueError, match="no tumours"):
        independence_theta(np.zeros((0, 2)))


@pytest.mark.parametrize("n_tumours", [0, -1])
def test_default_l1_grid_needs_tumours(n_tumours):
    with pytest.raises(ValueError, match="n_tumours"):
        default_l1_grid(n_tumours)


def test_default_l1_grid_spans_a_tenth_to_ten_over_n():
    # mhn's range, 0.1/N to 10/N, in five log-spaced steps
    np.testing.assert_allclose(default_l1_grid(100), [1e-3, 1e-2 / 10**0.5, 1e-2,
                                                      1e-1 / 10**0.5, 1e-1], rtol=1e-12)


def test_select_l1_with_an_empty_grid_names_it():
    x = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    with pytest.raises(ValueError, match="grid"):
        select_l1(x, [], folds=2)


def test_fit_theta_with_an_integer_dtype_names_it():
    x = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    with pytest.raises(ValueError, match="dtype"):
        fit_theta(x, l1=0.1, dtype=torch.int64)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_fit_theta_refuses_a_half_precision_dtype(dtype):
    # float16 reported convergence 0.6 away from the float64 fit; bfloat16 failed after the
    # fit, in .numpy()
    x = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    with pytest.raises(ValueError, match="float32 or float64"):
        fit_theta(x, l1=0.1, dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_data_log_likelihood_of_a_half_precision_theta_is_computed_in_float32(dtype):
    from biomodels.ctmc import data_log_likelihood

    theta = torch.as_tensor(random_sparse_theta(5, sparsity=0.5, seed=0)).to(dtype)
    x = sample_trajectories(random_sparse_theta(5, sparsity=0.5, seed=0), 50, seed=1).X
    expected = data_log_likelihood(theta.to(torch.float32), x)
    np.testing.assert_array_equal(data_log_likelihood(theta, x), expected)


def test_sampled_order_probability_needs_samples():
    # zero trajectories would report NaN ("never observed together") for a valid question
    with pytest.raises(ValueError, match="n_samples"):
        order_probability(np.zeros((2, 2)), 0, 1, method="sample", n_samples=0)


@pytest.mark.parametrize(("seed", "error"), [(1.5, TypeError), ("a", TypeError),
                                             (-1, ValueError)])
def test_every_seed_is_checked_by_name(seed, error):
    from biomodels.ctmc import (
        fit_theta,
        kfold_indices,
        posterior_theta,
        random_sparse_theta,
        sample_trajectories,
    )

    # torch said "manual_seed expected a long", numpy "SeedSequence expects int"
    x = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    for call in (lambda: fit_theta(x, l1=0.1, seed=seed),
                 lambda: sample_trajectories(np.zeros((2, 2)), 3, seed=seed),
                 lambda: kfold_indices(10, 2, seed=seed),
                 lambda: random_sparse_theta(3, seed=seed),
                 lambda: posterior_theta(x, method="svi", svi_steps=1, seed=seed)):
        with pytest.raises(error, match="^seed: expected an integer >= 0"):
            call()


def test_results_go_back_into_the_cohort_anndata(tmp_path):
    import anndata as ad
    import pandas as pd

    from biomodels.ctmc import CTMC, block_theta
    from core.checks import NotFittedError

    theta, names = block_theta(0, blocks="synth2")
    x = CTMC(theta, names).sample(200, seed=0).X
    cohort = ad.AnnData(x.astype(np.float32), var=pd.DataFrame(index=names))
    with pytest.raises(NotFittedError):
        CTMC().write_results(cohort)
    model = CTMC().fit(cohort, l1_grid=[0.01, 0.1], folds=2)
    before = (cohort.X.copy(), list(cohort.obs.columns), list(cohort.layers))
    info = model.write_results(cohort)
    np.testing.assert_array_equal(cohort.varp["ctmc"], model.theta)
    assert info["l1"] == model.l1 and info["cv_l1"].tolist() == [0.01, 0.1]
    assert np.isfinite(info["cv_mean"]).all() and info["fit"]["method"]
    np.testing.assert_array_equal(cohort.X, before[0])  # nothing else touched
    assert (list(cohort.obs.columns), list(cohort.layers)) == before[1:]
    cohort.write_h5ad(tmp_path / "c.h5ad")  # storable as h5ad
    back = ad.read_h5ad(tmp_path / "c.h5ad")
    np.testing.assert_array_equal(back.varp["ctmc"], model.theta)
    assert back.uns["ctmc"]["convention"].startswith("theta[i, j] = effect of event j")
    # the diagonal holds log rates (it said "base rates", which a reader took as rates)
    assert back.uns["ctmc"]["convention"].endswith("diagonal = log base rates")
    with pytest.raises(ValueError, match=r"var_names \['A'\] do not match .*missing: \['B'\]"):
        model.write_results(cohort[:, :1].copy())
    for key in (None, "ctmc/l1"):  # stored, then write_h5ad raised AttributeError
        with pytest.raises(ValueError, match="key_added must be a non-empty string"):
            model.write_results(cohort, key_added=key)


@pytest.mark.parametrize(("dtype", "base", "x"), [
    (torch.float32, -100.0, [0, 1]),  # was -inf: exp(-100) * exp(100) with exp(100) = inf
    (torch.float32, -110.0, [0, 1]),  # was NaN: 0 * inf
    (torch.float64, -800.0, [0, 1]),  # the same in float64
])
def test_subset_likelihood_when_a_factor_overflows_but_the_rate_does_not(dtype, base, x):
    # event 0 has base rate e^base, and event 1 lifts it by e^-base: rate 1 once 1 is present,
    # p({1}) = 1/2 * 1/2 exactly
    from biomodels.ctmc import bruteforce_log_likelihood, subset_log_likelihood

    theta = torch.tensor([[base, -base], [0.0, 0.0]], dtype=dtype, requires_grad=True)
    lp = subset_log_likelihood(theta, torch.tensor([x]))
    assert float(lp.detach()[0]) == pytest.approx(-2 * np.log(2), rel=1e-6)
    assert float(bruteforce_log_likelihood(theta.detach(), torch.tensor(x))) == pytest.approx(
        -2 * np.log(2), rel=1e-6)
    lp.sum().backward()
    assert torch.isfinite(theta.grad).all()


def test_subset_likelihood_when_a_rate_underflows_on_the_way_up():
    # float32: event 0's rate e^-40 drops to e^-110 (zero in float32) once event 1 is present,
    # then rises to e^10 with events 2 and 3; the linear table lost it (log p -3.92, not -13.92)
    from biomodels.ctmc import statespace_log_likelihood, subset_log_likelihood

    theta = torch.zeros(4, 4)
    theta[0, 0], theta[0, 1], theta[0, 2], theta[0, 3] = -40.0, -70.0, 60.0, 60.0
    theta[1:, 1:] = -torch.eye(3)
    x = torch.tensor([[0, 1, 1, 1]])
    ref = float(statespace_log_likelihood(theta.double(), x)[0])
    assert ref == pytest.approx(-13.9153, abs=1e-3)
    assert float(subset_log_likelihood(theta, x)[0]) == pytest.approx(ref, rel=1e-5)


def test_independence_theta_refuses_non_binary_and_nan_entries():
    # a 2 was clipped into a frequency of ~1 and a NaN gave a NaN base rate, both silently
    with pytest.raises(ValueError, match="non-binary entry 2"):
        independence_theta(np.array([[2, 0], [1, 1]]))
    with pytest.raises(ValueError, match="NaN"):
        independence_theta(np.array([[np.nan, 0.0], [1.0, 1.0]]))
    # the documented closed form still holds: logit of each frequency
    theta = independence_theta(np.array([[1, 0], [1, 1], [0, 0]]))
    np.testing.assert_allclose(np.diag(theta), [np.log(2.0), -np.log(2.0)])


def test_kfold_indices_refuses_fractional_fold_counts():
    # np.array_split truncated folds=2.5 to two folds; a float N failed with an AxisError
    with pytest.raises(TypeError, match="folds"):
        kfold_indices(10, 2.5)
    with pytest.raises(TypeError, match="n_tumours"):
        kfold_indices(10.0, 2)
    assert len(kfold_indices(10, np.int64(3))) == 3


@pytest.fixture
def small_cohort() -> np.ndarray:
    return sample_trajectories(random_sparse_theta(3, seed=0), 40, seed=1).X


@pytest.mark.parametrize(
    "folds, match",
    [
        ([np.array([-1])], r"fold_indices\[0\] must hold tumour indices"),  # x[-1] also trained on
        ([np.zeros(40, dtype=bool)], r"fold_indices\[0\] must be a non-empty 1-D"),  # a mask
        ([np.array([], dtype=np.int64)], r"fold_indices\[0\] must be a non-empty"),  # NaN score
        ([np.arange(40)], r"fold_indices\[0\] holds every tumour"),
        ([np.array([0, 40])], r"fold_indices\[0\] must hold tumour indices"),
    ],
)
def test_cross_validate_checks_explicit_folds(small_cohort, folds, match):
    with pytest.raises(ValueError, match=match):
        cross_validate(small_cohort, 0.05, fold_indices=folds, max_steps=5)


def test_select_l1_never_picks_a_strength_with_a_nan_score(small_cohort, monkeypatch):
    # known answer: the only finite mean is at 0.1; max() kept the NaN candidate listed first
    import biomodels.ctmc.crossval as cv

    table = {0.01: np.nan, 0.1: -3.0, 1.0: -4.0}
    monkeypatch.setattr(cv, "_fold_score", lambda x, l1, test, seed, kw: table[l1])
    assert select_l1(small_cohort, list(table), folds=2, seed=0)[0] == 0.1
    assert select_l1(small_cohort, list(table), folds=2, seed=0, one_se=True)[0] == 0.1
    table.update({0.1: np.nan, 1.0: np.nan})
    with pytest.raises(ValueError, match="non-finite held-out score"):
        select_l1(small_cohort, list(table), folds=2, seed=0)


def test_select_l1_warns_when_the_best_strength_is_at_an_end_of_the_grid(
    small_cohort, monkeypatch
):
    # known answer: the score still rises at the grid's largest strength, so the optimum may
    # lie beyond it; the same at the smallest end; an interior best or two candidates are quiet
    import biomodels.ctmc.crossval as cv

    table = {0.01: -5.0, 0.1: -4.0, 1.0: -3.0}
    monkeypatch.setattr(cv, "_fold_score", lambda x, l1, test, seed, kw: table[l1])
    with pytest.warns(UserWarning, match="largest L1 strength 1 .*extend the grid"):
        assert select_l1(small_cohort, list(table), folds=2, seed=0)[0] == 1.0
    table.update({0.01: -3.0, 1.0: -5.0})
    with pytest.warns(UserWarning, match="smallest L1 strength 0.01 "):
        select_l1(small_cohort, list(table), folds=2, seed=0)
    table.update({0.1: -2.0})
    assert select_l1(small_cohort, list(table), folds=2, seed=0)[0] == 0.1
    assert select_l1(small_cohort, [0.01, 1.0], folds=2, seed=0)[0] == 0.01
    table.update({0.0: -1.0})  # best with no penalty at all: nothing smaller to try
    assert select_l1(small_cohort, [0.0, 0.1, 1.0], folds=2, seed=0)[0] == 0.0


@pytest.mark.filterwarnings("ignore::biomodels.ctmc.fit.StepLimitWarning")  # max_steps=3: fast
def test_select_l1_grid_edge_warning_names_the_callers_line(small_cohort, monkeypatch):
    # stacklevel=3 named biomodels/ctmc/model.py (CTMC.fit's call of select_l1) when the
    # grid was searched through CTMC().fit(X, l1_grid=...), not the line that called fit
    import biomodels.ctmc.crossval as cv
    from biomodels.ctmc import CTMC

    table = {0.01: -5.0, 0.1: -4.0, 1.0: -3.0}
    monkeypatch.setattr(cv, "_fold_score", lambda x, l1, test, seed, kw: table[l1])
    with pytest.warns(UserWarning, match="largest L1 strength 1 ") as through_fit:
        CTMC().fit(small_cohort, l1_grid=list(table), folds=2, max_steps=3)
    with pytest.warns(UserWarning, match="largest L1 strength 1 ") as direct:
        select_l1(small_cohort, list(table), folds=2, seed=0)
    edge = [w for w in [*through_fit, *direct] if "L1 strength" in str(w.message)]
    assert len(edge) == 2 and {w.filename for w in edge} == {__file__}


def test_read_maf_names_a_frequency_filter_that_keeps_nothing(tmp_path):
    path = tmp_path / "m.maf"
    path.write_text("Hugo_Symbol\tTumor_Sample_Barcode\nTP53\tS1\nKRAS\tS2\n")
    # "X has no event columns" named neither the argument nor the file
    with pytest.raises(ValueError, match="min_frequency=2.0 keeps no event"):
        read_maf(path, min_frequency=2.0)
    with pytest.raises(ValueError, match="min_frequency"):
        read_maf(path, min_frequency=float("nan"))
    empty = tmp_path / "empty.maf"
    empty.write_text("Hugo_Symbol\tTumor_Sample_Barcode\n")
    with pytest.raises(ValueError, match="lists no alterations"):
        read_maf(empty)
    x, names, ids = read_maf(path, min_frequency=0.5)
    assert x.tolist() == [[0, 1], [1, 0]] and names == ["KRAS", "TP53"] and ids == ["S1", "S2"]


def test_validate_cohort_refuses_complex_entries():
    # the float conversion dropped the imaginary part: 1j was read as "absent"
    with pytest.raises(ValueError, match="complex entry"):
        validate_cohort(np.array([[1 + 0j, 0], [0, 1j]]))
    x, _ = validate_cohort(np.array([[1 + 0j, 0], [0, 1 + 0j]]))
    assert x.tolist() == [[1, 0], [0, 1]]


def test_state_index_refuses_more_events_than_an_int64_mask_holds():
    # 2 ** 63 overflowed to a negative index without a word
    x = np.zeros((1, 64), dtype=np.uint8)
    x[0, 63] = 1
    with pytest.raises(ValueError, match="n <= 63"):
        state_index(x)
    x63 = np.zeros((1, 63), dtype=np.uint8)
    x63[0, 62] = 1
    assert int(state_index(x63)[0]) == 2**62


def test_order_functions_refuse_bool_event_indices():
    theta = np.array([[0.0, 0.0, 0.0], [2.0, -1.0, 0.0], [0.0, 0.0, -0.5]])
    # True read as event 1
    with pytest.raises(ValueError, match="a must be an event index"):
        order_probability(theta, True, 0)
    with pytest.raises(ValueError, match="events must be an event index"):
        most_likely_order(theta, [True, 2])


def test_argument_type_errors_name_the_argument():
    x = sample_trajectories(random_sparse_theta(3, seed=0), 20, seed=1).X
    for bad in (None, "0.1"):  # failed on "'<' not supported ..."
        with pytest.raises(TypeError, match="l1: expected a real number"):
            fit_theta(x, l1=bad)
    with pytest.raises(TypeError, match="obs_time: expected a real number"):
        sample_trajectories(np.zeros((2, 2)), 3, obs_time="1")
    # numpy's uniform overflowed ("high - low range exceeds valid bounds")
    with pytest.raises(ValueError, match="rate_range"):
        block_theta(2, rate_range=(0.1, np.inf))


def test_nullable_and_categorical_columns_are_read_as_their_values():
    # regression guard for the column-by-column path (pandas extension dtypes)
    frame = pd.DataFrame({"A": pd.array([1, 0, 1], dtype="Int64"), "B": pd.Categorical([0, 1, 1])})
    x, names = validate_cohort(frame)
    assert x.tolist() == [[1, 0], [0, 1], [1, 1]] and names == ["A", "B"]


def test_read_cohort_warns_about_repeated_sample_ids(tmp_path):
    from biomodels.ctmc import read_cohort

    path = tmp_path / "cohort.csv"
    path.write_text("sample,A,B\nt1,1,0\nt2,0,1\nt1,1,0\n")
    with pytest.warns(UserWarning, match=r"1 sample id\(s\) appear on more than one row.*t1"):
        x, names, ids = read_cohort(path)
    assert x.shape == (3, 2) and ids == ["t1", "t2", "t1"]  # every row is still a tumour


def test_independence_fit_accepts_the_inputs_fit_theta_accepts():
    # a list failed on `x.shape` (AttributeError), a tensor on `sum(axis=...)` (TypeError)
    import torch

    from biomodels.ctmc import independence_fit

    rows = [[1, 0], [0, 1], [1, 1], [0, 0], [1, 0]]
    expected = independence_fit(np.array(rows))
    np.testing.assert_allclose(independence_fit(rows), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(independence_fit(torch.tensor(rows)), expected, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="non-binary entry 2"):
        independence_fit([[2, 0], [0, 1]])


def test_constructor_event_names_name_the_events_of_a_plain_array():
    from biomodels.ctmc import CTMC

    x = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    # the names were dropped: the events became E0, E1 and order_probability("TP53", ...) failed
    model = CTMC(event_names=["TP53", "IDH1"]).fit(x, l1=0.1)
    assert model.event_names == ["TP53", "IDH1"]
    assert 0.0 < model.order_probability("TP53", "IDH1") < 1.0
    with pytest.raises(ValueError, match="do not match the event_names"):
        CTMC(event_names=["TP53", "IDH1"]).fit(pd.DataFrame(x, columns=["A", "B"]), l1=0.1)
    with pytest.raises(ValueError, match="event_names has 2 entries but X has 3 columns"):
        CTMC(event_names=["TP53", "IDH1"]).fit(np.zeros((3, 3)), l1=0.1)
    with pytest.raises(ValueError, match="duplicates"):
        CTMC(event_names=["TP53", "TP53"])
    # a refit of the same events keeps their names: running the fit cell twice renamed
    # them E0, E1, and order_probability("TP53", ...) failed
    model.fit(x, l1=0.1)
    assert model.event_names == ["TP53", "IDH1"]
    assert 0.0 < model.order_probability("TP53", "IDH1") < 1.0
    # a refit is not held to the first fit's names
    model.fit(np.eye(3), l1=0.1)
    assert model.event_names == ["E0", "E1", "E2"]


def test_complex_theta_is_refused():
    import torch

    from biomodels.ctmc import statespace_log_likelihood

    # the cast to float dropped the imaginary part (1j read as 0) with a warning at most
    x = np.eye(2)
    with pytest.raises(TypeError, match="theta must be real"):
        statespace_log_likelihood(np.full((2, 2), 1j), x)
    with pytest.raises(TypeError, match="theta must be real"):
        statespace_log_likelihood(torch.full((2, 2), 1j), x)


def test_proposal_stays_finite_for_effects_beyond_the_float32_range():
    import torch

    from biomodels.ctmc import importance_log_likelihood, propose_orders, subset_log_likelihood

    theta = torch.zeros(3, 3, dtype=torch.float64)
    theta[1, 0], theta[2, 1] = 95.0, -95.0  # expm1(95) overflows float32: every log q was NaN
    events = torch.tensor([[0, 1, 2]])
    orders, log_q = propose_orders(theta, events, 4000, generator=torch.Generator().manual_seed(0))
    assert bool(torch.isfinite(log_q).all())
    q = {tuple(o): float(lq) for o, lq in zip(orders[0].tolist(), log_q[0])}
    assert 0.99 < sum(np.exp(list(q.values()))) <= 1.0 + 1e-9  # the orders drawn carry q
    est = importance_log_likelihood(theta, events, n_proposals=4000,
                                    generator=torch.Generator().manual_seed(1))
    exact = subset_log_likelihood(theta, np.ones((1, 3)))
    assert abs(float(est[0] - exact[0])) < 0.05


def test_posterior_of_a_single_event_runs_and_matches_quadrature():
    from scipy.stats import norm

    from biomodels.ctmc import posterior_theta

    # no interactions: the empty "effects" site crashed NUTS ("cannot reshape tensor of 0
    # elements"), so posterior_theta(x) failed for one event under method="auto"
    x = np.array([[1]] * 30 + [[0]] * 70)
    with warnings.catch_warnings():  # 150 draws, ~50 effective: near the warning's floor
        warnings.simplefilter("ignore", UserWarning)
        draws = posterior_theta(x, num_samples=150, warmup_steps=50, seed=0)
    assert draws.shape == (150, 1, 1) and np.isfinite(draws).all()
    grid = np.linspace(-6.0, 4.0, 20001)  # prior N(logit 0.3, 3) x Bernoulli(e^t / (1 + e^t))
    log_post = norm.logpdf(grid, np.log(0.3 / 0.7), 3.0) + 30 * grid - 100 * np.logaddexp(0, grid)
    w = np.exp(log_post - log_post.max())
    assert abs(draws.mean() - (w * grid).sum() / w.sum()) < 0.1


def test_svi_posterior_of_a_single_event():
    from biomodels.ctmc import posterior_theta

    x = np.array([[1]] * 30 + [[0]] * 70)
    svi = posterior_theta(x, method="svi", svi_steps=20, num_samples=20, seed=0)
    assert svi.shape == (20, 1, 1) and np.isfinite(svi).all()


def test_strongest_effects_refuses_a_negative_count():
    from biomodels.ctmc import CTMC

    model = CTMC(np.array([[0.0, 1.0, -2.0], [0.5, 0.0, 0.0], [0.0, 3.0, 0.0]]), list("ABC"))
    # head(-1) returned every effect but the weakest
    with pytest.raises(ValueError, match="k"):
        model.strongest_effects(-1)
    assert model.strongest_effects(2)["theta"].tolist() == [3.0, -2.0]


def test_mcmc_threshold_cannot_send_huge_tumours_to_the_exact_lattice():
    # a tumour of 26 events below mcmc_threshold=27 got the exact lattice: a 14 GB allocation
    x = np.zeros((4, 27), dtype=np.uint8)
    x[0, :26] = 1
    x[1, :3] = 1
    with pytest.raises(ValueError, match="mcmc_threshold=27.*26 events"):
        fit_theta(x, l1=0.01, method="mcmc", mcmc_threshold=27, max_steps=1)


def test_data_log_likelihood_bounds_its_exact_threshold_and_returns_float64():
    # is_threshold above 25 sent a 26-event tumour to the exact lattice (14 GB), like
    # fit_theta's mcmc_threshold; a float32 theta on n <= 12 events returned float32
    import torch

    from biomodels.ctmc.fit import data_log_likelihood

    x = np.zeros((2, 27), dtype=np.uint8)
    x[0, :26] = 1
    theta = torch.zeros(27, 27, dtype=torch.float64)
    with pytest.raises(ValueError, match="is_threshold must be at most 25"):
        data_log_likelihood(theta, x, is_threshold=26)
    with pytest.raises(TypeError, match="is_threshold"):
        data_log_likelihood(theta, x, is_threshold=16.5)
    small = np.array([[1, 0, 1], [0, 0, 0]], dtype=np.uint8)
    ll = data_log_likelihood(torch.zeros(3, 3, dtype=torch.float32), small)
    assert ll.dtype == np.float64
    # theta = 0: every event at rate 1, observed at T ~ Exp(1); P(no event) = 1 / (1 + 3)
    assert ll[1] == pytest.approx(np.log(0.25), rel=1e-6)


@pytest.mark.parametrize(("call", "match"), [
    (lambda x: fit_theta(x, l1=0.01, max_steps=20.0), "max_steps"),
    (lambda x: fit_theta(x, l1=0.01, max_steps=True), "max_steps"),
    (lambda x: fit_theta(x, l1=0.01, tol="1e-4"), "tol"),
    (lambda x: fit_theta(x, l1=0.01, method="mcmc", mcmc_threshold=2, n_samples=10.0),
     "n_samples"),
    (lambda x: fit_theta(x, l1=0.01, method="mcmc", mcmc_threshold=2.0), "mcmc_threshold"),
    (lambda x: fit_theta(x, l1=0.01, sparsity="ham", ham_alpha="2"), "ham_alpha"),
    (lambda x: random_sparse_theta(4.0), "n"),
    (lambda x: random_sparse_theta(True), "n"),
    (lambda x: random_sparse_theta(4, sparsity="0.5"), "sparsity"),
    (lambda x: default_l1_grid(100, steps=True), "steps"),
    (lambda x: top_orders(np.zeros((3, 3)), [0, 1], k=1.0), "k"),
])
def test_counts_and_numbers_given_as_floats_text_or_bools_are_refused_by_name(call, match):
    # before: max_steps=20.0, n_samples=10.0 and k=1.0 failed deep ("'float' object cannot
    # be interpreted as an integer", "slice indices must be integers"), tol="1e-4" and
    # ham_alpha="2" on "can't multiply sequence", random_sparse_theta(4.0) in numpy;
    # max_steps=True ran one step and steps=True gave a grid of one strength
    x = sample_trajectories(random_sparse_theta(3, seed=0), 30, seed=1).X
    with pytest.raises(TypeError, match=f"{match}: expected"):
        call(x)


@pytest.mark.parametrize("kwargs", [dict(svi_steps=3.0), dict(num_samples=2.0),
                                    dict(lr="0.1"), dict(warmup_steps=True)])
def test_posterior_settings_are_checked_before_pyro_runs(kwargs):
    from biomodels.ctmc import posterior_theta

    x = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    # before: svi_steps=3.0 and lr="0.1" failed inside pyro, naming neither
    with pytest.raises(TypeError, match=f"{next(iter(kwargs))}: expected"):
        posterior_theta(x, method="svi", **{"svi_steps": 3, "num_samples": 2, **kwargs})


def test_numpy_settings_fit_as_the_python_numbers_they_hold():
    x = sample_trajectories(random_sparse_theta(3, seed=0), 60, seed=1).X
    ref = fit_theta(x, l1=0.01, max_steps=15, tol=1e-4)
    got = fit_theta(x, l1=np.float64(0.01), max_steps=np.int64(15), tol=np.float64(1e-4))
    np.testing.assert_array_equal(got.theta, ref.theta)
    assert got.n_steps == ref.n_steps
    np.testing.assert_array_equal(random_sparse_theta(np.int64(4), sparsity=np.float32(0.5),
                                                      seed=np.int64(3)),
                                  random_sparse_theta(4, sparsity=0.5, seed=3))


def test_event_names_are_text_whatever_container_or_type_they_come_in(tmp_path):
    import anndata as ad

    from biomodels.ctmc import CTMC

    theta = random_sparse_theta(3, seed=0)
    x = sample_trajectories(theta, 20, seed=1).X
    # integers stayed integers in a plain array's names but became text in a DataFrame's
    # columns, so write_results refused the AnnData's var_names "0", "1", "2"
    assert validate_cohort(x, np.arange(3))[1] == validate_cohort(pd.DataFrame(x))[1] \
        == ["0", "1", "2"]
    for names in (np.array(["A", "B", "C"]), pd.Index(["A", "B", "C"]), ("A", "B", "C")):
        got = CTMC(theta, names).event_names
        assert got == ["A", "B", "C"] and all(type(v) is str for v in got)
    model = CTMC(theta, np.arange(3))
    cohort = ad.AnnData(x.astype(np.float32), var=pd.DataFrame(index=["0", "1", "2"]))
    model.write_results(cohort)
    np.testing.assert_array_equal(cohort.varp["ctmc"], theta)
    assert model.order_probability("0", "1") == model.order_probability(0, 1)
    # a single string was split into its letters: "TP53" named four events T, P, 5, 3
    with pytest.raises(TypeError, match="event_names: expected one name per event"):
        CTMC(random_sparse_theta(4, seed=0), "TP53")
    with pytest.raises(TypeError, match="event_names: expected one name per event"):
        validate_cohort(np.zeros((2, 4)), "TP53")


def test_a_theta_of_object_dtype_is_read_as_its_numbers():
    from biomodels.ctmc import CTMC

    theta = random_sparse_theta(3, seed=0)
    # a mixed DataFrame's .values: "can't convert np.ndarray of type numpy.object_"
    np.testing.assert_array_equal(CTMC(theta.astype(object)).theta, theta)
    assert order_probability(theta.astype(object), 0, 1) == order_probability(theta, 0, 1)
    with pytest.raises(TypeError, match="theta must be real"):
        CTMC(np.array([["a", 1.0], [0.0, 1.0]], dtype=object))


def test_cohort_frames_with_the_model_events_in_another_order_are_matched_by_name():
    import anndata as ad

    from biomodels.ctmc import CTMC, random_sparse_theta

    names = ["TP53", "IDH1", "EGFR"]
    model = CTMC(random_sparse_theta(3, seed=0), names)
    x = model.sample(30, seed=1).X
    frame = pd.DataFrame(x, columns=names)
    swapped = frame[["EGFR", "TP53", "IDH1"]]
    # refused with "X's events ... do not match the model's events", while plot_theta and
    # theta_frame matched events by name
    expected = model.log_likelihood(x)
    np.testing.assert_array_equal(model.log_likelihood(swapped), expected)
    np.testing.assert_array_equal(model.log_likelihood(ad.AnnData(
        swapped.to_numpy(np.float32), var=pd.DataFrame(index=swapped.columns))), expected)
    np.testing.assert_array_equal(model.independence_log_likelihood(swapped, train=frame),
                                  model.independence_log_likelihood(x))
    # write_results writes theta in the AnnData's var_names order
    cohort = ad.AnnData(swapped.to_numpy(np.float32), var=pd.DataFrame(index=swapped.columns))
    model.write_results(cohort)
    np.testing.assert_array_equal(cohort.varp["ctmc"],
                                  model.theta_frame().loc[swapped.columns, swapped.columns])
    # names given to CTMC() order a fit on a DataFrame of the same events
    fitted = CTMC(event_names=names).fit(swapped, l1=0.1, max_steps=5)
    np.testing.assert_array_equal(
        fitted.theta, CTMC(event_names=names).fit(frame, l1=0.1, max_steps=5).theta)
    assert fitted.event_names == names
    # a missing or an extra event is still refused by name
    with pytest.raises(ValueError, match=r"do not match the model's events .*missing: "
                                         r"\['IDH1'\], unexpected: \['KRAS'\]"):
        model.log_likelihood(swapped.rename(columns={"IDH1": "KRAS"}))
    with pytest.raises(ValueError, match=r"unexpected: \['KRAS'\]"):
        model.log_likelihood(frame.assign(KRAS=0))


def test_a_cohort_given_as_any_torch_tensor_fits_as_its_array(small_cohort):
    # numpy cannot take a bfloat16 tensor ("Got unsupported ScalarType BFloat16") nor one
    # that requires grad: both failed inside np.asarray
    from biomodels.ctmc import CTMC

    want = CTMC().fit(small_cohort, l1=0.05, max_steps=20).theta
    x = torch.as_tensor(small_cohort)
    for t in (x.bfloat16(), x.half(), x.double().requires_grad_(), x.bool()):
        assert np.array_equal(CTMC().fit(t, l1=0.05, max_steps=20).theta, want)


@pytest.mark.filterwarnings("ignore::biomodels.ctmc.fit.StepLimitWarning")  # capped: fast
def test_tensors_on_the_meta_device_are_refused_by_name():
    # a meta tensor (a shape without values) failed inside torch: "Tensor.item() cannot be
    # called on meta tensors" (theta, a float X) or the NotImplementedError "Cannot copy out
    # of meta tensor; no data!" (an integer X, event indices), naming no argument
    from biomodels.ctmc import (
        CTMC,
        fit_theta,
        independence_theta,
        sequence_log_prob,
        state_distribution,
        statespace_log_likelihood,
        subset_log_likelihood,
    )

    meta = torch.zeros(3, 3, device="meta")
    theta = torch.zeros(3, 3, dtype=torch.float64)
    x = torch.tensor([[1, 0, 1], [0, 0, 0]])
    for call in (lambda: state_distribution(meta), lambda: CTMC(meta),
                 lambda: CTMC(torch.zeros(4, 3, device="meta")),  # an oMHN's theta
                 lambda: statespace_log_likelihood(meta, x)):
        with pytest.raises(ValueError, match=r"^theta: is on the meta device \(a shape "
                                             r"without values\); pass a tensor with data"):
            call()
    # fits, independence_theta (NotImplementedError) and log_likelihood (numpy's TypeError)
    for call in (lambda: statespace_log_likelihood(theta, x.float().to("meta")),
                 lambda: subset_log_likelihood(theta, x.to("meta")),
                 lambda: CTMC(theta).log_likelihood(meta), lambda: CTMC().fit(meta),
                 lambda: fit_theta(meta, l1=0.1), lambda: independence_theta(meta)):
        with pytest.raises(ValueError, match=r"^X: is on the meta device"):
            call()
    fitted = CTMC(theta)
    x4 = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 0], [0, 1, 1]])
    for call, name in ((lambda: sequence_log_prob(theta, meta.long()), "orders"),
                       (lambda: mcmc_gradient(theta, meta.long()), "events"),
                       (lambda: fitted.next_event_probabilities(meta[0]), "state"),
                       # the training cohort, not X (a message named X for it)
                       (lambda: fitted.independence_log_likelihood(x4, train=meta), "train"),
                       # the start: numpy's TypeError, or with l1=None (cross-validation)
                       # its fingerprint's NotImplementedError
                       (lambda: CTMC().fit(x4, l1=0.05, theta0=meta.double()), "theta0"),
                       (lambda: CTMC().fit(x4, folds=2, l1_grid=[0.05], theta0=meta.double()),
                        "theta0")):
        with pytest.raises(ValueError, match=rf"^{name}: is on the meta device"):
            call()
    # valid input is untouched: theta = 0 (all rates 1, observed at rate 1) gives
    # p(empty) = 1 / (1 + 3), each of the 6 states of one or two events 1 / 12, p(all) = 1 / 4
    want = torch.tensor([1 / 4] + [1 / 12] * 6 + [1 / 4], dtype=torch.float64)
    torch.testing.assert_close(state_distribution(theta), want)
    # a fit's device: torch's "Expected one of cpu, cuda, ..." and "META device type not an
    # accelerator" named no argument
    for device, said in (("gpu", "expected a torch device"), ("meta", "the meta device")):
        with pytest.raises(ValueError, match=rf"^device: {said}"):
            CTMC().fit(x4, l1=0.05, device=device, max_steps=3)
    # a start that requires grad is read as its values (numpy refused it), as y0 elsewhere
    start = torch.zeros(3, 3, dtype=torch.float64, requires_grad=True)
    np.testing.assert_array_equal(
        CTMC().fit(x4, l1=0.05, theta0=start, max_steps=3).theta,
        CTMC().fit(x4, l1=0.05, theta0=np.zeros((3, 3)), max_steps=3).theta)
