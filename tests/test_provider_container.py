"""BlobContainerProvider against Azurite: it deletes only a container it made, and only when empty,
so `pulumi up` then `pulumi destroy` leaves the emulator as it was."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from azurite_server import ACCOUNT_KEY, Azurite
from pulumi.output import Unknown

from providers.container_provider import BlobContainerProvider
from vhdcore.errors import VhdError


@pytest.fixture
def name(service: BlobServiceClient) -> Iterator[str]:
    """A container name nobody uses yet; removed afterwards if a test left it."""
    name = f"c-{uuid.uuid4().hex[:12]}"
    yield name
    if service.get_container_client(name).exists():
        service.delete_container(name)


def props(azurite: Azurite, name: str, **over: Any) -> dict[str, Any]:
    given = {"__provider": "x", "container_name": name, "connection_string": azurite.connection_string} | over
    return {k: v for k, v in given.items() if v is not None}


def test_create_then_delete_leaves_no_container(azurite: Azurite, service: BlobServiceClient, name: str) -> None:
    provider = BlobContainerProvider()
    created = provider.create(provider.check({}, props(azurite, name)).inputs)
    outs = created.outs or {}
    assert outs["created"] is True and created.id == outs["url"] == f"{azurite.endpoint}/{name}"
    assert service.get_container_client(name).exists()
    assert provider.read(created.id, outs).id == created.id
    provider.delete(created.id, outs)
    assert not service.get_container_client(name).exists()
    assert provider.read(created.id, outs).id is None  # gone: dropped from the state


def test_an_existing_container_is_used_and_never_deleted(
    azurite: Azurite, service: BlobServiceClient, name: str
) -> None:
    service.create_container(name)
    provider = BlobContainerProvider()
    created = provider.create(props(azurite, name))
    assert (created.outs or {})["created"] is False
    provider.delete(created.id, created.outs or {})
    assert service.get_container_client(name).exists()


def test_a_container_that_still_holds_blobs_is_kept(azurite: Azurite, service: BlobServiceClient, name: str) -> None:
    provider = BlobContainerProvider()
    created = provider.create(props(azurite, name))
    service.get_blob_client(name, "someone-elses.vhd").upload_blob(b"keep")
    provider.delete(created.id, created.outs or {})
    assert service.get_container_client(name).exists()


def test_check_and_diff(azurite: Azurite, name: str) -> None:
    provider = BlobContainerProvider()
    failures = provider.check({}, props(azurite, "Bad_Name")).failures
    assert [f.property for f in failures] == ["container_name"]
    failures = provider.check({}, {"__provider": "x"}).failures
    assert sorted(f.property for f in failures) == ["container_name", "storage_account_name"]
    assert provider.check({}, props(azurite, Unknown(), connection_string=Unknown())).failures == []

    old = props(azurite, name) | {"blob_endpoint": azurite.endpoint, "created": True}
    assert provider.diff("id", old, props(azurite, name, __provider="other")).changes is False
    renamed = provider.diff("id", old, props(azurite, name + "x"))
    # changes=None: the engine names the changed inputs itself (see providers.common.changed).
    assert (renamed.changes, renamed.replaces) == (None, ["container_name"])
    same_account = props(azurite, name, connection_string=None, account_url=azurite.endpoint, account_key=ACCOUNT_KEY)
    rekeyed = provider.diff("id", old, same_account)
    assert (rekeyed.changes, rekeyed.replaces) == (None, [])
    assert provider.update("id", old, same_account).outs == {
        "container_name": name, "account_url": azurite.endpoint, "account_key": ACCOUNT_KEY,
        "url": f"{azurite.endpoint}/{name}", "blob_endpoint": azurite.endpoint, "created": True,
    }


@pytest.mark.usefixtures("no_storage_env")
def test_the_container_stays_on_its_account_when_the_environment_moves(
    azurite: Azurite, service: BlobServiceClient, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = BlobContainerProvider()
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    created = provider.create(provider.check({}, props(azurite, name, connection_string=None)).inputs)
    outs = (created.outs or {}) | {"__provider": "x"}
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", "AccountName=two;AccountKey=a2V5")
    moved = provider.diff(created.id, outs, props(azurite, name, connection_string=None))
    assert (moved.changes, moved.replaces) == (True, ["blob_endpoint"])
    # Another account's connection string lends no key to this one: refused clearly, nothing deleted.
    with pytest.raises(VhdError, match="plain http and no account key or SAS"):
        provider.delete(created.id, outs)
    assert service.get_container_client(name).exists()
