"""Command line for ``prunus cascade``."""

from __future__ import annotations

import argparse
import math
import sys
from typing import TYPE_CHECKING

from core.cli import (
    CommandError,
    at_least,
    existing_file,
    output_folder,
    probability,
    warn_ignored,
)

if TYPE_CHECKING:
    import numpy as np

_RUNS = 100_000  # default Monte Carlo runs
_LEVEL = 0.95  # of the Monte Carlo intervals in distribution.csv


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


def _size(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from core.atomic import atomic_outputs, write_json

    from .distribution import _resolve, size_distribution
    from .graph import CascadeGraph, find_cycle_link, seed_probabilities
    from .montecarlo import expected_tv_error, monte_carlo

    graph = CascadeGraph.read_edgelist(args.graph, undirected=args.undirected,
                                       weight=args.weight)
    for node in args.seed or ():
        try:
            graph.index_of(node)
        except ValueError as exc:
            # the other commands' --seed is the random seed, here it names seed nodes
            raise CommandError(f"--seed {node}: no node {node!r} in {args.graph} (--seed names "
                               "seed nodes; the Monte Carlo random seed is --rng-seed)") from exc
    method = _resolve(graph, args.method)
    if method == "tree" and not graph.is_forest():
        # the library's error names its argument (method='tree' ... use method='tda')
        u, v = find_cycle_link(graph)
        raise CommandError(
            f"--method tree needs a network without cycles, but the link "
            f"({graph.labels[u]!r}, {graph.labels[v]!r}) closes one; use --method tda (an "
            "approximation) or mc, or auto"
        )
    if args.method == "auto" and method == "tda":
        # auto never samples, so say that this answer is an approximation
        print("prunus: note: the network has cycles, so auto uses the TDA "
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

        sampled = monte_carlo(graph, seed_probabilities(graph, args.seed, args.seed_prob),
                              n_runs=args.runs, seed=args.rng_seed, progress=not args.quiet)
        probs = torch.as_tensor(sampled.distribution, dtype=graph.dtype, device=graph.device)
    else:
        probs = size_distribution(
            graph,
            seeds=args.seed,
            seed_prob=args.seed_prob,
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
        "seed_prob": args.seed_prob,
        # only when given: the summaries of directed runs stay as they were
        **({"undirected": True} if args.undirected else {}),
        **({"weight": args.weight} if args.weight != "weight" else {}),
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


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``prunus cascade size`` to the ``prunus`` command line.

    Parameters
    ----------
    subparsers
        The ``prunus`` parser's subcommands (found through the ``prunus.commands`` entry
        point).
    """
    parser = subparsers.add_parser(
        "cascade", help="cascade size distributions of the Independent Cascade model"
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
    )
    size.add_argument("graph", type=existing_file, metavar="GRAPH.edgelist",
                      help="edge list, one line 'u v p' per directed edge u -> v (networkx's "
                      "weighted edge-list format; lines 'u v {'weight': p, ...}' of "
                      "nx.write_edgelist are read too, see --weight); '#' starts a comment. "
                      "An undirected contact list (nx.write_weighted_edgelist of an nx.Graph "
                      "gives each contact once) needs --undirected")
    size.add_argument("--undirected", action="store_true",
                      help="each line 'u v p' is a contact in both directions (u -> v and "
                      "v -> u, both with p); a contact listed twice (u v and v u) is refused")
    size.add_argument("--weight", default="weight", metavar="NAME",
                      help="on lines 'u v {attributes}' (nx.write_edgelist), the attribute "
                      "that holds the probability p; default %(default)s (lines 'u v p' do "
                      "not use it)")
    seeds = size.add_mutually_exclusive_group(required=True)
    seeds.add_argument("--seed", nargs="+", action="extend", metavar="NODE",
                       help="fixed seed node(s); repeat or list several")
    seeds.add_argument(
        "--seed-prob", type=probability, metavar="P",
        help="every node is a seed independently with P",
    )
    size.add_argument("--method", choices=["auto", "tree", "tda", "mc"], default="auto",
                      help="tree: exact, networks without cycles; tda: approximation for "
                      "networks with cycles (poor on networks with many short cycles near "
                      "the epidemic threshold, sparse ones too: compare with mc); mc: Monte "
                      "Carlo; auto (default): tree "
                      "on forests, else tda")
    size.add_argument("--tail-accurate", action="store_true",
                      help="resolve probabilities below the round-off floor (about 1e-14; "
                      "up to 3 n eps, 7e-12 at 10,000 nodes, where the size is nearly "
                      "certain: weights at or near 1 on deep or wide trees; precision_floor "
                      "in summary.json) with a small relative error (tree/tda; about 30-40x "
                      "slower)")
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
    size.set_defaults(func=_size)
    parser.set_defaults(func=lambda args: parser.print_help() or 0)


__all__ = ["register", "CommandError"]
