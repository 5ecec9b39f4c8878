"""Order probabilities and most likely orders."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from biomodels.ctmc import (
    most_likely_order,
    order_probability,
    random_sparse_theta,
    sequence_log_prob,
    top_orders,
)


def test_order_probability_two_event_closed_form():
    for th in ([[-0.5, -0.7], [1.5, -1.0]], [[0.3, 2.0], [-1.0, -2.0]]):
        theta = np.array(th)
        t0, t1 = np.exp(theta[0, 0]), np.exp(theta[1, 1])
        t01, t10 = np.exp(theta[1, 0]), np.exp(theta[0, 1])
        p01 = t0 / (1 + t0 + t1) * t1 * t01 / (1 + t1 * t01)
        p10 = t1 / (1 + t0 + t1) * t0 * t10 / (1 + t0 * t10)
        assert order_probability(theta, 0, 1) == pytest.approx(p01 / (p01 + p10), abs=1e-12)
        assert order_probability(theta, 1, 0) == pytest.approx(p10 / (p01 + p10), abs=1e-12)


def test_order_probability_exact_vs_bruteforce_and_sampling():
    theta = random_sparse_theta(5, sparsity=0.3, seed=2)
    th = torch.as_tensor(theta)
    num = den = 0.0
    for size in range(2, 6):
        for ev in itertools.combinations(range(5), size):
            if 0 in ev and 3 in ev:
                perms = torch.tensor(list(itertools.permutations(ev)))
                p = torch.exp(sequence_log_prob(th, perms))
                first = [list(q).index(0) < list(q).index(3) for q in perms.tolist()]
                num += float(p[torch.tensor(first)].sum())
                den += float(p.sum())
    exact = order_probability(theta, 0, 3)
    assert exact == pytest.approx(num / den, abs=1e-12)
    mc = order_probability(theta, 0, 3, method="sample", n_samples=40_000, seed=0)
    assert abs(mc - exact) < 0.02


def test_most_likely_order_is_the_argmax():
    theta = random_sparse_theta(7, seed=3)
    ev = [0, 2, 3, 5, 6]
    order, lp = most_likely_order(theta, ev)
    perms = torch.tensor(list(itertools.permutations(ev)))
    lps = sequence_log_prob(torch.as_tensor(theta), perms)
    assert order == perms[int(torch.argmax(lps))].tolist()
    assert lp == pytest.approx(float(lps.max()), abs=1e-10)
    top = top_orders(theta, ev, k=3)
    assert top[0][0] == order and top[0][1] >= top[1][1] >= top[2][1]


def test_sampled_order_of_events_that_never_co_occur_is_nan():
    # pins _sampled_order_probability's branch where no trajectory carries both events: the
    # documented answer is NaN, and NaN for its standard error. Events 0 and 1 shut each
    # other off (theta = -40: after one, the other's rate is e^-40 of the observation rate)
    theta = np.array([[0.0, -40.0, 0.0], [-40.0, 0.3, 0.0], [0.5, 0.0, -1.0]])
    kw = {"method": "sample", "n_samples": 2000, "seed": 0}
    assert np.isnan(order_probability(theta, 0, 1, **kw))
    p, se = order_probability(theta, 0, 1, return_se=True, **kw)
    assert np.isnan(p) and np.isnan(se)
    assert not np.isnan(order_probability(theta, 0, 2, **kw))  # 0 and 2 do co-occur


def test_most_likely_order_of_no_events_is_the_observation_coming_first():
    # pins most_likely_order's branch for an empty event set: the empty order has the
    # probability that the observation clock (rate 1) rings before any event's clock
    # (rates exp(theta_ii)): 1 / (1 + sum_i exp(theta_ii)); off-diagonals play no part
    theta = np.array([[0.0, 1.0, -2.0], [0.5, 0.3, 0.0], [0.0, 2.0, -1.0]])
    order, log_p = most_likely_order(theta, [])
    assert order == []
    assert log_p == pytest.approx(-np.log(1 + 1 + np.exp(0.3) + np.exp(-1.0)), abs=1e-12)
    assert log_p == pytest.approx(-1.3131154857309968, abs=1e-12)
    assert most_likely_order(theta, np.array([], dtype=int)) == (order, log_p)
    with pytest.raises(ValueError, match="got k = 21 > 20"):  # 2^k subsets: refused first
        most_likely_order(np.zeros((21, 21)), list(range(21)))


def test_order_arguments_are_checked():
    theta = np.zeros((3, 3))
    with pytest.raises(ValueError, match="different"):
        order_probability(theta, 1, 1)
    with pytest.raises(ValueError, match="b must be an event index"):
        order_probability(theta, 0, 7)
    with pytest.raises(ValueError, match="method"):
        order_probability(theta, 0, 1, method="fast")


def test_model_event_arguments_are_names_or_indices():
    from biomodels.ctmc import CTMC

    model = CTMC(np.zeros((3, 3)), ["a", "b", "c"])
    assert model.order_probability("a", 2) == pytest.approx(model.order_probability(0, "c"))
    with pytest.raises(TypeError, match="a: expected an event name or index, got 1.5"):
        model.order_probability(1.5, 2)  # was truncated to event 1
    with pytest.raises(TypeError, match="events"):
        model.most_likely_order([True, 2])


def test_orderings_refuse_repeated_or_unknown_events():
    from biomodels.ctmc import bruteforce_log_likelihood, sequence_log_prob, top_orders

    theta = np.zeros((3, 3))
    with pytest.raises(ValueError, match="distinct"):
        top_orders(theta, [0, 0])
    with pytest.raises(ValueError, match="repeat"):
        sequence_log_prob(theta, torch.tensor([0, 0]))
    with pytest.raises(ValueError, match=r"in \[0, 3\)"):
        sequence_log_prob(theta, torch.tensor([0, -1]))
    with pytest.raises(ValueError, match="binary"):
        bruteforce_log_likelihood(theta, [2, 0, 0])
    with pytest.raises(ValueError, match="NaN"):
        bruteforce_log_likelihood(theta, [np.nan, 0, 0])


def test_top_orders_needs_a_positive_count():
    # k = -1 returned all orders but the last
    from biomodels.ctmc import CTMC, random_sparse_theta

    model = CTMC(random_sparse_theta(4, seed=0))
    with pytest.raises(ValueError, match="k: expected an integer >= 1"):
        model.top_orders([0, 1, 2], k=-1)


def test_top_orders_of_equal_probability_come_in_enumeration_order():
    # independent events of equal rates: all 24 orders have probability 1/24, and the
    # unstable sort returned them in an unspecified order
    from biomodels.ctmc import CTMC

    res = top_orders(np.zeros((5, 5)), [3, 0, 4, 1], k=24)
    assert [o for o, _ in res] == [list(p) for p in itertools.permutations([3, 0, 4, 1])]
    assert [p for _, p in res] == pytest.approx([1 / 24] * 24, rel=1e-12)
    model = CTMC(np.zeros((4, 4)), ["A", "B", "C", "D"])
    assert [o for o, _ in model.top_orders(["D", "A", "C", "B"], k=3)] == [
        ["D", "A", "C", "B"], ["D", "A", "B", "C"], ["D", "C", "A", "B"]]


def test_exact_order_probability_with_underflowing_state_probabilities():
    # three very rare, independent and identical events: P(0 before 1) = 1/2 by symmetry, though
    # every state with two events has probability below e^-800 (0.0 in float64)
    theta = -400.0 * np.eye(3)
    assert order_probability(theta, 0, 1, method="exact") == pytest.approx(0.5, abs=1e-12)
    theta[1, 0] = 3.0  # event 0 promotes event 1 e^3-fold; every exit rate is still ~0
    expected = np.exp(3.0) / (1.0 + np.exp(3.0))
    assert order_probability(theta, 0, 1, method="exact") == pytest.approx(expected, rel=1e-12)


def test_exact_order_probability_builds_the_lattice_tables_once(monkeypatch):
    # its two solves on the same lattice of n > 16 events built the index tables twice
    # (0.33 s of 1.9 s at n = 20)
    import biomodels.ctmc._solve as solve

    theta = np.full((17, 17), -0.5)
    np.fill_diagonal(theta, -1.0)
    theta[1, 0] = 2.0  # event 0 promotes event 1
    expected = order_probability(theta, 0, 1, method="exact")
    builds = []
    real = solve._level_indices
    monkeypatch.setattr(solve, "_level_indices", lambda k, device: builds.append(k)
                        or real(k, device))
    assert order_probability(theta, 0, 1, method="exact") == expected > 0.5
    assert builds == [17]



def test_auto_order_probability_is_exact_up_to_18_events():
    # "auto" simulated 100,000 trajectories unseeded from 17 events on (another answer per
    # call, e.g. 0.7908 / 0.7932 / 0.7905 against the exact 0.7895 at 17 events), where the
    # exact solve costs less (0.2 s against 0.6 s at 17 events)
    theta = random_sparse_theta(17, seed=4)
    exact = order_probability(theta, 0, 1, method="exact")
    assert order_probability(theta, 0, 1) == exact
    assert order_probability(theta[:3, :3], 0, 1) == order_probability(
        theta[:3, :3], 0, 1, method="exact")  # as before up to 16 events


def test_posterior_order_probabilities_are_reproducible_beyond_the_exact_solve():
    # order_probability_samples simulated every draw unseeded beyond 16 events: two calls on
    # the same draws gave [0.481 0.489 ...] and [0.476 0.484 ...] (exact 0.4801), so its sd
    # mixed the simulation's noise into the posterior's spread from call to call
    from biomodels.ctmc import CTMC

    theta = random_sparse_theta(19, seed=4)
    model = CTMC(theta)
    model.posterior_samples = np.stack([theta, theta, theta])
    first = model.order_probability_samples(0, 1, n_samples=2000)
    np.testing.assert_array_equal(model.order_probability_samples(0, 1, n_samples=2000), first)
    assert len(np.unique(first)) == 3  # each draw its own trajectories (seeds derived)
    other = model.order_probability_samples(0, 1, n_samples=2000, seed=1)
    assert not np.array_equal(other, first)
    # the simulation is seeded as order_probability's: the first draw's seed is derived
    seed0 = int(np.random.SeedSequence(0).generate_state(3)[0])
    assert first[0] == order_probability(theta, 0, 1, method="sample", n_samples=2000,
                                         seed=seed0)
    with pytest.raises(ValueError, match="method must be 'auto', 'exact' or 'sample'"):
        model.order_probability_samples(0, 1, method="mcmc")
    with pytest.raises(ValueError, match="seed"):
        model.order_probability_samples(0, 1, seed=-1)


def test_posterior_order_probabilities_solve_exactly_when_asked(monkeypatch):
    # and build the lattice's index tables once for all draws
    import biomodels.ctmc._solve as solve
    from biomodels.ctmc import CTMC

    theta = random_sparse_theta(17, seed=4)
    other = theta.copy()
    other[1, 0] += 1.0
    model = CTMC(theta)
    model.posterior_samples = np.stack([theta, other])
    expected = [order_probability(th, 0, 1, method="exact") for th in (theta, other)]
    builds = []
    real = solve._level_indices
    monkeypatch.setattr(solve, "_level_indices", lambda k, device: builds.append(k)
                        or real(k, device))
    np.testing.assert_array_equal(model.order_probability_samples(0, 1), expected)
    assert builds == [17]
    np.testing.assert_array_equal(model.order_probability_samples(0, 1, method="exact"),
                                  expected)


def test_order_probability_beyond_the_exact_solve_is_the_same_on_every_call():
    # "auto" simulates beyond 18 events, and order_probability's seed defaulted to None (as
    # CTMC.fit's is 0): the README's model.order_probability("TP53(M)",
    # "IDH1(M)") on the 20-event glioblastoma cohort gave 0.419, 0.433, 0.410 (exact 0.4188)
    from biomodels.ctmc import CTMC

    theta = random_sparse_theta(19, seed=4)
    model = CTMC(theta)
    first = model.order_probability(0, 1)
    assert model.order_probability(0, 1) == first
    assert first == order_probability(theta, 0, 1, method="sample", seed=0)
    p, se = order_probability(theta, 0, 1, return_se=True)
    assert p == first and 0.0 < se < 0.01


def test_order_probability_gives_its_monte_carlo_standard_error():
    from biomodels.ctmc import sample_trajectories

    theta = random_sparse_theta(5, sparsity=0.3, seed=2)
    exact = order_probability(theta, 0, 3)
    assert order_probability(theta, 0, 3, return_se=True) == (exact, 0.0)  # solved exactly
    p, se = order_probability(theta, 0, 3, method="sample", n_samples=20_000, seed=0,
                              return_se=True)
    assert p == order_probability(theta, 0, 3, method="sample", n_samples=20_000, seed=0)
    # the binomial error of the fraction over the m trajectories that carry both events
    order = sample_trajectories(theta, 20_000, seed=0).order
    m = int(((order == 0).any(1) & (order == 3).any(1)).sum())
    assert se == pytest.approx(np.sqrt(p * (1 - p) / m), rel=1e-12)
    assert abs(p - exact) < 4 * se
    # and it is the spread of the estimate: over 40 seeds of 2,000 trajectories each
    runs = [order_probability(theta, 0, 3, method="sample", n_samples=2000, seed=s,
                              return_se=True) for s in range(40)]
    spread = np.std([r[0] for r in runs], ddof=1)
    assert 0.7 < spread / np.mean([r[1] for r in runs]) < 1.4
    with pytest.raises(TypeError, match="return_se must be True or False"):
        order_probability(theta, 0, 3, return_se="yes")


def _race(log_rates: np.ndarray) -> np.ndarray:
    """Probabilities of the winners of a race of exponential clocks with these log-rates."""
    r = np.exp(log_rates)
    return r / r.sum()


def test_order_log_probability_closed_form_and_order_sum_identity():
    # mhn's order_likelihood (the probability of one ordering) had no counterpart
    import pandas as pd

    from biomodels.ctmc import CTMC

    theta = np.array([[-0.5, -0.7], [1.5, -1.0]])
    m = CTMC(pd.DataFrame(theta, index=["A", "B"], columns=["A", "B"]))
    t0, t1 = np.exp(theta[0, 0]), np.exp(theta[1, 1])
    t01 = np.exp(theta[1, 0])  # A present acting on B
    p01 = t0 / (1 + t0 + t1) * t1 * t01 / (1 + t1 * t01)
    assert np.exp(m.order_log_probability(["A", "B"])) == pytest.approx(p01, rel=1e-12)
    assert np.exp(m.order_log_probability([])) == pytest.approx(1 / (1 + t0 + t1), rel=1e-12)
    # summed over the orderings of a tumour's events: the tumour's likelihood
    m4 = CTMC(random_sparse_theta(4, sparsity=0.3, seed=5))
    x = np.array([[1, 0, 1, 1]])
    lps = [m4.order_log_probability(list(p)) for p in itertools.permutations([0, 2, 3])]
    assert float(np.logaddexp.reduce(lps)) == pytest.approx(
        float(m4.log_likelihood(x)[0]), abs=1e-12)
    with pytest.raises(TypeError, match="order: expected a list"):
        m.order_log_probability("AB")
    with pytest.raises(ValueError, match="order='C' is not an event"):
        m.order_log_probability(["C"])


def test_next_event_probabilities_race_the_absent_events():
    # mhn's compute_next_event_probs had no counterpart
    import pandas as pd

    from biomodels.ctmc import CTMC

    theta = random_sparse_theta(4, sparsity=0.0, seed=1)
    m = CTMC(pd.DataFrame(theta, index=list("ABCD"), columns=list("ABCD")))
    present = np.array([0, 1, 0, 1], dtype=bool)
    log_rates = np.diag(theta) + theta[:, present].sum(axis=1)
    without = m.next_event_probabilities(["B", "D"])
    assert list(without.index) == list("ABCD") and without.dtype == np.float64
    np.testing.assert_allclose(without[["A", "C"]], _race(log_rates[[0, 2]]), rtol=1e-12)
    assert without["B"] == without["D"] == 0.0
    # the observation clock (rate 1) races too
    with_obs = m.next_event_probabilities(["B", "D"], allow_observation=True)
    assert list(with_obs.index) == [*"ABCD", "Observation"]
    np.testing.assert_allclose(with_obs[["A", "C", "Observation"]],
                               _race(np.append(log_rates[[0, 2]], 0.0)), rtol=1e-12)
    # mhn's 0/1 state vector, indices, and a Series matched by name give the same
    pd.testing.assert_series_equal(m.next_event_probabilities(np.array([0, 1, 0, 1])), without)
    pd.testing.assert_series_equal(m.next_event_probabilities([1, 3]), without)
    by_name = pd.Series([1, 1, 0, 0], index=["D", "B", "A", "C"])
    pd.testing.assert_series_equal(m.next_event_probabilities(by_name), without)
    # one step: next = A, then observed at once, is the ordering [A]
    first = m.next_event_probabilities([], allow_observation=True)["A"]
    then = m.next_event_probabilities(["A"], allow_observation=True)["Observation"]
    assert np.log(first * then) == pytest.approx(m.order_log_probability(["A"]), abs=1e-12)
    with pytest.raises(ValueError, match="0/1 vector of the model's 4 events"):
        m.next_event_probabilities(np.array([0, 2, 0, 1]))
    with pytest.raises(ValueError, match="every event is present"):
        m.next_event_probabilities(list("ABCD"))
    # a list of 0/1 was read as indices (events B and A): refused, pointing to an array
    with pytest.raises(ValueError, match=r"names an event twice.*np\.array\(state\)"):
        m.next_event_probabilities([0, 1, 0, 1])
    with pytest.raises(TypeError, match="allow_observation must be True or False"):
        m.next_event_probabilities([], allow_observation=1)


def test_omhn_next_event_and_order_probabilities_use_the_observation_rate():
    # the oMHN's own parameters: observation at rate exp(sum_{j in S} omega_j), not 1
    from biomodels.ctmc import CTMC

    rng = np.random.default_rng(3)
    log_theta = rng.normal(0, 1, (4, 3))
    m = CTMC(log_theta)
    theta, omega = log_theta[:3], log_theta[3]
    s = np.array([True, False, True])
    log_rates = np.append(np.diag(theta)[~s] + theta[~s][:, s].sum(axis=1), omega[s].sum())
    got = m.next_event_probabilities([0, 2], allow_observation=True)
    np.testing.assert_allclose(got[[m.event_names[1], "Observation"]], _race(log_rates),
                               rtol=1e-12)
    # the ordering [2, 0]: each step races the absent events and the observation clock
    lp, state = 0.0, np.zeros(3, dtype=bool)
    for e in [2, 0]:
        rates = np.where(state, -np.inf, np.diag(theta) + theta[:, state].sum(axis=1))
        lp += np.log(_race(np.append(rates, omega[state].sum()))[e])
        state[e] = True
    rates = np.where(state, -np.inf, np.diag(theta) + theta[:, state].sum(axis=1))
    lp += np.log(_race(np.append(rates, omega[state].sum()))[-1])
    assert m.order_log_probability([2, 0]) == pytest.approx(lp, abs=1e-12)


def test_the_seed_defaults_are_documented_as_they_are():
    # the README and order_probability's docstring said its seed 0 was "like the package's
    # other random defaults", but the samplers and generators default to seed=None (fresh
    # entropy on every call): model.sample(300).X fitted gave another theta on every run
    import inspect
    import re
    from pathlib import Path

    from biomodels.ctmc import (
        CTMC,
        block_theta,
        kfold_indices,
        sample_omhn_trajectories,
        sample_trajectories,
    )
    from multiagent import make_graph, random_graph

    def default(f):
        return inspect.signature(f).parameters["seed"].default

    fresh = {"CTMC.sample": CTMC.sample, "sample_trajectories": sample_trajectories,
             "sample_omhn_trajectories": sample_omhn_trajectories,
             "random_sparse_theta": random_sparse_theta, "block_theta": block_theta,
             "make_graph": make_graph, "random_graph": random_graph}
    zero = {"order_probability": order_probability, "CTMC.fit": CTMC.fit,
            "kfold_indices": kfold_indices}
    assert all(default(f) is None for f in fresh.values())
    assert all(default(f) == 0 for f in zero.values())
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    said = re.search(r"Beyond 18 events `order_probability` simulates.*?\n\n", readme,
                     flags=re.S).group(0)
    doc = " ".join(order_probability.__doc__.split())
    for text in (said, doc):
        assert "other random defaults" not in text
        assert "seed=None" in text and "fresh entropy" in text
        for name in [*fresh, *zero]:
            assert re.search(rf"\b{re.escape(name)}\b", text), (name, text)


@pytest.mark.parametrize("theta, events, first", [
    # all 6 orders equally likely: most_likely_order gave [2, 1, 0], top_orders [0, 1, 2]
    (np.diag([-300.0] * 3), [0, 1, 2], [0, 1, 2]),
    (np.zeros((5, 5)), [3, 0, 4, 1], [3, 0, 4, 1]),
    # event 0 needs 1 and 2, which tie: [1, 2, 0] and [2, 1, 0] (it gave the second)
    (np.array([[-6.0, 4.0, 4.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.5]]), [0, 1, 2], [1, 2, 0]),
    (np.array([[-6.0, 4.0, 4.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.5]]), [2, 0, 1], [2, 1, 0]),
    # event 0 first (fast), then 1 and 2 tie: [0, 1, 2] and [0, 2, 1] (it gave the second)
    (np.diag([3.0, -1.0, -1.0]), [0, 1, 2], [0, 1, 2]),
])
def test_most_likely_order_breaks_ties_as_top_orders(theta, events, first):
    # the Viterbi backtracking took the first maximum for the *last* event, so ties came
    # out in the reverse of itertools.permutations' order, which top_orders documents
    order, lp = most_likely_order(theta, events)
    (best, prob), *_ = top_orders(theta, events, k=1)
    assert order == best == first
    perms = torch.tensor(list(itertools.permutations(events)))
    lps = sequence_log_prob(torch.as_tensor(theta), perms)
    assert lp == pytest.approx(float(lps.max()), abs=1e-10)


def test_next_event_probabilities_of_rates_beyond_exp_s_range():
    # mutation audit: the log-rates are shifted by their largest before exp; unshifted, no
    # test noticed: exp(-800) underflows to 0 (0 / 0: NaN) and exp(710) overflows (inf / inf)
    from biomodels.ctmc import CTMC

    slow = CTMC(np.diag([-800.0] * 3)).next_event_probabilities([])
    np.testing.assert_array_equal(slow.to_numpy(), [1 / 3] * 3)
    fast = CTMC(np.diag([710.0, 1.0, 1.0])).next_event_probabilities([])
    # exactly [1, e^-709, e^-709] / (1 + 2 e^-709), and 1 + 2 e^-709 rounds to 1
    tiny = np.exp(-709.0)
    np.testing.assert_array_equal(fast.to_numpy(), [1.0, tiny, tiny])
    assert 0 < tiny < 1e-307


def test_next_event_probabilities_take_0_1_objects_and_refuse_complex_states():
    # a row of a DataFrame with a column of names (df.iloc[0].drop("id")) is an object
    # Series of 0/1 integers: it was refused, "state: expected the present events as a list,
    # or a 0/1 vector of the model's 3 events"; complex states stay refused (mutation audit:
    # no test failed when they were read as their real parts)
    import pandas as pd

    from biomodels.ctmc import CTMC

    m = CTMC(pd.DataFrame(random_sparse_theta(3, sparsity=0.0, seed=4), index=list("ABC"),
                          columns=list("ABC")))
    known = m.next_event_probabilities(["B"])
    frame = pd.DataFrame({"id": ["t1", "t2"], "A": [0, 1], "B": [1, 1], "C": [0, 0]})
    row = frame.iloc[0].drop("id")
    assert row.dtype == object
    pd.testing.assert_series_equal(m.next_event_probabilities(row), known)
    for mixed in ([0, True, 0.0], [False, np.int64(1), np.float32(0)]):
        pd.testing.assert_series_equal(
            m.next_event_probabilities(np.array(mixed, dtype=object)), known)
    message = r"state: expected the present events as a list, or a 0/1 vector of the model's 3"
    for bad in (np.array([0, "1", 0], dtype=object), np.array([0, 2, 0], dtype=object),
                np.array([0, None, 0], dtype=object), np.array([0, 1 + 0j, 0], dtype=object),
                np.array([0, 1, 0], dtype=complex), torch.tensor([0, 1, 0], dtype=torch.cfloat)):
        with pytest.raises(ValueError, match=message):
            m.next_event_probabilities(bad)


def test_order_methods_read_a_0_1_array_as_the_tumour_state():
    # most_likely_order and top_orders read np.array([0, 1]) as the events {E0, E1}, not as
    # next_event_probabilities' genotype {E1}: a cohort row gave another tumour's order, and
    # a row with two events (np.array([1, 0, 1])) failed, "events must be distinct"
    import pandas as pd

    from biomodels.ctmc import CTMC

    m = CTMC(np.array([[-1.0, 0.5], [0.2, -2.0]]))
    order, log_p = m.most_likely_order([1])  # E1 first, then the observation
    assert order == ["E1"]
    assert log_p == pytest.approx(-2 - np.log(1 + np.exp(-1) + np.exp(-2))
                                  - np.log(1 + np.exp(-0.5)), abs=1e-12)
    for state in (np.array([0, 1]), np.array([False, True]), torch.tensor([0.0, 1.0]),
                  pd.Series([1, 0], index=["E1", "E0"])):  # a Series by name
        assert m.most_likely_order(state) == m.most_likely_order([1])
        assert m.top_orders(state) == [(["E1"], 1.0)]
    assert m.next_event_probabilities(np.array([0, 1]))["E0"] == 1.0  # the same genotype
    # a list names events: [0, 1] keeps meaning E0 and E1
    order, log_p = m.most_likely_order([0, 1])
    assert order == ["E0", "E1"] and log_p == pytest.approx(-3.3605835749704545, abs=1e-12)
    # three independent events of rate 1: E0 then E2 has probability 1/4 * 1/3 * 1/2
    order, log_p = CTMC(np.zeros((3, 3))).most_likely_order(np.array([1, 0, 1]))
    assert order == ["E0", "E2"] and log_p == pytest.approx(np.log(1 / 24), abs=1e-12)


def test_order_methods_take_a_cohort_row_as_next_event_probabilities_does():
    # a fitted model's most_likely_order(X[0]) failed, "events must be distinct"
    import pandas as pd

    from biomodels.ctmc import CTMC

    m = CTMC(pd.DataFrame(random_sparse_theta(3, sparsity=0.0, seed=4), index=list("ABC"),
                          columns=list("ABC")))
    order, log_p = m.most_likely_order(["A", "C"])
    assert order == ["C", "A"] and log_p == pytest.approx(-2.899697919317143, abs=1e-12)
    frame = pd.DataFrame({"id": ["t1"], "C": [1], "A": [1], "B": [0]})
    for row in (frame[["A", "B", "C"]].to_numpy()[0], frame.iloc[0].drop("id"),
                torch.tensor([1, 0, 1])):
        assert m.most_likely_order(row) == m.most_likely_order(["A", "C"])
        res = m.top_orders(row, k=2)
        assert res == m.top_orders([0, 2], k=2)
        assert [o for o, _ in res] == [["C", "A"], ["A", "C"]]
        assert [p for _, p in res] == pytest.approx([0.8946494010632454, 0.1053505989367545],
                                                    abs=1e-12)
    # a list keeps its order, which breaks ties as before; a state lists the model's order
    flat = CTMC(np.zeros((3, 3)), ["A", "B", "C"])
    assert flat.top_orders(["C", "A"]) == [(["C", "A"], 0.5), (["A", "C"], 0.5)]
    assert flat.top_orders((2, 0)) == flat.top_orders(["C", "A"])
    assert flat.top_orders(np.array([1, 0, 1])) == [(["A", "C"], 0.5), (["C", "A"], 0.5)]


def test_order_methods_take_a_series_of_names_from_a_long_table():
    # a MAF-style long table's maf.loc[maf.sample == "s1", "Hugo_Symbol"] (names 'A', 'C' at
    # index 0, 2) gave (['C', 'A'], -3.8812) at a56435c, then failed, "events's index ['0',
    # '2'] do not match the model's events": every Series was read as a 0/1 state by index
    import pandas as pd

    from biomodels.ctmc import CTMC

    m = CTMC(pd.DataFrame(random_sparse_theta(4, sparsity=0.0, seed=1), index=list("ABCD"),
                          columns=list("ABCD")))
    maf = pd.DataFrame({"Tumor_Sample_Barcode": ["s1", "s2", "s1"],
                        "Hugo_Symbol": ["A", "B", "C"]})
    names = maf.loc[maf.Tumor_Sample_Barcode == "s1", "Hugo_Symbol"]
    for events in (names, names.astype("string"), names.astype("category"),
                   pd.Series(["A", "C"], index=["D", "B"])):  # values, not the index
        order, log_p = m.most_likely_order(events)  # a56435c's answers
        assert order == ["C", "A"] and log_p == pytest.approx(-3.881232816489943, abs=1e-12)
        res = m.top_orders(events)
        assert [o for o, _ in res] == [["C", "A"], ["A", "C"]]
        assert [p for _, p in res] == pytest.approx([0.5813759611724525, 0.41862403882754756],
                                                    abs=1e-12)
        # as the list of the same names; next_event_probabilities reads it as names too
        assert m.most_likely_order(events) == m.most_likely_order(["A", "C"])
        pd.testing.assert_series_equal(m.next_event_probabilities(events),
                                       m.next_event_probabilities(["A", "C"]))
    # a Series of numbers stays a 0/1 state matched by name ...
    assert m.most_likely_order(pd.Series([1, 0, 0, 1], index=list("CBDA"))) == (
        m.most_likely_order(["A", "C"]))
    # ... and one with a default index is refused, as next_event_probabilities did at a56435c
    for method, arg in (("most_likely_order", "events"), ("next_event_probabilities", "state")):
        with pytest.raises(ValueError, match=rf"^{arg}'s index \['0', '1', '2', '3'\] do not "
                                             rf"match the model's events.*to_numpy\(\)"):
            getattr(m, method)(pd.Series([1, 0, 1, 0]))
    # a gene mutated twice is one event: the hint says how to keep each name once
    with pytest.raises(ValueError, match=r"^events=\['A', 'A'\] names an event twice.*"
                                         r"dict\.fromkeys"):
        m.most_likely_order(pd.Series(["A", "A"]))


def test_order_methods_read_an_empty_names_container_as_no_events():
    # an event-free tumour's df.columns[row == 1] (an empty object Index) or np.array([],
    # dtype=str) gave ([], -1.2388) and [([], 1.0)] at a56435c, then failed, "events: expected
    # the present events as a list, or a 0/1 vector of the model's 4 events, got Index([],
    # dtype='object')"; next_event_probabilities refused them too
    import pandas as pd

    from biomodels.ctmc import CTMC

    m = CTMC(pd.DataFrame(random_sparse_theta(4, sparsity=0.0, seed=1), index=list("ABCD"),
                          columns=list("ABCD")))
    df = pd.DataFrame([[0, 0, 0, 0]], columns=list("ABCD"))
    row = df.iloc[0].to_numpy()
    nothing = m.next_event_probabilities([])
    np.testing.assert_allclose(nothing, [0.2188373062812825, 0.26258305908755264,
                                         0.21584280410918816, 0.3027368305219768], rtol=1e-12)
    for events in (df.columns[row == 1], np.array([], dtype=str), np.array([]),
                   np.array([], dtype=object), np.array([], dtype=np.int64), torch.tensor([]),
                   pd.Series([], dtype=object), pd.Series([], dtype=float),
                   pd.Series(["A"])[[False]]):
        order, log_p = m.most_likely_order(events)  # a56435c's answers
        assert order == [] and log_p == pytest.approx(-1.2387601603330136, abs=1e-12)
        assert m.most_likely_order(events) == m.most_likely_order([])
        assert m.top_orders(events) == [([], 1.0)]
        pd.testing.assert_series_equal(m.next_event_probabilities(events), nothing)
    # a cohort of no tumours is not a tumour without events
    with pytest.raises(ValueError, match=r"^events: expected the present events as a list"):
        m.most_likely_order(np.zeros((0, 4)))


def test_a_set_of_events_breaks_ties_in_the_model_order_whatever_the_hash_seed(
        under_hash_seeds):
    # a set's iteration order of names moves with PYTHONHASHSEED: top_orders({"A", "B", "C"})
    # of a model with all orders equally likely listed ['C', 'B', 'A'], ['B', 'C', 'A'] or
    # ['A', 'C', 'B'] first under hash seeds 1, 2 and 3
    code = ("import numpy as np; from biomodels.ctmc import CTMC; "
            "m = CTMC(np.zeros((3, 3)), event_names=['A', 'B', 'C']); "
            "print(m.top_orders({'A', 'B', 'C'}, k=2)[0][0], "
            "m.most_likely_order({'C', 'A'})[0])")
    assert under_hash_seeds(code) == {"['A', 'B', 'C'] ['A', 'C']\n"}


def _enumerated_top_orders(theta, events, k):
    """top_orders as it was up to 8 events: every ordering scored, a stable sort."""
    th = torch.as_tensor(theta)
    perms = torch.tensor(list(itertools.permutations(events)), dtype=torch.int64)
    prob = torch.softmax(sequence_log_prob(th, perms.reshape(len(perms), len(events))), dim=0)
    top = torch.argsort(prob, descending=True, stable=True)[:k]
    return [(perms[i].tolist(), float(prob[i])) for i in top]


def test_top_orders_beyond_eight_events_by_the_k_best_lattice():
    # top_orders enumerated all orderings and refused more than 8 events ("pass at most 8
    # events"), while most_likely_order reaches 20 and the GBM cohort has a tumour of 9
    from biomodels.ctmc import CTMC, data_log_likelihood

    # 9 events against all 9! = 362,880 orderings
    theta = random_sparse_theta(12, seed=7)
    events = [5, 0, 11, 3, 8, 1, 9, 2, 6]
    brute = _enumerated_top_orders(theta, events, 12)
    res = top_orders(theta, events, k=12)
    assert [o for o, _ in res] == [o for o, _ in brute]
    assert [p for _, p in res] == pytest.approx([p for _, p in brute], rel=1e-12)
    from biomodels.ctmc.orders import _top_orders_lattice

    for m in range(1, 9):  # the programme agrees with the enumeration, which stays up to 8
        for seed in range(2):
            theta = random_sparse_theta(m + 2, seed=seed)
            events = np.random.default_rng(seed).permutation(m + 2)[:m].tolist()
            old = _enumerated_top_orders(theta, events, 10)
            assert top_orders(theta, events, k=10) == old  # bit for bit
            new = _top_orders_lattice(torch.as_tensor(theta), events, 10)
            assert [o for o, _ in new] == [o for o, _ in old]
            assert [p for _, p in new] == pytest.approx([p for _, p in old], rel=1e-12)
    # 14 events: the first order is most_likely_order's, normalised by the likelihood
    theta = random_sparse_theta(16, seed=3)
    events = [0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15]
    (best, p), *rest = top_orders(theta, events, k=4)
    order, lp = most_likely_order(theta, events)
    x = np.zeros((1, 16), dtype=np.uint8)
    x[0, events] = 1
    assert best == order and len(rest) == 3 and p >= rest[0][1] >= rest[2][1]
    assert p == pytest.approx(np.exp(lp - data_log_likelihood(torch.as_tensor(theta), x)[0]),
                              rel=1e-10)
    # ties in itertools.permutations' order, as up to 8 events
    events = [3, 0, 4, 1, 9, 8, 7, 6, 5]
    res = top_orders(np.zeros((10, 10)), events, k=30)
    assert [o for o, _ in res] == [list(q) for q in itertools.permutations(events)][:30]
    assert [p for _, p in res] == pytest.approx([1 / 362880] * 30, rel=1e-12)
    model = CTMC(np.zeros((10, 10)), list("ABCDEFGHIJ"))
    assert model.top_orders(list("JIHGFEDCBA"), k=2) == [
        (list("JIHGFEDCBA"), pytest.approx(1 / 3628800, rel=1e-12)),
        (list("JIHGFEDCAB"), pytest.approx(1 / 3628800, rel=1e-12))]
    with pytest.raises(ValueError, match=r"^top_orders searches the 2\^m subsets of the m "
                                         r"events, at most 20; got 21 events$"):
        top_orders(np.zeros((21, 21)), list(range(21)))
    with pytest.raises(ValueError, match=r"^k=1000: the 1000 best orders of each of the "
                                         r"184756 subsets of 10 of the 20 events take "
                                         r"184,756,000 entries, more than the 16,777,216 "
                                         r"top_orders keeps; pass a smaller k$"):
        top_orders(np.zeros((20, 20)), list(range(20)), k=1000)
