"""MoE view (confidence, router, error identity) and the scripted-agent debate loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from multiagent import FriedkinJohnsen
from multiagent.agents import (
    Agent,
    Reply,
    ScriptedFJAgent,
    format_belief,
    parse_belief,
    run_debate,
)
from multiagent.analysis import polarization, social_power
from multiagent.fit import fit_fj
from multiagent.moe import (
    confidence,
    confidence_router,
    equilibrium_router,
    error_decomposition,
    relative_confidence,
)
from multiagent.topologies import adjacency, make_graph


def test_confidence_values():
    K = 4
    b = np.array([[1, 0, 0, 0], [0.25] * 4, [0.5, 0.5, 0, 0]])
    np.testing.assert_allclose(confidence(b), [1.0, 0.0, 1 - np.log(2) / np.log(K)], atol=1e-15)
    rc = relative_confidence(b)
    np.testing.assert_allclose(rc, confidence(b) / confidence(b)[2])
    pi = confidence_router(b, beta=3.0)
    np.testing.assert_allclose(pi, np.exp(3 * confidence(b)) / np.exp(3 * confidence(b)).sum())


def test_moe_and_plots_take_a_torch_model_s_outputs(rng):
    """A torch model's results (autograd graph, any device) go through as_numpy, not asarray."""
    import matplotlib.pyplot as plt

    from multiagent.plot import plot_influence, plot_trajectories

    A = adjacency(make_graph("wheel", 5))
    S = rng.dirichlet(np.ones(3), size=5)
    gamma = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)  # e.g. a fit's
    fj = FriedkinJohnsen.from_adjacency(torch.tensor(A), gamma, 0.2)
    ref = FriedkinJohnsen.from_adjacency(A, 0.3, 0.2)
    B = fj.equilibrium(torch.tensor(S))
    assert B.requires_grad and B.dtype == torch.float64
    np.testing.assert_allclose(confidence(B), confidence(ref.equilibrium(S)), atol=1e-12)
    labels = np.array([0])
    out = error_decomposition(torch.tensor(S)[None], labels, social_power(fj))
    want = error_decomposition(S[None], labels, equilibrium_router(ref))
    assert out["system_risk"] == pytest.approx(want["system_risk"], abs=1e-12)
    ax = plot_trajectories(fj.rollout(torch.tensor(S), 3))
    np.testing.assert_allclose(ax.lines[0].get_ydata(), ref.rollout(S, 3)[:, 0, 0], atol=1e-12)
    plot_influence(fj.influence_matrix())
    plt.close("all")


def test_bfloat16_beliefs_are_read_like_float32_ones():
    # as an LLM's probabilities may come: .numpy() has no bfloat16 ("Got unsupported
    # ScalarType BFloat16") and every tensor input went through it
    b = torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.75, 0.25]], dtype=torch.bfloat16)
    np.testing.assert_array_equal(confidence(b), confidence(b.float()))
    np.testing.assert_array_equal(confidence_router(b, beta=2.0),
                                  confidence_router(b.float(), beta=2.0))
    assert polarization(b[:, 0]) == polarization(b[:, 0].float())


def test_equilibrium_router_matches_influence_matrix(rng):
    A = adjacency(make_graph("wheel", 7))
    fj = FriedkinJohnsen.from_adjacency(A, rng.uniform(0.1, 0.5, 7), 0.3)
    M = fj.influence_matrix()
    np.testing.assert_allclose(equilibrium_router(fj), M.mean(0), atol=1e-12)
    np.testing.assert_allclose(equilibrium_router(fj, listener=3), M[3], atol=1e-12)
    S = rng.dirichlet(np.ones(5), size=7)
    # the mean equilibrium belief is the social-power mixture of innate beliefs
    np.testing.assert_allclose(fj.equilibrium(S).mean(0), equilibrium_router(fj) @ S, atol=1e-12)


