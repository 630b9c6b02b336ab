"""What the command modules share: exit codes (decided here, once), argument parsing helpers, printing.

Standard library only, and it imports neither main nor blob, so imports flow one way:
main -> blob -> common.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, NoReturn, TextIO

from ..errors import DEBUG_ENV, InputError, InternalError, UsageError, VhdError, scrub
from ..format.images.report import FileReport, ImageReport
from ..format.report import DiskReport

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130
EXIT_CODES_HELP = """exit codes:
  0    done (inspect: the disk is valid and Azure-ready)
  1    the disk has problems, or storage refused the operation (exists, not found, leased, forbidden,
       throttled, would shrink) or could not be reached
  2    the input or the command line is wrong; nothing was sent or written
  130  interrupted (Ctrl-C)
every failure is one line on stderr starting with "vhdcore: error:"."""

# az's --output names. table (the default) is for people; json and tsv are for scripts.
OUTPUT_FORMATS = ("table", "json", "tsv")


def exit_code(error: BaseException) -> int:
    """The exit code for an error, by fault: the caller's input 2; storage refusing or failing, or a bug, 1."""
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return EXIT_USAGE if isinstance(error, InputError) else EXIT_PROBLEMS


def error_line(error: BaseException) -> str:
    """The one line printed for an error; anything blank-vhd did not raise on purpose is a bug."""
    if isinstance(error, KeyboardInterrupt):
        return "vhdcore: interrupted"
    if isinstance(error, InternalError):
        return f"vhdcore: internal error: {error} (a bug in blank-vhd; please report it)"
    if isinstance(error, VhdError):
        return f"vhdcore: error: {error}"
    return (f"vhdcore: internal error: {type(error).__name__}: {scrub(str(error))} (a bug in blank-vhd; run again with "
            f"{DEBUG_ENV}=1 for the traceback and please report it)")


class Parser(argparse.ArgumentParser):
    """One-line usage errors; descriptions and epilogs keep their own line breaks (the exit-code list)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        # One line, as for every other input error, instead of argparse's usage block.
        raise UsageError(f"{message} (see {self.prog} --help)")


def parse_timestamp(text: str) -> datetime | float:
    # isdigit() alone also accepts digits such as "²" that int() cannot read; int keeps every second
    # exact where float would round.
    if text.isascii() and text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--timestamp {text!r} is neither ISO 8601 like 2024-01-01T00:00:00Z nor Unix seconds."
        ) from None
    if when.tzinfo is None:
        raise UsageError(f"--timestamp {text!r} has no time zone; append Z for UTC.")
    return when


def add_output_option(parser: argparse.ArgumentParser) -> None:
    """az's `--output/-o json|table|tsv`, and `--json` (the older spelling of `-o json`)."""
    parser.add_argument("--output", "-o", choices=OUTPUT_FORMATS, default="table",
                        help="table (default): for people; json: one JSON object; tsv: the JSON object's values on "
                        "one tab-separated line, in its key order (lists as their number of items, null as empty)")
    parser.add_argument("--json", dest="output", action="store_const", const="json", default=argparse.SUPPRESS,
                        help="the same as --output json")


def print_result(doc: Mapping[str, Any], table: str, output: str) -> None:
    """Print a command's result as `output` asks: `table` is the human text, json and tsv come from `doc`."""
    if output == "json":
        print(json.dumps(doc, indent=2))
    elif output == "tsv":
        print(tsv_line(doc))
    else:
        print(table)


def tsv_line(doc: Mapping[str, Any]) -> str:
    """The values of a JSON object on one tab-separated line, in key order (new keys are only ever appended, so
    columns stay where scripts expect them): lists as their number of items, booleans as true/false, None as
    empty, tabs and newlines inside values as spaces."""

    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (list, tuple, dict)):
            return str(len(value))
        return str(value).replace("\t", " ").replace("\n", " ")

    return "\t".join(cell(value) for value in doc.values())


def print_report(report: DiskReport | FileReport | ImageReport, *, output: str) -> int:
    print_result(report.to_json(), report.to_table(), output)
    return EXIT_OK if report.azure_ready else EXIT_PROBLEMS


class StatusLine:
    """While a storage operation is slow, one line on a terminal's stderr, rewritten in place each second:
    what it waits for, for how long, and the retry under way. Nothing at all when stderr is not a terminal
    (a pipe or a log file gets only the result), nor for an operation done within `delay` seconds.
    A plain thread and ANSI erase-line: no dependency for one line."""

    def __init__(self, what: str, *, stream: TextIO | None = None, delay: float = 1.0) -> None:
        self.what, self.stream, self.delay = what, stream or sys.stderr, delay
        self.note = "waiting"
        self.shown = False
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def retrying(self, note: str) -> None:
        """Called by the retry policy (ClientOptions.on_retry) before each retry."""
        self.note = note

    def __enter__(self) -> StatusLine:
        if self.stream.isatty():
            self._thread = threading.Thread(target=self._run, name="vhdcore-status", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        if self.shown:
            self.stream.write("\r\x1b[K")  # leave the terminal as it was: the result or error follows
            self.stream.flush()

    def _run(self) -> None:
        start = time.monotonic()
        while not self._done.wait(0.25 if not self.shown else 1.0):
            elapsed = time.monotonic() - start
            if elapsed >= self.delay:
                self.stream.write(f"\r\x1b[K{self.what}: {self.note} ({elapsed:.0f} s)")
                self.stream.flush()
                self.shown = True
