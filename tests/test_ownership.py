"""Ownership that metadata alone cannot claim, and resume by content (issue 16, parts 3 and 4), on a real Azurite
through the real command line: a page blob made with the plain SDK that carries a copy of the metadata this tool
writes (as Copy Blob does) and 1 MiB of someone else's data is never resumed, sealed, deleted or replaced; our own
interrupted upload is not replaced by a create; an image changed since an interrupted upload (its modification
time restored) is refused, or its changed pages sent, never sealed stale. Every case checks the answer (exit code,
one line on stderr) and that the blob holds what it held, byte for byte (tests/faultproxy.py, `stored`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient
from azurite_server import ACCOUNT, ACCOUNT_KEY

from tests.conftest import via
from tests.faultproxy import Fault, FaultProxy, Stored, fast_options, stored
from tests.images import PAGE, SIZE, STACK_PAGE, MiB, TestImages
from vhdcore.azure.page_blob import create_blank_vhd
from vhdcore.azure.upload import upload_image
from vhdcore.errors import ThrottledError, VhdError
from vhdcore.format.images import open_image
from vhdcore.format.unique_id import UniqueId

ROOT = Path(__file__).resolve().parent.parent
ROUNDED = 6 * MiB  # the test image's disk: its 5 MiB + 1536 rounded up to whole MiB
UID = UniqueId.parse("0123456789abcdef0123456789abcdef")
FOREIGN = bytes((i * 7 + 3) % 251 for i in range(MiB))  # someone else's 1 MiB, no zero page in it


def vhdcore(proxy: FaultProxy, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "VHDCORE_"))}
    env["AZURE_STORAGE_CONNECTION_STRING"] = (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey="
                                              f"{ACCOUNT_KEY};BlobEndpoint={proxy.endpoint()};")
    return subprocess.run([sys.executable, "-m", "vhdcore", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)


def refused(run: subprocess.CompletedProcess[str], pattern: str) -> str:
    """The run failed with exit 1 and one `vhdcore: error:` line matching `pattern`, after nothing but notes (an
    upload says it rounds the size up, and that it reads back what is there); returns that line."""
    assert run.returncode == 1, (run.returncode, run.stdout, run.stderr)
    *notes, line = run.stderr.rstrip("\n").split("\n")
    assert run.stdout == "" and line.startswith("vhdcore: error: "), run.stderr
    assert all(note.startswith("vhdcore: note: ") for note in notes), run.stderr
    assert re.search(pattern, line), line
    return line


def interrupted_upload(image: Path, proxy: FaultProxy, container: str, name: str, *, after: int = 3) -> Stored:
    """An upload of `image` whose data writes fail for good from the `after + 1`-th on: what it left."""
    proxy.add(Fault.server_busy(method="PUT", query="^comp=page$", nth=after + 1, times=-1))
    with open_image(image) as opened, pytest.raises(ThrottledError):
        upload_image(via(proxy), opened, container=container, name=name, unique_id=UID, max_connections=1,
                     options=fast_options())
    proxy.clear()
    return left(proxy, container, name)


def left(proxy: FaultProxy, container: str, name: str) -> Stored:
    from tests.faultproxy import blob_service

    with blob_service(f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                      f"BlobEndpoint={proxy.endpoint()};") as service:
        found = stored(service, container, name)
    assert found is not None
    return found


def forge(service: BlobServiceClient, container: str, name: str, metadata: dict[str, str], length: int) -> Stored:
    """A page blob made with the plain SDK: this tool's metadata, copied, and 1 MiB of someone else's data."""
    blob = service.get_blob_client(container, name)
    blob.create_page_blob(length, metadata=metadata)
    blob.upload_page(FOREIGN, offset=0, length=len(FOREIGN))
    found = stored(service, container, name)
    assert found is not None and found.content is not None and found.content[: len(FOREIGN)] == FOREIGN
    return found


@pytest.fixture
def upload_metadata(test_images: TestImages, proxy: FaultProxy, container: str) -> dict[str, str]:
    """The metadata a real, interrupted upload of the test image wrote (under another name)."""
    return interrupted_upload(test_images["raw"], proxy, container, "original.vhd").metadata


@pytest.fixture
def create_metadata(proxy: FaultProxy, container: str) -> dict[str, str]:
    """The metadata a real blank create of a 6 MiB disk wrote (under another name)."""
    create_blank_vhd(via(proxy), container=container, name="blank.vhd", size=ROUNDED)
    proxy.clear()
    return left(proxy, container, "blank.vhd").metadata


# --- a foreign blob that carries a copy of this tool's metadata --------------------------------------------------


def test_upload_never_resumes_into_a_foreign_blob_with_copied_metadata(
    test_images: TestImages, upload_metadata: dict[str, str], proxy: FaultProxy, service: BlobServiceClient,
    container: str,
) -> None:
    """Before: resumed into it, sent the rest and wrote a valid footer: the foreign bytes became the disk (exit 0)."""
    before = forge(service, container, "disk.vhd", upload_metadata, ROUNDED + PAGE)
    run = vhdcore(proxy, "blob", "upload", test_images["raw"], "-c", container, "-n", "disk.vhd")
    refused(run, r"^vhdcore: error: blob \S+/disk\.vhd is an unfinished upload of image 'disk\.raw' by its "
                 r"metadata, holding 1048576 bytes of data, but its page at offset 0 holds other bytes than image "
                 r"\S+ has there \(the image changed since that upload, or the blob holds another image's or someone "
                 r"else's data\), so it was not resumed and was left untouched; upload to another name, or, if that "
                 r"blob holds nothing you need, delete it by its unique id \(`blob inspect` shows it\) and upload "
                 r"again\.$")
    assert stored(service, container, "disk.vhd") == before
    assert proxy.body_bytes == 0  # not one byte written: checked first, by content


@pytest.fixture(params=["upload", "create"])
def forged(request: pytest.FixtureRequest, service: BlobServiceClient, container: str) -> tuple[str, Stored]:
    """disk.vhd forged with the metadata of a real upload's, or of a real create's, blob: (which, what it holds)."""
    metadata: dict[str, str] = request.getfixturevalue(f"{request.param}_metadata")
    return request.param, forge(service, container, "disk.vhd", metadata, ROUNDED + PAGE)


def test_delete_without_unique_id_never_deletes_a_blob_holding_data(
    forged: tuple[str, Stored], proxy: FaultProxy, service: BlobServiceClient, container: str,
) -> None:
    """Before: deleted (the metadata said it was this tool's unfinished upload, or a create's footerless leftover)."""
    copied, before = forged
    what = (r"an unfinished upload of image 'disk\.raw' by its metadata" if copied == "upload" else
            r"a disk this tool made by its metadata, as an ownerless create's \(the command line's\) blob")
    run = vhdcore(proxy, "blob", "delete", "-c", container, "-n", "disk.vhd")
    refused(run, rf"^vhdcore: error: blob \S+/disk\.vhd is {what}, holding 1048576 bytes of data, not the empty blob "
                 r"an interrupted create or upload leaves, so it was not deleted without its unique id; give its "
                 r"unique id \(`blob inspect` shows it\) if you are sure it should go\.$")
    assert stored(service, container, "disk.vhd") == before
    # The way out the message names: inspect shows the unique id, and delete takes it when the user gives it.
    shown = vhdcore(proxy, "blob", "inspect", "-c", container, "-n", "disk.vhd", "-o", "json")
    recorded = before.metadata["vhdcore_unique_id"]
    assert shown.returncode == 1 and f'"recorded_unique_id": "{recorded}"' in shown.stdout, shown.stdout
    table = vhdcore(proxy, "blob", "inspect", "-c", container, "-n", "disk.vhd")
    assert f"recorded_unique_id  {recorded} (this tool's metadata" in table.stdout, table.stdout
    gone = vhdcore(proxy, "blob", "delete", "-c", container, "-n", "disk.vhd", "--unique-id", recorded)
    assert gone.returncode == 0 and gone.stdout.startswith("deleted "), gone.stderr
    assert stored(service, container, "disk.vhd") is None


def test_create_never_replaces_a_blob_holding_data(
    forged: tuple[str, Stored], proxy: FaultProxy, service: BlobServiceClient, container: str,
) -> None:
    """Before: create took it for an interrupted create's leftover, deleted it and made a blank disk (exit 0)."""
    copied, before = forged
    what = (r"an unfinished upload of image 'disk\.raw' by its metadata, holding 1048576 bytes of data: if it is "
            r"your upload, running it again finishes it \(what is there is compared with the image first\), else "
            r"`blob delete` with the unique id `blob inspect` shows removes it" if copied == "upload" else
            r"a disk this tool made by its metadata, as an ownerless create's \(the command line's\) blob, holding "
            r"1048576 bytes of data")
    run = vhdcore(proxy, "blob", "create", "-c", container, "-n", "disk.vhd", "--size", "6MiB")
    refused(run, rf"^vhdcore: error: blob \S+/disk\.vhd already exists and was left untouched \({what}\); choose "
                 r"another name, or delete that blob first if it is yours\.$")
    assert stored(service, container, "disk.vhd") == before


