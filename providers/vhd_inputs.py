"""BlankVhd's inputs and outputs: checking and diffing the property bags the engine sends, and the typed
objects the provider methods work with.

The engine sends numbers as floats (10 arrives as 10.0) and, during preview, `Unknown` for values
not computed yet; check and diff handle both on the raw bags. Once checked, the provider parses the
props once into `DiskInputs`, and builds its outputs from one `DiskState`; hex unique ids and
floats exist only in the bags.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi.dynamic import CheckFailure

from vhdcore import (
    AZURE_CLOUD,
    FOOTER_SIZE,
    Cloud,
    GiB,
    UniqueId,
    VhdError,
    owner_tag,
    parse_size_gb,
    validate_blob_name,
    validate_container_name,
    validate_metadata,
)

from .common import Account, flag, given, is_unknown, stored_disk_from_outputs, stored_disk_outputs
from .schema import ACCOUNT_FIELDS

# A hidden input, never in outputs, set by read() only: the length of a blob that is longer than its disk
# and has no footer at its end (resized out of band, or a grow interrupted), so check() can refuse a size
# that cannot finish it. check() carries it from the old inputs, so it never differs and no diff shows it;
# once a grow has finished, it refuses nothing that would not be refused anyway.
UNFINISHED_LENGTH = "unfinished_blob_length"
# States written by blank-vhd 0.1 kept the auto-name prefix as an input (today the provider holds it):
# carried as it is, so those states show no diff either.
LEGACY_PREFIX = "auto_name_prefix"
FLAGS = ("adopt_existing", "allow_shrink_by_replace")
# Every input the user sets; diff compares exactly these (never __provider or the hidden ones).
INPUTS = ("size_gb", "container_name", "blob_name", *ACCOUNT_FIELDS, "metadata", *FLAGS)
REPLACE_ON_CHANGE = ("container_name", "blob_name")


@dataclass(frozen=True)
class DiskInputs:
    """A BlankVhd's checked inputs, typed: parsed once from the props the engine sends."""

    size_gb: int
    container_name: str
    blob_name: str
    account: Account
    metadata: dict[str, str]
    adopt_existing: bool
    allow_shrink_by_replace: bool

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> DiskInputs:
        return cls(
            size_gb=int(props["size_gb"]),
            container_name=str(props["container_name"]),
            blob_name=str(props["blob_name"]),
            account=Account.from_props(props),
            metadata=dict(props.get("metadata") or {}),
            adopt_existing=flag(props, "adopt_existing"),
            allow_shrink_by_replace=flag(props, "allow_shrink_by_replace"),
        )

    @property
    def size_bytes(self) -> int:
        return self.size_gb * GiB

    def to_props(self) -> dict[str, Any]:
        """The inputs as the engine keeps them (credentials under their own names, so they stay secret)."""
        props: dict[str, Any] = {
            "size_gb": self.size_gb,
            "container_name": self.container_name,
            "blob_name": self.blob_name,
            **self.account.to_props(),
            "adopt_existing": self.adopt_existing,
            "allow_shrink_by_replace": self.allow_shrink_by_replace,
        }
        if self.metadata:
            props["metadata"] = dict(self.metadata)
        return props


@dataclass(frozen=True)
class DiskState:
    """What a BlankVhd's outputs say: its inputs plus what storage holds. Built once, turned into props once."""

    inputs: DiskInputs
    url: str
    blob_endpoint: str
    size_bytes: int
    blob_length: int
    unique_id: UniqueId | None
    azure_ready: bool
    adopted: bool

    @classmethod
    def from_outputs(cls, props: Mapping[str, Any]) -> DiskState:
        """From the outputs a state holds (older states may lack blob_endpoint, url or unique_id)."""
        inputs = DiskInputs.from_props(props)
        return cls(inputs=inputs, **stored_disk_from_outputs(props, inputs.size_bytes))

    def to_outputs(self) -> dict[str, Any]:
        # Every input echoed (diff compares the next inputs against these), then the computed values.
        outs = self.inputs.to_props() | {"size_gb": size_gb_of(self.size_bytes)} | stored_disk_outputs(self)
        return {key: value for key, value in outs.items() if value is not None}


