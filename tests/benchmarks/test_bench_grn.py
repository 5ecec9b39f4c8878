"""Opt-in GRN benchmarks: time per epoch and peak memory vs genes; GENIE3/GRNBoost2 side by side.

Run with ``pytest -m benchmark -s tests/benchmarks/test_bench_grn.py``. Each size runs in a
fresh Python process so that its peak resident memory (``ru_maxrss``) is its own. The peer
comparison needs a separately pinned environment with arboreto 0.1.6 (dask/distributed
2024.2.1, numpy < 2, pandas < 2.2) at ``$PRUNUS_GRN_PEER_PYTHON`` (default
``/work/peers/grn/bin/python``); it is skipped otherwise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

pytestmark = pytest.mark.benchmark

_EPOCH_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys, time
    import torch
    torch.set_num_threads(1)
    from biomodels.grn.odefunc import PhoenixODEFunc
    from biomodels.grn.train import fit, make_pairs
    from biomodels.grn.dash import DashPruner, PruningSchedule
    g, method, device = int(sys.argv[1]), sys.argv[2], torch.device(sys.argv[3])
    cuda = device.type == "cuda"
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    gen = torch.Generator().manual_seed(0)
    n_traj, n_t = 20, 6
    x = torch.rand(n_traj * n_t, g, generator=gen).to(device)
    t = (torch.arange(n_t, dtype=torch.float32).repeat(n_traj) * 0.2).to(device)
    traj = torch.arange(n_traj).repeat_interleave(n_t).to(device)
    pairs = make_pairs(x, t, traj)
    func = PhoenixODEFunc(g, 40, generator=gen, device=device)
    prior = (torch.rand(g, g, generator=gen) < min(1.0, 3.0 / g)).float().to(device)

    def clock():
        if cuda:
            torch.cuda.synchronize()
        return time.perf_counter()

    opts = {"step_size": 0.5} if method == "rk4" else None
    pruner = DashPruner("dash", prior=prior, schedule=PruningSchedule(first_epoch=1, every=1))
    fit(func, pairs, None, epochs=1, method=method, options=opts, batch_size=32)  # warm-up
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    start = clock()
    fit(func, pairs, None, epochs=3, method=method, options=opts, batch_size=32)
    per_epoch = (clock() - start) / 3
    start = clock()
    fit(func, pairs, None, epochs=2, method=method, options=opts, batch_size=32, pruner=pruner)
    with_dash = (clock() - start) / 2
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    row = {"genes": g, "method": method, "device": device.type, "pairs": len(pairs),
           "s_per_epoch": per_epoch, "s_per_epoch_with_dash_round": with_dash,
           "peak_rss_mb": peak / 1024, "rss_growth_mb": (peak - base) / 1024}
    if cuda:
        row["peak_gpu_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    print(json.dumps(row))
    """
)


