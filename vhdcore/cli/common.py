"""What both CLI modules share: exit codes, the usage error, argument parsing helpers, report printing.

Standard library only, and it imports neither cli nor blob_cli, so imports flow one way:
cli -> blob_cli -> cli_common.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import NoReturn

from .errors import VhdError
from .report import DiskReport

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class UsageError(VhdError):
    pass


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
