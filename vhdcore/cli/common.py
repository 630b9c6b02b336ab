"""What the command modules share: exit codes (decided here, once), argument parsing helpers, printing.

Standard library only, and it imports neither main nor blob, so imports flow one way:
main -> blob -> common.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import NoReturn

from ..errors import DEBUG_ENV, InputError, InternalError, UsageError, VhdError
from ..format.report import DiskReport

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130
EXIT_CODES_HELP = (
    "exit codes: 0 done (inspect: the disk is valid and Azure-ready); 1 the disk has problems, storage refused "
    "the operation (exists, leased, forbidden, throttled, would shrink, not found) or failed; 2 the input or "
    "the command line is wrong (nothing was sent)."
)


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
    return (f"vhdcore: internal error: {type(error).__name__}: {error} (a bug in blank-vhd; run again with "
            f"{DEBUG_ENV}=1 for the traceback and please report it)")


class Parser(argparse.ArgumentParser):
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


def print_report(report: DiskReport, *, as_json: bool) -> int:
    print(json.dumps(report.to_json(), indent=2) if as_json else report.to_table())
    return EXIT_OK if report.azure_ready else EXIT_PROBLEMS
