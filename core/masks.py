"""Boolean weight masks that live on a module as buffers.

A :class:`MaskSet` holds one ``bool`` tensor per named parameter (``True`` = kept).
Attached to a module it registers each mask as a buffer ``<attr>_mask`` on the
submodule that owns the parameter, so masks travel with ``state_dict``,
``copy.deepcopy``, ``.to(device)``, pickling and ``torch.save``/``torch.load``.
Pruned entries are kept at exactly zero during training by

* zeroing them once at attach time (weights and same-shaped optimizer state),
* zeroing their gradient in a post-accumulate-grad hook on the parameter, and
* re-applying the mask in place after every ``optimizer.step()`` (step post-hook)
  when an optimizer is given. For ``torch.optim.SGD``, ``Adam`` and ``AdamW`` (float32,
  float64 or bfloat16 weights, ``eps > 0``) a step cannot move a weight whose value,
  gradient and optimizer state are zero, so the pass is skipped for a parameter when
  torch's version counters show that neither it nor its masked gradient was written
  since the masks were last applied: one pass over the weights per step instead of two
  (a 25M-weight step 1.12x -> ~1.06x dense). Writes through ``.data`` do not bump
  those counters: after one, call :meth:`MaskSet.apply`. A parameter whose optimizer
  state may have taken in non-zero values at pruned entries (a step on a gradient that
  was not the masked one, e.g. with noise added or set by hand; a mask edited in place;
  SGD/Adam weight decay of a weight written in place) always gets the pass from then on,
  until the optimizer's state is loaded (and zeroed there) again.

There are no forward hooks that recompute the weight and no ``weight_orig`` copy
(the design of :mod:`torch.nn.utils.prune`): a forward pass costs exactly what the
dense model costs. One tiny forward pre-hook on the root module only re-arms the
gradient hooks of a copy (``deepcopy``/``torch.load`` do not copy tensor hooks).
Tensors given to ``torch.func.functional_call`` (or ``torch.func.grad``) are not masked,
another model's ``nn.Parameter`` s included: their gradients stay theirs (masked only by a
backward run inside the call), and the module's own gradients keep their masks (also those
of a forward before the call, and of a backward run while the call holds the parameters'
places). Mask them (or multiply by the masks) before the call when that is needed.

The hooks hold weak references to the parameters (and to the gradient they masked), which
:func:`torch.utils.swap_tensors` refuses to swap: under
``torch.__future__.set_swap_module_params_on_conversion(True)``, ``.to(dtype)``, ``.float()``
and ``load_state_dict`` of a masked model raise "Couldn't swap" ("Cannot swap t1 because it
has weakref associated with it"). Under that flag call ``MaskSet.detach_from(model)`` first
and attach the masks again after the conversion or the load (``masks.attach(model, opt)``).

Masks attached to a ``torch.compile`` wrapper go on the module it wraps, under that module's
parameter names (``'0.weight'``, not ``'_orig_mod.0.weight'``; the same for ``nn.DataParallel``
and ``DistributedDataParallel``, not ``'module.0.weight'``): from then on either one may
be passed to every method (:meth:`MaskSet.from_module` names the masks as the module it is
given does), and training through the compiled one keeps the masks (``fullgraph=True``
included). ``torch.export`` and ``torch.jit.trace`` take a masked model; ``torch.jit.script``
cannot compile the forward pre-hook (it fails with "'_MaskHook' object has no attribute
'__name__'"): script ``masks.to_dense_model(model)``, a plain copy with the pruned entries at
zero.
"""

from __future__ import annotations

import copy
import os
import sys
import weakref
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.utils import prune as torch_prune
from torch.nn.utils.spectral_norm import SpectralNorm
from torch.nn.utils.weight_norm import WeightNorm

from core.checks import torch_file_problem

__all__ = ["MaskSet", "prunable_names"]

_HOOK_ATTR = "_prunus_mask_hook"


def _objects_refused(exc: BaseException) -> str | None:
    """Say why ``torch.load(weights_only=True)`` refused a file of other objects, or None.

    torch's message advised "Re-running torch.load with weights_only set to False will
    likely succeed, but it can result in arbitrary code execution": for a file that may
    have been crafted, the one thing not to do. The class it stopped at is kept.

    Parameters
    ----------
    exc
        What ``torch.load`` raised.

    Returns
    -------
    str or None
        The reason, to follow "<file> cannot be read ...: ", or None for other errors.
    """
    import pickle
    import re

    text = str(exc)
    if not isinstance(exc, pickle.UnpicklingError) or "Weights only load failed" not in text:
        return None
    found = re.search(r"GLOBAL ([A-Za-z_][\w.]*)", text)
    named = f" ({found.group(1)})" if found else ""
    return (f"it holds Python objects other than tensors and plain values{named}, so prunus "
            "refuses to load it (it may be crafted, or not written by prunus)")


def _tied_aliases(module: nn.Module, params: Mapping[str, Any], missing: Iterable[str]) -> str:
    """Say which of the ``missing`` names are tied aliases of a parameter, and what to name.

    ``named_parameters()`` lists a tensor shared by two layers once, under its first name:
    ``lm_head.weight = emb.weight`` was refused as "no parameter(s) ['lm_head.weight']".

    Parameters
    ----------
    module
        The model.
    params
        ``dict(module.named_parameters())``.
    missing
        The names not found in ``params``.

    Returns
    -------
    str
        ``"; '<alias>' is a tied alias of '<name>' (...): name '<name>'"`` per alias, or ``""``.
    """
    first = {id(p): n for n, p in params.items()}
    alias = {n: first[id(p)] for n, p in module.named_parameters(remove_duplicate=False)
             if n not in params and id(p) in first}
    return "".join(f"; {n!r} is a tied alias of {alias[n]!r} (the same tensor, which "
                   f"named_parameters() lists once): name {alias[n]!r}"
                   for n in missing if n in alias)


def prunable_names(module: nn.Module, names: Iterable[str] | None = None) -> list[str]:
    """Names of the parameters that are pruned by default.

    Parameters
    ----------
    module
        The model.
    names
        Explicit parameter names (one name may be given as a str); checked against
        ``module.named_parameters()``. ``None`` selects every parameter with
        ``ndim >= 2`` (weights; biases and norm scales are left dense, and so are
        ``nn.MultiheadAttention``'s ``bias_k``/``bias_v`` of shape ``(1, 1, E)`` and the
        parameters of normalisation layers of any shape, such as ``nn.LayerNorm([C, L])``'s).

    Returns
    -------
    list of str
        Parameter names in ``named_parameters()`` order, each once (also when ``names``
        lists them in another order or repeats one).

    Raises
    ------
    ValueError
        If ``names`` contains a name the module has no parameter for (the message names
        the parameter that a tied alias, e.g. ``lm_head.weight`` tied to ``emb.weight``,
        shares: name that one), or a selected
        parameter is the ``<name>_orig`` of a weight pruned with
        :mod:`torch.nn.utils.prune` (call ``torch.nn.utils.prune.remove(layer, name)``
        first: masks of ``weight_orig`` would ignore torch's mask; torch's masks
        themselves are read, before that, by ``MaskSet.from_state_dict(module.state_dict())``),
        or (``names=None``)
        a parameter is an original of a parametrised weight (``core.hadamard``,
        ``weight_norm``, ``spectral_norm``, ...), whose scores are not the weight's; the
        legacy ``torch.nn.utils.weight_norm``'s ``weight_g`` and ``weight_v`` and
        ``torch.nn.utils.spectral_norm``'s ``weight_orig`` are refused too (call
        ``torch.nn.utils.remove_weight_norm(layer)`` or ``remove_spectral_norm(layer)``
        first, or pass ``names=``), and so is a lazy layer's parameter that no forward pass
        has initialised (either way).

    Examples
    --------
    >>> from torch import nn
    >>> from core import prunable_names
    >>> net = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4), nn.Linear(4, 2))
    >>> prunable_names(net)                        # biases and norm scales stay dense
    ['0.weight', '2.weight']
    >>> prunable_names(net, ["2.weight", "0.bias"])
    ['0.bias', '2.weight']
    """
    params = dict(module.named_parameters())
    if names is None:
        # a lazy layer's weight, shapeless until the first forward, reads ndim 1: it was
        # left out without a word (dense after that forward, the budget counted without it);
        # a lazy bias or norm layer would stay dense anyway
        _refuse_uninitialised(params, [n for n, p in params.items()
                                       if isinstance(p, nn.parameter.UninitializedParameter)
                                       and not _norm_parameter(module, n)
                                       and not _owner(module, n)[1].startswith("bias")],
                              "module")
        # bias_k/bias_v of nn.MultiheadAttention(add_bias_kv=True) are (1, 1, E) biases;
        # nn.LayerNorm([C, L]) holds scales and biases of ndim >= 2, pruned as weights before
        chosen = [n for n, p in params.items() if p.ndim >= 2
                  and not _attention_bias(module, n) and not _norm_parameter(module, n)]
        _refuse_torch_prune(module, chosen, "module")
        # the factors of a parametrised weight (core.hadamard's m and w, weight_norm's g and
        # v) were scored one by one: a magnitude mask of m and of w, not of m * w, and
        # weight_norm's gain g of shape (out, 1) pruned as a weight
        factors = [n for n in chosen if "parametrizations" in n.split(".")]
        if factors:
            raise ValueError(
                f"module: {factors[0]!r} is an original of a parametrised weight (e.g. "
                "core.hadamard's m and w, or weight_norm's, spectral_norm's or orthogonal's "
                "original); its scores are not those of the weight the layer uses, and its "
                "masks need not prune that weight: remove the parametrization first "
                "(core.remove_hadamard, torch.nn.utils.parametrize.remove_parametrizations; "
                "masks for m * w go to hadamard(module, masks=...)), or pass names= to mask "
                "the originals themselves (hadamard() was already applied if it is core's)")
        _refuse_legacy_norms(module, chosen)
        return chosen
    # a str is an iterable of its letters: "0.weight" was refused as ['0', '.', 'w', ...]
    names = [names] if isinstance(names, str) else list(names)
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(
            f"names: the module has no parameter(s) {missing}"
            f"{_tied_aliases(module, params, missing)}; "
            f"expected names from named_parameters(), e.g. {list(params)[:5]}"
        )
    _refuse_uninitialised(params, names, "names")
    # each once, in model order: a name given twice counted twice in a global budget, and
    # the order given decided ties and which layer pyramidal budgets count as the input
    wanted = set(names)
    chosen = [n for n in params if n in wanted]
    _refuse_torch_prune(module, chosen, "names")
    return chosen


