"""Account-aware create (vhdcore.azure.accounts): one Get Account Information per account per run, before the
first write. The proxy rewrites Azurite's answer (Standard_RAGRS, StorageV2) into the accounts under test."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import ContainerSasPermissions, generate_container_sas
from azurite_server import ACCOUNT, ACCOUNT_KEY, Azurite

from providers.image_provider import VhdImageProvider
from providers.provider import BlankVhdProvider
from tests.conftest import blob_service, via
from tests.faultproxy import Fault, FaultProxy, Rewrite, fast_options, stored
from vhdcore.azure.accounts import PREMIUM_TIERS, premium_tier
from vhdcore.azure.credentials import StorageTarget
from vhdcore.azure.page_blob import create_blank_vhd
from vhdcore.errors import ThrottledError, UnsuitableAccountError, VhdError
from vhdcore.format.sizes import GiB, MiB

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_INFO = "restype=account&comp=properties"


def answer(proxy: FaultProxy, **headers: str) -> Rewrite:
    rewrite = Rewrite(ACCOUNT_INFO, {f"x-ms-{k.replace('_', '-')}": v for k, v in headers.items()})
    proxy.rewrites.append(rewrite)
    return rewrite


def asked(proxy: FaultProxy) -> int:
    proxy.drain()
    return sum(1 for s in proxy.log if s.query.startswith(ACCOUNT_INFO))


@pytest.mark.parametrize(("blob_length", "tier"), [
    (1, ("P10", 128)), (128 * GiB, ("P10", 128)), (128 * GiB + 512, ("P20", 512)), (1023 * GiB + 512, ("P30", 1024)),
    (4095 * GiB, ("P50", 4095)), (4095 * GiB + 512, ("P60", 8192)), (8191 * GiB + 512, ("P60", 8192)),
    (8192 * GiB + 512, None),
])
def test_the_premium_tier_is_the_smallest_at_or_above_the_blob_length(blob_length: int, tier: Any) -> None:
    assert premium_tier(blob_length) == tier
    assert [name for name, _ in PREMIUM_TIERS] == ["P10", "P20", "P30", "P40", "P50", "P60"]


def test_a_premium_account_gets_a_warning_naming_the_tier(proxy: FaultProxy, container: str) -> None:
    answer(proxy, sku_name="Premium_LRS")
    made = create_blank_vhd(via(proxy), container=container, name="small.vhd", size=100 * GiB)
    assert made.warnings == (f"storage account {proxy.endpoint()} is premium (Premium_LRS): this 100 GiB disk is "
                             "billed as a P10 page blob (128 GiB) from the moment it exists, written or not.",)
    edge = create_blank_vhd(via(proxy), container=container, name="edge.vhd", size=128 * GiB)
    assert edge.warnings == (f"storage account {proxy.endpoint()} is premium (Premium_LRS): this 128 GiB disk is "
                             "billed as a P20 page blob (512 GiB) from the moment it exists, written or not; its "
                             "512-byte footer takes it past P10's 128 GiB.",)
    assert asked(proxy) == 1  # cached for the run: the second create asked nothing


@pytest.mark.parametrize(("headers", "reason"), [
    ({"is_hns_enabled": "true"}, "has a hierarchical namespace (Data Lake Storage), which cannot hold page blobs, so "
                                 "no disk was created; use a general-purpose v2 (StorageV2) account without one."),
    ({"account_kind": "BlockBlobStorage", "sku_name": "Premium_LRS"},
     "is of kind BlockBlobStorage (a premium block-blob account), which cannot hold page blobs, so no disk was "
     "created; use a general-purpose v2 (StorageV2) account, or a premium page-blob account."),
    ({"account_kind": "BlobStorage"}, "is of kind BlobStorage (a legacy Blob storage account, which holds block and "
                                      "append blobs only), which cannot hold page blobs"),
    ({"account_kind": "FileStorage"}, "is of kind FileStorage (a premium file-share account)"),
])
def test_accounts_that_cannot_hold_page_blobs_are_refused_before_any_write(
    headers: dict[str, str], reason: str, proxy: FaultProxy, azurite: Azurite, container: str
) -> None:
    answer(proxy, **headers)
    for _ in range(2):  # refused again from the cache, without asking again
        with pytest.raises(UnsuitableAccountError) as refused:
            create_blank_vhd(via(proxy), container=container, name="d.vhd", size=GiB)
        assert str(refused.value).startswith(f"storage account {proxy.endpoint()} {reason}")
    proxy.drain()
    assert [(s.method, s.query) for s in proxy.log] == [("GET", ACCOUNT_INFO)]
    assert stored(blob_service(azurite.connection_string), container, "d.vhd") is None


def test_a_sas_that_may_not_ask_is_said_once_and_the_create_goes_on(proxy: FaultProxy, container: str) -> None:
    expiry = datetime.now(UTC) + timedelta(hours=1)
    sas = generate_container_sas(ACCOUNT, container, account_key=ACCOUNT_KEY, expiry=expiry,
                                 permission=ContainerSasPermissions(write=True, create=True))
    target = StorageTarget(account_url=proxy.endpoint(), sas_token=sas)
    first = create_blank_vhd(target, container=container, name="a.vhd", size=MiB)
    assert first.warnings == (
        f"could not read the kind of storage account {proxy.endpoint()} (HTTP 403 AuthorizationPermissionMismatch; "
        "a SAS needs read permission for it), so the create goes on without checking for a hierarchical namespace "
        "or a premium tier.",)
    second = create_blank_vhd(target, container=container, name="b.vhd", size=MiB)
    assert second.warnings == () and asked(proxy) == 1


def test_concurrent_first_creates_ask_once(proxy: FaultProxy, container: str) -> None:
    answer(proxy, sku_name="Premium_LRS")
    start, made = threading.Barrier(4), []

    def create(index: int) -> None:
        start.wait()
        made.append(create_blank_vhd(via(proxy), container=container, name=f"{index}.vhd", size=MiB))

    threads = [threading.Thread(target=create, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 4 and all(m.warnings for m in made) and asked(proxy) == 1


def test_an_account_that_never_answers_fails_the_create_with_nothing_written(proxy: FaultProxy, container: str,
                                                                             azurite: Azurite) -> None:
    proxy.add(Fault.server_busy(method="GET", query=f"^{ACCOUNT_INFO}$", times=-1))
    with pytest.raises(ThrottledError, match="while reading the kind of storage account"):
        create_blank_vhd(via(proxy), container=container, name="d.vhd", size=MiB, options=fast_options())
    proxy.drain()
    assert [s.query for s in proxy.log] == [ACCOUNT_INFO] * 4  # the SDK's three retries, and no write
    assert stored(blob_service(azurite.connection_string), container, "d.vhd") is None


def test_the_command_line_warns_on_stderr_and_refuses_in_one_line(proxy: FaultProxy, container: str) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "VHDCORE_"))},
           "AZURE_STORAGE_ACCOUNT_URL": proxy.endpoint(), "AZURE_STORAGE_KEY": ACCOUNT_KEY}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "vhdcore", "blob", "create", "-c", container, *args],
                              capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)

    rewrite = answer(proxy, sku_name="Premium_ZRS")
    made = run("-n", "p.vhd", "--size", "1GiB")
    assert made.returncode == 0 and made.stderr.startswith("vhdcore: warning: storage account "), made.stderr
    assert "is premium (Premium_ZRS): this 1 GiB disk is billed as a P10 page blob (128 GiB)" in made.stderr
    rewrite.headers = {"x-ms-is-hns-enabled": "true"}
    refused = run("-n", "h.vhd", "--size", "1GiB")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "hierarchical namespace" in refused.stderr


def test_the_provider_warns_and_refuses(proxy: FaultProxy, container: str, capfd: pytest.CaptureFixture[str]) -> None:
    provider = BlankVhdProvider(auto_name_prefix="vhd")
    news = {"size_gb": 1.0, "container_name": container, "account_url": proxy.endpoint(), "account_key": ACCOUNT_KEY}
    rewrite = answer(proxy, sku_name="Premium_LRS")
    provider.create(provider.check({}, news).inputs)
    assert "warning: storage account" in capfd.readouterr().err
    from vhdcore.azure.accounts import forget

    forget()
    rewrite.headers = {"x-ms-account-kind": "BlockBlobStorage"}
    with pytest.raises(VhdError, match="is of kind BlockBlobStorage"):
        provider.create(provider.check({}, news).inputs)


def test_an_image_upload_asks_the_account_like_a_create(proxy: FaultProxy, azurite: Azurite, container: str,
                                                        tmp_path: Path) -> None:
    image = tmp_path / "disk.raw"
    image.write_bytes(b"\x5a" * 4096 + bytes(MiB - 4096))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "VHDCORE_"))},
           "AZURE_STORAGE_ACCOUNT_URL": proxy.endpoint(), "AZURE_STORAGE_KEY": ACCOUNT_KEY}

    def upload(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "vhdcore", "blob", "upload", str(image), "-c", container, "-n",
                               name], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)

    rewrite = answer(proxy, sku_name="Premium_LRS")
    made = upload("p.vhd")
    assert made.returncode == 0 and made.stdout.startswith("uploaded "), made.stdout + made.stderr
    assert made.stderr.count("vhdcore: warning: ") == 1, made.stderr
    assert "is premium (Premium_LRS): this 1 MiB disk is billed as a P10 page blob (128 GiB)" in made.stderr
    assert asked(proxy) == 1

    proxy.clear()
    rewrite.headers = {"x-ms-is-hns-enabled": "true"}
    refused = upload("h.vhd")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "hierarchical namespace" in refused.stderr and "no disk was created" in refused.stderr
    proxy.drain()
    assert [(s.method, s.query) for s in proxy.log] == [("GET", ACCOUNT_INFO)]  # nothing written
    assert stored(blob_service(azurite.connection_string), container, "h.vhd") is None


def test_the_image_provider_warns_and_refuses(proxy: FaultProxy, container: str, tmp_path: Path,
                                              capfd: pytest.CaptureFixture[str]) -> None:
    image = tmp_path / "disk.raw"
    image.write_bytes(b"\x5a" * 4096 + bytes(MiB - 4096))
    provider = VhdImageProvider(auto_name_prefix="img")
    news = {"source": str(image), "container_name": container, "account_url": proxy.endpoint(),
            "account_key": ACCOUNT_KEY}
    rewrite = answer(proxy, sku_name="Premium_LRS")
    provider.create(provider.check({}, news).inputs)
    assert "is premium (Premium_LRS): this 1 MiB disk is billed as a P10" in capfd.readouterr().err
    from vhdcore.azure.accounts import forget

    forget()
    rewrite.headers = {"x-ms-is-hns-enabled": "true"}
    with pytest.raises(VhdError, match="has a hierarchical namespace"):
        provider.create(provider.check({}, {**news, "blob_name": "h.vhd"}).inputs)
