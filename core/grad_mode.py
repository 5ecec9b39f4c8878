"""Run training with autograd on, whatever grad mode the caller runs it in."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import torch

__all__ = ["with_grad"]

F = TypeVar("F", bound=Callable[..., Any])


def with_grad(func: F) -> F:
    """Run ``func`` with autograd on, also inside the caller's ``torch.no_grad()``.

    A fit called within ``torch.no_grad()``, ``torch.inference_mode()`` or after
    ``torch.set_grad_enabled(False)`` failed with torch's "element 0 of tensors does not
    require grad", and pyro's SVI returned its untrained guide as the posterior without a
    word. The fit's own tensors are ordinary ones; the caller's mode is back when it returns.

    Parameters
    ----------
    func
        A function or method that trains with gradients.

    Returns
    -------
    Callable
        ``func``, run under ``torch.inference_mode(False)`` and ``torch.enable_grad()``.

    Examples
    --------
    >>> @with_grad
    ... def grad_of_square(x: float) -> float:
    ...     t = torch.tensor(x, requires_grad=True)
    ...     (t * t).backward()
    ...     return float(t.grad)
    >>> with torch.no_grad():
    ...     grad_of_square(3.0)
    6.0
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with torch.inference_mode(False), torch.enable_grad():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