def _run_size(g: int, method: str, device: str = "cpu") -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", _EPOCH_SCRIPT, str(g), method, device],
                         capture_output=True, text=True, env=env, check=True, timeout=900)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_bench_time_and_memory_vs_genes():
    rows = [_run_size(g, m) for g in (10, 100, 1000) for m in ("rk4", "dopri5")]
    table = pd.DataFrame(rows)
    print("\nGRN ODE (h = 40, 100 pairs, batch 32, 1 thread, float32)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    small = table[(table.genes == 10) & (table.method == "rk4")].s_per_epoch.item()
    big = table[(table.genes == 1000) & (table.method == "rk4")].s_per_epoch.item()
    print(f"epoch time ratio 1000 / 10 genes (rk4): {big / small:.1f}x")
    assert (table.s_per_epoch > 0).all()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_bench_gpu_time_and_memory_vs_genes():
    """1000-10000 genes on the GPU, same data and schedule as the CPU sweep, 1000 on both."""
    rows = [_run_size(1000, "rk4", "cpu")]
    rows += [_run_size(g, m, "cuda") for g in (1000, 3000, 10000) for m in ("rk4", "dopri5")]
    table = pd.DataFrame(rows)
    print(f"\nGRN ODE on {torch.cuda.get_device_name()} (h = 40, 100 pairs, batch 32, float32)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    cpu = table[(table.device == "cpu")].s_per_epoch.item()
    gpu = table[(table.device == "cuda") & (table.genes == 1000) & (table.method == "rk4")]
    print(f"1000 genes, rk4: GPU {cpu / gpu.s_per_epoch.item():.1f}x faster than 1 CPU thread")
    assert (table.s_per_epoch > 0).all()


_PEER_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import pandas as pd
    from distributed import Client, LocalCluster
    from arboreto.algo import genie3, grnboost2
    expr = pd.read_csv(sys.argv[1], index_col=0)
    tfs = sys.argv[2].split(",") if len(sys.argv) > 2 else "all"
    out = {}
    for name, algo in (("GENIE3", genie3), ("GRNBoost2", grnboost2)):
        cluster = LocalCluster(n_workers=1, threads_per_worker=2, processes=False)
        client = Client(cluster)
        start = time.perf_counter()
        links = algo(expression_data=expr, tf_names=tfs, client_or_address=client, seed=0)
        out[name] = {"seconds": time.perf_counter() - start,
                     "links": links.to_dict(orient="records")}
        client.close(); cluster.close()
    print(json.dumps(out))
    """
)


def _peer_python() -> Path:
    """The pinned arboreto environment's interpreter; skips the test when it is absent."""
    peer = Path(os.environ.get("PRUNUS_GRN_PEER_PYTHON", "/work/peers/grn/bin/python"))
    if not peer.is_file():
        pytest.skip(f"no pinned arboreto environment at {peer}: set PRUNUS_GRN_PEER_PYTHON "
                    "to a Python with arboreto 0.1.6 (dask/distributed 2024.2.1, numpy < 2)")
    return peer


def _peer_networks(peer: Path, x, genes: list[str], csv: Path,
                   tfs: list[str] | None = None) -> dict[str, tuple]:
    """GENIE3 and GRNBoost2 on the cells x genes matrix ``x``: ``{name: (seconds, network)}``.

    Every gene is a candidate regulator unless ``tfs`` (arboreto's ``tf_names``) is given;
    the networks are labelled genes x genes frames, rows regulators, columns targets, 0 for
    pairs not scored.
    """
    pd.DataFrame(x, columns=genes).to_csv(csv)
    res = subprocess.run([str(peer), "-c", _PEER_SCRIPT, str(csv)] + ([",".join(tfs)] if tfs
                         else []), capture_output=True, text=True, check=True, timeout=3600)
    out = {}
    for name, r in json.loads(res.stdout.strip().splitlines()[-1]).items():
        net = pd.DataFrame(0.0, index=genes, columns=genes)
        for link in r["links"]:
            net.loc[link["TF"], link["target"]] = link["importance"]
        out[name] = (r["seconds"], net)
    return out


def test_bench_krumsiek_vs_arboreto(tmp_path):
    peer = _peer_python()
    from biomodels.grn import GRNModel, corrupt_prior, datasets, evaluate, rank_prior_first
    from biomodels.grn.cli import DEMO_DEFAULTS

    adata = datasets.krumsiek11()
    genes = list(adata.var_names)
    truth = pd.DataFrame(adata.varp["truth"], index=genes, columns=genes)
    # every network learnt without a prior, ranked within the same 8 corrupted priors
    priors = [corrupt_prior(truth, 0.2, seed=s) for s in range(8)]

    def prior_first(net: pd.DataFrame) -> float:
        return sum(evaluate(rank_prior_first(net, p), truth)["auroc"] for p in priors) / 8

    rows = []
    for name, (seconds, net) in _peer_networks(peer, adata.X, genes, tmp_path / "x.csv").items():
        m = evaluate(net, truth)
        rows.append({"method": name, "seconds": seconds, "auroc": m["auroc"],
                     "auprc": m["auprc"], "epr": m["epr"], "prior_first": prior_first(net)})
    for label, prior, kwargs in (
        ("GRN ODE, no prior", None, {"pruning": "none"}),
        ("GRN ODE + DASH, 20% corrupted prior", corrupt_prior(truth, 0.2, seed=0),
         {"pruning": "dash", "prior_weight": DEMO_DEFAULTS["prior_weight"],
          "prior_scaling": DEMO_DEFAULTS["prior_scaling"]}),
    ):
        model = GRNModel(adata, time_key="time", trajectory_key="trajectory", prior=prior,
                         n_hidden=11 if prior is None else 64, seed=0)
        start = time.perf_counter()
        model.train(60, method="rk4", step_size=0.5, progress=False, **kwargs)
        m = model.evaluate(truth)
        rows.append({"method": label, "seconds": time.perf_counter() - start,
                     "auroc": m["auroc"], "auprc": m["auprc"], "epr": m["epr"],
                     "prior_first": (prior_first(model.network(normalize="target"))
                                     if prior is None else float("nan"))})
    table = pd.DataFrame(rows)
    print("\nkrumsiek11 (110 directed non-self pairs, 26 true); prior_first: mean AUROC of the "
          "network ranked within each of 8 priors with 20% of the edges corrupted "
          "(rank_prior_first, corruption seeds 0-7)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    ode = table.set_index("method").loc["GRN ODE, no prior"]
    g3 = table.set_index("method").loc["GENIE3"]
    print(f"AUROC ratio no-prior ODE / GENIE3: {ode.auroc / g3.auroc:.2f}; "
          f"prior-first ratio: {ode.prior_first / g3.prior_first:.2f}; "
          f"time ratio: {ode.seconds / g3.seconds:.2f}")
    # README: ranked prior-first, the ODE's network is about as good as GENIE3's (0.929
    # against 0.942, ratio 0.99); the ODE's own ranking over seeds spans 0.904-0.959 (README,
    # -k krumsiek_over_seeds), 0.96 of GENIE3's at its lowest. It asserted nothing before.
    assert ode.prior_first / g3.prior_first >= 0.95


def _bench_seeds() -> list[int]:
    """Seeds of the seed sweeps: ``$PRUNUS_BENCH_SEEDS`` (comma-separated), default 0-7."""
    seeds = os.environ.get("PRUNUS_BENCH_SEEDS", "0,1,2,3,4,5,6,7").split(",")
    out = [int(s) for s in seeds if s.strip()]  # "0,1," too
    if not out:
        pytest.fail("PRUNUS_BENCH_SEEDS holds no seed: give comma-separated integers, e.g. 0,1,2")
    return out


def test_bench_planted_ordering_over_seeds():
    """DASH vs prior-only vs IMP on planted networks, several data/corruption seeds.

    The paper's ordering (DASH ~0.90 > prior-only ~0.88 > IMP ~0.71, SIM350, 200 epochs) is a
    claim about averages; one seed is within the seed-to-seed spread (about +-0.03), so this
    reports every seed, the means and how often DASH wins, for 30, 50 and 350 genes at the
    paper's schedule (200 epochs; at 120, DASH and prior-only tie on 30 genes: 0.857 against
    0.859 over seeds 0-7), and asserts the ordering of the means, DASH ahead of prior-only
    on a majority of seeds and of IMP on every seed.
    """

    from biomodels.grn import GRNModel, corrupt_prior, evaluate, simulate_hill_network

    torch.set_num_threads(1)
    seeds = _bench_seeds()
    for n_genes, epochs, runs in ((30, 200, seeds), (50, 200, seeds), (350, 200, seeds[:2])):
        rows = []
        for seed in runs:
            adata = simulate_hill_network(n_genes, noise=0.05, seed=seed)
            genes = list(adata.var_names)
            truth = pd.DataFrame(adata.varp["truth"], index=genes, columns=genes)
            prior = corrupt_prior(truth, 0.1, seed=seed)
            row: dict[str, float] = {
                "seed": seed, "prior_itself": evaluate(prior, truth)["balanced_accuracy"]}
            for method in ("dash", "prior", "imp"):
                model = GRNModel(adata, time_key="time", trajectory_key="trajectory",
                                 prior=prior, n_hidden=40, seed=0)
                model.train(epochs, pruning=method, method="rk4", step_size=0.5,
                            progress=False)
                m = model.evaluate(truth)
                row[method] = m["balanced_accuracy"]
                if method == "dash":
                    row["sparsity"] = m["weight_sparsity"]
            rows.append(row)
        table = pd.DataFrame(rows)
        print(f"\nplanted Hill network, {n_genes} genes, 5% noise, 10% prior corruption, h = 40, "
              f"{epochs} epochs: balanced accuracy of the non-zero support")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        mean = table[["dash", "prior", "imp"]].mean()
        n = len(table)
        print(f"mean: DASH {mean.dash:.3f}, prior-only {mean.prior:.3f}, IMP {mean.imp:.3f}; "
              f"DASH > prior-only on {int((table.dash > table.prior).sum())}/{n} seeds, "
              f"> IMP on {int((table.dash > table.imp).sum())}/{n}; "
              f"DASH >= 0.85 on {int((table.dash >= 0.85).sum())}/{n}")
        assert (table.sparsity >= 0.90).all()
        # README's ordering, DASH > prior-only > IMP (7/8 and 8/8 seeds at 30 and 50 genes):
        # on the means, DASH ahead of prior-only on a majority of seeds (one seed's spread,
        # about +-0.03, exceeds their gap) and of IMP (0.15-0.2 behind) on every seed.
        # Only the sparsity was asserted before.
        assert mean.dash > mean.prior > mean.imp
        assert 2 * int((table.dash > table.prior).sum()) > n
        assert (table.dash > table.imp).all()


def test_bench_planted_vs_arboreto(tmp_path):
    """Planted Hill networks: GENIE3/GRNBoost2 against the ODE, without a prior and with DASH.

    Time-series data with a known network (the simulator's 100 trajectories of 6 time
    points, 5 % noise), AUROC/AUPRC over all directed non-self pairs, every gene a candidate
    regulator for every method; DASH gets a 10 %-corrupted prior (the prior alone is shown).
    Rows "(TFs)": the transcription factors are known, the peers get them as ``tf_names``
    and the ODE's network keeps only their rows (restricting the fit itself did not do
    better: seeds 0-1 at 30 genes, AUROC 0.941/0.964 against 0.952/0.965). 30 genes with 120
    epochs, 50 with 200. Asserts README's claims: without TFs the ODE ahead of GENIE3 on
    every seed (AUROC of the means at least 1.1x GENIE3's) and of GRNBoost2 on the means;
    with TFs ahead of both on the means.
    """
    from biomodels.grn import GRNModel, corrupt_prior, evaluate, simulate_hill_network

    peer = _peer_python()
    torch.set_num_threads(1)
    for n_genes, epochs in ((30, 120), (50, 200)):
        rows = []
        for seed in _bench_seeds():
            adata = simulate_hill_network(n_genes, noise=0.05, seed=seed)
            genes = list(adata.var_names)
            truth = pd.DataFrame(adata.varp["truth"], index=genes, columns=genes)
            prior = corrupt_prior(truth, 0.1, seed=seed)
            tfs = [g for g, is_tf in zip(genes, adata.var["tf"]) if is_tf]
            csv = tmp_path / f"x{n_genes}_{seed}.csv"
            nets = _peer_networks(peer, adata.X, genes, csv)
            nets |= {f"{k} (TFs)": v for k, v in
                     _peer_networks(peer, adata.X, genes, csv, tfs).items()}
            for label, pr, pruning in (("ODE, no prior", None, "none"),
                                       ("ODE + DASH, prior", prior, "dash")):
                model = GRNModel(adata, time_key="time", trajectory_key="trajectory",
                                 prior=pr, n_hidden=40, seed=0)
                start = time.perf_counter()
                model.train(epochs, pruning=pruning, method="rk4", step_size=0.5,
                            progress=False)
                nets[label] = (time.perf_counter() - start, model.network())
            seconds, ode = nets["ODE, no prior"]
            nets["ODE, no prior (TFs)"] = (seconds, ode.mul(ode.index.isin(tfs), axis=0))
            nets["prior alone"] = (0.0, np.sign(prior))  # its signs, as DASH uses them
            for label, (seconds, net) in nets.items():
                m = evaluate(net, truth)
                rows.append({"seed": seed, "method": label, "auroc": m["auroc"],
                             "auprc": m["auprc"], "seconds": seconds})
        table = pd.DataFrame(rows)
        print(f"\nplanted Hill network, {n_genes} genes ({n_genes * (n_genes - 1)} directed "
              f"pairs), 5% noise, h = 40, {epochs} epochs; AUROC per seed")
        print(table.pivot(index="seed", columns="method", values="auroc").to_string(
            float_format=lambda v: f"{v:.3f}"))
        means = table.groupby("method")[["auroc", "auprc", "seconds"]].mean()
        print(means.to_string(float_format=lambda v: f"{v:.3f}"))
        wide = table.pivot(index="seed", columns="method", values="auroc")
        for tag in ("", " (TFs)"):
            ode, g3 = means.loc[f"ODE, no prior{tag}"], means.loc[f"GENIE3{tag}"]
            ahead = int((wide[f"ODE, no prior{tag}"] > wide[f"GENIE3{tag}"]).sum())
            print(f"ratios ODE without prior / GENIE3{tag}: AUROC {ode.auroc / g3.auroc:.2f}, "
                  f"AUPRC {ode.auprc / g3.auprc:.2f}, time {ode.seconds / g3.seconds:.2f}; "
                  f"ODE ahead on {ahead}/{len(wide)} seeds")
        assert (table.auroc > 0.5).all()
        # README's claims (only AUROC > 0.5 was asserted before): without TFs the ODE is
        # ahead of GENIE3 on every seed, AUROC ratio 1.33 (30 genes) and 1.22 (50), and ahead
        # of GRNBoost2; told the TFs, the order holds on the means (0.970 against 0.941 and
        # 0.926 at 30 genes, ratio 1.03), a gap within one seed's spread: no per-seed claim.
        assert (wide["ODE, no prior"] > wide["GENIE3"]).all()
        assert means.auroc["ODE, no prior"] >= 1.1 * means.auroc["GENIE3"]
        assert means.auroc["ODE, no prior"] > means.auroc["GRNBoost2"]
        for peer_name in ("GENIE3 (TFs)", "GRNBoost2 (TFs)"):
            assert means.auroc["ODE, no prior (TFs)"] > means.auroc[peer_name]


def test_bench_krumsiek_over_seeds():
    """krumsiek11 AUROC over seeds: the demo's settings per prior corruption, and no prior.

    The issue's targets: >= 0.90 with a 20 %-corrupted prior, > 0.83 (GENIE3) without one.
    """

    from biomodels.grn import GRNModel, corrupt_prior, datasets, evaluate, rank_prior_first
    from biomodels.grn.cli import DEMO_DEFAULTS, FIT_DEFAULTS

    torch.set_num_threads(1)
    seeds = _bench_seeds()
    adata = datasets.krumsiek11()
    genes = list(adata.var_names)
    truth = pd.DataFrame(adata.varp["truth"], index=genes, columns=genes)
    rows = []
    for seed in seeds:
        prior = corrupt_prior(truth, 0.2, seed=seed)
        dash = GRNModel(adata, time_key="time", trajectory_key="trajectory", prior=prior,
                        n_hidden=DEMO_DEFAULTS["n_hidden"], seed=seed)
        dash.train(FIT_DEFAULTS["epochs"], pruning="dash", method=FIT_DEFAULTS["method"],
                   step_size=FIT_DEFAULTS["step_size"], prior_weight=DEMO_DEFAULTS["prior_weight"],
                   prior_scaling=DEMO_DEFAULTS["prior_scaling"], progress=False)
        plain = GRNModel(adata, time_key="time", trajectory_key="trajectory", n_hidden=11,
                         seed=seed)
        plain.train(FIT_DEFAULTS["epochs"], pruning="none", method=FIT_DEFAULTS["method"],
                    step_size=FIT_DEFAULTS["step_size"], progress=False)
        m_dash = dash.evaluate(truth)
        m_plain = evaluate(plain.network(normalize="target"), truth, prior=prior)
        # the prior as a user holds it and as DASH uses it: signs. corrupt_prior keeps the
        # simulator's kinetic weights, which ranked its edges by the true strengths (AUPRC
        # 0.741 on average against 0.830 for the signs)
        alone = evaluate(np.sign(prior), truth)
        rows.append({"seed": seed, "prior_alone": alone["auroc"],
                     "prior_auprc": alone["auprc"], "dash_auprc": m_dash["auprc"],
                     "dash_demo": m_dash["auroc"],
                     "no_prior": m_plain["auroc"],
                     "prior_first": evaluate(
                         rank_prior_first(plain.network(normalize="target"), prior), truth
                     )["auroc"],
                     "dash_r2": dash.fit_summary["r2"], "no_prior_r2": plain.fit_summary["r2"],
                     "dash_in_prior": m_dash["auroc_prior_edges"],
                     "dash_new": m_dash["auroc_new_edges"],
                     "dash_first": m_dash["prior_edges_first"],
                     "no_prior_in_prior": m_plain["auroc_prior_edges"],
                     "no_prior_new": m_plain["auroc_new_edges"]})
    table = pd.DataFrame(rows)
    print("\nkrumsiek11 AUROC (110 directed non-self pairs): demo settings with a 20%-corrupted "
          "prior (corruption and model seed = seed), without a prior (h = 11), and that fit's "
          "edges ranked within the prior's support first (rank_prior_first); *_in_prior: "
          "AUROC of the prior's true against its false edges, *_new: of the true edges the "
          "prior lacks against the other pairs outside it, dash_first: P(a prior edge "
          "outranks a pair outside the prior)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for col in ("prior_alone", "dash_demo", "prior_auprc", "dash_auprc", "no_prior",
                "prior_first", "dash_r2",
                "no_prior_r2", "dash_in_prior", "dash_new", "dash_first", "no_prior_in_prior",
                "no_prior_new"):
        print(f"{col:12s} mean {table[col].mean():.3f}  min {table[col].min():.3f}  "
              f"max {table[col].max():.3f}")
    print(f"dash_demo >= 0.90 on {int((table.dash_demo >= 0.90).sum())}/{len(table)} seeds; "
          f"no_prior > 0.83 (GENIE3) on {int((table.no_prior > 0.83).sum())}/{len(table)}; "
          f"prior_first >= 0.90 on {int((table.prior_first >= 0.90).sum())}/{len(table)}")
    assert (table.dash_demo > 0.5).all() and (table.no_prior > 0.5).all()
