"""The one declaration (providers/schema.py) and what is derived from it: the checked-in package schema, the reference
page and the typed Args are fresh; the hand-written overloads of the dynamic resources take exactly the declared
inputs; the plugin's schema says what the issue asks of it; the providers reach vhdcore only through its public API;
and a program that declares only BlankVhds loads no image reader."""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
import typing
from pathlib import Path

import generate
import pytest

import vhdcore
from providers import BlankVhd, BlobContainer, ManagedDiskImage, VhdImage
from providers.schema import (
    ACCOUNT,
    BLANK_VHD,
    BLOB_CONTAINER,
    CONFIG,
    MANAGED_DISK_IMAGE,
    RESOURCES,
    VHD_IMAGE,
    door_text,
)

ROOT = Path(__file__).resolve().parent.parent


def test_the_generated_files_are_fresh() -> None:
    stale = [str(path.relative_to(ROOT)) for path in generate.stale()]
    assert stale == [], f"{stale} are stale: run venv/bin/python tools/generate.py"


def test_the_schema_declares_every_resource_input_output_and_config_key_as_the_issue_names_them() -> None:
    schema = json.loads((ROOT / "providers" / "plugin" / "schema.json").read_text())
    assert schema["name"] == "blank-vhd" and schema["version"] == vhdcore.__version__
    assert set(schema["resources"]) == {"blank-vhd:index:BlankVhd", "blank-vhd:index:VhdImage",
                                        "blank-vhd:index:BlobContainer", "blank-vhd:index:ManagedDiskImage"}
    managed = schema["resources"]["blank-vhd:index:ManagedDiskImage"]
    assert managed["requiredInputs"] == ["source", "resourceGroupName", "location"]
    assert {"diskName", "sku", "securityType", "guestState"} <= set(managed["inputProperties"])
    assert {"diskId", "fingerprint", "uploadSizeBytes", "diskState"} <= set(managed["properties"])
    disk = schema["resources"]["blank-vhd:index:BlankVhd"]
    assert list(disk["inputProperties"]) == [
        "sizeGb", "containerName", "blobName", "storageAccountName", "endpointSuffix", "accountUrl",
        "connectionString", "accountKey", "sasToken", "cloud", "apiVersion", "allowPlainHttp", "metadata",
        "adoptExisting", "allowShrinkByReplace"]
    assert {"url", "sizeBytes", "blobLength", "uniqueId", "blobEndpoint", "azureReady", "adopted"} <= set(
        disk["properties"])
    assert disk["requiredInputs"] == ["sizeGb", "containerName"]
    variables = schema["config"]["variables"]
    assert list(variables) == ["storageAccountName", "endpointSuffix", "accountUrl", "connectionString", "accountKey",
                               "sasToken", "cloud", "apiVersion"]
    assert {k for k, v in variables.items() if v.get("secret")} == {"connectionString", "accountKey", "sasToken"}
    assert schema["provider"]["inputProperties"] == variables
    for resource in schema["resources"].values():
        for group in ("properties", "inputProperties"):
            for name, spec in resource[group].items():
                assert spec["description"] and spec["type"], name
                assert spec.get("secret", False) == (name in {"connectionString", "accountKey", "sasToken"}), name
                assert "_" not in name and "default" not in spec, name  # the provider decides omitted inputs
    # Byte counts exceed 32 bits, which C# and Java give "integer".
    assert disk["properties"]["sizeBytes"]["type"] == "number" and disk["properties"]["sizeGb"]["type"] == "integer"
    language = schema["language"]
    assert language["nodejs"]["packageName"] == "@blank-vhd/pulumi"
    assert language["python"]["packageName"] == "pulumi_blank_vhd"
    assert language["go"]["importBasePath"] == "github.com/blank-vhd/blank-vhd/sdk/go/blankvhd"
    assert language["csharp"]["rootNamespace"] == "BlankVhd" and language["java"]["basePackage"] == "io.github.blankvhd"


