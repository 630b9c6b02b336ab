"""Azure's naming rules for containers, blobs and metadata, and the metadata names blank-vhd keeps.

Pure: no Azure SDK, no request. The provider checks inputs with these at preview, and every storage
operation checks its arguments with them before its first request.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from ..errors import BlobNameError

OWN_PREFIX = "vhdcore_"  # metadata names blank-vhd keeps for itself
MARKER_KEY = "vhdcore_marker"  # random per create: proves a blob is ours after a lost response
UNIQUE_ID_KEY = "vhdcore_unique_id"  # the footer's unique id (32 hex), kept while no footer is there
SIZE_KEY = "vhdcore_size"  # the committed disk size: a longer blob means an interrupted grow
CREATED_KEY = "vhdcore_created"  # the footer's timestamp (Unix seconds): with the unique id and size, the footer
OWNER_KEY = "vhdcore_owner"  # who asked for the disk (owner_tag: a hash of a Pulumi resource's identity), if said
SOURCE_KEY = "vhdcore_source"  # marks an image upload (stamp_tag: its image's stamp, a hint): resuming checks content
IMAGE_KEY = "vhdcore_image"  # an upload's image file name (image_label), only to say in messages what a blob holds
FINGERPRINT_KEY = "vhdcore_fingerprint"  # the uploaded image's content fingerprint (sha256:...), set before the footer
# A managed disk's tags that record which image filled it (what a ManagedDiskImage import reads): the content
# fingerprint of a local image, the published SHA-256 of an image from a URL or a compressed file.
FINGERPRINT_TAG = FINGERPRINT_KEY
SHA256_TAG = "vhdcore_sha256"
# A managed disk's tag of who asked for it (owner_tag of a Pulumi resource's identity), as OWNER_KEY on a blob: what
# lets a ManagedDiskImage remove the unfinished disk its own create made (docs/managed-disks.md).
OWNER_TAG = OWNER_KEY
MAX_METADATA = 8 * 1024
MAX_USER_METADATA = MAX_METADATA - 512  # room for blank-vhd's own entries (an upload's take about 400 bytes)
MAX_IMAGE_LABEL = 100
MAX_BLOB_NAME = 1024

_CONTAINER = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")
_METADATA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def validate_container_name(name: object) -> str:
    """Azure's container naming rules (3-63 lowercase letters, digits, single inner hyphens) or `$root`."""
    if isinstance(name, str) and (name == "$root" or _CONTAINER.fullmatch(name)):
        return name
    rule = (
        "must be 3 to 63 characters" if not isinstance(name, str) or not 3 <= len(name) <= 63
        else "must start and end with a letter or digit" if name[0] == "-" or name[-1] == "-"
        else "must not contain two hyphens in a row" if "--" in name
        else "may contain only lowercase letters, digits and hyphens"
    )
    raise BlobNameError(f"container name {_shown(name)} {rule}, as Azure requires; rename it, for example to 'vhds'.")


def validate_blob_name(name: object, *, max_length: int = MAX_BLOB_NAME, where: str = "Azure") -> str:
    """Azure's blob naming rules, plus refusals for names that URLs or tools would silently change.
    `max_length` and `where` are the cloud's (Azure Stack allows 880 characters)."""
    rule = None
    if not isinstance(name, str) or not 1 <= len(name) <= max_length:
        rule = f"must be 1 to {max_length} characters"
    elif not _encodable(name):
        rule = "must be valid text (it holds a byte that is not UTF-8)"
    elif _CONTROL.search(name):
        rule = "must not contain control characters"
    elif name.endswith((".", "/")):
        rule = "must not end with a dot or a slash"
    elif name.startswith("/") or "//" in name or any(s in (".", "..") for s in name.split("/")):
        rule = "must not have empty, '.' or '..' path segments"
    elif name.count("/") >= 254:
        rule = "must have fewer than 255 path segments"
    if rule:
        raise BlobNameError(f"blob name {_shown(name)} {rule}, as {where} requires; choose a name like "
                            "'disks/data-01.vhd'.")
    assert isinstance(name, str)
    return name


def validate_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """User metadata as Azure accepts it (names are C# identifiers; values printable ASCII); vhdcore_* is ours."""
    checked: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not _METADATA_NAME.fullmatch(key):
            raise BlobNameError(f"metadata name {_shown(key)} is not a C# identifier, as Azure requires; use "
                                "letters, digits, _.")
        if key.lower().startswith(OWN_PREFIX):
            raise BlobNameError(f"metadata name {key!r} starts with {OWN_PREFIX!r}, which this tool reserves for "
                                "its own entries; rename it.")
        if (same := next((k for k in checked if k.lower() == key.lower()), None)) is not None:
            raise BlobNameError(f"metadata name {key!r} repeats {same!r} (Azure ignores case in metadata names); "
                                "keep only one of them.")
        if not isinstance(value, str) or not value.isascii() or not value.isprintable() or value != value.strip():
            raise BlobNameError(f"metadata {key!r} value {_shown(value)} must be printable ASCII without surrounding "
                                "spaces.")
        checked[key] = value
    if sum(len(k) + len(v) for k, v in checked.items()) > MAX_USER_METADATA:
        raise BlobNameError(f"metadata totals more than {MAX_USER_METADATA} bytes; Azure allows 8 KiB, shorten it.")
    return checked


def owner_tag(owner: str) -> str:
    """The metadata value recording `owner` (any text, e.g. a Pulumi stack and resource name): 32 hex digits."""
    return hashlib.sha256(owner.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def stamp_tag(stamp: str) -> str:
    """The metadata value recording an image's stamp (ReadableImage.stamp): 32 hex digits, whatever the stamp
    holds (a path's inode and times, a URL, a checksum), so it fits the metadata and shows none of it."""
    return hashlib.sha256(stamp.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def image_label(path: str) -> str:
    """An image file's name as IMAGE_KEY records it: printable ASCII (anything else escaped), at most
    MAX_IMAGE_LABEL characters, its start cut when longer (the extension stays)."""
    name = _printable(path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]).strip() or "image"
    return name if len(name) <= MAX_IMAGE_LABEL else "..." + name[3 - MAX_IMAGE_LABEL :]


def recorded_text(value: str | None) -> str:
    """A metadata value for a message, quoted: anyone who can write to the container may have chosen it, so
    anything but printable ASCII is escaped and it is cut to MAX_IMAGE_LABEL characters."""
    text = _printable(value or "")
    return f"'{text if len(text) <= MAX_IMAGE_LABEL else text[: MAX_IMAGE_LABEL - 3] + '...'}'"


def metadata_value(metadata: Mapping[str, str] | None, key: str) -> str | None:
    """The value of metadata `key`; Azure ignores case in metadata names and the SDK returns them as stored."""
    return next((v for k, v in (metadata or {}).items() if k.lower() == key), None)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: how Python keeps a command-line byte that is not UTF-8
        return False
    return True


def _printable(text: str) -> str:
    return "".join(c if " " <= c <= "~" else ascii(c)[1:-1] for c in text)


def _shown(value: object) -> str:
    """A value for a message, printable even when it cannot be encoded."""
    return ascii(value) if isinstance(value, str) and not _encodable(value) else repr(value)
