"""The VhdImage provider, the core both front doors run (see provider.py): a disk image uploaded as a fixed VHD page
blob (vhdcore's upload_image).

This module is pickled by reference into each VhdImage's `__provider` (module + class name), so the
provider process runs the code on disk: never rename or move it without keeping a shim. Its top level
declares no resources and does not import the Azure SDK (the program process imports it too).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

import vhdcore
from vhdcore import (
    BlobExistsError,
    ChecksumMismatchError,
    GiB,
    InvalidDiskError,
    RefusedError,
    SizeError,
    SizeLimit,
    StorageError,
    StorageTarget,
    VhdError,
    check_disk_size,
    owner_tag,
)

from .common import changed, given, is_unknown, no_change, progress_line, warn, without_flags
from .disks import DiskProvider
from .image_inputs import (
    CONTENT_ONLY,
    REPLACE_ON_CHANGE,
    ImageInputs,
    ImageState,
    auto_name,
    changed_inputs,
    check_plain_inputs,
)
from .image_source import FINGERPRINT, SHA256, STAMP, deciding_version, identify, is_published, open_for_upload, shown

if TYPE_CHECKING:
    from vhdcore import UploadProgress

__all__ = ["VhdImageProvider"]

PROGRESS_EVERY = 10.0  # seconds between progress lines in the engine's log
# Outputs a VhdImage.get() cannot know: they describe the image file and its upload, and the blob records neither.
UPLOAD_ONLY = ("source", STAMP, "image_format", "image_size", "data_bytes")


class VhdImageProvider(DiskProvider):
    """CRUD for one disk made from an image; `id` is the blob URL (no SAS).

    Pickled with `auto_name_prefix` and `identity` only (NamingProvider); check() names an unnamed blob after
    them and the image's fingerprint (image_inputs.auto_name). The image readers load on the first check, in the
    provider process, never in the program's.
    """

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        limit = self.cloud_for(news).size_limit
        # `pulumi import` checks the inputs read() returned: the blob records the image's fingerprint, not the file
        # it was uploaded from, so there is no source to read (the program that declares it names one).
        imported = news.get("source") is None and given(news, FINGERPRINT) and \
            olds.get(FINGERPRINT) == news[FINGERPRINT]
        inputs, failures = check_plain_inputs(news, limit=limit, require_source=not imported)
        failures += self.check_account(news)
        checked = not imported and not any(f.property in ("", "source", SHA256, "format", "compression", "size_gb")
                                           for f in failures)
        published = not imported and is_published(inputs.get("source"), inputs.get("compression"))
        if checked:
            found = identify(olds, inputs, lambda image: _sized(image, inputs, limit))
            failures += found or ([] if published else _shrinks(olds, news, inputs))
        # The identity that names the blob and decides replacement: the content fingerprint of a local image, the
        # published SHA-256 of a URL or a compressed file (its fingerprint is learned by the upload).
        key = SHA256 if published else FINGERPRINT
        if not given(news, "blob_name") and given(inputs, key) and inputs[key]:
            same = given(olds, "blob_name") and olds.get(key) == inputs[key]
            # Named once; a new image is a new disk beside the old one, so it gets its own name.
            identity = f"sha256:{inputs[key]}" if published else str(inputs[key])
            inputs["blob_name"] = olds["blob_name"] if same else auto_name(self.auto_name_prefix, self.identity,
                                                                            identity)
        failures += self.check_container(olds, inputs, failures)
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = changed_inputs(olds, news)
        moved = self.account_replaces(olds, news)
        if "size_gb" in changes and not _grows(olds, news):
            changes.remove("size_gb")  # unset, or not above the disk's size: the disk already is big enough
        key = deciding_version(olds, news, changes)
        real = [k for k in changes if k not in CONTENT_ONLY]
        if not real and not moved:
            return no_change()  # a moved or renamed image file with the same content: nothing to do
        replaces = [k for k in (*REPLACE_ON_CHANGE, key) if k in changes] + moved
        if key in changes and not is_unknown(news.get(key)):
            what = "fingerprint" if key == FINGERPRINT else "source_sha256"
            warn(f"the image {shown(news.get('source'))} has new content ({what} {olds.get(key)} is now "
                 f"{news.get(key)}), so the disk will be replaced by a new upload; data written to the old disk is "
                 "lost.")
        explicit_name = self.auto_name_prefix is None and not (bool(moved) and self.endpoint(news) is not None)
        return changed(olds, news, real, replaces, delete_before_replace=explicit_name)

    def create(self, props: dict[str, Any]) -> CreateResult:
        wanted = ImageInputs.from_props(props)
        target = self.target(wanted.account)
        published = is_published(wanted.source, wanted.compression)
        with open_for_upload(wanted.to_props()) as image:
            if wanted.adopt_existing and not published:  # a published image is adopted by the upload (below)
                adopted = self._adopt(target, wanted, image.format, image.virtual_size)
                if adopted is not None:
                    return CreateResult(adopted.url, adopted.to_outputs())
            progress = _EngineLog(shown(wanted.source), image.allocated_bytes)
            progress.start(f"{wanted.container_name}/{wanted.blob_name}")
            try:
                done = vhdcore.upload_image(
                    target, image, container=wanted.container_name, name=wanted.blob_name, size=wanted.size_bytes,
                    metadata=wanted.metadata, fingerprint=None if published else wanted.fingerprint or None,
                    verify=wanted.verify, owner=self.identity, progress=progress.update, notes=progress.note)
            except ChecksumMismatchError as exc:
                # The published bytes are checked only as they go out. Under an auto-name (which follows
                # source_sha256) the corrected run uploads to another name, so what this one made would be left
                # for no one to finish: it goes now. Under a blob_name the corrected run resumes it by content.
                if published and self._auto_named(wanted):
                    raise self._without_unfinished(target, wanted, exc) from None
                raise
            except BlobExistsError as exc:
                raise BlobExistsError(
                    f"blob {wanted.blob_name!r} already exists in container {wanted.container_name!r} and was left "
                    f"untouched{''.join(exc.notes)}" if exc.code == "BlobAlreadyExists" else exc.what,
                    "choose another blob_name, delete that blob, or set adopt_existing to true to take it over if it "
                    "holds this image", status=exc.status, code=exc.code) from None
            wanted = replace(wanted, fingerprint=done.fingerprint)  # a published image's is learned only now
            if done.already_complete and published and wanted.adopt_existing:
                # Its pages were read back and compared with the image, and it lacks none of its data.
                state = ImageState(wanted, done.url, target.blob_endpoint, done.size, done.blob_length,
                                   done.unique_id, azure_ready=True, adopted=True, bytes_sent=0,
                                   image_format=image.format, image_size=image.virtual_size, data_bytes=0)
                return CreateResult(done.url, state.to_outputs())
            if done.already_complete:
                raise BlobExistsError(
                    f"blob {wanted.blob_name!r} in container {wanted.container_name!r} already holds this image as a "
                    "finished disk (uploaded earlier, or by a run whose state was lost), and was left untouched",
                    "set adopt_existing to true to take it over, or delete it")
            progress.finished(done.url, done.bytes_sent)
            for warning in done.warnings:
                warn(warning)
            state = ImageState(wanted, done.url, target.blob_endpoint, done.size, done.blob_length, done.unique_id,
                               azure_ready=True, adopted=False, bytes_sent=done.bytes_sent,
                               image_format=image.format, image_size=image.virtual_size, data_bytes=done.data_bytes)
        return CreateResult(done.url, state.to_outputs())

    def _auto_named(self, wanted: ImageInputs) -> bool:
        """Whether the blob bears the auto-name of this resource and this source_sha256 (check() gave it)."""
        return self.auto_name_prefix is not None and wanted.blob_name == auto_name(
            self.auto_name_prefix, self.identity, f"sha256:{wanted.source_sha256}")

    def _without_unfinished(self, target: StorageTarget, wanted: ImageInputs,
                            exc: ChecksumMismatchError) -> ChecksumMismatchError:
        """`exc`, after deleting the blob this create left under the auto-name: only one without a valid footer that
        carries this resource's owner (vhdcore's delete then checks its unique id). What is not that stays, as the
        upload's error says."""
        container, name = wanted.container_name, wanted.blob_name
        where = f"blob {name!r} in container {container!r}"
        unique_id = None
        try:
            found = vhdcore.inspect_blank_vhd(target, container=container, name=name)
            unique_id = found.recorded_unique_id if found is not None else None
            if found is None or found.report.azure_ready or self.identity is None or unique_id is None or \
                    found.owner != owner_tag(self.identity):
                return exc  # nothing was made (the checksum was known before any write), or it is not ours to delete
            vhdcore.delete_blank_vhd(target, container=container, name=name, unique_id=unique_id)
        except VhdError as failed:
            why = failed.what if isinstance(failed, StorageError) else str(failed).rstrip(".")
            unique = f"--unique-id {unique_id}" if unique_id is not None else \
                f"--unique-id ID (`vhdcore blob inspect -c {container} -n {name}` shows it)"
            return ChecksumMismatchError(
                f"{exc.what}; the unfinished disk, {where}, that this update made could not be deleted ({why}), so it "
                f"is left with no footer: delete it with `vhdcore blob delete -c {container} -n {name} {unique}` "
                "before fixing source_sha256", exc.fix, expected=exc.expected, found=exc.found)
        return ChecksumMismatchError(
            f"{exc.what}; the unfinished disk, {where}, that this update made was deleted, so fixing source_sha256 "
            "leaves nothing behind", exc.fix, expected=exc.expected, found=exc.found)

    def _adopt(self, target: StorageTarget, wanted: ImageInputs, image_format: str,
               image_size: int) -> ImageState | None:
        found = vhdcore.inspect_blank_vhd(target, container=wanted.container_name, name=wanted.blob_name)
        if found is None:
            return None
        recorded = found.fingerprint
        footer = found.report.footer
        if not found.report.azure_ready or footer is None or recorded != wanted.fingerprint:
            what = "is not a valid fixed VHD" if not found.report.azure_ready else \
                f"holds another image (fingerprint {recorded or 'not recorded'})"
            raise RefusedError(
                f"blob {wanted.blob_name!r} in container {wanted.container_name!r} already exists but {what}, so it "
                "was not adopted and was left untouched", "delete it or choose another blob_name")
        return ImageState(wanted, found.url, target.blob_endpoint, footer.current_size, found.blob_length,
                          found.unique_id, azure_ready=True, adopted=True, bytes_sent=0, image_format=image_format,
                          image_size=image_size, data_bytes=0)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # In place: a bigger size_gb (the disk grows, keeping its data and id), metadata, credentials, or only
        # the way the image file is named. Each step is safe to repeat.
        old = ImageState.from_outputs(olds)
        wanted = ImageInputs.from_props(news)
        target = self.target(wanted.account, endpoint=old.blob_endpoint or None)
        container, name = wanted.container_name, wanted.blob_name
        size, length = old.size_bytes, old.blob_length
        if wanted.size_bytes is not None and wanted.size_bytes > old.size_bytes:
            grown = vhdcore.grow_blank_vhd(target, container=container, name=name, size=wanted.size_bytes,
                                         unique_id=old.unique_id)
            size, length = grown.size, grown.blob_length
        if old.inputs.metadata != wanted.metadata:
            vhdcore.set_blank_vhd_metadata(target, container=container, name=name, metadata=wanted.metadata,
                                         unique_id=old.unique_id)
        state = ImageState(wanted, old.url, old.blob_endpoint or target.blob_endpoint, size, length, old.unique_id,
                           old.azure_ready, old.adopted, old.bytes_sent, old.image_format, old.image_size,
                           old.data_bytes)
        return UpdateResult(state.to_outputs())

    def recorded(self, props: Mapping[str, Any]) -> ImageState:
        return ImageState.from_outputs(props)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        if not given(props, "source"):
            # VhdImage.get() or `pulumi import`: the id (the blob URL) is all there is. Their state has no source
            # either, so a refresh reads it by URL again, and fails rather than dropping it when the blob is gone.
            return self._read_by_url(id_)
        old = self.recorded(props)
        wanted = old.inputs
        found = self.find(old)
        if found is None:
            return ReadResult(None, {})  # deleted out of band: dropped from the state
        footer = found.report.footer
        ready = found.report.azure_ready and footer is not None
        size = footer.current_size if ready and footer is not None else old.size_bytes
        state = ImageState(wanted, found.url, old.blob_endpoint, size, found.blob_length, old.unique_id, ready,
                           old.adopted, old.bytes_sent, old.image_format, old.image_size, old.data_bytes)
        inputs = wanted.to_props()
        recorded = found.fingerprint
        if recorded and recorded != wanted.fingerprint:
            inputs[FINGERPRINT] = recorded  # the blob holds another image than the state says: the next diff replaces
        return ReadResult(found.url, state.to_outputs(), inputs)

    def _read_by_url(self, url: str) -> ReadResult:
        """A disk known only by its URL: its outputs, and its inputs as check returns them (with the recorded
        fingerprint, and no source: the blob does not say which file it came from). It was not made by this
        resource, so it counts as adopted: destroy leaves it in place unless this tool made it."""
        at = self.find_by_url("VhdImage", url)
        found, footer = at.found, at.found.report.footer
        recorded = found.fingerprint
        if not found.report.azure_ready or footer is None or not recorded:
            what = "has no valid VHD footer (an upload that did not finish, or not a fixed VHD)" if \
                not found.report.azure_ready or footer is None else \
                "records no image fingerprint (a blank disk, or a VHD this tool did not upload)"
            raise InvalidDiskError(
                f"VhdImage: {at.where} {what}, so it is not a finished VhdImage upload",
                "give the `url` output of a VhdImage (or a `vhdcore blob upload`) that finished, re-run the one that "
                "was interrupted, or read a blank disk as a BlankVhd")
        wanted = ImageInputs(source="", format=None, size_gb=None, container_name=at.container, blob_name=at.name,
                             account=at.account, metadata=found.user_metadata, adopt_existing=False, verify=False,
                             fingerprint=recorded, source_stamp="")
        state = ImageState(wanted, found.url, self.target(at.account, endpoint=at.endpoint).blob_endpoint,
                           footer.current_size, found.blob_length, found.unique_id, azure_ready=True, adopted=True,
                           bytes_sent=0, image_format="", image_size=0, data_bytes=0)
        # What only the upload knew (the file, its format and sizes) is not on the blob: those outputs stay None.
        outs = {key: value for key, value in state.to_outputs().items() if key not in UPLOAD_ONLY}
        inputs = {key: value for key, value in without_flags(wanted.to_props()).items() if key not in UPLOAD_ONLY}
        return ReadResult(found.url, outs, inputs)


