"""Opt-in benchmarks for biomodels.cascade.

Run: ``pytest -m benchmark -s tests/benchmarks/test_bench_cascade.py``.


* exact SDP on random trees, N = 1,000 and 10,000 (targets 0.05 s and 0.3 s on CPU);
* time for Monte Carlo peers (cynetdiff, EoN, NDlib) to reach total variation 0.01 on a
  tree where the exact answer is known, as ratios to SDP. Both sides start from the same
  networkx graph and are charged their setup (our graph and plan, the peers' model
  objects; one-off, not per run), so no side is timed with a warm cache the other lacks.
  Peers run in a subprocess of
  ``$PRUNUS_CASCADE_PEERS`` (default ``/work/peers/cascade/bin/python`` if present, else
  this interpreter, where ``.[bench]`` installs them); a peer not installed there is
  reported and left out, the test is skipped (after printing and checking prunus's rows)
  when none is installed, and a peer that is installed but fails fails it;
* the full loopy comparison: TDA (message spanning tree, and the paper's weight
  spanning tree) and the Poisson-binomial baseline against 10^5 Monte Carlo runs.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import torch

from biomodels.cascade import (
    CascadeGraph,
    bp_marginals,
    expected_tv_error,
    monte_carlo,
    poisson_binomial,
    seed_probabilities,
    tda_size_distribution,
    total_variation,
    tree_plan,
    tree_size_distribution,
)

pytestmark = pytest.mark.benchmark

# the peers' own venv where there is one, else this interpreter (pip install -e ".[bench]")
_PEER_VENV = "/work/peers/cascade/bin/python"
PEER_PY = os.environ.get("PRUNUS_CASCADE_PEERS") or (
    _PEER_VENV if Path(_PEER_VENV).exists() else sys.executable)
# the module each peer imports: absent from PEER_PY means "not installed", not "failed"
_PEER_MODULES = {"cynetdiff": "cynetdiff", "eon": "EoN", "ndlib": "ndlib"}


def _peer_installed(lib: str) -> bool:
    """Whether ``PEER_PY`` exists and finds the peer's module (without importing it)."""
    if not Path(PEER_PY).is_file():  # a folder given for the interpreter: missing too
        return False
    probe = subprocess.run(
        [PEER_PY, "-c", "import importlib.util, sys; "
         f"sys.exit(importlib.util.find_spec({_PEER_MODULES[lib]!r}) is None)"],
        capture_output=True,
    )
    return probe.returncode == 0


def _random_tree(n, seed):
    rng = np.random.default_rng(seed)
    T = nx.random_labeled_tree(n, seed=seed)
    edges = [(u, v, rng.uniform(0.1, 0.9)) for u, v in T.edges()]
    edges += [(v, u, rng.uniform(0.1, 0.9)) for u, v in T.edges()]
    return CascadeGraph.from_edges(edges, nodes=list(range(n)))


def _best_time(fn, repeats):
    best = math.inf
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


@pytest.mark.parametrize("n,target", [(1_000, 0.05), (10_000, 0.3)])
def test_bench_tree_speed(n, target):
    """Plan + pass, best of 5. Wall time on a shared machine also counts other users'
    work, so the target is checked on the process CPU time (single thread); both print.
    The graph caches its plan after the first call: each repeat builds one explicitly."""
    torch.set_num_threads(1)
    g = _random_tree(n, seed=n)
    p = seed_probabilities(g, seed_prob=0.01)
    wall, cpu = math.inf, math.inf
    for _ in range(5):
        t0, c0 = time.perf_counter(), time.process_time()
        P = tree_size_distribution(g, p, plan=tree_plan(g))
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    print(
        f"\nSDP random tree N={n}: wall {wall:.4f} s, CPU {cpu:.4f} s (target {target} s, "
        f"ratio {cpu / target:.2f}; plain numpy reference 1.35 s at 10k); "
        f"sum - 1 = {float(P.sum()) - 1:.1e}; load average {os.getloadavg()[0]:.1f}"
    )
    assert abs(float(P.sum()) - 1) < 1e-10
    assert cpu < target


