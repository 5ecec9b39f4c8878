"""DASH pruning: schedule, scores, prior best guesses, baselines and planted-truth recovery."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from biomodels.grn import GRNModel, PhoenixODEFunc, simulate
from biomodels.grn.dash import (
    DashPruner,
    PruningSchedule,
    _score_seed,
    combine_scores,
    coregulation,
    data_scores,
    prior_guesses,
)
from biomodels.grn.odefunc import PRUNABLE
from biomodels.grn.train import fit

# Fits of a few epochs on tiny data explain little of the held-out dynamics and say so; the
# warning itself is tested in test_grn_model.py and test_grn_model_krumsiek.py.
pytestmark = [pytest.mark.filterwarnings("ignore:the model explains:UserWarning"),
              pytest.mark.filterwarnings("ignore:the soft prior outweighs:UserWarning")]


#: tiny ODE fits, where intra-op threads only spin: one thread (tests/grn/conftest.py)
ONE_THREAD = True


def _random_func(g: int, h: int, seed: int = 0, dtype=torch.float64) -> PhoenixODEFunc:
    gen = torch.Generator().manual_seed(seed)
    func = PhoenixODEFunc(g, h, dtype=dtype, generator=gen)
    with torch.no_grad():
        for p in func.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=dtype))
    return func


def _prior(g: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    p = (torch.rand(g, g, generator=gen) < 0.2).double()
    return p * torch.sign(torch.randn(g, g, generator=gen, dtype=torch.float64))


# ---------------------------------------------------------------- schedule
def test_schedule_rounds_and_closed_form():
    s = PruningSchedule()
    rounds = [e for e in range(1, 201) if s.is_round(e)]
    assert rounds == [3] + list(range(10, 201, 10))
    assert s.rounds_by(200) == 21 and s.last_round_epoch(55) == 50
    assert s.sparsity_after(1) == pytest.approx(0.7)
    assert s.sparsity_after(20) == pytest.approx(1 - 0.3 * 0.9**19)
    with pytest.raises(ValueError, match=r"first_fraction must be in \[0, 1\), got 1.0"):
        PruningSchedule(first_fraction=1.0)


@pytest.mark.parametrize("kwargs,match", [
    ({"first_epoch": 1.5}, "first_epoch"),  # matched no epoch: the first cut never came
    ({"every": 2.5}, "every"),  # rounds at epochs 5, 10, 15, ...
    ({"first_epoch": "3"}, "first_epoch"),  # was "'<' not supported between str and int"
    ({"fraction": "0.1"}, "fraction"),
    ({"first_epoch": True}, "first_epoch"),
])
def test_schedule_epochs_must_be_integers(kwargs, match):
    with pytest.raises(TypeError, match=match):
        PruningSchedule(**kwargs)
    assert PruningSchedule(first_epoch=np.int64(2), fraction=np.float32(0.5)).is_round(2)


def test_schedule_counts_need_integer_epochs_and_settings_are_python_numbers():
    # last_round_epoch(50.0) failed inside range() with a message naming no argument
    s = PruningSchedule()
    with pytest.raises(TypeError, match="max_epochs must be an integer"):
        s.last_round_epoch(50.0)
    with pytest.raises(TypeError, match="epoch must be an integer"):
        s.rounds_by(50.0)
    assert s.last_round_epoch(np.int64(55)) == 50 and s.rounds_by(np.int64(20)) == 3
    # numpy scalars were kept as given, and model.settings["schedule"] failed json.dumps
    n = PruningSchedule(first_epoch=np.int64(2), first_fraction=np.float32(0.5),
                        every=np.int32(5), fraction=np.float64(0.25))
    values = [n.first_epoch, n.first_fraction, n.every, n.fraction]
    assert values == [2, 0.5, 5, 0.25]
    assert [type(v) for v in values] == [int, float, int, float]


@pytest.mark.parametrize("g,h,first_fraction", [(1, 1, 0.7), (2, 2, 0.9)])
def test_a_tiny_layer_keeps_a_weight(g, h, first_fraction):
    # 0.7 of 1 weight (or 0.9 of 4) rounded to the whole layer and zeroed the network,
    # although a fraction < 1 never prunes everything by the closed form
    func = _random_func(g, h)
    pruner = DashPruner("imp", schedule=PruningSchedule(first_fraction=first_fraction))
    pruner.prune(func, first_fraction)
    pruner.prune(func, 0.1)
    for n in PRUNABLE:
        assert int(pruner.masks[n].sum()) == 1


@pytest.mark.parametrize("method", ["dash", "imp", "prior"])
def test_sparsity_after_n_rounds(method):
    func = _random_func(12, 10)
    pruner = DashPruner(method, prior=_prior(12))
    sched = pruner.schedule
    previous = None
    for n in range(1, 13):
        pruner.prune(func, sched.first_fraction if n == 1 else sched.fraction)
        expected = sched.sparsity_after(n)
        for name, dens in pruner.masks.layer_density().items():
            numel = pruner.masks[name].numel()
            assert 1 - dens == pytest.approx(expected, abs=n / numel), (n, name)
        if previous is not None:  # pruned entries are never revived
            for name in PRUNABLE:
                assert not (pruner.masks[name] & ~previous[name]).any()
        previous = {k: v.clone() for k, v in pruner.masks.items()}
        params = dict(func.named_parameters())
        for name in PRUNABLE:
            assert (params[name][~pruner.masks[name]] == 0).all()


# ---------------------------------------------------------------- scores
def test_data_scores_follow_the_paper():
    func = _random_func(5, 4)
    s = data_scores(func)
    rate = torch.relu(func.gene_rates)[:, None]
    torch.testing.assert_close(s["sum_in.weight"], func.sum_in.weight.abs())
    torch.testing.assert_close(s["prod_in.weight"], torch.exp(func.prod_in.weight))
    torch.testing.assert_close(s["sum_out.weight"], func.sum_out.weight.abs() * rate)
    torch.testing.assert_close(s["prod_out.weight"], func.prod_out.weight.abs() * rate)


def test_prior_guesses_equal_normal_equations_when_invertible():
    g, h = 9, 4  # h < G: S S^T invertible, the paper's formulas apply as written
    gen = torch.Generator().manual_seed(1)
    s_in = {n: torch.rand(h, g, generator=gen, dtype=torch.float64)
            for n in ("sum_in.weight", "prod_in.weight")}
    p = _prior(g, 2)
    q = coregulation(p)
    assert float(q.sum()) == pytest.approx(1.0)
    out = prior_guesses(s_in, None, p, q)
    for n in ("sum_in.weight", "prod_in.weight"):
        s = s_in[n]
        expected = torch.linalg.solve(s @ s.T, s @ q)  # (S S^T)^-1 S Q
        torch.testing.assert_close(out[n], expected.abs())
    for n, src in (("sum_out.weight", "sum_in.weight"), ("prod_out.weight", "prod_in.weight")):
        s = s_in[src]
        expected = (s @ p.abs()).T @ torch.linalg.inv(s @ s.T)  # (S|P|)^T (S S^T)^-1
        torch.testing.assert_close(out[n], expected.abs())


def test_prior_guesses_of_input_layers_use_q_as_given_not_transposed():
    # without a PPI Q = |P||P|^T is symmetric, so Q and Q^T gave the same guesses; a
    # user's PPI need not be: (S S^T)^-1 S Q with Q read as given
    g, h = 6, 3
    gen = torch.Generator().manual_seed(2)
    s = torch.rand(h, g, generator=gen, dtype=torch.float64)
    q = torch.triu(torch.rand(g, g, generator=gen, dtype=torch.float64))
    out = prior_guesses({"sum_in.weight": s, "prod_in.weight": s}, None, _prior(g, 2), q)
    expected = torch.linalg.solve(s @ s.T, s @ q).abs()
    torch.testing.assert_close(out["sum_in.weight"], expected)
    assert not torch.allclose(expected, torch.linalg.solve(s @ s.T, s @ q.T).abs())


def test_prior_guesses_solve_least_squares_when_singular():
    g, h = 5, 12  # h > G (krumsiek-like): S S^T is singular; pinv gives the LS solution
    gen = torch.Generator().manual_seed(3)
    s = torch.rand(h, g, generator=gen, dtype=torch.float64)
    p = _prior(g, 4)
    q = coregulation(p)
    x = torch.linalg.pinv(s.T) @ q
    out = prior_guesses({"sum_in.weight": s, "prod_in.weight": s}, None, p, q)
    torch.testing.assert_close(out["sum_in.weight"], x.abs())
    # normal equations S S^T X = S Q hold
    torch.testing.assert_close(s @ s.T @ x, s @ q, atol=1e-10, rtol=1e-8)


def test_combined_score_normalisation():
    data = torch.tensor([[1.0, 3.0], [4.0, 2.0]])
    guess = torch.tensor([[10.0, 0.0], [0.0, 30.0]])
    alive = torch.tensor([[True, True], [True, False]])
    # the default scores unpruned entries only; the DASH code scores the whole matrix: the
    # data term over all entries, both kept at the pruned one (the next round's guesses
    # start from these scores)
    default = combine_scores(data, guess, 0.1, alive=alive)
    torch.testing.assert_close(default, 0.1 * guess * alive + 0.9 * data * alive / 8.0)
    ref = combine_scores(data, guess, 0.1, alive=alive, normalize="reference")
    torch.testing.assert_close(ref, 0.1 * guess + 0.9 * data / 10.0)
    norm = combine_scores(data, guess, 0.1, alive=alive, normalize="sum")
    torch.testing.assert_close(norm, 0.1 * guess * alive / 10.0 + 0.9 * data * alive / 8.0)
    assert float(norm.sum()) == pytest.approx(1.0)


def _reference_rounds(func, prior, amounts, lam_ppi, lam_motif, s0, nudge):
    """A transcription of train_DASH_simu.py's pruning (torch prune, inverse, no masking)."""
    import copy

    from torch.nn.utils import prune

    f = copy.deepcopy(func)
    q = prior.abs() @ prior.abs().T
    q = q / q.sum()
    layers = {"sum_in.weight": f.sum_in, "prod_in.weight": f.prod_in,
              "sum_out.weight": f.sum_out, "prod_out.weight": f.prod_out}
    scores = dict(s0)
    masks = []

    def weight(layer):  # weight_orig * mask (torch prune refreshes .weight only on forward)
        return (layer.weight_orig * layer.weight_mask if hasattr(layer, "weight_mask")
                else layer.weight).detach()

    for r, amount in enumerate(amounts):
        rate = torch.relu(f.gene_rates.detach())[:, None]
        for name in ("sum_in.weight", "prod_in.weight"):
            w = weight(layers[name])
            d = w.abs() if name == "sum_in.weight" else torch.exp(w)
            d = d / d.sum()
            s = scores[name]
            guess = torch.inverse(s @ s.T) @ (s @ q)
            scores[name] = lam_ppi * guess.abs() + (1 - lam_ppi) * d
            prune.l1_unstructured(layers[name], "weight", amount=amount,
                                  importance_scores=scores[name])
        for name, incoming in (("sum_out.weight", "sum_in.weight"),
                               ("prod_out.weight", "prod_in.weight")):
            w = weight(layers[name])
            d = w.abs() * rate
            d = d / d.sum()
            s = scores[incoming]
            guess = (s @ prior.abs()).T @ torch.inverse(s @ s.T)
            scores[name] = lam_motif * guess.abs() + (1 - lam_motif) * d
            prune.l1_unstructured(layers[name], "weight", amount=amount,
                                  importance_scores=scores[name])
        masks.append({n: layers[n].weight_mask.bool().clone() for n in layers})
        with torch.no_grad():  # "training" between rounds moves the surviving weights
            for n, layer in layers.items():
                layer.weight_orig.add_(nudge[r][n])
    return masks


