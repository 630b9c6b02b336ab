"""A raw disk or a fixed VHD read in order from a stream (decompressed, or from a web server): no local copy.

Both formats hold the disk's bytes in order from byte 0; a fixed VHD adds its 512-byte footer at the end. So
they are read in one pass, window by window, and never stored: the upload or conversion takes each window as
it comes. What must be known before the first byte is sent is the disk's size, and so whether the stream ends
in a footer; `learn_content` finds the stream's length and its last 512 bytes (see its docstring for how, per
compression, and what each way costs). Each pass then checks that the stream is exactly that long and ends in
exactly those bytes, and that the published bytes have the SHA-256 given, before its last window is given out:
an upload never seals a disk whose stream did not end as expected.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ..errors import CorruptImageError, ImageError
from ..format.footer import COOKIE, Footer
from ..format.images import Window
from ..format.images.vhd import fixed_disk_size
from ..format.sizes import FOOTER_SIZE, MAX_DISK_SIZE, MAX_PUT_PAGE, PAGE, MiB
from .published import Pass, Published, read_exactly

TAIL_BLOCK_MAX = 64 * MiB  # the most an xz block may hold for its end to be read alone (decompressed in memory)
_INDEX_BUDGET = 16 * MiB  # the most python-xz may read of an xz file's indexes and footers
STREAM_LIMIT = MAX_DISK_SIZE + FOOTER_SIZE  # the longest raw disk or fixed VHD a page blob can take


@dataclass(frozen=True)
class Content:
    """What the (decompressed) stream holds: its length and its last bytes, and how they were learned."""

    length: int
    tail: bytes  # the last min(512, length) bytes; b"" when not needed (the format was given)
    learned: str  # for people: "the xz index and its last block", "a counting pass", ...
    sha256: str | None = None  # the published bytes' SHA-256, when learning read them all (and checked it)


def learn_content(published: Published, *, need_tail: bool) -> Content:
    """The stream's length and last 512 bytes, as cheaply as its container allows:

    - uncompressed, from a local file or a server that answers ranges: the size, and a read of the last 512 bytes;
    - xz, when the file can be read at any offset (a local file, a server with ranges): the index at its end gives
      the length (python-xz reads only footers and indexes), and the last block alone gives the end when it holds
      at most TAIL_BLOCK_MAX bytes (multi-threaded xz, pixz: blocks of 24 to 192 MiB);
    - otherwise (gzip, bzip2 and zstd hold no usable total; one-block xz; a server without ranges): one counting
      pass, which decompresses the whole stream once, keeping nothing but the count and the last 512 bytes; it costs
      the decompression time once more (and, from a web server, the download), no disk, constant memory.

    `need_tail` False (the format was given): the length alone suffices, the tail is checked at the end anyway.
    """
    origin = published.origin
    if not published.compressed and origin.size is not None and origin.seekable:
        tail = b""
        if need_tail:
            with _closing(origin.random_access()) as file:
                file.seek(max(0, origin.size - FOOTER_SIZE))
                tail = read_exactly(file.read, min(FOOTER_SIZE, origin.size))
        return Content(origin.size, tail, "its size, and a read of its last 512 bytes")
    if published.compression == "xz" and origin.seekable:
        found = _xz_content(published, need_tail)
        if found is not None:
            return found
    return _count(published)


def _xz_content(published: Published, need_tail: bool) -> Content | None:
    """From the xz index (and the last block): None when that cannot be read (the counting pass decides then)."""
    import lzma

    import xz

    with _closing(published.origin.random_access()) as raw:
        budget = _Budget(raw, _INDEX_BUDGET)
        try:
            with xz.XZFile(budget) as file:  # type: ignore[arg-type]  # a RawIOBase is a binary file
                length = len(file)
                if length > STREAM_LIMIT or length == 0:
                    return None  # the counting pass says why, in its words
                if not need_tail:
                    return Content(length, b"", "the xz index")
                at = max(0, length - FOOTER_SIZE)
                starts = [s for s in file.block_boundaries if s <= at]
                if length - (starts[-1] if starts else 0) > TAIL_BLOCK_MAX:
                    return None
                budget.limit = None  # the last block: bounded by TAIL_BLOCK_MAX
                file.seek(at)
                tail = file.read(length - at)
                if len(tail) != length - at:
                    return None
                return Content(length, tail, "the xz index and its last block")
        except (xz.XZError, lzma.LZMAError, OSError, ValueError, EOFError, MemoryError, KeyError, IndexError):
            return None  # damaged or hostile: the counting pass will name the fault


def _count(published: Published) -> Content:
    """One pass that only counts the decompressed bytes and keeps the last 512."""
    stream = published.open(limit=STREAM_LIMIT, too_big=_too_big)
    try:
        tail = b""
        while True:
            data = stream.read()
            if not data:
                break
            tail = (tail + data[-FOOTER_SIZE:])[-FOOTER_SIZE:]
        if stream.pos == 0:
            raise ImageError(f"image {published.name} holds no data (it decompresses to 0 bytes); give an image that "
                             "holds a disk.")
        found = stream.finish()  # a wrong checksum is refused here, before anything is sent
    finally:
        stream.close()
    return Content(stream.pos, tail, "a counting pass (the stream decompressed once before the upload, nothing kept)",
                   found)


def _too_big(limit: int) -> str:
    return f"it holds more than {limit} bytes, more than the largest fixed VHD a page blob holds (8191 GiB + 512)"


@dataclass(frozen=True)
class StreamFormat:
    """What the stream is: raw, or a fixed VHD (its data, then its footer)."""

    format: str  # "raw" or "vhd"
    variant: str  # "raw" or "fixed"
    virtual_size: int
    footer: bytes  # the fixed VHD's footer as the stream ends; b"" for raw


def format_of(name: str, content: Content, wanted: str | None) -> StreamFormat:
    """Raw or fixed VHD, by the stream's end (as `detect_format` decides for a file), or as the caller said."""
    length, tail = content.length, content.tail
    if wanted == "raw":
        return StreamFormat("raw", "raw", length, b"")
    footer = Footer.unpack(tail) if len(tail) == FOOTER_SIZE else None
    valid = footer is not None and footer.cookie == COOKIE and footer.checksum_valid
    if wanted is None and not valid:
        return StreamFormat("raw", "raw", length, b"")
    if wanted == "vhd" and not tail and length > FOOTER_SIZE:  # the format was given and the end not read: the
        return StreamFormat("vhd", "fixed", length - FOOTER_SIZE, b"")  # footer is checked at the end
    size = fixed_disk_size(name, tail, length)  # the rule a file is judged by (no tail: too short for a footer)
    return StreamFormat("vhd", "fixed", size, tail)


