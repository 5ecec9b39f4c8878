"""Communication graphs for agent networks: named topologies, networkx graphs, large random graphs.

Conventions: nodes are ``0..n-1``; in ``star`` and ``wheel`` node 0 is the hub; an edge
``{i, j}`` means ``i`` and ``j`` hear each other; in a directed networkx graph an edge
``j -> i`` means ``j`` speaks to ``i`` (see :func:`adjacency`).  ``wheel`` is MAS-Cascade's
"star" (hub plus a ring among the leaves); ``star`` is its "pure star".
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING, Any, Literal

import networkx as nx
import numpy as np
import scipy.sparse as sp

from multiagent._sparse import drop_diagonal

if TYPE_CHECKING:  # pragma: no cover - pandas is imported by read_adjacency only
    import pandas as pd

__all__ = [
    "TOPOLOGIES",
    "Topology",
    "make_graph",
    "adjacency",
    "hub_and_leaf",
    "random_graph",
    "read_adjacency",
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
        If the nodes are not ``0..n-1`` (pass ``nx.to_pandas_adjacency(graph)`` to keep
        their labels, or relabel with :func:`make_graph`), or the dense
        array would take more than ``_DENSE_LIMIT`` bytes (pass ``sparse=True``).
    """
    _check_agent_nodes(graph, frame_instead=True)
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


def _check_agent_nodes(graph: nx.Graph, *, frame_instead: bool = False) -> None:
    """Refuse a graph whose nodes are not the agent indices ``0..n-1``.

    networkx's "Node 0 in nodelist is not in G" did not say why: a graph read from an edge
    list has string nodes, or nodes numbered from 1.  ``frame_instead``: the caller also
    takes the labelled ``nx.to_pandas_adjacency(graph)`` (what an adjacency is for), which
    the message then offers first.
    """
    if not isinstance(graph, nx.Graph):
        raise TypeError(f"graph: expected a networkx graph, got {type(graph).__name__}")
    n = graph.number_of_nodes()
    missing = next((i for i in range(n) if i not in graph), None)
    if missing is not None:
        some = [v for v, _ in zip(graph.nodes(), range(5))]
        # the labelled frame first: make_graph and convert_node_labels_to_integers number
        # the nodes and drop their labels (the families of florentine_families_graph)
        keep = ("to keep the nodes' labels use nx.to_pandas_adjacency(graph) instead (a "
                "labelled DataFrame, which models and fits read by label; its transpose .T "
                "for a directed graph), or " if frame_instead else "")
        raise ValueError(
            f"graph: expected the agents' nodes 0..{n - 1}, but node {missing} is missing "
            f"(nodes {some}...); {keep}relabel it with make_graph(graph, n) or "
            "nx.convert_node_labels_to_integers(graph), which number the nodes in their "
            f"order{' and drop the labels' if frame_instead else ''}"
        )


