"""Exact top-k selection, magnitude masks, budgets and random masks against brute force."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from core import (
    MaskSet,
    kth_largest,
    layer_budgets,
    layer_densities,
    magnitude_mask,
    magnitude_scores,
    prunable_names,
    random_mask,
    score_mask,
    select_topk,
)


def _brute(scores: dict[str, torch.Tensor], k: int) -> dict[str, torch.Tensor]:
    """Reference: stable sort of (-score, flat index); the first k are kept."""
    flat = torch.cat([s.reshape(-1).double() for s in scores.values()]).numpy()
    order = np.lexsort((np.arange(flat.size), -flat))[:k]
    keep = np.zeros(flat.size, dtype=bool)
    keep[order] = True
    out, start = {}, 0
    for n, s in scores.items():
        out[n] = torch.from_numpy(keep[start:start + s.numel()].reshape(tuple(s.shape)))
        start += s.numel()
    return out


@pytest.mark.filterwarnings("ignore:.*layer collapse:UserWarning")  # ties can empty one
@pytest.mark.parametrize("n_levels", [3, 1000, None])
def test_global_topk_matches_brute_force_with_ties(n_levels: int | None) -> None:
    g = torch.Generator().manual_seed(n_levels or 7)
    shapes = {"a": (300, 400), "b": (250, 500), "c": (40, 7)}  # > 4 * 2**16 entries: band path
    if n_levels is None:
        scores = {n: torch.randn(s, generator=g) for n, s in shapes.items()}
    else:
        scores = {n: torch.randint(0, n_levels, s, generator=g).float() for n, s in shapes.items()}
    total = sum(math.prod(s) for s in shapes.values())
    for density in (0.1, 0.5, 0.97):
        k = round(density * total)
        got = select_topk(scores, density)
        ref = _brute(scores, k)
        assert got.kept() == k
        for n in shapes:
            assert torch.equal(got[n], ref[n]), (n_levels, density, n)


def test_kth_largest_exact_on_large_input() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1_000_003, generator=g)
    for k in (1, 17, 100_000, 500_000, 999_999, 1_000_003):
        assert kth_largest(x, k) == torch.sort(x, descending=True).values[k - 1]


def test_layer_and_row_scopes() -> None:
    g = torch.Generator().manual_seed(1)
    scores = {"a": torch.randint(0, 4, (6, 10), generator=g).float(),
              "b": torch.randn(5, 20, generator=g)}
    m = select_topk(scores, 0.3, scope="layer")
    for n, s in scores.items():
        ref = _brute({n: s}, round(0.3 * s.numel()))[n]
        assert torch.equal(m[n], ref)
    r = select_topk(scores, 0.3, scope="row")
    for n, s in scores.items():
        k = round(0.3 * s.shape[1])
        for i in range(s.shape[0]):
            assert torch.equal(r[n][i], _brute({"x": s[i]}, k)["x"])
    m2 = select_topk(scores, keep={"a": 5, "b": 7}, scope="layer")
    assert m2.layer_density() == {"a": 5 / 60, "b": 7 / 100}


def test_current_mask_is_never_reselected() -> None:
    g = torch.Generator().manual_seed(2)
    s = {"w": torch.randn(50, 50, generator=g)}
    first = select_topk(s, 0.5)
    # reverse the scores: the best of the new ranking were pruned before
    second = select_topk({"w": -s["w"]}, 0.2, current=first)
    assert second.kept() == 500
    assert not (second["w"] & ~first["w"]).any()
    with pytest.raises(ValueError, match="current"):
        select_topk(s, 0.8, current=first)


@pytest.mark.filterwarnings("ignore:.*layer collapse:UserWarning")  # the 0.9 round empties 2.weight
def test_magnitude_mask_matches_brute_force_and_iterates() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(30, 40), nn.ReLU(), nn.Linear(40, 5))
    m = magnitude_mask(net, 0.8)
    params = dict(net.named_parameters())
    ref = _brute({n: params[n].detach().abs() for n in ("0.weight", "2.weight")},
                 round(0.2 * 1400))
    assert list(m) == ["0.weight", "2.weight"]
    for n in m:
        assert torch.equal(m[n], ref[n])
    m.apply(net)
    m2 = magnitude_mask(net, 0.9, current=m)
    assert m2.kept() == 140 and not (m2["0.weight"] & ~m["0.weight"]).any()
    assert magnitude_mask(net, 0.5, scope="layer").layer_density() == {
        "0.weight": 0.5, "2.weight": 0.5}


@pytest.mark.parametrize("dist", ["uniform", "erk", "balanced", "pyramidal"])
def test_budgets_hit_global_target(dist: str) -> None:
    shapes = {"l1": (784, 300), "l2": (300, 100), "l3": (100, 100), "l4": (100, 10)}
    total = sum(math.prod(s) for s in shapes.values())
    # balanced meets the target only when the capped layers' excess is redistributed
    spread = {"redistribute": True} if dist == "balanced" else {}
    for density in (0.01, 0.05, 0.2, 0.5):
        counts = layer_budgets(shapes, density, dist, **spread)
        dens = layer_densities(shapes, density, dist, **spread)
        assert sum(counts.values()) == round(density * total), (dist, density)
        for n, s in shapes.items():
            assert 0 <= counts[n] <= math.prod(s)
            assert abs(counts[n] - dens[n] * math.prod(s)) <= 1.0
    if dist == "balanced":
        counts = layer_budgets(shapes, 0.05, dist, **spread)  # l4 (1000 weights) is dense
        assert counts["l4"] == 1000
        free = [counts[n] for n in ("l1", "l2", "l3")]
        assert max(free) - min(free) <= 1
        counts = layer_budgets(shapes, 0.01, dist)  # nothing capped: all equal
        assert max(counts.values()) - min(counts.values()) <= 1
    if dist == "pyramidal":
        d = list(layer_densities(shapes, 0.2, dist).values())
        ratios = [d[i + 1] / d[i] for i in range(len(d) - 1)]
        assert np.allclose(ratios, d[0])
        assert sum(layer_densities(shapes, 0.2, dist)[n] * math.prod(s)
                   for n, s in shapes.items()) == pytest.approx(0.2 * total, rel=1e-9)


def test_erk_and_balanced_redistribute_capped_layers() -> None:
    shapes = {"small": (3, 4), "big": (1000, 1000)}
    erk = layer_densities(shapes, 0.1, "erk")
    assert erk["small"] == 1.0 and erk["big"] < 1.0
    assert erk["small"] * 12 + erk["big"] * 1e6 == pytest.approx(0.1 * (1e6 + 12))
    bal = layer_budgets(shapes, 0.1, "balanced", redistribute=True)
    assert bal["small"] == 12 and sum(bal.values()) == round(0.1 * (1e6 + 12))
    # the paper's balanced: p_l = min(1, pN / (L N_l)), the excess of "small" is not spread
    for capped in (layer_densities(shapes, 0.1, "balanced"),
                   layer_densities(shapes, 0.1, "balanced", redistribute=False)):
        assert capped["small"] == 1.0
        assert capped["big"] == pytest.approx(0.1 * (1e6 + 12) / 2 / 1e6)
    assert layer_densities(shapes, 0.1, "erk", redistribute=False)["small"] == 1.0
    # ERK: density proportional to sum(shape) / prod(shape) among free layers
    e2 = layer_densities({"a": (100, 200), "b": (50, 50)}, 0.1, "erk")
    assert e2["a"] / e2["b"] == pytest.approx((300 / 20000) / (100 / 2500))


def test_erk_of_conv_kernels_counts_every_dimension() -> None:
    # Erdos-Renyi-kernel (Evci et al. 2020): p_l = eps (n_out + n_in + k_h + k_w) /
    # (n_out n_in k_h k_w), the kernel sizes included. Here N = 432 + 4608 + 320 = 5360,
    # p N = 536 and sum_l (sum of the shape) = 25 + 54 + 42 = 121, so eps = 536 / 121
    shapes = {"conv1": (16, 3, 3, 3), "conv2": (32, 16, 3, 3), "fc": (10, 32)}
    erk = layer_densities(shapes, 0.1, "erk")
    assert erk["conv1"] == pytest.approx(536 / 121 * 25 / 432, rel=1e-12)  # 0.2564
    assert erk["conv2"] == pytest.approx(536 / 121 * 54 / 4608, rel=1e-12)  # 0.0519
    assert erk["fc"] == pytest.approx(536 / 121 * 42 / 320, rel=1e-12)  # 0.5814
    assert [round(erk[k], 4) for k in shapes] == [0.2564, 0.0519, 0.5814]
    assert layer_budgets(shapes, 0.1, "erk") == {"conv1": 111, "conv2": 239, "fc": 186}


@pytest.mark.parametrize("dist", ["uniform", "erk", "balanced", "pyramidal"])
def test_random_mask_counts_and_seed(dist: str) -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(50, 80), nn.ReLU(), nn.Linear(80, 40), nn.Linear(40, 4))
    # balanced caps the 160-weight head here: the paper's budget, chosen explicitly
    spread = {"redistribute": False} if dist == "balanced" else {}
    m = random_mask(net, 0.15, dist, seed=4, **spread)
    shapes = {n: tuple(p.shape) for n, p in net.named_parameters() if p.ndim >= 2}
    counts = layer_budgets(shapes, 0.15, dist)
    assert {n: int(v.sum()) for n, v in m.items()} == counts
    again = random_mask(net, 0.15, dist, seed=4, **spread)
    assert all(torch.equal(m[n], again[n]) for n in m)
    other = random_mask(net, 0.15, dist, seed=5, **spread)
    assert not all(torch.equal(m[n], other[n]) for n in m)


def test_random_mask_is_uniform_over_entries() -> None:
    net = nn.Linear(20, 10)
    hits = torch.zeros(10, 20)
    for seed in range(400):
        hits += random_mask(net, 0.25, "uniform", seed=seed)["weight"].float()
    freq = hits / 400
    # binomial(400, 0.25): sd ~ 0.0217; 200 cells, allow 5 sd
    assert (freq - 0.25).abs().max() < 0.11
    assert freq.mean() == pytest.approx(0.25)


def test_bad_input_names_the_argument() -> None:
    net = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    for bad in (0.0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="density"):
            random_mask(net, bad)
        with pytest.raises(ValueError, match="density"):
            select_topk({"w": torch.ones(3)}, bad)
    with pytest.raises(ValueError, match="distribution.*uniform"):
        random_mask(net, 0.5, distribution="erdos")
    with pytest.raises(ValueError, match="sparsity"):
        magnitude_mask(net, 1.0)
    with pytest.raises(ValueError, match="sparsity"):
        magnitude_mask(net, -0.2)
    with pytest.raises(ValueError, match=r"scores\['0.weight'\].*shape"):
        score_mask(net, {"0.weight": torch.ones(3, 3)}, 0.5)
    with pytest.raises(ValueError, match="scores.*nope"):
        score_mask(net, {"nope": torch.ones(3, 3)}, 0.5)
    with pytest.raises(ValueError, match="names.*missing"):
        magnitude_mask(net, 0.5, names=["missing"])
    with pytest.raises(ValueError, match="scope"):
        select_topk({"w": torch.ones(3)}, 0.5, scope="rows")
    with pytest.raises(ValueError, match="NaN"):
        select_topk({"w": torch.tensor([1.0, float("nan")])}, 0.5)
    with pytest.raises(ValueError, match="density/keep"):
        select_topk({"w": torch.ones(3)})
    with pytest.raises(ValueError, match="current"):
        magnitude_mask(net, 0.5, current=MaskSet({"x.weight": torch.ones(2, 2)}))


def test_shapes_and_nan_are_refused_where_they_used_to_pass_silently() -> None:
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))  # "0.weight" is (4, 3)
    transposed = MaskSet({"0.weight": torch.ones(3, 4, dtype=torch.bool)})
    for scope in ("global", "layer"):  # the global path kept 10 weights without a word
        with pytest.raises(ValueError, match=r"current: mask '0.weight' has shape \(3, 4\)"):
            magnitude_mask(net, 0.5, scope=scope, current=transposed)
    with pytest.raises(ValueError, match="flat: contains NaN"):
        kth_largest(torch.tensor([1.0, float("nan"), 3.0]), 1)  # was tensor(nan)
    with pytest.raises(ValueError, match="flat: expected a 1-D"):
        kth_largest(torch.ones(2, 2), 1)
    for bad in ((0, 5), (-2, 5), ()):  # ZeroDivisionError / negative densities before
        with pytest.raises(ValueError, match=r"shapes\['a'\]"):
            layer_densities({"a": bad, "b": (3, 3)}, 0.5)
    assert layer_densities({"a": (np.int64(2), 5)}, 0.5) == {"a": pytest.approx(0.5)}


def test_wanda_and_gradient_scores_known_answers() -> None:
    from core import gradient_scores, input_norms, wanda_scores

    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2))
    batches = [torch.randn(7, 5), torch.randn(3, 5)]
    norms = input_norms(net, batches)
    x = torch.cat(batches)
    assert torch.allclose(norms["0.weight"], x.norm(dim=0))
    hidden = torch.relu(net[0](x)).detach()
    assert torch.allclose(norms["2.weight"], hidden.norm(dim=0), atol=1e-6)
    scores = wanda_scores(net, batches)
    assert torch.allclose(scores["0.weight"], net[0].weight.detach().abs() * x.norm(dim=0))
    m = select_topk(scores, 0.5, scope="row")
    assert m.layer_density() == {"0.weight": 0.4, "2.weight": 0.5}  # round(0.5 * 5) = 2 per row
    net.zero_grad()
    net(x).pow(2).sum().backward()
    snip = gradient_scores(net)
    assert torch.allclose(snip["0.weight"], (net[0].weight * net[0].weight.grad).abs().detach())
    assert torch.allclose(gradient_scores(net, kind="grad")["2.weight"], net[2].weight.grad.abs())
    with pytest.raises(ValueError, match="kind"):
        gradient_scores(net, kind="hessian")  # type: ignore[arg-type]


@pytest.mark.gpu
def test_masks_follow_cuda_device() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 8)).cuda().half()
    masks = magnitude_mask(net, 0.8)
    assert all(m.device.type == "cuda" for m in masks.values())
    opt = torch.optim.SGD(net.parameters(), lr=1e-2)
    masks.attach(net, opt)
    for _ in range(20):
        opt.zero_grad()
        net(torch.randn(16, 64, device="cuda", dtype=torch.half)).float().pow(2).mean().backward()
        opt.step()
    params = dict(net.named_parameters())
    assert all(bool((params[n][~m] == 0).all()) for n, m in masks.items())
    r = random_mask(net, 0.3, "erk", seed=0)
    assert r["0.weight"].device.type == "cuda"


@pytest.mark.parametrize("scope", ["global", "layer", "row"])
def test_minus_inf_scores_never_revive_pruned_entries(scope) -> None:
    # pruned entries are filled with -inf internally; a log-space score of -inf must not
    # tie with them and win the index tie-break
    scores = {"w": torch.tensor([[-math.inf, -math.inf]])}
    current = MaskSet({"w": torch.tensor([[False, True]])})
    kw = {"density": 0.5} if scope != "global" else {"keep": 1}
    assert select_topk(scores, scope=scope, current=current, **kw)["w"].tolist() == \
        [[False, True]]


def test_masks_of_current_that_are_not_rescored_are_kept() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 2))
    first = magnitude_mask(net, 0.5)
    second = magnitude_mask(net, 0.9, names=["2.weight"], current=first)
    assert set(second) == {"0.weight", "2.weight"}
    assert torch.equal(second["0.weight"], first["0.weight"])
    scores = {"2.weight": net[2].weight.detach().abs()}
    third = select_topk(scores, 0.1, current=first)
    assert torch.equal(third["0.weight"], first["0.weight"])


def test_magnitude_mask_refuses_nan_weights_and_nothing_to_prune() -> None:
    net = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    with torch.no_grad():
        net[0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="model: parameter '0.weight' contains NaN"):
        magnitude_mask(net, 0.5)
    with pytest.raises(ValueError, match="no parameter to prune"):
        magnitude_mask(nn.BatchNorm1d(3), 0.5)


def test_wanda_scores_of_a_half_precision_model_do_not_overflow() -> None:
    from core import wanda_scores

    lin = nn.Linear(4, 2, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 100.0, 0.001, 0.5]] * 2))
    # input norms 64, 640, 128000, 192000: the last two overflow float16 (max 65504)
    x = torch.ones(4096, 4) * torch.tensor([1.0, 10.0, 2000.0, 3000.0])
    ref = wanda_scores(lin, [x])
    half = wanda_scores(lin.half(), [x.half()])
    assert all(torch.isfinite(v).all() for v in half.values())
    assert torch.equal(select_topk(half, 0.5, scope="row")["weight"],
                       select_topk(ref, 0.5, scope="row")["weight"])


def test_global_selection_keeps_the_precision_of_every_score() -> None:
    # a float64 score after a float32 one was cut to float32: 1 + 1e-12 became a tie with 1
    scores = {"a": torch.tensor([1.0, 2.0]), "b": torch.tensor([1 + 1e-12, 0.5],
                                                             dtype=torch.float64)}
    kept = select_topk(scores, keep=2, scope="global")
    assert kept["a"].tolist() == [False, True] and kept["b"].tolist() == [True, False]
    net = nn.Sequential(nn.Linear(2, 1), nn.Linear(1, 1, dtype=torch.float64))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 2.0]]))
        net[1].weight.copy_(torch.tensor([[1 + 1e-12]], dtype=torch.float64))
    masks = magnitude_mask(net, sparsity=1 / 3)
    assert masks["0.weight"].tolist() == [[False, True]] and masks["1.weight"].tolist() == [[True]]


def test_wanda_scores_a_weight_tied_between_modules_once() -> None:
    # a language model's output layer tied to its embedding (or two Linear modules sharing a
    # weight) has one name in named_parameters(): wanda_scores failed with KeyError
    # 'head.weight'; a computed weight (a parametrization) too, naming neither cause nor fix
    from core import hadamard, input_norms, wanda_scores

    torch.manual_seed(0)
    emb, mid, head = nn.Embedding(9, 4), nn.Linear(4, 4), nn.Linear(4, 9, bias=False)
    head.weight = emb.weight
    twin = nn.Linear(4, 4)
    twin.weight = mid.weight
    net = nn.ModuleDict({"emb": emb, "mid": mid, "twin": twin, "head": head})

    def forward(model: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
        h = model["emb"](tokens)
        return model["head"](model["twin"](torch.relu(model["mid"](h))))

    tokens = torch.randint(0, 9, (3, 5))
    h = emb(tokens).reshape(-1, 4).detach()
    m = torch.relu(mid(h)).detach()
    t = twin(m).detach()
    norms = input_norms(net, [tokens], forward)
    assert set(norms) == {"emb.weight", "mid.weight"}
    assert torch.allclose(norms["emb.weight"], t.norm(dim=0))  # the head's inputs
    assert torch.allclose(norms["mid.weight"], torch.cat([h, m]).norm(dim=0))  # both uses
    scores = wanda_scores(net, [tokens], forward)
    assert torch.allclose(scores["emb.weight"], emb.weight.detach().abs() * t.norm(dim=0))
    assert select_topk(scores, 0.5, scope="row").layer_density() == {
        "emb.weight": 0.5, "mid.weight": 0.5}
    product = nn.Sequential(nn.Linear(4, 4))
    hadamard(product)
    with pytest.raises(ValueError, match=r"model: the weights \['0.weight'\] of these nn.Linear "
                       r"modules are not parameters of the model but computed"):
        wanda_scores(product, [torch.randn(2, 4)])


def test_wanda_scores_warn_of_a_linear_the_model_never_calls() -> None:
    # nn.MultiheadAttention applies out_proj's weight functionally: the module never runs,
    # so its weight had no score and select_topk silently kept it dense
    from core import input_norms, wanda_scores

    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    x = torch.randn(2, 3, 8)
    with pytest.warns(UserWarning, match=r"\['self_attn.out_proj'\] were never called") as rec:
        scores = wanda_scores(layer, [x])
    assert [w.filename for w in rec] == [__file__]
    # in_proj_weight is scored from the self-attention's input (see the in-projection test)
    assert set(scores) == {"linear1.weight", "linear2.weight", "self_attn.in_proj_weight"}
    with pytest.warns(UserWarning, match="out_proj"):
        assert set(input_norms(layer, [x])) == {"linear1.weight", "linear2.weight",
                                                "self_attn.in_proj_weight"}


def test_wanda_scores_warn_that_convolutions_and_recurrent_weights_get_none() -> None:
    # a CNN's masks from these scores kept every convolution dense without a word (model
    # density 0.76 at sparsity 0.5); an embedding stays out silently, as in the paper
    from core import wanda_scores

    torch.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.ReLU(),
                        nn.Flatten(), nn.Linear(16, 2))
    with pytest.warns(UserWarning, match=r"^wanda_scores scores nn\.Linear weights only, as "
                      r"Wanda does; the weights \['0\.weight', '2\.weight'\] \(convolution, "
                      r"recurrent or other layers\) get no scores") as rec:
        assert set(wanda_scores(cnn, [torch.randn(2, 3, 6, 6)])) == {"5.weight"}
    assert [w.filename for w in rec] == [__file__]

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.rnn = nn.Embedding(10, 4), nn.LSTM(4, 4, batch_first=True)
            self.head = nn.Linear(4, 3)

        def forward(self, x):
            return self.head(self.rnn(self.emb(x))[0])

    with pytest.warns(UserWarning, match=r"\['rnn\.weight_ih_l0', 'rnn\.weight_hh_l0'\]"):
        wanda_scores(Tagger(), [torch.randint(0, 10, (2, 5))])

    class Cells(nn.Module):  # recurrent cells and nn.Bilinear: no warning before the review
        def __init__(self):
            super().__init__()
            self.cell, self.bil = nn.LSTMCell(4, 4), nn.Bilinear(4, 4, 4)
            self.head = nn.Linear(4, 2)

        def forward(self, x):
            h, _ = self.cell(x)
            return self.head(self.bil(h, x))

    with pytest.warns(UserWarning, match=r"the weights \['cell\.weight_ih', 'cell\.weight_hh', "
                      r"'bil\.weight'\]"):
        assert set(wanda_scores(Cells(), [torch.randn(3, 4)])) == {"head.weight"}
    # a spectral-normed convolution, as in GAN discriminators (silent in review round 2)
    sn = nn.Sequential(nn.utils.parametrizations.spectral_norm(nn.Conv2d(3, 4, 3)), nn.ReLU(),
                       nn.Conv2d(4, 4, 3), nn.Flatten(), nn.Linear(16, 2))
    with pytest.warns(UserWarning, match=r"the weights \['0\.parametrizations\.weight\."
                      r"original', '2\.weight'\]"):
        wanda_scores(sn, [torch.randn(2, 3, 6, 6)])

    class Positions(nn.Module):  # a model's own embedding parameter, as a ViT's pos_embed
        def __init__(self):
            super().__init__()
            self.emb, self.pos = nn.Embedding(10, 4), nn.Parameter(torch.zeros(1, 5, 4))
            self.head = nn.Linear(4, 10)

        def forward(self, x):
            return self.head(self.emb(x) + self.pos)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # linear layers and embeddings: nothing to say
        lm = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 10))
        assert set(wanda_scores(lm, [torch.randint(0, 10, (2, 5))])) == {"1.weight"}
        assert set(wanda_scores(Positions(), [torch.randint(0, 10, (2, 5))])) == {"head.weight"}


def _brute_rows(s: torch.Tensor, k: int, alive: torch.Tensor | None = None) -> torch.Tensor:
    """Reference for scope="row": per row a stable sort of (dead, -score, index); first k kept."""
    vals = s.reshape(s.shape[0], -1).double().numpy()
    live = (np.ones(vals.shape, dtype=bool) if alive is None
            else alive.reshape(vals.shape).numpy())
    keep = np.zeros(vals.shape, dtype=bool)
    for i in range(vals.shape[0]):
        order = np.lexsort((np.arange(vals.shape[1]), -vals[i], ~live[i]))[:k]
        keep[i, order] = True
    return torch.from_numpy(keep).reshape(s.shape)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64])
@pytest.mark.parametrize("kind", ["levels", "equal", "signed_zeros", "minus_inf"])
def test_row_and_tied_fast_paths_match_a_stable_sort(dtype: torch.dtype, kind: str) -> None:
    # row scope uses a per-row threshold and a cumulative count of ties, kth_largest
    # returns a one-value bracket directly: both must keep what a stable sort keeps
    g = torch.Generator().manual_seed(3)
    shape = (7, 3, 4)
    if kind == "levels":
        s = torch.randint(0, 3, shape, generator=g).to(dtype)
    elif kind == "equal":
        s = torch.full(shape, 2.0, dtype=dtype)
    elif kind == "signed_zeros":
        s = torch.zeros(shape, dtype=dtype) * (torch.rand(shape, generator=g) - 0.5).sign()
    else:
        s = torch.randint(0, 2, shape, generator=g).to(dtype)
        s[torch.rand(shape, generator=g) < 0.6] = -math.inf
    cur = torch.rand(shape, generator=g) < 0.7
    cur[:, 2, 1:] = True  # >= 3 alive entries per row, after entries that may be dead
    for density in (0.05, 0.25, 0.5, 0.9, 1.0):
        k = round(density * 12)
        assert torch.equal(select_topk({"w": s}, density, scope="row")["w"], _brute_rows(s, k))
        if k <= 3:
            got = select_topk({"w": s}, density, scope="row", current=MaskSet({"w": cur}))
            assert torch.equal(got["w"], _brute_rows(s, k, cur)), density
    for n_row in (1, 5):  # rows of length 1 keep all (density 1); round(0.3) == 0 is refused
        one = torch.zeros(n_row, 1, dtype=dtype)
        assert select_topk({"w": one}, 1.0, scope="row")["w"].all()
        with pytest.raises(ValueError, match="density: 0.3 keeps no entry"):
            select_topk({"w": one}, 0.3, scope="row")

    # > 4 * 2**16 entries: the sampled bracket of all-tied scores is one value
    big = torch.zeros(300_001, dtype=dtype)
    for value in (0.0, -0.0, 1.5, -math.inf):
        x = big.fill_(value).clone()
        for k in (1, 150_000, 300_001):
            got = kth_largest(x, k)
            assert got.dtype == dtype and got == value
            assert bool(got.signbit()) == (math.copysign(1.0, value) < 0)  # -0.0 stays -0.0
        assert torch.equal(select_topk({"w": x}, keep=1234)["w"], torch.arange(300_001) < 1234)
    mixed = torch.zeros(300_001, dtype=dtype)
    mixed[::3] = -0.0
    for k in (1, 7, 150_000, 300_001):  # a mix of zeros: the zero torch.kthvalue picks
        ref = torch.kthvalue(mixed, 300_001 - k + 1).values
        assert torch.equal(kth_largest(mixed, k).signbit(), ref.signbit())
    assert torch.equal(select_topk({"w": mixed}, keep=99)["w"], torch.arange(300_001) < 99)


@pytest.mark.filterwarnings("ignore:.*layer collapse:UserWarning")  # ties empty 1.weight
def test_names_given_twice_or_in_another_order_prune_as_in_model_order() -> None:
    # before: explicit names were used as given, so a name given twice was counted twice
    # in the global budget (10 of 18 kept at sparsity 0.5) and their order decided which
    # layer lost ties and which layer pyramidal counted as the input
    net = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(1.0)  # every weight ties: the earlier layer (model order) is kept
    assert prunable_names(net, ["1.weight", "0.weight", "1.weight"]) == ["0.weight", "1.weight"]
    twice = magnitude_mask(net, 0.5, names=["0.weight", "0.weight", "1.weight"])
    assert twice.kept() == 9 and twice.numel() == 18
    want = magnitude_mask(net, 0.5)
    assert want.layer_density() == {"0.weight": 0.75, "1.weight": 0.0}
    got = magnitude_mask(net, 0.5, names=["1.weight", "0.weight"])
    assert all(torch.equal(got[k], want[k]) for k in want)
    pyramid = random_mask(net, 0.5, "pyramidal", names=["1.weight", "0.weight"]).layer_density()
    assert pyramid == random_mask(net, 0.5, "pyramidal").layer_density()


# np.float32 (an entry of a float32 array), a 0-d array and a 0-d tensor are refused by an
# isinstance(x, (int, float)) check; each must select what the Python float selects
_HALF = [np.float32(0.5), np.array(0.5), np.array(0.5, dtype=np.float32), torch.tensor(0.5)]


@pytest.mark.parametrize("half", _HALF, ids=lambda v: f"{type(v).__name__}")
def test_densities_and_sparsities_as_numpy_or_torch_scalars(half) -> None:
    def net() -> nn.Module:
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3))

    scores = {n: p.detach().abs() for n, p in net().named_parameters() if p.ndim > 1}
    shapes = {"a": (8, 6), "b": (6, 3)}
    for make in (lambda d: select_topk(scores, d), lambda d: magnitude_mask(net(), d),
                 lambda d: score_mask(net(), scores, d), lambda d: random_mask(net(), d)):
        expected, got = make(0.5), make(half)
        assert expected.keys() == got.keys()
        assert all(torch.equal(expected[k], got[k]) for k in expected)
    assert layer_budgets(shapes, half, "uniform") == {"a": 24, "b": 9}
    assert layer_budgets(shapes, half) == layer_budgets(shapes, 0.5)
    assert layer_densities(shapes, half) == layer_densities(shapes, 0.5)


def test_kth_largest_takes_k_as_a_0d_array_or_tensor() -> None:
    flat = torch.arange(10.0)
    for k in (np.array(3), torch.tensor(3), np.int64(3)):
        assert kth_largest(flat, k).item() == 7.0
    with pytest.raises(ValueError, match="k: expected an integer"):
        kth_largest(flat, np.array(3.0))


def test_score_mask_prunes_the_sparsity_fraction_lowest() -> None:
    net = nn.Linear(5, 2, bias=False)
    scores = {"weight": torch.arange(10.0).reshape(2, 5)}
    m = score_mask(net, scores, 0.8)  # prune 80 %: keep the two highest scores
    assert m["weight"].reshape(-1).nonzero().flatten().tolist() == [8, 9]


def test_magnitude_mask_never_revives_an_unzeroed_pruned_entry() -> None:
    # `current` not attached: its pruned entries still hold the largest weights
    net = nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[9.0, 8.0, 1.0, 2.0]]))
    current = MaskSet({"weight": torch.tensor([[False, False, True, True]])})
    m = magnitude_mask(net, 0.75, current=current)
    assert m["weight"].tolist() == [[False, False, False, True]]


def test_layer_budgets_give_the_extra_weight_to_the_largest_remainder() -> None:
    # targets 0.3 * 3 = 0.9 and 0.3 * 7 = 2.1, floors 0 + 2, total round(3.0) = 3: the one
    # extra weight goes to "a" (remainder 0.9), not to "b" (0.1, which would end 0.9 off)
    assert layer_budgets({"a": (3, 1), "b": (7, 1)}, 0.3, "uniform") == {"a": 1, "b": 2}
    # and where the largest remainder is not the first layer: targets 2.1 and 2.7, floors
    # 2 + 2, total round(4.8) = 5: the extra weight goes to "b" (0.7), not to "a" (0.1)
    assert layer_budgets({"a": (1, 7), "b": (1, 9)}, 0.3, "uniform") == {"a": 2, "b": 3}


def test_densities_that_keep_nothing_are_refused_and_layer_collapse_warns() -> None:
    # magnitude_mask(net, 0.999) and select_topk(..., 1e-9) returned masks keeping 0
    # weights (with scope="layer" every layer at density 0), without a word
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2))  # 384 weights
    scores = magnitude_scores(net)
    with pytest.raises(ValueError, match=r"sparsity: 0\.999 .*= 0 of the 384"):
        magnitude_mask(net, 0.999)
    with pytest.raises(ValueError, match=r"density: 1e-09 .*= 0 of the 384"):
        select_topk(scores, 1e-9)
    with pytest.raises(ValueError, match="sparsity: 0.999"):
        score_mask(net, scores, 0.999)
    for scope in ("layer", "row"):
        with pytest.raises(ValueError, match="sparsity: 0.999 .*no entry of any"):
            magnitude_mask(net, 0.999, scope=scope)
        with pytest.raises(ValueError, match="density: 0.001 .*no entry of any"):
            select_topk(scores, 0.001, scope=scope)
    assert select_topk(scores, keep=0).kept() == 0  # asked for by count: still allowed
    with pytest.warns(UserWarning, match=r"global threshold keeps no entry of \['2\.weight'\]"):
        assert magnitude_mask(net, 0.998).kept() == 1  # round(0.002 * 384) = 1
    # some layers keep nothing, others do: layer collapse, a warning naming them
    with pytest.warns(UserWarning, match=r"sparsity: 0\.995 .*\['2\.weight'\].*layer collapse"):
        masks = magnitude_mask(net, 0.995, scope="layer")
    assert masks.layer_density() == {"0.weight": pytest.approx(2 / 320), "2.weight": 0.0}
    with pytest.warns(UserWarning, match=r"\['0\.weight'\].*row length"):
        assert select_topk(scores, 0.04, scope="row").layer_density()["0.weight"] == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an explicit count of 0 is no collapse to warn of
        select_topk(scores, keep={"0.weight": 5, "2.weight": 0}, scope="layer")


def test_global_magnitude_pruning_warns_when_it_empties_a_layer() -> None:
    # the audit's reproduction: one global threshold kept none of the 16 output weights
    # (smaller, by their larger fan-in), so the net's output was its bias; no word was said
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    for prune in (lambda: magnitude_mask(net, 0.8),
                  lambda: score_mask(net, magnitude_scores(net), 0.8),
                  lambda: select_topk(magnitude_scores(net), 0.2)):
        with pytest.warns(UserWarning, match=r"no entry of \['2\.weight'\].*layer collapse"):
            masks = prune()
        assert masks.layer_density() == {"0.weight": 0.25, "2.weight": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # a layer emptied in an earlier round was warned about then; keep=0 asks for nothing
        assert magnitude_mask(net, 0.9, current=masks).layer_density()["2.weight"] == 0.0
        select_topk(magnitude_scores(net), keep=0)
        magnitude_mask(net, 0.5)  # both layers keep entries
    with pytest.warns(UserWarning, match=r"^keep: the global threshold keeps no entry"):
        select_topk(magnitude_scores(net), keep=16)  # named as asked (it said "density")


def test_random_masks_that_keep_nothing_are_refused_and_layer_collapse_warns() -> None:
    # random_mask(net, 1e-6) returned a mask keeping none of the 48 weights, and at 0.03
    # the output layer's share rounded to 0 (the output its bias), both without a word
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    with pytest.raises(ValueError, match=r"density: 1e-06 keeps round\(1e-06 \* 48\) = 0 of"):
        random_mask(net, 1e-6)
    with pytest.warns(UserWarning, match=r"'erk' budget at 0.03 keeps no entry of "
                                         r"\['2\.weight'\].*distribution='balanced'"):
        assert random_mask(net, 0.03).layer_density() == {"0.weight": 1 / 32, "2.weight": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # round(0.1 * 48) = 5 weights, 3 + 2: every layer keeps some, nothing to warn of
        assert random_mask(net, 0.1, "balanced").layer_density() == {
            "0.weight": 3 / 32, "2.weight": 2 / 16}


def test_layer_budgets_given_a_model_say_they_take_shapes() -> None:
    # the model failed inside nn.Sequential: "'Linear' object cannot be interpreted as an int"
    net = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 2))
    for f in (layer_densities, layer_budgets):
        with pytest.raises(TypeError, match=r"shapes: expected a mapping name -> tensor shape"
                                            r".*got Sequential; random_mask\(model"):
            f(net, 0.3, "erk")


def test_scores_given_as_a_bare_tensor_are_a_type_error() -> None:
    # a ValueError "expected a non-empty mapping" for what is a type problem
    with pytest.raises(TypeError, match=r"scores: expected a mapping name -> tensor \(e\.g\. "
                                        r"\{'weight': scores\}\), got Tensor"):
        select_topk(torch.tensor([3.0, 1.0]), 0.5)
    with pytest.raises(ValueError, match="non-empty"):
        select_topk({}, 0.5)


def test_meta_tensors_are_refused_by_name() -> None:
    # torch failed inside the NaN check: "Tensor.item() cannot be called on meta tensors"
    with pytest.raises(ValueError, match=r"scores\['w'\]: is on the meta device"):
        select_topk({"w": torch.empty(5, device="meta")}, 0.4)
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)).to("meta")
    with pytest.raises(ValueError, match=r"model: parameter '0\.weight': is on the meta device"):
        magnitude_mask(net, sparsity=0.5)


def test_an_int_sparsity_is_refused_with_torchs_count_converted() -> None:
    # torch.nn.utils.prune reads amount=10 as 10 weights; sparsity=10 said only
    # "expected a value in [0, 1), got 10", though the README compares the two
    from torch.nn.utils import prune

    net = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))  # 16 + 8 weights
    with pytest.raises(ValueError, match=r"got 10; .*count.*sparsity=10 / 24"):
        magnitude_mask(net, sparsity=10)
    with pytest.raises(ValueError, match=r"got 1; .*sparsity=1 / 8"):
        magnitude_mask(net, sparsity=1, names=["1.weight"])
    with pytest.raises(ValueError, match=r"got 3; .*sparsity=3 / 16"):
        score_mask(net, {"0.weight": torch.rand(4, 4)}, 3)
    # the conversion prunes exactly the 10 weights torch prunes
    masks = magnitude_mask(net, sparsity=10 / 24)
    prune.global_unstructured([(net[0], "weight"), (net[1], "weight")],
                              pruning_method=prune.L1Unstructured, amount=10)
    assert masks.kept() == 14
    assert torch.equal(masks["0.weight"], net[0].weight_mask.bool())
    assert torch.equal(masks["1.weight"], net[1].weight_mask.bool())


@pytest.mark.parametrize("scope", ["global", "layer", "row"])
def test_a_current_mask_that_keeps_too_few_is_named_as_the_caller_asked(scope) -> None:
    # sparsity=0.5 with a `current` keeping 3 of 40 was refused as "keep['weight']: expected
    # 0 <= k <= 3 available entries, got 20" (scope 'layer'), "density: ..." (scope 'row')
    # or "density/keep: ..." (scope 'global'): arguments the caller never passed
    net = nn.Linear(10, 4)
    keep = torch.zeros(4, 10, dtype=torch.bool)
    keep[:, 0] = True  # one per row: 4 of 40
    current = MaskSet({"weight": keep})
    # the count is of all entries (per row for scope 'row'), which says why it is too many
    asked = {"global": "20 of the 40 entries but `current` keeps only 4",
             "layer": "20 of the 40 entries of 'weight' but `current` keeps only 4",
             "row": "5 of the 10 entries per row of 'weight' but `current` keeps fewer in some"
                    " row"}[scope]
    with pytest.raises(ValueError, match=rf"^sparsity: asks for {asked}$"):
        magnitude_mask(net, sparsity=0.5, scope=scope, current=current)
    with pytest.raises(ValueError, match=rf"^density: asks for {asked}$"):
        select_topk({"weight": net.weight.detach().abs()}, 0.5, scope=scope, current=current)
    assert magnitude_mask(net, sparsity=0.9, scope=scope, current=current)["weight"].sum() == 4


def test_layer_collapse_advises_global_scope_only_where_it_keeps_something():
    # "or use scope='global'" was advised for a single 2 x 3 tensor at density 0.05, where
    # the global count round(0.05 * 6) is 0 too and gave the same refusal
    with pytest.raises(ValueError, match=r"would be left; ask for a larger density$"):
        select_topk({"small": torch.rand(2, 3)}, 0.05, scope="layer")
    two = {"a": torch.rand(2, 3), "b": torch.rand(2, 3)}  # 12 entries: global keeps 1
    with pytest.raises(ValueError, match=r"ask for a larger density, or use scope='global'"):
        select_topk(two, 0.05, scope="layer")
    with pytest.warns(UserWarning, match="layer collapse"):  # the advice runs: 1 kept
        kept = select_topk(two, 0.05, scope="global")
    assert int(kept["a"].sum() + kept["b"].sum()) == 1


def test_random_mask_says_when_balanced_keeps_less_than_asked() -> None:
    # a 10-unit head capped at dense: 'balanced' kept 4,567 of 30,500 weights (0.1497) at
    # density 0.2 without a word, while the other budgets meet the target
    net = nn.Sequential(nn.Linear(100, 200), nn.ReLU(), nn.Linear(200, 50), nn.Linear(50, 10))
    with pytest.warns(UserWarning, match=r"'balanced' budget at 0\.2 keeps 4567 of 30500 "
                                         r"entries \(density 0\.1497\): \['3\.weight'\] are "
                                         r"capped at dense.*redistribute=True to keep 6100"):
        assert random_mask(net, 0.2, "balanced").kept() == 4567
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # either explicit choice is taken as it is
        assert random_mask(net, 0.2, "balanced", redistribute=True).kept() == 6100
        assert random_mask(net, 0.2, "balanced", redistribute=False).kept() == 4567


def test_wanda_scores_the_in_projection_of_attention() -> None:
    # nn.MultiheadAttention's in_proj_weight (Q, K, V) is held by no nn.Linear: it got no
    # score and no warning, so pruning with the scores kept every attention projection dense
    from core import input_norms, wanda_scores

    torch.manual_seed(0)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0,
                                                           batch_first=True),
                                2, enable_nested_tensor=False)
    x = torch.randn(4, 8, 16)
    with pytest.warns(UserWarning, match="out_proj") as rec:  # applied functionally: no score
        scores = wanda_scores(enc, [x])
    assert len(rec) == 1
    # self-attention: query, key and value are the layer's input, that of all three blocks
    for i, h in enumerate([x, enc.layers[0](x).detach()]):
        w = enc.layers[i].self_attn.in_proj_weight.detach()
        assert torch.allclose(scores[f"layers.{i}.self_attn.in_proj_weight"],
                              w.abs() * h.reshape(-1, 16).norm(dim=0), atol=1e-5)
    # cross-attention: the query differs from key and value, so no one input norm fits
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    q, kv = torch.randn(2, 3, 8), torch.randn(2, 5, 8)
    with pytest.warns(UserWarning) as rec:
        assert input_norms(mha, [(q, kv)], lambda m, b: m(b[0], b[1], b[1])) == {}
    assert any("in-projection weights ['in_proj_weight'] get no input norms" in str(w.message)
               for w in rec)
    assert {w.filename for w in rec} == {__file__}
    # separate projections (kdim, vdim): each from its own input
    mha = nn.MultiheadAttention(8, 2, kdim=4, vdim=6, batch_first=True)
    k, v = torch.randn(2, 5, 4), torch.randn(2, 5, 6)
    with pytest.warns(UserWarning, match="out_proj"):
        norms = input_norms(mha, [(q, k, v)], lambda m, b: m(*b))
    assert set(norms) == {"q_proj_weight", "k_proj_weight", "v_proj_weight"}
    for name, t in (("q", q), ("k", k), ("v", v)):
        assert torch.allclose(norms[f"{name}_proj_weight"], t.reshape(-1, t.shape[-1]).norm(dim=0))


def test_global_layer_collapse_warning_names_the_callers_line() -> None:
    # magnitude_mask is decorated with @torch.no_grad(): its wrapper's frame took the
    # warning (torch/utils/_contextlib.py) instead of the caller's line
    from core import magnitude_mask

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.Linear(64, 2))
    with torch.no_grad():
        net[3].weight.mul_(1e-3)  # the smallest weights: the global threshold empties them
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        magnitude_mask(net, sparsity=0.99)
    collapse = [w for w in caught if "layer collapse" in str(w.message)]
    assert collapse and collapse[0].filename == __file__