def test_error_decomposition_identity(rng):
    Q, n, K = 200, 5, 4
    labels = rng.integers(0, K, Q)
    skill = np.linspace(0.3, 0.8, n)
    S = np.empty((Q, n, K))
    for q in range(Q):
        for j in range(n):
            pick = labels[q] if rng.random() < skill[j] else rng.integers(0, K)
            S[q, j] = rng.dirichlet(np.ones(K) + 6 * np.eye(K)[pick])
    fj_routers = []
    for q in range(Q):  # input-dependent FJ: the confident agents are stubborn
        g = 0.1 + 0.8 * confidence(S[q])
        fj = FriedkinJohnsen.from_adjacency(adjacency(make_graph("complete", n)), g, 0.3)
        fj_routers.append(equilibrium_router(fj))
    for router in (np.full(n, 1 / n), confidence_router(S, beta=4.0), np.array(fj_routers)):
        out = error_decomposition(S, labels, router)
        assert abs(out["residual"]) < 1e-12
        # brute-force system risk
        mix = np.einsum("qn,qnk->qk", np.broadcast_to(router, (Q, n)), S)
        R = ((mix - np.eye(K)[labels]) ** 2).sum(1).mean()
        assert out["system_risk"] == pytest.approx(R, rel=1e-12)
        assert out["routing_regret"] >= 0 and out["local_diversity"] >= 0
        assert out["expertise_gain"] >= 0
        assert out["best_agent"] == int(np.argmin(out["agent_risks"]))
    with pytest.raises(ValueError, match="router rows"):
        error_decomposition(S, labels, np.full(n, 0.5))


def test_scripted_agents_reproduce_fj_rollout(rng):
    n, K = 6, 5
    A = adjacency(make_graph("wheel", n))
    T = rng.random((n, n)) * A
    W = T / T.sum(1, keepdims=True)
    g, a = 0.25, 0.4
    S = rng.dirichlet(np.ones(K), size=n)
    agents = [ScriptedFJAgent(i, S[i], g, a, W[i]) for i in range(n)]
    assert isinstance(agents[0], Agent)
    transcript, texts = run_debate(agents, A, rounds=10)
    ref = FriedkinJohnsen(W, g, a).rollout(S, 10)
    np.testing.assert_allclose(transcript, ref, atol=1e-14)
    assert "<BELIEF>" in texts[3][2]
    # agents reading the text (12 decimals) see the same debate
    readers = [ScriptedFJAgent(i, S[i], g, a, W[i], read_text=True) for i in range(n)]
    tr2, _ = run_debate(readers, A, rounds=10)
    np.testing.assert_allclose(tr2, ref, atol=1e-10)
    fit = fit_fj(transcript, adjacency=A, tol=1e-9)
    assert abs(fit.gamma[0] - g) < 0.01 and abs(fit.alpha[0] - a) < 0.01


def test_a_scripted_agent_does_not_count_its_own_message_as_a_peer(rng):
    # an adjacency with self-loops shows each agent its own message, and uniform trust
    # covers it too: the agent's self-weight is alpha alone (W_ii = 0), so the debate is
    # the FJ rollout with W = (J - I) / (n - 1)
    n, K, g, a = 4, 5, 0.3, 0.2
    S = rng.dirichlet(np.ones(K), size=n)
    agents = [ScriptedFJAgent(i, S[i], g, a, np.ones(n)) for i in range(n)]
    transcript, _ = run_debate(agents, np.ones((n, n)), rounds=5)
    W = (np.ones((n, n)) - np.eye(n)) / (n - 1)
    np.testing.assert_allclose(transcript, FriedkinJohnsen(W, g, a).rollout(S, 5), atol=1e-14)


def test_agents_and_debates_keep_their_own_beliefs(rng):
    # an agent held the caller's innate belief (here a row of S): refilling S for the next
    # question changed the anchors of the agents built before. run_debate passed on the
    # array an agent returned: an agent that updates one array in place showed the peers
    # after it its next round's belief instead of this round's
    n, K, g, a, opts = 4, 3, 0.25, 0.4, ("A", "B", "C")
    A = np.ones((n, n)) - np.eye(n)
    W = A / A.sum(1, keepdims=True)
    S = rng.dirichlet(np.ones(K), size=n)
    ref = FriedkinJohnsen(W, g, a).rollout(S, 5)
    agents = [ScriptedFJAgent(i, S[i], g, a, W[i]) for i in range(n)]
    S_given = S.copy()
    S[:] = 1.0 / K  # the caller reuses its array
    np.testing.assert_allclose(run_debate(agents, A, options=opts, rounds=5)[0], ref, atol=1e-14)

    class OneArray(ScriptedFJAgent):
        def respond(self, question, options, messages, round):  # noqa: ANN001, ANN201
            new = super().respond(question, options, messages, round).belief
            self.said = getattr(self, "said", np.empty_like(new))
            self.said[:] = new
            return Reply(self.said, format_belief(new, options))

    agents = [OneArray(i, S_given[i], g, a, W[i]) for i in range(n)]
    np.testing.assert_allclose(run_debate(agents, A, options=opts, rounds=5)[0], ref, atol=1e-14)


