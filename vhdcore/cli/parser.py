"""The command line's argument parser: argparse, with every error one line that never shows a secret.

argparse quotes what it could not place: `unrecognized arguments: --acount-key <the key>`, `invalid choice:
'<a SAS token given where a command was expected>'`, `ambiguous option: --acc=<value>`, `ignored explicit
argument '<value>'`. Before such a message is shown, every value of the command line that could be a credential is
replaced by `<value hidden>`: whatever follows, or is attached to, a flag this parser does not know exactly (a
mistyped or abbreviated `--account-key` among them), and any value shaped like no plain word (long, or holding
`=`, `;`, `&`, `?`, `%`, `+` or spaces: keys, SAS tokens, connection strings, URLs with a query). Short plain
values (`lgin`, `crate`, `tabel`, `disk.vhd`) stay, so the usual typo is still shown. The rule works on the
message argparse wrote, whatever its wording in this Python version, since it matches the values themselves.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from ..errors import UsageError

HIDDEN = "<value hidden>"

# A value that can be shown: no credential is this short and plain (an account key is 88 base64 characters, a SAS
# token and a connection string hold '=' and '&' or ';').
_PLAIN = re.compile(r"[\w.,:/@~-]{1,24}")
# What a flag's name looks like; anything else that starts with '-' is shown hidden as a whole.
_FLAG = re.compile(r"--?[A-Za-z][A-Za-z0-9-]{0,38}")
_NUMBER = re.compile(r"-\d+(\.\d*)?|-\.\d+")


class Parser(argparse.ArgumentParser):
    """One-line usage errors without secrets; descriptions and epilogs keep their own line breaks (the exit-code
    list)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)
        self._parsing: list[str] = []

    def parse_known_args(  # type: ignore[override]  # typeshed's overloads; same behaviour
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        # Subcommands call this on their own parser with the rest of the command line, so each parser knows what
        # it was given when its error() runs.
        self._parsing = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        # One line, as for every other input error, instead of argparse's usage block.
        known = set(self._option_string_actions)  # argparse's map of this parser's flags (exact names only)
        raise UsageError(f"{hide_values(message, self._parsing, known)} (see {self.prog} --help)")


def hide_values(message: str, argv: Sequence[str], known: Iterable[str]) -> str:
    """`message` with every value of `argv` that could be a credential replaced by HIDDEN (see the module's rule).
    `known`: the flags the parser knows by their exact name."""
    exact = set(known)
    hidden: set[str] = set()
    after_unknown = False  # the previous token was a flag this parser does not know
    options_ended = False
    for token in argv:
        if options_ended or token == "-" or not token.startswith("-") or _NUMBER.fullmatch(token):
            if after_unknown or not _PLAIN.fullmatch(token):
                hidden.add(token)
            after_unknown = False
            continue
        if token == "--":
            options_ended, after_unknown = True, False
            continue
        flag, _, value = token.partition("=")
        if not token.startswith("--") and len(token) > 2 and token[:2] in exact and flag not in exact:
            flag, value = token[:2], token[2:]  # -oVALUE (even -oVAL=UE): a short flag with its value attached
        unknown = flag not in exact
        if not _FLAG.fullmatch(flag):
            hidden.add(token)  # not even a flag's name: show none of it
        elif value and (unknown or not _PLAIN.fullmatch(value)):
            hidden.add(value)
        after_unknown = unknown and not value
    for value in sorted(hidden, key=len, reverse=True):
        message = _replace(message, value)
    return message


def _replace(message: str, value: str) -> str:
    # Quoted as argparse quotes values (repr), then as it prints them bare (space-joined, or after '=').
    for quoted in {repr(value), f'"{value}"', f"'{value}'"}:
        message = message.replace(quoted, HIDDEN)
    for form in {value, repr(value)[1:-1]}:
        message = re.sub(rf"(?<![^\s=]){re.escape(form)}(?!\S)", HIDDEN, message)
    return message
