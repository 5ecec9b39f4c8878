"""Read debate transcripts from the long table that ``prunus fj simulate`` writes.

A debate log is usually a long table, one line per belief: columns ``round``, ``agent``,
``option`` and ``belief``, optionally ``question`` (one transcript per question) and
``role`` (``adversary`` marks an agent in that question), as ``trajectories.csv``.
:func:`read_transcripts` turns such a table (a CSV file or a pandas DataFrame), or an
``.npy`` array, into the ``(questions, rounds + 1, agents, options)`` beliefs that the
fits take, by the rules ``prunus fj fit`` reads its input with (it uses this reader).
The fits also take the DataFrame itself (:func:`multiagent.fit_fj`,
:func:`multiagent.fit_transcripts`).
"""

from __future__ import annotations

import math
import os
import reprlib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.checks import refuse_unordered
from core.frames import is_dataframe

__all__ = ["Transcripts", "read_transcripts"]

_INDEX_COLUMNS = ("round", "agent", "option")
_NEED = {"round", "agent", "option", "belief"}
_READ = ("question", "round", "agent", "option", "belief", "role")  # the columns read


def _separator(path: Path) -> str:
    """Return the field separator of ``path``: a tab for ``.tsv`` and ``.tab``, else ``,``.

    As ``prunus ctmc fit`` reads its tables (any case, also compressed: ``t.tsv.gz``);
    a ``.tsv`` transcript was read with commas, its whole header one column.  ``.txt``
    stays comma-separated, as it was read before.
    """
    from core.checks import uncompressed_name

    return "\t" if uncompressed_name(path.name).lower().endswith((".tsv", ".tab")) else ","


