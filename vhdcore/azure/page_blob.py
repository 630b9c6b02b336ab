"""The one module that talks to Azure Storage: blank fixed VHDs in page blobs.

Every operation checks its inputs before the first request, builds its client per call from a
StorageTarget and closes it afterwards, and chains etag conditions from the blob it read, so a
concurrent writer, or a late duplicate of one of our own retried requests, makes a write fail instead
of clobbering anything. Requests on the happy path: create 2 (Put Blob, Put Page: 512 bytes at any
size), inspect 3 (HEAD, ranged GET, and the page-list GET the SDK adds), grow 5 (HEAD, resize, new
footer, clear old footer, commit size to metadata), set metadata 2 (HEAD, Set Blob Metadata; 1 when it
already matches), delete 2 (HEAD, conditional DELETE; without a unique id 2 more, to read the footer
page). Grow's HEAD finds the old size, and its metadata commit lets the next HEAD alone tell a finished
grow from an interrupted one. On a disk made elsewhere
(no vhdcore metadata) grow, set metadata and delete by unique id read its footer too (2 more requests).

Metadata this tool writes, so that re-running any interrupted operation converges:
  vhdcore_marker     random per create; proves a blob is ours after a lost response, and lets delete remove
                     an interrupted create's footerless blob without the unique id
  vhdcore_unique_id  the footer's unique id (32 hex), so a footerless intermediate state keeps it
  vhdcore_size       the committed disk size; length - 512 larger than it means a grow was interrupted

Known limit: a Put Blob that the service receives only after the client gave up on it (every retry
timed out) can still create an empty blob that carries our marker; `inspect` reports it and `delete`
removes it, no unique id needed.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

from azure.core import MatchConditions
from azure.core.exceptions import AzureError
from azure.storage.blob import BlobClient, BlobProperties

from ..errors import (
    AuthFailedError,
    BlobLeasedError,
    BlobNotFoundError,
    ContainerNotFoundError,
    HeaderRefusedError,
    InputError,
    InternalError,
    InvalidDiskError,
    NotOwnedError,
    RefusedError,
    ShrinkRefusedError,
    SizeError,
    StorageError,
    UnreachableError,
)
from ..format.footer import COOKIE, Footer, fixed_footer
from ..format.report import DiskReport
from ..format.sizes import FOOTER_SIZE, PAGE_BLOB_MAX, KiB, MiB, check_disk_size
from ..format.unique_id import UniqueId
from .clouds import Cloud
from .credentials import ClientOptions, StorageTarget
from .names import (
    MARKER_KEY,
    OWN_PREFIX,
    SIZE_KEY,
    UNIQUE_ID_KEY,
    metadata_value,
    validate_blob_name,
    validate_container_name,
    validate_metadata,
)
from .translate import Stale, leased, translate_error

PAGE = 512
# Azure Stack Hub and Edge document a 4 KiB page size (README, "Azure Stack's 4 KiB pages"). Every write of
# ours starts on a 4 KiB boundary and covers whole 4 KiB pages, except the footer, which ends the blob (a fixed
# VHD is whole MiB + 512 bytes long, so no 4 KiB page can hold it): the rule holds in every cloud, at no cost.
STACK_PAGE = 4 * KiB
MAX_PUT_PAGE = 4 * MiB
_ROUNDS = 3  # re-reads after an etag mismatch; our own lost-response retries need at most two
T = TypeVar("T")


@dataclass(frozen=True)
class BlankVhdBlob:
    url: str
    container: str
    name: str
    size: int
    blob_length: int
    unique_id: UniqueId
    etag: str


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


# --- checks, before any request ------------------------------------------------------------------------


def _check_unique_id(unique_id: object) -> UniqueId | None:
    if unique_id is None or isinstance(unique_id, UniqueId):
        return unique_id
    if isinstance(unique_id, (bytes, bytearray)):
        return UniqueId(bytes(unique_id))
    raise InputError(f"unique id {unique_id!r} is not bytes; pass a UniqueId (UniqueId.parse() reads 32 hex digits).")


def _check_size(size: object) -> int:
    if isinstance(size, bool) or not isinstance(size, int):
        raise SizeError(f"size {size!r} is not a whole number of bytes; pass an int such as 10 * GiB.")
    return check_disk_size(size)


def _cloud_checked(target: StorageTarget, name: str, size: int | None = None) -> Cloud:
    """The target's cloud, after its own limits (Azure Stack: 1 TiB page blobs, 880-character blob names);
    call it after target.validate(). Raises BlobNameError or SizeError naming the cloud and its cap."""
    cloud = target.profile
    validate_blob_name(name, max_length=cloud.max_blob_name, where=cloud.name)
    if size is not None:
        check_disk_size(size, limit=cloud.size_limit)
    return cloud


def _check_page(offset: int, length: int, *, blob_length: int | None = None) -> None:
    """Azure's rules for a page write (Azurite accepts what Azure rejects, so they are enforced here); with
    `blob_length`, also the 4 KiB rule of the disk writes (STACK_PAGE)."""
    whole = not (offset % STACK_PAGE or (length % STACK_PAGE and offset + length != blob_length))
    if (offset % PAGE or length % PAGE or not 0 < length <= MAX_PUT_PAGE or offset + length > PAGE_BLOB_MAX
            or (blob_length is not None and not whole)):
        raise InternalError(f"page write of {length} bytes at {offset} breaks Azure's rules (512-byte aligned, "
                            "at most 4 MiB, inside 8 TiB; ours also whole 4 KiB pages or the footer); this is a bug "
                            "in vhdcore, please report it.")


# --- the operations -----------------------------------------------------------------------------------


def create_blank_vhd(
    target: StorageTarget,
    *,
    container: str,
    name: str,
    size: int,
    metadata: Mapping[str, str] | None = None,
    unique_id: bytes | None = None,
    timestamp: datetime | float | None = None,
    options: ClientOptions | None = None,
) -> BlankVhdBlob:
    """Create `container/name` as a blank fixed VHD: an empty page blob of size + 512 and one footer write.

    Never replaces an existing blob (BlobExistsError). If the footer cannot be written, the new blob is
    deleted again, so no footerless blob is left behind.
    """
    validate_container_name(container)
    validate_blob_name(name)
    size = _check_size(size)
    user_metadata = validate_metadata(metadata)
    footer = fixed_footer(size, timestamp=timestamp, unique_id=unique_id)
    target.validate()
    _cloud_checked(target, name, size)
    marker = secrets.token_hex(16)
    ours = {**user_metadata, MARKER_KEY: marker, UNIQUE_ID_KEY: str(footer.unique_id), SIZE_KEY: str(size)}
    with _session(target, container, name, options) as s:
        etag = _create_disk(s, footer, ours, marker)
    return BlankVhdBlob(s.url, container, name, size, size + FOOTER_SIZE, footer.unique_id, etag)


def inspect_blank_vhd(
    target: StorageTarget, *, container: str, name: str, options: ClientOptions | None = None
) -> BlobInspection | None:
    """Properties plus the decoded last 512 bytes, with every footer and blob problem; None if there is no blob."""
    validate_container_name(container)
    validate_blob_name(name)
    target.validate()
    _cloud_checked(target, name)
    with _session(target, container, name, options) as s:
        return _converge(s, lambda: _inspect_once(s), "reading it")


def grow_blank_vhd(
    target: StorageTarget,
    *,
    container: str,
    name: str,
    size: int,
    unique_id: UniqueId | None = None,
    options: ClientOptions | None = None,
) -> BlankVhdBlob:
    """Grow the disk to `size`, keeping its data and unique id; same size is a no-op, shrinking is refused.

    Order: resize to size + 512, write the new footer, clear the old footer page (now inside the data
    area), then record the size in metadata. Running it again after a failure at any step finishes the job.
    """
    validate_container_name(container)
    validate_blob_name(name)
    size = _check_size(size)
    unique_id = _check_unique_id(unique_id)
    target.validate()
    _cloud_checked(target, name, size)
    when = time.time()
    with _session(target, container, name, options) as s:
        return _converge(s, lambda: _grow_once(s, size, unique_id, when), f"growing it to {size} bytes")


def set_blank_vhd_metadata(
    target: StorageTarget,
    *,
    container: str,
    name: str,
    metadata: Mapping[str, str] | None,
    unique_id: UniqueId | None,
    options: ClientOptions | None = None,
) -> BlankVhdBlob:
    """Replace the disk's user metadata with `metadata` (None or {} clears it), in place.

    This tool's vhdcore_* entries are kept as they are. With `unique_id`, the disk must have it
    (NotOwnedError); without, any valid fixed VHD is accepted, as for grow. Leased blobs are refused
    (BlobLeasedError). Metadata that already matches is not written again.
    """
    validate_container_name(container)
    validate_blob_name(name)
    user_metadata = validate_metadata(metadata)
    unique_id = _check_unique_id(unique_id)
    target.validate()
    _cloud_checked(target, name)
    with _session(target, container, name, options) as s:
        return _converge(s, lambda: _set_metadata_once(s, user_metadata, unique_id), "changing its metadata")


def delete_blank_vhd(
    target: StorageTarget,
    *,
    container: str,
    name: str,
    unique_id: UniqueId | None,
    options: ClientOptions | None = None,
) -> bool:
    """Delete the blob and its snapshots if it is the disk the caller created; True deleted, False already gone.

    With `unique_id`, the blob's unique id (metadata, else footer) must match it. Without, only what an
    interrupted create of this tool leaves is deleted: a blob carrying its marker whose tail is no valid
    footer; a valid disk, which may hold data, needs its unique id (NotOwnedError). Leased blobs are
    refused (BlobLeasedError); leases are never broken.
    """
    validate_container_name(container)
    validate_blob_name(name)
    unique_id = _check_unique_id(unique_id)
    target.validate()
    _cloud_checked(target, name)
    seen: list[bool] = []
    with _session(target, container, name, options) as s:
        return _converge(s, lambda: _delete_once(s, unique_id, seen), "deleting it")


# --- steps ---------------------------------------------------------------------------------------------


def _create_disk(s: _Session, footer: Footer, metadata: dict[str, str], marker: str) -> str:
    """Put Blob, then the footer. On any failure, a blob carrying this attempt's marker is finished or deleted."""
    length = footer.current_size + FOOTER_SIZE
    try:
        etag = s.create(length, metadata)
    except StorageError as exc:
        if isinstance(exc, (ContainerNotFoundError, AuthFailedError, UnreachableError, HeaderRefusedError)):
            # No container means no blob; a HEAD with refused credentials (or API version) would be refused too;
            # and when no attempt reached storage, none can have landed (and a HEAD would not get there either).
            raise
        # Whatever the last answer was (409 to our own retry, 503 or 500 to every retry, no answer at
        # all), an earlier attempt may have landed with its reply lost: look, and finish it if it is ours.
        try:
            props = s.head()
        except StorageError:
            raise exc.amended(_unchecked(s)) from None
        if props is None or _meta(props, MARKER_KEY) != marker:
            raise  # nothing of this attempt's is there; another's blob is left untouched
        if props.size != length:
            raise exc.amended(_discard(s, marker, length)) from None
        etag = str(props.etag)
    try:
        return _write_first_footer(s, footer, etag, marker)
    except Exception as exc:
        # Any failure after our Put Blob landed (our own bugs included) must not leave a footerless blob.
        cleanup = _discard(s, marker, length)
        if isinstance(exc, StorageError):
            raise exc.amended(cleanup) from None
        raise


