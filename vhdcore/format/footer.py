"""The 512-byte VHD footer: one declaration of the layout (layout.Layout), used to encode and to decode.

Pure: no I/O, no clock, no randomness unless the caller leaves the timestamp or unique id out.
"""

from __future__ import annotations

import enum
import math
import time
from dataclasses import dataclass, replace
from datetime import datetime

from ..errors import InputError, VhdFormatError
from .geometry import chs_geometry
from .layout import Layout, at
from .sizes import FOOTER_SIZE, PAGE_BLOB_MAX, MiB
from .unique_id import UniqueId

COOKIE = b"conectix"
FEATURE_TEMPORARY = 0x1
FEATURE_RESERVED = 0x2  # the spec requires this bit to be set
VERSION_1_0 = 0x00010000
NO_DATA_OFFSET = 0xFFFFFFFFFFFFFFFF
VHD_EPOCH = 946684800  # 2000-01-01T00:00:00Z as a Unix time
AZURE_CREATOR_APPLICATION = b"wa\0\0"
AZURE_CREATOR_VERSION = 0x00070000
AZURE_CREATOR_HOST_OS = b"Wi2k"


class DiskType(enum.IntEnum):
    NONE = 0
    FIXED = 2
    DYNAMIC = 3
    DIFFERENCING = 4


@dataclass(frozen=True)
class Footer(Layout, byte_order=">", name="footer"):
    """A decoded footer. Field order and struct formats are the on-disk layout (big-endian)."""

    cookie: bytes = at("8s")
    features: int = at("I")
    file_format_version: int = at("I")
    data_offset: int = at("Q")
    timestamp: int = at("I")
    creator_application: bytes = at("4s")
    creator_version: int = at("I")
    creator_host_os: bytes = at("4s")
    original_size: int = at("Q")
    current_size: int = at("Q")
    cylinders: int = at("H")
    heads: int = at("B")
    sectors_per_track: int = at("B")
    disk_type: int = at("I")
    checksum: int = at("I")
    unique_id: UniqueId = at("16s", UniqueId)  # noqa: RUF009  (a field spec like the others)
    saved_state: int = at("B")
    reserved: bytes = at("427s")

    @classmethod
    def unpack(cls, raw: bytes | bytearray | memoryview, offset: int = 0) -> Footer:
        """Decode any 512 bytes: the last of `raw`, from `offset` on; only a wrong length is undecodable."""
        if not isinstance(raw, (bytes, bytearray, memoryview)) or len(raw) - offset != FOOTER_SIZE:
            size = len(raw) - offset if isinstance(raw, (bytes, bytearray, memoryview)) else type(raw).__name__
            raise VhdFormatError(
                f"a VHD footer is exactly {FOOTER_SIZE} bytes, got {size}; pass the last 512 bytes of the disk."
            )
        return super().unpack(raw, offset)

    @property
    def computed_checksum(self) -> int:
        return footer_checksum(self.pack())

    @property
    def checksum_valid(self) -> bool:
        return self.checksum == self.computed_checksum

    def sealed(self) -> Footer:
        """The same footer with its checksum computed."""
        return replace(self, checksum=self.computed_checksum)

    @property
    def unix_timestamp(self) -> int:
        return self.timestamp + VHD_EPOCH

    def spec_problems(self) -> list[str]:
        """Sentences for every way this footer breaks the VHD specification."""
        problems = []
        if self.cookie != COOKIE:
            problems.append(f"cookie is {self.cookie!r}, not b'conectix': this is not a VHD footer.")
        if not self.features & FEATURE_RESERVED:
            problems.append(f"features 0x{self.features:08x} lack the reserved bit 0x2 that the spec requires.")
        if self.file_format_version != VERSION_1_0:
            problems.append(f"file format version 0x{self.file_format_version:08x} is not 0x00010000.")
        if self.disk_type not in DiskType.__members__.values():
            problems.append(
                f"disk type {self.disk_type} is unknown or deprecated "
                "(known types: 0 none, 2 fixed, 3 dynamic, 4 differencing)."
            )
        if self.disk_type == DiskType.FIXED and self.data_offset != NO_DATA_OFFSET:
            problems.append(f"data offset 0x{self.data_offset:016x} must be all ones on a fixed disk.")
        if not self.checksum_valid:
            problems.append(
                f"checksum 0x{self.checksum:08x} does not match the computed 0x{self.computed_checksum:08x}: "
                "the footer is corrupt."
            )
        if self.saved_state not in (0, 1):
            problems.append(f"saved state {self.saved_state} is neither 0 nor 1.")
        return problems

    def azure_problems(self, container_length: int | None = None) -> list[str]:
        """Sentences for every reason Azure would refuse this footer as a disk in a page blob."""
        problems = []
        if self.disk_type != DiskType.FIXED:
            problems.append(f"disk type {self.disk_type} is not 2 (fixed); Azure accepts only fixed VHDs.")
        if self.current_size <= 0 or self.current_size % MiB:
            problems.append(
                f"current size {self.current_size} is not a positive whole number of MiB, which Azure requires."
            )
        if self.current_size + FOOTER_SIZE > PAGE_BLOB_MAX:
            problems.append(f"current size {self.current_size} plus the footer exceeds the 8 TiB page-blob cap.")
        if self.original_size != self.current_size:
            problems.append(
                f"original size {self.original_size} differs from current size {self.current_size}; "
                "some readers use the original."
            )
        if self.saved_state == 1:
            problems.append("saved state is 1: the disk belongs to a saved virtual machine state.")
        if container_length is not None and container_length != self.current_size + FOOTER_SIZE:
            problems.append(
                f"length {container_length} is not current size {self.current_size} + 512; "
                "Azure derives the disk size from the length, so the footer must be the last 512 bytes."
            )
        return problems


