"""The demo's Azurite (tools/azurite_server.py, used by scripts/demo.sh): its own server on a free port or the
one asked for, never a server it did not start, and a connection string that points at it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from azurite_server import PORT_ENV, free_port

ROOT = Path(__file__).resolve().parent.parent


def demo_azurite(location: Path, *args: str, port_env: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != PORT_ENV} | ({PORT_ENV: port_env} if port_env else {})
    return subprocess.run([sys.executable, "tools/azurite_server.py", *args, "--location", str(location / "data")],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def location(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    demo_azurite(tmp_path, "stop")


@pytest.fixture
def foreign() -> Iterator[socket.socket]:
    """A server this script did not start, listening on a port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


def test_start_refuses_a_port_another_server_holds_and_never_talks_to_it(
    location: Path, foreign: socket.socket
) -> None:
    port = foreign.getsockname()[1]
    for run in (demo_azurite(location, "start", "--port", str(port)),
                demo_azurite(location, "start", port_env=str(port))):
        assert run.returncode == 1 and run.stdout == ""
        assert run.stderr.startswith(f"error: port {port} is taken by a server this script did not start")
    foreign.setblocking(False)
    with pytest.raises(BlockingIOError):
        foreign.accept()  # nobody connected to it


def test_start_picks_a_free_port_reuses_its_own_server_and_stops_it(location: Path, foreign: socket.socket) -> None:
    started = demo_azurite(location, "start")
    assert started.returncode == 0, started.stderr
    endpoint = started.stdout.strip()
    port = int(endpoint.split(":")[2].split("/")[0])
    assert port != foreign.getsockname()[1] and endpoint == f"http://127.0.0.1:{port}/devstoreaccount1"
    again = demo_azurite(location, "start")
    assert (again.returncode, again.stdout.strip()) == (0, endpoint)  # its own server, kept
    connection = demo_azurite(location, "connection-string").stdout.strip()
    assert f"BlobEndpoint={endpoint};" in connection
    assert demo_azurite(location, "status").stdout.strip() == f"{endpoint} up"
    busy = demo_azurite(location, "start", "--port", str(free_port()))
    assert busy.returncode == 1 and "already runs on port" in busy.stderr

    assert demo_azurite(location, "stop").returncode == 0
    assert demo_azurite(location, "status").returncode == 1
    assert demo_azurite(location, "connection-string").returncode == 1
    restarted = demo_azurite(location, "start")
    assert restarted.stdout.strip() == endpoint  # the port it used last time, while it is free


def test_the_port_can_be_chosen(location: Path) -> None:
    port = free_port()
    started = demo_azurite(location, "start", port_env=str(port))
    assert started.stdout.strip() == f"http://127.0.0.1:{port}/devstoreaccount1", started.stderr
