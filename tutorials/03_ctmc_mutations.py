# %% [markdown]
# # The order of mutations from cross-sectional tumour data
#
# A cancer genomics lab sees each tumour once, as a set of genomic events. This tutorial fits a
# Mutual Hazard Network (Schill et al., *Bioinformatics* 2020) with `biomodels.ctmc`,
# reads off which events promote or inhibit each other and in which order they tend to occur,
# puts error bars on those orders, and reproduces the message of Gotovos, Burkholz, Quackenbush
# & Jegelka (NeurIPS 2021): **order is underspecified by a few events alone, and adding many
# roughly independent events pins it down**.
#
# Convention used throughout: `theta[i, j]` is the effect of event *j* on the rate of event *i*
# (rows are the affected events); the diagonal holds the log base rates.
#
# The whole tutorial takes about five minutes on one CPU core, most of it in sections 5 and 6,
# which print only when each of their fits ends (`PRUNUS_QUICK=1` runs a shorter version).

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from biomodels.ctmc import CTMC, block_theta, plot_order_probabilities, plot_theta

QUICK = os.environ.get("PRUNUS_QUICK") == "1"
OUT = Path(os.environ.get("PRUNUS_TUTORIAL_OUT", "tutorial-output"))  # figures, files
OUT.mkdir(parents=True, exist_ok=True)
SEED = 0
N_TUMOURS = 300 if QUICK else 1000
STEPS = 150 if QUICK else 500

# %% [markdown]
# ## 1. A cohort with a known answer
# Five dependent events (named like genes for readability, but simulated) form a chain
# TP53 -> IDH1 -> ATRX -> {EGFR, PTEN}, where EGFR and PTEN exclude each other; ten independent
# passenger events pad the panel. Each tumour is observed at a random time T ~ Exp(1).

# %%
theta_true, names = block_theta(10, blocks="synth5", seed=SEED)
genes = ["TP53", "IDH1", "ATRX", "EGFR", "PTEN"]
names = genes + [f"P{i}" for i in range(10)]
truth = CTMC(theta_true, names)
cohort = truth.sample(N_TUMOURS, seed=SEED)
X = cohort.X
print(f"{X.shape[0]} tumours x {X.shape[1]} events; events per tumour: mean "
      f"{X.sum(1).mean():.2f}, max {X.sum(1).max()}")
print("events of the tumour that carries the most, in the order they happened:",
      [names[e] for e in cohort.order[np.argmax(X.sum(1))] if e >= 0])

# %% [markdown]
# ## 2. Fit
# `fit` maximises the log-likelihood with an L1 penalty on interactions (here the exact
# likelihood with orthant-wise L-BFGS, OWL-QN, which sets weak effects exactly to zero; the
# scalable MCMC fit uses Adam with soft-thresholding). With `l1=None` the strength is chosen
# by 5-fold cross-validation of the held-out log-likelihood.

# %%
L1 = 1 / len(X)
model = CTMC().fit(X, l1=L1, event_names=names, max_steps=STEPS, seed=SEED)
print("method:", model.fit_info["method"], "| optimizer:", model.fit_info["optimizer"],
      "| steps:", model.fit_info["n_steps"])
held_in = model.log_likelihood(X).mean()
print(f"log-likelihood per tumour: MHN {held_in:.3f}, "
      f"independence {model.independence_log_likelihood(X).mean():.3f}")
print("fitted strongest effects:")
print(model.strongest_effects(6).to_string(index=False))
print("true strongest effects:")
print(truth.strongest_effects(6).to_string(index=False))

# %% [markdown]
# The penalised likelihood is not concave, so a fit can end at a local optimum. A few fits
# from random starts (`restarts`) show whether this one is unique: every start's penalised
# objective is recorded, and the default start's fit is kept unless another is better.
# Starts that end lower, with a theta far from the kept one, found other local optima.

