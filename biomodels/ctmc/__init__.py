"""biomodels.ctmc (distribution prunus): continuous-time Markov chains of mutation accumulation.

Mutual Hazard Networks (Schill et al., Bioinformatics 2020) with the scalable fit of Gotovos,
Burkholz, Quackenbush & Jegelka ("Scaling up Continuous-Time Markov Chains Helps Resolve
Underspecification", NeurIPS 2021). Convention: ``theta[i, j]`` is the effect of event j on the
rate of event i (rows are targets), as in MHN and ``mhn``; the diagonal holds log base rates.
The observation MHN (oMHN, ``mhn``'s default; :mod:`biomodels.ctmc.omhn`) adds a row of the
events' effects on the observation rate: ``CTMC(theta_omhn)``, ``CTMC().fit(X, model="omhn")``.
"""

from __future__ import annotations

from biomodels.ctmc.bayes import posterior_theta
from biomodels.ctmc.crossval import cross_validate, default_l1_grid, kfold_indices, select_l1
from biomodels.ctmc.data import (
    block_theta,
    random_sparse_theta,
    read_cohort,
    read_maf,
    validate_cohort,
)
from biomodels.ctmc.fit import (
    FitResult,
    data_log_likelihood,
    fit_distribution,
    fit_theta,
    independence_fit,
    independence_theta,
)
from biomodels.ctmc.likelihood_statespace import (
    log_state_distribution,
    state_distribution,
    state_index,
    statespace_log_likelihood,
)
from biomodels.ctmc.likelihood_subsets import subset_log_likelihood
from biomodels.ctmc.model import CTMC
from biomodels.ctmc.omhn import classical_theta, sample_omhn_trajectories
from biomodels.ctmc.orderings_mcmc import (
    importance_log_likelihood,
    mcmc_gradient,
    mcmc_surrogate,
    metropolis_weights,
    propose_orders,
)
from biomodels.ctmc.orders import most_likely_order, order_probability, top_orders
from biomodels.ctmc.plot import plot_order_probabilities, plot_theta
from biomodels.ctmc.sampling import Trajectories, sample_trajectories
from biomodels.ctmc.sequences import bruteforce_log_likelihood, sequence_log_prob

__all__ = [
    "CTMC",
    "FitResult",
    "Trajectories",
    "block_theta",
    "bruteforce_log_likelihood",
    "classical_theta",
    "cross_validate",
    "data_log_likelihood",
    "default_l1_grid",
    "fit_distribution",
    "fit_theta",
    "importance_log_likelihood",
    "independence_fit",
    "independence_theta",
    "kfold_indices",
    "log_state_distribution",
    "mcmc_gradient",
    "mcmc_surrogate",
    "metropolis_weights",
    "most_likely_order",
    "order_probability",
    "plot_order_probabilities",
    "plot_theta",
    "posterior_theta",
    "propose_orders",
    "random_sparse_theta",
    "read_cohort",
    "read_maf",
    "sample_omhn_trajectories",
    "sample_trajectories",
    "select_l1",
    "sequence_log_prob",
    "state_distribution",
    "state_index",
    "statespace_log_likelihood",
    "subset_log_likelihood",
    "top_orders",
    "validate_cohort",
]
