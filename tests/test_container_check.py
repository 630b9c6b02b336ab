"""The disk providers' check (which the engine runs at preview) looks for the container a new disk goes into, on a
real Azurite behind a counting proxy: a missing one is a failure that says how to make it, before anything is written;
nothing is asked while a name or the account is unknown (a BlobContainer being made in the same program) or for a
disk that stays where it is; an account that cannot be reached only warns. Through the plugin, a container found is
not asked about again in the same run (per account and credentials), and one deleted meanwhile fails the create."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from azure.storage.blob import BlobServiceClient
from azurite_server import ACCOUNT_KEY
from pulumi.output import Unknown
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.provider import CheckRequest, CheckResponse, CreateRequest

from providers.image_provider import VhdImageProvider
from providers.plugin import wire
from providers.plugin.provider import BlankVhdPlugin
from providers.plugin.server import one_line
from providers.provider import BlankVhdProvider
from tests.faultproxy import FaultProxy, Seen
from tests.images import TestImages
from vhdcore import ContainerNotFoundError

T = TypeVar("T")

pytestmark = pytest.mark.usefixtures("no_storage_env")


def account(proxy: FaultProxy) -> dict[str, Any]:
    return {"account_url": proxy.endpoint(), "account_key": ACCOUNT_KEY}


def disk(container: Any, **over: Any) -> dict[str, Any]:
    return {"size_gb": 1.0, "container_name": container, "blob_name": "d.vhd", **over}


def sent(proxy: FaultProxy, start: int = 0) -> list[Seen]:
    proxy.drain()
    return proxy.log[start:]


def missing(name: str, endpoint: str) -> str:
    return (f"container {name!r} does not exist in {endpoint}; create it first, with `vhdcore container create -n "
            f"{name} --blob-endpoint {endpoint}` (credentials as for `vhdcore blob`) or, in a Pulumi program, a "
            "BlobContainer whose container_name output the disk takes.")


def test_a_new_disk_in_a_missing_container_fails_check_with_one_head_and_no_write(proxy: FaultProxy) -> None:
    found = BlankVhdProvider().check({}, disk("no-such-box", **account(proxy))).failures
    assert [(f.property, f.reason) for f in found] == [("container_name", missing("no-such-box", proxy.endpoint()))]
    assert [(s.method, s.path, s.status) for s in sent(proxy)] == [
        ("HEAD", "/devstoreaccount1/no-such-box/d.vhd", 404)]


def test_a_container_that_exists_passes_whether_the_blob_does_or_not(proxy: FaultProxy, container: str) -> None:
    provider = BlankVhdProvider()
    assert provider.check({}, disk(container, **account(proxy))).failures == []
    assert [(s.method, s.status) for s in sent(proxy)] == [("HEAD", 404)]  # BlobNotFound: the container is there
    auto = provider.check({}, {"size_gb": 1.0, "container_name": container, **account(proxy)})
    assert auto.failures == [] and sent(proxy)[-1].path.endswith(f"/{container}/{auto.inputs['blob_name']}")


def test_nothing_is_asked_while_the_container_or_account_is_unknown(proxy: FaultProxy) -> None:
    provider = BlankVhdProvider()
    # A BlobContainer being made in the same program: its container_name output is unknown at preview.
    assert provider.check({}, disk(Unknown(), **account(proxy))).failures == []
    assert provider.check({}, disk("no-such-box", account_url=Unknown(), account_key=ACCOUNT_KEY)).failures == []
    assert provider.check({}, disk("no-such-box", **{**account(proxy), "account_key": Unknown()})).failures == []
    # A bad input fails on its own, without asking.
    assert [f.property for f in provider.check({}, {**disk("no-such-box", **account(proxy)), "size_gb": 0.0}).failures
            ] == ["size_gb"]
    assert sent(proxy) == []


def test_a_disk_that_stays_where_it_is_is_not_asked_about_and_a_move_is(proxy: FaultProxy, container: str) -> None:
    provider = BlankVhdProvider()
    olds = provider.check({}, disk(container, **account(proxy))).inputs
    start = len(sent(proxy))
    grown = {**disk(container, **account(proxy)), "size_gb": 2.0, "account_key": "A" * 86 + "=="}
    assert provider.check(olds, grown).failures == []
    assert sent(proxy, start) == []  # a grow, or a rotated key: the container was there at create
    moved = provider.check(olds, disk("no-such-box", **account(proxy))).failures
    assert [f.property for f in moved] == ["container_name"] and len(sent(proxy, start)) == 1


def test_an_account_that_cannot_be_reached_only_warns(capsys: pytest.CaptureFixture[str], closed_port: int) -> None:
    endpoint = f"http://127.0.0.1:{closed_port}/devstoreaccount1"  # nothing listens there
    checked = BlankVhdProvider().check({}, disk("vhds", account_url=endpoint, account_key=ACCOUNT_KEY))
    assert checked.failures == []
    warning = capsys.readouterr().err
    assert warning == (f"warning: container 'vhds' could not be checked (could not connect to {endpoint} (connection "
                       "refused) while looking for container 'vhds', so nothing was changed); if it does not exist, "
                       "creating the disk will fail.\n")


def test_refused_credentials_only_warn(proxy: FaultProxy, capsys: pytest.CaptureFixture[str]) -> None:
    wrong = "A" * 86 + "=="
    checked = BlankVhdProvider().check({}, disk("vhds", account_url=proxy.endpoint(), account_key=wrong))
    assert checked.failures == []
    warning = capsys.readouterr().err
    assert warning.startswith("warning: container 'vhds' could not be checked (storage account")
    assert "refused the credentials" in warning and wrong not in warning


def test_an_image_into_a_missing_container_fails_check_too(
    proxy: FaultProxy, container: str, test_images: TestImages, tmp_path: Path
) -> None:
    source = shutil.copy(test_images["qcow2"], tmp_path / "disk.qcow2")
    provider = VhdImageProvider(auto_name_prefix="img")
    news = {"source": str(source), "container_name": "no-such-box", **account(proxy)}
    checked = provider.check({}, news)
    assert [(f.property, f.reason) for f in checked.failures] == [
        ("container_name", missing("no-such-box", proxy.endpoint()))]
    assert [s.method for s in sent(proxy)] == ["HEAD"]
    assert provider.check({}, {**news, "container_name": container}).failures == []
    assert provider.check({}, {**news, "container_name": Unknown()}).failures == []
    assert [s.method for s in sent(proxy)] == ["HEAD", "HEAD"]


URN = "urn:pulumi:dev::proj::blank-vhd:index:BlankVhd::"
WRONG_KEY = "A" * 86 + "=="


def in_a_loop(call: Coroutine[Any, Any, T]) -> T:
    # A loop of its own, left as it was: asyncio.run() would unset the thread's loop, which later tests that run
    # programs under pulumi's mocks need.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(call)
    finally:
        loop.close()


def plugin_on(proxy: FaultProxy, logged: list[tuple[str, str, str]] | None = None) -> BlankVhdPlugin:
    """The plugin of one engine run, its provider config naming the account behind `proxy`."""
    plugin = BlankVhdPlugin(None if logged is None else lambda severity, message, urn: logged.append(
        (severity, message, urn)))
    plugin.config = wire.provider_config({"accountUrl": PropertyValue(proxy.endpoint()),
                                          "accountKey": PropertyValue(ACCOUNT_KEY)})
    return plugin


def plugin_check(plugin: BlankVhdPlugin, name: str, box: str, **inputs: str) -> CheckResponse:
    news = {"sizeGb": PropertyValue(1.0), "containerName": PropertyValue(box),
            "blobName": PropertyValue(f"{name}.vhd"), **{key: PropertyValue(value) for key, value in inputs.items()}}
    return in_a_loop(plugin.check(CheckRequest(URN + name, {}, news, b"")))


def test_through_the_plugin_a_missing_container_only_warns(proxy: FaultProxy, container: str) -> None:
    """The plugin's BlobContainer has its name known at a preview that is about to make it (the engine echoes the
    inputs of what it will create), so its door warns in the engine's log instead of failing the preview."""
    logged: list[tuple[str, str, str]] = []
    plugin = plugin_on(proxy, logged)
    assert plugin_check(plugin, "data", "no-such-box").failures == []
    assert logged == [("warning", f"container 'no-such-box' does not exist in {proxy.endpoint()}; unless this update "
                       "makes it, creating the disk will fail: create it first, with `vhdcore container create -n "
                       f"no-such-box --blob-endpoint {proxy.endpoint()}` (credentials as for `vhdcore blob`) or, in a "
                       "Pulumi program, a BlobContainer whose containerName output the disk takes.", URN + "data")]
    assert plugin_check(plugin, "data", container).failures == [] and len(logged) == 1
    assert [s.method for s in sent(proxy)] == ["HEAD", "HEAD"]


