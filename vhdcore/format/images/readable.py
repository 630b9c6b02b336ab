"""What an upload or a conversion needs of an image, whatever reads it: the format readers' DiskImage (a local
file, read in place), or a stream read in order or spooled (vhdcore.sources). Scan, fingerprint, disk_size,
convert_to_fixed_vhd and vhdcore.azure.upload_image take any of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple, Protocol


class Window(NamedTuple):
    """One window of a pass over the disk's data (ReadableImage.windows)."""

    offset: int  # guest byte of data[0]
    data: bytes | bytearray  # valid until the next window is asked for: a reader may reuse its buffer
    read: int  # bytes read from the image or the stream for it
    spans: list[tuple[int, int]]  # (start, end) in data of whole 512-byte pages that may hold non-zero bytes; the
    # rest of data is zeros (a DiskImage's gaps between extents, never read): [(0, len(data))] when anything may be


class ReadableImage(Protocol):
    """A disk image opened for reading (see DiskImage for the meaning of each member)."""

    @property
    def path(self) -> str: ...  # for messages: a path, or a URL without credentials or query

    @property
    def format(self) -> str: ...

    @property
    def variant(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def virtual_size(self) -> int: ...

    @property
    def allocated_bytes(self) -> int: ...  # what one pass reads of the disk: progress counts it

    def stamp(self) -> str: ...  # which version of the image this is, without reading its data

    def unchanged(self) -> bool: ...  # its stamp now is the one it had when it was opened: nothing wrote to it

    def read(self, offset: int, length: int) -> bytes: ...  # at increasing offsets is what every caller does

    def windows(self, limit: int, align: int) -> Iterator[Window]: ...  # one pass over the data

    def close(self) -> None: ...
