"""Score an inferred gene regulatory network against a known one.

The conventions follow BEELINE (Pratapa et al., "Benchmarking algorithms for gene regulatory
network inference from single-cell transcriptomic data", *Nature Methods* 17, 2020;
``Murali-group/Beeline``, ``BLEval/``): every directed regulator -> target pair of distinct
genes is a candidate edge (self-loops are excluded), the inferred network is ranked by its
absolute value, and

- **AUROC** is the area under the ROC curve with tied scores handled as scikit-learn does
  (the trapezoid between tied points, equal to the Mann-Whitney U statistic with ties counted
  one half);
- **AUPRC** is the trapezoidal area under scikit-learn's precision-recall curve
  (``auc(recall, precision)`` as in ``BLEval/computeAUC.py`` and, since v1.1, ``AUPRC.py``;
  the v1.0 pipeline behind the paper's figures took R PRROC's Davis-Goadrich area instead,
  another interpolation between the curve's points that matters mainly where tied scores
  span true edges); ``auprc_ratio`` divides it by
  the edge density (the AUPRC of a random ranking);
- **EPR** (early precision ratio) is the precision among the top-k pairs, k = number of true
  edges, with ties at the k-th score included and zero scores never counted as predictions
  (``BLEval/computeEarlyPrec.py``), divided by the density; scores are compared unrounded
  (BEELINE v1.0 rounded them to 6 decimals first, its later ``EarlyPrecision.py`` does not,
  which only matters for scores closer than 1e-6); ``signed_epr`` counts a top-k pair
  as a hit only when the predicted sign matches the true sign (BEELINE, whose methods mostly
  predict unsigned edges, instead reports one ratio per true sign; a signed model deserves the
  stricter single number; a pair a truth edge list gives both signs matches either).

Every gene of ``truth`` is a candidate, also one without any true edge; BEELINE's universe
holds only the genes its reference edge list names, so to reproduce its numbers drop such
genes from both matrices, or pass both networks as edge lists (a network link list scored
against BEELINE's ``refNetwork.csv`` takes the truth's genes); a TF x gene ``truth`` gives
its TF-restricted universe. ``network`` and ``truth`` are read in the forms
:func:`~biomodels.grn.align_prior` reads a prior: labelled matrices, edge tables (BEELINE's,
GENIE3's and GRNBoost2's link lists included) and CSV paths of either.

Two support-based numbers: ``balanced_accuracy`` of the non-zero pattern of the network
against the true adjacency, (TPR + TNR) / 2, as DASH (Hossain et al., NeurIPS 2024) reports
it, and ``sparsity``, the fraction of candidate gene pairs whose score is exactly zero (DASH's
"model sparsity" is the fraction of zero *weights*: ``GRNModel.evaluate`` adds it as
``weight_sparsity``).

Given the prior the model was fitted with, the same ranking is split where a prior matters:
does the fit tell the prior's true edges from its false ones (``auroc_prior_edges``), does it
find the true edges the prior lacks among the other candidates (``auroc_new_edges``), how
strictly does it keep the prior's edges on top (``prior_edges_first``), and does it correct
the prior's wrong signs (``prior_signs_corrected``). An overall AUROC close to the prior's own
can hide a network that only echoes the prior; these say which.

Orientation everywhere in :mod:`biomodels.grn`: rows are regulators, columns are targets.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["auprc", "auroc", "evaluate"]


def _check_scores(y_true: npt.ArrayLike, scores: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    # torch tensors (bfloat16, needing grad, on a GPU) as numpy reads them; imported here:
    # this module does not load torch
    from core.checks import host_array

    y_true = np.asarray(host_array(y_true, "y_true"))
    scores = np.asarray(host_array(scores, "scores"), dtype=np.float64)
    if y_true.ndim != 1 or scores.ndim != 1 or y_true.shape != scores.shape:
        raise ValueError(
            "y_true and scores must be 1-d arrays of the same length, "
            f"got shapes {y_true.shape} and {scores.shape}"
        )
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or inf")
    try:
        labels = np.unique(y_true)
    except TypeError:  # None among the labels: numpy's sort error named nothing
        raise ValueError(
            "y_true must be binary (0/1 or bool), got a mix of types (e.g. None)"
        ) from None
    if not np.isin(labels, [0, 1]).all():
        raise ValueError(f"y_true must be binary (0/1 or bool), got values {labels.tolist()}")
    y_true = y_true.astype(bool)
    if y_true.all() or not y_true.any():
        raise ValueError("y_true must contain both positives and negatives")
    return y_true, scores


def auroc(y_true: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """Area under the ROC curve, ties handled as ``sklearn.metrics.roc_auc_score``.

    Computed from average ranks (the Mann-Whitney U statistic): a tied positive/negative pair
    counts one half, which is exactly the trapezoidal area under the ROC curve that places
    tied scores at one threshold.

    Parameters
    ----------
    y_true
        Binary labels (0/1 or bool), 1-d.
    scores
        Scores of the same length; larger means more likely positive. Either may be a
        torch tensor of any floating dtype (bfloat16 included), on any device, also one
        that needs grad: it is read as float64 on the CPU.

    Returns
    -------
    float
        AUROC in [0, 1].

    Examples
    --------
    >>> auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y, s = _check_scores(y_true, scores)
    return _auroc_from_ranks(y, _average_ranks(s, np.argsort(s)))