def hub_and_leaf(graph: nx.Graph) -> tuple[int, int]:
    """Return a highest-degree node (the hub) and a lowest-degree node (a leaf).

    On an undirected graph the degree is the number of edges at a node.  On a directed
    graph, where an edge ``j -> i`` means ``j`` speaks to ``i`` (see :func:`adjacency`), it
    is the number of agents who listen to the node: its successors other than itself
    (its out-degree without a self-loop).  The hub is the agent heard by the most agents,
    a leaf one heard by the fewest (possibly none).

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
    # each node at its own index (found also for a label 1.0 or np.int64(1), equal to 1)
    n = graph.number_of_nodes()
    return _hub_and_leaf_of(_degrees(graph, {i: i for i in range(n)}))


def _hub_and_leaf_by_order(graph: nx.Graph) -> tuple[int, int]:
    """:func:`hub_and_leaf` of ``graph`` relabelled ``0..n-1`` in its node order.

    What ``hub_and_leaf(make_graph(graph, n))`` returns, without the relabelled copy
    (1.7 s at 10^5 agents and 2*10^5 edges): a node's degree does not change with its
    label.  Any node labels.
    """
    return _hub_and_leaf_of(_degrees(graph, {v: i for i, v in enumerate(graph)}))


def _degrees(graph: nx.Graph, index: dict[Any, int]) -> np.ndarray:
    """Each node's degree as :func:`hub_and_leaf` counts it, at ``index[node]``.

    One pass over networkx's degree view or successor dicts: a Python loop over each
    node's successors took 0.5 s at 10^5 agents and 2*10^5 edges.
    """
    if graph.is_directed():
        # distinct successors less a self-loop (graph.degree counted in- and out-edges
        # together: an agent that many speak to but that speaks to no one was the hub,
        # an adversary nobody hears)
        pairs = [(v, len(succ) - (v in succ)) for v, succ in graph.succ.items()]
    else:
        pairs = list(graph.degree)  # as graph.degree(i): a self-loop counts twice
    deg = np.zeros(len(index), dtype=np.int64)
    at = np.fromiter((index[v] for v, _ in pairs), dtype=np.int64, count=len(pairs))
    deg[at] = np.fromiter((d for _, d in pairs), dtype=np.int64, count=len(pairs))
    return deg


def _hub_and_leaf_of(deg: np.ndarray) -> tuple[int, int]:
    """Return the first index of highest ``deg`` and the last of lowest (first if the hub)."""
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


#: Header of an edge-list CSV (any case, any order): ``source`` speaks to ``target``.
_EDGE_COLUMNS = ({"source", "target"}, {"source", "target", "weight"})

#: Other tools' names of the edge-list columns (lower case), for messages only: igraph and R
#: write from,to; prunus fj fit's trust.csv listener,speaker,trust (the speaker speaks).
_EDGE_ALIASES = {"from": "source", "src": "source", "sender": "source", "speaker": "source",
                 "to": "target", "dst": "target", "dest": "target", "destination": "target",
                 "receiver": "target", "listener": "target", "trust": "weight",
                 "weights": "weight", "value": "weight", "w": "weight", "p": "weight",
                 "prob": "weight", "strength": "weight"}


def _edge_list_fixes(header: list[str]) -> str | None:
    """Say how to turn ``header`` into an edge list's, or None if it is not meant as one.

    A header is taken as meant for an edge list when its first cell names a column (a
    square matrix as ``to_csv`` writes it leaves that cell empty) and some column is
    ``source``, ``target`` or ``weight`` (any case) or another tool's name for one of them.
    """
    if not header or not header[0] or header[0].lower().startswith("unnamed:"):
        return None
    lowered = [c.lower() for c in header]
    if not set(lowered) & ({"source", "target", "weight"} | set(_EDGE_ALIASES)):
        return None
    have = {c for c in lowered if c in ("source", "target", "weight")}
    renames, extras, seen = [], [], set()
    for column, low in zip(header, lowered):
        if low in ("source", "target", "weight"):
            if low in seen:
                extras.append(f"{column!r} (it repeats {low!r})")
            seen.add(low)
        elif _EDGE_ALIASES.get(low) not in (None, *have):
            have.add(_EDGE_ALIASES[low])
            renames.append(f"{column!r} to {_EDGE_ALIASES[low]!r}")
        elif low == "question":
            # prunus fj fit's trust.csv holds every question's trust: removed alone, its
            # edges repeated ("line k repeats the edge")
            extras.append(f"{column!r} (keeping one question's rows, e.g. "
                          f"df[df[{column!r}] == q])")
        else:
            extras.append(repr(column))

    def listed(items: list[str]) -> str:
        return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"

    fixes = []
    if renames:
        fixes.append(f"rename {listed(renames)}")
    if extras:
        fixes.append(f"remove the column{'s' if len(extras) > 1 else ''} {listed(extras)}")
    missing = [repr(c) for c in ("source", "target") if c not in have]
    if missing:
        fixes.append(f"add the column{'s' if len(missing) > 1 else ''} {listed(missing)}")
    return "; ".join(fixes)


def _is_edge_header(header: list[str]) -> bool:
    """Whether ``header`` is an edge list's: source, target and optionally weight, once."""
    lowered = {c.lower() for c in header}
    # each column once in any case: "source,target,Source" read one of the two sources
    return lowered in _EDGE_COLUMNS and len(header) == len(lowered)