@dataclass(frozen=True)
class Transcripts:
    """Debate transcripts read by :func:`read_transcripts`.

    Attributes
    ----------
    beliefs
        ``(Q, T + 1, n, K)`` float64 beliefs by question, round, agent and option: give
        ``beliefs[q]`` to :func:`~multiagent.fit_fj`, or ``beliefs`` to
        :func:`~multiagent.fit_transcripts`.
    questions
        The ``Q`` question labels in the order of ``beliefs`` (sorted: numbers in numeric
        order, then text labels, as pandas sorts them; ``[0]`` for a table without a
        ``question`` column, ``0..Q-1`` for an ``.npy`` array).
    agents
        The agents' names (text) in the order of the agent axis, or None when the agent
        column numbers them ``0..n-1`` (and for an ``.npy`` array read without
        ``agents``); numbers that are not ``0..n-1`` are names (``"101"``).
    adversaries
        Indices of the agents that the ``role`` column marks ``adversary`` (any case,
        spaces around it ignored) in any question; empty without that column.  Where the
        adversary changes from question to question, see ``adversaries_by_question``.
    options
        The options' labels in the order of the option axis when the option column holds
        labels (``A``, ``B``, ... read in sorted order); None for options ``0..K-1``.
    adversaries_by_question
        The indices of the agents marked ``adversary`` in each question, by question label
        (every question of ``questions``, in their order; an empty list where none is
        marked, and for every question without a ``role`` column; a question whose rows
        leave the role empty takes ``adversaries``, the other questions' marks): a design
        that makes a different agent the adversary in each question (against position
        bias) marks each agent only where it plays it, whereas ``adversaries`` is the
        union over questions.  Empty for a Transcripts made by hand without it.
    """

    beliefs: np.ndarray
    questions: list[Any]
    agents: list[str] | None = None
    adversaries: list[int] = field(default_factory=list)
    options: list[str] | None = None
    adversaries_by_question: dict[Any, list[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class _ByQuestion(Transcripts):
    """Transcripts whose questions stop at different rounds (``prunus fj fit`` reads them).

    ``beliefs`` is NaN after a question's last round, ``last_rounds``; fit each question's
    own rounds (:meth:`transcripts`).  :func:`read_transcripts` refuses such tables: its
    ``beliefs`` are one array of the same rounds for every question.
    """

    last_rounds: list[int] = field(default_factory=list)

    def transcripts(self) -> list[np.ndarray]:
        """Each question's ``(last round + 1, n, K)`` beliefs, in the order of questions."""
        return [self.beliefs[q, :t + 1] for q, t in enumerate(self.last_rounds)]


@dataclass(frozen=True)
class _Wording:
    """How the reader's messages name the data and the agents' names given with it.

    ``prunus fj fit`` names a file, its lines and its ``--adjacency`` option; a Python
    caller a DataFrame, its rows and the ``agents`` argument.
    """

    data: str  # the data, as messages name it
    line: Callable[[int], str]  # the row at a position: "line 7", "row 5"
    lines: str  # what the table holds one belief per: "lines", "rows"
    whole: str  # the table as a whole: "the file", "the DataFrame"
    note: Callable[[], str]  # appended to a message about a row ("" or a comment-line note)
    empty: str  # the message for a table with no beliefs
    given: str  # where the agents' names given with the data are: "--adjacency", "agents"
    given_names: str  # what the agent column must then hold
    name_them: str  # how to name agents whose names look like numbers
    npy_order: str  # the order of an .npy file's agents when names are given
    normalize: str = "normalize=True"  # how to ask for rows divided by their sums
    # how to fit questions that stop at different rounds, which read_transcripts refuses
    by_question: str = (
        "read_transcripts reads questions of the same rounds; fit each question's rows "
        "on their own (fit_transcripts([table[table['question'] == q] for q in "
        "questions]) keeps their labels), or with prunus fj fit, which reads such files "
        "question by question")


def _csv_wording(path: Path, *, option: str = "agents") -> _Wording:
    """Messages about the CSV or .npy file ``path``, naming ``option`` for given names."""
    from core.checks import comment_line_note

    cli = option == "--adjacency"
    return _Wording(
        data=str(path), line=lambda row: f"line {row + 2}", lines="lines", whole="the file",
        note=lambda: comment_line_note(path),
        empty=f"{path} has a header but no beliefs (no lines below it)", given=option,
        given_names=("the names of the --adjacency file's agents" if cli else
                     "the agents' names of agents"),
        name_them="--adjacency FILE naming them" if cli else "agents=[...] naming them",
        npy_order="the --adjacency file's order" if cli else "the order of agents",
        normalize="--normalize" if cli else "normalize=True",
        **({"by_question": ""} if cli else {}))  # prunus fj fit reads them


def _frame_wording(frame: pd.DataFrame, given: str = "agents") -> _Wording:
    """Messages about a DataFrame (rows named by their index labels); names from ``given``."""
    def line(row: int) -> str:
        label = frame.index[row]
        return f"row {label.item() if hasattr(label, 'item') else label!r}"

    return _Wording(
        data="transcript DataFrame", line=line, lines="rows", whole="the DataFrame",
        note=lambda: "",
        empty="transcript DataFrame has no rows (no beliefs)", given=given,
        given_names=f"the agents' names of {given}", name_them="agents=[...] naming them",
        npy_order=f"the order of {given}")


def read_transcripts(
    data: str | os.PathLike[str] | pd.DataFrame,
    *,
    agents: Sequence[Any] | None = None,
    normalize: bool = False,
) -> Transcripts:
    """Read debate transcripts from a long table (CSV or DataFrame) or an ``.npy`` array.

    The table holds one line per belief: columns ``round``, ``agent``, ``option`` (integers
    >= 0, also written as 0.0, 1.0, ...) and ``belief`` (finite numbers), optionally
    ``question`` (any labels: one transcript per question) and ``role`` (``adversary``,
    any case, marks an agent in that question:
    :attr:`Transcripts.adversaries_by_question`; ``benign`` or an empty field the others;
    another value, such as ``attacker``, marks no one and is named by a ``UserWarning``;
    a question whose rows leave the role empty throughout takes the marks of the other
    questions, their union, as a role written in some questions' rows only means);
    other columns are ignored.  An option column of labels only (``A``,
    ``B``, ``C``, ``D``) is read in their sorted order (:attr:`Transcripts.options`).
    In a CSV file, labels are read as the text written: an option ``N/A`` (beside ``Yes``
    and ``No``, sorted as text) or a question ``NA`` or ``None`` is a label, not a missing
    value, and the other questions are read as without it (questions 1..19 stay numbers,
    in numeric order, before ``NA``); an empty field is missing.  Column names are read
    without the spaces around them (``round, agent``), and a column the reader reads given
    twice is refused.  Rounds start at 0, the agents' innate beliefs.  This
    is the ``trajectories.csv`` of ``prunus fj simulate`` and the input of
    ``prunus fj fit``, read by the same rules.
    Every (question, round, agent, option) must be given exactly once: every question
    has the same rounds and the same options (a message says which questions stop
    early, or differ in their number of options K; :func:`~multiagent.fit_transcripts`
    fits a list of one-question tables of different rounds, ``prunus fj fit`` such a
    file).  Agents are
    numbered ``0..n-1`` in the agent column (each index used), or named: then they are
    taken in the order they first appear (``simulate --adjacency`` writes them in its
    file's order), or in the order of ``agents``.  Names may look like numbers: an agent
    column that is not ``0..n-1`` (respondent IDs 101, 205, 333; agents numbered from 1;
    "007" beside "Zoë") is read as names, as text, when so read it gives every belief
    once (options numbered or labels, ``q`` or ``A``/``B``); otherwise a typo is the
    likelier cause (50 among agents 0..5, "l" among them leaves a belief of the right
    agent missing) and it is refused, naming the line.  A
    DataFrame whose index holds some of these columns (e.g. after ``set_index``) is read
    as if they were columns.

    Parameters
    ----------
    data
        A long table: a CSV file (UTF-8 or UTF-16 text; tab-separated when its name ends
        in ``.tsv`` or ``.tab``, any case, as ``prunus ctmc fit`` reads them) or a pandas
        DataFrame; or an ``.npy`` file of ``(T + 1, n, K)`` or ``(Q, T + 1, n, K)``
        beliefs.
    agents
        The agents' names in the order wanted (e.g. the index of a labelled adjacency): a
        list or other sequence, not a set, whose order changes from one run to the next;
        the agent column must then hold exactly these names, compared as text (agents
        ``0..n-1`` match names ``"0".."n-1"``).  For an ``.npy`` file only their number is
        checked: they name its agent axis in their order.
    normalize
        Divide each belief row (one question, round and agent) by its sum, for
        probabilities as LLMs report them: rounded (rows summing to 0.999 or 1.001) or in
        percent.  Done when every row sums to within max(0.01, 0.005 K) of 1 for K
        options (two-decimal rounding), or every row to within 100 times that of
        100 (read as percentages), with a ``UserWarning`` naming the largest deviation;
        otherwise ``ValueError`` names the row furthest off.  Rows that all sum to 1 up to
        round-off (within max(1e-12, 4 K eps), as ``prunus fj simulate`` writes them) are
        kept as written, without a warning.  Default False: the beliefs as written (the
        fits refuse rows that do not sum to 1).  ``prunus fj fit --normalize``.

    Returns
    -------
    Transcripts
        ``beliefs`` ``(Q, T + 1, n, K)``, ``questions``, ``agents``, ``adversaries``,
        ``options`` and ``adversaries_by_question``.

    Warns
    -----
    UserWarning
        With ``normalize``, when rows were divided by their sums; when the ``role``
        column holds values other than ``adversary`` and ``benign`` (they mark no one).

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        If ``data`` is a path that does not exist or is a folder (OSErrors, as ``open``
        raises them; the message names the path).
    ValueError
        If the table lacks a column (the message names the columns expected) or names one
        it reads twice (the message names it), a line
        holds something other than what its column must hold (the message names the
        column and the line, or the DataFrame's row by its index label), a belief is
        given twice or missing, ``agents`` names an agent twice, or the file exists but
        cannot be read as a CSV (empty, malformed, not UTF-8/UTF-16 text) or as a numeric
        ``.npy`` array.
    TypeError
        If ``data`` is neither a path nor a pandas DataFrame, or ``agents`` is a set or
        frozenset.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"round": [0, 0, 1, 1], "agent": ["a", "b", "a", "b"],
    ...                       "option": 0, "belief": [0.2, 0.8, 0.5, 0.5]})
    >>> read = read_transcripts(table)
    >>> read.beliefs.shape, read.agents
    ((1, 2, 2, 1), ['a', 'b'])
    """
    # the agents give the agent axis's order: a set's changed from one run to the next
    refuse_unordered(agents, "agents", "agent names")
    names = None if agents is None else [str(a).strip() for a in agents]
    if names is not None and len(set(names)) != len(names):
        raise ValueError(f"agents names an agent twice: {reprlib.repr(names)}")
    if is_dataframe(data):
        return _read_frame(data, names, normalize=normalize)
    if not isinstance(data, str | os.PathLike):
        raise TypeError(f"data: expected a path (CSV or .npy) or a pandas DataFrame, got "
                        f"{type(data).__name__}")
    return _read_path(Path(data), names, _csv_wording(Path(data)), normalize=normalize)


def _read_frame(frame: pd.DataFrame, agents: list[str] | None, given: str = "agents", *,
                normalize: bool = False) -> Transcripts:
    """Read a long-table DataFrame, its agents in the order of ``agents`` (from ``given``)."""
    if not _NEED <= set(frame.columns) and set(frame.index.names) & (_NEED | {"question"}):
        frame = frame.reset_index()  # e.g. set_index(["round", "agent", "option"])
    # two belief columns failed in pandas: "arg must be a list, tuple, 1-d array, or Series"
    _refuse_repeated(list(frame.columns), _frame_wording(frame, given))
    # a copy: the reader numbers the columns in place
    return _read_long(frame.copy(), agents, _frame_wording(frame, given), path=None,
                      normalize=normalize)


def _read_path(path: Path, agents: list[str] | None, say: _Wording, *,
               normalize: bool = False, by_question: bool = False) -> Transcripts:
    """Read the CSV or .npy file ``path`` (:func:`read_transcripts`).

    ``by_question``: questions that stop at different rounds are read each up to its last
    round, as :class:`_ByQuestion` (``prunus fj fit``), not refused.
    """
    from core.checks import not_utf8_text, text_encoding
    from core.textfiles import DAMAGED, damaged_message

    if path.suffix == ".npy":
        try:
            X = np.asarray(np.load(path), dtype=np.float64)
        except (ValueError, TypeError, EOFError) as exc:  # not an .npy, truncated, pickled
            raise ValueError(f"cannot read {str(path)!r} as a numeric .npy array: "
                             f"{exc}") from exc
        if X.ndim == 3:
            X = X[None]
        if X.ndim != 4:
            raise ValueError(f"{path} must hold (rounds + 1, agents, options) or "
                             f"(questions, rounds + 1, agents, options), got {X.shape}")
        if 0 in X.shape:  # the fits would end in an IndexError or a torch error
            raise ValueError(f"{path} holds no beliefs: (questions, rounds + 1, agents, "
                             f"options) = {X.shape}")
        if agents is not None and X.shape[2] != len(agents):
            raise ValueError(f"{say.given} names {len(agents)} agents, but {path} holds "
                             f"{X.shape[2]} (an .npy file's agents are taken in "
                             f"{say.npy_order})")
        if normalize:
            X = _normalized(X, list(range(X.shape[0])), agents, say, labelled=True)
        return Transcripts(X, list(range(X.shape[0])), agents, [],
                           adversaries_by_question={q: [] for q in range(X.shape[0])})
    try:
        # the header as written: pandas renames a repeated name ("belief" -> "belief.1")
        header = [str(c) for c in pd.read_csv(
            path, sep=_separator(path), header=None, nrows=1, dtype=str,
            keep_default_na=False, encoding=text_encoding(path, decompressed=True)).iloc[0]]
        # Excel's "Unicode Text" is UTF-16: read as UTF-8 it failed on "byte 0xff"
        # agent names as text: "007" stays "007", as read_adjacency reads it
        agent = next((c for c in header if c.strip() == "agent"), "agent")
        frame = pd.read_csv(path, sep=_separator(path),
                            encoding=text_encoding(path, decompressed=True),
                            dtype=None if agents is None else {agent: str})
    except UnicodeDecodeError as exc:  # e.g. Latin-1 from older Excel: say how to save it
        raise ValueError(f"{str(path)!r} is {not_utf8_text(exc)}") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"cannot read {str(path)!r} as CSV: {exc}") from exc
    except DAMAGED as exc:  # a bare EOFError or zlib.error traceback, naming no file
        raise ValueError(f"cannot read {damaged_message(path, exc)}") from exc
    _refuse_repeated([c.strip() for c in header], say)
    # "round, agent" (a space after the comma) named the column " agent", as the grn, ctmc,
    # read_adjacency and --opinions readers no longer do
    frame.columns = [c.strip() if isinstance(c, str) else c for c in frame.columns]
    return _read_long(frame, agents, say, path=path, normalize=normalize,
                      by_question=by_question)


def _refuse_repeated(columns: Sequence[Any], say: _Wording) -> None:
    """Refuse a column that the reader reads (``question``, ``round``, ...) named twice.

    pandas reads the first of two ``belief`` columns (a CSV) or fails on both (a
    DataFrame); columns that are not read may repeat, as before.
    """
    seen = [c for c in columns if c in _READ]
    twice = sorted({c for c in seen if seen.count(c) > 1}, key=_READ.index)
    if twice:
        named = " and ".join(repr(c) for c in twice)
        raise ValueError(f"{say.data} names the column{'s' if len(twice) > 1 else ''} "
                         f"{named} twice; give each column once")


def _read_long(frame: pd.DataFrame, agents: list[str] | None, say: _Wording, *,
               path: Path | None, normalize: bool = False,
               by_question: bool = False) -> Transcripts:
    """Read a long table (``frame``, modified in place) into :class:`Transcripts`.

    ``path``: the CSV file ``frame`` was read from, whose columns are read again as the
    text they were written as (a name that looks like a number, a question label, labels
    such as "NA" or "N/A" that pandas reads as missing); None for a DataFrame, whose
    values are taken as they are.  ``by_question``: questions that stop at different
    rounds, each complete up to its own last round, are read as :class:`_ByQuestion`.
    """
    if not _NEED <= set(frame.columns):
        if path is not None:
            # a tab-separated .txt or .csv is read as one column: say how to read tabs
            sep = next((c for c in "\t;" if len(frame.columns) == 1
                        and c in str(frame.columns[0])), None)
            hint = ("" if sep is None else f" (fields separated by {sep!r}? A file named "
                    ".tsv or .tab is read with tabs, others with commas)")
            raise ValueError(f"{path} needs columns {sorted(_NEED)}, has "
                             f"{list(frame.columns)}{hint}{say.note()}")
        # a pivot (one column per agent and option) gave "must have shape (rounds + 1,
        # n_agents, K), got (24, 5)": say which table is meant
        raise ValueError(f"{say.data} needs columns {sorted(_NEED)} (and optionally "
                         "'question', 'role'): the long table of one row per belief that "
                         "prunus fj simulate writes to trajectories.csv; it has "
                         f"{reprlib.repr(list(frame.columns))}")
    if frame.empty:  # a header alone: "cannot convert float NaN to integer" otherwise
        raise ValueError(say.empty)
    labelled = "question" in frame.columns
    if not labelled:
        frame = frame.assign(question=0)

    def bad_row(mask: Any, column: str, expected: str) -> None:
        if mask.any():
            row = int(np.flatnonzero(np.asarray(mask))[0])
            value = frame[column].iloc[row]
            shown = "nothing" if pd.isna(value) else repr(str(value))
            # a "# ..." line is read as beliefs: "line 3 has nothing" did not say why
            raise ValueError(f"{say.data}: column {column!r} must hold {expected}; "
                             f"{say.line(row)} has {shown}{say.note()}")

    if labelled and path is not None and frame["question"].isna().any():
        # pandas read a question labelled "NA" or "None" as missing: read it as written, and
        # only it (all labels as text sorted "1", "10", "2": the other questions moved)
        frame["question"] = _missing_as_written(frame["question"],
                                                _column_text(frame, "question", path))
    bad_row(frame["question"].isna(), "question", "a label on every line")
    given = agents is not None  # names: given, or found here
    as_names = ""  # said when numbered agents not 0..n-1 are missing beliefs either way
    if given and path is not None and frame["agent"].isna().any():
        # pandas read an agent named "NA" or "null" as missing: as written, as --adjacency
        frame["agent"] = _agent_text(frame, path).to_numpy()
    if not given and not _numbered(frame["agent"]):
        agents, as_names = _agent_names(frame, say, path)
    if agents is not None:
        order = {name: i for i, name in enumerate(agents)}
        codes = frame["agent"].astype("string").str.strip().map(order)
        shown = agents if len(agents) <= 10 else [*agents[:10], "..."]
        bad_row(codes.isna(), "agent", f"{say.given_names} {shown}"
                if given else "an agent's name or index on every line")
        absent = [name for name in agents if order[name] not in set(codes)]
        if absent:
            raise ValueError(f"agents {absent[:10]} of {say.given} have no beliefs in "
                             f"{say.data}")
        frame["agent"] = codes.astype(np.int64)
    options = None
    if path is not None and frame["option"].isna().any():
        # pandas read an option labelled "N/A", "NA" or "None" as missing: as written
        frame["option"] = _column_text(frame, "option", path).to_numpy()
    letters = frame["option"].astype("string").str.strip()
    written = letters.dropna()
    if (letters.isna().any() and not written.empty
            and pd.to_numeric(written, errors="coerce").isna().all()):
        # an empty field among lettered options was reported as the first lettered line
        # ("must hold integers >= 0; line 2 has 'A'"): name the empty line instead
        bad_row(letters.isna(), "option", "a label on every line")
    if (letters.notna().all() and pd.to_numeric(letters, errors="coerce").isna().all()):
        # options as LLM logs write them (A, B, C, D) were refused as "must hold integers":
        # read in sorted order, as agents may be names
        options = sorted(str(v) for v in letters.unique())
        frame["option"] = letters.map({o: k for k, o in enumerate(options)}).astype(np.int64)
    for column in _INDEX_COLUMNS:  # integer indices, also when written as 0.0, 1.0, ...
        if column == "agent" and agents is not None:
            continue  # numbered above, from the names
        values = pd.to_numeric(frame[column], errors="coerce")
        integral = values.notna() & (values >= 0) & (values == np.floor(values))
        bad_row(~integral, column, "integers >= 0")
        frame[column] = values.astype(np.int64)
    belief = pd.to_numeric(frame["belief"], errors="coerce")
    bad_row(~np.isfinite(belief), "belief", "finite numbers")
    repeated = frame.duplicated(["question", *_INDEX_COLUMNS])
    if repeated.any():
        row = int(np.flatnonzero(repeated.to_numpy())[0])
        key = ["question", *_INDEX_COLUMNS]
        first = int(np.flatnonzero((frame[key] == frame[key].iloc[row]).all(axis=1))[0])
        collide = ""
        # pandas reads "1" and "01" (or "1.0") as one number, a question label or an index:
        # name the two spellings, not only a line the user sees as another's (a CSV cannot
        # mark a field as text: write them one way, or as labels that are not numbers)
        for column in (key if labelled else _INDEX_COLUMNS) if path is not None else ():
            written = _written(path, column).str.strip()
            was, now = written.iloc[first], written.iloc[row]
            label = frame[column].iloc[row]
            if was == now or isinstance(label, bool) or not isinstance(
                    label, int | float | np.number):  # "True" and "TRUE": no number
                continue
            if column == "question":
                collide = (f" (questions {was!r} and {now!r} are read as the same number; "
                           "write each question's label one way, or use labels that are not "
                           f"numbers, such as {'q' + was!r} and {'q' + now!r})")
            else:
                also = (", or label the options with text that is not a number, such as A "
                        "and B" if column == "option" else "")
                collide = (f" ({column}s {was!r} and {now!r} are read as the same {column} "
                           f"index; write each {column}'s index one way{also})")
            break
        if not labelled and not collide:
            # a question_id column is not read: every question's beliefs fell into one
            alike = [c for c in frame.columns if isinstance(c, str) and c != "question"
                     and (c.strip().lower().replace(" ", "_") in ("qid", "q_id", "q")
                          or "question" in c.lower())]
            if alike:
                collide = (f" (the column {alike[0]!r} is not read: rename it to "
                           "'question' to read one transcript per question)")
        raise ValueError(f"{say.data}: {say.line(row)} repeats a (question, round, agent, "
                         f"option) of {say.line(first)}{collide}; each belief must be given "
                         "once")
    codes, labels = pd.factorize(frame["question"], sort=True)
    top = {c: int(frame[c].max()) for c in _INDEX_COLUMNS}
    shape = (len(labels),) + tuple(top[c] + 1 for c in _INDEX_COLUMNS)
    expected = math.prod(shape)
    last_rounds = None  # each question's last round, where by_question reads them so
    if by_question and labelled and expected != len(frame):
        # debates that stop once the agents agree: each question up to its own last round
        last = np.zeros(len(labels), np.int64)
        np.maximum.at(last, codes, frame["round"].to_numpy())
        if (last < top["round"]).any():
            last_rounds = last
            expected = int((last + 1).sum()) * shape[2] * shape[3]
    # a full transcript has one line per question, round, agent and option (repeats are
    # refused above), so counting them finds a gap before allocating: a typo'd index
    # (round 100000 among rounds 0..5) asked np.full for 74.5 GiB and named no line
    if expected != len(frame):
        start = int(frame["round"].min())
        if start > 0:  # "the largest round 7 ...: a typo?" did not say where rounds start
            raise ValueError(
                f"{say.data}: rounds must start at 0 (round 0 holds the agents' innate "
                f"beliefs), and {say.whole}'s rounds start at {start}: subtract {start} from "
                "the round column if its first round is the agents' first answers")
        typos = []
        for c in _INDEX_COLUMNS:
            used = int(frame[c].nunique())
            if used < top[c] + 1:  # indices skipped below the largest
                row = int(np.flatnonzero(frame[c].to_numpy() == top[c])[0])
                typos.append(f"{c} {top[c]} on {say.line(row)} ({used} distinct {c} "
                             f"value{'s' if used > 1 else ''} in {say.whole})")
        hint = f"; the largest {', the largest '.join(typos)}: a typo?" if typos else ""
        hint += as_names
        if not typos and math.prod(shape) <= 50_000_000:
            # the count alone did not say which beliefs are missing
            hint += _missing(frame, codes, labels if labelled else None, agents, options,
                             shape, say, last_rounds)
        sizes = [f"{size:,} {name}{'s' if size > 1 else ''}" for size, name in
                 zip(shape, ("question", "round", "agent", "option"))]
        if last_rounds is None:
            calls = f"its indices call for {' x '.join(sizes)} = {expected:,}"
        else:  # each question up to its own last round, not the longest one's
            calls = (f"its {sizes[0]}, each up to its last round, x {sizes[2]} x "
                     f"{sizes[3]} call for {expected:,}")
        raise ValueError(f"{say.data} does not hold every (question, round, agent, option) "
                         f"belief: {calls} {say.lines}, one per belief, and it has "
                         f"{len(frame):,}{hint}")
    X = np.full(shape, np.nan)
    X[codes, frame["round"], frame["agent"], frame["option"]] = belief
    if last_rounds is not None:  # rounds after a question's last: its last, to normalize
        for q, t in enumerate(last_rounds):
            X[q, t + 1:] = X[q, t]
    if np.isnan(X).any():  # not reached while the count above holds: kept as a guard
        raise ValueError(f"{say.data} does not hold every (question, round, agent, option) "
                         "belief")
    questions = [v.item() if hasattr(v, "item") else v for v in labels]
    adversaries: list[int] = []
    by_label: dict[Any, list[int]] = {q: [] for q in questions}
    if "role" in frame.columns:
        # "Adversary" or " adversary" (a space after the comma) marked no agent
        role = frame["role"].astype("string").str.strip().str.lower()
        marked = (role == "adversary").fillna(False).to_numpy(dtype=bool)
        adversaries = sorted(int(a) for a in frame.loc[marked, "agent"].unique())
        # per question: a different agent may play the adversary in each (one flat list
        # made question 0's benign mean leave out the other questions' adversaries)
        for q, a in sorted({(int(q), int(a)) for q, a in
                            zip(codes[marked], frame["agent"].to_numpy()[marked])}):
            by_label[questions[q]].append(a)
        # a question whose rows carry no role value at all (a role written in some
        # questions' rows only) takes the others' marks, their union, as read before: its
        # blanks counted the adversary among the benign agents there
        written = set(codes[(role.fillna("") != "").to_numpy(dtype=bool)].tolist())
        for q, label in enumerate(questions):
            if q not in written:
                by_label[label] = list(adversaries)
        _warn_other_roles(frame["role"], say)
    if normalize:
        X = _normalized(X, questions, agents, say, labelled=labelled)
    if last_rounds is not None:
        for q, t in enumerate(last_rounds):
            X[q, t + 1:] = np.nan
        return _ByQuestion(X, questions, agents, adversaries, options, by_label,
                           [int(t) for t in last_rounds])
    return Transcripts(X, questions, agents, adversaries, options, by_label)


def _key(q: int, t: int, i: int, questions: Sequence[Any] | None,
         agents: Sequence[str] | None) -> str:
    """Name a (question, round, agent) by the labels and names the table gives them."""
    where = "" if questions is None else f"question {_label(questions[q])!r}, "
    return f"{where}round {t}, agent {i if agents is None else repr(agents[i])}"


def _label(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _missing(frame: pd.DataFrame, codes: np.ndarray, questions: Sequence[Any] | None,
             agents: Sequence[str] | None, options: Sequence[str] | None,
             shape: tuple[int, ...], say: _Wording,
             last_rounds: np.ndarray | None = None) -> str:
    """Name the first missing beliefs, as the end of the message about their count.

    Where a question stops early (rounds after it absent; not said when ``last_rounds``,
    each question's last round, reads questions question by question) or the questions
    have different numbers of options, then the first few (question, round, agent) keys
    that lack a belief.
    """
    present = np.zeros(shape, bool)
    present[codes, frame["round"].to_numpy(), frame["agent"].to_numpy(),
            frame["option"].to_numpy()] = True
    said, stops = [], set()
    last = shape[1] - 1
    used = present.any(axis=(1, 2))  # (question, option): the options each question uses
    if last_rounds is not None:  # the rounds after a question's last are not missing
        present |= np.arange(shape[1])[None, :, None, None] > last_rounds[:, None, None, None]
    else:
        for q in range(shape[0]):
            rounds = np.flatnonzero(present[q].any(axis=(1, 2)))
            if questions is not None and rounds.size and rounds[-1] < last:
                said.append(f"question {_label(questions[q])!r} stops at round "
                            f"{rounds[-1]} (others go on to round {last})")
                stops.add(q)
        if stops and say.by_question:
            said.append(say.by_question)
    # options that a question never uses: K differs between questions ("no belief for
    # question 'mmlu' ... (option 'E')" did not say that mmlu has 4 options, csqa 5)
    if questions is not None and (used != used[0]).any():
        def named(q: int) -> str:
            ks = np.flatnonzero(used[q])
            shown = [str(k) if options is None else str(options[k]) for k in ks]
            return (f"question {_label(questions[q])!r} {ks.size} option"
                    f"{'s' if ks.size > 1 else ''} ({', '.join(shown[:10])}"
                    f"{', ...' if len(shown) > 10 else ''})")

        kinds = list(dict.fromkeys(tuple(u) for u in used))  # in the order of questions
        first = [int(np.flatnonzero((used == np.array(k)).all(axis=1))[0]) for k in kinds]
        said.append("the number of options K differs between questions (options given: "
                    + ", ".join(named(q) for q in first[:3])
                    + (", ..." if len(first) > 3 else "")
                    + "): every question needs the same K options; fit questions with "
                    "other options separately")
        present |= ~used[:, None, None, :]  # those options are not each a missing belief
    gaps = [(q, t, i) for q, t, i in np.argwhere(~present.all(axis=3)) if q not in stops]
    for q, t, i in gaps[:3]:
        lacking = np.flatnonzero(~present[q, t, i])
        part = "" if lacking.size == shape[3] else " (option{} {})".format(
            "s" if lacking.size > 1 else "",
            ", ".join(str(k) if options is None else repr(options[k]) for k in lacking))
        said.append(f"no belief for {_key(q, t, i, questions, agents)}{part}")
    if len(gaps) > 3:
        said.append(f"{len(gaps) - 3:,} more (question, round, agent) lacking beliefs")
    return "; " + "; ".join(said) if said else ""


def _warn_other_roles(role: pd.Series, say: _Wording) -> None:
    """Warn of ``role`` values other than ``adversary`` and ``benign`` (any case).

    Only ``adversary`` marks an agent: ``attacker`` or ``adversarial`` marked no one, and
    said nothing.  ``benign`` (what ``prunus fj simulate`` writes) and empty fields are
    the other agents, without a word.
    """
    from multiagent._stacklevel import user_stacklevel

    written = role.astype("string").str.strip().dropna()
    other = sorted({str(v) for v in written[~written.str.lower().isin(
        ["adversary", "benign", ""])]})
    if other:
        shown = ", ".join(repr(v) for v in other[:5])
        warnings.warn(f"{say.data}: the role column holds {shown}"
                      f"{', ...' if len(other) > 5 else ''}: only 'adversary' (any case) "
                      "marks an agent adversary, so these agents are read as not marked "
                      "(write 'adversary' for an adversary, 'benign' for the others)",
                      _RoleWarning, stacklevel=user_stacklevel())


class _RoleWarning(UserWarning):
    """The role column holds values other than ``adversary`` and ``benign``."""


def _normalized(X: np.ndarray, questions: Sequence[Any], agents: Sequence[str] | None,
                say: _Wording, *, labelled: bool) -> np.ndarray:
    """Return ``X`` with each belief row divided by its sum (``normalize=True``).

    Only when every row sums to within ``tol`` of 1 (rounded probabilities), or every row
    to within ``100 tol`` of 100 (percentages), ``tol = max(0.01, 0.005 K)`` for ``K``
    options: ``K`` probabilities rounded to two decimals are off by up to ``0.005 K`` (5
    options: 0.025). A row further off is more than rounding, and is refused, naming it.
    ``X`` itself, without a warning, when every row sums to 1 but for the round-off of the
    sum (within ``max(1e-12, 4 K eps)``): such rows are probabilities as they are.
    """
    if X.shape[3] < 2:  # scalar opinions are no probability vectors
        return X
    sums = X.sum(axis=3)
    # simulate's own beliefs sum to 1 +- a few ulps: they warned "divided by its sum (the
    # largest deviation from 1: 6.66e-16)" and had their last digits changed
    if float(np.abs(sums - 1.0).max()) <= max(1e-12, 4 * X.shape[3] * np.finfo(float).eps):
        return X
    named = questions if labelled else None
    # 0.34 + 0.34 + 0.33 is 1.0100000000000000089 in floats: a bound of exactly 0.01
    # refused two-decimal rounding; the slack covers the sum's round-off
    tol = max(0.01, 0.005 * X.shape[3]) + 1e-9
    for target, what in ((1.0, ""), (100.0, ", read as percentages")):
        off = np.abs(sums - target)
        if float(off.max()) <= tol * target:
            q, t, i = np.unravel_index(int(off.argmax()), off.shape)
            warnings.warn(f"{say.data}: each belief row divided by its sum{what} (the "
                          f"largest deviation from {target:g}: {float(off.max()):.3g}, "
                          f"{_key(q, t, i, named, agents)})", UserWarning, stacklevel=4)
            return X / sums[..., None]
    q, t, i = np.unravel_index(int(np.abs(sums - 1).argmax()), sums.shape)
    bound = max(0.01, 0.005 * X.shape[3])
    raise ValueError(f"{say.data}: {say.normalize} divides each belief row by its sum when "
                     f"every row sums to within {bound:g} of 1 (or every row to within "
                     f"{100 * bound:g} of 100, percentages), but "
                     f"{_key(q, t, i, named, agents)} sums to {float(sums[q, t, i]):.6g}: "
                     "more than rounding")


def _numbered(agent: pd.Series) -> bool:
    """Whether the agent column numbers the agents ``0..n-1``: integers, each index used."""
    number = pd.to_numeric(agent, errors="coerce").to_numpy(dtype=np.float64)
    if not (np.isfinite(number) & (number >= 0) & (number == np.floor(number))).all():
        return False
    top = int(number.max())
    if top >= number.size:  # more indices than lines: some unused (and no huge array)
        return False
    used = np.zeros(top + 1, bool)
    used[number.astype(np.int64)] = True  # O(lines), not a hash of every value
    return bool(used.all())


def _agent_text(frame: pd.DataFrame, path: Path | None) -> pd.Series:
    """Return the agent column as written: text without surrounding spaces.

    ``path``: the CSV ``frame`` was read from, whose column is read again as text, so that
    "007" stays "007" and an agent named "NA" or "null" is not read as missing (pandas'
    default); an empty field is missing (NA).  A DataFrame's values are taken as text.
    """
    return _column_text(frame, "agent", path)


def _column_text(frame: pd.DataFrame, column: str, path: Path | None) -> pd.Series:
    """Return ``frame``'s ``column`` as written: text without surrounding spaces.

    ``path``: the CSV ``frame`` was read from, whose column is read again as text, so that
    "007" stays "007" and a label "NA", "N/A", "None" or "null" is not read as missing
    (pandas' default); an empty field is missing (NA).  A DataFrame's values are taken as
    text.
    """
    if path is None:
        return frame[column].astype("string").str.strip()
    text = _written(path, column).str.strip()
    return text.mask(text == "")


def _written(path: Path, column: str) -> pd.Series:
    """Return the CSV ``path``'s ``column`` as the text written (its name without spaces)."""
    from core.checks import text_encoding

    read = pd.read_csv(path, sep=_separator(path), usecols=lambda c: str(c).strip() == column,
                       dtype=str, keep_default_na=False,
                       encoding=text_encoding(path, decompressed=True))
    return read.iloc[:, 0]


def _missing_as_written(read: pd.Series, text: pd.Series) -> np.ndarray:
    """Return the labels ``read`` by pandas, those it read as missing as their ``text``.

    A label "NA" or "None" is text; the others stay what pandas read them as (numbers, as
    without that label, which made pandas read integers as floats), so that they sort
    as a DataFrame's labels do: numbers in numeric order, then text.
    """
    missing = read.isna().to_numpy()
    kept = read[~missing]
    if read.dtype.kind == "f":  # integers beside a missing value were read as floats
        exact = pd.to_numeric(text[~missing], errors="coerce")
        if exact.dtype.kind in "iu":
            kept = exact
    labels = read.to_numpy(dtype=object).copy()
    labels[~missing] = kept.to_numpy(dtype=object)
    labels[missing] = text[missing].to_numpy(dtype=object)  # an empty field stays missing
    return labels


def _complete_as_names(frame: pd.DataFrame, n_agents: int, path: Path | None = None
                       ) -> bool:
    """Whether ``frame`` has one line per (question, round, agent, option) for ``n_agents``.

    Counted as the reader counts indices (rounds ``0..max``, options ``0..max``, or one per
    label where every option is a label, ``A``, ``B``, as the reader reads them; ``path``:
    the CSV read, whose labels pandas reads as missing, ``N/A``, are read as written);
    False when a round is not a number, or options mix numbers and labels (the reader then
    names the line).
    """
    rounds = pd.to_numeric(frame["round"], errors="coerce")
    if rounds.isna().any():
        return False
    values = pd.to_numeric(frame["option"], errors="coerce")
    if not values.isna().any():
        options = int(max(values.max(), -1)) + 1
    else:
        # labels: respondent IDs beside an option "q" (or "A"/"B") were refused as "calls
        # for ... 889 agents" although, read as names, every belief was there
        written = frame["option"]
        if path is not None and written.isna().any():
            written = _column_text(frame, "option", path)
        labels = written.astype("string").str.strip()
        if labels.isna().any() or pd.to_numeric(labels, errors="coerce").notna().any():
            return False
        options = int(labels.nunique())
    top = int(max(rounds.max(), -1)) + 1
    return len(frame) == frame["question"].nunique() * top * n_agents * options


def _agent_names(frame: pd.DataFrame, say: _Wording, path: Path | None
                 ) -> tuple[list[str] | None, str]:
    """Read an agent column that does not number the agents ``0..n-1``.

    Returns the agents' names in the order they first appear (``frame``'s agent column then
    holds them as text), or None to read the column as indices, with a note for the
    message about missing beliefs.  The column is read as names when no value is a number,
    or when, read as names, it gives every (question, round, agent, option) one line (the
    options numbered or labelled, ``q`` or ``A``/``B``): as
    ``simulate --adjacency`` writes names that look like numbers (respondent IDs 101, 205,
    or "007" beside "Zoë").  A typo in agents numbered ``0..n-1`` ("l" for 1, 50 for 5)
    leaves a belief of the right agent missing, so that reading fails and the typo is
    refused as before: a mixture with the message below, indices with the count of lines.
    """
    text = _agent_text(frame, path)
    named = text.notna()
    numeric = pd.to_numeric(text, errors="coerce").notna()
    names = [str(a) for a in dict.fromkeys(text[named])]  # in the order of their first line
    word = ~numeric & named
    # an empty field among numbers: the index reading names its line, as before
    if (not numeric.any() and word.any()) or (bool(named.all())
                                              and _complete_as_names(frame, len(names), path)):
        frame["agent"] = text.to_numpy()  # an empty field is refused by the caller
        return names, ""
    if word.any():
        # "a" among 0..5 without a full table of names is more likely a typo than an agent
        # named "a" beside agents named "0".."5": refuse, and say what is read
        row, other = (int(np.flatnonzero(m.to_numpy())[0]) for m in (word, numeric))
        raise ValueError(
            f"{say.data}: column 'agent' must hold integers >= 0; {say.line(row)} has "
            f"{str(text.iloc[row])!r}, but {say.line(other)} has "
            f"{str(text.iloc[other])!r}: number the agents 0..n-1 or name them "
            "on every line (names in the agent column that look like numbers need "
            f"{say.name_them}, or every (question, round, agent, option) given once)")
    shown = names if len(names) <= 5 else [*names[:5], "..."]
    return None, (f" (read as the names of {len(names):,} agents {shown}, as respondent IDs "
                  "are, it lacks beliefs too)")

