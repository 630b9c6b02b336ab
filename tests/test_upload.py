"""Images uploaded as fixed VHD page blobs (vhdcore.azure.upload) on a real Azurite, through the counting and
fault-injecting proxy: what is sent, what the blob holds, resuming, refusals, and every fault on every kind
of request. A downloaded blob is checked by qemu-img, vhdiinfo and dissect.hypervisor."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from azurite_server import Azurite
from dissect.hypervisor.disk.vhd import VHD
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import shared_images, via
from tests.faultproxy import Fault, FaultProxy, StackProxy, fast_options, stored
from tests.images import (
    NAMES,
    PAGE,
    QEMU_FORMAT,
    SIZE,
    STACK_PAGE,
    MiB,
    TestImages,
    nonzero_pages,
    qemu_img,
    qemu_info,
    tool,
)
from vhdcore.azure.credentials import StorageTarget
from vhdcore.azure.names import stamp_tag
from vhdcore.azure.page_blob import create_blank_vhd, delete_blank_vhd
from vhdcore.azure.upload import ImageUpload, UploadProgress, _missing, upload_image
from vhdcore.errors import (
    BlobExistsError,
    InputError,
    NotOwnedError,
    RefusedError,
    ServiceError,
    SizeError,
    ThrottledError,
    VhdError,
)
from vhdcore.format.images import open_image
from vhdcore.format.report import DiskReport
from vhdcore.format.unique_id import UniqueId

ROUNDED = 6 * MiB
UID = UniqueId.parse("0123456789abcdef0123456789abcdef")
BLOB = "disk.vhd"


@pytest.fixture(scope="module")
def other_images(tmp_path_factory: pytest.TempPathFactory) -> TestImages:
    """Another disk of the same size, other data: a different image for the same blob."""
    return shared_images(tmp_path_factory, "other", layout=[(0, PAGE), (2 * MiB, 64 * 1024)], seed=7,
                       names=["qcow2"])


def upload(target: StorageTarget, path: Path, container: str, **kwargs: Any) -> ImageUpload:
    with open_image(path) as image:
        return upload_image(target, image, container=container, name=kwargs.pop("name", BLOB), **kwargs)


def page_ranges(service: BlobServiceClient, container: str, name: str = BLOB) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for r in service.get_blob_client(container, name).list_page_ranges():
        if merged and merged[-1][1] == r.start:
            merged[-1] = (merged[-1][0], r.end + 1)
        else:
            merged.append((r.start, r.end + 1))
    return merged


def download_sparse(service: BlobServiceClient, container: str, dest: Path, name: str = BLOB) -> Path:
    """The blob as a local sparse file: only its written pages are fetched and written."""
    blob = service.get_blob_client(container, name)
    with open(dest, "wb") as fh:
        fh.truncate(blob.get_blob_properties().size)
        for start, end in page_ranges(service, container, name):
            fh.seek(start)
            fh.write(blob.download_blob(offset=start, length=end - start).readall())
    return dest


def data_pages(test_images: TestImages) -> list[tuple[int, int]]:
    """What an upload writes: the runs of 4 KiB pages that hold a non-zero byte."""
    return nonzero_pages(test_images.raw, STACK_PAGE)


def data_bytes(test_images: TestImages) -> int:
    """What an upload sends before the footer."""
    return sum(end - start for start, end in data_pages(test_images))


def is_valid_disk(service: BlobServiceClient, container: str, size: int = ROUNDED) -> bool:
    found = stored(service, container, BLOB)
    return found is not None and found.is_valid_disk(size)


def holds_image(service: BlobServiceClient, container: str, raw: bytes, size: int = ROUNDED) -> bool:
    found = stored(service, container, BLOB)
    return (found is not None and found.is_valid_disk(size) and found.content is not None
            and found.content[: len(raw)] == raw and found.content[len(raw) : size] == bytes(size - len(raw)))


# --- every format: the blob, the bytes sent, and three independent readers -----------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_format_becomes_a_fixed_vhd_blob_sending_only_its_data(
    name: str, test_images: TestImages, proxy: FaultProxy, service: BlobServiceClient, container: str,
    tmp_path: Path,
) -> None:
    notes: list[str] = []
    result = upload(via(proxy), test_images[name], container, unique_id=UID, notes=notes.append)
    proxy.drain()
    data = data_bytes(test_images)
    assert any("rounded up" in note and "6291456-byte fixed VHD" in note for note in notes)
    assert (result.size, result.blob_length, result.unique_id) == (ROUNDED, ROUNDED + PAGE, UID)
    nonzero = sum(end - start for start, end in nonzero_pages(test_images.raw))  # in 512-byte pages
    assert (result.data_bytes, result.bytes_sent, result.resumed, result.already_complete) == (nonzero, data + PAGE,
                                                                                                False, False)
    assert data <= nonzero + 12 * STACK_PAGE  # each data run adds less than two 4 KiB pages
    # Request bodies: the data pages and the footer, nothing else; the account asked once, one Put Blob, one HEAD,
    # one metadata write.
    assert sum(s.body_bytes for s in proxy.log) == data + PAGE
    others = [(s.method, s.query) for s in proxy.log if (s.method, s.query) != ("PUT", "comp=page")]
    assert others == [("GET", "restype=account&comp=properties"), ("PUT", ""), ("HEAD", ""), ("PUT", "comp=metadata")]
    assert proxy.log[-1].query == "comp=page" and proxy.log[-1].body_bytes == PAGE  # the footer, last
    assert all(s.body_bytes <= 4 * MiB for s in proxy.log)
    writes = [s for s in proxy.log if s.query == "comp=page"]
    assert all(s.body_bytes % STACK_PAGE == 0 for s in writes[:-1])  # whole 4 KiB pages, then the footer
    # The blob: length, pages, footer, bytes.
    assert page_ranges(service, container) == [*data_pages(test_images), (ROUNDED, ROUNDED + PAGE)]
    local = download_sparse(service, container, tmp_path / "downloaded.vhd")
    content = local.read_bytes()
    assert len(content) == ROUNDED + PAGE
    report = DiskReport.from_tail(content[-PAGE:], len(content))
    assert report.azure_ready and report.footer is not None and report.footer.unique_id == UID, report.problems
    assert content[:SIZE] == test_images.raw and content[SIZE:ROUNDED] == bytes(ROUNDED - SIZE)
    metadata = service.get_blob_client(container, BLOB).get_blob_properties().metadata
    assert metadata["vhdcore_fingerprint"] == result.fingerprint and metadata["vhdcore_size"] == str(ROUNDED)
    with open_image(test_images[name]) as image:  # the image's stamp, as 32 hex digits that show none of it
        assert metadata["vhdcore_source"] == stamp_tag(image.stamp()) and re.fullmatch("[0-9a-f]{32}", stamp_tag(""))
    # qemu-img, vhdiinfo and dissect accept the downloaded disk and read the image's data from it.
    assert qemu_info(local, "vpc")["virtual-size"] == ROUNDED
    with open_image(test_images[name]) as image:
        qemu_img("compare", "-f", QEMU_FORMAT[image.format], "-F", "vpc", test_images[name], local)
    vhdi = subprocess.run([tool("vhdiinfo"), str(local)], capture_output=True, text=True, timeout=60)
    assert vhdi.returncode == 0 and "Fixed" in vhdi.stdout and f"{ROUNDED} bytes" in vhdi.stdout, vhdi.stdout
    with open(local, "rb") as fh:
        disk = VHD(fh)
        disk.seek(0)
        assert disk.size == ROUNDED and disk.read(SIZE) == test_images.raw


def test_a_larger_size_grows_the_disk_and_sends_the_same_bytes(test_images: TestImages, proxy: FaultProxy,
                                                               service: BlobServiceClient, container: str) -> None:
    result = upload(via(proxy), test_images["vhdx"], container, size=16 * MiB, verify=True)
    assert result.size == 16 * MiB and result.verified
    assert holds_image(service, container, test_images.raw, 16 * MiB)
    assert page_ranges(service, container) == [*data_pages(test_images), (16 * MiB, 16 * MiB + PAGE)]
    reads = [s for s in proxy.log if s.method == "GET" and s.query == ""]
    assert sum(s.body_bytes for s in proxy.log) == data_bytes(test_images) + PAGE and reads  # verify read it back


def test_progress_counts_read_and_sent_bytes(test_images: TestImages, proxy: FaultProxy, container: str) -> None:
    seen: list[UploadProgress] = []
    upload(via(proxy), test_images["qcow2"], container, progress=seen.append)
    with open_image(test_images["qcow2"]) as image:
        stored_bytes = image.allocated_bytes
    assert seen[-1] == UploadProgress(stored_bytes, stored_bytes, data_bytes(test_images), 0)
    assert [p.read for p in seen] == sorted(p.read for p in seen)


# --- refused before any request ------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "error", "pattern"), [
    ({"size": 5 * MiB}, SizeError, r"--size 5242880 is smaller than the image's 5244416-byte disk"),
    ({"size": ROUNDED + PAGE}, SizeError, r"not a whole number of MiB"),
    ({"name": "bad/"}, VhdError, r"blob name 'bad/' must not end with a dot or a slash"),
    ({"metadata": {"vhdcore_x": "1"}}, VhdError, r"reserves for its own entries"),
    ({"max_connections": 0}, InputError, r"max connections 0 is not a whole number from 1 to 64"),
])
def test_bad_arguments_are_refused_before_any_request(kwargs: dict[str, Any], error: type[Exception], pattern: str,
                                                      test_images: TestImages, proxy: FaultProxy,
                                                      container: str) -> None:
    with pytest.raises(error, match=pattern):
        upload(via(proxy), test_images["qcow2"], container, **kwargs)
    assert proxy.requests == 0


# --- existing blobs ------------------------------------------------------------------------------------------


def _foreign(service: BlobServiceClient, direct: StorageTarget, container: str) -> None:
    service.get_blob_client(container, BLOB).upload_blob(b"somebody else's data")


def _blank(service: BlobServiceClient, direct: StorageTarget, container: str) -> None:
    create_blank_vhd(direct, container=container, name=BLOB, size=ROUNDED)


def _other_finished(service: BlobServiceClient, direct: StorageTarget, container: str,
                    other: TestImages | None = None) -> None:
    assert other is not None
    upload(direct, other["qcow2"], container)


EXISTING = {
    "foreign": r"a BlockBlob this tool did not make",
    "blank": r"a disk this tool made by its metadata, as an ownerless create's \(the command line's\) blob, with no "
             r"data written",
    # What decides is the content: the first data page read back differs from this image's.
    "other-image": r"a disk uploaded from image 'disk\.qcow2\.qcow2' by its metadata, holding \d+ bytes of data: its "
                   r"data at offset 0 differs from image \S+",
}


@pytest.mark.parametrize("existing", list(EXISTING))
def test_an_existing_blob_is_refused_and_left_untouched(existing: str, test_images: TestImages,
                                                        other_images: TestImages, proxy: FaultProxy,
                                                        service: BlobServiceClient, direct: StorageTarget,
                                                        container: str) -> None:
    {"foreign": _foreign, "blank": _blank,
     "other-image": lambda *a: _other_finished(*a, other_images)}[existing](service, direct, container)
    before = stored(service, container, BLOB)
    with pytest.raises(BlobExistsError, match=rf"already exists and was left untouched \({EXISTING[existing]}\); "
                                              r"choose another name"):
        upload(via(proxy), test_images["qcow2"], container)
    assert stored(service, container, BLOB) == before
    assert [(s.method, s.query) for s in proxy.log if s.method != "GET"] in (
        [("PUT", ""), ("HEAD", "")], [("PUT", ""), ("HEAD", ""), ("HEAD", "")])
    assert all(s.body_bytes == 0 for s in proxy.log)


def test_the_same_command_again_after_success_sends_nothing(test_images: TestImages, proxy: FaultProxy,
                                                          service: BlobServiceClient, container: str) -> None:
    first = upload(via(proxy), test_images["vmdk"], container)
    proxy.clear()
    before = stored(service, container, BLOB)
    again = upload(via(proxy), test_images["vmdk"], container)
    assert again.already_complete and again.bytes_sent == 0 and again.fingerprint == first.fingerprint
    assert again.unique_id == first.unique_id
    assert proxy.body_bytes == 0 and stored(service, container, BLOB) == before


# --- interrupted, resumed, refused to resume -----------------------------------------------------------------


def interrupted(test_images: TestImages, proxy: FaultProxy, container: str, *, after: int = 3,
                name: str = "qcow2") -> ThrottledError:
    """An upload whose data writes fail for good from the `after + 1`-th one on."""
    proxy.add(Fault.server_busy(method="PUT", query="^comp=page$", nth=after + 1, times=-1))
    with pytest.raises(ThrottledError) as caught:
        upload(via(proxy), test_images[name], container, unique_id=UID, options=fast_options(), max_connections=1)
    proxy.clear()
    return caught.value


def test_a_failed_upload_leaves_no_disk_and_the_same_command_resumes_it(
    test_images: TestImages, proxy: FaultProxy, service: BlobServiceClient, container: str
) -> None:
    error = interrupted(test_images, proxy, container)
    assert re.search(r"while writing \d+ bytes at offset \d+ of \S+, even after retries, so the upload stopped with "
                     r"\d+ bytes of data on the blob and no footer: it is not a disk yet; run the same upload again "
                     rf"to resume it, or delete the unfinished blob by its unique id {UID}; wait a few minutes and "
                     r"run it again\.$",
                     str(error)), error
    assert not is_valid_disk(service, container)
    written = page_ranges(service, container)
    expected = data_pages(test_images)
    assert written and all(any(s <= a and b <= e for s, e in expected) for a, b in written)
    already = sum(b - a for a, b in written)
    assert already < data_bytes(test_images)

    notes: list[str] = []
    result = upload(via(proxy), test_images["qcow2"], container, notes=notes.append)
    assert result.resumed and not result.already_complete and result.unique_id == UID
    assert result.bytes_sent == proxy.body_bytes == data_bytes(test_images) - already + PAGE
    assert any(f"resuming the unfinished upload to {result.url}: {already} bytes of data are already there, read "
               "back and equal to the image" in note for note in notes)
    # What the resume cost: the page list, every written page read back (MD5-checked ranged GETs, each followed by
    # the page list the SDK fetches for a page-blob download), the fence (Set Blob Properties: a new sequence
    # number), then the rest as on the first run.
    kinds = [(s.method, s.query) for s in proxy.log]
    reads = [s for s in proxy.log if (s.method, s.query) == ("GET", "")]
    assert kinds[:3] == [("PUT", ""), ("HEAD", ""), ("GET", "comp=pagelist")]
    assert kinds.count(("PUT", "comp=properties")) == 1 and reads
    assert kinds.index(("PUT", "comp=properties")) > kinds.index(("GET", "")) and ("PUT", "comp=page") not in \
        kinds[: kinds.index(("PUT", "comp=properties"))]  # checked, then fenced, then written
    assert already <= sum(s.answer_bytes for s in reads) <= already + len(reads) * 64 * 1024
    assert holds_image(service, container, test_images.raw)
    assert page_ranges(service, container) == [*expected, (ROUNDED, ROUNDED + PAGE)]


def test_another_size_or_another_image_is_refused_untouched_and_a_new_modification_time_resumes(
    test_images: TestImages, other_images: TestImages, proxy: FaultProxy, service: BlobServiceClient,
    container: str, tmp_path: Path,
) -> None:
    source = Path(shutil.copy(test_images["qcow2"], tmp_path / "mine.qcow2"))
    copied = TestImages(tmp_path, {"qcow2": source})
    interrupted(copied, proxy, container)
    before = stored(service, container, BLOB)
    with pytest.raises(RefusedError, match=r"to a 6291456-byte disk, not 8388608 bytes, so it was not resumed"):
        upload(via(proxy), source, container, size=8 * MiB)
    with pytest.raises(RefusedError, match=r"is an unfinished upload of image 'mine\.qcow2' by its metadata, holding "
                                           r"\d+ bytes of data, but its page at offset 0 holds other bytes than image "
                                           r"\S+ has there .*, so it was not resumed and was left untouched"):
        upload(via(proxy), other_images["qcow2"], container)
    assert stored(service, container, BLOB) == before
    assert proxy.body_bytes == 0
    # What the refusal offers: the blob holds data, so delete wants the unique id (which inspect shows).
    with pytest.raises(NotOwnedError, match=r"is an unfinished upload of image 'mine\.qcow2' by its metadata, holding "
                                            r"\d+ bytes of data, not the empty blob an interrupted create or upload "
                                            r"leaves, so it was not deleted without its unique id"):
        delete_blank_vhd(via(proxy), container=container, name=BLOB, unique_id=None)
    assert stored(service, container, BLOB) == before
    # The same bytes with a new modification time (a copy, a touch): the content decides, so it resumes.
    os.utime(source, ns=(1, 1))
    result = upload(via(proxy), source, container)
    assert result.resumed and result.unique_id == UID and holds_image(service, container, test_images.raw)
    assert delete_blank_vhd(via(proxy), container=container, name=BLOB, unique_id=UID) is True


def test_verify_finds_a_page_that_differs_and_writes_no_footer(
    test_images: TestImages, proxy: FaultProxy, service: BlobServiceClient, container: str
) -> None:
    """A page written by someone else while the upload runs (here: while its first data write is held), where the
    image holds zeros: --verify reads it back, and no footer is written."""
    held = proxy.add(Fault("delay", method="PUT", query="^comp=page$", delay=2.0))

    def rot() -> None:
        deadline = time.monotonic() + 60
        while held.fired == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        service.get_blob_client(container, BLOB).upload_page(b"\x66" * PAGE, offset=ROUNDED - STACK_PAGE, length=PAGE)

    writer = threading.Thread(target=rot)
    writer.start()
    try:
        with pytest.raises(ServiceError, match=r"the data read back from \S+ has content fingerprint sha256:\w+, not "
                                               r"the image's sha256:\w+, so no footer was written"):
            upload(via(proxy), test_images["qcow2"], container, verify=True, max_connections=1)
    finally:
        writer.join()
    assert not is_valid_disk(service, container)


def test_a_known_fingerprint_that_does_not_match_writes_no_footer(
    test_images: TestImages, proxy: FaultProxy, service: BlobServiceClient, container: str
) -> None:
    wrong = "sha256:" + "0" * 64
    with pytest.raises(InputError, match=r"changed after its fingerprint was taken \(sha256:0+, now sha256:\w+\), so "
                                         r"no footer was written"):
        upload(via(proxy), test_images["qcow2"], container, fingerprint=wrong)
    assert not is_valid_disk(service, container)
    assert service.get_blob_client(container, BLOB).get_blob_properties().metadata["vhdcore_fingerprint"] == wrong


def test_a_blob_replaced_during_the_upload_is_not_written(test_images: TestImages, proxy: FaultProxy,
                                                          service: BlobServiceClient, container: str) -> None:
    """A late write (here: the first data write, held by the proxy while someone deletes the blob and makes another
    of the same name) never lands on the new blob."""
    held = proxy.add(Fault("delay", method="PUT", query="^comp=page$", delay=3.0))

    def replace_it() -> None:  # while the first data write is held (one connection: nothing else is in flight)
        deadline = time.monotonic() + 60
        while held.fired == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        blob = service.get_blob_client(container, BLOB)
        blob.delete_blob()
        blob.create_page_blob(ROUNDED + PAGE, metadata={"owner": "someone"})

    replacer = threading.Thread(target=replace_it)
    replacer.start()
    try:
        # Not "run the same upload again to resume it": the blob there now is not this upload's.
        with pytest.raises(RefusedError, match=r"was deleted or replaced by another writer during the upload \(or "
                                               r"taken over by another run of this upload\), and the blob there now "
                                               r"was left as it is; find out what else writes to that name"):
            upload(via(proxy), test_images["qcow2"], container, max_connections=1, options=fast_options())
    finally:
        replacer.join()
    after = stored(service, container, BLOB)
    assert after is not None and after.metadata == {"owner": "someone"}
    assert after.content == bytes(ROUNDED + PAGE)


# --- faults on every kind of request: no loss, no valid-looking half disk ------------------------------------

READ_TIMEOUT = 1.0


KINDS: dict[str, Callable[[int], dict[str, Any]]] = {
    "put-blob": lambda puts: {"method": "PUT", "query": "^$"},
    "first-data-page": lambda puts: {"method": "PUT", "query": "^comp=page$", "nth": 1},
    "last-data-page": lambda puts: {"method": "PUT", "query": "^comp=page$", "nth": puts},
    "head": lambda puts: {"method": "HEAD", "query": "^$"},
    "set-metadata": lambda puts: {"method": "PUT", "query": "^comp=metadata$"},
    "footer": lambda puts: {"method": "PUT", "query": "^comp=page$", "nth": puts + 1},
}
FAULTS: dict[str, Callable[..., Fault]] = {
    "503-ServerBusy": Fault.server_busy,
    "500-OperationTimedOut": Fault.operation_timed_out,
    "reset-before-forwarding": lambda **match: Fault("reset", **match),
    "forward-then-reset": lambda **match: Fault("forward_reset", **match),
    "delay-past-read-timeout": lambda **match: Fault("delay", delay=3 * READ_TIMEOUT, **match),
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_one_fault_loses_nothing_and_never_leaves_a_valid_looking_half_disk(
    kind: str, fault: str, test_images: TestImages, proxy: FaultProxy, service: BlobServiceClient, container: str,
) -> None:
    puts = len(data_pages(test_images))  # every run is under 4 MiB: one Put Page each
    rule = proxy.add(FAULTS[fault](path=f"/{container}/{BLOB}$", **KINDS[kind](puts)))
    try:
        result: ImageUpload | None = upload(via(proxy), test_images["vhd-dynamic"], container, unique_id=UID,
                                            options=fast_options(read_timeout=READ_TIMEOUT), max_connections=1)
    except VhdError as exc:
        text = str(exc)
        assert text.endswith(".") and "\n" not in text, text
        result = None
    proxy.drain()
    assert rule.fired == 1, proxy.log
    print(f"\nfault {kind} x {fault}: {'failed, then resumed' if result is None else 'succeeded'}")
    if result is None:  # failed: the blob is not a disk, and the same command finishes it
        assert not is_valid_disk(service, container)
        proxy.clear()
        result = upload(via(proxy), test_images["vhd-dynamic"], container, unique_id=UID)  # the same command
    assert result.unique_id == UID and holds_image(service, container, test_images.raw)
    assert page_ranges(service, container) == [*data_pages(test_images), (ROUNDED, ROUNDED + PAGE)]


def test_an_image_too_big_for_the_cloud_is_refused_before_any_request(proxy: FaultProxy, container: str,
                                                                      tmp_path: Path) -> None:
    big = tmp_path / "big.qcow2"
    qemu_img("create", "-f", "qcow2", big, "1536G")  # fine for Azure, too big for Azure Stack's 1 TiB page blobs
    stack = StorageTarget(account_url=proxy.endpoint(), account_key=via(proxy).account_key, cloud="AzureStackHub")
    with pytest.raises(SizeError, match=r"size 1649267441664 exceeds the 1023GiB maximum on AzureStackHub"):
        upload(stack, big, container)
    assert proxy.requests == 0


# --- what a resumed upload still has to send --------------------------------------------------------------------



@given(pages=st.lists(st.booleans(), min_size=1, max_size=64), start=st.integers(0, 63), length=st.integers(1, 64))
def test_missing_is_the_run_minus_the_written_ranges(pages: list[bool], start: int, length: int) -> None:
    written: list[tuple[int, int]] = []
    for index, done in enumerate(pages):
        if done:
            if written and written[-1][1] == index * PAGE:
                written[-1] = (written[-1][0], (index + 1) * PAGE)
            else:
                written.append((index * PAGE, (index + 1) * PAGE))
    data = bytes(range(256)) * (length * PAGE // 256)
    offset = start * PAGE
    pieces = list(_missing(offset, data, written))
    sent = {page for at, piece in pieces for page in range(at, at + len(piece), PAGE)}
    expected = {offset + i * PAGE for i in range(length)
                if not any(s <= offset + i * PAGE < e for s, e in written)}
    assert sent == expected
    assert all(piece == data[at - offset : at - offset + len(piece)] for at, piece in pieces)
    assert all(a + len(p) < b for (a, p), (b, _) in itertools.pairwise(pieces))  # maximal, in order


@pytest.mark.api_versions("2019-02-02")
def test_an_upload_passes_azure_stack_s_rules(test_images: TestImages, azurite: Azurite, service: BlobServiceClient,
                                              container: str) -> None:
    """Through StackProxy (API versions up to 2019-02-02, 1 TiB page blobs, writes of whole 4 KiB pages or the
    footer), with the Azure Stack Hub profile: every request is accepted, and the disk is the image."""
    with StackProxy(f"http://127.0.0.1:{azurite.port}") as stack:
        hub = StorageTarget(account_url=stack.endpoint(), account_key=via(stack).account_key, cloud="AzureStackHub")
        result = upload(hub, test_images["vmdk"], container, verify=True)
        stack.drain()
        assert stack.refused == [] and result.verified
        assert {s.query for s in stack.log if s.method == "PUT"} == {"", "comp=page", "comp=metadata"}
    assert holds_image(service, container, test_images.raw)


PERSISTENT: dict[str, Callable[..., Fault]] = {
    "503-every-time": lambda **match: Fault.server_busy(times=-1, **match),
    "forward-then-reset-every-time": lambda **match: Fault("forward_reset", times=-1, **match),
}


@pytest.mark.parametrize("fault", list(PERSISTENT))
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_persistent_fault_fails_in_one_sentence_or_lands_and_the_same_command_finishes(
    kind: str, fault: str, test_images: TestImages, proxy: FaultProxy, service: BlobServiceClient, container: str,
) -> None:
    puts = len(data_pages(test_images))
    rule = proxy.add(PERSISTENT[fault](path=f"/{container}/{BLOB}$", **KINDS[kind](puts)))
    try:
        result: ImageUpload | None = upload(via(proxy), test_images["vhdx"], container, unique_id=UID,
                                            options=fast_options(), max_connections=1)
    except VhdError as exc:
        text = str(exc)
        assert text.endswith(".") and "\n" not in text, text
        result = None
    else:
        text = ""
    proxy.clear()
    assert rule.fired >= 1
    print(f"\npersistent {kind} x {fault}: {'failed, then resumed' if result is None else 'succeeded'}")
    if result is None:
        assert not is_valid_disk(service, container)  # never a valid-looking half disk
        assert re.search(r"run (the same upload|it) again", text), text
        result = upload(via(proxy), test_images["vhdx"], container, unique_id=UID)  # the same command
    assert result.unique_id == UID and holds_image(service, container, test_images.raw)
    assert page_ranges(service, container) == [*data_pages(test_images), (ROUNDED, ROUNDED + PAGE)]
