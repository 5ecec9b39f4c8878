"""Exact likelihoods: state space and subset DP against brute force over orderings."""

from __future__ import annotations

import itertools

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
    # n = 13 uses the strided (non-indexed) sweeps; compare a few states with brute force
    theta = _random_theta(13, torch_gen, scale=0.5)
    x = torch.zeros(4, 13, dtype=torch.int64)
    x[0, [0, 5, 12]] = 1
    x[1, [1, 2, 3, 4, 7]] = 1
    x[3, [6]] = 1
    brute = torch.stack([bruteforce_log_likelihood(theta, row) for row in x])
    assert torch.allclose(statespace_log_likelihood(theta, x), brute, atol=1e-10, rtol=0)


def test_gradients_match_finite_differences(torch_gen):
    n = 5
    theta = _random_theta(n, torch_gen).requires_grad_(True)
    x = torch.randint(0, 2, (12, n), generator=torch_gen)
    assert torch.autograd.gradcheck(lambda t: statespace_log_likelihood(t, x).sum(), (theta,))
    assert torch.autograd.gradcheck(lambda t: subset_log_likelihood(t, x).sum(), (theta,))
    assert torch.autograd.gradcheck(lambda t: state_distribution(t)[[3, 17, 31]], (theta,))


def test_subset_gradient_equals_statespace_gradient(torch_gen):
    n = 7
    theta = _random_theta(n, torch_gen).requires_grad_(True)
    x = torch.randint(0, 2, (40, n), generator=torch_gen)
    (g1,) = torch.autograd.grad(statespace_log_likelihood(theta, x).sum(), theta)
    (g2,) = torch.autograd.grad(subset_log_likelihood(theta, x).sum(), theta)
    assert torch.allclose(g1, g2, atol=1e-10)


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


def test_dtype_and_device_follow_input(torch_gen):
    theta = _random_theta(4, torch_gen).to(torch.float32)
    p = state_distribution(theta)
    assert p.dtype == torch.float32
    ll = subset_log_likelihood(theta, torch.tensor([[1, 0, 1, 0]]))
    assert ll.dtype == torch.float32


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
