"""An image as it is published: a local file or a URL, compressed or not, with the SHA-256 its publisher gives.

`Published` reads it in passes. Each pass reads the published bytes from the start, hashes them (SHA-256) and
decompresses them; `Pass.finish()` reads the published bytes to their end and compares the hash with the
expected one, so that only bytes a checksum vouches for end up on a disk. Several passes may be needed (the
size, then the data; a resume's comparison); each is checked on its own.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO, Protocol

from ..errors import ChecksumMismatchError, ImageError, InputError
from ..format.images import FileStamp
from ..format.sizes import PAGE_BLOB_MAX
from .compressed import HEAD, NONE, READ, Decompressed, detect_compression
from .urls import is_image_url

if TYPE_CHECKING:
    from .web import WebFile, WebStream

_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
_READ_RAW = 1 << 20


def check_sha256(text: str | None, *, field: str = "--sha256") -> str | None:
    """The 64 lowercase hex digits of a SHA-256 given as `HEX` or `sha256:HEX`, or InputError naming `field`."""
    if text is None:
        return None
    value = text.strip()
    value = value.removeprefix("sha256:").removeprefix("SHA256:")
    if not _HEX.match(value):
        raise InputError(f"{field} {text!r} is not a SHA-256; give its 64 hexadecimal digits (as sha256sum prints "
                         "them, or the image's published checksum).")
    return value.lower()


class RawStream(Protocol):
    def read(self, size: int) -> bytes: ...

    def close(self) -> None: ...


class Origin(Protocol):
    """Where the published bytes are: a local file or a web server."""

    name: str  # for messages: the path, or the URL without credentials or query

    @property
    def bytes_read(self) -> int: ...

    @property
    def size(self) -> int | None: ...

    @property
    def seekable(self) -> bool: ...

    def head(self, size: int) -> bytes: ...

    def stream(self) -> RawStream: ...

    def random_access(self) -> BinaryIO: ...

    def stamp(self) -> str: ...

    def unchanged(self) -> bool: ...

    def close(self) -> None: ...


class LocalOrigin:
    """A local file (or block device), read with plain reads; changes are noticed by its stamp (FileStamp)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.name = os.fspath(path)
        self.bytes_read = 0
        try:
            self._stat = os.stat(self.name)
        except OSError as exc:
            raise ImageError(f"cannot open image {self.name}: {exc.strerror}; check the path and "
                             "permissions.") from None
        if not (stat.S_ISREG(self._stat.st_mode) or stat.S_ISBLK(self._stat.st_mode)):
            raise ImageError(f"image {self.name} is not a regular file or block device; give the image file's path.")
        self._stamp = FileStamp.of(self._stat)

    @property
    def size(self) -> int | None:
        return self._stat.st_size if stat.S_ISREG(self._stat.st_mode) else None

    @property
    def seekable(self) -> bool:
        return True

    def _open(self) -> BinaryIO:
        try:
            return open(self.name, "rb", buffering=0)
        except OSError as exc:
            raise ImageError(f"cannot open image {self.name}: {exc.strerror}; check the path and "
                             "permissions.") from None

    def head(self, size: int) -> bytes:
        with self._open() as file:
            data = file.read(size)
        self.bytes_read += len(data)
        return data

    def stream(self) -> RawStream:
        return _LocalStream(self, self._open())

    def random_access(self) -> BinaryIO:
        return self._open()

    def stamp(self) -> str:
        return f"file|{self._stamp}"

    def unchanged(self) -> bool:
        try:
            return FileStamp.of_path(self.name) == self._stamp
        except OSError:
            return False

    def close(self) -> None:
        pass


class _LocalStream:
    def __init__(self, origin: LocalOrigin, file: BinaryIO) -> None:
        self.origin, self.file = origin, file

    def read(self, size: int) -> bytes:
        try:
            data = self.file.read(min(size, _READ_RAW))
        except OSError as exc:
            raise ImageError(f"cannot read image {self.origin.name}: {exc.strerror}; check the file and the disk it "
                             "is on.") from None
        self.origin.bytes_read += len(data)
        return data

    def close(self) -> None:
        self.file.close()


class WebOrigin:
    """A file on a web server (web.WebFile): its size, ranges and validators come from the first answer."""

    def __init__(self, url: str) -> None:
        from .web import WebFile  # requests, loaded for URLs only

        self.web = WebFile(url)
        self.name = self.web.name

    @property
    def bytes_read(self) -> int:
        return self.web.bytes_read

    @property
    def size(self) -> int | None:
        return self.web.size

    @property
    def seekable(self) -> bool:
        return self.web.ranges and self.web.size is not None

    def head(self, size: int) -> bytes:
        return self.web.probe().head[:size]  # the first answer's (web.PROBE bytes)

    def stream(self) -> WebStream:
        return self.web.stream()

    def random_access(self) -> BinaryIO:
        return RangeReader(self.web)  # type: ignore[return-value]  # a RawIOBase is a binary file

    def stamp(self) -> str:
        answer = self.web.probe()
        return f"url|{self.name}|{answer.size}|{answer.etag or ''}|{answer.last_modified or ''}"

    def unchanged(self) -> bool:
        return True  # every later request carries the first answer's validators: a changed file fails it (412)

    def close(self) -> None:
        self.web.close()


