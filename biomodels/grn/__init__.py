"""biomodels.grn (distribution prunus): gene-regulatory neural ODEs (PHOENIX) pruned with DASH.

Hossain et al., *Genome Biology* 25:127 (2024) (PHOENIX); Hossain, Fischer, Burkholz,
Quackenbush, NeurIPS 2024, arXiv:2403.04805 (DASH).
"""

from __future__ import annotations

from biomodels.grn import datasets
from biomodels.grn.dash import DashPruner, PruningSchedule
from biomodels.grn.datasets import krumsiek11, krumsiek11_network, krumsiek11_simulate
from biomodels.grn.evaluate import auprc, auroc, evaluate
from biomodels.grn.model import GRNModel
from biomodels.grn.odefunc import PhoenixODEFunc
from biomodels.grn.prior import align_prior, prior_from_edges, rank_prior_first
from biomodels.grn.simulate import corrupt_prior, simulate_hill_network
from biomodels.grn.train import SolverDivergedError

__all__ = [
    "GRNModel",
    "PhoenixODEFunc",
    "DashPruner",
    "PruningSchedule",
    "SolverDivergedError",
    "datasets",
    "krumsiek11",
    "krumsiek11_network",
    "krumsiek11_simulate",
    "simulate_hill_network",
    "corrupt_prior",
    "align_prior",
    "prior_from_edges",
    "rank_prior_first",
    "evaluate",
    "auroc",
    "auprc",
]
