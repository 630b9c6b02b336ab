"""A disk image into a fixed VHD page blob: only non-zero pages are sent, the footer last, and a re-run resumes.

Its steps, in order: Get Account Information (the first time an account is written in a
run, as for create: accounts.py), Put Blob (If-None-Match *, the disk's length, this tool's metadata,
a random sequence number), one Put Page per run of non-zero 4 KiB pages (at most 4 MiB, starting and ending
on 4 KiB boundaries as Azure Stack needs and every write of blank-vhd does, `max_connections` at a time,
each conditional on that sequence number), HEAD, Set Blob Metadata (the content fingerprint; not
needed when the caller knew it at create), Put Page of the footer (If-Match the etag the HEAD read, and only
if the HEAD shows the sequence number this run chose). `verify` adds, before the footer, a page-range
listing and a read of every written page (MD5-checked), whose content fingerprint must equal the image's.

Safety, as for blank disks (page_blob): a blob of that name that is not an unfinished upload of this image,
by its content, is never written; until the footer is written the blob is not a valid disk, and the footer
is written only after every page is acknowledged, so an interrupted upload never looks like a disk. What it
leaves is an unfinished blob that a re-run finishes, and that `delete_blank_vhd` removes by its unique id.
The threat model (what someone who can write to the container can still do): docs/safety.md.

Resuming is decided by content, never by metadata or the image file's modification time: metadata (the
unique id, size, the image's stamp and name) can be copied onto any blob, and a file's modification
time restored. A re-run lists the pages already written (list_page_ranges; Put Page is atomic, so a listed
page is complete), reads every one of them back (MD5-checked) and compares it with what the image holds
there, zeros included, before it writes anything. A page that differs refuses the resume, blob untouched.
Then it fences the blob (a new sequence number, If-Match the etag its reads were made at, so a killed run's
late write cannot land between the check and the resume) and sends only the rest. A finished disk is
reported as this image's only when its pages equal the image's and it lacks none of the image's data.
"""

from __future__ import annotations

import bisect
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit

from azure.storage.blob import BlobProperties

from ..errors import (
    AuthFailedError,
    BlobExistsError,
    BlobLeasedError,
    ContainerNotFoundError,
    ImageError,
    InputError,
    RefusedError,
    ServiceError,
    StorageError,
    ThrottledError,
)
from ..format.footer import COOKIE, fixed_footer
from ..format.images import Fingerprint, ReadableImage, Scan, disk_size, nonzero_pages, upload_disk_size
from ..format.sizes import FOOTER_SIZE, MAX_CHECKED_READ, PAGE, STACK_PAGE, KiB
from ..format.unique_id import UniqueId
from .accounts import account_notes
from .blobs import NOT_LOOKED_AT, BlankVhdBlob, footer_at, holds_footer, list_written, what_is_there, written_if_listed
from .credentials import ClientOptions, StorageTarget, split_blob_url
from .names import (
    FINGERPRINT_KEY,
    IMAGE_KEY,
    MARKER_KEY,
    OWNER_KEY,
    SIZE_KEY,
    SOURCE_KEY,
    UNIQUE_ID_KEY,
    image_label,
    owner_tag,
    stamp_tag,
    validate_blob_name,
    validate_container_name,
    validate_metadata,
)
from .session import ROUNDS, Session, cloud_checked, converge, kept_changing, meta, meta_int, sdk_text, session
from .translate import Stale, leased

DEFAULT_CONNECTIONS = 8
# Azure allows up to 2**63 - 1; Azurite keeps the number as a JavaScript double, and the HEAD before the footer
# compares it, so it stays exact there: 53 random bits are plenty to tell this run's blob from any other.
_MAX_SEQUENCE = (1 << 53) - 1


@dataclass(frozen=True)
class UploadProgress:
    """Where an upload is: bytes of the image read (of `total` it stores), and bytes sent and acknowledged."""

    total: int
    read: int
    sent: int
    kept: int  # found already written on the blob by an earlier run


@dataclass(frozen=True, kw_only=True)
class ImageUpload(BlankVhdBlob):
    """A finished upload: the disk (BlankVhdBlob's fields, its `warnings` included), and what this run did to get
    there."""

    fingerprint: str
    image_format: str
    image_size: int
    data_bytes: int  # bytes in the image's non-zero pages
    bytes_sent: int  # Put Page bodies this run, the footer included
    resumed: bool  # an earlier run's unfinished blob was finished
    already_complete: bool  # an earlier run had finished it: nothing was sent
    verified: bool


Notes = Callable[[str], None]