def _row_index_first(header: list[str], first: list[str]) -> bool:
    """Whether a table is an edge list after a row index (``first``, its first column).

    ``DataFrame.to_csv()`` writes the index first under an empty header cell (pandas reads
    it as ``Unnamed: 0``), R's ``write.csv`` its row names under ``""``. A square matrix of
    agents named ``source`` and ``target`` has the same header, and names them in its
    first column: that is still read as a matrix.
    """
    return (len(header) > 1 and (not header[0] or header[0].lower().startswith("unnamed:"))
            and _is_edge_header(header[1:]) and set(first) != set(header[1:]))


def _r_row_names(first: list[str], last: list[str]) -> bool:
    """Whether ``first``, fields before a ``source,target`` header's, are R's row names.

    R's ``write.table`` numbers the rows (1..n, other whole numbers after a subset); under
    a header without ``weight`` those are row names unless the last fields are numbers too,
    which makes them as likely the weights of edges between numbered agents.
    """
    from core.textfiles import reads_as_number

    return all(f.isdigit() for f in first) and not all(map(reads_as_number, last))


def _with_row_names(raw: pd.DataFrame) -> pd.DataFrame:
    """Return ``raw`` with the row names that pandas took as its index as its first column.

    R's ``write.table(m, sep=",")`` writes no header cell above the row names, so each line
    has a field more than the header, and ``read_csv`` makes the first field the index: a
    matrix then read as "not square: 2 rows ... but 1 columns". Others are kept as they are,
    and so is a header of one field (``a;b``, a line ``x;1,5``: not R's, and named so).
    """
    import pandas as pd

    if (raw.index.nlevels == 1 and not isinstance(raw.index, pd.RangeIndex)
            and raw.shape[1] > 1 and not (raw.iloc[:, -1] == "").all()):
        # (a last field empty on every line is a separator closing each data line, not R's
        # row names: it was "not square", where the reading as written names the cell)
        return raw.rename_axis("").reset_index()
    return raw


def _csv_source(path: str | os.PathLike[str], encoding: str
                ) -> str | os.PathLike[str] | io.StringIO:
    r"""Return what :func:`read_adjacency` gives ``pandas.read_csv``: ``path``, or its text.

    R's ``write.table`` (``qmethod = "escape"``, its default) writes the name ``Bob "B"``
    as ``"Bob \"B\""``, which was read as ``Bob \B\""``. Such a file is not well-formed CSV
    as written, and is once each ``\"`` is written ``""``, as ``write.csv`` writes a quote:
    that text is returned, other backslashes kept (R escapes quotes only). Any other file
    is read as it is, a ``write.csv`` file whose names hold ``\"`` or end in ``\`` too.
    """
    import csv

    from core.textfiles import READ_ERRORS, compression, open_text

    def well_formed(text: str) -> bool:
        try:
            for _ in csv.reader(io.StringIO(text, newline=""), strict=True,
                                skipinitialspace=True):
                pass
        except csv.Error:
            return False
        return True

    try:
        with open_text(path, compression(path), encoding, newline="") as handle:
            text = handle.read()
    except (*READ_ERRORS, UnicodeError):  # pandas reports the problem
        return path
    if '\\"' not in text or well_formed(text):
        return path
    unescaped = text.replace('\\"', '""')
    return io.StringIO(unescaped) if well_formed(unescaped) else path


