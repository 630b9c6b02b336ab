"""Messages blank-vhd did not write (a bug's exception, an SDK message) are scrubbed of anything shaped like a
credential before the command line or a provider shows them."""

from __future__ import annotations

import pytest

from providers.common import reported
from vhdcore.cli.common import error_line
from vhdcore.errors import InternalError, scrub

KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHM="
LEAKY = (f"URL can't contain control characters. '/c/b.vhd?sv=2022-11-02&sig=AbC%2Bdef\\n' and "
         f"DefaultEndpointsProtocol=https;AccountName=a;AccountKey={KEY};SharedAccessSignature=sv=1&sig=x")


def test_scrub_removes_signatures_and_connection_string_secrets() -> None:
    text = scrub(LEAKY)
    assert "AbC" not in text and KEY[:12] not in text and "sig=x" not in text
    assert "sig=<redacted>" in text and "AccountKey=<redacted>" in text and "AccountName=a" in text


def test_the_command_line_scrubs_an_unexpected_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VHDCORE_DEBUG", raising=False)
    line = error_line(ValueError(LEAKY))
    assert line.startswith("vhdcore: internal error: ValueError: URL can't contain") and KEY[:12] not in line


def test_a_provider_method_scrubs_an_unexpected_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VHDCORE_DEBUG", raising=False)

    @reported
    def create() -> None:
        raise ValueError(LEAKY)

    with pytest.raises(InternalError) as caught:
        create()
    assert "AbC" not in str(caught.value) and KEY[:12] not in str(caught.value)