#: what ``torch.compile``'s wrapper puts before the names of the module it wraps
_COMPILED_PREFIX = "_orig_mod."
#: what ``nn.DataParallel`` and ``DistributedDataParallel`` put before the names of theirs
_PARALLEL_PREFIX = "module."
_PARALLEL = (nn.DataParallel, nn.parallel.DistributedDataParallel)


def _unwrap(module: nn.Module) -> tuple[nn.Module, str]:
    """Return the module a wrapper wraps (``torch.compile``'s, ``DataParallel``) and the prefix.

    Masks attached to the wrapper went on the inner module under the wrapper's names
    (``'_orig_mod.0.weight'``): every later call on the inner module failed. They go on the
    inner module under its own names, so that the two are interchangeable. The same holds
    for ``nn.DataParallel`` and ``DistributedDataParallel`` (``'module.0.weight'``).

    Parameters
    ----------
    module
        A module, wrapped or not.

    Returns
    -------
    tuple of (nn.Module, str)
        The innermost module and what the wrappers add before its parameter names
        (``""`` for a module that is not wrapped).
    """
    # no torch._dynamo imported (a slow import): no module has been compiled
    eval_frame = sys.modules.get("torch._dynamo.eval_frame")
    wrapper = getattr(eval_frame, "OptimizedModule", None)
    prefix = ""
    while True:
        if wrapper is not None and isinstance(module, wrapper):
            module, prefix = module._orig_mod, prefix + _COMPILED_PREFIX
        elif isinstance(module, _PARALLEL):
            module, prefix = module.module, prefix + _PARALLEL_PREFIX
        else:
            return module, prefix


def _inner_name(name: str, params: Mapping[str, Any], wrapped: str = "") -> str:
    """``name`` as the module that ``params`` come from names it.

    A name of ``torch.compile(module).named_parameters()`` (``'_orig_mod.0.weight'``) is the
    parameter ``'0.weight'`` of ``module``; so is one of ``nn.DataParallel(module)``'s
    (``'module.0.weight'``) where the module given was such a wrapper (``wrapped``, the
    prefix :func:`_unwrap` removed): on a model of its own, ``'module.weight'``, a name it
    lacks, was taken for its parameter ``'weight'``.
    """
    strip = (_COMPILED_PREFIX,) + ((_PARALLEL_PREFIX,) if _PARALLEL_PREFIX in wrapped else ())
    while name not in params:
        prefix = next((p for p in strip if name.startswith(p)), None)
        if prefix is None:
            break
        name = name[len(prefix):]
    return name


def _owner(module: nn.Module, name: str) -> tuple[nn.Module, str]:
    path, _, attr = name.rpartition(".")
    return (module.get_submodule(path) if path else module), attr


def _check_optimizer(optimizer: Any, allow_none: bool = True) -> None:
    """Raise ``TypeError`` unless ``optimizer`` is a torch optimizer (or None if allowed)."""
    if optimizer is None and allow_none:
        return
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer: expected a torch.optim.Optimizer (or None), got "
                        f"{type(optimizer).__name__}")


def _torch_prune_base(module: nn.Module, name: str) -> str | None:
    """Return the ``<attr>`` that :mod:`torch.nn.utils.prune` computes from ``<attr>_orig``.

    ``None`` unless ``name`` ends in ``_orig`` and the owning submodule carries torch's
    pruning forward pre-hook for the ``<attr>`` before it.
    """
    owner, attr = _owner(module, name)
    if not attr.endswith("_orig"):
        return None
    base = attr[: -len("_orig")]
    for hook in owner._forward_pre_hooks.values():
        if isinstance(hook, torch_prune.BasePruningMethod) \
                and getattr(hook, "_tensor_name", None) == base:
            return base
    return None


def _attention_bias(module: nn.Module, name: str) -> bool:
    """Whether ``name`` is an ``nn.MultiheadAttention``'s ``bias_k`` or ``bias_v``."""
    owner, attr = _owner(module, name)
    return attr in ("bias_k", "bias_v") and isinstance(owner, nn.MultiheadAttention)


#: layers whose parameters are scales and shifts, never pruned by default (nn.RMSNorm
#: from torch 2.4 on): nn.LayerNorm([C, L]) holds them with ndim >= 2
_NORM_LAYERS: tuple[type[nn.Module], ...] = tuple(
    t for t in (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm,
                getattr(nn, "RMSNorm", None)) if t is not None)


def _norm_parameter(module: nn.Module, name: str) -> bool:
    """Whether ``name`` is a parameter of a normalisation layer (LayerNorm, BatchNorm, ...)."""
    return isinstance(_owner(module, name)[0], _NORM_LAYERS)


def _refuse_uninitialised(params: Mapping[str, torch.Tensor], names: Iterable[str],
                          arg: str) -> None:
    """Raise ``ValueError`` if a named parameter is a lazy layer's, not yet initialised."""
    lazy = [n for n in names if isinstance(params[n], nn.parameter.UninitializedParameter)]
    if lazy:
        raise ValueError(
            f"{arg}: the parameter {lazy[0]!r} is not initialised yet (a lazy layer such as "
            "nn.LazyLinear takes its shape from its first input): run one forward pass "
            "before building masks")


def _spectral_norm_base(module: nn.Module, name: str) -> str | None:
    """Return the ``<attr>`` that the legacy ``torch.nn.utils.spectral_norm`` computes.

    ``None`` unless ``name`` is that hook's ``<attr>_orig`` on its submodule.
    """
    owner, attr = _owner(module, name)
    for hook in owner._forward_pre_hooks.values():
        if isinstance(hook, SpectralNorm) and attr == hook.name + "_orig":
            return hook.name
    return None


def _refuse_legacy_norms(module: nn.Module, chosen: list[str]) -> None:
    """Raise ``ValueError`` on a parameter of the legacy ``weight_norm`` or ``spectral_norm``.

    ``weight_norm`` holds its factors as parameters ``<attr>_g`` (its gain, shaped
    ``(out, 1)``) and ``<attr>_v``, without "parametrizations" in their names;
    ``spectral_norm``'s ``<attr>_orig`` is the weight before its division by the largest
    singular value, so a global ranking compared layers at other scales (68 of a 3-conv
    model's entries chosen otherwise than on the weights used).
    """
    def why_weight_norm(layer: str, base: str) -> str:
        return ("is a factor of a weight computed by torch.nn.utils.weight_norm (layer "
                f"{layer}); its gain would be pruned as a weight and its direction ranked "
                "without the gain: remove it first (torch.nn.utils.remove_weight_norm("
                f"{base})), or pass names=")

    def why_spectral_norm(layer: str, base: str) -> str:
        return ("is the weight that torch.nn.utils.spectral_norm divides by its largest "
                f"singular value (layer {layer}): ranked across layers it would be compared "
                "at another scale than the weight the layer uses; remove it first "
                f"(torch.nn.utils.remove_spectral_norm({base})), or pass names= with a "
                "per-layer scope (scope='layer' ranks each layer as its weight would)")

    for base_of, why in ((_weight_norm_base, why_weight_norm),
                         (_spectral_norm_base, why_spectral_norm)):
        hit = [n for n in chosen if base_of(module, n) is not None]
        if hit:
            path = hit[0].rpartition(".")[0]
            holder = f"module.get_submodule({path!r})" if path else "module"
            raise ValueError(f"module: {hit[0]!r} " + why(
                repr(path or "<root>"), f"{holder}, {base_of(module, hit[0])!r}"))


def _weight_norm_base(module: nn.Module, name: str) -> str | None:
    """Return the ``<attr>`` that the legacy ``torch.nn.utils.weight_norm`` computes.

    ``None`` unless ``name`` is that hook's ``<attr>_g`` or ``<attr>_v`` on its submodule.
    """
    owner, attr = _owner(module, name)
    for hook in owner._forward_pre_hooks.values():
        if isinstance(hook, WeightNorm) and attr in (hook.name + "_g", hook.name + "_v"):
            return hook.name
    return None


