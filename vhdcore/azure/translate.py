"""Storage failures, matched by HTTP status and Azure error code, each turned into one sentence."""

from __future__ import annotations

import logging
import re

from azure.core.exceptions import AzureError, ClientAuthenticationError, ServiceRequestError, ServiceResponseError

from ..errors import (
    AuthFailedError,
    BlobExistsError,
    BlobLeasedError,
    BlobNotFoundError,
    ContainerNotFoundError,
    HeaderRefusedError,
    RefusedError,
    ServiceError,
    StorageError,
    ThrottledError,
    UnreachableError,
)
from .credentials import NEVER_REACHED, StorageTarget

_LEASE_CODES = {
    "LeaseIdMissing", "LeaseIdMismatchWithBlobOperation", "LeaseIdMismatchWithLeaseOperation",
    "LeaseNotPresentWithBlobOperation", "LeaseAlreadyPresent", "LeaseLost",
}


class Stale(ServiceError):
    """412 ConditionNotMet: the blob changed since we read its etag (maybe by our own retried request).
    Internal to the Azure layer: operations re-read the blob and go on, or say it kept changing."""


def leased(doing: str) -> tuple[str, str]:
    # Worded for containers too, which share this translation.
    return (f"{doing} was refused because it has an active lease (for a disk, a VM probably has it attached)",
            "detach the disk or release the lease first (this tool never breaks leases)")


def missing_container(
    container: str, endpoint: str, *, status: int | None = 404, code: str | None = "ContainerNotFound"
) -> ContainerNotFoundError:
    """The one message for a container that does not exist, at preview or later: how to create it, both ways."""
    return ContainerNotFoundError(
        f"container {container!r} does not exist in {endpoint}",
        f"create it first, with `vhdcore container create -n {container} --blob-endpoint {endpoint}` (credentials "
        "as for `vhdcore blob`) or, in a Pulumi program, a BlobContainer whose container_name output the disk takes",
        status=status, code=code)


def translate_error(
    exc: AzureError, doing: str, target: StorageTarget, *, container: str, url: str | None = None
) -> StorageError:
    """One sentence for an SDK error, chosen by HTTP status and Azure error code; shared with containers.

    `doing` says what was under way ("creating container 'vhds'"); `url` names the blob, if it is about one.
    """
    response = getattr(exc, "response", None)
    status: int | None = getattr(response, "status_code", None)
    error_code = getattr(exc, "error_code", None) or ""
    code = str(getattr(error_code, "value", error_code)) or None  # an SDK str-enum's plain string
    if code is None and response is not None:
        code = response.headers.get("x-ms-error-code")
    shown = f"HTTP {status} {code or ''}".strip()
    endpoint = target.blob_endpoint
    where = url or f"{endpoint}/{container}"
    if status is None:
        return _no_answer(exc, doing, target)
    if status == 403:
        return AuthFailedError(
            f"storage account {endpoint} refused the credentials while {doing} ({shown})",
            "check the account key, the SAS token's permissions (read, write, create, delete) and expiry, or "
            "your Entra ID role (Storage Blob Data Contributor)", status=status, code=code)
    if status == 404 and code == "ContainerNotFound":
        return missing_container(container, endpoint, status=status, code=code)
    if status == 404 and code == "BlobNotFound":
        return BlobNotFoundError(f"blob {where} does not exist", "check the container and blob name",
                                 status=status, code=code)
    if status == 409 and code == "BlobAlreadyExists":
        return BlobExistsError(f"blob {where} already exists and was left untouched",
                               "choose another name, or delete that blob first if it is yours",
                               status=status, code=code)
    if code in _LEASE_CODES:
        return BlobLeasedError(*leased(doing), status=status, code=code)
    if status == 412 and code == "ConditionNotMet":
        return Stale(f"blob {where} changed while {doing}", "run it again", status=status, code=code)
    if status == 503 or (status == 500 and code == "OperationTimedOut"):
        return ThrottledError(f"Azure Storage kept throttling or timing out ({shown}) while {doing}, even after "
                              "retries", "wait a few minutes and run it again", status=status, code=code)
    if status == 404:
        return RefusedError(f"storage account {endpoint} was not found ({shown}) while {doing}",
                            "check the account name or URL", status=status, code=code)
    if status == 400 and code == "InvalidHeaderValue":
        refused = _refused_header(exc, doing, target, shown)
        if refused is not None:
            return refused
    if code is None:
        # No Azure error code: the body was not Azure's XML error (a gateway's HTML page, an emulator's bare
        # text). Quoting it would quote markup; its reason phrase and type say enough.
        reason = str(getattr(response, "reason", "") or "").strip()
        kind = str(response.headers.get("Content-Type") or "no content type").split(";")[0] if response else "none"
        return ServiceError(
            f"Azure Storage answered HTTP {status}{' ' + reason if reason else ''} with no Azure error code while "
            f"{doing} (the body, {kind}, is not Azure's XML error, so a proxy or gateway may have answered)",
            "check the endpoint and anything between you and it (proxy, gateway, private endpoint), then run it again",
            status=status, code=None)
    detail = redact((str(exc.message or "").splitlines() or [type(exc).__name__])[0], target)
    return ServiceError(f"Azure Storage answered {shown} while {doing}: {detail}",
                        "look the error code up in the Blob service error codes, fix the cause and run it again",
                        status=status, code=code)