def _write_first_footer(s: _Session, footer: Footer, etag: str, marker: str) -> str:
    for _ in range(_ROUNDS):
        try:
            return s.put_page(footer.pack(), footer.current_size, etag, "writing the footer of",
                              blob_length=footer.current_size + FOOTER_SIZE)
        except Stale:
            props = s.head()  # a retried write of ours that landed changes the etag too
            if props is None or _meta(props, MARKER_KEY) != marker or props.size != footer.current_size + FOOTER_SIZE:
                raise StorageError(
                    f"blob {s.url} was replaced or deleted by another writer while it was being created, and was "
                    "left as it is", "find out what else writes to that name, then create the disk again"
                ) from None
            etag = str(props.etag)
    raise _kept_changing(s, "creating it")


def _discard(s: _Session, marker: str, length: int) -> str:
    """Delete the blob this create made (and nothing else): best effort, returning how it went for the message.

    It reads the blob first, so a blob that another writer replaced or resized meanwhile is left alone.
    """
    try:
        for _ in range(_ROUNDS):
            props = s.head()
            if props is None or _meta(props, MARKER_KEY) != marker or props.size != length:
                return ""
            try:
                s.delete(str(props.etag))
            except Stale:
                continue  # a late write of ours (a retried footer) changed the etag: look again
            except BlobNotFoundError:
                pass  # our own retried delete landed first
            return ", so the half-created blob was deleted again"
    except Exception:  # cleanup must never replace the error that caused it
        pass
    return f", and removing the footerless blob failed too (delete {s.url} before creating it again)"


