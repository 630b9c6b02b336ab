"""vhdcore.azure.credentials: precedence, validation, secrecy, and SAS / Entra ID paths (live ones against Azurite)."""

from __future__ import annotations

import copy
import pickle
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.storage.blob import ContainerSasPermissions, ExponentialRetry, LinearRetry, generate_container_sas
from azurite_server import ACCOUNT, ACCOUNT_KEY, Azurite

from tests.faultproxy import CountingTransport, fast_options
from vhdcore.azure.credentials import DEV_ACCOUNT_KEY, ClientOptions, StorageTarget
from vhdcore.azure.page_blob import create_blank_vhd, delete_blank_vhd, grow_blank_vhd, inspect_blank_vhd
from vhdcore.errors import AuthFailedError, CredentialsError, StorageError
from vhdcore.format.sizes import MiB

KEY = "c2VjcmV0LWtleS1ieXRlcw=="  # base64 of b"secret-key-bytes"
KEY2 = "b3RoZXIta2V5LWJ5dGVz"
SAS = "sv=2024-08-04&sr=c&sp=rw&sig=c2VjcmV0LXNhcw%3D"
CS = f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={KEY};EndpointSuffix=core.windows.net"
DEV_CS = "UseDevelopmentStorage=true"


def resolved(env: dict[str, str], **explicit: Any) -> dict[str, Any]:
    target = StorageTarget.resolve(environ=env, **explicit)
    fields = ("account_url", "account_name", "endpoint_suffix", "connection_string", "account_key", "sas_token")
    return {k: getattr(target, k) for k in fields if getattr(target, k) not in (None, "core.windows.net")}


PRECEDENCE = [
    # (explicit, environment, resolved fields) -- see StorageTarget.resolve for the rules
    ({}, {"AZURE_STORAGE_CONNECTION_STRING": CS}, {"connection_string": CS}),
    ({}, {"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_KEY": KEY}, {"account_name": "acct", "account_key": KEY}),
    ({}, {"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_KEY": KEY, "AZURE_STORAGE_SAS_TOKEN": SAS},
     {"account_name": "acct", "sas_token": SAS}),  # like az: SAS preferred over key
    ({}, {"AZURE_STORAGE_ACCOUNT_URL": "https://acct.blob.core.windows.net", "AZURE_STORAGE_SAS_TOKEN": SAS},
     {"account_url": "https://acct.blob.core.windows.net", "sas_token": SAS}),
    ({}, {"AZURE_STORAGE_CONNECTION_STRING": CS, "AZURE_STORAGE_ACCOUNT": "other", "AZURE_STORAGE_KEY": KEY2},
     {"connection_string": CS}),  # the connection string beats account + key
    ({}, {"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_KEY": "", "AZURE_STORAGE_SAS_TOKEN": ""},
     {"account_name": "acct"}),  # empty variables count as unset
    ({"connection_string": DEV_CS}, {"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_KEY": KEY},
     {"connection_string": DEV_CS}),
    ({"account_name": "other"}, {"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_KEY": KEY},
     {"account_name": "other"}),  # another account: the key is not sent to it
    ({"account_name": "acct"}, {"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_KEY": KEY},
     {"account_name": "acct", "account_key": KEY}),
    ({"account_url": "https://acct.blob.core.windows.net/"}, {"AZURE_STORAGE_ACCOUNT": "acct",
                                                              "AZURE_STORAGE_SAS_TOKEN": SAS},
     {"account_url": "https://acct.blob.core.windows.net/", "sas_token": SAS}),
    ({"account_name": "acct"}, {"AZURE_STORAGE_CONNECTION_STRING": CS}, {"account_name": "acct", "account_key": KEY}),
    ({"account_url": "http://127.0.0.1:10000/devstoreaccount1"}, {"AZURE_STORAGE_CONNECTION_STRING": DEV_CS},
     {"account_url": "http://127.0.0.1:10000/devstoreaccount1", "account_key": DEV_ACCOUNT_KEY}),
    ({"account_name": "acct", "endpoint_suffix": "core.chinacloudapi.cn"},
     {"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_KEY": KEY},
     {"account_name": "acct", "endpoint_suffix": "core.chinacloudapi.cn"}),  # same name, other cloud
    ({"account_key": KEY2}, {"AZURE_STORAGE_CONNECTION_STRING": CS},
     {"account_url": "https://acct.blob.core.windows.net", "account_name": "acct", "account_key": KEY2}),
    ({"sas_token": SAS}, {"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_KEY": KEY},
     {"account_name": "acct", "sas_token": SAS}),
    ({"account_name": "acct", "account_key": KEY2}, {"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_SAS_TOKEN": SAS},
     {"account_name": "acct", "account_key": KEY2}),
    ({"account_url": None, "account_key": None}, {"AZURE_STORAGE_ACCOUNT": "acct"}, {"account_name": "acct"}),
    ({"endpoint_suffix": "core.usgovcloudapi.net"}, {"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_KEY": KEY},
     {"account_name": "acct", "endpoint_suffix": "core.usgovcloudapi.net", "account_key": KEY}),
    ({}, {"AZURE_STORAGE_AUTH_MODE": "login", "AZURE_STORAGE_CONNECTION_STRING": CS, "AZURE_STORAGE_ACCOUNT": "acct",
          "AZURE_STORAGE_KEY": KEY, "AZURE_STORAGE_SAS_TOKEN": SAS}, {"account_name": "acct"}),
    ({}, {}, {}),
]


