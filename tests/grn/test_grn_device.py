"""Device and dtype follow the model's settings (CUDA part runs with ``pytest -m gpu``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from biomodels.grn import GRNModel, corrupt_prior, simulate_hill_network

# six epochs do not fit the data; the fit-quality warnings are not what is tested here
pytestmark = [pytest.mark.filterwarnings("ignore:the model explains only"),
              pytest.mark.filterwarnings("ignore:the soft prior outweighs")]


@pytest.fixture(scope="module")
def planted():
    adata = simulate_hill_network(12, n_trajectories=8, n_timepoints=6, seed=1)
    genes = list(adata.var_names)
    truth = pd.DataFrame(adata.varp["truth"], index=genes, columns=genes)
    return adata, corrupt_prior(truth, 0.1, seed=1)


def _dash_fit(adata, prior, device: str, dtype: torch.dtype) -> GRNModel:
    model = GRNModel(adata, time_key="time", trajectory_key="trajectory", prior=prior,
                     n_hidden=8, dtype=dtype, device=device, seed=0)
    # 6 epochs: the first DASH round (epoch 3) and the soft prior both run
    model.train(6, pruning="dash", prior_weight=0.999, method="rk4", step_size=0.5,
                progress=False)
    return model


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dash_fit_follows_dtype(planted, dtype, tmp_path):
    adata, prior = planted
    model = _dash_fit(adata, prior, "cpu", dtype)
    assert {p.dtype for p in model.func.parameters()} == {dtype}
    assert model.sparsity() > 0.6  # the 70 % first cut happened
    back = GRNModel.load(model.save(tmp_path / "m.pt"), adata)
    assert {p.dtype for p in back.func.parameters()} == {dtype}
    np.testing.assert_array_equal(back.network().to_numpy(), model.network().to_numpy())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_dash_fit_on_cuda_matches_cpu(planted, tmp_path):
    adata, prior = planted
    cpu = _dash_fit(adata, prior, "cpu", torch.float64)
    gpu = _dash_fit(adata, prior, "cuda", torch.float64)
    assert {t.device.type for t in gpu.func.parameters()} == {"cuda"}
    assert {t.device.type for t in gpu.func.buffers()} == {"cuda"}  # the masks
    # same masks, same weights up to float64 round-off across devices
    assert gpu.sparsity() == cpu.sparsity()
    np.testing.assert_allclose(gpu.network().to_numpy(), cpu.network().to_numpy(),
                               rtol=1e-6, atol=1e-9)
    gene = str(adata.var_names[0])
    np.testing.assert_allclose(gpu.simulate(perturb={gene: 0.0}),
                               cpu.simulate(perturb={gene: 0.0}), rtol=1e-5, atol=1e-7)
    back = GRNModel.load(gpu.save(tmp_path / "m.pt"), adata, device="cuda")
    assert {t.device.type for t in back.func.parameters()} == {"cuda"}
    np.testing.assert_array_equal(back.network().to_numpy(), gpu.network().to_numpy())
