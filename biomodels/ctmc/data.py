"""Cohort data: a synthetic generator with a known sparse theta, loaders and validation.

The generator follows the synthetic experiments of Gotovos et al. (NeurIPS 2021, section 5):
small blocks of strongly dependent events (promotion and mutual inhibition) padded with many
independent events whose base rates are drawn uniformly. Loaders read a 0/1 table of tumours x
events (CSV or TSV, event names in the header, an optional first column of sample ids) or a
MAF-style long table with one (sample, gene) row per alteration.

Convention for every theta here: ``theta[i, j]`` = effect of event j on the rate of event i.
"""

from __future__ import annotations

import lzma
import os
import re
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Sequence
from contextvars import ContextVar
from typing import IO, Any, overload

import numpy as np
import pandas as pd
import scipy.sparse as sp

from biomodels._stacklevel import user_stacklevel
from biomodels.ctmc._checks import check_not_trajectories
from core.checks import (
    check_count,
    check_number,
    check_seed,
    host_array,
    not_utf8_text,
    refuse_unordered,
)
from core.textfiles import (
    DAMAGED,
    ZipMembersError,
    comment_line_note,
    compression,
    damaged_message,
    open_text,
    text_encoding,
    uncompressed_name,
)

__all__ = [
    "validate_cohort",
    "read_cohort",
    "read_maf",
    "random_sparse_theta",
    "block_theta",
]


# columns checked together by validate_cohort's vectorised path
_BLOCK_COLUMNS = 512


def _is_anndata(x: Any) -> bool:
    return type(x).__name__ == "AnnData" and hasattr(x, "var_names")


def validate_cohort(
    data: Any, event_names: list[str] | None = None, *, warn_unobserved: bool = True
) -> tuple[np.ndarray, list[str]]:
    """Check a tumours x events matrix and return it as uint8 with event names.

    Parameters
    ----------
    data
        Binary numpy array, scipy sparse matrix, pandas DataFrame (columns = events) or
        AnnData (variables = events, ``X`` in memory, sparse or backed). Entries 0/1,
        booleans or the text ``TRUE``/``FALSE`` (any case).
    event_names
        Names for a numpy array (default ``"E0", "E1", ...``), in the order of its columns
        (a list, not a set), read as text like a DataFrame's columns (``np.arange(n)``
        names the events ``"0", "1", ...``).
    warn_unobserved
        Warn about events present in no tumour, or in every tumour (their base rate is then
        only bounded by the penalty and the optimiser's initialisation, not by data).

    Returns
    -------
    X, names
        (N, n) uint8 matrix and the n event names.

    Raises
    ------
    TypeError
        If ``event_names`` is a single string or a set (whose order changes from one run
        to the next), or ``data`` is the
        :class:`~biomodels.ctmc.sampling.Trajectories` of a sample instead of its matrix
        ``.X``.
    ValueError
        NaN or non-binary entries (naming the column), duplicated event names, wrong shape.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from biomodels.ctmc import validate_cohort
    >>> frame = pd.DataFrame({"TP53": [1, 0, 1], "IDH1": ["TRUE", "false", "FALSE"]})
    >>> X, names = validate_cohort(frame)
    >>> X.tolist(), names, X.dtype.name
    ([[1, 1], [0, 0], [1, 0]], ['TP53', 'IDH1'], 'uint8')
    >>> validate_cohort(np.array([[0, 1], [1, 2]]))
    Traceback (most recent call last):
    ...
    ValueError: event column 'E1' has non-binary entry 2; expected 0/1
    """
    if _is_anndata(data):
        mat = data.X
        # both reached pandas' bare "Must pass 2-d input. shape=()"
        if mat is None:
            raise ValueError("adata.X is None; put the tumours x events 0/1 matrix in X "
                             # anndata 0.13 lists None (for X) among the layer keys
                             f"(layers: {[k for k in data.layers.keys() if k is not None]})")
        if hasattr(mat, "to_memory"):  # backed (on-disk) sparse X
            mat = mat.to_memory()
        if hasattr(mat, "toarray"):
            mat = mat.toarray()
        names = [str(v) for v in data.var_names]
        frame = pd.DataFrame(np.asarray(mat), columns=names)
    elif isinstance(data, pd.DataFrame):
        frame = data
        names = [str(c) for c in data.columns]
    else:
        check_not_trajectories(data)  # a sample, not its matrix: also "got shape ()"
        # a scipy sparse matrix became a 0-d object array: "got shape ()"
        arr = data.toarray() if sp.issparse(data) else np.asarray(host_array(data, "X"))
        if arr.ndim != 2:
            raise ValueError(f"X must be a 2-D tumours x events matrix, got shape {arr.shape}")
        names = (
            _event_names(event_names) if event_names is not None
            else [f"E{i}" for i in range(arr.shape[1])]
        )
        if len(names) != arr.shape[1]:
            raise ValueError(
                f"event_names has {len(names)} entries but X has {arr.shape[1]} columns"
            )
        frame = pd.DataFrame(arr, columns=names)
    seen = Counter(names)  # names.count per name was quadratic: 3 s at 20,000 events
    dup = sorted(c for c, times in seen.items() if times > 1)
    if dup:
        raise ValueError(f"duplicated event names: {dup}")
    if frame.shape[1] == 0:
        raise ValueError("X has no event columns")
    if frame.shape[0] == 0:
        raise ValueError("X has no tumours (rows)")
    out = np.zeros(frame.shape, dtype=np.uint8)
    # blocks of plain numeric columns are checked at once (column by column took 3.8 s at
    # 10,000 x 5,000); a block with anything else, or a bad entry, goes column by column,
    # so the error still names the first offending column
    for start in range(0, frame.shape[1], _BLOCK_COLUMNS):
        block = frame.iloc[:, start : start + _BLOCK_COLUMNS]
        if all(isinstance(d, np.dtype) and d.kind in "biuf" for d in block.dtypes):
            values = block.to_numpy()
            if values.dtype.kind == "b" or ((values == 0) | (values == 1)).all():
                out[:, start : start + block.shape[1]] = values
                continue
        for j in range(start, start + block.shape[1]):
            try:
                out[:, j] = _binary_column(frame.iloc[:, j], names[j])
            except ValueError as exc:
                if not _is_anndata(data):
                    raise
                # counts in X and the 0/1 calls in a layer, as scanpy workflows keep them
                layers = [k for k in data.layers.keys() if k is not None]
                raise ValueError(
                    f"adata.X: {exc}; the events are read from X: pass a 0/1 layer as "
                    f"adata.to_df(layer=...) (layers: {layers}) or the calls as X, e.g. "
                    "(adata.X > 0)") from exc
    if warn_unobserved:
        _warn_unobserved(out, names)
    return out, names


