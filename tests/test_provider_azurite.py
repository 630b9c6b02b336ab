"""BlankVhdProvider's create, update, read and delete against a real Azurite, with props shaped as the
engine sends them (floats, `__provider`, outputs as the next call's olds, with the `__provider` that the
dynamic provider host adds to every result)."""

from __future__ import annotations

from typing import Any

import pytest
from azure.storage.blob import BlobClient
from azurite_server import ACCOUNT_KEY, Azurite
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from providers.provider import BlankVhdProvider
from tests.conftest import blob_service
from tests.faultproxy import FaultProxy
from vhdcore.azure.credentials import StorageTarget
from vhdcore.azure.page_blob import create_blank_vhd, grow_blank_vhd, inspect_blank_vhd
from vhdcore.errors import BlobExistsError, BlobLeasedError, BlobNotFoundError, NotOwnedError, VhdError
from vhdcore.format.footer import fixed_footer
from vhdcore.format.sizes import GiB


class Engine:
    """Calls a provider the way the engine does, and keeps the state (inputs and outputs) between calls."""

    def __init__(self, provider: BlankVhdProvider, azurite: Azurite, container: str) -> None:
        self.provider, self.azurite, self.container = provider, azurite, container
        self.id = ""
        self.changed_keys: list[str] = []
        self.inputs: dict[str, Any] = {}
        self.outs: dict[str, Any] = {}

    def news(self, **over: Any) -> dict[str, Any]:
        props: dict[str, Any] = {
            "__provider": "serialized",
            "size_gb": 1.0,
            "container_name": self.container,
            "connection_string": self.azurite.connection_string,
        }
        props.update(over)
        return {k: v for k, v in props.items() if v is not None}

    def check(self, **over: Any) -> dict[str, Any]:
        result = self.provider.check(self.inputs, self.news(**over))
        assert result.failures == [], [f.reason for f in result.failures]
        return result.inputs

    def create(self, **over: Any) -> dict[str, Any]:
        self.inputs = self.check(**over)
        result = self.provider.create(self.inputs)
        self.id, self.outs = result.id, floats(result.outs or {}) | {"__provider": self.inputs["__provider"]}
        return self.outs

    def up(self, **over: Any) -> tuple[str, dict[str, Any]]:
        """Check, diff and update (in place): returns what the diff decided, and the new outputs."""
        new = self.check(**over)
        result = self.provider.diff(self.id, self.outs, new)
        assert not result.replaces, result.replaces
        # changes=None: the engine compares old and new inputs itself and names the changed ones.
        self.changed_keys = sorted(k for k in {*self.inputs, *new} if self.inputs.get(k) != new.get(k))
        if result.changes or (result.changes is None and self.changed_keys):
            self.outs = floats(self.provider.update(self.id, self.outs, new).outs or {}) | {
                "__provider": new["__provider"]}
            step = "update"
        else:
            step = "same"
        self.inputs = new
        return step, self.outs

    def refresh(self) -> bool:
        """Read; False when the provider says the blob is gone."""
        result = self.provider.read(self.id, self.outs)
        if not result.id:
            assert result.outs == {}
            return False
        self.id, self.outs = result.id, floats(result.outs or {}) | {"__provider": self.outs["__provider"]}
        self.inputs = floats(result.inputs or {})
        return True

    def blob(self) -> BlobClient:
        service = blob_service(self.azurite.connection_string)
        return service.get_blob_client(self.container, self.outs["blob_name"])


def floats(props: dict[str, Any]) -> dict[str, Any]:
    # Through the engine every number comes back as a float.
    return {k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in props.items()}


@pytest.fixture
def engine(azurite: Azurite, container: str) -> Engine:
    return Engine(BlankVhdProvider(auto_name_prefix="vhd"), azurite, container)


def target(azurite: Azurite) -> StorageTarget:
    return StorageTarget(connection_string=azurite.connection_string)


def test_create_makes_a_valid_vhd_and_outputs_no_secret_under_another_name(engine: Engine) -> None:
    outs = engine.create(metadata={"owner": "tests"})
    found = inspect_blank_vhd(target(engine.azurite), container=engine.container, name=outs["blob_name"])
    assert found is not None and found.report.azure_ready, found and found.report.problems
    assert found.metadata["owner"] == "tests"
    assert engine.id == outs["url"] == f"{engine.azurite.endpoint}/{engine.container}/{outs['blob_name']}"
    assert outs["size_bytes"] == GiB and outs["blob_length"] == GiB + 512 and outs["size_gb"] == 1
    assert outs["unique_id"] == str(found.unique_id) and outs["azure_ready"] is True and outs["adopted"] is False
    assert outs["container_name"] == engine.container
    secrets = (engine.azurite.connection_string, ACCOUNT_KEY)
    for key, value in outs.items():
        if key != "connection_string":  # same name as the secret input: the engine keeps it secret
            assert not any(s in str(value) for s in secrets), key