@pytest.mark.parametrize(("explicit", "env", "expected"), PRECEDENCE)
def test_resolution_precedence(explicit: dict[str, Any], env: dict[str, str], expected: dict[str, Any]) -> None:
    assert resolved(env, **explicit) == expected


def test_resolve_rejects_unknown_settings() -> None:
    with pytest.raises(TypeError, match="unknown settings"):
        StorageTarget.resolve(environ={}, account="acct")


@pytest.mark.parametrize(
    ("target", "endpoint"),
    [
        (StorageTarget(account_name="acct"), "https://acct.blob.core.windows.net"),
        (StorageTarget(account_name="acct", endpoint_suffix="core.chinacloudapi.cn"),
         "https://acct.blob.core.chinacloudapi.cn"),
        (StorageTarget(account_url="https://acct.blob.core.windows.net/"), "https://acct.blob.core.windows.net"),
        (StorageTarget(connection_string=DEV_CS), "http://127.0.0.1:10000/devstoreaccount1"),
        (StorageTarget(connection_string=CS), "https://acct.blob.core.windows.net"),
        (StorageTarget(connection_string=f"accountname=acct;accountkey={KEY};endpointsuffix=core.chinacloudapi.cn;"
                                         "defaultendpointsprotocol=http", allow_plain_http=True),
         "http://acct.blob.core.chinacloudapi.cn"),
        (StorageTarget(connection_string=f"BlobEndpoint=https://disks.example.com/;SharedAccessSignature={SAS}"),
         "https://disks.example.com"),
    ],
)
def test_blob_endpoint(target: StorageTarget, endpoint: str) -> None:
    target.validate()
    assert target.blob_endpoint == endpoint


def test_use_development_storage_means_azurite_on_port_10000_with_its_key() -> None:
    client = StorageTarget.resolve(environ={"AZURE_STORAGE_CONNECTION_STRING": DEV_CS}).service_client()
    assert client.url.rstrip("/") == "http://127.0.0.1:10000/devstoreaccount1"
    assert client.credential.account_name == "devstoreaccount1"
    assert client.credential.account_key == DEV_ACCOUNT_KEY == ACCOUNT_KEY


