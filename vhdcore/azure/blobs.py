"""What a blob under a name is: the disk an operation leaves there, what inspecting it shows, and what it claims
and holds, for the decisions that could lose data.

Metadata is what a blob claims, not what it is: Copy Blob copies it, and anyone who can write to the container
can set it. So whether a blob holds data is read from its page list (`Written`), and whether it holds a disk
from its footer (`holds_footer`); the blank-disk operations (page_blob.py) and image uploads (upload.py)
decide by these what they may delete, replace, finish or resume (docs/safety.md), and `what_is_there` says
in words what a refused blob is.
"""

from __future__ import annotations

from dataclasses import dataclass

from azure.storage.blob import BlobProperties

from ..errors import StorageError
from ..format.footer import COOKIE, Footer
from ..format.report import DiskReport
from ..format.sizes import FOOTER_SIZE
from ..format.unique_id import UniqueId
from .names import (
    FINGERPRINT_KEY,
    IMAGE_KEY,
    MARKER_KEY,
    OWN_PREFIX,
    OWNER_KEY,
    SIZE_KEY,
    SOURCE_KEY,
    UNIQUE_ID_KEY,
    metadata_value,
    recorded_text,
)
from .session import Session, meta, meta_int, sdk_text


@dataclass(frozen=True)
class BlankVhdBlob:
    """A fixed VHD in a page blob, as an operation left it: the blank-disk operations return it, and an image
    upload returns it with what the upload did (ImageUpload)."""

    url: str
    container: str
    name: str
    size: int
    blob_length: int
    unique_id: UniqueId
    etag: str
    # What the caller should tell the user (create: the premium tier it is billed at, or that the account's
    # kind could not be checked), one sentence each.
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class BlobInspection:
    report: DiskReport
    url: str
    blob_length: int
    blob_type: str
    lease_state: str
    etag: str
    metadata: dict[str, str]

    @property
    def unique_id(self) -> UniqueId | None:
        footer = self.report.footer
        return footer.unique_id if footer is not None and footer.cookie == COOKIE else None

    @property
    def made_by_vhdcore(self) -> bool:
        """Whether a create or upload of this tool made the blob (it carries the marker every one of them sets)."""
        return metadata_value(self.metadata, MARKER_KEY) is not None

    @property
    def fingerprint(self) -> str | None:
        """The content fingerprint an image upload recorded on the blob (sha256:...); None on a blank disk."""
        return metadata_value(self.metadata, FINGERPRINT_KEY)

    @property
    def user_metadata(self) -> dict[str, str]:
        """The blob's metadata without this tool's own vhdcore_* entries."""
        return {k: v for k, v in self.metadata.items() if not k.lower().startswith(OWN_PREFIX)}

    @property
    def owner(self) -> str | None:
        """The owner a create or upload recorded (owner_tag of who asked, a Pulumi resource's identity), if any.
        Metadata can be copied, so it proves nothing by itself."""
        return metadata_value(self.metadata, OWNER_KEY)

    @property
    def recorded_unique_id(self) -> UniqueId | None:
        """The unique id this tool's metadata records (an unfinished create or upload has no footer yet): what
        `delete_blank_vhd` takes to delete such a blob. Metadata can be copied, so it proves nothing by itself."""
        recorded = metadata_value(self.metadata, UNIQUE_ID_KEY)
        return UniqueId.parse(recorded) if UniqueId.is_text(recorded) else None


# --- what it holds: the page list and the footer ----------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """A blob's written pages, by one Get Page Ranges: what decides whether it holds data. Data is any written
    page but the footer's, the last 512 bytes, which is all a blank create writes."""

    ranges: list[tuple[int, int]]  # merged [start, end)
    length: int

    @property
    def data_bytes(self) -> int:
        end = self.length - FOOTER_SIZE
        return sum(max(0, min(stop, end) - start) for start, stop in self.ranges)

    @property
    def footer_written(self) -> bool:
        return bool(self.ranges) and self.ranges[-1][1] > self.length - FOOTER_SIZE


def list_written(s: Session, props: BlobProperties) -> Written:
    """The page list of the blob `props` describes, as of its etag."""
    return Written(s.page_ranges(str(props.etag), props.size), props.size)


