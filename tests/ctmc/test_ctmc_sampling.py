"""Gillespie sampling against exact state probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chisquare

from biomodels.ctmc import (
    CTMC,
    random_sparse_theta,
    sample_trajectories,
    state_distribution,
    state_index,
)


def test_sampled_frequencies_match_exact_distribution():
    theta = random_sparse_theta(5, sparsity=0.3, seed=4)
    traj = sample_trajectories(theta, 100_000, seed=5)
    counts = np.bincount(state_index(traj.X).numpy(), minlength=32)
    expected = state_distribution(theta).numpy() * 100_000
    assert chisquare(counts, expected).pvalue > 1e-3
    # a wrong convention (transposed theta) must be detected by the same test
    wrong = state_distribution(theta.T.copy()).numpy() * 100_000
    assert chisquare(counts, wrong).pvalue < 1e-6


def test_trajectories_are_consistent():
    model = CTMC(random_sparse_theta(6, seed=1))
    traj = model.sample(500, seed=2)
    k = traj.X.sum(1)
    assert ((traj.order >= 0).sum(1) == k).all()
    for row in range(50):
        ev = traj.order[row, : k[row]]
        assert set(ev.tolist()) == set(np.flatnonzero(traj.X[row]).tolist())
        t = traj.times[row, : k[row]]
        assert (np.diff(t) > 0).all() and (t < traj.obs_time[row]).all()
        assert np.isnan(traj.times[row, k[row] :]).all()


def test_sampling_is_reproducible_and_fixed_time():
    theta = random_sparse_theta(4, seed=0)
    a = sample_trajectories(theta, 100, seed=3)
    b = sample_trajectories(theta, 100, seed=3)
    assert (a.X == b.X).all()
    c = sample_trajectories(theta, 100, seed=3, obs_time=0.0)
    assert c.X.sum() == 0
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="obs_time must be finite and non-negative"):
            sample_trajectories(theta, 5, seed=3, obs_time=bad)


def test_sampling_rates_beyond_float_range_without_overflow_warnings():
    # e^1000 overflowed to inf and 1 / e^-720 (subnormal) to inf with RuntimeWarnings, errors
    # under -W error; the outcomes themselves are sure: event 0 at once, event 1 never
    traj = sample_trajectories(np.array([[1000.0, 0.0], [0.0, -720.0]]), 20, seed=0)
    assert (traj.X[:, 0] == 1).all() and (traj.X[:, 1] == 0).all()
    assert (traj.times[:, 0] == 0).all()



def test_sampling_rates_far_apart_under_numpy_raise():
    # a rate e^-720 below the largest one is exactly 0 as a share of the next event, by
    # design; under np.seterr(all="raise") its underflow was a FloatingPointError
    theta = np.array([[1000.0, 0.0], [0.0, -720.0]])
    plain = sample_trajectories(theta, 20, seed=0)
    with np.errstate(all="raise"):
        traj = sample_trajectories(theta, 20, seed=0)
        p = CTMC(np.diag([1000.0, 0.0])).order_probability(0, 1, method="sample",
                                                            n_samples=200, seed=0)
    assert np.geterr()["under"] == "ignore"  # numpy's default, as the caller left it
    np.testing.assert_array_equal(traj.X, plain.X)
    assert (traj.X[:, 0] == 1).all() and (traj.X[:, 1] == 0).all()
    assert p == 1.0  # event 0 happens at once, so it comes first whenever both do

def test_sample_count_is_checked_as_every_count():
    # True failed in numpy, naming no argument; a float raised a ValueError, unlike
    # CTMC.sample's TypeError
    theta = np.zeros((2, 2))
    for bad in (True, 5.0, "3"):
        with pytest.raises(TypeError, match="n_samples: expected an integer >= 0"):
            sample_trajectories(theta, bad, seed=0)
    with pytest.raises(ValueError, match="n_samples: expected an integer >= 0, got -1"):
        sample_trajectories(theta, -1, seed=0)
    assert sample_trajectories(theta, np.int64(3), seed=0).X.shape == (3, 2)


def test_trajectories_repr_gives_shapes_not_values():
    # base rates e^50: all three events occur before the observation at t = 1
    traj = sample_trajectories(np.diag([50.0, 50.0, 50.0]), 4, seed=0, obs_time=1.0)
    assert repr(traj) == (
        "Trajectories of 4 tumours over 3 events, 3.00 events per tumour at observation\n"
        "    X (4, 3) uint8, order (4, 3) int64, times (4, 3) float64, obs_time (4,) float64")
    # the dataclass repr printed every array: 18,880 characters for 1,000 tumours
    assert len(repr(sample_trajectories(np.zeros((10, 10)), 1_000, seed=0))) < 200
