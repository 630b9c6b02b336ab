"""What `inspect` says about a disk: the decoded footer checked against its container's length.

`to_json` is the machine form (every key kept from release to release, new keys only appended); `to_table`
is for people: a verdict line first, then the fields with units and names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import VhdFormatError
from .footer import COOKIE, DiskType, Footer
from .sizes import FOOTER_SIZE, GiB

_HEX_WIDTH = {"features": 8, "file_format_version": 8, "data_offset": 16, "creator_version": 8, "checksum": 8}
_SIZES = ("original_size", "current_size", "file_size", "blob_length")


def checksum_text(value: int) -> str:
    """A footer checksum as blank-vhd writes it everywhere: 0x and 8 lowercase hex digits."""
    return f"0x{value:08x}"


def disk_type_name(value: int) -> str:
    try:
        return DiskType(value).name.lower()
    except ValueError:
        return "unknown"


def size_text(value: int) -> str:
    """Bytes as GiB (whole, 2 decimals, or 3 significant digits below 1 GiB) with the exact byte count."""
    return f"{gib_text(value)} GiB ({value} bytes)"


def gib_text(value: int) -> str:
    if value % GiB == 0:
        return str(value // GiB)
    return f"{value / GiB:.2f}" if value >= GiB else f"{value / GiB:.3g}"


def utc_text(unix_seconds: int) -> str:
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class DiskReport:
    """A footer (None when the container is too short to hold one) plus every problem found."""

    length: int
    footer: Footer | None
    container_problems: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_tail(
        cls, tail: bytes, length: int, *, container_problems: tuple[str, ...] = (), **extra: Any
    ) -> DiskReport:
        """Decode the last bytes of a container of `length` bytes."""
        try:
            footer: Footer | None = Footer.unpack(tail)
        except VhdFormatError:
            footer = None
            container_problems = (
                f"length {length} is shorter than the {FOOTER_SIZE}-byte footer: the disk is truncated or not a VHD.",
                *container_problems,
            )
        return cls(length, footer, container_problems, extra)

    @property
    def problems(self) -> list[str]:
        found = list(self.container_problems)
        if self.footer is not None:
            found += self.footer.spec_problems() + self.footer.azure_problems(self.length)
        return found

    @property
    def azure_ready(self) -> bool:
        return self.footer is not None and not self.problems

    @property
    def has_footer(self) -> bool:
        """A footer was found where one belongs (the last 512 bytes start with the cookie)."""
        return self.footer is not None and self.footer.cookie == COOKIE

    @property
    def verdict(self) -> str:
        """One line: `fixed VHD, 10 GiB, Azure-ready`, or what kind of disk it is and its first problem."""
        problems = self.problems
        more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        if not self.has_footer:
            return f"not a VHD: {problems[0].removesuffix('.')}{more}"
        assert self.footer is not None
        f = self.footer
        kind = f"{disk_type_name(f.disk_type)} VHD, {gib_text(f.current_size)} GiB"
        if not problems:
            return f"{kind}, Azure-ready"
        return f"{kind}, not Azure-ready: {problems[0].removesuffix('.')}{more}"

    def to_json(self) -> dict[str, Any]:
        f = self.footer
        doc: dict[str, Any] = {
            "cookie": f.cookie.decode("latin-1") if f else None,
            "features": f.features if f else None,
            "file_format_version": f.file_format_version if f else None,
            "data_offset": f.data_offset if f else None,
            "timestamp": f.unix_timestamp if f else None,
            "creator_application": _ascii(f.creator_application) if f else None,
            "creator_version": f.creator_version if f else None,
            "creator_host_os": _ascii(f.creator_host_os) if f else None,
            "original_size": f.original_size if f else None,
            "current_size": f.current_size if f else None,
            "cylinders": f.cylinders if f else None,
            "heads": f.heads if f else None,
            "sectors_per_track": f.sectors_per_track if f else None,
            "disk_type": f.disk_type if f else None,
            "checksum": f.checksum if f else None,
            "checksum_valid": f.checksum_valid if f else None,
            "unique_id": f.unique_id.hex() if f else None,
            "saved_state": f.saved_state if f else None,
            "file_size": self.length,
            "azure_ready": self.azure_ready,
            "problems": self.problems,
        }
        doc.update(self.extra)
        # Added later: appended, so the keys above (and the tsv columns they make) keep their places.
        doc.update(
            verdict=self.verdict,
            disk_type_name=disk_type_name(f.disk_type) if f else None,
            timestamp_utc=utc_text(f.unix_timestamp) if f else None,
            checksum_hex=checksum_text(f.checksum) if f else None,
        )
        return doc

    def to_table(self) -> str:
        """The verdict, then (when there is a footer) one aligned row per field, then the problems."""
        doc = self.to_json()
        problems = doc.pop("problems")
        lines = [doc.pop("verdict")]
        for key in ("disk_type_name", "timestamp_utc", "checksum_hex"):
            doc.pop(key)
        if self.has_footer:
            width = max(map(len, doc))
            lines += [f"{key:<{width}}  {_shown(key, value)}" for key, value in doc.items()]
        else:
            width = 8
            lines += [f"{key:<{width}}  {value}" for key, value in doc.items()
                      if key in ("file_size", "url", "blob_length")]
        lines.append("problems" + ("".join(f"\n  - {p}" for p in problems) if problems else f"{' ' * (width - 6)}none"))
        return "\n".join(lines)


def _shown(key: str, value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        if key == "checksum":
            return checksum_text(value)
        if key in _HEX_WIDTH:
            return f"0x{value:0{_HEX_WIDTH[key]}x}"
        if key in _SIZES:
            return size_text(value)
        if key == "timestamp":
            return f"{utc_text(value)} ({value})"
        if key == "disk_type":
            return f"{value} ({disk_type_name(value)})"
    return str(value)


def _ascii(raw: bytes) -> str:
    return raw.rstrip(b"\0").decode("ascii", errors="backslashreplace")