def upload_image(
    target: StorageTarget,
    image: ReadableImage,
    *,
    container: str,
    name: str,
    size: int | None = None,
    metadata: Mapping[str, str] | None = None,
    unique_id: bytes | None = None,
    timestamp: datetime | float | None = None,
    fingerprint: str | None = None,
    verify: bool = False,
    owner: str | None = None,
    max_connections: int = DEFAULT_CONNECTIONS,
    options: ClientOptions | None = None,
    progress: Callable[[UploadProgress], None] | None = None,
    notes: Notes | None = None,
) -> ImageUpload:
    """Write `image` to `container/name` as a fixed VHD of `size` bytes (default: its virtual size rounded up
    to whole MiB), or finish an earlier run's unfinished upload of the same image.

    `fingerprint`, when the caller already knows the image's (a Pulumi preview computed it), is recorded at
    create and must match what this run reads, else no footer is written. `owner` (any text naming who asks, such
    as a Pulumi stack and resource) is recorded in the metadata of the blob this run creates (owner_tag), so that
    its caller can tell an unfinished upload of its own (BlobInspection.owner). `notes` receives sentences worth
    telling a person on the way (rounding, resuming).
    """
    validate_container_name(container)
    validate_blob_name(name)
    user_metadata = validate_metadata(metadata)
    disk = disk_size(image, size)
    _check_connections(max_connections)
    wanted_id = UniqueId(unique_id) if unique_id is not None else UniqueId.random()
    target.validate()
    cloud_checked(target, name, disk.size)  # Azure Stack: 1023 GiB disks, 880-character names
    say = notes or (lambda _text: None)
    if disk.note:
        say(disk.note)
    with session(target, container, name, options) as s:
        warnings = account_notes(s, disk.size)  # as create: at most one request per account per run, before writing
        if owner is not None:
            user_metadata = {**user_metadata, OWNER_KEY: owner_tag(owner)}
        job = _Upload(s, image, disk.size, wanted_id, user_metadata, fingerprint, max_connections, progress, say)
        done = job.run(verify=verify, when=time.time() if timestamp is None else timestamp)
    return replace(done, warnings=warnings)


@dataclass
class _Blob:
    """The blob this run writes: created now, or found unfinished (resume), or found finished."""

    etag: str
    sequence: int  # the one every data write is conditional on; UNNUMBERED in SAS mode
    unique_id: UniqueId
    written: list[tuple[int, int]]  # [start, end) page ranges already on it, each read back and equal to the image
    complete: bool = False
    fingerprint: str | None = None  # as recorded in its metadata
    resumed: bool = False
    scan: Scan | None = None  # a finished disk's: the image read once to see that the disk lacks none of its data


_Piece = tuple[int, int, list[tuple[int, int]]]  # a read: offset, length, and the written ranges it covers