def _warn_unobserved(x: np.ndarray, names: list[str]) -> None:
    """Warn of events present in no tumour of ``x``, or in every one.

    Either way the data do not bound the event's base rate: the penalty and the optimiser's
    start do. A counted cohort passes the rows whose count is above 0 (a row of count 0 is
    dropped by the fit: an event missing only there is in every tumour that counts).

    Parameters
    ----------
    x
        (N, n) 0/1 matrix, as :func:`validate_cohort` returns it.
    names
        The n event names.
    """
    counts = x.sum(0)
    never = [names[j] for j in np.flatnonzero(counts == 0)]
    if never:
        warnings.warn(
            f"events never observed in any tumour: {_listed(never)}; their base rates are "
            "driven down only as far as the optimiser allows (kept finite)",
            UserWarning,
            stacklevel=user_stacklevel(),  # CTMC.fit and read_cohort call this too
        )
    # the mirror case: no tumour without the event puts its base rate at +inf (a fit gave
    # theta_ii = 18, silently)
    always = [names[j] for j in np.flatnonzero(counts == x.shape[0])]
    if always and x.shape[0] > 1:
        warnings.warn(
            f"events observed in every tumour: {_listed(always)}; their base rates are "
            "driven up only as far as the optimiser allows (kept finite)",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


def _listed(names: list[str], k: int = 10) -> str:
    """Show the first ``k`` of ``names`` and how many there are (a wide panel has thousands)."""
    return str(names) if len(names) <= k else f"{names[:k]} ... ({len(names)} in all)"


def _event_names(event_names: Any) -> list[str]:
    """Event names as text, as a DataFrame's columns and an AnnData's var_names are read.

    Integers (``np.arange(n)``) stayed integers, so a model named its events ``0, 1`` or
    ``"0", "1"`` depending on how the cohort came, and ``write_results`` refused the
    AnnData's (text) var_names; a single string was split into its characters. A set is
    refused: its order changes from one process to the next, and the names went to other
    columns in each run (the fitted base rate of ``"TP53"`` was -2.1, 1.0 or -3.1).
    """
    if isinstance(event_names, str | bytes):
        raise TypeError(f"event_names: expected one name per event (a list), got the single "
                        f"string {event_names!r}")
    refuse_unordered(event_names, "event_names", "event names, one per column")
    return [str(v) for v in event_names]


def _entry_error(what: str, row: int, column: str | None = None) -> ValueError:
    """Build the plain ValueError ``"<what>; expected 0/1"`` of a bad entry, with its row.

    ``read_cohort`` puts the file's line (and sample id) before ``"; expected 0/1"`` from
    the attributes ``entry_what`` and ``entry_row`` (a subclass would show its private name
    in tracebacks), and reads the column from ``entry_column`` (None when not given).
    """
    exc = ValueError(f"{what}; expected 0/1")
    exc.entry_what, exc.entry_row = what, row  # type: ignore[attr-defined]
    exc.entry_column = column  # type: ignore[attr-defined]
    return exc


def _binary_column(raw: pd.Series, col: str) -> np.ndarray:
    """One event column as uint8, or a ValueError naming the column and its first bad entry."""
    if raw.dtype == object or isinstance(raw.dtype, pd.StringDtype):
        # TRUE/FALSE as text (pandas' dtype=str, a column mixing them with 1/0 or with a
        # gap): refused, while read_cohort's parser takes a column of only these words
        flag = raw.astype(str).str.strip().str.lower().map({"true": 1, "false": 0})
        hit = flag.notna().to_numpy()
        values = raw.to_numpy(dtype=object, copy=True)
        values[hit] = flag.to_numpy()[hit]
        raw = pd.Series(values, index=raw.index)
    numeric = pd.to_numeric(raw, errors="coerce")
    if numeric.dtype.kind == "c":  # the float conversion drops an imaginary part silently
        cvals = numeric.to_numpy()
        if (cvals.imag != 0).any():
            bad = cvals[cvals.imag != 0][0]
            raise ValueError(f"event column {col!r} has complex entry {bad!r}; expected 0/1")
        numeric = pd.Series(cvals.real, index=raw.index)
    values = numeric.to_numpy(dtype=float)
    if np.isnan(values).any():
        row = int(np.flatnonzero(np.isnan(values))[0])
        bad = raw.iloc[row]
        kind = "NaN/missing" if pd.isna(bad) else f"non-numeric entry {bad!r}"
        raise _entry_error(f"event column {col!r} has a {kind}", row, col)
    if not np.isin(values, (0.0, 1.0)).all():
        row = int(np.flatnonzero(~np.isin(values, (0.0, 1.0)))[0])
        raise _entry_error(f"event column {col!r} has non-binary entry "
                           f"{_shown_entry(values[row])}", row, col)
    return values.astype(np.uint8)


def _shown_entry(value: float) -> str:
    """Show an entry as stored: ``:g`` where that is exact (``2``, ``0.5``), else its repr.

    ``:g`` keeps 6 digits, so 0.9999999 and 1.0000001 were reported as "non-binary entry 1",
    the value the message says is expected.
    """
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


def _read_table(path: str | os.PathLike[str], **kwargs: Any) -> pd.DataFrame:
    """``pd.read_csv`` whose errors name the file (pandas' say only "No columns to parse")."""
    try:
        return pd.read_csv(path, **kwargs)
    except UnicodeDecodeError as err:  # e.g. Latin-1 from older Excel: say how to save it
        raise ValueError(f"cannot read {os.fspath(path)!r} as a table: it is "
                         f"{not_utf8_text(err)}") from err
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ValueError(f"cannot read {os.fspath(path)!r} as a table: {err}") from err
    except DAMAGED as err:
        # damaged or cut-short compressed data escaped as a bare zlib.error or "CRC check
        # failed", naming no file
        raise ValueError(f"cannot read {damaged_message(path, err)}") from err


def _text_lines(path: str, encoding: str = "utf-8") -> IO[str]:
    """Open ``path`` as text, decompressing as pandas does by its suffix.

    Raises
    ------
    ValueError
        For a ``.zip`` archive of other than one file (pandas refuses those too).
    OSError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile
        If the file cannot be opened or decompressed, now or while it is read.
    """
    try:
        return open_text(path, compression(path), encoding, errors="replace")
    except ZipMembersError as err:
        raise ValueError(f"{path}: a zip archive must hold one file, holds "
                         f"{err.count}") from None


#: how errors and warnings about ``weights`` name it: ``prunus ctmc fit`` sets its option
#: (``--weights count``) for its own call; a context variable, so threads keep their own
WEIGHTS_LABEL: ContextVar[str | None] = ContextVar("WEIGHTS_LABEL", default=None)


def _weights_label(weights: str) -> str:
    """Return how messages name the ``weights`` argument (:data:`WEIGHTS_LABEL`, if set)."""
    label = WEIGHTS_LABEL.get()
    return label if label is not None else f"weights={weights!r}"


#: how a read without ``weights`` names the way to read a count column as counts, a format
#: taking the column's name: ``prunus ctmc fit`` sets its option (``"--weights {} (and
#: --l1)"``) for its own call; a context variable, so threads keep their own
COUNTS_HINT: ContextVar[str] = ContextVar("COUNTS_HINT", default="weights={!r}")

# headers that name the tumours a row stands for (pandas' value_counts writes "count",
# dplyr's count() "n"); "n" only in lower case: "N" is also the nodal stage of TNM
_COUNT_HEADERS = frozenset({"count", "counts", "weight", "weights"})


def _is_count_header(header: str) -> bool:
    """Whether ``header`` names a column of tumour counts (a deduplicated cohort's)."""
    return header.lower() in _COUNT_HEADERS or header == "n"


def _counts_option(column: str) -> str:
    """Return how to ask for ``column`` as tumour counts (:data:`COUNTS_HINT`)."""
    return COUNTS_HINT.get().format(column)


@overload
def read_cohort(
    path: str | os.PathLike[str], *, sep: str | None = None, weights: None = None
) -> tuple[np.ndarray, list[str], list[str]]: ...


@overload
def read_cohort(
    path: str | os.PathLike[str], *, sep: str | None = None, weights: str
) -> tuple[np.ndarray, list[str], list[str], np.ndarray]: ...


def read_cohort(
    path: str | os.PathLike[str], *, sep: str | None = None, weights: str | None = None
) -> tuple[np.ndarray, list[str], list[str]] | tuple[
    np.ndarray, list[str], list[str], np.ndarray
]:
    r"""Read a 0/1 tumours x events table (CSV or TSV).

    Parameters
    ----------
    path
        File with event names in the header; a first column of sample ids is detected and
        kept as the index: distinct non-numeric strings, a header such as ``sample``/``id``
        or none (as R's ``write.table`` writes), or, when the column is not 0/1, a header
        naming ids in any usual spelling (``Tumor_Sample_Barcode``, ``Sample ID``,
        ``patient_id``, ``sampleId``: made of the words sample, patient, barcode, id,
        tumor/tumour; numeric ids such as ``1001`` too, unless the column's numbers are
        all 0 and 1, an event with a gap) or mostly text with about one value per row. A
        header that only holds such a word (``Tumor_Type``) takes mostly text with more
        than two values, or words that are not an event's (``yes``/``no``, ``mut``/``wt``),
        as ids. Ids are returned as written (``001``, ``1.10``, ``NA`` stay so), without
        surrounding spaces; ids on several rows are kept, with a warning, as is a row with
        an empty id (as ``""``).
        UTF-8 text, or UTF-16 with a byte-order mark (Excel's "Unicode Text").
    sep
        Field separator; default guesses from the extension (``.tsv``/``.txt`` -> tab),
        looking past a compression suffix (``.gz``, ``.bz2``, ``.xz``, ``.zip``).
    weights
        Name of a column that counts the tumours of each row (a deduplicated cohort: one
        row per genotype). It is not an event: it is taken out before the 0/1 checks and
        its counts are returned. Default: every row is one tumour, and a column named
        ``count``, ``counts``, ``weight``, ``weights`` (any case) or ``n`` (as pandas'
        ``value_counts`` and dplyr's ``count`` name it) is an event: an error about its
        entries (a count of 10) says to pass ``weights``, and one of only 0 and 1 is read
        as an event with a warning.

    Returns
    -------
    X : numpy.ndarray
        (N, n) uint8 0/1 matrix, one row per row of the file.
    event_names : list of str
        The n event names.
    sample_ids : list of str
        The N sample ids as the file writes them (``"0", "1", ...`` without an id column).
    counts : numpy.ndarray
        Only with ``weights``: (N,) float64 counts of the rows' tumours (whole numbers
        >= 0, not all 0), e.g. for ``CTMC.fit(sample_weight=counts)``. Without
        ``weights`` three values are returned, as before the argument existed.

    Raises
    ------
    ValueError
        An unreadable table, non-binary events (naming the file, the column, the line and
        the sample id, and, for a column named as counts, ``weights``), duplicated or empty
        header cells (naming the file); with
        ``weights``, a count column that is missing, repeated, or holds anything but whole
        numbers >= 0 (or only zeros), naming ``weights`` and the file.
    TypeError
        If ``weights`` is not a string.

    Warns
    -----
    UserWarning
        With ``weights``, a count column of only 0 and 1 (an event column taken for the
        counts: its rows with 0 would be left out of a fit); without it, a column named as
        counts (``count``, ``n``, ...) of only 0 and 1, read as an event; sample ids on
        several rows; rows with an empty sample id (naming their lines);
        more event columns than tumours, unless the header of the id column names samples
        (``sample``, ``Tumor_Sample_Barcode``, ...): the table may be genes x samples.

    Examples
    --------
    >>> import pathlib
    >>> import tempfile
    >>> from biomodels.ctmc import read_cohort
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "cohort.csv"
    >>> _ = path.write_text("sample,TP53,IDH1,count\nT1,1,0,5\nT2,1,1,2\nT3,0,0,9\n")
    >>> X, events, samples, counts = read_cohort(path, weights="count")
    >>> X.tolist(), events, samples, counts.tolist()
    ([[1, 0], [1, 1], [0, 0]], ['TP53', 'IDH1'], ['T1', 'T2', 'T3'], [5.0, 2.0, 9.0])
    """
    if weights is not None and not isinstance(weights, str):
        raise TypeError(f"weights: expected the name of the column counting the tumours of "
                        f"each row, got {weights!r}")
    path = os.fspath(path)
    if sep is None:
        # COHORT.TSV too: a case-sensitive test read an upper-case name with commas
        # cohort.tsv.gz too: pandas decompresses it, but it was read with commas
        sep = "\t" if uncompressed_name(path).lower().endswith((".tsv", ".txt", ".tab")) \
            else ","
    # Excel's "Unicode Text" is UTF-16: read as UTF-8 it failed on "byte 0xff" (its mark
    # looked for in the decompressed text, as pandas reads a .csv.gz)
    encoding = text_encoding(path, decompressed=True)
    frame = _read_table(path, sep=sep, encoding=encoding)
    if frame.index.nlevels > 1:  # e.g. a "# comment" line above the header
        raise ValueError(f"{path}: its lines have {frame.index.nlevels} fields more than its "
                         f"first line {list(map(str, frame.columns))}; expected a header of "
                         "event names (and, optionally, a sample id column) on the first line")
    r_style = not isinstance(frame.index, pd.RangeIndex)
    if r_style:
        # one field more on each line than in the header (R's write.table writes no header
        # cell above the row names): pandas made the first field the index, and the sample
        # ids came back as "0", "1", ...; the unnamed column is taken as the ids below
        frame = frame.rename_axis("").reset_index()
    counts = None
    if weights is not None:
        # the header as written, a cell per column of frame (none above R's row names)
        cells = ([""] if r_style else []) + pd.read_csv(
            path, sep=sep, header=None, nrows=1, dtype=str, keep_default_na=False,
            encoding=encoding).iloc[0].str.strip().tolist()
        at = _count_column(path, cells, weights)
        counts = _counts(path, frame.iloc[:, at], weights, at, r_style, sep=sep,
                         encoding=encoding)
        frame = frame.iloc[:, [j for j in range(frame.shape[1]) if j != at]]
        if frame.shape[1] == 0:  # pandas' "No columns to parse" named a temporary copy
            raise ValueError(f"{_weights_label(weights)}: {path} has no event column besides "
                             f"{weights!r}")
    if frame.shape[1] == 0:
        raise ValueError(f"{path}: no columns")
    if frame.shape[1] == 1 and any(c in str(frame.columns[0]) for c in ",;\t|" if c != sep):
        raise ValueError(f"{path}: a single column {str(frame.columns[0])!r}; expected event "
                         f"names separated by {sep!r} (pass sep= for another separator)")
    # pandas renames a repeated header name ("TP53" -> "TP53.1"): check the header as written
    if weights is None:
        header = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str,
                             keep_default_na=False, encoding=encoding).iloc[0].str.strip()
        header = header.tolist()
        number = list(range(1, len(header) + 1))
    else:  # the cells of the columns left, numbered as in the file
        header = [h for j, h in enumerate(cells) if j != at]
        number = [j + 1 for j in range(len(cells)) if j != at]
    if header and all(str(h).strip() in ("0", "1") for h in header):
        # a table saved without its header: the first tumour became the event names ('1',
        # '0') and was lost, or the names were "duplicated"
        raise ValueError(f"{path}: its first line {header[:10]} holds only 0 and 1, a tumour, "
                         "not event names; expected a header line of event names (write the "
                         "table with its column names)")
    # "TP53, IDH1" (a space after each comma) named the second event " IDH1"
    frame.columns = [c.strip() if isinstance(c, str) else c for c in frame.columns]
    dup = sorted(h for h, times in Counter(header).items() if times > 1)
    if dup:
        raise ValueError(f"{path}: duplicated event names in the header: {dup}")
    first = frame.columns[0]
    looks_like_ids = _is_id_column(first, frame[first])
    if looks_like_ids:
        # the rule above reads the parsed column (its numbers and gaps, as before); the ids
        # themselves come as written
        # the file's field of the ids: the second when the count column came first
        field = 1 if weights is not None and at == 0 else 0
        ids = _ids_as_written(path, frame[first], field, sep=sep, encoding=encoding)
        empty = [row for row, i in enumerate(ids) if not i.strip()]
        if empty:  # a gap in the id column: the row is still a tumour, as a repeated id's
            lines = [_line_of_row(path, row, sep=sep, encoding=encoding) for row in empty[:10]]
            shown = [line if line is not None else f"data row {row + 1}"
                     for line, row in zip(lines, empty, strict=False)]
            more = " ..." if len(empty) > 10 else ""
            warnings.warn(f"{path}: {len(empty)} row(s) have no sample id (an empty first "
                          f"field), on line(s) {shown}{more}; each is read as a tumour with "
                          "the id ''", UserWarning, stacklevel=user_stacklevel())
        repeated = sorted(i for i, times in Counter(ids).items() if times > 1 and i.strip())
        if repeated:  # e.g. two files concatenated: each row still counts as a tumour
            more = " ..." if len(repeated) > 10 else ""
            # a counted row stands for its count of tumours, not for one
            each = "a tumour" if counts is None else f"its {weights} tumours"
            warnings.warn(f"{path}: {len(repeated)} sample id(s) appear on more than one row, "
                          f"and each row counts as {each}: {repeated[:10]}{more}",
                          UserWarning, stacklevel=user_stacklevel())
        frame = frame.drop(columns=[first])
    else:
        ids = [str(i) for i in range(len(frame))]
    # pandas names an empty header cell "Unnamed: 3", which would become an event's name
    blank = [number[i] for i, h in enumerate(header) if not str(h).strip()
             and not (i == 0 and looks_like_ids)]
    if blank:
        raise ValueError(f"{path}: header cell(s) {blank} (1-based columns) are empty; every "
                         "event column needs a name")
    tumours = len(frame) if counts is None else float(counts.sum())
    # a header "sample" (or "Tumor_Sample_Barcode", ...) above the ids says rows are samples
    rows_named = looks_like_ids and bool(_header_words(str(first)) & _SAMPLE_WORDS)
    if frame.shape[1] > tumours and not rows_named:
        # a genes x samples table (Hugo_Symbol, then a column per sample) was read as
        # samples for events and genes for tumours, said only "events never observed".
        # A warning: tiny cohorts exist
        # both readings are named: the advice to transpose, followed for a small cohort
        # that was right as it was, turned it into the transposed table, read silently
        warnings.warn(f"{path}: {frame.shape[1]} event columns but {tumours:g} tumours (rows): "
                      "the table may be transposed (genes as rows, samples as columns); "
                      "expected one row per tumour and one column per event. If its rows are "
                      "genes, transpose it, e.g. pandas.read_csv(path, index_col=0).T.to_csv("
                      "new_path); if they are tumours, give them a first column of ids "
                      "named sample (or name the id column sample) to say so",
                      UserWarning, stacklevel=user_stacklevel())
    try:
        # a counted cohort's warnings are of the rows that count (below)
        x, names = validate_cohort(frame, warn_unobserved=counts is None)
    except ValueError as exc:  # a "# ..." line read as a tumour gave a bare "NaN/missing"
        note = comment_line_note(path)
        row = getattr(exc, "entry_row", None)
        if row is not None and not note:
            # "has a NaN/missing" named no line: a cohort has hundreds of them
            line = _line_of_row(path, row, sep=sep, encoding=encoding)
            where = f" on line {line}" if line is not None else f" in data row {row + 1}"
            if looks_like_ids:
                where += f" (sample {ids[row]!r})" if ids[row].strip() else " (no sample id)"
            column = getattr(exc, "entry_column", None)
            hint = ""
            if weights is None and column is not None and _is_count_header(column):
                # a deduplicated cohort read without weights: said only "non-binary entry 10"
                hint = (f"; a column counting the tumours of each row (a deduplicated "
                        f"cohort) is read with {_counts_option(column)}")
            raise ValueError(f"{path}: {exc.entry_what}{where}; expected 0/1{hint}") from None
        raise ValueError(f"{path}: {exc}{note}") from None
    if counts is not None:
        _warn_unobserved(x[counts > 0], names)
        return x, names, ids, counts
    for name in names:
        if _is_count_header(name):
            # counts that happen to be 0/1 were fitted as one more event without a word
            warnings.warn(f"{path}: column {name!r} holds only 0 and 1 and is read as an "
                          "event; if it counts the tumours of each row (a deduplicated "
                          f"cohort), read it with {_counts_option(name)}",
                          UserWarning, stacklevel=user_stacklevel())
    return x, names, ids


