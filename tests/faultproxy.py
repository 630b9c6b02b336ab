"""Fault injection and request counting for tests and the benchmark, against a real Azurite.

FaultProxy is a loopback HTTP reverse proxy (stdlib, one thread per connection) that sits between the
SDK and Azurite. Shared Key signs the method, path, query and x-ms-* headers but not the port, so
clients pointed at the proxy authenticate unchanged. On the Nth request matching a method, path regex
and query regex it can answer an Azure-style error without forwarding, reset the connection before
forwarding, forward and then reset (the write happened, the reply is lost), or hold the request past
the client's read timeout and forward it late. It logs every request with its body size, and counts the
connections it accepted.

CountingTransport is the SDK-side counter: every attempt the pipeline sends, retries included.
"""

from __future__ import annotations

import http.client
import re
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit

from azure.core.pipeline.transport import RequestsTransport

Action = Literal["status", "reset", "forward_reset", "delay"]
ACTIONS: tuple[Action, ...] = ("status", "reset", "forward_reset", "delay")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade"}


@dataclass
class Fault:
    """Fire `action` on the `nth` matching request, then on the next `times - 1` matches (-1: forever)."""

    action: Action
    method: str | None = None
    path: str | None = None  # regex searched in the URL path
    query: str | None = None  # regex searched in the raw query string; "^$" means no query
    nth: int = 1
    times: int = 1
    status: int = 503
    code: str = "ServerBusy"
    delay: float = 1.0
    body: bytes | None = None  # "status": this body instead of Azure's XML error (and no x-ms-error-code)
    content_type: str = "text/html"
    hold: threading.Event | None = None  # wait for this event (set by the test) first; "delay": then forward
    seen: int = 0
    fired: int = 0

    @classmethod
    def server_busy(cls, **match: Any) -> Fault:
        return cls("status", status=503, code="ServerBusy", **match)

    @classmethod
    def operation_timed_out(cls, **match: Any) -> Fault:
        return cls("status", status=500, code="OperationTimedOut", **match)

    @classmethod
    def not_xml(cls, status: int, body: bytes, **match: Any) -> Fault:
        """An error whose body is not Azure's XML: a gateway's HTML page, or a bare text line."""
        return cls("status", status=status, code="", body=body, **match)

    def take(self, method: str, path: str, query: str) -> bool:
        """Count a request and say whether the fault fires on it."""
        if self.method and method != self.method:
            return False
        if self.path is not None and not re.search(self.path, path):
            return False
        if self.query is not None and not re.search(self.query, query):
            return False
        self.seen += 1
        if self.seen < self.nth or (self.times >= 0 and self.fired >= self.times):
            return False
        self.fired += 1
        return True


@dataclass(frozen=True)
class Refusal:
    """An Azure-style error answer the proxy gives instead of forwarding (see FaultProxy.refuse)."""

    status: int
    code: str
    header: str | None = None  # the HeaderName element of the error body, as Azure names a refused header
    message: str = "Refused by the test proxy."


@dataclass
class Rewrite:
    """Replace response headers of requests whose raw query matches `query` (None value: drop the header)."""

    query: str
    headers: dict[str, str | None]


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: str
    body_bytes: int
    status: int | None  # None when the client got no HTTP answer
    fault: Action | None
    version: str | None = None  # the request's x-ms-version header
    answer_bytes: int = 0  # the response body relayed to the client (what a read brought back)


