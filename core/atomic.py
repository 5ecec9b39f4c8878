"""Atomic file writes: a result file is either complete or absent, never half written."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "write_json"]


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` and move it into place on success.

    Parameters
    ----------
    path
        The final destination. Its folder is created if needed.

    Yields
    ------
    Path
        A temporary file in the same folder; write to it (by name) inside the block.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "table.csv"
    >>> with atomic_path(out) as tmp:
    ...     pd.DataFrame({"a": [1]}).to_csv(tmp)
    >>> out.exists()
    True
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=final.suffix)
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates the file 0600; give the result the mode any new file gets (0666 minus
    # the umask) so that lab members who share the folder can read it.
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        yield tmp
        os.replace(tmp, final)  # atomic on POSIX within one filesystem
    finally:
        if tmp.exists():
            tmp.unlink()


def _umask() -> int:
    """Return the process umask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``obj`` as indented JSON, atomically.

    Parameters
    ----------
    obj
        Anything ``json.dump`` accepts.
    path
        Destination file.

    Returns
    -------
    Path
        The destination.
    """
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=float) + "\n")
    return Path(path)
