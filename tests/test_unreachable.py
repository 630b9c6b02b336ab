"""An endpoint that refuses connections ends a command within seconds with one line naming what could not be
reached, while throttling keeps its retries; a slow operation on a terminal shows one line updated in place.

The 15 s bound is asserted loosely (the measured time, logged with -s or in the JUnit properties, is about
2 s: Python start, one refused attempt, one retry 1 s later)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from azurite_server import ACCOUNT_KEY

from providers.provider import BlankVhdProvider
from tests.faultproxy import Fault, FaultProxy
from vhdcore.azure.credentials import ClientOptions, StorageTarget
from vhdcore.azure.page_blob import create_blank_vhd, inspect_blank_vhd
from vhdcore.errors import ServiceError, UnreachableError

ROOT = Path(__file__).resolve().parent.parent
BOUND = 15.0


@pytest.fixture
def closed_endpoint(closed_port: int) -> str:
    return f"http://127.0.0.1:{closed_port}/devstoreaccount1"  # nothing listens there


def vhdcore(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    start = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "vhdcore", *args], capture_output=True, text=True, cwd=ROOT,
                         env=clean, timeout=120)
    return run, time.monotonic() - start


@pytest.mark.parametrize("command", [["create", "--size", "1GiB"], ["inspect"], ["grow", "--size", "2GiB"],
                                     ["delete"]])
def test_a_refused_connection_ends_a_command_fast_with_one_line(
    command: list[str], record_property: pytest.RecordProperty, closed_endpoint: str
) -> None:
    endpoint = closed_endpoint
    run, seconds = vhdcore("blob", command[0], "-c", "vhds", "-n", "d.vhd", "--blob-endpoint", endpoint,
                           "--account-key", ACCOUNT_KEY, *command[1:])
    record_property("seconds", round(seconds, 2))
    print(f"vhdcore blob {command[0]} against a closed port: {seconds:.2f} s")
    assert (run.returncode, run.stdout) == (1, ""), run.stderr
    assert run.stderr.startswith(f"vhdcore: error: could not connect to {endpoint} (connection refused) while ")
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr and "footerless" not in run.stderr
    assert "that the service is up and reachable" in run.stderr
    assert seconds < BOUND


def test_a_host_that_does_not_resolve_is_named_as_such() -> None:
    target = StorageTarget(account_url="https://no-such-host.invalid/devstoreaccount1", account_name="devstoreaccount1",
                           account_key=ACCOUNT_KEY)
    with pytest.raises(UnreachableError, match=r"could not connect to https://no-such-host.invalid/devstoreaccount1 "
                       r"\(the host name does not resolve\)"):
        inspect_blank_vhd(target, container="vhds", name="d.vhd")


def test_the_provider_fails_fast_too(record_property: pytest.RecordProperty, closed_endpoint: str) -> None:
    endpoint = closed_endpoint
    props = {"size_gb": 1, "container_name": "vhds", "blob_name": "d.vhd", "account_url": endpoint,
             "account_key": ACCOUNT_KEY, "adopt_existing": False, "allow_shrink_by_replace": False}
    start = time.monotonic()
    with pytest.raises(UnreachableError, match="could not connect to"):
        BlankVhdProvider().create(props)
    seconds = time.monotonic() - start
    record_property("seconds", round(seconds, 2))
    print(f"BlankVhdProvider.create against a closed port: {seconds:.2f} s")
    assert seconds < BOUND


def test_throttling_is_still_retried_and_a_reachable_failure_is_not_called_unreachable(
    proxy: FaultProxy, container: str
) -> None:
    target = StorageTarget(account_url=proxy.endpoint(), account_key=ACCOUNT_KEY)
    options = ClientOptions(initial_backoff=0.05, increment_base=1.05)
    proxy.add(Fault.server_busy(method="PUT", times=3))
    made = create_blank_vhd(target, container=container, name="busy.vhd", size=1 << 20, options=options)
    assert made.size == 1 << 20
    assert proxy.add(Fault("reset", method="HEAD", times=-1)).fired == 0
    with pytest.raises(ServiceError) as broken:  # the request reached storage: not "could not connect"
        inspect_blank_vhd(target, container=container, name="busy.vhd", options=options)
    assert not isinstance(broken.value, UnreachableError)
    proxy.clear()


def read_all(fd: int, process: subprocess.Popen[bytes]) -> bytes:
    out = b""
    while True:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        elif process.poll() is not None:
            break
    return out


def test_a_slow_operation_shows_one_updating_line_on_a_terminal_only(proxy: FaultProxy, container: str) -> None:
    args = [sys.executable, "-m", "vhdcore", "blob", "create", "-c", container, "-n", "slow.vhd", "--size", "1MiB",
            "--blob-endpoint", proxy.endpoint(), "--account-key", ACCOUNT_KEY]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    proxy.add(Fault.server_busy(method="PUT", times=2))  # two retries, seconds of backoff between
    main, side = pty.openpty()
    # A new pty is 0 x 0, where tqdm draws nothing; 300 columns hold the whole line untrimmed.
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 300, 0, 0))
    process = subprocess.Popen(args, cwd=ROOT, env=clean, stdout=subprocess.PIPE, stderr=side)
    os.close(side)
    shown = read_all(main, process).decode()
    os.close(main)
    assert process.wait(timeout=120) == 0
    assert process.stdout is not None and process.stdout.read().startswith(b"created ")
    assert "\n" not in shown  # one line, rewritten in place
    # tqdm writes each state as "\r" + text, padded with spaces over a longer text before it, and on close
    # (leave=False) "\r" + spaces over the last text + "\r": the line ends blank, the cursor at its start.
    what = f"vhdcore: creating {proxy.endpoint()}/{container}/slow.vhd"
    drawn = shown.split("\r")
    assert drawn[0] == "" and drawn[-1] == "" and len(drawn) >= 4, shown
    *texts, erased = drawn[1:-1]
    for text in texts:
        assert re.fullmatch(rf"{re.escape(what)}: (waiting|retrying in \d+ s \(HTTP 503\)) \(\d+ s\) *", text), shown
    assert any("retrying in " in text and "(HTTP 503)" in text for text in texts), shown
    assert erased == " " * len(texts[-1].rstrip(" ")), shown  # the line is erased at the end

    proxy.add(Fault.server_busy(method="PUT", times=2))
    piped = subprocess.run([*args[:8], "slow2.vhd", *args[9:]], cwd=ROOT, env=clean, capture_output=True,
                           text=True, timeout=120)
    assert (piped.returncode, piped.stderr) == (0, ""), piped.stderr
