"""Argument contracts of the public GRN API that the other test files do not cover."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from biomodels.grn import (
    DashPruner,
    GRNModel,
    PruningSchedule,
    prior_from_edges,
    rank_prior_first,
    simulate_hill_network,
)


@pytest.mark.filterwarnings("ignore:.*appear more than once:UserWarning")
def test_prior_from_edges_names_pairs_whose_signs_cancel():
    # one activation and one repression of a -> b average to 0: the pair has evidence but
    # the prior shows no edge, which the user must be told by name
    table = pd.DataFrame({"regulator": ["a", "a", "b", "b"], "target": ["b", "b", "c", "c"],
                          "mode": ["+", "-", "+", "+"]})
    with pytest.warns(UserWarning, match=r"cancel to 0.*a -> b") as record:
        prior = prior_from_edges(table, sign="mode")
    assert not any("b -> c" in str(w.message) for w in record
                   if "cancel" in str(w.message))
    assert prior.loc["a", "b"] == 0.0 and prior.loc["b", "c"] == 1.0


def test_rank_prior_first_names_a_non_numeric_network():
    genes = ["a", "b"]
    words = pd.DataFrame([["x", "y"], ["z", "w"]], index=genes, columns=genes)
    with pytest.raises(TypeError, match="network must hold numbers"):
        rank_prior_first(words, np.eye(2))


@pytest.mark.parametrize("kwargs, match", [
    ({"prior_weight": "0.5"}, "prior_weight must be a number"),
    ({"val_fraction": "0.1"}, "val_fraction must be a number"),
    ({"pruning": "dash", "schedule": {"first_epoch": 1}}, "schedule must be a PruningSchedule"),
    ({"pruning": "dash", "lambda_ppi": "0.1"}, "lambda_ppi must be a number"),
    ({"adjoint": "no"}, "adjoint must be True or False"),  # a non-empty string read as True
])
def test_training_settings_of_the_wrong_type_are_named(kwargs, match):
    adata = simulate_hill_network(6, n_trajectories=4, n_timepoints=3, seed=0)
    model = GRNModel(adata, time_key="time", trajectory_key="trajectory", prior="truth",
                     n_hidden=3)
    with pytest.raises(TypeError, match=match):
        model.train(1, **{"pruning": "none", "progress": False, **kwargs})
    assert not model.is_trained


def test_first_pruning_round_may_fall_on_the_last_epoch():
    # the documented contract of is_round: later rounds skip the last epoch, the first not
    schedule = PruningSchedule(first_epoch=3, every=10)
    assert schedule.is_round(3, max_epochs=3)
    assert not schedule.is_round(10, max_epochs=10)
    assert DashPruner("imp", schedule=schedule).last_round_epoch(3) == 3


def test_auroc_names_labels_of_mixed_types():
    from biomodels.grn.evaluate import auprc, auroc

    for metric in (auroc, auprc):  # None among the labels: numpy's sort error named nothing
        with pytest.raises(ValueError, match="y_true must be binary"):
            metric(np.array([0, 1, None], dtype=object), [0.1, 0.2, 0.3])
