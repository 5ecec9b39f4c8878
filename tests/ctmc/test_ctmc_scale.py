"""Scale: cohort-sized inputs stay linear in memory and time (no hidden dense or 2^n objects)."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pandas as pd
import pytest
import torch

from biomodels.ctmc import (
    block_theta,
    importance_log_likelihood,
    most_likely_order,
    read_cohort,
    read_maf,
    select_l1,
    top_orders,
    validate_cohort,
)

# table entries scored per pass (biomodels.ctmc.sequences / orders: _CHUNK_ELEMENTS)
_CHUNK_ELEMENTS = 2**22


def test_read_maf_builds_no_dense_table_before_filtering(tmp_path):
    # 2,000 tumours over 5,000 genes: a samples x genes int64 table is 80 MB; keeping the
    # top 5 genes needs only the long table and the (2,000, 5) result
    rng = np.random.default_rng(0)
    samples = np.repeat(np.arange(2000), 3)
    genes = np.concatenate([rng.choice(5000, 3, replace=False) for _ in range(2000)])
    maf = pd.DataFrame({"Hugo_Symbol": [f"G{g}" for g in genes],
                        "Tumor_Sample_Barcode": [f"T{s:04d}" for s in samples],
                        "Variant_Classification": "Missense_Mutation"})
    maf.to_csv(tmp_path / "wide.maf", sep="\t", index=False)
    tracemalloc.start()
    try:
        x, names, ids = read_maf(tmp_path / "wide.maf", top=5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20e6, f"read_maf peaked at {peak / 1e6:.0f} MB"
    # the same matrix as counting by hand
    counts = maf.groupby("Hugo_Symbol")["Tumor_Sample_Barcode"].nunique()
    expect = counts.sort_index().sort_values(ascending=False, kind="stable").index[:5]
    assert names == list(expect) and len(ids) == 2000
    for j, gene in enumerate(names):
        has = set(maf.loc[maf["Hugo_Symbol"] == gene, "Tumor_Sample_Barcode"])
        assert x[:, j].tolist() == [int(i in has) for i in ids]


def test_wide_cohort_is_checked_in_blocks(tmp_path, monkeypatch):
    # thousands of genes before filtering: no per-column conversion, no quadratic name check
    calls = []
    real = pd.to_numeric
    monkeypatch.setattr(pd, "to_numeric", lambda *a, **k: calls.append(1) or real(*a, **k))
    wide = (np.random.default_rng(1).random((3, 5000)) < 0.2).astype(np.int64)
    wide[0], wide[1] = 1, 0  # every event observed, none in every tumour (warnings)
    frame = pd.DataFrame(wide, columns=[f"G{j}" for j in range(5000)])
    frame.insert(0, "sample", ["a", "b", "c"])
    frame.to_csv(tmp_path / "wide.csv", index=False)
    x, names, ids = read_cohort(tmp_path / "wide.csv")
    assert (x == wide).all() and x.dtype == np.uint8 and len(names) == 5000
    assert len(calls) <= 1  # the id column only: the events never went column by column
    # names.count per name made the duplicate check quadratic (~4 s here, ~10 s before)
    start = time.perf_counter()
    validate_cohort(np.eye(2, 30000, dtype=np.uint8), warn_unobserved=False)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.5, f"validate_cohort of a 2 x 30,000 table took {elapsed:.1f} s"
    # a bad entry far into the table still names its column, and the first one
    bad = wide.astype(float)
    bad[1, 3000], bad[0, 4000] = np.nan, 3.0
    with pytest.raises(ValueError, match="'E3000' has a NaN"):
        validate_cohort(bad)


def _spy_logsumexp(monkeypatch) -> list[int]:
    sizes: list[int] = []
    real = torch.logsumexp

    def spy(t, *args, **kwargs):
        sizes.append(t.numel())
        return real(t, *args, **kwargs)

    monkeypatch.setattr(torch, "logsumexp", spy)
    return sizes


def test_order_queries_score_orderings_in_bounded_slices(monkeypatch):
    theta, _ = block_theta(195, seed=0, rate_range=(0.01, 0.1))
    sizes = _spy_logsumexp(monkeypatch)
    # 7! orderings x 8 steps x 201 rates = 8.1 M entries at once before (8 of 300: 2.3 GB)
    res = top_orders(theta, [0, 1, 2, 3, 4, 10, 20], k=3)
    assert max(sizes) <= _CHUNK_ELEMENTS
    assert res[0][0][:2] == [0, 1] and res[0][1] >= res[1][1] >= res[2][1]
    sizes.clear()
    # 2^15 subsets x 201 rates = 6.6 M entries (20 events among 300: 7.7 GB)
    order, _ = most_likely_order(theta, list(range(5, 20)))
    assert max(sizes) <= _CHUNK_ELEMENTS and sorted(order) == list(range(5, 20))
    sizes.clear()
    # 4 tumours x 600 proposals x 11 steps x 201 rates = 5.3 M entries
    est = importance_log_likelihood(torch.as_tensor(theta), torch.arange(10).repeat(4, 1),
                                    n_proposals=600, generator=torch.Generator().manual_seed(0))
    assert max(sizes) <= _CHUNK_ELEMENTS and torch.isfinite(est).all()


def test_sliced_scoring_matches_one_pass(monkeypatch):
    import biomodels.ctmc.orders as orders_mod
    import biomodels.ctmc.sequences as seq_mod

    theta, _ = block_theta(25, seed=2, rate_range=(0.05, 0.3))
    events = torch.arange(12).repeat(3, 1)
    runs = []
    for budget in (10**12, 1000):  # one pass, then slices of a few orderings / subsets
        monkeypatch.setattr(seq_mod, "_CHUNK_ELEMENTS", budget)
        monkeypatch.setattr(orders_mod, "_CHUNK_ELEMENTS", budget)
        runs.append((
            importance_log_likelihood(torch.as_tensor(theta), events, n_proposals=300,
                                      generator=torch.Generator().manual_seed(1)),
            top_orders(theta, [0, 1, 2, 5, 6, 7], k=10),
            most_likely_order(theta, list(range(10))),
        ))
    assert torch.equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    assert runs[0][2][0] == runs[1][2][0]
    assert runs[0][2][1] == pytest.approx(runs[1][2][1], rel=1e-12, abs=1e-12)


@pytest.mark.filterwarnings("ignore::biomodels.ctmc.fit.StepLimitWarning")  # capped: fast
def test_cross_validation_shows_one_bar_over_all_fits(capsys):
    x = (np.random.default_rng(0).random((40, 3)) < 0.3).astype(np.uint8)
    select_l1(x, [0.01, 0.1], folds=2, max_steps=3, progress=True)
    err = capsys.readouterr().err
    assert "ctmc cross-validation" in err and "4/4" in err
    select_l1(x, [0.01, 0.1], folds=2, max_steps=3)
    assert capsys.readouterr().err == ""


def test_cli_fit_shows_progress_unless_quiet(tmp_path, capsys):
    from core.cli import main

    x = (np.random.default_rng(0).random((30, 3)) < 0.3).astype(np.uint8)
    pd.DataFrame(x, columns=["A", "B", "C"]).to_csv(tmp_path / "c.csv", index=False)
    args = ["ctmc", "fit", str(tmp_path / "c.csv"), "--l1", "0.05", "--folds", "2"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert "ctmc fit" in capsys.readouterr().err  # minutes to hours at cohort size: a bar
    assert main([*args, "--quiet", "--out", str(tmp_path / "b")]) == 0
    assert "ctmc fit" not in capsys.readouterr().err