# %%
check = CTMC().fit(X, l1=L1, event_names=names, max_steps=STEPS, seed=SEED, restarts=2)
starts = check.fit_info["restarts"]
print("penalised objective per start:", [f"{v:.6f}" for v in starts["objectives"]],
      "| kept start", starts["best"], "| largest theta difference to it:",
      f"{max(starts['theta_distance']):.3f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
# one colour scale for both panels, so equal colours mean equal effects
off_max = max(np.abs(t - np.diag(np.diag(t))).max() for t in (truth.theta, model.theta))
plot_theta(truth.theta_frame(), ax=axes[0], limit=off_max,
           title="true theta (rows = affected event; diagonal: log base rate)")
plot_theta(model.theta_frame(), ax=axes[1], limit=off_max,
           title="fitted theta (rows = affected event; diagonal: log base rate)")
fig.tight_layout()
fig.savefig(OUT / "ctmc_theta.png", dpi=120)

# %% [markdown]
# ## 3. Most likely orders
# For a tumour carrying TP53, IDH1, ATRX and EGFR, which order is most likely (Viterbi over
# the subsets of its events), and how much probability do the runners-up carry? The true
# model's answer is printed below it: compare them.

# %%
events = ["TP53", "IDH1", "ATRX", "EGFR"]
order, logp = model.most_likely_order(events)
print("most likely order (fit): ", " -> ".join(order))
for o, p in model.top_orders(events, k=4):
    print(f"  {p:.3f}  {' -> '.join(o)}")
(true_order, true_p), = truth.top_orders(events, k=1)
print(f"most likely order (truth): {true_p:.3f}  {' -> '.join(true_order)}")

# %% [markdown]
# ## 4. Is the direction determined? Refit from the mirror image
# An MHN fitted to cross-sectional data can explain "A promotes B" about as well as "B
# promotes A". A cheap check: start the fit again from the fitted interactions transposed
# and compare the penalised log-likelihoods of the two optima. When they are close, the data
# do not decide the direction, and every order read from either fit is a guess.
#
# Each fit also reports its *optimality*: the largest amount by which theta violates the
# conditions of an optimum of the penalised likelihood (0 at an exact one). A value far below
# the penalty strength L1 certifies that the optimiser stopped at a genuine local optimum, not
# early; it cannot say whether that optimum is the best one, which only a comparison of the
# penalised log-likelihoods of several optima (as here) can.

# %%
def penalised(m: CTMC) -> float:
    off = m.theta - np.diag(np.diag(m.theta))
    return float(m.log_likelihood(X).mean() - L1 * np.abs(off).sum())


diag = np.diag(np.diag(model.theta))
mirror = CTMC().fit(X, l1=L1, event_names=names, max_steps=STEPS, seed=SEED,
                    theta0=diag + (model.theta - diag).T)
print(f"penalised log-likelihood per tumour: fit {penalised(model):.4f}, "
      f"refit from its mirror {penalised(mirror):.4f}, true theta {penalised(truth):.4f}")
print(f"optimality (0 = exact local optimum; penalty L1 = {L1:.1e}): fit "
      f"{model.fit_info['optimality']:.1e}, mirror refit {mirror.fit_info['optimality']:.1e}")
for a, b in [("TP53", "IDH1"), ("IDH1", "ATRX"), ("ATRX", "EGFR")]:
    print(f"P({a} before {b}): truth {truth.order_probability(a, b):.3f}, fit "
          f"{model.order_probability(a, b):.3f}, mirror refit {mirror.order_probability(a, b):.3f}")

# %% [markdown]
# ## 5. P(TP53 before IDH1), with uncertainty
# `order_probability(a, b)` is P(a occurred before b | both are observed), computed exactly on
# the state space. A Bayesian posterior over theta (pyro: NUTS for few events, SVI beyond) turns
# it into a distribution. The SVI guide is a Gaussian around one optimum: its spread says how
# sharp that optimum is, not whether the mirror optimum of section 4 explains the data as
# well, so a narrow interval here does not make the order certain. In simulations with theta
# drawn from the prior, SVI's 95 % intervals covered the true theta 33-73 % of the time, NUTS's
# 96 %: read these error bars as lower bounds (`method="nuts"` is calibrated, and slower).

# %%
pairs = [("TP53", "IDH1"), ("IDH1", "ATRX"), ("ATRX", "EGFR"), ("EGFR", "PTEN")]
# the guide starts at the penalised fit (the posterior mode under the matching Laplace prior)
model.sample_posterior(X, method="svi", svi_steps=100 if QUICK else 1500,
                       num_samples=20 if QUICK else 100, lr=0.02, seed=SEED)
means, errs, labels, truth_p = [], [], [], []
for a, b in pairs:
    draws = model.order_probability_samples(a, b)
    means.append(draws.mean())
    errs.append(2 * draws.std())
    labels.append(f"{a} before {b}")
    truth_p.append(truth.order_probability(a, b))
    print(f"P({a} before {b}): truth {truth_p[-1]:.3f}, fit "
          f"{model.order_probability(a, b):.3f}, posterior {draws.mean():.3f} "
          f"+- {2 * draws.std():.3f}")
ax = plot_order_probabilities(labels, means, errs, title="P(a before b), posterior mean +- 2 sd")
ax.plot(range(len(pairs)), truth_p, "D", color="C3", ms=5, label="true theta")
ax.legend(fontsize=7, loc="best", frameon=False)
ax.figure.savefig(OUT / "ctmc_order_probabilities.png", dpi=120)  # laid out by the plot

# %% [markdown]
# ## 6. Adding independent events resolves the order (Gotovos et al. 2021)
# Two events: A (rate 1) strongly promotes B (base rate e^-4), so A almost always comes first.
# From the two events alone, "A promotes B" and "B promotes A" explain the cross-sectional data
# nearly equally well: the fitted P(A before B) is far from the truth. Independent events act as
# clocks: their presence tells how old a tumour is, which pins down the order. Clocks must tick
# often enough to be seen: these passengers have base rates 0.05-0.5, against 0.01-0.3 for the
# ten passengers of section 1, which did not settle the direction there.

# %%
extra = [0, 10] if QUICK else [0, 5, 10, 14]
reps = 1 if QUICK else 4  # each cohort is one draw; the fit can also land in the mirror optimum
estimates, all_values = [], []
for m in extra:
    values = []
    for rep in range(reps):
        theta_m, names_m = block_theta(m, blocks="synth2", rate_range=(0.05, 0.5), seed=rep)
        x_m = CTMC(theta_m, names_m).sample(400 if QUICK else 1000, seed=100 + rep).X
        fit_m = CTMC().fit(x_m, l1=0.01, event_names=names_m, max_steps=200 if QUICK else 500)
        values.append(fit_m.order_probability("A", "B"))
    estimates.append(float(np.median(values)))
    all_values.append(values)
    print(f"{m:>3} independent events: P(A before B) = {np.round(values, 3)} "
          f"(truth {CTMC(theta_m, names_m).order_probability('A', 'B'):.3f})")
fig, ax = plt.subplots(figsize=(4.5, 3.2))
for m, values in zip(extra, all_values):
    ax.plot([m] * len(values), values, "o", color="0.6", ms=4, label=None if m else "one cohort")
ax.plot(extra, estimates, "-", color="C0", label="fitted (median of repeats)")
ax.axhline(CTMC(block_theta(0, blocks="synth2")[0]).order_probability(0, 1), color="k", ls="--",
           label="truth")
ax.set_xlabel("independent events added")
ax.set_ylabel("P(A before B)")
ax.set_ylim(0, 1.02)  # a probability: the whole range, so the gain reads at its true size
ax.set_title("A promotes B (synth2); fits with added passengers", fontsize=9)
ax.legend(fontsize=8, loc="lower right")
fig.tight_layout()
fig.savefig(OUT / "ctmc_adding_events.png", dpi=120)
print(f"figures written to {OUT.resolve()}")

# %% [markdown]
# ## 7. Your own cohort
# Cohorts are often tabulated as the distinct genotypes with the number of tumours carrying
# each. Fit such a table with its counts as `sample_weight`: it is the same fit as the cohort
# with every tumour as its own row. Checked here on the five driver events of section 1.

# %%
drivers = X[:, :5]
genotypes, counts = np.unique(drivers, axis=0, return_counts=True)
per_tumour = CTMC().fit(drivers, l1=L1, event_names=genes, seed=SEED)
per_genotype = CTMC().fit(genotypes, l1=L1, event_names=genes, seed=SEED, sample_weight=counts)
gap = np.abs(per_tumour.theta - per_genotype.theta).max()
print(f"{len(drivers)} tumours carry {len(genotypes)} distinct driver genotypes; largest "
      f"difference between the theta fitted per tumour and per genotype with counts: {gap:.1e}")
assert np.allclose(per_tumour.theta, per_genotype.theta, atol=1e-6)

# %% [markdown]
# A 0/1 CSV/TSV of tumours x events (`read_cohort`) or a MAF-style long table (`read_maf`). Here
# the GBM cohort of the MHN paper (261 tumours x 20 events), which does not ship with prunus:
# set `PRUNUS_GBM_CSV` to your copy, or the section looks for it in `../shared/data` beside the
# source tree and is skipped when it is absent.

# %%
here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
gbm = Path(os.environ.get("PRUNUS_GBM_CSV",
                          here.parent.parent / "shared" / "data" / "gbm_261x20.csv"))
if gbm.is_file() and not QUICK:
    from biomodels.ctmc import read_cohort

    x_gbm, names_gbm, _ = read_cohort(gbm)
    gbm_model = CTMC().fit(x_gbm, l1=1 / len(x_gbm), event_names=names_gbm)
    print(gbm_model.strongest_effects(5).to_string(index=False))
    p_cdk4 = gbm_model.order_probability("CDK4(A)", "MDM2(A)")
    print(f"P(CDK4(A) before MDM2(A)) = {p_cdk4:.3f}")
elif QUICK:
    print("GBM cohort skipped in quick mode (PRUNUS_QUICK=1)")
else:
    print(f"GBM cohort skipped: {gbm} not found (set PRUNUS_GBM_CSV to your copy)")

# %% [markdown]
# ## What this means
# * The fit finds *which* events interact: the large entries sit in the planted block and most
#   effects between passenger events are exactly zero under the L1 penalty.
# * The *direction* of an effect, and so the order, can be undetermined: here the fit and its
#   mirror refit (section 4) are two optima a hundredth of a nat per tumour apart or less, one
#   with the true chain and one with it reversed, and the data cannot choose; both pass the
#   optimality check, which certifies a local optimum, never the best one. Refit from the
#   mirror before reading orders, report P(a before b) from both optima when they tie, and do
#   not take a narrow SVI interval (one optimum) as proof of a settled order.
# * Two events alone leave the order underspecified; panels with many more independent events
#   that occur often enough resolve it (section 6), which is why the scalable fit
#   (`method="mcmc"`, Gotovos et al.) matters for whole-exome cohorts with hundreds of events.
