"""Scale: large sparse graphs stay sparse, and nothing grows faster than the method needs."""

from __future__ import annotations

import time

import matplotlib
import numpy as np
import pytest
import scipy.sparse as sp
import torch

import multiagent.adversary as adversary_module
import multiagent.fit as fit_module
from multiagent import (
    Adversary,
    FriedkinJohnsen,
    Reply,
    Scenario,
    classic_fj,
    fit_fj,
    run_debate,
    simulate,
    simulate_transcript,
)
from multiagent._sparse import drop_diagonal
from multiagent.plot import plot_trajectories
from multiagent.topologies import adjacency, make_graph, random_graph

matplotlib.use("Agg")


def _reference_drop(A: sp.csr_array) -> sp.csr_array:
    ref = sp.csr_array(A, copy=True)
    ref.sum_duplicates()
    ref = ref.tolil()  # setdiag on csr warns (SparseEfficiencyWarning) on scipy < 1.13
    ref.setdiag(0)
    ref = sp.csr_array(ref)
    ref.eliminate_zeros()
    return ref


def test_diagonal_is_dropped_without_scipy_setdiag(monkeypatch):
    # setdiag goes through COO and back: 2.5 s of a 4.4 s model build at 1M nodes
    rng = np.random.default_rng(0)
    mats = []
    for n in (1, 5, 30):
        A = sp.random_array((n, n), density=0.4, random_state=rng,
                            format="coo")  # rng= is scipy >= 1.15
        # a duplicate, an explicit zero and a self-loop on top
        A = sp.coo_array((np.r_[A.data, 0.5, 0.5, 0.0], (np.r_[A.row, 0, 0, n - 1],
                                                         np.r_[A.col, 0, 0, 0])), shape=(n, n))
        mats.append((A, _reference_drop(A)))
    sym = sp.csr_array(random_graph(200, 600, seed=1) + sp.eye_array(200))
    W_ref = FriedkinJohnsen.from_adjacency(sym, 0.3, 0.2).W
    z_ref = classic_fj(sym).equilibrium(np.linspace(0, 1, 200))

    def boom(*args, **kwargs):
        raise AssertionError("setdiag called")

    monkeypatch.setattr(sp.csr_array, "setdiag", boom)
    for A, ref in mats:
        out = drop_diagonal(A)
        assert (out.indptr == ref.indptr).all() and (out.indices == ref.indices).all()
        assert (out.data == ref.data).all()  # bitwise
    W = FriedkinJohnsen.from_adjacency(sym, 0.3, 0.2).W
    assert (W != W_ref).nnz == 0
    np.testing.assert_array_equal(classic_fj(sym).equilibrium(np.linspace(0, 1, 200)), z_ref)
    assert adjacency(make_graph("ring", 6), sparse=True).diagonal().sum() == 0


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning")
def test_torch_sparse_model_with_isolated_agents_stays_sparse(monkeypatch):
    # before: an empty row's self-loop came from a dense n x n torch.diag (7 GB at 30k)
    def boom(*args, **kwargs):
        raise AssertionError("dense n x n identity")

    A = random_graph(400, 100, seed=0)  # most agents have no neighbour
    isolated = np.flatnonzero(np.diff(A.indptr) == 0)
    coo = A.tocoo()
    idx = torch.as_tensor(np.vstack([coo.row, coo.col]))
    s = torch.linspace(0, 1, 400, dtype=torch.float64)
    monkeypatch.setattr(torch, "diag", boom)
    for layout in ("coo", "csr"):
        T = torch.sparse_coo_tensor(idx, torch.as_tensor(coo.data), A.shape,
                                    check_invariants=True).coalesce()
        T = T.to_sparse_csr() if layout == "csr" else T
        model = FriedkinJohnsen(T, 0.3, 0.2, normalise=True)
        assert model.W.layout != torch.strided
        z = model.equilibrium(s)
        torch.testing.assert_close(z[isolated], s[isolated])  # they hear only themselves


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning")
def test_torch_csr_solvers_multiply_by_csr_matrices():
    # the CG matrix diag(d) W and the transposes were built in COO, whose product with a
    # dense block torch converts on every call: 8-13x slower per iteration than CSR
    # (a CG equilibrium of 300k agents, 3M entries: 8.0 s, against 0.9 s)
    from multiagent import _backend as bk
    from multiagent import social_power

    rng = np.random.default_rng(0)
    n = 300
    sym = random_graph(n, 4 * n, seed=1)
    directed = sp.csr_array((np.ones(4 * n), (rng.integers(0, n, 4 * n),
                                              rng.integers(0, n, 4 * n))), shape=(n, n))
    S = rng.dirichlet(np.ones(3), size=n)
    for symmetric, A in ((True, sym), (False, directed)):
        A = drop_diagonal(A)
        A.data[:] = 1.0
        T = torch.sparse_coo_tensor(torch.as_tensor(np.vstack(A.nonzero())),
                                    torch.as_tensor(A.data), A.shape,
                                    check_invariants=True).coalesce().to_sparse_csr()
        assert bk.transpose(T).layout == torch.sparse_csr
        assert bk.scale_rows(T, torch.ones(n, dtype=T.dtype)).layout == torch.sparse_csr
        model = FriedkinJohnsen.from_adjacency(T, 0.2, 0.5)
        ref = FriedkinJohnsen.from_adjacency(A, 0.2, 0.5)
        for method in ("cg", "bicgstab") if symmetric else ("bicgstab",):
            z = model.equilibrium(torch.as_tensor(S), method=method, tol=1e-12).numpy()
            np.testing.assert_allclose(z, ref.equilibrium(S, method=method, tol=1e-12),
                                       rtol=0, atol=1e-10)
        if symmetric:
            assert model._sym_W.layout == torch.sparse_csr
        np.testing.assert_allclose(social_power(model, method="bicgstab").numpy(),
                                   social_power(ref, method="bicgstab"), rtol=0, atol=1e-12)


