"""Inputs are neither mutated nor misread (sparse arrays, indices, labels, shapes, float32
trust), and bad ones are refused by name."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from multiagent import (
    Adversary,
    FriedkinJohnsen,
    Scenario,
    adversary_weight,
    apply_defense,
    attack_success_rate,
    benign_accuracy,
    classic_fj,
    confidence_router,
    controversy,
    disagreement,
    equilibrium_router,
    error_decomposition,
    fit_fj,
    fit_fj_bayes,
    fit_sparse_trust,
    internal_conflict,
    make_graph,
    opinion_indices,
    polarization,
    random_graph,
    run_trust_stream,
    simulate,
    simulate_transcript,
    time_to_consensus,
    time_to_equilibrium,
)

W3 = np.array([[0, 0.5, 0.5], [1, 0, 0], [0.5, 0.5, 0]])


def _trust_with_duplicates() -> sp.csr_array:
    # row 0 holds column 2 twice (0.25 + 0.25) and unsorted columns: not canonical
    return sp.csr_array((np.array([0.25, 0.25, 0.5, 1.0, 1.0]), np.array([2, 2, 1, 0, 0]),
                         np.array([0, 3, 4, 5])), shape=(3, 3))


def _symmetric_with_duplicates() -> sp.csr_array:
    # the triangle graph, row 0 with column 1 split in two and columns unsorted
    return sp.csr_array((np.array([1.0, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0]),
                         np.array([2, 1, 1, 2, 0, 1, 0]), np.array([0, 3, 5, 7])), shape=(3, 3))


S3 = np.array([1.0, 0.0, 0.5])


def _ones_like(W):  # an adjacency of W's backend
    return sp.csr_array(np.ones((3, 3))) if sp.issparse(W) else np.ones((3, 3))


@pytest.mark.parametrize("call, make", [
    (lambda W: FriedkinJohnsen(W, 0.2, 0.5).equilibrium(S3), _trust_with_duplicates),
    (lambda W: FriedkinJohnsen.from_adjacency(W, 0.2, 0.5).equilibrium(S3),
     _trust_with_duplicates),
    (lambda W: FriedkinJohnsen.from_adjacency(_ones_like(W), 0.2, 0.5,
                                              trust=W).equilibrium(S3), _trust_with_duplicates),
    (lambda W: classic_fj(W).equilibrium(S3), _symmetric_with_duplicates),
    (lambda W: opinion_indices(W, S3)["z"], _symmetric_with_duplicates),
    (lambda W: disagreement(S3, W), _symmetric_with_duplicates),
])
def test_sparse_inputs_are_not_rewritten(call, make):
    # sum_duplicates on a csr_array sharing the caller's arrays changed nnz, indices, indptr
    W = make()
    data, indices, indptr = W.data.copy(), W.indices.copy(), W.indptr.copy()
    got = call(W)
    np.testing.assert_array_equal(W.data, data)
    np.testing.assert_array_equal(W.indices, indices)
    np.testing.assert_array_equal(W.indptr, indptr)
    np.testing.assert_allclose(got, call(make().toarray()), atol=1e-12)


def test_success_rates_check_beliefs_truth_and_shapes():
    B = np.tile(np.eye(5)[[0, 0, 1]], (2, 1, 1))  # 2 questions, 3 agents, K = 5
    benign, truth = np.ones(3, bool), np.zeros(2, int)
    assert benign_accuracy(B, truth, benign) == pytest.approx(2 / 3)
    nan = B.copy()
    nan[0, 2] = np.nan  # argmax reads NaN as option 0: was counted as right
    with pytest.raises(ValueError, match=r"B\[0\]\[2\] \(agent 2\) is not finite"):
        benign_accuracy(nan, truth, benign)
    with pytest.raises(ValueError, match=r"B_end\[0\]\[2\] \(agent 2\) is not finite"):
        attack_success_rate(B, nan, truth, benign)
    with pytest.raises(ValueError, match=r"truth must be option indices in \[0, 5\), got 9"):
        benign_accuracy(B, np.array([9, 9]), benign)  # was 0.0
    with pytest.raises(ValueError, match=r"truth must be option indices in \[0, 5\), got 9"):
        attack_success_rate(B, B, np.array([9, 9]), benign)  # was nan
    with pytest.raises(TypeError, match="truth must be option indices given as integers"):
        benign_accuracy(B, np.array([0.5, 0.5]), benign)  # was 0.0
    with pytest.raises(TypeError, match="truth must be option indices given as integers"):
        benign_accuracy(B, np.array([True, True]), benign)
    with pytest.raises(ValueError, match=r"B_end has shape \(1, 3, 5\) but B_start has"):
        attack_success_rate(B, B[:1], truth, benign)  # was 0.0
    with pytest.raises(ValueError, match=r"B must have shape \(n, K\) or \(questions, n, K\)"):
        benign_accuracy(B[0, 0], 0, np.ones(1, bool))
    with pytest.raises(ValueError, match="benign: expected a bool mask of the 3 agents"):
        benign_accuracy(B, truth, np.ones(2, bool))


def test_labels_listeners_and_adversaries_must_be_integer_indices():
    S = np.full((2, 3, 2), 0.5)
    S[:, 0] = [[1.0, 0.0], [0.0, 1.0]]
    router = np.full(3, 1 / 3)
    right = error_decomposition(S, np.array([0, 0]), router)
    with pytest.raises(TypeError, match="labels must be 2 option indices given as integers"):
        error_decomposition(S, [True, False], router)  # was read as [0, 0]
    assert error_decomposition(S, [0, 0], router)["system_risk"] == right["system_risk"]
    with pytest.raises(TypeError, match="labels must be 2 option indices given as integers"):
        error_decomposition(S, np.array([0.0, 1.0]), router)  # was an IndexError
    with pytest.raises(ValueError, match=r"labels must be 2 option indices in \[0, 2\), got "
                                         r"shape \(1, 2\)"):
        error_decomposition(S, np.array([[0, 1]]), router)

    fj = FriedkinJohnsen(W3, 0.2, 0.5)
    assert equilibrium_router(fj, listener=np.int64(1)).sum() == pytest.approx(1)
    with pytest.raises(TypeError, match="listener must be an agent index given as integers"):
        equilibrium_router(fj, listener=True)  # e[True] = 1 set every entry: sum 3
    with pytest.raises(TypeError, match="listener must be one agent index"):
        equilibrium_router(fj, listener=[0, 1])

    expected = adversary_weight(fj, [2])
    assert adversary_weight(fj, np.array([2])) == expected
    for bad, err, match in (
        ([-1], ValueError, r"adversaries must be agent indices in \[0, 3\), got -1"),  # wrapped
        ([], ValueError, "adversaries is empty"),  # was 0.0
        ([0, 1, 2], ValueError, "adversaries names all 3 agents"),  # was nan
        ([7], ValueError, r"adversaries must be agent indices in \[0, 3\), got 7"),
        ([2, 2], ValueError, "adversaries repeats 2"),
        ([True], TypeError, "adversaries must be agent indices given as integers"),
        ([1.0], TypeError, "adversaries must be agent indices given as integers"),
    ):
        with pytest.raises(err, match=match):
            adversary_weight(fj, bad)


def test_agent_indices_elsewhere_use_the_same_check():
    from multiagent.adversary import Adversary, Scenario, debate, simulate
    from multiagent.plot import plot_trajectories

    with pytest.raises(TypeError, match="adversary position must be .* given as integers"):
        Scenario(adversaries=(Adversary(True),)).adversary_nodes()  # was agent 1
    sc = Scenario(adversaries=(Adversary(),))
    S = np.full((6, 5), 0.2)
    with pytest.raises(ValueError, match=r"nodes: expected one agent index per adversary"):
        debate(sc, sc.model(), S, 0, nodes=[0, 1])  # zip dropped the second one
    with pytest.raises(TypeError, match="nodes must be agent indices given as integers"):
        debate(sc, sc.model(), S, 0, nodes=[True])
    with pytest.raises(TypeError, match="adversaries must be agent indices"):
        plot_trajectories(np.zeros((3, 4)), adversaries=[True])
    # a debate of adversaries only has no benign agent: the weight is undefined, not an error
    res = simulate(Scenario(n=2, adversaries=(Adversary(0), Adversary(1))), questions=1)
    assert np.isnan(res.metrics["adversary_weight"])


def test_opinion_indices_check_shapes_values_and_weights():
    z = np.array([1.0, 0.0, 0.5])
    A = np.ones((3, 3)) - np.eye(3)
    assert internal_conflict(z, z[::-1]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match=r"s has shape \(1,\) but z has \(3,\)"):
        internal_conflict(z, np.array([0.2]))  # broadcast to 0.77
    with pytest.raises(ValueError, match=r"s has shape \(3, 2\) but z has \(3,\)"):
        internal_conflict(z, np.ones((3, 2)))  # broadcast to 2.5
    with pytest.raises(ValueError, match=r"s\[1\] \(agent 1\) is not finite"):
        internal_conflict(z, np.array([0.0, np.nan, 0.0]))
    neg = -A
    with pytest.raises(ValueError, match=r"adjacency\[0, 1\] = -1 < 0"):
        disagreement(z, neg)  # was -1.0
    with pytest.raises(ValueError, match=r"adjacency must be \(3, 3\) for the 3 agents of z"):
        disagreement(z, np.ones((2, 2)))  # was a broadcast error
    with pytest.raises(ValueError, match=r"adjacency\[0, 1\] \(agent 0\) is not finite"):
        disagreement(z, np.where(A > 0, np.nan, 0.0))
    with pytest.raises(ValueError, match=r"z\[1\] \(agent 1\) is not finite"):
        polarization([1.0, np.nan])  # was nan
    with pytest.raises(ValueError, match=r"z\[0\] \(agent 0\) is not finite"):
        controversy(np.array([np.inf, 0.0]))
    with pytest.raises(ValueError, match=r"z must have shape \(n,\) or \(n, K\)"):
        polarization(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match=r"s must have shape \(n,\) or \(n, K\) with n = 3"):
        opinion_indices(A, np.ones(4))
    with pytest.raises(ValueError, match=r"adjacency\[0, 1\] = -1 < 0"):
        classic_fj(neg)


def test_a_model_in_place_of_the_adjacency_is_refused_by_name():
    # opinion_indices(model, s) failed in scipy with "missing 1 required positional
    # argument: 'shape'", naming no argument of ours
    A = np.ones((3, 3)) - np.eye(3)
    model = classic_fj(A)
    s = np.array([1.0, 0.0, 0.5])
    for call in (lambda: opinion_indices(model, s), lambda: classic_fj(model),
                 lambda: disagreement(s, model)):
        with pytest.raises(TypeError, match=r"^adjacency: expected an \(n, n\) weight matrix, "
                                            r"got a FriedkinJohnsen model"):
            call()
    assert opinion_indices(A, s)["disagreement"] == pytest.approx(disagreement(
        model.equilibrium(s), A))


@pytest.mark.parametrize("layout", ["dense", "sparse"])
def test_torch_model_casts_tensor_beliefs_to_its_dtype(layout):
    # numpy beliefs were cast to the model's dtype; float64 tensors made matmul/solve fail
    W = torch.tensor(W3, dtype=torch.float32)
    fj = FriedkinJohnsen(W if layout == "dense" else W.to_sparse(), 0.2, 0.5)
    b64 = torch.tensor([1.0, 0.0, 0.5], dtype=torch.float64, requires_grad=True)
    b32 = b64.detach().to(torch.float32)
    for method, args in (("step", ()), ("rollout", (3,)), ("equilibrium", ()), ("solve", ())):
        got = getattr(fj, method)(b64, *args)
        assert got.dtype == torch.float32
        torch.testing.assert_close(got, getattr(fj, method)(b32, *args))
        torch.testing.assert_close(got, getattr(fj, method)(b32.numpy(), *args))
    fj.step(b64).sum().backward()  # the cast keeps the graph
    assert b64.grad is not None and b64.grad.dtype == torch.float64


def _float32_trust(n: int = 7, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    W = rng.random((n, n)).astype(np.float32)
    np.fill_diagonal(W, 0)
    W /= W.sum(axis=1, keepdims=True)  # row sums within a few float32 eps of 1
    return W


@pytest.mark.parametrize("backend", ["numpy", "scipy", "torch"])
def test_float32_row_stochastic_trust_is_accepted(backend: str) -> None:
    # a float32 row sums to 1 only up to ~1e-7; a 1e-8 tolerance rejected most such W
    # ("row 1 of W (agent 1) sums to 1, expected 1")
    W = _float32_trust()
    Wb = {"numpy": W, "scipy": sp.csr_array(W), "torch": torch.tensor(W)}[backend]
    gamma, alpha = 0.3, 0.4
    fj = FriedkinJohnsen(Wb, gamma, alpha)
    W64 = W.astype(np.float64)
    n = W.shape[0]
    H = (1 - gamma) * (alpha * np.eye(n) + (1 - alpha) * W64)
    M = np.linalg.solve(np.eye(n) - H, gamma * np.eye(n))
    got = fj.influence_matrix()
    got = got.numpy() if isinstance(got, torch.Tensor) else got
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, M, atol=1e-5)


def test_float32_rows_far_from_one_still_rejected() -> None:
    W = _float32_trust()
    W[2] *= np.float32(1.001)
    with pytest.raises(ValueError, match="row 2 of W"):
        FriedkinJohnsen(W, 0.3, 0.4)


def test_simulate_negative_rounds_named() -> None:
    with pytest.raises(ValueError, match="rounds"):
        simulate(Scenario(rounds=-1))


def test_simulate_questions_bool_named() -> None:
    with pytest.raises(ValueError, match="questions must be a positive integer"):
        simulate(Scenario(), questions=True)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"p_correct": 1.5}, "p_correct"),
        ({"p_correct": float("nan")}, "p_correct"),
        ({"confidence": 1.5}, "confidence"),
        ({"concentration": -1.0}, "concentration"),
        ({"concentration": 0.0}, "concentration"),
    ],
)
def test_simulate_belief_distribution_arguments_named(kwargs: dict, name: str) -> None:
    # p_correct > 1 was read as 1 silently; the others failed with numpy's "alpha < 0"
    with pytest.raises(ValueError, match=name):
        simulate(Scenario(), **kwargs)
    with pytest.raises(ValueError, match=name):
        run_trust_stream(Scenario(), questions=1, warmup=0, **kwargs)


@pytest.mark.parametrize(("kwargs", "name"), [({"questions": -1}, "questions"),
                                              ({"warmup": -2, "questions": 1}, "warmup")])
def test_run_trust_stream_negative_counts_named(kwargs: dict, name: str) -> None:
    # a short or empty table came back without an error
    with pytest.raises(ValueError, match=name):
        run_trust_stream(Scenario(), **kwargs)


def test_error_decomposition_router_shape_named() -> None:
    beliefs = np.full((2, 3, 2), 0.5)
    with pytest.raises(ValueError, match="router must have shape"):
        error_decomposition(beliefs, [0, 1], np.full(2, 0.5))
    with pytest.raises(ValueError, match="router must have shape"):
        error_decomposition(beliefs, [0, 1], np.full((3, 3), 1 / 3))


@pytest.mark.parametrize("beta", [float("nan"), float("inf")])
def test_confidence_router_beta_must_be_finite(beta: float) -> None:
    # gave NaN weights (documented to sum to 1) without an error
    b = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]])
    with pytest.raises(ValueError, match="beta"):
        confidence_router(b, beta=beta)


@pytest.mark.parametrize(("n", "m", "name"), [(0, 5, "n"), (5, -1, "m")])
def test_random_graph_counts_named(n: int, m: int, name: str) -> None:
    with pytest.raises(ValueError, match=rf"^{name}:"):
        random_graph(n, m, seed=0)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"gamma_prior": (-1.0, 2.0)}, "gamma_prior"), ({"alpha_prior": (2.0, 0.0)}, "alpha_prior"),
     ({"trust_concentration": 0.0}, "trust_concentration"),
     ({"noise_scale": -0.1}, "noise_scale")],
)
def test_fit_fj_bayes_priors_named(kwargs: dict, name: str) -> None:
    X = simulate_transcript(3, 3, 2, gamma=0.2, alpha=0.3, seed=0)
    with pytest.raises(ValueError, match=name):
        fit_fj_bayes(X, num_steps=1, num_samples=2, **kwargs)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("gamma", ["a", [0.1, "x", 0.2]])
def test_non_numeric_gamma_named(backend: str, gamma: object) -> None:
    W = (np.ones((3, 3)) - np.eye(3)) / 2
    Wb = torch.tensor(W) if backend == "torch" else W
    with pytest.raises(TypeError, match="gamma"):
        FriedkinJohnsen(Wb, gamma, 0.5)


def test_apply_H_shape_named() -> None:
    fj = FriedkinJohnsen((np.ones((3, 3)) - np.eye(3)) / 2, 0.2, 0.5)
    with pytest.raises(ValueError, match="X must have shape"):
        fj.apply_H(np.ones(4))


def _float32_model(backend: str, W: np.ndarray):
    """A float32 FJ model of ``W`` in ``backend``, its beliefs and the float64 answer."""
    conv = {"numpy": np.asarray, "scipy": sp.csr_array,
            "torch": lambda x: torch.tensor(x)}[backend]
    g, s = np.linspace(0.1, 0.5, 40), np.linspace(0.0, 1.0, 40)
    ref = FriedkinJohnsen(W.astype(np.float64), g, 0.3).equilibrium(s, method="direct")
    return FriedkinJohnsen(conv(W.astype(np.float32)), g, 0.3), s.astype(np.float32), ref


@pytest.mark.parametrize("backend", ["numpy", "scipy", "torch"])
def test_float32_symmetrisable_trust_is_detected_for_cg(backend: str) -> None:
    # before: diag(row counts) W of a float32 D^-1 A is symmetric only to ~1e-7, above the
    # 1e-12 tolerance, so method="cg" raised "needs a symmetrisable W" (and "auto" never
    # chose CG for float32 models)
    A = random_graph(40, 160, seed=1).toarray()
    A[np.arange(39), np.arange(1, 40)] = A[np.arange(1, 40), np.arange(39)] = 1  # connected
    W = (A / A.sum(axis=1, keepdims=True)).astype(np.float32)
    fj, s32, ref = _float32_model(backend, W)
    g, s = np.linspace(0.1, 0.5, 40), np.linspace(0.0, 1.0, 40)
    z = fj.equilibrium(s32, method="cg")
    assert fj.info_["method"] == "cg"
    np.testing.assert_allclose(np.asarray(z, dtype=np.float64), ref, atol=1e-5)
    # an asymmetric float32 W is still refused
    T = np.random.default_rng(0).random((40, 40)) * A
    asym = FriedkinJohnsen((T / T.sum(axis=1, keepdims=True)).astype(np.float32), g, 0.3)
    with pytest.raises(ValueError, match="symmetrisable"):
        asym.equilibrium(s, method="cg")


@pytest.mark.parametrize("backend", ["numpy", "scipy", "torch"])
def test_float32_fixed_point_converges_at_the_default_tolerance(backend: str) -> None:
    # before: a float32 residual stalls near 6e-8, so method="fixed_point" at the default
    # tol = 1e-10 ran all 10 n + 1000 iterations and raised ConvergenceError
    A = random_graph(40, 160, seed=1).toarray()
    A[np.arange(39), np.arange(1, 40)] = 1
    T = np.random.default_rng(0).random((40, 40)) * A
    fj, s32, ref = _float32_model(backend, (T / T.sum(axis=1, keepdims=True)).astype(np.float32))
    z = fj.equilibrium(s32, method="fixed_point")
    assert fj.info_["iterations"] < 200
    np.testing.assert_allclose(np.asarray(z, dtype=np.float64), ref, atol=1e-5)


@pytest.mark.parametrize("W", [W3.astype(np.float16), torch.tensor(W3, dtype=torch.float16),
                               torch.tensor(W3, dtype=torch.bfloat16)],
                         ids=["numpy-float16", "torch-float16", "torch-bfloat16"])
def test_half_precision_trust_is_refused_by_name(W) -> None:
    # scipy's "does not support dtype float16" and "Got unsupported ScalarType BFloat16"
    with pytest.raises(ValueError, match="W: .*float16.* too coarse"):
        FriedkinJohnsen(W, 0.3, 0.2)


def _permuted_frame(M: np.ndarray, order: list[int]) -> object:
    """``M`` as a DataFrame labelled a, b, c..., its columns listed in ``order``."""
    pd = pytest.importorskip("pandas")
    labels = [chr(ord("a") + i) for i in range(M.shape[0])]
    frame = pd.DataFrame(M, index=labels, columns=labels)
    return frame[[labels[j] for j in order]]


def test_dataframe_matrices_are_read_by_label_not_position():
    from multiagent import TrustAdaptiveDefense, fit_fj
    from multiagent.agents import ScriptedFJAgent, run_debate
    from multiagent.dynamics import fj_step

    A = np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]], dtype=float)  # a star, hub 0
    T = np.array([[0, 2, 1], [3, 0, 1], [1, 5, 0]], dtype=float)
    order = [2, 0, 1]
    FA, FW = _permuted_frame(A, order), _permuted_frame(W3, order)
    FT = _permuted_frame(T, [1, 2, 0])
    assert np.array_equal(FriedkinJohnsen(FW, 0.2, 0.5).W, W3)
    assert np.array_equal(FriedkinJohnsen.from_adjacency(FA, 0.2, 0.5).W,
                          FriedkinJohnsen.from_adjacency(A, 0.2, 0.5).W)
    # a trust frame follows the adjacency frame's agents, whatever its own row order
    assert np.array_equal(
        FriedkinJohnsen.from_adjacency(FA, 0.2, 0.5, trust=FT.iloc[[2, 0, 1]]).W,
        FriedkinJohnsen.from_adjacency(A, 0.2, 0.5, trust=T).W)
    b = np.array([1.0, 0.0, 0.5])
    assert np.array_equal(fj_step(b, b, FW, 0.2, 0.5), fj_step(b, b, W3, 0.2, 0.5))
    assert disagreement(b, FA) == disagreement(b, A)
    assert np.array_equal(classic_fj(FA).W, classic_fj(A).W)  # refused as asymmetric before
    d = TrustAdaptiveDefense(3)
    d.trust = T / 5
    assert np.array_equal(d.weights(FA), d.weights(A))
    assert np.array_equal(Scenario(n=3).model(trust=FT).W, Scenario(n=3).model(trust=T).W)
    X = np.array([[[1.0, 0], [0, 1], [0.5, 0.5]], [[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]])
    fit = fit_fj(X, adjacency=_permuted_frame(A, order), learn_trust=False, max_steps=2)
    assert np.array_equal(fit.W, fit_fj(X, adjacency=A, learn_trust=False, max_steps=2).W)
    agents = [ScriptedFJAgent(i, X[0, i], 0.2, 0.5, np.ones(3)) for i in range(3)]
    beliefs, _ = run_debate(agents, FA, options=("A", "B"), rounds=1)
    agents = [ScriptedFJAgent(i, X[0, i], 0.2, 0.5, np.ones(3)) for i in range(3)]
    assert np.array_equal(beliefs, run_debate(agents, A, options=("A", "B"), rounds=1)[0])


def test_a_scenario_reads_a_trust_frame_by_its_graph_node_labels():
    # before: the frame was read in its own row order, so a trust frame over the
    # Florentine families listed alphabetically (or over agents 0..n-1 in another order)
    # paired each listener with another family's trust
    pd = pytest.importorskip("pandas")
    import networkx as nx

    graph = nx.florentine_families_graph()
    nodes = list(graph.nodes)
    n = len(nodes)
    T = np.arange(1.0, n * n + 1).reshape(n, n)
    frame = pd.DataFrame(T, index=nodes, columns=nodes)
    shuffled = sorted(nodes)
    sc = Scenario(graph=graph)
    want = sc.model(trust=T).W
    assert np.array_equal(sc.model(trust=frame).W, want)
    assert np.array_equal(sc.model(trust=frame.loc[shuffled, shuffled[::-1]]).W, want)
    # a named topology's agents are 0..n-1: a frame over them is read by those labels
    order = [2, 0, 3, 1]
    T4 = np.arange(1.0, 17).reshape(4, 4)
    F4 = pd.DataFrame(T4).iloc[order, order]
    assert np.array_equal(Scenario(n=4).model(trust=F4).W, Scenario(n=4).model(trust=T4).W)


def test_dataframe_matrix_with_other_labels_is_refused_by_name():
    FA = _permuted_frame(np.ones((3, 3)) - np.eye(3), [0, 1, 2])
    with pytest.raises(ValueError, match=r"^adjacency: .*differ in \['c', 'z'\]"):
        FriedkinJohnsen.from_adjacency(FA.rename(columns={"c": "z"}), 0.2, 0.5)
    with pytest.raises(ValueError, match=r"^trust: .*as the matrix it goes with"):
        FriedkinJohnsen.from_adjacency(FA, 0.2, 0.5, trust=FA.rename(index={"a": "y"},
                                                                       columns={"a": "y"}))
    with pytest.raises(ValueError, match=r"^W: .*repeated labels"):
        FriedkinJohnsen(FA.set_axis(["a", "a", "b"], axis=0).set_axis(["a", "a", "b"], axis=1),
                        0.2, 0.5)


def test_labelled_beliefs_and_parameters_follow_a_labelled_model():
    # a model built from a DataFrame reads it by label, but a Series of beliefs (or of
    # gamma) over the same agents in another order was read by position: wrong answer
    pd = pytest.importorskip("pandas")
    nx = pytest.importorskip("networkx")
    frame = nx.to_pandas_adjacency(nx.florentine_families_graph())
    A = frame.to_numpy()
    rng = np.random.default_rng(0)
    s = pd.Series(rng.random(len(frame)), index=frame.index)
    g = pd.Series(rng.uniform(0.1, 0.9, len(frame)), index=frame.index)
    W = A / A.sum(1, keepdims=True)
    closed = np.linalg.solve(np.eye(len(A)) - (1 - g.to_numpy())[:, None] * W,
                             g.to_numpy() * s.to_numpy())  # x* = (I - (I - G) W)^-1 G s
    shuffled = s.sample(frac=1.0, random_state=1)
    by_label = g.sample(frac=1.0, random_state=2)
    for model in (FriedkinJohnsen.from_adjacency(frame, by_label, 0.0),
                  FriedkinJohnsen(frame / frame.sum(axis=1).to_numpy()[:, None], g.iloc[::-1],
                                  0.0)):
        np.testing.assert_allclose(model.equilibrium(shuffled), closed, atol=1e-12)
        np.testing.assert_allclose(model.rollout(shuffled, 2)[0], s.to_numpy())
        np.testing.assert_allclose(model.step(shuffled.to_frame()),
                                   model.step(s.to_numpy()[:, None]))
        with pytest.raises(ValueError, match=r"^S: .*differ in \['Medici', 'Nobody'\]"):
            model.equilibrium(s.rename({"Medici": "Nobody"}))
    # a default RangeIndex stays positional, as an array
    model = FriedkinJohnsen.from_adjacency(frame, g, 0.0)
    np.testing.assert_allclose(model.equilibrium(pd.Series(s.to_numpy())), closed, atol=1e-12)


def _florentine() -> tuple[object, np.ndarray, object, object]:
    """Florentine families as a labelled adjacency, a labelled opinion Series and its shuffle."""
    pd = pytest.importorskip("pandas")
    nx = pytest.importorskip("networkx")
    frame = nx.to_pandas_adjacency(nx.florentine_families_graph())
    s = pd.Series(np.random.default_rng(0).random(len(frame)), index=frame.index)
    return frame, frame.to_numpy(), s, s.sample(frac=1.0, random_state=1)


def test_fj_step_and_apply_H_read_labelled_vectors_by_the_frame_labels():
    # fj_step with W a DataFrame read W by label, but beliefs, gamma and alpha given as
    # Series / DataFrames failed in pandas ("Multi-dimensional indexing"), and apply_H of a
    # labelled model returned a frame of NaN
    from multiagent.dynamics import fj_step

    frame, A, s, shuffled = _florentine()
    W = A / A.sum(1, keepdims=True)
    Wf = frame / frame.sum(axis=1).to_numpy()[:, None]
    g = np.linspace(0.1, 0.9, len(A))
    gs = s.copy()
    gs[:] = g
    x = s.to_numpy()
    closed = g * x + (1 - g) * (0.2 * x + 0.8 * W @ x)  # gamma s + (1-gamma)(a b + (1-a) W b)
    out = fj_step(shuffled, shuffled, Wf, gs.iloc[::-1], 0.2)
    np.testing.assert_allclose(out, closed, atol=1e-14)
    out2 = fj_step(shuffled.to_frame(), x[:, None], Wf, g, shuffled * 0 + 0.2)
    np.testing.assert_allclose(out2[:, 0], closed, atol=1e-14)
    np.testing.assert_allclose(fj_step(x, x, Wf, g, 0.2), closed, atol=1e-14)  # as before
    with pytest.raises(ValueError, match=r"^B: .*differ in \['Medici', 'Nobody'\]"):
        fj_step(s.rename({"Medici": "Nobody"}), x, Wf, g, 0.2)
    model = FriedkinJohnsen(Wf, gs, 0.2)
    np.testing.assert_allclose(model.apply_H(shuffled), (1 - g) * (0.2 * x + 0.8 * W @ x),
                               atol=1e-14)
    np.testing.assert_allclose(model.apply_H(shuffled.to_frame())[:, 0], model.apply_H(x),
                               atol=1e-14)


def test_opinion_indices_read_labelled_opinions_by_the_adjacency_labels():
    # disagreement(z, A_frame), classic_fj(A_frame).equilibrium(s) and opinion_indices read
    # a labelled Series by position: a wrong answer, with no error
    frame, A, s, shuffled = _florentine()
    x = s.to_numpy()
    L = np.diag(A.sum(1)) - A
    z = np.linalg.solve(np.eye(len(A)) + L, x)  # classic FJ: z = (I + L)^-1 s
    D = 0.5 * sum(A[i, j] * (z[i] - z[j]) ** 2 for i in range(len(A)) for j in range(len(A)))
    zs = shuffled.copy()
    zs[:] = z[[frame.index.get_loc(k) for k in shuffled.index]]  # z by label, shuffled
    assert disagreement(zs, frame) == pytest.approx(D, rel=1e-12)
    assert disagreement(z, frame) == pytest.approx(D, rel=1e-12)  # arrays: by position
    np.testing.assert_allclose(classic_fj(frame).equilibrium(shuffled), z, atol=1e-12)
    out = opinion_indices(frame, shuffled)
    np.testing.assert_allclose(out["z"], z, atol=1e-12)  # in the order of frame's index
    assert out["disagreement"] == pytest.approx(D, rel=1e-12)
    assert out["internal_conflict"] == pytest.approx(((z - x) ** 2).sum(), rel=1e-12)
    # two labelled opinion vectors are paired by label
    assert internal_conflict(zs, s) == pytest.approx(((z - x) ** 2).sum(), rel=1e-12)
    with pytest.raises(ValueError, match=r"^z: .*differ in \['Medici', 'Nobody'\]"):
        disagreement(zs.rename({"Medici": "Nobody"}), frame)
    with pytest.raises(ValueError, match=r"^s: .*differ in \['Medici', 'Nobody'\]"):
        internal_conflict(zs, s.rename({"Medici": "Nobody"}))


def test_trust_update_reads_labelled_correctness_by_the_adjacency_labels():
    # update(correct, adjacency=A_frame) read a labelled Series of correctness by position
    pd = pytest.importorskip("pandas")
    from multiagent import TrustAdaptiveDefense

    labels = ["a", "b", "c"]
    A = pd.DataFrame(np.ones((3, 3)) - np.eye(3), index=labels, columns=labels)
    correct = pd.Series([True, False, False], index=labels)  # only a was right
    d = TrustAdaptiveDefense(3, lr=1.0, momentum=0.0)
    d.trust[:] = 0.5
    d.update(correct.iloc[[2, 0, 1]], adjacency=A)
    # one step of size lr toward 1 (a, right) or 0 (b, c, wrong): trust 1, 0, 0 in a, b, c
    np.testing.assert_allclose(d.trust, np.tile([1.0, 0.0, 0.0], (3, 1)))
    with pytest.raises(ValueError, match=r"^correct: .*differ in \['a', 'z'\]"):
        d.update(correct.rename({"a": "z"}), adjacency=A)


def test_a_range_indexed_series_over_agents_labelled_0_to_n_in_another_order_is_refused():
    # a model from nx.to_pandas_adjacency with integer nodes listed [2, 0, 1, 3] read
    # pd.Series(g) by position and pd.Series(g, index=[0, 1, 2, 3]) by label: two gammas
    # from Series that pandas' .equals() calls the same
    import pandas as pd

    G = nx.DiGraph()
    G.add_edges_from([(2, 0), (0, 1), (1, 3), (3, 2), (2, 1)])
    frame = nx.to_pandas_adjacency(G)
    assert list(frame.index) == [2, 0, 1, 3]
    g = [0.1, 0.2, 0.3, 0.4]
    by_label = FriedkinJohnsen(frame, pd.Series(g, index=pd.Index([0, 1, 2, 3])), 0.0,
                               normalise=True)
    np.testing.assert_allclose(by_label.gamma, [0.3, 0.1, 0.2, 0.4])
    with pytest.raises(ValueError, match=r"gamma: a Series / DataFrame with the default "
                                         r"RangeIndex is ambiguous.*0\.\.3.*\.to_numpy\(\)"):
        FriedkinJohnsen(frame, pd.Series(g), 0.0, normalise=True)
    positional = FriedkinJohnsen(frame, pd.Series(g).to_numpy(), 0.0, normalise=True)
    np.testing.assert_allclose(positional.gamma, g)
    # labels 0..n-1 in their own order: by position and by label agree, nothing to refuse
    inorder = nx.to_pandas_adjacency(G, nodelist=[0, 1, 2, 3])
    np.testing.assert_allclose(FriedkinJohnsen(inorder, pd.Series(g), 0.0,
                                               normalise=True).gamma, g)


_PEOPLE = ["alice", "bob", "carol", "dave", "erin"]


def _people() -> tuple[object, object]:
    """A 5-person weighted adjacency (rows listen) and opinions by name in another order."""
    import pandas as pd

    A = pd.DataFrame([[0, 1, 3, 0, 0], [2, 0, 0, 1, 0], [0.5, 0, 0, 0, 0], [1, 0, 0, 0, 0],
                      [0, 4, 0, 0, 0]], index=_PEOPLE, columns=_PEOPLE, dtype=float)
    return A, pd.Series({"erin": 7.0, "bob": 1.0, "alice": 4.0, "carol": 6.0, "dave": 2.0})


def test_a_named_series_given_to_a_model_without_names_is_refused():
    # a model built from a numpy / scipy / torch matrix has no agent names, and a Series
    # indexed by names (or by integers in another order) was read by position: alice's
    # equilibrium 5.531 (erin's opinion taken for hers) where by name it is 4.248
    import pandas as pd

    from multiagent import TrustAdaptiveDefense
    from multiagent.dynamics import fj_step

    A, s = _people()
    x = s[_PEOPLE].to_numpy()
    named = FriedkinJohnsen.from_adjacency(A, 0.3, 0.2)
    np.testing.assert_allclose(named.equilibrium(s)[0], 4.24767504, atol=1e-8)
    refusal = (r"^S: a pandas Series indexed by \['erin', 'bob', .*\] is paired with the "
               r"agents by label, but the model, built from a numpy / scipy / torch matrix, has no "
               r"agent names, .*S\.to_numpy\(\)")
    for matrix in (A.to_numpy(), sp.csr_array(A.to_numpy()), torch.tensor(A.to_numpy())):
        with pytest.raises(ValueError, match=refusal):
            FriedkinJohnsen.from_adjacency(matrix, 0.3, 0.2).equilibrium(s)
    model = FriedkinJohnsen.from_adjacency(A.to_numpy(), 0.3, 0.2)
    shuffled = pd.Series(x[[4, 1, 0, 2, 3]], index=[4, 1, 0, 2, 3])  # numbers, not in order
    one_based = pd.Series(x, index=pd.RangeIndex(1, 6))  # ids 1..5, not positions 0..4
    for given in (shuffled, one_based, s.to_frame()):
        with pytest.raises(ValueError, match="has no agent names"):
            model.equilibrium(given)
    with pytest.raises(ValueError, match=r"^B: .*the model, built from"):
        model.step(s)
    with pytest.raises(ValueError, match=r"^S: .*has no agent names"):
        model.rollout(s, 2)
    with pytest.raises(ValueError, match=r"^X: .*has no agent names"):
        model.apply_H(s)
    with pytest.raises(ValueError, match=r"^gamma: .*has no agent names"):
        FriedkinJohnsen.from_adjacency(A.to_numpy(), s * 0 + 0.3, 0.2)
    with pytest.raises(ValueError, match=r"^alpha: .*has no agent names"):
        FriedkinJohnsen(model.W, 0.3, s * 0 + 0.2)
    with pytest.raises(ValueError, match=r"^B: .*has no agent names"):
        fj_step(s, x, model.W, 0.3, 0.2)
    sym = A.to_numpy() + A.to_numpy().T
    with pytest.raises(ValueError, match=r"^z: .*but adjacency, a numpy / scipy / torch "
                                         r"matrix, has no agent names.*pass adjacency as a "
                                         r"pandas DataFrame"):
        disagreement(s, sym)
    with pytest.raises(ValueError, match=r"^s: .*but adjacency, a numpy"):
        opinion_indices(sym, s)
    with pytest.raises(ValueError, match=r"^correct: .*has no agent names"):
        TrustAdaptiveDefense(5).update(s > 3)
    # by position, as before, for arrays and for an index 0..n-1 in order
    ref = model.equilibrium(x)
    for given in (pd.Series(x), pd.Series(x, index=pd.Index([0, 1, 2, 3, 4])),
                  pd.Series(x, index=np.arange(5, dtype=np.uint8))):
        np.testing.assert_array_equal(model.equilibrium(given), ref)
    np.testing.assert_array_equal(model.equilibrium(pd.DataFrame({"o": x})), ref[:, None])
    np.testing.assert_array_equal(model.step(pd.Series(x)), model.step(x))
    assert disagreement(pd.Series(x), sym) == disagreement(x, sym)
    # and a named model reads a named Series by name
    np.testing.assert_allclose(named.equilibrium(s), ref, atol=1e-12)
    np.testing.assert_allclose(disagreement(s, pd.DataFrame(sym, index=A.index,
                                                            columns=A.index)),
                               disagreement(x, sym), rtol=1e-12)
    # a named model refuses numbers 1..5 that are not its names, which it read by position
    with pytest.raises(ValueError, match=r"^S: a labelled Series .*differ in .*; pass "
                                         r"S\.to_numpy\(\) to read it by position$"):
        named.equilibrium(one_based)


def test_internal_conflict_refuses_one_named_and_one_positional_opinion_vector():
    # internal_conflict(z, s) with z an array (what equilibrium returns) and s a Series by
    # names in another order paired them by position: 12.573 where ||z - s||^2 = 11.7495
    # (= opinion_indices(A, s)['internal_conflict'])
    import pandas as pd

    G = nx.Graph()
    G.add_weighted_edges_from([("alice", "bob", 1), ("bob", "carol", 2), ("carol", "dave", 1),
                               ("dave", "alice", 0.5)])
    A = nx.to_pandas_adjacency(G)
    s = pd.Series({"dave": 7.0, "carol": 1.0, "bob": 2.0, "alice": 6.0})
    z = classic_fj(A).equilibrium(s)  # in A's order: alice, bob, carol, dave
    known = 11.749519415609381
    assert opinion_indices(A, s)["internal_conflict"] == pytest.approx(known, rel=1e-12)
    both = r"^z and s: {} is a pandas \w+ indexed by .* but {} is {}.*\.to_numpy\(\)"
    with pytest.raises(ValueError, match=both.format("s", "z", "an array")):
        internal_conflict(z, s)
    with pytest.raises(ValueError, match=both.format("z", "s", "an array")):
        internal_conflict(s, z)
    with pytest.raises(ValueError, match=both.format("s", "z", r"indexed by position 0\.\.3")):
        internal_conflict(pd.Series(z), s)
    with pytest.raises(ValueError, match=both.format("z", "s", "an array")):
        internal_conflict(s.to_frame(), torch.as_tensor(z))
    # both named: by name; both by position: as before
    assert internal_conflict(pd.Series(z, index=A.index), s) == pytest.approx(known, rel=1e-12)
    by_position = s[A.index].to_numpy()
    assert internal_conflict(z, by_position) == pytest.approx(known, rel=1e-12)
    assert internal_conflict(pd.Series(z), pd.Series(by_position)) == \
        internal_conflict(z, by_position)
    assert internal_conflict(z, pd.Series(by_position, index=pd.Index(range(4)))) == \
        internal_conflict(z, by_position)


_T3 = simulate_transcript(4, 4, 3, gamma=0.3, alpha=0.5, seed=1)
_ADV = Scenario(graph="ring", n=6, rounds=4)


def _adv_metrics(**adv) -> dict:
    return simulate(_ADV.with_(adversaries=(Adversary(2, **adv),)), questions=2).metrics


# each call gives the same answer for a Python number and for the numpy scalar, 0-d array or
# 0-d tensor a loop over np.arange / a float array / a tensor hands over
_AS_NUMPY_OR_TORCH = {
    # networkx read m=np.array(2) as a container of nodes: another graph
    "make_graph m": (lambda m: sorted(make_graph("ba", 8, m=m, seed=1).edges), 2, np.array),
    "make_graph m tensor": (lambda m: sorted(make_graph("ba", 8, m=m, seed=1).edges), 2,
                            torch.tensor),
    # "unhashable type: 'numpy.ndarray'" in the debate's set of wake-up rounds
    "Adversary sleeper": (lambda s: _adv_metrics(sleeper=s), 2, np.array),
    # "unsupported operand type(s) for *=: 'numpy.ndarray' and 'Tensor'"
    "Adversary persuasion": (lambda p: _adv_metrics(persuasion=p), 0.5,
                             lambda v: torch.tensor(v, dtype=torch.float64)),
    # refused: "questions must be a positive integer, got array(2)"
    "simulate questions": (lambda q: simulate(_ADV, questions=q).metrics, 2, np.array),
    "apply_defense distrust": (lambda s: apply_defense(_ADV.with_(adversaries=(
        Adversary("hub"),)), "distrust", s).model().W.tolist(), 0.5,
        lambda v: torch.tensor(v, dtype=torch.float64)),
    "fit_sparse_trust keep": (lambda k: fit_sparse_trust(_T3, k, max_steps=2).W.tolist(), 2,
                              torch.tensor),
    # "Concatenation operation is not implemented for NumPy arrays"
    "simulate_transcript noise": (lambda v: simulate_transcript(
        4, 3, 3, gamma=0.3, alpha=0.5, noise=v, seed=1).tolist(), 0.01,
        lambda v: torch.tensor(v, dtype=torch.float64)),
    # torch.zeros(requires_grad=np.False_): "must be bool, not numpy.bool"
    "fit_fj learn_trust": (lambda f: fit_fj(_T3, learn_trust=f, max_steps=2).W.tolist(), False,
                           np.bool_),
}


@pytest.mark.parametrize("case", list(_AS_NUMPY_OR_TORCH))
def test_numpy_and_torch_scalars_give_the_python_answer(case: str) -> None:
    call, value, cast = _AS_NUMPY_OR_TORCH[case]
    assert call(cast(value)) == call(value)


def test_ba_graph_of_a_0d_m_has_m_edges_per_new_node() -> None:
    assert make_graph("ba", 8, m=np.array(2), seed=1).number_of_edges() == 2 * (8 - 2)


def _fj():
    return FriedkinJohnsen(W3, 0.3, 0.5)


# a bool (an int in Python), text or a fraction where a count or number is expected: refused
# by name, not read as 1, taken, or failing deep inside
_REFUSED = {
    "make_graph m=True": (lambda: make_graph("ba", 6, m=True), "m"),
    "make_graph p=True": (lambda: make_graph("er", 6, p=True), "p"),
    "Adversary sleeper=True": (lambda: _adv_metrics(sleeper=True), "sleeper"),
    "Adversary target=True": (lambda: _adv_metrics(target=True), "target"),
    "Adversary target=3.5": (lambda: _adv_metrics(target=3.5), "target"),
    "run_trust_stream attack_after='3'": (lambda: run_trust_stream(
        _ADV, questions=2, warmup=1, attack_after="3"), "attack_after"),
    "run_trust_stream attack_after=1.5": (lambda: run_trust_stream(
        _ADV, questions=2, warmup=1, attack_after=1.5), "attack_after"),
    "apply_defense more_agents True": (lambda: apply_defense(_ADV, "more_agents", True),
                                       "strength"),
    "apply_defense stubbornness '0.5'": (lambda: apply_defense(_ADV, "stubbornness", "0.5"),
                                         "strength"),
    "fit_fj max_steps=True": (lambda: fit_fj(_T3, max_steps=True), "max_steps"),
    "fit_fj max_steps='5'": (lambda: fit_fj(_T3, max_steps="5"), "max_steps"),
    "fit_fj tol='x'": (lambda: fit_fj(_T3, tol="x"), "tol"),
    "fit_fj learn_trust='no'": (lambda: fit_fj(_T3, learn_trust="no"), "learn_trust"),
    "fit_sparse_trust keep=True": (lambda: fit_sparse_trust(_T3, True), "keep"),
    "simulate_transcript noise=nan": (lambda: simulate_transcript(
        3, 2, 2, gamma=0.3, alpha=0.5, noise=float("nan")), "noise"),
    "rollout steps=True": (lambda: _fj().rollout(np.full((3, 2), 0.5), True), "steps"),
    "time_to_equilibrium max_steps=True": (lambda: time_to_equilibrium(
        _fj(), np.full(3, 0.5), max_steps=True), "max_steps"),
    "time_to_consensus tol='x'": (lambda: time_to_consensus(_fj(), np.full(3, 0.5),
                                                            tol="x"), "tol"),
    "fit_fj_bayes num_samples=True": (lambda: fit_fj_bayes(_T3, num_samples=True), "num_samples"),
}


@pytest.mark.parametrize("case", list(_REFUSED))
def test_bools_text_and_fractions_for_numbers_refused_by_name(case: str) -> None:
    call, name = _REFUSED[case]
    with pytest.raises((TypeError, ValueError), match=rf"^{name}\b"):
        call()


@pytest.mark.parametrize("value", [True, "0.2", [0.2, True, 0.2], np.array([True, False, True])])
@pytest.mark.parametrize("name", ["gamma", "alpha"])
def test_bools_and_text_are_not_stubbornness(name: str, value) -> None:
    # before: FriedkinJohnsen(W, True, .2) and Scenario(gamma=True) read True as 1 and
    # "0.2" as 0.2, where the rest of the package refuses bools and text as numbers
    W = (np.ones((3, 3)) - np.eye(3)) / 2
    kwargs = {"gamma": 0.2, "alpha": 0.5, name: value}
    with pytest.raises(TypeError, match=rf"^{name} must be a number or a vector of 3 numbers"):
        FriedkinJohnsen(W, **kwargs)
    if not isinstance(value, bool | str):
        return
    with pytest.raises(TypeError, match=rf"^{name}: expected a real number, got"):
        Scenario(**{name: value})
    # numbers of every kind still are
    assert Scenario(**{name: np.float32(0.25)}).model().gamma.shape == (6,)


_HALF = {"numpy-float16": lambda M: M.astype(np.float16),
         "torch-float16": lambda M: torch.tensor(M, dtype=torch.float16),
         "torch-bfloat16": lambda M: torch.tensor(M, dtype=torch.bfloat16)}


@pytest.mark.parametrize("half", list(_HALF))
def test_a_half_precision_adjacency_or_trust_builds_a_float32_model(half) -> None:
    # before: scipy's "does not support dtype float16" (float16) and "Got unsupported
    # ScalarType BFloat16" (_backend.py, bfloat16) from inside the entry check
    rng = np.random.default_rng(0)
    A = rng.random((4, 4))
    given = _HALF[half](A)
    exact = np.asarray(torch.as_tensor(given).float() if half != "numpy-float16"
                       else given.astype(np.float32))  # the half values, held in float32
    ones = _HALF[half](np.ones((4, 4)))  # trust goes with an adjacency of its backend
    for fj, ref in ((FriedkinJohnsen.from_adjacency(given, 0.2, 0.5),
                     FriedkinJohnsen.from_adjacency(exact.astype(np.float64), 0.2, 0.5)),
                    (FriedkinJohnsen.from_adjacency(ones, 0.2, 0.5, trust=given),
                     FriedkinJohnsen.from_adjacency(np.ones((4, 4)), 0.2, 0.5,
                                                    trust=exact.astype(np.float64)))):
        assert str(fj.W.dtype).removeprefix("torch.") == "float32"
        assert fj.backend == ("numpy" if half == "numpy-float16" else "torch")
        s = np.linspace(0, 1, 4)
        np.testing.assert_allclose(np.asarray(fj.equilibrium(s)), ref.equilibrium(s),
                                   atol=1e-6)
    # the constructor's W is the model's own matrix: still refused, as before
    with pytest.raises(ValueError, match="W: .*float16.* too coarse"):
        FriedkinJohnsen(_HALF[half](W3), 0.2, 0.5)


@pytest.mark.parametrize("half", ["torch-float16", "torch-bfloat16"])
def test_half_precision_gamma_and_alpha_are_read_as_their_values(half) -> None:
    # before: gamma=torch.full((4,), 0.2).bfloat16() for a numpy model was refused as "must
    # be a number or a vector of 4 numbers" (numpy cannot read a bfloat16 tensor)
    g = _HALF[half](np.full(4, 0.2))
    A = np.ones((4, 4))
    for fj in (FriedkinJohnsen.from_adjacency(A, g, 0.5),
               FriedkinJohnsen.from_adjacency(A, 0.2, g)):
        assert fj.gamma.dtype == np.float64
    assert FriedkinJohnsen.from_adjacency(A, g, 0.5).gamma == pytest.approx(float(g[0]))


def test_meta_tensors_are_refused_by_name() -> None:
    # before: "Cannot copy out of meta tensor; no data!" (NotImplementedError) from deep in
    # the checks, or "gamma must be a number or a vector of 4 numbers"
    A = torch.ones(4, 4)
    meta = A.to("meta")
    calls = {"W": lambda: FriedkinJohnsen(meta / 3, 0.2, 0.5),
             "adjacency": lambda: FriedkinJohnsen.from_adjacency(meta, 0.2, 0.5),
             "trust": lambda: FriedkinJohnsen.from_adjacency(A, 0.2, 0.5, trust=meta),
             "gamma": lambda: FriedkinJohnsen.from_adjacency(A, torch.full((4,), 0.2,
                                                                           device="meta"), 0.5),
             "alpha": lambda: FriedkinJohnsen.from_adjacency(A, 0.2, torch.zeros(4,
                                                                           device="meta")),
             "S": lambda: FriedkinJohnsen.from_adjacency(A, 0.2, 0.5).equilibrium(
                 torch.zeros(4, device="meta")),
             "transcript": lambda: fit_fj(torch.zeros(3, 4, 2, device="meta"))}
    for name, call in calls.items():
        with pytest.raises(ValueError, match=rf"^{name}: is on the meta device \(a shape "
                                             r"without values\); pass a tensor with data"):
            call()


def test_a_missing_value_of_a_nullable_frame_is_named_as_nan_is() -> None:
    # before: pd.NA in a Float64 frame failed with "float() argument must be a string or a
    # real number, not 'NAType'", where NaN gets "adjacency[0, 1] (agent 0) is not finite"
    pd = pytest.importorskip("pandas")
    A = pd.DataFrame(np.ones((3, 3)), dtype="Float64")
    A.iloc[0, 1] = pd.NA
    with pytest.raises(ValueError, match=r"^adjacency\[0, 1\] \(agent 0\) is not finite"):
        FriedkinJohnsen.from_adjacency(A, 0.2, 0.5)
    W = pd.DataFrame(W3, dtype="Float64")
    W.iloc[2, 0] = pd.NA
    with pytest.raises(ValueError, match=r"^W\[2, 0\] \(agent 2\) is not finite"):
        FriedkinJohnsen(W, 0.2, 0.5)
    full = pd.DataFrame(np.ones((3, 3)), dtype="Float64")  # without a missing value: read
    np.testing.assert_allclose(FriedkinJohnsen.from_adjacency(full, 0.2, 0.5).W,
                               (np.ones((3, 3)) - np.eye(3)) / 2)


def test_read_adjacency_reads_the_quotes_r_escapes_with_a_backslash(tmp_path) -> None:
    # R's write.table (qmethod = "escape") writes the name Bob "B" as "Bob \"B\"": it was
    # read as 'Bob \\B\\""', silently; write.csv's "Bob ""B""" was and is read as written
    from multiagent import read_adjacency

    names = ["Zoë", 'Bob "B"', "Cy", "a\\b"]  # R escapes quotes only: a\b stays a\b
    quoted = {"escape": ['"' + n.replace('"', '\\"') + '"' for n in names],
              "double": ['"' + n.replace('"', '""') + '"' for n in names]}
    A = np.array([[0, 1, 1, 0], [1, 0, 1, 2], [1, 1, 0, 0], [0, 3, 0, 0]])
    for qmethod, cells in quoted.items():
        matrix = tmp_path / f"{qmethod}.csv"  # write.table(m, sep=","): no corner cell
        matrix.write_text(",".join(cells) + "\n" + "".join(
            f"{cells[i]},{','.join(str(w) for w in A[i])}\n" for i in range(4)),
            encoding="utf-8")
        edges = tmp_path / f"{qmethod}_edges.csv"
        edges.write_text('"source","target","weight"\n' + "".join(
            f"{cells[j]},{cells[i]},{A[i, j]}\n" for i, j in zip(*np.nonzero(A))),
            encoding="utf-8")
        for path in (matrix, edges):
            frame = read_adjacency(path)  # an edge list's agents in the order first met
            assert frame.index.tolist() == frame.columns.tolist(), path
            assert sorted(frame.index) == sorted(names), path
            np.testing.assert_array_equal(frame.loc[names, names].to_numpy(), A)
    # a write.csv file whose names hold a backslash before a quote or at their end keeps
    # them: it is well-formed CSV as written, so its backslashes escape nothing
    odd = ['C:\\dir\\', 'say \\"hi\\"', "x"]
    cells = ['"' + n.replace('"', '""') + '"' for n in odd]
    (tmp_path / "odd.csv").write_text('"source","target"\n' + "".join(
        f"{a},{b}\n{b},{a}\n" for a, b in [(cells[0], cells[1]), (cells[1], cells[2])]))
    assert read_adjacency(tmp_path / "odd.csv").index.tolist() == odd


