"""The ``prunus`` command line: a thin front that finds each module's subcommands.

Applied modules declare ``register(subparsers)`` functions in the ``prunus.commands``
entry-point group (see ``pyproject.toml``); this front loads them, so ``core`` never
imports ``biomodels`` or ``multiagent`` and a new module adds a command without
touching ``core``.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import functools
import math
import os
import re
import select
import shutil
import signal
import stat
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, entry_points, version
from pathlib import Path
from typing import Any

__all__ = [
    "ENTRY_POINT_GROUP",
    "CommandError",
    "ExampleFormatter",
    "at_least",
    "build_parser",
    "command_required",
    "drawable_text",
    "example_help",
    "existing_file",
    "figures_locked",
    "main",
    "option_names",
    "options_in_errors",
    "output_folder",
    "random_seed",
]

ENTRY_POINT_GROUP = "prunus.commands"


class CommandError(Exception):
    """A user mistake that the command line reports in one line with exit code 2."""


def option_names(message: str, options: Mapping[str, str],
                 choices: Collection[str] = ()) -> str:
    """Return a library message with the argument names it shows as command-line options.

    The library names its arguments (``time_key='t' is not a column``), which a user of
    the command line never typed; its messages stay as they are for Python users, and the
    commands reword them.

    Parameters
    ----------
    message
        The library's message.
    options
        Python argument name -> option (``{"time_key": "--time-key"}``).
    choices
        Names of options with fixed values, shown unquoted as typed (``--method mcmc``).

    Returns
    -------
    str
        ``name=value`` as ``--option value``; a bare ``name`` only where it holds an
        underscore, which no sentence uses (``prior_weight < 1``); names inside paths are
        left alone.

    Examples
    --------
    >>> option_names("method='exact' needs n <= 25", {"method": "--method"}, ["method"])
    '--method exact needs n <= 25'
    """
    for name, option in options.items():
        lead = rf"(?<![\w./\\-]){name}"  # not inside a path, POSIX or Windows
        if name in choices:  # method='mcmc' -> --method mcmc
            message = re.sub(lead + r"='([\w.-]+)'", rf"{option} \1", message)
        message = re.sub(lead + "=", f"{option} ", message)
        if "_" in name:
            message = re.sub(lead + r"(?![\w./\\-])", option, message)
    return message


@contextlib.contextmanager
def options_in_errors(options: Mapping[str, str],
                      choices: Collection[str] = ()) -> Iterator[None]:
    """Re-raise a library ValueError that names an argument as a one-line CommandError.

    Warnings shown inside the block get the same wording, as they are shown (a long fit's
    warnings are not held back to its end), and so do those that the warning filters make
    errors (``-W error``): re-raised as their own class, which :func:`main` reports as it
    reports errors.

    Parameters
    ----------
    options, choices
        As in :func:`option_names`.

    Yields
    ------
    None
        The block whose library calls are covered; other errors pass unchanged.

    Notes
    -----
    Warnings are reworded in the main thread only: ``warnings.showwarning`` is one for the
    whole process, and blocks in threads put it back out of order, leaving a rewording
    printer installed for good. Errors are reworded in any thread.
    """
    if threading.current_thread() is not threading.main_thread():
        with _reworded_errors(options, choices):
            yield
        return
    shown = warnings.showwarning

    def reworded(message: Warning | str, category: type[Warning], filename: str,
                 lineno: int, file: Any = None, line: str | None = None) -> None:
        text = option_names(str(message), options, choices)
        shown(message if text == str(message) else text, category, filename, lineno, file,
              line)

    warnings.showwarning = reworded
    try:
        with _reworded_errors(options, choices):
            yield
    finally:
        warnings.showwarning = shown


@contextlib.contextmanager
def _reworded_errors(options: Mapping[str, str], choices: Collection[str]) -> Iterator[None]:
    """Reword errors as :func:`options_in_errors` does, touching no process-wide state."""
    try:
        yield
    except ValueError as exc:
        text = option_names(str(exc), options, choices)
        if text == str(exc):
            raise
        raise CommandError(text) from exc
    except Warning as exc:
        # one the filters made an error: worded as it is shown when only shown, and of its
        # own class still (the caller's filters and handlers name the class)
        text = option_names(str(exc), options, choices)
        if text == str(exc) or len(exc.args) != 1 or not isinstance(exc.args[0], str):
            raise  # unchanged, or a message of several parts: left as it came
        # a copy with the new text, its constructor not run again: type(exc)(text) formatted
        # a formatting class's message twice and dropped the attributes of another
        reworded = type(exc).__new__(type(exc))
        reworded.__dict__.update(exc.__dict__)
        reworded.args = (text,)
        if str(reworded) != text:
            raise  # a class that words itself (its own __str__): left as it came
        raise reworded.with_traceback(exc.__traceback__) from exc


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread as Ctrl-C's KeyboardInterrupt is (same cleanup)."""


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into :class:`_Terminated` for the block; the handler before is put back.

    A batch system (Slurm, PBS) sends SIGTERM before SIGKILL at its time limit: by default
    it ended the process at once, with no word, no finally block run (a staging folder or
    a temporary file left behind). Unwound like Ctrl-C, the command cleans up and says how
    to resume. A handler the caller set (or SIG_IGN) is kept, as is everything outside
    the main thread, where no handler can be set. A second SIGTERM ends the process at
    once, as before, should the cleanup hang.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.getsignal(signal.SIGTERM)
    if before != signal.SIG_DFL:
        yield
        return

    def terminated(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the next one ends it outright
        raise _Terminated

    signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit with code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


class ExampleFormatter(argparse.HelpFormatter):
    """argparse's help layout, but a text starting ``example:`` keeps its lines as they are.

    argparse joins the lines of an epilog and wraps them to the terminal's width
    (``COLUMNS``), which split a long example command over two lines where it could not be
    copied; the description and the options' help wrap as before.
    """

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if not text.startswith("example:"):
            return super()._fill_text(text, width, indent)
        return "\n".join(indent + line for line in text.splitlines())


def command_required(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """Return the handler of a command group run without one of its commands.

    ``prunus grn`` printed the group's help and exited 0, so a pipeline rule whose
    subcommand came out empty "succeeded" without doing anything: it is now a usage error
    (exit code 2) that names the commands.

    Parameters
    ----------
    parser
        The group's parser (``prunus`` itself, or ``prunus grn``), its commands added.

    Returns
    -------
    callable
        The handler to set as the group's ``func``; it raises ``SystemExit(2)``.
    """

    def handler(args: argparse.Namespace) -> int:
        groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        names = ", ".join(groups[0].choices) if groups else ""
        parser.error(f"a command is required ({names}); '{parser.prog} --help' describes "
                     "them")
        return 2  # parser.error exits first

    return handler


def example_help(command_line: str) -> dict[str, Any]:
    """Return the ``add_parser`` arguments that end a command's ``--help`` with an example.

    Parameters
    ----------
    command_line
        The example, as a user would type it (one line; README's).

    Returns
    -------
    dict
        ``epilog`` (``"example:"``, then the command line indented on a line of its own)
        and ``formatter_class`` (:class:`ExampleFormatter`, which never wraps that line,
        whatever the terminal's width), for ``subparsers.add_parser(name, **...)``.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="prunus demo", **example_help("prunus demo"))
    >>> parser.format_help().splitlines()[-2:]
    ['example:', '  prunus demo']
    """
    if not isinstance(command_line, str):
        raise TypeError(f"command_line: expected a str, got {type(command_line).__name__}")
    if not command_line.strip() or len(command_line.splitlines()) != 1:
        # the layout keeps lines as given: a line break would cut the command to copy
        raise ValueError(f"command_line: expected one line of text, got {command_line!r}")
    return {"epilog": f"example:\n  {command_line}", "formatter_class": ExampleFormatter}


def warn_ignored(options: Sequence[str], why: str) -> None:
    r"""Tell the user, on stderr, that options they set do nothing in this run, and why.

    Parameters
    ----------
    options
        The options as typed, with their values where that helps (``"--seed 3"``); none:
        nothing is printed.
    why
        The reason, after ``"ignoring --a and --b: "``.

    Examples
    --------
    >>> import contextlib, io
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     warn_ignored(["--runs", "--rng-seed"], "method tree does not sample")
    >>> err.getvalue()
    'prunus: warning: ignoring --runs and --rng-seed: method tree does not sample\n'
    """
    if not options:
        return
    joined = options[0] if len(options) == 1 else (
        f"{', '.join(options[:-1])} and {options[-1]}")
    print(f"prunus: warning: ignoring {joined}: {why}", file=sys.stderr)


def existing_file(value: str) -> Path:
    """Argparse type for an input file that must exist.

    Parameters
    ----------
    value
        The path given on the command line.

    Returns
    -------
    Path
        The path, checked to be an existing file; a leading ``~`` expanded as for
        :func:`output_folder`.
    """
    path = Path(os.path.expanduser(value))  # `--prior=~/p.csv`: "no such file", yet there
    if not path.is_file():
        if not value.strip():  # Path("") is the current folder
            raise argparse.ArgumentTypeError("expected a file, got an empty name")
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"{value!r} is a folder; give a file")
        if path.exists():  # a pipe (bash's <(...)) or a device: read once, or not at all
            raise argparse.ArgumentTypeError(
                f"{value!r} is not a regular file (a pipe or a device); save it to a file")
        raise argparse.ArgumentTypeError(f"no such file: {value!r}")
    return path


def output_folder(value: str) -> Path:
    """Argparse type for an output folder: new or existing, but not an existing file.

    Checked when the command line is read, so a long fit does not end in "not a folder":
    the folder, or the nearest of its parents that exists, must be a folder one can write
    in (a file made there and removed at once shows it).

    Parameters
    ----------
    value
        The path given on the command line.

    Returns
    -------
    Path
        The path, with a leading ``~`` or ``~user`` expanded to that home folder.
    """
    if not value.strip():  # `--out "$DIR"` with DIR unset wrote into the current folder
        raise argparse.ArgumentTypeError("expected a folder, got an empty name (use '.' for "
                                         "the current folder)")
    # bash expands ~ only at the start of a word, so `--out=~/x` arrives as typed; pandas
    # expands it and Path does not, so a run wrote half its files under either
    path = Path(os.path.expanduser(value))
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value!r} is an existing file; give a folder")
    folder = path.absolute()
    while not folder.exists() and folder != folder.parent:
        if folder.is_symlink():  # mkdir fails on it ("File exists"), after the whole run
            raise argparse.ArgumentTypeError(
                f"cannot make the folder {value!r}: {str(folder)!r} is a link to "
                f"{os.readlink(folder)!r}, which does not exist; make that folder first")
        folder = folder.parent
    if not folder.is_dir():  # e.g. results.csv/run1: the folder cannot be made
        raise argparse.ArgumentTypeError(
            f"cannot make the folder {value!r}: {str(folder)!r} is an existing file")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise argparse.ArgumentTypeError(
            f"cannot write in {str(folder)!r} (for {value!r}): {exc.strerror or exc}") from None
    return path


