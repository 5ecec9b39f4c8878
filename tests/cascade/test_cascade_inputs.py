"""Input adapters and errors that name the offending edge or node."""

from __future__ import annotations

import math
import pickle
import warnings

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from biomodels.cascade import (
    CascadeFit,
    CascadeGraph,
    bp_marginals,
    celf,
    conditional_activation,
    exact_small_sizes,
    expected_tv_error,
    fit_bayesian,
    monte_carlo,
    poisson_binomial,
    seed_probabilities,
    size_distribution,
    tda_size_distribution,
    tree_conditional_activation,
    tree_plan,
    tree_size_distribution,
)
from biomodels.cascade.loopy import bp_messages


def test_networkx_attribute_name_and_undirected_both_directions():
    G = nx.Graph()
    G.add_edge("x", "y", beta=0.3)
    g = CascadeGraph.from_networkx(G, weight="beta")
    assert g.num_edges == 2 and set(g.labels) == {"x", "y"}
    with pytest.raises(ValueError, match="no attribute 'weight'"):
        CascadeGraph.from_networkx(G)


def test_scipy_edge_list_file_and_anndata_agree(tmp_path):
    # lil, then csr: setdiag on a csr matrix warns (SparseEfficiencyWarning) on scipy < 1.13
    A = sp.random(8, 8, density=0.3, random_state=1, format="lil")
    A.setdiag(0)
    A = A.tocsr()
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
    # sc.pp.neighbors' distances are no probabilities: read as weights without a word before
    ad.obsp["distances"] = A
    with pytest.warns(UserWarning, match="'distances' holds sc.pp.neighbors' distances.*"
                                         "use obsp_key='connectivities'"):
        CascadeGraph.from_anndata(ad, obsp_key="distances")
    ad.obsp["knn_d"] = A
    ad.uns["knn"] = {"distances_key": "knn_d", "connectivities_key": "knn_c"}  # key_added
    with pytest.warns(UserWarning, match="use obsp_key='knn_c'"):
        CascadeGraph.from_anndata(ad, obsp_key="knn_d")
    ad.obsp["contact_distances"] = A  # a name alone says nothing: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CascadeGraph.from_anndata(ad, obsp_key="contact_distances")
    # device= like the other constructors (the README promises the device is followed)
    for g in (CascadeGraph.read_edgelist(path, dtype=torch.float32, device="cpu"),
              CascadeGraph.from_anndata(ad, dtype=torch.float32, device="cpu")):
        assert g.weight.device.type == "cpu" and g.weight.dtype == torch.float32


@pytest.mark.parametrize("make", [sp.coo_array, sp.coo_matrix, "csr_unsummed"])
def test_scipy_duplicate_entries_are_refused_with_the_rule_to_combine_them(make):
    # duplicate entries were summed, as scipy reads them: two contacts of 0.3 and 0.4
    # between the same pair gave the weight 0.7 where independent contacts give
    # 1 - (0.7)(0.6) = 0.58, and 0.6 + 0.6 failed with "weight ... is 1.2" not saying why.
    # Edge lists and multigraphs refuse them with the rule to merge them; so does from_scipy
    data, row, col = [0.3, 0.4, 0.4, 0.0], [0, 0, 1, 2], [1, 1, 2, 0]
    if make == "csr_unsummed":
        A = sp.csr_array((np.array(data), np.array([1, 1, 2, 0]), np.array([0, 2, 3, 4])),
                         shape=(3, 3))
    else:
        A = make((data, (row, col)), shape=(3, 3))
    before = A.copy()
    with pytest.raises(ValueError, match=r"matrix: the pair \(0 -> 1\) is stored 2 times "
                       r"\(0\.3, 0\.4\).*independent contacts combine as 1 - \(1 - p1\)"
                       r"\(1 - p2\)\.\.\. \(here 0\.58\)"):
        CascadeGraph.from_scipy(A)
    assert (A != before).nnz == 0 and A.nnz == before.nnz  # the caller's matrix untouched
    with pytest.raises(ValueError, match=r"the pair \('a' -> 'b'\) is stored 2 times"):
        CascadeGraph.from_scipy(A, labels=["a", "b", "c"])
    # combined as the message says: one entry per pair, read as given
    B = sp.coo_array(([0.58, 0.4], ([0, 1], [1, 2])), shape=(3, 3))
    g = CascadeGraph.from_scipy(B)
    assert list(zip(g.src.tolist(), g.dst.tolist())) == [(0, 1), (1, 2)]
    assert g.weight.tolist() == [0.58, 0.4]
    # a zero or diagonal entry beside an edge is no second contact (both are dropped)
    C = sp.coo_array(([0.3, 0.0, 0.2, 0.5], ([0, 0, 1, 1], [1, 1, 1, 1])), shape=(2, 2))
    assert CascadeGraph.from_scipy(C).weight.tolist() == [0.3]


def _contacts_table() -> pd.DataFrame:
    # P001 -> P002 -> P003 and P004 -> P005: from P001, sizes 1, 2, 3 w.p. 0.5, 0.3, 0.2
    return pd.DataFrame({"source": ["P001", "P002", "P004"], "target": ["P002", "P003", "P005"],
                         "p_transmit": [0.5, 0.4, 0.7]})


def test_a_long_form_edge_table_is_read_by_from_pandas_edgelist():
    # a table with one row per edge had no constructor: size_distribution(df) pointed to
    # from_scipy, from_scipy(df) said "a DataFrame needs the same node labels as index
    # (sources) and columns (targets)" and from_edges(df) "expected (u, v, p) triples, got
    # 'source'", none saying how to read it
    df = _contacts_table()
    call = (r"CascadeGraph\.from_pandas_edgelist\(df, source='source', target='target', "
            r"weight='p_transmit'\)")
    with pytest.raises(TypeError, match=r"graph: expected a CascadeGraph, got a pandas "
                       r"DataFrame that looks like a long-form edge list.*" + call):
        size_distribution(df, seeds=["P001"])
    with pytest.raises(ValueError, match="matrix: .*long-form edge list.*" + call):
        CascadeGraph.from_scipy(df)
    with pytest.raises(TypeError, match="edges: .*DataFrame.*" + call):
        CascadeGraph.from_edges(df)
    g = CascadeGraph.from_pandas_edgelist(df, weight="p_transmit")
    h = CascadeGraph.from_edges(zip(df["source"], df["target"], df["p_transmit"]))
    assert g.labels == h.labels == ("P001", "P002", "P003", "P004", "P005")
    assert g.src.tolist() == h.src.tolist() and g.dst.tolist() == h.dst.tolist()
    assert torch.equal(g.weight, h.weight) and g.edge_type is None
    assert size_distribution(g, seeds=["P001"]).tolist() == pytest.approx(
        [0, 0.5, 0.3, 0.2, 0, 0], abs=1e-15)
    # networkx's names: source=, target=; nodes= adds people without contacts
    alt = df.rename(columns={"source": "from", "target": "to", "p_transmit": "weight"})
    g2 = CascadeGraph.from_pandas_edgelist(alt, "from", "to",
                                           nodes=["P009", "P001", "P002", "P003", "P004",
                                                  "P005"])
    assert g2.labels[0] == "P009" and g2.n == 6
    # a square adjacency DataFrame still points to from_scipy
    square = pd.DataFrame([[0, 0.5], [0, 0]], index=["a", "b"], columns=["a", "b"])
    with pytest.raises(TypeError, match=r"got a pandas DataFrame; convert it with "
                                        r"CascadeGraph\.from_scipy\("):
        size_distribution(square, seeds=["a"])


@pytest.mark.parametrize(("edit", "error", "match"), [
    (lambda d: d.drop(columns="p_transmit"), ValueError,
     r"weight: df has no column 'weight' \(columns \['source', 'target'\]\)"),
    (lambda d: d.rename(columns={"source": "src"}), ValueError,
     r"source: df has no column 'source'.*pass source="),
    (lambda d: d.assign(p_transmit=[0.5, math.nan, 0.7]), ValueError,
     r"df row 1: edge \('P002' -> 'P003'\) has weight nan \(column 'p_transmit'\)"),
    (lambda d: d.assign(p_transmit=[0.5, 1.2, 0.7]), ValueError,
     r"df row 1: edge \('P002' -> 'P003'\) has weight 1\.2 \(column 'p_transmit'\); "
     r"activation probabilities must lie in \[0, 1\]"),
    (lambda d: d.assign(p_transmit=[0.5, "high", 0.7]), ValueError,
     r"df row 1: edge \('P002' -> 'P003'\) has weight 'high' .*not a number"),
    (lambda d: pd.concat([d, d.iloc[[0]].assign(p_transmit=0.3)], ignore_index=True),
     ValueError, r"df rows 0 and 3 both give the edge \('P001' -> 'P002'\) \(0\.5, 0\.3\); "
     r"give each directed edge once: independent contacts combine as 1 - \(1 - p1\)"
     r"\(1 - p2\)\.\.\. \(here 0\.65\)"),
    (lambda d: d.assign(target=["P001", "P003", "P005"]), ValueError,
     r"df row 0: self-loop on node 'P001'"),
    (lambda d: d.assign(target=["P002", None, "P005"]), ValueError,
     r"df row 1: no target node \(None\)"),
    (lambda d: d.set_axis(["a", "b", "c"]), ValueError,
     r"df row 'b': edge \('P002' -> 'P003'\) has weight nan") ,
])
def test_from_pandas_edgelist_names_the_row_of_a_bad_edge(edit, error, match):
    df = edit(_contacts_table())
    if "b" in df.index:
        df.loc["b", "p_transmit"] = math.nan
    weight = "weight" if "p_transmit" not in df else "p_transmit"
    with pytest.raises(error, match=match):
        CascadeGraph.from_pandas_edgelist(df, weight=weight)


