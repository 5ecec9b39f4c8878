"""Fixtures shared by the GRN tests."""

from __future__ import annotations

import pytest
import torch

from biomodels.grn import simulate
from biomodels.grn.train import make_pairs


@pytest.fixture(scope="module")
def tiny():
    """One-step pairs of a planted 10-gene Hill network and its true network."""
    ad = simulate.simulate_hill_network(10, n_trajectories=12, n_timepoints=5, seed=5)
    x = torch.as_tensor(ad.X, dtype=torch.float64)
    pairs = make_pairs(x, torch.tensor(ad.obs["time"].to_numpy(copy=True)),
                       torch.tensor(ad.obs["trajectory"].cat.codes.to_numpy(copy=True)))
    return pairs, torch.as_tensor(ad.varp["truth"])