INVALID = [
    (StorageTarget(connection_string=CS, account_url="https://acct.blob.core.windows.net"), "cannot be given with it"),
    (StorageTarget(connection_string=CS, account_key=KEY), "account_key cannot be given with it"),
    (StorageTarget(account_name="acct", account_key=KEY, sas_token=SAS), "both an account key and a SAS token"),
    (StorageTarget(), "no storage account given; give an account URL, account name or connection string"),
    (StorageTarget(account_url="acct.blob.core.windows.net", sas_token=SAS), "is not an http(s) URL"),
    (StorageTarget(account_url="ftp://acct.blob.core.windows.net", sas_token=SAS), "is not an http(s) URL"),
    (StorageTarget(account_url="https://acct.blob.core.windows.net:port", sas_token=SAS), "is not a valid URL"),
    (StorageTarget(account_url=f"https://acct.blob.core.windows.net/?{SAS}"), "carries a query"),
    (StorageTarget(account_url="https://acct.blob.core.windows.net/vhds/disk.vhd", sas_token=SAS),
     "more than an account in its path"),
    (StorageTarget(account_url="http://127.0.0.1:10000/devstoreaccount1"), "only sent over https"),
    (StorageTarget(account_name="Bad_Name", account_key=KEY), "is not 3 to 24 lowercase letters and digits"),
    (StorageTarget(account_name="acct", endpoint_suffix="https://core.windows.net"), "is not a DNS suffix"),
    (StorageTarget(account_name="acct", account_key="not base64!"), "is not base64"),
    (StorageTarget(account_name="acct", sas_token="sv=2024-08-04&sp=r"), "has no sig= field"),
    (StorageTarget(account_url="https://acct.blob.core.windows.net", account_name="other", sas_token=SAS),
     "belongs to account 'acct', not account name 'other'"),
    (StorageTarget(account_url="https://disks.example.com", account_key=KEY), "needs the account name"),
    (StorageTarget(connection_string="just-some-text"), "has a part without '='"),
    (StorageTarget(connection_string="DefaultEndpointsProtocol=https"), "names no account"),
    (StorageTarget(connection_string=f"AccountName=acct;AccountKey={KEY};SharedAccessSignature={SAS}"),
     "both an account key and a SAS token are given in the connection string"),
    (StorageTarget(connection_string=f"BlobEndpoint=https://disks.example.com;AccountKey={KEY}"),
     "has AccountKey but no AccountName"),
    (StorageTarget(connection_string="DefaultEndpointsProtocol=http;AccountName=acct"), "only sent over https"),
    (StorageTarget(connection_string="UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://p"),
     "DevelopmentStorageProxyUri is not supported"),
]


@pytest.mark.parametrize(("target", "message"), INVALID)
def test_validate_names_the_problem_in_one_sentence(target: StorageTarget, message: str) -> None:
    with pytest.raises(CredentialsError) as caught:
        target.validate()
    text = str(caught.value)
    assert message in text and text.endswith(".") and "\n" not in text
    assert "--" not in text  # no CLI flag: the same message reaches Pulumi users, who set input fields
    for secret in (KEY, SAS, "c2VjcmV0LXNhcw", "not base64!"):
        assert secret not in text


def test_repr_and_pickle_never_expose_secrets() -> None:
    targets = [StorageTarget(connection_string=CS), StorageTarget(account_name="acct", account_key=KEY),
               StorageTarget(account_url="https://acct.blob.core.windows.net", sas_token=SAS)]
    for target in targets:
        for text in (repr(target), str(target), f"{target}", repr([target])):
            assert KEY not in text and SAS not in text and "sig=" not in text
        assert "<set>" in repr(target)
        with pytest.raises(TypeError, match="must not be pickled"):
            pickle.dumps(target)
        with pytest.raises(TypeError, match="must not be pickled"):
            copy.copy(target)
    expected = "StorageTarget(account_name='acct', account_key=<set>)"
    assert repr(targets[1]) == expected
    assert repr(StorageTarget(account_url=f"https://acct.blob.core.windows.net/?{SAS}")) == (
        "StorageTarget(account_url='https://acct.blob.core.windows.net/')")


