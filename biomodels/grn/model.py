"""``GRNModel``: a PHOENIX/DASH gene-regulatory neural ODE fitted on an AnnData.

The scvi-tools-style wrapper around the pure-torch pieces: :class:`PhoenixODEFunc` (the
equations), :func:`biomodels.grn.train.fit` (the loop) and :class:`DashPruner` (pruning).
It owns the AnnData plumbing (layers, time and trajectory keys, per-gene scaling, priors),
the getters (:meth:`GRNModel.network`, :meth:`GRNModel.predict`, :meth:`GRNModel.simulate`)
and ``save``/``load``.

References
----------
Hossain et al. "Biologically informed NeuralODEs for genome-wide regulatory dynamics"
(PHOENIX). Genome Biology 25:127 (2024).
Hossain, Fischer, Burkholz, Quackenbush. "Pruning neural network models for gene regulatory
dynamics using data and domain knowledge" (DASH). NeurIPS 2024, arXiv:2403.04805.
"""

from __future__ import annotations

import copy
import math
import numbers
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from biomodels._stacklevel import user_stacklevel
from biomodels.grn.checkpoint import plain
from biomodels.grn.dash import DashPruner, PruningSchedule
from biomodels.grn.datasets import _one_state, _perturb_dict, _perturb_values, _states_by_name
from biomodels.grn.odefunc import PRUNABLE, PhoenixODEFunc, _check_float_dtype
from biomodels.grn.train import (
    _ADAPTIVE,
    _FIXED,
    Pairs,
    SolverDivergedError,
    _check_tolerances,
    _holds_out_trajectories,
    _kept_epoch,
    evaluate_loss,
    fit,
    integrate,
    make_pairs,
    no_change_mse,
    pair_index,
    prior_loss,
    solve,
    split_pairs,
)
from core.checks import (
    NotFittedError,
    check_count,
    check_device,
    check_h5ad_key,
    check_number,
    check_seed,
    host_array,
    refuse_meta,
)
from core.fingerprint import fingerprint
from core.grad_mode import with_grad, without_autocast

__all__ = ["GRNModel"]

Pruning = Literal["dash", "imp", "prior", "none", "l1"]
_FORMAT = "prunus.grn/1"
#: What every file of that format holds (:meth:`GRNModel.save`); ``fit_summary``,
#: ``pruner`` and ``fit_info`` came later and have defaults.
_SAVED_FIELDS = ("state_dict", "genes", "n_hidden", "init", "offset", "scale", "time_scale",
                 "time_key", "trajectory_key", "layer", "seed", "prior", "ppi", "history",
                 "settings", "dtype")
#: The dtypes a saved model may name (the constructor's floating dtypes; float16 models,
#: refused since they cannot be trained, were saved by earlier versions and read out).
_SAVED_DTYPES = ("bfloat16", "float16", "float32", "float64")
#: The weights of :class:`PhoenixODEFunc` by their dimensions (G genes, h hidden units), in
#: the order :meth:`GRNModel.load` checks them: the gene rates name a wrong gene count first.
_WEIGHT_DIMS: dict[str, tuple[str, ...]] = {
    "gene_rates": ("G",), "sum_in.weight": ("h", "G"), "sum_in.bias": ("h",),
    "prod_in.weight": ("h", "G"), "prod_in.bias": ("h",), "sum_out.weight": ("G", "h"),
    "prod_out.weight": ("G", "h"),
}
#: Largest fixed solver step (scaled time) that :meth:`GRNModel.train` takes without a
#: warning, and the longest RK4 step of ``prunus grn fit``. RK4 on dy/dt = -g y is stable
#: for g h < 2.78, and the learnt rates relu(g) grow in training: under dopri5 they reached
#: 6.5-9.3 on krumsiek11 (60 epochs, seeds 0-3), 5.0-7.6 on krumsiek11 with a dpt pseudotime
#: and 6.9 by epoch 20 (14-17 by 60) on a pbmc68k dpt lineage, so 0.2 keeps rates up to 13.9
#: stable; steps of 2 (the rule before) held only rates below 1.4, which the first epochs
#: already reach (1.3-1.5 there), and the dpt lineage diverged.
_STABLE_STEP = 0.2
#: Most fixed steps that :meth:`GRNModel.simulate` takes over its output times: RK4 on a
#: krumsiek11 fit took 2.3 s for 5,670 steps, so 10^7 take about an hour.
_MAX_GRID_STEPS = 10_000_000
#: Values gathered per block when the training pairs are built (64 MB of float64).
_GATHER_BLOCK = 1 << 23
#: Pairs per solve when :attr:`GRNModel.fit_summary` is measured (``evaluate_loss``'s
#: default): the per-gene errors are solved in the same batches as the pooled one, so that
#: dopri5 takes the same steps for both.
_EVAL_BATCH = 1024


def _dense(x: Any) -> np.ndarray:
    """Return dense, scipy sparse, backed (on-disk) or torch expression as a float64 array."""
    from anndata import AnnData

    x = host_array(x)
    if isinstance(x, AnnData):  # its to_memory() is an AnnData again, then a numpy error
        raise TypeError("expected an expression matrix (adata.X, adata.layers[key] or "
                        "adata.to_df()), got an AnnData")
    if hasattr(x, "to_memory"):  # anndata's backed sparse dataset
        x = x.to_memory()
    if hasattr(x, "toarray"):
        # float64 before densifying: a float32 dense copy on the way doubled the peak
        x = (x.astype(np.float64) if hasattr(x, "astype") else x).toarray()
    return np.asarray(x, dtype=np.float64)


def _layer_names(adata: Any) -> list[str]:
    """Return the named layers of ``adata``, sorted (anndata 0.13 also lists ``None``: X)."""
    return sorted(str(k) for k in adata.layers.keys() if k is not None)


def _check_anndata(adata: Any) -> None:
    """Raise a TypeError naming ``adata`` unless it is an AnnData."""
    from anndata import AnnData

    # write_results and load failed on anything else with "... has no attribute 'var_names'"
    if not isinstance(adata, AnnData):
        raise TypeError(f"adata must be an AnnData, got {type(adata).__name__}")


def _read_prior(
    prior: pd.DataFrame | np.ndarray | str | os.PathLike[str] | None,
    adata: Any,
    genes: pd.Index,
    name: str,
    symbols: _Symbols | None = None,
) -> pd.DataFrame | None:
    """Read a prior, PPI or truth over ``genes``; a table or file in ``symbols`` translated.

    ``symbols`` (a model's :class:`_Symbols`, when built with ``gene_symbols``): the labels
    of a DataFrame, CSV or edge list that are gene symbols are read as the genes they name
    (see :func:`_align_with_symbols`); arrays and ``varp`` keys follow ``var_names``.
    """
    from biomodels.grn.prior import align_prior

    if prior is None:
        return None
    complete = name == "truth"  # a gene missing from a truth would count as edgeless
    if isinstance(prior, str) and adata is not None and prior in adata.varp:
        if not Path(prior).is_file():
            return align_prior(_dense(adata.varp[prior]), genes, name=name, complete=complete)
        # a file of that name wins, as on the command line (`prunus grn fit --prior x`);
        # the varp key won here, so one name gave two networks
        warnings.warn(
            f"{name}={prior!r} names both a file and a key of adata.varp; the file is read "
            f"(as `prunus grn fit` does). For the varp matrix pass {name}="
            f"adata.varp[{prior!r}]; to silence this, pass the file as "
            f"pathlib.Path({prior!r})", UserWarning, stacklevel=user_stacklevel())
    if isinstance(prior, str | os.PathLike):
        if not Path(prior).is_file():
            keys = "no data" if adata is None else sorted(adata.varp.keys())
            raise ValueError(
                f"{name}={str(prior)!r} is neither a key of adata.varp "
                f"({keys}) nor an existing CSV file"
            )
        if symbols is not None and symbols.labels:
            return _align_with_symbols(Path(prior), genes, name, complete, symbols)
        return align_prior(Path(prior), genes, name=name, complete=complete)
    if symbols is not None and symbols.labels and isinstance(prior, pd.DataFrame):
        return _align_with_symbols(prior, genes, name, complete, symbols)
    return align_prior(prior, genes, name=name, complete=complete)


class _Symbols:
    """The gene symbols of a model's genes, kept in an ``adata.var`` column (``key``).

    ``values``: one per gene, in the model's order, None for a gene without one (missing
    or empty in the column). ``labels``: each symbol that is not a ``var_name`` (a label
    that is one names that gene) with the positions of the genes it names, in the order
    of first appearance; a symbol shared by several genes names each of them.
    """

    def __init__(self, key: str, values: Sequence[str | None], genes: pd.Index) -> None:
        self.key = key
        self.values = [None if v is None or v == "" else str(v) for v in values]
        self.genes = [str(g) for g in genes]
        names = set(self.genes)
        self.labels: dict[str, list[int]] = {}
        for i, symbol in enumerate(self.values):
            if symbol is not None and symbol not in names:
                self.labels.setdefault(symbol, []).append(i)

    @classmethod
    def from_var(cls, adata: Any, key: Any, genes: pd.Index) -> _Symbols:
        """Read ``adata.var[key]``; a TypeError or ValueError names ``gene_symbols``."""
        if not isinstance(key, str):
            raise TypeError(f"gene_symbols must be the name (str) of a column of adata.var "
                            f"holding the genes' symbols, or None; got {key!r}")
        if key not in adata.var.columns:
            raise ValueError(f"gene_symbols={key!r} is not a column of adata.var "
                             f"({[str(c) for c in adata.var.columns]})")
        column = adata.var[key]
        return cls(key, [None if pd.isna(v) else str(v).strip() for v in column], genes)

    def or_names(self) -> list[str]:
        """Each gene's symbol, or its var_name where it has none."""
        return [g if v is None else v for g, v in zip(self.genes, self.values)]

    def unique(self) -> list[str]:
        """:meth:`or_names` made unique as scanpy's ``var_names_make_unique`` does it.

        A symbol's second gene is ``SYM-1``, its third ``SYM-2`` (skipping a label taken).
        """
        base = self.or_names()
        taken = set(base)
        out: list[str] = []
        seen: dict[str, int] = {}
        for label in base:
            if label in seen:
                k = seen[label]
                while f"{label}-{k + 1}" in taken:
                    k += 1
                seen[label] = k + 1
                label = f"{label}-{k + 1}"
                taken.add(label)
            else:
                seen[label] = 0
            out.append(label)
        return out


def _align_with_symbols(prior: pd.DataFrame | Path, genes: pd.Index, name: str,
                        complete: bool, symbols: _Symbols) -> pd.DataFrame:
    """Align a table or file whose labels are var_names or gene symbols to ``genes``.

    :func:`~biomodels.grn.align_prior` reads it over the var_names and the symbols that
    are no var_name (so any form it reads is read as it is, and labels that are neither
    are dropped with its warning), then each symbol's rows and columns are added to those
    of the genes it names: ``M = T^T M_ext T`` with ``T`` the label x gene map. A symbol
    shared by several genes gives its edges to each, with a warning naming it.
    """
    import scipy.sparse as sp

    from biomodels.grn.prior import align_prior

    labels = list(symbols.labels)
    extended = genes.append(pd.Index(labels))
    # complete is checked below, over var_names and symbols together
    wide = align_prior(prior, extended, name=name, complete=False).to_numpy()
    n = len(genes)
    rows = list(range(n)) + [n + k for k, s in enumerate(labels) for _ in symbols.labels[s]]
    cols = list(range(n)) + [g for s in labels for g in symbols.labels[s]]
    onto = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(extended), n))
    values = np.asarray((onto.T @ (onto.T @ wide).T).T)  # T^T M_ext T, genes x genes
    # a pair named once by var_name and once by symbol was summed (+1 and -1 cancelled
    # silently, +1 twice gave 2): averaged, as align_prior averages a repeated pair
    named_by = (wide != 0).astype(float)
    counts = np.asarray((onto.T @ (onto.T @ named_by).T).T)
    repeated = np.argwhere(counts > 1)
    if len(repeated):
        values = np.where(counts > 1, values / np.maximum(counts, 1), values)
        pairs = ", ".join(f"{genes[i]} -> {genes[j]}" for i, j in repeated[:5])
        warnings.warn(
            f"{len(repeated)} regulator-target pair(s) of the {name} are named more than "
            f"once, by var_name and by symbol (adata.var[{symbols.key!r}]); their weights "
            f"are averaged: {pairs}{' ...' if len(repeated) > 5 else ''}",
            UserWarning, stacklevel=user_stacklevel())
    shared = [s for k, s in enumerate(labels) if len(symbols.labels[s]) > 1
              and (wide[n + k].any() or wide[:, n + k].any())]
    if shared:
        named = "; ".join(f"{s!r}: {[str(genes[g]) for g in symbols.labels[s]]}"
                          for s in shared[:10]) + (" ..." if len(shared) > 10 else "")
        warnings.warn(
            f"{len(shared)} gene symbol(s) of the {name} name several genes of the data "
            f"(adata.var[{symbols.key!r}]), and their edges are given to each: {named}",
            UserWarning, stacklevel=user_stacklevel())
    if complete and isinstance(prior, pd.DataFrame):
        # a matrix names its genes in its labels (an edge list only those with edges, and
        # align_prior gives the others none); a matrix file's labels are not seen here
        given = {str(g) for g in prior.index}
        if given == {str(g) for g in prior.columns}:
            absent = [str(g) for g, sym in zip(genes, symbols.values)
                      if g not in given and (sym is None or sym not in given)]
            if absent:
                raise ValueError(
                    f"{name} must name every data gene (by var_names or by the symbols in "
                    f"adata.var[{symbols.key!r}]): missing from the {name} {absent[:20]}")
    return pd.DataFrame(values, index=genes.copy(), columns=genes.copy())


#: Share of the pairs of distinct genes from which a prior is (nearly) complete: it then
#: marks (almost) no pair as a non-edge. Curated priors name a few per cent of the pairs
#: (krumsiek11's network 24 %); an earlier run's edges.csv names all of them.
_COMPLETE_PRIOR_SHARE = 0.9
#: Fewer genes than this may well regulate each other all (a toggle switch, a 3-gene
#: feedback loop), and two edges per gene would keep them all: no warning
_COMPLETE_PRIOR_MIN_GENES = 5


def _warn_on_complete_prior(prior: pd.DataFrame) -> None:
    """Warn when ``prior`` names (nearly) every pair of distinct genes, saying how to cut it.

    README offers an earlier run's ``edges.csv`` as a prior, and that file lists every pair
    with a non-zero effect, however small (4.6e-4 on krumsiek11): such a prior named all 110
    pairs of 11 genes and nothing said so. Self-loops are not counted.
    """
    n_genes = prior.shape[0]
    pairs = n_genes * (n_genes - 1)
    values = prior.to_numpy()
    named = int(np.count_nonzero(values)) - int(np.count_nonzero(np.diagonal(values)))
    if n_genes < _COMPLETE_PRIOR_MIN_GENES or named < _COMPLETE_PRIOR_SHARE * pairs:
        return
    top = 2 * n_genes  # about two regulators per gene, as in SIM350 and krumsiek11
    warnings.warn(
        f"the prior names {named} of the {pairs} pairs of distinct genes ({named / pairs:.0%}), "
        "so it marks (almost) no pair as a non-edge: DASH's prior term then ranks pairs by "
        "the prior's magnitudes alone, and the prior's edge counts (prior_true_edges, "
        "prior_false_edges) count nearly every pair. An earlier run's edges.csv lists every "
        "pair with a non-zero effect, however small: keep its strongest edges first, e.g. "
        f"about two per gene with prior=pd.read_csv(path).head({top}) (the file lists them "
        f"strongest first), or in a shell head -n {top + 1} edges.csv > prior.csv",
        UserWarning, stacklevel=user_stacklevel())


