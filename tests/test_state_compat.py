"""State compatibility: a stack made by blank-vhd 0.1.0 (commit 6e6fce2: one BlobContainer, one BlankVhd)
keeps working with the current code through the real CLI: refresh, a grow and destroy.

Every resource in that state holds `__provider`, a pickle of `providers.provider.BlankVhdProvider` or
`providers.container_provider.BlobContainerProvider` by reference; if either moved, the provider process
could not unpickle it and every operation on the stack would fail. The fixture
(tests/fixtures/state-v0.1.0.json) is `pulumi stack export --show-secrets` of such a stack (secrets as
plaintext objects, `secrets_providers` removed), with the Azurite port and the stack name as placeholders.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azurite_server import ACCOUNT_KEY, Azurite
from pulumi import automation as auto
from pulumi_stack import STATE, stack

from tests.faultproxy import blob_service
from vhdcore.azure.credentials import StorageTarget
from vhdcore.azure.page_blob import create_blank_vhd, inspect_blank_vhd
from vhdcore.format.sizes import GiB
from vhdcore.format.unique_id import UniqueId

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).parent / "fixtures" / "state-v0.1.0.json"
# What the fixture's stack holds (it is the state of a real stack, so the names are fixed).
CONTAINER = "compat-vhds"
BLOB = "vhd-0-f69c2473.vhd"
UNIQUE_ID = "ca726594ae544ad4b2fc90cfdbd7523a"
BLANK_VHD = "pulumi-python:dynamic/azureblob:BlankVhd"
BLOB_CONTAINER = "pulumi-python:dynamic/azureblob:BlobContainer"


def fixture_state(port: int, stack_name: str) -> dict[str, Any]:
    text = FIXTURE.read_text().replace("@@PORT@@", str(port)).replace("@@STACK@@", stack_name)
    state: dict[str, Any] = json.loads(text)
    return state


def resources(deployment: dict[str, Any], type_token: str) -> list[dict[str, Any]]:
    return [r for r in deployment.get("resources", []) if r["type"] == type_token]


@pytest.fixture
def old_stack(azurite: Azurite) -> Iterator[auto.Stack]:
    """A fresh stack of this project holding the fixture's state, with its container and disk in Azurite."""
    service = blob_service(azurite.connection_string)
    service.create_container(CONTAINER)
    target = StorageTarget(connection_string=azurite.connection_string)
    create_blank_vhd(target, container=CONTAINER, name=BLOB, size=GiB, unique_id=UniqueId.parse(UNIQUE_ID))
    name = f"compat-{uuid.uuid4().hex[:8]}"
    selected = stack(
        name,
        config={"target": "local", "containerName": CONTAINER, "sizeGb": 1},
        secret_config={"storageConnectionString": azurite.connection_string},
    )
    try:
        state = fixture_state(azurite.port, name)
        assert "secrets_providers" not in state["deployment"]
        # The engine accepts plaintext secret objects ({sig, plaintext}) and encrypts them with the
        # deployment's secrets provider when it writes the state; without one, CLI 3.274.1 panics ("attempt
        # to encrypt value"). So the fixture gets this stack's own: its passphrase and salt.
        salt = selected.workspace.stack_settings(name).encryption_salt
        assert salt, "the stack has no passphrase salt (its secret config should have made one)"
        state["deployment"]["secrets_providers"] = {"type": "passphrase", "state": {"salt": salt}}
        selected.import_stack(auto.Deployment(version=state["version"], deployment=state["deployment"]))
        yield selected
    finally:
        selected.destroy(color="never")
        selected.workspace.remove_stack(name)
        if CONTAINER in {c.name for c in service.list_containers()}:
            service.delete_container(CONTAINER)


def test_a_stack_made_by_0_1_0_refreshes_grows_and_destroys_with_this_code(
    old_stack: auto.Stack, azurite: Azurite
) -> None:
    imported = old_stack.export_stack().deployment
    assert len(resources(imported, BLANK_VHD)) == 1 and len(resources(imported, BLOB_CONTAINER)) == 1

    # Refresh: both providers unpickle and read; nothing is dropped, nothing changes.
    refreshed = old_stack.refresh(color="never")
    assert set(refreshed.summary.resource_changes or {}) == {"same"}, refreshed.summary.resource_changes
    deployment = old_stack.export_stack().deployment
    (disk,) = resources(deployment, BLANK_VHD)
    (container,) = resources(deployment, BLOB_CONTAINER)
    assert disk["outputs"]["unique_id"] == UNIQUE_ID and disk["outputs"]["size_bytes"] == GiB
    assert disk["outputs"]["azure_ready"] is True
    assert container["outputs"]["created"] is True
    # The fixture's plaintext secrets are stored encrypted.
    (state_file,) = (STATE / "state").rglob(f"{old_stack.name}.json")
    assert ACCOUNT_KEY not in state_file.read_text()

    # The same program is no change at all (the disk keeps its old auto-name).
    old_stack.up(color="never", expect_no_changes=True)

    # A grow: an in-place update of the disk the old code made.
    old_stack.set_config("sizeGb", auto.ConfigValue("2"))
    grown = old_stack.up(color="never")
    assert grown.summary.resource_changes == {"update": 1, "same": 2}, grown.summary.resource_changes
    target = StorageTarget(connection_string=azurite.connection_string)
    found = inspect_blank_vhd(target, container=CONTAINER, name=BLOB)
    assert found is not None and found.report.azure_ready, found
    assert found.blob_length == 2 * GiB + 512
    assert str(found.unique_id) == UNIQUE_ID
    assert old_stack.outputs()["blob_name"].value == BLOB

    # Destroy: the disk and the container the old code made are gone.
    old_stack.destroy(color="never")
    names = {c.name for c in blob_service(azurite.connection_string).list_containers()}
    assert CONTAINER not in names