def at_least(low: float, kind: type = float) -> Callable[[str], Any]:
    """Argparse type for a number ``>= low``, whole (``kind=int``) or a finite float.

    Whole numbers serve counts, seeds and rounds; floats refuse NaN and inf.

    Parameters
    ----------
    low
        The smallest value allowed.
    kind
        ``int`` or ``float``.

    Returns
    -------
    callable
        A parser that raises ``argparse.ArgumentTypeError`` for other input (one line naming
        the value, which argparse prefixes with the option).

    Examples
    --------
    >>> at_least(1, int)("3"), at_least(0.0)("0.5")
    (3, 0.5)
    """
    whole = kind is int

    def parse(value: str) -> Any:
        try:
            x = kind(value)
        except ValueError:
            expected = "a whole number" if whole else "a number"
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value!r}") from None
        if (not whole and not math.isfinite(x)) or x < low:
            what = "" if whole else "a finite number "
            raise argparse.ArgumentTypeError(f"must be {what}>= {low}, got {value}")
        return x

    return parse


def random_seed(value: str) -> int:
    """Argparse type for a random seed: a whole number in ``[0, 2**64 - 1]``.

    torch's generators take no more ("Overflow when unpacking long long", naming no option).

    Parameters
    ----------
    value
        The command-line text.

    Returns
    -------
    int
        The seed.

    Examples
    --------
    >>> random_seed("7")
    7
    """
    seed = at_least(0, int)(value)
    if seed >= 2**64:
        raise argparse.ArgumentTypeError(f"must be < 2**64 (a 64-bit seed), got {value}")
    return seed


