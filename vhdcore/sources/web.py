"""An image on a web server: its bytes in order (one GET that resumes where it broke) or at any offset (ranges).

`https://` URLs only, or `http://` to this machine (127.0.0.0/8, ::1, localhost: a test server), on every hop of
a redirect too. The URL's user and password (if any) are sent as Basic credentials to its own host only, never
after a redirect to another; its query string (a SAS token, a signed link) is sent as it is. Neither is ever
printed: messages name `shown_url(url)`, the URL without them.

The server is read as if an attacker ran it:
- memory: a read returns at most what was asked (and at most `BLOCK` bytes are cached for random access);
- time: a connect or a read that waits longer than the timeouts fails, and so does an answer that trickles (less
  than `MIN_BYTES` in `STALL` seconds); a broken answer is resumed at most `RETRIES` times in a row;
- size: an answer must be exactly as long as it says (Content-Length, Content-Range) and no longer than the file
  the first answer announced; a changed file (another ETag or Last-Modified) is refused, never spliced;
- no Content-Encoding: the bytes must be the file's own (an encoded answer is refused rather than decoded).

requests (with urllib3) does the HTTP: proxies from the environment (HTTPS_PROXY, NO_PROXY), certificate checks
with REQUESTS_CA_BUNDLE or the system's, connection reuse.
"""

from __future__ import annotations

import collections
import re
import time
import urllib.parse
from dataclasses import dataclass

import requests
import urllib3

from ..errors import ImageDownloadError, InputError
from .urls import check_image_url, shown_url

CONNECT_TIMEOUT = 15.0
READ_TIMEOUT = 60.0  # seconds without a byte
STALL, MIN_BYTES = 300.0, 1 << 20  # an answer must bring at least MIN_BYTES every STALL seconds
RETRIES = 5  # a broken answer is resumed this many times in a row before the run fails
REDIRECTS = 5
PROBE = 64 << 10  # the first request asks for this many bytes: the head that detection reads
BLOCK = 1 << 20  # random reads fetch at least this much, and keep the last CACHED blocks
CACHED = 16
CHUNK = 1 << 20  # the most one sequential read asks the connection for
_BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0)
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


@dataclass(frozen=True)
class Answer:
    """What the first answer said about the file."""

    url: str  # after redirects
    size: int | None  # None: the server did not say (no ranges, no Content-Length)
    ranges: bool  # answers Range requests with 206
    etag: str | None  # a strong ETag, if any
    last_modified: str | None
    head: bytes  # the first PROBE bytes (fewer if the file is smaller)