def test_a_labelled_dataframe_adjacency_keeps_its_labels_and_pairs_columns_by_label():
    import pandas as pd

    frame = pd.DataFrame([[0.0, 0.5, 0.0], [0.2, 0.0, 0.0], [0.0, 0.1, 0.0]],
                         index=["a", "b", "c"], columns=["a", "b", "c"])
    g = CascadeGraph.from_scipy(frame)
    edges = {(g.labels[u], g.labels[v]): w for u, v, w in zip(g.src, g.dst, g.weight.tolist())}
    assert g.labels == ("a", "b", "c") and edges == {("a", "b"): 0.5, ("b", "a"): 0.2,
                                                      ("c", "b"): 0.1}
    # columns in another order: paired by label (by position, row 'a' got column 'c')
    g2 = CascadeGraph.from_scipy(frame[["c", "a", "b"]])
    assert g2.labels == g.labels and torch.equal(g2.weight, g.weight)
    assert np.array_equal(g2.src, g.src) and np.array_equal(g2.dst, g.dst)
    with pytest.raises(ValueError, match="same node labels as index"):
        CascadeGraph.from_scipy(frame.rename(columns={"c": "d"}))


def test_networkx_multigraph_parallel_edges_and_missing_edge_types_are_named():
    M = nx.MultiDiGraph()
    M.add_edge("a", "b", weight=0.2)
    M.add_edge("a", "b", weight=0.3)
    with pytest.raises(ValueError, match="MultiDiGraph has parallel edges 'a' -> 'b'"):
        CascadeGraph.from_networkx(M)
    M.remove_edge("a", "b")
    M.add_edge("b", "a", weight=0.4)  # no parallel edges: read as a DiGraph
    assert CascadeGraph.from_networkx(M).num_edges == 2
    # an edge without the type attribute became a type of its own (None), silently
    G = nx.DiGraph()
    G.add_edge(1, 2, weight=0.5, kind="x")
    G.add_edge(2, 3, weight=0.2)
    with pytest.raises(ValueError, match=r"edge \(2 -> 3\) has no attribute 'kind'"):
        CascadeGraph.from_networkx(G, edge_type="kind")
    G.edges[2, 3]["kind"] = ["y"]
    with pytest.raises(TypeError, match="must be hashable"):
        CascadeGraph.from_networkx(G, edge_type="kind")


def test_networkx_edge_types_are_numbered_by_value_not_by_node_order():
    # the types were numbered in order of first appearance: the same network with its nodes
    # added in another order swapped the types, so fit.shared_weights[0] belonged to "school"
    # in one and "home" in the other, and an integer kind 1 could become type 0
    def build(nodes):
        G = nx.DiGraph()
        G.add_nodes_from(nodes)
        G.add_edge("a", "b", weight=0.5, kind="school")
        G.add_edge("b", "c", weight=0.5, kind="home")
        G.add_edge("c", "d", weight=0.5, kind="school")
        return CascadeGraph.from_networkx(G, edge_type="kind")

    for nodes in (["a", "b", "c", "d"], ["c", "d", "b", "a"]):
        g = build(nodes)
        kind = {(g.labels[u], g.labels[v]): int(t)
                for u, v, t in zip(g.src, g.dst, g.edge_type, strict=True)}
        assert kind == {("a", "b"): 1, ("b", "c"): 0, ("c", "d"): 1}  # "home" < "school"
    H = nx.DiGraph()
    H.add_edge(0, 1, weight=0.5, kind=1)
    H.add_edge(1, 2, weight=0.5, kind=0)
    H.add_edge(2, 3, weight=0.5, kind=2)
    assert CascadeGraph.from_networkx(H, edge_type="kind").edge_type.tolist() == [1, 0, 2]
    M = nx.DiGraph()  # types that do not sort together: by kind, then text
    M.add_edge("x", "y", weight=0.5, kind="b")
    M.add_edge("y", "z", weight=0.5, kind=3)
    assert CascadeGraph.from_networkx(M, edge_type="kind").edge_type.tolist() == [1, 0]


def test_edge_type_names_stay_on_the_graph():
    # from_networkx(H, edge_type="type") numbered "household" and "work" 0 and 1, and no
    # graph or fit recorded which name was which number
    H = nx.Graph()
    H.add_edge("a", "b", weight=0.5, type="work")
    H.add_edge("b", "c", weight=0.5, type="household")
    g = CascadeGraph.from_networkx(H, edge_type="type")
    assert g.edge_type.tolist() == [1, 1, 0, 0] and g.edge_type_names == ("household", "work")
    for copy in (g.with_weight(torch.full((4,), 0.3, dtype=torch.float64)),
                 g.to(dtype=torch.float32), pickle.loads(pickle.dumps(g))):
        assert copy.edge_type_names == ("household", "work")
        assert copy.edge_type.tolist() == [1, 1, 0, 0]
    df = pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"], "weight": [0.5, 0.5],
                       "kind": ["work", "household"]})
    t = CascadeGraph.from_pandas_edgelist(df, edge_type="kind")
    assert t.edge_type.tolist() == [1, 0] and t.edge_type_names == ("household", "work")
    # untyped graphs, and types given as numbers alone, have no names
    assert CascadeGraph.from_networkx(H).edge_type_names is None
    assert CascadeGraph(2, [0], [1], [0.5], edge_type=[0]).edge_type_names is None
    with pytest.raises(ValueError, match=r"edge_type_names: expected a name for each edge "
                                         r"type 0\.\.1, got 1 name"):
        CascadeGraph(3, [0, 1], [1, 2], [0.5, 0.5], edge_type=[0, 1], edge_type_names=["x"])
    with pytest.raises(ValueError, match="edge_type_names: names need edge types"):
        CascadeGraph(2, [0], [1], [0.5], edge_type_names=["x"])


def test_seed_probabilities_keyed_by_node_label_follow_the_labels():
    import pandas as pd

    g = CascadeGraph.from_edges([("a", "b", 0.5), ("b", "c", 0.5)])
    # a Series keyed by label was read by position: node 'a' got the value meant for 'c'
    by_label = pd.Series({"c": 0.3, "a": 0.1, "b": 0.2})
    want = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
    assert torch.equal(seed_probabilities(g, seed_prob=by_label), want)
    assert torch.equal(seed_probabilities(g, seed_prob=dict(by_label)), want)
    assert torch.equal(size_distribution(g, seed_prob=by_label),
                       size_distribution(g, seed_prob=want))
    # pd.Series(list) (a default RangeIndex) stays positional, as an array
    assert torch.equal(seed_probabilities(g, seed_prob=pd.Series([0.1, 0.2, 0.3])), want)
    with pytest.raises(ValueError, match=r"seed_prob: no value for node\(s\) \['b'\]"):
        seed_probabilities(g, seed_prob={"a": 0.1, "c": 0.3})
    with pytest.raises(ValueError, match="seed_prob: 'd' is not a node"):
        seed_probabilities(g, seed_prob={"a": 0.1, "b": 0.1, "c": 0.3, "d": 0.5})
    base = pd.Series({"c": 0.0, "b": 0.0, "a": 0.9})
    assert celf(g, 1, base_seed_prob=base).seeds == celf(g, 1, base_seed_prob=[0.9, 0, 0]).seeds


def _int_labels_out_of_order() -> CascadeGraph:
    # nx.read_weighted_edgelist(..., nodetype=int) of "3 1 / 1 0 / 0 2": labels (3, 1, 0, 2)
    G = nx.DiGraph()
    G.add_weighted_edges_from([(3, 1, 0.5), (1, 0, 0.5), (0, 2, 0.5)])
    return CascadeGraph.from_networkx(G)


def test_a_default_index_over_integer_labels_in_another_order_is_ambiguous():
    # a Series with the default RangeIndex was read by position: sp[3] = 1.0 seeded node 2
    # (the 4th node), P = [0, 1, 0, 0, 0] where sp.to_dict() and seeds=[3] give the chain's
    # [0, .5, .25, .125, .125]
    g = _int_labels_out_of_order()
    assert g.labels == (3, 1, 0, 2)
    sp = pd.Series(0.0, index=range(4))
    sp[3] = 1.0
    want = pytest.approx([0, 0.5, 0.25, 0.125, 0.125], abs=1e-15)
    assert size_distribution(g, seed_prob=sp.to_dict()).tolist() == want
    assert size_distribution(g, seeds=[3]).tolist() == want
    match = (r"seed_prob: a pandas Series with the default RangeIndex is ambiguous for a graph "
             r"whose nodes are labelled 0\.\.3 in the order \[3, 1, 0, 2\]; pass "
             r"\.to_numpy\(\) to read it by position .*or \.to_dict\(\) to read it by label")
    for call in (lambda: size_distribution(g, seed_prob=sp),
                 lambda: seed_probabilities(g, seed_prob=sp),
                 lambda: conditional_activation(g, seed_prob=sp),
                 lambda: CascadeFit(g, seed_prob=sp)):
        with pytest.raises(ValueError, match=match):
            call()
    with pytest.raises(ValueError, match="base_seed_prob: a pandas Series with the default "
                                         "RangeIndex is ambiguous"):
        celf(g, 1, base_seed_prob=sp)
    # the two readings the message names
    assert size_distribution(g, seed_prob=sp.to_numpy()).tolist() == pytest.approx(
        [0, 1, 0, 0, 0], abs=1e-15)
    by_label = sp.set_axis(pd.Index([0, 1, 2, 3]))  # an index of labels, not a RangeIndex
    assert size_distribution(g, seed_prob=by_label).tolist() == want
    # labels read from a file are text ("3", "1", "0", "2"), matched as text as seeds are
    h = CascadeGraph.from_edges([("3", "1", 0.5), ("1", "0", 0.5), ("0", "2", 0.5)])
    with pytest.raises(ValueError, match="seed_prob: a pandas Series with the default"):
        size_distribution(h, seed_prob=sp)
    # unchanged: labels 0..n-1 in order, or labels a RangeIndex cannot name (position is
    # the only reading)
    path = CascadeGraph.from_edges([(0, 1, 0.5), (1, 2, 0.5), (2, 3, 0.5)])
    assert size_distribution(path, seed_prob=pd.Series([1.0, 0, 0, 0])).tolist() == want
    named = CascadeGraph.from_edges([("d", "b", 0.5), ("b", "a", 0.5), ("a", "c", 0.5)])
    assert size_distribution(named, seed_prob=pd.Series([1.0, 0, 0, 0])).tolist() == want
    # and one value for every node, which both readings give alike
    assert size_distribution(g, seed_prob=pd.Series([0.1] * 4)).tolist() == \
        size_distribution(g, seed_prob=0.1).tolist()


