"""A local stand-in for Azure's Compute control plane: the Disks operations of its published REST contract, over
https with a test certificate authority, handing out SAS URLs that point at Azurite.

There is no emulator of the Compute API, so this server is how the control plane is tested: azure-mgmt-compute and
DefaultAzureCredential talk to it unchanged. It follows the DiskRP contract of API version 2026-03-02
(azure-rest-api-specs, specification/compute/resource-manager/Microsoft.Compute/Compute/stable/2026-03-02/DiskRP.json,
the version azure-mgmt-compute 39.0.0 sends and blank-vhd pins):

- Disks_CreateOrUpdate (PUT) with createOption Upload or UploadPreparedSecure and uploadSizeBytes (20 MiB + 512 to
  32 TiB + 512, whole MiB + 512), Disks_Get, Disks_Update (PATCH; of its DiskUpdate body only `tags`),
  Disks_Delete, Disks_GrantAccess (POST beginGetAccess: access Write or Read, durationInSeconds,
  getSecureVMGuestStateSAS) and Disks_RevokeAccess (POST endGetAccess);
- every PUT, PATCH, DELETE and POST is a long-running operation: 202 Accepted with an Azure-AsyncOperation header (an
  operation status resource, InProgress then Succeeded or Failed) and a Location header (202 while it runs, then
  the final result: the disk, the AccessUri, or nothing), as the contract's 202 responses and the Disk RP's
  answers do (the contract declares Location and Retry-After; the Disk RP also sends Azure-AsyncOperation);
- disk states (DiskState): ReadyToUpload after create, ActiveUpload after a Write grant, Unattached after revoke,
  ActiveSAS after a Read grant, Attached while a VM holds it (`managedBy`, set by the tests with `attach`), when
  deletion is refused (409 OperationNotAllowed);
- errors as CloudError bodies (`{"error": {"code", "message"}}`): ResourceNotFound, ResourceGroupNotFound,
  InvalidParameter, PropertyChangeNotAllowed, OperationNotAllowed, InvalidVhd (a revoke of an upload whose blob
  does not end in a VHD footer, as the Disk RP answers), AuthenticationFailed (no or an unknown bearer token), and
  NoRegisteredProviderFound for any other api-version.

The disk's content is a page blob in Azurite of exactly uploadSizeBytes, in a container of its own, named `abcd`
as Azure's are; a Trusted Launch or Confidential VM disk also has a guest-state blob (`vmgs`, GUEST_STATE_LENGTH).
A grant sets a stored access policy on that container and hands out a service SAS naming it (`si=`), as Azure's
`md-impexp` SAS URLs do; a revoke removes the policy, so the SAS stops working.

Tokens: the server is also an App Service managed-identity endpoint (IDENTITY_ENDPOINT / IDENTITY_HEADER), which
DefaultAzureCredential uses as it is; only tokens it issued are accepted. `environment()` gives a process the
variables that point DefaultAzureCredential, the requests library (REQUESTS_CA_BUNDLE) and vhdcore here.

What this server cannot tell: how the real Disk RP behaves where the contract is silent (it is a model:
docs/managed-disks.md, "How the control plane is tested").
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import ssl
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme
from azure.storage.blob import AccessPolicy, BlobServiceClient, ContainerSasPermissions, generate_blob_sas

API_VERSION = "2026-03-02"
MiB, TiB = 1 << 20, 1 << 40
MIN_UPLOAD, MAX_UPLOAD = 20 * MiB + 512, 32 * TiB + 512
GUEST_STATE_LENGTH = 4 * MiB + 512  # the model's choice: Azure decides the guest-state blob's length
SKUS = ("Standard_LRS", "Premium_LRS", "StandardSSD_LRS", "UltraSSD_LRS", "Premium_ZRS", "StandardSSD_ZRS",
        "PremiumV2_LRS")
SECURITY_TYPES = ("TrustedLaunch", "ConfidentialVM_VMGuestStateOnlyEncryptedWithPlatformKey",
                  "ConfidentialVM_DiskEncryptedWithPlatformKey", "ConfidentialVM_DiskEncryptedWithCustomerKey",
                  "ConfidentialVM_NonPersistedTPM")
_DISK = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Compute/disks/"
                   r"(?P<name>[^/]+)(?P<action>/beginGetAccess|/endGetAccess)?$", re.I)
_OPERATION = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Compute/locations/(?P<loc>[^/]+)/"
                        r"DiskOperations/(?P<op>[0-9a-f-]+)$", re.I)
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Disk:
    subscription: str
    group: str
    name: str
    location: str
    sku: str
    create_option: str
    upload_size: int
    os_type: str | None
    hyper_v_generation: str | None
    security_type: str | None
    tags: dict[str, str]
    container: str
    unique_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())
    state: str = "ReadyToUpload"
    provisioning: str = "Updating"
    managed_by: str | None = None
    policy: str | None = None  # the stored access policy the current SAS names

    @property
    def id(self) -> str:
        return (f"/subscriptions/{self.subscription}/resourceGroups/{self.group}/providers/Microsoft.Compute/disks/"
                f"{self.name}")

    def to_json(self) -> dict[str, Any]:
        creation: dict[str, Any] = {"createOption": self.create_option, "uploadSizeBytes": self.upload_size}
        props: dict[str, Any] = {
            "creationData": creation,
            "diskSizeBytes": self.upload_size - 512,
            "diskSizeGB": -(-(self.upload_size - 512) // (1 << 30)),
            "uniqueId": self.unique_id,
            "timeCreated": self.created,
            "provisioningState": self.provisioning,
            "diskState": self.state,
            "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
            "networkAccessPolicy": "AllowAll",
            "publicNetworkAccess": "Enabled",
        }
        if self.os_type:
            props["osType"] = self.os_type
        if self.hyper_v_generation:
            props["hyperVGeneration"] = self.hyper_v_generation
        if self.security_type:
            props["securityProfile"] = {"securityType": self.security_type}
        doc: dict[str, Any] = {
            "id": self.id, "name": self.name, "type": "Microsoft.Compute/disks", "location": self.location,
            "sku": {"name": self.sku, "tier": "Premium" if self.sku.startswith("Premium") else "Standard"},
            "properties": props,
        }
        if self.tags:
            doc["tags"] = dict(self.tags)
        if self.managed_by:
            doc["managedBy"] = self.managed_by
        return doc


@dataclass
class Operation:
    id: str
    location: str
    result: dict[str, Any] | None  # the final body the Location URL returns (None: an empty 200)
    error: ArmError | None = None
    polls_left: int = 1  # answers of InProgress before it is done
    started: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())


@dataclass(frozen=True)
class Call:
    """One request the server answered: what the SDK sent, and the status it got."""

    method: str
    path: str
    api_version: str | None
    status: int


class ComputeServer:
    """The server (start with `with`); `disks` is its state, `calls` every request it answered, in order."""

    def __init__(self, storage: BlobServiceClient, sas_endpoint: str, account: str, account_key: str,
                 directory: Path, *, polls: int = 1, retry_after: float = 0.02) -> None:
        self.storage, self.sas_endpoint = storage, sas_endpoint.rstrip("/")
        self.account, self.account_key = account, account_key
        self.polls = polls  # how many polls of an operation answer InProgress before it is done
        # Retry-After of a running operation: whole seconds as the contract declares it, or (below 1 s, to keep the
        # tests fast) x-ms-retry-after-ms, which azure-core reads too.
        self.retry_after = retry_after
        self.disks: dict[tuple[str, str, str], Disk] = {}
        self.groups: dict[tuple[str, str], str] = {}  # (subscription, group) -> location
        self.operations: dict[str, Operation] = {}
        self._creates: dict[str, tuple[str, str, str]] = {}  # a create's operation -> its disk (the final result)
        self.calls: list[Call] = []
        self.tokens: set[str] = set()
        self.identity_header = secrets.token_urlsafe(24)
        self.fail_next: dict[str, ArmError] = {}  # "beginGetAccess" etc. -> an error to answer once (fault tests)
        self._lock = threading.RLock()
        self.ca = trustme.CA()
        self.ca_bundle = directory / "compute-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_bundle))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="compute-server", daemon=True)

    def __enter__(self) -> ComputeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def environment(self, subscription: str) -> dict[str, str]:
        """What a process needs to reach this server as it would reach Azure: DefaultAzureCredential's App Service
        managed identity, the test CA for requests (the SDK's transport), the subscription and vhdcore's resource
        manager endpoint."""
        return {
            "IDENTITY_ENDPOINT": f"{self.endpoint}/msi/token",
            "IDENTITY_HEADER": self.identity_header,
            "REQUESTS_CA_BUNDLE": str(self.ca_bundle),
            "AZURE_SUBSCRIPTION_ID": subscription,
            "VHDCORE_ENDPOINT_RESOURCE_MANAGER": self.endpoint,
        }

    # --- what the tests arrange -----------------------------------------------------------------------------------

    def add_group(self, subscription: str, group: str, location: str = "westeurope") -> None:
        with self._lock:
            self.groups[(subscription.lower(), group.lower())] = location

    def disk(self, subscription: str, group: str, name: str) -> Disk | None:
        with self._lock:
            return self.disks.get(_key(subscription, group, name))

    def attach(self, subscription: str, group: str, name: str, vm: str = "vm1") -> str:
        """A VM takes the disk (as an attach would): managedBy set, state Attached. Returns the VM's id."""
        with self._lock:
            disk = self.disks[_key(subscription, group, name)]
            disk.managed_by = (f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Compute/"
                               f"virtualMachines/{vm}")
            disk.state = "Attached"
            return disk.managed_by

    def detach(self, subscription: str, group: str, name: str) -> None:
        with self._lock:
            disk = self.disks[_key(subscription, group, name)]
            disk.managed_by, disk.state = None, "Unattached"

    def calls_since(self, start: int) -> list[Call]:
        with self._lock:
            return list(self.calls[start:])

    # --- the operations ---------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes
               ) -> tuple[int, dict[str, str], dict[str, Any] | None]:
        if path == "/msi/token":
            return self._token(query, headers)
        if not self._authorized(headers):
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing "
                           "or carries a token this server did not issue.")
        operation = _OPERATION.match(path)
        if operation:
            return self._poll(operation["op"], "monitor" in query)
        if query.get("api-version") != API_VERSION:
            raise ArmError(400, "NoRegisteredProviderFound", f"No registered resource provider found for API version "
                           f"'{query.get('api-version')}'. The supported api-versions are '{API_VERSION}'.")
        found = _DISK.match(path)
        if found is None:
            raise ArmError(404, "NotFound", f"No HTTP resource was found that matches the request URI '{path}'.")
        sub, group, name, action = found["sub"], found["rg"], found["name"], (found["action"] or "").lstrip("/")
        with self._lock:
            failure = self.fail_next.pop(action or method, None)
            if failure is not None:
                raise failure
            if (sub.lower(), group.lower()) not in self.groups:
                raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.")
            key = _key(sub, group, name)
            if action == "beginGetAccess" and method == "POST":
                return self._grant(key, _json(body))
            if action == "endGetAccess" and method == "POST":
                return self._revoke(key)
            if action:
                raise ArmError(405, "MethodNotAllowed", f"{method} is not allowed on {action}.")
            if method == "GET":
                return 200, {}, self._existing(key).to_json()
            if method == "PUT":
                return self._create(sub, group, name, _json(body))
            if method == "DELETE":
                return self._delete(key)
            if method == "PATCH":
                return self._update(key, _json(body))
        raise ArmError(405, "MethodNotAllowed", f"{method} is not allowed on a disk here.")

    def _token(self, query: dict[str, str], headers: Any) -> tuple[int, dict[str, str], dict[str, Any] | None]:
        if headers.get("X-IDENTITY-HEADER") != self.identity_header:
            raise ArmError(401, "Unauthorized", "The X-IDENTITY-HEADER is missing or wrong.")
        token = secrets.token_urlsafe(32)
        with self._lock:
            self.tokens.add(token)
        expires = int(dt.datetime.now(dt.UTC).timestamp()) + 3600
        return 200, {}, {"access_token": token, "expires_on": str(expires), "resource": query.get("resource", ""),
                         "token_type": "Bearer", "client_id": "00000000-0000-0000-0000-000000000000"}

    def _authorized(self, headers: Any) -> bool:
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        with self._lock:
            return scheme == "Bearer" and token in self.tokens

    def _existing(self, key: tuple[str, str, str]) -> Disk:
        disk = self.disks.get(key)
        if disk is None:
            raise ArmError(404, "ResourceNotFound", f"The Resource 'Microsoft.Compute/disks/{key[2]}' under resource "
                           f"group '{key[1]}' was not found.")
        return disk

    def _create(self, sub: str, group: str, name: str, doc: dict[str, Any]
                ) -> tuple[int, dict[str, str], dict[str, Any] | None]:
        if not _NAME.match(name):
            raise ArmError(400, "InvalidParameter", f"The disk name '{name}' is invalid: use a-z, A-Z, 0-9, _ and -, "
                           "at most 80 characters.")
        props = doc.get("properties") or {}
        creation = props.get("creationData") or {}
        option = creation.get("createOption")
        upload = creation.get("uploadSizeBytes")
        location = doc.get("location")
        sku = (doc.get("sku") or {}).get("name") or "Standard_LRS"
        security = (props.get("securityProfile") or {}).get("securityType")
        key = _key(sub, group, name)
        existing = self.disks.get(key)
        if existing is not None:
            if option != existing.create_option or upload != existing.upload_size:
                raise ArmError(409, "PropertyChangeNotAllowed", "Changing property 'creationData' is not allowed.")
            existing.tags = dict(doc.get("tags") or {})
            return self._accepted(key, existing.to_json(), None, create=True)
        if not location:
            raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
        if option not in ("Upload", "UploadPreparedSecure"):
            raise ArmError(400, "InvalidParameter", f"This server models createOption Upload and UploadPreparedSecure "
                           f"only, not {option!r}.")
        if not isinstance(upload, int) or isinstance(upload, bool) or not MIN_UPLOAD <= upload <= MAX_UPLOAD or \
                (upload - 512) % MiB:
            raise ArmError(400, "InvalidParameter", f"The value {upload} of parameter 'uploadSizeBytes' is invalid: "
                           f"it must be between {MIN_UPLOAD} and {MAX_UPLOAD} bytes, whole MiB plus 512 bytes.")
        if sku not in SKUS:
            raise ArmError(400, "InvalidParameter", f"The value '{sku}' of parameter 'sku.name' is invalid.")
        if option == "UploadPreparedSecure":
            if security not in SECURITY_TYPES:
                raise ArmError(400, "InvalidParameter", "createOption UploadPreparedSecure requires "
                               "securityProfile.securityType.")
            if props.get("hyperVGeneration") != "V2":
                raise ArmError(400, "InvalidParameter", f"Security type {security} requires hyperVGeneration V2.")
        elif security is not None:
            raise ArmError(400, "InvalidParameter", "securityProfile.securityType needs createOption "
                           "UploadPreparedSecure for an upload.")
        container = "md-" + secrets.token_hex(6)
        created = self.storage.create_container(container)
        created.get_blob_client("abcd").create_page_blob(upload)
        if option == "UploadPreparedSecure":
            created.get_blob_client("vmgs").create_page_blob(GUEST_STATE_LENGTH)
        disk = Disk(sub, group, name, location, sku, option, upload, props.get("osType"), props.get("hyperVGeneration"),
                    security, dict(doc.get("tags") or {}), container)
        self.disks[key] = disk
        body = disk.to_json()
        disk.provisioning = "Succeeded"  # once the operation is done, as GET shows it
        return self._accepted(key, body, None, create=True)

    def _grant(self, key: tuple[str, str, str], doc: dict[str, Any]
               ) -> tuple[int, dict[str, str], dict[str, Any] | None]:
        disk = self._existing(key)
        access, seconds = doc.get("access"), doc.get("durationInSeconds")
        if access not in ("Read", "Write") or not isinstance(seconds, int) or seconds <= 0:
            raise ArmError(400, "InvalidParameter", "grantAccessData needs access Read or Write and a positive "
                           "durationInSeconds.")
        if access == "Write" and disk.state not in ("ReadyToUpload", "ActiveUpload"):
            raise ArmError(409, "OperationNotAllowed", f"Disk {disk.name} is in state {disk.state}; write access is "
                           "granted only to a disk created for upload that has not been finished (ReadyToUpload or "
                           "ActiveUpload).")
        if access == "Read" and disk.state not in ("Unattached", "ActiveSAS"):
            raise ArmError(409, "OperationNotAllowed", f"Disk {disk.name} is in state {disk.state}; read access "
                           "needs an unattached disk.")
        secure = doc.get("getSecureVMGuestStateSAS") is True
        if secure and disk.create_option != "UploadPreparedSecure":
            raise ArmError(400, "InvalidParameter", "getSecureVMGuestStateSAS applies to a disk with a VM guest state "
                           "(createOption UploadPreparedSecure).")
        policy = str(uuid.uuid4())
        expiry = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
        permissions = ContainerSasPermissions(read=True, write=access == "Write")
        self.storage.get_container_client(disk.container).set_container_access_policy(
            {policy: AccessPolicy(permissions, expiry=expiry)})
        disk.policy = policy
        disk.state = "ActiveUpload" if access == "Write" else "ActiveSAS"
        result = {"accessSAS": self._sas(disk, "abcd", policy)}
        if secure:
            result["securityDataAccessSAS"] = self._sas(disk, "vmgs", policy)
        return self._accepted(key, None, result)

    def _sas(self, disk: Disk, blob: str, policy: str) -> str:
        token = generate_blob_sas(self.account, disk.container, blob, account_key=self.account_key, policy_id=policy)
        return f"{self.sas_endpoint}/{disk.container}/{blob}?{token}"

    def _revoke(self, key: tuple[str, str, str]) -> tuple[int, dict[str, str], dict[str, Any] | None]:
        disk = self._existing(key)
        if disk.state == "ActiveUpload":
            blobs = ["abcd"] + (["vmgs"] if disk.create_option == "UploadPreparedSecure" else [])
            for blob in blobs:
                client = self.storage.get_blob_client(disk.container, blob)
                length = client.get_blob_properties().size
                cookie = client.download_blob(offset=length - 512, length=8).readall()
                if cookie != b"conectix":
                    raise ArmError(400, "InvalidVhd", f"The specified cookie value in VHD footer indicates that disk "
                                   f"'{blob}' with blob {self.sas_endpoint}/{disk.container}/{blob} is not a supported "
                                   "VHD. Disk is expected to have cookie value 'conectix'.")
        if disk.state in ("ActiveUpload", "ActiveSAS"):
            self.storage.get_container_client(disk.container).set_container_access_policy({})
            disk.policy, disk.state = None, "Unattached"
        return self._accepted(key, None, None)

    def _update(self, key: tuple[str, str, str], doc: dict[str, Any]
                ) -> tuple[int, dict[str, str], dict[str, Any] | None]:
        """Disks_Update (PATCH, a DiskUpdate): this model changes tags only."""
        disk = self._existing(key)
        if set(doc) - {"tags"}:
            raise ArmError(400, "InvalidParameter", f"This server models updates of tags only, not of "
                           f"{sorted(set(doc) - {'tags'})}.")
        if "tags" in doc:
            disk.tags = dict(doc["tags"] or {})
        return self._accepted(key, disk.to_json(), None, create=True)

    def _delete(self, key: tuple[str, str, str]) -> tuple[int, dict[str, str], dict[str, Any] | None]:
        disk = self.disks.get(key)
        if disk is None:
            return 204, {}, None
        if disk.managed_by:
            raise ArmError(409, "OperationNotAllowed", f"Disk {disk.name} is attached to VM {disk.managed_by}.")
        del self.disks[key]
        self.storage.delete_container(disk.container)
        return self._accepted(key, None, None, location=disk.location)

    def _accepted(self, key: tuple[str, str, str], body: dict[str, Any] | None, result: dict[str, Any] | None,
                  *, create: bool = False, location: str | None = None
                  ) -> tuple[int, dict[str, str], dict[str, Any] | None]:
        """202 Accepted for a long-running operation on disk `key`: where to poll it (Azure-AsyncOperation, the
        status; Location, the result), and the body the 202 carries. A create's result is the disk as GET shows it
        when the operation is done."""
        where = location or self.disks[key].location
        op = Operation(str(uuid.uuid4()), where, result, polls_left=self.polls)
        if create:
            self._creates[op.id] = key
        self.operations[op.id] = op
        base = f"{self.endpoint}/subscriptions/{key[0]}/providers/Microsoft.Compute/locations/{where}/DiskOperations/" \
               f"{op.id}"
        headers = {"Azure-AsyncOperation": f"{base}?p=x&api-version={API_VERSION}",
                   "Location": f"{base}?p=x&monitor=true&api-version={API_VERSION}", **self._wait()}
        return 202, headers, body

    def _wait(self) -> dict[str, str]:
        if self.retry_after >= 1:
            return {"Retry-After": str(int(self.retry_after))}
        return {"x-ms-retry-after-ms": str(int(self.retry_after * 1000))}

    def _poll(self, op_id: str, monitor: bool) -> tuple[int, dict[str, str], dict[str, Any] | None]:
        with self._lock:
            op = self.operations.get(op_id)
            if op is None:
                raise ArmError(404, "NotFound", f"Operation {op_id} was not found.")
            running = op.polls_left > 0
            if running and not monitor:
                op.polls_left -= 1
            if monitor:
                if running:
                    return 202, {"Location": "", **self._wait()}, None
                key = self._creates.get(op_id)
                if key is not None:
                    return 200, {}, self._existing(key).to_json()
                return 200, {}, op.result
            status: dict[str, Any] = {"name": op.id, "startTime": op.started,
                                      "status": "InProgress" if running else "Succeeded"}
            if not running:
                status["endTime"] = dt.datetime.now(dt.UTC).isoformat()
                key = self._creates.get(op_id)
                output = self._existing(key).to_json() if key is not None else op.result
                if output is not None:
                    status["properties"] = {"output": output}
            return 200, self._wait() if running else {}, status


