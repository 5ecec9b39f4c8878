"""Boundary inputs of the FJ API checked against known answers: self-loops, n = 0, 1, 2."""

from __future__ import annotations

import numpy as np
import pytest

from multiagent import (
    Adversary,
    FriedkinJohnsen,
    Scenario,
    TrustAdaptiveDefense,
    adversary_weight,
    closed_form_weight,
    equilibrium_router,
    fit_fj,
    opinion_indices,
    relative_confidence,
    simulate,
    simulate_transcript,
    sweep,
)


def test_classic_fj_ignores_self_loops():
    """z = (I + L)^{-1} s, and a self-loop is no edge of L = D - A."""
    A = np.array([[1.0, 1.0], [1.0, 0.0]])
    s = np.array([1.0, 0.0])
    L = np.array([[1.0, -1.0], [-1.0, 1.0]])
    out = opinion_indices(A, s)
    np.testing.assert_allclose(out["z"], np.linalg.solve(np.eye(2) + L, s), atol=1e-12)
    np.testing.assert_allclose(out["z"], [2 / 3, 1 / 3], atol=1e-12)
    assert out["pd_index"] == pytest.approx(out["pd_index_quadratic"], abs=1e-12)


@pytest.mark.parametrize("gamma,alpha,t", [(0.2, 0.5, 1.0), (0.0, 0.5, 2.0), (0.3, 0.0, 0.0),
                                           (1.0, 0.0, 1.0)])
def test_star_leaf_closed_form_on_two_agents(gamma, alpha, t):
    """A two-agent star: the lone benign agent hears only the adversary."""
    sc = Scenario(graph="star", n=2, gamma=gamma, alpha=alpha,
                  adversaries=(Adversary("leaf", persuasion=t),))
    cf = closed_form_weight("star_leaf", 2, gamma, alpha, persuasion=t)["mean"]
    c = (1 - gamma) * (1 - alpha)
    hand = 0.0 if t == 0 else c / (gamma + c)
    assert cf == pytest.approx(hand)
    if gamma > 0 or t > 0:  # otherwise the equilibrium is not unique
        assert adversary_weight(sc.model(), sc.adversary_nodes()) == pytest.approx(cf)


def test_sweep_over_a_two_agent_star_with_a_leaf_adversary():
    base = Scenario(graph="star", n=2, adversaries=(Adversary("leaf"),))
    df = sweep(base, {"gamma": [0.2]}, questions=1)
    assert df["adversary_weight_closed_form"].iloc[0] == pytest.approx(
        df["adversary_weight"].iloc[0])


def test_adversary_target_outside_the_options_is_refused():
    with pytest.raises(ValueError, match=r"target: expected an option index in \[0, 5\)"):
        simulate(Scenario(adversaries=(Adversary(target=7),)))
    assert Adversary(target=-1).answer(0, 5) == 4  # numpy-style from the end, as before
    assert Adversary(target=2).answer(0, 5) == 2


def test_equilibrium_router_of_one_listener_under_degroot():
    """gamma = 0: M = 1 pi^T, so every listener's row is pi (as influence_matrix says)."""
    W = np.array([[0.0, 1.0], [1.0, 0.0]])
    model = FriedkinJohnsen(W, 0.0, 0.5)
    np.testing.assert_allclose(equilibrium_router(model, listener=0), [0.5, 0.5])
    np.testing.assert_allclose(equilibrium_router(model, listener=1),
                               model.influence_matrix()[1])


def test_relative_confidence_when_the_second_is_uncertain():
    """Only the most confident agent may exceed 1; an agent at C = C_(2) = 0 scores 1."""
    rc = relative_confidence(np.array([[1.0, 0.0], [0.5, 0.5]]))
    assert rc.tolist() == [np.inf, 1.0]
    assert relative_confidence(np.array([[0.5, 0.5], [0.5, 0.5]])).tolist() == [1.0, 1.0]


def test_warm_up_needs_an_item():
    with pytest.raises(ValueError, match="at least one labelled item"):
        TrustAdaptiveDefense(3).warm_up(np.zeros((0, 3), bool))


def test_simulate_transcript_of_one_agent_and_bad_rounds():
    X = simulate_transcript(1, 2, 3, gamma=0.3, alpha=0.4, noise=0.0)
    assert X.shape == (3, 1, 3)
    np.testing.assert_allclose(X[1], X[0])  # alone, it hears only itself
    with pytest.raises(ValueError, match="rounds"):
        simulate_transcript(2, -1, 3, gamma=0.3, alpha=0.4)


def test_fit_fj_refuses_a_nan_start():
    X = simulate_transcript(2, 3, 2, gamma=0.3, alpha=0.4, noise=0.0)
    with pytest.raises(ValueError, match="init_gamma"):
        fit_fj(X, init_gamma=float("nan"))


def test_empty_trust_matrix_is_refused():
    with pytest.raises(ValueError, match="at least one agent"):
        FriedkinJohnsen(np.zeros((0, 0)), 0.3, 0.2)


