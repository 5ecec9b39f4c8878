"""Pruning scores and the magnitude mask built on the selection engine.

A score is a tensor of a parameter's shape; higher means "keep". Any mapping
name -> score can be passed to :func:`core.select_topk`, so callers can plug in
their own criterion (e.g. DASH's prior-weighted score). Provided here:

``magnitude``  ``|w|`` (Han et al. 2015; the IMP/LRR criterion).
``wanda``      ``|W_ij| * ||X_j||_2`` with input-feature norms from calibration
               data, compared per output row (Sun et al. 2024, "A Simple and
               Effective Pruning Approach for Large Language Models").
``gradient``   ``|w * dL/dw|`` (SNIP, Lee et al. 2019) or ``|dL/dw|``
               (``kind="grad"``), from the gradients currently in ``.grad``.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Literal

import torch
from torch import nn

from core.checks import _zero_dim
from core.masks import MaskSet, prunable_names
from core.select import (
    Scope,
    _check_density,
    _refuse_meta,
    _refuse_nothing_kept,
    _select_topk,
    _warn_global_collapse,
    carry_unscored,
    topk_mask_flat,
)
from core.stacklevel import package_dirs, stacklevel_outside

#: the package whose frames (and the decorators around them) a warning passes over
_CORE = package_dirs([__file__])

__all__ = [
    "magnitude_scores",
    "gradient_scores",
    "wanda_scores",
    "input_norms",
    "check_scores",
    "magnitude_mask",
    "score_mask",
]


def check_scores(model: nn.Module, scores: Mapping[str, torch.Tensor]) -> None:
    """Raise ``ValueError`` unless every score matches a parameter's shape.

    Parameters
    ----------
    model
        The model the scores refer to.
    scores
        Mapping name -> score tensor.

    Returns
    -------
    None
        The scores are usable; nothing is changed.

    Raises
    ------
    ValueError
        Naming the first score whose parameter is missing or has another shape.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from core import check_scores
    >>> net = nn.Linear(3, 2)
    >>> check_scores(net, {"weight": torch.ones(2, 3)})
    >>> check_scores(net, {"weight": torch.ones(3, 2)})
    Traceback (most recent call last):
    ...
    ValueError: scores['weight']: shape (3, 2) does not match the parameter's shape (2, 3)
    """
    params = dict(model.named_parameters())
    for name, s in scores.items():
        if name not in params:
            raise ValueError(f"scores: the model has no parameter {name!r}")
        if tuple(s.shape) != tuple(params[name].shape):
            raise ValueError(f"scores[{name!r}]: shape {tuple(s.shape)} does not match the "
                             f"parameter's shape {tuple(params[name].shape)}")


def magnitude_scores(
    model: nn.Module, names: Iterable[str] | None = None
) -> dict[str, torch.Tensor]:
    """``|w|`` for each prunable parameter (detached).

    Parameters
    ----------
    model
        The model.
    names
        Parameters to score (default: :func:`~core.prunable_names`' weights).

    Returns
    -------
    dict of str to torch.Tensor
        Parameter name -> ``|w|`` (a new tensor, no autograd history).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from core import magnitude_scores
    >>> net = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    >>> scores = magnitude_scores(net)
    >>> {name: tuple(s.shape) for name, s in scores.items()}     # biases stay dense
    {'0.weight': (2, 3), '1.weight': (1, 2)}
    >>> torch.equal(scores["0.weight"], net[0].weight.abs())
    True
    """
    params = dict(model.named_parameters())
    return {n: params[n].detach().abs() for n in prunable_names(model, names)}


def gradient_scores(
    model: nn.Module,
    names: Iterable[str] | None = None,
    kind: Literal["snip", "grad"] = "snip",
) -> dict[str, torch.Tensor]:
    """Gradient-based scores from the gradients in ``.grad``.

    Parameters
    ----------
    model
        Model after a ``backward()`` on the loss of interest.
    names
        Parameters to score (default: :func:`~core.prunable_names`' weights).
    kind
        ``"snip"``: connection sensitivity ``|w * g|`` (Lee et al., ICLR 2019);
        ``"grad"``: ``|g|``.

    Returns
    -------
    dict of str to torch.Tensor
        Parameter name -> score of the parameter's shape.

    Raises
    ------
    ValueError
        If ``kind`` is unknown or a scored parameter has no ``.grad``.

    Examples
    --------
    For ``L = w . x`` the gradient is ``x``:

    >>> import torch
    >>> from torch import nn
    >>> from core import gradient_scores
    >>> net = nn.Linear(2, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = net.weight.copy_(torch.tensor([[2.0, -3.0]]))
    >>> net(torch.tensor([[0.5, 2.0]])).sum().backward()
    >>> gradient_scores(net)["weight"].tolist()                  # |w * g|
    [[1.0, 6.0]]
    >>> gradient_scores(net, kind="grad")["weight"].tolist()     # |g|
    [[0.5, 2.0]]
    """
    if kind not in ("snip", "grad"):
        raise ValueError(f"kind: expected 'snip' or 'grad', got {kind!r}")
    params = dict(model.named_parameters())
    out = {}
    for n in prunable_names(model, names):
        g = params[n].grad
        if g is None:
            raise ValueError(f"model: parameter {n!r} has no .grad; run backward() first")
        out[n] = (params[n].detach() * g).abs() if kind == "snip" else g.detach().abs()
    return out


def input_norms(
    model: nn.Module,
    batches: Iterable[torch.Tensor | tuple],
    forward: Callable[[nn.Module, object], object] | None = None,
) -> dict[str, torch.Tensor]:
    """L2 norm of each input feature of every ``nn.Linear``, over calibration data.

    The in-projections of ``nn.MultiheadAttention`` (Q, K and V) are observed too.

    Parameters
    ----------
    model
        The model; every ``nn.Linear`` and ``nn.MultiheadAttention`` submodule is observed.
    batches
        Calibration inputs. Each is passed to ``forward(model, batch)``
        (default: ``model(batch)``).
    forward
        How to run the model on one batch.

    Returns
    -------
    dict
        ``"<module>.weight"`` -> tensor of shape ``(in_features,)``: the square root of
        the sum of squares over every calibration token (not averaged). A weight that several
        modules share (a ``Linear`` tied to an embedding or to another ``Linear``, as in
        most language models) is listed once, under the name ``named_parameters()`` gives
        it, with the norms over the inputs of every ``Linear`` that uses it. An
        ``nn.MultiheadAttention`` adds ``"<module>.in_proj_weight"``, from its query
        input, when query, key and value are one tensor (self-attention: the input of all
        three blocks), or ``q_proj_weight``, ``k_proj_weight`` and ``v_proj_weight`` (its
        ``kdim``/``vdim`` form), each from its own input. An ``nn.Linear`` never called
        during calibration is left out, with a warning, and so is an ``in_proj_weight``
        whose module was never called or got different query, key and value
        (cross-attention: its three blocks have three inputs).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from core import input_norms
    >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    >>> batches = [torch.tensor([[3.0, 0.0]]), torch.tensor([[4.0, 1.0]])]
    >>> norms = input_norms(net, batches)
    >>> norms["0.weight"].tolist()                 # sqrt(3^2 + 4^2), sqrt(0^2 + 1^2)
    [5.0, 1.0]
    >>> tuple(norms["2.weight"].shape)             # the 3 inputs of the second layer
    (3,)
    """
    norms, uncalled, unscored = _input_norms(model, batches, forward)
    _warn_uncalled(uncalled, unscored)
    return norms


def _warn_uncalled(uncalled: list[str], unscored: list[str]) -> None:
    if uncalled:  # its weight was silently left out of the scores, so kept dense
        warnings.warn(
            f"nn.Linear modules {uncalled} were never called during calibration, so their "
            "weights get no input norms or scores (nn.MultiheadAttention applies its "
            "out_proj functionally); score them another way, e.g. with magnitude_scores",
            UserWarning, stacklevel=3)
    if unscored:
        warnings.warn(
            f"the nn.MultiheadAttention in-projection weights {unscored} get no input norms "
            "or scores: their module was never called during calibration, or got different "
            "query, key and value (cross-attention: the blocks of in_proj_weight have "
            "different inputs); score them another way, e.g. with magnitude_scores",
            UserWarning, stacklevel=3)


#: layers whose weights Wanda leaves without scores (it is defined for nn.Linear)
_UNSCORED_LAYERS = (nn.modules.conv._ConvNd, nn.RNNBase, nn.RNNCellBase, nn.Bilinear)


def _warn_unscored_weights(model: nn.Module, scored: Iterable[str]) -> None:
    """Warn of the weights Wanda leaves without scores: convolutions, recurrent layers, ...

    A CNN's masks from these scores kept every convolution dense without a word (model
    density 0.76 at "sparsity" 0.5). Read from the layers' types, parametrised weights
    (spectral_norm, weight_norm) included; embeddings and a model's own parameters (a
    position embedding, a class token) are left out silently, as in the paper.
    """
    done = set(scored)
    others = [f"{m}.{n}" if m else n for m, mod in model.named_modules()
              if isinstance(mod, _UNSCORED_LAYERS)
              for n, p in mod.named_parameters() if p.ndim >= 2]
    others = [n for n in others if n not in done]
    if others:
        warnings.warn(
            f"wanda_scores scores nn.Linear weights only, as Wanda does; the weights "
            f"{others[:5]}{' ...' if len(others) > 5 else ''} (convolution, recurrent or "
            "other layers) get no scores, so masks built from these leave them dense: score "
            "them another way (e.g. magnitude_scores) and merge the dictionaries, or prune "
            "them separately", UserWarning, stacklevel=3)


@torch.no_grad()
def _input_norms(
    model: nn.Module,
    batches: Iterable[torch.Tensor | tuple],
    forward: Callable[[nn.Module, object], object] | None,
) -> tuple[dict[str, torch.Tensor], list[str], list[str]]:
    """Input norms of the called ``nn.Linear`` and attention in-projections.

    Also returns the names of the ``nn.Linear`` never called and those of the
    in-projection weights left without norms.
    """
    sq: dict[str, torch.Tensor] = {}
    mixed: set[str] = set()
    handles = []
    # a tied weight has one name in named_parameters(), the first module's: keyed by the
    # tying module's path, wanda_scores failed with KeyError 'lm_head.weight'
    canonical = {id(p): n for n, p in model.named_parameters()}

    def key_of(mname: str, attr: str, t: torch.Tensor) -> str:
        return canonical.get(id(t), f"{mname}.{attr}" if mname else attr)

    def add(key: str, x: torch.Tensor) -> None:
        x = x.detach().reshape(-1, x.shape[-1])
        s = (x.to(torch.promote_types(x.dtype, torch.float32)) ** 2).sum(0)
        sq[key] = sq[key] + s if key in sq else s

    def attention_hook(m: nn.Module, args: tuple, kwargs: dict, keys: list[str]) -> None:
        q, k, v = (args[i] if len(args) > i else kwargs.get(name)
                   for i, name in enumerate(("query", "key", "value")))
        if len(keys) == 3:  # separate projections (kdim, vdim): each has its own input
            for key, x in zip(keys, (q, k, v)):
                add(key, x)
        elif _same(q, k) and _same(q, v):  # self-attention: one input for Q, K and V
            add(keys[0], q)
        else:
            mixed.add(keys[0])

    # nn.MultiheadAttention's in-projections (Q, K, V) were skipped: no nn.Linear holds them
    attention: list[str] = []
    for mname, mod in model.named_modules():
        if isinstance(mod, nn.Linear):
            key = key_of(mname, "weight", mod.weight)
            handles.append(mod.register_forward_pre_hook(
                lambda m, args, key=key: add(key, args[0])))
        elif isinstance(mod, nn.MultiheadAttention):
            attrs = (["in_proj_weight"] if mod.in_proj_weight is not None
                     else ["q_proj_weight", "k_proj_weight", "v_proj_weight"])
            keys = [key_of(mname, a, getattr(mod, a)) for a in attrs]
            attention += keys
            handles.append(mod.register_forward_pre_hook(
                lambda m, args, kwargs, keys=keys: attention_hook(m, args, kwargs, keys),
                with_kwargs=True))
    try:
        for batch in batches:
            forward(model, batch) if forward is not None else model(batch)
    finally:
        for h in handles:
            h.remove()
    for key in mixed:  # one call with three inputs: no one norm fits all three blocks
        sq.pop(key, None)
    # a module tied to one that ran has its weight's norms: not uncalled
    uncalled = [m for m, mod in model.named_modules() if isinstance(mod, nn.Linear)
                and canonical.get(id(mod.weight), f"{m}.weight" if m else "weight") not in sq]
    unscored = [key for key in attention if key not in sq]
    return {k: v.sqrt() for k, v in sq.items()}, uncalled, unscored


def _same(a: object, b: object) -> bool:
    """Whether two attention inputs are one tensor (or equal ones)."""
    if a is b:
        return True
    return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
            and a.shape == b.shape and torch.equal(a, b))


def wanda_scores(
    model: nn.Module,
    batches: Iterable[torch.Tensor | tuple],
    forward: Callable[[nn.Module, object], object] | None = None,
) -> dict[str, torch.Tensor]:
    """Wanda scores ``|W_ij| * ||X_j||_2`` for every ``nn.Linear`` weight.

    The in-projection weights of ``nn.MultiheadAttention`` are scored too (see
    :func:`input_norms`).

    Use with ``select_topk(scores, density, scope="row")`` as in Wanda (Sun et
    al., ICLR 2024), which compares scores within each output row.

    Parameters
    ----------
    model
        The model; every ``nn.Linear`` weight and attention in-projection is scored.
    batches
        Calibration inputs (see :func:`input_norms`).
    forward
        How to run the model on one batch (default: ``model(batch)``).

    Returns
    -------
    dict of str to torch.Tensor
        ``"<module>.weight"`` (and ``"<attention>.in_proj_weight"``) -> score of the
        weight's shape, in at least float32.

    Notes
    -----
    Departures from the locuslab/wanda reference code: its norms are divided by the
    square root of the number of calibration samples, a per-layer constant that leaves
    row and layer comparisons unchanged; it takes each block's calibration inputs from
    the already pruned blocks before it, where here one pass of the unpruned model
    serves all layers; it prunes only the ``nn.Linear`` layers inside the transformer
    blocks (drop the ``lm_head``/classifier key to match); and it prunes
    ``floor(s * cols)`` per row where ``select_topk`` keeps ``round((1 - s) * cols)``.
    An ``nn.Linear`` whose weight a model uses functionally (the ``out_proj`` of
    ``nn.MultiheadAttention``) is never called, so it gets no score (with a warning).
    Nor do the weights of convolutions, recurrent layers and cells and ``nn.Bilinear``
    (parametrised ones too), with a warning that names them, as Wanda is defined for
    linear layers; embeddings are left out silently, as in the paper.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from core import wanda_scores
    >>> net = nn.Linear(2, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = net.weight.copy_(torch.tensor([[1.0, -2.0]]))
    >>> batches = [torch.tensor([[3.0, 0.0], [4.0, 1.0]])]      # ||X_0|| = 5, ||X_1|| = 1
    >>> wanda_scores(net, batches)["weight"].tolist()           # |W_ij| * ||X_j||
    [[5.0, 2.0]]
    """
    norms, uncalled, unscored = _input_norms(model, batches, forward)
    _warn_uncalled(uncalled, unscored)
    params = dict(model.named_parameters())
    computed = sorted(k for k in norms if k not in params)
    if computed:  # a bare KeyError before
        raise ValueError(f"model: the weights {computed} of these nn.Linear modules are not "
                         "parameters of the model but computed (a parametrization such as "
                         "core.hadamard, or torch.nn.utils.prune); score the parameters "
                         "themselves, e.g. with magnitude_scores")
    out = {}
    for k, v in norms.items():
        # at least float32: fp16 input norms overflow (> 65504) and would tie as inf
        dtype = torch.promote_types(torch.promote_types(params[k].dtype, v.dtype), torch.float32)
        out[k] = params[k].detach().abs().to(dtype) * v.to(dtype)
    _warn_unscored_weights(model, out)
    return out


def score_mask(
    model: nn.Module,
    scores: Mapping[str, torch.Tensor],
    sparsity: float,
    scope: Scope = "global",
    *,
    current: MaskSet | None = None,
) -> MaskSet:
    """Prune a fraction ``sparsity`` of the scored entries by the lowest score.

    Parameters
    ----------
    model
        The model the scores refer to; ``scores`` are checked against its parameters
        (names and shapes).
    scores
        Mapping parameter name -> score (higher = keep).
    sparsity
        Fraction of the scored entries to prune, in [0, 1). An int is not a count of
        entries as torch.nn.utils.prune's ``amount`` is: pass ``count / n`` instead.
    scope
        ``"global"``, ``"layer"`` or ``"row"`` (see :func:`core.select_topk`).
    current
        Masks from a previous round: pruned entries stay pruned.

    Returns
    -------
    MaskSet
        Masks of the scored parameters (plus those of ``current`` not re-scored).

    Warns
    -----
    UserWarning
        When some layers keep nothing while others keep entries (layer collapse; see
        :func:`core.select_topk`).

    Examples
    --------
    Half of 8 entries pruned: the 4 highest scores overall, or the 2 highest of each row:

    >>> import torch
    >>> from torch import nn
    >>> from core import score_mask
    >>> net = nn.Linear(4, 2, bias=False)
    >>> scores = {"weight": torch.tensor([[0.1, 0.9, 0.5, 0.3], [0.8, 0.2, 0.7, 0.6]])}
    >>> score_mask(net, scores, 0.5)["weight"].int().tolist()
    [[0, 1, 0, 0], [1, 0, 1, 1]]
    >>> score_mask(net, scores, 0.5, scope="row")["weight"].int().tolist()
    [[0, 1, 1, 0], [1, 0, 1, 0]]
    """
    check_scores(model, scores)
    # a count is of all scored entries only for one global threshold
    sparsity = _check_sparsity(sparsity, lambda: sum(s.numel() for s in scores.values())
                               if scope == "global" else None)
    return _select_topk(scores, 1.0 - sparsity, scope=scope, current=current,
                        arg="sparsity", stacklevel=3)


def _check_sparsity(sparsity: float, numel: Callable[[], int | None] | None = None) -> float:
    """Return ``sparsity`` as a float in [0, 1), or raise naming the argument.

    Parameters
    ----------
    sparsity
        The fraction to prune.
    numel
        Called only for an int ``sparsity`` >= 1 (torch.nn.utils.prune's count of
        weights): the number of entries the fraction is of, for the message, or None.

    Returns
    -------
    float
        ``sparsity``.
    """
    if _zero_dim(sparsity):  # np.array(0.5), torch.tensor(0.5): the number they hold
        sparsity = sparsity.item()
    # numbers.Real, not (int, float): np.float32 (a float32 array's entries) is no float
    if isinstance(sparsity, bool) or not isinstance(sparsity, numbers.Real):
        raise TypeError(f"sparsity: expected a float in [0, 1), got {type(sparsity).__name__}")
    if not 0.0 <= float(sparsity) < 1.0:
        hint = ""
        if isinstance(sparsity, numbers.Integral) and sparsity >= 1:
            # torch.nn.utils.prune reads an int amount as a count of weights (the README
            # compares the two): say how to turn the count into prunus's fraction
            total = numel() if numel is not None else None
            of = str(total) if total else "N"
            hint = (f"; prunus takes the fraction of the entries to prune, not a count as "
                    f"torch.nn.utils.prune's int amount: to prune {int(sparsity)} of "
                    f"{of} entries pass sparsity={int(sparsity)} / {of}")
        raise ValueError(f"sparsity: expected a value in [0, 1), got {sparsity}{hint}")
    return float(sparsity)


def _selected_numel(model: nn.Module, names: Iterable[str] | None) -> int | None:
    """Return the number of entries ``magnitude_mask`` chooses from, or None if unknown."""
    try:
        params = dict(model.named_parameters())
        return sum(params[n].numel() for n in prunable_names(model, names))
    except (TypeError, ValueError, AttributeError):  # the call itself names the problem
        return None


@torch.no_grad()
def magnitude_mask(
    model: nn.Module,
    sparsity: float,
    scope: Scope = "global",
    *,
    names: Iterable[str] | None = None,
    current: MaskSet | None = None,
) -> MaskSet:
    """Magnitude pruning: keep the ``1 - sparsity`` largest ``|w|``.

    The global path writes ``|w|`` straight into one preallocated buffer and
    selects exactly ``k = round((1 - sparsity) N)`` entries without sorting
    (see :mod:`core.select`; ties broken by index). Extra memory: one score per
    weight plus the bool masks. ``torch.nn.utils.prune`` rounds the number it prunes,
    ``round(sparsity N)``, instead: where either product falls half-way (sparsity 0.5
    of 5 weights; 0.9 of 25, whose ``1 - 0.9`` is 0.0999...) the two keep one weight
    more or less; give a count of weights (``count / N``) for an exact number.

    Parameters
    ----------
    model
        The model.
    sparsity
        Fraction of the masked entries to prune, in [0, 1) (of all entries,
        including those already pruned by ``current``). An int is not a count of
        weights as torch.nn.utils.prune's ``amount`` is: to prune ``count`` of the
        ``n`` weights (``scope="global"``) pass ``count / n`` (the message says ``n``),
        which prunes exactly ``count``.
    scope
        ``"global"``, ``"layer"`` or ``"row"``.
    names
        Parameters to prune (default: :func:`~core.prunable_names`' weights).
    current
        Masks from a previous round: pruned entries stay pruned.

    Returns
    -------
    MaskSet
        Masks of the pruned parameters (plus those of ``current`` not re-scored), on
        the parameters' devices.

    Raises
    ------
    ValueError
        If ``sparsity`` is outside [0, 1) (an int count too) or keeps nothing
        (``round((1 - sparsity) * N) == 0``; with ``scope="layer"``/``"row"`` in no
        tensor), or a selected parameter is the ``weight_orig`` of a
        :mod:`torch.nn.utils.prune` layer.

    Warns
    -----
    UserWarning
        When some layers keep nothing while others keep entries (layer collapse; see
        :func:`core.select_topk`): with ``scope="global"`` when the one threshold empties
        a layer, with ``"layer"``/``"row"`` when the density rounds to nothing in it.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from core import magnitude_mask
    >>> torch.manual_seed(0) and None
    >>> net = nn.Sequential(nn.Linear(100, 100), nn.Linear(100, 10))
    >>> magnitude_mask(net, 0.9).kept()
    1100
    """
    sparsity = _check_sparsity(sparsity, lambda: _selected_numel(model, names)
                               if scope == "global" else None)
    density = _check_density(1.0 - sparsity, "sparsity")
    params = dict(model.named_parameters())
    chosen = prunable_names(model, names)
    if current is not None:
        extra = [n for n in current.masks if n not in params]
        if extra:
            raise ValueError(f"current: the model has no parameter(s) {extra}")
        for n, m in current.masks.items():  # the global path below reshapes masks blindly
            if m.shape != params[n].shape:
                raise ValueError(f"current: mask {n!r} has shape {tuple(m.shape)}, "
                                 f"expected {tuple(params[n].shape)}")
    if not chosen:
        raise ValueError("model/names: no parameter to prune (by default the weights, those "
                         "with ndim >= 2 outside normalisation layers)")
    if scope != "global":
        return _select_topk({n: params[n].detach().abs() for n in chosen}, density,
                            scope=scope, current=current, arg="sparsity", stacklevel=4)
    ref = params[chosen[0]]
    dtype = torch.float32
    for n in chosen:  # the widest dtype: no float64 weight cut to float32
        dtype = torch.promote_types(dtype, params[n].dtype)
    total = sum(params[n].numel() for n in chosen)
    k = int(round(density * total))
    if k == 0 and total > 0:  # sparsity=0.999 of a small model kept nothing, silently
        _refuse_nothing_kept("sparsity", density, total)
    flat = torch.empty(total, dtype=dtype, device=ref.device)
    start = 0
    avail = 0
    for n in chosen:
        p = params[n].detach()
        _refuse_meta(f"model: parameter {n!r}", p)
        view = flat[start : start + p.numel()]
        torch.abs(p.reshape(-1), out=view) if p.dtype == dtype else view.copy_(p.reshape(-1).abs())
        if torch.isnan(view).any():
            raise ValueError(f"model: parameter {n!r} contains NaN; expected finite weights")
        if current is not None and n in current.masks:
            cm = current.masks[n].to(p.device).reshape(-1)
            view.masked_fill_(~cm, float("-inf"))
            avail += int(torch.count_nonzero(cm))
        else:
            avail += p.numel()
        start += p.numel()
    if k > avail:
        # the count is of all entries, not of the survivors: the likely mistake
        raise ValueError(f"sparsity: asks for {k} of the {total} entries but `current` keeps "
                         f"only {avail}")
    keep = topk_mask_flat(flat, k)
    del flat
    out, start = {}, 0
    for n in chosen:
        numel = params[n].numel()
        out[n] = keep[start : start + numel].view(params[n].shape)
        start += numel
    # @torch.no_grad() puts torch's wrapper between this frame and the caller's
    _warn_global_collapse("sparsity", out, {n: params[n] for n in chosen}, current,
                          stacklevel=stacklevel_outside(_CORE))
    return carry_unscored(out, current)
