"""The pinned storage API version: one x-ms-version on the wire, chosen by vhdcore.azure.clouds, overridable per
call, per command, per resource and by VHDCORE_STORAGE_API_VERSION; Azurite (run without --skipApiVersionCheck)
refuses anything newer than it knows."""

from __future__ import annotations

import ast
import os
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
from vhdcore.azure.clouds import API_VERSION, CLOUDS, ENV_API_VERSION, api_version, check_api_version
from vhdcore.azure.credentials import StorageTarget
from vhdcore.azure.names import validate_blob_name
from vhdcore.azure.page_blob import (
    create_blank_vhd,
    delete_blank_vhd,
    grow_blank_vhd,
    inspect_blank_vhd,
    set_blank_vhd_metadata,
)
from vhdcore.errors import BlobNameError, CloudError, SizeError
from vhdcore.format.sizes import GiB, MiB, TiB, check_disk_size

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


def test_azurite_never_inherits_a_switch_that_turns_the_version_check_off() -> None:
    assert Azurite.environment({"AZURITE_SKIP_API_VERSION_CHECK": "true", "PATH": "/bin"}) == {"PATH": "/bin"}


def test_every_operation_sends_the_pinned_version(proxy: FaultProxy, container: str) -> None:
    target = via(proxy)
    create_blank_vhd(target, container=container, name="d.vhd", size=MiB)
    inspect_blank_vhd(target, container=container, name="d.vhd")
    blob = grow_blank_vhd(target, container=container, name="d.vhd", size=2 * MiB)
    delete_blank_vhd(target, container=container, name="d.vhd", unique_id=blob.unique_id)
    assert proxy.requests >= 10 and proxy.versions() == {API_VERSION}


# Azurite 3.37.0 knows versions up to 2026-06-06; 2019-02-02 is the oldest the SDK sends.
AZURITE_VERSIONS = ["2019-02-02", "2019-07-07", "2021-12-02", "2025-11-05", "2026-06-06"]


@pytest.mark.api_versions(*AZURITE_VERSIONS)
@pytest.mark.parametrize("version", AZURITE_VERSIONS)
def test_every_operation_works_on_azurite_at(version: str, proxy: FaultProxy, container: str) -> None:
    target = StorageTarget(account_url=proxy.endpoint(), account_key=ACCOUNT_KEY, api_version=version)
    made = create_blank_vhd(target, container=container, name="d.vhd", size=MiB, metadata={"a": "1"})
    found = inspect_blank_vhd(target, container=container, name="d.vhd")
    assert found is not None and found.report.azure_ready
    set_blank_vhd_metadata(target, container=container, name="d.vhd", metadata={"a": "2"}, unique_id=made.unique_id)
    grow_blank_vhd(target, container=container, name="d.vhd", size=2 * MiB, unique_id=made.unique_id)
    assert delete_blank_vhd(target, container=container, name="d.vhd", unique_id=made.unique_id) is True
    assert made.warnings == () and proxy.versions() == {version}


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


# --- cloud profiles ------------------------------------------------------------------------------------------


def test_the_profiles_are_az_s_clouds_plus_the_two_azure_stacks() -> None:
    table = {name: (c.endpoint_suffix, c.api_version, c.newest_api_version, c.page_blob_max // GiB,
                    c.size_limit.max_size_gb, c.max_blob_name) for name, c in CLOUDS.items()}
    assert table == {
        "AzureCloud": ("core.windows.net", "2019-07-07", None, 8192, 8191, 1024),
        "AzureChinaCloud": ("core.chinacloudapi.cn", "2019-07-07", None, 8192, 8191, 1024),
        "AzureUSGovernment": ("core.usgovcloudapi.net", "2019-07-07", None, 8192, 8191, 1024),
        "AzureStackHub": (None, "2019-02-02", "2019-07-07", 1024, 1023, 880),
        "AzureStackEdge": (None, "2019-02-02", "2019-07-07", 1024, 1023, 880),
    }
    for cloud in CLOUDS.values():  # every default is one the SDK can send
        BlobServiceClient("https://acct.blob.core.windows.net", api_version=cloud.api_version).close()


