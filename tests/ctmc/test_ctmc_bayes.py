"""Bayesian uncertainty with pyro (NUTS and SVI)."""

from __future__ import annotations

import numpy as np
import pytest

from biomodels.ctmc import CTMC, block_theta, posterior_theta


@pytest.fixture
def synth2():
    theta, names = block_theta(0, blocks="synth2")  # A (rate 1) promotes B (rate e^-4)
    return CTMC(theta, names).sample(400, seed=0).X, names


def test_nuts_posterior_order_probability(synth2):
    x, names = synth2
    model = CTMC().fit(x, l1=1 / len(x), event_names=names, max_steps=200)
    # 100 draws after 100 warm-up steps: 40 and 40 left some chains stuck near one mode
    # (seed 1 gave 24 distinct draws, order probabilities within 0.82-0.93, sd 0.04)
    with pytest.warns(UserWarning, match="smallest effective sample size is .* of 100"):
        draws = model.sample_posterior(x, method="nuts", num_samples=100, warmup_steps=100,
                                       seed=0)
    assert draws.shape == (100, 2, 2) and np.isfinite(draws).all()
    # co-occurrence is identified: the two directed effects sum to a clearly positive value
    assert (draws[:, 1, 0] + draws[:, 0, 1] > 1.0).mean() > 0.9
    probs = model.order_probability_samples("A", "B")
    # but the direction is not (A comes first in truth, P = 0.98): two events alone leave the
    # order underspecified (Gotovos et al. 2021) and the posterior says so with a wide spread
    assert ((probs >= 0) & (probs <= 1)).all()
    assert probs.std() > 0.05
    assert len(np.unique(draws[:, 1, 0])) > 50  # the chain moves


def test_svi_posterior_near_map(synth2):
    x, _ = synth2
    draws = posterior_theta(x, method="svi", svi_steps=300, num_samples=50, lr=0.05, seed=0)
    assert draws.shape == (50, 2, 2)
    mean = draws.mean(0)
    assert mean[1, 0] > 1.0  # A -> B promotion recovered (rows are targets)
    assert draws.std(0).max() < 2.0
    with pytest.raises(ValueError, match="method"):
        posterior_theta(x, method="hmc")


def test_svi_posterior_shows_progress_when_asked(synth2, capsys):
    x, _ = synth2
    posterior_theta(x, method="svi", svi_steps=3, num_samples=2)
    assert capsys.readouterr().err == ""
    posterior_theta(x, method="svi", svi_steps=3, num_samples=2, progress=True)
    assert "ctmc SVI" in capsys.readouterr().err  # only NUTS showed a bar before


def test_posterior_rejects_non_binary_data():
    with pytest.raises(ValueError, match="'E1' has non-binary entry 2"):
        posterior_theta(np.array([[0, 2], [1, 0]]), method="svi", svi_steps=1)


def test_posterior_refuses_a_tumour_beyond_the_exact_likelihood_up_front():
    # it failed inside pyro's first step with "Use method='mcmc'", a method it lacks
    x = np.zeros((3, 30), dtype=int)
    x[0] = 1
    x[1, :3] = 1
    with pytest.raises(ValueError, match="a tumour carries 30 events \\(at most 25\\); "
                                         "drop or subsample"):
        posterior_theta(x, method="svi", svi_steps=1)


def test_posterior_rejects_bad_penalty_and_start():
    x = np.array([[0, 1], [1, 0], [1, 1]])
    with pytest.raises(ValueError, match="l1 must be positive and finite"):
        posterior_theta(x, l1=float("nan"), method="svi", svi_steps=1)
    with pytest.raises(ValueError, match="init_theta must be finite"):
        posterior_theta(x, init_theta=np.full((2, 2), np.inf), method="svi", svi_steps=1)


def test_posterior_refuses_a_seed_numpy_cannot_take_by_name():
    # before: numpy's "Seed must be between 0 and 2**32 - 1" (or torch's "Overflow when
    # unpacking long long"), naming no argument
    x = np.array([[0, 1], [1, 0], [1, 1]])
    for seed in (2**32, 2**64):
        with pytest.raises(ValueError, match=r"^seed: expected an integer below 2\*\*32"):
            posterior_theta(x, method="svi", svi_steps=1, seed=seed)


