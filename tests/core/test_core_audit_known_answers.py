"""Known answers and named refusals found by an audit of the core public API."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from core import (
    HAM,
    HORST,
    IMP,
    Cyclic,
    NanoAdam,
    PILoT,
    geometric_densities,
    kth_largest,
    layer_budgets,
    write_json,
)


@pytest.mark.parametrize("distribution", ["uniform", "erk", "pyramidal"])
@pytest.mark.parametrize(("shapes", "density"), [
    ({"a": (19, 39), "b": (20, 18), "c": (8, 36, 22, 1), "d": (1, 6)}, 0.5),  # pN = 3721.5
    ({"a": (3, 11, 31, 11), "b": (8, 31), "c": (19, 20, 20, 26)}, 0.5),  # pN = 104550.5
    ({"a": (3, 5)}, 0.5),  # pN = 7.5
])
def test_budgets_total_is_round_of_pn_at_half_targets(shapes, density, distribution):
    """The documented total ``round(p N)`` held only up to the float noise of a sum.

    At a target of exactly x.5 the per-layer sum landed on either side of the half, so
    the total was off by one against ``round(p N)`` (and against ``magnitude_mask``).
    """
    n = sum(math.prod(s) for s in shapes.values())
    counts = layer_budgets(shapes, density, distribution)
    assert sum(counts.values()) == round(density * n)
    assert all(0 <= counts[k] <= math.prod(shapes[k]) for k in shapes)


def test_budgets_name_a_shape_that_is_not_a_sequence():
    """``{"a": 4}`` raised "'int' object is not iterable"."""
    with pytest.raises(ValueError, match=r"shapes\['a'\]"):
        layer_budgets({"a": 4}, 0.5)  # type: ignore[dict-item]


def test_nanoadam_refuses_nan_and_truncated_settings_by_name():
    """lr=nan, eps<0 and weight_decay=nan were accepted (weights silently NaN);
    mask_interval=2.5 was silently 2; betas of length 1 raised an IndexError."""
    w = nn.Parameter(torch.ones(3, 3))
    for kwargs, name, err in (({"lr": float("nan")}, "lr", ValueError),
                              ({"eps": -1.0}, "eps", ValueError),
                              ({"weight_decay": float("nan")}, "weight_decay", ValueError),
                              ({"mask_interval": 2.5}, "mask_interval", TypeError),
                              ({"density_interval": 1.5}, "density_interval", TypeError),
                              ({"betas": (0.9,)}, "betas", ValueError)):
        with pytest.raises(err, match=name):
            NanoAdam([w], **kwargs)


def test_integer_settings_are_not_truncated():
    """min_ndim=1.5 (HAM, HORST) and total_epochs=7.5 (PILoT) were silently cut to ints;
    cycles=2.5 and rounds=2.5 failed with messages that did not name the argument."""
    w = nn.Parameter(torch.ones(2, 2))
    with pytest.raises(TypeError, match="min_ndim"):
        HAM(torch.optim.SGD([w], lr=0.1), min_ndim=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="min_ndim"):
        HORST([w], min_ndim=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="total_epochs"):
        PILoT(alpha=1.0, delta=2.0, budget=1.0, total_epochs=7.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="rounds"):
        geometric_densities(0.2, 2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="rate"):
        geometric_densities("0.2", 2)  # type: ignore[arg-type]
    net = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 1))
    with pytest.raises(TypeError, match="cycles"):
        Cyclic(net, torch.optim.SGD(net.parameters(), lr=0.1), 0.5,
               cycles=2.5)  # type: ignore[arg-type]


def test_schedule_refuses_an_unknown_scope_before_training():
    """scope='lyer' was accepted and refused only at the first prune, after a round."""
    net = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 1))
    with pytest.raises(ValueError, match="scope"):
        IMP(net, torch.optim.SGD(net.parameters(), lr=0.1), [0.5],
            scope="lyer")  # type: ignore[arg-type]


def test_kth_largest_names_a_bool_input():
    """A bool tensor raised torch's NotImplementedError ("kthvalue_cpu")."""
    with pytest.raises(ValueError, match="flat"):
        kth_largest(torch.ones(3, dtype=torch.bool), 1)


def test_write_json_says_where_a_bad_key_sits(tmp_path):
    """Tuple keys and mixed str/int keys failed inside json without saying where."""
    with pytest.raises(TypeError, match=r"obj\['run'\]"):
        write_json({"run": {(1, 2): 3}}, tmp_path / "a.json")
    with pytest.raises(TypeError, match=r"obj\['run'\]"):
        write_json({"run": {1: 1, "a": 2}}, tmp_path / "b.json")
    assert not list(tmp_path.iterdir())  # refused before anything was written
    write_json({"run": {1: "x", 2.5: "y"}}, tmp_path / "c.json")  # what JSON takes still goes
    assert json.loads((tmp_path / "c.json").read_text()) == {"run": {"1": "x", "2.5": "y"}}
