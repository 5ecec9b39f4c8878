"""Atomic writes: complete or absent, with the permissions of an ordinary new file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from core import atomic_outputs, atomic_path, write_json


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


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="Linux /proc")
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_umask_is_read_without_setting_it(monkeypatch, umask: int) -> None:
    # reading the umask by setting it to 022 and back gave a file another thread created
    # in that window the wrong permissions; Linux reports it in /proc/self/status
    from core.atomic import _umask

    old = os.umask(umask)
    try:
        with monkeypatch.context() as m:
            m.setattr(os, "umask", lambda *_: pytest.fail("os.umask was called"))
            assert _umask() == umask
    finally:
        os.umask(old)


def test_failure_leaves_neither_file_nor_temporary(tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    out.write_text("old")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_write_json_keeps_numpy_types_and_writes_standard_json(tmp_path: Path) -> None:
    import json

    import numpy as np
    import torch

    out = write_json({"kept": np.int64(300), "converged": np.bool_(True),
                      "loss": float("nan"), "r2": np.float32(0.5), "n": torch.tensor(3),
                      "path": tmp_path / "x.csv", "grid": (1, np.float64(2.5))},
                     tmp_path / "m.json")
    text = out.read_text()
    assert "NaN" not in text
    assert json.loads(text) == {"kept": 300, "converged": True, "loss": None, "r2": 0.5,
                                "n": 3, "path": str(tmp_path / "x.csv"), "grid": [1, 2.5]}
    with pytest.raises(TypeError, match=r"obj\['arr'\] is a ndarray"):
        write_json({"arr": np.zeros(2)}, tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists()


def test_atomic_path_syncs_before_the_rename(tmp_path: Path, monkeypatch) -> None:
    calls = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    write_json({"a": 1}, tmp_path / "a.json")
    assert len(calls) >= 1


def test_atomic_outputs_replace_the_whole_set_or_nothing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with atomic_outputs(out) as stage:
        write_json({"run": 1}, stage / "metrics.json")
        (stage / "table.csv").write_text("1")
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "table.csv"]
    # a second run that fails after writing one file leaves the first run's files alone
    with pytest.raises(RuntimeError, match="plot failed"), atomic_outputs(out) as stage:
        write_json({"run": 2}, stage / "metrics.json")
        raise RuntimeError("plot failed")
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "table.csv"]
    assert '"run": 1' in (out / "metrics.json").read_text()


def test_atomic_outputs_undo_the_moves_made_when_a_later_one_fails(tmp_path: Path,
                                                                   monkeypatch) -> None:
    out = tmp_path / "run"
    with atomic_outputs(out) as stage:
        (stage / "a.csv").write_text("old a")
        (stage / "c.csv").write_text("old c")
    real = os.replace
    calls = []

    def flaky(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # Ctrl-C between the first and the second rename
            raise KeyboardInterrupt
        return real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(KeyboardInterrupt), atomic_outputs(out) as stage:
        for name in ("a.csv", "b.csv", "c.csv"):
            (stage / name).write_text(f"new {name[0]}")
    monkeypatch.setattr(os, "replace", real)
    # a.csv had been replaced and is put back; nothing of the new run is left
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "c.csv"]
    assert (out / "a.csv").read_text() == "old a"
    assert (out / "c.csv").read_text() == "old c"
    # a failure at the first rename of a fresh name removes nothing of the old run
    calls.clear()
    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(KeyboardInterrupt), atomic_outputs(out) as stage:
        (stage / "b.csv").write_text("new b")
        (stage / "d.csv").write_text("new d")
    monkeypatch.setattr(os, "replace", real)
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "c.csv"]


@pytest.mark.skipif(os.name != "posix", reason="process check by signal 0")
def test_atomic_outputs_remove_the_staging_folder_of_a_killed_run(tmp_path: Path) -> None:
    import subprocess
    import sys

    from core.atomic import _stage_prefix

    out = tmp_path / "run"
    # a run killed outright (SIGKILL) leaves its staging folder, large files and all
    code = ("import os, sys; from core import atomic_outputs\n"
            "with atomic_outputs(sys.argv[1]) as stage:\n"
            "    (stage / 'result.h5ad').write_bytes(b'x' * 1000)\n"
            "    os.kill(os.getpid(), 9)\n")
    subprocess.run([sys.executable, "-c", code, str(out)], check=False)
    left = [p.name for p in out.iterdir()]
    assert len(left) == 1 and left[0].startswith(_stage_prefix())
    # another machine's staging folder (a shared filesystem) and a live process's stay
    other = out / ".prunus-staging-otherhost-1-abc"
    live = out / f"{_stage_prefix()}{os.getpid()}-abc"
    other.mkdir()
    live.mkdir()
    with atomic_outputs(out) as stage:
        (stage / "a.csv").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == sorted(["a.csv", other.name, live.name])


@pytest.mark.skipif(os.name != "posix", reason="process check by signal 0")
def test_atomic_path_removes_the_temporary_file_of_a_killed_write(tmp_path: Path) -> None:
    import subprocess
    import sys

    from core.atomic import _stage_prefix

    host = _stage_prefix().removeprefix(".prunus-staging-").rstrip("-")  # as staging folders
    out = tmp_path / "checkpoint.pt"
    out.write_bytes(b"old")
    # a write killed outright (SIGKILL) after its temporary file was written left it for
    # good, e.g. .checkpoint.pt.56_izpb8.pt (a whole checkpoint, mode 0600) next to the file
    code = ("import os, sys; from core import atomic_path\n"
            "with atomic_path(sys.argv[1]) as tmp:\n"
            "    tmp.write_bytes(b'x' * 1000)\n"
            "    os.kill(os.getpid(), 9)\n")
    killed = subprocess.Popen([sys.executable, "-c", code, str(out)])
    assert killed.wait(timeout=120) == -9
    left = sorted(p.name for p in tmp_path.iterdir() if p != out)
    assert len(left) == 1
    assert left[0].startswith(f".checkpoint.pt.prunus-{host}-{killed.pid}-")
    # a running writer's, another machine's (a shared filesystem) and another file's stay
    live = f".checkpoint.pt.prunus-{host}-{os.getpid()}-abcd1234.pt"
    other_host = ".checkpoint.pt.prunus-otherhost-1-abcd1234.pt"
    other_file = f".model.pt.prunus-{host}-{killed.pid}-abcd1234.pt"
    for name in (live, other_host, other_file):
        (tmp_path / name).write_bytes(b"partial")
    with atomic_path(out) as tmp:
        tmp.write_bytes(b"new")
    assert out.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [out.name, live, other_host, other_file])


def test_atomic_outputs_refuse_a_blocked_name_before_moving_anything(tmp_path: Path) -> None:
    out = tmp_path / "run"
    (out / "plot.png").mkdir(parents=True)
    with pytest.raises(ValueError, match="plot.png.*folder of that name"), \
            atomic_outputs(out) as stage:
        (stage / "a.csv").write_text("new")
        (stage / "plot.png").write_text("png")
    assert sorted(p.name for p in out.iterdir()) == ["plot.png"]  # a.csv not moved either
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is an existing file"), \
            atomic_outputs(tmp_path / "file"):
        pass


@pytest.mark.skipif(os.name != "posix", reason="POSIX symlinks and permissions")
def test_atomic_path_writes_through_a_symlink_and_keeps_the_mode(tmp_path: Path) -> None:
    # the link was replaced by a regular file (its target left stale), and a replaced
    # 0640 file came back with the umask's mode
    target = tmp_path / "data" / "real.json"
    target.parent.mkdir()
    target.write_text("{}")
    os.chmod(target, 0o640)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_json({"a": 1}, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == '{\n  "a": 1\n}\n'
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["real.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "link.json"]
    # a read-only file is still replaced, and stays read-only
    ro = tmp_path / "ro.json"
    ro.write_text("{}")
    os.chmod(ro, 0o444)
    write_json({"b": 2}, ro)
    assert json_of(ro) == {"b": 2} and stat.S_IMODE(ro.stat().st_mode) == 0o444
    # a failed write through a link leaves the target and its folder as they were
    with pytest.raises(RuntimeError, match="boom"), atomic_path(link) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == '{\n  "a": 1\n}\n' and link.is_symlink()
    assert sorted(p.name for p in target.parent.iterdir()) == ["real.json"]


def json_of(path: Path) -> object:
    import json

    return json.loads(path.read_text())


@pytest.mark.skipif(os.name != "posix", reason="flock")
def test_atomic_outputs_move_one_run_s_set_at_a_time(tmp_path: Path) -> None:
    import fcntl
    import threading
    import time

    # two runs into one folder that finished together interleaved their renames and left
    # a mix of both runs' files (2 in 200 tries); a run waits for the folder's lock
    out = tmp_path / "run"
    out.mkdir()
    held = os.open(out, os.O_RDONLY)  # another run, moving its files now
    fcntl.flock(held, fcntl.LOCK_EX)

    def run() -> None:
        with atomic_outputs(out) as stage:
            (stage / "a.csv").write_text("new")

    thread = threading.Thread(target=run)
    thread.start()
    for _ in range(500):  # until the run has written its file and goes to move it
        if list(out.glob(".prunus-staging-*/a.csv")):
            break
        time.sleep(0.01)
    thread.join(timeout=0.3)
    try:
        assert not (out / "a.csv").exists()  # still waiting for the other run's moves
    finally:
        os.close(held)  # releases the lock
    thread.join(timeout=10)
    assert (out / "a.csv").read_text() == "new"


@pytest.mark.skipif(os.name != "posix", reason="emulates Windows' fsync on POSIX")
def test_files_are_synced_through_a_handle_that_can_write(tmp_path: Path,
                                                         monkeypatch) -> None:
    # Windows' fsync (_commit, FlushFileBuffers) needs a handle that can write and fails
    # on a read-only one with "[Errno 9] Bad file descriptor": every write_json,
    # save_torch and atomic_outputs run failed there, after the whole fit
    import errno
    import fcntl

    real = os.fsync

    def windows_fsync(fd: int) -> None:
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY \
                and not stat.S_ISDIR(os.fstat(fd).st_mode):  # folders: POSIX only here
            raise OSError(errno.EBADF, "Bad file descriptor")
        real(fd)

    monkeypatch.setattr(os, "fsync", windows_fsync)
    assert write_json({"a": 1}, tmp_path / "a.json").read_text() == '{\n  "a": 1\n}\n'
    with atomic_outputs(tmp_path / "run") as stage:
        (stage / "b.csv").write_text("b")
    assert (tmp_path / "run" / "b.csv").read_text() == "b"


def test_a_folder_in_the_way_is_named_before_writing(tmp_path: Path) -> None:
    # the write went ahead and the rename failed, naming the temporary file:
    # "Is a directory: '.x.json.2jhmmlr5.json' -> 'x.json'"
    (tmp_path / "x.json").mkdir()
    with pytest.raises(IsADirectoryError, match=r"cannot write '.*x\.json': it is a folder"):
        write_json({"a": 1}, tmp_path / "x.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]


def test_write_json_takes_numpy_scalar_keys_as_their_values(tmp_path: Path) -> None:
    """{k: v for k in np.arange(2)} was refused: "the key np.int64(0), a int64"."""
    import json

    import numpy as np

    out = write_json({np.int64(0): "a", np.int32(1): "b", 2: "c"}, tmp_path / "k.json")
    assert json.loads(out.read_text()) == {"0": "a", "1": "b", "2": "c"}
    assert json.loads(write_json({np.bool_(True): 1}, tmp_path / "b.json").read_text()) \
        == {"true": 1}


def test_torch_file_damage_names_the_record_whose_checksum_fails(tmp_path: Path) -> None:
    # torch.load does not check the zip records' CRC-32s: a file damaged on disk or in a
    # copy loaded without an error and gave wrong numbers (a GRN model's largest effect
    # 1.55 became 1.0e+23)
    import torch

    from core.atomic import save_torch, torch_file_damage

    path = save_torch({"w": torch.linspace(-1.0, 1.0, 4096)}, tmp_path / "w.pt")
    assert torch_file_damage(path) is None
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 40):
        data[i] ^= 0x5A
    (tmp_path / "damaged.pt").write_bytes(bytes(data))
    assert torch.load(tmp_path / "damaged.pt", weights_only=True)["w"].abs().max() > 1e3
    assert torch_file_damage(tmp_path / "damaged.pt") == (
        "its record 'archive/data/0' does not match the CRC-32 checksum saved with it")
    # no zip (cut short, another kind of file, no file): torch_file_problem's to report
    (tmp_path / "notes.txt").write_text("not a torch file")
    assert torch_file_damage(tmp_path / "notes.txt") is None
    assert torch_file_damage(tmp_path / "absent.pt") is None
    # a legacy (pre-1.6) file whose data end in bytes that read as a zip's end record: it
    # loads, so it is no damaged zip (the review's "Bad magic number for central directory")
    import struct

    tail = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 1, 1, 46, 0, 0)
    legacy = torch.tensor(list(bytes(50) + tail), dtype=torch.uint8)
    torch.save(legacy, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    assert (tmp_path / "legacy.pt").read_bytes().endswith(tail)
    assert torch.equal(torch.load(tmp_path / "legacy.pt", weights_only=True), legacy)
    assert torch_file_damage(tmp_path / "legacy.pt") is None


def test_save_torch_records_checksums_even_when_torch_is_told_not_to(tmp_path: Path) -> None:
    # with torch.serialization.set_crc32_options(False) every record's CRC-32 is 0, which
    # leaves nothing to check a damaged file against; save_torch records them anyway
    import zipfile

    import torch
    from torch import serialization

    if not hasattr(serialization, "set_crc32_options"):  # torch < 2.4 always writes them
        pytest.skip("this torch has no set_crc32_options")

    from core.atomic import save_torch, torch_file_damage

    serialization.set_crc32_options(False)
    try:
        path = save_torch({"w": torch.arange(100.0)}, tmp_path / "w.pt")
        assert serialization.get_crc32_options() is False  # the caller's setting stays
        torch.save({"w": torch.arange(100.0)}, tmp_path / "bare.pt")
    finally:
        serialization.set_crc32_options(True)
    with zipfile.ZipFile(path) as archive:
        assert all(info.CRC for info in archive.infolist() if info.file_size)
    # a file written without checksums has none to fail: it is not called damaged
    assert torch_file_damage(tmp_path / "bare.pt") is None


def test_a_long_file_name_writes_and_its_abandoned_temporary_is_found(tmp_path):
    # the temporary's name (target + ".prunus-HOST-PID-XXXXXXXX" + suffix) passed 255 bytes
    # for a 235-character target that a plain open() writes: "File name too long"
    import subprocess
    import sys

    from core.atomic import _temporary_prefix

    target = tmp_path / ("x" * 235 + ".json")
    write_json({"a": 1}, target)
    assert json.loads(target.read_text()) == {"a": 1}
    prefix = _temporary_prefix(target)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    assert gone.wait(timeout=120) == 0  # a process that has ended: its temporary is abandoned
    dead = tmp_path / f"{prefix}{gone.pid}-abcdefgh.json"
    dead.write_text("{}")
    assert len(dead.name.encode()) <= 255
    write_json({"a": 2}, target)
    assert json.loads(target.read_text()) == {"a": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def _not_visible(monkeypatch) -> None:
    """Look up pids as from another PID namespace (a container sharing the host name)."""
    import core.atomic

    monkeypatch.setattr(core.atomic, "_alive", lambda pid: False)  # no such pid here
    # this process's own namespace is another (earlier versions had no such function)
    monkeypatch.setattr(core.atomic, "_pid_namespace", lambda: "ns1", raising=False)


def _start(code: str, *args: str):
    """Start ``code`` in another Python; return it once it printed its first line."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    return child


