"""The training loop as issue 4 specifies it: Adam with the gene rates at 5x the learning
rate, ReduceLROnPlateau recreated and the learning rates reset after each pruning round,
early stopping on the held-out loss only after the last round, and a tqdm progress bar."""

from __future__ import annotations

import math

import pytest
import torch

import biomodels.grn.train as train_mod
from biomodels.grn import DashPruner, GRNModel, PhoenixODEFunc, simulate
from biomodels.grn.train import fit, split_pairs
from core.grad_mode import _autocast_on

OPTIONS = {"method": "rk4", "options": {"step_size": 0.5}}


def _func(genes: int = 10) -> PhoenixODEFunc:
    return PhoenixODEFunc(genes, 6, dtype=torch.float64,
                          generator=torch.Generator().manual_seed(0))


def test_rates_get_5x_the_lr_and_each_round_resets_it_with_a_new_scheduler(tiny, monkeypatch):
    pairs, _ = tiny
    train, val = split_pairs(pairs, 0.25, seed=0)
    made = []

    class NeverImproves(torch.optim.lr_scheduler.ReduceLROnPlateau):
        """The real scheduler, told that no epoch improves, so it decays on its own clock."""

        def __init__(self, optimizer, **kwargs):
            super().__init__(optimizer, **kwargs)
            self.seen = []  # learning rates of both groups at the end of each epoch
            made.append(self)

        def step(self, metrics, *args, **kwargs):
            self.seen.append([g["lr"] for g in self.optimizer.param_groups])
            super().step(math.inf)

    monkeypatch.setattr(torch.optim.lr_scheduler, "ReduceLROnPlateau", NeverImproves)
    history = fit(_func(), train, val, epochs=12, lr=1e-2, pruner=DashPruner("imp"),
                  **OPTIONS)
    assert history["pruned"] == [0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0]  # epochs 3 and 10
    assert len(made) == 3  # one per stretch between rounds: recreated, not reused
    for scheduler in made:  # DASH's settings
        assert scheduler.factor == 0.9 and scheduler.patience == 3
        assert scheduler.min_lrs == [4e-5, 4e-5]
    seen = [lrs for scheduler in made for lrs in scheduler.seen]
    assert len(seen) == 12
    for weights_lr, rates_lr in seen:  # the gene rates g learn 5x faster throughout
        assert rates_lr == pytest.approx(5 * weights_lr)
    weights = [lrs[0] for lrs in seen]
    # epochs 3-9: decayed once after 4 epochs without gain (epoch 6), then reset at epoch 10
    assert weights[2:6] == pytest.approx([1e-2] * 4)
    assert weights[6:9] == pytest.approx([9e-3] * 3)
    assert weights[9] == pytest.approx(1e-2)
    # the history's lr is the one each epoch trained at (it showed the next epoch's:
    # 9e-3 at epoch 6, which ran at 1e-2 and only then decayed)
    assert history["lr"] == pytest.approx(weights)


def _worsening_val_loss(monkeypatch):
    calls = []

    def loss(*args, **kwargs):  # the held-out loss only gets worse after epoch 1
        calls.append(1)
        return float(len(calls))

    monkeypatch.setattr(train_mod, "evaluate_loss", loss)


def _snapshots(func):
    """Return a dict of the weights after each epoch and the ``fit`` callback that fills it."""
    snapshots = {}

    def keep(epoch, record):
        snapshots[epoch] = {k: v.clone() for k, v in func.state_dict().items()}

    return snapshots, keep


def test_early_stopping_restores_the_best_held_out_weights(tiny, monkeypatch):
    pairs, _ = tiny
    train, val = split_pairs(pairs, 0.25, seed=0)
    _worsening_val_loss(monkeypatch)
    func = _func()
    snapshots, keep = _snapshots(func)
    history = fit(func, train, val, epochs=50, patience=2, callback=keep, **OPTIONS)
    assert history["epoch"] == [1.0, 2.0, 3.0]  # 2 epochs without gain, then stop
    for name, value in func.state_dict().items():  # the weights of epoch 1, not 3
        torch.testing.assert_close(value, snapshots[1][name])
    assert not torch.equal(snapshots[1]["sum_in.weight"], snapshots[3]["sum_in.weight"])