def test_dash_rounds_match_a_transcription_of_the_reference_code():
    # normalize="reference" was not the DASH code: scores were zeroed at pruned entries
    # before they became the next round's S, and exp(W)'s normaliser left out the pruned
    # entries (exp(0) = 1 each there): masks agreed in round 1 only
    g, h = 8, 5
    func = _random_func(g, h, seed=3)
    prior = _prior(g, seed=4)
    amounts = [0.7, 0.1, 0.1, 0.1, 0.1]
    gen = torch.Generator().manual_seed(0)
    nudge = [{n: 0.3 * torch.randn(p.shape, generator=gen, dtype=p.dtype)
              for n, p in func.named_parameters() if n in PRUNABLE} for _ in amounts]
    pruner = DashPruner("dash", prior=prior, seed=7, normalize="reference")
    s_gen = torch.Generator().manual_seed(_score_seed(7))  # the pruner's U(0, 1) start
    s0 = {n: torch.rand(tuple(dict(func.named_parameters())[n].shape), generator=s_gen)
          .to(torch.float64) for n in ("sum_in.weight", "prod_in.weight")}
    expected = _reference_rounds(func, prior, amounts, 0.05, 0.01, s0, nudge)
    for r, amount in enumerate(amounts):
        pruner.prune(func, amount)
        for n in PRUNABLE:
            assert torch.equal(pruner.masks[n], expected[r][n]), (r, n)
        with torch.no_grad():
            for n, p in func.named_parameters():
                if n in PRUNABLE:
                    p.add_(nudge[r][n] * pruner.masks[n])


