"""The pinned storage API version: one x-ms-version on the wire, chosen by vhdcore.azure.clouds, overridable per
call, per command, per resource and by VHDCORE_STORAGE_API_VERSION; Azurite (run without --skipApiVersionCheck)
refuses anything newer than it knows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient
from azurite_server import ACCOUNT_KEY, Azurite

from providers.provider import BlankVhdProvider
from tests.conftest import blob_service, via
from tests.faultproxy import FaultProxy
from vhdcore.azure.clouds import API_VERSION, ENV_API_VERSION, api_version, check_api_version
from vhdcore.azure.credentials import StorageTarget
from vhdcore.azure.page_blob import create_blank_vhd, delete_blank_vhd, grow_blank_vhd, inspect_blank_vhd
from vhdcore.errors import CloudError
from vhdcore.format.sizes import MiB

ROOT = Path(__file__).resolve().parent.parent
SDK_DEFAULT = "2026-10-06"  # what azure-storage-blob 12.31.1 sends when nobody pins a version


def test_the_pinned_version_is_one_the_sdk_can_send() -> None:
    BlobServiceClient("https://acct.blob.core.windows.net", api_version=API_VERSION).close()
    StorageTarget(account_name="acct", api_version=API_VERSION).validate()


@pytest.mark.api_versions(SDK_DEFAULT)
def test_azurite_runs_without_skip_api_version_check(azurite: Azurite, container: str) -> None:
    unpinned = BlobServiceClient.from_connection_string(azurite.connection_string)
    assert unpinned.api_version == SDK_DEFAULT
    with pytest.raises(HttpResponseError) as refused:
        unpinned.get_container_client(container).get_container_properties()
    assert refused.value.status_code == 400 and refused.value.error_code == "InvalidHeaderValue"


def test_every_operation_sends_the_pinned_version(proxy: FaultProxy, container: str) -> None:
    target = via(proxy)
    create_blank_vhd(target, container=container, name="d.vhd", size=MiB)
    inspect_blank_vhd(target, container=container, name="d.vhd")
    blob = grow_blank_vhd(target, container=container, name="d.vhd", size=2 * MiB)
    delete_blank_vhd(target, container=container, name="d.vhd", unique_id=blob.unique_id)
    assert proxy.requests >= 10 and proxy.versions() == {API_VERSION}


@pytest.mark.api_versions("2019-02-02", "2021-12-02")
def test_the_version_is_overridable_per_call_and_by_the_environment(
    proxy: FaultProxy, container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_API_VERSION, "2019-02-02")
    create_blank_vhd(via(proxy), container=container, name="env.vhd", size=MiB)
    assert proxy.versions() == {"2019-02-02"}
    proxy.clear()
    explicit = StorageTarget(account_url=proxy.endpoint(), account_key=ACCOUNT_KEY, api_version="2021-12-02")
    create_blank_vhd(explicit, container=container, name="call.vhd", size=MiB)  # the caller's beats the variable
    assert proxy.versions() == {"2021-12-02"}


@pytest.mark.parametrize(("value", "message"), [
    ("2019-7-7", "^storage API version '2019-7-7' is not a date like 2019-07-07; give a version the Storage REST"),
    ("2019-02-30", "is not a date like"),
    ("2018-11-09", "is older than 2019-02-02"),
    (20190707, "20190707 is not a date like"),
])
def test_malformed_or_too_old_versions_are_refused_in_one_sentence(value: Any, message: str) -> None:
    with pytest.raises(CloudError, match=message) as refused:
        check_api_version(value)
    assert str(refused.value).count(". ") == 0 and str(refused.value).endswith(".")


def test_a_version_the_sdk_cannot_send_is_refused_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    target = StorageTarget(account_url="http://127.0.0.1:1/devstoreaccount1", account_key=ACCOUNT_KEY,
                           api_version="2019-07-08")
    with pytest.raises(CloudError, match="'2019-07-08' is not one the installed Azure SDK can send"):
        create_blank_vhd(target, container="vhds", name="d.vhd", size=MiB)
    monkeypatch.setenv(ENV_API_VERSION, "yesterday")
    with pytest.raises(CloudError, match=f"^{ENV_API_VERSION} 'yesterday' is not a date like"):
        api_version()
    assert api_version("2019-02-02") == "2019-02-02"


@pytest.mark.api_versions("2019-02-02")
def test_the_command_line_sends_api_version(azurite: Azurite, container: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "vhdcore", "blob", "create", "--container", container, "--name", "cli.vhd", "--size",
         "1MiB", "--api-version", "2019-02-02", "--connection-string", azurite.connection_string],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "vhdcore", "blob", "inspect", "--container", container, "--name", "cli.vhd",
         "--api-version", "2019-13-01", "--connection-string", azurite.connection_string],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "'2019-13-01' is not a date like" in bad.stderr


@pytest.mark.api_versions("2019-02-02")
def test_a_resource_sends_its_api_version_and_a_change_is_an_update(azurite: Azurite, container: str) -> None:
    provider = BlankVhdProvider(auto_name_prefix="vhd")
    news = {"size_gb": 1.0, "container_name": container, "connection_string": azurite.connection_string,
            "api_version": "2019-02-02"}
    checked = provider.check({}, news)
    assert checked.failures == []
    outs = provider.create(checked.inputs).outs or {}
    assert outs["api_version"] == "2019-02-02"
    later = provider.check(outs, {**news, "api_version": API_VERSION}).inputs
    diff = provider.diff(outs["url"], outs, later)
    assert diff.replaces == [] and diff.changes is not False
    updated = provider.update(outs["url"], outs, later).outs or {}
    assert updated["api_version"] == API_VERSION and updated["unique_id"] == outs["unique_id"]
    provider.delete(outs["url"], updated)
    assert blob_service(azurite.connection_string).get_container_client(container).get_blob_client(
        outs["blob_name"]).exists() is False


def test_a_resource_with_a_bad_api_version_fails_check_naming_the_field() -> None:
    provider = BlankVhdProvider(auto_name_prefix="vhd")
    failures = provider.check({}, {"size_gb": 1.0, "container_name": "vhds", "api_version": "2099-01-01",
                                   "connection_string": "UseDevelopmentStorage=true"}).failures
    assert [(f.property, f.reason) for f in failures] == [("api_version", (
        "storage API version '2099-01-01' is not one the installed Azure SDK can send; use 2019-07-07 (the default) "
        "or another dated version the Storage REST API documents."))]
