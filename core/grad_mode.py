"""Run fits in the modes they need, whatever modes the caller runs them in.

:func:`with_grad` keeps autograd on inside a caller's ``torch.no_grad()``;
:func:`no_autocast` and :func:`without_autocast` keep a caller's ``torch.autocast`` from
computing a model's float32 products in bfloat16 or float16.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import torch

__all__ = ["no_autocast", "with_grad", "without_autocast"]

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


#: the device types torch's autocast knows (``torch.autocast``'s ``device_type``), checked
#: for a caller's autocast when no tensor says which device a computation runs on
_AUTOCAST_DEVICES = ("cpu", "cuda", "xpu", "mps", "hpu", "xla", "mtia", "ipu")


def _autocast_on(device_type: str) -> bool:
    """Whether autocast is on for ``device_type``; False for a type autocast does not know."""
    try:
        return bool(torch.is_autocast_enabled(device_type))
    except TypeError:  # torch < 2.4: no device argument, a function per device type
        if device_type == "cpu":
            return bool(torch.is_autocast_cpu_enabled())
        return device_type == "cuda" and bool(torch.is_autocast_enabled())
    except RuntimeError:  # e.g. "meta": no autocast there
        return False


def no_autocast(
    x: torch.Tensor | torch.device | str | None = None,
) -> contextlib.AbstractContextManager[Any]:
    """Turn a caller's ``torch.autocast`` off for the block, so results follow the dtypes.

    Under ``torch.autocast("cpu", dtype=torch.bfloat16)`` torch ran a float32 model's
    products in bfloat16: a GRN fit inferred another network (AUROC 0.78 -> 0.55) while its
    settings said float32. Inside the block every operation runs in the dtype of its
    operands; the caller's autocast is back when the block ends. Where autocast is off,
    nothing is entered (checking costs a few microseconds).

    Parameters
    ----------
    x
        A tensor, device or device type (``"cuda"``) whose autocast is turned off; None:
        every device type on which the caller turned autocast on.

    Returns
    -------
    contextlib.AbstractContextManager
        ``torch.autocast(..., enabled=False)`` for each device where it is on; a null
        context where it is off (the common case: products pay no generator per call).

    Examples
    --------
    >>> a = torch.ones(2, 2)
    >>> with torch.autocast("cpu", dtype=torch.bfloat16):
    ...     with no_autocast(a):
    ...         (a @ a).dtype
    torch.float32
    """
    if x is None:
        devices: tuple[str, ...] = _AUTOCAST_DEVICES
    elif isinstance(x, torch.Tensor):
        devices = (x.device.type,)
    else:
        devices = (torch.device(x).type,)
    on = [device for device in devices if _autocast_on(device)]
    if not on:
        return contextlib.nullcontext()
    if len(on) == 1:
        return torch.autocast(device_type=on[0], enabled=False)
    return _all_off(on)


@contextlib.contextmanager
def _all_off(devices: list[str]) -> Iterator[None]:
    """Autocast off on several device types at once (entered only at ``with``)."""
    with contextlib.ExitStack() as stack:
        for device in devices:
            stack.enter_context(torch.autocast(device_type=device, enabled=False))
        yield


def without_autocast(func: F) -> F:
    """Run ``func`` with a caller's ``torch.autocast`` off on every device (:func:`no_autocast`).

    For fits and read-outs whose tensors a decorator cannot see: results are computed in
    the model's own dtype, as the settings it records say, whatever the caller's autocast.

    Parameters
    ----------
    func
        A function or method that computes with torch.

    Returns
    -------
    Callable
        ``func``, run under ``no_autocast()``.

    Examples
    --------
    >>> @without_autocast
    ... def square(a: torch.Tensor) -> torch.Tensor:
    ...     return a @ a
    >>> with torch.autocast("cpu", dtype=torch.bfloat16):
    ...     square(torch.ones(2, 2)).dtype
    torch.float32
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with no_autocast():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