def test_alive_scores_kept_for_the_next_round_are_the_ranked_ones():
    # the module docstring said pruned entries score 0 in the S kept for the next round:
    # the S kept is the Omega the round ranked (as in the reference), so the entries that
    # round removed keep their scores there; those of earlier rounds score 0
    g, h = 8, 5
    func = _random_func(g, h, seed=3)
    pruner = DashPruner("dash", prior=_prior(g, seed=4), seed=7)
    pruner.prune(func, 0.7)
    first = {n: pruner.masks[n].clone() for n in ("sum_in.weight", "prod_in.weight")}
    for n, kept in first.items():
        s = pruner._previous[n]
        assert bool((s[~kept] != 0).any())  # removed in this round, scored in S
    omega = pruner.scores(func)
    pruner.prune(func, 0.1)
    for n, kept in first.items():
        assert torch.equal(pruner._previous[n], omega[n])
        assert bool((pruner._previous[n][~kept] == 0).all())  # removed a round earlier


def test_first_round_scores_are_independent_of_the_initialisation(monkeypatch):
    # the model and the pruner took the same seed, so the U(0, 1) scores S of the first
    # round were the very numbers that chose the initial non-zero input weights: S >= 0.95
    # exactly where a weight was kept (mean 0.975 there), not U(0, 1) independent of them
    import biomodels.grn.dash as dash

    g, h, seed = 30, 40, 0
    func = PhoenixODEFunc(g, h, dtype=torch.float64,
                          generator=torch.Generator().manual_seed(seed))
    kept = func.sum_in.weight.detach() != 0
    seen = []
    real = dash.prior_guesses

    def spy(previous, *args, **kwargs):
        seen.append({n: v.clone() for n, v in previous.items()})
        return real(previous, *args, **kwargs)

    monkeypatch.setattr(dash, "prior_guesses", spy)
    DashPruner("dash", prior=_prior(g), seed=seed).scores(func)
    s = seen[0]["sum_in.weight"]
    assert 40 <= int(kept.sum()) <= 80  # 5 % of 1,200
    assert not torch.equal(kept, s >= 0.95)
    # independent: the kept entries' scores are U(0, 1) too (mean 0.5 +- 0.04)
    assert abs(float(s[kept].mean()) - 0.5) < 0.15