class _Upload:
    def __init__(self, s: Session, image: ReadableImage, size: int, unique_id: UniqueId, metadata: dict[str, str],
                 fingerprint: str | None, connections: int, progress: Callable[[UploadProgress], None] | None,
                 say: Notes) -> None:
        self.s, self.image, self.size, self.unique_id = s, image, size, unique_id
        self.metadata, self.expected, self.connections = metadata, fingerprint, connections
        self.progress, self.say = progress, say
        self.length = size + FOOTER_SIZE
        self.sent = 0
        self.kept = 0

    def run(self, *, verify: bool, when: datetime | float) -> ImageUpload:
        # A blob that changes while it is checked (a killed run's late write, say) is looked at again.
        blob = converge(self.s, self._create_or_find_once, "checking what an earlier upload left")
        if blob.complete:
            assert blob.scan is not None
            self._check_image(blob.scan.fingerprint, f"{self.s.url} was left as it is")
            self.say(f"{self.s.url} already holds this image as a finished disk (its data read back and compared); "
                     "nothing was sent")
            return self._result(blob, blob.scan.fingerprint, data_bytes=blob.scan.data_bytes, verified=False)
        if blob.resumed:
            self.say(f"resuming the unfinished upload to {self.s.url}: {self.kept} bytes of data are already there, "
                     "read back and equal to the image")
        scan = self._send(blob)
        found = scan.fingerprint
        self._check_image(found, f"no footer was written and {self.s.url} is not a disk")
        etag = self._finish(blob, found, when, verify)
        blob.etag = etag
        return self._result(blob, found, data_bytes=scan.data_bytes, verified=verify)

    def _check_image(self, found: str, left: str) -> None:
        """The image read is the one the caller fingerprinted, and nothing wrote to it while it was read."""
        if self.expected is not None and found != self.expected:
            raise InputError(
                f"image {self.image.path} changed after its fingerprint was taken ({self.expected}, now {found}), so "
                f"{left}; run again to upload the image as it is now.")
        if not self.image.unchanged():
            raise InputError(
                f"image {self.image.path} was modified while it was being uploaded, so {left}; run the same upload "
                "again once nothing writes to the image.")

    def _result(self, blob: _Blob, fingerprint: str, *, data_bytes: int, verified: bool) -> ImageUpload:
        s = self.s
        return ImageUpload(s.url, s.container, s.name, self.size, self.length, blob.unique_id, blob.etag,
                           fingerprint=fingerprint, image_format=self.image.format,
                           image_size=self.image.virtual_size, data_bytes=data_bytes, bytes_sent=self.sent,
                           resumed=blob.resumed, already_complete=blob.complete, verified=verified)

    # --- create, or find what an earlier run left ------------------------------------------------------------

    def _create_or_find_once(self) -> _Blob:
        s = self.s
        marker = secrets.token_hex(16)
        sequence = secrets.randbelow(_MAX_SEQUENCE) + 1
        ours = {**self.metadata, MARKER_KEY: marker, UNIQUE_ID_KEY: str(self.unique_id), SIZE_KEY: str(self.size),
                SOURCE_KEY: stamp_tag(self.image.stamp()), IMAGE_KEY: image_label(self.image.path)}
        if self.expected is not None:
            ours[FINGERPRINT_KEY] = self.expected
        try:
            etag = s.create(self.length, ours, sequence=sequence)
            return _Blob(etag, sequence, self.unique_id, [], fingerprint=self.expected)
        except StorageError as exc:
            if isinstance(exc, (ContainerNotFoundError, AuthFailedError)):
                raise
            # A 409 may answer our own retry of a Put Blob whose reply was lost; anything else may follow one too.
            try:
                props = s.head()
            except StorageError:
                raise exc.amended(NOT_LOOKED_AT) from None
            if props is not None and meta(props, MARKER_KEY) == marker:
                return _Blob(str(props.etag), sequence, self.unique_id, [], fingerprint=self.expected)
            if props is None or not isinstance(exc, BlobExistsError):
                raise
            return self._existing(props, exc)

    def _existing(self, props: BlobProperties, exists: BlobExistsError) -> _Blob:
        """Resume an unfinished upload of this image, accept a finished one, refuse anything else untouched.

        Its metadata says only whether it claims to be an upload of this tool, and of what size: anyone who can
        write to the container can copy it (Copy Blob does). What decides is its content: every page on it is
        read back and compared with the image before anything is written, and a finished disk must also lack
        none of the image's data. Only then is it fenced (a new sequence number, set on the etag that was read,
        so a killed run's late write can land neither before the check nor after it) and resumed."""
        s = self.s
        recorded_size, recorded_id = meta_int(props, SIZE_KEY), meta(props, UNIQUE_ID_KEY)
        if (sdk_text(props.blob_type) != "PageBlob" or meta(props, SOURCE_KEY) is None
                or meta(props, MARKER_KEY) is None or not UniqueId.is_text(recorded_id) or recorded_size is None):
            # Not an upload of this tool: never ours to write.
            raise exists.amended(f" ({what_is_there(props, written_if_listed(s, props))})") from None
        assert recorded_id is not None
        unique_id = UniqueId.parse(recorded_id)
        recorded_fingerprint = meta(props, FINGERPRINT_KEY)
        if self.expected is not None and recorded_fingerprint not in (None, self.expected):
            raise RefusedError(
                f"blob {s.url} holds an upload of content fingerprint {recorded_fingerprint} by its metadata, not "
                f"{self.expected}, so it was left untouched", "delete it by its unique id, or choose another name")
        etag = str(props.etag)
        written = list_written(s, props)
        what = what_is_there(props, written)
        if written.footer_written:
            if props.size != recorded_size + FOOTER_SIZE or not self._is_our_disk(props, recorded_size, unique_id):
                raise RefusedError(
                    f"blob {s.url} is {what}, but its footer is not the one this tool writes, so it is not a disk "
                    "this tool can finish, and it was left untouched",
                    "delete it by its unique id and upload again, or choose another name")
            if recorded_size != self.size:
                raise exists.amended(f" ({what}, a disk of {recorded_size} bytes, not {self.size})") from None
            self._check_written(written.ranges, etag, lambda at: exists.amended(
                f" ({what}: its data at offset {at} differs from image {self.image.path})"))
            scan = self._lacks_nothing(written.ranges, lambda at: exists.amended(
                f" ({what}: it lacks the data image {self.image.path} has at offset {at})"))
            return _Blob(etag, int(props.page_blob_sequence_number or 0), unique_id, written.ranges, complete=True,
                         fingerprint=recorded_fingerprint, resumed=True, scan=scan)
        if recorded_size != self.size or props.size != self.length:
            raise RefusedError(
                f"blob {s.url} is {what} to a {recorded_size}-byte disk, not {self.size} bytes, so it was not resumed "
                "and was left untouched", f"upload again with size {recorded_size} to finish it, or delete it first")
        if sdk_text(props.lease.status) == "locked":
            raise BlobLeasedError(*leased(f"finishing the upload to {s.url}"))
        self._check_written(written.ranges, etag, lambda at: RefusedError(
            f"blob {s.url} is {what}, but its page at offset {at} holds other bytes than image {self.image.path} "
            "has there (the image changed since that upload, or the blob holds another image's or someone else's "
            "data), so it was not resumed and was left untouched",
            "upload to another name, or, if that blob holds nothing you need, delete it by its unique id (`blob "
            "inspect` shows it) and upload again"))
        self.kept = sum(end - start for start, end in written.ranges)
        sequence = secrets.randbelow(_MAX_SEQUENCE) + 1
        etag = s.set_sequence_number(sequence, etag, "fencing the earlier upload's writes to")
        return _Blob(etag, sequence, unique_id, written.ranges, fingerprint=recorded_fingerprint, resumed=True)

    def _is_our_disk(self, props: BlobProperties, size: int, unique_id: UniqueId) -> bool:
        return props.size == size + FOOTER_SIZE and holds_footer(self.s, size, str(props.etag), unique_id)

    # --- what is on the blob already: read back and compared with the image ------------------------------------

    def _check_written(self, written: list[tuple[int, int]], etag: str,
                       differs: Callable[[int], StorageError]) -> None:
        """Every page on the blob below the disk size holds what the image holds there (zeros past its end),
        read back as of `etag`; else `differs(offset of the first page that does not)` is raised."""
        total = sum(min(end, self.size) - start for start, end in written if start < self.size)
        if total:
            self.say(f"reading back the {total} bytes already on {self.s.url} to compare them with the image")
        for at, data, ranges in self._read_back(_pieces(written, self.size), etag):
            expected = self._image_bytes(at, len(data))
            for start, end in ranges:
                got, want = data[start - at : end - at], expected[start - at : end - at]
                if got != want:
                    raise differs(start + _first_difference(got, want))

    def _lacks_nothing(self, written: list[tuple[int, int]], lacks: Callable[[int], StorageError]) -> Scan:
        """Read the image once: a finished disk must hold every non-zero page it has (else `lacks(offset)`)."""
        scan = Scan(self.image, granularity=STACK_PAGE)
        for run in scan:
            for offset, _data in _missing(run.offset, run.data, written):
                raise lacks(offset)
        return scan

    def _image_bytes(self, offset: int, length: int) -> bytes:
        """The virtual disk's bytes at [offset, offset + length), zeros past its end (up to the disk size)."""
        inside = max(0, min(length, self.image.virtual_size - offset))
        return self.image.read(offset, inside) + bytes(length - inside)

    def _read_back(self, pieces: Iterable[_Piece], etag: str) -> Iterator[tuple[int, bytes, list[tuple[int, int]]]]:
        """Read `pieces` from the blob as of `etag`, MD5-checked, `connections` at a time, yielded in order; at
        most `connections` + 1 pieces (4 MiB each) are held at once. Stopping early cancels the rest."""
        executor = ThreadPoolExecutor(self.connections, thread_name_prefix="vhdcore-read")
        window: deque[tuple[int, list[tuple[int, int]], Future[bytes]]] = deque()
        try:
            for offset, length, ranges in pieces:
                window.append((offset, ranges, executor.submit(self.s.read_back, offset, length, etag)))
                if len(window) > self.connections:
                    at, covered, future = window.popleft()
                    yield at, future.result(), covered
            while window:
                at, covered, future = window.popleft()
                yield at, future.result(), covered
        finally:
            executor.shutdown(wait=True, cancel_futures=True)

    # --- the data ----------------------------------------------------------------------------------------------

    def _send(self, blob: _Blob) -> Scan:
        """Read the image once; send every non-zero page run the blob does not hold yet, `connections` at a time."""
        total = self.image.allocated_bytes
        scan = Scan(self.image, granularity=STACK_PAGE)  # whole 4 KiB pages: Azure Stack's rule, kept everywhere
        pending: set[Future[int]] = set()
        failure: BaseException | None = None

        def reap(block: bool) -> None:
            nonlocal failure
            if not pending:
                return
            done, _ = wait(pending, timeout=None if block else 0, return_when=FIRST_COMPLETED)
            for future in done:
                pending.discard(future)
                error = future.exception()
                if error is None:
                    self.sent += future.result()
                elif failure is None:
                    failure = error

        def report(_scan: Scan) -> None:
            reap(block=False)
            if self.progress is not None:
                self.progress(UploadProgress(total, scan.scanned, self.sent, self.kept))

        scan.progress = report
        executor = ThreadPoolExecutor(self.connections, thread_name_prefix="vhdcore-upload")
        try:
            for run in scan:
                for offset, data in _missing(run.offset, run.data, blob.written):
                    while len(pending) >= 2 * self.connections and failure is None:
                        reap(block=True)
                    if failure is not None:
                        break
                    pending.add(executor.submit(self._put, data, offset, blob.sequence))
                if failure is not None:
                    break
            while pending:
                reap(block=True)
        except ImageError as exc:  # the image refused at its end (a stream cut short, a checksum that differs)
            raise self._image_refused(exc, blob) from None
        finally:
            executor.shutdown(wait=failure is None, cancel_futures=True)
        if failure is not None:
            more = self._stopped(blob)
            if isinstance(failure, StorageError) and failure.code != "SequenceNumberConditionNotMet":
                raise failure.amended(more) from None  # (a fenced write: the blob is not this run's to resume)
            raise failure
        if self.progress is not None:
            self.progress(UploadProgress(total, scan.scanned, self.sent, self.kept))
        return scan

    def _image_refused(self, exc: ImageError, blob: _Blob) -> ImageError:
        """The image's own refusal (a stream is checked only at its end, after its data was sent), saying what it
        left."""
        return _unfinished(exc, self.s, blob.unique_id)

    def _stopped(self, blob: _Blob) -> str:
        """What a failed data write leaves, appended to its error."""
        return (f", so the upload stopped with {self.kept + self.sent} bytes of data on the blob and no footer: it is "
                "not a disk yet; run the same upload again to resume it, or delete the unfinished blob by its unique "
                f"id {blob.unique_id}")

    def _put(self, data: bytes, offset: int, sequence: int) -> int:
        s = self.s
        try:
            s.put_page_in_sequence(data, offset, sequence, blob_length=self.length)
        except StorageError as error:
            if error.code == "SequenceNumberConditionNotMet":
                raise RefusedError(
                    f"blob {s.url} was deleted or replaced by another writer during the upload (or taken over by "
                    "another run of this upload), and the blob there now was left as it is",
                    "find out what else writes to that name, then upload again",
                    status=error.status, code=error.code) from None
            raise
        return len(data)

    # --- verify, record the fingerprint, and the footer, last ---------------------------------------------------

    def _finish(self, blob: _Blob, fingerprint: str, when: datetime | float, verify: bool) -> str:
        try:
            return self._finish_once(blob, fingerprint, when, verify)
        except StorageError as exc:
            if isinstance(exc, Stale | RefusedError | _ReadBackDiffers) and not isinstance(exc, ThrottledError):
                raise
            # No answer, or throttled to the end: the footer may have landed with its reply lost. Look.
            try:
                again = self.s.head()
            except StorageError:
                again = None
            if again is not None and self._is_our_disk(again, self.size, blob.unique_id):
                self.sent += FOOTER_SIZE
                return str(again.etag)
            raise exc.amended(", after every page of data was written, so the blob has no footer and is not a disk "
                              "yet; run the same upload again to finish it (it reads back what is there and sends "
                              "no data again)") from None

    def _finish_once(self, blob: _Blob, fingerprint: str, when: datetime | float, verify: bool) -> str:
        s = self.s
        footer = fixed_footer(self.size, timestamp=when, unique_id=blob.unique_id)
        props = s.head()
        for _ in range(ROUNDS):
            # The sequence number this run chose (at create, or when it fenced the blob it resumed): any other
            # means the blob was replaced, or another run took it over, since.
            if props is None or int(props.page_blob_sequence_number or 0) != blob.sequence or meta(
                    props, UNIQUE_ID_KEY) != str(blob.unique_id) or props.size != self.length:
                raise RefusedError(
                    f"blob {s.url} was replaced, deleted or taken over by another writer while the image was being "
                    "uploaded, and was left as it is", "find out what else writes to that name, then upload again")
            etag = str(props.etag)
            try:
                if verify:
                    self._verify(etag, fingerprint)
                if meta(props, FINGERPRINT_KEY) != fingerprint:
                    metadata = {**(props.metadata or {}), FINGERPRINT_KEY: fingerprint}
                    etag = s.set_metadata(metadata, etag, "recording the image fingerprint on")
                etag = s.put_page(footer.pack(), self.size, etag, "writing the footer of", blob_length=self.length)
                self.sent += FOOTER_SIZE
                return etag
            except Stale:
                # A write of ours landed late (a retried request, or a killed run's), or the footer did: look again,
                # and this look is the next round's.
                props = s.head()
                if props is not None and self._is_our_disk(props, self.size, blob.unique_id):
                    return str(props.etag)
        raise kept_changing(s, "finishing the upload")

    def _verify(self, etag: str, fingerprint: str) -> None:
        """Read back every written page of the data area; its content fingerprint must be the image's."""
        s = self.s
        read_back = Fingerprint(self.image.virtual_size)
        for at, data, _ranges in self._read_back(_pieces(s.page_ranges(etag, self.size), self.size), etag):
            for start, end in nonzero_pages(data):  # the gaps between ranges read as zeros: never fingerprinted
                read_back.add(at + start, data[start:end])
        found = read_back.hexdigest()
        if found != fingerprint:
            raise _ReadBackDiffers(
                f"the data read back from {s.url} has content fingerprint {found}, not the image's {fingerprint}, so "
                "no footer was written and the blob is not a disk",
                "delete it by its unique id and upload again; if it happens again, check what else writes to it and "
                "the network path")


