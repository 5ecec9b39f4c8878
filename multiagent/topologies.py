"""Communication graphs for agent networks: named topologies, networkx graphs, large random graphs.

Conventions: nodes are ``0..n-1``; in ``star`` and ``wheel`` node 0 is the hub; an edge
``{i, j}`` means ``i`` and ``j`` hear each other; in a directed networkx graph an edge
``j -> i`` means ``j`` speaks to ``i`` (see :func:`adjacency`).  ``wheel`` is MAS-Cascade's
"star" (hub plus a ring among the leaves); ``star`` is its "pure star".
"""

from __future__ import annotations

from typing import Literal

import networkx as nx
import numpy as np
import scipy.sparse as sp

from multiagent._sparse import drop_diagonal

__all__ = [
    "TOPOLOGIES",
    "Topology",
    "make_graph",
    "adjacency",
    "hub_and_leaf",
    "random_graph",
]

# dense adjacencies above this many bytes are refused (4 GB: 22,000 agents)
_DENSE_LIMIT = 4e9

#: Above this many agents an Erdős–Rényi graph is drawn in O(n + edges), not O(n^2).
_FAST_GNP = 2000

Topology = Literal["complete", "star", "ring", "chain", "wheel", "tree", "er", "ba"]
TOPOLOGIES: tuple[str, ...] = ("complete", "star", "ring", "chain", "wheel", "tree", "er", "ba")


