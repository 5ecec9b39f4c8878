"""HORST: an AdamW step composed with a hyperbolic mirror step.

Jacobs, Jain & Burkholz, "Composing Optimizer Geometries for Sparse Transformer
Training" (HiLD @ ICML 2026, arXiv 2605.21104). Adam/AdamW carry an implicit
L-infinity bias; sparsity needs an L1 bias. HORST composes the AdamW operator
``A`` with the hyperbolic mirror operator ``H`` of HAM (see :mod:`core.ham`):

``order="adamw_first"`` (default)
    ``theta_{k+1} = H(A(theta_k))``: the AdamW step, then
    ``theta *= exp(-lr (alpha sign(theta) g + beta))`` with the raw gradient
    ``g = grad f(theta_k)`` and the sign of the AdamW iterate (HAM's HYP* form).
``order="mirror_first"``
    ``theta_{k+1} = A(H(theta_k))``: the mirror step with ``sign(theta_k)``,
    then the AdamW step with the same gradient.

The two operators do not commute, which is why the order is an argument.
What the paper prescribes: only the abstract is public (no code); it states the
composition of an AdamW step with a hyperbolic mirror step but not the order,
whether the mirror step uses the raw or the preconditioned gradient, or the
hyperparameters. The default here is the working hypothesis that matches HAM
wrapped around AdamW (raw gradient, mirror step second) step for step, except that
HORST has no ``max_weight_norm`` cap (HAM's guard from the HAM reference code, 1000
by default) and reads no per-group ``ham_alpha``/``ham_beta``; switch ``order`` and
``mirror_grad`` to test the alternatives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

import torch

from core.checks import (
    _check_betas,
    _refuse_complex,
    _refuse_sparse_grads,
    check_count,
    check_number,
)
from core.ham import _NO_COMPLEX, OptimizerWrapper, _descent_grad, _hyperbolic_step

__all__ = ["HORST"]


class HORST(OptimizerWrapper):
    """AdamW composed with the hyperbolic mirror step, in a configurable order.

    Parameters
    ----------
    params
        Parameters or parameter groups (as for ``torch.optim.AdamW``), real: a complex
        parameter is refused (``TypeError``), the mirror step needs ``sign(theta)``.
    lr, betas, eps, weight_decay
        AdamW hyperparameters (the mirror step uses the same ``lr``).
    alpha, beta
        Hyperbolic step strength and multiplicative decay (HAM's defaults).
    order
        ``"adamw_first"`` (``H o A``, default) or ``"mirror_first"`` (``A o H``).
    mirror_grad
        ``"raw"``: the mirror step uses ``p.grad`` (default); ``"adam"``: it
        uses AdamW's preconditioned direction ``m_hat / (sqrt(v_hat) + eps)``
        (only with ``order="adamw_first"``).
    min_ndim
        Only tensors with ``ndim >= min_ndim`` get the mirror step.
    clamp
        Bound on the absolute exponent of the mirror step.

    Examples
    --------
    >>> import torch
    >>> from core import HORST
    >>> w = torch.nn.Parameter(torch.randn(4, 4))
    >>> opt = HORST([w], lr=1e-3, order="mirror_first")
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    """

    _mirror_step = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        *,
        alpha: float = 200.0,
        beta: float = 1e-3,
        order: Literal["adamw_first", "mirror_first"] = "adamw_first",
        mirror_grad: Literal["raw", "adam"] = "raw",
        min_ndim: int = 2,
        clamp: float = 5.0,
    ) -> None:
        if order not in ("adamw_first", "mirror_first"):
            raise ValueError(f"order: expected 'adamw_first' or 'mirror_first', got {order!r}")
        if mirror_grad not in ("raw", "adam"):
            raise ValueError(f"mirror_grad: expected 'raw' or 'adam', got {mirror_grad!r}")
        if mirror_grad == "adam" and order != "adamw_first":
            raise ValueError("mirror_grad: 'adam' needs order='adamw_first'")
        if isinstance(params, torch.optim.Optimizer):  # as for HAM, which wraps one
            raise TypeError(f"params: HORST is an optimizer of its own (AdamW with a mirror "
                            f"step) and takes parameters, got a {type(params).__name__}; "
                            "pass model.parameters() (HAM is the one that wraps an optimizer)")
        check_number("alpha", alpha, at_least=0)
        check_number("beta", beta, at_least=0)
        check_number("clamp", clamp, above=0)
        check_count("min_ndim", min_ndim, at_least=0)  # int(1.5) was silently 1
        # as floats: AdamW refused a pair of np.float32 ("both floats or both Tensors"), and
        # eps=np.array(1e-8) failed inside its step ("add_(): ... must be Tensor")
        betas = _check_betas(betas)
        eps = check_number("eps", eps, at_least=0)
        adamw = torch.optim.AdamW(params, lr=lr, betas=betas, eps=eps,
                                  weight_decay=weight_decay)
        # AdamW takes them, the mirror step not
        _refuse_complex("HORST", adamw.param_groups, reason=_NO_COMPLEX)
        super().__init__(adamw)
        self.alpha, self.beta = float(alpha), float(beta)
        self.order, self.mirror_grad = order, mirror_grad
        self.min_ndim, self.clamp = int(min_ndim), float(clamp)

    @torch.no_grad()
    def _mirror(self) -> None:
        for group in self.param_groups:
            lr = float(group["lr"])
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None or p.ndim < self.min_ndim:
                    continue
                g = _descent_grad(p.grad, group)  # Adam's moments below already hold -grad
                if self.mirror_grad == "adam":
                    st = self.state[p]
                    t = float(st["step"])
                    g = (st["exp_avg"] / (1 - b1**t)) / (
                        (st["exp_avg_sq"] / (1 - b2**t)).sqrt() + group["eps"])
                _hyperbolic_step(p, g, lr, self.alpha, self.beta, self.clamp)

    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One HORST step: both operators in the configured order.

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
            If a parameter has a sparse gradient (``nn.Embedding(sparse=True)``), which the
            inner AdamW cannot take; refused before either step moves anything.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        # before both operators: with order="mirror_first" the mirror step moved the weights,
        # then AdamW raised, naming Adam and advising SparseAdam
        _refuse_sparse_grads("HORST", self.param_groups,
                             instead="HAM around torch.optim.SparseAdam")
        if self.order == "mirror_first":
            self._mirror()
            self.optimizer.step()
        else:
            self.optimizer.step()
            self._mirror()
        return loss