def _is_edge_list_file(path: str | os.PathLike[str]) -> bool:
    """Whether :func:`read_adjacency` reads the file ``path`` as an edge list.

    For a file it has read: the header decides, and the first column where a header cell
    without a name comes before an edge list's (a row index, or a matrix's agents).
    """
    import pandas as pd

    from core.checks import text_encoding

    encoding = text_encoding(path, decompressed=True)
    source = _csv_source(path, encoding)  # once: it reads the whole file

    def table(rows: int | None) -> tuple[list[str], pd.DataFrame]:
        if isinstance(source, io.StringIO):
            source.seek(0)  # the text of an R-escaped file, read again from its start
        raw = _with_row_names(pd.read_csv(source, dtype=str, keep_default_na=False,
                                          skipinitialspace=True, nrows=rows,
                                          encoding=encoding))
        return [str(c).strip() for c in raw.columns], raw

    header, _ = table(1)  # the header, and the first line for R's row names
    if _is_edge_header(header):
        return True
    if not _row_index_first(header, []):
        return False
    header, raw = table(None)  # a row index or a matrix's agents: as the reader decides
    return _row_index_first(header, raw.iloc[:, 0].str.strip().tolist())


def read_adjacency(path: str | os.PathLike[str]) -> pd.DataFrame:
    r"""Read a user's communication graph from a CSV file as a labelled adjacency.

    Two layouts are read:

    - a square matrix with the agents' names as header and first column (as
      ``DataFrame.to_csv`` writes it and ``pandas.read_csv(path, index_col=0)`` reads it),
      in the package's convention for ``A`` and ``W``: **rows are listeners, columns
      speakers**, so a nonzero entry in row ``i``, column ``j`` means agent ``i`` hears
      agent ``j`` (columns may be listed in another order than the rows);
    - an edge list with the header ``source,target`` and optionally ``weight`` (default
      1), one directed edge a line: ``source`` speaks to ``target`` (the edge ``j -> i``
      of a directed networkx graph, see :func:`adjacency`); agents that hear each other
      need both lines. Agents are numbered in the order they first appear. The header
      names these columns only, each once, in any case and order: a file with other
      columns (Gephi's ``type``) or other names (``from,to``) is refused, and the message
      says which columns to rename, remove or add.

    A matrix written by R's ``write.table(m, sep=",")``, without a header cell above the
    row names and with a quote in a name written ``\"``, is read as well; so is an edge
    list with a row index first, under a header cell without a name
    (``DataFrame.to_csv()`` without ``index=False``, R's ``write.csv``): the index is
    ignored.  Weights are non-negative (0: no edge);
    self-loops are refused, since an agent's weight on its own belief is the
    peer-resistance ``alpha``, not trust, unless their weight is 0 (no tie: ``prunus fj
    fit``'s ``trust.csv`` lists every pair, the diagonal at 0).

    Parameters
    ----------
    path
        The CSV file (UTF-8, or UTF-16 with a byte-order mark).

    Returns
    -------
    pandas.DataFrame
        ``(n, n)`` float64 weights, listeners as index and speakers as columns, both the
        agents' names as text in the file's order; what :func:`~multiagent.fit_fj` and
        :meth:`~multiagent.FriedkinJohnsen.from_adjacency` take as ``adjacency``.  It is
        dense, ``8 n^2`` bytes (20,000 agents: 3.2 GB); ``prunus fj simulate --adjacency``
        reads an edge list into a sparse graph instead.

    Raises
    ------
    ValueError
        If the file is neither layout (an edge list's header with other columns), is not
        square, its header and first column name different agents, a weight is not a
        finite number >= 0, an agent hears itself, an edge is given twice, or fewer than
        two agents are named. The message names the file and what was expected.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "g.csv"
    >>> _ = path.write_text("source,target\nann,bob\nbob,ann\nann,cy\n")
    >>> read_adjacency(path).loc["cy"].tolist()  # cy hears ann
    [1.0, 0.0, 0.0]
    """
    import pandas as pd

    labels, A = _read_adjacency_file(path, sparse=False)
    return pd.DataFrame(A, index=pd.Index(labels, dtype=object),
                        columns=pd.Index(labels, dtype=object))


