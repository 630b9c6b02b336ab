"""Azure Stack through StackProxy (tests/faultproxy.py), which answers like Azure Stack in front of Azurite: it
refuses an x-ms-version newer than 2019-02-02 (400 InvalidHeaderValue), page blobs over 1 TiB, and writes that
break the 4 KiB page rule blank-vhd keeps (docs/clouds.md, "Azure Stack's 4 KiB pages").

With cloud=AzureStackHub every operation passes through it, from the library, the command line and the
provider; without the profile each one fails with one sentence that says what to set.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient
from azurite_server import ACCOUNT_KEY, Azurite

from providers.provider import BlankVhdProvider
from tests.conftest import blob_service
from tests.faultproxy import Fault, FaultProxy, StackProxy, fast_options, stored
from vhdcore.azure.credentials import StorageTarget
from vhdcore.azure.page_blob import (
    create_blank_vhd,
    delete_blank_vhd,
    grow_blank_vhd,
    inspect_blank_vhd,
    set_blank_vhd_metadata,
)
from vhdcore.errors import HeaderRefusedError, RefusedError, SizeError, ThrottledError, VhdError
from vhdcore.format.sizes import GiB, MiB
from vhdcore.format.unique_id import UniqueId

ROOT = Path(__file__).resolve().parent.parent
UID = UniqueId.parse("00112233445566778899aabbccddeeff")
STACK = "2019-02-02"
pytestmark = pytest.mark.api_versions(STACK)


@pytest.fixture
def stack(azurite: Azurite) -> Iterator[StackProxy]:
    with StackProxy(f"http://127.0.0.1:{azurite.port}") as running:
        yield running


def hub(proxy: StackProxy, cloud: str | None = "AzureStackHub") -> StorageTarget:
    return StorageTarget(account_url=proxy.endpoint(), account_key=ACCOUNT_KEY, cloud=cloud)


def test_every_operation_passes_with_the_stack_profile(stack: StackProxy, container: str, azurite: Azurite) -> None:
    target = hub(stack)
    made = create_blank_vhd(target, container=container, name="d.vhd", size=MiB, unique_id=UID)
    data = b"\x5a" * 4096
    blob_service(azurite.connection_string).get_blob_client(container, "d.vhd").upload_page(data, offset=0, length=4096)
    found = inspect_blank_vhd(target, container=container, name="d.vhd")
    assert found is not None and found.report.azure_ready
    set_blank_vhd_metadata(target, container=container, name="d.vhd", metadata={"owner": "hub"}, unique_id=UID)
    grown = grow_blank_vhd(target, container=container, name="d.vhd", size=3 * MiB, unique_id=UID)
    after = stored(blob_service(azurite.connection_string), container, "d.vhd")
    assert after is not None and after.is_valid_disk(3 * MiB, made.unique_id) and after.content is not None
    assert after.content[:4096] == data and after.content[MiB : MiB + 4096] == bytes(4096)  # old footer page cleared
    assert after.metadata["owner"] == "hub" and grown.size == 3 * MiB
    assert delete_blank_vhd(target, container=container, name="d.vhd", unique_id=UID) is True
    assert stack.refused == [] and stack.versions() == {STACK}


def test_without_the_profile_every_operation_fails_in_one_sentence(stack: StackProxy, container: str,
                                                                  azurite: Azurite) -> None:
    create_blank_vhd(StorageTarget(connection_string=azurite.connection_string), container=container, name="d.vhd",
                     size=MiB, unique_id=UID)
    plain = hub(stack, cloud=None)
    operations: list[Any] = [
        lambda: create_blank_vhd(plain, container=container, name="new.vhd", size=MiB),
        lambda: inspect_blank_vhd(plain, container=container, name="d.vhd"),
        lambda: grow_blank_vhd(plain, container=container, name="d.vhd", size=2 * MiB, unique_id=UID),
        lambda: set_blank_vhd_metadata(plain, container=container, name="d.vhd", metadata={}, unique_id=UID),
        lambda: delete_blank_vhd(plain, container=container, name="d.vhd", unique_id=UID),
    ]
    for operation in operations:
        with pytest.raises(RefusedError) as refused:
            operation()
        text = str(refused.value)
        assert text.count("; ") == 1 and text.endswith(".") and "\n" not in text, text
        assert "storage API version 2019-07-07" in text and "AzureStackHub or AzureStackEdge" in text, text
        assert isinstance(refused.value, HeaderRefusedError), text
    assert {r.header for r in stack.refused} == {"x-ms-version"}
    assert stored(blob_service(azurite.connection_string), container, "new.vhd") is None


def test_the_proxy_refuses_what_stack_would(stack: StackProxy, container: str) -> None:
    """The emulation itself: the writes blank-vhd used to make, and sizes only public Azure holds."""
    connection_string = f"AccountName=devstoreaccount1;AccountKey={ACCOUNT_KEY};BlobEndpoint={stack.endpoint()};"
    service = BlobServiceClient.from_connection_string(connection_string, api_version=STACK)
    blob = service.get_blob_client(container, "p")
    blob.create_page_blob(3 * MiB + 512)
    with pytest.raises(HttpResponseError) as refused:
        blob.clear_page(offset=MiB, length=512)  # grow's clear of the old footer before the 4 KiB rule
    assert (refused.value.status_code, refused.value.error_code) == (416, "InvalidPageRange")
    blob.clear_page(offset=MiB, length=4096)
    blob.upload_page(b"\x01" * 512, offset=3 * MiB, length=512)  # the footer: it ends the blob
    with pytest.raises(HttpResponseError, match="InvalidHeaderValue"):
        blob.resize_blob((1 << 40) + 512)


def test_sizes_over_the_stack_cap_fail_before_any_request_or_in_one_sentence(stack: StackProxy,
                                                                            container: str) -> None:
    with pytest.raises(SizeError, match="1023GiB maximum on AzureStackHub"):
        create_blank_vhd(hub(stack), container=container, name="big.vhd", size=1024 * GiB)
    assert stack.requests == 0
    plain = StorageTarget(account_url=stack.endpoint(), account_key=ACCOUNT_KEY, api_version=STACK)
    with pytest.raises(RefusedError, match=r"refused the page blob's length \(HTTP 400 InvalidHeaderValue\) while "
                                           r"creating .*; Azure Stack holds at most 1 TiB per page blob"):
        create_blank_vhd(plain, container=container, name="big.vhd", size=1024 * GiB)


def test_finishing_an_interrupted_grow_keeps_guest_data_in_the_old_footer_page(stack: StackProxy, container: str,
                                                                               azurite: Azurite) -> None:
    target = hub(stack)
    create_blank_vhd(target, container=container, name="d.vhd", size=MiB, unique_id=UID)
    stack.add(Fault.server_busy(method="PUT", query="^comp=page$", nth=2, times=-1))  # the clear of the old footer
    with pytest.raises(ThrottledError):
        grow_blank_vhd(target, container=container, name="d.vhd", size=2 * MiB, options=fast_options())
    stack.clear()
    guest = b"\x66" * (4096 - 512)
    service = blob_service(azurite.connection_string)
    service.get_blob_client(container, "d.vhd").upload_page(guest, offset=MiB + 512, length=len(guest))
    grow_blank_vhd(target, container=container, name="d.vhd", size=2 * MiB, unique_id=UID)
    after = stored(service, container, "d.vhd")
    assert after is not None and after.is_valid_disk(2 * MiB, UID) and after.content is not None
    assert after.content[MiB : MiB + 4096] == bytes(512) + guest  # the footer cleared, the guest's bytes kept
    assert stack.refused == []


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "VHDCORE_"))}
    return subprocess.run([sys.executable, "-m", "vhdcore", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**clean, **env}, timeout=120)


def test_the_command_line_with_and_without_the_profile(stack: StackProxy, container: str) -> None:
    env = {"AZURE_STORAGE_ACCOUNT_URL": stack.endpoint(), "AZURE_STORAGE_KEY": ACCOUNT_KEY}
    where = ["-c", container, "-n", "d.vhd"]
    refused = cli("blob", "create", *where, "--size", "1MiB", env=env)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "refused storage API version 2019-07-07" in refused.stderr and "--cloud" in refused.stderr
    hub = ["--cloud", "AzureStackHub"]
    assert cli("blob", "create", *where, "--size", "1MiB", "--unique-id", str(UID), *hub, env=env).returncode == 0
    assert cli("blob", "inspect", *where, *hub, env=env).returncode == 0
    grown = cli("blob", "grow", *where, "--size", "2MiB", *hub, env=env)
    assert grown.returncode == 0, grown.stderr
    for command in ("inspect", "delete"):
        refused = cli("blob", command, *where, "--unique-id", str(UID), env=env) if command == "delete" else cli(
            "blob", command, *where, env=env)
        assert refused.returncode == 1 and "most likely storage API version 2019-07-07" in refused.stderr
    assert cli("blob", "delete", *where, "--unique-id", str(UID), *hub, env=env).returncode == 0
    assert stack.refused and {r.header for r in stack.refused} == {"x-ms-version"}


def test_the_provider_with_and_without_the_profile(stack: StackProxy, container: str) -> None:
    provider = BlankVhdProvider(auto_name_prefix="vhd")
    news = {"size_gb": 1.0, "container_name": container, "account_url": stack.endpoint(), "account_key": ACCOUNT_KEY}
    with pytest.raises(VhdError, match=r"refused .*storage API version 2019-07-07.*; on Azure Stack set the cloud"):
        provider.create(provider.check({}, news).inputs)
    stack.refused.clear()
    news["cloud"] = "AzureStackHub"
    checked = provider.check({}, news)
    assert checked.failures == []
    outs = provider.create(checked.inputs).outs or {}
    bigger = provider.check(outs, {**news, "size_gb": 2.0, "metadata": {"owner": "hub"}}).inputs
    assert provider.diff(outs["url"], outs, bigger).replaces == []
    grown = provider.update(outs["url"], outs, bigger).outs or {}
    assert grown["size_bytes"] == 2 * GiB and grown["unique_id"] == outs["unique_id"]
    read = provider.read(outs["url"], grown)
    assert read.outs is not None and read.outs["azure_ready"] is True
    provider.delete(outs["url"], grown)
    assert provider.read(outs["url"], grown).id is None
    assert stack.refused == []
    assert [(f.property, f.reason.split(";")[0]) for f in provider.check({}, {**news, "size_gb": 1024.0}).failures] \
        == [("size_gb", "size_gb 1024 is out of range on AzureStackHub")]


REQUESTS = {  # per operation, in every profile (the first create asks the account's kind; the second does not)
    "create": ["GET restype=account&comp=properties", "PUT", "PUT comp=page"],
    "create again": ["PUT", "PUT comp=page"],
    "inspect": ["HEAD", "GET", "GET comp=pagelist"],
    "set metadata": ["HEAD", "PUT comp=metadata"],
    "grow": ["HEAD", "GET", "GET comp=pagelist", "PUT comp=properties", "PUT comp=page", "PUT comp=page",
             "PUT comp=metadata"],
    "delete": ["HEAD", "DELETE"],
}


@pytest.mark.parametrize("cloud", ["AzureCloud", "AzureChinaCloud", "AzureUSGovernment", "AzureStackHub",
                                   "AzureStackEdge"])
def test_the_request_table_per_operation_and_profile(cloud: str, azurite: Azurite, container: str) -> None:
    stack = cloud.startswith("AzureStack")
    with (StackProxy if stack else FaultProxy)(f"http://127.0.0.1:{azurite.port}") as proxy:
        target = StorageTarget(account_url=proxy.endpoint(), account_key=ACCOUNT_KEY, cloud=cloud)
        steps: dict[str, Any] = {
            "create": lambda: create_blank_vhd(target, container=container, name="a.vhd", size=MiB, unique_id=UID),
            "create again": lambda: create_blank_vhd(target, container=container, name="b.vhd", size=MiB),
            "inspect": lambda: inspect_blank_vhd(target, container=container, name="a.vhd"),
            "set metadata": lambda: set_blank_vhd_metadata(target, container=container, name="a.vhd",
                                                           metadata={"k": "v"}, unique_id=UID),
            "grow": lambda: grow_blank_vhd(target, container=container, name="a.vhd", size=2 * MiB, unique_id=UID),
            "delete": lambda: delete_blank_vhd(target, container=container, name="a.vhd", unique_id=UID),
        }
        seen = {}
        for step, run in steps.items():
            proxy.clear()
            run()
            proxy.drain()
            seen[step] = [f"{s.method} {s.query}".strip() for s in proxy.log]
            assert proxy.versions() == {STACK if stack else "2019-07-07"}
        assert seen == REQUESTS
        assert not stack or proxy.refused == []
    print(f"\n{cloud}: " + ", ".join(f"{step} {len(sent)}" for step, sent in seen.items()))
