"""HAM, HORST, NanoAdam, m*w, Sign-In and PILoT against hand-computed answers."""

from __future__ import annotations

import copy
import math
import pickle
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from core import (
    HAM,
    HORST,
    MaskSet,
    NanoAdam,
    PILoT,
    balanced_split,
    hadamard,
    hadamard_factors,
    hadamard_l1,
    hyperbolic_step,
    magnitude_mask,
    random_mask,
    remove_hadamard,
    sign_in_reset,
)


def _quad(w: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return 0.5 * ((w - target) ** 2).sum()


def test_ham_step_matches_formula_and_follows_lr_schedule() -> None:
    g = torch.Generator().manual_seed(0)
    w = nn.Parameter(torch.randn(4, 5, generator=g, dtype=torch.float64))
    b = nn.Parameter(torch.randn(5, generator=g, dtype=torch.float64))
    target = torch.randn(4, 5, generator=g, dtype=torch.float64)
    opt = HAM(torch.optim.SGD([w, b], lr=0.1), alpha=3.0, beta=0.5)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for lr in (0.1, 0.05, 0.025):
        w0, b0 = w.detach().clone(), b.detach().clone()
        opt.zero_grad()
        (_quad(w, target) + b.sum()).backward()
        grad = w.grad.clone()
        opt.step()
        sched.step()
        half = w0 - lr * grad
        expect = half * torch.exp((-lr * (3.0 * torch.sign(half) * grad + 0.5)).clamp(-5, 5))
        assert torch.allclose(w.detach(), expect, atol=1e-12)
        assert torch.allclose(b.detach(), b0 - lr)  # ndim 1: base step only


def test_ham_clamp_zeros_and_masks() -> None:
    w = nn.Parameter(torch.tensor([[1.0, -2.0, 0.0]], dtype=torch.float64))
    opt = HAM(torch.optim.SGD([w], lr=1.0), alpha=200.0, beta=1e-3)
    w.grad = torch.tensor([[10.0, 10.0, 0.0]], dtype=torch.float64)
    # no base step (lr applies to HAM only through mirror_step): check the clamp
    opt.mirror_step()
    assert w[0, 0].item() == pytest.approx(math.exp(-5.0))
    assert w[0, 1].item() == pytest.approx(-2.0 * math.exp(5.0))
    assert w[0, 2].item() == 0.0  # exact zeros stay zero
    # with masks attached, 200 HAM(Adam) steps keep pruned weights at zero
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))
    ham = HAM(torch.optim.Adam(net.parameters(), lr=1e-3))
    masks = magnitude_mask(net, 0.7).attach(net, ham)
    x = torch.randn(32, 8)
    for _ in range(200):
        ham.zero_grad()
        net(x).pow(2).mean().backward()
        ham.step()
    params = dict(net.named_parameters())
    assert all(bool((params[n][~m] == 0).all()) for n, m in masks.items())
    assert isinstance(ham.state_dict(), dict) and ham.param_groups[0]["lr"] == 1e-3
    with pytest.raises(ValueError, match="alpha"):
        HAM(torch.optim.SGD([w], lr=0.1), alpha=-1.0)
    with pytest.raises(TypeError, match="optimizer"):
        HAM([w])  # type: ignore[arg-type]


def test_ham_with_a_maximizing_base_optimizer_ascends_too() -> None:
    # maximize=True made the base step ascend while the hyperbolic step still descended,
    # undoing it: sum(w) went 0.3 -> -0.05. The step must equal HAM's step on -f.
    w = nn.Parameter(torch.tensor([[0.5, -0.2]], dtype=torch.float64))
    opt = HAM(torch.optim.SGD([w], lr=0.1, maximize=True), alpha=10.0, beta=0.0)
    w.grad = torch.ones_like(w)  # f = sum(w)
    opt.step()
    # half step [0.6, -0.1], then exp(-lr * alpha * sign(half) * grad(-f)) = exp(+-1)
    assert w.detach()[0].tolist() == pytest.approx([0.6 * math.e, -0.1 / math.e], rel=1e-12)
    v = nn.Parameter(torch.tensor([[0.5, -0.2]], dtype=torch.float64))
    v.grad = -torch.ones_like(v)  # grad of -f, minimized
    HAM(torch.optim.SGD([v], lr=0.1), alpha=10.0, beta=0.0).step()
    assert torch.equal(w.detach(), v.detach())


def test_ham_norm_cap_neither_zeroes_overflowing_nor_infinite_tensors() -> None:
    # float32 entries of 3e20 and 4e20 have norm inf in p.norm(), and the cap multiplied
    # them by 1000 / inf: zeros, not the capped [600, 800]
    v = nn.Parameter(torch.tensor([[3e20, 4e20]]))
    v.grad = torch.zeros_like(v)
    with pytest.warns(UserWarning, match=r"rescaled a parameter of shape \(1, 2\) from norm "
                      r"5e\+20 to 1000"):
        HAM(torch.optim.SGD([v], lr=0.0)).step()
    assert v.detach()[0].tolist() == pytest.approx([600.0, 800.0], rel=1e-6)
    # when the norm overflows even after dividing by max|p| (float16 entries of 700: norm
    # 70,000 > 65,504; float32 entries of 3e38), the factor 1000 / inf zeroed the layer
    h = nn.Parameter(torch.full((100, 100), 700.0, dtype=torch.float16))
    h.grad = torch.zeros_like(h)
    with pytest.warns(UserWarning, match=r"\(100, 100\) from norm 7e\+04 to 1000"):
        HAM(torch.optim.SGD([h], lr=0.0), beta=0.0).step()
    assert torch.all(h.detach() == torch.tensor(10.0, dtype=torch.float16))
    f = nn.Parameter(torch.tensor([[3e38, 3e38, 1.0]]))
    f.grad = torch.zeros_like(f)
    with pytest.warns(UserWarning, match=r"\(1, 3\) from norm 4.243e\+38 to 1000"):
        HAM(torch.optim.SGD([f], lr=0.0), beta=0.0).step()
    assert f.detach()[0].tolist() == pytest.approx([1000 / 2**0.5, 1000 / 2**0.5, 0.0], abs=1e-3)
    # SGD on an infinite gradient entry: the cap turned [[-inf, 1.9]] into [[nan, 0]], a
    # layer silently reset; the base optimizer's step now stays as it is
    w = nn.Parameter(torch.tensor([[1.0, 2.0]]))
    w.grad = torch.tensor([[float("inf"), 1.0]])
    HAM(torch.optim.SGD([w], lr=0.1), beta=0.0).step()
    assert w[0, 0].item() == -math.inf and 1.0 < w[0, 1].item() < 2.0
    # a finite tensor within the cap is untouched, bit for bit
    u = nn.Parameter(torch.tensor([[3.0, 4.0]]))
    u.grad = torch.zeros_like(u)
    HAM(torch.optim.SGD([u], lr=0.0), beta=0.0).step()
    assert u.detach().tolist() == [[3.0, 4.0]]


def test_ham_reverts_non_finite_caps_norm_and_reads_group_overrides() -> None:
    w = nn.Parameter(torch.tensor([[1.0, 2.0]], dtype=torch.float64))
    opt = HAM(torch.optim.SGD([w], lr=0.1))
    w.grad = torch.tensor([[float("nan"), 1.0]], dtype=torch.float64)
    opt.mirror_step()
    assert w.detach().tolist() == [[1.0, 2.0]]  # a non-finite update leaves the tensor as is
    v = nn.Parameter(torch.tensor([[3.0, 4.0]], dtype=torch.float64))
    capped = HAM(torch.optim.SGD([v], lr=0.1), beta=0.0, max_weight_norm=1.0)
    v.grad = torch.zeros_like(v)
    with pytest.warns(UserWarning, match="max_weight_norm=1 rescaled"):
        capped.mirror_step()
    assert torch.allclose(v.detach(), torch.tensor([[0.6, 0.8]], dtype=torch.float64))
    # by default every tensor with a gradient is capped at norm 1000, biases included, as in
    # the reference wrapper (before: no cap by default, and never on 1-D tensors)
    bias = nn.Parameter(torch.tensor([3000.0, 4000.0], dtype=torch.float64))
    bias.grad = torch.zeros_like(bias)
    with pytest.warns(UserWarning, match=r"max_weight_norm=1000 rescaled a parameter of shape "
                      r"\(2,\) from norm 5000"):
        HAM(torch.optim.SGD([bias], lr=0.0)).step()
    assert bias.detach().tolist() == pytest.approx([600.0, 800.0])
    a = nn.Parameter(torch.ones(2, 2, dtype=torch.float64))
    b = nn.Parameter(torch.ones(2, 2, dtype=torch.float64))
    groups = HAM(torch.optim.SGD([{"params": [a], "ham_alpha": 0.0, "ham_beta": 2.0},
                                  {"params": [b]}], lr=0.1), alpha=1.0, beta=0.0)
    a.grad = torch.ones_like(a)
    b.grad = torch.ones_like(b)
    groups.mirror_step()
    assert torch.allclose(a.detach(), torch.full_like(a, math.exp(-0.1 * 2.0)))  # beta only
    assert torch.allclose(b.detach(), torch.full_like(b, math.exp(-0.1 * 1.0)))  # alpha only
    # a per-group override is checked like the constructor's (a negative alpha passed)
    bad = HAM(torch.optim.SGD([{"params": [a], "ham_alpha": -1.0}], lr=0.1))
    with pytest.raises(ValueError, match="ham_alpha"):
        bad.mirror_step()