def test_grow_is_in_place_and_keeps_unique_id_and_data(engine: Engine) -> None:
    before = engine.create()
    data = b"\x5a" * 4096
    engine.blob().upload_page(data, offset=GiB // 2, length=len(data))
    step, after = engine.up(size_gb=3.0)
    assert (step, engine.changed_keys) == ("update", ["size_gb"])
    assert after["size_bytes"] == 3 * GiB and after["blob_length"] == 3 * GiB + 512
    assert after["unique_id"] == before["unique_id"] and after["blob_name"] == before["blob_name"]
    assert engine.blob().download_blob(offset=GiB // 2, length=len(data)).readall() == data
    found = inspect_blank_vhd(target(engine.azurite), container=engine.container, name=after["blob_name"])
    assert found is not None and found.report.azure_ready


def test_an_unchanged_program_is_a_no_op(engine: Engine) -> None:
    engine.create()
    etag = engine.blob().get_blob_properties().etag
    assert engine.up()[0] == "same"
    assert engine.blob().get_blob_properties().etag == etag


def test_new_credentials_for_the_same_account_update_the_state_without_writing(engine: Engine) -> None:
    engine.create()
    etag = engine.blob().get_blob_properties().etag
    step, outs = engine.up(connection_string=None, account_url=engine.azurite.endpoint, account_key=ACCOUNT_KEY)
    assert step == "update"
    assert outs["account_key"] == ACCOUNT_KEY and "connection_string" not in outs
    assert engine.blob().get_blob_properties().etag == etag


def tool_entries(blob: BlobClient) -> dict[str, str]:
    return {k: v for k, v in blob.get_blob_properties().metadata.items() if k.startswith("vhdcore_")}


def test_changing_metadata_is_an_in_place_update_that_keeps_the_tools_entries_and_the_data(engine: Engine) -> None:
    before = engine.create(metadata={"owner": "a"})
    data = b"\x5a" * 4096
    engine.blob().upload_page(data, offset=0, length=len(data))
    ours = tool_entries(engine.blob())
    result = engine.provider.diff(engine.id, engine.outs, engine.check(metadata={"owner": "b", "cost": "c1"}))
    assert (result.changes, result.replaces) == (None, [])  # an update the engine names, not a replace
    step, after = engine.up(metadata={"owner": "b", "cost": "c1"})
    assert (step, engine.changed_keys) == ("update", ["metadata"])
    assert engine.blob().get_blob_properties().metadata == {"owner": "b", "cost": "c1", **ours}
    assert after["metadata"] == {"owner": "b", "cost": "c1"} and after["unique_id"] == before["unique_id"]
    assert after["url"] == before["url"] and after["size_bytes"] == GiB and after["azure_ready"] is True
    assert engine.blob().download_blob(offset=0, length=len(data)).readall() == data
    step, after = engine.up(metadata=None)  # removing the input clears the user's entries
    assert (step, engine.changed_keys) == ("update", ["metadata"]) and "metadata" not in after
    assert engine.blob().get_blob_properties().metadata == ours
    engine.provider.delete(engine.id, engine.outs)
    assert not engine.blob().exists()


def test_a_grow_and_a_metadata_change_in_one_update_do_both(engine: Engine) -> None:
    before = engine.create(metadata={"owner": "a"})
    step, after = engine.up(size_gb=2.0, metadata={"owner": "b"})
    assert (step, engine.changed_keys) == ("update", ["metadata", "size_gb"])
    assert after["size_bytes"] == 2 * GiB and after["unique_id"] == before["unique_id"]
    found = inspect_blank_vhd(target(engine.azurite), container=engine.container, name=after["blob_name"])
    assert found is not None and found.report.azure_ready and found.blob_length == 2 * GiB + 512
    assert found.metadata["owner"] == "b" and found.metadata["vhdcore_size"] == str(2 * GiB)


def test_a_metadata_change_on_a_leased_disk_is_refused_and_changes_nothing(engine: Engine) -> None:
    engine.create(metadata={"owner": "a"})
    lease = engine.blob().acquire_lease(-1)
    with pytest.raises(BlobLeasedError, match=r"changing the metadata of .* active lease"):
        engine.up(metadata={"owner": "b"})
    assert engine.blob().get_blob_properties().metadata["owner"] == "a"
    lease.release()


def test_refresh_reports_the_real_disk(engine: Engine) -> None:
    created = engine.create()
    assert engine.refresh()
    assert engine.id == created["url"]
    assert engine.outs == created
    assert engine.inputs["size_gb"] == 1 and "url" not in engine.inputs and "__provider" not in engine.inputs


def test_a_blob_deleted_out_of_band_is_dropped_by_refresh(engine: Engine) -> None:
    engine.create()
    engine.blob().delete_blob()
    assert engine.refresh() is False


def test_a_container_deleted_out_of_band_takes_the_disk_with_it(azurite: Azurite) -> None:
    service = blob_service(azurite.connection_string)
    engine = Engine(BlankVhdProvider(), azurite, "gone-soon")
    service.create_container("gone-soon")
    engine.create()
    service.delete_container("gone-soon")
    assert engine.refresh() is False
    engine.provider.delete(engine.id, engine.outs)  # destroy without a refresh first: done, not an error


def test_a_valid_grow_out_of_band_becomes_the_state_and_a_smaller_program_is_refused(engine: Engine) -> None:
    engine.create()
    grow_blank_vhd(target(engine.azurite), container=engine.container, name=engine.outs["blob_name"], size=2 * GiB)
    assert engine.refresh()
    assert engine.inputs["size_gb"] == 2 and engine.outs["size_bytes"] == 2 * GiB
    failures = engine.provider.check(engine.inputs, engine.news()).failures
    assert [f.property for f in failures] == ["size_gb"] and "shrink" in failures[0].reason
    assert engine.up(size_gb=2.0)[0] == "same"


def test_a_raw_resize_out_of_band_is_refused_at_preview_unless_size_gb_can_finish_it(engine: Engine) -> None:
    created = engine.create()
    engine.blob().resize_blob(3 * GiB + 512)  # no footer at the new end: Azure would refuse the disk
    assert engine.refresh()  # a refresh diffs too: it must not fail
    assert engine.outs["azure_ready"] is False and engine.outs["blob_length"] == 3 * GiB + 512
    assert engine.outs["unique_id"] == created["unique_id"]
    assert engine.inputs["size_gb"] == 1  # the declared size, so the next preview is not a refused shrink
    etag = engine.blob().get_blob_properties().etag
    for size in (1.0, 2.0):  # an update to either is certain to fail: check (preview) says so, in one sentence
        failures = engine.provider.check(engine.inputs, engine.news(size_gb=size)).failures
        assert [f.property for f in failures] == ["size_gb"]
        message = failures[0].reason
        assert f"size_gb {size:g} cannot repair it" in message and "set size_gb to 3 or more" in message
        assert message.count(". ") == 0 and message.endswith(".")
        # update says the same, should it be reached anyway (a state refreshed by an older version)
        unchecked = engine.provider.check({}, engine.news(size_gb=size, blob_name=engine.outs["blob_name"])).inputs
        with pytest.raises(VhdError, match="set size_gb to 3 or more to finish growing it"):
            engine.provider.update(engine.id, engine.outs, unchecked)
    assert engine.blob().get_blob_properties().etag == etag
    # A replacement makes a new disk, so nothing needs repairing: no refusal about the size (only that the new
    # container, which this test never made, does not exist).
    moved = engine.provider.check(engine.inputs, engine.news(container_name="other")).failures
    assert [(f.property, f.reason.split(";")[0]) for f in moved] == [
        ("container_name", f"container 'other' does not exist in {engine.azurite.endpoint}")]
    step, outs = engine.up(size_gb=3.0)
    assert step == "update" and outs["azure_ready"] is True and outs["size_bytes"] == 3 * GiB
    assert outs["unique_id"] == created["unique_id"]


@pytest.mark.parametrize("damage", ["zeroed", "one-byte-flipped"])
def test_a_damaged_footer_is_rewritten_in_place_by_the_next_update(damage: str, engine: Engine) -> None:
    created = engine.create()
    blob = engine.blob()
    blob.upload_page(b"\xa5" * 512, offset=4096, length=512)  # data a guest wrote
    footer = bytearray(blob.download_blob(offset=GiB, length=512).readall())
    original = bytes(footer)
    if damage == "zeroed":
        footer[:] = bytes(512)
    else:
        footer[80] ^= 0x40
    blob.upload_page(bytes(footer), offset=GiB, length=512)
    assert engine.refresh()
    assert engine.outs["azure_ready"] is False and engine.outs["unique_id"] == created["unique_id"]
    step, outs = engine.up()
    assert step == "update" and outs["azure_ready"] is True and outs["unique_id"] == created["unique_id"]
    assert outs["size_bytes"] == GiB and blob.get_blob_properties().size == GiB + 512
    assert blob.download_blob(offset=GiB, length=512).readall() == original  # the same footer, byte for byte
    assert blob.download_blob(offset=4096, length=512).readall() == b"\xa5" * 512


def test_a_damaged_footer_of_a_disk_this_tool_did_not_make_is_refused_with_the_way_out(engine: Engine) -> None:
    foreign = blob_service(engine.azurite.connection_string).get_blob_client(
        engine.container, "theirs.vhd")
    foreign.create_page_blob(GiB + 512)
    foreign.upload_page(fixed_footer(GiB).pack(), offset=GiB, length=512)
    engine.create(blob_name="theirs.vhd", adopt_existing=True)
    foreign.upload_page(bytes(512), offset=GiB, length=512)
    assert engine.refresh() and engine.outs["azure_ready"] is False
    etag = foreign.get_blob_properties().etag
    new = engine.check(blob_name="theirs.vhd", adopt_existing=True)
    with pytest.raises(NotOwnedError, match=r"this tool did not make it and so its footer was not rewritten; restore "
                                            r"its footer with the tool that made it, or stop managing it here"):
        engine.provider.update(engine.id, engine.outs, new)
    assert foreign.get_blob_properties().etag == etag


def test_a_create_retried_after_a_killed_up_finishes_the_same_blob(azurite: Azurite, container: str) -> None:
    """A killed `pulumi up` left a footerless blob (its create's footer write never landed); the engine has no
    state for the resource, so the next `up` checks it afresh: the same name, and create finishes that blob."""
    identity = "organization/blank-vhd/dev//vhd"
    first = Engine(BlankVhdProvider(auto_name_prefix="vhd", identity=identity), azurite, container)
    inputs = first.check()
    service = blob_service(azurite.connection_string)
    disk, scratch = (service.get_blob_client(container, name) for name in (inputs["blob_name"], "scratch.vhd"))
    # What the interrupted create left: Put Blob landed with the metadata create writes, the footer did not.
    made = create_blank_vhd(target(azurite), container=container, name="scratch.vhd", size=GiB, owner=identity)
    metadata = scratch.get_blob_properties().metadata
    disk.create_page_blob(GiB + 512, metadata=metadata)
    retry = Engine(BlankVhdProvider(auto_name_prefix="vhd", identity=identity), azurite, container)
    outs = retry.create()
    assert outs["blob_name"] == inputs["blob_name"] and outs["unique_id"] == str(made.unique_id)
    assert disk.download_blob(offset=GiB, length=512).readall() == scratch.download_blob(
        offset=GiB, length=512).readall()  # the footer the interrupted create would have written
    assert outs["adopted"] is False and outs["azure_ready"] is True


def test_another_disk_under_the_same_name_is_dropped_by_refresh_and_left_alone(engine: Engine) -> None:
    outs = engine.create(blob_name="mine.vhd")
    engine.blob().delete_blob()
    other = create_blank_vhd(target(engine.azurite), container=engine.container, name="mine.vhd", size=GiB)
    assert str(other.unique_id) != outs["unique_id"]
    assert engine.refresh() is False
    assert engine.blob().exists()


def test_create_over_an_existing_blob_fails_clearly_and_leaves_it_untouched(engine: Engine) -> None:
    service = blob_service(engine.azurite.connection_string)
    foreign = service.get_blob_client(engine.container, "taken.vhd")
    foreign.upload_blob(b"somebody else's data")
    etag = foreign.get_blob_properties().etag
    with pytest.raises(BlobExistsError) as refused:
        engine.create(blob_name="taken.vhd")
    message = str(refused.value)
    assert "already exists" in message and "adopt_existing to true" in message and message.count(".") <= 2
    assert foreign.get_blob_properties().etag == etag


def test_adopt_takes_over_a_valid_vhd_of_the_declared_size_without_writing(engine: Engine) -> None:
    made = create_blank_vhd(target(engine.azurite), container=engine.container, name="old.vhd", size=2 * GiB)
    service = blob_service(engine.azurite.connection_string)
    etag = service.get_blob_client(engine.container, "old.vhd").get_blob_properties().etag
    outs = engine.create(blob_name="old.vhd", size_gb=2.0, adopt_existing=True)
    assert outs["adopted"] is True and outs["unique_id"] == str(made.unique_id) and outs["size_bytes"] == 2 * GiB
    assert engine.blob().get_blob_properties().etag == etag
    # Adopted disks are then managed like any other: grow, and delete by unique id.
    assert engine.up(size_gb=3.0, blob_name="old.vhd", adopt_existing=True)[1]["adopted"] is True
    engine.provider.delete(engine.id, engine.outs)
    assert not engine.blob().exists()


def test_adopt_without_a_blob_creates_one(engine: Engine) -> None:
    outs = engine.create(blob_name="new.vhd", adopt_existing=True)
    assert outs["adopted"] is False and engine.blob().exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("vhd", ["exists as a 2 GiB VHD, not the declared 1 GiB", "set size_gb to 2"]),
        ("bytes", ["is not a valid fixed VHD", "left untouched"]),
    ],
)
def test_adopt_refuses_a_wrong_size_or_a_non_vhd_and_leaves_it_untouched(
    engine: Engine, content: str, words: list[str]
) -> None:
    blob = blob_service(engine.azurite.connection_string).get_blob_client(
        engine.container, "x.vhd"
    )
    if content == "vhd":
        create_blank_vhd(target(engine.azurite), container=engine.container, name="x.vhd", size=2 * GiB)
    else:
        blob.upload_blob(b"not a disk" * 100)
    etag = blob.get_blob_properties().etag
    with pytest.raises(VhdError) as refused:
        engine.create(blob_name="x.vhd", adopt_existing=True)
    for word in words:
        assert word in str(refused.value)
    assert blob.get_blob_properties().etag == etag


