"""One blob's requests: the session every Azure Storage operation on a blob runs in, and the rules they share.

`session()` opens a `Session` on one blob, with a client for this call (clients.py: built from a StorageTarget and
closed after it, or the one a long-lived caller keeps open). The session has one method per request the blob
operations make, so that they never touch the SDK client themselves; each method turns an SDK failure into
vhdcore's error for it (translate.py), with no secret in it. Every write is conditional: a create on no blob being
there, the others on the etag or the sequence number the caller read, so a concurrent writer, or a late duplicate
of one of our own retried requests, makes it fail instead of clobbering anything (translate.Stale is the etag's
failure); and every page write is checked against Azure's page rules before it is sent. One write has no
condition: `put_unnumbered_page`, the data writes into a blob that is not ours to number (a managed disk's upload
target, SAS mode: no sequence number may be set on Azure's blob), whose content is compared with the image before
them and whose footer after them is If-Match again.

Beside the session: `converge`, which runs a read-then-conditional-write step again when the blob changed
under it; the readers of what a blob's properties record (`meta`, `meta_int`, `sdk_text`); and
`cloud_checked`, the target cloud's own limits, checked before the first request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from azure.core import MatchConditions
from azure.core.exceptions import AzureError
from azure.storage.blob import BlobClient, BlobProperties

from ..errors import BlobNotFoundError, InternalError, RefusedError, StorageError
from ..format.sizes import MAX_PUT_PAGE, PAGE, PAGE_BLOB_MAX, STACK_PAGE, check_disk_size
from .clients import open_client
from .clouds import Cloud
from .credentials import ClientOptions, StorageTarget
from .names import metadata_value, validate_blob_name
from .translate import Stale, translate_error

ROUNDS = 3  # re-reads after an etag mismatch; our own lost-response retries need at most two
T = TypeVar("T")


@contextmanager
def session(target: StorageTarget, container: str, name: str, options: ClientOptions | None) -> Iterator[Session]:
    """A session on blob `container/name` of `target`, on the client clients.open_client gives."""
    url = f"{target.blob_endpoint}/{container}/{quote(name, safe='/')}"
    with open_client(target, options) as service:
        yield Session(service.get_blob_client(container, name), target, container, name, url)


@dataclass(frozen=True)
class Session:
    """One blob and the client that reaches it; `url` is how messages name the blob."""

    _client: BlobClient
    target: StorageTarget
    container: str
    name: str
    url: str

    def head(self) -> BlobProperties | None:
        """Get Blob Properties; None when there is no blob."""
        try:
            return self._client.get_blob_properties()
        except AzureError as exc:
            error = self._translate(exc, f"reading the properties of {self.url}")
        if isinstance(error, BlobNotFoundError):
            return None
        raise error

    def create(self, length: int, metadata: dict[str, str], *, sequence: int | None = None) -> str:
        """Put Blob: a page blob of `length` bytes, only if no blob has the name (If-None-Match *); with
        `sequence`, the sequence number the later writes are made conditional on. Returns its etag."""
        return self._etag(f"creating {self.url}", lambda: self._client.create_page_blob(
            length, metadata=metadata, sequence_number=sequence, match_condition=MatchConditions.IfMissing))

    def put_page(self, page: bytes, offset: int, etag: str, doing: str, *, blob_length: int | None = None) -> str:
        """Put Page (MD5-checked) if the blob is still at `etag`; with `blob_length`, also held to the 4 KiB rule."""
        _check_page(offset, len(page), blob_length=blob_length)
        return self._etag(f"{doing} {self.url}", lambda: self._client.upload_page(
            page, offset=offset, length=len(page), validate_content=True, **_if(etag)))

    def put_page_in_sequence(self, page: bytes, offset: int, sequence: int, *, blob_length: int) -> None:
        """Put Page (MD5-checked) if the blob's sequence number is still `sequence`: the data writes of an
        upload, many at once, none of which can chain an etag. A failed condition is the StorageError whose
        code is SequenceNumberConditionNotMet."""
        _check_page(offset, len(page), blob_length=blob_length)
        self._call(f"writing {len(page)} bytes at offset {offset} of {self.url}", lambda: self._client.upload_page(
            page, offset=offset, length=len(page), validate_content=True, if_sequence_number_eq=sequence))

    def put_unnumbered_page(self, page: bytes, offset: int, *, blob_length: int) -> None:
        """Put Page (MD5-checked) with no condition: the data writes of an upload into a blob that is not ours to
        number (SAS mode); held to the page rules like every page write."""
        _check_page(offset, len(page), blob_length=blob_length)
        self._call(f"writing {len(page)} bytes at offset {offset} of {self.url}", lambda: self._client.upload_page(
            page, offset=offset, length=len(page), validate_content=True))

    def clear_page(self, offset: int, etag: str, *, blob_length: int) -> str:
        """Clear Page of the whole 4 KiB page at `offset` (an old footer's), if the blob is still at `etag`."""
        _check_page(offset, STACK_PAGE, blob_length=blob_length)
        return self._etag(f"clearing the old footer of {self.url}", lambda: self._client.clear_page(
            offset=offset, length=STACK_PAGE, **_if(etag)))

    def resize(self, length: int, etag: str) -> str:
        return self._etag(f"resizing {self.url}", lambda: self._client.resize_blob(length, **_if(etag)))

    def set_metadata(self, metadata: dict[str, str], etag: str, doing: str) -> str:
        return self._etag(f"{doing} {self.url}", lambda: self._client.set_blob_metadata(metadata, **_if(etag)))

    def set_sequence_number(self, sequence: int, etag: str, doing: str) -> str:
        """Set the blob's sequence number, if it is still at `etag`: writes conditional on the old one fail."""
        return self._etag(f"{doing} {self.url}", lambda: self._client.set_sequence_number(
            "update", str(sequence), **_if(etag)))

    def page_ranges(self, etag: str, length: int, *, offset: int = 0) -> list[tuple[int, int]]:
        """The written pages in [offset, offset + length) as merged, sorted [start, end) ranges, as of `etag`."""
        if length <= 0:
            return []
        ranges = self._call(f"listing the written pages of {self.url}", lambda: [
            (int(r.start or 0), int(r.end or 0) + 1)
            for r in self._client.list_page_ranges(offset=offset, length=length, **_if(etag)) if not r.cleared])
        merged: list[tuple[int, int]] = []
        for start, end in sorted(ranges):
            if merged and merged[-1][1] >= start:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged

    def read(self, offset: int, length: int, etag: str) -> bytes:
        """`length` bytes at `offset`, as of `etag` (fewer past the end of the blob)."""
        return bytes(self._call(f"reading {self.url}", lambda: self._client.download_blob(
            offset=offset, length=length, **_if(etag)).readall()))

    def read_back(self, offset: int, length: int, etag: str) -> bytes:
        """As read, MD5-checked (at most MAX_CHECKED_READ bytes): pages written earlier, to compare them."""
        return bytes(self._call(f"reading back {self.url}", lambda: self._client.download_blob(
            offset=offset, length=length, validate_content=True, **_if(etag)).readall()))

    def account_information(self) -> dict[str, Any]:
        """Get Account Information: the account's SKU, kind and whether it has a hierarchical namespace."""
        return self._call(f"reading the kind of storage account {self.target.blob_endpoint}",
                          self._client.get_account_information)

    def delete(self, etag: str) -> None:
        """Delete the blob and its snapshots, if it is still at `etag`."""
        self._call(f"deleting {self.url}", lambda: self._client.delete_blob(delete_snapshots="include", **_if(etag)))

    def _etag(self, doing: str, call: Callable[[], Mapping[str, Any]]) -> str:
        return str(self._call(doing, call)["etag"])

    def _call(self, doing: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except AzureError as exc:
            # `from None`: SDK messages can quote request URLs, and those carry the SAS.
            raise self._translate(exc, doing) from None

    def _translate(self, exc: AzureError, doing: str) -> StorageError:
        return translate_error(exc, doing, self.target, container=self.container, url=self.url)


def _if(etag: str) -> dict[str, Any]:
    return {"etag": etag, "match_condition": MatchConditions.IfNotModified}


def _check_page(offset: int, length: int, *, blob_length: int | None = None) -> None:
    """Azure's rules for a page write (Azurite accepts what Azure rejects, so they are enforced here); with
    `blob_length`, also the 4 KiB rule of the disk writes (STACK_PAGE)."""
    whole = not (offset % STACK_PAGE or (length % STACK_PAGE and offset + length != blob_length))
    if (offset % PAGE or length % PAGE or not 0 < length <= MAX_PUT_PAGE or offset + length > PAGE_BLOB_MAX
            or (blob_length is not None and not whole)):
        raise InternalError(f"page write of {length} bytes at {offset} breaks Azure's rules (512-byte aligned, "
                            "at most 4 MiB, inside 8 TiB; ours also whole 4 KiB pages or the footer); this is a bug "
                            "in vhdcore, please report it.")


# --- shared by the operations that run in a session ------------------------------------------------------


def converge(s: Session, step: Callable[[], T], doing: str) -> T:
    """Run a read-then-conditional-write step again when the blob changed under it (412 ConditionNotMet).

    Not a transport retry (azure-core does those): a retried write of ours that landed changes the etag,
    and the next round re-reads the blob and carries on from the state it finds.
    """
    for _ in range(ROUNDS):
        try:
            return step()
        except Stale:
            continue
    raise kept_changing(s, doing)


def kept_changing(s: Session, doing: str) -> RefusedError:
    return RefusedError(f"blob {s.url} kept changing while {doing}", "make sure nothing else writes to it, then retry")


def meta(props: BlobProperties, key: str) -> str | None:
    """The blob's metadata entry `key` (names.py's keys), whatever case it is stored in."""
    return metadata_value(props.metadata, key)


def meta_int(props: BlobProperties, key: str) -> int | None:
    value = meta(props, key)
    return int(value) if value is not None and value.isdigit() else None


def sdk_text(value: Any) -> str:
    """The plain string of an SDK str-enum (BlobType.PAGEBLOB -> 'PageBlob')."""
    return str(getattr(value, "value", value))


def cloud_checked(target: StorageTarget, name: str, size: int | None = None) -> Cloud:
    """The target's cloud, after its own limits (Azure Stack: 1 TiB page blobs, 880-character blob names);
    call it after target.validate(). Raises BlobNameError or SizeError naming the cloud and its cap."""
    cloud = target.profile
    validate_blob_name(name, max_length=cloud.max_blob_name, where=cloud.name)
    if size is not None:
        check_disk_size(size, limit=cloud.size_limit)
    return cloud
