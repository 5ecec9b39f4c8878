"""The distribution's skeleton: import direction, public faces, command line."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import main

REPO = Path(__file__).resolve().parents[1]
APPLIED = ("biomodels", "multiagent")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_never_imports_applied_packages() -> None:
    offenders = []
    for path in sorted((REPO / "core").rglob("*.py")):
        for name in _imported_modules(path):
            if name.split(".")[0] in APPLIED:
                offenders.append(f"{path.relative_to(REPO)} imports {name}")
    assert not offenders, offenders


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("biomodels", "multiagent"), ("multiagent", "biomodels")],
)
def test_applied_packages_do_not_import_each_other(package: str, forbidden: str) -> None:
    offenders = []
    for path in sorted((REPO / package).rglob("*.py")):
        for name in _imported_modules(path):
            if name.split(".")[0] == forbidden:
                offenders.append(f"{path.relative_to(REPO)} imports {name}")
    assert not offenders, offenders


def test_biomodels_subpackages_stay_apart() -> None:
    subs = ("grn", "ctmc", "cascade")
    offenders = []
    for sub in subs:
        for path in sorted((REPO / "biomodels" / sub).rglob("*.py")):
            for name in _imported_modules(path):
                parts = name.split(".")
                other = parts[1] if parts[0] == "biomodels" and len(parts) > 1 else None
                if other in subs and other != sub:
                    offenders.append(f"{path.relative_to(REPO)} imports {name}")
    assert not offenders, offenders


def test_importing_core_loads_no_applied_package() -> None:
    code = (
        "import sys, core; "
        "print(any(m.split('.')[0] in ('biomodels', 'multiagent') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("package", ["core", "biomodels.grn", "biomodels.ctmc",
                                     "biomodels.cascade", "multiagent"])
def test_exported_names_survive_their_submodules_being_imported(package: str) -> None:
    # importing a submodule binds its name on the package: a function exported under the
    # name of a lazily loaded submodule (multiagent's `sweep` in sweep.py) came back as the
    # module from `from multiagent import sweep` once anything had imported the submodule
    code = f"""
import importlib, pkgutil, types
pkg = importlib.import_module({package!r})
for info in pkgutil.iter_modules(pkg.__path__):
    if not info.name.startswith("_"):
        importlib.import_module(f"{{pkg.__name__}}.{{info.name}}")
