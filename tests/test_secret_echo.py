"""A mistyped flag never echoes a secret: every flag that carries one (--account-key, --sas-token,
--connection-string, and --blob-endpoint / --account-url, which may carry a SAS), in every command that takes it
(`blob create|inspect|grow|delete|upload`, `container create|delete|list`), with every one-letter typo (a letter
deleted, inserted, replaced, or two swapped, at each position), as `--flag VALUE` and `--flag=VALUE`. Each run's
stdout and stderr are scanned for the value and for every 12-character piece of it (tests/secrets_scan.py).

A typo that argparse still takes for the flag (an abbreviation: `--account-ke`) runs the command against Azurite
with credentials it refuses, so those runs are scanned too."""

from __future__ import annotations

import base64
import functools
import importlib
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from azurite_server import Azurite

from tests.secrets_scan import SecretScan
from vhdcore.cli import main
from vhdcore.cli.parser import HIDDEN, hide_values, looks_like_credential

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("no_storage_env")


def typos(flag: str) -> list[str]:
    """Every one-letter typo of `flag`: deletions, insertions, substitutions and swaps, at every position."""
    found: set[str] = set()
    for i in range(len(flag) + 1):
        found.add(flag[:i] + "x" + flag[i:])
        if i < len(flag):
            found.add(flag[:i] + flag[i + 1:])
            # The dashes also become the letters of short flags that take a value (-c, -n, -o).
            for letter in ("xcno" if flag[i] == "-" else "xq" if flag[i] != "x" else "q"):
                found.add(flag[:i] + letter + flag[i + 1:])
        if i < len(flag) - 1 and flag[i] != flag[i + 1]:
            found.add(flag[:i] + flag[i + 1] + flag[i] + flag[i + 2:])
    found.discard(flag)
    return sorted(typo for typo in found if typo)


@dataclass(frozen=True)
class Secret:
    flag: str
    value: str
    hidden: tuple[str, ...]  # what no output may show: the value's secret parts
    account: tuple[str, ...]  # the other flags that say where the account is


def credentials(endpoint: str) -> list[Secret]:
    key = base64.b64encode(secrets.token_bytes(64)).decode()  # well-formed, and refused by Azurite
    other_key = base64.b64encode(secrets.token_bytes(64)).decode()
    sas = f"sv=2019-07-07&ss=b&srt=sco&sp=rwdlac&se=2099-01-01T00:00:00Z&sig={secrets.token_urlsafe(32)}"
    url_sas = f"sv=2019-07-07&sr=c&sp=rwdl&sig={secrets.token_urlsafe(32)}"
    connection = f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={other_key};"
    # The public parts of a connection string and of a URL (the account's name and endpoint) appear in every
    # message about the account: what must never appear is their secret part, the key or the SAS.
    return [
        Secret("--account-key", key, (key,), ("--blob-endpoint", endpoint)),
        Secret("--sas-token", sas, (sas,), ("--blob-endpoint", endpoint)),
        Secret("--connection-string", f"{connection}BlobEndpoint={endpoint};", (f"AccountKey={other_key};",), ()),
        Secret("--blob-endpoint", f"{endpoint}?{url_sas}", (url_sas,), ()),
        Secret("--account-url", f"{endpoint}?{url_sas}", (url_sas,), ()),
    ]


@pytest.fixture
def commands(tmp_path: Path, container: str) -> dict[str, list[str]]:
    image = tmp_path / "image.raw"
    image.write_bytes(b"\x01" * 4096 + bytes((1 << 20) - 4096))
    where = ["-c", container, "-n", "never.vhd"]
    return {
        "blob create": ["blob", "create", *where, "--size", "1MiB"],
        "blob inspect": ["blob", "inspect", *where],
        "blob grow": ["blob", "grow", *where, "--size", "2MiB"],
        "blob delete": ["blob", "delete", *where],
        "blob upload": ["blob", "upload", str(image), *where],
        "container create": ["container", "create", "-n", container],
        "container delete": ["container", "delete", "-n", container],
        "container list": ["container", "list"],
    }