def check_inputs(
    olds: Mapping[str, Any], news: Mapping[str, Any], *, name_prefix: str | None, identity: str | None = None,
    cloud: Cloud = AZURE_CLOUD,
) -> tuple[dict[str, Any], list[CheckFailure]]:
    """The checked inputs (size as int, flags as bools, a blob name chosen) and one failure per bad field.

    `name_prefix`: the resource's name when its blob_name is omitted (the provider holds it: check() has no URN).
    `identity`: the resource's identity; the auto-name's suffix is derived from it (auto_name).
    """
    inputs = dict(news)
    if given(olds, "blob_name"):
        inputs.update({key: olds[key] for key in (UNFINISHED_LENGTH, LEGACY_PREFIX) if given(olds, key)})
    failures = [
        *_check_size(olds, news, inputs, cloud),
        *_check_names(olds, news, inputs, name_prefix, identity, cloud),
        *_check_metadata(news),
    ]
    for key in FLAGS:
        value = news.get(key)
        if value is None:
            inputs[key] = False
        elif not is_unknown(value) and not isinstance(value, bool):
            failures.append(CheckFailure(key, f"{key} {value!r} is not a boolean; set it to true or false."))
    return inputs, failures


def _check_size(
    olds: Mapping[str, Any], news: Mapping[str, Any], inputs: dict[str, Any], cloud: Cloud
) -> list[CheckFailure]:
    value = news.get("size_gb")
    if value is None:
        return [CheckFailure("size_gb", (
            f"size_gb is required; give the disk size as a whole number of GiB from 1 to "
            f"{cloud.size_limit.max_size_gb}{cloud.size_limit.on}."
        ))]
    if is_unknown(value):
        return []
    try:
        size = inputs["size_gb"] = parse_size_gb(value, limit=cloud.size_limit)
    except VhdError as exc:
        return [CheckFailure("size_gb", str(exc))]
    old = olds.get("size_gb")
    allowed = news.get("allow_shrink_by_replace")
    length = olds.get(UNFINISHED_LENGTH)
    replaced = any(olds.get(k) != news.get(k) for k in ("container_name", "blob_name") if given(news, k)) or (
        allowed and isinstance(old, (int, float)) and size < old)
    if isinstance(length, (int, float)) and size * GiB < length - FOOTER_SIZE and not replaced:
        return [CheckFailure("size_gb", sentence(*unfinished_grow(olds["container_name"], olds["blob_name"],
                                                                    int(length), size)))]
    if isinstance(old, (int, float)) and size < old and not allowed:
        return [CheckFailure("size_gb", (
            f"size_gb {size} would shrink the {old:g} GiB disk, and shrinking a page blob truncates the disk "
            f"(its data past {size} GiB and its footer are lost), so it is refused; set allow_shrink_by_replace to "
            f"true to replace it with a new blank {size} GiB disk (the old disk's data is lost), or declare a new "
            "BlankVhd."
        ))]
    return []


def auto_name(prefix: str | None, identity: str | None) -> str:
    """`<prefix>-<8 hex>.vhd`: the hex derived from the resource's identity, so every check of a resource that is
    not in the state yet (its first create, the retry of an interrupted one, a replacement) names the same blob;
    random for a provider without an identity (one pickled by blank-vhd 0.1)."""
    suffix = owner_tag(identity)[:8] if identity else secrets.token_hex(4)
    return f"{prefix or 'vhd'}-{suffix}.vhd"


