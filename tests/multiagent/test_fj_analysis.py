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
    # agent 0 keeps its belief (alpha = 1) and the others follow it: a consensus that
    # takes rounds (with every gamma = 0.1 there is none, found without a rollout)
    gamma, alpha = [0.1, 0.0, 0.0], [1.0, 0.2, 0.2]
    fj = FriedkinJohnsen(W, gamma, alpha)
    recorded = []
    step = FriedkinJohnsen.step

    def spy(self, B, *args, **kwargs):
        out = step(self, B, *args, **kwargs)
        recorded.append(out.requires_grad)
        return out

    monkeypatch.setattr(FriedkinJohnsen, "step", spy)
    want = count(FriedkinJohnsen(W.detach(), gamma, alpha), S, max_steps=50)
    assert want is not None
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


def _rounds_to_consensus_by_rollout(model, S, tol, rounds=3000):
    """Brute force: the first round after the last one whose spread is >= tol.

    Known answers for ``time_to_consensus``: ``rounds`` rounds are simulated (far past
    the convergence of these small models, checked by the caller), and None is returned
    where the spread is still >= tol at the end.
    """
    R = model.rollout(S, rounds, check=False)
    R = R[..., None] if R.ndim == 2 else R
    spread = (R.max(axis=1) - R.min(axis=1)).max(axis=-1)
    above = np.flatnonzero(spread >= tol)
    if above.size and above[-1] == rounds:
        return None
    return 0 if above.size == 0 else int(above[-1]) + 1


def test_time_to_consensus_ignores_a_transient_agreement():
    # before: the first round below tol was returned, 1 for both models below, though the
    # agreement at round 1 does not last. Swapping with gamma = 1/2 from (0.2, 0.8) gives
    # (0.5, 0.5), (0.35, 0.65), (0.425, 0.575), ... -> (0.4, 0.6): no consensus at all
    W = np.array([[0.0, 1.0], [1.0, 0.0]])
    anchored = FriedkinJohnsen(W, 0.5, 0.0)
    s = np.array([0.2, 0.8])
    np.testing.assert_allclose(anchored.rollout(s, 2), [[0.2, 0.8], [0.5, 0.5], [0.35, 0.65]])
    assert _rounds_to_consensus_by_rollout(anchored, s, 1e-6) is None
    assert time_to_consensus(anchored, s) is None
    # agent 0 stubborn towards 0.5, agent 1 (gamma = 0) half listening: (0.5, 0.9) ->
    # (0.7, 0.7) -> (0.6, 0.7) -> (0.6, 0.65) -> ... -> consensus (0.5, 0.5), within tol
    # for good only from round 23 (tol 1e-3), 55 (1e-6) and 88 (1e-9)
    leader = FriedkinJohnsen(W, [0.5, 0.0], [0.0, 0.5])
    s = np.array([0.5, 0.9])
    np.testing.assert_allclose(leader.rollout(s, 3), [[0.5, 0.9], [0.7, 0.7], [0.6, 0.7],
                                                      [0.6, 0.65]])
    assert np.abs(leader.rollout(s, 3000)[-1] - 0.5).max() < 1e-15  # converged
    for tol, rounds in ((1e-3, 23), (1e-6, 55), (1e-9, 88)):
        assert _rounds_to_consensus_by_rollout(leader, s, tol) == rounds
        assert time_to_consensus(leader, s, tol=tol) == rounds
        # a torch model and several options (here one column and its complement) alike
        St = torch.tensor(np.stack([s, 1 - s], axis=1))
        assert time_to_consensus(FriedkinJohnsen(torch.tensor(W), [0.5, 0.0], [0.0, 0.5]),
                                 St, tol=tol) == rounds
    # a round is returned once the agreement is shown to last: spread(b*) + 2 max |b(t) -
    # b*| < tol, here at round 31 for the agreement from round 23 (tol 1e-3); before that
    # (and at max_steps = 1, round 1's agreement) it may be transient: None
    assert time_to_consensus(leader, s, tol=1e-3, max_steps=31) == 23
    assert time_to_consensus(leader, s, tol=1e-3, max_steps=30) is None
    assert time_to_consensus(leader, s, tol=1e-3, max_steps=1) is None


@pytest.mark.parametrize("seed", range(4))
def test_time_to_consensus_of_degroot_is_its_first_agreement(seed):
    # DeGroot (every gamma = 0): each belief is a convex combination of the previous
    # ones, so the spread never grows and the first round below tol lasts; the answers
    # stay those of the first hit, checked against a 3000-round rollout
    rng = np.random.default_rng(seed)
    n = 6
    W = rng.random((n, n)) * (rng.random((n, n)) < 0.5)
    np.fill_diagonal(W, 0)
    W[np.arange(n), (np.arange(n) + 1) % n] += 0.1  # a cycle: strongly connected
    W /= W.sum(axis=1, keepdims=True)
    model = FriedkinJohnsen(W, 0.0, rng.uniform(0, 0.5, n))
    S = rng.dirichlet(np.ones(3), size=n)
    R = model.rollout(S, 3000)
    assert (R[-1].max(axis=0) - R[-1].min(axis=0)).max() < 1e-15  # converged
    for tol in (1e-2, 1e-6, 1e-10):
        want = _rounds_to_consensus_by_rollout(model, S, tol)
        spread = (R.max(axis=1) - R.min(axis=1)).max(axis=-1)
        assert want == int(np.argmax(spread < tol))  # the first hit is the lasting one
        assert time_to_consensus(model, S, tol=tol) == want


