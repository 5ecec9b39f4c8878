"""Regression tests from an audit: float32 trust matrices and arguments named in errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from multiagent import (
    FriedkinJohnsen,
    Scenario,
    confidence_router,
    error_decomposition,
    fit_fj_bayes,
    random_graph,
    run_trust_stream,
    simulate,
    simulate_transcript,
)


def _float32_trust(n: int = 7, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    W = rng.random((n, n)).astype(np.float32)
    np.fill_diagonal(W, 0)
    W /= W.sum(axis=1, keepdims=True)  # row sums within a few float32 eps of 1
    return W


@pytest.mark.parametrize("backend", ["numpy", "scipy", "torch"])
def test_float32_row_stochastic_trust_is_accepted(backend: str) -> None:
    # a float32 row sums to 1 only up to ~1e-7; a 1e-8 tolerance rejected most such W
    # ("row 1 of W (agent 1) sums to 1, expected 1")
    W = _float32_trust()
    Wb = {"numpy": W, "scipy": sp.csr_array(W), "torch": torch.tensor(W)}[backend]
    gamma, alpha = 0.3, 0.4
    fj = FriedkinJohnsen(Wb, gamma, alpha)
    W64 = W.astype(np.float64)
    n = W.shape[0]
    H = (1 - gamma) * (alpha * np.eye(n) + (1 - alpha) * W64)
    M = np.linalg.solve(np.eye(n) - H, gamma * np.eye(n))
    got = fj.influence_matrix()
    got = got.numpy() if isinstance(got, torch.Tensor) else got
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, M, atol=1e-5)


def test_float32_rows_far_from_one_still_rejected() -> None:
    W = _float32_trust()
    W[2] *= np.float32(1.001)
    with pytest.raises(ValueError, match="row 2 of W"):
        FriedkinJohnsen(W, 0.3, 0.4)


def test_simulate_negative_rounds_named() -> None:
    with pytest.raises(ValueError, match="rounds"):
        simulate(Scenario(rounds=-1))


def test_simulate_questions_bool_named() -> None:
    with pytest.raises(ValueError, match="questions must be a positive integer"):
        simulate(Scenario(), questions=True)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"p_correct": 1.5}, "p_correct"),
        ({"p_correct": float("nan")}, "p_correct"),
        ({"confidence": 1.5}, "confidence"),
        ({"concentration": -1.0}, "concentration"),
        ({"concentration": 0.0}, "concentration"),
    ],
)
def test_simulate_belief_distribution_arguments_named(kwargs: dict, name: str) -> None:
    # p_correct > 1 was read as 1 silently; the others failed with numpy's "alpha < 0"
    with pytest.raises(ValueError, match=name):
        simulate(Scenario(), **kwargs)
    with pytest.raises(ValueError, match=name):
        run_trust_stream(Scenario(), questions=1, warmup=0, **kwargs)


@pytest.mark.parametrize(("kwargs", "name"), [({"questions": -1}, "questions"),
                                              ({"warmup": -2, "questions": 1}, "warmup")])
def test_run_trust_stream_negative_counts_named(kwargs: dict, name: str) -> None:
    # a short or empty table came back without an error
    with pytest.raises(ValueError, match=name):
        run_trust_stream(Scenario(), **kwargs)


def test_error_decomposition_router_shape_named() -> None:
    beliefs = np.full((2, 3, 2), 0.5)
    with pytest.raises(ValueError, match="router must have shape"):
        error_decomposition(beliefs, [0, 1], np.full(2, 0.5))
    with pytest.raises(ValueError, match="router must have shape"):
        error_decomposition(beliefs, [0, 1], np.full((3, 3), 1 / 3))


@pytest.mark.parametrize("beta", [float("nan"), float("inf")])
def test_confidence_router_beta_must_be_finite(beta: float) -> None:
    # gave NaN weights (documented to sum to 1) without an error
    b = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]])
    with pytest.raises(ValueError, match="beta"):
        confidence_router(b, beta=beta)


@pytest.mark.parametrize(("n", "m", "name"), [(0, 5, "n"), (5, -1, "m")])
def test_random_graph_counts_named(n: int, m: int, name: str) -> None:
    with pytest.raises(ValueError, match=rf"^{name}:"):
        random_graph(n, m, seed=0)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"gamma_prior": (-1.0, 2.0)}, "gamma_prior"), ({"alpha_prior": (2.0, 0.0)}, "alpha_prior"),
     ({"trust_concentration": 0.0}, "trust_concentration"),
     ({"noise_scale": -0.1}, "noise_scale")],
)
def test_fit_fj_bayes_priors_named(kwargs: dict, name: str) -> None:
    X = simulate_transcript(3, 3, 2, gamma=0.2, alpha=0.3, seed=0)
    with pytest.raises(ValueError, match=name):
        fit_fj_bayes(X, num_steps=1, num_samples=2, **kwargs)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("gamma", ["a", [0.1, "x", 0.2]])
def test_non_numeric_gamma_named(backend: str, gamma: object) -> None:
    W = (np.ones((3, 3)) - np.eye(3)) / 2
    Wb = torch.tensor(W) if backend == "torch" else W
    with pytest.raises(TypeError, match="gamma"):
        FriedkinJohnsen(Wb, gamma, 0.5)


def test_apply_H_shape_named() -> None:
    fj = FriedkinJohnsen((np.ones((3, 3)) - np.eye(3)) / 2, 0.2, 0.5)
    with pytest.raises(ValueError, match="X must have shape"):
        fj.apply_H(np.ones(4))


def _float32_model(backend: str, W: np.ndarray):
    """A float32 FJ model of ``W`` in ``backend``, its beliefs and the float64 answer."""
    conv = {"numpy": np.asarray, "scipy": sp.csr_array,
            "torch": lambda x: torch.tensor(x)}[backend]
    g, s = np.linspace(0.1, 0.5, 40), np.linspace(0.0, 1.0, 40)
    ref = FriedkinJohnsen(W.astype(np.float64), g, 0.3).equilibrium(s, method="direct")
    return FriedkinJohnsen(conv(W.astype(np.float32)), g, 0.3), s.astype(np.float32), ref


@pytest.mark.parametrize("backend", ["numpy", "scipy", "torch"])
def test_float32_symmetrisable_trust_is_detected_for_cg(backend: str) -> None:
    # before: diag(row counts) W of a float32 D^-1 A is symmetric only to ~1e-7, above the
    # 1e-12 tolerance, so method="cg" raised "needs a symmetrisable W" (and "auto" never
    # chose CG for float32 models)
    A = random_graph(40, 160, seed=1).toarray()
    A[np.arange(39), np.arange(1, 40)] = A[np.arange(1, 40), np.arange(39)] = 1  # connected
    W = (A / A.sum(axis=1, keepdims=True)).astype(np.float32)
    fj, s32, ref = _float32_model(backend, W)
    g, s = np.linspace(0.1, 0.5, 40), np.linspace(0.0, 1.0, 40)
    z = fj.equilibrium(s32, method="cg")
    assert fj.info_["method"] == "cg"
    np.testing.assert_allclose(np.asarray(z, dtype=np.float64), ref, atol=1e-5)
    # an asymmetric float32 W is still refused
    T = np.random.default_rng(0).random((40, 40)) * A
    asym = FriedkinJohnsen((T / T.sum(axis=1, keepdims=True)).astype(np.float32), g, 0.3)
    with pytest.raises(ValueError, match="symmetrisable"):
        asym.equilibrium(s, method="cg")


@pytest.mark.parametrize("backend", ["numpy", "scipy", "torch"])
def test_float32_fixed_point_converges_at_the_default_tolerance(backend: str) -> None:
    # before: a float32 residual stalls near 6e-8, so method="fixed_point" at the default
    # tol = 1e-10 ran all 10 n + 1000 iterations and raised ConvergenceError
    A = random_graph(40, 160, seed=1).toarray()
    A[np.arange(39), np.arange(1, 40)] = 1
    T = np.random.default_rng(0).random((40, 40)) * A
    fj, s32, ref = _float32_model(backend, (T / T.sum(axis=1, keepdims=True)).astype(np.float32))
    z = fj.equilibrium(s32, method="fixed_point")
    assert fj.info_["iterations"] < 200
    np.testing.assert_allclose(np.asarray(z, dtype=np.float64), ref, atol=1e-5)
