"""Fit checkpoints: an interrupted and resumed fit equals an uninterrupted one."""

from __future__ import annotations

import numpy as np
import pandas as pd
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


def test_the_same_fit_writes_checkpoints_of_the_same_bytes(tiny, tmp_path):
    # torch.save to a path named the archive's inner folder after the random temporary
    # file of the atomic write, so two identical fits left checkpoints that differed
    pairs, prior = tiny
    _run(pairs, prior, epochs=2, checkpoint=tmp_path / "a.ckpt")
    _run(pairs, prior, epochs=2, checkpoint=tmp_path / "b.ckpt")
    assert (tmp_path / "a.ckpt").read_bytes() == (tmp_path / "b.ckpt").read_bytes()


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


def test_checkpoint_of_other_stopping_or_scheduler_settings_is_refused(tiny, tmp_path):
    # these change when a fit stops or how its learning rate falls; they resumed silently
    pairs, prior = tiny
    path = tmp_path / "fit.ckpt"
    _run(pairs, prior, epochs=2, checkpoint=path)
    for kw, key in (({"patience": 3}, "patience"), ({"min_rate": None}, "min_rate"),
                    ({"scheduler_patience": 1}, "scheduler")):
        with pytest.raises(ValueError, match=rf"other settings \({key}: saved"):
            _run(pairs, prior, epochs=4, checkpoint=path, **kw)
    # a checkpoint from before these were recorded still resumes
    payload = torch.load(path, weights_only=False)
    for key in ("patience", "min_rate", "scheduler"):
        del payload["signature"][key]
    torch.save(payload, path)
    _run(pairs, prior, epochs=4, checkpoint=path)


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


class _FailOnce:
    """``integrate`` that returns NaN on its ``when``-th call(s) only (diverged batches)."""

    def __init__(self, real, when):
        self.real, self.calls = real, 0
        self.when = {when} if isinstance(when, int) else set(when)

    def __call__(self, *args, **kwargs):
        self.calls += 1
        out = self.real(*args, **kwargs)
        return out * float("nan") if self.calls in self.when else out


def test_a_diverged_epoch_runs_again_at_a_third_of_the_learning_rate(tiny, monkeypatch):
    # a batch of epoch 1 diverges: the epoch restarts from its start at lr / 3, which is
    # exactly a fit begun at lr / 3 (same weights, Adam state, batch order and prior draws)
    import biomodels.grn.train as train_mod

    pairs, prior = tiny
    ref_func, _, ref_history = _run(pairs, prior, epochs=8, lr=1e-2 * train_mod._BACKOFF)
    monkeypatch.setattr(train_mod, "integrate", _FailOnce(train_mod.integrate, when=2))
    with pytest.warns(RuntimeWarning, match=r"epoch 1 diverged at learning rate 0.01 "
                                            r"\(non-finite loss at epoch 1\); it runs again "
                                            r"from its start at 0.00333"):
        func, _, history = _run(pairs, prior, epochs=8)
    # the same fit, whose history also says that epoch 1 was run again
    assert history.pop("retries") == [1.0] + [0.0] * 7 and ref_history.pop("retries") == [0.0] * 8
    assert history == ref_history
    for a, b in zip(ref_func.state_dict().values(), func.state_dict().values()):
        assert torch.equal(a, b)
    # the retry diverges too (calls 2 and 4 are the second batch of each try): two backoffs
    # from the same start, which is a fit begun at lr / 9
    ref_func, _, ref_history = _run(pairs, prior, epochs=8,
                                    lr=1e-2 * (train_mod._BACKOFF * train_mod._BACKOFF))
    monkeypatch.setattr(train_mod, "integrate", _FailOnce(train_mod.integrate.real, when=(2, 4)))
    with pytest.warns(RuntimeWarning, match="epoch 1 diverged") as caught:
        func, _, history = _run(pairs, prior, epochs=8)
    assert len(caught) == 2 and history.pop("retries") == [2.0] + [0.0] * 7
    ref_history.pop("retries")
    assert history == ref_history
    for a, b in zip(ref_func.state_dict().values(), func.state_dict().values()):
        assert torch.equal(a, b)