@pytest.mark.parametrize("seeds", [[["P001"], ["P004"]], [{"P001"}, {"P004"}],
                                   np.array([["P001"], ["P004"]]), [("P001",), ("P004",)]],
                         ids=["lists", "sets", "2-d array", "tuples"])
def test_one_index_case_per_outbreak_is_refused_naming_seeds(seeds):
    # seeds=[["P001"], ["P004"]] (one index case per outbreak) raised "TypeError: unhashable
    # type: 'list'" from deep inside, naming no argument (tuples: "seed ('P001',) is not a
    # node of the graph")
    g = CascadeGraph.from_edges([("P001", "P002", 0.5), ("P002", "P003", 0.4),
                                 ("P004", "P005", 0.7)])
    match = (r"seeds: .*'P001'.* is a (list|set|tuple|2-d array), not a node label; seeds "
             r"are the node labels seeded together in every cascade.*one seeding per "
             r"outbreak is not supported: fit the outbreaks of each index case separately")
    for call in (lambda: size_distribution(g, seeds=seeds),
                 lambda: seed_probabilities(g, seeds=seeds),
                 lambda: CascadeFit(g, seeds=seeds),
                 lambda: fit_bayesian(g, [1, 2], seeds=seeds)):
        with pytest.raises(TypeError, match=match):
            call()
    # the seeds of one outbreak, together, and a graph whose labels are tuples, as before
    # (P001's chain adds 0, 1, 2 nodes w.p. 0.5, 0.3, 0.2; P004's adds 1 w.p. 0.7)
    assert size_distribution(g, seeds=["P001", "P004"]).tolist() == pytest.approx(
        [0, 0, 0.15, 0.44, 0.27, 0.14], abs=1e-15)
    grid = CascadeGraph.from_networkx(nx.grid_2d_graph(1, 2), default=0.5)
    assert size_distribution(grid, seeds=[(0, 0)]).tolist() == pytest.approx([0, 0.5, 0.5])


def test_seed_probabilities_share_no_memory_with_a_tensor_or_array_given():
    # a tensor of the graph's dtype and device (or a float64 array) came back as the
    # caller's own memory: editing the result edited the caller's probabilities
    g = CascadeGraph.from_edges([("a", "b", 0.5), ("b", "c", 0.5)])
    t = torch.full((3,), 0.2, dtype=g.dtype)
    a = np.full(3, 0.2)
    for given in (t, a, torch.tensor(0.2, dtype=g.dtype)):
        p = seed_probabilities(g, seed_prob=given)
        p[0] = 0.9
        assert float(given.reshape(-1)[0]) == 0.2
    # a tensor that requires grad is still used as is, so gradients reach it
    w = torch.full((3,), 0.2, dtype=g.dtype, requires_grad=True)
    seed_probabilities(g, seed_prob=w).sum().backward()
    assert w.grad.tolist() == [1.0, 1.0, 1.0]


def test_a_random_seed_is_not_a_seed_node():
    g = CascadeGraph.from_networkx(nx.path_graph(3), default=0.5)
    with pytest.raises(ValueError, match="give seeds=.*seed= is the Monte Carlo random seed"):
        size_distribution(g, seed=1)


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
    with pytest.raises(ValueError, match="method"):  # "exact" is a method now
        size_distribution(g, seeds=[0], method="bogus")
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


def _path_and_star():
    path = CascadeGraph.from_edges([(0, 1, 0.5), (1, 2, 0.5), (2, 3, 0.5)])
    star = CascadeGraph.from_edges([(0, 1, 0.5), (0, 2, 0.5), (0, 3, 0.5)])
    return path, star


def test_a_plan_of_another_graph_is_refused():
    # before: the star's plan on the path silently returned the star's distribution
    path, star = _path_and_star()
    p = seed_probabilities(path, seeds=[0])
    with pytest.raises(ValueError, match="plan: built for another graph"):
        tree_size_distribution(path, p, plan=tree_plan(star))
    with pytest.raises(ValueError, match="plan: built for another graph"):
        tree_conditional_activation(path, p, plan=tree_plan(star))
    bigger = CascadeGraph.from_edges([(0, 1, 0.5), (1, 2, 0.5), (2, 3, 0.5), (3, 4, 0.5)])
    with pytest.raises(ValueError, match="plan"):
        tree_size_distribution(bigger, seed_probabilities(bigger, seeds=[0]), plan=tree_plan(path))
    with pytest.raises(TypeError, match="plan"):
        tree_size_distribution(path, p, plan="path")
    # the same structure with other weights reuses the plan (as fits do)
    other = path.with_weight(torch.tensor([0.2, 0.7, 0.9], dtype=torch.float64))
    P = tree_size_distribution(other, p, plan=tree_plan(path))
    assert torch.allclose(P, tree_size_distribution(other, p), atol=1e-15)


_BAD_P = [
    (torch.tensor([2.0, 0, 0, 0], dtype=torch.float64), ValueError, "p must hold probabilities"),
    (torch.tensor([-0.5, 0, 0, 0], dtype=torch.float64), ValueError, "p must hold probabilities"),
    (torch.tensor([math.nan, 0, 0, 0], dtype=torch.float64), ValueError, "no NaN"),
    (torch.tensor([1.0, 0, 0], dtype=torch.float64), ValueError, r"p must have .* shape \(4,\)"),
    ([1.0, 0, 0, 0], TypeError, "p must be a torch tensor"),
]


@pytest.mark.parametrize("func", [
    bp_marginals, bp_messages, exact_small_sizes, tree_conditional_activation,
    tree_size_distribution, tda_size_distribution,
])
@pytest.mark.parametrize(("p", "error", "match"), _BAD_P)
def test_every_function_taking_p_checks_it(func, p, error, match):
    # before: bp_marginals returned a "probability" 2, NaN p gave all-NaN, a wrong shape an
    # IndexError and a list an AttributeError
    path, _ = _path_and_star()
    with pytest.raises(error, match=match):
        func(path, p)


@pytest.mark.parametrize(("marginals", "error", "match"), [
    (torch.tensor([1.5, 0.5]), ValueError, "marginals must hold probabilities"),
    (torch.tensor([-0.5, 0.5]), ValueError, "marginals must hold probabilities"),
    (torch.tensor([math.nan, 0.5]), ValueError, "marginals must hold probabilities"),
    (torch.tensor([[0.5, 0.5]]), ValueError, "marginals must be a 1-d tensor"),
    ([0.5, 0.5], TypeError, "marginals must be a torch tensor"),
])
def test_poisson_binomial_checks_its_probabilities(marginals, error, match):
    # before: [1.5, 0.5] gave a "distribution" summing to 1.25
    with pytest.raises(error, match=match):
        poisson_binomial(marginals)
    assert poisson_binomial(torch.tensor([0.5, 0.5])).tolist() == [0.25, 0.5, 0.25]


@pytest.mark.parametrize(("prior", "match"), [
    ((-1.0, 1.0), "prior a: expected > 0"),
    ((1.0, 0.0), "prior b: expected > 0"),
    ((math.nan, 1.0), "prior a: expected a finite number"),
    ((1.0, math.inf), "prior b: expected a finite number"),
    (2.0, r"prior: expected the Beta parameters \(a, b\)"),
    ((1.0, 2.0, 3.0), r"prior: expected the Beta parameters \(a, b\)"),
])
def test_fit_bayesian_needs_a_beta_prior(prior, match):
    # before: a = -1 returned a mean (no Beta prior), a = NaN raised an IndexError
    path, _ = _path_and_star()
    with pytest.raises(ValueError, match=match):
        fit_bayesian(path, [1, 2, 4], seeds=[0], prior=prior)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda g, p: size_distribution(g, seeds=[0], method="mc", n_runs=10.5), TypeError,
     "n_runs: expected an integer >= 1"),
    (lambda g, p: monte_carlo(g, p, chunk=-3), ValueError, "chunk: expected an integer >= 1"),
    (lambda g, p: monte_carlo(g, p, n_runs=100, chunk=2.5), TypeError, "chunk"),
    (lambda g, p: monte_carlo(g, p, n_runs=100, seed=-1), ValueError, "seed"),
    (lambda g, p: monte_carlo(g, p, n_runs=100, seed=1.5), TypeError, "seed"),
    (lambda g, p: expected_tv_error(np.array([0.5, 0.5]), 2.5), TypeError, "n_runs"),
    (lambda g, p: celf(g, 1, objective="tail", threshold=2.5), TypeError, "threshold"),
    (lambda g, p: celf(g, True), TypeError, "k"),
    (lambda g, p: CascadeFit(g, seeds=[0]).fit([1, 2], epochs=2.5), TypeError, "epochs"),
    (lambda g, p: CascadeFit(g, seeds=[0]).fit([1, 2], epochs=0), ValueError, "epochs"),
    (lambda g, p: fit_bayesian(g, [1, 2], seeds=[0], num_samples=0), ValueError,
     "num_samples"),
    (lambda g, p: fit_bayesian(g, [1, 2], seeds=[0], steps=10.5), TypeError, "steps"),
    (lambda g, p: fit_bayesian(g, [1, 2], seeds=[0], seed=-2), ValueError, "seed"),
])
def test_integer_settings_must_be_whole_and_in_range(call, error, match):
    # before: n_runs=10.5 raised an IndexError, chunk=-3 "negative dimensions are not
    # allowed", threshold=2.5 and epochs=2.5 were truncated, epochs=0 fitted nothing
    path, _ = _path_and_star()
    with pytest.raises(error, match=match):
        call(path, seed_probabilities(path, seeds=[0]))


