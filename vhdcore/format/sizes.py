"""The one size parser: byte counts and binary units, checked against the disk size rules."""

from __future__ import annotations

import re

from ..errors import SizeError

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40
# A page blob holds at most 8 TiB, and a fixed VHD needs 512 bytes past its size for the footer;
# 8192 GiB + 512 overflows, so the largest whole-GiB disk is 8191 GiB.
PAGE_BLOB_MAX = 8 * TiB
FOOTER_SIZE = 512
MAX_DISK_SIZE = 8191 * GiB
MAX_SIZE_GB = MAX_DISK_SIZE // GiB

_UNITS = {"": 1, "B": 1, "KIB": KiB, "MIB": MiB, "GIB": GiB, "TIB": TiB}
_DECIMAL = {"K", "KB", "M", "MB", "G", "GB", "T", "TB"}
_SIZE_RE = re.compile(r"\s*(?P<num>[+-]?\d+(?:\.\d*)?)\s*(?P<unit>[A-Za-z]*)\s*")


def parse_size(value: object, *, field: str = "size") -> int:
    """Parse a disk size given as an int or a string like `512MiB`, `10GiB`, `1TiB`, `1073741824`."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise SizeError(
            f"{field} {value!r} is not a size; give a whole number of bytes or a binary unit such as 10GiB."
        )
    if isinstance(value, int):
        return check_disk_size(value, field=field)
    match = _SIZE_RE.fullmatch(value)
    if not match:
        raise SizeError(f"{field} {value!r} is not a size; write it like 512MiB, 10GiB, 1TiB or 1073741824.")
    unit, num = match["unit"].upper(), match["num"]
    # Fractions first: the decimal-unit message below suggests `num` with a binary unit, which must
    # not be a value that is rejected in turn (1.5GB -> 1.5GiB).
    if "." in num:
        raise SizeError(f"{field} {value!r} is fractional; give a whole number, for example 1536MiB instead of 1.5GiB.")
    if unit in _DECIMAL:
        raise SizeError(
            f"{field} {value!r} uses an ambiguous decimal unit; write binary units such as "
            f"{num}{unit[0]}iB (1 GiB = 2^30 bytes)."
        )
    if unit not in _UNITS:
        raise SizeError(f"{field} {value!r} has an unknown unit; use B, KiB, MiB, GiB or TiB.")
    if len(num.lstrip("+-").lstrip("0")) > 19:
        # int() refuses strings over 4300 digits with a bare ValueError; 20 digits already exceed the
        # maximum, so check a stand-in just past it that keeps the sign (and names the value as given).
        number = (MAX_DISK_SIZE + MiB) * (-1 if num.startswith("-") else 1)
    else:
        number = int(num) * _UNITS[unit]
    return check_disk_size(number, field=field, shown=value)


def check_disk_size(size: int, *, field: str = "size", shown: object = None) -> int:
    """Return `size` if it is a valid disk size in bytes, else raise SizeError naming the rule."""
    what = f"{field} {shown if shown is not None else size!r}"
    if size <= 0:
        raise SizeError(f"{what} must be positive; the smallest disk is 1MiB.")
    if size % MiB:
        raise SizeError(
            f"{what} is not a whole number of MiB, which Azure requires; round it to a multiple of 1048576 bytes."
        )
    if size > MAX_DISK_SIZE:
        raise SizeError(f"{what} exceeds the 8191GiB maximum (a page blob holds 8 TiB including the 512-byte footer).")
    return size


def parse_size_gb(value: object, *, field: str = "size_gb") -> int:
    """Parse a whole number of GiB; integral floats are accepted because Pulumi sends numbers as doubles."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SizeError(f"{field} {value!r} must be a whole number of GiB between 1 and {MAX_SIZE_GB}.")
    if not 1 <= value <= MAX_SIZE_GB:
        raise SizeError(
            f"{field} {value!r} is out of range; give a whole number of GiB between 1 and {MAX_SIZE_GB} "
            "(a page blob holds 8 TiB including the 512-byte footer)."
        )
    return value
