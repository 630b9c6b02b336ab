"""Disk images of every common format, read without converting them: raw, VHD (fixed, dynamic), VHDX, QCOW2,
VMDK (monolithicSparse) and VDI.

Standard library only, like the rest of vhdcore.format. Each format module declares its on-disk
structures once (layout.Layout) and turns the image's allocation tables into extents; nothing but
headers and tables is read to open an image, and ranges the image does not store are never read.

    with open_image("disk.qcow2") as image:        # format detected from the content
        image.virtual_size, image.allocated_bytes, image.extents
        for run in Scan(image): ...                 # non-zero 512-byte pages, in order
"""

from .detect import FORMATS, check_format, detect_format, format_from_head, open_image
from .fixed import Converted, DiskSize, convert_to_fixed_vhd, disk_size, upload_disk_size
from .pages import Fingerprint, PageRun, Scan, fingerprint, nonzero_pages, widened
from .readable import ReadableImage, Window
from .source import DiskImage, Extent, FileStamp

__all__ = [
    "FORMATS",
    "Converted",
    "DiskImage",
    "DiskSize",
    "Extent",
    "FileStamp",
    "Fingerprint",
    "PageRun",
    "ReadableImage",
    "Scan",
    "Window",
    "check_format",
    "convert_to_fixed_vhd",
    "detect_format",
    "disk_size",
    "fingerprint",
    "format_from_head",
    "nonzero_pages",
    "open_image",
    "upload_disk_size",
    "widened",
]
