"""The plugin tarball (scripts/build-plugin.sh) as a user installs it: `pulumi plugin install resource blank-vhd
<version> --file <tarball>` into a fresh plugin cache, then a stack whose engine may not use plugins from PATH
(PULUMI_IGNORE_AMBIENT_PLUGINS, and tools/bin left off PATH) creates, grows and destroys a disk with it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pulumi
import pytest
from azurite_server import Azurite
from pulumi import automation as auto
from pulumi_stack import ROOT, STATE, pulumi_env

from providers.schema import BLANK_VHD, BLOB_CONTAINER
from tests.faultproxy import blob_service
from tests.secrets_scan import SecretScan
from vhdcore import GiB, StorageTarget, __version__, inspect_blank_vhd

pytestmark = pytest.mark.e2e


def test_the_tarball_installs_with_the_cli_and_runs_a_stack_without_the_repository_on_path(
    azurite: Azurite, tmp_path: Path
) -> None:
    built = subprocess.run(["bash", ROOT / "scripts" / "build-plugin.sh", tmp_path / "dist"], capture_output=True,
                           text=True, timeout=900, check=False)
    assert built.returncode == 0, built.stderr
    tarball = Path(built.stdout.strip().splitlines()[-1])
    assert tarball.name.startswith(f"pulumi-resource-blank-vhd-v{__version__}-") and tarball.suffixes[-2:] == [
        ".tar", ".gz"]

    home = tmp_path / "pulumi-home"
    env = {**pulumi_env(), "PULUMI_HOME": str(home), "PULUMI_IGNORE_AMBIENT_PLUGINS": "1"}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != str(ROOT / "tools" / "bin"))
    cli = str(ROOT / ".tools" / "bin" / "pulumi")
    install = subprocess.run([cli, "plugin", "install", "resource", "blank-vhd", __version__, "--file", tarball],
                             env={**os.environ, **env}, capture_output=True, text=True, timeout=300, check=False)
    assert install.returncode == 0, install.stderr
    installed = home / "plugins" / f"resource-blank-vhd-v{__version__}"
    assert os.access(installed / "pulumi-resource-blank-vhd", os.X_OK)
    # The `disks` extra is in: the plugin serves ManagedDiskImage, whose control plane is azure-mgmt-compute.
    assert (installed / "lib" / "azure" / "mgmt" / "compute" / "__init__.py").is_file()

    container = f"pkg-{os.urandom(4).hex()}"
    wanted = {"size": 1}

    def program() -> None:
        made = pulumi_resource(BLOB_CONTAINER.token, "vhds", containerName=container)
        disk = pulumi_resource(BLANK_VHD.token, "data", pulumi.ResourceOptions(depends_on=[made]),
                               sizeGb=wanted["size"], containerName=container, blobName="data.vhd")
        pulumi.export("url", disk.url)  # type: ignore[attr-defined]

    selected = auto.create_or_select_stack(
        stack_name=f"tarball-{os.urandom(4).hex()}", project_name="blank-vhd-tarball", program=program,
        opts=auto.LocalWorkspaceOptions(work_dir=str(tmp_path), pulumi_home=str(home), env_vars=env,
                                        pulumi_command=auto.PulumiCommand(root=str(ROOT / ".tools"))))
    selected.set_config("blank-vhd:connectionString", auto.ConfigValue(azurite.connection_string, secret=True))
    scan = SecretScan()
    scan.secret(azurite.connection_string.split("AccountKey=")[1].split(";")[0])
    target = StorageTarget(connection_string=azurite.connection_string)
    try:
        up = selected.up(color="never", on_output=lambda line: scan.saw("up", line))
        assert "using pulumi-resource-blank-vhd from $PATH" not in up.stdout  # the installed one, from the cache
        wanted["size"] = 2
        selected.up(color="never", on_output=lambda line: scan.saw("grow", line))
        found = inspect_blank_vhd(target, container=container, name="data.vhd")
        assert found is not None and found.report.azure_ready and found.blob_length == 2 * GiB + 512
        selected.destroy(color="never", on_output=lambda line: scan.saw("destroy", line))
        assert container not in {c.name for c in blob_service(azurite.connection_string).list_containers()}
        scan.saw_files((STATE / "state").rglob(f"{selected.name}.json*"))
    finally:
        selected.destroy(color="never")
        selected.workspace.remove_stack(selected.name)
    scan.assert_clean()


def pulumi_resource(token: str, name: str, opts: pulumi.ResourceOptions | None = None,
                    **inputs: object) -> pulumi.CustomResource:
    return pulumi.CustomResource(token, name, {"url": None, **inputs}, opts)