def make_graph(
    name: Topology | nx.Graph,
    n: int,
    *,
    p: float | None = None,
    m: int = 2,
    seed: int | None = None,
) -> nx.Graph:
    """Build a named topology on ``n`` agents (or pass a networkx graph through).

    Parameters
    ----------
    name
        ``"complete"``, ``"star"`` (hub 0), ``"ring"``, ``"chain"``, ``"wheel"`` (hub 0 plus
        a ring among the leaves), ``"tree"`` (binary, heap order: parent of ``i`` is
        ``(i - 1) // 2``), ``"er"`` (Erdős–Rényi ``G(n, p)``, default ``p = 2 log(n)/n``;
        above 2,000 agents drawn by networkx's ``fast_gnp_random_graph``, the same
        distribution in O(n + edges) time, so a seed gives another graph there)
        or ``"ba"`` (Barabási–Albert with ``m`` edges per new node); or a networkx graph,
        relabelled to ``0..n-1`` in its node order.  MAS-Cascade's names differ: its
        "star" is ``"wheel"``, its "pure_star" is ``"star"`` and its "circle" is ``"ring"``.
    n
        Number of agents, an integer >= 2 (ignored for a networkx graph).
    p, m, seed
        Random-graph parameters and seed. ``seed=None`` draws from Python's global
        ``random`` generator (networkx's rule), so it advances the caller's
        ``random`` state, and ``random.seed`` beforehand makes the graph reproducible.

    Returns
    -------
    networkx.Graph
        Nodes ``0..n-1``.

    Examples
    --------
    >>> make_graph("star", 6).degree(0)
    5
    """
    if isinstance(name, nx.Graph):
        return nx.convert_node_labels_to_integers(name, ordering="default")
    # networkx said "a cannot be used to generate a random.Random instance"; core imports
    # torch, which importing this module alone does not need
    from core.checks import check_count, check_number, check_seed

    # check_count, as every other count: n=6.0 was taken as 6 agents
    n = check_count("n", n, at_least=2)
    seed = check_seed(seed)
    if name == "complete":
        return nx.complete_graph(n)
    if name == "star":
        return nx.star_graph(n - 1)
    if name == "ring":
        return nx.cycle_graph(n)
    if name == "chain":
        return nx.path_graph(n)
    if name == "wheel":
        return nx.wheel_graph(n)
    if name == "tree":
        G = nx.Graph()
        G.add_nodes_from(range(n))
        G.add_edges_from((i, (i - 1) // 2) for i in range(1, n))
        return G
    if name == "er":
        # check_number: p=True was read as 1 (a complete graph), p="0.5" failed in a compare
        prob = (min(1.0, 2 * np.log(n) / n) if p is None
                else check_number("p", p, at_least=0, at_most=1))
        if n > _FAST_GNP:  # gnp_random_graph tries all n^2/2 pairs: 7 s at 1e4, minutes at 1e5
            return nx.fast_gnp_random_graph(n, prob, seed=seed)
        return nx.gnp_random_graph(n, prob, seed=seed)
    if name == "ba":
        # check_count: networkx read m=np.array(2) as a list of nodes (another graph), and
        # m=True as 1 edge per node
        m = check_count("m", m)
        if not m < n:
            raise ValueError(f"m must be in [1, n), got {m}")
        return nx.barabasi_albert_graph(n, m, seed=seed)
    raise ValueError(f"unknown topology {name!r}; expected one of {TOPOLOGIES} or a networkx graph")


def adjacency(
    graph: nx.Graph, *, weight: str | None = "weight", sparse: bool = False
) -> np.ndarray | sp.csr_array:
    """Adjacency ``A`` with ``A_ij > 0`` when agent ``i`` listens to agent ``j``.

    For a directed graph an edge ``j -> i`` (``j`` speaks to ``i``) gives ``A_ij``; an
    undirected graph gives a symmetric ``A``.  Self-loops are dropped (peer-resistance
    ``alpha`` carries the self-weight).

    Parameters
    ----------
    graph
        A networkx graph with nodes ``0..n-1``.
    weight
        Edge attribute holding weights (missing -> 1); None for unweighted.
    sparse
        Return a scipy CSR array instead of a dense array (every model accepts it; use it
        for large graphs: a dense adjacency of 10^5 agents takes 80 GB).

    Returns
    -------
    The ``(n, n)`` adjacency.

    Raises
    ------
    ValueError
        If the nodes are not ``0..n-1`` (relabel with :func:`make_graph`), or the dense
        array would take more than ``_DENSE_LIMIT`` bytes (pass ``sparse=True``).
    """
    _check_agent_nodes(graph)
    n = graph.number_of_nodes()
    if not sparse and 8 * n * n > _DENSE_LIMIT:  # numpy's MemoryError did not say why
        raise ValueError(f"a dense adjacency of {n} agents takes {8 * n * n / 1e9:.1f} GB; "
                         "pass sparse=True (a scipy CSR array, which every model accepts)")
    nodes = list(range(n))
    A = nx.to_scipy_sparse_array(graph, nodelist=nodes, weight=weight, format="csr",
                                 dtype=np.float64)
    if graph.is_directed():
        A = sp.csr_array(A.T)
    A = drop_diagonal(A)
    return A if sparse else A.toarray()


def _check_agent_nodes(graph: nx.Graph) -> None:
    """Refuse a graph whose nodes are not the agent indices ``0..n-1``.

    networkx's "Node 0 in nodelist is not in G" did not say why: a graph read from an edge
    list has string nodes, or nodes numbered from 1.
    """
    if not isinstance(graph, nx.Graph):
        raise TypeError(f"graph: expected a networkx graph, got {type(graph).__name__}")
    n = graph.number_of_nodes()
    missing = next((i for i in range(n) if i not in graph), None)
    if missing is not None:
        some = [v for v, _ in zip(graph.nodes(), range(5))]
        raise ValueError(
            f"graph: expected the agents' nodes 0..{n - 1}, but node {missing} is missing "
            f"(nodes {some}...); relabel it with make_graph(graph, n) or "
            "nx.convert_node_labels_to_integers(graph), which number the nodes in their order"
        )


def hub_and_leaf(graph: nx.Graph) -> tuple[int, int]:
    """Return a highest-degree node (the hub) and a lowest-degree node (a leaf).

    Parameters
    ----------
    graph
        Graph with nodes ``0..n-1`` (as :func:`make_graph` builds).

    Returns
    -------
    hub, leaf
        The first node of highest degree and the last node of lowest degree (the first
        one if that is the hub, as on a complete graph).
    """
    _check_agent_nodes(graph)
    deg = np.array([graph.degree(i) for i in range(graph.number_of_nodes())])
    hub = int(np.argmax(deg))
    order = np.flatnonzero(deg == deg.min())
    leaf = int(order[-1]) if order[-1] != hub else int(order[0])
    return hub, leaf


def random_graph(n: int, m: int, *, seed: int | None = None) -> sp.csr_array:
    """Draw a large undirected random graph with about ``m`` edges as a symmetric CSR array.

    Edges are ``m`` uniformly random node pairs (self-loops and duplicates removed), the
    ``G(n, m)`` model up to a vanishing fraction of collisions; built in vectorised numpy,
    so a million nodes take about a second (networkx would take minutes).

    Parameters
    ----------
    n, m
        Nodes and requested edges.
    seed
        Seed for ``numpy.random.default_rng``; None draws fresh entropy (another graph on
        every call).

    Returns
    -------
    scipy.sparse.csr_array
        Symmetric 0/1 adjacency, float64.
    """
    from core.checks import check_count, check_seed  # see make_graph

    # numpy said "high <= 0" or "negative dimensions are not allowed"
    n, m = check_count("n", n), check_count("m", m, at_least=0)
    rng = np.random.default_rng(check_seed(seed))
    i = rng.integers(0, n, size=m)
    j = rng.integers(0, n, size=m)
    keep = i != j
    i, j = i[keep], j[keep]
    A = sp.coo_array((np.ones(2 * i.size), (np.r_[i, j], np.r_[j, i])), shape=(n, n)).tocsr()
    A.data[:] = 1.0  # duplicates summed above: back to 0/1
    return A

