"""krumsiek11 without a prior: the data-only read-out (reported; GENIE3 reaches 0.83)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from biomodels.grn import GRNModel, datasets

torch.set_num_threads(1)


@pytest.mark.slow
def test_krumsiek_without_prior_beats_chance_clearly():
    adata = datasets.krumsiek11()
    genes = list(adata.var_names)
    truth = pd.DataFrame(adata.varp["truth"], index=genes, columns=genes)
    model = GRNModel(adata, time_key="time", trajectory_key="trajectory", n_hidden=11, seed=0)
    model.train(60, pruning="none", method="rk4", step_size=0.5, progress=False)
    metrics = model.evaluate(truth)
    print(f"krumsiek11, no prior: AUROC {metrics['auroc']:.3f}, AUPRC {metrics['auprc']:.3f}")
    # random ranking: AUROC 0.5, AUPRC 0.236; finite-difference ridge 0.54-0.59; GENIE3 0.83
    # (the target, not reached). Seed 0 measures 0.758; seeds 0-7 range 0.68-0.79,
    # mean 0.724 (test_bench_krumsiek_over_seeds), so this checks the defect line
    # (0.75) on the one seed that is run here, which 3 of those 8 seeds meet.
    assert metrics["auroc"] >= 0.75
    assert metrics["auprc"] >= 0.35