def _refuse_torch_prune(module: nn.Module, names: Iterable[str], arg: str) -> None:
    """Raise ``ValueError`` if a name is the dense original of a torch.nn.utils.prune weight.

    Such a model computes ``weight = weight_orig * weight_mask`` before each forward:
    masks built on ``weight_orig`` ignore torch's mask, so the density they report is
    not the model's, and attaching them leaves torch's reparametrization in charge.
    """
    for n in names:
        base = _torch_prune_base(module, n)
        if base is not None:
            path = n.rpartition(".")[0]
            layer = f"module.get_submodule({path!r})" if path else "module"
            raise ValueError(
                f"{arg}: {n!r} is the dense original of a weight pruned with "
                f"torch.nn.utils.prune (layer {path or '<root>'!r}); its mask lives in that "
                f"layer's {base + '_mask'!r} buffer. Make the pruning permanent first: "
                f"torch.nn.utils.prune.remove({layer}, {base!r}) (the weights it pruned "
                "are zero from then on), then build the masks; to keep torch's masks as "
                "prunus masks, read them before the remove with "
                "masks = MaskSet.from_state_dict(module.state_dict()) and attach them "
                "after it")


def _torch_mask_problem(mask: Any, orig: Any) -> str | None:
    """Say why ``mask`` is not torch.nn.utils.prune's mask of ``orig``, or None.

    Parameters
    ----------
    mask
        The ``<param>_mask`` entry of a state dict.
    orig
        Its ``<param>_orig`` entry.

    Returns
    -------
    str or None
        The reason, to follow the key's name in a message.
    """
    if not isinstance(mask, torch.Tensor):
        return f"is a {type(mask).__name__}, not a tensor"
    if isinstance(orig, torch.Tensor) and mask.shape != orig.shape:
        return (f"has shape {tuple(mask.shape)}, not the shape {tuple(orig.shape)} of "
                "its weight")
    # a meta tensor has no values to check
    if mask.dtype != torch.bool and mask.device.type != "meta" \
            and not bool(((mask == 0) | (mask == 1)).all()):
        return "holds values other than 0 and 1"
    return None


def _zeros_and_ones_like(value: Any, param: Any) -> bool:
    """Whether ``value`` could be a mask of ``param`` turned into numbers (0s and 1s, its shape)."""
    if not (isinstance(value, torch.Tensor) and isinstance(param, torch.Tensor)) \
            or value.shape != param.shape:
        return False
    # a meta tensor has no values to look at
    return value.device.type == "meta" or bool(((value == 0) | (value == 1)).all())


def _refuse_unread_masks(state_dict: Mapping[str, Any], loose: list[str]) -> None:
    """Raise ``ValueError`` where a state dict that gave no mask holds masks all the same.

    An empty MaskSet attaches without a word and the model trains dense: this names
    the entries that look like masks (``loose``: ``<param>_mask`` beside ``<param>``
    but not bool), a checkpoint that holds a state dict with masks as one of its
    values, and a dict of masks alone (:meth:`MaskSet.state_dict`).
    """
    if loose:
        first = state_dict[loose[0]]
        what = (f"a {first.dtype} tensor" if isinstance(first, torch.Tensor)
                else f"a {type(first).__name__}")
        raise ValueError(
            f"state_dict: {loose[0]!r} is {what}, not a bool mask, and no mask could be "
            f"read ({len(loose)} of them: {loose[:5]}); MaskSet.attach saves bool "
            "masks, torch.nn.utils.prune's float ones come with '<param>_orig'. If they "
            "are masks converted to numbers, pass them as bool ({k: v.bool() ...}); if "
            "they are the model's own buffers, it holds no masks to attach")
    for key, value in state_dict.items():
        if isinstance(value, Mapping) and any(
                isinstance(k, str) and k.endswith("_mask") for k in value):
            raise ValueError(f"state_dict: expected a module's state_dict, got a mapping "
                             f"that holds one under {key!r}: pass state_dict[{key!r}]")
    if state_dict and all(isinstance(v, torch.Tensor) and v.dtype == torch.bool
                          for v in state_dict.values()):
        raise ValueError("state_dict: holds only bool tensors, none of them a "
                         "'<param>_mask' beside its '<param>': "
                         "masks by parameter name (MaskSet.state_dict(), a file of "
                         "MaskSet.save), not a module's state_dict; read them with "
                         "MaskSet(masks) or MaskSet.load(path)")


# entries per block when zeroing a large CPU tensor (a 1 MB float32 buffer)
_ZERO_BLOCK = 1 << 18
#: the integer dtype of each float dtype's width: a float is zeroed through its bits
_BITS_DTYPE = {torch.float16: torch.int16, torch.bfloat16: torch.int16,
               torch.float32: torch.int32, torch.float64: torch.int64}


def _zero_(tensor: torch.Tensor, mask: torch.Tensor) -> None:
    """Zero the entries of ``tensor`` where ``mask`` is False, in place.

    A float tensor outside autograd (weights and optimizer state after a step; a gradient
    recorded for a second derivative multiplies as floats) is multiplied as integers,
    through a view of its bits, by the mask viewed as uint8 (no copy of the mask): a pruned
    entry becomes +0.0 whatever it held, NaN and inf included (float16 Adam's 0 / 0;
    ``nan * 0`` is NaN), and a kept entry keeps its bits. As fast as the float product in
    float32 (``masked_fill_`` and ``torch.where`` are 15x slower on the CPU), 5x faster in
    float16/bfloat16. On the CPU a product of mixed dtypes is not vectorised, so large
    tensors are multiplied block by block by the mask converted into a small buffer of
    their own dtype: 1.7x faster, the same values.
    """
    if mask.device != tensor.device:
        mask = mask.to(tensor.device)
    if tensor.layout == torch.sparse_coo:
        # nn.Embedding(sparse=True)'s gradient (and SGD's momentum of it) has no storage to
        # view ("Cannot access storage of SparseTensorImpl"): zero its values at pruned
        # entries in place, so it stays sparse and the same tensor (an uncoalesced one's
        # repeated indices are each zeroed, so their sum is too)
        _zero_(tensor._values(), mask[tuple(tensor._indices())])
        return
    if mask.dtype != torch.bool:
        tensor.mul_(mask)
        return
    bits = mask.view(torch.uint8)
    # the bit view is outside autograd: a gradient masked under create_graph=True kept its
    # unmasked graph (second-order gradients were H v, not H (m * v)); those multiply as floats
    if tensor.dtype in _BITS_DTYPE and not (tensor.requires_grad and torch.is_grad_enabled()):
        tensor = tensor.view(_BITS_DTYPE[tensor.dtype])
    if (tensor.device.type != "cpu" or tensor.numel() <= _ZERO_BLOCK
            or not (tensor.is_floating_point() or tensor.dtype in _BITS_DTYPE.values())
            or not tensor.is_contiguous()):
        tensor.mul_(bits)
        return
    flat, bits = tensor.view(-1), bits.reshape(-1)
    buf = torch.empty(_ZERO_BLOCK, dtype=tensor.dtype)
    for start in range(0, flat.numel(), _ZERO_BLOCK):
        piece = flat[start : start + _ZERO_BLOCK]
        piece.mul_(buf[: piece.numel()].copy_(bits[start : start + _ZERO_BLOCK]))


#: torch's count of the references to a storage (private, in torch 2.2 to 2.13)
_STORAGE_USE_COUNT = getattr(torch._C, "_storage_Use_Count", None)


def _handed_over(grad: torch.Tensor, existed: bool | None) -> bool:
    """Whether autograd handed ``grad`` over in this backward, rather than adding into one.

    ``existed``: whether the parameter held a gradient before accumulation, as its tensor
    hook recorded. Where that hook did not run (``None``: a parameter swapped by
    ``swap_tensors``), the version decides: a gradient that existed before the backward was
    added into in place, which moved its version, and so was one this hook masked; a
    handed-over gradient written in place before (an input buffer's sum) is missed then.
    """
    return not existed if existed is not None else grad._version == 0


def _is_compiling() -> bool:
    """Whether torch.compile is tracing (``torch.compiler.is_compiling``, torch >= 2.3)."""
    check = getattr(getattr(torch, "compiler", None), "is_compiling", None)
    if check is None:  # torch 2.2
        if "torch._dynamo" not in sys.modules:  # nothing compiles (an import took 0.5 s)
            return False
        from torch._dynamo import is_compiling as check
    return bool(check())


def _shares_storage(tensor: torch.Tensor) -> bool:
    """Whether another tensor holds ``tensor``'s storage (True where torch cannot say)."""
    if _STORAGE_USE_COUNT is None:
        return True
    try:
        # a gradient alone with its storage counts 2 in a post-accumulate hook (torch 2.2
        # and 2.13; outside backward torch 2.2 counts 1), a view of another tensor's 3
        return _STORAGE_USE_COUNT(tensor.untyped_storage()._cdata) > 2
    except (RuntimeError, NotImplementedError, AttributeError, TypeError):
        return True


def _stamp(owner: nn.Module, attr: str) -> tuple[int, int, int, int]:
    """Return what changes when a weight or its mask is written in place or replaced.

    In-place writes bump a tensor's version, except those through ``.data``; a new tensor
    assigned to ``.data`` moves its data pointer. The mask counts too: one edited in place
    may prune entries that are not zero yet.
    """
    param, mask = getattr(owner, attr), getattr(owner, attr + "_mask")
    return param._version, param.data_ptr(), mask._version, mask.data_ptr()


