"""Where an image comes from: a local file or an `https://` URL, compressed (xz, gzip, bzip2, zstd) or not, with
the SHA-256 its publisher gives. `open_source` picks the route that never makes a full-size copy:

- a local file, not compressed: read in place (format.images.open_image); no local disk; reads the stored data.
- a raw disk or a fixed VHD, compressed or from a URL: streamed in order (stream.StreamImage); no local disk;
  reads the stream once per pass.
- VHDX, QCOW2, VMDK, VDI or a dynamic VHD, compressed or from a URL: a sparse temporary file of its data
  (spool); local disk: the image file's non-zero blocks; reads the stream once.

The size of a streamed disk is learned before anything is sent (stream.learn_content: the file's size, the xz
index, or one counting pass). A compressed file whose content is no format this tool recognizes is refused
rather than taken for a raw disk; `format="raw"` takes it as one. Compressions this tool does not read (lz4, 7z,
zip, ...) and archives (tar) are refused in one line saying how to proceed.

This layer sits between vhdcore.format (standard library only) and vhdcore.azure: it adds the decompressors
(python-xz for the xz index, backports.zstd before Python 3.14) and an HTTP client (requests).
"""

from __future__ import annotations

import hashlib
from typing import Union

from ..errors import ChecksumMismatchError, UnsupportedImageError
from ..format.images import DiskImage, check_format, format_from_head, open_image
from .compressed import COMPRESSIONS, HEAD, NONE, check_compression, detect_compression
from .published import LocalOrigin, Published, check_sha256, compression_of, origin_for
from .spool import SpooledImage, spool
from .stream import StreamImage, format_of, learn_content
from .urls import check_image_url, is_image_url, shown_url

SourceImage = Union[DiskImage, StreamImage, SpooledImage]  # noqa: UP007 - a runtime alias
HEAD_BYTES = 64 << 10  # what detection reads of a stream's start

# Compressions and archives this tool does not read, by their magic: refused rather than taken for a raw disk.
_FOREIGN = (
    (0, b"\x04\x22\x4d\x18", "lz4-compressed data", "decompress it first (lz4 -d)"),
    (0, b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "extract the image from it first"),
    (0, b"PK\x03\x04", "a zip archive", "extract the image from it first"),
    (0, b"LZIP", "lzip-compressed data", "decompress it first (lzip -d)"),
    (0, b"\x89LZO\x00\r\n\x1a\n", "lzop-compressed data", "decompress it first (lzop -d)"),
    (0, b"Rar!\x1a\x07", "a RAR archive", "extract the image from it first"),
    (0, b"\x1f\x9d", "compress(1)-compressed data (.Z)", "decompress it first (uncompress)"),
    (257, b"ustar", "a tar archive (as a disk.raw inside a .tar.gz)", "extract the image from it first (tar -x)"),
)
RANDOM_ACCESS = ("vhdx", "qcow2", "vmdk", "vdi")


def open_source(location: str, format: str | None = None, *, compression: str | None = None,
                sha256: str | None = None) -> SourceImage:
    """Open the image at `location` (a path or a URL) for an upload or a conversion (see the module docstring).

    `format` (raw, vhd, vhdx, qcow2, vmdk, vdi; None: detect), `compression` (xz, gzip, bzip2, zstd, none; None:
    detect from the magic bytes) and `sha256` (the published bytes' SHA-256: the compressed file's, for a compressed
    one) are checked first. Nothing is written anywhere except, for a random-access format from a stream, the
    sparse temporary file of its data. Every refusal is one sentence (ImageError and its kinds, InputError).
    """
    wanted = check_format(format)
    packed = check_compression(compression)
    expected = check_sha256(sha256)
    if is_image_url(location):
        check_image_url(location)
    origin = origin_for(location)
    try:
        kind = compression_of(origin, packed)
        published = Published(origin, kind, expected)
        if kind == NONE:
            return _uncompressed(location, published, wanted, packed is None)
        return _compressed(published, wanted)
    except BaseException:
        origin.close()
        raise