@pytest.mark.slow
def test_svi_spread_is_close_to_nuts():
    # the mean-field guide's standard deviations were 0.3-0.5 of NUTS's on this case
    # (correlated effects); the full-covariance guide gives 0.49-0.97, median ~0.7
    import warnings

    from biomodels.ctmc import CTMC, posterior_theta, random_sparse_theta

    x = CTMC(random_sparse_theta(3, seed=0)).sample(200, seed=1).X
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nuts = posterior_theta(x, method="nuts", num_samples=300, warmup_steps=200, seed=0)
    svi = posterior_theta(x, method="svi", num_samples=400, seed=0)
    ratio = svi.std(0) / nuts.std(0)
    assert np.median(ratio) > 0.6 and ratio.min() > 0.35


def test_log_posterior_is_the_penalised_objective_at_a_non_default_l1(monkeypatch):
    # known answer: prior Normal(mu_i, 3) on base rates and Laplace(0, b = 1/(N l1)) on the
    # effects, so at l1 = 10/N (b = 0.1) the model's log joint is the log-likelihood plus
    # these log densities, and between two thetas with the same base rates it changes by
    # N x the change of the L1-penalised objective (the MAP is the penalised fit)
    import pyro
    import pyro.infer
    import torch

    from biomodels.ctmc import data_log_likelihood, independence_theta

    x = CTMC(block_theta(0, blocks="synth2")[0]).sample(60, seed=0).X
    n_t, n = x.shape
    l1 = 10.0 / n_t
    captured = {}

    class Captured(Exception):
        pass

    def spy_nuts(model, **kwargs):
        captured["model"] = model
        raise Captured

    monkeypatch.setattr(pyro.infer, "NUTS", spy_nuts)
    with pytest.raises(Captured):
        posterior_theta(x, l1=l1, method="nuts")
    model = captured["model"]
    off = ~np.eye(n, dtype=bool)
    mu = np.diag(independence_theta(x))
    b = 1.0 / (n_t * l1)

    def log_joint(theta):
        data = {"base": torch.as_tensor(np.diag(theta).copy()),
                "effects": torch.as_tensor(theta[off])}
        trace = pyro.poutine.trace(pyro.poutine.condition(model, data=data)).get_trace()
        return float(trace.log_prob_sum())

    def by_hand(theta):
        ll = data_log_likelihood(torch.as_tensor(theta), x).sum()
        base = np.diag(theta)
        normal = (-0.5 * ((base - mu) / 3.0) ** 2 - np.log(3.0 * np.sqrt(2 * np.pi))).sum()
        laplace = (-np.log(2 * b) - np.abs(theta[off]) / b).sum()
        return ll + normal + laplace

    def objective(theta):
        ll = data_log_likelihood(torch.as_tensor(theta), x).mean()
        return ll - l1 * np.abs(theta[off]).sum()

    t1 = np.array([[-1.0, 0.4], [1.5, -3.0]])
    t2 = np.array([[-1.0, -0.8], [0.2, -3.0]])
    for theta in (t1, t2):
        assert log_joint(theta) == pytest.approx(by_hand(theta), abs=1e-9)
    assert log_joint(t1) - log_joint(t2) == pytest.approx(
        n_t * (objective(t1) - objective(t2)), abs=1e-9)


def test_posterior_leaves_the_global_generators_alone(synth2):
    # pyro.set_rng_seed reseeded torch, numpy and random for the caller: a seeded posterior
    # reset their streams to the seed (and NUTS/SVI then drew from them)
    import random

    import torch

    x, _ = synth2
    torch.manual_seed(123)
    np.random.seed(5)
    random.seed(7)
    before = torch.random.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    first = posterior_theta(x, method="svi", svi_steps=5, num_samples=5, seed=3)
    assert torch.equal(torch.random.get_rng_state(), before[0])
    assert np.array_equal(np.random.get_state()[1], before[1])
    assert random.getstate() == before[2]
    torch.rand(3)  # the same seed gives the same draws whatever the global state
    np.random.rand(3)
    np.testing.assert_array_equal(
        posterior_theta(x, method="svi", svi_steps=5, num_samples=5, seed=3), first)


def test_svi_posterior_trains_inside_the_callers_no_grad_block(synth2):
    # pyro's SVI steps did nothing under no_grad, and the untrained guide came back as the
    # posterior without a word
    import torch

    x, _ = synth2
    plain = posterior_theta(x, method="svi", svi_steps=300, num_samples=20, lr=0.05, seed=0)
    with torch.no_grad():
        inside = posterior_theta(x, method="svi", svi_steps=300, num_samples=20, lr=0.05, seed=0)
    assert torch.is_grad_enabled()
    np.testing.assert_allclose(inside, plain, rtol=1e-10, atol=1e-12)
    assert plain.mean(0)[1, 0] > 1.0  # A promotes B, as the trained posterior says


