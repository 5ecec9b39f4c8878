"""Run a grid of attacked-debate scenarios and collect a tidy DataFrame."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields, replace
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from core.progress import bar_disabled
from multiagent.adversary import (
    _SWEEP_WARNS,
    Adversary,
    NeverAttacksWarning,
    Scenario,
    _attacks,
    _never_attacking,
    closed_form_weight,
    simulate,
)
from multiagent.topologies import hub_and_leaf

__all__ = ["sweep"]

_SCENARIO = {f.name for f in fields(Scenario)} - {"adversaries"}
_ADVERSARY = {f"adversary_{f.name}" for f in fields(Adversary)}


def _closed_form(sc: Scenario) -> float | None:
    """Return the closed-form weight where ``prunus fj simulate`` writes one, else None.

    A sleeper that wakes within the debate has the equilibrium weight of any adversary
    (the equilibrium does not depend on when it woke), so it gets the closed form too, as
    the command line gives it (refused for every sleeper before); one that never attacks
    has none.  On a star, an adversary placed by agent index has the closed form of the
    hub or of a leaf, whichever that agent is (every leaf is alike); only the words
    ``"hub"`` and ``"leaf"`` had one before.
    """
    if len(sc.adversaries) != 1 or not isinstance(sc.graph, str):
        return None
    adv = sc.adversaries[0]
    if adv.gamma != 1.0 or not _attacks(adv, sc.rounds):
        return None
    if sc.graph == "complete":
        key = "complete"
    elif sc.graph == "star":
        hub, _ = hub_and_leaf(sc._graph_now())
        key = "star_hub" if sc.adversary_nodes()[0] == hub else "star_leaf"
    else:
        return None
    return closed_form_weight(key, sc.n, sc.gamma, sc.alpha, persuasion=adv.persuasion)["mean"]


def sweep(
    base: Scenario,
    grid: Mapping[str, Sequence[Any]] | pd.Series,
    *,
    questions: int = 50,
    seed: int | None = 0,
    progress: bool = False,
    **simulate_kwargs: Any,
) -> pd.DataFrame:
    """Simulate every combination of ``grid`` and return one row per scenario.

    Parameters
    ----------
    base
        Scenario the grid modifies (its first adversary is the one ``adversary_*`` keys
        change; one is added if it has none).
    grid
        Field name -> values (a dict, or a pandas Series read as one).  Scenario fields
        (``graph``, ``n``, ``gamma``, ``alpha``, ``rounds``, ``n_options``, ``seed``) or
        adversary fields prefixed ``adversary_``
        (``adversary_position``, ``adversary_gamma``, ``adversary_alpha``,
        ``adversary_persuasion``, ``adversary_sleeper``, ``adversary_target``).
        ``adversary_position = "none"`` removes the adversary.
    questions
        Questions per scenario.
    seed
        Seed of the belief draws (the same for every scenario: common random numbers).
        None draws fresh entropy for each scenario (no common random numbers).
    progress
        Show a tqdm bar.
    **simulate_kwargs
        Passed to :func:`multiagent.adversary.simulate` (``p_correct``, ``confidence``...;
        ``keep_trajectories`` is False unless given, the metrics are the same).

    Returns
    -------
    pandas.DataFrame
        The grid columns, then ``asr``, ``accuracy_start``, ``accuracy_end``,
        ``adversary_weight`` and ``adversary_weight_closed_form`` (None where no closed
        form applies).  An adversary whose ``sleeper >= rounds`` never attacks within the
        debate: it is left out of ``adversary_weight``, which is NaN (and the closed form
        None) where no adversary attacks.

    Warns
    -----
    multiagent.adversary.NeverAttacksWarning
        Once per sweep, naming the sleeper and rounds values of the scenarios where an
        adversary never attacks (instead of one warning per scenario).  The process's
        warning filters are left alone, so sweeps may run in threads.

    Examples
    --------
    >>> from multiagent.adversary import Adversary, Scenario
    >>> df = sweep(Scenario(adversaries=(Adversary(),)), {"graph": ["complete", "star"]},
    ...            questions=5)
    >>> df["adversary_weight"].round(4).tolist()
    [0.2857, 0.6667]
    """
    # a Series is not a Mapping: set(grid) took its values ("unhashable type: 'list'")
    if isinstance(grid, pd.Series):
        grid = grid.to_dict()
    if not isinstance(grid, Mapping):
        raise TypeError("grid: expected a mapping of field name -> values (a dict or a "
                        f"pandas Series), got a {type(grid).__name__}")
    unknown = set(grid) - _SCENARIO - _ADVERSARY
    if unknown:
        raise ValueError(
            f"unknown grid keys {sorted(unknown)}; expected scenario fields {sorted(_SCENARIO)} "
            f"or adversary fields {sorted(_ADVERSARY)}"
        )
    keys = list(grid)
    for k in keys:  # "star" swept its letters ("unknown topology 's'"), 0.2 was not iterable
        if isinstance(grid[k], str | bytes) or not isinstance(grid[k], Iterable):
            raise TypeError(f"grid {k!r}: expected a list of values to sweep, got "
                            f"{grid[k]!r} (write [{grid[k]!r}] for one value)")
    combos = list(itertools.product(*(list(grid[k]) for k in keys)))
    rows = []
    idle: list[dict[str, Any]] = []  # settings where an adversary never attacks
    said: list[str] = []
    for values in tqdm(combos, disable=bar_disabled(progress), desc="sweep"):
        setting = dict(zip(keys, values))
        sc_changes = {k: v for k, v in setting.items() if k in _SCENARIO}
        adv_changes = {k[len("adversary_"):]: v for k, v in setting.items() if k in _ADVERSARY}
        sc = replace(base, **sc_changes)
        if "n" in sc_changes and not isinstance(sc.graph, str):
            # n is ignored for a networkx graph: every row simulated the same agents
            raise ValueError("grid 'n': the scenario's graph is a networkx graph, whose agents "
                             "are its nodes (n is ignored); sweep n over named topologies")
        if adv_changes.get("position") == "none":
            sc = replace(sc, adversaries=())
        elif adv_changes:
            first = sc.adversaries[0] if sc.adversaries else Adversary()
            sc = replace(sc, adversaries=(replace(first, **adv_changes), *sc.adversaries[1:]))
        asleep = _never_attacking(sc)
        if asleep:
            idle.append(setting)
            said.extend(f"sleeper {adv.sleeper} >= rounds {sc.rounds}" for _, adv in asleep)
        # said once for the whole sweep below: simulate does not warn (a warnings filter
        # here swapped the process-wide filters, and threads left it there for good)
        token = _SWEEP_WARNS.set(True)
        try:
            # only the metrics are returned: keeping every round of every debate cost memory
            result = simulate(sc, questions=questions, seed=seed,
                              **{"keep_trajectories": False, **simulate_kwargs})
        finally:
            _SWEEP_WARNS.reset(token)
        rows.append({**setting, **result.metrics, "adversary_weight_closed_form": _closed_form(sc)})
    if idle:
        warnings.warn(
            f"sweep: in {len(idle)} of {len(combos)} scenarios an adversary never attacks "
            f"within the debate ({', '.join(dict.fromkeys(said))}): it holds the truth in "
            "every round, so adversary_weight leaves it out and is NaN where no adversary "
            "attacks", NeverAttacksWarning, stacklevel=2)
    return pd.DataFrame(rows)