def _ids_as_written(path: str, column: pd.Series, field: int, *, sep: str,
                    encoding: str) -> list[str]:
    """Return the sample ids of ``column`` (the first column of a cohort) as ``path`` has them.

    pandas parsed the column: ``001`` came back as ``"1"``, ``1.10`` and ``1.1`` as one id,
    ``NA``/``null``/``None`` and an empty field as ``"nan"``, and a gap made ``1001`` into
    ``"1001.0"``. Text that pandas kept as it is (the usual barcodes) is taken from
    ``column``; else its field of each line is read again, as text.

    Parameters
    ----------
    path, sep, encoding
        The file and how :func:`read_cohort` read it.
    column
        The id column as parsed (R's row names included).
    field
        Its place among each line's fields (0; 1 after a count column read as weights,
        whose values came back as the ids).

    Returns
    -------
    list of str
        One id per data row (``""`` for an empty field), without surrounding spaces.
    """
    values = column.to_numpy(dtype=object)
    text_dtype = column.dtype == object or isinstance(column.dtype, pd.StringDtype)
    # stripped as read_maf strips: " 1" and "1" (or "T1 " and "T1") are one tumour's id,
    # and ids that kept stray spaces matched no other file's
    if text_dtype and all(isinstance(v, str) for v in values):
        return [v.strip() for v in values]
    # the first field of every line (the header's included), as written: the row names
    # of R's write.table too, which have no header cell above them
    text = pd.read_csv(path, sep=sep, encoding=encoding, header=None, usecols=[field],
                       dtype=str, keep_default_na=False).iloc[1:, 0]
    if len(text) != len(column):  # not expected (the same parser): the parsed values
        return [str(v).strip() for v in values]
    return [v.strip() for v in text]


