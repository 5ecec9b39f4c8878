"""biomodels.cascade (distribution prunus): exact cascade size distributions by message passing.

Independent Cascade model on weighted directed networks; whole distribution of the final
cascade size, exact on forests (SDP) and on networks whose components with a cycle are
small (households: exact enumeration), approximate on other networks with cycles (TDA),
Monte Carlo as reference; differentiable in edge weights and seed probabilities. After
Burkholz & Quackenbush, "Cascade Size Distributions: Why They Matter and How to Compute
Them Efficiently", AAAI 2021 (arXiv 1909.05416).
"""

from .distribution import conditional_activation, size_distribution
from .exact import exact_size_distribution
from .fit import CascadeFit, fit_bayesian
from .graph import CascadeGraph, seed_probabilities
from .influence import SeedSelection, celf
from .loopy import bp_marginals, exact_small_sizes, poisson_binomial, tda_size_distribution
from .montecarlo import MonteCarloResult, expected_tv_error, monte_carlo, total_variation
from .plan import tree_plan
from .plot import plot_distribution
from .tree import tree_conditional_activation, tree_size_distribution

__all__ = [
    "CascadeFit",
    "CascadeGraph",
    "MonteCarloResult",
    "SeedSelection",
    "bp_marginals",
    "celf",
    "conditional_activation",
    "exact_size_distribution",
    "exact_small_sizes",
    "expected_tv_error",
    "fit_bayesian",
    "monte_carlo",
    "plot_distribution",
    "poisson_binomial",
    "seed_probabilities",
    "size_distribution",
    "tda_size_distribution",
    "total_variation",
    "tree_conditional_activation",
    "tree_plan",
    "tree_size_distribution",
]