@pytest.mark.parametrize("seed_prob", [np.array([0.1, 0.2, 0.3]) + 0.5j,
                                       torch.tensor([0.1, 0.2, 0.3]) + 0.5j])
def test_complex_seed_probabilities_are_refused(seed_prob):
    # the cast to the graph's real dtype kept 0.1, 0.2, 0.3 and dropped the 0.5j
    g = CascadeGraph.from_edges([("a", "b", 0.5), ("b", "c", 0.5)])
    with pytest.raises(TypeError, match="seed_prob"):
        seed_probabilities(g, seed_prob=seed_prob)


@pytest.mark.parametrize("content", [
    # a file saved by Windows tools starts with U+FEFF: the first node was named "\ufeff0"
    b"\xef\xbb\xbf0 1 0.5\n1 2 0.25\n",
    # Excel's "Unicode Text" is UTF-16 with a byte-order mark: it was "not UTF-8 text"
    "0\t1\t0.5\r\n1\t2\t0.25\r\n".encode("utf-16"),
], ids=["utf8-bom", "utf16"])
def test_read_edgelist_reads_text_with_a_byte_order_mark(tmp_path, content):
    path = tmp_path / "g.txt"
    path.write_bytes(content)
    g = CascadeGraph.read_edgelist(path)
    assert list(g.labels) == ["0", "1", "2"]
    assert size_distribution(g, seeds="0").tolist() == pytest.approx([0, 0.5, 0.375, 0.125])


def test_read_edgelist_of_a_file_not_in_utf8_says_to_save_it_so(tmp_path):
    # older tools save Windows-1252: "it is not UTF-8 text" did not say what to do
    path = tmp_path / "g.txt"
    path.write_bytes("Schön b 0.5\n".encode("cp1252"))
    with pytest.raises(ValueError, match=r"g\.txt is not a text edge list \(lines 'u v p'\): it "
                       r"is not UTF-8 text \(it has byte 0xf6: .*; save it as UTF-8 text"):
        CascadeGraph.read_edgelist(path)


def test_read_edgelist_decompresses_a_file_by_its_name(tmp_path):
    # g.edgelist.gz failed with "... is not a text table but gzip-compressed data (name it
    # with .gz to have it decompressed)", though named so; networkx's read_weighted_edgelist
    # decompresses .gz and .bz2 by the name (pandas .xz too)
    import bz2
    import gzip
    import lzma

    text = "a b 0.5\nb c {'weight': 0.25}\n# a comment\nc d 0.125\n"
    (tmp_path / "g.edgelist").write_text(text)
    plain = CascadeGraph.read_edgelist(tmp_path / "g.edgelist")
    for name, data in (("g.edgelist.gz", gzip.compress(text.encode())),
                       ("g.edgelist.BZ2", bz2.compress(text.encode())),
                       ("g.edgelist.xz", lzma.compress(text.encode("utf-16")))):  # with a BOM
        (tmp_path / name).write_bytes(data)
        g = CascadeGraph.read_edgelist(tmp_path / name, nodes=["e", "a", "b", "c", "d"])
        assert g.labels == ("e", "a", "b", "c", "d"), name
        assert (g.src - 1).tolist() == plain.src.tolist() and g.weight.tolist() == [
            0.5, 0.25, 0.125], name
    # text named .gz was read as text before: it still is
    (tmp_path / "text.edgelist.gz").write_text(text)
    assert CascadeGraph.read_edgelist(tmp_path / "text.edgelist.gz").labels == plain.labels
    # damaged data, or data compressed twice, are named for what they are
    (tmp_path / "cut.edgelist.gz").write_bytes(gzip.compress(text.encode())[:-4])
    with pytest.raises(ValueError, match=r"cut\.edgelist\.gz is not a text edge list \(lines "
                       r"'u v p'\): its gzip-compressed data \(it is named so\) are damaged or "
                       r"cut short \("):
        CascadeGraph.read_edgelist(tmp_path / "cut.edgelist.gz")
    (tmp_path / "twice.edgelist.gz").write_bytes(gzip.compress(gzip.compress(text.encode())))
    with pytest.raises(ValueError, match=r"twice\.edgelist\.gz is not a text edge list .*: it is "
                       r"not a text table but gzip-compressed data, though it was decompressed "
                       r"once by its name \(compressed twice\?\): decompress it \(gunzip\)"):
        CascadeGraph.read_edgelist(tmp_path / "twice.edgelist.gz")
    # gzip data under another name: decompressed by the name only, as before
    (tmp_path / "g.txt").write_bytes(gzip.compress(text.encode()))
    with pytest.raises(ValueError, match=r"g\.txt is not a text edge list .*: it is not a text "
                       r"table but gzip-compressed data \(name it with \.gz to have it "
                       r"decompressed\); expected CSV or TSV text$"):
        CascadeGraph.read_edgelist(tmp_path / "g.txt")


@pytest.mark.parametrize(("line", "lineno"), [("a, b, 0.5", 2), ("a,b,0.5", 2),
                                              ("a, b 0.5", 2), ("a b, 0.5", 2)])
def test_read_edgelist_refuses_comma_separated_lines(tmp_path, line, lineno):
    # "a, b, 0.5" split on white space named the nodes "a," and "b,": --seed a then found
    # "no node 'a'"
    path = tmp_path / "g.edgelist"
    path.write_text(f"x y 0.5\n{line}\n")
    with pytest.raises(ValueError, match=rf"g\.edgelist:{lineno}: expected 'u v p', separated "
                       "by white space, not commas, got"):
        CascadeGraph.read_edgelist(path)
    path.write_text("IL-2,IL-4 b 0.5\n")  # a comma inside a label is kept
    assert CascadeGraph.read_edgelist(path).labels == ("IL-2,IL-4", "b")


def test_graph_repr_gives_counts_dtype_device_and_first_labels():
    g = CascadeGraph.from_edges([("a", "b", 0.5), ("b", "c", 0.2), ("c", "d", 0.1),
                                 ("d", "e", 0.4)])
    assert repr(g) == ("CascadeGraph of 5 nodes ['a', 'b', 'c', ...], 4 edges; "
                       "weight float64 on cpu, mean 0.3")
    fitted = g.to(dtype=torch.float32).with_weight(torch.full((4,), 0.25, requires_grad=True))
    assert repr(fitted) == ("CascadeGraph of 5 nodes ['a', 'b', 'c', ...], 4 edges; "
                            "weight float32 on cpu, mean 0.25, requires grad")
    typed = CascadeGraph(2, [0], [1], [1.0], labels=("x", "y"), edge_type=[3])
    assert repr(typed) == ("CascadeGraph of 2 nodes ['x', 'y'], 1 edge, 1 edge types; "
                           "weight float64 on cpu, mean 1")
    # the dataclass repr printed src, dst, weight and every label (9,050 characters at 364)
    big = CascadeGraph.from_edges([(i, i + 1, 0.5) for i in range(2_000)])
    assert len(repr(big)) < 100


def test_a_graph_keeps_its_own_copy_of_the_edge_types():
    # an int64 array was kept as is: editing it afterwards changed the (frozen, validated)
    # graph's types, and with them the weights a share="type" fit ties together
    types = np.array([0, 1, 0], dtype=np.int64)
    g = CascadeGraph(3, [0, 1, 2], [1, 2, 0], [0.5, 0.5, 0.5], edge_type=types)
    types[:] = 7
    assert g.edge_type.tolist() == [0, 1, 0]
    g.edge_type[0] = 5
    assert types.tolist() == [7, 7, 7]


def _chain() -> CascadeGraph:
    # 0 -> 1 -> 2 -> 3 with probabilities 0.5, 0.5, 0.4: from seed 2, sizes 1 and 2 with
    # probabilities 0.6 and 0.4
    return CascadeGraph.from_edges([(0, 1, 0.5), (1, 2, 0.5), (2, 3, 0.4)])


@pytest.mark.parametrize("seeds", [
    [2], (2,), {2}, np.array([2]), np.int64(2), np.array(2), torch.tensor([2]),
    torch.tensor(2), pd.Index([2]), pd.Series([2]), [np.int64(2)], [torch.tensor(2)],
    (s for s in [2]),
], ids=lambda s: type(s).__name__)
def test_seeds_held_in_arrays_tensors_or_pandas_are_the_labels_they_hold(seeds):
    # before: a tensor's entries (tensors, hashed by identity) were "not a node of the
    # graph", and a 0-d array or tensor failed with "iteration over a 0-d array"
    P = size_distribution(_chain(), seeds=seeds)
    torch.testing.assert_close(P, torch.tensor([0.0, 0.6, 0.4, 0.0, 0.0], dtype=P.dtype))


@pytest.mark.parametrize("seeds", [np.array([False, False, True, False]),
                                   [False, False, True, False], [True], torch.tensor([True])],
                         ids=["numpy mask", "list mask", "True", "tensor mask"])
def test_a_boolean_mask_is_not_read_as_nodes_0_and_1(seeds):
    # before: True == 1 and False == 0 as dict keys, so the mask seeding node 2 seeded
    # nodes 0 and 1 (P(size = 2) = 0.5 instead of 0.4), without a word
    g = _chain()
    with pytest.raises(ValueError, match="is a bool, not a node label"):
        size_distribution(g, seeds=seeds)
    with pytest.raises(ValueError, match="is a bool, not a node label"):
        celf(g, 1, candidates=seeds)
    # a graph whose labels are bools keeps them
    flags = CascadeGraph.from_edges([(True, False, 0.5)])
    assert float(size_distribution(flags, seeds=[True])[2]) == pytest.approx(0.5)


