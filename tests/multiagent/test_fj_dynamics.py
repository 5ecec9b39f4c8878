"""FJ dynamics: rollout vs equilibrium, influence matrix, special cases, backends, solvers."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from multiagent import FriedkinJohnsen, fj_step
from multiagent.solvers import ConvergenceError
from multiagent.topologies import adjacency, make_graph, random_graph


def _reference_step(B, S, W, g, a):
    """Agent-by-agent loop, written straight from the update rule."""
    out = np.empty_like(B)
    for i in range(len(B)):
        peers = sum(W[i, j] * B[j] for j in range(len(B)))
        out[i] = g[i] * S[i] + (1 - g[i]) * (a[i] * B[i] + (1 - a[i]) * peers)
    return out


def _random_model(rng, n=12, K=None):
    A = (rng.random((n, n)) < 0.4).astype(float)
    np.fill_diagonal(A, 0)
    A[np.arange(n), (np.arange(n) + 1) % n] = 1  # strongly connected
    T = rng.random((n, n))
    g = rng.uniform(0.05, 0.9, n)
    a = rng.uniform(0, 0.9, n)
    return FriedkinJohnsen.from_adjacency(A, g, a, trust=T), g, a


def test_step_matches_agent_loop(rng):
    fj, g, a = _random_model(rng)
    S = rng.dirichlet(np.ones(4), size=fj.n)
    B = rng.dirichlet(np.ones(4), size=fj.n)
    ref = _reference_step(B, S, fj.W, g, a)
    np.testing.assert_allclose(fj.step(B, S), ref, atol=1e-15)
    np.testing.assert_allclose(fj_step(B, S, fj.W, g, a), ref, atol=1e-15)


def test_rollout_reaches_equilibrium_to_1e10(rng):
    fj, _, _ = _random_model(rng)
    S = rng.dirichlet(np.ones(5), size=fj.n)
    traj = fj.rollout(S, 2000)
    assert traj.shape == (2001, fj.n, 5)
    np.testing.assert_allclose(traj[-1], fj.equilibrium(S), atol=1e-10, rtol=0)
    np.testing.assert_allclose(traj[-1].sum(axis=1), 1, atol=1e-12)  # simplex preserved


def test_influence_matrix_rows_sum_to_one_and_match_dense_inverse(rng):
    fj, g, a = _random_model(rng)
    M = fj.influence_matrix()
    np.testing.assert_allclose(M.sum(axis=1), 1, atol=1e-12)
    assert (M >= -1e-14).all()
    H = (1 - g)[:, None] * (np.diag(a) + (1 - a)[:, None] * fj.W)
    ref = np.linalg.inv(np.eye(fj.n) - H) @ np.diag(g)
    np.testing.assert_allclose(M, ref, atol=1e-12)
    S = rng.random(fj.n)
    np.testing.assert_allclose(fj.equilibrium(S), M @ S, atol=1e-12)


def test_alpha_zero_is_classic_fj(rng):
    """Stubbornness form: x(t+1) = L x(0) + (I - L) W x(t), V = (I - (I - L) W)^-1 L."""
    n = 8
    W = rng.random((n, n))
    np.fill_diagonal(W, 0)
    W /= W.sum(1, keepdims=True)
    lam = rng.uniform(0.1, 0.9, n)
    fj = FriedkinJohnsen(W, lam, 0.0)
    V = np.linalg.solve(np.eye(n) - (1 - lam)[:, None] * W, np.diag(lam))
    np.testing.assert_allclose(fj.influence_matrix(), V, atol=1e-12)
    # susceptibility form (Friedkin; Proskurnikov-Tempo): Lambda_s = I - L
    sus = 1 - lam
    x0 = rng.random(n)
    x = x0.copy()
    for _ in range(5):
        x = sus * (W @ x) + (1 - sus) * x0
    np.testing.assert_allclose(fj.rollout(x0, 5)[-1], x, atol=1e-14)


def test_musco_classic_model_is_a_special_case(rng):
    """(I + L) z = s is FJ with gamma_i = 1/(1 + d_i), alpha = 0, W = D^-1 A."""
    G = make_graph("er", 30, p=0.2, seed=3)
    A = adjacency(G)
    d = A.sum(1)
    s = rng.random(30)
    z = np.linalg.solve(np.eye(30) + np.diag(d) - A, s)
    fj = FriedkinJohnsen.from_adjacency(A, 1 / (1 + d), 0.0)
    np.testing.assert_allclose(fj.equilibrium(s), z, atol=1e-12)


def test_gamma_zero_primitive_reaches_degroot_consensus(rng):
    G = make_graph("wheel", 9)
    fj = FriedkinJohnsen.from_adjacency(adjacency(G), 0.0, 0.3)
    s = rng.random(9)
    traj = fj.rollout(s, 600)
    assert np.ptp(traj[-1]) < 1e-12  # consensus
    pi = fj.consensus_weights()
    np.testing.assert_allclose(pi @ fj.W * 0.7 + 0.3 * pi, pi, atol=1e-12)  # stationary
    np.testing.assert_allclose(traj[-1], pi @ s, atol=1e-10)
    np.testing.assert_allclose(fj.equilibrium(s), traj[-1], atol=1e-10)
    # undirected W = D^-1 A: pi proportional to degree
    deg = adjacency(G).sum(1)
    np.testing.assert_allclose(pi, deg / deg.sum(), atol=1e-10)


def test_unreachable_agents_end_at_their_groups_time_average(rng):
    # agents 2 and 3 reach no stubborn agent and swap beliefs every round: equilibrium
    # raised ConvergenceError; it now gives their Cesàro limit, as the DeGroot path does,
    # and only the linear solve of the singular I - H is refused
    W = np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0.0]])
    fj = FriedkinJohnsen(W, [0.5, 0.5, 0.0, 0.0], 0.0)
    s = rng.random(4)
    x = fj.equilibrium(s)
    np.testing.assert_allclose(x[2:], (s[2] + s[3]) / 2, rtol=0, atol=1e-15)
    np.testing.assert_allclose(x[:2], fj.rollout(s, 200)[-1, :2], rtol=0, atol=1e-15)
    with pytest.raises(ConvergenceError, match=r"agents \[2, 3\] never reach a stubborn"):
        fj.solve(s)


def test_never_listening_agents_keep_their_belief(rng):
    fj, g, a = _random_model(rng)
    a = a.copy()
    a[3] = 1.0
    g = g.copy()
    g[3] = 0.0
    fj = FriedkinJohnsen(fj.W, g, a)
    S = rng.random(fj.n)
    x = fj.equilibrium(S)
    assert x[3] == pytest.approx(S[3])
    np.testing.assert_allclose(fj.rollout(S, 3000)[-1], x, atol=1e-10)


@pytest.mark.parametrize("method", ["cg", "bicgstab", "fixed_point"])
@pytest.mark.parametrize("kind", ["numpy", "scipy", "torch_dense", "torch_sparse"])
def test_iterative_solvers_agree_with_direct(method, kind, rng):
    A = adjacency(make_graph("ba", 300, m=3, seed=1))
    g = rng.uniform(0.05, 0.5, 300)
    g[:5] = 0.0  # some agents with no stubbornness at all
    a = rng.uniform(0, 0.8, 300)
    a[7] = 1.0  # one that never listens
    S = rng.dirichlet(np.ones(3), size=300)
    ref = FriedkinJohnsen.from_adjacency(A, g, a)
    x_ref = ref.equilibrium(S, method="direct")
    conv = {
        "numpy": lambda X: X,
        "scipy": sp.csr_array,
        "torch_dense": torch.tensor,
        "torch_sparse": lambda X: torch.tensor(X).to_sparse(),
    }[kind]
    fj = FriedkinJohnsen.from_adjacency(conv(A), g, a)
    x = fj.equilibrium(S, method=method, tol=1e-13)
    x = x.numpy() if isinstance(x, torch.Tensor) else x
    np.testing.assert_allclose(x, x_ref, atol=1e-10)
    assert fj.info_["method"] == method
    # transposed solves (social power) too
    r = rng.random(300)
    y_ref = ref.solve(r, transpose=True, method="direct")
    y = fj.solve(r, transpose=True, method=method, tol=1e-13)
    y = y.numpy() if isinstance(y, torch.Tensor) else y
    np.testing.assert_allclose(y, y_ref, atol=1e-9)


@pytest.mark.parametrize("method", ["cg", "bicgstab", "fixed_point"])
@pytest.mark.parametrize("scale", [1e-170, 1e170])
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_iterative_solvers_at_extreme_belief_scales(method, scale, backend):
    # the solvers' norms and dot products underflowed to 0 (1e-170) or overflowed (1e170):
    # "converged" after 0 iterations at X = 0 (cg, bicgstab) or one Jacobi step
    A = np.array([[0.0, 1, 0], [1, 0, 1], [0, 1, 0]])
    S = np.array([1.0, 3.0, 2.0]) * scale
    if backend == "torch":
        A, S = torch.tensor(A), torch.tensor(S)
    ref = FriedkinJohnsen.from_adjacency(A, 0.5, 0.2).equilibrium(S, method="direct")
    fj = FriedkinJohnsen.from_adjacency(A, 0.5, 0.2)
    x = fj.equilibrium(S, method=method)
    assert fj.info_["iterations"] > 0
    np.testing.assert_allclose(np.asarray(x / scale), np.asarray(ref / scale), rtol=1e-8)


def test_symmetry_detected_for_row_normalised_unweighted_graph():
    A = random_graph(2000, 8000, seed=0)
    W = sp.diags_array(1 / np.maximum(A.sum(1), 1)) @ A
    W = sp.csr_array(W + sp.diags_array((A.sum(1) == 0).astype(float)))
    fj = FriedkinJohnsen(W, 0.3, 0.2)
    x = fj.equilibrium(np.linspace(0, 1, 2000))
    assert fj.info_["method"] == "cg"
    np.testing.assert_allclose(x, fj.rollout(np.linspace(0, 1, 2000), 200)[-1], atol=1e-9)


def test_torch_follows_dtype_and_keeps_gradients():
    W = torch.tensor([[0, 0.5, 0.5], [1, 0, 0], [0.5, 0.5, 0]], dtype=torch.float32)
    fj = FriedkinJohnsen(W, 0.2, 0.5)
    S = torch.tensor([1.0, 0.0, 0.0])
    assert fj.rollout(S, 3).dtype == torch.float32
    assert fj.equilibrium(S).dtype == torch.float32
    gamma = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    out = fj_step(S.double(), S.double(), W.double(), gamma, torch.tensor(0.5, dtype=torch.float64))
    out.sum().backward()
    assert gamma.grad is not None


def test_networkx_graph_input():
    G = nx.karate_club_graph()
    fj = FriedkinJohnsen.from_adjacency(adjacency(G, weight=None), 0.2, 0.5)
    M = fj.influence_matrix()
    np.testing.assert_allclose(M.sum(1), 1, atol=1e-12)


@pytest.mark.parametrize("graph", [nx.complete_graph(4), nx.DiGraph(nx.complete_graph(4)),
                                   nx.MultiGraph(nx.complete_graph(4))])
def test_a_networkx_graph_for_a_matrix_raises_a_type_error_naming_the_fix(graph):
    # before: "array must be at least 2-d" / "W must be a square (n, n) matrix, got shape
    # (4,)" (np.asarray of a graph is its node list), naming neither the slip nor the fix
    from multiagent import TrustAdaptiveDefense, classic_fj, disagreement

    A = np.ones((4, 4)) - np.eye(4)
    fix = r"multiagent\.adjacency\(G\)"
    calls = {
        "adjacency": [lambda: FriedkinJohnsen.from_adjacency(graph, 0.2, 0.5),
                      lambda: classic_fj(graph), lambda: disagreement(np.zeros(4), graph),
                      lambda: TrustAdaptiveDefense(4).weights(graph),
                      lambda: TrustAdaptiveDefense(4).update(np.ones(4, bool), adjacency=graph)],
        "trust": [lambda: FriedkinJohnsen.from_adjacency(A, 0.2, 0.5, trust=graph)],
        "W": [lambda: FriedkinJohnsen(graph, 0.2, 0.5),
              lambda: fj_step(np.zeros(4), np.zeros(4), graph, 0.2, 0.5)],
    }
    for name, fns in calls.items():
        for fn in fns:
            with pytest.raises(TypeError, match=rf"^{name}: expected an \(n, n\) matrix, got a "
                                                rf"networkx {type(graph).__name__}; .*{fix}"):
                fn()
    with pytest.raises(TypeError, match=r"FriedkinJohnsen\.from_adjacency\(A, gamma, alpha\)"):
        FriedkinJohnsen(graph, 0.2, 0.5)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(rng):
    A = adjacency(make_graph("ba", 500, m=3, seed=0))
    S = rng.dirichlet(np.ones(4), size=500)
    ref = FriedkinJohnsen.from_adjacency(A, 0.2, 0.5)
    fj = FriedkinJohnsen.from_adjacency(torch.tensor(A, device="cuda").to_sparse(), 0.2, 0.5)
    St = torch.tensor(S, device="cuda")
    for method in ("cg", "bicgstab"):
        x = fj.equilibrium(St, method=method, tol=1e-12)
        assert x.device.type == "cuda"
        np.testing.assert_allclose(x.cpu().numpy(), ref.equilibrium(S), atol=1e-10)
    np.testing.assert_allclose(fj.rollout(St, 5).cpu().numpy(), ref.rollout(S, 5), atol=1e-12)


def test_degroot_with_a_single_leader_reaches_the_leaders_belief():
    # W is not strongly connected, yet everyone follows agent 0, who listens to nobody else
    W = np.array([[1.0, 0, 0], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    fj = FriedkinJohnsen(W, 0.0, 0.2)
    s = np.array([0.9, 0.1, 0.3])
    np.testing.assert_array_equal(fj.consensus_weights(), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(fj.equilibrium(s), fj.rollout(s, 400)[-1], atol=1e-12)
    np.testing.assert_allclose(fj.equilibrium(s), 0.9, atol=1e-12)
    # two self-listening groups: no common consensus, and the message says so (the
    # equilibrium raised it too; each group now keeps its own, agent 1 ends between them)
    W2 = np.array([[1.0, 0, 0], [0.5, 0, 0.5], [0, 0, 1.0]])
    with pytest.raises(ConvergenceError, match=r"2 groups .* agents \[\[0\], \[2\]\]"):
        FriedkinJohnsen(W2, 0.0, 0.2).consensus_weights()
    np.testing.assert_allclose(FriedkinJohnsen(W2, 0.0, 0.2).equilibrium(s), [0.9, 0.6, 0.3],
                               rtol=0, atol=1e-15)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning")
@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_normalise_gives_an_empty_row_of_a_torch_sparse_w_a_self_loop(layout):
    A = np.array([[0, 1.0, 0], [0, 0, 0], [1, 1, 0]])
    At = torch.tensor(A)
    At = At.to_sparse() if layout == "coo" else At.to_sparse_csr()
    s = np.array([0.1, 0.5, 0.9])
    dense = FriedkinJohnsen(A, 0.5, 0.2, normalise=True)
    sparse = FriedkinJohnsen(At, 0.5, 0.2, normalise=True)
    assert sparse.W.layout == At.layout
    np.testing.assert_allclose(sparse.W.to_dense().numpy(), [[0, 1, 0], [0, 1, 0], [0.5, 0.5, 0]])
    np.testing.assert_allclose(
        sparse.equilibrium(torch.tensor(s)).numpy(), dense.equilibrium(s), atol=1e-12
    )


@pytest.mark.parametrize("backend", ["numpy", "torch", "scipy"])
def test_consensus_weights_of_a_slowly_mixing_path(backend):
    # power iteration on a path (mixing time ~ n^2) left errors of 4e-9 at 200 agents and
    # ran out of its 100,000 steps at 400 (dense and sparse W); trust is reciprocal on the
    # closed group, so detailed balance gives pi exactly. Agents 1..n-1 form an undirected
    # path (W = D^-1 A, pi proportional to degree); agent 0 only listens to agent 1, so the
    # closed group is 1..n-1 and pi_0 = 0
    n = 400
    A = np.zeros((n, n))
    i = np.arange(1, n - 1)
    A[i, i + 1] = A[i + 1, i] = 1
    A[0, 1] = 1
    W = A / A.sum(axis=1, keepdims=True)
    deg = A[1:, 1:].sum(axis=1)
    expect = np.concatenate([[0.0], deg / deg.sum()])
    conv = {"numpy": np.asarray, "torch": torch.tensor, "scipy": sp.csr_array}[backend]
    fj = FriedkinJohnsen(conv(W), 0.0, 0.0)
    pi = np.asarray(fj.consensus_weights(maxiter=2000))
    np.testing.assert_allclose(pi, expect, atol=1e-14)


def test_consensus_weights_of_a_reciprocal_weighted_graph_follow_detailed_balance(rng):
    # pi_i proportional to d_i / (1 - alpha_i) for W = D^-1 A with a symmetric weighted A
    G = nx.grid_2d_graph(12, 12)
    A = nx.to_scipy_sparse_array(G, format="csr")
    A.data = rng.uniform(0.5, 2.0, A.nnz)
    A = sp.csr_array((A + A.T) / 2)
    alpha = rng.uniform(0, 0.5, A.shape[0])
    w = np.asarray(A.sum(axis=1)).ravel() / (1 - alpha)
    for adj in (A, A.toarray(), torch.tensor(A.toarray())):
        pi = np.asarray(FriedkinJohnsen.from_adjacency(adj, 0.0, alpha).consensus_weights())
        np.testing.assert_allclose(pi, w / w.sum(), rtol=1e-13)


def test_sparse_power_iteration_stops_at_its_error_not_at_its_step():
    # a biased ring is not reversible, so sparse W keeps power iteration; stopping when a step
    # fell below tol left 2.3e-10 here at tol = 1e-12 (the chain contracts by 0.9996 a step)
    n = 60
    i = np.arange(n)
    W = sp.csr_array((np.r_[np.full(n, 0.55), np.full(n, 0.45)],
                      (np.r_[i, i], np.r_[(i + 1) % n, (i - 1) % n])), shape=(n, n))
    alpha = np.random.default_rng(1).uniform(0, 0.5, n)
    exact = FriedkinJohnsen(W.toarray(), 0.0, alpha).consensus_weights()  # dense direct solve
    pi = FriedkinJohnsen(W, 0.0, alpha).consensus_weights(tol=1e-12)
    np.testing.assert_allclose(pi, exact, rtol=0, atol=1e-12)
    with pytest.raises(ConvergenceError, match="mixes slowly"):
        FriedkinJohnsen(W, 0.0, alpha).consensus_weights(maxiter=500)


def _exact_equilibrium(W, gamma, alpha, s):
    """Equilibrium in exact rational arithmetic (Gaussian elimination on Fractions).

    Rows of ``W`` are taken as stochastic (a float32 row sums to 1 only within eps): the
    diagonal of ``I - H`` is ``g_i + c_i sum_{j != i} W_ij``.
    """
    from fractions import Fraction as F

    n = len(s)
    g, a = [F(float(x)) for x in gamma], [F(float(x)) for x in alpha]
    Wf = [[F(float(x)) for x in row] for row in W]
    c = [(1 - g[i]) * (1 - a[i]) for i in range(n)]
    K = [[g[i] + c[i] * sum(Wf[i][k] for k in range(n) if k != i) if i == j
          else -c[i] * Wf[i][j] for j in range(n)] + [g[i] * F(float(s[i]))]
         for i in range(n)]
    for k in range(n):
        for i in range(k + 1, n):
            f = K[i][k] / K[k][k]
            K[i] = [x - f * y for x, y in zip(K[i], K[k])]
    x = [F(0)] * n
    for i in reversed(range(n)):
        x[i] = (K[i][n] - sum(K[i][j] * x[j] for j in range(i + 1, n))) / K[i][i]
    return np.array([float(v) for v in x])


# Dyadic weights (exact in binary) on a 5-agent graph, so the Fraction answer is the model's.
_W5 = np.array([[0, .5, .5, 0, 0], [.25, 0, .25, .5, 0], [0, .5, 0, 0, .5],
                [0, 0, 1, 0, 0], [.5, 0, 0, .5, 0]])
_S5 = np.array([0.875, -0.25, 0.5, 1.0, -0.75])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_direct_equilibrium_exact_when_every_agent_is_barely_stubborn(backend):
    # I - H has condition ~1/gamma; a plain LU solve lost ~eps/gamma (0.8 % at 2^-45)
    gamma = np.full(5, 2.0**-45)
    alpha = np.array([0.25, 0.5, 0.0, 0.125, 0.75])
    exact = _exact_equilibrium(_W5, gamma, alpha, _S5)
    if backend == "torch":
        model = FriedkinJohnsen(torch.tensor(_W5), torch.tensor(gamma), torch.tensor(alpha))
        got = model.equilibrium(torch.tensor(_S5)).numpy()
        M = model.influence_matrix().numpy()
    else:
        model = FriedkinJohnsen(_W5, gamma, alpha)
        got = model.equilibrium(_S5)
        M = model.influence_matrix()
    np.testing.assert_allclose(got, exact, rtol=0, atol=1e-14)
    np.testing.assert_allclose(M @ _S5, exact, rtol=0, atol=1e-14)


def test_direct_equilibrium_refines_at_a_moderately_small_gamma():
    # at gamma = 2^-30 one LU solve is off by ~eps/gamma (9e-10 here); the refinement must
    # start as soon as that error shows in float64, not only near gamma = 1e-14
    gamma = np.full(5, 2.0**-30)
    alpha = np.array([0.25, 0.5, 0.0, 0.125, 0.75])
    exact = _exact_equilibrium(_W5, gamma, alpha, _S5)
    got = FriedkinJohnsen(_W5, gamma, alpha).equilibrium(_S5)
    np.testing.assert_allclose(got, exact, rtol=0, atol=1e-14)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_float32_direct_equilibrium_is_accurate_to_float32(backend):
    r = np.random.default_rng(3)
    A = r.random((12, 12)) * (r.random((12, 12)) < 0.5) + np.roll(np.eye(12), 1, axis=1)
    np.fill_diagonal(A, 0)
    gamma, alpha = r.uniform(1e-5, 1e-4, 12), r.uniform(0, 0.5, 12)
    s = r.uniform(-1, 1, 12)
    f32 = [x.astype(np.float32) for x in (A, gamma, alpha, s)]
    if backend == "torch":
        model = FriedkinJohnsen.from_adjacency(*map(torch.tensor, f32[:3]))
        got = model.equilibrium(torch.tensor(f32[3]))
        assert got.dtype == torch.float32
        W, got = model.W.numpy(), got.numpy()
    else:
        model = FriedkinJohnsen.from_adjacency(*f32[:3])
        got = model.equilibrium(f32[3])
        assert got.dtype == np.float32
        W = model.W
    exact = _exact_equilibrium(W, f32[1], f32[2], f32[3])
    # one float32 LU solve was off by 4.5e-5 here (eps / gamma); now 7e-9
    np.testing.assert_allclose(got, exact, rtol=0, atol=4 * 2.0**-24)


def test_refined_direct_solve_keeps_exact_gradients(monkeypatch):
    import multiagent.dynamics as dyn

    monkeypatch.setattr(dyn, "_REFINE_ABOVE", 0.0)  # refine even at a moderate gamma
    W = torch.tensor(_W5)
    alpha = torch.tensor([0.25, 0.5, 0.0, 0.125, 0.75], dtype=torch.float64)

    def f(gamma, s):
        return FriedkinJohnsen(W, gamma, alpha).equilibrium(s, check=False)

    gamma = torch.tensor([0.1, 0.02, 0.3, 0.05, 0.2], dtype=torch.float64, requires_grad=True)
    s = torch.tensor(_S5, requires_grad=True)
    assert torch.autograd.gradcheck(f, (gamma, s))


@pytest.mark.parametrize("layout", ["dense", "sparse"])
@pytest.mark.parametrize("method", ["direct", "bicgstab"])
def test_from_adjacency_gradient_goes_through_the_row_normalisation(layout, method):
    # the row sums were read into numpy, constants to autograd: d/dT of an equilibrium of
    # W = A T / rowsum(A T) came out as if W were A T / const (2-5x off, and 18.9 instead of
    # 0 for a scale of all the trust, which leaves W as it is)
    A = torch.tensor([[0, 1, 1, 0], [1, 0, 1, 1], [1, 1, 0, 1], [0, 0, 0, 0]],
                     dtype=torch.float64)  # agent 3 hears nobody: a self-loop is added
    s = torch.tensor([0.9, 0.1, 0.4, 0.7], dtype=torch.float64)

    def f(T):
        AT = A * T
        model = FriedkinJohnsen.from_adjacency(AT if layout == "dense" else AT.to_sparse(),
                                               0.3, 0.5)
        return model.equilibrium(s, method=method)

    T = torch.tensor([[1, 2, 0.5, 1], [1, 1, 3, 0.2], [0.7, 1, 1, 2], [1, 1, 1, 1]],
                     dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(f, (T,), atol=1e-7)
    scale = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(f(T.detach() * scale).sum(), scale)
    assert abs(float(g)) < 1e-9


def test_reciprocal_consensus_weights_keep_their_gradients():
    # the closed form is computed in torch from alpha (its gradient flows); a W that needs
    # a gradient takes the dense solve, whose gradient covers any change of W
    A = torch.tensor([[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 1], [0, 0, 1, 0]],
                     dtype=torch.float64)
    W = A / A.sum(1, keepdim=True)
    alpha = torch.tensor([0.1, 0.4, 0.2, 0.3], dtype=torch.float64, requires_grad=True)
    pi = FriedkinJohnsen(W, 0.0, alpha).consensus_weights()
    d = A.sum(1) / (1 - alpha)
    torch.testing.assert_close(pi, d / d.sum())
    (g_closed,) = torch.autograd.grad(pi[0], alpha)
    (g_expect,) = torch.autograd.grad((d / d.sum())[0], alpha)
    torch.testing.assert_close(g_closed, g_expect)
    Wg = W.clone().requires_grad_(True)
    pi_w = FriedkinJohnsen(Wg, 0.0, alpha.detach()).consensus_weights()
    torch.testing.assert_close(pi_w, pi.detach())
    (gW,) = torch.autograd.grad(pi_w[0], Wg)
    assert gW.abs().sum() > 0

def _dense_fj_equilibrium(A: np.ndarray, gamma: np.ndarray, alpha: np.ndarray,
                       S: np.ndarray) -> np.ndarray:
    """``(I - H)^{-1} Gamma S`` by one dense float64 solve (the reference)."""
    W = A / A.sum(axis=1, keepdims=True)
    H = np.diag(1 - gamma) @ (np.diag(alpha) + np.diag(1 - alpha) @ W)
    return np.linalg.solve(np.eye(len(gamma)) - H, gamma[:, None] * S)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning")
@pytest.mark.parametrize("dtype, atol", [(np.float64, 1e-9), (np.float32, 1e-5)])
@pytest.mark.parametrize("backend", ["scipy", "torch"])
def test_cg_equilibrium_with_a_nearly_stubborn_agent(dtype: type, atol: float,
                                                     backend: str) -> None:
    # CG solves the system symmetrised by rows times d_i / c_i and stopped on that
    # system's residual: an agent with c_i = (1 - gamma_i)(1 - alpha_i) ~ 5e-6 (an
    # adversary with gamma = 0.99999) dominated it, so the others' rows were not
    # solved: errors 3.4e-6 (float64, tol 1e-10) and 6.5e-2 (float32) on this ring,
    # whose I - H has condition number ~ 3
    n = 30
    A = adjacency(make_graph("ring", n), sparse=True)
    gamma, alpha = np.full(n, 0.05), np.full(n, 0.5)
    gamma[0], alpha[0] = 0.99999, 0.0
    S = np.random.default_rng(0).dirichlet(np.ones(3), n)
    Ab = A.astype(dtype) if backend == "scipy" else \
        torch.tensor(A.toarray().astype(dtype)).to_sparse_csr()
    fj = FriedkinJohnsen.from_adjacency(Ab, gamma, alpha)
    got = fj.equilibrium(S if backend == "scipy" else torch.tensor(S))
    assert fj.info_["method"] == "cg"
    got = got.numpy() if isinstance(got, torch.Tensor) else got
    ref = _dense_fj_equilibrium(A.toarray(), gamma, alpha, S)
    np.testing.assert_allclose(got, ref, rtol=0, atol=atol)


def test_cg_meets_the_documented_residual_bound() -> None:
    # solve() documents ||r|| <= tol ||rhs|| per column for the system I - H it solves
    n = 50
    A = adjacency(make_graph("er", n, seed=1), sparse=True)
    gamma, alpha = np.full(n, 0.05), np.full(n, 0.5)
    gamma[0], alpha[0] = 0.999, 0.0
    fj = FriedkinJohnsen.from_adjacency(A, gamma, alpha)
    R = np.random.default_rng(1).random((n, 2))
    X = fj.solve(R, method="cg", tol=1e-10)
    W = A.toarray() / A.toarray().sum(axis=1, keepdims=True)
    I_H = np.eye(n) - np.diag(1 - gamma) @ (np.diag(alpha) + np.diag(1 - alpha) @ W)
    res = np.linalg.norm(R - I_H @ X, axis=0)
    assert (res <= 1e-10 * np.linalg.norm(R, axis=0) * (1 + 1e-6)).all(), res


def test_iteration_caps_are_checked_and_reach_social_power() -> None:
    # maxiter=-3 ran no iteration ("did not converge in -3 iterations"), 2.5 failed inside
    # range(), and social_power's error advised raising a maxiter it did not take
    from multiagent import social_power

    A = adjacency(make_graph("ring", 10), sparse=True)
    fj = FriedkinJohnsen.from_adjacency(A, np.full(10, 0.1), np.full(10, 0.5))
    for bad in (0, -3, 2.5):
        with pytest.raises((ValueError, TypeError), match="maxiter"):
            fj.solve(np.ones(10), method="cg", maxiter=bad)
        with pytest.raises((ValueError, TypeError), match="maxiter"):
            fj.consensus_weights(maxiter=bad)
    assert np.allclose(social_power(fj, method="cg", maxiter=500), np.full(10, 0.1))
    rng = np.random.default_rng(0)
    uneven = FriedkinJohnsen.from_adjacency(adjacency(make_graph("er", 30, seed=0), sparse=True),
                                            rng.uniform(0.05, 0.5, 30), np.full(30, 0.5))
    with pytest.raises(ConvergenceError, match="maxiter"):
        social_power(uneven, method="bicgstab", maxiter=1)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_group_below_float64_stubbornness_is_named_not_nan(backend) -> None:
    # agents 1 and 2 listen only to each other: at gamma = 1e-17, 1 + gamma == 1 and I - H is
    # exactly singular; the equilibrium was [1, nan, inf] (numpy, a LinAlgWarning at most)
    # or torch's "U[3,3] is zero"; at 1e-16 it is still resolved exactly
    W = np.array([[0, 0.5, 0.5], [0, 0, 1], [0, 1, 0]])
    S = np.array([[1.0], [0.2], [0.4]])
    wrap = torch.tensor if backend == "torch" else np.asarray
    ok = FriedkinJohnsen(wrap(W), wrap(np.array([1, 1e-16, 1e-16])), 0.0)
    np.testing.assert_allclose(np.asarray(ok.equilibrium(wrap(S))).ravel(), [1, 0.3, 0.3])
    fj = FriedkinJohnsen(wrap(W), wrap(np.array([1, 1e-17, 1e-17])), 0.0)
    with pytest.raises(ValueError, match="gamma: I - H is singular in float64.*1e-17"):
        fj.equilibrium(wrap(S))


@pytest.mark.parametrize("backend", ["numpy", "scipy", "torch", "pandas"])
def test_the_model_keeps_its_own_w_gamma_and_alpha(backend) -> None:
    # the model held the caller's arrays (a DataFrame's values too): a sweep that refilled
    # one gamma array for each model changed the models built before, and an edit went
    # around the checks (gamma = 5, a row of W summing to 1.5, all accepted)
    W = np.array([[0, 0.5, 0.5], [1, 0, 0], [0.5, 0.5, 0]])
    gamma, alpha = np.array([0.2, 0.3, 0.4]), np.array([0.5, 0.1, 0.0])
    S = np.array([1.0, 0.0, 0.5])
    expected = FriedkinJohnsen(W.copy(), gamma.copy(), alpha.copy()).equilibrium(S)
    if backend == "torch":
        Wx, gx, ax = (torch.tensor(v) for v in (W, gamma, alpha))
    elif backend == "scipy":
        Wx, gx, ax = sp.csr_array(W), gamma, alpha
    elif backend == "pandas":
        Wx, gx, ax = pd.DataFrame(W, index=list("abc"), columns=list("abc")), gamma, alpha
    else:
        Wx, gx, ax = W, gamma, alpha
    fj = FriedkinJohnsen(Wx, gx, ax)
    if backend == "scipy":
        Wx.data[:] = 5.0
    elif backend == "pandas":
        Wx.iloc[0, 1] = 1.0
    else:
        Wx[0, 1] = 1.0
    gx[:] = 5.0
    ax[:] = 1.0
    S_in = torch.tensor(S) if backend == "torch" else S
    np.testing.assert_allclose(np.asarray(fj.equilibrium(S_in)), expected, atol=1e-15)


def test_direct_solves_in_threads_leave_the_warning_filters_as_they_were(in_threads):
    # the numpy direct solve silenced scipy's LinAlgWarning with warnings.catch_warnings,
    # which swaps the process-wide filter list: solves in a thread pool restored each
    # other's lists and left "ignore LinAlgWarning" in it for good (about half the runs)
    import warnings

    model = FriedkinJohnsen.from_adjacency(np.ones((30, 30)) - np.eye(30), 0.3, 0.2)
    S = np.full((30, 2), 0.5)
    expected = model.equilibrium(S, method="direct")
    np.testing.assert_allclose(expected, 0.5, rtol=1e-12)

    def solve(_: int) -> np.ndarray:
        return [model.equilibrium(S, method="direct") for _ in range(10)][-1]

    before = list(warnings.filters)
    try:
        for _ in range(30):
            results = in_threads(solve, range(4))
            assert warnings.filters == before
            for got in results:
                np.testing.assert_array_equal(got, expected)
    finally:
        warnings.filters[:] = before


@pytest.mark.parametrize("solver", ["pcg", "bicgstab", "fixed_point"])
def test_solvers_on_a_diagonal_system_and_a_zero_right_hand_side(solver):
    from multiagent import solvers

    # Jacobi solves a diagonal system exactly: CG and BiCGSTAB in one step, the fixed
    # point at its start; a zero column (an option no agent holds) is done at once
    d = np.array([[2.0], [4.0], [8.0]])
    b = np.array([[2.0, 0.0], [2.0, 0.0], [2.0, 0.0]])
    x, iters = getattr(solvers, solver)(lambda X: d * X, b, 1 / d, tol=1e-12)
    np.testing.assert_allclose(x, b / d, rtol=1e-14)
    assert iters == (0 if solver == "fixed_point" else 1)


def test_torch_solver_stops_at_the_absolute_tolerance():
    from multiagent.solvers import pcg

    # ||b|| = 0.5 <= atol: the documented rule max(tol ||b||, atol) is met by x = 0
    d = torch.tensor([[2.0], [4.0]], dtype=torch.float64)
    b = torch.tensor([[0.3], [0.4]], dtype=torch.float64)
    x, iters = pcg(lambda X: d * X, b, 1 / d, tol=0.0, atol=1.0)
    assert iters == 0
    assert torch.equal(x, torch.zeros_like(b))


def test_drop_diagonal_drops_zeros_sums_duplicates_and_leaves_its_input():
    from multiagent._sparse import drop_diagonal

    # row 0: (0, 1) twice; row 1: a diagonal entry and an explicit zero; row 2 unsorted,
    # with (2, 0) twice summing to zero
    data = np.array([1.0, 2.0, 5.0, 0.0, 7.0, 4.0, -4.0])
    A = sp.csr_array((data, np.array([1, 1, 1, 0, 1, 0, 0]), np.array([0, 2, 4, 7])),
                     shape=(3, 3))
    out = drop_diagonal(A)
    np.testing.assert_array_equal(out.toarray(), [[0, 3, 0], [0, 0, 0], [0, 7, 0]])
    assert out.nnz == 2 and out.has_canonical_format
    np.testing.assert_array_equal(A.data, data)


@pytest.mark.parametrize("conv", [np.asarray, sp.csr_array])
def test_a_float32_numpy_model_follows_its_dtype_as_torch_does(conv):
    # before: float64 beliefs into a float32 numpy/scipy model gave float64 results, while
    # the class Notes (and a float32 torch model) give W's dtype
    W = np.array([[0, 0.5, 0.5], [1, 0, 0], [0.5, 0.5, 0]], dtype=np.float32)
    fj = FriedkinJohnsen(conv(W), 0.2, 0.5)
    ft = FriedkinJohnsen(torch.tensor(W), 0.2, 0.5)
    S = np.array([[0.7, 0.3], [0.1, 0.9], [0.5, 0.5]])  # float64
    for method, args in (("step", ()), ("rollout", (3,)), ("equilibrium", ()), ("solve", ())):
        got = getattr(fj, method)(S, *args)
        assert got.dtype == np.float32, method
        np.testing.assert_array_equal(got, getattr(fj, method)(S.astype(np.float32), *args))
        np.testing.assert_allclose(got, getattr(ft, method)(S, *args).numpy(), atol=1e-6)
    # a float64 model keeps float64 beliefs as before
    assert FriedkinJohnsen(W.astype(np.float64), 0.2, 0.5).step(S.astype(np.float32)).dtype \
        == np.float64


def _reducible_model(rng, n=14, symmetric=False):
    """A random network whose agents do not all reach a stubborn agent.

    Three closed groups (agents that listen only to each other): two without a stubborn
    agent, one with; an isolated agent with gamma = 0 (its empty row becomes a self-loop);
    the others listen to anyone and some of them have gamma = 0 too, the last one (without
    ``symmetric``) hearing only the two groups without a stubborn agent.  With
    ``symmetric`` the trust is reciprocal and the other agents hear only each other.
    Agents are shuffled.
    """
    groups = [[0, 1, 2], [3, 4], [5, 6, 7], [8]]
    rest = list(range(9, n))
    A = np.zeros((n, n))
    for grp in groups[:3]:
        for i in grp:  # a ring inside the group, plus random edges within it
            A[i, grp[(grp.index(i) + 1) % len(grp)]] = 1
            A[i, grp] += rng.random(len(grp)) < 0.5
    for i in rest:
        A[i, rng.choice([j for j in range(n) if j != i], 3, replace=False)] = 1
    if symmetric:
        A = A + A.T
        A[np.ix_(rest, range(9))] = 0
        A[np.ix_(range(9), rest)] = 0
    else:  # reaches no stubborn agent, but is in no closed group
        A[rest[-1]] = 0
        A[rest[-1], [0, 3]] = 1
    np.fill_diagonal(A, 0)
    gamma = np.zeros(n)
    gamma[5] = 0.3  # the third group holds a stubborn agent
    gamma[rest] = np.where(rng.random(len(rest)) < 0.5, rng.uniform(0.05, 0.5, len(rest)), 0.0)
    gamma[rest[0]] = 0.4  # at least one
    gamma[rest[-1]] = 0.0
    alpha = rng.uniform(0.1, 0.8, n)  # alpha > 0: aperiodic, so rollout converges
    perm = rng.permutation(n)
    A, gamma, alpha = A[np.ix_(perm, perm)], gamma[perm], alpha[perm]
    trust = None if symmetric else rng.uniform(0.5, 2.0, (n, n))
    return A, gamma, alpha, trust


def _limit_map_by_classes(W, gamma, alpha):
    """The limit map by Proskurnikov & Tempo's construction, apart from the package's code.

    Each attracting component of the trust graph without a stubborn agent takes the
    consensus of its members (left null vector of its block of I - H); the other agents
    solve the FJ equation with those values as inputs.
    """
    import scipy.linalg as sla

    n = len(gamma)
    c = (1 - gamma) * (1 - alpha)
    g = np.where(c == 0, 1.0, gamma)
    H = np.diag(np.where(c == 0, 0.0, (1 - gamma) * alpha)) + c[:, None] * W
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    G.add_edges_from(zip(*np.nonzero(c[:, None] * W)))
    M, fixed = np.zeros((n, n)), np.zeros(n, bool)
    for comp in nx.attracting_components(G):
        C = sorted(comp)
        if (g[C] > 0).any():
            continue
        pi = sla.null_space((np.eye(len(C)) - H[np.ix_(C, C)]).T)[:, 0]
        M[np.ix_(C, C)] = pi / pi.sum()
        fixed[C] = True
    F = ~fixed
    Q = np.diag(g)[F] + H[np.ix_(F, fixed)] @ M[fixed]
    M[F] = np.linalg.solve(np.eye(F.sum()) - H[np.ix_(F, F)], Q)
    return M


@pytest.mark.parametrize("seed", range(5))
def test_reducible_networks_reach_the_limit_of_their_closed_groups(seed):
    # agents that reach no stubborn agent were refused ("never reach a stubborn agent ...,
    # so the equilibrium depends on the start") although b(0) = s makes the limit unique:
    # each closed group ends at its own consensus, the others solve FJ around it
    from multiagent import adversary_weight, equilibrium_router, social_power

    rng = np.random.default_rng(seed)
    A, gamma, alpha, trust = _reducible_model(rng)
    fj = FriedkinJohnsen.from_adjacency(A, gamma, alpha, trust=trust)
    exact = _limit_map_by_classes(np.asarray(fj.W), gamma, alpha)
    S = rng.dirichlet(np.ones(3), size=fj.n)
    x = fj.equilibrium(S)
    np.testing.assert_allclose(x, exact @ S, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fj.rollout(S, 6000)[-1], x, rtol=0, atol=1e-12)
    M = fj.influence_matrix()
    np.testing.assert_allclose(M, exact, rtol=0, atol=1e-12)
    np.testing.assert_allclose(M.sum(axis=1), 1, rtol=0, atol=1e-12)
    np.testing.assert_allclose(M @ S, x, rtol=0, atol=1e-12)
    np.testing.assert_allclose(social_power(fj), exact.mean(axis=0), rtol=0, atol=1e-12)
    for i in range(fj.n):  # agent i as the system's voice: row i of M
        np.testing.assert_allclose(equilibrium_router(fj, listener=i), exact[i], rtol=0,
                                   atol=1e-12)
    adv = [int(np.argmax(gamma)), 0]
    benign = np.setdiff1d(np.arange(fj.n), adv)
    assert adversary_weight(fj, adv) == pytest.approx(exact[np.ix_(benign, adv)].sum(1).mean(),
                                                      abs=1e-12)
    # the public linear solve of the singular system still says why it cannot
    with pytest.raises(ConvergenceError, match=r"never reach a stubborn agent .* I - H is "
                                               r"singular .* equilibrium\(\)"):
        fj.solve(S)


@pytest.mark.parametrize("method", ["direct", "bicgstab", "fixed_point"])
@pytest.mark.parametrize("kind", ["numpy", "scipy", "torch_dense", "torch_sparse"])
def test_reducible_limit_is_the_same_for_every_backend_and_method(method, kind):
    from multiagent import social_power

    rng = np.random.default_rng(7)
    A, gamma, alpha, trust = _reducible_model(rng, n=20)
    ref = FriedkinJohnsen.from_adjacency(A, gamma, alpha, trust=trust)
    exact = _limit_map_by_classes(np.asarray(ref.W), gamma, alpha)
    conv = {"numpy": np.asarray, "scipy": sp.csr_array, "torch_dense": torch.tensor,
            "torch_sparse": lambda X: torch.tensor(X).to_sparse()}[kind]
    fj = FriedkinJohnsen(conv(np.asarray(ref.W)), gamma, alpha)
    S = rng.dirichlet(np.ones(4), size=fj.n)
    x = np.asarray(fj.equilibrium(torch.tensor(S) if "torch" in kind else S, method=method,
                                  tol=1e-14))
    assert fj.info_["method"] == method
    np.testing.assert_allclose(x, exact @ S, rtol=0, atol=1e-12)
    pi = np.asarray(social_power(fj, method=method, tol=1e-14))
    np.testing.assert_allclose(pi, exact.mean(axis=0), rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["numpy", "scipy", "torch_sparse"])
def test_reducible_limit_by_conjugate_gradient_on_reciprocal_trust(kind):
    rng = np.random.default_rng(3)
    A, gamma, alpha, _ = _reducible_model(rng, n=16, symmetric=True)
    conv = {"numpy": np.asarray, "scipy": sp.csr_array,
            "torch_sparse": lambda X: torch.tensor(X).to_sparse()}[kind]
    fj = FriedkinJohnsen.from_adjacency(conv(A), gamma, alpha)
    exact = _limit_map_by_classes(FriedkinJohnsen.from_adjacency(A, gamma, alpha).W, gamma,
                                  alpha)
    S = rng.random((fj.n, 2))
    x = np.asarray(fj.equilibrium(torch.tensor(S) if "torch" in kind else S, method="cg",
                                  tol=1e-14, check=False))
    assert fj.info_["method"] == "cg"
    np.testing.assert_allclose(x, exact @ S, rtol=0, atol=1e-12)


def test_an_isolated_agent_without_stubbornness_keeps_its_belief():
    # agent 2 hears nobody (its row becomes a self-loop) and has gamma = 0: it keeps s_2, and
    # the others weigh it as a stubborn agent; refused before as never reaching one
    A = np.array([[0, 1.0, 1], [1, 0, 1], [0, 0, 0]])
    fj = FriedkinJohnsen.from_adjacency(A, [0.2, 0.0, 0.0], 0.5)
    s = np.array([1.0, 0.0, 0.3])
    x = fj.equilibrium(s)
    assert x[2] == s[2]
    np.testing.assert_allclose(x, fj.rollout(s, 2000)[-1], rtol=0, atol=1e-12)
    # by hand: x1 = (x0 + x2)/2, x0 = 0.2 + 0.4 (x1 + x2)/2 + 0.4 x0 (gamma 0.2, alpha 0.5)
    x0 = (0.2 + 0.2 * (0.5 * 0.3 + 0.3)) / (0.6 - 0.1)
    np.testing.assert_allclose(x, [x0, (x0 + 0.3) / 2, 0.3], rtol=0, atol=1e-14)


def test_degroot_with_two_closed_groups_reaches_each_groups_consensus():
    # every gamma = 0 and two closed groups ({0, 1} and {4}): each reaches its own
    # consensus and the others settle between them; refused before ("2 groups ... never
    # reach a common consensus"), as consensus_weights still is (there is no common one)
    from multiagent import social_power

    W = np.array([[0, 1.0, 0, 0, 0], [1, 0, 0, 0, 0], [0.5, 0, 0, 0.5, 0],
                  [0, 0, 0.5, 0, 0.5], [0, 0, 0, 0, 1]])
    alpha = np.array([0.3, 0.6, 0.2, 0.4, 0.0])
    fj = FriedkinJohnsen(W, 0.0, alpha)
    s = np.array([0.9, 0.1, 0.5, 0.2, 0.7])
    x = fj.equilibrium(s)
    exact = _limit_map_by_classes(W, np.zeros(5), alpha)
    np.testing.assert_allclose(x, exact @ s, rtol=0, atol=1e-12)
    np.testing.assert_allclose(x, fj.rollout(s, 3000)[-1], rtol=0, atol=1e-12)
    # {0, 1}: pi proportional to 1 / (1 - alpha) = (1/0.7, 1/0.4): 0.9 * 4/11 + 0.1 * 7/11
    assert x[0] == pytest.approx(4.3 / 11, abs=1e-15)
    assert x[4] == 0.7
    np.testing.assert_allclose(fj.influence_matrix(), exact, rtol=0, atol=1e-12)
    np.testing.assert_allclose(social_power(fj), exact.mean(axis=0), rtol=0, atol=1e-12)
    with pytest.raises(ConvergenceError, match=r"2 groups .*\(equilibrium\(\) and "
                                               r"influence_matrix\(\) give each group's own"):
        fj.consensus_weights()


@pytest.mark.parametrize("gamma", [0.0, 0.5])
def test_a_periodic_group_gives_its_cesaro_limit_as_the_degroot_path(gamma):
    # agents 2 and 3 listen only to each other with alpha = 0: they swap beliefs every
    # round, so their limit is the time average, as the all-gamma = 0 (DeGroot) path
    # already gives it; raised ConvergenceError before when agents 0, 1 were stubborn
    W = np.array([[0, 1, 0, 0], [0.5, 0, 0.5, 0], [0, 0, 0, 1], [0, 0, 1, 0.0]])
    fj = FriedkinJohnsen(W, [gamma, gamma, 0.0, 0.0], 0.0)
    s = np.array([1.0, 0.0, 0.2, 0.6])
    traj = fj.rollout(s, 4001)
    cesaro = (traj[-1] + traj[-2]) / 2
    np.testing.assert_allclose(fj.equilibrium(s), cesaro, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fj.equilibrium(s)[2:], 0.4, rtol=0, atol=1e-15)
    np.testing.assert_allclose(fj.influence_matrix() @ s, cesaro, rtol=0, atol=1e-12)


def test_a_reducible_limit_keeps_its_gradients():
    # the limit map is differentiable in W and alpha (torch): d x_0 / d alpha by finite
    # differences of the numpy model
    W = np.array([[0, 1, 0, 0], [0.5, 0, 0.5, 0], [0, 0, 0, 1], [0, 0, 1, 0.0]])
    gamma = np.array([0.3, 0.0, 0.0, 0.0])
    alpha = torch.tensor([0.2, 0.4, 0.3, 0.6], dtype=torch.float64, requires_grad=True)
    s = np.array([1.0, 0.0, 0.2, 0.6])
    x = FriedkinJohnsen(torch.tensor(W), torch.tensor(gamma), alpha).equilibrium(
        torch.tensor(s))
    x[0].backward()
    h = 1e-6
    for k in range(4):
        up, down = alpha.detach().numpy().copy(), alpha.detach().numpy().copy()
        up[k] += h
        down[k] -= h
        fd = (FriedkinJohnsen(W, gamma, up).equilibrium(s)[0]
              - FriedkinJohnsen(W, gamma, down).equilibrium(s)[0]) / (2 * h)
        assert float(alpha.grad[k]) == pytest.approx(fd, abs=1e-8)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning")
@pytest.mark.parametrize("layout", ["dense", "csr", "coo"])
def test_a_callers_autocast_leaves_float32_results_as_they_are(layout):
    # under a caller's torch.autocast("cpu", bfloat16) the products ran in bfloat16: a
    # float32 rollout moved by 1.2e-3 to 1.9e-3 (so did steps and iterative equilibria) and
    # a CSR model failed ("addmm_out_sparse_csr_impl_mkl" not implemented for 'BFloat16')
    A = adjacency(make_graph("er", 30, p=0.3, seed=2))
    W64 = A / A.sum(1, keepdims=True)
    S64 = np.random.default_rng(0).dirichlet(np.ones(4), size=30)
    W = torch.tensor(W64, dtype=torch.float32)
    if layout != "dense":
        W = W.to_sparse_csr() if layout == "csr" else W.to_sparse()
    S = torch.tensor(S64, dtype=torch.float32)
    fj = FriedkinJohnsen(W, 0.3, 0.4)
    degroot = FriedkinJohnsen(W, 0.0, 0.3)  # consensus path: weights times S

    def results() -> dict[str, torch.Tensor]:
        return {"fj_step": fj_step(S, S, W, 0.3, 0.4), "rollout": fj.rollout(S, 6),
                "cg": fj.equilibrium(S, method="cg"),
                "fixed_point": fj.equilibrium(S, method="fixed_point"),
                "bicgstab": fj.equilibrium(S, method="bicgstab"),
                "solve": fj.solve(S), "degroot": degroot.equilibrium(S, check=False)}

    plain = results()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = results()
    reference = FriedkinJohnsen(W64, 0.3, 0.4).rollout(S64, 6)
    for name, got in mixed.items():
        assert got.dtype == torch.float32, name
        torch.testing.assert_close(got, plain[name], rtol=0, atol=0, msg=name)
    # and the known answer: the float64 rollout, to float32's precision
    np.testing.assert_allclose(mixed["rollout"].numpy(), reference, rtol=0, atol=1e-6)


def test_products_run_on_a_torch_whose_autocast_check_takes_no_device(monkeypatch):
    # torch < 2.4's is_autocast_enabled() takes no device type; asked with one it raised a
    # TypeError, and every torch product of the FJ code failed on the torch 2.2 we admit
    def old_is_autocast_enabled(*args: object) -> bool:
        if args:
            raise TypeError("is_autocast_enabled() takes 0 positional arguments but 1 was given")
        return False

    W = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    S = torch.tensor([[1.0], [0.0]], dtype=torch.float64)
    expected = FriedkinJohnsen(W, 0.2, 0.5).rollout(S, 3)
    monkeypatch.setattr(torch, "is_autocast_enabled", old_is_autocast_enabled)
    # as torch < 2.4's: the per-device check, not yet deprecated there
    monkeypatch.setattr(torch, "is_autocast_cpu_enabled", lambda: False)
    got = FriedkinJohnsen(W, 0.2, 0.5).rollout(S, 3)
    assert torch.equal(got, expected)


# Three agents that trust each other equally; agent 2 never listens (alpha_2 = 1).
_W3 = [[0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]


def _fj_output(fn: str, W: torch.Tensor, gamma: torch.Tensor, alpha: torch.Tensor,
               S: torch.Tensor, method: str = "direct") -> torch.Tensor:
    from multiagent import social_power

    fj = FriedkinJohnsen(W, gamma, alpha)
    if fn == "equilibrium":
        return fj.equilibrium(S, method=method, check=False)
    if fn == "influence_matrix":
        return fj.influence_matrix()
    return social_power(fj, method=method)


def test_gradient_in_alpha_of_an_agent_that_never_listens_is_the_closed_form():
    # at alpha_2 = 1 the agent was made fully stubborn with gamma = 1 and a = 0 as
    # constants, which cut alpha's path: autograd gave d b*/d alpha_2 = [-0.1, -0.1, -0.2],
    # gamma_2 = 0.2 times the limit from inside. Closed form:
    # d b_2 / d alpha_2 = -(1 - gamma) ((W b)_2 - s_2) / gamma = -0.8 * 0.25 / 0.2 = -1
    W = torch.tensor(_W3, dtype=torch.float64)
    S = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    alpha = torch.tensor([0.5, 0.5, 1.0], dtype=torch.float64, requires_grad=True)
    b = FriedkinJohnsen(W, 0.2, alpha).equilibrium(S, check=False)
    torch.testing.assert_close(b.detach(), torch.tensor([0.375, 0.125, 0.0],
                                                        dtype=torch.float64))
    rows = [torch.autograd.grad(b[i], alpha, retain_graph=True)[0][2] for i in range(3)]
    torch.testing.assert_close(torch.stack(rows),
                               torch.tensor([-0.5, -0.5, -1.0], dtype=torch.float64),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("fn", ["equilibrium", "influence_matrix", "social_power"])
def test_gradients_at_alpha_or_gamma_one_are_the_one_sided_limits(fn):
    # autograd at alpha_2 = 1 was off the one-sided finite difference by up to 0.43
    # (equilibrium), 1.63 (influence_matrix) and 0.55 (social_power) on such a graph;
    # gamma_1 = 1 and gamma_3 = 0 were right and stay so
    rng = np.random.default_rng(0)
    n = 5
    A = rng.random((n, n)) + 0.2
    np.fill_diagonal(A, 0)
    W = torch.tensor(A / A.sum(1, keepdims=True))
    S = torch.tensor(rng.dirichlet(np.ones(3), n))
    g0 = torch.tensor(rng.uniform(0.1, 0.6, n))
    a0 = torch.tensor(rng.uniform(0.1, 0.6, n))
    a0[2] = 1.0
    g0[1], g0[3] = 1.0, 0.0

    def f(g: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return _fj_output(fn, W, g, a, S)

    Jg, Ja = torch.autograd.functional.jacobian(f, (g0, a0))
    h = 1e-7
    for name, x0, J in (("gamma", g0, Jg), ("alpha", a0, Ja)):
        for i in range(n):
            step = -h if x0[i] == 1 else h  # from inside [0, 1]
            x = x0.clone()
            x[i] += step
            fd = ((f(x, a0) if name == "gamma" else f(g0, x)) - f(g0, a0)) / step
            torch.testing.assert_close(J[..., i], fd, rtol=0, atol=1e-5,
                                       msg=f"d {fn} / d {name}[{i}]")
    # and the gradient is continuous there: the same as just inside, 1 - 1e-9
    inside = a0.clone()
    inside[2] -= 1e-9
    Ja_in = torch.autograd.functional.jacobian(lambda a: f(g0, a), inside)
    torch.testing.assert_close(Ja[..., 2], Ja_in[..., 2], rtol=0, atol=1e-7)


@pytest.mark.parametrize("fn", ["equilibrium", "social_power"])
@pytest.mark.parametrize("method", ["cg", "bicgstab", "fixed_point"])
def test_iterative_gradients_at_never_listening_agents_match_the_direct_solve(fn, method):
    # an agent with c = 0 (alpha_2 = 1, gamma_4 = 1): the iterative solves used a = 0 as
    # a constant while c kept its path, and CG fixes such rows (their derivative was
    # dropped): d/d alpha and d/d gamma were off the direct solve's by up to 0.84
    # (BiCGSTAB, fixed point) and 0.35 (CG) on this graph; then by 7e-6 at most (the
    # derivative of BiCGSTAB's last iterate), now by 1.2e-9 (the implicit gradient, to the
    # solvers' tol = 1e-10)
    rng = np.random.default_rng(6)
    n = 6
    A = (rng.random((n, n)) < 0.5).astype(float)
    np.fill_diagonal(A, 0)
    A[np.arange(n), (np.arange(n) + 1) % n] = 1
    A = np.maximum(A, A.T)  # reciprocal, for CG
    W = torch.tensor(A / A.sum(1, keepdims=True))
    S = torch.tensor(rng.random((n, 2)))
    g0 = torch.tensor(rng.uniform(0.05, 0.5, n))
    a0 = torch.tensor(rng.uniform(0, 0.8, n))
    a0[2], g0[4] = 1.0, 1.0

    def f(method: str) -> tuple[torch.Tensor, ...]:
        return torch.autograd.functional.jacobian(
            lambda g, a: _fj_output(fn, W, g, a, S, method), (g0, a0))

    expected = f("direct")
    got = f(method)
    for name, J, J_direct in zip(("gamma", "alpha"), got, expected):
        torch.testing.assert_close(J, J_direct, rtol=0, atol=1e-8, msg=name)
    # the values are those of the model without a gradient
    plain = _fj_output(fn, W, g0, a0, S, method)
    g1, a1 = g0.clone().requires_grad_(), a0.clone().requires_grad_()
    assert torch.equal(_fj_output(fn, W, g1, a1, S, method).detach(), plain)


@pytest.fixture
def torch_warns_always():
    """Torch's warn-once warnings every time, so a test sees one an earlier test raised."""
    before = torch.is_warn_always_enabled()
    torch.set_warn_always(True)
    yield
    torch.set_warn_always(before)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning")