@pytest.mark.parametrize(("seed", "error"), [(1.5, TypeError), ("a", TypeError),
                                             (-1, ValueError)])
def test_every_seed_is_checked_by_name(seed, error):
    from multiagent import Scenario, simulate, simulate_transcript
    from multiagent.topologies import make_graph, random_graph

    # networkx said "a cannot be used to generate a random.Random instance", numpy took
    # nothing in its own words
    for call in (lambda: make_graph("er", 10, seed=seed),
                 lambda: random_graph(10, 5, seed=seed),
                 lambda: simulate(Scenario(n=4), questions=1, seed=seed),
                 lambda: simulate_transcript(3, 2, 2, gamma=0.3, alpha=0.4, seed=seed)):
        with pytest.raises(error, match="^seed: expected an integer >= 0"):
            call()


@pytest.mark.parametrize("listener", [None, 0])
@pytest.mark.parametrize("gamma", [0.3, 0.0])  # 0: the DeGroot branch
def test_float32_equilibrium_router_feeds_error_decomposition(listener, gamma):
    """A float32 model's router summed to 1 only within 1e-7, and error_decomposition
    refused it ('router rows must ... sum to 1'); it is float64 and sums to 1 whatever the
    branch, and a float32 router passed directly is checked at float32's tolerance."""
    import torch

    from multiagent import error_decomposition, social_power

    rng = np.random.default_rng(0)
    n, Q, K = 30, 4, 3
    A = (rng.random((n, n)) < 0.3).astype(float)
    np.fill_diagonal(A, 0)
    A = np.maximum(A, A.T)
    W = A / A.sum(1, keepdims=True)
    S = rng.dirichlet(np.ones(K), size=(Q, n))
    y = rng.integers(0, K, Q)
    for W32 in (W.astype(np.float32), torch.tensor(W, dtype=torch.float32)):
        model = FriedkinJohnsen(W32, gamma=gamma, alpha=0.3)
        router = equilibrium_router(model, listener=listener)
        assert router.dtype == np.float64
        assert abs(router.sum() - 1) < 1e-12
        ref = equilibrium_router(FriedkinJohnsen(W, gamma=gamma, alpha=0.3), listener=listener)
        np.testing.assert_allclose(router, ref, atol=1e-5)
        assert abs(error_decomposition(S, y, router)["residual"]) < 1e-12
    pi32 = social_power(FriedkinJohnsen(W.astype(np.float32), gamma=0.3, alpha=0.3))
    assert pi32.dtype == np.float32
    assert abs(error_decomposition(S, y, pi32)["residual"]) < 1e-6
    with pytest.raises(ValueError, match="router rows"):
        error_decomposition(S, y, np.full(n, 1.001 / n))


def test_a_transcript_of_no_agents_or_no_options_is_refused_by_name():
    # before: fit_fj(X[:, :0]) failed inside torch ("stack expects a non-empty TensorList"),
    # where FriedkinJohnsen says "W is empty (0, 0): expected at least one agent"
    from multiagent import fit_fj_bayes, fit_sparse_trust, fit_transcripts

    X = simulate_transcript(3, 4, 2, gamma=0.3, alpha=0.4, noise=0.0)
    none = X[:, :0]
    calls = {"fit_fj": lambda: fit_fj(none), "fit_transcripts": lambda: fit_transcripts([none]),
             "fit_sparse_trust": lambda: fit_sparse_trust(none, keep=1),
             "fit_fj_bayes": lambda: fit_fj_bayes(none),
             "FJFit.score": lambda: fit_fj(X).score(none)}
    for call in calls.values():
        with pytest.raises(ValueError, match=r"^transcript has 0 agents \(shape \(5, 0, 2\)\): "
                                             "expected at least one agent"):
            call()
    with pytest.raises(ValueError, match=r"^transcript has 0 options \(shape \(5, 3, 0\)\): "
                                         "expected at least one option"):
        fit_fj(X[:, :, :0])


def _tiny_huge_cases():
    import scipy.sparse as sp
    import torch

    A = np.ones((3, 3)) - np.eye(3)
    return {
        "numpy 1e-310": A * 1e-310,  # subnormal row sums: 1 / sum overflowed to inf
        "numpy 1e308": A * 1e308,  # the row sums overflow float64 to inf
        "scipy 1e-310": sp.csr_array(A * 1e-310),
        "scipy 1e308": sp.csr_array(A * 1e308),
        "torch32 1e-40": torch.tensor(A * 1e-40, dtype=torch.float32),
        "torch32 3e38": torch.tensor(A * 3e38, dtype=torch.float32),
        "torch32 csr 3e38": torch.tensor(A * 3e38, dtype=torch.float32).to_sparse_csr(),
    }


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning")
@pytest.mark.parametrize("case", ["numpy 1e-310", "numpy 1e308", "scipy 1e-310", "scipy 1e308",
                                  "torch32 1e-40", "torch32 3e38", "torch32 csr 3e38"])