def _uncompressed(location: str, published: Published, wanted: str | None, detected: bool) -> SourceImage:
    origin = published.origin
    head = origin.head(HEAD_BYTES)
    if detected and wanted is None:
        _refuse_foreign(published.name, head, "")
    if isinstance(origin, LocalOrigin):
        if published.sha256 is not None:
            _check_file(published)  # every byte, before the image is opened: it is read in place afterwards
        return open_image(location, wanted)
    if _random_access(wanted, head):
        return spool(published, wanted)
    return _streamed(published, wanted)


def _compressed(published: Published, wanted: str | None) -> SourceImage:
    head = _stream_head(published)
    if _random_access(wanted, head):
        return spool(published, wanted)
    if wanted is None:
        _refuse_foreign(published.name, head, f"is {published.compression}-compressed and ")
    image = _streamed(published, wanted)
    if wanted is None and image.format == "raw":
        image.close()
        raise UnsupportedImageError(
            f"image {published.name} is {published.compression}-compressed, and what it holds is no format this tool "
            "recognizes (no VHD footer at its end, no QCOW2, VHDX, VMDK or VDI header at its start), so it is not "
            "taken for a raw disk by guess; if it is one, give --format raw.")
    return image


def _random_access(wanted: str | None, head: bytes) -> bool:
    """Whether the image needs random access: its format (given, or found at its start) is one that does."""
    inner = wanted or format_from_head(head)
    return inner in RANDOM_ACCESS or (inner == "vhd" and head.startswith(b"conectix"))  # a dynamic VHD


def _streamed(published: Published, wanted: str | None) -> StreamImage:
    content = learn_content(published, need_tail=wanted is None)
    return StreamImage(published, content, format_of(published.name, content, wanted))


def _stream_head(published: Published) -> bytes:
    """The decompressed stream's first HEAD_BYTES (decompressing only that much)."""
    first = published.open()
    try:
        return first.read_exactly(HEAD_BYTES)
    finally:
        first.close()


def _refuse_foreign(name: str, head: bytes, packed: str) -> None:
    for at, magic, what, fix in _FOREIGN:
        if head[at : at + len(magic)] == magic:
            raise UnsupportedImageError(f"image {name} {packed}holds {what}, which this tool does not read as a disk "
                                        f"image; {fix}, or give --format raw to take it as a raw disk.")


def published_sha256(image: SourceImage) -> str | None:
    """The SHA-256 of the published bytes of an image opened from a URL or a compressed file, when it is known without
    reading them again: the one given (every pass checks it), or the one the spool, a counting pass or a whole pass
    computed. None for a local uncompressed file (a content fingerprint identifies it), and for a stream whose size
    came from its index or its length and that no pass has read to its end yet."""
    if isinstance(image, SpooledImage):
        return image.published.sha256 or image.checksum
    if isinstance(image, StreamImage):
        return image.published.sha256 or image.content.sha256 or image.checksum
    return None


def is_compressed_file(path: str) -> bool:
    """Whether a local file starts with the magic of a compression this tool reads (a regular file; False for
    anything it cannot read, which opening it will then report)."""
    try:
        with open(path, "rb") as file:
            return detect_compression(file.read(HEAD)) is not None
    except OSError:
        return False


def _check_file(published: Published) -> None:
    """A local uncompressed file's SHA-256, read whole before it is used (it is then read in place)."""
    digest = hashlib.sha256()
    stream = published.origin.stream()
    try:
        while data := stream.read(1 << 20):
            digest.update(data)
    finally:
        stream.close()
    found = digest.hexdigest()
    if found != published.sha256:
        raise ChecksumMismatchError(
            f"image {published.name} does not have the SHA-256 that was given: expected {published.sha256}, found "
            f"{found}", "check that the file and the checksum belong to the same release",
            expected=str(published.sha256), found=found)


__all__ = [
    "COMPRESSIONS",
    "RANDOM_ACCESS",
    "SourceImage",
    "SpooledImage",
    "StreamImage",
    "check_compression",
    "check_image_url",
    "check_sha256",
    "is_compressed_file",
    "is_image_url",
    "open_source",
    "published_sha256",
    "shown_url",
]