assert Footer.struct_size() == FOOTER_SIZE
_CHECKSUM = slice(Footer.offset_of("checksum"), Footer.offset_of("unique_id"))


def footer_checksum(raw: bytes) -> int:
    """One's complement of the byte sum of the footer with the checksum field left out."""
    return ~(sum(raw) - sum(raw[_CHECKSUM])) & 0xFFFFFFFF


def vhd_timestamp(when: datetime | float) -> int:
    """Seconds since 2000-01-01T00:00:00Z from an aware datetime or a Unix time."""
    shown = repr(when)
    if isinstance(when, datetime):
        if when.tzinfo is None or when.utcoffset() is None:
            raise InputError(
                f"timestamp {when.isoformat()} has no time zone; pass an aware time such as datetime.now(timezone.utc)."
            )
        shown = when.isoformat()
        when = when.timestamp()
    # int() raises on nan and inf; they are as out of range as any other time a footer cannot hold.
    seconds = int(when) - VHD_EPOCH if math.isfinite(when) else -1
    if not 0 <= seconds <= 0xFFFFFFFF:
        # The message shows the value as given: datetime.fromtimestamp() itself fails past year 9999.
        raise InputError(
            f"timestamp {shown} is outside 2000-01-01 to 2136-02-07 (Unix 946684800 to 5241652095), "
            "which a VHD footer can hold."
        )
    return seconds


def fixed_footer(
    size: int,
    *,
    timestamp: datetime | float | None = None,
    unique_id: bytes | None = None,
    creator_application: bytes = AZURE_CREATOR_APPLICATION,
    creator_version: int = AZURE_CREATOR_VERSION,
    creator_host_os: bytes = AZURE_CREATOR_HOST_OS,
) -> Footer:
    """A sealed fixed-disk footer for a disk of `size` bytes; pass timestamp and unique_id to be reproducible."""
    unique_id = UniqueId.random() if unique_id is None else UniqueId(unique_id)
    geometry = chs_geometry(size)
    return Footer(
        cookie=COOKIE,
        features=FEATURE_RESERVED,
        file_format_version=VERSION_1_0,
        data_offset=NO_DATA_OFFSET,
        timestamp=vhd_timestamp(time.time() if timestamp is None else timestamp),
        creator_application=creator_application.ljust(4, b"\0"),
        creator_version=creator_version,
        creator_host_os=creator_host_os.ljust(4, b"\0"),
        original_size=size,
        current_size=size,
        cylinders=geometry.cylinders,
        heads=geometry.heads,
        sectors_per_track=geometry.sectors_per_track,
        disk_type=DiskType.FIXED,
        checksum=0,
        unique_id=unique_id,
        saved_state=0,
        reserved=bytes(427),
    ).sealed()
