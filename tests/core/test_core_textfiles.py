"""core.textfiles: a user's text file opened decompressed by its name, as pandas reads it."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import core.checks
from core.textfiles import (
    READ_ERRORS,
    ZipMembersError,
    comment_line_note,
    compression,
    open_text,
    text_encoding,
)

TEXT = "a,b\n1,2\n# batch 2\n3,4\n"


def _zipped(data: bytes, *more: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("t.csv", data)
        for name in more:
            archive.writestr(name, b"x")
    return buffer.getvalue()


#: file suffix -> how to compress its bytes
PACK = {".gz": lambda d: gzip.compress(d, mtime=0), ".bz2": bz2.compress,
        ".xz": lzma.compress, ".zip": _zipped}


def _write(tmp_path: Path, suffix: str, data: bytes) -> Path:
    path = tmp_path / f"t.csv{suffix}"
    path.write_bytes(PACK[suffix](data) if suffix else data)
    return path


def test_compression_by_name_any_case_and_by_first_bytes(tmp_path: Path) -> None:
    assert [compression(f"p.tsv{s}") for s in (".gz", ".BZ2", ".Xz", ".ZIP", "", ".tgz")] \
        == ["gzip", "bzip2", "xz", "zip", None, None]
    assert compression("p.zip", zip_archive=False) is None  # cascade reads it as text
    # magic: text named .gz (and a file that cannot be opened) is plain text
    text = tmp_path / "t.csv.gz"
    text.write_text(TEXT)
    assert compression(text) == "gzip" and compression(text, magic=True) is None
    assert compression(tmp_path / "missing.gz", magic=True) is None
    assert compression(_write(tmp_path, ".gz", b"x"), magic=True) == "gzip"


@pytest.mark.parametrize("suffix", ["", ".gz", ".bz2", ".xz", ".zip"])
@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "utf-16"])
def test_open_text_decompresses_and_finds_a_utf16_mark_inside(tmp_path: Path, suffix: str,
                                                              codec: str) -> None:
    # Excel's "Unicode Text" saved as .csv.gz was read as UTF-8 by grn and ctmc
    path = _write(tmp_path, suffix, TEXT.encode(codec))
    want = "utf-16" if codec == "utf-16" else "utf-8-sig"
    assert text_encoding(path, decompressed=True) == want
    assert text_encoding(path) == (want if not suffix else "utf-8-sig")  # the raw bytes
    with open_text(path, compression(path)) as handle:
        assert handle.read() == TEXT
    with open_text(path, compression(path), want, newline="") as handle:
        assert list(handle) == TEXT.splitlines(keepends=True)


def test_text_encoding_looks_at_data_it_cannot_decompress_as_they_are(tmp_path: Path) -> None:
    # UTF-16 text named .gz: the reader reports it, as before (not a gzip file)
    path = tmp_path / "t.csv.gz"
    path.write_bytes(TEXT.encode("utf-16"))
    assert text_encoding(path, decompressed=True) == "utf-16" == text_encoding(path)
    assert text_encoding(tmp_path / "missing.gz", decompressed=True) == "utf-8-sig"
    cut = _write(tmp_path, ".xz", TEXT.encode("utf-16"))
    cut.write_bytes(cut.read_bytes()[:8])  # the header alone
    assert text_encoding(cut, decompressed=True) == "utf-8-sig"


def test_open_text_raises_read_errors_and_refuses_zip_archives_of_several_files(
        tmp_path: Path) -> None:
    path = _write(tmp_path, ".gz", TEXT.encode())
    path.write_bytes(path.read_bytes()[:-6])  # cut short
    with pytest.raises(EOFError), open_text(path, "gzip") as handle:
        handle.read()
    archive = tmp_path / "t.csv.zip"
    archive.write_bytes(_zipped(b"a\n", "b.txt", "c.txt"))  # pandas reads one file
    with pytest.raises(ZipMembersError, match=r"holds 3 files") as caught:
        open_text(archive, "zip", "utf-8")
    assert caught.value.count == 3 and isinstance(caught.value, READ_ERRORS)
    with pytest.raises(FileNotFoundError):
        open_text(tmp_path / "missing.csv.bz2", "bzip2", "utf-8")


@pytest.mark.parametrize("suffix", ["", ".gz", ".bz2", ".xz", ".zip"])
@pytest.mark.parametrize("codec", ["utf-8", "utf-16"])
def test_comment_line_note_reads_the_decompressed_text(tmp_path: Path, suffix: str,
                                                       codec: str) -> None:
    # the compressed bytes of a .csv.gz hid its '#' lines (or held some of their own)
    path = _write(tmp_path, suffix, TEXT.encode(codec))
    assert comment_line_note(path) == "; line 3 starts with '#' (comments are not supported)"
    path = _write(tmp_path, suffix, b"a,b\n1,2\n")
    assert comment_line_note(path) == ""


def test_comment_line_note_of_damaged_data_is_empty(tmp_path: Path) -> None:
    for suffix in (".gz", ".bz2", ".xz"):
        path = tmp_path / f"t.csv{suffix}"
        path.write_bytes(PACK[suffix](TEXT.encode())[:12])
        assert comment_line_note(path) == ""
    path = tmp_path / "t.csv.zip"
    path.write_bytes(_zipped(TEXT.encode(), "other.txt"))
    assert comment_line_note(path) == ""
    path.write_bytes(TEXT.encode())  # not a zip archive
    assert comment_line_note(path) == ""


def test_core_checks_re_exports_and_core_imports_no_applied_package() -> None:
    for name in ("comment_line_note", "text_encoding", "uncompressed_name"):
        assert getattr(core.checks, name) is getattr(sys.modules["core.textfiles"], name)
    code = ("import sys, core.textfiles, core.checks; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'biomodels', 'multiagent'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
