"""Fixed VHD files on the local file system: a sparse data area and the footer at `size`."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from ..errors import InputError
from .footer import Footer
from .report import DiskReport
from .sizes import FOOTER_SIZE


def create_fixed_vhd(
    path: str | os.PathLike[str], footer: Footer, *, force: bool = False, fill: Callable[[int], None] | None = None
) -> None:
    """Write a fixed VHD of footer.current_size bytes; the data area is a hole unless `fill` writes into it.

    `fill(fd)` runs after the file has its full length and before the footer is written (pwrite only).
    The file is built under a temporary name and linked into place, so a failure never leaves a
    half-made disk under `path`, and without `force` an existing file is never replaced.
    """
    target = Path(path)
    if not force and target.exists():
        raise InputError(f"{target} already exists; choose another path or pass --force to replace it.")
    tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}.partial"
    fd = -1
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.ftruncate(fd, footer.current_size + FOOTER_SIZE)
        if fill is not None:
            fill(fd)
        os.pwrite(fd, footer.pack(), footer.current_size)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        if force:
            os.replace(tmp, target)
        else:
            # link() fails if the name appeared meanwhile, where rename() would silently replace it.
            os.link(tmp, target)
            os.unlink(tmp)
    except FileExistsError:
        raise InputError(f"{target} already exists; choose another path or pass --force to replace it.") from None
    except OSError as exc:
        # A missing directory, no permission or a full disk is an input error, not a crash.
        raise InputError(
            f"cannot create {target}: {exc.strerror or exc}; check the directory, permissions and free space."
        ) from None
    finally:
        if fd >= 0:
            os.close(fd)
        if os.path.exists(tmp):
            os.unlink(tmp)


def inspect_file(path: str | os.PathLike[str]) -> DiskReport:
    """Decode the last 512 bytes of a regular file and check them against the file's length.

    Anything else (a FIFO, a device, a socket, a directory) is refused: it is opened without blocking, and
    only to make sure it is the regular file it was when looked at, so a FIFO never hangs the command.
    """
    fd = -1
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{os.fsdecode(path)!r} is {_kind(info.st_mode)}, not a regular file, so it was not read; "
                             "give the path of a VHD file.")
        tail = os.pread(fd, FOOTER_SIZE, max(0, info.st_size - FOOTER_SIZE))
    except OSError as exc:
        raise InputError(f"cannot read {os.fsdecode(path)!r}: {exc.strerror}; check the path and permissions.") \
            from None
    finally:
        if fd >= 0:
            os.close(fd)
    return DiskReport.from_tail(tail, info.st_size)


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "a special file")