class RangeReader(io.RawIOBase):
    """A seekable, read-only file object over a web file's range requests (WebFile.pread caches blocks)."""

    def __init__(self, web: WebFile) -> None:
        self.web = web
        self.pos = 0
        self.length = web.size or 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.length}[whence]
        if base + offset < 0:
            raise OSError("negative seek position")
        self.pos = base + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self.web.pread(self.pos, len(buffer))
        buffer[: len(data)] = data
        self.pos += len(data)
        return len(data)


class Published:
    """The published bytes (`origin`), their compression (`none` for none) and the SHA-256 they must have."""

    def __init__(self, origin: Origin, compression: str, sha256: str | None) -> None:
        self.origin, self.compression, self.sha256 = origin, compression, sha256
        self.name = origin.name
        self.passes = 0  # how many times the published bytes were read from the start

    @property
    def compressed(self) -> bool:
        return self.compression != NONE

    def open(self, *, limit: int = PAGE_BLOB_MAX, too_big: Callable[[int], str] | None = None) -> Pass:
        """A new pass over the published bytes, decompressed."""
        self.passes += 1
        return Pass(self, limit, too_big)

    def stamp(self) -> str:
        """Which version of the published bytes these are: their checksum when one was given, else where they are
        and their file's stamp (or the server's validators)."""
        if self.sha256:
            return f"sha256:{self.sha256}"
        return f"{self.compression}|{self.origin.stamp()}"

    def close(self) -> None:
        self.origin.close()


class Pass:
    """One read of the published bytes from the start: `read` gives the decompressed bytes in order (at most READ
    at a time, b"" at the end); `finish` reads the published bytes to their end and checks the SHA-256."""

    def __init__(self, published: Published, limit: int, too_big: Callable[[int], str] | None) -> None:
        self.published = published
        self.raw = published.origin.stream()
        self.hash = hashlib.sha256()
        self.pos = 0  # decompressed bytes returned
        hashed = _Hashing(self.raw, self.hash)
        self._hashed = hashed
        self._reader: _Reader = Decompressed(hashed, published.compression, published.name, limit=limit,
                                             too_big=too_big) if published.compressed else _Limited(
            hashed, published.name, limit, too_big)

    @property
    def consumed(self) -> int:
        """Published (compressed) bytes read so far."""
        return self._hashed.count

    def read(self, size: int = READ) -> bytes:
        data = self._reader.read(size)
        self.pos += len(data)
        return data

    def read_exactly(self, size: int) -> bytes:
        """`size` bytes, or fewer only at the end of the stream."""
        return read_exactly(self.read, size)

    def skip(self, size: int) -> int:
        """Read and drop `size` bytes (fewer at the end); how many were dropped."""
        dropped = 0
        while dropped < size:
            data = self.read(size - dropped)
            if not data:
                break
            dropped += len(data)
        return dropped

    def at_end(self) -> bool:
        """Whether the decompressed stream has no byte left (reads one more, which must not exist)."""
        return not self.read(1)

    def finish(self) -> str:
        """Read what is left of the published bytes (they must hold no more data), then check the SHA-256: the
        hex digest, or ChecksumMismatchError."""
        if not self.at_end():
            raise AssertionError("finish() before the end of the data")
        while self._hashed.read(_READ_RAW):
            pass
        found = self.hash.hexdigest()
        expected = self.published.sha256
        if expected is not None and found != expected:
            raise ChecksumMismatchError(
                f"image {self.published.name} does not have the SHA-256 that was given: expected {expected}, found "
                f"{found} over its {self.consumed} published bytes",
                "check that the URL and the checksum belong to the same release, or download it again",
                expected=expected, found=found)
        return found

    def close(self) -> None:
        self.raw.close()


def read_exactly(read: Callable[[int], bytes], size: int) -> bytes:
    """`size` bytes from calls of `read` (each may return fewer), or fewer only where it returns b"": the end."""
    parts: list[bytes] = []
    got = 0
    while got < size:
        data = read(size - got)
        if not data:
            break
        parts.append(data)
        got += len(data)
    return parts[0] if len(parts) == 1 else b"".join(parts)


class _Reader(Protocol):
    def read(self, size: int = ...) -> bytes: ...


class _Hashing:
    """The published bytes through SHA-256, counted."""

    def __init__(self, raw: RawStream, digest: hashlib._Hash) -> None:
        self.raw, self.digest, self.count = raw, digest, 0

    def read(self, size: int) -> bytes:
        data = self.raw.read(size)
        self.digest.update(data)
        self.count += len(data)
        return data


class _Limited:
    """Uncompressed bytes, as they are, capped at `limit` like a decompressed stream."""

    def __init__(self, raw: _Hashing, name: str, limit: int, too_big: Callable[[int], str] | None) -> None:
        self.raw, self.name, self.limit = raw, name, limit
        self.too_big = too_big or (lambda limit: f"it is longer than {limit} bytes, more than a page blob holds")

    def read(self, size: int = READ) -> bytes:
        data = self.raw.read(min(size, READ))
        if self.raw.count > self.limit:
            raise ImageError(f"image {self.name} is refused: {self.too_big(self.limit)}; check that it is the image "
                             "you meant.")
        return data


def origin_for(location: str) -> Origin:
    return WebOrigin(location) if is_image_url(location) else LocalOrigin(location)


def compression_of(origin: Origin, wanted: str | None) -> str:
    """The compression: `wanted` if given (none included), else what the first bytes say (none if nothing)."""
    return wanted or detect_compression(origin.head(HEAD)) or NONE


__all__ = ["LocalOrigin", "Origin", "Pass", "Published", "WebOrigin", "check_sha256",
           "compression_of", "origin_for"]