def probability(value: str) -> float:
    """Argparse type for a probability in [0, 1] (NaN and text refused, naming the value).

    Parameters
    ----------
    value
        The command-line text.

    Returns
    -------
    float
        The probability.

    Examples
    --------
    >>> probability("0.25")
    0.25
    """
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if not 0.0 <= x <= 1.0:  # also NaN
        raise argparse.ArgumentTypeError(f"must be a probability in [0, 1], got {value}")
    return x


#: The lock of every command's figures, one for the process: matplotlib's mathtext parser
#: (the "10^{-12}" tick labels of a log axis), pyplot's list of figures and its backend
#: switch are not thread-safe, and runs of :func:`main` in a thread pool failed in most
#: threads ("Unknown symbol: \mathdefault"). Re-entrant, so that a locked block may call
#: code that locks again.
_FIGURES = threading.RLock()
#: the commands running now and the backend (and fallback) the caller had before the first
_BACKEND_KEPT: dict[str, Any] = {"running": 0, "before": None, "fallback": None}
#: the reasons LaTeX cannot draw that a warning has named (once a process, under the lock)
_USETEX_WARNED: set[str] = set()


@contextlib.contextmanager
def figures_locked() -> Iterator[Any]:
    """Hold the process-wide figure lock for the block; yield ``matplotlib.pyplot`` on Agg.

    A command holds it while it makes, lays out and saves a figure, and while it closes
    it; the rest of its work (fits, other files) runs outside it. Other threads' commands
    wait for their own drawing, so runs of :func:`main` in a thread pool draw one figure at
    a time, with the same files as runs one after another.

    Yields
    ------
    module
        ``matplotlib.pyplot``, with the Agg backend selected (inside the lock: switching
        the backend closes every figure of the process).

    Warns
    -----
    UserWarning
        When ``rcParams["text.usetex"]`` is on (a matplotlibrc's ``text.usetex: True``) and
        LaTeX cannot draw here (no ``latex`` or ``dvipng``, or a trial fails): the block
        then runs with ``text.usetex`` off, and the user's setting is back after it (the
        warning once a process). Where LaTeX works, the figures are drawn with it.

    Examples
    --------
    >>> with figures_locked() as plt:
    ...     fig, ax = plt.subplots()
    ...     plt.close(fig)
    """
    with _FIGURES:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        problem = _latex_problem() if matplotlib.rcParams["text.usetex"] else None
        if problem is None:
            yield plt
            return
        # a matplotlibrc of a laptop with TeX, read on a compute node without it, failed
        # every command after its work, with no file written. Said once a process: a
        # command draws in several blocks, and in threads each block's warning showed
        if problem not in _USETEX_WARNED:
            _USETEX_WARNED.add(problem)
            warnings.warn(f"matplotlib's text.usetex is on, but LaTeX cannot draw here "
                          f"({problem}): the figures are drawn without LaTeX", UserWarning,
                          stacklevel=3)
        with matplotlib.rc_context({"text.usetex": False}):
            yield plt


