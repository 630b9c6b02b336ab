"""One check for every output a test captures: no secret, and no 12-character piece of one, in any of it.

A `SecretScan` holds the secrets a test used (account keys, SAS tokens, the secret parts of connection
strings) and collects what the test saw: command output, engine events, error texts, state files,
stack config files. `assert_clean()` fails naming where a piece of which secret was found (the piece
itself is not shown, so a failing run does not print the secret either).

A piece is any 12 consecutive characters of a secret: enough to catch a secret that was cut, wrapped or
partly redacted, and long enough that base64 keys and random signatures cannot match by chance.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PIECE = 12


@dataclasses.dataclass(repr=False)
class SecretScan:
    secrets: list[str] = dataclasses.field(default_factory=list)
    seen: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (where, text)

    def __repr__(self) -> str:
        # pytest shows the objects of a failing frame: never the secrets themselves.
        return f"SecretScan({len(self.secrets)} secrets, {len(self.seen)} outputs)"

    def secret(self, *values: str) -> None:
        """Register secrets to look for (empty values are ignored)."""
        self.secrets += [value for value in values if value]

    def saw(self, where: str, text: object) -> None:
        """Record something a person or a file would see: a string, bytes, an exception, or any object (its
        JSON form, or its repr when it has none)."""
        self.seen.append((where, _text(text)))

    def saw_file(self, path: Path) -> None:
        if path.exists():
            self.saw(str(path), path.read_bytes())

    def saw_files(self, paths: Iterable[Path]) -> None:
        for path in paths:
            self.saw_file(path)

    def hits(self) -> list[str]:
        """Where a secret (or a piece of one) was seen: `where: piece N of secret M`, never the piece."""
        found = []
        for index, secret in enumerate(self.secrets):
            pieces = _pieces(secret)
            for where, text in self.seen:
                for number, piece in enumerate(pieces):
                    if piece in text:
                        found.append(f"{where}: piece {number} of secret {index} (length {len(secret)})")
                        break
        return found

    def assert_clean(self) -> None:
        assert self.secrets, "a scan without secrets proves nothing"
        assert self.seen, "a scan of nothing proves nothing"
        hits = self.hits()
        assert not hits, "secrets leaked:\n" + "\n".join(hits)


def _pieces(secret: str) -> list[str]:
    if len(secret) <= PIECE:
        return [secret]
    return [secret[i:i + PIECE] for i in range(len(secret) - PIECE + 1)]


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    try:
        return json.dumps(_plain(value), default=repr)
    except (TypeError, ValueError):
        return repr(value)


def _plain(value: Any) -> Any:
    """Engine events and results are nested dataclasses and enums: as plain JSON-able data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return {k: _plain(v) for k, v in vars(value).items()}
    return value
