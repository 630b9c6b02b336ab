"""The Compute control plane of managed disks filled by Azure's direct upload: create a disk for upload, read it,
grant and revoke write access (the SAS the data is sent to), delete it.

Through azure-mgmt-compute (the optional extra `blank-vhd[disks]`, loaded on first use) and DefaultAzureCredential
(or a TokenCredential the caller gives), with one client per call, closed after it. Requests carry the Compute API
version pinned here, COMPUTE_API_VERSION, never the SDK's default, as the storage requests carry clouds.API_VERSION.
Bodies and answers are the REST contract's JSON (DiskRP 2026-03-02): the SDK sends and polls them unchanged.

Every write is a long-running operation the SDK polls (Azure-AsyncOperation, then the Location result); a failure
becomes one sentence (what; fix) with Azure's status and code, and never quotes a SAS: a grant's answer lives only
in a WriteAccess, whose repr shows no URL and which cannot be pickled.

Disk states (the contract's DiskState): a disk created with the Upload (or, with a VM guest state,
UploadPreparedSecure) option is ReadyToUpload; a Write grant makes it ActiveUpload; a revoke makes it Unattached,
usable, and Azure then bills it at its SKU (Standard HDD until then). A revoke that finds no VHD footer at the end
is refused by Azure (InvalidVhd).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

from ..errors import (
    AuthFailedError,
    CloudError,
    DependencyError,
    DiskAttachedError,
    InputError,
    RefusedError,
    ServiceError,
    StorageError,
    ThrottledError,
    UnreachableError,
    scrub,
)
from . import clouds

# The Compute API version every request sends (the DiskRP contract this module and its tests follow).
COMPUTE_API_VERSION = "2026-03-02"
ENV_SUBSCRIPTION = "AZURE_SUBSCRIPTION_ID"
ENV_RESOURCE_MANAGER = "VHDCORE_ENDPOINT_RESOURCE_MANAGER"
INSTALL_HINT = "pip install 'blank-vhd[disks]'"
SKUS = ("Standard_LRS", "Premium_LRS", "StandardSSD_LRS", "UltraSSD_LRS", "Premium_ZRS", "StandardSSD_ZRS",
        "PremiumV2_LRS")
OS_TYPES = ("Linux", "Windows")
HYPER_V_GENERATIONS = ("V1", "V2")
SECURITY_TYPES = ("TrustedLaunch", "ConfidentialVM_VMGuestStateOnlyEncryptedWithPlatformKey",
                  "ConfidentialVM_DiskEncryptedWithPlatformKey", "ConfidentialVM_DiskEncryptedWithCustomerKey",
                  "ConfidentialVM_NonPersistedTPM")
UPLOAD_STATES = ("ReadyToUpload", "ActiveUpload")
DEFAULT_ACCESS_SECONDS = 24 * 3600  # how long a grant's SAS lives; a re-run grants again
POLL_SECONDS = 2.0  # between polls of an operation whose answers name no Retry-After
_DISK_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_GROUP_NAME = re.compile(r"[-\w.()]{1,90}")
_SUBSCRIPTION = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DISK_ID = re.compile(r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Compute/disks/"
                      r"(?P<name>[^/]+)/?", re.I)
T = TypeVar("T")


@dataclass(frozen=True)
class DiskAddress:
    """Which managed disk: subscription, resource group and disk name (`id` is its resource id)."""

    subscription: str
    resource_group: str
    name: str

    @classmethod
    def from_id(cls, resource_id: str, *, field: str = "id") -> DiskAddress:
        """A disk's resource id (`/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Compute/disks/<name>`)
        as an address; InputError for anything else."""
        found = _DISK_ID.fullmatch(resource_id.strip()) if isinstance(resource_id, str) else None
        if found is None:
            raise InputError(f"{field} {resource_id!r} is not a managed disk's resource id; write it like "
                             "/subscriptions/<subscription id>/resourceGroups/<group>/providers/Microsoft.Compute/"
                             "disks/<name>.")
        address = cls(found["sub"], found["rg"], found["name"])
        address.validate()
        return address

    @property
    def id(self) -> str:
        return (f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}/providers/Microsoft.Compute/"
                f"disks/{self.name}")

    def validate(self) -> None:
        """InputError naming the first part Azure would refuse; no request."""
        if not isinstance(self.subscription, str) or not _SUBSCRIPTION.fullmatch(self.subscription):
            raise InputError(f"subscription {self.subscription!r} is not a subscription id (a GUID); give it with "
                             f"--subscription or {ENV_SUBSCRIPTION} (`az account show --query id -o tsv` prints "
                             "yours).")
        if not isinstance(self.resource_group, str) or not _GROUP_NAME.fullmatch(self.resource_group) or \
                self.resource_group.endswith("."):
            raise InputError(f"resource group {self.resource_group!r} is not a resource group name (1 to 90 letters, "
                             "digits, '-', '_', '.', '(' or ')', not ending in '.'); check -g.")
        if not isinstance(self.name, str) or not _DISK_NAME.fullmatch(self.name):
            raise InputError(f"disk name {self.name!r} is not a managed disk name (1 to 80 letters, digits, '_' or "
                             "'-'); check -n.")


def subscription_from(explicit: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """The subscription: the caller's, else AZURE_SUBSCRIPTION_ID; InputError when neither says."""
    found = explicit or environ.get(ENV_SUBSCRIPTION)
    if not found:
        raise InputError(f"no subscription given; pass --subscription or set {ENV_SUBSCRIPTION} (`az account show "
                         "--query id -o tsv` prints yours).")
    return found


