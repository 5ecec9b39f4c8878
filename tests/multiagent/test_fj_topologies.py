"""Named topologies, adjacency orientation, large random graphs; property tests of FJ."""

from __future__ import annotations

import re

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from multiagent import FriedkinJohnsen
from multiagent.topologies import TOPOLOGIES, adjacency, hub_and_leaf, make_graph, random_graph


@pytest.mark.parametrize("name", ["er", "ba"])
def test_seed_none_draws_from_pythons_global_random_as_documented(name):
    import random

    state = random.getstate()
    try:
        random.seed(11)
        seeded = random.getstate()
        a = sorted(make_graph(name, 30, seed=None).edges)
        moved = random.getstate() != seeded
        random.seed(11)
        b = sorted(make_graph(name, 30, seed=None).edges)
    finally:
        random.setstate(state)
    assert a == b and moved
    before = random.getstate()
    make_graph(name, 30, seed=3)  # a seed leaves the caller's generator alone
    assert random.getstate() == before


@pytest.mark.parametrize("name", TOPOLOGIES)
def test_every_topology_builds_a_connected_graph(name):
    G = make_graph(name, 15, seed=0)
    assert sorted(G.nodes) == list(range(15))
    if name != "er":
        assert nx.is_connected(G)


def test_topology_shapes():
    assert make_graph("star", 6).degree(0) == 5
    wheel = make_graph("wheel", 6)
    assert wheel.degree(0) == 5 and all(wheel.degree(i) == 3 for i in range(1, 6))
    tree = make_graph("tree", 7)
    assert {tuple(sorted(e)) for e in tree.edges} == {(0, 1), (0, 2), (1, 3), (1, 4), (2, 5),
                                                      (2, 6)}
    assert make_graph("chain", 5).number_of_edges() == 4
    assert make_graph("ring", 5).number_of_edges() == 5
    assert make_graph("complete", 5).number_of_edges() == 10
    assert hub_and_leaf(make_graph("star", 6)) == (0, 5)
    ba = make_graph("ba", 200, m=2, seed=1)
    assert ba.number_of_edges() == 2 * (200 - 2)


def test_hub_of_a_directed_graph_is_the_agent_most_agents_listen_to():
    # hub_and_leaf ranked a directed graph by graph.degree (in- plus out-edges): node 0,
    # which five agents speak to but which speaks to no one, was the hub (adversary
    # weight 0). An edge j -> i means j speaks to i, so the listeners of j are its
    # successors; a self-loop is no listener (adjacency drops it)
    D = nx.DiGraph([(k, 0) for k in range(1, 6)])  # 1..5 speak to 0
    D.add_edges_from([(1, 2), (2, 3), (3, 4), (4, 5), (5, 1), (2, 1), (1, 1)])
    assert dict(D.degree)[0] == 5 and D.out_degree(1) == 3  # what the old ranking saw
    assert hub_and_leaf(D) == (2, 0)  # 2 has three listeners, 0 none
    assert hub_and_leaf(D.to_undirected()) == (0, 5)  # undirected: by degree, as before
    assert hub_and_leaf(nx.DiGraph(make_graph("star", 6))) == (0, 5)  # both directions



def _tied_graphs() -> list[tuple[nx.Graph, tuple[int, int]]]:
    """Graphs with ties in degree, self-loops, parallel edges, nodes listed out of order."""
    D = nx.DiGraph()
    D.add_nodes_from([4, 2, 0, 1, 3, 5])  # listed out of order: ranked by index
    D.add_edges_from([(4, 0), (4, 1), (2, 2), (2, 3), (0, 4), (1, 5), (3, 3), (3, 1), (3, 4),
                      (5, 0), (5, 2), (1, 1)])
    M = nx.MultiDiGraph([(0, 1), (0, 1), (0, 1), (1, 2), (1, 0), (2, 0), (3, 3), (3, 3)])
    U = nx.MultiGraph()
    U.add_nodes_from([2, 0, 3, 1])
    U.add_edges_from([(0, 1), (0, 1), (1, 2), (3, 3), (2, 0)])
    F = nx.Graph([(1.0, 0), (2, 1.0)])  # node 1 labelled 1.0
    F.add_node(3)
    # known answers of the loop over each node's successors (and graph.degree(i)) it replaced
    return [(D, (3, 2)), (M, (1, 3)), (U, (0, 3)), (F, (1, 3)),
            (nx.complete_graph(5), (0, 4)), (nx.DiGraph(nx.cycle_graph(4)), (0, 3)),
            (nx.empty_graph(3, create_using=nx.DiGraph), (0, 2))]