@pytest.mark.parametrize("method", ["svi", "nuts"])
def test_posteriors_drawn_in_threads_are_those_drawn_alone(synth2, method, in_threads):
    # pyro draws from the global generators and keeps one handler stack and parameter store
    # per process: seeds run in a thread pool reseeded each other's streams (other draws
    # than alone) and NUTS crashed with "cannot install a Messenger instance twice"
    x, _ = synth2
    kw = (dict(method="svi", svi_steps=40, num_samples=5) if method == "svi"
          else dict(method="nuts", num_samples=5, warmup_steps=5))
    import warnings

    def draw(seed: int) -> np.ndarray:
        return posterior_theta(x[:100], seed=seed, **kw)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 5 NUTS draws: no effective sample size
        alone = [draw(s) for s in range(3)]
        assert not np.array_equal(alone[0], alone[1])  # the seeds matter
        for a, b in zip(alone, in_threads(draw, range(3))):
            np.testing.assert_array_equal(a, b)


def test_svi_guide_starts_at_init_theta_with_rows_as_targets():
    # no SVI step: the draws scatter (scale 0.05) around the start, whose effects are
    # asymmetric, so a transposed start would show as swapped off-diagonal means
    x = np.array([[0, 1], [1, 0], [1, 1], [0, 0]])
    start = np.array([[-1.0, 2.0], [-1.5, -0.5]])
    with pytest.warns(UserWarning, match=r"^svi_steps=0: SVI took no step, so the draws "
                      r"scatter around the starting theta") as seen:
        draws = posterior_theta(x, method="svi", svi_steps=0, num_samples=100,
                                init_theta=start)
    np.testing.assert_allclose(draws.mean(0), start, atol=0.05)
    assert len(seen) == 1 and seen[0].filename == __file__  # said once, at the caller's line
    model = CTMC(start)
    with pytest.warns(UserWarning, match="^svi_steps=0") as seen:
        model.sample_posterior(x, method="svi", svi_steps=0, num_samples=3)
    assert len(seen) == 1 and seen[0].filename == __file__


def test_nuts_draws_follow_the_stated_posterior_of_one_event():
    # one event: p(x = 1) = e^t / (1 + e^t) (it beats the observation clock), so the posterior
    # the docstring states (prior Normal(independence fit, 3) on the base rate) is known on a
    # grid; the NUTS draws must have its location and spread. Posterior sd 0.37: the mean's
    # Monte Carlo error with >= 50 effective draws is <= 0.05, the 0.2 tolerance ~4 of it;
    # draws too narrow or too wide by a third or more (intervals 2/3 or 3/2 as wide) fail.
    import warnings

    from scipy.special import log_expit

    from biomodels.ctmc.fit import independence_theta

    x = (np.random.default_rng(0).random((40, 1)) < 0.3).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        draws = posterior_theta(x, method="nuts", num_samples=200, warmup_steps=60, seed=0)
    draws = draws[:, 0, 0]
    k, mu = x.sum(), independence_theta(x)[0, 0]
    t = np.linspace(-10.0, 6.0, 20_001)
    log_post = -0.5 * ((t - mu) / 3) ** 2 + k * log_expit(t) + (len(x) - k) * log_expit(-t)
    w = np.exp(log_post - log_post.max())
    w /= w.sum()
    mean = (t * w).sum()
    sd = np.sqrt(((t - mean) ** 2 * w).sum())
    assert abs(draws.mean() - mean) < 0.2
    assert 0.75 < draws.std() / sd < 1.33