def _unchecked(s: _Session) -> str:
    return (f", and whether an earlier attempt left a footerless blob could not be checked (inspect {s.url} and delete "
            "it if it has no valid footer)")


def _inspect_once(s: _Session) -> BlobInspection | None:
    props = s.head()
    if props is None:
        return None
    tail = s.read(props.size - FOOTER_SIZE, FOOTER_SIZE, str(props.etag)) if props.size >= FOOTER_SIZE else b""
    return _inspection(s.url, props, tail, s.target.profile)


def _inspection(url: str, props: BlobProperties, tail: bytes, cloud: Cloud) -> BlobInspection:
    length, blob_type = props.size, _text(props.blob_type)
    problems = []
    if blob_type != "PageBlob":
        problems.append(f"blob type is {blob_type}, not PageBlob; Azure attaches only page blobs as disks.")
    if length % PAGE or length > PAGE_BLOB_MAX:
        problems.append(f"length {length} is not a multiple of 512 within 8 TiB, as a page blob must be.")
    elif length > cloud.page_blob_max:
        problems.append(f"length {length} exceeds {cloud.name}'s page-blob cap of {cloud.page_blob_max} bytes, so it "
                        "cannot be a disk there.")
    recorded = _meta_int(props, SIZE_KEY)
    if recorded is not None and recorded != length - FOOTER_SIZE:
        problems.append(f"metadata records disk size {recorded} but the length says {length - FOOTER_SIZE}: a grow "
                        f"was interrupted; grow the disk to {length - FOOTER_SIZE} bytes or more to finish it.")
    report = DiskReport.from_tail(tail, length, container_problems=tuple(problems), url=url, blob_length=length)
    return BlobInspection(
        report, url, length, blob_type, _text(props.lease.state), str(props.etag), dict(props.metadata or {})
    )