def test_early_stopping_waits_for_the_last_pruning_round(tiny, monkeypatch):
    pairs, _ = tiny
    train, val = split_pairs(pairs, 0.25, seed=0)
    _worsening_val_loss(monkeypatch)
    history = fit(_func(), train, val, epochs=20, patience=2, pruner=DashPruner("imp"),
                  **OPTIONS)
    # rounds at epochs 3 and 10 (none at the last epoch); the stop comes 2 epochs after 10
    assert history["epoch"] == [float(e) for e in range(1, 13)]


@pytest.mark.filterwarnings("ignore:the model explains:UserWarning")  # 2 epochs
def test_train_shows_a_progress_bar_by_default(capsys):
    adata = simulate.simulate_hill_network(6, n_trajectories=4, n_timepoints=4, seed=0)
    model = GRNModel(adata, time_key="time", trajectory_key="trajectory", n_hidden=4)
    capsys.readouterr()
    model.train(2, pruning="none", method="rk4", step_size=0.5)
    assert "grn fit" in capsys.readouterr().err
    model.train(2, pruning="none", method="rk4", step_size=0.5, progress=False)
    assert "grn fit" not in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:the model explains:UserWarning")  # 1 epoch
def test_an_epoch_of_many_batches_shows_its_own_progress(capsys):
    # tens of thousands of cells make one epoch last minutes: the epoch bar alone sat still
    adata = simulate.simulate_hill_network(3, n_trajectories=30, n_timepoints=9, seed=0)
    model = GRNModel(adata, time_key="time", trajectory_key="trajectory", n_hidden=2)
    capsys.readouterr()
    model.train(1, pruning="none", method="rk4", step_size=0.5, batch_size=1)  # 216 batches
    err = capsys.readouterr().err
    assert "epoch 1" in err and "batch" in err
    model.train(1, pruning="none", method="rk4", step_size=0.5, batch_size=32)  # 7 batches
    assert "epoch 1" not in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:the model explains:UserWarning")  # 1 epoch
def test_defaults_are_dopri5_and_the_papers_dash_settings():
    adata = simulate.simulate_hill_network(6, n_trajectories=4, n_timepoints=4, seed=0)
    model = GRNModel(adata, time_key="time", trajectory_key="trajectory", n_hidden=4)
    model.train(1, pruning="none", progress=False)
    assert model.settings["method"] == "dopri5" and model.settings["adjoint"] is False
    pruner = DashPruner("dash", prior=torch.eye(6))
    assert (pruner.lambda_ppi, pruner.lambda_motif) == (0.05, 0.01)
    sch = pruner.schedule  # first cut 70 % at epoch 3, then 10 % every 10 epochs
    assert (sch.first_epoch, sch.first_fraction, sch.every, sch.fraction) == (3, 0.7, 10, 0.1)


@pytest.mark.filterwarnings("ignore:the model explains:UserWarning")  # 3 epochs
@pytest.mark.parametrize("pruning, used", [("imp", (0.0, 0.0)), ("prior", (1.0, 1.0)),
                                           ("dash", (0.05, 0.01))])
def test_the_settings_record_the_prior_weights_the_pruner_used(pruning, used):
    # "imp" prunes with lambda = 0 and "prior" with lambda = 1 whatever was passed, yet
    # settings (and uns["grn"], the saved model) recorded the defaults 0.05 / 0.01
    adata = simulate.simulate_hill_network(6, n_trajectories=4, n_timepoints=4, seed=0)
    model = GRNModel(adata, time_key="time", trajectory_key="trajectory", prior="truth",
                     n_hidden=4)
    model.train(3, pruning=pruning, method="rk4", step_size=0.5, progress=False)
    assert (model.pruner.lambda_ppi, model.pruner.lambda_motif) == used
    assert (model.settings["lambda_ppi"], model.settings["lambda_motif"]) == used
    info = model.write_results(adata.copy())
    assert (info["settings"]["lambda_ppi"], info["settings"]["lambda_motif"]) == used


@pytest.mark.filterwarnings("ignore:the model explains:UserWarning")  # 3 epochs
@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode],
                         ids=["no_grad", "inference_mode"])
