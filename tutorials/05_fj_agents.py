# %% [markdown]
# # Stubborn neighbours: attacks and defenses in a six-agent debate
#
# Six agents debate a multiple-choice question. We model the debate with the three-force
# Friedkin-Johnsen (FJ) model of *"Don't Trust Stubborn Neighbors"* (Abedini, Mavali,
# Schönherr, Pawelczyk, Burkholz, 2026), find where a single stubborn adversary does the
# most damage, compare the defenses, run the trust-adaptive defense over a stream of
# questions, and fit FJ to a recorded debate.
#
# The update for agent $i$, with innate belief $s_i = b_i(0)$, is
# $b_i(t+1) = \gamma_i s_i + (1-\gamma_i)\,[\alpha_i b_i(t) + (1-\alpha_i) \sum_j W_{ij} b_j(t)]$:
# $\gamma$ is **stubbornness**, $I - \Lambda$ in Friedkin's form, whose $\Lambda$ is the
# susceptibility (Friedkin & Johnsen 1999; Proskurnikov & Tempo 2017);
# $\alpha$ is peer-resistance and $W$ trust.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import multiagent as ma
from multiagent.plot import plot_influence, plot_sweep, plot_trajectories, plot_trust_stream

QUICK = os.environ.get("PRUNUS_QUICK") == "1"
OUT = Path(os.environ.get("PRUNUS_TUTORIAL_OUT", "tutorial-output"))  # figures, files
OUT.mkdir(parents=True, exist_ok=True)
QUESTIONS = 40 if QUICK else 300
STREAM = 40 if QUICK else 200
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. A benign debate
# Six agents on a complete graph, $\gamma = 0.2$, $\alpha = 0.5$, uniform trust, beliefs
# over five options. Every agent ends at a convex mixture of everyone's initial beliefs:
# $B^* = M S$ with $M = (I-H)^{-1}\Gamma$, rows summing to one.

# %%
N_AGENTS = 6  # change it here: every section below follows
A = ma.adjacency(ma.make_graph("complete", N_AGENTS))
fj = ma.FriedkinJohnsen.from_adjacency(A, gamma=0.2, alpha=0.5)
S = rng.dirichlet(np.ones(5), size=N_AGENTS)
traj = fj.rollout(S, 30)
B_star = fj.equilibrium(S)
M = fj.influence_matrix()
print("max |rollout(30) - equilibrium| =", np.abs(traj[-1] - B_star).max())
print("rows of M sum to", M.sum(axis=1).round(12))
# diagonal=True: on a complete graph every off-diagonal weight is the same, so the self-weight
# is the contrast worth seeing (by default the scale spans the off-diagonal weights alone)
plot_influence(M, title="influence matrix M (complete graph)", diagonal=True)
plt.savefig(OUT / "fj_influence_complete.png", dpi=100, bbox_inches="tight")

# %% [markdown]
# ## 2. One stubborn adversary: hub, complete graph or leaf?
# The adversary never moves ($\gamma_a = 1$) and defends a wrong answer. A benign agent's
# equilibrium weight on it has a closed form: $c/(\gamma(N-1)+c)$ on the complete graph,
# $c/(\gamma+c)$ at the hub of a star (for any $N$), and a two-state hub/leaf system when
# it sits at a leaf, with $c = (1-\gamma)(1-\alpha)$.
#
# Damage is measured by the **attack success rate (ASR)**: of the (benign agent, question)
# pairs whose round-0 answer (the option with the largest belief) is right, the share whose
# answer at the final round is wrong; the adversary's own answers are not counted.

# %%
placements = {
    "star hub": ("star", "hub", "star_hub"),
    "complete": ("complete", "hub", "complete"),
    "star leaf": ("star", "leaf", "star_leaf"),
}
fig, axes = plt.subplots(1, 3, figsize=(13, 3.4), sharey=True)
for ax, (label, (graph, pos, key)) in zip(axes, placements.items()):
    sc = ma.Scenario(graph=graph, n=6, gamma=0.2, alpha=0.5, adversaries=(ma.Adversary(pos),))
    res = ma.simulate(sc, questions=QUESTIONS, seed=1)
    closed = ma.closed_form_weight(key, 6, 0.2, 0.5)["mean"]
    print(f"{label:10s} weight on adversary {res.metrics['adversary_weight']:.4f} "
          f"(closed form {closed:.4f})  ASR {res.metrics['asr']:.2f}  "
          f"benign accuracy {res.metrics['accuracy_start']:.2f} -> "
          f"{res.metrics['accuracy_end']:.2f}")
    plot_trajectories(res.trajectories[0], option=int(res.truth[0]),
                      adversaries=sc.adversary_nodes(), ax=ax, title=label,
                      ylabel="belief in the correct option")
