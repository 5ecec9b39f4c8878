"""Atomic writes: complete or absent, with the permissions of an ordinary new file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from core import atomic_path, write_json


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_written_file_gets_the_umask_mode(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        out = write_json({"a": 1}, tmp_path / "sub" / "m.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    assert out.read_text() == '{\n  "a": 1\n}\n'


def test_failure_leaves_neither_file_nor_temporary(tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    out.write_text("old")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]
