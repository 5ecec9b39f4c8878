"""Seeded blocks that leave the caller's global random generators as they were."""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from core.checks import check_seed

__all__ = ["seeded_globals"]

# the generators (and pyro's handler stack and parameter store) are process-wide: two
# threads' blocks at once reseeded each other's streams and crashed pyro fits with
# "Multiple sample sites named ..."; reentrant so that a block may nest in another
_GLOBALS_LOCK = threading.RLock()


def _new_lock_in_child() -> None:
    """Give a forked child a free lock, as ``logging`` does for its own.

    A fork copies the lock as held when another thread was inside a block at that moment,
    by a thread the child does not have: the child's first block waited forever.
    """
    global _GLOBALS_LOCK
    if not _GLOBALS_LOCK._is_owned():  # type: ignore[attr-defined]
        # (a fork inside a block keeps the lock: the child's one thread is still inside)
        _GLOBALS_LOCK = threading.RLock()


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_new_lock_in_child)


@contextmanager
def seeded_globals(seed: int) -> Iterator[None]:
    """Seed torch's (CPU and CUDA), numpy's and Python's global generators inside the block.

    The seeding is ``pyro.set_rng_seed``'s, so a pyro run inside the block draws what it
    drew after that call; on exit all three states are restored (torch's by
    :func:`torch.random.fork_rng`), so a seeded fit neither resets nor consumes the caller's
    random streams. The CUDA generators take part only once CUDA is initialized (a fit of
    CUDA tensors): the block never starts CUDA itself.

    Blocks in different threads run one at a time (a process-wide lock), so seeded fits run
    in a thread pool give what they give alone; a block that waits for another thread's
    block would therefore never end. Draws from the global generators made by other threads
    outside any block are not kept out: during a block they take from its seeded stream.

    Parameters
    ----------
    seed
        Seed of the draws inside the block, an integer in ``[0, 2**32)`` (numpy's and
        pyro's range).

    Yields
    ------
    None
        Control, with the three generators seeded.

    Examples
    --------
    >>> before = torch.random.get_rng_state()
    >>> with seeded_globals(0):
    ...     a = torch.rand(2)
    >>> with seeded_globals(0):
    ...     b = torch.rand(2)
    >>> bool(torch.equal(a, b)), bool(torch.equal(before, torch.random.get_rng_state()))
    (True, True)
    """
    # torch took 1.5 as 1, numpy refused it; numpy's legacy seed (and pyro's) is 32-bit,
    # and 2**32 failed as "Seed must be between 0 and 2**32 - 1", naming no argument
    seed = check_seed(seed, "seed", optional=False, bits=32)
    with _GLOBALS_LOCK:
        yield from _seeded(seed)


def _seeded(seed: int) -> Iterator[None]:
    """Body of :func:`seeded_globals`, run under its lock."""
    py_state, np_state = random.getstate(), np.random.get_state()
    # fork_rng reads every GPU's generator, which initializes CUDA: a CPU fit on a GPU
    # machine took a CUDA context (GPU memory, and an error where another process holds
    # the GPU exclusively). A CUDA not yet initialized holds no state of the caller's and
    # gets none of the block's draws (CUDA inputs would have initialized it already).
    cuda_idle = torch.cuda.is_available() and not torch.cuda.is_initialized()
    with torch.random.fork_rng(devices=[] if cuda_idle else None):
        try:
            if cuda_idle:  # torch.manual_seed would queue a CUDA seed for its later start
                torch.random.default_generator.manual_seed(seed)
            else:
                torch.manual_seed(seed)
            random.seed(seed)
            np.random.seed(seed)
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