fig.tight_layout()
fig.savefig(OUT / "fj_adversary_placements.png", dpi=100)

# %% [markdown]
# The hub is the most dangerous seat (every leaf hears only the adversary), the complete
# graph comes next, a leaf is least harmful: the ordering of attack success reported for
# LLM debates. With $\gamma = 0$ (no anchoring at all) the adversary takes everything:

# %%
sc0 = ma.Scenario(graph="star", gamma=0.0, adversaries=(ma.Adversary("leaf"),))
w0 = ma.adversary_weight(sc0.model(), sc0.adversary_nodes())
print("gamma = 0, adversary at a leaf: weight", round(w0, 6))

# %% [markdown]
# ## 3. The three defenses
# The closed forms name three levers: more benign agents, more stubbornness or
# peer-resistance, and less trust in the adversary. A sweep over each, with the adversary
# on the complete graph, returns a tidy table.

# %%
base = ma.Scenario(graph="complete", n=N_AGENTS, gamma=0.2, alpha=0.5,
                   adversaries=(ma.Adversary("hub"),))
grids = {
    "n": [4, 6, 8, 12, 16],
    "gamma": [0.05, 0.1, 0.2, 0.4, 0.6],
    "alpha": [0.0, 0.25, 0.5, 0.75, 0.9],
    "adversary_persuasion": [1.0, 0.5, 0.2, 0.1, 0.0],
}
fig, axes = plt.subplots(1, 4, figsize=(15, 3.2), sharey=True)
for ax, (key, values) in zip(axes, grids.items()):
    df = ma.sweep(base, {key: values}, questions=QUESTIONS // 2)
    plot_sweep(df, x=key, y="asr", ax=ax)
    plot_sweep(df, x=key, y="adversary_weight", ax=ax)
    ax.legend(["ASR", "adversary weight"], fontsize=7)
    ax.set_ylabel("ASR / weight on adversary")
    print(df[[key, "asr", "adversary_weight", "adversary_weight_closed_form"]].round(3)
          .to_string(index=False))
fig.tight_layout()
fig.savefig(OUT / "fj_defenses.png", dpi=100)

# %% [markdown]
# ## 4. Trust-adaptive defense over a stream of questions
# Warm-up trust is each speaker's accuracy on 10 labelled questions raised to the power 2;
# afterwards trust moves (momentum 0.8, step 0.4) toward 1 or 0 according to whether a
# speaker's *round-0* answer was right, so the online updates assume that each question's
# correct answer becomes known once it is settled (graded tasks, later ground truth). A
# static adversary is found out at once; a sleeper that answers correctly during the warm-up
# fools frozen trust, and online updates fix it.
#
# The run labels are the paper's names of its regimes: **T-W** (warm-up trust, frozen: no
# updates after the warm-up; static adversary), **T-WA** (the same against an *adaptive*
# adversary, a sleeper that answers correctly during the warm-up and attacks afterwards) and
# **T-WS** (warm-up trust with *sparse* online updates, against a sleeper):
# `TrustAdaptiveDefense(..., sparse_fraction=0.2)` updates trust after a random 20 % of the
# questions only (each question independently), where the plain online run updates after
# every one. "No defense" has neither warm-up nor updates: trust stays 1.
#
# ASR is counted over the debated questions only. Every run draws the same stream of
# questions (same seed): the run without warm-up debates its first `STREAM` questions, the
# others the `STREAM` after their 10 labelled ones, so all but 10 debated questions are
# shared. The figure counts each run's debate questions from 0, its warm-up (if any) before.

# %%
def asr(df):
    # attack success rate: benign answers right at round 0 and wrong at the end, over the
    # benign answers right at round 0, summed over the debated (not warm-up) questions
    d = df[df.phase == "debate"]
    return d.flipped.sum() / max(d.right_start.sum(), 1)


runs = {
    "no defense": dict(warmup=0, online=False),
    "warm-up, frozen (T-W)": dict(online=False),
    "sleeper, frozen (T-WA)": dict(online=False, adaptive=True),
    "sleeper, online": dict(adaptive=True),
    "sleeper, sparse 20 % (T-WS)": dict(adaptive=True,
                                        defense=ma.TrustAdaptiveDefense(N_AGENTS,
                                                                        sparse_fraction=0.2)),
}
fig, ax = plt.subplots(figsize=(6.5, 3.4))
# two runs keep trust at 1 throughout: dashes keep both visible
styles = ["-", "-", (0, (5, 3)), "-", "-"]
for (label, kw), ls in zip(runs.items(), styles):
    df = ma.run_trust_stream(base, questions=STREAM, seed=2, **kw)
    d = df[df.phase == "debate"]
    print(f"{label:28s} ASR {asr(df):.3f}  benign accuracy {d.accuracy_end.mean():.3f}")
    # by debate question: every run's first debate at 0, the warm-up (grey) before it
    plot_trust_stream(df, label=label, ax=ax, ls=ls, lw=2 if ls == "-" else 1.6)
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(OUT / "fj_trust_stream.png", dpi=100)

# %% [markdown]
# ## 5. Fitting FJ to a recorded debate
# Scripted agents follow FJ with $\gamma = 0.3$, $\alpha = 0.4$ and random trust; their
# reported beliefs carry noise, as LLM-reported probabilities do. We fit $\gamma$,
# $\alpha$ and $W$ on rounds 0-7 by maximum likelihood and predict rounds 8-10.

# %%
recorded = ma.simulate_transcript(6, 10, 5, gamma=0.3, alpha=0.4, noise=0.01, seed=3)
fit = ma.fit_fj(recorded, train_rounds=7)
(g_lo,), (g_hi,) = fit.interval("gamma")  # 95 % by default
(a_lo,), (a_hi,) = fit.interval("alpha")
print(f"fitted gamma {fit.gamma[0]:.3f} (95 % interval {g_lo:.3f}-{g_hi:.3f}; true 0.3), "
      f"alpha {fit.alpha[0]:.3f} (95 % interval {a_lo:.3f}-{a_hi:.3f}; true 0.4)")
# The intervals say how well each parameter is pinned down by this transcript (they are
# built on the logit scale, so they stay inside [0, 1] even for an estimate near 0 or 1):
# peer-resistance alpha is the weaker one (an agent's own belief and its learned mix of
# peers look alike once beliefs converge), so it is read with its interval.
print("held-out rounds 8-10:", {k: round(v, 4) for k, v in fit.score(recorded).items()})
# (r2_filtered centres each (agent, option) series on its own mean; over three held-out
# rounds those series barely move, so it is a harsh score there.)

# %% [markdown]
# The prediction above is a *roll-out*: the fitted model runs on from round 7 without looking
# at later rounds. That is right while the agents keep behaving as in rounds 0-7. Here they
# dig in after round 7 (stubbornness rises from 0.3 to 0.7), which a fit to rounds 0-7 cannot
# know. *Incremental* prediction (as in MAS-Cascade) predicts each round one step ahead from
# the observed round before it, then nudges gamma, alpha and trust toward the newest
# transition. Three held-out errors (root mean squared error of the beliefs, lower is better)
# separate the two effects: roll-out, one step ahead without updates (`steps=0`), and with
# MAS-Cascade's updates (50 steps of size 0.01).

# %%
drift_rng = np.random.default_rng(4)  # its own generator: later sections draw as before
W_drift = drift_rng.random((6, 6)) + 0.1
np.fill_diagonal(W_drift, 0)
W_drift /= W_drift.sum(axis=1, keepdims=True)
rounds = list(ma.simulate_transcript(6, 7, 5, gamma=0.3, alpha=0.4, W=W_drift, noise=0.01,
                                     seed=4))
dug_in = ma.FriedkinJohnsen(W_drift, gamma=0.7, alpha=0.4)
for _ in range(3):  # rounds 8-10, reported with the same noise
    B = np.clip(dug_in.step(rounds[-1], rounds[0]) + 0.01 * drift_rng.standard_normal((6, 5)),
                0, None)
    rounds.append(B / B.sum(axis=1, keepdims=True))
drifting = np.stack(rounds)
drift_fit = ma.fit_fj(drifting, train_rounds=7)
(d_lo,), (d_hi,) = drift_fit.interval("gamma")
print(f"fitted on rounds 0-7: gamma {drift_fit.gamma[0]:.3f} (95 % interval {d_lo:.3f}-"
      f"{d_hi:.3f}); the agents' stubbornness in rounds 8-10 is 0.7")
for label, debate, f in (("steady debate (section 5)", recorded, fit),
                         ("agents dig in after round 7", drifting, drift_fit)):
    rmse = [f.score(debate)["rmse"], f.score(debate, incremental=True, steps=0)["rmse"],
            f.score(debate, incremental=True)["rmse"]]
    print(f"{label:28s} held-out RMSE: roll-out {rmse[0]:.4f}, one step ahead "
          f"{rmse[1]:.4f}, incremental {rmse[2]:.4f}")
# On the steady debate the three agree; after the change the roll-out drifts away, and most
# of the gain comes from re-anchoring on each observed round: steps of 0.01 move the
# parameters only a little.

# %% [markdown]
# The same works for agents behind the `Agent` protocol: a debate of scripted agents
# (stand-ins for LLMs that report `<BELIEF>{...}</BELIEF>` JSON) produces a transcript in
# the format `fit_fj` takes.

# %%
W = rng.random(A.shape) * A
W /= W.sum(axis=1, keepdims=True)
agents = [ma.ScriptedFJAgent(i, S[i], 0.25, 0.5, W[i], read_text=True)
          for i in range(A.shape[0])]
transcript, texts = ma.run_debate(agents, A, rounds=10)
print(texts[1][0])
refit = ma.fit_fj(transcript, adjacency=A)
print(f"refit from agent texts: gamma {refit.gamma[0]:.3f} (0.25), "
      f"alpha {refit.alpha[0]:.3f} (0.5)")

# %% [markdown]
# ## 6. The mixture-of-experts view
# At equilibrium the mean belief is $\sum_j \pi_j s_j$ with $\pi$ the social power
# (column means of $M$): an implicit router. When confident agents are also more stubborn,
# the router follows confidence, and when confidence tracks skill (here an agent's reported
# distribution is sharper the more often it is right) it moves weight to the skilled agents.
# The system's advantage over its best single agent (Brier loss) splits exactly into
# expertise gain + local diversity - routing regret (Bause et al. 2026).

# %%
Q, K = (100 if QUICK else 400), 5
n = N_AGENTS
labels = rng.integers(0, K, Q)
skill = np.linspace(0.35, 0.8, n)  # P(an agent's pick is right)
beliefs = np.empty((Q, n, K))
for q in range(Q):
    for j in range(n):
        pick = labels[q] if rng.random() < skill[j] else rng.integers(0, K)
        beliefs[q, j] = rng.dirichlet(np.ones(K) + 20 * skill[j] ** 2 * np.eye(K)[pick])
router = np.array([
    ma.equilibrium_router(
        ma.FriedkinJohnsen.from_adjacency(A, 0.05 + 0.9 * ma.confidence(beliefs[q]), 0.3))
    for q in range(Q)
])
print("mean router weight per agent (skill rising):", router.mean(axis=0).round(3))
parts = ma.error_decomposition(beliefs, labels, router)
print({k: round(float(v), 4) for k, v in parts.items() if k != "agent_risks"})
print(f"system Brier {parts['system_risk']:.4f} vs best agent {parts['best_agent_risk']:.4f}: "
      f"advantage {parts['advantage']:+.4f} = gain {parts['expertise_gain']:.4f} + diversity "
      f"{parts['local_diversity']:.4f} - regret {parts['routing_regret']:.4f}")

# %% [markdown]
# In this run the router does move weight toward the skilled agents (about 0.11 for the
# weakest, 0.22 for the best), but not far enough: the debate's answer is worse than its best
# agent's alone (advantage about -0.05), because the routing regret outweighs the expertise
# gain and the diversity. Stubbornness that follows confidence helps only as far as
# confidence follows skill; a deliberation can lose to its best member.

# %% [markdown]
# ## What it means
# A single agent that never changes its mind captures two thirds of every leaf's belief
# from the hub of a star, about 29 % on a complete graph of six and 15 % from a leaf. The
# remedies follow from the same formula: add benign agents, make them more anchored in
# their own first answer, or trust the adversary less. Learning that trust from round-0
# accuracy removes a static attacker quickly; a sleeper defeats frozen warm-up trust,
# which is why the online updates matter.

# %%
print(f"figures written to {OUT.resolve()}")