PEER_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import networkx as nx, numpy as np
    lib, path = sys.argv[1], sys.argv[2]
    seed, runs, w = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    T = nx.read_edgelist(path, nodetype=int)
    n = T.number_of_nodes()
    sizes = []
    # model construction (not the import) is charged as setup, as our graph and plan are
    if lib == "cynetdiff":
        from cynetdiff.utils import networkx_to_ic_model
        t_setup = time.perf_counter()
        D = T.to_directed()
        model, mapping = networkx_to_ic_model(D, activation_prob=w, rng=np.random.default_rng(1))
        model.set_seeds([mapping[seed]])
        setup = time.perf_counter() - t_setup
        t0 = time.perf_counter()
        for _ in range(runs):
            model.reset_model()
            model.advance_until_completion()
            sizes.append(model.get_num_activated_nodes())
    elif lib == "eon":
        import EoN
        t_setup = time.perf_counter()
        rng = np.random.default_rng(1)
        setup = time.perf_counter() - t_setup
        t0 = time.perf_counter()
        for _ in range(runs):
            t, S, I, R = EoN.basic_discrete_SIR(T, w, initial_infecteds=[seed], rng=rng)
            sizes.append(int(R[-1]))
    elif lib == "ndlib":
        import ndlib.models.ModelConfig as mc
        import ndlib.models.epidemics as ep
        t_setup = time.perf_counter()
        model = ep.IndependentCascadesModel(T, seed=1)
        cfg = mc.Configuration()
        cfg.add_model_initial_configuration("Infected", [seed])
        for e in T.edges():
            cfg.add_edge_configuration("threshold", e, w)
        model.set_initial_status(cfg)
        setup = time.perf_counter() - t_setup
        t0 = time.perf_counter()
        for _ in range(runs):
            model.reset()
            while True:
                it = model.iteration(node_status=False)
                if it["node_count"].get(1, 0) == 0:
                    break
            sizes.append(int(it["node_count"].get(2, 0)))
    elapsed = time.perf_counter() - t0
    print(json.dumps({"elapsed": elapsed, "setup": setup, "runs": runs, "sizes": sizes}))
    """
)


def test_bench_peers_time_to_tv_001(tmp_path):
    """Time to TV 0.01 on a random tree (N = 1,000, one seed, w = 0.8 both ways)."""
    torch.set_num_threads(1)
    n, w, seed = 1000, 0.8, 0
    T = nx.random_labeled_tree(n, seed=11)

    def exact():  # from the networkx graph: graph, plan and pass (the plan is cached per graph)
        g = CascadeGraph.from_networkx(T, default=w)
        return g, tree_size_distribution(g, seed_probabilities(g, seeds=[seed]))

    t_sdp, (g, P) = _best_time(exact, 5)
    p = seed_probabilities(g, seeds=[seed])
    t_pass, _ = _best_time(lambda: tree_size_distribution(g, p), 5)
    Pn = P.numpy()
    c = np.sqrt(Pn * (1 - Pn)).sum() / math.sqrt(2 * math.pi)
    runs_needed = (c / 0.01) ** 2
    print(f"\nSDP: {t_sdp:.4f} s from the networkx graph (pass alone, plan cached: "
          f"{t_pass:.4f} s); Monte Carlo needs ~{runs_needed:,.0f} runs for TV 0.01")
    k = np.arange(n + 1)
    mean = float((k * Pn).sum())
    sd = math.sqrt(float((k**2 * Pn).sum()) - mean**2)
    rows = []
    # our own vectorised sampler; its setup is building the graph
    t_graph, _ = _best_time(lambda: CascadeGraph.from_networkx(T, default=w), 5)
    t_mc, res = _best_time(lambda: monte_carlo(g, p, n_runs=20_000, seed=1), 1)
    rows.append(("prunus monte_carlo", 20_000 / t_mc, total_variation(P, res.distribution),
                 20_000, t_graph, res.sizes.mean()))
    edgelist = tmp_path / "tree.edgelist"
    nx.write_edgelist(T, edgelist, data=False)
    script = tmp_path / "peer.py"
    script.write_text(PEER_SCRIPT)
    missing, failed = [], []
    for lib, runs in (("cynetdiff", 50_000), ("eon", 3_000), ("ndlib", 200)):
        if not _peer_installed(lib):
            missing.append(lib)
            print(f"{lib}: not installed in {PEER_PY} (set PRUNUS_CASCADE_PEERS), left out")
            continue
        proc = subprocess.run(
            [PEER_PY, str(script), lib, str(edgelist), str(seed), str(runs), str(w)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            # an installed peer that fails is a failure (it was printed and the test passed)
            failed.append(f"{lib}: {proc.stderr.strip().splitlines()[-1:]}")
            print(f"{lib}: failed ({proc.stderr.strip().splitlines()[-1:]})")
            continue
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        dist = np.bincount(out["sizes"], minlength=n + 1) / out["runs"]
        rows.append((lib, out["runs"] / out["elapsed"], total_variation(P, dist), out["runs"],
                     out["setup"], float(np.mean(out["sizes"]))))
    print(f"{'sampler':20s} {'runs/s':>10s} {'TV(M)':>7s} {'exp.err':>7s} {'setup':>7s} "
          f"{'t(TV .01)':>10s}   ratio  mean (exact {mean:.1f})")
    for name, rate, tv, runs, setup, m in rows:
        t_needed = setup + runs_needed / rate
        err = expected_tv_error(P, runs)
        print(
            f"{name:20s} {rate:10.0f} {tv:7.3f} {err:7.3f} {setup:6.3f}s {t_needed:9.2f}s "
            f"{t_needed / t_sdp:7.0f}x  {m:6.1f}"
        )
        # the peers simulate the same model: their histograms agree with SDP. With NDlib's
        # 200 runs the TV bound exceeds 1 (it cannot fail); the mean would catch another
        # model (NDlib with one edge unconfigured falls back to 1/degree: mean 2.5, not 23.8)
        assert tv < 4 * err + 0.01
        assert abs(m - mean) < 5 * sd / math.sqrt(runs)
    if failed:
        pytest.fail(f"installed peers failed in {PEER_PY}: " + "; ".join(failed))
    if len(missing) == len(_PEER_MODULES):  # it passed with prunus's row alone
        pytest.skip(f"no peer ({', '.join(missing)}) installed in {PEER_PY}: set "
                    "PRUNUS_CASCADE_PEERS to a Python with cynetdiff, EoN and NDlib "
                    "(pip install -e '.[bench]'); prunus's rows were printed and checked")


CASES = [
    (
        "3-regular w=.3 one seed",
        lambda: nx.random_regular_graph(3, 1000, seed=1),
        0.3,
        {"seeds": [0]},
    ),
    (
        "3-regular w=.3 p=.01",
        lambda: nx.random_regular_graph(3, 1000, seed=1),
        0.3,
        {"seed_prob": 0.01},
    ),
    (
        "ER k=4 w=.2 p=.01",
        lambda: nx.gnp_random_graph(1000, 4 / 999, seed=1),
        0.2,
        {"seed_prob": 0.01},
    ),
    (
        "ER k=10 w=.05 one seed",
        lambda: nx.gnp_random_graph(1000, 10 / 999, seed=1),
        0.05,
        {"seeds": [0]},
    ),
    (
        "BA m=2 w=.1 p=.01",
        lambda: nx.barabasi_albert_graph(1000, 2, seed=1),
        0.1,
        {"seed_prob": 0.01},
    ),
]
# where the approximation is poor (reported, not asserted): dense, near-critical, one seed
HARD = [
    (
        "ER k=10 w=.1 one seed",
        lambda: nx.gnp_random_graph(1000, 10 / 999, seed=1),
        0.1,
        {"seeds": [0]},
    ),
    # the BP default (converged against the paper's 10 updates) on both sides of the
    # threshold: 10 updates stop short of the marginals above it (3-regular w = .8: TV 0.99
    # against 0.08) and do somewhat better just below it, where both are far off
    (
        "3-regular w=.5 one seed",
        lambda: nx.random_regular_graph(3, 1000, seed=1),
        0.5,
        {"seeds": [0]},
    ),
    (
        "3-regular w=.8 one seed",
        lambda: nx.random_regular_graph(3, 1000, seed=1),
        0.8,
        {"seeds": [0]},
    ),
    (
        "WS k=4 w=.4 one seed",
        lambda: nx.watts_strogatz_graph(1000, 4, 0.1, seed=1),
        0.4,
        {"seeds": [0]},
    ),
    (
        "ER k=10 w=.2 one seed",
        lambda: nx.gnp_random_graph(1000, 10 / 999, seed=1),
        0.2,
        {"seeds": [0]},
    ),
]


def test_bench_loopy_full():
    torch.set_num_threads(1)
    print(
        f"\n{'case':26s} {'TDA':>6s} {'BP 10':>6s} {'TDA-paper':>9s} {'PoisBin':>8s} "
        f"{'mixture':>8s} "
        f"{'MC err':>7s} {'t TDA':>7s} {'t mix':>7s} {'t MC':>7s}"
    )
    print("TDA: converged BP, message spanning tree, exact P(1), P(2)")
    print("BP 10: the default with 10 BP steps (iterations=10), as on directed graphs")
    print("TDA-paper: 10 BP steps, weight spanning tree, only P(0) exact")
    print("mixture: TDA per possible seed, combined as independent cascades (random seeds)")
    for name, make, w, seeds in CASES + HARD:
        g = CascadeGraph.from_networkx(make(), default=w)
        p = seed_probabilities(g, **seeds)
        t0 = time.perf_counter()
        mc = monte_carlo(g, p, n_runs=100_000, seed=7)
        t_mc = time.perf_counter() - t0
        t_tda, P = _best_time(lambda g=g, p=p: tda_size_distribution(g, p), 3)
        P_paper = tda_size_distribution(
            g, p, iterations=10, spanning_tree="weights", exact_head=False
        )
        tv_ten = total_variation(tda_size_distribution(g, p, iterations=10), mc.distribution)
        pb = poisson_binomial(bp_marginals(g, p))
        tv = total_variation(P, mc.distribution)
        tv_paper = total_variation(P_paper, mc.distribution)
        tv_pb = total_variation(pb, mc.distribution)
        tv_mix, t_mix = math.nan, math.nan
        if "seed_prob" in seeds:  # the seed mixture is for random seeds
            t0 = time.perf_counter()
            mix = tda_size_distribution(g, p, seed_mixture=True)
            t_mix = time.perf_counter() - t0
            tv_mix = total_variation(mix, mc.distribution)
        print(
            f"{name:26s} {tv:6.3f} {tv_ten:6.3f} {tv_paper:9.3f} {tv_pb:8.3f} {tv_mix:8.3f} "
            f"{mc.expected_error:7.4f} {t_tda:6.3f}s {t_mix:6.1f}s {t_mc:6.1f}s"
        )
        if (name, make, w, seeds) in CASES:
            assert tv + 6 * mc.expected_error < tv_pb


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-m", "benchmark", "-s"]))