def _unfinished(exc: ImageError, s: Session, unique_id: UniqueId) -> ImageError:
    """The image's own refusal (its type and attributes kept), saying what it left: the blob, without a footer (a
    stream is checked only at its end, after its data was sent), and how to finish or remove it."""
    return exc.amended(f"; the upload to {s.url} stopped before its footer, so that blob is no disk and was left for a "
                       "resume: run the same upload again once the source is right (it reads back what is there and "
                       f"sends only what is missing), or delete it with `vhdcore blob delete -c {s.container} -n "
                       f"{s.name} --unique-id {unique_id}`")


class _ReadBackDiffers(ServiceError):
    """--verify read back other data than the image's: no footer, and running again does not help."""


_GAP = 64 * KiB  # written ranges closer than this are read back in one request (the gap reads as zeros)


def _pieces(written: list[tuple[int, int]], upto: int) -> Iterator[_Piece]:
    """Reads that cover the written [start, end) ranges (merged, sorted) below `upto`: each at most
    MAX_CHECKED_READ (the most an MD5-checked read returns), ranges less than _GAP apart read together, each
    piece with the ranges it covers. Their number is bounded by the blob's size over 4 MiB plus its ranges,
    never by what is in them."""
    current: list[tuple[int, int]] = []
    for start, stop in written:
        stop = min(stop, upto)
        while start < stop:
            if current and (start - current[-1][1] > _GAP or start >= current[0][0] + MAX_CHECKED_READ):
                yield current[0][0], current[-1][1] - current[0][0], current
                current = []
            end = min(stop, (current[0][0] if current else start) + MAX_CHECKED_READ)
            current.append((start, end))
            start = end
    if current:
        yield current[0][0], current[-1][1] - current[0][0], current


