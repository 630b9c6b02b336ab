"""The image a VhdImage or a ManagedDiskImage is made from: its inputs (`source`, `source_sha256`, `compression`,
`format`), checked the same way for both, and which version of the image it is, known at preview.

What tells a local image that is not compressed from another is its content fingerprint, taken by check() (and
kept while the file's stamp stays the same, so an untouched file is not read at every preview). An image as
published (a URL, or a compressed file: `is_published`) is never downloaded or decompressed by a preview: what
tells its versions apart is the SHA-256 of its published bytes, `source_sha256` (given, or for a local file
computed by check from the compressed bytes, also kept by its stamp), and its content fingerprint is learned by
the upload (an output, carried by check while `source_sha256` stays the same). Both resources open the image for their
create through vhdcore.open_source, as `vhdcore blob upload` and `vhdcore disk upload` do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from pulumi.dynamic import CheckFailure

import vhdcore
from vhdcore import VhdError, owner_tag

from .common import given, is_unknown

FINGERPRINT, STAMP, SHA256 = "fingerprint", "source_stamp", "source_sha256"
# Changing one of these alone changes nothing in Azure: the image is what its version (version_key) says.
SOURCE_ONLY = ("source", "format", "compression")
# What check() reads of the opened image besides its version (the disk size it makes), as failures.
Sizing = Callable[["vhdcore.SourceImage"], list[CheckFailure]]


def is_published(source: object, compression: object = None) -> bool:
    """Whether the source is an image as published (a URL, or a compressed file), told apart by source_sha256."""
    if not isinstance(source, str) or not source:
        return False
    if vhdcore.is_image_url(source) or compression not in (None, "none"):
        return compression != "none"
    return bool(vhdcore.is_compressed_file(source))


def version_key(props: Mapping[str, Any]) -> str:
    """The input that tells the image's versions apart: source_sha256 for an image as published, else the
    fingerprint."""
    return SHA256 if is_published(props.get("source"), props.get("compression")) else FINGERPRINT


def deciding_version(olds: Mapping[str, Any], news: Mapping[str, Any], changes: list[str]) -> str:
    """The input that decides a diff's replacement (version_key of `news`); a change of the other one alone is dropped
    from `changes`. A published image is what its SHA-256 says (its fingerprint is known once uploaded); a local one
    is what its content fingerprint says, whatever checksum is written beside it. A state that has no SHA-256 yet (a
    local image becoming a published one) keeps the fingerprint's change."""
    key = version_key(news)
    other = FINGERPRINT if key == SHA256 else SHA256
    if other in changes and key not in changes and not (key == SHA256 and not given(olds, SHA256)):
        changes.remove(other)
    return key


def check_source_inputs(news: Mapping[str, Any], inputs: dict[str, Any], *, require_source: bool) -> list[CheckFailure]:
    """Every check of the image's inputs that needs no file and no network; the canonical checksum, compression and
    format go into `inputs`. `require_source`: False for what `pulumi import` read, which names no image."""
    failures: list[CheckFailure] = []
    source = news.get("source")
    if source is None and require_source:
        failures.append(CheckFailure("source", "source is required; give the path or https:// URL of a disk image "
                                               "(raw, VHD, VHDX, QCOW2, VMDK or VDI, compressed or not)."))
    elif source is not None and not is_unknown(source) and (not isinstance(source, str) or not source):
        failures.append(CheckFailure("source", f"source {source!r} is not a path; give the image file's path or "
                                               "its https:// URL."))
    elif isinstance(source, str) and vhdcore.is_image_url(source):
        # A URL's user, password or query (a SAS) may be a secret, and the engine prints the value of a property a
        # failure names: such a URL's failure names none (the sentence shows the URL without them).
        prop = "source" if vhdcore.shown_url(source) == source else ""
        try:
            vhdcore.check_image_url(source)
        except VhdError as exc:
            failures.append(CheckFailure(prop, str(exc)))
        if news.get(SHA256) is None:
            failures.append(CheckFailure(SHA256, f"source_sha256 is required with an image URL "
                                                 f"({vhdcore.shown_url(source)}): "
                                                 "a preview does not download the image, so its published SHA-256 is "
                                                 "what identifies it; give the checksum its publisher lists."))
    for key, canonical in ((SHA256, vhdcore.check_sha256), ("compression", vhdcore.check_compression),
                           ("format", vhdcore.check_format)):
        value = news.get(key)
        if value is not None and not is_unknown(value):
            try:
                inputs[key] = canonical(str(value), field=key)
            except VhdError as exc:
                failures.append(CheckFailure(key, str(exc)))
    return failures