def test_a_ham_group_with_alpha_and_beta_zero_is_left_to_the_base_optimizer() -> None:
    # HAM's docstring advises it for a LayerNorm([C, L]), whose scales (ndim 2) would get
    # the mirror step the paper gives no norm layer
    torch.manual_seed(0)
    norm, ref = nn.LayerNorm([3, 4]), nn.LayerNorm([3, 4])
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
    ref.load_state_dict(norm.state_dict())
    ham = HAM(torch.optim.SGD([{"params": nn.Linear(4, 2).parameters()},
                               {"params": norm.parameters(), "ham_alpha": 0, "ham_beta": 0}],
                              lr=0.1))
    plain = torch.optim.SGD(ref.parameters(), lr=0.1)
    x, w = torch.randn(5, 3, 4), torch.randn(3, 4)
    for _ in range(3):
        for model, opt in ((norm, ham), (ref, plain)):
            opt.zero_grad()
            (model(x) * w).sum().backward()
            opt.step()
    assert torch.equal(norm.weight, ref.weight) and torch.equal(norm.bias, ref.bias)
    # without the group, the scales take the mirror step too
    moved = nn.LayerNorm([3, 4])
    moved.load_state_dict(norm.state_dict())
    (moved(x) * w).sum().backward()
    step = moved.weight.detach() - 0.1 * moved.weight.grad
    HAM(torch.optim.SGD(moved.parameters(), lr=0.1)).step()
    assert not torch.allclose(moved.weight, step)


def test_ham_group_added_later_steps_with_its_own_alpha_and_load_pre_hooks_run() -> None:
    # pins HAM.add_param_group (a group added after construction, with ham_alpha/ham_beta
    # of its own) and the wrapper's load_state_dict pre-hooks; the known answer is HYP*:
    # theta_half = theta - lr g (SGD), theta' = theta_half exp(-lr (alpha sign(theta_half) g
    # + beta)), each group with its own lr, alpha and beta (exponents well inside +-5)
    gen = torch.Generator().manual_seed(0)
    a0 = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    b0 = torch.randn(2, 5, generator=gen, dtype=torch.float64)
    ga = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    gb = torch.randn(2, 5, generator=gen, dtype=torch.float64)
    a, b = nn.Parameter(a0.clone()), nn.Parameter(b0.clone())
    opt = HAM(torch.optim.SGD([a], lr=0.1), alpha=1.0, beta=0.0, max_weight_norm=None)
    opt.add_param_group({"params": [b], "lr": 0.05, "ham_alpha": 3.0, "ham_beta": 0.5})
    assert len(opt.optimizer.param_groups) == 2  # the group went to the inner optimizer
    a.grad, b.grad = ga.clone(), gb.clone()
    opt.step()
    for p, p0, g, lr, alpha, beta in ((a, a0, ga, 0.1, 1.0, 0.0), (b, b0, gb, 0.05, 3.0, 0.5)):
        half = p0 - lr * g
        expected = half * torch.exp(-lr * (alpha * torch.sign(half) * g + beta))
        torch.testing.assert_close(p.detach(), expected, rtol=1e-14, atol=0)
    # the same group under the wrapper's alpha would have moved differently
    half = b0 - 0.05 * gb
    assert not torch.allclose(b.detach(), half * torch.exp(-0.05 * torch.sign(half) * gb))

    saved = copy.deepcopy(opt.state_dict())
    calls = []

    def set_lr(optimizer, state_dict):  # returns a new state dict: it is the one loaded
        calls.append(("set_lr", optimizer))
        state_dict = copy.deepcopy(state_dict)
        state_dict["param_groups"][1]["lr"] = 0.01
        return state_dict

    def look(optimizer, state_dict):  # returns None: the state dict goes on unchanged
        calls.append(("look", state_dict["param_groups"][1]["lr"]))

    opt.register_load_state_dict_pre_hook(set_lr)
    opt.register_load_state_dict_pre_hook(look)
    opt.load_state_dict(saved)
    assert calls == [("set_lr", opt), ("look", 0.01)]  # in order, each seeing the last
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert saved["param_groups"][1]["lr"] == 0.05  # the caller's dict is not changed


def test_horst_mirror_step_on_adam_direction() -> None:
    g = torch.Generator().manual_seed(5)
    init = torch.randn(3, 3, generator=g, dtype=torch.float64)
    target = torch.randn(3, 3, generator=g, dtype=torch.float64)
    w, ref = nn.Parameter(init.clone()), nn.Parameter(init.clone())
    horst = HORST([w], lr=1e-2, weight_decay=0.0, alpha=5.0, beta=0.1, mirror_grad="adam")
    adamw = torch.optim.AdamW([ref], lr=1e-2, weight_decay=0.0)
    for t in range(1, 4):
        for opt, p in ((horst, w), (adamw, ref)):
            opt.zero_grad()
            _quad(p, target).backward()
            opt.step()
        st = adamw.state[ref]
        d = (st["exp_avg"] / (1 - 0.9**t)) / ((st["exp_avg_sq"] / (1 - 0.999**t)).sqrt() + 1e-8)
        with torch.no_grad():
            ref.mul_(torch.exp((-1e-2 * (5.0 * torch.sign(ref) * d + 0.1)).clamp(-5, 5)))
        assert torch.allclose(w, ref, atol=1e-12)
    with pytest.raises(ValueError, match="mirror_grad"):
        HORST([nn.Parameter(init)], mirror_grad="adam", order="mirror_first")
    # HAM wraps an optimizer, HORST is one: an Adam given failed as "'Adam' object is not
    # iterable", naming neither the argument nor the difference
    with pytest.raises(TypeError, match=r"^params: HORST is an optimizer of its own .* got a "
                       r"Adam; pass model\.parameters\(\) \(HAM is the one that wraps"):
        HORST(torch.optim.Adam([nn.Parameter(init)]))


@pytest.mark.parametrize("order", ["adamw_first", "mirror_first"])
def test_horst_is_the_stated_composition(order: str) -> None:
    g = torch.Generator().manual_seed(1)
    init = torch.randn(3, 4, generator=g, dtype=torch.float64)
    target = torch.randn(3, 4, generator=g, dtype=torch.float64)
    w = nn.Parameter(init.clone())
    ref = nn.Parameter(init.clone())
    horst = HORST([w], lr=1e-2, weight_decay=0.1, alpha=50.0, beta=1e-2, order=order)
    adamw = torch.optim.AdamW([ref], lr=1e-2, weight_decay=0.1)
    for _ in range(5):
        horst.zero_grad()
        _quad(w, target).backward()
        horst.step()
        adamw.zero_grad()
        _quad(ref, target).backward()
        grad = ref.grad.clone()
        with torch.no_grad():
            if order == "mirror_first":
                ref.mul_(torch.exp((-1e-2 * (50 * torch.sign(ref) * grad + 1e-2)).clamp(-5, 5)))
                adamw.step()
            else:
                adamw.step()
                ref.mul_(torch.exp((-1e-2 * (50 * torch.sign(ref) * grad + 1e-2)).clamp(-5, 5)))
        assert torch.allclose(w, ref, atol=1e-12)