def _latex_problem() -> str | None:
    """Why matplotlib cannot draw text with LaTeX here, or None when it can.

    Checked once a process for each preamble and font family (under the figure lock).
    """
    import matplotlib

    return _latex_problem_with(str(matplotlib.rcParams["text.latex.preamble"]),
                               tuple(matplotlib.rcParams["font.family"]))


@functools.cache
def _latex_problem_with(preamble: str, family: tuple[str, ...]) -> str | None:
    """:func:`_latex_problem` for this preamble and font family (the cache's keys)."""
    # Agg lays out TeX text with latex and draws it with dvipng (ghostscript serves the
    # PostScript backend only, which no command uses)
    for program in ("latex", "dvipng"):
        if shutil.which(program) is None:
            return f"{program} could not be found"
    from matplotlib.texmanager import TexManager

    try:  # the programs are there: a missing LaTeX package or an old dvipng still fail
        TexManager().get_text_width_height_descent("0.5", 10)
        TexManager().get_grey("0.5", 10, 72)
    except Exception as exc:  # whatever it is, the figures would fail the same way
        lines = str(exc).strip().splitlines()
        return lines[0].rstrip(":") if lines else type(exc).__name__
    return None


def drawable_text(text: str | os.PathLike[str]) -> str:
    r"""Return a file name, or text holding one, as text that matplotlib can draw.

    A file name whose bytes are not UTF-8 (a Latin-1 name from an old Windows zip on a UTF-8
    system) arrives with surrogate escapes (``"x\udce4dj.csv"``), which matplotlib refuses:
    a title holding one failed the figure, and with it the whole run. Use it for every
    figure text that holds a file name or a name the user gave.

    Parameters
    ----------
    text
        The name, a path, or a title holding them.

    Returns
    -------
    str
        The text, with each undecodable byte (and any other lone surrogate) as U+FFFD;
        valid text unchanged.

    Examples
    --------
    >>> drawable_text("x\udce4dj.csv") == "x\ufffddj.csv"
    True
    """
    text = os.fspath(text)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate not from a byte (a Windows name may hold one)
        return re.sub("[\ud800-\udfff]", "\ufffd", text)