@pytest.mark.parametrize(("settings", "endpoint", "cloud"), [
    ({"account_name": "acct"}, "https://acct.blob.core.windows.net", "AzureCloud"),
    ({"account_name": "acct", "cloud": "AzureChinaCloud"}, "https://acct.blob.core.chinacloudapi.cn",
     "AzureChinaCloud"),
    ({"account_name": "acct", "cloud": "AzureUSGovernment"}, "https://acct.blob.core.usgovcloudapi.net",
     "AzureUSGovernment"),
    ({"account_name": "acct", "endpoint_suffix": "core.chinacloudapi.cn"}, "https://acct.blob.core.chinacloudapi.cn",
     "AzureChinaCloud"),  # the cloud follows a public suffix, as before profiles existed
    ({"connection_string": "AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.usgovcloudapi.net"},
     "https://acct.blob.core.usgovcloudapi.net", "AzureUSGovernment"),
    ({"account_name": "acct", "endpoint_suffix": "local.azurestack.external", "cloud": "AzureStackHub"},
     "https://acct.blob.local.azurestack.external", "AzureStackHub"),
    ({"account_url": "https://acct.blob.edge.contoso.com", "cloud": "AzureStackEdge"},
     "https://acct.blob.edge.contoso.com", "AzureStackEdge"),
    ({"account_url": "http://127.0.0.1:10000/devstoreaccount1"}, "http://127.0.0.1:10000/devstoreaccount1",
     "AzureCloud"),  # an emulator or private name: the default cloud
])
def test_the_cloud_gives_the_endpoint_or_follows_it(settings: dict[str, str], endpoint: str, cloud: str) -> None:
    target = StorageTarget.resolve(environ={}, **settings)
    assert (target.blob_endpoint, target.check_cloud().name) == (endpoint, cloud)


@pytest.mark.parametrize(("settings", "message"), [
    ({"account_name": "acct", "cloud": "azurecloud"},
     "cloud 'azurecloud' is not a cloud blank-vhd knows (did you mean AzureCloud?); use one of AzureCloud, "
     "AzureChinaCloud, AzureUSGovernment, AzureStackHub, AzureStackEdge."),
    ({"account_name": "acct", "cloud": "AzureStackHub"},
     "cloud AzureStackHub has no standard endpoint suffix, so an account name alone says nowhere; give the account "
     "URL, or the endpoint suffix (your deployment's, e.g. local.azurestack.external)."),
    ({"account_name": "acct", "endpoint_suffix": "core.chinacloudapi.cn", "cloud": "AzureCloud"},
     "endpoint suffix 'core.chinacloudapi.cn' is not AzureCloud's (core.windows.net); drop it, or set cloud to the one "
     "it belongs to."),
    ({"account_name": "acct", "endpoint_suffix": "local.azurestack.external"},
     "endpoint suffix 'local.azurestack.external' belongs to no public cloud; for Azure Stack set cloud to "
     "AzureStackHub or AzureStackEdge, else use core.windows.net or the suffix of AzureChinaCloud or "
     "AzureUSGovernment."),
    ({"account_url": "https://acct.blob.core.windows.net", "cloud": "AzureStackHub"},
     "blob endpoint https://acct.blob.core.windows.net is in AzureCloud (core.windows.net), not in cloud "
     "AzureStackHub; give your Azure Stack account's URL or endpoint suffix (your deployment's, e.g. "
     "local.azurestack.external)."),
    ({"account_url": "https://acct.blob.core.usgovcloudapi.net", "cloud": "AzureChinaCloud"},
     "blob endpoint https://acct.blob.core.usgovcloudapi.net is in AzureUSGovernment (core.usgovcloudapi.net), not "
     "in cloud AzureChinaCloud; set cloud to AzureUSGovernment or point at an account in AzureChinaCloud."),
    ({"account_url": "https://acct.blob.hub.contoso.com", "cloud": "AzureStackHub", "api_version": "2020-02-10"},
     "storage API version '2020-02-10' is newer than AzureStackHub accepts (2019-07-07 at most, which it answers with "
     "400 InvalidHeaderValue); use 2019-02-02 (the default) or 2019-07-07."),
])
def test_a_cloud_that_does_not_fit_is_refused_before_any_request(settings: dict[str, str], message: str) -> None:
    target = StorageTarget.resolve(environ={}, **settings)
    with pytest.raises(CloudError) as refused:
        target.validate()
    assert str(refused.value) == message
    with pytest.raises(CloudError):
        create_blank_vhd(target, container="vhds", name="d.vhd", size=MiB)