def _text_time_advice(tcol: pd.Series, key: str) -> tuple[str, str]:
    """Describe a text time column and a conversion to numbers that works on it.

    Returns what the column holds (dtype and a few values) and one Python statement that
    turns it into times: ``astype(float)`` only suits numbers written as text ("2"); for
    labels such as "day2" or "E14.5" pandas refuses it, so those get the number in them,
    dates their hours since the first, and words a mapping of each label to its time.
    """
    values = [str(v) for v in pd.unique(tcol.dropna())]
    what = f"dtype {tcol.dtype} with values {values[:4]}"
    col = f"adata.obs[{key!r}]"
    text = pd.Series(values, dtype=object)
    if not values or pd.to_numeric(text, errors="coerce").notna().all():
        return what, f"{col} = {col}.astype(float)"
    if pd.to_datetime(text, errors="coerce", format="mixed").notna().all():
        # format="mixed", as tested above: pandas otherwise infers one format from the
        # first value and refused "2024-01-01 12:00" after "2024-01-01"
        return what, (f"{col} = pd.to_datetime({col}.astype(str), format='mixed').pipe("
                      "lambda t: (t - t.min()) / pd.Timedelta(hours=1))")
    if text.str.fullmatch(r"\s*-?\d+(,\d+)?\s*").all():
        # decimal commas ("1,5", as European spreadsheets write 1.5): the number-in-the-label
        # advice below read "1,5" as 1
        return what, f"{col} = {col}.astype(str).str.replace(',', '.').astype(float)"
    if text.str.contains(r"\d").all():  # "day2", "E14.5": the number in each label
        return what, (f"{col} = {col}.astype(str).str.extract(r\"(-?\\d+\\.?\\d*)\", "
                      "expand=False).astype(float)")
    mapping = ", ".join(f"{v!r}: {i}" for i, v in enumerate(values[:3]))
    return what, f"{col} = {col}.map({{{mapping}, ...}}).astype(float)"


_RANKED_BY = ("per-target score |E_ij| / sum_i |E_ij| (network(normalize='target')); "
              "the stored network holds the signed effects E")


