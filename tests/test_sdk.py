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
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_wide

ROOT = Path(__file__).resolve().parent.parent
SDKGEN = ROOT / "tools" / "sdkgen"
FIXTURE = ROOT / "tests" / "fixtures" / "sdkgen-schema.json"
GO_ENV = {"GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly", "CGO_ENABLED": "0"}


@pytest.fixture(scope="session")
def sdkgen_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tools/sdkgen, built once per run (the first test worker to ask builds it; linking it takes seconds)."""
    with run_wide(tmp_path_factory, "sdkgen") as (folder, built):
        if not built:
            subprocess.run(["go", "build", "-o", str(folder / "sdkgen"), "."], cwd=SDKGEN,
                           env={**os.environ, **GO_ENV}, check=True, timeout=900)
    return folder / "sdkgen"


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


def test_the_generator_and_the_go_programs_use_the_clis_pulumi_version() -> None:
    """The SDKs are what the pinned CLI's `pulumi package gen-sdk` would write only if the generators are its own;
    the Go example and the Go benchmark program run on the same SDK."""
    cli = "v" + (ROOT / "scripts" / "pulumi-cli-version").read_text().strip()
    assert go_requirement(SDKGEN / "go.mod", "github.com/pulumi/pulumi/pkg/v3") == cli
    assert go_requirement(SDKGEN / "go.mod", "github.com/pulumi/pulumi/sdk/v3") == cli
    assert go_requirement(ROOT / "examples" / "go" / "go.mod", "github.com/pulumi/pulumi/sdk/v3") == cli
    assert go_requirement(ROOT / "bench" / "go" / "go.mod", "github.com/pulumi/pulumi/sdk/v3") == cli



# --- the plugin's SDKs (sdk/) ------------------------------------------------------------------------------------

SCHEMA = ROOT / "providers" / "plugin" / "schema.json"
SDK = ROOT / "sdk"


def tree(folder: Path) -> dict[str, bytes]:
    """A folder's files (relative path -> content), as a clean clone has them when the folder is sdk/."""
    if folder == SDK:
        listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard", "sdk"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout.split("\0")
        return {name.removeprefix("sdk/"): (ROOT / name).read_bytes() for name in listed if name}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_checked_in_sdks_are_what_gen_sdk_writes_from_the_schema(tmp_path: Path) -> None:
    subprocess.run(["bash", ROOT / "scripts" / "gen-sdk.sh", tmp_path], env={**os.environ, **GO_ENV}, check=True,
                   capture_output=True, timeout=900)
    fresh, checked_in = tree(tmp_path), tree(SDK)
    stale = sorted({name for name in fresh.keys() | checked_in.keys() if fresh.get(name) != checked_in.get(name)})
    assert not stale, (f"sdk/ is stale ({len(stale)} files differ, e.g. {stale[:5]}): run scripts/gen-sdk.sh and "
                       "commit sdk/")


def test_each_sdk_is_named_as_the_schemas_language_sections_say() -> None:
    schema = load(SCHEMA)
    version, language = schema["version"], schema["language"]
    package = load(SDK / "nodejs" / "package.json")
    assert (package["name"], package["version"]) == (language["nodejs"]["packageName"], version)
    project = tomllib.loads((SDK / "python" / "pyproject.toml").read_text())["project"]
    assert (project["name"], project["version"]) == (language["python"]["packageName"], version)
    import_path = language["go"]["importBasePath"]
    module, package_dir = import_path.rsplit("/", 1)
    assert (SDK / "go" / "go.mod").read_text().startswith(f"module {module}\n")
    assert "package blankvhd" in (SDK / "go" / package_dir / "blankVhd.go").read_text()
    plugin = {"resource": True, "name": schema["name"], "version": version}
    assert load(SDK / "python" / language["python"]["packageName"] / "pulumi-plugin.json") == plugin
    assert load(SDK / "go" / package_dir / "pulumi-plugin.json") == plugin
    assert package["pulumi"] == plugin
    # The two SDKs the generators here cannot write get theirs from an official CLI: the sections must be there.
    assert language["csharp"]["rootNamespace"] and language["java"]["basePackage"]


def installed_files(site: Path, distribution: str) -> set[str]:
    """The files pip recorded for a distribution installed into `site`."""
    (info,) = site.glob(f"{distribution}-*.dist-info")
    rows = (info / "RECORD").read_text().splitlines()
    return {row.split(",")[0] for row in rows if row and not row.split(",")[0].startswith(info.name)}


def clean_copy(folder: Path, dest: Path) -> Path:
    """The folder's files as a clean clone has them, copied to `dest`: pip builds in the source tree, and the
    checkout must stay as it is."""
    listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=folder, capture_output=True,
                            text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / name, dest / name)
    return dest


def test_the_python_sdk_installs_beside_blank_vhd_without_a_shared_file(tmp_path: Path) -> None:
    site = tmp_path / "site"
    sources = [clean_copy(ROOT, tmp_path / "blank-vhd"), clean_copy(SDK / "python", tmp_path / "sdk")]
    subprocess.run([ROOT / "venv" / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-deps", "--target", site,
                    *sources], check=True, timeout=600, capture_output=True,
                   env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    ours, sdk = installed_files(site, "blank_vhd"), installed_files(site, "pulumi_blank_vhd")
    assert not ours & sdk, sorted(ours & sdk)
    assert {name.split("/")[0] for name in sdk} == {"pulumi_blank_vhd"}, sorted(sdk)
    both = subprocess.run(
        [ROOT / "venv" / "bin" / "python", "-c",
         "import importlib.metadata as m, providers, pulumi_blank_vhd, vhdcore; "
         "print(pulumi_blank_vhd.BlankVhd.__module__, providers.BlankVhd.__module__, m.version('pulumi_blank_vhd'))"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(site)}, capture_output=True, text=True, check=True)
    assert both.stdout.split() == ["pulumi_blank_vhd.blank_vhd", "providers.blank_vhd", load(SCHEMA)["version"]]