def test_scripted_agent_repr_shows_forces_and_beliefs():
    # a notebook showed "<multiagent.agents.ScriptedFJAgent object at 0x...>"
    agents = [ScriptedFJAgent(0, [0.6, 0.4], 0.25, 0.4, [0, 1]),
              ScriptedFJAgent(1, [0.2, 0.8], 0.25, 0.4, [1, 0])]
    assert repr(agents[0]) == ("ScriptedFJAgent(index=0, gamma=0.25, alpha=0.4; "
                               "innate [0.6, 0.4], current [0.6, 0.4])")
    run_debate(agents, np.ones((2, 2)) - np.eye(2), options=("A", "B"), rounds=1)
    # 0.25 (0.6, 0.4) + 0.75 (0.4 (0.6, 0.4) + 0.6 (0.2, 0.8))
    assert repr(agents[0]) == ("ScriptedFJAgent(index=0, gamma=0.25, alpha=0.4; "
                               "innate [0.6, 0.4], current [0.42, 0.58])")
    assert repr(ScriptedFJAgent(2, np.eye(7)[0], 1, 0, {}, read_text=True)) == (
        "ScriptedFJAgent(index=2, gamma=1, alpha=0, read_text=True; innate [1, 0, 0, 0, 0, "
        "...], current [1, 0, 0, 0, 0, ...])")


def test_parse_belief_fallbacks():
    opts = ("A", "B", "C")
    np.testing.assert_allclose(parse_belief(format_belief([0.2, 0.5, 0.3], opts), opts),
                               [0.2, 0.5, 0.3])
    np.testing.assert_allclose(parse_belief("<BELIEF>{broken</BELIEF>\nANSWER: C", opts),
                               [0, 0, 1])
    # the uniform fallback is a parse failure, now said so (it entered fits silently)
    with pytest.warns(UserWarning, match="uniform"):
        np.testing.assert_allclose(parse_belief("no idea", opts), [1 / 3] * 3)


def test_run_debate_rejects_bad_agent():
    class Bad:
        def respond(self, question, options, messages, round):
            from multiagent.agents import Reply
            return Reply(np.array([0.9, 0.9, 0, 0, 0]), "")

    with pytest.raises(ValueError, match=r"\(agent 1\) sums to 1.8"):
        run_debate([ScriptedFJAgent(0, np.eye(5)[0], 0.2, 0.5, [0, 1]), Bad()],
                   np.ones((2, 2)) - np.eye(2), rounds=1)


def test_moe_inputs_are_checked():
    # a NaN router passed (NaN comparisons are false) and made every output NaN; confidence
    # of [nan, 1] was 1.0 and of [2, -1] was 3.0
    with pytest.raises(ValueError, match="beliefs: expected probability vectors"):
        confidence(np.array([np.nan, 1.0]))
    with pytest.raises(ValueError, match="beliefs: expected probability vectors"):
        confidence(np.array([2.0, -1.0]))
    beliefs = np.full((2, 3, 2), 0.5)
    with pytest.raises(ValueError, match="router rows must be finite"):
        error_decomposition(beliefs, np.array([0, 1]), np.array([np.nan, 0.5, 0.5]))


def test_parse_belief_refuses_infinite_values():
    opts = ("A", "B", "C")
    text = '<BELIEF>{"A": Infinity, "B": 1}</BELIEF>\nANSWER: B'
    np.testing.assert_allclose(parse_belief(text, opts), [0, 1, 0])  # was [nan, 0, 0]


def test_parse_belief_normalises_entries_whose_sum_overflows():
    # 1e308 + 1e308 overflowed to inf: the belief was [0, 0] (no probability vector), with a
    # RuntimeWarning; the largest entry is now divided out first
    opts = ("A", "B", "C")
    text = '<BELIEF>{"A": 1e308, "B": 1e308}</BELIEF>'
    np.testing.assert_array_equal(parse_belief(text, opts), [0.5, 0.5, 0.0])
    text = '<BELIEF>{"A": 1.5e308, "B": 5e307, "C": 1e308}</BELIEF>'
    np.testing.assert_allclose(parse_belief(text, opts), [0.5, 1 / 6, 1 / 3], rtol=1e-15)


