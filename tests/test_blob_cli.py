"""`python -m vhdcore blob ...` as a subprocess against Azurite: output, JSON shape, exit codes."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from azurite_server import ACCOUNT, ACCOUNT_KEY, Azurite

from tests.conftest import blob_service
from tests.secrets_scan import SecretScan
from vhdcore.format.images.report import FACTS as IMAGE_FACTS

ROOT = Path(__file__).resolve().parent.parent
UID = "00112233445566778899aabbccddeeff"


def vhdcore(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "VHDCORE_"))}
    return subprocess.run([sys.executable, "-m", "vhdcore", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**clean, **(env or {})}, timeout=120)


@pytest.fixture
def env(azurite: Azurite) -> dict[str, str]:
    return {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}


def blob(container: str, name: str, *more: str) -> list[str]:
    return ["--container", container, "--name", name, *more]


def test_create_inspect_grow_delete(env: dict[str, str], container: str, tmp_path: Path) -> None:
    made = vhdcore("blob", "create", *blob(container, "d.vhd", "--size", "1GiB", "--unique-id", UID,
                                            "--timestamp", "2024-01-01T00:00:00Z", "--metadata", "owner=a"), env=env)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("created http://127.0.0.1:") and f"unique id {UID}" in made.stdout

    shown = vhdcore("blob", "inspect", *blob(container, "d.vhd", "--json"), env=env)
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    vhdcore("create", str(tmp_path / "local.vhd"), "--size", "1GiB")
    local = json.loads(vhdcore("inspect", str(tmp_path / "local.vhd"), "--json").stdout)
    # The local shape (less the file read as an image) plus where and how long.
    assert set(doc) == set(local) - set(IMAGE_FACTS) | {"url", "blob_length", "recorded_unique_id"}
    assert doc["recorded_unique_id"] == UID  # the metadata's, which `blob delete --unique-id` takes
    assert (doc["unique_id"], doc["current_size"], doc["blob_length"]) == (UID, 1 << 30, (1 << 30) + 512)
    assert doc["azure_ready"] is True and doc["problems"] == [] and doc["url"].endswith(f"/{container}/d.vhd")
    table = vhdcore("blob", "inspect", *blob(container, "d.vhd"), env=env)
    assert table.returncode == 0 and "azure_ready" in table.stdout and "problems" in table.stdout

    grown = vhdcore("blob", "grow", *blob(container, "d.vhd", "--size", "2GiB", "--unique-id", UID, "--json"), env=env)
    assert grown.returncode == 0, grown.stderr
    assert json.loads(grown.stdout)["size"] == 2 << 30

    gone = vhdcore("blob", "delete", *blob(container, "d.vhd", "--unique-id", UID), env=env)
    assert gone.returncode == 0 and gone.stdout.startswith("deleted ")
    again = vhdcore("blob", "delete", *blob(container, "d.vhd"), env=env)
    assert again.returncode == 0 and "does not exist; nothing to delete" in again.stdout


def test_credentials_by_flags(azurite: Azurite, container: str) -> None:
    flags = ["--account-url", azurite.endpoint, "--account-key", ACCOUNT_KEY]
    made = vhdcore("blob", "create", *blob(container, "flags.vhd", "--size", "1MiB", *flags))
    assert made.returncode == 0, made.stderr
    named = ["--account-url", azurite.endpoint, "--account-name", ACCOUNT, "--account-key", ACCOUNT_KEY]
    assert vhdcore("blob", "inspect", *blob(container, "flags.vhd", *named)).returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["inspect", "--name", "x"], "the following arguments are required: --container-name/-c/--container"),
        (["create", "--container", "vhds", "--name", "x"], "required: --size"),
        (["create", "--container", "vhds", "--name", "x", "--size", "1.5GiB"], "is fractional"),
        (["create", "--container", "vhds", "--name", "x", "--size", "10GB"], "ambiguous decimal unit"),
        (["create", "--container", "Bad", "--name", "x", "--size", "1GiB"], "container name 'Bad'"),
        (["create", "--container", "vhds", "--name", "x.", "--size", "1GiB"], "blob name 'x.'"),
        (["create", "--container", "vhds", "--name", "x", "--size", "1GiB", "--metadata", "novalue"], "KEY=VALUE"),
        (["grow", "--container", "vhds", "--name", "x", "--size", "1GiB", "--unique-id", "abc"], "32 hex digits"),
        (["inspect", "--container", "vhds", "--name", "x", "--connection-string", "UseDevelopmentStorage=true",
          "--account-key", ACCOUNT_KEY], "cannot be given with it"),
        (["inspect", "--container", "vhds", "--name", "x"], "no storage account given"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str], message: str) -> None:
    run = vhdcore("blob", *args)
    assert run.returncode == 2 and run.stdout == "", run.stderr
    assert message in run.stderr and run.stderr.count("\n") == 1 and ACCOUNT_KEY not in run.stderr


def test_refusals_and_problems_exit_1(env: dict[str, str], azurite: Azurite, container: str) -> None:
    service = blob_service(azurite.connection_string)
    service.get_blob_client(container, "footerless").create_page_blob(1024)
    assert vhdcore("blob", "create", *blob(container, "d.vhd", "--size", "2MiB"), env=env).returncode == 0
    cases: list[tuple[list[str], str]] = [
        (["create", *blob(container, "d.vhd", "--size", "2MiB")], "already exists and was left untouched"),
        (["grow", *blob(container, "d.vhd", "--size", "1MiB")], "would shrink it"),
        (["delete", *blob(container, "footerless")], "carries no vhdcore marker"),
        (["delete", *blob(container, "d.vhd")], "was not deleted without its unique id"),
        (["inspect", *blob(container, "missing")], "vhdcore: error: blob "),
        (["create", *blob("no-such-container", "d.vhd", "--size", "1MiB")], "container 'no-such-container' does not"),
    ]
    for args, message in cases:
        run = vhdcore("blob", *args, env=env)
        assert run.returncode == 1 and message in run.stderr and run.stderr.count("\n") == 1, (args, run.stderr)
    invalid = vhdcore("blob", "inspect", *blob(container, "footerless", "--json"), env=env)
    assert invalid.returncode == 1 and json.loads(invalid.stdout)["azure_ready"] is False


def test_wrong_key_exits_1_without_showing_it(azurite: Azurite, container: str) -> None:
    wrong = "A" * 86 + "=="
    run = vhdcore("blob", "inspect", *blob(container, "x"), env={
        "AZURE_STORAGE_ACCOUNT_URL": azurite.endpoint, "AZURE_STORAGE_KEY": wrong})
    assert run.returncode == 1 and "refused the credentials" in run.stderr and wrong not in run.stderr


def test_the_cli_imports_azure_only_for_blob_commands() -> None:
    code = ("import sys, vhdcore.cli.command as c; c.build_parser().parse_args(['blob', 'inspect', '--container', "
            "'abc', '--name', 'x']); print(sorted(m for m in sys.modules if m.startswith('azure')))")
    run: Any = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.stdout.strip() == "[]", run.stderr


def test_az_names_and_the_older_aliases_reach_the_same_blob(azurite: Azurite, container: str) -> None:
    az = ["-c", container, "-n", "az.vhd", "--blob-endpoint", azurite.endpoint, "--account-key", ACCOUNT_KEY]
    made = vhdcore("blob", "create", *az, "--size", "1MiB", "--unique-id", UID, "-o", "json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["unique_id"] == UID
    long_az = ["--container-name", container, "--name", "az.vhd", "--blob-endpoint", azurite.endpoint,
               "--account-key", ACCOUNT_KEY]
    old = ["--container", container, "--name", "az.vhd", "--account-url", azurite.endpoint,
           "--account-key", ACCOUNT_KEY]
    docs = []
    for flags in (az, long_az, old):
        for output in (["--output", "json"], ["-o", "json"], ["--json"]):
            run = vhdcore("blob", "inspect", *flags, *output)
            assert run.returncode == 0, (flags, output, run.stderr)
            docs.append(json.loads(run.stdout))
    assert all(doc == docs[0] for doc in docs) and docs[0]["unique_id"] == UID

    tsv = vhdcore("blob", "inspect", *az, "-o", "tsv")
    assert tsv.returncode == 0 and tsv.stdout.count("\n") == 1, tsv.stdout
    cells = tsv.stdout.rstrip("\n").split("\t")
    assert len(cells) == len(docs[0])
    by_key = dict(zip(docs[0], cells, strict=True))
    assert by_key["unique_id"] == UID and by_key["azure_ready"] == "true" and by_key["problems"] == "0"
    assert by_key["url"] == docs[0]["url"] and by_key["current_size"] == str(1 << 20)

    table = vhdcore("blob", "inspect", *az, "-o", "table")
    assert table.returncode == 0 and table.stdout == vhdcore("blob", "inspect", *az).stdout
    assert not table.stdout.lstrip().startswith("{")

    gone = vhdcore("blob", "delete", *az, "--unique-id", UID, "-o", "tsv")
    assert (gone.returncode, gone.stdout) == (0, f"{docs[0]['url']}\ttrue\n"), gone.stderr


def test_output_rejects_an_unknown_format(env: dict[str, str], container: str) -> None:
    run = vhdcore("blob", "inspect", *blob(container, "x", "-o", "yaml"), env=env)
    assert run.returncode == 2 and "invalid choice" in run.stderr and "yaml" in run.stderr
    assert run.stderr.count("\n") == 1


def test_auth_mode_key_needs_a_key_and_uses_the_variables(azurite: Azurite, container: str) -> None:
    endpoint = ["--blob-endpoint", azurite.endpoint]
    missing = vhdcore("blob", "inspect", *blob(container, "x", *endpoint, "--auth-mode", "key"))
    assert missing.returncode == 2 and "--auth-mode key needs an account key" in missing.stderr, missing.stderr
    keyed = {"AZURE_STORAGE_ACCOUNT_URL": azurite.endpoint, "AZURE_STORAGE_KEY": ACCOUNT_KEY}
    with_key = vhdcore("blob", "create", *blob(container, "k.vhd", "--auth-mode", "key", "--size", "1MiB"),
                       env={**keyed, "AZURE_STORAGE_AUTH_MODE": "login"})
    assert with_key.returncode == 0, with_key.stderr


def test_auth_mode_login_ignores_keys_in_the_variables_and_refuses_key_flags(azurite: Azurite, container: str) -> None:
    flag = vhdcore("blob", "inspect", *blob(container, "x", "--blob-endpoint", azurite.endpoint, "--auth-mode", "login",
                                            "--account-key", ACCOUNT_KEY))
    assert flag.returncode == 2 and "--auth-mode login signs in with Entra ID, so --account-key" in flag.stderr
    assert ACCOUNT_KEY not in flag.stderr
    keyed = {"AZURE_STORAGE_ACCOUNT_URL": azurite.endpoint, "AZURE_STORAGE_KEY": ACCOUNT_KEY}
    assert vhdcore("blob", "create", *blob(container, "l.vhd", "--size", "1MiB"), env=keyed).returncode == 0
    # The variable's key is ignored, so Entra ID would be used, which is never sent over plain http.
    login = vhdcore("blob", "inspect", *blob(container, "l.vhd", "--auth-mode", "login"), env=keyed)
    assert login.returncode == 2 and "plain http" in login.stderr and "Entra ID" in login.stderr, login.stderr


def test_a_missing_blob_is_an_error_line_in_every_output_format(env: dict[str, str], container: str) -> None:
    for output in ("table", "json", "tsv"):
        run = vhdcore("blob", "inspect", *blob(container, "missing.vhd", "-o", output), env=env)
        assert (run.returncode, run.stdout) == (1, ""), run
        assert run.stderr.startswith("vhdcore: error: blob http://127.0.0.1:") and run.stderr.count("\n") == 1
        assert run.stderr.rstrip().endswith(f"/{container}/missing.vhd does not exist; check --container-name and "
                                            "--name.")


@pytest.mark.parametrize("command", [[], ["create"], ["inspect"], ["blob"], ["blob", "create"], ["blob", "inspect"],
                                     ["blob", "grow"], ["blob", "delete"]])
def test_help_documents_the_exit_codes(command: list[str]) -> None:
    run = vhdcore(*command, "--help")
    assert run.returncode == 0, run.stderr
    codes = run.stdout[run.stdout.index("exit codes:"):]
    for code in ("0 ", "1 ", "2 ", "130 "):
        assert f"\n  {code}" in codes, (command, codes)


def test_settings_that_cannot_work_are_named_by_flag_or_variable_and_never_shown(
    azurite: Azurite, container: str
) -> None:
    scan = SecretScan()
    bad_key, token, key = f"Not!Base64{secrets.token_hex(12)}!", secrets.token_urlsafe(24), secrets.token_hex(32)
    scan.secret(bad_key, token, key)
    endpoint = azurite.endpoint
    cases: list[tuple[list[str], dict[str, str], str]] = [
        (["--blob-endpoint", endpoint, "--account-key", bad_key], {}, "--account-key: the account key is not base64"),
        ([], {"AZURE_STORAGE_ACCOUNT_URL": endpoint, "AZURE_STORAGE_KEY": bad_key},
         "AZURE_STORAGE_KEY: the account key is not base64"),
        (["--connection-string", f"AccountName=devstoreaccount1;AccountKey={bad_key};BlobEndpoint={endpoint}"], {},
         "--connection-string: the account key in the connection string is not base64"),
        ([], {"AZURE_STORAGE_CONNECTION_STRING": f"AccountName=devstoreaccount1;AccountKey={key};Oops"},
         "AZURE_STORAGE_CONNECTION_STRING: the connection string has a part without '='"),
        (["--blob-endpoint", f"{endpoint}?sv=2022-11-02&sig={token}"], {},
         f"--blob-endpoint: account URL '{endpoint}' carries a query"),
        (["--blob-endpoint", endpoint, "--sas-token", f"sv=2022-11-02&sig={token} x"], {},
         "--sas-token: the SAS token holds a character a URL query cannot"),
        ([], {"AZURE_STORAGE_ACCOUNT_URL": endpoint, "AZURE_STORAGE_SAS_TOKEN": f"sv=2022-11-02&sig={token}\n"},
         "AZURE_STORAGE_SAS_TOKEN: the SAS token holds a character a URL query cannot"),
    ]
    for flags, env, says in cases:
        for command in (["inspect"], ["create", "--size", "1MiB"]):
            run = vhdcore("blob", *command, *blob(container, "s.vhd", *flags), env=env)
            scan.saw(f"{command[0]} {says}", run.stdout + run.stderr)
            assert (run.returncode, run.stdout) == (2, ""), (says, run.stderr)
            assert run.stderr.startswith(f"vhdcore: error: {says}"), run.stderr
            assert run.stderr.count("\n") == 1
    # A key that is well-formed but wrong is refused by storage: exit 1, and still never shown.
    wrong = base64.b64encode(secrets.token_bytes(64)).decode()
    scan.secret(wrong)
    run = vhdcore("blob", "create", *blob(container, "s.vhd", "--size", "1MiB", "--blob-endpoint", endpoint,
                                          "--account-key", wrong))
    scan.saw("refused key", run.stdout + run.stderr)
    assert run.returncode == 1 and "refused the credentials" in run.stderr
    scan.assert_clean()
