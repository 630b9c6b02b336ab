"""blank-vhd as users get it: a wheel and an sdist built from a clean copy of the repository, installed into
fresh virtualenvs, used from folders outside the repository, by `mypy --strict`, and by a new Pulumi project
driven through the real CLI, with the newest pinned SDK and with the oldest the package metadata allows.

The wheel and each virtualenv are made once per run, by the first test worker that needs them (conftest.run_wide);
pip takes the packages from its cache.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azurite_server import ACCOUNT_KEY, Azurite

from tests.conftest import run_wide
from tests.e2e_support import without_sdk_cancellation
from tests.faultproxy import blob_service
from tests.secrets_scan import SecretScan
from vhdcore import __version__
from vhdcore.azure.credentials import StorageTarget
from vhdcore.azure.page_blob import create_blank_vhd, inspect_blank_vhd
from vhdcore.format.sizes import GiB

ROOT = Path(__file__).resolve().parent.parent
PULUMI_BIN = ROOT / ".tools" / "bin"
PACKAGES = {"vhdcore", "providers"}
QUICKSTART = ROOT / "examples" / "quickstart"  # the README's minimal project (tests/test_docs.py)
NOT_SHIPPED = ("bench/", "tools/", "tests/", "scripts/", "venv/", ".tools/", "__main__.py", "Pulumi.yaml")


def run(args: list[str | Path], *, cwd: Path, env: dict[str, str] | None = None, ok: bool = True,
        timeout: float = 900) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env or clean_env(), capture_output=True, text=True,
                          timeout=timeout, check=False)
    if ok and done.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: nothing pointing into this repository or at its venv, no storage
    or Pulumi settings from the developer's shell."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME") and not k.startswith(("AZURE_", "PULUMI_"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT)))
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env | extra


def source_files() -> list[str]:
    """What a clean clone of the repository holds (tracked and new files, nothing ignored)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    return sorted(name for name in listed.split("\0") if name and (ROOT / name).is_file())


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a clone holds, copied once per run for every test worker (run_wide); tests copy it again to write."""
    with run_wide(tmp_path_factory, "package-clone") as (folder, made):
        copy = folder / "blank-vhd"
        if not made:
            for name in source_files():
                (copy / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, copy / name)
    return copy


@dataclass
class Dist:
    wheel: Path
    sdist: Path


@pytest.fixture(scope="module")
def dist(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """`python -m build`: the sdist, then the wheel built from that sdist (so the sdist must be complete). Built once
    per run for every test worker."""
    with run_wide(tmp_path_factory, "package-dist") as (out, made):
        if not made:
            run([sys.executable, "-m", "build", "--outdir", out, source], cwd=source)
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return Dist(wheel, sdist)


# pip compiles every installed module to bytecode by default: most of an install's time here (pulumi, grpcio,
# protobuf, the Azure SDK), for modules these tests never import. Python compiles what is imported when it is.
NO_COMPILE = "--no-compile"


def make_venv(path: Path, *requirements: str | Path) -> Path:
    """A fresh virtualenv at `path` with `requirements` installed; returns its python."""
    run([sys.executable, "-m", "venv", path], cwd=path.parent)
    python = path / "bin" / "python"
    run([python, "-m", "pip", "install", "-q", NO_COMPILE, *requirements], cwd=path.parent)
    return python


@pytest.fixture(scope="module")
def installed(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel in a fresh virtualenv, its dependencies at this repository's pins; returns the venv. Made once per
    run for every test worker; the tests only run what it holds."""
    with run_wide(tmp_path_factory, "package-wheel-venv") as (folder, made):
        if not made:
            make_venv(folder / "venv", dist.wheel, "-c", ROOT / "requirements.txt")
    return folder / "venv"


def lower_bounds() -> dict[str, str]:
    """Each runtime dependency at the oldest version pyproject.toml allows (its `>=` bound)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    bounds = {}
    for requirement in project["dependencies"]:
        found = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+),<[0-9.]+(;.*)?", requirement.replace(" ", ""))
        assert found, f"{requirement!r} is not written as name>=low,<high (with an environment marker or none)"
        bounds[found[1]] = found[2]
    return bounds


@pytest.fixture(scope="module")
def oldest(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel in a fresh virtualenv with every runtime dependency at its lower bound; returns the venv. Made once
    per run for every test worker."""
    with run_wide(tmp_path_factory, "package-oldest-venv") as (folder, made):
        if not made:
            make_venv(folder / "venv", dist.wheel, *(f"{name}=={version}" for name, version in lower_bounds().items()))
    return folder / "venv"


