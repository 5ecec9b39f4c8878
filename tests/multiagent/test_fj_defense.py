"""Defenses: the three FJ levers lower the adversary weight; trust-adaptive defense works."""

from __future__ import annotations

import numpy as np
import pytest

from multiagent.adversary import (
    Adversary,
    Scenario,
    adversary_weight,
    closed_form_weight,
    simulate,
)
from multiagent.defense import TrustAdaptiveDefense, apply_defense, run_trust_stream
from multiagent.sweeps import sweep

BASE = Scenario(graph="complete", n=6, gamma=0.2, alpha=0.5, adversaries=(Adversary("hub"),))


def _weight(sc):
    return adversary_weight(sc.model(), sc.adversary_nodes())


@pytest.mark.parametrize(
    ("kind", "strength", "closed"),
    [
        ("more_agents", 2, closed_form_weight("complete", 8, 0.2, 0.5)["mean"]),
        ("stubbornness", 0.5, closed_form_weight("complete", 6, 0.5, 0.5)["mean"]),
        ("peer_resistance", 0.8, closed_form_weight("complete", 6, 0.2, 0.8)["mean"]),
        ("distrust", 0.2, closed_form_weight("complete", 6, 0.2, 0.5, persuasion=0.2)["mean"]),
    ],
)
def test_each_defense_lowers_weight_to_its_closed_form(kind, strength, closed):
    defended = apply_defense(BASE, kind, strength)
    w = _weight(defended)
    assert w == pytest.approx(closed, abs=1e-12)
    assert w < _weight(BASE)


def test_apply_defense_bad_input():
    with pytest.raises(ValueError, match="kind must be"):
        apply_defense(BASE, "prayer", 1.0)
    with pytest.raises(ValueError, match="strength must be in"):
        apply_defense(BASE, "distrust", 2.0)


def test_warm_up_and_momentum_update_by_hand():
    d = TrustAdaptiveDefense(3, trust_gamma=2.0, lr=0.4, momentum=0.8)
    d.warm_up(np.array([[1, 1, 0], [1, 0, 0]], bool))
    np.testing.assert_allclose(d.trust[1], [1.0, 0.25, 0.0])
    # W_ij ∝ T_ij A_ij with T = (1, 1/4, 0) for every listener; A weighted, W_ii = 0
    A = np.array([[0, 1.0, 1], [2, 0, 1], [1, 3, 0]])
    np.testing.assert_allclose(d.weights(A), [[0, 1, 0],            # 0.25 * 1 alone
                                              [1, 0, 0],            # 1 * 2 alone
                                              [4 / 7, 3 / 7, 0]],   # (1 * 1, 0.25 * 3) / 1.75
                               atol=1e-15)
    d.update(np.array([False, True, True]))
    # e = 0.2 * (y - T); T = clip(T + 0.4 e)
    np.testing.assert_allclose(d.trust[0], [1 - 0.4 * 0.2, 0.25 + 0.4 * 0.2 * 0.75, 0.08])
    e1 = 0.2 * (np.array([0.0, 1, 1]) - [1, 0.25, 0])
    d.update(np.array([False, True, True]))
    t1 = np.array([1.0, 0.25, 0]) + 0.4 * e1
    e2 = 0.8 * e1 + 0.2 * (np.array([0.0, 1, 1]) - t1)
    np.testing.assert_allclose(d.trust[2], np.clip(t1 + 0.4 * e2, 0, 1))
    assert d.trust.min() >= 0 and d.trust.max() <= 1
    W = d.weights(np.ones((3, 3)) - np.eye(3))
    np.testing.assert_allclose(W.sum(1), 1)


