"""Spec-exact fixed VHD footers and blank VHDs in Azure page blobs.

The format modules (footer, geometry, sizes, report) are pure and import only the standard library;
page_blob is the single place that talks to Azure Storage.
"""

from .errors import SizeError, VhdError, VhdFormatError
from .footer import DiskType, Footer, fixed_footer, footer_checksum, vhd_timestamp
from .geometry import Geometry, chs_geometry
from .report import DiskReport
from .sizes import GiB, MiB, TiB, parse_size, parse_size_gb

__all__ = [
    "DiskReport",
    "DiskType",
    "Footer",
    "Geometry",
    "GiB",
    "MiB",
    "SizeError",
    "TiB",
    "VhdError",
    "VhdFormatError",
    "chs_geometry",
    "fixed_footer",
    "footer_checksum",
    "parse_size",
    "parse_size_gb",
    "vhd_timestamp",
]
