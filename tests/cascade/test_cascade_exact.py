"""Exact size distributions of networks whose components with a cycle are small."""

from __future__ import annotations

import json
import time

import networkx as nx
import numpy as np
import pytest
import torch
from cascade_bruteforce import brute_force
from cascade_graphs import disjoint as _disjoint
from torch.autograd import gradcheck

import biomodels.cascade as cascade
from biomodels.cascade import (
    CascadeFit,
    CascadeGraph,
    conditional_activation,
    seed_probabilities,
    size_distribution,
    tda_size_distribution,
)

#: K4, w = 0.4, seeded at node 0: exact by enumeration in rational arithmetic
_K4 = [0.0, 0.216, 0.15552, 0.228096, 0.400384]


def _bruteforce(g: CascadeGraph, p: torch.Tensor) -> np.ndarray:
    return brute_force(g.n, g.src, g.dst, g.weight.detach().numpy(), p.detach().numpy())[0]


def _bowtie() -> nx.Graph:
    return nx.Graph([(0, 1), (1, 2), (0, 2), (2, 3), (3, 4), (2, 4)])


def test_auto_on_a_household_is_exact_not_tda():
    # a household of 4 (K4, w = 0.4, one index case) was TDA under "auto":
    # P(1..4) = .216 .156 .403 .225 for the exact .216 .156 .228 .400 (TV 0.175)
    g = CascadeGraph.from_networkx(nx.complete_graph(4), default=0.4)
    P = size_distribution(g, seeds=[0])
    np.testing.assert_allclose(P.numpy(), _K4, rtol=1e-14, atol=0)
    np.testing.assert_allclose(size_distribution(g, seeds=[0], method="exact").numpy(), _K4,
                               rtol=1e-14, atol=0)
    tda = size_distribution(g, seeds=[0], method="tda")  # still there when asked for
    assert 0.5 * float((tda - P).abs().sum()) == pytest.approx(0.175, abs=1e-3)


def _directed() -> CascadeGraph:
    # asymmetric weights, a directed 3-cycle, a 2-cycle and an edge back
    return CascadeGraph.from_edges([(0, 1, 0.7), (1, 2, 0.2), (2, 0, 0.9), (1, 0, 0.35),
                                    (2, 3, 0.6), (3, 4, 0.45), (4, 2, 0.15), (4, 3, 0.8)])


@pytest.mark.parametrize("case", ["K4", "4-cycle", "bowtie", "directed", "random p",
                                  "certain edges", "weight 0"])
def test_exact_matches_brute_force_on_tiny_graphs(case):
    # TDA was 0.175 (K4), 0.075 (4-cycle) and 0.070 (bowtie) away in total variation
    rng = np.random.default_rng(7)
    graphs = {"K4": nx.complete_graph(4), "4-cycle": nx.cycle_graph(4), "bowtie": _bowtie()}
    if case in graphs:
        g = CascadeGraph.from_networkx(graphs[case], default=0.4)
        p = seed_probabilities(g, seeds=[0])
    elif case == "directed":
        g = _directed()
        p = seed_probabilities(g, seed_prob=[0.3, 0.0, 0.1, 0.0, 0.2])
    else:
        g = CascadeGraph.from_networkx(_bowtie(), default=0.5)
        w = torch.tensor(rng.uniform(0.05, 0.95, g.num_edges))
        if case == "certain edges":
            w[[0, 3, 7]] = 1.0
        if case == "weight 0":
            w[[1, 4]] = 0.0
        g = g.with_weight(w)
        p = torch.tensor(rng.uniform(0, 0.4, g.n))
        p[2] = 1.0  # a sure seed
    exact = _bruteforce(g, p)
    got = cascade.exact_size_distribution(g, p)
    assert got.dtype == torch.float64 and got.shape == (g.n + 1,)
    np.testing.assert_allclose(got.numpy(), exact, rtol=0, atol=1e-12)
    np.testing.assert_allclose(size_distribution(g, seed_prob=p, method="exact").numpy(),
                               got.numpy(), rtol=0, atol=0)