def test_train_works_inside_the_callers_no_grad_block(mode, tiny):
    # train differentiates the loss itself: under the caller's no_grad it failed with
    # torch's "element 0 of tensors does not require grad" (also the lower-level fit)
    pairs, _ = tiny
    train, val = split_pairs(pairs, 0.25, seed=0)
    low = fit(_func(), train, val, epochs=2, **OPTIONS)
    func = _func()  # a module made inside inference_mode has weights autograd refuses
    with mode():
        low_inside = fit(func, train, val, epochs=2, **OPTIONS)
    assert low_inside["train_loss"] == pytest.approx(low["train_loss"], rel=1e-10)
    ad = simulate.simulate_hill_network(6, n_trajectories=4, n_timepoints=5, seed=5)
    settings = {"pruning": "none", "method": "rk4", "step_size": 0.5, "progress": False}
    plain = GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=4, seed=0)
    history = plain.train(3, **settings)
    model = GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=4, seed=0)
    with mode():
        inside = model.train(3, **settings)
    assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()
    assert inside["train_loss"] == pytest.approx(history["train_loss"], rel=1e-6)
    assert history["train_loss"][-1] < history["train_loss"][0]  # it trained
    assert (model.network() - plain.network()).abs().max().max() < 1e-6


@pytest.mark.filterwarnings("ignore:the model explains:UserWarning")  # 3 epochs
def test_train_simulate_and_network_ignore_the_callers_autocast():
    # under the caller's torch.autocast("cpu", dtype=torch.bfloat16) the float32 model was
    # fitted, simulated and read out in bfloat16 while its settings said float32: the
    # network moved by up to 0.2 (AUROC 0.78 -> 0.55 on krumsiek11), a simulation by 6e-4.
    # Results follow the model's dtype: the same bits inside autocast as outside
    import numpy as np

    ad = simulate.simulate_hill_network(6, n_trajectories=4, n_timepoints=5, seed=5)
    settings = {"pruning": "dash", "method": "rk4", "step_size": 0.5, "progress": False}
    prior = ad.varp["truth"]

    def model() -> GRNModel:
        return GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=8, seed=0,
                        prior=prior, dtype=torch.float32)

    plain = model()
    history = plain.train(3, **settings)
    inside = model()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        history_inside = inside.train(3, **settings)
        network, simulated = plain.network(), plain.simulate(perturb={ad.var_names[0]: 0.0})
        evaluated = plain.evaluate(prior)
    assert not _autocast_on("cpu")  # the caller's autocast ended as usual
    assert inside.settings["dtype"] == "float32"
    assert history_inside == history
    np.testing.assert_array_equal(inside.network().to_numpy(), plain.network().to_numpy())
    np.testing.assert_array_equal(network.to_numpy(), plain.network().to_numpy())
    np.testing.assert_array_equal(simulated, plain.simulate(perturb={ad.var_names[0]: 0.0}))
    np.testing.assert_equal(evaluated, plain.evaluate(prior))  # NaN where nothing to rank
    # the lower-level fit too
    pairs = train_mod.make_pairs(torch.as_tensor(ad.X, dtype=torch.float32),
                                 torch.tensor(ad.obs["time"].to_numpy(copy=True)),
                                 torch.tensor(ad.obs["trajectory"].cat.codes.to_numpy(copy=True)))
    low = fit(PhoenixODEFunc(6, 6, generator=torch.Generator().manual_seed(0)), pairs, epochs=2,
              **OPTIONS)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low_inside = fit(PhoenixODEFunc(6, 6, generator=torch.Generator().manual_seed(0)),
                         pairs, epochs=2, **OPTIONS)
    assert low_inside == low


def test_split_holds_out_the_rounded_share_of_trajectories():
    """0.18 of 10 trajectories rounds to 2 held out (truncation held out 1)."""
    traj = torch.arange(10).repeat_interleave(3)
    x = torch.rand(30, 2, generator=torch.Generator().manual_seed(0))
    pairs = train_mod.Pairs(x, x, torch.ones(30), traj)
    _, val = split_pairs(pairs, 0.18, seed=0)
    assert val is not None and torch.unique(val.trajectory).numel() == 2


