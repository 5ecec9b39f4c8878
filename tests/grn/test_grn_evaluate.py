"""Tests of biomodels.grn.evaluate: BEELINE metrics against hand-computed and sklearn values."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest

from biomodels.grn.evaluate import auprc, auroc, evaluate


def _brute_auroc(y, s):
    """P(score_pos > score_neg) + 0.5 P(tie), over all pairs."""
    pos = [si for yi, si in zip(y, s) if yi]
    neg = [si for yi, si in zip(y, s) if not yi]
    total = sum((p > n) + 0.5 * (p == n) for p, n in itertools.product(pos, neg))
    return total / (len(pos) * len(neg))


def test_auroc_hand_cases():
    assert auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert auroc([0, 1], [0.0, 1.0]) == 1.0
    assert auroc([1, 0], [0.0, 1.0]) == 0.0
    # all tied: one threshold, diagonal ROC
    assert auroc([0, 1, 1, 0], [2.0, 2.0, 2.0, 2.0]) == pytest.approx(0.5)
    # ties across classes count one half: pos {1, 1}, neg {1, 0} -> (0.5+1+0.5+1)/4
    assert auroc([1, 1, 0, 0], [1.0, 1.0, 1.0, 0.0]) == pytest.approx(0.75)


def test_auroc_matches_brute_force(rng):
    for _ in range(20):
        n = int(rng.integers(4, 30))
        y = rng.random(n) < 0.4
        y[0], y[1] = True, False
        s = rng.integers(0, 4, n).astype(float)  # many ties
        assert auroc(y, s) == pytest.approx(_brute_auroc(y, s))


def test_auprc_hand_cases():
    # scores 0.9(+) 0.8(-) 0.7(+) 0.1(-): PR points (0,1) (.5,1) (.5,.5) (1,2/3)
    # trapezoid: 0.5*1 + 0 + 0.5*(0.5+2/3)/2 = 0.7916..
    assert auprc([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(0.5 + 0.5 * (7 / 6) / 2)
    # perfect ranking: area 1
    assert auprc([1, 1, 0, 0], [4, 3, 2, 1]) == pytest.approx(1.0)
    # all tied: one point (1, density) joined to (0, 1): (1 + 0.5) / 2
    assert auprc([1, 0, 1, 0], [1, 1, 1, 1]) == pytest.approx(0.75)
    # points after full recall do not add area
    assert auprc([1, 0, 0, 0], [4, 3, 2, 1]) == pytest.approx(1.0)


def test_auroc_auprc_against_sklearn(rng):
    metrics = pytest.importorskip("sklearn.metrics")
    for _ in range(30):
        n = int(rng.integers(5, 60))
        y = rng.random(n) < 0.3
        y[0], y[1] = True, False
        s = np.round(rng.random(n), 1)  # ties
        assert auroc(y, s) == pytest.approx(metrics.roc_auc_score(y, s))
        prec, rec, _ = metrics.precision_recall_curve(y, s)
        assert auprc(y, s) == pytest.approx(metrics.auc(rec, prec))


def _frame(values, genes):
    return pd.DataFrame(np.asarray(values, dtype=float), index=genes, columns=genes)


GENES = ["a", "b", "c", "d"]
TRUTH = _frame(
    [
        [5, 1, 0, 0],  # self-loop on a must be ignored
        [0, 0, -1, 0],
        [0, 0, 0, 1],
        [0, 0, 0, 0],
    ],
    GENES,
)


def test_evaluate_perfect_signed_network():
    m = evaluate(TRUTH * 0.3, TRUTH)
    assert m["auroc"] == 1.0
    assert m["auprc"] == pytest.approx(1.0)
    assert m["density"] == pytest.approx(3 / 12)
    assert m["auprc_ratio"] == pytest.approx(4.0)
    assert m["epr"] == pytest.approx(4.0)
    assert m["signed_epr"] == pytest.approx(4.0)
    assert m["balanced_accuracy"] == 1.0
    assert m["sparsity"] == pytest.approx(9 / 12)


def test_evaluate_ignores_self_loops_and_order():
    net = TRUTH.copy()
    net.iloc[3, 3] = 100.0  # a huge self-loop must not matter
    shuffled = net.loc[["c", "a", "d", "b"], ["b", "d", "a", "c"]]
    assert evaluate(shuffled, TRUTH) == evaluate(TRUTH, TRUTH)


def test_evaluate_sign_errors_only_hit_signed_epr():
    m = evaluate(-TRUTH, TRUTH)
    assert m["auroc"] == 1.0 and m["epr"] == pytest.approx(4.0)
    assert m["signed_epr"] == 0.0


def test_evaluate_early_precision_ties_and_zeros():
    # top-3 by |w|: (a,b)=3 hit, (b,c)=2 hit, then a tie at 1 between (c,d) hit and (d,a) miss
    net = _frame([[0, 3, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1], [1, 0, 0, 0]], GENES)
    m = evaluate(net, TRUTH)
    # ties expanded: 4 predicted, 3 hits -> precision 3/4, over density 1/4
    assert m["epr"] == pytest.approx(3.0)
    # balanced accuracy: TPR 1, TNR 8/9
    assert m["balanced_accuracy"] == pytest.approx((1 + 8 / 9) / 2)
    assert m["sparsity"] == pytest.approx(8 / 12)
    # an empty network has no predictions: early precision 0, ranking all tied
    empty = evaluate(TRUTH * 0, TRUTH)
    assert empty["epr"] == 0.0 and empty["auroc"] == 0.5
    assert empty["balanced_accuracy"] == 0.5 and empty["sparsity"] == 1.0
    # fewer non-zero pairs than true edges: the top-k stops at the last non-zero score (the
    # k-th score, 0, would count every pair, precision 3/12, ratio 1)
    one = evaluate(_frame([[0, 3, 0, 0]] + [[0] * 4] * 3, GENES), TRUTH)
    assert one["epr"] == pytest.approx(4.0) and one["signed_epr"] == pytest.approx(4.0)


def test_evaluate_bad_input():
    with pytest.raises(TypeError, match="network must be a pandas DataFrame"):
        evaluate(TRUTH.to_numpy(), TRUTH)
    with pytest.raises(ValueError, match="only in network"):
        evaluate(_frame(np.eye(4), ["a", "b", "c", "x"]), TRUTH)
    bad = TRUTH.copy()
    bad.iloc[0, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        evaluate(bad, TRUTH)
    with pytest.raises(ValueError, match="at least one edge"):
        evaluate(TRUTH, TRUTH * 0)
    with pytest.raises(ValueError, match="duplicated"):
        evaluate(_frame(np.eye(4), ["a", "a", "c", "d"]), TRUTH)
    with pytest.raises(ValueError, match="both positives and negatives"):
        auroc([1, 1], [0.1, 0.2])


def _beeline_early_precision(net: pd.DataFrame, truth: pd.DataFrame) -> float:
    """BEELINE's computeEarlyPrec, transcribed step by step on an edge list."""
    rows = [
        (r, c, abs(net.loc[r, c]), truth.loc[r, c] != 0)
        for r in truth.index
        for c in truth.columns
        if r != c
    ]
    edges = pd.DataFrame(rows, columns=["Gene1", "Gene2", "EdgeWeight", "true"])
    k = int(edges["true"].sum())
    pred = edges.sort_values("EdgeWeight", ascending=False, kind="mergesort")
    pred = pred[pred["EdgeWeight"] > 0]
    if len(pred) == 0:
        return 0.0
    top = pred.iloc[: min(k, len(pred))]
    best = max(top["EdgeWeight"].iloc[-1], pred["EdgeWeight"].min())
    chosen = pred[pred["EdgeWeight"] >= best]
    return chosen["true"].sum() / len(chosen)


def test_epr_matches_beeline_transcription(rng):
    genes = [f"g{i}" for i in range(7)]
    for _ in range(25):
        truth = pd.DataFrame(
            (rng.random((7, 7)) < 0.25) * rng.choice([-1.0, 1.0], (7, 7)), genes, genes
        )
        truth = truth.mask(np.eye(7, dtype=bool), 0.0)  # pandas 3: .values is read-only
        truth.iloc[0, 1] = 1.0
        truth.iloc[1, 0] = 0.0
        net = pd.DataFrame(rng.integers(-2, 3, (7, 7)).astype(float), genes, genes)
        m = evaluate(net, truth)
        assert m["epr"] * m["density"] == pytest.approx(_beeline_early_precision(net, truth))


def test_candidate_universe_and_unrounded_ties_as_documented():
    # documented departures from BEELINE: a gene without true edges is still a candidate
    # (BEELINE's universe holds only the reference's genes: 2 edges / 6 pairs there)
    genes = ["a", "b", "c", "d"]
    truth = _frame([[0, 1, 0, 0], [0, 0, -1, 0], [0, 0, 0, 0], [0, 0, 0, 0]], genes)
    net = _frame([[0, 3, 0, 0], [0, 0, 2, 0], [1, 0, 0, 0], [0, 0, 0, 0]], genes)
    assert evaluate(net, truth)["density"] == pytest.approx(2 / 12)
    # a TF x gene truth is BEELINE's TF-restricted universe: 2 x 4 pairs less 2 self-loops
    tf = evaluate(net.loc[["a", "b"]], truth.loc[["a", "b"]])
    assert tf["density"] == pytest.approx(2 / 6) and tf["epr"] == pytest.approx(3.0)
    # scores are not rounded (BEELINE v1.0 rounded to 6 decimals, tying these two): the
    # 2nd-ranked (b, c) beats the miss (c, a) by 1e-9, so the top-2 holds 2 hits of 2
    close = _frame([[0, 3, 0, 0], [0, 0, 1 + 1e-9, 0], [1, 0, 0, 0], [0, 0, 0, 0]], genes)
    assert evaluate(close, truth)["epr"] == pytest.approx(1 / (2 / 12))


def test_auroc_symmetries(rng):
    y = rng.random(40) < 0.3
    y[:2] = [True, False]
    s = rng.normal(size=40)
    assert auroc(y, -s) == pytest.approx(1 - auroc(y, s))
    assert auroc(~y, s) == pytest.approx(1 - auroc(y, s))
    # invariant to strictly increasing transforms
    assert auroc(y, np.exp(3 * s)) == pytest.approx(auroc(y, s))
    assert auprc(y, np.exp(3 * s)) == pytest.approx(auprc(y, s))


def _abc(values):
    genes = ["a", "b", "c"]
    return pd.DataFrame(values, index=genes, columns=genes, dtype=float)


