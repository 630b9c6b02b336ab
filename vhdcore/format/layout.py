"""On-disk structures declared once: a frozen dataclass whose field order and struct formats are the layout.

    @dataclass(frozen=True)
    class Header(Layout, byte_order="<"):
        magic: bytes = at("4s")
        size: int = at("Q")

    Header.unpack(raw)          # decode from the first Header.struct_size() bytes of raw
    Header.struct_size()        # bytes on disk
    Header.offset_of("size")    # where a field starts (for messages that name it)

The same idea as the VHD footer (footer.py), shared by the image formats (images/). Pure: no I/O.
"""

from __future__ import annotations

import struct
from dataclasses import field, fields
from typing import Any, ClassVar, TypeVar

L = TypeVar("L", bound="Layout")


def at(fmt: str) -> Any:
    """A field with its struct format; Any so that the dataclass annotation stays the value's type."""
    return field(metadata={"fmt": fmt})


class Layout:
    """Base of layout dataclasses; the byte order is given once per class (`byte_order="<"` or `">"`)."""

    BYTE_ORDER: ClassVar[str] = "<"

    def __init_subclass__(cls, *, byte_order: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if byte_order is not None:
            cls.BYTE_ORDER = byte_order

    @classmethod
    def struct_size(cls) -> int:
        return _struct(cls).size

    @classmethod
    def offset_of(cls, name: str) -> int:
        """The byte offset of field `name` inside the structure."""
        layout = cls.BYTE_ORDER
        for f in fields(cls):  # type: ignore[arg-type]
            if f.name == name:
                return struct.calcsize(layout)
            layout += f.metadata["fmt"]
        raise KeyError(name)

    @classmethod
    def unpack(cls: type[L], raw: bytes | bytearray | memoryview, offset: int = 0) -> L:
        """Decode the structure at `offset`; raises struct.error when `raw` is too short."""
        return cls(*_struct(cls).unpack_from(raw, offset))


_STRUCTS: dict[type[Layout], struct.Struct] = {}


def _struct(cls: type[Layout]) -> struct.Struct:
    found = _STRUCTS.get(cls)
    if found is None:
        layout = cls.BYTE_ORDER + "".join(f.metadata["fmt"] for f in fields(cls))  # type: ignore[arg-type]
        found = _STRUCTS[cls] = struct.Struct(layout)
    return found