@dataclass
class FaultProxy:
    upstream: str  # e.g. http://127.0.0.1:10000
    faults: list[Fault] = field(default_factory=list)
    log: list[Seen] = field(default_factory=list)  # a request is logged before its answer is sent
    rewrites: list[Rewrite] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._connections = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="faultproxy", daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.drain()
        self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def endpoint(self, account: str = "devstoreaccount1") -> str:
        return f"{self.url}/{account}"

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        """Forget faults and the log (after waiting for requests still held)."""
        self.drain()
        with self._lock:
            self.faults.clear()
            self.log.clear()

    def drain(self, timeout: float = 30) -> None:
        """Wait until no request is in flight, so late (delayed) writes have landed before checking storage."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._in_flight == 0, timeout):
                raise TimeoutError(f"{self._in_flight} proxied requests still in flight after {timeout} s")

    @property
    def requests(self) -> int:
        self.drain()
        return len(self.log)

    @property
    def body_bytes(self) -> int:
        self.drain()
        return sum(s.body_bytes for s in self.log)

    @property
    def answer_bytes(self) -> int:
        """Response bytes relayed to the client: what its reads brought back (listings and error bodies too)."""
        self.drain()
        return sum(s.answer_bytes for s in self.log)

    @property
    def connections(self) -> int:
        """Client connections accepted so far (a client that keeps its connection open sends many requests on one)."""
        with self._lock:
            return self._connections

    def versions(self, start: int = 0) -> set[str | None]:
        """The x-ms-version values of the requests logged from index `start` on (None: no header)."""
        self.drain()
        return {s.version for s in self.log[start:]}

    def refuse(self, method: str, path: str, query: str, headers: Any) -> Refusal | None:
        """The answer to give instead of forwarding a request no fault took; subclasses emulate services."""
        return None

    def observe(
        self, method: str, path: str, query: str, headers: Any, status: int, answer: Any
    ) -> dict[str, str | None]:
        """See a forwarded request and its answer; returns the response headers to replace (see Rewrite)."""
        with self._lock:
            matching = [r for r in self.rewrites if re.search(r.query, query)]
        return {k: v for r in matching for k, v in r.headers.items()}

    def _begin(self, method: str, path: str, query: str) -> Fault | None:
        with self._lock:
            self._in_flight += 1
            return next((f for f in self.faults if f.take(method, path, query)), None)

    def _end(self, seen: Seen) -> None:
        with self._idle:
            self.log.append(seen)
            self._in_flight -= 1
            self._idle.notify_all()


_RANGE = re.compile(r"bytes=(\d+)-(\d+)")


@dataclass
class StackProxy(FaultProxy):
    """A proxy in front of Azurite that answers like Azure Stack (Hub before update 2008, or Edge by its REST page):

    - an x-ms-version newer than `newest_version`: 400 InvalidHeaderValue (HeaderName x-ms-version), as Stack does;
    - a page blob longer than `page_blob_max` (1 TiB), created or resized: 400 InvalidHeaderValue (HeaderName
      x-ms-blob-content-length);
    - the 4 KiB page rule blank-vhd keeps there (docs/clouds.md): a Put Page or Clear Page must start on a `page`
      boundary and cover whole pages, unless it ends where the blob ends (the footer): 416 InvalidPageRange.

    It learns blob lengths from the requests and answers it forwards (Put Blob, resize, HEAD)."""

    newest_version: str = "2019-02-02"
    page_blob_max: int = 1 << 40
    page: int = 4096
    lengths: dict[str, int] = field(default_factory=dict)
    refused: list[Refusal] = field(default_factory=list)

    def refuse(self, method: str, path: str, query: str, headers: Any) -> Refusal | None:
        refusal = self._rule(method, path, query, headers)
        if refusal is not None:
            with self._lock:
                self.refused.append(refusal)
        return refusal

    def _rule(self, method: str, path: str, query: str, headers: Any) -> Refusal | None:
        if (headers.get("x-ms-version") or "") > self.newest_version:
            return Refusal(400, "InvalidHeaderValue", "x-ms-version",
                           "The value for one of the HTTP headers is not in the correct format.")
        length = headers.get("x-ms-blob-content-length")
        if method == "PUT" and length is not None and int(length) > self.page_blob_max:
            return Refusal(400, "InvalidHeaderValue", "x-ms-blob-content-length",
                           "The value for one of the HTTP headers is not in the correct format.")
        if method == "PUT" and "comp=page" in query.split("&"):
            written = _RANGE.fullmatch(headers.get("x-ms-range") or headers.get("Range") or "")
            if written is None:
                return Refusal(400, "InvalidHeaderValue", "x-ms-range", "The page range is missing.")
            start, end = int(written[1]), int(written[2]) + 1
            with self._lock:
                blob_end = self.lengths.get(path)
            if start % self.page or ((end - start) % self.page and end != blob_end):
                return Refusal(416, "InvalidPageRange", None, "The page range specified is invalid.")
        return None

    def observe(
        self, method: str, path: str, query: str, headers: Any, status: int, answer: Any
    ) -> dict[str, str | None]:
        params = set(query.split("&")) - {""}
        length = headers.get("x-ms-blob-content-length")
        with self._lock:
            if method == "PUT" and not params and status == 201 and length is not None:
                self.lengths[path] = int(length)  # Put Blob of a page blob
            elif method == "PUT" and params == {"comp=properties"} and status == 200 and length is not None:
                self.lengths[path] = int(length)  # resize
            elif method == "HEAD" and status == 200:
                self.lengths[path] = int(answer.get("Content-Length") or 0)
            elif method == "DELETE" and status == 202:
                self.lengths.pop(path, None)
        return super().observe(method, path, query, headers, status, answer)


class _Dropped(Exception):
    """The client connection was reset on purpose; stop handling it."""


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    upstream = urlsplit(proxy.upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def handle(self) -> None:
            with proxy._lock:
                proxy._connections += 1
            try:
                super().handle()
            except (_Dropped, ConnectionError, OSError):
                self.close_connection = True

        def do_any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            split = urlsplit(self.path)
            fault = proxy._begin(self.command, split.path, split.query)
            self.status: int | None = None  # what the client got, or Azurite's answer to a late forward
            self.answered = 0
            self.logged = False
            self.seen = lambda: Seen(self.command, split.path, split.query, len(body), self.status,
                                     fault.action if fault else None, self.headers.get("x-ms-version"), self.answered)
            try:
                self.serve(fault, body)
            finally:
                if not self.logged:
                    proxy._end(self.seen())

        def log_before_answering(self) -> None:
            """Log the request before the client can see its answer: a test that reads the log once its call has
            returned then finds it there (logged after the answer, it raced the test's read)."""
            proxy._end(self.seen())
            self.logged = True

        do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = do_any

        def serve(self, fault: Fault | None, body: bytes) -> None:
            if fault is not None and fault.hold is not None and fault.action != "delay":
                fault.hold.wait()  # held until the test lets go, then the action (a reset: it never arrives)
            if fault is None:
                split = urlsplit(self.path)
                refusal = proxy.refuse(self.command, split.path, split.query, self.headers)
                if refusal is not None:
                    self.azure_error(refusal.status, refusal.code, refusal.header, refusal.message)
                    return
                response, data = self.forward(body)
                replace = proxy.observe(self.command, split.path, split.query, self.headers, response.status,
                                        response.headers)
                self.relay(response, data, replace, log_first=True)
            elif fault.action == "status" and fault.body is not None:
                self.plain_error(fault.status, fault.body, fault.content_type)
            elif fault.action == "status":
                self.azure_error(fault.status, fault.code)
            elif fault.action == "reset":
                self.reset()
            elif fault.action == "forward_reset":
                self.forward(body)
                self.reset()
            else:
                # The client times out and retries (or, killed, never hears back); this copy lands late.
                if fault.hold is not None:
                    fault.hold.wait()
                else:
                    time.sleep(fault.delay)
                response = self.forward(body)
                try:
                    self.relay(*response)
                except OSError:
                    raise _Dropped from None

        def forward(self, body: bytes) -> tuple[http.client.HTTPResponse, bytes]:
            conn = http.client.HTTPConnection(upstream.hostname or "127.0.0.1", upstream.port, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                response = conn.getresponse()
                self.status = response.status
                return response, response.read()
            finally:
                conn.close()

        def relay(self, response: http.client.HTTPResponse, data: bytes,
                  replace: dict[str, str | None] | None = None, log_first: bool = False) -> None:
            replaced = {k.lower(): v for k, v in (replace or {}).items()}
            self.send_response_only(response.status, response.reason)
            for key, value in response.getheaders():
                if key.lower() in replaced:
                    continue
                if key.lower() not in _HOP_BY_HOP and not (key.lower() == "content-length" and self.command != "HEAD"):
                    self.send_header(key, value)
            for key, new in replaced.items():
                if new is not None:
                    self.send_header(key, new)
            if self.command != "HEAD":
                self.send_header("Content-Length", str(len(data)))
            if log_first:
                self.answered = 0 if self.command == "HEAD" else len(data)
                self.log_before_answering()
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
                self.answered = len(data)

        def azure_error(self, status: int, code: str, header: str | None = None,
                        message: str = "Injected by FaultProxy.") -> None:
            request_id = str(uuid.uuid4())
            named = f"<HeaderName>{header}</HeaderName>" if header else ""
            data = (
                f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{message}'
                f"\nRequestId:{request_id}\nTime:{formatdate(usegmt=True)}</Message>{named}</Error>"
            ).encode()
            self.send_response_only(status)
            for key, value in (
                ("Content-Type", "application/xml"), ("x-ms-error-code", code), ("x-ms-request-id", request_id),
                ("x-ms-version", self.headers.get("x-ms-version", "")), ("Date", formatdate(usegmt=True)),
                ("Content-Length", str(0 if self.command == "HEAD" else len(data))),
            ):
                self.send_header(key, value)
            self.status = status
            self.log_before_answering()
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def plain_error(self, status: int, data: bytes, content_type: str) -> None:
            self.send_response_only(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(0 if self.command == "HEAD" else len(data)))
            self.status = status
            self.log_before_answering()
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def reset(self) -> None:
            # SO_LINGER 0 makes close() send RST instead of FIN: the client sees "connection reset".
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            raise _Dropped

    return Handler


@dataclass(frozen=True)
class Sent:
    method: str
    path: str
    query: str
    body_bytes: int
    header_bytes: int


class CountingTransport(RequestsTransport):
    """RequestsTransport that records every request it sends (each retry attempt included)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.log: list[Sent] = []

    def send(self, request: Any, **kwargs: Any) -> Any:
        split = urlsplit(request.url)
        body = request.data if isinstance(request.data, (bytes, bytearray)) else b""
        length = len(body) or int(request.headers.get("Content-Length") or 0)
        headers = sum(len(k) + len(str(v)) + 4 for k, v in request.headers.items())
        self.log.append(Sent(request.method, split.path, split.query, length, headers))
        return super().send(request, **kwargs)

    @property
    def requests(self) -> int:
        return len(self.log)

    @property
    def body_bytes(self) -> int:
        return sum(s.body_bytes for s in self.log)

    def reset(self) -> None:
        self.log.clear()


# --- what the page-blob tests share ----------------------------------------------------------------------


def blob_service(connection_string: str) -> Any:
    """An SDK client for test set-up and checks, speaking the pinned version like everything else."""
    from azure.storage.blob import BlobServiceClient

    from vhdcore.azure.clouds import API_VERSION

    return BlobServiceClient.from_connection_string(connection_string, api_version=API_VERSION)


def fast_options(**overrides: Any) -> Any:
    """ClientOptions for tests: fast linear retries (3) and short timeouts, so faults cost little time."""
    from azure.storage.blob import LinearRetry

    from vhdcore.azure.credentials import ClientOptions

    settings: dict[str, Any] = {
        "retry_policy": LinearRetry(backoff=0.05, random_jitter_range=0, retry_total=3),
        "read_timeout": 5.0,
        "connection_timeout": 2.0,
    }
    return ClientOptions(**{**settings, **overrides})


@dataclass(frozen=True)
class Stored:
    """A blob as storage holds it, read directly from Azurite (no proxy): enough to compare states."""

    length: int
    etag: str
    metadata: dict[str, str]
    blob_type: str
    content: bytes | None  # whole content for small blobs, else None

    @property
    def footer(self) -> Any:
        from vhdcore.format.footer import Footer

        return Footer.unpack(self.content[-512:]) if self.content and len(self.content) >= 512 else None

    def is_valid_disk(self, size: int, unique_id: bytes | str | None = None) -> bool:
        from vhdcore.format.report import DiskReport

        if self.content is None or self.length != size + 512:
            return False
        report = DiskReport.from_tail(self.content[-512:], self.length)
        if not report.azure_ready or report.footer is None:
            return False
        wanted = bytes.fromhex(unique_id) if isinstance(unique_id, str) else unique_id
        return wanted is None or bytes(report.footer.unique_id) == bytes(wanted)


def stored(service: Any, container: str, name: str, *, max_bytes: int = 64 << 20) -> Stored | None:
    from azure.core.exceptions import ResourceNotFoundError

    blob = service.get_blob_client(container, name)
    try:
        props = blob.get_blob_properties()
    except ResourceNotFoundError:
        return None
    content = blob.download_blob().readall() if props.size <= max_bytes else None
    blob_type = str(getattr(props.blob_type, "value", props.blob_type))
    return Stored(props.size, props.etag, dict(props.metadata), blob_type, content)