def _refuse_lost_mask(name: str) -> None:
    """Raise ``ValueError``: the submodule of the masked parameter ``name`` was replaced.

    ``net[2] = nn.Linear(16, 10)`` after ``MaskSet.attach`` (a new head) left a submodule
    without the mask buffer: the next backward failed inside autograd with
    "'Linear' object has no attribute 'weight_mask'".
    """
    path, _, attr = name.rpartition(".")
    raise ValueError(
        f"masks: {name!r} has no mask any more: its submodule {path or '<root>'!r} was "
        f"replaced after MaskSet.attach by one without the buffer {attr + '_mask'!r} (a new "
        "layer). Detach the masks first (MaskSet.detach_from(module)), then attach masks of "
        "the new parameters")


def _zero_state(module: nn.Module, names: list[str], optimizer: torch.optim.Optimizer) -> None:
    """Zero the pruned entries of the optimizer state shaped like the masked parameters."""
    params = dict(module.named_parameters())
    with torch.no_grad():
        for n in names:
            owner, attr = _owner(module, n)
            mask = getattr(owner, attr + "_mask")
            for value in optimizer.state.get(params[n], {}).values():
                if isinstance(value, torch.Tensor) and value.shape == mask.shape:
                    _zero_(value, mask)


class _GradMask:
    """Post-accumulate-grad hook: zero the gradient of pruned entries.

    It remembers the gradient it masked and that tensor's version, so that a step
    post-hook can tell whether the gradient is still the masked one (nothing such as
    gradient noise or a gradient assigned by hand has written into it since).

    The hook of the module's own parameter (``always``) masks every gradient of it. One
    left on an ``nn.Parameter`` that held the parameter's place for a while (another
    model's, given to ``torch.func.functional_call``) masks only while that tensor is the
    parameter ``attr`` of ``owner``, when the gradient arrives: the other model's own
    gradients stay its own.
    """

    def __init__(self, owner: nn.Module, attr: str, always: bool = True) -> None:
        # weakly: a hook left on another model's parameter must not keep this one alive,
        # nor may the own parameter's hook keep its module (the tensor's hooks and the
        # module made a cycle the collector missed: a deleted model was never freed)
        self.owner = weakref.ref(owner)
        self.always = always
        self.attr = attr
        self.buffer = attr + "_mask"
        # the mask the own parameter's hook last read: a layer object replaced around the
        # same parameters (torch.ao.quantization.prepare_qat) freed the module, and the
        # gradients went unmasked (the mask holds no reference to the module)
        self.last_mask: torch.Tensor | None = getattr(owner, self.buffer) if always else None
        self.grad: weakref.ref[torch.Tensor] | None = None
        self.grad_version = -1
        #: whether the parameter had a gradient when this backward's reached it (its
        #: tensor hook, run before accumulation); None where that hook did not run
        self.existed: bool | None = None

    def note(self, param: torch.Tensor) -> None:
        """Record, before accumulation, whether ``param`` holds a gradient already."""
        self.existed = param.grad is not None

    def make_own(self) -> None:
        """Make this the hook of the module's own parameter (its predecessor is gone)."""
        self.always = True
        owner = self.owner()
        self.last_mask = None if owner is None else getattr(owner, self.buffer)

    def __call__(self, param: torch.Tensor) -> None:
        owner = self.owner()
        if owner is None:
            mask = self.last_mask  # the own parameter's, its module gone; else None
        elif self.always or owner._parameters.get(self.attr) is param:
            mask = getattr(owner, self.buffer)
            if self.always:
                self.last_mask = mask
        else:
            mask = None
        grad = param.grad
        if mask is not None and grad is not None:
            if grad.layout == torch.sparse_coo:
                # nn.Embedding(sparse=True)'s values are a view of the gradient flowing into
                # its output, which other branches still read: zeroed in place, a layer whose
                # backward ran later got a corrupted gradient. A new tensor instead
                grad = _masked_sparse(grad, mask)
                param.grad = grad
            else:
                existed, self.existed = self.existed, None
                if (_handed_over(grad, existed) and not _is_compiling()
                        and _shares_storage(grad)):
                    # torch accumulates a first gradient by taking the incoming tensor itself
                    # when nothing else refers to it, and a weight read through a view
                    # (w.reshape(-1) + v) gets a view of the gradient that another branch
                    # still reads: zeroed in place, v's gradient lost the pruned entries
                    # too. A copy instead; a gradient that was there before (a view of a
                    # flat buffer, DDP's bucket) was added into, and is masked in place
                    grad = grad.clone()
                    param.grad = grad
                _zero_(grad, mask)
            self.grad, self.grad_version = weakref.ref(grad), grad._version

    def grad_is_masked(self, param: torch.Tensor) -> bool:
        """Whether ``param.grad`` is None or the gradient this hook masked, unchanged."""
        grad = param.grad
        if grad is None:
            return True
        return (self.grad is not None and self.grad() is grad
                and grad._version == self.grad_version)


