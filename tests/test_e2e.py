"""End to end: the real `pulumi` CLI (through the Automation API) runs the project's program and its
dynamic provider against a real Azurite. Nothing here is mocked."""

from __future__ import annotations

import json
import uuid

import pytest
from azurite_server import ACCOUNT_KEY
from pulumi import automation as auto
from pulumi_stack import ROOT

from tests.conftest import blob_service
from tests.e2e_support import E2E, containers, state_text, without_sdk_cancellation
from vhdcore.azure.page_blob import create_blank_vhd, inspect_blank_vhd
from vhdcore.format.sizes import GiB

pytestmark = pytest.mark.e2e


def test_up_creates_a_valid_vhd_and_a_second_up_changes_nothing(e2e: E2E) -> None:
    result, _ = e2e.up()
    out = e2e.outputs()
    inspection = inspect_blank_vhd(e2e.target, container=e2e.container, name=out["blob_name"])
    assert inspection is not None
    assert inspection.report.azure_ready, inspection.report.problems
    assert inspection.blob_length == GiB + 512
    assert str(inspection.unique_id) == out["unique_id"]
    assert out["size_bytes"] == GiB
    assert out["url"].endswith(f"/{e2e.container}/{out['blob_name']}")
    assert result.summary.resource_changes is not None and result.summary.resource_changes.get("create", 0) >= 2

    again, run = e2e.up(expect_no_changes=True)
    assert set(again.summary.resource_changes or {}) == {"same"}
    assert all(op == "same" for op, _ in run.steps())