def _average_ranks(s: np.ndarray, order: np.ndarray) -> np.ndarray:
    """1-based ranks of ``s``, tied scores sharing their average rank.

    ``order`` is any permutation that sorts ``s`` ascending: ties share their average rank,
    so the order within a tie is irrelevant and an unstable sort gives the same ranks.
    """
    sorted_s = s[order]
    ranks = np.empty(len(s), dtype=np.float64)
    boundaries = np.flatnonzero(np.diff(sorted_s)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(s)]))
    avg = (starts + ends + 1) / 2.0  # mean of ranks start+1 .. end
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def _auroc_from_ranks(y: np.ndarray, ranks: np.ndarray) -> float:
    """AUROC as the Mann-Whitney U statistic of the average ``ranks`` of the positives."""
    n_pos = int(y.sum())
    return _mann_whitney(ranks[y].sum(), n_pos, len(y) - n_pos)


def _mann_whitney(rank_sum: float, n_pos: int, n_neg: int) -> float:
    """AUROC from the sum of the positives' average ranks (1-based, ties one half)."""
    u = rank_sum - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def _subset_order(order: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Return the permutation sorting ``s[mask]`` ascending, read off ``order`` (sorting ``s``)."""
    return (np.cumsum(mask) - 1)[order[mask[order]]]


def _pr_curve(y: np.ndarray, s: np.ndarray,
              order: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall at each distinct threshold, as ``precision_recall_curve``.

    ``order`` optionally sorts ``s`` *ascending* (it is read backwards).
    """
    # only the last index of each run of tied scores is read, where the cumulative counts do
    # not depend on the order within the run: an unstable sort, or an ascending one read
    # backwards, is exact here
    order = np.argsort(-s) if order is None else order[::-1]
    s_sorted = s[order]
    y_sorted = y[order]
    # last index of each run of equal scores = one threshold each
    distinct = np.flatnonzero(np.diff(s_sorted))
    last = np.concatenate((distinct, [len(s) - 1]))
    return _pr_points(np.cumsum(y_sorted)[last].astype(np.float64), last + 1)


def _pr_points(tps: np.ndarray, above: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall from each threshold's true positives and pairs at or above it.

    ``tps`` (float64) and ``above`` (integers) are cumulative counts, one per distinct score
    from the highest down; the last threshold takes every pair.
    """
    fps = above - tps
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    # scikit-learn stops once full recall is reached and prepends (recall 0, precision 1)
    stop = int(np.searchsorted(tps, tps[-1])) + 1
    precision = np.concatenate(([1.0], precision[:stop]))
    recall = np.concatenate(([0.0], recall[:stop]))
    return precision, recall


def auprc(y_true: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """Area under the precision-recall curve as BEELINE computes it.

    The precision-recall curve of ``sklearn.metrics.precision_recall_curve`` (one point per
    distinct score, tied scores form one point, plus the point recall 0 / precision 1)
    integrated with the trapezoid rule (``sklearn.metrics.auc(recall, precision)``), as in
    BEELINE's ``BLEval/computeAUC.py``. This is not the step-wise *average precision*.

    Parameters
    ----------
    y_true
        Binary labels (0/1 or bool), 1-d.
    scores
        Scores of the same length; larger means more likely positive. Either may be a
        torch tensor of any floating dtype (bfloat16 included), on any device, also one
        that needs grad: it is read as float64 on the CPU.

    Returns
    -------
    float
        AUPRC in [0, 1].

    Examples
    --------
    >>> round(auprc([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]), 4)
    0.7917
    """
    y, s = _check_scores(y_true, scores)
    precision, recall = _pr_curve(y, s)
    return _trapezoid(precision, recall)


def _trapezoid(precision: np.ndarray, recall: np.ndarray) -> float:
    """Trapezoidal area under a precision-recall curve (``sklearn.metrics.auc``)."""
    return float(np.sum(np.diff(recall) * (precision[1:] + precision[:-1]) / 2.0))


def _early_precision(y: np.ndarray, s: np.ndarray, hits: np.ndarray, k: int) -> float:
    """BEELINE early precision: top-k pairs by score, ties at the k-th score included."""
    nonzero = s > 0
    if not nonzero.any():
        return 0.0
    kth = -np.partition(-s, min(k, len(s)) - 1)[min(k, len(s)) - 1]
    threshold = max(kth, s[nonzero].min())
    chosen = s >= threshold
    return float(hits[chosen].sum() / chosen.sum())


def _aligned(network: pd.DataFrame, truth: pd.DataFrame,
             what: str = "network") -> tuple[np.ndarray, np.ndarray]:
    """``network`` and ``truth`` aligned by name, off-diagonal entries as 1-d arrays.

    ``what`` names the first matrix in messages (``"network"`` or ``"prior"``).
    """
    net_rows, net_cols = _labels(network, what)
    rows, cols = _labels(truth, "truth")
    _same_genes(net_rows, net_cols, rows, cols, what)
    try:
        w = _values(network, net_rows, net_cols, rows, cols)
        t = truth.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{what} and truth must hold numbers") from err
    if not np.isfinite(w).all():
        raise ValueError(f"{what} contains NaN or inf")
    if not np.isfinite(t).all():
        raise ValueError("truth contains NaN or inf")
    # self-loops by position (comparing the G x G names as objects took 0.3 s at 3,000)
    off = np.ones(t.shape, dtype=bool)
    at = cols.get_indexer(rows)
    off[np.flatnonzero(at >= 0), at[at >= 0]] = False
    return w[off], t[off]


def _labels(frame: pd.DataFrame, name: str) -> tuple[pd.Index, pd.Index]:
    """Return the gene names of ``frame``'s rows and columns as text, checked to be unique."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"{name} must be a pandas DataFrame with gene names as index (regulators) "
            f"and columns (targets), got {type(frame).__name__}"
        )
    # names as text, as align_prior reads them: pd.read_csv(path, index_col=0) puts
    # numeric ids (Entrez) in the index as ints but in the header as text, and the
    # genes "differed" in a message that listed the same names on both sides
    rows = pd.Index([str(g) for g in frame.index])
    cols = pd.Index([str(g) for g in frame.columns])
    for axis, names in (("index", rows), ("columns", cols)):
        if names.has_duplicates:
            dup = names[names.duplicated()].unique().tolist()
            raise ValueError(f"{name}.{axis} has duplicated gene names: {dup}")
    return rows, cols


def _same_genes(net_rows: pd.Index, net_cols: pd.Index, rows: pd.Index, cols: pd.Index,
                what: str) -> None:
    """Refuse a matrix (``what``) whose genes differ from the truth's (``rows``, ``cols``)."""
    for axis, a, b in (("index", net_rows, rows), ("columns", net_cols, cols)):
        if set(a) != set(b):
            only_net = sorted(set(a) - set(b))
            only_truth = sorted(set(b) - set(a))
            raise ValueError(
                f"{what} and truth must have the same genes on their {axis} "
                f"(rows are regulators, columns targets); only in {what}: {only_net}, "
                f"only in truth: {only_truth}" + _differ_in_case(only_net, only_truth, what)
            )


def _values(frame: pd.DataFrame, own_rows: pd.Index, own_cols: pd.Index, rows: pd.Index,
            cols: pd.Index) -> np.ndarray:
    """``frame``'s values (labelled ``own_rows``, ``own_cols``) in the order ``rows``, ``cols``.

    Raises pandas' TypeError or ValueError for values that are not numbers.
    """
    # na_value: pandas < 2.1 refused a nullable column's <NA> ("cannot convert ... with
    # missing values"), reported as "must hold numbers"; as NaN it is named after
    return frame.to_numpy(dtype=np.float64, na_value=np.nan)[
        np.ix_(own_rows.get_indexer(rows), own_cols.get_indexer(cols))]


def _differ_in_case(only_net: list[str], only_truth: list[str], what: str) -> str:
    """Say which genes differ only in case between the two matrices, or ``""``."""
    from biomodels.grn.prior import _case_pairs, _shown_pairs

    pairs = _case_pairs(only_net, only_truth)
    if not pairs:
        return ""
    # "only in network: ['GATA1'], only in truth: ['Gata1']" did not say why they differ
    return (f"; {len(pairs)} of them match when case is ignored ({what} ~ truth: "
            f"{_shown_pairs(pairs)}): names are compared exactly, so give both one spelling")


def _not_a_table(value: object, name: str) -> str:
    """Say what :func:`evaluate` reads, for an input of no such form (a TypeError's text)."""
    from biomodels.grn.prior import _graph_advice

    said = (f"{name} must be a pandas DataFrame with gene names as index (regulators) and "
            "columns (targets), an edge table (e.g. BEELINE's Gene1, Gene2, Type; "
            f"GRNBoost2's TF, target, importance) or a CSV path of either, got "
            f"{type(value).__name__}")
    graph = _graph_advice(value, name)
    if graph:
        return f"{said}; {graph}"
    if hasattr(value, "shape") or isinstance(value, list | tuple):
        # an array has no gene names: which gene is which row cannot be guessed
        return (f"{said}: an array has no gene names; pass pd.DataFrame({name}, "
                "index=genes, columns=genes) with the genes of its rows (regulators) and "
                "columns (targets) in order")
    return said


#: Whether an edge list is read as its pairs (False: as its matrix, whose non-zero pairs are
#: then taken; the reference the tests compare the pairs with)
_READ_PAIRS = True


def _read(value: object, name: str, scores: bool = False,
          either: list[tuple[str, str]] | None = None,
          pairs: bool = False) -> tuple[pd.DataFrame | _Pairs, bool]:
    """Read ``value`` as :func:`biomodels.grn.align_prior` reads a prior (not yet aligned).

    ``either`` (the truth's reading only): filled with the pairs its edge list gives both
    signs, which signed metrics count as right whatever the network's sign. ``pairs``: an
    edge list is returned as its listed pairs (:class:`_Pairs`), not its matrix.
    """
    from biomodels.grn.prior import _read_table

    # the reader's pairs where it gives them: its matrix over every gene of a list was
    # 3.2 GB at 20,000 genes, built twice over
    read = _read_table(value, name, scores=scores, truth=either is not None, either=either,
                       sparse=pairs and _READ_PAIRS)
    if read is None:
        raise TypeError(_not_a_table(value, name))
    unread = "" if read[1] else _unread_table(read[0], name)
    if unread:
        raise ValueError(unread)
    if pairs and read[1]:
        return _Pairs.of(read[0]), True
    return read


def _onto(edges: pd.DataFrame, frame: pd.DataFrame, name: str, other: str) -> pd.DataFrame:
    """Align the matrix of an edge list to the rows and columns of the labelled ``frame``.

    Genes the list names beyond ``frame``'s are dropped with a warning, as
    :func:`biomodels.grn.align_prior` drops them; pairs it does not list are 0.
    """
    from biomodels.grn.prior import _align_edges

    rows = list(dict.fromkeys(str(g) for g in frame.index))
    cols = list(dict.fromkeys(str(g) for g in frame.columns))
    genes = pd.Index(list(dict.fromkeys(rows + cols)))
    # an edge list in other identifiers (Ensembl IDs against symbols) is refused there, as
    # align_prior refuses it: every pair scored 0, AUROC 0.5 with a warning only
    return _align_edges(edges, genes, name, False, other).reindex(index=rows, columns=cols)


def _unread_table(frame: pd.DataFrame, name: str) -> str:
    """Say why a DataFrame of words with row numbers is no matrix, or ``""`` if it may be one.

    Its row numbers were compared as genes: "only in network: ['0', '1', '10', ...]".
    """
    if not isinstance(frame.index, pd.RangeIndex) or not any(
            frame.iloc[:, i].map(lambda v: isinstance(v, str)).any()
            for i, dtype in enumerate(frame.dtypes) if not pd.api.types.is_numeric_dtype(dtype)):
        return ""  # numbers (in an object column too) under gene names 0, 1, ... may be one
    cols = [str(c) for c in frame.columns]
    if frame.shape[1] == frame.shape[0] + 1 and set(frame.iloc[:, 0].astype(str)) == set(
            cols[1:]):  # pd.read_csv(path) without index_col=0
        return (f"{name}'s first column {cols[0]!r} holds the gene names; make it the index "
                f"({name}.set_index({cols[0]!r})), or pass the CSV path itself")
    from biomodels.grn.prior import _EDGE_REGULATOR, _EDGE_TARGET

    return (f"{name} has row numbers as its index and columns of words {cols[:6]}, as an edge "
            "table has, but no column is named as a regulator "
            f"({', '.join(_EDGE_REGULATOR)}) and one as a target ({', '.join(_EDGE_TARGET)}; "
            f"any case): rename them, e.g. {name}.rename(columns={{...: 'regulator', ...: "
            "'target'}), the score column 'weight'")


class _Pairs(NamedTuple):
    """The non-zero entries of the gene x gene matrix of an edge list."""

    genes: pd.Index  # of its rows, and of its columns
    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, edges: Any) -> _Pairs:
        """Take the non-zero entries of an edge list as it was read.

        ``edges``: its matrix (a DataFrame over every gene it names), or its pairs (an
        object with that matrix's ``genes`` and the ``rows``, ``cols`` and ``values`` of
        its entries, :class:`biomodels.grn.prior._EdgeList`).
        """
        if isinstance(edges, pd.DataFrame):
            values = edges.to_numpy(dtype=np.float64)
            rows, cols = np.nonzero(values)
            return cls(edges.index, rows, cols, values[rows, cols])
        listed = np.asarray(edges.values, dtype=np.float64)
        kept = listed != 0  # NaN kept, as np.nonzero keeps it
        return cls(edges.genes, np.asarray(edges.rows)[kept], np.asarray(edges.cols)[kept],
                   listed[kept])

    def frame(self) -> pd.DataFrame:
        """Return the matrix again (unlisted pairs, and those listed with a 0, are 0)."""
        values = np.zeros((len(self.genes), len(self.genes)))
        values[self.rows, self.cols] = self.values
        return pd.DataFrame(values, index=self.genes, columns=self.genes.copy())


