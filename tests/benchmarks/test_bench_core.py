"""core vs torch.nn.utils.prune on a ~25M-weight stack of Linear layers (opt-in).

Run: ``pytest -m benchmark -s tests/benchmarks/test_bench_core.py``.

Figures printed:

* global magnitude mask at 90 % sparsity: wall time and peak-RSS increase of
  ``core.magnitude_mask`` + ``MaskSet.attach`` vs ``prune.global_unstructured`` (both
  end with the weights pruned and hooks installed; the same number kept), and a plain
  concat + ``kthvalue`` threshold for reference, each measured in a fresh
  subprocess (``resource.getrusage`` max RSS after minus before, so torch's own
  allocations are captured);
* one SGD training step (batch 256): dense vs masks attached vs prune's hooks;
* mask memory per weight (bool buffers vs prune's extra fp32 state).

The default device is the CPU; set ``PRUNUS_BENCH_DEVICE=cuda`` to time the same
steps on a GPU (memory figures are then CUDA peak allocations).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from torch import nn

pytestmark = pytest.mark.benchmark

DEVICE = os.environ.get("PRUNUS_BENCH_DEVICE", "cpu")
LAYERS, WIDTH, SPARSITY, BATCH = 6, 2048, 0.9, 256

_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    import torch
    from torch import nn
    import torch.nn.utils.prune as prune
    import core

    method, device = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    layers = []
    for _ in range({layers}):
        layers += [nn.Linear({width}, {width}), nn.ReLU()]
    net = nn.Sequential(*layers).to(device)
    linears = [m for m in net if isinstance(m, nn.Linear)]

    def rss_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def run():
        if method == "core":
            # attached, as prune leaves its model: prune's time holds applying the masks
            # and installing its hooks, and the mask alone left that out of ours
            masks = core.magnitude_mask(net, {sparsity})
            masks.attach(net)
            return masks
        if method == "prune":
            prune.global_unstructured([(m, "weight") for m in linears],
                                      pruning_method=prune.L1Unstructured, amount={sparsity})
            return None
        flat = torch.cat([m.weight.detach().abs().reshape(-1) for m in linears])
        k = int(round({sparsity} * flat.numel()))
        thr = torch.kthvalue(flat, k).values
        return [m.weight.detach().abs() > thr for m in linears]

    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = rss_mb()
    t = time.perf_counter()
    out = run()
    if device == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - t
    if device == "cuda":
        extra = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        extra = rss_mb() - base
    kept = None
    if method == "core":
        kept = out.kept()
    elif method == "prune":
        kept = int(sum(m.weight_mask.sum() for m in linears))
    print(json.dumps({{"time": elapsed, "extra_mb": extra, "kept": kept}}))
    """
).format(layers=LAYERS, width=WIDTH, sparsity=SPARSITY)


def _child(method: str) -> dict[str, float]:
    env = dict(os.environ)
    res = subprocess.run([sys.executable, "-c", _CHILD, method, DEVICE], capture_output=True,
                         text=True, check=True, env=env)
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_global_magnitude_mask_vs_prune() -> None:
    reps = 3
    runs = {m: [_child(m) for _ in range(reps)] for m in ("core", "kthvalue", "prune")}
    med = {m: {k: statistics.median(r[k] for r in v) for k in ("time", "extra_mb")}
           for m, v in runs.items()}
    n = LAYERS * WIDTH * WIDTH
    # both sides reach the same sparsity (exact k)
    assert all(r["kept"] == round((1 - SPARSITY) * n) for r in runs["core"] + runs["prune"])
    speed = med["prune"]["time"] / med["core"]["time"]
    mem = med["core"]["extra_mb"] / med["prune"]["extra_mb"]
    print(f"\n[core bench] device={DEVICE} threads={torch.get_num_threads()} "
          f"weights={n:,} sparsity={SPARSITY}")
    for m, v in med.items():
        print(f"  {m:9s} mask: {v['time']:.3f} s (median of {reps} fresh processes), "
              f"peak extra {v['extra_mb']:.0f} MB")
    print(f"  ratio prune/core time: {speed:.1f}x faster; core/prune extra peak memory: "
          f"{mem:.2f}")
    assert speed >= 5.0
    assert mem <= 1 / 3


def _model() -> nn.Module:
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(LAYERS):
        layers += [nn.Linear(WIDTH, WIDTH), nn.ReLU()]
    return nn.Sequential(*layers).to(DEVICE)


def test_training_step_overhead_and_mask_memory() -> None:
    import torch.nn.utils.prune as prune

    from core import magnitude_mask

    g = torch.Generator().manual_seed(1)
    x = torch.randn(BATCH, WIDTH, generator=g).to(DEVICE)
    y = torch.randn(BATCH, WIDTH, generator=g).to(DEVICE)
    setups = {}
    net = _model()
    setups["dense"] = (net, torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9))
    net = _model()
    opt = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9)
    masks = magnitude_mask(net, SPARSITY).attach(net, opt)
    setups["core masks"] = (net, opt)
    net = _model()
    prune.global_unstructured([(m, "weight") for m in net if isinstance(m, nn.Linear)],
                              pruning_method=prune.L1Unstructured, amount=SPARSITY)
    setups["prune hooks"] = (net, torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9))

    def step(net: nn.Module, opt: torch.optim.Optimizer) -> None:
        opt.zero_grad()
        nn.functional.mse_loss(net(x), y).backward()
        opt.step()
        if DEVICE == "cuda":
            torch.cuda.synchronize()

    times: dict[str, list[float]] = {k: [] for k in setups}
    for _ in range(12):  # interleaved so that machine noise hits all three alike
        for k, (net, opt) in setups.items():
            t = time.perf_counter()
            step(net, opt)
            times[k].append(time.perf_counter() - t)
    med = {k: statistics.median(v[2:]) for k, v in times.items()}
    print(f"\n[core bench] training step, batch {BATCH}, SGD+momentum, device={DEVICE}")
    for k, v in med.items():
        print(f"  {k:12s} {v * 1000:.0f} ms  ({v / med['dense']:.3f} x dense)")

    # pruned weights are still exactly zero after the timed steps
    params = dict(setups["core masks"][0].named_parameters())
    assert all(bool((params[n][~m] == 0).all()) for n, m in masks.items())
    mask_bytes = sum(m.numel() * m.element_size() for m in masks.values())
    n = sum(m.numel() for m in masks.values())
    pnet = setups["prune hooks"][0]
    prune_extra = sum(b.numel() * b.element_size() for name, b in pnet.named_buffers()
                      if name.endswith("weight_mask"))
    prune_extra += sum(m.weight.numel() * m.weight.element_size() for m in pnet
                       if isinstance(m, nn.Linear))  # the recomputed `weight` next to weight_orig
    print(f"  mask memory: core {mask_bytes / n:.2f} byte/weight; prune {prune_extra / n:.2f} "
          "byte/weight extra (fp32 weight_mask + recomputed weight)")
    assert mask_bytes == n
    assert med["core masks"] / med["dense"] <= 1.10
