"""Known-answer and argument checks found by an audit of the public ``biomodels.ctmc`` API."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from biomodels.ctmc import (
    block_theta,
    cross_validate,
    fit_theta,
    independence_theta,
    kfold_indices,
    most_likely_order,
    order_probability,
    random_sparse_theta,
    read_maf,
    sample_trajectories,
    select_l1,
    state_index,
    validate_cohort,
)


def test_independence_theta_refuses_non_binary_and_nan_entries():
    # a 2 was clipped into a frequency of ~1 and a NaN gave a NaN base rate, both silently
    with pytest.raises(ValueError, match="non-binary entry 2"):
        independence_theta(np.array([[2, 0], [1, 1]]))
    with pytest.raises(ValueError, match="NaN"):
        independence_theta(np.array([[np.nan, 0.0], [1.0, 1.0]]))
    # the documented closed form still holds: logit of each frequency
    theta = independence_theta(np.array([[1, 0], [1, 1], [0, 0]]))
    np.testing.assert_allclose(np.diag(theta), [np.log(2.0), -np.log(2.0)])


def test_kfold_indices_refuses_fractional_fold_counts():
    # np.array_split truncated folds=2.5 to two folds; a float N failed with an AxisError
    with pytest.raises(TypeError, match="folds"):
        kfold_indices(10, 2.5)
    with pytest.raises(TypeError, match="n_tumours"):
        kfold_indices(10.0, 2)
    assert len(kfold_indices(10, np.int64(3))) == 3


@pytest.fixture
def small_cohort() -> np.ndarray:
    return sample_trajectories(random_sparse_theta(3, seed=0), 40, seed=1).X


@pytest.mark.parametrize(
    "folds, match",
    [
        ([np.array([-1])], r"fold_indices\[0\] must hold tumour indices"),  # x[-1] also trained on
        ([np.zeros(40, dtype=bool)], r"fold_indices\[0\] must be a non-empty 1-D"),  # a mask
        ([np.array([], dtype=np.int64)], r"fold_indices\[0\] must be a non-empty"),  # NaN score
        ([np.arange(40)], r"fold_indices\[0\] holds every tumour"),
        ([np.array([0, 40])], r"fold_indices\[0\] must hold tumour indices"),
    ],
)
def test_cross_validate_checks_explicit_folds(small_cohort, folds, match):
    with pytest.raises(ValueError, match=match):
        cross_validate(small_cohort, 0.05, fold_indices=folds, max_steps=5)


def test_select_l1_never_picks_a_strength_with_a_nan_score(small_cohort, monkeypatch):
    # known answer: the only finite mean is at 0.1; max() kept the NaN candidate listed first
    import biomodels.ctmc.crossval as cv

    table = {0.01: np.nan, 0.1: -3.0, 1.0: -4.0}
    monkeypatch.setattr(cv, "_fold_score", lambda x, l1, test, seed, kw: table[l1])
    assert select_l1(small_cohort, list(table), folds=2, seed=0)[0] == 0.1
    assert select_l1(small_cohort, list(table), folds=2, seed=0, one_se=True)[0] == 0.1
    table.update({0.1: np.nan, 1.0: np.nan})
    with pytest.raises(ValueError, match="non-finite held-out score"):
        select_l1(small_cohort, list(table), folds=2, seed=0)


def test_read_maf_names_a_frequency_filter_that_keeps_nothing(tmp_path):
    path = tmp_path / "m.maf"
    path.write_text("Hugo_Symbol\tTumor_Sample_Barcode\nTP53\tS1\nKRAS\tS2\n")
    # "X has no event columns" named neither the argument nor the file
    with pytest.raises(ValueError, match="min_frequency=2.0 keeps no event"):
        read_maf(path, min_frequency=2.0)
    with pytest.raises(ValueError, match="min_frequency"):
        read_maf(path, min_frequency=float("nan"))
    empty = tmp_path / "empty.maf"
    empty.write_text("Hugo_Symbol\tTumor_Sample_Barcode\n")
    with pytest.raises(ValueError, match="lists no alterations"):
        read_maf(empty)
    x, names, ids = read_maf(path, min_frequency=0.5)
    assert x.tolist() == [[0, 1], [1, 0]] and names == ["KRAS", "TP53"] and ids == ["S1", "S2"]


def test_validate_cohort_refuses_complex_entries():
    # the float conversion dropped the imaginary part: 1j was read as "absent"
    with pytest.raises(ValueError, match="complex entry"):
        validate_cohort(np.array([[1 + 0j, 0], [0, 1j]]))
    x, _ = validate_cohort(np.array([[1 + 0j, 0], [0, 1 + 0j]]))
    assert x.tolist() == [[1, 0], [0, 1]]


def test_state_index_refuses_more_events_than_an_int64_mask_holds():
    # 2 ** 63 overflowed to a negative index without a word
    x = np.zeros((1, 64), dtype=np.uint8)
    x[0, 63] = 1
    with pytest.raises(ValueError, match="n <= 63"):
        state_index(x)
    x63 = np.zeros((1, 63), dtype=np.uint8)
    x63[0, 62] = 1
    assert int(state_index(x63)[0]) == 2**62


def test_order_functions_refuse_bool_event_indices():
    theta = np.array([[0.0, 0.0, 0.0], [2.0, -1.0, 0.0], [0.0, 0.0, -0.5]])
    # True read as event 1
    with pytest.raises(ValueError, match="a must be an event index"):
        order_probability(theta, True, 0)
    with pytest.raises(ValueError, match="events must be an event index"):
        most_likely_order(theta, [True, 2])


def test_argument_type_errors_name_the_argument():
    x = sample_trajectories(random_sparse_theta(3, seed=0), 20, seed=1).X
    for bad in (None, "0.1"):  # failed on "'<' not supported ..."
        with pytest.raises(TypeError, match="l1: expected a real number"):
            fit_theta(x, l1=bad)
    with pytest.raises(TypeError, match="obs_time: expected a real number"):
        sample_trajectories(np.zeros((2, 2)), 3, obs_time="1")
    # numpy's uniform overflowed ("high - low range exceeds valid bounds")
    with pytest.raises(ValueError, match="rate_range"):
        block_theta(2, rate_range=(0.1, np.inf))


def test_nullable_and_categorical_columns_are_read_as_their_values():
    # regression guard for the column-by-column path (pandas extension dtypes)
    frame = pd.DataFrame({"A": pd.array([1, 0, 1], dtype="Int64"), "B": pd.Categorical([0, 1, 1])})
    x, names = validate_cohort(frame)
    assert x.tolist() == [[1, 0], [0, 1], [1, 1]] and names == ["A", "B"]


def test_read_cohort_warns_about_repeated_sample_ids(tmp_path):
    from biomodels.ctmc import read_cohort

    path = tmp_path / "cohort.csv"
    path.write_text("sample,A,B\nt1,1,0\nt2,0,1\nt1,1,0\n")
    with pytest.warns(UserWarning, match=r"1 sample id\(s\) appear on more than one row.*t1"):
        x, names, ids = read_cohort(path)
    assert x.shape == (3, 2) and ids == ["t1", "t2", "t1"]  # every row is still a tumour