def test_default_learning_rate_and_momentum_by_hand():
    # lr = 0.4 and momentum = 0.8 (the paper's config) were checked only through the repr:
    # two updates with the defaults, worked out by hand
    d = TrustAdaptiveDefense(3)
    d.warm_up(np.array([[1, 1, 0], [1, 0, 0]], bool))  # trust_gamma 2: T = (1, 1/4, 0)
    right = np.array([False, True, True])
    d.update(right)
    # e = 0.2 (y - T) = (-0.2, 0.15, 0.2); T + 0.4 e
    np.testing.assert_allclose(d.buffer[1], [-0.2, 0.15, 0.2], rtol=0, atol=1e-15)
    np.testing.assert_allclose(d.trust[1], [0.92, 0.31, 0.08], rtol=0, atol=1e-15)
    d.update(right)
    # e = 0.8 (-0.2, 0.15, 0.2) + 0.2 ((0, 1, 1) - (0.92, 0.31, 0.08)) = (-0.344, 0.258, 0.344)
    np.testing.assert_allclose(d.buffer[2], [-0.344, 0.258, 0.344], rtol=0, atol=1e-15)
    np.testing.assert_allclose(d.trust[2], [0.7824, 0.4132, 0.2176], rtol=0, atol=1e-15)


def test_threshold_drops_low_trust_speakers_and_an_empty_row_listens_to_itself():
    correct = np.array([[1, 1, 0], [1, 0, 0]], bool)  # accuracies 1, 1/2, 0 -> T = 1, 1/4, 0
    A = np.array([[0, 1.0, 1], [2, 0, 1], [1, 3, 0]])
    d = TrustAdaptiveDefense(3, trust_gamma=2.0, threshold=0.5)
    d.warm_up(correct)
    # speaker 1 (trust 1/4 < 1/2) is dropped; the raw trust is kept
    np.testing.assert_allclose(d.effective_trust(), [[1, 0, 0]] * 3)
    np.testing.assert_allclose(d.trust[0], [1, 0.25, 0])
    # listener 0 heard only speakers 1 (dropped) and 2 (trust 0): it keeps W_00 = 1;
    # listeners 1 and 2 keep only speaker 0
    np.testing.assert_array_equal(d.weights(A), [[1, 0, 0], [1, 0, 0], [1, 0, 0]])
    # "below the threshold" is strict: trust exactly 1/4 = 0.5 ** 2 is kept
    at = TrustAdaptiveDefense(3, trust_gamma=2.0, threshold=0.25)
    at.warm_up(correct)
    np.testing.assert_allclose(at.weights(A), [[0, 1, 0], [1, 0, 0], [4 / 7, 3 / 7, 0]],
                               atol=1e-15)
    # an isolated listener (empty adjacency row) listens to itself without any threshold
    full = TrustAdaptiveDefense(3)
    np.testing.assert_array_equal(full.weights(np.array([[0, 0, 0], [1.0, 0, 1], [1, 1, 0]])),
                                  [[1, 0, 0], [0.5, 0, 0.5], [0.5, 0.5, 0]])


def test_repr_shows_settings_updates_and_mean_trust():
    # a notebook showed "<multiagent.defense.TrustAdaptiveDefense object at 0x...>"
    d = TrustAdaptiveDefense(3, sparse_fraction=0.5, threshold=0.1)
    settings = ("TrustAdaptiveDefense(n=3, trust_gamma=2, lr=0.4, momentum=0.8, "
                "sparse_fraction=0.5, threshold=0.1; ")
    assert repr(d) == settings + "0 updates, mean trust 1)"
    d.warm_up(np.array([[1, 1, 0], [1, 0, 0]], bool))  # every row (1, 1/4, 0)
    assert repr(d) == settings + "0 updates, mean trust 0.417)"
    d.sparse_fraction = 1.0
    d.update(np.array([False, True, True]))  # every row (0.92, 0.31, 0.08)
    assert repr(d) == settings.replace("0.5", "1") + "1 update, mean trust 0.437)"


def test_sparse_updates_skip_items():
    d = TrustAdaptiveDefense(4, sparse_fraction=0.2, seed=3)
    done = sum(d.update(np.array([True, False, True, True])) for _ in range(200))
    assert 20 < done < 60 and d.updates == done