class GRNModel:
    """Gene-regulatory neural ODE (PHOENIX) on AnnData, pruned with DASH.

    ``dy/dt = ReLU(g) * (f(y) - y)`` on expression scaled to [0, 1] per gene, fitted on
    one-step-ahead pairs of consecutive observations within each trajectory. The inferred
    network is the signed G x G read-out ``W_sum^T C_sum^T + W_prod^T C_prod^T`` scaled per
    target by ``ReLU(g)`` (rows = regulators, columns = targets). PHOENIX's scripts scale
    all genes by one factor instead (simulated data as they are, breast cancer data / 15),
    so here a gene of small range has its noise stretched to [0, 1] like its signal.

    Parameters
    ----------
    adata
        Cells x genes. Not modified by the constructor; kept, not copied, as
        :attr:`adata` (the default target of :meth:`write_results`). To fit some genes
        (highly variable genes, TFs), pass ``adata[:, mask]``: :meth:`write_results`
        writes the network into the full AnnData by gene name.
    time_key
        Numeric ``adata.obs`` column with (pseudo)time.
    trajectory_key
        Optional ``adata.obs`` column naming the trajectory of each cell (pairs are only
        formed within a trajectory); all cells form one trajectory when None.
    layer
        Use ``adata.layers[layer]`` instead of ``adata.X`` (dense or sparse).
        ``adata.raw`` is never read: for counts kept there, pass ``adata.raw.to_adata()``.
    prior
        Gene x gene prior (rows = regulators, columns = targets, signed): a DataFrame, a
        CSV path, an array in ``var_names`` order, or the name of an ``adata.varp`` key (a
        ``str`` that names both an existing file and a key reads the file, with a warning,
        as ``prunus grn fit --prior`` does; a ``pathlib.Path`` is always a file). A
        long edge table (a DataFrame or CSV with e.g. ``source``, ``target``, ``weight``
        columns) is read by :func:`~biomodels.grn.prior_from_edges`; see
        :func:`~biomodels.grn.align_prior` for the forms and names recognised.
        Prior genes missing from the data are dropped with a warning; data genes missing
        from the prior get zero rows and columns. A prior that names 90 % or more of the
        pairs of distinct genes marks no pair as a non-edge and is warned about: an
        earlier run's ``edges.csv`` lists every pair with a non-zero effect, so keep its
        strongest edges first (``pd.read_csv(path).head(2 * n_genes)``; it lists them
        strongest first).
    ppi
        Optional gene x gene co-regulation / PPI matrix for DASH (same forms as ``prior``).
    gene_symbols
        Column of ``adata.var`` holding the genes' symbols, as scanpy's ``gene_symbols=``
        (10x data are keyed by Ensembl IDs, while DoRothEA, CollecTRI and TRRUST name
        genes by symbol). A ``prior``, ``ppi`` or truth (:meth:`evaluate`,
        :meth:`write_results`) given as a DataFrame, CSV or edge list may then name genes
        by symbol or by ``var_names``: a label that is a ``var_name`` names that gene, a
        symbol the genes it is the symbol of (one shared by several genes gives its edges
        to each, with a warning naming it); arrays and ``varp`` keys follow
        ``var_names``. :meth:`simulate`'s ``perturb`` takes symbols too,
        ``network(labels="symbols")`` labels the genes by symbol and :meth:`edges` adds
        ``regulator_symbol`` and ``target_symbol``. A gene whose symbol is missing (NaN
        or empty) is named by its ``var_name`` there. Recorded in :attr:`settings` and
        saved with the model (:meth:`load` restores the symbols). With it, a truth given
        as a matrix file is not checked to name every gene (a DataFrame is).
    n_hidden
        Hidden units per branch (DASH's simulations: 40).
    init
        Weight initialisation, ``"dash"`` or ``"phoenix"`` (see :class:`PhoenixODEFunc`).
    time_scale
        Factor applied to times before fitting; ``"auto"`` chooses it so that the scaled
        data change by 0.5 per time unit on average (mean absolute change per gene between
        consecutive observations, summed over the pairs, over their summed time gaps),
        which puts the rates ``g`` near 1 whatever unit the times are in (steps, hours,
        pseudotime).
    dtype
        Torch dtype of the model (float32 is enough for fitting; use float64 for checks).
        :meth:`train`, :meth:`simulate` and :meth:`network` compute in it also inside a
        caller's ``torch.autocast``, which they turn off.
        float16 is refused (ValueError): its range is too narrow for Adam's updates, which
        make the weights infinite at the first step; bfloat16 has float32's range and
        trains. A name or numpy type (``"float64"``, ``np.float64``) is not a torch dtype
        (TypeError, naming the torch dtype meant, ``torch.float64``).
    device
        Torch device.
    seed
        Seed of the initialisation, the validation split and the batch order.

    Examples
    --------
    >>> from biomodels.grn import datasets
    >>> adata = datasets.krumsiek11()
    >>> model = GRNModel(adata, time_key="time", trajectory_key="trajectory", n_hidden=8)
    >>> history = model.train(epochs=2, pruning="none")
    >>> model.network().shape
    (11, 11)
    """

    #: Defaults for models unpickled from versions before ``gene_symbols``
    gene_symbols: str | None = None
    _symbols: _Symbols | None = None

    def __init__(
        self,
        adata: Any,
        *,
        time_key: str = "time",
        trajectory_key: str | None = None,
        layer: str | None = None,
        prior: pd.DataFrame | np.ndarray | str | os.PathLike[str] | None = None,
        ppi: pd.DataFrame | np.ndarray | str | os.PathLike[str] | None = None,
        gene_symbols: str | None = None,
        n_hidden: int = 40,
        init: Literal["dash", "phoenix"] = "dash",
        time_scale: float | Literal["auto"] = "auto",
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
        seed: int = 0,
    ) -> None:
        _check_anndata(adata)
        if adata.n_obs < 2 or adata.n_vars < 1:
            raise ValueError(f"adata must have >= 2 cells and >= 1 gene, got {adata.shape}")
        genes = pd.Index([str(g) for g in adata.var_names])
        if genes.has_duplicates:
            dup = genes[genes.duplicated()].unique().tolist()[:5]
            raise ValueError(f"adata.var_names has duplicated genes: {dup}; make them unique "
                             "first, adata.var_names_make_unique()")
        # expression
        if layer is not None:
            if layer not in adata.layers:
                raise ValueError(f"layer={layer!r} is not in adata.layers "
                                 f"({_layer_names(adata)})")
            raw = adata.layers[layer]
            where = f"adata.layers[{layer!r}]"
        else:
            raw = adata.X
            where = "adata.X"
            if raw is None:
                raise ValueError(f"adata.X is None; pass layer= (one of {_layer_names(adata)})")
        x = _dense(raw)
        bad = ~np.isfinite(x)
        if bad.any():
            cols = genes[bad.any(axis=0)].tolist()[:5]
            raise ValueError(
                f"{where} has {int(bad.sum())} NaN or infinite values (genes {cols}); "
                "impute or drop them first"
            )
        del bad  # cells x genes; memory counts at 50k cells
        # time
        if not isinstance(time_key, str):
            raise TypeError(f"time_key must be the name (str) of a column of adata.obs, got "
                            f"{time_key!r}")
        if time_key not in adata.obs:
            raise ValueError(f"time_key={time_key!r} is not a column of adata.obs "
                             f"({list(adata.obs.columns)})")
        tcol = adata.obs[time_key]
        if isinstance(tcol.dtype, pd.CategoricalDtype) and pd.api.types.is_numeric_dtype(
                tcol.cat.categories) and not pd.api.types.is_bool_dtype(tcol.cat.categories):
            # numeric time points stored as categories (scanpy), as float: with the
            # categories' int dtype a missing cell failed as "Cannot convert float NaN to
            # integer", naming no key
            tcol = tcol.astype(np.float64)
        if not pd.api.types.is_numeric_dtype(tcol) or pd.api.types.is_bool_dtype(tcol) \
                or pd.api.types.is_complex_dtype(tcol):  # complex lost its imaginary part
            # astype(float), the usual advice, fails on dates and durations
            how = ("(t - t.min()) / pd.Timedelta(hours=1) with t = adata.obs[key], in hours"
                   if tcol.dtype.kind in "mM" else "adata.obs[key].astype(float)")
            what = f"dtype {tcol.dtype}"
            if not pd.api.types.is_bool_dtype(tcol) and not pd.api.types.is_complex_dtype(
                    tcol) and tcol.dtype.kind not in "mM":
                what, how = _text_time_advice(tcol, time_key)
            raise ValueError(f"adata.obs[{time_key!r}] must be real numbers, got {what} "
                             f"(convert it, e.g. {how})")
        times = np.array(tcol, dtype=np.float64)  # a writable copy
        bad = ~np.isfinite(times)
        if bad.any():
            # sc.tl.dpt gives inf to the cells it cannot reach from its root: say how many
            # and how to leave them out
            raise ValueError(
                f"adata.obs[{time_key!r}] has NaN or infinite values in {int(bad.sum())} of "
                f"{len(times)} cells (e.g. {list(adata.obs_names[bad][:3])}); leave them "
                f"out, adata = adata[np.isfinite(adata.obs[{time_key!r}].astype(float))]"
                ".copy() (sc.tl.dpt gives inf to cells it cannot reach from its root)")
        # trajectories
        if trajectory_key is not None:
            if not isinstance(trajectory_key, str):  # a list failed as "unhashable type"
                raise TypeError(f"trajectory_key must be the name (str) of a column of "
                                f"adata.obs or None, got {trajectory_key!r}")
            if trajectory_key not in adata.obs:
                raise ValueError(f"trajectory_key={trajectory_key!r} is not a column of "
                                 f"adata.obs ({list(adata.obs.columns)})")
            labels = adata.obs[trajectory_key]
            missing = labels.isna().to_numpy()
            if missing.any():  # say how many, and how to leave them out (as for the times)
                raise ValueError(
                    f"adata.obs[{trajectory_key!r}] has missing values in "
                    f"{int(missing.sum())} of {len(missing)} cells (e.g. "
                    f"{list(adata.obs_names[missing][:3])}); leave them out, adata = "
                    f"adata[adata.obs[{trajectory_key!r}].notna()].copy()")
            codes, names = pd.factorize(labels.astype(str), sort=True)
        else:
            codes, names = np.zeros(adata.n_obs, dtype=np.int64), pd.Index(["all"])
        n_times = pd.Series(times).groupby(codes).nunique()
        short = [str(names[i]) for i in n_times.index[n_times.to_numpy() < 2]]
        if short:
            raise ValueError(
                f"trajectories with a single time point cannot form training pairs: "
                f"{short[:10]} (adata.obs[{trajectory_key!r}], time key {time_key!r})"
                if trajectory_key is not None else
                f"adata.obs[{time_key!r}] has a single value, so no training pairs can be "
                "formed (one-step pairs need at least two time points)"
            )
        n_hidden = check_count("n_hidden", n_hidden)  # 2.7 was truncated to 2
        # int64 failed deep in torch's Linear; "float64" and np.float64 are told the torch
        # dtype meant (float16, a torch dtype, is refused just below with its reason)
        _check_float_dtype(dtype, (torch.float32, torch.float64, torch.bfloat16))
        if dtype == torch.float16:
            # it failed only in train(), after retries down to lr 1.2e-6, as "non-finite loss
            # ... try a lower learning rate" (dopri5: "underflow in dt 0.0")
            raise ValueError(
                "dtype=torch.float16 cannot be trained: Adam's eps (1e-8) is 0 in float16, "
                "and so are the squared gradients of its second moment (the gradients are "
                "small: about 1e-6 on krumsiek11), so the first step divides by 0 and "
                "the weights become infinite; use torch.float32 (the default) or "
                "torch.bfloat16 (16 bits with float32's range)")
        seed = check_seed(seed, optional=False, bits=64)  # torch.Generator takes 64 bits
        if init not in ("dash", "phoenix"):
            raise ValueError(f"init must be 'dash' or 'phoenix', got {init!r}")
        # the genes' symbols, read before the priors that may be written in them
        symbols = (None if gene_symbols is None else
                   _Symbols.from_var(adata, gene_symbols, genes))
        # priors (align_prior validates shape and labels)
        prior_df = _read_prior(prior, adata, genes, "prior", symbols)
        if prior_df is not None and not prior_df.to_numpy().any():
            warnings.warn("the prior has no edge between genes of the data, so it carries no "
                          "information: DASH then prunes by the data alone and a soft prior "
                          "pulls the production term to zero", UserWarning,
                          stacklevel=user_stacklevel())
        elif prior_df is not None:
            _warn_on_complete_prior(prior_df)
        ppi_df = _read_prior(ppi, adata, genes, "ppi", symbols)
        # per-gene [0, 1] scaling
        lo, hi = x.min(axis=0), x.max(axis=0)
        span = hi - lo
        const = span <= 0
        if const.any():
            # the first ten and how many in all: the list was cut at ten without a word (as
            # cascade's first_labels shows labels; core has no such helper)
            flat = genes[const].tolist()
            named = [repr(g) for g in flat]
            if symbols is not None:  # by symbol, as the user knows them (var_name after)
                named = [n if v in (None, str(g)) else f"{v!r} ({n})" for g, n, v in
                         zip(flat, named, np.asarray(symbols.values, dtype=object)[const])]
            shown = "[" + ", ".join(named[:10]) + (", ...]" if len(flat) > 10 else "]")
            # as targets they carry no evidence: their incoming edges score 0 (network)
            warnings.warn(
                f"genes with constant expression are kept but carry no signal ({len(flat)} "
                f"of {len(genes)} genes): {shown}; as targets they score 0: their incoming "
                "edges rank last in network(normalize='target'), edges() and evaluate() "
                "(their effects in network() stay as fitted)", UserWarning,
                stacklevel=user_stacklevel())
        span = np.where(const, 1.0, span)
        self.genes = genes
        self.time_key = time_key
        self.trajectory_key = trajectory_key
        self.layer = layer
        self.n_hidden = int(n_hidden)
        self.init = init
        self.dtype = dtype
        self.device = check_device(device)  # torch's own messages named no argument
        self.seed = int(seed)
        self.prior = prior_df
        self.ppi = ppi_df
        #: The ``adata.var`` column of the genes' symbols (``gene_symbols``), or None
        self.gene_symbols = gene_symbols
        self._symbols = symbols
        self.offset = lo
        self.scale = span
        #: Genes constant in the data (one bool per gene): as targets they score 0
        self._constant = const
        # (x - lo) / span with one temporary, not two (x may be the user's own array)
        self._x = np.subtract(x, lo)
        self._x /= span
        del x
        self._times = times
        self._codes = np.asarray(codes, dtype=np.int64)
        self.trajectories = [str(n) for n in names]
        self._adata = adata
        # cells sharing a trajectory and a time are ordered by name, not by row
        self._tiebreak = np.argsort(np.argsort(np.asarray(adata.obs_names, dtype=str),
                                               kind="stable"), kind="stable")
        # pair indices only: gathering both sides of every pair in float64 held two more
        # copies of the data (2 GB at 20k cells x 2k genes besides the data itself)
        first, second = pair_index(times, self._codes, self._tiebreak)
        n_pairs = len(first)
        possible = adata.n_obs - len(names)
        if n_pairs < possible:
            # snapshot data or replicates: cells that share a time point form no pair
            warnings.warn(
                f"only {n_pairs} one-step pairs from {adata.n_obs} cells: "
                f"{possible - n_pairs} cells share a time point (time key {time_key!r}) "
                f"with another cell of their trajectory (trajectory key {trajectory_key!r}), "
                "and of those only one, the last by obs_names, pairs with the next time "
                "point. Give each cell its own pseudotime (e.g. sc.tl.dpt, with a lineage "
                "as trajectory_key), average the cells of each time point, or name the "
                "trajectories with trajectory_key", UserWarning, stacklevel=user_stacklevel())
        _warn_on_distant_pairs(self._x, first, second, time_key, trajectory_key)
        if time_scale == "auto":
            # total change over total time, not the mean of per-pair velocities: with a
            # pseudotime whose gaps vary, cells a hair apart in time (their difference is
            # cell noise) made that mean, and the scaled gaps, huge (random order, 5k cells:
            # largest scaled gap 202, rk4 diverged); equal gaps give the same value
            steps = _mean_abs_steps(self._x, first, second)
            v = float(steps.sum() / torch.as_tensor(times[second] - times[first]).sum())
            self.time_scale = v / 0.5 if v > 0 else 1.0
        else:
            if isinstance(time_scale, bool) or not isinstance(time_scale, numbers.Real) \
                    or not 0 < time_scale < math.inf:  # inf left no training pairs
                raise ValueError(f"time_scale must be 'auto' or a positive finite number, "
                                 f"got {time_scale!r}")
            self.time_scale = float(time_scale)
        self.func = PhoenixODEFunc(
            len(genes), self.n_hidden, init=init, dtype=dtype, device=self.device,
            generator=torch.Generator().manual_seed(self.seed),
        )
        self.history: dict[str, list[float]] = {}
        #: What the last fit was run with (empty before :meth:`train`; the fits before it
        #: are in :attr:`earlier_fits`): every
        #: :meth:`train` argument that changes the result (``epochs``, ``pruning``, ``lr``,
        #: ``patience``, ...; the pruning schedule as ``schedule``, the list
        #: ``[first_epoch, first_fraction, every, fraction]``, and as ``schedule_params``,
        #: the same by name, whose epochs stay integers through h5ad, where the list's
        #: become floats: ``PruningSchedule(**schedule_params)``), the constructor's
        #: (``n_hidden``, ``init``, ``time_scale``,
        #: ``time_key``, ``trajectory_key``, ``layer``, ``seed``, ``dtype``, ``device``),
        #: ``expression`` (``"adata.X"`` or ``"adata.layers['KEY']"``), ``torch_threads``
        #: (another count changes the last digits), ``prior_fingerprint`` and
        #: ``ppi_fingerprint`` (:func:`core.fingerprint` of the aligned matrices; None
        #: without one), and what the fit made of the data (``epochs_run``,
        #: ``n_pairs_train``, ``n_pairs_val``, ``val_split``). Plain Python values, for
        #: JSON; :meth:`write_results` leaves the None values out of ``uns``.
        self.settings: dict[str, Any] = {}
        #: Held-out fit of the trained model: ``mse``, ``no_change_mse`` and ``r2`` (the
        #: fraction of the held-out one-step changes it explains; near 0 means the network
        #: reflects the prior more than the data; training warns below 0.1, and that the
        #: network does not describe the data when it is below 0, worse than predicting no
        #: change, or when the predictions are not finite), with a soft
        #: prior ``prior_mse`` (its term on 1000 random states; training warns when the
        #: weighted prior term exceeds the weighted data term), and ``r2_per_gene``: a dict
        #: gene -> the same R^2 of that gene's own one-step changes, on the same pairs
        #: (NaN for a gene that does not change in them). ``r2`` is their mean weighted by
        #: each gene's no-change MSE, so a few genes with large changes can carry it. A
        #: target with R^2 near 0 is one the fit leaves unexplained: the per-target scores
        #: of its inputs (:meth:`network` with ``normalize="target"``, :meth:`edges`) then
        #: reflect what pruning kept (the prior's support) rather than fitted dynamics. With
        #: nothing held out (``val_fraction=0``, or a single pair) they are measured on the
        #: training pairs: ``settings["val_split"]`` is then ``"none"``, and
        #: ``uns["grn"]["fit"]["r2_on"]`` ``"training pairs"``. Models saved before
        #: ``r2_per_gene`` was kept load without it.
        self.fit_summary: dict[str, Any] = {}
        #: How the last fit ended (see :meth:`train`): ``stopped_early``, ``best_epoch``
        #: (whose weights were kept) and its ``best_val_loss``, ``lr_reductions``,
        #: ``final_lr``, ``solver_retries``, ``pruning_rounds`` and
        #: ``pruning_rounds_scheduled``; empty for models saved before it was kept. A model
        #: trained again (:meth:`train` goes on from the trained weights) also has
        #: ``continued`` (True), ``total_epochs`` and ``total_pruning_rounds``, over all
        #: its fits; the other keys describe the last fit (its ``best_epoch`` counts from
        #: that fit's first epoch, entry ``total_epochs - epochs_run + best_epoch`` of
        #: :attr:`history`).
        self.fit_info: dict[str, Any] = {}
        #: The fits this model ran before the last, oldest first (empty for a model trained
        #: once): per fit a dict of its ``settings``, ``fit_info`` and ``epochs`` (run).
        self.earlier_fits: list[dict[str, Any]] = []
        self.pruner: DashPruner | None = None
        self._saved_pruner: dict[str, Any] | None = None
        self.is_trained = False

    # ------------------------------------------------------------------ helpers
    @property
    def adata(self) -> Any:
        """The AnnData the model holds (read-only; None when loaded without data).

        The object passed to the constructor, not a copy: a view (``adata[mask]``) stays a
        view until :meth:`write_results` writes into it, when anndata makes it an AnnData of
        its own, which then holds the results (the AnnData it was taken from does not; pass
        that to :meth:`write_results`). :meth:`load` onto an AnnData with other genes or
        another gene order holds ``adata[:, model's genes]``, and :meth:`write_results`
        then writes into the AnnData given to :meth:`load`. Otherwise it is
        :meth:`write_results`' default target; :meth:`evaluate` looks up ``varp`` keys here.
        """
        return self._adata

    def __repr__(self) -> str:
        # what a notebook shows for `model`: the data, the prior and the fit at a glance, as
        # scvi-tools' models do (it was "<biomodels.grn.model.GRNModel object at 0x...>")
        keys = f"time_key={self.time_key!r}" + (
            f", trajectory_key={self.trajectory_key!r}" if self.trajectory_key else "")
        data = ("loaded without its data" if self._adata is None else
                f"{self._x.shape[0]} cells in {len(self.trajectories)} trajectories ({keys})")
        prior = ("no prior" if self.prior is None else
                 f"prior with {int(np.count_nonzero(self.prior.to_numpy()))} edges")
        lines = [f"GRNModel of {len(self.genes)} genes, {data}",
                 f"    {prior}, {self.n_hidden} hidden units per branch, seed {self.seed}"]
        if not self.is_trained:
            lines.append("    not trained: call train()")
        else:
            s = self.settings
            done = f"{s['epochs_run']} of {s['epochs']} epochs, " if "epochs" in s else ""
            if self.earlier_fits:  # train() went on from a trained model: say so
                n, info = len(self.earlier_fits), self.fit_info
                rounds = info.get("total_pruning_rounds", 0)
                done = (f"{done.removesuffix(', ')} after {n} earlier fit{'s' * (n > 1)} "
                        f"({info.get('total_epochs', '?')} epochs"
                        + (f", {rounds} pruning round{'s' * (rounds != 1)}" if rounds else "")
                        + " in all), ")
            r2 = self.fit_summary.get("r2")
            # with nothing held out, it is the fit to the training pairs
            on = "" if _r2_on(s) != "training pairs" else " on the training pairs"
            lines.append(f"    trained: {done}pruning {s.get('pruning', '?')!r}, sparsity "
                         f"{self.sparsity():.3f}"
                         + ("" if r2 is None else
                            f", {'held-out ' * (not on)}one-step R^2 {r2:.3f}{on}"))
        return "\n".join(lines)

    def _pruner_state(self) -> dict[str, Any] | None:
        """State of the pruner of the last fit (from :meth:`load` for a loaded model)."""
        return self.pruner.state_dict() if self.pruner is not None else self._saved_pruner

    def _require_trained(self, what: str) -> None:
        # an untrained model has random weights: its network or trajectories mean nothing
        if not self.is_trained:
            raise NotFittedError(f"{what}: the model is not trained; call train() first (or "
                             "GRNModel.load a saved fit)")

    def _require_data(self, what: str) -> None:
        # a model loaded without its AnnData reads out and simulates, but has nothing to fit
        if self._adata is None:
            raise ValueError(f"{what}: this model was loaded without its data "
                             "(GRNModel.load(path)); load it with GRNModel.load(path, adata)")

    def _continued(self, history: dict[str, list[float]], resumable: bool
                   ) -> tuple[list[dict[str, Any]], dict[str, list[float]]]:
        """Return the earlier fits and the whole history once ``history``'s fit is kept.

        ``train`` goes on from the current weights: after a trained model's fit (a notebook
        cell run again) the record said "12 of 12 epochs" for a model of 24 epochs. The last
        fit becomes an earlier one unless this fit resumed it from its checkpoint (its
        history then begins with the last fit's). The history goes on, epochs numbered on,
        as scvi-tools' ``history_`` after a second ``train()``.
        """
        if not self.is_trained:
            return [], history
        done = sum(int(fit["epochs"]) for fit in self.earlier_fits)
        before = {k: list(v[:done]) for k, v in self.history.items()}
        # the last fit's epochs as it numbered them (the history numbers them on)
        last = {k: [e - done for e in v[done:]] if k == "epoch" else v[done:]
                for k, v in self.history.items()}
        earlier = list(self.earlier_fits)
        if not (resumable and _begins_with(history, last)):
            earlier.append({"settings": self.settings, "fit_info": self.fit_info,
                            "epochs": len(last.get("epoch", []))})
            before = {k: list(v) for k, v in self.history.items()}
        if not earlier:
            return [], history
        n = len(before.get("epoch", []))
        joined = {k: before.get(k, [math.nan] * n)
                  + ([n + e for e in v] if k == "epoch" else list(v))
                  for k, v in history.items()}
        return earlier, joined

    def largest_gap(self) -> float:
        """Widest time gap of a training pair, in the model's scaled time.

        A fixed-step solver takes ``step_size`` of it per step (see :meth:`train`), so
        ``step_size <= 0.2 / largest_gap()`` keeps every step in RK4's stable range for
        rates up to 13.9 (:meth:`train` warns beyond it).

        Returns
        -------
        float
            ``max(t_next - t) * time_scale`` over the one-step pairs.
        """
        self._require_data("largest_gap")
        a, b = pair_index(self._times, self._codes, self._tiebreak)
        return float((self._times[b] - self._times[a]).max() * self.time_scale)

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=self.dtype, device=self.device)

    def _pairs(self) -> Pairs:
        return make_pairs(
            self._tensor(self._x),
            torch.as_tensor(self._times * self.time_scale),  # steps taken in float64
            torch.as_tensor(self._codes, device=self.device),
            self._tiebreak,
        )

    def _split_pairs(self, val_fraction: float) -> tuple[Pairs, Pairs | None]:
        """``split_pairs(self._pairs(), val_fraction, seed=self.seed)``, gathering rows once.

        The split needs only each pair's trajectory, so it is made on the pairs' row indices
        and the rows of each side are gathered afterwards, in blocks straight from the
        float64 data: no dtype copy of the whole data and no unsplit set of pairs on the way
        (at 50k cells x 3k genes, 1.2 GB less at the peak). The pairs are the same, bitwise.
        """
        times = self._times * self.time_scale  # steps taken in float64, as in _pairs
        a, b = pair_index(times, self._codes, self._tiebreak)
        index = Pairs(
            torch.as_tensor(a, device=self.device)[:, None],
            torch.as_tensor(b, device=self.device)[:, None],
            torch.as_tensor(times[b] - times[a], dtype=self.dtype, device=self.device),
            torch.as_tensor(self._codes[a], device=self.device),
        )
        train, val = split_pairs(index, val_fraction, seed=self.seed)

        def gather(rows: torch.Tensor) -> torch.Tensor:
            rows = rows[:, 0].cpu().numpy()
            out = torch.empty((len(rows), self._x.shape[1]), dtype=self.dtype,
                              device=self.device)
            step = max(1, _GATHER_BLOCK // max(1, self._x.shape[1]))
            for start in range(0, len(rows), step):
                out[start:start + step] = self._tensor(self._x[rows[start:start + step]])
            return out

        return tuple(  # type: ignore[return-value]
            None if p is None else Pairs(gather(p.x0), gather(p.x1), p.dt, p.trajectory)
            for p in (train, val))

    def _prior_tensor(self, frame: pd.DataFrame | None) -> torch.Tensor | None:
        # a copy: pandas 3's to_numpy() is a read-only view, which torch.as_tensor shared
        # and warned about ("The given NumPy array is not writable")
        return None if frame is None else torch.tensor(frame.to_numpy(), dtype=self.dtype,
                                                       device=self.device)

    # ------------------------------------------------------------------ training
    @with_grad  # also inside the caller's torch.no_grad()
    @without_autocast  # in the model's dtype, also inside the caller's torch.autocast
    def train(
        self,
        epochs: int = 100,
        *,
        pruning: Pruning = "dash",
        lr: float = 1e-2,
        batch_size: int = 32,
        val_fraction: float = 0.1,
        method: str = "dopri5",
        rtol: float = 1e-3,
        atol: float = 1e-4,
        step_size: float | None = None,
        adjoint: bool = False,
        lambda_ppi: float = 0.05,
        lambda_motif: float = 0.01,
        normalize: Literal["alive", "reference", "sum"] = "alive",
        schedule: PruningSchedule | None = None,
        prior_weight: float = 1.0,
        prior_scaling: Literal["max", "sign"] = "sign",
        l1: float = 1e-3,
        patience: int = 40,
        progress: bool = True,
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 10,
    ) -> dict[str, list[float]]:
        """Fit the model (and prune it), continuing from the current weights.

        The fit runs on a copy: the model (weights, masks, history, settings) changes only
        when it succeeds, so a diverged or interrupted fit leaves it as it was. A model
        pruned before (also one saved and loaded) keeps its masks and goes on with the
        pruning schedule: the round count continues, the first scheduled round removes
        ``schedule.fraction`` (not the first cut again) and DASH's recursive scores carry over.
        A trained model trained again (a notebook cell run twice) runs a fit of its own after
        the earlier ones, and its record says so: :attr:`settings` and most of
        :attr:`fit_info` describe the last fit, ``fit_info`` adds ``continued``,
        ``total_epochs`` and ``total_pruning_rounds``, :attr:`earlier_fits` keeps the earlier
        fits' settings and ``fit_info``, :attr:`history` goes on (epochs numbered on, as
        scvi-tools' ``history_`` after a second ``train()``), and the repr, ``uns`` and the
        saved file say so too. A fit resumed from its own checkpoint (below) stays one fit.

        Parameters
        ----------
        epochs
            Maximum number of epochs.
        pruning
            ``"dash"`` (data + prior scores), ``"imp"`` (DASH schedule, lambda = 0),
            ``"prior"`` (prior scores only), ``"none"`` or ``"l1"`` (C-NODE's penalty on the
            mean path weight, :func:`biomodels.grn.train.path_l1`, of weight ``l1``; no
            pruning).
        lr
            Adam learning rate (the gene rates get 5x). An epoch that diverges is run again
            from its start at a third of the rates, with a warning, up to 4 times: 1e-2
            suits tens to a few hundred genes, while fits of 500-1,000 planted genes
            diverged within a few epochs there and trained at 1e-3.
        batch_size
            Pairs per step.
        val_fraction
            Held-out trajectories for early stopping and the LR schedule (random pairs when
            there are fewer than 8 trajectories; ``settings["val_split"]`` records which:
            ``"trajectories"``, ``"pairs"`` or ``"none"``). 0 holds out nothing: the
            "validation" loss, ``fit_info["best_val_loss"]`` and :attr:`fit_summary` are
            then those of the training pairs.
        method, rtol, atol, step_size, adjoint
            torchdiffeq solver (``step_size`` for fixed-step methods, on each pair's unit
            clock, e.g. ``method="rk4", step_size=0.5``: a step covers ``step_size`` times
            the pair's time gap, and a warning says when that exceeds 0.2 time units on the
            widest gap, :meth:`largest_gap`, where RK4 may diverge: it is stable while the
            learnt rates times the step stay below 2.78, and the rates grow to 5-17 in
            training). Without ``step_size`` a fixed-step method takes one step per gap
            (warned of alike); with an adaptive method, which chooses its own steps,
            ``step_size`` is refused. ``rtol`` or ``atol`` must reach the unit roundoff of
            float32 (6e-8; 1.1e-16 for a float64 model) for an adaptive method.
            ``adjoint=True`` takes its gradients from a reverse-time solve that reconstructs
            the states, less accurately for fields that decay fast (relative gradient errors
            of 2e-3 to 7e-2 against 3e-4 to 4e-3 without it, at ``rtol=1e-3``); a failure of
            that solve is a diverged epoch, as one of the forward solve.
        lambda_ppi, lambda_motif, normalize, schedule
            DASH settings (see :mod:`biomodels.grn.dash`); ``normalize`` is checked (and
            recorded in :attr:`settings`) whatever ``pruning``.
        prior_weight
            PHOENIX soft prior: loss = ``prior_weight * MSE + (1 - prior_weight) *
            prior MSE``; 1 disables it (DASH's simulations). Needs a prior.
        prior_scaling
            How the prior's entries are used. ``"sign"`` (default): only their signs,
            ``P' = sign(P)`` (+1 activation / -1 repression per prior edge, the form of a
            motif or TF-target prior), both for DASH's prior guesses (``|P'|`` is the prior
            adjacency) and as the soft prior's linear dynamics ``Y_r P'``. ``"max"``: ``P``
            as given in the guesses and ``P / max|P|`` in the soft prior. With weighted
            priors whose magnitudes span orders (krumsiek11: 0.1 to 10), ``"max"`` lets a
            few strong edges dominate and makes most edges nearly invisible to the prior;
            on krumsiek11 with a 20 %-corrupted prior (DASH + soft prior 0.9, h = 64,
            corruption seeds 1-3) ``"sign"`` gave AUROC 0.83-0.93 (mean 0.87 over 10 fits)
            where ``"max"`` gave 0.75-0.84. PHOENIX's simulations use the signed prior as
            is, its real-data scripts ``|P|``: pass ``np.abs(prior)`` for the latter.
        l1
            Penalty weight for ``pruning="l1"`` (1e-3, the DASH paper's C-NODE setting).
        patience
            Early stopping patience (epochs), after the last pruning round. The weights
            of the epoch with the lowest validation loss since the last pruning round are
            kept (not necessarily the last epoch's).
        progress
            tqdm progress bar.
        checkpoint, checkpoint_every
            File for the whole training state, written atomically every
            ``checkpoint_every`` epochs and at the end. If the file exists, training resumes
            from it: call ``train`` again with the same arguments on a model built the same
            way (a fit with other settings, or one that starts from other weights than
            that fit's first or last, is refused with a ValueError naming them); the result
            equals that of an uninterrupted fit. The model a fit returned, trained again
            with the same file and more epochs, continues that fit.

        Returns
        -------
        dict
            A copy of this fit's history (kept in ``self.history``, after the earlier fits'
            epochs when the model was trained before): per-epoch ``epoch`` (the epoch's
            number as a float, 1.0, 2.0, ... counted from this fit's first; ``self.history``
            numbers a later fit's epochs on from the earlier ones'), ``train_loss``,
            ``val_loss``, ``val_r2``, ``lr``, ``density``, ``pruned``, ``lr_cut``,
            ``retries`` (see :func:`biomodels.grn.train.fit`). How the fit ended is kept in
            ``self.fit_info``: ``stopped_early`` (early stopping ended it before ``epochs``;
            False: it ran all ``epochs``, and a ``best_epoch`` at or near the last says the
            held-out loss was still falling), ``best_epoch`` (whose weights were kept) and its
            ``best_val_loss``, ``lr_reductions`` (cuts by the plateau scheduler),
            ``final_lr`` (of the last epoch), ``solver_retries`` (diverged epochs run again),
            ``pruning_rounds`` and ``pruning_rounds_scheduled`` (those ``epochs`` schedules;
            fewer only when a fit goes on from the checkpoint of one that had ended, which
            warns).

        Notes
        -----
        A step solves ``batch_size`` pairs, so its tensors are small (32 x G): on the CPU a
        fit runs best on one thread, ``torch.set_num_threads(1)``, wherever the cores are
        shared or oversubscribed. On a 2-core machine shared with another process, one
        dopri5 epoch at 5,000 cells x 500 genes took 3.9 s on one thread and 85 s on two.
        """
        self._require_data("train")
        if pruning not in ("dash", "imp", "prior", "none", "l1"):
            raise ValueError(f"pruning must be one of 'dash', 'imp', 'prior', 'none', 'l1'; "
                             f"got {pruning!r}")
        # for every pruning mode, before anything runs: only DashPruner checked it, so a
        # typo passed unseen with pruning="none" and was recorded in the settings
        if normalize not in ("alive", "reference", "sum"):
            raise ValueError(f"normalize must be 'alive', 'reference' or 'sum', got "
                             f"{normalize!r}")
        prior = self._prior_tensor(self.prior)
        if pruning in ("dash", "prior") and prior is None:
            raise ValueError(f"pruning={pruning!r} needs a prior network; pass prior= to "
                             "GRNModel or use pruning='none' (magnitude pruning, 'imp', "
                             "without a prior loses much of the network)")
        for name, value in (("prior_weight", prior_weight), ("val_fraction", val_fraction)):
            # a string reached a bare "'<' not supported" TypeError naming neither
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{name} must be a number, got {value!r}")
        if prior_weight < 1.0 and prior is None:
            raise ValueError("prior_weight < 1 needs a prior network")
        train_pairs, val_pairs = self._split_pairs(val_fraction)
        if prior_scaling not in ("max", "sign"):
            raise ValueError(f"prior_scaling must be 'max' or 'sign', got {prior_scaling!r}")
        # train a copy and keep it only when the fit succeeds: a diverged fit (NaN weights)
        # or an interrupted one must not leave the model half-trained
        func = copy.deepcopy(self.func)
        pruner: DashPruner | None = None
        if pruning in ("dash", "imp", "prior"):
            pruner = DashPruner(
                pruning, prior=None if prior is None else
                (torch.sign(prior) if prior_scaling == "sign" else prior),
                ppi=self._prior_tensor(self.ppi),
                lambda_ppi=lambda_ppi, lambda_motif=lambda_motif,
                schedule=schedule, normalize=normalize, seed=self.seed,
            )
            existing = _attached_masks(func)
            if existing is not None:  # continue an earlier pruned fit: never revive, go on
                pruner.continue_from(existing, self._pruner_state())
            if isinstance(epochs, numbers.Integral) and pruner.last_round_epoch(int(epochs)) == 0:
                # else the fit is labelled pruned but keeps every weight it had
                sch = pruner.schedule  # its first round is kept even at a fit's last epoch
                warnings.warn(
                    f"pruning={pruning!r} with epochs={epochs} runs no pruning round (the "
                    f"schedule prunes first at epoch {sch.first_epoch}, then every "
                    f"{sch.every}), so this fit prunes nothing; train for at least "
                    f"{sch.first_epoch} epochs (or, from Python, pass a schedule= that "
                    "starts earlier)", UserWarning, stacklevel=user_stacklevel())
        prior_scaled = None
        if prior is not None and prior_weight < 1.0:
            if prior_scaling == "sign":
                prior_scaled = torch.sign(prior)
            else:
                top = prior.abs().max()
                prior_scaled = prior / top if top > 0 else prior
        step_size = _check_step_size(step_size, method)
        options = {"step_size": step_size} if step_size is not None else None
        # without step_size a fixed-step method steps only on the pair's ends: one step a gap
        step = 1.0 if step_size is None and method in _FIXED else step_size
        gap = self.largest_gap() if step is not None else 0.0
        # (a hair of slack: prunus grn fit's step, _STABLE_STEP / gap, came out above by
        # rounding and warned of itself)
        if step is not None and step * gap > _STABLE_STEP * (1 + 1e-9):
            # a fixed step covers step_size x dt of scaled time, and RK4 is stable only while
            # rate x step < 2.78: the widest gaps diverge first, as the rates grow
            takes = (f"step_size={step_size} takes fixed steps of" if step_size is not None
                     else f"method={method!r} without step_size takes one fixed step per gap, of")
            warnings.warn(
                f"{takes} up to {step * gap:.3g} time "
                f"units on the widest gap between consecutive observations ({gap:.3g} after "
                f"time scaling); above {_STABLE_STEP} the solver may diverge (RK4 is stable "
                f"while the learnt rates times the step stay below 2.78, and the rates grow "
                f"to 5-17 in training): pass step_size <= {_STABLE_STEP / gap:.3g} or an "
                "adaptive method (dopri5)",
                UserWarning, stacklevel=user_stacklevel())
        # whether this call goes on from the model's own checkpointed fit (the same fit,
        # resumed) rather than from a trained model (a fit of its own, after the earlier)
        resumable = checkpoint is not None and os.path.exists(checkpoint)
        history = fit(
            func, train_pairs, val_pairs, epochs=epochs, lr=lr, batch_size=batch_size,
            method=method, rtol=rtol, atol=atol, options=options, adjoint=adjoint,
            pruner=pruner,
            l1=l1 if pruning == "l1" else 0.0, prior=prior_scaled, prior_weight=prior_weight,
            patience=patience, seed=self.seed, progress=progress,
            checkpoint=checkpoint, checkpoint_every=checkpoint_every,
        )
        held_out = val_pairs if val_pairs is not None and len(val_pairs) else train_pairs
        mse = evaluate_loss(func, held_out, method=method, rtol=rtol, atol=atol,
                            options=options, batch_size=_EVAL_BATCH)
        base = no_change_mse(held_out)
        fit_summary: dict[str, Any] = {"mse": mse, "no_change_mse": base, "r2": _r2(mse, base)}
        if prior_scaled is not None:
            with torch.no_grad():
                fit_summary["prior_mse"] = float(prior_loss(
                    func, prior_scaled, n_random=1000,
                    generator=torch.Generator().manual_seed(self.seed)))
        # which targets the fit explains: the pooled R^2 hid one left unexplained (tutorial
        # 02: SCL's inputs ranked among the strongest edges on a target with R^2 ~0)
        fit_summary["r2_per_gene"] = _r2_per_gene(func, held_out, self.genes, method=method,
                                                  rtol=rtol, atol=atol, options=options)
        sched = pruner.schedule if pruner is not None else None
        settings = {
            "pruning": pruning, "epochs": int(epochs), "epochs_run": len(history["epoch"]),
            "lr": lr, "batch_size": batch_size, "val_fraction": val_fraction,
            "method": method, "rtol": rtol, "atol": atol,
            "step_size": step_size, "adjoint": adjoint,
            # the weights the pruner used: "imp" fixes them at 0 and "prior" at 1, whatever
            # was passed (the record said 0.05 / 0.01 for an IMP fit)
            "lambda_ppi": lambda_ppi if pruner is None else pruner.lambda_ppi,
            "lambda_motif": lambda_motif if pruner is None else pruner.lambda_motif,
            "normalize": normalize,
            "prior_weight": prior_weight, "prior_scaling": prior_scaling,
            "l1": l1 if pruning == "l1" else 0.0,
            "schedule": None if sched is None else [sched.first_epoch, sched.first_fraction,
                                                    sched.every, sched.fraction],
            # the same by name: h5ad writes the list above as one float array, so the
            # epochs came back as 3.0; a dict keeps ints as ints (PruningSchedule(**it))
            "schedule_params": None if sched is None else {
                "first_epoch": sched.first_epoch, "first_fraction": sched.first_fraction,
                "every": sched.every, "fraction": sched.fraction},
            "n_hidden": self.n_hidden, "init": self.init, "time_scale": self.time_scale,
            "time_key": self.time_key, "trajectory_key": self.trajectory_key,
            "layer": self.layer, "seed": self.seed,
            # the rest also change the result, and were not recorded (krumsiek11, 25 epochs:
            # patience 2 kept epoch 13's weights, 40 epoch 25's, effects up to 3.7 apart);
            # "expression" names adata.X too, which layer=None, dropped from uns, did not
            "patience": patience, "dtype": str(self.dtype).removeprefix("torch."),
            "device": str(self.device), "torch_threads": torch.get_num_threads(),
            "expression": "adata.X" if self.layer is None else f"adata.layers[{self.layer!r}]",
            # which prior and PPI (core.fingerprint of the aligned matrices; None: none)
            "prior_fingerprint": None if self.prior is None else fingerprint(
                self.prior.to_numpy()),
            "ppi_fingerprint": None if self.ppi is None else fingerprint(self.ppi.to_numpy()),
            "n_pairs_train": len(train_pairs),
            "n_pairs_val": 0 if val_pairs is None else len(val_pairs),
            # what was held out, so that the R^2 can say what it was measured on
            "val_split": "none" if val_pairs is None or not len(val_pairs) else
            "trajectories" if _holds_out_trajectories(
                torch.cat([train_pairs.trajectory, val_pairs.trajectory])) else "pairs",
        }
        if self.gene_symbols is not None:  # only then: other fits record what they did
            settings["gene_symbols"] = self.gene_symbols
        # plain Python numbers: lr=np.float32(...) made json.dumps(model.settings) fail, and
        # lr=np.array(0.01) (taken as a number) made the saved model unreadable
        settings = plain({k: v.item() if isinstance(v, np.ndarray | torch.Tensor) and v.ndim == 0
                          else v for k, v in settings.items()})
        fit_info = _fit_info(history, int(epochs), pruner)
        earlier, joined = self._continued(history, resumable)
        if earlier:  # only then: a model trained once records what it recorded before
            fit_info.update(continued=True, total_epochs=len(joined["epoch"]),
                            total_pruning_rounds=int(np.nansum(joined["pruned"])))
        self.func, self.history, self.fit_summary, self.settings, self.fit_info = (
            func, joined, fit_summary, settings, fit_info)
        self.earlier_fits = earlier
        if pruner is not None:
            self.pruner = pruner
        self.is_trained = True
        if fit_info["pruning_rounds"] < fit_info["pruning_rounds_scheduled"]:
            assert pruner is not None
            _warn_on_short_schedule(fit_info, pruning, int(epochs), self.sparsity(),
                                    pruner, checkpoint)
        _warn_on_poor_fit(fit_summary, prior_weight, _r2_on(settings), method)
        return copy.deepcopy(history)  # editing the returned history edited the model's

    # ------------------------------------------------------------------ getters
    def sparsity(self) -> float:
        """Fraction of exactly-zero entries of the four weight matrices.

        Returns
        -------
        float
            DASH's "model sparsity" (pruned weights and weights that are zero anyway).
        """
        params = dict(self.func.named_parameters())
        zeros = sum(int((params[n] == 0).sum()) for n in PRUNABLE)
        total = sum(params[n].numel() for n in PRUNABLE)
        return zeros / total

    @without_autocast  # in the model's dtype, also inside the caller's torch.autocast
    def network(self, *, normalize: Literal["none", "target"] = "none",
                labels: Literal["var_names", "symbols"] = "var_names") -> pd.DataFrame:
        """Return the inferred signed network, rows = regulators, columns = targets.

        Parameters
        ----------
        normalize
            ``"none"``: effects ``E`` as read out (see the class docstring); ``"target"``:
            each column divided by its sum of absolute values, PHOENIX's per-target edge
            score ``|E_ij| / sum_i |E_ij|`` with the sign of ``E_ij`` kept. A target whose
            expression is constant in the data (the constructor warns of it) scores 0 for
            all its incoming edges, as GENIE3 gives a constant target no importance: its
            effects are the fit's noise (a planted 8-gene network: at most 5e-4 against up
            to 9.4), which the division made as large as the strongest edges.
        labels
            ``"var_names"``: the genes' names in the data; ``"symbols"`` (a model built
            with ``gene_symbols``): their symbols, the ``var_name`` for a gene without
            one, made unique as scanpy's ``var_names_make_unique`` does (a symbol's second
            gene ``SYM-1``).

        Returns
        -------
        pandas.DataFrame
            G x G, ``var_names`` (or symbols) on both axes; exact zeros where pruning cut
            every path.
            The effects (``"none"``) are rates on the model's scales: expression scaled to
            [0, 1] per gene, and time in units of ``1 / time_scale`` of ``obs[time_key]``'s
            unit (multiply by ``time_scale`` for a rate per data time unit); the
            per-target scores of ``"target"`` do not depend on either.
        """
        self._require_trained("network")
        if labels not in ("var_names", "symbols"):
            raise ValueError(f"labels must be 'var_names' or 'symbols', got {labels!r}")
        if labels == "symbols" and self._symbols is None:
            raise ValueError("labels='symbols' needs the genes' symbols: build the model "
                             "with gene_symbols= (the adata.var column that holds them)")
        e = self.func.effects().detach().cpu().to(torch.float64).numpy()
        if normalize == "target":
            tot = np.abs(e).sum(axis=0, keepdims=True)
            e = e / np.where(tot > 0, tot, 1.0)
            if self._constant.any():
                # a target that never changes carries no evidence: divided by their own
                # small total, its noise-level effects ranked among the strongest edges
                e[:, self._constant] = 0.0
        elif normalize != "none":
            raise ValueError(f"normalize must be 'none' or 'target', got {normalize!r}")
        if labels == "symbols":
            assert self._symbols is not None
            names = pd.Index(self._symbols.unique())
            return pd.DataFrame(e, index=names, columns=names.copy())
        return pd.DataFrame(e, index=self.genes.copy(), columns=self.genes.copy())

    def edges(self, *, top: int | None = None, self_loops: bool = False) -> pd.DataFrame:
        """Return the network as a ranked list of edges, strongest first.

        The long format of GENIE3/GRNBoost2's link lists (``TF, target, importance``), with
        the sign kept: one row per regulator-target pair with a non-zero effect, ranked by
        PHOENIX's per-target score (see :meth:`network`). Pairs that pruning cut are left
        out.

        Parameters
        ----------
        top
            Keep the ``top`` strongest edges (default: all of them).
        self_loops
            Also list each gene's effect on itself (autoregulation; BEELINE's scores leave
            these out).

        Returns
        -------
        pandas.DataFrame
            Columns ``regulator``, ``target``, ``effect`` (signed, as :meth:`network`),
            ``score`` (``|E_ij| / sum_i |E_ij|``; 0 for the edges into a target constant in
            the data, listed last, see :meth:`network`), for a model fitted with a
            prior ``in_prior`` (the prior names the pair) and, for a model built with
            ``gene_symbols``, ``regulator_symbol`` and ``target_symbol`` (the genes'
            symbols, the ``var_name`` for a gene without one). Ties in score keep
            regulator-major order.

        Examples
        --------
        The 20 strongest edges, as a file for a spreadsheet or a network viewer::

            model.edges(top=20).to_csv("edges.csv", index=False)
        """
        self._require_trained("edges")
        if top is not None and (isinstance(top, bool) or not isinstance(top, int | np.integer)
                                or top < 1):
            raise ValueError(f"top must be a positive integer or None, got {top!r}")
        effect = self.network().to_numpy()
        score = np.abs(self.network(normalize="target").to_numpy())
        keep = effect != 0
        if not self_loops:
            np.fill_diagonal(keep, False)
        if top is not None:
            # only pairs scoring at least the top-th largest score can be listed (ties at it
            # included, so the stable sort below still picks the same rows): ranking every
            # pair took 4-5 s and 1 GB for top=20 of 3,000 genes, these 0.35 s and 225 MB
            kept = score[keep]
            if top < kept.size and np.isfinite(kept).all():
                kth = np.partition(kept, kept.size - top)[kept.size - top]
                keep &= score >= kth
        rows, cols = np.nonzero(keep)  # regulator-major, the order ties keep
        order = np.argsort(-score[rows, cols], kind="stable")
        rows, cols = rows[order], cols[order]
        out = pd.DataFrame({
            "regulator": np.asarray(self.genes)[rows],
            "target": np.asarray(self.genes)[cols],
            "effect": effect[rows, cols],
            "score": score[rows, cols],
        })
        if self.prior is not None:
            out["in_prior"] = self.prior.to_numpy()[rows, cols] != 0
        if self._symbols is not None:  # after the columns a model without symbols has
            names = np.asarray(self._symbols.or_names(), dtype=object)
            out["regulator_symbol"] = names[rows]
            out["target_symbol"] = names[cols]
        return out if top is None else out.head(int(top)).reset_index(drop=True)

    def evaluate(self, truth: pd.DataFrame | np.ndarray | str,
                 *, normalize: Literal["none", "target"] = "target",
                 by_prior: bool = True) -> dict[str, float]:
        """BEELINE/DASH metrics of :meth:`network` against a true network.

        Parameters
        ----------
        truth
            DataFrame (rows = regulators), array in ``var_names`` order, CSV path or
            ``adata.varp`` key (a file of that name wins, with a warning, as for ``prior``);
            a DataFrame or CSV may name genes by symbol for a model built with
            ``gene_symbols``.
        normalize
            Score used for the rankings (see :meth:`network`); the support (balanced
            accuracy, sparsity) is the same for both, but for the edges into a target
            constant in the data, which ``"target"`` scores 0 (no edge).
        by_prior
            When the model has a prior, also split the ranking by the prior's support
            (``auroc_prior_edges``, ``auroc_new_edges``, ``prior_edges_first``,
            ``prior_signs_corrected`` and counts; see :func:`biomodels.grn.evaluate.evaluate`),
            which tells a network that finds what the prior missed from one that echoes it.

        Returns
        -------
        dict
            :func:`biomodels.grn.evaluate.evaluate` plus ``weight_sparsity`` (the fraction
            of the model's weights that are zero, :meth:`sparsity`). ``density`` is the
            truth's edge density, ``sparsity`` the network's share of gene pairs scored
            exactly zero.
        """
        from biomodels.grn.evaluate import evaluate

        if truth is None:  # _read_prior reads None as "no prior": a bare AssertionError
            raise TypeError("truth: expected the true network (a DataFrame, an array in "
                            "var_names order, a CSV path or an adata.varp key), got None")
        t = _read_prior(truth, self._adata, self.genes, "truth", self._symbols)
        assert t is not None
        prior = self.prior if by_prior else None
        out = dict(evaluate(self.network(normalize=normalize), t, prior=prior))
        out["weight_sparsity"] = self.sparsity()
        return out

    def _scale_states(self, y0: Any, dtype: torch.dtype | None = None) -> torch.Tensor:
        # a meta tensor has no values: host_array failed with torch's NotImplementedError
        # "Cannot copy out of meta tensor; no data!"
        refuse_meta(y0, "y0")
        # a Series or DataFrame matched to the genes by name (the rule krumsiek11_simulate
        # shares); as float64 below, where a word is named
        start = _states_by_name(y0, list(self.genes))
        try:
            arr = _dense(start)  # also a row of a sparse adata.X
        except (TypeError, ValueError) as err:  # numpy's message named no argument
            raise ValueError(f"y0 must be numbers: an (n, {len(self.genes)}) or "
                             f"({len(self.genes)},) array of expression ({err})") from None
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] != len(self.genes):
            raise ValueError(f"y0 must have {len(self.genes)} genes per row and at least one "
                             f"row, got shape {np.shape(y0)}")
        if not np.isfinite(arr).all():
            raise ValueError("y0 has NaN or infinite values")
        return torch.as_tensor((arr - self.offset) / self.scale, dtype=dtype or self.dtype,
                               device=self.device)

    def _default_y0(self) -> np.ndarray:
        if self._x is None:  # loaded without data: the start saved with the model
            return np.asarray(self._start, dtype=np.float64)
        first = []
        for c in np.unique(self._codes):
            rows = np.flatnonzero(self._codes == c)
            # of cells sharing the earliest time, the one that pairs with the next time
            # point (the last by obs_names): argmin took the first row, so the start moved
            # with the row order while the fit did not
            rows = rows[self._times[rows] == self._times[rows].min()]
            first.append(rows[np.argmax(self._tiebreak[rows])])
        return self._x[first].mean(axis=0) * self.scale + self.offset

    def _time_range(self) -> tuple[float, float]:
        if self._times is None:
            return self._saved_time_range
        return float(self._times.min()), float(self._times.max())

    def predict(self, y0: Any, times: Sequence[float] | np.ndarray, *,
                method: str = "dopri5", rtol: float = 1e-5, atol: float = 1e-7,
                step_size: float | None = None) -> np.ndarray:
        """Trajectories of the fitted ODE from initial states, in data units.

        Parameters
        ----------
        y0
            (n, G) or (G,) initial expression (array, torch tensor on any device, scipy
            sparse matrix, or DataFrame with gene columns / Series with gene labels,
            matched by name) at ``times[0]``. A 1 x G scipy sparse matrix or ``np.matrix``
            (``adata.X[i]`` of a sparse X, ``X.mean(axis=0)``) is a single state, as the
            1-D ``adata.X[i]`` of a dense X.
        times
            Increasing times in the units of ``adata.obs[time_key]`` (a sequence, array or
            torch tensor on any device; one that requires grad is detached, as ``y0``: the
            output carries no gradient). A tensor on the meta device (``y0`` or ``times``)
            is refused (ValueError): it holds no values.
        method, rtol, atol, step_size
            Solver settings (torchdiffeq), as in :meth:`simulate`: ``rtol`` and ``atol``
            numbers >= 0, not both below float32's unit roundoff for an adaptive ``method``
            such as dopri5, and bounding the RMS error over the whole batch of initial
            states; ``step_size`` the longest step (scaled time, default 0.2) of a fixed-step
            ``method`` such as ``"rk4"``.

        Returns
        -------
        numpy.ndarray
            (T, n, G), or (T, G) for a single initial state (float64).
        """
        return self.simulate(y0, times, method=method, rtol=rtol, atol=atol,
                             step_size=step_size)

    @without_autocast  # in the model's dtype, also inside the caller's torch.autocast
    def simulate(
        self,
        y0: Any = None,
        times: Sequence[float] | np.ndarray | None = None,
        *,
        perturb: Mapping[str, float] | None = None,
        method: str = "dopri5",
        rtol: float = 1e-5,
        atol: float = 1e-7,
        step_size: float | None = None,
    ) -> np.ndarray:
        """Simulate, optionally with in-silico knockouts or overexpression.

        Parameters
        ----------
        y0
            Initial expression (see :meth:`predict`); default: the mean of the first cell
            of every trajectory (of cells sharing its earliest time, the last by
            ``obs_names``, which pairs with the next time point in training). For a
            pseudotime fit with branch labels as trajectories that mixes the root with the
            branch points: pass the root cell, ``adata.X[adata.uns["iroot"]]``.
        times
            Times (data units; see :meth:`predict`); default: 100 points over the observed
            time range.
        perturb
            ``{gene: value}`` (a dict or a pandas Series) clamps each gene at ``value``
            (data units) for the whole simulation: the gene's minimum in the data
            (``model.offset`` at its position; 0 for counts or log-normalised data) is a
            knockout, a high value an overexpression. In scaled data (``sc.pp.scale``) 0 is
            a gene's mean, not a knockout: clamp it at ``model.offset`` there. (No rule
            tells scaled data from noise around 0 by their values alone: the planted
            simulator's genes reach 0.14 of their range below 0 at its default noise.) The
            clamped genes' derivatives are zero. The genes must be among the model's (those
            it was fitted on, e.g. the highly variable ones), matched by name as text, as the
            prior's labels are: ``{3: 0.0}`` clamps a gene named ``"3"``. A model built
            with ``gene_symbols`` also takes symbols (``{"GATA1": 0.0}`` for data keyed by
            Ensembl IDs); a symbol shared by several genes clamps each, with a warning naming
            them.
        method, rtol, atol
            Solver settings (``rtol`` and ``atol`` numbers >= 0; an adaptive ``method``
            such as dopri5 needs one of them at least the unit roundoff of float32, 6e-8
            (1.1e-16 for a float64 model), a fixed-step one, ``"rk4"``, ignores them). The
            initial states are solved together, so the tolerances bound the RMS norm of the
            error estimate over the whole batch, not each trajectory's own: one trajectory
            among many accurate ones may be off by more.
        step_size
            Longest step of a fixed-step ``method`` (``"rk4"``, ``"midpoint"``,
            ``"euler"``) in the model's scaled time, the units of :meth:`largest_gap` (a step
            covers ``step_size / time_scale`` units of ``times``): each interval between
            output times is cut into equal steps no longer. Default 0.2, the step that
            :meth:`train` keeps RK4 stable with (learnt rates up to 13.9; ``train``'s own
            ``step_size`` is a fraction of each gap instead). Refused with an adaptive
            method, which chooses its own steps.

        Returns
        -------
        numpy.ndarray
            (T, n, G) or (T, G), data units, float64. A bfloat16 or float16 model is
            integrated in float32 (its time grid and states rounded to 3 digits were 5 %
            off), with the same weights.

        Raises
        ------
        ValueError
            If ``rtol`` or ``atol`` is negative or not finite, or both are 0 or below the
            unit roundoff for an adaptive ``method``, or ``step_size`` is not > 0 or is given
            with an adaptive ``method``.
        SolverDivergedError
            If the solver fails (its advice: ``method="rk4"`` or looser tolerances) or the
            trajectory becomes non-finite.
        """
        self._require_trained("simulate")
        # a string reached torch as "new(): invalid data type 'str'", naming neither
        rtol = check_number("rtol", rtol, at_least=0)
        atol = check_number("atol", atol, at_least=0)
        if rtol == 0 and atol == 0 and method in _ADAPTIVE:
            # no error is ever small enough: dopri5 shrank its step to 0 and failed with
            # "underflow in dt 0.0 ... try a lower learning rate", which nothing here has
            raise ValueError(f"rtol and atol are both 0, which method={method!r} (adaptive) "
                             "cannot meet: give rtol or atol > 0 (the defaults are 1e-5 and "
                             "1e-7), or a fixed-step method such as 'rk4'")
        _check_tolerances(rtol, atol, method=method, dtype=self.dtype)
        step_size = _check_step_size(step_size, method)
        # bfloat16 keeps 3 digits: times, states and dopri5's rtol (1e-5) below its
        # resolution made a trajectory 5 % off, so the solve runs in float32 at least
        work = torch.promote_types(self.dtype, torch.float32)
        y = self._scale_states(self._default_y0() if y0 is None else y0, work)
        # after the check (a ragged y0 fails there); a 1 x G sparse or np.matrix row is one
        # state, as adata.X[i] of a dense X (it gave (T, 1, G))
        single = y0 is None or _one_state(y0)
        if times is None:
            times = np.linspace(*self._time_range(), 100)
        message = "times must be a 1-D increasing sequence of finite numbers"
        refuse_meta(times, "times")
        try:
            # host_array: detached and on the CPU, as y0 (numpy refused a tensor that
            # requires grad or lives on a GPU)
            t = np.asarray(host_array(times), dtype=np.float64)
        except (TypeError, ValueError) as err:  # numpy's message named no argument
            raise ValueError(f"{message} ({err})") from None
        # NaN passed the order check (the solver then failed) and inf never ended dopri5
        if t.ndim != 1 or t.size < 1 or not np.isfinite(t).all() or (np.diff(t) <= 0).any():
            raise ValueError(message)
        field: torch.nn.Module = (self.func if work == self.dtype
                                  else copy.deepcopy(self.func).to(work))
        perturb = _perturb_dict(perturb)
        if perturb:
            perturb = self._perturbed_genes(perturb)
            perturb = _perturb_values(perturb, " (expression in the data's units)")
            idx = [int(self.genes.get_loc(g)) for g in perturb]
            vals = [(perturb[g] - self.offset[i]) / self.scale[i] for g, i in zip(perturb, idx)]
            y = y.clone()
            y[:, idx] = torch.as_tensor(np.asarray(vals), dtype=work, device=self.device)
            field = _Clamped(field, idx, len(self.genes))
        tt = torch.as_tensor((t - t[0]) * self.time_scale, dtype=work, device=self.device)
        # a fixed-grid solver steps on the output times only: one step from 0 to 20 left
        # RK4 3.3 off the ODE, so each interval is cut into steps of at most step_size
        options = None
        if method == "explicit_adams":
            # torchdiffeq's explicit Adams diverges at the small steps a trajectory needs
            # (y' = -y to t = 2: 0.161 at step 0.2, 991.6 at 0.05; exact 0.135)
            raise ValueError("method='explicit_adams' is unstable at the steps a trajectory "
                             "needs; use 'rk4', 'implicit_adams' or an adaptive method such "
                             "as 'dopri5'")
        if method in _FIXED:
            step = _STABLE_STEP if step_size is None else step_size
            # counted in float64 from the data's times: a span of 1e15 failed allocating the
            # grid, and 1e8 would have run for most of an hour without a word
            steps = float(np.ceil(np.diff((t - t[0]) * self.time_scale) / step).sum())
            if steps > _MAX_GRID_STEPS:
                raise ValueError(
                    f"method={method!r} with steps of at most {step:g} (step_size, scaled "
                    f"time) takes {steps:.3g} steps over these times, more than "
                    f"{_MAX_GRID_STEPS:.0e}; use an adaptive method such as 'dopri5', or a "
                    "larger step_size")
            options = {"grid_constructor": _grid_within(step)}
        with torch.no_grad():
            try:
                out = solve(field, y, tt, method=method, rtol=rtol, atol=atol, options=options)
            except SolverDivergedError as exc:
                if not isinstance(exc.__cause__, AssertionError):
                    raise  # a trajectory that blows up: its own advice fits simulate
                # the solver's own failure: its advice named a learning rate, and simulate
                # trains nothing
                raise SolverDivergedError(
                    f"ODE solver {method!r} failed while simulating ({exc.__cause__}); try "
                    f"method='rk4' or looser tolerances (rtol={rtol:g}, atol={atol:g})"
                ) from exc.__cause__
        res = out.detach().cpu().to(torch.float64).numpy() * self.scale + self.offset
        return res[:, 0, :] if single else res

    def _perturbed_genes(self, perturb: dict[str, Any]) -> dict[str, Any]:
        """``perturb`` keyed by var_names: symbols (``gene_symbols``) name their genes."""
        out: dict[str, Any] = {}
        unknown: list[str] = []
        twice: list[str] = []
        shared: dict[str, list[str]] = {}
        for name, value in perturb.items():
            if name in self.genes:
                named = [name]
            elif self._symbols is not None and name in self._symbols.labels:
                named = [str(self.genes[i]) for i in self._symbols.labels[name]]
                if len(named) > 1:
                    shared[name] = named
            else:
                unknown.append(name)
                continue
            twice += [g for g in named if g in out]
            out.update(dict.fromkeys(named, value))
        if unknown:
            where = ("" if self._symbols is None else
                     f" (neither var_names nor symbols in adata.var[{self._symbols.key!r}])")
            # "not in the data" for a gene of the AnnData that the model was not fitted on
            # (not highly variable): the model's genes are what perturb can clamp
            raise ValueError(f"perturb names genes not among the model's {len(self.genes)} "
                             f"genes: {unknown}{where}")
        if twice:  # a gene by its var_name and by its symbol: which value was meant?
            raise ValueError(f"perturb names genes more than once (by var_name and by "
                             f"symbol): {twice}")
        if shared:
            warnings.warn(
                "perturb names gene symbols shared by several genes, and clamps each: "
                + "; ".join(f"{s!r}: {g}" for s, g in shared.items()), UserWarning,
                stacklevel=user_stacklevel())
        return out

    # ------------------------------------------------------------------ AnnData
    def write_results(self, adata: Any | None = None, *, key_added: str = "grn",
                      truth: pd.DataFrame | np.ndarray | str | None = None) -> dict[str, Any]:
        """Write the network and settings into an AnnData.

        Writes ``adata.varp[key_added]`` (the G x G signed network, rows = regulators) and
        ``adata.uns[key_added]`` (``settings``, ``weight_sparsity``, ``genes_order``,
        ``final_val_loss`` (the last epoch's; the network kept is that of the best epoch
        since the last pruning round, see ``patience`` in :meth:`train`), ``fit``:
        the held-out one-step ``held_out_mse`` (of the network kept),
        ``held_out_no_change_mse`` and ``held_out_r2``, with ``r2_on`` saying what they
        were measured on (``"held-out trajectories"``, ``"held-out pairs"``, or
        ``"training pairs"`` when nothing was held out, ``val_fraction=0``: the keys keep
        their names) and ``held_out`` (False for the training pairs), and
        ``held_out_r2_per_gene``, ``fit_summary["r2_per_gene"]`` as a DataFrame with one
        row per gene (index ``gene``, column ``r2``; absent for a model saved before it was
        kept), ``fit_info``: how
        the fit ended
        (:attr:`fit_info`, see :meth:`train`), for a model trained more than once
        ``earlier_fits``: the fits before the last (:attr:`earlier_fits`) by number,
        ``"1"`` the first, for data with constant genes ``constant_genes``: those whose
        incoming edges score 0 (see :meth:`network`), and, when ``truth`` is given,
        ``metrics``: :meth:`evaluate` of the per-target score, with ``ranked_by`` saying
        so), and ``environment``: the versions of Python, prunus and its numerical
        libraries and torch's thread count at the time of writing
        (:func:`core.provenance.environment`; the fit's threads are in ``settings``).
        Nothing else is touched.

        The model's genes are matched to ``adata.var_names`` by name, in any order: the
        network is written in ``var_names`` order, as a dense float64 array when the
        model covers every gene of ``adata``. An AnnData with more genes than the model
        (a model fitted on highly variable genes or TFs, written into the full data) gets
        an ``n_vars x n_vars`` ``scipy.sparse`` CSR matrix (as scanpy stores
        ``obsp["connectivities"]``) that holds the model's non-zero effects in the rows
        and columns of its genes, in the model's dtype (float32, or float64 for a float64
        model), and nothing elsewhere ("no edge estimated", as ``sc.pp.pca``'s zero
        loadings of the genes it left out): a dense one took n_vars^2 x 8 bytes, 1.2 GB
        for 300 genes fitted in 12,300, in memory and in the h5ad. Read the fitted block
        back with ``adata[:, genes].varp[key_added].toarray()``, ``genes`` being
        ``uns[key_added]["genes"]``, which lists the model's genes (in the model's
        order); ``var`` is not touched. For an AnnData with exactly the model's genes
        nothing changes (no ``genes`` entry).

        Parameters
        ----------
        adata
            AnnData whose ``var_names`` include the model's genes (in any order); default:
            the one the model was built on, :attr:`adata`. Not a view (``adata[mask]``):
            anndata would turn it into an AnnData of its own to hold the results (with an
            ``ImplicitModificationWarning``), leaving the AnnData it was taken from without
            them, so a view is refused (ValueError): pass the AnnData it was taken from (its
            other cells and genes do not matter) or a copy, ``adata[mask].copy()``. When
            the default target is a view (a model built on ``adata[mask]``), the results go
            into :attr:`adata`, which becomes an AnnData of its own, and a ``UserWarning``
            says so; pass the AnnData the view was taken from to write them there. A backed
            AnnData takes them in memory: ``adata.write()`` puts them in its file.
        key_added
            Key of the ``varp`` and ``uns`` entries.
        truth
            Optional true network (forms as in :meth:`evaluate`) to score against; a
            ``varp`` key is looked up in ``adata`` first (its rows and columns of the
            model's genes), then in the model's data (a file of that name wins over either,
            with a warning).

        Returns
        -------
        dict
            What was written to ``uns`` (the dict itself, so a notebook cell that ends with
            this call shows it all: end the line with ``;`` or assign it, ``_ = ...``).

        Raises
        ------
        ValueError
            If ``adata`` is a view (of a backed AnnData, which cannot become an AnnData of
            its own in memory: ``adata.to_memory()`` first), or lacks genes of the model
            (named), or has one of them more than once.
        """
        check_h5ad_key("key_added", key_added)
        default = adata is None
        if adata is None:
            self._require_data("write_results without adata")
            # the AnnData given to load when it had more genes; else the model's own
            adata = getattr(self, "_target", None)
            if adata is None:
                adata = self._adata
        _check_anndata(adata)
        genes = list(self.genes)
        var = [str(g) for g in adata.var_names]
        # by name, as CTMC.write_results: a fit on highly variable genes is written into the
        # full AnnData (it was refused, as was the same genes in another order)
        pos = None if var == genes else _gene_positions(genes, var, "the model's",
                                                         "write into an AnnData that has them")
        if getattr(adata, "is_view", False) and getattr(adata, "isbacked", False):
            # anndata turns a view it writes to into an AnnData of its own, which for a
            # backed one fails with an error about copying that names nothing asked for
            raise ValueError(
                "write_results cannot write into a view of a backed AnnData (a subset of "
                "one read with backed='r'): load the subset first, adata = "
                "adata.to_memory(), or write into an AnnData of its own on disk, adata = "
                "adata.copy(filename='subset.h5ad')")
        # the model's own AnnData (or load's) is written as write_results() writes it: a
        # model built on a view had write_results(model.adata) refused, not the default
        own = adata is getattr(self, "_target", None) or adata is self._adata
        if not (default or own) and getattr(adata, "is_view", False):
            # anndata turned it into an AnnData of its own (ImplicitModificationWarning),
            # which the caller often held no name for, and the parent got nothing
            raise ValueError(
                "write_results: adata is a view (adata[mask]), which anndata would turn into "
                "an AnnData of its own to hold the results, leaving the AnnData it was taken "
                "from without them: pass the AnnData it was taken from (the model's genes are "
                "matched by name; its cells do not matter) or a copy, adata[mask].copy()")
        info: dict[str, Any] = {
            # a deep copy: the schedule list was the model's own, so editing one edited both
            "settings": copy.deepcopy({k: v for k, v in self.settings.items()
                                       if v is not None}),
            "weight_sparsity": self.sparsity(),
            "genes_order": "rows = regulators, columns = targets (var_names order)",
        }
        if self.history.get("val_loss"):
            info["final_val_loss"] = float(self.history["val_loss"][-1])
        if self.fit_summary:
            info["fit"] = {f"held_out_{k}": float(v) for k, v in self.fit_summary.items()
                           if k != "r2_per_gene"}
            # the "held_out_" keys stay as they are; these say what they were measured on
            r2_on = _r2_on(self.settings)
            info["fit"]["r2_on"] = r2_on
            info["fit"]["held_out"] = r2_on != "training pairs"
            per_gene = self.fit_summary.get("r2_per_gene")  # absent in models saved before
            if per_gene is not None:
                # a table, not a dict keyed by gene: h5ad cannot store a key holding "/"
                info["fit"]["held_out_r2_per_gene"] = pd.DataFrame(
                    {"r2": np.asarray(list(per_gene.values()), dtype=np.float64)},
                    index=pd.Index(list(per_gene), dtype=object, name="gene"))
        if self.fit_info:
            info["fit_info"] = dict(self.fit_info)
        if self.earlier_fits:  # the fits before the last, by number (h5ad: str keys)
            info["earlier_fits"] = {
                str(i): {"settings": copy.deepcopy({k: v for k, v in fit["settings"].items()
                                                    if v is not None}),
                         "fit_info": dict(fit["fit_info"]), "epochs": int(fit["epochs"])}
                for i, fit in enumerate(self.earlier_fits, start=1)}
        if self._constant.any():  # the targets network(normalize="target") scores 0
            info["constant_genes"] = [str(g) for g in self.genes[self._constant]]
        from core.provenance import environment

        # what the results were written with (strings and ints, as h5ad stores them)
        info["environment"] = environment()
        if truth is not None:
            if isinstance(truth, str):
                elsewhere = Path(truth).is_file() or (
                    self._adata is not None and truth in self._adata.varp)
                if truth in adata.varp or not elsewhere:
                    # a key of the AnnData written to: the model's own data may lack it (a
                    # loaded model has none) or hold another matrix under that name; a name
                    # found nowhere is reported with this AnnData's keys (it listed the
                    # model's data's keys, or "no data" for a loaded model)
                    if pos is not None and truth in adata.varp and not Path(truth).is_file():
                        # in adata's var order, over its genes: the model's rows and columns
                        truth = _varp_block(adata.varp[truth], pos)
                    truth = _read_prior(truth, adata, self.genes, "truth", self._symbols)
            # say what was ranked: varp holds the raw effects, the metrics rank PHOENIX's
            # per-target score (network(normalize="target")), as evaluate() does by default
            info["metrics"] = {**self.evaluate(truth), "ranked_by": _RANKED_BY}
        net = self.network().to_numpy()
        if pos is not None and len(var) > len(genes):
            # a fit on some genes: only their block can be non-zero, so a sparse matrix of it
            # (dense float64, 300 genes in 12,300 made 1.21 GB in memory and in the h5ad)
            net = _sparse_block(net, pos, len(var), self.dtype)
            info["genes"] = genes  # which rows and columns the model estimated
        elif pos is not None:  # the same genes in another order
            full = np.zeros((len(var), len(var)), dtype=net.dtype)
            full[np.ix_(pos, pos)] = net
            net = full
        if default and getattr(adata, "is_view", False):
            # the model's own view (or the view given to load) becomes an AnnData of its
            # own, which the user may hold no name for (GRNModel(adata[mask])): say where
            # the results went, in place of
            # anndata's "initializing view as actual". Setting uns makes it one without that
            # warning (a deep copy, as anndata's own), so nothing filters it: the filters are
            # the whole process's, and warnings.catch_warnings in threads left "ignore" there
            uns = copy.deepcopy(adata.uns)  # the view's uns, as anndata would copy it
            uns[key_added] = info
            adata.uns = uns
            adata.varp[key_added] = net
            where = ("model.adata" if adata is self._adata else
                     "the AnnData given to GRNModel.load")
            warnings.warn(
                f"the model's AnnData is a view: the results were written into {where}, "
                "which anndata turned into an AnnData of its own (a copy); the AnnData the "
                "view was taken from is unchanged: pass it, write_results(parent), to write "
                "them there", UserWarning, stacklevel=user_stacklevel())
            return info
        adata.varp[key_added] = net
        adata.uns[key_added] = info
        return info

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save weights, masks, scaling, priors and settings to one file (atomic).

        The data are not saved, only what :meth:`simulate` needs by default (the mean
        first state of the trajectories and the observed time range): :meth:`load` with the
        AnnData restores everything, without it a model to read out and simulate. The file
        also records what it was saved with (``"environment"``:
        :func:`core.provenance.environment`), which :meth:`load` does not need.

        Parameters
        ----------
        path
            File to write (``torch.save`` format; replaced only once complete).

        Returns
        -------
        pathlib.Path
            ``path``.
        """
        from biomodels.grn.checkpoint import plain
        from core import save_torch
        from core.provenance import environment

        state = {
            "format": _FORMAT,
            "state_dict": {k: v.detach().cpu() for k, v in self.func.state_dict().items()},
            "genes": list(self.genes),
            "n_hidden": self.n_hidden, "init": self.init,
            "offset": torch.as_tensor(self.offset), "scale": torch.as_tensor(self.scale),
            "time_scale": self.time_scale, "time_key": self.time_key,
            "trajectory_key": self.trajectory_key, "layer": self.layer, "seed": self.seed,
            # torch.tensor copies: pandas 3's to_numpy() is read-only (as in _prior_tensor)
            "prior": None if self.prior is None else torch.tensor(self.prior.to_numpy()),
            "ppi": None if self.ppi is None else torch.tensor(self.ppi.to_numpy()),
            "history": self.history, "settings": self.settings,
            "fit_summary": self.fit_summary, "pruner": self._pruner_state(),
            "fit_info": self.fit_info,
            "dtype": str(self.dtype).removeprefix("torch."),
            "start": torch.as_tensor(self._default_y0()),
            "time_range": list(self._time_range()), "trajectories": list(self.trajectories),
            # versions and threads it was saved with; load reads past it (older files lack it)
            "environment": environment(),
        }
        if self._constant.any():  # only then: other models' files keep their bytes
            state["constant_genes"] = [str(g) for g in self.genes[self._constant]]
        if self._symbols is not None:  # likewise; "" for a gene without a symbol
            state["gene_symbols"] = self._symbols.key
            state["symbols"] = [v or "" for v in self._symbols.values]
        if self.earlier_fits:  # likewise: a model trained once saves what it saved before
            state["earlier_fits"] = self.earlier_fits
        return save_torch(plain(state), path)  # numpy scalars among the settings: see plain

    @classmethod
    @torch.inference_mode(False)  # an ordinary model, also loaded inside inference_mode
    def load(cls, path: str | os.PathLike[str], adata: Any = None, *,
             device: torch.device | str | None = None) -> GRNModel:
        """Load a model saved by :meth:`save`, onto ``adata`` (same genes) or on its own.

        Parameters
        ----------
        path
            File written by :meth:`save`.
        adata
            The data the model was fitted on (or new data with the model's genes), needed
            to continue training and for :meth:`write_results`' default target. Its genes
            are matched by name: an AnnData with more genes (the full data of a fit on
            highly variable genes) or another order is read as ``adata[:, genes]`` (a view,
            :attr:`adata`); one that lacks genes of the model is refused, naming them. Without it
            (the default) the model reads out (:meth:`network`, :meth:`evaluate`) and
            simulates (:meth:`predict`, :meth:`simulate`, from the saved default start and
            time range) in the saved scaling; :meth:`train` then raises.
        device
            Where to put the model.

        Returns
        -------
        GRNModel
            Trained (``is_trained``) when the saved model was, with its masks, history,
            settings, held-out fit, :attr:`earlier_fits` and, for a model built with
            ``gene_symbols``, the genes' symbols it was fitted with. Its per-target scores
            (:meth:`network`) give 0 to the targets that were constant in the data it was
            fitted on, as the file records them; a file without that record (data without
            constant genes, or a file written before it was kept) gives 0 to those constant
            in ``adata`` (to none without ``adata``).

        Raises
        ------
        FileNotFoundError, IsADirectoryError
            If ``path`` does not exist or is a folder (OSErrors, as the other loaders of
            prunus raise them; the message names the path).
        ValueError
            If ``adata`` lacks genes of the model (named) or has one of them more than once.
            If ``path`` is not a file written by :meth:`save`, lacks fields, or is damaged:
            each record is compared with the CRC-32 checksum saved with it, which
            ``torch.load`` skips (a damaged file loaded with wrong numbers). If it holds
            Python objects other than tensors and plain values (it is not unpickled). If a
            field is invalid (named), checked before the model is built: a ``dtype`` other
            than float32, float64, bfloat16 or float16, weights whose shapes do not match
            ``genes`` and ``n_hidden`` or that hold NaN or infinite values, duplicated or
            non-string ``genes``, a scaling, start or prior of another size or with
            non-finite values.
        """
        from biomodels.grn.checkpoint import read_torch_file
        from core import MaskSet

        state = read_torch_file(path, f"{str(path)!r} cannot be read as a saved GRN model")
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise ValueError(f"{str(path)!r} is not a prunus GRN model file")
        missing = [k for k in _SAVED_FIELDS if k not in state]
        if adata is None and "start" in state:  # a file without "start" predates all three
            missing += [k for k in ("time_range", "trajectories") if k not in state]
        if missing:  # a bare KeyError named one field and not the file
            raise ValueError(f"{str(path)!r} is a prunus GRN model file without the fields "
                             f"{missing}: it was damaged or not written by GRNModel.save")
        # before anything is built from it: n_hidden = 10**8 in a 7 KB file allocated 4.4 GB,
        # NaN weights and duplicated genes loaded silently
        _check_saved(state, path)
        genes = state["genes"]

        def frame(t: torch.Tensor | None) -> pd.DataFrame | None:
            return None if t is None else pd.DataFrame(t.numpy(), index=genes, columns=genes)

        offset, scale = state["offset"].numpy(), state["scale"].numpy()
        if adata is None:
            model = cls._without_data(state, frame, device)
        else:
            _check_anndata(adata)
            var = [str(g) for g in adata.var_names]
            given = adata
            if var != genes:
                # by name: the full data of a fit on some genes, or another order (once refused)
                adata = adata[:, _gene_positions(genes, var, "the saved model's",
                                                 "load it onto an AnnData that has them")]
            model = cls(
                adata, time_key=state["time_key"], trajectory_key=state["trajectory_key"],
                layer=state["layer"], prior=frame(state["prior"]), ppi=frame(state["ppi"]),
                n_hidden=state["n_hidden"], init=state["init"],
                time_scale=state["time_scale"], dtype=getattr(torch, state["dtype"]),
                device=device, seed=state["seed"],
            )
            model._x = (model._x * model.scale + model.offset - offset) / scale
        model.offset, model.scale = offset, scale
        sd = state["state_dict"]
        if any(k.endswith("_mask") for k in sd):
            MaskSet.from_state_dict(sd).attach(model.func)
        model.func.load_state_dict(sd)
        if "constant_genes" in state:  # those of the data it was fitted on
            model._constant = np.isin(np.asarray(genes, dtype=object),
                                      state["constant_genes"])
        model.history = state["history"]
        model.settings = state["settings"]
        model.fit_summary = state.get("fit_summary", {})
        model.fit_info = state.get("fit_info", {})
        model.earlier_fits = state.get("earlier_fits", [])  # files before it: trained once
        if "gene_symbols" in state:  # the symbols it was fitted with, not adata's
            model.gene_symbols = state["gene_symbols"]
            model._symbols = _Symbols(state["gene_symbols"], state["symbols"], model.genes)
        model._saved_pruner = state.get("pruner")
        model.is_trained = bool(state["settings"])
        if adata is not None and adata is not given:
            # write_results() writes into the AnnData given, not the model's view of its
            # genes (a copy anndata would make of it, out of the user's reach)
            model._target = given
        return model

    @classmethod
    def _without_data(cls, state: dict[str, Any], frame: Callable[[Any], pd.DataFrame | None],
                      device: torch.device | str | None) -> GRNModel:
        """Build a model from a saved state alone: what the constructor sets, minus the data."""
        if "start" not in state:
            raise ValueError("this model file predates data-free loading; pass the AnnData: "
                             "GRNModel.load(path, adata)")
        model = cls.__new__(cls)
        model.genes = pd.Index(state["genes"])
        model.time_key, model.trajectory_key = state["time_key"], state["trajectory_key"]
        model.layer, model.init = state["layer"], state["init"]
        model.n_hidden, model.seed = int(state["n_hidden"]), int(state["seed"])
        model.dtype = getattr(torch, state["dtype"])
        model.device = check_device(device)
        model.prior, model.ppi = frame(state["prior"]), frame(state["ppi"])
        model.gene_symbols, model._symbols = None, None  # load reads the record
        model.time_scale = float(state["time_scale"])
        model.trajectories = list(state["trajectories"])
        model._adata = model._x = model._times = model._codes = model._tiebreak = None
        model._start = state["start"].numpy()
        model._constant = np.zeros(len(model.genes), dtype=bool)  # load reads the record
        model._saved_time_range = tuple(float(t) for t in state["time_range"])
        # the weights are overwritten; a generator of its own leaves torch's global stream
        model.func = PhoenixODEFunc(len(model.genes), model.n_hidden, init=model.init,
                                    dtype=model.dtype, device=model.device,
                                    generator=torch.Generator().manual_seed(model.seed))
        model.history, model.settings, model.fit_summary, model.fit_info = {}, {}, {}, {}
        model.earlier_fits = []
        model.pruner, model._saved_pruner, model.is_trained = None, None, False
        return model


def _check_saved(state: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Check a saved model's fields against each other before a model is built from them.

    Raises a ValueError naming ``path`` and the field: an edited or crafted file failed
    with torch's AttributeError (``dtype="bogus"``), allocated gigabytes before a shape
    check (``n_hidden=10**8``), failed with torch's multi-line "Error(s) in loading
    state_dict", or loaded NaN weights and duplicated genes without a word.
    """

    def bad(text: str) -> ValueError:
        return ValueError(f"{str(path)!r} is not a valid GRN model file: {text} (it was "
                          "edited, damaged or not written by GRNModel.save)")

    def is_int(value: Any) -> bool:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)

    def is_real(value: Any) -> bool:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)

    def finite(t: Any, shape: tuple[int, ...]) -> bool:  # a real tensor of that shape
        return (isinstance(t, torch.Tensor) and tuple(t.shape) == shape
                and t.dtype != torch.bool and not t.is_complex()
                and bool(torch.isfinite(t).all()))

    dtype = state["dtype"]
    if not isinstance(dtype, str) or dtype not in _SAVED_DTYPES:
        raise bad(f"dtype is {dtype!r}, not one of {list(_SAVED_DTYPES)}")
    genes = state["genes"]
    if not isinstance(genes, list) or not genes or not all(isinstance(g, str) for g in genes):
        raise bad(f"genes must be a list of strings (the gene names), got "
                  f"{type(genes).__name__} {str(genes)[:60]}")
    index = pd.Index(genes)
    if index.has_duplicates:  # the constructor refuses duplicated var_names
        raise bad(f"genes has duplicates: {index[index.duplicated()].unique().tolist()[:5]}")
    n_hidden = state["n_hidden"]
    if not is_int(n_hidden) or n_hidden < 1:
        raise bad(f"n_hidden must be a positive integer, got {n_hidden!r}")
    if state["init"] not in ("dash", "phoenix"):
        raise bad(f"init is {state['init']!r}, not one of ['dash', 'phoenix']")
    sd = state["state_dict"]
    if not isinstance(sd, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                           for k, v in sd.items()):
        raise bad("state_dict must be a dict of weight name -> tensor")
    lacking = [name for name in _WEIGHT_DIMS if name not in sd]
    if lacking:
        raise bad(f"state_dict lacks the weights {lacking}")
    size = {"G": len(genes), "h": int(n_hidden)}
    for name, dims in _WEIGHT_DIMS.items():
        t, expected = sd[name], tuple(size[d] for d in dims)
        if tuple(t.shape) != expected:  # name the setting the shape disagrees with
            dim = next((d for d, n in zip(dims, t.shape, strict=False) if size[d] != n),
                       dims[0]) if t.dim() == len(dims) else dims[0]
            who = (f"genes names {len(genes)} genes" if dim == "G"
                   else f"n_hidden is {n_hidden}")
            raise bad(f"{who} but the weight {name!r} has shape {tuple(t.shape)}; expected "
                      f"{expected}")
        if not t.is_floating_point():
            raise bad(f"the weight {name!r} is a {t.dtype} tensor, not a floating one")
        if not bool(torch.isfinite(t).all()):
            raise bad(f"the weight {name!r} holds NaN or infinite values")
    for key in sd:
        if key in _WEIGHT_DIMS:
            continue
        weight = key.removesuffix("_mask")
        if weight == key or weight not in _WEIGHT_DIMS:
            raise bad(f"state_dict holds {key!r}, which is neither a weight nor a mask of one")
        if sd[key].dtype != torch.bool or sd[key].shape != sd[weight].shape:
            raise bad(f"the mask {key!r} must be a bool tensor of shape "
                      f"{tuple(sd[weight].shape)}, got a {sd[key].dtype} tensor of shape "
                      f"{tuple(sd[key].shape)}")
    n = len(genes)
    if not finite(state["offset"], (n,)):
        raise bad(f"offset must be a tensor of {n} finite values (one per gene)")
    if not finite(state["scale"], (n,)) or not bool((state["scale"] > 0).all()):
        raise bad(f"scale must be a tensor of {n} positive finite values (one per gene)")
    if "start" in state and not finite(state["start"], (n,)):
        raise bad(f"start must be a tensor of {n} finite values (one per gene)")
    if "time_range" in state:
        times = state["time_range"]
        if not isinstance(times, list | tuple) or len(times) != 2 or not all(
                is_real(t) and math.isfinite(t) for t in times) or not times[0] < times[1]:
            raise bad(f"time_range must be two finite increasing times, got {times!r}")
    for key in ("prior", "ppi"):
        if state[key] is not None and not finite(state[key], (n, n)):
            raise bad(f"{key} must be None or a tensor of {n} x {n} finite values")
    scale = state["time_scale"]
    if not is_real(scale) or not 0 < scale < math.inf:
        raise bad(f"time_scale must be a positive finite number, got {scale!r}")
    if not is_int(state["seed"]) or state["seed"] < 0:
        raise bad(f"seed must be an integer >= 0, got {state['seed']!r}")
    if not isinstance(state["time_key"], str):
        raise bad(f"time_key must be a string, got {state['time_key']!r}")
    for key in ("trajectory_key", "layer"):
        if state[key] is not None and not isinstance(state[key], str):
            raise bad(f"{key} must be None or a string, got {state[key]!r}")
    for key in ("settings", "history", "fit_summary", "fit_info"):
        if key in state and not isinstance(state[key], dict):
            raise bad(f"{key} must be a dict, got {type(state[key]).__name__}")
    per_gene = state.get("fit_summary", {}).get("r2_per_gene")  # absent in older files
    if per_gene is not None and not (isinstance(per_gene, dict) and all(
            isinstance(g, str) and is_real(v) for g, v in per_gene.items())):
        raise bad("fit_summary['r2_per_gene'] must be a dict of gene names to numbers")
    if state.get("pruner") is not None and not isinstance(state["pruner"], dict):
        raise bad(f"pruner must be None or a dict, got {type(state['pruner']).__name__}")
    if "trajectories" in state and not (isinstance(state["trajectories"], list) and all(
            isinstance(t, str) for t in state["trajectories"])):
        raise bad("trajectories must be a list of strings (the trajectory names)")
    fits = state.get("earlier_fits", [])
    if not isinstance(fits, list) or not all(
            isinstance(f, dict) and isinstance(f.get("settings"), dict)
            and isinstance(f.get("fit_info"), dict) and is_int(f.get("epochs"))
            and f["epochs"] >= 0 for f in fits):
        raise bad("earlier_fits must be a list of dicts with settings, fit_info and epochs")
    if "gene_symbols" in state and not (
            isinstance(state["gene_symbols"], str) and isinstance(state.get("symbols"), list)
            and len(state["symbols"]) == n and all(isinstance(v, str) for v in state["symbols"])):
        raise bad(f"gene_symbols must be a string with symbols a list of {n} strings (one "
                  "per gene)")
    if "constant_genes" in state and not (isinstance(state["constant_genes"], list) and all(
            isinstance(g, str) and g in index for g in state["constant_genes"])):
        raise bad("constant_genes must be a list of names from genes")