@pytest.mark.parametrize(("call", "match"), [
    (lambda g: conditional_activation(g, seeds=[0], min_prob="1e-6"), "min_prob"),
    (lambda g: conditional_activation(g, seeds=[0], min_prob=True), "min_prob"),
    (lambda g: CascadeGraph.from_scipy(np.array([[0, 1.0], [0, 0]]), scale="0.5"), "scale"),
    (lambda g: CascadeGraph.from_scipy(np.array([[0, 1.0], [0, 0]]), scale=True), "scale"),
    (lambda g: CascadeFit(g, seeds=[0], init="0.3"), "init"),
    (lambda g: size_distribution(g, seed_prob=True), "seed_prob"),
    (lambda g: size_distribution(g, seed_prob="0.3"), "seed_prob"),
    (lambda g: celf(g, 1, base_seed_prob=True), "base_seed_prob"),  # read as 1.0
    (lambda g: celf(g, 1, base_seed_prob=np.bool_(False)), "base_seed_prob"),
    (lambda g: celf(g, 1, base_seed_prob="0.3"), "base_seed_prob"),
    # 0-d bool arrays and tensors were read as 1.0 while a Python bool was refused
    (lambda g: seed_probabilities(g, seed_prob=torch.tensor(True)), "seed_prob"),
    (lambda g: seed_probabilities(g, seed_prob=np.array(True)), "seed_prob"),
    (lambda g: size_distribution(g, seed_prob=torch.tensor(False)), "seed_prob"),
    (lambda g: celf(g, 1, base_seed_prob=torch.tensor(True)), "base_seed_prob"),
    (lambda g: celf(g, 1, base_seed_prob=np.array(True)), "base_seed_prob"),
])
def test_numbers_given_as_text_or_bools_are_refused_by_name(call, match):
    # before: "1e-6" and "0.5" failed in torch / numpy naming nothing, min_prob=True made
    # every conditional NaN, seed_prob=True seeded every node, "0.3" was read as 0.3
    with pytest.raises(TypeError, match=match):
        call(_chain())


def test_numpy_scalars_and_an_object_column_work_like_python_numbers():
    g = _chain()
    P = conditional_activation(g, seeds=[0], min_prob=np.float32(1e-6))
    torch.testing.assert_close(P, conditional_activation(g, seeds=[0], min_prob=1e-6),
                               equal_nan=True)
    w = CascadeGraph.from_scipy(np.array([[0, 1.0], [0, 0]]), scale=np.float32(0.5)).weight
    assert w.tolist() == [0.5]
    # sizes from a mixed DataFrame's .values: an object array of ints (refused before)
    fit = CascadeFit(g, seeds=[0], init=np.float64(0.3))
    sizes = np.array([1, 2, 2, 3], dtype=object)
    assert fit.log_likelihood(sizes) == fit.log_likelihood([1, 2, 2, 3])


def test_networkx_default_for_every_edge_names_the_numeric_attributes_it_ignored():
    # D.add_edge('a', 'b', p=0.9) with default=0.1 gave weights [0.1, 0.1] without a word
    D = nx.DiGraph()
    D.add_edge("a", "b", p=0.9, label="x", flag=True)
    D.add_edge("b", "c", p=0.9)
    with pytest.warns(UserWarning, match=r"'weight'.*default=0\.1.*'p'.*weight='p'"):
        g = CascadeGraph.from_networkx(D, default=0.1)
    assert g.weight.tolist() == [0.1, 0.1]  # the result is unchanged
    assert CascadeGraph.from_networkx(D, weight="p").weight.tolist() == [0.9, 0.9]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # no other numeric attribute (a string, a bool, the edge type), or some edge has
        # the weight attribute: no warning
        for G, kw in ((nx.path_graph(3), {}), (nx.DiGraph([("a", "b", {"label": "x"})]), {}),
                      (nx.DiGraph([("a", "b", {"kind": 1})]), {"edge_type": "kind"}),
                      (nx.DiGraph([("a", "b", {"weight": 0.3, "p": 0.9}),
                                   ("b", "c", {"p": 0.9})]), {})):
            CascadeGraph.from_networkx(G, default=0.1, **kw)


def test_read_edgelist_undirected_reads_each_line_as_a_contact(tmp_path):
    # nx.write_weighted_edgelist of an nx.Graph lists each contact once: read as directed
    # edges, half the contacts were lost
    G = nx.Graph()
    G.add_weighted_edges_from([("a", "b", 0.5), ("b", "c", 0.3), ("c", "d", 0.2)])
    path = tmp_path / "contacts.edgelist"
    nx.write_weighted_edgelist(G, path)
    g = CascadeGraph.read_edgelist(path, undirected=True)
    h = CascadeGraph.from_networkx(G)
    assert g.labels == h.labels and g.src.tolist() == h.src.tolist()
    assert g.dst.tolist() == h.dst.tolist() and torch.equal(g.weight, h.weight)
    assert CascadeGraph.read_edgelist(path).num_edges == 3  # the default stays directed
    # a contact on two lines would have two probabilities: refused, naming both lines
    path.write_text("a b 0.5\nb c 0.3\n# comment\nb a 0.4\n")
    with pytest.raises(ValueError, match=r"contacts\.edgelist:1 and line 4 .*'a' -- 'b'"):
        CascadeGraph.read_edgelist(path, undirected=True)
    path.write_text("a b 0.5\nb b 0.3\n")
    with pytest.raises(ValueError, match="self-loop on node 'b'"):
        CascadeGraph.read_edgelist(path, undirected=True)
    with pytest.raises(TypeError, match="undirected must be True or False"):
        CascadeGraph.read_edgelist(path, undirected="no")


def test_read_edgelist_takes_the_nodes_without_contacts(tmp_path):
    # people with no contacts could not be included from a file: read_edgelist had no
    # nodes= (from_edges has one), and with a random seed probability the size
    # distribution depends on them: P009 isolated gives [.4096 .3174 .1792 .0813 .0125],
    # without it [.512 .2688 .1568 .0624]
    path = tmp_path / "contacts.edgelist"
    path.write_text("P001 P002 0.5\nP002 P003 0.4\n")
    without = CascadeGraph.read_edgelist(path)
    assert size_distribution(without, seed_prob=0.2).tolist() == pytest.approx(
        [0.512, 0.2688, 0.1568, 0.0624], abs=1e-15)
    g = CascadeGraph.read_edgelist(path, nodes=["P009", "P001", "P002", "P003"])
    assert g.labels == ("P009", "P001", "P002", "P003")  # in the order given, as from_edges
    h = CascadeGraph.from_edges([("P001", "P002", 0.5), ("P002", "P003", 0.4)],
                                nodes=["P009", "P001", "P002", "P003"])
    assert g.src.tolist() == h.src.tolist() and g.dst.tolist() == h.dst.tolist()
    assert torch.equal(g.weight, h.weight)
    assert size_distribution(g, seed_prob=0.2).tolist() == pytest.approx(
        [0.4096, 0.31744, 0.1792, 0.08128, 0.01248], abs=1e-15)
    # labels of a file are text: numbers given as nodes are read as their text
    ids = tmp_path / "ids.edgelist"
    ids.write_text("1 2 0.5\n")
    assert CascadeGraph.read_edgelist(ids, nodes=range(4)).labels == ("0", "1", "2", "3")
    u = CascadeGraph.read_edgelist(path, undirected=True, nodes=["P001", "P002", "P003",
                                                                 "P009"])
    assert u.n == 4 and u.num_edges == 4
    with pytest.raises(ValueError, match=r"contacts\.edgelist:2: edge \('P002' -> 'P003'\): "
                                         r"node 'P003' not in nodes"):
        CascadeGraph.read_edgelist(path, nodes=["P001", "P002"])
    with pytest.raises(ValueError, match="nodes: 'P001' is given twice"):
        CascadeGraph.read_edgelist(path, nodes=["P001", "P002", "P003", "P001"])
    with pytest.raises(ValueError, match="nodes: 'P003' is given twice"):
        CascadeGraph.read_edgelist(path, nodes=["P001", "P002", "P003", "P003"])
    with pytest.raises(TypeError, match="nodes: expected an iterable of node labels"):
        CascadeGraph.read_edgelist(path, nodes="P001")


def test_read_edgelist_names_the_line_of_a_repeated_edge_or_a_self_loop(tmp_path):
    # both were refused without file:line ("duplicate edge ('P001' -> 'P002'); give each
    # directed edge once", "self-loop on node 'P002' ...") and without the rule to merge
    # repeated contacts; --undirected's message for a contact in both directions neither
    path = tmp_path / "dup.edgelist"
    path.write_text("P001 P002 0.5\nP002 P003 0.4\n\nP001 P002 0.3\n")
    with pytest.raises(ValueError, match=r"dup\.edgelist:4: edge \('P001' -> 'P002'\) is listed "
                       r"again \(first on line 1; p 0\.5 and 0\.3\): give each directed edge "
                       r"once: independent contacts combine as 1 - \(1 - p1\)\(1 - p2\)\.\.\. "
                       r"\(here 0\.65\)"):
        CascadeGraph.read_edgelist(path)
    path.write_text("P001 P002 0.5\nP002 P002 0.4\n")
    for undirected in (False, True):
        with pytest.raises(ValueError, match=r"dup\.edgelist:2: self-loop on node 'P002': the "
                           "Independent Cascade model has no self-activation; remove the line"):
            CascadeGraph.read_edgelist(path, undirected=undirected)
    path.write_text("A B 0.9\nB A 0.1\nB C 0.5\n")
    with pytest.raises(ValueError, match=r"dup\.edgelist:1 and line 2 both list the contact "
                       r"'A' -- 'B'.*merge the lines into one: independent contacts combine as "
                       r"1 - \(1 - p1\)\(1 - p2\)\.\.\. \(here 0\.91\)"):
        CascadeGraph.read_edgelist(path, undirected=True)
    # u -> v and v -> u are two directed edges: read as before
    assert CascadeGraph.read_edgelist(path).weight.tolist() == [0.9, 0.1, 0.5]


