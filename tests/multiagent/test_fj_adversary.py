"""Adversary closed forms (METHODS §5.3) against the simulator, and attack metrics."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from multiagent.adversary import (
    Adversary,
    Scenario,
    adversary_weight,
    attack_success_rate,
    benign_accuracy,
    closed_form_weight,
    simulate,
)


def _weights(graph, pos, n=6, gamma=0.2, alpha=0.5, persuasion=1.0):
    sc = Scenario(graph=graph, n=n, gamma=gamma, alpha=alpha,
                  adversaries=(Adversary(pos, persuasion=persuasion),))
    model = sc.model()
    a = sc.adversary_nodes()[0]
    return model.influence_matrix()[:, a], a, model


def test_complete_graph_closed_form():
    col, a, model = _weights("complete", "hub")
    benign = np.delete(col, a)
    np.testing.assert_allclose(benign, 0.4 / (0.2 * 5 + 0.4), atol=1e-12)
    assert benign[0] == pytest.approx(0.2857, abs=5e-5)
    assert closed_form_weight("complete", 6, 0.2, 0.5)["mean"] == pytest.approx(benign[0])
    assert adversary_weight(model, [a]) == pytest.approx(benign.mean(), abs=1e-12)


@pytest.mark.parametrize("n", [3, 6, 11, 40])
def test_star_hub_closed_form_any_n(n):
    col, a, _ = _weights("star", "hub", n=n)
    assert a == 0
    np.testing.assert_allclose(col[1:], 0.4 / 0.6, atol=1e-12)
    assert col[1] == pytest.approx(0.6667, abs=5e-5)


def test_star_leaf_closed_form():
    col, a, _ = _weights("star", "leaf")
    assert a != 0
    hub, leaves = col[0], np.delete(col, [0, a])
    assert hub == pytest.approx(0.2069, abs=5e-5)
    np.testing.assert_allclose(leaves, 0.1379, atol=5e-5)
    assert np.delete(col, a).mean() == pytest.approx(0.152, abs=5e-4)
    cf = closed_form_weight("star_leaf", 6, 0.2, 0.5)
    assert cf["hub"] == pytest.approx(hub, abs=1e-12)
    assert cf["leaf"] == pytest.approx(leaves[0], abs=1e-12)


@pytest.mark.parametrize("t", [1.0, 0.5, 0.2, 0.1, 0.0, 3.0])
@pytest.mark.parametrize("where", [("complete", "hub", "complete"), ("star", "leaf", "star_leaf"),
                                   ("star", "hub", "star_hub")])
def test_persuasion_closed_forms(t, where):
    graph, pos, key = where
    col, a, model = _weights(graph, pos, persuasion=t)
    cf = closed_form_weight(key, 6, 0.2, 0.5, persuasion=t)
    assert np.delete(col, a).mean() == pytest.approx(cf["mean"], abs=1e-12)


def test_scaled_trust_and_n_scaling_table():
    expect_t = {1: 0.286, 0.5: 0.182, 0.2: 0.087, 0.1: 0.047, 0: 0.0}
    for t, v in expect_t.items():
        assert closed_form_weight("complete", 6, 0.2, 0.5, persuasion=t)["mean"] == pytest.approx(
            v, abs=5e-4)
    for n, v in {4: 0.40, 6: 0.286, 8: 0.222, 16: 0.118, 64: 0.031}.items():
        col, a, _ = _weights("complete", "hub", n=n)
        assert np.delete(col, a).mean() == pytest.approx(v, abs=5e-4)


@pytest.mark.parametrize(("graph", "pos"), [("complete", "hub"), ("star", "hub"), ("star", "leaf")])
def test_gamma_zero_adversary_takes_everything(graph, pos):
    col, a, _ = _weights(graph, pos, gamma=0.0)
    np.testing.assert_allclose(col, 1.0, atol=1e-10)
    assert closed_form_weight({"complete": "complete"}.get(graph, f"star_{pos}"), 6, 0.0,
                              0.5)["mean"] == pytest.approx(1.0)


def test_asr_ordering_hub_complete_leaf():
    asr = {}
    for graph, pos in [("star", "hub"), ("complete", "hub"), ("star", "leaf")]:
        res = simulate(Scenario(graph=graph, adversaries=(Adversary(pos),)), questions=100)
        asr[(graph, pos)] = res.metrics["asr"]
        assert res.trajectories.shape == (100, 11, 6, 5)
    assert asr[("star", "hub")] > asr[("complete", "hub")] > asr[("star", "leaf")]
    none = simulate(Scenario(graph="star"), questions=50)
    assert none.metrics["asr"] < asr[("star", "leaf")] + 0.05


def test_attack_success_rate_by_hand():
    truth = 0
    start = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.0, 1.0]])
    end = np.array([[0.4, 0.6], [0.7, 0.3], [0.9, 0.1], [0.0, 1.0]])
    benign = np.array([True, True, True, False])
    assert attack_success_rate(start, end, truth, benign) == pytest.approx(0.5)


def test_attack_success_rate_counts_only_agents_right_at_round_0():
    # only a repr test failed when ASR counted every benign agent wrong at the end (not only
    # those right at round 0, `start &`): here agent 1 is wrong at both ends of question 0
    truth = np.array([1, 1])
    start = np.array([[[0.2, 0.8], [0.7, 0.3], [0.0, 1.0]],   # right, wrong
                      [[0.1, 0.9], [0.4, 0.6], [0.0, 1.0]]])  # right, right
    end = np.array([[[0.6, 0.4], [0.9, 0.1], [1.0, 0.0]],     # flipped, still wrong
                    [[0.3, 0.7], [0.8, 0.2], [1.0, 0.0]]])    # stays right, flipped
    benign = np.array([True, True, False])
    # 3 (question, agent) pairs right at round 0, 2 of them wrong at the end (3/3 before)
    assert attack_success_rate(start, end, truth, benign) == pytest.approx(2 / 3)
    assert benign_accuracy(start, truth, benign) == pytest.approx(3 / 4)
    assert benign_accuracy(end, truth, benign) == pytest.approx(1 / 4)


@pytest.mark.parametrize("scalar", [1, np.int64(1), np.array(1), "tensor"])
def test_a_scalar_truth_is_every_questions_truth(scalar):
    # with (questions, n, K) beliefs a scalar truth was refused: "truth: expected one
    # correct option per question (2), got shape (1,)", although the docstrings say
    # "scalar or one per question" and (n, K) beliefs took it
    import torch

    truth = torch.tensor(1) if isinstance(scalar, str) else scalar
    start = np.array([[[0.2, 0.8], [0.7, 0.3], [0.0, 1.0]],
                      [[0.1, 0.9], [0.4, 0.6], [0.0, 1.0]]])
    end = np.array([[[0.6, 0.4], [0.9, 0.1], [1.0, 0.0]],
                    [[0.3, 0.7], [0.8, 0.2], [1.0, 0.0]]])
    benign = np.array([True, True, False])
    assert attack_success_rate(start, end, truth, benign) == pytest.approx(2 / 3)
    assert benign_accuracy(start, truth, benign) == pytest.approx(3 / 4)
    assert benign_accuracy(start[1], truth, benign) == 1.0  # (n, K) beliefs, as before
    # a truth of the wrong length is still refused, with the shape it was given
    for wrong in ([1], [1, 1, 1], [[1, 1]]):
        shape = re.escape(str(np.shape(wrong)))
        with pytest.raises(ValueError, match=r"^truth: expected one correct option per "
                                             rf"question \(2\), got shape {shape}$"):
            benign_accuracy(start, np.array(wrong), benign)


def test_benign_accuracy_by_hand():
    # benign agents 0 and 2 are right, 1 is wrong; the adversary (3) is wrong but excluded
    B = np.array([[0.9, 0.1], [0.3, 0.7], [0.8, 0.2], [0.0, 1.0]])
    benign = np.array([True, True, True, False])
    assert benign_accuracy(B, 0, benign) == pytest.approx(2 / 3)  # over all agents: 1/2
    # two questions, one truth each: question 1 (truth 1) has benign agents 0 and 2 right
    # (and the adversary right too, still excluded): (2 + 2) / 6 benign pairs
    B1 = np.array([[0.2, 0.8], [0.6, 0.4], [0.1, 0.9], [0.0, 1.0]])
    assert benign_accuracy(np.stack([B, B1]), np.array([0, 1]), benign) == pytest.approx(4 / 6)
    # (all agents: 5/8; truth 0 for both questions: 3/6)


def test_a_tie_for_the_top_option_is_no_answer():
    # argmax read a tie as its first option: three agents that "cannot decide" (a uniform
    # belief, as parse_belief gives it) scored benign accuracy 1.0 on truth A, were counted
    # as right at round 0 in the ASR, and as answering A at the end (the adversary's answer
    # when the truth is B)
    from multiagent.agents import parse_belief

    with pytest.warns(UserWarning, match="uniform"):  # the parse failure is said
        undecided = parse_belief("I cannot decide", ("A", "B", "C", "D", "E"))
    np.testing.assert_array_equal(undecided, 0.2)
    tied = np.tile(undecided, (3, 1))
    everyone = np.ones(3, bool)
    assert benign_accuracy(tied, 0, everyone) == 0.0  # 1.0 before
    assert np.isnan(attack_success_rate(tied, tied, 0, everyone))  # 0.0: all "right" at 0
    # right at round 0 (truth B), undecided at the end: not the adversary's answer A, no
    # attack success (1.0 before)
    right = np.tile(np.eye(5)[1], (3, 1))
    assert attack_success_rate(right, tied, 1, everyone) == 0.0
    assert attack_success_rate(right, np.tile(np.eye(5)[0], (3, 1)), 1, everyone) == 1.0
    # beliefs equal up to round-off (within 1e-12, relative) tie; a real preference does not
    one = np.ones(1, bool)
    close = np.array([[0.4 * (1 - 2e-16), 0.4, 0.2, 0.0]])
    clear = np.array([[0.4 - 1e-9, 0.4 + 1e-9, 0.2, 0.0]])
    assert benign_accuracy(close, 1, one) == benign_accuracy(close, 0, one) == 0.0
    assert benign_accuracy(clear, 1, one) == 1.0
    assert attack_success_rate(clear, close, 1, one) == 0.0
    assert attack_success_rate(clear, clear[:, [1, 0, 2, 3]], 1, one) == 1.0


def test_sleeper_holds_truth_then_attacks():
    sc = Scenario(graph="star", adversaries=(Adversary("hub", sleeper=4),), rounds=10)
    res = simulate(sc, questions=3)
    traj, truth = res.trajectories, res.truth
    for q in range(3):
        assert (traj[q, :4, 0].argmax(-1) == truth[q]).all()  # asleep in rounds 0-3
        assert (traj[q, 4:, 0].argmax(-1) != truth[q]).all()  # switched from round 4 on


def test_sleepers_wake_at_their_own_rounds_and_every_row_follows_from_the_last():
    # before: all adversaries woke at the largest sleeper round, and the switch was recorded
    # one row late (row 4 showed the truth, row 5 was computed from the target)
    advs = (Adversary(0, sleeper=2), Adversary(1, sleeper=5))
    sc = Scenario(graph="complete", n=6, adversaries=advs, rounds=8)
    res = simulate(sc, questions=2, seed=3)
    model = sc.model()
    for q in range(2):
        B, t = res.trajectories[q], res.truth[q]
        assert [int(B[r, 0].argmax() != t) for r in range(9)] == [0, 0] + [1] * 7
        assert [int(B[r, 1].argmax() != t) for r in range(9)] == [0] * 5 + [1] * 4
        S = B[0].copy()
        for r in range(8):
            S[:2] = B[r, :2]  # an adversary's anchor is its belief (gamma = 1)
            np.testing.assert_allclose(model.step(B[r], S)[2:], B[r + 1, 2:], atol=1e-12)


def test_an_adversary_never_defends_the_truth():
    # a fixed target equal to the truth used to make the adversary defend the right answer
    assert Adversary(target=2).answer(2, 5) == 3
    sc = Scenario(graph="complete", adversaries=(Adversary(0, target=0),), n_options=4)
    res = simulate(sc, questions=40, seed=0)
    assert (res.trajectories[:, 0, 0].argmax(-1) != res.truth).all()


def test_several_adversaries():
    sc = Scenario(graph="complete", n=8, adversaries=(Adversary(0), Adversary(1)))
    model = sc.model()
    M = model.influence_matrix()
    w = adversary_weight(model, [0, 1])
    assert w == pytest.approx(M[2:, :2].sum(1).mean(), abs=1e-12)
    # symmetric complete graph: two adversaries of 7 peers each -> c*2/7 / (gamma + c*2/7)
    c, wa = 0.4, 2 / 7
    assert w == pytest.approx(c * wa / (0.2 + c * wa), abs=1e-12)


def test_adversary_answer():
    assert Adversary().answer(2, 5) == 3
    assert Adversary().answer(4, 5) == 0  # wraps around
    assert Adversary(target=1).answer(2, 5) == 1
    assert Adversary(target=1).answer(2, 5, attacking=False) == 2


@pytest.mark.parametrize("key", ["complete", "star_hub", "star_leaf"])
def test_closed_forms_without_a_stubborn_benign_agent(key):
    # gamma = 0: agents that never move (alpha = 1) or never hear the adversary (t = 0) keep
    # weight 0 on it; otherwise nothing anchors them and they end on the adversary.
    assert closed_form_weight(key, 6, 0.0, 1.0)["mean"] == 0.0
    assert closed_form_weight(key, 6, 0.0, 0.5, persuasion=0.0)["mean"] == 0.0
    assert closed_form_weight(key, 6, 0.0, 0.5)["mean"] == pytest.approx(1.0)
    graph, pos = {"complete": ("complete", "hub"), "star_hub": ("star", "hub"),
                  "star_leaf": ("star", "leaf")}[key]
    for alpha, t in ((1.0, 1.0), (0.5, 1.0)):  # frozen agents; everyone converts
        sc = Scenario(graph=graph, n=6, gamma=0.0, alpha=alpha, rounds=400,
                      adversaries=(Adversary(pos, persuasion=t),))
        res = simulate(sc, questions=1, seed=0)
        a = sc.adversary_nodes()[0]
        adv = res.trajectories[0, -1, a]
        target = int(np.argmax(adv))
        moved = np.delete(res.trajectories[0, -1, :, target] - res.trajectories[0, 0, :, target],
                          a)
        expected = closed_form_weight(key, 6, 0.0, alpha, persuasion=t)["mean"]
        if expected == 0.0:
            np.testing.assert_allclose(moved, 0.0, atol=1e-12)
        else:  # everyone ends on the adversary's answer
            np.testing.assert_allclose(np.delete(res.trajectories[0, -1], a, axis=0),
                                       np.broadcast_to(adv, (5, adv.size)), atol=1e-6)


def test_simulate_where_benign_agents_reach_no_stubborn_agent_gives_the_limit_weight():
    # the leaves trust nobody (persuasion 0: their rows become self-loops) and have
    # gamma = 0: they keep their own beliefs, weight 0 on the hub adversary, as the closed
    # form says; the weight was NaN (the solve refused agents that reach no stubborn one)
    sc = Scenario(graph="star", n=6, gamma=0.0, alpha=0.5,
                  adversaries=(Adversary("hub", persuasion=0.0),))
    res = simulate(sc, questions=2, seed=0)
    assert res.metrics["adversary_weight"] == 0.0
    assert closed_form_weight("star_hub", 6, 0.0, 0.5, persuasion=0.0)["mean"] == 0.0
    assert np.isfinite(res.trajectories).all()
    # and every (n, gamma, alpha, persuasion) of the closed forms, NaN before wherever a
    # benign agent reached no stubborn agent (18 of these 108 raised ConvergenceError)
    for n, gamma, alpha, t in itertools.product([2, 4, 9], [0.0, 0.2], [0.0, 0.9],
                                                [0.0, 0.5, 3.0]):
        for graph, pos, key in [("complete", "hub", "complete"), ("star", "hub", "star_hub"),
                                ("star", "leaf", "star_leaf")]:
            other = Scenario(graph=graph, n=n, gamma=gamma, alpha=alpha,
                             adversaries=(Adversary(pos, persuasion=t),))
            weight = adversary_weight(other.model(), other.adversary_nodes())
            assert weight == pytest.approx(closed_form_weight(key, n, gamma, alpha,
                                                              persuasion=t)["mean"], abs=1e-9)
    with pytest.raises(ValueError, match="questions must be a positive integer"):
        simulate(sc, questions=0)
    with pytest.raises(ValueError, match="n_options must be >= 2"):
        simulate(sc.with_(n_options=1))


@pytest.mark.parametrize("graph", ["star", "ba"])
def test_simulate_without_trajectories_gives_the_same_metrics_and_ends(graph):
    # a sleeper waking mid-debate and a second adversary: the rounds kept are 0 and the last
    sc = Scenario(graph=graph, n=12, adversaries=(Adversary("hub", sleeper=3),
                                                  Adversary("leaf", persuasion=2.0)))
    full = simulate(sc, questions=9, seed=4)
    light = simulate(sc, questions=9, seed=4, keep_trajectories=False)
    assert light.metrics == full.metrics  # bitwise, NaN-free here
    assert np.array_equal(light.truth, full.truth)
    assert np.array_equal(light.benign, full.benign)
    # the same draws: round 0 and the final round equal the kept trajectories' bit for bit
    assert np.array_equal(light.initial, full.trajectories[:, 0])
    assert np.array_equal(light.final, full.trajectories[:, -1])
    assert np.array_equal(full.initial, full.trajectories[:, 0])
    assert np.array_equal(full.final, full.trajectories[:, -1])
    assert light.final.shape == (9, 12, 5) and light.final.flags.c_contiguous


def test_results_without_trajectories_work_with_dataclass_tools():
    import dataclasses

    res = simulate(Scenario(adversaries=(Adversary(),)), questions=2,
                   keep_trajectories=False)
    assert res.trajectories is None
    assert "trajectories not kept" in repr(res)
    # replace and asdict read every field: both raised while reading trajectories did
    copy = dataclasses.replace(res, metrics={"asr": 0.0})
    assert copy.final is res.final and copy.trajectories is None
    assert dataclasses.asdict(res)["trajectories"] is None
    with pytest.raises(TypeError, match="keep_trajectories must be True or False"):
        simulate(Scenario(), keep_trajectories="no")


def test_given_rounds_must_match_the_trajectories():
    import dataclasses

    full = simulate(Scenario(adversaries=(Adversary(),)), questions=2, seed=1)
    same = dataclasses.replace(full)
    assert np.array_equal(same.initial, full.trajectories[:, 0])
    with pytest.raises(ValueError, match="initial: differs from trajectories"):
        dataclasses.replace(full, trajectories=full.trajectories[:, ::-1])
    flipped = dataclasses.replace(full, trajectories=full.trajectories[:, ::-1], initial=None,
                                  final=None)
    assert np.array_equal(flipped.final, full.trajectories[:, 0])


def test_sweep_does_not_keep_trajectories(monkeypatch):
    import multiagent.sweeps as sweeps_module

    calls = []
    real = sweeps_module.simulate

    def spy(*args, **kwargs):
        calls.append(kwargs.get("keep_trajectories", True))
        return real(*args, **kwargs)

    monkeypatch.setattr(sweeps_module, "simulate", spy)
    base = Scenario(adversaries=(Adversary(),))
    light = sweeps_module.sweep(base, {"graph": ["complete", "star"]}, questions=4)
    full = sweeps_module.sweep(base, {"graph": ["complete", "star"]}, questions=4,
                               keep_trajectories=True)
    assert calls == [False, False, True, True]
    assert light.equals(full)


def test_adversary_weight_of_a_degroot_model_is_their_share_of_the_consensus():
    # every gamma = 0: (I - H) is singular and the solve raised ConvergenceError, although
    # the limit P^t -> 1 pi^T is unique; compare with the matrix power itself
    from multiagent import FriedkinJohnsen

    rng = np.random.default_rng(4)
    n = 7
    T = rng.random((n, n)) * (1 - np.eye(n))
    W = T / T.sum(axis=1, keepdims=True)
    alpha = rng.uniform(0.0, 0.6, n)
    model = FriedkinJohnsen(W, np.zeros(n), alpha)
    P = np.diag(alpha) + (1 - alpha)[:, None] * W
    limit = np.linalg.matrix_power(P, 4000)
    adv = [1, 4]
    benign = [i for i in range(n) if i not in adv]
    expect = limit[np.ix_(benign, adv)].sum(axis=1).mean()
    assert adversary_weight(model, adv) == pytest.approx(expect, abs=1e-10)


@pytest.mark.parametrize("rng", [0, None])
def test_initial_beliefs_refuses_a_seed_for_its_generator_by_name(rng):
    # before: AttributeError "'int' object has no attribute 'random'"
    from multiagent.adversary import initial_beliefs

    with pytest.raises(TypeError, match=r"^rng: expected a numpy random Generator"):
        initial_beliefs(3, 2, 0, rng=rng)
    a = initial_beliefs(3, 2, 0, rng=np.random.default_rng(0))
    assert np.array_equal(a, initial_beliefs(3, 2, 0, rng=np.random.default_rng(0)))


def test_an_adversary_on_a_named_graph_is_placed_by_its_node_label():
    # before: Adversary("Medici") on the Florentine families was refused ("expected 'hub',
    # 'leaf' or an agent index"), so users had to look up the index networkx gives it
    import networkx as nx

    graph = nx.florentine_families_graph()
    index = list(graph.nodes).index("Medici")
    named = Scenario(graph=graph, adversaries=(Adversary("Medici"),))
    numbered = Scenario(graph=graph, adversaries=(Adversary(index),))
    assert named.adversary_nodes() == [index]
    # the Medici have the most ties: the hub too
    assert Scenario(graph=graph, adversaries=(Adversary("hub"),)).adversary_nodes() == [index]
    got, want = simulate(named, questions=3), simulate(numbered, questions=3)
    assert got.metrics == want.metrics
    np.testing.assert_array_equal(got.final, want.final)
    np.testing.assert_allclose(named.model().influence_matrix(),
                               numbered.model().influence_matrix())
    with pytest.raises(ValueError, match=r"position 'Borgia' is not a node of the scenario"):
        Scenario(graph=graph, adversaries=(Adversary("Borgia"),)).adversary_nodes()
    # a named topology has no labels: a string other than hub / leaf stays an error
    with pytest.raises(TypeError, match="adversary position"):
        Scenario(graph="complete", adversaries=(Adversary("Medici"),)).adversary_nodes()



def _labelled_graphs():
    import networkx as nx

    D = nx.DiGraph()  # ties in listeners and self-loops, labels not in sorted order
    D.add_nodes_from(["c", "a", "b", "d", "e", "f"])
    D.add_edges_from([("a", "b"), ("b", "a"), ("c", "a"), ("d", "e"), ("e", "d"), ("a", "a"),
                      ("c", "c"), ("f", "c"), ("b", "f")])
    U = nx.Graph()  # a ring with a self-loop at 2, nodes listed out of order
    U.add_nodes_from([3, 1, 0, 2, 5, 4])
    U.add_edges_from([(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0), (2, 2)])
    return {"directed": D, "undirected": U,
            "random": nx.gnm_random_graph(30, 60, seed=1, directed=True)}


@pytest.mark.parametrize(("name", "nodes", "metrics"), [
    ("directed", [2, 5], (0.5, 1.0, 0.5, 0.3055555555555556)),
    ("undirected", [3, 5], (0.7272727272727273, 0.9166666666666666, 0.25,
                            0.4848484848484848)),
    ("random", [7, 28], (0.03125, 0.7619047619047619, 0.8928571428571429,
                         0.10665281644108408)),
])
def test_a_networkx_graph_relabelled_once_places_and_scores_as_before(name, nodes, metrics):
    # simulate relabelled the graph 5 times and found its hub and leaf 4 times; now once
    # each, and adversary_nodes() reads the user's graph by its node order: the known
    # answers of the old code (hub and leaf on ties, metrics), and the trajectories of
    # the graph relabelled by hand
    from multiagent.topologies import make_graph

    graph = _labelled_graphs()[name]
    advs = (Adversary("hub"), Adversary("leaf", persuasion=2.0, sleeper=2))
    sc = Scenario(graph=graph, adversaries=advs, rounds=4)
    result = simulate(sc, questions=3, seed=1)
    assert sc.adversary_nodes() == nodes
    assert np.flatnonzero(~sc.benign()).tolist() == sorted(nodes)
    keys = ("asr", "accuracy_start", "accuracy_end", "adversary_weight")
    assert tuple(result.metrics[k] for k in keys) == pytest.approx(metrics, rel=1e-14)
    by_hand = simulate(sc.with_(graph=make_graph(graph, 0)), questions=3, seed=1)
    assert by_hand.metrics == result.metrics
    assert by_hand.trajectories.tobytes() == result.trajectories.tobytes()

def test_simulation_result_repr_gives_sizes_and_metrics_not_beliefs():
    sc = Scenario(adversaries=(Adversary(),))
    # 14 of the 15 benign answers right before and after; the hub's weight is 2/7
    assert repr(simulate(sc, questions=3, seed=0)) == (
        "SimulationResult of 3 questions, 6 agents (5 benign), 10 rounds: ASR 0, benign "
        "accuracy 0.933 -> 0.933, adversary weight 0.286\n"
        "    trajectories (3, 11, 6, 5) float64, truth (3,) int64, benign (6,) bool")
    light = simulate(sc, questions=3, seed=0, keep_trajectories=False)
    assert repr(light).splitlines()[1] == ("    trajectories not kept, final (3, 6, 5) float64, "
                                           "truth (3,) int64, benign (6,) bool")
    # the dataclass repr printed every belief of every round (4,936 characters here)
    assert len(repr(simulate(sc.with_(n=40), questions=30, seed=0))) < 250


def test_scenario_repr_gives_a_networkx_graph_by_its_size():
    import networkx as nx

    # the dataclass repr printed "graph=<networkx.classes.graph.Graph object at 0x...>"
    florence = Scenario(nx.florentine_families_graph(), rounds=3)
    assert repr(florence) == (
        "Scenario(graph=<Graph of 15 nodes, 20 edges>, n=6, gamma=0.2, alpha=0.5, "
        "adversaries=(), rounds=3, n_options=5, seed=0)")
    assert repr(Scenario("star", n=4)) == (
        "Scenario(graph='star', n=4, gamma=0.2, alpha=0.5, adversaries=(), rounds=10, "
        "n_options=5, seed=0)")


def test_adversary_weight_of_a_partly_stubborn_adversary_by_hand():
    # two agents hearing each other, both gamma = 1/2, alpha = 0:
    # b1 = s1/2 + b0/2, b0 = s0/2 + b1/2  =>  b1 = (2/3) s1 + (1/3) s0; the adversary's
    # innate belief enters through its own gamma (M = (I - H)^-1 Gamma), so the weight is 1/3
    from multiagent import FriedkinJohnsen

    model = FriedkinJohnsen(np.array([[0.0, 1.0], [1.0, 0.0]]), 0.5, 0.0)
    assert adversary_weight(model, [0]) == pytest.approx(1 / 3, abs=1e-12)


def test_initial_beliefs_put_confidence_on_the_pick_on_average():
    # Dirichlet(concentration * m) has mean m: confidence on the pick, the rest spread
    # evenly over the other K - 1 options
    from multiagent.adversary import initial_beliefs

    B = initial_beliefs(4000, 5, 2, p_correct=1.0, confidence=0.6, concentration=20.0,
                        rng=np.random.default_rng(0))
    assert B[:, 2].mean() == pytest.approx(0.6, abs=0.01)
    np.testing.assert_allclose(np.delete(B, 2, axis=1).mean(axis=0), 0.1, atol=0.01)


def test_final_accuracy_is_scored_on_the_final_round():
    # leaves with gamma = 0 and alpha = 1/2 under a fully stubborn hub keep 2^-10 of their
    # innate belief after 10 rounds: every benign agent ends on the adversary's target
    sc = Scenario(graph="star", gamma=0.0, alpha=0.5, rounds=10,
                  adversaries=(Adversary("hub"),))
    res = simulate(sc, questions=5)
    assert res.metrics["accuracy_start"] > 0.5
    assert res.metrics["accuracy_end"] == 0.0
    assert res.metrics["asr"] == 1.0


def test_an_adversary_that_never_wakes_has_no_attack_weight():
    # before: sleeper >= rounds (it holds the truth throughout) reported adversary_weight
    # 0.6667, the weight of an attack that never happened (`prunus fj simulate` refuses it)
    sc = Scenario(graph="star", n=6, adversaries=(Adversary("hub", sleeper=10),), rounds=10)
    with pytest.warns(UserWarning, match=r"sleeper 10 .*rounds 10.*never attacks"):
        res = simulate(sc, questions=3)
    assert np.isnan(res.metrics["adversary_weight"]) and res.metrics["asr"] == 0.0
    # waking at the last round attacks: the weight as before, and no warning
    awake = simulate(sc.with_(rounds=11), questions=3)
    assert awake.metrics["adversary_weight"] == pytest.approx(2 / 3, abs=1e-12)
    # of two adversaries, the one that never wakes is left out of the weight (it is not
    # benign either): the benign weight on adversary 0 alone
    two = Scenario(graph="complete", n=6, rounds=4,
                   adversaries=(Adversary(0), Adversary(1, sleeper=4)))
    with pytest.warns(UserWarning, match=r"adversary 1 \(agent 1\).*sleeper 4"):
        weight = simulate(two, questions=1).metrics["adversary_weight"]
    M = two.model().influence_matrix()
    assert weight == pytest.approx(M[2:, 0].mean(), abs=1e-12)
    assert adversary_weight(two.model(), [0, 1]) > weight + 0.05  # both columns, before


def test_adversary_weight_is_0_without_adversaries_and_nan_only_where_documented():
    # before: simulate's docstring (and README) said the weight is NaN "when the benign
    # equilibrium is not unique (no stubborn benign agent and no adversary pull)" and "when
    # no adversary attacks", yet a scenario without adversaries gave 0.0 and one without
    # pull the limit weight. Kept (0.0 is the weight of no adversary, what sweeps average)
    # and documented: NaN only with no benign agent, no attack, or a solve that fails
    free = simulate(Scenario(graph="ring", gamma=0.0, alpha=0.0), questions=2)
    assert free.metrics["adversary_weight"] == 0.0
    pull = Scenario(graph="ring", gamma=0.0, alpha=0.0, adversaries=(Adversary(0, gamma=0.0),))
    # DeGroot on a ring of 6: the adversary's share of the consensus
    assert simulate(pull, questions=2).metrics["adversary_weight"] == pytest.approx(1 / 6)
    every = Scenario(graph="ring", n=2, adversaries=(Adversary(0), Adversary(1)))
    assert np.isnan(simulate(every, questions=2).metrics["adversary_weight"])
    doc = " ".join(simulate.__doc__.split())
    assert "not unique" not in doc
    assert ("``metrics[\"adversary_weight\"]`` is 0.0 when the scenario has no adversary"
            in doc)


@pytest.mark.parametrize("keyword", ["hub", "leaf"])
def test_a_node_named_as_a_position_keyword_is_refused(keyword):
    # before: on a graph with a node "hub", Adversary("hub") was read as the keyword (the
    # node of highest degree, "leaf" here) without a word; which one is meant is not known
    import networkx as nx

    G = nx.Graph([("hub", "leaf"), ("leaf", "x"), ("leaf", "y"), ("x", "y")])
    index = list(G.nodes).index(keyword)
    sc = Scenario(graph=G, adversaries=(Adversary(keyword),))
    message = (rf"^adversary position '{keyword}' is both a keyword \(the node of "
               rf"{'highest' if keyword == 'hub' else 'lowest'} degree\) and a node of the "
               rf"scenario's graph; pass the node's index, Adversary\({index}\), to place "
               "it at that node, or rename the node to use the keyword$")
    for call in (sc.adversary_nodes, sc.model, sc.benign):
        with pytest.raises(ValueError, match=message):
            call()
    # the node's index places it there; the other keyword, no node's name, is read as before
    assert Scenario(graph=G, adversaries=(Adversary(index),)).adversary_nodes() == [index]
    other = nx.relabel_nodes(G, {keyword: "k"})
    assert Scenario(graph=other, adversaries=(Adversary(keyword),)).adversary_nodes() == \
        Scenario(graph=nx.convert_node_labels_to_integers(other),
                 adversaries=(Adversary(keyword),)).adversary_nodes()
