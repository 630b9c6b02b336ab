"""Managed disks filled by Azure's direct upload.

Data plane, on Azurite: a page blob made to stand for a disk's upload target (exactly the upload size, written
only through a service SAS), filled by `vhdcore disk upload --sas-url` through the recording proxy, which shows that
no Put Blob, no metadata and no properties request was ever sent and the blob's creation time did not change; a
size mismatch refused before any write; a kill and a resume; faults on data pages and on the footer; images as
published (compressed files, and URLs served by tests/webserver.py) read as `blob upload` reads them, and a wrong
checksum, found only after the data went out, leaving the disk waiting for its upload until the right one finishes
it.

Control plane, against tests/compute_server.py (the published DiskRP 2026-03-02 contract, over https with a test CA,
azure-mgmt-compute and DefaultAzureCredential used unchanged): `vhdcore disk create` end to end, its request
sequence, a failure that leaves the disk waiting for its upload and a re-run that finishes it, refusals, Trusted
Launch with a VM guest state, delete refused while a VM holds the disk, an image URL with a wrong checksum then the
right one (the disk's tag corrected), and ManagedDiskImage's provider with an image URL: identified by its checksum
at preview (nothing downloaded), uploaded, and imported by its resource id through the tag.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas
from azurite_server import ACCOUNT, ACCOUNT_KEY, Azurite

from providers.managed_disk_provider import ManagedDiskImageProvider
from tests.compute_server import API_VERSION, GUEST_STATE_LENGTH, ArmError, ComputeServer, serving
from tests.faultproxy import Fault, FaultProxy, Refusal, blob_service, fast_options
from tests.images import PAGE, STACK_PAGE, MiB, TestImages, nonzero_pages
from tests.test_image_cli import killed_at_third_write
from tests.test_sources import compress
from tests.webserver import WebServer
from vhdcore.azure.compute import (
    ComputeTarget,
    DiskAddress,
    DiskSpec,
    create_upload_disk,
    delete_disk,
    get_disk,
    grant_write,
    revoke_access,
)
from vhdcore.azure.managed_disks import upload_to_managed_disk
from vhdcore.azure.names import owner_tag
from vhdcore.azure.upload import upload_image_to_sas
from vhdcore.errors import AuthFailedError, ChecksumMismatchError, DiskAttachedError, RefusedError, VhdError
from vhdcore.format.images import open_image

ROOT = Path(__file__).resolve().parent.parent
SUB = "11111111-2222-3333-4444-555555555555"
DISK = 20 * MiB  # the test image (5 MiB + 1536) in a managed disk: at least 20 MiB
UPLOAD = DISK + PAGE


def run(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(*args), capture_output=True, text=True, cwd=ROOT, env=clean_env(env),
                          timeout=timeout)


def command(*args: str | Path) -> list[str]:
    return [str(ROOT / "venv/bin/python"), "-m", "vhdcore", *map(str, args)]


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "IDENTITY_", "MSI_", "VHDCORE_"))
            and k != "REQUESTS_CA_BUNDLE"}
    return {**keep, **(extra or {})}


def expected_disk(raw: bytes) -> bytes:
    """The data area of the fixed VHD the test image becomes in a managed disk."""
    return raw + bytes(DISK - len(raw))


def data_bytes(raw: bytes) -> int:
    return sum(end - start for start, end in nonzero_pages(raw, STACK_PAGE))


# --- data plane ------------------------------------------------------------------------------------------------------


class UploadTarget:
    """A page blob standing for a managed disk's upload target: made at exactly `length` bytes by the 'service', and
    written by the test only through a blob service SAS (read, write) that leads through `proxy`."""

    def __init__(self, service: BlobServiceClient, container: str, proxy: FaultProxy, length: int = UPLOAD) -> None:
        self.blob = service.get_blob_client(container, "abcd")
        self.blob.create_page_blob(length)
        self.created = self.blob.get_blob_properties().creation_time
        token = generate_blob_sas(ACCOUNT, container, "abcd", account_key=ACCOUNT_KEY,
                                  permission=BlobSasPermissions(read=True, write=True),
                                  expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
        self.sas_url = f"{proxy.endpoint()}/{container}/abcd?{token}"
        self.signature = token.split("sig=")[1].split("&")[0]

    def content(self) -> bytes:
        return bytes(self.blob.download_blob().readall())

    def props(self) -> Any:
        return self.blob.get_blob_properties()


PUT_PAGE = r"(^|&)comp=page(&|$)"  # a SAS URL's requests carry the SAS in their query too


def comp(query: str) -> str | None:
    """The request kind a query names (comp=...), None for none (Put Blob, Get Blob, HEAD): the SAS is ignored."""
    params = dict(p.partition("=")[::2] for p in query.split("&") if p)
    return params.get("comp")


def never_recreated_nor_labelled(proxy: FaultProxy) -> None:
    """No Put Blob (a PUT with no comp=), no metadata and no properties request reached the blob."""
    proxy.drain()
    for seen in proxy.log:
        kind = comp(seen.query)
        assert not (seen.method == "PUT" and kind is None), f"a Put Blob was sent: {seen.method} {kind}"
        assert kind not in ("metadata", "properties"), f"a {kind} request was sent"


def assert_finished(target: UploadTarget, raw: bytes) -> None:
    content = target.content()
    assert len(content) == UPLOAD and content[:DISK] == expected_disk(raw)
    from vhdcore.format.report import DiskReport

    report = DiskReport.from_tail(content[-PAGE:], len(content))
    assert report.azure_ready and report.footer is not None and report.footer.current_size == DISK
    assert target.props().creation_time == target.created  # the same blob: never recreated


def sas_env(target: UploadTarget) -> dict[str, str]:
    return {"VHDCORE_SAS_URL": target.sas_url}


@pytest.mark.parametrize("name", ["raw", "qcow2", "vhdx"])
def test_disk_upload_fills_the_blob_with_only_its_pages_and_the_footer_and_never_recreates_or_labels_it(
        name: str, test_images: TestImages, proxy: FaultProxy, service: BlobServiceClient, container: str) -> None:
    target = UploadTarget(service, container, proxy)
    done = run("disk", "upload", test_images[name], "-o", "json", env=sas_env(target))
    assert done.returncode == 0, done.stderr
    never_recreated_nor_labelled(proxy)
    assert_finished(target, test_images.raw)
    doc = json.loads(done.stdout)
    assert (doc["size"], doc["blob_length"], doc["resumed"]) == (DISK, UPLOAD, False)
    assert doc["bytes_sent"] == data_bytes(test_images.raw) + PAGE
    assert proxy.body_bytes == doc["bytes_sent"]  # the pages and the footer: nothing else has a body
    kinds = [(s.method, comp(s.query)) for s in proxy.log]
    # HEAD (the length), the page list, the data pages, HEAD, the footer: in that order.
    assert kinds[:2] == [("HEAD", None), ("GET", "pagelist")] and kinds[-2:] == [("HEAD", None), ("PUT", "page")]
    assert set(kinds[2:-2]) == {("PUT", "page")}
    assert target.signature not in done.stdout + done.stderr and "sig=" not in done.stdout + done.stderr


def test_a_size_mismatch_is_refused_before_any_write_naming_the_upload_size(
        test_images: TestImages, proxy: FaultProxy, service: BlobServiceClient, container: str) -> None:
    target = UploadTarget(service, container, proxy, length=30 * MiB + PAGE)
    refused = run("disk", "upload", test_images["qcow2"], env=sas_env(target))
    errors = [line for line in refused.stderr.splitlines() if line.startswith("vhdcore: error:")]
    assert refused.returncode == 1 and len(errors) == 1, refused.stderr
    assert f"becomes a fixed VHD of {UPLOAD} bytes, so nothing was written; create the managed disk with upload " \
           f"size {UPLOAD} (`vhdcore inspect` prints it as upload_size_bytes)" in refused.stderr, refused.stderr
    assert [(s.method, comp(s.query)) for s in proxy.log] == [("HEAD", None)] and proxy.body_bytes == 0
    assert target.content() == bytes(30 * MiB + PAGE)
    inspected = json.loads(run("inspect", test_images["qcow2"], "-o", "json").stdout)
    assert inspected["upload_size_bytes"] == UPLOAD


def test_a_killed_upload_is_resumed_by_content_by_the_same_command(
        test_images: TestImages, proxy: FaultProxy, service: BlobServiceClient, container: str) -> None:
    target = UploadTarget(service, container, proxy)
    killed_at_third_write(proxy, PUT_PAGE, ["disk", "upload", test_images["qcow2"], "--max-connections", "1"],
                          clean_env(sas_env(target)))
    half = target.content()
    assert half[-PAGE:] == bytes(PAGE)  # no footer: not a disk
    assert 0 < sum(1 for p in range(0, DISK, STACK_PAGE) if any(half[p:p + STACK_PAGE])) * STACK_PAGE < \
        data_bytes(test_images.raw)
    never_recreated_nor_labelled(proxy)
    proxy.clear()

    again = run("disk", "upload", test_images["qcow2"], "-o", "json", env=sas_env(target))
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["resumed"] is True and doc["bytes_sent"] < data_bytes(test_images.raw) + PAGE
    never_recreated_nor_labelled(proxy)
    reads = [s for s in proxy.log if s.method == "GET" and comp(s.query) is None]
    assert reads and sum(s.answer_bytes for s in reads) > 0  # what was there was read back and compared
    assert_finished(target, test_images.raw)


class FooterRefusing(FaultProxy):
    """Answers 503 ServerBusy to every Put Page that ends where the blob ends: the footer write, and only it."""

    def refuse(self, method: str, path: str, query: str, headers: Any) -> Refusal | None:
        written = headers.get("x-ms-range") or ""
        if method == "PUT" and comp(query) == "page" and written.endswith(f"-{UPLOAD - 1}"):
            return Refusal(503, "ServerBusy")
        return None


@pytest.mark.parametrize("where", ["data", "footer"])
def test_a_persistent_fault_leaves_no_disk_says_so_and_the_same_upload_finishes_it(
        where: str, test_images: TestImages, azurite: Azurite, proxy: FaultProxy, service: BlobServiceClient,
        container: str) -> None:
    faulty: FaultProxy
    if where == "data":
        faulty = FaultProxy(f"http://127.0.0.1:{azurite.port}")
        faulty.add(Fault.server_busy(method="PUT", query=PUT_PAGE, nth=2, times=-1))
    else:
        faulty = FooterRefusing(f"http://127.0.0.1:{azurite.port}")
    with faulty, open_image(test_images["raw"]) as image:
        target = UploadTarget(service, container, faulty)
        with pytest.raises(VhdError) as failed:
            upload_image_to_sas(target.sas_url, image, options=fast_options())
        never_recreated_nor_labelled(faulty)
    message = str(failed.value)
    assert "run the same upload again" in message and "sig=" not in message and "\n" not in message, message
    assert target.content()[-PAGE:] == bytes(PAGE)  # no footer: not a disk
    with open_image(test_images["raw"]) as image:
        done = upload_image_to_sas(target.sas_url.replace(f":{faulty.port}/", f":{proxy.port}/"), image)
    assert done.resumed is True
    never_recreated_nor_labelled(proxy)
    assert_finished(target, test_images.raw)


# --- images as published: compressed files and URLs, read as `blob upload` reads them -------------------------------


@pytest.fixture(scope="module")
def www(test_images: TestImages, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test image as published, in one folder (the URL cases serve it): the raw disk in xz, the qcow2 in gzip,
    and the fixed VHD as it is."""
    folder = tmp_path_factory.mktemp("published")
    for name, kind in (("raw", "xz"), ("qcow2", "gzip")):
        copy = Path(shutil.copy(test_images[name], folder / f"disk.{name}"))
        compress(copy, kind)
        copy.unlink()
    shutil.copy(test_images["vhd-fixed"], folder / "disk.vhd")
    return folder


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