def _refused_header(exc: AzureError, doing: str, target: StorageTarget, shown: str) -> StorageError | None:
    """Azure Stack's answers to what only public Azure accepts: a newer x-ms-version, a page blob over 1 TiB.

    A HEAD's answer has no body to name the header; the version is then the likely one (lengths are not sent)."""
    header = str((getattr(exc, "additional_info", None) or {}).get("headername") or "").lower()
    endpoint = target.blob_endpoint
    if header in ("", "x-ms-version"):
        version = target.wire_api_version
        what = f"storage API version {version} ({shown})"
        if not header:
            what = f"a request header, most likely storage API version {version} ({shown}),"
        return HeaderRefusedError(f"storage account {endpoint} refused {what} while {doing}",
                            "on Azure Stack set the cloud to AzureStackHub or AzureStackEdge (cloud, --cloud), or send "
                            "a version it accepts (api_version, --api-version)", status=400, code="InvalidHeaderValue")
    if header == "x-ms-blob-content-length":
        return HeaderRefusedError(f"storage account {endpoint} refused the page blob's length ({shown}) while {doing}",
                            "Azure Stack holds at most 1 TiB per page blob (disks of 1023 GiB): set the cloud to "
                            "AzureStackHub or AzureStackEdge (cloud, --cloud) so sizes are checked before any request, "
                            "or make the disk smaller", status=400, code="InvalidHeaderValue")
    return None


def _no_answer(exc: AzureError, doing: str, target: StorageTarget) -> StorageError:
    detail = redact((str(exc.message or "").splitlines() or [type(exc).__name__])[0], target)
    endpoint = target.blob_endpoint
    if isinstance(exc, ClientAuthenticationError):
        return AuthFailedError(f"no credential for {endpoint} worked while {doing} ({detail})",
                               "check the account key or SAS, or sign in with az login or a managed identity")
    if isinstance(exc, ServiceRequestError) and getattr(exc, NEVER_REACHED, False):
        return UnreachableError(
            f"could not connect to {endpoint} ({_why_unreached(str(exc))}) while {doing}, so nothing was changed",
            "check the endpoint (account name, URL or connection string) and that the service is up and reachable "
            "(for Azurite: started, on that port), then run it again")
    if isinstance(exc, ServiceRequestError):
        return ServiceError(f"could not reach {endpoint} while {doing}, even after retries ({detail})",
                            "check the account URL and the network, then run it again")
    if isinstance(exc, ServiceResponseError):
        return ServiceError(f"the connection to {endpoint} broke or timed out while {doing}, even after retries "
                            f"({detail})", "run it again; every operation is safe to repeat")
    return ServiceError(f"the Azure SDK failed while {doing} ({detail})", "run it again")


def _why_unreached(message: str) -> str:
    lowered = message.lower()
    if "refused" in lowered:
        return "connection refused"
    if any(word in lowered for word in ("name or service not known", "nodename nor servname", "getaddrinfo",
                                        "name resolution", "no address associated")):
        return "the host name does not resolve"
    if "timed out" in lowered or "timeout" in lowered:
        return "connecting timed out"
    return "no connection"


class _DropNotXmlWarning(logging.Filter):
    """azure-storage-blob logs a WARNING ("Unexpected return type ... from ContentDecodePolicy...") for every
    error body that is not XML or JSON; with no logging configured Python prints it on stderr, beside the one
    line this module makes of the same error. Only that record is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Unexpected return type")


logging.getLogger("azure.storage.blob._shared.response_handlers").addFilter(_DropNotXmlWarning())


def redact(text: str, target: StorageTarget) -> str:
    """`text` without the target's secrets or any SAS signature (SDK messages can quote request URLs)."""
    for secret in target.secrets:
        text = text.replace(secret, "<redacted>")
    return re.sub(r"(?i)\bsig=[^&\s'\"]*", "sig=<redacted>", text)