def test_large_scenario_model_is_sparse_and_matches_the_dense_one(monkeypatch):
    sc = Scenario(graph="ba", n=2500, adversaries=(Adversary("hub", persuasion=3.0),))
    W = sc.model().W
    assert sp.issparse(W)  # before: five dense 2500 x 2500 arrays (670 MB at n = 3000)
    assert W.nnz <= 2 * 2 * 2500
    small = Scenario(graph="er", n=300, adversaries=(Adversary("hub", persuasion=2.5),
                                                     Adversary("leaf", persuasion=0.0)))
    trust = np.random.default_rng(0).random((300, 300))
    dense, dense_t = small.model(), small.model(trust=trust)
    monkeypatch.setattr(adversary_module, "_DENSE_MAX", 10)
    sparse, sparse_t = small.model(), small.model(trust=trust)
    assert sp.issparse(sparse.W) and sp.issparse(sparse_t.W)
    np.testing.assert_allclose(sparse.W.toarray(), dense.W, rtol=0, atol=1e-15)
    np.testing.assert_allclose(sparse_t.W.toarray(), dense_t.W, rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="trust"):
        small.model(trust=-trust)


def test_simulate_draws_the_graph_once(monkeypatch):
    calls = []
    real = adversary_module.make_graph

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(adversary_module, "make_graph", counting)
    simulate(Scenario(graph="ba", n=50, adversaries=(Adversary("hub"),)), questions=2)
    assert len(calls) == 1  # before: 5 (model, nodes, benign...), O(n^2) each for "er"


