"""A web server on 127.0.0.1 for the image-URL tests: files from a folder, with or without range support, and
faults on demand (a connection dropped after N bytes, a Content-Length that lies, a changed ETag, an encoding).

Written on the standard library's http.server, one thread per connection. Every request is recorded (path,
Range header, status, body bytes sent), so tests can assert what a run fetched.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


@dataclass
class Served:
    """One request as the server answered it."""

    path: str
    range: str | None
    status: int
    sent: int = 0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Faults:
    """What the server does wrong, and how many more times (None: every time)."""

    drop_after: int | None = None  # close the connection after this many body bytes of an answer
    drops: int | None = 1  # how many answers are cut so
    short_by: int = 0  # announce this many bytes more than are sent, then close
    encoding: str | None = None  # a Content-Encoding header to send
    status: int | None = None  # answer every request with this status
    redirect: str | None = None  # answer every request with a 302 to this URL
    wall: int | None = None  # no answer goes past this byte of the file (cut there, however it was asked)


class _Quiet(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up (as the tests make it) is no news


class WebServer:
    """Serves `root` on a free 127.0.0.1 port: `url(name)`; `ranges` turns range support on or off."""

    def __init__(self, root: Path, *, ranges: bool = True) -> None:
        self.root = root
        self.ranges = ranges
        self.faults = Faults()
        self.served: list[Served] = []
        self.lock = threading.Lock()
        self.server = _Quiet(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, name: str, *, query: str = "", userinfo: str = "") -> str:
        at = f"{userinfo}@" if userinfo else ""
        return f"http://{at}127.0.0.1:{self.port}/{name}{'?' + query if query else ''}"

    @property
    def body_bytes(self) -> int:
        with self.lock:
            return sum(s.sent for s in self.served)

    def start(self) -> WebServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                self._answer(body=True)

            def _record(self, status: int, sent: int = 0) -> Served:
                served = Served(self.path, self.headers.get("Range"), status, sent, dict(self.headers.items()))
                with outer.lock:
                    outer.served.append(served)
                return served

            def _answer(self, *, body: bool) -> None:
                faults = outer.faults
                if faults.status is not None:
                    self._record(faults.status)
                    self.send_response(faults.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if faults.redirect is not None:
                    self._record(302)
                    self.send_response(302)
                    self.send_header("Location", faults.redirect)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                name = self.path.split("?", 1)[0].lstrip("/")
                path = outer.root / name
                if not name or not path.is_file():
                    self._record(404)
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                size = path.stat().st_size
                etag = '"' + hashlib.sha256(f"{path.stat().st_mtime_ns}|{size}".encode()).hexdigest()[:16] + '"'
                first, last, status = 0, size - 1, 200
                wanted = self.headers.get("Range")
                if outer.ranges and wanted:
                    match = _RANGE.match(wanted.strip())
                    if match:
                        first = int(match[1])
                        last = min(int(match[2]) if match[2] else size - 1, size - 1)
                        if first >= size:
                            self._record(416)
                            self.send_response(416)
                            self.send_header("Content-Range", f"bytes */{size}")
                            self.send_header("Content-Length", "0")
                            self.end_headers()
                            return
                        status = 206
                check = self.headers.get("If-Match")
                if check and check != etag:
                    self._record(412)
                    self.send_response(412)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                length = last - first + 1
                served = self._record(status)
                self.send_response(status)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(length + faults.short_by))
                if outer.ranges:
                    self.send_header("Accept-Ranges", "bytes")
                if status == 206:
                    self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
                if faults.encoding:
                    self.send_header("Content-Encoding", faults.encoding)
                self.end_headers()
                if not body:
                    return
                cut = None
                with outer.lock:
                    if faults.drop_after is not None and length > faults.drop_after and faults.drops != 0:
                        cut = faults.drop_after
                        if faults.drops is not None:
                            faults.drops -= 1
                limit = length if cut is None else cut
                if faults.wall is not None and first + limit > faults.wall:
                    cut = limit = max(0, faults.wall - first)
                with open(path, "rb") as fh:
                    fh.seek(first)
                    sent = 0
                    try:
                        while sent < limit:
                            data = fh.read(min(1 << 20, limit - sent))
                            if not data:
                                break
                            self.wfile.write(data)
                            sent += len(data)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    finally:
                        with outer.lock:
                            served.sent = sent
                if cut is not None or faults.short_by:
                    self.close_connection = True
                    try:
                        self.wfile.flush()
                    finally:
                        self.connection.close()

        return Handler