def _first_difference(got: bytes, want: bytes) -> int:
    """The offset of the first 512-byte page where two equally long byte strings differ."""
    for page in range(0, len(got), PAGE):
        if got[page : page + PAGE] != want[page : page + PAGE]:
            return page
    return 0


def _missing(offset: int, data: bytes, written: list[tuple[int, int]]) -> Iterator[tuple[int, bytes]]:
    """The parts of a page run at `offset` that the blob's written [start, end) ranges (merged, sorted) lack."""
    pos, end = offset, offset + len(data)
    i = bisect.bisect_right(written, (pos, 1 << 62)) - 1  # the last range starting at or before pos
    i = max(i, 0)
    while pos < end and i < len(written):
        start, stop = written[i]
        i += 1
        if stop <= pos:
            continue
        if start >= end:
            break
        if start > pos:
            yield pos, data[pos - offset : start - offset]
        pos = max(pos, stop)
    if pos < end:
        yield pos, data[pos - offset :]


# --- SAS mode: into a page blob that is not ours (a managed disk's upload target) -----------------------------------
#
# Azure's direct upload hands out a SAS URL of a page blob in an `md-` account that the Compute service made at
# exactly the disk's upload size. It is the service's blob: Put Blob would recreate it and wipe the disk's
# properties (Azure/azure-storage-azcopy#1582), and metadata is not ours to set. So this mode never creates the
# blob, never sets metadata or properties (no sequence number either: its data writes are unconditional), and
# otherwise runs the same engine: the blob's length is checked first (a mismatch is refused before any write, with
# the upload size to create the disk with), its page list is read and every written page read back and compared
# with the image (a re-run resumes by content), only the non-zero pages it lacks are sent, and the footer goes
# last, If-Match the etag a HEAD read after every page was acknowledged.


