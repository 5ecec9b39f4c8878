"""Loaders, synthetic generators and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from biomodels.ctmc import (
    CTMC,
    block_theta,
    fit_theta,
    random_sparse_theta,
    read_cohort,
    read_maf,
    state_distribution,
    validate_cohort,
)
from biomodels.ctmc._checks import as_theta


def test_read_cohort_csv_and_tsv_with_ids(tmp_path):
    frame = pd.DataFrame({"sample": ["s1", "s2", "s3"], "TP53": [1, 0, 1], "IDH1": [0, 0, 1]})
    frame.to_csv(tmp_path / "a.csv", index=False)
    frame.drop(columns="sample").to_csv(tmp_path / "b.tsv", sep="\t", index=False)
    x, names, ids = read_cohort(tmp_path / "a.csv")
    assert names == ["TP53", "IDH1"] and ids == ["s1", "s2", "s3"]
    assert x.tolist() == [[1, 0], [0, 0], [1, 1]]
    x2, names2, _ = read_cohort(tmp_path / "b.tsv")
    assert (x2 == x).all() and names2 == names
    # a space after each comma is not part of the names (it named the event " TP53")
    (tmp_path / "c.csv").write_text("sample, TP53, IDH1\ns1, 1, 0\ns2, 0, 0\ns3, 1, 1\n")
    x3, names3, ids3 = read_cohort(tmp_path / "c.csv")
    assert names3 == names and ids3 == ["s1", "s2", "s3"] and (x3 == x).all()
    (tmp_path / "d.csv").write_text("sample,TP53, TP53\ns1,1,0\n")
    with pytest.raises(ValueError, match=r"duplicated event names .*\['TP53'\]"):
        read_cohort(tmp_path / "d.csv")


def test_read_cohort_and_read_maf_take_upper_case_extensions(tmp_path):
    # COHORT.TSV was read with commas (one column "TP53\tIDH1"), REPORT.CSV with tabs
    frame = pd.DataFrame({"TP53": [1, 0, 1], "IDH1": [0, 0, 1]})
    frame.to_csv(tmp_path / "COHORT.TSV", sep="\t", index=False)
    x, names, _ = read_cohort(tmp_path / "COHORT.TSV")
    assert names == ["TP53", "IDH1"] and x.tolist() == [[1, 0], [0, 0], [1, 1]]
    (tmp_path / "REPORT.CSV").write_text(
        "Tumor_Sample_Barcode,Hugo_Symbol\ns1,TP53\ns2,IDH1\n")
    x, names, ids = read_maf(tmp_path / "REPORT.CSV")
    assert ids == ["s1", "s2"] and sorted(names) == ["IDH1", "TP53"]


def test_read_cohort_refuses_what_pandas_would_hide(tmp_path):
    rows = "s1,1,0,1\ns2,0,0,1\ns3,1,1,0\n"
    # pandas renames a repeated header name (TP53 -> TP53.1): refused as written
    (tmp_path / "dup.csv").write_text("sample,TP53,IDH1,TP53\n" + rows)
    with pytest.raises(ValueError, match=r"dup.csv: duplicated event names .*\['TP53'\]"):
        read_cohort(tmp_path / "dup.csv")
    # a yes/no event in the first column is not a column of sample ids (it was dropped)
    frame = pd.DataFrame({"A": ["yes", "no", "yes"], "B": [0, 1, 1], "C": [1, 1, 0]})
    frame.to_csv(tmp_path / "yesno.csv", index=False)
    with pytest.raises(ValueError, match="yesno.csv: event column 'A' has a non-numeric entry"):
        read_cohort(tmp_path / "yesno.csv")
    # distinct text ids without an id-like header are still ids
    frame.assign(A=["t1", "t2", "t3"]).to_csv(tmp_path / "ids.csv", index=False)
    assert read_cohort(tmp_path / "ids.csv")[2] == ["t1", "t2", "t3"]
    # another separator than the one expected: say so instead of "no event columns"
    frame.drop(columns="A").to_csv(tmp_path / "semi.csv", index=False, sep=";")
    with pytest.raises(ValueError, match="a single column 'B;C'; expected event names "
                                         "separated by ','"):
        read_cohort(tmp_path / "semi.csv")
    # a one-event cohort is fine
    frame[["B"]].to_csv(tmp_path / "one.csv", index=False)
    assert read_cohort(tmp_path / "one.csv")[1] == ["B"]


def test_read_cohort_warns_of_a_table_that_may_be_transposed(tmp_path):
    # genes x samples (Hugo_Symbol, then a column per sample) was read as 5 "events" of 3
    # "tumours" named by genes, with nothing said but "events never observed"
    path = tmp_path / "t.csv"
    path.write_text("Hugo_Symbol,S1,S2,S3,S4,S5\nTP53,1,0,1,0,1\nIDH1,0,1,1,1,0\n"
                    "EGFR,1,1,0,0,0\n")
    with pytest.warns(UserWarning, match=r"t\.csv: 5 event columns but 3 tumours \(rows\): the "
                                         r"table may be transposed \(genes as rows, samples "
                                         r"as columns\).*index_col=0\)\.T\.to_csv"):
        x, names, ids = read_cohort(path)
    assert names == ["S1", "S2", "S3", "S4", "S5"] and ids == ["TP53", "IDH1", "EGFR"]
    # as many events as tumours, or fewer (the GBM cohort is 261 x 20), or rows under a
    # header naming samples: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path.write_text("A,B\n1,0\n0,1\n")
        assert read_cohort(path)[0].shape == (2, 2)
        path.write_text("Tumor_Sample_Barcode,A,B,C\ns1,1,0,1\ns2,0,1,0\n")
        assert read_cohort(path)[0].shape == (2, 3)
    # a small cohort that is right as it is: the warning says how to keep it (its advice
    # was only to transpose, which made it the transposed table, read without a word)
    path.write_text(",A,B,C,D\nt1,1,0,1,0\nt2,0,1,1,0\nt3,1,1,0,1\n")
    with pytest.warns(UserWarning, match=r"if they are tumours, give them a first column "
                                         r"of ids named sample \(or name the id column "
                                         r"sample\) to say so"):
        read_cohort(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path.write_text("sample,A,B,C,D\nt1,1,0,1,0\nt2,0,1,1,0\nt3,1,1,0,1\n")
        assert read_cohort(path)[2] == ["t1", "t2", "t3"]


@pytest.mark.parametrize("header", ["Tumor_Sample_Barcode", "Sample ID", "patient_id",
                                    "sampleId", "PatientBarcode", "Tumour-ID", "SAMPLE_ID"])
def test_read_cohort_takes_repeated_ids_under_a_common_id_header(tmp_path, header):
    # only a few exact headers ("sample", "sample_id", ...) marked repeated ids: under
    # Tumor_Sample_Barcode, "Sample ID" or patient_id the ids were read as an event
    # ("event column 'Tumor_Sample_Barcode' has a non-numeric entry 'TCGA-02-0000'")
    path = tmp_path / "c.csv"
    path.write_text(f"{header},TP53,IDH1\nTCGA-02-0000,1,0\nTCGA-02-0001,0,1\n"
                    "TCGA-02-0000,1,1\n")
    with pytest.warns(UserWarning, match=r"1 sample id\(s\) appear on more than one row, and "
                                         r"each row counts as a tumour: \['TCGA-02-0000'\]"):
        x, names, ids = read_cohort(path)
    assert names == ["TP53", "IDH1"] and ids == ["TCGA-02-0000", "TCGA-02-0001", "TCGA-02-0000"]
    assert x.tolist() == [[1, 0], [0, 1], [1, 1]]


def test_read_cohort_takes_mostly_text_repeated_ids_under_any_header(tmp_path):
    # text ids with a repeat under a header that names no id were read as an event column
    path = tmp_path / "c.csv"
    path.write_text("name,TP53,IDH1\nP1,1,0\nP2,0,1\nP3,1,1\nP1,0,0\n")
    with pytest.warns(UserWarning, match=r"1 sample id\(s\) .*\['P1'\]"):
        x, names, ids = read_cohort(path)
    assert names == ["TP53", "IDH1"] and ids == ["P1", "P2", "P3", "P1"]
    assert x.tolist() == [[1, 0], [0, 1], [1, 1], [0, 0]]
    # a 0/1 event whose name holds an id word stays an event (it loaded so before)
    path.write_text("patient_female,TP53\n1,0\n0,1\n")
    assert read_cohort(path)[1] == ["patient_female", "TP53"]
    # a yes/no event (two words, repeated) is still refused, not dropped as ids
    path.write_text("IDH1,TP53\nyes,0\nno,1\nyes,1\nno,0\nYes,1\n")
    with pytest.raises(ValueError, match="event column 'IDH1' has a non-numeric entry 'yes'"):
        read_cohort(path)


def test_a_model_keeps_its_own_copy_of_theta():
    for theta in (np.zeros((2, 2)), torch.zeros(2, 2, dtype=torch.float64)):
        model = CTMC(theta, ["A", "B"])
        theta[0, 1] = 5.0  # the model's theta changed with the caller's array
        assert model.theta[0, 1] == 0.0


def test_theta_frame_is_a_copy_of_theta():
    # the docstring promises a copy, but the frame wrapped the model's own array: zeroing
    # small effects in the frame for a table changed the fitted model
    model = CTMC(np.array([[-1.0, 0.05], [0.5, -2.0]]), ["A", "B"])
    frame = model.theta_frame()
    frame[frame.abs() < 0.1] = 0.0
    frame.loc["A", "A"] = 9.0
    assert model.theta.tolist() == [[-1.0, 0.05], [0.5, -2.0]]


def test_sample_names_its_own_argument():
    model = CTMC(np.zeros((2, 2)), ["A", "B"])
    with pytest.raises(ValueError, match="^n: expected an integer >= 0, got -1"):
        model.sample(-1)  # said n_samples, an argument CTMC.sample does not have
    with pytest.raises(TypeError, match="^n: expected an integer"):
        model.sample(1.5)
    assert model.sample(3, seed=0).X.shape == (3, 2)


def test_unreadable_tables_name_the_file(tmp_path):
    # pandas says only "No columns to parse from file" or "'utf-8' codec can't decode ..."
    (tmp_path / "empty.csv").write_text("")
    # not starting with \xff\xfe: that is UTF-16's byte-order mark, and such files are read
    (tmp_path / "binary.csv").write_bytes(b"\x81\xff\xfe\x00" * 64)
    (tmp_path / "empty.maf").write_text("# only a comment\n")
    for reader, name in ((read_cohort, "empty.csv"), (read_cohort, "binary.csv"),
                         (read_maf, "empty.maf")):
        with pytest.raises(ValueError, match=rf"cannot read '.*{name}' as a table"):
            reader(tmp_path / name)


def test_read_maf_skips_comment_lines_but_keeps_a_hash_inside_a_field(tmp_path):
    # pandas' comment="#" cut every line at its first '#': the rows of samples "S#1" and
    # "S#2" (and event IDH1 with them) were dropped without a word
    (tmp_path / "h.maf").write_text(
        "#version 2.4\nTumor_Sample_Barcode\tHugo_Symbol\tNote\n"
        "S#1\tTP53\tx\nS#2\tIDH1\tx\n#a comment line\nS3\tTP53\tsee #4\nS4\tEGFR\tx\n"
    )
    x, names, ids = read_maf(tmp_path / "h.maf")
    assert ids == ["S#1", "S#2", "S3", "S4"] and names == ["TP53", "EGFR", "IDH1"]
    assert x.tolist() == [[1, 0, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0]]


@pytest.mark.parametrize("suffix", [".maf.gz", ".maf.bz2", ".maf.xz", ".maf.zip"])
def test_read_maf_reads_a_compressed_maf(tmp_path, suffix):
    # the GDC ships MAFs as .maf.gz: the comment lines were counted in the compressed
    # bytes, so "#version 2.4" became the header ("sample_col ... is not a column")
    import bz2
    import gzip
    import lzma
    import zipfile

    text = ("#version 2.4\nHugo_Symbol\tTumor_Sample_Barcode\n"
            "TP53\tS#1\nIDH1\tS#1\nTP53\tS2\nEGFR\tS3\n")
    (tmp_path / "x.maf").write_text(text)
    path = tmp_path / f"x{suffix}"
    if suffix == ".maf.zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("x.maf", text)
    else:
        opener = {".maf.gz": gzip.open, ".maf.bz2": bz2.open, ".maf.xz": lzma.open}[suffix]
        with opener(path, "wt") as handle:
            handle.write(text)
    x, names, ids = read_maf(path)
    x0, names0, ids0 = read_maf(tmp_path / "x.maf")
    assert names == names0 == ["TP53", "EGFR", "IDH1"] and ids == ids0 == ["S#1", "S2", "S3"]
    assert np.array_equal(x, x0)
    damaged = tmp_path / f"bad{suffix}"
    damaged.write_bytes(path.read_bytes()[:12])
    with pytest.raises(ValueError, match=f"cannot read .*bad{suffix}"):
        read_maf(damaged)


def test_read_cohort_guesses_the_separator_past_a_compression_suffix(tmp_path):
    frame = pd.DataFrame({"sample": ["a", "b"], "TP53": [1, 0], "IDH1": [0, 1]})
    frame.to_csv(tmp_path / "c.tsv.gz", sep="\t", index=False)  # was read with commas
    x, names, ids = read_cohort(tmp_path / "c.tsv.gz")
    assert names == ["TP53", "IDH1"] and ids == ["a", "b"] and x.tolist() == [[1, 0], [0, 1]]


def test_read_maf_long_table(tmp_path):
    maf = pd.DataFrame(
        {
            "Hugo_Symbol": ["TP53", "IDH1", "TP53", "EGFR", "TP53", "TP53"],
            "Tumor_Sample_Barcode": ["t1", "t1", "t2", "t3", "t3", "t3"],
        }
    )
    (tmp_path / "x.maf").write_text("#version 2.4\n" + maf.to_csv(sep="\t", index=False))
    x, names, ids = read_maf(tmp_path / "x.maf")
    assert names[0] == "TP53" and set(names) == {"TP53", "IDH1", "EGFR"}
    assert ids == ["t1", "t2", "t3"] and x[:, 0].tolist() == [1, 1, 1]
    x2, names2, _ = read_maf(tmp_path / "x.maf", top=1)
    assert names2 == ["TP53"]
    # top=-1 dropped the least frequent event silently; 1.5 failed inside pandas
    for bad, error in ((-1, ValueError), (0, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="top: expected an integer >= 1"):
            read_maf(tmp_path / "x.maf", top=bad)
    assert read_maf(tmp_path / "x.maf", top=np.int64(2))[1][0] == "TP53"
    assert len(read_maf(tmp_path / "x.maf", top=np.int64(2))[1]) == 2
    with pytest.raises(ValueError, match="gene_col='Gene'"):
        read_maf(tmp_path / "x.maf", gene_col="Gene")
    # tumours without alterations are absent from a MAF: `samples` keeps them as zero rows
    x3, names3, ids3 = read_maf(tmp_path / "x.maf", samples=["t0", "t1", "t2", "t3"])
    assert ids3 == ["t0", "t1", "t2", "t3"] and x3[0].sum() == 0 and x3.shape == (4, 3)
    # frequencies count those tumours: IDH1/EGFR are in 1 of 3 listed but 1 of 4 sequenced
    assert len(read_maf(tmp_path / "x.maf", min_frequency=0.3)[1]) == 3
    assert read_maf(tmp_path / "x.maf", samples=["t0", "t1", "t2", "t3"],
                    min_frequency=0.3)[1] == ["TP53"]
    with pytest.raises(ValueError, match="not in `samples`"):
        read_maf(tmp_path / "x.maf", samples=["t1", "t2"])


def test_read_maf_with_classes_still_refuses_a_sample_missing_from_samples(tmp_path):
    # S3's only row is Silent: with classes=["Missense_Mutation"] the class filter ran before
    # the check that every sequenced sample is in `samples`, so S3 was dropped silently where
    # the same file without `classes` is refused
    maf = pd.DataFrame({"Hugo_Symbol": ["TP53", "IDH1", "EGFR"],
                        "Tumor_Sample_Barcode": ["S1", "S2", "S3"],
                        "Variant_Classification": ["Missense_Mutation"] * 2 + ["Silent"]})
    (tmp_path / "x.maf").write_text(maf.to_csv(sep="\t", index=False))
    for classes in (None, ["Missense_Mutation"]):
        with pytest.raises(ValueError, match=r"1 sample\(s\) .* not in `samples`, e.g. \['S3'\]"):
            read_maf(tmp_path / "x.maf", samples=["S1", "S2"], classes=classes)
    # listed, S3 is a sequenced tumour without a counted alteration: a row of zeros
    x, names, ids = read_maf(tmp_path / "x.maf", samples=["S1", "S2", "S3"],
                             classes=["Missense_Mutation"])
    assert ids == ["S1", "S2", "S3"] and names == ["IDH1", "TP53"]
    assert x.tolist() == [[0, 1], [1, 0], [0, 0]]
    # a row without a gene names no alteration: ignored with or without `classes`
    maf.loc[2, "Hugo_Symbol"] = None
    (tmp_path / "x.maf").write_text(maf.to_csv(sep="\t", index=False))
    for classes in (None, ["Missense_Mutation", "Silent"]):
        assert read_maf(tmp_path / "x.maf", samples=["S1", "S2"], classes=classes)[2] == \
            ["S1", "S2"]


@pytest.mark.parametrize("fmt", ["csr_matrix", "csr_array", "coo_array", "csc_array"])
def test_a_scipy_sparse_cohort_is_read_as_its_dense_matrix(fmt):
    # np.asarray of a sparse matrix is a 0-d object array: "X must be a 2-D tumours x
    # events matrix, got shape ()" for a 2-D matrix
    import scipy.sparse as sp

    from biomodels.ctmc import subset_log_likelihood

    dense = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0]])
    X = getattr(sp, fmt)(dense)
    x, names = validate_cohort(X, ["a", "b", "c"])
    assert x.tolist() == dense.tolist() and names == ["a", "b", "c"]
    model = CTMC(random_sparse_theta(3, seed=0), ["a", "b", "c"])
    assert np.array_equal(model.log_likelihood(X), model.log_likelihood(dense))
    theta = torch.as_tensor(model.theta)
    assert torch.equal(subset_log_likelihood(theta, X), subset_log_likelihood(theta, dense))


@pytest.mark.parametrize("fmt", ["csr_matrix", "csr_array", "coo_array"])
def test_state_index_and_the_statespace_likelihood_take_a_scipy_sparse_cohort(fmt):
    # np.asarray ran before the checks: "can't convert np.ndarray of type numpy.object_";
    # independence_theta: "sparse array length is ambiguous"
    import scipy.sparse as sp

    from biomodels.ctmc import independence_theta, state_index, statespace_log_likelihood

    dense = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0]])
    X = getattr(sp, fmt)(dense)
    assert state_index(X).tolist() == state_index(dense).tolist() == [5, 2, 0]
    theta = torch.as_tensor(random_sparse_theta(3, seed=0))
    assert torch.equal(statespace_log_likelihood(theta, X),
                       statespace_log_likelihood(theta, dense))
    assert np.array_equal(independence_theta(X), independence_theta(dense))


def test_an_omhn_theta_is_named_with_its_conversion():
    # mhn's default model, oMHN, is (n + 1) x n (last row: effects on the observation rate);
    # "must be square" left the user guessing which of mhn's outputs CTMC models. CTMC builds
    # an oMHN from it now (tests/ctmc/test_ctmc_omhn.py); the functions of a classical theta
    # name the conversion
    assert CTMC(np.zeros((4, 3))).model_type == "omhn"
    with pytest.raises(ValueError, match=r"oMHN.*classical_theta.*get_equivalent_classical_mhn"):
        state_distribution(torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"square \(n, n\) matrix .*got shape \(2, 3\): pass "
                       r"theta\.T if an oMHN was transposed$"):
        CTMC(np.zeros((2, 3)))


def test_bad_input_names_the_column():
    with pytest.raises(ValueError, match="'IDH1' has non-binary entry 2;"):
        validate_cohort(pd.DataFrame({"TP53": [0, 1], "IDH1": [2, 0]}))
    with pytest.raises(ValueError, match="'TP53' has a NaN"):
        validate_cohort(pd.DataFrame({"TP53": [np.nan, 1], "IDH1": [1, 0]}))
    with pytest.raises(ValueError, match="non-numeric entry 'yes'"):
        validate_cohort(pd.DataFrame({"TP53": ["yes", "0"]}))
    with pytest.raises(ValueError, match=r"duplicated event names: \['TP53'\]"):
        validate_cohort(np.zeros((2, 2)), ["TP53", "TP53"])
    with pytest.raises(ValueError, match="event_names has 1 entries"):
        validate_cohort(np.zeros((2, 2)), ["TP53"])
    with pytest.raises(ValueError, match="theta has shape"):
        as_theta(np.zeros((3, 3)), n=4)
    with pytest.raises(ValueError, match="square"):
        CTMC(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="l1 must be"):
        fit_theta(np.zeros((3, 2), dtype=np.uint8), l1=-1)
    with pytest.raises(ValueError, match="no tumours"):  # was an AttributeError in the fit
        fit_theta(np.zeros((0, 2), dtype=np.uint8), l1=0.01)


def test_never_observed_event_warns_and_stays_finite():
    x = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 0]] * 10)
    with pytest.warns(UserWarning, match=r"never observed.*'E2'"):
        model = CTMC().fit(x, l1=0.01, max_steps=100)
    assert np.isfinite(model.theta).all()
    assert model.theta[2, 2] < -3


def test_an_event_in_every_tumour_warns_as_one_in_none_does(tmp_path):
    # its base rate goes to +inf: a fit gave theta_ii = 18 without a word
    x = np.array([[1, 0, 1], [1, 1, 0], [1, 1, 1], [1, 0, 0]] * 10)
    with pytest.warns(UserWarning, match=r"observed in every tumour: \['E0'\]"):
        model = CTMC().fit(x, l1=0.01, max_steps=100)
    assert np.isfinite(model.theta).all() and model.theta[0, 0] > 3
    with warnings.catch_warnings():  # one tumour: every event is in all or none of them
        warnings.simplefilter("error")
        validate_cohort(np.array([[1, 1, 1]]), warn_unobserved=True)
    # a counted cohort: the rows of count 0 do not count (the fit drops them), so an event
    # missing only there is in every tumour; the same fit on the repeated rows warned
    genotypes = np.array([[1, 0], [1, 1], [0, 1]])
    with pytest.warns(UserWarning, match=r"observed in every tumour: \['E0'\]"):
        CTMC().fit(genotypes, l1=0.01, sample_weight=[3, 4, 0], max_steps=50)
    (tmp_path / "counted.csv").write_text("A,B,n\n1,0,3\n1,1,4\n0,1,0\n")
    with pytest.warns(UserWarning, match=r"observed in every tumour: \['A'\]"):
        read_cohort(tmp_path / "counted.csv", weights="n")
    # a wide panel's list is cut short, with the count
    with pytest.warns(UserWarning, match=r"'E9'\] \.\.\. \(30 in all\)"):
        validate_cohort(np.zeros((2, 30), dtype=np.uint8))


def test_generators():
    theta = random_sparse_theta(10, sparsity=0.7, seed=0)
    off = ~np.eye(10, dtype=bool)
    assert 0.5 < (theta[off] == 0).mean() < 0.9
    theta2, names = block_theta(20, blocks="synth5", seed=0)
    assert theta2.shape == (25, 25) and names[:2] == ["A", "B"] and names[5] == "I0"
    assert theta2[1, 0] == 4.0  # rows are targets: A promotes B
    pad = theta2[5:, 5:]
    assert (pad[~np.eye(20, dtype=bool)] == 0).all() and (theta2[5:, :5] == 0).all()
    with pytest.raises(ValueError, match="blocks"):
        block_theta(3, blocks="synth9")
    with pytest.raises(ValueError, match="n_independent"):  # was a broadcasting error
        block_theta(-3)
    with pytest.raises(ValueError, match="rate_range"):
        block_theta(3, rate_range=(0.0, 0.3))
    with pytest.raises(ValueError, match="scale"):
        random_sparse_theta(3, scale=float("nan"))


def test_fit_and_likelihood_functions_check_their_input():
    import torch

    from biomodels.ctmc import data_log_likelihood

    with pytest.raises(ValueError, match="'E1' has non-binary entry 2"):
        fit_theta(np.array([[0, 2], [1, 0]]), l1=0.01)
    with pytest.raises(ValueError, match="'E0' has a NaN"):
        fit_theta(np.array([[np.nan, 1.0], [1.0, 0.0]]), l1=0.01)
    with pytest.raises(ValueError, match="'E0' has non-binary entry 0.5"):
        data_log_likelihood(torch.zeros(2, 2), np.array([[0.5, 1.0]]))
    with pytest.raises(ValueError, match=r"theta has shape \(3, 3\) but the data have 2 events"):
        data_log_likelihood(torch.zeros(3, 3), np.array([[0, 1]]))


def test_an_empty_event_header_cell_is_refused(tmp_path):
    # pandas would call it "Unnamed: 2" and fit an event of that name
    (tmp_path / "blank.csv").write_text("sample,TP53,,KRAS\na,1,0,1\nb,0,1,0\n")
    with pytest.raises(ValueError, match=r"header cell\(s\) \[3\] .* are empty"):
        read_cohort(tmp_path / "blank.csv")
    # an empty first cell above sample ids is the usual index header and stays accepted
    (tmp_path / "ids.csv").write_text(",TP53,EGFR\na,1,0\nb,0,1\n")
    x, names, ids = read_cohort(tmp_path / "ids.csv")
    assert names == ["TP53", "EGFR"] and ids == ["a", "b"] and x.tolist() == [[1, 0], [0, 1]]


def test_a_backed_sparse_or_x_less_anndata_cohort(tmp_path):
    import anndata as ad
    import scipy.sparse as sp

    x = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
    cohort = ad.AnnData(sp.csr_matrix(x), var=pd.DataFrame(index=["TP53", "KRAS"]))
    cohort.write_h5ad(tmp_path / "c.h5ad")
    backed = ad.read_h5ad(tmp_path / "c.h5ad", backed="r")
    try:  # was pandas' "Must pass 2-d input. shape=()"
        got, names = validate_cohort(backed)
    finally:
        backed.file.close()
    np.testing.assert_array_equal(got, x)
    assert names == ["TP53", "KRAS"]
    empty = ad.AnnData(obs=pd.DataFrame(index=["t0", "t1"]),
                       var=pd.DataFrame(index=["TP53", "KRAS"]))
    empty.layers["calls"] = x[:2]
    with pytest.raises(ValueError, match=r"adata.X is None.*\['calls'\]"):
        validate_cohort(empty)


def test_true_false_text_reads_as_0_1(tmp_path):
    text = pd.DataFrame({"TP53": ["True", "false", " TRUE "], "KRAS": ["1", "False", "0"]})
    got, _ = validate_cohort(text)  # was "non-numeric entry 'True'"
    np.testing.assert_array_equal(got, [[1, 1], [0, 0], [1, 0]])
    # the same table as a CSV: a column mixing TRUE with 1 is text to pandas
    (tmp_path / "c.csv").write_text("sample,TP53,KRAS\ns1,True,1\ns2,false,False\ns3,TRUE,0\n")
    np.testing.assert_array_equal(read_cohort(tmp_path / "c.csv")[0], got)
    with pytest.raises(ValueError, match="'TP53' has a NaN"):
        validate_cohort(pd.DataFrame({"TP53": ["True", None]}))
    with pytest.raises(ValueError, match="non-numeric entry 'yes'"):
        validate_cohort(pd.DataFrame({"TP53": ["True", "yes"]}))


@pytest.mark.parametrize(("name", "sep"), [("cohort.txt", "\t"), ("cohort.csv", ",")])
def test_read_cohort_reads_utf16_text(tmp_path, name, sep):
    # Excel's "Unicode Text" is UTF-16 with a byte-order mark: it failed with "'utf-8' codec
    # can't decode byte 0xff"
    text = "sample,TP53,IDH1\nS1,1,0\nS2,0,1\nS3,1,1\n".replace(",", sep)
    (tmp_path / name).write_bytes(text.encode("utf-16"))
    X, names, ids = read_cohort(tmp_path / name)
    assert names == ["TP53", "IDH1"] and ids == ["S1", "S2", "S3"]
    assert X.tolist() == [[1, 0], [0, 1], [1, 1]]


def test_read_cohort_keeps_the_ids_of_a_header_without_a_cell_above_them(tmp_path):
    # R's write.table(x, sep=",") writes no header cell above the row names: pandas made
    # them the index, and the sample ids came back as "0", "1", "2"
    (tmp_path / "r.csv").write_text('"TP53","IDH1"\n"S1",1,0\n"S2",0,1\n"S3",1,1\n')
    X, names, ids = read_cohort(tmp_path / "r.csv")
    assert names == ["TP53", "IDH1"] and ids == ["S1", "S2", "S3"]
    assert X.tolist() == [[1, 0], [0, 1], [1, 1]]
    # a comment line above the header: pandas made three columns the index
    (tmp_path / "c.csv").write_text("# cohort v1\nsample,TP53,IDH1\nS1,1,0\nS2,0,1\n")
    with pytest.raises(ValueError, match=r"c\.csv: its lines have 2 fields more than its "
                                         r"first line \['# cohort v1'\]"):
        read_cohort(tmp_path / "c.csv")


def test_read_cohort_of_a_file_not_in_utf8_says_to_save_it_so(tmp_path):
    # older Excel's "CSV" is Windows-1252: the error was pandas' "'utf-8' codec can't decode
    # byte 0xf6", which did not say what to do; the encoding is not guessed
    path = tmp_path / "cohort.csv"
    path.write_bytes("sample,TP53,IDH1\nSchön,1,0\nS2,0,1\n".encode("cp1252"))
    with pytest.raises(ValueError, match=r"^cannot read '.*cohort\.csv' as a table: it is "
                       r"not UTF-8 text \(it has byte 0xf6: .*; save it as UTF-8 text \(in "
                       r"Excel: \"CSV UTF-8\"\)$"):
        read_cohort(path)


def test_read_cohort_names_a_comment_line_read_as_a_tumour(tmp_path):
    # comments are not read (an id may hold '#'): "event column 'TP53' has a NaN/missing"
    # did not say which line
    (tmp_path / "c.csv").write_text("sample,TP53,IDH1\nS1,1,0\n# batch 2\nS2,0,1\n")
    with pytest.raises(ValueError, match=r"'TP53' has a NaN/missing; expected 0/1; line 3 "
                       r"starts with '#' \(comments are not supported\)$"):
        read_cohort(tmp_path / "c.csv")


def test_read_cohort_names_the_line_and_sample_of_a_bad_entry(tmp_path):
    # "event column 'CDKN2A_del' has a NaN/missing; expected 0/1" named neither the line nor
    # the sample of the empty cell
    path = tmp_path / "c.csv"
    path.write_text("Tumor_Sample_Barcode,TP53,CDKN2A_del\nTCGA-02-0000,1,0\n"
                    "TCGA-02-0001,0,1\nTCGA-02-0002,1,NA\n")
    with pytest.raises(ValueError, match=r"c\.csv: event column 'CDKN2A_del' has a NaN/missing "
                                         r"on line 4 \(sample 'TCGA-02-0002'\); expected 0/1$"):
        read_cohort(path)
    # without an id column, the line alone; a blank line above is counted as the file has it
    path.write_text("TP53,CDKN2A_del\n1,0\n\n0,1\n1,2\n")
    with pytest.raises(ValueError, match=r"c\.csv: event column 'CDKN2A_del' has non-binary "
                                         r"entry 2 on line 5; expected 0/1$"):
        read_cohort(path)


def test_block_theta_is_the_documented_synthetic_setting():
    # synth5: A -> B -> C by +4, C -> D and C -> E by +3, D and E exclude each other (-2)
    theta, _ = block_theta(30, blocks="synth5", rate_range=(0.05, 0.2), seed=1)
    dep = np.diag([0.0, -3.0, -3.0, -1.5, -1.5])
    dep[1, 0] = dep[2, 1] = 4.0
    dep[3, 2] = dep[4, 2] = 3.0
    dep[3, 4] = dep[4, 3] = -2.0
    np.testing.assert_array_equal(theta[:5, :5], dep)
    rates = np.exp(np.diag(theta)[5:])  # the diagonal holds log base rates
    assert ((rates >= 0.05) & (rates <= 0.2)).all()
    theta2, _ = block_theta(0, blocks="synth2")
    np.testing.assert_array_equal(theta2, [[0.0, 0.0], [4.0, -4.0]])


def test_read_cohort_reads_a_tab_file_with_tabs(tmp_path):
    frame = pd.DataFrame({"TP53": [1, 0, 0], "IDH1": [1, 1, 0]})
    frame.to_csv(tmp_path / "cohort.tab", sep="\t", index=False)
    x, names, _ = read_cohort(tmp_path / "cohort.tab")
    assert names == ["TP53", "IDH1"] and x.tolist() == [[1, 1], [0, 1], [0, 0]]


def test_read_maf_reads_a_compressed_csv_with_commas(tmp_path):
    import gzip

    with gzip.open(tmp_path / "muts.csv.gz", "wt") as handle:
        handle.write("Tumor_Sample_Barcode,Hugo_Symbol\ns1,TP53\ns2,IDH1\n")
    x, names, ids = read_maf(tmp_path / "muts.csv.gz")
    assert ids == ["s1", "s2"] and names == ["IDH1", "TP53"] and x.tolist() == [[0, 1], [1, 0]]


def test_read_maf_counts_a_gene_once_per_tumour(tmp_path):
    # two TP53 mutations in t1 (common in a MAF): TP53 is in 1 of 2 tumours, not 2 of 2
    (tmp_path / "x.maf").write_text("Hugo_Symbol\tTumor_Sample_Barcode\n"
                                    "TP53\tt1\nTP53\tt1\nKRAS\tt1\nKRAS\tt2\n")
    x, names, _ = read_maf(tmp_path / "x.maf", min_frequency=0.75)
    assert names == ["KRAS"] and x.tolist() == [[1], [1]]


def test_read_cohort_with_weights_returns_the_counts_of_a_deduplicated_cohort(tmp_path):
    # the count column (here before the events) is no event; without weights= the same
    # call unpacks three values as before
    path = tmp_path / "counted.csv"
    path.write_text("sample,n,TP53,IDH1\ng0,3,0,0\ng1,0,1,0\ng2,12,1,1\n")
    x, names, ids, counts = read_cohort(path, weights="n")
    assert names == ["TP53", "IDH1"] and ids == ["g0", "g1", "g2"]
    assert x.dtype == np.uint8 and x.tolist() == [[0, 0], [1, 0], [1, 1]]
    assert counts.dtype == np.float64 and counts.tolist() == [3.0, 0.0, 12.0]
    path.write_text("sample,n,TP53,IDH1\ng0,1,0,0\ng1,0,1,0\ng2,1,1,1\n")
    # n, all 0/1, is an event here (with a warning that says how to read it as counts)
    with pytest.warns(UserWarning, match="column 'n' holds only 0 and 1 and is read as an event"):
        x3, names3, ids3 = read_cohort(path)
    assert names3 == ["n", "TP53", "IDH1"] and ids3 == ids and x3.shape == (3, 3)
    r_style = tmp_path / "counted.tsv"  # R's write.table: no header cell above the ids
    r_style.write_text("TP53\tn\tIDH1\ng0\t0\t3\t1\ng1\t1\t1\t0\n")
    x, names, ids, counts = read_cohort(r_style, weights="n")
    assert (names, ids, counts.tolist(), x.tolist()) == (
        ["TP53", "IDH1"], ["g0", "g1"], [3.0, 1.0], [[0, 1], [1, 0]])


@pytest.mark.parametrize(("counts", "match"), [
    (None, "has no column 'n' \\(its columns: \\['sample', 'count', 'TP53'\\]\\)"),
    ("dup", "has 2 columns named 'count'"),
    (["2", "2.5", "1"], "line 3 of .* has '2.5'; the column must hold the number of tumours"),
    (["-1", "2", "1"], "line 2 of .* has '-1'; .*whole numbers >= 0"),
    (["1", "", "1"], "line 3 of .* has nothing;"),
    (["1", "NA", "1"], "line 3 of .* has 'NA';"),
    (["1", "inf", "1"], "line 3 of .* has 'inf';"),
    (["TRUE", "FALSE", "TRUE"], "line 2 of .* has 'TRUE';"),
    (["0", "0", "0"], "every count in .* is 0"),
    ("alone", "has no event column besides 'count'"),
])
def test_read_cohort_refuses_bad_counts_naming_weights_and_the_file(tmp_path, counts, match):
    path = tmp_path / "counted.csv"
    if counts == "dup":
        path.write_text("sample,count,TP53,count\ng0,1,0,1\n")
    elif counts == "alone":
        path.write_text("count\n1\n2\n")
    else:
        cells = counts or ["1", "2", "1"]
        path.write_text("sample,count,TP53\n" + "".join(
            f"g{i},{c},{i % 2}\n" for i, c in enumerate(cells)))
    weights = "n" if counts is None else "count"
    with pytest.raises(ValueError, match=f"^weights={weights!r}: .*{match}") as caught:
        read_cohort(path, weights=weights)
    assert str(path) in str(caught.value)
    with pytest.raises(TypeError, match="weights: expected the name of the column"):
        read_cohort(path, weights=1)


def test_read_cohort_warns_of_an_event_column_given_as_weights(tmp_path):
    # weights="TP53" on one row per tumour would fit the other events on TP53's carriers
    path = tmp_path / "rows.csv"
    path.write_text("TP53,IDH1\n1,0\n0,1\n1,1\n")
    with pytest.warns(UserWarning, match="^weights='TP53': .* holds only 0 and 1 in that "
                                         "column.*its 1 row\\(s\\) with 0 are left out"):
        x, names, _, counts = read_cohort(path, weights="TP53")
    assert names == ["IDH1"] and counts.tolist() == [1.0, 0.0, 1.0] and x.shape == (3, 1)
    path.write_text("sample,count,TP53\ns1,2,1\ns1,3,0\n")
    with pytest.warns(UserWarning, match="each row counts as its count tumours: \\['s1'\\]"):
        read_cohort(path, weights="count")


def test_read_cohort_refuses_a_table_without_its_header(tmp_path):
    # the first tumour became the header: events named '1' and '0' and one tumour lost, or
    # "duplicated event names in the header: ['0', '1']"
    for text in ("1,0\n0,1\n1,1\n0,0\n", "1,0,1\n0,1,1\n1,1,0\n"):
        (tmp_path / "nohdr.csv").write_text(text)
        with pytest.raises(ValueError, match=r"first line .* holds only 0 and 1, a tumour, not "
                                             "event names"):
            read_cohort(tmp_path / "nohdr.csv")


def test_read_maf_keeps_the_variant_classes_asked_for(tmp_path):
    # every row counted: a silent TTN mutation became an event and T2's TP53 a 1
    path = tmp_path / "small.maf"
    path.write_text("Tumor_Sample_Barcode\tHugo_Symbol\tVariant_Classification\n"
                    "T1\tTP53\tMissense_Mutation\nT1\tTTN\tSilent\nT2\tTP53\tSilent\n"
                    "T3\tIDH1\tMissense_Mutation\n")
    x, names, ids = read_maf(path)
    assert names == ["TP53", "IDH1", "TTN"] and ids == ["T1", "T2", "T3"]
    x, names, ids = read_maf(path, classes=["Missense_Mutation"])
    # T2's only alteration is silent: it stays, as a tumour without events
    assert names == ["IDH1", "TP53"] and ids == ["T1", "T2", "T3"]  # ties in name order
    assert x.tolist() == [[0, 1], [0, 0], [1, 0]]
    with pytest.raises(ValueError, match="class_col='Variant_Class' is not a column"):
        read_maf(path, classes="Silent", class_col="Variant_Class")


def test_read_maf_names_classes_that_keep_nothing_or_never_occur(tmp_path):
    # classes="Missense" (no such class) said "small.maf lists no alterations (no row with
    # both 'Tumor_Sample_Barcode' and 'Hugo_Symbol')", and a misspelt class among good ones
    # ("Splice_Region") was dropped without a word
    path = tmp_path / "small.maf"
    path.write_text("Tumor_Sample_Barcode\tHugo_Symbol\tVariant_Classification\n"
                    "T1\tTP53\tMissense_Mutation\nT1\tTTN\tSilent\nT2\tTP53\tSilent\n"
                    "T3\tIDH1\tMissense_Mutation\n")
    present = r"\['Missense_Mutation', 'Silent'\]"
    for classes, asked in (("Missense", r"\['Missense'\]"),
                           (["missense_mutation"], r"\['missense_mutation'\]")):
        with pytest.raises(ValueError, match=rf"^classes={asked} keeps no alteration of .*"
                                             rf"small\.maf; the classes in "
                                             rf"'Variant_Classification' are {present}"):
            read_maf(path, classes=classes)
    with pytest.warns(UserWarning, match=r"^classes: \['Splice_Region'\] never occur in "
                                         rf"'Variant_Classification' of .*small\.maf \(its "
                                         rf"classes: {present}\)"):
        x, names, ids = read_maf(path, classes=["Missense_Mutation", "Splice_Region"])
    assert names == ["IDH1", "TP53"] and ids == ["T1", "T2", "T3"]  # as without the typo
    assert x.tolist() == [[0, 1], [0, 0], [1, 0]]

_ALIQUOTS = ("Hugo_Symbol\tTumor_Sample_Barcode\n"
             "TP53\tTCGA-02-0001-01A-01D-1490-08\nIDH1\tTCGA-02-0001-01A-01D-1490-08\n"
             "TP53\tTCGA-02-0001-01B-02D-1490-08\nEGFR\tTCGA-02-0001-02A-01D-1490-08\n"
             "EGFR\tTCGA-02-0003-01A-01D-1490-08\n")


def test_read_maf_collapses_the_aliquots_of_a_tcga_sample_or_patient(tmp_path):
    # two aliquots of one tumour (01A and 01B) counted as two tumours without a word, and
    # samples=[patient barcodes] was refused as "not in `samples`"
    path = tmp_path / "a.maf"
    path.write_text(_ALIQUOTS)
    with pytest.warns(UserWarning, match=r"a\.maf: several barcodes of one TCGA patient, each "
                                         r"read as a tumour: 'TCGA-02-0001' \(3 barcodes\); "
                                         r"collapse=\"patient\" or \"sample\" merges them"):
        x, names, ids = read_maf(path)
    assert len(ids) == 4 and names == ["EGFR", "TP53", "IDH1"]
    x, names, ids = read_maf(path, collapse="sample")
    assert ids == ["TCGA-02-0001-01", "TCGA-02-0001-02", "TCGA-02-0003-01"]
    assert names == ["EGFR", "IDH1", "TP53"]  # ties in name order
    assert x.tolist() == [[0, 1, 1], [1, 0, 0], [1, 0, 0]]  # TP53 once for 01A and 01B
    x, names, ids = read_maf(path, collapse="patient",
                             samples=["TCGA-02-0001", "TCGA-02-0002", "TCGA-02-0003"])
    assert ids == ["TCGA-02-0001", "TCGA-02-0002", "TCGA-02-0003"]
    assert names == ["EGFR", "IDH1", "TP53"]  # EGFR in 2 of 3 patients
    assert x.tolist() == [[1, 1, 1], [0, 0, 0], [1, 0, 0]]
    with pytest.raises(ValueError, match=r"not in `samples`, e.g. \['TCGA-02-0003'\]; .*"
                                         r"collapse='patient'.*first 12 characters"):
        read_maf(path, collapse="patient", samples=["TCGA-02-0001"])


def test_read_maf_collapse_refuses_what_is_not_a_tcga_barcode(tmp_path):
    path = tmp_path / "a.maf"
    path.write_text(_ALIQUOTS + "KRAS\tS7\n")
    with pytest.raises(ValueError, match=r"collapse='patient': 'S7' in 'Tumor_Sample_Barcode' "
                                         r"of .*a\.maf is not a TCGA patient barcode"):
        read_maf(path, collapse="patient")
    path.write_text(_ALIQUOTS + "KRAS\tTCGA-02-0009\n")  # a patient barcode has no sample
    with pytest.raises(ValueError, match=r"collapse='sample': 'TCGA-02-0009' .* is not a TCGA "
                                         r"sample barcode"):
        read_maf(path, collapse="sample")
    for bad, error in (("aliquot", ValueError), (True, TypeError)):
        with pytest.raises(error, match=r"collapse: expected 'sample', 'patient' or None"):
            read_maf(path, collapse=bad)
    # other barcodes: no warning, read as before
    path.write_text("Hugo_Symbol\tTumor_Sample_Barcode\nTP53\tS1-a\nTP53\tS1-b\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_maf(path)[2] == ["S1-a", "S1-b"]


def test_anndata_counts_in_x_point_to_a_binary_layer():
    # counts in X and the 0/1 calls in a layer: "event column 'A' has non-binary entry 3",
    # not a word of layers (and fit(adata, layer=...) is no argument of the fit)
    import anndata as ad

    counts = np.array([[3, 0, 1], [0, 2, 0], [1, 1, 0], [0, 0, 1]], dtype=np.float64)
    adata = ad.AnnData(counts)
    adata.var_names = ["A", "B", "C"]
    adata.layers["calls"] = (counts > 0).astype(np.uint8)
    with pytest.raises(ValueError, match=r"adata.X: event column 'A' has non-binary entry "
                                         r"3.*adata.to_df\(layer=...\) \(layers: \['calls'\]\)"):
        validate_cohort(adata)
    x, names = validate_cohort(adata.to_df(layer="calls"))
    assert names == ["A", "B", "C"] and np.array_equal(x, counts > 0)


def test_a_sample_passed_for_its_matrix_says_to_pass_its_x():
    # CTMC().fit(model.sample(100)) (the Trajectories, not its .X) said "X must be a 2-D
    # tumours x events matrix, got shape ()", and subset_log_likelihood a torch TypeError
    from biomodels.ctmc import (
        cross_validate,
        data_log_likelihood,
        posterior_theta,
        select_l1,
        subset_log_likelihood,
    )

    model = CTMC(random_sparse_theta(3, seed=0), ["A", "B", "C"])
    sample = model.sample(20, seed=0)
    model.l1 = 0.01
    theta = torch.as_tensor(model.theta)
    calls = [
        lambda: CTMC().fit(sample, l1=0.01),
        lambda: CTMC().fit(sample),
        lambda: model.log_likelihood(sample),
        lambda: model.independence_log_likelihood(model.sample(5, seed=1).X, train=sample),
        lambda: model.cross_validate(sample),
        lambda: model.sample_posterior(sample),
        lambda: validate_cohort(sample),
        lambda: fit_theta(sample, l1=0.01),
        lambda: cross_validate(sample, 0.01),
        lambda: select_l1(sample),
        lambda: data_log_likelihood(theta, sample),
        lambda: subset_log_likelihood(theta, sample),
        lambda: posterior_theta(sample),
    ]
    for call in calls:
        with pytest.raises(TypeError, match=r"X: got a Trajectories .*; pass its 0/1 matrix "
                                            r"X\.X, e\.g\. CTMC\(\)\.fit\(model\.sample\(n\)"
                                            r"\.X\)"):
            call()
    # its matrix fits as before
    assert CTMC().fit(sample.X, l1=0.01).theta.shape == (3, 3)


@pytest.mark.parametrize("rows,message", [
    (["1,0,1", ",1,1", "1,1,0", "0,0,1"], "has a NaN/missing on line 3"),
    (["1,0,1", "2,1,1", "1,1,0", "0,0,1"], "non-binary entry"),
    (["mut,0,1", "wt,1,1", "mut,1,0", "wt,0,1"], "non-numeric entry 'mut'"),
])
def test_an_event_under_an_id_like_header_is_refused_not_dropped(tmp_path, rows, message):
    # the rule taking id-like headers (Tumor_Sample_Barcode, Sample ID) as the id column
    # dropped a Tumor_Type / tumor_status event with a gap, a 2 or mut/wt values silently,
    # with only a misleading "repeated sample id" warning
    (tmp_path / "c.csv").write_text("\n".join(["Tumor_Type,IDH1,EGFR", *rows]) + "\n")
    with pytest.raises(ValueError, match=rf"event column 'Tumor_Type' .*{message}"):
        read_cohort(tmp_path / "c.csv")


@pytest.mark.parametrize("header", ["patient_id", "sampleId", "Tumor_Sample_Barcode",
                                    "Sample ID", "PatientBarcode", "Tumour-ID"])
@pytest.mark.parametrize("ids", [["1001", "1002", "1003", "1004"], ["1", "2", "3", "4"]])
def test_read_cohort_takes_numeric_ids_under_a_header_naming_ids(tmp_path, header, ids):
    # numbers under a header of id words were read as an event: "event column 'patient_id'
    # has non-binary entry 1001 on line 2; expected 0/1" (sample_id took the same ids)
    path = tmp_path / "c.csv"
    rows = ["1,0", "0,1", "1,1", "0,0"]
    path.write_text(f"{header},TP53,IDH1\n" + "".join(
        f"{i},{r}\n" for i, r in zip(ids, rows, strict=True)))
    x, names, read = read_cohort(path)
    assert names == ["TP53", "IDH1"] and read == ids
    assert x.tolist() == [[1, 0], [0, 1], [1, 1], [0, 0]]


@pytest.mark.parametrize(("column", "message"), [
    ("1,0,1,0", None),                     # a 0/1 event named like ids stays an event
    ("1,,1,0", "has a NaN/missing on line 3"),  # with a gap: refused as before, not ids
    ("1,0,yes,0", "has a non-numeric entry 'yes' on line 4"),
])
def test_read_cohort_keeps_a_0_1_column_under_a_header_naming_ids_an_event(tmp_path, column,
                                                                           message):
    path = tmp_path / "c.csv"
    path.write_text("patient_id,TP53\n" + "".join(
        f"{v},{i % 2}\n" for i, v in enumerate(column.split(","))))
    if message is None:
        assert read_cohort(path)[1] == ["patient_id", "TP53"]
    else:
        with pytest.raises(ValueError, match=f"event column 'patient_id' {message}"):
            read_cohort(path)


def test_read_cohort_points_a_count_column_to_weights(tmp_path):
    # a deduplicated cohort read without weights= said only "event column 'count' has
    # non-binary entry 10 on line 2; expected 0/1", and counts that happened to be 0/1
    # were fitted as a fourth event without a word
    path = tmp_path / "dedup.csv"
    path.write_text("A,B,C,count\n0,0,0,10\n1,0,0,3\n1,1,0,2\n0,1,1,4\n")
    with pytest.raises(ValueError, match=r"dedup\.csv: event column 'count' has non-binary "
                                         r"entry 10 on line 2; expected 0/1; a column "
                                         r"counting the tumours of each row \(a deduplicated "
                                         r"cohort\) is read with weights='count'$"):
        read_cohort(path)
    assert read_cohort(path, weights="count")[3].tolist() == [10.0, 3.0, 2.0, 4.0]
    path.write_text("A,B,C,n\n0,0,0,1\n1,0,0,1\n1,1,0,0\n0,1,1,1\n")
    with pytest.warns(UserWarning, match=r"dedup\.csv: column 'n' holds only 0 and 1 and is "
                                         r"read as an event; if it counts the tumours of each "
                                         r"row \(a deduplicated cohort\), read it with "
                                         r"weights='n'"):
        x, names, _ = read_cohort(path)
    assert names == ["A", "B", "C", "n"] and x.shape == (4, 4)
    # another event name, or the counts given as weights: nothing said
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path.write_text("A,B,C,counted\n0,0,0,1\n1,0,0,1\n1,1,0,0\n0,1,1,1\n")
        assert read_cohort(path)[1] == ["A", "B", "C", "counted"]
        path.write_text("A,B,C,count\n0,0,0,1\n1,0,0,4\n1,1,0,2\n0,1,1,1\n")
        assert read_cohort(path, weights="count")[1] == ["A", "B", "C"]


@pytest.mark.parametrize(("text", "ids"), [
    ("sample,A,B\n001,1,0\n002,0,1\n", ["001", "002"]),        # were '1', '2'
    ("sample,A,B\n1.10,1,0\n1.1,0,1\n", ["1.10", "1.1"]),      # were '1.1' twice, "repeated"
    ("sample,A,B\nNA,1,0\nnull,0,1\nNone,1,1\n", ["NA", "null", "None"]),  # were 'nan' x3
    ("patient_id,A,B\n1001,1,0\n1002,0,1\n1003,1,1\n", ["1001", "1002", "1003"]),
    ('"A","B"\n"007",1,0\n"7",0,1\n', ["007", "7"]),             # R's row names: were '7' x2
    ("sample,A,B\nTRUE,1,0\nFALSE,0,1\n", ["TRUE", "FALSE"]),    # were 'True', 'False'
    # stripped, as read_maf strips: were ' 1', '2 ' (numbers) and ' T1', 'T2 ' (text)
    ("sample,A,B\n 1,1,0\n2 ,0,1\n", ["1", "2"]),
    ("sample,A,B\n T1,1,0\nT2 ,0,1\n", ["T1", "T2"]),
])
def test_read_cohort_returns_the_sample_ids_as_written(tmp_path, text, ids):
    # the id column was parsed as numbers: "001" came back as "1", "1.10" and "1.1" as one
    # id (with a false "appear on more than one row" warning), NA/null/None as "nan"
    path = tmp_path / "c.csv"
    path.write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, names, read = read_cohort(path)
    assert read == ids and names == ["A", "B"] and x[:, 0].tolist() == [1, 0, 1][: len(ids)]
    # a bad entry names the sample as written
    path.write_text("sample,A,B\n007,1,0\n008,0,2\n")
    with pytest.raises(ValueError, match=r"non-binary entry 2 on line 3 \(sample '008'\)"):
        read_cohort(path)


def test_read_cohort_warns_of_a_row_without_a_sample_id(tmp_path):
    # the gap made the column float: ids came back '1001.0', 'nan', '1003.0', '1004.0'
    path = tmp_path / "c.csv"
    path.write_text("patient_id,TP53,IDH1\n1001,1,0\n,0,1\n1003,1,1\n1004,0,0\n")
    with pytest.warns(UserWarning, match=r"c\.csv: 1 row\(s\) have no sample id \(an empty "
                                         r"first field\), on line\(s\) \[3\]; each is read as "
                                         r"a tumour with the id ''$"):
        x, names, ids = read_cohort(path)
    assert ids == ["1001", "", "1003", "1004"] and names == ["TP53", "IDH1"]
    assert x.tolist() == [[1, 0], [0, 1], [1, 1], [0, 0]]
    # two of them: said once (not as an id on more than one row)
    path.write_text("sample,TP53,IDH1\nS1,1,0\n,0,1\n\n,1,1\nS4,0,0\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert read_cohort(path)[2] == ["S1", "", "", "S4"]
    assert [str(w.message) for w in caught] == [
        f"{path}: 2 row(s) have no sample id (an empty first field), on line(s) [3, 5]; each "
        "is read as a tumour with the id ''"]


def test_read_maf_reads_r_s_na_as_missing_and_says_what_it_leaves_out(tmp_path):
    # "NA" (R's missing value, which maftools' fread reads as missing too) dropped its row,
    # and T1, on no other row, vanished without a word; other words are read as written
    head = "Hugo_Symbol\tTumor_Sample_Barcode\n"
    (tmp_path / "x.maf").write_text(head + "NA\tT1\nTP53\tT2\nTP53\tNA\nnull\tT2\n")
    with pytest.warns(UserWarning) as caught:
        x, names, ids = read_maf(tmp_path / "x.maf")
    assert ids == ["T2"] and names == ["TP53", "null"] and x.tolist() == [[1, 1]]
    assert sorted(str(w.message) for w in caught) == [
        f"{tmp_path / 'x.maf'}: 1 row(s) have a gene but no 'Tumor_Sample_Barcode' (empty "
        "or NA) and are skipped",
        f"{tmp_path / 'x.maf'}: sample(s) ['T1'] have no row with a gene (their "
        "'Hugo_Symbol' empty or NA) and are left out; pass every sequenced sample as "
        "samples= to keep them as tumours without alterations"]


def test_read_maf_strips_the_sample_and_gene_fields(tmp_path):
    # "T1 " and "T1" were two tumours, "TP53 " and "TP53" two events
    head = "Hugo_Symbol\tTumor_Sample_Barcode\n"
    (tmp_path / "x.maf").write_text(head + "TP53\tT1 \nIDH1\tT1\nTP53 \t T2\n")
    x, names, ids = read_maf(tmp_path / "x.maf")
    assert ids == ["T1", "T2"] and names == ["TP53", "IDH1"] and x.tolist() == [[1, 1], [1, 0]]


def test_read_maf_warns_of_a_sample_left_without_any_gene(tmp_path):
    # an empty Hugo_Symbol dropped the row: T1, on no other row, vanished without a word
    head = "Hugo_Symbol\tTumor_Sample_Barcode\n"
    (tmp_path / "x.maf").write_text(head + "\tT1\nTP53\tT2\nIDH1\t\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x, names, ids = read_maf(tmp_path / "x.maf")
    assert ids == ["T2"] and names == ["TP53"] and x.tolist() == [[1]]
    assert [str(w.message) for w in caught] == [
        f"{tmp_path / 'x.maf'}: 1 row(s) have a gene but no 'Tumor_Sample_Barcode' (empty "
        "or NA) and are skipped",
        f"{tmp_path / 'x.maf'}: sample(s) ['T1'] have no row with a gene (their "
        "'Hugo_Symbol' empty or NA) and are left out; pass every sequenced sample as "
        "samples= to keep them as tumours without alterations"]
    # listed in samples: a row of zeros, nothing to say about it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x, _, ids = read_maf(tmp_path / "x.maf", samples=["T1", "T2"])
    assert ids == ["T1", "T2"] and x.tolist() == [[0], [1]]
    assert [str(w.message) for w in caught] == [
        f"{tmp_path / 'x.maf'}: 1 row(s) have a gene but no 'Tumor_Sample_Barcode' (empty "
        "or NA) and are skipped"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_read_maf_reads_utf16_and_a_byte_order_mark_before_a_comment(tmp_path, encoding):
    # UTF-16 (with its byte-order mark) was refused ("binary file ... NUL bytes") though
    # read_cohort reads it; a UTF-8 byte-order mark before "#version 2.4" hid the comment,
    # which became the header ("not a column ...; columns: ['#version 2.4']")
    text = "#version 2.4\nHugo_Symbol\tTumor_Sample_Barcode\nTP53\tT1\nIDH1\tT1\nTP53\tT2\n"
    (tmp_path / "x.maf").write_bytes(text.encode(encoding))
    x, names, ids = read_maf(tmp_path / "x.maf")
    assert ids == ["T1", "T2"] and names == ["TP53", "IDH1"] and x.tolist() == [[1, 1], [1, 0]]


def test_a_set_of_event_names_is_refused_where_names_go_to_columns():
    # a set's order follows string hashing: CTMC().fit(X, event_names={"TP53", "IDH1",
    # "EGFR"}) fitted TP53's base rate at -2.125, 0.981 or -3.146 depending on the process
    from biomodels.ctmc import plot_order_probabilities, plot_theta

    x = np.array([[1, 0, 0]] * 6 + [[1, 1, 0], [0, 0, 1], [0, 0, 0]])
    names = {"TP53", "IDH1", "EGFR"}
    refused = r"^event_names: expected a list \(or other ordered sequence\) of event names"
    with pytest.raises(TypeError, match=refused + r".*got a set.*sorted\(event_names\)"):
        CTMC().fit(x, event_names=names, l1=0.1)
    with pytest.raises(TypeError, match=refused + r".*got a frozenset"):
        validate_cohort(x, event_names=frozenset(names))
    with pytest.raises(TypeError, match=refused):
        CTMC(np.zeros((3, 3)), event_names=names)
    with pytest.raises(TypeError, match=refused):
        CTMC(event_names=names)
    with pytest.raises(TypeError, match=r"^names: expected a list .*got a set"):
        plot_theta(np.zeros((3, 3)), names=names)
    with pytest.raises(TypeError, match=r"^labels: expected a list .*got a set"):
        plot_order_probabilities({"TP53 before IDH1"}, [0.5])
    # an order: refused before as well, but its message showed the set in hash order
    with pytest.raises(TypeError, match=r"^order: expected a list \(or other ordered "
                                        r"sequence\) of event names or indices, first event "
                                        r"first.*got a set"):
        CTMC(np.zeros((3, 3)), event_names=["A", "B", "C"]).order_log_probability({"A", "B"})
    # a list, and a dict's keys (insertion order), name the columns in their order
    keys = {"TP53": 0, "IDH1": 1, "EGFR": 2}.keys()
    assert validate_cohort(x, event_names=keys)[1] == ["TP53", "IDH1", "EGFR"]
    assert CTMC(np.zeros((3, 3)), event_names=list(keys)).event_names == ["TP53", "IDH1",
                                                                          "EGFR"]


def test_read_maf_puts_a_set_of_samples_and_classes_in_sorted_order_whatever_the_hash_seed(
        tmp_path, under_hash_seeds):
    # samples={...} ordered the tumour rows by string hashing, so folds drawn with seed=0
    # held other tumours in each process, and a warning listed classes={...} that never
    # occur in hash order
    path = tmp_path / "m.maf"
    rows = [f"S{i:02d}\t{gene}\tMissense_Mutation" for i in range(8)
            for gene in ("TP53", "IDH1")[: 1 + i % 2]]
    path.write_text("Tumor_Sample_Barcode\tHugo_Symbol\tVariant_Classification\n"
                    + "\n".join(rows) + "\n")
    code = ("import warnings; from biomodels.ctmc import read_maf\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            f"    x, ev, ids = read_maf({str(path)!r}, "
            "samples={f'S{i:02d}' for i in range(10)}, classes={'Missense_Mutation', "
            "'Splice_Site', 'Nonsense_Mutation', 'Frame_Shift_Del'})\n"
            "print(ids, x[:, 1].tolist(), str(w[0].message).split(' never')[0])")
    seen = under_hash_seeds(code)
    ids = [f"S{i:02d}" for i in range(10)]
    assert seen == {f"{ids} {[0, 1] * 4 + [0, 0]} classes: ['Frame_Shift_Del', "
                    "'Nonsense_Mutation', 'Splice_Site']\n"}


def test_a_damaged_compressed_cohort_is_named(tmp_path):
    # a gzip body damaged in the middle escaped read_cohort and read_maf as a bare
    # zlib.error ("Error -3 while decompressing data"), naming no file
    import gzip

    data = gzip.compress(b"sample,TP53,IDH1\ns1,1,0\ns2,0,1\n" * 50)
    path = tmp_path / "c.csv.gz"
    path.write_bytes(data[:20] + bytes(b ^ 0xFF for b in data[20:60]) + data[60:])
    for read in (read_cohort, read_maf):
        with pytest.raises(ValueError, match=r"c\.csv\.gz.*its compressed data are damaged"):
            read(path)
    # a failed CRC (gzip's BadGzipFile, an OSError) said only "CRC check failed ..."
    whole = bytearray(data)
    whole[-8] ^= 0xFF
    path.write_bytes(bytes(whole))
    with pytest.raises(ValueError, match=r"c\.csv\.gz': its compressed data are damaged or "
                       r"cut short \(CRC check failed"):
        read_cohort(path)


@pytest.mark.parametrize(("value", "shown"), [
    ("0.9999999", "0.9999999"), ("1.0000001", "1.0000001"), ("1e-09", "1e-09"),
    ("2", "2"), ("0.5", "0.5"),
])
def test_an_almost_binary_entry_is_shown_as_stored(tmp_path, value, shown):
    # 0.9999999 and 1.0000001 were formatted with :g and reported as "non-binary entry 1",
    # the value the message says is expected; values :g shows exactly stay as they were
    path = tmp_path / "c.csv"
    path.write_text(f"sample,TP53,IDH1\nS1,1,0\nS2,{value},1\nS3,0,0\n")
    with pytest.raises(ValueError) as err:
        read_cohort(path)
    assert str(err.value).endswith(f"event column 'TP53' has non-binary entry {shown} on "
                                   "line 3 (sample 'S2'); expected 0/1")
    with pytest.raises(ValueError, match=rf"'E0' has non-binary entry {shown}; expected"):
        validate_cohort(np.array([[1.0, 0.0], [float(value), 1.0]]))
