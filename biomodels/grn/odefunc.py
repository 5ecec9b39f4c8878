"""The PHOENIX vector field: an interpretable neural ODE of gene expression.

dy/dt = ReLU(g) * (f(y) - y) over G genes with expression scaled to [0, 1]; f(y) sums an
additive (Hill-like) branch and a multiplicative (AND-like) branch. Pure torch, no AnnData.

References
----------
Hossain, Fanfani, Fischer, Quackenbush, Burkholz. "Biologically informed NeuralODEs for
genome-wide regulatory dynamics" (PHOENIX). Genome Biology 25:127 (2024).
Hossain, Fischer, Burkholz, Quackenbush. "Pruning neural network models for gene regulatory
dynamics using data and domain knowledge" (DASH). NeurIPS 2024, arXiv:2403.04805.
"""

from __future__ import annotations

import math
import numbers
from typing import Literal

import torch
from torch import nn

__all__ = ["PhoenixODEFunc", "shifted_softsign", "PRUNABLE"]

#: Names of the four weight matrices that DASH prunes (keys of ``named_parameters()``).
PRUNABLE: tuple[str, ...] = (
    "sum_in.weight",
    "prod_in.weight",
    "sum_out.weight",
    "prod_out.weight",
)


def _check_float_dtype(dtype: object, taken: tuple[torch.dtype, ...]) -> None:
    """Refuse a ``dtype`` that is not a floating torch dtype, saying which ones are taken.

    A name (``"float64"``) or a numpy type (``np.float32``) is not a ``torch.dtype``, so it
    is a TypeError, as an integer or complex torch dtype has always been here; the message
    lists ``taken`` and, for a name or numpy type of one of them, the torch dtype meant
    (it said only "expected a floating torch dtype").

    Parameters
    ----------
    dtype
        The argument.
    taken
        The floating dtypes the caller takes, named in the message.

    Raises
    ------
    TypeError
        If ``dtype`` is not a real floating ``torch.dtype``.
    """
    if isinstance(dtype, torch.dtype) and dtype.is_floating_point and not dtype.is_complex:
        return
    names = [str(t) for t in taken]
    listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
    hint = ""
    if not isinstance(dtype, torch.dtype) and dtype is not None:
        import numpy as np

        name = None
        if isinstance(dtype, str) and isinstance(getattr(torch, dtype, None), torch.dtype):
            name = dtype  # "bfloat16", which numpy does not know
        else:
            try:
                name = np.dtype(dtype).name  # "float64", np.float32, np.dtype("f8"), float
            except Exception:  # anything numpy cannot read as a dtype: no hint
                pass
        meant = getattr(torch, name, None) if name else None
        if meant in taken:
            hint = f": pass {meant}"
    raise TypeError(f"dtype: expected a floating torch dtype ({listed}), got {dtype!r}{hint}")


def shifted_softsign(y: torch.Tensor) -> torch.Tensor:
    """Shifted softsign ``(y - 0.5) / (1 + |y - 0.5|)``, elementwise, in (-1, 1).

    Parameters
    ----------
    y
        Expression values (expected in [0, 1], any real value is allowed).

    Returns
    -------
    torch.Tensor
        Same shape, dtype and device as ``y``.
    """
    z = y - 0.5
    return z / (1.0 + z.abs())