def test_coregulation_is_built_once_per_fit(tiny, monkeypatch):
    # Q = |P| |P|^T / sum costs G^3 and was rebuilt every round (7.1 s a round at 5,000
    # genes, 1.9 s with it built once); the masks are the same either way
    import biomodels.grn.dash as dash

    pairs, truth = tiny
    prior = truth.clone()
    calls = []
    real = dash.coregulation
    monkeypatch.setattr(dash, "coregulation", lambda *a: calls.append(1) or real(*a))
    pruner = DashPruner("dash", prior=prior, schedule=PruningSchedule(first_epoch=1, every=2))
    _fit(pairs, pruner, epochs=8)
    assert pruner.rounds == 4 and len(calls) == 1
    assert pruner._coreg is None  # freed after the last round
    # an in-place change of the prior is seen: Q is built again, as a fresh pruner builds it
    func = _random_func(10, 6)
    pruner.scores(func)
    pruner.scores(func)
    assert len(calls) == 2
    prior[0] = 1.0
    again = pruner.scores(func)
    assert len(calls) == 3
    fresh = DashPruner("dash", prior=prior.clone())
    fresh._previous, fresh.masks = pruner._previous, pruner.masks
    for n in PRUNABLE:
        assert torch.equal(again[n], fresh.scores(func)[n]), n


def test_a_replaced_prior_gets_its_own_coregulation_even_at_a_reused_id(monkeypatch):
    # Q was cached by id(prior) and version: a prior set right after the old one was freed
    # often took its id (version 0 both), and got the old prior's Q. Every object is
    # given one id here, as the allocator gives a freed one to the next of its size.
    import biomodels.grn.dash as dash

    monkeypatch.setattr(dash, "id", lambda obj: 7, raising=False)
    g = torch.Generator().manual_seed(0)
    pruner = DashPruner("dash", prior=torch.rand(6, 6, generator=g))
    pruner._coregulation(pruner.prior, None)
    new = torch.ones(6, 6)  # version 0, as the old prior
    pruner.prior = new
    q = pruner._coregulation(pruner.prior, None)
    assert torch.equal(q, coregulation(new, None).to(torch.float64))


def test_no_round_at_the_last_epoch():
    # the DASH code prunes only at epochs < total: a cut at the last epoch leaves no epoch
    # to recover (before: 21 rounds in 200 epochs, sparsity 96.35 % instead of 95.95 %)
    s = PruningSchedule()
    assert [e for e in range(1, 201) if s.is_round(e, 200)] == [3] + list(range(10, 200, 10))
    assert s.rounds_by(200, 200) == 20 and s.last_round_epoch(200) == 190
    assert s.last_round_epoch(60) == 50 and s.last_round_epoch(55) == 50