def test_grow_never_seals_a_blob_that_has_only_this_tools_metadata(
    forged: tuple[str, Stored], proxy: FaultProxy, service: BlobServiceClient, container: str,
) -> None:
    """Before: grow took the metadata's size and unique id, resized the blob and wrote a valid footer at its new
    end, so the foreign bytes (or half an upload) became a disk (exit 0)."""
    _copied, before = forged
    recorded = before.metadata["vhdcore_unique_id"]
    run = vhdcore(proxy, "blob", "grow", "-c", container, "-n", "disk.vhd", "--size", "8MiB")
    refused(run, rf"^vhdcore: error: blob \S+/disk\.vhd carries this tool's metadata for a disk of {ROUNDED} bytes "
                 rf"but no valid footer with unique id {recorded} \(an unfinished upload or create, or a damaged "
                 r"footer\), so it was not grown; inspect it;")
    assert stored(service, container, "disk.vhd") == before


def test_a_foreign_blob_without_this_tools_metadata_is_named_for_what_it_holds(
    proxy: FaultProxy, service: BlobServiceClient, container: str,
) -> None:
    before = forge(service, container, "disk.vhd", {"owner": "someone"}, 2 * MiB + PAGE)
    run = vhdcore(proxy, "blob", "create", "-c", container, "-n", "disk.vhd", "--size", "2MiB")
    refused(run, r"already exists and was left untouched \(a page blob holding 1048576 bytes of data that this tool "
                 r"did not write\); choose another name")
    assert stored(service, container, "disk.vhd") == before