@pytest.mark.parametrize("mirror_grad", ["raw", "adam"])
def test_horst_maximizing_group_equals_minimizing_the_negation(mirror_grad: str) -> None:
    # with a maximize=True group AdamW ascended while the raw mirror step still descended
    g = torch.Generator().manual_seed(2)
    init = torch.randn(3, 4, generator=g, dtype=torch.float64)
    target = torch.randn(3, 4, generator=g, dtype=torch.float64)
    up, down = nn.Parameter(init.clone()), nn.Parameter(init.clone())
    ascend = HORST([{"params": [up], "maximize": True}], lr=1e-2, alpha=50.0,
                   mirror_grad=mirror_grad)  # type: ignore[arg-type]
    descend = HORST([down], lr=1e-2, alpha=50.0, mirror_grad=mirror_grad)  # type: ignore[arg-type]
    for _ in range(4):
        for opt, p, sign in ((ascend, up, -1.0), (descend, down, 1.0)):
            opt.zero_grad()
            (sign * _quad(p, target)).backward()
            opt.step()
    assert torch.allclose(up, down, rtol=0, atol=1e-12)
    assert _quad(up, target) < _quad(nn.Parameter(init), target)  # it did minimise the quad


def test_horst_skips_1d_tensors_and_equals_ham_around_adamw_step_for_step() -> None:
    # pins HORST's skip of tensors below min_ndim (a bias); the module docstring states the
    # known answer: the default HORST is HAM wrapped around AdamW (raw gradient, mirror step
    # second) without HAM's max_weight_norm cap, so max_weight_norm=None makes them equal
    # bit for bit (the same AdamW step, the same mirror-step function on the same numbers)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(16, 4, generator=gen, dtype=torch.float64)
    y = torch.randn(16, 3, generator=gen, dtype=torch.float64)
    torch.manual_seed(0)
    nets = [nn.Linear(4, 3).double() for _ in range(3)]
    for net in nets[1:]:
        net.load_state_dict(nets[0].state_dict())
    kw = {"lr": 1e-2, "weight_decay": 0.1}
    horst = HORST(nets[0].parameters(), alpha=50.0, beta=1e-2, **kw)
    ham = HAM(torch.optim.AdamW(nets[1].parameters(), **kw), alpha=50.0, beta=1e-2,
              max_weight_norm=None)
    adamw = torch.optim.AdamW(nets[2].parameters(), **kw)  # no mirror step at all
    for step in range(5):
        for net, opt in zip(nets, (horst, ham, adamw)):
            opt.zero_grad()
            nn.functional.mse_loss(net(x), y).backward()
            opt.step()
        for p, q in zip(nets[0].parameters(), nets[1].parameters()):
            assert torch.equal(p, q)  # difference 0.0, bias and weight
        if step == 0:  # same start, same gradient: the bias took the AdamW step alone
            assert torch.equal(nets[0].bias, nets[2].bias)
            assert not torch.equal(nets[0].weight, nets[2].weight)  # the weight was mirrored


def test_horst_orders_do_not_commute() -> None:
    init = torch.tensor([[0.3, -0.2], [1e-3, 0.5]], dtype=torch.float64)
    out = {}
    for order in ("adamw_first", "mirror_first"):
        w = nn.Parameter(init.clone())
        opt = HORST([w], lr=0.05, order=order)
        for _ in range(3):
            opt.zero_grad()
            _quad(w, -init).backward()
            opt.step()
        out[order] = w.detach()
    assert not torch.allclose(out["adamw_first"], out["mirror_first"])
    with pytest.raises(ValueError, match="order"):
        HORST([nn.Parameter(init)], order="both")  # type: ignore[arg-type]


@pytest.mark.parametrize("wrapper", ["ham", "horst"])
def test_wrapper_load_state_dict_runs_the_mask_hooks(wrapper: str) -> None:
    # the wrappers loaded the inner optimizer's state past their own load hooks, so pruned
    # entries of a loaded (dense) state kept their momentum, and a weight regrown later
    # moved with a zero gradient; plain Adam zeroes that state on load
    torch.manual_seed(0)
    net = nn.Linear(4, 4, bias=False)
    opt = (HAM(torch.optim.Adam(net.parameters(), lr=0.1), alpha=2.0, beta=0.0)
           if wrapper == "ham" else
           HORST(net.parameters(), lr=0.1, weight_decay=0.0, alpha=2.0, beta=0.0))
    x = torch.randn(8, 4)
    for _ in range(3):  # dense steps: non-zero moments everywhere
        opt.zero_grad()
        net(x).pow(2).sum().backward()
        opt.step()
    saved = copy.deepcopy(opt.state_dict())
    mask = torch.rand(4, 4) < 0.5
    MaskSet({"weight": mask}).attach(net, opt)
    opt.load_state_dict(saved)  # resume from a dense checkpoint
    for key in ("exp_avg", "exp_avg_sq"):
        assert not opt.state[net.weight][key][~mask].any()
    opt.zero_grad()
    net(x).pow(2).sum().backward()
    opt.step()
    MaskSet({"weight": torch.ones(4, 4, dtype=torch.bool)}).attach(net, opt)  # regrow all
    opt.zero_grad()
    net.weight.grad = torch.zeros(4, 4)
    opt.step()
    assert not net.weight.detach()[~mask].any()
    # the wrapper's own state-dict hooks run too
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "tag": 1})
    assert opt.state_dict()["tag"] == 1


@pytest.mark.parametrize("wrapper", ["ham", "horst"])
def test_wrapper_copies_and_pickles_like_a_torch_optimizer(wrapper: str) -> None:
    # the wrappers copied their whole __dict__: with an LR scheduler the copy kept the step
    # torch's scheduler patches onto the instance, bound to the original, so stepping a
    # deepcopy stepped the original; with masks attached, pickling (torch.save) raised
    torch.manual_seed(0)
    net = nn.Linear(4, 4, bias=False)
    opt = (HAM(torch.optim.Adam(net.parameters(), lr=0.1), alpha=2.0) if wrapper == "ham"
           else HORST(net.parameters(), lr=0.1, alpha=2.0))
    magnitude_mask(net, 0.5).attach(net, opt)
    torch.optim.lr_scheduler.StepLR(opt, 1, 0.5)
    x = torch.randn(8, 4)
    for _ in range(2):
        opt.zero_grad()
        net(x).pow(2).sum().backward()
        opt.step()
    clones = [copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))]
    before = net.weight.detach().clone()
    for clone in clones:
        clone.param_groups[0]["params"][0].grad = net.weight.grad.clone()  # copies drop it
        clone.step()
        assert torch.equal(net.weight.detach(), before)  # the original did not move
        assert clone.alpha == 2.0
    opt.step()  # the original's own step: the copies took the same one
    assert not torch.equal(net.weight.detach(), before)
    for clone in clones:
        assert torch.equal(clone.param_groups[0]["params"][0].detach(), net.weight.detach())


def test_nanoadam_copies_keep_their_settings_and_step_count() -> None:
    # torch's Optimizer pickles defaults, state and groups only: a deepcopy (or a torch.save
    # of the optimizer) lost global_step and the settings and its first step raised
    w = nn.Parameter(torch.randn(6, 5, generator=torch.Generator().manual_seed(3)))
    opt = NanoAdam([w], lr=1e-2, density=0.3, mask_interval=2, largest=True)
    for _ in range(3):
        w.grad = 2 * w.detach()
        opt.step()
    for clone in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):
        assert (clone.global_step, clone.mask_interval, clone.largest) == (3, 2, True)
        w2 = clone.param_groups[0]["params"][0]
        w2.grad = 2 * w2.detach()
        clone.step()
        assert clone.global_step == 4
    w.grad = 2 * w.detach()
    opt.step()
    assert torch.equal(w2.detach(), w.detach())  # the copy took the original's next step


def test_nanoadam_changes_only_the_k_smallest_and_matches_adam_on_them() -> None:
    g = torch.Generator().manual_seed(2)
    init = torch.randn(20, 10, generator=g, dtype=torch.float64)
    target = torch.randn(20, 10, generator=g, dtype=torch.float64)
    w = nn.Parameter(init.clone())
    opt = NanoAdam([w], lr=1e-2, density=0.1, mask_interval=1000)
    chosen = init.abs().reshape(-1).argsort()[:20]  # the 20 smallest |w| (no ties)
    sub = nn.Parameter(init.reshape(-1)[chosen].clone())
    adam = torch.optim.Adam([sub], lr=1e-2)
    for _ in range(10):
        before = w.detach().clone()
        opt.zero_grad()
        _quad(w, target).backward()
        opt.step()
        changed = (w.detach() != before).reshape(-1).nonzero().flatten()
        assert set(changed.tolist()) <= set(chosen.tolist())
        adam.zero_grad()
        _quad(sub, target.reshape(-1)[chosen]).backward()
        adam.step()
    assert torch.equal(opt.selected(w).sort().values, chosen.sort().values)
    assert torch.allclose(w.detach().reshape(-1)[chosen], sub.detach(), atol=1e-12)
    untouched = torch.ones(200, dtype=torch.bool)
    untouched[chosen] = False
    assert torch.equal(w.detach().reshape(-1)[untouched], init.reshape(-1)[untouched])
    st = opt.state[w]
    assert st["exp_avg"].numel() == 20 and st["exp_avg_sq"].numel() == 20  # state for k only


