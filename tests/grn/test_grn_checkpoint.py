"""Fit checkpoints: an interrupted and resumed fit equals an uninterrupted one."""

from __future__ import annotations

import pytest
import torch

from biomodels.grn.dash import DashPruner
from biomodels.grn.odefunc import PhoenixODEFunc
from biomodels.grn.train import fit


class _Interrupt(Exception):
    pass


def _run(pairs, prior, *, epochs=21, stop_at=None, lr=1e-2, **kw):
    """DASH + soft prior (uses the random generator), 3 pruning rounds in 21 epochs."""
    func = PhoenixODEFunc(10, 6, dtype=torch.float64,
                          generator=torch.Generator().manual_seed(0))
    pruner = DashPruner("dash", prior=prior)

    def interrupt(epoch, record):
        if epoch == stop_at:
            raise _Interrupt

    history = fit(func, pairs, None, epochs=epochs, lr=lr, method="rk4",
                  options={"step_size": 0.5}, pruner=pruner, prior=prior, prior_weight=0.9,
                  n_random=50, batch_size=16, callback=interrupt, **kw)
    return func, pruner, history


@pytest.mark.parametrize("stop_at", [2, 12])  # before the first round; after the second
def test_resumed_fit_equals_uninterrupted(tiny, tmp_path, stop_at):
    pairs, prior = tiny
    ref_func, ref_pruner, ref_history = _run(pairs, prior)
    path = tmp_path / "fit.ckpt"
    with pytest.raises(_Interrupt):
        _run(pairs, prior, stop_at=stop_at, checkpoint=path, checkpoint_every=1)
    saved = torch.load(path, weights_only=True)
    assert saved["epoch"] == stop_at - 1  # the interrupted epoch is redone
    func, pruner, history = _run(pairs, prior, checkpoint=path, checkpoint_every=5)
    assert history == ref_history
    assert pruner.rounds == ref_pruner.rounds == 3
    for (name, a), b in zip(ref_func.state_dict().items(), func.state_dict().values()):
        assert torch.equal(a, b), name
    # pruned weights are still exactly zero after resuming
    params = dict(func.named_parameters())
    for name, mask in pruner.masks.masks.items():
        assert (params[name][~mask] == 0).all()


def test_finished_fit_resumes_to_the_same_result(tiny, tmp_path):
    pairs, prior = tiny
    path = tmp_path / "fit.ckpt"
    func, _, history = _run(pairs, prior, epochs=12, checkpoint=path)
    assert torch.load(path, weights_only=True)["epoch"] == 12
    again, _, history2 = _run(pairs, prior, epochs=12, checkpoint=path)
    assert history2 == history
    assert all(torch.equal(a, b) for a, b in zip(func.parameters(), again.parameters()))
    # a larger epoch budget continues from epoch 13
    _, _, longer = _run(pairs, prior, epochs=14, checkpoint=path)
    assert longer["epoch"] == [float(e) for e in range(1, 15)]


def test_checkpoint_of_other_settings_is_refused(tiny, tmp_path):
    pairs, prior = tiny
    path = tmp_path / "fit.ckpt"
    _run(pairs, prior, epochs=2, checkpoint=path)
    with pytest.raises(ValueError, match=r"other settings \(lr: saved 0.01, now 0.005\)"):
        _run(pairs, prior, epochs=4, lr=5e-3, checkpoint=path)
    junk = tmp_path / "junk.ckpt"
    junk.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="junk.ckpt"):
        _run(pairs, prior, epochs=2, checkpoint=junk)
    with pytest.raises(ValueError, match="checkpoint_every"):
        _run(pairs, prior, epochs=2, checkpoint=path, checkpoint_every=0)


def test_checkpoint_of_other_data_or_prior_is_refused(tiny, tmp_path):
    pairs, prior = tiny
    path = tmp_path / "fit.ckpt"
    _run(pairs, prior, epochs=2, checkpoint=path)
    other_prior = prior.clone()
    other_prior[0, 1] = -other_prior[0, 1] + 1.0
    with pytest.raises(ValueError, match=r"other settings \(prior: saved"):
        _run(pairs, other_prior, epochs=4, checkpoint=path)
    other_data = pairs.subset(torch.arange(len(pairs)))
    other_data.x1 = other_data.x1 + 1e-3
    with pytest.raises(ValueError, match=r"other settings \(data: saved"):
        _run(other_data, prior, epochs=4, checkpoint=path)


def test_checkpoint_with_more_epochs_than_asked_is_refused(tiny, tmp_path):
    # rerunning `prunus grn fit --epochs 3` over a 6-epoch checkpoint silently gave 6 epochs
    pairs, prior = tiny
    path = tmp_path / "fit.ckpt"
    _run(pairs, prior, epochs=6, checkpoint=path)
    with pytest.raises(ValueError, match=r"already holds 6 epochs, more than epochs=3"):
        _run(pairs, prior, epochs=3, checkpoint=path)