@pytest.mark.parametrize("count", [time_to_consensus, time_to_equilibrium])
def test_round_counts_take_real_valued_opinions_with_check_false(count):
    # before: TypeError, unexpected keyword 'check'; without it, opinions on two topics
    # (Likert 1-7) were refused with "S[0] (agent 0) sums to 4, expected 1 ... (normalise
    # the rows)", advice that changes the answer, while step, rollout and equilibrium
    # take check=False
    W = np.array([[0.0, 1.0], [1.0, 0.0]])
    S = np.array([[3.0, 1.0], [7.0, 5.0]])
    with pytest.raises(ValueError, match=r"^S\[0\] \(agent 0\) sums to 4, expected 1: .*"
                       r"for real-valued opinions on several topics .*pass check=False$"):
        count(FriedkinJohnsen(W, 0.5, 0.0), S)
    averaging = FriedkinJohnsen(W, 0.0, 0.5)  # (5, 3) for both agents at round 1
    assert count(averaging, S, check=False) == 1
    # gamma = 1/2: b* = (2 s + swap(s)) / 3, each topic's distance to it halves each round
    # from 4/3, below 1e-6 first at round 21 (4/3 2^-21 = 6.4e-7); no consensus
    stubborn = FriedkinJohnsen(W, 0.5, 0.0)
    if count is time_to_equilibrium:
        assert int(np.ceil(np.log2(4 / 3 / 1e-6))) == 21
        assert count(stubborn, S, check=False) == 21
    else:
        assert count(stubborn, S, check=False) is None


def _float32_rounds_by_rollout(model, S, tol, rounds=3000):
    """:func:`_rounds_to_consensus_by_rollout` of a torch model's float32 rollout."""
    R = model.rollout(S, rounds, check=False).numpy()
    assert R.dtype == np.float32
    spread = (R.max(axis=1) - R.min(axis=1)).max(axis=-1)
    above = np.flatnonzero(spread >= tol)
    if above.size and above[-1] == rounds:
        return None
    return 0 if above.size == 0 else int(above[-1]) + 1


def test_time_to_consensus_of_a_float32_model_that_stalls_at_round_off():
    # before: None. Agent 1 follows stubborn agent 0 to the consensus b* = s_0, but the
    # float32 rollout stalls ~1e-6 (round-off over a slow rate) from the solved b*, so
    # spread(b*) + 2 max |b(t) - b*| never fell below tol = 1e-6, though the spread stays
    # below it from round 262 on (float64: 260). Once the rollout repeats itself, its
    # own spreads decide
    W = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    fj = FriedkinJohnsen(W, gamma=torch.tensor([0.1, 0.0]), alpha=0.9)
    S = torch.tensor([[0.05, 0.89, 0.06], [0.05, 0.75, 0.20]])
    assert _float32_rounds_by_rollout(fj, S, 1e-6) == 262
    assert time_to_consensus(fj, S) == 262
    fj64 = FriedkinJohnsen(W.double(), gamma=torch.tensor([0.1, 0.0]).double(), alpha=0.9)
    assert time_to_consensus(fj64, S.double()) == 260
    # random float32 models against the brute-force rollout (8 of 300 disagreed before)
    rng = np.random.default_rng(0)
    for _ in range(30):
        n = int(rng.integers(2, 6))
        A = (rng.random((n, n)) < 0.5).astype(float)
        A[np.arange(n), (np.arange(n) + 1) % n] = 1.0
        np.fill_diagonal(A, 0)
        g = rng.random(n) * 0.3 * (rng.random(n) < 0.5)
        g[0] = 0.1  # not DeGroot
        model = FriedkinJohnsen.from_adjacency(
            torch.tensor(A, dtype=torch.float32), gamma=torch.tensor(g, dtype=torch.float32),
            alpha=torch.tensor(rng.random(n) * (rng.random(n) < 0.5), dtype=torch.float32))
        S = rng.dirichlet(np.ones(3), n)
        S = torch.tensor(S * 0.01 + S.mean(0) * 0.99, dtype=torch.float32)
        for tol in (1e-4, 1e-6):
            assert time_to_consensus(model, S, tol=tol) == \
                _float32_rounds_by_rollout(model, S, tol)


@pytest.mark.parametrize("conv", [np.asarray, sp.csr_array])
def test_only_controversy_and_dc_index_follow_the_scale_s_zero(conv, rng):
    # controversy is z^T z, the distance from the neutral opinion 0 (Chen et al. 2018): on
    # Likert 1-7 answers it grows with the offset while P, D and C_I stay put; Chen et al.'s
    # conservation law C_I + 2 D + C = s^T s holds with the raw s
    G = make_graph("er", 30, p=0.2, seed=3)
    for u, v in G.edges:
        G[u][v]["weight"] = rng.uniform(0.5, 2)
    A = adjacency(G)
    s = rng.integers(1, 8, 30).astype(float)
    for offset in (0.0, -4.0, 100.0):
        out = opinion_indices(conv(A), s + offset)
        z = np.asarray(out["z"])
        assert out["controversy"] == pytest.approx(z @ z, rel=1e-9)
        assert (out["internal_conflict"] + 2 * out["disagreement"] + out["controversy"]
                == pytest.approx((s + offset) @ (s + offset), rel=1e-9))
        sb = s - s.mean()
        centred = opinion_indices(conv(A), sb)
        for key in ("polarization", "disagreement", "internal_conflict", "pd_index"):
            assert out[key] == pytest.approx(centred[key], rel=1e-9), (key, offset)
        # centred opinions: C equals P
        assert centred["controversy"] == pytest.approx(centred["polarization"], rel=1e-9)
