"""Shared fixtures: a fixed seed, seeded generators, and where the shared data lives."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def seed() -> int:
    """Seed torch and numpy's global state and return the seed."""
    value = 0
    torch.manual_seed(value)
    np.random.seed(value)
    return value


@pytest.fixture
def rng(seed: int) -> np.random.Generator:
    """A seeded numpy generator."""
    return np.random.default_rng(seed)


@pytest.fixture
def torch_gen(seed: int) -> torch.Generator:
    """A seeded torch generator on the CPU."""
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def shared_data() -> Path:
    """The folder of real data beside the checkout; skips the test when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA
