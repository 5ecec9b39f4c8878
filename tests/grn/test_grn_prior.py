"""Tests of biomodels.grn.prior: aligning priors to the data genes, priors from edge tables."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest

from biomodels.grn.datasets import _model_file, _parse_coupling_list, krumsiek11_network
from biomodels.grn.evaluate import evaluate
from biomodels.grn.prior import align_prior, prior_from_edges, rank_prior_first

GENES = ["a", "b", "c"]


def _prior():
    return pd.DataFrame(
        [[0.0, 1.0, 0.0], [-2.0, 0.0, 0.5], [0.0, 0.0, 3.0]], index=GENES, columns=GENES
    )


def test_align_reorders_by_name():
    prior = _prior()
    before = prior.copy()
    out = align_prior(prior.loc[["c", "a", "b"], ["b", "c", "a"]], ["b", "a", "c"])
    assert list(out.index) == ["b", "a", "c"] and list(out.columns) == ["b", "a", "c"]
    pd.testing.assert_frame_equal(out, prior.loc[["b", "a", "c"], ["b", "a", "c"]])
    assert out.dtypes.unique().tolist() == [np.float64]
    pd.testing.assert_frame_equal(prior, before)  # input untouched


def test_align_drops_unknown_genes_with_warning_and_zero_fills():
    with pytest.warns(UserWarning, match=r"not in the data and are ignored: c"):
        out = align_prior(_prior(), pd.Index(["a", "b", "z"]))
    assert out.loc["b", "a"] == -2.0 and out.loc["a", "b"] == 1.0
    assert (out.loc["z"] == 0).all() and (out["z"] == 0).all()
    assert out.shape == (3, 3)


def test_align_no_overlap_is_an_error():
    with pytest.raises(ValueError, match="no gene of the prior"):
        align_prior(_prior(), ["x", "y"])


def test_align_rejects_bad_frames():
    with pytest.raises(ValueError, match="square"):
        align_prior(_prior().iloc[:2], GENES)
    mismatch = _prior()
    mismatch.columns = ["a", "b", "q"]
    with pytest.raises(ValueError, match=r"only in the rows \(index\): \['c'\].*\['q'\]"):
        align_prior(mismatch, GENES)
    dup = _prior()
    dup.index = ["a", "a", "c"]
    dup.columns = ["a", "a", "c"]
    with pytest.raises(ValueError, match="duplicated"):
        align_prior(dup, GENES)
    nan = _prior()
    nan.iloc[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        align_prior(nan, GENES)
    words = _prior().astype(object)
    words.iloc[0, 1] = "strong"
    with pytest.raises(TypeError, match="numbers"):
        align_prior(words, GENES)
    with pytest.raises(ValueError, match="duplicated"):
        align_prior(_prior(), ["a", "a", "b"])
    with pytest.raises(TypeError, match="var_names"):
        align_prior(_prior(), "abc")


def test_align_csv_roundtrip(tmp_path):
    path = tmp_path / "prior.csv"
    _prior().to_csv(path)
    out = align_prior(path, GENES)
    pd.testing.assert_frame_equal(out, _prior())
    out_str = align_prior(str(path), ["c", "b", "a"])
    assert out_str.loc["c", "c"] == 3.0
    with pytest.raises(ValueError, match="does not exist"):
        align_prior(tmp_path / "missing.csv", GENES)
    bad = tmp_path / "bad.csv"
    _prior().iloc[:, :2].to_csv(bad)
    with pytest.raises(ValueError, match="square"):
        align_prior(bad, GENES)


def test_align_arrays():
    values = _prior().to_numpy()
    out = align_prior(values, GENES)
    np.testing.assert_array_equal(out.to_numpy(), values)
    assert list(out.index) == GENES
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(align_prior(torch.tensor(values), GENES).to_numpy(), values)
    sparse = pytest.importorskip("scipy.sparse")
    np.testing.assert_array_equal(align_prior(sparse.csr_matrix(values), GENES).to_numpy(), values)
    with pytest.raises(ValueError, match="square"):
        align_prior(np.zeros((3, 2)), GENES)
    with pytest.raises(ValueError, match="one row and column per gene"):
        align_prior(np.zeros((2, 2)), GENES)
    with pytest.raises(ValueError, match="NaN"):
        align_prior(np.full((3, 3), np.inf), GENES)
    with pytest.raises(TypeError, match="prior must be"):
        align_prior(object(), GENES)


def test_align_prior_takes_a_bfloat16_tensor():
    torch = pytest.importorskip("torch")
    values = _prior().to_numpy()  # exact in bfloat16
    # tensor.numpy() knows no bfloat16: this raised a TypeError
    prior = torch.tensor(values, dtype=torch.bfloat16, requires_grad=True)
    np.testing.assert_array_equal(align_prior(prior, GENES).to_numpy(), values)


def test_prior_from_edges_rebuilds_krumsiek11():
    _, couplings = _parse_coupling_list(_model_file())
    table = pd.DataFrame(couplings, columns=["tgt", "tf", "weight"])
    truth = krumsiek11_network()
    prior = prior_from_edges(
        table, regulator="tf", target="tgt", sign="weight", genes=list(truth.index)
    )
    pd.testing.assert_frame_equal(prior, truth, check_names=False)
    # the "weight" column is found by its name: sign=None asks for unsigned evidence
    assert prior_from_edges(table, regulator="tf", target="tgt").equals(
        prior_from_edges(table, regulator="tf", target="tgt", sign="weight"))
    unsigned = prior_from_edges(table, regulator="tf", target="tgt", sign=None)
    assert sorted(unsigned.index) == sorted(truth.index)
    assert set(np.unique(unsigned.to_numpy())) == {0.0, 1.0}
    assert unsigned.loc["Cebpa", "Pu.1"] == 1.0


def test_prior_from_edges_signs_genes_duplicates():
    table = pd.DataFrame(
        {
            "regulator": ["a", "a", "b", "x"],
            "target": ["b", "c", "a", "a"],
            "mode": ["activation", "-", "Repression", "+"],
        }
    )
    with pytest.warns(UserWarning, match="outside `genes` are dropped: x"):
        prior = prior_from_edges(table, sign="mode", genes=["c", "b", "a"])
    assert list(prior.index) == ["c", "b", "a"]
    assert prior.loc["a", "b"] == 1.0 and prior.loc["a", "c"] == -1.0
    assert prior.loc["b", "a"] == -1.0 and (prior.to_numpy() != 0).sum() == 3
    flags = pd.DataFrame({"regulator": ["a"], "target": ["b"], "act": [False]})
    assert prior_from_edges(flags, sign="act").loc["a", "b"] == -1.0
    dup = pd.DataFrame({"regulator": ["a", "a"], "target": ["b", "b"], "w": [1.0, 3.0]})
    with pytest.warns(UserWarning, match="more than once"):
        assert prior_from_edges(dup, sign="w").loc["a", "b"] == 2.0


# every word of the sign vocabulary and the sign it stands for (module docstring: positive
# for activation, negative for repression); kept apart from the code's own table
_DOCUMENTED_SIGNS = {
    "+": 1.0, "activation": 1.0, "activates": 1.0, "activator": 1.0, "activating": 1.0,
    "positive": 1.0, "pos": 1.0, "up": 1.0,
    "-": -1.0, "repression": -1.0, "represses": -1.0, "repressor": -1.0,
    "repressing": -1.0, "inhibition": -1.0, "inhibits": -1.0, "inhibitor": -1.0,
    "negative": -1.0, "neg": -1.0, "down": -1.0,
}


def test_the_sign_table_covers_the_whole_vocabulary():
    from biomodels.grn.prior import _SIGN_WORDS

    assert set(_DOCUMENTED_SIGNS) == set(_SIGN_WORDS)  # a new word needs its row below


@pytest.mark.parametrize(("word", "sign"), sorted(_DOCUMENTED_SIGNS.items()))
def test_every_sign_word_reads_as_its_documented_sign(word, sign):
    # as written, capitalised and upper case with spaces around: case and padding are ignored
    for spelled in (word, word.capitalize(), f" {word.upper()} "):
        table = pd.DataFrame({"regulator": ["a", "b"], "target": ["b", "a"],
                              "mode": [spelled, "activation"]})
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a known word is read without a warning
            prior = prior_from_edges(table, sign="mode")
        assert prior.loc["a", "b"] == sign, spelled
        assert prior.loc["b", "a"] == 1.0


def test_prior_from_edges_bad_input():
    table = pd.DataFrame({"tf": ["a"], "target": ["b"], "mode": ["maybe"]})
    with pytest.raises(ValueError, match=r"no column\(s\) \['regulator'\]"):
        prior_from_edges(table.rename(columns={"tf": "from"}))  # "tf" is found by its name
    with pytest.raises(ValueError, match="not a mode of regulation"):
        prior_from_edges(table, regulator="tf", sign="mode")
    with pytest.raises(TypeError, match="DataFrame"):
        prior_from_edges([("a", "b")])
    with pytest.raises(ValueError, match="no edges"):
        prior_from_edges(table.iloc[:0], regulator="tf")
    with pytest.raises(ValueError, match="no edge of the table"), pytest.warns(
            UserWarning, match=r"edges naming 2 gene\(s\) outside `genes` are dropped: a, b$"):
        prior_from_edges(table, regulator="tf", sign=None, genes=["q", "r"])
    missing = pd.DataFrame({"regulator": ["a", None], "target": ["b", "c"]})
    with pytest.raises(ValueError, match="missing genes"):
        prior_from_edges(missing)


def test_prior_from_edges_finds_the_sign_column_as_the_csv_reader_does(tmp_path):
    # a "sign" column was dropped without a word: every repression became an activation,
    # where the same table saved as a CSV (the CLI's --prior, align_prior(path)) kept it
    edges = pd.DataFrame({"regulator": ["Gata1", "Pu.1"], "target": ["Pu.1", "Gata1"],
                          "sign": [-1, -1]})
    assert prior_from_edges(edges).loc["Pu.1", "Gata1"] == -1.0
    edges.to_csv(tmp_path / "edges.csv", index=False)
    read = align_prior(tmp_path / "edges.csv", ["Gata1", "Pu.1"])
    pd.testing.assert_frame_equal(prior_from_edges(edges), read)
    # any case, and BEELINE's Type with Gene1, as in a CSV
    beeline = pd.DataFrame({"Gene1": ["a"], "Gene2": ["b"], "Type": ["-"]})
    assert prior_from_edges(beeline, regulator="Gene1", target="Gene2").loc["a", "b"] == -1.0
    # an explicit argument wins: another column, or none (unsigned evidence)
    edges["w"] = [2.0, 3.0]
    assert prior_from_edges(edges, sign="w").loc["Pu.1", "Gata1"] == 3.0
    assert prior_from_edges(edges, sign=None).loc["Pu.1", "Gata1"] == 1.0
    # two candidates: refused, naming both and the argument that chooses
    edges["Weight"] = [0.5, 0.5]
    with pytest.raises(ValueError, match=r"'sign' and 'Weight'; pass sign="):
        prior_from_edges(edges)
    assert prior_from_edges(edges, sign="Weight").loc["Pu.1", "Gata1"] == 0.5
    # a found column that holds no signs says how to leave it out
    words = pd.DataFrame({"regulator": ["a"], "target": ["b"], "mode": ["ChIP-seq"]})
    with pytest.raises(ValueError, match=r"taken as the sign column.*sign=None"):
        prior_from_edges(words)
    # without such a column: unsigned, as before
    plain = pd.DataFrame({"regulator": ["a"], "target": ["b"], "score": [-4.0]})
    assert prior_from_edges(plain).loc["a", "b"] == 1.0


def test_rank_prior_first_orders_the_prior_support_then_the_rest():
    rng = np.random.default_rng(0)
    genes = [f"g{i}" for i in range(8)]
    net = pd.DataFrame(rng.normal(size=(8, 8)), index=genes, columns=genes)
    truth = pd.DataFrame((rng.random((8, 8)) < 0.3).astype(float), index=genes, columns=genes)
    # the prior misses some true edges and adds false ones, given over other genes' order
    prior = truth.copy()
    prior.iloc[0, :] = 0.0
    prior.iloc[5, 6] = -1.0
    scores = rank_prior_first(net, prior.iloc[::-1, ::-1])
    inside = prior.to_numpy() != 0
    assert scores.to_numpy()[inside].min() > scores.to_numpy()[~inside].max()
    # within each group the order is |network|'s
    for group in (inside, ~inside):
        order_net = np.argsort(np.abs(net.to_numpy()[group]), kind="stable")
        order_score = np.argsort(scores.to_numpy()[group], kind="stable")
        assert (order_net == order_score).all()
    # AUROC = pairs decided by the support plus pairs decided by |network| within a group
    off = ~np.eye(8, dtype=bool)
    y, s, sup = truth.to_numpy()[off] != 0, np.abs(net.to_numpy())[off], inside[off]
    correct = 0.0
    for i in np.flatnonzero(y):
        for j in np.flatnonzero(~y):
            if sup[i] != sup[j]:
                correct += float(sup[i])
            else:
                correct += float(s[i] > s[j]) + 0.5 * float(s[i] == s[j])
    expected = correct / (y.sum() * (~y).sum())
    assert evaluate(scores, truth)["auroc"] == pytest.approx(expected, abs=1e-12)


def test_rank_prior_first_checks_its_inputs():
    genes = ["a", "b"]
    net = pd.DataFrame([[0.0, 1.0], [2.0, 0.0]], index=genes, columns=genes)
    prior = pd.DataFrame([[0.0, 1.0], [0.0, 0.0]], index=genes, columns=genes)
    with pytest.raises(TypeError, match="network must be a pandas DataFrame"):
        rank_prior_first(net.to_numpy(), prior)
    # columns in another order are matched by name, as evaluate matches them (refused before)
    pd.testing.assert_frame_equal(rank_prior_first(net[["b", "a"]], prior),
                                  rank_prior_first(net, prior))
    with pytest.raises(ValueError, match="network must be square"):
        rank_prior_first(net.rename(columns={"b": "c"}), prior)
    with pytest.raises(ValueError, match="NaN or inf"):
        rank_prior_first(net.replace(2.0, np.nan), prior)
    with pytest.raises(ValueError, match="no gene of the prior"):
        rank_prior_first(net, pd.DataFrame([[1.0]], index=["z"], columns=["z"]))
    zero = rank_prior_first(net * 0, prior)  # no evidence: the prior's support alone
    assert zero.to_numpy().tolist() == [[0.0, 2.0], [0.0, 0.0]]


def test_prior_csv_keeps_gene_labels_as_written(tmp_path):
    # pandas' index_col guesses types: "0012" became 12 and "NA" NaN in the rows only
    for genes in (["0012", "0013", "0014"], ["NA", "TP53", "MYC"]):
        path = tmp_path / "prior.csv"
        pd.DataFrame(np.eye(3)[::-1], index=genes, columns=genes).to_csv(path)
        out = align_prior(str(path), genes)
        assert list(out.index) == genes and int((out.to_numpy() != 0).sum()) == 3
    path.write_text(",a,b\na,1,x\nb,0,1\n")
    with pytest.raises(ValueError, match="could not read the prior CSV"):
        align_prior(str(path), ["a", "b"])


@pytest.mark.parametrize("dtype", ["boolean", "Float64", "Int64", "object"])
def test_prior_from_edges_names_the_sign_column_with_missing_values(dtype):
    # a nullable boolean's NA raised "boolean value of NA is ambiguous", a nullable
    # float's a numpy conversion error: neither named the column or the rows
    values = {"boolean": [True, None, False], "Float64": [1.0, None, -1.0],
              "Int64": [1, None, -1], "object": ["+", None, "-"]}[dtype]
    edges = pd.DataFrame({"regulator": ["A", "B", "C"], "target": ["B", "C", "A"],
                          "mode": pd.array(values, dtype=dtype)})
    with pytest.raises(ValueError, match=r"column 'mode' has 1 missing values \(rows \[1\]\)"):
        prior_from_edges(edges, sign="mode")


@pytest.mark.parametrize("dtype", ["Int64", "Float64", "object", "float64"])
def test_a_prior_with_missing_entries_names_them(dtype):
    # pd.NA in an object column was "must hold numbers (signed edge weights)", a NaN
    # "contains NaN or inf": neither said that entries were missing, nor which
    prior = _prior().round().astype(dtype)
    prior.loc["b", "c"] = np.nan if dtype == "float64" else pd.NA
    with pytest.raises(ValueError, match=r"prior has 1 missing values \(NaN/NA\), at "
                       r"\(regulator, target\) \[\('b', 'c'\)\]; fill them"):
        align_prior(prior, GENES)
    if dtype != "object":  # pandas warns that fillna of an object frame will change
        assert align_prior(prior.fillna(0), GENES).loc["b", "c"] == 0.0
    if dtype == "float64":
        prior.loc["b", "c"] = -np.inf
        with pytest.raises(ValueError, match=r"prior has 1 infinite values, at \(regulator, "
                           r"target\) \[\('b', 'c'\)\]"):
            align_prior(prior, GENES)


def test_an_edge_list_csv_is_read_as_a_prior_and_as_a_truth(tmp_path):
    # labs keep TF-target tables (and `prunus grn fit` writes edges.csv): read as a matrix,
    # the error only said that "Gata1" is not a number, and the command line had no way in
    truth = krumsiek11_network()
    long = truth.stack()
    long = long[long != 0].rename_axis(["source", "target"]).rename("mor").reset_index()
    path = tmp_path / "collectri.csv"  # decoupler's column names, the data's genes reversed
    long.assign(confidence="A").to_csv(path, index=False)
    genes = list(truth.index[::-1])
    pd.testing.assert_frame_equal(align_prior(str(path), genes, name="truth", complete=True),
                                  truth.loc[genes, genes], check_names=False)
    # ours: regulator, target, effect, score; a data gene without edges gets zeros
    ours = tmp_path / "edges.tsv"
    pd.DataFrame({"Regulator": ["Gata1", "Pu.1"], "target": ["Pu.1", "Gata1"],
                  "effect": [-0.5, 2.0], "score": [0.9, 0.1]}).to_csv(ours, sep="\t",
                                                                     index=False)
    out = align_prior(ours, ["Pu.1", "Gata1", "Fli1"], complete=True)
    assert out.to_numpy().tolist() == [[0, 2.0, 0], [-0.5, 0, 0], [0, 0, 0]]
    # no sign column: unsigned evidence, +1
    plain = tmp_path / "tf.csv"
    pd.DataFrame({"TF": ["Gata1"], "target": ["Pu.1"]}).to_csv(plain, index=False)
    assert align_prior(plain, ["Gata1", "Pu.1"]).loc["Gata1", "Pu.1"] == 1.0
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"tf": ["Gata1"], "target": ["Pu.1"], "mode": ["maybe"]}).to_csv(bad)
    with pytest.raises(ValueError, match=r"edge list .*bad.csv.*'mode'.*not a mode"):
        align_prior(bad, ["Gata1", "Pu.1"])


def test_omnipath_type_column_is_not_a_sign_and_numbered_genes_keep_their_errors(tmp_path):
    # "type" as a sign column is BEELINE's (with Gene1): OmniPath's says "transcriptional"
    # and its table was refused as "not a mode of regulation"
    omni = tmp_path / "omnipath.csv"
    omni.write_text("source,target,is_stimulation,is_inhibition,type\n"
                    "a,b,1,0,transcriptional\n")
    assert align_prior(omni, ["a", "b"]).loc["a", "b"] == 1.0
    # R's write.table header of genes named 1, 2, 3 has no corner cell: read as a labelled
    # matrix its real error (a non-number) was replaced by "a (row, column, value) list"
    numbered = tmp_path / "numbered.csv"
    numbered.write_text('"1","2","3"\n"1",0,1,0\n"2",0,0,x\n"3",1,0,0\n')
    with pytest.raises(ValueError) as err:
        align_prior(numbered, ["1", "2", "3"])
    assert "(row, column, value)" not in str(err.value)


def test_an_edge_lists_targets_are_read_as_text(tmp_path):
    # the target column was read as numbers and then as text: "0013" became "13" (an edge
    # to no gene of the data) and an empty cell the gene "nan"
    ids = tmp_path / "ids.csv"
    ids.write_text("regulator,target,sign\n0012,0013,1\n0013,0012,-1\n")
    out = align_prior(ids, ["0012", "0013"])
    assert out.to_numpy().tolist() == [[0.0, 1.0], [-1.0, 0.0]]
    gap = tmp_path / "gap.csv"
    gap.write_text("regulator,target,sign\na,b,1\nb,,-1\n")
    with pytest.raises(ValueError, match="must not contain missing genes"):
        align_prior(gap, ["a", "b", "nan"])


def test_beeline_refnetwork_is_read_as_a_truth(tmp_path):
    # BEELINE's ground truth (inputs/*/refNetwork.csv: Gene1 regulates Gene2, Type + or -)
    # was refused as "not square", so a lab scoring against BEELINE had to rename columns
    truth = np.sign(krumsiek11_network())  # BEELINE keeps only the signs
    long = truth.stack()
    long = long[long != 0].rename_axis(["Gene1", "Gene2"]).reset_index(name="w")
    path = tmp_path / "refNetwork.csv"
    long.assign(Type=np.where(long["w"] > 0, "+", "-")).drop(columns="w").to_csv(
        path, index=False)
    pd.testing.assert_frame_equal(align_prior(path, truth.index, name="truth", complete=True),
                                  truth, check_names=False)


@pytest.mark.parametrize("genes", [["source", "target", "hub"], ["Tf", "Alb", "target"]])
@pytest.mark.parametrize("style", ["pandas", "r_write_table", "gzip"])
def test_a_matrix_whose_genes_are_named_like_edge_list_columns_stays_a_matrix(
        tmp_path, genes, style):
    # its header names "target" and a regulator column, as an edge list's does: it was read
    # as one, and the prior came out all zeros with only a "not in the data" warning
    prior = pd.DataFrame([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]], index=genes,
                         columns=genes)
    path = tmp_path / ("prior.csv.gz" if style == "gzip" else "prior.csv")
    if style == "r_write_table":  # no header cell above the row names
        path.write_text(",".join(genes) + "\n" + prior.to_csv(header=False))
    else:
        prior.to_csv(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pd.testing.assert_frame_equal(align_prior(path, genes), prior, check_names=False)


def test_prior_from_edges_finds_the_regulator_and_target_as_the_csv_reader_does():
    # a decoupler table (source, target, weight) was refused as "no column(s)
    # ['regulator']", where the same table saved as a CSV was read as a prior
    net = pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"], "weight": [1, -1]})
    out = prior_from_edges(net, genes=GENES)
    assert out.to_numpy().tolist() == [[0, 1, 0], [0, 0, -1], [0, 0, 0]]
    beeline = pd.DataFrame({"Gene1": ["a"], "Gene2": ["c"], "Type": ["-"]})
    assert prior_from_edges(beeline, genes=GENES).loc["a", "c"] == -1.0
    # a name given wins, and the other is never found in the column it names
    both = pd.DataFrame({"source": ["a"], "tf": ["b"], "target": ["c"]})
    with pytest.raises(ValueError, match="2 columns that could hold the regulators"):
        prior_from_edges(both, genes=GENES)  # which one is meant is not for us to guess
    assert prior_from_edges(both, regulator="tf", genes=GENES).loc["b", "c"] == 1.0
    assert prior_from_edges(both, target="source", genes=GENES).loc["b", "a"] == 1.0
    with pytest.raises(ValueError, match=r"no column\(s\) \['regulator'\].*regulator= not "
                                         r"given, looked for by name \(regulator: regulator, "
                                         r"source, tf, gene1"):
        prior_from_edges(pd.DataFrame({"from": ["a"], "target": ["b"]}))


def test_an_edge_table_frame_is_read_as_its_csv_is(tmp_path):
    # a long DataFrame was refused as "must be square ... got shape (n, 3)" where the same
    # table saved as a CSV was read as an edge list
    truth = krumsiek11_network()
    long = truth.stack()
    long = long[long != 0].rename_axis(["source", "target"]).rename("mor").reset_index()
    genes = list(truth.index[::-1])
    tables = [long.assign(confidence="A"),  # decoupler's columns, signs in "mor"
              pd.DataFrame({"Regulator": ["Gata1", "Pu.1"], "target": ["Pu.1", "Gata1"],
                            "effect": [-0.5, 2.0], "score": [0.9, 0.1]}),  # ours
              long.rename(columns={"source": "Gene1", "target": "Gene2"}).assign(
                  Type=np.where(long["mor"] > 0, "+", "-")).drop(columns="mor")]  # BEELINE
    for i, table in enumerate(tables):
        path = tmp_path / f"edges{i}.csv"
        table.to_csv(path, index=False)
        pd.testing.assert_frame_equal(align_prior(table, genes), align_prior(path, genes))
    pd.testing.assert_frame_equal(align_prior(tables[0], genes, name="truth", complete=True),
                                  truth.loc[genes, genes], check_names=False)
    with pytest.raises(ValueError, match=r"truth edge table .*'mode'.*not a mode"):
        align_prior(pd.DataFrame({"tf": ["Gata1"], "target": ["Pu.1"], "mode": ["maybe"]}),
                    genes, name="truth")
    # a square matrix whose genes are named like the columns stays a matrix, and read
    # without index_col its label column is still named, as before
    names = ["source", "target", "hub"]
    square = pd.DataFrame([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]], index=names,
                          columns=names)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pd.testing.assert_frame_equal(align_prior(square, names), square)
    with pytest.raises(ValueError, match="first column 'index' holds the gene names"):
        align_prior(square.reset_index(), names)


def test_an_edge_list_without_a_header_says_what_header_reads_it(tmp_path):
    path = tmp_path / "edges.csv"
    pd.DataFrame({"Gata1": ["Pu.1"], "Pu.1": ["Gata1"], "-": ["-"]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="square gene x gene matrix.*edge list with a header"):
        align_prior(str(path), ["Gata1", "Pu.1"])


def test_a_prior_csv_with_another_separator_names_it(tmp_path):
    # read as one column, the error said the prior was not square, "shape (3, 0)"
    path = tmp_path / "prior.csv"
    _prior().to_csv(path, sep=";")
    with pytest.raises(ValueError, match="no ',' in its header but ';'"):
        align_prior(str(path), GENES)
    _prior().to_csv(tmp_path / "prior.tsv", sep="\t")
    pd.testing.assert_frame_equal(align_prior(str(tmp_path / "prior.tsv"), GENES),
                                  align_prior(_prior(), GENES))


_R_ROWS = [("a", "0", "1", "0"), ("b", "-2", "0", "0.5"), ("c", "0", "0", "3")]


def _r_table(sep: str, corner: bool, quote: bool = True) -> str:
    """_prior() as R's write.table(m, sep=sep, col.names=NA if corner, quote=quote) writes it."""
    q = '"' if quote else ""
    header = ([f"{q}{q}"] if corner else []) + [f"{q}{g}{q}" for g in GENES]
    rows = [sep.join([f"{q}{r[0]}{q}", *r[1:]]) for r in _R_ROWS]
    return "\n".join([sep.join(header), *rows]) + "\n"


@pytest.mark.parametrize(("name", "text"), [
    ("prior.txt", _r_table(" ", False)),  # write.table(m, "prior.txt"): R's default
    ("prior.csv", _r_table(" ", False)),  # the same, named .csv
    ("prior.txt", _r_table(" ", True)),  # col.names = NA: a "" corner cell
    ("prior.txt", _r_table(" ", False, quote=False)),  # quote = FALSE
    ("prior.txt", _r_table(" ", False).replace("\n", " \n")),  # a space closing each line
    ("prior.txt.gz", _r_table(" ", False)),
    # read as before
    ("prior.tsv", _r_table("\t", False)),  # sep = "\t"
    ("prior.txt", _r_table("\t", True)),  # sep = "\t", col.names = NA
    ("prior.csv", _r_table(",", True)),  # write.csv
], ids=["default-txt", "default-csv", "corner-cell", "unquoted", "closing-space", "gzip",
        "tab", "tab-corner-cell", "write-csv"])
def test_r_write_table_default_space_separated_prior_is_read(tmp_path, name, text):
    # R's write.table(m, "prior.txt") separates with spaces by default: its header was read
    # as one column and the prior refused as "got shape (3, 0)", with advice for CellOracle's
    # transposed GRN
    import gzip

    path = tmp_path / name
    path.write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pd.testing.assert_frame_equal(align_prior(path, GENES), _prior())
        pd.testing.assert_frame_equal(align_prior(str(path), ["c", "a", "b"]),
                                      _prior().loc[["c", "a", "b"], ["c", "a", "b"]])


def test_r_write_table_default_edge_list_is_read_and_an_unsafe_split_is_named(tmp_path):
    # an edge data frame written by write.table's default (row names, spaces, quotes) was
    # refused as "got shape (2, 0)"
    edges = tmp_path / "edges.txt"
    edges.write_text('"regulator" "target" "sign"\n"1" "a" "b" 1\n"2" "b" "c" -1\n')
    assert align_prior(edges, GENES).to_numpy().tolist() == [[0, 1, 0], [0, 0, -1], [0, 0, 0]]
    # unquoted names with spaces (quote = FALSE) cannot be split safely: the error says the
    # file was read as space-separated, not that the prior was a transposed CellOracle GRN
    bad = tmp_path / "spaced.txt"
    bad.write_text("a b c\na 0 1\nb c -1 0\n")
    with pytest.raises(ValueError, match=r"read as space-separated \(R's write.table "
                                         r"default\).*quote") as err:
        align_prior(bad, ["a", "b c"])
    assert "CellOracle" not in str(err.value)


@pytest.mark.parametrize(("name", "text"), [
    ("trrust.tsv.gz", "a\tb\tActivation\t1\nb\tc\tRepression\t2\n"),  # TRRUST's download
    ("edges.tsv.gz", "regulator\ttarget\tsign\na\tb\t1\nb\tc\t-1\n"),
    ("prior.tsv.gz", "\ta\tb\tc\na\t0\t1\t0\nb\t0\t0\t-1\nc\t0\t0\t0\n"),
    ("prior.txt.gz", "\ta\tb\tc\na\t0\t1\t0\nb\t0\t0\t-1\nc\t0\t0\t0\n"),
    ("prior.TSV.GZ", "a\tb\tc\na\t0\t1\t0\nb\t0\t0\t-1\nc\t0\t0\t0\n"),  # R: no corner cell
    ("prior.tsv.bz2", "\ta\tb\tc\na\t0\t1\t0\nb\t0\t0\t-1\nc\t0\t0\t0\n"),
], ids=["trrust", "edge-list", "matrix", "txt", "upper-case-r", "bz2"])
def test_a_compressed_tab_separated_prior_is_read_with_tabs(tmp_path, name, text):
    # the separator came from the last suffix, .gz: read with commas, a tab-separated table
    # was one column and refused as "got shape (2, 0)" with CellOracle's advice
    import bz2
    import gzip

    packed = (bz2 if name.endswith(".bz2") else gzip).compress(text.encode())
    (tmp_path / name).write_bytes(packed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = align_prior(tmp_path / name, GENES)
    assert out.to_numpy().tolist() == [[0, 1, 0], [0, 0, -1], [0, 0, 0]]


@pytest.mark.parametrize(("name", "text", "said"), [
    ("prior.csv.gz", ";a;b;c\na;0;1;0\nb;0;0;-1\nc;0;0;0\n", "no ',' in its header but ';'"),
    ("prior.tsv.gz", ";a;b;c\na;0;1;0\nb;0;0;-1\nc;0;0;0\n", r"no '\\t' in its header but ';'"),
    ("prior.csv.gz", "\ta\tb\tc\na\t0\t1\t0\nb\t0\t0\t-1\nc\t0\t0\t0\n",
     r"no ',' in its header but '\\t'"),
], ids=["semicolon-csv", "semicolon-tsv", "tab-csv"])
def test_a_compressed_prior_with_another_separator_names_it(tmp_path, name, text, said):
    # the check read the compressed bytes, so it never fired: "got shape (3, 0)" instead
    import gzip

    (tmp_path / name).write_bytes(gzip.compress(text.encode()))
    with pytest.raises(ValueError, match=said):
        align_prior(tmp_path / name, GENES)


@pytest.mark.parametrize(("name", "text"), [
    ("prior.csv", ",a,b,c\na,0,1,0,\nb,0,0,-1,\nc,0,0,0,\n"),
    ("prior.csv", "a,b,c\na,0,1,0,\nb,0,0,-1,\nc,0,0,0,\n"),  # R's header, no corner cell
    ("prior.tsv", "\ta\tb\tc\na\t0\t1\t0\t\nb\t0\t0\t-1\t\nc\t0\t0\t0\t\n"),
    ("edges.csv", "regulator,target,sign\na,b,1,\nb,c,-1,\n"),
], ids=["matrix", "r-header", "tab", "edge-list"])
def test_a_separator_closing_only_the_data_lines_is_named(tmp_path, name, text):
    # the values moved one column to the right and the first gene's became the row labels:
    # "prior index has duplicated gene names: ['0']" (an edge list: "column 'sign' has 2
    # missing values"), which did not say why
    path = tmp_path / name
    path.write_text(text)
    sep = r"\\t" if name.endswith(".tsv") else ","
    with pytest.raises(ValueError, match=rf"^prior file '.*{name}' ends each data line with "
                                         rf"a '{sep}' that its header line lacks") as err:
        align_prior(path, GENES)
    assert "duplicated gene names" not in str(err.value)
    # a matrix whose last column is empty on every line is still a missing-values error
    (tmp_path / "gap.csv").write_text(",a,b,c\na,0,1,\nb,0,0,\nc,0,0,\n")
    with pytest.raises(ValueError, match="prior has 3 missing values"):
        align_prior(tmp_path / "gap.csv", GENES)


def test_an_array_prior_is_a_copy_not_the_users_array():
    values = _prior().to_numpy()
    out = align_prior(values, GENES)
    out.iloc[0, 1] = 99.0  # was a view of `values`
    assert values[0, 1] == 1.0

    from biomodels.grn import GRNModel, simulate_hill_network

    adata = simulate_hill_network(5, n_trajectories=2, n_timepoints=4, seed=0)
    model = GRNModel(adata, time_key="time", trajectory_key="trajectory", prior="truth",
                     n_hidden=2)
    before = adata.varp["truth"].copy()
    adata.varp["truth"][:] = 0.0  # the user edits their AnnData: the model's prior stays
    np.testing.assert_array_equal(model.prior.to_numpy(), before)


def test_a_frame_read_without_index_col_names_its_label_column(tmp_path):
    _prior().rename_axis("gene").to_csv(tmp_path / "prior.csv")
    frame = pd.read_csv(tmp_path / "prior.csv")  # genes as a column, not the index
    with pytest.raises(ValueError, match=r"first column 'gene' holds the gene names.*"
                                         r"index_col=0"):
        align_prior(frame, GENES)  # was "must be square ...; build ... prior_from_edges"
    pd.testing.assert_frame_equal(align_prior(frame.set_index("gene"), GENES), _prior(),
                                  check_names=False)


def test_gene_names_that_are_not_a_sequence_are_named():
    # "'NoneType' object is not iterable" named neither var_names nor genes
    for genes in (None, 5):
        with pytest.raises(TypeError, match="var_names must be a sequence of gene names"):
            align_prior(_prior(), genes)  # type: ignore[arg-type]
    table = pd.DataFrame({"regulator": ["a"], "target": ["b"]})
    with pytest.raises(TypeError, match="genes must be a sequence of gene names, got int"):
        prior_from_edges(table, genes=5)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", [
    ",a, b, c\na, 0, 1, 0\nb, -2, 0, 0.5\nc, 0, 0, 3\n",  # a space after each comma
    ', "a", "b", "c"\n"a", 0, 1, 0\n"b", -2, 0, 0.5\n"c", 0, 0, 3\n',  # and quoted names
    ",a ,b ,c \na ,0,1,0\nb ,-2,0,0.5\nc ,0,0,3\n",  # a spreadsheet's trailing spaces
    ",a,b ,c\na,0,1,0\nb ,-2,0,0.5\nc,0,0,3\n",  # one padded gene: its edges were dropped
    ",a,b,c,\na,0,1,0,\nb,-2,0,0.5,\nc,0,0,3,\n",  # a separator closing every line
    ",a, b, c\na, 0, 1, 0\nb, -2, 0, 0.5\nc, 0, 0, TRUE \n",  # the text path, padded
    "a,b,c\na,0,1,0\nb,-2,0,0.5\nc,0,0,3\n",  # R's write.table: no cell above the row names
    "a,b,c\na,0,1,0\nb,-2,0,0.5\nc,0,0,TRUE\n",  # and through the text path
], ids=["space-after-comma", "quoted", "trailing-space", "one-padded-gene",
        "closing-separator", "text-path", "r-write-table", "r-write-table-text"])
def test_prior_csv_layouts_of_spreadsheets_and_r_read_right(tmp_path, text):
    # the padded names matched no gene of the data: an error that listed " b" against "b",
    # or (one gene padded alike on both axes) its edges dropped with a warning naming "b ";
    # a separator closing each line, or R's header without a cell above the row names,
    # made the table "not square"
    path = tmp_path / "prior.csv"
    path.write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = align_prior(path, GENES)
    expected = _prior()
    if "TRUE" in text:
        expected.loc["c", "c"] = 1.0
    pd.testing.assert_frame_equal(out, expected)


def test_prior_from_edges_strips_gene_names_as_it_strips_signs(tmp_path):
    # an edge list written "a, b, -" kept the space in " b" (but not in " -"): b's edges were
    # dropped as naming a gene outside `genes`, in a warning whose name looked right
    path = tmp_path / "edges.csv"
    path.write_text("regulator,target,mode\na, b, -\nb , c, +\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prior = prior_from_edges(pd.read_csv(path), sign="mode", genes=GENES)
    assert prior.loc["a", "b"] == -1.0 and prior.loc["b", "c"] == 1.0
    assert int((prior.to_numpy() != 0).sum()) == 2


@pytest.mark.parametrize(("name", "sep"), [("prior.txt", "\t"), ("prior.csv", ",")])
def test_a_utf16_prior_csv_is_read(tmp_path, name, sep):
    # Excel's "Unicode Text" is UTF-16 with a byte-order mark: it failed with "'utf-8' codec
    # can't decode byte 0xff"
    text = ",Gata2,Gata1\nGata2,0,1e-3\nGata1,-0.5,0\n".replace(",", sep)
    (tmp_path / name).write_bytes(text.encode("utf-16"))
    got = align_prior(tmp_path / name, ["Gata1", "Gata2"], name="truth", complete=True)
    assert got.loc["Gata2", "Gata1"] == 1e-3 and got.loc["Gata1", "Gata2"] == -0.5
    assert float(np.abs(got.to_numpy()).sum()) == pytest.approx(0.501)


def test_a_prior_csv_not_in_utf8_says_to_save_it_so(tmp_path):
    # older Excel's "CSV" is Windows-1252: the error was pandas' "'utf-8' codec can't decode
    # byte 0xf6", which did not say what to do; the encoding is not guessed
    path = tmp_path / "prior.csv"
    path.write_bytes(",Gata1,Fög1\nGata1,0,1\nFög1,-1,0\n".encode("cp1252"))
    with pytest.raises(ValueError, match=r"^prior file '.*prior\.csv' is not UTF-8 text \(it "
                       r"has byte 0xf6: .*; save it as UTF-8 text \(in Excel: \"CSV UTF-8\"\)$"):
        align_prior(path, ["Gata1"])


@pytest.mark.parametrize(("text", "said", "line"), [
    ("# from STRING\n,a,b,c\na,0,1,0\nb,0,0,1\nc,0,0,0\n", "Unable to parse string", 1),
    (",a,b,c\na,0,1,0\n# b represses c\nb,0,0,-1\nc,0,0,0\n", "got shape (4, 3)", 3),
])
def test_a_comment_line_in_a_prior_csv_is_named(tmp_path, text, said, line):
    # comments are not read (a gene name may hold '#'), but the error did not say why the
    # table was "not square" or held a name where a number belongs
    (tmp_path / "p.csv").write_text(text)
    with pytest.raises(ValueError) as err:
        align_prior(tmp_path / "p.csv", GENES)
    assert said in str(err.value)
    assert str(err.value).endswith(f"; line {line} starts with '#' (comments are not "
                                   "supported)")


def test_prior_warnings_point_at_the_callers_line(tmp_path):
    # stacklevel 2 or 3 named the package's own call (model.py reading GRNModel's prior,
    # prior.py reading an edge-list file) instead of the user's line
    from biomodels.grn import GRNModel, simulate_hill_network

    adata = simulate_hill_network(5, n_trajectories=2, n_timepoints=4, seed=0)
    genes = list(adata.var_names)
    square = pd.DataFrame(0.0, index=[*genes, "zz"], columns=[*genes, "zz"])
    square.iloc[0, 1] = 1.0
    pd.DataFrame({"regulator": [genes[0], genes[0], "zz"], "target": [genes[1]] * 3,
                  "sign": [1, 1, -1]}).to_csv(tmp_path / "edges.csv", index=False)
    calls = [lambda: GRNModel(adata, time_key="time", trajectory_key="trajectory",
                              prior=square, n_hidden=2),
             lambda: GRNModel(adata, time_key="time", trajectory_key="trajectory",
                              prior=tmp_path / "edges.csv", n_hidden=2),
             lambda: align_prior(tmp_path / "edges.csv", genes)]
    edges_say = ["1 regulator-target", "1 gene(s) of the prior"]
    for call, says in zip(calls, [["1 gene(s) of the prior"], edges_say, edges_say]):
        with pytest.warns(UserWarning) as record:
            call()
        assert [str(w.message)[:len(s)] for w, s in zip(record, says)] == says
        assert [w.filename for w in record] == [__file__] * len(says)


def test_a_prior_csv_without_gene_names_says_how_to_load_it(tmp_path):
    # PHOENIX's and DASH's edge_prior_matrix_*.csv (R write.table, no row or column names)
    # hold a bare G x G matrix, and PHOENIX's genome-scale priors a 1-based (row, col,
    # value) list; read as a labelled table they failed as "duplicated gene names: ['0']"
    matrix = tmp_path / "edge_prior_matrix.csv"
    matrix.write_text("0,1,0\n0,0,-1\n1,0,0\n")
    with pytest.raises(ValueError, match=r"3 x 3 matrix of numbers without gene names.*"
                                         r"np\.loadtxt"):
        align_prior(matrix, GENES)
    coo = tmp_path / "prior_long.csv"
    coo.write_text("1,2,1\n2,3,-1\n3,1,1\n1,3,1\n")
    with pytest.raises(ValueError, match=r"\(row, column, value\) list.*1-based"):
        align_prior(coo, GENES)
    # the array the message asks for gives the prior, rows = regulators (row 1 -> gene b)
    out = align_prior(np.loadtxt(matrix, delimiter=","), GENES)
    assert out.loc["a", "b"] == 1.0 and out.loc["b", "c"] == -1.0 and out.loc["c", "a"] == 1.0


def test_a_square_frame_of_genes_named_gene1_and_gene2_stays_a_matrix():
    # its columns gene1 and gene2 were taken for an edge list's, and the 0/1 values for gene
    # names: an all-zero prior with "not in the data" warnings
    genes = [f"gene{i}" for i in range(1, 6)]
    A = np.triu(np.ones((5, 5)), 1)
    frame = pd.DataFrame(A, index=genes, columns=genes)
    out = align_prior(frame, pd.Index(genes))
    assert (out.to_numpy() != 0).sum() == 10
    with pytest.raises(ValueError, match="row and column labels must name the same genes"):
        align_prior(pd.DataFrame(A, columns=genes), pd.Index(genes))  # no gene names on rows


def test_prior_from_edges_refuses_two_regulator_columns():
    # "source" (a provenance column) won over "tf" and the edges read TRRUST -> target
    table = pd.DataFrame({"tf": ["Gata1"], "target": ["Tf"], "mor": [-1],
                          "source": ["TRRUST"]})
    with pytest.raises(ValueError, match="2 columns that could hold the regulators, 'source' "
                                         "and 'tf'; pass regulator="):
        prior_from_edges(table)
    assert prior_from_edges(table, regulator="tf").loc["Gata1", "Tf"] == -1.0


def test_an_edge_table_of_integer_gene_ids_is_read_as_its_csv_is(tmp_path):
    # source/target holding integer IDs (Entrez) were taken for a matrix's values: 11 edges
    # were refused as "prior must be square ... got shape (11, 3)", while the same table
    # saved as a CSV, and prior_from_edges, read it
    genes = pd.Index([str(g) for g in range(1000, 1008)])
    edges = pd.DataFrame({"source": [1002, 1003, 1007], "target": [1000, 1000, 1002],
                          "weight": [1.0, -1.0, 0.5]})
    edges.to_csv(tmp_path / "ids.csv", index=False)
    out = align_prior(edges, genes)
    pd.testing.assert_frame_equal(out, align_prior(tmp_path / "ids.csv", genes))
    assert out.loc["1002", "1000"] == 1.0 and out.loc["1003", "1000"] == -1.0
    assert out.loc["1007", "1002"] == 0.5 and (out.to_numpy() != 0).sum() == 3
    # without a sign column: every edge +1
    out = align_prior(edges[["source", "target"]], genes)
    assert (out.to_numpy() != 0).sum() == 3 and out.loc["1003", "1000"] == 1.0


def test_edges_of_weight_zero_are_named_when_dropped():
    # an OmniPath-style mor of 0: 3 edges listed, 2 in the prior, without a word
    table = pd.DataFrame({"source": ["a", "b", "c"], "target": ["b", "c", "a"],
                          "mor": [1, 0, -1]})
    with pytest.warns(UserWarning, match=r"^1 edge\(s\) have weight 0 in column 'mor', so the "
                                         r"prior has no edge there: b -> c; give them a "
                                         r"non-zero weight"):
        prior = prior_from_edges(table)
    assert (prior.to_numpy() != 0).sum() == 2
    # a pair listed twice at 0 is a zero edge, not a pair whose weights cancel
    twice = pd.concat([table, table.iloc[[1]]])
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        prior_from_edges(twice)
    said = [str(w.message) for w in record]
    assert any(m.startswith("1 edge(s) have weight 0") for m in said)
    assert not any("cancel" in m for m in said)


@pytest.mark.parametrize("word", ["Unknown", "unknown", "Unknown/Unclear", "?", " unclear "])
def test_edges_of_unknown_mode_are_read_as_activations_with_a_warning(word, tmp_path):
    # TRRUST's 'Unknown' (a third of its edges) was refused: "column 'mode' has values that
    # are not a mode of regulation: ['unknown']", losing the whole table
    table = pd.DataFrame({"tf": ["a", "b", "c", "c"], "target": ["b", "c", "a", "b"],
                          "mode": ["Activation", "Repression", word, word]})
    with pytest.warns(UserWarning, match=r"^2 edge\(s\) of unknown mode of regulation "
                                         r"\(column 'mode': .*\) are read as activations "
                                         r"\(\+1\): the sign counts only in the soft prior"):
        prior = prior_from_edges(table)
    assert prior.loc["c", "a"] == 1.0 and prior.loc["c", "b"] == 1.0
    assert prior.loc["a", "b"] == 1.0 and prior.loc["b", "c"] == -1.0
    table.to_csv(tmp_path / "trrust.tsv", sep="\t", index=False)  # the CSV reader too
    with pytest.warns(UserWarning, match="unknown mode of regulation"):
        pd.testing.assert_frame_equal(align_prior(tmp_path / "trrust.tsv", list("abc")),
                                      prior)
    with pytest.raises(ValueError, match=r"not a mode of regulation: \['maybe'\]"):
        prior_from_edges(table.assign(mode="maybe"))


def test_genie3_and_arboreto_link_lists_are_read_as_priors(tmp_path):
    # GENIE3's getLinkList (R: regulatoryGene, targetGene, weight) was refused as "must be
    # square" and, saved, as "Unable to parse string 'a'"; so was arboreto's documented
    # output, network.to_csv(path, sep='\t', index=False, header=False)
    expected = [[0.0, 0.7, 0.0], [0.0, 0.0, 0.2], [0.0, 0.0, 0.0]]
    link = pd.DataFrame({"regulatoryGene": ["a", "b"], "targetGene": ["b", "c"],
                         "weight": [0.7, 0.2]})
    link.to_csv(tmp_path / "genie3.csv", index=False)
    link.to_csv(tmp_path / "arboreto.tsv", sep="\t", index=False, header=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for prior in (link, tmp_path / "genie3.csv"):
            assert align_prior(prior, GENES).to_numpy().tolist() == expected
        # header-less and without a negative number it is arboreto's ranking: +1 an edge,
        # as with its TF,target,importance header
        assert align_prior(tmp_path / "arboreto.tsv", GENES).to_numpy().tolist() == [
            [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
        # header-less with a negative number it is signed: the third column is the weight
        (tmp_path / "signed.csv").write_text("a,b,-1\nc,a,2.5\n")
        assert align_prior(tmp_path / "signed.csv", GENES).to_numpy().tolist() == [
            [0.0, -1.0, 0.0], [0.0, 0.0, 0.0], [2.5, 0.0, 0.0]]


def test_a_rectangular_or_graph_prior_says_how_to_make_it_square():
    # "must be square ... got shape (2, 3); build a TF-target prior with prior_from_edges"
    # named no way to make a TF x gene matrix, a genes x TF one (CellOracle's) or an
    # nx.DiGraph a gene x gene prior
    tf = _prior().iloc[:2]  # regulators a, b over the targets a, b, c
    with pytest.raises(ValueError, match=r"must be square .*got shape \(2, 3\).*its 2 rows "
                                         r"are all among its 3 columns.*"
                                         r"prior\.reindex\(index=prior\.columns, "
                                         r"fill_value=0\)"):
        align_prior(tf, GENES)
    expected = _prior()
    expected.loc["c"] = 0.0  # c regulates nothing
    pd.testing.assert_frame_equal(align_prior(tf.reindex(index=tf.columns, fill_value=0),
                                              GENES), expected)
    # genes x TF, the regulators as columns (CellOracle's base GRN): transposed first
    with pytest.raises(ValueError, match=r"its 2 columns are all among its 3 rows.*"
                                         r"prior\.T\.reindex\(index=prior\.index, "
                                         r"fill_value=0\).*prior\.reindex\(columns="
                                         r"prior\.index, fill_value=0\)"):
        align_prior(tf.T, GENES)
    pd.testing.assert_frame_equal(align_prior(tf.T.T.reindex(index=tf.T.index, fill_value=0),
                                              GENES), expected)
    other = pd.DataFrame([[1.0, 0.0]], index=["x"], columns=["a", "b"])
    with pytest.raises(ValueError, match=r"got shape \(1, 2\).*stack\(\)"):
        align_prior(other, GENES)
    # an edge table whose regulators are its index
    edges = pd.DataFrame({"TF": ["a", "b"], "target": ["b", "c"]}).set_index("TF")
    with pytest.raises(ValueError, match=r"its index 'TF' holds the regulators of an edge "
                                         r"table: pass prior\.reset_index\(\)"):
        align_prior(edges, GENES)
    assert align_prior(edges.reset_index(), GENES).loc["b", "c"] == 1.0
    nx = pytest.importorskip("networkx")
    graph = nx.DiGraph()
    graph.add_edge("a", "b", weight=-1.0)
    with pytest.raises(TypeError, match=r"prior is a networkx DiGraph.*nx\.to_pandas_"
                                        r"adjacency\(G, weight='weight'\)"):
        align_prior(graph, GENES)
    assert align_prior(nx.to_pandas_adjacency(graph), GENES).loc["a", "b"] == -1.0


def test_gene_names_that_differ_only_in_case_are_said_to(tmp_path):
    # an upper-cased prior (GATA1 for the data's Gata1) lost its edges with only "2 gene(s)
    # of the prior are not in the data": nothing said that case was the difference. Names
    # are still compared exactly.
    genes = ["Gata1", "Pu.1", "Fli1"]
    upper = pd.DataFrame([[0.0, -1.0, 1.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
                         index=["GATA1", "PU.1", "Fli1"], columns=["GATA1", "PU.1", "Fli1"])
    with pytest.warns(UserWarning, match=r"^2 gene\(s\) of the prior are not in the data and "
                                         r"are ignored: GATA1, PU\.1; 2 of them match a data "
                                         r"gene when case is ignored \(GATA1 ~ Gata1, PU\.1 ~ "
                                         r"Pu\.1\): names are compared exactly"):
        out = align_prior(upper, genes)
    assert (out.to_numpy() == 0).all()
    with pytest.raises(ValueError, match=r"no gene of the prior is among the data genes.*; 3 "
                                         r"of the prior's 3 genes match a data gene when case "
                                         r"is ignored"):
        align_prior(upper.rename(index={"Fli1": "FLI1"}, columns={"Fli1": "FLI1"}), genes)
    edges = pd.DataFrame({"tf": ["GATA1", "Fli1"], "target": ["Fli1", "Pu.1"]})
    with pytest.raises(ValueError, match=r"truth must name every data gene.*not in the data "
                                         r"\['GATA1', 'PU\.1'\]; 2 of them match a data gene "
                                         r"when case is ignored \(GATA1 ~ Gata1, PU\.1 ~ "
                                         r"Pu\.1\)"):
        align_prior(upper, genes, name="truth", complete=True)
    with pytest.warns(UserWarning, match=r"outside `genes` are dropped: GATA1; 1 of them "
                                         r"match a gene of `genes` when case is ignored "
                                         r"\(GATA1 ~ Gata1\): names are compared exactly, so "
                                         r"rename them to their spelling in `genes`"):
        prior_from_edges(edges, genes=genes)
    # exact names as before: no such note
    with pytest.warns(UserWarning) as record:
        align_prior(_prior(), ["a", "b", "z"])
    assert "case" not in str(record[0].message)


def _said(call):
    """Run ``call``; return its result and the messages of every warning it gave, in order."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        out = call()
    return out, [str(w.message) for w in record]


def test_a_truth_edge_list_keeps_a_pair_listed_with_both_signs(tmp_path):
    # read as a truth (GRNModel.evaluate, --truth), a pair listed as both activation and
    # repression (TRRUST lists such pairs) averaged to 0: the true edge was lost, with a
    # warning that "the prior has no edge there"
    table = pd.DataFrame({"tf": ["a", "a", "b", "b", "b"], "target": ["b", "b", "c", "c", "c"],
                          "mode": ["Activation", "Repression", "Repression", "Activation",
                                   "Repression"]})
    table.to_csv(tmp_path / "trrust.csv", index=False)
    for truth in (table, tmp_path / "trrust.csv"):
        out, said = _said(lambda truth=truth: align_prior(truth, GENES, name="truth"))
        # a tie reads +, b -> c the sign listed more often, each of magnitude 1
        assert out.to_numpy().tolist() == [[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [0.0, 0.0, 0.0]]
        assert said == ["2 regulator-target pair(s) of the truth are listed with both signs; "
                        "each is one true edge, of the sign of its weights' mean (the sign "
                        "listed more often, + on a tie): a -> b, b -> c"]
    # read as a prior it is as it was: the weights averaged, a -> b cancelled
    prior, said = _said(lambda: align_prior(table, GENES))
    assert prior.loc["a", "b"] == 0.0 and prior.loc["b", "c"] == pytest.approx(-1 / 3)
    assert said == ["2 regulator-target pair(s) appear more than once; their weights are "
                    "averaged: a -> b, b -> c", "the weights of 1 repeated regulator-target "
                    "pair(s) cancel to 0, so the prior has no edge there: a -> b"]
    # what a truth's warnings say of it names the truth
    zero = pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"], "mor": [1, 0]})
    _, said = _said(lambda: align_prior(zero, GENES, name="truth"))
    assert said == ["1 edge(s) have weight 0 in column 'mor', so the truth has no edge there: "
                    "b -> c; give them a non-zero weight (e.g. +1 where the sign is unknown) "
                    "to keep them"]
    unknown = pd.DataFrame({"tf": ["a"], "target": ["b"], "mode": ["Unknown"]})
    _, said = _said(lambda: align_prior(unknown, GENES, name="truth"))
    assert said == ["1 edge(s) of unknown mode of regulation (column 'mode': 'Unknown') are "
                    "read as activations (+1): in a truth the sign counts only in signed "
                    "metrics (signed_epr, prior_signs_corrected); drop those rows to leave the "
                    "edges out"]


def test_a_headerless_two_gene_matrix_is_not_read_as_an_edge_list(tmp_path):
    # "x\t0\t1\ny\t-1\t0" (to_csv(sep="\t", header=False)) has three fields a line, two
    # words then a number, and was read as the edges x -> 0 and y -> -1.0: an all-zero prior
    # with only warnings, where it was refused as "must be square ... got shape (1, 2)"
    genes = ["x", "y"]
    matrix = pd.DataFrame([[0.0, 1.0], [-1.0, 0.0]], index=genes, columns=genes)
    matrix.to_csv(tmp_path / "m.tsv", sep="\t", header=False)
    matrix.to_csv(tmp_path / "m.csv", header=False)
    for path in (tmp_path / "m.tsv", tmp_path / "m.csv"):
        with pytest.raises(ValueError, match=r"^prior must be square \(regulators x targets "
                                             r"over the same genes\), got shape \(1, 2\): .*"
                                             r"has no header row"):
            align_prior(path, genes)
    three = _prior()
    three.to_csv(tmp_path / "m3.tsv", sep="\t", header=False)
    with pytest.raises(ValueError, match=r"got shape \(2, 3\): .*m3\.tsv' has no header row: "
                                         r"each of its 3 lines is a gene and 3 numbers"):
        align_prior(tmp_path / "m3.tsv", GENES)
    # with the header it is read; arboreto's header-less list still is
    matrix.to_csv(tmp_path / "header.tsv", sep="\t")
    assert align_prior(tmp_path / "header.tsv", genes).to_numpy().tolist() == [[0.0, 1.0],
                                                                              [-1.0, 0.0]]
    (tmp_path / "arboreto.tsv").write_text("x\ty\t0.5\n")
    assert align_prior(tmp_path / "arboreto.tsv", genes).loc["x", "y"] == 1.0


def test_an_arboreto_ranking_is_read_alike_with_or_without_its_header(tmp_path):
    # with its header (TF, target, importance) arboreto's ranking was +1 an edge, without it
    # the importances were kept (12.5 and 0.03): one table gave two priors
    table = pd.DataFrame({"TF": ["a", "b"], "target": ["b", "c"], "importance": [12.5, 0.03]})
    table.to_csv(tmp_path / "header.tsv", sep="\t", index=False)
    table.to_csv(tmp_path / "none.tsv", sep="\t", index=False, header=False)
    expected = [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for prior in (table, tmp_path / "header.tsv", tmp_path / "none.tsv"):
            assert align_prior(prior, GENES).to_numpy().tolist() == expected
        # a negative number makes a header-less list signed: its weights are kept
        (tmp_path / "signed.tsv").write_text("a\tb\t-0.5\nb\tc\t2\n")
        assert align_prior(tmp_path / "signed.tsv", GENES).to_numpy().tolist() == [
            [0.0, -0.5, 0.0], [0.0, 0.0, 2.0], [0.0, 0.0, 0.0]]
        # a 0 makes it a weight list too, where 0 is no edge (a 0/1 adjacency list read
        # every line as an edge)
        (tmp_path / "adjacency.tsv").write_text("a\tb\t1\na\tc\t0\nb\tc\t1\nc\ta\t0\n")
        with pytest.warns(UserWarning, match="2 edge"):
            zero_one = align_prior(tmp_path / "adjacency.tsv", GENES).to_numpy().tolist()
        assert zero_one == [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
        # a network's ranking keeps its importances as scores, with or without the header
        truth = pd.DataFrame([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
                             index=GENES, columns=GENES)
        scored = evaluate(tmp_path / "none.tsv", truth)
        assert scored == evaluate(tmp_path / "header.tsv", truth)
        assert scored["auroc"] == 1.0


ENSEMBL = ["ENSG01", "ENSG02", "ENSG03"]
SYMBOLS = pd.DataFrame({"TF": ["SYM1", "SYM2"], "target": ["SYM2", "SYM3"],
                        "mode": ["activation", "repression"]})


def test_an_edge_list_naming_no_data_gene_is_refused(tmp_path):
    # an edge list in other identifiers (symbols against the data's Ensembl IDs) was padded
    # with every data gene before the genes were matched: an all-zero prior with warnings
    # only, and `prunus grn fit --prior` ran a whole DASH fit on it, where a matrix prior
    # and evaluate() refused the same case ("no gene of the prior is in the data")
    SYMBOLS.to_csv(tmp_path / "sym.csv", index=False)
    for prior in (SYMBOLS, tmp_path / "sym.csv"):
        with pytest.raises(ValueError) as err:
            align_prior(prior, ENSEMBL)
        assert str(err.value) == (
            "no gene of the prior edge list is among the data genes (var_names); check that "
            "both use the same identifiers (prior e.g. ['SYM1', 'SYM2', 'SYM3'], data e.g. "
            "['ENSG01', 'ENSG02', 'ENSG03'])")
    upper = SYMBOLS.assign(TF=["GATA1", "PU.1"], target=["PU.1", "FLI1"])
    with pytest.raises(ValueError, match=r"no gene of the prior edge list .*; 3 of the "
                                         r"prior's genes match a data gene when case is "
                                         r"ignored \(FLI1 ~ Fli1, GATA1 ~ Gata1, PU\.1 ~ "
                                         r"Pu\.1\)"):
        align_prior(upper, ["Gata1", "Pu.1", "Fli1"])
    # a matrix prior and a varp array are refused or read as before
    matrix = pd.DataFrame(np.eye(3), index=["SYM1", "SYM2", "SYM3"],
                          columns=["SYM1", "SYM2", "SYM3"])
    with pytest.raises(ValueError, match=r"^no gene of the prior is among the data genes"):
        align_prior(matrix, ENSEMBL)
    assert (align_prior(np.eye(3), ENSEMBL).to_numpy() == np.eye(3)).all()
    # genes in common but no edge between two data genes: a warning, as before (the
    # docstring promises an error only when no gene is in the data)
    out, said = _said(lambda: align_prior(SYMBOLS, ["SYM1", "ENSG02"]))
    assert (out.to_numpy() == 0).all() and out.shape == (2, 2)
    assert said == ["2 gene(s) of the prior are not in the data and are ignored: SYM2, SYM3"]


def test_a_truth_edge_list_in_other_identifiers_says_so(tmp_path):
    # --truth and GRNModel.evaluate read the truth with align_prior(complete=True): padded
    # with the data genes, a truth in symbols passed, a warning dropped its genes and the
    # error came later as "truth must have at least one edge and one non-edge between
    # distinct genes (found 0 edges among 6 pairs)", which did not say why
    from biomodels.grn.model import _read_prior

    beeline = pd.DataFrame({"Gene1": ["SYM1", "SYM2"], "Gene2": ["SYM2", "SYM3"],
                            "Type": ["+", "-"]})
    beeline.to_csv(tmp_path / "truth_sym.csv", index=False)
    said = ("no gene of the truth edge list is among the data genes (var_names); check that "
            "both use the same identifiers (truth e.g. ['SYM1', 'SYM2', 'SYM3'], data e.g. "
            "['ENSG01', 'ENSG02', 'ENSG03'])")
    with pytest.raises(ValueError) as err:
        _read_prior(str(tmp_path / "truth_sym.csv"), None, pd.Index(ENSEMBL), "truth")
    assert str(err.value) == said
    with pytest.raises(ValueError) as err:
        align_prior(beeline, ENSEMBL, name="truth", complete=True)
    assert str(err.value) == said
    # evaluate says what it said
    network = pd.DataFrame(np.ones((3, 3)), index=ENSEMBL, columns=ENSEMBL)
    with pytest.raises(ValueError) as err:
        evaluate(network, tmp_path / "truth_sym.csv")
    assert str(err.value) == said.replace("the data genes (var_names)", "the network's "
                                          "genes").replace("data e.g.", "network e.g.")


def test_prior_from_edges_shows_both_sides_when_no_edge_is_left():
    # "no edge of the table connects two genes of `genes`" alone did not show that the
    # table and `genes` use other identifiers
    with pytest.raises(ValueError) as err, pytest.warns(UserWarning, match="outside"):
        prior_from_edges(SYMBOLS, genes=ENSEMBL)
    assert str(err.value) == (
        "no edge of the table connects two genes of `genes`: none of its 3 genes is in "
        "`genes`; check that both use the same identifiers (table e.g. ['SYM1', 'SYM2', "
        "'SYM3'], `genes` e.g. ['ENSG01', 'ENSG02', 'ENSG03'])")
    with pytest.raises(ValueError) as err, pytest.warns(UserWarning, match="outside"):
        prior_from_edges(SYMBOLS, genes=["SYM1", "SYM3", "ENSG01"])
    assert str(err.value) == (
        "no edge of the table connects two genes of `genes`: 2 of its 3 genes are in "
        "`genes` (SYM1, SYM3), but no edge joins two of them (table e.g. ['SYM1', 'SYM2', "
        "'SYM3'], `genes` e.g. ['SYM1', 'SYM3', 'ENSG01'])")


def test_trrust_download_without_header_is_read(tmp_path):
    # TRRUST's file (TF, target, Activation/Repression/Unknown, PMIDs; tab-separated, no
    # header) was refused as 'could not read the prior CSV ...: Unable to parse string
    # "a"', though README names TRRUST's modes as read
    raw = "a\tb\tActivation\t123;456\nb\tc\tRepression\t789\nc\ta\tUnknown\t1\n"
    (tmp_path / "trrust_rawdata.human.tsv").write_text(raw)
    (tmp_path / "header.tsv").write_text("TF\ttarget\tmode\tPMID\n" + raw)
    expected = [[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]]
    unknown = ("1 edge(s) of unknown mode of regulation (column 'mode': 'Unknown') are read "
               "as activations (+1)")
    for path in (tmp_path / "trrust_rawdata.human.tsv", tmp_path / "header.tsv"):
        out, said = _said(lambda path=path: align_prior(path, GENES))
        assert out.to_numpy().tolist() == expected
        assert len(said) == 1 and said[0].startswith(unknown)
    # as a truth, a pair TRRUST lists with both modes is one true edge
    (tmp_path / "both.tsv").write_text(raw + "a\tb\tRepression\t42\n")
    truth, said = _said(lambda: align_prior(tmp_path / "both.tsv", GENES, name="truth"))
    assert truth.to_numpy().tolist() == expected
    assert said[-1].startswith("1 regulator-target pair(s) of the truth are listed with "
                               "both signs")
    net = pd.DataFrame(np.abs(expected), index=GENES, columns=GENES)
    assert _said(lambda: evaluate(net, tmp_path / "trrust_rawdata.human.tsv"))[0][
        "auroc"] == 1.0
    # four header-less columns with other words are refused as before
    (tmp_path / "other.tsv").write_text("a\tb\tbinds\t1\nb\tc\tbinds\t2\n")
    with pytest.raises(ValueError, match=r"^could not read the prior CSV .*other\.tsv'"):
        align_prior(tmp_path / "other.tsv", GENES)


def test_the_repeated_pair_warning_names_the_pairs():
    # "2 regulator-target pair(s) appear more than once" did not say which (duplicated
    # symbols map two genes to one name)
    genes = list("abcdefg")
    table = pd.DataFrame({"tf": ["a", "a", "b", "c"], "target": ["b", "b", "c", "a"]})
    out, said = _said(lambda: align_prior(pd.concat([table, table.iloc[2:]]), GENES))
    assert said == ["3 regulator-target pair(s) appear more than once; their weights are "
                    "averaged: a -> b, b -> c, c -> a"]
    assert out.loc["a", "b"] == out.loc["b", "c"] == out.loc["c", "a"] == 1.0
    many = pd.DataFrame({"tf": genes[:6] * 2, "target": genes[1:7] * 2})
    _, said = _said(lambda: prior_from_edges(many))
    assert said == ["6 regulator-target pair(s) appear more than once; their weights are "
                    "averaged: a -> b, b -> c, c -> d, d -> e, e -> f ..."]


def test_a_commented_csv_is_not_said_to_be_space_separated(tmp_path):
    # "# prior from X" lines above a CSV were taken for R's space-separated header, and the
    # refusal said the file "was read as space-separated (R's write.table default)"
    path = tmp_path / "x.csv"
    path.write_text("# prior from X\n# made 2024\n,a,b\na,0,1\nb,1,0\n")
    with pytest.raises(ValueError, match="line 1 starts with '#'") as err:
        align_prior(path, ["a", "b"])
    assert "space-separated" not in str(err.value)


def test_a_set_of_genes_is_refused_where_the_genes_give_the_matrix_order():
    # a set's order follows string hashing: align_prior(array, {"Gata1", "Pu.1", "Fli1"})
    # gave Gata1 another row of the array in each process, and prior_from_edges(edges,
    # genes={...}) another row and column order
    array = np.array([[0, 1, 0], [0, 0, -1], [0, 0, 0]])
    with pytest.raises(TypeError, match=r"^var_names: expected a list \(or other ordered "
                                        r"sequence\) of gene names.*got a set.*"
                                        r"sorted\(var_names\)"):
        align_prior(array, {"Gata1", "Pu.1", "Fli1"})
    edges = pd.DataFrame({"regulator": ["A", "B"], "target": ["B", "C"], "sign": [1, -1]})
    with pytest.raises(TypeError, match=r"^genes: expected a list .*got a frozenset"):
        prior_from_edges(edges, genes=frozenset({"A", "B", "C", "D"}))
    # a list, an Index and a dict's keys keep their order
    keys = {"Pu.1": 0, "Gata1": 1, "Fli1": 2}.keys()
    assert align_prior(array, keys).loc["Pu.1", "Gata1"] == 1.0
    assert list(prior_from_edges(edges, genes=pd.Index(["D", "C", "B", "A"])).index) == [
        "D", "C", "B", "A"]


def _outcome(call):
    """Run ``call``: its matrix (or its error's type and text) and its warnings, in order."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        try:
            out = call()
        except (TypeError, ValueError) as err:
            out = (type(err), str(err))
    return out, [(w.category, str(w.message)) for w in record]


def _dense_then_cut(prior, genes, name):
    """The reading before: an edge list's matrix over every gene it names, then cut to genes.

    The reference the edge lists are read against: ``_read_edge_list`` and ``_edge_frame``
    still build that matrix when asked, and ``_align_edges`` aligns it as it did (padded
    with the data's other genes, then ``_align_frame``).
    """
    from pathlib import Path

    from biomodels.grn.prior import _align_edges, _edge_frame, _read_edge_list

    truth = name == "truth"
    dense = (_edge_frame(prior, name, truth=truth) if isinstance(prior, pd.DataFrame)
             else _read_edge_list(Path(prior), name, truth=truth))
    assert isinstance(dense, pd.DataFrame)
    return _align_edges(dense, pd.Index(genes), name, False)


_OUTSIDE = [f"x{i:02d}" for i in range(30)]
#: (edge table, data genes): missing genes, case mismatches, repeated and cancelling pairs,
#: words, weights (0, -0.0, a weight that overflows the mean), self-loops, genes only as
#: regulators or only as targets, integer ids, no gene or no edge in common
_EDGE_CASES = [
    (pd.DataFrame({"tf": ["Gata1", "gata1", "GATA1", "Pu.1", "Fli1", "x9", "Fli1"],
                   "target": ["Pu.1", "Fli1", "Pu.1", "Gata1", "FLI1", "Gata1", "Fli1"],
                   "mode": ["+", "-", "activation", "repression", "+", "-", "Unknown"]}),
     ["Gata1", "Pu.1", "Fli1", "Klf1"]),
    (pd.DataFrame({"source": list("aabbccdebbz"), "target": list("bbcccadaaaa"),
                   "weight": [1.0, -1.0, 2.0, 4.0, 0.5, 0.0, 3.0, -0.0, -2.0, -2.0, -0.0]}),
     ["c", "a", "b", "z"]),
    (pd.DataFrame({"regulator": ["r1", "r1", "r2", "a", "b"],
                   "target": ["a", "t1", "b", "t2", "b"]}), ["a", "b", "r1", "t2", "q"]),
    (pd.DataFrame({"tf": ["a", "a", "b", "b", "b", "c", "c"],
                   "target": ["b", "b", "c", "c", "c", "a", "a"],
                   "mode": ["Activation", "Repression", "Repression", "Activation",
                            "Repression", "Repression", "Repression"]}), GENES),
    (pd.DataFrame({"source": [1002, 12, 1002, 7], "target": ["0012", "1002", "7", "12"],
                   "weight": [0.5, -1.0, 2.0, 1.0]}), ["0012", "1002", "12", "7"]),
    (pd.DataFrame({"source": ["a"] * 30 + _OUTSIDE, "target": _OUTSIDE + ["b"] * 30,
                   "sign": [1, -1] * 30}), ["b", "a", *_OUTSIDE[::7]]),
    (pd.DataFrame({"tf": ["GATA1", "PU.1", "SYM3"], "target": ["PU.1", "FLI1", "GATA1"]}),
     ["Gata1", "Pu.1", "Fli1"]),
    (SYMBOLS, ENSEMBL),
    (SYMBOLS, ["SYM1", "ENSG02"]),
    (pd.DataFrame({"source": ["a", "a", "b", "b", "b", "b", "c"],
                   "target": ["b", "b", "c", "c", "c", "c", "a"],
                   "weight": [1e308, 1e308, 1e308, 1e308, -1e308, -1e308, 1.0]}), GENES),
    (pd.DataFrame({"source": ["c", "c", "a", "zz"], "target": ["b", "b", "c", "a"],
                   "weight": [1e308, 1e308, 1.0, 1.0]}), ["a", "c"]),
]


@pytest.mark.parametrize("case", range(len(_EDGE_CASES)))
def test_an_edge_list_is_aligned_as_its_matrix_over_all_its_genes_was(case, tmp_path):
    # an edge list was expanded to a dense matrix over every gene it names before it was
    # cut to the data's: 16 s and 6.9 GB for a 20,000-gene list aligned to 500 genes. Cut
    # first now, its matrix, warnings and errors must be those of the dense reading, for a
    # table, its CSV and a truth
    from biomodels.grn.prior import _align_edges, _read_table

    table, genes = _EDGE_CASES[case]
    table.to_csv(tmp_path / "edges.csv", index=False)
    for name in ("prior", "truth"):
        for prior in (table, tmp_path / "edges.csv"):
            _same(_outcome(lambda prior=prior, name=name: align_prior(prior, genes, name=name)),
                  _outcome(lambda prior=prior, name=name: _dense_then_cut(prior, genes, name)),
                  genes)
            # evaluate's reader: an edge list as its pairs (sparse=True) is aligned alike,
            # and gives the same pairs listed with both signs
            mixed: dict[bool, list[tuple[str, str]]] = {True: [], False: []}

            def scored(sparse, prior=prior, name=name, mixed=mixed):
                read = _read_table(prior, name, truth=name == "truth", either=mixed[sparse],
                                   sparse=sparse)
                return _align_edges(read[0], pd.Index(genes), name, False, "network")

            _same(_outcome(lambda: scored(True)), _outcome(lambda: scored(False)), genes)
            assert mixed[True] == mixed[False]


def _same(new, old, genes):
    """Assert that two ``_outcome``s are the same: matrix bit for bit, or error; warnings."""
    assert new[1] == old[1]
    if isinstance(old[0], tuple):
        assert new[0] == old[0]
        return
    pd.testing.assert_frame_equal(new[0], old[0], check_exact=True)
    assert list(new[0].index) == list(genes) and new[0].index.dtype == object
    # bitwise: a -0.0 weight stays -0.0
    np.testing.assert_array_equal(np.signbit(new[0].to_numpy()), np.signbit(old[0].to_numpy()))


def test_an_edge_list_is_aligned_as_before_known_answers():
    # the known answers of a few of the cases above, so the reference cannot drift with them
    out, said = _outcome(lambda: align_prior(_EDGE_CASES[1][0], ["c", "a", "b", "z"]))
    assert out.to_numpy().tolist() == [[0.5, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0],
                                       [3.0, -2.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    assert [m for _, m in said] == [
        "3 regulator-target pair(s) appear more than once; their weights are averaged: "
        "a -> b, b -> c, b -> a",
        "3 edge(s) have weight 0 in column 'weight', so the prior has no edge there: "
        "c -> a, e -> a, z -> a; give them a non-zero weight (e.g. +1 where the sign is "
        "unknown) to keep them",
        "the weights of 1 repeated regulator-target pair(s) cancel to 0, so the prior has "
        "no edge there: a -> b",
        "2 gene(s) of the prior are not in the data and are ignored: d, e"]
    out, said = _outcome(lambda: align_prior(_EDGE_CASES[0][0], _EDGE_CASES[0][1]))
    assert out.loc["Gata1", "Pu.1"] == 1.0 and out.loc["Fli1", "Fli1"] == 1.0
    assert said[-1][1] == (
        "4 gene(s) of the prior are not in the data and are ignored: FLI1, GATA1, gata1, x9; "
        "3 of them match a data gene when case is ignored (FLI1 ~ Fli1, GATA1 ~ Gata1, "
        "gata1 ~ Gata1): names are compared exactly, so rename them to the data's spelling")
    # a mean that overflows: refused as the dense matrix was, a pair outside the data too
    out, _ = _outcome(lambda: align_prior(_EDGE_CASES[-2][0], GENES))
    assert out == (ValueError, "prior has 1 missing values (NaN/NA), at (regulator, target) "
                               "[('b', 'c')]; fill them (prior.fillna(0): 0 is no edge)")
    out, _ = _outcome(lambda: align_prior(*_EDGE_CASES[-1]))
    assert out == (ValueError, "prior has 1 infinite values, at (regulator, target) "
                               "[('c', 'b')]; give finite edge weights")


def test_an_edge_list_over_many_genes_is_cut_to_the_data_genes_first(tmp_path):
    # a genome-wide edge list (20,000 genes, motif priors name ~30,000) was expanded to a
    # dense matrix over all of its genes before it was cut to the data's 300: 3.2 GB a copy,
    # 6.7 GB at peak and 4-18 s, whatever the data's genes; now it costs its edges
    from biomodels.grn.model import _read_prior

    rng = np.random.default_rng(0)
    names = np.array([f"g{i}" for i in range(20_000)])
    inner = rng.integers(0, 300, (2, 1_000))  # edges among the data's genes
    outer = rng.integers(0, 20_000, (2, 40_000))
    ends = np.concatenate([inner, outer], axis=1)
    table = pd.DataFrame({"source": names[ends[0]], "target": names[ends[1]],
                          "weight": rng.choice([-1.0, 1.0, 2.0], ends.shape[1])})
    table = table.drop_duplicates(["source", "target"])
    table.to_csv(tmp_path / "big.csv", index=False)
    genes = list(names[:300][::-1])
    expected = pd.DataFrame(0.0, index=genes, columns=genes)
    kept = table[table["source"].isin(genes) & table["target"].isin(genes)]
    for r, t, w in kept.itertuples(index=False):
        expected.loc[r, t] = w
    outside = len((set(table["source"]) | set(table["target"])) - set(genes))
    assert outside > 19_000
    for read in (lambda: align_prior(tmp_path / "big.csv", genes),
                 lambda: _read_prior(str(tmp_path / "big.csv"), None, pd.Index(genes),
                                     "truth")):
        tracemalloc.start()
        try:
            with pytest.warns(UserWarning, match=rf"^{outside} gene\(s\) of the (prior|truth) "
                                                 r"are not in the data"):
                out = read()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 100e6, f"aligning the edge list peaked at {peak / 1e6:.0f} MB"
        pd.testing.assert_frame_equal(out, expected, check_exact=True)


def test_a_damaged_compressed_prior_is_named(tmp_path):
    # a gzip body damaged in the middle escaped as a bare zlib.error ("Error -3 while
    # decompressing data"), naming no file
    import gzip

    data = gzip.compress(b"regulator,target,sign\na,b,1\nb,c,-1\n" * 50)
    path = tmp_path / "p.csv.gz"
    path.write_bytes(data[:20] + bytes(b ^ 0xFF for b in data[20:60]) + data[60:])
    with pytest.raises(ValueError, match=r"prior file '.*p\.csv\.gz': its compressed data "
                       r"are damaged or cut short \(Error -3"):
        align_prior(path, ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"truth file '.*p\.csv\.gz': its compressed data"):
        evaluate(pd.DataFrame([[0, 1], [1, 0]], index=["a", "b"], columns=["a", "b"]), path)
    # a failed CRC (gzip's BadGzipFile, an OSError) said only "CRC check failed ..."
    whole = bytearray(data)
    whole[-8] ^= 0xFF
    path.write_bytes(bytes(whole))
    with pytest.raises(ValueError, match=r"prior file '.*p\.csv\.gz': its compressed data "
                       r"are damaged or cut short \(CRC check failed"):
        align_prior(path, ["a", "b", "c"])


def test_a_score_column_with_one_word_names_only_the_word():
    # ["hi", 1, 1, ...] listed its numbers too as "not a mode of regulation" (['1', 'hi'])
    truth = pd.DataFrame({"regulator": ["a", "b"], "target": ["b", "c"]})
    edges = {"TF": ["a", "b", "c", "d", "a"], "target": ["b", "c", "d", "b", "c"]}
    net = pd.DataFrame({**edges, "importance": ["hi", 1, 1, 1, 1]})
    with pytest.raises(ValueError, match=r"column 'importance' holds numbers and values that "
                       r"are not numbers: \['hi'\]; give every edge a number"):
        evaluate(net, truth)
    mixed = pd.DataFrame({**edges, "importance": ["+", 1, "-", 1, 1]})
    with pytest.raises(ValueError, match=r"column 'importance' mixes numbers \(\['1'\]\) and "
                       r"modes of regulation"):
        evaluate(mixed, truth)


_QUOTED_GENES = ["Zoë", 'Bob "B"', "Cy"]
_QUOTED_ROWS = [[0.0, 1.0, 0.0], [1.0, 0.0, -1.0], [1.0, 1.0, 0.0]]


def _r_escaped(sep: str, corner: bool = False) -> str:
    """The prior over _QUOTED_GENES as R's write.table(m, sep=sep) writes it by default.

    qmethod = "escape": a quote in a name is written \\" (write.csv's qmethod = "double"
    writes "").
    """
    names = ['"' + g.replace('"', '\\"') + '"' for g in _QUOTED_GENES]
    header = (['""'] if corner else []) + names
    rows = [sep.join([n, *(f"{v:g}" for v in r)]) for n, r in zip(names, _QUOTED_ROWS)]
    return "\n".join([sep.join(header), *rows]) + "\n"


@pytest.mark.parametrize(("name", "text"), [
    ("prior.txt", _r_escaped(" ")),  # write.table(m, "prior.txt")
    ("prior.csv", _r_escaped(",")),  # write.table(m, sep = ",")
    ("prior.csv", _r_escaped(",", corner=True)),  # col.names = NA
    ("prior.tsv", _r_escaped("\t")),  # sep = "\t"
    ("prior.txt.gz", _r_escaped(" ")),
    ("edges.txt", '"regulator" "target" "sign"\n"1" "Zo\u00eb" "Bob \\"B\\"" 1\n'
                  '"2" "Bob \\"B\\"" "Cy" -1\n"3" "Cy" "Zo\u00eb" 1\n'),
], ids=["space", "comma", "comma-corner", "tab", "gzip", "edge-list"])
def test_r_write_table_escaped_quotes_in_gene_names_are_read(tmp_path, name, text):
    # R's write.table escapes a quote in a name as \" by default: the name was read as
    # 'Bob \B\"', and the gene dropped with its edges as "not in the data"
    import gzip

    path = tmp_path / name
    data = text.encode()
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    if name.startswith("edges"):
        expected = pd.DataFrame([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]],
                                index=_QUOTED_GENES, columns=_QUOTED_GENES)
    else:
        expected = pd.DataFrame(_QUOTED_ROWS, index=_QUOTED_GENES, columns=_QUOTED_GENES)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pd.testing.assert_frame_equal(align_prior(path, _QUOTED_GENES), expected)
        scored = evaluate(expected, path)  # a truth file is read alike
    assert scored["n_true_edges"] == int((expected != 0).to_numpy().sum())


@pytest.mark.parametrize("text", [
    # write.csv (qmethod = "double"): a quote in a name is ""
    ',"Bob ""B""","a\\","c\\d"\n"Bob ""B""",0,1,0\n"a\\",1,0,-1\n"c\\d",1,1,0\n',
    # quoted names that end in a backslash, space-separated
    '"Bob" "a\\" "c\\d"\n"Bob" 0 1 0\n"a\\" 1 0 -1\n"c\\d" 1 1 0\n',
], ids=["write-csv", "space-backslash"])
def test_names_with_backslashes_or_doubled_quotes_read_as_before(tmp_path, text):
    # only a file whose quotes fit R's \" and not "" is read with backslash escapes
    path = tmp_path / ("prior.csv" if text.startswith(",") else "prior.txt")
    path.write_text(text, encoding="utf-8")
    genes = ['Bob "B"' if text.startswith(",") else "Bob", "a\\", "c\\d"]
    expected = pd.DataFrame(_QUOTED_ROWS, index=genes, columns=genes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pd.testing.assert_frame_equal(align_prior(path, genes), expected)


@pytest.mark.parametrize(("name", "sep"), [("prior.csv", ","), ("prior.txt", " ")])
def test_r_escaped_quotes_beside_other_backslashes_are_refused(tmp_path, name, sep):
    # pandas' escapechar drops every backslash: "C:\x" would be the gene "C:x"
    path = tmp_path / name
    path.write_text(f'"Bob \\"B\\""{sep}"C:\\x"\n"Bob \\"B\\""{sep}0{sep}1\n'
                    f'"C:\\x"{sep}1{sep}0\n')
    with pytest.raises(ValueError, match=rf"^prior file '.*{name}' escapes the quotes in "
                                         r"its names with a backslash .*write\.csv") as err:
        align_prior(path, ['Bob "B"', "C:\\x"])
    assert "space-separated" not in str(err.value)


@pytest.mark.parametrize(("name", "sep", "corner", "said"), [
    ("prior.txt", ",", True, ","),  # to_csv: a comma-separated .txt
    ("prior.txt", ",", False, ","),  # R's header, no corner cell
    ("prior.csv", "\t", True, r"\\t"),  # a tab-separated .csv
], ids=["comma-txt", "comma-txt-r-header", "tab-csv"])
def test_the_separator_named_is_the_one_that_splits_the_file(tmp_path, name, sep, corner, said):
    # a gene "x;y" made the message say ';', the first of ";\t|," in the header, though
    # the file is split by another
    genes = ["a", "x;y", "b"]
    frame = pd.DataFrame(np.eye(3), index=genes, columns=genes)
    frame.to_csv(tmp_path / name, sep=sep, index_label="" if corner else False)
    if not corner:  # R's write.table: no header cell above the row names
        text = (tmp_path / name).read_text().splitlines()
        rows = [sep.join([g, line]) for g, line in zip(genes, text[1:])]
        (tmp_path / name).write_text("\n".join([text[0], *rows]) + "\n")
    for path in (tmp_path / name, str(tmp_path / name)):
        with pytest.raises(ValueError, match=rf"in its header but '{said}': expected"):
            align_prior(path, genes)