def test_client_options_build_azure_core_policies() -> None:
    retry = ClientOptions().client_kwargs()["retry_policy"]
    assert isinstance(retry, ExponentialRetry)
    assert (retry.total_retries, retry.initial_backoff, retry.increment_base) == (5, 2.0, 2.0)
    kwargs = ClientOptions(read_timeout=7, retry_policy=(linear := LinearRetry(retry_total=1))).client_kwargs()
    assert kwargs["retry_policy"] is linear and kwargs["read_timeout"] == 7 and "transport" not in kwargs


# --- live: SAS and Entra ID paths ------------------------------------------------------------------------


def container_sas(container: str, permission: ContainerSasPermissions) -> str:
    expiry = datetime.now(UTC) + timedelta(hours=1)
    return generate_container_sas(ACCOUNT, container, account_key=ACCOUNT_KEY, permission=permission, expiry=expiry)


def test_a_container_sas_does_everything(azurite: Azurite, container: str) -> None:
    sas = container_sas(container, ContainerSasPermissions(read=True, write=True, create=True, delete=True))
    target = StorageTarget.resolve(environ={"AZURE_STORAGE_ACCOUNT_URL": azurite.endpoint,
                                            "AZURE_STORAGE_SAS_TOKEN": "?" + sas})
    made = create_blank_vhd(target, container=container, name="sas.vhd", size=MiB)
    assert "sig=" not in made.url
    grow_blank_vhd(target, container=container, name="sas.vhd", size=2 * MiB)
    found = inspect_blank_vhd(target, container=container, name="sas.vhd")
    assert found is not None and found.report.azure_ready and found.blob_length == 2 * MiB + 512
    assert delete_blank_vhd(target, container=container, name="sas.vhd", unique_id=made.unique_id) is True


def test_a_read_only_sas_is_an_auth_failure_without_the_signature(azurite: Azurite, container: str) -> None:
    sas = container_sas(container, ContainerSasPermissions(read=True))
    target = StorageTarget(account_url=azurite.endpoint, sas_token=sas)
    with pytest.raises(AuthFailedError, match="refused the credentials while creating") as caught:
        create_blank_vhd(target, container=container, name="ro.vhd", size=MiB, options=fast_options())
    signature = sas.split("sig=")[1].split("&")[0]
    assert signature not in str(caught.value) and caught.value.code == "AuthorizationPermissionMismatch"


def test_connection_errors_do_not_leak_the_sas(container: str, closed_port: int) -> None:
    sas = container_sas(container, ContainerSasPermissions(read=True))
    target = StorageTarget(account_url=f"http://127.0.0.1:{closed_port}/{ACCOUNT}", sas_token=sas)
    with pytest.raises(StorageError, match="could not reach") as caught:
        inspect_blank_vhd(target, container=container, name="x", options=fast_options())
    signature = sas.split("sig=")[1].split("&")[0]
    assert signature not in str(caught.value) and caught.value.__cause__ is None and caught.value.status is None


class FakeTokenCredential:
    """A TokenCredential that counts calls; Azurite would accept its token only over https."""

    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        return AccessToken("not-a-real-token", int(datetime.now(UTC).timestamp()) + 3600)


def test_entra_id_over_http_is_refused_before_any_request(azurite: Azurite, container: str) -> None:
    fake, counter = FakeTokenCredential(), CountingTransport()
    target = StorageTarget(account_url=azurite.endpoint)
    options = fast_options(credential=fake, transport=counter)
    with pytest.raises(CredentialsError, match=r"Entra ID tokens .* are only sent over https"):
        create_blank_vhd(target, container=container, name="x", size=MiB, options=options)
    with pytest.raises(CredentialsError, match="only sent over https"):
        target.service_client(options)
    assert fake.calls == 0 and counter.requests == 0


