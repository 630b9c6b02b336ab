"""Shared fixtures: one real Azurite per test run, and a fresh container per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from azurite_server import ACCOUNT_KEY, Azurite

from tests.e2e_support import E2E
from tests.faultproxy import FaultProxy
from tests.images import TestImages, make_images
from vhdcore.azure.credentials import StorageTarget

# The storage variables a developer's shell may hold; tests that resolve credentials must not see them.
STORAGE_ENV = (
    "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_ACCOUNT_URL", "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_AUTH_MODE",
)


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """A fresh in-memory Azurite on a free 127.0.0.1 port, stopped after the run."""
    server = Azurite().start()
    yield server
    server.stop()


@pytest.fixture
def container(azurite: Azurite) -> Iterator[str]:
    """A new, empty container in the session's Azurite, deleted afterwards."""
    from azure.storage.blob import BlobServiceClient

    name = f"t-{uuid.uuid4().hex[:12]}"
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    service.create_container(name)
    yield name
    service.delete_container(name)


@pytest.fixture
def e2e(azurite: Azurite) -> Iterator[E2E]:
    """A fresh stack of the project on the session's Azurite (tests/e2e_support.py). At the end it is destroyed
    and removed, and everything its operations showed is scanned for the secrets registered in `e2e.scan`."""
    env = E2E(azurite)
    yield env
    env.finish()


@pytest.fixture
def no_storage_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in STORAGE_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def proxy(azurite: Azurite) -> Iterator[FaultProxy]:
    """A fault-injecting, counting proxy in front of the session's Azurite."""
    with FaultProxy(f"http://127.0.0.1:{azurite.port}") as running:
        yield running


def via(proxy: FaultProxy) -> StorageTarget:
    """A target that reaches Azurite through `proxy`."""
    return StorageTarget(account_url=proxy.endpoint(), account_key=ACCOUNT_KEY)


@pytest.fixture(scope="session")
def test_images(tmp_path_factory: pytest.TempPathFactory) -> TestImages:
    """The known 5 MiB + 1536 raw disk and qemu-img's conversions of it to every format (tests/images.py)."""
    return make_images(tmp_path_factory.mktemp("images"))
