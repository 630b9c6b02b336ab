"""Shared fixtures: one real Azurite per test run behind a recording proxy, and a fresh container per test.

Every request a test makes to Azurite (through vhdcore, the SDK helpers here, the command line or the
Pulumi provider processes) passes `wire`, which records its x-ms-version; after each test that used
Azurite, `pinned_version` asserts that all of them carried the pinned storage API version (or one of
the versions a test declares with @pytest.mark.api_versions(...)). Azurite itself runs without
--skipApiVersionCheck, so it refuses any version newer than its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from azure.storage.blob import BlobServiceClient
from azurite_server import ACCOUNT_KEY, Azurite

from tests.e2e_support import E2E
from tests.faultproxy import FaultProxy, blob_service
from tests.images import TestImages, make_images
from vhdcore.azure.clouds import API_VERSION
from vhdcore.azure.credentials import StorageTarget

# The storage variables a developer's shell may hold; tests that resolve credentials must not see them.
STORAGE_ENV = (
    "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_ACCOUNT_URL", "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_AUTH_MODE", "VHDCORE_STORAGE_API_VERSION",
)


@pytest.fixture(scope="session")
def wire() -> Iterator[FaultProxy]:
    """A fresh in-memory Azurite on a free 127.0.0.1 port, and the recording proxy every test reaches it by."""
    server = Azurite().start()
    try:
        with FaultProxy(f"http://127.0.0.1:{server.port}") as proxy:
            yield proxy
    finally:
        server.stop()


@pytest.fixture(scope="session")
def azurite(wire: FaultProxy) -> Azurite:
    """Azurite as the tests see it: its endpoint and connection string lead through `wire`."""
    return Azurite(port=wire.port)


@pytest.fixture(autouse=True)
def pinned_version(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used Azurite: every request it sent carried the pinned x-ms-version. Before it, the
    account kinds this process learnt are forgotten, so request counts do not depend on the test order."""
    if "azurite" not in request.fixturenames:
        yield
        return
    from vhdcore.azure.accounts import forget

    forget()
    wire: FaultProxy = request.getfixturevalue("wire")
    start = wire.requests
    yield
    marker = request.node.get_closest_marker("api_versions")
    allowed = {API_VERSION, *(marker.args if marker else ())}  # fixtures speak the pinned one anyway
    sent = wire.versions(start)
    assert sent <= allowed, f"requests carried x-ms-version {sorted(map(str, sent - allowed))}, not {sorted(allowed)}"


@pytest.fixture
def container(azurite: Azurite) -> Iterator[str]:
    """A new, empty container in the session's Azurite, deleted afterwards."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    service = blob_service(azurite.connection_string)
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
def service(azurite: Azurite) -> Iterator[BlobServiceClient]:
    """A client of the session's Azurite, straight (no proxy), speaking the pinned API version."""
    with blob_service(azurite.connection_string) as client:
        yield client


@pytest.fixture
def direct(azurite: Azurite) -> StorageTarget:
    """A target that reaches the session's Azurite directly."""
    return StorageTarget(connection_string=azurite.connection_string)


@pytest.fixture
def no_storage_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in STORAGE_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def no_container_lookup(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """For check() tests whose accounts are made up (hosts that do not exist): the disk providers' look for the
    container (StorageProvider.check_container) is recorded as (container, blob) instead of sent."""
    import vhdcore

    asked: list[tuple[str, str]] = []

    def record(target: StorageTarget, name: str, *, blob: str, options: object = None) -> None:
        asked.append((name, blob))

    monkeypatch.setattr(vhdcore, "require_container", record)
    return asked


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