def _contact_path():
    # a -- b -- c, each contact 0.5 both ways: from 'a', sizes 1, 2, 3 with 0.5, 0.25, 0.25
    G = nx.Graph()
    G.add_edge("a", "b", weight=0.5)
    G.add_edge("b", "c", weight=0.5)
    return G


_TAKES_A_GRAPH = {
    "size_distribution": lambda g, tmp: size_distribution(g, seeds=["a"]),
    "conditional_activation": lambda g, tmp: conditional_activation(g, seeds=["a"]),
    "seed_probabilities": lambda g, tmp: seed_probabilities(g, seeds=["a"]),
    "monte_carlo": lambda g, tmp: monte_carlo(g, torch.tensor([1.0, 0, 0]), n_runs=10),
    "celf": lambda g, tmp: celf(g, 1),
    "CascadeFit": lambda g, tmp: CascadeFit(g, seeds=["a"]),
    "CascadeFit.load": lambda g, tmp: CascadeFit.load(tmp, g),
    "fit_bayesian": lambda g, tmp: fit_bayesian(g, [1, 2], seeds=["a"]),
    "tree_size_distribution": lambda g, tmp: tree_size_distribution(g, torch.ones(3)),
    "tree_conditional_activation": lambda g, tmp: tree_conditional_activation(
        g, torch.ones(3)),
    "tree_plan": lambda g, tmp: tree_plan(g),
}


@pytest.mark.parametrize("call", list(_TAKES_A_GRAPH.values()), ids=list(_TAKES_A_GRAPH))
@pytest.mark.parametrize(("make", "match"), [
    (lambda G: G, r"graph: expected a CascadeGraph, got a networkx Graph; convert it with "
                  r"CascadeGraph\.from_networkx\(G, weight='weight', default=None\)"),
    (lambda G: sp.csr_matrix(nx.to_scipy_sparse_array(G)),
     r"graph: expected a CascadeGraph, got a scipy csr_matrix; convert it with "
     r"CascadeGraph\.from_scipy\(A, labels=None\): entry \(u, v\) is the probability"),
    (lambda G: nx.to_numpy_array(G), r"got a numpy ndarray; convert it with "
                                     r"CascadeGraph\.from_scipy\("),
], ids=["networkx", "csr_matrix", "ndarray"])
def test_every_function_taking_a_graph_names_the_conversion(tmp_path, call, make, match):
    # before: a bare AttributeError from deep inside: "'Graph' object has no attribute
    # 'dtype'" (size_distribution), "... 'n'" (monte_carlo, celf), "... 'num_edges'"
    # (CascadeFit), "'csr_matrix' object has no attribute 'device'"
    G = _contact_path()
    g = CascadeGraph.from_networkx(G)
    saved = tmp_path / "fit.json"
    CascadeFit(g, seeds=["a"]).save(saved)
    with pytest.raises(TypeError, match=match):
        call(make(G), saved)
    # the conversions named give the known answer
    assert size_distribution(g, seeds=["a"]).tolist() == pytest.approx([0, 0.5, 0.25, 0.25])
    A = CascadeGraph.from_scipy(nx.to_scipy_sparse_array(G), labels=list(G))
    assert size_distribution(A, seeds=["a"]).tolist() == pytest.approx([0, 0.5, 0.25, 0.25])


@pytest.mark.parametrize(("value", "match"), [
    (pd.DataFrame([[0, 0.5], [0, 0]], index=["a", "b"], columns=["a", "b"]),
     r"got a pandas DataFrame; convert it with CascadeGraph\.from_scipy\("),
    (torch.zeros(2, 2), r"got a torch Tensor; convert it with CascadeGraph\.from_scipy\("),
    ("contacts.edgelist", r"got the path 'contacts\.edgelist'; read the file with "
                          r"CascadeGraph\.read_edgelist\(path\)"),
    ([("a", "b", 0.5)], r"got a list; build one from \(u, v, p\) triples with "
                        r"CascadeGraph\.from_edges\(edges\)"),
    (None, r"graph: expected a CascadeGraph, got None; build one with "
           r"CascadeGraph\.from_networkx, from_scipy, from_edges or read_edgelist"),
], ids=["dataframe", "tensor", "path", "triples", "none"])
def test_a_graph_given_in_another_form_names_its_constructor(value, match):
    # before: AttributeError "'DataFrame' object has no attribute 'dtype'", "'str' object
    # has no attribute 'dtype'", ...
    with pytest.raises(TypeError, match=match):
        size_distribution(value, seeds=["a"])


def test_read_edgelist_reads_networkx_default_edge_list_format(tmp_path):
    # nx.write_edgelist writes "a b {'weight': 0.5}": refused with "expected 'u v p'", not
    # saying that nx.write_weighted_edgelist writes the format read
    G = _contact_path()
    G.add_edge("c", "d", weight=np.float64(0.25), kind="home")  # numpy 2: np.float64(0.25)
    path = tmp_path / "g.edgelist"
    nx.write_edgelist(G, path)
    if int(np.__version__.split(".")[0]) >= 2:  # numpy 1 writes the plain 0.25
        assert "np.float64(0.25)" in path.read_text()
    g = CascadeGraph.read_edgelist(path, undirected=True)
    h = CascadeGraph.from_networkx(G)
    assert g.labels == h.labels and g.src.tolist() == h.src.tolist()
    assert g.dst.tolist() == h.dst.tolist() and torch.equal(g.weight, h.weight)
    assert size_distribution(g, seeds=["d"]).tolist() == pytest.approx(
        [0, 0.75, 0.125, 0.0625, 0.0625])
    # the probability under another name: named by weight=, or the error says so
    D = nx.DiGraph([("a", "b", {"p": 0.5, "label": "x"}), ("b", "c", {"p": 0.25})])
    nx.write_edgelist(D, path)
    assert CascadeGraph.read_edgelist(path, weight="p").weight.tolist() == [0.5, 0.25]
    with pytest.raises(ValueError, match=r"g\.edgelist:1: edge \('a' -> 'b'\) has no attribute "
                       r"'weight' .*numeric attribute 'p' may hold it: pass weight='p' \(on the "
                       r"command line: --weight p\), or write the file with "
                       r"nx\.write_weighted_edgelist"):
        CascadeGraph.read_edgelist(path)
    nx.write_edgelist(nx.path_graph(["a", "b"]), path)  # "a b {}": no attributes at all
    with pytest.raises(ValueError, match=r"g\.edgelist:1: edge \('a' -> 'b'\) has no "
                       r"attributes .*nx\.write_weighted_edgelist"):
        CascadeGraph.read_edgelist(path)
    path.write_text("a b {'weight': 'high'}\n")
    with pytest.raises(ValueError, match=r"has probability 'high' \(attribute 'weight'\), "
                       "not a number"):
        CascadeGraph.read_edgelist(path)
    path.write_text("a b {weight: 0.5}\n")
    with pytest.raises(ValueError, match=r"g\.edgelist:1: expected 'u v p', got "
                       r"'a b \{weight: 0\.5\}'.*nx\.write_weighted_edgelist"):
        CascadeGraph.read_edgelist(path)
    nx.write_edgelist(G, path, data=False)  # "a b": no probability
    with pytest.raises(ValueError, match=r"expected 'u v p', got 'a b'; each line needs its "
                       "probability p, as nx.write_weighted_edgelist writes it"):
        CascadeGraph.read_edgelist(path)
    with pytest.raises(TypeError, match="weight: expected the name of an edge attribute"):
        CascadeGraph.read_edgelist(path, weight=1)


@pytest.mark.parametrize("index_label", [None, "node"])
def test_a_square_matrix_read_without_its_index_says_to_read_it_with_index_col(tmp_path,
                                                                              index_label):
    # A.to_csv(path) read back without index_col=0 has the row labels as a first column
    # ('Unnamed: 0'): it was called "a long-form edge list", and the call suggested,
    # from_pandas_edgelist(df, source='Unnamed: 0', target='a', weight='b'), built a
    # 6-node graph of labels and entries ('a', 0.0, 'b', 0.3, 'c', 'd')
    A = pd.DataFrame([[0, 0.3, 0, 0], [0, 0, 0.5, 0], [0, 0, 0, 0.2], [0, 0, 0, 0]],
                     index=list("abcd"), columns=list("abcd"))
    path = tmp_path / "adj.csv"
    A.to_csv(path, index_label=index_label)
    df = pd.read_csv(path)
    first = "Unnamed: 0" if index_label is None else "node"
    said = (r"looks like a square adjacency matrix read without its index: its first column "
            rf"'{first}' holds the row labels \['a', 'b', 'c', 'd'\].*; read the file with "
            r"pd\.read_csv\(path, index_col=0\) \(or call df\.set_index\('" + first +
            r"'\)\), then convert it with CascadeGraph\.from_scipy\(df\)$")
    with pytest.raises(ValueError, match=rf"^matrix: the DataFrame \(columns \['{first}', "
                                         r"'a', 'b', 'c', 'd'\]\) " + said) as err:
        CascadeGraph.from_scipy(df)
    assert "from_pandas_edgelist" not in str(err.value)
    with pytest.raises(TypeError, match=r"^graph: expected a CascadeGraph, got a pandas "
                                        r"DataFrame \(columns .*\) that " + said) as err:
        size_distribution(df, seeds=["a"])
    assert "from_pandas_edgelist" not in str(err.value)
    with pytest.raises(TypeError, match=r"^edges: got a pandas DataFrame, not \(u, v, p\) "
                                        r"triples; it " + said):
        CascadeGraph.from_edges(df)
    # read as the message says: a -> b -> c -> d, from 'a' sizes 1..4 with .7 .15 .12 .03
    for g in (CascadeGraph.from_scipy(pd.read_csv(path, index_col=0)),
              CascadeGraph.from_scipy(df.set_index(first))):
        assert g.labels == ("a", "b", "c", "d")
        assert size_distribution(g, seeds=["a"]).tolist() == pytest.approx(
            [0, 0.7, 0.15, 0.12, 0.03], abs=1e-15)
    # an edge list saved with its index is one column wider than tall too: a long-form list
    _contacts_table().to_csv(path)
    with pytest.raises(ValueError, match=r"long-form edge list.*from_pandas_edgelist\(df, "
                       r"source='source', target='target', weight='p_transmit'\)"):
        CascadeGraph.from_scipy(pd.read_csv(path))


