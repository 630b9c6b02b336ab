"""The library's error types; every message is one sentence naming the value and the fix."""


class VhdError(Exception):
    """Base class for every error vhdcore raises on purpose."""


class VhdFormatError(VhdError):
    """Bytes that cannot be decoded as a VHD footer (for example, too short)."""


class SizeError(VhdError, ValueError):
    """A disk size that breaks the size rules."""
