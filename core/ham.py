"""HAM: Hyperbolic Aware Minimization, a mirror step wrapped around any optimizer.

Jacobs, Gadhikar, Rubio-Madrigal & Burkholz, "HAM: A Hyperbolic Step to
Regulate Implicit Bias", ICLR 2026 (arXiv 2506.02630).

After the base optimizer has produced ``theta_half`` from ``theta_k`` and the
gradient ``g = grad f(theta_k)``, HAM applies the hyperbolic step (HYP*)::

    theta_{k+1} = theta_half * exp(clamp(-lr * (alpha * sign(theta_half) * g + beta), -5, 5))

with ``lr`` read from the parameter group at every step (so it follows LR
schedules), on tensors with ``ndim >= 2`` only. Exact zeros stay zero, so HAM
composes with :class:`core.MaskSet`. In continuous time this is
``dtheta = -(1 + alpha |theta|) grad f dt - beta theta dt``: never slower than
gradient descent near zero, with an implicit bias that moves from L2
(alpha -> 0) to L1 (alpha -> inf).

Deliberate choices relative to the reference wrapper: the raw ``p.grad`` is used
(as there); a tensor whose update is not finite is left at ``theta_half``; the
per-tensor norm cap ``max_weight_norm`` is 1000 on every parameter with a
gradient after the step, as there (``None`` turns it off), except on a tensor with an
infinite or NaN entry (which it would turn to zeros and NaN), and its first rescaling
warns (a large embedding starts above the cap); no gradient clipping
is done after the step (the reference's ``max_grad_norm`` call after the step
cannot affect that step); with a base optimizer's ``maximize=True`` the mirror step
uses ``-p.grad``, so both steps ascend (the reference would descend in the mirror step).
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch

from core.checks import _refuse_complex, check_count, check_number
from core.stacklevel import package_dirs, stacklevel_outside

__all__ = ["HAM", "hyperbolic_step", "OptimizerWrapper"]

#: frames a warning of the step passes over: core's, and torch.optim's step wrappers
#: (the profiling wrapper of ``step``, an LR scheduler's) and torch.amp's GradScaler.step
_PASSED = package_dirs([__file__, torch.optim.__file__, torch.amp.__file__,
                        torch.cuda.amp.__file__])  # torch 2.2's GradScaler


@torch.no_grad()
def hyperbolic_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    lr: float,
    alpha: float = 200.0,
    beta: float = 1e-3,
    clamp: float = 5.0,
    sign_of: torch.Tensor | None = None,
) -> bool:
    """Apply the multiplicative hyperbolic mirror step to ``param`` in place.

    ``param *= exp(clamp(-lr * (alpha * sign(s) * grad + beta), -clamp, clamp))``
    with ``s = sign_of`` (default: ``param`` itself, the HYP* form).

    Parameters
    ----------
    param
        Tensor updated in place.
    grad
        Gradient of the loss at the point where it was evaluated.
    lr
        Step size (the group's learning rate).
    alpha, beta
        Strength of the hyperbolic geometry and of the multiplicative decay.
    clamp
        Bound on the absolute exponent.
    sign_of
        Tensor whose sign enters the step (``param`` if ``None``).

    Returns
    -------
    bool
        ``False`` (and ``param`` untouched) when the update was not finite (a NaN in
        ``grad``, or overflow). An infinite ``grad`` entry is clamped like any large one: a
        step of ``exp(+-clamp)``; at a weight of sign 0 (exactly 0), or with ``lr * alpha``
        0, it has no effect, as any gradient there.

    Raises
    ------
    TypeError
        If ``param`` is not a floating-point tensor.
    ValueError
        If ``lr``, ``alpha`` or ``beta`` is negative, ``clamp`` is not positive, any is
        not finite, or ``grad`` (or ``sign_of``) does not have ``param``'s shape.
    """
    lr = check_number("lr", lr, at_least=0)
    alpha = check_number("alpha", alpha, at_least=0)
    beta = check_number("beta", beta, at_least=0)
    clamp = check_number("clamp", clamp, above=0)  # clamp_(-c, c) with c < 0 is a silent constant
    if not isinstance(param, torch.Tensor) or not param.is_floating_point():
        # an int tensor took the update truncated in place (1, 2, 3 became 0, 0, 0)
        got = f"a {param.dtype} tensor" if isinstance(param, torch.Tensor) else (
            type(param).__name__)
        raise TypeError(f"param: expected a floating-point torch tensor, got {got}")
    for name, t in (("grad", grad), ("sign_of", sign_of)):
        if t is not None and t.shape != param.shape:
            raise ValueError(f"{name}: expected shape {tuple(param.shape)} (param's), "
                             f"got {tuple(t.shape)}")
    return _hyperbolic_step(param, grad, lr, alpha, beta, clamp, sign_of)


@torch.no_grad()
def _descent_grad(grad: torch.Tensor, group: dict[str, Any]) -> torch.Tensor:
    """Return the gradient of what ``group`` minimises: ``-grad`` where it maximizes.

    A maximizing base step ascends f, so the mirror step must too; with ``p.grad`` it
    descended and undid the base step (the HAM reference ignores ``maximize``).
    """
    return -grad if group.get("maximize", False) else grad


def _hyperbolic_step(param: torch.Tensor, grad: torch.Tensor, lr: float, alpha: float,
                     beta: float, clamp: float, sign_of: torch.Tensor | None = None) -> bool:
    """:func:`hyperbolic_step` without the checks (HAM and HORST check their settings)."""
    s = torch.sign(param if sign_of is None else sign_of)
    # products formed in place unless a wider operand must promote them: the same values
    # without two full-size temporaries (allocating them cost as much as the arithmetic)
    expo = s.mul_(grad) if s.dtype == torch.result_type(s, grad) else s * grad
    expo.mul_(-lr * alpha).sub_(lr * beta).clamp_(-clamp, clamp).exp_()
    new = expo.mul_(param) if expo.dtype == torch.result_type(expo, param) else param * expo
    # inf and NaN survive a sum, so a finite sum proves every entry finite in one cheap
    # pass; isfinite(new).all() (several passes and temporaries) only when it overflows
    if not (torch.isfinite(new.sum()) or torch.isfinite(new).all()):
        inf = torch.isinf(grad)
        if torch.isnan(grad).any() or not inf.any():
            return False
        # 0 times an infinite gradient is NaN, which refused the whole tensor's step: at a
        # weight of sign 0 (a zero-initialised layer), or with lr * alpha 0, the gradient
        # has no term. The step again with those gradients 0, as finite ones would take it
        if lr * alpha != 0:
            inf &= torch.sign(param if sign_of is None else sign_of) == 0
            if not inf.any():
                return False
        return _hyperbolic_step(param, grad.masked_fill(inf, 0), lr, alpha, beta, clamp,
                                sign_of)
    param.copy_(new)
    return True


#: why HAM and HORST refuse complex parameters: the mirror step multiplies by
#: exp(-lr (alpha sign(theta) g + beta)), and sign has no meaning for complex numbers (the
#: first step failed inside torch, "torch.sign is not intended to support complex numbers",
#: after the base optimizer's step)
_NO_COMPLEX = "its mirror step needs sign(theta)"
#: where HAM's step finds a complex parameter its constructor and add_param_group refused:
#: one added to the base optimizer after HAM wrapped it (sign(z) = z / |z| stepped it silently)
_ADDED_TO_BASE = _NO_COMPLEX + ", in a group added to the base optimizer after HAM wrapped it"


#: the hook registries of :class:`torch.optim.Optimizer`
_HOOK_DICTS = ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
               "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
               "_optimizer_load_state_dict_pre_hooks", "_optimizer_load_state_dict_post_hooks")
#: what an LR scheduler sets on the instance (its step wrapper, which holds the original)
_WRAPPER_TRANSIENT = ("step", "_opt_called")


class OptimizerWrapper(torch.optim.Optimizer):
    """Base for optimizers that add a step after an inner optimizer's step.

    Shares ``param_groups``, ``state`` and ``defaults`` with the inner optimizer
    (so LR schedulers, ``zero_grad`` and ``state_dict`` act on it) and keeps the
    step pre/post hooks of :class:`torch.optim.Optimizer` working on the
    wrapper (e.g. :meth:`core.MaskSet.attach_optimizer`).

    Parameters
    ----------
    optimizer
        The inner optimizer; its ``step`` runs first.
    """

    #: whether the added step is a mirror step (HAM's, HORST's): one is refused as HAM's
    #: base, where it would run twice per step
    _mirror_step = False

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer: expected a torch.optim.Optimizer, "
                            f"got {type(optimizer).__name__}")
        # Deliberately not calling Optimizer.__init__: it would copy the groups.
        self.optimizer = optimizer
        self.defaults = optimizer.defaults
        self._optimizer_step_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict = OrderedDict()
        self._optimizer_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_state_dict_post_hooks: OrderedDict = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_load_state_dict_post_hooks: OrderedDict = OrderedDict()
        self._patch_step_function()

    @property
    def param_groups(self) -> list[dict[str, Any]]:  # type: ignore[override]
        """The inner optimizer's parameter groups (shared)."""
        return self.optimizer.param_groups

    @param_groups.setter
    def param_groups(self, value: list[dict[str, Any]]) -> None:
        self.optimizer.param_groups = value

    @property
    def state(self) -> Any:  # type: ignore[override]
        """The inner optimizer's state (shared)."""
        return self.optimizer.state

    @state.setter
    def state(self, value: Any) -> None:
        self.optimizer.state = value

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Zero the gradients through the inner optimizer.

        Parameters
        ----------
        set_to_none
            Set the gradients to ``None`` instead of zeroing them (torch's default).
        """
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict[str, Any]:
        """Return the inner optimizer's state dict, through the wrapper's own hooks.

        Returns
        -------
        dict
            ``self.optimizer.state_dict()``, as the wrapper's state-dict hooks leave it.
        """
        for pre_hook in self._optimizer_state_dict_pre_hooks.values():
            pre_hook(self)
        state_dict = self.optimizer.state_dict()
        for post_hook in self._optimizer_state_dict_post_hooks.values():
            result = post_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load the inner optimizer's state dict, running the wrapper's own load hooks.

        The hooks registered on the wrapper run as :class:`torch.optim.Optimizer` runs
        them, e.g. those of :meth:`core.MaskSet.attach_optimizer`, which zero the pruned
        entries of the loaded state (without them, stale momentum there moved weights
        that were regrown later).

        Parameters
        ----------
        state_dict
            A state dict from :meth:`state_dict`.
        """
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result
        self.optimizer.load_state_dict(state_dict)
        for post_hook in self._optimizer_load_state_dict_post_hooks.values():
            post_hook(self)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a parameter group to the inner optimizer.

        Parameters
        ----------
        param_group
            The group (``params`` and options).

        Raises
        ------
        TypeError
            If the wrapper's own step cannot take a parameter of the group (HAM and HORST:
            a complex one); the group is not added then.
        """
        if self._mirror_step:
            _refuse_complex(type(self).__name__, [param_group], reason=_NO_COMPLEX)
        self.optimizer.add_param_group(param_group)

    def __getstate__(self) -> dict[str, Any]:
        # hooks and the step an LR scheduler patched onto the instance stay behind, as
        # torch.optim.Optimizer leaves them: a copy kept that step, bound to the original,
        # so stepping a deepcopy stepped the original; a MaskSet's hooks did not pickle
        return {k: v for k, v in self.__dict__.items()
                if k not in _HOOK_DICTS and k not in _WRAPPER_TRANSIENT}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for key in _HOOK_DICTS:
            setattr(self, key, OrderedDict())
        self._patch_step_function()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.optimizer!r})"


class HAM(OptimizerWrapper):
    """Hyperbolic Aware Minimization around any torch optimizer.

    Parameters
    ----------
    optimizer
        The base optimizer (SGD, Adam, AdamW, ...); its ``step`` runs first. Not HAM
        or HORST, whose mirror step would run twice per step.
    alpha
        Strength of the hyperbolic geometry (200 in the paper, stable across
        tasks). ``alpha = 2`` approximates the flow of ``m * w`` with a balance
        ``gamma = m^2 - w^2`` of order 1, no more (Thm 3.1 is a first-order
        equivalence): HAM's inverse metric is ``1 + 2|theta|``, that of ``m * w``
        ``sqrt(4 theta^2 + gamma^2)``. On 40 x 200 least squares from zero, HAM with
        ``alpha = 2`` ends 0.03 (L2 distance) from the ``m * w`` answer at
        ``gamma = 0.5`` and 0.12 from it at ``gamma = 1``.
    beta
        Multiplicative decay, tuned like weight decay (1e-3 on ImageNet,
        1.6e-2 on CIFAR-100 in the paper).
    min_ndim
        Only tensors with ``ndim >= min_ndim`` get the hyperbolic step. HAM sees
        parameters, not layers: the scales of a normalisation layer of several dimensions
        (``nn.LayerNorm([C, L])``, ndim 2) get it too, where the paper skips norm layers;
        put such parameters in a group of their own with ``ham_alpha=0, ham_beta=0``,
        which leaves them to the base optimizer.
    clamp
        Bound on the absolute exponent (5 in the paper's code).
    max_weight_norm
        Cap on the L2 norm of every parameter with a gradient, biases and norm
        layers included, applied after each step (1000, as in the paper's code: a
        guard against the multiplicative step blowing up; ``None`` = no cap). A tensor
        with an infinite or NaN entry after the base optimizer's step is not capped.
        The first rescaling of each HAM instance warns: the cap also shrinks a large
        tensor that never blew up (an ``nn.Embedding(10000, 128)`` has norm ~1130),
        even at ``lr = 0``.

    Raises
    ------
    TypeError
        If ``optimizer`` is not a torch optimizer, is HAM or HORST, or holds a complex
        parameter.
    ValueError
        If a setting is negative, not finite, or (``clamp``, ``max_weight_norm``) not
        positive.

    Examples
    --------
    >>> import torch
    >>> from core import HAM
    >>> w = torch.nn.Parameter(torch.randn(3, 3))
    >>> opt = HAM(torch.optim.SGD([w], lr=0.1), alpha=200.0, beta=1e-3)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    """

    _mirror_step = True

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        alpha: float = 200.0,
        beta: float = 1e-3,
        *,
        min_ndim: int = 2,
        clamp: float = 5.0,
        max_weight_norm: float | None = 1000.0,
    ) -> None:
        check_number("alpha", alpha, at_least=0)
        check_number("beta", beta, at_least=0)
        check_number("clamp", clamp, above=0)
        if max_weight_norm is not None:  # a float: np.array(1e3) failed in `norm > cap`
            max_weight_norm = check_number("max_weight_norm", max_weight_norm, above=0)
        check_count("min_ndim", min_ndim, at_least=0)  # int(1.5) was silently 1
        inner = optimizer
        while isinstance(inner, OptimizerWrapper):  # a wrapper of a wrapper too
            if inner._mirror_step:
                # as HORST refuses an optimizer: HAM(HAM(SGD)) and HAM(HORST) ran the mirror
                # step twice per step
                raise TypeError(
                    f"optimizer: expected a base optimizer (SGD, Adam, AdamW, ...), got "
                    f"{type(inner).__name__}, which runs a mirror step of its own; wrap its "
                    "base optimizer instead (HORST is AdamW with the mirror step already)")
            inner = inner.optimizer
        if isinstance(optimizer, torch.optim.Optimizer):  # else OptimizerWrapper names it
            _refuse_complex("HAM", optimizer.param_groups, arg="optimizer", reason=_NO_COMPLEX)
        super().__init__(optimizer)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.min_ndim = int(min_ndim)
        self.clamp = float(clamp)
        self.max_weight_norm = max_weight_norm
        self._cap_warned = False

    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """Run the base step, then the hyperbolic step on every eligible tensor.

        Parameters
        ----------
        closure
            Optional callable that re-evaluates the model and returns the loss.

        Returns
        -------
        float or None
            The closure's loss, or ``None`` without a closure.

        Raises
        ------
        TypeError
            If a group holds a complex parameter (added to the base optimizer after HAM
            wrapped it); checked before the base step, so no parameter is changed then.
        """
        # before the base step: refused after it, the base would have moved the others
        _refuse_complex("HAM", self.param_groups, arg="optimizer", reason=_ADDED_TO_BASE)
        loss = self.optimizer.step(closure)
        self._mirror()
        return loss

    def mirror_step(self) -> None:
        """Apply only the hyperbolic step (HYP*) with the current gradients.

        Raises
        ------
        TypeError
            If a group holds a complex parameter (added to the base optimizer after HAM
            wrapped it); no parameter is changed then.
        """
        _refuse_complex("HAM", self.param_groups, arg="optimizer", reason=_ADDED_TO_BASE)
        self._mirror()

    @torch.no_grad()
    def _mirror(self) -> None:
        """Apply the hyperbolic step of :meth:`mirror_step` to parameters already checked."""
        for i, group in enumerate(self.param_groups):
            lr = float(group["lr"])
            # per-group overrides get the constructor's checks (a negative alpha passed)
            alpha = check_number(f"param_groups[{i}]['ham_alpha']",
                                 group.get("ham_alpha", self.alpha), at_least=0)
            beta = check_number(f"param_groups[{i}]['ham_beta']",
                                group.get("ham_beta", self.beta), at_least=0)
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.ndim >= self.min_ndim:
                    _hyperbolic_step(p, _descent_grad(p.grad, group), lr, alpha, beta, self.clamp)
                if self.max_weight_norm is not None:  # every tensor, as the reference
                    norm = _cap_norm(p, self.max_weight_norm)
                    if norm is not None and not getattr(self, "_cap_warned", False):
                        self._cap_warned = True  # (a HAM pickled before had no flag)
                        self._warn_cap(p, norm)

    def _warn_cap(self, p: torch.Tensor, norm: float) -> None:
        # the reference's cap, kept on purpose, also shrinks a tensor that never blew up (an
        # nn.Embedding(10000, 128), norm ~1130, at lr = 0): once per instance, not per step
        warnings.warn(
            f"HAM: max_weight_norm={self.max_weight_norm:g} rescaled a parameter of shape "
            f"{tuple(p.shape)} from norm {norm:.4g} to {self.max_weight_norm:g} (the HAM "
            "reference code's guard, on every tensor with a gradient); "
            "max_weight_norm=None turns the cap off, or pass a larger cap. Warned once per "
            "HAM instance", UserWarning, stacklevel=stacklevel_outside(_PASSED))


def _cap_norm(p: torch.Tensor, cap: float) -> float | None:
    """Scale ``p`` in place to L2 norm ``cap`` when its norm is larger.

    Returns the norm before the scaling (``inf`` where it overflows the dtype), or ``None``
    where ``p`` was left as it is.

    A norm that overflows the dtype while every entry is finite (float32 entries of 1e20,
    float16 entries of 700: norm 70,000 > 65,504) is never formed: the factor is taken on
    ``p / max|p|`` in Python floats, since ``p * (cap / inf)`` zeroed the tensor. A
    tensor with an infinite or NaN entry (the base optimizer's step on an infinite
    gradient) is left as it is: scaling it zeroed its finite entries and made the infinite
    ones NaN, a layer silently reset where the divergence should show.
    """
    norm = p.norm()
    if torch.isfinite(norm):
        if norm > cap:
            p.mul_(cap / norm)
            return float(norm)
        return None
    big = p.abs().amax()
    if not torch.isfinite(big) or p.isnan().any():
        return None
    # the norm is big * ratio with ratio in [1, sqrt(numel)], compared and inverted
    # without the product, which may overflow even a double (float64 entries of 1e308)
    ratio = float((p / big).norm())
    if ratio > cap / float(big):
        p.mul_(cap / float(big) / ratio)
        return float(big) * ratio  # may be inf: the norm the dtype cannot hold
    return None