def test_backoffs_are_checkpointed_and_limited(tiny, tmp_path, monkeypatch):
    import biomodels.grn.train as train_mod

    pairs, prior = tiny
    real = train_mod.integrate
    # a backoff in epoch 5 (after the first pruning round), then resumed from a
    # checkpoint: the same as the uninterrupted fit; the next round resets the rates to lr / 3
    monkeypatch.setattr(train_mod, "integrate", _FailOnce(real, when=13))
    with pytest.warns(RuntimeWarning, match="epoch 5 diverged"):
        ref_func, _, ref_history = _run(pairs, prior, epochs=21)
    assert ref_history["pruned"][9] == 1.0 and ref_history["lr"][9] == pytest.approx(1e-2 / 3)
    path = tmp_path / "fit.ckpt"
    monkeypatch.setattr(train_mod, "integrate", _FailOnce(real, when=13))
    with pytest.warns(RuntimeWarning, match="epoch 5 diverged"), pytest.raises(_Interrupt):
        _run(pairs, prior, epochs=21, stop_at=6, checkpoint=path, checkpoint_every=1)
    assert torch.load(path, weights_only=True)["lr_scale"] == pytest.approx(1 / 3)
    monkeypatch.setattr(train_mod, "integrate", real)
    func, _, history = _run(pairs, prior, epochs=21, checkpoint=path)
    assert history == ref_history
    assert all(torch.equal(a, b) for a, b in zip(ref_func.parameters(), func.parameters()))
    # a fit that keeps diverging gives up after 4 backoffs, with the solver's error
    monkeypatch.setattr(train_mod, "integrate", lambda *a, **k: real(*a, **k) * float("nan"))
    with pytest.warns(RuntimeWarning) as caught, \
            pytest.raises(train_mod.SolverDivergedError, match="non-finite loss at epoch 1"):
        _run(pairs, prior, epochs=3)
    assert len(caught) == train_mod._MAX_BACKOFFS


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_numpy_scalar_settings_leave_files_that_load(tmp_path):
    # torch.load(weights_only=True) refused numpy scalars: a prior_weight from np.linspace
    # or an np.float64 lr made model.pt unreadable and the checkpoint impossible to resume
    from biomodels.grn import GRNModel, PruningSchedule, simulate_hill_network

    adata = simulate_hill_network(5, n_trajectories=3, n_timepoints=4, seed=0)
    kw = dict(pruning="dash", method="rk4", step_size=np.float64(0.5), lr=np.float64(1e-2),
              prior_weight=np.linspace(0.9, 1.0, 3)[1], batch_size=np.int64(8),
              lambda_ppi=np.float32(0.05), progress=False,
              schedule=PruningSchedule(first_epoch=2, first_fraction=np.float64(0.5)),
              checkpoint=tmp_path / "fit.ckpt")

    def model():
        return GRNModel(adata, time_key="time", trajectory_key="trajectory", prior="truth",
                        n_hidden=3)

    first = model()
    first.train(3, **kw)
    resumed = model()
    resumed.train(3, **kw)  # read the finished checkpoint back
    assert resumed.history == first.history
    loaded = GRNModel.load(first.save(tmp_path / "m.pt"))
    pd.testing.assert_frame_equal(loaded.network(), first.network())
    assert loaded.settings["prior_weight"] == first.settings["prior_weight"]


def test_zero_dim_array_settings_leave_a_checkpoint_that_resumes(tiny, tmp_path):
    # an lr or step size given as a 0-d array passed the checks as a number and went into
    # the checkpoint as an array, which torch.load(weights_only=True) refused on resume
    pairs, prior = tiny
    path = tmp_path / "fit.ckpt"
    _, _, history = _run(pairs, prior, epochs=2, lr=np.array(1e-2), checkpoint=path)
    saved = torch.load(path, weights_only=True)
    assert saved["signature"]["lr"] == 1e-2 and type(saved["signature"]["lr"]) is float
    _, _, again = _run(pairs, prior, epochs=2, lr=np.array(1e-2), checkpoint=path)
    assert again == history


def test_a_cut_checkpoint_says_so_and_how_to_start_afresh(tiny, tmp_path):
    # torch's "PytorchStreamReader failed reading zip archive: failed finding central
    # directory. This is an internal miniz error" said neither what was wrong nor what to do
    pairs, truth = tiny
    path = tmp_path / "fit.ckpt"
    _run(pairs, truth, epochs=3, checkpoint=path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"fit.ckpt' cannot be read \(delete it to start the "
                       r"fit afresh\): it is not a complete file written by torch.save; it "
                       r"was cut short") as err:
        _run(pairs, truth, epochs=3, checkpoint=path)
    assert "miniz" not in str(err.value)