@dataclass(frozen=True)
class _Disk:
    size: int  # committed disk size: the old footer sits at this offset
    unique_id: UniqueId
    adopted: bool  # no vhdcore metadata yet: record it before the first change, for crash recovery


def _grow_once(s: _Session, size: int, expected: UniqueId | None, when: float) -> BlankVhdBlob:
    props = _existing(s, "growing")
    disk = _disk_of(s, props)
    _check_owner(s, disk.unique_id, expected, "grown")
    length = props.size
    pending = length - FOOTER_SIZE if length - FOOTER_SIZE != disk.size else None  # interrupted grow's target
    floor = pending or disk.size
    if size < floor:
        raise ShrinkRefusedError(
            f"disk {s.url} is {floor} bytes{' (counting an unfinished grow)' if pending else ''}, so growing it to "
            f"{size} would shrink it, and a page blob loses its data past a shrink",
            f"ask for a size of at least {floor} bytes, or create a new, smaller disk",
        )
    if size == disk.size and pending is None:
        return BlankVhdBlob(s.url, s.container, s.name, size, length, disk.unique_id, str(props.etag))
    footer = fixed_footer(size, timestamp=when, unique_id=disk.unique_id)
    metadata = {**(props.metadata or {}), SIZE_KEY: str(disk.size), UNIQUE_ID_KEY: str(disk.unique_id)}
    etag = str(props.etag)
    try:
        if disk.adopted:
            etag = s.set_metadata(metadata, etag, "recording the disk size of")
        if length != size + FOOTER_SIZE:
            etag = s.resize(size + FOOTER_SIZE, etag)
        etag = s.put_page(footer.pack(), size, etag, "writing the new footer of", blob_length=size + FOOTER_SIZE)
        for old in sorted({disk.size, pending or disk.size} - {size}):
            etag = _clear_old_footer(s, old, etag, size + FOOTER_SIZE, fresh=pending is None)
        etag = s.set_metadata({**metadata, SIZE_KEY: str(size)}, etag, "recording the disk size of")
    except Stale:
        raise
    except StorageError as exc:
        if etag == props.etag:
            raise  # nothing was changed
        raise exc.amended(", leaving the grow unfinished with the data intact (grow again finishes it)") from None
    return BlankVhdBlob(s.url, s.container, s.name, size, size + FOOTER_SIZE, disk.unique_id, etag)