@dataclass(frozen=True)
class ComputeTarget:
    """How to reach the Compute API: its resource manager endpoint and the credential (None: DefaultAzureCredential,
    made for each call and closed after it). Holds no secret itself."""

    endpoint: str = "https://management.azure.com"
    credential: Any = field(default=None, compare=False, repr=False)  # a TokenCredential, borrowed

    @classmethod
    def resolve(cls, endpoint: str | None = None, *, cloud: str | None = None, credential: Any = None,
                environ: Mapping[str, str] = os.environ) -> ComputeTarget:
        """The endpoint: the caller's, else VHDCORE_ENDPOINT_RESOURCE_MANAGER, else the cloud's (AzureCloud's by
        default; Azure Stack has one per deployment, so it must be given)."""
        found = endpoint or environ.get(ENV_RESOURCE_MANAGER)
        if not found:
            profile = clouds.cloud_named(cloud, field="--cloud") if cloud is not None else clouds.AZURE_CLOUD
            if profile.resource_manager is None:
                raise CloudError(f"cloud {profile.name} has one resource manager endpoint per deployment; give it with "
                                 f"--endpoint-resource-manager or {ENV_RESOURCE_MANAGER}.")
            found = profile.resource_manager
        target = cls(found.rstrip("/"), credential)
        target.validate()
        return target

    def validate(self) -> None:
        parts = urlsplit(self.endpoint)
        if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment or "@" in parts.netloc:
            raise CloudError(f"resource manager endpoint {self.endpoint!r} is not a bare https URL, and Entra ID "
                             "tokens are sent over https only; give it like https://management.azure.com.")

    @property
    def scope(self) -> str:
        return f"{self.endpoint}/.default"


