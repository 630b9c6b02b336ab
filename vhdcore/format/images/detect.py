"""Which format an image is (from its content, or as the caller says), and opening it.

Detection order: a valid VHD footer at the end wins (a fixed VHD is raw data plus a footer, so its first
bytes can be anything); then the magic at 0: qcow2, VHDX, VMDK (sparse, COWD, text descriptor), the VDI
signature at 64, a VHD footer copy at 0 (a dynamic VHD whose end is damaged); anything else is raw.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ...errors import CorruptImageError, ImageError, UsageError
from ..sizes import SECTOR
from . import qcow2, vdi, vhd, vhdx, vmdk
from .source import DiskImage, ImageFile, Parsed, data_extents, without_holes

_NAMES = {"raw": "raw", "vhd": "VHD", "vhdx": "VHDX", "qcow2": "qcow2", "vmdk": "VMDK", "vdi": "VDI"}

FORMATS = ("raw", "vhd", "vhdx", "qcow2", "vmdk", "vdi")
ALIASES = {"vpc": "vhd"}  # qemu's name for VHD


def _raw(image: ImageFile) -> Parsed:
    return Parsed("raw", "raw", image.size, data_extents(image, image.size), holes_known=True)


PARSERS: dict[str, Callable[[ImageFile], Parsed]] = {
    "raw": _raw, "vhd": vhd.parse, "vhdx": vhdx.parse, "qcow2": qcow2.parse, "vmdk": vmdk.parse, "vdi": vdi.parse,
}


def detect_format(image: ImageFile) -> str:
    if vhd.has_footer(image):
        return "vhd"
    return format_from_head(image.pread(0, SECTOR)) or "raw"


def format_from_head(head: bytes) -> str | None:
    """The format whose magic the image's first 512 bytes hold, or None (raw, or a fixed VHD: only its end says).

    All a compressed stream tells at its start (vhdcore.sources): each of these needs random access to be read."""
    if head.startswith(qcow2.MAGIC):
        return "qcow2"
    if head.startswith(vhdx.SIGNATURE):
        return "vhdx"
    if vmdk.is_vmdk(head):
        return "vmdk"
    if vdi.is_vdi(head):
        return "vdi"
    if head.startswith(b"conectix"):  # a dynamic VHD's footer copy
        return "vhd"
    return None


def check_format(name: str | None, *, field: str = "--format") -> str | None:
    """The canonical format name for `name` (None: detect), or a UsageError listing the formats."""
    if name is None:
        return None
    canonical = ALIASES.get(name.lower(), name.lower())
    if canonical not in PARSERS:
        raise UsageError(f"{field} {name!r} is not a format this tool reads; give one of {', '.join(FORMATS)}, or "
                         "leave it out to detect the format from the content.")
    return canonical


def open_image(path: str | os.PathLike[str], format: str | None = None) -> DiskImage:
    """Open a disk image and map it: only headers and allocation tables are read here, no data.

    Raises UnsupportedImageError (compressed, encrypted, differencing, unhandled variants) or
    CorruptImageError (inconsistent, or anything mapped past the end of the file) with one sentence.
    """
    wanted = check_format(format)
    image = ImageFile(path)
    try:
        name = wanted or detect_format(image)
        try:
            parsed = PARSERS[name](image)
        except ImageError:
            raise
        except Exception as exc:  # anything else a damaged file provokes: struct.error, IndexError, MemoryError...
            what, offset = image.reading
            raise CorruptImageError(
                f"image {image.path} is not a valid {_NAMES[name]} image: reading its {what} at byte {offset} failed "
                f"({type(exc).__name__}: {exc}); it is corrupt; copy it again from its source, or give the right "
                "--format.") from None
        if parsed.extents.host_end > image.size:  # the parsers check each entry; this is the last line of defence
            raise CorruptImageError(
                f"image {image.path} maps data past the end of the {image.size}-byte file: it is truncated or corrupt; "
                "copy it again from its source.")
        if not parsed.holes_known:
            parsed = Parsed(parsed.format, parsed.variant, parsed.virtual_size, without_holes(image, parsed.extents))
        if parsed.virtual_size <= 0:
            raise ImageError(f"image {image.path} is an empty {name} image (0 bytes); give an image that holds a disk.")
        return DiskImage(image, parsed)
    except BaseException:
        image.close()
        raise


__all__ = ["FORMATS", "check_format", "detect_format", "format_from_head", "open_image"]