def test_a_damaged_checkpoint_is_refused_not_resumed(tiny, tmp_path, damage):
    # torch.load does not check the zip records' CRC-32s: a checkpoint damaged on disk was
    # resumed from, and `prunus grn fit` then failed with "the ODE solver diverged ... try
    # another --seed or a lower --lr", which pointed away from the file
    pairs, truth = tiny
    path = tmp_path / "fit.ckpt"
    _run(pairs, truth, epochs=3, checkpoint=path)
    damage(path)
    torch.load(path, weights_only=True)  # torch reads it without a word
    with pytest.raises(ValueError, match=r"fit.ckpt' cannot be read \(delete it to start the "
                       r"fit afresh\): it is damaged: its record '.*' does not match the "
                       r"CRC-32 checksum saved with it"):
        _run(pairs, truth, epochs=3, checkpoint=path)


def test_a_checkpoint_without_a_field_names_it(tiny, tmp_path):
    # a checkpoint of the right format without "generator" failed with a bare KeyError
    pairs, truth = tiny
    path = tmp_path / "fit.ckpt"
    _run(pairs, truth, epochs=2, checkpoint=path)
    payload = torch.load(path, weights_only=False)
    del payload["generator"]
    torch.save(payload, path)
    with pytest.raises(ValueError, match=r"fit.ckpt' lacks the fields \['generator'\]: it "
                       r"was damaged or not written by this fit \(delete it"):
        _run(pairs, truth, epochs=3, checkpoint=path)


def _interrupted_in_epoch_3(m, path, kw, monkeypatch):
    """Train ``m`` 4 epochs with a checkpoint every epoch, stopped by Ctrl-C in epoch 3."""
    import biomodels.grn.train as train_mod

    real, calls = train_mod.evaluate_loss, []

    def interrupt(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train_mod, "evaluate_loss", interrupt)
    with pytest.raises(KeyboardInterrupt):
        m.train(4, checkpoint=path, checkpoint_every=1, **kw)
    monkeypatch.setattr(train_mod, "evaluate_loss", real)
    return m


def test_a_checkpoint_resumes_only_the_fit_that_started_from_the_same_weights(tmp_path,
                                                                               monkeypatch):
    # a Ctrl-C'd GRNModel.train resumes from its checkpoint, and the model it returned goes
    # on with it; but a model loaded from another fit took the checkpoint's weights
    # silently, throwing its own away
    import warnings

    from biomodels.grn import GRNModel, simulate

    adata = simulate.simulate_hill_network(6, n_trajectories=8, n_timepoints=4, seed=1)
    kw = {"pruning": "none", "method": "rk4", "step_size": 0.5, "progress": False}

    def model():
        return GRNModel(adata, time_key="time", trajectory_key="trajectory", n_hidden=3)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # poor-fit warnings of a 4-epoch fit
        reference = model()
        reference.train(4, **kw)
        path = tmp_path / "fit.ckpt"
        m = _interrupted_in_epoch_3(model(), path, kw, monkeypatch)
        assert not m.is_trained and path.exists()
        m.train(4, checkpoint=path, **kw)
        assert m.history == reference.history
        pd.testing.assert_frame_equal(m.network(), reference.network())
        m.train(4, checkpoint=path, **kw)  # the finished cell run again: nothing to do
        assert m.history == reference.history
        pd.testing.assert_frame_equal(m.network(), reference.network())
        other = model()
        other.train(6, **kw)
        other.save(tmp_path / "other.pt")
        loaded = GRNModel.load(tmp_path / "other.pt", adata)
        with pytest.raises(ValueError, match=r"other settings \(initial_weights: saved"):
            loaded.train(4, checkpoint=path, **kw)
        pd.testing.assert_frame_equal(loaded.network(), other.network())