def upload_image_to_sas(
    sas_url: str,
    image: ReadableImage,
    *,
    size: int | None = None,
    footer: bytes | None = None,
    fingerprint: str | None = None,
    timestamp: datetime | float | None = None,
    verify: bool = False,
    max_connections: int = DEFAULT_CONNECTIONS,
    options: ClientOptions | None = None,
    progress: Callable[[UploadProgress], None] | None = None,
    notes: Notes | None = None,
    what: str = "the blob",
) -> ImageUpload:
    """Write `image` as a fixed VHD into the existing page blob at `sas_url` (a blob URL with a SAS), or finish an
    earlier run's upload there, without creating the blob or setting anything but its pages.

    The disk size is `size`, else the image's for a managed disk (vhdcore.format.images.upload_disk_size: whole MiB,
    at least 20 MiB); the blob must be exactly that + 512 bytes long. `footer` (512 bytes) is written last instead
    of a new fixed VHD footer: the image's own, for a file that already is a fixed VHD to be sent byte for byte (a VM
    guest state). `fingerprint`, when the caller knows the image's, must match what this run reads, else no footer
    is written. `what` names the blob in messages ("managed disk ..."), since its URL is the service's. The SAS is
    never shown: messages name the URL without its query.
    """
    target, container, name = _sas_target(sas_url)
    _check_connections(max_connections)
    if footer is not None and len(footer) != FOOTER_SIZE:
        raise InputError(f"a footer is {FOOTER_SIZE} bytes, not {len(footer)}; pass the image's last 512 bytes.")
    if size is None:
        sized = upload_disk_size(image)
        disk, note = sized.size, sized.note
    else:
        disk, note = size, None
        if size < image.virtual_size:
            raise InputError(f"size {size} is smaller than image {image.path}'s {image.virtual_size}-byte disk; give "
                             f"{image.virtual_size} bytes or more.")
    say = notes or (lambda _text: None)
    if note:
        say(note)
    with session(target, container, name, options) as s:
        job = _SasUpload(s, image, disk, UniqueId.random(), {}, fingerprint, max_connections, progress, say)
        job.footer, job.what = footer, what
        return job.run(verify=verify, when=time.time() if timestamp is None else timestamp)


