"""The provider plugin end to end: the real `pulumi` CLI (through the Automation API, with inline programs that
declare `blank-vhd:index:*` resources) starts `pulumi-resource-blank-vhd` from PATH (tools/bin, as a pip install
puts the console script there) against a real Azurite. Nothing here is mocked.

Create, a resize previewed as an update of sizeGb, the grow, a shrink refused at preview, credentials from the
provider config, from an explicit provider resource and from a resource's own inputs (all scanned: no key in clear
in the state, its exports or any output), one-line refusals, imports by id (a disk made by `vhdcore blob create`, an
image made by `vhdcore blob upload`, a foreign VHD, a container) followed by an up that changes nothing, the move of
a stack's disks from the dynamic resources to the plugin, and destroy.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
from azurite_server import ACCOUNT_KEY, Azurite
from pulumi import automation as auto
from pulumi_stack import ROOT

from providers import BlankVhd, BlobContainer
from providers.schema import BLANK_VHD, BLOB_CONTAINER, VHD_IMAGE, ResourceDecl
from tests.e2e_support import E2E, Run, state_text, without_sdk_cancellation
from tests.faultproxy import blob_service
from tests.images import TestImages
from vhdcore import GiB, StorageTarget, UniqueId, create_blank_vhd, fixed_footer, inspect_blank_vhd

pytestmark = pytest.mark.e2e
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # the engine's marker of a secret value


def declare(decl: ResourceDecl, name: str, opts: pulumi.ResourceOptions | None = None,
            **inputs: Any) -> pulumi.CustomResource:
    """A plugin resource as a generated SDK declares it: its inputs, and every property seeded (or it never shows;
    the SDK sends no None)."""
    return pulumi.CustomResource(decl.token, name, {**dict.fromkeys(p.camel for p in decl.props), **inputs}, opts)


def plugin_stack(azurite: Azurite, program: Callable[[], None], *, configured: bool = True) -> E2E:
    env = E2E(azurite, program=program)
    if configured:  # the default provider's config: `pulumi config set --secret blank-vhd:connectionString ...`
        env.stack.set_config("connectionString", auto.ConfigValue(azurite.connection_string, secret=True))
    return env


def output(resource: pulumi.CustomResource, name: str) -> pulumi.Output[Any]:
    """An output as the SDK names it on a resource declared by its token: the property's own (camelCase) name."""
    value: pulumi.Output[Any] = getattr(resource, name)
    return value


def warnings_about(run: Run, name: str) -> list[str]:
    return [e.diagnostic_event.message for e in run.events if e.diagnostic_event is not None
            and e.diagnostic_event.severity == "warning" and (e.diagnostic_event.urn or "").endswith(f"::{name}")]


def one_line(text: str, needle: str) -> None:
    """How the CLI reports a provider's refusal: the sentence, no traceback."""
    assert "Traceback" not in without_sdk_cancellation(text) and 'File "' not in without_sdk_cancellation(text), text
    lines = [line for line in text.splitlines() if needle in line]
    assert lines and all(line.count(needle) == 1 for line in lines), text


def test_the_plugin_creates_previews_a_grow_grows_refuses_a_shrink_and_destroys(azurite: Azurite) -> None:
    wanted = {"size": 1}
    env: E2E

    def program() -> None:
        container = declare(BLOB_CONTAINER, "vhds", containerName=env.container)
        disk = declare(BLANK_VHD, "data", pulumi.ResourceOptions(depends_on=[container]), sizeGb=wanted["size"],
                       containerName=env.container)
        for key in ("url", "blobName", "uniqueId", "sizeBytes"):
            pulumi.export(key, output(disk, key))

    env = plugin_stack(azurite, program)
    try:
        _, run = env.up()
        assert sorted(op for op, _ in run.steps(BLANK_VHD.token)) == ["create"]
        made = env.outputs()
        assert re.fullmatch(r"data-[0-9a-f]{8}\.vhd", made["blobName"]) and made["sizeBytes"] == GiB
        found = inspect_blank_vhd(env.target, container=env.container, name=made["blobName"])
        assert found is not None and found.report.azure_ready and found.blob_length == GiB + 512
        assert str(found.unique_id) == made["uniqueId"] and found.url == made["url"]

        wanted["size"] = 2
        preview, run = env.preview()
        assert run.steps(BLANK_VHD.token) == [("update", ["sizeGb"])] and preview.change_summary.get("update") == 1
        env.up()
        grown = env.outputs()
        assert grown["uniqueId"] == made["uniqueId"] and grown["sizeBytes"] == 2 * GiB
        found = inspect_blank_vhd(env.target, container=env.container, name=made["blobName"])
        assert found is not None and found.report.azure_ready and found.blob_length == 2 * GiB + 512

        wanted["size"] = 1
        with pytest.raises(auto.CommandError) as refused:
            env.preview()
        one_line(str(refused.value), "sizeGb 1 would shrink the 2 GiB disk")
        assert "set allowShrinkByReplace to true" in str(refused.value)
        found = inspect_blank_vhd(env.target, container=env.container, name=made["blobName"])
        assert found is not None and found.blob_length == 2 * GiB + 512  # nothing was written

        wanted["size"] = 2
        env.up(expect_no_changes=True)
        refreshed, _ = env.refresh()
        assert set(refreshed.summary.resource_changes or {}) == {"same"}
        # Deleted out of band: a refresh drops it from the state (read answers with no id), the next up makes it.
        env.blob(made["blobName"]).delete_blob()
        refreshed, _ = env.refresh()
        assert (refreshed.summary.resource_changes or {}).get("delete") == 1, refreshed.summary.resource_changes
        _, run = env.up()
        assert [op for op, _ in run.steps(BLANK_VHD.token)] == ["create"]
        env.destroy()
        assert env.container not in {c.name for c in blob_service(azurite.connection_string).list_containers()}
    finally:
        env.finish()


