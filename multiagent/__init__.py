"""prunus.multiagent: Friedkin-Johnsen opinion dynamics for agent networks.

Three-force FJ model ``b_i(t+1) = gamma_i s_i + (1 - gamma_i)[alpha_i b_i(t) +
(1 - alpha_i) sum_j W_ij b_j(t)]`` with ``gamma`` = stubbornness (the ``Lambda`` of the
stubbornness form; *not* the susceptibility ``I - Lambda`` of Friedkin/Proskurnikov-Tempo),
``alpha`` = peer-resistance and ``W`` row-stochastic trust.  Simulation, equilibria by
sparse solves, adversaries and defenses (Abedini et al. 2026), transcript fitting and the
mixture-of-experts view (Bause et al. 2026).
"""

from __future__ import annotations

from multiagent.adversary import (
    Adversary,
    Scenario,
    SimulationResult,
    adversary_weight,
    attack_success_rate,
    benign_accuracy,
    closed_form_weight,
    simulate,
)
from multiagent.agents import Agent, Message, Reply, ScriptedFJAgent, parse_belief, run_debate
from multiagent.analysis import (
    classic_fj,
    controversy,
    disagreement,
    internal_conflict,
    opinion_indices,
    polarization,
    social_power,
    time_to_consensus,
    time_to_equilibrium,
)
from multiagent.defense import TrustAdaptiveDefense, apply_defense, run_trust_stream
from multiagent.dynamics import FriedkinJohnsen, check_beliefs, fj_step
from multiagent.fit import FJFit, fit_fj, fit_fj_bayes, simulate_transcript, transcript_metrics
from multiagent.moe import (
    confidence,
    confidence_router,
    equilibrium_router,
    error_decomposition,
    relative_confidence,
)
from multiagent.solvers import ConvergenceError
from multiagent.sweep import sweep
from multiagent.topologies import TOPOLOGIES, adjacency, hub_and_leaf, make_graph, random_graph

__all__ = [
    # dynamics
    "FriedkinJohnsen",
    "fj_step",
    "check_beliefs",
    "ConvergenceError",
    # topologies
    "TOPOLOGIES",
    "make_graph",
    "adjacency",
    "hub_and_leaf",
    "random_graph",
    # analysis
    "social_power",
    "time_to_consensus",
    "time_to_equilibrium",
    "polarization",
    "disagreement",
    "internal_conflict",
    "controversy",
    "classic_fj",
    "opinion_indices",
    # adversaries and defenses
    "Adversary",
    "Scenario",
    "SimulationResult",
    "simulate",
    "attack_success_rate",
    "benign_accuracy",
    "adversary_weight",
    "closed_form_weight",
    "apply_defense",
    "TrustAdaptiveDefense",
    "run_trust_stream",
    "sweep",
    # fitting
    "FJFit",
    "fit_fj",
    "fit_fj_bayes",
    "simulate_transcript",
    "transcript_metrics",
    # mixture of experts
    "confidence",
    "relative_confidence",
    "confidence_router",
    "equilibrium_router",
    "error_decomposition",
    # agents
    "Agent",
    "Message",
    "Reply",
    "ScriptedFJAgent",
    "parse_belief",
    "run_debate",
]
