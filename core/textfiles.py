"""Open a user's text file, decompressed by its name.

pandas' ``read_csv`` decompresses a file named ``.gz``, ``.bz2``, ``.xz`` or ``.zip`` (an
archive of one file) by its name. The readers that scan a file's lines themselves (grn's
prior checks, ctmc's MAF comment lines, cascade's edge lists and options, the comment-line
note of every reader) open it here the same way, so that they see the text pandas reads,
not the compressed bytes; and they take UTF-16 after a byte-order mark at the start of
that text (Excel's "Unicode Text"), else UTF-8.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import zipfile
import zlib
from collections.abc import Callable
from typing import IO, Any

__all__ = [
    "DAMAGED",
    "READ_ERRORS",
    "ZipMembersError",
    "comment_line_note",
    "compression",
    "damaged_message",
    "open_text",
    "reads_as_number",
    "text_encoding",
    "uncompressed_name",
]

#: Compressed streams decompressed by the file's name: (suffix, kind, opener, first bytes).
#: bzip2's first bytes are "BZh" and a block size (not checked).
_STREAMS: tuple[tuple[str, str, Callable[..., Any], bytes], ...] = (
    (".gz", "gzip", gzip.open, b"\x1f\x8b"),
    (".bz2", "bzip2", bz2.open, b"BZh"),
    (".xz", "xz", lzma.open, b"\xfd7zXZ\x00"),
)
_OPENERS = {kind: opener for _, kind, opener, _ in _STREAMS}

#: compression suffixes that pandas reads by the file name (and ctmc's loaders open)
_COMPRESSIONS = (".gz", ".bz2", ".xz", ".zip")

#: Errors of reading a file that is compressed, or named so: gzip's BadGzipFile and bz2's
#: "Invalid data stream" are OSErrors, not so a truncated stream's EOFError, damaged
#: deflate data's zlib.error, a bad .xz or .zip.
READ_ERRORS: tuple[type[Exception], ...] = (OSError, EOFError, zlib.error, lzma.LZMAError,
                                            zipfile.BadZipFile)


#: What reading damaged or cut-short compressed data raises (from pandas too): a failed CRC
#: is gzip's BadGzipFile (an OSError without an errno, unlike a missing file's), a cut
#: stream EOFError, damaged deflate data zlib.error; a bad .xz or .zip their own errors.
DAMAGED: tuple[type[Exception], ...] = (gzip.BadGzipFile, EOFError, zlib.error,
                                        lzma.LZMAError, zipfile.BadZipFile)


def damaged_message(path: str | os.PathLike[str], err: BaseException) -> str:
    """Say that ``path``'s compressed data are damaged or cut short (``err``: why).

    They escaped the readers as a bare ``zlib.error`` ("Error -3 while decompressing
    data"), ``EOFError`` or "CRC check failed", naming no file.

    Parameters
    ----------
    path
        The file.
    err
        One of :data:`DAMAGED`.

    Returns
    -------
    str
        ``"'<path>': its compressed data are damaged or cut short (<err>)"``.
    """
    return f"{str(path)!r}: its compressed data are damaged or cut short ({err})"


def reads_as_number(text: str) -> bool:
    """Whether the text of a cell of a user's table reads as a number, as ``float`` reads it.

    The one test the readers of users' tables share (a header line or a row of data, a
    weight or a name, R's row names or edge weights).

    Parameters
    ----------
    text
        The cell, as written.

    Returns
    -------
    bool
        True for ``"1"``, ``" -0.5 "``, ``"1e-3"``, ``"inf"``, ``"nan"``; False for words.

    Examples
    --------
    >>> reads_as_number("1e-3"), reads_as_number("TP53")
    (True, False)
    """
    try:
        float(text)
    except ValueError:
        return False
    return True


class ZipMembersError(OSError):
    """A ``.zip`` file that holds other than one file (pandas reads an archive of one).

    Parameters
    ----------
    path
        The archive.
    count
        How many files it holds (:attr:`count`).
    """

    def __init__(self, path: str | os.PathLike[str], count: int) -> None:
        super().__init__(f"zip archive {os.fspath(path)!r} holds {count} files")
        self.count = count


def uncompressed_name(path: str | os.PathLike[str]) -> str:
    """Return ``path`` without a compression suffix (``cohort.tsv.gz`` -> ``cohort.tsv``).

    The separator of a user's table is guessed from the extension under the compression
    (any case): read with commas, a ``.tsv.gz`` came back as one column.

    Parameters
    ----------
    path
        The file's path or name.

    Returns
    -------
    str
        The path as text, a trailing ``.gz``, ``.bz2``, ``.xz`` or ``.zip`` removed.

    Examples
    --------
    >>> uncompressed_name("cohort.TSV.GZ"), uncompressed_name("t.csv")
    ('cohort.TSV', 't.csv')
    """
    text = os.fspath(path)
    low = text.lower()
    for ext in _COMPRESSIONS:
        if low.endswith(ext):
            return text[: -len(ext)]
    return text


def compression(path: str | os.PathLike[str], *, zip_archive: bool = True,
                magic: bool = False) -> str | None:
    """Return how a file is decompressed by its name (any case), or None for plain text.

    Parameters
    ----------
    path
        The file.
    zip_archive
        Whether a ``.zip`` file is an archive to read the one file of (as pandas reads
        it); if not, it is plain text (which a reader then finds is a zip archive).
    magic
        Whether a file named ``.gz``, ``.bz2`` or ``.xz`` must also start as such data do:
        if not (text named ``.gz``), or if it cannot be read (so that ``open`` reports it
        as a plain file's reader does), it is plain text.

    Returns
    -------
    str or None
        ``"gzip"``, ``"bzip2"``, ``"xz"``, ``"zip"`` or None.

    Examples
    --------
    >>> compression("p.tsv.GZ"), compression("p.zip", zip_archive=False), compression("p")
    ('gzip', None, None)
    """
    low = os.fspath(path).lower()
    if zip_archive and low.endswith(".zip"):
        return "zip"
    for suffix, kind, _, head in _STREAMS:
        if low.endswith(suffix):
            if not magic:
                return kind
            try:
                with open(path, "rb") as handle:
                    start = handle.read(len(head))
            except OSError:
                return None
            return kind if start == head else None
    return None


def _open_bytes(path: str | os.PathLike[str], kind: str | None) -> IO[bytes]:
    """Open ``path`` for reading its bytes, decompressed as ``kind`` (:func:`compression`).

    Raises
    ------
    ZipMembersError
        If ``kind`` is ``"zip"`` and the archive holds other than one file.
    """
    if kind is None:
        return open(path, "rb")
    if kind == "zip":
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if len(names) != 1:  # pandas reads a zip archive of one file only
                raise ZipMembersError(path, len(names))
            # the archive's file stays open until its member is closed
            return archive.open(names[0])
    return _OPENERS[kind](path, "rb")


def _bom_encoding(head: bytes) -> str:
    """``"utf-16"`` after a UTF-16 byte-order mark (either byte order), else ``"utf-8-sig"``."""
    return "utf-16" if head in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"


def text_encoding(path: str | os.PathLike[str], *, decompressed: bool = False) -> str:
    """Choose how to decode a user's text file: UTF-16 after its byte-order mark, else UTF-8.

    Excel's "Unicode Text" (and PowerShell's ``>``) write UTF-16 with a byte-order mark;
    read as UTF-8 such a file failed with "'utf-8' codec can't decode byte 0xff".

    Parameters
    ----------
    path
        The file; a missing or unreadable one gives ``"utf-8-sig"``, so that the reader
        reports it as before.
    decompressed
        Whether to look for the byte-order mark in the text decompressed by the file's name
        (:func:`compression`), as pandas reads it: a ``.csv.gz`` of UTF-16 text was read
        as UTF-8. A file that cannot be decompressed is looked at as it is. If False, the
        file's own first bytes are looked at (a compressed file then gives
        ``"utf-8-sig"``), for a reader that does not decompress.

    Returns
    -------
    str
        ``"utf-16"``, or ``"utf-8-sig"`` (UTF-8 without the byte-order mark that Excel's
        "CSV UTF-8" writes, which would otherwise stick to the first name).

    Examples
    --------
    >>> import gzip, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = path.write_text("a,b", encoding="utf-16")
    >>> text_encoding(path)
    'utf-16'
    >>> gz = path.with_suffix(".txt.gz")
    >>> _ = gz.write_bytes(gzip.compress(path.read_bytes()))
    >>> text_encoding(gz), text_encoding(gz, decompressed=True)
    ('utf-8-sig', 'utf-16')
    """
    kind = compression(path) if decompressed else None
    try:
        with _open_bytes(path, kind) as handle:
            head = handle.read(2)
    except (*READ_ERRORS, RuntimeError, NotImplementedError):
        # the reader that opens it reports the problem (an encrypted zip member or an
        # unsupported zip method raise these two)
        return "utf-8-sig" if kind is None else text_encoding(path)
    return _bom_encoding(head)


def open_text(path: str | os.PathLike[str], kind: str | None, encoding: str | None = None,
              *, errors: str = "strict", newline: str | None = None) -> IO[str]:
    r"""Open a user's text file for reading, decompressed as ``kind`` says.

    Parameters
    ----------
    path
        The file.
    kind
        How to decompress it, as :func:`compression` says (None: plain text).
    encoding
        The text's encoding; None looks for a UTF-16 byte-order mark at the start of the
        (decompressed) text, as :func:`text_encoding` does, errors of decompressing it
        raised.
    errors, newline
        As ``open``'s.

    Returns
    -------
    IO[str]
        The text, to close after use (a ``with`` block).

    Raises
    ------
    OSError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile
        If the file cannot be opened or decompressed (:data:`READ_ERRORS`), now or while it
        is read; a :class:`ZipMembersError` for an archive of other than one file.

    Examples
    --------
    >>> import bz2, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.csv.bz2"
    >>> _ = path.write_bytes(bz2.compress("a,b\n1,2\n".encode("utf-16")))
    >>> with open_text(path, compression(path)) as handle:
    ...     handle.read()
    'a,b\n1,2\n'
    """
    if encoding is None:
        if kind is None:
            encoding = text_encoding(path)
        else:
            with _open_bytes(path, kind) as raw:  # a byte-order mark inside
                encoding = _bom_encoding(raw.read(2))
    if kind is None:
        return open(path, encoding=encoding, errors=errors, newline=newline)
    if kind == "zip":
        return io.TextIOWrapper(_open_bytes(path, kind), encoding=encoding, errors=errors,
                                newline=newline)
    return _OPENERS[kind](path, "rt", encoding=encoding, errors=errors, newline=newline)


def comment_line_note(path: str | os.PathLike[str]) -> str:
    r"""Point to a line that starts with ``#``, for an error about a table read without comments.

    Readers of CSV tables take no comments (a name may contain ``#``): a ``# ...`` line was
    read as data and the error ("not square", "Unable to parse string", "NaN") did not say
    why. The text is read decompressed by the file's name, as pandas reads it (the
    compressed bytes of a ``.csv.gz`` hid its ``#`` lines, or held some of their own).

    Parameters
    ----------
    path
        The file; a missing or unreadable one (or compressed data that are damaged) gives
        ``""``.

    Returns
    -------
    str
        ``"; line N starts with '#' (comments are not supported)"`` for its first such line,
        to end the message, or ``""`` when it has none.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = path.write_text("a,b\n# note\n1,2\n")
    >>> comment_line_note(path)
    "; line 2 starts with '#' (comments are not supported)"
    """
    try:
        with open_text(path, compression(path), text_encoding(path, decompressed=True),
                       errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if line.lstrip().startswith("#"):
                    return f"; line {number} starts with '#' (comments are not supported)"
    except (*READ_ERRORS, RuntimeError, NotImplementedError):
        pass
    return ""
