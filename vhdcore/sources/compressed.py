"""Compressed images: which compression a file uses (from its magic bytes), and its bytes decompressed as a stream.

xz, gzip and bzip2 are the standard library's lzma, zlib and bz2; zstd is the standard library's
compression.zstd from Python 3.14 on, and its backport (backports.zstd, the same code) before. Concatenated
streams (xz streams, gzip members, bzip2 streams, zstd frames: what pxz, pigz, pbzip2 and pzstd write) are read
one after the other, as the command-line tools read them.

Everything here reads bytes someone else wrote, so every cost is bounded:
- memory: each call returns at most `READ` bytes; the xz dictionary and the zstd window are capped (a stream
  that needs more is refused: MEMORY_LIMIT), gzip's window is 32 KiB and bzip2's block 900 kB by design;
- time: proportional to the compressed bytes read plus the bytes produced, and the bytes produced are capped
  (`limit`: the largest page blob, or the size the container declared), so a decompression bomb ends with a
  one-line refusal at the cap instead of running on;
- every failure of the decoders (corrupt data, a check that does not match, a stream cut short, trailing bytes
  that are not another stream) is one sentence naming the image, the compression and where it happened.
"""

from __future__ import annotations

import bz2
import lzma
import sys
import zlib
from collections.abc import Callable
from types import ModuleType
from typing import Protocol

from ..errors import CorruptImageError, UsageError
from ..format.sizes import MAX_PUT_PAGE

COMPRESSIONS = ("xz", "gzip", "bzip2", "zstd")
NONE = "none"  # --compression none: take the file as it is, even if it starts like a compressed one
ALIASES = {"gz": "gzip", "bz2": "bzip2", "zst": "zstd", "uncompressed": NONE}
READ = MAX_PUT_PAGE  # the most one read returns: one Put Page
MEMORY_LIMIT = 256 << 20  # the most a decoder may allocate: xz -9 needs 65 MiB, zstd --ultra -22 128 MiB
_ZSTD_WINDOW_LOG = 28  # 256 MiB, MEMORY_LIMIT
_IN = 1 << 20  # compressed bytes fed to a decoder at a time
HEAD = 16  # bytes detection looks at

_XZ = b"\xfd7zXZ\x00"
_GZIP = b"\x1f\x8b\x08"  # magic and deflate, the only method gzip defines
_BZIP2_BLOCK, _BZIP2_END = b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90"
_ZSTD = b"\x28\xb5\x2f\xfd"


def _skippable_zstd(head: bytes) -> bool:
    """A zstd skippable frame (pzstd starts its files with one): magic 0x184D2A50 to 0x184D2A5F, little-endian."""
    return len(head) >= 4 and head[1:4] == b"\x2a\x4d\x18" and head[0] & 0xF0 == 0x50


def detect_compression(head: bytes) -> str | None:
    """The compression whose magic `head` (the file's first HEAD bytes) starts with, or None."""
    if head.startswith(_XZ):
        return "xz"
    if head.startswith(_GZIP) and len(head) > 3 and not head[3] & 0xE0:  # FLG's reserved bits are zero
        return "gzip"
    if head[:3] == b"BZh" and len(head) >= 10 and 0x31 <= head[3] <= 0x39 and head[4:10] in (_BZIP2_BLOCK,
                                                                                             _BZIP2_END):
        return "bzip2"
    if head.startswith(_ZSTD) or _skippable_zstd(head):
        return "zstd"
    return None


def check_compression(name: str | None, *, field: str = "--compression") -> str | None:
    """The canonical compression name for `name` (None: detect; "none": take the bytes as they are)."""
    if name is None:
        return None
    canonical = ALIASES.get(name.lower(), name.lower())
    if canonical not in (*COMPRESSIONS, NONE):
        raise UsageError(f"{field} {name!r} is not a compression this tool reads; give one of "
                         f"{', '.join(COMPRESSIONS)}, or none to take the file as it is, or leave it out to detect it "
                         "from the magic bytes.")
    return canonical


class _Decoder(Protocol):
    """What lzma, bz2 and zstd decompressors share (gzip's is adapted to it)."""

    @property
    def eof(self) -> bool: ...

    @property
    def needs_input(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _Gzip:
    """zlib's decompressor for one gzip member, shaped like the others (needs_input, unused input kept)."""

    def __init__(self) -> None:
        self._z = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip only: header, CRC-32 and ISIZE checked

    @property
    def eof(self) -> bool:
        return self._z.eof

    @property
    def needs_input(self) -> bool:
        return not self._z.unconsumed_tail

    @property
    def unused_data(self) -> bytes:
        return self._z.unused_data

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        return self._z.decompress(self._z.unconsumed_tail + data if data else self._z.unconsumed_tail,
                                  max(max_length, 0))


def _zstd_module() -> ModuleType:
    """The zstd module, imported on first use (the other compressions need no package)."""
    if sys.version_info >= (3, 14):  # pragma: no cover - the standard library's own, from 3.14
        from compression import zstd
    else:
        from backports import zstd
    return zstd


def _zstd() -> _Decoder:
    zstd = _zstd_module()
    decoder: _Decoder = zstd.ZstdDecompressor(options={zstd.DecompressionParameter.window_log_max: _ZSTD_WINDOW_LOG})
    return decoder


DECODERS: dict[str, Callable[[], _Decoder]] = {
    "xz": lambda: lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=MEMORY_LIMIT),
    "gzip": _Gzip,
    "bzip2": bz2.BZ2Decompressor,
    "zstd": _zstd,
}
_NAMES = {"xz": "xz", "gzip": "gzip", "bzip2": "bzip2", "zstd": "zstd"}
_ERRORS: tuple[type[BaseException], ...] = (lzma.LZMAError, zlib.error, OSError, EOFError, ValueError, MemoryError)