def _sparse_block(net: np.ndarray, pos: np.ndarray, n_vars: int,
                  dtype: torch.dtype) -> Any:
    """``net`` placed at rows and columns ``pos`` of an ``n_vars`` x ``n_vars`` CSR matrix.

    Only the non-zero effects are stored, in the model's dtype (float64 for a float64
    model, else float32, which holds float32 and bfloat16 effects exactly).
    """
    import scipy.sparse as sp

    rows, cols = np.nonzero(net)
    values = net[rows, cols].astype(np.float64 if dtype == torch.float64 else np.float32)
    out = sp.csr_matrix((values, (pos[rows], pos[cols])), shape=(n_vars, n_vars))
    out.sort_indices()  # canonical CSR, as scanpy's graphs are
    return out


def _varp_block(matrix: Any, pos: np.ndarray) -> np.ndarray:
    """Rows and columns ``pos`` of a ``varp`` matrix (dense or scipy sparse), as float64.

    Cut before densifying: a sparse network of a fit on some genes of 12,300 became a
    1.2 GB float64 array on the way to its block.
    """
    if hasattr(matrix, "tocsr"):
        return _dense(matrix.tocsr()[pos][:, pos])
    return _dense(np.asarray(matrix)[np.ix_(pos, pos)])


def _gene_positions(genes: list[str], var: list[str], whose: str, advice: str) -> np.ndarray:
    """Position in ``var`` (``adata.var_names``) of each of the model's ``genes``.

    Raises a ValueError naming the genes ``var`` lacks (``whose``: "the model's"; ``advice``:
    what to do) or holds more than once (which of them is meant is unknown).
    """
    where: dict[str, int] = {}
    twice: set[str] = set()
    for i, g in enumerate(var):
        if g in where:
            twice.add(g)
        where.setdefault(g, i)
    missing = [g for g in genes if g not in where]
    if missing:
        shown = "[" + ", ".join(map(repr, missing[:10])) + (", ...]" if len(missing) > 10
                                                           else "]")
        raise ValueError(f"adata lacks {len(missing)} of {whose} {len(genes)} genes: {shown} "
                         f"(matched to adata.var_names by name); {advice}")
    dup = [g for g in genes if g in twice]
    if dup:
        raise ValueError(f"adata.var_names has genes of the model more than once: {dup[:10]}; "
                         "make them unique first, adata.var_names_make_unique()")
    return np.array([where[g] for g in genes], dtype=np.intp)


