"""Clients kept open between calls (vhdcore.KeptClients, what the provider plugin uses for one engine run), on a real
Azurite behind a counting proxy: the calls of one thread to one account go over one connection; two accounts, or two
credentials for one account, never share a client; no client serves two threads; a caller's own transport,
credential or callback gets a client of its own per call; and closed clients are never used again. Through the
engine, the dynamic resources' provider process keeps its clients and the containers it found for its run."""

from __future__ import annotations

import contextvars
import threading
import uuid
from collections.abc import Callable
from typing import TypeVar

import pytest

import vhdcore
from tests.conftest import via
from tests.e2e_support import E2E
from tests.faultproxy import FaultProxy
from vhdcore import KEPT_CLIENTS, AuthFailedError, ClientOptions, CredentialsError, GiB, KeptClients, StorageTarget

T = TypeVar("T")

pytestmark = pytest.mark.usefixtures("no_storage_env")

WRONG_KEY = "A" * 86 + "=="


def kept_in(clients: KeptClients, call: Callable[[], T]) -> T:
    """`call` in a context whose calls use `clients`, as the plugin runs each request."""
    context = contextvars.copy_context()
    context.run(KEPT_CLIENTS.set, clients)
    return context.run(call)


def a_disk_made_and_removed(target: StorageTarget, container: str, name: str) -> None:
    made = vhdcore.create_blank_vhd(target, container=container, name=name, size=GiB)
    assert vhdcore.inspect_blank_vhd(target, container=container, name=name) is not None
    vhdcore.delete_blank_vhd(target, container=container, name=name, unique_id=made.unique_id)


def test_the_calls_of_a_run_to_one_account_go_over_one_connection(proxy: FaultProxy, container: str) -> None:
    target = via(proxy)
    a_disk_made_and_removed(target, container, "fresh.vhd")  # a client per call: a connection per call
    per_call = proxy.connections
    assert per_call >= 3

    clients = KeptClients()
    kept_in(clients, lambda: [a_disk_made_and_removed(target, container, f"kept-{n}.vhd") for n in range(3)])
    assert proxy.connections == per_call + 1 and len(clients) == 1
    assert proxy.requests > 3 * 4  # every request went out, on that one connection
    clients.close()


def test_two_accounts_or_two_credentials_never_share_a_client(proxy: FaultProxy, second_proxy: FaultProxy,
                                                               container: str) -> None:
    clients = KeptClients()
    options = ClientOptions()
    here, there = via(proxy), via(second_proxy)
    other_key = StorageTarget(account_url=proxy.endpoint(), account_key=WRONG_KEY)
    assert clients.client(here, options) is clients.client(here, options)
    assert clients.client(here, options) is not clients.client(there, options)
    assert clients.client(here, options) is not clients.client(other_key, options)
    assert clients.client(here, options) is not clients.client(here, ClientOptions(retry_total=1))
    # After the right key worked on the account, the wrong one is still refused: each call signs with its own.
    assert kept_in(clients, lambda: vhdcore.container_exists(here, container)) is True
    with pytest.raises(AuthFailedError):
        kept_in(clients, lambda: vhdcore.container_exists(other_key, container))
    clients.close()


def test_no_client_serves_two_threads(proxy: FaultProxy) -> None:
    clients = KeptClients()
    target, options = via(proxy), ClientOptions()
    mine = clients.client(target, options)
    theirs: list[object] = []
    worker = threading.Thread(target=lambda: theirs.append(clients.client(target, options)))
    worker.start()
    worker.join()
    assert theirs[0] is not None and theirs[0] is not mine and len(clients) == 2
    clients.close()


def test_a_callers_own_objects_get_a_client_per_call(proxy: FaultProxy, container: str) -> None:
    clients = KeptClients()
    said: list[str] = []
    options = ClientOptions(on_retry=said.append)
    assert clients.client(via(proxy), options) is None
    start = proxy.connections
    for _ in range(2):
        assert kept_in(clients, lambda: vhdcore.container_exists(via(proxy), container, options=options))
    assert proxy.connections == start + 2 and len(clients) == 0


def test_closed_clients_are_never_used_again(proxy: FaultProxy, container: str) -> None:
    clients = KeptClients()
    assert kept_in(clients, lambda: vhdcore.container_exists(via(proxy), container)) is True
    clients.close()
    start = proxy.connections
    assert kept_in(clients, lambda: vhdcore.container_exists(via(proxy), container)) is True
    assert clients.client(via(proxy), ClientOptions()) is None and proxy.connections == start + 1


def test_a_target_that_cannot_work_fails_as_without_kept_clients(proxy: FaultProxy) -> None:
    clients = KeptClients()
    broken = StorageTarget(account_url=proxy.endpoint(), account_key="not base64!")
    with pytest.raises(CredentialsError) as without:
        vhdcore.container_exists(broken, "vhds")
    with pytest.raises(CredentialsError) as kept:
        kept_in(clients, lambda: vhdcore.container_exists(broken, "vhds"))
    assert str(kept.value) == str(without.value) and len(clients) == 0 and proxy.requests == 0


@pytest.mark.e2e
def test_the_dynamic_resources_provider_process_keeps_clients_and_found_containers_for_its_run(
    e2e: E2E, wire: FaultProxy
) -> None:
    """The provider process of the dynamic resources serves one engine run, as the plugin's does, and keeps what the
    plugin keeps: its clients, so a thread's calls to one account share a connection, and the containers it found,
    so the disks made in one are not each asked about it."""
    box, connection = f"box-{uuid.uuid4().hex[:8]}", e2e.azurite.connection_string
    disks = 8

    def program() -> None:
        from providers import BlankVhd, BlobContainer

        container = BlobContainer("box", container_name=box, connection_string=connection)
        for n in range(disks):
            BlankVhd(f"vhd-{n}", size_gb=1, container_name=container.container_name, connection_string=connection)

    start, connections = len(wire.log), wire.connections
    e2e.up(program=program)
    wire.drain()
    sent = wire.log[start:]
    assert len({s.path for s in sent if s.method == "PUT" and "/vhd-" in s.path}) == disks  # every disk was made
    assert [s.method for s in sent].count("HEAD") == 1  # the first disk's check found the container; before: 8
    # At most one connection per provider thread (it serves 4 calls at once) and the container check's own;
    # before: two or more per disk (17 here).
    assert wire.connections - connections < disks
