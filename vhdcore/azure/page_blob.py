"""Blank fixed VHDs in page blobs: create, inspect, grow, set metadata, repair the footer, delete.

Every operation checks its inputs before the first request, then runs in one session (session.py) and chains
etag conditions from the blob it read, so a concurrent writer, or a late duplicate of one of our own retried
requests, makes a write fail instead of clobbering anything. Each is a `*_once` step run by `converge`: a step
that finds the blob changed under it reads it again and carries on from what it finds, so running any
interrupted operation again finishes it. The metadata it records for that (names.py: the marker, unique id,
size, creation time and owner) lets a re-run rebuild the footer byte for byte and tell a finished grow from an
interrupted one by one HEAD.

Metadata is what a blob claims, not what it is (blobs.py), so what could lose data is decided by the page list
and the content (docs/safety.md): a blob is deleted without its unique id, replaced by a create, or finished by
an owner's create only when its page list shows no page but the footer's (none at all, for a delete or a
replacement); grow reads the footer its metadata points at. Every failure ends in a state the same operation
finishes: a create re-run removes its ownerless leftover (or, with an owner, finishes it), a grow leaves a footer
at the end of the blob while storage answers, and each message says what storage holds. Known limit: a Put Blob
that reaches the service only after the client gave up on it (every retry timed out) can still create an empty
blob that carries our marker; `inspect` reports it, `delete` removes it without a unique id, and the same create
run again does too.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from azure.storage.blob import BlobProperties

from ..errors import (
    AuthFailedError,
    BlobExistsError,
    BlobLeasedError,
    BlobNotFoundError,
    ContainerNotFoundError,
    HeaderRefusedError,
    InputError,
    InvalidDiskError,
    NotOwnedError,
    ShrinkRefusedError,
    SizeError,
    StorageError,
    UnreachableError,
)
from ..format.footer import COOKIE, Footer, fixed_footer
from ..format.report import DiskReport
from ..format.sizes import FOOTER_SIZE, PAGE, PAGE_BLOB_MAX, STACK_PAGE, check_disk_size
from ..format.unique_id import UniqueId
from .accounts import account_notes
from .blobs import (
    NOT_LOOKED_AT,
    BlankVhdBlob,
    BlobInspection,
    footer_at,
    holds_footer,
    is_leftover,
    list_written,
    what_is_there,
    what_to_do,
    written_if_listed,
)
from .clouds import Cloud
from .credentials import ClientOptions, StorageTarget
from .names import (
    CREATED_KEY,
    MARKER_KEY,
    OWN_PREFIX,
    OWNER_KEY,
    SIZE_KEY,
    UNIQUE_ID_KEY,
    owner_tag,
    validate_blob_name,
    validate_container_name,
    validate_metadata,
)
from .session import ROUNDS, Session, cloud_checked, converge, kept_changing, meta, meta_int, sdk_text, session
from .translate import Stale, leased

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
    owner: str | None = None,
    options: ClientOptions | None = None,
) -> BlankVhdBlob:
    """Create `container/name` as a blank fixed VHD: an empty page blob of size + 512 and one footer write.

    Never replaces another blob (BlobExistsError). If the footer cannot be written, the new blob is
    deleted again, so no footerless blob is left behind. Running it again after an interruption finishes
    the job: an ownerless create's footerless leftover is deleted and made again. `owner` (any text naming
    who asks, such as a Pulumi stack and resource) is recorded in metadata; a blob carrying the same owner
    is that caller's earlier attempt, which is finished, or taken over when it is a disk of this size.
    An account that cannot hold page blobs is refused before anything is written
    (UnsuitableAccountError); the result's `warnings` name a premium tier.
    """
    validate_container_name(container)
    validate_blob_name(name)
    size = _check_size(size)
    user_metadata = validate_metadata(metadata)
    footer = fixed_footer(size, timestamp=timestamp, unique_id=unique_id)
    target.validate()
    cloud_checked(target, name, size)
    ours = {**user_metadata, MARKER_KEY: secrets.token_hex(16), UNIQUE_ID_KEY: str(footer.unique_id),
            SIZE_KEY: str(size), CREATED_KEY: str(footer.unix_timestamp)}
    if owner is not None:
        ours[OWNER_KEY] = owner_tag(owner)
    with session(target, container, name, options) as s:
        warnings = account_notes(s, size)  # at most one request per account per run, before the first write
        etag, made = converge(s, lambda: _create_once(s, footer, ours, unique_id is not None), "creating it")
    return BlankVhdBlob(s.url, container, name, size, size + FOOTER_SIZE, made.unique_id, etag, warnings)


def inspect_blank_vhd(
    target: StorageTarget, *, container: str, name: str, options: ClientOptions | None = None
) -> BlobInspection | None:
    """Properties plus the decoded last 512 bytes, with every footer and blob problem; None if there is no blob."""
    validate_container_name(container)
    validate_blob_name(name)
    target.validate()
    cloud_checked(target, name)
    with session(target, container, name, options) as s:
        return converge(s, lambda: _inspect_once(s), "reading it")


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
    cloud_checked(target, name, size)
    when = time.time()
    with session(target, container, name, options) as s:
        return converge(s, lambda: _grow_once(s, size, unique_id, when), f"growing it to {size} bytes")


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
    cloud_checked(target, name)
    with session(target, container, name, options) as s:
        return converge(s, lambda: _set_metadata_once(s, user_metadata, unique_id), "changing its metadata")


def repair_blank_vhd_footer(
    target: StorageTarget,
    *,
    container: str,
    name: str,
    size: int,
    unique_id: UniqueId,
    options: ClientOptions | None = None,
) -> BlankVhdBlob:
    """Rewrite the footer of a disk this tool made, in place, when it was damaged or zeroed out of band.

    The caller says what the disk is (its size and unique id, as a Pulumi state records them); the footer is
    rebuilt from that, with the timestamp the blob's metadata recorded, so data, size and unique id stay.
    Refused, untouched: a blob without this tool's marker (NotOwnedError), one whose metadata names another
    unique id (NotOwnedError), one whose length or recorded size is not that size (InvalidDiskError), a leased
    one (BlobLeasedError). A footer that is already right is read and left alone.
    """
    validate_container_name(container)
    validate_blob_name(name)
    size = _check_size(size)
    checked = _check_unique_id(unique_id)
    if checked is None:
        raise InputError("a footer repair needs the disk's unique id; pass the one it was created with.")
    target.validate()
    when = time.time()
    with session(target, container, name, options) as s:
        return converge(s, lambda: _repair_once(s, size, checked, when), "rewriting its footer")


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
    cloud_checked(target, name)
    seen: list[bool] = []
    with session(target, container, name, options) as s:
        return converge(s, lambda: _delete_once(s, unique_id, seen), "deleting it")


# --- steps ---------------------------------------------------------------------------------------------


def _create_once(s: Session, footer: Footer, metadata: dict[str, str], pinned_id: bool) -> tuple[str, Footer]:
    """Put Blob, then the footer; returns the etag and the footer now at the end of the blob.

    A blob already under the name is looked at (by HEAD, and its page list) before anything else:
    - this attempt's own Put Blob that landed with its reply lost (our marker): go on to the footer;
    - an earlier attempt of the same owner: `_resume` finishes it or takes it over;
    - the leftover of an interrupted ownerless create (a marker, no owner, no page ever written, by the page
      list), when this create has no owner either: deleted (it holds nothing), and the create goes round again;
    - anything else: refused, untouched, saying what it is (by its metadata and its page list).
    """
    length = footer.current_size + FOOTER_SIZE
    marker = metadata[MARKER_KEY]
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
            raise exc.amended(NOT_LOOKED_AT) from None
        if props is None:
            if isinstance(exc, BlobExistsError):
                raise Stale(f"blob {s.url} went away while it was being created", "run it again") from None
            raise  # nothing landed
        if meta(props, MARKER_KEY) != marker:
            owner = metadata.get(OWNER_KEY)
            if owner is not None and meta(props, OWNER_KEY) == owner:
                return _resume(s, props, footer, metadata, pinned_id)
            written = written_if_listed(s, props)
            if (owner is None and meta(props, OWNER_KEY) is None and sdk_text(props.lease.status) != "locked"
                    and is_leftover(props, written)):
                _remove_leftover(s, props)
                raise Stale(f"blob {s.url} was an interrupted create's leftover", "run it again") from None
            if isinstance(exc, BlobExistsError):
                raise exc.amended(f" ({what_is_there(props, written)}{what_to_do(props, written)})") from None
            raise  # another writer's blob; left untouched
        if props.size != length:
            # Our marker at another length: someone resized what this attempt made. Not ours to delete.
            raise exc.amended(", and the blob of that name was resized by another writer, so it was left as it is"
                              ) from None
        etag = str(props.etag)
    return _finish_footer(s, footer, etag, marker), footer


def _finish_footer(s: Session, footer: Footer, etag: str, marker: str) -> str:
    """Write the first footer of a blob carrying `marker`. If that fails, storage decides what is reported: a
    footer that landed anyway is success, a footerless blob is deleted again, and the message says which."""
    try:
        return _write_first_footer(s, footer, etag, marker)
    except Exception as exc:
        # Any failure after our Put Blob landed (our own bugs included) must not leave a footerless blob.
        settled = _settle_create(s, footer, marker)
        if isinstance(settled, _Landed):
            return settled.etag  # the footer write landed; only its reply was lost
        if isinstance(exc, StorageError):
            raise exc.amended(settled) from None
        raise


def _resume(s: Session, props: BlobProperties, footer: Footer, metadata: dict[str, str],
            pinned_id: bool) -> tuple[str, Footer]:
    """An earlier create of the same owner left this blob (its process was killed, or lost its replies, and may
    even still be running). A finished disk of the wanted size is taken over; a footerless one is finished with
    the footer its metadata records, byte for byte what the earlier attempt writes, so two writers agree; a
    footerless one of another size is deleted and made again; one holding any page but the footer's (by its page
    list: the owner tag is metadata, which anyone can copy) or anything else is refused, untouched."""
    _refuse_leased(s, props, "creating")
    size, length, etag = footer.current_size, props.size, str(props.etag)
    recorded = meta_int(props, SIZE_KEY)
    unique_id, created = meta(props, UNIQUE_ID_KEY), meta_int(props, CREATED_KEY)
    written = list_written(s, props)
    if written.data_bytes:
        # The owner tag is metadata, which Copy Blob (or anyone who can write to the container) carries over;
        # only the page list shows what an earlier create of ours can have left: no page but the footer's.
        raise BlobExistsError(
            f"blob {s.url} carries this disk's owner in its metadata but holds {written.data_bytes} bytes of data, "
            "which no create writes, so it was neither finished nor taken over and was left untouched",
            "inspect it; adopt it (adopt_existing) if it is the disk you want, or delete it by its unique id if it "
            "holds nothing you need",
        )
    tail = (s.read(length - FOOTER_SIZE, FOOTER_SIZE, etag) if written.footer_written
            else bytes(FOOTER_SIZE) if length >= FOOTER_SIZE else b"")
    found = Footer.unpack(tail) if len(tail) == FOOTER_SIZE else None
    wanted_id = footer.unique_id if pinned_id else None
    if (found is not None and not found.azure_problems(length) and not found.spec_problems()
            and found.current_size == size and wanted_id in (None, found.unique_id)):
        return _own_metadata(s, props, metadata, etag), found  # finished by the earlier attempt: take it over
    if tail == bytes(FOOTER_SIZE) and recorded is not None and length == recorded + FOOTER_SIZE:
        if recorded == size and UniqueId.is_text(unique_id) and created is not None and (
                wanted_id in (None, UniqueId.parse(unique_id))):
            earlier = fixed_footer(size, timestamp=created, unique_id=UniqueId.parse(unique_id))
            etag = _finish_footer(s, earlier, etag, meta(props, MARKER_KEY) or "")
            return _own_metadata(s, props, metadata, etag), earlier
        _remove_leftover(s, props)  # blank and footerless, but not what is asked for now: make it again
        raise Stale(f"blob {s.url} was an earlier attempt's leftover", "run it again")
    raise BlobExistsError(
        f"blob {s.url} was made by an earlier create of this same disk but is {_described(found, length)}, not a "
        f"{size}-byte disk, so it was left untouched",
        "inspect it; delete it by its unique id if it holds nothing you need, or ask for its size",
    )


def _own_metadata(s: Session, props: BlobProperties, metadata: dict[str, str], etag: str) -> str:
    """Give a taken-over blob the user metadata asked for now, keeping the vhdcore_* entries it carries."""
    current = dict(props.metadata or {})
    user = {k: v for k, v in metadata.items() if not k.lower().startswith(OWN_PREFIX)}
    wanted = {**user, **{k: v for k, v in current.items() if k.lower().startswith(OWN_PREFIX)}}
    return etag if wanted == current else s.set_metadata(wanted, etag, "recording the metadata of")


def _described(found: Footer | None, length: int) -> str:
    if found is None or found.cookie != COOKIE:
        return f"{length} bytes long with no valid footer at its end"
    return f"a disk of {found.current_size} bytes with unique id {found.unique_id}"


def _remove_leftover(s: Session, props: BlobProperties) -> None:
    """Delete an interrupted create's footerless leftover, only as it was read (etag): a blob that changed since,
    a late footer write included, is looked at again instead."""
    with suppress(BlobNotFoundError):
        s.delete(str(props.etag))


def _write_first_footer(s: Session, footer: Footer, etag: str, marker: str) -> str:
    for _ in range(ROUNDS):
        try:
            return s.put_page(footer.pack(), footer.current_size, etag, "writing the footer of",
                              blob_length=footer.current_size + FOOTER_SIZE)
        except Stale:
            props = s.head()  # a retried write of ours, or another attempt's identical footer, changes the etag too
            if props is None or meta(props, MARKER_KEY) != marker or props.size != footer.current_size + FOOTER_SIZE:
                # Another create took the name (a re-run removes the blank leftover of one it takes for
                # interrupted): it wins, this one stops without touching anything.
                raise BlobExistsError(
                    f"blob {s.url} was {'removed' if props is None else 'replaced'} by another writer while this "
                    "create was writing its footer, and was left as it is",
                    "make sure only one create runs for that name, then inspect it or create the disk again",
                ) from None
            etag = str(props.etag)
    raise kept_changing(s, "creating it")


@dataclass(frozen=True)
class _Landed:
    etag: str


def _settle_create(s: Session, footer: Footer, marker: str) -> _Landed | str:
    """After a failed footer write: look at what storage holds and make it whole. The footer there (the write
    landed, its reply was lost): the disk is done. A footerless blob of this attempt: deleted. Returns the
    clause that says which, for the error message, when the disk is not done."""
    length = footer.current_size + FOOTER_SIZE
    try:
        for _ in range(ROUNDS):
            props = s.head()
            if props is None:
                return ", and no blob was left behind"
            if meta(props, MARKER_KEY) != marker or props.size != length:
                return ", and the blob of that name was changed by another writer, so it was left as it is"
            tail = s.read(footer.current_size, FOOTER_SIZE, str(props.etag))
            if tail == footer.pack():
                return _Landed(str(props.etag))
            if tail != bytes(FOOTER_SIZE):
                return ", and the blob's footer page holds other bytes, so it was left as it is"
            try:
                s.delete(str(props.etag))
            except Stale:
                continue  # a late write (ours, or another attempt's footer) changed it: look again
            except BlobNotFoundError:
                pass  # our own retried delete landed first
            except Exception:
                return (f", and removing the footerless blob {s.url} it had made failed too (run the same create "
                        "again: it removes that blob and makes the disk)")
            return ", so the half-created blob was deleted again"
    except Exception:  # cleanup must never replace the error that caused it
        return (", and storage could not be asked whether a footerless blob was left (run the same create again: "
                "it finishes or removes what this attempt left)")
    return ", and the blob kept changing, so it was left as it is"


def _inspect_once(s: Session) -> BlobInspection | None:
    props = s.head()
    if props is None:
        return None
    tail = s.read(props.size - FOOTER_SIZE, FOOTER_SIZE, str(props.etag)) if props.size >= FOOTER_SIZE else b""
    return _inspection(s.url, props, tail, s.target.profile)


def _inspection(url: str, props: BlobProperties, tail: bytes, cloud: Cloud) -> BlobInspection:
    length, blob_type = props.size, sdk_text(props.blob_type)
    problems = []
    if blob_type != "PageBlob":
        problems.append(f"blob type is {blob_type}, not PageBlob; Azure attaches only page blobs as disks.")
    if length % PAGE or length > PAGE_BLOB_MAX:
        problems.append(f"length {length} is not a multiple of 512 within 8 TiB, as a page blob must be.")
    elif length > cloud.page_blob_max:
        problems.append(f"length {length} exceeds {cloud.name}'s page-blob cap of {cloud.page_blob_max} bytes, so it "
                        "cannot be a disk there.")
    recorded = meta_int(props, SIZE_KEY)
    if recorded is not None and recorded != length - FOOTER_SIZE:
        problems.append(f"metadata records disk size {recorded} but the length says {length - FOOTER_SIZE}: a grow "
                        f"was interrupted; grow the disk to {length - FOOTER_SIZE} bytes or more to finish it.")
    report = DiskReport.from_tail(tail, length, container_problems=tuple(problems), url=url, blob_length=length)
    return BlobInspection(
        report, url, length, blob_type, sdk_text(props.lease.state), str(props.etag), dict(props.metadata or {})
    )


@dataclass(frozen=True)
class _Disk:
    size: int  # committed disk size: the old footer sits at this offset
    unique_id: UniqueId
    adopted: bool  # no vhdcore metadata yet: record it before the first change, for crash recovery


def _grow_once(s: Session, size: int, expected: UniqueId | None, when: float) -> BlankVhdBlob:
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
    if not disk.adopted:
        _check_footer(s, props, disk, pending)
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
        raise  # our own write landed unseen, or someone else's: the next round reads the blob and goes on
    except StorageError as exc:
        raise exc.amended(_settle_grow(s, props, disk, when)) from None
    return BlankVhdBlob(s.url, s.container, s.name, size, size + FOOTER_SIZE, disk.unique_id, etag)


def _check_footer(s: Session, props: BlobProperties, disk: _Disk, pending: int | None) -> None:
    """A disk by its metadata is grown only if it is one: a valid footer with its unique id at the size the
    metadata records, or at the end (a grow stopped after its new footer). Metadata can be copied onto any
    blob, and an unfinished upload carries it too: growing either would seal bytes as a disk that no one
    checked."""
    etag = str(props.etag)
    if holds_footer(s, disk.size, etag, disk.unique_id) or (
            pending is not None and holds_footer(s, pending, etag, disk.unique_id)):
        return
    raise InvalidDiskError(
        f"blob {s.url} carries this tool's metadata for a disk of {disk.size} bytes but no valid footer with "
        f"unique id {disk.unique_id} (an unfinished upload or create, or a damaged footer), so it was not grown",
        "inspect it; run an unfinished upload again to finish it, or rewrite a damaged footer first "
        "(repair_blank_vhd_footer)",
    )


def _settle_grow(s: Session, before: BlobProperties, disk: _Disk, when: float) -> str:
    """After a grow step failed, any of its writes may have landed: look at what storage holds, and never leave
    a disk without a footer at its end while storage still answers. A resize that landed without its new footer
    is undone (the pages it added were never part of a disk), or, if the undo fails, finished with the new
    footer. Returns the clause that says what storage holds, for the error message."""
    rerun = "run the grow again to finish it"
    try:
        for _ in range(ROUNDS):
            props = s.head()
            if props is None:
                return ", and the blob is gone now (deleted by someone else)"
            etag, length = str(props.etag), props.size
            valid_at = f", leaving the disk valid at {length - FOOTER_SIZE} bytes with its data intact but the grow "
            if holds_footer(s, length - FOOTER_SIZE, etag, disk.unique_id):
                if etag == before.etag:
                    return ", and storage shows the disk unchanged"
                return f"{valid_at}unfinished; {rerun}"
            if length > disk.size + FOOTER_SIZE and holds_footer(s, disk.size, etag, disk.unique_id):
                try:
                    s.resize(disk.size + FOOTER_SIZE, etag)  # the pages it added were never part of a disk
                    return (f", so the resize was undone and the disk is as it was ({disk.size} bytes, data intact); "
                            f"{rerun}")
                except Stale:
                    continue  # a late write of ours landed meanwhile: look again
                except StorageError:
                    footer = fixed_footer(length - FOOTER_SIZE, timestamp=when, unique_id=disk.unique_id)
                    with suppress(Stale):
                        s.put_page(footer.pack(), footer.current_size, etag, "writing the new footer of",
                                   blob_length=length)
                        return f"{valid_at}unfinished; {rerun}"
                    continue
            return f", leaving the grow unfinished with the data intact but no valid footer at the end; {rerun}"
    except Exception:  # settling must never replace the error that caused it
        return (f", and storage could not be asked how far it got, so the grow may be unfinished with no valid footer "
                f"at the end (the data is intact); {rerun}")
    return f", and the blob kept changing, so the grow may be unfinished; {rerun}"


def _repair_once(s: Session, size: int, unique_id: UniqueId, when: float) -> BlankVhdBlob:
    props = _existing(s, "rewriting the footer of")
    keep = "so its footer was not rewritten"
    if meta(props, MARKER_KEY) is None:
        raise NotOwnedError(
            f"blob {s.url} carries no vhdcore marker, so this tool did not make it and {keep}",
            "restore its footer with the tool that made it, or stop managing it here",
        )
    recorded_id, recorded_size = meta(props, UNIQUE_ID_KEY), meta_int(props, SIZE_KEY)
    if UniqueId.is_text(recorded_id) and UniqueId.parse(recorded_id) != unique_id:
        raise NotOwnedError(f"blob {s.url} is the disk with unique id {recorded_id}, not {unique_id}, {keep}",
                            "check the container and blob name")
    if props.size != size + FOOTER_SIZE or recorded_size not in (None, size):
        found = recorded_size if recorded_size not in (None, size) else props.size - FOOTER_SIZE
        raise InvalidDiskError(
            f"blob {s.url} is a disk of {found} bytes by its {'metadata' if found == recorded_size else 'length'}, "
            f"not {size}, {keep}",
            f"grow it to {max(found, size)} bytes or more to finish an interrupted grow, or replace the disk",
        )
    etag = str(props.etag)
    if not holds_footer(s, size, etag, unique_id):
        footer = fixed_footer(size, timestamp=meta_int(props, CREATED_KEY) or when, unique_id=unique_id)
        etag = s.put_page(footer.pack(), size, etag, "rewriting the footer of", blob_length=size + FOOTER_SIZE)
    return BlankVhdBlob(s.url, s.container, s.name, size, size + FOOTER_SIZE, unique_id, etag)


def _disk_of(s: Session, props: BlobProperties) -> _Disk:
    size, unique_id = meta_int(props, SIZE_KEY), meta(props, UNIQUE_ID_KEY)
    if size and UniqueId.is_text(unique_id) and size + FOOTER_SIZE <= props.size:
        return _Disk(size, UniqueId.parse(unique_id), adopted=False)
    footer = footer_at(s, props.size - FOOTER_SIZE, str(props.etag)) if props.size > FOOTER_SIZE else None
    if footer is None or footer.azure_problems(props.size) or footer.spec_problems():
        raise InvalidDiskError(
            f"blob {s.url} does not end in a valid fixed VHD footer and has no vhdcore metadata, so it is not a "
            "disk this tool can change", "inspect the blob to see what is wrong with it",
        )
    return _Disk(footer.current_size, footer.unique_id, adopted=True)


def _set_metadata_once(s: Session, user_metadata: dict[str, str], expected: UniqueId | None) -> BlankVhdBlob:
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


def _clear_old_footer(s: Session, offset: int, etag: str, blob_length: int, *, fresh: bool) -> str:
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


def _delete_once(s: Session, expected: UniqueId | None, seen: list[bool]) -> bool:
    props = s.head()
    if props is None:
        return bool(seen)  # gone now, but present in an earlier round: our own lost-response delete
    seen.append(True)
    _refuse_leased(s, props, "deleting")
    if expected is None:
        if meta(props, MARKER_KEY) is None:
            raise NotOwnedError(
                f"blob {s.url} carries no vhdcore marker, so this tool did not create it and did not delete it",
                "give the disk's unique id (from its footer) if you are sure it is the disk you created",
            )
        written = list_written(s, props) if sdk_text(props.blob_type) == "PageBlob" else None
        if written is None or not is_leftover(props, written):
            # The marker is metadata: it does not prove this tool made the blob (Copy Blob copies it), nor that
            # the caller owns the disk now (a Pulumi stack may manage it, a guest may have written to it). Only
            # a blob that holds nothing goes without the unique id, which the caller must then give.
            raise NotOwnedError(
                f"blob {s.url} is {what_is_there(props, written)}, not the empty blob an interrupted create or "
                "upload leaves, so it was not deleted without its unique id",
                "give its unique id (`blob inspect` shows it) if you are sure it should go",
            )
    else:
        recorded = meta(props, UNIQUE_ID_KEY)
        actual = UniqueId.parse(recorded) if UniqueId.is_text(recorded) else None
        if actual is None:
            footer = footer_at(s, props.size - FOOTER_SIZE, str(props.etag)) if props.size >= FOOTER_SIZE else None
            actual = footer.unique_id if footer is not None and footer.cookie == COOKIE else None
        _check_owner(s, actual, expected, "deleted")
    with suppress(BlobNotFoundError):  # deleted between our read and our delete: the outcome is the same
        s.delete(str(props.etag))
    return True


def _existing(s: Session, verb: str) -> BlobProperties:
    props = s.head()
    if props is None:
        raise BlobNotFoundError(f"blob {s.url} does not exist", "check the container and blob name, or create it first")
    _refuse_leased(s, props, verb)
    if sdk_text(props.blob_type) != "PageBlob":
        raise InvalidDiskError(f"blob {s.url} is a {sdk_text(props.blob_type)}, not a page blob, so it is not a disk",
                               "check the container and blob name")
    return props


def _refuse_leased(s: Session, props: BlobProperties, verb: str) -> None:
    if sdk_text(props.lease.status) == "locked":
        raise BlobLeasedError(*leased(f"{verb} {s.url}"))


def _check_owner(s: Session, actual: UniqueId | None, expected: UniqueId | None, done: str) -> None:
    if expected is not None and actual != expected:
        raise NotOwnedError(
            f"blob {s.url} has unique id {actual or 'none'}, not {expected}, so it was not {done}",
            "give the unique id this disk was created with, or check the container and blob name",
        )
