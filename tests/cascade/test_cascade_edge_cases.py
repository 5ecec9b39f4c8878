"""Boundary inputs of the public cascade API: exact answers or errors naming the argument."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch

from biomodels.cascade import CascadeFit, CascadeGraph, fit_bayesian


@pytest.mark.parametrize(("k", "prior"), [(20, (1.0, 1.0)), (500, (1.0, 1.0)), (5, (3.0, 1.0)),
                                          (2000, (1.0, 50.0))])
def test_grid_posterior_piled_up_at_one_is_exact(k, prior):
    # one edge a -> b seeded at a, every cascade of size 2: the posterior is
    # Beta(a + k, b), densest at w = 1; the grid must not drop the mass next to the bound.
    # Beta(1, 50) leaves ~1e-81 of prior mass where the posterior lives (w ~ 0.976): a
    # difference of two lower-tail CDFs there is 1 - 1 = 0, so the mass must come from the
    # upper tail
    from scipy import stats

    g = CascadeGraph.from_networkx(nx.DiGraph([("a", "b", {"weight": 0.3})]))
    post = fit_bayesian(g, [2] * k, seeds=["a"], prior=prior, num_samples=20_000)
    beta = stats.beta(prior[0] + k, prior[1])
    sd = beta.std()
    assert float(post["mean"][0]) == pytest.approx(beta.mean(), abs=0.01 * sd)
    assert float(post["std"][0]) == pytest.approx(sd, rel=0.02)
    assert float(post["q05"][0]) == pytest.approx(beta.ppf(0.05), abs=0.02 * sd)
    assert float(post["q95"][0]) == pytest.approx(beta.ppf(0.95), abs=0.02 * sd)
    assert float(post["samples"].max()) > beta.ppf(0.999)


def test_grid_posterior_of_an_uninformative_sample_is_the_prior():
    # edge b -> a seeded at a: every cascade has size 1 whatever w, so the posterior is the
    # uniform prior, with its mass up to both bounds
    g = CascadeGraph.from_networkx(nx.DiGraph([("b", "a", {"weight": 0.3})]))
    post = fit_bayesian(g, [1, 1, 1], seeds=["a"])
    assert float(post["mean"][0]) == pytest.approx(0.5, abs=1e-6)
    assert float(post["std"][0]) == pytest.approx(12 ** -0.5, rel=1e-3)
    assert float(post["q05"][0]) == pytest.approx(0.05, abs=1e-3)
    assert float(post["q95"][0]) == pytest.approx(0.95, abs=1e-3)


@pytest.mark.parametrize(("sizes", "prior"), [([2] * 5, (1.0, 0.5)), ([2] * 40, (0.5, 0.5)),
                                               ([1] * 5, (0.5, 0.5)), ([1] * 30, (0.3, 2.0))])
def test_grid_posterior_with_a_singular_prior_end_is_exact(sizes, prior):
    # a Beta prior below 1 at the bound the posterior piles up against (Jeffreys' (0.5, 0.5)
    # among them): the density is infinite there; the end interval was dropped (mean 0.906
    # for the exact 0.923 of Beta(6, 0.5))
    from scipy import stats

    g = CascadeGraph.from_networkx(nx.DiGraph([("a", "b", {"weight": 0.3})]))
    post = fit_bayesian(g, sizes, seeds=["a"], prior=prior, num_samples=20_000)
    k = sum(s == 2 for s in sizes)
    beta = stats.beta(prior[0] + k, prior[1] + len(sizes) - k)
    sd = beta.std()
    assert float(post["mean"][0]) == pytest.approx(beta.mean(), abs=0.01 * sd)
    assert float(post["std"][0]) == pytest.approx(sd, rel=0.02)
    assert float(post["q05"][0]) == pytest.approx(beta.ppf(0.05), abs=0.03 * sd)
    assert float(post["q95"][0]) == pytest.approx(beta.ppf(0.95), abs=0.03 * sd)


def test_bayesian_fit_of_a_graph_without_edges_names_the_problem():
    g = CascadeGraph.from_edges([], nodes=["a", "b"])
    with pytest.raises(ValueError, match="no edges"):
        fit_bayesian(g, [1], seed_prob=0.5)


@pytest.mark.parametrize("sizes", [["1", "2"], np.array([True, True])])
def test_sizes_of_the_wrong_kind_are_refused(sizes):
    g = CascadeGraph.from_edges([("a", "b", 0.3)])
    with pytest.raises(ValueError, match="sizes: expected integer"):
        CascadeFit(g, seeds=["a"]).log_likelihood(sizes)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool])
def test_integer_weight_dtype_is_refused_not_truncated(dtype):
    # torch.tensor([0.5], dtype=int64) is 0: the graph would silently lose every edge
    with pytest.raises(ValueError, match="dtype"):
        CascadeGraph.from_edges([("a", "b", 0.5)], dtype=dtype)
    with pytest.raises(ValueError, match="dtype"):
        CascadeGraph.from_scipy(np.array([[0.0, 0.5], [0.0, 0.0]]), dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool])
def test_graph_to_an_integer_dtype_is_refused_not_truncated(dtype):
    # g.to(dtype=torch.int64) truncated 0.5 to 0 and returned a float64 graph without
    # edges: size_distribution(seeds=["a"]) was [0, 1, 0] for the exact [0, 0.5, 0.5]
    g = CascadeGraph.from_edges([("a", "b", 0.5)])
    with pytest.raises(ValueError, match="dtype"):
        g.to(dtype=dtype)
    assert g.to(dtype=torch.float32).weight.dtype == torch.float32


@pytest.mark.parametrize("n", [float("inf"), float("nan"), None])
def test_node_count_that_is_no_number_names_n(n):
    with pytest.raises(ValueError, match="n: expected a whole number"):
        CascadeGraph(n, [0], [1], [0.5])