class RawReader(Protocol):
    """The published bytes, in order: a local file or a web server's answer."""

    def read(self, size: int) -> bytes: ...


class Decompressed:
    """The decompressed bytes of `raw`, read in order; `read` returns at most READ bytes and b"" at the end.

    `limit` caps what it may produce (a bomb is refused when it passes it: `too_big` words the refusal).
    At the end, the compressed bytes must have ended with a complete stream, optionally followed by more
    streams of the same compression, or zero bytes (xz's stream padding, and what some tools append); anything
    else is refused, so the bytes the checksum covers are the bytes that were decompressed.
    """

    def __init__(self, raw: RawReader, compression: str, name: str, *, limit: int,
                 too_big: Callable[[int], str] | None = None) -> None:
        self.raw, self.compression, self.name, self.limit = raw, compression, name, limit
        self.too_big = too_big or (lambda limit: f"it decompresses to more than {limit} bytes, more than a page "
                                                 "blob holds")
        self.produced = 0  # decompressed bytes returned so far
        self.consumed = 0  # compressed bytes read so far
        self._decoder: _Decoder | None = DECODERS[compression]()
        self._errors = (*_ERRORS, _zstd_module().ZstdError) if compression == "zstd" else _ERRORS
        self._pending = b""  # compressed bytes read but not yet given to a decoder
        self._done = False

    def _fill(self) -> bool:
        """Read more compressed bytes into `_pending`; False at the end of the published bytes."""
        data = self.raw.read(_IN)
        self.consumed += len(data)
        self._pending += data
        return bool(data)

    def read(self, size: int = READ) -> bytes:
        size = min(size, READ)
        while not self._done:
            decoder = self._decoder
            if decoder is None:  # between streams: another one, zero padding, or the end
                if not self._pending and not self._fill():
                    self._done = True
                    break
                if not self._next_stream():
                    continue
                decoder = self._decoder
                assert decoder is not None
            if decoder.needs_input and not self._pending and not self._fill():
                raise self._corrupt("it ends in the middle of a compressed stream: the file is truncated")
            data, self._pending = self._pending, b""
            try:
                out = decoder.decompress(data, size)
            except self._errors as exc:
                raise self._corrupt(_reason(exc)) from None
            if decoder.eof:
                self._pending = decoder.unused_data
                self._decoder = None
            if out:
                self.produced += len(out)
                if self.produced > self.limit:
                    raise CorruptImageError(
                        f"image {self.name} is refused: {self.too_big(self.limit)} (a {_NAMES[self.compression]} "
                        f"stream of {self.consumed} bytes read so far); check that it is the image you meant.")
                return out
        return b""

    def _next_stream(self) -> bool:
        """After a stream ends: start the next one, skip zero padding, or refuse what is neither. True when a
        decoder is ready."""
        pending = self._pending.lstrip(b"\0")
        if not pending:  # zeros only, so far: read on (the end decides)
            self._pending = b""
            return False
        while len(pending) < HEAD and self._fill():
            pending = self._pending.lstrip(b"\0")
        if detect_compression(pending[:HEAD]) != self.compression:
            raise self._corrupt("its compressed stream is followed by bytes that are not another stream (trailing "
                                "data)")
        self._pending = pending
        self._decoder = DECODERS[self.compression]()
        return True

    def _corrupt(self, reason: str) -> CorruptImageError:
        return CorruptImageError(
            f"image {self.name} is not a valid {_NAMES[self.compression]} file: {reason} (after {self.consumed} "
            f"compressed bytes, {self.produced} decompressed); download or copy it again from its source.")


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, lzma.LZMAError) and "Memory usage limit" in text:
        return (f"it needs more than {MEMORY_LIMIT >> 20} MiB of memory to decompress (its dictionary), which "
                "this tool does not allow; recompress it with a smaller dictionary (xz -9 needs 65 MiB)")
    if "zstd" in type(exc).__module__ and "too much memory" in text.lower():
        return (f"it needs a window larger than {1 << _ZSTD_WINDOW_LOG >> 20} MiB to decompress, which this tool "
                "does not allow; recompress it without --long=29 or more")
    return f"the decoder says {text.rstrip('.')}"


__all__ = ["COMPRESSIONS", "NONE", "READ", "Decompressed", "check_compression", "detect_compression"]
