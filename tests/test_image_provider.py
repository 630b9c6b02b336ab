"""VhdImageProvider against a real Azurite, with props shaped as the engine sends them: check (refusals at
preview, the fingerprint and the name it draws), diff (content decides, not the file's name), create,
update (grow, metadata), read and delete."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from azurite_server import ACCOUNT_KEY, Azurite
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from providers.image_provider import VhdImageProvider
from tests.conftest import shared_images
from tests.faultproxy import Fault, FaultProxy, stored
from tests.images import PAGE, SIZE, STACK_PAGE, MiB, TestImages, nonzero_pages, qemu_img
from tests.webserver import WebServer
from vhdcore.azure.credentials import StorageTarget
from vhdcore.azure.names import owner_tag
from vhdcore.azure.page_blob import create_blank_vhd
from vhdcore.azure.upload import upload_image
from vhdcore.errors import BlobExistsError, BlobNotFoundError, ChecksumMismatchError, InvalidDiskError, RefusedError
from vhdcore.format.images import fingerprint, open_image
from vhdcore.format.sizes import GiB

ROUNDED = 6 * MiB


class Engine:
    """Calls the provider the way the engine does and keeps the state between calls."""

    def __init__(self, provider: VhdImageProvider, azurite: Azurite, container: str, source: Path) -> None:
        self.provider, self.azurite, self.container, self.source = provider, azurite, container, source
        self.id = ""
        self.inputs: dict[str, Any] = {}
        self.outs: dict[str, Any] = {}

    def news(self, **over: Any) -> dict[str, Any]:
        props: dict[str, Any] = {"__provider": "serialized", "source": str(self.source),
                                 "container_name": self.container, "connection_string": self.azurite.connection_string}
        props.update(over)
        return {k: v for k, v in props.items() if v is not None}

    def check(self, olds: dict[str, Any] | None = None, **over: Any) -> tuple[dict[str, Any], list[str]]:
        result = self.provider.check(self.inputs if olds is None else olds, self.news(**over))
        return result.inputs, [f"{f.property}: {f.reason}" for f in result.failures]

    def create(self, **over: Any) -> dict[str, Any]:
        inputs, failures = self.check(**over)
        assert failures == []
        result = self.provider.create(inputs)
        self.inputs, self.id = inputs, result.id
        self.outs = dict(result.outs or {}) | {"__provider": "serialized"}
        return self.outs


@pytest.fixture
def engine(azurite: Azurite, container: str, test_images: TestImages, tmp_path: Path) -> Engine:
    source = Path(shutil.copy(test_images["qcow2"], tmp_path / "disk.qcow2"))
    return Engine(VhdImageProvider(auto_name_prefix="img"), azurite, container, source)


@pytest.fixture(scope="module")
def other_images(tmp_path_factory: pytest.TempPathFactory) -> TestImages:
    return shared_images(tmp_path_factory, "other-provider", layout=[(0, PAGE), (MiB, 8192)], seed=11,
                       names=["qcow2"])


# --- check: before any write ---------------------------------------------------------------------------------


def test_check_takes_the_fingerprint_and_names_the_blob_after_it(engine: Engine, test_images: TestImages) -> None:
    inputs, failures = engine.check()
    assert failures == []
    with open_image(test_images["raw"]) as image:
        assert inputs["fingerprint"] == fingerprint(image)
    assert inputs["blob_name"] == f"img-{inputs['fingerprint'][7:15]}.vhd"
    assert inputs["adopt_existing"] is False and inputs["verify"] is False


def test_the_auto_name_follows_the_resource_identity_and_the_content(engine: Engine,
                                                                     other_images: TestImages) -> None:
    def name(identity: str, source: Path | None = None) -> str:
        provider = VhdImageProvider(auto_name_prefix="img", identity=identity)
        return str(provider.check({}, engine.news(source=str(source or engine.source))).inputs["blob_name"])

    mine = name("org/proj/dev//img")
    assert re.fullmatch(r"img-[0-9a-f]{8}\.vhd", mine) and name("org/proj/dev//img") == mine
    assert name("org/proj/prod//img") != mine  # another stack
    assert name("org/proj/dev//img", other_images["qcow2"]) != mine  # another image


def test_check_reads_an_untouched_file_once(engine: Engine) -> None:
    first, _ = engine.check()
    remembered = {**first, "fingerprint": "sha256:" + "ab" * 32}  # what the state says; must be trusted as is
    again, _ = engine.check(olds=remembered)
    assert again["fingerprint"] == remembered["fingerprint"]
    os.utime(engine.source, ns=(10**18, 10**18))  # touched: read again, whatever the state says
    touched, _ = engine.check(olds=remembered)
    assert touched["fingerprint"] == first["fingerprint"] != remembered["fingerprint"]


@pytest.mark.parametrize(("over", "expected"), [
    ({"source": None}, "source: source is required; give the path or https:// URL of a disk image"),
    ({"source": "https://example.com/disk.vhd.xz"}, "source_sha256: source_sha256 is required with an image URL "
                                                    "(https://example.com/disk.vhd.xz): a preview does not download"),
    ({"source": "http://user:pw@example.com/d.xz?sig=S", "source_sha256": "a" * 64},
     ": source http://example.com/d.xz?<query hidden> is plain http to another machine"),
    ({"source_sha256": "abc"}, "source_sha256: source_sha256 'abc' is not a SHA-256; give its 64 hexadecimal digits"),
    ({"compression": "lz4"}, "compression: compression 'lz4' is not a compression this tool reads"),
    ({"source": "/nonexistent/disk.qcow2"}, "source: cannot open image /nonexistent/disk.qcow2: No such file"),
    ({"format": "iso"}, "format: format 'iso' is not a format this tool reads"),
    ({"format": "vmdk"}, "source: image {source} does not start with the VMDK magic"),
    ({"size_gb": 0.5}, "size_gb: size_gb 0.5 must be a whole number of GiB"),
    ({"container_name": "Bad_Name"}, "container_name: container name 'Bad_Name' may contain only lowercase"),
    ({"verify": "yes"}, "verify: verify 'yes' is not a boolean"),
])
def test_check_refuses_bad_inputs_in_one_sentence_per_field(over: dict[str, Any], expected: str,
                                                            engine: Engine) -> None:
    _, failures = engine.check(olds={}, **over)
    assert any(f.startswith(expected.format(source=engine.source)) for f in failures), failures


def test_a_compressed_image_is_identified_by_its_published_sha256_at_preview(
        engine: Engine, test_images: TestImages, tmp_path: Path, service: BlobServiceClient) -> None:
    """Neither decompressed nor read as an image by a preview: check hashes the compressed bytes (the identity and the
    name), refuses a source_sha256 that does not match, and carries the content fingerprint the upload learned."""
    packed = tmp_path / "disk.vhd.gz"
    packed.write_bytes(gzip.compress(test_images["vhd-fixed"].read_bytes()))
    published = hashlib.sha256(packed.read_bytes()).hexdigest()
    inputs, failures = engine.check(source=str(packed))
    assert failures == [] and inputs["source_sha256"] == published and inputs["fingerprint"] == ""
    assert inputs["blob_name"] == f"img-{published[:8]}.vhd"
    _, failures = engine.check(source=str(packed), source_sha256="0" * 64)
    assert failures == [f"source_sha256: source_sha256 {'0' * 64} is not the SHA-256 of {packed} ({published}); "
                        "give the checksum of this file, or leave source_sha256 out to take the file as it is."]
    # create: streamed, the fingerprint learned and kept by the next check while the checksum stays.
    outs = engine.create(source=str(packed))
    with open_image(test_images["raw"]) as image:
        assert outs["fingerprint"] == fingerprint(image) and outs["image_format"] == "vhd"
    assert stored(service, engine.container, outs["blob_name"]) is not None
    again, _ = engine.check(olds=outs, source=str(packed))
    assert again["fingerprint"] == outs["fingerprint"] and again["blob_name"] == outs["blob_name"]
    assert engine.provider.diff(engine.id, outs, again).changes is False
    # Another release: a replacement, said with both checksums.
    newer = tmp_path / "newer.vhd.gz"
    newer.write_bytes(gzip.compress(test_images["vhd-fixed"].read_bytes()[:-PAGE] + bytes(PAGE)))
    other, _ = engine.check(olds=outs, source=str(newer))
    assert other["fingerprint"] == "" and other["blob_name"] != outs["blob_name"]
    diff = engine.provider.diff(engine.id, outs, other)
    assert diff.changes is not False and "source_sha256" in diff.replaces and "blob_name" in diff.replaces


def test_check_refuses_an_image_too_big_for_the_cloud(engine: Engine, tmp_path: Path) -> None:
    big = tmp_path / "big.qcow2"
    qemu_img("create", "-f", "qcow2", big, "1536G")
    assert engine.check(olds={}, source=str(big))[1] == []  # fine on Azure
    _, failures = engine.check(olds={}, source=str(big), cloud="AzureStackHub")
    assert failures == [f"source: image {big}'s disk 1649267441664 exceeds the 1023GiB maximum on AzureStackHub "
                        "(a page blob there holds 1 TiB including the 512-byte footer)."], failures


def test_check_refuses_a_compressed_image_and_a_shrink_at_preview(engine: Engine, test_images: TestImages,
                                                                   tmp_path: Path) -> None:
    compressed = tmp_path / "c.qcow2"
    qemu_img("convert", "-c", "-f", "raw", "-O", "qcow2", test_images["raw"], compressed)
    _, failures = engine.check(olds={}, source=str(compressed))
    assert len(failures) == 1 and failures[0].startswith(f"source: image {compressed} is a compressed qcow2")
    inputs, _ = engine.check(olds={}, size_gb=2.0)
    _, failures = engine.check(olds={**inputs, "size_bytes": 2 * GiB}, size_gb=1.0)
    assert failures and failures[0].startswith("size_gb: size_gb 1 would shrink the 2 GiB disk")


# --- diff: the content decides ------------------------------------------------------------------------------


def test_diff_follows_the_content_not_the_file_name(engine: Engine, test_images: TestImages,
                                                    other_images: TestImages) -> None:
    old, _ = engine.check(olds={})
    outs = {**old, "size_bytes": ROUNDED, "blob_endpoint": engine.azurite.endpoint}
    provider = engine.provider
    renamed, _ = engine.check(olds=old, source=str(test_images["raw"]))  # the same disk as raw, elsewhere
    assert provider.diff("id", outs, renamed).changes is False
    replaced, _ = engine.check(olds=old, source=str(other_images["qcow2"]))
    result = provider.diff("id", outs, replaced)
    assert "fingerprint" in result.replaces and "blob_name" in result.replaces
    assert not result.delete_before_replace  # auto-named: the new disk gets its own name, made first
    grown, _ = engine.check(olds=old, size_gb=1.0)
    result = provider.diff("id", outs, grown)
    assert result.changes is not False and result.replaces == []
    same_size, _ = engine.check(olds=old, size_gb=None)
    assert provider.diff("id", outs, same_size).changes is False


# --- create, update, read, delete ----------------------------------------------------------------------------


def test_create_grow_read_and_delete(engine: Engine, service: BlobServiceClient, test_images: TestImages) -> None:
    outs = engine.create(metadata={"owner": "a"})
    assert (outs["size_bytes"], outs["blob_length"], outs["image_format"], outs["image_size"]) == (
        ROUNDED, ROUNDED + PAGE, "qcow2", SIZE)
    sent = sum(end - start for start, end in nonzero_pages(test_images.raw, STACK_PAGE))
    assert outs["bytes_sent"] == sent + PAGE and outs["azure_ready"] is True
    assert outs["data_bytes"] == sum(end - start for start, end in nonzero_pages(test_images.raw))
    found = stored(service, engine.container, outs["blob_name"])
    assert found is not None and found.is_valid_disk(ROUNDED, outs["unique_id"])
    assert found.content is not None and found.content[:SIZE] == test_images.raw
    assert found.metadata["owner"] == "a" and found.metadata["vhdcore_fingerprint"] == outs["fingerprint"]

    news, _ = engine.check(size_gb=1.0, metadata={"owner": "b"})
    grown = dict(engine.provider.update(engine.id, engine.outs, news).outs or {})
    assert grown["size_bytes"] == GiB and grown["unique_id"] == outs["unique_id"]
    found = stored(service, engine.container, outs["blob_name"], max_bytes=2 * GiB)
    assert found is not None and found.length == GiB + PAGE and found.metadata["owner"] == "b"

    read = engine.provider.read(engine.id, grown | {"__provider": "serialized"})
    assert read.id == outs["url"] and (read.outs or {})["size_bytes"] == GiB
    engine.provider.delete(engine.id, grown)
    assert stored(service, engine.container, outs["blob_name"]) is None
    gone = engine.provider.read(engine.id, grown)
    assert gone.id is None


def test_create_never_takes_over_an_existing_blob_unless_told(engine: Engine, service: BlobServiceClient,
                                                              azurite: Azurite, other_images: TestImages) -> None:
    direct = StorageTarget(connection_string=azurite.connection_string)
    inputs, _ = engine.check()
    name = inputs["blob_name"]
    with open_image(engine.source) as image:  # this very image, uploaded before (by the CLI, say)
        made = upload_image(direct, image, container=engine.container, name=name)
    before = stored(service, engine.container, name)
    with pytest.raises(BlobExistsError, match="already holds this image as a finished disk"):
        engine.provider.create(inputs)
    assert stored(service, engine.container, name) == before
    adopted = dict(engine.provider.create({**inputs, "adopt_existing": True}).outs or {})
    assert adopted["adopted"] is True and adopted["unique_id"] == str(made.unique_id) and adopted["bytes_sent"] == 0
    assert stored(service, engine.container, name) == before  # adopted without a write
    # Another image under the asked-for name is never adopted; a blank disk is no image at all.
    create_blank_vhd(direct, container=engine.container, name="blank.vhd", size=ROUNDED)
    with pytest.raises(RefusedError, match=r"already exists but holds another image \(fingerprint not recorded\)"):
        engine.provider.create({**inputs, "blob_name": "blank.vhd", "adopt_existing": True})
    with pytest.raises(BlobExistsError, match="already exists in container"):
        engine.provider.create({**inputs, "blob_name": "blank.vhd"})


def test_a_blob_that_now_holds_another_image_is_replaced_at_the_next_preview(
    engine: Engine, service: BlobServiceClient, azurite: Azurite, other_images: TestImages
) -> None:
    outs = engine.create()
    # Out of band, someone records another image's fingerprint on the disk (as a re-upload would).
    blob = service.get_blob_client(engine.container, outs["blob_name"])
    metadata = blob.get_blob_properties().metadata
    blob.set_blob_metadata({**metadata, "vhdcore_fingerprint": "sha256:" + "cd" * 32})
    read = engine.provider.read(engine.id, outs)
    inputs = dict(read.inputs or {})
    assert inputs["fingerprint"] == "sha256:" + "cd" * 32
    news, _ = engine.check(olds=inputs)
    assert "fingerprint" in engine.provider.diff(engine.id, dict(read.outs or {}), news).replaces


# --- an image URL with a wrong source_sha256: found only after its data went out -----------------------------------


WRONG = hashlib.sha256(b"another release").hexdigest()


@pytest.fixture
def published(test_images: TestImages, tmp_path: Path) -> Path:
    """A folder the web server publishes: the fixed VHD, whose size comes from its length, so its data goes out before
    its checksum can be known."""
    folder = tmp_path / "www"
    folder.mkdir()
    shutil.copy(test_images["vhd-fixed"], folder / "disk.vhd")
    return folder


def through_proxy(proxy: FaultProxy) -> str:
    """A connection string that reaches Azurite through `proxy` (its log shows every request)."""
    return f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={ACCOUNT_KEY};" \
           f"BlobEndpoint={proxy.endpoint()};"


def blob_names(service: BlobServiceClient, container: str) -> list[str]:
    return [blob.name for blob in service.get_container_client(container).list_blobs()]


def test_a_wrong_source_sha256_deletes_the_auto_named_blob_it_made_and_the_right_one_uploads(
        azurite: Azurite, container: str, published: Path, proxy: FaultProxy, service: BlobServiceClient,
        test_images: TestImages) -> None:
    good = hashlib.sha256((published / "disk.vhd").read_bytes()).hexdigest()
    engine = Engine(VhdImageProvider(auto_name_prefix="img", identity="stack|img"), azurite, container, published)
    with WebServer(published) as server:
        url = server.url("disk.vhd", query="sig=SECRET")
        inputs, failures = engine.check(source=url, source_sha256=WRONG, connection_string=through_proxy(proxy))
        assert failures == []
        name = inputs["blob_name"]
        with pytest.raises(ChecksumMismatchError) as caught:
            engine.provider.create(inputs)
        message = str(caught.value)
        assert "\n" not in message and "SECRET" not in message, message
        assert f"does not have the SHA-256 that was given: expected {WRONG}, found {good}" in message, message
        assert f"; the unfinished disk, blob {name!r} in container {container!r}, that this update made was deleted, " \
            "so fixing source_sha256 leaves nothing behind; check that the URL and the checksum belong to the same " \
            "release, or download it again." in message, message
        # It was made (with this resource's owner) and written to, before the checksum could be known; then deleted.
        made = [s for s in proxy.log if s.method == "PUT" and s.query == ""]
        assert made and any(s.method == "PUT" and s.query == "comp=page" for s in proxy.log)
        assert [s.method for s in proxy.log].count("DELETE") == 1
        assert blob_names(service, container) == []
        # The checksum fixed: another name (it follows source_sha256), uploaded whole; nothing else in the container.
        outs = engine.create(source=url, source_sha256=good)
    assert outs["blob_name"] != name and outs["azure_ready"] is True and outs["bytes_sent"] > 0
    assert blob_names(service, container) == [outs["blob_name"]]
    found = stored(service, container, outs["blob_name"])
    assert found is not None and found.content is not None and found.content[:SIZE] == test_images.raw
    assert found.metadata["vhdcore_owner"] == owner_tag("stack|img")


def test_a_blob_the_wrong_checksum_could_not_delete_is_named_with_the_command_that_deletes_it(
        azurite: Azurite, container: str, published: Path, proxy: FaultProxy, service: BlobServiceClient) -> None:
    engine = Engine(VhdImageProvider(auto_name_prefix="img", identity="stack|img"), azurite, container, published)
    proxy.add(Fault("status", method="DELETE", status=403, code="AuthorizationPermissionMismatch", times=-1))
    with WebServer(published) as server:
        inputs, _ = engine.check(source=server.url("disk.vhd"), source_sha256=WRONG,
                                 connection_string=through_proxy(proxy))
        with pytest.raises(ChecksumMismatchError) as caught:
            engine.provider.create(inputs)
    name, message = inputs["blob_name"], str(caught.value)
    unique_id = service.get_blob_client(container, name).get_blob_properties().metadata["vhdcore_unique_id"]
    assert "\n" not in message and f"; the unfinished disk, blob {name!r} in container {container!r}, that this " \
        "update made could not be deleted (" in message, message
    assert f"so it is left with no footer: delete it with `vhdcore blob delete -c {container} -n {name} --unique-id " \
        f"{unique_id}` before fixing source_sha256" in message, message
    assert blob_names(service, container) == [name]


def test_with_a_blob_name_a_wrong_source_sha256_leaves_the_blob_and_the_right_one_resumes_it(
        azurite: Azurite, container: str, published: Path, proxy: FaultProxy, service: BlobServiceClient,
        test_images: TestImages) -> None:
    good = hashlib.sha256((published / "disk.vhd").read_bytes()).hexdigest()
    engine = Engine(VhdImageProvider(auto_name_prefix=None, identity="stack|img"), azurite, container, published)
    with WebServer(published) as server:
        url = server.url("disk.vhd")
        inputs, _ = engine.check(source=url, source_sha256=WRONG, blob_name="os.vhd",
                                 connection_string=through_proxy(proxy))
        with pytest.raises(ChecksumMismatchError) as caught:
            engine.provider.create(inputs)
        message = str(caught.value)
        assert "\n" not in message and "stopped before its footer, so that blob is no disk and was left for a resume" \
            in message and f"`vhdcore blob delete -c {container} -n os.vhd --unique-id " in message, message
        assert "DELETE" not in [s.method for s in proxy.log] and blob_names(service, container) == ["os.vhd"]
        left = stored(service, container, "os.vhd")
        assert left is not None and not left.is_valid_disk(left.length - PAGE, None)
        written = sum(s.body_bytes for s in proxy.log if s.query == "comp=page")
        assert written > 0
        proxy.clear()
        # The checksum fixed: the same name, so the blob is read back, compared and resumed, nothing sent twice.
        outs = engine.create(source=url, source_sha256=good, blob_name="os.vhd",
                             connection_string=through_proxy(proxy))
    data = sum(end - start for start, end in nonzero_pages(test_images.raw, STACK_PAGE))
    assert outs["blob_name"] == "os.vhd" and outs["azure_ready"] is True
    assert outs["bytes_sent"] == data - written + PAGE  # only what was missing, then the footer
    # Its Put Blob (If-None-Match: *) found it there (409), so it was never made again.
    assert [s.status for s in proxy.log if s.method == "PUT" and s.query == ""] == [409]
    found = stored(service, container, "os.vhd")
    assert found is not None and found.content is not None and found.content[:SIZE] == test_images.raw


@pytest.mark.usefixtures("no_storage_env")
def test_get_reads_an_image_by_its_url_and_refuses_a_missing_blob_or_a_blank_disk(
    engine: Engine, azurite: Azurite, service: BlobServiceClient
) -> None:
    created = engine.create(metadata={"owner": "tests"})
    reader = VhdImageProvider()  # what VhdImage.get() pickles: no inputs but the id
    raw = {"blank-vhd:storageAccountKey": ACCOUNT_KEY}
    reader.configure(ConfigureRequest(Config(raw_config=raw, project_name="blank-vhd")))
    props = {"__provider": "serialized"}  # the get's props: every other one is None, which the engine drops

    found = reader.read(created["url"], props)
    outs = found.outs or {}
    assert found.id == created["url"] and created["fingerprint"].startswith("sha256:")
    assert outs["fingerprint"] == created["fingerprint"]
    for key in ("blob_name", "container_name", "unique_id", "size_bytes", "blob_length", "blob_endpoint"):
        assert outs[key] == created[key], key
    assert outs["metadata"] == {"owner": "tests"} and outs["azure_ready"] is True and outs["adopted"] is True
    assert outs["bytes_sent"] == 0 and not {"source", "image_format", "image_size", "data_bytes"} & outs.keys()
    assert reader.read(created["url"], outs | props).outs == outs  # a refresh of the get reads it by URL again

    def refused(url: str, error: type[Exception]) -> str:
        with pytest.raises(error) as failed:
            reader.read(url, props)
        message = str(failed.value)
        assert message.count(";") == 1 and "\n" not in message and message.startswith("VhdImage: "), message
        return message

    missing = created["url"].replace(created["blob_name"], "no-such.vhd")
    assert "no blob 'no-such.vhd' in container" in refused(missing, BlobNotFoundError)
    refused(created["url"].replace(f"/{engine.container}/", "/no-such-container/"), BlobNotFoundError)
    direct = StorageTarget(connection_string=azurite.connection_string)
    blank = create_blank_vhd(direct, container=engine.container, name="blank.vhd", size=ROUNDED)
    message = refused(blank.url, InvalidDiskError)
    assert f"blob 'blank.vhd' in container {engine.container!r} at {azurite.endpoint} records no image " \
        "fingerprint" in message and "as a BlankVhd" in message
    # An upload that never wrote its footer (killed mid-way): the fingerprint is recorded, the disk is not finished.
    unfinished = service.get_blob_client(engine.container, "unfinished.vhd")
    unfinished.create_page_blob(ROUNDED + PAGE, metadata={"vhdcore_fingerprint": created["fingerprint"]})
    assert "has no valid VHD footer" in refused(unfinished.url, InvalidDiskError)


def test_the_serialized_provider_is_a_small_reference_the_provider_process_can_load() -> None:
    import base64
    import subprocess
    import sys

    import dill
    from pulumi.dynamic.dynamic import serialize_provider

    serialized = serialize_provider(VhdImageProvider(auto_name_prefix="os-disk", identity="o/p/s//os-disk"))
    raw = base64.b64decode(serialized)
    assert len(serialized) < 250 and b"providers.image_provider" in raw and b"os-disk" in raw
    assert vars(dill.loads(raw)) == {"auto_name_prefix": "os-disk", "identity": "o/p/s//os-disk"}
    code = "import base64, sys, dill; p = dill.loads(base64.b64decode(sys.argv[1])); print(type(p).__qualname__)"
    done = subprocess.run([sys.executable, "-c", code, serialized], cwd=Path(__file__).resolve().parent.parent,
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "VhdImageProvider"


def test_the_program_declares_an_image_only_when_image_path_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_program_mocks import run_program

    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    assert run_program().of_type("pulumi-python:dynamic/azureblob:VhdImage") == []
    rec = run_program(imagePath="/images/os.qcow2", containerName="disks")
    image = rec.one("pulumi-python:dynamic/azureblob:VhdImage")
    assert image.name == "image" and image.inputs["source"] == "/images/os.qcow2"
    assert image.inputs["container_name"] == "disks" and image.inputs["connection_string"]["value"] == (
        "UseDevelopmentStorage=true")
    assert "blob_name" not in image.inputs  # named by check, after the resource and the image's fingerprint