# --- our own interrupted upload --------------------------------------------------------------------------------


def test_create_over_an_interrupted_upload_leaves_its_data_and_the_upload_then_finishes(
    test_images: TestImages, proxy: FaultProxy, service: BlobServiceClient, container: str,
) -> None:
    """Before: create took the unfinished upload for its own footerless leftover and deleted the uploaded data."""
    before = interrupted_upload(test_images["raw"], proxy, container, "disk.vhd")
    assert before.content is not None and any(before.content[:ROUNDED])
    run = vhdcore(proxy, "blob", "create", "-c", container, "-n", "disk.vhd", "--size", "6MiB")
    refused(run, r"already exists and was left untouched \(an unfinished upload of image 'disk\.raw' by its "
                 r"metadata, holding \d+ bytes of data: if it is your upload, running it again finishes it")
    assert stored(service, container, "disk.vhd") == before
    finished = vhdcore(proxy, "blob", "upload", test_images["raw"], "-c", container, "-n", "disk.vhd")
    assert finished.returncode == 0 and "(resumed)" in finished.stdout, finished.stderr
    after = stored(service, container, "disk.vhd")
    assert after is not None and after.is_valid_disk(ROUNDED, UID) and after.content is not None
    assert after.content[:SIZE] == test_images.raw and not any(after.content[SIZE:ROUNDED])


# --- resume by content: the image changed since the interrupted run, its modification time restored --------------


def changed(path: Path, offset: int, data: bytes) -> None:
    """Write `data` at `offset` of `path` and give it back the modification time it had (as cp -p, rsync -a or tar
    do when they bring an older copy back)."""
    was = path.stat()
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)
    os.utime(path, ns=(was.st_atime_ns, was.st_mtime_ns))
    assert path.stat().st_mtime_ns == was.st_mtime_ns


@pytest.mark.parametrize("change", ["a-sent-page-changed", "a-sent-page-now-zeros"])
def test_an_image_changed_inside_the_part_already_sent_is_refused_untouched(
    change: str, test_images: TestImages, proxy: FaultProxy, service: BlobServiceClient, container: str,
    tmp_path: Path,
) -> None:
    """Before: resumed (the modification time matched), sent the rest and sealed the disk with the stale page."""
    image = Path(shutil.copy(test_images["raw"], tmp_path / "disk.raw"))
    before = interrupted_upload(image, proxy, container, "disk.vhd")
    assert before.content is not None and before.content[:PAGE] == test_images.raw[:PAGE] != bytes(PAGE)  # sent
    # The first 4 KiB page was sent; now the image holds other bytes there, or zeros (which an upload never sends).
    changed(image, 0, b"\x42" * PAGE if change == "a-sent-page-changed" else bytes(PAGE))
    run = vhdcore(proxy, "blob", "upload", image, "-c", container, "-n", "disk.vhd")
    refused(run, r"^vhdcore: error: blob \S+/disk\.vhd is an unfinished upload of image 'disk\.raw' by its metadata, "
                 r"holding \d+ bytes of data, but its page at offset 0 holds other bytes than image "
                 rf"{re.escape(str(image))} has there \(the image changed since that upload, .*\), so it was not "
                 r"resumed and was left untouched; upload to another name, or, if that blob holds nothing you need, "
                 r"delete it by its unique id \(`blob inspect` shows it\) and upload again\.$")
    assert stored(service, container, "disk.vhd") == before
    assert proxy.body_bytes == 0