def identify(olds: Mapping[str, Any], inputs: dict[str, Any], sizing: Sizing) -> list[CheckFailure]:
    """Set inputs' fingerprint, source_sha256 and stamp to the image's version (see the module docstring);
    a local uncompressed image is opened (refusals fail the preview) and `sizing` checks the disk it makes."""
    if is_unknown(inputs.get("source")) or is_unknown(inputs.get("format")):
        return []
    if is_published(inputs.get("source"), inputs.get("compression")):
        return _identify_published(olds, inputs)
    source, fmt = str(inputs["source"]), inputs.get("format")
    try:
        # A local file that is not compressed: read in place, as a DiskImage; open_source also refuses what only
        # looks raw (lz4, zip, a tar archive...). Its source_sha256, if any, is checked by the create, which reads
        # the file whole anyway.
        with vhdcore.open_source(source, fmt, compression=inputs.get("compression")) as image:
            assert isinstance(image, vhdcore.DiskImage)
            stamp = image.stamp()
            same_file = all(olds.get(k) == inputs.get(k) for k in ("source", "format")) and \
                olds.get(STAMP) == stamp and given(olds, FINGERPRINT)
            inputs[FINGERPRINT] = olds[FINGERPRINT] if same_file else vhdcore.fingerprint(image)
            inputs[STAMP] = stamp
            return sizing(image)
    except VhdError as exc:
        return [CheckFailure("source", str(exc))]


def _identify_published(olds: Mapping[str, Any], inputs: dict[str, Any]) -> list[CheckFailure]:
    """An image as published is neither downloaded nor decompressed at preview. A local compressed file's SHA-256 is
    computed from its compressed bytes (once per change of the file: its stamp), to name it when source_sha256 is
    not given and to refuse a given one that does not match; a URL needs source_sha256 (check_source_inputs). The
    content fingerprint stays the state's while the SHA-256 does."""
    source = str(inputs["source"])
    given_sha = inputs.get(SHA256)
    if not vhdcore.is_image_url(source):
        try:
            stamp = str(vhdcore.FileStamp.of_path(source))
        except OSError as exc:
            return [CheckFailure("source", f"cannot open image {source}: {exc.strerror}; check the path and "
                                           "permissions.")]
        same_file = olds.get("source") == source and olds.get(STAMP) == stamp and given(olds, SHA256)
        try:
            found = str(olds[SHA256]) if same_file and olds.get(SHA256) == (given_sha or olds[SHA256]) else \
                _file_sha256(source)
        except OSError as exc:
            return [CheckFailure("source", f"cannot read image {source}: {exc.strerror}; check the path and "
                                           "permissions.")]
        if given_sha is not None and found != given_sha:
            return [CheckFailure(SHA256, f"source_sha256 {given_sha} is not the SHA-256 of {source} ({found}); "
                                         "give the checksum of this file, or leave source_sha256 out to take the "
                                         "file as it is.")]
        inputs[SHA256], inputs[STAMP] = found, stamp
    else:
        inputs[STAMP] = ""
    same_image = olds.get(SHA256) == inputs.get(SHA256) and given(olds, FINGERPRINT)
    inputs[FINGERPRINT] = olds[FINGERPRINT] if same_image else ""
    return []


def open_for_upload(props: Mapping[str, Any]) -> vhdcore.SourceImage:
    """The image the checked inputs name, opened as `vhdcore blob upload` opens it (its checksum checked on the way)."""
    return vhdcore.open_source(str(props["source"]), props.get("format"), compression=props.get("compression"),
                               sha256=props.get(SHA256))


def shown(source: object) -> str:
    """A source as the engine's log and messages may show it: a URL without credentials or query string."""
    text = str(source)
    return vhdcore.shown_url(text) if vhdcore.is_image_url(text) else text


def name_tag(identity: str | None, version: str) -> str:
    """The 8 hex digits that end an auto-named disk's name (a VhdImage's blob, a ManagedDiskImage's disk), from the
    resource's identity and the image's version (its fingerprint, or `sha256:` and its source_sha256): the same image
    for the same resource gets the same name, so a `pulumi up` killed mid-upload finds its unfinished disk again;
    another image gets another name, so a replacement is made beside the old disk; another stack or resource never
    meets it."""
    return (owner_tag(f"{identity}|{version}") if identity else version.removeprefix("sha256:"))[:8]


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