@pytest.mark.filterwarnings("ignore:the model explains")  # two epochs
def test_the_warning_of_a_diverged_epoch_points_at_the_callers_line(monkeypatch):
    # stacklevel=2 named model.py (GRNModel.train's call of the fit loop)
    import biomodels.grn.train as train_mod
    from biomodels.grn import GRNModel, simulate_hill_network

    adata = simulate_hill_network(5, n_trajectories=3, n_timepoints=4, seed=0)
    model = GRNModel(adata, time_key="time", trajectory_key="trajectory", n_hidden=3)
    monkeypatch.setattr(train_mod, "integrate", _FailOnce(train_mod.integrate, when=1))
    with pytest.warns(RuntimeWarning, match="epoch 1 diverged") as record:
        model.train(2, pruning="none", method="rk4", step_size=0.5, progress=False)
    assert [w.filename for w in record if w.category is RuntimeWarning] == [__file__]


def _run_held_out(pairs, *, patience, stop_at=None, checkpoint=None):
    """30 epochs with validation pairs: the plateau scheduler and early stopping act."""
    func = PhoenixODEFunc(10, 6, dtype=torch.float64,
                          generator=torch.Generator().manual_seed(0))

    def interrupt(epoch, record):
        if epoch == stop_at:
            raise _Interrupt

    history = fit(func, pairs, pairs, epochs=30, lr=0.05, method="rk4",
                  options={"step_size": 0.5}, batch_size=16, scheduler_patience=1,
                  patience=patience, callback=interrupt, checkpoint=checkpoint,
                  checkpoint_every=1)
    return func, history


@pytest.mark.parametrize("patience", [2, 3])
def test_a_fit_resumed_on_a_plateau_stops_and_slows_down_as_an_uninterrupted_one(
        tiny, tmp_path, patience):
    # epochs 28 and 29 do not improve on epoch 27: with patience 2 the fit stops at 29 and
    # keeps epoch 27's weights; with patience 3 the scheduler lowers the rate for epoch 30.
    # Both depend on the early-stopping count, the best loss and the scheduler's state
    # saved at epoch 28 (a resumed fit that started them afresh ran on, or did not slow)
    pairs, _ = tiny
    ref_func, ref_history = _run_held_out(pairs, patience=patience)
    assert len(ref_history["epoch"]) == (29 if patience == 2 else 30)
    if patience == 3:
        assert ref_history["lr"][-1] == pytest.approx(0.05 * 0.9)
    path = tmp_path / "fit.ckpt"
    with pytest.raises(_Interrupt):
        _run_held_out(pairs, patience=patience, stop_at=29, checkpoint=path)
    func, history = _run_held_out(pairs, patience=patience, checkpoint=path)
    assert history == ref_history
    assert all(torch.equal(a, b) for a, b in zip(ref_func.parameters(), func.parameters()))
    # a fit that stopped early is finished: run again with its checkpoint, it trains no more
    again, history2 = _run_held_out(pairs, patience=patience, checkpoint=path)
    assert history2 == ref_history
    assert all(torch.equal(a, b) for a, b in zip(ref_func.parameters(), again.parameters()))


def test_save_and_load_checkpoint_round_trip_every_field_of_the_loop_state(tmp_path):
    # fields a short fit leaves at their defaults: a load that dropped one passed the tests
    # above (e.g. the backoffs, whose limit then started afresh on every resume)
    from biomodels.grn.checkpoint import FitState, load_checkpoint, save_checkpoint

    def objects():
        func = PhoenixODEFunc(4, 3, dtype=torch.float64,
                              generator=torch.Generator().manual_seed(0))
        opt = torch.optim.Adam(func.parameters(), lr=1e-2)
        return func, opt, torch.optim.lr_scheduler.ReduceLROnPlateau(opt), torch.Generator()

    func, opt, sched, gen = objects()
    best = {k: v + 1 for k, v in func.state_dict().items()}
    state = FitState(epoch=7, history={"val_loss": [0.5, 0.25]}, best_loss=0.25,
                     best_state=best, stale=3, stopped=True, backoffs=2, lr_scale=1 / 9)
    for loss in (1.0, 2.0):
        sched.step(loss)
    gen.manual_seed(11)
    path = save_checkpoint(tmp_path / "c.ckpt", state, signature={"lr": 1e-2}, func=func,
                           optimizer=opt, scheduler=sched, generator=gen)
    func2, opt2, sched2, gen2 = objects()
    loaded = load_checkpoint(path, signature={"lr": 1e-2}, func=func2, optimizer=opt2,
                             scheduler=sched2, generator=gen2)
    assert {k: v for k, v in vars(loaded).items() if k != "best_state"} == {
        k: v for k, v in vars(state).items() if k != "best_state"}
    assert all(torch.equal(loaded.best_state[k], v) for k, v in best.items())
    assert sched2.state_dict() == sched.state_dict() and sched2.num_bad_epochs == 1
    assert torch.equal(gen2.get_state(), gen.get_state())


