"""Boundary inputs of the sparse engine: low-precision Adam steps, counts, empty tensors,
settings refused by name, exact budget totals."""

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
    MaskSet,
    NanoAdam,
    PILoT,
    geometric_densities,
    kth_largest,
    layer_budgets,
    select_topk,
    write_json,
)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
def test_nanoadam_first_step_matches_adam_in_low_precision(dtype):
    """Dense NanoAdam is Adam: the first step moves each weight by about lr.

    In bfloat16, 1 - 0.999 ** 1 computed in the parameter's dtype is 0 and the step was 0.
    """
    a = nn.Parameter(torch.ones(2, 2, dtype=dtype))
    b = nn.Parameter(torch.ones(2, 2, dtype=dtype))
    nano = NanoAdam([a], lr=0.1, density=1.0)
    adam = torch.optim.Adam([b], lr=0.1)
    for opt, p in ((nano, a), (adam, b)):
        p.grad = torch.ones_like(p)
        opt.step()
    ulp = torch.finfo(dtype).eps
    torch.testing.assert_close(a.detach().float(), b.detach().float(), rtol=0, atol=2 * ulp)
    assert float(a.detach().float().max()) < 0.95


def test_select_topk_refuses_a_fractional_keep():
    """keep=0.5 (a density given as keep) silently kept nothing; keep=True kept one."""
    w = {"w": torch.tensor([[3.0, 1.0], [1.0, 2.0]])}
    for bad in (0.5, 2.7, True):
        with pytest.raises(TypeError, match="keep"):
            select_topk(w, keep=bad)
    with pytest.raises(TypeError, match=r"keep\['w'\]"):
        select_topk(w, keep={"w": 2.9}, scope="layer")
    assert select_topk(w, keep=torch.tensor(3)).kept() == 3  # integer tensors still count


def test_row_scope_on_a_tensor_without_rows():
    m = select_topk({"w": torch.empty(0, 3), "v": torch.ones(2, 3)}, 0.5, scope="row")
    assert m["w"].shape == (0, 3)
    assert m["v"].sum(1).tolist() == [2, 2]


def test_row_scope_on_a_tensor_without_rows_under_a_current_mask():
    # current's per-row check took min() of no rows: a RuntimeError naming no argument
    current = MaskSet({"w": torch.ones(0, 3, dtype=torch.bool),
                       "v": torch.tensor([[True, True, False], [True, False, True]])})
    m = select_topk({"w": torch.empty(0, 3), "v": torch.ones(2, 3)}, 0.5, scope="row",
                    current=current)
    assert m["w"].shape == (0, 3)
    assert m["v"].tolist() == [[True, True, False], [True, False, True]]


def test_nanoadam_without_momentum_is_rmsprop_with_bias_correction():
    """betas[0] = 0 (allowed, as in torch's Adam): the first moment is the gradient itself."""
    a = nn.Parameter(torch.ones(3, dtype=torch.float64))
    b = nn.Parameter(torch.ones(3, dtype=torch.float64))
    nano = NanoAdam([a], lr=0.1, betas=(0.0, 0.99), density=1.0)
    adam = torch.optim.Adam([b], lr=0.1, betas=(0.0, 0.99))
    for _ in range(3):
        for opt, p in ((nano, a), (adam, b)):
            p.grad = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
            opt.step()
    torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_hyperbolic_step_with_finite_entries_whose_sum_overflows(dtype):
    """The finiteness check sums first; a sum that overflows must not refuse a finite step."""
    from core.ham import hyperbolic_step

    w = torch.full((10,), 2e38, dtype=dtype)  # each finite, their sum inf in float32
    expected = w.float() * torch.exp(torch.tensor(-0.1 * 1e-3))
    assert hyperbolic_step(w, torch.zeros_like(w), lr=0.1)
    torch.testing.assert_close(w.float(), expected.to(dtype).float())
    bad = torch.tensor([1.0, float("inf")], dtype=dtype)
    assert not hyperbolic_step(bad, torch.zeros_like(bad), lr=0.1)  # left as it was
    assert bool(torch.isinf(bad[1])) and bad[0] == 1.0


