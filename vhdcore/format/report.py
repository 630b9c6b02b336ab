"""What `inspect` says about a disk: the decoded footer checked against its container's length."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import VhdFormatError
from .footer import Footer
from .sizes import FOOTER_SIZE


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
        return doc

    def to_table(self) -> str:
        doc = self.to_json()
        problems = doc.pop("problems")
        hex_fields = {"features", "file_format_version", "data_offset", "creator_version", "checksum"}
        width = max(map(len, doc))
        lines = [
            f"{key:<{width}}  {f'0x{value:x}' if key in hex_fields and isinstance(value, int) else value}"
            for key, value in doc.items()
        ]
        lines.append("problems" + ("".join(f"\n  - {p}" for p in problems) if problems else f"{' ' * (width - 6)}none"))
        return "\n".join(lines)


def _ascii(raw: bytes) -> str:
    return raw.rstrip(b"\0").decode("ascii", errors="backslashreplace")