def test_through_the_plugin_a_container_is_looked_for_until_it_is_found_then_once_per_run(
    proxy: FaultProxy, container: str
) -> None:
    """The engine starts the plugin for each run: what one run found, it does not ask about again; what it did not
    find (a BlobContainer in the same program is made between a preview and its update) it asks about each time."""
    logged: list[tuple[str, str, str]] = []
    plugin = plugin_on(proxy, logged)
    for name in ("a", "b"):
        assert plugin_check(plugin, name, "no-such-box").failures == []
    assert len(logged) == 2 and len(sent(proxy)) == 2
    for name in ("c", "d", "e"):
        assert plugin_check(plugin, name, container).failures == []
    assert len(logged) == 2 and [s.status for s in sent(proxy)] == [404, 404, 404]  # c's HEAD only: BlobNotFound
    assert plugin_check(plugin_on(proxy), "f", container).failures == []  # the next run asks again
    assert len(sent(proxy)) == 4


def test_two_accounts_or_two_credentials_never_share_a_found_container(
    proxy: FaultProxy, second_proxy: FaultProxy, container: str
) -> None:
    logged: list[tuple[str, str, str]] = []
    plugin = plugin_on(proxy, logged)
    assert plugin_check(plugin, "a", container).failures == []
    # The same container name in another account (another endpoint): asked there.
    assert plugin_check(plugin, "b", container, accountUrl=second_proxy.endpoint()).failures == []
    assert [s.method for s in sent(second_proxy)] == ["HEAD"]
    # The same account with another key: asked again, and the refusal only warns, as it did before it was cached.
    assert plugin_check(plugin, "c", container, accountKey=WRONG_KEY).failures == []
    assert [(s.method, s.status) for s in sent(proxy)] == [("HEAD", 404), ("HEAD", 403)]
    assert [message.split(" (")[0] for _, message, _ in logged] == [f"container {container!r} could not be checked"]


def test_a_container_deleted_after_it_was_found_fails_the_create_in_one_line_and_nothing_is_written(
    proxy: FaultProxy, service: BlobServiceClient
) -> None:
    box = f"t-{uuid.uuid4().hex[:12]}"
    service.create_container(box)
    plugin = plugin_on(proxy)
    assert plugin_check(plugin, "a", box).failures == []
    service.delete_container(box)
    checked = plugin_check(plugin, "b", box)
    assert checked.failures == [] and len(sent(proxy)) == 1  # found in this run: not asked again
    with pytest.raises(ContainerNotFoundError) as failed:
        in_a_loop(plugin.create(CreateRequest(URN + "b", checked.inputs, 0, False)))
    assert one_line(failed.value) == (
        f"container {box!r} does not exist in {proxy.endpoint()}; create it first, with `vhdcore container create -n "
        f"{box} --blob-endpoint {proxy.endpoint()}` (credentials as for `vhdcore blob`) or, in a Pulumi program, a "
        "BlobContainer whose containerName output the disk takes.")
    # Put Blob, refused: nothing else was sent, so nothing was written.
    assert [(s.method, s.status) for s in sent(proxy)][1:] == [("GET", 200), ("PUT", 404)]
