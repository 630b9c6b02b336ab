"""CRC-32C (Castagnoli), which VHDX uses for its headers and region tables. Standard library only:
zlib.crc32 is the other polynomial. Table-driven; the structures it checks are at most 64 KiB."""

from __future__ import annotations

_POLY = 0x82F63B78  # reflected 0x1EDC6F41


def _table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _table()


def crc32c(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    crc ^= 0xFFFFFFFF
    table = _TABLE
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283  # the standard check value
