"""Gradients of the distributions against finite differences (float64)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch
from torch.autograd import gradcheck

from biomodels.cascade import (
    CascadeGraph,
    bp_marginals,
    exact_small_sizes,
    size_distribution,
    tda_size_distribution,
    tree_plan,
    tree_size_distribution,
)


def _tree():
    rng = np.random.default_rng(5)
    T = nx.random_labeled_tree(9, seed=5)
    edges = []
    for u, v in T.edges():
        edges += [(u, v, rng.uniform(0.2, 0.8)), (v, u, rng.uniform(0.2, 0.8))]
    return CascadeGraph.from_edges(edges, nodes=list(range(9)))


def test_tree_gradients_match_finite_differences():
    g = _tree()
    plan_graph = g
    w0 = g.weight.clone().requires_grad_(True)
    p0 = torch.linspace(0.05, 0.4, g.n, dtype=torch.float64).requires_grad_(True)

    def f(w, p):
        return tree_size_distribution(plan_graph.with_weight(w), p)

    assert gradcheck(f, (w0, p0), eps=1e-6, atol=1e-7)
    plan = tree_plan(g, max_children=2)  # through virtual product nodes
    assert plan.n_virtual > 0
    assert gradcheck(
        lambda w, p: tree_size_distribution(g.with_weight(w), p, plan=plan),
        (w0, p0),
        eps=1e-6,
        atol=1e-7,
    )


def test_tail_mode_and_summaries_gradients():
    g = _tree()
    w0 = g.weight.clone().requires_grad_(True)
    p0 = torch.full((g.n,), 0.1, dtype=torch.float64, requires_grad=True)
    k = torch.arange(g.n + 1, dtype=torch.float64)

    def summaries(w, p):
        P = tree_size_distribution(g.with_weight(w), p, tail_accurate=True, radii=5)
        return torch.stack([(P * k).sum(), P[6:].sum()])  # expected size, tail probability

    assert gradcheck(summaries, (w0, p0), eps=1e-6, atol=1e-7)


def test_tda_gradients_match_finite_differences():
    G = nx.cycle_graph(5)
    G.add_edge(0, 2)
    g = CascadeGraph.from_networkx(G, default=0.4)
    w0 = (g.weight + torch.linspace(0, 0.3, g.num_edges, dtype=torch.float64)).requires_grad_(True)
    p0 = torch.full((g.n,), 0.2, dtype=torch.float64, requires_grad=True)
    assert gradcheck(
        lambda w, p: tda_size_distribution(g.with_weight(w), p), (w0, p0), eps=1e-6, atol=1e-7
    )


@pytest.mark.parametrize("how", [{}, {"exact_head": False}, {"tail_accurate": True},
                                 {"seed_mixture": True}],
                         ids=["default", "paper head", "tail", "mixture"])
def test_tda_gradients_on_two_components_match_finite_differences(how):
    # a network of two households (a triangle with a tail and a 4-cycle with a chord) takes
    # TDA per component and convolves: the weights and p of both reach the result through
    # their slices of the network's tensors
    g = CascadeGraph.from_edges([(0, 1, 0.5), (1, 2, 0.4), (2, 0, 0.6), (1, 0, 0.3),
                                 (2, 3, 0.7), (4, 5, 0.45), (5, 6, 0.35), (6, 7, 0.55),
                                 (7, 4, 0.25), (5, 4, 0.3), (4, 6, 0.5)])
    w0 = g.weight.clone().requires_grad_(True)
    p0 = torch.linspace(0.05, 0.3, g.n, dtype=torch.float64).requires_grad_(True)

    def f(w, p):
        return tda_size_distribution(g.with_weight(w), p, **how)

    assert gradcheck(f, (w0, p0), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("how", [{"spanning_tree": "weights"},
                                 {"exact_head": False, "spanning_tree": "weights"},
                                 {"iterations": 10, "spanning_tree": "weights",
                                  "exact_head": False},
                                 {"tail_accurate": True, "spanning_tree": "weights"},
                                 {"seed_mixture": True}],
                         ids=["default", "paper head", "paper", "tail", "mixture"])
def test_tda_gradients_where_no_seed_can_start_match_finite_differences(how):
    # a 4-cycle with a chord whose p are all 0 (kept for their gradient): its sizes past
    # the exact head are its tree's scaled to the mass the head leaves, 0 over 0. The
    # batch of components lost that mass (sum_k dP_k/dp_0 -0.648, -1.000 with the paper's
    # head, -0.531 with the seed mixture, for 0: the sizes sum to 1), the component alone
    # spread it by round-off (0.324, 0.324 for 0.375, 0.273), dropped it in the tail mode
    # (-0.648), and BP stopped after one update (its messages are 0), before the slopes
    # settled (8e-3 off). A spanning tree by messages takes another tree at p = 0 (all
    # tie) than at p > 0: the finite differences need the tree by weights
    sq = [(0, 1, 0.5), (1, 2, 0.4), (2, 3, 0.6), (3, 0, 0.3), (0, 2, 0.5)]
    tri = [(4, 5, 0.5), (5, 6, 0.5), (4, 6, 0.5)]
    both = [(u, v, w) for a, b, w in sq + tri for u, v in ((a, b), (b, a))]
    whole = CascadeGraph.from_edges(both, nodes=list(range(7)))
    alone = CascadeGraph.from_edges(both[: 2 * len(sq)], nodes=list(range(4)))
    lone = _disjoint_lone(alone)  # and a person without contacts, p = 0.2
    # and one seed in it: the seed mixture left out the nodes with p = 0, whose slopes
    # came out 0.2416, 0.2308 for sizes 3, 4 where 0.2380, 0.2344 are right
    cases = [(alone, [0.0] * 4), (whole, [0.0] * 4 + [0.2, 0.1, 0.3]),
             (lone, [0.0] * 4 + [0.2]), (alone, [0.2, 0.0, 0.0, 0.0])]
    for g, seeds in cases:
        p0 = torch.tensor(seeds, dtype=torch.float64)

        def f(p, g=g):
            return tda_size_distribution(g, p, **how)

        J = torch.autograd.functional.jacobian(f, p0)
        assert J[:, :4].sum(0).abs().max() < 1e-12  # the sizes sum to 1
        for v in range(4):
            step = p0.clone()
            step[v] += 1e-6
            fd = (f(step) - f(p0)) / 1e-6
            np.testing.assert_allclose(J[:, v].numpy(), fd.numpy(), rtol=0, atol=5e-5)
    # the default (spanning tree by messages) keeps the sum
    J = torch.autograd.functional.jacobian(lambda p: tda_size_distribution(whole, p),
                                           torch.tensor(cases[1][1], dtype=torch.float64))
    assert J.sum(0).abs().max() < 1e-12


def test_tda_tail_mode_slopes_where_no_seed_can_start_on_a_float32_network():
    # two households, the second with p all 0: in the tail mode (float64 inside) the slopes
    # of the pieces no seed can start came from float32 p and failed with "index_add_():
    # self (Double) and source (Float) must have the same scalar type"
    g = CascadeGraph.from_networkx(nx.disjoint_union(nx.complete_graph(4),
                                                     nx.complete_graph(3)), default=0.3)
    seeds = [0.05] * 4 + [0.0] * 3
    grads = []
    for dtype in (torch.float32, torch.float64):
        p = torch.tensor(seeds, dtype=dtype, requires_grad=True)
        P = tda_size_distribution(g.with_weight(g.weight.to(dtype)), p, tail_accurate=True)
        assert P.dtype == dtype
        P[5].backward()
        grads.append(p.grad.double())
    np.testing.assert_allclose(grads[0].numpy(), grads[1].numpy(), rtol=1e-4, atol=1e-6)
    assert grads[1][4:].abs().min() > 0.01  # the unseeded household's slopes, not 0


def _disjoint_lone(g: CascadeGraph) -> CascadeGraph:
    """``g`` and one more node without links."""
    return CascadeGraph(g.n + 1, g.src, g.dst, g.weight)


def test_seed_mixture_gradients_match_finite_differences():
    G = nx.cycle_graph(5)
    G.add_edge(0, 2)
    g = CascadeGraph.from_networkx(G, default=0.4)
    w0 = (g.weight + torch.linspace(0, 0.3, g.num_edges, dtype=torch.float64)).requires_grad_(True)
    p0 = torch.linspace(0.05, 0.3, g.n, dtype=torch.float64).requires_grad_(True)

    def f(w, p):
        return tda_size_distribution(g.with_weight(w), p, seed_mixture=True)

    assert gradcheck(f, (w0, p0), eps=1e-6, atol=1e-7)


def test_gradient_survives_round_off_at_zero_probability():
    # Path 0 -> 1 -> 2 with w01 = 0, seed 0: P(size = 2) = w01 (1 - w12) is exactly 0 but
    # its derivative in w01 is 1 - w12 = 0.5. Round-off makes the coefficient ~ -1e-17;
    # clipping it with clamp_min(0) gave a zero gradient (a fit could not leave w = 0).
    g = CascadeGraph.from_edges([(0, 1, 0.0), (1, 2, 0.5)])
    p = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    for dist in (tree_size_distribution, tda_size_distribution):
        w = torch.tensor([0.0, 0.5], dtype=torch.float64, requires_grad=True)
        P = dist(g.with_weight(w), p)
        assert (P >= 0).all()
        (grad,) = torch.autograd.grad(P[2], w)
        assert torch.allclose(grad, torch.tensor([0.5, 0.0], dtype=torch.float64), atol=1e-9)


def test_entry_point_is_differentiable_in_seed_probabilities_and_weights():
    # the contract through size_distribution itself, not only the tree pass:
    # a seed_prob tensor (with a fixed seed set on top) and the weights carry gradients
    g = _tree()
    w0 = g.weight.clone().requires_grad_(True)
    p0 = torch.linspace(0.05, 0.4, g.n, dtype=torch.float64).requires_grad_(True)
    for method in ("tree", "tda"):
        assert gradcheck(
            lambda w, p, m=method: size_distribution(
                g.with_weight(w), seeds=[3], seed_prob=p, method=m
            ),
            (w0, p0),
            eps=1e-6,
            atol=1e-7,
        )


def test_tail_mode_gradients_equal_those_of_graphs_kept_from_forward(monkeypatch):
    # backward rebuilds the graph of one chosen radius at a time (memory of one radius
    # instead of ~20); values and gradients are bit for bit those of keeping every
    # radius's graph from forward, the straightforward computation
    import biomodels.cascade.tail as tail

    rng = np.random.default_rng(3)
    T = nx.random_labeled_tree(60, seed=3)
    edges = []
    for u, v in T.edges():
        edges += [(u, v, rng.uniform(0.2, 0.7)), (v, u, rng.uniform(0.2, 0.7))]
    g = CascadeGraph.from_edges(edges, nodes=list(range(60)))
    plan = tree_plan(g, max_children=3)  # with virtual product nodes
    mix = torch.as_tensor(rng.uniform(0.5, 2.0, g.n + 1))

    def run(dtype: torch.dtype) -> list[torch.Tensor]:
        w = g.weight.to(dtype).requires_grad_(True)
        p = torch.linspace(0.001, 0.02, g.n, dtype=dtype).requires_grad_(True)
        P = tree_size_distribution(g.with_weight(w), p, plan=plan, tail_accurate=True)
        every = (mix.to(dtype) * P.clamp_min(torch.finfo(dtype).tiny).log()).sum()
        gw_all, gp_all = torch.autograd.grad(every, (w, p), retain_graph=True)
        gw_one, gp_one = torch.autograd.grad(P[-1].log(), (w, p))  # one radius rebuilt
        return [P.detach(), gw_all, gp_all, gw_one, gp_one]

    lean = {dtype: run(dtype) for dtype in (torch.float64, torch.float32)}

    class _KeepEveryGraph:
        @staticmethod
        def apply(weight, p, plan, radii, coefs):
            return torch.stack([tail._single_radius(plan, weight, p, r, True)[0] for r in radii])

    monkeypatch.setattr(tail, "_ChosenRadii", _KeepEveryGraph)
    for dtype, got in lean.items():
        kept = run(dtype)
        assert got[0][-1] < 1e-18 and got[0].dtype == dtype  # far below the floor
        for a, b in zip(got, kept):
            assert torch.equal(a, b)
        assert all(torch.isfinite(x).all() and x.abs().sum() > 0 for x in got[1:])


def test_tail_mode_gradient_of_a_deep_path_size_matches_the_closed_form():
    # a path seeded at one end stops after k nodes with P_k = w_0 ... w_{k-2} (1 - w_{k-1}),
    # so d log P_k / d w_i = 1 / w_i before the last link, -1 / (1 - w_{k-1}) at it, 0 after
    n, k = 200, 150
    w0 = torch.as_tensor(np.random.default_rng(0).uniform(0.4, 0.6, n - 1))
    g = CascadeGraph(n, np.arange(n - 1), np.arange(1, n), w0)
    p = torch.zeros(n, dtype=torch.float64)
    p[0] = 1.0
    w = w0.clone().requires_grad_(True)
    P = tree_size_distribution(g.with_weight(w), p, tail_accurate=True)
    (grad,) = torch.autograd.grad(P[k].log(), w)
    expect = torch.zeros(n - 1, dtype=torch.float64)
    expect[: k - 1] = 1 / w0[: k - 1]
    expect[k - 1] = -1 / (1 - w0[k - 1])
    assert P[k] < 1e-40
    assert torch.allclose(P[k], w0[: k - 1].prod() * (1 - w0[k - 1]), rtol=1e-8, atol=0)
    assert torch.allclose(grad, expect, rtol=1e-7, atol=1e-7)


def test_tail_mode_gradient_of_a_size_no_radius_resolves_matches_the_closed_form():
    # a leaf seed next to the degree-37 hub of a BA tree, w = 0.7: P(2) = w_(leaf, hub)
    # Π_x (1 - w_(hub, x)) over the hub's 36 other neighbours (1.05e-19), which no contour
    # radius resolves (it came out 0, its gradient the noise of a radius: 0 after the
    # fits' clamp). d log P(2) / d w = 1 / 0.7 on the seed's link, -1 / 0.3 on the hub's
    # other links, 0 elsewhere; the second derivative on the seed's link -1 / 0.7^2
    G = nx.barabasi_albert_graph(300, 1, seed=0)
    hub = max(G, key=G.degree)
    leaf = min(v for v in G[hub] if G.degree(v) == 1)
    g = CascadeGraph.from_networkx(G, default=0.7)
    w = g.weight.clone().requires_grad_(True)
    P = size_distribution(g.with_weight(w), seeds=[leaf], tail_accurate=True)
    (grad,) = torch.autograd.grad(P[2].log(), w, create_graph=True)
    src, dst = np.asarray(g.src), np.asarray(g.dst)
    seed_link = int(np.flatnonzero((src == g.index_of(leaf)) & (dst == g.index_of(hub)))[0])
    expect = np.zeros(g.num_edges)
    expect[seed_link] = 1 / 0.7
    expect[(src == g.index_of(hub)) & (dst != g.index_of(leaf))] = -1 / 0.3
    np.testing.assert_allclose(grad.detach().numpy(), expect, rtol=1e-8, atol=1e-9)
    (second,) = torch.autograd.grad(grad[seed_link], w)
    assert float(second[seed_link]) == pytest.approx(-1 / 0.49, rel=1e-8)


def _exact_slopes(n, src, dst, w, p):
    """dP / dw_e and dP / dp_v by the brute force: P is linear in each of them."""
    from cascade_bruteforce import brute_force

    def flip(x, j, value):
        y = np.array(x, dtype=float)
        y[j] = value
        return y

    dw = [brute_force(n, src, dst, flip(w, e, 1.0), p)[0]
          - brute_force(n, src, dst, flip(w, e, 0.0), p)[0] for e in range(len(w))]
    dp = [brute_force(n, src, dst, w, flip(p, v, 1.0))[0]
          - brute_force(n, src, dst, w, flip(p, v, 0.0))[0] for v in range(n)]
    return np.array(dw), np.array(dp)


@pytest.mark.parametrize("trial", range(6))
def test_tail_mode_gradients_at_weights_and_seed_probabilities_of_0_and_1(trial):
    # the tilted pass leaves out the terms whose factor is 0, and with them their
    # derivatives (a weight of 0 gave -0.16 for 0.036); the exact derivatives come from
    # the brute force, where P is linear in every weight and seed probability
    rng = np.random.default_rng(100 + trial)
    n = 6
    T = nx.random_labeled_tree(n, seed=100 + trial)
    pairs = [(u, v) for a, b in T.edges() for u, v in ((a, b), (b, a))]
    pick = rng.integers(0, 3, size=len(pairs) + n)
    vals = np.where(pick == 0, 0.0,
                    np.where(pick == 1, 1.0, rng.uniform(0.1, 0.9, pick.size)))
    w_np, p_np = vals[: len(pairs)], vals[len(pairs):]
    g = CascadeGraph.from_edges([(a, b, 0.5) for a, b in pairs], nodes=list(range(n)))
    src, dst = np.asarray(g.src), np.asarray(g.dst)
    w_np = w_np[[pairs.index((int(a), int(b))) for a, b in zip(src, dst)]]
    dw, dp = _exact_slopes(n, src, dst, w_np, p_np)
    mix = rng.uniform(0.5, 2.0, n + 1)
    for dtype in (torch.float64, torch.float32):
        w = torch.as_tensor(w_np, dtype=dtype).requires_grad_(True)
        p = torch.as_tensor(p_np, dtype=dtype).requires_grad_(True)
        P = tree_size_distribution(g.with_weight(w), p, tail_accurate=True)
        gw, gp = torch.autograd.grad((torch.as_tensor(mix, dtype=dtype) * P).sum(), (w, p))
        tol = 1e-9 if dtype == torch.float64 else 1e-5
        np.testing.assert_allclose(gw.double().numpy(), dw @ mix, atol=tol)
        np.testing.assert_allclose(gp.double().numpy(), dp @ mix, atol=tol)


def test_tail_mode_gradient_in_a_weight_of_0_or_1_far_in_the_tail():
    # a path seeded at one end: P_k = w_0 ... w_{k-2} (1 - w_{k-1}). A cut link (w_m = 0)
    # makes every size beyond m + 1 impossible, yet d P_k / d w_m is the product without
    # w_m, ~1e-40 here, and must keep the tail mode's relative accuracy
    n, m, k = 200, 100, 150
    w0 = torch.as_tensor(np.random.default_rng(0).uniform(0.4, 0.6, n - 1))
    g = CascadeGraph(n, np.arange(n - 1), np.arange(1, n), w0)
    p = torch.zeros(n, dtype=torch.float64)
    p[0] = 1.0
    for at in (0.0, 1.0):
        w_at = w0.clone()
        w_at[m] = at
        w = w_at.clone().requires_grad_(True)
        P = tree_size_distribution(g.with_weight(w), p, tail_accurate=True)
        (grad,) = torch.autograd.grad(P[k] + P[m + 1], w)
        others = torch.cat([w0[:m], w0[m + 1 : k - 1]]).prod() * (1 - w0[k - 1])
        # d P_{m+1} / d w_m = -w_0 ... w_{m-1}
        expect = others - w0[:m].prod()
        assert others < 1e-40
        assert torch.allclose(grad[m], expect, rtol=1e-8, atol=0)
        # and a weight in the interior keeps the pass's own gradient
        assert torch.isfinite(grad).all()


def test_tail_mode_warns_when_many_entries_at_0_or_1_need_a_gradient():
    g = CascadeGraph(40, np.arange(39), np.arange(1, 40), torch.full((39,), 0.5,
                                                                    dtype=torch.float64))
    p = torch.zeros(40, dtype=torch.float64)
    p[0] = 1.0
    p.requires_grad_(True)
    with pytest.warns(RuntimeWarning, match="40 seed probabilities are 0 or 1"):
        P = tree_size_distribution(g, p, tail_accurate=True, radii=5)
    (gp,) = torch.autograd.grad(P[3], p)
    # P_3 = p_0-seeded path: d/dp_v via linearity; the seed's own slope is P_3 itself
    assert float(gp[0]) == pytest.approx(0.25 * 0.5, rel=1e-8)


def test_tail_mode_second_derivatives_mix_an_entry_at_0_with_the_others():
    # P(3) = w0 w1 on a seeded path: the Hessian is [[0, 1], [1, 0]]. The radius rebuilt
    # in backward was skipped for a zero incoming gradient, which under create_graph still
    # has a derivative (the slope term of w1 = 0): H came out [[0, 2.5e-30], [1, 0]]
    def hessian(tail):
        w = torch.tensor([0.6, 0.0], dtype=torch.float64, requires_grad=True)
        g = CascadeGraph(3, np.array([0, 1]), np.array([1, 2]), w)
        p = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
        P = tree_size_distribution(g, p, tail_accurate=tail)
        (gw,) = torch.autograd.grad(P[3], w, create_graph=True)
        return torch.stack([torch.autograd.grad(gw[i], w, retain_graph=True)[0]
                            for i in range(2)])

    expect = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    assert torch.allclose(hessian(False), expect, atol=1e-12)
    assert torch.allclose(hessian(True), expect, atol=1e-12)


@pytest.mark.parametrize("tiny", [1e-300, 1e-100, 1e-50, 1e-13])
def test_tail_mode_gradient_at_a_tiny_weight_or_seed_probability(tiny):
    # one link 0 -> 1: P(1) = p0 (1 - w) + (1 - p0) p1 ...; the tilted pass's own
    # derivative at a factor below ~1e-20 was 2^32 for -0.5 (and 4.5e133 for 0.5 in p)
    w = torch.tensor([tiny], dtype=torch.float64, requires_grad=True)
    P = tree_size_distribution(CascadeGraph(2, np.array([0]), np.array([1]), w),
                               torch.tensor([0.5, 0.0], dtype=torch.float64),
                               tail_accurate=True)
    (dw,) = torch.autograd.grad(P[1], w)
    assert float(dw) == pytest.approx(-0.5, rel=1e-10)
    p = torch.tensor([tiny, 0.0], dtype=torch.float64, requires_grad=True)
    g = CascadeGraph(2, np.array([0]), np.array([1]), torch.tensor([0.5], dtype=torch.float64))
    (dp,) = torch.autograd.grad(tree_size_distribution(g, p, tail_accurate=True)[1], p)
    assert float(dp[0]) == pytest.approx(0.5, rel=1e-10)


def test_tda_tail_mode_spends_nothing_on_folded_seed_probabilities(monkeypatch):
    # TDA's p_eff requires a gradient with the weights, and it is exactly 0 or 1 wherever
    # no link was dropped: each such entry cost one more tail evaluation (10x a fit step)
    # and a warning, for a derivative that is 0 by construction
    import warnings

    import biomodels.cascade.tail as tail

    n = 60
    src, dst = np.arange(n), (np.arange(n) + 1) % n  # a directed cycle
    w = torch.full((n,), 0.5, dtype=torch.float64, requires_grad=True)
    g = CascadeGraph(n, src, dst, w)
    calls = []
    real = tail._tail_accurate
    monkeypatch.setattr(tail, "_tail_accurate", lambda *a, **k: calls.append(1) or real(*a, **k))
    p = torch.zeros(n, dtype=torch.float64)
    p[0] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        P = tda_size_distribution(g, p, tail_accurate=True)
    (gw,) = torch.autograd.grad(P[40].log(), w)
    # the value, and one slope: node 59, behind the dropped link 58 -> 59, has the folded
    # probability 0.5^59 (within 1e-12 of 0), a function of the weights; the 59 others
    # (no dropped link, or the sure seed) cost nothing
    assert len(calls) == 2 and torch.isfinite(gw).all()
    # P[40] ~ w^39 (1 - w) along the path from the seed (9e-13; node 59's folded 0.5^59
    # adds ~1e-18): d log P / d w_i = 1 / w for the first 39 links, -1 / (1 - w) at the
    # 40th, ~0 beyond
    expect = torch.zeros(n, dtype=torch.float64)
    expect[:39], expect[39] = 2.0, -2.0
    assert torch.allclose(gw, expect, atol=1e-9)


def test_boundary_gradients_in_threads_leave_the_warning_filters_as_they_were(in_threads):
    # the derivative at a weight of 0 or 1 evaluated the flipped weight under
    # warnings.catch_warnings, which swaps the process-wide filter list: fits in a thread
    # pool restored each other's lists and left "ignore RuntimeWarning" in it for good
    import warnings

    n = 6  # a path seeded at node 0 with its last link cut
    g = CascadeGraph(n, np.arange(n - 1), np.arange(1, n), torch.full((n - 1,), 0.5,
                                                                        dtype=torch.float64))
    p = torch.zeros(n, dtype=torch.float64)
    p[0] = 1.0

    def grad_at_cut(_: int) -> torch.Tensor:
        for _ in range(5):
            w = torch.tensor([0.5, 0.5, 0.5, 0.5, 0.0], dtype=torch.float64,
                             requires_grad=True)
            P = tree_size_distribution(g.with_weight(w), p, tail_accurate=True, radii=3)
            (grad,) = torch.autograd.grad(P[5], w)
        return grad

    before = list(warnings.filters)
    try:
        for _ in range(10):
            grads = in_threads(grad_at_cut, range(3))
            assert warnings.filters == before
            for grad in grads:  # P_5 = w_0 w_1 w_2 w_3 (1 - w_4)
                np.testing.assert_allclose(grad.numpy(), [1 / 8] * 4 + [-1 / 16], atol=1e-12)
    finally:
        warnings.filters[:] = before


def _one_sided_slope(f, h=1e-4):
    """``-d f(t) / dt`` at ``t = 0`` from ``t >= 0`` only, to second order in ``h``.

    ``f(t)`` is the function at a weight or seed probability of ``1 - t``. A step of 1e-4:
    BP stops within 1e-10 of its fixed point, which a step of 1e-7 turns into 1e-3.
    """
    return (3 * f(0.0) - 4 * f(h) + f(2 * h)) / (2 * h)


def test_tda_gradient_in_a_certain_edge_of_a_cycle_is_the_one_sided_derivative():
    # a 4-cycle seeded at 0 with w_01 = 1: the exact head dropped the derivative of the
    # factor 1 - w_01 = 0 and rescaling spread the error over the larger sizes, with sign
    # flips: dP / dw_01 = [0, 0, 0.25, -0.149, -0.101] (dE[size] / dw_01 = -0.351) for the
    # one-sided [0, -0.5, 0, 0.211, 0.289] (+1.289) that the weights just below 1 give
    g = CascadeGraph.from_networkx(nx.cycle_graph(4), default=0.5)
    e = int(np.flatnonzero((g.src == 0) & (g.dst == 1))[0])
    w1 = torch.full((g.num_edges,), 0.5, dtype=torch.float64)
    w1[e] = 1.0

    def f(w):  # TDA asked for: "auto" is exact on so small a network
        return size_distribution(g.with_weight(w), seeds=[0], method="tda")

    J = torch.autograd.functional.jacobian(f, w1)[:, e]
    below = w1.clone()
    below[e] = 1 - 1e-9
    p = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    inside = torch.autograd.functional.jacobian(
        lambda w: tda_size_distribution(g.with_weight(w), p, iterations=200), below)[:, e]
    one_sided = _one_sided_slope(lambda t: f(w1 - t * torch.eye(g.num_edges,
                                                              dtype=torch.float64)[e]))
    # P(1) = (1 - w_01)(1 - w_03), P(2) = w_01 (1 - w_03)(1 - w_12) + w_03 (1 - w_01)(1 - w_32)
    np.testing.assert_allclose(J[:3].numpy(), [0.0, -0.5, 0.0], atol=1e-12)
    torch.testing.assert_close(J, inside, rtol=0, atol=1e-7)
    torch.testing.assert_close(J, one_sided, rtol=0, atol=1e-5)
    k = torch.arange(g.n + 1, dtype=torch.float64)
    assert float((k * J).sum()) == pytest.approx(1.289256, abs=1e-5)


def _sure_entries_graph():
    """A directed 6-node graph with cycles and reciprocal links (12 edges), weights 0.2-0.8."""
    rng = np.random.default_rng(11)
    pairs = [(0, 1), (1, 0), (1, 2), (2, 3), (3, 1), (3, 4), (4, 3), (4, 5), (5, 0),
             (2, 5), (5, 2), (0, 3)]
    return CascadeGraph.from_edges([(a, b, rng.uniform(0.2, 0.8)) for a, b in pairs],
                                   nodes=list(range(6)))


# (edges set to 1, nodes with p = 1): up to four sure seeds, certain edges out of sure seeds
# (BP messages of exactly 1) and a node whose out-edges are all certain
_SURE_CASES = [((), (1,)), ((2,), ()), ((0, 5, 9), ()), ((0, 2), (0, 3)), ((0, 2, 6), (0,)),
               ((3, 4), (1, 3, 5)), ((), (0, 2, 4, 5)), ((1, 7, 10), (2, 4))]


def _at_sure_entries(g, edges, nodes):
    """Weights and seed probabilities of the case: generic values, some exactly 1."""
    w = g.weight.clone()
    w[list(edges)] = 1.0
    p = torch.linspace(0.05, 0.35, g.n, dtype=torch.float64)
    p[list(nodes)] = 1.0
    return w, p


@pytest.mark.parametrize("edges, nodes", _SURE_CASES)
def test_exact_small_sizes_gradients_at_certain_edges_and_sure_seeds(edges, nodes):
    # products that left out an exact zero factor dropped its derivative: d P(k) / dp_v at
    # a sure seed and d P(k) / dw at a certain edge were up to 1.0 off (d P(0) / dp_z with
    # one sure seed came out 0 for minus the product of the others). P(k) is linear in
    # every weight and seed probability, so the brute force's slopes are exact
    g = _sure_entries_graph()
    w, p = _at_sure_entries(g, edges, nodes)
    Jw, Jp = torch.autograd.functional.jacobian(
        lambda w, p: exact_small_sizes(g.with_weight(w), p), (w, p))
    dw, dp = _exact_slopes(g.n, g.src, g.dst, w.numpy(), p.numpy())
    np.testing.assert_allclose(Jw.numpy(), dw[:, :3].T, atol=1e-12)
    np.testing.assert_allclose(Jp.numpy(), dp[:, :3].T, atol=1e-12)


_TDA_VARIANTS = {
    "default": {},
    "paper head": {"exact_head": False},
    "tail": {"tail_accurate": True},
}


@pytest.mark.parametrize("edges, nodes", _SURE_CASES)
def test_tda_gradients_at_certain_edges_and_sure_seeds_are_the_one_sided_derivatives(
        edges, nodes):
    # TDA's exact head lost the derivative of each factor 1 - w = 0 or 1 - p = 0 (and
    # rescaled the larger sizes by it), BP's messages of exactly 1 (a certain edge out of
    # a sure seed) clipped log(1 - m) with a zero slope, and BP stopped once the values
    # had settled, before the derivatives in a sure seed's p, which the zero factor hides
    # from the values: off by up to 1.0 in P(k), 0.7 in a marginal, 5e-4 for the last.
    # The derivative at 1 is the limit from inside (at 1 - 1e-9, where 200 BP updates let
    # the derivatives settle too; central differences as in gradcheck would step past 1)
    # and a one-sided difference
    g = _sure_entries_graph()
    w, p = _at_sure_entries(g, edges, nodes)
    w_in, p_in = (torch.where(x == 1, 1 - 1e-9, x) for x in (w, p))

    def tda(**kw):
        return lambda w, p, it=None: tda_size_distribution(g.with_weight(w), p,
                                                           iterations=it, **kw)

    fns = {name: tda(**kw) for name, kw in _TDA_VARIANTS.items()}
    fns["bp"] = lambda w, p, it=None: bp_marginals(g.with_weight(w), p, iterations=it)
    if not nodes:  # the mixture needs every p < 1
        fns["mixture"] = tda(seed_mixture=True)
    for name, f in fns.items():
        at = torch.autograd.functional.jacobian(f, (w, p))
        inside = torch.autograd.functional.jacobian(lambda w, p, f=f: f(w, p, 200), (w_in, p_in))
        for x, y in zip(at, inside):
            torch.testing.assert_close(x, y, rtol=0, atol=1e-7, msg=name)
        for j in edges:
            unit = torch.eye(g.num_edges, dtype=torch.float64)[j]
            slope = _one_sided_slope(lambda t, f=f, unit=unit: f(w - t * unit, p))
            torch.testing.assert_close(at[0][:, j], slope, rtol=0, atol=1e-5, msg=name)
        for v in nodes:
            unit = torch.eye(g.n, dtype=torch.float64)[v]
            slope = _one_sided_slope(lambda t, f=f, unit=unit: f(w, p - t * unit))
            torch.testing.assert_close(at[1][:, v], slope, rtol=0, atol=1e-5, msg=name)


def test_seed_mixture_gradient_with_certain_edges_records_as_much_as_without():
    # the one-sided derivatives at w = 1 added, per batched BP update, dense (seeds, edges)
    # slope terms, and a derivative probe kept the recorded updates going: twice the bytes
    # saved for backward here; on ER(200) 14 GB and 18-21 s for 4.6 GB and 3.5-5.6 s (out of
    # memory at 300 nodes). The terms are now formed only where messages are exactly 1
    n = 40
    rng = np.random.default_rng(0)
    G = nx.gnp_random_graph(n, 4 / n, seed=1)
    g = CascadeGraph.from_edges(
        [(a, b, 1.0 if (a + b) % 17 == 0 else rng.uniform(0.05, 0.3))
         for u, v in G.edges() for a, b in ((u, v), (v, u))], nodes=list(range(n)))
    certain = g.weight == 1
    assert int(certain.sum()) == 8
    p = torch.full((n,), 0.001, dtype=torch.float64)
    k = torch.arange(n + 1, dtype=torch.float64)

    def gradient_and_bytes(w):
        saved = [0]

        def pack(t):
            saved[0] += t.numel() * t.element_size()
            return t

        w = w.clone().requires_grad_(True)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            P = tda_size_distribution(g.with_weight(w), p, seed_mixture=True)
        (grad,) = torch.autograd.grad((k * P).sum(), w)
        return grad, saved[0]

    at, at_bytes = gradient_and_bytes(g.weight)
    # the limit from inside, where no message is exactly 1
    inside, inside_bytes = gradient_and_bytes(torch.where(certain, 1 - 1e-9, g.weight))
    torch.testing.assert_close(at, inside, rtol=0, atol=1e-8)
    assert at[certain].abs().min() > 1e-3  # the certain edges' own slopes are there
    assert at_bytes < 1.1 * inside_bytes  # was 2.0x