WRONG = hashlib.sha256(b"another release").hexdigest()
STREAMED = "a stream, in order (nothing stored locally)"
# source (a file in www, or "url": www's fixed VHD from the web server), options, compression, route
PUBLISHED = {
    "raw.xz": (["--format", "raw"], "xz", STREAMED),
    "qcow2.gz": ([], "gzip", "a sparse temporary file of its data"),
    "url": ([], "none", STREAMED),
}


def one_error(done: subprocess.CompletedProcess[str]) -> str:
    """The command's only error line (notes apart)."""
    lines = [line for line in done.stderr.splitlines() if not line.startswith("vhdcore: note:")]
    assert len(lines) == 1 and lines[0].startswith("vhdcore: error:"), done.stderr
    return lines[0]


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_disk_upload_reads_compressed_images_and_urls_and_still_never_recreates_or_labels_the_blob(
        name: str, www: Path, test_images: TestImages, proxy: FaultProxy, service: BlobServiceClient,
        container: str) -> None:
    options, compression, route = PUBLISHED[name]
    target = UploadTarget(service, container, proxy)
    with WebServer(www) as server:
        if name == "url":
            source = server.url("disk.vhd", query="token=SECRET")
            options = ["--sha256", sha256_of(www / "disk.vhd")]
        else:
            source = str(www / f"disk.{name}")
        inspected = run("inspect", source, *options, "-o", "json")
        done = run("disk", "upload", source, *options, "-o", "json", env=sas_env(target))
    assert json.loads(inspected.stdout)["upload_size_bytes"] == UPLOAD, inspected.stderr  # what inspect says to make
    assert done.returncode == 0, done.stderr
    never_recreated_nor_labelled(proxy)
    assert_finished(target, test_images.raw)
    doc = json.loads(done.stdout)
    assert (doc["compression"], doc["size"], doc["blob_length"], doc["resumed"]) == (compression, DISK, UPLOAD, False)
    assert doc["route"].startswith(route), doc["route"]
    assert doc["bytes_sent"] == data_bytes(test_images.raw) + PAGE == proxy.body_bytes  # the data, then the footer
    if name == "url":
        assert doc["source"] == f"http://127.0.0.1:{server.port}/disk.vhd?<query hidden>"
        assert doc["sha256"] == sha256_of(www / "disk.vhd")
    shown = done.stdout + done.stderr
    assert "SECRET" not in shown and target.signature not in shown


