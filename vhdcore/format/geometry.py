"""CHS geometry from the VHD specification's appendix "CHS Calculation".

Azure ignores CHS (it sizes disks from the blob length), but Hyper-V and qemu read it, so it must
follow the spec exactly: integer division throughout, rounding the capacity down.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sizes import SECTOR

MAX_CHS_SECTORS = 65535 * 16 * 255


@dataclass(frozen=True)
class Geometry:
    cylinders: int
    heads: int
    sectors_per_track: int

    @property
    def capacity(self) -> int:
        """Bytes addressable through CHS; at most the disk size."""
        return self.cylinders * self.heads * self.sectors_per_track * SECTOR


def chs_geometry(size: int) -> Geometry:
    """Return the spec geometry for a disk of `size` bytes."""
    total = min(size // SECTOR, MAX_CHS_SECTORS)
    if total >= 65535 * 16 * 63:
        spt, heads = 255, 16
        cyl_times_heads = total // spt
    else:
        spt = 17
        cyl_times_heads = total // spt
        heads = max(4, (cyl_times_heads + 1023) // 1024)
        if cyl_times_heads >= heads * 1024 or heads > 16:
            spt, heads = 31, 16
            cyl_times_heads = total // spt
        if cyl_times_heads >= heads * 1024:
            spt, heads = 63, 16
            cyl_times_heads = total // spt
    return Geometry(cyl_times_heads // heads, heads, spt)
