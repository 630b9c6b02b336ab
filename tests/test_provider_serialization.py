"""What the providers put into `__provider` (pickled into every resource's state), and where their
credentials come from when a resource has none: stack config read in configure(), then the
AZURE_STORAGE_* variables."""

from __future__ import annotations

import base64
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import dill
import pytest
from azurite_server import ACCOUNT_KEY, Azurite
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.dynamic.dynamic import serialize_provider

from providers.common import Account
from providers.container_provider import BlobContainerProvider
from providers.provider import BlankVhdProvider
from vhdcore.errors import AuthFailedError, VhdError
from vhdcore.format.sizes import GiB

ROOT = Path(__file__).resolve().parent.parent
SAS = "sv=2024-01-01&ss=b&srt=sco&sp=rwdlac&se=2099-01-01&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D"
pytestmark = pytest.mark.usefixtures("no_storage_env")


def configured(provider: BlankVhdProvider | BlobContainerProvider, **config: str) -> Any:
    """configure() as the provider process calls it: the whole stack config, namespaced keys."""
    raw = {f"blank-vhd:{key}": value for key, value in config.items()}
    provider.configure(ConfigureRequest(Config(raw_config=raw, project_name="blank-vhd")))
    return provider


@pytest.mark.parametrize("cls", [BlankVhdProvider, BlobContainerProvider])
def test_the_serialized_provider_is_a_small_secret_free_reference_that_round_trips(
    cls: type[Any], azurite: Azurite
) -> None:
    provider = configured(
        cls(), storageConnectionString=azurite.connection_string, storageAccountKey=ACCOUNT_KEY, storageSasToken=SAS
    )
    assert provider.target(Account()).blob_endpoint == azurite.endpoint  # configure() took effect
    serialized = serialize_provider(provider)
    raw = base64.b64decode(serialized)
    assert len(serialized) < 200, len(serialized)
    for secret in (azurite.connection_string, ACCOUNT_KEY, SAS, "AccountKey", "sig="):
        assert secret.encode() not in raw
    assert cls.__module__.encode() in raw and cls.__name__.encode() in raw  # by reference, no code
    loaded = dill.loads(raw)
    assert type(loaded) is cls
    assert loaded.target(Account(account_url="https://acct.blob.core.windows.net")).account_key is None  # unconfigured
    assert serialize_provider(loaded) == serialized  # stable: no diff of __provider between runs
    assert cls.serialize_as_secret_always is False


def test_an_auto_named_disks_provider_carries_only_the_resource_name_and_identity() -> None:
    identity = "organization/blank-vhd/dev//data-disk"
    serialized = serialize_provider(BlankVhdProvider(auto_name_prefix="data-disk", identity=identity))
    raw = base64.b64decode(serialized)
    assert len(serialized) < 300 and b"data-disk" in raw
    loaded = dill.loads(raw)
    assert vars(loaded) == {"auto_name_prefix": "data-disk", "identity": identity}
    assert serialize_provider(loaded) == serialized
    # States written by 0.1 pickled the class alone: they load as an explicitly named disk's provider, with no
    # identity (their random names are kept as they are).
    legacy = "gASVMQAAAAAAAACMEnByb3ZpZGVycy5wcm92aWRlcpSMEEJsYW5rVmhkUHJvdmlkZXKUk5QpgZR9lGIu"
    assert vars(dill.loads(base64.b64decode(legacy))) == {"auto_name_prefix": None, "identity": None}


def test_the_provider_process_can_load_the_serialized_provider(tmp_path: Path) -> None:
    # `python -m pulumi.dynamic` runs in the project directory with the venv: it must import the class.
    serialized = serialize_provider(BlankVhdProvider())
    code = "import base64, sys, dill; p = dill.loads(base64.b64decode(sys.argv[1])); print(type(p).__qualname__)"
    done = subprocess.run(
        [sys.executable, "-c", code, serialized], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "BlankVhdProvider"


def test_importing_the_providers_declares_nothing() -> None:
    # Without a Pulumi engine, declaring a resource at import time would raise.
    code = "import providers, providers.provider, providers.container_provider; print('ok')"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "ok"


def vhd_props(azurite: Azurite, container: str, **over: Any) -> dict[str, Any]:
    props = {"__provider": "x", "size_gb": 1.0, "container_name": container, "account_url": azurite.endpoint,
             "blob_name": "cfg.vhd", "adopt_existing": False, "allow_shrink_by_replace": False}
    return props | over


def test_a_disk_without_credentials_uses_the_connection_string_from_stack_config(
    azurite: Azurite, container: str
) -> None:
    provider = configured(BlankVhdProvider(), storageConnectionString=azurite.connection_string)
    props = vhd_props(azurite, container)
    assert provider.check({}, props).failures == []
    created = provider.create(props)
    assert created.outs is not None and created.outs["size_bytes"] == GiB
    assert not {"connection_string", "account_key", "sas_token"} & set(created.outs)  # none was an input
    read = provider.read(created.id, created.outs)
    assert read.id == created.id
    provider.delete(created.id, created.outs)
    assert provider.read(created.id, created.outs).id is None


def test_a_disk_without_credentials_uses_the_account_key_from_stack_config(azurite: Azurite, container: str) -> None:
    provider = configured(BlankVhdProvider(), storageAccountKey=ACCOUNT_KEY)
    created = provider.create(vhd_props(azurite, container, blob_name="key.vhd"))
    provider.delete(created.id, created.outs or {})


def test_without_config_the_environment_is_used(
    azurite: Azurite, container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    provider = BlankVhdProvider()
    created = provider.create(vhd_props(azurite, container, blob_name="env.vhd"))
    provider.delete(created.id, created.outs or {})


def test_stack_config_wins_over_the_environment(
    azurite: Azurite, container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = azurite.connection_string.replace(ACCOUNT_KEY, base64.b64encode(b"wrong key").decode())
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", wrong)
    provider = configured(BlankVhdProvider(), storageConnectionString=azurite.connection_string)
    created = provider.create(vhd_props(azurite, container, blob_name="wins.vhd"))
    provider.delete(created.id, created.outs or {})


def test_after_a_key_rotation_refresh_and_destroy_fall_back_to_config(azurite: Azurite, container: str) -> None:
    # The state holds the old key (a secret input); the stack config has the new one.
    old_key = base64.b64encode(b"rotated away").decode()
    provider = configured(BlankVhdProvider(), storageConnectionString=azurite.connection_string)
    created = provider.create(vhd_props(azurite, container, blob_name="rot.vhd", account_key=ACCOUNT_KEY))
    state = (created.outs or {}) | {"account_key": old_key}
    assert provider.read(created.id, state).id == created.id
    provider.delete(created.id, state)
    assert provider.read(created.id, state).id is None
    # Without a fallback credential the refusal is a clear one-sentence error.
    with pytest.raises(AuthFailedError, match="refused the credentials"):
        BlankVhdProvider().read(created.id, state)


def test_a_vhd_error_raised_in_the_provider_process_logs_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("grpc._server")
    with caplog.at_level(logging.ERROR, logger="grpc._server"):
        for exc in (VhdError("a clear sentence."), KeyError("x")):
            try:
                raise exc
            except Exception:
                logger.exception("Exception calling application: %s", exc)
    assert [r.getMessage() for r in caplog.records] == ["Exception calling application: 'x'"]