@pytest.mark.skipif(os.name != "posix", reason="flock and PID namespaces")
def test_a_running_writers_staging_folder_is_kept_where_its_pid_cannot_be_seen(
        tmp_path: Path, monkeypatch) -> None:
    # in separate PID namespaces on one host (Apptainer --containall, podman, docker) a
    # run took another's live staging folder for abandoned (os.kill(pid, 0): no such
    # process) and removed it; the other run's next write_json made the folder again and
    # it moved an incomplete set into place, exit code 0: here a.csv was missing
    out = tmp_path / "run"
    writer = _start("import sys; from core import atomic_outputs, write_json\n"
                    "with atomic_outputs(sys.argv[1]) as stage:\n"
                    "    (stage / 'a.csv').write_text('a')\n"
                    "    print('ready', flush=True)\n"
                    "    sys.stdin.readline()\n"
                    "    write_json({'b': 1}, stage / 'b.json')\n", str(out))
    _not_visible(monkeypatch)
    with atomic_outputs(out) as stage:  # another run into the same folder
        (stage / "c.csv").write_text("c")
    _, err = writer.communicate("go\n", timeout=120)
    assert writer.returncode == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "b.json", "c.csv"]


def test_a_staging_folder_that_vanished_is_not_made_again(tmp_path: Path) -> None:
    # write_json into a staging folder that another process had removed made it again
    # (mkdir(exist_ok=True)), and the run moved its last file alone into place
    import shutil

    out = tmp_path / "run"
    out.mkdir()
    (out / "a.csv").write_text("earlier")
    with pytest.raises(FileNotFoundError, match=r"the staging folder '.*\.prunus-staging-.*' "
                       r"was removed while this run was writing its files into it"), \
            atomic_outputs(out) as stage:
        (stage / "a.csv").write_text("new")
        shutil.rmtree(stage)  # as another process did
        write_json({"b": 1}, stage / "b.json")
    assert sorted(p.name for p in out.iterdir()) == ["a.csv"]  # all files, or none
    assert (out / "a.csv").read_text() == "earlier"
    # nor when the last write was before the removal: nothing is moved
    with pytest.raises(FileNotFoundError, match="none of them was moved into"), \
            atomic_outputs(out) as stage:
        (stage / "a.csv").write_text("new")
        shutil.rmtree(stage)
    assert (out / "a.csv").read_text() == "earlier"