def test_trust_defense_cuts_asr_on_a_stream():
    def asr(df):
        d = df[df.phase == "debate"]
        return d.flipped.sum() / d.right_start.sum()

    none = run_trust_stream(BASE, questions=60, warmup=0, online=False)
    trusted = run_trust_stream(BASE, questions=60)
    assert asr(trusted) < 0.5 * asr(none)
    assert trusted[trusted.phase == "debate"].trust_in_adversary.iloc[-1] < 0.05
    # adaptive attacker, frozen warm-up trust (T-WA) is fooled; online updates recover
    fooled = run_trust_stream(BASE, questions=60, adaptive=True, online=False)
    recovered = run_trust_stream(BASE, questions=60, adaptive=True)
    assert asr(fooled) > asr(none) and asr(recovered) < asr(none)


def test_sweep_tidy_and_closed_forms():
    df = sweep(BASE, {"graph": ["complete", "star"], "adversary_position": ["hub", "leaf"]},
               questions=30)
    assert len(df) == 4
    assert {"graph", "adversary_position", "asr", "adversary_weight"} <= set(df.columns)
    np.testing.assert_allclose(df.adversary_weight, df.adversary_weight_closed_form, atol=1e-12)
    star = df[df.graph == "star"].set_index("adversary_position")
    assert star.loc["hub", "asr"] > star.loc["leaf", "asr"]
    with pytest.raises(ValueError, match="unknown grid keys"):
        sweep(BASE, {"colour": [1]})


def test_sweep_draws_no_progress_bar_with_standard_error_closed(monkeypatch):
    # with 2>&- (sys.stderr None) the sweep's bar failed on its first write ('NoneType'
    # object has no attribute 'write')
    import sys

    expected = sweep(BASE, {"graph": ["complete", "star"]}, questions=2)
    monkeypatch.setattr(sys, "stderr", None)
    quiet = sweep(BASE, {"graph": ["complete", "star"]}, questions=2, progress=True)
    assert quiet.equals(expected)


def test_sweep_reads_a_pandas_series_grid_like_a_dict():
    # a Series is not a Mapping: set(grid) took its values and failed "unhashable type: 'list'"
    pd = pytest.importorskip("pandas")
    grid = {"graph": ["complete", "star"], "gamma": [0.2, 0.5]}
    expected = sweep(BASE, grid, questions=2)
    pd.testing.assert_frame_equal(sweep(BASE, pd.Series(grid), questions=2), expected)
    assert expected.adversary_weight.tolist() == pytest.approx(
        expected.adversary_weight_closed_form.tolist(), abs=1e-12)
    with pytest.raises(TypeError, match=r"^grid: expected a mapping of field name -> values"):
        sweep(BASE, [("graph", ["star"])])


@pytest.mark.parametrize("value", ["star", 0.2])
def test_a_grid_value_that_is_not_a_list_is_refused_by_key(value):
    # "star" swept its letters ("unknown topology 's'"); 0.2 was "not iterable", naming no key
    with pytest.raises(TypeError, match=r"^grid 'gamma': expected a list of values to sweep"):
        sweep(BASE, {"gamma": value}, questions=2)


def test_more_agents_on_a_networkx_graph_is_refused_not_ignored():
    # n is ignored for a networkx graph: "more_agents" returned a scenario reporting n + 4
    # that simulated the same 34 agents, with the same adversary weight
    nx = pytest.importorskip("networkx")
    sc = Scenario(graph=nx.karate_club_graph(), adversaries=(Adversary("hub"),))
    assert sc.benign().size == 34
    with pytest.raises(ValueError, match="more_agents: .*networkx graph"):
        apply_defense(sc, "more_agents", 4)
    with pytest.raises(ValueError, match="grid 'n': .*networkx graph"):
        sweep(sc, {"n": [34, 40]}, questions=2)
    # the named topologies still grow; the other defenses apply to a networkx graph
    assert apply_defense(BASE, "more_agents", 2).benign().size == 8
    assert _weight(apply_defense(sc, "distrust", 0.2)) < _weight(sc)


