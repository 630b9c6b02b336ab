"""Progress on a terminal (tqdm): bytes read of the image, rate and time left, and bytes sent.

tqdm with disable=None draws only when stderr is a terminal, so scripts, pipes and CI logs get nothing but
the result; notes (rounding, resuming) go to stderr either way, between bar redraws. Imported by the
commands that copy data, when they run.
"""

from __future__ import annotations

import sys
from types import TracebackType

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