@pytest.mark.parametrize(("labels", "line", "said"), [
    ({"question": ("01", "1")}, 10, "questions '01' and '1' are read as the same number; "
                                    "write each question's label one way, or use labels "
                                    "that are not numbers, such as 'q01' and 'q1')"),
    ({"option": ("1", "01")}, 3, "options '1' and '01' are read as the same option index; "
                                 "write each option's index one way, or label the options "
                                 "with text that is not a number, such as A and B)"),
    ({"option": ("1", "1.0")}, 3, "options '1' and '1.0' are read as the same option index"),
    ({"round": ("1", "01")}, 6, "rounds '1' and '01' are read as the same round index; "
                                "write each round's index one way)"),
])
def test_labels_read_as_one_number_are_named_with_what_to_do(tmp_path, labels, line,
                                                             said) -> None:
    # before: questions "01" and "1" were refused "write each question's label one way, or
    # as text" (a CSV cannot mark a field as text); options "1" and "01" (or "1.0") were
    # merged and the message said only that line 3 "repeats a (question, round, agent,
    # option)". Labels that look like numbers are numbers (README), so they are still one
    import itertools
    import re

    from multiagent import read_transcripts

    columns = {"question": ("0",), "round": ("0", "1"), "agent": ("0", "1"),
               "option": ("0", "1"), **labels}
    path = tmp_path / "t.csv"
    path.write_text("question,round,agent,option,belief\n" + "".join(
        f"{','.join(key)},0.5\n" for key in itertools.product(*columns.values())))
    with pytest.raises(ValueError, match=re.escape(
            f"t.csv: line {line} repeats a (question, round, agent, option) of line 2 "
            f"({said}")):
        read_transcripts(path)