def test_an_adaptive_adversary_attacks_from_question_warmup_plus_attack_after():
    # correct during the 2 warm-up questions and the first attack_after = 1 after them
    df = run_trust_stream(BASE, questions=3, warmup=2, adaptive=True, attack_after=1)
    assert df.attacking.tolist() == [False, False, False, True, True]
    static = run_trust_stream(BASE, questions=2, warmup=1, attack_after=1)
    assert static.attacking.all()  # attack_after applies to adaptive adversaries only


def test_distrust_scales_the_adversary_persuasion_it_is_given():
    # distrust multiplies the trust in the adversary: persuasion 2 at strength 0.5 is 1
    sc = BASE.with_(adversaries=(Adversary("hub", persuasion=2.0),))
    out = apply_defense(sc, "distrust", 0.5)
    assert out.adversaries[0].persuasion == 1.0
    assert _weight(out) == pytest.approx(closed_form_weight("complete", 6, 0.2, 0.5)["mean"],
                                         abs=1e-12)


def test_online_trust_learns_from_round_zero_answers_not_final_ones():
    # benign leaves (gamma = 0) under a fully stubborn hub all end on its wrong target, so
    # final answers would mark every speaker wrong; round-0 targets keep full trust
    # (1 + lr (1 - mu)(1 - 1)) in the leaves that were right at round 0, and give the others
    # 1 + 0.4 * 0.2 * (0 - 1) = 0.92
    sc = Scenario(graph="star", gamma=0.0, alpha=0.5, rounds=10,
                  adversaries=(Adversary("hub"),))
    d = TrustAdaptiveDefense(6)
    df = run_trust_stream(sc, questions=1, warmup=0, defense=d)
    assert df.accuracy_end[0] == 0.0 and df.right_start[0] > 0
    hub_trust_in_leaves = d.trust[0, 1:]
    assert set(np.round(hub_trust_in_leaves, 12)) <= {1.0, 0.92}
    assert int((hub_trust_in_leaves == 1.0).sum()) == df.right_start[0]


def test_sweep_gives_no_closed_form_for_an_adversary_that_is_not_fully_stubborn():
    # the closed forms hold for gamma_a = 1 only; gamma_a = 1/2 lets the adversary listen
    df = sweep(BASE, {"adversary_gamma": [1.0, 0.5]}, questions=2)
    assert df.adversary_weight_closed_form[0] == pytest.approx(df.adversary_weight[0], abs=1e-12)
    assert df.adversary_weight_closed_form.isna().tolist() == [False, True]


def test_trust_in_adversary_averages_only_listeners_that_hear_it():
    # pure star, adversary at a leaf: only the hub hears it, so the reported trust is the
    # hub's.  One static attack on question 0 gives 1 + 0.4 * 0.2 * (0 - 1) = 0.92 for
    # question 1; the leaves that cannot hear the adversary kept 1 and reported 0.984
    sc = Scenario(graph="star", n=6, gamma=0.2, alpha=0.5, adversaries=(Adversary("leaf"),))
    d = TrustAdaptiveDefense(6)
    df = run_trust_stream(sc, questions=2, warmup=0, defense=d)
    adv = sc.adversary_nodes()[0]
    assert df.trust_in_adversary.tolist() == pytest.approx([1.0, 0.92], abs=1e-12)
    # each row is the trust the question was debated with; the hub's after both updates:
    # e = 0.8 * (-0.2) + 0.2 * (0 - 0.92), T = 0.92 + 0.4 e
    assert d.trust[0, adv] == pytest.approx(0.7824, abs=1e-12)