def _debug() -> bool:
    """Whether ``PRUNUS_DEBUG`` asks for tracebacks (``0``, like unset, does not)."""
    return os.environ.get("PRUNUS_DEBUG", "").strip() not in ("", "0")


@contextlib.contextmanager
def _matplotlib_backend_kept() -> Iterator[None]:
    """Leave matplotlib's backend as the caller had it when the block ends.

    The commands draw their figures with Agg (``matplotlib.use("Agg")``); a notebook that
    ran one through :func:`main` kept Agg for good, and its inline figures stopped showing.
    ``matplotlib.use`` also turns ``rcParams["backend_fallback"]`` off, which is put back.
    """
    # the first of the commands running at once records the caller's backend and the last
    # to end puts it back: each recording its own, a thread that began while another's
    # command had switched to Agg put Agg back when it ended last (a thread pool of runs
    # left a notebook on Agg)
    with _FIGURES:
        if _BACKEND_KEPT["running"] == 0:
            mpl = sys.modules.get("matplotlib")
            # the caller's backend, or the one its own later import would choose
            _BACKEND_KEPT["before"] = (mpl.get_backend() if mpl is not None
                                       else os.environ.get("MPLBACKEND"))
            _BACKEND_KEPT["fallback"] = (mpl.rcParams["backend_fallback"] if mpl is not None
                                         else None)
        _BACKEND_KEPT["running"] += 1
    try:
        yield
    finally:
        # under the figure lock: switching the backend closes every figure of the process,
        # those that other threads' commands are drawing too
        with _FIGURES:
            _BACKEND_KEPT["running"] -= 1
            before, fallback = _BACKEND_KEPT["before"], _BACKEND_KEPT["fallback"]
            mpl = sys.modules.get("matplotlib") if _BACKEND_KEPT["running"] == 0 else None
            if mpl is not None:
                if before is None:
                    # matplotlib first imported by the command: the backend its matplotlibrc
                    # names, or the one it would pick itself (Agg stayed, and a script's later
                    # plt.show() opened no window)
                    before = mpl.rcParamsOrig["backend"]  # unresolved: only rcParams resolves
                if fallback is None:
                    fallback = mpl.rcParamsOrig["backend_fallback"]
                # read unresolved: resolving "auto" would import pyplot for a command that
                # drew nothing
                if dict.__getitem__(mpl.rcParams, "backend") != before:
                    with contextlib.suppress(ImportError, ValueError):  # keep the outcome
                        mpl.use(before)
                mpl.rcParams["backend_fallback"] = fallback


@contextlib.contextmanager
def _unencodable_output_escaped() -> Iterator[None]:
    r"""Print what stdout's encoding cannot hold as ``\uXXXX`` escapes for the block.

    On Windows, stdout redirected to a file or a pipe encodes with the ANSI code page
    (cp1252) and raises on other characters: a command that printed an output folder whose
    name has one (a Greek letter, Chinese) failed with "'charmap' codec can't encode", exit
    code 2, after writing its files. stderr escapes them already; the caller's stream is
    left as it was.
    """
    stream = sys.stdout
    errors = getattr(stream, "errors", None)
    escaped = False
    if errors == "strict" and hasattr(stream, "reconfigure"):
        with contextlib.suppress(ValueError, OSError):  # a closed or detached stream
            stream.reconfigure(errors="backslashreplace")
            escaped = True
    try:
        yield
    finally:
        if escaped:
            with contextlib.suppress(ValueError, OSError):
                stream.reconfigure(errors=errors)