def test_sample_posterior_keeps_the_svi_loss_and_whether_it_levelled_off(synth2, svi_losses):
    # posterior_theta returns its draws only; the model keeps how they were made. On synth2
    # at lr 0.05 the loss's last tenth is within 1e-4 of the tenth before at 500 steps
    x, names = synth2
    seen = svi_losses
    model = CTMC().fit(x, l1=1 / len(x), event_names=names, max_steps=50)
    assert model.posterior_info is None
    draws = model.sample_posterior(x, method="svi", svi_steps=500, lr=0.05, num_samples=20)
    info = model.posterior_info
    assert info["method"] == "svi" and info["elbo"] == seen and len(seen) == 500
    assert info["converged"] is True and draws.shape == (20, 2, 2)
    few = model.sample_posterior(x, method="svi", svi_steps=5, num_samples=2)
    assert model.posterior_info["converged"] is False and len(model.posterior_info["elbo"]) == 5
    again = posterior_theta(x, method="svi", svi_steps=5, num_samples=2, l1=1 / len(x),
                            init_theta=model.theta)
    np.testing.assert_array_equal(again, few)  # the same draws, an array as before
    with pytest.warns(UserWarning, match="NUTS posterior"):
        model.sample_posterior(x, method="nuts", num_samples=5, warmup_steps=5)
    info = model.posterior_info  # NUTS's diagnostics added to the keys it had
    assert {k: info[k] for k in ("method", "elbo", "converged")} == {
        "method": "nuts", "elbo": None, "converged": None}
    assert info["num_samples"] == 5 and info["warmup_steps"] == 5
    model.fit(x, l1=1 / len(x), max_steps=50)  # new theta: the old draws' record goes too
    assert model.posterior_info is None and model.posterior_samples is None
    with pytest.raises(TypeError, match="svi_step"):  # keywords checked as before
        model.sample_posterior(x, svi_step=5)


def test_save_and_load_keep_the_posterior_draws_and_how_they_were_made(synth2, tmp_path):
    # the draws and posterior_info were lost on save; a file without them (as written
    # before, or by a model without draws) loads with none, as before
    import json

    x, names = synth2
    model = CTMC().fit(x, l1=1 / len(x), event_names=names, max_steps=50)
    plain = json.loads(model.save(tmp_path / "plain.json").read_text())
    assert "posterior" not in plain  # the file is the one written before
    draws = model.sample_posterior(x, method="svi", svi_steps=20, num_samples=7, seed=3)
    model.posterior_info["elbo"][1] = float("nan")  # written as null
    back = CTMC.load(model.save(tmp_path / "model.json"))
    np.testing.assert_array_equal(back.posterior_samples, draws)
    assert back.posterior_samples.flags.writeable and back.posterior_samples.shape == (7, 2, 2)
    info = back.posterior_info
    assert info["method"] == "svi" and info["converged"] == model.posterior_info["converged"]
    assert np.isnan(info["elbo"][1]) and info["elbo"][2:] == model.posterior_info["elbo"][2:]
    np.testing.assert_array_equal(back.order_probability_samples("A", "B"),
                                  model.order_probability_samples("A", "B"))
    saved = json.loads((tmp_path / "model.json").read_text())["posterior"]
    np.testing.assert_allclose(saved["mean"], draws.mean(0))  # readable without decoding
    old = tmp_path / "old.json"  # the keys a model file held before
    old.write_text(json.dumps(plain))
    loaded = CTMC.load(old)
    assert loaded.posterior_samples is None and loaded.posterior_info is None
    np.testing.assert_array_equal(loaded.theta, model.theta)
    saved["samples"]["shape"] = [7, 3, 3]  # edited: refused, naming the file
    (tmp_path / "bad.json").write_text(json.dumps({**plain, "posterior": saved}))
    with pytest.raises(ValueError, match="bad.json is not a valid prunus.ctmc model file"):
        CTMC.load(tmp_path / "bad.json")


def _captured_model(monkeypatch, *args, **kwargs):
    """The pyro model posterior_theta(*args, **kwargs) hands to NUTS (which is not run)."""
    import pyro.infer

    captured = {}

    class Captured(Exception):
        pass

    def spy_nuts(model, **kw):
        captured["model"] = model
        raise Captured

    monkeypatch.setattr(pyro.infer, "NUTS", spy_nuts)
    with pytest.raises(Captured):
        posterior_theta(*args, method="nuts", **kwargs)
    monkeypatch.undo()
    return captured["model"]


def _log_joint(model, theta):
    import pyro
    import torch

    off = ~np.eye(len(theta), dtype=bool)
    data = {"base": torch.as_tensor(np.diag(theta).copy()),
            "effects": torch.as_tensor(theta[off])}
    trace = pyro.poutine.trace(pyro.poutine.condition(model, data=data)).get_trace()
    return float(trace.log_prob_sum())