def test_prior_breakdown_hand_case():
    # truth a->b (+), a->c (-), b->c (+); prior flips a->b, keeps b->c, adds the false c->a
    # and misses a->c
    truth = _abc([[0, 1, -1], [0, 0, 1], [0, 0, 0]])
    prior = _abc([[0, -1, 0], [0, 0, 1], [1, 0, 0]])
    net = _abc([[0, 0.9, -0.5], [0.2, 0, 0.3], [0.4, 0.0, 0]])
    m = evaluate(net, truth, prior=prior)
    # prior pairs: a->b 0.9 (true), b->c 0.3 (true), c->a 0.4 (false): 1 of 2 above
    assert m["auroc_prior_edges"] == pytest.approx(0.5)
    # outside: a->c 0.5 (true) above b->a 0.2 and c->b 0
    assert m["auroc_new_edges"] == pytest.approx(1.0)
    # prior {0.9, 0.3, 0.4} against outside {0.5, 0.2, 0}: 3 + 2 + 2 of 9
    assert m["prior_edges_first"] == pytest.approx(7 / 9)
    # the flipped a->b has the true sign (+) in the network
    assert m["prior_signs_corrected"] == 1.0
    assert (m["prior_true_edges"], m["prior_false_edges"], m["prior_missed_edges"],
            m["prior_flipped_edges"]) == (2.0, 1.0, 1.0, 1.0)
    # the overall metrics do not depend on the prior
    plain = evaluate(net, truth)
    assert set(m) - set(plain) == {
        "auroc_prior_edges", "auroc_new_edges", "prior_edges_first", "prior_signs_corrected",
        "prior_true_edges", "prior_false_edges", "prior_missed_edges", "prior_flipped_edges"}
    assert all(m[k] == plain[k] for k in plain)
    assert evaluate(-net, truth, prior=prior)["prior_signs_corrected"] == 0.0


def test_prior_breakdown_matches_brute_force(rng):
    genes = [f"g{i}" for i in range(7)]
    off = ~np.eye(7, dtype=bool)
    for _ in range(20):
        t = np.where(rng.random((7, 7)) < 0.3, rng.choice([-1.0, 1.0], (7, 7)), 0.0)
        p = np.where(rng.random((7, 7)) < 0.3, rng.choice([-1.0, 1.0], (7, 7)), 0.0)
        # both groups hold positives and negatives
        t[0, 1], p[0, 1], t[0, 2], p[0, 2], t[2, 1], p[2, 1], t[1, 0], p[1, 0] = (
            1, 1, 0, 1, 1, 0, 0, 0)
        w = rng.integers(-3, 4, (7, 7)).astype(float)  # ties and zeros
        m = evaluate(pd.DataFrame(w, genes, genes), pd.DataFrame(t, genes, genes),
                     prior=pd.DataFrame(p, genes, genes))
        s, y, inp = np.abs(w)[off], (t != 0)[off], (p != 0)[off]
        assert m["auroc_prior_edges"] == pytest.approx(_brute_auroc(y[inp], s[inp]))
        assert m["auroc_new_edges"] == pytest.approx(_brute_auroc(y[~inp], s[~inp]))
        assert m["prior_edges_first"] == pytest.approx(_brute_auroc(inp, s))


def test_evaluate_sorts_once_with_the_values_of_a_sort_per_ranking(rng, monkeypatch):
    # evaluate reads every ranking off one sort of |network| (a sort each took 6.2-6.9 s
    # at 3,000 genes, one 3.2-3.4 s); the values are bit for bit those of auroc/auprc
    # called on each ranking, with ties, zeros and truth's columns in another order
    genes = [f"g{i}" for i in range(12)]
    for _ in range(10):
        t = np.where(rng.random((12, 12)) < 0.3, rng.choice([-1.0, 1.0], (12, 12)), 0.0)
        p = np.where(rng.random((12, 12)) < 0.3, rng.choice([-1.0, 1.0], (12, 12)), 0.0)
        t[0, 1], p[0, 1], t[0, 2], p[0, 2], t[2, 1], p[2, 1], t[1, 0], p[1, 0] = (
            1, 1, 0, 1, 1, 0, 0, 0)
        w = rng.integers(-3, 4, (12, 12)) * rng.random()  # ties and zeros
        cols = rng.permutation(12)
        truth = pd.DataFrame(t, genes, genes).iloc[:, cols]
        m = evaluate(pd.DataFrame(w, genes, genes), truth,
                     prior=pd.DataFrame(p, genes, genes).iloc[:, cols])
        off = ~np.eye(12, dtype=bool)
        s, y, inp = np.abs(w)[off], (t != 0)[off], (p != 0)[off]
        assert m["auroc"] == auroc(y, s)
        assert m["auprc"] == auprc(y, s)
        assert m["auroc_prior_edges"] == auroc(y[inp], s[inp])
        assert m["auroc_new_edges"] == auroc(y[~inp], s[~inp])
        assert m["prior_edges_first"] == auroc(inp, s)
    sorts = []
    argsort = np.argsort
    monkeypatch.setattr(np, "argsort", lambda a, *args, **kw: sorts.append(a.size)
                        or argsort(a, *args, **kw))
    evaluate(pd.DataFrame(w, genes, genes), truth,
             prior=pd.DataFrame(p, genes, genes).iloc[:, cols])
    assert sorts == [12 * 11]


def test_prior_breakdown_after_rank_prior_first_keeps_the_fit_order():
    from biomodels.grn.prior import rank_prior_first

    truth = _abc([[0, 1, -1], [0, 0, 1], [0, 0, 0]])
    prior = _abc([[0, -1, 0], [0, 0, 1], [1, 0, 0]])
    net = _abc([[0, 0.9, -0.5], [0.2, 0, 0.3], [0.4, 0.1, 0]])
    ranked = evaluate(rank_prior_first(net, prior), truth, prior=prior)
    assert ranked["prior_edges_first"] == 1.0
    own = evaluate(net, truth, prior=prior)
    assert ranked["auroc_prior_edges"] == own["auroc_prior_edges"]
    assert ranked["auroc_new_edges"] == own["auroc_new_edges"]


