"""Input adapters and errors that name the offending edge or node."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from biomodels.cascade import CascadeGraph, seed_probabilities, size_distribution


def test_networkx_attribute_name_and_undirected_both_directions():
    G = nx.Graph()
    G.add_edge("x", "y", beta=0.3)
    g = CascadeGraph.from_networkx(G, weight="beta")
    assert g.num_edges == 2 and set(g.labels) == {"x", "y"}
    with pytest.raises(ValueError, match="no attribute 'weight'"):
        CascadeGraph.from_networkx(G)


def test_scipy_edge_list_file_and_anndata_agree(tmp_path):
    A = sp.random(8, 8, density=0.3, random_state=1, format="csr")
    A.setdiag(0)
    A.eliminate_zeros()
    g1 = CascadeGraph.from_scipy(A)
    path = tmp_path / "g.edgelist"
    nx.write_weighted_edgelist(g1.to_networkx(), path)
    g2 = CascadeGraph.read_edgelist(path)

    def triples(g):
        w = g.weight.numpy()
        return sorted(
            (str(g.labels[u]), str(g.labels[v]), w[e]) for e, (u, v) in enumerate(zip(g.src, g.dst))
        )

    assert [t[:2] for t in triples(g1)] == [t[:2] for t in triples(g2)]
    assert np.allclose([t[2] for t in triples(g1)], [t[2] for t in triples(g2)], atol=1e-15)

    anndata = pytest.importorskip("anndata")
    ad = anndata.AnnData(np.zeros((8, 2), dtype=np.float32))
    ad.obsp["connectivities"] = A
    g3 = CascadeGraph.from_anndata(ad, scale=0.5)
    assert torch.allclose(g3.weight, 0.5 * g1.weight)
    assert g3.labels == tuple(ad.obs_names)
    with pytest.raises(ValueError, match="obsp_key"):
        CascadeGraph.from_anndata(ad, obsp_key="distances")


@pytest.mark.parametrize(
    "edges,match",
    [
        ([("a", "b", 1.5)], r"edge \('a' -> 'b'\).*\[0, 1\]"),
        ([("a", "b", -0.1)], r"edge \('a' -> 'b'\)"),
        ([("a", "b", math.nan)], r"edge \('a' -> 'b'\) is NaN"),
        ([("a", "a", 0.5)], "self-loop on node 'a'"),
        ([("a", "b", 0.5), ("a", "b", 0.2)], r"duplicate edge \('a' -> 'b'\)"),
        ([("a", "b", "high")], "not a number"),
    ],
)
def test_bad_edges(edges, match):
    with pytest.raises(ValueError, match=match):
        CascadeGraph.from_edges(edges)


def test_empty_graph_unknown_seed_bad_seed_prob_and_tree_on_cycle():
    with pytest.raises(ValueError, match="empty"):
        CascadeGraph.from_edges([])
    g = CascadeGraph.from_networkx(nx.cycle_graph(4), default=0.5)
    with pytest.raises(ValueError, match="seed 'zz' is not a node"):
        size_distribution(g, seeds=["zz"])
    with pytest.raises(ValueError, match="seed_prob of node 2"):
        seed_probabilities(g, seed_prob=[0.1, 0.1, 1.2, 0.1])
    with pytest.raises(ValueError, match=r"link \(\d, \d\) closes a cycle"):
        size_distribution(g, seeds=[0], method="tree")
    with pytest.raises(ValueError, match="method"):
        size_distribution(g, seeds=[0], method="exact")
    with pytest.raises(ValueError, match="seeds, seed_prob"):
        size_distribution(g)


def test_isolated_nodes_and_seed_with_probabilities():
    g = CascadeGraph.from_edges([(0, 1, 0.5)], nodes=[0, 1, 2])
    P = size_distribution(g, seeds=[0], seed_prob=0.5).numpy()
    # node 2 isolated seed w.p. 0.5; node 1 active if seeded or activated by 0
    p1 = 1 - 0.5 * 0.5
    expect = np.array([0, (1 - p1) * 0.5, p1 * 0.5 + (1 - p1) * 0.5, p1 * 0.5])
    assert np.abs(P - expect).max() < 1e-15


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"src": [0.9], "dst": [1.6]}, "src: node indices must be whole numbers"),
    ({"n": 2.7}, "n: expected a whole number"),
    ({"weight": np.array([0.5 + 0.1j])}, "weight: expected real probabilities"),
    ({"weight": torch.tensor([0.5], dtype=torch.float16)}, "float16 is too coarse"),
])
def test_graph_constructor_refuses_what_it_would_truncate(kwargs, match):
    # before: src 0.9 -> 1.6 became the edge 0 -> 1, n 2.7 was kept, the imaginary part
    # was dropped with only a numpy warning
    args = {"n": 3, "src": [0], "dst": [1], "weight": [0.5], **kwargs}
    with pytest.raises(ValueError, match=match):
        CascadeGraph(**args)