def test_exact_on_households_a_tree_and_isolated_nodes_is_their_convolution():
    # a triangle, a 4-cycle with asymmetric weights, a tree component (a single edge) and
    # an isolated node: 10 nodes, 11 edges, against brute force of the whole network
    tri = CascadeGraph.from_edges([(0, 1, 0.5), (1, 2, 0.65), (2, 0, 0.4), (1, 0, 0.3)])
    sq = CascadeGraph.from_edges([(0, 1, 0.6), (1, 2, 0.3), (2, 3, 0.8), (3, 0, 0.45),
                                  (1, 0, 0.25), (2, 1, 0.7)])
    pair = CascadeGraph.from_edges([(0, 1, 0.55)])
    lone = CascadeGraph.from_edges([], nodes=[0])
    g = _disjoint(tri, sq, pair, lone)
    p = torch.tensor([0.1, 0.3, 0.0, 0.2, 0.05, 0.0, 0.15, 0.25, 0.0, 0.4],
                     dtype=torch.float64)
    exact = _bruteforce(g, p)
    for tail in (False, True):
        got = cascade.exact_size_distribution(g, p, tail_accurate=tail)
        np.testing.assert_allclose(got.numpy(), exact, rtol=0, atol=1e-12)
    assert float(size_distribution(g, seed_prob=p)[10]) == pytest.approx(exact[10], rel=1e-10)


@pytest.mark.parametrize("case", ["K4", "bowtie", "directed", "random p",
                                  "households and a tree"])
def test_exact_conditional_activation_matches_brute_force(case):
    # conditional_activation took TDA's downward pass on households, where the sizes were
    # exact: on the bowtie (w 0.4, seed 0) P(node 1 active | size 3) = 0.43 and P(node 2
    # active | size 3) = 0.897 for the exact 0.753 and 1 (node 2 joins the triangle to the
    # rest: a cascade of 3 that reaches node 3 or 4 went through it)
    rng = np.random.default_rng(3)
    if case in ("K4", "bowtie"):
        g = CascadeGraph.from_networkx(nx.complete_graph(4) if case == "K4" else _bowtie(),
                                       default=0.4)
        p = seed_probabilities(g, seeds=[0])
    elif case == "directed":
        g = _directed()
        p = seed_probabilities(g, seed_prob=[0.3, 0.0, 0.1, 0.0, 0.2])
    elif case == "random p":
        g = CascadeGraph.from_networkx(_bowtie(), default=0.5)
        g = g.with_weight(torch.tensor(rng.uniform(0.05, 0.95, g.num_edges)))
        p = torch.tensor(rng.uniform(0, 0.4, g.n))
        p[2] = 1.0  # a sure seed
    else:  # a triangle, a 2-cycle, a tree component and an isolated node: 9 nodes
        tri = CascadeGraph.from_edges([(0, 1, 0.5), (1, 2, 0.65), (2, 0, 0.4), (1, 0, 0.3)])
        two = CascadeGraph.from_edges([(0, 1, 0.6), (1, 0, 0.25)])
        tree = CascadeGraph.from_edges([(0, 1, 0.55), (1, 2, 0.35)])
        g = _disjoint(tri, two, tree, CascadeGraph.from_edges([], nodes=[0]))
        p = torch.tensor([0.1, 0.3, 0.0, 0.2, 0.05, 0.15, 0.0, 0.25, 0.4],
                         dtype=torch.float64)
    dist, joint = brute_force(g.n, g.src, g.dst, g.weight.numpy(), p.numpy())
    want = np.where(dist >= 1e-12, joint / np.where(dist > 0, dist, 1), np.nan)
    for method in ("exact", "auto"):
        got = conditional_activation(g, seed_prob=p, method=method)
        assert got.dtype == torch.float64 and got.shape == (g.n, g.n + 1)
        np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-12)
    tda = conditional_activation(g, seed_prob=p, method="tda").numpy()
    ok = ~np.isnan(want)
    if case in ("bowtie", "directed", "random p"):  # TDA's differ beyond size 2 (K4: symmetry)
        assert np.abs(tda[ok] - want[ok]).max() > 0.03
    # float32 weights: the same, to float32's precision, in float32 (a forest block summed
    # in float32 was 2.8e-6 off on the households, 1.5e-5 on torch 2.2; in float64 6e-8)
    got32 = conditional_activation(g.to(dtype=torch.float32), seed_prob=p.float(),
                                   method="exact")
    assert got32.dtype == torch.float32
    ok32 = ok & (dist >= 1.2e-4)
    np.testing.assert_allclose(got32.numpy()[ok32], want[ok32], rtol=0, atol=5e-7)


