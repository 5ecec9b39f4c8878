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
    n_neg = len(y) - n_pos
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
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
    tps = np.cumsum(y_sorted)[last].astype(np.float64)
    fps = (last + 1) - tps
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
    labels = []
    for name, frame in ((what, network), ("truth", truth)):
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
        labels.append((rows, cols))
    (net_rows, net_cols), (rows, cols) = labels
    for axis, a, b in (("index", net_rows, rows), ("columns", net_cols, cols)):
        if set(a) != set(b):
            only_net = sorted(set(a) - set(b))
            only_truth = sorted(set(b) - set(a))
            raise ValueError(
                f"{what} and truth must have the same genes on their {axis} "
                f"(rows are regulators, columns targets); only in {what}: {only_net}, "
                f"only in truth: {only_truth}" + _differ_in_case(only_net, only_truth, what)
            )
    try:
        # na_value: pandas < 2.1 refused a nullable column's <NA> ("cannot convert ... with
        # missing values"), reported as "must hold numbers"; as NaN it is named below
        w = network.to_numpy(dtype=np.float64, na_value=np.nan)[
            np.ix_(net_rows.get_indexer(rows), net_cols.get_indexer(cols))]
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


def _read(value: object, name: str, scores: bool = False,
          either: list[tuple[str, str]] | None = None) -> tuple[pd.DataFrame, bool]:
    """Read ``value`` as :func:`biomodels.grn.align_prior` reads a prior (not yet aligned).

    ``either`` (the truth's reading only): filled with the pairs its edge list gives both
    signs, which signed metrics count as right whatever the network's sign.
    """
    from biomodels.grn.prior import _read_table

    read = _read_table(value, name, scores=scores, truth=either is not None, either=either)
    if read is None:
        raise TypeError(_not_a_table(value, name))
    unread = "" if read[1] else _unread_table(read[0], name)
    if unread:
        raise ValueError(unread)
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


def _tables(network: object, truth: object, prior: object
            ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    """``network``, ``truth`` and ``prior`` as labelled matrices, edge lists on shared genes.

    Labelled matrices are returned as given (their genes are matched by :func:`_aligned`).
    An edge list takes the genes of the labelled matrix it is scored with: the network's
    for a truth, the truth's for a network or prior; two edge lists take the truth's genes
    (BEELINE's universe). Last, with the labels of the truth, 1 where its edge list gives
    a pair both signs (None where it gives none).
    """
    net, net_edges = _read(network, "network", scores=True)
    mixed: list[tuple[str, str]] = []
    true, true_edges = _read(truth, "truth", either=mixed)
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
    network, truth, prior, either = _tables(network, truth, prior)
    w, t = _aligned(network, truth)
    # a pair the truth's edge list gives both signs: either sign of the network is right
    both = (_aligned(either, truth, "truth")[0] != 0 if either is not None
            else np.zeros(t.shape, dtype=bool))
    y = t != 0
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == len(y):
        raise ValueError(
            "truth must have at least one edge and one non-edge between distinct genes "
            f"(found {n_pos} edges among {len(y)} pairs)"
        )
    s = np.abs(w)
    # one sort serves every ranking below (a sort per ranking made evaluate twice as slow:
    # 6.2-6.9 s against 3.2-3.4 s at 3,000 genes with a prior)
    order = np.argsort(s)
    density = n_pos / len(y)
    sign_hit = y & ((np.sign(w) == np.sign(t)) | (both & (w != 0)))
    ranks = _average_ranks(s, order)
    precision, recall = _pr_curve(y, s, order)
    area_pr = _trapezoid(precision, recall)
    support = s > 0
    tpr = (support & y).sum() / n_pos
    tnr = (~support & ~y).sum() / (len(y) - n_pos)
    out = {
        "auroc": _auroc_from_ranks(y, ranks),
        "auprc": area_pr,
        "auprc_ratio": area_pr / density,
        "epr": _early_precision(y, s, y, n_pos) / density,
        "signed_epr": _early_precision(y, s, sign_hit, n_pos) / density,
        "balanced_accuracy": float((tpr + tnr) / 2.0),
        "sparsity": float(1.0 - support.mean()),
        "density": float(density),
        "n_true_edges": float(n_pos),
    }
    if prior is not None:
        p, _ = _aligned(prior, truth, "prior")
        out.update(_prior_breakdown(w, t, p, order, ranks, both))
    return out