def _sized(image: vhdcore.SourceImage, inputs: dict[str, Any], limit: SizeLimit) -> list[CheckFailure]:
    """The disk a local image makes: size_gb, if given, holds it; else its own size fits the cloud's limit."""
    source, size = inputs["source"], inputs.get("size_gb")
    if is_unknown(size):
        return []
    try:
        disk = vhdcore.disk_size(image, size * GiB if isinstance(size, int) else None, field="size_gb")
        if size is None:  # size_gb itself was checked against the cloud's limit already
            check_disk_size(disk.size, field=f"image {source}'s disk", shown=disk.size, limit=limit)
    except SizeError as exc:
        return [CheckFailure("size_gb" if size is not None else "source", str(exc))]
    return []


def _shrinks(olds: dict[str, Any], news: dict[str, Any], inputs: dict[str, Any]) -> list[CheckFailure]:
    """A smaller size_gb for the same disk is refused at preview: shrinking a page blob truncates it."""
    size, old = inputs.get("size_gb"), olds.get("size_bytes")
    same_disk = olds.get(FINGERPRINT) == inputs.get(FINGERPRINT) and not any(
        given(news, k) and olds.get(k) != news.get(k) for k in REPLACE_ON_CHANGE)
    if isinstance(size, int) and isinstance(old, (int, float)) and size * GiB < old and same_disk:
        return [CheckFailure("size_gb", (
            f"size_gb {size} would shrink the {old / GiB:g} GiB disk, and shrinking a page blob truncates it, so "
            "it is refused; keep size_gb, or replace the disk with `pulumi up --replace` (a new disk from the "
            "image; the old disk's data is lost)."))]
    return []


