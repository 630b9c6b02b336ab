"""Progress on a terminal, both kinds on tqdm: the byte bar of `convert` and `blob upload` (bytes read of the image,
rate, time left, bytes sent) and the status line of the other blob commands (what a slow request waits for).

tqdm with disable=None draws only when stderr is a terminal, so scripts, pipes and CI logs get nothing but
the result; notes (rounding, resuming) go to stderr either way, between bar redraws. Imported by the
commands when they run, so that the rest of the command line imports only the standard library.
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import NoReturn, TextIO

from tqdm import tqdm


class Progress:
    """A byte progress bar on stderr, silent when stderr is not a terminal."""

    def __init__(self, total: int, description: str) -> None:
        self._bar = tqdm(total=total, desc=description, unit="B", unit_scale=True, unit_divisor=1024,
                         disable=None, dynamic_ncols=True, leave=True, file=sys.stderr)
        self._sent = ""

    def update(self, read: int, sent: int | None = None) -> None:
        if sent is not None:
            self._sent = f"sent {tqdm.format_sizeof(sent, 'B', 1024)}"
            self._bar.set_postfix_str(self._sent, refresh=False)
        self._bar.update(read - self._bar.n)

    def retrying(self, note: str) -> None:
        """Called by the retry policy (ClientOptions.on_retry), from any upload thread, before each retry."""
        self._bar.set_postfix_str(f"{self._sent}, {note}" if self._sent else note)

    def note(self, text: str) -> None:
        tqdm.write(f"vhdcore: note: {text}.", file=sys.stderr)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._bar.close()


class StatusLine:
    """While a storage operation is slow, one line on a terminal's stderr, rewritten in place each second:
    `<what>: <note> (<elapsed> s)`, the note being what it waits for or the retry under way. Nothing at all
    when stderr is not a terminal (a pipe or a log file gets only the result), nor for an operation done within
    `delay` seconds; erased at the end, so the result or the error line that follows starts on a clean line."""

    def __init__(self, what: str, *, stream: TextIO | None = None, delay: float = 1.0) -> None:
        self.what, self.stream, self.delay = what, stream or sys.stderr, delay
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._line: tqdm[NoReturn] | None = None

    def retrying(self, note: str) -> None:
        """Called by the retry policy (ClientOptions.on_retry), from the SDK's thread, before each retry; the
        ticking thread draws it, so a retry within `delay` shows nothing either."""
        if self._line is not None:
            self._line.set_description_str(f"{self.what}: {note}", refresh=False)

    def __enter__(self) -> StatusLine:
        # No counter and no bar: the text is the description, then the seconds since the operation began.
        # leave=False erases the line on close (tqdm pads it with spaces and returns to column 0); dynamic_ncols
        # cuts it at the terminal's current width, since a wrapped line could not be rewritten in place.
        # (tqdm[NoReturn]: a tqdm over no iterable, as its stubs type it.)
        line: tqdm[NoReturn] = tqdm(desc=f"{self.what}: waiting", bar_format="{desc} ({elapsed_s:.0f} s)",
                                    total=None, disable=None, delay=self.delay, leave=False, dynamic_ncols=True,
                                    file=self.stream)
        self._line = line
        if not line.disable:
            self._thread = threading.Thread(target=self._tick, args=(line,), name="vhdcore-status", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        if self._line is not None:
            self._line.close()
            self.stream.flush()  # tqdm does not flush its final return to column 0

    def _tick(self, line: tqdm[NoReturn]) -> None:
        # tqdm honours `delay` only in update(), and calls that only when the count moves; a single request that
        # hangs moves nothing, so this thread ticks: every 0.25 s until the line first shows, then each second
        # (update(0) draws only once `delay` has passed, and returns True when it drew).
        shown = False
        while not self._done.wait(1.0 if shown else 0.25):
            shown = bool(line.update(0)) or shown