@contextlib.contextmanager
def _one_line_warnings(printer: Callable[..., None]) -> Iterator[None]:
    """Show the block's warnings with ``printer``, in the main thread only.

    ``warnings.showwarning`` and the filters that ``warnings.catch_warnings`` saves and puts
    back are one for the whole process: :func:`main` called from several threads put them
    back out of order and left its printer installed for good (the caller's own warnings
    then printed as "prunus: warning: ...", once each). In other threads warnings are shown
    as the caller has them, as they are everywhere under ``PRUNUS_DEBUG``.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with warnings.catch_warnings():
        if not _debug():
            warnings.showwarning = printer
        yield


def _figure_failure(exc: BaseException, text: str) -> str | None:
    """One line for an error raised inside matplotlib, naming the figure file if it can.

    matplotlib's messages span lines (mathtext's starts with a line break, then the text
    it failed on and a caret), so the first line alone read "x^" or "^", saying neither
    that a plot failed nor which. None for errors raised elsewhere.
    """
    in_matplotlib = False
    target: Any = None
    caller = ""  # the function that called matplotlib, where no file name says which plot
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        module = str(frame.f_globals.get("__name__", ""))
        if module == "matplotlib" or module.startswith("matplotlib."):
            in_matplotlib = True
            # Figure.savefig(fname, ...): the file being written, when that is where it failed
            if target is None and frame.f_code.co_name == "savefig":
                target = frame.f_locals.get("fname")
        elif not in_matplotlib:
            caller = f"{module}.{frame.f_code.co_name}"
        tb = tb.tb_next
    if not in_matplotlib:
        return None
    name = (os.path.basename(os.fsdecode(target))
            if isinstance(target, str | bytes | os.PathLike) else "")
    if not name:
        name = f"a figure (in {caller})" if caller else "a figure"
    detail = " ".join(line.strip() for line in text.splitlines() if line.strip())
    if len(detail) > _FIGURE_DETAIL_MAX:  # pybind's signature dumps run to 600 characters
        detail = detail[:_FIGURE_DETAIL_MAX] + "..."
    return f"matplotlib failed to draw {name}: {detail or type(exc).__name__}"


def _raised_in_matplotlib(exc: BaseException) -> bool:
    """Whether the innermost frame of ``exc``'s traceback is matplotlib's own code."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    module = str(tb.tb_frame.f_globals.get("__name__", ""))
    return module == "matplotlib" or module.startswith("matplotlib.")


#: the most characters of matplotlib's message that a figure's one-line error shows
_FIGURE_DETAIL_MAX = 200


def _numba_user_cache() -> str:
    """Return the user-wide folder where numba caches compiled functions (its appdirs rule)."""
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~/Library/Caches"), "numba")
    return os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                        "numba")


def _could_make(path: str) -> bool:
    """Whether ``path`` is, or could be made as, a folder one can write in."""
    if not os.path.isabs(path):  # "~" not expanded (no home): numba would write in "./~"
        return False
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)


def _numba_cache_fallback() -> str | None:
    """Return a private temporary folder for numba's cache when it has none, else None.

    numba caches a function (scanpy's, with ``cache=True``) beside its source or in the
    user's cache folder: in a read-only installation (cluster modules, ``docker run
    --user``) without a writable home it has neither, and the import that defines the
    function fails ("cannot cache function ...: no locator available"). The home's cache
    folder is the proxy checked. ``NUMBA_CACHE_DIR`` set (not empty) is left alone, as is
    Windows.

    Returns
    -------
    str or None
        ``<temp>/prunus-numba-cache-<uid>``, made with mode 0o700 and reused by later runs
        while it is the user's own folder that no one else can write in; else a fresh
        private folder, removed at exit (numba's cache holds pickles it loads). None when
        numba can cache, the variable is set, or no temporary folder can be made.
    """
    if os.environ.get("NUMBA_CACHE_DIR") or not hasattr(os, "getuid"):
        return None
    if _could_make(_numba_user_cache()):
        return None
    try:
        folder = os.path.join(tempfile.gettempdir(), f"prunus-numba-cache-{os.getuid()}")
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, 0o700)
        info = os.lstat(folder)
        if (stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
                and not info.st_mode & 0o022):
            return folder
        folder = tempfile.mkdtemp(prefix="prunus-numba-cache-")
    except OSError:  # no writable temporary folder either: numba as before
        return None
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _give_numba_a_cache() -> None:
    """Set ``NUMBA_CACHE_DIR`` to :func:`_numba_cache_fallback`'s folder, if any.

    Before numba is imported only: it reads the variable when imported, and a caller that
    imported it already has its own settings.
    """
    if "numba" in sys.modules:
        return
    folder = _numba_cache_fallback()
    if folder is None:
        return
    os.environ["NUMBA_CACHE_DIR"] = folder  # for subprocesses too
    if _debug():
        print(f"prunus: debug: no writable cache folder for numba "
              f"({_numba_user_cache()!r}); NUMBA_CACHE_DIR={folder}", file=sys.stderr)


