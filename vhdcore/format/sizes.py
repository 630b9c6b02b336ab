"""The sizes blank-vhd works in, each named once, and the one size parser: byte counts and binary units,
checked against the disk size rules."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import SizeError

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40

# Three concepts that are all 512 bytes, each named for what it is: a disk's sector (what image formats and the
# CHS geometry count in), the VHD footer (the spec's fixed size, the last bytes of a fixed VHD), and Azure's
# page (what every page-blob write is aligned to, and the unit a disk's data is sent or skipped in).
SECTOR = 512
FOOTER_SIZE = 512
PAGE = 512
# Azure Stack Hub and Edge document a 4 KiB page size (docs/clouds.md, "Azure Stack's 4 KiB pages"). Every write of
# ours starts on a 4 KiB boundary and covers whole 4 KiB pages, except the footer, which ends the blob (a fixed
# VHD is whole MiB + 512 bytes long, so no 4 KiB page can hold it): the rule holds in every cloud, at no cost.
STACK_PAGE = 4 * KiB
# Two of Azure's limits that are both 4 MiB: the largest Put Page (images are read in windows of it, each sent as
# one write) and the largest read Azure checks by MD5 (what an upload reads back in one request).
MAX_PUT_PAGE = 4 * MiB
MAX_CHECKED_READ = 4 * MiB


@dataclass(frozen=True)
class SizeLimit:
    """The largest page blob somewhere, and so the largest disk: a fixed VHD needs 512 bytes past its size
    for the footer, so a cap of N GiB holds disks of N - 1 GiB at most in whole GiB (8192 GiB + 512 overflows
    8 TiB). `where` names the cloud in messages (vhdcore.azure.clouds makes one per cloud; this layer knows
    no clouds)."""

    page_blob_max: int = 8 * TiB
    where: str | None = None

    @property
    def max_disk_size(self) -> int:
        return self.page_blob_max - GiB

    @property
    def max_size_gb(self) -> int:
        return self.max_disk_size // GiB

    @property
    def on(self) -> str:
        return f" on {self.where}" if self.where else ""

    @property
    def reason(self) -> str:
        cap = f"{self.page_blob_max // TiB} TiB" if self.page_blob_max % TiB == 0 else f"{self.page_blob_max} bytes"
        return f"a page blob{' there' if self.where else ''} holds {cap} including the 512-byte footer"


# Azure's page-blob cap, which every public cloud shares.
AZURE_LIMIT = SizeLimit()
PAGE_BLOB_MAX = AZURE_LIMIT.page_blob_max
MAX_DISK_SIZE = AZURE_LIMIT.max_disk_size
MAX_SIZE_GB = AZURE_LIMIT.max_size_gb

_UNITS = {"": 1, "B": 1, "KIB": KiB, "MIB": MiB, "GIB": GiB, "TIB": TiB}
_DECIMAL = {"K", "KB", "M", "MB", "G", "GB", "T", "TB"}
# ASCII only: \d and int() also take other scripts' digits (Arabic-Indic 10 would be 10 GiB), never meant here.
_SIZE_RE = re.compile(r"\s*(?P<num>[+-]?[0-9]+(?:\.[0-9]*)?)\s*(?P<unit>[A-Za-z]*)\s*", re.ASCII)


def parse_size(value: object, *, field: str = "size", limit: SizeLimit = AZURE_LIMIT) -> int:
    """Parse a disk size given as an int or a string like `512MiB`, `10GiB`, `1TiB`, `1073741824`."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise SizeError(
            f"{field} {value!r} is not a size; give a whole number of bytes or a binary unit such as 10GiB."
        )
    if isinstance(value, int):
        return check_disk_size(value, field=field, limit=limit)
    if not value.isascii():
        raise SizeError(f"{field} {value!r} holds characters other than ASCII digits and unit letters; write it "
                        "like 512MiB, 10GiB or 1073741824.")
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
        number = (limit.max_disk_size + MiB) * (-1 if num.startswith("-") else 1)
    else:
        number = int(num) * _UNITS[unit]
    return check_disk_size(number, field=field, shown=value, limit=limit)


def check_disk_size(size: int, *, field: str = "size", shown: object = None, limit: SizeLimit = AZURE_LIMIT) -> int:
    """Return `size` if it is a valid disk size in bytes, else raise SizeError naming the rule."""
    what = f"{field} {shown if shown is not None else size!r}"
    if size <= 0:
        raise SizeError(f"{what} must be positive; the smallest disk is 1MiB.")
    if size % MiB:
        raise SizeError(
            f"{what} is not a whole number of MiB, which Azure requires; round it to a multiple of 1048576 bytes."
        )
    if size > limit.max_disk_size:
        raise SizeError(f"{what} exceeds the {limit.max_size_gb}GiB maximum{limit.on} ({limit.reason}).")
    return size


def parse_size_gb(value: object, *, field: str = "size_gb", limit: SizeLimit = AZURE_LIMIT) -> int:
    """Parse a whole number of GiB; integral floats are accepted because Pulumi sends numbers as doubles."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SizeError(f"{field} {value!r} must be a whole number of GiB between 1 and {limit.max_size_gb}.")
    if not 1 <= value <= limit.max_size_gb:
        raise SizeError(
            f"{field} {value!r} is out of range{limit.on}; give a whole number of GiB between 1 and "
            f"{limit.max_size_gb} ({limit.reason})."
        )
    return value


# Azure's direct upload into a managed disk (the Compute API's create option Upload): the disk is made with an
# upload size, the length of the fixed VHD it will hold (whole MiB plus the 512-byte footer), from 20 MiB + 512
# to 32 TiB + 512 bytes (CreationData.uploadSizeBytes in the published DiskRP contract). No page blob of a storage
# account is involved, so the 8 TiB page-blob cap above does not apply.
MIN_UPLOAD_DISK = 20 * MiB
MAX_UPLOAD_DISK = 32 * TiB


def check_upload_size(upload_size: int, *, field: str = "upload size") -> int:
    """Return `upload_size` (bytes, footer included) if a managed disk can be created for direct upload with it, else
    raise SizeError naming the rule and the nearest size that works."""
    disk = upload_size - FOOTER_SIZE
    if disk % MiB or not MIN_UPLOAD_DISK <= disk <= MAX_UPLOAD_DISK:
        raise SizeError(
            f"{field} {upload_size} is not a whole number of MiB plus the 512-byte footer between "
            f"{MIN_UPLOAD_DISK + FOOTER_SIZE} (20 MiB + 512) and {MAX_UPLOAD_DISK + FOOTER_SIZE} (32 TiB + 512), which "
            "Azure's direct upload requires; give the fixed VHD's length (`vhdcore inspect` prints it as "
            "upload_size_bytes).")
    return upload_size