def test_hub_and_leaf_counts_degrees_in_one_pass_and_breaks_ties_as_before(monkeypatch):
    # before: a Python loop over graph.successors(i) for every node, 0.5 s at 10^5 agents
    # and 2*10^5 edges, run 4 times per prunus fj simulate. The same hub and leaf: the
    # first node of highest degree, the last of lowest (the first if that is the hub)
    calls = []
    real = nx.DiGraph.successors

    def counting(self, n):  # noqa: ANN001, ANN202
        calls.append(n)
        return real(self, n)

    monkeypatch.setattr(nx.DiGraph, "successors", counting)
    for graph, expected in _tied_graphs():
        assert hub_and_leaf(graph) == expected
    assert calls == []  # before: one call per node


def test_hub_and_leaf_by_node_order_is_that_of_the_relabelled_graph():
    # what Scenario.adversary_nodes reads a user's graph by, without a relabelled copy
    from multiagent.topologies import _hub_and_leaf_by_order

    for graph, _ in _tied_graphs():
        named = nx.relabel_nodes(graph, {v: f"agent {v}" for v in graph})
        for g in (graph, named):
            assert _hub_and_leaf_by_order(g) == hub_and_leaf(make_graph(g, 0))
    graph = _tied_graphs()[0][0]
    assert _hub_and_leaf_by_order(graph) == (0, 3)  # nodes 4 and 1, first and fourth listed

def test_bad_topology_input():
    with pytest.raises(ValueError, match="unknown topology"):
        make_graph("hypercube", 4)
    with pytest.raises(ValueError, match=r"^n: expected an integer >= 2, got 1"):
        make_graph("ring", 1)


def test_a_float_number_of_agents_is_refused_like_every_other_count():
    # make_graph("ring", 6.0) and Scenario(n=6.0) simulated 6 agents, where every other
    # count of the package (rounds, questions, sleeper...) refuses a float
    from multiagent import Scenario

    for n in (6.0, 6.5, True):
        with pytest.raises(TypeError, match=r"^n: expected an integer >= 2"):
            make_graph("ring", n)
    with pytest.raises(TypeError, match=r"^n: expected an integer >= 2, got 6.0"):
        Scenario(n=6.0).model()
    assert make_graph("ring", np.int64(6)).number_of_edges() == 6
    assert make_graph(nx.path_graph(3), 2.5).number_of_nodes() == 3  # n ignored for a graph


def test_networkx_graph_and_directed_orientation():
    G = nx.relabel_nodes(nx.path_graph(3), {0: "a", 1: "b", 2: "c"})
    assert sorted(make_graph(G, 0).nodes) == [0, 1, 2]
    D = nx.DiGraph([(0, 1), (1, 2)])  # 0 speaks to 1, 1 speaks to 2
    A = adjacency(D)
    assert A[1, 0] == 1 and A[0, 1] == 0 and A[2, 1] == 1
    W = nx.Graph()
    W.add_edge(0, 1, weight=3.0)
    W.add_edge(1, 1)  # self-loops are dropped
    A = adjacency(W, sparse=True)
    assert sp.issparse(A) and A[0, 1] == 3.0 and A[1, 1] == 0


def test_readme_frame_of_a_directed_graph_matches_the_scenario_orientation():
    # the README's labelled-frame recipe: nx.to_pandas_adjacency puts a directed edge
    # "b speaks to a" at row b, where FJ reads "b listens to a"; its transpose is the
    # scenario's (and adjacency()'s) reading: a listens only to b
    D = nx.DiGraph([("b", "a"), ("c", "b"), ("b", "c")])
    frame = nx.to_pandas_adjacency(D).T
    model = FriedkinJohnsen.from_adjacency(frame, 0.2, 0.0)
    order = list(frame.index)
    a, b = order.index("a"), order.index("b")
    assert model.W[a, b] == 1.0 and model.W[b, a] == 0.0
    # every agent hears one speaker, so W is the scenario's adjacency itself
    np.testing.assert_array_equal(model.W, adjacency(make_graph(D, 0)))


