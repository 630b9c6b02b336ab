"""Blob containers for the stack's `local` target: create one if missing, delete it only if empty.

The page-blob operations never create or delete containers; the Pulumi program declares one on Azurite so that
`pulumi up` then `pulumi destroy` leaves the emulator as it found it. Errors are translated by the same
rules as the page-blob operations'.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import ContainerClient

from .credentials import ClientOptions, StorageTarget
from .names import validate_container_name
from .translate import translate_error

T = TypeVar("T")


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


def delete_container_if_empty(target: StorageTarget, name: str, *, options: ClientOptions | None = None) -> bool:
    """Delete container `name` if it holds no blob; True deleted, False kept (not empty) or already gone."""

    def delete(container: ContainerClient) -> bool:
        try:
            if next(iter(container.list_blobs(results_per_page=1)), None) is not None:
                return False
            # A blob written between the listing and this delete would go with the container;
            # acceptable for a container this tool created for its own disks.
            container.delete_container()
        except ResourceNotFoundError:
            return False
        return True

    return _call(target, name, options, f"deleting container {name!r}", delete)


def _call(
    target: StorageTarget, name: str, options: ClientOptions | None, doing: str, call: Callable[[ContainerClient], T]
) -> T:
    """Check the inputs before any request, run `call` on a per-call client, and translate failures by the
    same status/code rules and SAS redaction as every other storage call."""
    validate_container_name(name)
    target.validate()
    try:
        with target.service_client(options) as service:
            return call(service.get_container_client(name))
    except AzureError as exc:
        raise translate_error(exc, doing, target, container=name) from None