def test_an_image_changed_outside_the_part_already_sent_is_resumed_with_its_new_content(
    test_images: TestImages, proxy: FaultProxy, service: BlobServiceClient, container: str, tmp_path: Path,
) -> None:
    image = Path(shutil.copy(test_images["raw"], tmp_path / "disk.raw"))
    before = interrupted_upload(image, proxy, container, "disk.vhd")
    assert before.content is not None and not any(before.content[SIZE - PAGE : SIZE])  # the last page: not sent yet
    changed(image, SIZE - PAGE, b"\x42" * PAGE)
    run = vhdcore(proxy, "blob", "upload", image, "-c", container, "-n", "disk.vhd")
    assert run.returncode == 0 and "(resumed)" in run.stdout, run.stderr
    after = stored(service, container, "disk.vhd")
    assert after is not None and after.is_valid_disk(ROUNDED, UID) and after.content is not None
    assert after.content[:SIZE] == image.read_bytes() and after.content[SIZE - PAGE : SIZE] == b"\x42" * PAGE


def test_a_finished_disk_is_this_image_only_by_its_content(
    test_images: TestImages, proxy: FaultProxy, service: BlobServiceClient, container: str, tmp_path: Path,
) -> None:
    """Running the same upload again after success reads the disk back: the same bytes are "already there"; a disk
    whose data was changed since (a guest wrote to it, or someone else) is not this image, and is left as it is."""
    image = test_images["raw"]
    first = vhdcore(proxy, "blob", "upload", image, "-c", container, "-n", "disk.vhd", "--unique-id", str(UID))
    assert first.returncode == 0, first.stderr
    proxy.clear()
    again = vhdcore(proxy, "blob", "upload", image, "-c", container, "-n", "disk.vhd")
    assert again.returncode == 0 and "already holds" in again.stdout and proxy.body_bytes == 0, again.stderr
    service.get_blob_client(container, "disk.vhd").upload_page(b"\x42" * PAGE, offset=STACK_PAGE, length=PAGE)
    before = stored(service, container, "disk.vhd")
    run = vhdcore(proxy, "blob", "upload", image, "-c", container, "-n", "disk.vhd")
    refused(run, r"already exists and was left untouched \(a disk uploaded from image 'disk\.raw' by its "
                 rf"metadata, holding \d+ bytes of data: its data at offset {STACK_PAGE} differs from image \S+\); "
                 r"choose another name")
    assert stored(service, container, "disk.vhd") == before


def test_a_killed_runs_late_write_cannot_land_on_the_resumed_upload(
    test_images: TestImages, proxy: FaultProxy, service: BlobServiceClient, container: str, tmp_path: Path,
) -> None:
    """The first run's third data write is held by the proxy while the run gives up; the image then changes at that
    page (not on the blob yet, so the resume sends its new content). The held write, released once the resume has
    fenced the blob, carries the old sequence number: storage refuses it, and the disk holds the new content."""
    image = Path(shutil.copy(test_images["raw"], tmp_path / "disk.raw"))
    release = threading.Event()
    late = proxy.add(Fault("delay", method="PUT", query="^comp=page$", nth=3, hold=release))
    proxy.add(Fault.server_busy(method="PUT", query="^comp=page$", nth=3, times=-1))  # the rest fail: run 1 stops
    try:
        with open_image(image) as opened, pytest.raises(VhdError):
            upload_image(via(proxy), opened, container=container, name="disk.vhd", unique_id=UID, max_connections=1,
                         options=fast_options(read_timeout=0.5))
        assert late.fired == 1 and not release.is_set()
        with proxy._lock:
            proxy.faults.clear()  # (not proxy.clear(): it waits for the held request)
        changed(image, 2 * MiB - 1000, b"\x42" * 1000)  # inside the held write: [2 MiB - 4 KiB, 2 MiB + 4 KiB)

        def release_after_the_fence() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not any(
                    (s.method, s.query, s.status) == ("PUT", "comp=properties", 200) for s in list(proxy.log)):
                time.sleep(0.01)
            release.set()

        watcher = threading.Thread(target=release_after_the_fence)
        watcher.start()
        with open_image(image) as opened:
            result = upload_image(via(proxy), opened, container=container, name="disk.vhd", max_connections=1)
        watcher.join()
    finally:
        release.set()
    proxy.drain()
    landed_late = [s for s in proxy.log if s.fault == "delay"]
    assert [s.status for s in landed_late] == [412], landed_late  # SequenceNumberConditionNotMet
    assert result.resumed
    after = stored(service, container, "disk.vhd")
    assert after is not None and after.is_valid_disk(ROUNDED, UID) and after.content is not None
    assert after.content[:SIZE] == image.read_bytes()