def test_parse_belief_refuses_booleans_and_reads_numeric_strings():
    # JSON true was read as 1 (float(True)): {"A": true, "B": 0.5} gave [2/3, 1/3] although
    # true is no probability; a boolean now makes the block malformed and the answer line
    # (else the uniform belief) applies.  Quoted numbers stay readable, as documented.
    opts = ("A", "B")
    np.testing.assert_array_equal(
        parse_belief('<BELIEF>{"A": true, "B": 0.5}</BELIEF>\nANSWER: B', opts), [0, 1])
    with pytest.warns(UserWarning, match="boolean"):  # the uniform fallback is said now
        np.testing.assert_array_equal(
            parse_belief('<BELIEF>{"A": false, "B": 0.5}</BELIEF>', opts), [0.5, 0.5])
    np.testing.assert_allclose(parse_belief('<BELIEF>{"A": "0.3", "B": 0.1}</BELIEF>', opts),
                               [0.75, 0.25], rtol=1e-15)


@pytest.mark.parametrize("layout", ["scipy", "torch_sparse"])
def test_sparse_adjacency_accepted_by_fits_debates_and_trust(layout):
    # before: np.asarray of a scipy matrix is a 0-d object array: fit_fj, run_debate and
    # TrustAdaptiveDefense failed with "The truth value of an array with more than one
    # element is ambiguous" or "setting an array element with a sequence" on the CSR
    # adjacency that multiagent.adjacency(..., sparse=True) returns
    from multiagent.defense import TrustAdaptiveDefense
    from multiagent.fit import simulate_transcript

    A = adjacency(make_graph("wheel", 5), sparse=True)
    As = A if layout == "scipy" else torch.tensor(A.toarray()).to_sparse()
    Ad = A.toarray()
    X = simulate_transcript(5, 4, 3, gamma=0.3, alpha=0.4, W=Ad / Ad.sum(1, keepdims=True),
                            seed=0)
    np.testing.assert_array_equal(fit_fj(X, adjacency=As, max_steps=1).W,
                                  fit_fj(X, adjacency=Ad, max_steps=1).W)
    S = np.random.default_rng(0).dirichlet(np.ones(3), size=5)
    agents = [ScriptedFJAgent(i, S[i], 0.3, 0.4, np.ones(5)) for i in range(5)]
    Xs, _ = run_debate(agents, As, options=("A", "B", "C"), rounds=3)
    Xd, _ = run_debate(agents, Ad, options=("A", "B", "C"), rounds=3)
    np.testing.assert_array_equal(Xs, Xd)
    sparse, dense = TrustAdaptiveDefense(5), TrustAdaptiveDefense(5)
    correct = np.array([1, 0, 1, 1, 0], bool)
    sparse.update(correct, adjacency=As)
    dense.update(correct, adjacency=Ad)
    np.testing.assert_array_equal(sparse.trust, dense.trust)
    np.testing.assert_array_equal(sparse.weights(As), dense.weights(Ad))


def test_counts_are_refused_when_not_whole_numbers():
    # int() truncated them without a word (train_rounds=2.7 fitted on rounds 0..2), and a
    # negative debate length failed inside np.stack with "need at least one array"
    from multiagent.defense import TrustAdaptiveDefense
    from multiagent.fit import simulate_transcript

    A = np.ones((4, 4)) - np.eye(4)
    X = simulate_transcript(4, 5, 3, gamma=0.3, alpha=0.4, W=A / 3, seed=0)
    with pytest.raises(TypeError, match="train_rounds"):
        fit_fj(X, train_rounds=2.7, max_steps=1)
    fit = fit_fj(X, train_rounds=3, max_steps=1)
    assert fit.train_rounds == 3
    with pytest.raises(TypeError, match="start"):
        fit.predict(X, start=1.5)
    with pytest.raises(ValueError, match="start"):
        fit.predict(X, start=-1)
    with pytest.raises(TypeError, match="n"):
        TrustAdaptiveDefense(2.5)
    S = np.random.default_rng(0).dirichlet(np.ones(3), size=4)
    agents = [ScriptedFJAgent(i, S[i], 0.3, 0.4, np.ones(4)) for i in range(4)]
    with pytest.raises(ValueError, match="rounds"):
        run_debate(agents, A, options=("A", "B", "C"), rounds=-1)
    X0, _ = run_debate(agents, A, options=("A", "B", "C"), rounds=0)
    assert X0.shape == (1, 4, 3)


