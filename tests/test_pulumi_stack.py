"""tools/pulumi_stack.py as a person runs it (a subprocess, the real CLI, Azurite): secrets stored encrypted,
config checked against Pulumi.yaml before anything is saved, a failing run leaving the config as it was and
printing the engine's own errors, and the pass-through flags. Every output is scanned for the secrets."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from azurite_server import ACCOUNT_KEY, Azurite
from pulumi_stack import ROOT, stack

from tests.secrets_scan import SecretScan

pytestmark = pytest.mark.e2e


@dataclass
class Wrapper:
    azurite: Azurite
    name: str = field(default_factory=lambda: f"wrap-{uuid.uuid4().hex[:8]}")
    container: str = field(default_factory=lambda: f"wrap-{uuid.uuid4().hex[:8]}")
    scan: SecretScan = field(default_factory=SecretScan)

    @property
    def config_file(self) -> str:
        path = ROOT / f"Pulumi.{self.name}.yaml"
        return path.read_text() if path.exists() else ""

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_STORAGE_")}
        done = subprocess.run([sys.executable, "tools/pulumi_stack.py", *args, "--stack", self.name], cwd=ROOT,
                              capture_output=True, text=True, env=clean, timeout=300)
        self.scan.saw(f"pulumi_stack.py {args[0]}", done.stdout + done.stderr)
        self.scan.saw_file(ROOT / f"Pulumi.{self.name}.yaml")
        return done

    def secret_args(self) -> list[str]:
        return ["--secret", f"storageConnectionString={self.azurite.connection_string}",
                "--config", f"containerName={self.container}"]


@pytest.fixture
def wrapper(azurite: Azurite) -> Iterator[Wrapper]:
    run = Wrapper(azurite)
    run.scan.secret(ACCOUNT_KEY)
    yield run
    run("destroy")
    stack(run.name).workspace.remove_stack(run.name)
    run.scan.assert_clean()


def test_secret_is_stored_encrypted_and_a_credential_in_clear_is_refused(wrapper: Wrapper) -> None:
    refused = wrapper("preview", "--config", f"storageConnectionString={wrapper.azurite.connection_string}")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr == (f"pulumi_stack: error: --config storageConnectionString would store a credential in "
                              f"clear in Pulumi.{wrapper.name}.yaml; use --secret storageConnectionString=<value> "
                              "(stored encrypted).\n")
    assert "storageConnectionString" not in wrapper.config_file

    done = wrapper("up", *wrapper.secret_args())
    assert done.returncode == 0, done.stderr
    assert "storageConnectionString:\n    secure: " in wrapper.config_file


def test_config_is_checked_against_pulumi_yaml_before_it_is_saved(wrapper: Wrapper) -> None:
    assert wrapper("up", *wrapper.secret_args()).returncode == 0
    before = wrapper.config_file

    typo = wrapper("preview", "--config", "sizeGB=2")
    assert typo.returncode == 2 and typo.stdout == ""
    assert typo.stderr.startswith("pulumi_stack: error: --config sizeGB: Pulumi.yaml declares no config key 'sizeGB'; "
                                  "did you mean 'sizeGb'? the keys are target, sizeGb,")
    wrong = wrapper("preview", "--config", "sizeGb=two")
    assert wrong.returncode == 2 and "Pulumi.yaml declares sizeGb as type integer" in wrong.stderr
    flag = wrapper("preview", "--config", "adoptExisting=yes")
    assert flag.returncode == 2 and "declares adoptExisting as type boolean; give true or false" in flag.stderr
    assert wrapper.config_file == before

    again = wrapper("preview", "--expect-no-changes")
    assert again.returncode == 0, again.stderr


def test_a_failing_run_prints_the_engines_error_and_keeps_the_config(wrapper: Wrapper) -> None:
    assert wrapper("up", *wrapper.secret_args()).returncode == 0
    before = wrapper.config_file

    failed = wrapper("up", "--config", "containerName=Bad_Name")
    assert failed.returncode == 1
    lines = failed.stderr.splitlines()
    assert lines[0].startswith("error: ") and "container name 'Bad_Name' may contain only lowercase" in lines[0]
    assert not any("Resource monitor has terminated" in line or line == "error: update failed" for line in lines)
    assert "see the output above" not in failed.stderr
    assert lines[-1] == f"pulumi_stack: the config given with this run was not kept; Pulumi.{wrapper.name}.yaml is " \
        "as before."
    assert wrapper.config_file == before

    assert wrapper("up", "--expect-no-changes").returncode == 0  # the stack still works as it was


def test_flags_pass_through_to_the_engine(wrapper: Wrapper) -> None:
    assert wrapper("up", *wrapper.secret_args()).returncode == 0

    replace = wrapper("preview", "--replace", "vhd-0", "--diff")
    assert replace.returncode == 0 and "+-1 to replace" in replace.stdout, replace.stdout
    targeted = wrapper("up", "--target", "vhd-0", "--refresh", "--expect-no-changes")
    assert targeted.returncode == 0, targeted.stderr
    typo = wrapper("up", "--target", "vhd0")
    assert typo.returncode == 2 and "--target vhd0: the stack has no resource of that name; did you mean 'vhd-0'?" \
        in typo.stderr
    changed = wrapper("up", "--config", "sizeGb=2", "--expect-no-changes")
    assert changed.returncode == 1 and "error: no changes were expected" in changed.stderr
    assert "sizeGb" not in wrapper.config_file
    misplaced = wrapper("refresh", "--replace", "vhd-0")
    assert misplaced.returncode == 2 and "--replace does not apply to refresh; it works with up, preview" \
        in misplaced.stderr
