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
# What a credential looks like: a connection string's key or SAS, a SAS signature, an account key (base64).
_CREDENTIAL = re.compile(r"(?i)(accountkey|sharedaccesssignature)=|(^|[?&;])sig=")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")


class Parser(argparse.ArgumentParser):
    """One-line usage errors without secrets; descriptions and epilogs keep their own line breaks (the exit-code
    list)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)
        self._parsing: list[str] = []
        self._secret_flags: set[str] = set()

    def add_secret_argument(self, group: argparse._ArgumentGroup, *flags: str, **kwargs: Any) -> None:
        """`group.add_argument(*flags, ...)` (a group of this parser) for a flag whose value is or may hold a
        credential: glued by a typo to a short flag (`-caccount-key=KEY`: -c with the value 'account-key=KEY'), it
        is refused instead of becoming that short flag's value, which a later error would quote."""
        group.add_argument(*flags, **kwargs)
        self._secret_flags.update(flags)

    def parse_known_args(  # type: ignore[override]  # typeshed's overloads; same behaviour
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        # Subcommands call this on their own parser with the rest of the command line, so each parser knows what
        # it was given when its error() runs.
        self._parsing = list(sys.argv[1:] if args is None else args)
        for token in self._parsing:
            if token == "--":
                break
            if (refused := self._glued(token)) is not None:
                self.error(refused)
        return super().parse_known_args(args, namespace)

    def _glued(self, token: str) -> str | None:
        """Why `token`, a known short flag with a value glued to it, is refused, or None. A one-letter typo of a
        secret flag reads that way: `-connection-string=CS` is -c with the value 'onnection-string=CS', and
        `-caccount-key KEY` gives -c 'account-key' and leaves KEY to a positional; either value would then be
        quoted by the error about it. So a glued value holding '=' (no container, blob name or output format
        needs one glued on) and a glued secret flag's name are refused, naming the flag only."""
        short, glued = token[:2], token[2:]
        if token.startswith("--") or short not in self._option_string_actions or not glued or glued[0] == "=":
            return None  # not a short flag of this parser with a value glued on (-c=VALUE is argparse's own form)
        name = glued.partition("=")[0]
        for flag in sorted(self._secret_flags):
            if name == flag.removeprefix("--"):
                return f"{short}{name}{'=' + HIDDEN if '=' in glued else ''} reads as {short} with the value " \
                       f"'{name}...', so it is refused as a mistyped {flag}; write {flag} with two dashes"
        if "=" in glued:
            return f"{short}{HIDDEN} (a value holding '=' glued to {short}) is refused, as it reads like a mistyped " \
                   f"long flag; write {short} VALUE with a space, or the long flag with two dashes"
        return None

    def error(self, message: str) -> NoReturn:
        # One line, as for every other input error, instead of argparse's usage block.
        known = set(self._option_string_actions)  # argparse's map of this parser's flags (exact names only)
        raise UsageError(f"{hide_values(message, self._parsing, known)} (see {self.prog} --help)")


def hide_values(message: str, argv: Sequence[str], known: Iterable[str]) -> str:
    """`message` with every value of `argv` that could be a credential replaced by HIDDEN (see the module's rule).
    `known`: the flags the parser knows by their exact name."""
    exact = set(known)
    shaped: set[str] = set()  # values no plain word is: hidden wherever they appear
    followed: list[tuple[str, str]] = []  # (unknown flag, its plain value): hidden where argparse shows them
    previous: str | None = None  # the previous token, when it was a flag this parser does not know
    options_ended = False
    for token in argv:
        if options_ended or token == "-" or not token.startswith("-") or _NUMBER.fullmatch(token):
            if not _PLAIN.fullmatch(token):
                shaped.add(token)
            elif previous is not None:
                followed.append((previous, token))
            previous = None
            continue
        if token == "--":
            options_ended, previous = True, None
            continue
        flag, equals, value = token.partition("=")
        if not token.startswith("--") and len(token) > 2 and token[:2] in exact and flag not in exact:
            flag, equals, value = token[:2], "", token[2:]  # -oVALUE (even -oVAL=UE): a short flag, its value attached
        unknown = flag not in exact
        if not _FLAG.fullmatch(flag):
            shaped.add(token)  # not even a flag's name: show none of it
        elif value and not _PLAIN.fullmatch(value):
            shaped.add(value)
        elif value and unknown:
            followed.append((flag + equals, value))
        previous = flag if unknown and not value else None
    for value in sorted(shaped, key=len, reverse=True):
        message = _replace(message, value)
    for flag, value in followed:
        # Only beside its flag (and quoted), so that a plain word elsewhere in the message stays.
        message = message.replace(f"{flag}{'' if flag.endswith('=') else ' '}{value}",
                                  f"{flag}{'' if flag.endswith('=') else ' '}{HIDDEN}")
        message = message.replace(repr(value), HIDDEN)
    return message


def _replace(message: str, value: str) -> str:
    # Quoted as argparse quotes values (repr), then as it prints them bare (space-joined, or after '=').
    for quoted in {repr(value), f'"{value}"', f"'{value}'"}:
        message = message.replace(quoted, HIDDEN)
    for form in {value, repr(value)[1:-1]}:
        message = re.sub(rf"(?<![^\s=]){re.escape(form)}(?!\S)", HIDDEN, message)
    return message


def looks_like_credential(text: str) -> bool:
    """A connection string or SAS (it holds AccountKey=, SharedAccessSignature= or sig=), or an account key."""
    if _CREDENTIAL.search(text):
        return True
    return bool(_BASE64.fullmatch(text)) and all(any(test(c) for c in text) for test in (str.isupper, str.islower,
                                                                                          str.isdigit))


def hide_credentials(line: str, argv: Sequence[str]) -> str:
    """`line` without any value of `argv` shaped like a credential (looks_like_credential): a key or connection
    string given where a path or name was expected is quoted by the error about that path or name."""
    values = {part for token in argv for part in (token, token.partition("=")[2], token[2:])}
    for value in sorted(filter(looks_like_credential, values), key=len, reverse=True):
        for form in (repr(value), value, repr(value)[1:-1]):
            line = line.replace(form, HIDDEN)
    return line
