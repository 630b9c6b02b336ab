"""The secret scan every end-to-end test ends with (tests/secrets_scan.py): it must find a secret however it was
shown, whole or in pieces, and name where without showing it."""

from __future__ import annotations

import pytest

from tests.secrets_scan import SecretScan

SECRET = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1"


class Event:
    def __init__(self, message: str) -> None:
        self.diagnostic = {"message": message, "severity": "error"}


@pytest.mark.parametrize("shown", [
    SECRET,
    f"key={SECRET[5:17]}...",  # any 12 characters
    SECRET.encode(),
    ValueError(f"bad {SECRET}"),
    Event(f"property value {{{SECRET[-12:]}}}"),
    {"outputs": [{"key": SECRET}]},
])
def test_finds_a_secret_or_a_12_character_piece_of_it_anywhere(shown: object) -> None:
    scan = SecretScan()
    scan.secret(SECRET)
    scan.saw("harmless", "nothing here")
    scan.saw("leaky", shown)
    (hit,) = scan.hits()
    assert hit.startswith("leaky: piece ") and hit.endswith(f" of secret 0 (length {len(SECRET)})")
    with pytest.raises(AssertionError) as leaked:
        scan.assert_clean()
    assert "leaky" in str(leaked.value) and "harmless" not in str(leaked.value)
    assert SECRET[:12] not in str(leaked.value) and SECRET[:12] not in repr(scan)


def test_an_11_character_piece_or_other_text_is_not_a_hit() -> None:
    scan = SecretScan()
    scan.secret(SECRET)
    scan.saw("short", SECRET[:11] + " and " + SECRET[-11:])
    scan.assert_clean()


def test_an_empty_scan_proves_nothing() -> None:
    with pytest.raises(AssertionError):
        SecretScan().assert_clean()