def written_if_listed(s: Session, props: BlobProperties) -> Written | None:
    """The page list for a decision that only a listed, empty page list allows (removing a leftover) and for a
    message; None when storage does not answer (or it is not a page blob), so nothing is removed."""
    if sdk_text(props.blob_type) != "PageBlob":
        return None
    try:
        return list_written(s, props)
    except StorageError:
        return None


def footer_at(s: Session, offset: int, etag: str) -> Footer | None:
    """The 512 bytes at `offset`, decoded (None past the end of the blob)."""
    raw = s.read(offset, FOOTER_SIZE, etag)
    return Footer.unpack(raw) if len(raw) == FOOTER_SIZE else None


def holds_footer(s: Session, offset: int, etag: str, unique_id: UniqueId | None = None) -> bool:
    """Whether a valid footer of a disk of `offset` bytes (with `unique_id`, if given) sits at `offset`."""
    if offset < 0:
        return False
    footer = footer_at(s, offset, etag)
    return (footer is not None and footer.cookie == COOKIE and footer.checksum_valid and footer.current_size == offset
            and unique_id in (None, footer.unique_id))


def is_leftover(props: BlobProperties, written: Written | None) -> bool:
    """What an interrupted create or upload leaves: our marker, the length it recorded, and not one page ever
    written (by the page list: no footer, and no data, which metadata alone cannot vouch for)."""
    recorded = meta_int(props, SIZE_KEY)
    if meta(props, MARKER_KEY) is None or recorded is None or recorded + FOOTER_SIZE != props.size:
        return False  # a length past the recorded size is an unfinished grow, whose data is real
    # Stricter than "no valid footer": a damaged footer still means something wrote to the disk.
    return written is not None and not written.ranges


# --- what it is, in words, for a refusal ------------------------------------------------------------------


def what_is_there(props: BlobProperties, written: Written | None) -> str:
    """What the blob under a name is, for a refusal: by its metadata (what it claims to be, in words that say
    so) and its page list (what it holds); `written` None: not listed."""
    data = f"holding {written.data_bytes} bytes of data" if written is not None else "whose pages could not be listed"
    if sdk_text(props.blob_type) != "PageBlob":
        return f"a {sdk_text(props.blob_type)} this tool did not make"
    if meta(props, MARKER_KEY) is None:
        if written is not None and not written.data_bytes:
            return "a page blob this tool did not make, holding no data"
        return f"a page blob {data} that this tool did not write"
    if meta(props, SOURCE_KEY) is not None:
        image = meta(props, IMAGE_KEY)
        of = f"image {recorded_text(image)}" if image is not None else "a disk image"
        if written is not None and written.footer_written:
            return f"a disk uploaded from {of} by its metadata, {data}"
        return f"an unfinished upload of {of} by its metadata, {data}"
    whose = "another owner's (a Pulumi disk of another resource or stack)" if meta(props, OWNER_KEY) else (
        "an ownerless create's (the command line's)")
    if written is not None and is_leftover(props, written):
        return f"the empty leftover of {whose.split(' (')[0]} interrupted create by its metadata, holding no data"
    if written is not None and not written.data_bytes:
        return f"a disk this tool made by its metadata, as {whose} blob, with no data written"
    return f"a disk this tool made by its metadata, as {whose} blob, {data}"


def what_to_do(props: BlobProperties, written: Written | None) -> str:
    """What the user can do about a blob `what_is_there` describes, when it is not just "choose another name"."""
    if written is not None and is_leftover(props, written):
        return ": `blob delete` without a unique id removes it"
    if meta(props, MARKER_KEY) is not None and meta(props, SOURCE_KEY) is not None and (
            written is None or not written.footer_written):
        return (": if it is your upload, running it again finishes it (what is there is compared with the image "
                "first), else `blob delete` with the unique id `blob inspect` shows removes it")
    return ""


# Added to a Put Blob's failure when the look that follows it failed too.
NOT_LOOKED_AT = (", and whether an earlier attempt left a footerless blob could not be checked (run the same create "
                 "again: it finishes or removes what this tool left)")
