"""Atomic file writes: a result file is either complete or absent, never half written."""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import re
import shutil
import socket
import stat
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["atomic_outputs", "atomic_path", "save_torch", "torch_file_damage", "write_json"]


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` and move it into place on success.

    A ``path`` that is a symbolic link is written through: its target gets the new
    contents and the link stays. A file that is replaced keeps its permission bits; a new
    file gets those of any new file (``0o666`` minus the umask).

    The temporary file is named after the destination, this machine, this process and its
    PID namespace (``.checkpoint.pt.prunus-HOST-PID-nsNNNN-XXXXXXXX.pt``). A write killed
    outright (SIGKILL, a batch system's time limit) cannot remove it; the next write to the
    same ``path`` on the same machine does, once that process no longer runs. A process of
    another PID namespace (a container that shares the host name: Apptainer, podman,
    docker) cannot be looked up by its pid, so its temporary file is removed only once it
    has not changed for an hour. Temporary files of running processes and of other
    machines (a shared filesystem) are left alone.

    Parameters
    ----------
    path
        The final destination. Its folder is created if needed.

    Yields
    ------
    Path
        A temporary file in the same folder; write to it (by name) inside the block.

    Raises
    ------
    IsADirectoryError
        If ``path`` is a folder (before anything is written).
    FileNotFoundError
        If ``path``'s folder is a staging folder of :func:`atomic_outputs` that is gone
        (another process removed it while this run wrote into it): it is not made again,
        so that run fails and its output folder keeps its earlier files.
    OSError
        As the write raised it, naming ``path`` rather than the temporary file, and naming
        ``path`` where it named no file (a full disk: ``[Errno 28] No space left on
        device``).

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
    if final.is_symlink():
        # os.replace onto the link replaced the link itself with a file and left its target
        # stale; write the target instead (a dangling link's target is created)
        final = Path(os.path.realpath(final))
    if final.is_dir():  # checked first: the rename failed after the write, naming the temp file
        raise IsADirectoryError(f"cannot write {str(path)!r}: it is a folder; give a file name")
    # a staging folder that another process removed was made again here, and its run then
    # moved an incomplete set of files into place and reported success
    stage = next((p for p in (final.parent, *final.parent.parents)
                  if p.name.startswith(_STAGING)), None)
    vanished = None if stage is None else _vanished_stage(stage)
    if vanished is not None:
        raise vanished
    if final.parent != stage:  # a staging folder is never made here, only checked
        final.parent.mkdir(parents=True, exist_ok=True)
    try:  # a replaced file keeps its mode (a 0600 file became 0644, readable by all)
        mode = stat.S_IMODE(os.stat(final).st_mode)
    except FileNotFoundError:
        # mkstemp creates the file 0600; give the result the mode any new file gets (0666
        # minus the umask) so that lab members who share the folder can read it.
        mode = 0o666 & ~_umask()
    _remove_abandoned_temporaries(final)
    # named after the machine, the process and its PID namespace, so that a later write
    # can tell an abandoned one (its writer killed) from a running writer's
    fd, tmp_name = tempfile.mkstemp(dir=final.parent, suffix=final.suffix,
                                    prefix=f"{_temporary_prefix(final)}{_owner()}")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        _fsync(tmp)  # the data on disk before the rename, or a crash can leave an empty file
        os.chmod(tmp, mode)  # after the writes: a read-only file's mode would block them
        os.replace(tmp, final)  # atomic on POSIX within one filesystem
        if os.name == "posix":
            _fsync(final.parent)  # and the rename itself
    except OSError as exc:
        vanished = None if stage is None else _vanished_stage(stage)
        if vanished is not None:
            raise vanished from exc
        # named after the file being written, not its hidden temporary; a full disk named
        # none ("prunus: error: [Errno 28] No space left on device")
        named = _renamed(exc, {tmp: final}, final)
        if named is None:
            raise
        raise named from exc
    finally:
        if tmp.exists():
            tmp.unlink()


@contextmanager
def atomic_outputs(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a staging folder inside ``folder``; move its files into ``folder`` on success.

    A command that writes several result files writes them all into the staging folder;
    they replace the files of an earlier run only once every one of them is written, so a
    run that fails half way never leaves its new files next to an old run's. On failure the
    staging folder is removed and ``folder`` keeps what it held. Two runs into one folder
    move their files one run at a time (a lock on the folder, where the filesystem has
    locks), so it holds the later run's set whole, not a mix. A run killed outright
    (SIGKILL, a batch system's time limit) cannot remove its staging folder; the next run
    into ``folder`` on the same machine removes it.

    A run holds an ``flock`` on its staging folder while it runs, which the kernel releases
    when the process ends, however it ends: a staging folder is removed only when its lock
    is free, so a running process's is kept also where its pid cannot be looked up (a
    container of its own PID namespace that shares the host name: Apptainer, podman,
    docker). Where the filesystem has no locks (some network filesystems), the folder of a
    process of another PID namespace is removed only once it has not changed for an hour.
    A staging folder that is gone all the same (removed by an earlier version of prunus, or
    by hand) is not made again: the run fails, naming it, and ``folder`` keeps its earlier
    files.

    Parameters
    ----------
    folder
        The output folder; created if needed.

    Yields
    ------
    Path
        The staging folder (inside ``folder``, so the final moves are renames). Write plain
        files into it, no sub-folders.

    Raises
    ------
    ValueError
        If ``folder`` exists and is not a folder, or the block wrote a sub-folder.
    FileNotFoundError
        If the staging folder was removed while the block wrote into it (nothing moved).
    OSError
        As the block or a move raised it, naming the file in ``folder`` rather than in the
        staging folder, and naming ``folder`` where it named no file (a full disk).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "results"
    >>> with atomic_outputs(out) as stage:
    ...     _ = (stage / "a.txt").write_text("a")
    ...     _ = (stage / "b.txt").write_text("b")
    >>> sorted(p.name for p in out.iterdir())
    ['a.txt', 'b.txt']
    """
    final = Path(folder)
    if final.exists() and not final.is_dir():
        raise ValueError(f"the output folder {str(final)!r} is an existing file; give a folder")
    final.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_stages(final)
    stage, lock = _new_stage(final)
    try:
        try:
            yield stage
            vanished = _vanished_stage(stage, lock)
            if vanished is not None:  # nothing of this run is left to move
                raise vanished
            files = sorted(stage.iterdir())
            nested = [p.name for p in files if p.is_dir()]
            if nested:
                raise ValueError(f"atomic_outputs takes plain files, got folders {nested}")
            for path in files:
                _fsync(path)
            # two runs into one folder that end together interleaved their moves and left a
            # mix of both runs' files: one run's set is moved at a time
            with _locked(final):
                # every move must be able to succeed before the first one is made
                blocked = [str(final / p.name) for p in files if (final / p.name).is_dir()]
                if blocked:
                    raise ValueError(
                        f"cannot write {blocked}: a folder of that name is in the way")
                _move_all(files, final, stage)
                if os.name == "posix":
                    _fsync(final)
        except Exception as exc:  # errors only: Ctrl-C and SIGTERM pass as they are
            vanished = _vanished_stage(stage, lock)
            if vanished is not None and vanished.args != exc.args:
                raise vanished from exc  # whatever failed, this was why
            # the files as the user knows them (DIR/x.csv, not DIR/.prunus-staging-.../x.csv),
            # and the folder where the error named none (a full disk)
            named = _renamed(exc, {stage: final}, final) if isinstance(exc, OSError) else None
            if named is None:
                raise
            raise named from exc
    finally:
        if _vanished_stage(stage, lock) is None:  # not a folder of that name made since
            shutil.rmtree(stage, ignore_errors=True)
        if lock is not None:
            os.close(lock)  # and its lock, once the folder is gone


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``folder`` for the block (other runs' blocks wait).

    Where a folder cannot be locked (Windows, network filesystems without locks) the block
    runs unlocked, as it did before.
    """
    fd: int | None = None
    if os.name == "posix":
        import fcntl

        try:  # opening needs read permission, which a write-only folder lacks
            fd = os.open(folder, os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # no locks on this filesystem: go on without one
            if fd is not None:
                os.close(fd)
            fd = None
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)  # and the lock with it


#: How long a staging folder or temporary file of a process of another PID namespace must
#: have gone unchanged to be taken for abandoned where no lock can tell (seconds): a pid
#: of another namespace cannot be looked up, and a live writer changes its files far
#: more often than that
_ABANDONED_AFTER = 3600.0

#: the start of every staging folder's name
_STAGING = ".prunus-staging-"


def _new_stage(final: Path) -> tuple[Path, int | None]:
    """Make a staging folder in ``final`` and hold its lock; return it and the lock's fd.

    The fd is None where the folder cannot be locked (no locks on the filesystem). Another
    run may take a folder for abandoned in the instant between its making and its lock
    (its pid in another PID namespace): the lock is taken once that run has let go, and a
    folder removed meanwhile is made anew.
    """
    for _ in range(100):
        stage = Path(tempfile.mkdtemp(dir=final, prefix=f"{_stage_prefix()}{_owner()}"))
        try:
            held, lock = _hold(stage)
        except BaseException:  # Ctrl-C while waiting for the lock
            shutil.rmtree(stage, ignore_errors=True)
            raise
        if held:
            return stage, lock
    raise FileNotFoundError(f"cannot make a staging folder in {str(final)!r} that stays: "
                            "other processes keep removing them")


def _hold(stage: Path) -> tuple[bool, int | None]:
    """Lock ``stage`` (``flock``, waiting for a run that looks at it to remove it).

    Returns whether the folder is still there, made by this process, and the locked fd
    (None where the filesystem has no locks).
    """
    if os.name != "posix":
        return True, None
    import fcntl

    try:
        fd = os.open(stage, os.O_RDONLY)
    except FileNotFoundError:  # removed already
        return False, None
    except OSError:
        return True, None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:  # no locks on this filesystem (some NFS mounts): go on without
        os.close(fd)
        return True, None
    if _vanished_stage(stage, fd) is not None:  # removed before it was locked
        os.close(fd)
        return False, None
    return True, fd


def _vanished_stage(folder: Path, lock: int | None = None) -> FileNotFoundError | None:
    """Return the error for a staging folder ``folder`` that is gone, or None.

    With ``lock`` (the fd locking the folder) a folder made anew under the same name is
    gone too. None for a folder that is no staging folder.
    """
    if not folder.name.startswith(_STAGING):
        return None
    try:
        now = os.stat(folder)
    except FileNotFoundError:
        gone = True
    except OSError:  # cannot tell: the write's own error says what failed
        gone = False
    else:
        then = os.fstat(lock) if lock is not None else now
        gone = not stat.S_ISDIR(now.st_mode) or (now.st_dev, now.st_ino) != (then.st_dev,
                                                                             then.st_ino)
    if not gone:
        return None
    return FileNotFoundError(
        f"the staging folder {str(folder)!r} was removed while this run was writing its "
        f"files into it (by another process, which took it for abandoned); none of them "
        f"was moved into {str(folder.parent)!r}, which keeps its earlier files: run the "
        "command again")


#: The errors of a write that failed for want of room or a writable device: such an error
#: that names no file gets the output folder's name
_WRITE_ERRNOS = frozenset(getattr(errno, n) for n in ("ENOSPC", "EDQUOT", "EFBIG", "EIO",
                                                      "EROFS") if hasattr(errno, n))


def _renamed(exc: OSError, moved: Mapping[Path, Path], default: Path) -> OSError | None:
    """Return ``exc`` naming destinations, not temporaries, and ``default`` for no name.

    A file in a folder of ``moved`` (a key) is named in the folder it goes to (its value);
    a key itself is named as its value. None where nothing changes, ``exc`` has no errno,
    or the errno gives another class.
    """
    if exc.errno is None:
        return None

    def name(value: Any) -> Any:
        if not isinstance(value, str | os.PathLike):
            return value
        path = Path(value)
        for old, new in moved.items():
            if path == old:
                return str(new)
            if old in path.parents:
                return str(new / path.relative_to(old))
        return value

    # the folder is said only for a failed write: another error raised in the block (a
    # network reset) has nothing to do with it
    unnamed = str(default) if exc.errno in _WRITE_ERRNOS else None
    filename = unnamed if exc.filename is None else name(exc.filename)
    filename2 = name(exc.filename2)
    if (filename, filename2) == (exc.filename, exc.filename2):
        return None
    named = OSError(exc.errno, exc.strerror, filename, None, filename2)
    return named if type(named) is type(exc) else None


def _pid_namespace() -> str:
    """Return the PID namespace of this process (``ns4026531836``), or ``""`` if unknown.

    Linux gives every container that does not share the host's PIDs one of its own; a pid
    says whether a process runs only within the namespace it is from.
    """
    try:
        link = os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"
    except (OSError, AttributeError):
        return ""
    digits = "".join(c for c in link if c.isdigit())
    return f"ns{digits}" if digits else ""


def _owner() -> str:
    """Return the part of a staging folder's or temporary's name after the host."""
    namespace = _pid_namespace()
    return f"{os.getpid()}-{namespace}-" if namespace else f"{os.getpid()}-"


def _parse_owner(rest: str) -> tuple[int, str | None] | None:
    """Return the pid and PID namespace (None: not recorded) of a name after the host."""
    parts = rest.split("-")
    if not parts[0].isdigit():
        return None
    namespace = parts[1] if len(parts) >= 3 and re.fullmatch(r"ns\d+", parts[1]) else None
    return int(parts[0]), namespace


def _abandoned(pid: int, namespace: str | None, path: str | os.PathLike[str]) -> bool:
    """Whether the writer ``pid`` of ``path`` has ended, where no lock can tell.

    A pid of this PID namespace (or of a name that does not record one: earlier versions)
    is looked up; one of another namespace cannot be, so ``path`` must also have gone
    unchanged for :data:`_ABANDONED_AFTER` seconds (its files too, for a folder).
    """
    if namespace is None or namespace == _pid_namespace():
        return not _alive(pid)
    try:
        latest = os.stat(path).st_mtime
        if os.path.isdir(path):
            for entry in os.scandir(path):
                latest = max(latest, entry.stat(follow_symlinks=False).st_mtime)
    except OSError:  # gone, or cannot be read: leave it
        return False
    return time.time() - latest > _ABANDONED_AFTER


def _host() -> str:
    """Return the host name with every character but letters and digits as ``_``."""
    return "".join(c if c.isalnum() else "_" for c in socket.gethostname()) or "host"


def _stage_prefix() -> str:
    """Staging folders are named after this machine, then the process that made them."""
    return f"{_STAGING}{_host()}-"


#: a file name's limit on common filesystems (ext4, xfs, APFS, NTFS: 255 bytes)
_NAME_MAX = 255


def _temporary_prefix(final: Path) -> str:
    """:func:`atomic_path`'s temporary files of ``final`` start so, then the writer's pid.

    Where the whole name (plus pid, mkstemp's 8 letters and the suffix) would pass 255
    bytes, the target's name is cut and a hash of it added: a 235-character name that
    writes fine failed with "File name too long" on its temporary.
    """
    host = _host()
    prefix = f".{final.name}.prunus-{host}-"
    # pid, "-", the PID namespace ("ns", up to 20 digits, "-"), random letters, suffix
    rest = 10 + 1 + 23 + 8 + len(final.suffix.encode())
    if len((prefix).encode()) + rest <= _NAME_MAX:
        return prefix
    digest = hashlib.sha256(final.name.encode()).hexdigest()[:12]
    host = host[:32]
    room = _NAME_MAX - rest - len(f"..~{digest}.prunus-{host}-".encode())
    stem = final.name.encode()[:max(room, 0)].decode(errors="ignore")
    return f".{stem}~{digest}.prunus-{host}-"


def _remove_abandoned_temporaries(final: Path) -> None:
    """Remove temporary files of writes to ``final`` whose writers (on this machine) died.

    A write killed outright left its temporary file (a whole checkpoint, mode 0600) next
    to ``final`` for good. Those of live processes and of other machines (a shared
    filesystem, where a pid says nothing) are left alone, and those of another PID
    namespace (a container) until they have not changed for an hour (:func:`_abandoned`):
    a running writer's was removed because its pid was not found.
    """
    if os.name != "posix" or not final.parent.is_dir():  # os.kill(pid, 0): Ctrl-C on Windows
        return
    # the writer's pid (and PID namespace), then mkstemp's random letters: no other file of
    # the folder matches
    name = re.compile(re.escape(_temporary_prefix(final)) + r"(\d+)-(?:(ns\d+)-)?[A-Za-z0-9_]+"
                      + re.escape(final.suffix))
    try:
        entries = list(os.scandir(final.parent))
    except OSError:  # a folder one may write but not list: nothing to find
        return
    for entry in entries:
        match = name.fullmatch(entry.name)
        if (match is not None and entry.is_file(follow_symlinks=False)
                and _abandoned(int(match.group(1)), match.group(2), entry.path)):
            try:
                os.unlink(entry.path)
            except OSError:  # removed by another writer meanwhile, or not ours to remove
                pass


def _remove_abandoned_stages(folder: Path) -> None:
    """Remove staging folders of this machine's processes that no longer run.

    Another machine's folders (a shared filesystem) and live processes' are left alone. A
    running process holds the lock of its folder (:func:`atomic_outputs`), which is all
    that tells where its pid cannot be looked up (another PID namespace: a container that
    shares the host name): its folder was removed under it. A folder whose lock is free is
    removed, unless its pid runs in this namespace (the name of an earlier version's folder
    records no namespace, and its writer took no lock); where the filesystem has no locks,
    :func:`_abandoned` decides.
    """
    if os.name != "posix":  # os.kill(pid, 0) sends Ctrl-C on Windows
        return
    import fcntl

    prefix = _stage_prefix()
    for stage in folder.glob(f"{prefix}*"):
        owner = _parse_owner(stage.name[len(prefix):])
        if owner is None or stage.is_symlink() or not stage.is_dir():
            continue
        pid, namespace = owner
        try:
            fd: int | None = os.open(stage, os.O_RDONLY)
        except OSError:  # gone meanwhile, or cannot be read
            fd = None
        try:
            free: bool | None = None  # None: no lock can tell
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    free = True
                except BlockingIOError:
                    free = False  # its process runs, wherever its pid lives
                except OSError:  # no locks on this filesystem
                    pass
            if free is None:
                remove = _abandoned(pid, namespace, stage)
            else:  # removed while locked: its maker, if it starts now, makes another
                same = namespace is None or namespace == _pid_namespace()
                remove = free and not (same and _alive(pid))
            if remove:
                shutil.rmtree(stage, ignore_errors=True)
        finally:
            if fd is not None:
                os.close(fd)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):  # not ours, or cannot tell: keep it
        return True
    return True


def _move_all(files: list[Path], final: Path, stage: Path) -> None:
    """Rename ``files`` into ``final``; if one rename fails (or Ctrl-C), undo the others.

    The earlier run's files are hard-linked into ``stage`` first, so a failure half way
    puts them back and removes the new files that had no earlier version.
    """
    backup = stage / ".previous"
    backup.mkdir()
    kept: dict[Path, Path | None] = {}
    for path in files:
        old = final / path.name
        saved = backup / path.name
        if old.exists():
            try:
                os.link(old, saved)
            except OSError:  # no hard links here (some network filesystems): copy instead
                shutil.copy2(old, saved)
            kept[old] = saved
        else:
            kept[old] = None
    moved: list[Path] = []
    try:
        for path in files:
            os.replace(path, final / path.name)
            moved.append(final / path.name)
    except BaseException:
        for target in moved:
            saved = kept[target]
            if saved is None:
                target.unlink(missing_ok=True)
            else:
                os.replace(saved, target)
        raise


def save_torch(obj: Any, path: str | os.PathLike[str]) -> Path:
    """``torch.save`` ``obj`` to ``path`` atomically, the same object to the same bytes.

    Every record gets its CRC-32 checksum, which :func:`torch_file_damage` checks, also
    where ``torch.serialization.set_crc32_options(False)`` turned them off (the caller's
    setting is restored).

    Parameters
    ----------
    obj
        Anything ``torch.save`` takes.
    path
        Destination file; replaced only once complete.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    KeyboardInterrupt
        When interrupted while writing (Ctrl-C, or SIGTERM in a command), also where torch's
        writer raised a ``RuntimeError`` over the interrupt; ``path`` is left as it was.
    """
    import torch
    from torch import serialization

    # every record with its CRC-32, which torch_file_damage checks on reading: with
    # set_crc32_options(False) torch wrote 0s, and a damaged file could not be told
    crc = getattr(serialization, "get_crc32_options", lambda: True)()
    if not crc:
        serialization.set_crc32_options(True)
    try:
        # through a handle: given a path, torch names the archive's inner folder after the
        # file, here atomic_path's random temporary name, so the same object gave other bytes
        # an interrupt the caller is handling ("save what we have" in an except block) is the
        # context of every error raised here: not one that landed while writing
        handled = sys.exc_info()[1]
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            try:
                torch.save(obj, handle)
            except RuntimeError as exc:
                # Ctrl-C or SIGTERM inside torch's zip writer: closing the archive raised
                # "[enforce fail at inline_container.cc] unexpected pos" over it, and a
                # command ended in that traceback (exit 1, not 130/143). The interrupt it is
                interrupt = exc.__context__
                if isinstance(interrupt, KeyboardInterrupt) and interrupt is not handled:
                    raise interrupt from None
                raise
    finally:
        if not crc:  # the caller's setting
            serialization.set_crc32_options(False)
    return Path(path)


def torch_file_damage(path: str | os.PathLike[str]) -> str | None:
    """Say which record of a ``torch.save`` file fails its CRC-32 check, or return None.

    ``torch.load`` does not compare the zip records with the CRC-32 checksums stored with
    them, so a file damaged after it was written (a faulty disk, copy or transfer) often
    loads without an error and with wrong numbers. Reading every record once through
    :mod:`zipfile` compares them (at disk speed: 0.3 ms for a 33 kB file). Of one bit
    flipped at each of the 33,392 bytes of ``prunus demo``'s ``model.pt``, 31,113 failed
    this check, 228 made ``torch.load`` fail and 2,051 (padding, unused header fields)
    changed nothing it returns: none loaded with other values.

    Parameters
    ----------
    path
        A file; only an existing zip file (``torch.save``'s format since torch 1.6) is
        looked at. Records stored with the CRC-32 0 (written with
        ``torch.serialization.set_crc32_options(False)``, or empty) cannot be checked.

    Returns
    -------
    str or None
        The reason, to follow "it is damaged: ", or None when nothing is found (also for
        no file, a file that is no zip, and records without checksums).

    Raises
    ------
    OSError
        If the file cannot be opened (e.g. no permission).

    Examples
    --------
    >>> import tempfile, pathlib, torch
    >>> path = save_torch({"w": torch.zeros(3)}, pathlib.Path(tempfile.mkdtemp()) / "w.pt")
    >>> torch_file_damage(path) is None
    True
    """
    import zipfile
    import zlib

    if not os.path.isfile(path):
        return None
    with open(path, "rb") as handle:
        # a zip starts with a local file header, as torch checks: is_zipfile searches the
        # end for a directory record, which a legacy (pre-1.6) file's data can hold by chance
        if handle.read(4) != b"PK\x03\x04":
            return None
        handle.seek(0)
        name = None
        try:
            # inside the try: is_zipfile raises BadZipFile for some damaged end records
            # ("zipfiles that span multiple disks are not supported")
            if not zipfile.is_zipfile(handle):
                return None
            handle.seek(0)
            with zipfile.ZipFile(handle) as archive:
                for info in archive.infolist():
                    if info.CRC == 0:  # no checksum recorded: nothing to compare
                        continue
                    name = info.filename
                    with archive.open(info) as record:  # compares at the end of the record
                        while record.read(1 << 24):
                            pass
        except zipfile.BadZipFile as exc:
            if name is not None and str(exc).startswith("Bad CRC-32"):
                return f"its record {name!r} does not match the CRC-32 checksum saved with it"
            return f"its zip structure is broken ({exc})"
        except (EOFError, OSError, ValueError, RuntimeError, NotImplementedError,
                zlib.error) as exc:  # damaged headers: offsets, sizes, flags, compression
            return f"its zip structure is broken ({type(exc).__name__}: {exc})"
    return None


def _fsync(path: Path) -> None:
    # through a handle that can write: Windows' fsync (_commit) fails on a read-only one
    # with "Bad file descriptor"; a folder, or a file one may not write, syncs read-only
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        try:
            fd = os.open(path, os.O_RDONLY)
        except PermissionError:
            # a write-only folder (mode -wx) took its files, then the command failed on
            # this sync and reported an error for files it had written
            if path.is_dir():
                return
            raise
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    """Return the process umask (from ``/proc/self/status`` on Linux)."""
    # setting it and back left a window in which a file another thread created got the
    # mode 0o022 gives; Linux >= 4.7 reports it, elsewhere that is the only way to read it
    try:
        # errors="replace": the Name: line holds the command name, in any bytes
        with open("/proc/self/status", encoding="utf-8", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_NO_KEY = object()  # marks "every key is one JSON can hold" (None itself is such a key)


def _plain(obj: Any, where: str) -> Any:
    """``obj`` with numpy/torch scalars as Python numbers and NaN/inf as None."""
    if isinstance(obj, dict):
        # a numpy scalar key (np.int64 of np.arange, np.bool_) is the Python value it holds,
        # as a numpy scalar value is (it was refused as "a int64, which JSON cannot hold")
        obj = {(k.item() if type(k).__module__ == "numpy" and hasattr(k, "item") else k): v
               for k, v in obj.items()}
        # json.dumps refuses such keys (and sort_keys mixed ones) without saying where
        bad = next((k for k in obj if not (isinstance(k, str | int | float) or k is None)),
                   _NO_KEY)
        if bad is not _NO_KEY:
            raise TypeError(f"{where} has the key {bad!r}, a {type(bad).__name__}, which JSON "
                            "cannot hold; use str keys")
        try:
            sorted(obj)
        except TypeError:
            raise TypeError(f"{where} mixes keys of types "
                            f"{sorted({type(k).__name__ for k in obj})} that cannot be sorted; "
                            "use str keys") from None
        return {k: _plain(v, f"{where}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if hasattr(obj, "item") and getattr(obj, "ndim", None) == 0:  # numpy / torch scalar
        obj = obj.item()
    if isinstance(obj, (bool, int, str)) or obj is None:
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"{where} is a {type(obj).__name__}, which JSON cannot hold; "
                    "convert it to a number, string, list or dict first")


def write_json(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``obj`` as indented JSON, atomically.

    Parameters
    ----------
    obj
        Dicts, lists, strings, numbers (numpy and 0-d torch scalars are written as the
        Python numbers they hold, e.g. ``np.int64(3)`` as ``3``), paths (as strings).
        NaN and inf, which standard JSON cannot express, are written as ``null``.
    path
        Destination file.

    Returns
    -------
    Path
        The destination.

    Raises
    ------
    TypeError
        If a value cannot be written; the message says where it sits in ``obj``.
    """
    text = json.dumps(_plain(obj, "obj"), indent=2, sort_keys=True, allow_nan=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n")
    return Path(path)