@pytest.mark.skipif(os.name != "posix", reason="PID namespaces")
def test_a_running_writers_temporary_is_kept_where_its_pid_cannot_be_seen(
        tmp_path: Path, monkeypatch) -> None:
    # a concurrent write of the same file from another PID namespace removed the live
    # temporary file (its pid not found), and the write then failed at its rename
    out = tmp_path / "checkpoint.pt"
    writer = _start("import sys; from core import atomic_path\n"
                    "with atomic_path(sys.argv[1]) as tmp, open(tmp, 'wb') as handle:\n"
                    "    handle.write(b'first half ')\n"
                    "    print('ready', flush=True)\n"
                    "    sys.stdin.readline()\n"
                    "    handle.write(b'second half')\n", str(out))
    _not_visible(monkeypatch)
    with atomic_path(out) as tmp:
        tmp.write_bytes(b"other")
    _, err = writer.communicate("go\n", timeout=120)
    assert writer.returncode == 0, err
    assert out.read_bytes() == b"first half second half"
    # a temporary of another namespace that has not changed for an hour is abandoned
    from core.atomic import _temporary_prefix

    stale = tmp_path / f"{_temporary_prefix(out)}12345-ns7-abcd1234.pt"
    fresh = tmp_path / f"{_temporary_prefix(out)}12346-ns7-abcd1234.pt"
    for path in (stale, fresh):
        path.write_bytes(b"partial")
    hours_ago = os.stat(stale).st_mtime - 7200
    os.utime(stale, (hours_ago, hours_ago))
    write_json({"a": 1}, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, out.name]


