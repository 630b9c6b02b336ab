"""The provider plugin from YAML, TypeScript, Go and Python: each example project (examples/<language>) runs the same
story through the real `pulumi` CLI against a real Azurite (tests/lang_e2e.py):

1. `up` creates the container, a BlankVhd and a VhdImage (the blobs are valid disks, the image's data is in its blob);
2. a larger `sizeGb` previews as an update of `sizeGb` alone, and nothing is written by the preview;
3. `up` grows the disk in place (same unique id);
4. a disk made by `vhdcore blob create` is imported: YAML with `pulumi import` and the code the YAML host generates
   for it, the others with the resource option `import` in their inline program (`pulumi import` would start
   the language host to list the program's plugins, and the Node.js, Go and Python hosts cannot be built here);
   the next preview of the program that declares it shows no change;
5. `destroy` deletes every blob, the imported one included (it is blank-vhd's own: `vhdcore` made it).

The connection string (with Azurite's account key) is stack config `blank-vhd:connectionString`, set as a secret;
nothing any step shows or stores may contain the key (the secret scan at the end).
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from azurite_server import Azurite
from pulumi_stack import ROOT

from providers.schema import BLANK_VHD
from tests.faultproxy import blob_service
from tests.lang_e2e import Driver, Language, Result, YamlProject, environment
from vhdcore import GiB, MiB, StorageTarget, container_exists, inspect_blank_vhd

pytestmark = pytest.mark.e2e
EXAMPLES = ROOT / "examples"
GO_ENV = {"GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly", "CGO_ENABLED": "0"}


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A raw image of 1 MiB with data in two places: the VhdImage uploads it as a 1 MiB disk."""
    path = tmp_path_factory.mktemp("image") / "disk.raw"
    content = bytearray(MiB)
    content[:4096] = b"\x5a" * 4096
    content[640 * 1024:640 * 1024 + 512] = b"blank-vhd" * 56 + b"\x00" * 8
    path.write_bytes(bytes(content))
    return path


# --- each language's runner ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def typescript_driver(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict[str, str]]:
    """examples/typescript compiled by its own tsc; it runs with the example's node_modules, where setup.sh --test
    installed @pulumi/pulumi and the SDK from sdk/nodejs (compiled by the SDK's postinstall, with tsc)."""
    example = EXAMPLES / "typescript"
    installed = example / "node_modules" / "@blank-vhd" / "pulumi"
    differ = [name for name in sdk_sources(ROOT / "sdk" / "nodejs")
              if not (installed / name).is_file() or not filecmp.cmp(ROOT / "sdk" / "nodejs" / name, installed / name,
                                                                     shallow=False)]
    assert not differ, f"{installed} is not sdk/nodejs ({differ[:3]} differ); run scripts/setup.sh --test"
    assert (installed / "bin" / "index.js").is_file(), f"{installed} was not compiled; run scripts/setup.sh --test"
    out = tmp_path_factory.mktemp("typescript")
    subprocess.run([example / "node_modules" / ".bin" / "tsc", "-p", example, "--outDir", out], check=True,
                   timeout=300)
    return ["node", str(out / "automation.js")], {"NODE_PATH": str(example / "node_modules")}