def test_prior_breakdown_undefined_questions_are_nan():
    truth = _abc([[0, 1, -1], [0, 0, 1], [0, 0, 0]])
    net = _abc([[0, 0.9, -0.5], [0.2, 0, 0.3], [0.4, 0.0, 0]])
    # the true network as prior: no false, missing or flipped edges
    m = evaluate(net, truth, prior=truth)
    assert np.isnan(m["auroc_prior_edges"]) and np.isnan(m["auroc_new_edges"])
    assert np.isnan(m["prior_signs_corrected"])
    assert m["prior_edges_first"] == pytest.approx(evaluate(net, truth)["auroc"])
    # an empty prior: nothing to rank first, the new edges are all edges
    m = evaluate(net, truth, prior=truth * 0)
    assert np.isnan(m["prior_edges_first"]) and np.isnan(m["auroc_prior_edges"])
    assert m["auroc_new_edges"] == evaluate(net, truth)["auroc"]


def test_prior_breakdown_bad_prior():
    truth = _abc([[0, 1, -1], [0, 0, 1], [0, 0, 0]])
    other = truth.rename(index={"c": "d"}, columns={"c": "d"})
    with pytest.raises(ValueError, match="prior and truth must have the same genes.*only in "
                                         "prior: \\['d'\\]"):
        evaluate(truth, truth, prior=other)
    with pytest.raises(ValueError, match="prior contains NaN"):
        evaluate(truth, truth, prior=truth.replace(1.0, np.nan))
    with pytest.raises(TypeError, match="prior must be a pandas DataFrame"):
        evaluate(truth, truth, prior=truth.to_numpy())


def test_a_truth_csv_with_numeric_gene_ids_is_matched_by_name(tmp_path):
    genes = ["1017", "1018", "7157"]  # Entrez ids
    truth = pd.DataFrame([[0, 1, 0], [0, 0, -1], [1, 0, 0]], index=genes, columns=genes)
    truth.to_csv(tmp_path / "truth.csv")
    read = pd.read_csv(tmp_path / "truth.csv", index_col=0)  # int index, text header
    network = pd.DataFrame([[0.5, 0.9, 0.1], [0.2, 0.0, -0.8], [0.7, 0.3, 0.0]],
                           index=genes, columns=genes)
    # was "only in network: ['1017', ...], only in truth: ['1017', ...]"
    assert evaluate(network, read) == evaluate(network, truth)
    assert evaluate(network, read)["auroc"] == 1.0


def test_a_missing_value_in_a_nullable_column_is_named_as_such():
    genes = ["a", "b", "c"]
    truth = pd.DataFrame([[0, 1, 0], [0, 0, -1], [1, 0, 0]], index=genes, columns=genes)
    network = truth.astype(float) * 0.5
    with pytest.raises(ValueError, match="truth contains NaN"):
        evaluate(network, truth.astype("Int64").mask(truth == -1))
    with pytest.raises(ValueError, match="network contains NaN"):
        evaluate(network.astype("Float64").mask(network > 0.4), truth)


def test_auroc_and_auprc_take_bfloat16_gpu_style_and_grad_tensors():
    # auroc(y, scores.bfloat16()) failed with "TypeError: Got unsupported ScalarType
    # BFloat16" and a score tensor that needs grad with "Can't call numpy() on Tensor that
    # requires grad"
    import torch

    y = [1, 0, 1, 0, 0, 1]
    s = [0.9, 0.8, 0.7, 0.1, 0.75, 0.3]
    expected = auroc(y, s), auprc(y, s)  # 5/9, and the BEELINE area
    for scores in (torch.tensor(s).bfloat16(), torch.tensor(s, requires_grad=True),
                   torch.tensor(s, dtype=torch.float64, requires_grad=True) * 2):
        for labels in (y, torch.tensor(y), torch.tensor(y, dtype=torch.bool),
                       torch.tensor(y, dtype=torch.bfloat16, requires_grad=True)):
            # bfloat16 keeps the order of these scores, so the areas are the same
            assert (auroc(labels, scores), auprc(labels, scores)) == expected
    assert expected[0] == pytest.approx(5 / 9)


def test_density_is_documented_as_the_truths_and_auprc_ratio_is_defined():
    # metrics.json and evaluate() put "density" 0.236 (the truth's: 26 true edges of 110
    # pairs) next to "sparsity" 0.100 (the network's zeros), which read as if density were
    # the network's 1 - sparsity; tutorial 02 printed auprc_ratio without defining it
    from pathlib import Path

    doc = " ".join(evaluate.__doc__.split())
    assert "``density`` (of the truth, not of the network: true edges / candidate pairs" in doc
    genes = ["a", "b", "c"]
    truth = pd.DataFrame([[0, 1, 0], [0, 0, -1], [0, 0, 0]], index=genes, columns=genes)
    dense = pd.DataFrame(np.ones((3, 3)), index=genes, columns=genes)
    m = evaluate(dense, truth)
    assert (m["density"], m["sparsity"]) == (2 / 6, 0.0)  # the truth's, not 1 - sparsity
    tutorial = Path(__file__).parents[2] / "tutorials" / "02_grn_dash.py"
    text = " ".join(tutorial.read_text().split())
    assert "`auprc_ratio` is the AUPRC over the truth's edge density" in text


# the network of the table tests below: off the diagonal, the true edges a->b, b->c, c->d
# score 3, 2 and 0.3 (signs right), the nine other pairs .5, .2, .1, 0, .4, 0, 0, .3, 0, so
# 0.3 beats 6 of them and ties one: AUROC (9 + 9 + 6.5) / 27
TABLE_NET = _frame([[0, 3, -0.5, 0.2], [0.1, 0, -2, 0], [0.4, 0, 0, 0.3], [0, 0.3, 0, 0]],
                   GENES)
# BEELINE's refNetwork.csv of TRUTH: Gene1 regulates Gene2, Type + or -
REF_NETWORK = pd.DataFrame({"Gene1": ["a", "a", "b", "c"], "Gene2": ["a", "b", "c", "d"],
                            "Type": ["+", "+", "-", "+"]})