def test_nanoadam_reselects_and_round_trips() -> None:
    g = torch.Generator().manual_seed(3)
    w = nn.Parameter(torch.randn(30, 30, generator=g))
    opt = NanoAdam([w], lr=0.1, density=0.05, mask_interval=2,
                   density_schedule=lambda t: 0.05 if t < 4 else 0.1, density_interval=2)
    target = torch.randn(30, 30, generator=g)
    prev_idx = None
    for t in range(6):
        mags = w.detach().abs().reshape(-1).clone()  # selection uses |w| before the step
        opt.zero_grad()
        _quad(w, target).backward()
        opt.step()
        idx = opt.selected(w)
        k = 45 if t < 4 else 90  # the schedule switches the density at step 4
        if t % 2 == 0:  # mask_interval = 2: reselected from the k smallest |w|
            assert set(idx.tolist()) == set(mags.argsort()[:k].tolist())
        else:
            assert torch.equal(idx, prev_idx)
        prev_idx = idx.clone()
    assert idx.numel() == 90  # density switched to 0.1
    sd = copy.deepcopy(opt.state_dict())
    w2 = nn.Parameter(w.detach().clone())
    opt2 = NanoAdam([w2], lr=0.1, density=0.1, mask_interval=2)
    opt2.load_state_dict(sd)
    assert opt2.selected(w2).dtype == torch.long
    assert torch.equal(opt2.selected(w2), idx) and opt2.global_step == 6
    with pytest.raises(ValueError, match="density"):
        NanoAdam([w], density=0.0)
    with pytest.raises(ValueError, match="mask_interval"):
        NanoAdam([w], mask_interval=0)


def test_nanoadam_load_keeps_the_step_counts_integer() -> None:
    """torch casts loaded state to the parameter's dtype; the per-entry ages must not be."""
    w = nn.Parameter(torch.ones(4, dtype=torch.bfloat16))
    opt = NanoAdam([w], lr=1e-3, density=1.0)
    w.grad = torch.ones(4, dtype=torch.bfloat16)
    opt.step()
    sd = copy.deepcopy(opt.state_dict())
    sd["state"][0]["entry_step"] = torch.full((4,), 256)  # a long run, saved
    w2 = nn.Parameter(w.detach().clone())
    opt2 = NanoAdam([w2], lr=1e-3, density=1.0)
    opt2.load_state_dict(sd)
    assert opt2.state[w2]["entry_step"].dtype == torch.long
    w2.grad = torch.ones(4, dtype=torch.bfloat16)
    opt2.step()
    # as bfloat16 the count stayed at 256 (256 + 1 rounds back), freezing the bias correction
    assert opt2.state[w2]["entry_step"].tolist() == [257] * 4


@pytest.mark.parametrize("on_reselect", ["regather", "reset"])
def test_nanoadam_moments_when_the_subset_grows(on_reselect: str) -> None:
    """State lives on the subset only; "regather" keeps the moments of staying indices."""
    g = torch.Generator().manual_seed(4)
    w = nn.Parameter(torch.randn(20, 20, generator=g, dtype=torch.float64))
    target = torch.randn(20, 20, generator=g, dtype=torch.float64)
    opt = NanoAdam([w], lr=1e-9, density=0.05, mask_interval=1000,
                   density_schedule=lambda t: 0.05 if t < 1 else 0.1, density_interval=1,
                   on_reselect=on_reselect)
    grads, moments, indices = [], [], []
    for _ in range(2):
        opt.zero_grad()
        _quad(w, target).backward()
        grads.append(w.grad.reshape(-1).clone())
        opt.step()
        indices.append(opt.selected(w).tolist())
        moments.append(dict(zip(indices[-1], opt.state[w]["exp_avg"].tolist())))
    assert len(indices[0]) == 20 and len(indices[1]) == 40
    assert set(indices[0]) < set(indices[1])  # lr ~ 0: the 20 smallest stay among the 40
    assert opt.state[w]["exp_avg"].numel() == 40 and opt.state[w]["exp_avg_sq"].numel() == 40
    for j in indices[1]:
        old = moments[0].get(j, 0.0) if on_reselect == "regather" else 0.0  # new ones: 0
        assert moments[1][j] == pytest.approx(0.9 * old + 0.1 * float(grads[1][j]), rel=1e-12)
    # each entry's own age: the kept ones are at step 2 under "regather", new ones at 1
    steps = dict(zip(indices[1], opt.state[w]["entry_step"].tolist()))
    for j in indices[1]:
        assert steps[j] == (2 if on_reselect == "regather" and j in moments[0] else 1)


def test_nanoadam_new_entries_take_a_fresh_adam_step() -> None:
    # before, a newly selected entry got the bias correction of the tensor's step count:
    # its first update was 0.48 lr at step 11 (2.5 lr at step 1001) instead of Adam's lr
    w = nn.Parameter(torch.tensor([0.01, 0.02, 5.0, 6.0], dtype=torch.float64))
    opt = NanoAdam([w], lr=1e-3, density=0.5, mask_interval=1)
    for _ in range(10):  # entries 0 and 1 are the smallest and move away from zero
        opt.zero_grad()
        w.grad = torch.tensor([-1.0, -1.0, 1.0, 1.0], dtype=torch.float64)
        opt.step()
    with torch.no_grad():
        w[2], w[3] = 1e-4, 2e-4  # now the smallest: selected at the next step
    before = w.detach().clone()
    opt.zero_grad()
    w.grad = torch.tensor([1.0, 1.0, 3.0, -2.0], dtype=torch.float64)
    opt.step()
    assert opt.selected(w).tolist() == [2, 3]
    assert (w.detach() - before)[2:].tolist() == pytest.approx([-1e-3, 1e-3], rel=1e-6)
    assert opt.state[w]["entry_step"].tolist() == [1, 1]


def test_nanoadam_trains_the_live_weights_of_a_masked_model() -> None:
    # before, the pruned weights (exact zeros, the smallest) took the whole budget
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = NanoAdam(net.parameters(), lr=1e-2, density=0.5, mask_interval=1)
    masks = magnitude_mask(net, 0.8).attach(net, opt)
    x, y = torch.randn(32, 8), torch.randn(32, 2)
    start = {n: p.detach().clone() for n, p in net.named_parameters()}
    for _ in range(5):
        opt.zero_grad()
        nn.functional.mse_loss(net(x), y).backward()
        opt.step()
    for name, m in masks.items():
        p = dict(net.named_parameters())[name]
        moved = (p.detach() != start[name]) & m
        assert int(moved.sum()) > 0.3 * int(m.sum()), name  # live weights train
        assert bool((p.detach()[~m] == 0).all())  # pruned ones stay zero
        assert bool(m.reshape(-1)[opt.selected(p)].all())  # only live entries selected


def test_nanoadam_without_gradients_and_with_an_all_zero_tensor() -> None:
    # pins select()'s branch for a tensor with no gradient yet (its zeros may be live weights:
    # only a zero with a zero gradient is a pruned one), step's skip of a parameter without
    # a gradient, and an all-zero tensor with a zero gradient (every entry pruned: k = 0)
    w = nn.Parameter(torch.tensor([0.0, 0.0, 0.5, -3.0, 2.0, 0.0]))
    opt = NanoAdam([w], lr=0.1, density=0.5, mask_interval=1000)  # k = 3
    opt.select()  # no gradient: the three zeros are the smallest live entries
    assert opt.selected(w).tolist() == [0, 1, 5]
    w.grad = torch.tensor([0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    opt.select()  # zeros 0 and 1 now have a zero gradient: pruned; 5 has one: live
    assert opt.selected(w).tolist() == [2, 4, 5]

    a = nn.Parameter(torch.tensor([0.1, -0.2, 3.0, 4.0]))
    b = nn.Parameter(torch.tensor([1.0, 2.0]))  # gets no gradient
    z = nn.Parameter(torch.zeros(3, 2))  # all zero, zero gradient
    opt = NanoAdam([a, b, z], lr=0.1, density=0.5)
    a.grad = torch.tensor([1.0, -1.0, 1.0, 1.0])
    z.grad = torch.zeros(3, 2)
    opt.step()
    # Adam's first step on the selected (smallest) entries: -lr sign(g) (eps aside)
    assert a.detach().tolist() == pytest.approx([0.0, -0.1, 3.0, 4.0], abs=1e-6)
    assert opt.selected(a).tolist() == [0, 1]
    assert b.detach().tolist() == [1.0, 2.0]  # skipped: not moved, not aged
    assert opt.state[b]["entry_step"].tolist() == [0]
    assert opt.state[b]["exp_avg"].tolist() == [0.0]
    assert opt.selected(z).numel() == 0 and opt.state[z]["exp_avg"].numel() == 0
    assert not z.detach().any()
    b.grad = torch.tensor([1.0, 1.0])
    opt.step()  # b takes its first Adam step now; z's empty selection still steps fine
    assert b.detach().tolist() == pytest.approx([0.9, 2.0], abs=1e-6)
    assert opt.state[b]["entry_step"].tolist() == [1] and opt.global_step == 2
    assert not z.detach().any()


def test_nanoadam_schedule_reselects_every_interval_and_spares_own_densities() -> None:
    a = nn.Parameter(torch.tensor([0.1, 0.2, 3.0, 4.0]))
    b = nn.Parameter(torch.arange(1.0, 11.0))
    opt = NanoAdam([{"params": [a]}, {"params": [b], "density": 1.0}], lr=1e-3,
                   density=0.5, mask_interval=1000, density_schedule=lambda t: 0.5,
                   density_interval=3)
    for t in range(5):
        opt.zero_grad()
        a.grad, b.grad = torch.ones(4), torch.ones(10)
        if t == 2:
            with torch.no_grad():
                a[3] = 1e-3  # made the smallest after step 2: reselected at step 3
        opt.step()
        assert opt.selected(a).tolist() == ([0, 1] if t < 3 else [0, 3])
    assert opt.param_groups[1]["density"] == 1.0 and opt.selected(b).numel() == 10


def test_hadamard_balanced_init_and_merge() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    names = hadamard(net, beta=0.5)
    assert names == ["0.weight", "2.weight"]
    for n, (m, w) in hadamard_factors(net).items():
        assert torch.allclose(m * w, before[n], atol=1e-6)
        assert torch.allclose(m**2 - w**2, torch.full_like(m, 0.5), atol=1e-5)
    x = torch.randn(4, 6)
    out = net(x)
    remove_hadamard(net)
    assert torch.allclose(net(x), out, atol=1e-6)
    assert set(dict(net.named_parameters())) == set(before)
    with pytest.raises(ValueError, match="gamma"):
        balanced_split(torch.ones(2), 0.0)


@pytest.mark.parametrize("context", [torch.no_grad, torch.inference_mode])
def test_hadamard_merged_under_no_grad_stays_a_trainable_parameter(context) -> None:
    # torch reads requires_grad off the product m * w: under no_grad the merged weight
    # became a plain tensor (a buffer), left out of parameters() and of a new optimizer
    torch.manual_seed(0)
    net = nn.Linear(3, 2)
    before = net.weight.detach().clone()
    hadamard(net)
    with context():
        remove_hadamard(net)
    assert isinstance(net.weight, nn.Parameter) and net.weight.requires_grad
    assert not net.weight.is_inference()
    assert set(dict(net.named_parameters())) == {"weight", "bias"}
    assert torch.allclose(net.weight, before, atol=1e-6)
    opt = torch.optim.SGD(net.parameters(), lr=1.0)
    net(torch.ones(1, 3)).sum().backward()  # d/dW of the summed outputs is all ones
    opt.step()
    assert torch.allclose(net.weight.detach(), before - 1.0, atol=1e-6)


def test_balanced_split_of_huge_entries_is_finite() -> None:
    # closed form m = sqrt((gamma + sqrt(gamma^2 + 4 x^2)) / 2): 4 x^2 overflowed float32
    for x, dtype in ((1e20, torch.float32), (1e160, torch.float64)):
        m, w = balanced_split(torch.tensor([x, -3.0], dtype=dtype), 1.0)
        assert torch.isfinite(m).all() and torch.isfinite(w).all()
        assert torch.allclose(m * w, torch.tensor([x, -3.0], dtype=dtype), rtol=1e-6)
        assert m[0] == pytest.approx(math.sqrt(x), rel=1e-6)
        assert (m[1] ** 2 - w[1] ** 2).item() == pytest.approx(1.0, rel=1e-5)


def test_hyperbolic_step_refuses_settings_that_silently_change_weights() -> None:
    # clamp < 0 made every step a constant factor exp(-|clamp|), even with a zero gradient
    for kwargs, name in (({"clamp": -1.0}, "clamp"), ({"lr": -1.0}, "lr"),
                         ({"lr": float("nan")}, "lr"), ({"alpha": -2.0}, "alpha"),
                         ({"beta": float("inf")}, "beta")):
        p = torch.ones(3)
        settings = {"lr": 0.1, **kwargs}
        with pytest.raises(ValueError, match=name):
            hyperbolic_step(p, torch.zeros(3), **settings)
        assert torch.equal(p, torch.ones(3))
    with pytest.raises(ValueError, match="grad: expected shape"):
        hyperbolic_step(torch.ones(3), torch.zeros(2), lr=0.1)
    p = torch.ones(3)
    assert hyperbolic_step(p, torch.zeros(3), lr=0.1, beta=0.0)
    assert torch.equal(p, torch.ones(3))  # zero gradient, no decay: unchanged


def test_balanced_split_and_hyperbolic_step_refuse_tensors_they_cannot_use() -> None:
    # an int tensor failed inside torch ("hypot_cpu" not implemented for 'Long'), an array in
    # full_like, NaN came back as NaN factors; an int param took the step truncated, 1 -> 0
    with pytest.raises(TypeError, match="x: expected a floating-point torch tensor, got a "
                                        "torch.int64 tensor"):
        balanced_split(torch.tensor([1, 2]), 1.0)
    with pytest.raises(TypeError, match="x: .* got ndarray"):
        balanced_split(np.ones(2), 1.0)
    with pytest.raises(ValueError, match="x: contains NaN"):
        balanced_split(torch.tensor([1.0, float("nan")]), 1.0)
    p = torch.tensor([1, 2, 3])
    with pytest.raises(TypeError, match="param: expected a floating-point torch tensor"):
        hyperbolic_step(p, torch.ones(3), lr=0.1)
    assert p.tolist() == [1, 2, 3]


def test_hadamard_with_mask_keeps_pruned_entries_zero() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
    masks = magnitude_mask(net, 0.5)
    hadamard(net, masks=masks)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, weight_decay=1e-2)
    x, y = torch.randn(16, 6), torch.randn(16, 2)
    for _ in range(50):
        opt.zero_grad()
        ((net(x) - y) ** 2).mean().backward()
        opt.step()
    for n in masks:
        owner = net.get_submodule(n.rpartition(".")[0])
        assert bool((owner.weight[~masks[n]] == 0).all())


def test_sign_in_reset_lets_a_stuck_sign_flip() -> None:
    """Known case: target x* = -1, start x0 = 0.5 with gamma = 0 (m = w) cannot cross 0."""
    def run(reset: bool) -> float:
        lin = nn.Linear(1, 1, bias=False)
        with torch.no_grad():
            lin.weight.fill_(0.5)
        hadamard(lin, beta=1.0)
        m, w = hadamard_factors(lin)["weight"]
        with torch.no_grad():  # degenerate balance gamma = 0: m = w = sqrt(0.5)
            m.fill_(0.5**0.5)
            w.fill_(0.5**0.5)
        opt = torch.optim.SGD(lin.parameters(), lr=0.1)
        for step in range(400):
            if reset and step % 50 == 0:
                sign_in_reset(lin, gamma=1.0, optimizer=opt)
                assert torch.allclose(m**2 - w**2, torch.ones_like(m), atol=1e-5)
            opt.zero_grad()
            ((lin.weight + 1.0) ** 2).sum().backward()
            opt.step()
        return float(lin.weight.detach())
    assert 0.0 <= run(reset=False) < 1e-3  # stuck at zero, sign never flips
    assert run(reset=True) == pytest.approx(-1.0, abs=1e-3)


def test_sign_in_reset_keeps_product() -> None:
    torch.manual_seed(1)
    net = nn.Linear(5, 4)
    hadamard(net, beta=1e-3)
    x_before = net.weight.detach().clone()
    sign_in_reset(net, gamma=1.0)
    m, w = hadamard_factors(net)["weight"]
    assert torch.allclose(net.weight, x_before, atol=1e-6)
    assert torch.allclose(m**2 - w**2, torch.ones_like(m), atol=1e-5) and bool((m > 0).all())
    with pytest.raises(ValueError, match="module"):
        sign_in_reset(nn.Linear(2, 2))


@pytest.mark.parametrize("gamma", [0.1, 4.0])
def test_sign_in_reset_rebalances_to_the_gamma_given(gamma: float) -> None:
    # m^2 - w^2 = gamma, not the default 1, with m * w held fixed; closed form
    # m = sqrt((gamma + sqrt(gamma^2 + 4 x^2)) / 2), w = x / m
    torch.manual_seed(1)
    net = nn.Linear(5, 4, bias=False)
    hadamard(net, beta=1.0)
    x = net.weight.detach().clone().double()
    sign_in_reset(net, gamma=gamma)
    m, w = (f.detach().double() for f in hadamard_factors(net)["weight"])
    assert torch.allclose(m * w, x, atol=1e-6)
    assert torch.allclose(m**2 - w**2, torch.full_like(m, gamma), atol=1e-5)
    expected_m = torch.sqrt((gamma + torch.sqrt(gamma**2 + 4 * x**2)) / 2)
    assert torch.allclose(m, expected_m, atol=1e-6) and bool((m > 0).all())


def test_pilot_controller_rule_and_penalty() -> None:
    ctl = PILoT(alpha=1.0, delta=2.0, budget=5.0, total_epochs=8)
    # acc up and L1 above budget before T/2: grow
    assert ctl.update(0.5, 10.0) == 2.0
    assert ctl.update(0.6, 10.0) == 4.0
    assert ctl.update(0.6, 4.0) == 2.0  # L1 under the budget: relax
    assert ctl.update(0.5, 10.0) == 1.0  # accuracy dropped: relax
    assert ctl.update(0.7, 10.0) == 0.5  # epoch 5 > T/2: decays from now on
    assert ctl.update(0.9, 10.0) == 0.25
    net = nn.Linear(3, 2, bias=False)
    hadamard(net, beta=1.0)
    m, w = hadamard_factors(net)["weight"]
    pen = ctl.penalty(net)
    assert float(pen.detach()) == pytest.approx(0.25 * float((m**2 + w**2).sum().detach()))
    pen.backward()
    assert torch.allclose(m.grad, 0.5 * m.detach())
    assert hadamard_l1(net) == pytest.approx(float(net.weight.abs().sum().detach()))
    with pytest.raises(ValueError, match="delta"):
        PILoT(alpha=1.0, delta=0.5, budget=1.0, total_epochs=3)


def test_pilot_state_with_a_numpy_accuracy_loads_from_a_checkpoint(tmp_path) -> None:
    # the accuracy was kept as given: np.float64 (np.mean, sklearn) made the controller's
    # state one that torch.load (weights_only=True by default) refused, so a checkpoint
    # holding it could not be resumed
    ctl = PILoT(alpha=1.0, delta=2.0, budget=5.0, total_epochs=8)
    ctl.update(np.float64(0.5), np.float64(10.0))
    torch.save({"pilot": ctl.state_dict()}, tmp_path / "ckpt.pt")
    resumed = PILoT(alpha=1.0, delta=2.0, budget=5.0, total_epochs=8)
    resumed.load_state_dict(torch.load(tmp_path / "ckpt.pt")["pilot"])
    assert resumed.update(0.6, 10.0) == ctl.update(0.6, 10.0) == 4.0


def test_pilot_resumed_at_any_epoch_continues_as_the_uninterrupted_run() -> None:
    # the epoch count decides whether alpha may still grow (k <= T/2): a controller resumed
    # after T/2 must keep relaxing, not start growing again as at epoch 1
    inputs = [(0.1 * k, 10.0) for k in range(1, 9)]  # accuracy rising, L1 above the budget
    full = PILoT(alpha=1.0, delta=2.0, budget=5.0, total_epochs=8)
    alphas = [full.update(*a) for a in inputs]
    assert alphas == [2.0, 4.0, 8.0, 16.0, 8.0, 4.0, 2.0, 1.0]  # grows to T/2 = 4, decays
    for k in range(len(inputs) + 1):
        first = PILoT(alpha=1.0, delta=2.0, budget=5.0, total_epochs=8)
        for a in inputs[:k]:
            first.update(*a)
        resumed = PILoT(alpha=123.0, delta=2.0, budget=5.0, total_epochs=8)
        resumed.load_state_dict(first.state_dict())
        assert resumed.epoch == k
        assert [resumed.update(*a) for a in inputs[k:]] == alphas[k:], k
        assert resumed.history == full.history


def _pilot_fit(use_pilot: bool) -> torch.Tensor:
    g = torch.Generator().manual_seed(4)
    a = torch.randn(40, 30, generator=g)
    truth = torch.zeros(30)
    truth[:3] = torch.tensor([2.0, -1.5, 1.0])
    y = a @ truth + 0.5 * torch.randn(40, generator=g)
    torch.manual_seed(0)
    lin = nn.Linear(30, 1, bias=False)
    hadamard(lin, beta=1.0)
    ctl = PILoT(alpha=1e-3 if use_pilot else 0.0, delta=1.5, budget=2.0, total_epochs=40)
    opt = torch.optim.SGD(lin.parameters(), lr=1e-2)
    for _ in range(40):
        for _ in range(25):
            opt.zero_grad()
            loss = 0.5 * ((a @ lin.weight.reshape(-1) - y) ** 2).mean() + ctl.penalty(lin)
            loss.backward()
            opt.step()
        with torch.no_grad():
            r2 = 1 - float(((a @ lin.weight.reshape(-1) - y) ** 2).mean() / y.var())
        ctl.update(r2, hadamard_l1(lin))
    if use_pilot:
        assert max(ctl.history) > 10 * ctl.history[0]  # alpha was pushed up, then decayed
        assert ctl.history[-1] < max(ctl.history) / 100
    return lin.weight.detach().reshape(-1) - truth


def test_pilot_shrinks_off_support_weights() -> None:
    """Noisy regression, 3-sparse truth: PILoT's L1-like penalty cuts off-support mass."""
    plain, pilot = _pilot_fit(False), _pilot_fit(True)
    assert float(pilot[3:].abs().sum()) < 0.85 * float(plain[3:].abs().sum())
    assert float(pilot.norm()) < float(plain.norm())


def test_maskset_on_hadamard_names_missing_param() -> None:
    net = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="masks"):
        hadamard(net, masks=MaskSet({"nope": torch.ones(2, 3)}))


def test_optimizer_and_reparam_bad_input_names_the_argument() -> None:
    w = nn.Parameter(torch.randn(3, 3))
    sgd = torch.optim.SGD([w], lr=0.1)
    for kwargs, arg in (({"beta": -1.0}, "beta"), ({"clamp": 0.0}, "clamp")):
        with pytest.raises(ValueError, match=arg):
            HAM(sgd, **kwargs)
    for kwargs, arg in (({"alpha": -1.0}, "alpha"), ({"beta": float("nan")}, "beta"),
                        ({"clamp": -1.0}, "clamp")):
        with pytest.raises(ValueError, match=arg):
            HORST([w], **kwargs)
    for kwargs, arg in (({"alpha": float("nan")}, "alpha"), ({"max_weight_norm": -1.0},
                                                              "max_weight_norm")):
        with pytest.raises(ValueError, match=arg):
            HAM(sgd, **kwargs)
    for kwargs, arg in (({"lr": 0.0}, "lr"), ({"betas": (1.0, 0.9)}, "betas"),
                        ({"density_interval": 0}, "density_interval"),
                        ({"on_reselect": "keep"}, "on_reselect")):
        with pytest.raises(ValueError, match=arg):
            NanoAdam([w], **kwargs)
    for kwargs, arg in (({"alpha": -1.0}, "alpha"), ({"budget": -1.0}, "budget"),
                        ({"total_epochs": 0}, "total_epochs")):
        with pytest.raises(ValueError, match=arg):
            PILoT(**{"alpha": 1.0, "delta": 2.0, "budget": 1.0, "total_epochs": 4, **kwargs})
    net = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="beta"):
        hadamard(net, beta=0.0)
    hadamard(net)
    with pytest.raises(ValueError, match="already applied"):  # no silent m * w of m and w
        hadamard(net)
    with pytest.raises(ValueError, match="already applied"):
        hadamard(net, names=["parametrizations.weight.original0"])


def test_nanoadam_reset_keeps_moments_while_the_selection_is_unchanged() -> None:
    w = nn.Parameter(torch.tensor([3.0, 2.0, 0.1, 0.05]))
    opt = NanoAdam([w], lr=1e-3, density=0.5, mask_interval=1, on_reselect="reset")
    avgs = []
    for _ in range(3):
        opt.zero_grad()
        w.grad = torch.ones(4)
        opt.step()
        avgs.extend(opt.state[w]["exp_avg"].tolist())
    # beta1 = 0.9: the first moment accumulates as 0.1, 0.19, 0.271
    assert avgs == pytest.approx([0.1, 0.1, 0.19, 0.19, 0.271, 0.271])
    assert opt.state[w]["entry_step"].tolist() == [3, 3]


def test_hadamard_checks_mask_shapes() -> None:
    net = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"masks: mask 'weight' has shape \(3,\)"):
        hadamard(net, masks={"weight": torch.ones(3, dtype=torch.bool)})
    with pytest.raises(ValueError, match="beta: expected a finite number"):
        hadamard(net, beta=float("nan"))


def test_nanoadam_betas_not_a_pair_is_named() -> None:
    # betas=0.9 failed in NanoAdam's own check with "object of type 'float' has no len()"
    w = nn.Parameter(torch.ones(4))
    for betas in (0.9, "ab", (0.9, "x")):
        with pytest.raises(TypeError, match=r"^betas: expected two numbers in \[0, 1\)"):
            NanoAdam([w], betas=betas)
    assert NanoAdam([w], betas=[0.8, 0.99]).param_groups[0]["betas"] == [0.8, 0.99]


def test_nanoadam_checks_betas_as_horst_does() -> None:
    # NanoAdam's own check let betas=(np.array(0.9), 0.99) through to fail in the step
    # ("mul_(): argument 'other' must be Tensor"), and (0.9, np.array([0.99])) failed as
    # "only 0-dimensional arrays can be converted"; HORST took the first, named the second
    def run(betas) -> torch.Tensor:
        w = nn.Parameter(torch.tensor([1.0, -2.0, 3.0, 0.5]))
        opt = NanoAdam([w], lr=0.1, betas=betas, density=0.5, mask_interval=1)
        for _ in range(3):
            w.grad = w.detach() ** 3
            opt.step()
        return w.detach()

    assert torch.equal(run((np.array(0.5), np.float32(0.75))), run((0.5, 0.75)))
    w = nn.Parameter(torch.ones(4))
    assert NanoAdam([w], betas=(np.array(0.5), 0.75)).param_groups[0]["betas"] == (0.5, 0.75)
    for betas in ((0.9, np.array([0.99])), (True, 0.5)):
        with pytest.raises(TypeError, match=r"^betas: expected two numbers in \[0, 1\)"):
            NanoAdam([w], betas=betas)


@pytest.mark.parametrize("as_", [np.array, lambda x: np.float32(x) if isinstance(x, float)
                                 else x, torch.tensor], ids=["0d-array", "float32", "tensor"])
def test_optimizer_numbers_as_numpy_or_torch_scalars(as_) -> None:
    """max_weight_norm=np.array(1.0) and eps=np.array(1e-8) failed inside the step (a tensor
    compared with, or added to, an ndarray); betas of np.float32 were refused by AdamW."""
    def run(make) -> torch.Tensor:
        torch.manual_seed(0)
        w = nn.Parameter(torch.randn(3, 3, dtype=torch.float64))
        opt = make([w])
        for _ in range(3):
            opt.zero_grad()
            (w ** 3).sum().backward()
            opt.step()
        return w.detach()

    with pytest.warns(UserWarning, match="max_weight_norm=1 rescaled"):  # the cap cuts
        capped = run(lambda p: HAM(torch.optim.SGD(p, lr=0.1), beta=0.0,
                                   max_weight_norm=as_(1.0)))
        plain = run(lambda p: HAM(torch.optim.SGD(p, lr=0.1), beta=0.0, max_weight_norm=1.0))
    assert torch.allclose(capped.norm(), torch.tensor(1.0, dtype=torch.float64))
    assert torch.equal(capped, plain)
    for make, kwargs in ((HORST, {}), (NanoAdam, {"density": 0.5, "mask_interval": 1})):
        expected = run(lambda p, make=make, kw=kwargs: make(p, lr=0.01, eps=1e-3, **kw))
        got = run(lambda p, make=make, kw=kwargs: make(p, lr=0.01, eps=as_(1e-3), **kw))
        assert torch.allclose(got, expected, rtol=0, atol=1e-6)
    pair = (np.float32(0.5), np.float32(0.75))  # exact in float32: the same steps
    assert torch.equal(run(lambda p: HORST(p, betas=pair)),
                       run(lambda p: HORST(p, betas=(0.5, 0.75))))
    assert torch.equal(run(lambda p: NanoAdam(p, density=as_(0.5))),
                       run(lambda p: NanoAdam(p, density=0.5)))
    with pytest.raises(TypeError, match=r"^betas: expected two numbers"):
        HORST([nn.Parameter(torch.ones(2))], betas=(0.9, "x"))
    with pytest.raises(ValueError, match=r"^betas: expected two values"):
        HORST([nn.Parameter(torch.ones(2))], betas=(1.0, 0.9))


def test_hyperbolic_step_takes_the_sign_of_sign_of() -> None:
    # HYP (sign of theta_k) differs from HYP* (sign of the iterate) where they disagree
    p = torch.tensor([[0.5, -0.5]], dtype=torch.float64)
    g = torch.tensor([[1.0, 1.0]], dtype=torch.float64)
    hyperbolic_step(p, g, lr=0.1, alpha=2.0, beta=0.0, sign_of=torch.tensor([[-1.0, -1.0]]))
    # exponent -lr * alpha * sign(s) * g = +0.2 for both entries
    assert torch.allclose(p, torch.tensor([[0.5, -0.5]], dtype=torch.float64) * math.exp(0.2))


def test_pilot_boundaries_are_inclusive() -> None:
    # equal accuracy, L1 exactly at the budget and epoch exactly T/2 still grow alpha
    ctl = PILoT(alpha=1.0, delta=2.0, budget=5.0, total_epochs=4)
    assert ctl.update(0.5, 5.0) == 2.0  # l1_norm == budget
    assert ctl.update(0.5, 9.0) == 4.0  # accuracy == previous, epoch 2 == T/2
    assert ctl.update(0.9, 9.0) == 2.0  # epoch 3 > T/2: relax


def test_sign_in_reset_zeroes_masked_factors_and_clears_both_states() -> None:
    torch.manual_seed(0)
    net = nn.Linear(3, 2, bias=False)
    mask = torch.tensor([[True, False, True], [False, True, True]])
    hadamard(net, masks=MaskSet({"weight": mask}))
    m, w = hadamard_factors(net)["weight"]
    opt = torch.optim.Adam([m, w], lr=0.1)
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    assert m in opt.state and w in opt.state
    sign_in_reset(net, gamma=1.0, optimizer=opt)
    assert m not in opt.state and w not in opt.state
    # pruned entries of both factors are zero (they would count in hadamard_penalty)
    assert bool((m.detach()[~mask] == 0).all()) and bool((w.detach()[~mask] == 0).all())
    assert torch.allclose((m**2 - w**2).detach()[mask], torch.ones(4))


def test_nanoadam_weight_decay_is_decoupled_and_scaled_by_lr() -> None:
    # one step with a zero gradient: no Adam update (0 / (0 + eps) = 0), only the decay
    w = nn.Parameter(torch.full((2, 2), 2.0, dtype=torch.float64))
    opt = NanoAdam([w], lr=0.1, weight_decay=0.5, density=1.0)
    w.grad = torch.zeros_like(w)
    w.data[0, 0] = 1.0  # a zero gradient at a non-zero weight is live, not pruned
    opt.step()
    expected = torch.tensor([[1.0, 2.0], [2.0, 2.0]], dtype=torch.float64) * (1 - 0.1 * 0.5)
    assert torch.allclose(w.detach(), expected)


def test_nanoadam_rounds_k_and_selects_live_zeros() -> None:
    # density 0.37 of 10 entries: k = round(3.7) = 4
    w = nn.Parameter(torch.tensor([[0.0, 0.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 1.0]]))
    opt = NanoAdam([w], lr=0.1, density=0.37)
    w.grad = torch.ones_like(w)  # the zeros have a gradient: live weights, the smallest
    opt.step()
    assert opt.selected(w).tolist() == [0, 1, 2, 9]


