"""Command line for ``prunus cascade``.

``prunus cascade size`` writes the final size distribution of the Independent Cascade model
on an edge list; ``prunus cascade fit`` fits its transmission probabilities to observed
outbreak sizes (``CascadeFit``, and ``fit_bayesian`` with ``--bayes``). Both read the
population with ``--nodes`` (people without contacts too) and the seeding with ``--seed``
(sure seeds), ``--seed-prob`` (a probability, or a CSV file of one per node) or both (sure
seeds plus a background rate, as ``seed_probabilities`` combines them).
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.cli import (
    CommandError,
    at_least,
    command_required,
    example_help,
    existing_file,
    output_folder,
    probability,
    warn_ignored,
)
from core.textfiles import reads_as_number

if TYPE_CHECKING:
    import numpy as np
    import torch

    from .graph import CascadeGraph

_RUNS = 100_000  # default Monte Carlo runs
_LEVEL = 0.95  # of the Monte Carlo intervals in distribution.csv
#: The example that ends each command's --help: README's, as a user would type it
_EXAMPLES = {
    "size": "prunus cascade size contacts.edgelist --seed 7 --method auto --out results/",
    "fit": "prunus cascade fit contacts.edgelist --sizes outbreaks.csv --seed P001 --out fit/",
}


def _precision_floor(n: int, probabilities: np.ndarray | None = None) -> float:
    """Round-off level of the unit-circle evaluation of ``P(size = k)``, ``k = 0..n``.

    The inverse DFT of ``n + 1`` values spreads ~``eps * sqrt(n + 1)`` of the total mass
    over every size; measured noise where the sizes are spread out stays below
    ``4 eps sqrt(n + 1)`` (7e-15 on paths and random trees at n = 10,000, for 9e-14).
    Each active node also adds a relative error of about ``eps`` to the distribution's
    values on the unit circle, and where the size is nearly certain (weights at or near 1
    on deep or wide trees) those values have modulus near 1, so nothing damps the sum: the
    noise grows like ``eps (E[size] + 1) mean|P(z)|`` (the mean over the ``n + 1`` roots of
    unity), measured at up to 1.04 times that on stars, paths, caterpillars and random
    trees of up to 10,000 nodes at or near w = 1 (4.4e-13 on a star of 10,000 leaves at
    w = 1, 1.5e-12 on a path of 10,000 nodes: 5 and 17 times the first bound). The floor
    is the larger of the first bound and 3 times that.

    Parameters
    ----------
    n
        Number of nodes.
    probabilities
        The computed ``P(size = k)``, ``k = 0..n``; None gives the first bound alone (that
        of spread-out sizes).

    Returns
    -------
    float
        The floor; below it a probability may be round-off.
    """
    eps = sys.float_info.epsilon
    floor = 4 * eps * math.sqrt(n + 1)
    if probabilities is None:
        return floor
    import numpy as np

    P = np.asarray(probabilities, dtype=np.float64)
    mean = float(np.arange(P.size) @ P)
    spectrum = float(np.abs(np.fft.fft(P)).mean())  # ~1 for a point mass, ~1/sd if spread
    return max(floor, 3 * eps * (mean + 1) * spectrum)


def _seed_prob(value: str) -> float | Path:
    """Argparse type for ``--seed-prob``: a probability, or a CSV file of one per node.

    Parameters
    ----------
    value
        The command-line text.

    Returns
    -------
    float or Path
        The probability, or the path of an existing file (read once the graph is known).
    """
    try:
        return probability(value)
    except argparse.ArgumentTypeError as exc:
        # 2 and nan are numbers outside [0, 1]: said as before, not looked up as files
        if "expected a number" not in str(exc):
            raise
    if os.path.exists(os.path.expanduser(value)):
        return existing_file(value)  # a folder or a pipe: said as for any input file
    raise argparse.ArgumentTypeError(
        f"expected a number, got {value!r}, which is no file either (a CSV file with the "
        "header node,probability gives each node its own)")


def _positive(value: str) -> float:
    """Argparse type for a finite number above 0 (a Beta prior's parameter)."""
    x = at_least(0.0)(value)
    if not x > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {value}")
    return x


def _seed_32(value: str) -> int:
    """Argparse type for a seed in ``[0, 2**32 - 1]``, the range fit_bayesian's SVI takes."""
    seed = at_least(0, int)(value)
    if seed >= 2**32:
        raise argparse.ArgumentTypeError(f"must be < 2**32 (numpy's seed range), got {value}")
    return seed


def _text_lines(path: Path, what: str) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, line)`` of a user's text file (UTF-8 or UTF-16 with its BOM).

    A file named ``.gz``, ``.bz2`` or ``.xz`` is decompressed, as the edge list is
    (``graph.text_lines``). A file that is not text is refused naming it and ``what`` it
    should be.
    """
    from .graph import text_lines

    yield from text_lines(path, what, newline="", error=CommandError)


def _zero_header(path: Path, lineno: int, why: str) -> None:
    """Warn that a first line ``0`` of ``--nodes`` is read as its header; ``why`` says why.

    ``pd.Series(nodes).to_csv(path, index=False)`` writes ``0``, the name of a Series
    without one, above the labels: read as a label it was one more person without contacts
    (w 0.5335 where the people give 0.5197), without a word. A warning: the filters govern
    it (-W error: a one-line error, -W ignore: nothing).
    """
    warnings.warn(
        f"{path}:{lineno}: '0' read as the header of the node list, as pd.Series(nodes)"
        f".to_csv(path, index=False) writes it, not as a node ({why}); write the file "
        "without a header line (header=False) to say which it is", UserWarning, stacklevel=3)


def _read_nodes(path: Path) -> tuple[list[str], int | None]:
    """Read ``--nodes``: one node label per line, ``#`` starting a comment.

    A first line ``0`` listed again below is the header ``pd.Series(nodes).to_csv(path,
    index=False)`` writes (with a warning); one that is not may be it too, which
    :func:`_read_graph` decides once the edge list is read (it is if it names no node of
    the edge list nor a ``--seed``). A file named ``.gz``, ``.bz2`` or ``.xz`` is
    decompressed.

    Returns
    -------
    labels : list of str
        The labels in file order, as ``CascadeGraph.read_edgelist(nodes=)`` takes them.
    zero : int or None
        The line of the first label if it is ``0`` (and not read as the header already),
        else None.

    Raises
    ------
    CommandError
        Naming ``path:line``: a line with more than one label or a label listed again;
        a file without labels.
    """
    first: dict[str, int] = {}
    zero = None
    for lineno, raw in _text_lines(path, "a node list (one label per line)"):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 1:  # edge-list labels hold no white space
            raise CommandError(f"{path}:{lineno}: expected one node label per line (no "
                               f"white space, as in the edge list), got {raw.strip()!r}")
        label = parts[0]
        if not first and label == "0":
            zero = lineno
        if label in first:
            if label == "0" and zero == first[label]:
                # the header "0" above a node "0" (pd.Series(["0", ...]).to_csv(path,
                # index=False)) was refused as "listed again"
                _zero_header(path, zero, f"a node '0' is listed on line {lineno}")
                del first[label]
                zero = None
            else:
                raise CommandError(f"{path}:{lineno}: node {label!r} is listed again (first "
                                   f"on line {first[label]})")
        first[label] = lineno
    if not first:
        raise CommandError(f"{path} lists no node (expected one node label per line)")
    return list(first), zero


def _read_graph(args: argparse.Namespace, edge_type: str | None = None) -> CascadeGraph:
    """Read ``args.graph`` with ``--undirected``, ``--weight``, ``--default`` and ``--nodes``.

    ``--default`` that no line used (``p`` on every line) is said to be ignored and set
    to None in ``args``: the outputs are then those of a run without it.

    A first line ``0`` of ``--nodes`` that names no node of the edge list nor a ``--seed``,
    above labels that are not all whole numbers, is read as the header
    ``pd.Series(nodes).to_csv(path, index=False)`` writes, with a warning (the graph is that
    of the file without the line).

    Parameters
    ----------
    args
        The command's arguments.
    edge_type
        ``--edge-type`` where the run uses it (``--share type``): each edge's type is read
        as ``CascadeGraph.read_edgelist(edge_type=)`` reads it, into ``graph.edge_type``
        and ``graph.edge_type_names``; None reads no types.

    Returns
    -------
    CascadeGraph
        The network.

    Raises
    ------
    CommandError
        ``read_edgelist``'s errors that name its arguments (``nodes=``, ``edge_type=``),
        worded with the options.
    """
    import torch

    from .graph import CascadeGraph

    nodes, zero = (None, None) if args.nodes is None else _read_nodes(args.nodes)
    try:
        # _read_edgelist: read_edgelist's graph, and how many lines took --default
        graph, defaulted = CascadeGraph._read_edgelist(
            args.graph, dtype=torch.float64, device=None, undirected=args.undirected,
            weight=args.weight, nodes=nodes, edge_type=edge_type, default=args.default)
    except ValueError as exc:
        text = str(exc)
        # "edges.txt:2: edge ('a' -> 'b'): node 'b' not in nodes": nodes= is Python's
        if nodes is not None and text.endswith(" not in nodes"):
            raise CommandError(text.removesuffix("nodes") + f"the node list {args.nodes} "
                               "(--nodes); add it there") from exc
        # the edge type's messages name edge_type= and the option: the option alone
        typed = text
        if edge_type is not None:
            for python, option in (
                    (f"edge_type={edge_type!r} (on the command line: --edge-type "
                     f"{edge_type})", f"--edge-type {edge_type}"),
                    ("(the edge type: edge_type=, on the command line --edge-type)",
                     "(--edge-type)")):
                typed = typed.replace(python, option)
        if typed != text:
            raise CommandError(typed) from exc
        raise
    if args.default is not None and not defaulted:
        # a file with p on every line reads the same with --default: said, and recorded
        # nowhere, so its outputs stay those of a run without it
        warn_ignored([f"--default {args.default:g}"],
                     f"every line of {args.graph} gives its probability p")
        args.default = None
    numbered = bool(nodes) and all(label.isdigit() for label in nodes[1:])
    if (zero is not None and 0 not in graph.src and 0 not in graph.dst
            and "0" not in (args.seed or ()) and numbered):
        # above 1, 2, ...: person 0 without contacts (networkx's labels; read as the header
        # the person was dropped and the fit no longer loaded onto the network read with
        # the same file), or the header of pd.Series([1, 2, ...]).to_csv(index=False),
        # which made one person too many: kept, and both readings said
        warnings.warn(
            f"{args.nodes}:{zero}: '0' names no node of the edge list and is read as a "
            "person without contacts; if it is the header that pd.Series(nodes).to_csv("
            "path, index=False) writes, write the file without it (header=False)",
            UserWarning, stacklevel=2)
    elif (zero is not None and 0 not in graph.src and 0 not in graph.dst
            and "0" not in (args.seed or ())):
        # a first line "0" that names no node of the edge list (nor a --seed) above labels
        # that are not all numbers: pandas' header of an unnamed Series, not one more
        # person without contacts (node 0, dropped here: the graph read without that line)
        _zero_header(args.nodes, zero, "it names no node of the edge list")
        graph = type(graph)(graph.n - 1, graph.src - 1, graph.dst - 1, graph.weight,
                            graph.labels[1:], graph.edge_type, graph.edge_type_names)
        nodes = nodes[1:]
    first = None if nodes is None else graph.index_of(nodes[0])
    if (first is not None and first not in graph.src and first not in graph.dst
            and _looks_like_header(nodes[0], nodes[1:])):
        # "person_id" on the first line became one more person, who may seed; a roster
        # whose first person has no contacts is said nothing of. A warning: the filters
        # govern it (-W error: a one-line error, -W ignore: nothing)
        warnings.warn(f"the first line of {args.nodes} ({nodes[0]!r}) names no node of the "
                      "edge list, so it is one more person without contacts; --nodes takes "
                      "no header line", UserWarning, stacklevel=1)
    return graph


#: Words of a header line of a node list ("person_id", "NodeID", "name").
_HEADER_WORDS = frozenset({"node", "nodes", "id", "ids", "name", "names", "label", "labels",
                           "person", "persons", "people", "individual", "participant",
                           "patient", "subject", "member", "user", "vertex", "key"})


def _looks_like_header(first: str, others: list[str]) -> bool:
    """Whether the first label of a ``--nodes`` file looks like a header line.

    It does if it holds no digit and a usual header word (``person_id``, ``NodeID``), or if
    every other label is a whole number and it is not (``lonely`` before 0, 1, 2, ...).
    """
    import re

    words = re.findall(r"[a-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", first).lower())
    if not any(c.isdigit() for c in first) and _HEADER_WORDS.intersection(words):
        return True
    whole = re.compile(r"[+-]?[0-9]+")
    return (bool(others) and all(whole.fullmatch(x) for x in others)
            and not whole.fullmatch(first))


def _is_node(graph: CascadeGraph, label: str) -> bool:
    """Whether ``label`` names a node of ``graph`` (as ``graph.index_of`` matches it)."""
    try:
        graph.index_of(label)
    except ValueError:
        return False
    return True


def _read_seed_probabilities(path: Path, graph: CascadeGraph,
                             seeds: list[str] | None = None) -> np.ndarray:
    """Read a ``--seed-prob`` file: a header line, then ``node,probability`` rows.

    Every node of the graph needs its row, as ``seed_probabilities`` needs of a dict,
    except the sure seeds ``seeds`` (``--seed``), whose rows are not used. The header may
    be any names; ``pd.Series(p, index=nodes).to_csv()``'s ``,0`` (or ``node,0`` for a
    named index) is one too: a first line with an empty first field, or ``0`` beside a
    label that is no node, is no row. A file named ``.gz``, ``.bz2`` or ``.xz`` is
    decompressed.

    Parameters
    ----------
    path
        The file.
    graph
        The network, whose nodes the rows name.
    seeds
        The ``--seed`` labels (nodes of ``graph``), or None.

    Returns
    -------
    numpy.ndarray
        The seed probability of each node, in the graph's node order (1 for a sure seed
        without its row).

    Raises
    ------
    CommandError
        Naming ``path:line``: a row that is not two fields, a probability that is not a
        number in [0, 1], a node that is not in the graph, a node listed again, a first
        line that is a row rather than a header; naming ``path``: nodes other than the
        sure seeds without a row.
    """
    import csv

    import numpy as np

    values = np.full(graph.n, np.nan)
    first: dict[int, int] = {}
    header = None
    lines = _text_lines(path, "a CSV file of seed probabilities (node,probability)")
    # csv's line_num counts the lines read so far, quoted line breaks included
    reader = csv.reader(line for _, line in lines)
    for row in reader:
        lineno = reader.line_num
        fields = [f.strip() for f in row]
        if not any(fields):
            continue
        if len(fields) != 2:
            raise CommandError(f"{path}:{lineno}: expected two fields, node,probability, got "
                               f"{','.join(row)!r}")
        label, text = fields
        if header is None:
            header = fields
            try:  # a file without its header would lose its first node's row
                float(text)
            except ValueError:
                continue
            # pd.Series(p, index=nodes).to_csv() names the probabilities 0, as a Series
            # without a name, beside an unnamed index (",0", refused as a row) or the
            # index's name ("node,0"): an empty label, or a 0 beside no node, is no row
            if label == "" or (text == "0" and not _is_node(graph, label)):
                continue
            raise CommandError(f"{path}:{lineno}: expected a header line (such as "
                               f"node,probability), got the row {','.join(row)!r}")
        try:
            i = graph.index_of(label)
        except ValueError:
            raise CommandError(f"{path}:{lineno}: {label!r} is not a node of the network "
                               "(the edge list, and --nodes if given)") from None
        try:
            p = float(text)
        except ValueError:
            p = None
        if p is None or not 0 <= p <= 1:  # False for NaN
            raise CommandError(f"{path}:{lineno}: node {label!r} has seed probability "
                               f"{text!r}; expected a probability in [0, 1]")
        if i in first:
            raise CommandError(f"{path}:{lineno}: node {label!r} is listed again (first on "
                               f"line {first[i]})")
        first[i] = lineno
        values[i] = p
    # a sure seed's row is not used (seed_probabilities sets it to 1): it may be left out
    for label in seeds or ():
        i = graph.index_of(label)
        if np.isnan(values[i]):
            values[i] = 1.0
    missing = [graph.labels[i] for i in np.flatnonzero(np.isnan(values))]
    if missing:
        raise CommandError(f"{path} gives no seed probability for {len(missing)} node(s) "
                           f"{missing[:5]}{' ...' * (len(missing) > 5)}; give one per node"
                           f"{' other than the --seed nodes' * bool(seeds)} (0 for people "
                           "who are never seeds)")
    return values


def _require_seeding(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Exit as argparse does (code 2) when neither ``--seed`` nor ``--seed-prob`` is given."""
    if args.seed is None and args.seed_prob is None:
        # the message argparse gave while the two options were an exclusive group
        parser.error("one of the arguments --seed --seed-prob is required")


