"""The SDKs of the provider plugin: tools/sdkgen (Pulumi's own Node.js, Python and Go generators, called as the
language hosts call them) on a small schema of our own, and on the plugin's schema: sdk/ must be exactly what
scripts/gen-sdk.sh writes, with the names, import paths and version the schema declares, and the Python SDK must
install beside blank-vhd's own packages.

The generator is a Go program: Go runs it (`go run`, its module pinned by tools/sdkgen/go.sum; setup.sh --test
downloads the modules).
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SDKGEN = ROOT / "tools" / "sdkgen"
FIXTURE = ROOT / "tests" / "fixtures" / "sdkgen-schema.json"
GO_ENV = {"GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly", "CGO_ENABLED": "0"}


@pytest.fixture(scope="session")
def sdkgen_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tools/sdkgen, built once."""
    binary = tmp_path_factory.mktemp("sdkgen") / "sdkgen"
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=SDKGEN, env={**os.environ, **GO_ENV}, check=True,
                   timeout=900)
    return binary


def sdkgen(binary: Path, schema: Path, out: Path, *languages: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    args = [str(binary), "-schema", str(schema), "-out", str(out)]
    if languages:
        args += ["-language", ",".join(languages)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    if ok and done.returncode != 0:
        raise AssertionError(f"sdkgen exited {done.returncode}:\n{done.stderr}")
    return done


def load(path: Path) -> Any:
    return json.loads(path.read_text())


# --- the generator, on a schema of our own ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def fixture_sdk(sdkgen_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fixture-sdk")
    sdkgen(sdkgen_bin, FIXTURE, out)
    return out


def test_each_sdk_carries_the_names_import_path_and_version_of_the_schema(fixture_sdk: Path) -> None:
    package = load(fixture_sdk / "nodejs" / "package.json")
    assert package["name"] == "@tiny-disk/pulumi" and package["version"] == "0.1.0"
    assert package["main"] == "bin/index.js" and package["scripts"]["postinstall"] == "node ./scripts/postinstall.js"
    assert package["pulumi"] == {"resource": True, "name": "tiny-disk", "version": "0.1.0"}
    project = tomllib.loads((fixture_sdk / "python" / "pyproject.toml").read_text())["project"]
    assert (project["name"], project["version"]) == ("pulumi_tiny_disk", "0.1.0")
    assert load(fixture_sdk / "python" / "pulumi_tiny_disk" / "pulumi-plugin.json")["version"] == "0.1.0"
    # The Go module sits one folder above the package named by importBasePath, though the schema has no supportPack.
    go_mod = (fixture_sdk / "go" / "go.mod").read_text()
    assert go_mod.startswith("module example.com/tiny-disk/sdk/go\n"), go_mod
    assert "package tinydisk" in (fixture_sdk / "go" / "tinydisk" / "disk.go").read_text()


def test_a_secret_input_stays_secret_in_every_language(fixture_sdk: Path) -> None:
    assert 'resourceInputs["sasToken"] = args?.sasToken ? pulumi.secret(args.sasToken)' in (
        fixture_sdk / "nodejs" / "disk.ts").read_text()
    assert "pulumi.Output.secret(sas_token)" in (fixture_sdk / "python" / "pulumi_tiny_disk" / "disk.py").read_text()
    assert "pulumi.ToSecret(args.SasToken)" in (fixture_sdk / "go" / "tinydisk" / "disk.go").read_text()


def test_a_language_folder_is_replaced_whole_and_nothing_else_is_touched(sdkgen_bin: Path, tmp_path: Path) -> None:
    (tmp_path / "go").mkdir()
    (tmp_path / "go" / "stale.go").write_text("package stale\n")
    (tmp_path / "keep.txt").write_text("not the generator's\n")
    done = sdkgen(sdkgen_bin, FIXTURE, tmp_path, "go")
    assert not (tmp_path / "go" / "stale.go").exists() and (tmp_path / "go" / "go.mod").exists()
    assert (tmp_path / "keep.txt").read_text() == "not the generator's\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["go", "keep.txt"]
    assert done.stderr.strip() == f"sdkgen: go SDK: 10 files in {tmp_path / 'go'}", done.stderr


def schema_variant(tmp_path: Path, change: Any) -> Path:
    spec = copy.deepcopy(load(FIXTURE))
    change(spec)
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(spec))
    return path


def refer_to_another_package(spec: dict[str, Any]) -> None:
    spec["resources"]["tiny-disk:index:Disk"]["inputProperties"]["account"] = {
        "$ref": "/azure-native/v3.0.0/schema.json#/resources/azure-native:storage:StorageAccount"}


@pytest.mark.parametrize(("change", "message"), [
    (refer_to_another_package, 'the schema refers to package "azure-native"; blank-vhd\'s schema must be '
                               "self-contained"),
    (lambda spec: spec.pop("version"), "has no version; the SDKs take theirs from it"),
])
def test_a_schema_the_generator_cannot_use_fails_in_one_line_and_writes_nothing(
    sdkgen_bin: Path, tmp_path: Path, change: Any, message: str
) -> None:
    schema = schema_variant(tmp_path, change)
    done = sdkgen(sdkgen_bin, schema, tmp_path / "out", ok=False)
    assert done.returncode == 1 and message in done.stderr, done.stderr
    assert done.stderr.startswith("sdkgen: error: ") and done.stderr.count("\n") == 1, done.stderr
    assert not (tmp_path / "out").exists()


def test_an_unknown_language_is_refused_naming_the_ones_there_are(sdkgen_bin: Path, tmp_path: Path) -> None:
    done = sdkgen(sdkgen_bin, FIXTURE, tmp_path, "dotnet", ok=False)
    assert done.returncode == 1 and "-language dotnet: no generator for it here; give nodejs, python or go" in \
        done.stderr and "pulumi package gen-sdk --language dotnet|java" in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []


# --- pins --------------------------------------------------------------------------------------------------------


def go_requirement(go_mod: Path, module: str) -> str:
    found = re.search(rf"^\s*(?:require\s+)?{re.escape(module)} (v\S+)", go_mod.read_text(), re.MULTILINE)
    assert found, f"{go_mod} does not require {module}"
    return found.group(1)


def test_the_generator_uses_the_clis_pulumi_version() -> None:
    """The SDKs are what the pinned CLI's `pulumi package gen-sdk` would write only if the generators are its own."""
    cli = "v" + (ROOT / "scripts" / "pulumi-cli-version").read_text().strip()
    assert go_requirement(SDKGEN / "go.mod", "github.com/pulumi/pulumi/pkg/v3") == cli
    assert go_requirement(SDKGEN / "go.mod", "github.com/pulumi/pulumi/sdk/v3") == cli