def _disk_of(s: _Session, props: BlobProperties) -> _Disk:
    size, unique_id = _meta_int(props, SIZE_KEY), _meta(props, UNIQUE_ID_KEY)
    if size and UniqueId.is_text(unique_id) and size + FOOTER_SIZE <= props.size:
        return _Disk(size, UniqueId.parse(unique_id), adopted=False)
    footer = _footer_at(s, props.size - FOOTER_SIZE, str(props.etag)) if props.size > FOOTER_SIZE else None
    if footer is None or footer.azure_problems(props.size) or footer.spec_problems():
        raise InvalidDiskError(
            f"blob {s.url} does not end in a valid fixed VHD footer and has no vhdcore metadata, so it is not a "
            "disk this tool can change", "inspect the blob to see what is wrong with it",
        )
    return _Disk(footer.current_size, footer.unique_id, adopted=True)


def _set_metadata_once(s: _Session, user_metadata: dict[str, str], expected: UniqueId | None) -> BlankVhdBlob:
    props = _existing(s, "changing the metadata of")
    disk = _disk_of(s, props)
    _check_owner(s, disk.unique_id, expected, "changed")
    current = dict(props.metadata or {})
    # This tool's entries are carried over as stored: delete's ownership check needs the marker, and
    # telling an unfinished grow from a finished one needs the recorded size.
    wanted = {**user_metadata, **{k: v for k, v in current.items() if k.lower().startswith(OWN_PREFIX)}}
    etag = str(props.etag)
    if wanted != current:
        etag = s.set_metadata(wanted, etag, "changing the metadata of")
    return BlankVhdBlob(s.url, s.container, s.name, disk.size, props.size, disk.unique_id, etag)


def _clear_old_footer(s: _Session, offset: int, etag: str, blob_length: int, *, fresh: bool) -> str:
    """Clear the footer a disk of `offset` bytes had, with the whole 4 KiB page it starts (STACK_PAGE).

    `fresh`: right after our own resize, whose etag chain proves that page holds the old footer and then the
    zeros the resize added. Otherwise (finishing an interrupted grow) a guest may have written the disk since:
    only a footer of a disk of `offset` bytes is cleared, and the rest of its page is written back as read."""
    if fresh:
        return s.clear_page(offset, etag, blob_length=blob_length)
    page = s.read(offset, STACK_PAGE, etag)
    footer = Footer.unpack(page[:FOOTER_SIZE]) if len(page) == STACK_PAGE else None
    if footer is None or footer.cookie != COOKIE or not footer.checksum_valid or footer.current_size != offset:
        return etag
    if not any(page[FOOTER_SIZE:]):
        return s.clear_page(offset, etag, blob_length=blob_length)
    return s.put_page(bytes(FOOTER_SIZE) + page[FOOTER_SIZE:], offset, etag, "clearing the old footer of",
                      blob_length=blob_length)