def test_entra_id_uses_the_injected_credential_or_default_azure_credential() -> None:
    from azure.identity import DefaultAzureCredential

    fake, target = FakeTokenCredential(), StorageTarget(account_name="acct")
    assert target.service_client(ClientOptions(credential=fake)).credential is fake
    assert isinstance(target.service_client().credential, DefaultAzureCredential)


def test_a_default_azure_credential_is_closed_with_its_client_and_a_borrowed_one_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import azure.identity
    from azure.identity import DefaultAzureCredential

    closed: list[object] = []

    class Recording(DefaultAzureCredential):
        def close(self) -> None:
            closed.append(self)
            super().close()

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", Recording)
    target = StorageTarget(account_name="acct")
    with target.service_client() as client:
        made = client.credential
        assert isinstance(made, Recording) and closed == []
    assert closed == [made]
    target.service_client().close()
    assert len(closed) == 2
    fake = FakeTokenCredential()
    with target.service_client(ClientOptions(credential=fake)) as client:
        assert client.credential is fake
    assert len(closed) == 2  # the caller's credential stays open


# --- no key or SAS over plain http, except to this machine or with the explicit opt-in ---------------------


@pytest.mark.parametrize(
    "target",
    [
        StorageTarget(account_url="http://acct.blob.core.windows.net", sas_token=SAS),
        StorageTarget(account_url="http://acct.blob.core.windows.net", account_key=KEY),
        StorageTarget(account_url="http://disks.example.com/acct", sas_token=SAS),
        StorageTarget(connection_string=f"DefaultEndpointsProtocol=http;AccountName=acct;AccountKey={KEY}"),
        StorageTarget(connection_string=f"BlobEndpoint=http://disks.example.com/;SharedAccessSignature={SAS}"),
    ],
)
def test_a_key_or_sas_over_plain_http_to_another_machine_is_refused_before_any_request(target: StorageTarget) -> None:
    with pytest.raises(CredentialsError, match=r"is plain http on another machine, so the account key or SAS would "
                                               r"be sent in clear; use an https endpoint") as caught:
        target.validate()
    assert caught.value.settings in (("account_url",), ("connection_string",))
    with pytest.raises(CredentialsError):
        target.service_client()  # no client, so no request, either
    replace(target, allow_plain_http=True).validate()  # the explicit opt-in for a private endpoint


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:10000/devstoreaccount1", "http://127.8.9.1:10000/acct",
                                      "http://localhost:10000/devstoreaccount1", "http://[::1]:10000/devstoreaccount1"])
def test_plain_http_to_this_machine_is_fine_for_azurite(endpoint: str) -> None:
    StorageTarget(account_url=endpoint, account_key=KEY).validate()


def test_the_command_line_refuses_plain_http_before_any_request_and_takes_the_opt_in(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from vhdcore.cli import main

    for name in ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY",
                 "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_ACCOUNT_URL", "VHDCORE_ALLOW_PLAIN_HTTP"):
        monkeypatch.delenv(name, raising=False)
    args = ["blob", "delete", "--container", "vhds", "--name", "d.vhd", "--account-url",
            "http://acct.blob.core.windows.net", "--sas-token", SAS, "--unique-id", "ab" * 16]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "plain http on another machine" in err and SAS not in err
    # The flag and the variable are taken as the opt-in (checked by validation alone: no request is sent).
    from vhdcore.cli.account import storage_target
    from vhdcore.cli.command import build_parser

    for opt_in, env in (([ "--allow-plain-http"], None), ([], "1")):
        if env:
            monkeypatch.setenv("VHDCORE_ALLOW_PLAIN_HTTP", env)
        parsed = build_parser().parse_args(args + opt_in)
        target = storage_target(parsed)
        assert target.allow_plain_http is True
        target.validate()
