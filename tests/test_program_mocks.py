"""The Pulumi program (__main__.py) under pulumi.runtime mocks: which resources it declares and how
they are wired, for both targets. Mocks never run a provider, so the dynamic resources' outputs are
made up here the way the providers would make them; numbers arrive as floats, as from the engine."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import pickle
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import dill
import pulumi
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BLANK_VHD = "pulumi-python:dynamic/azureblob:BlankVhd"
BLOB_CONTAINER = "pulumi-python:dynamic/azureblob:BlobContainer"
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # how a secret value looks in the mocks' inputs
ACCOUNT_KEY = "bW9jayBhY2NvdW50IGtleQ=="
_runs = itertools.count()


class Recorder(pulumi.runtime.Mocks):
    """Records every resource and returns plausible outputs for it."""

    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []
        self.outputs: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        outs = dict(args.inputs)
        outs.pop("__provider", None)
        if args.typ == BLANK_VHD:
            name = outs.get("blob_name") or f"{args.name}-0123abcd.vhd"
            account = outs.get("storage_account_name") or "devstoreaccount1"
            outs |= {
                "blob_name": name,
                "url": f"https://{account}.blob.core.windows.net/{outs['container_name']}/{name}",
                "size_bytes": int(outs["size_gb"]) << 30,
                "unique_id": f"{len(self.resources):032x}",
            }
        elif args.typ == BLOB_CONTAINER:
            outs["created"] = True
        else:
            outs.setdefault("name", f"{args.name}{len(self.resources)}")
        self.outputs[args.name] = outs
        return f"/mock/{args.typ}/{args.name}", outs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "azure-native:authorization:getClientConfig":
            return {"clientId": "c", "objectId": "principal-1", "subscriptionId": "sub-1", "tenantId": "t"}
        if args.token == "azure-native:storage:listStorageAccountKeys":
            return {"keys": [{"keyName": "key1", "value": ACCOUNT_KEY, "permissions": "FULL"}]}
        raise AssertionError(f"unexpected call {args.token}")

    def of_type(self, typ: str) -> list[pulumi.runtime.MockResourceArgs]:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str) -> pulumi.runtime.MockResourceArgs:
        found = self.of_type(typ)
        assert len(found) == 1, [r.name for r in found]
        return found[0]


def run_program(**config: object) -> Recorder:
    """Run __main__.py once with this stack config (values as the CLI stores them: strings)."""
    # The mocks run on this thread's current event loop. A test that ran asyncio.run() in this process before
    # (tests/test_plugin_wire.py) leaves the thread with none, and pulumi's Stack() would fail: each run brings its
    # own loop, whatever ran before it.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        recorder = Recorder()
        pulumi.runtime.set_mocks(recorder, project="blank-vhd", stack="test", preview=False)
        values = {f"blank-vhd:{k}": str(v).lower() if isinstance(v, bool) else str(v) for k, v in config.items()}
        pulumi.runtime.set_all_config(values, [])

        @pulumi.runtime.test
        def program() -> None:
            # A fresh module name per run: the program's top level must run every time.
            runpy.run_path(str(ROOT / "__main__.py"), run_name=f"blank_vhd_program_{next(_runs)}")

        program()
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    return recorder


# Run in a fresh interpreter: the program process as the engine starts it, with nothing imported before.
_IMPORTS_OF_A_LOCAL_RUN = """
import json, sys
from tests.test_program_mocks import BLANK_VHD, run_program
recorder = run_program(diskCount=2)
assert len(recorder.of_type(BLANK_VHD)) == 2
print(json.dumps(sorted(sys.modules)))
"""


def test_the_program_process_never_imports_the_azure_sdk() -> None:
    """Start-up cost and isolation: the program only declares resources; the Azure SDK (and, on the local
    target, pulumi_azure_native) load in the provider process only, on its first storage call."""
    done = subprocess.run([sys.executable, "-c", _IMPORTS_OF_A_LOCAL_RUN], cwd=ROOT, capture_output=True, text=True,
                          check=False, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    modules = json.loads(done.stdout.splitlines()[-1])
    assert "providers.provider" in modules  # the program did declare the disks
    foreign = [m for m in modules if m.split(".")[0] in ("azure", "pulumi_azure_native", "msal", "isodate")]
    assert foreign == [], foreign


def sorting_layers() -> int:
    """How many of the Python SDK's sorting wrappers are around the pure-Python pickler's _batch_setitems."""
    layers, method = 0, pickle._Pickler._batch_setitems  # type: ignore[attr-defined]
    while method.__name__.startswith("batch_set_items_sorted"):
        layers, method = layers + 1, method.__closure__[0].cell_contents
    return layers


def test_a_process_may_register_any_number_of_dynamic_resources() -> None:
    """The SDK wraps the pickler once more for every dynamic resource it registers and never unwraps it: after
    about a thousand in one process (a big program, or an Automation API process running stack after stack) the
    next provider's pickling failed with RecursionError, as bench_plugin.py's fifth repeat did (pulumi/pulumi#17803).
    providers.common.register leaves the SDK its one layer."""
    for _ in range(11):
        assert len(run_program(diskCount=100).of_type(BLANK_VHD)) == 100
    assert sorting_layers() == 1


def is_secret(value: object) -> bool:
    return isinstance(value, dict) and SECRET_SIG in value


def test_local_declares_a_container_and_one_auto_named_disk_on_azurite_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    rec = run_program()
    container = rec.one(BLOB_CONTAINER)
    vhd = rec.one(BLANK_VHD)
    assert container.inputs["container_name"] == "vhds"
    assert vhd.inputs["container_name"] == "vhds"
    assert vhd.inputs["size_gb"] == 1.0  # a float, as the provider gets it too
    # The blob is auto-named after the resource: the pickled provider holds the name, no input does.
    assert "blob_name" not in vhd.inputs and "auto_name_prefix" not in vhd.inputs
    assert dill.loads(base64.b64decode(vhd.inputs["__provider"])).auto_name_prefix == "vhd-0"
    assert vhd.inputs["adopt_existing"] is False and vhd.inputs["allow_shrink_by_replace"] is False
    for resource in (container, vhd):
        assert is_secret(resource.inputs["connection_string"])
        assert resource.inputs["connection_string"]["value"] == "UseDevelopmentStorage=true"
    assert not [r for r in rec.resources if r.typ.startswith("azure-native:")]


def test_local_takes_the_connection_string_from_config_and_declares_n_disks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    conn = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/x;"
    rec = run_program(storageConnectionString=conn, diskCount=3, sizeGb=5, containerName="disks",
                      blobName="data.vhd", adoptExisting=True, allowShrinkByReplace=True)
    vhds = sorted(rec.of_type(BLANK_VHD), key=lambda v: v.name)  # registered concurrently
    assert [v.name for v in vhds] == ["vhd-0", "vhd-1", "vhd-2"]
    assert [v.inputs["blob_name"] for v in vhds] == ["data-0.vhd", "data-1.vhd", "data-2.vhd"]
    for vhd in vhds:
        assert vhd.inputs["connection_string"]["value"] == conn and is_secret(vhd.inputs["connection_string"])
        assert vhd.inputs["size_gb"] == 5.0 and vhd.inputs["container_name"] == "disks"
        assert vhd.inputs["adopt_existing"] is True and vhd.inputs["allow_shrink_by_replace"] is True


def test_local_falls_back_to_the_environment_connection_string(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true;x=1")
    rec = run_program()
    assert rec.one(BLANK_VHD).inputs["connection_string"]["value"] == "UseDevelopmentStorage=true;x=1"


def test_azure_imports_a_managed_disk_from_the_blank_vhd_and_attaches_it_to_the_vm() -> None:
    rec = run_program(target="azure", createVm=True, vmSshPublicKey="ssh-ed25519 AAAA test", location="northeurope")
    account = rec.one("azure-native:storage:StorageAccount")
    assert account.inputs["kind"] == "StorageV2"
    vhd = rec.one(BLANK_VHD)
    vhd_url = rec.outputs[vhd.name]["url"]
    assert vhd.inputs["storage_account_name"] == rec.outputs[account.name]["name"]
    assert vhd.inputs["container_name"] == rec.outputs["container"]["name"]
    assert not {"account_key", "sas_token", "connection_string"} & set(vhd.inputs)  # keyless: Entra ID

    disk = rec.one("azure-native:compute:Disk")
    creation = disk.inputs["creationData"]
    assert creation["createOption"] == "Import"
    assert creation["sourceUri"] == vhd_url
    assert creation["storageAccountId"] == f"/mock/azure-native:storage:StorageAccount/{account.name}"
    assert disk.inputs["location"] == "northeurope"

    vm = rec.one("azure-native:compute:VirtualMachine")
    data_disks = vm.inputs["storageProfile"]["dataDisks"]
    disk_id = f"/mock/azure-native:compute:Disk/{disk.name}"
    assert data_disks == [{"lun": 0.0, "createOption": "Attach", "managedDisk": {"id": disk_id}}]

    role = rec.one("azure-native:authorization:RoleAssignment")
    assert role.inputs["principalId"] == "principal-1"
    assert role.inputs["roleDefinitionId"].endswith("/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe")
    assert role.inputs["roleDefinitionId"].startswith("/subscriptions/sub-1/")
    assert role.inputs["scope"] == creation["storageAccountId"]


def test_azure_with_keys_passes_the_listed_key_as_a_secret_and_makes_no_vm_by_default() -> None:
    rec = run_program(target="azure", keyless=False, diskCount=2)
    vhds = rec.of_type(BLANK_VHD)
    assert len(vhds) == 2
    for vhd in vhds:
        assert is_secret(vhd.inputs["account_key"]) and vhd.inputs["account_key"]["value"] == ACCOUNT_KEY
    disks = rec.of_type("azure-native:compute:Disk")
    sources = sorted(d.inputs["creationData"]["sourceUri"] for d in disks)
    assert sources == sorted(rec.outputs[v.name]["url"] for v in vhds)
    assert not rec.of_type("azure-native:compute:VirtualMachine")
    assert not rec.of_type("azure-native:authorization:RoleAssignment")


def test_a_vm_without_an_ssh_key_is_refused_with_a_clear_message() -> None:
    with pytest.raises(Exception, match="vmSshPublicKey"):
        run_program(target="azure", createVm=True)


def test_an_unknown_target_is_refused() -> None:
    with pytest.raises(Exception, match="neither local nor azure"):
        run_program(target="aws")


def test_pulumi_yaml_declares_every_key_the_program_reads_with_the_same_defaults() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "blank-vhd"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    config = project["config"]
    source = (ROOT / "__main__.py").read_text()
    for key, spec in config.items():
        assert spec.get("description"), key
        assert "default" in spec, f"{key} has no default, so every stack would have to set it"
        assert f'"{key}"' in source or key in ("storageAccountKey", "storageSasToken"), f"{key} is never read"
    assert config["target"]["default"] == "local" and config["sizeGb"]["default"] == 1
    assert config["diskCount"]["default"] == 1 and config["containerName"]["default"] == "vhds"
    assert config["createVm"]["default"] is False and config["keyless"]["default"] is True


def test_an_undeclared_config_key_is_refused_naming_the_declared_one() -> None:
    with pytest.raises(Exception, match=r"config blank-vhd:sizeGB is not declared in Pulumi.yaml, so it would be "
                       r"ignored; did you mean blank-vhd:sizeGb\? remove it with `pulumi config rm sizeGB`"):
        run_program(sizeGB=2)
    with pytest.raises(Exception, match=r"did you mean blank-vhd:diskCount\?"):
        run_program(diskCont=2)