@pytest.mark.parametrize(("text", "expected"), [
    # a JSON block over several lines, as models write it, fell back to ANSWER
    ('<BELIEF>\n{"A": 0.2,\n "B": 0.8}\n</BELIEF>\nANSWER: A', [0.2, 0.8, 0]),
    ('<UPDATED_BELIEF>{"B": 0.25, "C": 0.75}</UPDATED_BELIEF>', [0, 0.25, 0.75]),
    ('<BELIEF>{"A": 2, "C": 6}</BELIEF>', [0.25, 0, 0.75]),  # normalised; missing B is 0
    # two blocks (stated, then updated): each read alone, not one span across both
    ('<BELIEF>{"A": 0.5, "B": 0.5}</BELIEF> then <UPDATED_BELIEF>{"A": 0.5, "B": 0.5}'
     '</UPDATED_BELIEF>', [0.5, 0.5, 0]),
    # malformed blocks fall back to the ANSWER line
    ('<BELIEF>{"A": 0, "B": 0}</BELIEF>\nANSWER: C', [0, 0, 1]),
    ('<BELIEF>{"A": -0.5, "B": 1.5}</BELIEF>\nANSWER: C', [0, 0, 1]),
    # MAS-Cascade's prompt format: tag-colon lines, no closing tags (read as uniform)
    ('<UPDATED_ANSWER>: C\n<UPDATED_BELIEF>: {"A": 0.1, "B": 0.2, "C": 0.7}\n'
     '<UPDATED_REASON>: most trusted peers say C\n<UPDATED_MEMORY>: C', [0.1, 0.2, 0.7]),
    ('<ANSWER>: B\n<BELIEF>: {"A": 0.4, "B": 0.6}\n<REASON>: ...', [0.4, 0.6, 0.0]),
    # stated, then updated: the updated belief is the reply's (the first block was read)
    ('<BELIEF>{"A": 1.0}</BELIEF> on reflection <UPDATED_BELIEF>{"B": 1.0}</UPDATED_BELIEF>',
     [0.0, 1.0, 0.0]),
    # a reasoning model's draft inside <think> is not its belief
    ('<think><BELIEF>{"A": 1.0}</BELIEF> hmm</think>\n<BELIEF>{"C": 1.0}</BELIEF>',
     [0.0, 0.0, 1.0]),
    # only an answer, in the tag form and decorated as models write it
    ("<UPDATED_ANSWER>: **C**\n<UPDATED_BELIEF>: not json", [0.0, 0.0, 1.0]),
    ("ANSWER: B.", [0.0, 1.0, 0.0]),
])
def test_parse_belief_reads_blocks_and_their_fallbacks(text, expected):
    np.testing.assert_allclose(parse_belief(text, ("A", "B", "C")), expected, atol=1e-15)


def test_format_belief_answers_the_most_likely_option():
    assert format_belief([0.2, 0.5, 0.3], ("A", "B", "C")).endswith("\nANSWER: B")


def test_debate_agent_hears_only_whom_it_listens_to():
    # A[0, 1] = 1: agent 0 listens to agent 1, who listens to nobody; with gamma = alpha = 0
    # agent 0 takes agent 1's belief in one round and agent 1 keeps its own
    agents = [ScriptedFJAgent(i, np.eye(2)[i], 0.0, 0.0, np.ones(2)) for i in range(2)]
    X, _ = run_debate(agents, np.array([[0, 1], [0, 0]]), options=("A", "B"), rounds=1)
    np.testing.assert_allclose(X[1], [[0, 1], [0, 1]])


def test_scripted_agent_reads_only_the_previous_round():
    from multiagent.agents import Message

    agent = ScriptedFJAgent(0, [1.0, 0.0], 0.0, 0.0, np.ones(3))
    old = Message(1, 0, np.array([1.0, 0.0]), "")  # round 0: stale at round 2
    new = Message(2, 1, np.array([0.0, 1.0]), "")
    np.testing.assert_allclose(agent.respond("", ("A", "B"), [old, new], 2).belief, [0, 1])


def test_equilibrium_router_of_a_listener_with_some_agents_not_stubborn(rng):
    # some gamma = 0 (not all): the row of M solves the system, not the DeGroot limit
    A = adjacency(make_graph("wheel", 7))
    fj = FriedkinJohnsen.from_adjacency(A, np.array([0.4, 0, 0, 0.2, 0, 0, 0]), 0.3)
    M = fj.influence_matrix()
    for i in (0, 2):
        np.testing.assert_allclose(equilibrium_router(fj, listener=i), M[i], atol=1e-12)


def test_confidence_router_is_per_row_at_large_beta():
    # one max over the whole batch underflowed the less confident row: 0 / 0 = NaN weights
    b = np.stack([np.array([[1.0, 0.0], [0.5, 0.5]]), np.full((2, 2), 0.5)])
    np.testing.assert_allclose(confidence_router(b, beta=1000.0), [[1, 0], [0.5, 0.5]])


