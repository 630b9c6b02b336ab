"""vhdcore.azure.page_blob against a real Azurite: every operation, every refusal, request counts, races, leases."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from azurite_server import Azurite

from tests.conftest import via
from tests.faultproxy import CountingTransport, Fault, FaultProxy, fast_options, stored
from vhdcore.azure.credentials import StorageTarget
from vhdcore.azure.names import validate_blob_name, validate_container_name, validate_metadata
from vhdcore.azure.page_blob import (
    create_blank_vhd,
    delete_blank_vhd,
    grow_blank_vhd,
    inspect_blank_vhd,
    set_blank_vhd_metadata,
)
from vhdcore.errors import (
    AuthFailedError,
    BlobExistsError,
    BlobLeasedError,
    BlobNameError,
    BlobNotFoundError,
    ContainerNotFoundError,
    InputError,
    InvalidDiskError,
    NotOwnedError,
    ShrinkRefusedError,
    ThrottledError,
    VhdError,
)
from vhdcore.format.footer import fixed_footer
from vhdcore.format.sizes import GiB, MiB
from vhdcore.format.unique_id import UniqueId

UID = UniqueId.parse("00112233445566778899aabbccddeeff")


@pytest.fixture
def target(azurite: Azurite) -> StorageTarget:
    return StorageTarget.resolve(environ={}, connection_string=azurite.connection_string)


@pytest.fixture
def counter() -> CountingTransport:
    return CountingTransport()


def put_foreign_page_blob(service: BlobServiceClient, container: str, name: str, data: bytes) -> None:
    blob = service.get_blob_client(container, name)
    blob.create_page_blob(len(data))
    blob.upload_page(data, offset=0, length=len(data))


# --- create ----------------------------------------------------------------------------------------------


def test_create_writes_an_empty_page_blob_with_a_footer(target: StorageTarget, service: Any, container: str) -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    blob = create_blank_vhd(target, container=container, name="d/a.vhd", size=MiB, unique_id=UID, timestamp=when,
                            metadata={"owner": "team-a"})
    assert (blob.size, blob.blob_length, blob.unique_id) == (MiB, MiB + 512, UID)
    assert blob.url == f"{target.blob_endpoint}/{container}/d/a.vhd"
    state = stored(service, container, "d/a.vhd")
    assert state is not None and state.blob_type == "PageBlob" and state.etag == blob.etag
    assert state.content == bytes(MiB) + fixed_footer(MiB, timestamp=when, unique_id=UID).pack()
    assert state.metadata["owner"] == "team-a"
    assert state.metadata["vhdcore_unique_id"] == UID.hex() and state.metadata["vhdcore_size"] == str(MiB)
    assert len(state.metadata["vhdcore_marker"]) == 32


def test_create_refuses_an_existing_blob_and_leaves_it_byte_identical(
    target: StorageTarget, service: Any, container: str
) -> None:
    put_foreign_page_blob(service, container, "taken", b"\x5a" * 4096)
    service.get_blob_client(container, "block").upload_blob(b"block data")
    before = [stored(service, container, n) for n in ("taken", "block")]
    for name in ("taken", "block"):
        with pytest.raises(BlobExistsError, match=f"{name} already exists and was left untouched"):
            create_blank_vhd(target, container=container, name=name, size=MiB)
    assert [stored(service, container, n) for n in ("taken", "block")] == before


def test_two_writers_racing_for_one_name_exactly_one_wins(target: StorageTarget, service: Any, container: str) -> None:
    barrier, results = threading.Barrier(2), {}

    def write(index: int) -> None:
        barrier.wait()
        try:
            results[index] = create_blank_vhd(target, container=container, name="race", size=MiB,
                                              unique_id=bytes([index]) * 16)
        except BlobExistsError as exc:
            results[index] = exc

    threads = [threading.Thread(target=write, args=(i,)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in results.values() if not isinstance(r, Exception)]
    assert len(winners) == 1 and sum(isinstance(r, BlobExistsError) for r in results.values()) == 1
    state = stored(service, container, "race")
    assert state is not None and state.is_valid_disk(MiB, winners[0].unique_id)


def test_footer_write_failure_deletes_the_new_blob(azurite: Azurite, proxy: FaultProxy, service: Any,
                                                    container: str) -> None:
    proxy.add(Fault.server_busy(method="PUT", query="^comp=page$", times=-1))
    with pytest.raises(ThrottledError, match=r"writing the footer .* so the half-created blob was deleted again"):
        create_blank_vhd(via(proxy), container=container, name="nofooter", size=MiB, options=fast_options())
    assert stored(service, container, "nofooter") is None


def test_when_cleanup_fails_too_the_error_says_how_to_remove_the_blob(proxy: FaultProxy, container: str) -> None:
    proxy.add(Fault.server_busy(method="PUT", query="^comp=page$", times=-1))
    proxy.add(Fault.server_busy(method="DELETE", times=-1))
    with pytest.raises(ThrottledError, match=rf"removing the footerless blob http://\S+/{container}/orphan it had "
                                             r"made failed too \(run the same create again: it removes that blob and "
                                             r"makes the disk\); wait a few minutes") as caught:
        create_blank_vhd(via(proxy), container=container, name="orphan", size=MiB, options=fast_options())
    assert "--" not in str(caught.value)  # the same words reach CLI and Pulumi users
    proxy.clear()
    # What the message says: the same create, run again, removes the leftover and makes the disk.
    made = create_blank_vhd(via(proxy), container=container, name="orphan", size=MiB, unique_id=UID)
    assert made.unique_id == UID and made.size == MiB


# --- inspect ---------------------------------------------------------------------------------------------


def test_inspect_reports_a_valid_disk(target: StorageTarget, container: str) -> None:
    create_blank_vhd(target, container=container, name="ok.vhd", size=3 * MiB, unique_id=UID)
    found = inspect_blank_vhd(target, container=container, name="ok.vhd")
    assert found is not None and found.report.azure_ready and found.report.problems == []
    assert (found.unique_id, found.blob_length, found.blob_type, found.lease_state) == (
        UID, 3 * MiB + 512, "PageBlob", "available")
    doc = found.report.to_json()
    assert doc["url"] == found.url and doc["blob_length"] == 3 * MiB + 512 and doc["current_size"] == 3 * MiB


def test_inspect_of_a_missing_blob_is_none(target: StorageTarget, container: str) -> None:
    assert inspect_blank_vhd(target, container=container, name="nothing") is None


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("block", "blob type is BlockBlob, not PageBlob"),
        ("footerless", "cookie is"),
        ("short", "shorter than the 512-byte footer"),
        ("interrupted", "a grow was interrupted; grow the disk to 2097152 bytes or more to finish it"),
    ],
)
def test_inspect_lists_blob_problems(target: StorageTarget, service: Any, container: str, kind: str,
                                     problem: str) -> None:
    blob = service.get_blob_client(container, kind)
    if kind == "block":
        blob.upload_blob(bytes(MiB) + fixed_footer(MiB).pack())
    elif kind == "footerless":
        blob.create_page_blob(MiB + 512)
    elif kind == "short":
        blob.create_page_blob(0)
    else:
        create_blank_vhd(target, container=container, name=kind, size=MiB)
        blob.resize_blob(2 * MiB + 512)
    found = inspect_blank_vhd(target, container=container, name=kind)
    assert found is not None and not found.report.azure_ready
    assert any(problem in p for p in found.report.problems), found.report.problems


# --- grow ------------------------------------------------------------------------------------------------


def test_grow_keeps_data_and_unique_id_and_clears_the_old_footer(
    target: StorageTarget, service: Any, container: str
) -> None:
    create_blank_vhd(target, container=container, name="g", size=MiB, unique_id=UID)
    data = service.get_blob_client(container, "g")
    data.upload_page(b"\x11" * 512, offset=0, length=512)
    data.upload_page(b"\x22" * 512, offset=MiB - 512, length=512)
    grown = grow_blank_vhd(target, container=container, name="g", size=3 * MiB, unique_id=UID)
    assert (grown.size, grown.blob_length, grown.unique_id) == (3 * MiB, 3 * MiB + 512, UID)
    state = stored(service, container, "g")
    assert state is not None and state.is_valid_disk(3 * MiB, UID.hex()) and state.content is not None
    assert state.content[:512] == b"\x11" * 512 and state.content[MiB - 512 : MiB] == b"\x22" * 512
    assert state.content[MiB : 3 * MiB] == bytes(2 * MiB)  # the old footer page is zeros now
    assert state.metadata["vhdcore_size"] == str(3 * MiB)


def test_grow_to_the_same_size_is_a_one_request_no_op(target: StorageTarget, service: Any, container: str,
                                                      counter: CountingTransport) -> None:
    made = create_blank_vhd(target, container=container, name="same", size=MiB)
    again = grow_blank_vhd(target, container=container, name="same", size=MiB, options=fast_options(transport=counter))
    assert again == made and counter.requests == 1


def test_grow_refuses_to_shrink(target: StorageTarget, service: Any, container: str) -> None:
    create_blank_vhd(target, container=container, name="big", size=2 * MiB)
    before = stored(service, container, "big")
    with pytest.raises(ShrinkRefusedError, match=r"is 2097152 bytes, so growing it to 1048576 would shrink it.*"
                                                 "ask for a size of at least 2097152 bytes"):
        grow_blank_vhd(target, container=container, name="big", size=MiB)
    assert stored(service, container, "big") == before


def test_grow_refuses_another_disk_by_unique_id(target: StorageTarget, service: Any, container: str) -> None:
    create_blank_vhd(target, container=container, name="other", size=MiB, unique_id=UID)
    before = stored(service, container, "other")
    with pytest.raises(NotOwnedError, match=f"has unique id {UID.hex()}, not {'ab' * 16}, so it was not grown; "
                                            "give the unique id this disk was created with, or check the container"):
        grow_blank_vhd(target, container=container, name="other", size=2 * MiB, unique_id=UniqueId.parse("AB" * 16))
    assert stored(service, container, "other") == before


def test_grow_adopts_a_valid_vhd_made_elsewhere(target: StorageTarget, service: Any, container: str) -> None:
    put_foreign_page_blob(service, container, "uploaded", b"\x33" * 512 + bytes(MiB - 512) + fixed_footer(
        MiB, unique_id=UID).pack())
    grow_blank_vhd(target, container=container, name="uploaded", size=2 * MiB, unique_id=UID)
    state = stored(service, container, "uploaded")
    assert state is not None and state.is_valid_disk(2 * MiB, UID.hex()) and state.content is not None
    assert state.content[:512] == b"\x33" * 512 and state.content[MiB : MiB + 512] == bytes(512)


@pytest.mark.parametrize("kind", ["block", "garbage"])
def test_grow_refuses_what_is_not_a_fixed_vhd(target: StorageTarget, service: Any, container: str, kind: str) -> None:
    if kind == "block":
        service.get_blob_client(container, kind).upload_blob(bytes(MiB) + fixed_footer(MiB).pack())
    else:
        put_foreign_page_blob(service, container, kind, b"\x01" * (MiB + 512))
    before = stored(service, container, kind)
    with pytest.raises(InvalidDiskError):
        grow_blank_vhd(target, container=container, name=kind, size=2 * MiB)
    assert stored(service, container, kind) == before


def test_grow_of_a_missing_blob(target: StorageTarget, container: str) -> None:
    with pytest.raises(BlobNotFoundError, match="does not exist; check the container and blob name, or create it"):
        grow_blank_vhd(target, container=container, name="nothing", size=2 * MiB)


# --- set metadata ----------------------------------------------------------------------------------------


def test_set_metadata_replaces_the_users_entries_and_keeps_the_tools(
    target: StorageTarget, service: Any, container: str
) -> None:
    create_blank_vhd(target, container=container, name="m", size=MiB, unique_id=UID, metadata={"owner": "a", "x": "1"})
    service.get_blob_client(container, "m").upload_page(b"\x11" * 512, offset=0, length=512)
    before = stored(service, container, "m")
    assert before is not None
    ours = {k: v for k, v in before.metadata.items() if k.startswith("vhdcore_")}
    assert sorted(ours) == ["vhdcore_created", "vhdcore_marker", "vhdcore_size", "vhdcore_unique_id"]
    blob = set_blank_vhd_metadata(target, container=container, name="m", metadata={"owner": "b", "cost": "c1"},
                                  unique_id=UniqueId.parse(UID.hex().upper()))
    after = stored(service, container, "m")
    assert after is not None and after.metadata == {"owner": "b", "cost": "c1", **ours}
    assert after.content == before.content and after.etag == blob.etag != before.etag
    assert (blob.size, blob.blob_length, blob.unique_id) == (MiB, MiB + 512, UID)
    set_blank_vhd_metadata(target, container=container, name="m", metadata=None, unique_id=None)
    cleared = stored(service, container, "m")
    assert cleared is not None and cleared.metadata == ours and cleared.content == before.content
    assert delete_blank_vhd(target, container=container, name="m", unique_id=UID) is True


def test_set_metadata_on_a_vhd_made_elsewhere_reads_its_footer_and_adds_no_tool_entries(
    target: StorageTarget, service: Any, container: str
) -> None:
    put_foreign_page_blob(service, container, "uploaded", bytes(MiB) + fixed_footer(MiB, unique_id=UID).pack())
    blob = set_blank_vhd_metadata(target, container=container, name="uploaded", metadata={"owner": "me"},
                                  unique_id=UID)
    assert (blob.size, blob.unique_id) == (MiB, UID)
    state = stored(service, container, "uploaded")
    assert state is not None and state.metadata == {"owner": "me"} and state.is_valid_disk(MiB, UID.hex())


def test_set_metadata_refuses_another_disk_and_what_is_not_a_disk(
    target: StorageTarget, service: Any, container: str
) -> None:
    create_blank_vhd(target, container=container, name="other", size=MiB, unique_id=UID, metadata={"owner": "a"})
    put_foreign_page_blob(service, container, "garbage", b"\x01" * (MiB + 512))
    before = [stored(service, container, n) for n in ("other", "garbage")]
    with pytest.raises(NotOwnedError, match=f"has unique id {UID.hex()}, not {'ab' * 16}, so it was not changed"):
        set_blank_vhd_metadata(target, container=container, name="other", metadata={"owner": "b"},
                               unique_id=UniqueId.parse("ab" * 16))
    with pytest.raises(InvalidDiskError, match="not a disk this tool can change"):
        set_blank_vhd_metadata(target, container=container, name="garbage", metadata={"owner": "b"}, unique_id=None)
    with pytest.raises(BlobNotFoundError, match="does not exist; check the container and blob name"):
        set_blank_vhd_metadata(target, container=container, name="nothing", metadata={}, unique_id=None)
    assert [stored(service, container, n) for n in ("other", "garbage")] == before


@pytest.mark.parametrize(
    "kwargs",
    [{"metadata": {"vhdcore_size": "1"}}, {"metadata": {"VHDCORE_marker": "x"}}, {"metadata": {"bad-key": "x"}},
     {"unique_id": "xyz"}, {"container": "BAD"}],
)
def test_set_metadata_validates_before_any_request(target: StorageTarget, counter: CountingTransport,
                                                   kwargs: dict[str, Any]) -> None:
    call: dict[str, Any] = {"container": "vhds", "name": "d.vhd", "metadata": {"owner": "a"}, "unique_id": None,
                            **kwargs}
    with pytest.raises(VhdError):
        set_blank_vhd_metadata(target, options=fast_options(transport=counter), **call)
    assert counter.requests == 0


# --- delete ----------------------------------------------------------------------------------------------


def test_delete_removes_the_disk_and_its_snapshots(target: StorageTarget, service: Any, container: str) -> None:
    create_blank_vhd(target, container=container, name="snap", size=MiB, unique_id=UID)
    service.get_blob_client(container, "snap").create_snapshot()
    assert delete_blank_vhd(target, container=container, name="snap", unique_id=UID) is True
    assert list(service.get_container_client(container).list_blobs(include=["snapshots"])) == []
    assert delete_blank_vhd(target, container=container, name="snap", unique_id=UID) is False


def test_delete_without_unique_id_needs_our_marker(target: StorageTarget, service: Any, container: str) -> None:
    put_foreign_page_blob(service, container, "theirs", bytes(MiB) + fixed_footer(MiB, unique_id=UID).pack())
    before = stored(service, container, "theirs")
    with pytest.raises(NotOwnedError, match=r"carries no vhdcore marker.*give the disk's unique id"):
        delete_blank_vhd(target, container=container, name="theirs", unique_id=None)
    assert stored(service, container, "theirs") == before


def leave_unfinished_grow(target: StorageTarget, service: Any, container: str, name: str) -> None:
    create_blank_vhd(target, container=container, name=name, size=MiB, unique_id=UID)
    service.get_blob_client(container, name).resize_blob(2 * MiB + 512)  # a grow stopped after its resize


@pytest.mark.parametrize("kind", ["valid", "damaged-footer", "unfinished-grow"])
def test_delete_without_unique_id_refuses_a_disk_even_of_ours(target: StorageTarget, service: Any, container: str,
                                                              kind: str) -> None:
    if kind == "unfinished-grow":
        leave_unfinished_grow(target, service, container, kind)
    else:
        create_blank_vhd(target, container=container, name=kind, size=MiB, unique_id=UID)
    blob = service.get_blob_client(container, kind)
    blob.upload_page(b"\x11" * 512, offset=0, length=512)  # data a Pulumi stack's VM may have written
    if kind == "damaged-footer":
        blob.upload_page(b"\x01" * 512, offset=MiB, length=512)
    before = stored(service, container, kind)
    data = 1024 if kind == "unfinished-grow" else 512  # the grow's new length puts the old footer among the data
    with pytest.raises(NotOwnedError, match=rf"is a disk this tool made by its metadata, as an ownerless create's "
                                            rf"\(the command line's\) blob, holding {data} bytes of data, not the "
                                            r"empty blob an "
                                            r"interrupted create or upload leaves, so it was not deleted without its "
                                            r"unique id; give its unique id \(`blob inspect` shows it\)"):
        delete_blank_vhd(target, container=container, name=kind, unique_id=None)
    assert stored(service, container, kind) == before
    assert delete_blank_vhd(target, container=container, name=kind, unique_id=UID) is True


def test_delete_without_unique_id_removes_an_interrupted_creates_leftover(
    target: StorageTarget, service: Any, container: str, counter: CountingTransport
) -> None:
    # What create leaves when its Put Blob lands unseen and nothing after it gets through: made here
    # directly, the way that create made it (tests/test_page_blob_faults.py makes it through faults).
    service.get_blob_client(container, "left").create_page_blob(MiB + 512, metadata={
        "vhdcore_marker": "ab" * 16, "vhdcore_unique_id": UID.hex(), "vhdcore_size": str(MiB)})
    assert delete_blank_vhd(target, container=container, name="left", unique_id=None,
                            options=fast_options(transport=counter)) is True
    assert stored(service, container, "left") is None
    assert [(s.method, s.query) for s in counter.log] == [("HEAD", ""), ("GET", "comp=pagelist"), ("DELETE", "")]


def test_delete_checks_the_unique_id_in_metadata_or_footer(target: StorageTarget, service: Any, container: str) -> None:
    put_foreign_page_blob(service, container, "theirs", bytes(MiB) + fixed_footer(MiB, unique_id=UID).pack())
    create_blank_vhd(target, container=container, name="mine", size=MiB, unique_id=UID)
    for name in ("theirs", "mine"):
        before = stored(service, container, name)
        with pytest.raises(NotOwnedError, match=f"has unique id {UID.hex()}, not {'cd' * 16}, so it was not deleted"):
            delete_blank_vhd(target, container=container, name=name, unique_id=UniqueId.parse("cd" * 16))
        assert stored(service, container, name) == before
        assert delete_blank_vhd(target, container=container, name=name, unique_id=UID) is True
        assert stored(service, container, name) is None


# --- leases: refused, never broken -----------------------------------------------------------------------


def test_leased_disk_is_not_grown_relabelled_or_deleted(target: StorageTarget, service: Any, container: str) -> None:
    create_blank_vhd(target, container=container, name="attached", size=MiB, unique_id=UID)
    blob = service.get_blob_client(container, "attached")
    blob.upload_page(b"\x44" * 512, offset=0, length=512, lease=(lease := blob.acquire_lease(-1)))
    before = stored(service, container, "attached")
    with pytest.raises(BlobLeasedError, match=r"growing .* has an active lease"):
        grow_blank_vhd(target, container=container, name="attached", size=2 * MiB)
    with pytest.raises(BlobLeasedError, match=r"changing the metadata of .* has an active lease"):
        set_blank_vhd_metadata(target, container=container, name="attached", metadata={"a": "b"}, unique_id=UID)
    with pytest.raises(BlobLeasedError, match=r"deleting .* never breaks leases"):
        delete_blank_vhd(target, container=container, name="attached", unique_id=UID)
    assert stored(service, container, "attached") == before
    props = blob.get_blob_properties()
    assert (props.lease.state, props.lease.status) == ("leased", "locked")
    lease.release()


def test_a_lease_taken_after_the_check_is_still_refused(proxy: FaultProxy, target: StorageTarget,
                                                        container: str) -> None:
    create_blank_vhd(target, container=container, name="late-lease", size=MiB, unique_id=UID)
    proxy.add(Fault("status", method="PUT", query="^comp=metadata$", status=412, code="LeaseIdMissing"))
    with pytest.raises(BlobLeasedError, match=r"changing the metadata of .* has an active lease"):
        set_blank_vhd_metadata(via(proxy), container=container, name="late-lease", metadata={"a": "b"},
                               unique_id=None, options=fast_options())
    proxy.add(Fault("status", method="DELETE", status=412, code="LeaseIdMissing"))
    with pytest.raises(BlobLeasedError, match=r"deleting .* has an active lease"):
        delete_blank_vhd(via(proxy), container=container, name="late-lease", unique_id=UID,
                         options=fast_options())


# --- error translation -----------------------------------------------------------------------------------


def test_missing_container_is_named_for_every_operation(target: StorageTarget) -> None:
    calls = [
        lambda: create_blank_vhd(target, container="no-such", name="x", size=MiB),
        lambda: inspect_blank_vhd(target, container="no-such", name="x"),
        lambda: grow_blank_vhd(target, container="no-such", name="x", size=MiB),
        lambda: set_blank_vhd_metadata(target, container="no-such", name="x", metadata={}, unique_id=None),
        lambda: delete_blank_vhd(target, container="no-such", name="x", unique_id=None),
    ]
    for call in calls:
        with pytest.raises(ContainerNotFoundError, match=r"container 'no-such' does not exist in .*; create it "
                           r"first, with `vhdcore container create -n no-such --blob-endpoint .*` .* BlobContainer"):
            call()


def test_wrong_key_is_an_auth_failure_without_the_key(azurite: Azurite, container: str) -> None:
    wrong = "A" * 86 + "=="
    bad = StorageTarget(account_url=azurite.endpoint, account_key=wrong)
    with pytest.raises(AuthFailedError, match=r"refused the credentials while creating .*HTTP 403") as caught:
        create_blank_vhd(bad, container=container, name="x", size=MiB, options=fast_options())
    assert wrong not in str(caught.value) and caught.value.__cause__ is None


@pytest.mark.parametrize(("fault", "code"), [(Fault.server_busy, "ServerBusy"),
                                             (Fault.operation_timed_out, "OperationTimedOut")])
def test_throttling_that_outlasts_the_retries(proxy: FaultProxy, service: Any, container: str, fault: Any,
                                              code: str) -> None:
    rule = proxy.add(fault(method="PUT", times=-1))
    with pytest.raises(ThrottledError, match=rf"kept throttling or timing out .*{code}.* wait a few minutes") as caught:
        create_blank_vhd(via(proxy), container=container, name="busy", size=MiB, options=fast_options())
    assert rule.fired == 4 and caught.value.status in (500, 503) and caught.value.code == code  # 1 + 3 retries
    assert stored(service, container, "busy") is None


def test_messages_are_one_sentence(target: StorageTarget, container: str) -> None:
    with pytest.raises(VhdError) as caught:
        create_blank_vhd(target, container="no-such", name="x", size=MiB)
    text = str(caught.value)
    assert text.endswith(".") and "\n" not in text and text.count("; ") == 1


# --- validation happens before any request ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["ab", "a" * 64, "-abc", "abc-", "ab--c", "ABC", "a_b", "$logs"])
def test_bad_container_names(name: str) -> None:
    with pytest.raises(BlobNameError, match=rf"container name {re.escape(repr(name))} .* as Azure requires; rename it"):
        validate_container_name(name)


@pytest.mark.parametrize("name", ["abc", "a" * 63, "a-b-c", "0x9", "$root"])
def test_good_container_names(name: str) -> None:
    validate_container_name(name)


@pytest.mark.parametrize("name", ["", "x" * 1025, "a\x00b", "tab\there", "disk.", "dir/", "/lead", "a//b", "a/../b",
                                  "/".join("s" * 255)])
def test_bad_blob_names(name: str) -> None:
    with pytest.raises(BlobNameError, match=r"blob name .* as Azure requires"):
        validate_blob_name(name)


@pytest.mark.parametrize("name", ["d.vhd", "disks/data-01.vhd", "ünïcode ok.vhd", "x" * 1024])
def test_good_blob_names(name: str) -> None:
    validate_blob_name(name)


@pytest.mark.parametrize(
    ("metadata", "message"),
    [({"VhdCore_size": "1"}, r"metadata name 'VhdCore_size' starts with 'vhdcore_', which this tool reserves for its "
                             r"own entries; rename it\.$"),
     ({"Owner": "a", "owner": "b"}, r"metadata name 'owner' repeats 'Owner' \(Azure ignores case in metadata names\); "
                                    r"keep only one of them\.$")],
)
def test_metadata_refusals_say_which_rule(metadata: dict[str, str], message: str) -> None:
    with pytest.raises(VhdError, match=message):
        validate_metadata(metadata)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"container": "BAD"}, {"name": "x/"}, {"size": 0}, {"size": MiB + 512}, {"size": 8192 * GiB},
        {"size": 1.5}, {"size": True}, {"metadata": {"vhdcore_marker": "x"}}, {"metadata": {"bad-key": "x"}},
        {"metadata": {"k": "ünïcode"}}, {"metadata": {"k": "x" * 9000}}, {"unique_id": b"short"},
    ],
)
def test_create_validates_before_any_request(target: StorageTarget, counter: CountingTransport,
                                             kwargs: dict[str, Any]) -> None:
    call = {"container": "vhds", "name": "d.vhd", "size": MiB, **kwargs}
    with pytest.raises(VhdError):
        create_blank_vhd(target, options=fast_options(transport=counter), **call)
    assert counter.requests == 0


@pytest.mark.parametrize("unique_id", ["xyz", "00" * 15, "g" * 32, "00 " * 16, " " + "00" * 16, "0x" + "00" * 15])
def test_unique_ids_parse_strictly_and_operations_take_only_parsed_ones(
    target: StorageTarget, counter: CountingTransport, unique_id: str
) -> None:
    with pytest.raises(InputError, match="must be 32 hex digits"):
        UniqueId.parse(unique_id)
    with pytest.raises(InputError, match="pass a UniqueId"):
        grow_blank_vhd(target, container="vhds", name="d", size=MiB, unique_id=unique_id,  # type: ignore[arg-type]
                       options=fast_options(transport=counter))
    with pytest.raises(InputError, match="pass a UniqueId"):
        delete_blank_vhd(target, container="vhds", name="d", unique_id=unique_id,  # type: ignore[arg-type]
                         options=fast_options(transport=counter))
    assert counter.requests == 0


# --- request and byte budget -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [GiB, 8191 * GiB], ids=["1GiB", "8191GiB"])
def test_request_budget(target: StorageTarget, container: str, counter: CountingTransport, size: int) -> None:
    options = fast_options(transport=counter)

    def spent(call: Any) -> tuple[int, int, list[str]]:
        counter.reset()
        call()
        return counter.requests, counter.body_bytes, [f"{s.method} {s.query}".strip() for s in counter.log]

    create = spent(lambda: create_blank_vhd(target, container=container, name="b", size=size, unique_id=UID,
                                            options=options))
    assert create == (3, 512, ["GET restype=account&comp=properties", "PUT", "PUT comp=page"])
    again = spent(lambda: create_blank_vhd(target, container=container, name="b2", size=size, options=options))
    assert again == (2, 512, ["PUT", "PUT comp=page"])  # the account's kind is known for the rest of the run
    inspect = spent(lambda: inspect_blank_vhd(target, container=container, name="b", options=options))
    assert inspect == (3, 0, ["HEAD", "GET", "GET comp=pagelist"])
    if size < 8191 * GiB:
        grow = spent(lambda: grow_blank_vhd(target, container=container, name="b", size=2 * size, options=options))
        writes = ["PUT comp=properties", "PUT comp=page", "PUT comp=page"]
        footer = ["GET", "GET comp=pagelist"]  # its footer read: metadata alone does not make a blob a disk
        assert grow[0] == 7 and grow[2] == ["HEAD", *footer, *writes, "PUT comp=metadata"] and grow[1] == 512 + 0
    tag = spent(lambda: set_blank_vhd_metadata(target, container=container, name="b", metadata={"owner": "a"},
                                               unique_id=None, options=options))
    assert tag == (2, 0, ["HEAD", "PUT comp=metadata"])
    same = spent(lambda: set_blank_vhd_metadata(target, container=container, name="b", metadata={"owner": "a"},
                                                unique_id=None, options=options))
    assert same == (1, 0, ["HEAD"])  # already as asked: nothing written
    delete = spent(lambda: delete_blank_vhd(target, container=container, name="b", unique_id=UID,
                                            options=options))
    assert delete == (2, 0, ["HEAD", "DELETE"])
    print(f"\nrequests at {size // GiB} GiB: create {create[:2]}, inspect {inspect[:2]}, delete {delete[:2]}")


def test_a_borrowed_transport_survives_calls(target: StorageTarget, container: str,
                                             counter: CountingTransport) -> None:
    options = fast_options(transport=counter)
    for _ in range(2):
        assert inspect_blank_vhd(target, container=container, name="none", options=options) is None
    assert counter.requests == 2