def test_a_sleeper_is_scored_by_the_answer_it_gives_at_round_zero():
    # before: run_trust_stream built its own round-0 answers and ignored Adversary.sleeper,
    # so a sleeper that answers the truth at round 0 (as debate() and simulate() show) was
    # scored by its target: trust in it fell to 0.0 in the warm-up and the attack looked
    # defeated.  The defense learns from round-0 answers only (METHODS 5.4), and this
    # sleeper is right at round 0 on every question: trust stays 1 and its attack goes on
    sc = Scenario(graph="star", n=6, adversaries=(Adversary("hub", sleeper=3),))
    first = simulate(sc, questions=1, seed=0)
    assert first.trajectories[0, 0, 0].argmax() == first.truth[0]  # right at round 0
    df = run_trust_stream(sc, questions=20, seed=2)
    assert (df.trust_in_adversary == 1.0).all()
    debates = df[df.phase == "debate"]
    assert debates.flipped.sum() / debates.right_start.sum() == 1.0  # every one flipped
    # awake from round 0 (sleeper 0), the same stream finds it out at once
    static = run_trust_stream(BASE.with_(graph="star"), questions=20, seed=2)
    assert static.trust_in_adversary.iloc[10] == 0.0


def test_sweep_over_sleepers_warns_once_and_agrees_with_the_command_line():
    # before: sleeper 10 of 10 rounds (never attacks) reported adversary_weight 0.6667, and
    # a sleeper that wakes (3) had no closed form, while `prunus fj simulate --sleeper 3`
    # writes adversary_weight_closed_form 0.6667; now one warning for the sweep and NaN for
    # the attacks that never happen, and the closed form wherever the adversary attacks
    sc = Scenario(graph="star", n=6, adversaries=(Adversary("hub"),), rounds=10)
    with pytest.warns(UserWarning, match=r"^sweep: in 2 of 4 scenarios .*sleeper 10 >= "
                                         r"rounds 10, sleeper 12 >= rounds 10") as record:
        df = sweep(sc, {"adversary_sleeper": [0, 3, 10, 12]}, questions=2)
    assert len(record) == 1
    np.testing.assert_allclose(df.adversary_weight, [2 / 3, 2 / 3, np.nan, np.nan],
                               atol=1e-12)
    np.testing.assert_allclose(df.adversary_weight_closed_form.astype(float),
                               [2 / 3, 2 / 3, np.nan, np.nan], atol=1e-12)
    assert df.asr[2] == df.asr[3] == 0.0


def test_trust_defense_settings_are_checked_by_name_and_range():
    # before: threshold=nan or 2.0, lr=nan and trust_gamma=nan were accepted and made every
    # agent deaf (W = I) or the trust NaN
    for kwargs, message in (
        ({"threshold": float("nan")}, r"^threshold must be in \[0, 1\], got nan"),
        ({"threshold": 2.0}, r"^threshold must be in \[0, 1\], got 2.0"),
        ({"threshold": -0.1}, r"^threshold must be in \[0, 1\], got -0.1"),
        ({"lr": float("nan")}, r"^lr must be a finite number >= 0, got nan"),
        ({"lr": -0.1}, r"^lr must be a finite number >= 0, got -0.1"),
        ({"trust_gamma": float("nan")}, r"^trust_gamma must be a finite number >= 0, got nan"),
        ({"trust_gamma": float("inf")}, r"^trust_gamma must be a finite number >= 0, got inf"),
        ({"momentum": float("nan")}, r"^momentum must be in \[0, 1\), got nan"),
        ({"sparse_fraction": 1.5}, r"^sparse_fraction must be in \(0, 1\], got 1.5"),
    ):
        with pytest.raises(ValueError, match=message):
            TrustAdaptiveDefense(4, **kwargs)
    for name in ("threshold", "lr", "trust_gamma", "momentum", "sparse_fraction"):
        with pytest.raises(TypeError, match=rf"^{name}: expected a real number, got True"):
            TrustAdaptiveDefense(4, **{name: True})
    # the limits themselves are settings, and numpy scalars are the numbers they hold
    d = TrustAdaptiveDefense(4, threshold=np.float32(1.0), lr=0.0, trust_gamma=0.0,
                             momentum=0.0, sparse_fraction=1.0)
    assert (d.threshold, d.lr, d.trust_gamma) == (1.0, 0.0, 0.0)


