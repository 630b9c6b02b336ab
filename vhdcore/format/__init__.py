"""The fixed-VHD format: the footer, CHS geometry, sizes, unique ids, reports, and local files.

Standard library only; nothing here talks to Azure.
"""

from .footer import DiskType, Footer, fixed_footer, footer_checksum, vhd_timestamp
from .geometry import Geometry, chs_geometry
from .local_disk import create_fixed_vhd, inspect_file
from .report import DiskReport
from .sizes import (
    AZURE_LIMIT,
    FOOTER_SIZE,
    MAX_DISK_SIZE,
    MAX_SIZE_GB,
    PAGE_BLOB_MAX,
    GiB,
    KiB,
    MiB,
    SizeLimit,
    TiB,
    check_disk_size,
    parse_size,
    parse_size_gb,
)
from .unique_id import UniqueId

__all__ = [
    "AZURE_LIMIT",
    "FOOTER_SIZE",
    "MAX_DISK_SIZE",
    "MAX_SIZE_GB",
    "PAGE_BLOB_MAX",
    "DiskReport",
    "DiskType",
    "Footer",
    "Geometry",
    "GiB",
    "KiB",
    "MiB",
    "SizeLimit",
    "TiB",
    "UniqueId",
    "check_disk_size",
    "chs_geometry",
    "create_fixed_vhd",
    "fixed_footer",
    "footer_checksum",
    "inspect_file",
    "parse_size",
    "parse_size_gb",
    "vhd_timestamp",
]