def _seeding(args: argparse.Namespace, graph: CascadeGraph,
             random_seed: str = "the Monte Carlo random seed is --rng-seed",
             ) -> float | np.ndarray | None:
    """Check ``--seed`` against the graph; return ``--seed-prob`` as the library takes it.

    ``random_seed`` says which option is the command's random seed (other commands' --seed),
    in the error of a seed that is no node and in the line naming the index cases (printed
    unless ``--quiet``).
    """
    for node in args.seed or ():
        try:
            graph.index_of(node)
        except ValueError as exc:
            # the other commands' --seed is the random seed, here it names seed nodes
            raise CommandError(f"--seed {node}: no node {node!r} in {args.graph} (--seed names "
                               f"seed nodes; {random_seed})") from exc
    if isinstance(args.seed_prob, Path):
        seed_prob = _read_seed_probabilities(args.seed_prob, graph, args.seed)
    else:
        seed_prob = args.seed_prob
    if args.seed and not args.quiet:
        from .graph import first_labels

        # a habitual "--seed 0" (the random seed elsewhere) made node '0' a sure index case
        # without a word (mean size 3.28 -> 9.35); stdout, as the results' line
        print(f"index case(s) given by --seed: {first_labels(args.seed, 10)}, active in every "
              f"cascade ({random_seed})")
    return seed_prob