def test_a_wrong_checksum_leaves_the_disk_waiting_for_its_upload_says_so_and_the_right_one_finishes_it(
        www: Path, test_images: TestImages, proxy: FaultProxy, service: BlobServiceClient, container: str) -> None:
    target = UploadTarget(service, container, proxy)
    good = sha256_of(www / "disk.vhd")
    with WebServer(www) as server:
        url = server.url("disk.vhd")
        failed = run("disk", "upload", url, "--sha256", WRONG, env=sas_env(target))
        error = one_error(failed)
        assert failed.returncode == 2 and failed.stdout == ""
        assert f"does not have the SHA-256 that was given: expected {WRONG}, found {good}" in error, error
        assert "stopped before the footer, so no disk was sealed: the disk is still waiting for its upload and no VM " \
            "can use it (run the same upload again once the source is right; it reads back what is there)" in error
        never_recreated_nor_labelled(proxy)
        # The size came from the URL's length, so the first window's data went out before the checksum was known.
        assert any(s.method == "PUT" for s in proxy.log)
        assert target.content()[-PAGE:] == bytes(PAGE)  # no footer: not a disk
        proxy.clear()
        again = run("disk", "upload", url, "--sha256", good, "-o", "json", env=sas_env(target))
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["resumed"] is True and doc["bytes_sent"] < data_bytes(test_images.raw) + PAGE
    never_recreated_nor_labelled(proxy)
    assert_finished(target, test_images.raw)