def _stopped_then_longer(pruning: str, tmp_path):
    """A fit stopped early (patience 0) at epoch 4 of 5, then trained to 20 from its file."""
    from biomodels.grn import GRNModel, simulate
    from biomodels.grn.dash import PruningSchedule

    adata = simulate.simulate_hill_network(8, n_trajectories=12, n_timepoints=5, seed=2)
    model = GRNModel(adata, time_key="time", trajectory_key="trajectory", prior="truth",
                     n_hidden=6, seed=0)
    settings = {"pruning": pruning, "schedule": PruningSchedule(first_epoch=1, every=2),
                "patience": 0, "method": "rk4", "step_size": 0.5, "progress": False,
                "checkpoint": tmp_path / "fit.ckpt"}
    model.train(5, **settings)
    first = dict(model.fit_info)
    model.train(20, **settings)
    return model, first


@pytest.mark.filterwarnings("ignore:the model explains:UserWarning")  # 4 epochs
def test_a_pruned_fit_going_on_from_a_stopped_fits_checkpoint_says_its_rounds_fell_short(
        tmp_path):
    # early stopping had ended the 5-epoch fit (after its last round, epoch 4); trained to
    # 20 epochs from its checkpoint, it trained no more and kept 3 rounds of the 10 that
    # 20 epochs schedule (sparsity 0.78 where a 20-epoch fit reaches 0.91), silently
    with pytest.warns(UserWarning, match=r"pruning='dash' made 3 of the 10 pruning rounds "
                                         r"that epochs=20 schedules \(it went on from the "
                                         r"checkpoint .* where the schedule prunes about 0.884"):
        model, first = _stopped_then_longer("dash", tmp_path)
    assert first["stopped_early"] is True and first["best_epoch"] == 4
    assert first["pruning_rounds"] == first["pruning_rounds_scheduled"] == 3
    info = model.fit_info
    assert info["stopped_early"] is True and model.settings["epochs_run"] == 4
    assert (info["pruning_rounds"], info["pruning_rounds_scheduled"]) == (3, 10)


@pytest.mark.filterwarnings("ignore:the model explains:UserWarning")  # 4 epochs
def test_an_unpruned_fit_going_on_from_a_stopped_fits_checkpoint_does_not_warn(tmp_path):
    model, first = _stopped_then_longer("none", tmp_path)  # no schedule to fall short of
    assert model.fit_info["stopped_early"] is True
    assert model.fit_info["pruning_rounds"] == model.fit_info["pruning_rounds_scheduled"] == 0




def test_a_resumed_fit_saves_the_model_file_of_an_uninterrupted_one_byte_for_byte(
        tmp_path, monkeypatch):
    # save_torch promises the same object the same bytes, yet after a resume model.pt
    # differed from an uninterrupted fit's (here from byte 2081 on) with every value equal:
    # the history's keys were torch.load's copies of the strings, and pickle, which writes
    # a string object once and refers back to it, wrote the settings' "lr" out again
    import warnings

    from biomodels.grn import GRNModel, PruningSchedule, simulate

    adata = simulate.simulate_hill_network(6, n_trajectories=8, n_timepoints=4, seed=1)
    kw = {"pruning": "dash", "schedule": PruningSchedule(first_epoch=1, every=2),
          "method": "rk4", "step_size": 0.5, "progress": False}

    def model():
        return GRNModel(adata, time_key="time", trajectory_key="trajectory", prior="truth",
                        n_hidden=3)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # poor-fit warnings of a 4-epoch fit
        reference = model()
        reference.train(4, **kw)
        path = tmp_path / "fit.ckpt"
        resumed = _interrupted_in_epoch_3(model(), path, kw, monkeypatch)
        assert torch.load(path, weights_only=True)["epoch"] == 2
        resumed.train(4, checkpoint=path, **kw)
    whole = reference.save(tmp_path / "whole.pt").read_bytes()
    assert resumed.save(tmp_path / "resumed.pt").read_bytes() == whole
    # and the order of the history's keys, which a checkpoint's copy also set
    assert list(resumed.history) == list(reference.history)
