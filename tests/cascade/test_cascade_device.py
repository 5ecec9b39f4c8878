"""Device and dtype follow the inputs (CUDA part runs with ``pytest -m gpu``)."""

from __future__ import annotations

import networkx as nx
import pytest
import torch

from biomodels.cascade import CascadeGraph, seed_probabilities, size_distribution


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("method", ["tree", "tda"])
def test_cuda_matches_cpu(method):
    G = nx.random_labeled_tree(500, seed=0) if method == "tree" else nx.cycle_graph(200)
    g = CascadeGraph.from_networkx(G, default=0.6)
    cpu = size_distribution(g, seed_prob=0.01, method=method)
    gc = g.to(device="cuda")
    w = gc.weight.clone().requires_grad_(True)
    gpu = size_distribution(gc.with_weight(w), seed_prob=0.01, method=method)
    assert gpu.device.type == "cuda"
    assert torch.allclose(gpu.cpu(), cpu, atol=1e-13)
    (gpu * torch.arange(gpu.numel(), device="cuda")).sum().backward()
    assert w.grad is not None and torch.isfinite(w.grad).all()


def test_seed_probabilities_follow_graph_dtype():
    g = CascadeGraph.from_networkx(nx.path_graph(4), default=0.5, dtype=torch.float32)
    assert seed_probabilities(g, seed_prob=0.1).dtype == torch.float32
