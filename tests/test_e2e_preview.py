"""End to end, the real `pulumi` CLI through the Automation API on Azurite: what a new user meets first.

- A disk declared into a container that does not exist fails the preview (and `up`) with the message that says how to
  make one, and nothing is written; a BlobContainer declared beside it in the same program previews and comes up.
- Config errors name the stack config key in the user's own project namespace, here a project not called blank-vhd
  (the provider process learns it from the engine, as pulumi.get_project()).
"""

from __future__ import annotations

import base64
import secrets
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from azurite_server import Azurite
from pulumi import automation as auto
from pulumi_stack import ROOT, stack

from tests.e2e_support import E2E, containers
from tests.faultproxy import FaultProxy
from tests.images import TestImages
from tests.secrets_scan import SecretScan

pytestmark = pytest.mark.e2e

WRITES = ("PUT", "POST", "DELETE", "PATCH")


def refused(operation: Callable[[], object]) -> str:
    with pytest.raises(auto.CommandError) as failed:
        operation()
    return str(failed.value)


def writes(wire: FaultProxy, start: int) -> list[str]:
    wire.drain()
    return [f"{s.method} {s.path}" for s in wire.log[start:] if s.method in WRITES]


def test_a_disk_into_a_missing_container_fails_the_preview_and_writes_nothing(
    e2e: E2E, wire: FaultProxy, test_images: TestImages, tmp_path: Path
) -> None:
    missing, endpoint = f"no-such-{uuid.uuid4().hex[:8]}", e2e.azurite.endpoint
    connection = e2e.azurite.connection_string
    image = shutil.copy(test_images["qcow2"], tmp_path / "disk.qcow2")

    def blank() -> None:
        from providers import BlankVhd

        BlankVhd("vhd", size_gb=1, container_name=missing, connection_string=connection)

    def uploaded() -> None:
        from providers import VhdImage

        VhdImage("image", source=str(image), container_name=missing, connection_string=connection)

    says = (f"container '{missing}' does not exist in {endpoint}; create it first, with `vhdcore container create -n "
            f"{missing} --blob-endpoint {endpoint}` (credentials as for `vhdcore blob`) or, in a Pulumi program, a "
            "BlobContainer whose container_name output the disk takes.")
    start = len(wire.log)
    for name, program in (("vhd", blank), ("image", uploaded)):
        for operation in (e2e.preview, e2e.up):
            text = refused(lambda: operation(program=program))  # noqa: B023 (called at once)
            assert f"resource '{name}': property container_name value {{{missing}}} has a problem: {says}" in text, text
            assert "Traceback" not in text
    assert writes(wire, start) == []
    assert missing not in containers(e2e.azurite)
    assert not e2e.state_files() or "VhdImage" not in e2e.state_files()[0].read_text()


def test_a_blob_container_and_its_disks_in_one_program_preview_and_come_up(e2e: E2E, wire: FaultProxy) -> None:
    fresh, connection = f"box-{uuid.uuid4().hex[:8]}", e2e.azurite.connection_string

    def declared(**more: str) -> Callable[[], None]:
        def program() -> None:
            from providers import BlankVhd, BlobContainer

            box = BlobContainer("box", container_name=fresh, connection_string=connection, **more)
            BlankVhd("vhd", size_gb=1, container_name=box.container_name, connection_string=connection)

        return program

    start = len(wire.log)
    preview, run = e2e.preview(program=declared())
    assert preview.change_summary.get("create") == 3  # the stack, the container, the disk
    assert run.steps() == [("create", [])] and run.errors() == []
    assert writes(wire, start) == [] and fresh not in containers(e2e.azurite)
    e2e.up(program=declared())
    assert fresh in containers(e2e.azurite)
    # The container updated in place (here its API version): the disk's name stays known, so the disk stays.
    _, run = e2e.preview(program=declared(api_version="2019-02-02"))
    assert run.steps() == [("same", [])]
    assert run.steps("pulumi-python:dynamic/azureblob:BlobContainer") == [("update", ["api_version"])]
    e2e.destroy(program=declared())
    assert fresh not in containers(e2e.azurite)


@pytest.fixture
def own_project(tmp_path: Path, azurite: Azurite) -> Iterator[tuple[auto.Stack, SecretScan]]:
    """A stack of a project named acme-disks in a folder of its own (its Pulumi.yaml names the repository's
    virtualenv; PYTHONPATH lets its provider process import `providers`), scanned at the end for its secrets."""
    folder = tmp_path / "acme-disks"
    folder.mkdir()
    (folder / "Pulumi.yaml").write_text("name: acme-disks\nruntime:\n  name: python\n  options:\n    toolchain: pip\n"
                                        f"    virtualenv: {ROOT / 'venv'}\n")
    selected = stack(f"acme-{uuid.uuid4().hex[:8]}", project="acme-disks", work_dir=folder,
                     env={"PYTHONPATH": str(ROOT)}, run=lambda: None)
    scan = SecretScan()
    try:
        yield selected, scan
    finally:
        scan.saw_files(folder.glob("Pulumi.*.yaml"))
        selected.workspace.remove_stack(selected.name)
    scan.assert_clean()


def test_config_errors_name_the_users_own_project_namespace(
    own_project: tuple[auto.Stack, SecretScan], azurite: Azurite, no_storage_env: None
) -> None:
    selected, scan = own_project
    bad_key = f"Not!Base64{base64.b64encode(secrets.token_bytes(24)).decode()}!"
    scan.secret(bad_key)

    def disk(**account: Any) -> Callable[[], None]:
        def program() -> None:
            from providers import BlankVhd

            BlankVhd("vhd", size_gb=1, container_name="vhds", **account)

        return program

    def preview(program: Callable[[], None]) -> str:
        text = refused(lambda: selected.preview(program=program, on_output=lambda line: scan.saw("output", line),
                                                color="never"))
        scan.saw("error", text)
        assert "blank-vhd:" not in text and "Traceback" not in text, text
        return text

    selected.set_config("storageAccountKey", auto.ConfigValue(bad_key, secret=True))
    text = preview(disk(account_url=azurite.endpoint))
    assert "resource 'vhd' has a problem: stack config acme-disks:storageAccountKey: the account key is not base64" \
        in text, text
    selected.remove_config("storageAccountKey")
    text = preview(disk())
    assert "resource 'vhd': property storage_account_name value {<nil>} has a problem: no storage account given" in text
    assert "or the stack config acme-disks:storageConnectionString, or AZURE_STORAGE_CONNECTION_STRING" in text, text
