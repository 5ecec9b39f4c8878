"""Bayesian uncertainty for theta with pyro: NUTS for few events, SVI beyond.

Prior: base rates ``theta_ii ~ Normal(mu_i, 3)`` centred on the independence model; interactions
``theta_ij ~ Laplace(0, b)`` whose MAP is the L1-penalised fit with ``l1 = 1 / (N b)`` (so the
default ``l1 = 1/N`` of MHN corresponds to b = 1). The exact likelihood (state space for n <= 12,
subset lattices otherwise) enters through ``pyro.factor``. This mirrors the MCMC samplers that
``mhn`` offers for cMHN (Schill et al. 2020), with NUTS (Hoffman & Gelman 2014) for small n and
SVI beyond, with a full-covariance normal guide (low rank beyond 500 entries of theta): the
effects are correlated, and a mean-field guide understated their spread 2-4 times.
A deduplicated cohort (``sample_weight``, e.g. genotype counts) has the posterior of its
repeated rows: weighted log-likelihood, N = the sum of the weights. NUTS reports its
effective sample sizes, split R-hat and divergences and warns when the draws are too few.

Convention: ``theta[i, j]`` = effect of event j on the rate of event i (rows are targets).
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import torch

from biomodels.ctmc.data import validate_cohort
from biomodels.ctmc.fit import _check_sample_weight, independence_theta
from biomodels.ctmc.likelihood_statespace import log_state_distribution, state_index
from biomodels.ctmc.likelihood_subsets import MAX_SUBSET_EVENTS, subset_log_likelihood
from core.checks import check_count, check_number, check_seed
from core.grad_mode import with_grad
from core.plateau import loss_plateaued
from core.progress import bar_disabled
from core.seeding import seeded_globals

__all__ = ["posterior_theta"]


def _log_lik_fn(x: np.ndarray, dtype: torch.dtype, weight: np.ndarray | None = None):
    n = x.shape[1]
    xt = torch.as_tensor(x)
    wt = None if weight is None else torch.as_tensor(weight, dtype=dtype)
    if n <= 12:
        counts = (torch.bincount(state_index(xt, n), minlength=2**n).to(dtype) if wt is None
                  else torch.bincount(state_index(xt, n), weights=wt, minlength=2**n).to(dtype))
        mask = counts > 0

        def f(theta: torch.Tensor) -> torch.Tensor:
            lp = log_state_distribution(theta)
            return (counts[mask] * lp[mask]).sum()

        return f
    kmax = int(xt.sum(1).max()) if len(xt) else 0
    if kmax > MAX_SUBSET_EVENTS:
        # checked here, not deep inside pyro's first step, whose message named a method
        # (mcmc) that the posterior does not have
        raise ValueError(
            f"posterior_theta needs the exact likelihood, whose cost doubles per event of a "
            f"tumour: a tumour carries {kmax} events (at most {MAX_SUBSET_EVENTS}); drop or "
            "subsample the most mutated tumours, or keep fewer events")
    if wt is None:
        return lambda theta: subset_log_likelihood(theta, xt).sum()
    return lambda theta: (wt * subset_log_likelihood(theta, xt)).sum()


# SVI keeps Adam's rate lr for this share of the steps, then decays it to lr * SVI_LR_END
SVI_HOLD = 0.75
SVI_LR_END = 0.01
# below these the draws' summaries carry a Monte Carlo error worth a warning
MIN_N_EFF = 100
MAX_R_HAT = 1.05


def _nuts_diagnostics(mcmc: Any, kernel: Any, n: int, num_samples: int, warmup_steps: int,
                      sampler: dict[str, Any]) -> dict[str, Any]:
    """NUTS's convergence diagnostics, as JSON values (``CTMC.posterior_info``'s keys).

    ``sampler`` holds what the run's hook saw at the last draw: the kernel's diagnostics
    (divergences, acceptance rate) and its mean acceptance statistic.
    """
    from pyro.infer.mcmc.util import diagnostics

    n_eff = np.full((n, n), np.nan)
    r_hat = np.full((n, n), np.nan)
    if num_samples >= 4:  # split R-hat needs 2 draws per half (pyro asserts, and warns)
        stats = diagnostics(mcmc.get_samples(group_by_chain=True))
        for site, where in (("base", np.eye(n, dtype=bool)), ("effects", ~np.eye(n, dtype=bool))):
            if site in stats:  # one event has no effects
                n_eff[where] = stats[site]["n_eff"].detach().cpu().numpy()
                r_hat[where] = stats[site]["r_hat"].detach().cpu().numpy()
    kernel_stats = sampler.get("diagnostics", {})
    finite_n, finite_r = np.isfinite(n_eff), np.isfinite(r_hat)
    return {
        "num_samples": int(num_samples),
        "warmup_steps": int(warmup_steps),
        # per entry of theta (rows are targets), as the draws; split R-hat of the one chain
        "n_eff": n_eff.tolist(),
        "r_hat": r_hat.tolist(),
        "min_n_eff": float(n_eff[finite_n].min()) if finite_n.any() else float("nan"),
        "max_r_hat": float(r_hat[finite_r].max()) if finite_r.any() else float("nan"),
        "divergences": len(kernel_stats.get("divergences", [])),
        "acceptance_rate": float(kernel_stats.get("acceptance rate", float("nan"))),
        "mean_accept_prob": float(sampler.get("mean_accept_prob", float("nan"))),
        "step_size": float(kernel.step_size),
    }


def _warn_if_unreliable(info: dict[str, Any], stacklevel: int) -> None:
    """Warn where NUTS's diagnostics in ``info`` say the draws are few or unreliable.

    Also where SVI took no step: its draws are the guide's start, not a posterior (they
    were returned without a word, every sd the starting scale 0.05).
    """
    if info.get("method") == "svi" and not info.get("elbo"):
        warnings.warn(
            "svi_steps=0: SVI took no step, so the draws scatter around the starting theta at "
            "the guide's initial scale (0.05), not a posterior; give svi_steps >= 1 (default "
            "1000)", UserWarning, stacklevel=stacklevel + 1)
    if info.get("method") != "nuts" or "min_n_eff" not in info:
        return
    problems = []
    n_eff, r_hat, div = info["min_n_eff"], info["max_r_hat"], info["divergences"]
    # a quarter of the draws at most: the default 200 held 17-76 effective ones (2-5 events,
    # posterior_theta's Notes), so a floor of 100 would warn on every default call and teach
    # users to ignore it
    floor = min(MIN_N_EFF, info["num_samples"] / 4)
    if not n_eff >= floor:  # NaN too: under 4 draws, or a chain that never moved
        problems.append(
            f"the smallest effective sample size is {n_eff:.0f} of {info['num_samples']} "
            f"draws (below {floor:g})" if np.isfinite(n_eff) else
            f"no effective sample size could be estimated from {info['num_samples']} draws "
            f"(fewer than 4, or an entry that never moved)")
    if r_hat > MAX_R_HAT:
        problems.append(f"the largest split R-hat is {r_hat:.3f} (above {MAX_R_HAT})")
    if div:
        problems.append(f"{div} transition{'s' * (div != 1)} diverged")
    if problems:
        more = f"num_samples={max(1000, 4 * info['num_samples'])}"
        if div or r_hat > MAX_R_HAT:
            more += f", warmup_steps={max(500, 2 * info['warmup_steps'])}"
        warnings.warn(
            f"NUTS posterior: {'; '.join(problems)}, so its means, sds and quantiles carry "
            f"Monte Carlo error: draw more, e.g. {more} (CTMC.sample_posterior keeps the "
            "diagnostics of every entry of theta in posterior_info)", UserWarning,
            stacklevel=stacklevel + 1)


def posterior_theta(
    x: np.ndarray,
    *,
    l1: float | None = None,
    sample_weight: Any | None = None,
    method: Literal["auto", "nuts", "svi"] = "auto",
    num_samples: int = 200,
    warmup_steps: int = 200,
    svi_steps: int = 1000,
    lr: float = 0.02,
    seed: int = 0,
    init_theta: np.ndarray | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Draw posterior samples of theta.

    Parameters
    ----------
    x
        Binary (N, n) matrix (non-binary or NaN entries raise, naming the column).
    l1
        Laplace prior scale ``b = 1 / (N l1)`` (default ``l1 = 1/N``, i.e. b = 1), N the
        number of tumours (the sum of ``sample_weight`` where given).
    sample_weight
        Optional non-negative weight of each row of ``x``, e.g. the counts of a deduplicated
        cohort (unique genotypes + counts): the log-likelihood weighs each row by it and N
        is their sum, so the posterior is the one of the cohort with repeated rows (as
        ``fit_theta(sample_weight=...)`` fits it). Without it every row is one tumour.
    method
        ``"nuts"``, ``"svi"`` or ``"auto"`` (NUTS for n <= 6).
    num_samples, warmup_steps
        NUTS draws and adaptation steps (also the number of guide draws for SVI). The
        default 200 adaptation steps (100 before) complete pyro's schedule (it shortens
        its windows below 150): after 100 the step size of a 2-event posterior stayed
        small (mean acceptance statistic 0.87-0.93 over three seeds against pyro's target
        0.8; 0.80-0.85 after 200), at 10-20 % more time on 2 and 5 events; 500 steps cost
        1.6-2.7 times as much and gave no more effective draws. NUTS warns (UserWarning)
        when its draws are few for their correlation: see Notes.
    svi_steps, lr
        SVI optimisation: Adam at rate ``lr`` for the first 75 % of the steps, then a rate
        decaying geometrically to ``lr / 100`` at the last (the guide is the last iterate:
        at a constant rate it jittered; on 3 events and 200 tumours the guide's means at
        1,000 steps were up to 0.27 posterior sds apart between seeds, 0.09 with the decay,
        and at 2,000 steps 0.26 against 0.09; no change at 500).
    seed
        Seed of the draws, in ``[0, 2**32)`` (pyro's torch, numpy and ``random`` streams,
        seeded for this call only: the global generators are restored afterwards). Calls
        in other threads wait for each other (pyro's generators, handlers and parameters
        are process-wide), so a thread pool of seeds gives each seed's draws, one at a time.
        The draws reproduce within one software stack: NUTS magnifies rounding differences,
        so other versions of torch, pyro or numpy can give other draws for the same seed.
    init_theta
        Start NUTS and the SVI guide's means here (e.g. the penalised fit); default: the prior's
        centre (independence model, no interactions).
    progress
        Show a progress bar (pyro's for NUTS, tqdm over the SVI steps).

    Returns
    -------
    np.ndarray
        (num_samples, n, n) posterior draws of theta.

    Notes
    -----
    The SVI draws (the default beyond 6 events) are a Gaussian around one optimum and
    understate the spread: cross-sectional data leave near-equivalent optima and curved
    ridges (the truth can sit 7 log-posterior units below the mode yet thousands below on
    the Gaussian at the mode), which NUTS explores and the guide does not.  With theta drawn
    from the prior, the central 95 % intervals of the draws covered the truth in 96 % of
    entries with NUTS (3 events, 500 tumours) but 73 % with SVI on the same data, 65 % on
    7 events with 500 tumours and 33 % with 5,000 (more steps or a start at the penalised
    fit did not help).  Use ``method="nuts"`` where calibrated intervals matter; read SVI
    spreads as lower bounds.

    NUTS's diagnostics go into ``CTMC.posterior_info`` (see
    :meth:`~biomodels.ctmc.CTMC.sample_posterior`): the effective sample size ``n_eff``
    and split R-hat ``r_hat`` of every entry of theta (one chain, split in halves), the
    number of divergent transitions, pyro's ``acceptance_rate`` (the share of draws that
    moved; near 1 for NUTS whatever the step size), the mean acceptance statistic that the
    step size is adapted to (``mean_accept_prob``, target 0.8) and ``step_size``. Both
    this function and ``sample_posterior`` warn (UserWarning) when the smallest effective
    sample size is below 100 (or a quarter of ``num_samples``, if fewer), a split R-hat
    above 1.05 or a transition diverged. The default 200 draws gave a smallest effective
    sample size of 17-76 (25-76 over 13 seeds on 2 events and 40 tumours; 38-60 and 17-36
    over 5 seeds on 3 and 5 events with 200 tumours), so that warning comes with many
    default calls: enough for rough means (Monte Carlo error ``sd / sqrt(n_eff)``) but not
    for quantiles (2 events, 40 tumours: an sd of theta_10 of 0.84-1.28 over seeds against
    the exact 1.11, a 2.5 % quantile of -3.6 against -2.3): pass ``num_samples=1000`` where
    quantiles matter.

    SVI runs all ``svi_steps``. This function returns the draws only;
    :meth:`~biomodels.ctmc.CTMC.sample_posterior` also keeps SVI's loss per step (the
    negative ELBO, a one-draw Monte Carlo estimate) and a plateau flag in
    ``CTMC.posterior_info`` (``"elbo"``, ``"converged"``). The flag is a heuristic
    (:func:`core.plateau.loss_plateaued`): the mean loss over the last 10 % of the steps is
    within 0.1 % (relative) of the mean over the 10 % before; False with fewer than 50 steps
    or a non-finite loss. Where the loss's noise exceeds 0.1 % of it a settled guide reads
    False, and a temporary plateau can read True (measured: 2 events, 400 tumours, lr 0.02:
    False at 200 steps with the loss 5 above where it settled, True at 500, 1,000, 2,000 and
    3,000).
    """
    draws, info = _posterior_theta(
        x, l1=l1, sample_weight=sample_weight, method=method, num_samples=num_samples,
        warmup_steps=warmup_steps, svi_steps=svi_steps, lr=lr, seed=seed,
        init_theta=init_theta, progress=progress)
    _warn_if_unreliable(info, stacklevel=2)
    return draws