# words that name a column of sample ids ("Tumor_Sample_Barcode", "Sample ID", "patientId")
_ID_WORDS = frozenset({"sample", "samples", "patient", "patients", "barcode", "barcodes", "id",
                       "ids", "tumor", "tumors", "tumour", "tumours"})
# words of a header that say the rows are tumours (an "id" may be a gene's)
_SAMPLE_WORDS = _ID_WORDS - {"id", "ids"}
# headers taken as ids whatever the column holds (the rule before _ID_WORDS; kept as it was)
_ID_HEADERS = frozenset({"sample", "samples", "sample_id", "id", "patient", "tumour", "tumor",
                         "barcode", "unnamed: 0", ""})


def _header_words(header: str) -> set[str]:
    """Return the lower-case words of a header (split on ``_``, ``-``, ``.``, camelCase)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", header)  # sampleId -> sample Id
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)  # TCGAId -> TCGA Id
    return {w for w in re.split(r"[_\-.\s]+", spaced.lower()) if w}


def _is_id_column(header: Any, col: pd.Series) -> bool:
    """Whether the first column of a cohort table holds sample ids rather than an event.

    Ids: under one of the headers of :data:`_ID_HEADERS`, or distinct non-numeric text (the
    rule before; files read so are read as before), or, when the column is no 0/1 event,
    under a header naming ids in any usual spelling (:data:`_ID_WORDS`) or holding mostly
    text with many distinct values. Repeated ids under ``Tumor_Sample_Barcode`` or
    ``Sample ID`` were read as an event ("non-numeric entry 'TCGA-02-0000'"), while
    ``sample`` gave the warning about repeated ids. Mostly text under a header holding an
    id word must still have more than two values or words that are not an event's: a
    ``yes``/``no`` or ``mut``/``wt`` event is still refused, not dropped as ids. Numbers
    (``1001``, ...) are ids under a header made of id words only (``patient_id``,
    ``sampleId``, ``Tumor_Sample_Barcode``, ``Sample ID``), as under ``sample_id``, unless
    their numbers are all 0 and 1 (a 0/1 event with a gap or a stray word, refused); under
    a header with other words (``Tumor_Type``) a 0/1 event with a gap or a 2 is refused.
    """
    numeric = pd.to_numeric(col, errors="coerce")
    text = numeric.isna() & col.notna()
    if str(header).lower() in _ID_HEADERS or (text.all() and col.is_unique):
        return True
    try:  # a 0/1 event stays one (it loaded as an event before), whatever its name
        _binary_column(col, str(header))
        return False
    except ValueError:
        pass
    # an event written as words has two values (yes/no, mut/wt); ids have about one per row.
    # Under an id header, mostly text with more than two values is enough; numbers with a
    # gap or a 2 stay an event to refuse (a Tumor_Type 0/1 column with one NaN was dropped)
    words = col[text].astype(str).str.strip().str.lower()
    mostly_text = bool(text.mean() > 0.5)
    header_words = _header_words(str(header))
    if header_words & _ID_WORDS:
        if mostly_text:
            return words.nunique() > 2 or not set(words) <= _EVENT_WORDS
        # numeric ids under patient_id, sampleId or Tumor_Sample_Barcode were refused as
        # "non-binary entry 1001" (sample_id took them); a header with other words
        # (Tumor_Type) keeps a 0/1 event with a 2 an event to refuse, as does a column whose
        # numbers are all 0/1 (an event with a gap or a stray word)
        numbers = numeric.dropna()
        return header_words <= _ID_WORDS and not numbers.isin((0, 1)).all()
    return mostly_text and words.nunique() > max(2, len(col) / 2)


#: Words an event column may be written in (an event, not ids, under an id-like header)
_EVENT_WORDS = frozenset({"yes", "no", "y", "n", "true", "false", "t", "f", "mut", "wt",
                          "mutant", "mutated", "wildtype", "wild-type", "wild type",
                          "present", "absent", "pos", "neg", "positive", "negative", "+",
                          "-", "amp", "del", "altered", "unaltered"})


def _line_of_row(path: str, row: int, *, sep: str, encoding: str) -> int | None:
    """Return the line of ``path`` (1-based) holding data row ``row`` of ``pd.read_csv``.

    Lines of blanks that pandas skips are counted as the file has them; None when the file
    cannot be read again or holds fewer lines (a quoted field over several lines).
    """
    try:
        with _text_lines(path, encoding=encoding) as handle:
            seen = -1  # the header is the first line read
            for number, line in enumerate(handle, start=1):
                text = line.rstrip("\r\n")
                if not text.strip() and sep not in text:
                    continue
                if seen == row:
                    return number
                seen += 1
    except (OSError, ValueError, EOFError):
        pass
    return None


def _count_column(path: str, cells: list[str], weights: str) -> int:
    """Position of the count column ``weights`` among the header ``cells`` of ``path``."""
    where = [j for j, h in enumerate(cells) if h == weights]
    if not where:
        shown = cells if len(cells) <= 20 else [*cells[:20], "..."]
        raise ValueError(f"{_weights_label(weights)}: {path} has no column {weights!r} (its "
                         f"columns: {shown})")
    if len(where) > 1:
        raise ValueError(f"{_weights_label(weights)}: {path} has {len(where)} columns named "
                         f"{weights!r}")
    return where[0]


def _counts(path: str, raw: pd.Series, weights: str, at: int, r_style: bool, *, sep: str,
            encoding: str) -> np.ndarray:
    """Read column ``at`` of ``path`` as float64 counts; a ValueError names a bad field."""
    if raw.dtype.kind == "b":  # TRUE/FALSE parsed as booleans: not counts
        values = np.full(len(raw), np.nan)
    elif raw.dtype.kind in "iuf":
        values = raw.to_numpy(dtype=np.float64)
    else:  # as text: a True among numbers would count as 1
        values = pd.to_numeric(raw.astype(str).str.strip(), errors="coerce").to_numpy(
            dtype=np.float64)
    bad = ~np.isfinite(values) | (values < 0) | (values != np.floor(values))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        # the field as written ("NA" and an empty field both read as NaN)
        text = _read_table(path, sep=sep, encoding=encoding, dtype=str, keep_default_na=False)
        if r_style:
            text = text.rename_axis("").reset_index()
        field = str(text.iloc[row, at])
        shown = "nothing" if not field.strip() else repr(field)
        # whole numbers: the held-out folds of a fit split the tumours that the counts stand for
        raise ValueError(f"{_weights_label(weights)}: line {row + 2} of {path} has {shown}; the "
                         "column must hold the number of tumours of each row (whole numbers "
                         ">= 0)")
    if not values.sum() > 0:
        raise ValueError(f"{_weights_label(weights)}: every count in {path} is 0; at least one row "
                         "needs tumours")
    zeros = int((values == 0).sum())
    if zeros and np.isin(values, (0.0, 1.0)).all():
        # an event column taken for the counts (weights="TP53") fitted the other events on
        # the tumours that carry it, without a word
        warnings.warn(f"{_weights_label(weights)}: {path} holds only 0 and 1 in that column, as in "
                      f"an event column; its {zeros} row(s) with 0 are left out of the fit. "
                      "Give the column that counts the tumours of each row", UserWarning,
                      stacklevel=user_stacklevel())
    return values


def read_maf(
    path: str | os.PathLike[str],
    *,
    sample_col: str = "Tumor_Sample_Barcode",
    gene_col: str = "Hugo_Symbol",
    sep: str | None = None,
    min_frequency: float = 0.0,
    top: int | None = None,
    samples: list[str] | None = None,
    classes: Sequence[str] | None = None,
    class_col: str = "Variant_Classification",
    collapse: str | None = None,
) -> tuple[np.ndarray, list[str], list[str]]:
    r"""Turn a MAF-style long table (one row per sample/gene alteration) into a 0/1 matrix.

    A MAF lists alterations only, so tumours without any are not in it; pass the sequenced
    cohort as ``samples`` to keep them (as all-zero rows: the empty state carries much of an
    MHN's probability mass, and leaving those tumours out biases the fit).

    Parameters
    ----------
    path
        MAF or any table with a sample column and a gene (event) column; lines starting with
        ``#`` are skipped. Compressed files (``.gz``, ``.bz2``, ``.xz``, ``.zip``, e.g. the
        GDC's ``.maf.gz``) are read as they are. UTF-8 text, or UTF-16 with a byte-order
        mark. Samples, genes and classes are read as written (``null`` and ``None`` too),
        without the spaces around them; an empty field or ``NA`` (R's missing value, as
        maftools reads it) is missing and its row skipped, with a warning where that leaves
        a sample out.
    sample_col, gene_col
        Column names (MAF defaults).
    sep
        Separator; default comma for ``.csv`` (also ``.csv.gz``), else tab.
    min_frequency
        Keep events present in at least this fraction of samples (ValueError, naming it, when
        no event is kept).
    top
        Keep only the ``top`` most frequent events (a positive integer; None keeps all).
    samples
        All sequenced samples, in the order wanted (a set: in sorted order, as the
        default); those without alterations get zero rows and frequencies count them.
        Default: the samples named in the table, in sorted order.
    classes
        Keep only rows whose ``class_col`` is one of these, e.g. maftools' non-synonymous
        classes ``["Frame_Shift_Del", "Frame_Shift_Ins", "Splice_Site",
        "Translation_Start_Site", "Nonsense_Mutation", "Nonstop_Mutation", "In_Frame_Del",
        "In_Frame_Ins", "Missense_Mutation"]``. Default None: every row counts, silent
        mutations included (maftools sets those aside; filter them here or before). A
        sample whose rows are all set aside stays, as a row of zeros. Classes are matched
        as written (case included): a ValueError lists the file's classes when none of
        ``classes`` keeps an alteration, a warning names those that never occur (in the
        order given; a set's in sorted order).
    class_col
        The column ``classes`` are read from (MAF: ``Variant_Classification``).
    collapse
        ``"sample"`` or ``"patient"`` merge the rows of one TCGA sample (the barcode's first
        15 characters, ``TCGA-02-0001-01``) or patient (the first 12, ``TCGA-02-0001``) into
        one tumour, with an event present when any of its aliquots has it; ``samples`` and
        the returned ids are then such barcodes. Every barcode must then be a TCGA one
        (ValueError naming one that is not). Default None: one tumour per barcode, as
        written.

    Returns
    -------
    X, event_names, sample_ids

    Raises
    ------
    ValueError
        A missing column (naming its argument), a sample of the file not in ``samples``,
        ``classes`` or ``min_frequency`` that keep no alteration, a barcode that is not a
        TCGA one with ``collapse``.
    TypeError
        If ``collapse`` is not a string or None.

    Warns
    -----
    UserWarning
        Without ``collapse``, several barcodes of one TCGA patient (each read as a tumour,
        where an MHN takes one tumour per patient); ``classes`` that never occur; rows with
        a gene but an empty sample field (skipped); without ``samples`` and ``classes``,
        samples whose every gene field is empty (left out: no alteration).

    Examples
    --------
    Events come most frequent first; ``T3`` was sequenced but has no alteration:

    >>> import pathlib
    >>> import tempfile
    >>> from biomodels.ctmc import read_maf
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "cohort.maf"
    >>> _ = path.write_text("Tumor_Sample_Barcode\tHugo_Symbol\n"
    ...                     "T1\tIDH1\nT1\tTP53\nT2\tTP53\n")
    >>> X, events, samples = read_maf(path, samples=["T1", "T2", "T3"])
    >>> X.tolist(), events, samples
    ([[1, 1], [1, 0], [0, 0]], ['TP53', 'IDH1'], ['T1', 'T2', 'T3'])
    """
    if collapse is not None and not isinstance(collapse, str):
        raise TypeError(f"collapse: expected 'sample', 'patient' or None, got {collapse!r}")
    if collapse not in (None, "sample", "patient"):
        raise ValueError(f"collapse: expected 'sample', 'patient' or None, got {collapse!r}")
    if top is not None:
        top = check_count("top", top, at_least=1)  # iloc[:-1] would drop an event silently
    min_frequency = check_number("min_frequency", min_frequency)
    path = os.fspath(path)
    if sep is None:
        sep = "," if uncompressed_name(path).lower().endswith(".csv") else "\t"
    # comment lines skipped by number: pandas' comment="#" also cut every line at a '#'
    # inside a field, so a sample "S#1" lost its row (and its events) without a word.
    # Counted in the decompressed text: a .maf.gz was scanned as bytes, its "#version"
    # line became the header and the sample column was "not a column"
    # UTF-16 after its byte-order mark, as read_cohort reads it (it was refused as "binary");
    # "utf-8-sig" drops a UTF-8 byte-order mark, which hid a "#version" line from this scan
    encoding = text_encoding(path, decompressed=True)
    try:
        with _text_lines(path, encoding=encoding) as handle:
            comments = [i for i, line in enumerate(handle) if line.startswith("#")]
    except (EOFError, zipfile.BadZipFile, lzma.LZMAError, zlib.error, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:  # missing file, permissions
            raise
        # gzip / bz2 say "Not a gzipped file" or "Invalid data stream", naming no file
        raise ValueError(f"cannot read {path!r}: its compressed data are damaged or not "
                         f"what its suffix says ({exc})") from exc
    if classes is not None:
        if isinstance(classes, str):  # one class, not its letters
            classes = [classes]
        # a set in sorted order: its own order (string hashing) changed the warning's list
        # of absent classes from one run to the next
        classes = ([str(c) for c in classes] if not isinstance(classes, set | frozenset)
                   else sorted(str(c) for c in classes))
    if isinstance(samples, set | frozenset):
        # sorted, as the samples are without `samples`: a set's own order (string hashing)
        # ordered the rows differently in each run, and folds drawn with a fixed seed
        # held other tumours
        samples = sorted(str(v) for v in samples)
    columns = _read_table(path, sep=sep, skiprows=comments, dtype=str, nrows=0,
                          encoding=encoding).columns
    needed = [(sample_col, "sample_col"), (gene_col, "gene_col")]
    if classes is not None:
        needed.append((class_col, "class_col"))
    for name, arg in needed:
        if name not in columns:
            raise ValueError(
                f"{arg}={name!r} is not a column of {path}; columns: {list(columns)}"
            )
    # only the columns used: a MAF has ~120 more, all of which were read as text
    used = [sample_col, gene_col] + ([class_col] if classes is not None else [])
    # missing: an empty field or R's NA (write.table's, which maftools' fread reads as
    # missing too), not pandas' other words ("null", "None", "n/a" are read as written);
    # the rows they leave out are warned of below, where a tumour on no other row vanished
    frame = _read_table(path, sep=sep, skiprows=comments, dtype=str, usecols=used,
                        keep_default_na=False, encoding=encoding)
    for name in dict.fromkeys(used):
        # "T1 " and "T1" were two tumours ("TP53 " and "TP53" two events)
        written = frame[name].str.strip()
        frame[name] = written.mask(written.isin(("", "NA")))
    # aliquots of one tumour were counted as several tumours without a word
    frame[sample_col] = _tcga_level(frame[sample_col], collapse, path=path, column=sample_col)
    _warn_empty_fields(frame, sample_col, gene_col, path=path,
                       drops_samples=samples is None and classes is None)
    sequenced = None
    if classes is not None:
        # every row counted, silent mutations too: maftools sets them aside by default. A
        # sample whose alterations are all set aside was still sequenced: it stays, as a
        # row of zeros (in sorted order, as the samples are without `classes`)
        if samples is None:
            samples = sorted(frame[sample_col].dropna().astype(str).unique())
        # the samples the check below sees without `classes`: those with a gene named
        sequenced = frame[[sample_col, gene_col]].dropna()[sample_col].astype(str).unique()
        written = frame[class_col].str.strip()
        present = sorted(written.dropna().unique())
        kept = frame[written.isin(classes)]
        # the filter emptied a file with alterations: "lists no alterations" blamed the file
        if kept[[sample_col, gene_col]].dropna().empty and len(sequenced):
            raise ValueError(f"classes={classes!r} keeps no alteration of {path}; the classes "
                             f"in {class_col!r} are {_listed(present, 30)} (matched as "
                             "written, upper/lower case included)")
        absent = [c for c in classes if c not in set(present)]
        if absent:  # a misspelt class among good ones was dropped without a word
            warnings.warn(f"classes: {absent} never occur in {class_col!r} of {path} (its "
                          f"classes: {_listed(present, 30)}); classes are matched as written, "
                          "upper/lower case included", UserWarning, stacklevel=user_stacklevel())
        frame = kept
    frame = frame[[sample_col, gene_col]].dropna().drop_duplicates()
    # sorted codes as pd.crosstab orders them; no dense samples x genes table is built before
    # the filter (crosstab made 10,000 x 20,000 int64 cells, 4 GB and 30 s, to keep 50 genes)
    sample_code, sample_names = pd.factorize(frame[sample_col], sort=True)
    gene_code, gene_names = pd.factorize(frame[gene_col], sort=True)
    if samples is not None:
        wanted = pd.Index([str(v) for v in samples])
        if wanted.duplicated().any():
            raise ValueError(f"samples has duplicates: {sorted(set(wanted[wanted.duplicated()]))}")
        # with `classes`, a sample whose rows were all set aside is checked too: it was
        # dropped silently where the same file without `classes` was refused
        unknown = sorted(set(map(str, sample_names) if sequenced is None else sequenced)
                         - set(wanted))
        if unknown:
            level = "" if collapse is None else (
                f" (with collapse={collapse!r}, as {collapse} barcodes: their first "
                f"{_TCGA_LENGTH[collapse]} characters)")
            raise ValueError(
                f"samples: {len(unknown)} sample(s) of {path} are not in `samples`, e.g. "
                f"{unknown[:5]}; pass every sequenced sample{level}"
            )
        row_of = wanted.get_indexer(pd.Index(sample_names).map(str))
        ids = [str(s) for s in wanted]
    else:
        row_of = np.arange(len(sample_names))
        ids = [str(s) for s in sample_names]
    # one row per (sample, gene) after drop_duplicates: the count is the number of samples
    freq = pd.Series(np.bincount(gene_code, minlength=len(gene_names)) / len(ids),
                     index=gene_names)
    keep = freq[freq >= min_frequency].sort_values(ascending=False, kind="stable")
    if top is not None:
        keep = keep.iloc[:top]
    if keep.empty:  # else validate_cohort's "X has no event columns" names neither
        if freq.empty:
            raise ValueError(f"{path} lists no alterations (no row with both {sample_col!r} "
                             f"and {gene_col!r})")
        raise ValueError(f"min_frequency={min_frequency!r} keeps no event of {path}; the most "
                         f"frequent is in {float(freq.max()):.3g} of the samples")
    col_of = np.full(len(gene_names), -1)
    col_of[pd.Index(gene_names).get_indexer(keep.index)] = np.arange(len(keep))
    col = col_of[gene_code]
    hit = col >= 0
    table = np.zeros((len(ids), len(keep)), dtype=np.uint8)
    table[row_of[sample_code[hit]], col[hit]] = 1
    x, names = validate_cohort(table, [str(g) for g in keep.index], warn_unobserved=False)
    return x, names, ids


def _warn_empty_fields(frame: pd.DataFrame, sample_col: str, gene_col: str, *, path: str,
                       drops_samples: bool) -> None:
    """Warn of the rows of a MAF that an empty sample or gene field leaves out.

    Both were dropped without a word: an alteration without its sample, and a sample whose
    every row has an empty gene field (a tumour of the cohort, left out of it).

    Parameters
    ----------
    frame
        The MAF's sample and gene columns, stripped, an empty field missing.
    sample_col, gene_col
        Their names.
    path
        The file, for the messages.
    drops_samples
        Whether a sample without an alteration is left out (no ``samples`` and no
        ``classes``, which keep it as a row of zeros).
    """
    sample, gene = frame[sample_col], frame[gene_col]
    orphan = int((sample.isna() & gene.notna()).sum())
    if orphan:
        warnings.warn(f"{path}: {orphan} row(s) have a gene but no {sample_col!r} (empty or "
                      "NA) and are skipped", UserWarning, stacklevel=user_stacklevel())
    if drops_samples and gene.isna().any():
        lost = sorted(set(sample.dropna()) - set(sample[gene.notna()].dropna()))
        if lost:
            warnings.warn(f"{path}: sample(s) {_listed(lost)} have no row with a gene (their "
                          f"{gene_col!r} empty or NA) and are left out; pass every sequenced "
                          "sample as samples= to keep them as tumours without alterations",
                          UserWarning, stacklevel=user_stacklevel())


# TCGA barcodes: TCGA-<site>-<participant>-<sample type><vial>-...
_TCGA_PATIENT = re.compile(r"TCGA-[A-Z0-9]{2}-[A-Z0-9]{4}(?=-|$)")
_TCGA_SAMPLE = re.compile(r"TCGA-[A-Z0-9]{2}-[A-Z0-9]{4}-[0-9]{2}(?=[A-Z]|-|$)")
_TCGA_LENGTH = {"patient": 12, "sample": 15}


def _tcga_level(barcodes: pd.Series, collapse: str | None, *, path: str,
                column: str) -> pd.Series:
    """Cut TCGA barcodes to their sample or patient (``collapse``); warn of repeats without.

    Parameters
    ----------
    barcodes
        The sample column of a MAF (text, missing values kept).
    collapse
        ``"sample"``, ``"patient"`` or None (the barcodes are returned as they are, with a
        warning when several of them belong to one TCGA patient).
    path, column
        The file and its sample column, for the messages.

    Returns
    -------
    pandas.Series
        The barcodes, cut to ``collapse``'s level.
    """
    written = barcodes.dropna()
    if collapse is None:
        patient = written[written.str.match(_TCGA_PATIENT)].str[:12]
        per_patient = pd.Series(written[patient.index].to_numpy(), index=patient.to_numpy())
        many = per_patient.groupby(level=0).nunique()
        many = many[many > 1]
        if len(many):
            shown = ", ".join(f"{p!r} ({k} barcodes)" for p, k in many.iloc[:3].items())
            more = f" ({len(many)} patients in all)" if len(many) > 3 else ""
            warnings.warn(f"{path}: several barcodes of one TCGA patient, each read as a "
                          f"tumour: {shown}{more}; collapse=\"patient\" or \"sample\" merges "
                          "them (an MHN takes one tumour per patient)", UserWarning,
                          stacklevel=user_stacklevel())
        return barcodes
    pattern = _TCGA_SAMPLE if collapse == "sample" else _TCGA_PATIENT
    bad = written[~written.str.match(pattern)]
    if len(bad):
        raise ValueError(f"collapse={collapse!r}: {bad.iloc[0]!r} in {column!r} of {path} is "
                         f"not a TCGA {collapse} barcode (TCGA-XX-XXXX"
                         f"{'-NN' if collapse == 'sample' else ''}...); collapse reads TCGA "
                         "barcodes only")
    return barcodes.str[: _TCGA_LENGTH[collapse]]


def random_sparse_theta(
    n: int, *, sparsity: float = 0.5, scale: float = 1.0, seed: int | None = None
) -> np.ndarray:
    """Draw a random MHN theta with a known sparse support (as in MHN's ``random_theta`` recipe).

    Parameters
    ----------
    n
        Number of events.
    sparsity
        Fraction of off-diagonal entries that are exactly zero.
    scale
        Standard deviation of the non-zero off-diagonal effects.
    seed
        Seed; None draws fresh entropy (another theta on every call).

    Returns
    -------
    np.ndarray
        (n, n) theta; diagonal = log base rates drawn so that tumours carry a few events
        (``mhn``'s ``random_theta`` draws them from N(0, 1), and a fixed number of
        non-zero effects; here each is non-zero with probability ``1 - sparsity``).

    Examples
    --------
    >>> import numpy as np
    >>> from biomodels.ctmc import random_sparse_theta
    >>> off = ~np.eye(4, dtype=bool)                # the 12 interactions of 4 events
    >>> int(np.count_nonzero(random_sparse_theta(4, sparsity=0.0, seed=0)[off]))
    12
    >>> theta = random_sparse_theta(4, sparsity=1.0, seed=0)
    >>> int(np.count_nonzero(theta[off]))           # independent events
    0
    >>> rates = np.exp(np.diag(theta))              # base rates, drawn in [0.1, 0.8)
    >>> bool(((rates >= 0.1) & (rates < 0.8)).all())
    True
    """
    # n=4.0 or True failed in numpy ("an integer is required"), sparsity="0.5" in a
    # comparison, naming neither
    n = check_count("n", n)
    sparsity = check_number("sparsity", sparsity, at_least=0, at_most=1)
    scale = check_number("scale", scale, at_least=0)
    rng = np.random.default_rng(check_seed(seed))
    theta = rng.normal(0.0, scale, (n, n)) * (rng.random((n, n)) >= sparsity)
    np.fill_diagonal(theta, np.log(rng.uniform(0.1, 0.8, n)))
    return theta


def block_theta(
    n_independent: int,
    *,
    blocks: str = "synth5",
    rate_range: tuple[float, float] = (0.01, 0.3),
    seed: int | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Dependent blocks padded with independent events (Gotovos et al. synthetic setting).

    Parameters
    ----------
    n_independent
        Number of independent padding events.
    blocks
        ``"synth2"``: event A (rate 1) promotes B (base rate e^-4, effect +4);
        ``"synth5"``: a chain of five events, A -> B -> C promoting by +4 and C -> D,
        C -> E by +3, with D and E mutually exclusive (-2 both ways). This is our own
        block, not the ``synth5`` of Gotovos et al.'s ``exp_synth.py`` (there: 0 -> 1 and
        3 -> 4 by +4, events 1, 2, 3 inhibiting each other by -2).
    rate_range
        Base rates of the padding events are uniform in this range (Gotovos et al. draw
        the log rates uniformly instead).
    seed
        Seed; None draws fresh entropy (another theta on every call).

    Returns
    -------
    theta, names
        theta with rows = targets; names ``A, B, ...`` then ``I0, I1, ...``.

    Examples
    --------
    >>> import numpy as np
    >>> from biomodels.ctmc import block_theta
    >>> theta, names = block_theta(2, blocks="synth2", seed=0)
    >>> names
    ['A', 'B', 'I0', 'I1']
    >>> theta[:2, :2].tolist()                      # A (rate e^0 = 1) promotes B by +4
    [[0.0, 0.0], [4.0, -4.0]]
    >>> rates = np.exp(np.diag(theta)[2:])          # padding: uniform in rate_range
    >>> bool(((rates >= 0.01) & (rates <= 0.3)).all())
    True
    """
    if isinstance(n_independent, bool) or not isinstance(n_independent, int | np.integer) \
            or n_independent < 0:
        raise ValueError(f"n_independent must be a non-negative integer, got {n_independent!r}")
    lo, hi = rate_range
    if not 0 < lo <= hi < np.inf:  # numpy's uniform overflows on an infinite high
        raise ValueError(f"rate_range must satisfy 0 < low <= high < inf, got {rate_range}")
    rng = np.random.default_rng(check_seed(seed))
    if blocks == "synth2":
        dep = np.array([[0.0, 0.0], [4.0, -4.0]])  # row B: A promotes B
    elif blocks == "synth5":
        dep = np.full((5, 5), 0.0)
        np.fill_diagonal(dep, [0.0, -3.0, -3.0, -1.5, -1.5])
        dep[1, 0] = 4.0  # A -> B
        dep[2, 1] = 4.0  # B -> C
        dep[3, 2] = 3.0  # C -> D
        dep[4, 2] = 3.0  # C -> E
        dep[3, 4] = -2.0  # D and E exclusive
        dep[4, 3] = -2.0
    else:
        raise ValueError(f"blocks must be 'synth2' or 'synth5', got {blocks!r}")
    m = dep.shape[0]
    n = m + n_independent
    theta = np.zeros((n, n))
    theta[:m, :m] = dep
    theta[m:, m:][np.diag_indices(n_independent)] = np.log(rng.uniform(lo, hi, n_independent))
    names = [chr(ord("A") + i) for i in range(m)] + [f"I{i}" for i in range(n_independent)]
    return theta, names