@pytest.fixture
def one_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """main() as it is, with its parser built once for the thousands of runs (building it is most of a run that
    fails at parsing; an argparse parser keeps nothing from one parse to the next)."""
    command = importlib.import_module("vhdcore.cli.command")
    monkeypatch.setattr(command, "build_parser", functools.cache(command.build_parser))


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_typos_cover_every_position_and_kind() -> None:
    found = typos("--sas-token")
    assert {"-sas-token", "--sas-toke", "--sastoken", "--sas-tken"} <= set(found)  # deletions
    assert {"x--sas-token", "--sas-tokenx", "--sxas-token"} <= set(found)  # insertions
    assert {"-csas-token", "-osas-token", "--sas-toqen", "x-sas-token"} <= set(found)  # substitutions
    assert {"--ass-token", "--sa-stoken", "--sas-tokne"} <= set(found)  # swaps
    assert "--sas-token" not in found and len(found) > 50


def test_no_mistyped_credential_flag_echoes_its_value(
    azurite: Azurite, commands: dict[str, list[str]], capsys: pytest.CaptureFixture[str], one_parser: None
) -> None:
    scan = SecretScan()
    codes: dict[int, int] = {}
    for secret in credentials(azurite.endpoint):
        scan.secret(*secret.hidden)
        for name, command in commands.items():
            for typo in typos(secret.flag):
                for given in ([typo, secret.value], [f"{typo}={secret.value}"]):
                    # Last, and first (before the command's own arguments, where a positional may take the value).
                    for argv in ([*command, *secret.account, *given], [*command[:2], *given, *command[2:],
                                                                        *secret.account]):
                        code, out, err = run(argv, capsys)
                        scan.saw(f"{name} {typo} ({secret.flag})", out + err)
                        codes[code] = codes.get(code, 0) + 1
                        assert code in (1, 2) and out == "", (name, typo, code)
                        assert err.startswith("vhdcore: error: ") and err.count("\n") == 1, (name, typo)
    scan.assert_clean()
    # Both paths ran: refused at parsing (2), and taken as the flag's abbreviation, then refused by storage (1).
    assert codes[2] > 11000 and codes.get(1, 0) >= len(commands), codes


def test_a_real_process_prints_the_flag_and_hides_the_value(azurite: Azurite, container: str) -> None:
    scan = SecretScan()
    key = base64.b64encode(secrets.token_bytes(64)).decode()
    connection = f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};"
    scan.secret(key, connection)
    cases = [
        (["blob", "create", "-c", container, "-n", "d.vhd", "--size", "1MiB", "--blob-endpoint", azurite.endpoint,
          "--acount-key", key], "unrecognized arguments: --acount-key <value hidden> (see vhdcore --help)"),
        (["container", "create", "-n", container, "--conection-string=" + connection],
         "unrecognized arguments: --conection-string=<value hidden> (see vhdcore --help)"),
        (["blob", "--account-key", key, "inspect"], "argument blob_command: invalid choice: <value hidden> (choose "
         "from 'create', 'inspect', 'grow', 'delete', 'upload')"),
        (["container", "list", "--accoun=" + key], "ambiguous option: --accoun=<value hidden> could match"),
        (["container", "list", connection], "unrecognized arguments: <value hidden>"),
        # Glued to a short flag by a typo, the value would become that flag's (a container name, quoted later).
        (["blob", "inspect", "-n", "d.vhd", "-c", container, "-connection-string=" + connection],
         "-c<value hidden> (a value holding '=' glued to -c) is refused"),
        (["container", "create", "-n", container, "-connection-string=" + connection],
         "unrecognized arguments: -connection-string=<value hidden>"),
        (["blob", "inspect", "-n", "d.vhd", "-caccount-key", key, "-c", container],
         "-caccount-key reads as -c with the value 'account-key...', so it is refused as a mistyped --account-key"),
        # Given where a path is expected, it is not quoted by the error about the path.
        (["inspect", key], "cannot read <value hidden>: No such file"),
        (["convert", connection, "out.vhd"], "cannot open image <value hidden>: No such file"),
        (["blob", "upload", connection, "-c", container, "-n", "d.vhd", "--blob-endpoint", azurite.endpoint],
         "cannot open image <value hidden>: No such file"),
    ]
    for argv, says in cases:
        done = subprocess.run([sys.executable, "-m", "vhdcore", *argv], capture_output=True, text=True, cwd=ROOT,
                              timeout=60)
        scan.saw(" ".join(argv[:3]), done.stdout + done.stderr)
        assert (done.returncode, done.stdout) == (2, "") and done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith("vhdcore: error: ") and says in done.stderr, done.stderr
    scan.assert_clean()