class _ReadsAsOne:
    """A node label whose text is "1", equal to neither 1 nor "1"."""

    def __str__(self) -> str:
        return "1"


def test_from_pandas_edgelist_matches_nodes_as_text_as_read_edgelist_does(tmp_path):
    # pd.read_csv gives integer ids, a node list read from a file gives strings: "df row 0:
    # edge (1 -> 2): node 1 not in nodes", where read_edgelist(nodes=) and index_of match
    # labels as text
    edges = tmp_path / "contacts.csv"
    edges.write_text("source,target,p\n1,2,0.5\n2,3,0.4\n")
    people = tmp_path / "people.txt"
    people.write_text("9\n1\n2\n3\n")
    df, nodes = pd.read_csv(edges), people.read_text().split()
    g = CascadeGraph.from_pandas_edgelist(df, weight="p", nodes=nodes)
    h = CascadeGraph.from_edges([("1", "2", 0.5), ("2", "3", 0.4)], nodes=nodes)
    assert g.labels == h.labels == ("9", "1", "2", "3")  # the labels of nodes
    assert g.src.tolist() == h.src.tolist() and g.dst.tolist() == h.dst.tolist()
    assert torch.equal(g.weight, h.weight)
    # the numbers of read_edgelist's test with P009 without contacts
    assert size_distribution(g, seed_prob=0.2).tolist() == pytest.approx(
        [0.4096, 0.31744, 0.1792, 0.08128, 0.01248], abs=1e-15)
    assert size_distribution(g, seeds=[1]).tolist() == pytest.approx([0, 0.5, 0.3, 0.2, 0])
    # the ids as numbers match as they are
    assert CascadeGraph.from_pandas_edgelist(df, weight="p", nodes=[9, 1, 2, 3]).labels == (
        9, 1, 2, 3)
    with pytest.raises(ValueError, match=r"df row 1: edge \(2 -> 3\): node 3 not in nodes"):
        CascadeGraph.from_pandas_edgelist(df, weight="p", nodes=["1", "2"])
    # where text is ambiguous, the labels' types are named
    mixed = pd.DataFrame({"source": [1, "1"], "target": ["2", "3"], "p": [0.5, 0.4]})
    with pytest.raises(ValueError, match=r"df row 0: edge \(1 -> '2'\): the labels '1' \(str\) "
                       r"and 1 \(int\) of df both read as node '1' of nodes: the labels "
                       r"differ in type"):
        CascadeGraph.from_pandas_edgelist(mixed, weight="p", nodes=["1", "2", "3"])
    odd = pd.DataFrame({"source": [_ReadsAsOne()], "target": [2], "p": [0.5]})
    with pytest.raises(ValueError, match=r"df row 0: .*\(_ReadsAsOne\) is not in nodes, whose "
                       r"labels '1' \(str\) and 1 \(int\) both read '1': the labels differ in "
                       r"type"):
        CascadeGraph.from_pandas_edgelist(odd, weight="p", nodes=["1", 1, 2])


def test_read_edgelist_reads_edge_types_and_to_networkx_writes_them(tmp_path):
    # read_edgelist had no edge_type= (only the command line's --edge-type read the types)
    # and to_networkx() wrote the weight alone: a typed graph lost its types on the way
    # through an edge list or networkx
    G = nx.Graph()
    G.add_edge("a", "b", weight=0.5, kind="work")
    G.add_edge("b", "c", weight=0.25, kind="household")
    G.add_edge("c", "d", weight=np.float64(0.125), kind="work")
    path = tmp_path / "typed.edgelist"
    nx.write_edgelist(G, path)
    g = CascadeGraph.read_edgelist(path, undirected=True, edge_type="kind")
    h = CascadeGraph.from_networkx(G, edge_type="kind")
    assert g.labels == h.labels and g.src.tolist() == h.src.tolist()
    assert g.dst.tolist() == h.dst.tolist() and torch.equal(g.weight, h.weight)
    assert g.edge_type.tolist() == h.edge_type.tolist() == [1, 1, 0, 0, 1, 1]
    assert g.edge_type_names == h.edge_type_names == ("household", "work")
    D = g.to_networkx()
    assert D.edges["b", "c"] == {"weight": 0.25, "type": "household"}
    back = CascadeGraph.from_networkx(D, edge_type="type")

    def typed_edges(x):
        return sorted((x.labels[u], x.labels[v], p, x.edge_type_names[t]) for u, v, p, t in
                      zip(x.src, x.dst, x.weight.tolist(), x.edge_type, strict=True))

    assert back.labels == g.labels and back.edge_type_names == g.edge_type_names
    assert typed_edges(back) == typed_edges(g) and len(typed_edges(g)) == 6
    assert typed_edges(CascadeGraph.from_networkx(g.to_networkx(edge_type="kind"),
                                                  edge_type="kind")) == typed_edges(g)
    # directed lines, types as numbers
    path.write_text("a b {'weight': 0.5, 'kind': 2}\nb c {'weight': 0.2, 'kind': 1}\n")
    d = CascadeGraph.read_edgelist(path, edge_type="kind")
    assert d.edge_type.tolist() == [1, 0] and d.edge_type_names == (1, 2)
    # an untyped graph's networkx edges carry the weight alone, as before
    assert list(CascadeGraph.read_edgelist(path).to_networkx().edges(data=True)) == [
        ("a", "b", {"weight": 0.5}), ("b", "c", {"weight": 0.2})]
    for text, match in [
        ("a b 0.5\n", r"typed\.edgelist:1: edge \('a' -> 'b'\) has no attributes, so no edge "
                      r"type; edge_type='kind' \(on the command line: --edge-type kind\)"),
        ("a b {'weight': 0.5, 'kind': 'x'}\nb c {'weight': 0.2}\n",
         r"typed\.edgelist:2: edge \('b' -> 'c'\) has no attribute 'kind' \(the edge type"),
        ("a b {'weight': 0.5, 'kind': 'x'}\nb c {'weight': 0.2, 'kind': 1}\n",
         r"typed\.edgelist:2: edge \('b' -> 'c'\) has the edge type 1 \(a number\), where "
         r"line 1's is text"),
        ("a b {'weight': 0.5, 'kind': True}\n",
         r"typed\.edgelist:1: .* has edge type True \(attribute 'kind'\); expected a name"),
    ]:
        path.write_text(text)
        with pytest.raises(ValueError, match=match):
            CascadeGraph.read_edgelist(path, edge_type="kind")
    with pytest.raises(TypeError, match="edge_type: expected the name of an edge attribute"):
        CascadeGraph.read_edgelist(path, edge_type=1)
    with pytest.raises(ValueError, match="edge_type: 'weight' holds each edge's probability"):
        g.to_networkx(edge_type="weight")


def test_a_type_written_as_1_and_as_1_0_is_named_by_neither_line_order(tmp_path):
    # 1 and 1.0 are one type, named by the spelling met first: (1, 2) or (1.0, 2.0) by the
    # order of the lines, so weights.csv and fit.json named it by the file's order (the
    # command named the types by np.unique of their values, floats if any was one)
    import networkx as nx

    edges = [("a", "b", 1), ("b", "c", 1.0), ("c", "d", 2)]
    path = tmp_path / "typed.edgelist"
    for order in (edges, edges[::-1], [edges[1], edges[0], edges[2]]):
        path.write_text("".join(f"{u} {v} {{'weight': 0.3, 'type': {t!r}}}\n"
                                for u, v, t in order))
        G = nx.DiGraph()
        G.add_edges_from((u, v, {"weight": 0.3, "type": t}) for u, v, t in order)
        for graph in (CascadeGraph.read_edgelist(path, edge_type="type"),
                      CascadeGraph.from_networkx(G, edge_type="type")):
            assert graph.edge_type_names == (1.0, 2.0)
            assert all(type(t) is float for t in graph.edge_type_names)
            of = {graph.labels[s]: int(t) for s, t in zip(graph.src, graph.edge_type)}
            assert of == {"a": 0, "b": 0, "c": 1}
    path.write_text("a b {'weight': 0.3, 'type': 1}\nc d {'weight': 0.3, 'type': 2}\n")
    assert CascadeGraph.read_edgelist(path, edge_type="type").edge_type_names == (1, 2)
    for first, second in ((1, np.float32(1.0)), (np.float32(1.0), 1)):  # numpy's floats too
        G = nx.DiGraph([("a", "b", {"weight": 0.3, "type": first}),
                        ("b", "c", {"weight": 0.3, "type": second}),
                        ("c", "d", {"weight": 0.3, "type": 2})])
        names = CascadeGraph.from_networkx(G, edge_type="type").edge_type_names
        assert names == (1.0, 2.0) and all(type(t) is float for t in names)


