"""Command line for ``prunus fj``: simulate, fit and solve Friedkin-Johnsen networks.

``simulate`` runs attacked debates, ``fit`` fits FJ to their transcripts, and
``equilibrium`` solves where innate opinions settle on a trust network.
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from pathlib import Path
from typing import Any

from core.cli import (
    CommandError,
    at_least,
    command_required,
    example_help,
    existing_file,
    options_in_errors,
    output_folder,
    probability,
    warn_ignored,
)

_GRAPHS = ("complete", "star", "ring", "chain", "wheel", "tree", "er", "ba")
_ADJACENCY_HELP = ("your own graph, a CSV: a square matrix with the agents' names as header "
                   "and first column, rows listening to columns (nonzero in row i, column j: "
                   "i hears j; weights >= 0, zero diagonal), or an edge list with header "
                   "source,target[,weight] (source speaks to target; list both directions "
                   "for agents that hear each other)")

#: Arguments of the library that ``prunus fj`` sets, and its options: the library's
#: messages name the arguments (``loss='kl' ... use loss='mse'``), which stay as they are
#: for Python users; the command rewords them. Options with choices show the value as it
#: is typed (``--loss mse``).
_OPTIONS = {"loss": "--loss"}
_CHOICES = {"loss"}
_LEVEL = 0.95  # of the gamma and alpha intervals in agents.csv
#: The example that ends each command's --help: README's
_EXAMPLES = {
    "simulate": "prunus fj simulate --graph star --n 6 --adversary hub --gamma 0.2 --alpha 0.5 "
                "--out results/",
    "fit": "prunus fj fit results/trajectories.csv --per-agent --graph star --out fit/",
    "equilibrium": "prunus fj equilibrium --adjacency ties.csv --opinions survey.csv "
                   "--gamma 0.2 --alpha 0.5 --out eq/",
}


def _simulate(args: argparse.Namespace) -> int:
    from core.atomic import atomic_outputs, write_json
    from core.cli import drawable_text, figures_locked
    from multiagent.adversary import Adversary, Scenario, simulate
    from multiagent.plot import plot_trajectories
    from multiagent.sweeps import _closed_form

    names: list[str] | None = None  # the agents of an --adjacency file, in its order
    graph: Any = args.graph
    if args.adjacency is not None:
        if args.n is not None:  # two counts of agents: say which one is meant
            raise CommandError(f"--n and --adjacency: the agents are those of the --adjacency "
                               f"file; leave --n out (got --n {args.n})")
        # sparse: a 20,000-agent edge list took 3.4 GB through the dense matrix
        names, weights = _read_adjacency_option(args.adjacency, sparse=True)
        graph = _speaker_graph(names, weights)
        args.n = len(names)  # recorded in metrics.json as the file's count
    else:
        args.graph = graph = args.graph or "complete"
        args.n = 6 if args.n is None else args.n
    if args.n < 2:
        raise CommandError(f"--n must be >= 2, got {args.n}")
    if args.graph == "ba" and args.n < 3:  # two edges per new node need three agents
        raise CommandError(f"--graph ba needs --n >= 3, got {args.n}")
    advs: tuple[Adversary, ...] = ()
    keywords = {"hub": "the agent heard by the most agents",
                "leaf": "the agent heard by the fewest", "none": "no adversary"}
    typed, args.adversary = args.adversary is not None, args.adversary or "hub"
    if typed and names is not None and args.adversary in keywords and args.adversary in names:
        # an agent named "hub" or "none" was silently taken for the keyword (the default,
        # not typed, stays the keyword: a file with an agent called hub ran before)
        raise CommandError(f"--adversary {args.adversary}: --adjacency "
                           f"{str(args.adjacency)!r} has an agent named {args.adversary!r}, "
                           f"and {args.adversary} is also the keyword for "
                           f"{keywords[args.adversary]}; rename that agent in the file to say "
                           "which is meant")
    if args.adversary == "none":  # settings of an adversary no one plays
        given = [flag for flag, value, default in (("--adversary-gamma", args.adversary_gamma,
                                                    1.0),
                                                   ("--persuasion", args.persuasion, 1.0),
                                                   ("--sleeper", args.sleeper, 0))
                 if value != default]
        warn_ignored(given, "adversary settings, and --adversary none places no adversary")
    elif args.sleeper >= args.rounds:
        # it wakes after the last round: benign throughout (ASR 0), while metrics.json
        # reported the weight of an attack that never happened
        raise CommandError(f"--sleeper {args.sleeper} must be less than --rounds "
                           f"{args.rounds}: the adversary attacks from round --sleeper on, so "
                           "it would never attack within the debate")
    if args.adversary != "none":
        pos: str | int = args.adversary
        if not typed and names is not None and "hub" in names:
            # the default keyword on a file with an agent called hub: the keyword's agent by
            # its index, which Scenario does not confuse with the name
            from multiagent.topologies import _hub_and_leaf_by_order

            pos = _hub_and_leaf_by_order(graph)[0]
        elif pos not in ("hub", "leaf") and names is not None:
            if pos not in names:  # by name only: "3" may name another agent than index 3
                shown = names if len(names) <= 10 else [*names[:10], "..."]
                raise CommandError(f"--adversary: {pos!r} is not an agent of --adjacency "
                                   f"{str(args.adjacency)!r}; expected hub, leaf, none or one "
                                   f"of its agents {shown}")
        elif pos not in ("hub", "leaf"):
            try:
                pos = int(pos)
            except ValueError as exc:
                raise CommandError(
                    f"--adversary must be hub, leaf, none or an agent index, got {pos!r}"
                ) from exc
        advs = (Adversary(pos, gamma=args.adversary_gamma, persuasion=args.persuasion,
                          sleeper=args.sleeper),)
    scenario = Scenario(graph=graph, n=args.n, gamma=args.gamma, alpha=args.alpha,
                        adversaries=advs, rounds=args.rounds, n_options=args.options,
                        seed=args.seed)
    keep = not args.no_trajectories
    result = simulate(scenario, questions=args.questions, seed=args.seed, keep_trajectories=keep)
    out = Path(args.out)
    nodes = scenario.adversary_nodes()
    metrics = dict(result.metrics)
    # as a sweep gives it: on a star, an agent index too is the hub or a leaf (--adversary 0
    # wrote null although agent 0 is the hub)
    metrics["adversary_weight_closed_form"] = _closed_form(scenario)
    # an --adjacency file's agents by name, as in trajectories.csv
    metrics["adversary_nodes"] = nodes if names is None else [names[i] for i in nodes]
    if names is not None:
        metrics["agents"] = names
    # --quiet changes what is shown, not the run: the same metrics.json either way
    metrics["parameters"] = {k: v for k, v in vars(args).items() if k not in ("func", "quiet")}
    from core.provenance import environment

    metrics["environment"] = environment()  # the versions and threads that made the numbers
    summary = (f"ASR {metrics['asr']:.3f}  benign accuracy {metrics['accuracy_start']:.3f} -> "
               f"{metrics['accuracy_end']:.3f}  adversary weight "
               f"{metrics['adversary_weight']:.4f}")
    if not keep:
        # an earlier run's trajectories beside this run's metrics.json read as this run's
        # (a later `fj fit DIR/trajectories.csv` fitted them): removed once metrics.json is
        # in place, so a run that fails leaves the earlier run's files together
        earlier = _files_of(out, ("trajectories.csv", "trajectories.png"))
        with atomic_outputs(out) as stage:
            write_json(metrics, stage / "metrics.json")
        removed = _remove_unchanged(earlier)
        print(summary)
        print(f"wrote {out / 'metrics.json'}")
        if removed:
            print(f"prunus: note: removed the earlier run's "
                  f"{', '.join(str(p) for p in removed)} "
                  "(--no-trajectories writes metrics.json only)", file=sys.stderr)
        return 0
    # drawn under the process-wide figure lock: matplotlib's text layout is not thread-safe,
    # and runs of main() in a thread pool failed in it
    with figures_locked() as plt:
        fig, ax = plt.subplots(figsize=(7, 3.6))
    try:  # the figure is closed if drawing fails too (in a notebook it would show)
        truth = int(result.truth[0])
        # "$" in a file or agent name shown as written, not read as mathtext; a file name
        # that is not UTF-8 (surrogate escapes) with U+FFFD, which matplotlib can draw
        title = drawable_text(f"{args.graph or Path(args.adjacency).name}, n={args.n}, "
                              f"adversary={args.adversary}: question 0").replace("$", r"\$")
        with figures_locked():
            # the legend names an --adjacency file's agents, as the CSV and metrics.json do
            plot_trajectories(result.trajectories[0], option=truth, adversaries=nodes, ax=ax,
                              title=title, ylabel=f"belief in the correct option ({truth})",
                              names=names)
            fig.tight_layout()
        with atomic_outputs(out) as stage:  # all three files, or none replaced
            _write_trajectories(stage / "trajectories.csv", result.trajectories,
                                result.truth, nodes, agents=names)
            write_json(metrics, stage / "metrics.json")
            with figures_locked():
                fig.savefig(stage / "trajectories.png", format="png", dpi=120)
    finally:
        with figures_locked() as plt:
            plt.close(fig)
    print(summary)
    print(f"wrote {out / 'trajectories.csv'}, {out / 'metrics.json'}, {out / 'trajectories.png'}")
    return 0


def _files_of(folder: Path, names: tuple[str, ...]) -> dict[Path, tuple[int, int, int]]:
    """Return the files ``names`` in ``folder`` that exist, with device, inode and mtime."""
    found = {}
    for name in names:
        path = folder / name
        try:
            info = path.stat()
        except OSError:  # not there (or not ours to see): nothing to remove
            continue
        if path.is_file():
            found[path] = (info.st_dev, info.st_ino, info.st_mtime_ns)
    return found


def _remove_unchanged(files: dict[Path, tuple[int, int, int]]) -> list[Path]:
    """Remove the files that are still those :func:`_files_of` saw; return those removed.

    A file replaced meanwhile (another run into the same folder that wrote it) is kept.
    """
    removed = []
    for path, seen in files.items():
        try:
            info = path.stat()
            if (info.st_dev, info.st_ino, info.st_mtime_ns) != seen:
                continue
            path.unlink()
        except OSError:  # gone already, or not ours to remove
            continue
        removed.append(path)
    return removed


def _read_adjacency_option(path: Path, *, sparse: bool = False) -> Any:
    """:func:`multiagent.topologies.read_adjacency`, its errors naming ``--adjacency``.

    ``sparse``: return the agents' names and a CSR array of the weights instead of the
    labelled DataFrame (an edge list is then never held as a dense ``(n, n)`` array).
    """
    from multiagent.topologies import _read_adjacency_file, read_adjacency

    try:
        return _read_adjacency_file(path, sparse=True) if sparse else read_adjacency(path)
    except ValueError as exc:
        raise CommandError(f"--adjacency: {exc}") from exc


def _speaker_graph(names: list[str], weights: Any) -> Any:
    """Build the directed networkx graph of an adjacency: ``j -> i`` when ``i`` hears ``j``.

    ``weights``: the ``(n, n)`` adjacency, dense or sparse, rows listening to columns. Its
    nodes are the agents' ``names`` in that order, which the scenario numbers them by;
    weights are kept (the scenario's trust is the row-normalised adjacency). Edges are
    added row by row, columns ascending, as ``np.nonzero`` of the dense array gives them.
    """
    import networkx as nx
    import numpy as np
    import scipy.sparse as sp

    A = sp.csr_array(weights)
    A.eliminate_zeros()
    A.sort_indices()
    listeners = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr)).tolist()
    graph = nx.DiGraph()
    graph.add_nodes_from(names)
    graph.add_weighted_edges_from((names[j], names[i], w) for i, j, w
                                  in zip(listeners, A.indices.tolist(), A.data.tolist()))
    return graph


def _csv_field(text: str) -> str:
    """Quote a name as pandas' ``to_csv`` does (only when it holds a comma, quote or newline)."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _write_trajectories(path: Path, trajectories: Any, truth: Any, adversaries: list[int],
                        *, agents: list[str] | None = None, chunk_rows: int = 1 << 16) -> None:
    r"""Write ``(Q, T + 1, n, K)`` beliefs as ``trajectories.csv``, one line per belief.

    Columns ``question, round, agent, option, belief, role, truth``, rows in C order of
    the array, byte for byte what pandas' ``to_csv(lineterminator="\n")`` writes (beliefs
    as ``repr``, NaN as an empty field; ``\n`` line ends on every system). Lines are joined
    from strings made once, ``agent,option,`` per (agent, option) and ``,role,truth`` per
    question, so only the beliefs are formatted per line. pandas formatted every field of
    every line: this is 2.6x faster (4.4M lines: 3.3 s against 8.5 s; a 100,000-agent
    debate writes 110 million). At most ``chunk_rows`` lines are held. ``agents``: names
    written in the agent column instead of the indices (an ``--adjacency`` file's).
    """
    import numpy as np

    Q, T1, n, K = trajectories.shape
    beliefs = trajectories.reshape(-1)
    truth = np.asarray(truth)
    role = ["benign"] * n
    for a in adversaries:
        role[a] = "adversary"
    shown = [str(a) for a in range(n)] if agents is None else [_csv_field(a) for a in agents]
    middle = [f"{shown[a]},{o}," for a in range(n) for o in range(K)]
    block = n * K  # the lines of one (question, round)

    def fmt(x: float) -> str:
        return "" if x != x else repr(x)  # NaN: pandas' empty field

    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("question,round,agent,option,belief,role,truth\n")
        tails: list[str] = []
        for start in range(0, beliefs.size, block):
            q, r = divmod(start // block, T1)
            if r == 0:
                tails = [f",{role[a]},{truth[q]}\n" for a in range(n) for _ in range(K)]
            head = f"{q},{r},"
            for i in range(0, block, max(int(chunk_rows), 1)):
                j = min(i + chunk_rows, block)
                values = map(fmt, beliefs[start + i : start + j].tolist())
                handle.write("".join([head + m + v + t for m, v, t
                                      in zip(middle[i:j], values, tails[i:j])]))


def _read_transcripts(path: Path, agents: list[str] | None = None, normalize: bool = False
                      ) -> Any:
    """Read the transcripts of ``path`` into a :class:`multiagent.Transcripts`.

    :func:`multiagent.read_transcripts` (the library reads the same tables by the same
    rules), its messages naming ``--adjacency`` for ``agents``: the names of an
    ``--adjacency`` file; a CSV's agent column then holds these names (compared as text, so
    agents 0..n-1 match a file naming them "0".."n-1") and the agent axis follows the
    file's order. Without them, an agent column of indices 0..n-1 numbers the agents, and
    one holding names (as ``simulate --adjacency`` writes, also names that look like
    numbers, such as respondent IDs, when every belief is there) orders them as they first
    appear: the order ``simulate`` writes them in, that of its ``--adjacency`` file. The
    agents' names are ``agents`` or those found (None for indices). An .npy file's agents
    are taken in it. ``normalize``: ``--normalize``, each belief row divided by its sum.
    Questions that stop at different rounds (debates that end once the agents agree) are
    read each up to its own last round, a ``_ByQuestion`` (the library refuses them).
    """
    from multiagent.transcripts import _csv_wording, _read_path, _RoleWarning

    try:
        # --normalize's note printed as the command's other warnings, whatever the filters
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            read = _read_path(path, agents, _csv_wording(path, option="--adjacency"),
                              normalize=normalize, by_question=True)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    for warning in said:
        if issubclass(warning.category, _RoleWarning):  # follows the filters (-W error)
            warnings.warn(str(warning.message), warning.category, stacklevel=1)
        else:
            print(f"prunus: warning: {warning.message}", file=sys.stderr)
    return read


def _name_the_belief(exc: ValueError, X: Any, labels: list[Any],
                     agents: list[str] | None = None) -> None:
    """Raise ``exc`` as a CommandError naming the question, round and agent it is about.

    The fit names a bad belief ``transcript[t][i] (agent i)``, a Python index into an
    array the user never saw, and not its question; named agents by their names. Other
    messages: return.
    """
    from multiagent.fit import _ROUNDED_HINT, _check_transcript

    found = re.match(r"transcript\[(\d+)\]\[(\d+)\] \(agent \d+\)", str(exc))
    if found is None:
        return
    question = next((label for label, beliefs in zip(labels, X)
                     if _fails(_check_transcript, beliefs)), None)
    where = "" if question is None or len(labels) == 1 else f"question {question}, "
    who = found[2] if agents is None else repr(agents[int(found[2])])
    rest = str(exc)[found.end():].replace(
        _ROUNDED_HINT, " (rounded probabilities? pass --normalize; percentages? divide by "
        "100)")
    raise CommandError(f"{where}round {found[1]}, agent {who}:{rest}") from exc


def _fails(check: Any, value: Any) -> bool:
    try:
        check(value)
    except ValueError:
        return True
    return False


def _fit(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from core.atomic import atomic_outputs, write_json
    from multiagent.fit import IsolatedAgentWarning, _isolated_said, fit_transcripts

    path = Path(args.data)
    frame = None if args.adjacency is None else _read_adjacency_option(args.adjacency)
    agent_names = None if frame is None else list(frame.index)
    read = _read_transcripts(path, agent_names, args.normalize)
    labels, agent_names = read.questions, read.agents
    # questions of different rounds: one array each (fit_transcripts takes such a list)
    last_rounds = getattr(read, "last_rounds", None)
    X = read.beliefs if last_rounds is None else read.transcripts()
    n_agents = read.beliefs.shape[2]

    def named(indices: list[int]) -> list[Any]:
        return list(indices) if agent_names is None else [agent_names[a] for a in indices]

    adversaries = named(read.adversaries)
    # each question's own: one agent may be the adversary in one question and benign in
    # the others (the union made q0's benign mean leave out agents benign in q0)
    marked = [named(read.adversaries_by_question.get(q, read.adversaries)) for q in labels]
    if frame is None and agent_names is not None and args.graph not in (None, "complete"):
        # --graph numbers its agents 0..n-1 (which name is a star's hub?)
        raise CommandError(f"{path} names its agents ({agent_names[0]!r}, ...), but --graph "
                           f"{args.graph} numbers them 0..n-1 as simulate does: names in the "
                           "agent column need --adjacency FILE naming them (or no --graph: "
                           "every agent may trust every other)")
    last = X.shape[1] - 1 if last_rounds is None else min(last_rounds)
    if last_rounds is not None and last == 0:  # the fit would not say which question
        alone = [q for q, t in zip(labels, last_rounds) if t == 0]
        shown = repr(alone[0]) if len(alone) == 1 else _shown(alone)
        raise CommandError(f"question{'s' if len(alone) > 1 else ''} {shown} of "
                           f"{path} hold{'' if len(alone) > 1 else 's'} round 0 only (the "
                           "innate beliefs): a fit needs at least rounds 0 and 1; leave "
                           f"{'them' if len(alone) > 1 else 'it'} out")
    if args.train_rounds is not None and args.train_rounds > last:
        # fit_fj would say "train_rounds must be in ...", not naming the option
        holds = ("the transcripts hold" if last_rounds is None else
                 f"question {labels[last_rounds.index(last)]!r} holds")
        raise CommandError(f"--train-rounds must be at most {last} ({holds} "
                           f"rounds 0..{last}), got {args.train_rounds}")
    if args.train_rounds == last:
        # it holds nothing out and scores in-sample (scored_from 0), though the option
        # promises later rounds: said, not refused (such runs worked before); warned, not
        # printed, so that the user's warning filters apply (-W error refuses the run)
        if last_rounds is None or len(set(last_rounds)) == 1:
            warnings.warn(f"--train-rounds {last} is the transcripts' last round: no round "
                          "is held out, so the scores are in-sample, as without the option; "
                          f"give at most {last - 1} to score later rounds", UserWarning,
                          stacklevel=1)
        else:  # questions that stop at different rounds: only the shortest are in-sample
            short = [q for q, t in zip(labels, last_rounds) if t == last]
            one = len(short) == 1
            shown = repr(short[0]) if one else _shown(short)
            warnings.warn(f"--train-rounds {last} is the transcripts' last round for "
                          f"question{'' if one else 's'} {shown}: no round of "
                          f"{'its' if one else 'theirs'} is held out, so "
                          f"{'its' if one else 'their'} scores are in-sample, as without "
                          f"the option; give at most {last - 1} to score later rounds of "
                          "every question", UserWarning, stacklevel=1)
    if args.seed != 0 and args.graph not in ("er", "ba"):
        given = (f"--graph {args.graph}" if args.graph is not None
                 else "--adjacency" if frame is not None else "a complete graph")
        warn_ignored([f"--seed {args.seed}"], f"it draws a random --graph (er or ba), and "
                     f"{given} is not drawn")
    if args.trust == "given" and frame is None:
        # the weights are the file's: --graph and the complete graph have none
        given = (f"--graph {args.graph}" if args.graph is not None
                 else "the complete graph (no --adjacency)")
        raise CommandError(f"--trust given takes the trust from the weights of --adjacency "
                           f"FILE (row-normalised), and {given} has none: pass "
                           "--adjacency FILE (an edge list source,target,weight or a square "
                           "matrix of weights), or use --trust learn or --trust uniform")
    if args.trust == "given":
        weights = frame.to_numpy()
        if np.unique(weights[weights > 0]).size == 1:  # no weight column, or all equal
            warnings.warn(f"--trust given: the weights of --adjacency "
                          f"{str(args.adjacency)!r} are all equal, so the given trust is "
                          "uniform over each agent's neighbours, as --trust uniform (an edge "
                          "list needs a weight column source,target,weight to give other "
                          "trust)", UserWarning, stacklevel=1)
    if args.incremental and args.train_rounds is None:  # nothing held out to predict
        raise CommandError("--incremental predicts the rounds after --train-rounds R; give "
                           "--train-rounds (MAS-Cascade: 7)")
    if adversaries and not args.per_agent:
        warnings.warn(f"agents {adversaries} are marked adversary in the role column; one "
                      "gamma and alpha shared by all agents also fits them, which biases "
                      "both. Use --per-agent to fit every agent its own.", UserWarning,
                      stacklevel=1)
    options = dict(per_agent=args.per_agent, train_rounds=args.train_rounds, loss=args.loss)
    if args.graph is not None:  # a star's transcripts fitted with complete trust misread it
        from multiagent.topologies import adjacency, make_graph

        options["adjacency"] = adjacency(make_graph(args.graph, n_agents, seed=args.seed))
    elif frame is not None:  # the transcripts' agents are in the file's order
        options["adjacency"] = frame.to_numpy()
    if args.trust != "learn":
        # only then: a default run's checkpoint signature (its fit_kwargs) stays as it was
        options.update(learn_trust=False, trust=args.trust)
    if args.max_steps is not None and args.max_steps != _default_max_steps():
        options["max_steps"] = args.max_steps  # only then, as --trust
    # an agent that hears no one was refused ("its trust cannot be fitted"), though simulate
    # runs it: it listens only to itself, as in the model, and the others are fitted. Said
    # here by name, once (fit_fj would name it by index, once per question)
    isolated = []
    if "adjacency" in options:
        A = np.asarray(options["adjacency"])
        named = list(range(A.shape[0])) if agent_names is None else agent_names
        # a self-loop is no one else (the fits drop it): such a row hears no one
        heard = ((A > 0) & ~np.eye(A.shape[0], dtype=bool)).any(axis=1)
        isolated = [named[i] for i in np.flatnonzero(~heard)]
    if isolated:
        one = len(isolated) == 1
        shown = repr(isolated[0]) if one else str(isolated[:10])[:-1] + (
            ", ...]" if len(isolated) > 10 else "]")
        its = "its" if one else "their"
        # the library's class for it: a filter on IsolatedAgentWarning covers both
        warnings.warn(
            f"{'--adjacency' if frame is not None else '--graph ' + args.graph}"
            f": agent{'' if one else 's'} {shown} hear{'s' if one else ''} no one (no edge "
            f"to {'it' if one else 'them'}, or a row of zeros): as simulate has it, "
            f"{'it listens' if one else 'they listen'} only to "
            f"{'itself' if one else 'themselves'} and, in the model, keep"
            f"{'s' if one else ''} {its} innate belief whatever {its} gamma and alpha, "
            f"so neither is identified: {its} transitions are left out of the fits"
            f" (with --per-agent {its} gamma and alpha stay at 0.2 and 0.5, with "
            f"gamma_se and alpha_se inf in agents.csv, out of the means and medians over "
            f"agents) and trust.csv gives {its} trust in "
            f"{'itself' if one else 'themselves'} as 1",
            IsolatedAgentWarning, stacklevel=1)
    # a rerun of an interrupted command reads the questions already fitted from here
    checkpoint = Path(args.out) / "fit_checkpoint.json"
    # said after the fits (fit_transcripts reads and checks the file): "resuming" was
    # printed before a checkpoint of other settings was refused
    resumed = _resume_note(checkpoint, len(X)) if checkpoint.exists() else None
    # "loss='kl' compares probability vectors over K >= 2 options"
    with options_in_errors(_OPTIONS, _CHOICES):
        try:
            with _isolated_said():  # by name, above
                table, fits = fit_transcripts(X, return_fits=True, progress=not args.quiet,
                                              incremental=args.incremental,
                                              checkpoint=checkpoint, **options)
        except ValueError as exc:
            error = _checkpoint_error(exc, checkpoint)
            if error is not None:
                raise error from exc
            _name_the_belief(exc, X, labels, agent_names)
            raise
    if resumed is not None:
        print(f"prunus: note: {resumed}", file=sys.stderr)
    table.insert(1, "question", labels)
    # fit_transcripts' last column, put back last below (after the per-agent columns) and
    # out of metrics.json's means
    table = table.drop(columns="converged")
    converged = [bool(f.converged) for f in fits]
    if not all(converged):
        # fit.json held the first question's converged, and nothing said that a question's
        # fit had stopped at max_steps, its estimates still moving
        steps = args.max_steps or _default_max_steps()
        stalled = [q for q, done in zip(labels, converged) if not done]
        shown = repr(stalled[0]) if len(stalled) == 1 else _shown(stalled)
        warnings.warn(f"{len(stalled)} of {len(labels)} fits did not converge in "
                      f"--max-steps {steps} L-BFGS steps (question"
                      f"{'s' if len(stalled) > 1 else ''} {shown}; converged is "
                      "False in fits.csv): their estimates may still move; refit with a "
                      f"larger --max-steps (e.g. {10 * steps})", UserWarning, stacklevel=1)
    if agent_names is not None:  # fit.json names them too (fit_fj saw a plain matrix)
        for f in fits:
            f.agents = list(agent_names)
    n = fits[0].W.shape[0]
    who = list(range(n)) if agent_names is None else agent_names  # as the input names them

    def per_agent(values: Any) -> Any:  # shared fits hold one value (or one SE) for all
        return np.broadcast_to(np.nan if values is None else np.asarray(values), (n,))

    def bounds(fit: Any, name: str) -> dict[str, Any]:
        # FJFit.interval: logit-scale, inside [0, 1]; none without standard errors (kl)
        se = fit.gamma_se if name == "gamma" else fit.alpha_se
        low, high = (None, None) if se is None else fit.interval(name, level=_LEVEL)
        return {f"{name}_low": per_agent(low), f"{name}_high": per_agent(high)}

    agents = pd.concat([
        pd.DataFrame({"question": q, "agent": who, "gamma": per_agent(f.gamma),
                      "alpha": per_agent(f.alpha), "gamma_se": per_agent(f.gamma_se),
                      "alpha_se": per_agent(f.alpha_se), **bounds(f, "gamma"),
                      **bounds(f, "alpha")})
        for q, f in zip(labels, fits)], ignore_index=True)
    trust = pd.concat([
        pd.DataFrame({"question": q, "listener": [i for i in who for _ in range(n)],
                      "speaker": who * n, "trust": f.W.ravel()})
        for q, f in zip(labels, fits)], ignore_index=True)
    summary = table.drop(columns=["transcript", "question"]).mean().to_dict()
    # an isolated agent's gamma and alpha (left at 0.2 and 0.5) say nothing: out of the
    # medians and means (its gamma, set by noise, made question 0's gamma_benign 0.467
    # for agents fitted at 0.2)
    lone = agents["agent"].isin(isolated)
    # the rows (question, agent) of the agents marked adversary in that question
    in_role = np.concatenate([[a in set(m) for a in who] for m in marked])
    varies = any(set(m) != set(adversaries) for m in marked)
    heard = (agents if not isolated else
             agents.assign(gamma=agents["gamma"].where(~lone),
                           alpha=agents["alpha"].where(~lone)))
    if args.per_agent:
        # fits.csv's gamma / alpha are means over agents: one adversary at gamma 1 among five
        # benign agents at 0.2 read as a benign 0.333; added after them, the median over
        # agents and, where the role column marks adversaries, the mean over the others
        by_question = heard.groupby("question", sort=False)
        table["gamma_median"] = by_question["gamma"].median().to_numpy()
        table["alpha_median"] = by_question["alpha"].median().to_numpy()
        benign = heard[~in_role]
        if adversaries and len(benign):
            means = benign.groupby("question", sort=False)[["gamma", "alpha"]].mean()
            means = means.reindex(labels)  # NaN for a question whose agents are all marked
            table["gamma_benign"] = means["gamma"].to_numpy()
            table["alpha_benign"] = means["alpha"].to_numpy()
    table["converged"] = converged  # added last: the columns before keep their places
    out = Path(args.out)
    names = ("fits.csv", "agents.csv", "trust.csv", "fit.json", "metrics.json")
    with atomic_outputs(out) as stage:
        table.to_csv(stage / "fits.csv", index=False)
        agents.to_csv(stage / "agents.csv", index=False)
        trust.to_csv(stage / "trust.csv", index=False)
        fits[0].save(stage / "fit.json")  # the first transcript's fit, to load with FJFit
        record = {"transcripts": int(len(table)), "mean": summary,
                  "per_agent": bool(args.per_agent), "incremental": bool(args.incremental),
                  "graph": args.graph or ("complete" if frame is None else None),
                  "adjacency": args.adjacency, "adversaries_in_data": adversaries,
                  # the other options that change the fits: with these and the data, the
                  # record says how to make them again (fit.json's "loss" is its value)
                  "data": str(args.data), "loss": args.loss, "train_rounds": args.train_rounds,
                  "seed": args.seed, "trust": args.trust}
        if agent_names is not None:  # the order of fit.json's gamma, alpha and W
            record["agents"] = agent_names
        if isolated:  # only then: the record of other runs stays as it was
            record["isolated_agents"] = isolated
        if args.normalize:  # only then, as isolated_agents
            record["normalize"] = True
        if varies:  # only then: each question's adversaries, where they differ
            record["adversaries_by_question"] = {str(q): m for q, m in zip(labels, marked)}
        if args.max_steps is not None:  # only then, as normalize
            record["max_steps"] = args.max_steps
        if last_rounds is not None:  # only then: questions that stop at different rounds
            record["last_rounds"] = {str(q): t for q, t in zip(labels, last_rounds)}
        from core.provenance import environment

        record["environment"] = environment()  # the versions and threads that made the fits
        write_json(record, stage / "metrics.json")
    checkpoint.unlink(missing_ok=True)  # the outputs are complete
    if args.per_agent:
        print(_per_agent_summary(len(table), heard, adversaries, summary["rmse"],
                                 in_role, varies))
    else:  # one shared value per question: its mean is what the fits found
        print(f"{len(table)} transcript(s): mean gamma {summary['gamma']:.3f}, mean alpha "
              f"{summary['alpha']:.3f}, mean RMSE {summary['rmse']:.4f}")
    print("wrote " + ", ".join(str(out / name) for name in names))
    return 0


def _default_max_steps() -> int:
    """``fit_fj``'s ``max_steps``, ``--max-steps``' default."""
    import inspect

    from multiagent.fit import fit_fj

    return int(inspect.signature(fit_fj).parameters["max_steps"].default)


def _resume_note(checkpoint: Path, questions: int) -> str:
    """Say that a rerun resumed from ``checkpoint``, and how far it had come."""
    import json

    try:  # the count only: fit_transcripts reads and checks the file
        done = len(json.loads(checkpoint.read_text(encoding="utf-8"))["done"])
    except (OSError, ValueError, KeyError, TypeError):
        return f"resumed the fits from {checkpoint}"
    return f"resumed the fits from {checkpoint} ({done} of {questions} questions had been done)"


def _checkpoint_error(exc: ValueError, checkpoint: Path) -> CommandError | None:
    """Word a checkpoint the run cannot resume from as the command's one-line error.

    Returns None when ``exc`` is not about the checkpoint.
    """
    if "belongs to other fits" in str(exc):
        detail = str(exc).removesuffix("; delete it or pass another path")
        detail = detail[detail.find("(differs in"):]
        listed = re.fullmatch(r"\(differs in: (.*)\)", detail)
        if listed is not None:  # --trust uniform / given pass these two to the fits
            named = [{"learn_trust": "--trust", "trust": "--trust"}.get(k, k)
                     for k in listed[1].split(", ")]
            detail = f"(differs in: {', '.join(dict.fromkeys(named))})"
        return CommandError(
            f"{checkpoint} is from another run (interrupted, or still running) with other "
            f"settings {detail}; if it was interrupted, rerun that command to finish it; to "
            "start afresh, delete the file if no run is using it, or use another --out")
    if str(exc).startswith(f"checkpoint {str(checkpoint)!r}"):
        # a damaged or foreign file: the library's message says what is wrong
        detail = str(exc).removesuffix("; delete it to start afresh")
        return CommandError(f"cannot resume the fits: {detail}; delete it (or use another "
                            "--out) to start afresh")
    return None


_SPECIAL = ("agent", "gamma", "alpha")  # the --opinions columns that are not topics
_DENSE_MAX = 2000  # agents up to which the model solves densely (direct, to round-off)
_INDICES = ("polarization", "disagreement", "internal_conflict", "controversy", "pd_index",
            "dc_index")


def _shown(names: list[Any], limit: int = 10) -> str:
    """Show ``names`` in a message: all of them, or the first ``limit`` and the count."""
    if len(names) <= limit:
        return str(names)
    return f"{str(names[:limit])[:-1]}, ... ({len(names)} in all)]"


def _read_opinions(path: Path, agents: list[str], adjacency: Path, *,
                   edge_list: bool = False
                   ) -> tuple[list[str], Any, dict[str, Any], list[str]]:
    """Read ``--opinions``: the topics, the innate opinions and the per-agent settings.

    Parameters
    ----------
    path
        The CSV: a column ``agent`` and one numeric column per topic (any scale), and
        optionally ``gamma`` and ``alpha`` per agent (these three in any case).
    agents
        The ``--adjacency`` file's agents, in its order: every one needs a row, matched by
        name as text (the file's rows may be in any order).
    adjacency
        The ``--adjacency`` file, named in the messages.
    edge_list
        Whether ``adjacency`` is an edge list, which cannot name an agent without ties:
        rows of other agents then add them (isolated), in the order of ``path``. A matrix
        names every agent, so other names are refused.

    Returns
    -------
    topics, opinions, settings, added
        The topic columns as the file names them, the ``(n, K)`` float64 opinions in the
        order of ``agents`` followed by ``added``, ``{"gamma": ..., "alpha": ...}``
        (length-``n`` arrays in that order) for those of the two columns the file has, and
        the agents added (empty unless ``edge_list``).
    """
    import numpy as np
    import pandas as pd

    from core.checks import comment_line_note, not_utf8_text, text_encoding
    from core.textfiles import DAMAGED, READ_ERRORS, compression, damaged_message, open_text

    where = f"--opinions {str(path)!r}"
    expected = ("expected a CSV with a column agent (the names of the --adjacency file's "
                "agents), one numeric column of innate opinions per topic and optionally "
                "columns gamma and alpha per agent")
    try:
        # all as text, the header too (read as data: pandas renamed a repeated column
        # "x" to "x.1"), so that names such as "007" keep their zeros and a bad cell can
        # be named
        raw = pd.read_csv(path, header=None, dtype=str, keep_default_na=False,
                          skipinitialspace=True, encoding=text_encoding(path, decompressed=True))
    except UnicodeDecodeError as exc:
        raise CommandError(f"{where} is {not_utf8_text(exc)}") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "empty"
        # "agent;topic" over "Zoe;0,5" (European Excel): the decimal commas split the data
        # lines, and the header's one field stopped pandas before the check below said so
        try:
            with open_text(path, compression(path), errors="replace") as handle:
                first = handle.readline()
        except READ_ERRORS:
            first = ""
        sep = next((c for c in ";\t|" if "," not in first and c in first), None)
        hint = ("" if sep is None else f" (fields separated by {sep!r}? The columns must be "
                "separated by commas)")
        raise CommandError(f"cannot read {where} as CSV ({detail}){hint}; {expected}") from exc
    except DAMAGED as exc:  # a bare EOFError or zlib.error traceback, naming no file
        raise CommandError(f"--opinions {damaged_message(path, exc)}") from exc
    note = comment_line_note(path)
    raw = raw.apply(lambda column: column.str.strip())
    indexed = raw.shape[1] > 1 and not raw.iloc[0, 0]
    if indexed:
        # a first column without a name is a row index, as survey.to_csv() writes it
        # without index=False: "column 1 of the header has no name (a trailing comma?)"
        raw = raw.iloc[:, 1:]
    header = [str(c) for c in raw.iloc[0]]
    body = raw.iloc[1:]
    special: dict[str, int] = {}
    topics: list[tuple[int, str]] = []
    for k, name in enumerate(header):
        key = name.lower()
        if not name:
            raise CommandError(f"{where}: column {k + 1 + indexed} of the header has no "
                               f"name (a trailing comma?); {expected}{note}")
        if key in special or any(name == t for _, t in topics):
            raise CommandError(f"{where} has the column {name!r} twice (in any case for "
                               f"agent, gamma and alpha); give each column once{note}")
        if key in _SPECIAL:
            special[key] = k
        else:
            topics.append((k, name))
    if "agent" not in special:
        sep = next((c for c in ";\t|" if len(header) == 1 and c in header[0]), None)
        hint = ("" if sep is None else f" (fields separated by {sep!r}? The columns must be "
                "separated by commas)")
        if indexed:  # the agents may be in the column read as an index
            hint = (f" (its columns: {['', *header]}; its first column, without a name, is "
                    "read as a row index, as DataFrame.to_csv() writes it: name it agent if "
                    "it holds the agents)")
        else:
            hint = f" (its columns: {header}){hint}"
        raise CommandError(f"{where} has no column 'agent'{hint}; {expected}{note}")
    if not topics:
        raise CommandError(f"{where} has no column of opinions (its columns: {header}); "
                           f"{expected}{note}")
    names = body.iloc[:, special["agent"]].tolist()
    seen: dict[str, int] = {}  # name -> its line in the file
    for line, name in enumerate(names, start=2):
        if not name:
            raise CommandError(f"{where}: line {line} names no agent{note}")
        if name in seen:
            raise CommandError(f"{where}: agent {name!r} has two rows (lines {seen[name]} "
                               f"and {line}); give each agent one row")
        seen[name] = line
    known = set(agents)
    extra = [name for name in names if name not in known]
    if extra and not edge_list:
        raise CommandError(f"{where} names agents that --adjacency {str(adjacency)!r} does "
                           f"not: {_shown(extra)}; its rows must be the network's agents "
                           "(names compared as text): give an agent without ties a row and "
                           "a column of zeros in --adjacency, or use an edge list, to which "
                           "agents in no edge are added")
    missing = [name for name in agents if name not in seen]
    if missing:
        # a row in place of a network agent's is likelier misspelt than an agent without ties
        also = ("" if not extra else f" (its rows also name {_shown(extra)}, in no edge of "
                "--adjacency: misspelt?)")
        raise CommandError(f"{where} has no row for the agents {_shown(missing)} of "
                           f"--adjacency {str(adjacency)!r}: every agent needs its innate "
                           f"opinion{also}")
    order = np.array([seen[name] - 2 for name in [*agents, *extra]], dtype=np.int64)

    def numbers(k: int, name: str, what: str, low: float = -np.inf,
                high: float = np.inf) -> Any:
        cells = body.iloc[:, k]
        values = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64)
        bad = ~(np.isfinite(values) & (values >= low) & (values <= high))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            shown = repr(cells.iloc[row]) if cells.iloc[row] else "nothing"
            raise CommandError(f"{where}: column {name!r} must hold {what}; line {row + 2} "
                               f"(agent {names[row]!r}) has {shown}{note}")
        return values[order]

    opinions = np.column_stack([numbers(k, name, "finite numbers (innate opinions, on any "
                                                 "scale)") for k, name in topics])
    words = {"gamma": "stubbornness", "alpha": "peer-resistance"}
    settings = {key: numbers(special[key], header[special[key]],
                             f"numbers in [0, 1] ({words[key]})", 0.0, 1.0)
                for key in ("gamma", "alpha") if key in special}
    return [name for _, name in topics], opinions, settings, extra


def _is_edge_list(path: Path) -> bool:
    """Whether the ``--adjacency`` file ``path`` is an edge list, as its reader decides."""
    from multiagent.topologies import _is_edge_list_file

    # the file has been read (and checked) by read_adjacency's reader; an edge list with a
    # row index first (df.to_csv()) is one too, whose agents in no edge --opinions adds
    return _is_edge_list_file(path)


def _with_isolated(names: list[str], A: Any, added: list[str]) -> tuple[list[str], Any]:
    """Append the agents ``added`` to ``names`` and zero rows and columns to the CSR ``A``.

    A zero row hears no one: in the model such an agent listens only to itself and keeps
    its innate opinion (``FriedkinJohnsen.from_adjacency``).
    """
    import numpy as np
    import scipy.sparse as sp

    n = len(names) + len(added)
    indptr = np.concatenate([A.indptr, np.full(len(added), A.indptr[-1], A.indptr.dtype)])
    return [*names, *added], sp.csr_array((A.data, A.indices, indptr), shape=(n, n))


def _asymmetry(names: list[str], A: Any) -> str:
    """Name the pair of agents whose weights differ most between the two directions."""
    import numpy as np

    D = (A - A.T).tocoo()
    k = int(np.argmax(D.data))  # i hears j more than j hears i: named in that order
    i, j = int(D.row[k]), int(D.col[k])
    return (f"agent {names[i]!r} hears {names[j]!r} with weight {A[i, j]:g}, but "
            f"{names[j]!r} hears {names[i]!r} with weight {A[j, i]:g}")


def _equilibrium(args: argparse.Namespace) -> int:
    """Run ``prunus fj equilibrium``: solve B* of innate opinions on an --adjacency network."""
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp

    from core.atomic import atomic_outputs, write_json
    from core.provenance import environment
    from multiagent.analysis import _symmetric, opinion_indices, social_power
    from multiagent.dynamics import FriedkinJohnsen
    from multiagent.solvers import ConvergenceError

    # sparse: a 20,000-agent edge list took 3.4 GB through the dense matrix (simulate)
    try:
        names, weights = _read_adjacency_option(args.adjacency, sparse=True)
    except CommandError as exc:
        if "is a self-loop" not in str(exc):
            raise
        # a self-loop of weight 0 was the only way users found to name a lone respondent
        raise CommandError(f"{exc}; for an agent without ties, leave it out of --adjacency "
                           "and give it a row in --opinions: it is added as an isolated "
                           "agent") from exc
    A = sp.csr_array(weights)
    # survey respondents without ties were refused: an edge list cannot name them, so its
    # agents in no edge come from --opinions (a matrix names them with a zero row)
    topics, S, settings, added = _read_opinions(args.opinions, names, args.adjacency,
                                                edge_list=_is_edge_list(args.adjacency))
    if added:
        names, A = _with_isolated(names, A, added)
        said = (("agent", "an isolated agent (hears no one, so it keeps its", repr(added[0]))
                if len(added) == 1 else
                ("agents", "isolated agents (hear no one, so they keep their", _shown(added)))
        print(f"prunus: note: --opinions {str(args.opinions)!r} names {len(added)} {said[0]} "
              f"in no edge of --adjacency {str(args.adjacency)!r}: added as {said[1]} innate "
              f"opinion): {said[2]}", file=sys.stderr)
    n = len(names)
    symmetric = _symmetric(A)
    degree = np.asarray(A.sum(axis=1)).ravel()
    classic_gamma = 1.0 / (1.0 + degree)  # as multiagent.classic_fj sets it
    if args.classic:
        given = [f"--{key}" for key in ("gamma", "alpha") if getattr(args, key) is not None]
        if given:
            raise CommandError(f"--classic sets gamma_i = 1/(1 + d_i) and alpha = 0 (the "
                               f"classic FJ model); leave {' and '.join(given)} out")
        if settings:
            raise CommandError(f"--classic sets gamma_i = 1/(1 + d_i) and alpha = 0 (the "
                               f"classic FJ model), but --opinions {str(args.opinions)!r} "
                               f"gives {' and '.join(settings)} per agent: remove the "
                               "column(s), or leave --classic out to use them")
        if not symmetric:
            raise CommandError(f"--classic needs a symmetric --adjacency (undirected: each "
                               f"edge in both directions, with one weight), and in "
                               f"{str(args.adjacency)!r} {_asymmetry(names, A)}")
        gamma, alpha = classic_gamma, np.zeros(n)
    else:
        for key in ("gamma", "alpha"):
            if key in settings and getattr(args, key) is not None:
                warn_ignored([f"--{key} {getattr(args, key)}"],
                             f"--opinions gives {key} per agent (its {key} column)")
            elif key not in settings and getattr(args, key) is None:
                setattr(args, key, {"gamma": 0.2, "alpha": 0.5}[key])  # as simulate's
        gamma = settings.get("gamma", np.full(n, args.gamma))
        alpha = settings.get("alpha", np.full(n, args.alpha))
    # the indices of Musco et al. are those of the classic model's equilibrium
    # (multiagent.opinion_indices): reported only when this model is that one
    classic = bool(symmetric and not alpha.any()
                   and np.allclose(gamma, classic_gamma, rtol=1e-12, atol=0))
    # small networks densely: the direct solve is refined to round-off
    matrix = A.toarray() if n <= _DENSE_MAX else A
    model = FriedkinJohnsen.from_adjacency(matrix, gamma, alpha)
    try:
        Z = model.equilibrium(S, check=False)  # opinions on any scale, one column a topic
        # the DeGroot limit (every gamma 0) is a consensus and solves no linear system
        solver = dict(model.info_) or {"method": "consensus", "iterations": None}
        power = social_power(model)
        indices = None
        if classic:
            indices = {}
            for k, topic in enumerate(topics):
                found = opinion_indices(matrix, S[:, k])
                indices[topic] = {key: found[key] for key in _INDICES}
    except ConvergenceError as exc:
        raise CommandError(f"the equilibrium was not found: {exc}") from exc
    metrics: dict[str, Any] = {
        # the options as used: gamma / alpha null where --classic or a column set them
        "parameters": {k: v for k, v in vars(args).items() if k not in ("func", "quiet")},
        "n_agents": n, "topics": topics, "per_agent_columns": sorted(settings),
        "solver": solver, "symmetric": bool(symmetric), "classic_fj": classic}
    if added:  # only then: the record of other runs stays as it was
        metrics["agents_without_ties"] = added
    if indices is not None:
        metrics["indices"] = indices
    metrics["environment"] = environment()  # the versions and threads that made the numbers
    out = Path(args.out)
    files = ("equilibrium.csv", "social_power.csv", "metrics.json")
    with atomic_outputs(out) as stage:  # all three files, or none replaced
        pd.DataFrame({"agent": names, **{t: Z[:, k] for k, t in enumerate(topics)}}).to_csv(
            stage / "equilibrium.csv", index=False)
        pd.DataFrame({"agent": names, "power": power}).to_csv(stage / "social_power.csv",
                                                              index=False)
        write_json(metrics, stage / "metrics.json")
    print(_equilibrium_summary(names, topics, S, Z, power, solver, indices, symmetric))
    print("wrote " + ", ".join(str(out / name) for name in files))
    return 0


def _equilibrium_summary(names: list[str], topics: list[str], S: Any, Z: Any, power: Any,
                         solver: dict[str, Any], indices: dict[str, Any] | None,
                         symmetric: bool) -> str:
    """Say where the opinions settle: a table of topics, the most powerful agents."""
    import numpy as np

    steps = solver.get("iterations")
    lines = [f"{len(names)} agents, {len(topics)} topic(s); solver {solver.get('method')}"
             + (f", {steps} iterations" if steps else "")]
    width = min(max(len("topic"), *(len(t) for t in topics)), 24)
    head = f"{'topic':<{width}}  {'innate mean':>11}  {'sd':>9}  {'settled mean':>12}  {'sd':>9}"
    if indices is not None:
        head += f"  {'polarization':>12}  {'disagreement':>12}"
    lines.append(head)
    for k, topic in enumerate(topics):
        shown = topic if len(topic) <= width else topic[: width - 3] + "..."
        row = (f"{shown:<{width}}  {S[:, k].mean():>11.4g}  {S[:, k].std():>9.4g}  "
               f"{Z[:, k].mean():>12.4g}  {Z[:, k].std():>9.4g}")
        if indices is not None:
            row += (f"  {indices[topic]['polarization']:>12.4g}  "
                    f"{indices[topic]['disagreement']:>12.4g}")
        lines.append(row)
    top = np.argsort(-np.asarray(power), kind="stable")[:3]
    lines.append("most social power: " + ", ".join(f"{names[i]} {float(power[i]):.3g}"
                                                   for i in top))
    if indices is None:
        lines.append("polarization indices (Musco et al. 2018) are those of the classic FJ "
                     "model: " + ("add --classic (gamma_i = 1/(1 + d_i), alpha = 0)"
                                  if symmetric else "they need a symmetric --adjacency"))
    return "\n".join(lines)


def _per_agent_summary(transcripts: int, agents: Any, adversaries: list[Any],
                       rmse: float, marked: Any = None, varies: bool = False) -> str:
    """Say what per-agent fits found: median and range over agents, not their mean.

    The mean over agents mixed an adversary's gamma 1 with the benign agents' 0.2 into
    "mean gamma 0.333"; where the role column marks adversaries, a second line gives the
    mean over the other agents and over the adversaries apart.  ``marked``: whether each
    row of ``agents`` is marked adversary in its question (default: the agents of
    ``adversaries`` in every question); ``varies``: whether the adversaries differ between
    questions, said in the line.
    """
    import numpy as np

    g, a = agents["gamma"], agents["alpha"]
    lines = [f"{transcripts} transcript(s), gamma and alpha per agent: median gamma "
             f"{g.median():.3f} ({g.min():.3f}-{g.max():.3f} over agents), median alpha "
             f"{a.median():.3f} ({a.min():.3f}-{a.max():.3f}), mean RMSE {rmse:.4f}"]
    # per question: an agent that is the adversary in one question is benign in others
    marked = agents["agent"].isin(adversaries) if marked is None else np.asarray(marked)
    if adversaries and not marked.all():
        benign, bad = agents[~marked], agents[marked]
        where = " (each in the questions that mark it)" if varies else ""
        lines.append(f"agents not marked adversary: mean gamma {benign.gamma.mean():.3f}, "
                     f"mean alpha {benign.alpha.mean():.3f}; adversaries {adversaries}{where}: "
                     f"mean gamma {bad.gamma.mean():.3f}, mean alpha {bad.alpha.mean():.3f}")
    return "\n".join(lines)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``prunus fj`` (``simulate``, ``fit``, ``equilibrium``) to the ``prunus`` command line.

    Found through the ``prunus.commands`` entry point; model code is imported only when a
    command runs, so ``prunus --help`` stays fast.

    Parameters
    ----------
    subparsers
        The ``prunus`` parser's subcommand group.
    """
    parser = subparsers.add_parser(
        "fj", help="Friedkin-Johnsen agent networks: attacks, defenses, fitting, equilibria",
        description="Friedkin-Johnsen opinion dynamics for agent networks "
                    "(gamma = stubbornness, alpha = peer-resistance).",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    parser.set_defaults(func=command_required(parser))
    sim = sub.add_parser(
        "simulate", help="simulate a debate with an adversary",
        description="Simulate Friedkin-Johnsen debates on a network (--graph, or your own "
                    "--adjacency) with stubborn adversarial agents, and measure the attack: "
                    "attack success rate (ASR), benign accuracy before and after, the "
                    "adversary's weight. Writes DIR/trajectories.csv (every agent's opinion "
                    "in every round and question), DIR/metrics.json and DIR/trajectories.png "
                    "(--no-trajectories: metrics.json only).",
        **example_help(_EXAMPLES["simulate"]))
    where = sim.add_mutually_exclusive_group()
    where.add_argument("--graph", choices=_GRAPHS, default=None,
                       help="topology; er = Erdos-Renyi, ba = Barabasi-Albert; default complete")
    where.add_argument("--adjacency", type=existing_file, default=None, metavar="FILE",
                       help=_ADJACENCY_HELP + "; the agents, and their number, are the "
                            "file's (no --n); outputs name them")
    sim.add_argument("--n", type=int, default=None,
                     help="agents, adversary included; default 6")
    sim.add_argument("--adversary", default=None,
                     help="hub (the agent with the most neighbours; with --adjacency the "
                          "one heard by the most agents: the most edges as source, or "
                          "nonzero entries in its column), leaf (the fewest), none or an "
                          "agent index (with --adjacency: an agent's name; hub, leaf or none "
                          "is refused as ambiguous where an agent has that name); default "
                          "hub (the keyword)")
    sim.add_argument("--gamma", type=probability, default=0.2,
                     help="benign stubbornness; default %(default)s")
    sim.add_argument("--alpha", type=probability, default=0.5,
                     help="benign peer-resistance; default %(default)s")
    sim.add_argument("--adversary-gamma", type=probability, default=1.0,
                     help="adversary stubbornness; 1 never moves; default %(default)s")
    sim.add_argument("--persuasion", type=at_least(0.0), default=1.0,
                     help="multiplier on the trust others place in the adversary; "
                          "default %(default)s")
    sim.add_argument("--sleeper", type=at_least(0, int), default=0,
                     help="benign rounds before attacking, fewer than --rounds; default "
                          "%(default)s")
    sim.add_argument("--rounds", type=at_least(1, int), default=10,
                     help="debate rounds after round 0; default %(default)s")
    sim.add_argument("--options", type=at_least(2, int), default=5,
                     help="answer options per question; default %(default)s")
    sim.add_argument("--questions", type=at_least(1, int), default=20,
                     help="questions debated; the plot shows question 0; default %(default)s")
    sim.add_argument("--seed", type=at_least(0, int), default=0,
                     help="random seed; default %(default)s")
    sim.add_argument("--no-trajectories", action="store_true",
                     help="write metrics.json only, no trajectories.csv or trajectories.png: "
                          "for large runs, where the CSV takes about 40 bytes per (question, "
                          "round, agent, option) and every round would be held in memory. "
                          "An earlier run's trajectories.csv and trajectories.png in DIR are "
                          "removed once metrics.json is written (they are not this run's)")
    sim.add_argument("--out", required=True, type=output_folder, metavar="DIR",
                     help="output folder: trajectories.csv, metrics.json, trajectories.png")
    # every other prunus command takes --quiet; scripts that pass it to all of them failed
    # here with "unrecognized arguments"
    sim.add_argument("--quiet", action="store_true",
                     help="no progress bar (accepted as by the other commands; simulate "
                          "shows none)")
    sim.set_defaults(func=_simulate)
    fit = sub.add_parser("fit", help="fit gamma, alpha and trust to debate transcripts",
                         **example_help(_EXAMPLES["fit"]))
    fit.add_argument("data", type=existing_file,
                     help="CSV with [question,] round, agent, option, belief [, role] "
                          "(tab-separated when named .tsv or .tab; as "
                          "simulate writes; agents numbered 0..n-1, or named and then taken "
                          "in the order they first appear: numbers other than 0..n-1, such "
                          "as respondent IDs, are names when every belief is given) or .npy; "
                          "one fit per question (questions may stop at different rounds). "
                          "Writes fits.csv "
                          "(one row per question; gamma and alpha are means over agents, and "
                          "--per-agent adds their medians gamma_median, alpha_median and, "
                          "where the role column marks adversaries, the means over the "
                          "agents not marked in that question (in any question, where its "
                          "rows leave the role empty) gamma_benign, alpha_benign; "
                          "last, converged: False where a fit used all --max-steps), "
                          "agents.csv (gamma, alpha per "
                          "agent and question, their standard errors gamma_se, alpha_se and 95%% "
                          "intervals gamma_low, gamma_high, alpha_low, alpha_high, on the logit "
                          "scale so inside [0, 1]; empty for --loss kl), trust.csv (W per "
                          "question), fit.json (the first question's fit, with the agents' "
                          "names when they are named; FJFit.load reads it) and metrics.json")
    fit.add_argument("--per-agent", action="store_true",
                     help="fit gamma and alpha per agent, MAS-Cascade's protocol (default: "
                          "one pair shared by all agents, which for agents that differ is "
                          "none of theirs)")
    fit.add_argument("--train-rounds", type=at_least(1, int), default=None,
                     help="fit on rounds 0..R and score the later ones, R below the "
                          "transcripts' last round (default: fit all rounds and score them "
                          "in-sample)")
    fit.add_argument("--incremental", action="store_true",
                     help="with --train-rounds: score MAS-Cascade's incremental prediction "
                          "(each later round predicted from the observed one before it, the "
                          "parameters taking 50 gradient steps at lr 0.01 on each newly "
                          "observed round) instead of the roll-out from round R")
    fit.add_argument("--loss", choices=("mse", "kl"), default="mse",
                     help="one-step loss: squared error or KL divergence; default %(default)s")
    where = fit.add_mutually_exclusive_group()
    where.add_argument("--graph", choices=_GRAPHS, default=None,
                       help="fit trust only along this topology's edges, as simulate builds it "
                            "on the transcripts' agents (e.g. star for MAS-Cascade's pure "
                            "star); default: every agent may trust every other")
    where.add_argument("--adjacency", type=existing_file, default=None, metavar="FILE",
                       help=_ADJACENCY_HELP + "; trust is fitted only along its edges "
                            "(weights count as edges only, unless --trust given takes them "
                            "as the trust). The transcripts' agent column holds its agents' "
                            "names (an .npy's agents are in its order); outputs name them")
    fit.add_argument("--trust", choices=("learn", "uniform", "given"), default="learn",
                     help="learn: fit the trust W along the edges (of --graph, --adjacency, "
                          "or between every pair); uniform: trust each agent's neighbours "
                          "equally and fit gamma and alpha only; given: take --adjacency "
                          "FILE's weights, row-normalised (W_ij = A_ij / sum_k A_ik), as the "
                          "known trust (measured tie strengths) and fit gamma and alpha only "
                          "(needs --adjacency); trust.csv holds the W used; default "
                          "%(default)s")
    fit.add_argument("--normalize", action="store_true",
                     help="divide each belief row by its sum, for probabilities as LLMs "
                          "report them: rounded (rows summing to 0.999 or 1.001) or in "
                          "percent; done when every row sums to within max(0.01, 0.005 K) "
                          "of 1 for K options, two-decimal rounding (or every row to within "
                          "100 times that of 100, read as percentages), with a warning "
                          "naming the largest deviation; a row further off is refused, and "
                          "rows summing to 1 up to round-off (1e-12) are kept as written "
                          "(default: beliefs as written, rows must sum to 1)")
    fit.add_argument("--max-steps", type=at_least(1, int), default=None, metavar="N",
                     help="outer L-BFGS steps per fit (each up to 20 inner iterations); a "
                          "fit that uses them all without meeting the tolerance has "
                          "converged False in fits.csv, and a warning names its question: "
                          "refit with more (default: fit_fj's max_steps, 50)")
    fit.add_argument("--seed", type=at_least(0, int), default=0,
                     help="seed of an er or ba --graph, as given to simulate; default "
                          "%(default)s")
    fit.add_argument("--out", required=True, type=output_folder, metavar="DIR",
                     help="output folder; its metrics.json records the options given. The "
                          "questions' fits are checkpointed to DIR/fit_checkpoint.json as "
                          "they finish: rerunning the same command (same data and options) "
                          "after an interruption resumes with the files an uninterrupted "
                          "run writes; the checkpoint is removed once they are written")
    fit.add_argument("--quiet", action="store_true",
                     help="no progress bar (one fit per question, on stderr)")
    fit.set_defaults(func=_fit)
    eq = sub.add_parser(
        "equilibrium", help="where opinions settle on a trust network, and who sways them",
        description="Solve the FJ equilibrium B* = (I - H)^-1 Gamma S of innate opinions S "
                    "on your network (see prunus fj --help for gamma and alpha), with each "
                    "agent's social power. Writes DIR/equilibrium.csv, "
                    "DIR/social_power.csv and DIR/metrics.json.",
        **example_help(_EXAMPLES["equilibrium"]))
    eq.add_argument("--adjacency", required=True, type=existing_file, metavar="FILE",
                    help=_ADJACENCY_HELP + "; weights are trust, row-normalised (W_ij = "
                         "A_ij / sum_k A_ik); an edge list is read sparse (large networks)")
    eq.add_argument("--opinions", required=True, type=existing_file, metavar="FILE",
                    help="CSV of innate opinions: a column agent (every agent of --adjacency "
                         "once, matched by name, in any order; no others, but for an edge "
                         "list, to which agents in no edge are added as isolated agents, who "
                         "keep their innate opinion) and one numeric "
                         "column per topic, on any scale (e.g. Likert 1-7); optionally "
                         "columns gamma and alpha, one value in [0, 1] per agent, which "
                         "override --gamma and --alpha")
    eq.add_argument("--gamma", type=probability, default=None,
                    help="stubbornness of every agent (weight on its innate opinion); "
                         "default 0.2")
    eq.add_argument("--alpha", type=probability, default=None,
                    help="peer-resistance of every agent (weight on its current opinion "
                         "against its neighbours'); default 0.5")
    eq.add_argument("--classic", action="store_true",
                    help="the classic FJ model of Musco et al. (2018), z = (I + L)^-1 s: "
                         "gamma_i = 1/(1 + d_i) with d_i agent i's weighted degree, alpha = 0; "
                         "needs a symmetric --adjacency. metrics.json then holds the "
                         "polarization, disagreement, internal_conflict, controversy, "
                         "pd_index and dc_index of each topic (reported only for this model, "
                         "whose equilibrium they describe; controversy and dc_index measure "
                         "the distance from the scale's 0, the neutral opinion, so code the "
                         "neutral answer as 0, e.g. Likert 1-7 minus 4)")
    eq.add_argument("--out", required=True, type=output_folder, metavar="DIR",
                    help="output folder: equilibrium.csv (agent, then the equilibrium "
                         "opinion on each topic, columns named as in --opinions), "
                         "social_power.csv (agent, power: the weight of each agent's innate "
                         "opinion in the equilibrium, the column means of M in B* = M S, "
                         "summing to 1) and metrics.json (the "
                         "options, the solver's method and iterations, whether the network "
                         "is symmetric and the model classic, the indices of --classic, the "
                         "environment)")
    eq.add_argument("--quiet", action="store_true",
                    help="no progress bar (accepted as by the other commands; equilibrium "
                         "shows none)")
    eq.set_defaults(func=_equilibrium)
