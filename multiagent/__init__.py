"""prunus.multiagent: Friedkin-Johnsen opinion dynamics for agent networks."""

from __future__ import annotations

from multiagent.dynamics import FriedkinJohnsen, check_beliefs, fj_step
from multiagent.solvers import ConvergenceError

__all__ = ["FriedkinJohnsen", "fj_step", "check_beliefs", "ConvergenceError"]