@pytest.mark.parametrize(("trust", "message"), [
    ([0, -0.2, 1.0], r"^trust\[1\] = -0.2 < 0: the trust of agent 0 in agent 1 must be "
                     r"non-negative"),
    ([0, np.nan, 1.0], r"^trust\[1\] \(agent 1\) is not finite"),
    ({1: 0.5, 2: np.inf}, r"^trust\[2\] \(agent 2\) is not finite"),
    ({1: -1, 2: 1.0}, r"^trust\[1\] = -1 < 0"),
])
def test_scripted_agent_refuses_negative_or_non_finite_trust(trust, message):
    # before: negative trust was accepted (the model classes refuse it) and pulled the agent
    # away from its peers, off the simplex
    with pytest.raises(ValueError, match=message):
        ScriptedFJAgent(0, [0.5, 0.5], 0.2, 0.3, trust)
    for gamma, alpha in ((1.5, 0.3), (0.2, np.nan)):
        with pytest.raises(ValueError, match=r"gamma and alpha of agent 0 must be in \[0, 1\]"):
            ScriptedFJAgent(0, [0.5, 0.5], gamma, alpha, [0, 1.0, 1.0])
    with pytest.raises(TypeError, match=r"^gamma: expected a real number, got True"):
        ScriptedFJAgent(0, [0.5, 0.5], True, 0.3, [0, 1.0, 1.0])


_ABCD = ("A", "B", "C", "D")


@pytest.mark.parametrize(("text", "expected"), [
    # keys as models write them: lower case, padded, with the option's text; each fell
    # back to the uniform belief without a word
    ('<BELIEF>{"a": 0.7, "b": 0.3}</BELIEF>', [0.7, 0.3, 0, 0]),
    ('<BELIEF>{" A ": 0.7, "b ": 0.3}</BELIEF>', [0.7, 0.3, 0, 0]),
    ('<BELIEF>{"A (Paris)": 0.7, "B (Lyon)": 0.2, "C) Nice": 0.1}</BELIEF>', [0.7, 0.2, 0.1, 0]),
    # the word before the label (read as keys outside the options, uniform with a warning)
    ('<BELIEF>{"Option A": 0.7, "Option B": 0.3}</BELIEF>', [0.7, 0.3, 0, 0]),
    ('<BELIEF>{"choice: c": 0.6, "Choice D (Nice)": 0.4}</BELIEF>', [0, 0, 0.6, 0.4]),
    # Python's dict syntax and a trailing comma
    ("<BELIEF>{'A': 0.7, 'B': 0.3}</BELIEF>", [0.7, 0.3, 0, 0]),
    ('<BELIEF>{"A": 0.7, "B": 0.3,}</BELIEF>', [0.7, 0.3, 0, 0]),
    ('<BELIEF>{"A": 0.7,\n "B": 0.3,\n}</BELIEF>', [0.7, 0.3, 0, 0]),
    # percentages, as strings
    ('<BELIEF>{"A": "70%", "B": "30 %"}</BELIEF>', [0.7, 0.3, 0, 0]),
    ("<BELIEF>{'A': '70%', 'C': '30%'}</BELIEF>", [0.7, 0, 0.3, 0]),
    # a final answer in prose, bold or not, when no ANSWER: line is there
    ("I weighed A and C. Final answer: **B**", [0, 1, 0, 0]),
    ("**Final Answer:** C", [0, 0, 1, 0]),
])
def test_parse_belief_reads_plausible_llm_output(text, expected):
    # before: uniform [0.25] * 4 for every one of these, silently
    np.testing.assert_allclose(parse_belief(text, _ABCD), expected, atol=1e-15)


def test_parse_belief_warns_when_keys_outside_the_options_carry_mass():
    # {"E": 0.9, "A": 0.1} gave [1, 0, 0, 0]: the 0.1 belief in A became certainty once
    # the unknown E was dropped and the rest renormalised, without a word
    with pytest.warns(UserWarning, match=r"'E'.*90 %") as caught:
        b = parse_belief('<BELIEF>{"E": 0.9, "A": 0.1}</BELIEF>', _ABCD)
    np.testing.assert_array_equal(b, 0.25)  # most of the mass unknown: block not used
    assert "uniform" in str(caught[-1].message)
    # most of the mass unknown, an answer line: the answer, with the warning
    with pytest.warns(UserWarning, match="'E'"):
        b = parse_belief('<BELIEF>{"E": 0.9, "A": 0.1}</BELIEF>\nANSWER: B', _ABCD)
    np.testing.assert_array_equal(b, [0, 1, 0, 0])
    # a minor unknown share: dropped and the rest renormalised, said so
    with pytest.warns(UserWarning, match=r"dropped.*'none of these'.*10 %"):
        b = parse_belief('<BELIEF>{"A": 0.6, "B": 0.3, "none of these": 0.1}</BELIEF>', _ABCD)
    np.testing.assert_allclose(b, [2 / 3, 1 / 3, 0, 0], rtol=1e-15)