def _steps_of(make, base: torch.Tensor, *, transposed: bool, closure: bool,
              steps: int = 5) -> tuple[torch.Tensor, list[float | None]]:
    """Weights after ``steps`` of ``make([w])`` on 0.5 |w x - y|^2, and what step returned."""
    # the same values either way; `transposed` stores them column-major (not contiguous)
    w = nn.Parameter(base.t().contiguous().t() if transposed else base.clone())
    assert w.is_contiguous() != transposed
    opt = make([w])
    x, y = torch.linspace(-1, 1, base.shape[1], dtype=base.dtype), torch.ones(base.shape[0],
                                                                             dtype=base.dtype)

    def loss() -> torch.Tensor:
        opt.zero_grad()
        value = 0.5 * ((w @ x - y) ** 2).sum()
        value.backward()
        return value

    returned = []
    for _ in range(steps):
        if closure:
            returned.append(float(opt.step(loss).detach()))
        else:
            loss()
            returned.append(opt.step())
    return w.detach().clone(), returned


def test_nanoadam_steps_a_non_contiguous_weight_like_a_contiguous_one() -> None:
    # a column-major weight (a transposed view made a parameter) takes the copy-back path
    # that no test reached: it must move exactly as the contiguous weight, and at density 1
    # both are AdamW (decoupled weight decay) step for step
    base = torch.randn(6, 8, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    sparse = lambda p: NanoAdam(p, lr=1e-2, density=0.3, mask_interval=2)  # noqa: E731
    a, _ = _steps_of(sparse, base, transposed=False, closure=False)
    b, _ = _steps_of(sparse, base, transposed=True, closure=False)
    assert torch.equal(a, b)
    assert 0 < int((a != base).sum()) < base.numel()  # some entries moved, not all
    dense = lambda p: NanoAdam(p, lr=1e-2, weight_decay=0.1, density=1.0)  # noqa: E731
    adamw = lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1)  # noqa: E731
    ref, _ = _steps_of(adamw, base, transposed=False, closure=False)
    for transposed in (False, True):
        got, _ = _steps_of(dense, base, transposed=transposed, closure=False)
        torch.testing.assert_close(got, ref, rtol=0, atol=1e-13)


@pytest.mark.parametrize("kind", ["nanoadam", "horst", "ham"])
def test_step_with_a_closure_returns_its_loss_and_takes_the_same_step(kind: str) -> None:
    # torch's optimizer contract: step(closure) evaluates the loss, returns it and steps as
    # step() after the same backward; no test called step with a closure
    make = {"nanoadam": lambda p: NanoAdam(p, lr=1e-2, density=0.5),
            # HAM's alpha of 200 needs a small learning rate (METHODS 1.2)
            "horst": lambda p: HORST(p, lr=1e-3),
            "ham": lambda p: HAM(torch.optim.SGD(p, lr=1e-3))}[kind]
    base = torch.randn(4, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    plain, none = _steps_of(make, base, transposed=False, closure=False)
    closed, losses = _steps_of(make, base, transposed=False, closure=True)
    assert none == [None] * 5
    assert torch.equal(closed, plain)
    x = torch.linspace(-1, 1, 5, dtype=torch.float64)
    assert losses[0] == pytest.approx(float(0.5 * ((base @ x - 1) ** 2).sum()), rel=1e-12)
    assert losses[-1] < losses[0]


def test_hadamard_keeps_a_tied_embedding_and_head_tied() -> None:
    # the audit's reproduction: only the embedding (the name named_parameters() gives the tied
    # weight) was reparameterized, so the head kept a separate dense copy (0 % zero where the
    # embedding was 90 %) that the optimizer trained on its own; remove_hadamard left it so
    from core import random_mask

    class TinyLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(50, 16)
            self.body = nn.Linear(16, 16)
            self.head = nn.Linear(16, 50, bias=False)
            self.head.weight = self.emb.weight

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(torch.relu(self.body(self.emb(x))))

    torch.manual_seed(0)
    lm = TinyLM()
    before = lm.emb.weight.detach().clone()
    masks = random_mask(lm, 0.1, "uniform", seed=0)
    keep = masks["emb.weight"]
    assert hadamard(lm, masks=masks) == ["emb.weight", "body.weight"]
    assert torch.equal(lm.head.weight, lm.emb.weight)
    assert torch.allclose(lm.emb.weight, before * keep, atol=1e-6)
    assert list(hadamard_factors(lm)) == ["emb.weight", "body.weight"]  # one pair of factors
    opt = torch.optim.SGD(lm.parameters(), lr=0.5)
    assert sum(p.numel() for p in opt.param_groups[0]["params"]) == 2 * (800 + 256) + 16
    tokens = torch.randint(0, 50, (4, 7), generator=torch.Generator().manual_seed(1))
    for _ in range(3):
        opt.zero_grad()
        lm(tokens).logsumexp(-1).mean().backward()
        opt.step()
    assert not torch.allclose(lm.emb.weight, before * keep, atol=1e-4)  # it trained
    assert torch.equal(lm.head.weight, lm.emb.weight)  # and both read the same m * w
    assert bool((lm.head.weight[~keep] == 0).all())
    trained, out = lm.emb.weight.detach().clone(), lm(tokens).detach()
    remove_hadamard(lm)
    assert lm.head.weight is lm.emb.weight and isinstance(lm.emb.weight, nn.Parameter)
    assert {n for n, _ in lm.named_parameters()} == {"emb.weight", "body.weight", "body.bias"}
    assert torch.equal(lm.emb.weight, trained)
    assert torch.allclose(lm(tokens), out, atol=1e-6)


def test_ham_warns_once_when_its_norm_cap_rescales_a_tensor() -> None:
    # the reference code's cap (1000) shrank nn.Embedding(10000, 128) (norm ~1131) to norm
    # 1000 on the first step, even at lr=0, without a word
    torch.manual_seed(0)
    emb = nn.Embedding(10000, 128)
    norm = float(emb.weight.detach().norm())
    assert norm > 1000
    opt = HAM(torch.optim.SGD(emb.parameters(), lr=0.0), alpha=200.0, beta=0.0)
    emb.weight.grad = torch.zeros_like(emb.weight)
    with pytest.warns(UserWarning, match=rf"HAM: max_weight_norm=1000 rescaled a parameter of "
                      rf"shape \(10000, 128\) from norm {norm:.4g} to 1000.*"
                      r"max_weight_norm=None turns the cap off") as record:
        opt.step()
    assert len(record) == 1 and record[0].filename == __file__  # names the caller's line
    # the reference's behaviour is kept
    assert float(emb.weight.detach().norm()) == pytest.approx(1000.0, rel=1e-5)
    with torch.no_grad():
        emb.weight.mul_(2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()  # once per instance
    assert float(emb.weight.detach().norm()) == pytest.approx(1000.0, rel=1e-5)
    with torch.no_grad():
        emb.weight.mul_(2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        HAM(torch.optim.SGD(emb.parameters(), lr=0.0), beta=0.0, max_weight_norm=None).step()
    assert float(emb.weight.detach().norm()) == pytest.approx(2000.0, rel=1e-5)
    with pytest.warns(UserWarning, match="max_weight_norm=1000 rescaled"):  # a new instance
        HAM(torch.optim.SGD(emb.parameters(), lr=0.0), beta=0.0).mirror_step()


def test_ham_refuses_a_mirror_optimizer_as_its_base() -> None:
    # HAM(HAM(SGD)) and HAM(HORST) ran the mirror step twice per step
    w = nn.Parameter(torch.randn(2, 2))
    for inner, name in ((HAM(torch.optim.SGD([w], lr=0.1)), "HAM"), (HORST([w]), "HORST")):
        with pytest.raises(TypeError, match=rf"^optimizer: expected a base optimizer .*got "
                           rf"{name}, which runs a mirror step of its own"):
            HAM(inner)


@pytest.mark.parametrize("inf", [math.inf, -math.inf])
def test_balanced_split_refuses_infinite_entries(inf: float) -> None:
    # [inf] came back as (inf, nan)
    with pytest.raises(ValueError, match=r"^x: contains inf; expected finite values to split"):
        balanced_split(torch.tensor([1.0, inf], dtype=torch.float64), 1.0)


def test_hadamard_refuses_masks_attached_to_the_module() -> None:
    # hadamard(net, masks=ms) with ms attached was accepted, and the first forward raised a
    # ValueError advising to pass the masks to hadamard, which the user had done
    net = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))
    ms = random_mask(net, density=0.3, seed=0).attach(net)
    with pytest.raises(ValueError, match=r"^masks: the module has masks attached to "
                       r"\['0.weight', '2.weight'\].*detach them first with "
                       r"MaskSet.detach_from\(module\), then pass them as masks="):
        hadamard(net, masks=ms)
    assert not hadamard_factors(net)  # refused before any weight was reparameterized
    MaskSet.detach_from(net)  # the way the message gives
    hadamard(net, masks=ms)
    net(torch.randn(3, 6)).sum().backward()
    for name, (m, w) in hadamard_factors(net).items():
        assert not (m * w)[~ms[name]].any()