def test_simulate_relabels_a_networkx_graph_once(monkeypatch):
    # before: model(), adversary_nodes() (twice) and benign() each relabelled a graph passed
    # in and found its hub and leaf: 5 relabels and 3 hub_and_leaf per simulate (6 and 4 per
    # prunus fj simulate: relabels took 10.0 of its 15.5 s at 10^5 agents, 2*10^5 edges)
    import networkx as nx

    calls = {"make_graph": 0, "hub_and_leaf": 0}
    for name in calls:
        real = getattr(adversary_module, name)

        def counting(*args, _real=real, _name=name, **kwargs):  # noqa: ANN002, ANN003, ANN202
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(adversary_module, name, counting)
    graph = nx.relabel_nodes(nx.gnm_random_graph(60, 120, seed=0, directed=True),
                             lambda v: f"agent {v}")
    sc = Scenario(graph=graph, adversaries=(Adversary("hub"), Adversary("leaf")))
    result = simulate(sc, questions=2)
    assert calls == {"make_graph": 1, "hub_and_leaf": 1}
    # the nodes and the benign mask are read off the user's graph, with no relabelled copy
    nodes = sc.adversary_nodes()
    assert sc.benign().tolist() == result.benign.tolist()
    assert calls["make_graph"] == 1
    # still the graph as it is now: agent 5 speaking to every other one becomes the hub
    graph.add_edges_from(("agent 5", f"agent {v}") for v in range(60) if v != 5)
    assert sc.adversary_nodes() == [5, nodes[1]]
    assert simulate(sc, questions=2).benign.tolist() == sc.benign().tolist()
    assert calls["make_graph"] == 2  # once per simulate
    from multiagent import sweep

    sweep(sc, {"gamma": [0.1, 0.3]}, questions=1)
    assert calls["make_graph"] == 4  # and once per point of a sweep

class _Echo:
    def __init__(self, belief: np.ndarray) -> None:
        self.belief = belief

    def respond(self, question, options, messages, round):  # noqa: ANN001, ANN201
        return Reply(self.belief, "")


def test_long_debates_are_linear_in_rounds():
    # before: each agent scanned the whole history every round, O(n^2 rounds^2):
    # 4.5 s here against 0.25 s
    n, rounds = 40, 400
    agents = [_Echo(np.full(5, 0.2)) for _ in range(n)]
    start = time.perf_counter()
    X, _ = run_debate(agents, np.ones((n, n)) - np.eye(n), rounds=rounds)
    assert time.perf_counter() - start < 0.75  # 0.15-0.27 s on a busy 2-core box; old 3.5 s
    assert X.shape == (rounds + 1, n, 5)


def test_blocked_standard_errors_match_the_full_information_matrix(monkeypatch):
    X = simulate_transcript(6, 10, 5, gamma=0.3, alpha=0.4, noise=0.01, seed=1)
    frozen = simulate_transcript(6, 10, 5, gamma=np.r_[1.0, np.full(5, 0.3)], alpha=0.4,
                                 noise=0.005, seed=2)
    cases = [(X, False), (X, True), (frozen, True), (frozen, False)]
    full = [fit_fj(x, per_agent=p, max_steps=1) for x, p in cases]
    monkeypatch.setattr(fit_module, "_DENSE_SE_MAX", 0)
    for (x, p), ref in zip(cases, full):
        fit = fit_fj(x, per_agent=p, max_steps=1)
        np.testing.assert_array_equal(fit.gamma, ref.gamma)
        np.testing.assert_allclose(fit.gamma_se, ref.gamma_se, rtol=1e-5)
        np.testing.assert_allclose(fit.alpha_se, ref.alpha_se, rtol=1e-4)


def test_fits_with_many_agents_skip_the_full_information_matrix(monkeypatch):
    # before: (n^2 + 2)^2 information matrix factorised three times: 14.5 s of an 18.8 s
    # fit at 48 agents, minutes at 100
    def boom(*args, **kwargs):
        raise AssertionError("full information matrix")

    # 10 rounds x 5 options > 24 agents: trust alone cannot fit every move, so gamma and
    # alpha are identified (with 4 x 3 both methods give inf)
    X = simulate_transcript(24, 10, 5, gamma=0.3, alpha=0.4, noise=0.01, seed=0)
    monkeypatch.setattr(fit_module, "_standard_errors", boom)
    for per_agent in (False, True):
        fit = fit_fj(X, per_agent=per_agent, max_steps=2)
        assert fit.gamma_se.shape == ((24,) if per_agent else (1,))
        assert np.isfinite(fit.gamma_se).all() and (fit.gamma_se > 0).all()