def test_the_stack_profiles_limit_sizes_and_names_before_any_request() -> None:
    stack = StorageTarget(account_url="http://127.0.0.1:1/devstoreaccount1", account_key=ACCOUNT_KEY,
                          cloud="AzureStackHub")
    with pytest.raises(SizeError, match=r"^size 1099511627776 exceeds the 1023GiB maximum on AzureStackHub \(a page "
                                        r"blob there holds 1 TiB including the 512-byte footer\)\.$"):
        create_blank_vhd(stack, container="vhds", name="d.vhd", size=1024 * GiB)
    with pytest.raises(SizeError, match="1023GiB maximum on AzureStackHub"):
        grow_blank_vhd(stack, container="vhds", name="d.vhd", size=TiB)
    with pytest.raises(BlobNameError, match="must be 1 to 880 characters, as AzureStackHub requires"):
        inspect_blank_vhd(stack, container="vhds", name="n" * 881)
    assert check_disk_size(1023 * GiB, limit=CLOUDS["AzureStackEdge"].size_limit) == 1023 * GiB
    validate_blob_name("n" * 1024)  # public Azure's limit


@pytest.mark.api_versions("2019-02-02")
def test_a_stack_profile_sends_its_version(proxy: FaultProxy, container: str) -> None:
    stack = StorageTarget(account_url=proxy.endpoint(), account_key=ACCOUNT_KEY, cloud="AzureStackEdge")
    create_blank_vhd(stack, container=container, name="edge.vhd", size=MiB)
    assert proxy.versions() == {"2019-02-02"}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "VHDCORE_"))}
    return subprocess.run([sys.executable, "-m", "vhdcore", *args], capture_output=True, text=True, cwd=ROOT,
                          env=clean, timeout=120)


@pytest.mark.parametrize(("args", "message"), [
    (["--size", "1TiB", "--cloud", "AzureStackHub", "--blob-endpoint", "https://acct.blob.hub.contoso.com"],
     "--size '1TiB' exceeds the 1023GiB maximum on AzureStackHub (a page blob there holds 1 TiB including the "
     "512-byte footer)."),
    (["--size", "1GiB", "--cloud", "AzureStack", "--blob-endpoint", "https://acct.blob.hub.contoso.com"],
     "--cloud 'AzureStack' is not a cloud blank-vhd knows (did you mean AzureStackHub?)"),
    (["--size", "1GiB", "--cloud", "AzureStackEdge", "--account-name", "acct"],
     "cloud AzureStackEdge has no standard endpoint suffix"),
])
def test_the_command_line_refuses_what_the_cloud_cannot_hold(args: list[str], message: str) -> None:
    run = cli("blob", "create", "-c", "vhds", "-n", "d.vhd", "--sas-token", "sv=1&sig=x", *args)
    assert run.returncode == 2 and run.stdout == "" and run.stderr.count("\n") == 1, run.stderr
    assert message in run.stderr


def check(provider: BlankVhdProvider, **news: Any) -> list[tuple[str, str]]:
    bag = {"size_gb": 1.0, "container_name": "vhds", **news}
    return [(f.property, f.reason) for f in provider.check({}, bag).failures]


