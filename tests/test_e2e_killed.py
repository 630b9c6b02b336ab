"""A killed `pulumi up` converges, through the real CLI: kill the whole process tree, the CLI alone, or the
dynamic-provider process alone while FaultProxy holds a request of the disk's create; then `pulumi cancel`
(when the CLI died holding the lock) and `pulumi up` again end with exactly the declared disk: no orphan,
no duplicate, no footerless blob. `refresh --clear-pending-creates` then drops the stale pending create
and leaves storage as it is. Every process a case leaves running (a leaked provider) is killed by its pid.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azurite_server import ACCOUNT, ACCOUNT_KEY, Azurite
from pulumi_stack import stack

from tests.faultproxy import Fault, FaultProxy, blob_service
from vhdcore.azure.credentials import StorageTarget
from vhdcore.azure.page_blob import inspect_blank_vhd
from vhdcore.format.sizes import GiB

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Case:
    kill: str  # "tree": the CLI and the provider; "cli": the CLI alone; "provider": the provider alone
    held: str  # the create's request the proxy holds: "put-blob" or "footer"
    then: str  # what the held request does once the kill is done: "lands" (forwarded) or "lost" (reset)


CASES = {
    # The footer write never arrives: a footerless blob of this resource is left, which the retry finishes.
    "tree-footer-lost": Case("tree", "footer", "lost"),
    # The provider outlives the CLI and finishes the create itself: the retry takes that disk over.
    "cli-footer-lands": Case("cli", "footer", "lands"),
    # Put Blob lands after the provider died: a footerless blob again, finished by the retry.
    "provider-put-blob-lands": Case("provider", "put-blob", "lands"),
}


def processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) for every process, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            found[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), cmdline)
    return found


def descendants(root: int) -> dict[int, str]:
    table, found, todo = processes(), {}, [root]
    while todo:
        parent = todo.pop()
        for pid, (ppid, cmdline) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = cmdline
                todo.append(pid)
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        # The process may be reaped between any two of these looks (seen once: /proc/<pid> there, its status gone).
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except (ProcessLookupError, FileNotFoundError):
        return False


@pytest.fixture
def leaked() -> Iterator[list[int]]:
    """Pids of provider processes a case may leave behind; each is killed (by pid) at the end."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def wait_for(condition: Any, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout} s")
        time.sleep(0.1)


@pytest.mark.parametrize("name", list(CASES))
def test_a_killed_up_converges_to_exactly_the_declared_disk(name: str, azurite: Azurite, proxy: FaultProxy,
                                                            leaked: list[int]) -> None:
    case = CASES[name]
    container = f"kill-{uuid.uuid4().hex[:8]}"
    via_proxy = (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                 f"BlobEndpoint={proxy.endpoint()};")
    selected = stack(f"kill-{uuid.uuid4().hex[:8]}", config={"target": "local", "containerName": container,
                                                            "sizeGb": 1},
                     secret_config={"storageConnectionString": via_proxy})
    service = blob_service(azurite.connection_string)
    release = threading.Event()
    held = proxy.add(Fault("reset" if case.then == "lost" else "delay", method="PUT", hold=release,
                           path=rf"^/{ACCOUNT}/{container}/.", query="^comp=page$" if case.held == "footer" else "^$"))
    failed: list[BaseException] = []

    def first_up() -> None:
        try:
            selected.up(color="never")
        except BaseException as exc:
            failed.append(exc)

    try:
        runner = threading.Thread(target=first_up)
        runner.start()
        wait_for(lambda: held.fired == 1, "the create's request reaching the proxy")
        tree = descendants(os.getpid())
        cli = [pid for pid, cmd in tree.items() if cmd.split(" ")[0].endswith("/pulumi") and " up " in cmd]
        provider = [pid for pid, cmd in tree.items() if "pulumi.dynamic" in cmd]
        assert len(cli) == 1 and len(provider) == 1, tree
        leaked.extend(provider)
        for pid in {"tree": cli + provider, "cli": cli, "provider": provider}[case.kill]:
            os.kill(pid, signal.SIGKILL)
        if case.kill != "cli":
            wait_for(lambda: not alive(provider[0]), "the provider's exit", timeout=30)
        release.set()  # the held request now lands (or is lost) with nobody waiting for it
        runner.join(timeout=300)
        assert not runner.is_alive() and failed, "the interrupted up did not fail"
        if case.kill == "cli":
            # The provider outlived the CLI: it finishes its create (its footer lands), then waits forever.
            wait_for(lambda: any(s.status == 201 and s.query == "comp=page" for s in list(proxy.log)),
                     "the leaked provider's footer write")
        proxy.clear()
        names = [b.name for b in service.get_container_client(container).list_blobs()]
        assert len(names) == 1, names  # what the interrupted create left (footerless or not)

        if case.kill != "provider":
            selected.cancel()  # the killed CLI left its lock
        selected.up(color="never")

        outputs = {k: v.value for k, v in selected.outputs().items()}
        names = [b.name for b in service.get_container_client(container).list_blobs()]
        assert names == [outputs["blob_name"]], (names, outputs)  # no orphan, no duplicate
        found = inspect_blank_vhd(StorageTarget(connection_string=azurite.connection_string), container=container,
                                  name=names[0])
        assert found is not None and found.report.azure_ready and found.blob_length == GiB + 512
        assert str(found.unique_id) == outputs["unique_id"]

        # The engine carries the interrupted create forward as a pending operation; clearing it drops only that
        # entry: it named the same blob, which the state now holds.
        selected.refresh(color="never", clear_pending_creates=True)
        assert not selected.export_stack().deployment.get("pending_operations")
        selected.up(color="never", expect_no_changes=True)
        assert [b.name for b in service.get_container_client(container).list_blobs()] == names
    finally:
        release.set()
        try:
            selected.destroy(color="never")
        finally:
            selected.workspace.remove_stack(selected.name, force=True)
