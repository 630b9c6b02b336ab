"""What the command modules share: exit codes (decided here, once), argument parsing helpers, printing.

Standard library only, and it imports neither command nor blob, so imports flow one way:
main -> blob -> common.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import DEBUG_ENV, InputError, InternalError, UsageError, VhdError, scrub
from ..format.images.report import FileReport, ImageReport
from ..format.report import DiskReport

if TYPE_CHECKING:
    from ..sources.report import SourceReport

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


def add_output_option(parser: argparse.ArgumentParser, *, rows: str | None = None) -> None:
    """az's `--output/-o json|table|tsv`, and `--json` (the older spelling of `-o json`). `rows` names what a
    command that prints many objects prints (one per row, one JSON array)."""
    shape = ("table (default): for people; json: one JSON object; tsv: the JSON object's values on one "
             "tab-separated line, in its key order (lists as their number of items, null as empty)") if rows is None \
        else (f"table (default): for people, one {rows} a row; json: a JSON array of objects, one per {rows}; tsv: "
              f"one tab-separated line per {rows}, the object's values in its key order")
    parser.add_argument("--output", "-o", choices=OUTPUT_FORMATS, default="table", help=shape)
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


def print_rows(rows: Sequence[Mapping[str, Any]], headers: Mapping[str, str], output: str) -> None:
    """Print many objects as `output` asks: json one array, tsv one line each, table the `headers` columns (key ->
    title) under their titles. Text that came from a service is shown escaped where it would not print."""
    if output == "json":
        print(json.dumps(list(rows), indent=2))
    elif output == "tsv":
        for row in rows:
            print(printable(tsv_line(row)))
    else:
        cells = [[printable(str(row[key])) for key in headers] for row in rows]
        widths = [max([len(title), *(len(line[i]) for line in cells)]) for i, title in enumerate(headers.values())]
        for line in ([*headers.values()], ["-" * width for width in widths], *cells):
            print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def printable(text: str) -> str:
    """`text` with every character that would not print (a terminal escape, a newline) shown as its escape."""
    return "".join(c if c.isprintable() or c == "\t" else repr(c)[1:-1] for c in text)


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


def print_report(report: DiskReport | FileReport | ImageReport | SourceReport, *, output: str) -> int:
    print_result(report.to_json(), report.to_table(), output)
    return EXIT_OK if report.azure_ready else EXIT_PROBLEMS