def _recorded_seed_prob(args: argparse.Namespace) -> float | str | None:
    """``--seed-prob`` as summary.json records it: the number, or the file's path."""
    return str(args.seed_prob) if isinstance(args.seed_prob, Path) else args.seed_prob


def _size(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import numpy as np
    import pandas as pd

    from core.atomic import atomic_outputs, write_json

    from .distribution import _resolve, size_distribution
    from .graph import find_cycle_link, seed_probabilities
    from .montecarlo import expected_tv_error, monte_carlo

    _require_seeding(args, parser)
    graph = _read_graph(args)
    seed_prob = _seeding(args, graph)
    # auto as size_distribution resolves it: exact where the components with a cycle are
    # small (households), TDA on other networks with cycles
    method = _resolve(graph, args.method, exact_auto=True)
    if method == "tree" and not graph.is_forest():
        from .exact import _instead_of_tree

        # the library's error names its argument (method='tree' ... use method='tda'); this
        # one named tda and mc only, on households too, which --method exact computes
        u, v = find_cycle_link(graph)
        raise CommandError(
            f"--method tree needs a network without cycles, but the link "
            f"({graph.labels[u]!r}, {graph.labels[v]!r}) closes one; use "
            f"{_instead_of_tree(graph, cli=True)}"
        )
    if method == "exact":
        from .exact import _check_exact

        try:
            _check_exact(graph)
        except ValueError as exc:  # the library's words are Python's (method='tda')
            raise CommandError(
                str(exc).replace("max_nodes=", "").replace("method='", "--method ")
                .replace("' ", " ").replace("'", "")) from None
    if args.method == "auto" and method == "tda":
        from .exact import MAX_NODES, _largest_cyclic

        # auto never samples, so say that this answer is an approximation, and why (it
        # takes the exact enumeration where every component with a cycle is small)
        print(f"prunus: note: the network has a component with a cycle of "
              f"{_largest_cyclic(graph)} nodes, more than the {MAX_NODES} that --method "
              "exact enumerates, so auto uses the TDA "
              "approximation (total variation up to 0.3-0.9 on networks with many short "
              "cycles near the epidemic threshold, sparse ones too); compare with "
              "--method mc there", file=sys.stderr)
    if method != "mc":
        given = [flag for flag, value, default in (("--runs", args.runs, _RUNS),
                                                   ("--rng-seed", args.rng_seed, 0))
                 if value != default]
        warn_ignored(given, f"Monte Carlo settings (--method mc), and method {method} does "
                     "not sample")
    elif args.tail_accurate:
        warn_ignored(["--tail-accurate"], "sampled probabilities are multiples of 1/runs")
    tail_accurate = args.tail_accurate and method != "mc"
    sampled = None
    if method == "mc":  # the runs themselves, for the intervals (as size_distribution draws)
        import torch

        sampled = monte_carlo(graph, seed_probabilities(graph, args.seed, seed_prob),
                              n_runs=args.runs, seed=args.rng_seed, progress=not args.quiet)
        probs = torch.as_tensor(sampled.distribution, dtype=graph.dtype, device=graph.device)
    else:
        probs = size_distribution(
            graph,
            seeds=args.seed,
            seed_prob=seed_prob,
            method=method,
            tail_accurate=tail_accurate,
            n_runs=args.runs,
            seed=args.rng_seed,
            progress=not args.quiet,
        )
    values = probs.detach().cpu().numpy().astype(np.float64)
    table = pd.DataFrame({"size": np.arange(values.size), "probability": values})
    if sampled is not None:  # Wilson intervals of each sampled P(size = k)
        table["lower"], table["upper"] = sampled.interval(_LEVEL)
    out = args.out
    summary = {
        "method": method,
        # what was asked, so the file alone says which run it describes
        "graph": str(args.graph),
        "seeds": None if args.seed is None else [str(v) for v in args.seed],
        "seed_prob": _recorded_seed_prob(args),
        # only when given: the summaries of directed runs stay as they were
        **({"undirected": True} if args.undirected else {}),
        **({"weight": args.weight} if args.weight != "weight" else {}),
        # only where a line took it (_read_graph)
        **({"default": args.default} if args.default is not None else {}),
        **({"nodes_file": str(args.nodes)} if args.nodes is not None else {}),
        "nodes": graph.n,
        "edges": graph.num_edges,
        # at most n: round-off near w = 1 gave 10001.000000014878 of 10,001 nodes
        "mean_size": float(min((table["size"] * table["probability"]).sum(), graph.n)),
        "p_size_0": float(values[0]),
    }
    floor = None
    if method == "mc":
        summary["runs"] = args.runs
        summary["rng_seed"] = args.rng_seed
        summary["expected_tv_error"] = expected_tv_error(values, args.runs)
        summary["interval_level"] = _LEVEL  # of distribution.csv's lower and upper
    else:
        summary["tail_accurate"] = tail_accurate
        if not tail_accurate:
            floor = _precision_floor(graph.n, values)
            summary["precision_floor"] = floor

    from core.cli import figures_locked
    from core.provenance import environment

    from .plot import plot_distribution

    label = {"tree": "exact (SDP on a forest)", "tda": "approximate (TDA)",
             "exact": "exact (small components enumerated)",
             "mc": f"Monte Carlo, {args.runs} runs"}[method]
    if tail_accurate:
        label += ", tail-accurate"
    # matplotlib under the process's figure lock: its mathtext parser (the log panel's
    # 10^{-k} labels) failed in most runs of a thread pool; the files are written outside it
    with figures_locked() as plt:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    try:  # the figure is closed if drawing fails too (in a notebook it would show)
        with figures_locked():
            fig.suptitle(f"final cascade size distribution: {label}")
            # the runs themselves for mc: their interval band and gaps "never sampled"
            curve = values if sampled is None else sampled
            plot_distribution({label: curve}, ax=axes[0], title="where the mass is")
            # the linear panel shows where the mass is; the log panel keeps every size 0..N
            reach = int(np.searchsorted(np.cumsum(values), 1 - 1e-4))
            if reach < graph.n:
                axes[0].set_xlim(-0.5, max(reach, 5) * 1.1 + 0.5)
            plot_distribution({label: curve}, ax=axes[1], log=True, floor=floor,
                              title="log scale, all sizes (tail)")
            fig.tight_layout()
        # the versions and torch threads the numbers came from, to reproduce them
        summary["environment"] = environment()
        with atomic_outputs(out) as stage:  # all three files, or none replaced
            table.to_csv(stage / "distribution.csv", index=False, float_format="%.17g")
            write_json(summary, stage / "summary.json")
            with figures_locked():
                fig.savefig(stage / "distribution.png", dpi=120, format="png")
    finally:
        with figures_locked() as plt:
            plt.close(fig)
    print(
        f"wrote {out / 'distribution.csv'}, summary.json and distribution.png "
        f"(method {method}, mean size {summary['mean_size']:.4g})"
    )
    return 0


#: Values of a sizes file that mean "not known" (pandas reads them as NaN).
_MISSING = frozenset({"", "nan", "na", "n/a", "null", "none", "<na>"})


def _is_number(text: str) -> bool:
    """Whether ``text`` reads as a number (a row of sizes rather than a header).

    Python's ``float`` reads ``1_0`` as 10; a CSV cell with an underscore is text.
    """
    return "_" not in text and reads_as_number(text)


#: Whole column names (any case) that say "how many outbreaks": beside ``size`` only
#: ``count`` multiplies a row, so these are refused rather than ignored. Whole names only:
#: ``contact_count`` or ``n_contacts`` is a covariate and stays ignored.
_COUNT_NAMES = frozenset({"count", "counts", "n", "freq", "frequency", "outbreaks",
                          "n_outbreaks", "occurrences", "times", "total", "weight", "weights"})
#: Whole column names (any case) of shares: value_counts(normalize=True) writes
#: ``proportion``, prunus cascade size's distribution.csv ``probability``.
_SHARE_NAMES = frozenset({"proportion", "probability", "prob", "fraction", "percent",
                          "percentage", "share"})


def _count_like(name: str) -> str | None:
    """Why a sizes column other than ``size`` and ``count`` may hold counts, or None.

    It may if its name is a number (``df.groupby("size").size().to_csv()`` names its counts
    ``0``: read as one outbreak per row, its table fitted 0.4829 where the outbreaks give
    0.4852) or, in any case, one of ``_COUNT_NAMES`` (``Count``, ``n``, ``freq``).
    """
    if _is_number(name):
        return ("pandas names an unnamed Series so, as df.groupby('size').size().to_csv() "
                "writes it")
    if name.lower() in _COUNT_NAMES:
        return "its name says it may count outbreaks"
    return None


def _shares_refused(path: Path, lineno: int, name: str) -> CommandError:
    """Build the error for a column of shares (``_SHARE_NAMES``) without a ``count``.

    Dropping it would read each distinct size as one outbreak (w 0.5 where the outbreaks
    give 0.25), so the advice is to count, as fit.py's refusal of such a Series says.
    """
    return CommandError(
        f"{path}:{lineno}: column {name!r} holds shares of the outbreaks, as "
        "value_counts(normalize=True) and prunus cascade size's distribution.csv write them, "
        "but value_counts(normalize=True) keeps no number of outbreaks (each row would be "
        "read as one outbreak): write value_counts() instead, whose table (size,count or "
        ",count) is read as that many outbreaks, or one size per outbreak")


def _is_row_index(rows: Iterator[list[str]]) -> bool:
    """Whether the first fields of ``rows`` are 0, 1, ..., n-1 or 1, ..., n.

    That is the index ``to_csv()`` writes for a Series or DataFrame read from a list; an
    unreadable rest of the file says no (the header's error is raised all the same).
    """
    import csv

    firsts: list[str] = []
    try:
        for row in rows:
            fields = [f.strip() for f in row]
            if any(fields):
                firsts.append(fields[0])
    except (CommandError, csv.Error):
        return False
    if not firsts or not all(_is_number(f) for f in firsts):
        return False
    values = [float(f) for f in firsts]
    return values in ([float(i) for i in range(len(values))],
                      [float(i) for i in range(1, len(values) + 1)])


def _old_value_counts(path: Path) -> tuple[int, int] | None:
    """Whether a sizes file headed ``,size`` may be pandas < 2.0's ``value_counts()`` table.

    ``pd.Series(sizes, name="size").value_counts().to_csv()`` wrote the sizes in the unnamed
    index and their counts under ``size`` (pandas 2.0 writes ``size,count``); read as one
    size per row, the counts were fitted as sizes (w 0.8235 from 3 outbreaks where the 17
    outbreaks give 0.3462). It may be if every row is two whole numbers, the first ones
    distinct and >= 0, the second ones >= 1, and the first column is not 0, 1, ..., n-1, the
    row index of a table's ``to_csv()``, with the rows in an order ``value_counts()`` gives:
    counts largest first, or (``.sort_index()``) sizes increasing, unless the first column
    is 1, ..., n (R's ``write.csv``) beside counts not largest first. A filtered table's
    ``to_csv()`` (index 0, 2, 3, ...) can be read both ways too, and is refused.

    Returns
    -------
    tuple of int or None
        ``(rows, outbreaks)``: the rows (outbreaks read one per row) and the sum of the
        ``size`` column (outbreaks read as counts), or None when only the reading of one
        size per row under ``size`` is possible.
    """
    import csv

    firsts: list[float] = []
    counts: list[float] = []
    reader = csv.reader(line for _, line in _text_lines(path, "a CSV file of outbreak sizes"))
    header = True
    try:
        for row in reader:
            fields = [f.strip() for f in row]
            if not any(fields):
                continue
            if header:
                header = False
                continue
            if len(fields) != 2 or not all(_is_number(f) for f in fields):
                return None
            a, k = float(fields[0]), float(fields[1])
            if not (a >= 0 and a.is_integer() and k >= 1 and k.is_integer()):
                return None
            firsts.append(a)
            counts.append(k)
    except (CommandError, csv.Error):
        return None  # the reading proper reports it
    n = len(firsts)
    if not n or len(set(firsts)) != n or firsts == list(range(n)):
        return None
    by_count = all(b <= a for a, b in zip(counts, counts[1:]))  # value_counts()'s order
    by_size = all(b > a for a, b in zip(firsts, firsts[1:]))  # .sort_index()'s
    if firsts == list(range(1, n + 1)) and not by_count:
        return None  # R's row names 1..n (write.csv) beside sizes in no order
    if not (by_count or by_size):
        # neither value_counts() order: a shuffled table's to_csv() is one size per row
        return None
    return n, int(sum(counts))


def _read_sizes(path: Path) -> tuple[list[int], list[int]]:
    """Read ``--sizes``: one outbreak per row, in a column ``size`` or a single column.

    A file named ``.gz``, ``.bz2`` or ``.xz`` is decompressed.

    A single column may have a header line of any name, or none; a first line ``0`` is the
    header ``pd.Series(sizes).to_csv(path, index=False)`` writes (with a warning), not an
    outbreak of size 0, unless other outbreaks of size 0 follow (then it is one, with a
    warning that gives the other reading). A column ``count`` makes
    a row stand for that many outbreaks, and the other columns are ignored; the table
    ``value_counts().to_csv()`` writes for a Series without a name (header ``,count``) has
    its sizes in the unnamed first column. No other unnamed first column is read as sizes
    (``pd.Series(sizes).to_csv()`` writes ``,0``, its row index first). A header ``,size``
    is refused where pandas < 2.0's ``value_counts().to_csv()`` may have written it (sizes
    in the unnamed column, counts under ``size``: :func:`_old_value_counts`), and read as
    one size per row under ``size`` where the first column is a row index. Without ``count``
    the other columns are ignored, but one named as counts (a number, or one of
    ``_COUNT_NAMES`` in any case: :func:`_count_like`) or shares (``_SHARE_NAMES``) is
    refused: only ``count`` multiplies a row, and shares keep no number of outbreaks.
    Names are matched whole: ``contact_count`` is ignored.

    Returns
    -------
    sizes, lines : list of int
        The final sizes (``3.0`` read as 3) and the line each is on.

    Raises
    ------
    CommandError
        Naming ``path:line``: no column ``size`` among several (an unnamed first column
        that looks like a row index said so), the header ``,size`` of a file that reads
        as a table of sizes and their counts too, a column named as counts or shares without
        a column ``count``, a row of another width than the first, a missing
        value, a size that is not a number or not whole; naming ``path``: a file without
        sizes.
    """
    import csv

    sizes: list[int] = []
    lines: list[int] = []
    column = width = count = zero = None
    reader = csv.reader(line for _, line in _text_lines(path, "a CSV file of outbreak sizes"))
    for row in reader:
        lineno = reader.line_num
        fields = [f.strip() for f in row]
        if not any(fields):
            continue
        if width is None:  # the header, or the first row of a single column
            width = len(fields)
            named = [i for i, f in enumerate(fields) if f == "size"]
            if len(named) > 1:
                raise CommandError(f"{path}:{lineno}: {len(named)} columns are named 'size'")
            if not named and width == 2 and fields[0] == "":
                if fields[1] == "count":
                    # pd.Series(sizes).value_counts().to_csv() writes ",count": the sizes
                    # are its unnamed index
                    named = [0]
                elif fields[1].lower() in _SHARE_NAMES:  # value_counts(normalize=True)
                    raise _shares_refused(path, lineno, fields[1])
                # else the unnamed first column is no column of sizes: pd.Series(sizes)
                # .to_csv() writes ",0", its row index first (read as the sizes, it fitted
                # w = 0.5024 where the sizes give 0.09224)
            if fields == ["", "size"] and (both := _old_value_counts(path)) is not None:
                rows, outbreaks = both
                raise CommandError(
                    f"{path}:{lineno}: the columns ['', 'size'] can be read two ways: as "
                    "pandas < 2.0's value_counts().to_csv() writes them, sizes in the "
                    f"unnamed first column and under 'size' how many outbreaks had each "
                    f"({outbreaks} outbreaks), or as a table's to_csv() writes them, a row "
                    f"index first and one outbreak's size per row under 'size' ({rows} "
                    "outbreaks); name the columns to say which: size,count for sizes and "
                    "their numbers of outbreaks (value_counts().rename_axis('size')"
                    ".rename('count').to_csv(path)), or one size per row without the index "
                    "(pd.Series(sizes, name='size').to_csv(path, index=False))")
            if named:
                column = named[0]
                # value_counts().to_csv() writes size,count: each row stands for `count`
                # outbreaks (it was read as one each: w 0.5 where the counts give 0.25)
                counted = [i for i, f in enumerate(fields) if f == "count"]
                if len(counted) > 1:
                    raise CommandError(f"{path}:{lineno}: {len(counted)} columns are named "
                                       "'count'")
                count = counted[0] if counted else None
                # beside a column count the others are ignored (value_counts().reset_index()
                # with a share column); whole names only: contact_count is a covariate
                for i, name in enumerate(fields):
                    if count is not None or i == column:
                        continue
                    if name.lower() in _SHARE_NAMES:
                        raise _shares_refused(path, lineno, name)
                    why = _count_like(name)
                    if why is not None:  # "size,0" of groupby was one outbreak per row
                        raise CommandError(
                            f"{path}:{lineno}: column {name!r} beside the sizes ({why}), but "
                            "only a column named exactly 'count' makes a row stand for that "
                            "many outbreaks: rename it to count if it holds the number of "
                            "outbreaks of each size, else rename or drop it")
                continue
            if width != 1:
                hint = ""
                if fields[0] == "":  # df.to_csv() writes its index as an unnamed column
                    hint = ("; the first column has no name (as to_csv() writes an index) "
                            "and is not read as sizes: name the column of sizes size, one "
                            "outbreak per row, as pd.Series(sizes, name='size').to_csv(path, "
                            "index=False) writes it (a column count beside it gives the "
                            "number of outbreaks of each size)")
                    if _is_row_index(reader):
                        hint += ("; the first column looks like a row index written by "
                                 "to_csv(); write with index=False")
                raise CommandError(
                    f"{path}:{lineno}: expected a column 'size' (one final outbreak size per "
                    f"row) or a single column of sizes, got the columns {fields}{hint}")
            column = 0
            # a single column's header, whatever its name; a missing first size is no header
            if not _is_number(fields[0]) and fields[0].lower() not in _MISSING:
                continue
            if fields[0] == "0":
                # pd.Series(sizes).to_csv(path, index=False) names its column 0: read as
                # an outbreak of size 0, it was refused under sure seeds ("size 0 cannot
                # occur") and counted as one more outbreak under --seed-prob alone. Decided
                # at the end: a file with other outbreaks of size 0 holds them as data
                zero = lineno
                continue
        if len(fields) != width:
            raise CommandError(f"{path}:{lineno}: expected {width} fields, as on the first "
                               f"line, got {len(fields)}: {','.join(row)!r}")
        text = fields[column]
        if text.lower() not in _MISSING and not _is_number(text):
            raise CommandError(f"{path}:{lineno}: size {text!r} is not a number")
        x = None if text.lower() in _MISSING else float(text)
        if x is None or math.isnan(x):
            raise CommandError(f"{path}:{lineno}: no size (a missing value); drop the "
                               "outbreaks whose size is unknown")
        if not x.is_integer():  # inf too
            raise CommandError(f"{path}:{lineno}: size {text} is not a whole number (a size "
                               "counts the people infected)")
        times = 1
        if count is not None:
            given = fields[count]
            k = float(given) if _is_number(given) else math.nan
            if not (k >= 0 and k.is_integer()):
                raise CommandError(f"{path}:{lineno}: count {given!r} is not a whole number "
                                   ">= 0 (the number of outbreaks of this size)")
            times = int(k)
        sizes.extend([int(x)] * times)
        lines.extend([lineno] * times)
    if zero is not None:
        if 0 in sizes:  # outbreaks of size 0 below: the first line is one of them
            sizes.insert(0, 0)
            lines.insert(0, zero)
            # but the writer's header reads the same: said, as the other reading is
            warnings.warn(
                f"{path}:{zero}: '0' read as an outbreak of size 0, since outbreaks of size "
                f"0 follow; if it is the header pd.Series(sizes).to_csv(path, index=False) "
                f"writes, the file holds {len(sizes) - 1} outbreaks, not {len(sizes)}: name "
                "the column (a first line 'size') to say which it is",
                UserWarning, stacklevel=2)
        else:
            warnings.warn(
                f"{path}:{zero}: '0' read as the header of the column of sizes, as "
                "pd.Series(sizes).to_csv(path, index=False) writes it, not as an outbreak "
                "of size 0; name the column (a first line 'size') to say which it is",
                UserWarning, stacklevel=2)
    if not sizes:
        raise CommandError(f"{path} holds no outbreak size (expected one final size per row, "
                           "in a column 'size' or a single column)")
    return sizes, lines


def _check_sizes(path: Path, sizes: list[int], lines: list[int], graph: CascadeGraph,
                 p: torch.Tensor) -> None:
    """Refuse, naming ``path:line``, a size that no weights can give under seeding ``p``.

    The bounds are those CascadeFit refuses sizes outside of, naming no line.
    """
    from .fit import _reachable_count

    start = p.detach().cpu().numpy()
    low = int((start >= 1).sum())  # the sure seeds are always active
    high = _reachable_count(graph, start > 0)
    for k, lineno in zip(sizes, lines):
        if not low <= k <= high:
            hint = (" (a size counts every infected person, the index case included: add "
                    "the seeds to counts of secondary cases)" if k < low else "")
            raise CommandError(
                f"{path}:{lineno}: size {k} cannot occur under these seeds: every outbreak "
                f"has between {low} (the sure seeds) and {high} (the nodes a possible seed "
                f"can reach) active nodes{hint}")


def _edge_types(graph: CascadeGraph) -> np.ndarray:
    """Each edge's type value, in the graph's edge order, for ``CascadeFit(edge_type=)``.

    ``graph`` was read with ``read_edgelist(edge_type=)``, which checks the types and
    numbers them. The fit gets the values, not those numbers: it names its weights by
    ``np.unique`` of them, as the command always did (types 2 and 1.5 name the weights 1.5
    and 2.0 in weights.csv and fit.json).
    """
    import numpy as np

    names = np.asarray(graph.edge_type_names)
    return names[graph.edge_type]


def _weight_names(graph: CascadeGraph, share: str,
                  type_names: tuple[Any, ...] | None) -> list[str]:
    """Name each shared weight: ``all``, its type, or its edge ``u->v``."""
    if share == "all":
        return ["all"]
    if share == "edge":  # one weight per edge, in the graph's edge order
        return [f"{graph.labels[a]}->{graph.labels[b]}" for a, b in zip(graph.src, graph.dst)]
    return [str(t) for t in type_names or ()]


def _fit(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``prunus cascade fit``: CascadeFit (and fit_bayesian) on the files given."""
    import numpy as np
    import pandas as pd
    import torch

    from core.atomic import atomic_outputs, write_json
    from core.cli import figures_locked
    from core.provenance import environment

    from .distribution import size_distribution
    from .fit import CascadeFit, fit_bayesian
    from .graph import seed_probabilities
    from .montecarlo import MonteCarloResult, expected_tv_error
    from .plot import plot_distribution

    _require_seeding(args, parser)
    if args.share == "type" and args.edge_type is None:
        raise CommandError("--share type needs --edge-type NAME: the attribute of the edge "
                           "list's lines 'u v {attributes}' that names each edge's type (one "
                           "weight is fitted per type)")
    if args.share != "type":
        warn_ignored(["--edge-type"] * (args.edge_type is not None),
                     f"it names the edge types of --share type, and --share is {args.share}")
    if not args.bayes:
        given = [flag for flag, value, default in (("--prior", args.prior, [1.0, 1.0]),
                                                   ("--rng-seed", args.rng_seed, 0))
                 if value != default]
        warn_ignored(given, f"{'it sets' if len(given) == 1 else 'they set'} the posterior "
                     "of --bayes")
    # the types are read with the edge list (read_edgelist(edge_type=)'s rules and messages)
    graph = _read_graph(args, args.edge_type if args.share == "type" else None)
    seed_prob = _seeding(args, graph, "the random seed of --bayes is --rng-seed")
    types = _edge_types(graph) if args.share == "type" else None
    sizes_read, lines = _read_sizes(args.sizes)
    _check_sizes(args.sizes, sizes_read, lines, graph,
                 seed_probabilities(graph, args.seed, seed_prob))
    sizes = np.asarray(sizes_read, dtype=np.int64)
    fit = CascadeFit(graph, seeds=args.seed, seed_prob=seed_prob, share=args.share,
                     edge_type=types)
    method = fit._lik.method
    if method == "tda":
        from .exact import MAX_NODES, _largest_cyclic

        # why, as `prunus cascade size` says it: households are fitted exactly
        print(f"prunus: note: the network has a component with a cycle of "
              f"{_largest_cyclic(graph)} nodes, more than the {MAX_NODES} that the exact "
              "enumeration takes, so the likelihood uses the TDA approximation of the size "
              "distribution (check the fitted weights with `prunus cascade size --method "
              "mc`)", file=sys.stderr)
    fit.fit(sizes, epochs=args.epochs, optimizer=args.optimizer, progress=not args.quiet)
    shared = fit.shared_weights.cpu().numpy().astype(np.float64)
    table = pd.DataFrame({"name": _weight_names(graph, args.share, fit.edge_type_names),
                          "probability": shared})
    try:
        log_likelihood = fit.log_likelihood(sizes)
    except ValueError:  # a size below float64's range: fit warned; history holds the bound
        log_likelihood = fit.history[-1] * sizes.size
    posterior = None
    svi = args.bayes and shared.size > 1  # fit_bayesian's auto: SVI beyond one weight
    if args.svi_steps is not None and not svi:
        warn_ignored([f"--svi-steps {args.svi_steps}"],
                     "SVI runs only with --bayes and more than one shared weight (one is "
                     "fitted exactly on a grid)" if args.bayes else "it is for --bayes")
    if args.bayes:
        from core.cli import options_in_errors

        # its warning names steps=N, which the command line sets as --svi-steps N
        with options_in_errors({"steps": "--svi-steps"}):
            post = fit_bayesian(graph, sizes, seeds=args.seed, seed_prob=seed_prob,
                                share=args.share, edge_type=types, prior=tuple(args.prior),
                                seed=args.rng_seed, progress=not args.quiet,
                                **({} if args.svi_steps is None else {"steps": args.svi_steps}))
        for key, column in (("mean", "mean"), ("std", "sd"), ("q05", "q05"), ("q95", "q95")):
            table[column] = post[key].detach().cpu().numpy().astype(np.float64)
        posterior = {
            # fit_bayesian's auto: the exact grid for one weight, SVI for more
            "method": "grid" if shared.size == 1 else "svi",
            "prior": [float(a) for a in args.prior],
            "rng_seed": args.rng_seed,
            "samples": int(post["samples"].shape[0]),
            "converged": bool(post["converged"]),
            **({"steps": int(post["elbo"].numel())} if svi else {}),
        }
    with torch.no_grad():
        fitted = size_distribution(fit.fitted_graph, seeds=args.seed, seed_prob=seed_prob,
                                   method=method)
    values = fitted.detach().cpu().numpy().astype(np.float64)
    counts = np.bincount(sizes, minlength=graph.n + 1)
    frequency = counts / sizes.size
    # the outbreaks are a sample, as Monte Carlo runs are: drawn with their Wilson band
    observed = MonteCarloResult(sizes, frequency, expected_tv_error(frequency, sizes.size))
    out = args.out
    summary = {
        # what was asked, so the file alone says which run it describes
        "graph": str(args.graph),
        "sizes": str(args.sizes),
        "seeds": None if args.seed is None else [str(v) for v in args.seed],
        "seed_prob": _recorded_seed_prob(args),
        **({"undirected": True} if args.undirected else {}),
        **({"weight": args.weight} if args.weight != "weight" else {}),
        # only where a line took it (_read_graph)
        **({"default": args.default} if args.default is not None else {}),
        **({"nodes_file": str(args.nodes)} if args.nodes is not None else {}),
        "share": args.share,
        **({"edge_type": args.edge_type} if args.share == "type" else {}),
        "optimizer": args.optimizer,
        "epochs": args.epochs,
        "bayes": args.bayes,
        "method": method,
        "nodes": graph.n,
        "edges": graph.num_edges,
        "outbreaks": int(sizes.size),
        "weights": int(shared.size),
        # at the fitted weights: a sum over the outbreaks, and per outbreak
        "log_likelihood": float(log_likelihood),
        "mean_log_likelihood": float(log_likelihood) / sizes.size,
        "converged": fit.converged,
        "gradient": fit.gradient,
        "steps": fit.epochs_run,
        "evaluations": fit.evaluations,
        "mean_size_observed": float(sizes.mean()),
        "mean_size_fitted": float(min(np.arange(values.size) @ values, graph.n)),
        **({"posterior": posterior} if posterior is not None else {}),
    }
    what = (f"w = {shared[0]:.4g}" if shared.size == 1 else f"{shared.size} weights")
    label = f"fitted ({what}, {'TDA' if method == 'tda' else 'exact'})"
    floor = _precision_floor(graph.n, values)
    with figures_locked() as plt:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    try:  # the figure is closed if drawing fails too
        with figures_locked():
            fig.suptitle(f"outbreak sizes: observed and fitted ({what})")
            curves = {f"observed ({sizes.size} outbreaks)": observed, label: values}
            plot_distribution(curves, ax=axes[0], title="where the mass is")
            reach = max(int(np.searchsorted(np.cumsum(values), 1 - 1e-4)), int(sizes.max()))
            if reach < graph.n:
                axes[0].set_xlim(-0.5, max(reach, 5) * 1.1 + 0.5)
            plot_distribution(curves, ax=axes[1], log=True, floor=floor,
                              title="log scale, all sizes (tail)")
            fig.tight_layout()
        # the versions and torch threads the numbers came from, to reproduce them
        summary["environment"] = environment()
        with atomic_outputs(out) as stage:  # all four files, or none replaced
            fit.save(stage / "fit.json")
            table.to_csv(stage / "weights.csv", index=False, float_format="%.17g")
            write_json(summary, stage / "summary.json")
            with figures_locked():
                fig.savefig(stage / "fit.png", dpi=120, format="png")
    finally:
        with figures_locked() as plt:
            plt.close(fig)
    state = ("converged" if fit.converged else
             f"not converged: gradient {fit.gradient:.2g}, raise --epochs")
    if posterior is not None and posterior["method"] == "svi":
        # the state above is the maximum-likelihood fit's; the posterior's is its own (it
        # read "converged" beside a summary.json whose posterior had not)
        state += f"; posterior: SVI {'' if posterior['converged'] else 'not '}converged"
    print(f"wrote {out / 'weights.csv'}, fit.json, summary.json and fit.png ({what}, {state})")
    return 0


def _graph_options(parser: argparse.ArgumentParser) -> None:
    """Add the edge list and how to read it: ``--undirected``, ``--weight``, ``--default``..."""
    parser.add_argument("graph", type=existing_file, metavar="GRAPH.edgelist",
                        help="edge list, one line 'u v p' per directed edge u -> v (networkx's "
                        "weighted edge-list format; lines 'u v {'weight': p, ...}' of "
                        "nx.write_edgelist are read too, see --weight); '#' starts a comment. "
                        "An undirected contact list (nx.write_weighted_edgelist of an nx.Graph "
                        "gives each contact once) needs --undirected. A file named .gz, .bz2 "
                        "or .xz is decompressed (so are --nodes, --sizes and --seed-prob "
                        "files)")
    parser.add_argument("--undirected", action="store_true",
                        help="each line 'u v p' is a contact in both directions (u -> v and "
                        "v -> u, both with p); a contact listed twice (u v and v u) is refused")
    parser.add_argument("--weight", default="weight", metavar="NAME",
                        help="on lines 'u v {attributes}' (nx.write_edgelist), the attribute "
                        "that holds the probability p; default %(default)s (lines 'u v p' do "
                        "not use it)")
    parser.add_argument("--default", type=probability, metavar="P",
                        help="the probability p of every edge whose line gives none: lines "
                        "'u v' (an unweighted contact list, as nx.write_edgelist(G, "
                        "data=False) writes it) and lines 'u v {attributes}' without --weight; "
                        "lines 'u v p' keep their p (with p on every line it is ignored, "
                        "with a warning); summary.json records it where a line took it. "
                        "Default: every line needs its p")
    parser.add_argument("--nodes", type=existing_file, metavar="FILE",
                        help="every node of the population, one label per line ('#' starts a "
                        "comment; no header line: a first line 0, as pd.Series(nodes).to_csv("
                        "path, index=False) writes, is read as its header, with a warning, "
                        "unless it names a node of the edge list or a --seed, or the other "
                        "labels are whole numbers: then it is a person, with a warning), "
                        "people without "
                        "contacts included: with --seed-prob they may be seeds, and sizes "
                        "count them; every node of the edge list must be listed. Default: the "
                        "edge list's nodes")


def _seeding_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--seed`` and ``--seed-prob`` (one of them or both is required)."""
    parser.add_argument("--seed", nargs="+", action="extend", metavar="NODE",
                        help="seed node(s), active for sure in every cascade; repeat or "
                        "list several. With --seed-prob too, the other nodes are seeds with "
                        "its probability (a background rate)")
    parser.add_argument(
        "--seed-prob", type=_seed_prob, metavar="P|FILE",
        help="every node is a seed independently with P; or a CSV file with a header line "
        "(',0' of pd.Series(p, index=nodes).to_csv() too) "
        "and rows node,probability giving each node its own (every node needs its row, 0 "
        "for people who are never seeds; summary.json records the file's path). With "
        "--seed, it applies to the other nodes (their rows are not used, and may be left "
        "out)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``prunus cascade size`` and ``prunus cascade fit`` to the ``prunus`` command line.

    Parameters
    ----------
    subparsers
        The ``prunus`` parser's subcommands (found through the ``prunus.commands`` entry
        point).
    """
    parser = subparsers.add_parser(
        "cascade", help="cascade size distributions of the Independent Cascade model, and "
        "transmission weights fitted to observed outbreak sizes"
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    size = sub.add_parser(
        "size",
        help="distribution of the final cascade size",
        description="Compute P(final size = k), k = 0..N, of the Independent Cascade model "
        "on a weighted edge list (lines 'u v p', p = the probability that u activates v; "
        "with --undirected each line is a contact in both directions); "
        "writes DIR/distribution.csv (size,probability; with --method mc also lower,upper: "
        "the 95% Wilson interval of each sampled probability), summary.json and a plot.",
        **example_help(_EXAMPLES["size"]),
    )
    _graph_options(size)
    _seeding_options(size)
    size.add_argument("--method", choices=["auto", "tree", "tda", "exact", "mc"],
                      default="auto",
                      help="tree: exact, networks without cycles; tda: approximation for "
                      "networks with cycles (poor on networks with many short cycles near "
                      "the epidemic threshold, sparse ones too: compare with mc); exact: "
                      "exact where every connected component with a cycle has at most 12 "
                      "nodes (households, any number of them: 100,000 households of 5 in "
                      "about 2 s; the forests by tree); mc: Monte Carlo; auto (default): "
                      "tree on forests, exact where every component with a cycle is that "
                      "small, else tda")
    size.add_argument("--tail-accurate", action="store_true",
                      help="resolve probabilities below the round-off floor (about 1e-14; "
                      "up to 3 n eps, 7e-12 at 10,000 nodes, where the size is nearly "
                      "certain: weights at or near 1 on deep or wide trees; precision_floor "
                      "in summary.json) with a small relative error (tree/tda/exact; about "
                      "30-40x slower)")
    # defaults stated: with a fixed default seed a rerun draws the same runs, which "Monte
    # Carlo seed" alone did not say
    size.add_argument("--runs", type=at_least(1, int), default=_RUNS,
                      help="Monte Carlo runs (--method mc); default %(default)s")
    size.add_argument("--rng-seed", type=at_least(0, int), default=0,
                      help="Monte Carlo seed (--method mc); default %(default)s, so a rerun "
                      "draws the same runs")
    size.add_argument("--quiet", action="store_true",
                      help="no progress bar (Monte Carlo runs, on stderr)")
    size.add_argument("--out", required=True, type=output_folder, metavar="DIR",
                      help="output folder (created): distribution.csv (size, probability; "
                      "for mc also lower and upper, the 95%% Wilson interval of each "
                      "probability), summary.json, distribution.png")
    # the handler exits as argparse does when no seeding is given
    size.set_defaults(func=functools.partial(_size, parser=size))
    fit = sub.add_parser(
        "fit",
        help="transmission weights from observed outbreak sizes",
        description="Fit the Independent Cascade model's transmission probabilities to "
        "observed final outbreak sizes by maximum likelihood (CascadeFit; with --bayes also "
        "their posterior, fit_bayesian), on a contact network given as in 'prunus cascade "
        "size' (its probabilities p are the starting point: their mean within each shared "
        "weight). Writes DIR/weights.csv (name,probability: one row per shared weight, named "
        "'all', by its edge type, or by its edge 'u->v'; with --bayes also mean,sd,q05,q95 "
        "of the posterior), DIR/fit.json (CascadeFit.save: CascadeFit.load reads it back "
        "onto the same edge list, read with the same --undirected and --nodes, and a --default "
        "where lines give no p), "
        "DIR/summary.json and DIR/fit.png (the observed size "
        "frequencies against the fitted distribution).",
        **example_help(_EXAMPLES["fit"]),
    )
    _graph_options(fit)
    fit.add_argument("--sizes", required=True, type=existing_file, metavar="FILE",
                     help="CSV of observed outbreaks, one per row: a column 'size' (with a "
                     "column 'count', as value_counts().to_csv() writes, a row stands for "
                     "that many outbreaks; the header ',count' it writes for a Series "
                     "without a name is read too, but no other unnamed first column, such "
                     "as the row index of pd.Series(sizes).to_csv(), and ',size' is refused "
                     "where it may be pandas < 2.0's value_counts().to_csv() (sizes unnamed, "
                     "counts under 'size': name the columns size,count); without 'count', a "
                     "column named as counts (a number, as the '0' of "
                     "groupby('size').size(), or in any case count, counts, n, freq, "
                     "frequency, outbreaks, n_outbreaks, occurrences, times, total, weight, "
                     "weights) or shares (proportion, probability, prob, fraction, percent, "
                     "percentage, share) is refused, since only 'count' multiplies a row; "
                     "other columns, such as contact_count, are ignored), or a single column "
                     "with or without a header (a first line 0 is the header that "
                     "pd.Series(sizes).to_csv(index=False) writes, unless other sizes 0 "
                     "follow; either reading is warned of). "
                     "A size counts every infected person, the index case included; whole "
                     "numbers (3.0 is read as 3)")
    _seeding_options(fit)
    fit.add_argument("--share", choices=["all", "type", "edge"], default="all",
                     help="one weight for every edge (all, the default), one per edge type "
                     "(type, needs --edge-type), or one per directed edge (edge)")
    fit.add_argument("--edge-type", metavar="NAME",
                     help="with --share type, the attribute of lines 'u v {attributes}' "
                     "(nx.write_edgelist) that holds each edge's type, e.g. {'weight': 0.3, "
                     "'type': 'household'}; the types' weights follow their sorted names")
    fit.add_argument("--optimizer", choices=["lbfgs", "adam"], default="lbfgs",
                     help="L-BFGS (default lbfgs: few passes where few weights are shared) "
                     "or Adam (steadier with one weight per edge)")
    fit.add_argument("--epochs", type=at_least(1, int), default=300, metavar="N",
                     help="the most exact distribution passes after the first (CascadeFit."
                     "fit's epochs); the fit stops once converged; default %(default)s")
    fit.add_argument("--bayes", action="store_true",
                     help="also the posterior of the shared weights under Beta priors "
                     "(fit_bayesian: exact on a grid for one weight, SVI for more), written "
                     "to weights.csv (mean, sd, q05, q95) and summary.json")
    fit.add_argument("--prior", type=_positive, nargs=2, default=[1.0, 1.0],
                     metavar=("A", "B"),
                     help="Beta(A, B) prior of every shared weight (--bayes); default 1 1, "
                     "uniform")
    fit.add_argument("--svi-steps", metavar="N", type=at_least(1, int), default=None,
                     help="SVI steps of --bayes with more than one shared weight "
                     "(fit_bayesian's steps); default 500: raise it where the fit warns that "
                     "SVI has not settled")
    fit.add_argument("--rng-seed", type=_seed_32, default=0,
                     help="seed of the posterior draws (--bayes); default %(default)s, so a "
                     "rerun gives the same posterior")
    fit.add_argument("--quiet", action="store_true",
                     help="no progress bar (on stderr)")
    fit.add_argument("--out", required=True, type=output_folder, metavar="DIR",
                     help="output folder (created): weights.csv, fit.json, summary.json, "
                     "fit.png")
    fit.set_defaults(func=functools.partial(_fit, parser=fit))
    parser.set_defaults(func=command_required(parser))


__all__ = ["register", "CommandError"]