def test_exact_tiny_probabilities_keep_their_relative_error():
    # R(A) = 1 - Σ R(B) cut(B, A \ B) cancels where R(A) is tiny: K5 seeded at node 0,
    # w = 1e-4, lost 1.4e-2 of P(size = 5) = 1.25e-14 (1.2e-10 of 1.2e-6 at w = 0.01);
    # reference: brute force over the 2^20 live-edge sets, positive terms only
    g = CascadeGraph.from_networkx(nx.complete_graph(5), default=1e-4)
    P = cascade.exact_size_distribution(g, seed_probabilities(g, seeds=[0]))
    ref = [9.99600060e-01, 3.99760060e-04, 1.79880034e-07, 6.39612101e-11, 1.24947210e-14]
    np.testing.assert_allclose(P[1:].numpy(), ref, rtol=1e-8)
    # three such households: the convolved tail, 2e-42, in the tail-accurate mode
    h3 = _disjoint(g, g, g)
    p3 = seed_probabilities(h3, seeds=[0, 5, 10])
    Q = size_distribution(h3, seed_prob=p3.numpy(), method="exact", tail_accurate=True)
    assert float(Q[15]) == pytest.approx(float(P[5]) ** 3, rel=1e-12)


def test_exact_gradients_match_finite_differences_and_the_multilinear_slopes():
    # a household with a tail (a tree hanging off it is still one component with a cycle),
    # a 4-cycle with a chord, and a tree component: gradcheck in float64
    g = CascadeGraph.from_edges([(0, 1, 0.5), (1, 2, 0.4), (2, 0, 0.6), (1, 0, 0.3),
                                 (2, 3, 0.7), (4, 5, 0.45), (5, 6, 0.35), (6, 7, 0.55),
                                 (7, 4, 0.25), (5, 4, 0.3), (4, 6, 0.5), (8, 9, 0.4)])
    w0 = g.weight.clone().requires_grad_(True)
    p0 = torch.linspace(0.05, 0.3, g.n, dtype=torch.float64).requires_grad_(True)
    assert gradcheck(lambda w, p: cascade.exact_size_distribution(g.with_weight(w), p),
                     (w0, p0), eps=1e-6, atol=1e-8)
    # P is linear in each weight and seed probability, so its slope in one of them is
    # P(at 1) - P(at 0), also where it sits at 0 or 1 (a certain edge, a sure seed, an
    # unseeded household)
    k4 = CascadeGraph.from_networkx(nx.complete_graph(4), default=0.4)
    w = k4.weight.clone()
    w[0], w[5] = 1.0, 0.0
    def f(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return cascade.exact_size_distribution(k4.with_weight(a), b)

    for p in (torch.tensor([1.0, 0.2, 0.0, 0.1], dtype=torch.float64),
              torch.zeros(4, dtype=torch.float64)):
        dw, dp = torch.autograd.functional.jacobian(f, (w, p))
        for i in (0, 5, 2):  # w = 1, w = 0, w = 0.4
            hi, lo = w.clone(), w.clone()
            hi[i], lo[i] = 1.0, 0.0
            np.testing.assert_allclose(dw[:, i].numpy(), (f(hi, p) - f(lo, p)).numpy(),
                                       rtol=0, atol=1e-14)
        for i in (0, 2, 1):  # p = 1 (0 where all are 0), p = 0, p = 0.2
            hi, lo = p.clone(), p.clone()
            hi[i], lo[i] = 1.0, 0.0
            np.testing.assert_allclose(dp[:, i].numpy(), (f(w, hi) - f(w, lo)).numpy(),
                                       rtol=0, atol=1e-14)


def test_exact_keeps_float32_and_the_device_of_the_weights():
    g = _disjoint(CascadeGraph.from_networkx(nx.complete_graph(4), default=0.4),
                  CascadeGraph.from_networkx(_bowtie(), default=0.3))
    p = torch.full((g.n,), 0.1, dtype=torch.float64)
    P64 = cascade.exact_size_distribution(g, p)
    w32 = g.weight.float().requires_grad_(True)
    P32 = cascade.exact_size_distribution(g.with_weight(w32), p.float())
    assert P32.dtype == torch.float32 and P32.device == w32.device
    np.testing.assert_allclose(P32.detach().double().numpy(), P64.numpy(), rtol=0, atol=1e-6)
    P32[4].backward()
    assert w32.grad.dtype == torch.float32 and bool(torch.isfinite(w32.grad).all())


def test_thousand_households_of_five_are_fast_and_the_power_of_one():
    h = nx.cycle_graph(5)
    h.add_edges_from([(0, 2), (1, 3)])  # a household of 5 with 7 of its 10 contacts
    one = CascadeGraph.from_networkx(h, default=0.35)
    g = CascadeGraph.from_networkx(nx.disjoint_union_all([h] * 1000), default=0.35)
    p = seed_probabilities(g, seed_prob=0.02)
    start = time.perf_counter()
    P = size_distribution(g, seed_prob=0.02)  # auto: exact
    took = time.perf_counter() - start
    assert took < 2.0  # 0.013 s measured (one thread), TDA 0.03 s
    single = torch.tensor(_bruteforce(one, p[:5]))
    # the mean size of 1,000 independent households is 1,000 times one's
    mean = float((torch.arange(g.n + 1, dtype=torch.float64) * P).sum())
    assert mean == pytest.approx(1000 * float((torch.arange(6) * single).sum()), rel=1e-10)
    assert float(P.sum()) == pytest.approx(1.0, abs=1e-12)
    # against the distribution of one household taken to the 1,000th power
    ref = np.array([1.0])
    for _ in range(1000):
        ref = np.convolve(ref, single.numpy())
    np.testing.assert_allclose(P.numpy(), ref, rtol=0, atol=1e-12)


def test_auto_takes_tda_beyond_small_components_and_exact_refuses_them_by_name():
    # a ring of 13 is larger than the default max_nodes (12): auto takes TDA there
    ring = CascadeGraph.from_networkx(nx.cycle_graph(13), default=0.4)
    np.testing.assert_array_equal(size_distribution(ring, seeds=[0]).numpy(),
                                  size_distribution(ring, seeds=[0], method="tda").numpy())
    with pytest.raises(ValueError, match=r"component with a cycle has 13 nodes, more than "
                       r"the 12 that method='exact' enumerates .*method='tda'.*method='mc'"):
        size_distribution(ring, seeds=[0], method="exact")
    p = seed_probabilities(ring, seeds=[0])
    P = cascade.exact_size_distribution(ring, p, max_nodes=13)
    np.testing.assert_allclose(P.numpy()[:3], [0, 0.36, 2 * 0.4 * 0.6**2], rtol=1e-14)
    for bad, err in ((15, ValueError), (0, ValueError), (2.0, TypeError)):
        with pytest.raises(err, match="max_nodes"):
            cascade.exact_size_distribution(ring, p, max_nodes=bad)
    # forests stay "tree"; conditional_activation's "exact" refuses the ring by name too
    path = CascadeGraph.from_networkx(nx.path_graph(4), default=0.4)
    np.testing.assert_array_equal(
        size_distribution(path, seeds=[0]).numpy(),
        cascade.exact_size_distribution(path, seed_probabilities(path, seeds=[0])).numpy())
    with pytest.raises(ValueError, match=r"^method='exact': a weakly connected component with "
                       r"a cycle has 13 nodes, more than the 12 that method='exact' enumerates "
                       r"\(the work grows like 3\^nodes\); use method='tda' \(an "
                       r"approximation\)$"):
        conditional_activation(ring, seeds=[0], method="exact")
    with pytest.raises(ValueError, match="expected 'auto', 'tree', 'tda' or 'exact' for "
                       "conditional activation, got 'mc'"):
        conditional_activation(ring, seeds=[0], method="mc")
    k4 = CascadeGraph.from_networkx(nx.complete_graph(4), default=0.4)
    assert cascade.exact._auto_exact(k4) is True
    assert cascade.exact._auto_exact(ring) is False and cascade.exact._auto_exact(path) is False


def test_fit_on_households_uses_the_exact_likelihood_and_saves_it(tmp_path):
    # a fit's "auto" follows size_distribution's: households take the exact likelihood
    k4 = CascadeGraph.from_networkx(nx.complete_graph(4), default=0.4)
    g = _disjoint(*[k4] * 3)
    sizes = [2, 3, 5, 8, 4, 2, 6, 7]  # two sure seeds, 8 people they can reach
    fit = CascadeFit(g, seeds=[0, 4], share="all", init=0.4)
    assert fit._lik.method == "exact" and "method 'exact' (auto)" in repr(fit)
    P = size_distribution(g, seeds=[0, 4])
    assert fit.log_likelihood(sizes) == pytest.approx(
        float(torch.log(P[sizes]).sum()), rel=1e-12)
    fit.fit(sizes, epochs=3)
    exact = CascadeFit(g, seeds=[0, 4], share="all", method="exact", init=0.3)
    assert exact.save(tmp_path / "exact.json")
    back = CascadeFit.load(tmp_path / "exact.json", g)
    assert back.method == "exact" and back._lik.method == "exact"
    # fits saved with the earlier methods still load (a saved "auto" is exact now)
    for method, lik in (("auto", "exact"), ("tda", "tda"), ("tree", None)):
        state = json.loads((tmp_path / "exact.json").read_text())
        state["method"] = method
        (tmp_path / "old.json").write_text(json.dumps(state))
        if lik is None:  # a tree fit on a network with cycles: refused as before
            with pytest.raises(ValueError, match="cycle"):
                CascadeFit.load(tmp_path / "old.json", g)
            continue
        assert CascadeFit.load(tmp_path / "old.json", g)._lik.method == lik
    state["method"] = "loopy"
    (tmp_path / "bad.json").write_text(json.dumps(state))
    with pytest.raises(ValueError, match=r"'tree', 'tda'\] or 'exact'"):
        CascadeFit.load(tmp_path / "bad.json", g)
    with pytest.raises(ValueError, match="method: expected 'auto', 'tree', 'tda' or 'exact'"):
        CascadeFit(g, seeds=[0], method="loopy")
    ring = CascadeGraph.from_networkx(nx.cycle_graph(13), default=0.4)
    with pytest.raises(ValueError, match="has 13 nodes, more than the 12 that method='exact'"):
        CascadeFit(ring, seeds=[0], method="exact")
    assert CascadeFit(ring, seeds=[0])._lik.method == "tda"


def test_exact_drops_components_no_seed_can_start_unless_p_needs_their_slopes():
    k4 = CascadeGraph.from_networkx(nx.complete_graph(4), default=0.4)
    g = _disjoint(k4, k4)
    p = torch.tensor([1.0, 0, 0, 0, 0, 0, 0, 0], dtype=torch.float64)
    ref = np.zeros(9)
    ref[:5] = _K4
    np.testing.assert_allclose(cascade.exact_size_distribution(g, p).numpy(), ref, rtol=1e-14,
                               atol=0)
    q = p.clone().requires_grad_(True)
    P = cascade.exact_size_distribution(g, q)
    np.testing.assert_allclose(P.detach().numpy(), ref, rtol=1e-14, atol=0)
    P[5].backward()  # size 5: sizes j >= 1 of the other household, seeded at one node
    slope = sum(_K4[5 - j] * _K4[j] for j in range(1, 5))
    np.testing.assert_allclose(q.grad[4:].numpy(), [slope] * 4, rtol=1e-14)
    # TDA agrees where it is exact (P(1), P(2))
    T = tda_size_distribution(g, p)
    np.testing.assert_allclose(T[:3].numpy(), ref[:3], rtol=1e-14)


def _households(count: int, size: int, w: float) -> CascadeGraph:
    """``count`` disjoint complete households of ``size`` (both directions, weight ``w``)."""
    u, v = np.nonzero(~np.eye(size, dtype=bool))
    at = (np.arange(count) * size)[:, None]
    return CascadeGraph(count * size, (at + u).ravel(), (at + v).ravel(),
                        torch.full((count * u.size,), w, dtype=torch.float64))


def test_auto_stays_exact_on_many_small_households():
    # auto dropped households to TDA once all of them together held more than 5e6 terms 3^m:
    # 20,577 households of 5 (w 0.3, seed_prob 0.01) had 0.13026 cases per household by
    # TDA in 1.29 s where the exact 0.15286 takes 0.5 s (Monte Carlo 0.1523 +- 0.0012)
    count = 20_577
    g = _households(count, 5, 0.3)
    P = size_distribution(g, seed_prob=0.01)
    sizes = torch.arange(g.n + 1, dtype=torch.float64)
    one = cascade.exact_size_distribution(_households(1, 5, 0.3),
                                          torch.full((5,), 0.01, dtype=torch.float64))
    per_household = float((torch.arange(6, dtype=torch.float64) * one).sum())
    assert per_household == pytest.approx(0.15286, abs=5e-6)
    assert float((sizes * P).sum()) / count == pytest.approx(per_household, rel=1e-9)
    np.testing.assert_array_equal(P.numpy(), size_distribution(g, seed_prob=0.01,
                                                               method="exact").numpy())
    # ten households of 12 (10 * 3^12 = 5.3e6 terms) are enumerated too
    many = CascadeGraph.from_networkx(
        nx.disjoint_union_all([nx.complete_graph(12)] * 10), default=0.1)
    assert cascade.exact._auto_exact(many) is True


def test_exact_builds_the_tables_of_a_large_component_once_per_call(monkeypatch):
    # above 12 nodes the tables were built once to size the batches and again for every
    # batch (one component of 13 each): 10 rings of 13 took 2.67 s, 0.54 s built once
    built = []
    build = cascade.exact._build_enumeration
    monkeypatch.setattr(cascade.exact, "_build_enumeration",
                        lambda m: built.append(m) or build(m))
    ring = CascadeGraph.from_networkx(nx.cycle_graph(13), default=0.4)
    g = _disjoint(ring, ring, ring)
    P = cascade.exact_size_distribution(g, seed_probabilities(g, seeds=[0, 13, 26]),
                                        max_nodes=13)
    assert built == [13]
    # each ring seeded at one node stops at its seed with probability 0.6^2
    assert float(P[3]) == pytest.approx(0.36**3, rel=1e-13)
    assert float(P.sum()) == pytest.approx(1.0, abs=1e-12)


def test_exact_refusals_name_only_the_options_of_their_caller():
    # size_distribution's refusal named max_nodes=12 (it has no max_nodes) and CascadeFit's
    # also method='mc' (it has none); method='tree' on a household said "use method='tda'
    # or 'mc'", not the exact method that takes it
    ring = CascadeGraph.from_networkx(nx.cycle_graph(13), default=0.4)
    with pytest.raises(ValueError) as exc:
        size_distribution(ring, seeds=[0], method="exact")
    msg = str(exc.value)
    assert "has 13 nodes, more than the 12 that method='exact' enumerates" in msg
    assert "exact_size_distribution(graph, p, max_nodes=13 or 14)" in msg
    assert "method='tda'" in msg and "method='mc'" in msg and "max_nodes=12" not in msg
    big = CascadeGraph.from_networkx(nx.cycle_graph(15), default=0.4)
    with pytest.raises(ValueError) as exc:
        size_distribution(big, seeds=[0], method="exact")
    assert "has 15 nodes" in str(exc.value) and "max_nodes" not in str(exc.value)
    with pytest.raises(ValueError) as exc:
        CascadeFit(ring, seeds=[0], method="exact")
    msg = str(exc.value)
    assert "has 13 nodes, more than the 12 that method='exact' enumerates" in msg
    assert "method='tda'" in msg and "'mc'" not in msg and "max_nodes" not in msg
    # the function itself names its own argument
    with pytest.raises(ValueError, match=r"^graph: .* has 13 nodes, more than max_nodes=12 "
                       r"\(.*max_nodes takes up to 14\)"):
        cascade.exact_size_distribution(ring, seed_probabilities(ring, seeds=[0]))
    k4 = CascadeGraph.from_networkx(nx.complete_graph(4), default=0.4)
    with pytest.raises(ValueError, match=r"closes a cycle; use method='exact' .*'tda'.*'mc'"):
        size_distribution(k4, seeds=[0], method="tree")
    with pytest.raises(ValueError) as exc:
        size_distribution(big, seeds=[0], method="tree")
    assert "use method='tda'" in str(exc.value) and "has 15 nodes" in str(exc.value)
    with pytest.raises(ValueError) as exc:
        CascadeFit(k4, seeds=[0], method="tree")
    assert "use method='exact'" in str(exc.value) and "'mc'" not in str(exc.value)
    with pytest.raises(ValueError) as exc:
        conditional_activation(k4, seeds=[0], method="tree")
    msg = str(exc.value)
    assert "closes a cycle; use method='exact' (exact here" in msg and "'mc'" not in msg
    with pytest.raises(ValueError) as exc:
        conditional_activation(big, seeds=[0], method="tree")
    assert "use method='tda'" in str(exc.value) and "has 15 nodes" in str(exc.value)
