"""`vhdcore container create|delete|list` as a subprocess against Azurite: output in every format, exit codes, and a
delete that takes only an empty container unless --delete-blobs. Every request these commands send carries the
pinned storage API version (the `pinned_version` fixture), which Azurite requires and the SDK's default is not."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from azurite_server import ACCOUNT_KEY, Azurite

from tests.faultproxy import blob_service
from tests.test_blob_cli import vhdcore


@pytest.fixture
def env(azurite: Azurite) -> dict[str, str]:
    return {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}


@pytest.fixture
def names(azurite: Azurite) -> Iterator[list[str]]:
    """Fresh container names sharing a prefix of their own; whatever is left of them is deleted afterwards."""
    prefix = f"cli-{uuid.uuid4().hex[:8]}"
    made = [f"{prefix}-{i}" for i in range(3)]
    yield made
    service = blob_service(azurite.connection_string)
    for name in made:
        container = service.get_container_client(name)
        if container.exists():
            container.delete_container()


def exists(azurite: Azurite, name: str) -> bool:
    return bool(blob_service(azurite.connection_string).get_container_client(name).exists())


def test_create_makes_a_container_once_and_says_so_in_every_format(
    azurite: Azurite, env: dict[str, str], names: list[str]
) -> None:
    first, second, _ = names
    made = vhdcore("container", "create", "-n", first, env=env)
    assert (made.returncode, made.stderr) == (0, "")
    assert made.stdout == f"created container {azurite.endpoint}/{first}\n"
    assert exists(azurite, first)
    again = vhdcore("container", "create", "--name", first, "-o", "json", env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"name": first, "url": f"{azurite.endpoint}/{first}", "created": False}
    table = vhdcore("container", "create", "-n", first, env=env)
    assert table.stdout == f"container {azurite.endpoint}/{first} already exists; left as it is\n"
    tsv = vhdcore("container", "create", "-n", second, "-o", "tsv", env=env)
    assert tsv.stdout == f"{second}\t{azurite.endpoint}/{second}\ttrue\n"


def test_create_takes_the_blob_commands_account_flags(azurite: Azurite, names: list[str]) -> None:
    made = vhdcore("container", "create", "-n", names[0], "--blob-endpoint", azurite.endpoint, "--account-key",
                   ACCOUNT_KEY)
    assert made.returncode == 0, made.stderr
    assert exists(azurite, names[0])
    nowhere = vhdcore("container", "create", "-n", names[1])
    assert nowhere.returncode == 2 and nowhere.stderr.startswith("vhdcore: error: ") and not exists(azurite, names[1])
    bad = vhdcore("container", "create", "-n", "Bad_Name", "--blob-endpoint", azurite.endpoint, "--account-key",
                  ACCOUNT_KEY)
    assert bad.returncode == 2 and "container name 'Bad_Name'" in bad.stderr and bad.stderr.count("\n") == 1


def test_list_shows_the_containers_in_name_order_in_every_format(
    azurite: Azurite, env: dict[str, str], names: list[str]
) -> None:
    for name in reversed(names):
        assert vhdcore("container", "create", "-n", name, env=env).returncode == 0
    prefix = names[0].rsplit("-", 1)[0]
    shown = vhdcore("container", "list", "--prefix", prefix, "-o", "json", env=env)
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    assert [row["name"] for row in rows] == names
    assert [set(row) for row in rows] == [{"name", "url", "last_modified", "lease_state"}] * 3
    assert rows[0]["url"] == f"{azurite.endpoint}/{names[0]}" and rows[0]["lease_state"] == "available"
    assert rows[0]["last_modified"].endswith("Z")
    tsv = vhdcore("container", "list", "--prefix", prefix, "-o", "tsv", env=env).stdout.splitlines()
    assert [line.split("\t") for line in tsv] == [[row["name"], row["url"], row["last_modified"], "available"]
                                                  for row in rows]
    table = vhdcore("container", "list", "--prefix", prefix, env=env).stdout.splitlines()
    assert table[0].split() == ["Name", "Lease", "State", "Last", "Modified"] and set(table[1]) <= {"-", " "}
    assert [line.split()[0] for line in table[2:]] == names
    one = vhdcore("container", "list", "--prefix", prefix, "--num-results", "1", "-o", "json", env=env)
    assert [row["name"] for row in json.loads(one.stdout)] == names[:1] and one.returncode == 0
    assert one.stderr == ("vhdcore: note: the account holds more containers than the 1 listed; raise --num-results or "
                          "narrow --prefix to see them.\n")
    none = vhdcore("container", "list", "--prefix", f"{prefix}-none", "-o", "json", env=env)
    assert (none.returncode, json.loads(none.stdout), none.stderr) == (0, [], "")
    zero = vhdcore("container", "list", "--num-results", "0", env=env)
    assert zero.returncode == 2 and "--num-results 0 must be at least 1" in zero.stderr


def test_delete_takes_an_empty_container_and_refuses_one_holding_any_blob(
    azurite: Azurite, env: dict[str, str], names: list[str]
) -> None:
    empty, full, staged = names
    for name in names:
        assert vhdcore("container", "create", "-n", name, env=env).returncode == 0
    service = blob_service(azurite.connection_string)
    data = bytes(range(256)) * 16
    service.get_blob_client(full, "someone-elses.vhd").upload_blob(data)
    # A block blob still being uploaded: no committed blob shows in a plain listing, but it is someone's data.
    service.get_blob_client(staged, "upload-in-progress").stage_block("YmxvY2sx", b"staged bytes")

    gone = vhdcore("container", "delete", "-n", empty, env=env)
    assert (gone.returncode, gone.stdout) == (0, f"deleted container {azurite.endpoint}/{empty}\n"), gone.stderr
    assert not exists(azurite, empty)

    for name, blob in ((full, "someone-elses.vhd"), (staged, "upload-in-progress")):
        kept = vhdcore("container", "delete", "-n", name, env=env)
        assert (kept.returncode, kept.stdout) == (1, ""), kept.stderr
        assert kept.stderr == (
            f"vhdcore: error: container '{name}' in {azurite.endpoint} is not empty (it holds '{blob}', perhaps among "
            "others) and was left as it is; delete its blobs first, or delete it with every blob in it (`vhdcore "
            "container delete --delete-blobs`, delete_blobs=True).\n")
        assert exists(azurite, name)
    assert service.get_blob_client(full, "someone-elses.vhd").download_blob().readall() == data

    forced = vhdcore("container", "delete", "-n", full, "--delete-blobs", "-o", "json", env=env)
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout) == {"name": full, "url": f"{azurite.endpoint}/{full}", "deleted": True}
    assert not exists(azurite, full)

    missing = vhdcore("container", "delete", "-n", empty, "-o", "tsv", env=env)
    assert (missing.returncode, missing.stdout) == (0, f"{empty}\t{azurite.endpoint}/{empty}\tfalse\n")
    assert vhdcore("container", "delete", "-n", staged, env=env).returncode == 1  # still refused
    assert exists(azurite, staged)


def test_a_leased_container_is_refused_and_kept(azurite: Azurite, env: dict[str, str], names: list[str]) -> None:
    assert vhdcore("container", "create", "-n", names[0], env=env).returncode == 0
    lease = blob_service(azurite.connection_string).get_container_client(names[0]).acquire_lease(-1)
    try:
        for extra in ([], ["--delete-blobs"]):
            refused = vhdcore("container", "delete", "-n", names[0], *extra, env=env)
            assert refused.returncode == 1 and "active lease" in refused.stderr and refused.stderr.count("\n") == 1
            assert exists(azurite, names[0])
    finally:
        lease.release()


def test_a_disk_goes_into_a_container_the_command_made(azurite: Azurite, env: dict[str, str], names: list[str]) -> None:
    missing = vhdcore("blob", "create", "-c", names[0], "-n", "d.vhd", "--size", "1MiB", env=env)
    assert missing.returncode == 1
    assert missing.stderr == (
        f"vhdcore: error: container '{names[0]}' does not exist in {azurite.endpoint}; create it first, with `vhdcore "
        f"container create -n {names[0]} --blob-endpoint {azurite.endpoint}` (credentials as for `vhdcore blob`) or, "
        "in a Pulumi program, a BlobContainer whose container_name output the disk takes.\n")
    assert vhdcore("container", "create", "-n", names[0], env=env).returncode == 0
    made = vhdcore("blob", "create", "-c", names[0], "-n", "d.vhd", "--size", "1MiB", env=env)
    assert made.returncode == 0, made.stderr


@pytest.mark.parametrize("command", [["container"], ["container", "create"], ["container", "delete"],
                                     ["container", "list"]])
def test_help_names_the_account_flags_and_the_exit_codes(command: list[str]) -> None:
    shown = vhdcore(*command, "--help")
    assert shown.returncode == 0, shown.stderr
    assert "AZURE_STORAGE_CONNECTION_STRING" in shown.stdout and "\n  130 " in shown.stdout
    if command != ["container"]:
        assert "--blob-endpoint URL" in shown.stdout and "--sas-token" in shown.stdout
