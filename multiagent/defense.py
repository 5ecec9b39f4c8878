"""Defenses against stubborn adversaries: the three FJ levers and trust-adaptive weighting.

From Abedini, Mavali, Schönherr, Pawelczyk & Burkholz (2026), "Don't Trust Stubborn
Neighbors".  The closed forms (:func:`multiagent.adversary.closed_form_weight`) show three
levers: more benign agents, more benign stubbornness ``gamma`` / peer-resistance
``alpha``, and less trust in the adversary (:func:`apply_defense`).  The paper's
trust-adaptive defense (:class:`TrustAdaptiveDefense`) learns that trust from labelled
questions:

1. warm-up on ``k`` labelled items: ``T_ij = clip(acc_j ** trust_gamma, 0, 1)`` with
   ``acc_j`` speaker ``j``'s round-0 accuracy;
2. online, after each item, for listener ``i`` and speaker ``j`` with ``y_j = 1`` iff ``j``'s
   *round-0* answer was right: ``e_ij <- mu e_ij + (1 - mu)(y_j - T_ij)``,
   ``T_ij <- clip(T_ij + eta e_ij, 0, 1)`` (momentum ``mu = 0.8``); with a sparse-update
   option that updates on a random fraction of items only;
3. the FJ trust matrix is ``W_ij ∝ T_ij A_ij`` (speakers below a threshold dropped).

Round-0 targets keep a persuasive attacker from corrupting the trust signal.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd

from core.checks import check_count, check_number, check_seed
from multiagent._backend import as_dense_numpy, by_agent_label, frame_labels, square_frame
from multiagent.adversary import (
    NeverAttacksWarning,
    Scenario,
    _answers,
    _never_attacking,
    debate,
    initial_beliefs,
    round_zero_beliefs,
)

__all__ = ["DefenseKind", "apply_defense", "TrustAdaptiveDefense", "run_trust_stream"]

DefenseKind = Literal["more_agents", "stubbornness", "peer_resistance", "distrust"]


def apply_defense(scenario: Scenario, kind: DefenseKind, strength: float) -> Scenario:
    """Return ``scenario`` with one of the three FJ defenses applied.

    Parameters
    ----------
    scenario
        The attacked debate.
    kind
        ``"more_agents"`` adds ``strength`` benign agents (``n += strength``; named
        topologies only, ValueError for a networkx graph);
        ``"stubbornness"`` sets the benign ``gamma`` to ``strength``;
        ``"peer_resistance"`` sets the benign ``alpha`` to ``strength``;
        ``"distrust"`` multiplies each adversary's persuasion (the trust others place in
        it) by ``strength`` in ``[0, 1]``.
    strength
        See ``kind``.

    Returns
    -------
    Scenario

    Examples
    --------
    Halving the trust in an adversary on a complete graph of 6 agents lowers its weight
    from 2/7 to 2/11 (:func:`~multiagent.closed_form_weight`):

    >>> from multiagent import Adversary, Scenario, adversary_weight, apply_defense
    >>> sc = Scenario(graph="complete", n=6, adversaries=(Adversary(),))
    >>> weak = apply_defense(sc, "distrust", 0.5)
    >>> weak.adversaries[0].persuasion
    0.5
    >>> [round(adversary_weight(s.model(), s.adversary_nodes()), 4) for s in (sc, weak)]
    [0.2857, 0.1818]
    >>> apply_defense(sc, "more_agents", 4).n
    10
    """
    from dataclasses import replace

    # a number, as the float it holds: strength=True added an agent, "0.5" failed in a
    # compare, and a 0-d tensor as distrust failed later in an ndarray product
    value = check_number("strength", strength, at_least=0)
    if kind == "more_agents":
        if not value.is_integer():
            raise ValueError(f"more_agents needs a non-negative integer strength, got {strength}")
        if not isinstance(scenario.graph, str):
            # n is ignored for a networkx graph: the defense was a silent no-op
            raise ValueError("more_agents: the scenario's graph is a networkx graph, whose "
                             "agents are its nodes (n is ignored); add the benign agents to "
                             "the graph instead")
        return scenario.with_(n=scenario.n + int(value))
    if kind in ("stubbornness", "peer_resistance", "distrust"):
        if not value <= 1:
            raise ValueError(f"{kind} strength must be in [0, 1], got {strength}")
        if kind == "stubbornness":
            return scenario.with_(gamma=value)
        if kind == "peer_resistance":
            return scenario.with_(alpha=value)
        advs = tuple(replace(a, persuasion=a.persuasion * value) for a in scenario.adversaries)
        return scenario.with_(adversaries=advs)
    raise ValueError(
        "kind must be 'more_agents', 'stubbornness', 'peer_resistance' or 'distrust', "
        f"got {kind!r}"
    )


class TrustAdaptiveDefense:
    """Trust learned from labelled items (warm-up) and round-0 correctness (momentum updates).

    Parameters
    ----------
    n
        Number of agents.
    trust_gamma
        Exponent on warm-up accuracy (the paper's ``trust_gamma``; not the FJ ``gamma``), a
        finite number ``>= 0``.  The default 2.0 is the paper's shipped experiment config;
        its code's command-line default is 1.0.
    lr
        Step size ``eta`` of the online update (the paper's ``trust_lr``: 0.4 in its config,
        the default here, and 0.1 as its command-line default), a finite number ``>= 0``.
    momentum
        ``mu`` of the momentum buffer, in ``[0, 1)``.
    sparse_fraction
        Probability in ``(0, 1]`` that an item triggers an update (1: every item; the
        paper's sparse regime uses 0.2).  Each item is drawn independently, so the number
        of updates varies; the reference code updates on exactly ``ceil(0.2 * items)``
        random items.
    threshold
        Speakers whose trust is below this are dropped from ``W``; in ``[0, 1]``, the
        range of trust (above 1 every speaker would be dropped).
    seed
        Seed of the sparse-update draws; None draws fresh entropy (not reproducible).

    Examples
    --------
    >>> d = TrustAdaptiveDefense(3)
    >>> d.warm_up(np.array([[1, 1, 0], [1, 0, 0]], bool))
    >>> d.trust[0].round(2).tolist()
    [1.0, 0.25, 0.0]
    """

    def __init__(
        self,
        n: int,
        *,
        trust_gamma: float = 2.0,
        lr: float = 0.4,
        momentum: float = 0.8,
        sparse_fraction: float = 1.0,
        threshold: float = 0.0,
        seed: int | None = 0,
    ) -> None:
        # NaN passed the old sign checks of trust_gamma and lr, and threshold was not
        # checked at all: threshold NaN or 2.0 dropped every speaker (W = I, all deaf)
        self.momentum = _setting("momentum", momentum, 0, 1, high_open=True)
        self.sparse_fraction = _setting("sparse_fraction", sparse_fraction, 0, 1,
                                        low_open=True)
        self.trust_gamma = _setting("trust_gamma", trust_gamma, 0, math.inf)
        self.lr = _setting("lr", lr, 0, math.inf)
        self.threshold = _setting("threshold", threshold, 0, 1)
        self.n = check_count("n", n)  # int() truncated 2.5 to 2
        self.trust = np.ones((self.n, self.n))
        self.buffer = np.zeros((self.n, self.n))
        self.updates = 0
        self._rng = np.random.default_rng(check_seed(seed))

    def __repr__(self) -> str:
        # what a notebook shows (it was "<multiagent.defense.TrustAdaptiveDefense object at
        # 0x...>"): the settings, and how far the trust has been learned
        return (f"TrustAdaptiveDefense(n={self.n}, trust_gamma={self.trust_gamma:g}, "
                f"lr={self.lr:g}, momentum={self.momentum:g}, "
                f"sparse_fraction={self.sparse_fraction:g}, threshold={self.threshold:g}; "
                f"{self.updates} update{'s' * (self.updates != 1)}, "
                f"mean trust {float(np.mean(self.trust)):.3g})")

    def _check(self, correct: Any, ndim: int) -> np.ndarray:
        c = np.asarray(correct)
        if c.ndim != ndim or c.shape[-1] != self.n:
            want = "(items, n)" if ndim == 2 else "(n,)"
            raise ValueError(f"correct must have shape {want} with n = {self.n}, got {c.shape}")
        return c.astype(bool)

    def warm_up(self, correct: Any) -> None:
        """Set ``T_ij = clip(acc_j ** trust_gamma, 0, 1)`` from labelled items.

        Parameters
        ----------
        correct
            ``(items, n)`` booleans: was agent ``j``'s round-0 answer right on each item.
        """
        c = self._check(correct, 2)
        if c.shape[0] == 0:  # the mean over no item is NaN, and NaN trust survives clip
            raise ValueError("correct: expected at least one labelled item, got shape "
                             f"{c.shape}")
        acc = c.mean(axis=0)
        self.trust = np.clip(np.broadcast_to(acc**self.trust_gamma, (self.n, self.n)), 0, 1).copy()
        self.buffer[:] = 0

    def update(self, correct: Any, *, adjacency: Any | None = None) -> bool:
        """One momentum step toward 1 (right at round 0) or 0 (wrong), clipped to [0, 1].

        Parameters
        ----------
        correct
            ``(n,)`` booleans: each speaker's round-0 correctness on this item.
        adjacency
            Who hears whom; only in-neighbours (and the listener itself) are updated.  A
            pandas DataFrame is read by label, and a labelled Series ``correct`` by its
            labels.

        Returns
        -------
        bool
            Whether an update happened (False when skipped by the sparse schedule).
        """
        # a labelled correct follows a DataFrame adjacency's agents (it was read by position)
        labels = frame_labels(adjacency)
        y = self._check(by_agent_label(correct, labels, "correct"), 1).astype(float)
        if self.sparse_fraction < 1 and self._rng.random() >= self.sparse_fraction:
            return False
        # a DataFrame adjacency is read by label
        mask = np.ones((self.n, self.n), bool) if adjacency is None else \
            (as_dense_numpy(square_frame(adjacency, "adjacency")) > 0) \
            | np.eye(self.n, dtype=bool)
        target = np.broadcast_to(y, (self.n, self.n))
        new_buf = self.momentum * self.buffer + (1 - self.momentum) * (target - self.trust)
        self.buffer = np.where(mask, new_buf, self.buffer)
        self.trust = np.where(mask, np.clip(self.trust + self.lr * self.buffer, 0, 1), self.trust)
        self.updates += 1
        return True

    def effective_trust(self) -> np.ndarray:
        """Return the trust with speakers below ``threshold`` set to zero.

        Returns
        -------
        numpy.ndarray
            ``(n, n)`` trust of listener ``i`` in speaker ``j``, in ``[0, 1]``.
        """
        return np.where(self.trust >= self.threshold, self.trust, 0.0)

    def weights(self, adjacency: Any) -> np.ndarray:
        """Row-stochastic ``W ∝ T ⊙ A`` with speakers below ``threshold`` dropped.

        A listener left with no speaker keeps only itself (``W_ii = 1``).

        Parameters
        ----------
        adjacency
            ``(n, n)`` communication graph; ``A_ij > 0``: listener ``i`` hears ``j``.

        Returns
        -------
        numpy.ndarray
            ``(n, n)`` row-stochastic trust matrix for :class:`FriedkinJohnsen`.
        """
        # also scipy or torch sparse; a DataFrame is read by label
        A = as_dense_numpy(square_frame(adjacency, "adjacency")).astype(np.float64)
        M = A * self.effective_trust()
        np.fill_diagonal(M, 0)
        s = M.sum(axis=1, keepdims=True)
        W = np.divide(M, s, out=np.zeros_like(M), where=s > 0)
        W[np.flatnonzero(s[:, 0] == 0), np.flatnonzero(s[:, 0] == 0)] = 1.0
        return W


def _setting(name: str, value: float, low: float, high: float, *, low_open: bool = False,
             high_open: bool = False) -> float:
    """Return a defense setting as a float after checking it lies in its interval.

    Bools and text are refused (TypeError, as :func:`core.checks.check_number` does); NaN
    and infinities fail the range (ValueError naming it), as out-of-range values do.
    """
    try:
        v = check_number(name, value)
    except ValueError:  # NaN or infinite: said with the allowed range below
        v = math.nan
    inside = (low < v if low_open else low <= v) and (v < high if high_open else v <= high)
    if not inside:
        shown = value.item() if getattr(value, "ndim", None) == 0 else value
        if math.isinf(high):
            raise ValueError(f"{name} must be a finite number >= {low:g}, got {shown}")
        raise ValueError(f"{name} must be in {'(' if low_open else '['}{low:g}, {high:g}"
                         f"{')' if high_open else ']'}, got {shown}")
    return v


def run_trust_stream(
    scenario: Scenario,
    *,
    questions: int = 100,
    warmup: int = 10,
    defense: TrustAdaptiveDefense | None = None,
    online: bool = True,
    adaptive: bool = False,
    attack_after: int = 0,
    p_correct: float = 0.8,
    confidence: float = 0.6,
    concentration: float = 20.0,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Debate a stream of questions, adapting trust between them.

    The first ``warmup`` questions are labelled: their round-0 answers set the warm-up
    trust (``warmup = 0`` starts from full trust).  Round-0 answers are those of
    :func:`~multiagent.adversary.debate` (:func:`~multiagent.adversary.round_zero_beliefs`):
    an adversary with ``Adversary.sleeper >= 1`` answers the truth at round 0 and switches
    within the debate, which round-0 trust cannot see.  Each later question is debated with
    ``W ∝ T ⊙ A``; then, if ``online``, trust is updated from round-0 correctness.  A
    static adversary attacks on every question; an adaptive (sleeper) one answers
    correctly during the warm-up and the first ``attack_after`` questions after it.
    Regimes of the paper: T-W (``online=False``), T-WA (``online=False``,
    ``adaptive=True``; ``attack_after`` applies to adaptive adversaries only), T-WS (sparse
    updates, adaptive), T-S (``warmup=0``, sparse).

    Parameters
    ----------
    scenario
        Debate settings (graph, FJ parameters, adversaries).
    questions
        Questions after the warm-up.
    warmup
        Labelled warm-up questions.  Without a warm-up, trust starts at 1 here but at
        0.5 in the paper's code (its T-S regime): the first ``W`` is the same (rows are
        normalised), the updates are not; set ``defense.trust[:] = 0.5`` to match it.
    defense
        The trust learner (default :class:`TrustAdaptiveDefense` with paper defaults);
        None with ``warmup = 0`` and ``online=False`` is the undefended baseline. A
        learner passed in is updated in place (trust, momentum buffer, ``updates`` and
        its sparse-update draws): a second stream with the same object goes on from where
        the first left off (without a warm-up, from the trust it learnt), so pass a fresh
        one for a run that repeats another.
    online
        Update trust after each question.
    adaptive
        Sleeper adversary (correct during warm-up, then attacks).
    attack_after
        Further questions after the warm-up on which an adaptive adversary stays correct.
    p_correct, confidence, concentration
        Benign initial beliefs (:func:`multiagent.adversary.initial_beliefs`).
    seed
        Seed for the question stream; None draws fresh entropy (another stream on every
        call).

    Returns
    -------
    pandas.DataFrame
        One row per question: ``question``, ``phase`` (warmup/debate), ``attacking``,
        ``right_start``, ``flipped`` (benign right at round 0 and wrong at the end; an
        agent whose top options tie, to 1e-12 relative, gives no answer: neither right nor
        wrong, as in :func:`~multiagent.adversary.attack_success_rate`),
        ``accuracy_end`` (benign), ``trust_in_adversary`` (mean over the benign listeners
        that hear an adversary; NaN when none does).

    Warns
    -----
    multiagent.adversary.NeverAttacksWarning
        If an adversary sleeps through every debate (``Adversary.sleeper >=
        scenario.rounds``), as :func:`multiagent.simulate` does: it holds the truth in
        every round, so ``flipped`` and an ASR say nothing of its attack.
    """
    # negative counts gave a short or empty table without an error
    check_count("questions", questions, at_least=0)
    check_count("warmup", warmup, at_least=0)
    # attack_after was never checked: "3" or 3.5 were taken (or failed in a sum), True was 1
    attack_after = check_count("attack_after", attack_after, at_least=0)
    rng = np.random.default_rng(check_seed(seed))
    nodes = scenario.adversary_nodes()
    benign = scenario.benign()
    asleep = _never_attacking(scenario)
    if asleep and questions:
        # simulate warned of this, the stream did not: its ASR of an attack that never
        # happens read as a defense's success
        said = "; ".join(f"adversary {i} (agent {nodes[i]}) has sleeper {adv.sleeper} >= "
                         f"rounds {scenario.rounds}" for i, adv in asleep)
        it = "they never attack" if len(asleep) > 1 else "it never attacks"
        warnings.warn(f"{said}: {it} within a debate (holding the truth in every round), so "
                      "the stream's flips and ASR say nothing of its attack",
                      NeverAttacksWarning, stacklevel=2)
    from multiagent.topologies import adjacency as adj_of

    A = adj_of(scenario._graph_now())  # the graph the scenario's model uses
    n, K = A.shape[0], scenario.n_options
    defense = TrustAdaptiveDefense(n) if defense is None else defense
    if defense.n != n:
        raise ValueError(f"defense is for {defense.n} agents, scenario has {n}")
    rows = []
    warm_correct = []
    total = warmup + questions
    for q in range(total):
        truth = int(rng.integers(0, K))
        S = initial_beliefs(n, K, truth, p_correct=p_correct, confidence=confidence,
                            concentration=concentration, rng=rng)
        attacking = q >= warmup + attack_after if adaptive else True
        # round-0 answers, as the debate's first row has them: made apart from debate(),
        # they scored a sleeper (Adversary.sleeper >= 1) by its target although it answers
        # the truth at round 0, and its trust fell to 0 at once
        S0 = round_zero_beliefs(scenario, S, truth, nodes=nodes, attack=attacking)
        # a tie for the top option is no answer (argmax read it as option 0)
        right0 = _answers(S0) == truth
        if q < warmup:
            warm_correct.append(right0)
            if q == warmup - 1:
                defense.warm_up(np.array(warm_correct))
            rows.append({"question": q, "phase": "warmup", "attacking": attacking,
                         "right_start": int(right0[benign].sum()), "flipped": 0,
                         "accuracy_end": float(right0[benign].mean()),
                         "trust_in_adversary": _trust_in(defense, nodes, benign, A)})
            continue
        model = scenario.model(trust=defense.effective_trust())
        traj = debate(scenario, model, S, truth, nodes=nodes, attack=attacking)
        end = _answers(traj[-1])
        end_right = end == truth
        rows.append({
            "question": q, "phase": "debate", "attacking": attacking,
            "right_start": int(right0[benign].sum()),
            "flipped": int((right0 & (end >= 0) & ~end_right)[benign].sum()),
            "accuracy_end": float(end_right[benign].mean()),
            "trust_in_adversary": _trust_in(defense, nodes, benign, A),
        })
        if online:
            defense.update(right0, adjacency=A)
    return pd.DataFrame(rows)


def _trust_in(defense: TrustAdaptiveDefense, nodes: list[int], benign: np.ndarray,
              A: np.ndarray) -> float:
    """Mean trust of the benign listeners that hear an adversary, in that adversary.

    Listeners that cannot hear it never update their trust in it: counted in, they held
    the mean near its start (0.984 after the hub of a pure star found out a leaf adversary).
    """
    if not nodes:
        return float("nan")
    hears = (np.asarray(A)[np.ix_(benign, nodes)] > 0)
    if not hears.any():
        return float("nan")
    return float(defense.trust[np.ix_(benign, nodes)][hears].mean())