def _check_names(
    olds: Mapping[str, Any], news: Mapping[str, Any], inputs: dict[str, Any], prefix: str | None,
    identity: str | None, cloud: Cloud,
) -> list[CheckFailure]:
    def valid_blob_name(name: object) -> str:
        return validate_blob_name(name, max_length=cloud.max_blob_name, where=cloud.name)

    failures = []
    container = news.get("container_name")
    if container is None:
        failures.append(CheckFailure("container_name", (
            "container_name is required; give an existing blob container's name "
            "(3 to 63 lowercase letters, digits and single hyphens)."
        )))
    elif not is_unknown(container):
        failures += _validated("container_name", validate_container_name, container)
    blob = news.get("blob_name")
    if blob is None:
        if given(olds, "blob_name"):
            inputs["blob_name"] = olds["blob_name"]  # named once, kept on every update
            return failures
        inputs["blob_name"] = blob = auto_name(prefix, identity)
        found = _validated("blob_name", valid_blob_name, blob)
        if found:
            failures.append(CheckFailure("blob_name", (
                f"the blob name {blob!r} made from the resource name is not valid ({found[0].reason.rstrip('.')}); "
                "give blob_name explicitly."
            )))
    elif not is_unknown(blob):
        failures += _validated("blob_name", valid_blob_name, blob)
    return failures


def _validated(key: str, validate: Any, value: object) -> list[CheckFailure]:
    if not isinstance(value, str):
        return [CheckFailure(key, f"{key} {value!r} is not a string; give the name as text.")]
    try:
        validate(value)
    except VhdError as exc:
        return [CheckFailure(key, str(exc))]
    return []


def _check_metadata(news: Mapping[str, Any]) -> list[CheckFailure]:
    metadata = news.get("metadata")
    if metadata is None or is_unknown(metadata):
        return []
    if not isinstance(metadata, dict):
        return [CheckFailure("metadata", f"metadata {metadata!r} is not a mapping; give a dict of names to strings.")]
    try:
        validate_metadata(metadata)
    except VhdError as exc:
        return [CheckFailure("metadata", str(exc))]
    return []


def changed_inputs(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    """The inputs whose new value differs from the state's (an unknown new value may differ)."""
    return [key for key in INPUTS if _differs(key, olds, news)]


def _differs(key: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    new = news.get(key)
    if is_unknown(new):
        return True
    if key in FLAGS:
        return flag(olds, key) != flag(news, key)
    if key == "metadata":
        return (olds.get(key) or {}) != (new or {})
    return bool(olds.get(key) != new)  # size_gb: 10 == 10.0


def shrinks(olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    """True when the new size is below the state's (or unknown while shrinking is allowed)."""
    new = news.get("size_gb")
    if is_unknown(new):
        return flag(news, "allow_shrink_by_replace")
    old = olds.get("size_bytes")
    return isinstance(new, (int, float)) and isinstance(old, (int, float)) and new * GiB < old


def size_gb_of(size_bytes: int) -> int | float:
    """Bytes as GiB: an int when whole (always, for disks this provider made)."""
    return size_bytes // GiB if size_bytes % GiB == 0 else size_bytes / GiB


def unfinished_grow(container: object, name: object, blob_length: int, size_gb: float) -> tuple[str, str]:
    """Why size_gb cannot repair a blob longer than its disk with no footer at its end, and what can: (what, fix),
    the halves of a StorageError; `sentence` joins them for a check failure."""
    data = blob_length - FOOTER_SIZE
    return (
        f"blob {name!r} in container {container!r} is {size_gb_of(data):g} GiB long but has no valid footer at its "
        f"end (resized out of band, or a grow was interrupted), so size_gb {size_gb:g} cannot repair it",
        f"set size_gb to {-(-data // GiB)} or more to finish growing it, or replace the disk with `pulumi up "
        "--replace` (its data is lost)",
    )


def sentence(what: str, fix: str) -> str:
    """A message's halves as one sentence, as a StorageError shows them."""
    return f"{what}; {fix}."
