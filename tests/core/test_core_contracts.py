"""The names, defaults and behaviours issue 3 spells out, each checked as spelled."""

from __future__ import annotations

import inspect

import torch
from torch import nn

import core


def test_the_public_names_of_the_issue_are_exported() -> None:
    for name in ("MaskSet", "random_mask", "magnitude_mask", "HAM", "NanoAdam"):
        assert name in core.__all__ and hasattr(core, name), name
    for method in ("attach", "apply", "density"):
        assert callable(getattr(core.MaskSet, method)), method
    assert list(inspect.signature(core.MaskSet.attach).parameters)[1] == "module"
    assert list(inspect.signature(core.MaskSet.apply).parameters)[1:] == ["module"]


def _defaults(func: object) -> dict[str, object]:
    return {n: p.default for n, p in inspect.signature(func).parameters.items()}


def test_signatures_as_the_issue_spells_them() -> None:
    # core.random_mask(model, density, distribution=..., seed=...)
    params = list(inspect.signature(core.random_mask).parameters)
    assert params[:4] == ["model", "density", "distribution", "seed"]
    # core.magnitude_mask(model, sparsity, scope="global")
    assert list(inspect.signature(core.magnitude_mask).parameters)[:3] == [
        "model", "sparsity", "scope"]
    assert _defaults(core.magnitude_mask)["scope"] == "global"
    # core.HAM(optimizer, alpha=200.0, beta=1e-3)
    assert list(inspect.signature(core.HAM).parameters)[:3] == ["optimizer", "alpha", "beta"]
    assert _defaults(core.HAM)["alpha"] == 200.0 and _defaults(core.HAM)["beta"] == 1e-3
    # the four budgets by their names
    from core.budgets import DISTRIBUTIONS

    assert DISTRIBUTIONS == ("uniform", "erk", "balanced", "pyramidal")


def test_ham_defaults_take_the_step_with_alpha_200_and_beta_1e3() -> None:
    w = nn.Parameter(torch.tensor([[0.5, -0.2], [0.1, 0.0]], dtype=torch.float64))
    grad = torch.tensor([[1e-3, 2e-3], [-4e-3, 1.0]], dtype=torch.float64)
    opt = core.HAM(torch.optim.SGD([w], lr=0.5))
    w.grad = grad.clone()
    half = w.detach() - 0.5 * grad
    opt.step()
    expo = (-0.5 * (200.0 * torch.sign(half) * grad + 1e-3)).clamp(-5, 5)
    assert torch.allclose(w.detach(), half * torch.exp(expo), rtol=1e-12, atol=0)


def test_maskset_apply_zeroes_pruned_entries_in_place() -> None:
    lin = nn.Linear(3, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]]))
    weight = lin.weight
    masks = core.MaskSet({"weight": torch.tensor([[True, False, True], [False, True, True]])})
    masks.apply(lin)
    assert lin.weight is weight  # in place, the same Parameter
    assert lin.weight.detach().tolist() == [[1.0, 0.0, 3.0], [0.0, 5.0, -6.0]]
    assert lin.weight.grad_fn is None and lin.weight.requires_grad
    assert not any(k.endswith("_mask") for k in lin.state_dict())  # apply does not attach


def test_sign_in_reset_rebalances_to_one_by_default() -> None:
    torch.manual_seed(0)
    net = nn.Linear(4, 3)
    core.hadamard(net, beta=1e-2)
    before = net.weight.detach().clone()
    core.sign_in_reset(net)  # the issue: m^2 - w^2 = 1 with m * w held fixed
    m, w = core.hadamard_factors(net)["weight"]
    assert torch.allclose(m**2 - w**2, torch.ones_like(m), atol=1e-5)
    assert torch.allclose(net.weight, before, atol=1e-6)


def test_nanoadam_reselects_when_k_changes_between_intervals() -> None:
    """'subset refreshed every m steps or when k changes': a group's density set by hand."""
    g = torch.Generator().manual_seed(0)
    w = nn.Parameter(torch.randn(10, 10, generator=g))
    opt = core.NanoAdam([w], lr=1e-3, density=0.1, mask_interval=100)
    for _ in range(2):
        opt.zero_grad()
        (w**2).sum().backward()
        opt.step()
    assert opt.selected(w).numel() == 10
    opt.param_groups[0]["density"] = 0.3  # k: 10 -> 30, long before step 100
    mags = w.detach().abs().reshape(-1).clone()
    opt.zero_grad()
    (w**2).sum().backward()
    opt.step()
    assert set(opt.selected(w).tolist()) == set(mags.argsort()[:30].tolist())
    assert opt.state[w]["exp_avg"].numel() == 30  # state for the subset only
    # the same k again: the selection is kept until the next interval
    kept = opt.selected(w).clone()
    with torch.no_grad():
        w.mul_(-1.0).add_(0.5)  # the smallest |w| are now other entries
    opt.zero_grad()
    (w**2).sum().backward()
    opt.step()
    assert torch.equal(opt.selected(w), kept)