# ---------------------------------------------------------------- baselines
def _fit(pairs, pruner, epochs=21, seed=0):
    func = PhoenixODEFunc(10, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    snapshots = []

    def keep(epoch, record):
        if record["pruned"]:
            snapshots.append({n: p.detach().clone() for n, p in func.named_parameters()})

    fit(func, pairs, None, epochs=epochs, lr=1e-2, method="rk4", options={"step_size": 0.5},
        pruner=pruner, callback=keep, seed=seed, batch_size=16)
    return func, snapshots


def test_lambda_zero_reproduces_imp(tiny):
    pairs, prior = tiny
    imp_func, _ = _fit(pairs, DashPruner("imp"))
    dash0 = DashPruner("dash", prior=prior, lambda_ppi=0.0, lambda_motif=0.0)
    dash_func, _ = _fit(pairs, dash0)
    for (n, a), b in zip(imp_func.named_parameters(), dash_func.parameters()):
        assert torch.equal(a, b), n
    # and a nonzero lambda changes the masks
    dash_func2, _ = _fit(pairs, DashPruner("dash", prior=prior, lambda_ppi=0.5,
                                           lambda_motif=0.5))
    assert any(not torch.equal(a, b) for a, b in
               zip(imp_func.parameters(), dash_func2.parameters()))


def test_imp_first_round_is_brute_force_top_k():
    func = _random_func(7, 5)
    with torch.no_grad():
        func.gene_rates.abs_()  # no dead genes: no ties in the output-layer scores
    scores = {n: s.clone() for n, s in data_scores(func).items()}
    pruner = DashPruner("imp")
    pruner.prune(func, 0.7)
    for n in PRUNABLE:
        flat = scores[n].flatten()
        k = flat.numel() - round(0.7 * flat.numel())
        kept = set(torch.argsort(flat, descending=True)[:k].tolist())
        got = set(torch.nonzero(pruner.masks[n].flatten()).flatten().tolist())
        assert got == kept, n


def test_pruned_weights_stay_zero_during_training(tiny):
    pairs, prior = tiny
    pruner = DashPruner("dash", prior=prior)
    func, snaps = _fit(pairs, pruner, epochs=21)
    assert pruner.rounds == 3 and len(snaps) == 3
    params = dict(func.named_parameters())
    for n in PRUNABLE:
        mask = pruner.masks[n]
        assert (params[n][~mask] == 0).all()
        assert (params[n][mask] != 0).any()
        # weights pruned in round 1 are still zero at the end
        first_zero = snaps[0][n] == 0
        assert (params[n][first_zero] == 0).all()
    assert 1 - pruner.density() == pytest.approx(1 - 0.3 * 0.81, abs=0.02)


def test_pruner_input_checks():
    with pytest.raises(ValueError, match="needs a prior"):
        DashPruner("dash")
    with pytest.raises(ValueError, match="lambda_ppi"):
        DashPruner("dash", prior=torch.zeros(3, 3), lambda_ppi=2.0)
    with pytest.raises(ValueError, match="square"):
        DashPruner("prior", prior=torch.zeros(3, 4))
    with pytest.raises(ValueError, match="method"):
        DashPruner("random")  # type: ignore[arg-type]


# ---------------------------------------------------------------- planted network
@pytest.fixture(scope="module")
def planted():
    ad = simulate.simulate_hill_network(30, noise=0.05, seed=1)
    genes = list(ad.var_names)
    truth = pd.DataFrame(ad.varp["truth"], index=genes, columns=genes)
    prior = simulate.corrupt_prior(truth, 0.1, seed=1)
    out = {}
    for method in ("dash", "imp", "prior"):
        model = GRNModel(ad, time_key="time", trajectory_key="trajectory", prior=prior,
                         n_hidden=40, seed=0)
        # the paper's 200 epochs: at 120 DASH and prior-only tie on average (30 genes)
        model.train(200, pruning=method, method="rk4", step_size=0.5, progress=False)
        out[method] = model.evaluate(truth)
    return out


@pytest.mark.slow
def test_dash_recovers_planted_network(planted):
    # Data seed 1: DASH 0.902, prior-only 0.860, IMP 0.687 at 95.9 % weight sparsity; one of 7
    # of 8 seeds on which DASH leads prior-only pruning (means over seeds 0-7: 0.884, 0.861,
    # 0.696; test_bench_planted_ordering_over_seeds).
    dash = planted["dash"]
    print({m: round(r["balanced_accuracy"], 3) for m, r in planted.items()})
    assert dash["weight_sparsity"] >= 0.90
    assert dash["balanced_accuracy"] >= 0.85
    assert dash["balanced_accuracy"] > planted["prior"]["balanced_accuracy"]
    assert dash["balanced_accuracy"] > planted["imp"]["balanced_accuracy"]
    # same schedule, same sparsity for all three
    for r in planted.values():
        assert r["weight_sparsity"] == pytest.approx(dash["weight_sparsity"], abs=1e-3)


# ---------------------------------------------------------------- other baselines
def test_l1_baseline_shrinks_weights_and_prior_loss_pulls_towards_prior():
    from biomodels.grn.train import prior_loss

    ad = simulate.simulate_hill_network(8, n_trajectories=10, n_timepoints=5, seed=6)
    genes = list(ad.var_names)
    truth = pd.DataFrame(ad.varp["truth"], index=genes, columns=genes)

    def l1_norm(model):
        params = dict(model.func.named_parameters())
        return sum(float(params[n].detach().abs().sum()) for n in PRUNABLE)

    norms, plosses = {}, {}
    for label, kwargs in (("none", {"pruning": "none"}),
                          ("l1", {"pruning": "l1", "l1": 1e-2}),
                          ("soft", {"pruning": "none", "prior_weight": 0.5,
                                    "prior_scaling": "max"})):
        model = GRNModel(ad, time_key="time", trajectory_key="trajectory", prior=truth,
                         n_hidden=6, seed=0)
        model.train(15, method="rk4", step_size=0.5, progress=False, **kwargs)
        norms[label] = l1_norm(model)
        p = torch.tensor(truth.to_numpy(), dtype=torch.float32)  # a copy: read-only in pandas 3
        with torch.no_grad():
            plosses[label] = float(prior_loss(model.func, p / p.abs().max(), n_random=2000,
                                              generator=torch.Generator().manual_seed(0)))
        assert model.settings["pruning"] == kwargs["pruning"]
    assert norms["l1"] < 0.8 * norms["none"]
    assert plosses["soft"] < 0.5 * plosses["none"]


def test_soft_prior_scaling_sets_the_linear_target():
    from biomodels.grn.train import prior_loss

    ad = simulate.simulate_hill_network(8, n_trajectories=10, n_timepoints=5, seed=6)
    genes = list(ad.var_names)
    truth = pd.DataFrame(ad.varp["truth"], index=genes, columns=genes)
    # a weighted prior whose magnitudes span two orders, like krumsiek11's (0.1 to 10)
    prior = truth * 10.0 ** np.linspace(-1, 1, truth.size).reshape(truth.shape)
    p = torch.tensor(prior.to_numpy(), dtype=torch.float32)  # a copy: read-only in pandas 3
    targets = {"sign": torch.sign(p), "max": p / p.abs().max()}
    losses = {}
    for scaling in ("sign", "max"):
        model = GRNModel(ad, time_key="time", trajectory_key="trajectory", prior=prior,
                         n_hidden=16, seed=0)
        model.train(30, pruning="none", prior_weight=0.5, prior_scaling=scaling,
                    method="rk4", step_size=0.5, progress=False)
        assert model.settings["prior_scaling"] == scaling
        with torch.no_grad():
            losses[scaling] = {k: float(prior_loss(model.func, t, n_random=2000,
                                                   generator=torch.Generator().manual_seed(0)))
                               for k, t in targets.items()}
    # each fit matches its own linear target better than the other fit does
    assert losses["sign"]["sign"] < losses["max"]["sign"]
    assert losses["max"]["max"] < losses["sign"]["max"]
    with pytest.raises(ValueError, match="prior_scaling"):
        model.train(1, pruning="none", prior_weight=0.5, prior_scaling="log")  # type: ignore


def test_dash_under_the_default_sign_scaling_sees_only_the_prior_signs():
    # prior_scaling="sign" (default) hands DASH sign(P): a weighted prior whose magnitudes
    # span two orders (as krumsiek11's 0.1 to 10) prunes exactly as its signs do, bit for bit
    ad = simulate.simulate_hill_network(8, n_trajectories=10, n_timepoints=5, seed=8)
    genes = list(ad.var_names)
    truth = pd.DataFrame(ad.varp["truth"], index=genes, columns=genes)
    weighted = truth * 10.0 ** np.linspace(-1, 1, truth.size).reshape(truth.shape)
    fits = {}
    for name, prior in (("weighted", weighted), ("sign", np.sign(weighted)),
                        ("scaled", 10.0 * weighted)):
        model = GRNModel(ad, time_key="time", trajectory_key="trajectory", prior=prior,
                         n_hidden=6, seed=0)
        model.train(4, pruning="dash", method="rk4", step_size=0.5, progress=False)
        assert model.pruner is not None and model.pruner.rounds == 1
        fits[name] = model
    ref = fits["sign"]
    ref_masks, ref_params = _masks(ref.func), dict(ref.func.named_parameters())
    for name in ("weighted", "scaled"):
        masks = _masks(fits[name].func)
        assert all(torch.equal(masks[n], ref_masks[n]) for n in PRUNABLE), name
        params = dict(fits[name].func.named_parameters())
        assert all(torch.equal(params[n], ref_params[n]) for n in ref_params), name
        pd.testing.assert_frame_equal(fits[name].network(), ref.network())


def test_prior_loss_is_the_phoenix_formula():
    from biomodels.grn.train import prior_loss

    func = _random_func(4, 3)
    p = _prior(4, 7)
    gen = torch.Generator().manual_seed(11)
    got = prior_loss(func, p, n_random=50, generator=gen)
    y = torch.rand((50, 4), generator=torch.Generator().manual_seed(11)).double() - 0.5
    expected = torch.mean((func.production(y) - y @ p) ** 2)
    torch.testing.assert_close(got, expected)


def test_second_training_run_keeps_earlier_pruning():
    ad = simulate.simulate_hill_network(8, n_trajectories=10, n_timepoints=5, seed=8)
    model = GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=6, seed=0)
    model.train(4, pruning="imp", method="rk4", step_size=0.5, progress=False)
    params = dict(model.func.named_parameters())
    zero = {n: (params[n] == 0).clone() for n in PRUNABLE}
    assert model.sparsity() == pytest.approx(0.7, abs=0.01)
    model.train(4, pruning="imp", method="rk4", step_size=0.5, progress=False)
    params = dict(model.func.named_parameters())
    for n in PRUNABLE:
        assert (params[n][zero[n]] == 0).all(), n
    # the schedule goes on (round 2 removes 10 % of the rest), it does not cut 70 % again
    assert model.pruner is not None and model.pruner.rounds == 2
    assert model.sparsity() == pytest.approx(PruningSchedule().sparsity_after(2), abs=0.01)