class _Listed(NamedTuple):
    """Two edge lists (and a prior) as their listed pairs among the truth's genes.

    Each of ``truth``, ``network`` and ``prior`` is (keys, values): the pairs with a
    non-zero value, self-loops left out, as sorted keys ``regulator * n_genes + target``
    (codes of the truth's genes). ``prior`` may still be a labelled matrix (checked and
    taken to pairs after the truth is, as :func:`evaluate` checks it last) or None.
    """

    n_genes: int
    truth: tuple[np.ndarray, np.ndarray]
    network: tuple[np.ndarray, np.ndarray]
    both: np.ndarray  # keys of the pairs the truth's edge list gives both signs
    prior: tuple[np.ndarray, np.ndarray] | pd.DataFrame | None
    genes: pd.Index


def _keys(rows: np.ndarray, cols: np.ndarray, values: np.ndarray,
          n_genes: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted keys ``row * n_genes + col`` of the pairs (codes < 0: genes dropped), values.

    Self-loops are left out: they are no candidate pairs.
    """
    kept = (rows >= 0) & (cols >= 0) & (rows != cols)
    keys = rows[kept].astype(np.int64) * n_genes + cols[kept]
    order = np.argsort(keys)
    return keys[order], values[kept][order]


def _keys_onto(pairs: _Pairs, genes: pd.Index, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Return an edge list's pairs among the truth's ``genes`` (:func:`_keys`).

    Genes beyond ``genes`` are dropped with the warning (and no shared gene refused with
    the error) of :func:`_onto`, which aligns the list's matrix instead.
    """
    from biomodels._stacklevel import user_stacklevel
    from biomodels.grn.prior import _case_note

    names = pd.Index([str(g) for g in pairs.genes])
    at = genes.get_indexer(names)
    if not (at >= 0).any():
        raise ValueError(
            f"no gene of the {name} edge list is among the truth's genes; check that both "
            f"use the same identifiers ({name} e.g. {pairs.genes[:5].tolist()}, truth e.g. "
            f"{genes[:5].tolist()})"
            + _case_note(list(pairs.genes), list(genes), "truth", f"the {name}'s genes"))
    # a pair's mean weight that overflowed (two of 1e308): refused as in the matrix
    for bad, what, fix in ((np.isnan(pairs.values), "missing values (NaN/NA)",
                            f"fill them ({name}.fillna(0): 0 is no edge)"),
                           (np.isinf(pairs.values), "infinite values",
                            "give finite edge weights")):
        _refuse_listed(pairs, bad, name, what, fix)
    missing = names[at < 0].tolist()
    if missing:
        shown = ", ".join(missing[:20]) + (" ..." if len(missing) > 20 else "")
        warnings.warn(
            f"{len(missing)} gene(s) of the {name} are not in the truth and are ignored: "
            f"{shown}" + _case_note(missing, genes, "truth"),
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return _keys(at[pairs.rows], at[pairs.cols], pairs.values, len(genes))


def _refuse_listed(pairs: _Pairs, bad: np.ndarray, name: str, what: str, fix: str) -> None:
    """Refuse the ``bad`` pairs in the words, and order, the matrix's check names them in."""
    if not bad.any():
        return
    from biomodels.grn.prior import _refuse_nonfinite

    rows, cols = pairs.rows[bad], pairs.cols[bad]
    # the matrix over the genes of the bad pairs alone: they keep their order, row by row
    used = np.unique(np.concatenate((rows, cols)))
    marks = np.zeros((len(used), len(used)), dtype=bool)
    marks[np.searchsorted(used, rows), np.searchsorted(used, cols)] = True
    labels = pd.Index([str(g) for g in pairs.genes])[used]
    _refuse_nonfinite(marks, labels, labels, name, what, fix)


def _listed(network: _Pairs, truth: _Pairs, mixed: list[tuple[str, str]],
            prior: object) -> _Listed:
    """Two edge lists and ``prior`` as :func:`_tables` matches them, by their listed pairs."""
    genes = pd.Index([str(g) for g in truth.genes])
    n_genes = len(genes)
    true = _keys(truth.rows, truth.cols, truth.values, n_genes)
    net = _keys_onto(network, genes, "network")
    both = _keys(genes.get_indexer([r for r, _ in mixed]),
                 genes.get_indexer([t for _, t in mixed]), np.ones(len(mixed)), n_genes)[0]
    given: tuple[np.ndarray, np.ndarray] | pd.DataFrame | None = None
    if prior is not None:
        read, _ = _read(prior, "prior", pairs=True)
        given = _keys_onto(read, genes, "prior") if isinstance(read, _Pairs) else read
    if not np.isfinite(truth.values).all():  # after the prior's reading, as _aligned
        raise ValueError("truth contains NaN or inf")
    return _Listed(n_genes, true, net, both, given, genes)


def _tables(network: object, truth: object, prior: object, pairs: bool = True
            ) -> (tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]
                  | _Listed):
    """``network``, ``truth`` and ``prior`` as labelled matrices, edge lists on shared genes.

    Labelled matrices are returned as given (their genes are matched by :func:`_aligned`).
    An edge list takes the genes of the labelled matrix it is scored with: the network's
    for a truth, the truth's for a network or prior; two edge lists take the truth's genes
    (BEELINE's universe). Last, with the labels of the truth, 1 where its edge list gives
    a pair both signs (None where it gives none).

    Two edge lists (``pairs``) are returned as their listed pairs instead
    (:class:`_Listed`), the same genes matched with the same messages.
    """
    # an edge list as its listed pairs: the matrices of two lists over 10,000 genes were
    # 0.8 GB each, the scores of every pair among them 8.5 GB in all
    net, net_edges = _read(network, "network", scores=True, pairs=pairs)
    mixed: list[tuple[str, str]] = []
    true, true_edges = _read(truth, "truth", either=mixed, pairs=pairs and net_edges)
    if isinstance(net, _Pairs):
        if isinstance(true, _Pairs):
            return _listed(net, true, mixed, prior)
        net = net.frame()  # scored against a labelled matrix: over its genes
    if true_edges and net_edges:
        net = _onto(net, true, "network", "truth")
    elif true_edges:
        true = _onto(true, net, "truth", "network")
    elif net_edges:
        net = _onto(net, true, "network", "truth")
    either = None
    if mixed:
        rows = pd.Index([str(g) for g in true.index]).get_indexer([r for r, _ in mixed])
        cols = pd.Index([str(g) for g in true.columns]).get_indexer([t for _, t in mixed])
        kept = (rows >= 0) & (cols >= 0)  # genes the network lacks were dropped
        marks = np.zeros(true.shape)
        marks[rows[kept], cols[kept]] = 1.0
        either = pd.DataFrame(marks, index=true.index, columns=true.columns)
    if prior is None:
        return net, true, None, either
    given, prior_edges = _read(prior, "prior")
    return net, true, _onto(given, true, "prior", "truth") if prior_edges else given, either


def _auroc_or_nan(y: np.ndarray, s: np.ndarray, order: np.ndarray) -> float:
    """AUROC (``order`` sorts ``s``), NaN when ``y`` lacks positives or negatives."""
    if not 0 < int(y.sum()) < len(y):  # the question has no answer
        return float("nan")
    return _auroc_from_ranks(y, _average_ranks(s, order))


def _prior_breakdown(w: np.ndarray, t: np.ndarray, p: np.ndarray,
                     order: np.ndarray, ranks: np.ndarray,
                     either: np.ndarray) -> dict[str, float]:
    """Rankings split by the prior's support (candidate pairs as 1-d arrays).

    ``order`` sorts ``|w|`` ascending and ``ranks`` are its average ranks; the subsets'
    orders are read off it (a sort each made these rankings 45 % of :func:`evaluate`'s
    8.4 s at 3,000 genes). ``either``: the true edges whose either sign is right.
    """
    s, y, in_prior = np.abs(w), t != 0, p != 0
    flipped = in_prior & y & (np.sign(p) != np.sign(t)) & ~either
    corrected = (float((np.sign(w[flipped]) == np.sign(t[flipped])).mean())
                 if flipped.any() else float("nan"))
    return {
        "auroc_prior_edges": _auroc_or_nan(y[in_prior], s[in_prior],
                                           _subset_order(order, in_prior)),
        "auroc_new_edges": _auroc_or_nan(y[~in_prior], s[~in_prior],
                                         _subset_order(order, ~in_prior)),
        # P(a prior edge scores above a pair outside the prior), ties one half
        "prior_edges_first": (_auroc_from_ranks(in_prior, ranks)
                              if 0 < int(in_prior.sum()) < len(s) else float("nan")),
        "prior_signs_corrected": corrected,
        "prior_true_edges": float((in_prior & y).sum()),
        "prior_false_edges": float((in_prior & ~y).sum()),
        "prior_missed_edges": float((~in_prior & y).sum()),
        "prior_flipped_edges": float(flipped.sum()),
    }


def evaluate(network: pd.DataFrame | str | os.PathLike[str],
             truth: pd.DataFrame | str | os.PathLike[str],
             *, prior: pd.DataFrame | str | os.PathLike[str] | None = None
             ) -> dict[str, float]:
    """Score a signed network against the true one (BEELINE conventions, self-loops excluded).

    Parameters
    ----------
    network
        Inferred network: rows = regulators, columns = targets, signed real scores (for
        instance :meth:`GRNModel.network`). Pairs are ranked by ``|network|``; an entry of
        exactly zero means "no edge". A DataFrame with gene names as index and columns, or
        a link list, one row per pair, read as :func:`~biomodels.grn.align_prior` reads an
        edge table (its regulator and target columns found by name: ``regulator``,
        ``source``, ``tf``, ``gene1`` or ``regulatoryGene`` and ``target``, ``gene2`` or
        ``targetGene``, any case), its score the first column named as a sign there
        (``effect``, ``sign``, ``mode``, ``mor``, ``weight``, ``regulation``; ``Type`` with
        ``Gene1``) or else ``importance``, ``EdgeWeight`` or ``score``: arboreto's
        GRNBoost2/GENIE3 output (``TF, target, importance``), GENIE3's R ``getLinkList``,
        BEELINE's ``rankedEdges``, our ``edges.csv`` (by ``effect``). A pair the list leaves
        out scores 0, as in BEELINE (a top-k ranking is scored as it stands). Or a path to
        a CSV of either (tab-separated for ``.tsv``/``.tab``/``.txt``, and for BEELINE's
        ``rankedEdges.csv``, which BEELINE writes tab-separated: a ``.csv`` whose header is
        ``Gene1, Gene2, EdgeWeight``), also arboreto's header-less one (regulator, target,
        score: two genes that are not numbers and a number a line).
    truth
        True network: non-zero = edge, its sign = activation (+) or repression (-). A
        DataFrame with the same gene names as ``network`` on each axis (the order may
        differ; rows are matched by name), an edge table such as BEELINE's
        ``refNetwork.csv`` (``Gene1, Gene2, Type`` with ``+``/``-``), or a path to a CSV of
        either: the forms :func:`~biomodels.grn.align_prior` reads. In an edge list every
        listed pair is a true edge, as BEELINE counts them: a pair listed with both signs
        (TRRUST lists pairs as Activation and Repression) is one edge, of the sign of its
        weights' mean (the sign listed more often, + on a tie), which the signed metrics
        (``signed_epr``, ``prior_flipped_edges``, ``prior_signs_corrected``) count as right
        whatever the sign given to it (a warning names such pairs).
    prior
        Optional prior network the model was given, in the forms ``truth`` takes (as a
        matrix, the same genes and layout as ``truth``): adds the rankings split by the
        prior's support (below).

    Returns
    -------
    dict of str to float
        ``auroc``, ``auprc``, ``auprc_ratio`` (AUPRC / density: how many times better
        than a random ranking), ``epr`` (early precision ratio), ``signed_epr`` (early
        precision with sign-matched hits, over density; either sign matches a pair the
        truth's edge list gives both), ``balanced_accuracy`` (non-zero
        support vs true support), ``sparsity`` (of the network: fraction of candidate
        pairs it scores exactly zero), ``density`` (of the truth, not of the network: true
        edges / candidate pairs, the AUPRC of a random ranking; the network's share of
        non-zero pairs is ``1 - sparsity``) and ``n_true_edges``. All over directed pairs
        of distinct genes. With ``prior``, also:

        - ``auroc_prior_edges``: AUROC among the prior's edges, true against false ones
          (does the fit clean the prior?);
        - ``auroc_new_edges``: AUROC among the pairs outside the prior, the true edges the
          prior lacks against the non-edges (does the fit find what the prior missed?);
        - ``prior_edges_first``: probability that a prior edge outranks a pair outside the
          prior (ties one half; 1 = the prior's support on top, 0.5 = the prior ignored);
        - ``prior_signs_corrected``: among true edges the prior has with the wrong sign, the
          fraction the network gives the true sign;
        - the counts ``prior_true_edges``, ``prior_false_edges``, ``prior_missed_edges`` and
          ``prior_flipped_edges``.

        A number whose question has no answer for this prior (e.g. a prior without false
        edges for ``auroc_prior_edges``) is NaN.

    Raises
    ------
    TypeError
        If an input is of no form above (an array has no gene names: the message says how
        to label it) or a matrix holds non-numbers.
    ValueError
        If the gene names of two matrices differ (the message names those that differ only
        in case), are duplicated, values are not finite, no gene of an edge list is among
        the genes it is matched to, or the truth has no edge (or no non-edge) among
        distinct-gene pairs. Also if ``network``, ``truth`` or ``prior`` is a path that
        does not exist or is a folder ("truth file '...' does not exist", naming the
        argument): a ValueError, as :func:`~biomodels.grn.align_prior` raises, not a
        FileNotFoundError.

    Warns
    -----
    UserWarning
        If an edge list names genes beyond those of the matrix it is scored with (the
        network's genes for a truth, the truth's for a network or prior): they are ignored,
        as :func:`~biomodels.grn.align_prior` ignores them.

    Notes
    -----
    Gene names are matched as the prior's are: an edge list gets the genes of the labelled
    matrix it is scored with, and two edge lists get the truth's genes, BEELINE's candidate
    universe; a truth edge list names only genes with edges, so scored with a network
    matrix the network's other genes are candidates too.

    Two edge lists (and a prior) are scored from the pairs they list: every other candidate
    pair scores 0, one tie at the bottom of the ranking that is counted, not built, so time
    and memory grow with the listed pairs, not with the genes squared (a 20,000-gene truth
    and a 4,500-pair ranking: 0.2 s and 10 MB, where every directed pair of 10,000 genes
    took 30 s and 8.5 GB). Every number is bit for bit that of the gene x gene matrices.

    Pratapa et al., *Nature Methods* 17:147-154 (2020); DASH: Hossain et al., NeurIPS 2024.
    GENIE3: Huynh-Thu et al., *PLoS ONE* 5:e12776 (2010); GRNBoost2/arboreto: Moerman et al.,
    *Bioinformatics* 35:2159-2161 (2019).

    Examples
    --------
    >>> import pandas as pd
    >>> genes = ["a", "b", "c"]
    >>> truth = pd.DataFrame([[0, 1, 0], [0, 0, -1], [0, 0, 0]], index=genes, columns=genes)
    >>> evaluate(truth * 0.5, truth)["auroc"]
    1.0
    >>> prior = pd.DataFrame([[0, 1, 1], [0, 0, 0], [0, 0, 0]], index=genes, columns=genes)
    >>> evaluate(truth * 0.5, truth, prior=prior)["prior_missed_edges"]
    1.0
    >>> beeline = pd.DataFrame({"Gene1": ["a", "b"], "Gene2": ["b", "c"], "Type": ["+", "-"]})
    >>> evaluate(truth * 0.5, beeline)["auroc"]  # BEELINE's refNetwork as the truth
    1.0
    """
    return _evaluate(network, truth, prior, pairs=True)


def _evaluate(network: object, truth: object, prior: object, *,
              pairs: bool) -> dict[str, float]:
    """:func:`evaluate`; ``pairs=False`` scores two edge lists on their gene x gene matrices.

    The listed pairs give every number bit for bit as the matrices do (tests compare them);
    the matrices are the reference, and the path of every other input.
    """
    read = _tables(network, truth, prior, pairs)
    if isinstance(read, _Listed):
        return _listed_metrics(read)
    network, truth, prior, either = read
    w, t = _aligned(network, truth)
    # a pair the truth's edge list gives both signs: either sign of the network is right
    both = (_aligned(either, truth, "truth")[0] != 0 if either is not None
            else np.zeros(t.shape, dtype=bool))
    y = t != 0
    n_pos = int(y.sum())
    _check_edges(n_pos, len(y))
    s = np.abs(w)
    # one sort serves every ranking below (a sort per ranking made evaluate twice as slow:
    # 6.2-6.9 s against 3.2-3.4 s at 3,000 genes with a prior)
    order = np.argsort(s)
    density = n_pos / len(y)
    sign_hit = y & ((np.sign(w) == np.sign(t)) | (both & (w != 0)))
    ranks = _average_ranks(s, order)
    precision, recall = _pr_curve(y, s, order)
    support = s > 0
    out = _summary(_auroc_from_ranks(y, ranks), _trapezoid(precision, recall),
                   _early_precision(y, s, y, n_pos), _early_precision(y, s, sign_hit, n_pos),
                   (support & y).sum() / n_pos, (~support & ~y).sum() / (len(y) - n_pos),
                   support.mean(), density, n_pos)
    if prior is not None:
        p, _ = _aligned(prior, truth, "prior")
        out.update(_prior_breakdown(w, t, p, order, ranks, both))
    return out


def _check_edges(n_pos: int, n_pairs: int) -> None:
    """Refuse a truth without an edge, or without a non-edge, among its candidate pairs."""
    if n_pos == 0 or n_pos == n_pairs:
        raise ValueError(
            "truth must have at least one edge and one non-edge between distinct genes "
            f"(found {n_pos} edges among {n_pairs} pairs)"
        )


def _summary(area_roc: float, area_pr: float, early: float, signed_early: float,
             tpr: float, tnr: float, support: float, density: float,
             n_pos: int) -> dict[str, float]:
    """Return :func:`evaluate`'s numbers without a prior (``support``: the non-zero share)."""
    return {
        "auroc": area_roc,
        "auprc": area_pr,
        "auprc_ratio": area_pr / density,
        "epr": early / density,
        "signed_epr": signed_early / density,
        "balanced_accuracy": float((tpr + tnr) / 2.0),
        "sparsity": float(1.0 - support),
        "density": float(density),
        "n_true_edges": float(n_pos),
    }


def _at(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Return the ``values`` at the keys ``query`` (``keys`` sorted, unique), 0 elsewhere."""
    if len(keys) == 0:
        return np.zeros(len(query))
    at = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return np.where(keys[at] == query, values[at], 0.0)


def _auroc_with_zeros(s: np.ndarray, y: np.ndarray, order: np.ndarray, n_zero: int,
                      zero_pos: int) -> float:
    """AUROC of the pairs ``s`` (``order`` sorts them) and ``n_zero`` more scoring 0.

    ``zero_pos`` of the latter are positives. The zeros tie below every listed score: the
    average rank (n_zero + 1) / 2 each, the listed ranks shifted up by n_zero. Ranks are
    half-integers, so their sums are exact, in this order as in the matrix's (while below
    2^52, 4.5e15: a million true edges among 60,000 genes).
    """
    ranks = _average_ranks(s, order) + n_zero
    n_pos = int(y.sum()) + zero_pos
    return _mann_whitney(ranks[y].sum() + zero_pos * ((n_zero + 1) / 2.0), n_pos,
                         len(s) + n_zero - n_pos)


def _listed_metrics(read: _Listed) -> dict[str, float]:
    """:func:`evaluate`'s numbers from the listed pairs of two edge lists.

    Every candidate pair a list leaves out scores 0, so the unlisted pairs are one tie at
    the bottom of the ranking, counted but never made: O(E log E) for E listed pairs where
    the matrices took every directed pair of the truth's genes (n_genes^2).
    """
    n_pairs = read.n_genes * read.n_genes - read.n_genes
    t_keys, t_values = read.truth
    n_pos = len(t_keys)
    _check_edges(n_pos, n_pairs)
    keys, w = read.network
    s = np.abs(w)  # all > 0: a listed 0 is no score, as an unlisted pair
    t = _at(t_keys, t_values, keys)
    y = t != 0
    n_zero = n_pairs - len(s)
    order = np.argsort(s)
    density = n_pos / n_pairs
    sign_hit = y & ((np.sign(w) == np.sign(t)) | np.isin(keys, read.both))
    # the precision-recall curve's thresholds: the listed scores from the top, then 0
    descending = order[::-1]
    s_sorted = s[descending]
    last = np.flatnonzero(np.diff(s_sorted))
    last = np.concatenate((last, [len(s) - 1])) if len(s) else last
    tps = np.cumsum(y[descending])[last]
    above = last + 1
    if n_zero:
        tps = np.concatenate((tps, [n_pos]))
        above = np.concatenate((above, [n_pairs]))
    precision, recall = _pr_points(tps.astype(np.float64), above)
    hits = y.sum()
    # the top-k stops at the lowest non-zero score: only listed pairs are chosen, and the
    # k-th of the listed scores (their lowest when fewer) sets the same threshold
    out = _summary(_auroc_with_zeros(s, y, order, n_zero, n_pos - int(hits)),
                   _trapezoid(precision, recall), _early_precision(y, s, y, n_pos),
                   _early_precision(y, s, sign_hit, n_pos), hits / n_pos,
                   (n_zero - n_pos + hits) / (n_pairs - n_pos),
                   np.float64(len(s)) / n_pairs, density, n_pos)
    if read.prior is None:
        return out
    if isinstance(read.prior, pd.DataFrame):
        p_keys, p = _matrix_keys(read.prior, read.genes)
    else:
        p_keys, p = read.prior
    out.update(_listed_breakdown(read, p_keys, p, s, y, order))
    return out


def _matrix_keys(prior: pd.DataFrame, genes: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Return a labelled ``prior`` matrix's non-zero pairs (:func:`_keys`).

    Checked as :func:`_aligned` checks it against a truth over ``genes``.
    """
    rows, cols = _labels(prior, "prior")
    _same_genes(rows, cols, genes, genes, "prior")
    try:
        values = _values(prior, rows, cols, genes, genes)
    except (TypeError, ValueError) as err:
        raise TypeError("prior and truth must hold numbers") from err
    if not np.isfinite(values).all():
        raise ValueError("prior contains NaN or inf")
    at_rows, at_cols = np.nonzero(values)
    return _keys(at_rows, at_cols, values[at_rows, at_cols], len(genes))


def _listed_breakdown(read: _Listed, p_keys: np.ndarray, p: np.ndarray, s: np.ndarray,
                      y: np.ndarray, order: np.ndarray) -> dict[str, float]:
    """Split the ranking by the prior as :func:`_prior_breakdown` does, from listed pairs.

    ``s`` and ``y``: the network's listed pairs (``order`` sorts ``s``); ``p_keys`` and
    ``p``: the prior's.
    """
    n_pairs = read.n_genes * read.n_genes - read.n_genes
    t_keys, t_values = read.truth
    keys, w = read.network
    n_pos, n_prior = len(t_keys), len(p_keys)
    t = _at(t_keys, t_values, p_keys)  # at the prior's pairs
    w_prior = _at(keys, w, p_keys)
    true = t != 0
    flipped = true & (np.sign(p) != np.sign(t)) & ~np.isin(p_keys, read.both)
    corrected = (float((np.sign(w_prior[flipped]) == np.sign(t[flipped])).mean())
                 if flipped.any() else float("nan"))
    n_true = int(true.sum())
    s_prior = np.abs(w_prior)
    in_prior = np.isin(keys, p_keys)  # the listed pairs the prior has
    out = ~in_prior
    n_out, pos_out = n_pairs - n_prior, n_pos - n_true
    return {
        "auroc_prior_edges": _auroc_or_nan(true, s_prior, np.argsort(s_prior)),
        "auroc_new_edges": (
            _auroc_with_zeros(s[out], y[out], _subset_order(order, out),
                              n_out - int(out.sum()), pos_out - int(y[out].sum()))
            if 0 < pos_out < n_out else float("nan")),
        "prior_edges_first": (
            _auroc_with_zeros(s, in_prior, order, n_pairs - len(s),
                              n_prior - int(in_prior.sum()))
            if 0 < n_prior < n_pairs else float("nan")),
        "prior_signs_corrected": corrected,
        "prior_true_edges": float(n_true),
        "prior_false_edges": float(n_prior - n_true),
        "prior_missed_edges": float(pos_out),
        "prior_flipped_edges": float(flipped.sum()),
    }
