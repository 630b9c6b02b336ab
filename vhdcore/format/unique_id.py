"""The footer's unique id: 16 bytes inside the library, 32 hex digits only at its edges."""

from __future__ import annotations

import re
import uuid

from ..errors import InputError

_HEX = re.compile(r"[0-9a-fA-F]{32}")


class UniqueId(bytes):
    """The 16 unique-id bytes of a VHD footer, in on-disk order.

    A bytes subclass, so it packs into the footer as it is; `str()` and `hex()` give the 32 lowercase
    hex digits that the command line prints and the Pulumi resource outputs.
    """

    def __new__(cls, raw: bytes) -> UniqueId:
        if isinstance(raw, str) or len(raw) != 16:
            shown = raw if isinstance(raw, str) else bytes(raw).hex()
            raise InputError(f"unique id {shown!r} is not 16 bytes; give exactly 16 bytes (32 hex digits).")
        return super().__new__(cls, raw)

    @classmethod
    def parse(cls, text: object, *, field: str = "unique id") -> UniqueId:
        """From exactly 32 hex digits, as blank-vhd prints them; the one parser for every edge.

        Strict on purpose: bytes.fromhex would also take spaces, and an id that only looks right is the
        check that guards grow and delete.
        """
        if not isinstance(text, str) or not _HEX.fullmatch(text):
            raise InputError(f"{field} {text!r} must be 32 hex digits (the 16 footer bytes in on-disk order, as "
                             "create prints them); copy it again.")
        return cls(bytes.fromhex(text))

    @classmethod
    def random(cls) -> UniqueId:
        return cls(uuid.uuid4().bytes)

    @staticmethod
    def is_text(text: object) -> bool:
        """Whether `text` is a unique id as blank-vhd prints it: exactly 32 hex digits, nothing around them."""
        return isinstance(text, str) and _HEX.fullmatch(text) is not None

    def __str__(self) -> str:
        return self.hex()

    def __repr__(self) -> str:
        return f"UniqueId({self.hex()!r})"
