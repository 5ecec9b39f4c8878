"""The public face of ``multiagent``: every exported name resolves; the CLI imports light."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import multiagent


def test_every_public_name_resolves():
    assert len(multiagent.__all__) == len(set(multiagent.__all__))
    for name in multiagent.__all__:
        assert getattr(multiagent, name) is not None
    assert sorted(dir(multiagent)) == sorted(multiagent.__all__)
    assert set(multiagent._EXPORTS) == set(multiagent.__all__)  # the lazy table is complete


def test_cli_module_loads_no_model_code():
    code = ("import sys, multiagent.cli; "
            "print(sorted(m for m in sys.modules if m.startswith('multiagent')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['multiagent', 'multiagent.cli']"


def test_lambda_convention_is_documented():
    doc = multiagent.FriedkinJohnsen.__doc__
    assert "stubbornness" in doc and "susceptibility" in doc


def test_the_issue_s_model_api_is_spelled_as_specified(rng):
    """Issue 7: ``FriedkinJohnsen(W, gamma, alpha)`` with ``step(B)``, ``rollout(S, steps)``,
    ``equilibrium(S)``, ``influence_matrix()``; W dense, scipy sparse or torch; gamma and
    alpha scalars or per-agent vectors."""
    import numpy as np
    import scipy.sparse as sp
    import torch

    from multiagent import FriedkinJohnsen

    assert list(inspect.signature(FriedkinJohnsen).parameters)[:3] == ["W", "gamma", "alpha"]
    W = (np.ones((4, 4)) - np.eye(4)) / 3
    S = rng.dirichlet(np.ones(3), size=4)
    gamma = np.array([0.2, 0.3, 0.4, 0.5])
    for conv in (np.asarray, sp.csr_array, torch.tensor):
        fj = FriedkinJohnsen(W=conv(W), gamma=gamma, alpha=0.5)
        B1 = np.asarray(fj.step(S))
        traj = np.asarray(fj.rollout(S, steps=200))
        star = np.asarray(fj.equilibrium(S))
        M = np.asarray(fj.influence_matrix())
        assert traj.shape == (201, 4, 3)
        np.testing.assert_allclose(B1, traj[1], atol=1e-14)
        np.testing.assert_allclose(star, traj[-1], atol=1e-10)
        np.testing.assert_allclose(M @ S, star, atol=1e-12)


def _documented_parameters(doc: str) -> tuple[list[str] | None, bool]:
    """Names listed under Parameters (or Attributes) and whether a Returns section exists."""
    lines = inspect.cleandoc(doc).splitlines()
    heads = [k for k in range(len(lines) - 1)
             if lines[k].strip() and set(lines[k + 1].strip()) == {"-"}]
    sections = {lines[k].strip(): k for k in heads}
    names = None
    for title in ("Parameters", "Attributes"):
        if title in sections:
            start = sections[title] + 2
            end = min([k for k in heads if k > sections[title]], default=len(lines))
            names = [part.strip().lstrip("*")
                     for line in lines[start:end] if line and not line.startswith(" ")
                     for part in line.split(":")[0].split(",")]
            break
    return names, "Returns" in sections or "Yields" in sections


def _public_callables():
    import importlib

    for module in ("adversary", "agents", "analysis", "defense", "dynamics", "fit", "moe",
                   "plot", "solvers", "sweeps", "topologies", "transcripts"):
        mod = importlib.import_module(f"multiagent.{module}")
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name)
            if getattr(obj, "__module__", None) != mod.__name__:
                continue  # re-exported or an alias such as a Literal
            if inspect.isfunction(obj):
                yield f"{module}.{name}", obj, False
            elif inspect.isclass(obj) and not issubclass(obj, Exception):
                if not getattr(obj, "_is_protocol", False):  # a Protocol has no constructor
                    yield f"{module}.{name}", obj, True
                for attr, value in vars(obj).items():
                    if isinstance(value, staticmethod | classmethod):
                        value = value.__func__
                    if not attr.startswith("_") and inspect.isfunction(value):
                        yield f"{module}.{name}.{attr}", value, False


def test_docstrings_list_exactly_the_signature_and_say_what_is_returned():
    """numpydoc Parameters match the signature (names and order); Returns where a value is
    returned; every public parameter and return value has a type hint."""
    problems = []
    for name, obj, is_class in _public_callables():
        sig = inspect.signature(obj)
        params = [p for p in sig.parameters.values() if p.name not in ("self", "cls")]
        documented, has_returns = _documented_parameters(obj.__doc__ or "")
        if params and documented != [p.name for p in params]:
            problems.append(f"{name}: documents {documented}, signature "
                            f"{[p.name for p in params]}")
        if [p.name for p in params if p.annotation is inspect.Parameter.empty]:
            problems.append(f"{name}: untyped parameters")
        if not is_class:
            ret = sig.return_annotation
            if ret is inspect.Signature.empty:
                problems.append(f"{name}: no return annotation")
            elif ret not in (None, "None") and not has_returns:
                problems.append(f"{name}: returns {ret} but has no Returns section")
    assert not problems, "\n".join(problems)


def test_a_dense_adjacency_too_large_for_memory_is_refused_by_name():
    import networkx as nx

    from multiagent import adjacency

    G = nx.empty_graph(100_000)  # numpy failed with "Unable to allocate 74.5 GiB"
    with pytest.raises(ValueError, match="100000 agents takes 80.0 GB; pass sparse=True"):
        adjacency(G)
    assert adjacency(G, sparse=True).shape == (100_000, 100_000)


def test_a_saved_fit_loads_with_its_loss_history_and_rounds_to_the_last_bit(tmp_path):
    # only non-finite losses were checked after a load: a finite one read back wrongly
    # (e.g. as NaN, as a diverged fit's) passed
    import numpy as np

    from multiagent import FJFit, fit_fj, simulate_transcript

    X = simulate_transcript(5, 8, 3, gamma=0.3, alpha=0.4, noise=0.01, seed=1)
    fit = fit_fj(X, train_rounds=6)
    back = FJFit.load(fit.save(tmp_path / "fit.json"))
    assert np.isfinite(fit.loss) and back.loss == fit.loss
    assert back.history == fit.history and back.train_rounds == 6
    for name in ("gamma", "alpha", "W", "gamma_se", "alpha_se"):
        np.testing.assert_array_equal(getattr(back, name), getattr(fit, name))
    np.testing.assert_array_equal(back.predict(X), fit.predict(X))


def _convention_text(text: str) -> str:
    """``text`` with its Lambda spellings (``Lambda``, $\\Lambda$, Λ) as Lambda, one line."""
    for spelling in ("$\\Lambda$", "``Lambda``", "Λ", "\\Lambda"):
        text = text.replace(spelling, "Lambda")
    text = " ".join(line.lstrip("# ") for line in text.splitlines())
    return " ".join(text.replace("`", "").replace("$", "").replace("*", "").split())


def test_the_lambda_convention_reads_the_same_everywhere():
    # before: the README and multiagent.dynamics said gamma is I - Lambda of Friedkin's form
    # (Lambda the susceptibility), while multiagent's docstring and tutorial 05 called gamma
    # "the Lambda of the stubbornness form, not the susceptibility I - Lambda of
    # Friedkin/Proskurnikov-Tempo": in those papers Lambda *is* the susceptibility
    from pathlib import Path

    import multiagent.dynamics

    tutorial = Path(__file__).resolve().parents[2] / "tutorials" / "05_fj_agents.py"
    header = tutorial.read_text(encoding="utf-8").split("# %%\n")[0]
    texts = {"multiagent": multiagent.__doc__, "multiagent.dynamics": multiagent.dynamics.__doc__,
             "FriedkinJohnsen": multiagent.FriedkinJohnsen.__doc__, "tutorial 05": header}
    for where, text in texts.items():
        text = _convention_text(text)
        assert "I - Lambda" in text and "Lambda is the susceptibility" in text, where
        assert "Lambda of the stubbornness form" not in text, where
        assert "susceptibility I - Lambda" not in text, where


def test_tutorial_05_spells_out_its_terms_where_they_first_appear():
    # before: "ASR", "T-W", "T-WA", "T-WS" and sparse_fraction were used (printed, in a
    # legend, as a keyword) and explained nowhere in the tutorial
    from pathlib import Path

    tutorial = Path(__file__).resolve().parents[2] / "tutorials" / "05_fj_agents.py"
    lines = tutorial.read_text(encoding="utf-8").splitlines()
    text = _convention_text("\n".join(lines))
    assert "attack success rate (ASR)" in text
    assert text.index("attack success rate (ASR)") < text.index("ASR ")
    for term in ("ASR", "T-W", "T-WA", "T-WS", "sparse_fraction"):
        first = next(line for line in lines if term in line)
        assert first.lstrip().startswith("#"), (term, first)  # explained, then used
    for said in ("T-W (warm-up trust, frozen", "T-WA (", "T-WS (", "sparse_fraction="):
        assert said in text, said


def test_the_never_attacks_warning_is_exported_at_the_top_level():
    # before: simulate warns with NeverAttacksWarning, but `from multiagent import
    # NeverAttacksWarning` (to filter it) failed: only multiagent.adversary had it
    from multiagent.adversary import NeverAttacksWarning

    assert multiagent.NeverAttacksWarning is NeverAttacksWarning
    assert "NeverAttacksWarning" in multiagent.__all__
