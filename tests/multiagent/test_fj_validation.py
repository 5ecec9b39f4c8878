"""Bad input is rejected with messages that name the argument and the agent."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from multiagent import FriedkinJohnsen

W3 = np.array([[0, 0.5, 0.5], [1, 0, 0], [0.5, 0.5, 0]])

#: fits of a few SVI steps, for speed, where the test is about something else: their
#: "cannot have settled" warning (fewer than 50 steps) is expected
_FEW_STEPS = pytest.mark.filterwarnings(
    "ignore:fit_fj_bayes. the ELBO cannot have settled:UserWarning")


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


@_FEW_STEPS
def test_bad_input_beyond_the_model():
    """Fitting, scenarios, defenses, closed forms and the MoE view name what is wrong."""
    from multiagent.adversary import Adversary, Scenario, closed_form_weight
    from multiagent.defense import TrustAdaptiveDefense, run_trust_stream
    from multiagent.fit import fit_fj, fit_fj_bayes, simulate_transcript
    from multiagent.moe import equilibrium_router, error_decomposition

    X = simulate_transcript(4, 3, 3, gamma=0.3, alpha=0.3, seed=0)
    with pytest.raises(ValueError, match=r"train_rounds must be in \[1, 3\]"):
        fit_fj(X, train_rounds=4)
    with pytest.raises(ValueError, match="loss must be 'mse' or 'kl'"):
        fit_fj(X, loss="l1")
    with pytest.raises(ValueError, match=r"adjacency must be \(4, 4\)"):
        fit_fj(X, adjacency=np.ones((3, 3)))
    lonely = np.ones((4, 4))
    lonely[2] = 0
    # it listens to itself, as in the model (before: "agent 2 has no neighbour in
    # adjacency; nothing to fit"): fitted, with a warning
    with pytest.warns(UserWarning, match="agent 2 hears no one"):
        post = fit_fj_bayes(X, adjacency=lonely, num_steps=1, num_samples=2)
    assert post["W_mean"][2].tolist() == [0, 0, 1, 0]
    with pytest.raises(ValueError, match="at least two rounds"):
        fit_fj(X[:1])
    with pytest.raises(ValueError, match=r"adversary position must be .* in \[0, 6\), got 9"):
        Scenario(adversaries=(Adversary(9),)).adversary_nodes()
    with pytest.raises(ValueError, match="two adversaries at agent 0"):
        Scenario(graph="star", adversaries=(Adversary("hub"), Adversary(0))).adversary_nodes()
    with pytest.raises(ValueError, match="persuasion must be >= 0"):
        Scenario(adversaries=(Adversary(persuasion=-1.0),)).model()
    with pytest.raises(ValueError, match=r"trust must have shape \(6, 6\)"):
        Scenario().model(trust=np.ones((2, 2)))
    with pytest.raises(ValueError, match="position must be"):
        closed_form_weight("ring", 6, 0.2, 0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="momentum must be in"):
        TrustAdaptiveDefense(3, momentum=1.0)
    with pytest.raises(ValueError, match="sparse_fraction"):
        TrustAdaptiveDefense(3, sparse_fraction=0.0)
    with pytest.raises(ValueError, match=r"correct must have shape \(items, n\) with n = 3"):
        TrustAdaptiveDefense(3).warm_up(np.ones((2, 4), bool))
    with pytest.raises(ValueError, match="defense is for 3 agents, scenario has 6"):
        run_trust_stream(Scenario(), questions=1, defense=TrustAdaptiveDefense(3))
    with pytest.raises(ValueError, match=r"listener must be an agent index in \[0, 3\)"):
        equilibrium_router(FriedkinJohnsen(W3, 0.2, 0.5), listener=3)
    S = np.full((2, 3, 2), 0.5)
    with pytest.raises(ValueError, match=r"labels must be 2 option indices in \[0, 2\)"):
        error_decomposition(S, np.array([0, 2]), np.full(3, 1 / 3))


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning")
@pytest.mark.parametrize("conv", [np.asarray, sp.csr_array, torch.as_tensor,
                                  lambda a: torch.as_tensor(a).to_sparse_csr()])
def test_self_trust_is_refused_and_dropped_from_adjacencies(conv):
    # W_ii = 0 in the three-force rule; a self-loop silently changed every weight
    # (one adversary on a complete graph with self-loops: 0.25 instead of 0.2857)
    with pytest.raises(ValueError, match=r"W\[0, 0\] = 0.5: an agent's trust in itself"):
        FriedkinJohnsen(conv(np.array([[0.5, 0.5], [1.0, 0.0]])), 0.2, 0.5)
    from multiagent.adversary import adversary_weight, closed_form_weight

    fj = FriedkinJohnsen.from_adjacency(conv(np.ones((6, 6))), np.r_[1.0, [0.2] * 5], 0.5)
    expected = closed_form_weight("complete", 6, 0.2, 0.5)["mean"]
    assert adversary_weight(fj, [0]) == pytest.approx(expected, abs=1e-10)


def test_non_finite_right_hand_sides_and_beliefs_are_refused():
    from multiagent.analysis import opinion_indices

    fj = FriedkinJohnsen(W3, 0.3, 0.5)
    with pytest.raises(ValueError, match="rhs has NaN"):
        fj.solve(np.array([1.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match="s has NaN"):
        opinion_indices(np.ones((3, 3)) - np.eye(3), np.array([1.0, np.nan, 0.0]))


def test_closed_forms_and_success_rates_check_their_inputs():
    from multiagent.adversary import attack_success_rate, benign_accuracy, closed_form_weight

    for kwargs, match in (({"gamma": 1.5}, "gamma: expected <= 1"),
                          ({"persuasion": -1.0}, "persuasion: expected >= 0"),
                          ({"alpha": float("nan")}, "alpha: expected a finite"),
                          ({"n": 1}, "n: expected a whole number of agents >= 2")):
        args = {"position": "complete", "n": 6, "gamma": 0.2, "alpha": 0.5, **kwargs}
        with pytest.raises(ValueError, match=match):
            closed_form_weight(**args)
    assert closed_form_weight("complete", 2, 0.2, 0.5, persuasion=0.0)["mean"] == 0.0
    B = np.tile(np.eye(3)[[0, 0, 1]], (4, 1, 1))  # 4 questions, 3 agents
    with pytest.raises(ValueError, match="benign: expected a bool mask of the 3 agents"):
        attack_success_rate(B, B, np.zeros(4, int), np.array([0, 1, 1]))  # 0/1 indexed rows
    with pytest.raises(ValueError, match=r"truth: expected one correct option per question"):
        benign_accuracy(B, np.zeros(1, int), np.ones(3, bool))


def test_real_valued_opinions_are_pointed_to_check_false():
    # before: "S[0] (agent 0) has a negative entry; beliefs over K options must be
    # probability vectors", with no word of the way out for opinions on several topics
    fj = FriedkinJohnsen(W3, 0.2, 0.5)
    S = np.array([[-0.5, 0.2], [0.3, 0.9], [1.0, -1.0]])
    with pytest.raises(ValueError, match=r"^S\[0\] \(agent 0\) has a negative entry; .*"
                                         r"several topics.*check=False"):
        fj.equilibrium(S)
    with pytest.raises(ValueError, match=r"^B\[1\] \(agent 1\) sums to 1.2, .*check=False"):
        fj.step(np.array([[0.5, 0.5], [0.3, 0.9], [0.5, 0.5]]))
    # each column is one topic, solved as the scalar opinions they are
    got = fj.equilibrium(S, check=False)
    np.testing.assert_allclose(got[:, 1], fj.equilibrium(S[:, 1]), atol=1e-14)