@dataclass(frozen=True)
class DiskSpec:
    """What a disk for upload is created with, besides its upload size."""

    location: str
    sku: str = "Standard_LRS"
    os_type: str | None = None
    hyper_v_generation: str | None = None
    security_type: str | None = None  # with a VM guest state: created with UploadPreparedSecure
    tags: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        if not isinstance(self.location, str) or not re.fullmatch(r"[A-Za-z0-9]{1,50}", self.location):
            raise InputError(f"location {self.location!r} is not an Azure region name like westeurope; check -l "
                             "(`az account list-locations -o table` lists them).")
        _one_of("sku", self.sku, SKUS)
        if self.os_type is not None:
            _one_of("os type", self.os_type, OS_TYPES)
        if self.hyper_v_generation is not None:
            _one_of("hyper-v generation", self.hyper_v_generation, HYPER_V_GENERATIONS)
        if self.security_type is not None:
            _one_of("security type", self.security_type, SECURITY_TYPES)
            if self.hyper_v_generation != "V2":
                raise InputError(f"security type {self.security_type} is for generation 2 VMs; add "
                                 "--hyper-v-generation V2.")

    @property
    def create_option(self) -> str:
        return "UploadPreparedSecure" if self.security_type is not None else "Upload"


def _one_of(what: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InputError(f"{what} {value!r} is not one Azure takes; use one of {', '.join(allowed)}.")


@dataclass(frozen=True)
class ManagedDisk:
    """A managed disk as the Compute API shows it (the contract's Disk)."""

    id: str
    name: str
    location: str
    sku: str
    state: str  # DiskState: ReadyToUpload, ActiveUpload, Unattached, Attached, ...
    provisioning_state: str
    create_option: str
    upload_size: int | None  # creationData.uploadSizeBytes: the fixed VHD's length, footer included
    size_bytes: int | None
    os_type: str | None
    hyper_v_generation: str | None
    security_type: str | None
    managed_by: str | None
    tags: dict[str, str]

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ManagedDisk:
        props = doc.get("properties") or {}
        creation = props.get("creationData") or {}
        return cls(
            id=str(doc.get("id") or ""), name=str(doc.get("name") or ""), location=str(doc.get("location") or ""),
            sku=str((doc.get("sku") or {}).get("name") or ""), state=str(props.get("diskState") or ""),
            provisioning_state=str(props.get("provisioningState") or ""),
            create_option=str(creation.get("createOption") or ""),
            upload_size=_int(creation.get("uploadSizeBytes")), size_bytes=_int(props.get("diskSizeBytes")),
            os_type=props.get("osType"), hyper_v_generation=props.get("hyperVGeneration"),
            security_type=(props.get("securityProfile") or {}).get("securityType"),
            managed_by=doc.get("managedBy") or None, tags=dict(doc.get("tags") or {}),
        )

    @property
    def awaiting_upload(self) -> bool:
        """Created for upload and not finished: no VM can use it yet, and a grant of write access may fill it."""
        return self.state in UPLOAD_STATES


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass(frozen=True, repr=False)
class WriteAccess:
    """What a Write grant hands out: the SAS URL of the disk's blob, and of its VM guest state's when asked for.
    Both are secrets (anyone holding them can write the disk until revoked): never shown, never pickled."""

    disk_sas: str
    guest_state_sas: str | None = None

    def __repr__(self) -> str:
        return f"WriteAccess(disk_sas=<secret>, guest_state_sas={'<secret>' if self.guest_state_sas else None})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("WriteAccess holds SAS URLs and must not be pickled.")


# --- the operations ------------------------------------------------------------------------------------------------


def get_disk(target: ComputeTarget, address: DiskAddress) -> ManagedDisk | None:
    """The disk (GET), or None when there is none; a missing resource group is a RefusedError."""
    address.validate()
    with _client(target, address) as disks:
        return _get(disks, address)


def create_upload_disk(target: ComputeTarget, address: DiskAddress, spec: DiskSpec, upload_size: int) -> ManagedDisk:
    """Create the disk for direct upload (PUT, create option Upload or UploadPreparedSecure, `upload_size` bytes);
    it is ReadyToUpload when this returns."""
    from ..format.sizes import check_upload_size

    address.validate()
    spec.validate()
    check_upload_size(upload_size)
    props: dict[str, Any] = {"creationData": {"createOption": spec.create_option, "uploadSizeBytes": upload_size}}
    if spec.os_type is not None:
        props["osType"] = spec.os_type
    if spec.hyper_v_generation is not None:
        props["hyperVGeneration"] = spec.hyper_v_generation
    if spec.security_type is not None:
        props["securityProfile"] = {"securityType": spec.security_type}
    body: dict[str, Any] = {"location": spec.location, "sku": {"name": spec.sku}, "properties": props}
    if spec.tags:
        body["tags"] = dict(spec.tags)
    with _client(target, address) as disks:
        made = _call(address, "creating", lambda: disks.begin_create_or_update(
            address.resource_group, address.name, body, api_version=COMPUTE_API_VERSION).result())
    return ManagedDisk.from_json(made.as_dict())


def grant_write(target: ComputeTarget, address: DiskAddress, *, seconds: int = DEFAULT_ACCESS_SECONDS,
                guest_state: bool = False) -> WriteAccess:
    """Grant write access (POST beginGetAccess, access Write): the disk becomes ActiveUpload; its SAS URL (and, with
    `guest_state`, its VM guest state's) come back in a WriteAccess."""
    address.validate()
    body: dict[str, Any] = {"access": "Write", "durationInSeconds": seconds}
    if guest_state:
        body["getSecureVMGuestStateSAS"] = True
    with _client(target, address) as disks:
        granted = _call(address, "granting write access to", lambda: disks.begin_grant_access(
            address.resource_group, address.name, body, api_version=COMPUTE_API_VERSION).result())
    doc = granted.as_dict() if granted is not None else {}
    if not doc.get("accessSAS") or (guest_state and not doc.get("securityDataAccessSAS")):
        raise ServiceError(f"granting write access to managed disk {address.id} returned no SAS URL"
                           + (" for the VM guest state" if guest_state and doc.get("accessSAS") else ""),
                           "run the command again; if it persists, check the disk in the portal")
    return WriteAccess(str(doc["accessSAS"]), str(doc["securityDataAccessSAS"]) if guest_state else None)


def revoke_access(target: ComputeTarget, address: DiskAddress) -> None:
    """Revoke access (POST endGetAccess): an upload disk becomes Unattached, usable; Azure refuses it (InvalidVhd)
    while the blob does not end in a VHD footer."""
    address.validate()
    with _client(target, address) as disks:
        _call(address, "revoking access to", lambda: disks.begin_revoke_access(
            address.resource_group, address.name, api_version=COMPUTE_API_VERSION).result())


def set_disk_tags(target: ComputeTarget, address: DiskAddress, tags: Mapping[str, str]) -> ManagedDisk:
    """Replace the disk's tags (PATCH, Disks_Update with tags only); the disk as it is after."""
    address.validate()
    with _client(target, address) as disks:
        updated = _call(address, "tagging", lambda: disks.begin_update(
            address.resource_group, address.name, {"tags": dict(tags)}, api_version=COMPUTE_API_VERSION).result())
    return ManagedDisk.from_json(updated.as_dict())


def delete_disk(target: ComputeTarget, address: DiskAddress) -> bool:
    """Delete the disk (GET, then DELETE): True deleted, False already gone. A disk a VM holds (managedBy) is refused
    with DiskAttachedError before anything is sent; Azure refuses it too."""
    address.validate()
    with _client(target, address) as disks:
        found = _get(disks, address)
        if found is None:
            return False
        if found.managed_by:
            raise DiskAttachedError(
                f"managed disk {address.id} is attached to {found.managed_by}, so it was not deleted",
                "detach it from that VM (or delete the VM) first, then delete it again")
        _call(address, "deleting", lambda: disks.begin_delete(
            address.resource_group, address.name, api_version=COMPUTE_API_VERSION).result())
    return True


# --- plumbing --------------------------------------------------------------------------------------------------------


def _get(disks: Any, address: DiskAddress) -> ManagedDisk | None:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        found = disks.get(address.resource_group, address.name, api_version=COMPUTE_API_VERSION)
    except ResourceNotFoundError as exc:
        if _code(exc) in ("ResourceNotFound", "NotFound"):
            return None
        _raise(exc, address, "reading")
    except Exception as exc:
        _raise(exc, address, "reading")
    return ManagedDisk.from_json(found.as_dict())


@contextmanager
def _client(target: ComputeTarget, address: DiskAddress) -> Iterator[Any]:
    """The disks operations of a ComputeManagementClient for this call; it (and a credential made here) closes after."""
    try:
        from azure.mgmt.compute import ComputeManagementClient
    except ImportError:
        raise DependencyError(f"managed disks need azure-mgmt-compute, which is not installed; {INSTALL_HINT}.") \
            from None
    target.validate()
    credential, owned = target.credential, None
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = owned = DefaultAzureCredential()
    try:
        with ComputeManagementClient(credential, address.subscription, base_url=target.endpoint,
                                     credential_scopes=[target.scope], polling_interval=POLL_SECONDS) as client:
            yield client.disks
    finally:
        if owned is not None:
            owned.close()


def _call(address: DiskAddress, doing: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except Exception as exc:
        _raise(exc, address, doing)


def _code(exc: Any) -> str:
    error = getattr(exc, "error", None)
    return str(getattr(error, "code", None) or getattr(exc, "reason", "") or "")


def _raise(exc: BaseException, address: DiskAddress, doing: str) -> NoReturn:
    """Azure's (or the credential's) failure as vhdcore's error: one sentence, no SAS, no traceback."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    where = f"{doing} managed disk {address.id}"
    if isinstance(exc, StorageError):
        raise exc
    if isinstance(exc, ClientAuthenticationError) or type(exc).__name__ == "CredentialUnavailableError":
        raise AuthFailedError(f"{where} failed: no Azure credential worked ({_first_line(exc)})",
                              "sign in with `az login`, or set AZURE_CLIENT_ID and AZURE_TENANT_ID with a secret, "
                              "certificate or federated token, or run where a managed identity is available") from None
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        status, code = exc.status_code, _code(exc)
        message = _first_line(getattr(getattr(exc, "error", None), "message", None) or exc.message or str(exc))
        what = f"{where}: Azure answered {status} {code}: {message}".rstrip(": ")
        if status in (401, 403):
            raise AuthFailedError(what, "check that the signed-in identity may manage disks in that resource group "
                                  "(Disk Snapshot Contributor or Contributor)", status=status, code=code) from None
        if code == "ResourceGroupNotFound":
            raise RefusedError(what, f"create resource group {address.resource_group!r} first, or check -g and the "
                               "subscription", status=status, code=code) from None
        if status == 429:
            raise ThrottledError(what, "wait a minute and run the command again", status=status, code=code) from None
        if 400 <= status < 500:
            raise RefusedError(what, "fix what Azure names, then run the command again", status=status,
                               code=code) from None
        raise ServiceError(what, "run the command again; it resumes where it stopped", status=status,
                           code=code) from None
    if isinstance(exc, ServiceRequestError) and not isinstance(exc, ServiceResponseError):
        raise UnreachableError(f"{where}: could not connect to the resource manager ({_first_line(exc)})",
                               "check the endpoint and the network, then run the command again") from None
    if isinstance(exc, (ServiceResponseError, HttpResponseError)):
        raise ServiceError(f"{where}: the resource manager's answer was lost or broken ({_first_line(exc)})",
                           "run the command again; it resumes where it stopped") from None
    raise exc


def _first_line(value: object) -> str:
    text = scrub(str(value)).strip().splitlines()
    return text[0].strip().rstrip(".") if text else ""


class _DropChainedCredentialReport(logging.Filter):
    """DefaultAzureCredential logs, as a warning, every credential it tried when none gave a token; with no logging
    configured Python prints that block on stderr beside the one line that already says so (_raise)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("DefaultAzureCredential failed to retrieve a token")


logging.getLogger("azure.identity._credentials.chained").addFilter(_DropChainedCredentialReport())