@pytest.mark.parametrize(("seed", "error"), [(1.5, TypeError), (True, TypeError),
                                             ("1", TypeError), (-1, ValueError)])
def test_random_mask_checks_its_seed(seed, error):
    from core import random_mask

    # int(seed) took 1.5 as 1 without a word
    with pytest.raises(error, match="^seed: expected an integer >= 0"):
        random_mask(nn.Linear(4, 4), 0.5, seed=seed)


def test_random_mask_names_a_seed_beyond_64_bits():
    from core import random_mask

    # torch.Generator().manual_seed(2**64): "Overflow when unpacking long long"
    with pytest.raises(ValueError, match=r"^seed: expected an integer below 2\*\*64"):
        random_mask(nn.Linear(4, 4), 0.5, seed=2**64)
    random_mask(nn.Linear(4, 4), 0.5, seed=2**64 - 1)


def test_masks_of_a_model_on_the_meta_device_attach_and_show():
    # a model built on the meta device (deferred init) takes masks from a checkpoint;
    # repr() of its MaskSet raised "Tensor.item() cannot be called on meta tensors"
    from core import MaskSet, magnitude_mask

    net = nn.Sequential(nn.Linear(4, 6), nn.Linear(6, 2))
    magnitude_mask(net, 0.5).attach(net)
    sd = net.state_dict()
    with torch.device("meta"):
        lazy = nn.Sequential(nn.Linear(4, 6), nn.Linear(6, 2))
    masks = MaskSet.from_state_dict(sd).attach(lazy)
    assert repr(masks) == "MaskSet(2 tensors, on the meta device)"
    lazy.load_state_dict(sd, assign=True)
    assert repr(MaskSet.from_module(lazy)).startswith("MaskSet(2 tensors, density=0.5")


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


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_hyperbolic_step_with_an_infinite_gradient_at_a_zero_weight(dtype):
    # sign(0) * inf is NaN, which refused the step of the whole tensor (False, nothing
    # updated) where the docstring promises an infinite gradient is clamped: a zero weight
    # takes no gradient term, and the other entries step as with a finite gradient there
    from core.ham import hyperbolic_step

    w = torch.tensor([[0.0, 1.0], [2.0, -1.0]], dtype=dtype)
    finite = w.clone()
    g = torch.tensor([[float("inf"), 1.0], [1.0, 1.0]], dtype=dtype)
    assert hyperbolic_step(w, g, lr=0.01)
    assert hyperbolic_step(finite, torch.where(torch.isinf(g), 0.0, g), lr=0.01)
    torch.testing.assert_close(w, finite, rtol=0, atol=0)
    # by hand: 1 * exp(-0.01 * 200 * 1 - 0.01 * 1e-3), -1 * exp(0.01 * 200 - 0.01 * 1e-3)
    assert w[0, 0] == 0 and float(w[0, 1]) == pytest.approx(math.exp(-2.00001), rel=1e-6)
    assert float(w[1, 1]) == pytest.approx(-math.exp(1.99999), rel=1e-6)
    nan = torch.tensor([[0.0, 1.0]], dtype=dtype)  # a NaN gradient still refuses the step
    assert not hyperbolic_step(nan, torch.tensor([[float("nan"), 1.0]], dtype=dtype), lr=0.01)
    assert nan.tolist() == [[0.0, 1.0]]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32,
                                   torch.float64])