def _grows(olds: dict[str, Any], news: dict[str, Any]) -> bool:
    size, old = news.get("size_gb"), olds.get("size_bytes")
    return is_unknown(size) or (isinstance(size, (int, float)) and isinstance(old, (int, float)) and size * GiB > old)


class _EngineLog:
    """Upload progress as lines in the engine's log, as they come (common.progress_line):
    one at the start, then one every PROGRESS_EVERY seconds, then the result."""

    def __init__(self, source: str, total: int) -> None:
        self.source, self.total = source, total
        self.last = 0.0

    def start(self, where: str) -> None:
        progress_line(f"uploading {self.source} ({_mib(self.total)} stored) to {where}")

    def update(self, progress: UploadProgress) -> None:
        now = time.monotonic()
        if self.last and now - self.last < PROGRESS_EVERY and progress.read < progress.total:
            return
        self.last = now
        percent = 100 * progress.read // progress.total if progress.total else 100
        progress_line(f"uploading {self.source}: {percent}% of {_mib(progress.total)} read, {_mib(progress.sent)} sent"
                      + (f", {_mib(progress.kept)} already on the blob" if progress.kept else ""))

    def note(self, text: str) -> None:
        progress_line(f"{self.source}: {text}")

    def finished(self, url: str, sent: int) -> None:
        progress_line(f"uploaded {self.source} to {url}: {_mib(sent)} sent")


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"
