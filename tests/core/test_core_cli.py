"""``core.cli``: the argparse types that check files, and the front's messages and output."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.cli import (
    build_parser,
    example_help,
    existing_file,
    main,
    option_names,
    output_folder,
    probability,
)


def test_an_out_with_a_tilde_the_shell_left_is_the_home_folder(tmp_path: Path,
                                                               monkeypatch) -> None:
    # bash expands ~ only at the start of a word, so `--out=~/run` arrives as typed: a
    # folder literally named ~ was made here, and pandas, which expands ~, then wrote to
    # the home folder's run/.prunus-staging-..., which did not exist, after the whole fit
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "home"))  # Windows' HOME
    monkeypatch.chdir(tmp_path)
    assert output_folder("~/run") == tmp_path / "home" / "run"
    if os.name == "posix":  # Windows expands ~user to a sibling of the home folder
        assert output_folder("~nosuchuser_x/run") == Path("~nosuchuser_x/run")  # as typed
    # and an input file the same way: `--prior=~/prior.csv` was "no such file"
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "prior.csv").write_text("a\n")
    assert existing_file("~/prior.csv") == tmp_path / "home" / "prior.csv"


@pytest.mark.skipif(os.name != "posix", reason="POSIX symlinks")
def test_an_out_through_a_broken_link_is_refused_first(tmp_path: Path) -> None:
    # a link to a folder not made yet (results -> /scratch/.../results) passed the check,
    # and the run ended after its fit with "[Errno 17] File exists: 'results'"
    link = tmp_path / "results"
    link.symlink_to(tmp_path / "scratch" / "results")
    for given in (link, link / "run1"):
        with pytest.raises(argparse.ArgumentTypeError,
                           match=r"is a link to .*scratch/results', which does not exist"):
            output_folder(str(given))
    (tmp_path / "scratch" / "results").mkdir(parents=True)  # made: the link is a folder
    assert output_folder(str(link / "run1")) == link / "run1"


def test_option_names_leave_names_inside_windows_paths_alone() -> None:
    # "names inside paths are left alone" held for '/' only: a Windows path's folder
    # named like an argument (a sweep's runs\epochs=60) was rewritten to runs\--epochs 60
    options = {"epochs": "--epochs", "prior_weight": "--prior-weight"}
    for path in ("C:\\runs\\epochs=60\\checkpoint.pt", "C:\\sweep\\prior_weight\\p.csv"):
        for shown in (path, repr(path)):  # as str() and as !r (backslashes doubled)
            message = f"checkpoint {shown} cannot be read"
            assert option_names(message, options) == message
    assert option_names("epochs=2 with C:\\x", options) == "--epochs 2 with C:\\x"


def test_output_the_console_cannot_encode_does_not_fail_the_command(monkeypatch) -> None:
    # On Windows, stdout redirected to a file or pipe encodes with the ANSI code page
    # (cp1252) and fails on other characters: a command that printed its output folder
    # (C:\Users\...\Ω) ended "prunus: error: 'charmap' codec can't encode", exit code 2,
    # after its files were written
    import io
    import sys

    import core.cli

    parser = argparse.ArgumentParser(prog="prunus")
    command = parser.add_subparsers().add_parser("show")
    command.set_defaults(func=lambda args: print("wrote C:\\\u03a9\\x.csv") or 0)
    monkeypatch.setattr(core.cli, "build_parser", lambda: parser)
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="cp1252", errors="strict", newline="\n",
                              write_through=True)
    monkeypatch.setattr(sys, "stdout", stdout)
    assert main(["show"]) == 0
    assert raw.getvalue() == b"wrote C:\\\\u03a9\\x.csv\n"
    assert stdout.errors == "strict"  # the caller's stream is left as it was


def _drawing_command(monkeypatch) -> None:
    """Make ``main(["draw"])`` run a command that draws as the real ones do (with Agg)."""

    def draw(args: argparse.Namespace) -> int:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        plt.close(plt.figure())
        return 0

    _only_command(monkeypatch, "draw", draw)


def test_a_command_leaves_the_callers_backend_fallback(monkeypatch) -> None:
    # matplotlib.use("Agg") in a command turned rcParams["backend_fallback"] off for good
    import matplotlib

    _drawing_command(monkeypatch)
    before = matplotlib.get_backend(), matplotlib.rcParams["backend_fallback"]
    matplotlib.use("svg")  # a backend of the caller's that is not Agg
    matplotlib.rcParams["backend_fallback"] = True  # as before any use(), which clears it
    try:
        assert main(["draw"]) == 0
        assert matplotlib.get_backend() == "svg"
        assert matplotlib.rcParams["backend_fallback"] is True
    finally:
        matplotlib.use(before[0])
        matplotlib.rcParams["backend_fallback"] = before[1]


def test_a_command_that_first_imports_matplotlib_leaves_the_matplotlibrc_backend(
        tmp_path: Path) -> None:
    # with matplotlib not yet imported and no MPLBACKEND, Agg stayed: a script's own later
    # plt.show() opened no window, whatever backend its matplotlibrc named
    import subprocess
    import sys

    (tmp_path / "matplotlibrc").write_text("backend: svg\n")
    script = (
        "import argparse, sys\n"
        "import core.cli\n"
        "assert 'matplotlib' not in sys.modules\n"
        "def draw(args):\n"
        "    import matplotlib\n"
        "    matplotlib.use('Agg')\n"
        "    import matplotlib.pyplot as plt\n"
        "    plt.close(plt.figure())\n"
        "    return 0\n"
        "parser = argparse.ArgumentParser(prog='prunus')\n"
        "parser.add_subparsers().add_parser('draw').set_defaults(func=draw)\n"
        "core.cli.build_parser = lambda: parser\n"
        "assert core.cli.main(['draw']) == 0\n"
        "import matplotlib\n"
        "print(matplotlib.get_backend(), matplotlib.rcParams['backend_fallback'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["MATPLOTLIBRC"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["svg", "True"]


def test_probability_accepts_both_ends_of_the_interval() -> None:
    # --gamma 0 (no stubbornness) and --seed-prob 1 are valid settings, not typos
    assert probability("0") == 0.0 and probability("1") == 1.0
    for bad in ("-0.001", "1.001", "nan"):
        with pytest.raises(argparse.ArgumentTypeError, match=r"\[0, 1\]"):
            probability(bad)


def test_prunus_or_a_group_without_a_command_is_a_usage_error(capsys) -> None:
    # `prunus grn` printed the help and exited 0: a pipeline rule whose subcommand came out
    # empty succeeded without doing anything
    for argv, commands in (([], "cascade, ctmc, demo, fj, grn"), (["grn"], "fit"),
                           (["ctmc"], "fit"), (["cascade"], "size, fit"),
                           (["fj"], "simulate, fit, equilibrium")):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        prog = " ".join(["prunus", *argv])
        assert capsys.readouterr().err == (f"{prog}: error: a command is required ({commands}); "
                                           f"'{prog} --help' describes them\n")


@pytest.mark.skipif(os.name != "posix", reason="pipes closed under a running process")
def test_a_closed_pipe_ends_the_command_quietly_with_sigpipes_code(tmp_path: Path) -> None:
    # `prunus ... | true`: the reader is gone before the command writes. Exit 0 told `set -o
    # pipefail` scripts it had succeeded; with buffered stdout (no PYTHONUNBUFFERED) the
    # write failed only at the interpreter's exit, with code 120 and a traceback. Now the
    # code of a process that SIGPIPE ended (141), as any Unix tool's, and no traceback
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    out = tmp_path / "sim"
    code = ("import sys\nfrom core.cli import main\n"
            f"sys.exit(main(['fj', 'simulate', '--quiet', '--questions', '2', '--rounds', '3', "
            f"'--out', {str(out)!r}]))\n")
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env) as proc:
        proc.stdout.close()  # the reader is gone before the command writes
        err = proc.stderr.read().decode()
        assert (proc.wait(timeout=120), err) == (141, "")
    assert (out / "metrics.json").exists()  # it had written its files first


def test_a_closed_pipe_silences_only_the_closed_stream_and_other_pipes_are_errors() -> None:
    # the handler sent the caller's stderr to /dev/null too (a notebook's or a thread pool's
    # later messages were lost), leaked a descriptor per call, and a command's own broken
    # socket also exited 141 without a word
    import subprocess
    import sys

    code = (
        "import argparse, os, socket, sys\n"
        "import core.cli as cli\n"
        "def broken(args):\n"
        "    a, b = socket.socketpair()\n"
        "    b.close()\n"
        "    a.sendall(b'x' * 100000)\n"
        "class Parser:\n"
        "    def parse_args(self, argv):\n"
        "        return argparse.Namespace(func=broken)\n"
        "cli.build_parser = Parser\n"
        "fds = len(os.listdir('/proc/self/fd'))\n"
        "print('code', cli.main(['x']), len(os.listdir('/proc/self/fd')) - fds, "
        "file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.stderr.splitlines() == ["prunus: error: [Errno 32] Broken pipe", "code 2 0"]
    # stdout closed: 141, and the caller's stderr still writes
    stdout = code.replace("a, b = socket.socketpair()\n    b.close()\n    a.sendall(b'x' * "
                          "100000)", "print('x' * 100000)")
    assert stdout != code
    with subprocess.Popen([sys.executable, "-c", stdout], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as proc:
        proc.stdout.close()
        assert proc.stderr.read().decode().splitlines() == ["code 141 0"]
        assert proc.wait(timeout=120) == 0


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM is a POSIX signal")
def test_sigterm_ends_a_command_as_ctrl_c_does(tmp_path: Path) -> None:
    # Slurm and PBS send SIGTERM before SIGKILL at a time limit: the command died at once
    # with status 143 and no word, leaving the temporary file of the write under way
    import signal
    import subprocess
    import sys

    code = (
        "import argparse, sys, time\n"
        "import core.cli as cli\n"
        "from core import atomic_path\n"
        "def work(args):\n"
        "    with atomic_path(sys.argv[1]) as tmp:\n"
        "        tmp.write_text('half')\n"
        "        print('writing', flush=True)\n"
        "        time.sleep(60)\n"
        "class Parser:\n"
        "    def parse_args(self, argv):\n"
        "        return argparse.Namespace(func=work)\n"
        "cli.build_parser = Parser\n"
        "sys.exit(cli.main(['x']))\n"
    )
    message = ("prunus: interrupted; commands that checkpoint (grn fit, ctmc fit, fj fit) "
               "resume when rerun with the same arguments\n")
    env = {k: v for k, v in os.environ.items() if k != "PRUNUS_DEBUG"}
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "result.csv")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "writing\n"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    # 143 = 128 + 15, the shell's status of SIGTERM (Ctrl-C's is 130); Ctrl-C's message
    assert (proc.returncode, err) == (143, message)
    assert list(tmp_path.iterdir()) == []  # the half-written file removed, as on Ctrl-C


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM is a POSIX signal")
def test_sigterm_is_handled_for_the_command_only_and_a_callers_handler_kept(monkeypatch) -> None:
    # main() runs inside callers' processes too (tests, notebooks, pipelines)
    import argparse
    import signal

    import core.cli as cli

    seen = []

    class Parser:
        def parse_args(self, argv):
            return argparse.Namespace(func=lambda args: seen.append(
                signal.getsignal(signal.SIGTERM)))

    monkeypatch.setattr(cli, "build_parser", Parser)
    before = signal.getsignal(signal.SIGTERM)
    assert before == signal.SIG_DFL
    assert main(["x"]) == 0 and callable(seen[-1])
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL

    def own(signum, frame):
        pass

    signal.signal(signal.SIGTERM, own)
    try:
        assert main(["x"]) == 0 and seen[-1] is own
        assert signal.getsignal(signal.SIGTERM) is own
    finally:
        signal.signal(signal.SIGTERM, before)


def test_python_m_core_cli_reports_a_user_mistake_in_one_line(tmp_path: Path) -> None:
    # run as __main__ the module is loaded a second time, and its CommandError was another
    # class than the one the subcommands raise: a traceback instead of "prunus: error"
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "core.cli", "fj", "simulate", "--n", "1",
                           "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (2, "prunus: error: --n must be >= 2, got 1\n")


def test_no_help_text_shows_a_doubled_percent_sign() -> None:
    # argparse %-formats an option's help but not a description: "95%%" written for both
    # showed as "95%%" in `prunus cascade size --help`
    def helps(parser: argparse.ArgumentParser) -> Iterator[str]:
        yield parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from helps(sub)

    texts = list(helps(build_parser()))
    assert len(texts) > 5  # every module's commands were reached
    assert not [t.splitlines()[0] for t in texts if "%%" in t]


def test_main_in_threads_leaves_the_callers_warning_printer_and_filters(monkeypatch) -> None:
    # main() swapped warnings.showwarning (and, through warnings.catch_warnings, the filters)
    # for the whole process: calls in threads put them back out of order, and its one-line
    # printer stayed for good (the caller's own warnings printed as "prunus: warning: ...",
    # once each). Here the first call ends while the second runs, the order that left it.
    import threading
    import warnings

    import core.cli

    first_in, second_in, first_done = (threading.Event() for _ in range(3))

    def work(args: argparse.Namespace) -> int:
        warnings.warn("a command's warning", UserWarning, stacklevel=2)
        if args.n == 0:
            first_in.set()
            assert second_in.wait(30)
        else:
            second_in.set()
            assert first_done.wait(30)
        return 0

    parser = argparse.ArgumentParser(prog="prunus")
    command = parser.add_subparsers().add_parser("work")
    command.add_argument("n", type=int)
    command.set_defaults(func=work)
    monkeypatch.setattr(core.cli, "build_parser", lambda: parser)
    codes: list[int] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the commands' warnings (pytest's are errors)
        shown, filters = warnings.showwarning, list(warnings.filters)
        first = threading.Thread(target=lambda: codes.append(main(["work", "0"])))
        second = threading.Thread(target=lambda: codes.append(main(["work", "1"])))
        first.start()
        assert first_in.wait(30)
        second.start()
        first.join(30)
        first_done.set()
        second.join(30)
        assert codes == [0, 0]
        assert warnings.showwarning is shown  # main's printer was left installed
        assert warnings.filters == filters


def test_a_figure_that_fails_to_draw_is_named_in_the_error(tmp_path: Path, monkeypatch,
                                                           capsys) -> None:
    # matplotlib's mathtext error starts with a line break and the text it failed on, so
    # the one-line error was "prunus: error: x^" (or "prunus: error: ^"): nothing said that
    # a plot failed, nor which

    def draw(args: argparse.Namespace) -> int:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        try:
            ax.set_title("$x^$")
            fig.savefig(tmp_path / "plot.png", format="png")
        finally:
            plt.close(fig)
        return 0

    _only_command(monkeypatch, "draw", draw)
    monkeypatch.delenv("PRUNUS_DEBUG", raising=False)
    assert main(["draw"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert err.startswith("prunus: error: matplotlib failed to draw plot.png: x^ ^ ")


def test_overlapping_commands_put_back_the_backend_the_first_one_found() -> None:
    # each command recorded the backend it found and put it back when it ended: one that
    # began while another's had switched to Agg recorded Agg, and ending last it left Agg
    # (a thread pool of runs took a notebook's backend; here the two overlap in one thread,
    # in the order the threads did)
    import matplotlib

    from core.cli import _matplotlib_backend_kept

    caller, fallback = matplotlib.get_backend(), matplotlib.rcParams["backend_fallback"]
    matplotlib.use("pdf")
    try:
        first, second = _matplotlib_backend_kept(), _matplotlib_backend_kept()
        first.__enter__()
        matplotlib.use("Agg")  # the first command draws
        second.__enter__()
        first.__exit__(None, None, None)
        matplotlib.use("Agg")  # the second draws
        second.__exit__(None, None, None)
        assert matplotlib.get_backend() == "pdf"
    finally:
        matplotlib.use(caller)
        matplotlib.rcParams["backend_fallback"] = fallback  # use() turned it off


def _only_command(monkeypatch, name: str, func: Any) -> None:
    """Make ``main`` know one command, ``name``, run by ``func``."""
    import core.cli

    parser = argparse.ArgumentParser(prog="prunus")
    parser.add_subparsers().add_parser(name).set_defaults(func=func)
    monkeypatch.setattr(core.cli, "build_parser", lambda: parser)


def _edgelist(tmp_path: Path) -> Path:
    """A three-edge path a -> b -> c -> d for ``prunus cascade size``."""
    path = tmp_path / "g.edgelist"
    path.write_text("a b 0.5\nb c 0.5\nc d 0.5\n")
    return path


def test_a_matplotlibrc_with_usetex_and_no_latex_still_draws_every_file(
        tmp_path: Path, monkeypatch, capsys) -> None:
    # `text.usetex: True` in a user's matplotlibrc on a machine where LaTeX cannot run failed
    # every command with a traceback ("Failed to process string with tex because latex
    # could not be found") and lost its results: cascade size wrote no folder at all. The
    # figures are now drawn without LaTeX, with one warning; "latex unusable" is forced, so
    # the test holds on machines with LaTeX too
    import warnings

    import matplotlib

    import core.cli

    graph = _edgelist(tmp_path)
    monkeypatch.delenv("PRUNUS_DEBUG", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # shown by main's printer (pytest's are errors)
        assert main(["cascade", "size", str(graph), "--seed", "b", "--out",
                     str(tmp_path / "plain")]) == 0
        capsys.readouterr()
        monkeypatch.setattr(core.cli, "_latex_problem", lambda: "latex could not be found",
                            raising=False)
        monkeypatch.setattr(core.cli, "_USETEX_WARNED", set())  # not yet said in this process
        monkeypatch.setitem(matplotlib.rcParams, "text.usetex", True)
        assert main(["cascade", "size", str(graph), "--seed", "b", "--out",
                     str(tmp_path / "tex")]) == 0
        assert matplotlib.rcParams["text.usetex"] is True  # the user's setting, as it was
    # once; other lines are libraries' own deprecations (pyparsing's under matplotlib 3.7)
    err = [line for line in capsys.readouterr().err.splitlines()
           if "deprecat" not in line.lower()]
    assert err == [
        "prunus: warning: matplotlib's text.usetex is on, but LaTeX cannot draw here (latex "
        "could not be found): the figures are drawn without LaTeX"]
    for name in ("distribution.csv", "summary.json", "distribution.png"):
        assert (tmp_path / "tex" / name).is_file(), name
    # the same figure as a run without usetex, to the byte
    assert ((tmp_path / "tex" / "distribution.png").read_bytes()
            == (tmp_path / "plain" / "distribution.png").read_bytes())


def test_the_usetex_fallback_is_said_once_a_process(monkeypatch) -> None:
    # a command draws in several locked blocks: in threads, where main's printer does not
    # gather them, each block's warning showed (four for one cascade size run)
    import warnings

    import matplotlib

    import core.cli
    from core.cli import figures_locked

    monkeypatch.setattr(core.cli, "_latex_problem", lambda: "latex could not be found",
                        raising=False)
    monkeypatch.setattr(core.cli, "_USETEX_WARNED", set())
    monkeypatch.setitem(matplotlib.rcParams, "text.usetex", True)
    monkeypatch.setitem(matplotlib.rcParams, "backend_fallback",
                        matplotlib.rcParams["backend_fallback"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            with figures_locked():
                assert matplotlib.rcParams["text.usetex"] is False  # drawn without LaTeX
    assert [str(w.message) for w in caught] == [
        "matplotlib's text.usetex is on, but LaTeX cannot draw here (latex could not be "
        "found): the figures are drawn without LaTeX"]
    assert matplotlib.rcParams["text.usetex"] is True


def test_latex_that_works_keeps_the_users_usetex(monkeypatch) -> None:
    # the fallback is for machines where LaTeX cannot run only: where it can, the figures
    # are drawn with it, as the user's matplotlibrc asks, and nothing is said
    import matplotlib

    import core.cli
    from core.cli import figures_locked

    monkeypatch.setattr(core.cli, "_latex_problem", lambda: None, raising=False)
    monkeypatch.setitem(matplotlib.rcParams, "text.usetex", True)
    # matplotlib.use("Agg") turns it off; put back after the test
    monkeypatch.setitem(matplotlib.rcParams, "backend_fallback",
                        matplotlib.rcParams["backend_fallback"])
    with figures_locked():  # a warning here would be an error (pytest's filters)
        assert matplotlib.rcParams["text.usetex"] is True


def _failing_tex_command(monkeypatch, tmp_path: Path, error: Exception | None) -> None:
    """Make ``main(["draw"])`` draw TeX text whose layout raises ``error`` inside matplotlib.

    With ``error`` None matplotlib's TeX layout runs as it is.
    """
    import matplotlib.texmanager


    def fail(*args: object, **kwargs: object) -> None:
        raise error

    if error is not None:
        monkeypatch.setattr(matplotlib.texmanager.TexManager, "make_dvi", fail)

    def draw(args: argparse.Namespace) -> int:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        try:
            ax.set_title("x", usetex=True)
            fig.savefig(tmp_path / "plot.png", format="png")
        finally:
            plt.close(fig)
        return 0

    _only_command(monkeypatch, "draw", draw)


def test_a_runtime_error_inside_matplotlib_is_one_line(tmp_path: Path, monkeypatch,
                                                       capsys) -> None:
    # matplotlib's RuntimeError (LaTeX not found) was not among the errors main() words in
    # one line: the command ended in a traceback of many lines. matplotlib raises it itself
    # here: the tex programs are not found when it runs them
    import subprocess

    message = "Failed to process string with tex because latex could not be found"
    _failing_tex_command(monkeypatch, tmp_path, None)

    def not_found(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError("latex")

    monkeypatch.setattr(subprocess, "check_output", not_found)
    monkeypatch.delenv("PRUNUS_DEBUG", raising=False)
    assert main(["draw"]) == 2
    assert capsys.readouterr().err == (f"prunus: error: matplotlib failed to draw plot.png: "
                                       f"{message}\n")
    monkeypatch.setenv("PRUNUS_DEBUG", "1")  # the traceback, on request
    with pytest.raises(RuntimeError, match="latex could not be found"):
        main(["draw"])


def test_aggs_cell_block_overflow_is_one_line(tmp_path: Path, monkeypatch, capsys) -> None:
    # Agg's OverflowError for a path of millions of points (matplotlib words it over several
    # lines: "Exceeded cell block limit in Agg, however ...") was not among the errors
    # main() words: the command ended in a traceback. Agg's C++ renderer raises it here
    # on the first path, as it does past its cell limit (a million-point line, 26 s)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends import backend_agg

    class Full:
        def __init__(self, *args: object) -> None:
            self._renderer = real(*args)

        def __getattr__(self, name: str) -> object:
            return getattr(self._renderer, name)

        def draw_path(self, *args: object) -> None:
            raise OverflowError("In draw_path: Exceeded cell block limit")

    real = backend_agg._RendererAgg
    monkeypatch.setattr(backend_agg, "_RendererAgg", Full)

    def plot(args: argparse.Namespace) -> int:
        fig, ax = plt.subplots()
        try:
            ax.plot([0.0, 1.0, 0.5], lw=1)
            fig.savefig(tmp_path / "plot.png", format="png")
        finally:
            plt.close(fig)
        return 0

    _only_command(monkeypatch, "plot", plot)
    monkeypatch.delenv("PRUNUS_DEBUG", raising=False)
    assert main(["plot"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("prunus: error: matplotlib failed to draw plot.png: Exceeded cell "
                          "block limit in Agg")
    assert err.count("\n") == 1 and not (tmp_path / "plot.png").exists()

    def overflow(args: argparse.Namespace) -> int:
        raise OverflowError("math range error")  # prunus's own: a bug, with its traceback

    _only_command(monkeypatch, "overflow", overflow)
    with pytest.raises(OverflowError, match="math range error"):
        main(["overflow"])


def test_a_runtime_error_outside_matplotlib_keeps_its_traceback(monkeypatch) -> None:
    # only matplotlib's own are worded: a RuntimeError of prunus is a bug, shown as one

    def boom(args: argparse.Namespace) -> int:
        raise RuntimeError("a bug")

    _only_command(monkeypatch, "boom", boom)
    monkeypatch.delenv("PRUNUS_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["boom"])


def test_a_runtime_error_matplotlib_passes_on_keeps_its_traceback(monkeypatch) -> None:
    # raised by code matplotlib called (torch's __array__ of a tensor that requires grad, a
    # callback), or a RecursionError: a bug of the command, not a figure matplotlib could
    # not draw, was worded "matplotlib failed to draw a figure"
    import matplotlib


    class Values:
        def __array__(self, *args: object, **kwargs: object) -> None:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad")

    def plot(args: argparse.Namespace) -> int:
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        try:
            ax.plot(Values())
        finally:
            plt.close(fig)
        return 0

    _only_command(monkeypatch, "plot", plot)
    monkeypatch.delenv("PRUNUS_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match="requires grad"):
        main(["plot"])


def test_a_very_long_matplotlib_message_is_cut(tmp_path: Path, monkeypatch, capsys) -> None:
    # a name matplotlib could not draw gave pybind's signature dump, 600 characters on one
    # line ("set_text(): incompatible function arguments. The following argument types ...")
    detail = "set_text(): incompatible function arguments. " + "x" * 600
    _failing_tex_command(monkeypatch, tmp_path, TypeError(detail))
    monkeypatch.delenv("PRUNUS_DEBUG", raising=False)
    assert main(["draw"]) == 2
    err = capsys.readouterr().err
    lead = "prunus: error: matplotlib failed to draw plot.png: "
    assert err == lead + detail[:200] + "...\n"


def test_drawable_text_replaces_the_bytes_of_a_name_that_is_not_utf8() -> None:
    # a Latin-1 file name on a UTF-8 system arrives with surrogate escapes ("x\udce4dj.csv"),
    # which matplotlib cannot draw: the figure, and with it the whole run, failed
    from core.cli import drawable_text

    assert drawable_text("x\udce4dj.csv, n=3") == "x\ufffddj.csv, n=3"
    assert drawable_text("\u00e4\u03a9.csv") == "\u00e4\u03a9.csv"  # real text as it is
    assert drawable_text("a\ud800b") == "a\ufffdb"  # a lone surrogate not from a byte
    assert drawable_text(Path("x\udce4.csv")) == "x\ufffd.csv"


def _blocked_home(tmp_path: Path, monkeypatch) -> Path:
    """Give the test a home folder that cannot be made (under a file) and its own temp."""
    (tmp_path / "afile").write_text("")
    monkeypatch.setenv("HOME", str(tmp_path / "afile" / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return temp


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX users and homes")
def test_no_writable_home_gives_numba_a_private_temporary_cache(tmp_path: Path,
                                                                 monkeypatch) -> None:
    # a read-only installation (cluster modules, docker --user) without a writable home:
    # `prunus demo` crashed inside numba ("cannot cache function '_is_constant_csr_rows':
    # no locator available"), scanpy's cached functions having nowhere to go
    from core.cli import _numba_cache_fallback

    temp = _blocked_home(tmp_path, monkeypatch)
    folder = _numba_cache_fallback()
    assert folder == str(temp / f"prunus-numba-cache-{os.getuid()}")
    assert (Path(folder).stat().st_mode & 0o777) == 0o700  # numba's cache holds pickles
    assert _numba_cache_fallback() == folder  # the same one in the next run
    # a writable home: numba caches there, as before
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _numba_cache_fallback() is None


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX users and homes")
def test_a_numba_cache_dir_already_set_is_left_alone(tmp_path: Path, monkeypatch) -> None:
    from core.cli import _numba_cache_fallback

    _blocked_home(tmp_path, monkeypatch)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert _numba_cache_fallback() is None
    # someone else's folder of that name (or a link) is not used: a fresh private one is
    other = tmp_path / "tmp" / f"prunus-numba-cache-{os.getuid()}"
    other.mkdir(mode=0o777)
    other.chmod(0o777)
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    folder = _numba_cache_fallback()
    assert folder is not None and Path(folder).parent == tmp_path / "tmp"
    assert Path(folder) != other and (Path(folder).stat().st_mode & 0o777) == 0o700


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX users and homes")
def test_the_command_line_sets_the_numba_cache_before_numba_is_imported(
        tmp_path: Path) -> None:
    # main() decides before any module imports numba (scanpy does when a command runs),
    # which reads NUMBA_CACHE_DIR once, on import
    import subprocess
    import sys

    (tmp_path / "afile").write_text("")
    (tmp_path / "tmp").mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("XDG_CACHE_HOME", "NUMBA_CACHE_DIR", "PRUNUS_DEBUG")}
    env.update(HOME=str(tmp_path / "afile" / "home"), TMPDIR=str(tmp_path / "tmp"))
    script = ("import os, sys\n"
              "import core.cli\n"
              "try:\n"
              "    core.cli.main(['--version'])\n"
              "except SystemExit:\n"
              "    pass\n"
              "print('numba' in sys.modules, os.environ.get('NUMBA_CACHE_DIR'))\n")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "tmp" / f"prunus-numba-cache-{os.getuid()}"
    assert done.stdout.splitlines()[-1] == f"False {folder}"


def test_a_warning_the_filters_make_an_error_is_a_one_line_error(monkeypatch,
                                                                  capsys) -> None:
    # under `python -W error` or PYTHONWARNINGS=error a command's warning is raised as an
    # exception, and it escaped main: a 23-line traceback ending "UserWarning: the model
    # explains only 10% ...", exit code 1, where other errors are one line with code 2
    import warnings

    def warn(args: argparse.Namespace) -> int:
        warnings.warn("the model explains only 10% of the variance\nsecond line",
                      UserWarning, stacklevel=2)
        return 0

    _only_command(monkeypatch, "warn", warn)
    monkeypatch.delenv("PRUNUS_DEBUG", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as -W error has it
        assert main(["warn"]) == 2
    assert capsys.readouterr().err == (
        "prunus: error: the model explains only 10% of the variance\n")
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # no such filter: one line, the command goes on
        assert main(["warn"]) == 0
    assert capsys.readouterr().err == (
        "prunus: warning: the model explains only 10% of the variance\n")
    monkeypatch.setenv("PRUNUS_DEBUG", "1")  # the traceback, on request, as for errors
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="explains only 10%"):
            main(["warn"])


def test_a_warning_made_an_error_names_the_options_as_the_warning_does(monkeypatch,
                                                                        capsys) -> None:
    # a library warning shown inside options_in_errors names the options (--epochs 1); made
    # an error by the filters it named the Python arguments (epochs=1)
    import warnings

    from core.cli import options_in_errors

    def warn(args: argparse.Namespace) -> int:
        with options_in_errors({"epochs": "--epochs"}):
            warnings.warn("epochs=1 runs no pruning round", UserWarning, stacklevel=2)
        return 0

    _only_command(monkeypatch, "warn", warn)
    monkeypatch.delenv("PRUNUS_DEBUG", raising=False)
    for action, code, kind in (("default", 0, "warning"), ("error", 2, "error")):
        with warnings.catch_warnings():
            warnings.simplefilter(action)
            assert main(["warn"]) == code
        assert capsys.readouterr().err == f"prunus: {kind}: --epochs 1 runs no pruning round\n"
    monkeypatch.setenv("PRUNUS_DEBUG", "1")  # still the warning's class, for the filters
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="^--epochs 1 runs no pruning round$"):
            main(["warn"])


def test_a_reworded_warning_made_an_error_keeps_its_text_and_attributes() -> None:
    # the reworded copy was built by calling the class again, type(exc)(text): a class that
    # formats its message formatted it twice ("bad value of step_size: bad value of
    # --step-size: 5"), one with an optional attribute lost it, and one of two arguments
    # became a single argument holding the tuple's repr
    import warnings

    from core.cli import options_in_errors

    class Formatted(UserWarning):
        def __init__(self, n: object) -> None:
            super().__init__(f"bad value of step_size: {n}")

    class Coded(UserWarning):
        def __init__(self, message: str, code: int | None = None) -> None:
            super().__init__(message)
            self.code = code

    def raised(warning: Warning) -> Warning:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(Warning) as info, options_in_errors({"step_size": "--step-size"}):
                warnings.warn(warning, stacklevel=2)
        return info.value

    got = raised(Formatted(5))
    assert type(got) is Formatted and str(got) == "bad value of --step-size: 5"
    got = raised(Coded("step_size=0 is too small", code=7))
    assert type(got) is Coded and str(got) == "--step-size 0 is too small" and got.code == 7
    two = UserWarning("step_size x", "extra")  # several parts: left as it came
    assert raised(two) is two


def test_a_real_commands_warning_made_an_error_is_one_line(tmp_path: Path, monkeypatch,
                                                           capsys) -> None:
    # `python -W error -m core.cli ctmc fit` on a cohort with an event never observed ended
    # in a traceback from validate_cohort and exit code 1
    import warnings

    path = tmp_path / "cohort.csv"
    path.write_text("A,B,C\n" + "1,0,0\n0,1,0\n1,1,0\n0,0,0\n" * 5)
    monkeypatch.delenv("PRUNUS_DEBUG", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["ctmc", "fit", str(path), "--l1", "0.01", "--quiet", "--out",
                     str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == (
        "prunus: error: events never observed in any tumour: ['C']; their base rates are "
        "driven down only as far as the optimiser allows (kept finite)\n")
    assert not (tmp_path / "o" / "theta.csv").exists()


def test_example_help_keeps_the_example_whole_on_a_narrow_terminal(monkeypatch) -> None:
    # grn, fj and cascade each had a copy of this layout, and ctmc none: argparse wrapped
    # its example at COLUMNS=60 ("... --seed 0" / "--out results/"), which cannot be copied
    monkeypatch.setenv("COLUMNS", "60")
    line = "prunus ctmc fit cohort.csv --method auto --seed 0 --out results/"  # 65 characters
    parser = argparse.ArgumentParser(prog="prunus x", description="word " * 30,
                                     **example_help(line))
    lines = parser.format_help().splitlines()
    assert lines[-2:] == ["example:", f"  {line}"]
    assert max(map(len, lines[:-1])) <= 60  # the description still wraps
    with pytest.raises(ValueError, match=r"command_line: expected one line of text, got "
                                         r"'prunus x\\nprunus y'"):
        example_help("prunus x\nprunus y")
    with pytest.raises(TypeError, match="command_line: expected a str, got list"):
        example_help(["prunus", "x"])  # type: ignore[arg-type]


def test_a_command_ends_well_with_a_standard_output_that_cannot_flush(monkeypatch) -> None:
    # the flush that finds a closed pipe raised AttributeError on a tee without flush()
    import argparse
    import sys

    import core.cli as cli

    class Tee:
        def write(self, text: str) -> int:
            return len(text)

    class Parser:
        def parse_args(self, argv):
            return argparse.Namespace(func=lambda args: print("done") or 0)

    monkeypatch.setattr(cli, "build_parser", Parser)
    monkeypatch.setattr(sys, "stdout", Tee())
    assert cli.main(["x"]) == 0
