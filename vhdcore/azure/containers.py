"""Blob containers: create one, find one, list them, and delete one only when it is empty unless told otherwise.

The page-blob operations never create or delete containers; these do, for `vhdcore container` and the
BlobContainer resource (the stack declares one on Azurite so that `pulumi up` then `pulumi destroy` leaves the
emulator as it found it). Every request speaks the target's pinned storage API version (Azurite refuses the
SDK's newer default), and errors are translated by the same rules as the page-blob operations'.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import ContainerClient

from ..errors import ContainerNotEmptyError, InputError
from .clients import open_client
from .credentials import ClientOptions, StorageTarget
from .names import validate_blob_name, validate_container_name
from .translate import missing_container, translate_error

T = TypeVar("T")

# What "empty" looks past: blobs only a plain listing hides, which a container delete would take with it. (Not
# versions: the pinned API version predates them, and deleting a container does not need them listed to go.)
_EVERY_KIND = ["snapshots", "uncommittedblobs", "deleted"]
# Azure's own largest page of List Containers, and az's default --num-results.
LIST_LIMIT = 5000


@dataclass(frozen=True)
class ContainerInfo:
    """One container as List Containers shows it."""

    name: str
    url: str
    last_modified: str  # ISO 8601, UTC
    lease_state: str  # available, leased, expired, breaking, broken


@dataclass(frozen=True)
class ContainerListing:
    containers: list[ContainerInfo]
    more: bool  # the account holds more containers (with the prefix) than the limit let through


def create_container(target: StorageTarget, name: str, *, options: ClientOptions | None = None) -> bool:
    """Create container `name`; True if this call made it, False if it already existed (left as it is)."""

    def create(container: ContainerClient) -> bool:
        try:
            container.create_container()
        except ResourceExistsError:
            return False
        return True

    return _call(target, name, options, f"creating container {name!r}", create)


def container_exists(target: StorageTarget, name: str, *, options: ClientOptions | None = None) -> bool:
    return _call(target, name, options, f"looking for container {name!r}", lambda c: bool(c.exists()))


def require_container(target: StorageTarget, name: str, *, blob: str, options: ClientOptions | None = None) -> None:
    """Raise ContainerNotFoundError (saying how to create it) unless container `name` exists; writes nothing.

    Asked by a HEAD of the disk's `blob` (Get Blob Properties), not of the container's properties: any SAS that
    may read the blob allows it (a container SAS does not allow Get Container Properties), and Azure's 404 still
    says which one is missing (ContainerNotFound or BlobNotFound)."""
    validate_blob_name(blob)

    def head(container: ContainerClient) -> bool:
        try:
            container.get_blob_client(blob).get_blob_properties()
        except ResourceNotFoundError as exc:
            if _code(exc) == "ContainerNotFound":
                return False
            if _code(exc) != "BlobNotFound":
                raise
        return True

    if not _call(target, name, options, f"looking for container {name!r}", head):
        raise missing_container(name, target.blob_endpoint)


def delete_container(
    target: StorageTarget, name: str, *, delete_blobs: bool = False, options: ClientOptions | None = None
) -> bool:
    """Delete container `name`: True deleted, False it did not exist. Unless `delete_blobs`, a container holding any
    blob (snapshots, uncommitted and soft-deleted blobs included) is refused with ContainerNotEmptyError and left
    as it is; with it, every blob in the container goes with it (Azure checks no blob lease on a container delete).
    A blob written between the look and the delete would go with the container: Azure has no delete-if-empty."""

    def delete(container: ContainerClient) -> bool:
        try:
            if not delete_blobs and (first := _first_blob(container)) is not None:
                raise ContainerNotEmptyError(
                    f"container {name!r} in {target.blob_endpoint} is not empty (it holds {_shown(first)}, perhaps "
                    "among others) and was left as it is",
                    "delete its blobs first, or delete it with every blob in it (`vhdcore container delete "
                    "--delete-blobs`, delete_blobs=True)")
            container.delete_container()
        except ResourceNotFoundError:
            return False
        return True

    return _call(target, name, options, f"deleting container {name!r}", delete)


def delete_container_if_empty(target: StorageTarget, name: str, *, options: ClientOptions | None = None) -> bool:
    """Delete container `name` if it holds no blob; True deleted, False kept (not empty) or already gone."""
    try:
        return delete_container(target, name, options=options)
    except ContainerNotEmptyError:
        return False


def list_containers(
    target: StorageTarget, *, prefix: str | None = None, limit: int = LIST_LIMIT, options: ClientOptions | None = None
) -> ContainerListing:
    """The account's containers (whose names start with `prefix`), at most `limit` of them, in name order."""
    if limit < 1:
        raise InputError(f"the container limit {limit} must be at least 1; ask for 1 or more.")
    target.validate()
    found: list[ContainerInfo] = []
    try:
        with open_client(target, options) as service:
            pages = service.list_containers(name_starts_with=prefix, results_per_page=min(limit + 1, LIST_LIMIT))
            for item in pages:
                if len(found) == limit:
                    return ContainerListing(found, more=True)
                found.append(ContainerInfo(
                    name=item.name, url=f"{target.blob_endpoint}/{item.name}",
                    last_modified=item.last_modified.isoformat().replace("+00:00", "Z"),
                    lease_state=str(getattr(item.lease.state, "value", item.lease.state) or "available")))
    except AzureError as exc:
        raise translate_error(exc, "listing containers", target, container="") from None
    return ContainerListing(found, more=False)


def _first_blob(container: ContainerClient) -> str | None:
    item = next(iter(container.list_blobs(include=_EVERY_KIND, results_per_page=1)), None)
    return None if item is None else str(item.name)


def _shown(blob: str) -> str:
    """A blob name as a message quotes it: escaped, and cut (names run to 1024 characters)."""
    return repr(blob) if len(blob) <= 80 else f"{blob[:80]!r}..."


def _code(exc: AzureError) -> str | None:
    code: Any = getattr(exc, "error_code", None)
    response = getattr(exc, "response", None)
    if code is None and response is not None:
        code = response.headers.get("x-ms-error-code")
    return None if code is None else str(getattr(code, "value", code))


def _call(
    target: StorageTarget, name: str, options: ClientOptions | None, doing: str, call: Callable[[ContainerClient], T]
) -> T:
    """Check the inputs before any request, run `call` on a client (clients.open_client), and translate failures by the
    same status/code rules and SAS redaction as every other storage call."""
    validate_container_name(name)
    target.validate()
    try:
        with open_client(target, options) as service:
            return call(service.get_container_client(name))
    except AzureError as exc:
        raise translate_error(exc, doing, target, container=name) from None
