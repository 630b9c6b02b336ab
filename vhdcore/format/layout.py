"""On-disk structures declared once: a frozen dataclass whose field order and struct formats are the layout.

    @dataclass(frozen=True)
    class Header(Layout, byte_order="<"):
        magic: bytes = at("4s")
        size: int = at("Q")
        disk_id: UniqueId = at("16s", UniqueId)  # decoded into the library's type

    Header.unpack(raw)          # decode from the first Header.struct_size() bytes of raw
    header.pack()               # encode, refusing a value that does not fit its field
    Header.struct_size()        # bytes on disk
    Header.offset_of("size")    # where a field starts (for messages that name it)

The VHD footer (footer.py) and the image formats' headers and tables (images/) are declared this way. Pure:
no I/O.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import field, fields
from typing import Any, ClassVar, TypeVar

from ..errors import InputError

L = TypeVar("L", bound="Layout")


def at(fmt: str, decode: Callable[[Any], Any] | None = None) -> Any:
    """A field with its struct format, and what its decoded value is made into when that is not the struct's own
    type (bytes into a UniqueId, say); Any so that the dataclass annotation stays the value's type."""
    return field(metadata={"fmt": fmt, "decode": decode})


class Layout:
    """Base of layout dataclasses; the byte order is given once per class (`byte_order="<"` or `">"`), and the
    name its messages call it by (`name="footer"`)."""

    BYTE_ORDER: ClassVar[str] = "<"
    NAME: ClassVar[str] = "structure"

    def __init_subclass__(cls, *, byte_order: str | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if byte_order is not None:
            cls.BYTE_ORDER = byte_order
        if name is not None:
            cls.NAME = name

    @classmethod
    def struct_size(cls) -> int:
        return _compiled(cls).struct.size

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
        compiled = _compiled(cls)
        values = compiled.struct.unpack_from(raw, offset)
        if compiled.decoders:
            values = tuple(decode(value) if decode else value for decode, value in zip(compiled.decoders, values,
                                                                                          strict=True))
        return cls(*values)

    def pack(self) -> bytes:
        """Encode; a value that does not fit its field is refused (InputError), where struct would pad or cut
        bytes silently (b"conectixX" would pass as b"conectix")."""
        compiled = _compiled(type(self))
        for name, width in compiled.widths:
            value = getattr(self, name)
            if isinstance(value, (bytes, bytearray)) and len(value) != width:
                raise InputError(f"{self.NAME} field {name} is {len(value)} bytes, not {width}; pass exactly {width} "
                                 "bytes.")
        try:
            return compiled.struct.pack(*(getattr(self, name) for name in compiled.names))
        except struct.error as exc:
            raise InputError(f"{self.NAME} field out of range: {exc}; check the values passed to "
                             f"{type(self).__name__}.") from exc


class _Compiled:
    """A layout class's struct, field names, byte-string widths and decoders, worked out once per class."""

    def __init__(self, cls: type[Layout]) -> None:
        declared = fields(cls)  # type: ignore[arg-type]
        self.struct = struct.Struct(cls.BYTE_ORDER + "".join(f.metadata["fmt"] for f in declared))
        self.names = [f.name for f in declared]
        self.widths = [(f.name, int(f.metadata["fmt"][:-1] or 1)) for f in declared if f.metadata["fmt"].endswith("s")]
        decoders = [f.metadata.get("decode") for f in declared]
        self.decoders = decoders if any(decoders) else []


_COMPILED: dict[type[Layout], _Compiled] = {}


def _compiled(cls: type[Layout]) -> _Compiled:
    found = _COMPILED.get(cls)
    if found is None:
        found = _COMPILED[cls] = _Compiled(cls)
    return found
