"""The distribution's skeleton: import direction, public faces, command line."""

from __future__ import annotations

import ast
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
