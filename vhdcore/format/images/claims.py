"""Which bytes of the image file each structure of an image claims, so that a parser trusts no table entry it
has not checked: before anything is read at an offset a table gives, or an extent is made of it, the range must
lie inside the file and overlap no header, no table and no range another entry already maps.

One bit per `unit` bytes of the file (the format's cluster, grain or block alignment), in an anonymous
memory map: the kernel backs only the pages a claim touches, so memory follows the file's size and what its
tables point at, never the virtual disk's size. Tables and headers are named as they are claimed, so that an
entry pointing into one says which.
"""

from __future__ import annotations

import functools
import mmap
from collections.abc import Callable, Sequence
from itertools import compress, repeat
from operator import and_, gt, lt

from ...errors import CorruptImageError
from .source import ImageFile

FIX = "copy it again from its source (qemu-img check may say more)"


def corrupt(path: str, fmt: str, what: str, problem: str, fix: str = FIX) -> CorruptImageError:
    """The one sentence for a corrupt image: `what` names the field and where it is in the file."""
    return CorruptImageError(f"image {path} is a corrupt {fmt}: {what} {problem}; {fix}.")


def by_guest(where: Callable[[int], str], guests: Sequence[int], k: int) -> str:
    """The entry of a batch's k-th claim, named by the guest offset it maps: for Claims.spans' `describe`."""
    return where(guests[k])


def _table_name(name: str, number: int, offset: int, length: int) -> str:
    return f"its {name} {number} at byte {offset} ({length} bytes)"


class Claims:
    """The file's bytes spoken for so far, by tables (named) and by mapped data."""

    def __init__(self, image: ImageFile, fmt: str, unit: int) -> None:
        self.path, self.size, self.fmt, self.unit = image.path, image.size, fmt, unit
        units = -(-self.size // unit)
        self._bits = mmap.mmap(-1, max(1, -(-units // 8)), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        # The tables, in the order claimed, for naming the one an entry points into: (offsets, length, name,
        # numbers) per call, the caller's arrays as they are (a million tables are not copied).
        self._tables: list[tuple[Sequence[int], int, str, Sequence[int]]] = []

    def table(self, offset: int, length: int, name: str, number: int = -1) -> None:
        """Claim a header or table of `length` bytes at `offset`; `name` (with `number`) is what it is."""
        what = f"its {name}{'' if number < 0 else f' {number}'} at byte {offset} ({length} bytes)"
        self._check(offset, length, length, lambda: what)
        self._tables.append(([offset], length, name, [number]))

    def tables(self, offsets: Sequence[int], length: int, name: str, numbers: Sequence[int]) -> None:
        """Claim many tables of `length` bytes (a qcow2's L2 tables, a VMDK's grain tables), `name` with numbers.
        The sequences are kept as they are (for messages): the caller does not change them afterwards."""
        if not offsets:
            return
        self._tables.append((offsets, length, name, numbers))  # recorded first, so that one overlapping an earlier
        bits, size, unit = self._bits, self.size, self.unit  # one can name it
        for offset, number in zip(offsets, numbers, strict=True):
            if length == unit and offset + unit <= size and offset >= 0 and not offset % unit:
                bit = offset // unit  # one whole unit, the usual case: no range arithmetic
                byte, flag = bits[bit >> 3], 1 << (bit & 7)
                if not byte & flag:
                    bits[bit >> 3] = byte | flag
                    continue
            self._check(offset, length, length, functools.partial(_table_name, name, number, offset, length))

    def data(self, offset: int, length: int, needed: int, what: str, *args: object) -> None:
        """Claim `length` bytes at `offset` that an entry maps (`what`, formatted with `args` only if it must be
        told, names the entry and where it is); the first `needed` of them (the part inside the disk) must lie
        inside the file."""
        self._check(offset, length, needed, lambda: what.format(*args))

    def spans(self, offsets: Sequence[int], length: int, needed_last: int, describe: Callable[[int], str]) -> None:
        """Claim `length` bytes at each of `offsets`, as entries map clusters, grains or blocks: each must lie
        inside the file (the last one only its first `needed_last` bytes, the part inside the disk) and overlap
        nothing claimed. `describe(k)` names the entry of offsets[k], only if it must be told."""
        bits, size, unit = self._bits, self.size, self.unit
        last = len(offsets) - 1
        whole_units = length == unit
        for k, offset in enumerate(offsets):
            if whole_units and offset + unit <= size and offset >= 0 and not offset % unit:
                bit = offset // unit
                byte, flag = bits[bit >> 3], 1 << (bit & 7)
                if not byte & flag:
                    bits[bit >> 3] = byte | flag
                    continue
            # Another length, or refused, unless it is the disk's last and the file holds the part inside the disk.
            self._check(offset, length, needed_last if k == last else length, functools.partial(describe, k))

    def _check(self, offset: int, length: int, needed: int, name: Callable[[], str]) -> None:
        """Refuse the claim if it leaves the file or overlaps one before it, else take it. `name()` says what
        claims it (called only on the way to an error)."""
        if offset < 0 or offset + needed > self.size:
            raise CorruptImageError(f"image {self.path} is truncated or corrupt ({self.fmt}): {name()} points at bytes "
                                    f"{offset}..{offset + needed}, past the end of the {self.size}-byte file; {FIX}.")
        if length <= 0:
            return
        first, stop = offset // self.unit, -(-min(offset + length, self.size) // self.unit)
        if first >= stop:  # nothing of it inside the file, and none of it needed
            return
        if self._taken(first, stop):
            owner = self._owner(offset, offset + length)
            problem = (f"points at bytes {offset}..{offset + length}, inside {owner}" if owner else
                       f"points at bytes {offset}..{offset + length}, which another entry already maps (two parts of "
                       "the disk cannot be stored in the same place)")
            raise corrupt(self.path, self.fmt, name(), problem)
        self._take(first, stop)

    def _owner(self, start: int, end: int) -> str | None:
        for offsets, length, name, numbers in self._tables:  # only on the way to an error
            i = next(compress(range(len(offsets)), map(and_, map(lt, offsets, repeat(end)),
                                                       map(gt, offsets, repeat(start - length)))), None)
            if i is not None:
                number = numbers[i]
                return f"its {name}{'' if number < 0 else f' {number}'} (bytes {offsets[i]}..{offsets[i] + length})"
        return None

    def _taken(self, first: int, stop: int) -> bool:
        bits = self._bits
        lo, hi = first >> 3, (stop - 1) >> 3
        low_mask = (0xFF << (first & 7)) & 0xFF
        high_mask = (1 << (((stop - 1) & 7) + 1)) - 1
        if lo == hi:
            return bool(bits[lo] & low_mask & high_mask)
        if bits[lo] & low_mask or bits[hi] & high_mask:
            return True
        middle = bits[lo + 1 : hi]
        return middle.count(0) != len(middle)

    def _take(self, first: int, stop: int) -> None:
        bits = self._bits
        lo, hi = first >> 3, (stop - 1) >> 3
        low_mask = (0xFF << (first & 7)) & 0xFF
        high_mask = (1 << (((stop - 1) & 7) + 1)) - 1
        if lo == hi:
            bits[lo] |= low_mask & high_mask
            return
        bits[lo] |= low_mask
        bits[hi] |= high_mask
        if hi > lo + 1:
            bits[lo + 1 : hi] = b"\xff" * (hi - lo - 1)

    def close(self) -> None:
        self._bits.close()