def _holds_footer(s: _Session, offset: int, etag: str) -> bool:
    footer = _footer_at(s, offset, etag)
    return footer is not None and footer.cookie == COOKIE and footer.checksum_valid and footer.current_size == offset


def _footer_at(s: _Session, offset: int, etag: str) -> Footer | None:
    raw = s.read(offset, FOOTER_SIZE, etag)
    return Footer.unpack(raw) if len(raw) == FOOTER_SIZE else None


def _delete_once(s: _Session, expected: UniqueId | None, seen: list[bool]) -> bool:
    props = s.head()
    if props is None:
        return bool(seen)  # gone now, but present in an earlier round: our own lost-response delete
    seen.append(True)
    _refuse_leased(s, props, "deleting")
    if expected is None:
        if _meta(props, MARKER_KEY) is None:
            raise NotOwnedError(
                f"blob {s.url} carries no vhdcore marker, so this tool did not create it and did not delete it",
                "give the disk's unique id (from its footer) if you are sure it is the disk you created",
            )
        if not _is_leftover(s, props):
            # The marker only proves this tool made the blob, not that the caller owns the disk now: a
            # Pulumi stack may manage it and a guest may have written data to it.
            raise NotOwnedError(
                f"blob {s.url} is a disk, not the footerless blob an interrupted create leaves, so it was not "
                "deleted without its unique id",
                "give the disk's unique id (inspecting the blob shows it) if you are sure it should go",
            )
    else:
        recorded = _meta(props, UNIQUE_ID_KEY)
        actual = UniqueId.parse(recorded) if UniqueId.is_text(recorded) else None
        if actual is None:
            footer = _footer_at(s, props.size - FOOTER_SIZE, str(props.etag)) if props.size >= FOOTER_SIZE else None
            actual = footer.unique_id if footer is not None and footer.cookie == COOKIE else None
        _check_owner(s, actual, expected, "deleted")
    with suppress(BlobNotFoundError):  # deleted between our read and our delete: the outcome is the same
        s.delete(str(props.etag))
    return True


def _is_leftover(s: _Session, props: BlobProperties) -> bool:
    """What an interrupted create leaves: the length it recorded, and a footer page never written (zeros)."""
    recorded = _meta_int(props, SIZE_KEY)
    if recorded is None or recorded + FOOTER_SIZE != props.size:
        return False  # a length past the recorded size is an unfinished grow, whose data is real
    # Stricter than "no valid footer": a damaged footer still means something wrote to the disk.
    return s.read(recorded, FOOTER_SIZE, str(props.etag)) == bytes(FOOTER_SIZE)


def _existing(s: _Session, verb: str) -> BlobProperties:
    props = s.head()
    if props is None:
        raise BlobNotFoundError(f"blob {s.url} does not exist", "check the container and blob name, or create it first")
    _refuse_leased(s, props, verb)
    if _text(props.blob_type) != "PageBlob":
        raise InvalidDiskError(f"blob {s.url} is a {_text(props.blob_type)}, not a page blob, so it is not a disk",
                               "check the container and blob name")
    return props


def _refuse_leased(s: _Session, props: BlobProperties, verb: str) -> None:
    if _text(props.lease.status) == "locked":
        raise BlobLeasedError(*leased(f"{verb} {s.url}"))


def _check_owner(s: _Session, actual: UniqueId | None, expected: UniqueId | None, done: str) -> None:
    if expected is not None and actual != expected:
        raise NotOwnedError(
            f"blob {s.url} has unique id {actual or 'none'}, not {expected}, so it was not {done}",
            "give the unique id this disk was created with, or check the container and blob name",
        )