def test_parse_belief_warns_when_it_falls_back_to_uniform():
    for text, why in [("no belief here", "no <BELIEF>"),
                      ('<BELIEF>{"A": 0, "B": 0}</BELIEF>', "sum"),
                      ("ANSWER: F", "'F'")]:
        with pytest.warns(UserWarning, match="uniform") as caught:
            np.testing.assert_array_equal(parse_belief(text, _ABCD), 0.25)
        assert why in str(caught[-1].message), (text, str(caught[-1].message))


def test_parse_belief_keeps_well_formed_input_as_it_was():
    import warnings

    texts = [format_belief([0.1, 0.2, 0.3, 0.4], _ABCD),
             '<BELIEF>{"A": 0.7, "B": 0.3, "reason": "because"}</BELIEF>',
             '<BELIEF>{"A": 0.5, "B": 0.5, "E": 0}</BELIEF>',
             "<UPDATED_ANSWER>: **C**\n<UPDATED_BELIEF>: not json",
             "The first answer: A was wrong.\nANSWER: B"]
    expected = [[0.1, 0.2, 0.3, 0.4], [0.7, 0.3, 0, 0], [0.5, 0.5, 0, 0], [0, 0, 1, 0],
                [0, 1, 0, 0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for text, want in zip(texts, expected):
            np.testing.assert_allclose(parse_belief(text, _ABCD), want, atol=1e-15)
    # an exact key wins over one that matches only up to case: {"A": 0.5, "a": 0.5} read A
    with pytest.warns(UserWarning, match="'a'"):
        np.testing.assert_array_equal(
            parse_belief('<BELIEF>{"A": 0.8, "B": 0.2, "a": 0.1}</BELIEF>', _ABCD),
            parse_belief('<BELIEF>{"A": 0.8, "B": 0.2}</BELIEF>', _ABCD))


def test_parse_belief_reads_the_agents_own_last_answer_not_a_quoted_peers():
    # before: the prose fallback walked back to the last "answer: X" that was an option, a
    # quoted peer's: "Agent 2's answer: C ...\nANSWER: b" gave C, [0, 0, 1, 0] (uniform
    # before that), and "My first answer: A ... ANSWER: Not sure" gave A, [1, 0, 0]
    peer = "Agent 2's answer: C seems weak to me.\n"
    np.testing.assert_array_equal(parse_belief(peer + "ANSWER: b", _ABCD), [0, 1, 0, 0])
    np.testing.assert_array_equal(parse_belief(peer + "Final answer: b", _ABCD), [0, 1, 0, 0])
    unsure = ("A", "B", "Not sure")
    np.testing.assert_array_equal(
        parse_belief("My first answer: A\nOn reflection...\nANSWER: Not sure", unsure),
        [0, 0, 1])
    np.testing.assert_array_equal(
        parse_belief("My first answer: A. Final answer: **not sure**.", unsure), [0, 0, 1])
    # the last answer stated is no option: uniform, said so, not the peer's C
    with pytest.warns(UserWarning, match=r"the answer 'none' is not among the options.*"
                                         r"uniform"):
        np.testing.assert_array_equal(
            parse_belief(peer + "My answer: none of these", _ABCD), 0.25)
    # the ANSWER line and the tags keep their precedence, as before; "1.5" is no "1"
    np.testing.assert_array_equal(
        parse_belief("ANSWER: C\nAgent 1's answer: B is weak", _ABCD), [0, 0, 1, 0])
    np.testing.assert_array_equal(
        parse_belief("<UPDATED_ANSWER>: D\nFinal answer: B", _ABCD), [0, 0, 0, 1])
    with pytest.warns(UserWarning, match=r"the answer '1.5'"):
        parse_belief("Final answer: 1.5", ("1", "2"))


def test_parse_belief_reads_metadata_keys_beside_a_complete_belief():
    # before: {"A": 0.7, "B": 0.3, "confidence": 90} gave [1, 0] ("'confidence' ... carry
    # 98.9 % of its mass: block not used", then the ANSWER line) where it gave [0.7, 0.3];
    # with "confidence": 0.9 a warning said 47.4 % of the mass was dropped
    import warnings

    texts = ['<BELIEF>{"A": 0.7, "B": 0.3, "confidence": 90}</BELIEF>\nANSWER: A',
             '<BELIEF>{"A": 0.7, "B": 0.3, "confidence": 0.9}</BELIEF>',
             '<BELIEF>{"A": 70, "B": 30, "certainty": 80}</BELIEF>',
             '<BELIEF>{"A": "70%", "B": "30%", "confidence": "high", "score": 7}</BELIEF>']
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for text in texts:
            np.testing.assert_allclose(parse_belief(text, ("A", "B")), [0.7, 0.3],
                                       rtol=1e-15)
        np.testing.assert_allclose(  # rounded to two decimals: a complete belief too
            parse_belief('<BELIEF>{"A": 0.33, "B": 0.33, "C": 0.33, "n": 3}</BELIEF>',
                         ("A", "B", "C")), [1 / 3] * 3, rtol=1e-15)
    # an incomplete block: the keys outside the options are mass, warned or refused
    with pytest.warns(UserWarning, match=r"'E'.*90 %.*block not used"):
        np.testing.assert_array_equal(
            parse_belief('<BELIEF>{"E": 0.9, "A": 0.1}</BELIEF>', _ABCD), 0.25)
    with pytest.warns(UserWarning, match=r"dropped keys 'E'.*20 %"):
        np.testing.assert_allclose(
            parse_belief('<BELIEF>{"A": 0.6, "B": 0.2, "E": 0.2}</BELIEF>', _ABCD),
            [0.75, 0.25, 0, 0], rtol=1e-15)


def test_parse_belief_refuses_percentages_mixed_with_plain_numbers():
    # before: {"A": "70%", "B": 30} read 0.7 and 30 on one scale: [0.0228, 0.9772], silently
    with pytest.warns(UserWarning, match=r"mixes percentages \('70%'\) and plain numbers "
                                         r"\(30\).*uniform"):
        np.testing.assert_array_equal(
            parse_belief('<BELIEF>{"A": "70%", "B": 30}</BELIEF>', ("A", "B")), 0.5)
    with pytest.warns(UserWarning, match=r"mixes percentages.*read the answer 'A'"):
        np.testing.assert_array_equal(
            parse_belief('<BELIEF>{"A": "70%", "B": 30}</BELIEF>\nANSWER: A', ("A", "B")),
            [1, 0])
    # a plain 0 is 0 on either scale
    np.testing.assert_array_equal(
        parse_belief('<BELIEF>{"A": "100%", "B": 0}</BELIEF>', ("A", "B")), [1, 0])


def test_parse_belief_numeric_labels_do_not_match_decimal_keys():
    # before: options 1..4, {"1.5": 0.6, "2": 0.4} read "1.5" as option 1: [0.6, 0.4, 0, 0]
    opts = ("1", "2", "3", "4")
    with pytest.warns(UserWarning, match=r"'1.5'.*60 %.*block not used"):
        np.testing.assert_array_equal(
            parse_belief('<BELIEF>{"1.5": 0.6, "2": 0.4}</BELIEF>', opts), 0.25)
    # a '.' followed by no digit still ends the label
    np.testing.assert_allclose(
        parse_belief('<BELIEF>{"1.": 0.6, "2. Lyon": 0.4}</BELIEF>', opts), [0.6, 0.4, 0, 0])


def test_parse_belief_warnings_name_the_callers_line_and_repeated_options():
    # before: stacklevel=2 named agents.py's ScriptedFJAgent.respond when a debate read an
    # agent's text, and {"A": 0.8, "B": 0.2, "a": 0.1} said 'a' was "not among the options"
    class Mute:
        def respond(self, question, options, messages, round):
            return Reply(np.full(2, 0.5), "no idea")

    agents = [ScriptedFJAgent(0, [1.0, 0.0], 0.5, 0.0, [0.0, 1.0], read_text=True), Mute()]
    with pytest.warns(UserWarning, match="uniform") as caught:
        run_debate(agents, np.ones((2, 2)) - np.eye(2), options=("A", "B"), rounds=1)
    assert [w.filename for w in caught] == [__file__]
    with pytest.warns(UserWarning, match=r"'a'.*a repeat of option 'A'") as caught:
        parse_belief('<BELIEF>{"A": 0.8, "B": 0.2, "a": 0.1}</BELIEF>', _ABCD)
    assert "not among" not in str(caught[0].message) and caught[0].filename == __file__
