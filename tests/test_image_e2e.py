"""VhdImage end to end: the real `pulumi` CLI runs the project's program (config imagePath) and the dynamic
provider against a real Azurite: up, an unchanged up, a second stack reading the disk with VhdImage.get, a
changed image shown as a replacement with both fingerprints at preview, a refused image at preview, and
destroy; an image URL (a compressed fixed VHD on a loopback web server) up, a new release's checksum shown as a
replacement with both values at preview, and destroy."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
from pathlib import Path

import pulumi
import pytest
from pulumi import automation as auto

from providers import VhdImage
from tests.conftest import shared_images
from tests.e2e_support import E2E, Run, without_sdk_cancellation
from tests.faultproxy import blob_service, stored
from tests.images import PAGE, SIZE, STACK_PAGE, MiB, TestImages, nonzero_pages, qemu_img
from tests.webserver import WebServer

pytestmark = pytest.mark.e2e
VHD_IMAGE = "pulumi-python:dynamic/azureblob:VhdImage"
ROUNDED = 6 * MiB


@pytest.fixture(scope="module")
def second_images(tmp_path_factory: pytest.TempPathFactory) -> TestImages:
    return shared_images(tmp_path_factory, "second", layout=[(0, PAGE), (3 * MiB, 96 * 1024)], seed=3,
                       names=["qcow2"])


def messages(run: Run) -> str:
    return "".join(e.diagnostic_event.message for e in run.events if e.diagnostic_event is not None)


def test_an_image_is_uploaded_replaced_when_its_content_changes_and_destroyed(
    e2e: E2E, test_images: TestImages, second_images: TestImages, tmp_path: Path
) -> None:
    image = tmp_path / "disk.qcow2"
    shutil.copy(test_images["qcow2"], image)
    e2e.configure(imagePath=str(image))
    _, run = e2e.up()
    out = e2e.outputs()
    data = sum(end - start for start, end in nonzero_pages(test_images.raw, STACK_PAGE))
    assert out["image_bytes_sent"] == data + PAGE and out["image_size_bytes"] == ROUNDED
    assert re.fullmatch(r"image-[0-9a-f]{8}\.vhd", out["image_blob_name"]), out["image_blob_name"]
    service = blob_service(e2e.azurite.connection_string)
    first = stored(service, e2e.container, out["image_blob_name"])
    assert first is not None and first.is_valid_disk(ROUNDED, out["image_unique_id"])
    assert first.content is not None and first.content[:SIZE] == test_images.raw
    log = messages(run)
    assert f"uploading {image} (0.8 MiB stored) to {e2e.container}/{out['image_blob_name']}" in log, log
    assert f"uploading {image}: 100% of 0.8 MiB read" in log and f"uploaded {image} to {out['image_url']}" in log

    _, run = e2e.up(expect_no_changes=True)
    assert all(op == "same" for op, _ in run.steps(VHD_IMAGE))

    # Another stack reads the disk by its URL (credentials from its own stack config) without managing it.
    def read_image() -> None:
        found = VhdImage.get("found", out["image_url"])
        pulumi.export("fingerprint", found.fingerprint)
        pulumi.export("unique_id", found.unique_id)

    reader = E2E(e2e.azurite, program=read_image)
    try:
        _, run = reader.up()
        assert [op for op, _ in run.steps(VHD_IMAGE)] == ["read"], run.steps(VHD_IMAGE)
        assert reader.outputs() == {"fingerprint": out["image_fingerprint"], "unique_id": out["image_unique_id"]}
    finally:
        reader.finish()  # its destroy forgets the disk and leaves the blob
    assert stored(service, e2e.container, out["image_blob_name"]) == first

    # The same disk content in another format at another path: nothing to do.
    moved = tmp_path / "disk.raw"
    shutil.copy(test_images["raw"], moved)
    e2e.configure(imagePath=str(moved))
    _, run = e2e.preview()
    assert [op for op, _ in run.steps(VHD_IMAGE)] == ["same"], run.steps(VHD_IMAGE)

    # New content: a replacement, and the preview names both fingerprints.
    qemu_img("convert", "-f", "raw", "-O", "qcow2", second_images["raw"], image)
    e2e.configure(imagePath=str(image))
    seen = len(e2e.scan.seen)
    _, preview_run = e2e.preview()
    shown = [text for where, text in e2e.scan.seen[seen:] if where == "preview: output"]
    steps = dict(preview_run.steps(VHD_IMAGE))
    assert "fingerprint" in steps["replace"] and "blob_name" in steps["replace"], steps  # a new image, a new name
    reasons = [e.resource_pre_event.metadata.keys for e in preview_run.events
               if e.resource_pre_event is not None and e.resource_pre_event.metadata.type == VHD_IMAGE]
    assert any(keys and "fingerprint" in keys for keys in reasons), reasons  # the replacement's reason
    text = "\n".join(shown) + messages(preview_run)
    old_fingerprint = out["image_fingerprint"]
    assert old_fingerprint in text and "=> \"sha256:" in text, text
    assert f"has new content (fingerprint {old_fingerprint} is now sha256:" in text, text

    _, run = e2e.up()
    ops = [op for op, _ in run.steps(VHD_IMAGE)]
    assert ops.index("create-replacement") < ops.index("delete-replaced")  # the new disk first: its own name
    after = e2e.outputs()
    assert after["image_fingerprint"] != old_fingerprint and after["image_blob_name"] != out["image_blob_name"]
    assert stored(service, e2e.container, out["image_blob_name"]) is None
    new = stored(service, e2e.container, after["image_blob_name"])
    assert new is not None and new.is_valid_disk(ROUNDED) and new.content is not None
    assert new.content[:SIZE] == second_images.raw

    e2e.destroy()
    assert stored(service, e2e.container, after["image_blob_name"]) is None


def test_a_refused_image_fails_the_preview_in_one_line_and_creates_nothing(
    e2e: E2E, test_images: TestImages, tmp_path: Path
) -> None:
    compressed = tmp_path / "compressed.qcow2"
    qemu_img("convert", "-c", "-f", "raw", "-O", "qcow2", test_images["raw"], compressed)
    e2e.configure(imagePath=str(compressed))
    with pytest.raises(auto.CommandError) as refused:
        e2e.preview()
    text = str(refused.value)
    assert "is a compressed qcow2" in text and "without -c." in text, text
    assert "Traceback" not in without_sdk_cancellation(text), text
    assert VHD_IMAGE not in str(e2e.stack.export_stack().deployment)


def test_an_image_url_is_uploaded_replaced_when_its_checksum_changes_and_destroyed(
    e2e: E2E, test_images: TestImages, second_images: TestImages, tmp_path: Path
) -> None:
    www = tmp_path / "www"
    www.mkdir()
    release = www / "disk.vhd.gz"
    release.write_bytes(gzip.compress(test_images["vhd-fixed"].read_bytes()))
    first_sha = hashlib.sha256(release.read_bytes()).hexdigest()
    with WebServer(www, ranges=True) as server:
        url = server.url("disk.vhd.gz")
        e2e.configure(imagePath=url, imageSha256=first_sha)
        _, run = e2e.up()
        out = e2e.outputs()
        data = sum(end - start for start, end in nonzero_pages(test_images.raw, STACK_PAGE))
        assert out["image_bytes_sent"] == data + PAGE and out["image_size_bytes"] == ROUNDED
        assert out["image_blob_name"].startswith("image-") and out["image_fingerprint"].startswith("sha256:")
        service = blob_service(e2e.azurite.connection_string)
        first = stored(service, e2e.container, out["image_blob_name"])
        assert first is not None and first.is_valid_disk(ROUNDED, out["image_unique_id"])
        assert first.content is not None and first.content[:SIZE] == test_images.raw
        log = messages(run)
        assert f"uploading {url} (5.0 MiB stored)" in log and f"uploaded {url} to {out['image_url']}" in log, log

        # A preview downloads nothing: an unchanged stack asks the server nothing at all.
        asked = len(server.served)
        _, run = e2e.preview()
        assert [op for op, _ in run.steps(VHD_IMAGE)] == ["same"] and len(server.served) == asked

        # A new release at the same URL, with its checksum: a replacement, and the preview shows both values.
        release.write_bytes(gzip.compress(second_images["raw"].read_bytes()))
        second_sha = hashlib.sha256(release.read_bytes()).hexdigest()
        e2e.configure(imagePath=url, imageSha256=second_sha)
        seen = len(e2e.scan.seen)
        _, preview_run = e2e.preview()
        assert len(server.served) == asked  # still nothing downloaded
        steps = dict(preview_run.steps(VHD_IMAGE))
        assert "source_sha256" in steps["replace"] and "blob_name" in steps["replace"], steps
        shown = [text for where, text in e2e.scan.seen[seen:] if where == "preview: output"]
        text = "\n".join(shown) + messages(preview_run)
        assert f"has new content (source_sha256 {first_sha} is now {second_sha})" in text, text
        assert first_sha in text and second_sha in text

        e2e.destroy()
        assert stored(service, e2e.container, out["image_blob_name"]) is None
