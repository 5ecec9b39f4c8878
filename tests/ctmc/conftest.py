"""Fixtures shared by the ctmc tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def large_table_builds(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count the builds of lattice tables beyond the process-wide cache (over 16 events).

    Returns a dict ``{"levels": n, "bits": m}`` that the patched builders update.
    """
    import biomodels.ctmc._solve as solve
    import biomodels.ctmc.likelihood_subsets as subsets

    builds = {"levels": 0, "bits": 0}

    def counted(name, build):  # noqa: ANN001, ANN202
        def wrapper(k, *args):  # noqa: ANN001, ANN202
            builds[name] += k > 16  # smaller lattices go to the process-wide cache
            return build(k, *args)
        return wrapper

    monkeypatch.setattr(solve, "_level_indices", counted("levels", solve._level_indices))
    monkeypatch.setattr(subsets, "_build_bits", counted("bits", subsets._build_bits))
    return builds
