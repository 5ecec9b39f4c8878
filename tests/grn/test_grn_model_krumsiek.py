"""krumsiek11: the data-only read-out (GENIE3: 0.83) and a soft prior that swamps the data."""

from __future__ import annotations

import pandas as pd
import pytest

from biomodels.grn import GRNModel, datasets

#: tiny ODE fits, where intra-op threads only spin: one thread (tests/grn/conftest.py)
ONE_THREAD = True


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


def test_soft_prior_that_swamps_the_data_warns():
    from biomodels.grn import corrupt_prior

    adata = datasets.krumsiek11()
    genes = list(adata.var_names)
    truth = pd.DataFrame(adata.varp["truth"], index=genes, columns=genes)
    opts = dict(pruning="dash", method="rk4", step_size=0.5, progress=False)
    # PHOENIX's usual weight: one-step changes are ~1e-4 here, the prior term ~0.01-0.1, so
    # the prior takes over (measured: prior term 7.4x the data term, held-out R^2 0.14; the
    # demo's 0.9997 gives R^2 0.53)
    model = GRNModel(adata, time_key="time", trajectory_key="trajectory",
                     prior=corrupt_prior(truth, 0.2, seed=0), n_hidden=64, seed=0)
    with pytest.warns(UserWarning, match="the soft prior outweighs the data"):
        model.train(60, prior_weight=0.9, **opts)
    fit = model.fit_summary
    assert 0.1 * fit["prior_mse"] > 5 * 0.9 * fit["mse"]
