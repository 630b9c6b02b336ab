"""BlankVhdProvider.check and .diff, called the way the engine calls them: dict props, numbers as
floats, Unknown during preview, `__provider` in every bag. No request is made by either."""

from __future__ import annotations

import re
from typing import Any

import pulumi.runtime.settings
import pytest
from pulumi.dynamic import CheckFailure, ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.output import Unknown

from providers.common import Account
from providers.provider import BlankVhdProvider
from vhdcore.format.sizes import GiB

CONN = "UseDevelopmentStorage=true"
OTHER_CONN = "DefaultEndpointsProtocol=https;AccountName=other;AccountKey=a2V5;EndpointSuffix=core.windows.net"
pytestmark = pytest.mark.usefixtures("no_storage_env", "no_container_lookup")


class DeclaredProvider(BlankVhdProvider):
    """The provider as the engine unpickles it from each call's new `__provider`: BlankVhd("vhd", ...) pickles
    its name as the auto-name prefix only when blob_name is omitted; news() says which in `__provider`."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        self.auto_name_prefix = prefix_of(news)
        return super().check(olds, news)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        self.auto_name_prefix = prefix_of(news)
        return super().diff(id_, olds, news)


def prefix_of(props: dict[str, Any]) -> str | None:
    text = str(props.get("__provider"))
    return text.removeprefix("auto-named:") if text.startswith("auto-named:") else None


@pytest.fixture
def provider() -> BlankVhdProvider:
    return DeclaredProvider()


def news(**over: Any) -> dict[str, Any]:
    """Inputs as the engine sends them for `BlankVhd("vhd", size_gb=1, container_name="vhds", ...)`."""
    props: dict[str, Any] = {
        "__provider": "explicitly-named" if "blob_name" in over else "auto-named:vhd",
        "size_gb": 1.0,
        "container_name": "vhds",
        "connection_string": CONN,
        "adopt_existing": False,
        "allow_shrink_by_replace": False,
    }
    props.update(over)
    return {k: v for k, v in props.items() if v is not None}


def failures(provider: BlankVhdProvider, new: dict[str, Any], old: dict[str, Any] | None = None) -> list[CheckFailure]:
    return provider.check(old or {}, new).failures


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("size_gb", 0.0, ["size_gb 0", "between 1 and 8191"]),
        ("size_gb", -1.0, ["size_gb -1", "between 1 and 8191"]),
        ("size_gb", 1.5, ["size_gb 1.5", "whole number"]),
        ("size_gb", 8192.0, ["size_gb 8192", "8191"]),
        ("size_gb", "10", ["size_gb '10'", "whole number"]),
        ("size_gb", True, ["size_gb True", "whole number"]),
        ("size_gb", None, ["size_gb is required"]),
        ("container_name", None, ["container_name is required"]),
        ("container_name", "Bad_Name", ["'Bad_Name'", "lowercase"]),
        ("container_name", "ab", ["'ab'", "3 to 63"]),
        ("container_name", "a--b", ["'a--b'", "two hyphens"]),
        ("blob_name", "disk/", ["'disk/'", "slash"]),
        ("blob_name", "a//b.vhd", ["'a//b.vhd'", "path segments"]),
        ("metadata", {"1abc": "x"}, ["'1abc'", "C# identifier"]),
        ("metadata", {"vhdcore_marker": "x"}, ["'vhdcore_marker'", "reserves"]),
        ("metadata", {"owner": " padded "}, ["' padded '", "printable ASCII"]),
        ("adopt_existing", "yes", ["adopt_existing 'yes'", "true or false"]),
    ],
)
def test_check_names_the_bad_field_its_value_and_the_fix(
    provider: BlankVhdProvider, field: str, value: object, words: list[str]
) -> None:
    found = failures(provider, news(**{field: value}))
    assert [f.property for f in found] == [field]
    reason = found[0].reason
    for word in words:
        assert word in reason
    assert reason.endswith(".") and "\n" not in reason and "Traceback" not in reason


@pytest.mark.parametrize(
    ("account", "field", "words"),
    [
        ({"connection_string": None, "storage_account_name": "acct", "account_url": "https://acct.blob.core.windows.net"},
         "", ["storage_account_name and account_url are both set", "only one"]),
        ({"connection_string": CONN, "account_key": "a2V5"},
         "", ["connection_string and account_key: ", "connection string already names the account", "account_key"]),
        ({"connection_string": None, "account_url": "https://acct.blob.core.windows.net", "endpoint_suffix": "x.cn"},
         "endpoint_suffix", ["endpoint_suffix 'x.cn' only applies to storage_account_name"]),
        ({"connection_string": None, "storage_account_name": "Not_Valid"},
         "storage_account_name", ["'Not_Valid'", "lowercase letters and digits"]),
        ({"connection_string": None}, "storage_account_name",
         ["no storage account given", "storage_account_name, account_url or connection_string"]),
        ({"connection_string": None, "account_url": "https://acct.blob.core.windows.net/?sv=1&sig=x"},
         "", ["account_url: account URL 'https://acct.blob.core.windows.net/' carries a query", "SAS token on its"]),
        ({"connection_string": None, "account_url": "http://127.0.0.1:10000/devstoreaccount1"},
         "", ["account_url: blob endpoint http://127.0.0.1:10000/devstoreaccount1 is plain http", "key or SAS"]),
        ({"connection_string": None, "account_url": "https://acct.blob.core.windows.net/c/b.vhd"},
         "", ["account_url: ", "more than an account in its path"]),
        ({"connection_string": None, "storage_account_name": "acct", "sas_token": "sv=1"},
         "", ["sas_token: the SAS token has no sig= field"]),
        ({"connection_string": None, "storage_account_name": "acct", "sas_token": "sv=1&sig=a b"},
         "", ["sas_token: the SAS token holds a character a URL query cannot"]),
        ({"connection_string": None, "storage_account_name": "acct", "account_key": "not base64!"},
         "", ["account_key: the account key is not base64"]),
        ({"connection_string": "AccountName=acct;AccountKey=not base64!"},
         "", ["connection_string: the account key in the connection string is not base64"]),
        ({"connection_string": "AccountName=acct;AccountKey"},
         "", ["connection_string: the connection string has a part without '='"]),
        ({"connection_string": None, "storage_account_name": "acct", "account_key": "a2V5", "sas_token": "sv=1&sig=x"},
         "", ["account_key and sas_token: both an account key and a SAS token are given"]),
        ({"connection_string": None, "account_url": "http://acct.blob.core.windows.net", "account_key": "a2V5"},
         "", ["account_url: ", "plain http on another machine", "sent in clear", "allow plain http explicitly"]),
        ({"connection_string": "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5"},
         "", ["connection_string: ", "plain http on another machine"]),
    ],
)
def test_check_refuses_account_inputs_that_conflict_or_say_nowhere(
    provider: BlankVhdProvider, account: dict[str, Any], field: str, words: list[str]
) -> None:
    found = failures(provider, news(**account))
    assert [f.property for f in found] == [field]
    for word in words:
        assert word in found[0].reason
    assert "--" not in found[0].reason  # never a CLI flag: provider users set input fields
    assert found[0].reason.endswith(".") and not found[0].reason.endswith("..")
    for secret in ("a2V5", "not base64!", "sig=x", "sig=a b", "AccountKey"):
        assert secret not in found[0].reason


def test_a_failing_credential_from_stack_config_or_the_environment_is_named_by_its_source(
    provider: BlankVhdProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The user's project, set as the provider process sets it (from PULUMI_PROJECT) before configure().
    monkeypatch.setattr(pulumi.runtime.settings.SETTINGS, "project", "my-disks")
    raw = {"my-disks:storageAccountKey": "config key!"}
    provider.configure(ConfigureRequest(Config(raw_config=raw, project_name="my-disks")))
    found = failures(provider, news(connection_string=None, storage_account_name="acct"))
    assert [(f.property, f.reason) for f in found] == [("", (
        "stack config my-disks:storageAccountKey: the account key is not base64; copy key1 or key2 again from the "
        "storage account."))]
    provider.configure(ConfigureRequest(Config(raw_config={}, project_name="my-disks")))
    nowhere = failures(provider, news(connection_string=None))
    assert [f.property for f in nowhere] == ["storage_account_name"]
    assert "the stack config my-disks:storageConnectionString, or AZURE_STORAGE_CONNECTION_STRING" in nowhere[0].reason
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT", "acct")
    monkeypatch.setenv("AZURE_STORAGE_SAS_TOKEN", "sv=1&sig=x y")
    found = failures(provider, news(connection_string=None))
    assert [f.property for f in found] == [""] and found[0].reason.startswith("AZURE_STORAGE_SAS_TOKEN: the SAS token ")
    assert "x y" not in found[0].reason


def test_check_accepts_an_account_named_only_by_the_environment_or_stack_config(
    provider: BlankVhdProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT", "acct")
    monkeypatch.setenv("AZURE_STORAGE_SAS_TOKEN", "sv=1&sig=x")
    assert failures(provider, news(connection_string=None)) == []
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT")
    config = ConfigureRequest(Config(raw_config={"blank-vhd:storageConnectionString": CONN}, project_name="blank-vhd"))
    provider.configure(config)
    assert failures(provider, news(connection_string=None)) == []


def test_check_reports_one_failure_per_bad_field_at_once(provider: BlankVhdProvider) -> None:
    found = failures(provider, news(size_gb=0.0, container_name="X", blob_name="a/", adopt_existing=1.0))
    assert sorted(f.property for f in found) == ["adopt_existing", "blob_name", "container_name", "size_gb"]


def test_check_accepts_floats_and_returns_ints(provider: BlankVhdProvider) -> None:
    result = provider.check({}, news(size_gb=10.0, blob_name="data.vhd"))
    assert result.failures == []
    assert result.inputs["size_gb"] == 10 and type(result.inputs["size_gb"]) is int
    assert result.inputs["blob_name"] == "data.vhd"
    assert result.inputs["__provider"] == "explicitly-named"


def test_check_tolerates_unknowns_during_preview(provider: BlankVhdProvider) -> None:
    result = provider.check({}, news(size_gb=Unknown(), container_name=Unknown(), connection_string=Unknown(),
                                     metadata=Unknown(), allow_shrink_by_replace=Unknown()))
    assert result.failures == []
    assert isinstance(result.inputs["size_gb"], Unknown)
    assert re.fullmatch(r"vhd-[0-9a-f]{8}\.vhd", result.inputs["blob_name"])


def test_check_tolerates_an_unknown_shrink_opt_in(provider: BlankVhdProvider) -> None:
    old = provider.check({}, news(size_gb=2.0)).inputs
    assert failures(provider, news(size_gb=1.0, allow_shrink_by_replace=Unknown()), old) == []


def test_auto_name_is_chosen_once_kept_on_updates_and_fresh_on_a_replacement(provider: BlankVhdProvider) -> None:
    first = provider.check({}, news()).inputs
    assert re.fullmatch(r"vhd-[0-9a-f]{8}\.vhd", first["blob_name"])
    again = provider.check(first, news(size_gb=2.0)).inputs
    assert again["blob_name"] == first["blob_name"]
    # On a replacement the engine checks again without olds: a new name, so create-before-delete works.
    assert provider.check({}, news(size_gb=2.0)).inputs["blob_name"] != first["blob_name"]


def test_an_auto_name_made_from_a_bad_resource_name_says_to_give_blob_name(provider: BlankVhdProvider) -> None:
    found = failures(provider, news(__provider="auto-named:bad\x01name"))
    assert [f.property for f in found] == ["blob_name"]
    assert "give blob_name explicitly" in found[0].reason


def test_shrink_is_refused_at_check_with_why_and_how(provider: BlankVhdProvider) -> None:
    old = provider.check({}, news(size_gb=10.0)).inputs
    found = failures(provider, news(size_gb=4.0), old)
    assert [f.property for f in found] == ["size_gb"]
    reason = found[0].reason
    for word in ("shrink the 10 GiB disk", "truncates", "allow_shrink_by_replace to true", "new BlankVhd"):
        assert word in reason
    assert failures(provider, news(size_gb=4.0, allow_shrink_by_replace=True), old) == []
    assert failures(provider, news(size_gb=12.0), old) == []


# --- diff -----------------------------------------------------------------------------------------------


def state(provider: BlankVhdProvider, **over: Any) -> dict[str, Any]:
    """Outputs as a create of these inputs stores them (what diff gets as olds)."""
    inputs = provider.check({}, news(**over)).inputs
    size = int(inputs["size_gb"]) * GiB
    endpoint = provider.target(Account.from_props(inputs)).blob_endpoint
    return inputs | {
        "blob_endpoint": endpoint,
        "url": f"{endpoint}/{inputs['container_name']}/{inputs['blob_name']}",
        "size_bytes": size,
        "blob_length": size + 512,
        "unique_id": "0" * 32,
        "azure_ready": True,
        "adopted": False,
    }


def checked(provider: BlankVhdProvider, old: dict[str, Any], **over: Any) -> dict[str, Any]:
    result = provider.check(old, news(**over))
    assert result.failures == []
    return result.inputs


SOME = "some"  # changes=None: the engine compares old and new inputs itself and names the changed ones


def diff(provider: BlankVhdProvider, old: dict[str, Any], new: dict[str, Any]) -> tuple[object, list[str], Any]:
    result = provider.diff(old["url"], old, new)
    changes = SOME if result.changes is None else result.changes
    return changes, sorted(result.replaces or []), result.delete_before_replace


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ({}, {}, (False, [], None)),
        ({"blob_name": "d.vhd"}, {"blob_name": "d.vhd"}, (False, [], None)),
        ({}, {"size_gb": 2.0}, (SOME, [], None)),
        # Every replacement deletes the old disk first: the new one may reuse its name.
        ({"size_gb": 2.0}, {"size_gb": 1.0, "allow_shrink_by_replace": True}, (SOME, ["size_gb"], True)),
        ({"size_gb": 2.0, "blob_name": "d.vhd"},
         {"size_gb": 1.0, "blob_name": "d.vhd", "allow_shrink_by_replace": True}, (SOME, ["size_gb"], True)),
        ({"blob_name": "a.vhd"}, {"blob_name": "b.vhd"}, (SOME, ["blob_name"], True)),
        ({}, {"container_name": "other"}, (SOME, ["container_name"], True)),
        ({"blob_name": "d.vhd"}, {"blob_name": "d.vhd", "container_name": "other"}, (SOME, ["container_name"], True)),
        ({}, {"connection_string": OTHER_CONN}, (SOME, ["connection_string"], True)),
        ({"connection_string": None, "storage_account_name": "one"},
         {"connection_string": None, "storage_account_name": "two"}, (SOME, ["storage_account_name"], True)),
        ({"connection_string": None, "storage_account_name": "one"},
         {"connection_string": None, "storage_account_name": "one", "endpoint_suffix": "core.chinacloudapi.cn"},
         (SOME, ["endpoint_suffix"], True)),
        # The same account named another way, or a rotated key: an update that records it, no replacement.
        ({"connection_string": None, "storage_account_name": "one"},
         {"connection_string": None, "account_url": "https://one.blob.core.windows.net"}, (SOME, [], None)),
        ({"connection_string": None, "storage_account_name": "one", "account_key": "b2xk"},
         {"connection_string": None, "storage_account_name": "one", "account_key": "bmV3"}, (SOME, [], None)),
        ({}, {"adopt_existing": True}, (SOME, [], None)),
        ({}, {"metadata": {"owner": "me"}}, (SOME, [], None)),
    ],
)
def test_diff_table(
    provider: BlankVhdProvider, before: dict[str, Any], after: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    old = state(provider, **before)
    new = checked(provider, {k: v for k, v in old.items() if k != "url"}, **after)
    assert diff(provider, old, new) == expected


def test_diff_ignores_the_serialized_provider(provider: BlankVhdProvider) -> None:
    old = state(provider)
    new = checked(provider, old) | {"__provider": "a completely different provider"}
    assert provider.diff(old["url"], old, new).changes is False


def test_diff_says_changes_itself_when_the_engine_could_not_name_them(provider: BlankVhdProvider) -> None:
    # The engine's own comparison would also list a changed __provider, so it is not asked to.
    old = state(provider)
    new = checked(provider, old, size_gb=2.0) | {"__provider": "a completely different provider"}
    assert diff(provider, old, new) == (True, [], None)


def test_diff_treats_unknown_names_and_accounts_as_replacements(provider: BlankVhdProvider) -> None:
    old = state(provider)
    new = checked(provider, old) | {"container_name": Unknown()}
    assert diff(provider, old, new)[:2] == (SOME, ["container_name"])
    new = checked(provider, old) | {"connection_string": Unknown()}
    assert diff(provider, old, new)[:2] == (SOME, ["connection_string"])
    new = checked(provider, old) | {"size_gb": Unknown()}
    assert diff(provider, old, new)[:2] == (SOME, [])
    new = checked(provider, old) | {"size_gb": Unknown(), "allow_shrink_by_replace": True}
    assert diff(provider, old, new)[:2] == (SOME, ["size_gb"])


def test_diff_reports_an_update_when_a_refresh_found_the_footer_broken(provider: BlankVhdProvider) -> None:
    # The inputs did not change, so the engine would find nothing: the provider must say so itself.
    old = state(provider) | {"azure_ready": False}
    assert diff(provider, old, checked(provider, old)) == (True, [], None)


# --- the account is pinned to the state's blob_endpoint --------------------------------------------------


def configured(provider: BlankVhdProvider, **values: str) -> None:
    raw = {f"blank-vhd:{key}": value for key, value in values.items()}
    provider.configure(ConfigureRequest(Config(raw_config=raw, project_name="blank-vhd")))


def test_an_account_moved_by_the_environment_alone_is_a_replacement_with_a_reason(
    provider: BlankVhdProvider, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT", "one")
    monkeypatch.setenv("AZURE_STORAGE_SAS_TOKEN", "sv=1&sig=x")
    old = state(provider, connection_string=None)
    assert old["blob_endpoint"] == "https://one.blob.core.windows.net"
    assert diff(provider, old, checked(provider, old, connection_string=None)) == (False, [], None)
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT", "two")
    new = checked(provider, old, connection_string=None)
    # No input changed, so the engine could not tell: the provider says so, and names the endpoint.
    assert diff(provider, old, new) == (True, ["blob_endpoint"], True)
    warning = capsys.readouterr().err
    for word in ("https://one.blob.core.windows.net", "https://two.blob.core.windows.net", "replaced",
                 "account_url to https://one.blob.core.windows.net"):
        assert word in warning
    # An explicit name cannot collide in another account: the new disk is still made first.
    old = state(provider, connection_string=None, blob_name="d.vhd") | {"blob_endpoint": old["blob_endpoint"]}
    assert diff(provider, old, checked(provider, old, connection_string=None, blob_name="d.vhd")) == (
        True, ["blob_endpoint"], True)


def test_an_account_moved_by_stack_config_alone_is_a_replacement(provider: BlankVhdProvider) -> None:
    configured(provider, storageConnectionString=CONN)
    old = state(provider, connection_string=None)
    assert diff(provider, old, checked(provider, old, connection_string=None)) == (False, [], None)
    configured(provider, storageConnectionString=OTHER_CONN)
    assert diff(provider, old, checked(provider, old, connection_string=None)) == (True, ["blob_endpoint"], True)
    # Together with a real input change the engine names the inputs, and still replaces.
    assert diff(provider, old, checked(provider, old, connection_string=None, size_gb=2.0)) == (
        SOME, ["blob_endpoint"], True)


def test_a_pinned_target_stays_on_the_disks_account_and_takes_only_credentials_not_tied_to_another(
    provider: BlankVhdProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    pinned = "https://one.blob.core.windows.net"
    props = news(connection_string=None)
    # The environment's connection string for another account neither redirects nor lends its key.
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", OTHER_CONN)
    target = provider.target(Account.from_props(props), endpoint=pinned)
    assert target.blob_endpoint == pinned
    assert (target.connection_string, target.account_key, target.sas_token) == (None, None, None)
    # The same through stack config; a configured key is this stack's own, so it comes along.
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")
    configured(provider, storageConnectionString=OTHER_CONN)
    assert provider.target(Account.from_props(props), endpoint=pinned).connection_string is None
    configured(provider, storageAccountKey="a2V5")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT", "two")
    target = provider.target(Account.from_props(props), endpoint=pinned)
    assert (target.blob_endpoint, target.account_key) == (pinned, "a2V5")
    # The resource's own key or SAS is for the disk's account and is kept.
    target = provider.target(Account.from_props(news(connection_string=None, sas_token="sv=1&sig=y")), endpoint=pinned)
    assert (target.blob_endpoint, target.sas_token) == (pinned, "sv=1&sig=y")
    # Nothing names a location any more (the variables are gone): still the disk's account.
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT")
    assert provider.target(Account.from_props(props), endpoint=pinned).blob_endpoint == pinned
    # Inputs that resolve to the pinned endpoint are used as they are.
    target = provider.target(Account.from_props(news()), endpoint="http://127.0.0.1:10000/devstoreaccount1")
    assert target.connection_string == CONN


def test_check_refuses_at_preview_a_size_that_cannot_finish_an_unfinished_grow(provider: BlankVhdProvider) -> None:
    # The inputs a refresh stores after finding the blob 3 GiB long with no footer at its end.
    old = provider.check({}, news(blob_name="d.vhd")).inputs | {"unfinished_blob_length": 3 * GiB + 512}
    found = failures(provider, news(blob_name="d.vhd", size_gb=2.0), old)
    assert [f.property for f in found] == ["size_gb"]
    assert re.search(r"'d.vhd' in container 'vhds' is 3 GiB long .* size_gb 2 cannot repair it; set size_gb to 3 or "
                     r"more", found[0].reason)
    assert failures(provider, news(blob_name="d.vhd", size_gb=3.0), old) == []  # the update that repairs it
    assert failures(provider, news(blob_name="d.vhd", container_name="other"), old) == []  # a replacement
    assert failures(provider, news(blob_name="e.vhd"), old) == []
    assert failures(provider, news(blob_name="d.vhd", size_gb=Unknown()), old) == []
    # The hidden input is carried, so no diff ever shows it, and once the grow is finished it refuses nothing
    # that would not be refused anyway: growing further is fine, a smaller size is a shrink.
    repaired = provider.check(old, news(blob_name="d.vhd", size_gb=3.0)).inputs
    assert repaired["unfinished_blob_length"] == 3 * GiB + 512
    assert failures(provider, news(blob_name="d.vhd", size_gb=4.0), repaired) == []
    assert [f.property for f in failures(provider, news(blob_name="d.vhd", size_gb=2.0), repaired)] == ["size_gb"]


# --- auto-names derived from the resource's identity -------------------------------------------------------


def test_an_auto_name_is_derived_from_the_identity_so_a_retried_create_names_the_same_blob() -> None:
    """check() of a resource that is not in the state (its first create, the retry after a killed `up`, the
    new disk of a replacement) always names the same blob; an update keeps the name the state holds."""
    first = BlankVhdProvider(auto_name_prefix="vhd", identity="organization/blank-vhd/dev//vhd")
    again = BlankVhdProvider(auto_name_prefix="vhd", identity="organization/blank-vhd/dev//vhd")
    other = BlankVhdProvider(auto_name_prefix="vhd", identity="organization/blank-vhd/prod//vhd")
    names = [p.check({}, news()).inputs["blob_name"] for p in (first, again, first, other)]
    assert names[0] == names[1] == names[2] != names[3]
    assert re.fullmatch(r"vhd-[0-9a-f]{8}\.vhd", names[0])
    kept = first.check({"blob_name": "vhd-0123abcd.vhd", "size_gb": 1.0}, news()).inputs["blob_name"]
    assert kept == "vhd-0123abcd.vhd"  # a state's name (0.1 drew it at random) never changes


def test_without_an_identity_the_auto_name_stays_random() -> None:
    legacy = BlankVhdProvider(auto_name_prefix="vhd")
    assert len({legacy.check({}, news()).inputs["blob_name"] for _ in range(3)}) == 3
