"""Every bad input to the command line is refused before any request, in one line, through a real process.

Each case runs `python -m vhdcore` with the arguments as bytes (so a name can hold a byte that is not
UTF-8, as a shell passes it) against a counting proxy in front of Azurite: exit code 2, exactly one line
on stderr that names the input, no traceback, no "internal error", and not one request seen by the proxy.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from azurite_server import ACCOUNT_KEY

from tests.faultproxy import FaultProxy

ROOT = Path(__file__).resolve().parent.parent
BAD = b"\xff"  # not UTF-8: Python keeps it in argv as a lone surrogate

# (what, arguments after `blob <command>` and the account, the words the line must hold)
BLOB_CASES: list[tuple[str, list[bytes], str]] = [
    ("create name not UTF-8", [b"create", b"-c", b"vhds", b"-n", b"d" + BAD + b".vhd", b"--size", b"1GiB"],
     "blob name"),
    ("inspect name not UTF-8", [b"inspect", b"-c", b"vhds", b"-n", BAD], "blob name"),
    ("delete name not UTF-8", [b"delete", b"-c", b"vhds", b"-n", BAD, b"--unique-id", b"ab" * 16], "blob name"),
    ("grow name not UTF-8", [b"grow", b"-c", b"vhds", b"-n", BAD, b"--size", b"2GiB"], "blob name"),
    ("container not UTF-8", [b"inspect", b"-c", b"vhd" + BAD, b"-n", b"d.vhd"], "container name"),
    ("metadata name not UTF-8", [b"create", b"-c", b"vhds", b"-n", b"d.vhd", b"--size", b"1GiB",
                                 b"--metadata", b"k" + BAD + b"=v"], "metadata name"),
    ("metadata value not UTF-8", [b"create", b"-c", b"vhds", b"-n", b"d.vhd", b"--size", b"1GiB",
                                  b"--metadata", b"k=v" + BAD], "metadata 'k' value"),
    ("size not UTF-8", [b"create", b"-c", b"vhds", b"-n", b"d.vhd", b"--size", b"1" + BAD], "--size"),
    ("size in Arabic-Indic digits", [b"create", b"-c", b"vhds", b"-n", b"d.vhd", b"--size", "\u0661\u0660GiB".encode()],
     "ASCII digits"),
    ("size in full-width digits", [b"grow", b"-c", b"vhds", b"-n", b"d.vhd", b"--size", "\uff11\uff10GiB".encode()],
     "ASCII digits"),
    ("empty unique id on create", [b"create", b"-c", b"vhds", b"-n", b"d.vhd", b"--size", b"1GiB",
                                   b"--unique-id", b""], "--unique-id ''"),
    ("empty unique id on grow", [b"grow", b"-c", b"vhds", b"-n", b"d.vhd", b"--size", b"2GiB", b"--unique-id", b""],
     "--unique-id ''"),
    ("empty unique id on delete", [b"delete", b"-c", b"vhds", b"-n", b"d.vhd", b"--unique-id", b""],
     "--unique-id ''"),
    ("unique id not UTF-8", [b"delete", b"-c", b"vhds", b"-n", b"d.vhd", b"--unique-id", b"ab" * 15 + BAD],
     "--unique-id"),
    ("empty timestamp", [b"create", b"-c", b"vhds", b"-n", b"d.vhd", b"--size", b"1GiB", b"--timestamp", b""],
     "--timestamp ''"),
    ("timestamp not UTF-8", [b"create", b"-c", b"vhds", b"-n", b"d.vhd", b"--size", b"1GiB", b"--timestamp", BAD],
     "--timestamp"),
]
# The same, for the account flags: they replace the proxy's endpoint and key.
ACCOUNT_CASES: list[tuple[str, list[bytes], str]] = [
    ("SAS not UTF-8", [b"--sas-token", b"sv=1&sig=" + BAD], "SAS token"),
    ("key not UTF-8", [b"--account-key", b"a2V5" + BAD], "account key"),
    ("SAS over http to another machine", [b"--blob-endpoint", b"http://acct.blob.core.windows.net",
                                          b"--sas-token", b"sv=1&sig=abc"], "plain http on another machine"),
    ("key over http to another machine", [b"--blob-endpoint", b"http://acct.blob.core.windows.net",
                                          b"--account-key", b"a2V5"], "plain http on another machine"),
    ("http connection string", [b"--connection-string",
                                b"DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5"],
     "plain http on another machine"),
]
CASES = len(BLOB_CASES) + len(ACCOUNT_CASES) + 2  # + the two local special files below


def run(args: list[bytes]) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_STORAGE_", "VHDCORE_"))}
    return subprocess.run([sys.executable.encode(), b"-m", b"vhdcore", *args], cwd=ROOT, env=env,
                          capture_output=True, timeout=60, check=False)


def refused_in_one_line(result: subprocess.CompletedProcess[bytes], words: str) -> None:
    err = result.stderr.decode("utf-8", "backslashreplace")
    assert result.returncode == 2, (result.returncode, err)
    assert err.count("\n") == 1 and err.startswith("vhdcore: error: "), err
    assert "Traceback" not in err and "internal error" not in err and words in err, err
    assert result.stdout == b""


def test_case_count() -> None:
    print(f"\ncommand-line input cases: {CASES}")
    assert CASES == 23


@pytest.mark.parametrize(("what", "args", "words"), BLOB_CASES, ids=[c[0] for c in BLOB_CASES])
def test_a_bad_blob_input_is_refused_before_any_request(what: str, args: list[bytes], words: str,
                                                        proxy: FaultProxy) -> None:
    account = [b"--blob-endpoint", proxy.endpoint().encode(), b"--account-key", ACCOUNT_KEY.encode()]
    refused_in_one_line(run([b"blob", *args, *account]), words)
    assert proxy.requests == 0


@pytest.mark.parametrize(("what", "account", "words"), ACCOUNT_CASES, ids=[c[0] for c in ACCOUNT_CASES])
def test_a_bad_account_input_is_refused_before_any_request(what: str, account: list[bytes], words: str,
                                                           proxy: FaultProxy) -> None:
    if b"--blob-endpoint" not in account and b"--connection-string" not in account:
        account = [b"--blob-endpoint", proxy.endpoint().encode(), *account]
    refused_in_one_line(run([b"blob", b"inspect", b"-c", b"vhds", b"-n", b"d.vhd", *account]), words)
    assert proxy.requests == 0  # and nothing anywhere else: the refusal comes before any client is built


def test_inspect_refuses_a_fifo_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.vhd"
    os.mkfifo(fifo)
    refused_in_one_line(run([b"inspect", bytes(fifo)]), "is a FIFO, not a regular file")


def test_inspect_refuses_a_device() -> None:
    refused_in_one_line(run([b"inspect", b"/dev/zero"]), "is a character device, not a regular file")


# --- error bodies that are not Azure's XML still give one line --------------------------------------------


@pytest.mark.parametrize(("status", "body", "kind"), [
    (502, b"<html><head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>\n", "text/html"),
    (500, b"Internal Server Error\n", "text/plain"),
], ids=["gateway-502-html", "emulator-500-text"])
def test_an_error_body_that_is_not_xml_gives_one_line_and_no_sdk_warning(
    status: int, body: bytes, kind: str, proxy: FaultProxy, container: str
) -> None:
    from tests.faultproxy import Fault

    proxy.add(Fault("status", method="PUT", status=status, code="", body=body, content_type=kind, times=-1))
    result = run([b"blob", b"create", b"-c", container.encode(), b"-n", b"d.vhd", b"--size", b"1MiB",
                  b"--blob-endpoint", proxy.endpoint().encode(), b"--account-key", ACCOUNT_KEY.encode()])
    err = result.stderr.decode()
    assert result.returncode == 1 and err.count("\n") == 1 and err.startswith("vhdcore: error: "), err
    assert f"answered HTTP {status}" in err and "with no Azure error code" in err and f"the body, {kind}," in err
    assert "<html" not in err and "Unexpected return type" not in err and "Traceback" not in err