def test_hyperbolic_step_ignores_an_infinite_gradient_exactly_as_a_zero_one(dtype):
    # where an infinite gradient has no term (sign 0 through sign_of, or lr * alpha = 0),
    # the step equals the one with that gradient 0 bit for bit: a shrink computed apart in
    # float64 differed in the last bit (27 of 400 learning rates in float32), and alpha = 0
    # with an infinite gradient refused the whole tensor's decay step
    from core.ham import hyperbolic_step

    p = torch.tensor([1.0, 3.0, 0.7, 0.0], dtype=dtype)
    sign_of = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=dtype)
    for lr in torch.linspace(0.01, 10, 50).tolist():
        a, b = p.clone(), p.clone()
        assert hyperbolic_step(a, torch.tensor([0.0, 0, 0, 1], dtype=dtype), lr=lr, beta=0.05,
                               sign_of=sign_of)
        assert hyperbolic_step(b, torch.tensor([float("inf"), 0, 0, 1], dtype=dtype), lr=lr,
                               beta=0.05, sign_of=sign_of)
        assert torch.equal(a, b)
    a, b = p.clone()[:2] + 1, p.clone()[:2] + 1
    assert hyperbolic_step(a, torch.tensor([1e30, 1.0], dtype=dtype), lr=0.1, alpha=0.0,
                           beta=1.0)
    assert hyperbolic_step(b, torch.tensor([float("inf"), 1.0], dtype=dtype), lr=0.1,
                           alpha=0.0, beta=1.0)
    assert torch.equal(a, b)  # exp(-0.1): 2 * 0.9048, 4 * 0.9048
    assert float(a[0]) == pytest.approx(2 * math.exp(-0.1), rel=1e-2)


def test_masks_drawn_on_the_meta_device_are_refused_by_name():
    # random_mask on a model built on the meta device returned masks without values: attached
    # and materialised (to_empty), they kept 0.0052 of the weights where 0.1 was asked, and
    # not the draw the seed gives on the CPU; magnitude_mask has no values to rank
    from core import magnitude_mask, random_mask

    def build() -> nn.Module:
        return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 64))

    with torch.device("meta"):
        lazy = build()
    with pytest.raises(ValueError, match=r"^model: parameter '0\.weight': is on the meta "
                       r"device \(a shape without values\); .*materialise the model first"):
        random_mask(lazy, density=0.1, seed=0)
    with pytest.raises(ValueError, match=r"^model: parameter '0\.weight': is on the meta device"):
        magnitude_mask(lazy, sparsity=0.9)
    lazy.to_empty(device="cpu")  # materialised, then drawn: the CPU draw of the same seed
    masks = random_mask(lazy, density=0.1, seed=0)
    reference = random_mask(build(), density=0.1, seed=0)
    assert masks.kept() == reference.kept() == round(0.1 * (2 * 64 * 256))
    assert all(torch.equal(masks[n], reference[n]) for n in reference)


