"""multiagent (distribution prunus): Friedkin-Johnsen opinion dynamics for agent networks.

Three-force FJ model ``b_i(t+1) = gamma_i s_i + (1 - gamma_i)[alpha_i b_i(t) +
(1 - alpha_i) sum_j W_ij b_j(t)]`` with ``gamma`` = stubbornness (``I - Lambda`` in
Friedkin's form, whose ``Lambda`` is the susceptibility: Friedkin & Johnsen 1999,
Proskurnikov & Tempo 2017), ``alpha`` = peer-resistance and ``W`` row-stochastic trust.
Simulation, equilibria by sparse solves, adversaries and defenses (Abedini et al. 2026),
transcript fitting and the mixture-of-experts view (Bause et al. 2026).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from multiagent.adversary import (
        Adversary,
        NeverAttacksWarning,
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
    from multiagent.fit import (
        FJFit,
        IsolatedAgentWarning,
        fit_fj,
        fit_fj_bayes,
        fit_sparse_trust,
        fit_transcripts,
        simulate_transcript,
        stubborn_test,
        transcript_metrics,
    )
    from multiagent.moe import (
        confidence,
        confidence_router,
        equilibrium_router,
        error_decomposition,
        relative_confidence,
    )
    from multiagent.solvers import ConvergenceError
    from multiagent.sweeps import sweep
    from multiagent.topologies import (
        TOPOLOGIES,
        adjacency,
        hub_and_leaf,
        make_graph,
        random_graph,
        read_adjacency,
    )
    from multiagent.transcripts import Transcripts, read_transcripts

# Public name -> module.  Imported lazily so that `prunus --help` (which loads
# multiagent.cli) does not pay for torch, scipy and pandas.
_EXPORTS: dict[str, str] = {
    "FriedkinJohnsen": "multiagent.dynamics",
    "fj_step": "multiagent.dynamics",
    "check_beliefs": "multiagent.dynamics",
    "ConvergenceError": "multiagent.solvers",
    "TOPOLOGIES": "multiagent.topologies",
    "make_graph": "multiagent.topologies",
    "adjacency": "multiagent.topologies",
    "hub_and_leaf": "multiagent.topologies",
    "random_graph": "multiagent.topologies",
    "read_adjacency": "multiagent.topologies",
    "social_power": "multiagent.analysis",
    "time_to_consensus": "multiagent.analysis",
    "time_to_equilibrium": "multiagent.analysis",
    "polarization": "multiagent.analysis",
    "disagreement": "multiagent.analysis",
    "internal_conflict": "multiagent.analysis",
    "controversy": "multiagent.analysis",
    "classic_fj": "multiagent.analysis",
    "opinion_indices": "multiagent.analysis",
    "Adversary": "multiagent.adversary",
    "Scenario": "multiagent.adversary",
    "SimulationResult": "multiagent.adversary",
    "simulate": "multiagent.adversary",
    "attack_success_rate": "multiagent.adversary",
    "benign_accuracy": "multiagent.adversary",
    "adversary_weight": "multiagent.adversary",
    "closed_form_weight": "multiagent.adversary",
    "NeverAttacksWarning": "multiagent.adversary",
    "apply_defense": "multiagent.defense",
    "TrustAdaptiveDefense": "multiagent.defense",
    "run_trust_stream": "multiagent.defense",
    "sweep": "multiagent.sweeps",
    "FJFit": "multiagent.fit",
    "IsolatedAgentWarning": "multiagent.fit",
    "fit_fj": "multiagent.fit",
    "fit_fj_bayes": "multiagent.fit",
    "fit_sparse_trust": "multiagent.fit",
    "fit_transcripts": "multiagent.fit",
    "simulate_transcript": "multiagent.fit",
    "stubborn_test": "multiagent.fit",
    "transcript_metrics": "multiagent.fit",
    "Transcripts": "multiagent.transcripts",
    "read_transcripts": "multiagent.transcripts",
    "confidence": "multiagent.moe",
    "relative_confidence": "multiagent.moe",
    "confidence_router": "multiagent.moe",
    "equilibrium_router": "multiagent.moe",
    "error_decomposition": "multiagent.moe",
    "Agent": "multiagent.agents",
    "Message": "multiagent.agents",
    "Reply": "multiagent.agents",
    "ScriptedFJAgent": "multiagent.agents",
    "parse_belief": "multiagent.agents",
    "run_debate": "multiagent.agents",
}

__all__ = [
    "FriedkinJohnsen",
    "fj_step",
    "check_beliefs",
    "ConvergenceError",
    "TOPOLOGIES",
    "make_graph",
    "adjacency",
    "hub_and_leaf",
    "random_graph",
    "read_adjacency",
    "social_power",
    "time_to_consensus",
    "time_to_equilibrium",
    "polarization",
    "disagreement",
    "internal_conflict",
    "controversy",
    "classic_fj",
    "opinion_indices",
    "Adversary",
    "Scenario",
    "SimulationResult",
    "simulate",
    "attack_success_rate",
    "benign_accuracy",
    "adversary_weight",
    "closed_form_weight",
    "NeverAttacksWarning",
    "apply_defense",
    "TrustAdaptiveDefense",
    "run_trust_stream",
    "sweep",
    "FJFit",
    "IsolatedAgentWarning",
    "fit_fj",
    "fit_fj_bayes",
    "fit_sparse_trust",
    "fit_transcripts",
    "simulate_transcript",
    "stubborn_test",
    "transcript_metrics",
    "Transcripts",
    "read_transcripts",
    "confidence",
    "relative_confidence",
    "confidence_router",
    "equilibrium_router",
    "error_decomposition",
    "Agent",
    "Message",
    "Reply",
    "ScriptedFJAgent",
    "parse_belief",
    "run_debate",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'multiagent' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