def test_a_stream_warns_when_a_sleeper_never_wakes_within_a_debate():
    # before: simulate warned (NeverAttacksWarning) for sleeper >= rounds, run_trust_stream
    # said nothing, and its ASR of an attack that never happens read as a defense's success
    from multiagent.adversary import NeverAttacksWarning

    sc = Scenario(graph="star", n=6, rounds=4, adversaries=(Adversary("hub", sleeper=4),))
    with pytest.warns(NeverAttacksWarning, match=r"adversary 0 \(agent 0\) has sleeper 4 >= "
                                                 r"rounds 4: it never attacks"):
        df = run_trust_stream(sc, questions=3, warmup=2)
    assert df.flipped.sum() == 0
    awake = Scenario(graph="star", n=6, rounds=4, adversaries=(Adversary("hub", sleeper=3),))
    run_trust_stream(awake, questions=3, warmup=2)  # wakes at round 3: no warning


def test_trust_stream_reads_a_tie_for_the_top_option_as_no_answer(monkeypatch):
    # agents that cannot decide (uniform beliefs) stay undecided without an adversary;
    # argmax read them as answering option 0: right on every question whose truth is 0
    import multiagent.defense as defense_module

    def undecided(n, K, truth, **_):
        return np.full((n, K), 1 / K)

    monkeypatch.setattr(defense_module, "initial_beliefs", undecided)
    df = run_trust_stream(Scenario(graph="complete", n=4), questions=6, warmup=2)
    assert (df["right_start"] == 0).all()
    assert (df["flipped"] == 0).all()
    assert (df["accuracy_end"] == 0.0).all()


def test_sweep_gives_the_star_closed_form_of_an_adversary_placed_by_index():
    # adversary_position 0 (the hub) and 2 (a leaf) had no closed form (None): the lookup
    # f"star_{position}" knew only the words hub and leaf
    df = sweep(Scenario(graph="star", n=6, adversaries=(Adversary("hub"),)),
               {"adversary_position": [0, 2, "hub", "leaf"]}, questions=2)
    hub = closed_form_weight("star_hub", 6, 0.2, 0.5)["mean"]
    leaf = closed_form_weight("star_leaf", 6, 0.2, 0.5)["mean"]
    np.testing.assert_allclose(df["adversary_weight_closed_form"].to_numpy(float),
                               [hub, leaf, hub, leaf], rtol=0, atol=1e-15)
    np.testing.assert_allclose(df["adversary_weight"], [hub, leaf, hub, leaf], rtol=0,
                               atol=1e-12)


def test_sweeps_in_threads_leave_the_warning_filters_as_they_were(in_threads):
    # sweep silenced simulate's NeverAttacksWarning with warnings.catch_warnings, which swaps
    # the process-wide filter list: sweeps in a thread pool restored each other's lists and
    # left ("ignore", NeverAttacksWarning) in it for good, so that a later simulate of a
    # sleeper that never wakes said nothing
    import warnings

    import pandas as pd

    from multiagent.adversary import NeverAttacksWarning

    sc = Scenario(graph="star", n=6, adversaries=(Adversary("hub"),))
    grid = {"gamma": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]}
    expected = [sweep(sc, grid, questions=2, seed=i) for i in range(4)]
    before = list(warnings.filters)
    try:
        for _ in range(5):
            results = in_threads(lambda i: sweep(sc, grid, questions=2, seed=i), range(4))
            assert warnings.filters == before
            for got, want in zip(results, expected):
                pd.testing.assert_frame_equal(got, want)
    finally:
        warnings.filters[:] = before
    sleepy = Scenario(graph="star", n=6, rounds=5, adversaries=(Adversary("hub", sleeper=10),))
    with pytest.warns(NeverAttacksWarning, match="sleeper 10 >= rounds 5"):
        simulate(sleepy, questions=2)
    # the sweep itself still says it once, and simulate not once per scenario
    with pytest.warns(NeverAttacksWarning, match=r"^sweep: in 2 of 2 scenarios") as record:
        sweep(sleepy, {"alpha": [0.3, 0.5]}, questions=2)
    assert len(record) == 1


