"""What an upload or a conversion needs of an image, whatever reads it: the format readers' DiskImage (a local
file, read in place), or a stream read in order or spooled (vhdcore.sources). Scan, fingerprint, disk_size,
convert_to_fixed_vhd and vhdcore.azure.upload_image take any of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol


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

    def identity(self) -> str: ...  # a cheap key for "the same image, unchanged": resuming records it

    def unchanged(self) -> bool: ...  # nothing wrote to the image since it was opened

    def read(self, offset: int, length: int) -> bytes: ...  # at increasing offsets is what every caller does

    def windows(self, limit: int, align: int) -> Iterator[tuple[int, bytes, int]]: ...  # one pass over the data

    def close(self) -> None: ...