def test_many_agents_are_drawn_as_one_artist():
    # before: one Line2D per agent, ~1 ms each to add and draw (5 s at 5000 agents)
    traj = np.random.default_rng(0).random((6, 500))
    ax = plot_trajectories(traj, adversaries=[0])
    assert len(ax.lines) == 1 and len(ax.collections) == 1
    low, high = ax.get_ylim()
    assert low <= traj.min() and high >= traj.max()
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["benign agents (499)", "agent 0 (adversary)"]


def test_large_erdos_renyi_graphs_are_not_drawn_pair_by_pair(monkeypatch):
    # gnp_random_graph tries every pair (7 s at 1e4 agents, ~11 min at 1e5)
    import networkx as nx

    small = make_graph("er", 200, seed=3)
    assert nx.utils.graphs_equal(small, nx.gnp_random_graph(200, 2 * np.log(200) / 200,
                                                             seed=3))  # small: as before

    def every_pair(*args, **kwargs):
        raise AssertionError("O(n^2) generator used")

    monkeypatch.setattr(nx, "gnp_random_graph", every_pair)
    G = make_graph("er", 20_000, p=5e-4, seed=0)
    assert G.number_of_nodes() == 20_000
    expected = 5e-4 * 20_000 * 19_999 / 2
    assert abs(G.number_of_edges() - expected) < 5 * np.sqrt(expected)


@pytest.mark.parametrize(("n", "rounds", "options"), [(24, 4, 3), (25, 10, 2), (30, 3, 3)])
def test_blocked_standard_errors_say_when_trust_can_absorb_gamma(n, rounds, options):
    # with rounds x (options - 1) <= n every agent's trust row can fit all its moves, so
    # gamma is not identified: the subtracted Schur complement went indefinite by round-off
    # and the clipped variance gave an SE of exactly 0 (24/4/3, 25/10/2) or 5e4 (30/3/3)
    X = simulate_transcript(n, rounds, options, gamma=0.3, alpha=0.4, noise=0.01, seed=1)
    fit = fit_fj(X, max_steps=3)
    assert 2 + n * n > fit_module._DENSE_SE_MAX  # the blocked path
    assert np.isinf(fit.gamma_se).all() and np.isinf(fit.alpha_se).all()


def test_graph_is_the_one_simulated():
    sc = Scenario(graph="er", n=30, seed=None)
    assert sorted(sc.graph_().edges()) == sorted(sc.graph_().edges())
    assert sorted(sc.graph_().edges()) == sorted(sc._graph.edges())


def test_sparse_products_with_few_columns_go_column_by_column(monkeypatch):
    # scipy's multi-column CSR product (csr_matvecs) was 2-3x slower than K single-column
    # products once X outgrew the cache (1e6 agents, K = 3: 0.083 s against 0.037 s), so
    # Dirichlet equilibria cost about 3x K scalar solves; the column-wise product must
    # give the very same bits, for float64, float32, mixed dtypes and one column
    import multiagent._backend as bk
    from multiagent.solvers import _coldot

    rng = np.random.default_rng(7)
    # built by hand: sp.random_array's seed argument is rng= or random_state= by version
    W = sp.csr_array(np.where(rng.random((300, 300)) < 0.05, rng.random((300, 300)), 0.0))
    for dtype, K in ((np.float64, 3), (np.float32, 5), (np.float64, 1), (np.float32, 1)):
        X = rng.random((300, K)).astype(dtype)
        for A in (W, W.astype(np.float32)):
            out = bk.sparse_matmul_columns(A, X)
            expected = A @ X
            assert out.dtype == expected.dtype and out.flags.c_contiguous
            assert np.array_equal(out, expected)
    calls = []
    monkeypatch.setattr(bk, "_COLUMNWISE_BYTES", 0)
    monkeypatch.setattr(bk, "sparse_matmul_columns",
                        lambda A, X: calls.append(X.shape) or A @ X)
    bk.matmul(W, rng.random((300, 3)))
    bk.matmul(W, rng.random((300, 1)))  # one column: the plain product
    assert calls == [(300, 3)]
    X, Y = rng.random((1000, 4)), rng.random((1000, 4))
    assert np.array_equal(_coldot(X, Y), (X * Y).sum(0))
