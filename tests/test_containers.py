"""vhdcore.azure.containers against a real Azurite: its errors follow page_blob's translation and redaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from azurite_server import ACCOUNT_KEY, Azurite

from tests.conftest import blob_service, via
from tests.faultproxy import Fault, FaultProxy, fast_options
from vhdcore.azure.containers import container_exists, create_container, delete_container_if_empty
from vhdcore.azure.credentials import StorageTarget
from vhdcore.azure.translate import redact
from vhdcore.errors import AuthFailedError, BlobLeasedError, StorageError, ThrottledError


@pytest.fixture
def name(azurite: Azurite) -> Iterator[str]:
    name = f"c-{uuid.uuid4().hex[:12]}"
    yield name
    service = blob_service(azurite.connection_string)
    if service.get_container_client(name).exists():
        service.delete_container(name)


def test_create_find_and_delete_an_empty_container(azurite: Azurite, name: str) -> None:
    target = StorageTarget(connection_string=azurite.connection_string)
    assert create_container(target, name) is True and create_container(target, name) is False
    assert container_exists(target, name) is True
    assert delete_container_if_empty(target, name) is True and container_exists(target, name) is False


def test_throttling_is_told_as_for_blobs(proxy: FaultProxy, name: str) -> None:
    proxy.add(Fault.server_busy(method="PUT", times=-1))
    with pytest.raises(ThrottledError, match=rf"while creating container '{name}', even after retries; wait") as caught:
        create_container(via(proxy), name, options=fast_options())
    assert (caught.value.status, caught.value.code) == (503, "ServerBusy")


def test_other_errors_carry_status_and_code(proxy: FaultProxy, name: str) -> None:
    proxy.add(Fault("status", method="PUT", status=500, code="InternalError", times=-1))
    with pytest.raises(StorageError, match=r"answered HTTP 500 InternalError while creating container") as caught:
        create_container(via(proxy), name, options=fast_options())
    assert (caught.value.status, caught.value.code) == (500, "InternalError")


def test_a_leased_container_is_refused_as_leased(azurite: Azurite, name: str) -> None:
    target = StorageTarget(connection_string=azurite.connection_string)
    create_container(target, name)
    lease = blob_service(azurite.connection_string).get_container_client(
        name).acquire_lease(-1)
    with pytest.raises(BlobLeasedError, match=rf"deleting container '{name}' was refused because .* active lease"):
        delete_container_if_empty(target, name)
    assert container_exists(target, name) is True
    lease.release()


def test_a_wrong_key_is_an_auth_failure_without_the_key(azurite: Azurite, name: str) -> None:
    wrong = "A" * 86 + "=="
    with pytest.raises(AuthFailedError, match=r"refused the credentials .*HTTP 403") as caught:
        create_container(StorageTarget(account_url=azurite.endpoint, account_key=wrong), name, options=fast_options())
    assert wrong not in str(caught.value)


def test_redact_removes_the_targets_secrets_and_any_sas_signature() -> None:
    target = StorageTarget(account_url="https://acct.blob.core.windows.net", account_key=ACCOUNT_KEY)
    text = f"failed GET https://acct.blob.core.windows.net/c?sv=1&SIG=abc%2F&se=2 with key {ACCOUNT_KEY}"
    assert redact(text, target) == ("failed GET https://acct.blob.core.windows.net/c?sv=1&sig=<redacted>&se=2 "
                                    "with key <redacted>")