def _masked_sparse(grad: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Return a new sparse COO gradient: ``grad`` with its entries at pruned places zero."""
    keep = mask.to(grad.device)[tuple(grad._indices())]
    values = grad._values()
    values = (torch.where(keep, values, torch.zeros((), dtype=values.dtype, device=values.device))
              if keep.dtype == torch.bool else values * keep)
    # the indices are grad's own, already valid: no check (and no warning that none ran)
    return torch.sparse_coo_tensor(grad._indices(), values, grad.shape,
                                   is_coalesced=grad.is_coalesced(), check_invariants=False)


def _add_grad_hook(param: torch.Tensor, hook: _GradMask) -> Any:
    """Register ``hook`` on ``param``; return the handle that removes it.

    As a post-accumulate-grad hook, and its :meth:`_GradMask.note` as a tensor hook, which
    runs before accumulation.

    A parameter swapped by :func:`torch.utils.swap_tensors` (``.to()``, ``load_state_dict``
    under ``torch.__future__.set_swap_module_params_on_conversion(True)``) after it had such
    a hook keeps the dict of hooks that its new C++ tensor does not run: a hook added to it
    never ran (masks detached before ``.double()`` and attached after masked no gradient).
    Setting the dict again ties it to the tensor of the moment (only where there was one:
    ``torch.compile`` cannot trace the assignment).
    """
    had = param._post_accumulate_grad_hooks is not None
    handle = param.register_post_accumulate_grad_hook(hook)
    if had:
        param._post_accumulate_grad_hooks = param._post_accumulate_grad_hooks
    ref = weakref.ref(param)

    def note(grad: torch.Tensor) -> None:
        # before accumulation: whether the gradient that arrives joins one already there
        # (a flat buffer's view, DDP's bucket: masked in place) or is handed over (its
        # storage may be another branch's: masked as a copy)
        held = ref()
        if held is not None:
            hook.note(held)

    return _Handles(handle, param.register_hook(note))


class _Handles:
    """The two hooks of a masked parameter, removed together."""

    def __init__(self, *handles: Any) -> None:
        self.handles = handles

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def _takes_grad_hook(param: torch.Tensor) -> bool:
    """Whether torch accumulates a gradient into ``param`` (and accepts a hook for it)."""
    return param.requires_grad and param.is_leaf


#: optimizers whose step leaves a weight at exactly zero when its gradient and its state
#: are zero (every update is elementwise and proportional to them; weight decay scales
#: the zero weight), given ``eps > 0`` where they divide by a second moment
_ZERO_PRESERVING = (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW)
#: float16 rounds Adam's eps of 1e-8 to 0, and 0 / 0 is NaN: a float16 weight always gets
#: the pass after a step, which turns the NaN at its pruned entries back into 0 (_zero_)
_ZERO_PRESERVING_DTYPES = (torch.float32, torch.float64, torch.bfloat16)


def _decays_into_state(optimizer: torch.optim.Optimizer) -> set[int]:
    """``id`` of the parameters whose weight decay enters the optimizer state.

    SGD's and Adam's weight decay adds ``wd * w`` to the gradient before the momentum or
    the moments take it in, so a pruned weight that is not zero before a step leaves
    non-zero state behind; AdamW's decoupled decay only scales the weight.
    """
    if isinstance(optimizer, torch.optim.AdamW):
        return set()
    return {id(p) for group in optimizer.param_groups if group.get("weight_decay", 0)
            for p in group["params"]}


def _preserves_zeros(optimizer: torch.optim.Optimizer) -> bool:
    if type(optimizer) not in _ZERO_PRESERVING:
        return False  # subclasses may change the update
    return all(float(group.get("eps", 1.0)) > 0 for group in optimizer.param_groups)


class _MaskHook:
    """State of an attached MaskSet, stored on the root module.

    It is a forward pre-hook of the root module: on each call it checks (cheaply)
    that the gradient hooks are registered on *this* module's parameters and
    registers them when they are not (after ``deepcopy``/``pickle``, which copy the
    module but not tensor hooks). It also applies the masks after optimizer steps.
    """

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self._armed: weakref.ref[nn.Module] | None = None
        self._params: list[weakref.ref[torch.Tensor]] = []
        self._grad_hooks: list[_GradMask | None] = []
        # per name, the handle of its hook (None for a frozen parameter)
        self._grad_handles: list[Any] = []
        # per name, (weakref(tensor), hook, handle) of the other nn.Parameters that held its
        # place (functional_call): their hooks mask only while they hold it (_GradMask), and
        # stay so that the module's own parameter keeps its hook (see _follow)
        self._extra: list[list[tuple[weakref.ref[torch.Tensor], _GradMask, Any]]] = [
            [] for _ in names]
        # the optimizers hooked and, at the same index, the handles of their three hooks
        self._opt_handles: list[list[Any]] = []
        self._optimizers: list[weakref.ref[torch.optim.Optimizer]] = []
        # per parameter, the stamps (_stamp) right after its pruned entries were last
        # known to be zero, and whether they still held before the current step
        self._zeroed: dict[str, tuple[int, int, int, int]] = {}
        self._clean: dict[str, bool] = {}
        # per parameter, whether the current step may write non-zero optimizer state at its
        # pruned entries (a mask edited since, or a weight decay that reads a weight that
        # may be non-zero there); and the parameters whose state may already be non-zero
        # there (a step saw such a gradient or weight): a later step with a clean weight and
        # a masked gradient would still move their pruned weights, so they always get the
        # pass, until loaded optimizer state is zeroed again
        self._risky: dict[str, bool] = {}
        self._suspect: set[str] = set()

    # -- pickling: handles and weak references stay behind ------------------
    def __getstate__(self) -> dict[str, Any]:
        return {"names": list(self.names)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["names"])

    def __deepcopy__(self, memo: dict[int, Any]) -> _MaskHook:
        return _MaskHook(list(self.names))

    # -- hooks -------------------------------------------------------------
    def _is_armed(self, module: nn.Module) -> bool:
        # the parameters too: load_state_dict(assign=True) swaps them in place of the module
        if self._armed is None or self._armed() is not module:
            return False
        for ref, hook, name in zip(self._params, self._grad_hooks, self.names, strict=True):
            param = getattr(*_owner(module, name))
            # a parameter frozen when armed has no hook: it needs one once it is unfrozen;
            # one set to None (its old one freed, ref() is None too) goes to arm() to be named
            if param is None or ref() is not param \
                    or (hook is None and _takes_grad_hook(param)):
                return False
        return True

    def _check_places(self, module: nn.Module) -> bool:
        """Raise ``ValueError`` naming a masked parameter that is gone or lost its mask.

        Without gradients (``torch.no_grad``, inference with a new head) a lost mask is no
        error, there being nothing to mask: returns False then (True where all is in place).
        """
        for name in self.names:
            # a parametrization (core.hadamard, torch.nn.utils.parametrize) or
            # torch.nn.utils.prune put a computed tensor in the parameter's place: registering
            # the hook on it failed in the next forward pass with torch's "post accumulate grad
            # hooks cannot be registered on non-leaf tensors", naming neither cause nor weight
            try:
                owner, attr = _owner(module, name)
                owner = _unwrap(owner)[0]  # a submodule compiled in place
                replaced = attr not in owner._parameters
            except AttributeError:
                replaced = True
            if not replaced and owner._parameters[attr] is None:
                # net[0].bias = None: the hook failed with "'NoneType' object has no
                # attribute 'requires_grad'"
                raise ValueError(
                    f"masks: {name!r} is no longer a parameter of the module: it was set to "
                    "None after MaskSet.attach. Detach the masks first "
                    "(MaskSet.detach_from(module)), then attach masks without it")
            if replaced:
                raise ValueError(
                    f"masks: {name!r} is no longer a parameter of the module: it was replaced "
                    "after MaskSet.attach (by a parametrization such as core.hadamard, or by "
                    "torch.nn.utils.prune). Detach the masks before such a change "
                    "(MaskSet.detach_from(module)), then attach masks of the new parameters "
                    "(for core.hadamard: pass the detached masks as hadamard(module, "
                    "masks=...))")
            # a submodule compiled in place keeps the buffer on the module it wraps
            if attr + "_mask" not in owner._buffers:
                if not torch.is_grad_enabled():
                    return False
                _refuse_lost_mask(name)
        return True

    def arm(self, module: nn.Module) -> None:
        """Register gradient hooks on ``module``'s parameters (idempotent)."""
        if self._is_armed(module):
            return
        if not self._check_places(module):
            return  # an inference pass (no gradients) after a masked layer was replaced
        if self._armed is not None and self._armed() is module:
            self._follow(module)
            return
        self.disarm()
        for name in self.names:
            owner, attr = _owner(module, name)
            param = getattr(owner, attr)
            grad_hook = handle = None
            # torch refuses the hook on a frozen parameter (requires_grad=False): attaching
            # masks to a model with a frozen layer raised, as did a deepcopy's first
            # forward; a frozen parameter gets no gradient (_is_armed re-arms on unfreeze)
            if _takes_grad_hook(param):
                grad_hook = _GradMask(owner, attr)
                handle = _add_grad_hook(param, grad_hook)
            self._grad_hooks.append(grad_hook)
            self._grad_handles.append(handle)
            self._params.append(weakref.ref(param))
        self._armed = weakref.ref(module)

    def _follow(self, module: nn.Module) -> None:
        """Register hooks on the parameters that took the masked places since arming.

        ``torch.func.functional_call(module, dict(other.named_parameters()), ...)`` puts
        another model's ``nn.Parameter`` s in the places for one call: moving the hooks onto
        them masked the other model's gradients until the next forward of ``module`` and
        left the module's own pending gradients unmasked. The parameter armed keeps its
        hook; a newcomer gets one that masks only while it holds the place (_GradMask), and
        becomes the armed one once the parameter armed is gone (``load_state_dict(...,
        assign=True)``, a new ``nn.Parameter`` assigned). A parameter armed frozen and
        unfrozen since gets its hook.
        """
        for i, name in enumerate(self.names):
            owner, attr = _owner(module, name)
            owner = _unwrap(owner)[0]  # a submodule compiled in place
            param = owner._parameters[attr]
            armed = self._params[i]()
            if param is armed:
                if self._grad_hooks[i] is None and _takes_grad_hook(param):
                    self._grad_hooks[i] = _GradMask(owner, attr)
                    self._grad_handles[i] = _add_grad_hook(param, self._grad_hooks[i])
                continue
            if not isinstance(param, nn.Parameter):
                continue  # a plain tensor, for one call: not masked
            extra = [e for e in self._extra[i] if e[0]() is not None]
            found = next((e for e in extra if e[0]() is param), None)
            if armed is None:
                # the parameter armed is gone: this one replaced it for good
                grad_hook, handle = (None, None) if found is None else found[1:]
                if found is not None:
                    extra.remove(found)
                    grad_hook.make_own()
                elif _takes_grad_hook(param):
                    grad_hook = _GradMask(owner, attr)
                    handle = _add_grad_hook(param, grad_hook)
                self._params[i], self._grad_hooks[i] = weakref.ref(param), grad_hook
                self._grad_handles[i] = handle
                self._zeroed = {}
            elif found is None and _takes_grad_hook(param):
                grad_hook = _GradMask(owner, attr, always=False)
                extra.append((weakref.ref(param), grad_hook, _add_grad_hook(param, grad_hook)))
            self._extra[i] = extra

    def disarm(self) -> None:
        for handle in self._grad_handles:
            if handle is not None:
                handle.remove()
        for extra in self._extra:
            for _, _, handle in extra:
                handle.remove()
        self._extra = [[] for _ in self.names]
        self._grad_handles = []
        self._grad_hooks = []
        self._params = []
        self._armed = None
        self._zeroed = {}

    def _swapped_in(self, module: nn.Module) -> bool:
        """Whether a plain tensor holds a masked parameter's place (``functional_call``).

        ``torch.func.functional_call`` puts the tensors it is given in the parameters'
        places for one call: re-arming on them took the hooks off the module's own
        parameters, whose gradients (of a forward before that call) went unmasked.
        """
        for name in self.names:
            try:
                owner, attr = _owner(module, name)
            except AttributeError:
                return False  # arm() names the replaced parameter
            value = owner._parameters.get(attr)
            if value is not None and not isinstance(value, nn.Parameter):
                return True
        return False

    def __call__(self, module: nn.Module, args: Any) -> None:
        # nn.DataParallel's per-device replicas copy this hook but hold computed tensors in
        # the parameters' places (arming failed: "no longer a parameter"); their gradients
        # flow back to the module's own parameters, which keep their hooks
        if getattr(module, "_is_replica", False):
            return
        if not self._is_armed(module) and not self._swapped_in(module):
            self.arm(module)

    def add_optimizer(self, module: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        # forget the optimizers that are gone (their hooks went with them): a sweep that gave
        # one masked model a fresh optimizer per run kept a reference and three handles of
        # every earlier one, and the scan below grew with them
        live = [i for i, hooked in enumerate(self._optimizers) if hooked() is not None]
        self._optimizers = [self._optimizers[i] for i in live]
        self._opt_handles = [self._opt_handles[i] for i in live]
        # once per optimizer: a notebook cell re-run added three more hooks each time, and
        # every step then applied the masks once per run
        if any(hooked() is optimizer for hooked in self._optimizers):
            return
        self._optimizers.append(weakref.ref(optimizer))
        ref = weakref.ref(module)

        def _before_step(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
            mod = ref()
            if mod is not None:
                decays = _decays_into_state(opt)
                self._clean, self._risky = {}, {}
                for name in self.names:
                    owner, attr = _owner(mod, name)
                    if not hasattr(owner, attr + "_mask"):
                        # a layer object replaced around the same parameters (prepare_qat):
                        # "'Linear' object has no attribute 'weight_mask'" before the step
                        _refuse_lost_mask(name)
                    old, now = self._zeroed.get(name), _stamp(owner, attr)
                    self._clean[name] = old == now
                    self._risky[name] = old != now and (
                        (old is not None and old[2:] != now[2:])  # the mask changed
                        or id(getattr(owner, attr)) in decays)

        def _after_step(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
            mod = ref()
            if mod is not None:
                self.apply(mod, skip_clean=_preserves_zeros(opt))
            self._clean, self._risky = {}, {}

        def _after_load(opt: torch.optim.Optimizer) -> None:
            # loaded state (momentum, moments) may be non-zero at pruned entries
            mod = ref()
            if mod is not None:
                _zero_state(mod, self.names, opt)
                mine = {id(p) for group in opt.param_groups for p in group["params"]}
                params = dict(mod.named_parameters())
                self._suspect -= {n for n in self.names if id(params.get(n)) in mine}
                self.apply(mod)  # and the weights: a known-zero start for the next step
            else:
                self._zeroed = {}

        self._opt_handles.append([optimizer.register_step_pre_hook(_before_step),
                                  optimizer.register_step_post_hook(_after_step),
                                  optimizer.register_load_state_dict_post_hook(_after_load)])

    def apply(self, module: nn.Module, skip_clean: bool = False) -> None:
        """Zero the pruned entries; with ``skip_clean``, not those a step kept at zero.

        A parameter is skipped when it was clean before the step (not written since the
        masks were last applied), its gradient is the masked one, unchanged, and its
        optimizer state is known to be zero at pruned entries: then a zero-preserving
        optimizer left its pruned entries at zero. A step that saw a gradient that was not
        the masked one (or a risky weight, see ``_risky``) may have written non-zero
        state there (momentum, Adam moments), which would move the pruned weights in every
        later step: such a parameter is not skipped again.
        """
        armed = self._is_armed(module)
        with torch.no_grad():
            for i, name in enumerate(self.names):
                owner, attr = _owner(module, name)
                if not hasattr(owner, attr + "_mask"):  # as before a step (_before_step)
                    _refuse_lost_mask(name)
                param = getattr(owner, attr)
                grad_hook = self._grad_hooks[i] if armed else None
                masked = armed and (param.grad is None if grad_hook is None
                                    else grad_hook.grad_is_masked(param))
                if skip_clean and (self._risky.get(name, False) or not masked):
                    self._suspect.add(name)
                if not (skip_clean and masked and self._clean.get(name, False)
                        and name not in self._suspect
                        and param.dtype in _ZERO_PRESERVING_DTYPES):
                    _zero_(param, getattr(owner, attr + "_mask"))
                self._zeroed[name] = _stamp(owner, attr)

    def remove_optimizer_hooks(self) -> None:
        for handles in self._opt_handles:
            for handle in handles:
                handle.remove()
        self._opt_handles = []
        self._optimizers = []


class MaskSet(Mapping[str, torch.Tensor]):
    """The masks of a model: one ``bool`` tensor per named parameter.

    ``True`` marks a kept entry, ``False`` a pruned one. A MaskSet is a read-only
    mapping ``name -> mask`` (names are keys of ``module.named_parameters()``).

    Parameters
    ----------
    masks
        Mapping from parameter name to a tensor of the parameter's shape. Non-bool
        tensors are converted with ``!= 0``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from core import MaskSet, magnitude_mask
    >>> _ = torch.manual_seed(0)       # for some initialisations 2.weight loses every entry
    >>> net = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> masks = magnitude_mask(net, sparsity=0.75)
    >>> round(masks.density(), 2)
    0.25
    >>> opt = torch.optim.Adam(net.parameters())
    >>> _ = masks.attach(net, opt)      # pruned weights now stay exactly 0
    """

    def __init__(self, masks: Mapping[str, torch.Tensor]) -> None:
        if not isinstance(masks, Mapping):  # a list failed with "has no attribute 'items'"
            raise TypeError(f"masks: expected a mapping of parameter name to mask tensor, "
                            f"got {type(masks).__name__}")
        out: dict[str, torch.Tensor] = {}
        for name, mask in masks.items():
            if not isinstance(mask, torch.Tensor):
                raise TypeError(f"masks[{name!r}]: expected a torch.Tensor, got {type(mask)}")
            mask = mask if mask.dtype == torch.bool else mask != 0
            if mask.is_inference():
                # made under torch.inference_mode (scoring is inference): such a tensor has
                # no version counter, and attach() failed with torch's "Inference tensors
                # do not track version counter", even outside inference mode
                with torch.inference_mode(False):
                    mask = mask.clone()
            out[name] = mask
        self.masks: dict[str, torch.Tensor] = out

    # -- mapping protocol ----------------------------------------------------
    def __getitem__(self, name: str) -> torch.Tensor:
        return self.masks[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.masks)

    def __len__(self) -> int:
        return len(self.masks)

    def __repr__(self) -> str:
        if any(m.device.type == "meta" for m in self.masks.values()):
            # no values to count (a model built on the meta device): a repr must not raise
            return f"MaskSet({len(self)} tensors, on the meta device)"
        return f"MaskSet({len(self)} tensors, density={self.density():.4f})"

    # -- statistics ----------------------------------------------------------
    def kept(self) -> int:
        """Count the kept entries over all masks.

        Returns
        -------
        int
            Number of ``True`` entries.
        """
        return int(sum(int(torch.count_nonzero(m)) for m in self.masks.values()))

    def numel(self) -> int:
        """Count the masked entries (kept or pruned) over all masks.

        Returns
        -------
        int
            Total number of entries.
        """
        return int(sum(m.numel() for m in self.masks.values()))

    def density(self) -> float:
        """Fraction of kept entries over all masked parameters.

        Returns
        -------
        float
            ``kept() / numel()``; 1.0 for an empty MaskSet.
        """
        total = self.numel()
        return self.kept() / total if total else 1.0

    def sparsity(self) -> float:
        """Fraction of pruned entries.

        Returns
        -------
        float
            ``1 - density()``.
        """
        return 1.0 - self.density()

    def layer_density(self) -> dict[str, float]:
        """Fraction of kept entries per parameter.

        Returns
        -------
        dict of str to float
            Parameter name -> density in [0, 1].
        """
        return {n: float(torch.count_nonzero(m)) / max(m.numel(), 1) for n, m in self.masks.items()}

    # -- algebra -------------------------------------------------------------
    def _combine(self, other: MaskSet, op: str) -> MaskSet:
        if not isinstance(other, MaskSet):
            return NotImplemented
        names = list(self.masks) + [n for n in other.masks if n not in self.masks]
        out = {}
        for n in names:
            a, b = self.masks.get(n), other.masks.get(n)
            if a is None or b is None:
                # a missing mask means "dense" for both operators
                out[n] = (a if b is None else b).clone() if op == "and" else torch.ones_like(
                    a if a is not None else b
                )
            elif a.shape != b.shape:
                raise ValueError(f"other: mask {n!r} has shape {tuple(b.shape)}, "
                                 f"expected {tuple(a.shape)}")
            else:
                b = b.to(a.device)
                out[n] = a & b if op == "and" else a | b
        return MaskSet(out)

    def __and__(self, other: MaskSet) -> MaskSet:
        return self._combine(other, "and")

    def __or__(self, other: MaskSet) -> MaskSet:
        return self._combine(other, "or")

    def to(self, device: torch.device | str) -> MaskSet:
        """Return a copy with every mask on ``device``.

        Parameters
        ----------
        device
            Target device.

        Returns
        -------
        MaskSet
            A new MaskSet (masks already on ``device`` are shared, not copied).
        """
        return MaskSet({n: m.to(device) for n, m in self.masks.items()})

    # -- module mechanics ----------------------------------------------------
    def _check(self, module: nn.Module
               ) -> tuple[nn.Module, dict[str, str], dict[str, nn.Parameter]]:
        """Check the masks against ``module``; return where they go.

        Parameters
        ----------
        module
            The model (or a ``torch.compile`` wrapper of it).

        Returns
        -------
        tuple
            The module that holds the parameters (the one a ``torch.compile`` wrapper
            wraps), each mask's name of its parameter there, and its named parameters.
        """
        module, wrapped = _unwrap(module)
        params = dict(module.named_parameters())
        names = {n: _inner_name(n, params, wrapped) for n in self.masks}
        missing = [n for n, inner in names.items() if inner not in params]
        if missing:
            raise ValueError(
                f"masks: the module has no parameter(s) {missing}"
                f"{_tied_aliases(module, params, [names[n] for n in missing])}; expected "
                f"names from module.named_parameters(), e.g. {list(params)[:5]}"
            )
        seen: dict[str, str] = {}
        for n, inner in names.items():
            if inner in seen:
                raise ValueError(f"masks: {seen[inner]!r} and {n!r} name the same parameter "
                                 f"{inner!r} (one through a wrapper's name); keep one")
            seen[inner] = n
        for n, m in self.masks.items():
            if m.shape != params[names[n]].shape:
                raise ValueError(f"masks: mask {n!r} has shape {tuple(m.shape)}, expected the "
                                 f"parameter's shape {tuple(params[names[n]].shape)}")
        _refuse_torch_prune(module, list(names.values()), "masks")
        return module, names, params

    def apply(self, module: nn.Module) -> None:
        """Zero the pruned entries of ``module``'s parameters in place (no autograd).

        Parameters
        ----------
        module
            The model whose ``named_parameters()`` the mask names refer to.

        Raises
        ------
        ValueError
            If a mask names a parameter the module lacks or has another shape.
        """
        _, names, params = self._check(module)
        with torch.no_grad():
            for n, m in self.masks.items():
                _zero_(params[names[n]], m)

    def attach(
        self, module: nn.Module, optimizer: torch.optim.Optimizer | None = None
    ) -> MaskSet:
        """Attach the masks to ``module`` so pruned entries stay exactly zero.

        Registers a copy of each mask as a buffer ``<attr>_mask`` on the owning
        submodule (this MaskSet then holds the module's buffers; the module shares no mask
        with another module or with the tensors it was given), zeroes pruned weights (and
        pruned entries of same-shaped optimizer state, e.g. Adam moments), masks gradients
        with a post-accumulate-grad hook and, when ``optimizer`` is given, re-applies the
        masks after every ``optimizer.step()``.

        Optimizer state follows one rule: every optimizer hooked to the module's masks
        has its per-parameter state (momentum buffers, Adam's ``exp_avg`` and
        ``exp_avg_sq``, ...) zeroed at the pruned entries whenever masks are attached,
        so that no stale state moves a pruned weight. Attaching again replaces the masks
        attached before and keeps the optimizers hooked to them (their state is zeroed
        at the entries the new masks prune); given an ``optimizer``, only that one is
        hooked and the earlier ones are let go (their state zeroed at the pruned entries
        once more, as the masked gradients then keep those weights at 0). An optimizer
        that was never hooked is
        unknown to the masks: pass it here (or to :meth:`attach_optimizer`) when it
        already holds state, e.g. after dense training, or its stale momentum keeps
        moving the pruned weights.

        Parameters
        ----------
        module
            The model whose ``named_parameters()`` the mask names refer to.
        optimizer
            Optional optimizer whose steps are followed by a re-application.

        Returns
        -------
        MaskSet
            ``self``, for chaining.

        Raises
        ------
        TypeError
            If ``optimizer`` is not a ``torch.optim.Optimizer``.
        ValueError
            If a mask names a parameter the module lacks, has another shape, is the
            ``<name>_orig`` of a :mod:`torch.nn.utils.prune` reparametrization, or its
            submodule already has an attribute ``<attr>_mask``.

        Notes
        -----
        On a refusal the module is left as it was (masks attached before included).
        Given a ``torch.compile`` wrapper, the masks go on the module it wraps (mask names
        of either one are taken); this MaskSet keeps the names it was given.
        ``torch.jit.script`` cannot compile the attached masks' forward pre-hook: script
        :meth:`to_dense_model` instead. Under
        ``torch.__future__.set_swap_module_params_on_conversion(True)`` detach the masks
        before ``.to()`` or ``load_state_dict`` and attach them again after (the hooks hold
        weak references to the parameters, which torch refuses to swap).
        """
        # checked before the module is touched: an object that is no optimizer failed only
        # in the hook registration, after the buffers were registered and weights zeroed
        _check_optimizer(optimizer)
        module, names, params = self._check(module)
        # check every buffer name before touching the module, so a refusal leaves it as it was
        old = getattr(module, _HOOK_ATTR, None)
        ours = set() if old is None else set(old.names)
        for n in self.masks:
            owner, attr = _owner(module, names[n])
            buf = attr + "_mask"
            if hasattr(owner, buf) and names[n] not in ours:
                raise ValueError(f"module: submodule of {n!r} already has an attribute "
                                 f"{buf!r}; cannot register the mask buffer")
        # a re-attach without an optimizer dropped the hooked ones: their steps no longer
        # re-applied the masks and their momentum revived the newly pruned weights
        hooked = [] if old is None else [
            opt for opt in (ref() for ref in old._optimizers) if opt is not None]
        optimizers = [optimizer] if optimizer is not None else hooked
        # those let go for the one given are still stepped by the caller's code (a schedule
        # passes its own optimizer at every prune): their state is zeroed at the new masks too
        dropped = [opt for opt in hooked if opt is not optimizer]
        MaskSet.detach_from(module)
        for n, m in self.masks.items():
            owner, attr = _owner(module, names[n])
            buf = attr + "_mask"
            # the module's own copy: attached as they were, the masks of from_module(a)
            # (or the caller's tensors) were shared by a and b, so resuming a with
            # load_state_dict changed b's masks and let its pruned weights grow back
            with torch.inference_mode(False):  # a copy made inside the block would be one
                m = m.to(params[names[n]].device, copy=True)
            self.masks[n] = m
            owner.register_buffer(buf, m)
        hook = _MaskHook([names[n] for n in self.masks])
        setattr(module, _HOOK_ATTR, hook)
        module.register_forward_pre_hook(hook)
        hook.arm(module)
        hook.apply(module)
        for opt in optimizers:
            self.attach_optimizer(module, opt)
        for opt in dropped if optimizer is not None else []:
            _zero_state(module, hook.names, opt)
        return self

    @staticmethod
    def attach_optimizer(module: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Re-apply the masks attached to ``module`` after each ``optimizer.step()``.

        Also zeroes pruned entries of same-shaped optimizer state (momentum, Adam
        moments) so that stale state cannot move a pruned weight. Attaching an optimizer
        that is attached already only zeroes its state again (its hooks are not doubled).
        Call it again after copying a masked module and its optimizer yourself
        (``copy.deepcopy``, pickling): torch copies no optimizer hooks, so the copy's steps
        would not re-apply the masks (a :class:`core.PruningSchedule` copy re-attaches them).
        It also arms the gradient masks on the module's own parameters, which a copy's
        first forward would otherwise do (a model trained only through its submodules,
        ``model.encoder(x)``, never runs it).

        Parameters
        ----------
        module
            A module a MaskSet is attached to (or a ``torch.compile`` wrapper of one).
        optimizer
            The optimizer whose steps are followed by a re-application.

        Raises
        ------
        TypeError
            If ``optimizer`` is not a ``torch.optim.Optimizer``.
        ValueError
            If no MaskSet is attached to ``module``.
        """
        _check_optimizer(optimizer, allow_none=False)
        module, _ = _unwrap(module)
        hook = getattr(module, _HOOK_ATTR, None)
        if hook is None:
            raise ValueError("module: no MaskSet is attached; call MaskSet.attach first")
        hook.add_optimizer(module, optimizer)
        # a copy's gradient masks were armed only by its first forward: a model trained
        # through its submodules (model.encoder(x)) never ran it, and Adam's moments filled
        # at pruned entries from unmasked gradients
        if not hook._is_armed(module) and not hook._swapped_in(module):
            hook.arm(module)
        _zero_state(module, hook.names, optimizer)

    def detach(self, module: nn.Module) -> None:
        """Remove the mask buffers and hooks from ``module`` (weights keep their zeros).

        Parameters
        ----------
        module
            The module this MaskSet (or any) is attached to; a no-op if none is.
        """
        MaskSet.detach_from(module)

    @staticmethod
    def detach_from(module: nn.Module) -> None:
        """Remove whatever MaskSet is attached to ``module`` (no-op if none).

        Parameters
        ----------
        module
            The module to clean (a ``torch.compile`` wrapper or the module it wraps).
        """
        module, _ = _unwrap(module)
        hook = getattr(module, _HOOK_ATTR, None)
        if hook is None:
            return
        hook.disarm()
        hook.remove_optimizer_hooks()
        for hid, h in list(module._forward_pre_hooks.items()):
            if h is hook:
                del module._forward_pre_hooks[hid]
        for n in hook.names:
            owner, attr = _owner(module, n)
            if attr + "_mask" in owner._buffers:
                del owner._buffers[attr + "_mask"]
        delattr(module, _HOOK_ATTR)

    @classmethod
    def from_module(cls, module: nn.Module) -> MaskSet:
        """Return the MaskSet attached to ``module`` (e.g. after ``deepcopy`` or ``torch.load``).

        Parameters
        ----------
        module
            A module with an attached MaskSet (or a ``torch.compile``, ``nn.DataParallel``
            or ``DistributedDataParallel`` wrapper of one).

        Returns
        -------
        MaskSet
            Its masks: the module's buffers (shared, not copied), by the names of
            ``module.named_parameters()`` (a compiled wrapper's ``'_orig_mod.<name>'``, a
            ``DataParallel``'s ``'module.<name>'``).

        Raises
        ------
        ValueError
            If no MaskSet is attached to ``module``, or a masked parameter's submodule was
            replaced since by one without the mask.
        """
        module, prefix = _unwrap(module)
        hook = getattr(module, _HOOK_ATTR, None)
        if hook is None:
            raise ValueError("module: no MaskSet is attached to this module")
        out = {}
        for n in hook.names:
            owner, attr = _owner(module, n)
            owner = _unwrap(owner)[0]  # a submodule compiled in place
            if attr + "_mask" not in owner._buffers:
                _refuse_lost_mask(n)
            # by the names of the module given: a compiled one's are '_orig_mod.<name>'
            out[prefix + n] = owner._buffers[attr + "_mask"]
        return cls(out)

    @classmethod
    def from_state_dict(cls, state_dict: Mapping[str, torch.Tensor]) -> MaskSet:
        """Masks saved in a module's ``state_dict``: prunus's, or torch.nn.utils.prune's.

        Two conventions are read: a bool ``<param>_mask`` beside ``<param>`` (what
        :meth:`attach` registers), and, in a state dict without those, a
        ``<param>_mask`` of 0s and 1s beside ``<param>_orig``
        (:mod:`torch.nn.utils.prune`, whose masks are floats), which gives the mask of
        ``<param>``. (Beside prunus masks, torch's are those of layers the model still
        prunes with torch, whose ``load_state_dict`` restores them: they are not read.)
        Use it to restore a masked model into a fresh instance::

            MaskSet.from_state_dict(sd).attach(fresh_model)
            fresh_model.load_state_dict(sd)

        torch's state dict keeps the dense weights in ``<param>_orig``, pruned entries
        included: load them as ``<param>`` and zero the pruned entries::

            masks = MaskSet.from_state_dict(sd).attach(fresh_model)
            fresh_model.load_state_dict({(k[:-5] if k.endswith("_orig") and k[:-5] in masks
                                          else k): v for k, v in sd.items()})
            masks.apply(fresh_model)

        Parameters
        ----------
        state_dict
            A module's ``state_dict()``, or only its bool ``<param>_mask`` entries (read
            as the masks of ``<param>``). A float ``<param>_mask`` that is not 0s and 1s of
            the parameter's shape (a causal attention mask) is the model's own buffer and
            is left alone.

        Returns
        -------
        MaskSet
            Copies of the masks, as bool tensors, in the order of ``state_dict``; empty
            for a state dict without masks (no ``<param>_mask`` entry beside its
            ``<param>`` or ``<param>_orig``).

        Raises
        ------
        TypeError
            If ``state_dict`` is not a mapping.
        ValueError
            If, in a state dict without prunus masks, an entry that looks like a mask
            cannot be read (the message names it), as an empty MaskSet would leave the
            model dense: a ``<param>_mask`` beside ``<param>_orig`` that is not a tensor
            of ``<param>_orig``'s shape holding only 0 and 1; a ``<param>_mask`` beside
            ``<param>`` that is not bool (e.g. masks converted to float) when no mask
            is read; a dict of only ``<param>_mask`` entries of 0 and 1 that are not bool
            (masks converted to float, kept apart from their weights; also such a model
            buffer, e.g. an attention mask, taken out alone); a checkpoint holding the
            state dict as one of its values; or the masks alone (a :meth:`state_dict` of a
            MaskSet, or a file of :meth:`save`).
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError("state_dict: expected a mapping of name -> tensor (a module's "
                            f"state_dict()), got {type(state_dict).__name__}")
        out: dict[str, torch.Tensor] = {}
        loose: list[str] = []  # "<p>_mask" beside "<p>" that is not bool
        torch_style: list[str] = []  # "<p>_mask" beside "<p>_orig" (and no "<p>")
        for key, value in state_dict.items():
            if not (isinstance(key, str) and key.endswith("_mask")):
                continue
            pname = key[: -len("_mask")]
            if pname in state_dict:
                if isinstance(value, torch.Tensor) and value.dtype == torch.bool:
                    out[pname] = value.clone()
                elif _zeros_and_ones_like(value, state_dict[pname]):
                    # masks converted to numbers; a model's own float buffer (a causal
                    # attention mask of 0 and -inf) is no mask and is left alone
                    loose.append(key)
            elif pname + "_orig" in state_dict:
                torch_style.append(key)
        # beside prunus masks, torch's belong to layers the model itself still prunes with
        # torch.nn.utils.prune (its load_state_dict restores them): only prunus's are read
        if out:
            return cls(out)
        for key in torch_style:
            pname = key[: -len("_mask")]
            value = state_dict[key]
            problem = _torch_mask_problem(value, state_dict[pname + "_orig"])
            if problem is not None:
                raise ValueError(f"state_dict: {key!r} {problem}, so it cannot be read "
                                 "as the mask of a weight pruned with "
                                 f"torch.nn.utils.prune (beside {pname + '_orig'!r})")
            out[pname] = value != 0  # a new bool tensor
        if not out and state_dict and all(
                isinstance(k, str) and k.endswith("_mask") and isinstance(v, torch.Tensor)
                and v.dtype == torch.bool for k, v in state_dict.items()):
            # the mask buffers of a masked model's state_dict kept apart from its weights
            return cls({k[: -len("_mask")]: v.clone() for k, v in state_dict.items()})
        if not out and state_dict and all(
                isinstance(k, str) and k.endswith("_mask") and _zeros_and_ones_like(v, v)
                for k, v in state_dict.items()):
            # float masks kept apart from their weights gave an empty MaskSet, which
            # attaches without a word and trains the model dense
            loose = [str(k) for k in state_dict]
        if not out:
            _refuse_unread_masks(state_dict, loose)
        return cls(out)

    def to_dense_model(self, module: nn.Module) -> nn.Module:
        """Return a plain copy of ``module`` with pruned entries set to zero.

        The copy has no mask buffers and no hooks; its ``state_dict`` loads into
        an unmasked instance of the same class.

        Parameters
        ----------
        module
            The (masked or plain) model; left unchanged.

        Returns
        -------
        nn.Module
            A deep copy with pruned entries zeroed (of the module a ``torch.compile``
            wrapper wraps, given one); ``torch.jit.script`` takes it.
        """
        module, _, _ = self._check(module)
        dense = copy.deepcopy(module)
        MaskSet.detach_from(dense)
        self.apply(dense)
        return dense

    # -- persistence -----------------------------------------------------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        """Return the masks as a plain dict (for ``torch.save``).

        Returns
        -------
        dict of str to torch.Tensor
            Parameter name -> bool mask (the tensors themselves, not copies).
        """
        return dict(self.masks)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save the masks with ``torch.save`` (atomic write).

        Parameters
        ----------
        path
            Destination file; its folder is created if needed.

        Returns
        -------
        pathlib.Path
            ``path`` (as the applied modules' ``save`` do, so ``MaskSet.load(m.save(p))``).
        """
        from core.atomic import save_torch

        return save_torch(self.state_dict(), path)

    @classmethod
    def load(cls, path: str | os.PathLike[str],
             map_location: str | torch.device | None = None) -> MaskSet:
        """Load masks saved by :meth:`save`.

        Parameters
        ----------
        path
            File written by :meth:`save`.
        map_location
            Passed to ``torch.load`` (e.g. ``"cpu"``).

        Returns
        -------
        MaskSet
            The loaded masks.

        Raises
        ------
        ValueError
            If ``path`` is not a file of masks written by :meth:`save` (the message
            names it), e.g. a pickle of objects other than tensors, which
            ``torch.load(weights_only=True)`` refuses to build, or a model's state dict
            (with masks, prunus's or :mod:`torch.nn.utils.prune`'s, the message points
            to :meth:`from_state_dict`).
        """
        from core.atomic import torch_file_damage

        # first: is_zipfile inside torch_file_problem raised on some damaged end records,
        # and torch.load does not compare the records' CRC-32s (damaged masks loaded)
        damage = torch_file_damage(path)
        if damage is not None:
            raise ValueError(f"{str(path)!r} cannot be read as saved masks: it is damaged: "
                             f"{damage}")
        problem = torch_file_problem(path)
        if problem is not None:
            raise ValueError(f"{str(path)!r} cannot be read as saved masks: it is not a "
                             f"complete file written by torch.save; {problem}")
        try:
            state = torch.load(path, map_location=map_location, weights_only=True)
        except OSError:  # a missing or unreadable file already says which
            raise
        except Exception as exc:  # pickle and zip errors of all kinds: name the file
            cause = _objects_refused(exc) or exc
            raise ValueError(f"{str(path)!r} cannot be read as saved masks: {cause}") from exc
        if not isinstance(state, Mapping) or not all(
                isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
            raise ValueError(f"{str(path)!r} is not a file of masks written by MaskSet.save "
                             "(expected a dict of parameter name -> bool tensor)")
        # a model's state_dict passed every check above and came back as masks keeping
        # every non-zero weight: a dense model, silently
        other = next(((k, v.dtype) for k, v in state.items() if v.dtype != torch.bool), None)
        if other is not None:
            # a model's state_dict with masks (prunus's or torch.nn.utils.prune's): say
            # which reader takes it
            try:
                found = len(cls.from_state_dict(state))
            except ValueError:
                found = 0
            hint = (f"; it is a model's state_dict with the masks of {found} parameter(s): "
                    "read them with MaskSet.from_state_dict(torch.load(path))"
                    if found else "")
            raise ValueError(f"{str(path)!r} is not a file of masks written by MaskSet.save: "
                             f"{other[0]!r} is a {other[1]} tensor, not a bool mask (a model's "
                             f"or an optimizer's state_dict?){hint}")
        return cls(state)