@pytest.mark.parametrize("mapping", [{0: "a", 1: "b", 2: "c"}, {0: 1, 1: 2, 2: 3}])
def test_adjacency_of_a_graph_not_numbered_0_to_n_minus_1_is_named(mapping):
    # a graph read from an edge list (string nodes, or numbered from 1) failed with
    # networkx's "Node 0 in nodelist is not in G"
    G = nx.relabel_nodes(nx.path_graph(3), mapping)
    for call in (adjacency, hub_and_leaf):
        with pytest.raises(ValueError, match="expected the agents' nodes 0..2.*make_graph"):
            call(G)
    assert np.array_equal(adjacency(make_graph(G, 0)), adjacency(nx.path_graph(3)))


def test_random_graph_is_simple_and_symmetric():
    A = random_graph(5000, 20_000, seed=2)
    assert (A != A.T).nnz == 0
    assert A.diagonal().sum() == 0
    assert set(np.unique(A.data)) == {1.0}
    assert 19_000 < A.nnz // 2 <= 20_000


@st.composite
def _systems(draw):
    n = draw(st.integers(2, 7))
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    A = (rng.random((n, n)) < draw(st.floats(0.2, 1.0))).astype(float)
    np.fill_diagonal(A, 0)
    gamma = rng.uniform(0.01, 1.0, n)
    alpha = rng.uniform(0.0, 1.0, n)
    return A, gamma, alpha, rng.dirichlet(np.ones(3), size=n)


