"""Metropolis-Hastings over orderings (Gotovos et al. 2021) against the exact gradient."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from biomodels.ctmc import (
    block_theta,
    importance_log_likelihood,
    mcmc_surrogate,
    metropolis_weights,
    propose_orders,
    sequence_log_prob,
    subset_log_likelihood,
)


def _sparse_theta(n, gen):
    theta = torch.randn(n, n, generator=gen, dtype=torch.float64) * 0.7
    theta = theta * (torch.rand(n, n, generator=gen) < 0.2)
    theta.diagonal().copy_(
        torch.log(torch.rand(n, generator=gen, dtype=torch.float64) * 0.3 + 0.02)
    )
    return theta


def _mcmc_gradients(theta, events, replicates, batches, gen, n_samples=50):
    grads = []
    per = replicates // batches
    for _ in range(batches):
        sur, _ = mcmc_surrogate(
            theta, events[None].expand(per, -1), n_samples=n_samples, generator=gen
        )
        grads.append(torch.autograd.grad(sur.mean(), theta)[0])
    return torch.stack(grads)


@pytest.mark.parametrize("k", [8, 10, 12])
def test_mcmc_gradient_within_monte_carlo_error(k):
    gen = torch.Generator().manual_seed(k)
    n = 30
    theta = _sparse_theta(n, gen).requires_grad_(True)
    events = torch.randperm(n, generator=gen)[:k].sort().values
    x = torch.zeros(1, n)
    x[0, events] = 1
    (exact,) = torch.autograd.grad(subset_log_likelihood(theta, x).sum(), theta)
    batches, replicates = 10, 200
    g = _mcmc_gradients(theta, events, replicates, batches, gen)
    mean = g.mean(0)
    single_chain_sd = g.std(0) * math.sqrt(replicates / batches)  # sd of ONE 50-sample chain
    # the estimator the fit uses (one 50-sample chain after 5 burn-in steps) is off by its
    # Monte Carlo error, not by bias: the bias of the short chain (visible only when averaging
    # hundreds of chains; it shrinks with chain length, see the next test) is a small fraction
    # of one chain's spread
    bias = (mean - exact).norm()
    assert bias < 0.3 * single_chain_sd.norm()
    # and one chain's estimate is within a few standard deviations of the exact gradient
    single = _mcmc_gradients(theta, events, 1, 1, gen)[0]
    z = ((single - exact) / single_chain_sd.clamp_min(1e-12))[single_chain_sd > 1e-8]
    assert float(z.pow(2).mean().sqrt()) < 2.0


def test_longer_chains_reduce_bias_on_block_theta():
    theta_np, _ = block_theta(25, blocks="synth5", seed=3)
    theta = torch.as_tensor(theta_np).requires_grad_(True)
    gen = torch.Generator().manual_seed(0)
    events = torch.tensor([0, 1, 2, 4, 7, 11, 15, 19, 23, 28])
    x = torch.zeros(1, 30)
    x[0, events] = 1
    (exact,) = torch.autograd.grad(subset_log_likelihood(theta, x).sum(), theta)
    short = _mcmc_gradients(theta, events, 100, 5, gen, n_samples=50).mean(0)
    long = _mcmc_gradients(theta, events, 100, 5, gen, n_samples=600).mean(0)
    assert (long - exact).norm() < 0.6 * (short - exact).norm()
    assert (long - exact).norm() < 0.1 * exact.norm()


def test_proposal_log_probabilities_are_normalised():
    gen = torch.Generator().manual_seed(0)
    theta = _sparse_theta(6, gen)
    events = torch.tensor([[0, 2, 3, 5]])
    orders, log_q = propose_orders(theta, events, 4000, generator=gen)
    # every ordering's q is a product of normalised softmax steps: sum of q over all 24 orders = 1
    import itertools

    uniq = {}
    for o, lq in zip(orders[0].tolist(), log_q[0].tolist()):
        uniq[tuple(o)] = lq
    assert len(uniq) == 24
    total = sum(math.exp(v) for v in uniq.values())
    assert total == pytest.approx(1.0, abs=1e-5)
    perms = set(itertools.permutations([0, 2, 3, 5]))
    assert set(uniq) == perms


def test_proposals_stay_orderings_when_rates_pass_the_float_range():
    # once the rates passed e^88 (float32 proposal) the exit floor e^-shift underflowed to
    # 0: NaN log q for 80 of 80 proposals, orders repeating events, a NaN estimate
    theta = torch.full((8, 8), 15.0, dtype=torch.float64)
    theta.fill_diagonal_(0.0)
    events = torch.arange(8)[None]
    gen = torch.Generator().manual_seed(0)
    orders, log_q = propose_orders(theta, events, 80, generator=gen)
    assert bool(torch.isfinite(log_q).all())
    assert all(sorted(o) == list(range(8)) for o in orders[0].tolist())
    exact = float(subset_log_likelihood(theta, torch.ones(1, 8)))
    est = float(importance_log_likelihood(theta, events, n_proposals=200, generator=gen))
    assert abs(est - exact) < 0.01


@pytest.mark.parametrize("effect", [800.0, 1e4])
def test_proposals_stay_orderings_when_rates_pass_the_float64_range(effect):
    # beyond e^709 the float64 proposal overflowed too (expm1(800) = inf, 0 * inf = NaN):
    # NaN log q, orders repeating events, a NaN likelihood and a gradient from invalid orders
    theta = torch.full((8, 8), effect, dtype=torch.float64)
    theta.fill_diagonal_(0.0)
    events = torch.arange(6)[None]
    gen = torch.Generator().manual_seed(0)
    orders, log_q = propose_orders(theta, events, 40, generator=gen)
    assert bool(torch.isfinite(log_q).all())
    assert all(sorted(o) == list(range(6)) for o in orders[0].tolist())
    # every ordering is equally likely here, so the estimate is exact up to rounding
    x = torch.zeros(1, 8)
    x[0, :6] = 1
    exact = float(subset_log_likelihood(theta, x))
    est = float(importance_log_likelihood(theta, events, n_proposals=200, generator=gen))
    assert est == pytest.approx(exact, rel=1e-9)
    # an event outside the tumour with a base rate beyond float64 (e^800)
    theta = torch.diag(torch.tensor([800.0, 0.0, 0.0, -800.0], dtype=torch.float64))
    orders, log_q = propose_orders(theta, torch.tensor([[1, 2]]), 10, generator=gen)
    assert bool(torch.isfinite(log_q).all())
    assert all(sorted(o) == [1, 2] for o in orders[0].tolist())


@pytest.mark.parametrize("generator", [0, np.random.default_rng(0)])
def test_a_generator_that_is_not_a_torch_generator_is_refused_by_name(generator):
    # before: torch.rand's "received an invalid combination of arguments" for a seed
    theta = torch.zeros(4, 4, dtype=torch.float64)
    events = torch.tensor([[0, 1, 2]])
    with pytest.raises(TypeError, match="^generator: expected a torch.Generator"):
        importance_log_likelihood(theta, events, n_proposals=10, generator=generator)
    with pytest.raises(TypeError, match="^generator: expected a torch.Generator"):
        metropolis_weights(torch.zeros(1, 56), torch.zeros(1, 56), generator=generator)


def test_metropolis_with_exact_proposal_accepts_everything():
    log_p = torch.randn(3, 56, dtype=torch.float64)
    w = metropolis_weights(log_p, log_p.clone(), generator=torch.Generator().manual_seed(0))
    assert torch.allclose(w.sum(-1), torch.ones(3, dtype=torch.float64))
    assert torch.allclose(w[:, 6:], torch.full((3, 50), 1 / 50, dtype=torch.float64))
    with pytest.raises(ValueError, match="proposals"):
        metropolis_weights(log_p[:, :10], log_p[:, :10])


def test_mcmc_chain_does_not_depend_on_the_dtype_of_theta():
    # the acceptance uniforms were drawn in log_p's dtype: a float32 theta drew other numbers
    # from the same generator than a float64 one, so the chains differed (gradients apart by
    # 0.089 of 1.31 in the audit) while every other ctmc result agrees to ~1e-5
    from biomodels.ctmc import mcmc_gradient

    gen = torch.Generator().manual_seed(1)
    theta = torch.randn(20, 20, generator=gen, dtype=torch.float64) * 0.5
    theta.diagonal().sub_(1.5)
    events = torch.stack([torch.randperm(20, generator=gen)[:10] for _ in range(8)])
    for seed in range(3):
        g64, is64 = mcmc_gradient(theta, events, generator=torch.Generator().manual_seed(seed))
        g32, is32 = mcmc_gradient(theta.float(), events,
                                  generator=torch.Generator().manual_seed(seed))
        assert g32.dtype == torch.float32 and g64.dtype == torch.float64
        assert float((g32.double() - g64).abs().max()) < 1e-5 * float(g64.abs().max())
        assert torch.allclose(is32.double(), is64, rtol=1e-6)
    # the same log-probabilities in either precision give the same weights, in that precision
    log_p, log_q = torch.randn(2, 4, 56, generator=gen).unbind(0)
    w32 = metropolis_weights(log_p, log_q, generator=torch.Generator().manual_seed(3))
    w64 = metropolis_weights(log_p.double(), log_q.double(),
                             generator=torch.Generator().manual_seed(3))
    assert w32.dtype == torch.float32
    assert torch.equal((w32.double() * 50).round(), (w64 * 50).round())  # steps per proposal


def test_importance_estimate_of_log_likelihood():
    gen = torch.Generator().manual_seed(2)
    theta = _sparse_theta(20, gen)
    events = torch.tensor([[1, 3, 4, 8, 9, 13, 17, 18, 19]])
    x = torch.zeros(1, 20)
    x[0, events[0]] = 1
    exact = float(subset_log_likelihood(theta, x))
    est = float(importance_log_likelihood(theta, events, n_proposals=3000, generator=gen))
    assert abs(est - exact) < 0.05
    assert np.isfinite(float(sequence_log_prob(theta, events[0])))


def test_closed_form_mcmc_gradient_equals_autograd_of_surrogate():
    from biomodels.ctmc import mcmc_gradient

    gen = torch.Generator().manual_seed(0)
    theta = torch.randn(30, 30, generator=gen, dtype=torch.float64) * 0.5
    events = torch.stack([torch.randperm(30, generator=gen)[:9].sort().values for _ in range(4)])
    leaf = theta.clone().requires_grad_(True)
    sur, log_is = mcmc_surrogate(leaf, events, generator=torch.Generator().manual_seed(5))
    (auto,) = torch.autograd.grad(sur.sum(), leaf)
    fast, log_is2 = mcmc_gradient(
        theta, events, generator=torch.Generator().manual_seed(5), compute_dtype=torch.float64
    )
    assert torch.allclose(auto, fast, atol=1e-10)
    assert torch.allclose(log_is, log_is2, atol=1e-10)
    fast32, _ = mcmc_gradient(theta, events, generator=torch.Generator().manual_seed(5))
    assert fast32.dtype == torch.float64 and torch.allclose(auto, fast32, atol=1e-4)


def test_sequence_log_prob_refuses_non_integer_orders():
    theta = torch.zeros(4, 4, dtype=torch.float64)
    # a float ordering was truncated to event indices ([0.9, 2.7] -> [0, 2])
    with pytest.raises(TypeError, match="orders must hold integer event indices"):
        sequence_log_prob(theta, torch.tensor([0.9, 2.7]))
    with pytest.raises(TypeError, match="integer"):
        sequence_log_prob(theta, torch.tensor([True, False]))
    assert torch.isfinite(sequence_log_prob(theta, np.array([3, 0])))


def test_sampler_events_must_be_distinct_integer_indices():
    from biomodels.ctmc import mcmc_gradient

    theta = torch.zeros(4, 4, dtype=torch.float64)
    events = torch.tensor([[0, 1, 3]])
    # duplicates were accepted, and a negative index failed deep inside one_hot
    calls = (
        lambda ev: importance_log_likelihood(theta, ev, n_proposals=50),
        lambda ev: mcmc_gradient(theta, ev),
        lambda ev: mcmc_surrogate(theta, ev),
        lambda ev: propose_orders(theta, ev, 5),
    )
    for call in calls:
        with pytest.raises(ValueError, match="must not repeat an event"):
            call(torch.tensor([[2, 2]]))
        with pytest.raises(ValueError, match=r"events must hold event indices in \[0, 4\)"):
            call(torch.tensor([[0, -1]]))
        with pytest.raises(ValueError, match=r"in \[0, 4\)"):
            call(torch.tensor([[0, 4]]))
        with pytest.raises(TypeError, match="events must hold integer"):
            call(torch.tensor([[0.0, 1.0]]))
        call(events)  # valid input still runs


def test_chain_lengths_must_be_positive_integers():
    from biomodels.ctmc import mcmc_gradient

    theta = torch.zeros(4, 4, dtype=torch.float64)
    events = torch.tensor([[0, 1, 3]])
    # n_samples = 0 gave NaN weights and gradients
    with pytest.raises(ValueError, match="n_samples: expected an integer >= 1, got 0"):
        mcmc_gradient(theta, events, n_samples=0)
    with pytest.raises(ValueError, match="n_samples"):
        mcmc_surrogate(theta, events, n_samples=0)
    with pytest.raises(ValueError, match="burn_in"):
        mcmc_gradient(theta, events, burn_in=-1)
    with pytest.raises(ValueError, match="n_proposals"):
        importance_log_likelihood(theta, events, n_proposals=0)
    log_p = torch.zeros(2, 6, dtype=torch.float64)
    with pytest.raises(ValueError, match="n_samples: expected an integer >= 1"):
        metropolis_weights(log_p, log_p, n_samples=0, burn_in=5)
    with pytest.raises(ValueError, match="log_q"):
        metropolis_weights(log_p, log_p[:1], n_samples=1, burn_in=4)


def test_tempering_must_be_finite_and_non_negative():
    theta = torch.zeros(4, 4, dtype=torch.float64)
    events = torch.tensor([[0, 1, 3]])
    # a NaN score made the proposal pick an already placed event again;
    # the documented range of tempering is [0, inf): 0 = uniform shuffles, 1 = greedy
    for bad in (math.nan, math.inf, -0.5):
        with pytest.raises(ValueError, match="tempering"):
            propose_orders(theta, events, 5, tempering=bad)
    orders, log_q = propose_orders(theta, events, 200, tempering=0.0)
    assert torch.allclose(log_q, torch.full_like(log_q, -math.log(6)))
    assert (orders.sort(-1).values == events).all()


def test_data_log_likelihood_importance_samples_only_large_tumours():
    # n = 20 > 12: tumours with more than 16 events get the importance-sampling estimate,
    # the others the exact lattice; every row must match the exact likelihood (max_events=20)
    # in its own place. Spread of the estimate at 5000 proposals over seeds: sd <= 0.07.
    from biomodels.ctmc import data_log_likelihood

    theta = _sparse_theta(20, torch.Generator().manual_seed(2))
    rng = np.random.default_rng(0)
    sizes = [3, 17, 5, 18, 17, 2]
    x = np.zeros((len(sizes), 20), dtype=np.uint8)
    for row, k in enumerate(sizes):
        x[row, rng.choice(20, k, replace=False)] = 1
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the 2^18 lattice ran 10x slower on two busy shared cores
    try:
        exact = subset_log_likelihood(theta, x, max_events=20).numpy()
        est = data_log_likelihood(theta, x, n_proposals=5000, seed=0)
    finally:
        torch.set_num_threads(threads)
    large = np.asarray(sizes) > 16
    # the large rows differ by more than the tolerance: a row put in another's place shows
    assert np.abs(np.subtract.outer(exact[large], exact[large])).max() > 1.0
    np.testing.assert_allclose(est[~large], exact[~large], rtol=0, atol=1e-10)
    np.testing.assert_allclose(est[large], exact[large], rtol=0, atol=0.3)
    assert not np.array_equal(est[large], exact[large])  # the estimate, not the exact value


def test_importance_sampled_likelihood_of_a_tumour_does_not_depend_on_the_others():
    # one random stream ran through the cohort: a tumour's estimate changed with the row
    # order and with the other tumours in the call (up to 3.8 nats at 17-20 of 20 events),
    # and two copies of one tumour got different values
    from biomodels.ctmc import data_log_likelihood

    theta = _sparse_theta(13, torch.Generator().manual_seed(2))
    rng = np.random.default_rng(0)
    x = np.zeros((6, 13), dtype=np.uint8)
    for row, k in enumerate([5, 7, 2, 6, 5, 8]):
        x[row, rng.choice(13, k, replace=False)] = 1
    x = np.vstack([x, x[1]])  # a copy of the 7-event tumour
    kw = dict(is_threshold=4, n_proposals=50, seed=3)
    est = data_log_likelihood(theta, x, **kw)
    assert est[1] == est[-1]
    np.testing.assert_array_equal(data_log_likelihood(theta, x[::-1], **kw)[::-1], est)
    alone = [data_log_likelihood(theta, x[i:i + 1], **kw)[0] for i in range(len(x))]
    np.testing.assert_array_equal(alone, est)
    exact = subset_log_likelihood(theta, x, max_events=13).numpy()
    np.testing.assert_allclose(est[2], exact[2], rtol=0, atol=1e-10)  # 2 events: exact
    np.testing.assert_allclose(est, exact, rtol=0, atol=1.0)


def test_data_log_likelihood_is_exact_for_tumours_of_exactly_is_threshold_events():
    # "exact up to is_threshold events": a tumour with exactly that many must get the exact
    # lattice value, not the importance-sampled estimate (n = 13 > 12 skips the state space)
    from biomodels.ctmc import data_log_likelihood

    theta = _sparse_theta(13, torch.Generator().manual_seed(4))
    x = np.zeros((2, 13), dtype=np.uint8)
    x[0, [1, 4, 7, 9]] = 1  # 4 events = is_threshold
    x[1, [0, 2, 3, 5, 8]] = 1  # 5 events: sampled
    exact = subset_log_likelihood(theta, x).numpy()
    est = data_log_likelihood(theta, x, is_threshold=4, n_proposals=20, seed=0)
    assert est[0] == pytest.approx(exact[0], abs=1e-10)
    assert est[1] != exact[1]  # the estimate, not the exact value