def test_delete_removes_the_disk_and_tolerates_it_being_gone(engine: Engine) -> None:
    engine.create()
    engine.provider.delete(engine.id, engine.outs)
    assert not engine.blob().exists()
    engine.provider.delete(engine.id, engine.outs)  # already gone: fine


def test_delete_refuses_an_attached_leased_disk(engine: Engine) -> None:
    engine.create()
    lease = engine.blob().acquire_lease(-1)
    with pytest.raises(BlobLeasedError, match="active lease"):
        engine.provider.delete(engine.id, engine.outs)
    assert engine.blob().exists()
    lease.release()


def test_delete_removes_only_the_disk_whose_unique_id_the_state_holds(engine: Engine) -> None:
    engine.create(blob_name="d.vhd")
    engine.blob().delete_blob()
    create_blank_vhd(target(engine.azurite), container=engine.container, name="d.vhd", size=GiB)
    with pytest.raises(NotOwnedError):
        engine.provider.delete(engine.id, engine.outs)
    assert engine.blob().exists()


# --- the account is pinned to the state's blob_endpoint --------------------------------------------------


@pytest.mark.usefixtures("no_storage_env")
def test_refresh_update_and_delete_stay_on_the_disks_account_when_the_environment_moves(
    engine: Engine, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk was made where AZURE_STORAGE_ACCOUNT_URL pointed (the proxy, account A), with the key from
    stack config; then the variable names another endpoint (Azurite directly, account B)."""
    raw = {"blank-vhd:storageAccountKey": ACCOUNT_KEY}
    engine.provider.configure(ConfigureRequest(Config(raw_config=raw, project_name="blank-vhd")))
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_URL", proxy.endpoint())
    created = engine.create(connection_string=None)
    assert created["blob_endpoint"] == proxy.endpoint()
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_URL", engine.azurite.endpoint)

    result = engine.provider.diff(engine.id, engine.outs, engine.check(connection_string=None))
    assert (result.changes, result.replaces) == (True, ["blob_endpoint"])
    proxy.clear()
    assert engine.refresh()  # found, in account A: kept in the state
    assert engine.outs["blob_endpoint"] == proxy.endpoint() and engine.outs["url"] == created["url"]
    assert proxy.requests > 0
    proxy.clear()
    engine.outs = floats(engine.provider.update(engine.id, engine.outs, engine.check(
        connection_string=None, size_gb=2.0)).outs or {}) | {"__provider": "serialized"}
    assert engine.outs["blob_endpoint"] == proxy.endpoint() and engine.outs["size_bytes"] == 2 * GiB
    assert proxy.requests > 0
    proxy.clear()
    engine.provider.delete(engine.id, engine.outs)
    assert proxy.requests > 0 and not engine.blob().exists()


@pytest.mark.usefixtures("no_storage_env")
def test_a_connection_string_for_another_account_never_redirects_refresh_or_delete(
    engine: Engine, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_URL", proxy.endpoint())
    monkeypatch.setenv("AZURE_STORAGE_KEY", ACCOUNT_KEY)
    engine.create(connection_string=None)
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_URL")
    monkeypatch.delenv("AZURE_STORAGE_KEY")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", engine.azurite.connection_string)  # account B
    proxy.clear()
    # Account A stays the target; B's key is not lent to it, so there is no credential: said clearly.
    with pytest.raises(VhdError, match=rf"{proxy.endpoint()} is plain http and no account key or SAS"):
        engine.refresh()
    with pytest.raises(VhdError, match=rf"{proxy.endpoint()} is plain http and no account key or SAS"):
        engine.provider.delete(engine.id, engine.outs)
    assert engine.blob().exists() and proxy.requests == 0
    engine.blob().delete_blob()


def test_an_adopted_disk_this_tool_did_not_make_is_left_in_place_on_delete(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    made = create_blank_vhd(target(engine.azurite), container=engine.container, name="theirs.vhd", size=GiB)
    foreign = blob_service(engine.azurite.connection_string).get_blob_client(
        engine.container, "theirs.vhd")
    foreign.set_blob_metadata({"owner": "another-tool"})  # a valid VHD without this tool's marker
    outs = engine.create(blob_name="theirs.vhd", adopt_existing=True)
    assert outs["adopted"] is True and outs["unique_id"] == str(made.unique_id)
    engine.up(blob_name="theirs.vhd", adopt_existing=True, size_gb=2.0)  # grown in place: still not ours
    capsys.readouterr()
    engine.provider.delete(engine.id, engine.outs)  # destroy or replace: success, blob kept
    assert foreign.exists() and foreign.get_blob_properties().size == 2 * GiB + 512
    warning = capsys.readouterr().err
    assert "'theirs.vhd'" in warning and "left in place because it was adopted" in warning
    foreign.delete_blob()
    engine.provider.delete(engine.id, engine.outs)  # already gone: fine


def test_an_adopted_disk_this_tool_made_is_deleted_only_with_its_unique_id(engine: Engine) -> None:
    create_blank_vhd(target(engine.azurite), container=engine.container, name="ours.vhd", size=GiB)
    engine.create(blob_name="ours.vhd", adopt_existing=True)
    assert engine.outs["adopted"] is True
    engine.blob().delete_blob()
    create_blank_vhd(target(engine.azurite), container=engine.container, name="ours.vhd", size=GiB)  # another
    with pytest.raises(NotOwnedError):
        engine.provider.delete(engine.id, engine.outs)
    assert engine.blob().exists()


@pytest.mark.usefixtures("no_storage_env")
def test_get_reads_a_disk_by_its_url_and_a_missing_one_fails_in_one_sentence(engine: Engine) -> None:
    created = engine.create(metadata={"owner": "tests"})
    reader = BlankVhdProvider()  # what BlankVhd.get() pickles: no inputs but the id
    raw = {"blank-vhd:storageAccountKey": ACCOUNT_KEY}
    reader.configure(ConfigureRequest(Config(raw_config=raw, project_name="blank-vhd")))

    found = reader.read(created["url"], {})
    assert found.id == created["url"]
    outs = found.outs or {}
    for key in ("blob_name", "container_name", "unique_id", "blob_length", "size_bytes", "azure_ready"):
        assert outs[key] == (True if key == "azure_ready" else created[key]), key
    assert outs["size_gb"] == 1 and outs["metadata"] == {"owner": "tests"}

    engine.blob().delete_blob()
    with pytest.raises(BlobNotFoundError) as gone:
        reader.read(created["url"], {})
    assert str(gone.value).count(";") == 1 and "\n" not in str(gone.value)
    assert repr(created["blob_name"]) in str(gone.value) and "check the URL" in str(gone.value)
    missing_container = created["url"].replace(f"/{engine.container}/", "/no-such-container/")
    with pytest.raises(BlobNotFoundError):
        reader.read(missing_container, {})