@settings(max_examples=40, deadline=None)
@given(_systems())
def test_equilibrium_is_a_fixed_point_and_a_convex_mixture(system):
    A, gamma, alpha, S = system
    fj = FriedkinJohnsen.from_adjacency(A, gamma, alpha)
    M = fj.influence_matrix()
    assert (M >= -1e-12).all()
    np.testing.assert_allclose(M.sum(axis=1), 1, atol=1e-10)
    B = fj.equilibrium(S)
    np.testing.assert_allclose(fj.step(B, S), B, atol=1e-12)
    np.testing.assert_allclose(B, M @ S, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning")
def test_torch_sparse_csr_backend(rng):
    A = adjacency(make_graph("ba", 100, m=2, seed=0))
    ref = FriedkinJohnsen.from_adjacency(A, 0.3, 0.4)
    At = torch.tensor(A).to_sparse_csr()
    fj = FriedkinJohnsen.from_adjacency(At, 0.3, 0.4)
    s = rng.random(100)
    np.testing.assert_allclose(fj.equilibrium(torch.tensor(s)).numpy(), ref.equilibrium(s),
                               atol=1e-10)
    np.testing.assert_allclose(fj.rollout(torch.tensor(s), 5).numpy(), ref.rollout(s, 5),
                               atol=1e-14)


def test_er_default_edge_probability_is_two_log_n_over_n():
    # p = 2 ln(200) / 200 = 0.053: about 1054 of the 19900 pairs (sd 32)
    G = make_graph("er", 200, seed=0)
    assert 900 < G.number_of_edges() < 1200


def test_read_adjacency_rows_listen_to_columns_and_edges_point_from_speaker(tmp_path):
    # the package's convention for A and W: A_ij > 0 when listener i hears speaker j; an
    # edge source -> target (source speaks to target) is a directed networkx edge j -> i
    from multiagent.topologies import read_adjacency

    (tmp_path / "m.csv").write_text(",ann,bob,007\nann,0,1,1\n007,0.5,0,0\nbob,1,0,2\n")
    frame = read_adjacency(tmp_path / "m.csv")
    assert list(frame.index) == list(frame.columns) == ["ann", "007", "bob"]  # text names
    assert frame.loc["007", "ann"] == 0.5 and frame.loc["bob", "007"] == 2.0
    assert frame.loc["ann", "007"] == 1.0 and frame.dtypes.eq(np.float64).all()
    (tmp_path / "e.csv").write_text("Source, Target, Weight\nann,bob,2\nbob,ann,1\nann,cy,1\n")
    edges = read_adjacency(tmp_path / "e.csv")
    assert list(edges.index) == ["ann", "bob", "cy"]  # in the order first named
    np.testing.assert_array_equal(edges.to_numpy(), [[0, 1, 0], [2, 0, 0], [1, 0, 0]])
    G = nx.DiGraph()
    G.add_weighted_edges_from([(0, 1, 2.0), (1, 0, 1.0), (0, 2, 1.0)])
    np.testing.assert_array_equal(adjacency(G), edges.to_numpy())  # networkx agrees
    (tmp_path / "u.csv").write_text("source,target\na,b\nb,a\n")
    assert read_adjacency(tmp_path / "u.csv").to_numpy().tolist() == [[0, 1], [1, 0]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (",a,b\na,0,1\nb,1,0\nc,1,1\n", "is not square: 3 rows (listeners) but 2 columns"),
        (",a,b\na,0,1\nc,1,0\n", "same agent labels as index (listeners) and columns "
                                "(speakers), each once; they differ in ['b', 'c']"),
        (",a,b\na,0,-1\nb,1,0\n", "weights must be finite numbers >= 0; line 2, column 'b' "
                                  "has '-1'"),
        (",a,b\na,0,x\nb,1,0\n", "line 2, column 'b' has 'x'"),
        (",a,b\na,1,1\nb,1,0\n", "agent 'a' hears itself"),
        ("source,target\na,a\n", "line 2 is a self-loop ('a' -> 'a')"),
        ("source,target,weight\na,b,-2\n", "line 2, column 'weight' has '-2'"),
        ("source,target\na,b\na,b\n", "line 3 repeats the edge 'a' -> 'b'"),
        ("source,target\na,\n", "line 2 names no target agent"),
        ("a\n1\n", "expected a square matrix with the agents' names as header and first "
                   "column (rows listen to columns), or an edge list"),
        (",a\na,0\n", "names 1 agent(s); a debate needs at least 2"),
    ],
)
def test_read_adjacency_says_what_is_wrong_and_what_was_expected(tmp_path, text, message):
    from multiagent.topologies import read_adjacency

    path = tmp_path / "g.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(message)) as err:
        read_adjacency(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # Gephi's export: "is not square: 2 rows (listeners) but 3 columns"
        ("Source,Target,Weight,type\nalice,bob,1,x\nbob,alice,2,y\n",
         "has the header Source,Target,Weight,type, which is not an edge list's: an edge "
         "list has exactly the columns source,target and optionally weight (any case, any "
         "order); remove the column 'type'"),
        # igraph / R: "weights must be finite numbers >= 0; line 2, column 'to' has 'bob'"
        ("from,to,weight\nalice,bob,1\nbob,alice,2\n",
         "has the header from,to,weight, which is not an edge list's: an edge list has "
         "exactly the columns source,target and optionally weight (any case, any order); "
         "rename 'from' to 'source' and 'to' to 'target'"),
        # prunus fj fit's own trust.csv: the speaker speaks to the listener
        ("question,listener,speaker,trust\n0,a,b,0.5\n0,b,a,1\n",
         "rename 'listener' to 'target', 'speaker' to 'source' and 'trust' to 'weight'; "
         "remove the column 'question'"),
        # read as an edge list, one of the two source columns silently
        ("source,target,Source\na,b,c\nb,a,d\n", "remove the column 'Source' (it repeats "
                                                   "'source')"),
        ("source,weight\na,1\nb,2\n", "add the column 'target'"),
        ("source;target;weight\na;b;1\nb;a;2\n", "fields separated by ';'? The columns "
                                                   "must be separated by commas"),
    ],
)
def test_an_edge_list_with_other_columns_says_which_header_is_expected(tmp_path, text,
                                                                       message):
    from multiagent.topologies import read_adjacency

    path = tmp_path / "edges.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(message)) as err:
        read_adjacency(path)
    assert str(err.value).startswith(repr(str(path)))


def test_a_matrix_whose_agents_have_edge_list_column_names_is_still_read(tmp_path):
    # the edge-list wording above is given only when the matrix layout fails too
    from multiagent.topologies import read_adjacency

    path = tmp_path / "m.csv"
    path.write_text("agent,source,to\nsource,0,1\nto,2,0\n")
    assert read_adjacency(path).to_numpy().tolist() == [[0, 1], [2, 0]]


def test_a_labelled_graph_is_pointed_first_to_the_frame_that_keeps_its_labels():
    # the message suggested make_graph or nx.convert_node_labels_to_integers only, which
    # number the nodes and drop the labels (florentine_families_graph's family names)
    G = nx.florentine_families_graph()
    with pytest.raises(ValueError) as raised:
        adjacency(G)
    message = str(raised.value)
    assert "nx.to_pandas_adjacency(graph)" in message
    assert message.index("to_pandas_adjacency") < message.index("make_graph")

    frame = nx.to_pandas_adjacency(G)  # the recipe works and keeps the names
    assert FriedkinJohnsen.from_adjacency(frame, 0.2, 0.5).n == 15