def test_the_graph_keeps_its_own_weights_and_passes_gradients_back():
    # the caller's weight tensor was kept: w[0] = 1.7 after construction skipped the [0, 1]
    # check, and size_distribution summed to 1.7 (0, 0, 0.85, 0.85)
    w = torch.tensor([0.5, 0.5], dtype=torch.float64)
    g = CascadeGraph(3, [0, 1], [1, 2], w)
    w[0] = 1.7
    assert g.weight.tolist() == [0.5, 0.5]
    P = size_distribution(g, seeds=[0])
    assert P.tolist() == pytest.approx([0.0, 0.5, 0.25, 0.25])
    # a tensor that requires grad is kept, so a graph built once follows an optimizer's
    # steps (a copy froze it at the first weights, with gradients still reaching the
    # tensor): d P(size = 3) / d w = (w1, w0) at each step's weights
    leaf = torch.tensor([0.5, 0.5], dtype=torch.float64, requires_grad=True)
    g = CascadeGraph(3, [0, 1], [1, 2], leaf)
    opt = torch.optim.SGD([leaf], lr=0.1)
    for step in range(2):
        opt.zero_grad()
        size_distribution(g, seeds=[0])[3].backward()
        assert leaf.grad.tolist() == pytest.approx([0.5, 0.5] if step == 0 else [0.45, 0.45])
        with torch.no_grad():
            leaf.mul_(0.9)  # a step that keeps the weights in [0, 1]
    assert g.weight.tolist() == pytest.approx([0.405, 0.405])


def test_a_set_of_node_labels_is_refused_where_labels_name_nodes_by_position(tmp_path):
    # a set's order follows string hashing: from_scipy(csr, labels={"x", "y", "z"}) named
    # another row "x" in each process, and size_distribution(g, seeds=["x"]) changed
    A = sp.csr_matrix(np.array([[0, 0.9, 0], [0, 0, 0.9], [0, 0, 0]]))
    with pytest.raises(TypeError, match=r"^labels: expected a list \(or other ordered "
                                        r"sequence\) of node labels.*got a set.*"
                                        r"sorted\(labels\)"):
        CascadeGraph.from_scipy(A, labels={"x", "y", "z"})
    with pytest.raises(TypeError, match=r"^labels: .*got a frozenset"):
        CascadeGraph(2, [0], [1], torch.tensor([0.5]), frozenset({"a", "b"}))
    with pytest.raises(TypeError, match=r"^nodes: expected a list .*got a set"):
        CascadeGraph.from_edges([("a", "x", 0.5)], nodes={"a", "x", "b"})
    edges = pd.DataFrame({"source": ["a"], "target": ["x"], "weight": [0.5]})
    with pytest.raises(TypeError, match=r"^nodes: expected a list .*got a set"):
        CascadeGraph.from_pandas_edgelist(edges, nodes={"a", "x", "b"})
    path = tmp_path / "g.edgelist"
    path.write_text("a x 0.5\n")
    with pytest.raises(TypeError, match=r"^nodes: expected a list .*got a frozenset"):
        CascadeGraph.read_edgelist(path, nodes=frozenset({"a", "x", "b"}))
    # a list, and a dict's keys (insertion order), give the node order
    order = {"z": 0, "y": 1, "x": 2}.keys()
    assert CascadeGraph.from_scipy(A, labels=order).labels == ("z", "y", "x")
    assert CascadeGraph.from_edges([("a", "x", 0.5)], nodes=["b", "x", "a"]).labels == (
        "b", "x", "a")


def test_from_pandas_edgelist_undirected_reads_each_row_as_a_contact():
    # networkx.from_pandas_edgelist gives an undirected nx.Graph by default, ours directed
    # edges: an undirected contact table lost half its routes without a word (path of 5
    # seeded at 2, w 0.5: mean size 1.75, through networkx 2.5), and undirected=, which
    # read_edgelist takes, was a TypeError
    df = pd.DataFrame({"source": [0, 1, 2, 3], "target": [1, 2, 3, 4], "weight": [0.5] * 4})

    def mean(g):
        P = size_distribution(g, seeds=[2]).numpy()
        return float(np.arange(P.size) @ P)

    assert mean(CascadeGraph.from_pandas_edgelist(df)) == pytest.approx(1.75, abs=1e-15)
    g = CascadeGraph.from_pandas_edgelist(df, undirected=True)
    h = CascadeGraph.from_networkx(nx.from_pandas_edgelist(df, edge_attr="weight"))
    assert g.labels == h.labels and g.src.tolist() == h.src.tolist()
    assert g.dst.tolist() == h.dst.tolist() and torch.equal(g.weight, h.weight)
    assert mean(g) == pytest.approx(2.5, abs=1e-15)
    # each row's type goes to both of its edges, as read_edgelist's does
    typed = CascadeGraph.from_pandas_edgelist(df.assign(kind=["b", "a", "b", "a"]),
                                              edge_type="kind", undirected=True)
    assert typed.edge_type.tolist() == [1, 1, 0, 0, 1, 1, 0, 0]
    assert typed.edge_type_names == ("a", "b")
    # a contact on two rows (either direction) would have two probabilities: refused
    both = pd.concat([df, pd.DataFrame({"source": [2], "target": [1], "weight": [0.3]})],
                     ignore_index=True)
    with pytest.raises(ValueError, match=r"df rows 1 and 4 both list the contact 1 -- 2 "
                       r"\(0\.5, 0\.3\); read as undirected.*here 0\.65.*undirected=False"):
        CascadeGraph.from_pandas_edgelist(both, undirected=True)
    assert CascadeGraph.from_pandas_edgelist(both).num_edges == 5  # directed: two edges
    with pytest.raises(TypeError, match="undirected must be True or False, got 'no'"):
        CascadeGraph.from_pandas_edgelist(df, undirected="no")


def test_networkx_default_says_it_does_not_replace_the_weight_attribute():
    # karate_club_graph's 'weight' holds contact counts (4.0): with default=0.3 the error
    # said only "weight of edge (0 -> 1) is 4.0", though the user believed default applied
    G = nx.karate_club_graph()
    with pytest.raises(ValueError, match=r"^edge \(0 -> 1\): its attribute 'weight' holds "
                       r"4\.0, not an activation probability in \[0, 1\]; default=0\.3 "
                       r"applies only to edges without 'weight'; pass weight=None to give "
                       r"every edge the default"):
        CascadeGraph.from_networkx(G, default=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "the edges carry the numeric attribute 'weight'"
        g = CascadeGraph.from_networkx(G, weight=None, default=0.3)
    assert g.num_edges == 156 and g.weight.unique().tolist() == [0.3]
    with pytest.raises(ValueError, match=r"weight=None gives every edge default=, so it "
                       "needs one"):
        CascadeGraph.from_networkx(G, weight=None)
    # without default= the message stays the graph's own
    with pytest.raises(ValueError, match=r"^weight of edge \(0 -> 1\) is 4\.0"):
        CascadeGraph.from_networkx(G)


def test_read_edgelist_default_gives_lines_without_p_their_probability(tmp_path):
    # an unweighted contact list (nx.write_edgelist(G, data=False): lines "u v") could not
    # be given one transmissibility: "expected 'u v p', got '0 1'"
    G = nx.path_graph(4)
    path = tmp_path / "g.edgelist"
    nx.write_edgelist(G, path, data=False)
    with pytest.raises(ValueError, match=r"expected 'u v p', got '0 1'; each line needs its "
                       r"probability p, as nx.write_weighted_edgelist writes it, or pass "
                       r"default=P \(on the command line: --default P\)"):
        CascadeGraph.read_edgelist(path)
    g = CascadeGraph.read_edgelist(path, default=0.4, undirected=True)
    h = CascadeGraph.from_networkx(G, default=0.4)
    assert g.labels == ("0", "1", "2", "3") and g.src.tolist() == h.src.tolist()
    assert g.dst.tolist() == h.dst.tolist() and torch.equal(g.weight, h.weight)
    # lines "u v {}" and attributes without weight take it; lines with p keep theirs
    path.write_text("a b {}\nb c {'kind': 'home'}\nc d 0.9\nd e {'weight': 0.1}\ne f\n")
    g = CascadeGraph.read_edgelist(path, default=0.4)
    assert g.weight.tolist() == [0.4, 0.4, 0.9, 0.1, 0.4]
    with pytest.raises(ValueError, match=r"g\.edgelist:1: edge \('a' -> 'b'\) has no "
                       r"attributes .*or pass default=P \(on the command line: --default P\)"):
        CascadeGraph.read_edgelist(path)
    for bad, error, match in ((1.5, ValueError, r"default: expected a probability in \[0, 1\]"
                               r" or None, got 1\.5"),
                              (float("nan"), ValueError, "default: .*got nan"),
                              (True, TypeError, "default: .*got True"),
                              ("0.4", TypeError, "default: .*got '0.4'")):
        with pytest.raises(error, match=match):
            CascadeGraph.read_edgelist(path, default=bad)


def test_one_random_index_case_is_the_mean_over_seeds_not_seed_prob_1_over_n():
    # README's recipe: EoN's fast_SIR without initial_infecteds (and NDlib's
    # fraction_infected) seed exactly one random index case; seed_prob=1/n seeds each node
    # independently (none at all w.p. (1 - 1/n)^n): BA tree of 100, w 0.6: means 13.41
    # against 11.66, P(size 0) 0 against 0.366
    g = CascadeGraph.from_networkx(nx.barabasi_albert_graph(100, 1, seed=0), default=0.6)
    one = sum(size_distribution(g, seeds=[v]) for v in g.labels) / g.n
    bernoulli = size_distribution(g, seed_prob=1 / g.n)
    k = torch.arange(g.n + 1, dtype=g.dtype)
    assert float(k @ one) == pytest.approx(13.41306, abs=1e-5) and float(one[0]) == 0
    assert float(k @ bernoulli) == pytest.approx(11.65791, abs=1e-5)
    assert float(bernoulli[0]) == pytest.approx(0.99**100, abs=1e-12)
    # README's tiny example: a path a - b - c at w 0.5
    p = CascadeGraph.from_networkx(nx.path_graph(["a", "b", "c"]), default=0.5)
    P = sum(size_distribution(p, seeds=[v]) for v in p.labels) / p.n
    assert P.tolist() == pytest.approx([0, 5 / 12, 1 / 3, 1 / 4], abs=1e-15)