def site_packages(venv: Path) -> Path:
    (found,) = venv.glob("lib/python3*/site-packages")
    return found


# --- the distributions ------------------------------------------------------------------------------------


def test_the_wheel_holds_both_typed_packages_the_command_and_the_dependency_ranges(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as wheel:
        names = wheel.namelist()
        info = f"blank_vhd-{__version__}.dist-info"
        metadata = wheel.read(f"{info}/METADATA").decode()
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    assert dist.wheel.name == f"blank_vhd-{__version__}-py3-none-any.whl"
    assert {name.split("/")[0] for name in names} == {*PACKAGES, info}
    # Every module of both packages (a subpackage missing from pyproject's explicit list would be absent).
    modules = {name for name in source_files() if name.startswith(("vhdcore/", "providers/"))}
    assert modules <= set(names), sorted(modules - set(names))
    assert {"vhdcore/py.typed", "providers/py.typed", "providers/provider.py"} <= modules
    assert re.search(r"^vhdcore = vhdcore\.cli:main$", entry_points, re.M), entry_points
    assert re.search(r"^pulumi-resource-blank-vhd = providers\.plugin:main$", entry_points, re.M), entry_points
    assert "providers/plugin/schema.json" in names
    requires = set(re.findall(r"^Requires-Dist: (.+)$", metadata, re.M))
    assert "pulumi<4,>=3.158.0" in requires, requires
    assert any(r.startswith("pulumi-azure-native") and "extra == \"azure\"" in r for r in requires), requires
    assert re.search(r"^Requires-Python: >=3.11$", metadata, re.M)


def test_the_sdist_holds_the_packages_and_not_the_repositorys_own_tools(dist: Dist) -> None:
    with tarfile.open(dist.sdist) as sdist:
        names = [name.split("/", 1)[1] for name in sdist.getnames() if "/" in name]
    assert {"pyproject.toml", "README.md", "vhdcore/format/footer.py", "vhdcore/py.typed", "providers/py.typed",
            "providers/provider.py"} <= set(names)
    shipped = [name for name in names if name.startswith(NOT_SHIPPED)]
    assert shipped == [], shipped


# --- the installed wheel ----------------------------------------------------------------------------------


def test_the_installed_command_and_packages_work_from_outside_the_repository(installed: Path, tmp_path: Path) -> None:
    vhdcore = installed / "bin" / "vhdcore"
    assert run([vhdcore, "--version"], cwd=tmp_path).stdout.strip() == f"vhdcore {__version__}"
    run([vhdcore, "create", "disk.vhd", "--size", "1GiB"], cwd=tmp_path)
    report = json.loads(run([vhdcore, "inspect", "disk.vhd", "--json"], cwd=tmp_path).stdout)
    assert report["azure_ready"] is True and (tmp_path / "disk.vhd").stat().st_size == GiB + 512
    same = run([installed / "bin" / "python", "-m", "vhdcore", "--version"], cwd=tmp_path).stdout
    assert same.strip() == f"vhdcore {__version__}"

    where = run([installed / "bin" / "python", "-c", "import providers, vhdcore; print(providers.__file__); "
                 "print(vhdcore.__file__)"], cwd=tmp_path).stdout.split()
    site = site_packages(installed)
    assert [Path(p).parent.parent for p in where] == [site, site], where
    assert (site / "providers" / "py.typed").is_file() and (site / "vhdcore" / "py.typed").is_file()


def test_the_installed_plugin_starts_and_serves_its_schema(installed: Path, tmp_path: Path) -> None:
    """The console script the engine runs: it prints the port it serves on (the plugin handshake) and answers a
    provider's requests; GetSchema is the checked-in schema."""
    import grpc
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

    # The engine's address comes first; nothing is sent to it unless a resource has something to say.
    plugin = subprocess.Popen([installed / "bin" / "pulumi-resource-blank-vhd", "127.0.0.1:9"], cwd=tmp_path,
                              env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert plugin.stdout is not None
        port = int(plugin.stdout.readline().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            schema = json.loads(stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=60).schema)
            info = stub.GetPluginInfo(empty_pb2.Empty(), timeout=60)
    finally:
        plugin.terminate()
        plugin.wait(timeout=60)
    assert schema == json.loads((ROOT / "providers" / "plugin" / "schema.json").read_text())
    assert info.version == __version__


CORRECT_PROGRAM = '''
import pulumi
from providers import BlankVhd, BlankVhdArgs, BlobContainer

container = BlobContainer("container", container_name="vhds", connection_string="UseDevelopmentStorage=true")
first = BlankVhd("first", BlankVhdArgs(size_gb=1, container_name=container.container_name,
                                      connection_string="UseDevelopmentStorage=true"))
second = BlankVhd("second", opts=pulumi.ResourceOptions(depends_on=[container]), size_gb=2,
                  container_name="vhds", storage_account_name="acct", metadata={"owner": "me"})
found = BlankVhd.get("found", first.url)
url: pulumi.Output[str] = second.url
size: pulumi.Output[int] = found.size_bytes
ready: pulumi.Output[bool] = found.azure_ready
reveal_type(first.url)
pulumi.export("url", url)
'''

WRONG_PROGRAM = '''
from providers import BlankVhd

BlankVhd("misspelt", size_gb=10, container_nme="vhds")
BlankVhd("wrong-type", size_gb="ten", container_name="vhds")
'''


def test_mypy_strict_types_a_users_program_and_names_a_misspelt_keyword(installed: Path, tmp_path: Path) -> None:
    """Through the installed copy only (PEP 561: py.typed), as a user's mypy sees it; the README's minimal project
    (examples/quickstart) passes too."""
    (tmp_path / "correct.py").write_text(CORRECT_PROGRAM)
    (tmp_path / "wrong.py").write_text(WRONG_PROGRAM)
    shutil.copy(QUICKSTART / "__main__.py", tmp_path / "quickstart.py")
    mypy = [sys.executable, "-m", "mypy", "--strict", "--python-executable", installed / "bin" / "python",
            "--cache-dir", tmp_path / "cache", "--no-error-summary"]
    correct = run([*mypy, "correct.py", "quickstart.py"], cwd=tmp_path, ok=False)
    assert correct.returncode == 0, correct.stdout
    assert re.search(r'Revealed type is "pulumi\.output\.Output\[(builtins\.)?str\]"', correct.stdout), correct.stdout

    wrong = run([*mypy, "wrong.py"], cwd=tmp_path, ok=False)
    assert wrong.returncode == 1, wrong.stdout
    errors = [line for line in wrong.stdout.splitlines() if ": error:" in line]
    assert any(line.startswith("wrong.py:4:") and '"container_nme"' in line for line in errors), errors
    assert any(line.startswith("wrong.py:5:") for line in errors), errors


def test_the_oldest_setuptools_the_build_system_allows_builds_the_wheel(source: Path, tmp_path: Path) -> None:
    (requirement,) = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    oldest = re.fullmatch(r"setuptools>=([0-9.]+)", requirement)
    assert oldest, requirement
    python = make_venv(tmp_path / "venv", f"setuptools=={oldest[1]}")
    tree = shutil.copytree(source, tmp_path / "tree")  # the build writes into the tree it builds
    run([python, "-m", "pip", "wheel", "-q", "--no-build-isolation", "--no-deps", "-w", tmp_path / "out", tree],
        cwd=tmp_path)
    assert [w.name for w in (tmp_path / "out").glob("*.whl")] == [f"blank_vhd-{__version__}-py3-none-any.whl"]


def test_pip_installs_the_source_tree_and_a_git_url(source: Path, tmp_path: Path) -> None:
    """`pip install .` in a checkout, and `pip install git+<url>` (here a file:// clone), in a fresh venv."""
    repo = tmp_path / "repo"
    shutil.copytree(source, repo)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        run([*git, *step], cwd=repo)
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for spec in (".", f"git+{repo.as_uri()}"):
        run([python, "-m", "pip", "install", "-q", NO_COMPILE, spec, "-c", ROOT / "requirements.txt"], cwd=repo)
        version = run([venv / "bin" / "vhdcore", "--version"], cwd=elsewhere).stdout.strip()
        assert version == f"vhdcore {__version__}", spec
        where = run([python, "-c", "import providers; print(providers.__file__)"], cwd=elsewhere).stdout.strip()
        assert Path(where).parent.parent == site_packages(venv), (spec, where)
        run([python, "-m", "pip", "uninstall", "-q", "-y", "blank-vhd"], cwd=elsewhere)


# --- a new Pulumi project that installed the wheel --------------------------------------------------------


class Project:
    """A temporary Pulumi project outside the repository: the README's minimal project (examples/quickstart, its
    Pulumi.yaml and __main__.py as they are), whose `venv` is the virtualenv holding the installed wheel; its
    programs run in that virtualenv's python (tests/installed_program.py), through the real CLI."""

    def __init__(self, folder: Path, venv: Path, azurite: Azurite) -> None:
        self.folder, self.venv, self.azurite = folder, folder / "venv", azurite
        self.scan = SecretScan()
        self.scan.secret(ACCOUNT_KEY)
        folder.mkdir(parents=True)
        for name in ("Pulumi.yaml", "__main__.py"):
            shutil.copy(QUICKSTART / name, folder / name)
        assert "virtualenv: venv" in (folder / "Pulumi.yaml").read_text()
        (folder / "venv").symlink_to(venv, target_is_directory=True)
        shutil.copy(Path(__file__).parent / "installed_program.py", folder / "installed_program.py")
        (folder / "state").mkdir()
        self.env = clean_env(
            PATH=f"{PULUMI_BIN}{os.pathsep}{venv / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin",
            PULUMI_HOME=str(folder / "home"),
            PULUMI_BACKEND_URL=(folder / "state").as_uri(),
            PULUMI_CONFIG_PASSPHRASE="installed-wheel-test",
            PULUMI_SKIP_UPDATE_CHECK="1",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="1",
        )

    def run(self, stack: str, action: str, program: str = "disks", *, ok: bool = True,
            **config: Any) -> dict[str, Any]:
        secret = {"storageConnectionString": self.azurite.connection_string}
        spec = {"stack": stack, "action": action, "program": program, "config": config, "secret_config": secret}
        done = run([self.venv / "bin" / "python", "installed_program.py", json.dumps(spec)], cwd=self.folder,
                   env=self.env, ok=False)
        self.scan.saw(f"{action} {stack}", done.stdout + done.stderr)
        if not ok:
            assert done.returncode == 3, (done.returncode, done.stdout, done.stderr)
            return {"error": done.stderr}
        assert done.returncode == 0, (done.stdout, done.stderr)
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    def assert_no_secret_shown(self) -> None:
        """Nothing the runs printed, and no state or stack config file, holds a piece of the account key."""
        self.scan.saw_files(self.folder.rglob("*.json"))
        self.scan.saw_files(self.folder.glob("Pulumi.*.yaml"))
        self.scan.assert_clean()


def only_from(venv: Path, outputs: dict[str, Any]) -> None:
    site = site_packages(venv).resolve()
    assert Path(outputs["providers_file"]).resolve().parent.parent == site, outputs["providers_file"]
    assert Path(outputs["vhdcore_file"]).resolve().parent.parent == site, outputs["vhdcore_file"]
    assert outputs["foreign_modules"] == [], outputs["foreign_modules"]


def one_line_error(text: str, needle: str) -> None:
    """The CLI's report of a provider failure: the sentence, once per line it appears on, no traceback."""
    assert "Traceback" not in without_sdk_cancellation(text), text
    lines = [line for line in text.splitlines() if needle in line]
    assert lines, text
    assert all(line.count(needle) == 1 for line in lines), lines


@pytest.fixture
def fresh_container(azurite: Azurite) -> Iterator[str]:
    name = f"pkg-{uuid.uuid4().hex[:8]}"
    yield name
    service = blob_service(azurite.connection_string)
    if name in {c.name for c in service.list_containers()}:
        service.delete_container(name)


@pytest.mark.e2e
def test_a_new_project_with_the_installed_wheel_creates_grows_gets_and_destroys_a_disk(
    installed: Path, azurite: Azurite, tmp_path: Path, fresh_container: str
) -> None:
    """The README's minimal project (examples/quickstart) as it is: a container, a disk and, with imagePath set, a
    disk from an image, the account in the secret stack config storageConnectionString."""
    project = Project(tmp_path / "my-disks", installed, azurite)
    target = StorageTarget(connection_string=azurite.connection_string)
    image = bytearray(3 * 1024 * 1024)
    image[:5], image[-5:] = b"first", b"last."
    (project.folder / "disk.raw").write_bytes(image)
    made = project.run("disks", "up", "quickstart", containerName=fresh_container, sizeGb=1, imagePath="disk.raw")
    only_from(installed, made)
    assert made["size_bytes"] == GiB
    uploaded = inspect_blank_vhd(target, container=fresh_container, name=made["image_blob_name"])
    assert uploaded is not None and uploaded.report.azure_ready and uploaded.blob_length == len(image) + 512
    assert made["image_url"].endswith(f"/{fresh_container}/{made['image_blob_name']}")

    grown = project.run("disks", "up", "quickstart", containerName=fresh_container, sizeGb=2, imagePath="disk.raw")
    assert grown["unique_id"] == made["unique_id"] and grown["size_bytes"] == 2 * GiB
    assert grown["url"] == made["url"] and grown["image_url"] == made["image_url"]
    found = inspect_blank_vhd(target, container=fresh_container, name=made["blob_name"])
    assert found is not None and found.report.azure_ready and found.blob_length == 2 * GiB + 512

    # A second stack reads the disk by its URL; its credentials come from its own stack config.
    got = project.run("reader", "up", "get", diskUrl=made["url"])
    only_from(installed, got)
    assert {k: got[k] for k in ("url", "unique_id", "size_bytes", "blob_name")} == {
        "url": made["url"], "unique_id": made["unique_id"], "size_bytes": 2 * GiB, "blob_name": made["blob_name"]}
    missing = made["url"].replace(made["blob_name"], "no-such-disk.vhd")
    failed = project.run("reader-missing", "up", "get", ok=False, diskUrl=missing)
    one_line_error(failed["error"], "BlankVhd: no blob 'no-such-disk.vhd'")
    project.run("reader-missing", "destroy", "get", diskUrl=missing)
    project.run("reader", "destroy", "get", diskUrl=made["url"])
    assert inspect_blank_vhd(target, container=fresh_container, name=made["blob_name"]) is not None  # only read

    project.run("disks", "destroy", "quickstart", containerName=fresh_container, sizeGb=2, imagePath="disk.raw")
    service = blob_service(azurite.connection_string)
    assert fresh_container not in {c.name for c in service.list_containers()}
    project.assert_no_secret_shown()


@pytest.mark.e2e
def test_the_oldest_sdk_the_metadata_allows_runs_the_provider_end_to_end(
    oldest: Path, azurite: Azurite, tmp_path: Path, fresh_container: str
) -> None:
    """pulumi and the Azure libraries at their lower bounds in pyproject.toml, with the pinned CLI."""
    versions = run([oldest / "bin" / "python", "-m", "pip", "list", "--format", "json"], cwd=tmp_path).stdout
    found_versions = {p["name"].lower(): p["version"] for p in json.loads(versions)}
    for name, version in lower_bounds().items():
        assert found_versions[name] == version, (name, found_versions.get(name))

    # The plugin needs a newer SDK than the dynamic resources: it says so in one line instead of a traceback.
    refused = run([oldest / "bin" / "pulumi-resource-blank-vhd", "127.0.0.1:9"], cwd=tmp_path, ok=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert refused.stderr.count("\n") == 1 and "needs 3.171.0 or newer" in refused.stderr, refused.stderr

    project = Project(tmp_path / "my-disks", oldest, azurite)
    made = project.run("disks", "up", containerName=fresh_container, sizeGb=1)
    only_from(oldest, made)
    grown = project.run("disks", "up", containerName=fresh_container, sizeGb=2)
    assert grown["unique_id"] == made["unique_id"] and grown["size_bytes"] == 2 * GiB
    target = StorageTarget(connection_string=azurite.connection_string)
    found = inspect_blank_vhd(target, container=fresh_container, name=made["blob_name"])
    assert found is not None and found.report.azure_ready and found.blob_length == 2 * GiB + 512

    # A refusal from the provider is still one line on the old SDK (its server reports exceptions differently).
    taken = create_blank_vhd(target, container=fresh_container, name="taken.vhd", size=GiB)
    failed = project.run("taken", "up", ok=False, containerName=fresh_container, sizeGb=1, blobName="taken.vhd")
    one_line_error(failed["error"], "blob 'taken.vhd' already exists in container")
    again = inspect_blank_vhd(target, container=fresh_container, name="taken.vhd")
    assert again is not None and again.unique_id == taken.unique_id  # left untouched
    project.run("taken", "destroy", containerName=fresh_container, sizeGb=1, blobName="taken.vhd")
    blob_service(azurite.connection_string).get_blob_client(
        fresh_container, "taken.vhd").delete_blob()

    project.run("disks", "destroy", containerName=fresh_container, sizeGb=2)
    service = blob_service(azurite.connection_string)
    assert fresh_container not in {c.name for c in service.list_containers()}
    project.assert_no_secret_shown()