class PhoenixODEFunc(nn.Module):
    r"""PHOENIX/DASH vector field ``dy/dt = ReLU(g) * (f(y) - y)``.

    ``f(y) = C_sum (W_sum s(y) + b_sum) + C_prod exp(W_prod log1p(s(y)) + b_prod)`` with
    ``s`` the shifted softsign, ``W_*`` of shape (h, G) (``sum_in``/``prod_in``), ``C_*`` of
    shape (G, h) without bias (``sum_out``/``prod_out``) and ``g`` the per-gene rate
    (``gene_rates``).

    Parameters
    ----------
    n_genes
        Number of genes G.
    n_hidden
        Hidden units h per branch.
    init
        ``"dash"``: branch inputs sparse (95 % zeros, std 0.05), combine layers orthogonal
        with the sigmoid gain (DASH's ``PHX_base_model.py``); ``"phoenix"``: all four weight
        matrices sparse (95 % zeros, std 0.05). Each weight is zero with probability 0.95;
        torch's ``sparse_``, which the papers' code calls, zeroes exactly ``ceil(0.95 h)``
        per column instead, i.e. every input when ``h < 20``.
    dtype, device
        Of the parameters (float32 on the CPU by default).
    generator
        Optional torch generator for a reproducible initialisation (on the CPU); None
        draws from torch's global generator.

    Examples
    --------
    >>> func = PhoenixODEFunc(5, 8, generator=torch.Generator().manual_seed(0))
    >>> func(torch.tensor(0.0), torch.rand(3, 5)).shape
    torch.Size([3, 5])
    >>> func.effects().shape  # rows = regulators, columns = targets
    torch.Size([5, 5])
    """

    def __init__(
        self,
        n_genes: int,
        n_hidden: int = 16,
        *,
        init: Literal["dash", "phoenix"] = "dash",
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("n_genes", n_genes), ("n_hidden", n_hidden)):
            # numbers.Integral: a numpy count (np.int64 from a sum or a shape) was refused
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        n_genes, n_hidden = int(n_genes), int(n_hidden)
        if init not in ("dash", "phoenix"):
            raise ValueError(f"init must be 'dash' or 'phoenix', got {init!r}")
        # as GRNModel: torch.int64 failed in torch with "Only Tensors of floating point and
        # complex dtype can require gradients", naming no argument
        if dtype is not None:
            _check_float_dtype(dtype, (torch.float32, torch.float64, torch.bfloat16,
                                       torch.float16))
        # skip_init needs a device; torch.empty's is the default one (torch >= 2.2)
        device = torch.empty(0).device if device is None else device
        kw = {"dtype": dtype, "device": device}
        self.n_genes = n_genes
        self.n_hidden = n_hidden
        # skip_init: nn.Linear's own initialisation draws from the global generator (a
        # seeded model moved the caller's torch RNG); reset_parameters sets every weight
        self.sum_in = nn.utils.skip_init(nn.Linear, n_genes, n_hidden, **kw)
        self.prod_in = nn.utils.skip_init(nn.Linear, n_genes, n_hidden, **kw)
        self.sum_out = nn.utils.skip_init(nn.Linear, n_hidden, n_genes, bias=False, **kw)
        self.prod_out = nn.utils.skip_init(nn.Linear, n_hidden, n_genes, bias=False, **kw)
        self.gene_rates = nn.Parameter(torch.empty(n_genes, **kw))
        self.reset_parameters(init=init, generator=generator)

    @torch.no_grad()
    def reset_parameters(
        self,
        *,
        init: Literal["dash", "phoenix"] = "dash",
        generator: torch.Generator | None = None,
    ) -> None:
        """Re-initialise all parameters (see the class docstring for the schemes).

        Parameters
        ----------
        init
            ``"dash"`` or ``"phoenix"``.
        generator
            Optional CPU generator; None draws from torch's global generator.
        """

        # drawn in float32 whatever torch's default dtype: a float64 default drew other
        # numbers from the same seed, so a notebook with set_default_dtype(torch.float64)
        # got another initialisation, and another fit, from seed and dtype alike
        def rand(shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
            return torch.rand(shape, generator=generator, dtype=torch.float32).to(like)

        def randn(shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
            return torch.randn(shape, generator=generator, dtype=torch.float32).to(like)

        def sparse_(w: torch.Tensor) -> None:
            # each weight is zero with probability 0.95 (PHOENIX/DASH call torch's sparse_,
            # which zeroes exactly ceil(95 % of h) rows per column: every input of a layer
            # with fewer than 20 hidden units, e.g. h = 11 on krumsiek11)
            keep = rand(tuple(w.shape), w) >= 0.95
            w.copy_(randn(tuple(w.shape), w) * 0.05 * keep)

        def orthogonal_(w: torch.Tensor, gain: float) -> None:
            rows, cols = w.shape
            a = randn((max(rows, cols), min(rows, cols)), w).to(torch.float64)
            q, r = torch.linalg.qr(a)
            q = q * torch.sign(torch.diagonal(r))
            q = q if rows >= cols else q.T
            w.copy_((gain * q).to(w))

        sparse_(self.sum_in.weight)
        sparse_(self.prod_in.weight)
        for b in (self.sum_in.bias, self.prod_in.bias):
            bound = 1.0 / math.sqrt(self.n_genes)
            b.copy_((rand(tuple(b.shape), b) * 2 - 1) * bound)
        if init == "dash":
            gain = 1.0  # torch.nn.init.calculate_gain("sigmoid") == 1
            orthogonal_(self.sum_out.weight, gain)
            orthogonal_(self.prod_out.weight, gain)
        else:
            sparse_(self.sum_out.weight)
            sparse_(self.prod_out.weight)
        self.gene_rates.copy_(rand((self.n_genes,), self.gene_rates))

    def production(self, y: torch.Tensor) -> torch.Tensor:
        """Production term ``f(y)`` (without rates and degradation).

        Parameters
        ----------
        y
            (..., G) expression scaled to [0, 1].

        Returns
        -------
        torch.Tensor
            ``f(y)``, the shape of ``y``.
        """
        s = shifted_softsign(y)
        u = self.sum_in(s)
        v = torch.exp(self.prod_in(torch.log1p(s)))
        return self.sum_out(u) + self.prod_out(v)

    def forward(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Vector field ``dy/dt = ReLU(g) * (f(y) - y)`` at ``y``.

        Parameters
        ----------
        t
            Time (ignored: the field is autonomous; torchdiffeq passes it).
        y
            (..., G) expression scaled to [0, 1].

        Returns
        -------
        torch.Tensor
            ``dy/dt``, the shape of ``y``.
        """
        return torch.relu(self.gene_rates) * (self.production(y) - y)

    def effects(self) -> torch.Tensor:
        """Signed G x G network read-out, rows = regulators, columns = targets.

        ``E = W_sum^T C_sum^T + W_prod^T C_prod^T`` with column j scaled by ``ReLU(g_j)``
        (DASH ``extract_model_matrix.py``). Pruned weights are zero, so an entry is exactly
        zero when no unpruned path links the regulator to the target.

        Returns
        -------
        torch.Tensor
            Detached, same dtype and device as the parameters.
        """
        with torch.no_grad():
            e = self.sum_in.weight.T @ self.sum_out.weight.T
            e = e + self.prod_in.weight.T @ self.prod_out.weight.T
            return e * torch.relu(self.gene_rates)[None, :]
