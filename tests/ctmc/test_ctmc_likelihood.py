"""Exact likelihoods: state space and subset DP against brute force over orderings."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from biomodels.ctmc import (
    bruteforce_log_likelihood,
    sequence_log_prob,
    state_distribution,
    state_index,
    statespace_log_likelihood,
    subset_log_likelihood,
)


def _random_theta(n, gen, scale=1.5):
    return torch.randn(n, n, generator=gen, dtype=torch.float64) * scale


@pytest.mark.parametrize("n", [1, 2, 4, 7])
def test_three_likelihoods_agree_with_bruteforce(n, torch_gen):
    theta = _random_theta(n, torch_gen)
    states = torch.tensor(list(itertools.product([0, 1], repeat=n)), dtype=torch.int64)
    brute = torch.stack([bruteforce_log_likelihood(theta, x) for x in states])
    full = statespace_log_likelihood(theta, states)
    sub = subset_log_likelihood(theta, states)
    assert torch.allclose(full, brute, atol=1e-10, rtol=0)
    assert torch.allclose(sub, brute, atol=1e-10, rtol=0)


@pytest.mark.parametrize("n", [3, 6, 9])
def test_distribution_sums_to_one(n, torch_gen):
    p = state_distribution(_random_theta(n, torch_gen))
    assert p.shape == (2**n,)
    assert (p > 0).all()
    assert abs(float(p.sum()) - 1.0) < 1e-12


def test_large_lattice_path_matches_bruteforce(torch_gen):
    # n = 17 builds its level indices per call (not cached); compare states with brute force
    theta = _random_theta(17, torch_gen, scale=0.5)
    x = torch.zeros(4, 17, dtype=torch.int64)
    x[0, [0, 5, 16]] = 1
    x[1, [1, 2, 3, 4, 7]] = 1
    x[3, [6]] = 1
    brute = torch.stack([bruteforce_log_likelihood(theta, row) for row in x])
    assert torch.allclose(statespace_log_likelihood(theta, x), brute, atol=1e-10, rtol=0)


def test_subset_tables_of_many_events_are_not_kept(torch_gen):
    # every (2^k, k) table was cached: tumours with 18-20 events kept 570 MB alive for the
    # rest of the process. Beyond 16 events they are built per call, and still right.
    from biomodels.ctmc.likelihood_subsets import _cached_bits

    theta = _random_theta(17, torch_gen, scale=0.5)
    x = torch.ones(2, 17, dtype=torch.int64)
    x[0, 3] = 0  # 16 events: cached; 17: not
    _cached_bits.cache_clear()
    got = subset_log_likelihood(theta, x)
    assert _cached_bits.cache_info().currsize == 1
    assert torch.allclose(got, statespace_log_likelihood(theta, x), atol=1e-9, rtol=0)


def test_subset_tables_beyond_the_cache_are_built_once_per_lattice_size(torch_gen,
                                                                      large_table_builds):
    # tumours of 17-25 events are solved one chunk (one tumour) at a time, and each chunk
    # rebuilt the lattice's index and membership tables: 12 tumours of 18 events took 3.6 s
    # instead of 2.0 s. One build per lattice size and call now, the values unchanged.
    theta = _random_theta(18, torch_gen, scale=0.3)
    x = torch.ones(3, 18, dtype=torch.int64)
    x[0, 0] = x[1, 5] = x[2, 17] = 0  # three tumours of 17 events
    got = subset_log_likelihood(theta, x)
    assert large_table_builds == {"levels": 1, "bits": 1}
    alone = torch.cat([subset_log_likelihood(theta, x[i : i + 1]) for i in range(3)])
    assert torch.equal(got, alone)


def test_gradients_match_finite_differences(torch_gen):
    n = 5
    theta = _random_theta(n, torch_gen).requires_grad_(True)
    x = torch.randint(0, 2, (12, n), generator=torch_gen)
    assert torch.autograd.gradcheck(lambda t: statespace_log_likelihood(t, x).sum(), (theta,))
    assert torch.autograd.gradcheck(lambda t: subset_log_likelihood(t, x).sum(), (theta,))
    assert torch.autograd.gradcheck(lambda t: state_distribution(t)[[3, 17, 31]], (theta,))


def test_second_derivatives_of_the_exact_likelihoods_are_refused(torch_gen):
    # the adjoint solve is differentiable once, but create_graph=True went through it
    # without a word and dropped its curvature: the Hessian of the full state-space
    # likelihood came out 0.39 off where its entries reach 0.85
    theta = _random_theta(4, torch_gen)
    x = torch.tensor([[1, 0, 1, 0], [1, 1, 1, 1], [0, 0, 0, 0]])
    for f in (statespace_log_likelihood, subset_log_likelihood):
        with pytest.raises(RuntimeError, match="second derivatives .* bruteforce"):
            torch.autograd.functional.hessian(lambda t, f=f: f(t, x).sum(), theta)
        t = theta.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(f(t, x).sum(), t)  # first derivatives as before
        (ref,) = torch.autograd.grad(
            sum(bruteforce_log_likelihood(t, row) for row in x), t)
        assert torch.allclose(g, ref, atol=1e-10)
    # the reference the message points to has exact second derivatives
    h = torch.autograd.functional.hessian(
        lambda t: sum(bruteforce_log_likelihood(t, row) for row in x), theta)
    assert h.shape == (4, 4, 4, 4) and torch.allclose(h.reshape(16, 16), h.reshape(16, 16).T)


def test_subset_gradient_equals_statespace_gradient(torch_gen):
    n = 7
    theta = _random_theta(n, torch_gen).requires_grad_(True)
    x = torch.randint(0, 2, (40, n), generator=torch_gen)
    (g1,) = torch.autograd.grad(statespace_log_likelihood(theta, x).sum(), theta)
    (g2,) = torch.autograd.grad(subset_log_likelihood(theta, x).sum(), theta)
    assert torch.allclose(g1, g2, atol=1e-10)



def test_a_read_out_inside_inference_mode_leaves_later_gradients_working(torch_gen):
    # the lattice tables are cached for the session: built by a first likelihood inside the
    # caller's torch.inference_mode(), they were inference tensors, and every later fit or
    # gradient failed with "Inference tensors cannot be saved for backward"
    from biomodels.ctmc._solve import _cached_levels
    from biomodels.ctmc.likelihood_subsets import _cached_bits

    theta = _random_theta(4, torch_gen)
    x = torch.tensor([[1, 0, 1, 0], [1, 1, 1, 1], [0, 1, 0, 0]])
    _cached_levels.cache_clear()
    _cached_bits.cache_clear()
    try:
        with torch.inference_mode():
            statespace_log_likelihood(theta, x)
            subset_log_likelihood(theta, x)
            state_distribution(theta)
        t = theta.clone().requires_grad_(True)
        (ref,) = torch.autograd.grad(sum(bruteforce_log_likelihood(t, row) for row in x), t)
        for f in (statespace_log_likelihood, subset_log_likelihood):
            (g,) = torch.autograd.grad(f(t, x).sum(), t)
            assert torch.allclose(g, ref, atol=1e-10)
        state_distribution(t)[5].backward()
        assert t.grad is not None and bool(torch.isfinite(t.grad).all())
    finally:  # no tables of this test's making stay behind
        _cached_levels.cache_clear()
        _cached_bits.cache_clear()

def test_two_event_closed_form_and_row_convention():
    # theta[1, 0] = effect of event 0 on the rate of event 1 (rows are targets)
    theta = torch.tensor([[-0.5, -0.7], [1.5, -1.0]], dtype=torch.float64)
    t0, t1 = np.exp(-0.5), np.exp(-1.0)
    t01, t10 = np.exp(1.5), np.exp(-0.7)  # t01: 0 present acting on 1
    p01 = t0 / (1 + t0 + t1) * t1 * t01 / (1 + t1 * t01)
    p10 = t1 / (1 + t0 + t1) * t0 * t10 / (1 + t0 * t10)
    seq = sequence_log_prob(theta, torch.tensor([[0, 1], [1, 0]]))
    assert np.allclose(np.exp(seq.numpy()), [p01, p10], rtol=1e-12)
    p = state_distribution(theta).numpy()
    assert np.isclose(p[3], p01 + p10, rtol=1e-12)
    assert np.isclose(p[0], 1 / (1 + t0 + t1))
    assert np.isclose(p[1], t0 / (1 + t0 + t1) / (1 + t1 * t01))  # {0} only: bit 0 = event 0


def test_bruteforce_by_hand_on_four_events_and_its_argument_errors():
    # pins bruteforce_log_likelihood's refusals (several tumours, more than 9 events) next
    # to its known answer: Gotovos' eq. 6 written out here over the 3! orders of {0, 1, 3},
    # which the subset DP and the state-space solve must give as well
    theta = torch.tensor([[-0.5, 1.0, 0.0, 0.0], [0.0, -1.0, 0.7, 0.0],
                          [0.3, 0.0, 0.2, -1.5], [0.0, 0.0, 2.0, -2.0]], dtype=torch.float64)
    t = theta.numpy()

    def rate(j, present):
        return math.exp(t[j, j] + sum(t[j, i] for i in present))

    def prob(order):  # each event wins its race against the others and the observation
        p, present = 1.0, []
        for e in order:
            p *= rate(e, present) / (1 + sum(rate(j, present) for j in range(4)
                                             if j not in present))
            present.append(e)
        return p / (1 + sum(rate(j, present) for j in range(4) if j not in present))

    by_hand = math.log(sum(prob(o) for o in itertools.permutations([0, 1, 3])))
    assert by_hand == pytest.approx(-4.649618262860974, abs=1e-12)
    x = torch.tensor([1, 1, 0, 1])
    assert float(bruteforce_log_likelihood(theta, x)) == pytest.approx(by_hand, abs=1e-12)
    assert float(subset_log_likelihood(theta, x[None])[0]) == pytest.approx(by_hand, abs=1e-12)
    assert float(statespace_log_likelihood(theta, x[None])[0]) == pytest.approx(by_hand,
                                                                               abs=1e-12)
    with pytest.raises(ValueError, match=r"x must be one tumour \(a vector of length 4\)"):
        bruteforce_log_likelihood(theta, torch.ones(2, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"(?i)x must have shape \(tumours, 4\)"):
        bruteforce_log_likelihood(theta, torch.tensor([1, 0, 1]))
    with pytest.raises(ValueError, match=r"(?i)x must be binary"):
        bruteforce_log_likelihood(theta, np.array([0.5, 0.0, 0.0, 1.0]))
    # it named neither the argument nor the limit
    with pytest.raises(ValueError, match=r"^x: 10 events, expected at most 9 \(brute force "
                                         r"over 3628800 orderings is too slow\)$"):
        bruteforce_log_likelihood(torch.zeros(10, 10, dtype=torch.float64), np.ones(10))


def test_dtype_and_device_follow_input(torch_gen):
    theta = _random_theta(4, torch_gen).to(torch.float32)
    p = state_distribution(theta)
    assert p.dtype == torch.float32
    ll = subset_log_likelihood(theta, torch.tensor([[1, 0, 1, 0]]))
    assert ll.dtype == torch.float32


def test_an_integer_theta_tensor_is_computed_in_float64():
    # like an integer numpy theta; it took torch's default dtype (float32 likelihoods)
    theta = torch.tensor([[-1, 2, 0], [0, -2, 1], [3, 0, -1]])
    x = torch.tensor([[1, 1, 0], [1, 1, 1]])
    expected = statespace_log_likelihood(theta.double(), x)
    for f in (statespace_log_likelihood, subset_log_likelihood):
        ll = f(theta, x)
        assert ll.dtype == torch.float64
        torch.testing.assert_close(ll, expected)
    assert state_distribution(theta).dtype == torch.float64


def test_state_index_bit_order():
    assert state_index(np.array([[1, 0, 0], [0, 0, 1], [1, 1, 1]])).tolist() == [1, 4, 7]


def test_wrong_shapes_are_rejected(torch_gen):
    with pytest.raises(ValueError, match="square"):
        state_distribution(torch.zeros(3, 4))
    with pytest.raises(ValueError, match=r"X must have shape \(tumours, 3\)"):
        subset_log_likelihood(torch.zeros(3, 3), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="binary"):
        subset_log_likelihood(torch.zeros(3, 3), np.array([[0, 2, 1]]))
    with pytest.raises(ValueError, match="method='mcmc'"):
        subset_log_likelihood(torch.zeros(30, 30), np.ones((1, 30)), max_events=25)


def test_exact_likelihoods_stay_finite_where_probabilities_underflow():
    # p(x) below the float range (e^-773 < 1e-308) or rates above it (e^800) must not give
    # -inf / NaN: the lattice is solved in log space, like the sum over orderings
    from biomodels.ctmc import CTMC, data_log_likelihood

    theta = torch.zeros(6, 6, dtype=torch.float64)
    x = torch.ones(1, 6)
    for diag in (-130.0, 800.0):
        theta.fill_diagonal_(diag)
        brute = bruteforce_log_likelihood(theta, x[0])
        assert torch.isfinite(brute)
        for value in (
            subset_log_likelihood(theta, x)[0],
            statespace_log_likelihood(theta, x)[0],
            torch.as_tensor(data_log_likelihood(theta, x.numpy())[0]),
            torch.as_tensor(CTMC(theta.numpy()).log_likelihood(x.numpy().astype(int))[0]),
        ):
            assert abs(float(value) - float(brute)) < 1e-9 * max(1.0, abs(float(brute)))
    assert float(bruteforce_log_likelihood(-130.0 * torch.eye(6, dtype=torch.float64), x[0])) \
        == pytest.approx(-773.4207, abs=1e-3)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_linear_exit_rates_match_the_log_space_table(dtype, torch_gen, monkeypatch):
    # the exit rates are built in linear space unless a rate could overflow; both routes must
    # give the same likelihood and gradient (the log-space one is the reference)
    import biomodels.ctmc.likelihood_subsets as ls

    theta = _random_theta(9, torch_gen).to(dtype)
    x = torch.randint(0, 2, (30, 9), generator=torch_gen)
    tol = 1e-12 if dtype == torch.float64 else 1e-4

    def value_and_grad():
        th = theta.clone().requires_grad_(True)
        lp = subset_log_likelihood(th, x)
        (g,) = torch.autograd.grad((lp * torch.linspace(0.5, 1.5, len(x), dtype=dtype)).sum(), th)
        return lp, g

    linear = value_and_grad()
    monkeypatch.setattr(ls, "_exit_fits_linear", lambda cols, base: False)
    logspace = value_and_grad()
    for a, b in zip(linear, logspace):
        assert torch.allclose(a, b, rtol=tol, atol=tol)


def test_exit_rates_beyond_the_float_range_use_log_space():
    # an event outside the tumour with rate e^750 once another is present: the linear table
    # would overflow, so the log-space one is used and the likelihood stays exact
    import biomodels.ctmc.likelihood_subsets as ls

    theta = torch.full((5, 5), -1.0, dtype=torch.float64)
    theta[4, 0] = 751.0  # event 0 makes event 4 explode
    x = torch.tensor([[1, 1, 0, 0, 0]])
    cols = (theta - torch.diag(theta.diagonal()))[:, [0, 1]][None]
    assert not ls._exit_fits_linear(cols, theta.diagonal())
    brute = bruteforce_log_likelihood(theta, x[0])
    assert torch.isfinite(brute)
    assert float(subset_log_likelihood(theta, x)[0]) == pytest.approx(float(brute), rel=1e-9)


def test_float32_likelihood_keeps_its_accuracy_below_the_float32_range():
    # 12 rare events: p(x) ~ e^-112, subnormal or zero in float32
    x = torch.ones(1, 12)
    for diag, ref in ((-11.0, -112.014), (-10.0, -100.016)):
        th64 = diag * torch.eye(12, dtype=torch.float64)
        exact = float(subset_log_likelihood(th64, x)[0])
        assert exact == pytest.approx(ref, abs=1e-3)
        single = subset_log_likelihood(th64.to(torch.float32), x)
        assert single.dtype == torch.float32
        assert abs(float(single[0]) - exact) < 1e-3
        full = statespace_log_likelihood(th64.to(torch.float32), x)
        assert abs(float(full[0]) - exact) < 1e-3


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_log_space_lattice_matches_bruteforce_on_extreme_theta(dtype, torch_gen):
    # large interactions and base rates far from 1 in both directions, all 2^n states
    tol = 1e-12 if dtype == torch.float64 else 1e-6
    for scale, shift in ((2.0, -60.0), (30.0, 0.0), (300.0, 0.0), (5.0, 400.0), (50.0, -300.0)):
        n = 5
        theta = torch.randn(n, n, generator=torch_gen, dtype=torch.float64) * scale
        theta.diagonal().add_(shift)
        states = torch.tensor(list(itertools.product([0, 1], repeat=n)), dtype=torch.int64)
        brute = torch.stack([bruteforce_log_likelihood(theta, x) for x in states])
        assert torch.isfinite(brute).all()
        allowed = tol * (1.0 + brute.abs().max())
        for fn in (subset_log_likelihood, statespace_log_likelihood):
            got = fn(theta.to(dtype), states)
            assert got.dtype == dtype
            assert float((got.double() - brute).abs().max()) < allowed, (fn.__name__, scale)


def test_log_space_gradients_match_bruteforce_on_extreme_theta(torch_gen):
    for scale in (20.0, 200.0):
        theta = (torch.randn(5, 5, generator=torch_gen, dtype=torch.float64) * scale)
        theta.requires_grad_(True)
        x = torch.tensor([1, 0, 1, 1, 1])
        (ref,) = torch.autograd.grad(bruteforce_log_likelihood(theta, x), theta)
        (sub,) = torch.autograd.grad(subset_log_likelihood(theta, x[None]).sum(), theta)
        (full,) = torch.autograd.grad(statespace_log_likelihood(theta, x[None]).sum(), theta)
        assert torch.allclose(sub, ref, atol=1e-9) and torch.allclose(full, ref, atol=1e-9)


def test_zero_events_give_log_one():
    # with no events the chain never leaves the empty state: p = 1 for every tumour
    theta = torch.zeros(0, 0, dtype=torch.float64, requires_grad=True)
    ll = subset_log_likelihood(theta, torch.zeros(3, 0))
    assert ll.shape == (3,) and torch.equal(ll, torch.zeros(3, dtype=torch.float64))
    ll.sum().backward()
    assert statespace_log_likelihood(theta, torch.zeros(2, 0)).tolist() == [0.0, 0.0]


def test_exit_rates_that_fit_alone_but_overflow_in_their_sum_use_log_space():
    # float32, ten events at rate e^87 (3.4 = e^88.7 is the float32 limit): each rate fits,
    # their sum (6e38) does not, so the linear table's 1 + sum is inf and log p(x) -inf;
    # the guard must leave room for the n + 1 terms. Known answer for x = {0}:
    # log(l / (1 + 10 l)) - log(1 + 9 l), l = e^87, = -87 - log 10 - log 9 + O(e^-87)
    theta = 87.0 * torch.eye(10)
    x = torch.zeros(1, 10)
    x[0, 0] = 1
    expected = -87.0 - math.log(10.0) - math.log(9.0)
    assert float(subset_log_likelihood(theta, x)[0]) == pytest.approx(expected, abs=1e-4)