def test_a_full_disk_names_the_file_or_folder_being_written(tmp_path: Path) -> None:
    # a write that fails on a full disk raises "[Errno 28] No space left on device" with
    # no file name (write() on an open file), and prunus printed just that: which of the
    # run's files and folders had failed was not said; one named in the staging folder
    # was named there (DIR/.prunus-staging-HOST-PID-.../x.csv), not where it belongs
    import errno
    import re

    full = os.strerror(errno.ENOSPC)
    out = tmp_path / "run"
    with pytest.raises(OSError, match=re.escape(f"[Errno 28] {full}: {str(out)!r}")), \
            atomic_outputs(out):
        raise OSError(errno.ENOSPC, full)  # as a write through an open file raises it
    with pytest.raises(OSError, match=re.escape(f"{full}: {str(out / 'x.csv')!r}")), \
            atomic_outputs(out) as stage:
        raise OSError(errno.ENOSPC, full, str(stage / "x.csv"))  # as open() raises it
    target = tmp_path / "checkpoint.pt"
    with pytest.raises(OSError, match=re.escape(f"{full}: {str(target)!r}")) as caught, \
            atomic_path(target) as tmp, open(tmp, "wb"):
        raise OSError(errno.ENOSPC, full)
    assert type(caught.value) is OSError and caught.value.errno == errno.ENOSPC
    with pytest.raises(PermissionError, match=re.escape(str(target))), atomic_path(target) as tmp:
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp))  # its class kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # nothing left behind


