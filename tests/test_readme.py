"""The README's Python examples run as written (placeholders filled with small stand-ins)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def _first_word(block: str) -> str:
    """An id per block: the package its first import names."""
    m = re.search(r"(?:from|import) (\w+)", block)
    return m.group(1) if m else "block"


def _placeholders(tmp_path: Path) -> dict[str, object]:
    """What the examples leave to the reader: a model, a training round, data files."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    x, y = torch.randn(64, 8), torch.randint(0, 2, (64,))

    def train_one_round(model: nn.Module, opt: torch.optim.Optimizer) -> None:
        for _ in range(3):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()

    rng = np.random.default_rng(0)
    names = ["TP53(M)", "IDH1(M)", "EGFR(A)", "CDKN2A(D)"]
    cohort = (rng.random((120, len(names))) < [0.5, 0.3, 0.3, 0.2]).astype(int)
    lines = [",".join(names)] + [",".join(map(str, r)) for r in cohort]
    (tmp_path / "cohort.csv").write_text("\n".join(lines) + "\n")

    from multiagent.fit import simulate_transcript

    transcript = simulate_transcript(4, 10, 3, gamma=0.3, alpha=0.5, seed=0)
    return {"model": model, "train_one_round": train_one_round, "transcript": transcript}


def test_readme_has_the_module_examples() -> None:
    assert [_first_word(b) for b in BLOCKS] == [
        "torch", "biomodels", "biomodels", "biomodels", "networkx", "multiagent"]


@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS, ids=[_first_word(b) for b in BLOCKS])
def test_readme_example_runs(block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace = _placeholders(tmp_path)
    if "CTMC().fit(X, event_names=events)" in block:  # a short cross-validation in the test
        block = block.replace("CTMC().fit(X, event_names=events)",
                              "CTMC().fit(X, event_names=events, folds=2, l1_grid=[0.01, 0.1])")
    exec(compile(block, str(README), "exec"), namespace)
