"""End to end: credentials that cannot work fail at preview with one sentence naming the input, and no secret
(nor a 12-character piece of one) reaches the CLI's output, its engine events, the state, the stack's config
file or `pulumi stack export`. The scan itself runs in the `e2e` fixture (tests/e2e_support.py)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from pulumi import automation as auto

from tests.e2e_support import E2E, without_sdk_cancellation

pytestmark = pytest.mark.e2e


def unique_key() -> str:
    """A well-formed account key nobody else has."""
    return base64.b64encode(secrets.token_bytes(64)).decode()


def unique_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass
class Leak:
    """A resource whose account settings cannot work, the secret in them, and the sentence expected."""

    title: str
    account: dict[str, Any]
    secret: str
    says: str  # what follows "has a problem: " in the engine's error line


def scenarios(endpoint: str) -> list[Leak]:
    key, bad_key, token = unique_key(), f"Not!Base64{unique_token()}!", unique_token()
    connection = f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;BlobEndpoint={endpoint};"
    return [
        Leak("a malformed connection string holding a unique key",
             {"connection_string": f"{connection}AccountKey={key};Oops"}, key,
             "connection_string: the connection string has a part without '='"),
        Leak("a connection string with a key that is not base64",
             {"connection_string": f"{connection}AccountKey={bad_key}"}, bad_key,
             "connection_string: the account key in the connection string is not base64"),
        Leak("an account key that is not base64",
             {"account_url": endpoint, "account_key": bad_key}, bad_key,
             "account_key: the account key is not base64"),
        Leak("a SAS token with characters a URL cannot hold",
             {"account_url": endpoint, "sas_token": f"sv=2022-11-02&sp=rcw&sig={token} \"x\""}, token,
             "sas_token: the SAS token holds a character a URL query cannot"),
        Leak("an account URL carrying a SAS",
             {"account_url": f"{endpoint}?sv=2022-11-02&sp=rcw&sig={token}"}, token,
             f"account_url: account URL '{endpoint}' carries a query, fragment or user info"),
        Leak("a connection string and an account name",
             {"storage_account_name": "devstoreaccount1", "connection_string": f"{connection}AccountKey={key}"}, key,
             "storage_account_name and connection_string are both set"),
    ]


def disk_program(container: str, **account: Any) -> Callable[[], None]:
    def program() -> None:
        from providers import BlankVhd

        BlankVhd("vhd", size_gb=1, container_name=container, **account)

    return program


def refused(operation: Callable[[], object]) -> str:
    """What the CLI showed of the failure, less the inline host's report of a cancelled call (SDK_CANCELLED)."""
    with pytest.raises(auto.CommandError) as failed:
        operation()
    return without_sdk_cancellation(str(failed.value))


@contextmanager
def environment(e2e: E2E, **values: str) -> Iterator[None]:
    e2e.stack.workspace.env_vars.update(values)
    try:
        yield
    finally:
        for name in values:
            e2e.stack.workspace.env_vars.pop(name)


def test_check_failures_about_secrets_name_the_input_and_show_no_value(e2e: E2E) -> None:
    for leak in scenarios(e2e.azurite.endpoint):
        e2e.scan.secret(leak.secret)
        program = disk_program(e2e.container, **leak.account)
        for operation in (e2e.preview, e2e.up):
            text = refused(lambda: operation(program=program))  # noqa: B023 (called at once)
            assert f"resource 'vhd' has a problem: {leak.says}" in text, (leak.title, text)
            assert "property connection_string value" not in text and "property account_url value" not in text
            assert "Traceback" not in text, leak.title
        e2e.scan.assert_clean()  # here too, so that a hit names the scenario that made it
    assert not e2e.state_files() or "BlankVhd" not in e2e.state_files()[0].read_text()


def test_a_refused_key_fails_the_up_without_showing_it(e2e: E2E) -> None:
    key = unique_key()
    e2e.scan.secret(key)
    connection = (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};"
                  f"BlobEndpoint={e2e.azurite.endpoint};")
    program = disk_program(e2e.container, connection_string=connection)
    e2e.preview(program=program)  # no request at preview
    text = refused(lambda: e2e.up(program=program))
    assert "refused the credentials" in text and "Traceback" not in text


def test_bad_credentials_in_stack_config_or_the_environment_are_named_by_where_they_are(e2e: E2E) -> None:
    bad_key, token = f"Not!Base64{unique_token()}!", unique_token()
    e2e.scan.secret(bad_key, token)

    # The project's own program passes storageConnectionString to its resources as connection_string.
    e2e.stack.set_config("storageConnectionString", auto.ConfigValue(
        f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={bad_key};"
        f"BlobEndpoint={e2e.azurite.endpoint};", secret=True))
    text = refused(lambda: e2e.preview())
    assert "resource 'container' has a problem: connection_string: the account key in the connection string is not " \
        "base64" in text, text
    e2e.stack.set_config("storageConnectionString", auto.ConfigValue(e2e.azurite.connection_string, secret=True))

    # Provider config: the key for disks declared with only a location.
    located = disk_program(e2e.container, account_url=e2e.azurite.endpoint)
    e2e.stack.set_config("storageAccountKey", auto.ConfigValue(bad_key, secret=True))
    text = refused(lambda: e2e.preview(program=located))
    assert "has a problem: stack config blank-vhd:storageAccountKey: the account key is not base64" in text, text
    e2e.stack.remove_config("storageAccountKey")

    # The environment of the provider process (stack config's credentials would replace its secrets).
    e2e.stack.remove_config("storageConnectionString")
    bad_sas = f"sv=1&sig={token}\t"
    with environment(e2e, AZURE_STORAGE_ACCOUNT_URL=e2e.azurite.endpoint, AZURE_STORAGE_SAS_TOKEN=bad_sas):
        text = refused(lambda: e2e.up(program=disk_program(e2e.container)))
    assert "has a problem: AZURE_STORAGE_SAS_TOKEN: the SAS token holds a character" in text, text
