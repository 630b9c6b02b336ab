"""VhdImage's inputs and outputs: the rules check and diff apply to the property bags the engine sends, and the
typed objects the provider methods work with (as vhd_inputs.py does for BlankVhd).

check() adds inputs of its own, computed from the image: `fingerprint`, `source_sha256` and `source_stamp`, what
identifies the image and so drives replacement (image_source.py, shared with ManagedDiskImage).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi.dynamic import CheckFailure

from vhdcore import (
    AZURE_LIMIT,
    GiB,
    SizeLimit,
    UniqueId,
    VhdError,
    parse_size_gb,
    validate_blob_name,
    validate_container_name,
    validate_metadata,
)

from .common import Account, flag, given, is_unknown, stored_disk_from_outputs, stored_disk_outputs
from .image_source import FINGERPRINT, SHA256, SOURCE_ONLY, STAMP, check_source_inputs, name_tag
from .schema import ACCOUNT_FIELDS

FLAGS = ("adopt_existing", "verify")
# Every input the user sets; diff compares these, and the fingerprint (never __provider or the stamp).
INPUTS = ("source", SHA256, "format", "compression", "size_gb", "container_name", "blob_name", *ACCOUNT_FIELDS,
          "metadata", *FLAGS)
REPLACE_ON_CHANGE = ("container_name", "blob_name")
# Changing these alone changes nothing on storage: the disk is what the fingerprint (or source_sha256) says.
CONTENT_ONLY = (*SOURCE_ONLY, "verify", "adopt_existing")


@dataclass(frozen=True)
class ImageInputs:
    """A VhdImage's checked inputs, typed."""

    source: str
    format: str | None
    size_gb: int | None
    container_name: str
    blob_name: str
    account: Account
    metadata: dict[str, str]
    adopt_existing: bool
    verify: bool
    fingerprint: str
    source_stamp: str
    source_sha256: str | None = None
    compression: str | None = None

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> ImageInputs:
        size = props.get("size_gb")
        return cls(
            source=str(props.get("source") or ""),  # none in a state `pulumi import` or get() made
            format=str(props["format"]) if given(props, "format") else None,
            size_gb=int(size) if size is not None else None,
            container_name=str(props["container_name"]),
            blob_name=str(props["blob_name"]),
            account=Account.from_props(props),
            metadata=dict(props.get("metadata") or {}),
            adopt_existing=flag(props, "adopt_existing"),
            verify=flag(props, "verify"),
            fingerprint=str(props.get(FINGERPRINT) or ""),
            source_stamp=str(props.get(STAMP) or ""),
            source_sha256=str(props[SHA256]) if given(props, SHA256) else None,
            compression=str(props["compression"]) if given(props, "compression") else None,
        )

    @property
    def size_bytes(self) -> int | None:
        return None if self.size_gb is None else self.size_gb * GiB

    def to_props(self) -> dict[str, Any]:
        props: dict[str, Any] = {
            "source": self.source,
            "container_name": self.container_name,
            "blob_name": self.blob_name,
            **self.account.to_props(),
            "adopt_existing": self.adopt_existing,
            "verify": self.verify,
            FINGERPRINT: self.fingerprint,
            STAMP: self.source_stamp,
        }
        if self.format is not None:
            props["format"] = self.format
        if self.source_sha256 is not None:
            props[SHA256] = self.source_sha256
        if self.compression is not None:
            props["compression"] = self.compression
        if self.size_gb is not None:
            props["size_gb"] = self.size_gb
        if self.metadata:
            props["metadata"] = dict(self.metadata)
        return props


@dataclass(frozen=True)
class ImageState:
    """What a VhdImage's outputs say: its inputs, the disk storage holds, and what its upload did."""

    inputs: ImageInputs
    url: str
    blob_endpoint: str
    size_bytes: int
    blob_length: int
    unique_id: UniqueId | None
    azure_ready: bool
    adopted: bool
    bytes_sent: int
    image_format: str
    image_size: int
    data_bytes: int

    @classmethod
    def from_outputs(cls, props: Mapping[str, Any]) -> ImageState:
        return cls(
            inputs=ImageInputs.from_props(props),
            **stored_disk_from_outputs(props, 0),
            bytes_sent=int(props.get("bytes_sent") or 0),
            image_format=str(props.get("image_format") or ""),
            image_size=int(props.get("image_size") or 0),
            data_bytes=int(props.get("data_bytes") or 0),
        )

    def to_outputs(self) -> dict[str, Any]:
        outs = self.inputs.to_props() | stored_disk_outputs(self)
        outs.update(
            bytes_sent=self.bytes_sent,
            image_format=self.image_format,
            image_size=self.image_size,
            data_bytes=self.data_bytes,
        )
        return {key: value for key, value in outs.items() if value is not None}


def auto_name(prefix: str | None, identity: str | None, fingerprint: str) -> str:
    """`<resource>-<8 hex>.vhd`, the hex from the resource's identity and the image's version (image_source.name_tag,
    which says why)."""
    return f"{prefix or 'image'}-{name_tag(identity, fingerprint)}.vhd"


def check_plain_inputs(news: Mapping[str, Any], *, limit: SizeLimit = AZURE_LIMIT,
                       require_source: bool = True) -> tuple[dict[str, Any], list[CheckFailure]]:
    """Every check that needs no file and no network: names, metadata, size, format, flags. `require_source`: False
    for what `pulumi import` read, which names no image file."""
    inputs = dict(news)
    failures = check_source_inputs(news, inputs, require_source=require_source)
    container = news.get("container_name")
    if container is None:
        failures.append(CheckFailure("container_name", "container_name is required; give an existing blob "
                                                       "container's name."))
    elif not is_unknown(container):
        failures += _validated("container_name", validate_container_name, container)
    blob = news.get("blob_name")
    if blob is not None and not is_unknown(blob):
        failures += _validated("blob_name", validate_blob_name, blob)
    size = news.get("size_gb")
    if size is not None and not is_unknown(size):
        try:
            inputs["size_gb"] = parse_size_gb(size, limit=limit)
        except VhdError as exc:
            failures.append(CheckFailure("size_gb", str(exc)))
    metadata = news.get("metadata")
    if metadata is not None and not is_unknown(metadata):
        if not isinstance(metadata, dict):
            failures.append(CheckFailure("metadata", f"metadata {metadata!r} is not a mapping; give a dict of names "
                                                     "to strings."))
        else:
            try:
                validate_metadata(metadata)
            except VhdError as exc:
                failures.append(CheckFailure("metadata", str(exc)))
    for key in FLAGS:
        value = news.get(key)
        if value is None:
            inputs[key] = False
        elif not is_unknown(value) and not isinstance(value, bool):
            failures.append(CheckFailure(key, f"{key} {value!r} is not a boolean; set it to true or false."))
    return inputs, failures


def _validated(key: str, validate: Any, value: object) -> list[CheckFailure]:
    if not isinstance(value, str):
        return [CheckFailure(key, f"{key} {value!r} is not a string; give the name as text.")]
    try:
        validate(value)
    except VhdError as exc:
        return [CheckFailure(key, str(exc))]
    return []


def changed_inputs(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    """The inputs (and the fingerprint) whose new value differs from the state's; unknown may differ."""
    return [key for key in (*INPUTS, FINGERPRINT) if _differs(key, olds, news)]


def _differs(key: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    new = news.get(key)
    if is_unknown(new):
        return True
    if key in FLAGS:
        return flag(olds, key) != flag(news, key)
    if key == "metadata":
        return (olds.get(key) or {}) != (new or {})
    return bool(olds.get(key) != new)