def test_momentum_overshoot_is_clipped_to_full_trust():
    # the momentum buffer carries trust past its target: without the clip to [0, 1] (a
    # mutation a mutation-testing audit found unnoticed) 30 right answers took trust
    # in speaker 1 from 0.64 to 1.103. With the defaults (lr 0.4, momentum 0.8) it stays in
    # [0, 1] and settles at exactly 1; speaker 0 (always right) stays at 1 throughout
    d = TrustAdaptiveDefense(2)
    d.warm_up(np.array([[1, 1], [1, 0], [1, 1], [1, 1], [1, 1]], bool))  # accuracy 1, 0.8
    np.testing.assert_allclose(d.trust, [[1, 0.64]] * 2, rtol=0, atol=1e-15)
    seen = []
    for _ in range(30):
        d.update(np.array([True, True]))
        seen.append(d.trust.copy())
    seen = np.array(seen)
    assert float(seen.min()) >= 0.0
    assert float(seen.max()) == 1.0
    assert (seen[:, :, 0] == 1.0).all()
    assert (seen[-1] == 1.0).all()


def test_an_update_with_an_adjacency_covers_the_listener_itself():
    # update() changes a listener's trust in its in-neighbours "and the listener itself";
    # dropping the diagonal from the mask (a mutation a mutation-testing audit found
    # unnoticed) left every self-trust at 1. Path 0 - 1 - 2, agents 0 and 2 wrong: an
    # updated entry with target 0 goes 1 + 0.4 * 0.2 * (0 - 1) = 0.92, target 1 stays 1,
    # and the pairs that do not hear each other (0 <-> 2) stay 1
    A = np.array([[0, 1.0, 0], [1, 0, 1], [0, 1, 0]])
    d = TrustAdaptiveDefense(3)
    assert d.update(np.array([False, True, False]), adjacency=A)
    np.testing.assert_allclose(np.diag(d.trust), [0.92, 1, 0.92], rtol=0, atol=1e-15)
    np.testing.assert_allclose(d.trust, [[0.92, 1, 1], [0.92, 1, 0.92], [1, 1, 0.92]],
                               rtol=0, atol=1e-15)
    np.testing.assert_allclose(np.diag(d.buffer), [-0.2, 0, -0.2], rtol=0, atol=1e-15)


def test_trust_stream_does_not_count_a_tie_at_the_end_as_a_flip():
    # a benign agent right at round 0 whose top options tie at the end gives no answer:
    # not flipped. Dropping "end >= 0" (a mutation a mutation-testing audit found
    # unnoticed) counted the three leaves of this star as flipped. Each leaf hears only the
    # adversarial hub: with gamma = 1/2, alpha = 0, one round and sure, right leaves
    # (p_correct = confidence = 1), b(1) = s / 2 + (hub's one-hot wrong option) / 2 =
    # (1/2, 1/2) exactly, a tie
    sc = Scenario(graph="star", n=4, n_options=2, gamma=0.5, alpha=0.0, rounds=1,
                  adversaries=(Adversary("hub"),))
    df = run_trust_stream(sc, questions=2, warmup=0, online=False, p_correct=1.0,
                          confidence=1.0)
    assert df["right_start"].tolist() == [3, 3]
    assert df["flipped"].tolist() == [0, 0]
    assert df["accuracy_end"].tolist() == [0.0, 0.0]


def test_sweep_gives_no_closed_form_for_two_adversaries():
    # the closed forms are those of one adversary; with two, adversary_weight_closed_form
    # is None. A mutation-testing audit found that a test for "no adversary" only
    # (len < 1) went unnoticed: it gave two adversaries the one-adversary value 0.2857
    sc = Scenario(graph="complete", n=6, adversaries=(Adversary(0), Adversary(1)))
    df = sweep(sc, {"gamma": [0.2]}, questions=2)
    assert df["adversary_weight_closed_form"].tolist() == [None]
    # the simulated weight on both adversaries together, by hand: a benign agent's weight x
    # on them solves x = 0.4 x + 0.08 (2 + 3 x), x = 4/9 (one adversary: 2/7 = 0.2857)
    assert df["adversary_weight"][0] == pytest.approx(4 / 9, abs=1e-12)
