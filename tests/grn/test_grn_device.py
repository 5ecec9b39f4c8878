"""Device and dtype follow the model's settings (CUDA part runs with ``pytest -m gpu``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from biomodels.grn import GRNModel, corrupt_prior, simulate_hill_network
from biomodels.grn.odefunc import PhoenixODEFunc
from biomodels.grn.train import fit, prior_loss

# six epochs do not fit the data; the fit-quality warnings are not what is tested here
pytestmark = [pytest.mark.filterwarnings("ignore:the model explains"),
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


def test_float64_fit_stays_float64_end_to_end(planted, tmp_path):
    adata, prior = planted
    model = GRNModel(adata, time_key="time", trajectory_key="trajectory", prior=prior,
                     ppi=prior.abs(), n_hidden=4, dtype=torch.float64, seed=0)
    kw = {"pruning": "dash", "prior_weight": 0.99, "method": "rk4", "step_size": 0.5,
          "progress": False, "checkpoint": tmp_path / "fit.ckpt", "checkpoint_every": 1}
    model.train(3, **kw)  # the first DASH round is at epoch 3
    ckpt = torch.load(tmp_path / "fit.ckpt", weights_only=True)
    floats = [*ckpt["func"].values(), *ckpt["best_state"].values(),
              *ckpt["pruner"]["previous"].values()]
    assert {t.dtype for t in floats} == {torch.float64, torch.bool}  # bool: the masks
    assert {t.dtype for t in model.pruner._previous.values()} == {torch.float64}
    model.train(4, **kw)  # resumed from the checkpoint
    assert {p.dtype for p in model.func.parameters()} == {torch.float64}
    gene = str(adata.var_names[0])
    assert model.predict(model._default_y0(), [0.0, 1.0]).dtype == np.float64
    assert model.simulate(perturb={gene: 0.0}, times=[0.0, 1.0]).dtype == np.float64
    back = GRNModel.load(model.save(tmp_path / "m.pt"), adata)
    assert back.dtype == torch.float64
    assert {t.dtype for t in back.func.state_dict().values()} == {torch.float64, torch.bool}
    np.testing.assert_array_equal(back.network().to_numpy(), model.network().to_numpy())
    back.train(4, pruning="dash", prior_weight=0.99, method="rk4", step_size=0.5,
               progress=False)  # goes on from the saved masks and recursive scores
    assert back.pruner.rounds == model.pruner.rounds + 1  # the round at epoch 3
    assert {p.dtype for p in back.func.parameters()} == {torch.float64}


def test_soft_prior_follows_the_field_dtype(tiny):
    pairs, truth = tiny  # float64 pairs
    sign = torch.sign(truth)  # -1, 0, 1: the same values in float32 and float64

    def run(prior: torch.Tensor) -> tuple[torch.nn.Module, dict]:
        func = PhoenixODEFunc(10, 4, dtype=torch.float64,
                              generator=torch.Generator().manual_seed(0))
        history = fit(func, pairs, None, epochs=2, method="rk4", options={"step_size": 0.5},
                      prior=prior, prior_weight=0.9, n_random=20, batch_size=32)
        return func, history

    ref_func, ref = run(sign.double())
    # a float32 prior with a float64 field (as DashPruner takes it) failed in the matmul
    func, got = run(sign.float())
    assert got == ref
    for a, b in zip(ref_func.parameters(), func.parameters()):
        assert torch.equal(a, b)
    assert prior_loss(func, sign.float(), n_random=5).dtype == torch.float64


def test_states_and_perturbations_given_as_tensors(planted):
    adata, _ = planted
    model = GRNModel(adata, time_key="time", trajectory_key="trajectory", n_hidden=4,
                     dtype=torch.float64, seed=0)
    model.train(1, pruning="none", method="rk4", step_size=0.5, progress=False)
    times = [0.0, 1.0]
    y0 = model._default_y0()
    ref = model.predict(y0, times)
    # np.asarray(tensor) fails on one that needs grad, a bfloat16 one or a CUDA one
    np.testing.assert_array_equal(model.predict(torch.tensor(y0, requires_grad=True), times),
                                  ref)
    half = torch.tensor(y0).to(torch.bfloat16)
    np.testing.assert_array_equal(model.predict(half, times),
                                  model.predict(half.double().numpy(), times))
    gene = str(adata.var_names[0])
    np.testing.assert_array_equal(
        model.simulate(perturb={gene: torch.tensor(0.5, requires_grad=True)}, times=times),
        model.simulate(perturb={gene: 0.5}, times=times))
    with pytest.raises(ValueError, match="finite numbers"):
        model.simulate(perturb={gene: torch.tensor(True)})


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
    # states and perturbations may live on the GPU too
    y0 = torch.tensor(gpu._default_y0(), device="cuda")
    np.testing.assert_array_equal(gpu.predict(y0, [0.0, 1.0]),
                                  gpu.predict(y0.cpu().numpy(), [0.0, 1.0]))
    np.testing.assert_array_equal(
        gpu.simulate(perturb={gene: torch.tensor(0.0, device="cuda")}),
        gpu.simulate(perturb={gene: 0.0}))
    # a soft prior left on the CPU follows the CUDA field
    assert prior_loss(gpu.func, torch.eye(12), n_random=5).device.type == "cuda"
    back = GRNModel.load(gpu.save(tmp_path / "m.pt"), adata, device="cuda")
    assert {t.device.type for t in back.func.parameters()} == {"cuda"}
    np.testing.assert_array_equal(back.network().to_numpy(), gpu.network().to_numpy())


def test_a_device_this_machine_cannot_use_is_refused_by_name(planted, tmp_path):
    # "gpu" failed in torch's words ("Expected one of cpu, cuda, ipu, ..."), the meta device
    # was taken and failed in the fit, naming no argument; load(device=...) alike
    adata, prior = planted
    for device, said in (("gpu", "expected a torch device"), ("meta", "the meta device")):
        with pytest.raises(ValueError, match=rf"^device: {said}"):
            GRNModel(adata, time_key="time", trajectory_key="trajectory", device=device)
    path = GRNModel(adata, time_key="time", trajectory_key="trajectory", n_hidden=8,
                    seed=0).save(tmp_path / "m.pt")
    with pytest.raises(ValueError, match=r"^device: the meta device"):
        GRNModel.load(path, adata, device="meta")
    assert GRNModel.load(path, adata, device=torch.device("cpu")).device.type == "cpu"