def test_an_explicit_provider_and_a_resources_own_credentials_with_secrets_kept_and_one_line_refusals(
    azurite: Azurite,
) -> None:
    declared = {"taken": False}
    env: E2E

    def program() -> None:
        account = pulumi.ProviderResource("blank-vhd", "account",
                                          {"connectionString": pulumi.Output.secret(azurite.connection_string)})
        on_account = pulumi.ResourceOptions(provider=account)
        container = declare(BLOB_CONTAINER, "vhds", on_account, containerName=env.container)
        after = pulumi.ResourceOptions(provider=account, depends_on=[container])
        declare(BLANK_VHD, "a", after, sizeGb=1, containerName=env.container, blobName="a.vhd")
        # The default provider has no config here: this disk names its account and key itself.
        declare(BLANK_VHD, "b", pulumi.ResourceOptions(depends_on=[container]), sizeGb=1, containerName=env.container,
                blobName="b.vhd", accountUrl=azurite.endpoint, accountKey=pulumi.Output.secret(ACCOUNT_KEY))
        if declared["taken"]:
            declare(BLANK_VHD, "taken", after, sizeGb=1, containerName=env.container, blobName="taken.vhd")

    env = plugin_stack(azurite, program, configured=False)
    try:
        env.up()
        for name in ("a.vhd", "b.vhd"):
            found = inspect_blank_vhd(env.target, container=env.container, name=name)
            assert found is not None and found.report.azure_ready, name
        # Secrets as the engine marks them (export decrypts them, the state file holds only ciphertext).
        deployment = env.stack.export_stack().deployment
        provider = next(r for r in deployment["resources"] if r["type"] == "pulumi:providers:blank-vhd"
                        and r["urn"].endswith("::account"))
        b = next(r for r in deployment["resources"] if r["urn"].endswith("::b"))
        for value in (provider["inputs"]["connectionString"], b["outputs"]["accountKey"], b["inputs"]["accountKey"]):
            assert isinstance(value, dict) and SECRET_SIG in value, value
        assert ACCOUNT_KEY not in state_text(env)

        made = create_blank_vhd(env.target, container=env.container, name="taken.vhd", size=GiB)
        declared["taken"] = True
        with pytest.raises(auto.CommandError) as refused:
            env.up()
        one_line(str(refused.value), f"blob 'taken.vhd' already exists in container {env.container!r} and was left "
                                     "untouched")
        assert "set adoptExisting to true" in str(refused.value)
        again = inspect_blank_vhd(env.target, container=env.container, name="taken.vhd")
        assert again is not None and again.unique_id == made.unique_id and again.etag == made.etag
        declared["taken"] = False
        env.destroy()
        assert inspect_blank_vhd(env.target, container=env.container, name="a.vhd") is None
        assert inspect_blank_vhd(env.target, container=env.container, name="taken.vhd") is not None  # never ours
        blob_service(azurite.connection_string).get_blob_client(env.container, "taken.vhd").delete_blob()
    finally:
        env.finish()
        service = blob_service(azurite.connection_string)
        if env.container in {c.name for c in service.list_containers()}:
            service.delete_container(env.container)