@pytest.mark.usefixtures("no_container_lookup")  # made-up accounts: no request
def test_check_refuses_at_preview_what_the_cloud_cannot_hold() -> None:
    provider = BlankVhdProvider(auto_name_prefix="vhd")
    hub = {"account_url": "https://acct.blob.hub.contoso.com", "cloud": "AzureStackHub"}
    assert check(provider, **hub, size_gb=1024.0) == [("size_gb", (
        "size_gb 1024 is out of range on AzureStackHub; give a whole number of GiB between 1 and 1023 (a page blob "
        "there holds 1 TiB including the 512-byte footer)."))]
    assert check(provider, **hub, size_gb=1023.0) == []
    assert check(provider, **hub, blob_name="b" * 881)[0][0] == "blob_name"
    assert check(provider, storage_account_name="acct", cloud="AzureStackHub") == [("cloud", (
        "cloud AzureStackHub has no standard endpoint suffix, so an account name alone says nowhere; give the account "
        "URL, or the endpoint suffix (your deployment's, e.g. local.azurestack.external)."))]
    unknown = check(provider, storage_account_name="acct", cloud="Azure")
    assert unknown[0][0] == "cloud" and "is not a cloud blank-vhd knows" in unknown[0][1]
    assert check(provider, storage_account_name="acct", endpoint_suffix="local.azurestack.external")[0][0] == (
        "endpoint_suffix")
    assert check(provider, storage_account_name="acct", cloud="AzureChinaCloud", size_gb=8191.0) == []
    assert check(provider, storage_account_name="acct", cloud="AzureStackEdge", endpoint_suffix="edge.contoso.com",
                 api_version="2021-12-02")[0][0] == "api_version"


def outputs(provider: BlankVhdProvider, **news: Any) -> dict[str, Any]:
    """What a state would hold after a create with these inputs (no request: outputs built by hand)."""
    inputs = provider.check({}, {"size_gb": 1.0, "container_name": "vhds", "blob_name": "d.vhd", **news}).inputs
    endpoint = provider.endpoint(inputs)
    return {**inputs, "blob_endpoint": endpoint, "url": f"{endpoint}/vhds/d.vhd", "size_bytes": GiB}


@pytest.mark.parametrize(("old", "new", "replaces"), [
    ({"account_url": "https://acct.blob.hub.contoso.com"},
     {"account_url": "https://acct.blob.hub.contoso.com", "cloud": "AzureStackHub"}, []),
    ({"storage_account_name": "acct"}, {"storage_account_name": "acct", "cloud": "AzureCloud"}, []),
    ({"storage_account_name": "acct"}, {"storage_account_name": "acct", "cloud": "AzureChinaCloud"}, ["cloud"]),
    ({"storage_account_name": "acct", "endpoint_suffix": "core.chinacloudapi.cn"},
     {"storage_account_name": "acct", "cloud": "AzureChinaCloud"}, []),  # same endpoint, said another way
    ({"storage_account_name": "acct"}, {"storage_account_name": "acct", "api_version": "2021-12-02"}, []),
])
def test_cloud_or_api_version_alone_is_an_update_unless_the_endpoint_moves(
    old: dict[str, str], new: dict[str, str], replaces: list[str], no_storage_env: None,
    no_container_lookup: list[tuple[str, str]],
) -> None:
    provider = BlankVhdProvider()
    olds = outputs(provider, **old)
    news = provider.check(olds, {"size_gb": 1.0, "container_name": "vhds", "blob_name": "d.vhd", **new}).inputs
    diff = provider.diff(olds["url"], olds, news)
    assert diff.changes is not False and diff.replaces == replaces


def test_the_limits_keep_the_layers() -> None:
    """vhdcore.format knows no clouds (sizes take a SizeLimit), and the cloud profiles load no SDK."""
    for path in sorted((ROOT / "vhdcore" / "format").rglob("*.py")):
        imports = [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, (ast.Import, ast.ImportFrom))]
        for node in imports:
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            assert not any("azure" in name for name in names), (path, names)
    code = "import sys, vhdcore.azure.clouds; print(sorted(m for m in sys.modules if m.split('.')[0] == 'azure'))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == "[]", (run.stdout, run.stderr)