class StreamImage:
    """A raw disk or fixed VHD read from `published` in order, pass by pass (see the module docstring).

    It offers what an upload and a conversion use of an image (as format.images.DiskImage does): the virtual size,
    `windows()` (one pass, every window of the disk in order), `read()` (bytes at increasing offsets: a pass kept
    open for the purpose, started again if asked to go back), `stamp()` and `unchanged()`.
    """

    def __init__(self, published: Published, content: Content, stream_format: StreamFormat) -> None:
        self.published = published
        self.content = content
        self.path = published.name
        self.format, self.variant = stream_format.format, stream_format.variant
        self.virtual_size = stream_format.virtual_size
        self.stream_format = stream_format
        self.compression = published.compression
        self.checksum: str | None = None  # the published bytes' SHA-256, once a pass has read them all
        self._cursor: Pass | None = None  # the pass read() uses

    @property
    def allocated_bytes(self) -> int:
        """Every byte of the disk is read from the stream (zeros included): progress counts them all."""
        return self.virtual_size

    @property
    def file_size(self) -> int | None:
        return self.published.origin.size

    @property
    def kind(self) -> str:
        base = f"{self.format} ({self.variant})" if self.variant != self.format else self.format
        return f"{base}, {self.compression}-compressed" if self.published.compressed else base

    @property
    def bytes_read(self) -> int:
        """Published bytes read so far, by every pass."""
        return self.published.origin.bytes_read

    def stamp(self) -> str:
        """Which version of the image this is, without reading its data: the published bytes' stamp (their checksum,
        or their compression, place and file stamp or validators) and the disk they hold."""
        return f"{self.published.stamp()}|{self.format}|{self.virtual_size}"

    def unchanged(self) -> bool:
        return self.published.origin.unchanged()

    def windows(self, limit: int = MAX_PUT_PAGE, align: int = PAGE) -> Iterator[Window]:
        """One pass: every `limit`-aligned window of the disk in order (any of its pages may hold data); the last is
        padded with zeros to whole `align`-byte pages. Before the last window is given out, the stream's end and
        the checksum are checked (and so is any pass `read()` left open)."""
        size = self.virtual_size
        stream = self.published.open(limit=self.content.length, too_big=self._longer)
        try:
            pos = 0
            pending: Window | None = None
            last = b""  # a raw disk's last bytes: what its end was taken for (no footer) when that was read
            while pos < size:
                want = min(limit - pos % limit, size - pos)
                data = stream.read_exactly(want)
                if len(data) != want:
                    raise self._shorter(pos + len(data))
                if pending is not None:
                    yield pending
                end = pos + want
                if end == size:
                    before = bytes(pending.data[-FOOTER_SIZE:]) if pending else b""
                    last = before + data if len(data) < FOOTER_SIZE else data
                    if size % align:
                        data += bytes(-size % align)
                pending = Window(pos, data, want, [(0, len(data))])
                pos = end
            self._check_end(stream, last[-FOOTER_SIZE:])
            if self._cursor is not None:  # a resume compared pages with another pass: it must check out too
                self._drain_cursor()
            if pending is not None:
                yield pending
        finally:
            stream.close()

    def _check_end(self, stream: Pass, last: bytes) -> None:
        """The stream after the disk's data (`last`: its last bytes): the footer it was taken for (a fixed VHD),
        or for a raw disk the same last bytes that made it raw, then its end, then the published bytes' checksum."""
        found = self.stream_format
        if found.format == "vhd":
            footer = stream.read_exactly(FOOTER_SIZE)
            if len(footer) != FOOTER_SIZE:
                raise self._shorter(self.virtual_size + len(footer))
            if found.footer and footer != found.footer:
                raise CorruptImageError(f"image {self.path} ends in another footer than it did when it was first read; "
                                        "it changed meanwhile: run again.")
            if not found.footer:
                checked = format_of(self.path, Content(self.content.length, footer, self.content.learned), None)
                if checked.virtual_size != self.virtual_size or checked.format != "vhd":
                    raise CorruptImageError(f"image {self.path} does not end in the footer of a fixed VHD of "
                                            f"{self.virtual_size} bytes; give the right --format.")
        elif self.content.tail and last != self.content.tail:
            raise CorruptImageError(f"image {self.path} ends in other bytes than it did when it was first read; it "
                                    "changed meanwhile: run again.")
        if not stream.at_end():
            raise CorruptImageError(f"image {self.path} holds more than the {self.content.length} bytes it was found "
                                    "to hold; it changed meanwhile, or its size was misstated: run again.")
        self.checksum = stream.finish()

    def _drain_cursor(self) -> None:
        cursor, self._cursor = self._cursor, None
        assert cursor is not None
        try:
            cursor.skip(self.content.length)
            if cursor.pos != self.content.length:
                raise self._shorter(cursor.pos)
            cursor.finish()
        finally:
            cursor.close()

    def read(self, offset: int, length: int) -> bytes:
        """`length` bytes of the virtual disk at `offset`, from a pass kept open (zeros past the disk's end)."""
        if offset < 0 or length < 0 or offset + length > self.virtual_size:
            raise ValueError(f"read of {length} bytes at {offset} is outside the {self.virtual_size}-byte disk")
        cursor = self._cursor
        if cursor is None or cursor.pos > offset:
            if cursor is not None:
                cursor.close()
            cursor = self._cursor = self.published.open(limit=self.content.length, too_big=self._longer)
        cursor.skip(offset - cursor.pos)
        data = cursor.read_exactly(length)
        if cursor.pos != offset + length:
            raise self._shorter(cursor.pos)
        return data

    def _shorter(self, at: int) -> CorruptImageError:
        return CorruptImageError(
            f"image {self.path} ends after {at} bytes, before the {self.content.length} it was found to hold: it is "
            "truncated, or it changed meanwhile; download or copy it again.")

    def _longer(self, limit: int) -> str:
        return f"it holds more than the {limit} bytes it was found to hold (it changed meanwhile, or misstates its " \
            "size)"

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None
        self.published.close()

    def __enter__(self) -> StreamImage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"StreamImage({self.path!r}, {self.kind}, virtual_size={self.virtual_size})"


class _Budget(io.RawIOBase):
    """A seekable file that refuses to read more than `limit` bytes in all (None: no limit)."""

    def __init__(self, raw: BinaryIO, limit: int | None) -> None:
        self.raw, self.limit, self.used = raw, limit, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self.limit is not None and self.used + len(buffer) > self.limit:
            raise OSError("read budget exhausted")
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.used += len(data)
        return len(data)


class _closing:
    def __init__(self, file: BinaryIO) -> None:
        self.file = file

    def __enter__(self) -> BinaryIO:
        return self.file

    def __exit__(self, *exc: object) -> None:
        self.file.close()


__all__ = ["Content", "StreamFormat", "StreamImage", "format_of", "learn_content"]