def test_grow_is_an_in_place_update_of_size_gb_that_keeps_id_and_data(e2e: E2E) -> None:
    e2e.up()
    before = e2e.outputs()
    blob = e2e.blob(before["blob_name"])
    data = b"\xa5" * 4096
    blob.upload_page(data, offset=GiB // 2, length=len(data))

    e2e.configure(sizeGb=2)
    preview, run = e2e.preview()
    assert run.steps() == [("update", ["size_gb"])]
    assert preview.change_summary.get("update") == 1

    e2e.up()
    after = e2e.outputs()
    assert after["unique_id"] == before["unique_id"]
    assert after["size_bytes"] == 2 * GiB
    assert blob.download_blob(offset=GiB // 2, length=len(data)).readall() == data
    inspection = inspect_blank_vhd(e2e.target, container=e2e.container, name=after["blob_name"])
    assert inspection is not None and inspection.report.azure_ready and inspection.blob_length == 2 * GiB + 512


def test_shrink_is_refused_at_preview_and_replaces_only_with_opt_in(e2e: E2E) -> None:
    e2e.configure(sizeGb=2)
    e2e.up()
    before = e2e.outputs()

    e2e.configure(sizeGb=1)
    with pytest.raises(auto.CommandError) as refused:
        e2e.preview()
    assert "shrink" in str(refused.value) and "allow_shrink_by_replace" in str(refused.value)
    assert e2e.blob(before["blob_name"]).get_blob_properties().size == 2 * GiB + 512

    e2e.configure(allowShrinkByReplace=True)
    _, run = e2e.preview()
    ops = [op for op, _ in run.steps()]
    assert "size_gb" in dict(run.steps())["replace"], run.steps()
    # Every replacement deletes the old disk first: the new one may reuse the name derived from the resource.
    assert ops.index("delete-replaced") < ops.index("create-replacement")
    e2e.up()
    after = e2e.outputs()
    assert after["size_bytes"] == GiB and after["unique_id"] != before["unique_id"]
    inspection = inspect_blank_vhd(e2e.target, container=e2e.container, name=after["blob_name"])
    assert inspection is not None and inspection.report.azure_ready


def test_explicit_blob_name_change_deletes_before_it_creates(e2e: E2E) -> None:
    e2e.configure(blobName="first.vhd")
    e2e.up()
    e2e.configure(blobName="second.vhd")
    _, run = e2e.up()
    ops = [op for op, _ in run.steps()]
    assert ops.index("delete-replaced") < ops.index("create-replacement")
    assert not e2e.blob("first.vhd").exists()
    assert e2e.blob("second.vhd").exists()
    assert e2e.outputs()["blob_name"] == "second.vhd"


def test_refresh_drops_a_blob_deleted_out_of_band_and_up_recreates_it(e2e: E2E) -> None:
    e2e.up()
    name = e2e.outputs()["blob_name"]
    e2e.blob(name).delete_blob()
    e2e.refresh()
    assert "pulumi-python:dynamic/azureblob:BlankVhd" not in json.dumps(e2e.stack.export_stack().deployment)
    result, _ = e2e.up()
    assert (result.summary.resource_changes or {}).get("create") == 1
    assert e2e.blob(e2e.outputs()["blob_name"]).exists()


def test_a_resize_out_of_band_shows_as_drift_after_refresh(e2e: E2E) -> None:
    e2e.up()
    name = e2e.outputs()["blob_name"]
    e2e.blob(name).resize_blob(3 * GiB + 512)
    e2e.refresh()
    assert e2e.outputs()["size_bytes"] == GiB  # declared size kept; the blob no longer matches it
    with pytest.raises(auto.CommandError) as refused:
        e2e.preview()  # size_gb 1 cannot repair a 3 GiB blob: refused at preview, not at up
    assert "set size_gb to 3 or more" in str(refused.value)

    e2e.configure(sizeGb=3)
    _, run = e2e.preview()
    assert [op for op, _ in run.steps()] == ["update"], run.steps()
    e2e.up()
    inspection = inspect_blank_vhd(e2e.target, container=e2e.container, name=name)
    assert inspection is not None and inspection.report.azure_ready and inspection.blob_length == 3 * GiB + 512


def test_a_footer_damaged_out_of_band_is_rewritten_in_place_by_the_next_up(e2e: E2E) -> None:
    e2e.up()
    before = e2e.outputs()
    blob = e2e.blob(before["blob_name"])
    footer = blob.download_blob(offset=GiB, length=512).readall()
    blob.upload_page(b"\xa5" * 512, offset=0, length=512)
    blob.upload_page(b"\0" * 512, offset=GiB, length=512)
    e2e.refresh()
    deployment = json.dumps(e2e.stack.export_stack().deployment)
    assert '"azure_ready": false' in deployment
    _, run = e2e.preview()
    assert [op for op, _ in run.steps()] == ["update"], run.steps()
    e2e.up()
    assert e2e.outputs()["unique_id"] == before["unique_id"]
    assert blob.download_blob(offset=GiB, length=512).readall() == footer  # the same footer, byte for byte
    assert blob.download_blob(offset=0, length=512).readall() == b"\xa5" * 512
    assert blob.get_blob_properties().size == GiB + 512


def test_an_existing_blob_is_refused_untouched_and_adopted_only_on_request(e2e: E2E) -> None:
    e2e.up()  # the stack's container and one auto-named disk
    foreign = e2e.blob("foreign.vhd")
    foreign.upload_blob(b"somebody else's data", overwrite=False)
    etag = foreign.get_blob_properties().etag

    e2e.configure(blobName="foreign.vhd")
    with pytest.raises(auto.CommandError) as refused:
        e2e.up()
    assert "already exists" in str(refused.value)
    assert foreign.get_blob_properties().etag == etag
    assert foreign.download_blob().readall() == b"somebody else's data"

    made = create_blank_vhd(e2e.target, container=e2e.container, name="ours.vhd", size=GiB)
    ours = e2e.blob("ours.vhd")
    etag = ours.get_blob_properties().etag
    e2e.configure(blobName="ours.vhd", adoptExisting=True)
    e2e.up()
    assert e2e.outputs()["unique_id"] == str(made.unique_id)
    assert ours.get_blob_properties().etag == etag  # adopted without a write
    foreign.delete_blob()  # so that destroy can remove the stack's (then empty) container


def test_destroy_removes_what_the_stack_made_and_nothing_else(e2e: E2E) -> None:
    service = blob_service(e2e.azurite.connection_string)
    bystander = f"keep-{uuid.uuid4().hex[:8]}"
    service.create_container(bystander)
    service.get_blob_client(bystander, "keep.vhd").upload_blob(b"keep me")
    before = containers(e2e.azurite)

    e2e.up()
    assert e2e.container in containers(e2e.azurite)
    e2e.destroy()
    assert containers(e2e.azurite) == before
    assert service.get_blob_client(bystander, "keep.vhd").download_blob().readall() == b"keep me"
    service.delete_container(bystander)


def test_the_state_file_holds_no_plaintext_credential(e2e: E2E) -> None:
    e2e.configure(diskCount=2)
    e2e.up()
    e2e.refresh()
    text = state_text(e2e)
    assert ACCOUNT_KEY not in text
    assert e2e.azurite.connection_string not in text
    assert "AccountKey=" not in text and "SharedAccessSignature" not in text and "sig=" not in text
    config = (ROOT / f"Pulumi.{e2e.name}.yaml").read_text()
    assert ACCOUNT_KEY not in config


def test_ten_disks_in_one_stack_are_all_valid_then_destroyed(e2e: E2E) -> None:
    e2e.configure(diskCount=10)
    result, _ = e2e.up()
    assert (result.summary.resource_changes or {}).get("create", 0) >= 10
    names = [blob.name for blob in blob_service(e2e.azurite.connection_string)
             .get_container_client(e2e.container).list_blobs()]
    assert len(names) == 10
    for name in names:
        inspection = inspect_blank_vhd(e2e.target, container=e2e.container, name=name)
        assert inspection is not None and inspection.report.azure_ready, name
    e2e.destroy()
    assert e2e.container not in containers(e2e.azurite)


def test_credentials_from_stack_config_survive_a_key_rotation(e2e: E2E) -> None:
    """Disks declared with only a location take their key from provider config, never from state. The
    engine refreshes and destroys with the provider config of the last `up`; once that key is stale (as
    after a rotation), refresh fails clearly, and works again with the new key in the environment."""
    from providers import BlankVhd, BlobContainer

    def keyless_program() -> None:
        container = BlobContainer("container", container_name=e2e.container, account_url=e2e.azurite.endpoint)
        BlankVhd("vhd", size_gb=1, container_name=container.container_name, account_url=e2e.azurite.endpoint)

    e2e.stack.remove_config("storageConnectionString")
    e2e.stack.set_config("storageAccountKey", auto.ConfigValue(ACCOUNT_KEY, secret=True))
    e2e.up(program=keyless_program)
    (vhd,) = [b.name for b in blob_service(e2e.azurite.connection_string)
              .get_container_client(e2e.container).list_blobs()]
    assert ACCOUNT_KEY not in state_text(e2e)

    # The key the provider config holds goes stale: `up` with no changes makes no storage call.
    e2e.scan.secret("c3RhbGUta2V5")
    e2e.stack.set_config("storageAccountKey", auto.ConfigValue("c3RhbGUta2V5", secret=True))
    e2e.up(program=keyless_program, expect_no_changes=True)
    with pytest.raises(auto.CommandError) as refused:
        e2e.refresh()
    assert "refused the credentials" in str(refused.value)
    assert "Traceback" not in without_sdk_cancellation(str(refused.value))

    e2e.stack.workspace.env_vars.update(AZURE_STORAGE_ACCOUNT_URL=e2e.azurite.endpoint, AZURE_STORAGE_KEY=ACCOUNT_KEY)
    try:
        e2e.refresh(expect_no_changes=True)
        e2e.destroy()
    finally:
        for name in ("AZURE_STORAGE_ACCOUNT_URL", "AZURE_STORAGE_KEY"):
            e2e.stack.workspace.env_vars.pop(name)
    assert not e2e.blob(vhd).exists()
    assert e2e.container not in containers(e2e.azurite)


def test_an_undeclared_config_key_fails_the_preview_naming_the_declared_one(e2e: E2E) -> None:
    e2e.configure(sizeGB=2)
    with pytest.raises(auto.CommandError) as refused:
        e2e.preview()
    text = str(refused.value)
    assert "config blank-vhd:sizeGB is not declared in Pulumi.yaml, so it would be ignored; did you mean " \
        "blank-vhd:sizeGb?" in text, text
    assert "Traceback" not in without_sdk_cancellation(text)
    e2e.configure(sizeGB=None)
    e2e.preview()