def test_continued_dash_fit_goes_on_with_the_schedule_and_scores(tmp_path):
    ad = simulate.simulate_hill_network(8, n_trajectories=10, n_timepoints=5, seed=8)
    prior = pd.DataFrame(ad.varp["truth"], index=ad.var_names, columns=ad.var_names)
    model = GRNModel(ad, time_key="time", trajectory_key="trajectory", prior=prior,
                     n_hidden=6, seed=0)
    kw = {"pruning": "dash", "method": "rk4", "step_size": 0.5, "progress": False}
    model.train(4, **kw)
    first = model.pruner
    assert first is not None and first.rounds == 1
    scores = {k: v.clone() for k, v in first.state_dict()["previous"].items()}
    model.save(tmp_path / "m.pt")
    model.train(4, **kw)
    assert model.pruner is not first and model.pruner.rounds == 2
    assert model.sparsity() == pytest.approx(PruningSchedule().sparsity_after(2), abs=0.01)
    # the recursive scores S of the earlier round seeded the continued round's prior guesses
    # (a fresh pruner would draw U(0, 1) scores)
    resumed = DashPruner("dash", prior=torch.sign(model._prior_tensor(model.prior)))
    resumed.continue_from(_masks(model.func), {"rounds": 1, "previous": scores})
    fresh = DashPruner("dash", prior=torch.sign(model._prior_tensor(model.prior)))
    fresh.masks = _masks(model.func)
    assert not torch.equal(resumed.scores(model.func)["prod_in.weight"],
                           fresh.scores(model.func)["prod_in.weight"])
    # a saved model continues the same way after loading
    loaded = GRNModel.load(tmp_path / "m.pt", ad)
    loaded.train(4, **kw)
    assert loaded.pruner is not None and loaded.pruner.rounds == 2
    assert loaded.sparsity() == pytest.approx(PruningSchedule().sparsity_after(2), abs=0.01)
    loaded.train(12, **kw)  # rounds at epochs 3 and 10
    assert loaded.pruner.rounds == 4
    kept = 48 - round(0.7 * 48)  # per 6 x 8 layer, each round rounded to whole weights
    for _ in range(3):
        kept -= round(0.1 * kept)
    assert loaded.sparsity() == pytest.approx(1 - kept / 48)


