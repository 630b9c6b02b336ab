"""Start and stop the pinned Azurite blob emulator on 127.0.0.1, and wait until it answers.

Used by the pytest fixture (in-memory, on a port Azurite picks, one per test process) and by the demo (`start`: its
own server on a free port, data in .azurite/; `connection-string` prints how to reach it).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also run as a script from tools/
    sys.path.insert(0, str(ROOT))

from vhdcore.azure.credentials import DEV_ACCOUNT, DEV_ACCOUNT_KEY  # noqa: E402  (standard library only)

BINARY = ROOT / "tools" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
PORT_ENV = "BLANK_VHD_AZURITE_PORT"
ACCOUNT, ACCOUNT_KEY = DEV_ACCOUNT, DEV_ACCOUNT_KEY
SKIP_VERSION_CHECK = "AZURITE_SKIP_API_VERSION_CHECK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# What Azurite prints on stdout (even with --silent) once it listens; with --blobPort 0 it is how the port is known.
LISTENING = re.compile(rb"successfully listens on http://127\.0\.0\.1:([0-9]+)")


class Azurite:
    """One Azurite blob service. Port 0 (the default): Azurite binds a free port itself and `start` reads which from
    its output, so no other process can take the port between choosing it and binding it (tests run several at once)."""

    def __init__(self, *, port: int = 0, location: Path | None = None) -> None:
        self.port = port
        self.location = location
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.endpoint};"
        )

    def command(self) -> list[str]:
        if not BINARY.exists():
            raise SystemExit(f"Azurite is not installed at {BINARY}; run scripts/setup.sh first.")
        storage = ["--location", str(self.location)] if self.location else ["--inMemoryPersistence"]
        host = ["--blobHost", "127.0.0.1", "--blobPort", str(self.port)]
        # No --skipApiVersionCheck: Azurite refuses versions newer than its own, as Azure Stack does.
        return [str(BINARY), *host, "--silent", "--loose", *storage]

    @staticmethod
    def environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
        """Azurite's environment: ours without AZURITE_SKIP_API_VERSION_CHECK, which would switch the check off
        as --skipApiVersionCheck does (Azurite 3.37), so it always refuses versions newer than its own."""
        return {key: value for key, value in environ.items() if key != SKIP_VERSION_CHECK}

    def start(self, *, detach: bool = False, timeout: float = 60) -> Azurite:
        if self.location:
            self.location.mkdir(parents=True, exist_ok=True)
        # Its stdout goes to a file, read for the port: a pipe nobody drains could fill up and stall the server.
        with tempfile.TemporaryFile() as output:
            self.process = subprocess.Popen(
                self.command(),
                stdout=subprocess.DEVNULL if self.port else output,
                stderr=subprocess.DEVNULL if detach else None,
                start_new_session=detach,
                env=self.environment(),
            )
            if not self.port:
                self.port = self.wait_for_port(output, timeout)
        self.wait_until_up(timeout)
        return self

    def wait_for_port(self, output: IO[bytes], timeout: float) -> int:
        """The port a server started with --blobPort 0 says it listens on."""
        deadline = time.monotonic() + timeout
        while True:
            output.seek(0)
            if found := LISTENING.search(output.read()):
                return int(found[1])
            self.check_running()
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Azurite did not say which port it listens on within {timeout:.0f} s.")
            time.sleep(0.05)

    def check_running(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"Azurite exited with code {self.process.returncode} before answering on port "
                               f"{self.port or '(not chosen yet)'}.")

    def answers(self) -> bool:
        try:
            urllib.request.urlopen(f"{self.endpoint}?comp=list", timeout=2)
        except urllib.error.HTTPError:
            return True  # any HTTP answer (403 unsigned) means the server is up
        except OSError:
            return False
        return True

    def wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.answers():
            self.check_running()
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Azurite did not answer on port {self.port} within {timeout:.0f} s.")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            stop_pid(self.process.pid)
            self.process.wait()
            self.process = None


def stop_pid(pid: int) -> None:
    # Azurite's graceful stop waits minutes for idle keep-alive sockets; give it a moment, then kill.
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(20):
            time.sleep(0.1)
            os.kill(pid, 0)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def ours(pidfile: Path) -> int | None:
    """The pid in `pidfile` if that process is still an Azurite this script started, else None."""
    try:
        pid = int(pidfile.read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"azurite" in cmdline else None


def port_free(port: int) -> bool:
    """Nothing listens on the port. SO_REUSEADDR as Node's listen() sets it: connections of a server that just
    stopped (TIME_WAIT) do not make its port taken, a listening server does."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Run the demo's own Azurite (blob service) in the background, data in .azurite/. It never uses "
        "a server it did not start: `start` picks a free port (the one it used last time if it is still free), or "
        f"the port given with --port or {PORT_ENV}, and refuses a port something else answers on.")
    parser.add_argument("action", choices=["start", "stop", "status", "connection-string"])
    parser.add_argument("--port", type=int, default=int(os.environ.get(PORT_ENV) or 0),
                        help=f"the port to start on (default: {PORT_ENV}, else a free one)")
    parser.add_argument("--location", type=Path, default=ROOT / ".azurite" / "data")
    args = parser.parse_args()
    pidfile, portfile = args.location.parent / "azurite.pid", args.location.parent / "azurite.port"
    running = ours(pidfile)
    try:
        recorded = int(portfile.read_text())
    except (OSError, ValueError):
        recorded = 0
    if args.action == "start":
        if running is not None and recorded and args.port in (0, recorded):
            print(Azurite(port=recorded).endpoint)  # ours, from an earlier run: keep using it
            return 0
        if running is not None:
            print(f"error: the demo's Azurite already runs on port {recorded}; stop it first "
                  "(tools/azurite_server.py stop) to start it on another port.", file=sys.stderr)
            return 1
        port = args.port or (recorded if recorded and port_free(recorded) else free_port())
        if not port_free(port):
            print(f"error: port {port} is taken by a server this script did not start; the demo never uses another "
                  f"server: pick a free port with --port or {PORT_ENV}, or leave both unset for any free port.",
                  file=sys.stderr)
            return 1
        server = Azurite(port=port, location=args.location)
        try:
            server.start(detach=True)
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        assert server.process is not None
        pidfile.write_text(str(server.process.pid))
        portfile.write_text(str(port))
        print(server.endpoint)
    elif args.action == "stop":
        if running is not None:
            stop_pid(running)
        pidfile.unlink(missing_ok=True)
    elif args.action == "connection-string":
        if running is None or not recorded:
            print("error: the demo's Azurite is not running; start it with tools/azurite_server.py start.",
                  file=sys.stderr)
            return 1
        print(Azurite(port=recorded).connection_string)
    else:
        up = running is not None and recorded and Azurite(port=recorded).answers()
        print(f"{Azurite(port=recorded).endpoint} up" if up else "the demo's Azurite is not running")
        return 0 if up else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