def _converge(s: _Session, step: Callable[[], T], doing: str) -> T:
    """Run a read-then-conditional-write step again when the blob changed under it (412 ConditionNotMet).

    Not a transport retry (azure-core does those): a retried write of ours that landed changes the etag,
    and the next round re-reads the blob and carries on from the state it finds.
    """
    for _ in range(_ROUNDS):
        try:
            return step()
        except Stale:
            continue
    raise _kept_changing(s, doing)


def _kept_changing(s: _Session, doing: str) -> RefusedError:
    return RefusedError(f"blob {s.url} kept changing while {doing}", "make sure nothing else writes to it, then retry")


def _meta(props: BlobProperties, key: str) -> str | None:
    return metadata_value(props.metadata, key)


def _meta_int(props: BlobProperties, key: str) -> int | None:
    value = _meta(props, key)
    return int(value) if value is not None and value.isdigit() else None


def _text(value: Any) -> str:
    """The plain string of an SDK str-enum (BlobType.PAGEBLOB -> 'PageBlob')."""
    return str(getattr(value, "value", value))


# --- the session: one BlobClient, every call translated ------------------------------------------------


@contextmanager
def _session(target: StorageTarget, container: str, name: str, options: ClientOptions | None) -> Iterator[_Session]:
    url = f"{target.blob_endpoint}/{container}/{quote(name, safe='/')}"
    with target.service_client(options) as service:
        yield _Session(service.get_blob_client(container, name), target, container, name, url)


@dataclass(frozen=True)
class _Session:
    blob: BlobClient
    target: StorageTarget
    container: str
    name: str
    url: str

    def head(self) -> BlobProperties | None:
        try:
            return self.blob.get_blob_properties()
        except AzureError as exc:
            error = self.translate(exc, f"reading the properties of {self.url}")
        if isinstance(error, BlobNotFoundError):
            return None
        raise error

    def create(self, length: int, metadata: dict[str, str]) -> str:
        return self._etag(f"creating {self.url}", lambda: self.blob.create_page_blob(
            length, metadata=metadata, match_condition=MatchConditions.IfMissing))

    def put_page(self, page: bytes, offset: int, etag: str, doing: str, *, blob_length: int | None = None) -> str:
        _check_page(offset, len(page), blob_length=blob_length)
        return self._etag(f"{doing} {self.url}", lambda: self.blob.upload_page(
            page, offset=offset, length=len(page), validate_content=True, **_if(etag)))

    def clear_page(self, offset: int, etag: str, *, blob_length: int) -> str:
        """Clear the whole 4 KiB page at `offset` (an old footer's: see _clear_old_footer)."""
        _check_page(offset, STACK_PAGE, blob_length=blob_length)
        return self._etag(f"clearing the old footer of {self.url}", lambda: self.blob.clear_page(
            offset=offset, length=STACK_PAGE, **_if(etag)))

    def resize(self, length: int, etag: str) -> str:
        return self._etag(f"resizing {self.url}", lambda: self.blob.resize_blob(length, **_if(etag)))

    def set_metadata(self, metadata: dict[str, str], etag: str, doing: str) -> str:
        return self._etag(f"{doing} {self.url}", lambda: self.blob.set_blob_metadata(metadata, **_if(etag)))

    def read(self, offset: int, length: int, etag: str) -> bytes:
        return bytes(self._call(f"reading {self.url}", lambda: self.blob.download_blob(
            offset=offset, length=length, **_if(etag)).readall()))

    def delete(self, etag: str) -> None:
        self._call(f"deleting {self.url}", lambda: self.blob.delete_blob(delete_snapshots="include", **_if(etag)))

    def _etag(self, doing: str, call: Callable[[], Mapping[str, Any]]) -> str:
        return str(self._call(doing, call)["etag"])

    def _call(self, doing: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except AzureError as exc:
            # `from None`: SDK messages can quote request URLs, and those carry the SAS.
            raise self.translate(exc, doing) from None

    def translate(self, exc: AzureError, doing: str) -> StorageError:
        return translate_error(exc, doing, self.target, container=self.container, url=self.url)


def _if(etag: str) -> dict[str, Any]:
    return {"etag": etag, "match_condition": MatchConditions.IfNotModified}
