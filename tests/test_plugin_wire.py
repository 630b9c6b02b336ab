"""The plugin's door without an engine: the conversion between the engine's property values and the core's plain
bags (names, numbers, unknowns, secrets), and the plugin's answers to check, diff, check_config and get_schema as
the SDK's server hands them requests. No request reaches storage here."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from pulumi.output import Unknown
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.provider import CheckRequest, DiffRequest, GetSchemaRequest, PropertyDiffKind
from pulumi.runtime.rpc import UNKNOWN

from providers import common
from providers.plugin import wire
from providers.plugin.provider import AUTO_NAMED, BlankVhdPlugin
from providers.plugin.server import one_line
from providers.schema import CONFIG, RESOURCES, SECRET_FIELDS, camel
from vhdcore import BlobExistsError, GiB

ROOT = Path(__file__).resolve().parent.parent
CONN = "UseDevelopmentStorage=true"
URN = "urn:pulumi:dev::proj::blank-vhd:index:BlankVhd::data"
pytestmark = pytest.mark.usefixtures("no_storage_env", "no_container_lookup")  # made-up accounts: no request


def pv(value: Any, secret: bool = False) -> PropertyValue:
    return wire.wire_value(value, secret=secret)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_every_declared_and_internal_name_converts_both_ways() -> None:
    names = {p.name for r in RESOURCES for p in r.props} | {p.name for p in CONFIG}
    names |= {"fingerprint", "source_stamp", "unfinished_blob_length", "auto_name_prefix"}
    for name in names:
        assert wire.snake(camel(name)) == name, name
    assert camel("size_gb") == "sizeGb" and camel("allow_shrink_by_replace") == "allowShrinkByReplace"
    assert wire.snake(AUTO_NAMED) == "__auto_named"


def test_plain_bags_are_what_the_dynamic_door_receives() -> None:
    bag, secret = wire.plain({
        "sizeGb": PropertyValue(10.0),
        "containerName": PropertyValue(UNKNOWN),  # the engine's unknown, at preview
        "blobName": PropertyValue(None),
        "connectionString": PropertyValue(CONN, is_secret=True),
        "metadata": PropertyValue({"owner": PropertyValue("me"), "team": PropertyValue("x", is_secret=True)}),
        "adoptExisting": PropertyValue(False),
    })
    assert bag["size_gb"] == 10.0 and isinstance(bag["size_gb"], float)
    assert isinstance(bag["container_name"], Unknown)
    assert "blob_name" not in bag  # null values are dropped, as the dynamic door drops None
    assert bag["connection_string"] == CONN and bag["metadata"] == {"owner": "me", "team": "x"}
    assert bag["adopt_existing"] is False
    assert secret == {"connection_string", "metadata"}  # a secret anywhere inside marks the property


def test_wire_maps_mark_declared_and_incoming_secrets_and_send_numbers_as_doubles() -> None:
    out = wire.wire({"size_bytes": 2 * GiB, "account_key": "a2V5", "storage_account_name": "acct",
                     "metadata": {"a": "b"}, "url": None, "container_name": Unknown()},
                    secret={"storage_account_name"})
    assert out["sizeBytes"] == PropertyValue(float(2 * GiB))
    assert out["accountKey"].is_secret and out["storageAccountName"].is_secret  # declared; sent secret
    assert not out["metadata"].is_secret and out["metadata"].value["a"] == PropertyValue("b")
    assert "url" not in out
    assert out["containerName"].value == UNKNOWN
    assert {camel(name) for name in SECRET_FIELDS} == {"connectionString", "accountKey", "sasToken"}


def test_provider_config_takes_the_declared_keys_and_leaves_the_projects_own() -> None:
    config = wire.provider_config({
        "connectionString": PropertyValue(CONN, is_secret=True),
        "apiVersion": PropertyValue("2019-07-07"),
        "containerName": PropertyValue("vhds"),  # this repository's own project config shares the namespace
    })
    assert dict(config.values) == {"connection_string": CONN, "api_version": "2019-07-07"}
    assert config.source("connection_string") == "provider config blank-vhd:connectionString"
    assert not config.unknown and CONN not in repr(config)
    assert wire.provider_config({"accountUrl": PropertyValue(UNKNOWN)}).unknown


def check(plugin: BlankVhdPlugin, news: dict[str, Any], olds: dict[str, Any] | None = None,
          urn: str = URN) -> Any:
    request = CheckRequest(urn, {k: pv(v) for k, v in (olds or {}).items()},
                           {k: pv(v, secret=k == "connectionString") for k, v in news.items()}, b"")
    return run(plugin.check(request))


def configured(**config: str) -> BlankVhdPlugin:
    plugin = BlankVhdPlugin()
    plugin.config = wire.provider_config({k: PropertyValue(v) for k, v in config.items()})
    return plugin


def test_check_names_a_drawn_blob_after_the_urn_and_says_so_in_a_hidden_input() -> None:
    plugin = configured(connectionString=CONN)
    checked = check(plugin, {"sizeGb": 1.0, "containerName": "vhds"})
    assert not checked.failures
    name = checked.inputs["blobName"].value
    assert name.startswith("data-") and name.endswith(".vhd")
    assert checked.inputs[AUTO_NAMED] == PropertyValue(True)
    assert checked.inputs["sizeGb"] == PropertyValue(1.0) and checked.inputs["adoptExisting"] == PropertyValue(False)
    # The same resource is named the same in every run; another resource otherwise.
    assert check(plugin, {"sizeGb": 1.0, "containerName": "vhds"}).inputs["blobName"].value == name
    other = check(plugin, {"sizeGb": 1.0, "containerName": "vhds"}, urn=URN.replace("::data", "::logs"))
    assert other.inputs["blobName"].value != name
    explicit = check(plugin, {"sizeGb": 1.0, "containerName": "vhds", "blobName": "x.vhd"})
    assert AUTO_NAMED not in explicit.inputs and explicit.inputs["blobName"].value == "x.vhd"


def test_check_failures_use_the_plugins_names_and_never_a_secret_property() -> None:
    plugin = configured()
    found = check(plugin, {"sizeGb": 0.5, "containerName": "vhds", "connectionString": CONN,
                           "storageAccountName": "acct"}).failures
    by_property = {f.property: f.reason for f in found}
    assert "sizeGb" in by_property and "size_gb" not in by_property["sizeGb"]
    # Two places for the account, one of them a secret: no property, so the engine prints no value.
    assert "storageAccountName and connectionString are both set" in by_property[""]
    assert CONN not in json.dumps(by_property)
    nowhere = check(plugin, {"sizeGb": 1.0, "containerName": "vhds"}).failures
    assert [f.property for f in nowhere] == ["storageAccountName"]
    assert "provider config blank-vhd:connectionString" in nowhere[0].reason


def test_secret_inputs_come_back_secret_from_check() -> None:
    checked = check(configured(), {"sizeGb": 1.0, "containerName": "vhds", "connectionString": CONN})
    assert checked.inputs["connectionString"].is_secret and checked.inputs["connectionString"].value == CONN
    assert not checked.inputs["containerName"].is_secret


def diff(plugin: BlankVhdPlugin, olds: dict[str, Any], news: dict[str, Any]) -> Any:
    return run(plugin.diff(DiffRequest(URN, "id", {k: pv(v) for k, v in olds.items()},
                                       {k: pv(v) for k, v in news.items()}, [])))


def state(**over: Any) -> dict[str, Any]:
    outs = {"sizeGb": 1, "containerName": "vhds", "blobName": "d.vhd", "connectionString": CONN,
            "adoptExisting": False, "allowShrinkByReplace": False, "url": "http://127.0.0.1:10000/devstoreaccount1/"
            "vhds/d.vhd", "blobEndpoint": "http://127.0.0.1:10000/devstoreaccount1", "sizeBytes": GiB,
            "blobLength": GiB + 512, "uniqueId": "0" * 32, "azureReady": True, "adopted": False}
    return {**outs, **over}


def inputs_of(outs: dict[str, Any], **over: Any) -> dict[str, Any]:
    keep = ("sizeGb", "containerName", "blobName", "connectionString", "adoptExisting", "allowShrinkByReplace")
    return {**{k: outs[k] for k in keep}, **over}


def test_diff_names_what_changes_and_how() -> None:
    plugin = configured()
    old = state()
    assert diff(plugin, old, inputs_of(old)).changes is False
    grow = diff(plugin, old, inputs_of(old, sizeGb=3.0))
    assert grow.changes is True and grow.diffs == ["sizeGb"] and not grow.replaces
    assert grow.detailed_diff["sizeGb"].kind == PropertyDiffKind.UPDATE and grow.detailed_diff["sizeGb"].input_diff
    shrink = diff(plugin, state(sizeGb=3, sizeBytes=3 * GiB), inputs_of(old, allowShrinkByReplace=True))
    assert shrink.replaces == ["sizeGb"] and shrink.delete_before_replace
    assert shrink.detailed_diff["sizeGb"].kind == PropertyDiffKind.UPDATE_REPLACE
    moved = diff(plugin, old, inputs_of(old, containerName="other"))
    assert moved.replaces == ["containerName"]
    repair = diff(plugin, state(azureReady=False), inputs_of(old))
    assert repair.changes is True and repair.diffs == ["azureReady"]
    assert not repair.detailed_diff["azureReady"].input_diff  # an output the refresh found wrong, not an input


def test_check_config_refuses_two_places_and_non_strings_and_marks_the_secrets() -> None:
    plugin = BlankVhdPlugin()
    request = CheckRequest("urn", {}, {"connectionString": PropertyValue(CONN), "accountUrl": PropertyValue("https://a"),
                                       "accountKey": PropertyValue(3.0), "target": PropertyValue("local")}, b"")
    response = run(plugin.check_config(request))
    reasons = " | ".join(f.reason for f in response.failures)
    assert "accountUrl and connectionString are both set" in reasons
    assert "accountKey is not a string" in reasons and [f.property for f in response.failures] == ["", ""]
    assert response.inputs["connectionString"].is_secret and not response.inputs["accountUrl"].is_secret
    assert response.inputs["target"] == PropertyValue("local")  # not ours: passed through


def test_get_schema_is_the_checked_in_schema() -> None:
    served = json.loads(run(BlankVhdPlugin().get_schema(GetSchemaRequest(0))).schema)
    assert served == json.loads((ROOT / "providers" / "plugin" / "schema.json").read_text())


def test_the_core_runs_on_threads_of_its_own_so_requests_overlap() -> None:
    """Two calls at once: the first waits for the second to start. Run one after the other, the first would time
    out (and the test fail) instead of hanging."""
    plugin = BlankVhdPlugin()
    second_started = threading.Event()

    def first() -> bool:
        return second_started.wait(timeout=30)

    async def both() -> list[bool]:
        return list(await asyncio.gather(plugin._run(URN, first), plugin._run(URN, second_started.set)))

    assert run(both())[0] is True


def test_warnings_and_progress_reach_the_engine_log_attached_to_the_resource() -> None:
    logged: list[tuple[str, str, str]] = []
    plugin = BlankVhdPlugin(lambda severity, message, urn: logged.append((severity, message, urn)))

    def core_call() -> None:
        common.warn("blob_name x is odd")
        common.progress_line("uploading 50%")

    run(plugin._run(URN, core_call))
    assert logged == [("warning", "blobName x is odd", URN), ("info", "uploading 50%", URN)]


def test_a_failure_is_one_line_in_the_plugins_spelling() -> None:
    error = BlobExistsError("blob 'x' already exists", "choose another blob_name, or set adopt_existing to true")
    assert one_line(error) == "blob 'x' already exists; choose another blobName, or set adoptExisting to true."
    bug = one_line(KeyError("size_gb"))
    assert "a bug in blank-vhd" in bug and "\n" not in bug
