"""Blob containers for the stack's `local` target: create one if missing, delete it only if empty.

page_blob never creates or deletes containers; the Pulumi program declares one on Azurite so that
`pulumi up` then `pulumi destroy` leaves the emulator as it found it. Errors are page_blob's classes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
)

from .credentials import ClientOptions, StorageTarget
from .page_blob import AuthFailedError, BlobOperationError, StorageError, validate_container_name

T = TypeVar("T")


def create_container(target: StorageTarget, name: str, *, options: ClientOptions | None = None) -> bool:
    """Create container `name`; True if this call made it, False if it already existed (left as it is)."""
    validate_container_name(name)
    target.validate()

    def create() -> bool:
        with target.service_client(options) as service:
            try:
                service.create_container(name)
            except ResourceExistsError:
                return False
            return True

    return _call(target, f"creating container {name!r}", create)


def container_exists(target: StorageTarget, name: str, *, options: ClientOptions | None = None) -> bool:
    validate_container_name(name)
    target.validate()

    def exists() -> bool:
        with target.service_client(options) as service:
            return bool(service.get_container_client(name).exists())

    return _call(target, f"looking for container {name!r}", exists)


def delete_container_if_empty(target: StorageTarget, name: str, *, options: ClientOptions | None = None) -> bool:
    """Delete container `name` if it holds no blob; True deleted, False kept (not empty) or already gone."""
    validate_container_name(name)
    target.validate()

    def delete() -> bool:
        with target.service_client(options) as service:
            container = service.get_container_client(name)
            try:
                if next(iter(container.list_blobs(results_per_page=1)), None) is not None:
                    return False
                # A blob written between the listing and this delete would go with the container;
                # acceptable for a container this tool created for its own disks.
                container.delete_container()
            except ResourceNotFoundError:
                return False
            return True

    return _call(target, f"deleting container {name!r}", delete)


def _call(target: StorageTarget, doing: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except AzureError as exc:
        raise _translate(target, exc, doing) from None  # SDK messages can quote URLs with a SAS


def _translate(target: StorageTarget, exc: AzureError, doing: str) -> BlobOperationError:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    detail = (str(exc.message or "").splitlines() or [type(exc).__name__])[0]
    for secret in target.secrets:
        detail = detail.replace(secret, "<redacted>")
    detail = re.sub(r"(?i)\bsig=[^&\s'\"]*", "sig=<redacted>", detail)
    endpoint = target.blob_endpoint
    if status == 403 or isinstance(exc, ClientAuthenticationError):
        return AuthFailedError(f"storage account {endpoint} refused the credentials while {doing} ({detail})",
                               "check the account key, the SAS token's permissions, or your Entra ID role",
                               status=status)
    if isinstance(exc, ServiceRequestError):
        return StorageError(f"could not reach {endpoint} while {doing}, even after retries ({detail})",
                            "check the account URL and the network, then run it again")
    return StorageError(f"Azure Storage failed while {doing} ({detail})", "fix the cause and run it again",
                        status=status)
