"""TDA and the Poisson-binomial baseline on networks with cycles."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch
from cascade_bruteforce import brute_force
from cascade_graphs import disjoint as _disjoint

from biomodels.cascade import (
    CascadeGraph,
    bp_marginals,
    conditional_activation,
    exact_small_sizes,
    monte_carlo,
    poisson_binomial,
    seed_probabilities,
    size_distribution,
    tda_size_distribution,
    total_variation,
    tree_size_distribution,
)
from biomodels.cascade.loopy import bp_messages, tda_tree


def test_poisson_binomial_matches_convolution():
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 33):
        mu = rng.random(n)
        poly = np.array([1.0])
        for m in mu:
            poly = np.convolve(poly, [1 - m, m])
        assert np.abs(poisson_binomial(torch.tensor(mu)).numpy() - poly).max() < 1e-14


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool])
def test_poisson_binomial_of_sure_outcomes_given_as_integers_is_exact_in_float64(dtype):
    # the FFT took torch's default dtype: float32, P(sum = 0) = 6e-9; bools failed at 1 - mu
    got = poisson_binomial(torch.tensor([1, 0, 1]).to(dtype))
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, torch.tensor([0.0, 0.0, 1.0, 0.0], dtype=torch.float64),
                               rtol=0, atol=1e-15)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_poisson_binomial_refuses_half_precision_by_name(dtype):
    with pytest.raises(ValueError, match="marginals: .* too coarse"):
        poisson_binomial(torch.tensor([0.5, 0.25], dtype=dtype))


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


def test_tda_paper_settings_reproduce_the_reference_code():
    # expected values from the steps of the authors' R code (ICMmem in rebekka-burkholz/TDA)
    # written out by hand: 10 synchronous BP updates from m = p_j w_ji, maximum spanning
    # tree on w_uv + w_vu (drops link 0-2 here: 0.5 against 0.8, 0.85, 1.05), the dropped
    # edges' messages folded into the seeds, SDP, then P(0) exact and the rest rescaled
    g = CascadeGraph.from_edges([(0, 1, 0.5), (1, 0, 0.3), (1, 2, 0.6), (2, 1, 0.25),
                                 (2, 0, 0.4), (0, 2, 0.1), (2, 3, 0.7), (3, 2, 0.35)])
    p = torch.tensor([0.3, 0.1, 0.0, 0.2], dtype=torch.float64)
    got = tda_size_distribution(g, p, iterations=10, spanning_tree="weights", exact_head=False)
    ref = [0.504, 0.19244521020914798, 0.1236209787997048, 0.07711677093943207,
           0.10281704005171516]
    torch.testing.assert_close(got, torch.tensor(ref, dtype=torch.float64), rtol=0, atol=1e-14)


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
        40_000,
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


@pytest.mark.parametrize("trial", range(6))
def test_exact_small_sizes_match_brute_force(trial):
    rng = np.random.default_rng(trial)
    G = nx.gnm_random_graph(6, 8, seed=trial, directed=True)
    choice = [0.0, 1.0]
    edges = [
        (u, v, float(rng.random()) if rng.random() < 0.8 else choice[int(rng.integers(2))])
        for u, v in G.edges()
    ]
    g = CascadeGraph.from_edges(edges, nodes=list(range(6)))
    pv = rng.random(6) * 0.5 * (rng.random(6) < 0.7)
    pv[rng.choice(6, trial % 4, replace=False)] = 1.0  # 0..3 sure seeds
    dist, _ = brute_force(6, g.src, g.dst, g.weight.numpy(), pv)
    assert np.abs(exact_small_sizes(g, torch.tensor(pv)).numpy() - dist[:3]).max() < 1e-15


def test_exact_small_sizes_keep_pairs_next_to_a_near_sure_seed():
    # ((Σh)² - Σh²)/2 over h = p/(1-p) cancelled to 0 beside h ~ 4.5e15 (P(2) = 0, not 0.1),
    # and TDA's exact head then left a distribution summing to 0.9
    p = torch.tensor([1 - 2.0**-52, 0.1], dtype=torch.float64)
    g = CascadeGraph.from_edges([], nodes=[0, 1])
    assert torch.allclose(exact_small_sizes(g, p), torch.stack([(1 - p).prod(), p[0] * 0.9
                                                                + 0.1 * (1 - p[0]), p.prod()]),
                          rtol=1e-12, atol=0)
    tri = CascadeGraph.from_edges([(0, 1, 0.0), (1, 2, 0.0), (2, 0, 0.0), (3, 0, 0.0)])
    P = tda_size_distribution(tri, torch.tensor([1 - 2.0**-52, 0.1, 0.0, 0.0],
                                                dtype=torch.float64))
    assert abs(float(P.sum()) - 1) < 1e-12
    assert abs(float(P[2]) - 0.1) < 1e-12


def test_exact_head_improves_dense_one_seed_graph():
    g = CascadeGraph.from_networkx(nx.gnp_random_graph(300, 10 / 299, seed=3), default=0.1)
    p = seed_probabilities(g, seeds=[0])
    mc = monte_carlo(g, p, n_runs=10_000, seed=2)
    tv_head = total_variation(tda_size_distribution(g, p), mc.distribution)
    tv_paper = total_variation(tda_size_distribution(g, p, exact_head=False), mc.distribution)
    print(f"dense one seed: TV with exact head {tv_head:.3f}, without {tv_paper:.3f}")
    assert tv_head + 3 * mc.expected_error < tv_paper


def test_conditional_activation_on_loopy_graph_is_consistent():
    from biomodels.cascade import conditional_activation

    g = CascadeGraph.from_networkx(nx.cycle_graph(12), default=0.5)
    C = conditional_activation(g, seeds=[0]).numpy()
    ok = ~np.isnan(C[0])
    assert np.allclose(C[0, ok], 1.0)  # the seed is always active
    assert np.allclose(np.nansum(C, axis=0)[ok], np.arange(13)[ok])


def test_conditional_activation_on_loopy_graph_uses_the_folded_seeds():
    # triangle 0 -> 1 -> 2 (0.9 each) and 0 -> 2 (0.1), seed 0: TDA drops the weak link
    # 0 - 2 and folds its message (0.1) into node 2's seed probability. Given size 2 the
    # active pair is {0, 1} (0.9 * 0.1 * 0.9 = 0.081) or {0, 2} (0.1 * 0.1 = 0.01), exactly
    # as on the triangle itself; without the folded seed {0, 2} would be impossible (sizes
    # 1 and 2 now come from the exact closed forms, so this is a known answer)
    from biomodels.cascade import conditional_activation

    g = CascadeGraph.from_edges([(0, 1, 0.9), (1, 2, 0.9), (0, 2, 0.1)])
    C = conditional_activation(g, seeds=[0], method="tda").numpy()
    assert C[:, 2] == pytest.approx([1.0, 81 / 91, 10 / 91], abs=1e-12)
    assert C[:, 1] == pytest.approx([1.0, 0.0, 0.0], abs=1e-12)


def test_seed_mixture_improves_random_seed_case():
    g = CascadeGraph.from_networkx(nx.random_regular_graph(3, 200, seed=5), default=0.3)
    p = seed_probabilities(g, seed_prob=0.03)
    mc = monte_carlo(g, p, n_runs=20_000, seed=3)
    eps = 3 * mc.expected_error
    mix = tda_size_distribution(g, p, seed_mixture=True)
    tv_mix = total_variation(mix, mc.distribution)
    tv_tda = total_variation(tda_size_distribution(g, p), mc.distribution)
    print(f"3-regular p=0.03: TV seed mixture {tv_mix:.3f}, plain TDA {tv_tda:.3f}")
    assert tv_mix + 2 * eps < tv_tda
    assert abs(float(mix.sum()) - 1) < 1e-12
    with pytest.raises(ValueError, match="seed_mixture"):
        tda_size_distribution(g, seed_probabilities(g, seeds=[0]), seed_mixture=True)


def test_seed_mixture_batches_equal_single_seed_tda():
    # one possible seed v: the mixture is (1 - p_v) delta_0 + p_v * TDA(v as sure seed)
    G = nx.gnm_random_graph(30, 60, seed=4)
    rng = np.random.default_rng(4)
    g = CascadeGraph.from_edges(
        [(u, v, float(rng.uniform(0.1, 0.6))) for a, b in G.edges() for u, v in ((a, b), (b, a))],
        nodes=list(range(30)),
    )
    for v, pv in ((3, 0.2), (17, 0.05)):
        p = torch.zeros(30, dtype=torch.float64)
        p[v] = pv
        mix = tda_size_distribution(g, p, seed_mixture=True)
        one = tda_size_distribution(g, seed_probabilities(g, seeds=[v]))
        expect = pv * one
        expect[0] += 1 - pv
        assert torch.allclose(mix, expect, rtol=0, atol=1e-10)
    # several seeds: the batched pass equals the product of single-seed mixtures
    p = torch.tensor(rng.uniform(0, 0.1, 30))
    full = tda_size_distribution(g, p, seed_mixture=True, exact_head=False)
    acc = torch.ones(16, dtype=torch.complex128)
    for v in range(30):
        q = torch.zeros(30, dtype=torch.float64)
        q[v] = p[v]
        acc = acc * torch.fft.rfft(tda_size_distribution(g, q, seed_mixture=True), n=31)
    prod = torch.fft.irfft(acc, n=31).clamp_min(0)
    prod = torch.cat([full[:1], prod[1:] * (1 - full[0]) / prod[1:].sum()])
    assert torch.allclose(full, prod, rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="tail_accurate"):
        tda_size_distribution(g, p, seed_mixture=True, tail_accurate=True)


def test_bp_says_when_it_stops_before_converging():
    # a 1e5-node grid still moved by 0.008 after the 1000 updates: TDA took its marginals
    g = CascadeGraph.from_networkx(nx.DiGraph(nx.grid_2d_graph(6, 6)), default=0.4)
    p = seed_probabilities(g, seeds=[(0, 0)])
    with pytest.warns(UserWarning, match=r"did not converge in max_iterations=3 updates "
                                         r"\(largest change"):
        bp_messages(g, p, max_iterations=3)
    bp_messages(g, p)  # converges: silent (warnings are errors in the test run)
    bp_messages(g, p, iterations=3)  # a fixed count is the caller's choice: silent


def test_bp_warning_points_at_the_callers_line(monkeypatch):
    # stacklevel=2 named loopy.py (bp_marginals' or tda_tree's call), not the line of the
    # caller of tda_size_distribution or bp_marginals
    import biomodels.cascade.loopy as loopy

    monkeypatch.setattr(loopy, "_rounding_tol", lambda tol, dtype: -1.0)  # never converges
    g = CascadeGraph.from_networkx(nx.cycle_graph(4), default=0.4)
    p = seed_probabilities(g, seeds=[0])
    for call in (lambda: tda_size_distribution(g, p), lambda: bp_marginals(g, p)):
        with pytest.warns(UserWarning, match="did not converge") as record:
            call()
        assert [w.filename for w in record] == [__file__]


def test_seed_mixture_bp_says_when_it_stops_before_converging(monkeypatch):
    # the per-seed loopy BP of seed_mixture ran its 1000 updates and went on silently with
    # unsettled messages, where bp_messages (the default path) warns
    import biomodels.cascade.loopy as loopy

    monkeypatch.setattr(loopy, "_rounding_tol", lambda tol, dtype: -1.0)  # never converges
    g = CascadeGraph.from_networkx(nx.cycle_graph(4), default=0.4)
    p = seed_probabilities(g, seed_prob=0.1)
    with pytest.warns(UserWarning, match="did not converge") as record:
        tda_size_distribution(g, p, seed_mixture=True)
    assert [w.filename for w in record] == [__file__]
    tda_size_distribution(g, p, seed_mixture=True, iterations=3)  # the caller's choice: silent


def test_bp_in_float32_converges_to_rounding_without_a_warning():
    # float32 messages settle into a cycle between neighbouring floats (change 9e-8, one
    # eps) that never reaches tol=1e-10: all 1000 updates ran and then BP said it had not
    # converged (weights 0.82, 0.85, 0.87, 0.92 of this sweep)
    for w in np.linspace(0.80, 0.95, 16):
        g32 = CascadeGraph.from_networkx(nx.cycle_graph(10), default=float(w),
                                         dtype=torch.float32)
        g64 = CascadeGraph.from_networkx(nx.cycle_graph(10), default=float(w))
        m32 = bp_messages(g32, seed_probabilities(g32, seeds=[0]))  # silent
        m64 = bp_messages(g64, seed_probabilities(g64, seeds=[0]))
        assert m32.dtype == torch.float32
        assert torch.allclose(m32.double(), m64, rtol=0, atol=1e-6)


def _two_cycles() -> CascadeGraph:
    return CascadeGraph.from_edges(
        [(0, 1, 0.5), (1, 2, 0.5), (2, 0, 0.5), (2, 3, 0.4), (3, 1, 0.3)]
    )


@pytest.mark.parametrize("iterations", [-3, 0, 2.5, True])
def test_tda_refuses_a_number_of_bp_updates_that_is_not_a_positive_integer(iterations):
    # -3 ran no update without a word (and 0 updates left TDA summing to 0.75 here)
    g = _two_cycles()
    p = seed_probabilities(g, seeds=[0])
    with pytest.raises((TypeError, ValueError), match="iterations"):
        tda_size_distribution(g, p, iterations=iterations)
    with pytest.raises((TypeError, ValueError), match="iterations"):
        bp_messages(g, p, iterations=iterations)
    q = seed_probabilities(g, seed_prob=0.1)
    with pytest.raises((TypeError, ValueError), match="iterations"):
        tda_size_distribution(g, q, seed_mixture=True, iterations=iterations)


@pytest.mark.parametrize("kw", [{"max_iterations": 0}, {"max_iterations": -1},
                                {"tol": float("nan")}, {"tol": -1.0}])
def test_bp_refuses_bad_convergence_settings(kw):
    # max_iterations=-1 returned the seeds' own messages, without the non-convergence warning
    g = _two_cycles()
    with pytest.raises(ValueError, match=next(iter(kw))):
        bp_messages(g, seed_probabilities(g, seeds=[0]), **kw)


def test_seed_mixture_refuses_a_nan_prune():
    # NaN > x is False: every node but the seeds was pruned (P(3) 0.095 for 0.074)
    g = _two_cycles()
    q = seed_probabilities(g, seed_prob=0.1)
    with pytest.raises(ValueError, match="prune"):
        tda_size_distribution(g, q, seed_mixture=True, prune=float("nan"))
    P = tda_size_distribution(g, q, seed_mixture=True, prune=0.0)
    assert abs(float(P.sum()) - 1) < 1e-12


def _small_loopy_cases() -> list[tuple[str, CascadeGraph, dict]]:
    """Small graphs with cycles and their seeds, for known answers by brute force."""
    tri = CascadeGraph.from_edges([(0, 1, 0.5), (0, 2, 0.5), (1, 2, 0.4), (2, 1, 0.3)])
    tri2 = CascadeGraph.from_edges([(0, 1, 0.6), (1, 2, 0.5), (2, 0, 0.7), (1, 0, 0.3)])
    chord = CascadeGraph.from_edges([(0, 1, 0.5), (1, 2, 0.4), (2, 3, 0.6), (3, 0, 0.7),
                                     (0, 2, 0.3), (2, 0, 0.2)])
    rng = np.random.default_rng(7)
    G = nx.gnm_random_graph(6, 11, seed=7, directed=True)
    rand6 = CascadeGraph.from_edges([(u, v, float(rng.uniform(0.1, 0.9))) for u, v in G.edges()],
                                    nodes=range(6))
    # no edge can fire: the pairs beside a near-sure seed (h = p/(1-p) ~ 4.5e15) must not
    # cancel in Σh - h_v
    dead = CascadeGraph.from_edges([(0, 1, 0.0), (1, 2, 0.0), (2, 0, 0.0)])
    return [
        ("triangle, one seed", tri, {"seeds": [0]}),
        ("triangle, random seeds", tri2, {"seed_prob": [0.3, 0.2, 0.1]}),
        ("4-cycle with chord, one seed", chord, {"seeds": [0]}),
        ("4-cycle with chord, two seeds", chord, {"seeds": [1, 3]}),
        ("4-cycle with chord, random seeds", chord, {"seed_prob": [0.2, 0.1, 0.3, 0.05]}),
        ("random 6 nodes, one seed", rand6, {"seeds": [0]}),
        ("random 6 nodes, random seeds", rand6,
         {"seed_prob": [0.1, 0.25, 0.05, 0.3, 0.15, 0.2]}),
        ("near-sure seed", dead, {"seed_prob": [1 - 2.0**-52, 0.1, 0.2]}),
    ]


@pytest.mark.parametrize("dtype,atol", [(torch.float64, 1e-12), (torch.float32, 2e-6)])
@pytest.mark.parametrize("case", range(len(_small_loopy_cases())),
                         ids=[c[0] for c in _small_loopy_cases()])
def test_tda_conditional_activation_is_exact_for_sizes_up_to_two(case, dtype, atol):
    # conSDP on TDA's tree gave P(i active | size = 1, 2) off by up to 0.25 (the folded
    # pseudo-seeds fire alone), while size_distribution already had P(1), P(2) exact
    from biomodels.cascade import conditional_activation

    _, g, seeds = _small_loopy_cases()[case]
    assert not g.is_forest()
    p = seed_probabilities(g, **seeds)
    dist, joint = brute_force(g.n, g.src, g.dst, g.weight.numpy(), p.numpy())
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = joint / dist
    ref[:, dist < 1e-12] = np.nan
    C = conditional_activation(g.to(dtype=dtype), **seeds, method="tda")
    assert C.dtype == dtype and C.shape == (g.n, g.n + 1)
    got = C[:, :3].double().numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref[:, :3]))
    np.testing.assert_allclose(got, ref[:, :3], rtol=0, atol=atol)
    defined = ~np.isnan(got[0])
    np.testing.assert_allclose(got.sum(0)[defined], np.arange(3)[defined], rtol=0, atol=atol)


def test_tda_conditional_activation_judges_small_sizes_by_their_exact_probabilities():
    # exact P(0..2) = 0.504, 0.147, 0.152; TDA's tree had 0.404, 0.207, 0.207, so
    # min_prob=0.45 made size 0 NaN and 0.15 left size 1 defined
    from biomodels.cascade import conditional_activation

    g = CascadeGraph.from_edges([(0, 1, 0.6), (1, 2, 0.5), (2, 0, 0.7), (1, 0, 0.3)])
    seeds = {"seed_prob": [0.3, 0.2, 0.1]}
    C = conditional_activation(g, **seeds, method="tda", min_prob=0.45).numpy()
    assert (C[:, 0] == 0).all() and np.isnan(C[:, 1:3]).all()
    C = conditional_activation(g, **seeds, method="tda", min_prob=0.15).numpy()
    assert (C[:, 0] == 0).all() and np.isnan(C[:, 1]).all()
    assert C[:, 2].sum() == pytest.approx(2, abs=1e-12)


def test_tda_conditional_activation_on_a_tree_is_the_exact_tree_pass():
    from biomodels.cascade import conditional_activation, tree_conditional_activation

    g = CascadeGraph.from_networkx(nx.random_labeled_tree(7, seed=4), default=0.6)
    p = seed_probabilities(g, seed_prob=[0.3, 0.0, 0.1, 0.2, 0.0, 0.05, 0.1])
    dist, joint = brute_force(g.n, g.src, g.dst, g.weight.numpy(), p.numpy())
    C = conditional_activation(g, seed_prob=p, method="tda")
    torch.testing.assert_close(C, tree_conditional_activation(g, p)[1], rtol=0, atol=0,
                               equal_nan=True)
    np.testing.assert_allclose(C.numpy(), joint / dist, rtol=0, atol=1e-12)


def test_exact_small_conditionals_have_the_right_gradient():
    from biomodels.cascade.loopy import _exact_head_conditionals

    g = CascadeGraph.from_edges([(0, 1, 0.5), (1, 2, 0.4), (2, 0, 0.6), (1, 0, 0.3),
                                 (2, 3, 0.7)])
    w = g.weight.clone().requires_grad_(True)
    p = torch.tensor([0.3, 0.2, 0.1, 0.25], dtype=torch.float64, requires_grad=True)

    def f(w: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        return _exact_head_conditionals(g.with_weight(w), p, 1e-12)[0][:, 1:]

    assert torch.autograd.gradcheck(f, (w, p))


def test_tda_conditional_activation_judges_larger_sizes_by_the_reported_probabilities():
    # on K6 (w = 0.3, one seed) the exact head takes a larger share than the tree's, which
    # size_distribution rescales the larger sizes by (x 0.77): a size whose reported P(k)
    # is below min_prob was still given conditionals from the tree's larger P(k)
    g = CascadeGraph.from_networkx(nx.complete_graph(6).to_directed(), default=0.3)
    P = size_distribution(g, seeds=[0], method="tda")
    tree, p_eff = tda_tree(g, seed_probabilities(g, [0]))
    P_tree = tree_size_distribution(tree, p_eff)
    k = 6
    assert P[k] < 0.8 * P_tree[k]
    floor = float((P[k] * P_tree[k]).sqrt())  # between the two
    cond = conditional_activation(g, seeds=[0], method="tda", min_prob=floor)
    defined = ~torch.isnan(cond).all(0)
    assert defined.tolist() == (P >= floor).tolist()


def _relay_network(k: int, m: int) -> CascadeGraph:
    """A cycle 0 -> 1 -> 2 -> 3 -> 0 whose node 0 also feeds ``m`` targets through ``k``
    weak relays: with ``prune=1e-3`` each target is a component of its own (see below)."""
    edges = [(0, 1, 0.6), (1, 2, 0.5), (2, 3, 0.7), (3, 0, 0.4), (1, 3, 0.3)]
    edges += [(0, 4 + i, 5e-4) for i in range(k)]
    edges += [(4 + i, 4 + k + j, 0.9) for i in range(k) for j in range(m)]
    return CascadeGraph.from_edges(edges, nodes=list(range(4 + k + m)))


def test_seed_mixture_multiplies_many_components_in_a_product_tree(monkeypatch):
    # a seed's kept subgraph (BP marginal above prune) may fall into many components: here
    # the relays (marginal <= 5e-4) are pruned and each target (> 1e-3) stands alone. Their
    # distributions were all moved to the n + 1 roots of unity (components x n values, as
    # the tree pass before passes._tree_product); above passes._DENSE_ROOT_VALUES they
    # now go through the product tree, with the dense product's values and gradients
    import biomodels.cascade.loopy as loopy
    import biomodels.cascade.passes as passes

    g = _relay_network(20, 40)
    p0 = torch.zeros(g.n, dtype=torch.float64)
    p0[[0, 1, 2]] = torch.tensor([0.3, 0.2, 0.1], dtype=torch.float64)

    def run() -> list[torch.Tensor]:
        w = g.weight.clone().requires_grad_(True)
        q = p0.clone().requires_grad_(True)
        P = tda_size_distribution(g.with_weight(w), q, seed_mixture=True, prune=1e-3)
        (P * torch.arange(P.shape[0], dtype=P.dtype) ** 2).sum().backward()
        return [P.detach(), w.grad, q.grad]

    trees = []
    real = loopy._tree_product
    monkeypatch.setattr(loopy, "_tree_product",
                        lambda *a, **k: trees.append(np.size(a[0].roots)) or real(*a, **k))
    dense = run()
    assert trees == []  # 3 seeds x 41 components x 65 values: the dense layout
    monkeypatch.setattr(passes, "_DENSE_ROOT_VALUES", 0)
    tree = run()
    # one product tree per seed, of its components; then one per node with p = 0, whose
    # factor (1 in value) carries P's slope in its p
    assert trees[:3] == [41, 41, 41] and len(trees) == g.n
    assert abs(float(dense[0].sum()) - 1) < 1e-12
    for a, b in zip(tree, dense):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)


def test_seed_mixture_puts_mass_a_prune_cuts_off_at_the_smallest_size_it_left_out():
    # a prune that cut a seed's reach down to two nodes left its sizes >= 3 holding only FFT
    # round-off, and the exact head's leftover (0.05 here) was scaled onto that noise: at
    # sizes 6 and 8, which seed 0 (reach 5 nodes, the rest is a triangle behind a link of
    # weight 0) can never cause; it now goes to size 3, the smallest size the prune left out.
    # (The link keeps the network in one piece: apart, the chain would be a forest of its
    # own, computed exactly, and the prune would not be reached.)
    g = CascadeGraph(8, np.array([0, 1, 2, 3, 5, 6, 7, 4]), np.array([1, 2, 3, 4, 6, 7, 5, 5]),
                     torch.tensor([0.5, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3, 0.0], dtype=torch.float64))
    p = torch.zeros(8, dtype=torch.float64)
    p[0] = 0.2
    for prune in (0.3, 0.6):  # drop node 2 (marginal 0.25) / nodes 1 and 2 (0.5)
        P = tda_size_distribution(g, p, seed_mixture=True, prune=prune).numpy()
        assert np.allclose(P[:3], [0.8, 0.1, 0.05], atol=1e-14)  # the exact head
        assert abs(P[3] - 0.05) < 1e-14, P
        assert np.abs(P[4:]).max() < 1e-14, P
    # a node kept for its marginal (20 weak paths into it) but cut off from the seed when
    # those paths were pruned: 3 nodes kept, 2 reachable; judged by the kept count, the
    # leftover 0.128 went onto round-off at sizes 7 to 22
    K = 20
    edges = [(0, 1, 0.9)] + [(0, 3 + k, 0.05) for k in range(K)] + \
        [(3 + k, 2, 0.9) for k in range(K)]
    g2 = CascadeGraph.from_edges(edges, dtype=torch.float64)
    p2 = torch.full((3 + K,), 1e-6, dtype=torch.float64)
    p2[0] = 0.2
    P = tda_size_distribution(g2, p2, seed_mixture=True, prune=0.1).numpy()
    assert P[3] > 0.12 and P[6:].sum() < 1e-9, P
    # a link of weight 0 from the seed's side to the cut-off node is no path
    g3 = CascadeGraph.from_edges([*edges, (1, 2, 0.0)], dtype=torch.float64)
    P = tda_size_distribution(g3, p2, seed_mixture=True, prune=0.1).numpy()
    assert P[3] > 0.12 and P[6:].sum() < 1e-9, P
    # without a prune that bites the mixture is exact on this chain
    P = tda_size_distribution(g, p, seed_mixture=True).numpy()
    assert np.allclose(P, [0.8, 0.1, 0.05, 0.025, 0.0125, 0.0125, 0, 0, 0], atol=1e-14)


def test_a_small_float32_tail_is_kept_where_no_prune_cut_the_reach():
    # the first fix of the pruned-seed case judged "only round-off" by the tail's mass: a real
    # float32 tail of 1e-5 on 400 nodes (below 400 eps) went to size 3 whole, P(>= 4) = 0
    rng = np.random.default_rng(0)
    n = 400
    edges = [(int(rng.integers(0, i)), i, 0.6) for i in range(1, n)]
    edges += [(int(rng.integers(0, n)), int(rng.integers(0, n)), 0.3) for _ in range(40)]
    edges = list({(a, b): (a, b, w) for a, b, w in edges if a != b}.values())
    tails = {}
    for dtype in (torch.float64, torch.float32):
        g = CascadeGraph.from_edges(edges, dtype=dtype)
        p = torch.full((n,), 1e-8, dtype=dtype)
        p[0] = 1e-5
        for mix in (False, True):
            P = tda_size_distribution(g, p, seed_mixture=mix).double()
            tails[dtype, mix] = float(P[4:].sum())
    for mix in (False, True):
        assert tails[torch.float64, mix] > 9e-6
        assert tails[torch.float32, mix] > 0.5 * tails[torch.float64, mix], tails


def test_spanning_tree_breaks_a_tie_of_messages_by_the_larger_weight():
    # nothing pinned the documented tie-break (the sum of the weights): preferring the
    # lighter link passed every test. Links 1-3 and 2-3 tie at message 0.4; the heavier
    # 1-3 (0.8 against 0.5) stays. Keeping 2-3 instead gave [0, .1, .22, .4156, .2644]
    g = CascadeGraph.from_edges([(0, 1, 0.5), (0, 2, 0.8), (1, 3, 0.8), (2, 3, 0.5)])
    p = seed_probabilities(g, seeds=[0])
    tree, _ = tda_tree(g, p)
    assert list(zip(tree.src.tolist(), tree.dst.tolist())) == [(0, 1), (0, 2), (1, 3)]
    # brute force (cascade_bruteforce): [0, 0.1, 0.22, 0.32, 0.36]
    P = tda_size_distribution(g, p).numpy()
    assert np.allclose(P, [0.0, 0.1, 0.22, 0.310617, 0.369383], atol=1e-6), P


@pytest.mark.parametrize("seed_mixture", [False, True])
@pytest.mark.parametrize("exact_head", [True, False])
def test_tda_without_a_possible_seed_is_the_empty_cascade(seed_mixture, exact_head):
    # pins the seed-mixture branch for no node with p > 0: with no seed nothing activates,
    # so P(size = 0) = 1, one entry per size 0..n, on a graph with a cycle (TDA's case)
    g = CascadeGraph.from_networkx(nx.cycle_graph(5), default=0.3)
    got = tda_size_distribution(g, torch.zeros(5, dtype=torch.float64),
                                seed_mixture=seed_mixture, exact_head=exact_head)
    assert got.dtype == torch.float64
    assert got.tolist() == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]


def test_exact_small_sizes_of_one_node_and_poisson_binomial_of_nothing():
    # pins exact_small_sizes' n < 2 branch (no pair of nodes: only P(0) and P(1)) and
    # poisson_binomial's empty input: a lone node with p = 0.4 is active with p, and a sum
    # of no Bernoulli variables is 0 for sure
    g = CascadeGraph.from_networkx(nx.empty_graph(1), default=0.3)
    got = exact_small_sizes(g, torch.tensor([0.4], dtype=torch.float64))
    torch.testing.assert_close(got, torch.tensor([0.6, 0.4], dtype=torch.float64),
                               rtol=0, atol=1e-15)
    for dtype in (torch.float64, torch.float32):
        empty = poisson_binomial(torch.zeros(0, dtype=dtype))
        assert empty.tolist() == [1.0] and empty.dtype == dtype
    assert poisson_binomial(torch.zeros(0, dtype=torch.bool)).dtype == torch.float64


def _convolved(*dists: torch.Tensor) -> np.ndarray:
    out = np.array([1.0])
    for P in dists:
        out = np.convolve(out, P.detach().numpy())
    return out


def _random_components() -> list[CascadeGraph]:
    """Components with cycles (one directed), a path and a lone node; untied weights."""
    rng = np.random.default_rng(11)

    def weighted(G: nx.Graph) -> CascadeGraph:
        g = CascadeGraph.from_networkx(G, default=0.5)
        return g.with_weight(torch.tensor(rng.uniform(0.1, 0.8, g.num_edges)))

    lone = CascadeGraph(1, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64),
                        torch.zeros(0, dtype=torch.float64))
    return [weighted(nx.complete_graph(4)), weighted(nx.cycle_graph(5)),
            weighted(nx.wheel_graph(6)), weighted(nx.path_graph(3)), lone,
            weighted(nx.gnp_random_graph(12, 0.4, seed=4, directed=True))]


def test_tda_of_triangles_and_a_person_without_contacts_is_exact():
    # TDA with its exact head is exact on a triangle (P(3) is what sizes 0-2 leave), and
    # independent components' sizes add. TDA on the whole network put the network's exact
    # head in front and rescaled all larger sizes together: a triangle (w = 0.5) and a
    # person without contacts, p = 0.1, gave P(3), P(4) = 0.13589, 0.013605 for the exact
    # 0.135225, 0.014275 (the triangle's distribution convolved with Bernoulli(0.1)), and
    # 40 such triangles (p = 0.05) were 0.256 from the truth in total variation
    tri = CascadeGraph.from_networkx(nx.cycle_graph(3), default=0.5)
    g = _disjoint(tri, CascadeGraph.from_edges([], nodes=[0]))
    p = seed_probabilities(g, seed_prob=0.1)
    exact, _ = brute_force(g.n, g.src, g.dst, g.weight.numpy(), p.numpy())
    assert exact[3:] == pytest.approx([0.135225, 0.014275], abs=1e-15)
    for mix in (False, True):
        got = tda_size_distribution(g, p, seed_mixture=mix).numpy()
        np.testing.assert_allclose(got, exact, rtol=0, atol=1e-12)
    # the paper's TDA (exact P(0) only) on the triangle, convolved with the lone person
    paper = tda_size_distribution(tri, p[:3], exact_head=False)
    np.testing.assert_allclose(tda_size_distribution(g, p, exact_head=False).numpy(),
                               _convolved(paper, torch.tensor([0.9, 0.1], dtype=torch.float64)),
                               rtol=0, atol=1e-12)
    # two triangles of other weights and the person, against brute force
    tri2 = tri.with_weight(torch.tensor([0.2, 0.7, 0.4, 0.3, 0.6, 0.5], dtype=torch.float64))
    g2 = _disjoint(tri, CascadeGraph.from_edges([], nodes=[0]), tri2)
    q = seed_probabilities(g2, seed_prob=[0.1, 0.2, 0.05, 0.3, 0.15, 0.1, 0.25])
    exact2, _ = brute_force(g2.n, g2.src, g2.dst, g2.weight.numpy(), q.numpy())
    np.testing.assert_allclose(tda_size_distribution(g2, q).numpy(), exact2, rtol=0, atol=1e-12)
    # 40 households of 3
    h40 = _disjoint(*[tri] * 40)
    one, _ = brute_force(3, tri.src, tri.dst, tri.weight.numpy(), np.full(3, 0.05))
    P = size_distribution(h40, seed_prob=0.05, method="tda")
    np.testing.assert_allclose(P.numpy(), _convolved(*[torch.tensor(one)] * 40), rtol=0,
                               atol=1e-12)


@pytest.mark.parametrize("how", [{}, {"exact_head": False},
                                 {"iterations": 10, "spanning_tree": "weights"},
                                 {"tail_accurate": True}, {"seed_mixture": True}],
                         ids=["default", "paper head", "paper BP and tree", "tail", "mixture"])
def test_tda_of_disjoint_components_is_the_convolution_of_each_alone(how):
    # each component takes TDA alone (its own BP stopping, spanning tree and exact head);
    # the whole network's head and one rescaling of all larger sizes fitted one component,
    # not many: 30 households of 4 (w = 0.4, p = 0.05) gave a total variation of 0.68 to
    # Monte Carlo and a mean size of 29.4 for 15.9; now 0.07 and 14.8
    comps = _random_components()
    rng = np.random.default_rng(3)
    ps = [torch.tensor(rng.uniform(0, 0.3, c.n)) for c in comps]
    g, p = _disjoint(*comps), torch.cat(ps)
    got = tda_size_distribution(g, p, **how)
    alone = [tda_size_distribution(c, q, **how) for c, q in zip(comps, ps)]
    assert got.dtype == torch.float64 and got.shape == (g.n + 1,)
    np.testing.assert_allclose(got.numpy(), _convolved(*alone), rtol=0, atol=1e-12)
    if how.get("tail_accurate"):  # small tails keep their relative error
        np.testing.assert_allclose(got.numpy()[-5:], _convolved(*alone)[-5:], rtol=1e-10)


def test_tda_of_disjoint_components_slices_given_messages_and_keeps_sure_seeds():
    comps = _random_components()
    rng = np.random.default_rng(5)
    ps = [torch.tensor(rng.uniform(0, 0.3, c.n)) for c in comps]
    ps[1][2] = 1.0  # a sure seed: that component takes the one-by-one path
    g, p = _disjoint(*comps), torch.cat(ps)
    m = bp_messages(g, p, iterations=4)
    cuts = np.cumsum([0] + [c.num_edges for c in comps])
    alone = [tda_size_distribution(c, q, messages=m[a:b])
             for c, q, a, b in zip(comps, ps, cuts[:-1], cuts[1:])]
    np.testing.assert_allclose(tda_size_distribution(g, p, messages=m).numpy(),
                               _convolved(*alone), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match=rf"messages: expected .* shape \({g.num_edges},\)"):
        tda_size_distribution(g, p, messages=m[:-1])
    # a float32 network stays in float32
    got = tda_size_distribution(g.to(dtype=torch.float32), p.float())
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.double().numpy(), tda_size_distribution(g, p).numpy(),
                               rtol=0, atol=1e-5)


def test_tda_ignores_the_order_of_components_and_those_no_seed_can_start():
    comps = _random_components()
    rng = np.random.default_rng(8)
    ps = [torch.tensor(rng.uniform(0, 0.3, c.n)) for c in comps]
    P = tda_size_distribution(_disjoint(*comps), torch.cat(ps))
    order = [5, 2, 0, 4, 3, 1]
    Q = tda_size_distribution(_disjoint(*[comps[i] for i in order]),
                              torch.cat([ps[i] for i in order]))
    np.testing.assert_allclose(Q.numpy(), P.numpy(), rtol=0, atol=1e-15)
    # a household nobody in it can start adds a point mass at 0: the sizes stay, with zeros
    # for the sizes it adds (also when p requires grad, which keeps it in the computation)
    k5 = CascadeGraph.from_networkx(nx.complete_graph(5), default=0.4)
    g = _disjoint(*comps, k5)
    q = torch.cat([*ps, torch.zeros(5, dtype=torch.float64)])
    for grad in (False, True):
        R = tda_size_distribution(g, q.clone().requires_grad_(grad)).detach()
        np.testing.assert_allclose(R[: P.shape[0]].numpy(), P.numpy(), rtol=0, atol=1e-15)
        assert R[P.shape[0]:].abs().max() < 1e-15
    # households of equal weights tie in every link: each takes the same tree, whatever the
    # others (scipy's sort broke the ties by the whole array)
    k4 = CascadeGraph.from_networkx(nx.complete_graph(4), default=0.4)
    p4 = torch.full((4,), 0.05, dtype=torch.float64)
    lone = CascadeGraph.from_edges([], nodes=[0])
    one = tda_size_distribution(_disjoint(k4, lone),
                                torch.cat([p4, torch.zeros(1, dtype=torch.float64)]))[:5]
    for count in (2, 30):
        many = tda_size_distribution(_disjoint(*[k4] * count), p4.repeat(count))
        np.testing.assert_allclose(many.numpy(), _convolved(*[one] * count), rtol=0,
                                   atol=1e-12)


def test_tda_on_a_connected_network_takes_the_one_piece_path(monkeypatch):
    # the per-component path must leave connected networks as they were, bit for bit
    import biomodels.cascade.loopy as loopy

    def refuse(*args, **kwargs):
        raise AssertionError("a connected network went through the per-component path")

    monkeypatch.setattr(loopy, "_tda_by_component", refuse)
    monkeypatch.setattr(loopy, "_conditional_by_component", refuse)
    g = CascadeGraph.from_networkx(nx.random_regular_graph(3, 30, seed=2), default=0.3)
    for kw in ({"seeds": [0]}, {"seed_prob": 0.05}):
        size_distribution(g, **kw, method="tda")
        conditional_activation(g, **kw, method="tda")
    size_distribution(g, seed_prob=0.05, method="tda", seed_mixture=True)


def test_tda_conditional_activation_on_disjoint_components_is_exact_where_tda_is():
    # P(i active, size = k) on independent components is Σ_m P_c(i active, size_c = m)
    # P(rest = k - m), not conSDP on one tree with the whole network's head: a triangle,
    # a person without contacts and a link were up to 0.10 off the exact conditionals (TDA is
    # exact on each of them)
    g = CascadeGraph(6, np.array([0, 1, 1, 2, 2, 0, 4]), np.array([1, 0, 2, 1, 0, 2, 5]),
                     torch.tensor([0.5, 0.4, 0.6, 0.3, 0.5, 0.7, 0.6], dtype=torch.float64))
    p = seed_probabilities(g, seed_prob=[0.1, 0.2, 0.05, 0.3, 0.15, 0.1])
    dist, joint = brute_force(g.n, g.src, g.dst, g.weight.numpy(), p.numpy())
    C = conditional_activation(g, seed_prob=p, method="tda").numpy()
    np.testing.assert_allclose(C, joint / dist, rtol=0, atol=1e-12)
    np.testing.assert_allclose(C.sum(0), np.arange(g.n + 1), rtol=0, atol=1e-12)
    # sizes whose reported probability is below min_prob are undefined
    C = conditional_activation(g, seed_prob=p, method="tda", min_prob=0.05).numpy()
    np.testing.assert_array_equal(np.isnan(C).all(0), dist < 0.05)


def test_tda_fit_likelihood_takes_the_components_alone():
    # the fits' likelihood calls tda_size_distribution: it has the per-component answer too
    from biomodels.cascade import CascadeFit

    comps = _random_components()[:3]
    g = _disjoint(*comps)
    sizes = [0, 1, 1, 2, 4, 7, 3, 0, 5]
    fit = CascadeFit(g, seed_prob=0.05, share="edge", method="tda")
    alone = [tda_size_distribution(c, torch.full((c.n,), 0.05, dtype=torch.float64))
             for c in comps]
    assert fit.log_likelihood(sizes) == pytest.approx(
        float(np.log(_convolved(*alone)[sizes]).sum()), abs=1e-10)


def test_tda_tail_mode_takes_the_households_in_one_batch(monkeypatch):
    # the tail-accurate mode ran every household with a cycle through TDA alone, each with
    # its own contour radius search: 4,000 K4 households (w = 0.2, p = 0.01) took 42 s for
    # the 0.46 s of TDA on the whole network, and a fit's likelihood that met a size of
    # P < 1e-13 (it switches to this mode) 18 s for 0.22 s; now 0.26 s and 0.13 s. The
    # batch's tree pass runs in the coefficient domain: every size keeps a small relative
    # error, down to 1e-300
    import biomodels.cascade.loopy as loopy

    k4 = CascadeGraph.from_networkx(nx.complete_graph(4), default=0.2)
    p4 = torch.full((4,), 0.01, dtype=torch.float64)
    one = tda_size_distribution(k4, p4, tail_accurate=True)  # alone: the radius search
    count = 200
    truth = _convolved(*[one] * count)

    def refuse(*args, **kwargs):
        raise AssertionError("a household went through TDA alone")

    monkeypatch.setattr(loopy, "_tda_connected", refuse)
    P = tda_size_distribution(_disjoint(*[k4] * count), p4.repeat(count),
                              tail_accurate=True).numpy()
    assert P.shape == (4 * count + 1,)
    ok = truth > 1e-300
    assert ok.sum() > 400 and truth[ok].min() < 1e-295  # the tail down to float64's range
    np.testing.assert_allclose(P[ok], truth[ok], rtol=1e-9, atol=0)


def test_tda_takes_households_with_a_certain_edge_in_one_batch_under_autograd(monkeypatch):
    # a weight of exactly 1 under autograd (BP's derivative probe) sent its household
    # through TDA alone: 1,000 households with every 50th weight 1 took 1.65 s for 0.20 s.
    # The batch's BP probes each household on its own: the values and gradients of each
    # household alone, convolved
    import biomodels.cascade.loopy as loopy

    k4 = CascadeGraph.from_networkx(nx.complete_graph(4), default=0.3)
    tri = CascadeGraph.from_networkx(nx.cycle_graph(3), default=0.4)
    parts = [k4, tri, k4, tri]
    g = _disjoint(*parts)
    w0 = g.weight.clone()
    w0[[0, 13]] = 1.0
    w0[[5, 20]] = 0.0
    p0 = torch.linspace(0.02, 0.2, g.n, dtype=torch.float64)
    c = torch.arange(g.n + 1, dtype=torch.float64) ** 1.5
    for how in ({}, {"tail_accurate": True}, {"exact_head": False}):
        wa, pa = w0.clone().requires_grad_(True), p0.clone().requires_grad_(True)
        e = np.cumsum([0] + [h.num_edges for h in parts])
        v = np.cumsum([0] + [h.n for h in parts])
        alone = [tda_size_distribution(h.with_weight(wa[e[i]:e[i + 1]]), pa[v[i]:v[i + 1]],
                                       **how) for i, h in enumerate(parts)]
        Q = alone[0]
        for d in alone[1:]:
            Q = torch.nn.functional.conv1d(Q.view(1, 1, -1), d.flip(0).view(1, 1, -1),
                                           padding=d.shape[0] - 1).view(-1)
        (Q * c).sum().backward()
        with monkeypatch.context() as m:
            m.setattr(loopy, "_tda_connected", lambda *a, **k: pytest.fail("alone"))
            w, p = w0.clone().requires_grad_(True), p0.clone().requires_grad_(True)
            P = tda_size_distribution(g.with_weight(w), p, **how)
            (P * c).sum().backward()
        np.testing.assert_allclose(P.detach().numpy(), Q.detach().numpy(), rtol=1e-11,
                                   atol=1e-15)
        # the probes' random directions differ: the slopes agree to about BP's tolerance
        np.testing.assert_allclose(w.grad.numpy(), wa.grad.numpy(), rtol=0, atol=1e-8)
        np.testing.assert_allclose(p.grad.numpy(), pa.grad.numpy(), rtol=0, atol=1e-8)