def test_weighted_posterior_is_the_posterior_of_the_repeated_rows(monkeypatch):
    # sample_posterior ignored a weighted fit's counts: 4 genotypes of 400 tumours counted
    # as 4 tumours (likelihood) and the Laplace scale as 1 / (4 l1), posterior means
    # [[0.4, -22.6], [-5.2, 0.0]] with sds up to 28 against [[-0.11, 0.2], [0.16, -2.03]],
    # sds 0.1-0.34, from the 400 repeated rows; sample_weight raised a TypeError
    import warnings

    geno = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
    counts = np.array([200, 150, 10, 40])
    rows = np.repeat(geno, counts, axis=0)
    # known answer: the log joint of the weighted model is that of the repeated rows
    weighted = _captured_model(monkeypatch, geno, l1=0.01, sample_weight=counts)
    repeated = _captured_model(monkeypatch, rows, l1=0.01)
    for theta in (np.array([[-0.1, 0.2], [0.15, -2.0]]), np.array([[1.0, -3.0], [2.0, 0.5]])):
        assert _log_joint(weighted, theta) == pytest.approx(_log_joint(repeated, theta),
                                                            rel=1e-12)
    kw = dict(method="nuts", num_samples=30, warmup_steps=30, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 30 draws: a low effective sample size
        draws = posterior_theta(geno, l1=0.01, sample_weight=counts, **kw)
        np.testing.assert_array_equal(draws, posterior_theta(rows, l1=0.01, **kw))
    assert (draws.std(0) < 0.6).all()  # 400 tumours, not 4: sds were up to 28
    model = CTMC().fit(geno, l1=0.01, sample_weight=counts)
    with pytest.raises(ValueError, match="sample_weight: this model was fitted with "
                                         "sample_weight .* = 400 tumours"):
        model.sample_posterior(geno, method="nuts")  # rows would count as tumours
    kw = dict(method="nuts", num_samples=5, warmup_steps=5, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(
            model.sample_posterior(geno, sample_weight=counts, **kw),
            posterior_theta(geno, l1=0.01, sample_weight=counts, init_theta=model.theta, **kw))
    assert model.posterior_info["total_weight"] == 400.0
    with pytest.raises(ValueError, match="sample_weight must have one entry per tumour"):
        model.sample_posterior(geno, sample_weight=counts[:3])


def test_weighted_posterior_beyond_the_state_space_weighs_each_row(monkeypatch):
    # above 12 events the subset lattices sum the rows: the weights must enter there too
    rng = np.random.default_rng(0)
    geno = (rng.random((5, 13)) < 0.3).astype(np.uint8)
    counts = np.array([3, 1, 0, 2, 5])
    weighted = _captured_model(monkeypatch, geno, sample_weight=counts)
    repeated = _captured_model(monkeypatch, np.repeat(geno, counts, axis=0))
    theta = rng.normal(-1.0, 0.5, (13, 13))
    assert _log_joint(weighted, theta) == pytest.approx(_log_joint(repeated, theta), rel=1e-12)


def test_nuts_keeps_its_diagnostics_and_warns_when_its_draws_are_few(synth2, tmp_path):
    # posterior_info for NUTS was {'method': 'nuts', 'elbo': None, 'converged': None}: no
    # effective sample size, R-hat or divergences, and no word when 200 draws held ~50
    # effective ones (2 events: an sd of theta_10 of 0.84 against the exact 1.11)
    import inspect

    import torch
    from pyro.ops.stats import effective_sample_size, split_gelman_rubin

    x, names = synth2
    model = CTMC().fit(x, l1=1 / len(x), event_names=names, max_steps=200)
    # 40 draws: the warning's floor is a quarter of them; here the split R-hat says it
    with pytest.warns(UserWarning, match=r"NUTS posterior: .*draw more, e\.g\. "
                                         r"num_samples=1000"):
        draws = model.sample_posterior(x, method="nuts", num_samples=40, warmup_steps=40,
                                       seed=0)
    info = model.posterior_info
    chain = torch.as_tensor(draws)[None]  # known answer: pyro's statistics of the draws
    np.testing.assert_allclose(info["n_eff"], effective_sample_size(chain).numpy(), rtol=1e-9)
    np.testing.assert_allclose(info["r_hat"], split_gelman_rubin(chain).numpy(), rtol=1e-9)
    assert info["min_n_eff"] == pytest.approx(np.min(info["n_eff"]))
    assert info["min_n_eff"] < 100
    assert info["max_r_hat"] == pytest.approx(np.max(info["r_hat"]))
    assert info["num_samples"] == 40 and info["warmup_steps"] == 40
    assert isinstance(info["divergences"], int) and info["step_size"] > 0
    assert 0 <= info["mean_accept_prob"] <= 1 and 0 <= info["acceptance_rate"] <= 1
    back = CTMC.load(model.save(tmp_path / "model.json"))
    assert back.posterior_info == info  # saved with the draws, as JSON values
    # 200 warm-up steps by default: after 100 the step size stayed too small (mean
    # acceptance 0.87-0.93 against pyro's target 0.8)
    assert inspect.signature(posterior_theta).parameters["warmup_steps"].default == 200


def test_nuts_diagnostics_of_a_few_draws_load_back_as_nan(tmp_path):
    # under 4 draws there is no split R-hat (pyro asserts): NaN, saved as null, read as NaN
    x = (np.random.default_rng(0).random((40, 1)) < 0.3).astype(float)
    model = CTMC(np.zeros((1, 1)))
    with pytest.warns(UserWarning, match="no effective sample size could be estimated from "
                                         "3 draws"):
        model.sample_posterior(x, method="nuts", num_samples=3, warmup_steps=10, l1=0.1)
    back = CTMC.load(model.save(tmp_path / "model.json")).posterior_info
    assert np.isnan(back["n_eff"][0][0]) and np.isnan(back["min_n_eff"])
    assert np.isnan(back["max_r_hat"]) and back["num_samples"] == 3


def test_nuts_with_enough_draws_does_not_warn():
    # one event, 800 draws: ~300 effective ones, so no warning (pytest turns it into an error)
    x = (np.random.default_rng(0).random((40, 1)) < 0.3).astype(float)
    model = CTMC(np.zeros((1, 1)))
    model.sample_posterior(x, method="nuts", num_samples=800, warmup_steps=200, l1=0.1)
    assert model.posterior_info["min_n_eff"] > 100 and model.posterior_info["divergences"] == 0


def test_svi_guide_settles_as_its_rate_decays(synth2, monkeypatch):
    # the guide is the last iterate: at Adam's constant rate it kept moving by ~lr per step
    # to the end (3 events, 200 tumours, 1,000 steps: means up to 0.27 posterior sds apart
    # between seeds); the rate now decays to lr / 100 over the last quarter of the steps
    import pyro
    import pyro.infer

    x, _ = synth2
    locs = []
    step = pyro.infer.SVI.step

    def spy(self, *args, **kwargs):
        loss = step(self, *args, **kwargs)
        locs.append(pyro.get_param_store()["AutoMultivariateNormal.loc"].detach().clone())
        return loss

    monkeypatch.setattr(pyro.infer.SVI, "step", spy)
    posterior_theta(x, method="svi", svi_steps=200, num_samples=2, lr=0.05, seed=0)
    moves = [float((b - a).abs().max()) for a, b in zip(locs, locs[1:])]
    assert max(moves[:100]) > 0.02  # Adam at lr: steps of order lr
    assert moves[-1] < 0.05 / 50  # the last at about lr / 100


@pytest.mark.filterwarnings("ignore:NUTS posterior:UserWarning")  # 4 draws: few effective
@pytest.mark.parametrize("method", ["svi", "nuts"])
def test_posterior_is_the_same_inside_the_callers_pyro_handlers(synth2, method):
    # the model and guide ran through the caller's pyro handlers: inside
    # pyro.poutine.trace() SVI failed with "Multiple sample sites named 'base'" (its sites
    # went into the caller's trace), inside pyro.poutine.scale(scale=10) the draws changed
    import pyro

    x = synth2[0]
    kw = dict(method=method, num_samples=4, seed=0)
    kw.update(svi_steps=20) if method == "svi" else kw.update(warmup_steps=4)
    alone = posterior_theta(x, **kw)
    with pyro.poutine.trace() as tracer:
        traced = posterior_theta(x, **kw)
    with pyro.poutine.scale(scale=10.0):
        scaled = posterior_theta(x, **kw)
    assert list(tracer.trace.nodes) == []
    np.testing.assert_array_equal(traced, alone)
    np.testing.assert_array_equal(scaled, alone)


def test_sample_posterior_of_an_unfitted_model_is_refused_before_drawing():
    # CTMC().sample_posterior(df) stored draws on a model without events or l1: no query
    # could use them ("a='A' is not an event; events: None", "the model has no theta yet")
    import pandas as pd

    from core.checks import NotFittedError

    x = pd.DataFrame([[1, 0], [1, 1], [0, 0]], columns=["A", "B"])
    model = CTMC()
    with pytest.raises(NotFittedError, match=r"needs a fitted model .* call fit\(X\) first"):
        model.sample_posterior(x, method="svi", svi_steps=2, num_samples=2)
    assert model.posterior_samples is None