@with_grad  # SVI and NUTS differentiate, also inside the caller's torch.no_grad()
def _posterior_theta(
    x: np.ndarray,
    *,
    l1: float | None,
    sample_weight: Any | None,
    method: str,
    num_samples: int,
    warmup_steps: int,
    svi_steps: int,
    lr: float,
    seed: int,
    init_theta: np.ndarray | None,
    progress: bool,
) -> tuple[np.ndarray, dict[str, Any]]:
    """:func:`posterior_theta`'s draws and how they were made (``CTMC.posterior_info``)."""
    import pyro
    import pyro.distributions as dist
    from pyro.infer import MCMC, NUTS, SVI, Trace_ELBO
    from pyro.infer.autoguide import AutoLowRankMultivariateNormal, AutoMultivariateNormal
    from pyro.infer.autoguide.initialization import init_to_median, init_to_value

    x, _ = validate_cohort(x, warn_unobserved=False)
    seed = check_seed(seed, optional=False, bits=32)  # pyro seeds numpy's global generator
    # svi_steps=3.0 or lr="0.1" failed inside pyro's loop naming neither
    num_samples = check_count("num_samples", num_samples)
    warmup_steps = check_count("warmup_steps", warmup_steps, at_least=0)
    svi_steps = check_count("svi_steps", svi_steps, at_least=0)
    lr = check_number("lr", lr, above=0)
    weight = None
    if sample_weight is not None:
        weight = _check_sample_weight(sample_weight, len(x))
        keep = weight > 0  # a row of weight 0 is no tumour (nor a 30-event one to refuse)
        x, weight = x[keep], weight[keep]
    # the tumours the rows stand for: the prior's scale b = 1 / (N l1) counted the rows of
    # a deduplicated cohort (4 genotypes of 400 tumours: b 100 times too wide, and a
    # likelihood 100 times too flat)
    n_t = len(x) if weight is None else float(weight.sum())
    n = x.shape[1]
    if l1 is None:
        l1 = 1.0 / n_t
    if not np.isfinite(l1) or l1 <= 0:
        raise ValueError(f"l1 must be positive and finite for the Laplace prior, got {l1}")
    if method not in ("auto", "nuts", "svi"):
        raise ValueError(f"method must be 'auto', 'nuts' or 'svi', got {method!r}")
    if method == "auto":
        method = "nuts" if n <= 6 else "svi"
    dtype = torch.float64
    scale = 1.0 / (n_t * l1)
    mu = torch.as_tensor(np.diag(independence_theta(x, sample_weight=weight)).copy(),
                         dtype=dtype)
    loglik = _log_lik_fn(x, dtype, weight)
    offdiag = ~torch.eye(n, dtype=torch.bool)
    n_off = n * (n - 1)

    def model() -> None:
        base = pyro.sample("base", dist.Normal(mu, 3.0 * torch.ones(n, dtype=dtype)).to_event(1))
        theta = torch.diag(base)
        if n_off:  # one event has no interactions: an empty site crashed NUTS (a reshape)
            eff = pyro.sample(
                "effects",
                dist.Laplace(
                    torch.zeros(n_off, dtype=dtype), scale * torch.ones(n_off, dtype=dtype)
                ).to_event(1),
            )
            theta = theta.masked_scatter(offdiag, eff)
        pyro.factor("loglik", loglik(theta))

    if init_theta is not None:
        start = torch.as_tensor(np.asarray(init_theta, dtype=float), dtype=dtype)
        if start.shape != (n, n):
            raise ValueError(f"init_theta must have shape ({n}, {n}), got {tuple(start.shape)}")
        if not bool(torch.isfinite(start).all()):
            raise ValueError("init_theta must be finite")
        init = init_to_value(
            values={"base": torch.diagonal(start).clone(), "effects": start[offdiag].clone()}
        )
    else:
        init = init_to_median
    # the caller's global random streams and pyro parameters stay as they were, and the
    # caller's pyro handlers see none of it (inside a trace() it failed on repeated sites)
    with seeded_globals(seed), pyro.get_param_store().scope(), pyro.poutine.block():
        if method == "nuts":
            sampler: dict[str, Any] = {}

            def record(kernel: Any, samples: Any, stage: str, i: int) -> None:
                # the kernel forgets its figures when the run ends: kept at every draw. The
                # mean acceptance statistic is the one the step size is adapted to (target
                # 0.8); pyro's "acceptance rate" is the share of draws that moved (0.99-1.0
                # for NUTS, whatever the step size)
                if stage == "Sample":
                    sampler["diagnostics"] = kernel.diagnostics()
                    sampler["mean_accept_prob"] = getattr(kernel, "_mean_accept_prob",
                                                          float("nan"))

            kernel = NUTS(model, init_strategy=init)
            mcmc = MCMC(
                kernel,
                num_samples=num_samples,
                warmup_steps=warmup_steps,
                disable_progbar=not progress,
                hook_fn=record,
            )
            mcmc.run()
            draws = mcmc.get_samples()
            info = {"method": "nuts", "elbo": None, "converged": None,
                    **_nuts_diagnostics(mcmc, kernel, n, num_samples, warmup_steps, sampler)}
            base, eff = draws["base"], draws.get("effects")
        else:
            # full covariance (low rank beyond 500 values): the effects are correlated (up to
            # 0.68 under NUTS on 3 events) and a mean-field guide was 2-4 times too narrow
            n_latent = n * n
            guide = (AutoMultivariateNormal(model, init_loc_fn=init, init_scale=0.05)
                     if n_latent <= 500 else
                     AutoLowRankMultivariateNormal(model, init_loc_fn=init, init_scale=0.05,
                                                   rank=50))
            # Adam at lr, then over the last quarter a rate decaying to lr / 100: the guide
            # is the last iterate, and at a constant rate it jittered (3 events, 200 tumours,
            # 1,000 steps: means 0.27 posterior sd apart between seeds, 0.09 with the decay)
            hold = int(SVI_HOLD * svi_steps)

            def lr_factor(step: int) -> float:
                return 1.0 if step < hold else SVI_LR_END ** (
                    (step - hold) / max(svi_steps - hold, 1))

            optim = pyro.optim.LambdaLR({"optimizer": torch.optim.Adam,
                                         "optim_args": {"lr": lr}, "lr_lambda": lr_factor})
            svi = SVI(model, guide, optim, Trace_ELBO())
            from tqdm.auto import tqdm

            losses = []
            for _ in tqdm(range(svi_steps), desc="ctmc SVI", disable=bar_disabled(progress),
                          leave=False):
                losses.append(float(svi.step()))
                optim.step()
            info = {"method": "svi", "elbo": losses, "converged": loss_plateaued(losses)}
            with torch.no_grad():
                draws = [guide() for _ in range(num_samples)]
            base = torch.stack([d["base"] for d in draws])
            eff = torch.stack([d["effects"] for d in draws]) if n_off else None
    if weight is not None:  # the tumours the weighted rows stood for, as fit_info records
        info["total_weight"] = n_t
    out = torch.zeros(len(base), n, n, dtype=dtype)
    out[:, torch.arange(n), torch.arange(n)] = base.detach()
    if eff is not None:
        out[:, offdiag] = eff.detach()
    return out.numpy(), info
