"""ManagedDiskImage through the real `pulumi` CLI, against the local Compute server (tests/compute_server.py: the
published DiskRP contract, https with a test CA) and Azurite behind it: up, a preview after the image changes (a
replacement: the new disk made, then the old one deleted), the image as published (gzip, known by its SHA-256)
replacing it again, destroy refused in one sentence while a VM holds the
disk, and, through the provider plugin, an import by the disk's resource id followed by an up that changes
nothing. The provider processes reach the server as they would reach Azure: DefaultAzureCredential (an App Service
managed identity the server answers for) and REQUESTS_CA_BUNDLE, inherited from the test's environment."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
from azurite_server import ACCOUNT, ACCOUNT_KEY, Azurite

from providers import ManagedDiskImage
from providers.schema import MANAGED_DISK_IMAGE
from tests.compute_server import ComputeServer, serving
from tests.e2e_support import E2E, state_text
from tests.faultproxy import FaultProxy, blob_service
from tests.images import PAGE, MiB, TestImages, make_images, qemu_img
from tests.test_plugin_e2e import declare, plugin_stack
from tests.test_sources import compress

pytestmark = pytest.mark.e2e
SUB = "11111111-2222-3333-4444-555555555555"
TOKEN = "pulumi-python:dynamic/azureblob:ManagedDiskImage"
DISK = 20 * MiB


@pytest.fixture
def compute(azurite: Azurite, proxy: FaultProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[ComputeServer]:
    with serving(blob_service(azurite.connection_string), proxy.endpoint(), ACCOUNT, ACCOUNT_KEY, tmp_path, monkeypatch,
                 SUB) as server:
        yield server


@pytest.fixture(scope="module")
def second_images(tmp_path_factory: pytest.TempPathFactory) -> TestImages:
    return make_images(tmp_path_factory.mktemp("second"), layout=[(0, PAGE), (3 * MiB, 96 * 1024)], seed=3,
                       names=["qcow2"])


def blob(server: ComputeServer, azurite: Azurite, name: str) -> bytes:
    disk = server.disk(SUB, "rg", name)
    assert disk is not None
    client = blob_service(azurite.connection_string).get_blob_client(disk.container, "abcd")
    return bytes(client.download_blob().readall())


def errors_text(exc: BaseException) -> str:
    return str(exc)


def test_a_managed_disk_from_an_image_up_replaced_before_the_old_goes_and_destroy_refused_while_attached(
        azurite: Azurite, compute: ComputeServer, test_images: TestImages, second_images: TestImages,
        tmp_path: Path) -> None:
    image = tmp_path / "os.qcow2"
    shutil.copy(test_images["qcow2"], image)
    source = {"path": str(image)}

    def program() -> None:
        disk = ManagedDiskImage("os", source=source["path"], resource_group_name="rg", location="westeurope",
                                os_type="Linux", hyperv_generation="V2")
        for key in ("disk_id", "disk_name", "fingerprint", "disk_state", "upload_size_bytes"):
            pulumi.export(key, getattr(disk, key))

    env = E2E(azurite, program=program)
    env.scan.secret(compute.identity_header)  # what signs for a token: never in any output or state
    try:
        _, run = env.up()
        out = env.outputs()
        name = out["disk_name"]
        assert name.startswith("os-") and len(name) == 11
        assert out["disk_id"] == f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/{name}"
        assert (out["disk_state"], out["upload_size_bytes"]) == ("Unattached", DISK + PAGE)
        assert blob(compute, azurite, name)[: len(test_images.raw)] == test_images.raw
        first = compute.disk(SUB, "rg", name)
        assert first is not None and first.tags == {"vhdcore_fingerprint": out["fingerprint"],
                                                    "vhdcore_owner": first.tags.get("vhdcore_owner")}
        owner = first.tags["vhdcore_owner"]  # this resource's identity (its stack, project and name), hashed
        assert len(owner) == 32 and int(owner, 16) >= 0
        assert "sig=" not in state_text(env)  # no SAS URL kept in the state

        env.up(expect_no_changes=True)

        qemu_img("convert", "-f", "raw", "-O", "qcow2", second_images["raw"], image)
        _, preview = env.preview()
        steps = dict(preview.steps(TOKEN))
        assert "replace" in steps and "fingerprint" in steps["replace"], steps
        _, run = env.up()
        ops = [op for op, _ in run.steps(TOKEN)]
        assert ops.index("create-replacement") < ops.index("delete-replaced"), ops  # the new disk first
        after = env.outputs()
        assert after["disk_name"] != name and compute.disk(SUB, "rg", name) is None
        assert blob(compute, azurite, after["disk_name"])[: len(second_images.raw)] == second_images.raw

        # The image as published (gzip): known by the SHA-256 of the compressed file, taken at preview, not by its
        # content, so it is another disk; the upload reads it as `blob upload` does and tags the disk with it.
        packed = compress(Path(shutil.copy(image, tmp_path / "published.qcow2")), "gzip")
        source["path"] = str(packed)
        _, run = env.up()
        assert [op for op, _ in run.steps(TOKEN)].count("create-replacement") == 1
        published = env.outputs()
        assert published["disk_name"] not in (name, after["disk_name"])
        assert published["fingerprint"] == after["fingerprint"]  # the same content, learned by the upload
        disk = compute.disk(SUB, "rg", published["disk_name"])
        assert disk is not None and disk.tags == {"vhdcore_sha256": hashlib.sha256(packed.read_bytes()).hexdigest(),
                                                  "vhdcore_owner": owner}
        assert blob(compute, azurite, published["disk_name"])[: len(second_images.raw)] == second_images.raw
        after = published

        vm = compute.attach(SUB, "rg", after["disk_name"])
        with pytest.raises(Exception) as refused:
            env.destroy()
        text = errors_text(refused.value)
        assert f"is attached to {vm}, so it was not deleted; detach it from that VM" in text, text
        assert "Traceback" not in text
        assert compute.disk(SUB, "rg", after["disk_name"]) is not None
        compute.detach(SUB, "rg", after["disk_name"])
        env.destroy()
        assert compute.disk(SUB, "rg", after["disk_name"]) is None
    finally:
        env.finish()


def test_the_plugin_imports_a_managed_disk_by_its_resource_id_then_an_up_changes_nothing(
        azurite: Azurite, compute: ComputeServer, test_images: TestImages) -> None:
    from tests.test_managed_disks import run as vhdcore

    made = vhdcore("disk", "create", test_images["qcow2"], "-g", "rg", "-n", "imported", "-l", "westeurope",
                   env=compute.environment(SUB))
    assert made.returncode == 0, made.stderr
    disk_id = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/imported"
    # A disk vhdcore fills records its image's fingerprint as a tag: what import reads.
    before = compute.disk(SUB, "rg", "imported")
    assert before is not None
    importing = {"on": True}

    def program() -> None:
        opts = pulumi.ResourceOptions(import_=disk_id if importing["on"] else None)
        declare(MANAGED_DISK_IMAGE, "imported", opts, source=str(test_images["qcow2"]), resourceGroupName="rg",
                location="westeurope", diskName="imported", sku="Standard_LRS", subscriptionId=SUB)

    env = plugin_stack(azurite, program, configured=False)
    try:
        _, run = env.up()
        assert [op for op, _ in run.steps(MANAGED_DISK_IMAGE.token)] == ["import"]
        resources: dict[str, Any] = {r["urn"].rpartition("::")[2]: r
                                     for r in env.stack.export_stack().deployment["resources"]}
        assert resources["imported"]["outputs"]["fingerprint"].startswith("sha256:")
        assert resources["imported"]["id"] == disk_id
        importing["on"] = False
        env.up(expect_no_changes=True)
        env.destroy()
        assert compute.disk(SUB, "rg", "imported") is None
    finally:
        env.finish()
