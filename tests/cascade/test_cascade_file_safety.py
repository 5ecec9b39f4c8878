"""Saved cascade fits that were edited or crafted: refused on load, naming file and field."""

from __future__ import annotations

import json

import pytest
import torch

from biomodels.cascade import CascadeFit, CascadeGraph

# three edge types, one shared weight each: edge i has type i % 3
_EDGES = [(0, 1, 0.3), (1, 2, 0.3), (1, 3, 0.3), (3, 4, 0.3), (3, 5, 0.3), (0, 6, 0.3)]


@pytest.fixture
def saved(tmp_path):
    """A saved fit (share='type') on a 7-node tree, its graph and its JSON state."""
    g = CascadeGraph.from_edges(_EDGES)
    fit = CascadeFit(g, seeds=[0], share="type", edge_type=[i % 3 for i in range(6)],
                     init=0.3)
    fit.logits = torch.tensor([-1.0, 0.5, 2.0], dtype=g.dtype)
    path = fit.save(tmp_path / "fit.json")
    return path, g, json.loads(path.read_text())


def _old(state):
    """The format before the logits were saved (no format tag, logits or settings)."""
    return {k: state[k] for k in ("share", "method", "index", "shared_weights",
                                  "seed_probabilities", "graph", "history")}


def _edit(path, state, **fields):
    path.write_text(json.dumps({**state, **fields}))
    return path


_EDITS = [
    # loaded; then fit.weights raised IndexError: index out of range in self
    ({"index": [-1, 1, 2, 0, 1, 2]}, False,
     r"index must hold shared-weight numbers 0 to 2 \(one per value of shared_weights\), "
     r"got -1"),
    ({"index": [0, 1, 2, 0, 1, 7]}, False, r"index must hold shared-weight numbers 0 to 2 "
                                           r"\(one per value of shared_weights\), got 7"),
    # 0.7 was truncated to 0 (and 1.9 to 1): another weight for those edges
    ({"index": [0.7, 1, 2, 0, 1.9, 2]}, False, r"index must be a list of integers"),
    ({"index": [True, 1, 2, 0, 1, 2]}, False, r"index must be a list of integers"),
    # weight 1 named by no edge: the types were renumbered and edge 5 got weight 1's value
    ({"index": [0, 2, 2, 0, 2, 2]}, False, r"index names no edge of shared weight \[1\]"),
    ({"share": "bogus"}, False, r"share is 'bogus', not one of \['type', 'edge', 'all'\]"),
    ({"share": "all"}, False, r"share is 'all' but index names 3 shared weights"),
    ({"share": "edge"}, False, r"share is 'edge' but index does not give each edge its own"),
    ({"method": "bogus"}, False, r"method is 'bogus', not one of \['auto', 'tree', 'tda'\]"),
    # the old format, without logits: null was a NaN weight, 2.5 was clamped to 1
    ({"shared_weights": [0.2, None, 0.9]}, True,
     r"shared_weights must be probabilities in \[0, 1\], got \[0.2, None, 0.9\]"),
    ({"shared_weights": [0.2, 2.5, 0.9]}, True,
     r"shared_weights must be probabilities in \[0, 1\], got \[0.2, 2.5, 0.9\]"),
    ({"shared_weights": [0.2, 2.5, 0.9]}, False, r"shared_weights must be probabilities"),
    # refused by seed_probabilities, naming no file
    ({"seed_probabilities": [5.0] + [0.0] * 6}, False,
     r"seed_probabilities must be 7 probabilities in \[0, 1\] \(one per node\)"),
    ({"seed_probabilities": [None] * 7}, True, r"seed_probabilities must be 7 probabilities"),
    ({"seed_probabilities": [1.0]}, False, r"seed_probabilities must be 7 probabilities"),
    ({"epochs_run": "many"}, False, r"epochs_run must be an integer or null, got 'many'"),
]


@pytest.mark.parametrize("fields, old, message", _EDITS, ids=[
    "-".join(f"{k}={v}" for k, v in f.items())[:40] + "-old" * o for f, o, _ in _EDITS])
def test_load_refuses_an_edited_fit_naming_file_and_field(saved, tmp_path, fields, old,
                                                          message):
    path, g, state = saved
    edited = _edit(tmp_path / "edited.json", _old(state) if old else state, **fields)
    with pytest.raises(ValueError, match=r"^\S*edited\.json is not a valid saved cascade "
                                         r"fit: " + message):
        CascadeFit.load(edited, g)


def test_files_of_the_old_formats_still_load(saved, tmp_path):
    path, g, state = saved
    fit = CascadeFit.load(path, g)
    torch.testing.assert_close(fit.weights, torch.sigmoid(torch.tensor(
        [-1.0, 0.5, 2.0], dtype=g.dtype))[[0, 1, 2, 0, 1, 2]])
    # before the logits: the weights, a weight of exactly 1 (a logit beyond 36.7) clamped
    old = _old(state)
    old["shared_weights"] = [0.25, 0.5, 1.0]
    back = CascadeFit.load(_edit(tmp_path / "old.json", old), g)
    torch.testing.assert_close(back.shared_weights, torch.tensor([0.25, 0.5, 1.0],
                                                                 dtype=g.dtype))
    assert back.share == "type" and back.method == "auto" and back.history == []
    # the first format: share, method, index, shared_weights and history (no seeding)
    first = {k: old[k] for k in ("share", "method", "index", "shared_weights", "history")}
    back = CascadeFit.load(_edit(tmp_path / "first.json", first), g, seeds=[0])
    torch.testing.assert_close(back.shared_weights, torch.tensor([0.25, 0.5, 1.0],
                                                                 dtype=g.dtype))
    # one weight for all edges, one per edge
    for share in ("all", "edge"):
        again = CascadeFit(g, seeds=[0], share=share, init=0.3).save(tmp_path / f"{share}.json")
        assert CascadeFit.load(again, g).share == share
