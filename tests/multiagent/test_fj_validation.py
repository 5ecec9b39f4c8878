"""Bad input is rejected with messages that name the argument and the agent."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from multiagent import FriedkinJohnsen

W3 = np.array([[0, 0.5, 0.5], [1, 0, 0], [0.5, 0.5, 0]])


@pytest.mark.parametrize("name", ["gamma", "alpha"])
@pytest.mark.parametrize("bad", [1.2, -0.1, np.nan])
def test_parameters_outside_unit_interval(name, bad):
    vec = np.array([0.2, 0.2, 0.2])
    vec[2] = bad
    kwargs = {"gamma": 0.2, "alpha": 0.5, name: vec}
    with pytest.raises(ValueError, match=rf"{name}\[2\].*outside \[0, 1\] \(agent 2\)"):
        FriedkinJohnsen(W3, **kwargs)


def test_parameter_shape():
    with pytest.raises(ValueError, match="gamma must be a scalar or a vector of length 3"):
        FriedkinJohnsen(W3, [0.1, 0.2], 0.5)


@pytest.mark.parametrize("conv", [np.asarray, sp.csr_array, torch.tensor])
def test_rows_must_sum_to_one_unless_normalise(conv):
    W = W3.copy()
    W[1] = [0, 0, 2.0]
    with pytest.raises(ValueError, match=r"row 1 of W \(agent 1\) sums to 2.*normalise=True"):
        FriedkinJohnsen(conv(W), 0.2, 0.5)
    fj = FriedkinJohnsen(conv(W), 0.2, 0.5, normalise=True)
    Wn = fj.W.toarray() if sp.issparse(fj.W) else np.asarray(fj.W)
    np.testing.assert_allclose(Wn[1], [0, 0, 1])


def test_normalise_gives_isolated_agent_a_self_loop():
    W = np.array([[0, 1.0, 0], [1, 0, 0], [0, 0, 0]])
    fj = FriedkinJohnsen(W, 0.0, 0.0, normalise=True)
    assert fj.W[2, 2] == 1.0


@pytest.mark.parametrize("conv", [np.asarray, sp.csr_array, torch.tensor])
def test_negative_trust(conv):
    W = W3.copy()
    W[2] = [1.5, -0.5, 0]
    with pytest.raises(ValueError, match=r"W\[2, 1\] = -0.5 < 0: the trust of agent 2 in agent 1"):
        FriedkinJohnsen(conv(W), 0.2, 0.5)
    T = np.ones((3, 3))
    T[0, 2] = -1
    with pytest.raises(ValueError, match=r"trust\[0, 2\].*agent 0"):
        FriedkinJohnsen.from_adjacency(conv(W3), 0.2, 0.5, trust=conv(T))


def test_shapes():
    with pytest.raises(ValueError, match="square"):
        FriedkinJohnsen(np.ones((2, 3)) / 3, 0.2, 0.5)
    fj = FriedkinJohnsen(W3, 0.2, 0.5)
    with pytest.raises(ValueError, match="n = 3 agents, got shape \\(4,\\)"):
        fj.rollout(np.zeros(4), 2)
    with pytest.raises(ValueError, match="S has shape"):
        fj.step(np.zeros((3, 2)) + 0.5, np.zeros((3, 3)) + 1 / 3)
    with pytest.raises(ValueError, match="trust has shape"):
        FriedkinJohnsen.from_adjacency(W3, 0.2, 0.5, trust=np.ones((2, 2)))


def test_beliefs_must_be_distributions():
    fj = FriedkinJohnsen(W3, 0.2, 0.5)
    B = np.full((3, 4), 0.25)
    B[1] = [0.5, 0.5, 0.5, 0.0]
    with pytest.raises(ValueError, match=r"S\[1\] \(agent 1\) sums to 1.5"):
        fj.equilibrium(B)
    B[1] = [1.5, -0.5, 0, 0]
    with pytest.raises(ValueError, match=r"B\[1\] \(agent 1\) has a negative entry"):
        fj.step(B)
    B[1] = [np.nan, 1, 0, 0]
    with pytest.raises(ValueError, match=r"agent 1\) is not finite"):
        fj.rollout(B, 3)
    fj.rollout(np.array([3.0, -2.0, 1.0]), 3)  # scalar opinions are unconstrained


def test_unknown_method():
    fj = FriedkinJohnsen(W3, 0.2, 0.5)
    with pytest.raises(ValueError, match="method must be"):
        fj.equilibrium(np.ones(3), method="lu")