@pytest.mark.parametrize("build", ["from_adjacency", "normalise"])
def test_extreme_but_finite_weights_row_normalise_to_the_same_model(case, build):
    """Before: 1 / row sum was taken in float64 and cast to W's dtype, so the complete graph
    on 3 agents with weights 1e-310 (float32 1e-40) got a NaN/inf W (rollout all NaN, and
    equilibrium blamed gamma), and weights 1e308 (float32 3e38) an all-zero W: equilibrium
    returned S unchanged and influence_matrix the identity, without an error.  Any finite
    positive row now normalises to W = (1 - I) / 2, whatever its scale."""
    import torch

    from multiagent._backend import as_dense_numpy

    A = _tiny_huge_cases()[case]
    if build == "from_adjacency":
        model = FriedkinJohnsen.from_adjacency(A, 0.2, 0.5)
    else:
        model = FriedkinJohnsen(A, 0.2, 0.5, normalise=True)
    assert as_dense_numpy(model.W).tolist() == [[0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]
    S = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    if isinstance(A, torch.Tensor):
        S = torch.tensor(S, dtype=A.dtype)
    known = [[0.625, 0.375], [0.375, 0.625], [0.5, 0.5]]  # the model of W = (1 - I) / 2
    np.testing.assert_allclose(np.asarray(model.equilibrium(S)), known, atol=1e-6)
    np.testing.assert_allclose(np.asarray(model.rollout(S, 200)[-1]), known, atol=1e-6)
    M = np.asarray(model.influence_matrix())
    np.testing.assert_allclose(M, [[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.25, 0.25, 0.5]],
                               atol=1e-6)


def test_rows_of_very_different_scales_each_normalise():
    """One row at 1e308 and one at 1e-310 beside an ordinary row: each is normalised on
    its own, and the ordinary row is the same as before to the last bit."""
    A = np.array([[0.0, 1e308, 1e308], [3e-310, 0.0, 1e-310], [0.1, 0.7, 0.0]])
    W = FriedkinJohnsen(A, 0.2, 0.5, normalise=True).W
    np.testing.assert_array_equal(W[0], [0.0, 0.5, 0.5])
    np.testing.assert_allclose(W[1], [0.75, 0.0, 0.25], rtol=1e-12)
    np.testing.assert_array_equal(W[2], A[2] * (1.0 / A[2].sum()))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_an_agent_with_gamma_0_and_alpha_1_keeps_its_belief_at_equilibrium(backend):
    """Mutation audit: agent 0 (gamma 0, alpha 1) never moves, so it is made fully
    stubborn; the torch path divides its c = 0 by gamma only where gamma > 0. Dividing by
    its gamma 0 (0 / 0) went unseen by the tests and made equilibrium raise "I - H is
    singular". By hand, with b_0 = s_0 and W = (1 - I) / 2: 3 b_i = s_i + b_0 + b_j for
    i, j in {1, 2}, so s = (0.1, 0.5, 0.9) gives b = (0.1, 0.35, 0.45)."""
    import torch

    W = (np.ones((3, 3)) - np.eye(3)) / 2
    gamma, alpha, s = np.array([0.0, 0.2, 0.2]), np.array([1.0, 0.5, 0.5]), [0.1, 0.5, 0.9]
    as_input = torch.tensor if backend == "torch" else np.asarray
    model = FriedkinJohnsen(as_input(W), as_input(gamma), as_input(alpha))
    assert model.backend == backend
    known = [0.1, 0.35, 0.45]
    np.testing.assert_allclose(np.asarray(model.equilibrium(as_input(s))), known, atol=1e-12)
    np.testing.assert_allclose(np.asarray(model.rollout(as_input(s), 200)[-1]), known,
                               atol=1e-12)


def test_conjugate_gradients_on_huge_symmetric_weights_match_those_of_scale_one():
    """Mutation audit: the symmetriser rescales row sums that come within a factor 1 / eps
    of float64's limits; only at the limits themselves (row sums up to 1.8e308) was no test
    affected, yet there the products of the conjugate gradients overflow: at weights 1e307
    (row sums ~1e308) equilibrium(method="cg") returned NaN after 0 iterations."""
    rng = np.random.default_rng(0)
    upper = np.triu((rng.random((30, 30)) < 0.3).astype(float), 1)
    A = upper + upper.T  # symmetric, every agent with a neighbour
    s = rng.random(30)
    one = FriedkinJohnsen.from_adjacency(A, gamma=0.2, alpha=0.5)
    huge = FriedkinJohnsen.from_adjacency(A * 1e307, gamma=0.2, alpha=0.5)
    known = one.equilibrium(s, method="direct")
    expect = one.equilibrium(s, method="cg")
    np.testing.assert_allclose(expect, known, atol=1e-9)
    got = huge.equilibrium(s, method="cg")
    np.testing.assert_allclose(got, expect, rtol=0, atol=1e-12)  # equal here, to the bit
    assert huge.info_ == one.info_ and one.info_["iterations"] > 0
