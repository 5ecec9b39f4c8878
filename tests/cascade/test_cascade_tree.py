"""Exact SDP on trees and forests against brute force and closed forms."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import torch
from cascade_bruteforce import brute_force
from scipy.stats import binom

from biomodels.cascade import (
    CascadeGraph,
    bp_marginals,
    conditional_activation,
    monte_carlo,
    seed_probabilities,
    size_distribution,
    total_variation,
    tree_conditional_activation,
    tree_plan,
    tree_size_distribution,
)


def random_forest(rng, n, both=0.5):
    """A random forest with random directions (one or both) and weights U(0.05, 0.95)."""
    comps = int(rng.integers(1, 3)) if n > 3 else 1
    labels = rng.permutation(n)
    cuts = np.sort(rng.choice(np.arange(1, n), size=comps - 1, replace=False)) if comps > 1 else []
    edges = []
    for part in np.split(labels, cuts):
        for i in range(1, len(part)):
            u, v = int(part[i]), int(part[rng.integers(0, i)])
            r = rng.random()
            if r < both:
                edges += [(u, v, rng.uniform(0.05, 0.95)), (v, u, rng.uniform(0.05, 0.95))]
            elif r < (1 + both) / 2:
                edges.append((u, v, rng.uniform(0.05, 0.95)))
            else:
                edges.append((v, u, rng.uniform(0.05, 0.95)))
    return CascadeGraph.from_edges(edges, nodes=list(range(n)))


@pytest.mark.parametrize("trial", range(12))
def test_forest_matches_brute_force(trial):
    rng = np.random.default_rng(100 + trial)
    n = int(rng.integers(1, 11))
    g = random_forest(rng, n, both=0.3 if n > 7 else 0.6)
    while g.num_edges > 14:  # keep the enumeration small
        g = random_forest(rng, n, both=0.2)
    p = torch.tensor(rng.uniform(0, 0.5, n) * (rng.random(n) < 0.7))
    P = tree_size_distribution(g, p)
    dist, joint = brute_force(n, g.src, g.dst, g.weight.numpy(), p.numpy())
    assert total_variation(P, dist) <= 1e-12
    assert abs(float(P.sum()) - 1) <= 1e-12
    # mean equals the sum of the exact activation marginals (brute force and tree BP)
    mean = float((P * torch.arange(n + 1)).sum())
    assert mean == pytest.approx(joint.sum(), abs=1e-12)
    assert mean == pytest.approx(float(bp_marginals(g, p).sum()), abs=1e-12)
    # downward pass: P(i active, size = k)
    J, C = tree_conditional_activation(g, p)
    assert np.abs(J.numpy() - joint).max() <= 1e-12
    ok = dist > 1e-9
    assert np.allclose(C.numpy()[:, ok], joint[:, ok] / dist[ok], atol=1e-9)
    assert np.allclose(C.numpy()[:, ok].sum(0), np.arange(n + 1)[ok])
    # one parent per batch (the memory-bounded path) gives the same rows
    J1, _ = tree_conditional_activation(g, p, chunk_values=1)
    assert torch.allclose(J1, J, rtol=0, atol=1e-15)
    # tail-accurate mode agrees too
    assert total_variation(tree_size_distribution(g, p, tail_accurate=True), dist) <= 1e-12
    # virtual product nodes (at most 2 children each) change nothing
    plan2 = tree_plan(g, max_children=2)
    assert total_variation(tree_size_distribution(g, p, plan=plan2), dist) <= 1e-12
    P2t = tree_size_distribution(g, p, plan=plan2, tail_accurate=True, radii=5)
    assert total_variation(P2t, dist) <= 1e-12
    assert np.abs(tree_conditional_activation(g, p, plan=plan2)[0].numpy() - joint).max() <= 1e-12


def test_star_from_centre_is_poisson_binomial_and_binomial():
    n = 30
    rng = np.random.default_rng(0)
    w = rng.uniform(0.1, 0.9, n - 1)
    g = CascadeGraph.from_edges([(0, i + 1, w[i]) for i in range(n - 1)])
    P = size_distribution(g, seeds=[0]).numpy()
    # Poisson-binomial by direct polynomial product
    poly = np.array([1.0])
    for wi in w:
        poly = np.convolve(poly, [1 - wi, wi])
    assert np.abs(P[1:] - poly).max() < 1e-14 and P[0] == 0
    # equal weights: 1 + Binomial(n-1, w)
    g2 = CascadeGraph.from_networkx(nx.star_graph(n - 1), default=0.3)
    P2 = size_distribution(g2, seeds=[0]).numpy()
    assert np.abs(P2[1:] - binom.pmf(np.arange(n), n - 1, 0.3)).max() < 1e-14
    # a hub of 2,000 leaves goes through virtual product nodes (it took K x L before)
    g3 = CascadeGraph.from_networkx(nx.star_graph(1999), default=0.3)
    plan3 = tree_plan(g3)
    assert plan3.n_virtual > 0
    P3 = tree_size_distribution(g3, seed_probabilities(g3, seeds=[0]), plan=plan3).numpy()
    assert np.abs(P3[1:] - binom.pmf(np.arange(2000), 1999, 0.3)).max() < 1e-14


def test_star_from_leaf_closed_form():
    n, wl, w = 12, 0.6, 0.25
    G = nx.DiGraph()
    G.add_edge(1, 0, weight=wl)
    for i in range(2, n):
        G.add_edge(0, i, weight=w)
        G.add_edge(i, 0, weight=0.9)  # cannot matter: the centre is active or never
    g = CascadeGraph.from_networkx(G)
    P = size_distribution(g, seeds=[1]).numpy()
    expect = np.zeros(n + 1)
    expect[1] = 1 - wl
    expect[2:] = wl * binom.pmf(np.arange(n - 1), n - 2, w)
    assert np.abs(P - expect).max() < 1e-14


@pytest.mark.parametrize("w", [0.1, 0.5, 0.9])
def test_path_geometric_closed_form_and_tail(w):
    n = 60
    g = CascadeGraph.from_networkx(nx.path_graph(n, create_using=nx.DiGraph), default=w)
    k = np.arange(1, n + 1)
    logexp = (k - 1) * math.log(w) + np.where(k < n, math.log1p(-w), 0.0)
    P = size_distribution(g, seeds=[0]).numpy()
    assert np.abs(P[1:] - np.exp(logexp)).max() < 1e-14
    # tail: relative accuracy far below the 1e-15 floor of the default mode
    Pt = size_distribution(g, seeds=[0], tail_accurate=True).numpy()
    rel = np.abs(np.log(Pt[1:]) - logexp)
    assert rel.max() < 1e-8, rel.max()


def test_path_seed_in_middle_is_convolution_of_truncated_geometrics():
    n, m, w = 25, 9, 0.7
    g = CascadeGraph.from_networkx(nx.path_graph(n), default=w)

    def trunc_geom(length):  # number of extra nodes reached along a line of `length`
        q = np.array([w**j * (1 - w) for j in range(length)] + [w**length])
        return q

    expect = np.convolve(trunc_geom(m), trunc_geom(n - 1 - m))
    P = size_distribution(g, seeds=[m]).numpy()
    assert np.abs(P[1:] - expect).max() < 1e-14


def test_large_tree_matches_monte_carlo_within_sampling_error():
    T = nx.random_labeled_tree(1000, seed=3)
    rng = np.random.default_rng(3)
    G = nx.DiGraph()
    for u, v in T.edges():
        G.add_edge(u, v, weight=rng.uniform(0.3, 0.9))
        G.add_edge(v, u, weight=rng.uniform(0.3, 0.9))
    g = CascadeGraph.from_networkx(G)
    for kwargs in ({"seeds": [0]}, {"seed_prob": 0.002}):
        p = seed_probabilities(g, **kwargs)
        P = tree_size_distribution(g, p)
        mc = monte_carlo(g, p, n_runs=20_000, seed=4)
        from biomodels.cascade import expected_tv_error

        err = expected_tv_error(P, mc.n_runs)
        assert total_variation(P, mc.distribution) <= 3 * err
        # and the check can fail: a slightly different model is far outside the band
        P_wrong = tree_size_distribution(g.with_weight(g.weight * 0.9), p)
        assert total_variation(P_wrong, mc.distribution) > 3 * err


def test_conditional_activation_of_path():
    g = CascadeGraph.from_networkx(nx.path_graph(5, create_using=nx.DiGraph), default=0.5)
    C = conditional_activation(g, seeds=[0]).numpy()
    # given size k, exactly the first k nodes are active
    for k in range(1, 6):
        assert np.allclose(C[:, k], (np.arange(5) < k).astype(float))
    assert np.isnan(C[:, 0]).all()


def test_conditional_activation_stays_a_probability():
    # round-off gave P(b active | size = 1) = 1.00000001 (P(size = 1) = 1e-9), and 1.00002
    # for the seed of a float32 tree
    g = CascadeGraph.from_edges([], nodes=["a", "b"])
    C = conditional_activation(g, seed_prob=[0.0, 1e-9])
    assert float(C[1, 1]) == pytest.approx(1.0, abs=1e-12) and float(C[1, 1]) <= 1.0
    g32 = CascadeGraph.from_networkx(nx.random_labeled_tree(30, seed=0), default=0.5,
                                     dtype=torch.float32)
    C32 = conditional_activation(g32, seeds=[0])
    ok = ~torch.isnan(C32[0])
    assert bool((C32[:, ok] <= 1).all()) and bool((C32[:, ok] >= 0).all())


def test_float32_and_dtype_follow_input():
    g = CascadeGraph.from_networkx(nx.path_graph(6), default=0.4, dtype=torch.float32)
    P = size_distribution(g, seeds=[2])
    assert P.dtype == torch.float32
    g64 = g.to(dtype=torch.float64)
    assert torch.allclose(P.double(), size_distribution(g64, seeds=[2]), atol=1e-6)


def test_tail_mode_consistent_and_reaches_far_below_the_floor():
    g = CascadeGraph.from_networkx(nx.random_labeled_tree(300, seed=2), default=0.3)
    p = seed_probabilities(g, seeds=[0])
    P = tree_size_distribution(g, p)
    Pt = tree_size_distribution(g, p, tail_accurate=True)
    ok = P > 1e-10
    assert float(((Pt[ok] - P[ok]) / P[ok]).abs().max()) < 1e-5
    assert abs(float(Pt.sum()) - 1) < 1e-12
    # every size up to the component size is possible: the tail mode resolves it
    assert bool((Pt[1:] > 0).all()) and float(Pt[-1]) < 1e-100
    assert float(P[150:].max()) < 1e-14  # the unit circle only sees its noise floor there


def test_auto_method_picks_by_structure():
    tree = CascadeGraph.from_networkx(nx.path_graph(5), default=0.5)
    loopy = CascadeGraph.from_networkx(nx.cycle_graph(5), default=0.5)
    P = size_distribution(tree, seeds=[0])
    assert torch.equal(P, size_distribution(tree, seeds=[0], method="tree"))
    from biomodels.cascade import exact_size_distribution, tda_size_distribution

    # a small component with a cycle is enumerated exactly (it was TDA before "exact");
    # one of more than 12 nodes takes TDA
    Q = size_distribution(loopy, seeds=[0])
    assert torch.equal(Q, exact_size_distribution(loopy, seed_probabilities(loopy, seeds=[0])))
    ring = CascadeGraph.from_networkx(nx.cycle_graph(13), default=0.5)
    R = size_distribution(ring, seeds=[0])
    assert torch.equal(R, tda_size_distribution(ring, seed_probabilities(ring, seeds=[0])))


def test_tail_mode_resolves_every_size_of_a_long_path():
    # before, radii were capped at |log rho| <= 700 / N (0.7 for N = 1000): P(80) came out 0
    # (true 3.4e-42) and P(400) 2.3e-137 (true 1.6e-209). A geometric tail needs log rho
    # within ~0.004 of log(1/w); the refined radii find it.
    n, w = 1000, 0.3
    g = CascadeGraph.from_edges([(i, i + 1, w) for i in range(n - 1)])
    P = size_distribution(g, seeds=[0], tail_accurate=True).numpy()
    k = np.arange(1, n + 1)
    logexp = (k - 1) * math.log(w) + np.where(k < n, math.log1p(-w), 0.0)
    live = logexp > math.log(1e-300)
    assert np.abs(P[1:][live] / np.exp(logexp[live]) - 1).max() < 1e-7


def test_tail_mode_in_float32_is_finite_with_finite_gradients():
    # the unselected radii overflowed to inf in float32, and 0 * inf put NaN in the gradient
    g = CascadeGraph.from_edges([(i, i + 1, 0.5) for i in range(9)], dtype=torch.float32)
    w = g.weight.clone().requires_grad_(True)
    P = tree_size_distribution(g.with_weight(w), seed_probabilities(g, seeds=[0]),
                               tail_accurate=True)
    assert P.dtype == torch.float32 and bool(torch.isfinite(P).all())
    torch.log(P[2]).backward()
    assert bool(torch.isfinite(w.grad).all())
    # P(size = 2) = w0 (1 - w1): d log P / d w0 = 1 / w0, d / d w1 = -1 / (1 - w1)
    assert w.grad[:3].tolist() == pytest.approx([2.0, -2.0, 0.0], abs=1e-5)


def test_conditional_activation_floor_follows_the_dtype():
    # float32 columns below its precision floor were returned (k = 28 summed to 19, not 28)
    g = CascadeGraph.from_networkx(nx.random_labeled_tree(30, seed=0), default=0.5,
                                   dtype=torch.float32)
    C = conditional_activation(g, seeds=[0])
    P = size_distribution(g.to(dtype=torch.float64), seeds=[0])
    low = P < 1e3 * torch.finfo(torch.float32).eps
    assert bool(torch.isnan(C[:, low]).all())
    ok = ~low & (P > 0)
    # above the floor a column sums to k up to float32 round-off relative to P(size = k)
    # (about 1e-4 of k near the floor: k = 19 summed to 19.0016 on one tree)
    assert np.allclose(C[:, ok].sum(0).numpy(), np.arange(31)[ok.numpy()], rtol=1e-3)


@pytest.mark.parametrize(
    "edges, p",
    [
        # a leaf seed under a root it cannot reach: P(size >= 2) = 0, was 1.4e-9 and 1.5e-34
        ([(1, 0, 0.3), (0, 1, 0.9), (0, 2, 0.4)], [0.0, 0.0, 0.6]),
        # a seed whose only edge has weight 0: P(size = 1) was off by 2.4e-7 relative
        ([(0, 1, 0.0), (0, 2, 0.66)], [0.0, 0.49, 0.0]),
        ([(0, 1, 0.0), (0, 2, 0.66)], [0.49, 0.0, 0.0]),
    ],
)
def test_tail_mode_is_as_accurate_as_the_unit_circle_on_tiny_trees(edges, p):
    # off the unit circle the A messages dwarf B, and the round-off of Π A - q Π A0 in
    # I swamped B at large radii; the radius search trusted those radii
    g = CascadeGraph.from_edges(edges, nodes=[0, 1, 2])
    pv = torch.tensor(p, dtype=torch.float64)
    dist, _ = brute_force(3, g.src, g.dst, g.weight.numpy(), pv.numpy())
    Pt = tree_size_distribution(g, pv, tail_accurate=True).numpy()
    assert np.abs(Pt - dist).max() < 1e-14
    pos = dist > 0
    assert np.abs(Pt[pos] / dist[pos] - 1).max() < 1e-8


@pytest.mark.parametrize("w", [1e-20, 1e-50])
def test_tail_mode_reaches_sizes_beyond_the_starting_radii(w):
    # radii stopped at log rho = 30, so a ratio P(k+1) / P(k) below 1e-13 was never
    # resolved: w = 1e-50 gave P(2) = 3.3e-31 and P(3) = P(4) = 0
    g = CascadeGraph.from_edges([(0, 1, w), (1, 2, w), (2, 3, w)])
    P = tree_size_distribution(g, seed_probabilities(g, seeds=[0]), tail_accurate=True)
    exact = np.array([1 - w, w * (1 - w), w * w * (1 - w), w**3])
    assert np.abs(P.numpy()[1:] / exact - 1).max() < 1e-8


def _log_binom_star(n: int, w: float) -> np.ndarray:
    """log P(size = k), k = 1..n+1, of a star of n leaves seeded at its centre: 1 + Bin(n, w)."""
    j = np.arange(n + 1)
    lgam = np.vectorize(math.lgamma)
    return (lgam(n + 1) - lgam(j + 1) - lgam(n - j + 1) + j * math.log(w)
            + (n - j) * math.log1p(-w))


def _assert_tail_matches(P: np.ndarray, logexp: np.ndarray) -> None:
    """Every size with exact P_k > 1e-300 to 1e-6 relative; the rest below that."""
    live = logexp > math.log(1e-300)
    assert np.abs(P[live] / np.exp(logexp[live]) - 1).max() < 1e-6
    assert (P[~live] < 1e-299).all()


@pytest.mark.parametrize("w", [1e-100, 1e-200, 1e-30])
def test_tail_mode_resolves_a_star_of_tiny_weights(w):
    # the search doubled log rho 30 -> 60 -> 120 -> 240 past the radii near log(1/w) that
    # resolve P(2..5), took sizes it had no estimate for as resolved and stopped at
    # |log rho| = 300: w = 1e-100 gave P(2) = 0 (exact 2e-98) and P(3) = 1.65e-121 (noise;
    # exact 2e-196), w = 1e-200 gave P(2) = 0 (exact 2e-198)
    n = 200
    g = CascadeGraph.from_edges([(0, i, w) for i in range(1, n + 1)])
    P = size_distribution(g, seeds=[0], tail_accurate=True).numpy()
    assert P[0] == 0
    _assert_tail_matches(P[1:], _log_binom_star(n, w))


@pytest.mark.parametrize("w", [1e-70, 1e-150])
def test_tail_mode_resolves_a_path_of_tiny_weights(w):
    # from its root a path stops after k nodes with P_k = w^(k-1) (1 - w), P_n = w^(n-1)
    n = 8
    g = CascadeGraph.from_edges([(i, i + 1, w) for i in range(n - 1)])
    P = size_distribution(g, seeds=[0], tail_accurate=True).numpy()
    k = np.arange(1, n + 1)
    _assert_tail_matches(P[1:], (k - 1) * math.log(w) + np.where(k < n, math.log1p(-w), 0.0))


@pytest.mark.parametrize("p0", [1.0, 0.5])
def test_tail_mode_gives_impossible_sizes_exactly_zero(p0, monkeypatch):
    # weight-1 edges force whole groups: from node 0 the cascade holds {0, 1, 2}, node 6
    # joins with probability b and {3, 4, 5} with probability a, so sizes 1, 2 (below the
    # forced group) and 5 (between P(4) = 1e-30 and P(6) = 1e-80) cannot occur. No radius
    # resolves them; they must come out 0, not noise, without a warning or the whole
    # refinement budget
    import biomodels.cascade.tail as tail

    passes = []
    real = tail._single_radius
    monkeypatch.setattr(tail, "_single_radius", lambda *a, **k: passes.append(1) or real(*a, **k))
    a, b = 1e-80, 1e-30
    g = CascadeGraph.from_edges([(0, 1, 1.0), (0, 2, 1.0), (2, 3, a), (3, 4, 1.0), (3, 5, 1.0),
                                 (1, 6, b)], nodes=list(range(7)))
    p = torch.zeros(7, dtype=torch.float64)
    p[0] = p0
    P = tree_size_distribution(g, p, tail_accurate=True).numpy()
    expect = p0 * np.array([0, 0, 0, (1 - a) * (1 - b), (1 - a) * b, 0, a * (1 - b), a * b])
    expect[0] = 1 - p0
    pos = expect > 0
    assert np.abs(P[pos] / expect[pos] - 1).max() < 1e-8
    assert (P[~pos] == 0).all()
    assert len(passes) <= 25 + 12  # the starting grid, widening and a few refinements


def test_tail_mode_keeps_the_rows_of_each_message_on_their_own_scale():
    # a seed that reaches nobody, behind a neighbour whose component has no seed: one
    # scale per node for the three message rows let the A rows (rho^size times B, never
    # used) push B below float64's range at large radii, which lost mass: P(1) = 0.984
    # (star of 100 leaves, w = 0.9) and 0.9995 (path of 50, w = 1) instead of 1
    star = [(1, i, 0.9) for i in range(2, 102)] + [(i, 1, 0.9) for i in range(2, 102)]
    path = [(i, i + 1, 1.0) for i in range(1, 50)] + [(i + 1, i, 1.0) for i in range(1, 50)]
    for edges in (star, path):
        g = CascadeGraph.from_edges([(1, 0, 0.9)] + edges, nodes=list(range(len(edges) // 2 + 2)))
        p = torch.zeros(g.n, dtype=torch.float64)
        p[0] = 1.0
        P = tree_size_distribution(g, p, tail_accurate=True)
        assert abs(float(P[1]) - 1) < 1e-12 and bool((P[2:] == 0).all())


def test_tail_mode_resolves_a_valley_that_no_radius_reaches():
    # two nodes seeded with p = 1e-3 and links of weight 1 - eps_w: P(1) ~ 2e-3 eps_w lies
    # between P(0) ~ 1 and P(2) ~ 2e-3, and no contour radius lifts it above their
    # round-off. It came out with the best radius's error (~1e-4 at eps_w = 1e-10) or,
    # beyond 1e-3 (eps_w = 1e-15: 5e-18 for the exact 2.2e-18), as 0; the coefficient-
    # domain pass resolves it
    for eps_w in (1e-10, 1e-15):
        g = CascadeGraph.from_edges([(0, 1, 1 - eps_w), (1, 0, 1 - eps_w)])
        p = torch.full((2,), 1e-3, dtype=torch.float64)
        P = tree_size_distribution(g, p, tail_accurate=True).numpy()
        dist, _ = brute_force(2, g.src, g.dst, g.weight.numpy(), p.numpy())
        assert np.abs(P[1:] / dist[1:] - 1).max() < 1e-8, (eps_w, P, dist)


def test_tail_mode_resolves_sizes_below_the_line_from_a_likely_small_size_to_the_bulk():
    # a leaf seed of a star of 100 leaves, w = 0.9: P(1) = 0.1 (the link to the hub
    # fails), then P(k) = 0.9 Binom(99, 0.9).pmf(k - 2), log P concave from k = 2 on. The
    # tilted mean jumps from 1 to 82 between two radii, so every radius leaves sizes 2-71
    # below the round-off of P(1) and of the bulk: sizes 2-63 came out 0 (P(2) = 9e-100,
    # P(63) = 5.1e-14), 64-71 with errors up to 4e-5, and no warning
    g = CascadeGraph.from_networkx(nx.star_graph(100), default=0.9)
    P = size_distribution(g, seeds=[1], tail_accurate=True).numpy()
    exact = np.concatenate([[0.0, 0.1], 0.9 * binom.pmf(np.arange(100), 99, 0.9)])
    assert P[0] == 0 and exact[63] == pytest.approx(5.1e-14, rel=0.01)
    assert np.abs(P[1:] / exact[1:] - 1).max() < 1e-8


def _ba_leaf_next_to_a_hub() -> tuple[nx.Graph, int, int]:
    """BA tree (300 nodes, m = 1, seed 0) with a leaf of its degree-37 hub."""
    G = nx.barabasi_albert_graph(300, 1, seed=0)
    hub = max(G, key=G.degree)
    leaf = min(v for v in G[hub] if G.degree(v) == 1)
    assert G.degree(hub) == 37
    return G, hub, leaf


def test_tail_mode_resolves_the_small_sizes_of_a_leaf_seed_next_to_a_hub():
    # w = 0.7: P(1) = 0.3, P(2) = 0.7 * 0.3^36 = 1.05e-19 (the hub joins, none of its 36
    # other neighbours) came out 0, as did sizes 3-6 (the CLI wrote 0 for 2-6). Size 3:
    # the hub and one other neighbour x, which passes it on to none of its own
    G, hub, leaf = _ba_leaf_next_to_a_hub()
    P = size_distribution(CascadeGraph.from_networkx(G, default=0.7), seeds=[leaf],
                          tail_accurate=True).numpy()
    p3 = sum(0.7 * 0.7 * 0.3**35 * 0.3 ** (G.degree(x) - 1) for x in G[hub] if x != leaf)
    assert P[2] / (0.7 * 0.3**36) - 1 == pytest.approx(0, abs=1e-8)
    assert P[3] / p3 - 1 == pytest.approx(0, abs=1e-8)
    assert P[1] == pytest.approx(0.3, rel=1e-12) and (P[2:7] > 0).all()


def test_tail_mode_warns_about_sizes_it_cannot_resolve(monkeypatch):
    # with no refinement rounds the star of weights 1e-100 keeps sizes 2-4 unresolved
    # (they need log rho ~ 225): the coefficient-domain pass resolves them; where it
    # would cost more than its budget they are named in a warning and returned as 0
    import biomodels.cascade.tail as tail

    n = 200
    g = CascadeGraph.from_edges([(0, i, 1e-100) for i in range(1, n + 1)])
    p = seed_probabilities(g, seeds=[0])
    P = tail._tail_accurate(tree_plan(g), g.weight, p, torch.zeros(1, dtype=torch.float64),
                            25, max_rounds=0)
    _assert_tail_matches(P.numpy()[1:], _log_binom_star(n, 1e-100))
    assert tail._last_unresolved().size == 0
    monkeypatch.setattr(tail, "_DIRECT_BUDGET", 0.0)
    with pytest.warns(RuntimeWarning, match=r"could not be resolved .* for k = 2, 3, 4, "
                                            r".*more than its budget"):
        P = tail._tail_accurate(tree_plan(g), g.weight, p, torch.zeros(1, dtype=torch.float64),
                                25, max_rounds=0)
    assert (P[2:] == 0).all() and float(P[1]) == pytest.approx(1.0, rel=1e-12)
    assert tail._last_unresolved()[:3].tolist() == [2, 3, 4]


@pytest.mark.parametrize("trial", range(12))
def test_direct_pass_matches_brute_force(trial):
    # the coefficient-domain pass of the tail mode, cut after any number of sizes, on
    # random forests (with product-only nodes under every node of more than 2 children)
    from biomodels.cascade.tail import _direct_sizes

    rng = np.random.default_rng(700 + trial)
    n = int(rng.integers(1, 11))
    g = random_forest(rng, n, both=0.3)
    while g.num_edges > 14:
        g = random_forest(rng, n, both=0.2)
    p = torch.tensor(rng.uniform(0, 0.5, n) * (rng.random(n) < 0.7))
    dist, _ = brute_force(n, g.src, g.dst, g.weight.numpy(), p.numpy())
    for plan in (tree_plan(g), tree_plan(g, max_children=2)):
        for top in (2, n // 2 + 1, n + 1):
            D = _direct_sizes(plan, g.weight, p, top).numpy()
            pos = dist[:top] > 0
            assert D.shape == (top,) and (D[~pos] == 0).all()
            assert np.abs(D[pos] / dist[:top][pos] - 1).max() < 1e-12


@pytest.mark.parametrize("trial", range(20))
def test_size_support_matches_brute_force(trial):
    # which sizes are possible depends only on which weights and seed probabilities are
    # 0, 1 or between; the tail mode uses it to tell impossible sizes from unresolved ones
    from biomodels.cascade.tail import _size_support

    rng = np.random.default_rng(500 + trial)
    n = int(rng.integers(1, 9))
    g = random_forest(rng, n, both=0.3)
    while g.num_edges > 14:
        g = random_forest(rng, n, both=0.2)
    g = g.with_weight(torch.as_tensor(rng.choice([0.0, 0.5, 1.0], g.num_edges)))
    p = torch.as_tensor(rng.choice([0.0, 0.5, 1.0], n, p=[0.5, 0.3, 0.2]))
    dist, _ = brute_force(n, g.src, g.dst, g.weight.numpy(), p.numpy())
    assert np.array_equal(_size_support(tree_plan(g), g.weight, p), dist > 0)


@pytest.mark.parametrize(("n", "p0"), [(200, 1e-3), (1100, 0.5)])
def test_tail_mode_multiplies_many_components_without_overflow(n, p0):
    # isolated nodes seeded with p0: the size is Binomial(n, p0). The roots' rows were
    # multiplied unscaled: at the radius of the mode their product grew to 1.55^200 =
    # 1e38 (its factor exp(scale - k log rho) then fell into the subnormals: P(114..119)
    # lost their digits or came out 0) and to 2^n, past float64's range from n = 1,025 on
    # (sizes came out wrong or 0; at n = 1,200 NaN, with a RuntimeWarning)
    g = CascadeGraph.from_edges([], nodes=list(range(n)))
    P = tree_size_distribution(g, torch.full((n,), p0, dtype=torch.float64),
                               tail_accurate=True).numpy()
    _assert_tail_matches(P, binom.logpmf(np.arange(n + 1), n, p0))


def _star_and_isolated(
    k: int, p0: float, w: float
) -> tuple[CascadeGraph, torch.Tensor, np.ndarray]:
    """A seeded centre with two leaves (weight ``w``) and ``k`` isolated nodes seeded with
    ``p0``: the size is ``1 + Binomial(2, w) + Binomial(k, p0)``; returns its log-pmf."""
    g = CascadeGraph.from_edges([(0, 1, w), (0, 2, w)], nodes=list(range(k + 3)))
    p = torch.cat([torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64),
                   torch.full((k,), p0, dtype=torch.float64)])
    star = binom.pmf(np.arange(3), 2, w)
    with np.errstate(divide="ignore"):
        iso = binom.logpmf(np.arange(k + 1), k, p0)
        logexp = np.full(k + 4, -np.inf)
        for j in range(3):  # sizes 1 + j + i
            logexp[1 + j : k + 2 + j] = np.logaddexp(logexp[1 + j : k + 2 + j],
                                                     math.log(star[j]) + iso)
    return g, p, logexp


@pytest.mark.parametrize("tail", [False, True])
def test_many_components_match_the_product_of_closed_forms(tail):
    # 2,103 components: their distributions were multiplied as a dense (components x
    # (n + 1)) matrix at the (n + 1)-th roots of unity (20,000 nodes: 5.4 GB, 13 s);
    # above 2**22 values they now go through a product tree, which must give the same
    # known answer, also in the tail mode (which rescales every partial product)
    k = 2100
    g, p, logexp = _star_and_isolated(k, 0.3, 0.4)
    assert np.size(tree_plan(g).roots) * (g.n + 1) > 2**22  # the product-tree path
    P = tree_size_distribution(g, p, tail_accurate=tail).numpy()
    if tail:
        _assert_tail_matches(P, logexp)
    else:
        assert np.abs(P - np.exp(logexp)).max() < 1e-13
        assert abs(P.sum() - 1) < 1e-12


@pytest.mark.parametrize("tail", [False, True])
def test_product_tree_of_components_has_the_dense_products_gradients(tail, monkeypatch):
    # the product tree (taken above 2**22 values) must stay differentiable in the weights
    # and seed probabilities like the dense product it replaces: forced on a small forest
    import biomodels.cascade.passes as passes

    g, p, _ = _star_and_isolated(6, 0.3, 0.4)
    g = CascadeGraph.from_edges([(0, 1, 0.4), (0, 2, 0.4), (3, 4, 0.7), (4, 3, 0.2)],
                                nodes=list(range(g.n)))

    def grads() -> list[torch.Tensor]:
        w = g.weight.clone().requires_grad_(True)
        q = p.clone().requires_grad_(True)
        P = tree_size_distribution(g.with_weight(w), q, tail_accurate=tail)
        (P * torch.arange(P.shape[0], dtype=P.dtype) ** 2).sum().backward()
        return [P.detach(), w.grad, q.grad]

    dense = grads()
    monkeypatch.setattr(passes, "_DENSE_ROOT_VALUES", 0)
    for a, b in zip(grads(), dense):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-12)


def test_tail_mode_computes_p0_in_float64_for_float32_weights():
    # the tail mode computes in float64 and rounds once; P(0) = prod(1 - p) was multiplied
    # in float32 (n roundings: relative error 2e-6 for 200 nodes), unlike every other size
    n = 200
    g = CascadeGraph.from_edges([(i, i + 1, 0.3) for i in range(n - 1)], dtype=torch.float32)
    p = torch.as_tensor(np.random.default_rng(0).uniform(0, 2e-3, n), dtype=torch.float32)
    P = tree_size_distribution(g, p, tail_accurate=True)
    assert P.dtype == torch.float32
    assert P[0] == torch.prod(1 - p.double()).float()


def test_tree_plan_repr_gives_the_forest_and_schedule_sizes():
    g = CascadeGraph.from_edges([("a", "b", 0.5), ("b", "c", 0.2), ("c", "d", 0.1),
                                 ("d", "e", 0.4), ("x", "y", 0.5)])
    assert repr(tree_plan(g)) == ("TreePlan of 7 nodes in 2 trees, 3 levels; 3 batches, "
                                  "polynomials up to length 8")
    # the dataclass repr printed every array and batch tensor (40,993 characters at 364)
    big = CascadeGraph.from_edges([(i, i + 1, 0.5) for i in range(2_000)])
    assert len(repr(tree_plan(big))) < 100


def test_repeated_distributions_of_one_forest_build_its_plan_once(monkeypatch):
    # every size_distribution / conditional_activation call rebuilt the tree plan, which
    # depends on the structure alone: a third of each call on a 100-1,000 node tree (a
    # sweep over seeds ran 1.5-1.7x slower than with tree_plan reused by hand)
    import biomodels.cascade.plan as plan_module

    built = []
    real = plan_module.tree_plan
    monkeypatch.setattr(plan_module, "tree_plan",
                        lambda graph, **kw: built.append(graph.n) or real(graph, **kw))
    g = CascadeGraph.from_networkx(nx.random_labeled_tree(40, seed=0), default=0.4)
    reference = real(g)
    for v in (0, 7):
        P = size_distribution(g, seeds=[v])
        expected = tree_size_distribution(g, seed_probabilities(g, seeds=[v]), plan=reference)
        assert torch.equal(P, expected)
    conditional_activation(g, seed_prob=0.1)
    size_distribution(g.with_weight(g.weight * 0.5), seeds=[0])  # same structure
    assert built == [40]
    # a pickled graph (sent to the workers of a process pool) leaves the plan behind
    import pickle

    copy = pickle.loads(pickle.dumps(g))
    assert "_tree_plan" not in copy.__dict__ and copy.weight.equal(g.weight)
    assert torch.equal(size_distribution(copy, seeds=[0]), size_distribution(g, seeds=[0]))



def test_a_read_out_inside_inference_mode_leaves_the_graph_differentiable():
    # the graph keeps its tree plan: built by a first size_distribution inside the caller's
    # torch.inference_mode(), its indices were inference tensors, and every later gradient
    # or fit on that graph failed with "Inference tensors cannot be saved for backward"
    g = CascadeGraph.from_edges([("a", "b", 0.3), ("a", "c", 0.6)])
    with torch.inference_mode():
        size_distribution(g, seeds=["a"])
    w = g.weight.clone().requires_grad_(True)
    P = size_distribution(g.with_weight(w), seeds=["a"])
    P[3].backward()  # P(size 3) = w_ab w_ac
    assert torch.allclose(w.grad, torch.tensor([0.6, 0.3], dtype=w.dtype))
    assert float(P[3].detach()) == pytest.approx(0.18)


def test_a_near_certain_cascade_gives_no_probability_above_1_and_keeps_its_gradient():
    # a star of 10,000 leaves at w = 1 seeded at its centre: every node is reached, but
    # round-off that grows with the nodes (the values on the unit circle all have modulus
    # 1, so nothing damps it) put P(size = 10001) at 1.0000000000001108; negatives were
    # clipped, values above 1 were not
    # hub -> leaves (networkx < 3.3 builds no directed star_graph)
    g = CascadeGraph.from_networkx(nx.DiGraph([(0, leaf) for leaf in range(1, 10_001)]),
                                   default=1.0)
    w = g.weight.clone().requires_grad_(True)
    P = size_distribution(g.with_weight(w), seeds=[0])
    values = P.detach()
    assert float(values.max()) <= 1.0 and float(values.min()) >= 0.0
    assert float(values[-1]) == pytest.approx(1.0, abs=1e-15)
    # the clipped entry keeps its gradient: dP(all) / dw_i = prod of the other weights = 1
    # (clamp would have given 0)
    (grad,) = torch.autograd.grad(P[-1], w)
    assert torch.allclose(grad, torch.ones_like(grad), atol=1e-9)


def test_tail_mode_valley_next_to_a_near_sure_link_is_resolved():
    # nothing pinned the documented "below about 1%, or 0" for a valley: keeping valleys
    # with a relative error bound up to 1e-1 (not 1e-3) passed every test and returned
    # P(1) = 2.05e-15 for the exact 2.0e-15 (p = 0.1, w1 = 1 - 2e-14): 2.7% off. Now the
    # coefficient-domain pass resolves every valley (they came out with errors of 1.9e-5
    # and 4.7e-5, or as 0). Path 0 -> 1 -> 2 seeded at 0: P(1) = p (1 - w1) lies between
    # P(0) = 1 - p and P(2) ~ p
    from fractions import Fraction

    for p0 in (0.5, 0.1, 2e-3):
        for d in (1e-11, 1e-12, 1e-13, 5e-14, 2e-14, 1e-14, 5e-15):
            g = CascadeGraph.from_edges([(0, 1, 1 - d), (1, 2, 1e-3)])
            p = torch.tensor([p0, 0.0, 0.0], dtype=torch.float64)
            P = tree_size_distribution(g, p, tail_accurate=True).tolist()
            # exact in rationals, from the float64 weights the graph holds
            w1, w2 = (Fraction(float(x)) for x in g.weight)
            q = Fraction(p0)
            exact = [1 - q, q * (1 - w1), q * w1 * (1 - w2), q * w1 * w2]
            err = [abs(Fraction(a) - b) / b for a, b in zip(P, exact)]
            assert max(err) < 1e-8, (p0, d, P)


def _random_tree(n, seed):
    rng = np.random.default_rng(0)
    g = CascadeGraph.from_networkx(nx.random_labeled_tree(n, seed=seed), default=0.5)
    g = g.with_weight(torch.tensor(rng.uniform(0.2, 0.9, g.num_edges)))
    return g, torch.tensor(rng.uniform(0.0, 0.05, n))


def _two_branches():
    # root 0 above node 1 (one child, 3) and node 2 (five children, 4..8): nodes 1 and 2
    # are peeled in the same round, so they wait at the same level of the downward pass
    g = CascadeGraph.from_networkx(
        nx.Graph([(0, 1), (0, 2), (1, 3)] + [(2, k) for k in range(4, 9)]), default=0.4)
    return g, torch.full((9,), 0.1, dtype=torch.float64)


@pytest.mark.parametrize(("case", "chunk_values"), [
    # n = 9, F = 6: hubs have 5 or more children (18 (K + 2) > 110); the chunk that starts
    # at node 1 (one child) would hold 110 // 54 = 2 parents, node 2 among them
    (_two_branches, 110),
    # n = 60, F = 31: hubs have 5 or more children (93 (K + 2) > 600); a node of no child
    # or one would share its chunk with 2 or 1 more, and on this tree one reaches a hub
    (lambda: _random_tree(60, 3), 600),
], ids=["two_branches", "random_tree_60"])
def test_tree_pass_in_small_chunks_leaves_hubs_to_their_own_path(case, chunk_values):
    # pins the step that shrinks a chunk of parents until it holds no hub (a node whose
    # children's messages alone exceed chunk_values), which then go through hub(). The
    # chunking changes only the order of the products: the joint equals the default pass's
    # to round-off, and so does the conditional where P(size = k) is large enough to
    # divide by without amplifying that round-off
    g, p = case()
    joint, cond = tree_conditional_activation(g, p)
    joint_c, cond_c = tree_conditional_activation(g, p, chunk_values=chunk_values)
    torch.testing.assert_close(joint_c, joint, rtol=0, atol=1e-15)
    assert torch.equal(torch.isnan(cond_c), torch.isnan(cond))  # the same sizes undefined
    n = g.n
    total = joint.sum(0) / torch.arange(n + 1).clamp_min(1)  # sum_i P(i, k) = k P(k)
    large = total > 1e-6
    assert 0 < int(large.sum()) and bool(torch.isfinite(cond[:, large]).all())
    torch.testing.assert_close(cond_c[:, large], cond[:, large], rtol=0, atol=1e-9)