def _version() -> str:
    try:
        return version("prunus")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """Build the ``prunus`` parser with every installed module's subcommands.

    Returns
    -------
    argparse.ArgumentParser
        The parser; each subcommand sets ``func`` to its handler.
    """
    parser = _Parser(
        prog="prunus",
        description="Sparse, interpretable models of networked dynamics.",
        epilog="Run 'prunus COMMAND --help' for the options of a command. Errors are one "
               "line; set PRUNUS_DEBUG=1 to see the full traceback.",
    )
    parser.add_argument("--version", action="version", version=f"prunus {_version()}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            register: Callable[[argparse._SubParsersAction], None] = ep.load()
        except Exception as exc:  # a broken module must not take the others down
            print(f"prunus: warning: command {ep.name!r} unavailable: {exc}", file=sys.stderr)
            continue
        register(subparsers)
    return parser


def _closed_pipes(*streams: Any) -> list[int]:
    """Return the file descriptors of ``streams`` that are pipes whose reader has gone.

    Asked of the descriptor: ``poll`` reports an error on the write end of a pipe without
    a reader. Where the platform has no ``poll`` (Windows) the first stream is taken to be
    the one, as in ``prunus ... | more``: a flush tells nothing once the failed write's
    bytes have left the buffer (unbuffered output, a write larger than the buffer).
    """
    fds = []
    for stream in streams:
        try:
            fds.append(stream.fileno())
        except (AttributeError, OSError, ValueError):  # None, closed, or not a file
            continue
    if not hasattr(select, "poll"):
        return fds[:1]
    closed = []
    for fd in fds:
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        if any(event & (select.POLLERR | select.POLLHUP) for _, event in poller.poll(0)):
            closed.append(fd)
    return closed


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        The exit code: 0 on success, 2 on an input error of a command, a warning that the
        caller's warning filters make an error (``python -W error``,
        ``PYTHONWARNINGS=error``) or a figure that matplotlib failed to draw (one line on
        stderr; ``PRUNUS_DEBUG=1`` raises it instead), 130 when interrupted (Ctrl-C),
        143 when terminated (SIGTERM, which batch systems such as Slurm and PBS send before
        SIGKILL at a time limit). Both interruptions end the command as an error does
        (files being written are removed, earlier results kept) and print one line
        saying that commands that checkpoint resume when rerun. 141 (a process ended by
        SIGPIPE) when the reader of its stdout or stderr had gone (``prunus ... | true``): the
        command stopped at that write, maybe before writing its files (a broken pipe of
        its own, a socket, is an error: 2).

    Raises
    ------
    SystemExit
        From argparse: code 0 after ``--help`` or ``--version``, code 2 on a usage error
        (unknown command or option, or no command: ``prunus``, ``prunus grn``), with a
        one-line message.

    Notes
    -----
    A command's warnings follow the caller's warning filters: shown, they print as one
    line each (``prunus: warning: ...``, once) when ``main`` runs in the main thread;
    ignored, they print nothing; made errors, they end the command as its errors do
    (``prunus: error: ...``, the warning's first line, exit code 2). Two kinds of notes are
    printed whatever the filters: that options do nothing in a run (:func:`warn_ignored`)
    and ``prunus fj fit --normalize``'s note that rows were rescaled. Called from other
    threads (a thread pool of runs) it leaves ``warnings.showwarning`` and the warning
    filters alone, which are one for the whole process: warnings show as the caller has
    them. matplotlib is not thread-safe
    either: the commands make and save their figures one at a time, under a lock of the
    process (:func:`figures_locked`), and write the same files as runs one after another.
    A matplotlibrc's ``text.usetex: True`` where LaTeX cannot run draws them without LaTeX,
    with one warning.

    Without a writable home folder (``HOME`` unset or not writable) and with
    ``NUMBA_CACHE_DIR`` unset, numba is given a private cache folder under the system's
    temporary folder (``NUMBA_CACHE_DIR``, set in ``os.environ`` before numba is imported):
    in a read-only installation, scanpy's cached functions failed to import without one.
    """
    _give_numba_a_cache()  # before any command's module imports numba (through scanpy)
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:  # `prunus` alone: a usage error, as a group without its command
        func = command_required(parser)
    shown: set[str] = set()

    def one_line(message: Warning | str, category: type[Warning], filename: str,
                 lineno: int, file: Any = None, line: str | None = None) -> None:
        # a command's warnings read like its errors: one line each, once, no source line
        lines = str(message).strip().splitlines()
        text = lines[0] if lines else type(message).__name__
        if text not in shown:  # the first line, as for errors
            shown.add(text)
            print(f"prunus: warning: {text}", file=sys.stderr)

    try:
        with _terminate_as_interrupt(), _matplotlib_backend_kept(), \
                _unencodable_output_escaped(), _one_line_warnings(one_line):
            code = int(func(args) or 0)
            # a reader gone from a pipe is found here: a short run's buffered stdout was
            # written at the interpreter's exit, which failed there (exit 120, a traceback)
            flush = getattr(sys.stdout, "flush", None)  # None with stdout closed, or a tee
            if flush is not None:
                flush()
            return code
    except KeyboardInterrupt as exc:
        if _debug():
            raise
        # Ctrl-C printed a traceback; the fits checkpoint, so say that a rerun resumes
        print("prunus: interrupted; commands that checkpoint (grn fit, ctmc fit, fj fit) resume "
              "when rerun with the same arguments", file=sys.stderr)
        # the shell's codes of a process ended by the signal: 128 + SIGTERM's 15, SIGINT's 2
        return 143 if isinstance(exc, _Terminated) else 130
    except BrokenPipeError as exc:
        closed = _closed_pipes(sys.stdout, sys.stderr)
        if not closed:  # another pipe (a socket, a FIFO): an error as others
            if _debug():
                raise
            with contextlib.suppress(OSError, ValueError):
                print(f"prunus: error: {exc}", file=sys.stderr)
            return 2
        # `prunus ... | head` closed our stdout (or stderr): the command stopped there,
        # maybe before writing its files (the demo prints its table first), and 0 told a
        # pipeline it had succeeded. The shell's code of a process ended by SIGPIPE, as any
        # Unix tool's; the closed streams (only those: a caller's own stderr stays) go to
        # /dev/null, so that the interpreter's final flush is silent
        for fd in closed:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, fd)
            finally:
                os.close(devnull)
        return 141
    except (CommandError, OSError, ValueError, TypeError, KeyError, MemoryError,
            Warning) as exc:
        # MemoryError: a count too large for the machine (numpy says how much it asked for);
        # Warning: one the user's filters made an error (-W error, PYTHONWARNINGS=error),
        # which escaped as a traceback with exit code 1
        if _debug():
            raise
        if isinstance(exc, KeyError) and exc.args:
            # str(KeyError) is the key's repr: "prunus: error: 'x'" says nothing
            key = exc.args[0]
            text = key if isinstance(key, str) and " " in key else f"no such key: {key!r}"
        else:
            text = str(exc)
        message = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        if not isinstance(exc, CommandError | OSError | MemoryError):
            message = _figure_failure(exc, text) or message
        print(f"prunus: error: {message}", file=sys.stderr)
        return 2
    except (RuntimeError, OverflowError) as exc:
        # matplotlib's own (LaTeX not found, Agg's "Exceeded cell block limit" for a line
        # of millions of points) ended in a traceback; one raised elsewhere is a bug, and
        # keeps its traceback: one that matplotlib only passed on (torch's from __array__,
        # a recursion in a callback) too
        figure = None
        if not (_debug() or isinstance(exc, RecursionError | NotImplementedError)
                or not _raised_in_matplotlib(exc)):
            figure = _figure_failure(exc, str(exc))
        if figure is None:
            raise
        print(f"prunus: error: {figure}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    # `python -m core.cli` loads this file a second time as __main__: run the main of
    # core.cli, whose CommandError is the class the subcommands raise
    from core.cli import main as _main

    sys.exit(_main())
