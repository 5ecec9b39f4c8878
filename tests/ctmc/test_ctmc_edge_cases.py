"""Boundary inputs of the public CTMC API: exact answers or errors naming the argument."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from biomodels.ctmc import (
    default_l1_grid,
    fit_theta,
    independence_theta,
    mcmc_gradient,
    order_probability,
    select_l1,
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


def test_select_l1_with_an_empty_grid_names_it():
    x = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    with pytest.raises(ValueError, match="grid"):
        select_l1(x, [], folds=2)


def test_fit_theta_with_an_integer_dtype_names_it():
    x = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    with pytest.raises(ValueError, match="dtype"):
        fit_theta(x, l1=0.1, dtype=torch.int64)


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
    with pytest.raises(ValueError, match="var_names must be the model's events in order"):
        model.write_results(cohort[:, ::-1].copy())
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
