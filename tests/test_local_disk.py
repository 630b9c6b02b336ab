"""Local fixed VHD files: sparse data area, footer at `size`, atomic creation, no silent overwrite."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from vhdcore.errors import InputError, VhdError
from vhdcore.format.footer import Footer, fixed_footer
from vhdcore.format.local_disk import create_fixed_vhd, inspect_file

MiB, GiB, TiB = 2**20, 2**30, 2**40
UNIX_2024 = 1704067200


def footer(size: int, uid: int = 1) -> Footer:
    return fixed_footer(size, timestamp=UNIX_2024, unique_id=uid.to_bytes(16, "big"))


def tail(path: Path) -> bytes:
    with path.open("rb") as fh:
        fh.seek(-512, os.SEEK_END)
        return fh.read()


@pytest.mark.parametrize("size", [MiB, 10 * GiB, TiB])
def test_layout_and_sparseness(tmp_path: Path, size: int) -> None:
    path = tmp_path / "disk.vhd"
    f = footer(size)
    create_fixed_vhd(path, f)
    st = path.stat()
    assert st.st_size == size + 512
    # Only the footer's page is allocated, even for 1 TiB.
    assert st.st_blocks * 512 <= 64 * 1024
    with path.open("rb") as fh:
        assert os.pread(fh.fileno(), 512, size) == f.pack()
        assert os.pread(fh.fileno(), 4096, 0) == bytes(4096)
        assert os.pread(fh.fileno(), 4096, size // 2) == bytes(4096)
        assert os.pread(fh.fileno(), 512, size - 512) == bytes(512)
        # The data area is one hole: the first data the file system knows of is the footer.
        assert os.lseek(fh.fileno(), 0, os.SEEK_DATA) == size


def test_inspect_reads_back_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "disk.vhd"
    create_fixed_vhd(path, footer(20 * MiB))
    report = inspect_file(path)
    assert report.footer == footer(20 * MiB)
    assert report.length == 20 * MiB + 512
    assert report.problems == [] and report.azure_ready


def only(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir())


def failing(exc: BaseException) -> Callable[..., object]:
    def fail(*args: object) -> object:
        raise exc

    return fail


@pytest.mark.parametrize(
    ("call", "exc", "raised"),
    [
        ("pwrite", OSError(errno.ENOSPC, "No space left on device"), VhdError),
        ("pwrite", RuntimeError("boom"), RuntimeError),
        ("ftruncate", OSError(errno.EFBIG, "File too large"), VhdError),
        ("fsync", OSError(errno.EIO, "Input/output error"), VhdError),
        ("link", OSError(errno.EPERM, "Operation not permitted"), VhdError),
    ],
)
def test_failure_leaves_no_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str, exc: BaseException, raised: type[BaseException]
) -> None:
    monkeypatch.setattr(os, call, failing(exc))
    with pytest.raises(raised):
        create_fixed_vhd(tmp_path / "disk.vhd", footer(MiB))
    monkeypatch.undo()
    assert only(tmp_path) == []


def test_os_error_message_names_the_path_and_cause(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "pwrite", failing(OSError(errno.ENOSPC, "No space left on device")))
    with pytest.raises(VhdError) as info:
        create_fixed_vhd(tmp_path / "disk.vhd", footer(MiB))
    assert str(tmp_path / "disk.vhd") in str(info.value) and "No space left" in str(info.value)


def test_failed_forced_replace_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "disk.vhd"
    path.write_bytes(b"precious")
    monkeypatch.setattr(os, "pwrite", failing(OSError(errno.ENOSPC, "No space left on device")))
    with pytest.raises(VhdError):
        create_fixed_vhd(path, footer(MiB), force=True)
    monkeypatch.undo()
    assert path.read_bytes() == b"precious"
    assert only(tmp_path) == ["disk.vhd"]


def test_missing_directory_is_a_vhd_error(tmp_path: Path) -> None:
    with pytest.raises(VhdError, match="cannot create"):
        create_fixed_vhd(tmp_path / "no" / "disk.vhd", footer(MiB))
    assert only(tmp_path) == []


def test_refuses_to_replace_without_force(tmp_path: Path) -> None:
    path = tmp_path / "disk.vhd"
    path.write_bytes(b"precious")
    with pytest.raises(VhdError, match="--force"):
        create_fixed_vhd(path, footer(MiB))
    assert path.read_bytes() == b"precious"
    assert only(tmp_path) == ["disk.vhd"]


def test_refuses_a_file_that_appears_while_creating(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "disk.vhd"
    real_fsync = os.fsync

    def racing_fsync(fd: int) -> None:
        path.write_bytes(b"raced")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", racing_fsync)
    with pytest.raises(VhdError, match="already exists"):
        create_fixed_vhd(path, footer(MiB))
    monkeypatch.undo()
    assert path.read_bytes() == b"raced"
    assert only(tmp_path) == ["disk.vhd"]


def test_force_replaces(tmp_path: Path) -> None:
    path = tmp_path / "disk.vhd"
    create_fixed_vhd(path, footer(2 * MiB, uid=1))
    create_fixed_vhd(path, footer(MiB, uid=2), force=True)
    assert path.stat().st_size == MiB + 512
    assert tail(path) == footer(MiB, uid=2).pack()
    assert only(tmp_path) == ["disk.vhd"]


def test_inspect_short_and_empty_files(tmp_path: Path) -> None:
    for length in (0, 100, 511):
        path = tmp_path / f"short{length}.vhd"
        path.write_bytes(b"\1" * length)
        report = inspect_file(path)
        assert report.footer is None and not report.azure_ready
        assert any("shorter than the 512-byte footer" in p for p in report.problems)
        assert report.to_json()["file_size"] == length


@pytest.mark.parametrize(("name", "says"),
                         [("missing.vhd", "cannot read"), (".", "is a directory, not a regular file")])
def test_inspect_unreadable_is_a_vhd_error(tmp_path: Path, name: str, says: str) -> None:
    with pytest.raises(VhdError, match=says):
        inspect_file(tmp_path / name)


def test_inspect_refuses_a_fifo_without_blocking_on_it(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.vhd"
    os.mkfifo(fifo)  # nobody ever writes to it: opening it for reading the usual way would block forever
    with pytest.raises(InputError, match=r"pipe.vhd' is a FIFO, not a regular file, so it was not read; give the path"):
        inspect_file(fifo)


def test_inspect_refuses_a_device(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"'/dev/zero' is a character device, not a regular file"):
        inspect_file("/dev/zero")