def _mean_abs_steps(x: np.ndarray, first: np.ndarray, second: np.ndarray,
                    chunk_bytes: int = 1 << 25) -> torch.Tensor:
    """Per pair ``mean_j |x[second, j] - x[first, j]|``, gathered a block of pairs at a time.

    Row by row the same numbers as on the whole gathered arrays, without holding them.
    """
    xt = torch.from_numpy(x)
    rows = max(1, chunk_bytes // max(1, x.shape[1] * x.itemsize))
    parts = [(xt[second[s:s + rows]] - xt[first[s:s + rows]]).abs().mean(dim=1)
             for s in range(0, len(first), rows)]
    return torch.cat(parts) if parts else torch.zeros(0, dtype=xt.dtype)


def _warn_on_distant_pairs(x: np.ndarray, first: np.ndarray, second: np.ndarray,
                           time_key: str, trajectory_key: str | None) -> None:
    """Warn when consecutive cells are far apart in expression (e.g. branches joined).

    A cell's successor in time should be close to it, about as close as its nearest
    neighbour among all cells. A pseudotime over several lineages without a lineage
    key chains cells of different branches, whose steps are many times larger.
    """
    if len(first) < 10 or x.shape[0] < 20:
        return
    rng = np.random.default_rng(0)
    pick = rng.choice(len(first), min(len(first), 300), replace=False)
    x0 = x[first[pick]]
    step = np.linalg.norm(x[second[pick]] - x0, axis=1)
    ref = x[rng.choice(x.shape[0], min(x.shape[0], 2000), replace=False)]
    # squared distances by |a|^2 + |b|^2 - 2ab: (300, 2000) values whatever the gene count
    sq = (x0**2).sum(1)[:, None] + (ref**2).sum(1)[None, :] - 2.0 * x0 @ ref.T
    d = np.sqrt(np.clip(sq, 0.0, None))
    d[d <= 1e-12 * (1 + np.sqrt((x0**2).sum(1)))[:, None]] = np.inf  # the cell itself
    nearest = d.min(axis=1)
    ok = np.isfinite(nearest) & (nearest > 0)
    if ok.sum() < 10:
        return
    ratio = float(np.median(step[ok] / nearest[ok]))
    if ratio > 5:
        warnings.warn(
            f"consecutive cells in time are far apart in expression: a cell's next cell "
            f"(time key {time_key!r}, trajectory key {trajectory_key!r}) is a median "
            f"{ratio:.0f} times farther than its nearest neighbour. The pairs likely join "
            "different lineages (a branching pseudotime needs a lineage or branch as "
            "trajectory_key) or the time key does not order the cells; the fit learns "
            "jumps, not dynamics", UserWarning, stacklevel=user_stacklevel())


def _fit_info(history: dict[str, list[float]], epochs: int,
              pruner: DashPruner | None) -> dict[str, Any]:
    """How a fit ended, from its history: :attr:`GRNModel.fit_info`."""
    best = _kept_epoch(history)
    epochs_run = len(history["epoch"])
    return {
        # fit() runs every epoch unless early stopping ends it (or ended the fit it resumed)
        "stopped_early": epochs_run < epochs,
        "best_epoch": best,
        "best_val_loss": float(history["val_loss"][best - 1]) if best else math.nan,
        "lr_reductions": int(np.nansum(history["lr_cut"])),
        "final_lr": float(history["lr"][-1]) if epochs_run else math.nan,
        "solver_retries": int(np.nansum(history["retries"])),
        "pruning_rounds": int(sum(history["pruned"])),
        "pruning_rounds_scheduled": 0 if pruner is None else
        pruner.schedule.rounds_by(epochs, epochs),
    }


def _begins_with(history: Mapping[str, Sequence[float]],
                 head: Mapping[str, Sequence[float]]) -> bool:
    """Whether ``history`` starts with the epochs of ``head`` (NaN equal to NaN).

    A fit resumed from its own checkpoint returns its whole history, whose first epochs are
    those of the fit the model ran before (a fit that goes on from the trained model begins
    anew, at epoch 1, with other losses).
    """
    n = len(head.get("epoch", []))
    if n == 0 or len(history.get("epoch", [])) < n:
        return False
    for key in ("epoch", "train_loss", "val_loss"):
        a, b = head.get(key), history.get(key)
        if a is None or b is None or not np.array_equal(
                np.asarray(a, dtype=np.float64), np.asarray(b[:n], dtype=np.float64),
                equal_nan=True):
            return False
    return True


def _warn_on_short_schedule(info: dict[str, Any], pruning: str, epochs: int,
                            sparsity: float, pruner: DashPruner,
                            checkpoint: str | os.PathLike[str] | None) -> None:
    """Warn when a fit made fewer pruning rounds than its schedule places in ``epochs``.

    Early stopping waits for the last round, but a fit that goes on from the checkpoint of
    one that had ended (stopped early, or at a last epoch where no round is made) made its
    rounds by that fit's schedule: it is less sparse than a fit of ``epochs`` epochs.
    """
    done, scheduled = info["pruning_rounds"], info["pruning_rounds_scheduled"]
    target = pruner.schedule.sparsity_after(pruner.rounds + scheduled - done)
    source = ("" if checkpoint is None else
              f" (it went on from the checkpoint {str(checkpoint)!r} of a fit that had "
              "ended, whose rounds followed its own, shorter schedule)")
    warnings.warn(
        f"pruning={pruning!r} made {done} of the {scheduled} pruning rounds that "
        f"epochs={epochs} schedules{source}, so {sparsity:.3f} of the weights are zero "
        f"where the schedule prunes about {target:.3f}; for the scheduled sparsity, fit "
        "afresh (without that checkpoint)", UserWarning, stacklevel=user_stacklevel())


def _r2_on(settings: Mapping[str, Any]) -> str:
    """Say what a fit's ``fit_summary`` was measured on, from its :attr:`GRNModel.settings`.

    ``"held-out trajectories"``, ``"held-out pairs"`` (random pairs, with fewer than 8
    trajectories; also for models saved before ``val_split`` was recorded) or
    ``"training pairs"`` (nothing held out: ``val_fraction=0``, or a single pair).
    """
    if settings.get("val_split") == "none" or settings.get("n_pairs_val") == 0:
        return "training pairs"
    return ("held-out trajectories" if settings.get("val_split") == "trajectories" else
            "held-out pairs")


def _r2(mse: float, base: float) -> float:
    """One-step R^2: the share of the no-change error ``base`` that the model's ``mse`` removes.

    NaN when ``base`` is 0 (nothing changed in the pairs measured, so nothing to explain).
    """
    return 1.0 - mse / base if base > 0 else float("nan")


@torch.no_grad()
def _r2_per_gene(func: torch.nn.Module, pairs: Pairs, genes: pd.Index, *, method: str,
                 rtol: float, atol: float, options: dict[str, Any] | None) -> dict[str, float]:
    """Each gene's one-step R^2 over ``pairs``, measured as ``fit_summary["r2"]`` is.

    The pairs are solved in the batches :func:`~biomodels.grn.train.evaluate_loss` uses
    (dopri5 then takes the same steps), and each gene's mean squared error and no-change
    error give its R^2 by :func:`_r2`; weighted by the no-change errors, their mean is the
    pooled R^2 (up to rounding).

    Parameters
    ----------
    func
        The fitted vector field.
    pairs
        The one-step pairs ``fit_summary`` was measured on (at least one).
    genes
        The model's genes, in the order of the pairs' columns.
    method, rtol, atol, options
        The fit's solver settings.

    Returns
    -------
    dict
        Gene name -> R^2 (a float; NaN for a gene that does not change in ``pairs``).
    """
    was = func.training
    func.eval()
    total = torch.zeros(pairs.x0.shape[1], dtype=torch.float64, device=pairs.x0.device)
    try:
        for start in range(0, len(pairs), _EVAL_BATCH):
            sl = slice(start, start + _EVAL_BATCH)
            pred = integrate(func, pairs.x0[sl], pairs.dt[sl], method=method, rtol=rtol,
                             atol=atol, options=options)
            total += ((pred - pairs.x1[sl]).to(torch.float64) ** 2).sum(dim=0)
    finally:
        func.train(was)
    mse = (total / len(pairs)).cpu().numpy()
    base = ((pairs.x1 - pairs.x0).to(torch.float64) ** 2).mean(dim=0).cpu().numpy()
    return {str(g): _r2(float(m), float(b)) for g, m, b in zip(genes, mse, base)}


def _warn_on_poor_fit(summary: dict[str, Any], prior_weight: float,
                      r2_on: str = "held-out pairs", method: str = "dopri5") -> None:
    """Warn when the soft prior outweighs the data, or the model explains little of them.

    An R^2 that is not finite or below 0 (worse than predicting no change) gets a warning
    of its own, whatever the prior: a fit whose held-out R^2 was NaN (its predictions not
    finite) or -13.8 had been kept with no warning or the mild "explains only" one.
    """
    r2 = summary["r2"]
    # with nothing held out the R^2 is the training fit's: the messages said "held-out"
    held = r2_on != "training pairs"
    r2_label = f"held-out R^2 {r2:.2f}" if held else f"R^2 {r2:.2f} on the training pairs"
    changes = ("held-out one-step changes" if held else
               "one-step changes of the training pairs (none held out)")
    outweighs = False
    if "prior_mse" in summary:
        prior_term = (1.0 - prior_weight) * summary["prior_mse"]
        data_term = prior_weight * summary["mse"]
        if prior_term > data_term:
            warnings.warn(
                f"the soft prior outweighs the data in the loss ((1 - prior_weight) * prior "
                f"MSE = {prior_term:.2g} against prior_weight * data MSE = {data_term:.2g}; "
                f"{r2_label}), so the network mostly reflects the prior. With "
                "small time steps the data MSE is tiny; raise prior_weight towards 1 "
                "(krumsiek11: 0.9997) and compare fit_summary['r2'].",
                UserWarning, stacklevel=user_stacklevel(),
            )
            outweighs = True
    # what to try when the fit went wrong: --method on the command line (options_in_errors)
    solver = "" if method in _ADAPTIVE else ", method='dopri5' (adaptive steps)"
    advice = (f"train again with a lower learning rate (lr=, or --lr on the command line)"
              f"{solver} or another seed; and check that the time key orders the cells of "
              "each trajectory")
    if not math.isfinite(summary["mse"]):
        warnings.warn(
            f"the model's predictions of the {changes} are not finite ({r2_label}): the "
            f"fitted field blows up on them, so its network does not describe the data; "
            f"{advice}.", UserWarning, stacklevel=user_stacklevel())
        return
    if math.isnan(r2):  # no change in the pairs measured: no yardstick
        warnings.warn(
            f"the {changes} are all 0 ({r2_label}: their no-change MSE is 0), so nothing "
            "measures how well the model fits the data; give it data whose cells change "
            "between consecutive time points.", UserWarning, stacklevel=user_stacklevel())
        return
    if r2 < 0:
        per_gene = {g: v for g, v in summary.get("r2_per_gene", {}).items()
                    if math.isfinite(v)}
        worst = ("" if not per_gene else
                 "; worst gene {!r} at {:.4g}".format(*min(per_gene.items(),
                                                           key=lambda kv: kv[1])))
        warnings.warn(
            f"the model explains none of the {changes} ({r2_label} < 0{worst}): it "
            "predicts them worse than predicting no change, so its network does not "
            "describe the data. A fit this poor was trained too briefly or went unstable: "
            f"train longer, or {advice}.", UserWarning, stacklevel=user_stacklevel())
        return
    if r2 < 0.1 and not outweighs:
        warnings.warn(
            f"the model explains only {r2:.0%} of the "
            + ("held-out one-step changes" if held else
               "one-step changes of the training pairs (none held out)") + "; train "
            "longer, or check that the time key orders the cells of each trajectory.",
            UserWarning, stacklevel=user_stacklevel(),
        )


def _attached_masks(func: torch.nn.Module) -> Any:
    from core import MaskSet

    try:
        return MaskSet(dict(MaskSet.from_module(func).masks))
    except ValueError:
        return None


def _check_step_size(step_size: Any, method: str) -> float | None:
    """Return ``step_size`` as a float (None stays None), refused with an adaptive ``method``.

    Checked as a float: "0.5" failed at a product naming nothing, and a 0-d array reached the
    solver (NumPy's ``__array_wrap__`` deprecation warning). With an adaptive method
    torchdiffeq ignored it ("Unexpected arguments"), the settings recorded it, and the
    step warning advised the very method in use.
    """
    if step_size is None:
        return None
    step_size = check_number("step_size", step_size, above=0)
    if method in _ADAPTIVE:
        raise ValueError(f"step_size={step_size} is for a fixed-step method, but "
                         f"method={method!r} chooses its own steps: leave step_size "
                         "out, or pass a fixed-step method such as 'rk4'")
    return step_size


def _grid_within(step: float) -> Callable[[Any, torch.Tensor, torch.Tensor], torch.Tensor]:
    """Build a torchdiffeq ``grid_constructor`` of steps <= ``step`` through every time.

    Each interval between the output times ``t`` is cut into equal steps, so the output
    times are grid points (torchdiffeq's own ``step_size`` grid interpolates them linearly,
    a second-order error under RK4).
    """

    def grid(func: Any, y0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        # in float64 (float32's arange is inexact beyond 2^24: steps of 0.5 at 4e6); the
        # output times themselves are kept as given
        t64 = t.to(torch.float64)
        # (a hair of slack: a gap of 2 steps must not take 3 by rounding)
        counts = torch.ceil((t64[1:] - t64[:-1]) / step * (1 - 1e-9)).clamp(min=1).long()
        parts: list[torch.Tensor] = []
        for i, k in enumerate(counts.tolist()):
            inner = t64[i] + (t64[i + 1] - t64[i]) / k * torch.arange(
                1, k, dtype=torch.float64, device=t.device)
            parts += [t[i:i + 1], inner.to(t.dtype)]
        return torch.cat([*parts, t[-1:]])

    return grid


class _Clamped(torch.nn.Module):
    """Vector field with some genes held fixed (zero derivative)."""

    def __init__(self, func: torch.nn.Module, idx: list[int], n_genes: int) -> None:
        super().__init__()
        self.func = func
        free = torch.ones(n_genes, dtype=torch.bool)
        free[idx] = False
        self.register_buffer("free", free)

    def forward(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.func(t, y) * self.free.to(y)