def test_fit_without_training_pairs_names_the_cause():
    # pins fit's refusal of an empty training set: a pair needs two time points of one
    # trajectory (dt > 0), so one cell per trajectory, or cells all at one time, make none;
    # the refusal comes before any step, the weights as they were
    x = torch.rand(4, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    alone = train_mod.make_pairs(x, torch.tensor([0.0, 1.0, 2.0, 3.0]), torch.arange(4))
    same_time = train_mod.make_pairs(x, torch.zeros(4, dtype=torch.float64),
                                     torch.zeros(4, dtype=torch.int64))
    func = _func()
    start = [p.detach().clone() for p in func.parameters()]
    for pairs in (alone, same_time):
        assert len(pairs) == 0
        with pytest.raises(ValueError, match="no training pairs: every trajectory needs at "
                                             "least two time points"):
            fit(func, pairs, epochs=1, progress=False, **OPTIONS)
    assert all(torch.equal(p, q) for p, q in zip(func.parameters(), start))


def test_prior_weight_zero_fits_the_prior_alone(tiny):
    """loss = w MSE_data + (1 - w) MSE_prior: at w = 0 the data must not move the weights."""
    pairs, truth = tiny
    shuffled = train_mod.Pairs(pairs.x0, pairs.x1.flip(0), pairs.dt, pairs.trajectory)
    weights = []
    for data in (pairs, shuffled):
        func = PhoenixODEFunc(10, 8, generator=torch.Generator().manual_seed(0)).double()
        fit(func, data, epochs=1, method="rk4", options={"step_size": 0.5},
            prior=truth.abs(), prior_weight=0.0, seed=0)
        weights.append(torch.cat([p.detach().reshape(-1) for p in func.parameters()]))
    start = torch.cat([p.detach().reshape(-1) for p in PhoenixODEFunc(
        10, 8, generator=torch.Generator().manual_seed(0)).double().parameters()])
    assert not torch.equal(weights[0], start)  # it trained
    torch.testing.assert_close(weights[0], weights[1], rtol=0, atol=1e-12)


def test_the_history_records_each_learning_rate_cut(tiny, monkeypatch):
    # the plateau scheduler's cuts were not recorded: the lr history shows a cut only in the
    # epoch after it (not the one after the last epoch) and not one a pruning round undoes
    pairs, _ = tiny
    train, val = split_pairs(pairs, 0.25, seed=0)
    _worsening_val_loss(monkeypatch)
    history = fit(_func(), train, val, epochs=50, patience=5, scheduler_patience=1,
                  lr=1e-2, **OPTIONS)
    assert history["epoch"] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    # 2 epochs without gain, then a cut (after epochs 3 and 5); early stop after 5
    assert history["lr_cut"] == [0.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    assert history["lr"] == pytest.approx([1e-2, 1e-2, 1e-2, 9e-3, 9e-3, 8.1e-3])
    assert history["retries"] == [0.0] * 6  # no epoch diverged
    assert train_mod._kept_epoch(history) == 1


def test_the_kept_epoch_read_from_the_history_is_the_one_restored(tiny, monkeypatch):
    # with rounds at epochs 3 and 10 the best held-out loss since the last round is epoch
    # 10's: its weights (after that round, so the sparsity reported is the model's) are kept
    pairs, _ = tiny
    train, val = split_pairs(pairs, 0.25, seed=0)
    _worsening_val_loss(monkeypatch)
    func = _func()
    snapshots, keep = _snapshots(func)
    history = fit(func, train, val, epochs=20, patience=2, pruner=DashPruner("imp"),
                  callback=keep, **OPTIONS)
    assert len(history["epoch"]) == 12 and train_mod._kept_epoch(history) == 10
    for name, value in func.state_dict().items():
        torch.testing.assert_close(value, snapshots[10][name])
    assert history["density"][9] == history["density"][-1]  # no round after the kept one


def test_a_validation_loss_that_is_not_finite_is_a_divergence(tiny):
    # only the training loss was checked: held-out pairs whose gaps were too wide for the
    # fixed step gave a NaN validation loss while training went on, NaN < best was False, so
    # no epoch became the best and the fit ended on the diverged weights, without a word
    # (pbmc68k dpt lineage, RK4 steps of 2 time units: NaN from epoch 6 to 60, R^2 NaN).
    # Known answer: held-out gaps 1000 times the training ones (2,000 time units) blow up
    # RK4 whatever the rate, so the 4 retries diverge too and the fit gives up
    pairs, _ = tiny
    train, val = split_pairs(pairs, 0.25, seed=0)
    wide = train_mod.Pairs(val.x0, val.x1, val.dt * 1000, val.trajectory)
    func = _func()
    with pytest.warns(RuntimeWarning, match=r"epoch 1 diverged at learning rate [\d.]+ "
                      r"\(non-finite validation loss at epoch 1, with a finite training loss "
                      r"of 0\.\d+\); it runs again") as caught, \
            pytest.raises(train_mod.SolverDivergedError,
                          match=r"^non-finite validation loss at epoch 1, with a finite "
                          r"training loss of 0\.\d+; try a lower learning rate, or a smaller "
                          r"step_size \(the fixed step is step_size x dt, largest dt here "
                          r"2e\+03\)$"):
        fit(func, train, wide, epochs=3, **OPTIONS)
    assert len(caught) == train_mod._MAX_BACKOFFS
    assert "at learning rate 0.01 " in str(caught[0].message)


def test_a_validation_loss_not_finite_once_runs_the_epoch_again(tiny, monkeypatch):
    # a held-out loss that diverges once is a diverged epoch, as a training loss is: the
    # epoch runs again from its start at a third of the rate, which is a fit begun there
    pairs, _ = tiny
    train, val = split_pairs(pairs, 0.25, seed=0)
    ref_func = _func()
    ref = fit(ref_func, train, val, epochs=4, lr=1e-2 * train_mod._BACKOFF, **OPTIONS)
    real, calls = train_mod.evaluate_loss, []

    def nan_once(*args, **kwargs):
        calls.append(1)
        return math.nan if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(train_mod, "evaluate_loss", nan_once)
    func = _func()
    with pytest.warns(RuntimeWarning, match=r"epoch 1 diverged at learning rate 0\.01 "
                                            r"\(non-finite validation loss at epoch 1"):
        history = fit(func, train, val, epochs=4, **OPTIONS)
    assert history.pop("retries") == [1.0, 0.0, 0.0, 0.0] and ref.pop("retries") == [0.0] * 4
    assert history == ref and all(math.isfinite(v) for v in history["val_loss"])
    assert all(torch.equal(a, b) for a, b in zip(ref_func.state_dict().values(),
                                                 func.state_dict().values()))


def _spread(time_scale: float) -> GRNModel:
    # consecutive observations 6 time units apart (t_max=30 over 6 time points)
    ad = simulate.simulate_hill_network(8, n_trajectories=12, n_timepoints=6, t_max=30, seed=1)
    return GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=4, seed=0,
                    time_scale=time_scale)


@pytest.mark.filterwarnings("ignore:the model explains none")  # one epoch of a poor step
def test_a_fixed_step_method_without_step_size_warns_and_step_size_needs_one():
    # rk4 without step_size took one step per gap (6 time units) without a word, and
    # dopri5 with step_size=5 advised "an adaptive method (dopri5)" while torchdiffeq
    # ignored the step and the settings recorded it
    m = _spread(1.0)
    with pytest.warns(UserWarning, match=r"method='rk4' without step_size takes one fixed "
                                         r"step per gap, of up to 6 time units"):
        m.train(1, pruning="none", method="rk4", progress=False)
    with pytest.raises(ValueError, match=r"step_size=5.0 is for a fixed-step method, but "
                                         r"method='dopri5'"):
        m.train(1, pruning="none", method="dopri5", step_size=5.0, progress=False)


def test_a_failed_adjoint_backward_solve_is_a_diverged_epoch(monkeypatch):
    # the reverse-time solve of adjoint=True raised torchdiffeq's bare AssertionError
    # ("underflow in dt 6.0e-18", train(1, adjoint=True) at time_scale=50) where the forward
    # solve's failure was translated; odeint_adjoint calls odeint for both solves
    from torchdiffeq._impl import adjoint

    from biomodels.grn import SolverDivergedError

    real = adjoint.odeint

    def backward_fails(func, y0, t, **kwargs):
        if t[0] > t[-1]:  # the adjoint's reverse-time solve
            raise AssertionError("underflow in dt 6.0e-18")
        return real(func, y0, t, **kwargs)

    monkeypatch.setattr(adjoint, "odeint", backward_fails)
    pairs = tiny_pairs()
    with pytest.warns(RuntimeWarning, match=r"reverse-time"):
        with pytest.raises(SolverDivergedError, match=r"underflow in dt 6.0e-18.*adjoint=False"):
            fit(_func(), pairs, None, epochs=1, adjoint=True)


def tiny_pairs():
    ad = simulate.simulate_hill_network(10, n_trajectories=4, n_timepoints=3, seed=5)
    x = torch.as_tensor(ad.X, dtype=torch.float64)
    return train_mod.make_pairs(x, torch.tensor(ad.obs["time"].to_numpy(copy=True)),
                                torch.tensor(ad.obs["trajectory"].cat.codes.to_numpy(copy=True)))


def test_training_shows_no_bars_with_standard_error_closed(monkeypatch):
    # with sys.stderr None (2>&-) the first write of either tqdm bar failed the fit
    import sys

    monkeypatch.setattr(train_mod, "_BATCH_BAR", 1)  # the per-batch bar too
    monkeypatch.setattr(sys, "stderr", None)
    history = fit(_func(), tiny_pairs(), None, epochs=1, progress=True, **OPTIONS)
    assert len(history["epoch"]) == 1
