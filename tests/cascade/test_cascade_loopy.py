"""TDA and the Poisson-binomial baseline on networks with cycles."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch
from cascade_bruteforce import brute_force

from biomodels.cascade import (
    CascadeGraph,
    bp_marginals,
    monte_carlo,
    poisson_binomial,
    seed_probabilities,
    tda_size_distribution,
    total_variation,
    tree_size_distribution,
)


def test_poisson_binomial_matches_convolution():
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 33):
        mu = rng.random(n)
        poly = np.array([1.0])
        for m in mu:
            poly = np.convolve(poly, [1 - m, m])
        assert np.abs(poisson_binomial(torch.tensor(mu)).numpy() - poly).max() < 1e-14


def test_tda_is_exact_on_forests_and_bp_exact_marginals():
    g = CascadeGraph.from_networkx(nx.random_labeled_tree(40, seed=1), default=0.6)
    p = seed_probabilities(g, seed_prob=0.05)
    assert torch.allclose(tda_size_distribution(g, p), tree_size_distribution(g, p), atol=1e-15)


def test_unicyclic_small_graph_against_brute_force():
    G = nx.cycle_graph(6, create_using=nx.DiGraph)
    G.add_edge(0, 6)
    G.add_edge(3, 2)
    nx.set_edge_attributes(G, 0.6, "weight")
    g = CascadeGraph.from_networkx(G)
    p = seed_probabilities(g, seed_prob=[0.3, 0, 0.1, 0, 0, 0.2, 0])
    dist, joint = brute_force(g.n, g.src, g.dst, g.weight.numpy(), p.numpy())
    tv_tda = total_variation(tda_size_distribution(g, p), dist)
    tv_pb = total_variation(poisson_binomial(bp_marginals(g, p)), dist)
    assert tv_tda < 0.05 and tv_tda < tv_pb
    # P(size = 0) restored exactly
    assert float(tda_size_distribution(g, p)[0]) == pytest.approx(0.7 * 0.9 * 0.8, abs=1e-15)


# default-run versions (affordable MC); the full >= 1e5-run version is in the benchmark
CASES = [
    (
        "3-regular, one seed",
        lambda: nx.random_regular_graph(3, 1000, seed=1),
        0.3,
        {"seeds": [0]},
        20_000,
    ),
    (
        "3-regular, p=0.01",
        lambda: nx.random_regular_graph(3, 1000, seed=1),
        0.3,
        {"seed_prob": 0.01},
        10_000,
    ),
    (
        "ER k=4, p=0.01",
        lambda: nx.gnp_random_graph(1000, 4 / 999, seed=1),
        0.2,
        {"seed_prob": 0.01},
        20_000,
    ),
    (
        "ER k=10, one seed",
        lambda: nx.gnp_random_graph(1000, 10 / 999, seed=1),
        0.05,
        {"seeds": [0]},
        20_000,
    ),
    (
        "BA m=2, p=0.01",
        lambda: nx.barabasi_albert_graph(1000, 2, seed=1),
        0.1,
        {"seed_prob": 0.01},
        10_000,
    ),
]


@pytest.mark.parametrize("name,make,w,seeds,runs", CASES, ids=[c[0] for c in CASES])
def test_tda_beats_poisson_binomial_on_loopy_graphs(name, make, w, seeds, runs):
    g = CascadeGraph.from_networkx(make(), default=w)
    p = seed_probabilities(g, **seeds)
    mc = monte_carlo(g, p, n_runs=runs, seed=7)
    eps = 3 * mc.expected_error  # high-probability bound on TV(MC, truth)
    tv_tda = total_variation(tda_size_distribution(g, p), mc.distribution)
    tv_pb = total_variation(poisson_binomial(bp_marginals(g, p)), mc.distribution)
    print(
        f"{name}: TV tda {tv_tda:.3f}, Poisson-binomial {tv_pb:.3f}, "
        f"MC error {mc.expected_error:.3f}"
    )
    # triangle inequality: TV(tda, truth) < TV(pb, truth) is guaranteed by this margin
    assert tv_tda + 2 * eps < tv_pb


def test_message_spanning_tree_improves_on_weight_tree():
    g = CascadeGraph.from_networkx(nx.random_regular_graph(3, 300, seed=2), default=0.3)
    p = seed_probabilities(g, seeds=[0])
    mc = monte_carlo(g, p, n_runs=20_000, seed=1)
    tv_msg = total_variation(tda_size_distribution(g, p), mc.distribution)
    tv_w = total_variation(tda_size_distribution(g, p, spanning_tree="weights"), mc.distribution)
    assert tv_msg < 0.05 and tv_msg < tv_w