def _read_adjacency_file(path: str | os.PathLike[str], *, sparse: bool
                         ) -> tuple[list[str], np.ndarray | sp.csr_array]:
    """Read the file of :func:`read_adjacency`: the agents' names and the weights ``A``.

    ``sparse``: ``A`` as a CSR array (rows listeners, columns speakers), which an edge list
    fills without the dense ``(n, n)`` array (a 20,000-agent, 40,000-edge list took 3.4 GB
    and 12-14 s through the dense array); a matrix file is read dense, as it is written.
    Otherwise a dense array, as :func:`read_adjacency` returns it.
    """
    import pandas as pd

    from core.checks import comment_line_note, not_utf8_text, text_encoding
    from core.frames import square_frame_values
    from core.textfiles import DAMAGED, damaged_message

    path = os.fspath(path)
    where = repr(str(path))
    expected = ("expected a square matrix with the agents' names as header and first column "
                "(rows listen to columns), or an edge list with the header source,target"
                "[,weight]")
    try:
        # all as text: names such as "007" keep their zeros, numbers are converted below
        # so a bad cell can be named
        encoding = text_encoding(path, decompressed=True)
        # R's write.table escapes a quote in a name as \": read as R reads it
        raw = pd.read_csv(_csv_source(path, encoding), dtype=str, keep_default_na=False,
                          skipinitialspace=True, encoding=encoding)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{where} is {not_utf8_text(exc)}") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"cannot read {where} as CSV ({exc}); {expected}") from exc
    except DAMAGED as exc:  # a bare EOFError or zlib.error traceback, naming no file
        raise ValueError(damaged_message(path, exc)) from exc
    note = comment_line_note(path)
    named = _with_row_names(raw)  # R's write.table: one field more than the header per line
    if (named is raw and not isinstance(raw.index, pd.RangeIndex) and raw.shape[1] > 1
            and (raw.iloc[:, -1].str.strip() == "").all()):
        # each data line one field longer, the last empty: a separator closing the line,
        # which shifted every value a column ("line 2, column 'b' has nothing")
        raise ValueError(f"{where}: its data lines end with a ',' that its header line lacks, "
                         "so their values would be read one column off; remove the ',' at "
                         f"the end of the data lines (or add one to the header){note}")
    longer, raw = named is not raw, named
    header = [str(c).strip() for c in raw.columns]
    raw.columns = header
    raw = raw.apply(lambda column: column.str.strip())
    first = raw.iloc[:, 0].tolist() if raw.shape[1] else []
    if (longer and _is_edge_header(header[1:]) and "weight" not in
            [c.lower() for c in header[1:]] and set(first) != set(header[1:])
            and not _r_row_names(first, raw.iloc[:, -1].tolist())):
        # "source,target" over lines "a,b,2": pandas took the sources for row names and
        # read the edges b -> 2
        raise ValueError(f"{where}: its lines have {len(header)} fields but its header "
                         f"{','.join(header[1:])} names {len(header) - 1}; if the last "
                         "field is the trust weight, name it: source,target,weight (if the "
                         "first is R's row names, write with row.names = FALSE)")

    def number(cell: str, line: int, column: str) -> float:
        try:
            value = float(cell)
        except ValueError:
            value = float("nan")
        if not np.isfinite(value) or value < 0:
            shown = repr(cell) if cell else "nothing"
            raise ValueError(f"{where}: weights must be finite numbers >= 0; line {line}, "
                             f"column {column!r} has {shown}{note}")
        return value

    def matrix() -> tuple[np.ndarray, list[str]]:
        """Read the square-matrix layout: weights and the agents' names in row order."""
        if len(header) < 2:
            sep = next((c for c in ";\t|" if len(header) == 1 and c in header[0]), None)
            hint = ("" if sep is None else f" (fields separated by {sep!r}? The columns must "
                    "be separated by commas)")
            raise ValueError(f"{where} has {len(header)} column(s) {header}{hint}; "
                             f"{expected}{note}")
        labels = raw.iloc[:, 0].tolist()
        speakers = header[1:]
        if raw.shape[0] != len(speakers):
            raise ValueError(f"{where} is not square: {raw.shape[0]} rows (listeners) but "
                             f"{len(speakers)} columns of agents (speakers); {expected}{note}")
        values = np.array([[number(cell, k, column) for column, cell
                            in zip(speakers, row[1:])]
                           for k, row in enumerate(raw.itertuples(index=False), start=2)])
        frame = pd.DataFrame(values.reshape(len(labels), len(speakers)), index=labels,
                             columns=speakers)
        try:  # the same names on both axes, each once; columns put in the rows' order
            values, labels = square_frame_values(frame, where, kind="agent",
                                                 rows_are="listeners", cols_are="speakers")
        except ValueError as exc:
            raise ValueError(f"{exc}{note}") from exc
        A = np.asarray(values, dtype=np.float64)
        loops = np.flatnonzero(np.diagonal(A))
        if loops.size:
            name = labels[int(loops[0])]
            raise ValueError(f"{where}: agent {name!r} hears itself (row {name!r}, column "
                             f"{name!r} is {A[loops[0], loops[0]]:g}); the diagonal must be "
                             "0, since an agent's weight on itself is alpha, not trust")
        return A, labels

    if raw.shape[1] and _row_index_first(header, raw.iloc[:, 0].tolist()):
        # df.to_csv() without index=False: "weights must be finite numbers >= 0; line 2,
        # column 'source' has 'a'" (read as a matrix); the index names no agent
        raw, header = raw.iloc[:, 1:], header[1:]
    if _is_edge_header(header):
        raw.columns = [c.lower() for c in header]
        names: dict[str, int] = {}
        edges: dict[tuple[int, int], float] = {}
        for k, row in enumerate(raw.itertuples(index=False), start=2):
            source, target = row.source, row.target
            if not source or not target:
                missing = "source" if not source else "target"
                raise ValueError(f"{where}: line {k} names no {missing} agent{note}")
            if source == target:
                if "weight" in raw.columns and number(row.weight, k, "weight") == 0:
                    # a zero self-entry is no tie (prunus fj fit's trust.csv lists every
                    # pair, the diagonal at 0: refused as a self-loop)
                    names.setdefault(source, len(names))
                    continue
                raise ValueError(f"{where}: line {k} is a self-loop ({source!r} -> "
                                 f"{target!r}); an agent's weight on itself is alpha, not trust")
            w = number(row.weight, k, "weight") if "weight" in raw.columns else 1.0
            j, i = (names.setdefault(v, len(names)) for v in (source, target))
            if (i, j) in edges:
                raise ValueError(f"{where}: line {k} repeats the edge {source!r} -> "
                                 f"{target!r}; give each edge once")
            edges[(i, j)] = w  # target i hears source j
        labels = list(names)
        if sparse:
            rows, cols = (np.fromiter((key[axis] for key in edges), np.int64, len(edges))
                          for axis in (0, 1))
            weights = np.fromiter(edges.values(), np.float64, len(edges))
            A = sp.csr_array((weights, (rows, cols)), shape=(len(labels), len(labels)))
        else:
            A = np.zeros((len(labels), len(labels)))
            for (i, j), w in edges.items():
                A[i, j] = w
    else:
        try:
            A, labels = matrix()
        except ValueError as exc:
            fixes = _edge_list_fixes(header)
            if fixes is None:
                raise
            # an edge list with other columns (Gephi's type, igraph's from,to) was read as a
            # matrix: "is not square" or "column 'to' has 'bob'" did not say what was wrong
            raise ValueError(
                f"{where} has the header {','.join(header)}, which is not an edge list's: an "
                "edge list has exactly the columns source,target and optionally weight (any "
                f"case, any order); {fixes} (or write a square matrix with the agents' names "
                f"as header and first column){note}") from exc
        if sparse:
            A = sp.csr_array(A)
    if len(labels) < 2:
        raise ValueError(f"{where} names {len(labels)} agent(s); a debate needs at least 2")
    return labels, A