@contextmanager
def serving(storage: BlobServiceClient, sas_endpoint: str, account: str, account_key: str, folder: Path,
            monkeypatch: Any, subscription: str, group: str = "rg") -> Iterator[ComputeServer]:
    """A server holding resource group `group`, and this process's environment pointed at it as a user's would be at
    Azure (the machine's own AZURE_, IDENTITY_ and MSI_ variables removed; `monkeypatch` restores them)."""
    with ComputeServer(storage, sas_endpoint, account, account_key, folder) as server:
        server.add_group(subscription, group)
        for name in [k for k in os.environ if k.startswith(("AZURE_", "IDENTITY_", "MSI_"))]:
            monkeypatch.delenv(name)
        for key, value in server.environment(subscription).items():
            monkeypatch.setenv(key, value)
        yield server


def _key(subscription: str, group: str, name: str) -> tuple[str, str, str]:
    return subscription.lower(), group.lower(), name.lower()


def _json(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                       "deserialized.") from None
    if not isinstance(doc, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content is not a JSON object.")
    return doc


def _handler_for(server: ComputeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            split = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(split.query).items()}
            try:
                status, headers, doc = server.handle(self.command, split.path, query, self.headers, body)
            except ArmError as exc:
                status, headers, doc = exc.status, {"x-ms-error-code": exc.code}, {
                    "error": {"code": exc.code, "message": exc.message}}
            with server._lock:
                server.calls.append(Call(self.command, split.path, query.get("api-version"), status))
            data = b"" if doc is None else json.dumps(doc).encode()
            self.send_response(status)
            for key, value in headers.items():
                if key == "Location" and not value:
                    value = f"{server.endpoint}{self.path}"  # still running: poll the same place
                self.send_header(key, value)
            self.send_header("x-ms-request-id", str(uuid.uuid4()))
            if data:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_any

    return Handler


@contextmanager
def compute_server(storage: BlobServiceClient, sas_endpoint: str, account: str, account_key: str,
                   directory: Path) -> Iterator[ComputeServer]:
    with ComputeServer(storage, sas_endpoint, account, account_key, directory) as server:
        yield server