def _long(frame, columns):
    """Every pair of a gene x gene frame as a link list with the given column names."""
    long = frame.stack().reset_index()
    long.columns = columns
    return long


def test_evaluate_reads_beeline_and_arboreto_tables_as_align_prior_does(tmp_path):
    # evaluate read BEELINE's refNetwork (Gene1, Gene2, Type) as a matrix whose genes were the
    # row numbers ("only in truth: ['0', '1', '10', ...]"), refused its CSV path ("got str")
    # and read a GRNBoost2 ranking (TF, target, importance) the same way ("only in network:
    # ['0', '1', '10', '100', ...]"), where align_prior, model.evaluate and --truth read them
    square = evaluate(TABLE_NET, TRUTH)
    assert square["auroc"] == pytest.approx(24.5 / 27)
    REF_NETWORK.to_csv(tmp_path / "refNetwork.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for truth in (REF_NETWORK, str(tmp_path / "refNetwork.csv"), tmp_path / "refNetwork.csv"):
            assert evaluate(TABLE_NET, truth) == pytest.approx(square)
        grnboost = _long(TABLE_NET, ["TF", "target", "importance"])  # zeros, self-loops
        genie3 = _long(TABLE_NET, ["regulatoryGene", "targetGene", "weight"])  # GENIE3 (R)
        ranked = _long(TABLE_NET, ["Gene1", "Gene2", "EdgeWeight"])  # BEELINE's rankedEdges
        for network in (grnboost, genie3, ranked):
            assert evaluate(network, TRUTH) == pytest.approx(square)
            assert evaluate(network, REF_NETWORK) == pytest.approx(square)
        # arboreto's documented output: a header-less TSV
        grnboost.to_csv(tmp_path / "grnboost.tsv", sep="\t", index=False, header=False)
        assert evaluate(tmp_path / "grnboost.tsv", tmp_path / "refNetwork.csv") == (
            pytest.approx(square))
        # a square CSV path is read as pd.read_csv(path, index_col=0) is
        TABLE_NET.to_csv(tmp_path / "network.csv")
        assert evaluate(tmp_path / "network.csv", TRUTH) == square
        # a ranking of its top edges only: the pairs it leaves out score 0 (BEELINE's rule)
        top = grnboost[grnboost["importance"].abs() >= 0.3]
        assert evaluate(top, TRUTH) == pytest.approx(
            evaluate(TABLE_NET.where(TABLE_NET.abs() >= 0.3, 0.0), TRUTH))
        # the prior too, in the forms align_prior reads
        prior = pd.DataFrame({"source": ["a", "d"], "target": ["b", "a"], "mor": [-1, 1]})
        dense = _frame([[0, -1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]], GENES)
        assert evaluate(TABLE_NET, REF_NETWORK, prior=prior) == pytest.approx(
            evaluate(TABLE_NET, TRUTH, prior=dense), nan_ok=True)


def test_evaluate_matches_the_genes_of_an_edge_table_as_align_prior_does():
    square = evaluate(TABLE_NET, TRUTH)
    # a truth gene the network lacks is dropped with its edges, with a warning (as
    # model.evaluate drops it); a network gene outside the truth's genes likewise
    extra = pd.concat([REF_NETWORK, pd.DataFrame({"Gene1": ["x"], "Gene2": ["a"],
                                                  "Type": ["-"]})])
    with pytest.warns(UserWarning, match=r"^1 gene\(s\) of the truth are not in the network "
                                         r"and are ignored: x$"):
        assert evaluate(TABLE_NET, extra) == pytest.approx(square)
    grnboost = _long(TABLE_NET, ["TF", "target", "importance"])
    more = pd.concat([grnboost, pd.DataFrame({"TF": ["y"], "target": ["a"],
                                              "importance": [9.0]})])
    with pytest.warns(UserWarning, match=r"^1 gene\(s\) of the network are not in the truth "
                                         r"and are ignored: y$"):
        assert evaluate(more, REF_NETWORK) == pytest.approx(square)
    with pytest.warns(UserWarning, match="of the network are not in the truth"):
        assert evaluate(more, TRUTH) == pytest.approx(square)


def test_evaluate_says_how_to_name_the_genes_of_an_array():
    # "network must be a pandas DataFrame ..., got ndarray" did not say what to do
    with pytest.raises(TypeError, match=r"network must be a pandas DataFrame.*got ndarray.*"
                                        r"pd\.DataFrame\(network, index=genes, "
                                        r"columns=genes\)"):
        evaluate(TABLE_NET.to_numpy(), TRUTH)
    with pytest.raises(TypeError, match=r"truth must be a pandas DataFrame.*got ndarray"):
        evaluate(TABLE_NET, TRUTH.to_numpy())


def test_evaluate_names_genes_that_differ_only_in_case():
    # "only in network: ['A', ...], only in truth: ['a', ...]" did not say why they differ
    upper = TABLE_NET.rename(index=str.upper, columns=str.upper)
    with pytest.raises(ValueError, match=r"only in truth: \['a', 'b', 'c', 'd'\]; 4 of them "
                                         r"match when case is ignored \(network ~ truth: A ~ "
                                         r"a, B ~ b, C ~ c, D ~ d\): names are compared "
                                         r"exactly"):
        evaluate(upper, TRUTH)


def test_evaluate_names_a_table_it_cannot_read_or_match(tmp_path):
    # a link list under other column names, or a frame read without index_col, had its row
    # numbers compared as genes ("only in network: ['0']"); a ranking in other identifiers
    # (Ensembl against symbols) would score every pair 0
    with pytest.raises(ValueError, match=r"network has row numbers as its index and columns "
                                         r"of words \['from', 'to'\].*rename them"):
        evaluate(pd.DataFrame({"from": ["a"], "to": ["b"]}), TRUTH)
    TRUTH.rename_axis("gene").to_csv(tmp_path / "truth.csv")
    with pytest.raises(ValueError, match=r"truth's first column 'gene' holds the gene names"):
        evaluate(TABLE_NET, pd.read_csv(tmp_path / "truth.csv"))
    assert evaluate(TABLE_NET, tmp_path / "truth.csv") == evaluate(TABLE_NET, TRUTH)
    ensembl = pd.DataFrame({"TF": ["ENSG01"], "target": ["ENSG02"], "importance": [1.0]})
    with pytest.raises(ValueError, match=r"no gene of the network edge list is among the "
                                         r"truth's genes"):
        evaluate(ensembl, REF_NETWORK)


def _said(call):
    """Run ``call``; return its result and the messages of every warning it gave, in order."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        out = call()
    return out, [str(w.message) for w in record]


def test_a_truth_pair_listed_with_both_signs_is_one_true_edge(tmp_path):
    # a truth listing a -> b as + and as - (TRRUST lists pairs as both Activation and
    # Repression; BEELINE's computeScores counts any refNetwork row as an edge) averaged the
    # two to 0 and dropped the edge: n_true_edges 2.0 and AUROC 0.85 for 3.0 and 26/27, with
    # a warning that "the prior has no edge there"
    net = _frame([[0, -0.9, 0, 0], [0, 0, -0.8, 0], [0, 0, 0, 0.1], [0.5, 0, 0, 0]], GENES)
    ref = pd.DataFrame({"Gene1": ["a", "a", "b", "c"], "Gene2": ["b", "b", "c", "d"],
                        "Type": ["+", "-", "-", "+"]})
    ref.to_csv(tmp_path / "refNetwork.csv", index=False)
    for truth in (ref, tmp_path / "refNetwork.csv"):
        out, said = _said(lambda truth=truth: evaluate(net, truth))
        assert said == ["1 regulator-target pair(s) of the truth are listed with both signs; "
                        "each is one true edge, of the sign of its weights' mean (the sign "
                        "listed more often, + on a tie), and signed metrics count either sign "
                        "as right: a -> b"]
        # the true 0.9, 0.8 and 0.1 beat 9, 9 and 8 of the 9 non-edges (0.5 and zeros)
        assert out["n_true_edges"] == 3.0
        assert out["auroc"] == pytest.approx(26 / 27)
        # top 3: a -> b, b -> c and the false d -> a, over the density 3 / 12
        assert out["epr"] == pytest.approx(8 / 3)
        # a -> b is a signed hit whichever sign the network gives it (its tie reads +)
        assert out["signed_epr"] == pytest.approx(8 / 3)
    once = ref.drop_duplicates(["Gene1", "Gene2"])  # a -> b as + only: the - is a miss
    assert evaluate(net, once) == pytest.approx({**out, "signed_epr": 4 / 3})
    # a prior giving a -> b either sign has not flipped it
    prior = pd.DataFrame({"source": ["a"], "target": ["b"], "mor": [-1]})
    split, _ = _said(lambda: evaluate(net, ref, prior=prior))
    assert split["prior_true_edges"] == 1.0 and split["prior_flipped_edges"] == 0.0
    assert evaluate(net, once, prior=prior)["prior_flipped_edges"] == 1.0
    # a network link list with both signs for a pair still cancels, as it did
    links = pd.DataFrame({"TF": ["a", "a", "b"], "target": ["b", "b", "c"],
                          "importance": [1.0, -1.0, 2.0]})
    _, said = _said(lambda: evaluate(links, TRUTH))
    assert said[-1] == ("the weights of 1 repeated regulator-target pair(s) cancel to 0, so "
                        "the network has no edge there: a -> b")


def test_beeline_ranked_edges_csv_is_read_tab_separated(tmp_path):
    # BEELINE writes rankedEdges.csv tab-separated despite its name (BLRun's parseOutput;
    # BLEval reads it with sep='\t'): evaluate refused it, "has no ',' in its header but
    # '\t': expected ','-separated values", where README said it scored as it came
    square = evaluate(TABLE_NET, TRUTH)
    path = tmp_path / "rankedEdges.csv"
    ranked = _long(TABLE_NET, ["Gene1", "Gene2", "EdgeWeight"])
    with open(path, "w") as out:  # as BLRun/grnboost2Runner.py writes it
        out.write("Gene1" + "\t" + "Gene2" + "\t" + "EdgeWeight" + "\n")
        for _, row in ranked.iterrows():
            out.write("\t".join([row["Gene1"], row["Gene2"], str(row["EdgeWeight"])]) + "\n")
    REF_NETWORK.to_csv(tmp_path / "refNetwork.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert evaluate(path, TRUTH) == pytest.approx(square)
        assert evaluate(str(path), tmp_path / "refNetwork.csv") == pytest.approx(square)
    # only BEELINE's header: another tab-separated .csv is refused as before
    (tmp_path / "other.csv").write_text("TF\ttarget\timportance\na\tb\t1\n")
    with pytest.raises(ValueError, match=r"other\.csv' has no ',' in its header but '\\t': "
                                         r"expected ','-separated values"):
        evaluate(tmp_path / "other.csv", TRUTH)


def test_a_both_signs_pair_on_a_gene_the_network_lacks_marks_no_other_pair():
    # mutation audit: the pair a -> d listed with both signs, d not in the network, has
    # column -1 among the network's genes; kept only rows >= 0, it marked a -> c (the last
    # column) as either-sign, so the network's wrong -0.8 there counted as a signed hit:
    # signed_epr 2.0 for 4/3
    genes = ["a", "b", "c"]
    net = _frame([[0, 0.9, -0.8], [0, 0, 0.7], [0.1, 0, 0]], genes)
    ref = pd.DataFrame({"Gene1": ["a", "a", "b", "a", "a"], "Gene2": ["b", "c", "c", "d", "d"],
                        "Type": ["+", "+", "+", "+", "-"]})
    out, said = _said(lambda: evaluate(net, ref))
    assert said[-1] == "1 gene(s) of the truth are not in the network and are ignored: d"
    # top 3 of the 6 pairs: a -> b, a -> c (wrong sign), b -> c; density 3 / 6
    assert out["epr"] == pytest.approx(2.0)
    assert out["signed_epr"] == pytest.approx((2 / 3) / 0.5)


def test_a_pruned_edge_corrects_no_prior_sign():
    # mutation audit: comparing the network's sign with the prior's (sign(w) != sign(p))
    # instead of the truth's went unnoticed; they differ only where the network is 0. The
    # prior gives a -> b the wrong sign (-); the network pruned a -> b: it has no sign, so
    # it corrected none of the one flipped edge (the mutant counted it: 1.0)
    prior = TRUTH.copy()
    prior.loc["a", "b"] = -1.0
    pruned = TRUTH * 0.5
    pruned.loc["a", "b"] = 0.0
    m = evaluate(pruned, TRUTH, prior=prior)
    assert m["prior_flipped_edges"] == 1.0
    assert m["prior_signs_corrected"] == 0.0
    # the network giving a -> b the true sign (+0.5) corrected it
    assert evaluate(TRUTH * 0.5, TRUTH, prior=prior)["prior_signs_corrected"] == 1.0


@pytest.mark.parametrize("weight", [1e-13, 1e-300])
def test_support_is_every_non_zero_score_however_small(weight):
    # mutation audit: a threshold (support = |w| > 1e-12 instead of > 0) went unnoticed; the
    # documented support is every non-zero pair. The 3 true edges of TRUTH at 0.5 and the
    # false pair d -> a at 1e-13 or 1e-300: support 4 of the 12 pairs, TPR 3/3, TNR 8/9,
    # balanced accuracy (1 + 8/9) / 2 = 17/18 = 0.9444, sparsity 8/12 = 0.6667 (the mutant:
    # TNR 9/9, 1.0 and 9/12 = 0.75)
    net = TRUTH * 0.5
    net.loc["d", "a"] = weight
    m = evaluate(net, TRUTH)
    assert m["balanced_accuracy"] == pytest.approx(17 / 18)
    assert m["sparsity"] == pytest.approx(8 / 12)


def _outcome(call, *args, **kwargs):
    """What ``call(*args, **kwargs)`` gives: result and warnings, or error type and message."""
    try:
        out, said = _said(lambda: call(*args, **kwargs))
    except (TypeError, ValueError) as err:
        return type(err).__name__, str(err)
    return out, said


def _random_lists(rng, n_genes):
    """A truth, a ranking and a prior as edge lists over a few genes, with every quirk."""
    genes = [f"g{i}" for i in range(n_genes)]
    n_true = int(rng.integers(1, n_genes * 2))
    truth = pd.DataFrame({"Gene1": rng.choice(genes, n_true), "Gene2": rng.choice(genes, n_true),
                          "Type": rng.choice(["+", "-"], n_true)})  # self-loops, both signs
    # genes the truth lacks, two that differ from its genes in case only
    others = genes + ["x", "y", "G0", "G1"] + ([f"z{i}" for i in range(25)]
                                             if rng.random() < 0.2 else [])
    n_net = int(rng.integers(1, n_genes * n_genes + 3))
    network = pd.DataFrame({"Gene1": rng.choice(others, n_net),
                            "Gene2": rng.choice(genes, n_net),
                            # ties, zeros listed, negative scores, repeated pairs
                            "EdgeWeight": rng.integers(-3, 4, n_net) * rng.random()})
    if rng.random() < 0.2:  # every pair listed, none scoring 0
        pairs = [(a, b) for a in genes for b in genes if a != b]
        network = pd.DataFrame({"Gene1": [a for a, _ in pairs], "Gene2": [b for _, b in pairs],
                                "EdgeWeight": rng.choice([0.5, 1.0, 2.0], len(pairs))})
    n_prior = int(rng.integers(1, n_genes * 2))
    prior = pd.DataFrame({"source": rng.choice(others, n_prior),
                          "target": rng.choice(genes, n_prior),
                          "mor": rng.choice([-1, 1], n_prior)})
    return truth, network, prior


def _same(got, want):
    """Whether two outcomes of :func:`_outcome` are equal, bit for bit (NaN equals NaN)."""
    if isinstance(want[0], str) or isinstance(got[0], str):
        return got == want
    (got, got_said), (want, want_said) = got, want
    return got_said == want_said and list(got) == list(want) and all(
        type(got[k]) is float and (got[k] == want[k] or np.isnan(got[k]) and np.isnan(want[k]))
        for k in want)


@pytest.mark.parametrize("reader_pairs", [True, False])
def test_two_edge_lists_are_scored_from_their_listed_pairs_bit_for_bit(rng, monkeypatch,
                                                                       reader_pairs):
    # evaluate(ranking, truth) on two edge lists built the matrix of every directed pair of
    # the truth's genes (10,000 genes: 38 s, 8.5 GB); it now scores the listed pairs and
    # counts the unlisted ones, which tie at 0. Every metric, warning and error is that of
    # the gene x gene path (_evaluate(..., pairs=False)), to the last bit: the rank sums
    # are sums of half-integers, exact in any order. The pairs are the reader's
    # (reader_pairs), or taken from the matrix it built
    import sys

    from biomodels.grn.evaluate import _evaluate

    if not reader_pairs:
        monkeypatch.setattr(sys.modules["biomodels.grn.evaluate"], "_READ_PAIRS", False)
    cases = [_random_lists(rng, int(rng.integers(2, 9))) for _ in range(50)]
    truth, network, prior = cases[0]
    elsewhere = pd.DataFrame({"TF": ["x", "G0"], "target": ["y", "G1"], "importance": [1.0, 2]})
    cases += [(truth, elsewhere, prior), (truth, network, elsewhere)]  # no shared gene
    # weights whose mean overflows to inf (or NaN), refused where the matrix refuses them
    huge = pd.DataFrame({"Gene1": ["g0", "g0", "g1", "g1", "g0", "g0", "g1"],
                         "Gene2": ["g1", "g1", "g0", "g0", "g2", "g2", "g2"],
                         "EdgeWeight": [1e308, 1e308, 1e308, 1e308, -1e308, 1e308, 1.0]})
    signed = huge.rename(columns={"EdgeWeight": "Type"})
    cases += [(truth, huge, prior), (signed, network, prior), (truth, network,
               huge.set_axis(["source", "target", "weight"], axis=1).iloc[:4])]
    kinds = set()
    for case, (truth, network, prior) in enumerate(cases):
        genes = sorted(set(truth["Gene1"]) | set(truth["Gene2"]))
        matrix = pd.DataFrame(rng.integers(-1, 2, (len(genes), len(genes))).astype(float),
                              index=genes, columns=genes)
        # no prior, an edge list, a labelled matrix with its rows in another order; one
        # with a NaN, one with a gene of another name
        priors = [None, prior, matrix.iloc[::-1, :]]
        if case % 10 == 0:
            priors += [matrix.mask(matrix == 1), matrix.rename(index={genes[0]: "G9"})]
        for p in priors:
            pairs = _outcome(_evaluate, network, truth, p, pairs=True)
            dense = _outcome(_evaluate, network, truth, p, pairs=False)
            assert _same(pairs, dense), (case, pairs, dense)
            kinds.add("error" if isinstance(dense[0], str) else
                      "plain" if p is None else "prior")
    assert kinds == {"error", "prior", "plain"}
    # evaluate takes the listed pairs' path
    truth, network, prior = cases[1]
    assert _same(_outcome(evaluate, network, truth, prior=prior),
                 _outcome(_evaluate, network, truth, prior, pairs=True))


def _chain_lists(n):
    """A truth over ``n`` genes (a chain through all) and a ranking of about 4,500 pairs.

    Its first 500 true edges score 2, above 4,000 random false pairs (scores in [0, 1));
    also the AUROC, as those 500 beat every negative and the other true edges tie with
    the unlisted negatives at 0.
    """
    genes = np.array([f"g{i}" for i in range(n)])
    truth = pd.DataFrame({"Gene1": genes, "Gene2": np.roll(genes, -1),
                          "Type": np.where(np.arange(n) % 3, "+", "-")})
    r = np.random.default_rng(0)
    a, b = r.integers(0, n, 4000), r.integers(2, n, 4000)  # a -> a + 1 is true
    network = pd.DataFrame({"Gene1": np.concatenate([genes[:500], genes[a]]),
                            "Gene2": np.concatenate([genes[1:501], genes[(a + b) % n]]),
                            "EdgeWeight": np.concatenate([np.full(500, 2.0), r.random(4000)])})
    network = network.drop_duplicates(["Gene1", "Gene2"])
    negatives = n * n - n - n
    unlisted = negatives - (len(network) - 500)
    return truth, network, (500 * negatives + (n - 500) * 0.5 * unlisted) / (n * negatives)


def _traced(call):
    """Run ``call``; return its result, the seconds it took and its peak traced bytes."""
    import time
    import tracemalloc

    tracemalloc.start()
    try:
        start = time.perf_counter()
        out = call()
        return out, time.perf_counter() - start, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_two_edge_lists_over_many_genes_need_no_gene_by_gene_scores(monkeypatch):
    # a truth over 20,000 genes and a ranking of 4,500 pairs: evaluate made every directed
    # pair of the truth's genes (400 million) a score, a label, a rank and a sort index
    # (out of memory on a 16 GB laptop from 14,000 genes; 4,000 genes: 1.3 GB traced,
    # 4 s). Now the listed pairs alone, as biomodels.grn.prior reads them: 9 MB, 0.2 s
    import sys

    from biomodels.grn.prior import _read_table

    module = sys.modules["biomodels.grn.evaluate"]
    truth, network, auroc_ = _chain_lists(20_000)
    m, took, peak = _traced(lambda: evaluate(network, truth))
    assert peak < 60e6 and took < 3.0, (peak / 1e6, took)
    assert m["auroc"] == pytest.approx(auroc_, rel=1e-12)
    assert m["n_true_edges"] == 20_000 and m["density"] == 1 / 19_999
    assert m["sparsity"] == 1 - len(network) / (20_000 * 19_999)
    # a reader without pairs builds each list's matrix (twice 128 MB at 4,000 genes, for
    # a moment): evaluate adds only the listed pairs to it
    monkeypatch.setattr(module, "_READ_PAIRS", False)
    truth, network, auroc_ = _chain_lists(4000)
    _, _, read = _traced(lambda: _read_table(truth, "truth", truth=True, either=[]))
    m, took, peak = _traced(lambda: evaluate(network, truth))
    assert peak < 1.3 * read + 50e6 and took < 4.0, (peak / 1e6, read / 1e6, took)
    assert m["auroc"] == pytest.approx(auroc_, rel=1e-12)