def test_a_pruned_model_trained_on_without_pruning_records_its_density():
    # train(pruning="none") after a DASH fit keeps the masks (the zeros stay), but the
    # history recorded density 1.0 (its plot and the progress bar too) for a model 30 % dense
    ad = simulate.simulate_hill_network(8, n_trajectories=10, n_timepoints=5, seed=8)
    prior = pd.DataFrame(ad.varp["truth"], index=ad.var_names, columns=ad.var_names)
    model = GRNModel(ad, time_key="time", trajectory_key="trajectory", prior=prior,
                     n_hidden=6, seed=0)
    kw = {"method": "rk4", "step_size": 0.5, "progress": False}
    model.train(4, pruning="dash", **kw)
    kept = model.history["density"][-1]
    assert kept == pytest.approx(0.3, abs=0.01)
    model.train(2, pruning="none", **kw)
    assert model.history["density"][-2:] == [kept, kept]
    assert model.sparsity() == pytest.approx(1 - kept)
    dense = GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=6, seed=0)
    dense.train(2, pruning="none", **kw)
    assert dense.history["density"] == [1.0, 1.0]


def _masks(func):
    from core import MaskSet

    return MaskSet(dict(MaskSet.from_module(func).masks))


def test_l1_baseline_is_c_nodes_mean_path_weight():
    # before, the penalty was the plain L1 norm of the four matrices (1e4 times larger)
    from biomodels.grn.train import path_l1

    func = PhoenixODEFunc(2, 1, dtype=torch.float64)
    with torch.no_grad():
        func.sum_in.weight.copy_(torch.tensor([[1.0, -2.0]]))   # h x G
        func.sum_out.weight.copy_(torch.tensor([[3.0], [0.0]]))  # G x h
        func.prod_in.weight.copy_(torch.tensor([[0.0, 1.0]]))
        func.prod_out.weight.copy_(torch.tensor([[-1.0], [2.0]]))
    # paths regulator -> target: sums [[3, 0], [6, 0]], prods [[0, 0], [1, 2]]
    assert float(path_l1(func).detach()) == pytest.approx((3 + 0 + 7 + 2) / 4)


def test_pruner_refuses_a_non_finite_prior_or_one_of_another_size():
    bad = _prior(5).clone()
    bad[0, 1] = float("nan")
    with pytest.raises(ValueError, match="prior has NaN"):  # was an SVD error at round 1
        DashPruner("dash", prior=bad)
    with pytest.raises(ValueError, match="ppi has NaN"):
        DashPruner("dash", prior=_prior(5), ppi=torch.full((5, 5), float("inf")))
    with pytest.raises(ValueError, match="ppi must be a square"):
        DashPruner("dash", prior=_prior(5), ppi=torch.ones(5, 4))
    func = PhoenixODEFunc(5, 4, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="prior is 3 x 3 but the model has 5 genes"):
        DashPruner("dash", prior=_prior(3)).prune(func, 0.5)  # was a matmul shape error


@pytest.mark.filterwarnings("ignore:the model explains:UserWarning")  # 2-4 epochs
def test_a_fit_too_short_for_any_pruning_round_says_so():
    import warnings

    from biomodels.grn.model import _attached_masks

    ad = simulate.simulate_hill_network(8, n_trajectories=10, n_timepoints=5, seed=6)
    kw = {"pruning": "imp", "method": "rk4", "step_size": 0.5, "progress": False}
    model = GRNModel(ad, time_key="time", trajectory_key="trajectory", n_hidden=4, seed=0)
    # the first round is at epoch 3: two epochs were labelled "imp" but pruned nothing
    with pytest.warns(UserWarning, match=r"pruning='imp' with epochs=2 runs no pruning round"
                      r".*train for at least 3 epochs"):
        model.train(2, **kw)
    assert _attached_masks(model.func) is None
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="pruning=")
        model.train(4, **kw)  # epoch 3 prunes
    assert _attached_masks(model.func) is not None


def test_pruner_repr_names_method_weights_schedule_and_rounds():
    pruner = DashPruner("imp", schedule=PruningSchedule(first_epoch=2))
    assert repr(pruner) == (
        "DashPruner('imp', lambda_ppi=0, lambda_motif=0, PruningSchedule(first_epoch=2, "
        "first_fraction=0.7, every=10, fraction=0.1); 0 rounds done)")


def test_schedule_epochs_may_be_whole_floats_as_h5ad_reads_them_back():
    # uns["grn"]["settings"]["schedule"] comes back from h5ad as floats: PruningSchedule(
    # *schedule) refused np.float64(3.0) ("must be an integer epoch")
    s = PruningSchedule(np.float64(3.0), np.float64(0.7), np.float64(10.0), np.float64(0.1))
    assert s == PruningSchedule() and [type(s.first_epoch), type(s.every)] == [int, int]
    assert PruningSchedule(first_epoch=2.0, every=np.float32(5.0)).every == 5
    for bad in (3.5, np.float64(3.5), float("inf"), float("nan")):
        with pytest.raises(TypeError, match="first_epoch must be an integer epoch"):
            PruningSchedule(first_epoch=bad)


