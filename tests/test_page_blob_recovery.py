"""Every interrupted operation ends in a state the same operation finishes, against a real Azurite.

- create with an owner (a Pulumi resource's identity): an earlier attempt of the same owner is finished with
  the footer its metadata records (byte for byte what that attempt writes, so two writers agree), or taken
  over when it is a finished disk of the size; every other blob is left untouched.
- a footer damaged out of band is rewritten in place from what the caller knows (size and unique id).
- grow: a lost reply to the resize and a footer write failing past the retry budget leave a disk with a
  footer at its end, and the message says what storage holds.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from tests.conftest import via
from tests.faultproxy import Fault, FaultProxy, Stored, fast_options, stored
from vhdcore.azure.blobs import BlankVhdBlob
from vhdcore.azure.clouds import API_VERSION
from vhdcore.azure.credentials import StorageTarget
from vhdcore.azure.names import owner_tag
from vhdcore.azure.page_blob import create_blank_vhd, grow_blank_vhd, repair_blank_vhd_footer
from vhdcore.errors import BlobExistsError, InvalidDiskError, NotOwnedError, ThrottledError, VhdError
from vhdcore.format.footer import fixed_footer
from vhdcore.format.sizes import MiB
from vhdcore.format.unique_id import UniqueId

UID = UniqueId.parse("00112233445566778899aabbccddeeff")
OWNER = "organization/blank-vhd/dev/vhd-0"
DATA = b"\x5a" * 512


def interrupted(proxy: FaultProxy, container: str, *, owner: str | None, size: int = MiB) -> Stored:
    """What a create killed (or cut off) right after its Put Blob landed leaves: a footerless blob with metadata."""
    proxy.add(Fault("forward_reset", method="PUT", query="^$"))
    proxy.add(Fault.server_busy(method="PUT", query="^$", times=-1))
    proxy.add(Fault.server_busy(method="HEAD", times=-1))
    with pytest.raises(ThrottledError):
        create_blank_vhd(via(proxy), container=container, name="disk", size=size, owner=owner, options=fast_options())
    proxy.clear()
    left = stored_blob(proxy, container)
    assert left.content == bytes(size + 512)
    return left


def stored_blob(proxy: FaultProxy, container: str) -> Stored:
    with BlobServiceClient(proxy.url + "/devstoreaccount1", credential=_key(), api_version=API_VERSION) as service:
        found = stored(service, container, "disk")
    assert found is not None
    return found


def _key() -> dict[str, str]:
    from azurite_server import ACCOUNT_KEY

    return {"account_name": "devstoreaccount1", "account_key": ACCOUNT_KEY}


def footer_recorded(state: Stored) -> bytes:
    """The footer an earlier attempt writes, from what its metadata records."""
    meta = state.metadata
    return fixed_footer(int(meta["vhdcore_size"]), timestamp=int(meta["vhdcore_created"]),
                        unique_id=UniqueId.parse(meta["vhdcore_unique_id"])).pack()


# --- create with an owner --------------------------------------------------------------------------------


def test_an_owners_footerless_leftover_is_finished_with_the_footer_it_recorded(
    proxy: FaultProxy, service: Any, direct: StorageTarget, container: str
) -> None:
    left = interrupted(proxy, container, owner=OWNER)
    assert left.metadata["vhdcore_owner"] == owner_tag(OWNER)
    made = create_blank_vhd(direct, container=container, name="disk", size=MiB, owner=OWNER)
    after = stored(service, container, "disk")
    assert after is not None and after.content == bytes(MiB) + footer_recorded(left)
    assert str(made.unique_id) == left.metadata["vhdcore_unique_id"] and made.etag == after.etag
    assert after.metadata["vhdcore_marker"] == left.metadata["vhdcore_marker"]  # the same blob, finished


def test_an_owners_finished_disk_is_taken_over_without_a_write(service: Any, direct: StorageTarget,
                                                               container: str) -> None:
    first = create_blank_vhd(direct, container=container, name="disk", size=MiB, owner=OWNER, metadata={"a": "1"})
    before = stored(service, container, "disk")
    again = create_blank_vhd(direct, container=container, name="disk", size=MiB, owner=OWNER, metadata={"a": "1"})
    assert again.unique_id == first.unique_id and stored(service, container, "disk") == before
    # Metadata asked for now is applied to the taken-over disk.
    create_blank_vhd(direct, container=container, name="disk", size=MiB, owner=OWNER, metadata={"b": "2"})
    after = stored(service, container, "disk")
    assert after is not None and before is not None and after.content == before.content
    assert after.metadata["b"] == "2" and "a" not in after.metadata and after.metadata["vhdcore_owner"]


@pytest.mark.parametrize("footer", [True, False], ids=["finished", "footerless"])
def test_an_owners_disk_holding_data_is_neither_taken_over_nor_finished(footer: bool, service: Any,
                                                                        direct: StorageTarget, container: str) -> None:
    """The owner tag is metadata, which Copy Blob carries to another blob (and anyone who can write to the container
    can set): a blob carrying it that holds data (a disk kept by retain_on_delete and written to, or someone else's
    bytes under this tool's metadata) is not what an interrupted create leaves, so a create refuses it untouched."""
    create_blank_vhd(direct, container=container, name="disk", size=MiB, owner=OWNER, unique_id=UID)
    blob = service.get_blob_client(container, "disk")
    blob.upload_page(DATA, offset=0, length=512)
    if not footer:
        blob.clear_page(offset=MiB, length=512)
    before = stored(service, container, "disk")
    with pytest.raises(BlobExistsError, match=r"carries this disk's owner in its metadata but holds 512 bytes of "
                                              r"data, which no create writes, so it was neither finished nor taken "
                                              r"over and was left untouched; inspect it; adopt it \(adopt_existing\)"):
        create_blank_vhd(direct, container=container, name="disk", size=MiB, owner=OWNER)
    assert stored(service, container, "disk") == before


@pytest.mark.parametrize(("made_by", "asked_by"), [("other/stack/vhd-0", OWNER), (None, OWNER), (OWNER, None)],
                         ids=["another-owner", "ownerless-leftover", "owned-leftover-for-the-cli"])
def test_a_leftover_of_anyone_else_is_refused_untouched(made_by: str | None, asked_by: str | None,
                                                         proxy: FaultProxy, service: Any, direct: StorageTarget,
                                                         container: str) -> None:
    interrupted(proxy, container, owner=made_by)
    before = stored(service, container, "disk")
    with pytest.raises(BlobExistsError, match="already exists and was left untouched") as caught:
        create_blank_vhd(direct, container=container, name="disk", size=MiB, owner=asked_by)
    assert "\n" not in str(caught.value) and str(caught.value).count("; ") == 1
    assert stored(service, container, "disk") == before


def test_an_owners_leftover_of_another_size_is_made_again(proxy: FaultProxy, service: Any, direct: StorageTarget,
                                                           container: str) -> None:
    interrupted(proxy, container, owner=OWNER, size=2 * MiB)
    made = create_blank_vhd(direct, container=container, name="disk", size=MiB, owner=OWNER, unique_id=UID)
    after = stored(service, container, "disk")
    assert made.unique_id == UID and after is not None and after.is_valid_disk(MiB, UID)


def test_an_owners_finished_disk_of_another_size_is_refused_untouched(service: Any, direct: StorageTarget,
                                                                      container: str) -> None:
    create_blank_vhd(direct, container=container, name="disk", size=2 * MiB, owner=OWNER, unique_id=UID)
    before = stored(service, container, "disk")
    with pytest.raises(BlobExistsError, match=rf"earlier create of this same disk but is a disk of {2 * MiB} "
                                              rf"bytes with unique id {UID}, not a {MiB}-byte disk, so it was left "
                                              "untouched"):
        create_blank_vhd(direct, container=container, name="disk", size=MiB, owner=OWNER)
    assert stored(service, container, "disk") == before


def test_an_ownerless_rerun_removes_its_leftover_and_makes_the_disk(proxy: FaultProxy, service: Any,
                                                                    direct: StorageTarget, container: str) -> None:
    interrupted(proxy, container, owner=None, size=2 * MiB)
    made = create_blank_vhd(direct, container=container, name="disk", size=MiB, unique_id=UID)
    assert made.unique_id == UID and valid_disk(service, container, MiB, UID)


def test_two_attempts_of_one_owner_at_once_agree_on_one_disk(proxy: FaultProxy, service: Any, direct: StorageTarget,
                                                             container: str) -> None:
    """A killed `pulumi up` leaves its provider process running: its footer write is still on its way (held by
    the proxy) while the next `up` finishes the same blob. Both succeed with the same disk, byte for byte."""
    held = proxy.add(Fault("delay", method="PUT", query="^comp=page$", delay=3.0))
    results: dict[str, BlankVhdBlob | Exception] = {}

    def earlier() -> None:
        try:
            results["earlier"] = create_blank_vhd(via(proxy), container=container, name="disk", size=MiB, owner=OWNER,
                                                  options=fast_options(read_timeout=10.0))
        except Exception as exc:  # reported by the assertion below
            results["earlier"] = exc

    thread = threading.Thread(target=earlier)
    thread.start()
    while held.fired == 0:
        threading.Event().wait(0.05)  # wait until the earlier footer write is in the proxy's hands
    later = create_blank_vhd(direct, container=container, name="disk", size=MiB, owner=OWNER)
    thread.join()
    proxy.drain()
    first = results["earlier"]
    assert isinstance(first, BlankVhdBlob), first
    assert first.unique_id == later.unique_id and valid_disk(service, container, MiB, later.unique_id)


def valid_disk(service: Any, container: str, size: int, unique_id: bytes) -> bool:
    state = stored(service, container, "disk")
    return state is not None and state.is_valid_disk(size, unique_id)


# --- footer repair ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["zeroed", "one-byte-flipped"])
def test_a_damaged_footer_is_rewritten_in_place_keeping_id_data_and_size(damage: str, service: Any,
                                                                         direct: StorageTarget, container: str) -> None:
    create_blank_vhd(direct, container=container, name="disk", size=MiB, unique_id=UID)
    blob = service.get_blob_client(container, "disk")
    blob.upload_page(DATA, offset=0, length=512)
    original = stored(service, container, "disk")
    assert original is not None and original.content is not None
    footer = bytearray(original.content[-512:])
    if damage == "zeroed":
        footer[:] = bytes(512)
    else:
        footer[70] ^= 0x01  # inside the unique id: the checksum no longer matches
    blob.upload_page(bytes(footer), offset=MiB, length=512)
    repaired = repair_blank_vhd_footer(direct, container=container, name="disk", size=MiB, unique_id=UID)
    after = stored(service, container, "disk")
    assert repaired.unique_id == UID and after is not None and after.content == original.content


@pytest.mark.parametrize("kind", ["not-ours", "another-size", "another-unique-id"])
def test_a_footer_repair_refuses_what_is_not_that_disk(kind: str, service: Any, direct: StorageTarget,
                                                       container: str) -> None:
    blob = service.get_blob_client(container, "disk")
    if kind == "not-ours":
        blob.create_page_blob(MiB + 512)
    else:
        other = kind == "another-size"
        create_blank_vhd(direct, container=container, name="disk", size=2 * MiB if other else MiB,
                         unique_id=UID if other else UniqueId.parse("ab" * 16))
    blob.upload_page(bytes(512), offset=blob.get_blob_properties().size - 512, length=512)
    before = stored(service, container, "disk")
    error = {"not-ours": NotOwnedError, "another-size": InvalidDiskError, "another-unique-id": NotOwnedError}[kind]
    with pytest.raises(error, match="so its footer was not rewritten; ") as caught:
        repair_blank_vhd_footer(direct, container=container, name="disk", size=MiB, unique_id=UID)
    assert "\n" not in str(caught.value)
    assert stored(service, container, "disk") == before


def test_a_footer_that_is_right_is_not_written(proxy: FaultProxy, direct: StorageTarget, container: str) -> None:
    create_blank_vhd(direct, container=container, name="disk", size=MiB, unique_id=UID)
    repair_blank_vhd_footer(via(proxy), container=container, name="disk", size=MiB, unique_id=UID)
    # HEAD, the footer page, and the page list the SDK adds to every ranged read of a page blob: no write.
    assert [(s.method, s.query) for s in proxy.log] == [("HEAD", ""), ("GET", ""), ("GET", "comp=pagelist")]


# --- grow: what storage holds after a failure is a disk with a footer at its end --------------------------


def test_a_lost_reply_to_the_resize_then_an_outage_finishes_the_footer(
    proxy: FaultProxy, service: Any, direct: StorageTarget, container: str
) -> None:
    """The resize lands unseen and every retry of it fails, so it cannot be undone either: the new footer is
    written instead, and the message says the disk is valid at the new size but the grow unfinished."""
    create_blank_vhd(direct, container=container, name="disk", size=MiB, unique_id=UID)
    proxy.add(Fault("forward_reset", method="PUT", query="^comp=properties$"))
    proxy.add(Fault.server_busy(method="PUT", query="^comp=properties$", times=-1))
    with pytest.raises(ThrottledError, match=rf"while resizing .*, leaving the disk valid at {3 * MiB} bytes with its "
                                             r"data intact but the grow unfinished; run the grow again to finish it; "):
        grow_blank_vhd(via(proxy), container=container, name="disk", size=3 * MiB, options=fast_options())
    assert valid_disk(service, container, 3 * MiB, UID)
    proxy.clear()
    assert grow_blank_vhd(via(proxy), container=container, name="disk", size=3 * MiB).size == 3 * MiB
    after = stored(service, container, "disk")
    assert after is not None and after.content is not None and after.content[MiB : MiB + 512] == bytes(512)
    assert after.metadata["vhdcore_size"] == str(3 * MiB)


def test_a_lost_reply_to_the_resize_then_failing_footer_writes_undo_the_resize(
    proxy: FaultProxy, service: Any, direct: StorageTarget, container: str
) -> None:
    create_blank_vhd(direct, container=container, name="disk", size=MiB, unique_id=UID)
    proxy.add(Fault("forward_reset", method="PUT", query="^comp=properties$"))  # the resize lands, unseen
    proxy.add(Fault.server_busy(method="PUT", query="^comp=page$", times=-1))  # no footer write gets through
    with pytest.raises(ThrottledError, match=rf"so the resize was undone and the disk is as it was \({MiB} bytes, "
                                             r"data intact\); run the grow again to finish it; "):
        grow_blank_vhd(via(proxy), container=container, name="disk", size=3 * MiB, options=fast_options())
    assert valid_disk(service, container, MiB, UID)


def test_a_grow_that_cannot_look_after_a_failure_says_it_may_be_unfinished(
    proxy: FaultProxy, service: Any, direct: StorageTarget, container: str
) -> None:
    create_blank_vhd(direct, container=container, name="disk", size=MiB, unique_id=UID)
    proxy.add(Fault.server_busy(method="PUT", query="^comp=page$", times=-1))
    proxy.add(Fault.server_busy(method="HEAD", nth=2, times=-1))  # storage stops answering after the resize
    with pytest.raises(VhdError, match=r"storage could not be asked how far it got, so the grow may be unfinished "
                                       r"with no valid footer at the end \(the data is intact\); run the grow again"):
        grow_blank_vhd(via(proxy), container=container, name="disk", size=3 * MiB, options=fast_options())
    proxy.clear()
    grow_blank_vhd(via(proxy), container=container, name="disk", size=3 * MiB)
    assert valid_disk(service, container, 3 * MiB, UID)


def test_a_create_whose_blob_another_writer_resized_leaves_it_untouched(proxy: FaultProxy, service: Any,
                                                                         container: str) -> None:
    """Put Blob lands with its reply lost; before the create looks (HEAD), someone resizes that blob. It carries
    this attempt's marker but is no longer what it made: the create fails in one sentence and deletes nothing."""
    looked, resized = threading.Event(), threading.Event()
    proxy.add(Fault("forward_reset", method="PUT", query="^$", times=-1))  # every Put Blob lands, replies lost
    head = proxy.add(Fault("delay", method="HEAD", hold=resized, delay=0))

    def resize_when_the_create_looks() -> None:
        while head.seen == 0 and not looked.wait(0.01):
            pass
        service.get_blob_client(container, "d.vhd").resize_blob(4 * MiB)
        resized.set()

    helper = threading.Thread(target=resize_when_the_create_looks)
    helper.start()
    try:
        with pytest.raises(VhdError) as failed:
            create_blank_vhd(via(proxy), container=container, name="d.vhd", size=MiB, options=fast_options())
    finally:
        looked.set()
        resized.set()
        helper.join()
    assert "resized by another writer, so it was left as it is" in str(failed.value)
    assert "\n" not in str(failed.value)
    left = stored(service, container, "d.vhd")
    assert left is not None and left.length == 4 * MiB  # untouched: nobody deleted or finished it