def test_an_error_that_is_no_failed_write_is_not_blamed_on_the_folder(tmp_path):
    # any OSError without a file name raised in the block was given the output folder's
    # (and rebuilt, losing its subclass's attributes): a network reset read
    # "[Errno 104] Connection reset by peer: 'out'"
    out = tmp_path / "out"
    with pytest.raises(ConnectionResetError) as caught:
        with atomic_outputs(out):
            raise ConnectionResetError(104, "Connection reset by peer")
    assert caught.value.filename is None
    with pytest.raises(OSError, match=r"No space left on device: '.*out'") as full:
        with atomic_outputs(out):
            raise OSError(28, "No space left on device")
    assert full.value.errno == 28


def test_a_folder_that_cannot_be_opened_to_sync_is_not_a_failed_write(tmp_path, monkeypatch):
    # a write-only folder (mode -wx) took the new files, then the sync of the folder, which
    # opens it for reading, failed and the command reported an error for files it wrote
    import core.atomic as atomic

    folder = tmp_path / "wo"
    folder.mkdir()
    real = os.open

    def no_read(path, flags, *args, **kwargs):
        if Path(path) == folder:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(atomic.os, "open", no_read)
    atomic._fsync(folder)  # no error
    file = folder / "f"
    monkeypatch.setattr(atomic.os, "open", real)
    file.write_text("x")
    monkeypatch.setattr(atomic.os, "open", lambda *a, **k: (_ for _ in ()).throw(
        PermissionError(13, "Permission denied")))
    with pytest.raises(PermissionError):  # a file that cannot be synced still says so
        atomic._fsync(file)


