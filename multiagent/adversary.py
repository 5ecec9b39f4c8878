"""Adversarial agents in FJ debates: scenarios, simulation, attack metrics and closed forms.

Follows Abedini, Mavali, Schönherr, Pawelczyk & Burkholz (2026), "Don't Trust Stubborn
Neighbors: A Security Framework for Agentic Networks": an adversary is an agent with high
stubbornness ``gamma_a`` (or peer-resistance ``alpha_a``) that defends a wrong answer and,
when persuasive, receives a larger share of its neighbours' trust.  A *sleeper* behaves
benignly (holds the right answer) for a warm-up and then switches to its target.

Attack success rate (ASR): among benign agents right at round 0, the share wrong at the
final round (an agent whose top options tie gives no answer: neither right nor wrong).
Adversary weight: a benign agent's equilibrium weight ``M_ia`` on the adversary's innate
belief (``gamma`` is stubbornness, see :mod:`multiagent.dynamics`).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import Any, Literal

import networkx as nx
import numpy as np
import scipy.sparse as sp

from core.checks import check_count, check_number, check_seed
from core.frames import is_dataframe
from multiagent._backend import as_numpy, check_indices, square_frame
from multiagent.dynamics import FriedkinJohnsen, check_beliefs
from multiagent.solvers import ConvergenceError
from multiagent.topologies import (
    Topology,
    _hub_and_leaf_by_order,
    adjacency,
    hub_and_leaf,
    make_graph,
)

__all__ = [
    "Adversary",
    "Scenario",
    "SimulationResult",
    "simulate",
    "debate",
    "round_zero_beliefs",
    "initial_beliefs",
    "attack_success_rate",
    "benign_accuracy",
    "adversary_weight",
    "closed_form_weight",
    "NeverAttacksWarning",
]

Position = Literal["hub", "leaf"] | int | str | tuple  # str, tuple: node labels

# beliefs this close (relative) to an agent's largest belief tie with it: a tie for the top
# option is no answer (argmax read it as the first tied option, "I cannot decide" as A)
_TIE_RTOL = 1e-12

# Scenario.model keeps W dense up to this many agents (where FriedkinJohnsen.solve uses an
# exact dense solve) and sparse above it, where a dense W costs n^2 memory and time per step
_DENSE_MAX = 2000


@dataclass(frozen=True)
class Adversary:
    """One adversarial agent.

    Parameters
    ----------
    position
        ``"hub"`` (highest degree), ``"leaf"`` (lowest degree; on a directed graph the
        degree is the number of agents who listen to the node, see
        :func:`~multiagent.topologies.hub_and_leaf`) or a node index; on a
        scenario with a networkx graph also a node label other than an int (e.g.
        ``"Medici"`` of ``nx.florentine_families_graph()``), which stands for its index
        in the graph's node order. An int is always an index in that order, not a label:
        on a graph whose int nodes were added out of order (``nx.read_edgelist(path,
        nodetype=int)`` lists them as first met) ``Adversary(5)`` is the sixth node
        listed, whatever its label. ``"hub"`` or ``"leaf"`` on a graph with a node of that
        name is refused as ambiguous: pass the node's index for the node.
    gamma, alpha
        Its stubbornness and peer-resistance (1 and 0: never moves).
    persuasion
        Multiplier on the trust every neighbour places in it (1 = like any peer).
    sleeper
        Rounds during which it holds the correct answer before defending ``target``
        (each adversary wakes at its own round; ``>= rounds`` never within the debate).
    target
        The wrong option it defends (index into the K options); ``None`` = ``truth + 1``,
        and ``truth + 1`` too on questions whose truth is ``target``.

    Examples
    --------
    >>> from multiagent import Adversary, Scenario
    >>> adv = Adversary("leaf", persuasion=2.0)  # trusted twice as much as a peer
    >>> adv.answer(truth=2, n_options=5)  # by default it defends truth + 1
    3
    >>> Scenario(graph="star", n=6, adversaries=(Adversary("hub"), adv)).adversary_nodes()
    [0, 5]
    """

    position: Position = "hub"
    gamma: float = 1.0
    alpha: float = 0.0
    persuasion: float = 1.0
    sleeper: int = 0
    target: int | None = None

    def __post_init__(self) -> None:
        # the Python numbers they hold (np.float32, 0-d arrays and tensors of a grid):
        # sleeper=np.array(3) failed as "unhashable", a tensor persuasion failed in an ndarray
        # product; sleeper=True and target=True were read as 1, target=3.5 failed in np.eye
        for name in ("gamma", "alpha", "persuasion"):
            object.__setattr__(self, name, check_number(name, getattr(self, name)))
        object.__setattr__(self, "sleeper", check_count("sleeper", self.sleeper, at_least=0))
        if self.target is not None:
            target = self.target.item() if getattr(self.target, "ndim", None) == 0 \
                else self.target
            if isinstance(target, bool) or not isinstance(target, numbers.Integral):
                raise TypeError(f"target: expected an option index (an integer) or None, "
                                f"got {self.target!r}")
            object.__setattr__(self, "target", int(target))

    def answer(self, truth: int, n_options: int, *, attacking: bool = True) -> int:
        """Return the option it defends: ``target`` (default ``truth + 1``).

        When not ``attacking`` (asleep, or a benign phase of a stream) it answers ``truth``.
        An adversary defends a wrong answer: on a question whose truth is its ``target``
        it defends the next option instead.

        Parameters
        ----------
        truth
            Index of the correct option.
        n_options
            Number of options K.
        attacking
            Whether it attacks now (False: asleep, it answers ``truth``).

        Returns
        -------
        int
            The option index in ``[0, n_options)`` it holds.
        """
        if not attacking:
            return truth
        if self.target is not None and not -n_options <= self.target < n_options:
            # np.eye(K)[target] in debate() would fail with an IndexError far from here
            raise ValueError(f"target: expected an option index in [0, {n_options}) for "
                             f"K = {n_options} options, got {self.target}")
        if self.target is None or self.target % n_options == truth:
            return (truth + 1) % n_options
        return self.target % n_options


class NeverAttacksWarning(UserWarning):
    """An adversary sleeps through the whole debate (``sleeper >= rounds``): no attack.

    :func:`simulate` and :func:`multiagent.sweeps.sweep` then leave it out of
    ``adversary_weight`` (NaN when adversaries are placed but none attacks; 0.0 for a
    scenario without adversaries); filter this category to silence it.
    """


# True while multiagent.sweeps.sweep runs simulate: the sweep warns once for all its
# scenarios, so simulate does not warn for each.  Not warnings.catch_warnings, which swaps
# the filter list of the whole process: sweeps in threads left "ignore NeverAttacksWarning"
# in it for good.  A context variable is seen only by its own thread (and asyncio task).
_SWEEP_WARNS: ContextVar[bool] = ContextVar("multiagent_sweep_warns", default=False)


def _attacks(adv: Adversary, rounds: int) -> bool:
    """Whether ``adv`` holds its target in some round of a ``rounds``-round debate.

    As :func:`debate` plays it: from round 0 when ``sleeper = 0``, else from round
    ``sleeper`` if that is one of rounds ``1..rounds - 1`` (the last round is not stepped
    from, so ``sleeper >= rounds`` never attacks within the debate).
    """
    return adv.sleeper == 0 or adv.sleeper < rounds


def _never_attacking(scenario: Scenario) -> list[tuple[int, Adversary]]:
    """``(index in scenario.adversaries, adversary)`` of those that never attack."""
    return [(i, adv) for i, adv in enumerate(scenario.adversaries)
            if not _attacks(adv, scenario.rounds)]


@dataclass(frozen=True, repr=False)
class Scenario:
    """A debate: topology, benign parameters, adversaries, rounds and options.

    The three defences of the paper are parameters here: more benign agents (``n``), more
    stubbornness / peer-resistance (``gamma``, ``alpha``) and less trust in adversaries
    (``Adversary.persuasion`` < 1, see :func:`multiagent.defense.apply_defense`).

    Parameters
    ----------
    graph
        Topology name (:data:`multiagent.topologies.TOPOLOGIES`) or a networkx graph.
    n
        Number of agents, adversaries included, of a named topology; ignored for a
        networkx graph, whose nodes are the agents.
    gamma, alpha
        Benign stubbornness and peer-resistance, numbers in ``[0, 1]`` (bools and text are
        refused).
    adversaries
        The adversaries (empty: a benign debate).
    rounds
        Debate rounds after the initial answers.
    n_options
        Number of answer options K.
    seed
        Seed for random topologies (``"er"``, ``"ba"``). None draws the graph from Python's
        global ``random`` generator (networkx's rule, see :func:`~multiagent.make_graph`),
        once per scenario.

    Examples
    --------
    On a star the leaves hear only the hub: with the hub an adversary, each leaf's weight
    on it is ``c / (gamma + c)`` with ``c = (1 - gamma)(1 - alpha) = 0.4``, i.e. 2/3:

    >>> from multiagent import Adversary, Scenario, adversary_weight
    >>> sc = Scenario(graph="star", n=6, adversaries=(Adversary("hub"),))
    >>> sc.adversary_nodes(), sc.benign().tolist()
    ([0], [False, True, True, True, True, True])
    >>> round(adversary_weight(sc.model(), sc.adversary_nodes()), 4)
    0.6667
    """

    graph: Topology | nx.Graph = "complete"
    n: int = 6
    gamma: float = 0.2
    alpha: float = 0.5
    adversaries: tuple[Adversary, ...] = ()
    rounds: int = 10
    n_options: int = 5
    seed: int | None = 0

    def __post_init__(self) -> None:
        # gamma=True was read as 1 and "0.2" as 0.2 by float() in model(); checked, not
        # converted, so that the fields (and the repr) stay what was given
        for name in ("gamma", "alpha"):
            check_number(name, getattr(self, name), at_least=0, at_most=1)

    def __repr__(self) -> str:
        # the dataclass repr, but a networkx graph by its size, not "<... object at 0x...>"
        graph = (repr(self.graph) if isinstance(self.graph, str) else
                 f"<{type(self.graph).__name__} of {self.graph.number_of_nodes()} nodes, "
                 f"{self.graph.number_of_edges()} edges>")
        rest = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)
                         if f.name != "graph")
        return f"Scenario(graph={graph}, {rest})"

    def with_(self, **changes: Any) -> Scenario:
        """Return a copy with some fields changed.

        Parameters
        ----------
        **changes
            Field names and their new values, e.g. ``n=8``.

        Returns
        -------
        Scenario
            A new scenario; ``self`` is unchanged.
        """
        return replace(self, **changes)

    def graph_(self) -> nx.Graph:
        """Return (a copy of) the communication graph the scenario simulates on.

        Returns
        -------
        networkx.Graph
            Nodes ``0..n-1`` (random topologies drawn once, with ``seed``; with
            ``seed=None`` every call used to draw another graph than the one simulated).
        """
        return self._graph_now().copy()

    @cached_property
    def _graph(self) -> nx.Graph:
        """The named topology, drawn once per scenario (not to be mutated)."""
        return make_graph(self.graph, self.n, seed=self.seed)

    def _graph_now(self) -> nx.Graph:
        """Return the graph the methods below use.

        A named topology is drawn once, not once per call (5 draws per simulate, O(n^2)
        each for "er"); a networkx graph passed in is relabelled on each call of
        :meth:`model` or :meth:`graph_`, so that changes the caller makes to it between
        calls are seen as before, and once per :func:`simulate`, which passes it down (it
        was relabelled 6 times per ``prunus fj simulate``: 10 of its 15.5 s at 10^5
        agents).  :meth:`adversary_nodes` and :meth:`benign` read the user's graph as it
        is, without a relabelled copy.
        """
        if isinstance(self.graph, str):
            return self._graph
        return make_graph(self.graph, self.n, seed=self.seed)

    def adversary_nodes(self) -> list[int]:
        """Node index of each adversary (resolving ``"hub"``/``"leaf"``).

        Returns
        -------
        list of int
            One agent index per entry of ``adversaries``, in the same order.
        """
        if isinstance(self.graph, nx.Graph):
            # its nodes numbered in their order, as make_graph relabels them: a node's
            # degree is the same under either label, so no relabelled copy is needed
            return self._nodes_on(self.graph, by_order=True)
        return self._nodes_on(self._graph_now())

    def _nodes_on(self, G: nx.Graph, *, by_order: bool = False) -> list[int]:
        """:meth:`adversary_nodes` on ``G``, the scenario's graph (:meth:`_graph_now`).

        ``by_order``: ``G`` is the user's graph, its nodes numbered in their order.
        """
        hub, leaf = _hub_and_leaf_by_order(G) if by_order else hub_and_leaf(G)
        nodes = []
        for adv in self.adversaries:
            if (adv.position in ("hub", "leaf") and not isinstance(self.graph, str)
                    and adv.position in self.graph):
                # a node named "hub" was silently taken for the keyword
                index = list(self.graph.nodes).index(adv.position)
                extreme = "highest" if adv.position == "hub" else "lowest"
                raise ValueError(f"adversary position {adv.position!r} is both a keyword (the "
                                 f"node of {extreme} degree) and a node of the scenario's "
                                 f"graph; pass the node's index, Adversary({index}), to place "
                                 "it at that node, or rename the node to use the keyword")
            if adv.position == "hub":
                node = hub
            elif adv.position == "leaf":
                node = leaf
            elif isinstance(adv.position, str | tuple) and not isinstance(self.graph, str):
                # a named agent of the user's graph, which the simulation numbers in node
                # order; an int position is that index in node order, not an int label
                # (as it always was: nodes added as 3, 0, 4 make Adversary(0) the node 3)
                order = {label: i for i, label in enumerate(self.graph.nodes)}
                if adv.position not in order:
                    raise ValueError(f"adversary position {adv.position!r} is not a node of "
                                     "the scenario's graph; expected 'hub', 'leaf', an agent "
                                     "index or a node label")
                node = order[adv.position]
            else:
                node = int(check_indices(adv.position, "adversary position",
                                         G.number_of_nodes(), "'hub', 'leaf' or an agent index"))
            if node in nodes:
                raise ValueError(f"two adversaries at agent {node}")
            nodes.append(node)
        return nodes

    def benign(self) -> np.ndarray:
        """Boolean mask of benign agents.

        Returns
        -------
        numpy.ndarray
            ``(n,)`` bool, False at the adversaries.
        """
        G = self.graph if isinstance(self.graph, nx.Graph) else self._graph_now()
        mask = np.ones(G.number_of_nodes(), bool)
        mask[self.adversary_nodes()] = False
        return mask

    def _agent_labels(self, frame: Any, n: int) -> list[Any] | None:
        """Return the labels a trust DataFrame is read by (None: its own row order).

        Those of the user's graph's nodes when the frame has them, else the agent indices
        ``0..n-1`` when it has those (labels compared as text, as frames are); a frame
        with other labels stays in its own row order.
        """
        if not is_dataframe(frame):
            return None
        have = sorted(str(v) for v in frame.index)
        graphs = [] if isinstance(self.graph, str) else [list(self.graph.nodes)]
        for labels in [*graphs, list(range(n))]:
            if sorted(str(v) for v in labels) == have:
                return labels
        return None

    def model(self, trust: np.ndarray | None = None) -> FriedkinJohnsen:
        """Build the FJ model: row-normalised adjacency, adversary columns scaled.

        Parameters
        ----------
        trust
            Optional ``(n, n)`` non-negative trust of listener ``i`` in speaker ``j``,
            multiplied into the adjacency before row normalisation (e.g. from
            :class:`multiagent.defense.TrustAdaptiveDefense`).  A DataFrame is read by
            label: over the graph's node labels or the agent indices ``0..n-1``, in any
            order (a frame with other labels in its own row order).

        Returns
        -------
        FriedkinJohnsen
            Benign agents with ``gamma``, ``alpha``; each adversary with its own
            ``gamma``, ``alpha`` and the trust in it multiplied by its ``persuasion``.
            ``W`` is a dense array up to 2000 agents and a scipy CSR array above (trust
            only on the graph's edges), so large sparse graphs stay O(edges).
        """
        return self._model_on(self._graph_now(), trust)[0]

    def _model_on(self, G: nx.Graph, trust: np.ndarray | None = None
                  ) -> tuple[FriedkinJohnsen, list[int]]:
        """:meth:`model` on ``G`` (the scenario's graph), and the adversaries' nodes on it."""
        A = adjacency(G, sparse=True)
        n = A.shape[0]
        gamma = np.full(n, float(self.gamma))
        alpha = np.full(n, float(self.alpha))
        # a DataFrame is read by label, in the order of the graph's nodes (its own row
        # order paired listeners with other agents' trust when it was listed otherwise)
        trust = square_frame(trust, "trust", self._agent_labels(trust, n))
        if trust is not None and np.shape(trust) != (n, n):
            raise ValueError(f"trust must have shape ({n}, {n}), got {np.shape(trust)}")
        nodes = self._nodes_on(G)
        for node, adv in zip(nodes, self.adversaries):
            if adv.persuasion < 0:
                raise ValueError(f"persuasion must be >= 0, got {adv.persuasion}")
            gamma[node], alpha[node] = adv.gamma, adv.alpha
        if n <= _DENSE_MAX:
            A = A.toarray()
            trust = np.ones((n, n)) if trust is None else np.array(trust, dtype=np.float64)
            for node, adv in zip(nodes, self.adversaries):
                trust[:, node] *= adv.persuasion
            if not self.adversaries and np.all(trust == 1):
                return FriedkinJohnsen.from_adjacency(A, gamma, alpha), nodes
            return FriedkinJohnsen.from_adjacency(A, gamma, alpha, trust=trust), nodes
        # sparse: the trust entries on the edges only, scaled as the dense columns above
        if trust is None:
            values = np.ones(A.nnz)
        else:
            trust = np.asarray(trust, dtype=np.float64)
            if not np.isfinite(trust).all() or (trust < 0).any():
                FriedkinJohnsen._check_entries_of(trust, "trust")  # raises, naming the agent
            values = trust[np.repeat(np.arange(n), np.diff(A.indptr)), A.indices]
        if not self.adversaries and (trust is None or np.all(trust == 1)):
            return FriedkinJohnsen.from_adjacency(A, gamma, alpha), nodes
        scale = np.ones(n)
        for node, adv in zip(nodes, self.adversaries):
            scale[node] = adv.persuasion
        T = sp.csr_array((values * scale[A.indices], A.indices, A.indptr), shape=A.shape)
        return FriedkinJohnsen.from_adjacency(A, gamma, alpha, trust=T), nodes


@dataclass(repr=False)
class SimulationResult:
    """Trajectories and metrics of simulated debates.

    Attributes
    ----------
    trajectories
        ``(questions, rounds + 1, n, K)`` beliefs; ``None`` when :func:`simulate` ran with
        ``keep_trajectories=False`` (then ``initial`` and ``final`` hold rounds 0 and T).
    truth
        ``(questions,)`` correct option per question.
    benign
        ``(n,)`` mask of benign agents.
    metrics
        ``asr``, ``accuracy_start``, ``accuracy_end``, ``adversary_weight`` (0.0 without
        adversaries, NaN where :func:`simulate` says).
    initial, final
        ``(questions, n, K)`` beliefs at round 0 and at the final round, what the metrics
        are computed from; views into ``trajectories`` when those are kept.  Optional when
        ``trajectories`` is given.
    """

    trajectories: np.ndarray | None
    truth: np.ndarray
    benign: np.ndarray
    metrics: dict[str, float]
    initial: np.ndarray | None = field(default=None, repr=False)
    final: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        traj = self.trajectories
        if traj is None:
            if self.initial is None or self.final is None:
                raise ValueError("SimulationResult needs trajectories, or initial and final "
                                 "beliefs when the trajectories are not kept")
            return
        # views into the trajectories; given ones must agree (e.g. dataclasses.replace with
        # new trajectories would otherwise carry the old rounds 0 and T along)
        for name, view, at in (("initial", traj[:, 0], "0"), ("final", traj[:, -1], "-1")):
            given = getattr(self, name)
            if given is not None and not (given is view or np.array_equal(given, view)):
                raise ValueError(f"{name}: differs from trajectories[:, {at}]; leave {name} "
                                 "out (None) when giving trajectories")
            setattr(self, name, view)

    def __repr__(self) -> str:
        # the dataclass repr printed every belief of every round (4,936 characters for one
        # question of 6 agents); the debate's size and its metrics instead
        def arr(x: Any) -> str:
            shape, dtype = getattr(x, "shape", None), getattr(x, "dtype", None)
            return type(x).__name__ if shape is None or dtype is None else f"{shape} {dtype}"

        size = []
        if isinstance(self.truth, np.ndarray) and self.truth.ndim == 1:
            q = self.truth.shape[0]
            size.append(f"{q} question{'s' * (q != 1)}")
        if isinstance(self.benign, np.ndarray) and self.benign.ndim == 1:
            n = self.benign.shape[0]
            size.append(f"{n} agents ({int(np.count_nonzero(self.benign))} benign)")
        traj = self.trajectories
        if isinstance(traj, np.ndarray) and traj.ndim == 4:
            size.append(f"{traj.shape[1] - 1} round{'s' * (traj.shape[1] != 2)}")
        m = self.metrics if isinstance(self.metrics, dict) else {}

        def num(key: str) -> str | None:
            v = m.get(key)
            return f"{float(v):.3g}" if isinstance(v, float | int | np.number) else None

        asr, start, end, weight = (num(k) for k in ("asr", "accuracy_start", "accuracy_end",
                                                    "adversary_weight"))
        said = [f"ASR {asr}" if asr else None,
                f"benign accuracy {start} -> {end}" if start and end else None,
                f"adversary weight {weight}" if weight else None]
        said = [s for s in said if s]
        kept = (f"trajectories {arr(traj)}" if traj is not None else
                f"trajectories not kept, final {arr(self.final)}")
        return ("SimulationResult" + (" of " + ", ".join(size) if size else "")
                + (": " + ", ".join(said) if said else "")
                + f"\n    {kept}, truth {arr(self.truth)}, benign {arr(self.benign)}")


def initial_beliefs(
    n: int,
    n_options: int,
    truth: int,
    *,
    p_correct: float = 0.8,
    confidence: float = 0.6,
    concentration: float = 20.0,
    rng: np.random.Generator,
) -> np.ndarray:
    """Random benign innate beliefs: Dirichlet around a chosen answer.

    Each agent picks the truth with probability ``p_correct`` (else a random wrong option)
    and draws ``Dirichlet(concentration * m)`` where ``m`` puts ``confidence`` on its pick
    and spreads the rest evenly.

    Parameters
    ----------
    n
        Number of agents.
    n_options
        Number of options K.
    truth
        Index of the correct option.
    p_correct
        Probability that an agent's pick is the truth.
    confidence
        Mean belief on the pick.
    concentration
        Dirichlet concentration (larger: beliefs closer to the mean).
    rng
        Random generator used for the draws (a ``numpy.random.Generator``; not a seed).

    Returns
    -------
    numpy.ndarray
        ``(n, n_options)`` probability vectors, one row per agent.
    """
    # a seed (as every other function here takes) failed with "'int' object has no
    # attribute 'random'"
    if not isinstance(rng, np.random.Generator | np.random.RandomState):
        raise TypeError(f"rng: expected a numpy random Generator, e.g. "
                        f"np.random.default_rng(seed), got {rng!r}")
    # out-of-range values gave numpy's "alpha < 0" (confidence, concentration) or none at
    # all (p_correct > 1 read as 1)
    check_number("p_correct", p_correct, at_least=0, at_most=1)
    check_number("confidence", confidence, at_least=0, at_most=1)
    check_number("concentration", concentration, above=0)
    K = n_options
    out = np.empty((n, K))
    wrong = [k for k in range(K) if k != truth]
    alphas = []  # the Dirichlet parameters of each possible pick, computed once
    for pick in range(K):
        m = np.full(K, (1 - confidence) / (K - 1))
        m[pick] = confidence
        alphas.append(concentration * m)
    # one agent at a time: its uniform, pick and Dirichlet draws interleave in the stream,
    # so a vectorised draw would change every seeded result
    for i in range(n):
        pick = truth if rng.random() < p_correct else int(rng.choice(wrong))
        out[i] = rng.dirichlet(alphas[pick])
    return out


def simulate(
    scenario: Scenario,
    *,
    questions: int = 1,
    p_correct: float = 0.8,
    confidence: float = 0.6,
    concentration: float = 20.0,
    seed: int | None = 0,
    keep_trajectories: bool = True,
) -> SimulationResult:
    """Simulate ``questions`` independent debates of ``scenario`` and score the attack.

    Benign agents draw innate beliefs with :func:`initial_beliefs`; each adversary holds a
    one-hot belief on its target (on the truth while it sleeps).

    Parameters
    ----------
    scenario
        The debate.
    questions
        Number of independent questions (truth drawn uniformly per question).
    p_correct, confidence, concentration
        Benign initial-belief distribution.
    seed
        Seed of the belief draws; None draws fresh entropy (other beliefs on every call).
    keep_trajectories
        Keep every round of every debate in ``trajectories`` (``8 questions (rounds + 1)
        n K`` bytes: 2.2 GB for 50 questions of 10 rounds among 10^5 agents with 5
        options).  False keeps only ``initial`` and ``final``, the beliefs at round 0 and
        at the final round; the metrics and the random draws are the same either way.

    Returns
    -------
    SimulationResult
        ``metrics["adversary_weight"]`` is 0.0 when the scenario has no adversary (the
        benign agents' total equilibrium weight on an empty set, what a sweep over
        adversary settings averages; ``prunus fj simulate --adversary none`` writes it
        too).  It is NaN when adversaries are placed but none attacks within the debate
        (every ``sleeper >= rounds``: a weight of no attack), when every agent is an
        adversary (no benign agent to average over), and when an iterative solve misses
        its tolerance (the trajectories are still given).  An adversary that never attacks
        is left out of the weight.  Where benign agents reach no stubborn agent (every
        ``gamma = 0``, or an adversary that is not stubborn either) it is the weight in the
        limit of the dynamics, e.g. the adversaries' share of the consensus (see
        :func:`adversary_weight`).

    Warns
    -----
    NeverAttacksWarning
        If an adversary sleeps through the whole debate (``sleeper >= rounds``): it holds
        the truth in every round, so ASR and weight say nothing of its attack.

    Examples
    --------
    >>> sc = Scenario(graph="star", adversaries=(Adversary("hub"),))
    >>> res = simulate(sc, questions=3, keep_trajectories=False)
    >>> res.final.shape, round(res.metrics["adversary_weight"], 4)
    ((3, 6, 5), 0.6667)
    """
    # bool is an int: questions=True gave a TypeError that did not name the argument; a 0-d
    # array or tensor (np.array(3)) is the int it holds
    try:
        questions = check_count("questions", questions)
    except (TypeError, ValueError):
        raise ValueError(f"questions must be a positive integer, got {questions!r}") from None
    # rounds = -1 failed with an IndexError far from here
    check_count("rounds", scenario.rounds, at_least=0)
    if scenario.n_options < 2:
        raise ValueError(f"n_options must be >= 2 (a question needs options to choose "
                         f"between), got {scenario.n_options}")
    if not isinstance(keep_trajectories, bool | np.bool_):
        raise TypeError(f"keep_trajectories must be True or False, got {keep_trajectories!r}")
    rng = np.random.default_rng(check_seed(seed))
    # the graph relabelled once, its hub and leaf found once: model(), adversary_nodes()
    # and benign() each relabelled a networkx graph (6 times per prunus fj simulate)
    G = scenario._graph_now()
    model, nodes = scenario._model_on(G)
    benign = np.ones(G.number_of_nodes(), bool)
    benign[nodes] = False
    K, T = scenario.n_options, scenario.rounds
    n = model.n
    asleep = _never_attacking(scenario)
    if asleep and not _SWEEP_WARNS.get():
        # prunus fj simulate refuses this; here a sweep over sleeper values may include it
        said = "; ".join(f"adversary {i} (agent {nodes[i]}) has sleeper {adv.sleeper} >= "
                         f"rounds {T}" for i, adv in asleep)
        what = ("adversary_weight is NaN (no adversary attacks)" if len(asleep) == len(nodes)
                else "adversary_weight is the weight on the adversaries that attack")
        it = "they never attack" if len(asleep) > 1 else "it never attacks"
        warnings.warn(f"{said}: {it} within the debate (holding the truth in every round), "
                      f"so {what}", NeverAttacksWarning, stacklevel=2)
    if keep_trajectories:
        trajs = np.empty((questions, T + 1, n, K))
        initial, final = trajs[:, 0], trajs[:, -1]  # views: no extra memory
    else:
        trajs = None
        initial, final = np.empty((questions, n, K)), np.empty((questions, n, K))
    truth = rng.integers(0, K, size=questions)
    for q in range(questions):
        S = initial_beliefs(n, K, int(truth[q]), p_correct=p_correct, confidence=confidence,
                            concentration=concentration, rng=rng)
        traj = debate(scenario, model, S, int(truth[q]), nodes=nodes)
        if trajs is not None:
            trajs[q] = traj
        else:
            initial[q], final[q] = traj[0], traj[-1]
    metrics = {
        "asr": attack_success_rate(initial, final, truth, benign),
        "accuracy_start": benign_accuracy(initial, truth, benign),
        "accuracy_end": benign_accuracy(final, truth, benign),
        # no adversary: the weight of an empty set, 0.0 (what sweeps average), not NaN
        "adversary_weight": _weight_or_nan(model, nodes, [
            node for node, adv in zip(nodes, scenario.adversaries) if _attacks(adv, T)])
        if nodes else 0.0,
    }
    return SimulationResult(trajs, truth, benign, metrics, initial=initial, final=final)


def _weight_or_nan(model: FriedkinJohnsen, nodes: list[int], attackers: list[int]) -> float:
    """Benign weight on the adversaries that attack (``attackers``, among ``nodes``).

    The weight in the limit of the dynamics, also where some agents reach no stubborn
    agent (e.g. leaves that trust nobody, with ``gamma = 0``: they keep their own belief
    and put weight 0 on the adversary; NaN before).  NaN when no agent is benign, when no
    adversary attacks within the debate (a weight of no attack), or when an iterative
    solve misses its tolerance (trajectories are still given).  Not called for a scenario
    without adversaries, whose weight :func:`simulate` gives as 0.0.
    """
    if len(nodes) == model.n or not attackers:
        return float("nan")
    try:
        if len(attackers) == len(nodes):
            return adversary_weight(model, nodes)
        benign = np.ones(model.n, bool)
        benign[nodes] = False  # a sleeping adversary is not benign either
        return _weight_on(model, np.asarray(attackers), benign)
    except ConvergenceError:
        return float("nan")


def debate(
    scenario: Scenario,
    model: FriedkinJohnsen,
    S: np.ndarray,
    truth: int,
    *,
    nodes: Sequence[int] | None = None,
    attack: bool = True,
) -> np.ndarray:
    """Run one debate: adversaries hold their target (the truth while asleep or if not attacking).

    Parameters
    ----------
    scenario
        The debate settings (adversaries, rounds).
    model
        Its FJ model (``scenario.model()``, possibly with adapted trust).
    S
        ``(n, K)`` innate beliefs; adversary rows are overwritten.
    truth
        Correct option.
    nodes
        Adversary indices, one distinct agent per adversary (``scenario.adversary_nodes()``
        when None).
    attack
        False makes every adversary answer correctly throughout (a sleeper across questions).

    Returns
    -------
    ``(rounds + 1, n, K)`` trajectory.
    """
    if nodes is None:
        nodes = scenario.adversary_nodes()
    else:
        idx = check_indices(nodes, "nodes", S.shape[0], "agent indices", empty=True,
                            unique=True)
        if idx.shape != (len(scenario.adversaries),):  # zip would drop the extra ones
            raise ValueError(f"nodes: expected one agent index per adversary "
                             f"({len(scenario.adversaries)}), got shape {idx.shape}")
        nodes = idx.tolist()
    K, T = S.shape[1], scenario.rounds
    S_attack = S.copy()
    for node, adv in zip(nodes, scenario.adversaries):
        S_attack[node] = np.eye(K)[adv.answer(truth, K)]
    # each adversary answers correctly until its own `sleeper` round; there its anchor and
    # its belief become the target, and that round's row records the switched belief, so
    # every row follows from the previous one by one FJ step with the anchors of its time
    anchors = round_zero_beliefs(scenario, S, truth, nodes=nodes, attack=attack)
    if not attack:
        return model.rollout(anchors, T)
    wakes = sorted({adv.sleeper for adv in scenario.adversaries if 0 < adv.sleeper < T})
    rows, start, B0 = [], 0, None
    for b in [*wakes, T]:
        seg = model.rollout(anchors, b - start, B0=B0)  # rounds start..b
        if b == T:
            rows.append(seg)
            break
        rows.append(seg[:-1])
        B0 = seg[-1].copy()
        for node, adv in zip(nodes, scenario.adversaries):
            if adv.sleeper == b:
                anchors[node] = B0[node] = S_attack[node]
        start = b
    return np.concatenate(rows)


def round_zero_beliefs(
    scenario: Scenario,
    S: np.ndarray,
    truth: int,
    *,
    nodes: Sequence[int] | None = None,
    attack: bool = True,
) -> np.ndarray:
    """Return what every agent answers at round 0 of :func:`debate`: its first row.

    The one place the round-0 answers are made: :func:`debate` starts from them and
    :func:`multiagent.defense.run_trust_stream` scores round-0 correctness by them, so the
    two cannot disagree (the stream scored a sleeper by its target while it answered the
    truth at round 0).

    Parameters
    ----------
    scenario
        The debate settings (adversaries).
    S
        ``(n, K)`` innate beliefs of the agents; not changed.
    truth
        Correct option.
    nodes
        Adversary indices (``scenario.adversary_nodes()`` when None).
    attack
        False: every adversary answers correctly (a sleeper across questions).

    Returns
    -------
    numpy.ndarray
        ``S`` with each adversary's row one-hot on its round-0 answer: its target when
        attacking from round 0 (``sleeper = 0``), the truth while it sleeps or when not
        ``attack``.
    """
    if nodes is None:
        nodes = scenario.adversary_nodes()
    K = S.shape[1]
    B0 = np.array(S)  # a copy, in S's dtype (as debate's rollout had it)
    for node, adv in zip(nodes, scenario.adversaries):
        target = adv.answer(truth, K)  # checks the target, asleep or not
        B0[node] = np.eye(K)[target if attack and adv.sleeper == 0 else truth]
    return B0


def _question_beliefs(B: Any, name: str) -> np.ndarray:
    """``B`` as a finite ``(questions, n, K)`` float array (``(n, K)`` is one question)."""
    B = np.asarray(as_numpy(B), dtype=np.float64)
    if B.ndim not in (2, 3) or 0 in B.shape[-2:]:
        raise ValueError(f"{name} must have shape (n, K) or (questions, n, K), got shape "
                         f"{B.shape}")
    B3 = B[None] if B.ndim == 2 else B
    # argmax reads NaN as the largest entry: a NaN belief would count as option 0
    for q in range(B3.shape[0]):
        check_beliefs(B3[q], B3.shape[1], name if B.ndim == 2 else f"{name}[{q}]",
                      simplex=False)
    return B3


def _answers(B: np.ndarray) -> np.ndarray:
    """``(..., n)`` each agent's answer: its arg-max option, or -1 where options tie.

    Options whose beliefs are within ``_TIE_RTOL`` (1e-12, relative) of the largest one tie
    with it (equal up to round-off): the agent gives no answer.
    """
    top = B.max(axis=-1, keepdims=True)
    tied = (B >= top - _TIE_RTOL * np.abs(top)).sum(axis=-1) > 1
    return np.where(tied, -1, B.argmax(axis=-1))


def _right_wrong(B: np.ndarray, truth: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(questions, n)`` masks: does each agent answer the truth, or another option.

    ``B`` as :func:`_question_beliefs` gives it.  An agent whose top options tie (see
    :func:`_answers`) gives no answer: neither right nor wrong.
    """
    Q, _, K = B.shape
    truth = check_indices(truth, "truth", K, "option indices")
    if truth.ndim == 0:
        # a scalar is every question's truth: np.atleast_1d made it one question's, and
        # (questions, n, K) beliefs refused it as "got shape (1,)"
        truth = np.full(Q, truth)
    if truth.shape != (Q,):
        raise ValueError(f"truth: expected one correct option per question ({Q}), "
                         f"got shape {truth.shape}")
    answer = _answers(B)
    right = answer == truth[:, None]
    return right, (answer >= 0) & ~right


def attack_success_rate(
    B_start: np.ndarray, B_end: np.ndarray, truth: Any, benign: np.ndarray
) -> float:
    """Share of (benign agent, question) pairs right at round 0 that are wrong at the end.

    An agent's answer is its arg-max option.  A tie for the top option (beliefs equal to
    within 1e-12, relative, e.g. a uniform "I cannot decide") is no answer: such an agent
    is not right at round 0 (left out of the pairs counted) and not wrong at the end (not
    an attack success); argmax read a tie as its first option (option 0).

    Parameters
    ----------
    B_start, B_end
        Beliefs ``(n, K)`` or ``(questions, n, K)`` at round 0 and at the final round.
    truth
        Correct option index in ``[0, K)``: one per question, or a scalar (a Python or
        numpy integer, a 0-d array or tensor) that is every question's.
    benign
        ``(n,)`` bool mask of benign agents (adversaries are excluded).

    Returns
    -------
    float
        ASR in [0, 1]; ``nan`` when no benign agent was right at round 0.

    Raises
    ------
    ValueError
        If the beliefs are not finite or their shapes differ, or ``truth`` or ``benign``
        does not fit them.
    TypeError
        If ``truth`` is not integer.

    Examples
    --------
    Truth is option 0; agent 2 is the adversary. Both benign agents start right and one of
    them ends wrong:

    >>> import numpy as np
    >>> from multiagent import attack_success_rate
    >>> start = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9]])
    >>> end = np.array([[0.6, 0.4], [0.3, 0.7], [0.1, 0.9]])
    >>> attack_success_rate(start, end, truth=0, benign=np.array([True, True, False]))
    0.5
    """
    B_start = _question_beliefs(B_start, "B_start")
    B_end = _question_beliefs(B_end, "B_end")
    if B_end.shape != B_start.shape:
        raise ValueError(f"B_end has shape {B_end.shape} but B_start has {B_start.shape} "
                         "(as (questions, n, K))")
    benign = _benign_mask(benign, B_start)
    start = _right_wrong(B_start, truth)[0][:, benign]
    end_wrong = _right_wrong(B_end, truth)[1][:, benign]
    if start.sum() == 0:
        return float("nan")
    return float((start & end_wrong).sum() / start.sum())


def benign_accuracy(B: np.ndarray, truth: Any, benign: np.ndarray) -> float:
    """Share of (benign agent, question) pairs whose arg-max belief is the truth.

    A tie for the top option (beliefs equal to within 1e-12, relative, e.g. a uniform "I
    cannot decide") is no answer and is not counted as correct (argmax read it as option
    0, so a benign group that could not decide scored accuracy 1 on questions whose truth
    was option 0).

    Parameters
    ----------
    B
        Beliefs ``(n, K)`` or ``(questions, n, K)``.
    truth
        Correct option index in ``[0, K)``: one per question, or a scalar (a Python or
        numpy integer, a 0-d array or tensor) that is every question's.
    benign
        ``(n,)`` bool mask of benign agents.

    Returns
    -------
    float
        Accuracy in [0, 1]; ``nan`` when no agent is benign.

    Raises
    ------
    ValueError
        If ``B`` is not finite, or ``truth`` or ``benign`` does not fit it.
    TypeError
        If ``truth`` is not integer.
    """
    B = _question_beliefs(B, "B")
    correct = _right_wrong(B, truth)[0][:, _benign_mask(benign, B)]
    return float(correct.mean()) if correct.size else float("nan")


def _benign_mask(benign: Any, B: Any) -> np.ndarray:
    """Check ``benign`` is a bool mask of the agents (0/1 integers would index agents 0, 1)."""
    mask = np.asarray(benign)
    n = np.asarray(B).shape[-2]
    if mask.dtype != bool or mask.shape != (n,):
        raise ValueError(f"benign: expected a bool mask of the {n} agents, got dtype "
                         f"{mask.dtype}, shape {mask.shape}")
    return mask


def adversary_weight(model: FriedkinJohnsen, adversaries: Sequence[int]) -> float:
    """Mean over benign agents of their total equilibrium weight on the adversaries.

    Computed by one linear solve, ``M e_A = (I - H)^{-1} Gamma e_A``, so it scales to large
    graphs.

    Parameters
    ----------
    model
        The FJ model.
    adversaries
        Distinct agent indices in ``[0, n)``: at least one, and not every agent (the
        mean is over the others).

    Returns
    -------
    float
        The mean weight, in [0, 1].

    Raises
    ------
    TypeError
        If ``adversaries`` holds non-integers (bools included).
    ValueError
        If it is empty, out of range, repeats an agent or names every agent.
    ConvergenceError
        If an iterative solve misses its tolerance.

    Notes
    -----
    With every ``gamma = 0`` (DeGroot) and one closed group of agents they reach a
    consensus, and the weight is the adversaries' share of it, ``sum(pi[adversaries])``
    (:meth:`~FriedkinJohnsen.consensus_weights`), as in
    :meth:`~FriedkinJohnsen.influence_matrix`.  Where some agents reach no stubborn agent
    the weight is read from the limit map of :meth:`~FriedkinJohnsen.equilibrium` (each
    closed group of them reaches its own consensus).

    Examples
    --------
    A benign agent who keeps half its innate opinion and listens only to a fully stubborn
    adversary ends half-way between them:

    >>> import numpy as np
    >>> from multiagent import FriedkinJohnsen, adversary_weight
    >>> fj = FriedkinJohnsen(np.array([[0.0, 1.0], [1.0, 0.0]]), gamma=[0.5, 1.0], alpha=0.0)
    >>> round(adversary_weight(fj, [1]), 4)
    0.5
    """
    adv = check_indices(adversaries, "adversaries", model.n, "agent indices", unique=True)
    if adv.ndim != 1:
        raise ValueError(f"adversaries must be a sequence of agent indices, got shape "
                         f"{adv.shape}")
    if adv.size == model.n:
        raise ValueError(f"adversaries names all {model.n} agents: no benign agent is left "
                         "to average over")
    mask = np.ones(model.n, bool)
    mask[adv] = False
    return _weight_on(model, adv, mask)


def _weight_on(model: FriedkinJohnsen, adv: np.ndarray, benign: np.ndarray) -> float:
    """Mean over the ``benign`` agents of their equilibrium weight on the agents ``adv``."""
    g, a, c = model._effective()
    classes = model._closed_classes(g, c)
    if not bool((g > 0).any()) and len(classes) == 1:
        # no one stubborn: (I - H) is singular, but the limit is 1 pi^T
        return float(as_numpy(model.consensus_weights())[adv].sum())
    e = np.zeros(model.n)
    e[adv] = 1.0
    if classes:  # agents that reach no stubborn agent: the limit map M e_A, as equilibrium
        col = as_numpy(model._limit_solve(model._vec(e), g, a, c, classes))
    else:
        rhs = model._vec(e) * g
        col = as_numpy(model.solve(rhs))
    return float(col[benign].mean())


def closed_form_weight(
    position: Literal["complete", "star_hub", "star_leaf"],
    n: int,
    gamma: float,
    alpha: float,
    *,
    persuasion: float = 1.0,
) -> dict[str, float]:
    """Closed-form equilibrium weight of benign agents on one fully stubborn adversary.

    Benign agents share ``gamma`` and ``alpha``; ``c = (1 - gamma)(1 - alpha)``; a
    neighbour's trust in the adversary is ``w_a = t / (t + k - 1)`` for persuasion ``t``
    and ``k`` neighbours.  Derived from the fixed-point equations of the three-force FJ
    model (METHODS §5.3):

    * complete graph: ``c w_a / (gamma + c w_a)`` (``c / (gamma (N - 1) + c)`` when ``t = 1``);
    * star, adversary at the hub: ``c / (gamma + c)`` for every leaf, any ``N`` (0 if
      ``t = 0``: the leaves then hear nobody);
    * star, adversary at a leaf, ``q = c / (gamma + c)``: hub
      ``x_h = c w_a / (gamma + c - c (1 - w_a) q)``, other leaves ``q x_h``.

    Parameters
    ----------
    position
        ``"complete"``, ``"star_hub"`` or ``"star_leaf"``.
    n
        Number of agents including the adversary.
    gamma, alpha
        Benign parameters.
    persuasion
        Trust multiplier ``t`` on the adversary.

    Returns
    -------
    dict
        Per-role weights and ``"mean"`` over benign agents.

    Examples
    --------
    >>> round(closed_form_weight("complete", 6, 0.2, 0.5)["mean"], 4)
    0.2857
    """
    if position not in ("complete", "star_hub", "star_leaf"):
        raise ValueError(f"position must be 'complete', 'star_hub' or 'star_leaf', "
                         f"got {position!r}")
    # n = 2 is valid for every position: a two-agent star's "leaf" is the other end of its
    # only edge, which the star_leaf formulas give (w_a = 1, no other leaf)
    if isinstance(n, bool) or int(n) != n or n < 2:
        raise ValueError(f"n: expected a whole number of agents >= 2, got {n!r}")
    gamma = check_number("gamma", gamma, at_least=0, at_most=1)
    alpha = check_number("alpha", alpha, at_least=0, at_most=1)
    t = check_number("persuasion", persuasion, at_least=0)
    c = (1 - gamma) * (1 - alpha)
    # a benign agent's trust in the adversary among its other peers (0 when it trusts nobody)
    w = t / (t + n - 2) if t + n - 2 > 0 else 0.0
    if position == "complete":
        # gamma = c w = 0: nobody is stubborn and nobody listens to the adversary
        x = c * w / (gamma + c * w) if gamma + c * w > 0 else 0.0
        return {"benign": x, "mean": x}
    if position == "star_hub":
        # a leaf's only neighbour is the hub: any t > 0 gives w_a = 1; t = 0 isolates it
        x = 0.0 if t == 0 or c == 0 else c / (gamma + c)
        return {"leaf": x, "mean": x}
    if position == "star_leaf":
        if gamma == 0:  # no benign anchor: all follow the adversary if they hear it at all
            x = 1.0 if t > 0 and c > 0 else 0.0
            return {"hub": x, "leaf": x, "mean": x}
        q = c / (gamma + c)
        hub = c * w / (gamma + c - c * (1 - w) * q)
        leaf = q * hub
        return {"hub": hub, "leaf": leaf, "mean": (hub + (n - 2) * leaf) / (n - 1)}
    raise AssertionError(position)  # checked above
