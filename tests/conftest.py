"""Shared fixtures: a fixed seed, seeded generators, and where the shared data lives."""

from __future__ import annotations

import os
import random
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")

if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    # `pytest -n auto` runs one worker per core: torch's default of a thread per core in
    # each worker oversubscribes the cores (2 cores: 482 s against 464 s with this)
    # the cores this process may use (a cpuset, taskset), as -n auto counts them
    cores = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
             else os.cpu_count() or 1)
    torch.set_num_threads(max(1, cores // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _seeded_globals() -> None:
    """Seed torch, numpy and random before every test, whatever ran before it.

    Under ``pytest -n auto`` the tests that run before one in its worker change from run to
    run: a test drawing from the global generators (an unseeded ``nn.Linear``) got other
    numbers (a schedule test warned of a collapsed layer for 2 seeds in 50).
    """
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _progress_bars_as_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clear ``TQDM_DISABLE``: a shell that sets it would hide the bars tests look for."""
    monkeypatch.delenv("TQDM_DISABLE", raising=False)


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


@pytest.fixture
def in_threads() -> Callable[[Callable[[Any], Any], Iterable[Any]], list[Any]]:
    """Run ``fn(arg)`` for every ``arg`` at once, one thread each; results in ``args`` order.

    The threads start together (a barrier) and switch every microsecond, as long fits do,
    so that calls which share process-wide state meet inside it.
    """

    def run(fn: Callable[[Any], Any], args: Iterable[Any]) -> list[Any]:
        args = list(args)
        start = threading.Barrier(len(args))

        def call(arg: Any) -> Any:
            start.wait()
            return fn(arg)

        switch = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        try:
            with ThreadPoolExecutor(len(args)) as pool:
                return list(pool.map(call, args))
        finally:
            sys.setswitchinterval(switch)

    return run


@pytest.fixture
def under_hash_seeds() -> Callable[[str], set[str]]:
    """Run Python ``code`` in fresh processes under ``PYTHONHASHSEED`` 1 and 2 at once.

    Returns the set of what they printed: one element where the output does not depend on
    string hashing (the iteration order of a set of names).
    """
    import subprocess

    def run(code: str) -> set[str]:
        runs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, "PYTHONHASHSEED": hash_seed})
                for hash_seed in ("1", "2")]
        outs = [one.communicate(timeout=120) for one in runs]
        assert [one.returncode for one in runs] == [0, 0], outs
        return {out for out, _ in outs}

    return run


@pytest.fixture
def svi_losses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The losses pyro's ``SVI.step`` returns during the test, in order (steps unchanged)."""
    import pyro.infer

    seen: list[float] = []
    step = pyro.infer.SVI.step

    def spy(self: Any, *args: Any, **kwargs: Any) -> float:
        seen.append(step(self, *args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(pyro.infer.SVI, "step", spy)
    return seen