KNOWN = {"-c", "-n", "-o", "--output", "--size", "--auth-mode", "--verify", "--max-connections"}


@pytest.mark.parametrize(("argv", "message", "shown"), [
    # Whatever follows a flag the parser does not know exactly is hidden, however plain.
    (["--acount-key", "abc"], "unrecognized arguments: --acount-key abc", "unrecognized arguments: --acount-key " +
     HIDDEN),
    (["--acc=abc"], "ambiguous option: --acc=abc could match --account-key", f"ambiguous option: --acc={HIDDEN} "
     "could match --account-key"),
    # A known flag's plain value stays; one shaped like a credential goes, quoted or not, wherever it came from.
    (["--auth-mode", "lgin"], "invalid choice: 'lgin'", "invalid choice: 'lgin'"),
    (["--auth-mode", "a" * 30], f"invalid choice: '{'a' * 30}'", f"invalid choice: {HIDDEN}"),
    (["-oAB+/cd=="], "invalid choice: 'AB+/cd=='", f"invalid choice: {HIDDEN}"),
    (["--verify=x;y"], "ignored explicit argument 'x;y'", f"ignored explicit argument {HIDDEN}"),
    (["k=v;it's"], "unrecognized arguments: k=v;it's", f"unrecognized arguments: {HIDDEN}"),
    (["k=v;it's"], "invalid choice: \"k=v;it's\"", f"invalid choice: {HIDDEN}"),
    (["a\\b=c"], "invalid choice: 'a\\\\b=c'", f"invalid choice: {HIDDEN}"),
    # Not a flag's name: hidden whole. After `--`, every token is a value.
    (["-AB+/cd=="], "unrecognized arguments: -AB+/cd==", f"unrecognized arguments: {HIDDEN}"),
    (["--", "--x=y;z"], "unrecognized arguments: --x=y;z", f"unrecognized arguments: {HIDDEN}"),
    # Plain words elsewhere in the message are left alone, even when a hidden value is one of them.
    (["--unknown", "from"], "invalid choice: 'x' (choose from 'a') --unknown from",
     f"invalid choice: 'x' (choose from 'a') --unknown {HIDDEN}"),
    (["--max-connections", "-5"], "invalid int value: '-5'", "invalid int value: '-5'"),
])
def test_hide_values(argv: list[str], message: str, shown: str) -> None:
    assert hide_values(message, argv, KNOWN) == shown


def test_credentials_are_told_from_paths_and_names() -> None:
    key = base64.b64encode(secrets.token_bytes(64)).decode()
    for text in (key, key.rstrip("="), "AccountName=a;AccountKey=b", "sv=1&sig=x", "?sig=x",
                 "a;SharedAccessSignature=s"):
        assert looks_like_credential(text), text
    for text in ("disk.vhd", "/home/me/images/Ubuntu2404ServerImageForAzure/disk.qcow2", "vhds", "signature=x",
                 "a" * 88, "https://acct.blob.core.windows.net"):
        assert not looks_like_credential(text), text
