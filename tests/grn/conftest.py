"""Fixtures shared by the GRN tests."""

from __future__ import annotations

import pytest
import torch

from biomodels.grn import simulate
from biomodels.grn.train import make_pairs


@pytest.fixture(autouse=True, scope="module")
def _one_thread_where_asked(request):
    """One torch thread for a module that sets ``ONE_THREAD = True``, restored after it.

    Before its module-scoped fits (autouse fixtures come first). Set at import instead, it
    held for every later test of the process, and an xdist worker imports every module.
    """
    if not getattr(request.module, "ONE_THREAD", False):
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny():
    """One-step pairs of a planted 10-gene Hill network and its true network."""
    ad = simulate.simulate_hill_network(10, n_trajectories=12, n_timepoints=5, seed=5)
    x = torch.as_tensor(ad.X, dtype=torch.float64)
    pairs = make_pairs(x, torch.tensor(ad.obs["time"].to_numpy(copy=True)),
                       torch.tensor(ad.obs["trajectory"].cat.codes.to_numpy(copy=True)))
    return pairs, torch.as_tensor(ad.varp["truth"])


def _damage(path, out=None):
    """Flip 40 bytes in the middle of the file's largest tensor: torch.load still reads it."""
    import zipfile
    from pathlib import Path

    path = Path(path)
    with zipfile.ZipFile(path) as archive:
        info = max((i for i in archive.infolist() if "/data/" in i.filename),
                   key=lambda i: i.file_size)
        record = archive.read(info)
    data = bytearray(path.read_bytes())
    middle = data.find(record) + len(record) // 2
    for i in range(middle - 20, middle + 20):
        data[i] ^= 0x5A
    (out or path).write_bytes(bytes(data))
    return out or path


@pytest.fixture
def damage():
    """``damage(path, out=None)``: a torch file with 40 bytes of its largest tensor flipped."""
    return _damage
