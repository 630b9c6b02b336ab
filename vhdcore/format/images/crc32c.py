"""CRC-32C (Castagnoli), which VHDX uses for its headers and region tables. Standard library only:
zlib.crc32 is the other polynomial. Table-driven, a byte at a time, except that a run of zero bytes (most
of a 4 KiB header or a 64 KiB region table) is one linear operator on the register, applied in log steps
(as zlib's crc32_combine does), so a VHDX opens in well under a millisecond of checksums."""

from __future__ import annotations

import re

_POLY = 0x82F63B78  # reflected 0x1EDC6F41
_ZERO_RUN = re.compile(rb"\0{64,}")


def _table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _table()


def _times(matrix: list[int], vector: int) -> int:
    """A 32x32 matrix over GF(2) (one int per column) times a vector."""
    total, column = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[column]
        vector >>= 1
        column += 1
    return total


def _zero_operators() -> list[list[int]]:
    """[k]: what 2**k zero bytes do to the register."""
    one_bit = [_POLY] + [1 << n for n in range(31)]
    operator = one_bit
    for _ in range(3):  # 1 -> 2 -> 4 -> 8 zero bits: one zero byte
        operator = [_times(operator, column) for column in operator]
    operators = [operator]
    for _ in range(40):
        operator = [_times(operator, column) for column in operator]
        operators.append(operator)
    return operators


_ZEROS = _zero_operators()


def _update(crc: int, data: bytes) -> int:
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


def _skip_zeros(crc: int, count: int) -> int:
    k = 0
    while count:
        if count & 1:
            crc = _times(_ZEROS[k], crc)
        count >>= 1
        k += 1
    return crc


def crc32c(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    data = bytes(data)
    crc ^= 0xFFFFFFFF
    done = 0
    for run in _ZERO_RUN.finditer(data):
        crc = _skip_zeros(_update(crc, data[done : run.start()]), run.end() - run.start())
        done = run.end()
    return _update(crc, data[done:]) ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283  # the standard check value
assert crc32c(bytes(100) + b"x" + bytes(200)) == 0x555FB0A4  # zero runs take the fast path
