"""The public face of ``multiagent``: every exported name resolves; the CLI imports light."""

from __future__ import annotations

import subprocess
import sys

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