class WebFile:
    """An image at a URL: one probe (a GET of its first PROBE bytes), then sequential or random reads."""

    def __init__(self, url: str, *, session: requests.Session | None = None) -> None:
        self.url = check_image_url(url)
        self.name = shown_url(url)
        parts = urllib.parse.urlsplit(url)
        self._origin = (parts.scheme.lower(), parts.hostname, parts.port)
        self._auth = (urllib.parse.unquote(parts.username or ""), urllib.parse.unquote(parts.password or "")) \
            if parts.username or parts.password else None
        netloc = parts.hostname or ""
        if ":" in netloc:
            netloc = f"[{netloc}]"
        if parts.port:
            netloc += f":{parts.port}"
        self._bare = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        self.session = session or requests.Session()
        self.bytes_read = 0  # every body byte received, the probe's included
        self.requests = 0
        self._answer: Answer | None = None
        self._blocks: collections.OrderedDict[int, bytes] = collections.OrderedDict()

    # --- requests ------------------------------------------------------------------------------------------------

    def _get(self, headers: dict[str, str]) -> requests.Response:
        """GET the file with `headers`, following redirects by hand (each hop checked), body not yet read."""
        url = self._answer.url if self._answer else self._bare
        for _ in range(REDIRECTS + 1):
            parts = urllib.parse.urlsplit(url)
            same = (parts.scheme.lower(), parts.hostname, parts.port) == self._origin
            try:
                self.requests += 1
                response = self.session.get(
                    url, headers={"Accept-Encoding": "identity", **headers}, stream=True, allow_redirects=False,
                    timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), auth=self._auth if same else None)
            except requests.exceptions.SSLError as exc:
                raise ImageDownloadError(
                    f"image {self.name} could not be fetched: the TLS connection to {parts.hostname} "
                    f"failed ({_short(exc)}); check the URL, or the certificate bundle "
                    "(REQUESTS_CA_BUNDLE).") from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                raise _Broken(f"could not connect to {parts.hostname} ({_short(exc)})") from None
            except requests.exceptions.RequestException as exc:
                raise ImageDownloadError(
                    f"image {self.name} could not be fetched ({_short(exc)}); check the URL.") from None
            if response.is_redirect:
                target = response.headers.get("Location", "")
                response.close()
                url = urllib.parse.urljoin(url, target)
                try:
                    check_image_url(url, field="a redirect of")
                except InputError as exc:
                    raise ImageDownloadError(f"image {self.name} redirects to {shown_url(url)}, which is refused: "
                                   f"{str(exc).split(': ', 1)[-1]}") from None
                continue
            return response
        raise ImageDownloadError(f"image {self.name} redirects more than {REDIRECTS} times; give the URL it ends at.")

    def probe(self) -> Answer:
        """The first request: the file's first PROBE bytes, its size, whether it answers ranges, its validators."""
        if self._answer is not None:
            return self._answer
        for attempt in range(RETRIES + 1):
            try:
                return self._probe_once()
            except _Broken as exc:
                if attempt == RETRIES:
                    raise self._gave_up(exc, 0) from None
                time.sleep(_BACKOFF[min(attempt, len(_BACKOFF) - 1)])
        raise AssertionError("unreachable")

    def _probe_once(self) -> Answer:
        response = self._get({"Range": f"bytes=0-{PROBE - 1}"})
        try:
            final = response.url or self._bare
            if response.status_code == 416:
                raise ImageDownloadError(f"image {self.name} is an empty file on the server; check the URL.")
            self._status_ok(response, (200, 206))
            etag = response.headers.get("ETag")
            etag = etag if etag and not etag.startswith("W/") else None  # weak ETags do not promise the same bytes
            modified = response.headers.get("Last-Modified")
            if response.status_code == 206:
                first, last, total = self._content_range(response)
                if first != 0 or total is None:
                    raise ImageDownloadError(
                        f"image {self.name}: the server answered a range request for its start with "
                        f"bytes {first}-{last} of {total}; it does not serve ranges correctly.")
                head = self._body(response, last + 1)
                answer = Answer(final, total, True, etag, modified, head)
            else:
                length = _content_length(response)
                head = self._body(response, min(PROBE, length) if length is not None else PROBE, exact=False)
                answer = Answer(final, length, False, etag, modified, head)
        finally:
            response.close()
        if answer.size == 0 or not answer.head:
            raise ImageDownloadError(f"image {self.name} is an empty file on the server; check the URL.")
        self._answer = answer
        return answer

    def _status_ok(self, response: requests.Response, wanted: tuple[int, ...]) -> None:
        status = response.status_code
        if status in wanted:
            encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
            if encoding not in ("", "identity"):
                raise ImageDownloadError(
                    f"image {self.name} was sent with Content-Encoding {encoding} although this tool asked "
                    "for the file's own bytes; fetch it from a server that sends the file as it is.")
            return
        if status in (408, 429) or status >= 500:
            raise _Broken(f"the server answered {status} {response.reason}")
        if status == 412:
            raise ImageDownloadError(
                f"image {self.name} changed on the server while it was being read (412 Precondition "
                "Failed); run again to read the new file from its start.")
        hint = {401: "give credentials in the URL (https://user:password@host/...) or a signed URL",
                403: "check the URL's signature or your access to it", 404: "check the URL",
                410: "check the URL"}.get(status, "check the URL")
        raise ImageDownloadError(
            f"image {self.name} could not be fetched: the server answered {status} {response.reason}; "
            f"{hint}.")

    def _content_range(self, response: requests.Response) -> tuple[int, int, int | None]:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", "").strip())
        if not match:
            raise ImageDownloadError(
                f"image {self.name}: the server answered 206 without a valid Content-Range; it does not "
                "serve ranges correctly.")
        first, last = int(match[1]), int(match[2])
        total = None if match[3] == "*" else int(match[3])
        if last < first or (total is not None and last >= total):
            raise ImageDownloadError(f"image {self.name}: the server answered with Content-Range bytes {first}-{last}/"
                           f"{match[3]}, which is not a range of the file; it does not serve ranges correctly.")
        return first, last, total

    def _body(self, response: requests.Response, length: int, *, exact: bool = True) -> bytes:
        """Up to `length` body bytes (exactly `length` when `exact`): a short body is a broken answer."""
        parts: list[bytes] = []
        got = 0
        try:
            while got < length:
                data = response.raw.read1(min(CHUNK, length - got), decode_content=False)
                if not data:
                    break
                parts.append(data)
                got += len(data)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _Broken(f"the answer broke off after {got} bytes ({_short(exc)})") from None
        finally:
            self.bytes_read += got
        if exact and got < length:
            raise _Broken(f"the answer ended after {got} of {length} bytes")
        return b"".join(parts)

    def _validators(self) -> dict[str, str]:
        """Headers that make a later request fail (412) rather than answer from another version of the file."""
        answer = self.probe()
        if answer.etag:
            return {"If-Match": answer.etag}
        if answer.last_modified:
            return {"If-Unmodified-Since": answer.last_modified}
        return {}

    def _gave_up(self, exc: _Broken, at: int) -> ImageDownloadError:
        return ImageDownloadError(
            f"image {self.name} could not be read at byte {at}: {exc} ({RETRIES} retries did not help); "
            "check the network and the server, then run again.")

    # --- random access -------------------------------------------------------------------------------------------

    @property
    def size(self) -> int | None:
        return self.probe().size

    @property
    def ranges(self) -> bool:
        return self.probe().ranges

    def pread(self, offset: int, length: int) -> bytes:
        """Up to `length` bytes at `offset` (fewer only at the end of the file), by range requests: BLOCK-aligned
        blocks, the last CACHED of them kept, a larger read fetched in one request."""
        answer = self.probe()
        if not answer.ranges or answer.size is None:
            raise ImageDownloadError(
                f"image {self.name}: the server does not answer range requests, which reading this image "
                "at random offsets needs; download it and give the file.")
        end = min(offset + length, answer.size)
        if offset >= end:
            return b""
        if end - offset > BLOCK:
            return self._range(offset, end - offset)
        parts: list[bytes] = []
        pos = offset
        while pos < end:
            index = pos // BLOCK
            block = self._blocks.get(index)
            if block is None:
                start = index * BLOCK
                block = self._range(start, min(BLOCK, answer.size - start))
                self._blocks[index] = block
                if len(self._blocks) > CACHED:
                    self._blocks.popitem(last=False)
            else:
                self._blocks.move_to_end(index)
            lo = pos - index * BLOCK
            piece = block[lo : lo + end - pos]
            parts.append(piece)
            pos += len(piece)
        return b"".join(parts)

    def _range(self, offset: int, length: int) -> bytes:
        """Exactly the `length` bytes at `offset` (inside the file), resuming a broken answer where it broke."""
        parts: list[bytes] = []
        got, failures = 0, 0
        while got < length:
            try:
                response = self._get({"Range": f"bytes={offset + got}-{offset + length - 1}", **self._validators()})
                try:
                    self._status_ok(response, (206,))
                    first, last, total = self._content_range(response)
                    if (first, last) != (offset + got, offset + length - 1) or total != self.size:
                        raise ImageDownloadError(
                            f"image {self.name}: asked for bytes {offset + got}-{offset + length - 1}, the "
                            f"server answered bytes {first}-{last}/{total}; it does not serve ranges "
                            "correctly, or the file changed.")
                    data = self._body(response, length - got)
                finally:
                    response.close()
            except _Broken as exc:
                failures += 1
                if failures > RETRIES:
                    raise self._gave_up(exc, offset + got) from None
                time.sleep(_BACKOFF[min(failures - 1, len(_BACKOFF) - 1)])
                continue
            parts.append(data)
            got += len(data)
        return b"".join(parts)

    # --- in order --------------------------------------------------------------------------------------------------

    def stream(self) -> WebStream:
        return WebStream(self)

    def close(self) -> None:
        self.session.close()