def test_an_interrupt_inside_torch_save_stays_an_interrupt(tmp_path: Path, monkeypatch) -> None:
    # Ctrl-C or SIGTERM while torch's zip writer wrote: closing the archive raised
    # "RuntimeError: [enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0"
    # over the interrupt (its __context__), and `prunus grn fit` ended in that traceback,
    # exit 1 instead of 143 (about 1 run in 30 with --checkpoint-every 1)
    import torch

    from core.atomic import save_torch

    path = save_torch({"w": torch.ones(3)}, tmp_path / "model.pt")
    before = path.read_bytes()

    def interrupted(obj: object, f: object) -> None:
        try:
            raise KeyboardInterrupt
        finally:  # as torch's writer closes the archive: the interrupt becomes its context
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos "
                               "64 vs 0")

    monkeypatch.setattr(torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_torch({"w": torch.zeros(3)}, path)
    assert path.read_bytes() == before  # the earlier file, and no temporary one beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]

    def failing(obj: object, f: object) -> None:
        raise RuntimeError("a writer that fails by itself")

    monkeypatch.setattr(torch, "save", failing)  # not over an interrupt: as it was
    with pytest.raises(RuntimeError, match="fails by itself"):
        save_torch({"w": torch.zeros(3)}, path)
    # saving in a Ctrl-C handler ("save what we have, then stop"): the handled interrupt is
    # the context of the writer's own error, which must not be swapped for it
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        with pytest.raises(RuntimeError, match="fails by itself"):
            save_torch({"w": torch.zeros(3)}, path)
        monkeypatch.setattr(torch, "save", interrupted)  # a new interrupt while writing
        with pytest.raises(KeyboardInterrupt):
            save_torch({"w": torch.zeros(3)}, path)
    assert path.read_bytes() == before