def vhdcore_command(*args: str | Path) -> str:
    done = subprocess.run([sys.executable, "-m", "vhdcore", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def foreign_vhd(target: StorageTarget, container: str, name: str, size: int) -> None:
    """A valid fixed VHD that blank-vhd did not make: a page blob and a footer written with the plain SDK."""
    with target.service_client() as service:
        blob = service.get_blob_client(container, name)
        blob.create_page_blob(size + 512)
        blob.upload_page(fixed_footer(size, unique_id=UniqueId.random()).pack(), offset=size, length=512)


def test_imports_by_id_then_an_up_changes_nothing_and_destroy_deletes_only_what_this_tool_made(
    azurite: Azurite, test_images: TestImages
) -> None:
    """What `pulumi import` and the `import` resource option do: read() finds the resource from its id alone, with
    the provider config's account, and returns its inputs as check would, so a program declaring it as it is
    imports it and then shows no change."""
    importing = {"on": True}
    env: E2E

    def program() -> None:
        where = f"{azurite.endpoint}/{env.container}"

        def opts(url: str) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(import_=url if importing["on"] else None)

        declare(BLOB_CONTAINER, "vhds", opts(where), containerName=env.container)
        declare(BLANK_VHD, "made", opts(f"{where}/made.vhd"), sizeGb=2, containerName=env.container,
                blobName="made.vhd", metadata={"team": "disks"})
        declare(BLANK_VHD, "theirs", opts(f"{where}/theirs.vhd"), sizeGb=1, containerName=env.container,
                blobName="theirs.vhd")
        declare(VHD_IMAGE, "image", opts(f"{where}/image.vhd"), source=str(test_images["qcow2"]),
                containerName=env.container, blobName="image.vhd")

    env = plugin_stack(azurite, program)
    service = blob_service(azurite.connection_string)
    service.create_container(env.container)
    try:
        account = ("--connection-string", azurite.connection_string)
        vhdcore_command("blob", "create", "-c", env.container, "-n", "made.vhd", "--size", "2GiB", *account,
                        "--metadata", "team=disks")
        vhdcore_command("blob", "upload", "-c", env.container, "-n", "image.vhd", *account, test_images["qcow2"])
        foreign_vhd(env.target, env.container, "theirs.vhd", GiB)
        before = {name: inspect_blank_vhd(env.target, container=env.container, name=name)
                  for name in ("made.vhd", "theirs.vhd", "image.vhd")}

        _, run = env.up()
        ops = {token: [op for op, _ in run.steps(token)] for token in (BLANK_VHD.token, VHD_IMAGE.token,
                                                                        BLOB_CONTAINER.token)}
        assert ops == {BLANK_VHD.token: ["import", "import"], VHD_IMAGE.token: ["import"],
                       BLOB_CONTAINER.token: ["import"]}, ops
        resources = {r["urn"].rpartition("::")[2]: r for r in env.stack.export_stack().deployment["resources"]}
        assert resources["made"]["inputs"]["sizeGb"] == 2 and resources["made"]["outputs"]["adopted"] is True
        assert resources["image"]["outputs"]["fingerprint"].startswith("sha256:")
        assert resources["vhds"]["outputs"]["created"] is False

        importing["on"] = False
        env.up(expect_no_changes=True)
        refreshed, _ = env.refresh()
        assert set(refreshed.summary.resource_changes or {}) == {"same"}
        for name, found in before.items():  # imported without a write
            now = inspect_blank_vhd(env.target, container=env.container, name=name)
            assert now is not None and found is not None and now.etag == found.etag, name

        _, run = env.destroy()
        warned = warnings_about(run, "theirs")
        assert any("'theirs.vhd'" in w and "left in place because it was adopted" in w for w in warned), warned
        left = {b.name for b in service.get_container_client(env.container).list_blobs()}
        assert left == {"theirs.vhd"}  # this tool's disks deleted by their unique id; the foreign one kept
        assert env.container in {c.name for c in service.list_containers()}  # imported, not created: kept
    finally:
        env.finish()
        if env.container in {c.name for c in service.list_containers()}:
            service.delete_container(env.container)


def test_a_stack_moves_its_disks_from_the_dynamic_resources_to_the_plugin_with_aliases(azurite: Azurite) -> None:
    """docs/languages.md's way: declare the plugin's resources under the same names with an alias of the old type; the
    up changes nothing (the plugin's diff reads the dynamic state), a refresh rewrites the state in the plugin's
    names, and from then on the plugin manages the disks."""
    plugin = {"on": False}
    env: E2E

    def program() -> None:
        if not plugin["on"]:
            container: pulumi.Resource = BlobContainer("vhds", container_name=env.container)
            disk = BlankVhd("data", size_gb=1, container_name=env.container,
                            opts=pulumi.ResourceOptions(depends_on=[container]))
            pulumi.export("url", disk.url)
            return

        def moved(old: str) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=f"pulumi-python:dynamic/azureblob:{old}")])

        container = declare(BLOB_CONTAINER, "vhds", moved("BlobContainer"), containerName=env.container)
        opts = pulumi.ResourceOptions.merge(moved("BlankVhd"), pulumi.ResourceOptions(depends_on=[container]))
        disk = declare(BLANK_VHD, "data", opts, sizeGb=1, containerName=env.container)
        pulumi.export("url", output(disk, "url"))
        pulumi.export("uniqueId", output(disk, "uniqueId"))

    env = plugin_stack(azurite, program)
    try:
        env.up()
        url = env.outputs()["url"]
        plugin["on"] = True
        moved_up, _ = env.up()
        assert set(moved_up.summary.resource_changes or {}) == {"same"}, moved_up.summary.resource_changes
        env.refresh()
        resources = {r["urn"].rpartition("::")[2]: r for r in env.stack.export_stack().deployment["resources"]}
        assert resources["data"]["type"] == BLANK_VHD.token and "sizeBytes" in resources["data"]["outputs"]
        assert "__provider" not in resources["data"]["outputs"]
        env.up(expect_no_changes=True)
        out = env.outputs()
        found = inspect_blank_vhd(env.target, container=env.container, name=url.rpartition("/")[2])
        assert out["url"] == url and found is not None and str(found.unique_id) == out["uniqueId"]
        env.destroy()
        assert env.container not in {c.name for c in blob_service(azurite.connection_string).list_containers()}
    finally:
        env.finish()