# ---------------------------------------------------------------- mutation audit: PPI, "prior"
def test_coregulation_of_a_signed_ppi_is_its_absolute_value_scaled_to_sum_one():
    # mutation audit: no test gave a PPI, so Q built from |P||P|^T whatever the PPI, or from
    # the signed PPI, went unnoticed. Q = |PPI| / sum |PPI|, read as given (not transposed)
    ppi = torch.tensor([[0.0, 2.0, -1.0], [-3.0, 0.0, 0.0], [0.0, 4.0, 0.0]],
                       dtype=torch.float64)
    prior = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [0.0, 0.0, 0.0]],
                         dtype=torch.float64)
    expected = torch.tensor([[0.0, 2.0, 1.0], [3.0, 0.0, 0.0], [0.0, 4.0, 0.0]],
                            dtype=torch.float64) / 10.0
    torch.testing.assert_close(coregulation(prior, ppi), expected, rtol=0, atol=1e-15)
    # without a PPI: |P||P|^T (a and b share no target: only the diagonal), over its sum 2
    torch.testing.assert_close(coregulation(prior), torch.diag(torch.tensor(
        [0.5, 0.5, 0.0], dtype=torch.float64)), rtol=0, atol=1e-15)


def test_a_ppi_changes_the_dash_masks_and_only_its_absolute_value_counts():
    # mutation audit: a PPI silently ignored, or its signs kept, pruned as before unseen.
    # One 70 % round on 8 genes, 5 hidden units, half the input-layer score from the prior
    # guesses (and the output layers' guesses start from those input-layer scores)
    g, h = 8, 5
    prior = _prior(g, seed=4)
    ppi = torch.randn(g, g, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    assert (ppi < 0).any() and not torch.equal(ppi, ppi.T)  # signed and asymmetric

    def masks(ppi):
        pruner = DashPruner("dash", prior=prior, ppi=ppi, lambda_ppi=0.5, seed=7)
        pruner.prune(_random_func(g, h, seed=3), 0.7)
        return {n: pruner.masks[n].clone() for n in PRUNABLE}

    signed, absolute, none = masks(ppi), masks(ppi.abs()), masks(None)
    for n in PRUNABLE:
        assert torch.equal(signed[n], absolute[n]), n  # sign-invariant
        assert not torch.equal(signed[n], none[n]), n  # the PPI is used, in every layer


def _two_regulator_prior(g: int) -> torch.Tensor:
    """Genes 0 and 1 regulate genes 2 and 3; the other genes regulate nothing."""
    prior = torch.zeros(g, g, dtype=torch.float64)
    prior[0, 2], prior[0, 3], prior[1, 2] = 1.0, -1.0, 1.0
    return prior


def test_prior_only_pruning_is_the_prior_guesses_alone_ties_by_index():
    # mutation audit: method="prior" with lambda 0.99 instead of 1 went unnoticed. Here the
    # genes that regulate nothing (8 of 10) give exactly-zero guesses: 48 of the 60 entries
    # of each layer (8 columns of an input layer, 8 rows of an output one) tie at 0 and a
    # 70 % round removes 42 of them, so even a 1 % data term would pick which ones
    g, h = 10, 6
    prior = _two_regulator_prior(g)
    func = _random_func(g, h, seed=1)
    pruner = DashPruner("prior", prior=prior, seed=2)
    got = pruner.scores(func)
    # the pruner's first-round U(0, 1) scores S, then combine_scores(..., lam=1) per layer
    gen = torch.Generator().manual_seed(_score_seed(2))
    s0 = {n: torch.rand((h, g), generator=gen).to(torch.float64)
          for n in ("sum_in.weight", "prod_in.weight")}
    q = coregulation(prior)
    data = data_scores(func)
    guess = prior_guesses(s0, None, prior, q)
    expected = {n: combine_scores(data[n], guess[n], 1.0)
                for n in ("sum_in.weight", "prod_in.weight")}
    guess = prior_guesses(s0, expected, prior, q)
    expected |= {n: combine_scores(data[n], guess[n], 1.0)
                 for n in ("sum_out.weight", "prod_out.weight")}
    for n in PRUNABLE:
        assert torch.equal(got[n], expected[n]), n
        assert int((got[n] == 0).sum()) == 48, n
    # the pruned set ignores the weights: the 12 non-zero guesses and the first 6 of the
    # zero ones (ties broken by index), the same for a model with other weights
    masks = {}
    for seed in (1, 9):
        other = DashPruner("prior", prior=prior, seed=2)
        other.prune(_random_func(g, h, seed=seed), 0.7)
        masks[seed] = other.masks
    for n in PRUNABLE:
        zero = (got[n] == 0).flatten()
        first_zeros = torch.zeros_like(zero)
        first_zeros[torch.nonzero(zero).flatten()[:6]] = True
        kept = (~zero | first_zeros).reshape(got[n].shape)
        assert torch.equal(masks[1][n], kept), n
        assert torch.equal(masks[9][n], kept), n