def _check_connections(max_connections: int) -> None:
    """The upload's Put Page requests at a time: a whole number from 1 to 64, checked before any request."""
    if isinstance(max_connections, bool) or not isinstance(max_connections, int) or not 1 <= max_connections <= 64:
        raise InputError(f"max connections {max_connections!r} is not a whole number from 1 to 64; pass e.g. 8.")


def _sas_target(sas_url: str) -> tuple[StorageTarget, str, str]:
    """A blob SAS URL as the target that reaches it (its account endpoint and SAS), its container and its name. The
    URL is never quoted: it holds the SAS."""
    try:
        parts = urlsplit(sas_url) if isinstance(sas_url, str) else None
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or "sig=" not in parts.query:
        raise InputError("the SAS URL is not a blob URL with a SAS (https://<account>.blob.../<container>/<blob>?...&"
                         "sig=...); pass the accessSAS a grant of write access returned, whole.")
    bare = f"{parts.scheme}://{parts.netloc}{parts.path}"
    endpoint, container, name = split_blob_url(bare)
    target = StorageTarget(account_url=endpoint, sas_token=parts.query)
    target.validate()
    return target, container, name


UNNUMBERED = 0  # a _Blob's sequence in SAS mode: none was set, and its data writes carry no condition


class _SasUpload(_Upload):
    footer: bytes | None = None
    what: str = "the blob"

    def _create_or_find_once(self) -> _Blob:
        """No Put Blob: the blob must be there at the disk's length. What is on it decides, read back."""
        s = self.s
        props = s.head()
        if props is None:
            raise RefusedError(f"{self.what} has no blob at {s.url}, so nothing was written",
                               "grant access again (the SAS may have expired or been revoked) and pass the new SAS URL")
        if sdk_text(props.blob_type) != "PageBlob" or props.size != self.length:
            kind = "" if sdk_text(props.blob_type) == "PageBlob" else f"a {sdk_text(props.blob_type)}, "
            raise RefusedError(
                f"{self.what} is {kind}{props.size} bytes long at {s.url}, but image {self.image.path} becomes a fixed "
                f"VHD of {self.length} bytes, so nothing was written",
                f"create the managed disk with upload size {self.length} (`vhdcore inspect` prints it as "
                "upload_size_bytes), or pass the size it was created for")
        etag = str(props.etag)
        written = list_written(s, props)
        left = "so nothing was written and it was left as it was"
        if written.footer_written:
            if not self._is_our_disk(props, self.size, self.unique_id):
                raise RefusedError(
                    f"{self.what} at {s.url} already ends in a footer that is not a fixed VHD footer of this image's "
                    f"{self.size}-byte disk, {left}", "delete the managed disk and create it again")
            self._check_written(written.ranges, etag, lambda at: RefusedError(
                f"{self.what} at {s.url} is finished (it has a footer), but its data at offset {at} differs from image "
                f"{self.image.path}, {left}", "delete the managed disk and create it again"))
            scan = self._lacks_nothing(written.ranges, lambda at: RefusedError(
                f"{self.what} at {s.url} is finished (it has a footer), but it lacks the data image {self.image.path} "
                f"has at offset {at}, {left}", "delete the managed disk and create it again"))
            return _Blob(etag, UNNUMBERED, self.unique_id, written.ranges, complete=True, resumed=True, scan=scan)
        self._check_written(written.ranges, etag, lambda at: RefusedError(
            f"{self.what} at {s.url} holds other bytes at offset {at} than image {self.image.path} has there (another "
            f"image was being uploaded into it, or the image changed since), {left}",
            "upload the image it was started with, or delete the managed disk and create it again"))
        self.kept = sum(end - start for start, end in written.ranges)
        return _Blob(etag, UNNUMBERED, self.unique_id, written.ranges, resumed=bool(written.ranges))

    def _put(self, data: bytes, offset: int, sequence: int) -> int:
        """A data write with no condition (SAS mode: no sequence number is ours to set on the blob)."""
        self.s.put_unnumbered_page(data, offset, blob_length=self.length)
        return len(data)

    def _is_our_disk(self, props: BlobProperties, size: int, unique_id: UniqueId) -> bool:
        """A footer that finishes this disk: the one given, byte for byte, or any valid fixed VHD footer of `size`
        (an earlier run's has another unique id; the content check decides whether its data is this image's)."""
        if props.size != size + FOOTER_SIZE:
            return False
        if self.footer is not None:
            return self.s.read(size, FOOTER_SIZE, str(props.etag)) == self.footer
        footer = footer_at(self.s, size, str(props.etag))
        return footer is not None and footer.cookie == COOKIE and footer.checksum_valid and \
            footer.current_size == size and not footer.azure_problems(props.size)

    def _finish_once(self, blob: _Blob, fingerprint: str, when: datetime | float, verify: bool) -> str:
        """The footer, last, If-Match the etag a HEAD read once every page was acknowledged; no metadata."""
        s = self.s
        footer = self.footer or fixed_footer(self.size, timestamp=when, unique_id=blob.unique_id).pack()
        props = s.head()
        for _ in range(ROUNDS):
            if props is None or props.size != self.length:
                raise RefusedError(f"{self.what} at {s.url} was deleted or resized during the upload, and no footer "
                                   "was written", "find out what else writes to it, then run the upload again")
            etag = str(props.etag)
            try:
                if verify:
                    self._verify(etag, fingerprint)
                etag = s.put_page(footer, self.size, etag, "writing the footer of", blob_length=self.length)
                self.sent += FOOTER_SIZE
                return etag
            except Stale:
                props = s.head()  # a late write of ours, or the footer itself, landed: look again (the next round's)
                if props is not None and self._is_our_disk(props, self.size, blob.unique_id):
                    return str(props.etag)
        raise kept_changing(s, "finishing the upload")

    def _image_refused(self, exc: ImageError, blob: _Blob) -> ImageError:
        return exc.amended(f"; the upload into {self.what} at {self.s.url} stopped before the footer, so no disk was "
                           "sealed: the disk is still waiting for its upload and no VM can use it (run the same upload "
                           "again once the source is right; it reads back what is there)")

    def _stopped(self, blob: _Blob) -> str:
        return (f", so the upload stopped with {self.kept + self.sent} bytes of data in {self.what} and no footer; "
                "run the same upload again to resume it (it reads back what is there)")