def sdk_sources(folder: Path) -> list[str]:
    """The SDK's files as npm installs them (a package never carries its .gitignore or .gitattributes)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=folder, capture_output=True,
                            text=True, check=True).stdout.split()
    return sorted(name for name in listed if not Path(name).name.startswith(".git"))


@pytest.fixture(scope="module")
def go_driver(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict[str, str]]:
    """examples/go/automation built by Go, with the generated Go SDK (sdk/go) through its replace directive."""
    binary = tmp_path_factory.mktemp("go") / "automation"
    subprocess.run(["go", "build", "-o", binary, "./automation"], cwd=EXAMPLES / "go",
                   env={**os.environ, **GO_ENV}, check=True, timeout=900)
    return [str(binary)], {}


@pytest.fixture(scope="module")
def python_driver(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict[str, str]]:
    """examples/python/automation.py with the generated Python SDK (sdk/python) installed by pip into a folder of
    its own, found through PYTHONPATH: nothing is installed into the project's virtualenv."""
    site = tmp_path_factory.mktemp("python-sdk")
    source = tmp_path_factory.mktemp("python-sdk-source") / "python"
    # pip builds in the source tree: a copy, so the checkout stays as it is.
    shutil.copytree(ROOT / "sdk" / "python", source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    subprocess.run([ROOT / "venv" / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                    site, source], check=True, timeout=300,
                   env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    python = str(ROOT / "venv" / "bin" / "python")
    return [python, str(EXAMPLES / "python" / "automation.py")], {"PYTHONPATH": str(site)}


# --- the story ---------------------------------------------------------------------------------------------------


def disk(target: StorageTarget, container: str, name: str) -> tuple[int, str, bool] | None:
    """The blob's length, footer unique id and whether Azure would take it as a disk; None if there is no blob (or
    no container)."""
    if not container_exists(target, container):
        return None
    found = inspect_blank_vhd(target, container=container, name=name)
    if found is None:
        return None
    return found.blob_length, str(found.unique_id), found.report.azure_ready


def blob_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def create_with_vhdcore(azurite: Azurite, container: str, name: str, scan_saw: Callable[[str, object], None]) -> str:
    """`vhdcore blob create`: a disk made outside any stack; returns its URL."""
    done = subprocess.run([ROOT / "venv" / "bin" / "python", "-m", "vhdcore", "blob", "create", "-c", container,
                           "-n", name, "--size", "1GiB", "-o", "json"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string},
                          timeout=120, check=False)
    scan_saw("vhdcore blob create", done.stdout + done.stderr)
    assert done.returncode == 0, done.stderr
    url: str = json.loads(done.stdout)["url"]
    return url


def story(lang: Language, azurite: Azurite, image: Path,
          import_disk: Callable[[Language, str, str], Result]) -> None:
    target = StorageTarget(connection_string=azurite.connection_string)
    container = f"lang-{uuid.uuid4().hex[:8]}"
    config = {"containerName": container, "imagePath": str(image), "sizeGb": "1"}

    # 1. create
    result = lang.up(config=config, secret_config={"blank-vhd:connectionString": azurite.connection_string})
    assert result.ops() == {"vhds": ["create"], "data": ["create"], "os": ["create"]}, result.steps
    out = result.outputs
    assert out["diskSizeBytes"] == GiB and out["diskUrl"].startswith(f"{azurite.endpoint}/{container}/data-")
    data = disk(target, container, blob_name(out["diskUrl"]))
    assert data == (GiB + 512, out["diskUniqueId"], True), data
    uploaded = disk(target, container, blob_name(out["imageUrl"]))
    assert uploaded is not None and uploaded[0] == MiB + 512 and uploaded[2], uploaded
    blob = blob_service(azurite.connection_string).get_blob_client(container, blob_name(out["imageUrl"]))
    assert blob.download_blob(offset=0, length=MiB).readall() == image.read_bytes()
    assert out["imageFingerprint"].startswith("sha256:")

    # 2. a resize previews as an update of sizeGb alone and writes nothing
    preview = lang.preview(config={"sizeGb": "2"})
    assert preview.of("data") == [("update", ("sizeGb",))], preview.steps
    assert preview.of("vhds") == [("same", ())] and preview.of("os") == [("same", ())], preview.steps
    assert disk(target, container, blob_name(out["diskUrl"])) == data

    # 3. the grow keeps the disk
    grown = lang.up()
    assert grown.ops() == {"vhds": ["same"], "data": ["update"], "os": ["same"]}, grown.steps
    assert grown.outputs["diskSizeBytes"] == 2 * GiB and grown.outputs["diskUniqueId"] == out["diskUniqueId"]
    assert disk(target, container, blob_name(out["diskUrl"])) == (2 * GiB + 512, out["diskUniqueId"], True)

    # 4. import a disk made outside the stack; the program that declares it then shows no change
    imported_url = create_with_vhdcore(azurite, container, "imported.vhd", lang.scan.saw)
    made = disk(target, container, "imported.vhd")
    imported = import_disk(lang, imported_url, container)
    assert imported.of("imported") == [("import", ())], imported.steps
    settled = lang.preview()
    assert {op for op, _ in settled.of("imported")} == {"same"} and all(s.op == "same" for s in settled.steps), \
        settled.steps
    assert disk(target, container, "imported.vhd") == made

    # 5. destroy deletes every blob
    gone = lang.destroy()
    assert gone.ops() == {"vhds": ["delete"], "data": ["delete"], "os": ["delete"], "imported": ["delete"]}, gone.steps
    for url in (out["diskUrl"], out["imageUrl"], imported_url):
        assert disk(target, container, blob_name(url)) is None, url

    # No credential in clear anywhere: the secret config is stored encrypted, and the scan finds no piece of the key.
    config_text = lang.config_file().read_text()
    assert "blank-vhd:connectionString:\n    secure: " in config_text, config_text


def import_with_option(lang: Language, url: str, container: str) -> Result:
    """The Automation API languages: one `up` with the resource option `import` (the engine reads the disk by its
    id and refuses the import if the declared inputs differ from what it read); then the option goes."""
    result = lang.up(config={"importedBlob": "imported.vhd", "importedSizeGb": "1", "importedId": url})
    lang.preview(remove_config=["importedId"])
    return result


def import_with_generated_code(lang: Language, url: str, container: str) -> Result:
    """YAML: `pulumi import`, with the YAML language host writing the declaration, which joins the program."""
    assert isinstance(lang, YamlProject)
    declared, result = lang.import_generated(BLANK_VHD.token, "imported", url)
    assert declared == {"type": "blank-vhd:BlankVhd", "properties": {
        "blobName": "imported.vhd", "containerName": container, "sizeGb": 1}}, declared
    return result


@pytest.fixture
def finished() -> Iterator[list[Language]]:
    made: list[Language] = []
    yield made
    for lang in made:
        lang.finish()


def test_yaml_plain_pulumi_up_with_the_yaml_language_host(
    azurite: Azurite, image: Path, tmp_path: Path, finished: list[Language]
) -> None:
    lang = YamlProject(environment(), tmp_path / "yaml", "blank-vhd-yaml")
    finished.append(lang)
    story(lang, azurite, image, import_with_generated_code)


@pytest.mark.parametrize("language", ["typescript", "go", "python"])
def test_the_automation_api_with_the_generated_sdk(
    language: str, request: pytest.FixtureRequest, azurite: Azurite, image: Path, tmp_path: Path,
    finished: list[Language]
) -> None:
    command, extra = request.getfixturevalue(f"{language}_driver")
    lang = Driver(environment(**extra), tmp_path, f"blank-vhd-{language}", command=command)
    finished.append(lang)
    story(lang, azurite, image, import_with_option)

