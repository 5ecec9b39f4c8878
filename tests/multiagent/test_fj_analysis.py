"""Social power and polarization/conflict indices against dense formulas."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from multiagent import FriedkinJohnsen
from multiagent.analysis import (
    classic_fj,
    disagreement,
    opinion_indices,
    social_power,
    time_to_consensus,
    time_to_equilibrium,
)
from multiagent.topologies import adjacency, make_graph, random_graph


@pytest.mark.parametrize("conv", [np.asarray, sp.csr_array, torch.tensor])
def test_social_power_is_column_mean_of_M(conv, rng):
    A = adjacency(make_graph("ba", 80, m=2, seed=0))
    g = rng.uniform(0.05, 0.6, 80)
    a = rng.uniform(0, 0.7, 80)
    T = rng.random((80, 80))
    dense = FriedkinJohnsen.from_adjacency(A, g, a, trust=T)
    M = dense.influence_matrix()
    fj = FriedkinJohnsen.from_adjacency(conv(A), g, a, trust=conv(T))
    pi = social_power(fj)
    pi = pi.numpy() if isinstance(pi, torch.Tensor) else pi
    np.testing.assert_allclose(pi, M.mean(axis=0), atol=1e-12)
    assert pi.sum() == pytest.approx(1.0, abs=1e-12)


def test_undirected_unit_stubbornness_gives_equal_social_power():
    """(I + L)^-1 is doubly stochastic: every agent has social power 1/n."""
    A = adjacency(make_graph("er", 50, p=0.1, seed=2))
    pi = social_power(classic_fj(A))
    np.testing.assert_allclose(pi, 1 / 50, atol=1e-12)


def test_star_hub_has_most_social_power():
    fj = FriedkinJohnsen.from_adjacency(adjacency(make_graph("star", 6)), 0.2, 0.5)
    pi = social_power(fj)
    assert pi.argmax() == 0


def test_indices_match_dense_formulas(rng):
    G = make_graph("er", 40, p=0.15, seed=4)
    for u, v in G.edges:
        G[u][v]["weight"] = rng.uniform(0.5, 2)
    A = adjacency(G)
    L = np.diag(A.sum(1)) - A
    s = rng.random(40)
    z = np.linalg.solve(np.eye(40) + L, s)
    zb = z - z.mean()
    sb = s - s.mean()
    out = opinion_indices(sp.csr_array(A), s)
    np.testing.assert_allclose(out["z"], z, atol=1e-10)
    assert out["polarization"] == pytest.approx(zb @ zb, rel=1e-9)
    assert out["disagreement"] == pytest.approx(zb @ L @ zb, rel=1e-9)
    assert out["disagreement"] == pytest.approx(
        sum(A[i, j] * (z[i] - z[j]) ** 2 for i in range(40) for j in range(i)), rel=1e-9)
    quad = sb @ np.linalg.solve(np.eye(40) + L, sb)
    assert out["pd_index"] == pytest.approx(quad, rel=1e-9)
    assert out["pd_index_quadratic"] == pytest.approx(quad, rel=1e-9)
    assert out["internal_conflict"] == pytest.approx(np.sum((L @ z) ** 2), rel=1e-9)
    assert out["controversy"] == pytest.approx(z @ z, rel=1e-9)
    assert out["dc_index"] == pytest.approx(z @ L @ z + z @ z, rel=1e-9)


def test_indices_on_a_large_sparse_graph_by_cg():
    A = random_graph(20_000, 60_000, seed=1)
    s = np.random.default_rng(0).random(20_000)
    out = opinion_indices(A, s, tol=1e-12)
    assert out["pd_index"] == pytest.approx(out["pd_index_quadratic"], rel=1e-8)
    assert out["polarization"] < ((s - s.mean()) ** 2).sum()  # averaging shrinks polarization


def test_convergence_times():
    fj = FriedkinJohnsen.from_adjacency(adjacency(make_graph("complete", 5)), 0.0, 0.0)
    s = np.array([1.0, 0, 0, 0, 0])
    # DeGroot on K5 with W = (J - I)/4: spread shrinks by 1/4 each round
    t = time_to_consensus(fj, s, tol=1e-6)
    assert t == int(np.ceil(np.log(1e-6) / np.log(0.25)))
    stub = FriedkinJohnsen.from_adjacency(adjacency(make_graph("complete", 5)), 0.5, 0.0)
    assert time_to_consensus(stub, s, max_steps=200) is None


@pytest.mark.parametrize(("tol", "rounds"), [(1e-2, 2), (1e-6, 7), (1e-8, 9)])
def test_time_to_equilibrium_closed_form(tol, rounds):
    """K5, gamma = 1/2, alpha = 0, s = e_0: the error shrinks by exactly 1/8 per round.

    The FJ update is b(t+1) = s/2 + W b(t)/2 with W = (J - I)/4, so the error
    e(t) = b(t) - b* obeys e(t+1) = W e(t)/2.  b* = s/2 + W b*/2 gives
    b* = (5/9, 1/9, 1/9, 1/9, 1/9) (check: 1/2 + (4/9)/8 = 5/9, (5/9 + 3/9)/8 = 1/9), so
    e(0) = s - b* = (4/9, -1/9, ...) sums to 0; W acts on zero-sum vectors as -1/4, hence
    e(t) = (-1/8)^t e(0) and max |e(t)| = (4/9) 8^-t.  The first t with that < tol is
    ceil(log8(4/(9 tol))): 1.48 -> 2, 6.26 -> 7, 8.47 -> 9 (never near an integer).
    """
    stub = FriedkinJohnsen.from_adjacency(adjacency(make_graph("complete", 5)), 0.5, 0.0)
    s = np.array([1.0, 0, 0, 0, 0])
    np.testing.assert_allclose(stub.equilibrium(s), [5 / 9, 1 / 9, 1 / 9, 1 / 9, 1 / 9],
                               atol=1e-14)
    assert rounds == int(np.ceil(np.log(4 / (9 * tol)) / np.log(8)))
    assert time_to_equilibrium(stub, s, tol=tol) == rounds
    # max_steps one short of the answer: not reached
    assert time_to_equilibrium(stub, s, tol=tol, max_steps=rounds - 1) is None


@pytest.mark.parametrize("layout", ["dense", "sparse"])
def test_classic_fj_of_an_integer_torch_adjacency_is_not_degroot(layout):
    # before: gamma = 1/(1 + d) was cast to the adjacency's int64 dtype, i.e. 0, so the
    # "classic FJ" model was DeGroot: z = [0.625, 0.625, 0.625] against (I + L)^-1 s
    A = np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]])
    s = np.array([1.0, 0.0, 0.5])
    z_ref = np.linalg.solve(np.eye(3) + np.diag(A.sum(1)) - A, s)  # [0.625, 0.3125, 0.5625]
    At = torch.tensor(A)
    At = At.to_sparse() if layout == "sparse" else At
    fj = classic_fj(At)
    np.testing.assert_allclose(fj.gamma.numpy(), 1 / (1 + A.sum(1)))
    np.testing.assert_allclose(fj.equilibrium(s).numpy(), z_ref, atol=1e-12)
    out = opinion_indices(At, torch.tensor(s))
    zc = z_ref - z_ref.mean()
    assert out["polarization"] == pytest.approx(zc @ zc, abs=1e-12)


@pytest.mark.parametrize("count", [time_to_consensus, time_to_equilibrium])
def test_round_counts_of_a_differentiable_model_record_no_graph(count, monkeypatch):
    # every round was recorded by autograd (575 MB by round 3000 at 400 agents), and
    # time_to_equilibrium warned "Converting a tensor with requires_grad=True to a scalar"
    W = torch.tensor((np.ones((3, 3)) - np.eye(3)) / 2, requires_grad=True)
    S = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], dtype=torch.float64)
    fj = FriedkinJohnsen(W, 0.1, 0.2)
    recorded = []
    step = FriedkinJohnsen.step

    def spy(self, B, *args, **kwargs):
        out = step(self, B, *args, **kwargs)
        recorded.append(out.requires_grad)
        return out

    monkeypatch.setattr(FriedkinJohnsen, "step", spy)
    want = count(FriedkinJohnsen(W.detach(), 0.1, 0.2), S, max_steps=50)
    assert count(fj, S, max_steps=50) == want
    assert recorded and not any(recorded)


@pytest.mark.parametrize("shape", [(3,), (3, 2)])
def test_time_to_consensus_of_a_torch_model_matches_numpy(shape):
    # before: TypeError, "unsupported operand type(s) for -: 'torch.return_types.max' and
    # 'torch.return_types.min'" (a tensor's max(0) is a (values, indices) pair)
    W = (np.ones((3, 3)) - np.eye(3)) / 2
    S = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])[:, : shape[-1]] if len(shape) == 2 \
        else np.array([1.0, 0.0, 0.5])
    want = time_to_consensus(FriedkinJohnsen(W, 0.0, 0.2), S)
    assert want == 9
    assert time_to_consensus(FriedkinJohnsen(torch.tensor(W), 0.0, 0.2), torch.tensor(S)) == want
    stubborn = FriedkinJohnsen(torch.tensor(W), 0.5, 0.2)
    assert time_to_consensus(stubborn, torch.tensor(S), max_steps=50) is None


def test_polarization_centres_each_option_on_its_own_mean():
    from multiagent.analysis import polarization

    # columns centred separately: (-1/2, 1/2) in each, 1/4 + 1/4 twice (not around 5.5)
    assert polarization(np.array([[0.0, 10.0], [1.0, 11.0]])) == pytest.approx(1.0)


def test_disagreement_of_a_directed_adjacency_uses_the_symmetrised_weights():
    from multiagent.analysis import disagreement

    # one directed edge of weight 1 is the undirected weight (1 + 0) / 2: D = 1/2 (1 - 0)^2
    A = np.array([[0.0, 1.0], [0.0, 0.0]])
    assert disagreement(np.array([1.0, 0.0]), A) == pytest.approx(0.5)
    assert disagreement(np.array([1.0, 0.0]), A.T) == pytest.approx(0.5)


def test_time_to_consensus_is_found_at_the_last_allowed_round():
    # two agents averaging with alpha = 1/2 agree exactly after one round
    model = FriedkinJohnsen(np.array([[0.0, 1.0], [1.0, 0.0]]), 0.0, 0.5)
    assert time_to_consensus(model, np.array([1.0, 0.0]), max_steps=1) == 1
    assert time_to_consensus(model, np.array([1.0, 0.0]), max_steps=0) is None


@pytest.mark.parametrize("conv", [np.asarray, sp.csr_array])
def test_indices_of_offset_opinions_are_shift_invariant(conv, rng):
    # P, D, C_I and I_pd do not change when every opinion moves by c ((I + L)^-1 1 = 1, L 1 = 0);
    # P, D and C_I were taken from the uncentred z, so the offset cancelled digits (here P
    # 5e-8 off; D 3.6 % off by CG on a Karate-size graph at c = 1e6), and pd_index drifted
    # from pd_index_quadratic.  Xu et al. (WWW 2021) take P and D of W (s - mean s).
    G = make_graph("er", 40, p=0.15, seed=4)
    A = adjacency(G)
    s = rng.random(40)
    ref = opinion_indices(A, s)
    out = opinion_indices(conv(A), s + 1e6)
    for key in ("polarization", "disagreement", "pd_index", "pd_index_quadratic",
                "internal_conflict"):
        assert out[key] == pytest.approx(ref[key], rel=1e-8), key
    assert out["pd_index"] == pytest.approx(out["pd_index_quadratic"], rel=1e-8)
    assert disagreement(ref["z"] + 1e6, conv(A)) == pytest.approx(ref["disagreement"], rel=1e-8)


def _exact_social_power(W, gamma, alpha):
    """``pi = Gamma (I - H)^{-T} 1/n`` in exact rational arithmetic (Fractions)."""
    from fractions import Fraction as F

    n = len(gamma)
    g, a = [F(float(x)) for x in gamma], [F(float(x)) for x in alpha]
    Wf = [[F(float(x)) for x in row] for row in W]
    c = [(1 - g[i]) * (1 - a[i]) for i in range(n)]
    # rows of (I - H)^T, augmented with the right-hand side 1/n
    rows = [[(1 - (1 - g[j]) * a[j] if i == j else 0) - c[j] * Wf[j][i] for j in range(n)]
            + [F(1, n)] for i in range(n)]
    for k in range(n):  # Gauss-Jordan elimination
        p = next(r for r in range(k, n) if rows[r][k] != 0)
        rows[k], rows[p] = rows[p], rows[k]
        for r in range(n):
            if r != k and rows[r][k] != 0:
                f = rows[r][k] / rows[k][k]
                rows[r] = [x - f * y for x, y in zip(rows[r], rows[k])]
    return np.array([float(g[i] * rows[i][n] / rows[i][i]) for i in range(n)])


@pytest.mark.parametrize("eps", [1e-10, 1e-12, 1e-14])
def test_social_power_sums_to_one_at_tiny_stubbornness(eps):
    # the transposed solve is off by about eps / gamma, mostly in scale: here the sum was
    # 1.8e-7 (gamma ~ 1e-10), 1.9e-6 (1e-12) and 2.8e-4 (1e-14) off 1, while the docstring
    # says the entries sum to 1; rescaled, they match exact rational arithmetic to 1e-14
    rng = np.random.default_rng(0)
    n = 8
    W = np.zeros((n, n))
    for i in range(n):  # weights in eighths: every row sums to exactly 1
        W[i, np.arange(n) != i] = rng.multinomial(8, np.full(n - 1, 1 / (n - 1))) / 8
    assert (W.sum(axis=1) == 1).all()
    gamma = eps * (1 + np.arange(n) / n)
    alpha = np.full(n, 0.25)
    pi = social_power(FriedkinJohnsen(W, gamma, alpha))
    assert abs(pi.sum() - 1) <= 4e-16
    np.testing.assert_allclose(pi, _exact_social_power(W, gamma, alpha), rtol=1e-14, atol=0)


def test_social_power_rescaled_leaves_ordinary_stubbornness_as_it_was():
    # at ordinary gamma the rescaling changes the entries by round-off only: within 2e-16
    # of the unscaled Gamma (I - H)^{-T} 1/n, and both within 1e-15 of exact arithmetic
    rng = np.random.default_rng(1)
    n = 8
    W = rng.random((n, n)) * (1 - np.eye(n))
    W /= W.sum(axis=1, keepdims=True)
    gamma, alpha = rng.uniform(0.05, 0.9, n), rng.uniform(0, 0.8, n)
    fj = FriedkinJohnsen(W, gamma, alpha)
    unscaled = gamma * fj.solve(np.full(n, 1 / n), transpose=True)
    pi = social_power(fj)
    np.testing.assert_allclose(pi, unscaled, rtol=0, atol=2e-16)
    np.testing.assert_allclose(pi, _exact_social_power(W, gamma, alpha), rtol=0, atol=1e-15)