@pytest.mark.filterwarnings("ignore:Sparse CSC tensor support is in beta:UserWarning")
@pytest.mark.parametrize("layout", ["coo", "csr"])
@pytest.mark.usefixtures("torch_warns_always")
def test_sparse_consensus_weights_with_alpha_needing_grad_raise_no_warning(layout):
    # the power iteration read float() of its step, a tensor that needed alpha's grad:
    # "UserWarning: Converting a tensor with requires_grad=True to a scalar" (an error
    # under warnings-as-errors). On a directed 3-cycle, pi is proportional to
    # 1 / (1 - alpha) (the flow pi_i (1 - alpha_i) is the same around the cycle)
    W = torch.tensor([[0, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=torch.float64)
    W = W.to_sparse() if layout == "coo" else W.to_sparse_csr()
    alpha = torch.tensor([0.2, 0.5, 0.6], dtype=torch.float64, requires_grad=True)
    pi = FriedkinJohnsen(W, 0.0, alpha).consensus_weights()
    w = 1 / (1 - alpha)
    torch.testing.assert_close(pi, (w / w.sum()).detach(), rtol=0, atol=1e-10)
    (grad,) = torch.autograd.grad(pi[0], alpha)
    (expected,) = torch.autograd.grad((w / w.sum())[0], alpha)
    torch.testing.assert_close(grad, expected, rtol=0, atol=1e-8)


@pytest.mark.parametrize("method", ["cg", "bicgstab", "fixed_point"])
@pytest.mark.usefixtures("torch_warns_always")
def test_an_unconverged_solve_with_gamma_needing_grad_names_the_solver(method):
    # the error's residual was read by float() of a tensor that needed gamma's grad: the
    # fixed point raised "UserWarning: Converting a tensor with requires_grad=True to a
    # scalar" (under warnings-as-errors) instead of its ConvergenceError
    W = torch.tensor(_W3, dtype=torch.float64)
    gamma = torch.full((3,), 0.2, dtype=torch.float64, requires_grad=True)
    S = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    name = {"cg": "conjugate gradient", "bicgstab": "BiCGSTAB", "fixed_point": "fixed point"}
    with pytest.raises(ConvergenceError, match=f"{name[method]} did not converge in 1 "):
        FriedkinJohnsen(W, gamma, 0.5).equilibrium(S, method=method, maxiter=1)


@pytest.mark.usefixtures("torch_warns_always")
def test_beliefs_needing_grad_that_are_no_distributions_are_named():
    # the message read float() of the row sum, which needed grad: a UserWarning (an error
    # under warnings-as-errors) came instead of the ValueError
    W = torch.tensor(_W3, dtype=torch.float64)
    S = torch.tensor([[0.5, 0.6], [0.5, 0.5], [0.5, 0.5]], dtype=torch.float64,
                     requires_grad=True)
    with pytest.raises(ValueError, match=r"S\[0\] \(agent 0\) sums to 1.1, expected 1"):
        FriedkinJohnsen(W, 0.2, 0.5).equilibrium(S)


def _masked_softmax(logits: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """Row-stochastic ``W`` on ``support`` from free logits (learned trust)."""
    return torch.softmax(logits.masked_fill(~support, float("-inf")), dim=1)


@pytest.mark.parametrize("alpha_2", [0.5, 1.0])
@pytest.mark.parametrize("method", ["cg", "bicgstab", "fixed_point"])
def test_iterative_gradients_are_the_solutions_when_the_solver_stops_early(method, alpha_2):
    # autograd went through the solver's iterations: on this symmetric system CG and
    # BiCGSTAB stop after 1-2 steps, and the derivative of that last iterate is not the
    # solution's. d b / d alpha_2 was [-0.125, -0.104, -0.271] (CG) and
    # [-0.125, -0.132, -0.243] (BiCGSTAB) for [-0.125, -0.125, -0.25]; at alpha_2 = 1 CG gave
    # d b_2 / d alpha_2 = -1.125 and BiCGSTAB [-0.469, -0.431, -0.975] for [-0.5, -0.5, -1]
    from multiagent import social_power

    support = ~torch.eye(3, dtype=torch.bool)
    S0 = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    expected = {0.5: [-0.125, -0.125, -0.25], 1.0: [-0.5, -0.5, -1.0]}[alpha_2]

    def run(method: str) -> tuple[list[torch.Tensor], ...]:
        gamma = torch.full((3,), 0.2, dtype=torch.float64, requires_grad=True)
        alpha = torch.tensor([0.5, 0.5, alpha_2], dtype=torch.float64, requires_grad=True)
        logits = torch.zeros((3, 3), dtype=torch.float64, requires_grad=True)
        S = S0.clone().requires_grad_(True)
        fj = FriedkinJohnsen(_masked_softmax(logits, support), gamma, alpha)
        b = fj.equilibrium(S, method=method, check=False)
        rows = [torch.autograd.grad(b[i], alpha, retain_graph=True)[0][2] for i in range(3)]
        weights = torch.tensor([0.3, -1.1, 0.7], dtype=torch.float64)
        eq = torch.autograd.grad((b * weights).sum(), (gamma, alpha, S, logits),
                                 retain_graph=True)  # W's softmax serves both
        sp_ = torch.autograd.grad((social_power(fj, method=method) * weights).sum(),
                                  (gamma, alpha, logits))
        return rows, eq, sp_

    rows, eq, sp_ = run(method)
    torch.testing.assert_close(torch.stack(rows),
                               torch.tensor(expected, dtype=torch.float64), rtol=0, atol=1e-9)
    _, eq_direct, sp_direct = run("direct")
    for got, ref, name in zip(eq + sp_, eq_direct + sp_direct,
                              ("gamma", "alpha", "S", "W", "sp gamma", "sp alpha", "sp W")):
        torch.testing.assert_close(got, ref, rtol=0, atol=1e-9, msg=name)


def _sparse_reciprocal_case(seed: int = 3, n: int = 30):
    """A sparse reciprocal graph, an agent that never listens and one fully stubborn."""
    rng = np.random.default_rng(seed)
    A = (rng.random((n, n)) < 0.15).astype(float)
    np.fill_diagonal(A, 0)
    A[np.arange(n), (np.arange(n) + 1) % n] = 1
    A = np.maximum(A, A.T)
    gamma = rng.uniform(0.05, 0.5, n)
    alpha = rng.uniform(0, 0.8, n)
    alpha[4], gamma[7] = 1.0, 1.0
    return (torch.tensor(A > 0), torch.tensor(rng.normal(0, 0.5, (n, n))),
            torch.tensor(gamma), torch.tensor(alpha),
            torch.tensor(rng.dirichlet(np.ones(3), n)), rng)


@pytest.mark.parametrize("fn", ["equilibrium", "social_power", "solve_transposed"])
@pytest.mark.parametrize("method", ["cg", "bicgstab", "fixed_point"])
def test_iterative_gradients_on_a_sparse_graph_match_the_direct_solve(fn, method):
    # the implicit gradient (one transposed solve) on a sparse torch model whose reciprocal
    # trust weights E + E^T are learned, with an agent that never listens (alpha_4 = 1)
    # and one fully stubborn (gamma_7 = 1): gamma, alpha, S and the trust logits as a
    # dense float64 solve, to about the solver's tolerance
    from multiagent import social_power

    support, logits0, g0, a0, S0, rng = _sparse_reciprocal_case()
    weights = torch.tensor(rng.standard_normal(tuple(S0.shape)))
    values = {}

    def run(method: str, sparse: bool) -> tuple[torch.Tensor, ...]:
        gamma, alpha = g0.clone().requires_grad_(True), a0.clone().requires_grad_(True)
        logits, S = logits0.clone().requires_grad_(True), S0.clone().requires_grad_(True)
        E = torch.where(support, logits.exp(), 0.0)
        A = E + E.T
        fj = FriedkinJohnsen.from_adjacency(A.to_sparse() if sparse else A, gamma, alpha)
        if fn == "equilibrium":
            out = fj.equilibrium(S, method=method)
        elif fn == "social_power":
            out = social_power(fj, method=method)[:, None] * S
        else:
            out = fj.solve(S, transpose=True, method=method, tol=1e-12)
        values[method] = out.detach()
        return torch.autograd.grad((out * weights).sum(), (gamma, alpha, S, logits))

    expected = run("direct", sparse=False)
    got = run(method, sparse=True)
    for name, g, e in zip(("gamma", "alpha", "S", "logits"), got, expected):
        torch.testing.assert_close(g, e, rtol=0, atol=1e-8, msg=name)
    # the values are those of the same model without a gradient, bit for bit
    E = torch.where(support, logits0.exp(), 0.0)
    plain = FriedkinJohnsen.from_adjacency((E + E.T).to_sparse(), g0, a0)
    if fn == "equilibrium":
        assert torch.equal(plain.equilibrium(S0, method=method), values[method])
    elif fn == "solve_transposed":
        assert torch.equal(plain.solve(S0, transpose=True, method=method, tol=1e-12),
                           values[method])


@pytest.mark.parametrize("fn", ["consensus_weights", "equilibrium"])
def test_sparse_consensus_weights_gradient_is_the_solutions_when_iteration_stops_early(fn):
    # the power iteration on a sparse W was differentiated through its steps: on a directed
    # 3-cycle with equal alpha it starts at pi and stops after one step, whose derivative
    # d pi_0 / d alpha was [1/6, 0, -1/6]. pi is proportional to 1 / (1 - alpha):
    # d pi_0 / d alpha = [4/9, -2/9, -2/9] at alpha = 0.5 (as the dense solve gives)
    W = torch.tensor([[0, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=torch.float64).to_sparse()
    alpha = torch.full((3,), 0.5, dtype=torch.float64, requires_grad=True)
    fj = FriedkinJohnsen(W, 0.0, alpha)
    if fn == "consensus_weights":
        out = fj.consensus_weights()
    else:  # DeGroot: everyone ends at pi^T s
        out = fj.equilibrium(torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64), check=False)
    torch.testing.assert_close(out.detach(), torch.full((3,), 1 / 3, dtype=torch.float64))
    (grad,) = torch.autograd.grad(out[0], alpha)
    # to the iteration's tol (equilibrium's default of 1e-10)
    torch.testing.assert_close(grad, torch.tensor([4 / 9, -2 / 9, -2 / 9],
                                                  dtype=torch.float64), rtol=0, atol=1e-9)


def _learned_trust_graph() -> tuple[np.random.Generator, int, np.ndarray, torch.Tensor,
                                    torch.Tensor, torch.Tensor, torch.Tensor]:
    """A 30-agent non-reciprocal graph (a ring and 15 % of the pairs), trust logits, alpha
    and the weights of a scalar read-out, from seed 3; the generator goes on from there."""
    rng = np.random.default_rng(3)
    n = 30
    A = (rng.random((n, n)) < 0.15).astype(float)
    np.fill_diagonal(A, 0)
    A[np.arange(n), (np.arange(n) + 1) % n] = 1
    support = torch.tensor(A > 0)
    logits0 = torch.tensor(rng.normal(0, 0.5, (n, n)))
    a0 = torch.tensor(rng.uniform(0, 0.8, n))
    weights = torch.tensor(rng.standard_normal(n))
    return rng, n, A, support, logits0, a0, weights


def test_sparse_consensus_weights_gradients_match_the_dense_solve():
    # a 30-agent non-reciprocal graph with learned trust logits: the power iteration's
    # implicit gradient in alpha and the logits as the dense direct solve's
    rng, n, A, support, logits0, a0, weights = _learned_trust_graph()

    def run(sparse: bool) -> tuple[torch.Tensor, ...]:
        alpha, logits = a0.clone().requires_grad_(True), logits0.clone().requires_grad_(True)
        W = _masked_softmax(logits, support)
        pi = FriedkinJohnsen(W.to_sparse() if sparse else W, 0.0, alpha).consensus_weights()
        return torch.autograd.grad((pi * weights).sum(), (alpha, logits))

    for name, g, e in zip(("alpha", "logits"), run(True), run(False)):
        torch.testing.assert_close(g, e, rtol=0, atol=1e-10, msg=name)


def _float32_power_case(seed: int, n: int = 12):
    """A sparse non-reciprocal row-stochastic W over a ring, alpha and weights (float64)."""
    rng = np.random.default_rng(seed)
    A = rng.random((n, n)) * (rng.random((n, n)) < 0.4)
    np.fill_diagonal(A, 0)
    A[np.arange(n), (np.arange(n) + 1) % n] += 0.5
    return (torch.tensor(A / A.sum(1, keepdims=True)), torch.tensor(rng.uniform(0, 0.8, n)),
            torch.tensor(rng.standard_normal(n)))


@pytest.mark.parametrize("seed", [8, 10])
def test_float32_consensus_weights_gradient_on_a_sparse_model(seed):
    # the gradient's power iteration was held to tol = 1e-12 relative to the gradient,
    # which float32 cannot reach: it flipped by 1 ulp for ever and raised "power
    # iteration for pi's gradient did not reach 1e-12 in 100000 steps" (5-9 s). Its tol is
    # floored at 16 eps, as solve()'s, and round-off ends it: float64's gradient, to 1e-5
    W, a0, weights = _float32_power_case(seed)
    grads = []
    for dtype in (torch.float64, torch.float32):
        alpha = a0.to(dtype).clone().requires_grad_(True)
        pi = FriedkinJohnsen(W.to(dtype).to_sparse(), 0.0, alpha).consensus_weights()
        (pi * weights.to(dtype)).sum().backward()
        grads.append(alpha.grad.double())
    torch.testing.assert_close(grads[1], grads[0], rtol=0,
                               atol=1e-5 * float(grads[0].abs().max()))


def test_float32_power_iteration_ending_in_a_round_off_cycle_is_accepted():
    # in float32 this pi's power iteration settles into a 2-cycle of floats 1 ulp apart
    # (steps of 1.5e-8, never below tol = 1e-12): ConvergenceError after 100000 steps.
    # A cycle in round-off can get no closer and ends it: float64's pi, to float32's
    # precision
    W, alpha, _ = _float32_power_case(16)
    exact = FriedkinJohnsen(W.to_sparse(), 0.0, alpha).consensus_weights()
    pi = FriedkinJohnsen(W.float().to_sparse(), 0.0, alpha.float()).consensus_weights()
    assert pi.dtype == torch.float32
    torch.testing.assert_close(pi.double(), exact, rtol=0, atol=1e-7)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("method", ["cg", "bicgstab", "fixed_point", "consensus_weights"])
def test_float32_implicit_gradients_match_float64(method, sparse):
    # the backward solves of a float32 model (the transposed solve at solve()'s tol,
    # floored at 16 eps; pi's gradient iteration likewise) give float64's gradients to
    # float32's precision: gamma, alpha, S and learned trust logits, dense and sparse W
    from multiagent import social_power

    if method == "consensus_weights":  # non-reciprocal: no detailed balance
        rng = np.random.default_rng(3)
        n = 30
        A = (rng.random((n, n)) < 0.15).astype(float)
        np.fill_diagonal(A, 0)
        A[np.arange(n), (np.arange(n) + 1) % n] = 1
        support, logits0 = torch.tensor(A > 0), torch.tensor(rng.normal(0, 0.5, (n, n)))
        g0, a0 = torch.zeros(n, dtype=torch.float64), torch.tensor(rng.uniform(0, 0.8, n))
        S0 = torch.tensor(rng.dirichlet(np.ones(3), n))
    else:
        support, logits0, g0, a0, S0, rng = _sparse_reciprocal_case()
    weights = torch.tensor(rng.standard_normal(tuple(S0.shape)))

    def run(dtype: torch.dtype) -> list[torch.Tensor]:
        gamma = g0.to(dtype).clone().requires_grad_(True)
        alpha = a0.to(dtype).clone().requires_grad_(True)
        logits = logits0.to(dtype).clone().requires_grad_(True)
        S = S0.to(dtype).clone().requires_grad_(True)
        if method == "consensus_weights":
            W = _masked_softmax(logits, support)
            fj = FriedkinJohnsen(W.to_sparse() if sparse else W, 0.0, alpha)
            out = fj.consensus_weights()[:, None] * S
            inputs = (alpha, logits, S)
        else:
            E = torch.where(support, logits.exp(), 0.0)
            fj = FriedkinJohnsen.from_adjacency((E + E.T).to_sparse() if sparse else E + E.T,
                                                gamma, alpha)
            out = (fj.equilibrium(S, method=method)
                   + social_power(fj, method=method)[:, None] * S)
            inputs = (gamma, alpha, logits, S)
        assert out.dtype == dtype
        grads = torch.autograd.grad((out * weights.to(dtype)).sum(), inputs)
        return [g.double() for g in grads]

    for got, ref in zip(run(torch.float32), run(torch.float64)):
        torch.testing.assert_close(got, ref, rtol=0, atol=1e-4 * float(ref.abs().max()))


@pytest.mark.parametrize("method", ["cg", "bicgstab", "fixed_point"])
def test_second_derivatives_through_iterative_solves_are_the_direct_solves(method):
    # backward(create_graph=True) through an iterative solve raised "second derivatives
    # through method='cg' solves are not available": the adjoint solve had no graph and the
    # parameters' term held the solution as a constant. Now the backward is differentiable
    # (the adjoint is an implicit solve itself): the Hessian in alpha is the direct solve's,
    # also at alpha_2 = 1 (one-sided, -1.1180 for d2 b_0 / d alpha_2^2; an input computed
    # from another, a = 1 - g - c there, first gave -2.1416), and third derivatives too
    W = torch.tensor(_W3, dtype=torch.float64)
    S = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    weights = torch.tensor([0.3, -1.1, 0.7], dtype=torch.float64)

    def value(alpha: torch.Tensor, method: str) -> torch.Tensor:
        return (FriedkinJohnsen(W, 0.3, alpha).equilibrium(S, method=method, check=False)
                * weights).sum()

    for a2 in (0.6, 1.0):
        a0 = torch.tensor([0.5, 0.4, a2], dtype=torch.float64)
        got = torch.autograd.functional.hessian(lambda a: value(a, method), a0)
        expected = torch.autograd.functional.hessian(lambda a: value(a, "direct"), a0)
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-9)
    alpha = torch.tensor([0.5, 0.4, 1.0], dtype=torch.float64, requires_grad=True)
    out = FriedkinJohnsen(W, 0.3, alpha).equilibrium(S, method=method, check=False)
    (d1,) = torch.autograd.grad(out[0], alpha, create_graph=True)
    (d2,) = torch.autograd.grad(d1[2], alpha, create_graph=True)
    (d3,) = torch.autograd.grad(d2[2], alpha)
    assert float(d2[2].detach()) == pytest.approx(-0.811446, abs=1e-6)  # = direct
    assert float(d3[2]) == pytest.approx(-3.467346, abs=1e-6)  # = direct


@pytest.mark.parametrize("fn", ["equilibrium", "social_power"])
@pytest.mark.parametrize("method", ["cg", "bicgstab", "fixed_point"])
def test_sparse_hessians_of_iterative_solves_match_the_dense_direct_solve(fn, method):
    # a sparse 30-agent model (no direct fallback there) with an agent that never listens
    # and one fully stubborn: Hessian-vector products in gamma, alpha and S as the dense
    # direct solve's (they were refused)
    from multiagent import social_power

    support, logits0, g0, a0, S0, rng = _sparse_reciprocal_case()
    E = torch.where(support, logits0.exp(), 0.0)
    A = E + E.T
    weights = torch.tensor(rng.standard_normal(tuple(S0.shape)))
    directions = [torch.tensor(rng.standard_normal(tuple(x.shape))) for x in (g0, a0, S0)]

    def hvp(method: str, sparse: bool) -> tuple[torch.Tensor, ...]:
        inputs = tuple(x.clone().requires_grad_(True) for x in (g0, a0, S0))
        gamma, alpha, S = inputs
        fj = FriedkinJohnsen.from_adjacency(A.to_sparse() if sparse else A, gamma, alpha)
        out = (fj.equilibrium(S, method=method) if fn == "equilibrium"
               else social_power(fj, method=method)[:, None] * S)
        grads = torch.autograd.grad((out * weights).sum(), inputs, create_graph=True)
        return torch.autograd.grad(sum((g * v).sum() for g, v in zip(grads, directions)),
                                   inputs)

    for name, got, expected in zip(("gamma", "alpha", "S"), hvp(method, True),
                                   hvp("direct", False)):
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-8, msg=name)


def test_sparse_consensus_weights_hessian_matches_the_dense_solve():
    # the power iteration's second derivatives (they were refused) in alpha and learned
    # trust logits, as the dense direct solve's
    rng, n, A, support, logits0, a0, weights = _learned_trust_graph()
    directions = [torch.tensor(rng.standard_normal(tuple(x.shape))) for x in (a0, logits0)]

    def hvp(sparse: bool) -> tuple[torch.Tensor, ...]:
        alpha, logits = a0.clone().requires_grad_(True), logits0.clone().requires_grad_(True)
        W = _masked_softmax(logits, support)
        pi = FriedkinJohnsen(W.to_sparse() if sparse else W, 0.0, alpha).consensus_weights()
        grads = torch.autograd.grad((pi * weights).sum(), (alpha, logits), create_graph=True)
        return torch.autograd.grad(sum((g * v).sum() for g, v in zip(grads, directions)),
                                   (alpha, logits))

    for name, got, expected in zip(("alpha", "logits"), hvp(True), hvp(False)):
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-9, msg=name)


@pytest.mark.parametrize("method", ["direct", "bicgstab"])
def test_gradient_in_a_raw_trust_matrix_is_the_models(method):
    # the direct solve put W's row sums on the diagonal of I - H (for precision) with their
    # derivative: d/dW of a raw W (no row normalisation) was 2.3 off the rollout's
    gen = torch.Generator().manual_seed(0)
    n = 8
    A = torch.rand(n, n, dtype=torch.float64, generator=gen).fill_diagonal_(0)
    W0 = A / A.sum(1, keepdim=True)
    S = torch.softmax(torch.randn(n, 3, dtype=torch.float64, generator=gen), 1)
    gamma = torch.full((n,), 0.3, dtype=torch.float64)
    alpha = torch.full((n,), 0.4, dtype=torch.float64)
    weights = torch.arange(n, dtype=torch.float64)

    def grad_of(value) -> torch.Tensor:
        W = W0.clone().requires_grad_()
        (value(FriedkinJohnsen(W, gamma, alpha))[:, 0] * weights).sum().backward()
        return W.grad

    rolled = grad_of(lambda m: m.rollout(S, 400)[-1])
    solved = grad_of(lambda m: m.equilibrium(S, method=method))
    assert torch.allclose(solved, rolled, atol=1e-8)
    if method == "direct":  # the influence matrix: the same I - H
        M_rolled = grad_of(lambda m: m.rollout(torch.eye(n, dtype=torch.float64), 400)[-1])
        M_direct = grad_of(lambda m: m.influence_matrix())
        assert torch.allclose(M_direct, M_rolled, atol=1e-8)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_influence_matrix_of_an_agent_that_never_listens_by_hand(backend):
    # Gamma in M = (I - H)^{-1} Gamma is the effective stubbornness of _effective(): agent 0
    # (alpha = 1) never listens, its row of I - H is divided by its gamma and its g is 1.
    # A mutation-testing audit found that Gamma = diag(raw gamma) went unnoticed: row 0 read
    # (0.2, 0, 0) and no row summed to 1. By hand, on the complete graph (weights 1/2),
    # gamma = 0.2 and alpha = (1, 1/2, 1/2): b_0 = s_0; for i = 1, 2 (g = 0.2, a = c = 0.4)
    # b_i = 0.2 s_i + 0.4 b_i + 0.2 (b_0 + b_other), so 3 b_1 - b_2 = s_0 + s_1 and
    # 3 b_2 - b_1 = s_0 + s_2: b_1 = (4 s_0 + 3 s_1 + s_2) / 8 = 1/2 s_0 + 3/8 s_1 + 1/8 s_2
    W = np.array([[0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    alpha = np.array([1.0, 0.5, 0.5])
    s = np.array([1.0, 0.0, 0.0])
    conv = torch.tensor if backend == "torch" else np.asarray
    fj = FriedkinJohnsen(conv(W), gamma=0.2, alpha=conv(alpha))
    M = fj.influence_matrix()
    assert isinstance(M, torch.Tensor) == (backend == "torch")
    M = np.asarray(M)
    exact = [[1, 0, 0], [0.5, 0.375, 0.125], [0.5, 0.125, 0.375]]
    np.testing.assert_allclose(M, exact, rtol=0, atol=1e-15)
    np.testing.assert_allclose(M.sum(axis=1), 1, rtol=0, atol=1e-15)
    np.testing.assert_allclose(M @ s, np.asarray(fj.equilibrium(conv(s))), rtol=0, atol=1e-15)
    np.testing.assert_allclose(M @ s, [1, 0.5, 0.5], rtol=0, atol=1e-15)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_rollout_from_b0_is_anchored_to_the_innate_beliefs(backend):
    # each round is gamma S + H b(t): the anchor is the innate S, not the start B0. A
    # mutation-testing audit found that gamma * B0 as the anchor went unnoticed (every
    # rollout test started at B0 = S, where the two agree). Complete graph (weights 1/2),
    # gamma = 1/2, alpha = 0, S = (1, 0, 0), B0 = (0, 1, 1): W B0 = (1, 1/2, 1/2), so
    # b(1) = S/2 + W B0 / 2 = (1, 1/4, 1/4) (anchored to B0: (1/2, 3/4, 3/4)); then
    # W b(1) = (1/4, 5/8, 5/8) and b(2) = (5/8, 5/16, 5/16)
    W = np.array([[0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    S, B0 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 1.0])
    conv = torch.tensor if backend == "torch" else np.asarray
    fj = FriedkinJohnsen(conv(W), gamma=0.5, alpha=0.0)
    one = np.asarray(fj.rollout(conv(S), 1, B0=conv(B0)))
    np.testing.assert_array_equal(one, [[0, 1, 1], [1, 0.25, 0.25]])
    np.testing.assert_array_equal(one[1], fj_step(B0, S, W, 0.5, 0.0))
    two = np.asarray(fj.rollout(conv(S), 2, B0=conv(B0)))  # numpy writes rounds >= 2 in place
    np.testing.assert_array_equal(two, [[0, 1, 1], [1, 0.25, 0.25], [0.625, 0.3125, 0.3125]])


# ---------------------------------------------------------------- recovered symmetriser d
def _weighted_symmetric(rng, n: int, extra: int, spread: float = 1.0) -> sp.csr_array:
    """A connected symmetric weighted adjacency: a ring plus ``extra`` random edges, weights
    log-uniform over ``spread`` decades (so the row sums are neither 1 nor the counts)."""
    i = np.arange(n)
    rows = np.r_[i, rng.integers(0, n, extra)]
    cols = np.r_[(i + 1) % n, rng.integers(0, n, extra)]
    keep = rows != cols
    w = 10.0 ** rng.uniform(-spread, 0, keep.sum())
    A = sp.csr_array((w, (rows[keep], cols[keep])), shape=(n, n))
    return sp.csr_array(A + A.T)


def _fj_direct(W: np.ndarray, gamma: np.ndarray, alpha: np.ndarray, S: np.ndarray) -> np.ndarray:
    """``(I - H)^{-1} Gamma S`` by one dense numpy solve (the reference)."""
    H = np.diag(1 - gamma) @ (np.diag(alpha) + np.diag(1 - alpha) @ W)
    return np.linalg.solve(np.eye(len(gamma)) - H, gamma * S)


@pytest.mark.parametrize("n, sparse", [(6, False), (3000, True)])
@pytest.mark.parametrize("symmetric", [True, None])
def test_cg_recovers_the_symmetriser_of_a_reciprocal_weighted_w(rng, n, sparse, symmetric):
    # before: only d = 1 and d = the row counts were tried, so W = D^-1 A of a symmetric
    # weighted A (the case the `symmetric` docstring names) raised "symmetric=True but diag(d)
    # W is not symmetric for d = 1 or the row counts" (and symmetric=None fell back to
    # BiCGSTAB); d is now recovered from W by detailed balance (d = the row sums of A)
    A = _weighted_symmetric(rng, n, 3 * n)
    W = sp.csr_array(sp.diags_array(1 / A.sum(axis=1)) @ A)
    gamma, alpha = rng.uniform(0.1, 0.5, n), rng.uniform(0, 0.5, n)
    s = rng.random(n)
    fj = FriedkinJohnsen(W if sparse else W.toarray(), gamma, alpha, symmetric=symmetric)
    x = fj.equilibrium(s, method="auto" if sparse else "cg")
    assert fj.info_["method"] == "cg"
    ref = FriedkinJohnsen.from_adjacency(A, gamma, alpha).equilibrium(s)
    np.testing.assert_allclose(x, ref, rtol=0, atol=1e-8)
    if not sparse:
        np.testing.assert_allclose(x, _fj_direct(W.toarray(), gamma, alpha, s), rtol=0,
                                   atol=1e-8)
    else:  # the sparse direct solve of I - H
        H = sp.diags_array(1 - gamma) @ (sp.diags_array(alpha) + sp.diags_array(1 - alpha) @ W)
        direct = sp.linalg.spsolve(sp.csc_array(sp.eye_array(n) - H), gamma * s)
        np.testing.assert_allclose(x, direct, rtol=0, atol=1e-8)


def test_a_w_violating_kolmogorovs_criterion_is_not_symmetrisable():
    # a symmetric pattern is not enough: on the 3-cycle W_01 W_12 W_20 = 0.21 but
    # W_02 W_21 W_10 = 0.06, so no positive d makes diag(d) W symmetric (agent 3 hangs off
    # agent 0 by a reciprocal edge, which a tree alone would have accepted)
    W = np.array([[0, 0.4, 0.4, 0.2], [0.3, 0, 0.7, 0], [0.6, 0.4, 0, 0], [1.0, 0, 0, 0]])
    g, a, s = np.full(4, 0.3), np.full(4, 0.2), np.array([0.1, 0.9, 0.5, 0.3])
    with pytest.raises(ValueError, match=r"symmetric=True but W does not satisfy detailed "
                                         r"balance: no positive d makes diag\(d\) W symmetric"):
        FriedkinJohnsen(W, g, a, symmetric=True).equilibrium(s, method="cg")
    fj = FriedkinJohnsen(sp.csr_array(W), g, a)
    x = fj.equilibrium(s)
    assert fj.info_["method"] == "bicgstab"
    np.testing.assert_allclose(x, _fj_direct(W, g, a, s), rtol=0, atol=1e-9)
    with pytest.raises(ValueError, match="needs a symmetrisable W"):
        fj.equilibrium(s, method="cg")
    # the same cycle where d ~ 1e-20 (agent 0 gives agent 1 a weight of 1e-20): diag(d) W
    # is symmetric there to 1e-20 in absolute terms, yet CG on it did not converge
    # (relative residual 1.6 after 1050 iterations); the balance is checked edge by edge
    W5 = np.array([[0, 1e-20, 0, 0, 1 - 1e-20], [0.2, 0, 0.4, 0.4, 0], [0, 0.3, 0, 0.7, 0],
                   [0, 0.6, 0.4, 0, 0], [1.0, 0, 0, 0, 0]])
    g5, a5, s5 = np.full(5, 0.3), np.full(5, 0.2), np.linspace(0, 1, 5)
    with pytest.raises(ValueError, match="does not satisfy detailed balance"):
        FriedkinJohnsen(W5, g5, a5, symmetric=True).equilibrium(s5, method="cg")
    fj5 = FriedkinJohnsen(sp.csr_array(W5), g5, a5)
    np.testing.assert_allclose(fj5.equilibrium(s5), _fj_direct(W5, g5, a5, s5), atol=1e-9)
    assert fj5.info_["method"] == "bicgstab"


def test_a_w_with_an_asymmetric_pattern_is_not_symmetrisable():
    # agent 2 listens to agent 0, who does not listen back (W_20 > 0 = W_02): no positive d
    W = np.array([[0, 1.0, 0], [0.5, 0, 0.5], [0.25, 0.75, 0]])
    g, a, s = np.full(3, 0.3), np.full(3, 0.2), np.array([0.1, 0.9, 0.5])
    with pytest.raises(ValueError, match="does not satisfy detailed balance"):
        FriedkinJohnsen(W, g, a, symmetric=True).equilibrium(s, method="cg")
    fj = FriedkinJohnsen(sp.csr_array(W), g, a)
    np.testing.assert_allclose(fj.equilibrium(s), _fj_direct(W, g, a, s), rtol=0, atol=1e-9)
    assert fj.info_["method"] == "bicgstab"


def test_the_symmetriser_is_recovered_on_components_of_different_scales(rng):
    # two groups whose row sums differ by 1e250 (and spread over 40 decades inside the second):
    # d is recovered on each component by itself, so neither underflows. The second group is
    # DeGroot (gamma = 0, a closed group): its consensus weights pi ~ rowsum(A) / (1 - alpha)
    # come from detailed balance on that group
    A1 = _weighted_symmetric(rng, 30, 60)
    A2 = _weighted_symmetric(rng, 20, 30, spread=40.0) * 1e-250
    A = sp.csr_array(sp.block_diag([A1, A2]))
    rs = A.sum(axis=1)
    W = sp.csr_array(sp.diags_array(1 / rs) @ A)
    n = 50
    gamma = np.r_[rng.uniform(0.1, 0.5, 30), np.zeros(20)]
    alpha = rng.uniform(0, 0.5, n)
    s = rng.random(n)
    fj = FriedkinJohnsen(W, gamma, alpha, symmetric=True)
    x = fj.equilibrium(s)
    w = rs[30:] / (1 - alpha[30:])
    expect = np.r_[_fj_direct(W.toarray()[:30, :30], gamma[:30], alpha[:30], s[:30]),
                   np.full(20, w @ s[30:] / w.sum())]
    np.testing.assert_allclose(x, expect, rtol=0, atol=1e-9)
    d = np.asarray(fj._sym_d)
    Ws = W.toarray() * d[:, None]
    np.testing.assert_allclose(Ws, Ws.T, rtol=1e-12, atol=0)
    assert d[:30].max() == d[30:].max() == 1.0  # each component normalised by itself


@pytest.mark.parametrize("backend", ["numpy", "scipy", "torch"])
def test_consensus_weights_of_a_reciprocal_weighted_w_by_detailed_balance(rng, backend):
    # before: W = D^-1 A given directly (not through from_adjacency) was not recognised as
    # reciprocal, so pi fell back to a dense solve or power iteration; now it is the closed
    # form pi ~ rowsum(A) / (1 - alpha), which is the left eigenvector of P for eigenvalue 1
    n = 40
    A = _weighted_symmetric(rng, n, 60, spread=3.0)
    rs = A.sum(axis=1)
    W = (sp.diags_array(1 / rs) @ A).toarray()
    alpha = rng.uniform(0, 0.5, n)
    P = np.diag(alpha) + np.diag(1 - alpha) @ W
    vals, vecs = np.linalg.eig(P.T)
    eig = np.real(vecs[:, np.argmin(np.abs(vals - 1))])
    eig /= eig.sum()
    power = np.full(n, 1.0 / n)
    for _ in range(20000):
        power = 0.5 * (power + P.T @ power)
    conv = {"numpy": np.asarray, "scipy": sp.csr_array, "torch": torch.tensor}[backend]
    pi = np.asarray(FriedkinJohnsen(conv(W), 0.0, alpha).consensus_weights())
    np.testing.assert_allclose(pi, eig, rtol=1e-10)
    np.testing.assert_allclose(pi, power, rtol=1e-10)
    w = rs / (1 - alpha)
    np.testing.assert_allclose(pi, w / w.sum(), rtol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "scipy", "torch"])
def test_influence_after_finite_rounds_is_the_rollout_of_the_identity(backend, rng):
    # the influence of each first answer on the answers after T rounds (debates run 2-5
    # rounds) was only available at equilibrium; M_T = rollout(I, T)[-1], rows summing to 1,
    # whose column means are the social powers after T rounds, and M_T -> M as T grows
    from multiagent.analysis import social_power

    fj, _, _ = _random_model(rng, n=10)
    W = fj.W
    conv = {"numpy": np.asarray, "scipy": sp.csr_array, "torch": torch.tensor}[backend]
    model = FriedkinJohnsen(conv(W), fj.gamma, fj.alpha)
    S = rng.dirichlet(np.ones(3), size=10)
    traj = fj.rollout(np.eye(10), 5, check=False)
    for T in (0, 1, 2, 5):
        M_T = np.asarray(model.influence_matrix(rounds=T))
        np.testing.assert_allclose(M_T, traj[T], rtol=0, atol=1e-14)
        np.testing.assert_allclose(M_T.sum(axis=1), 1, rtol=0, atol=1e-14)
        np.testing.assert_allclose(M_T @ S, fj.rollout(S, T)[-1], rtol=0, atol=1e-14)
        pi_T = np.asarray(social_power(model, rounds=T))
        np.testing.assert_allclose(pi_T, M_T.mean(axis=0), rtol=0, atol=1e-14)
    np.testing.assert_array_equal(np.asarray(model.influence_matrix(rounds=0)), np.eye(10))
    # T -> infinity: the equilibrium's (the spectral radius is at most 0.95 here)
    np.testing.assert_allclose(np.asarray(model.influence_matrix(rounds=1000)),
                               np.asarray(model.influence_matrix()), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(social_power(model, rounds=1000)),
                               np.asarray(social_power(model)), rtol=0, atol=1e-12)


@pytest.mark.parametrize("T", [0, 1, 2, 3, 10])
def test_influence_after_finite_rounds_of_two_agents_by_hand(T):
    # two agents who hear each other (W = [[0, 1], [1, 0]]), gamma = 0.2, alpha = 1/4:
    # H = (1 - g)(a I + (1 - a) W) acts on (1, 1) as 1 - g and on (1, -1) as
    # rho = (1 - g)(2a - 1) = -0.4, and M_T = H^T + sum_{t < T} H^t g keeps (1, 1) and
    # multiplies (1, -1) by mu_T = rho^T + g (1 - rho^T) / (1 - rho), so
    # M_T = [[1 + mu_T, 1 - mu_T], [1 - mu_T, 1 + mu_T]] / 2: mu_0 = 1 (the identity),
    # mu_1 = -0.4 + 0.2 = -0.2 (M_1 = [[0.4, 0.6], [0.6, 0.4]]), mu_inf = 1/7 (M's diagonal 4/7)
    from multiagent.analysis import social_power

    g, a = 0.2, 0.25
    rho = (1 - g) * (2 * a - 1)
    mu = rho**T + g * (1 - rho**T) / (1 - rho)
    exact = np.array([[1 + mu, 1 - mu], [1 - mu, 1 + mu]]) / 2
    fj = FriedkinJohnsen(np.array([[0.0, 1.0], [1.0, 0.0]]), gamma=g, alpha=a)
    np.testing.assert_allclose(fj.influence_matrix(rounds=T), exact, rtol=0, atol=1e-15)
    if T == 1:
        np.testing.assert_allclose(exact, [[0.4, 0.6], [0.6, 0.4]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(fj.influence_matrix(), [[4 / 7, 3 / 7], [3 / 7, 4 / 7]],
                               rtol=0, atol=1e-15)
    # unequal stubbornness, gamma = (1/2, 1/4), alpha = 0: M_1 = Gamma + H =
    # [[1/2, 1/2], [3/4, 1/4]], social power (5/8, 3/8) after one round; (0.7, 0.3) at
    # equilibrium (M = [[0.8, 0.2], [0.6, 0.4]])
    fj2 = FriedkinJohnsen(np.array([[0.0, 1.0], [1.0, 0.0]]), gamma=[0.5, 0.25], alpha=0.0)
    if T == 1:
        np.testing.assert_allclose(fj2.influence_matrix(rounds=1), [[0.5, 0.5], [0.75, 0.25]],
                                   rtol=0, atol=1e-15)
        np.testing.assert_allclose(social_power(fj2, rounds=1), [0.625, 0.375],
                                   rtol=0, atol=1e-15)
    np.testing.assert_allclose(social_power(fj2, rounds=T),
                               fj2.influence_matrix(rounds=T).mean(axis=0), rtol=0, atol=1e-15)


def test_finite_rounds_are_checked_by_name():
    from multiagent.analysis import social_power

    fj = FriedkinJohnsen(np.array([[0.0, 1.0], [1.0, 0.0]]), gamma=0.2, alpha=0.0)
    for bad, error in ((-1, ValueError), (2.5, TypeError), (True, TypeError), ("3", TypeError)):
        with pytest.raises(error, match="rounds"):
            fj.influence_matrix(rounds=bad)
        with pytest.raises(error, match="rounds"):
            social_power(fj, rounds=bad)
    # None is the equilibrium, as before
    np.testing.assert_array_equal(fj.influence_matrix(rounds=None), fj.influence_matrix())
    np.testing.assert_array_equal(social_power(fj, rounds=None), social_power(fj))


def test_friedkins_self_weights_map_to_alpha_as_the_error_says():
    # before: Friedkin's W with self-weights w_ii was refused with "set the diagonal to 0,
    # or build the model with from_adjacency, which drops self-loops": that re-normalises
    # the rows, and its equilibrium [0.206, 0.394, 0.44] is not the literature's V s. The
    # self-weight is alpha: gamma = 1 - lambda, alpha_i = w_ii, W0 = off-diagonal / (1 - w_ii)
    W = np.array([[0.5, 0.3, 0.2], [0.2, 0.6, 0.2], [0.1, 0.1, 0.8]])
    lam = np.array([0.5, 0.6, 0.8])
    s = np.array([0.0, 0.5, 1.0])
    V = np.linalg.solve(np.eye(3) - lam[:, None] * W, np.diag(1 - lam))
    np.testing.assert_allclose(V @ s, [0.18997361, 0.48021108, 0.70448549], atol=1e-8)
    with pytest.raises(ValueError, match=r"W\[0, 0\] = 0.5: an agent's trust in itself must "
                       r"be 0 \(its self-weight is alpha\)\. For Friedkin's W with "
                       r"self-weights w_ii .* build FriedkinJohnsen\(W0, gamma=1 - lambda, "
                       r"alpha=w_ii\) with W0 = W off the diagonal, each row i divided by "
                       r"1 - w_ii .* only for an adjacency whose self-loops mean nothing"):
        FriedkinJohnsen(W, gamma=1 - lam, alpha=0.0)
    d = np.diag(W)
    fj = FriedkinJohnsen((W - np.diag(d)) / (1 - d)[:, None], gamma=1 - lam, alpha=d)
    np.testing.assert_allclose(fj.influence_matrix(), V, atol=1e-14)
    np.testing.assert_allclose(fj.equilibrium(s, check=False), V @ s, atol=1e-14)
    np.testing.assert_allclose(fj.rollout(s, 3, check=False)[-1],
                               np.linalg.matrix_power(lam[:, None] * W, 3) @ s
                               + sum(np.linalg.matrix_power(lam[:, None] * W, k)
                                     @ ((1 - lam) * s) for k in range(3)), atol=1e-14)
    # an alpha given too combines with the self-weight: alpha_i + (1 - alpha_i) w_ii
    a = 0.3
    both = FriedkinJohnsen((W - np.diag(d)) / (1 - d)[:, None], 1 - lam, a + (1 - a) * d)
    mixed = a * np.eye(3) + (1 - a) * W  # alpha b_i + (1 - alpha) (W b)_i, W with its w_ii
    np.testing.assert_allclose(both.influence_matrix(),
                               np.linalg.solve(np.eye(3) - lam[:, None] * mixed,
                                               np.diag(1 - lam)), atol=1e-14)
