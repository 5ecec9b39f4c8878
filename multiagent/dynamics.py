"""The three-force Friedkin-Johnsen (FJ) model: step, rollout, equilibrium, influence matrix.

Model (Abedini, Mavali, Schönherr, Pawelczyk & Burkholz 2026, "Don't Trust Stubborn
Neighbors"; Bause, Niederle, Pawelczyk & Burkholz 2026, "Multi-Agent Systems are Mixtures
of Experts"), for agent ``i`` with innate belief ``s_i = b_i(0)``::

    b_i(t+1) = gamma_i s_i + (1 - gamma_i) [alpha_i b_i(t) + (1 - alpha_i) sum_j W_ij b_j(t)]

In matrix form ``B(t+1) = Gamma S + H B(t)`` with ``H = (I - Gamma)[A + (I - A) W]``,
``Gamma = diag(gamma)``, ``A = diag(alpha)``; the equilibrium is ``B* = M S`` with
``M = (I - H)^{-1} Gamma`` (row-stochastic when every ``gamma_i > 0``).

**Lambda convention.** Here ``gamma`` (``Gamma = diag(gamma)``) is the **stubbornness**:
the weight an agent puts on its own initial belief.  It is ``I - Lambda`` in Friedkin's
form, whose ``Lambda`` is the **susceptibility**: Friedkin & Johnsen (1999) and
Proskurnikov & Tempo (2017) write ``x(k+1) = Lambda W x(k) + (I - Lambda) u``, so
``Lambda = I - Gamma``.  With ``alpha = 0`` this class is the classic FJ model in the
stubbornness form ``x(t+1) = Gamma x(0) + (I - Gamma) W x(t)``; with ``gamma = 0`` it is
DeGroot averaging.
``alpha`` is peer-resistance (self-weight inside the ``1 - gamma`` bracket);
``(1 - gamma_i)(1 - alpha_i)`` is the "neighbour influence" of agent ``i``.
Friedkin's ``W`` carries the self-weights ``w_ii`` on its diagonal, while here ``W_ii = 0``
and the self-weight is ``alpha``: his model ``x(k+1) = Lambda W x(k) + (I - Lambda) u``
is this one with ``gamma_i = 1 - lambda_i``, ``alpha_i = w_ii`` and ``W_ij = w_ij / (1 -
w_ii)`` off the diagonal (``w_ii = 1``: an agent that hears only itself, ``W_ii = 1``),
so that ``(1 - alpha_i) W_ij = w_ij`` and ``V = (I - Lambda W)^-1 (I - Lambda)`` is
:meth:`FriedkinJohnsen.influence_matrix`.  :meth:`FriedkinJohnsen.from_adjacency` drops
self-loops and re-normalises the rows instead, which changes such a model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import torch

from core.checks import check_count
from multiagent import _backend as bk
from multiagent._sparse import drop_diagonal
from multiagent.solvers import ConvergenceError, bicgstab, fixed_point, pcg

__all__ = ["FriedkinJohnsen", "fj_step", "check_beliefs", "ConvergenceError"]

Method = Literal["auto", "direct", "cg", "bicgstab", "fixed_point"]
_ROW_TOL = 1e-8
_SIMPLEX_TOL = 1e-6
# refinement gains ~ -log10(eps/gamma) digits a step: 1 step at gamma = 1e-10, 3 at 1e-14
_REFINE_STEPS = 8
# refine a direct solve whose estimated relative error exceeds this (or 16 eps of float32)
_REFINE_ABOVE = 1e-12


# how to pass opinions that are not probability vectors to the model's methods
_REAL_VALUED = ("; for real-valued opinions on several topics (one column per topic), pass "
                "check=False")


def fj_step(B: Any, S: Any, W: Any, gamma: Any, alpha: Any) -> Any:
    """One synchronous FJ update, as a pure function (numpy or torch, differentiable).

    Parameters
    ----------
    B
        Current beliefs, shape ``(n,)`` or ``(n, K)``.
    S
        Innate beliefs ``b(0)``, same shape as ``B``.
    W
        Row-stochastic trust matrix ``(n, n)`` (dense, scipy sparse or torch); a pandas
        DataFrame is read by label, and ``B``, ``S``, ``gamma`` and ``alpha`` given as
        pandas Series / DataFrames are then read by its labels too.
    gamma, alpha
        Stubbornness and peer-resistance, scalars or length-``n`` vectors.

    Returns
    -------
    The beliefs ``gamma S + (1 - gamma)(alpha B + (1 - alpha) W B)`` (for a DataFrame
    ``W``: a numpy array in the order of its index).

    Notes
    -----
    A kernel for fits (differentiable, no checks): ``gamma`` and ``alpha`` outside [0, 1]
    or a ``W`` that is not row-stochastic give beliefs off the simplex without an error.
    :meth:`FriedkinJohnsen.step` checks its inputs.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> fj_step(np.array([1.0, 0.0]), np.array([1.0, 0.0]), W, 0.5, 0.0)
    array([0.5, 0.5])
    """
    # labelled vectors follow a DataFrame W's agents (by position they failed in pandas)
    labels = bk.frame_labels(W)
    B, S, gamma, alpha = (bk.by_agent_label(v, labels, name) for v, name in
                          ((B, "B"), (S, "S"), (gamma, "gamma"), (alpha, "alpha")))
    W = bk.square_frame(W, "W")
    vec = B.ndim == 1
    B2 = B[:, None] if vec else B
    S2 = S[:, None] if vec else S
    g = gamma[:, None] if getattr(gamma, "ndim", 0) == 1 else gamma
    a = alpha[:, None] if getattr(alpha, "ndim", 0) == 1 else alpha
    out = g * S2 + (1 - g) * (a * B2 + (1 - a) * bk.matmul(W, B2))
    return out[:, 0] if vec else out


def check_beliefs(B: Any, n: int, name: str = "beliefs", *, simplex: bool | None = None,
                  way_out: str = "", source_dtype: Any = None) -> None:
    """Raise ``ValueError`` naming the agent whose beliefs are malformed.

    Parameters
    ----------
    B
        Beliefs, ``(n,)`` scalars or ``(n, K)`` rows.
    n
        Number of agents expected.
    name
        Argument name used in messages.
    simplex
        Require each row to be a probability vector; default: when ``B`` is 2-D with K >= 2.
    way_out
        Text appended to the messages of rows that are not probability vectors (e.g. how
        to pass other opinions).
    source_dtype
        The dtype the beliefs were given in, when they were widened before this check
        (e.g. float16 read into float64); the coarser of it and ``B``'s dtype sets the
        tolerance.

    Notes
    -----
    A probability row may have entries down to ``-tol`` and sum to ``1 +/- tol K`` with
    ``tol = max(1e-6, 2 eps)`` and ``eps`` the machine epsilon of that dtype: ``1e-6`` for
    float32 and float64, about ``2e-3`` for float16 and ``1.6e-2`` for bfloat16, which
    round each entry by up to half an ``eps`` (relative): at ``1e-6`` most of their rows
    failed.
    """
    shape = tuple(B.shape)
    if len(shape) not in (1, 2) or shape[0] != n:
        raise ValueError(
            f"{name} must have shape (n,) or (n, K) with n = {n} agents, got shape {shape}"
        )
    xp: Any = torch if isinstance(B, torch.Tensor) else np
    Bx = B if isinstance(B, torch.Tensor) else np.asarray(B)
    bad = ~xp.isfinite(Bx)
    if bool(bad.any()):
        i = int(bk.as_numpy(bad.reshape(shape[0], -1).any(1)).argmax())
        raise ValueError(f"{name}[{i}] (agent {i}) is not finite")
    if simplex is None:
        simplex = len(shape) == 2 and shape[1] >= 2
    if not simplex:
        return
    if len(shape) == 1:
        raise ValueError(f"{name} must be 2-D (n, K) to hold probability vectors")
    # float16 / bfloat16 round each entry by up to eps / 2: 1e-6 refused every such row
    # (float32's 2 eps is below 1e-6: float32 and float64 keep 1e-6)
    eps = max(bk.dtype_eps(Bx.dtype), bk.dtype_eps(source_dtype))
    tol = max(_SIMPLEX_TOL, 2 * eps)
    if bk.is_half(Bx):
        # summed wider: a float16 sum rounds again, by more than the rows are off (float32,
        # not float64, which some devices lack)
        Bx = Bx.float() if xp is torch else Bx.astype(np.float64)
    neg = (Bx < -tol).any(1)
    if bool(neg.any()):
        i = int(bk.as_numpy(neg).argmax())
        raise ValueError(
            f"{name}[{i}] (agent {i}) has a negative entry; beliefs over K options must be "
            f"probability vectors{way_out}"
        )
    sums = Bx.sum(1)
    off = abs(sums - 1) > tol * max(1, shape[1])
    if bool(off.any()):
        i = int(bk.as_numpy(off).argmax())
        total = float(bk.as_numpy(sums[i]))  # detached: float() of beliefs needing grad warned
        raise ValueError(
            f"{name}[{i}] (agent {i}) sums to {total:.6g}, expected 1: beliefs over K "
            f"options must be probability vectors (normalise the rows){way_out}"
        )


class FriedkinJohnsen:
    """Three-force Friedkin-Johnsen opinion dynamics on a trust network.

    ``b_i(t+1) = gamma_i s_i + (1 - gamma_i)[alpha_i b_i(t) + (1 - alpha_i) sum_j W_ij b_j(t)]``
    with ``s = b(0)``.  ``gamma`` is **stubbornness** (``I - Lambda`` in Friedkin's form,
    whose ``Lambda`` is the susceptibility; see the module's Lambda convention),
    ``alpha`` is peer-resistance and ``W`` is a row-stochastic trust matrix whose row ``i``
    says how much agent ``i`` listens to each other agent.

    Parameters
    ----------
    W
        ``(n, n)`` trust matrix: a dense numpy array, a scipy sparse matrix, or a torch
        tensor (dense or sparse); a pandas DataFrame is read by label (columns in the
        index's order), and the model then reads beliefs, ``gamma`` and ``alpha`` given as
        pandas Series / DataFrames by label too.  Entries must be non-negative and every
        row must sum to 1.
    gamma
        Stubbornness in ``[0, 1]``: a scalar or one value per agent.
    alpha
        Peer-resistance in ``[0, 1]``: a scalar or one value per agent.
    normalise
        Row-normalise ``W`` instead of rejecting rows that do not sum to 1; an agent with an
        empty row then listens only to itself (``W_ii = 1``).  Rows of any finite scale
        normalise (weights of 1e-310 or 1e308, float32 1e-40 or 3e38: a row whose ``1 /
        sum`` is not a normal number is divided by its largest entry first).
    symmetric
        Whether ``diag(d) W`` is symmetric for some positive ``d`` (true for ``W = D^-1 A``
        with a symmetric weighted adjacency ``A``, ``d`` its row sums), i.e. whether ``W``
        satisfies detailed balance; this lets :meth:`equilibrium` use conjugate gradient
        and :meth:`consensus_weights` a closed form.  ``None`` detects it on first use
        (``d`` = 1, the row counts, else ``d`` recovered from ``W`` itself); ``True``
        raises a ValueError there when no such ``d`` exists; :meth:`from_adjacency` sets
        it exactly.

    Raises
    ------
    TypeError
        If ``W`` is a networkx graph: build the model with
        ``FriedkinJohnsen.from_adjacency(multiagent.adjacency(G), gamma, alpha)``.
    ValueError
        If ``W`` is not square, has negative or non-finite entries (a missing value of a
        nullable pandas frame included), or rows that do not sum to 1 (unless
        ``normalise``), is float16 / bfloat16 or a meta tensor, or ``gamma`` / ``alpha``
        are outside ``[0, 1]``; or if ``W`` has a self-weight ``0 < W_ii < 1`` (the
        self-weight is ``alpha``: the message maps Friedkin's self-weights to ``alpha``, as
        the module's Lambda convention does).

    Notes
    -----
    Results follow ``W``'s backend, dtype and device: numpy arrays for numpy and scipy
    input, torch tensors for torch input (a float16 or bfloat16 ``W`` is refused as too
    coarse; :meth:`from_adjacency` builds a float32 model from such weights); a model
    built from a DataFrame returns them in the order of its index, whatever the order of a
    labelled Series given.  A torch model converts beliefs (tensors or arrays) to ``W``'s
    dtype and device, and computes in that dtype also inside a caller's
    ``torch.autocast`` (which is turned off for its products).  The model keeps its own
    copies of ``W``, ``gamma`` and ``alpha`` (torch copies keep their autograd graph):
    editing the arrays passed in does not change it; build a new model instead.  Built
    from tensors that require grad, a model holds one autograd graph of them: build it
    again for each optimisation step (a second ``backward()`` through one model raises).
    An agent with ``(1 - gamma_i)(1 - alpha_i) = 0`` never listens; at equilibrium it
    keeps its innate belief and is treated as fully stubborn in :meth:`equilibrium` and
    :meth:`influence_matrix`.  For ``gamma_i > 0`` the torch gradients there are the
    one-sided limits from inside: at ``alpha_i = 1`` with ``gamma_i < 1``,
    ``d b_i / d alpha_i = -(1 - gamma_i) ((W b)_i - s_i) / gamma_i``.  Whatever the method,
    the torch gradients of :meth:`equilibrium`, :meth:`solve` and
    :meth:`consensus_weights` are those of the exact solution, second derivatives too, not
    of a solver's last iterate (see :meth:`solve`).

    Examples
    --------
    >>> import numpy as np
    >>> W = (np.ones((3, 3)) - np.eye(3)) / 2
    >>> fj = FriedkinJohnsen(W, gamma=0.2, alpha=0.5)
    >>> M = fj.influence_matrix()
    >>> bool(np.allclose(M.sum(axis=1), 1))
    True
    """

    def __init__(
        self,
        W: Any,
        gamma: Any,
        alpha: Any,
        *,
        normalise: bool = False,
        symmetric: bool | None = None,
    ) -> None:
        if isinstance(W, list | tuple):
            W = np.asarray(W, dtype=np.float64)
        # the agents' labels, to read labelled beliefs and parameters in the same order
        self._labels: list[Any] | None = bk.frame_labels(W)
        W = bk.square_frame(W, "W")  # a DataFrame is read by label, not by position
        self.backend: bk.Backend = bk.backend_of(W)
        W = bk.as_matrix(W, self.backend)
        if str(W.dtype).removeprefix("torch.") in ("float16", "bfloat16"):
            # failed deep in scipy ("does not support dtype float16") or in .numpy()
            raise ValueError(f"W: {W.dtype} is too coarse for the solves (float16 keeps 3 "
                             "digits); use float32 or float64")
        if W.ndim != 2 or W.shape[0] != W.shape[1]:
            raise ValueError(f"W must be a square (n, n) matrix, got shape {tuple(W.shape)}")
        if W.shape[0] == 0:  # consensus_weights etc. would fail far from here
            raise ValueError("W is empty (0, 0): expected at least one agent")
        self.n = int(W.shape[0])
        self._check_entries(W)
        W = self._check_rows(W, normalise)
        # W_ii = 0 in the three-force rule (self-weight is alpha's role); only an agent with
        # no peer keeps a unit self-loop (it then hears itself)
        diag = bk.as_numpy(bk.diagonal(W)).astype(np.float64)
        selfish = (diag > 0) & (diag < 1 - 1e-12)
        if selfish.any():
            i = int(np.argmax(selfish))
            # from_adjacency, the only way out named before, drops the self-weights and
            # re-normalises: on Friedkin's W it moved the equilibrium (0.48 to 0.39)
            raise ValueError(
                f"W[{i}, {i}] = {diag[i]:.4g}: an agent's trust in itself must be 0 (its "
                "self-weight is alpha). For Friedkin's W with self-weights w_ii (x(k+1) = "
                "Lambda W x(k) + (I - Lambda) u) build FriedkinJohnsen(W0, gamma=1 - lambda, "
                "alpha=w_ii) with W0 = W off the diagonal, each row i divided by 1 - w_ii "
                "(an alpha given too: alpha_i + (1 - alpha_i) w_ii; see the Lambda "
                "convention in multiagent.dynamics); only for an adjacency whose self-loops "
                "mean nothing, use from_adjacency, which drops them and re-normalises the "
                "rows"
            )
        # its own copy: the caller's matrix (or a DataFrame's values) edited later changed
        # the model around the checks above (normalise builds a new W already)
        self.W = W if normalise else bk.copy_matrix(W)
        like = self._like()
        self.gamma = self._check_param(gamma, "gamma", like)
        self.alpha = self._check_param(alpha, "alpha", like)
        self._sym_d: Any | None = None
        self._sym_W: Any | None = None
        self._symmetric = symmetric
        self.info_: dict[str, Any] = {}

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_adjacency(
        cls,
        adjacency: Any,
        gamma: Any,
        alpha: Any,
        *,
        trust: Any | None = None,
    ) -> FriedkinJohnsen:
        """Build ``W`` by row-normalising ``adjacency`` (times optional ``trust``).

        ``W_ij = A_ij T_ij / sum_{k != i} A_ik T_ik`` (self-loops of ``adjacency`` are
        dropped: W_ii = 0); agents with no neighbour listen to themselves.  Weights of any
        finite scale normalise: ``A * 1e-310`` and ``A * 1e308`` (float32 ``A * 1e-40`` and
        ``A * 3e38``), whose row sums or their reciprocals overflow, give the ``W`` of ``A``.

        Parameters
        ----------
        adjacency
            ``(n, n)`` non-negative weights (``A_ij > 0``: agent ``i`` hears agent ``j``); a
            pandas DataFrame is read by label (columns in the index's order).
        gamma, alpha
            As in the class.
        trust
            Optional non-negative ``(n, n)`` trust weights multiplied into ``adjacency``
            (same backend; a DataFrame follows a DataFrame ``adjacency``'s agent labels).

        Returns
        -------
        FriedkinJohnsen
            The model; when ``adjacency`` is symmetric and ``trust`` is None, the
            equilibrium is solved by conjugate gradient.  Its ``W`` has the dtype of
            ``adjacency`` (and ``trust``), except that float16 and bfloat16 weights give a
            float32 model: ``W`` is computed here (row-normalised), and half precision,
            which keeps 2-3 digits, is too coarse for the solves (the class refuses such a
            ``W``).

        Raises
        ------
        TypeError
            If ``adjacency`` or ``trust`` is a networkx graph: pass
            :func:`multiagent.adjacency` of it.
        ValueError
            If ``adjacency`` or ``trust`` is not square, has negative or non-finite entries
            (NaN, or a missing value of a nullable pandas frame) or is a meta tensor.
        """
        labels = bk.frame_labels(adjacency)
        adjacency = bk.square_frame(adjacency, "adjacency")  # read by label, not position
        backend = bk.backend_of(adjacency)
        A = _widen_half(bk.as_matrix(adjacency, backend))
        if trust is not None:
            # a trust DataFrame follows the adjacency DataFrame's agent order
            T = _widen_half(bk.as_matrix(bk.square_frame(trust, "trust", labels), backend))
            if tuple(T.shape) != tuple(A.shape):
                raise ValueError(
                    f"trust has shape {tuple(T.shape)} but adjacency has {tuple(A.shape)}"
                )
            cls._check_entries_of(T, "trust")
            A = A.multiply(T) if backend == "scipy" else A * T
        cls._check_entries_of(A, "adjacency")
        A = _without_diagonal(A, backend)  # self-loops are alpha's role, not trust
        symmetric = trust is None and _is_symmetric(A)
        # labelled gamma / alpha follow the adjacency's agents, as later beliefs do
        gamma = bk.by_agent_label(gamma, labels, "gamma")
        alpha = bk.by_agent_label(alpha, labels, "alpha")
        model = cls(A, gamma, alpha, normalise=True, symmetric=symmetric)
        model._labels = labels
        if symmetric:
            d = _symmetriser_of(A)
            if d is None:
                model._symmetric = None  # detected on first use instead (recovered from W)
            else:
                model._sym_d = d
        return model

    def _like(self) -> Any:
        """Return an empty 1-D array/tensor with the model's dtype/device."""
        if self.backend == "torch":
            return torch.zeros(0, dtype=self.W.dtype, device=self.W.device)
        return np.zeros(0, dtype=self.W.dtype)

    @staticmethod
    def _check_entries_of(W: Any, name: str) -> None:
        csr = bk.to_scipy_csr(W)
        data = csr.data
        if not np.isfinite(data).all():
            k = int(np.argmax(~np.isfinite(data)))
            i = int(np.searchsorted(csr.indptr, k, side="right") - 1)
            raise ValueError(f"{name}[{i}, {csr.indices[k]}] (agent {i}) is not finite")
        if (data < 0).any():
            k = int(np.argmax(data < 0))
            i = int(np.searchsorted(csr.indptr, k, side="right") - 1)
            j = int(csr.indices[k])
            raise ValueError(
                f"{name}[{i}, {j}] = {data[k]:.4g} < 0: the trust of agent {i} in agent {j} "
                "must be non-negative"
            )

    def _check_entries(self, W: Any) -> None:
        self._check_entries_of(W, "W")

    def _check_rows(self, W: Any, normalise: bool) -> Any:
        with np.errstate(over="ignore"):  # a sum of huge weights (1e308) is inf: see below
            sums = bk.as_numpy(bk.row_sums(W)).astype(np.float64)
        if normalise:
            empty = sums <= 0
            if empty.any():
                idx = np.flatnonzero(empty)
                eye = sp.csr_array((np.ones(idx.size), (idx, idx)), shape=(self.n, self.n))
                if self.backend == "torch":
                    # an empty row gets a self-loop; built sparse, since a dense n x n
                    # identity for a sparse W took 7 GB at n = 30k (isolated agents)
                    at = torch.as_tensor(idx, device=W.device)
                    eye_t = torch.sparse_coo_tensor(
                        torch.stack([at, at]),
                        torch.ones(idx.size, dtype=W.dtype, device=W.device),
                        (self.n, self.n), check_invariants=False, is_coalesced=True,
                    )  # flatnonzero: sorted, distinct indices in range
                    if W.layout == torch.strided:
                        eye_t = eye_t.to_dense()
                    elif W.layout != torch.sparse_coo:
                        eye_t = eye_t.to_sparse(layout=W.layout)
                    W = W + eye_t
                elif self.backend == "scipy":
                    W = sp.csr_array(W + eye.astype(W.dtype))
                else:
                    W = W + eye.toarray().astype(W.dtype)
                sums = np.where(empty, 1.0, sums)
            W, sums = self._rescale_extreme_rows(W, sums)
            with np.errstate(divide="ignore", over="ignore"):  # refused just below
                scale = 1.0 / sums
            if not (np.isfinite(scale) & (scale > 0)).all():
                i = int(np.argmax(~(np.isfinite(scale) & (scale > 0))))
                raise ValueError(
                    f"row {i} of W (agent {i}) cannot be row-normalised: its entries sum to "
                    f"{sums[i]:.6g}; expected a finite positive sum"
                )
            if self.backend == "torch" and W.requires_grad:
                # the row sums in torch, so that the gradient goes through them: read into
                # numpy they were constants, and from_adjacency(A * t) gave d/dt of an
                # equilibrium that does not depend on t as 18.9 instead of 0
                return bk.scale_rows(W, 1.0 / bk.row_sums(W))
            if self.backend == "torch":
                scale_t = torch.as_tensor(scale, dtype=W.dtype, device=W.device)
                return bk.scale_rows(W, scale_t)  # a CSR W stays CSR
            return bk.scale_rows(W, scale.astype(W.dtype))
        # a float32 row rounds to 1 only within a few eps (1.2e-7), above _ROW_TOL
        eps = float(torch.finfo(W.dtype).eps if self.backend == "torch" else np.finfo(W.dtype).eps)
        tol = max(_ROW_TOL, 16 * eps) * max(1.0, float(np.sqrt(self.n)))
        off = np.abs(sums - 1.0) > tol
        if off.any():
            i = int(np.argmax(off))
            raise ValueError(
                f"row {i} of W (agent {i}) sums to {sums[i]:.6g}, expected 1; "
                "pass normalise=True to row-normalise"
            )
        return W

    def _rescale_extreme_rows(self, W: Any, sums: np.ndarray) -> tuple[Any, np.ndarray]:
        """Divide each row whose ``1 / sum`` is not a normal number of W's dtype by its max.

        ``1 / sum`` in W's dtype overflowed for subnormal sums (weights 1e-310, float32
        1e-40: a NaN/inf W) and was 0 or subnormal for sums that overflow or nearly do
        (1e308, float32 3e38: an all-zero W).  Such a row divided by its largest entry
        sums to between 1 and n, and normalises to the same row.  Other rows are divided
        by 1 and keep their sums: their ``W`` is the same to the last bit.

        Returns
        -------
        W, sums
            ``W`` with those rows rescaled (unchanged when there are none) and its row sums.
        """
        finfo = torch.finfo if self.backend == "torch" else np.finfo
        info = finfo(W.dtype)
        with np.errstate(over="ignore", divide="ignore"):
            scale = 1.0 / sums
        normal = (scale >= float(info.tiny)) & (scale <= float(info.max))
        extreme = ~(np.isfinite(sums) & normal)
        if not extreme.any():
            return W, sums
        peak = bk.row_max(W)
        m = np.where(extreme, peak, peak.dtype.type(1))  # W's dtype: the division is exact
        if self.backend == "torch":
            W = bk.divide_rows(W, torch.as_tensor(m, device=W.device))
        else:
            W = bk.divide_rows(W, m)
        with np.errstate(over="ignore"):
            rescaled = bk.as_numpy(bk.row_sums(W)).astype(np.float64)
        return W, np.where(extreme, rescaled, sums)

    def _check_param(self, value: Any, name: str, like: Any) -> Any:
        value = bk.by_agent_label(value, self._labels, name)
        v = bk.vector_like(value, self.n, like, name)
        vn = bk.as_numpy(v)
        bad = ~((vn >= 0) & (vn <= 1))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{name}[{i}] = {vn[i]:.4g} is outside [0, 1] (agent {i})")
        return v

    # ------------------------------------------------------------------ helpers
    def _beliefs(self, B: Any, name: str, check: bool, way_out: str = _REAL_VALUED) -> Any:
        """``B`` in the model's backend, dtype and device (checked when ``check``).

        ``way_out`` ends the message of rows that are not probability vectors: by default
        it points the methods' callers to ``check=False`` for real-valued opinions.
        """
        B = bk.by_agent_label(B, self._labels, name)  # by label when the model has labels
        bk.refuse_meta(B, name)  # .to() failed with "Cannot copy out of meta tensor"
        # the tolerance of the dtype given: float16 beliefs widened to a float32 or
        # float64 model keep their rounding
        source = getattr(B, "dtype", None)
        if self.backend == "torch":
            # like numpy input, tensors take the model's dtype and device (a float64 tensor
            # into a float32 model would otherwise fail inside matmul / linalg.solve);
            # .to keeps the autograd graph
            if not isinstance(B, torch.Tensor):
                B = torch.as_tensor(np.asarray(B), dtype=self.W.dtype, device=self.W.device)
            else:
                B = B.to(dtype=self.W.dtype, device=self.W.device)
        else:
            # W's dtype, as the class Notes say and a torch model does: float64 beliefs
            # into a float32 model gave float64 results
            B = np.asarray(bk.as_numpy(B))
            if B.dtype != self.W.dtype:
                B = B.astype(self.W.dtype)
        if check:
            check_beliefs(B, self.n, name, way_out=way_out, source_dtype=source)
        return B

    @property
    def neighbour_influence(self) -> Any:
        """``(1 - gamma)(1 - alpha)``: the weight each agent gives its neighbours' mean."""
        return (1 - self.gamma) * (1 - self.alpha)

    def _effective(self) -> tuple[Any, Any, Any]:
        """(g, a, c) with agents that never listen (c = 0) made fully stubborn.

        A frozen agent's row of ``I - H``, ``(g_i + c_i) b_i - c_i (W b)_i = g_i s_i``, is
        divided by ``g_i`` (when ``g_i > 0``): its values become ``g = 1``, ``a = 0``,
        ``c = 0`` and in torch ``c_i / g_i`` keeps ``c``'s autograd path, so the gradient in
        ``alpha_i`` at ``alpha_i = 1`` is the one-sided limit from ``alpha_i < 1``.
        """
        a = (1 - self.gamma) * self.alpha
        c = (1 - self.gamma) * (1 - self.alpha)
        frozen = c == 0
        one = 1.0
        if self.backend == "torch":
            # g = 1 and a = 0 as constants cut alpha's path: d b_i / d alpha_i at alpha_i = 1
            # was gamma_i times the limit from inside (-0.2 for -1.0 at gamma_i = 0.2).
            # c / g is 0 here, its derivative d c / g; g = 0 (no row to divide) keeps c, and
            # the others divide by 1, so no inf or NaN reaches the discarded branch
            g_div = torch.where(frozen & (self.gamma > 0), self.gamma, one)
            c = torch.where(frozen, c / g_div, c)
            g = torch.where(frozen, one, self.gamma)
            a = torch.where(frozen, 1 - g - c, a)  # 1 - 1 - 0 = +0.0, as the 0 before
        else:
            g = np.where(frozen, one, self.gamma)
            a = np.where(frozen, 0.0, a)
        return g, a, c

    def apply_H(self, X: Any) -> Any:
        """Apply ``H = (I - Gamma)[A + (I - A) W]`` to ``X`` of shape ``(n,)`` or ``(n, K)``.

        Parameters
        ----------
        X
            ``(n,)`` or ``(n, K)`` array or tensor of the model's backend (a pandas Series /
            DataFrame is read by label when the model has labels).

        Returns
        -------
        numpy.ndarray or torch.Tensor
            ``H X``, same shape as ``X``.
        """
        X = bk.by_agent_label(X, self._labels, "X")  # a labelled frame gave NaN
        if X.ndim not in (1, 2) or X.shape[0] != self.n:  # else a broadcast error, no name
            raise ValueError(f"X must have shape (n,) or (n, K) with n = {self.n} agents, got "
                             f"shape {tuple(X.shape)}")
        vec = X.ndim == 1
        X2 = X[:, None] if vec else X
        out = self._apply_H2(X2, *self._mix())
        return out[:, 0] if vec else out

    def _mix(self) -> tuple[Any, Any]:
        """Column vectors ``(1 - gamma) alpha`` and ``(1 - gamma)(1 - alpha)`` of ``H``."""
        return ((1 - self.gamma) * self.alpha)[:, None], self.neighbour_influence[:, None]

    def _apply_H2(self, X2: Any, a: Any, c: Any) -> Any:
        """``H X2`` for ``(n, K)`` ``X2`` with the vectors of :meth:`_mix` computed once."""
        return a * X2 + c * bk.matmul(self.W, X2)

    # ------------------------------------------------------------------ dynamics
    def step(self, B: Any, S: Any | None = None, *, check: bool = True) -> Any:
        """Advance beliefs one round.

        Parameters
        ----------
        B
            Current beliefs ``b(t)``: ``(n,)`` scalars or ``(n, K)`` probability vectors.
        S
            Innate beliefs ``s = b(0)``; defaults to ``B`` (the first round).
        check
            Validate shapes and, for ``(n, K)`` beliefs, that rows are distributions; False
            for real-valued opinions on several topics (one column per topic).

        Returns
        -------
        Beliefs ``b(t+1)``, same shape and backend as the model.
        """
        B = self._beliefs(B, "B", check)
        S = B if S is None else self._beliefs(S, "S", check)
        if tuple(S.shape) != tuple(B.shape):
            raise ValueError(f"S has shape {tuple(S.shape)} but B has {tuple(B.shape)}")
        return _rows(self.gamma, S) * S + self.apply_H(B)

    def rollout(self, S: Any, steps: int, *, B0: Any | None = None, check: bool = True) -> Any:
        """Run ``steps`` rounds from ``b(0) = S`` (or from ``B0`` with anchors ``S``).

        Parameters
        ----------
        S
            Innate beliefs, ``(n,)`` or ``(n, K)``.
        steps
            Number of rounds (>= 0).
        B0
            Starting beliefs if different from ``S``.
        check
            Validate the beliefs (``(n, K)`` rows as distributions); False for real-valued
            opinions on several topics (one column per topic).

        Returns
        -------
        Trajectory of shape ``(steps + 1, n)`` or ``(steps + 1, n, K)``; entry 0 is the start.
        """
        try:  # check_count: steps=True (an int in Python) ran one step, 2.0 ran two
            steps = check_count("steps", steps, at_least=0)
        except (TypeError, ValueError):
            raise ValueError(f"steps must be a non-negative integer, got {steps!r}") from None
        S = self._beliefs(S, "S", check)
        B = S if B0 is None else self._beliefs(B0, "B0", check)
        if tuple(B.shape) != tuple(S.shape):
            raise ValueError(f"B0 has shape {tuple(B.shape)} but S has {tuple(S.shape)}")
        vec = S.ndim == 1
        S2 = S[:, None] if vec else S
        B2 = B[:, None] if vec else B
        anchor = self.gamma[:, None] * S2
        a, c = self._mix()
        steps = int(steps)
        if self.backend == "torch" or steps == 0:  # a list keeps torch's autograd graph
            traj = [B2]
            for _ in range(steps):
                B2 = anchor + self._apply_H2(B2, a, c)
                traj.append(B2)
            out = torch.stack(traj) if self.backend == "torch" else np.stack(traj)
        else:
            # rounds written into the trajectory itself: no list of steps + 1 arrays that
            # np.stack would copy again (twice the memory, and the copy cost a full pass)
            first = anchor + self._apply_H2(B2, a, c)
            out = np.empty((steps + 1, *first.shape), dtype=np.result_type(B2, first))
            out[0], out[1] = B2, first
            for t in range(1, steps):
                np.add(anchor, self._apply_H2(out[t], a, c), out=out[t + 1])
        return out[:, :, 0] if vec else out

    # ------------------------------------------------------------------ equilibrium
    def _is_symmetric(self) -> bool:
        if self._sym_d is not None:
            return True
        if self._symmetric is False:
            return False
        d = self._symmetriser(bk.to_scipy_csr(self.W))
        if d is not None:
            self._sym_d = self._vec(d)
            return True
        if self._symmetric:
            raise ValueError(
                "symmetric=True but W does not satisfy detailed balance: no positive d makes "
                "diag(d) W symmetric (W_ij > 0 needs W_ji > 0, and the products of W around "
                "every cycle must match both ways); pass symmetric=None, or for a symmetric "
                "adjacency A build the model with FriedkinJohnsen.from_adjacency(A, gamma, "
                "alpha)"
            )
        self._symmetric = False
        return False

    def _symmetriser(self, csr: sp.csr_array, first: np.ndarray | None = None
                     ) -> np.ndarray | None:
        """Return a positive ``d`` making ``diag(d) csr`` symmetric, or None.

        The cheap candidates come first: ``first`` (when given), 1 and the row counts.
        Failing those, ``d`` is recovered from ``csr`` itself by detailed balance
        (:func:`_detailed_balance`): such a ``d`` exists iff ``csr`` is reversible, and it
        is then unique up to one factor per connected component.  Symmetric means
        :func:`_is_symmetric` to ``max(1e-12, 16 eps)`` of the model's dtype.
        """
        # a float32 D^-1 A is symmetric after scaling only to a few eps (1e-7), so a 1e-12
        # tolerance never detected it and method='cg' refused a symmetrisable W
        tol = max(1e-12, 16 * self._eps())
        cands = [np.ones(csr.shape[0]), np.diff(csr.indptr).astype(np.float64)]
        for d in cands if first is None else [first, *cands]:
            d = np.where(d > 0, d, 1.0)
            if _is_symmetric(sp.diags_array(d) @ csr, tol):
                return d
        # W = D^-1 A of a symmetric weighted A needs d = the row sums of A, which neither
        # candidate is: symmetric=True raised on first use and None chose BiCGSTAB
        eps = self._eps()
        info = torch.finfo(self.W.dtype) if self.backend == "torch" else np.finfo(self.W.dtype)
        return _detailed_balance(csr, eps, float(info.tiny), tol)

    def _vec(self, x: Any) -> Any:
        if self.backend == "torch":
            return torch.as_tensor(x, dtype=self.W.dtype, device=self.W.device)
        return np.asarray(x, dtype=self.W.dtype)

    def _listening_graph(self, listens: np.ndarray) -> sp.csr_array:
        """Trust edges ``i -> j`` of ``W`` (scipy CSR) kept only for agents that listen."""
        csr = sp.csr_array(sp.diags_array(listens.astype(float)) @ bk.to_scipy_csr(self.W))
        csr.eliminate_zeros()
        return csr

    def _unanchored(self, g: Any, c: Any) -> tuple[np.ndarray, sp.csr_array | None]:
        """Agents that reach (along trust edges) no agent with effective gamma > 0.

        Returns
        -------
        lost, graph
            Bool mask of those agents, and the listening graph (None when every agent is
            stubborn, where it is not needed).
        """
        stubborn = bk.as_numpy(g) > 0
        if stubborn.all():
            return np.zeros(self.n, bool), None
        csr = self._listening_graph(bk.as_numpy(c) > 0)
        # reversed edges j -> i plus a super source n -> every stubborn agent
        rev = sp.csr_array(csr.T)
        src = np.flatnonzero(stubborn)
        big = sp.block_array(
            [
                [rev, None],
                [sp.csr_array((np.ones(src.size), (np.zeros(src.size, int), src)),
                              shape=(1, self.n)), None],
            ],
            format="csr",
        )
        big.resize((self.n + 1, self.n + 1))
        reached = csgraph.breadth_first_order(big, self.n, directed=True,
                                              return_predecessors=False)
        ok = np.zeros(self.n + 1, bool)
        ok[reached] = True
        return ~ok[: self.n], csr

    def _check_reachability(self, g: Any, c: Any) -> None:
        """Every agent must reach an agent with effective gamma > 0 (else I - H is singular)."""
        lost = np.flatnonzero(self._unanchored(g, c)[0])
        if lost.size:
            raise ConvergenceError(
                f"agents {lost[:10].tolist()} never reach a stubborn agent (gamma > 0), so "
                "I - H is singular and (I - H) X = rhs has no unique solution; equilibrium(), "
                "influence_matrix() and social_power() give the limit of the dynamics (each "
                "group of such agents that listens only to itself reaches its own consensus)"
            )

    def _closed_classes(self, g: Any, c: Any) -> list[np.ndarray]:
        """Return the closed groups of agents without a stubborn agent (index arrays).

        A closed group (closed class) is a sink strongly connected component of the
        listening graph: its agents listen only to each other.  Those that reach no agent
        with ``gamma > 0`` (Proskurnikov & Tempo 2017, part II) run DeGroot averaging among
        themselves; every other agent reaches a stubborn agent or such a group.  Empty when
        every agent reaches a stubborn agent (then ``I - H`` is invertible).
        """
        lost, csr = self._unanchored(g, c)
        if csr is None or not lost.any():
            return []
        # the agents that reach no stubborn agent listen only to each other (a listener of
        # an anchored agent would be anchored), so their closed groups are the sinks of
        # their own subgraph
        idx = np.flatnonzero(lost)
        sub = csr[idx][:, idx]
        ncomp, labels = csgraph.connected_components(sub, directed=True, connection="strong")
        coo = sub.tocoo()
        out = labels[coo.row] != labels[coo.col]
        closed = np.setdiff1d(np.arange(ncomp), labels[coo.row[out]])
        return [idx[labels == k] for k in closed]

    def _frozen(self, g: Any, a: Any, c: Any, classes: list[np.ndarray]
                ) -> tuple[Any, Any, Any, Any]:
        """``(g, a, c)`` with the members of ``classes`` fixed, and the mask of the others.

        A fixed agent has an identity row in ``I - H`` (like an agent that never listens):
        its value is given (its group's consensus), and the other agents solve the FJ
        equation around it.
        """
        fixed = np.zeros(self.n, bool)
        for members in classes:
            fixed[members] = True
        free = self._vec((~fixed).astype(np.float64))
        if self.backend == "torch":
            f = torch.as_tensor(fixed, device=g.device)
            return (torch.where(f, 1.0, g), torch.where(f, 0.0, a), torch.where(f, 0.0, c),
                    free)
        return np.where(fixed, 1.0, g), np.where(fixed, 0.0, a), np.where(fixed, 0.0, c), free

    def _limit_solve(
        self,
        X: Any,
        g: Any,
        a: Any,
        c: Any,
        classes: list[np.ndarray],
        *,
        transpose: bool = False,
        method: Method = "auto",
        tol: float = 1e-10,
        atol: float = 0.0,
        maxiter: int | None = None,
        pi_tol: float = 1e-12,
        pi_maxiter: int = 100_000,
    ) -> Any:
        """``M X`` (or ``M^T X``) for the limit map ``M`` of a network with closed groups.

        Each closed group ``C`` of ``classes`` (no stubborn agent in it) reaches the DeGroot
        consensus ``pi_C^T s_C`` of its members (``pi_C`` its stationary distribution: the
        Cesàro limit for a periodic group), and the other agents ``F`` satisfy the FJ
        equation with those values as given inputs (Proskurnikov & Tempo 2017, part II):
        ``M = (I - H')^{-1} Q`` with the groups' rows of ``H'`` set to zero,
        ``Q = diag(gamma_F) + sum_C 1_C pi_C^T``.  Rows of ``M`` sum to 1.
        """
        tol = max(float(tol), 16 * self._eps())
        pis = [self._group_weights(self.alpha, members, tol=pi_tol, maxiter=pi_maxiter)
               for members in classes]
        inds = []
        for members in classes:
            ind = np.zeros(self.n)
            ind[members] = 1.0
            inds.append(self._vec(ind))
        g2, a2, c2, free = self._frozen(g, a, c, classes)
        gf = g * free
        if not transpose:  # M X = (I - H')^{-1} (Q X)
            R = _rows(gf, X) * X
            for ind, pi in zip(inds, pis):
                R = R + _rows(ind, X) * bk.matmul(pi, X)
            return self._solve_with(R, g2, a2, c2, transpose=False, method=method, tol=tol,
                                    atol=atol, maxiter=maxiter)
        # M^T X = Q^T (I - H')^{-T} X
        Y = self._solve_with(X, g2, a2, c2, transpose=True, method=method, tol=tol,
                             atol=atol, maxiter=maxiter)
        out = _rows(gf, Y) * Y
        for ind, pi in zip(inds, pis):
            out = out + _rows(pi, Y) * bk.matmul(ind, Y)
        return out

    def _operator(self, g: Any, a: Any, c: Any, transpose: bool = False, W: Any = None
                  ) -> tuple[Any, Any]:
        """Matvec and inverse Jacobi diagonal of ``I - H_eff`` (or its transpose).

        ``W`` (default the model's) is the trust matrix to build it from.
        """
        W0 = self.W if W is None else W
        W = bk.transpose(W0) if transpose else W0
        diagW = bk.diagonal(W0)
        a2, c2 = a[:, None], c[:, None]
        if transpose:
            def matvec(X: Any) -> Any:
                return X - a2 * X - bk.matmul(W, c2 * X)
        else:
            def matvec(X: Any) -> Any:
                return X - a2 * X - c2 * bk.matmul(W, X)
        inv_diag = 1.0 / (1 - a - c * diagW)
        return matvec, inv_diag[:, None]

    def solve(
        self,
        rhs: Any,
        *,
        transpose: bool = False,
        method: Method = "auto",
        tol: float = 1e-10,
        atol: float = 0.0,
        maxiter: int | None = None,
    ) -> Any:
        """Solve ``(I - H) X = rhs`` (or the transposed system) without forming an inverse.

        Agents that never listen are treated as fully stubborn (their rows are identity).

        Parameters
        ----------
        rhs
            ``(n,)`` or ``(n, K)`` right-hand side.
        transpose
            Solve ``(I - H)^T X = rhs`` instead (used for social power).
        method
            ``"auto"`` (dense solve for dense n <= 2000, else CG when the system is
            symmetrisable, else BiCGSTAB), ``"direct"``, ``"cg"``, ``"bicgstab"`` or
            ``"fixed_point"`` (all iterative ones Jacobi-preconditioned).
        tol, atol
            Stopping rule ``||r|| <= max(tol ||rhs||, atol)`` per column; a ``tol`` below 16
            times the machine epsilon of ``W``'s dtype is raised to it (float32: 1.9e-6).
        maxiter
            Iteration cap (default ``10 n + 1000``).

        Returns
        -------
        The solution, same shape as ``rhs``.  ``self.info_`` records the method and iterations.

        Raises
        ------
        ConvergenceError
            If some agents reach no stubborn agent (``I - H`` is singular; their limit is
            given by :meth:`equilibrium` and :meth:`influence_matrix`), or an iterative
            solver misses its tolerance.

        Notes
        -----
        ``I - H`` has condition about ``1 / gamma``.  The direct solve works in float64 (so a
        float32 model's answer is accurate to float32) and refines the untransposed system to
        round-off (see :meth:`equilibrium`); a transposed solve (social power, router
        weights) and the iterative methods keep a relative error of about ``eps / gamma``
        (3e-9 at every ``gamma`` = 1e-8 on a 40-agent graph in float64).  Below about 1e-16
        (``1 + gamma == 1`` in float64) a group of agents that listen only to each other
        makes ``I - H`` exactly singular, and the direct solve raises a ValueError.

        In torch, the gradients of the iterative methods are those of the exact solution
        (implicit differentiation), as the direct solve's: the solver runs without an
        autograd graph, and ``backward()`` solves the transposed system by the same method
        and tolerance (about one more solve, and no graph of the iterations is kept).  With
        ``create_graph=True`` that backward is differentiable too, so second (and higher)
        derivatives are those of the exact solution as well, each order one more solve (a
        Hessian in ``gamma`` and ``alpha`` of a 30-agent model matched the direct solve's
        to 1e-9).  torch's sparse operations do not give exact second derivatives in the
        entries of a sparse ``W`` built from parameters (row-normalised by
        :meth:`from_adjacency`: off by 0.2 whatever the method); a dense ``W`` does.
        """
        # a float32 residual stalls near its eps (6e-8): at the float64 default of 1e-10,
        # 'fixed_point' ran all 10 n + 1000 iterations and raised ConvergenceError
        tol = max(float(tol), 16 * self._eps())
        g, a, c = self._effective()
        self._check_reachability(g, c)
        return self._solve_with(rhs, g, a, c, transpose=transpose, method=method, tol=tol,
                                atol=atol, maxiter=maxiter)

    def _solve_with(self, rhs: Any, g: Any, a: Any, c: Any, *, transpose: bool, method: Method,
                    tol: float, atol: float, maxiter: int | None) -> Any:
        """:meth:`solve` for the effective ``(g, a, c)`` given (``tol`` already bounded)."""
        rhs = self._beliefs(rhs, "rhs", check=False)
        if not _all_finite(rhs):
            raise ValueError("rhs has NaN or infinite entries")
        vec = rhs.ndim == 1
        R = rhs[:, None] if vec else rhs
        # -3 ran no iteration and reported "did not converge in -3 iterations"
        maxiter = 10 * self.n + 1000 if maxiter is None else check_count("maxiter", maxiter)
        dense = not bk.is_sparse(self.W)
        if method == "auto":
            if dense and self.n <= 2000:
                method = "direct"
            elif self._is_symmetric():
                method = "cg"
            else:
                method = "bicgstab"
        if method not in ("direct", "cg", "bicgstab", "fixed_point"):
            raise ValueError(
                "method must be 'auto', 'direct', 'cg', 'bicgstab' or 'fixed_point', "
                f"got {method!r}"
            )
        if method == "direct":
            X = self._solve_direct(R, g, c, transpose)
            iters = 0
        else:
            if method == "cg" and not self._is_symmetric():
                raise ValueError(
                    "method='cg' needs a symmetrisable W (diag(d) W symmetric); use 'bicgstab'"
                )
            X, iters = self._solve_iterative(R, g, a, c, transpose=transpose, method=method,
                                             tol=tol, atol=atol, maxiter=maxiter)
        self.info_ = {"method": method, "iterations": int(iters)}
        return X[:, 0] if vec else X

    def _solve_iterative(self, R: Any, g: Any, a: Any, c: Any, *, transpose: bool,
                         method: Method, tol: float, atol: float, maxiter: int
                         ) -> tuple[Any, int]:
        """Solve ``(I - H) X = R`` (or the transpose) iteratively, for an ``(n, k)`` ``R``.

        In torch, when ``R``, ``g``, ``a``, ``c`` or ``W`` need grad, the solver runs without
        a graph and the solution gets the gradient of the exact solution (implicit
        differentiation, :class:`_ImplicitSolve`): ``backward()`` solves the transposed
        system for ``(I - H)^T L = grad`` by the same method and tolerance, ``R`` gets
        ``L`` and the parameters ``-L^T d(I - H) X`` (autograd of one product with
        ``I - H``); with ``create_graph=True`` that backward is differentiable in turn
        (second derivatives solve by the same method again).  Differentiating the
        solver's iterations instead gave the derivative of its last iterate, not the
        solution's, when it stopped early (CG on a symmetric 3-agent system:
        d b_2 / d alpha_2 = -1.125 for -1).
        """
        def run(B: Any, transposed: bool) -> tuple[Any, int]:
            # solve for B / s, s a power of two (exact): the solvers' norms and dot products
            # of beliefs of 1e-170 underflowed to 0 (overflowed at 1e170), so residual and
            # bound read 0 <= 0 and they returned X = 0 after 0 iterations
            s = _pow2_scale(B)
            B, atol_s = B / s, atol / s
            if method == "cg":
                X, iters = self._solve_cg(B, g, a, c, transposed, tol, atol_s, maxiter)
            else:
                matvec, inv_diag = self._operator(g, a, c, transposed)
                solver = bicgstab if method == "bicgstab" else fixed_point
                X, iters = solver(matvec, B, inv_diag, tol=tol, atol=atol_s, maxiter=maxiter)
            return X * s, iters

        if not (self.backend == "torch" and torch.is_grad_enabled()
                and any(t.requires_grad for t in (R, g, a, c, self.W))):
            return run(R, transpose)
        with torch.no_grad():
            X, iters = run(R, transpose)

        def residual(X: Any, R: Any, a: Any, c: Any, W: Any) -> Any:
            """``(I - H) X - R`` (or with the transpose), in all that it depends on."""
            return self._operator(g, a, c, transpose, W)[0](X) - R

        problem = _Implicit(residual, adjoint=lambda G: run(G, not transpose)[0],
                            tangent=lambda B: run(B, transpose)[0])
        return _ImplicitSolve.apply(problem, X, R, a, c, self.W), iters

    def _eps(self) -> float:
        """Machine epsilon of ``W``'s dtype."""
        if self.backend == "torch":
            return float(torch.finfo(self.W.dtype).eps)
        return float(np.finfo(self.W.dtype).eps)

    def _dense_I_minus_H(self, g: Any, c: Any) -> tuple[Any, Any, Any]:
        """Dense ``I - H``, ``W`` and its row sums in the solve's working dtype.

        The diagonal is summed as ``g + c sum_{j != i} W_ij`` rather than subtracted as
        ``1 - a - c W_ii`` (equal for stochastic rows): the subtraction cancels to ``g``
        and lost ``eps / g`` of it.  float32 works in float64 (at ``gamma`` = 1e-3 its
        float32 solve was off by 1e-5), except on MPS, which has no float64.
        """
        if self.backend == "torch":
            Wd = self.W.to_dense() if self.W.layout != torch.strided else self.W
            if Wd.dtype != torch.float64 and Wd.device.type != "mps":
                Wd, g, c = Wd.double(), g.double(), c.double()
            # the rows' sums stand for the 1 of 1 - a - c W_ii (exactly, for stochastic rows)
            # without its derivative: through them d/dW gained a per-row term the model has
            # not (a raw W's gradient was 2.3 off the rollout's and the iterative solves')
            rs = Wd.sum(1).detach()
            K = -c[:, None] * Wd
            K = K + torch.diag(g + c * (rs - torch.diagonal(Wd)) - torch.diagonal(K))
            return K, Wd, rs
        Wd = self.W.toarray() if sp.issparse(self.W) else np.asarray(self.W)
        Wd, g, c = (v.astype(np.float64, copy=False) for v in (Wd, g, c))
        rs = Wd.sum(1)
        K = -c[:, None] * Wd
        np.fill_diagonal(K, g + c * (rs - np.diagonal(Wd)))
        return K, Wd, rs

    def _solve_direct(self, R: Any, g: Any, c: Any, transpose: bool) -> Any:
        """Dense LU solve of ``(I - H) X = R`` (or the transpose), refined for small gamma.

        ``I - H`` is as ill-conditioned as ``1 / gamma``, so one LU solve loses about
        ``eps / gamma`` (1 % at every ``gamma`` = 1e-14).  Iterative refinement recovers
        it because the residual can be computed accurately: with ``Y = X - mean(X)``,
        ``(I - H) X = g X + c (rs Y - W Y)`` has no cancellation of ``X``'s common part
        (rows of ``W`` sum to ``rs``, so constants drop out exactly).  The transposed system
        has no such form and is solved once.
        """
        if self.n > 20_000:
            raise ValueError(
                f"method='direct' forms a dense {self.n}x{self.n} system; use an iterative method"
            )
        K, Wd, rs = self._dense_I_minus_H(g, c)
        dtype = R.dtype
        torch_ = self.backend == "torch"
        R = R.to(K.dtype) if torch_ else R.astype(K.dtype)
        if torch_:
            LU, piv, _ = torch.linalg.lu_factor_ex(K)  # a singular K is named below

            def lu_solve(B: Any) -> Any:
                return torch.linalg.lu_solve(LU, piv, B, adjoint=transpose)
        else:
            # LAPACK's getrf, not lu_factor: its LinAlgWarning on an exactly singular K (named
            # below instead) was silenced by warnings.catch_warnings, which swaps the filters
            # of the whole process: direct solves in threads left "ignore LinAlgWarning" in
            # them for good
            (getrf,) = sla.get_lapack_funcs(("getrf",), (K,))
            LU = getrf(K)[:2]

            def lu_solve(B: Any) -> Any:
                return sla.lu_solve(LU, B, trans=int(transpose), check_finite=False)

        X = lu_solve(R)
        if not _all_finite(X):
            # a group that listens only to itself with gamma below float64's resolution
            # (1 + 1e-17 == 1): K is exactly singular and the answer was NaN and inf with, at
            # most, a LinAlgWarning
            gn = bk.as_numpy(g)
            gmin = float(gn[gn > 0].min())
            raise ValueError(
                f"gamma: I - H is singular in float64, so the direct solve failed: some agents "
                f"listen only to each other and their stubbornness (smallest gamma "
                f"{gmin:.3g}) is below float64's resolution of about 1e-16; give them gamma "
                "of 1e-15 or more")
        if transpose:
            return X.to(dtype) if torch_ else X.astype(dtype, copy=False)
        finfo = torch.finfo if torch_ else np.finfo
        eps = float(finfo(K.dtype).eps)
        # K is an M-matrix, so ||K^-1|| = max(K^-1 1) and one LU solve is off by about
        # eps ||K|| ||K^-1|| (||K|| <= 2); refine only when that would show
        ones = torch.ones_like(R[:, :1]) if torch_ else np.ones_like(R[:, :1])
        with torch.no_grad():
            kappa = 2 * _absmax(lu_solve(ones))
        if eps * kappa > max(_REFINE_ABOVE, 16 * float(finfo(dtype).eps)):
            g2, c2, rs2 = (v.to(K.dtype)[:, None] if torch_ else v.astype(K.dtype)[:, None]
                           for v in (g, c, rs))
            for _ in range(_REFINE_STEPS):
                Y = X - X.mean(0)
                dX = lu_solve(R - g2 * X - c2 * (rs2 * Y - bk.matmul(Wd, Y)))
                X = X + dX
                if _absmax(dX) <= 4 * eps * _absmax(X):
                    break
        return X.to(dtype) if torch_ else X.astype(dtype, copy=False)

    def _solve_cg(self, R, g, a, c, transpose, tol, atol, maxiter):  # noqa: ANN001, ANN202
        # Row i of (I - H) times d_i / c_i gives the symmetric K = diag(kd) - diag(d) W on the
        # listening agents; agents with c_i = 0 are fixed (identity rows) and move to the rhs.
        d = self._sym_d
        listen = c > 0
        m = listen.to(c.dtype) if self.backend == "torch" else listen.astype(c.dtype)
        safe_c = _where_zero(c, 1.0)
        if self._sym_W is None:
            self._sym_W = bk.scale_rows(self.W, d)
        Wsym = self._sym_W
        kd = m * d * (1 - a) / safe_c + (1 - m)
        diag_k = kd - m * d * bk.diagonal(self.W)
        m2 = m[:, None]
        kd2 = kd[:, None]
        everyone = bool(listen.all())

        def matvec(X: Any) -> Any:
            if everyone:
                return kd2 * X - bk.matmul(Wsym, X)
            return kd2 * X - m2 * bk.matmul(Wsym, m2 * X)

        if not transpose:
            # (I - H) x = r  <=>  K x = diag(d/c) r on listeners, x_F = r_F on the fixed ones
            fixed = (1 - m2) * R
            rhs = m2 * (d / safe_c)[:, None] * R + fixed + m2 * bk.matmul(Wsym, fixed)
            # stop on the residual of I - H, not of K: K's rows are I - H's times d/c, so
            # an agent with a tiny c (gamma ~ 1) dominated K's residual and the other rows
            # stayed unsolved (3e-6 off at gamma = 0.99999 in float64, 6e-2 in float32)
            weight = (m * safe_c / d + (1 - m))[:, None]
            X, iters = pcg(matvec, rhs, 1.0 / diag_k[:, None], tol=tol, atol=atol,
                           maxiter=maxiter, weight=weight)
            return X, iters
        # Block form with D_L = diag(d/c) on the listeners L and the fixed agents F:
        # (I - H) = [[D_L^{-1} K_LL, -D_L^{-1} Wsym_LF], [0, I]], so (K, Wsym symmetric)
        # (I - H)^T = [[K_LL D_L^{-1}, 0], [-Wsym_FL D_L^{-1}, I]]: solve K_LL z = r_L,
        # then y_L = D_L z and y_F = r_F + Wsym_FL z.
        R_L = m2 * R
        Z, iters = pcg(matvec, R_L, 1.0 / diag_k[:, None], tol=tol, atol=atol, maxiter=maxiter)
        Z = m2 * Z
        Y_L = Z * (d / safe_c)[:, None] * m2
        Y_F = (1 - m2) * (R + bk.matmul(Wsym, Z))  # Wsym symmetric: Wsym_FL z_L
        return Y_L + Y_F, iters

    def equilibrium(
        self,
        S: Any,
        *,
        method: Method = "auto",
        tol: float = 1e-10,
        atol: float = 0.0,
        maxiter: int | None = None,
        check: bool = True,
    ) -> Any:
        """Compute the limit of the dynamics, ``B* = (I - H)^{-1} Gamma S``, by a linear solve.

        This is the limit of :meth:`rollout` from ``b(0) = S``.  When every agent has
        ``gamma = 0`` the dynamics are DeGroot averaging and, with a single closed group of
        agents (see :meth:`consensus_weights`), the limit is consensus ``1 pi^T S`` with
        ``pi`` the stationary distribution of ``A + (I - A) W``.  More generally, agents
        that reach no stubborn agent along trust edges make ``I - H`` singular, yet the
        limit exists (Proskurnikov & Tempo 2017, part II): each closed group of them (agents
        that listen only to each other, e.g. an isolated agent) reaches the consensus
        ``pi_C^T S_C`` of its own members, and the other agents satisfy the FJ equation with
        those values as given inputs.  For a periodic group (e.g. two agents listening only
        to each other with ``alpha = 0``) the beliefs oscillate and this is their Cesàro
        limit (the time average), as in the DeGroot case.  With small ``gamma``, ``I - H``
        is close to singular (condition about ``1 / gamma``).
        The dense direct solve (the default up to 2000 agents) works in float64 and refines
        its answer with a cancellation-free residual, so it stays accurate to round-off of
        the model's dtype down to every ``gamma`` = 1e-14 (one plain solve lost 1 % there,
        and float32 lost 1e-5 at ``gamma`` = 1e-3).  The iterative methods still lose about
        ``eps / gamma`` (3e-8 at ``gamma`` = 1e-9 in float64): use ``method="direct"`` or
        set such ``gamma`` to 0.

        Parameters
        ----------
        S
            Innate beliefs, ``(n,)`` or ``(n, K)``.
        method, tol, atol, maxiter
            See :meth:`solve`.
        check
            Validate the beliefs (``(n, K)`` rows as distributions); False for real-valued
            opinions on several topics (one column per topic).

        Returns
        -------
        Equilibrium beliefs with the shape of ``S``.

        Raises
        ------
        ConvergenceError
            If an iterative solver (or the power iteration for a group's consensus weights)
            misses its tolerance.
        """
        S = self._beliefs(S, "S", check)
        g, a, c = self._effective()
        classes = self._closed_classes(g, c)
        if not bool((g > 0).any()) and len(classes) == 1:
            # DeGroot: everyone ends at the consensus pi^T S
            val = bk.matmul(self.consensus_weights(tol=tol), S)
            ones = torch.ones_like(S) if self.backend == "torch" else np.ones_like(S)
            return ones * val
        if classes:
            # agents that reach no stubborn agent: I - H is singular, but the limit exists
            # (was refused with "the equilibrium depends on the start", although b(0) = s)
            return self._limit_solve(S, g, a, c, classes, method=method, tol=tol, atol=atol,
                                     maxiter=maxiter, pi_tol=tol)
        # every agent reaches a stubborn one (just checked): solve() without checking again
        return self._solve_with(_rows(g, S) * S, g, a, c, transpose=False, method=method,
                                tol=max(float(tol), 16 * self._eps()), atol=atol,
                                maxiter=maxiter)

    def consensus_weights(self, *, tol: float = 1e-12, maxiter: int = 100_000) -> Any:
        """Stationary distribution ``pi`` of ``P = A + (I - A) W`` (DeGroot social power).

        When trust is reciprocal on the closed group (``diag(d) W`` symmetric for some
        positive ``d``, as for ``W = D^-1 A`` with a symmetric weighted ``A``, whether the
        model was built by :meth:`from_adjacency` or from ``W``: ``d`` is then recovered
        from ``W``), detailed balance gives ``pi`` in closed form, proportional to
        ``d / (1 - alpha)``.  Otherwise a dense ``W`` of up to 2000 agents
        gets a direct solve of ``pi^T (I - P) = 0`` on the closed group with
        ``sum(pi) = 1``, and a larger or sparse one power iteration on the lazy chain
        ``(I + P)/2`` (same ``pi``, always aperiodic).  Needs exactly one closed group of
        agents (one that listens to nobody outside it, e.g. a strongly connected ``W`` or a
        single leader); ``pi`` is zero outside that group.

        Parameters
        ----------
        tol
            Power iteration: stop when the estimated error of every entry of ``pi`` (the
            last change times ``rho / (1 - rho)``, ``rho`` the observed contraction per
            step) is below ``tol``.
        maxiter
            Most power iterations (``ConvergenceError`` beyond; a chain that mixes in about
            ``m`` steps needs a few ``m log(1/tol)``).

        Returns
        -------
        numpy.ndarray or torch.Tensor
            ``pi``, a length-``n`` probability vector in the model's backend.  In torch,
            the power iteration's gradient is that of the exact ``pi`` (implicit
            differentiation of its fixed point: ``backward()`` iterates once more, to the
            same ``tol`` relative to the gradient, floored at 16 eps of the dtype), not that
            of its last step; so are its second derivatives (``create_graph=True``).

        Raises
        ------
        ConvergenceError
            If several groups listen only to themselves (no common consensus), or the
            iteration (or, in ``backward()``, that of its gradient) has not converged after
            ``maxiter`` steps.
        """
        maxiter = check_count("maxiter", maxiter)
        a = self.alpha
        csr = self._listening_graph(bk.as_numpy(a) < 1)
        ncomp, labels = csgraph.connected_components(csr, directed=True, connection="strong")
        if ncomp > 1:
            # A consensus still forms when exactly one group listens to nobody outside it
            # (e.g. a leader): everyone else follows it. Two such groups never agree.
            coo = csr.tocoo()
            out = labels[coo.row] != labels[coo.col]
            closed = np.setdiff1d(np.arange(ncomp), labels[coo.row[out]])
            if closed.size > 1:
                groups = [np.flatnonzero(labels == k)[:5].tolist() for k in closed[:3]]
                raise ConvergenceError(
                    f"with gamma = 0 the agents form {closed.size} groups that listen only to "
                    f"themselves (e.g. agents {groups}): they never reach a common consensus "
                    "(equilibrium() and influence_matrix() give each group's own); give "
                    "some agents gamma > 0 or connect the groups"
                )
        leaders = labels[0] if ncomp == 1 else closed[0]
        members = np.flatnonzero(labels == leaders)
        return self._group_weights(a, members, tol=tol, maxiter=maxiter)

    def _group_weights(self, a: Any, members: np.ndarray, *, tol: float, maxiter: int) -> Any:
        """Stationary distribution of ``P = A + (I - A) W`` on the closed group ``members``.

        ``pi`` is zero outside the group; see :meth:`consensus_weights` for the methods.
        """
        pi = self._consensus_reversible(a, members)
        if pi is not None:
            return pi
        if not bk.is_sparse(self.W) and self.n <= 2000:
            return self._consensus_direct(a, members)
        group = np.zeros(self.n)
        group[members] = 1.0
        keep = self._vec(group)
        Wt = bk.transpose(self.W)

        def lazy(pi: Any) -> Any:
            """One step of the lazy chain on the group, before it is renormalised."""
            col = pi[:, None]
            Ppi = a[:, None] * col + bk.matmul(Wt, (1 - a)[:, None] * col)
            return 0.5 * (pi + Ppi[:, 0]) * keep  # the followers' mass is transient

        def lazy_step(pi: Any) -> Any:
            new = lazy(pi)
            return new / new.sum()

        pi0 = self._vec(np.full(self.n, 1.0 / self.n))
        # a float32 iteration can end in a cycle of round-off (floats 1 ulp apart) short of
        # tol: accepted there, where it raised ConvergenceError after maxiter steps
        eps = self._eps()
        if not (self.backend == "torch" and torch.is_grad_enabled()
                and (a.requires_grad or self.W.requires_grad)):
            return _fixed_point_iterate(lazy_step, pi0, tol=tol, maxiter=maxiter,
                                        resolution=4 * eps)
        # pi's gradient is that of the fixed point pi = F(pi), not of the last step
        # (implicit differentiation): d pi = (I - J)^{-1} dF, J = dF / d pi. Through the steps,
        # a 3-cycle with equal alpha, which starts at pi and stops after one step, gave
        # d pi_0 / d alpha = [1/6, 0, -1/6] for [4/9, -2/9, -2/9]
        with torch.no_grad():
            pi = _fixed_point_iterate(lazy_step, pi0, tol=tol, maxiter=maxiter,
                                      resolution=4 * eps)
            s = lazy(pi).sum()

        def residual(p: Any, a: Any, W: Any) -> Any:
            """``p - F(p)`` for the lazy step ``F`` of the chain of ``a`` and ``W``."""
            col = p[:, None]
            y = 0.5 * (p + (a[:, None] * col + bk.matmul(bk.transpose(W), (1 - a)[:, None]
                                                         * col))[:, 0]) * keep
            return p - y / y.sum()

        def solve_by_steps(G: Any, step: Callable[[Any, Any], Any], what: str) -> Any:
            # u <- G + J^T u (or J u), J = dF / dp, contracts as the lazy chain does.
            # Solved for G / max|G|, so that tol is relative to the gradient's size; tol
            # floored at 16 eps of the dtype, as solve() floors its own, and round-off steps
            # accepted: in float32 it flipped by 1 ulp of max|u| for ever and never reached
            # 1e-12 (ConvergenceError after 100,000 steps, 9 s)
            scale = max(_absmax(G), 1e-300)
            Gs = G / scale
            return scale * _fixed_point_iterate(lambda u: step(Gs, u), Gs,
                                                tol=max(tol, 16 * eps), maxiter=maxiter,
                                                resolution=4 * eps, settle=True, what=what)

        def adjoint(G: Any) -> Any:
            # (I - J)^T u = G: with F = y / sum(y), J^T u = (I + P) (keep (u - pi.u)) / (2 s)
            # for P = diag(a) + diag(1 - a) W and s = sum(y) at pi
            def step(Gs: Any, u: Any) -> Any:
                v = (keep * (u - (pi * u).sum()))[:, None]
                Pv = a[:, None] * v + (1 - a)[:, None] * bk.matmul(self.W, v)
                return Gs + 0.5 * (v + Pv)[:, 0] / s

            return solve_by_steps(G, step, "power iteration for pi's gradient")

        def tangent(B: Any) -> Any:
            # (I - J) w = B, for second derivatives: J w = (y(w) - pi sum(y(w))) / s
            def step(Bs: Any, w: Any) -> Any:
                y = lazy(w)
                return Bs + (y - pi * y.sum()) / s

            return solve_by_steps(B, step, "power iteration for pi's second derivative")

        # pi's derivatives of every order are those of the fixed point pi = F(pi)
        problem = _Implicit(residual, adjoint=adjoint, tangent=tangent)
        return _ImplicitSolve.apply(problem, pi, a, self.W)

    def _consensus_reversible(self, a: Any, members: np.ndarray) -> Any | None:
        """``pi`` of the closed group by detailed balance, or None if trust is not reciprocal.

        With ``d_i W_ij = d_j W_ji`` on the group, ``pi_i (1 - a_i) W_ij`` is symmetric for
        ``pi_i`` proportional to ``d_i / (1 - a_i)``: exact in O(edges), where power
        iteration needs the chain's mixing time (a path's grows like ``n^2``).
        """
        if self.backend == "torch" and self.W.requires_grad:
            return None  # pi's gradient in W needs the solve (d is only W's structure)
        if members.size > 1 and not (bk.as_numpy(a)[members] < 1).all():
            return None  # cannot happen for a closed group (an agent with a = 1 is alone)
        first = None if self._sym_d is None else \
            bk.as_numpy(self._sym_d).astype(np.float64)[members]
        d = self._symmetriser(bk.to_scipy_csr(self.W)[members][:, members], first)
        if d is None:
            return None
        pi = self._vec(np.zeros(self.n))
        if members.size == 1:
            pi[members] = 1.0
            return pi
        if self.backend == "torch":  # in torch, so alpha's gradient flows
            idx = torch.as_tensor(members, device=pi.device)
            w = self._vec(d) / (1 - a.index_select(0, idx))
            return pi.index_put((idx,), w / w.sum())
        w = d / (1 - a[members])
        pi[members] = w / w.sum()
        return pi

    def _consensus_direct(self, a: Any, members: np.ndarray) -> Any:
        """``pi`` of the closed group ``members`` by one dense solve.

        ``M = (I - P_CC)^T`` has rank ``m - 1`` and its rows sum to zero, so replacing one
        row by ones (``sum(pi) = 1``) leaves it invertible: ``1`` is not orthogonal to
        ``pi``, its null vector.
        """
        if self.backend == "torch":
            Wd = self.W.to_dense() if self.W.layout != torch.strided else self.W
            idx = torch.as_tensor(members, device=Wd.device)
            P = torch.diag(a) + (1 - a)[:, None] * Wd
            M = (torch.eye(idx.numel(), dtype=Wd.dtype, device=Wd.device)
                 - P[idx][:, idx]).T.clone()
            M[0] = 1
            b = torch.zeros(idx.numel(), dtype=Wd.dtype, device=Wd.device)
            b[0] = 1
            x = torch.linalg.solve(M, b).clamp_min(0)  # round-off negatives of a zero
            pi = torch.zeros(self.n, dtype=Wd.dtype, device=Wd.device)
            pi[idx] = x / x.sum()
            return pi
        Wd = np.asarray(self.W)
        P = np.diag(a) + (1 - a)[:, None] * Wd
        M = (np.eye(members.size, dtype=Wd.dtype) - P[np.ix_(members, members)]).T.copy()
        M[0] = 1
        b = np.zeros(members.size, dtype=Wd.dtype)
        b[0] = 1
        x = np.clip(np.linalg.solve(M, b), 0, None)
        pi = np.zeros(self.n, dtype=Wd.dtype)
        pi[members] = x / x.sum()
        return pi

    def influence_matrix(self, *, max_n: int = 5000, rounds: int | None = None) -> Any:
        """``M = (I - H)^{-1} Gamma`` as a dense matrix (small systems only), or ``M_T``.

        Row ``i`` holds agent ``i``'s equilibrium weights on everyone's innate beliefs
        (``B* = M S``, the limit of the dynamics); rows sum to 1.  With every ``gamma = 0``
        (DeGroot) and one closed group the formula degenerates and the limit map
        ``1 pi^T`` (see :meth:`consensus_weights`) is returned instead; where some agents
        reach no stubborn agent, ``M`` is the limit map described in :meth:`equilibrium`
        (a closed group's rows hold its consensus weights; Cesàro limit if periodic).

        With ``rounds=T`` it is instead the influence after ``T`` rounds,
        ``M_T = H^T + sum_{t < T} H^t Gamma`` (powers of ``H``), the map with
        ``b(T) = M_T S`` from ``b(0) = S`` (``M_T = rollout(I, T)[-1]``, rows summing to 1;
        ``M_0 = I``).  Debates
        run a few rounds, where ``M_T`` can be far from ``M``: the gap
        ``M_T - M = H^T (I - M)`` shrinks at least like ``max(1 - gamma)^T`` (up to about
        half of it, 0.8^3, is left after 3 rounds at ``gamma = 0.2``; less where the peers
        mix fast).  ``M_T -> M`` as ``T`` grows whenever the dynamics converge (a periodic
        group keeps oscillating: ``M`` is its time average).

        Parameters
        ----------
        max_n
            Refuse larger systems (use :meth:`equilibrium` or :meth:`solve` instead).
        rounds
            None (default): the equilibrium map ``M``.  An integer ``T >= 0``: ``M_T``, by
            ``T`` products with ``W`` (``T`` rounds of :meth:`step` applied to ``I``).

        Returns
        -------
        ``(n, n)`` dense array/tensor of the model's backend.

        Raises
        ------
        ValueError
            If ``n > max_n``, or ``rounds`` is negative.
        TypeError
            If ``rounds`` is not an integer or None (``True`` and ``2.0`` included).

        Examples
        --------
        Two agents who keep half their innate answer: after one round each holds half of
        each answer; at equilibrium two thirds of its own.

        >>> import numpy as np
        >>> fj = FriedkinJohnsen(np.array([[0.0, 1.0], [1.0, 0.0]]), gamma=0.5, alpha=0.0)
        >>> fj.influence_matrix(rounds=1).tolist()
        [[0.5, 0.5], [0.5, 0.5]]
        >>> fj.influence_matrix(rounds=2).tolist()
        [[0.75, 0.25], [0.25, 0.75]]
        >>> fj.influence_matrix().round(4).tolist()
        [[0.6667, 0.3333], [0.3333, 0.6667]]
        """
        if rounds is not None:
            rounds = check_count("rounds", rounds, at_least=0)
        if self.n > max_n:
            raise ValueError(
                f"influence_matrix is dense ({self.n}x{self.n}); raise max_n or use "
                "equilibrium()/solve() for large graphs"
            )
        if rounds is not None:
            # the rollout of the identity, as rollout() computes it (raw gamma and alpha: an
            # agent that never listens keeps its row of I), without its (T + 1) n^2 history
            torch_ = self.backend == "torch"
            X = (torch.eye(self.n, dtype=self.W.dtype, device=self.W.device) if torch_
                 else np.eye(self.n, dtype=self.W.dtype))
            anchor = torch.diag(self.gamma) if torch_ else np.diag(self.gamma)
            a, c = self._mix()
            for _ in range(rounds):
                X = anchor + self._apply_H2(X, a, c)
            return X
        g, a, c = self._effective()
        classes = self._closed_classes(g, c)
        if not bool((g > 0).any()) and len(classes) == 1:
            pi = self.consensus_weights()
            return pi[None, :].repeat(self.n, 1) if self.backend == "torch" else \
                np.repeat(pi[None, :], self.n, 0)
        if classes:
            # M = (I - H')^{-1} Q (see _limit_solve): Q's rows hold a group's consensus
            # weights on its members, gamma elsewhere
            pis = [self._group_weights(self.alpha, members, tol=1e-12, maxiter=100_000)
                   for members in classes]
            g2, _, c2, free = self._frozen(g, a, c, classes)
            torch_ = self.backend == "torch"
            Q = torch.diag(g * free) if torch_ else np.diag(g * free)
            for members, pi in zip(classes, pis):
                ind = np.zeros(self.n)
                ind[members] = 1.0
                ind = self._vec(ind)
                Q = Q + ind[:, None] * pi[None, :]
            return self._solve_direct(Q, g2, c2, transpose=False)
        G = torch.diag(g) if self.backend == "torch" else np.diag(g)
        return self._solve_direct(G, g, c, transpose=False)

    def __repr__(self) -> str:
        return f"FriedkinJohnsen(n={self.n}, backend={self.backend!r})"


class _Implicit:
    """A solved problem ``f(x, *inputs) = 0`` for :class:`_ImplicitSolve`.

    ``f`` is the residual, differentiable in ``x`` and the inputs; ``adjoint(G)`` solves
    ``J^T u = G`` and ``tangent(B)`` solves ``J w = B`` for ``J = df / dx`` at the solution,
    both without a graph (by the solver that found ``x``).
    """

    def __init__(self, f: Callable[..., Any], *, adjoint: Callable[[Any], Any],
                 tangent: Callable[[Any], Any]) -> None:
        self.f, self.adjoint, self.tangent = f, adjoint, tangent

    def transposed(self) -> _Implicit:
        """Return the problem of the adjoint ``u``: ``J^T u - G = 0`` in ``(u, G, x, *inputs)``.

        ``J = J(x, inputs)``; the Jacobian in ``u`` is ``J^T``, so its adjoint solve is this
        one's tangent solve, and the other way round.
        """
        f = self.f

        def residual(u: Any, G: Any, x: Any, *inputs: Any) -> Any:
            with torch.enable_grad():
                xr = x if x.requires_grad else x.detach().requires_grad_()
                (v,) = torch.autograd.grad(f(xr, *inputs), xr, grad_outputs=u,
                                           create_graph=True)
            return v - G

        return _Implicit(residual, adjoint=self.tangent, tangent=self.adjoint)


class _ImplicitSolve(torch.autograd.Function):
    """The solution ``x`` of a problem solved already, with its exact derivatives.

    ``apply(problem, x, *inputs)`` returns (a copy of) ``x``, computed without a graph,
    with ``problem.f(x, *inputs) = 0`` (an :class:`_Implicit`).  ``backward`` gives the
    inputs the implicit derivative ``-(df / d inputs)^T u``, ``u`` from the adjoint solve
    ``J^T u = grad`` (``J = df / dx``), rather than the derivative of the solver's last
    iterate.  With ``create_graph=True`` the backward is differentiable in turn: ``u`` is
    itself the solution of the transposed problem (:meth:`_Implicit.transposed`) and the
    inputs' term holds ``x`` with its graph, so second derivatives are exact (they were
    refused: the adjoint had no graph and ``x`` stood as a constant).
    """

    @staticmethod
    def forward(ctx: Any, problem: _Implicit, x: torch.Tensor, *inputs: torch.Tensor
                ) -> torch.Tensor:
        ctx.problem = problem
        # no gradient stays None (not zeros): x held fixed (_HeldFixed) sends none, and a
        # solve of zeros that went on to the next order ran without end
        ctx.set_materialize_grads(False)
        out = x.clone()
        ctx.save_for_backward(out, *inputs)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor | None) -> tuple[Any, ...]:
        need = ctx.needs_input_grad[2:]
        if grad is None:
            return (None,) * (2 + len(need))
        problem = ctx.problem
        x, *inputs = ctx.saved_tensors
        create = torch.is_grad_enabled()  # backward(create_graph=True)
        with torch.no_grad():
            u = problem.adjoint(grad)
        if create:  # u as a function of grad, x and the inputs
            u = _ImplicitSolve.apply(problem.transposed(), u, grad, x, *inputs)
        held = [True]
        with torch.enable_grad():
            if create:
                # the partial derivatives of f, each input and x held fixed, yet with their
                # graphs for the next derivative: through x autograd.grad went back into
                # this backward without end, and an input computed from another (a from c
                # for an agent that never listens) was counted twice (d2 b_2 / d alpha_2^2
                # at alpha_2 = 1 was -2.14 for -1.12)
                x = _HeldFixed.apply(x, held)
                inputs = [_HeldFixed.apply(t, held) for t in inputs]
            else:  # a graph of this one product only
                x = x.detach()
                inputs = [t.detach().requires_grad_() if want else t.detach()
                          for t, want in zip(inputs, need)]
            wanted = [t for t, want in zip(inputs, need) if want]
            found = iter(torch.autograd.grad(problem.f(x, *inputs), wanted, grad_outputs=-u,
                                             create_graph=create, allow_unused=True)
                         if wanted else ())
        held[0] = False
        return (None, None, *(next(found) if want else None for want in need))


class _HeldFixed(torch.autograd.Function):
    """``x`` unchanged, which passes no gradient while ``held[0]`` and passes it after.

    :class:`_ImplicitSolve` takes partial derivatives with the others held fixed through
    it; the terms it builds still depend on ``x``, and their own derivatives (one order
    up) reach ``x``.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, held: list[bool]) -> torch.Tensor:
        ctx.held = held
        return x.clone()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, None]:
        return (None if ctx.held[0] else grad), None


def _fixed_point_iterate(step: Callable[[Any], Any], x: Any, *, tol: float, maxiter: int,
                         what: str = "power iteration for pi", resolution: float = 0.0,
                         settle: bool = False) -> Any:
    """Iterate ``x <- step(x)`` until its estimated error is below ``tol`` (entrywise).

    A step of size ``delta`` with observed contraction ``rho`` (per step, over the last
    ten) leaves an error of about ``delta rho / (1 - rho)``: stopping at ``delta < tol``
    left 2e-6 on a 50 x 50 grid.

    ``resolution`` (a few eps of the dtype; 0: not checked) marks round-off: a step of at
    most ``resolution max|x|``.  There an iterate seen before also ends the iteration:
    it is then periodic for ever (``x`` moves between neighbouring floats) and gets no
    closer.  In float32, pi's iteration went round cycles of 2 to 96 steps (a 1000-agent
    graph), and so did its gradient's, and both ran all ``maxiter`` steps into
    ConvergenceError; an iteration that reached its answer otherwise is unchanged.  With
    ``settle``, round-off steps that no longer shrink (``rho >= 1``) end it at once.

    Raises
    ------
    ConvergenceError
        After ``maxiter`` steps (the message names ``what``).
    """
    steps: list[float] = []
    seen: set[int] = set()  # hashes of the iterates reached by round-off steps
    for _ in range(maxiter):
        new = step(x)
        # detached: float() of a tensor that needs grad (alpha's) warned, an error under
        # warnings-as-errors
        steps.append(_absmax(new - x))
        x = new
        if steps[-1] == 0.0:
            return x
        rho = (max(b / a_ for a_, b in zip(steps[-10:-1], steps[-9:]) if a_ > 0)
               if len(steps) > 10 else None)
        if rho is not None and steps[-1] < tol:
            if rho < 1 and steps[-1] * rho / (1 - rho) < tol:
                return x
        if resolution and steps[-1] <= resolution * _absmax(x):
            if settle and rho is not None and rho >= 1:
                return x
            key = _bits_hash(x)
            if key in seen:
                return x
            seen.add(key)
    raise ConvergenceError(
        f"{what} did not reach {tol:g} in {maxiter} steps (the chain mixes slowly); raise "
        "maxiter or tol"
    )


def _bits_hash(x: Any) -> int:
    """Hash of an array's (or tensor's) bytes: equal values, equal hash."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return hash(np.ascontiguousarray(x).tobytes())


def _rows(v: Any, X: Any) -> Any:
    """Per-agent vector ``v`` shaped to scale the rows of ``X`` (``(n,)`` or ``(n, K)``)."""
    return v[:, None] if X.ndim == 2 else v


def _absmax(x: Any) -> float:
    """Largest absolute entry as a float, outside any autograd graph."""
    if isinstance(x, torch.Tensor):
        x = x.detach()
    return float(abs(x).max())


def _pow2_scale(x: Any) -> float:
    """Return a power of two in ``(m, 2m]`` for ``m = max|x|`` (1 when m is 0 or not finite)."""
    m = _absmax(x) if x.shape[0] else 0.0
    if m == 0 or not math.isfinite(m):
        return 1.0
    return math.ldexp(1.0, math.frexp(m)[1])


def _where_zero(x: Any, value: float) -> Any:
    if isinstance(x, torch.Tensor):
        return torch.where(x != 0, x, value)
    return np.where(x != 0, x, value)


def _symmetriser_of(A: Any) -> Any | None:
    """Return ``d`` (the row sums of a symmetric ``A``) making ``diag(d) D^-1 A`` symmetric.

    Any positive multiple of the row sums does; they are used as they are unless one is
    within a factor ``1 / eps`` of the dtype's limits (below 1e-292 or above 4e292 in
    float64, 1e-31 and 4e31 in float32), where they overflowed (weights 1e308: inf) or the
    conjugate-gradient products did (1e-310 or 1e307, float32 1e-38 or 3e37: no
    convergence): ``A`` is then divided by its largest entry first.
    Returns None when even then a non-empty row's sum is that small (weights spread over
    more than the dtype's range): the model detects its symmetry on first use instead.
    """
    with np.errstate(over="ignore"):  # a sum of huge weights (1e308) is inf: handled below
        d = bk.row_sums(A)
    dn = bk.as_numpy(d).astype(np.float64)
    info = torch.finfo(A.dtype) if isinstance(A, torch.Tensor) else np.finfo(A.dtype)
    lo, hi = float(info.tiny) / float(info.eps), float(info.max) * float(info.eps)
    used = dn != 0

    def fits(x: np.ndarray) -> bool:
        return bool(np.isfinite(x).all() and ((x[used] >= lo) & (x[used] <= hi)).all())

    if fits(dn):
        return _where_zero(d, 1.0)
    peak = bk.row_max(A).max()
    m = np.full(A.shape[0], peak)  # one factor for every row, so diag(d) W stays symmetric
    A = bk.divide_rows(A, torch.as_tensor(m, device=A.device)
                       if isinstance(A, torch.Tensor) else m)
    d = bk.row_sums(A)
    return _where_zero(d, 1.0) if fits(bk.as_numpy(d).astype(np.float64)) else None


def _detailed_balance(csr: sp.csr_array, eps: float, tiny: float, tol: float
                      ) -> np.ndarray | None:
    """Recover a positive ``d`` with ``d_i W_ij = d_j W_ji`` from ``W`` itself, or None.

    Such a ``d`` exists iff ``W`` satisfies detailed balance: its pattern is symmetric and
    the products of its entries around every cycle agree both ways (Kolmogorov's
    criterion); it is then unique up to one factor per connected component.  On each
    component ``d = 1`` at one agent is propagated along a breadth-first spanning tree by
    ``d_j = d_i W_ij / W_ji`` (in logs, so long chains do not overflow), then scaled so
    that the component's largest ``d`` is 1.

    Parameters
    ----------
    csr
        The trust matrix ``W``, ``(n, n)`` with non-negative entries.
    eps, tiny
        Machine epsilon and smallest normal number of the model's dtype (``eps`` is the
        accuracy of ``W``'s entries).
    tol
        Tolerance of :func:`_is_symmetric` on ``diag(d) W``; each edge's relative mismatch
        ``|log(d_i W_ij / (d_j W_ji))|`` may reach ``tol``, or more where the round-off
        accumulated along a deep tree allows more.

    Returns
    -------
    numpy.ndarray or None
        ``d`` (float64, in ``[tiny / eps, 1]``), or None when the pattern is not symmetric
        (``W_ij > 0 = W_ji``), an edge off the tree breaks the balance beyond round-off (a
        cycle violating Kolmogorov's criterion), ``diag(d) W`` fails the test of
        :func:`_is_symmetric`, or ``d`` spans more than the dtype's range.

    Notes
    -----
    O(edges) and vectorised: the sums along the tree are formed by pointer jumping (about
    ``log2`` of the tree's depth passes over the agents), not by a loop over agents: 0.7 s
    for a million agents with 10 million edges.
    """
    n = csr.shape[0]
    W = sp.csr_array(csr, dtype=np.float64, copy=True)
    W.sum_duplicates()
    W.eliminate_zeros()
    if W.nnz == 0:
        return np.ones(n)  # diag(d) 0 is symmetric for any d
    W.sort_indices()
    WT = sp.csr_array(W.T)
    WT.sort_indices()
    # W_ij > 0 with W_ji = 0: no positive d balances it (rejected before any tree)
    if not (np.array_equal(W.indptr, WT.indptr) and np.array_equal(W.indices, WT.indices)):
        return None
    rows = np.repeat(np.arange(n, dtype=W.indices.dtype), np.diff(W.indptr))
    cols = W.indices
    with np.errstate(over="ignore", divide="ignore", under="ignore"):
        lr = np.log(W.data / WT.data)  # log(W_ij / W_ji), entry by entry (WT aligned)
    odd = ~np.isfinite(lr)  # a ratio of subnormal entries that over- or underflowed
    if odd.any():
        lr[odd] = np.log(W.data[odd]) - np.log(WT.data[odd])
    # the pattern is symmetric, so strong components are the connected ones (and cheaper)
    ncomp, labels = csgraph.connected_components(W, directed=True, connection="strong")
    roots = np.full(ncomp, n)
    np.minimum.at(roots, labels, np.arange(n))
    # one breadth-first search, from a virtual agent n linked to one root per component
    tree = sp.csr_array((np.ones(W.nnz + ncomp), np.r_[cols, roots],
                         np.r_[W.indptr, W.nnz + ncomp]), shape=(n + 1, n + 1))
    _, pred = csgraph.breadth_first_order(tree, n, directed=True, return_predecessors=True)
    pred = pred[:n]
    root = pred == n
    anc = np.where(root, np.arange(n), pred)
    logd = np.zeros(n)  # log(d_j / d_pred(j)) on the tree edge into j
    on_tree = pred[cols] == rows
    logd[cols[on_tree]] = lr[on_tree]
    depth = (~root).astype(np.int64)
    while True:  # pointer jumping: logd and depth sum the path from anc to each agent
        up = anc[anc]
        if np.array_equal(up, anc):
            break
        logd, depth, anc = logd + logd[anc], depth + depth[anc], up
    top = np.full(ncomp, -np.inf)
    np.maximum.at(top, labels, logd)
    # every edge must balance up to the round-off of its cycle through the tree (at most
    # 2 depth + 1 edges): about eps of W per edge, and of the float64 log sums per addition
    sums = float(np.finfo(np.float64).eps) * (1 + float(np.abs(logd).max()))
    logd -= top[labels]
    bound = max(tol, (2 * int(depth.max()) + 2) * 16 * (eps + sums))
    if not float(np.abs(logd[rows] + lr - logd[cols]).max()) <= bound:
        return None
    # a d below the dtype's tiny / eps (1e-292 in float64, 1e-31 in float32) would take
    # diag(d) W, and CG's products, out of its normal range
    if not (logd >= math.log(tiny / eps)).all():
        return None
    d = np.exp(logd)
    # _is_symmetric(diag(d) W, tol) on the aligned entries (W and W^T share their pattern):
    # forming diag(d) W - (diag(d) W)^T took 0.6 s at 10^7 edges, as long as the recovery
    left, right = d[rows] * W.data, d[cols] * WT.data
    if not float(np.abs(left - right).max()) <= tol * max(1.0, float(left.max())):
        return None
    return d


def _is_symmetric(A: Any, tol: float = 1e-12) -> bool:
    csr = bk.to_scipy_csr(A)
    if csr.shape[0] != csr.shape[1]:
        return False
    diff = csr - csr.T
    if diff.nnz == 0:
        return True
    scale = max(1.0, float(np.abs(csr.data).max()) if csr.nnz else 1.0)
    return float(np.abs(diff.data).max()) <= tol * scale


def _widen_half(A: Any) -> Any:
    """Return a float16 / bfloat16 matrix (numpy or torch) as float32; others unchanged.

    scipy has no float16 ("scipy.sparse does not support dtype float16") and numpy no
    bfloat16 ("Got unsupported ScalarType BFloat16"), and half precision is too coarse for
    the solves; float32 holds both exactly.
    """
    if not bk.is_half(A):
        return A
    return A.to(torch.float32) if isinstance(A, torch.Tensor) else A.astype(np.float32)


def _without_diagonal(A: Any, backend: str) -> Any:
    """Return ``A`` with a zero diagonal, in its own backend and layout."""
    if backend == "scipy":
        return drop_diagonal(A)
    if backend == "torch":
        if A.layout != torch.strided:
            layout = A.layout
            coo = A.to_sparse_coo().coalesce()
            idx, val = coo.indices(), coo.values()
            keep = idx[0] != idx[1]
            out = torch.sparse_coo_tensor(idx[:, keep], val[keep], A.shape,
                                          check_invariants=True).coalesce()
            return out.to_sparse_csr() if layout == torch.sparse_csr else out
        return A * (1 - torch.eye(A.shape[0], dtype=A.dtype, device=A.device))
    A = np.array(A, dtype=np.float64 if A.dtype.kind != "f" else A.dtype)
    np.fill_diagonal(A, 0)
    return A


def _all_finite(x: Any) -> bool:
    """Whether every entry of a numpy array or torch tensor is finite."""
    if isinstance(x, torch.Tensor):
        return bool(torch.isfinite(x).all())
    return bool(np.isfinite(np.asarray(x)).all())