def test_nanoadam_ham_and_horst_refuse_complex_parameters():
    """NanoAdam squared a complex gradient (g * g, not |g|^2) and disagreed with AdamW; HAM
    and HORST failed in their first step with torch's message about torch.sign."""
    z = nn.Parameter(torch.randn(3, 4, dtype=torch.complex128))
    real = nn.Parameter(torch.randn(3, 4, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"^params: NanoAdam takes real floating-point "
                       r"parameters, got a torch.complex128 one of shape \(3, 4\)"):
        NanoAdam([z], density=1.0)
    nano = NanoAdam([real], density=1.0)
    with pytest.raises(TypeError, match=r"^params: NanoAdam takes real"):
        nano.add_param_group({"params": [z]})
    assert len(nano.param_groups) == 1
    with pytest.raises(TypeError, match=r"^optimizer: HAM takes real floating-point parameters, "
                       r"got a torch.complex128 one of shape \(3, 4\)"):
        HAM(torch.optim.SGD([real, z], lr=0.1))
    with pytest.raises(TypeError, match=r"^params: HORST takes real floating-point"):
        HORST([z])
    for opt in (HAM(torch.optim.SGD([real], lr=0.1)), HORST([real])):
        with pytest.raises(TypeError, match=rf"^params: {type(opt).__name__} takes real"):
            opt.add_param_group({"params": z})
        assert len(opt.param_groups) == 1


def test_complex_parameters_given_by_name_or_generator_are_refused_too():
    # named parameters ((name, tensor) pairs, torch >= 2.6) passed the check, and a
    # generator must reach torch whole after it (the check read it first)
    z = nn.Parameter(torch.randn(2, dtype=torch.complex64))
    real = nn.Parameter(torch.randn(2, dtype=torch.float64))
    gen = NanoAdam((p for p in [real]), density=1.0)
    assert gen.param_groups[0]["params"] == [real]
    ham = HAM(torch.optim.SGD([real], lr=0.1))
    ham.add_param_group({"params": (p for p in [nn.Parameter(torch.ones(2))])})
    assert len(ham.param_groups) == 2 and len(ham.param_groups[1]["params"]) == 1
    if tuple(int(v) for v in torch.__version__.split(".")[:2]) < (2, 6):
        return  # torch optimizers take named parameters from 2.6 on
    with pytest.raises(TypeError, match=r"^params: NanoAdam takes real"):
        NanoAdam([("r", real), ("z", z)], density=1.0)
    for opt in (HAM(torch.optim.SGD([("r", real)], lr=0.1)), HORST([("r", real)])):
        with pytest.raises(TypeError, match=rf"^params: {type(opt).__name__} takes real"):
            opt.add_param_group({"params": [("z", z)]})


def test_ham_refuses_a_complex_parameter_added_to_its_base_optimizer():
    # the constructor and HAM.add_param_group refused one, but a group added to the base
    # optimizer after wrapping was stepped with sign(z) = z / |z|, without a word
    real = nn.Parameter(torch.randn(3, 4, dtype=torch.float64))
    base = torch.optim.SGD([real], lr=0.1)
    ham = HAM(base)
    z = nn.Parameter(torch.randn(3, 4, dtype=torch.complex128))
    base.add_param_group({"params": [z]})
    real.grad, z.grad = torch.ones_like(real), torch.ones_like(z)
    before = (real.detach().clone(), z.detach().clone())
    for step in (ham.step, ham.mirror_step):
        with pytest.raises(TypeError, match=r"^optimizer: HAM takes real floating-point "
                           r"parameters, got a torch.complex128 one of shape \(3, 4\) \(its "
                           r"mirror step needs sign\(theta\), in a group added to the base "
                           r"optimizer after HAM wrapped it\)"):
            step()
        # refused before the base step: nothing moved
        assert torch.equal(real, before[0]) and torch.equal(z, before[1])


@pytest.mark.parametrize("order", ["mirror_first", "adamw_first"])
def test_horst_refuses_sparse_gradients_before_either_step(order):
    # mirror first, the weights moved, then the inner AdamW raised, naming Adam and advising
    # SparseAdam, which HORST cannot take
    emb = nn.Embedding(20, 8, sparse=True)
    before = emb.weight.detach().clone()
    opt = HORST(emb.parameters(), lr=0.1, order=order)
    emb(torch.randint(0, 20, (4, 5))).pow(2).sum().backward()
    with pytest.raises(TypeError, match=r"^params: HORST needs dense gradients, got a "
                       r"torch.sparse_coo gradient for a parameter of shape \(20, 8\); build "
                       r"its layer with sparse=False .* or train it with HAM around "
                       r"torch.optim.SparseAdam$"):
        opt.step()
    assert torch.equal(emb.weight, before)
    # the advice works
    ham = HAM(torch.optim.SparseAdam(emb.parameters(), lr=0.1))
    ham.step()
    assert not torch.equal(emb.weight, before)


def test_nanoadam_names_sparse_gradients():
    """nn.Embedding(sparse=True) failed with "reshape is not implemented for sparse tensors"."""
    emb = nn.Embedding(100, 8, sparse=True)
    dense = nn.Linear(8, 1)
    opt = NanoAdam([*dense.parameters(), emb.weight], density=0.5)
    dense(emb(torch.tensor([1, 2]))).sum().backward()
    before = [p.detach().clone() for p in (*dense.parameters(), emb.weight)]
    with pytest.raises(TypeError, match=r"^params: NanoAdam needs dense gradients, got a "
                       r"torch.sparse_coo gradient for a parameter of shape \(100, 8\).*"
                       r"sparse=False.*torch.optim.SparseAdam"):
        opt.step()
    # refused before any step: no parameter moved
    assert all(torch.equal(p, b) for p, b in zip((*dense.parameters(), emb.weight), before))
    with pytest.raises(TypeError, match="needs dense gradients"):
        opt.select()
