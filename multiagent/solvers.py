"""Preconditioned iterative solvers that work on numpy arrays and torch tensors alike.

The FJ equilibrium solves ``(I - H) x = Gamma s``.  On large graphs this is done with
Krylov methods that only need matrix-vector products (never an explicit inverse and
never a sparse LU, whose fill-in is catastrophic on random graphs):

* :func:`pcg` - Jacobi-preconditioned conjugate gradient for symmetric positive definite
  systems (Hestenes & Stiefel 1952; Saad, *Iterative Methods for Sparse Linear Systems*,
  Alg. 9.1).
* :func:`bicgstab` - right-preconditioned BiCGSTAB for general systems (van der Vorst 1992).
* :func:`fixed_point` - the preconditioned (Jacobi) fixed point ``x <- x + P^{-1} r``.

Every solver takes a right-hand side of shape ``(n, k)`` and solves the ``k`` columns
together (one sparse matrix-matrix product per iteration), each column stopping on its
own relative residual.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

__all__ = ["ConvergenceError", "pcg", "bicgstab", "fixed_point"]

MatVec = Callable[[Any], Any]


class ConvergenceError(RuntimeError):
    """An iterative solve did not reach its tolerance, or the FJ equilibrium is not unique."""


def _colnorm(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return torch.linalg.vector_norm(x, dim=0)
    return np.sqrt(_coldot(x, x))


def _coldot(x: Any, y: Any) -> Any:
    if (isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.ndim == 2
            and x.shape == y.shape and x.shape[1] > 1
            and x.flags.c_contiguous and y.flags.c_contiguous):
        # (x * y).sum(0) wrote an (n, k) temporary and reduced it with numpy's slow
        # few-column reduction: einsum adds the same products in the same row order
        # without either (3x faster).  One column keeps numpy's pairwise sum.
        return np.einsum("ij,ij->j", x, y)
    return (x * y).sum(0)


def _safe_div(num: Any, den: Any) -> Any:
    if isinstance(den, torch.Tensor):
        return torch.where(den != 0, num / torch.where(den != 0, den, 1.0), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / np.where(den != 0, den, 1.0), 0.0)


def _max(x: Any) -> float:
    """Largest entry as a float (0 when empty), outside any autograd graph."""
    if isinstance(x, torch.Tensor):  # float() of a tensor that needs grad warned
        x = x.detach()
    return float(x.max()) if x.shape[0] else 0.0


def _done(res: Any, bound: Any) -> Any:
    return res <= bound


def _fail(name: str, it: int, rel: float, tol: float) -> ConvergenceError:
    return ConvergenceError(
        f"{name} did not converge in {it} iterations (relative residual {rel:.2e} > tol "
        f"{tol:.1e}); increase maxiter, loosen tol, or try another method"
    )


def pcg(
    matvec: MatVec,
    b: Any,
    inv_diag: Any,
    *,
    x0: Any | None = None,
    tol: float = 1e-10,
    atol: float = 0.0,
    maxiter: int = 10_000,
    weight: Any | None = None,
) -> tuple[Any, int]:
    """Jacobi-preconditioned conjugate gradient, column by column in one block.

    Parameters
    ----------
    matvec
        ``X -> A @ X`` for a symmetric positive definite ``A`` and ``X`` of shape ``(n, k)``.
    b
        Right-hand sides, shape ``(n, k)``.
    inv_diag
        ``1 / diag(A)``, shape ``(n, 1)``: the Jacobi preconditioner.
    x0
        Starting guess (zeros when None).
    tol, atol
        Stop a column when ``||r|| <= max(tol * ||b||, atol)``.
    maxiter
        Iteration cap; :class:`ConvergenceError` when it is reached.
    weight
        Optional ``(n, 1)`` row weights: the stopping rule then reads ``||weight * r||``
        and ``||weight * b||``, the residual of the system ``A`` came from when ``A`` is
        that system with row ``i`` scaled by ``1 / weight_i`` (a symmetrised one).

    Returns
    -------
    x, iterations
        The solution (same shape as ``b``) and the number of iterations used.
    """
    def norm(v: Any) -> Any:
        return _colnorm(v) if weight is None else _colnorm(weight * v)

    x, r, bound, res = _start(matvec, b, x0, tol, atol, norm)
    if bool(_done(res, bound).all()):
        return x, 0
    z = inv_diag * r
    p = z * 1
    rz = _coldot(r, z)
    for it in range(1, maxiter + 1):
        Ap = matvec(p)
        step = _safe_div(rz, _coldot(p, Ap))
        active = ~_done(res, bound)
        step = step * active
        x = x + step * p
        r = r - step * Ap
        res = norm(r)
        if bool(_done(res, bound).all()):
            return x, it
        z = inv_diag * r
        rz_new = _coldot(r, z)
        beta = _safe_div(rz_new, rz)
        p = z + beta * p
        rz = rz_new
    raise _fail("conjugate gradient", maxiter, _max(res / _nz(norm(b))), tol)


def _start(matvec: MatVec, b: Any, x0: Any | None, tol: float, atol: float,
           norm: Callable[[Any], Any] = _colnorm) -> tuple:
    """Return the initial iterate, residual, per-column stopping bound and residual norms."""
    x = b * 0 if x0 is None else x0 * 1
    r = b * 1 if x0 is None else b - matvec(x)
    bound = _bound(b, tol, atol, norm)
    return x, r, bound, norm(r)


def _bound(b: Any, tol: float, atol: float, norm: Callable[[Any], Any] = _colnorm) -> Any:
    nb = norm(b)
    if isinstance(nb, torch.Tensor):
        return torch.clamp(tol * nb, min=atol)
    return np.maximum(tol * nb, atol)


def _nz(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return torch.where(x > 0, x, 1.0)
    return np.where(x > 0, x, 1.0)


def bicgstab(
    matvec: MatVec,
    b: Any,
    inv_diag: Any,
    *,
    x0: Any | None = None,
    tol: float = 1e-10,
    atol: float = 0.0,
    maxiter: int = 10_000,
) -> tuple[Any, int]:
    """Right-preconditioned BiCGSTAB (van der Vorst 1992) for general square systems.

    ``A`` need not be symmetric.  Columns that have converged are frozen while the others
    continue.

    Parameters
    ----------
    matvec
        ``X -> A @ X`` for a general square ``A`` and ``X`` of shape ``(n, k)``.
    b
        Right-hand sides, shape ``(n, k)``.
    inv_diag
        ``1 / diag(A)``, shape ``(n, 1)``: the Jacobi preconditioner.
    x0
        Starting guess (zeros when None).
    tol, atol
        Stop a column when ``||r|| <= max(tol * ||b||, atol)``.
    maxiter
        Iteration cap; :class:`ConvergenceError` when it is reached.

    Returns
    -------
    x, iterations
        The solution (same shape as ``b``) and the number of iterations used.
    """
    x, r, bound, res = _start(matvec, b, x0, tol, atol)
    if bool(_done(res, bound).all()):
        return x, 0
    rhat = r * 1
    rho = alpha = omega = res * 0 + 1
    v = p = r * 0
    for it in range(1, maxiter + 1):
        active = ~_done(res, bound)
        rho_new = _coldot(rhat, r)
        beta = _safe_div(rho_new, rho) * _safe_div(alpha, omega)
        p = r + beta * (p - omega * v)
        y = inv_diag * p
        v = matvec(y)
        alpha = _safe_div(rho_new, _coldot(rhat, v)) * active
        s = r - alpha * v
        x = x + alpha * y
        res_s = _colnorm(s)
        z = inv_diag * s
        t = matvec(z)
        omega = _safe_div(_coldot(t, s), _coldot(t, t)) * active * ~_done(res_s, bound)
        x = x + omega * z
        r = s - omega * t
        rho = rho_new
        res = _colnorm(r)
        if bool(_done(res, bound).all()):
            return x, it
        if bool((active & (rho_new == 0)).any()):  # breakdown: restart from the current x
            r = b - matvec(x)
            rhat = r * 1
            rho = alpha = omega = res * 0 + 1
            v = p = r * 0
    raise _fail("BiCGSTAB", maxiter, _max(res / _nz(_colnorm(b))), tol)


def fixed_point(
    matvec: MatVec,
    b: Any,
    inv_diag: Any,
    *,
    x0: Any | None = None,
    tol: float = 1e-10,
    atol: float = 0.0,
    maxiter: int = 100_000,
) -> tuple[Any, int]:
    """Jacobi-preconditioned fixed point ``x <- x + D^{-1}(b - A x)``.

    Converges whenever the Jacobi iteration matrix has spectral radius below one, which
    holds for the FJ system ``I - H`` whenever every agent reaches a stubborn agent.

    Parameters
    ----------
    matvec
        ``X -> A @ X`` for a square ``A`` and ``X`` of shape ``(n, k)``.
    b
        Right-hand sides, shape ``(n, k)``.
    inv_diag
        ``1 / diag(A)``, shape ``(n, 1)``: the Jacobi preconditioner.
    x0
        Starting guess (``inv_diag * b`` when None).
    tol, atol
        Stop a column when ``||r|| <= max(tol * ||b||, atol)``.
    maxiter
        Iteration cap; :class:`ConvergenceError` when it is reached.

    Returns
    -------
    x, iterations
        The solution (same shape as ``b``) and the number of iterations used.
    """
    x = inv_diag * b if x0 is None else x0 * 1
    bound = _bound(b, tol, atol)
    for it in range(1, maxiter + 1):
        r = b - matvec(x)
        res = _colnorm(r)
        if bool(_done(res, bound).all()):
            return x, it - 1
        x = x + inv_diag * r
    raise _fail("fixed point", maxiter, _max(res / _nz(_colnorm(b))), tol)