modules = [n for n in pkg.__all__ if isinstance(getattr(pkg, n), types.ModuleType)]
print(",".join(modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out in ("", "datasets")  # biomodels.grn exports its datasets module on purpose


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for command in ("demo", "grn", "ctmc", "cascade", "fj"):
        assert command in text, f"{command!r} missing from prunus --help"
    # where to go next, and how to see what a one-line error hides
    assert "prunus COMMAND --help" in text and "PRUNUS_DEBUG=1" in text


def _commands() -> list[tuple[str, ...]]:
    """Every runnable command of ``prunus``, as its words (``("grn", "fit")``)."""
    import argparse

    from core.cli import build_parser

    def walk(parser: argparse.ArgumentParser, words: tuple[str, ...]) -> list:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            return [(words, parser)]
        return [c for name, child in subs[0].choices.items()
                for c in walk(child, (*words, name))]

    return walk(build_parser(), ())


@pytest.mark.parametrize("words,parser", [pytest.param(w, p, id=" ".join(w))
                                          for w, p in _commands()])
def test_every_option_s_help_states_its_default(words, parser) -> None:
    # cascade size did not for --runs and --rng-seed, ctmc fit for --method: a user could
    # not tell that a rerun draws the same Monte Carlo runs
    import argparse

    unstated = [a.option_strings[0] for a in parser._actions
                if a.option_strings  # a seed of 0 equals False: compare by identity
                and all(a.default is not v for v in (None, False, argparse.SUPPRESS))
                and "default" not in (a.help or "")]
    assert unstated == [], f"prunus {' '.join(words)}: no default stated for {unstated}"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("prunus ")


def test_unknown_subcommand_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error" in err


def test_console_script_bad_file_is_one_line_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "ctmc", "fit", str(missing), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("raised,expected", [
    (KeyError("x"), "prunus: error: no such key: 'x'"),
    (KeyError("obs key 'time' is missing"), "prunus: error: obs key 'time' is missing"),
    (ValueError("bad value\nsecond line"), "prunus: error: bad value"),
    # e.g. --runs 1000000000000: numpy's MemoryError was a traceback and exit code 1
    (MemoryError("Unable to allocate 7.28 TiB for an array with shape (1000000000000,)"),
     "prunus: error: Unable to allocate 7.28 TiB for an array with shape (1000000000000,)"),
])
def test_errors_are_one_readable_line(tmp_path, capsys, monkeypatch, raised, expected):
    import biomodels.ctmc.data

    def fail(*args, **kwargs):
        raise raised

    monkeypatch.setattr(biomodels.ctmc.data, "read_cohort", fail)
    (tmp_path / "in.csv").write_text("a,b\n1,0\n")
    assert main(["ctmc", "fit", str(tmp_path / "in.csv"), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == expected


@pytest.mark.parametrize("command", [
    ["cascade", "size", "{data}", "--seed", "a"], ["fj", "simulate", "--questions", "1"],
])
def test_an_empty_out_is_refused(tmp_path, capsys, monkeypatch, command):
    # `--out "$DIR"` with DIR unset wrote the results into the current folder, replacing
    # any files of those names there
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.edgelist").write_text("a b 0.5\n")
    argv = [a.replace("{data}", "in.edgelist") for a in command]
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--out", ""])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "argument --out: expected a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.edgelist"]


def test_an_input_that_exists_but_is_no_file_is_not_called_missing(tmp_path, capsys):
    # a folder, or bash's <(...) pipe, was reported as "no such file", though it exists
    (tmp_path / "adir").mkdir()
    cases = [(tmp_path / "adir", "is a folder; give a file"),
             (tmp_path / "missing", "no such file")]
    if hasattr(os, "mkfifo"):  # POSIX
        os.mkfifo(tmp_path / "pipe")
        cases.append((tmp_path / "pipe", "is not a regular file"))
    for given, message in cases:
        with pytest.raises(SystemExit) as exc:
            main(["ctmc", "fit", str(given), "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("setting", "raises"), [("0", False), ("", False), ("1", True)])
def test_prunus_debug_0_keeps_errors_one_line(tmp_path, capsys, monkeypatch, setting, raises):
    # PRUNUS_DEBUG=0 (a user turning the traceback off again) raised like PRUNUS_DEBUG=1
    monkeypatch.setenv("PRUNUS_DEBUG", setting)
    (tmp_path / "empty.edgelist").write_text("")
    argv = ["cascade", "size", str(tmp_path / "empty.edgelist"), "--seed", "0",
            "--out", str(tmp_path / "o")]
    if raises:
        with pytest.raises(ValueError, match="no edges"):
            main(argv)
    else:
        assert main(argv) == 2
        assert capsys.readouterr().err.strip().startswith("prunus: error: ")


def test_an_interrupted_command_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    # Ctrl-C printed a KeyboardInterrupt traceback; exit code 130, as shells use for SIGINT
    import biomodels.ctmc.data

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(biomodels.ctmc.data, "read_cohort", interrupt)
    (tmp_path / "in.csv").write_text("a,b\n1,0\n")
    assert main(["ctmc", "fit", str(tmp_path / "in.csv"), "--out", str(tmp_path / "o")]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("prunus: interrupted; ")


def test_a_command_s_warnings_are_one_line_each(tmp_path, capsys, monkeypatch):
    import warnings

    import biomodels.ctmc.data

    def warn_twice(*args, **kwargs):
        for _ in range(2):
            warnings.warn("something to know\nsecond line", UserWarning, stacklevel=2)
        raise ValueError("stop here")

    monkeypatch.setattr(biomodels.ctmc.data, "read_cohort", warn_twice)
    (tmp_path / "in.csv").write_text("a,b\n1,0\n")
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as outside pytest, where warnings are not errors
        assert main(["ctmc", "fit", str(tmp_path / "in.csv"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    # once, its first line, without the file:line and source line Python prints
    assert err == ["prunus: warning: something to know", "prunus: error: stop here"]


@pytest.mark.parametrize("command", [
    ["ctmc", "fit", "{data}"], ["cascade", "size", "{data}", "--seed", "a"],
    ["fj", "simulate"], ["fj", "fit", "{data}"], ["demo"],
])
def test_every_out_that_is_a_file_is_refused_first(tmp_path, capsys, command):
    (tmp_path / "afile").write_text("keep me")
    (tmp_path / "in.csv").write_text("a b 0.5\n")
    argv = [a.replace("{data}", str(tmp_path / "in.csv")) for a in command]
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--out", str(tmp_path / "afile")])
    assert exc.value.code == 2 and "is an existing file" in capsys.readouterr().err
    assert (tmp_path / "afile").read_text() == "keep me"


@pytest.mark.parametrize("command", [
    ["ctmc", "fit", "{data}"], ["cascade", "size", "{data}", "--seed", "a"],
    ["fj", "simulate", "--questions", "1"], ["fj", "fit", "{data}"], ["demo", "--epochs", "1"],
    ["grn", "fit", "{data}", "--time-key", "t"],
])
def test_an_out_below_a_file_is_refused_first(tmp_path, capsys, command):
    # `--out results.csv/run1` cannot be made: it failed only once the results were written
    # ("[Errno 20] Not a directory"), after the whole fit
    (tmp_path / "afile").write_text("keep me")
    (tmp_path / "in.csv").write_text("a b 0.5\n")
    argv = [a.replace("{data}", str(tmp_path / "in.csv")) for a in command]
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--out", str(tmp_path / "afile" / "run1")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "argument --out" in err and "is an existing file" in err
    assert len(err.strip().splitlines()) == 1
    assert (tmp_path / "afile").read_text() == "keep me"


# -- the contracts issue 2 spells out: layout, packaging, pytest, ruff, CI, README ----------

def _pyproject() -> dict:
    import tomllib

    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _names(requirements: list[str]) -> dict[str, object]:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    reqs = [Requirement(r) for r in requirements]
    return {canonicalize_name(r.name): r for r in reqs}


def _git_top_level() -> set[str] | None:
    if not (REPO / ".git").exists():
        return None
    proc = subprocess.run(["git", "-C", str(REPO), "ls-files"], capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    return {line.split("/")[0] for line in proc.stdout.splitlines() if line}


def test_repository_layout_is_the_fixed_one() -> None:
    required = {"pyproject.toml", "README.md", "core", "biomodels", "multiagent", "tests",
                "tutorials", ".ci"}
    assert required <= {p.name for p in REPO.iterdir()}
    for sub in ("grn", "ctmc", "cascade"):
        assert (REPO / "biomodels" / sub / "__init__.py").is_file(), sub
    for package in ("core", "biomodels", "multiagent"):
        assert (REPO / package / "py.typed").is_file(), package
    assert (REPO / "tests" / "conftest.py").is_file()
    assert (REPO / "tests" / "benchmarks").is_dir()
    tracked = _git_top_level()
    if tracked is None:
        pytest.skip("not a git checkout: the exact set of tracked entries is not checked")
    assert {t for t in tracked if not t.startswith(".")} <= required, tracked


def test_pyproject_declares_the_distribution() -> None:
    from packaging.specifiers import SpecifierSet

    project = _pyproject()["project"]
    assert project["name"] == "prunus"
    python = SpecifierSet(project["requires-python"])
    assert "3.11" in python and "3.10" not in python
    deps = _names(project["dependencies"])
    for name in ("torch", "torchdiffeq", "scanpy", "anndata", "pyro-ppl", "numpy", "scipy",
                 "pandas", "networkx", "matplotlib", "tqdm"):
        assert name in deps, f"dependency {name!r} missing"
    assert deps["torch"].specifier.contains("2.13.0"), deps["torch"]
    extras = project["optional-dependencies"]
    for extra, names in {"test": ("pytest", "pytest-cov", "pytest-xdist", "hypothesis"),
                         "bench": ("ndlib", "eon", "cynetdiff"),
                         "dev": ("ruff", "pre-commit")}.items():
        missing = set(names) - set(_names(extras[extra]))
        assert not missing, f"extra {extra!r} lacks {sorted(missing)}"
    # the tutorials run in the test suite instead of through nbmake
    assert (REPO / "tests" / "test_tutorials.py").is_file()
    assert project["scripts"] == {"prunus": "core.cli:main"}
    wheel = _pyproject()["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert sorted(wheel) == ["biomodels", "core", "multiagent"]


def test_subcommands_are_entry_points_into_the_applied_packages() -> None:
    from core.cli import ENTRY_POINT_GROUP

    assert ENTRY_POINT_GROUP == "prunus.commands"
    commands = _pyproject()["project"]["entry-points"][ENTRY_POINT_GROUP]
    assert set(commands) == {"demo", "grn", "ctmc", "cascade", "fj"}
    for name, target in commands.items():
        module = target.split(":")[0]
        assert module.split(".")[0] in APPLIED, f"{name} -> {target} is not an applied module"


def test_the_front_adds_whatever_command_an_entry_point_registers(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    import core.cli

    def register(subparsers: argparse._SubParsersAction) -> None:
        cmd = subparsers.add_parser("newmod", help="a module core has never heard of")
        cmd.set_defaults(func=lambda args: print("ran newmod") or 0)

    class _EntryPoint:
        def __init__(self, name: str, load: object) -> None:
            self.name, self._load = name, load

        def load(self) -> object:
            if isinstance(self._load, Exception):
                raise self._load
            return self._load

    points = [_EntryPoint("newmod", register), _EntryPoint("broken", ImportError("no numba"))]
    monkeypatch.setattr(core.cli, "entry_points", lambda group: points)
    assert main(["newmod"]) == 0
    out = capsys.readouterr()
    assert "ran newmod" in out.out
    # a module that fails to load is named once and leaves the others working
    assert "'broken' unavailable" in out.err and "Traceback" not in out.err


def test_pytest_configuration_is_strict_and_opt_in_for_benchmarks_and_gpu() -> None:
    ini = _pyproject()["tool"]["pytest"]["ini_options"]
    assert "--strict-markers" in ini["addopts"]
    assert "not benchmark" in ini["addopts"] and "not gpu" in ini["addopts"]
    assert {m.split(":")[0] for m in ini["markers"]} >= {"slow", "benchmark", "gpu"}
    assert ini["filterwarnings"][0] == "error"


def test_ruff_is_configured_as_the_issue_asks() -> None:
    ruff = _pyproject()["tool"]["ruff"]
    assert ruff["line-length"] in (100, 120)
    assert {"F", "I", "D"} <= set(ruff["lint"]["select"])
    assert ruff["lint"]["pydocstyle"]["convention"] == "numpy"


def _quick_start() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Quick start", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip()]


def test_readme_quick_start_is_exactly_two_commands() -> None:
    install_demo, install_test = _quick_start()
    assert install_demo.startswith("pip install") and install_demo.endswith("prunus demo")
    # the suite split over one worker process per core (pytest-xdist): about 8 min on 2 cores
    assert install_test.startswith("pip install") and install_test.endswith("pytest -n auto")


def test_ci_script_runs_the_readme_test_command_after_pinning_torch() -> None:
    script = (REPO / ".ci" / "run").read_text().splitlines()
    assert script[0] in ("#!/usr/bin/env bash", "#!/bin/bash")
    commands = [line.strip() for line in script if line.strip() and not line.startswith("#")]
    assert "set -euo pipefail" in commands
    assert any("venv" in c for c in commands)
    torch_pin = next((i for i, c in enumerate(commands)
                      if c.startswith("pip install") and "torch==2.13.0" in c), None)
    assert torch_pin is not None, "no `pip install torch==2.13.0` in .ci/run"
    # exactly the README's test command, and last, so its exit status is the script's
    assert commands[-1] == _quick_start()[1]
    assert torch_pin < len(commands) - 1


def test_saved_files_with_utf8_names_load_under_a_non_utf8_locale(tmp_path: Path) -> None:
    # the loaders read JSON in the system's encoding: a file with raw UTF-8 names (edited,
    # or written by another tool) read "MÃ¼ller" on Windows (cp1252), failed under LC_ALL=C
    # ASCII only: a C locale cannot pass other characters on the command line
    code = r"""
import json, sys, locale
from pathlib import Path
encoding = locale.getpreferredencoding(False)
assert encoding.lower() not in ("utf-8", "utf8"), encoding
out = Path(sys.argv[1])

def utf8(path):  # the same content, names as raw UTF-8 instead of \u escapes
    path.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8")),
                               ensure_ascii=False), encoding="utf-8")
    return path

from biomodels.ctmc import CTMC
from biomodels.ctmc import random_sparse_theta, sample_trajectories
x = sample_trajectories(random_sparse_theta(2, seed=0), 50, seed=1).X
m = CTMC(event_names=["M\u00fcller", "\u03b1-syn"]).fit(x, l1=0.01, max_steps=5)
assert CTMC.load(utf8(m.save(out / "model.json"))).event_names == ["M\u00fcller", "\u03b1-syn"]

from biomodels.cascade import CascadeFit, CascadeGraph
g = CascadeGraph.from_edges([("M\u00fcller", "\u03b1", 0.5)])
CascadeFit(g, seeds=["M\u00fcller"], share="all").save(out / "fit.json")
CascadeFit.load(utf8(out / "fit.json"), g)

from multiagent.fit import fit_fj, simulate_transcript, FJFit
fit = fit_fj(simulate_transcript(3, 4, 2, gamma=0.3, alpha=0.4, noise=0.01, seed=2))
path = fit.save(out / "fj.json")
d = json.loads(path.read_text(encoding="utf-8")); d["note"] = "M\u00fcller"
path.write_text(json.dumps(d, ensure_ascii=False), encoding="utf-8")
FJFit.load(path)
print("ok")
"""
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0",
           "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                          text=True, env=env, cwd=REPO)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