def test_the_reference_page_lists_every_resource_input_output_and_config_key() -> None:
    page = (ROOT / "docs" / "reference.md").read_text()
    for decl in RESOURCES:
        assert f"## {decl.python_name}" in page and decl.token in page
        for prop in decl.props:
            assert f"`{prop.camel}`" in page and f"`{prop.name}`" in page, prop.name
    for prop in CONFIG:
        assert f"`blank-vhd:{prop.camel}`" in page


@pytest.mark.parametrize(("resource", "decl"), [(BlankVhd, BLANK_VHD), (VhdImage, VHD_IMAGE),
                                                (BlobContainer, BLOB_CONTAINER),
                                                (ManagedDiskImage, MANAGED_DISK_IMAGE)])
def test_the_hand_written_overloads_take_exactly_the_declared_inputs(resource: type, decl: typing.Any) -> None:
    """The keyword overload of each resource (kept by hand: a generated class could not hold the resource's own
    code) names every declared input, with its type and whether it is required."""
    kinds = {"string": "str", "integer": "int", "boolean": "bool", "map": "dict[str, str]"}
    signatures = [inspect.signature(o) for o in typing.get_overloads(resource.__init__)]
    (keyword,) = [s for s in signatures if any(p.kind == p.KEYWORD_ONLY for p in s.parameters.values())]
    parameters = keyword.parameters
    declared = {p.name: p for p in decl.inputs}
    given = {name: p for name, p in parameters.items() if p.kind == p.KEYWORD_ONLY}
    assert list(given) == list(declared)
    for name, parameter in given.items():
        prop = declared[name]
        assert parameter.annotation == f"pulumi.Input[{kinds[prop.kind]}]" + ("" if prop.required else " | None")
        assert (parameter.default is parameter.empty) == prop.required, name


def test_door_text_spells_declared_names_the_plugins_way_and_nothing_else() -> None:
    assert door_text("set allow_shrink_by_replace to true; size_gb 3") == "set allowShrinkByReplace to true; sizeGb 3"
    assert door_text("blob 'my_size_gb.vhd' and AZURE_STORAGE_CONNECTION_STRING") == \
        "blob 'my_size_gb.vhd' and AZURE_STORAGE_CONNECTION_STRING"
    assert door_text("the stack config blank-vhd:storageConnectionString") == \
        "the stack config blank-vhd:storageConnectionString"
    assert [p.name for p in ACCOUNT][:3] == ["storage_account_name", "endpoint_suffix", "account_url"]


def test_the_providers_use_only_vhdcores_public_api() -> None:
    """Every name the providers take from vhdcore is one `vhdcore.__all__` names (issue 17): no deep module, no
    private name, so the library can move its insides without breaking them."""
    public = set(vhdcore.__all__)
    for path in sorted((ROOT / "providers").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vhdcore"):
                assert node.module == "vhdcore", f"{path.name} imports from {node.module}"
                assert {a.name for a in node.names} <= public, f"{path.name}: {[a.name for a in node.names]}"
            elif isinstance(node, ast.Import):
                assert all(a.name == "vhdcore" or not a.name.startswith("vhdcore") for a in node.names), path.name
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "vhdcore":
                assert node.attr in public or node.attr == "__version__", f"{path.name}: vhdcore.{node.attr}"


def test_a_program_of_blank_disks_loads_no_image_reader_and_the_plugin_starts_without_the_core() -> None:
    probe = (
        "import sys, pulumi\n"
        "from providers import BlankVhd, BlobContainer, VhdImage\n"
        "print(sorted(m for m in sys.modules if m.startswith(('vhdcore.format.images', 'azure.'))))\n"
        "import providers.plugin.server\n"
        "print(sorted(m for m in sys.modules if m in ('providers.provider', 'providers.image_provider')\n"
        "             or m.startswith('azure.')))\n"
    )
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines()[0] == "[]"
    # The plugin process imports the core providers on the first request about a resource, not to start.
    probe_plugin = probe.replace("from providers import BlankVhd, BlobContainer, VhdImage\n", "")
    started = subprocess.run([sys.executable, "-c", probe_plugin], capture_output=True, text=True, cwd=ROOT,
                             timeout=120)
    assert started.returncode == 0, started.stderr
    assert started.stdout.splitlines() == ["[]", "[]"]