def test_r_matrices_and_edge_lists_written_with_a_row_index_are_read(tmp_path):
    # before: R's write.table(m, sep=",") (no header cell above the row names) gave "is not
    # square: 3 rows (listeners) but 2 columns of agents (speakers)", and an edge list
    # saved with df.to_csv() (its row index first, under an empty header cell) "weights
    # must be finite numbers >= 0; line 2, column 'source' has 'ann'"
    import pandas as pd

    from multiagent.topologies import read_adjacency

    (tmp_path / "m.csv").write_text(",ann,bob,007\nann,0,1,1\n007,0.5,0,0\nbob,1,0,2\n")
    want = read_adjacency(tmp_path / "m.csv")
    (tmp_path / "r.csv").write_text('"ann","bob","007"\n"ann",0,1,1\n"007",0.5,0,0\n'
                                    '"bob",1,0,2\n')  # write.table(m, sep=",")
    pd.testing.assert_frame_equal(read_adjacency(tmp_path / "r.csv"), want)
    edges = pd.DataFrame({"source": ["ann", "bob", "ann"], "target": ["bob", "ann", "cy"],
                          "weight": [2.0, 1.0, 1.0]})
    edges.to_csv(tmp_path / "plain.csv", index=False)
    want = read_adjacency(tmp_path / "plain.csv")
    assert want.to_numpy().tolist() == [[0, 1, 0], [2, 0, 0], [1, 0, 0]]
    edges.to_csv(tmp_path / "e.csv")  # ",source,target,weight\n0,ann,bob,2.0\n..."
    pd.testing.assert_frame_equal(read_adjacency(tmp_path / "e.csv"), want)
    # R: write.csv(edges) (a header cell "" above the row names 1, 2, 3) and write.table
    (tmp_path / "w.csv").write_text('"","source","target","weight"\n"1","ann","bob",2\n'
                                    '"2","bob","ann",1\n"3","ann","cy",1\n')
    pd.testing.assert_frame_equal(read_adjacency(tmp_path / "w.csv"), want)
    (tmp_path / "t.csv").write_text('"source","target","weight"\n"1","ann","bob",2\n'
                                    '"2","bob","ann",1\n"3","ann","cy",1\n')
    pd.testing.assert_frame_equal(read_adjacency(tmp_path / "t.csv"), want)
    # a matrix of agents named source and target is still a matrix, bad cells named as such
    (tmp_path / "s.csv").write_text(",source,target\nsource,0,1\ntarget,2,0\n")
    assert read_adjacency(tmp_path / "s.csv").to_numpy().tolist() == [[0, 1], [2, 0]]
    (tmp_path / "s.csv").write_text(",source,target\nsource,0,x\ntarget,2,0\n")
    with pytest.raises(ValueError, match="line 2, column 'target' has 'x'"):
        read_adjacency(tmp_path / "s.csv")


def test_an_edge_list_whose_weights_have_no_header_name_is_refused(tmp_path):
    # "source,target" over lines "a,b,2": pandas took the sources for R's row names and read
    # the edges b -> 2 and c -> 1 among the agents b, 2, c and 1, silently
    from multiagent.topologies import read_adjacency

    for text in ("source,target\na,b,2\nb,c,1\n", "source,target\n1,2,0.5\n2,3,1\n"):
        (tmp_path / "e.csv").write_text(text)
        with pytest.raises(ValueError, match=r"its lines have 3 fields but its header "
                           r"source,target names 2; .* name it: source,target,weight"):
            read_adjacency(tmp_path / "e.csv")
    # R's write.table(edges, sep=",") row names, 1..n or a subset's, stay row names
    for names in (("1", "2"), ("4", "9")):
        (tmp_path / "r.csv").write_text(f'"source","target"\n"{names[0]}","a","b"\n'
                                        f'"{names[1]}","b","c"\n')
        assert read_adjacency(tmp_path / "r.csv").to_numpy().tolist() == [
            [0, 0, 0], [1, 0, 0], [0, 1, 0]]