# --- control plane -------------------------------------------------------------------------------------------------


@pytest.fixture
def compute(azurite: Azurite, proxy: FaultProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[ComputeServer]:
    """The local Compute server on https (its CA in tmp_path), its SAS URLs leading through `proxy` to Azurite, and
    this process's environment pointed at it as a user's would be at Azure."""
    with serving(blob_service(azurite.connection_string), proxy.endpoint(), ACCOUNT, ACCOUNT_KEY, tmp_path, monkeypatch,
                 SUB) as server:
        yield server


def blob_of(server: ComputeServer, service: BlobServiceClient, name: str, blob: str = "abcd") -> bytes:
    disk = server.disk(SUB, "rg", name)
    assert disk is not None
    return bytes(service.get_blob_client(disk.container, blob).download_blob().readall())


def test_disk_create_makes_a_usable_disk_from_an_image_through_the_published_contract(
        test_images: TestImages, compute: ComputeServer, proxy: FaultProxy, service: BlobServiceClient) -> None:
    done = run("disk", "create", test_images["qcow2"], "-g", "rg", "-n", "os1", "-l", "westeurope", "--sku",
               "Premium_LRS", "--os-type", "Linux", "--hyper-v-generation", "V2", "--tags", "team=disks", "-o", "json",
               env=compute.environment(SUB))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    disk_id = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/os1"
    assert (doc["id"], doc["state"], doc["upload_size"], doc["sku"], doc["created"]) == (
        disk_id, "Unattached", UPLOAD, "Premium_LRS", True)
    disk = compute.disk(SUB, "rg", "os1")
    assert disk is not None and (disk.state, disk.create_option, disk.upload_size, disk.os_type, disk.tags) == (
        "Unattached", "Upload", UPLOAD, "Linux", {"team": "disks", "vhdcore_fingerprint": doc["fingerprint"]})
    content = blob_of(compute, service, "os1")
    assert content[:DISK] == expected_disk(test_images.raw) and content[-PAGE:][:8] == b"conectix"
    never_recreated_nor_labelled(proxy)
    # The request sequence: every call at the pinned API version, each write a long-running operation polled.
    calls = [(c.method, c.path.rsplit("/", 1)[-1], c.status) for c in compute.calls if c.path != "/msi/token"]
    assert calls[:2] == [("GET", "os1", 404), ("PUT", "os1", 202)]
    assert [c for c in calls if c[0] == "POST"] == [("POST", "beginGetAccess", 202), ("POST", "endGetAccess", 202)]
    assert {c.api_version for c in compute.calls if "DiskOperations" not in c.path and c.path != "/msi/token"} == \
        {API_VERSION}
    assert any("DiskOperations" in c.path for c in compute.calls)
    assert "sig=" not in done.stdout + done.stderr


def test_a_failed_upload_leaves_the_disk_waiting_says_what_it_costs_and_a_rerun_grants_again_and_finishes(
        test_images: TestImages, compute: ComputeServer, proxy: FaultProxy, service: BlobServiceClient) -> None:
    proxy.add(Fault.server_busy(method="PUT", query=PUT_PAGE, nth=3, times=-1))
    address = DiskAddress(SUB, "rg", "d1")
    with open_image(test_images["raw"]) as image, pytest.raises(VhdError) as failed:
        upload_to_managed_disk(ComputeTarget.resolve(), address, image, DiskSpec("westeurope"),
                               options=fast_options())
    assert f"; managed disk {address.id} was left waiting for its upload (not usable by any VM, billed as a Standard " \
        "HDD of 0.0195 GiB until it is finished or deleted): run the same command again to grant access again and " \
        "resume it (it reads back what is there), or delete the disk with `az disk delete -g rg -n d1 --subscription " \
        f"{SUB}`" in str(failed.value), failed.value
    disk = compute.disk(SUB, "rg", "d1")
    assert disk is not None and disk.state == "ActiveUpload"  # never revoked: never usable with partial data
    assert not [c for c in compute.calls if c.path.endswith("/endGetAccess")]
    proxy.clear()
    start = len(compute.calls)
    again = run("disk", "create", test_images["raw"], "-g", "rg", "-n", "d1", "-l", "westeurope", "-o", "json",
                env=compute.environment(SUB))
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert (doc["created"], doc["resumed"], doc["state"]) == (False, True, "Unattached")
    assert doc["bytes_sent"] < data_bytes(test_images.raw) + PAGE
    posts = [c.path.rsplit("/", 1)[-1] for c in compute.calls_since(start) if c.method == "POST"]
    assert posts == ["beginGetAccess", "endGetAccess"] and not [c for c in compute.calls_since(start)
                                                                if c.method == "PUT"]
    assert blob_of(compute, service, "d1")[:DISK] == expected_disk(test_images.raw)
    never_recreated_nor_labelled(proxy)


def test_a_disk_that_is_not_an_unfinished_upload_of_this_size_is_refused_and_left_as_it_is(
        test_images: TestImages, compute: ComputeServer) -> None:
    env = compute.environment(SUB)
    made = run("disk", "create", test_images["raw"], "-g", "rg", "-n", "d2", "-l", "westeurope", env=env)
    assert made.returncode == 0, made.stderr
    finished = run("disk", "create", test_images["raw"], "-g", "rg", "-n", "d2", "-l", "westeurope", env=env)
    assert finished.returncode == 1 and "already exists and is not waiting for an upload (state Unattached), so it " \
        "was left as it is" in finished.stderr, finished.stderr
    create_upload_disk(ComputeTarget.resolve(), DiskAddress(SUB, "rg", "d3"), DiskSpec("westeurope"), 30 * MiB + PAGE)
    start = len(compute.calls)
    other = run("disk", "create", test_images["raw"], "-g", "rg", "-n", "d3", "-l", "westeurope", env=env)
    assert other.returncode == 1 and f"is waiting for an upload of {30 * MiB + PAGE} bytes, but this image's fixed " \
        f"VHD is {UPLOAD} bytes, so it was left as it is" in other.stderr, other.stderr
    assert [c.method for c in compute.calls_since(start) if c.path != "/msi/token"] == ["GET"]
    missing = run("disk", "create", test_images["raw"], "-g", "nosuchgroup", "-n", "d5", "-l", "westeurope", env=env)
    assert missing.returncode == 1 and "Azure answered 404 ResourceGroupNotFound: Resource group 'nosuchgroup' " \
        "could not be found; create resource group 'nosuchgroup' first" in missing.stderr, missing.stderr


def test_trusted_launch_uploads_the_vm_guest_state_with_the_disk(
        test_images: TestImages, compute: ComputeServer, service: BlobServiceClient, tmp_path: Path) -> None:
    state = tmp_path / "vmgs.vhd"
    assert run("create", state, "--size", str(GUEST_STATE_LENGTH - PAGE)).returncode == 0
    with state.open("r+b") as f:
        f.seek(MiB)
        f.write(b"guest state" * 100)
    env = compute.environment(SUB)
    without = run("disk", "create", test_images["raw"], "-g", "rg", "-n", "tl", "-l", "westeurope", "--security-type",
                  "TrustedLaunch", "--hyper-v-generation", "V2", env=env)
    assert without.returncode == 2 and "give both --security-type and --guest-state" in without.stderr
    assert not [c for c in compute.calls if c.path != "/msi/token"]  # refused before any request
    done = run("disk", "create", test_images["raw"], "-g", "rg", "-n", "tl", "-l", "westeurope", "--security-type",
               "TrustedLaunch", "--hyper-v-generation", "V2", "--guest-state", state, "-o", "json", env=env)
    assert done.returncode == 0, done.stderr
    disk = compute.disk(SUB, "rg", "tl")
    assert disk is not None and (disk.create_option, disk.security_type, disk.state) == (
        "UploadPreparedSecure", "TrustedLaunch", "Unattached")
    assert blob_of(compute, service, "tl", "vmgs") == state.read_bytes()  # byte for byte, its own footer last
    assert json.loads(done.stdout)["guest_state_bytes"] == GUEST_STATE_LENGTH


def test_delete_is_refused_while_a_vm_holds_the_disk_and_revoke_without_a_footer_is_refused_by_azure(
        test_images: TestImages, compute: ComputeServer) -> None:
    assert run("disk", "create", test_images["raw"], "-g", "rg", "-n", "d6", "-l", "westeurope",
               env=compute.environment(SUB)).returncode == 0
    target, address = ComputeTarget.resolve(), DiskAddress(SUB, "rg", "d6")
    vm = compute.attach(SUB, "rg", "d6")
    with pytest.raises(DiskAttachedError, match=rf"^managed disk {address.id} is attached to {vm}, so it was not "
                       r"deleted; detach it from that VM \(or delete the VM\) first, then delete it again\.$"):
        delete_disk(target, address)
    assert not [c for c in compute.calls if c.method == "DELETE"]
    compute.detach(SUB, "rg", "d6")
    assert delete_disk(target, address) is True and get_disk(target, address) is None
    assert delete_disk(target, address) is False
    # A disk for upload whose blob has no footer: Azure refuses the revoke, the disk stays waiting.
    other = DiskAddress(SUB, "rg", "d7")
    create_upload_disk(target, other, DiskSpec("westeurope"), UPLOAD)
    grant_write(target, other)
    with pytest.raises(RefusedError, match="Azure answered 400 InvalidVhd: The specified cookie value"):
        revoke_access(target, other)
    found = get_disk(target, other)
    assert found is not None and found.state == "ActiveUpload"


def test_no_credential_is_one_sentence(test_images: TestImages, compute: ComputeServer) -> None:
    env = {k: v for k, v in compute.environment(SUB).items() if not k.startswith("IDENTITY_")}
    failed = run("disk", "create", test_images["raw"], "-g", "rg", "-n", "d8", "-l", "westeurope", env=env)
    lines = [line for line in failed.stderr.splitlines() if not line.startswith("vhdcore: note:")]
    assert failed.returncode == 1 and len(lines) == 1 and lines[0].startswith("vhdcore: error:"), failed.stderr
    assert "failed: no Azure credential worked" in failed.stderr and "az login" in failed.stderr
    with pytest.raises(AuthFailedError):
        get_disk(ComputeTarget.resolve(credential=_NoToken()), DiskAddress(SUB, "rg", "d8"))


class _NoToken:
    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.exceptions import ClientAuthenticationError

        raise ClientAuthenticationError("no token here")


def test_disk_create_from_a_url_with_a_wrong_checksum_leaves_the_disk_waiting_and_the_right_one_finishes_and_retags_it(
        www: Path, test_images: TestImages, compute: ComputeServer, proxy: FaultProxy,
        service: BlobServiceClient) -> None:
    env, good = compute.environment(SUB), sha256_of(www / "disk.vhd")
    disk_id = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/u1"
    with WebServer(www) as server:
        url = server.url("disk.vhd")
        failed = run("disk", "create", url, "--sha256", WRONG, "-g", "rg", "-n", "u1", "-l", "westeurope", env=env)
        error = one_error(failed)
        assert failed.returncode == 2, failed.stderr
        assert f"expected {WRONG}, found {good}" in error, error
        assert f"managed disk {disk_id} was left waiting for its upload (not usable by any VM, billed as a Standard " \
            "HDD of 0.0195 GiB until it is finished or deleted)" in error, error
        assert f"or delete the disk with `az disk delete -g rg -n u1 --subscription {SUB}`" in error, error
        disk = compute.disk(SUB, "rg", "u1")
        assert disk is not None and (disk.state, disk.tags) == ("ActiveUpload", {"vhdcore_sha256": WRONG})
        assert not [c for c in compute.calls if c.path.endswith("/endGetAccess")]  # never made usable
        start = len(compute.calls)
        proxy.clear()
        again = run("disk", "create", url, "--sha256", good, "-g", "rg", "-n", "u1", "-l", "westeurope", "-o",
                    "json", env=env)
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert (doc["created"], doc["resumed"], doc["state"], doc["sha256"]) == (False, True, "Unattached", good)
    disk = compute.disk(SUB, "rg", "u1")
    assert disk is not None and (disk.state, disk.tags) == ("Unattached", {"vhdcore_sha256": good})
    # Its pages read back and kept, the rest sent; the tag set right only once the disk was finished and usable
    # (the SDK reads the disk after the PATCH's operation, from the disk's own URL).
    calls = [(c.method, c.path.rsplit("/", 1)[-1]) for c in compute.calls_since(start)
             if c.path != "/msi/token" and "DiskOperations" not in c.path]
    assert calls == [("GET", "u1"), ("POST", "beginGetAccess"), ("POST", "endGetAccess"), ("PATCH", "u1"),
                     ("GET", "u1")], calls
    assert blob_of(compute, service, "u1")[:DISK] == expected_disk(test_images.raw)
    never_recreated_nor_labelled(proxy)


def test_managed_disk_image_takes_an_image_url_by_its_checksum_and_an_import_reads_it_back_from_the_tag(
        www: Path, test_images: TestImages, compute: ComputeServer, service: BlobServiceClient) -> None:
    provider = ManagedDiskImageProvider(auto_name_prefix="os", identity="stack|os")
    good = sha256_of(www / "disk.vhd")
    with WebServer(www) as server:
        news: dict[str, Any] = {"source": server.url("disk.vhd", query="sig=SECRET"), "resource_group_name": "rg",
                                "location": "westeurope"}
        missing = provider.check({}, news)
        assert [(f.property, f.reason) for f in missing.failures] == [(
            "source_sha256", f"source_sha256 is required with an image URL (http://127.0.0.1:{server.port}/disk.vhd?"
            "<query hidden>): a preview does not download the image, so its published SHA-256 is what identifies it; "
            "give the checksum its publisher lists.")]
        checked = provider.check({}, {**news, "source_sha256": good.upper()})
        assert checked.failures == [] and server.served == []  # a preview downloads nothing
        inputs = dict(checked.inputs or {})
        assert (inputs["source_sha256"], inputs["fingerprint"]) == (good, "")  # the fingerprint: learned by the upload
        name = inputs["disk_name"]
        assert name.startswith("os-") and len(name) == 11
        created = provider.create(inputs)
    outs = dict(created.outs or {})
    assert created.id == f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/{name}"
    assert outs["fingerprint"].startswith("sha256:") and outs["disk_state"] == "Unattached"
    assert outs["bytes_sent"] == data_bytes(test_images.raw) + PAGE
    disk = compute.disk(SUB, "rg", name)
    assert disk is not None and disk.tags == {"vhdcore_sha256": good, "vhdcore_owner": owner_tag("stack|os")}
    assert blob_of(compute, service, name)[:DISK] == expected_disk(test_images.raw)
    # `pulumi import` by the resource id: the tag says which image the disk holds, so the program that declares the
    # same URL and checksum changes nothing (and a preview still downloads nothing).
    read = provider.read(created.id, {})
    imported = dict(read.inputs or {})
    assert (imported["source_sha256"], imported["fingerprint"], imported["disk_name"]) == (good, "", name)
    declared = provider.check(imported, {**news, "source_sha256": good, "disk_name": name})
    assert declared.failures == []
    assert provider.diff(created.id, dict(read.outs or {}), dict(declared.inputs or {})).changes is False
    other = provider.check(imported, {**news, "source_sha256": WRONG, "disk_name": name})
    changed = provider.diff(created.id, dict(read.outs or {}), dict(other.inputs or {}))
    assert changed.changes is not False and changed.replaces == ["source_sha256"]  # None: the engine names it


def disk_id(name: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/{name}"


def test_managed_disk_image_deletes_the_auto_named_disk_a_wrong_source_sha256_left_and_the_right_one_uploads(
        www: Path, test_images: TestImages, compute: ComputeServer, service: BlobServiceClient) -> None:
    provider = ManagedDiskImageProvider(auto_name_prefix="os", identity="stack|os")
    good = sha256_of(www / "disk.vhd")
    with WebServer(www) as server:
        news: dict[str, Any] = {"source": server.url("disk.vhd", query="sig=SECRET"), "resource_group_name": "rg",
                                "location": "westeurope"}
        wrong = dict(provider.check({}, {**news, "source_sha256": WRONG}).inputs or {})
        name = wrong["disk_name"]
        with pytest.raises(ChecksumMismatchError) as caught:
            provider.create(wrong)
        message = str(caught.value)
        assert "\n" not in message and "SECRET" not in message, message
        assert f"does not have the SHA-256 that was given: expected {WRONG}, found {good}" in message, message
        assert f"; the unfinished disk, managed disk {disk_id(name)}, that this update made was deleted, so fixing " \
            "source_sha256 leaves nothing behind; check that the URL and the checksum belong to the same release, or " \
            "download it again." in message, message
        # Created (tagged with its owner), written to, never made usable, then deleted: no disk is left.
        calls = [(c.method, c.path.rsplit("/", 1)[-1]) for c in compute.calls
                 if c.path != "/msi/token" and "DiskOperations" not in c.path]
        assert ("PUT", name) in calls and ("POST", "beginGetAccess") in calls and ("DELETE", name) in calls, calls
        assert ("POST", "endGetAccess") not in calls
        assert compute.disks == {}
        right = dict(provider.check({}, {**news, "source_sha256": good}).inputs or {})
        created = provider.create(right)
    assert right["disk_name"] != name and created.id == disk_id(right["disk_name"])
    assert list(compute.disks) == [(SUB, "rg", right["disk_name"])]
    disk = compute.disk(SUB, "rg", right["disk_name"])
    assert disk is not None and disk.state == "Unattached"
    assert disk.tags == {"vhdcore_sha256": good, "vhdcore_owner": owner_tag("stack|os")}
    assert blob_of(compute, service, right["disk_name"])[:DISK] == expected_disk(test_images.raw)


def test_a_disk_the_wrong_checksum_could_not_delete_is_named_with_the_command_that_deletes_it(
        www: Path, compute: ComputeServer) -> None:
    provider = ManagedDiskImageProvider(auto_name_prefix="os", identity="stack|os")
    compute.fail_next["DELETE"] = ArmError(409, "OperationNotAllowed", "Disk is busy.")
    with WebServer(www) as server:
        inputs = dict(provider.check({}, {"source": server.url("disk.vhd"), "source_sha256": WRONG,
                                          "resource_group_name": "rg", "location": "westeurope"}).inputs or {})
        with pytest.raises(ChecksumMismatchError) as caught:
            provider.create(inputs)
    name, message = inputs["disk_name"], str(caught.value)
    assert "\n" not in message, message
    assert f"; the unfinished disk, managed disk {disk_id(name)}, that this update made could not be deleted (" \
        in message, message
    assert f"so it is left waiting for its upload (billed, usable by no VM): delete it with `az disk delete -g rg -n " \
        f"{name} --subscription {SUB}` before fixing source_sha256" in message, message
    disk = compute.disk(SUB, "rg", name)
    assert disk is not None and disk.state == "ActiveUpload"


def test_with_a_disk_name_a_wrong_source_sha256_leaves_the_disk_and_the_right_one_resumes_it(
        www: Path, test_images: TestImages, compute: ComputeServer, service: BlobServiceClient) -> None:
    provider = ManagedDiskImageProvider(auto_name_prefix=None, identity="stack|os")
    good = sha256_of(www / "disk.vhd")
    with WebServer(www) as server:
        news: dict[str, Any] = {"source": server.url("disk.vhd"), "resource_group_name": "rg",
                                "location": "westeurope", "disk_name": "named"}
        wrong = dict(provider.check({}, {**news, "source_sha256": WRONG}).inputs or {})
        with pytest.raises(ChecksumMismatchError) as caught:
            provider.create(wrong)
        message = str(caught.value)
        assert "\n" not in message and f"managed disk {disk_id('named')} was left waiting for its upload" in message
        assert f"or delete the disk with `az disk delete -g rg -n named --subscription {SUB}`" in message, message
        disk = compute.disk(SUB, "rg", "named")
        assert disk is not None and disk.state == "ActiveUpload" and disk.tags["vhdcore_sha256"] == WRONG
        assert "DELETE" not in [c.method for c in compute.calls]
        start = len(compute.calls)
        right = dict(provider.check({}, {**news, "source_sha256": good}).inputs or {})
        created = provider.create(right)
    outs = dict(created.outs or {})
    assert created.id == disk_id("named") and outs["disk_state"] == "Unattached"
    assert outs["bytes_sent"] < data_bytes(test_images.raw) + PAGE  # what the first run wrote was read back and kept
    assert not [c for c in compute.calls_since(start) if c.method == "PUT"]  # the same disk, resumed
    disk = compute.disk(SUB, "rg", "named")
    assert disk is not None and disk.tags == {"vhdcore_sha256": good, "vhdcore_owner": owner_tag("stack|os")}
    assert blob_of(compute, service, "named")[:DISK] == expected_disk(test_images.raw)