class WebStream:
    """The file's bytes from the start, in order, through one GET; a broken answer is resumed where it broke (a
    Range request, when the server answers them; otherwise the file again from its start, skipping what was read)."""

    def __init__(self, web: WebFile) -> None:
        self.web = web
        self.pos = 0
        self._response: requests.Response | None = None
        self._skip = 0  # bytes to drop from a restarted answer (a server without ranges starts over)
        self._failures = 0
        self._window: collections.deque[tuple[float, int]] = collections.deque()  # (time, pos): the trickle check

    def _open(self) -> requests.Response:
        web, answer = self.web, self.web.probe()
        if self.pos and answer.ranges:
            response = web._get({"Range": f"bytes={self.pos}-", **web._validators()})
            web._status_ok(response, (206,))
            first, _last, total = web._content_range(response)
            if first != self.pos or total != answer.size:
                response.close()
                raise ImageDownloadError(
                    f"image {web.name}: asked for the bytes from {self.pos} on, the server answered from "
                    f"{first} of {total}; it does not serve ranges correctly, or the file changed.")
            self._skip = 0
        else:
            response = web._get(web._validators())
            web._status_ok(response, (200,))
            length = _content_length(response)
            if answer.size is not None and length is not None and length != answer.size:
                response.close()
                raise ImageDownloadError(
                    f"image {web.name} changed on the server while it was being read ({answer.size} bytes "
                    f"at first, now {length}); run again to read the new file from its start.")
            self._skip = self.pos
        return response

    def read(self, size: int) -> bytes:
        """Up to `size` bytes (at most CHUNK); b"" at the end of the file."""
        web = self.web
        total = web.probe().size
        size = min(size, CHUNK)
        if total is not None:
            size = min(size, total - self.pos)
            if size <= 0:
                return b""
        while True:
            try:
                if self._response is None:
                    self._response = self._open()
                data = self._read_some(self._response, size)
                if not data:
                    if total is not None and self.pos < total:
                        raise _Broken(f"the answer ended after byte {self.pos} of {total}")
                    return b""
                self._failures = 0
                self.pos += len(data)
                self._trickle()
                return data
            except _Broken as exc:
                self._close_response()
                self._failures += 1
                if self._failures > RETRIES:
                    raise web._gave_up(exc, self.pos) from None
                time.sleep(_BACKOFF[min(self._failures - 1, len(_BACKOFF) - 1)])

    def _read_some(self, response: requests.Response, size: int) -> bytes:
        web = self.web
        try:
            while self._skip:  # a restarted answer: drop what was read before
                dropped = response.raw.read1(min(CHUNK, self._skip), decode_content=False)
                if not dropped:
                    raise _Broken(f"the answer ended after {self.pos - self._skip} bytes")
                web.bytes_read += len(dropped)
                self._skip -= len(dropped)
            data = response.raw.read1(size, decode_content=False)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _Broken(f"the answer broke off after byte {self.pos} ({_short(exc)})") from None
        web.bytes_read += len(data)
        return bytes(data)

    def _trickle(self) -> None:
        now = time.monotonic()
        window = self._window
        window.append((now, self.pos))
        while len(window) > 1 and now - window[1][0] >= STALL:
            window.popleft()
        if now - window[0][0] >= STALL and self.pos - window[0][1] < MIN_BYTES:
            raise ImageDownloadError(
                f"image {self.web.name} arrives too slowly: less than {MIN_BYTES} bytes in {STALL:.0f} "
                "seconds; try again later or from another mirror.")

    def _close_response(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None

    def close(self) -> None:
        self._close_response()


class _Broken(Exception):
    """A failure that a retry may cure: no connection, a broken or short answer, a 5xx, 408 or 429."""


def _content_length(response: requests.Response) -> int | None:
    text = response.headers.get("Content-Length")
    if text is None or not text.strip().isdigit():
        return None
    return int(text)


def _short(exc: BaseException) -> str:
    """An exception's text without URLs (they may carry a query string) and kept to one short line."""
    text = re.sub(r"(?i)\b(https?://)[^\s'\"]*", lambda m: m[1] + "...", str(exc) or type(exc).__name__)
    text = " ".join(text.split())
    return text[:160] + ("..." if len(text) > 160 else "")


__all__ = ["Answer", "WebFile", "WebStream", "check_image_url", "shown_url"]