def test_a_separator_closing_each_data_line_is_not_taken_for_row_names(tmp_path):
    # data lines "a,0,1," under ",a,b" were read as R's row names, and refused as "not
    # square: 2 rows (listeners) but 3 columns", then as "line 2, column 'b' has nothing"
    # (column b holds 1): the separator closing each line is named
    from multiagent.topologies import read_adjacency

    (tmp_path / "m.csv").write_text(",a,b\na,0,1,\nb,1,0,\n")
    with pytest.raises(ValueError, match="its data lines end with a ',' that its header line "
                       "lacks"):
        read_adjacency(tmp_path / "m.csv")


def test_fj_fit_trust_table_follows_its_advice_into_an_adjacency(tmp_path):
    # prunus fj fit's trust.csv (question,listener,speaker,trust; every pair, the diagonal
    # at 0): the advice said to rename and remove 'question', after which the zero diagonal
    # was refused as self-loops, with advice for agents without ties; 'w' was to be removed
    import pandas as pd

    from multiagent.topologies import read_adjacency

    rows = [(q, a, b, 0.0 if a == b else (0.25 if (a, b) == ("x", "y") else 0.5))
            for q in (0, 1) for a in "xyz" for b in "xyz"]
    table = pd.DataFrame(rows, columns=["question", "listener", "speaker", "trust"])
    table.to_csv(tmp_path / "trust.csv", index=False)
    with pytest.raises(ValueError, match=r"remove the column 'question' \(keeping one "
                       r"question's rows, e\.g\. df\[df\['question'\] == q\]\)"):
        read_adjacency(tmp_path / "trust.csv")
    one = table[table["question"] == 0].drop(columns="question").rename(
        columns={"listener": "target", "speaker": "source", "trust": "weight"})
    one.to_csv(tmp_path / "one.csv", index=False)
    W = read_adjacency(tmp_path / "one.csv")
    assert list(W.index) == ["x", "y", "z"] and np.diag(W.to_numpy()).tolist() == [0, 0, 0]
    assert W.loc["x", "y"] == 0.25 and W.loc["z", "x"] == 0.5  # row x hears y at 0.25
    (tmp_path / "w.csv").write_text("from,to,w\na,b,2\n")
    with pytest.raises(ValueError, match=r"rename 'from' to 'source', 'to' to 'target' and "
                       r"'w' to 'weight'"):
        read_adjacency(tmp_path / "w.csv")
    (tmp_path / "loop.csv").write_text("source,target,weight\na,a,0.5\na,b,1\n")
    with pytest.raises(ValueError, match="line 2 is a self-loop"):
        read_adjacency(tmp_path / "loop.csv")


def test_utf16_text_inside_a_compressed_file_is_read(tmp_path):
    # the encoding was taken from the compressed bytes: a .csv.gz of Excel's "Unicode Text"
    # (UTF-16) was refused as "a binary file (it has NUL bytes)", as the plain file is not
    import gzip

    from multiagent.topologies import read_adjacency

    text = ",a,b\na,0,1\nb,0.5,0\n"
    (tmp_path / "m.csv.gz").write_bytes(gzip.compress(text.encode("utf-16")))
    (tmp_path / "m.csv").write_text(text)
    assert read_adjacency(tmp_path / "m.csv.gz").equals(read_adjacency(tmp_path / "m.csv"))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
@pytest.mark.parametrize("damage", ["crc", "cut"])
def test_damaged_compressed_files_are_named(tmp_path, encoding, damage):
    # a gzip cut short or with a failed CRC escaped read_adjacency and read_transcripts as
    # a bare EOFError or BadGzipFile ("CRC check failed"), naming no file
    import gzip

    from multiagent.topologies import read_adjacency
    from multiagent.transcripts import read_transcripts

    def damaged(text: str) -> bytes:
        data = bytearray(gzip.compress(text.encode(encoding)))
        if damage == "crc":
            data[-8] ^= 0xFF  # the stored CRC32
            return bytes(data)
        return bytes(data[: len(data) // 2])

    (tmp_path / "m.csv.gz").write_bytes(damaged(",a,b\na,0,1\nb,0.5,0\n"))
    rows = "".join(f"{r},a,x,0.5\n{r},a,y,0.5\n" for r in range(50))
    (tmp_path / "t.csv.gz").write_bytes(damaged("round,agent,option,belief\n" + rows))
    for read, name in ((read_adjacency, "m.csv.gz"), (read_transcripts, "t.csv.gz")):
        with pytest.raises(ValueError, match=rf"{name}': its compressed data are damaged or "
                                             r"cut short \("):
            read(tmp_path / name)
