"""The one declaration of blank-vhd's Pulumi resources: every resource, input, output and provider config key, with
its type, description, default and secret flag.

Both front doors read it: the dynamic resources (`providers.BlankVhd`, ...) take their account settings and secret
inputs from it, and the provider plugin (`pulumi-resource-blank-vhd`) takes its package schema, its camelCase wire
names and its secret marking from it. `scripts/generate.py` writes what is derived from it and checked in: the
Pulumi package schema (`providers/plugin/schema.json`), the reference page (`docs/reference.md`) and the typed
Args dataclasses (`providers/args.py`); tests/test_schema.py fails when any of them is stale.

Names here are the Python ones (snake_case); the plugin's are their camelCase (`size_gb` -> `sizeGb`). A
description names other fields in backticks by their Python names; each door shows them in its own spelling
(`door_text`). Importing this module is cheap: no pulumi, no vhdcore.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

PACKAGE = "blank-vhd"
Kind = Literal["string", "integer", "number", "boolean", "map"]


@dataclass(frozen=True)
class Prop:
    """One input, output or config key."""

    name: str  # the Python name (snake_case)
    kind: Kind  # "number" for byte counts: C# and Java map "integer" to 32 bits, and a disk's bytes exceed that
    description: str
    required: bool = False
    secret: bool = False
    default: str | None = None  # what applies when it is not given, as the reference shows it
    config: bool = False  # also a provider config key (an account setting a program sets once)
    stack_config: str | None = None  # the dynamic resources' stack config key for it (only the credentials have one)

    @property
    def camel(self) -> str:
        return camel(self.name)


@dataclass(frozen=True)
class ResourceDecl:
    """One resource: its Python class, its dynamic type token (never changes: it is in every URN) and its plugin
    token, its inputs (which its outputs echo) and the outputs it computes."""

    python_name: str
    description: str
    inputs: tuple[Prop, ...]
    outputs: tuple[Prop, ...]
    required_outputs: tuple[str, ...]  # Python names of the outputs (echoed inputs included) always present

    @property
    def token(self) -> str:
        return f"{PACKAGE}:index:{self.python_name}"

    @property
    def dynamic_token(self) -> str:
        return f"pulumi-python:dynamic/azureblob:{self.python_name}"

    @property
    def props(self) -> tuple[Prop, ...]:
        """Every property the resource shows: its inputs, then its computed outputs."""
        return self.inputs + self.outputs

    def input(self, name: str) -> Prop:
        return next(p for p in self.inputs if p.name == name)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# --- the account: where the storage account is, and who signs ------------------------------------------------------

ACCOUNT = (
    Prop("storage_account_name", "string", "The storage account's name; the blob endpoint is "
         "`https://<name>.blob.<endpoint suffix>`.", config=True),
    Prop("endpoint_suffix", "string", "With `storage_account_name`: the cloud's storage endpoint suffix, for example "
         "`core.chinacloudapi.cn`, `core.usgovcloudapi.net` or an Azure Stack deployment's "
         "`local.azurestack.external` (then `cloud` follows it).", default="the cloud's (`core.windows.net`)",
         config=True),
    Prop("account_url", "string", "The account's blob endpoint instead of its name, for example "
         "`https://acct.blob.core.windows.net` (Azure Stack Hub, Azurite); never with a SAS in it.", config=True),
    Prop("connection_string", "string", "A storage connection string: says where the account is and holds its key or "
         "SAS (`UseDevelopmentStorage=true` works). Stored as a secret.", secret=True, config=True,
         stack_config="storageConnectionString"),
    Prop("account_key", "string", "The account's shared key. Stored as a secret.", secret=True, config=True,
         stack_config="storageAccountKey"),
    Prop("sas_token", "string", "A SAS token for the account or container, with or without the leading `?`. Stored as "
         "a secret.", secret=True, config=True, stack_config="storageSasToken"),
    Prop("cloud", "string", "The cloud the account is in, as `az cloud list` names it: `AzureCloud`, "
         "`AzureChinaCloud`, `AzureUSGovernment`, `AzureStackHub` or `AzureStackEdge`. It sets the endpoint suffix "
         "for `storage_account_name` (Azure Stack has none: give `account_url` or `endpoint_suffix`), the storage "
         "API version sent, and the limits checked at preview (page blobs of 8 TiB and disks of 8191 GiB; on Azure "
         "Stack 1 TiB, 1023 GiB and blob names of 880 characters). A change is an in-place update that writes "
         "nothing, unless it moves the endpoint (then the resource is replaced).",
         default="the public cloud whose endpoint the account has, else `AzureCloud`", config=True),
    Prop("api_version", "string", "The storage API version (`x-ms-version`) every request sends, for example "
         "`2019-07-07` for Azure Stack Hub 2008 and later. Changing it is an in-place update that writes nothing.",
         default="`VHDCORE_STORAGE_API_VERSION`, else the cloud's pinned one (`2019-07-07`; `2019-02-02` on Azure "
         "Stack)", config=True),
    Prop("allow_plain_http", "boolean", "Send the account key or SAS over plain http to a host other than this "
         "machine: only for a private endpoint you trust. Without it, http is refused at preview except to "
         "localhost (Azurite).", default="false"),
)
ACCOUNT_FIELDS = tuple(p.name for p in ACCOUNT)
SECRET_FIELDS = tuple(p.name for p in ACCOUNT if p.secret)
CONFIG = tuple(p for p in ACCOUNT if p.config)
# What the provider configuration is, and how it relates to the account inputs of a resource.
CONFIG_DESCRIPTION = (
    "The storage account every resource of this provider uses unless the resource names its own: give one of "
    "`storage_account_name`, `account_url` or `connection_string`, and a credential if it needs one. A resource's "
    "own account inputs override it; a key or SAS here also signs for an account a resource names. Without one, the "
    "`AZURE_STORAGE_*` variables apply, then Entra ID (`DefaultAzureCredential`)."
)
_ACCOUNT_NOTE = (
    " Say where the account is with at most one of `storage_account_name`, `account_url` and `connection_string` "
    "(or none, to use the provider's configuration); credentials come from the resource, then the provider's "
    "configuration, then the `AZURE_STORAGE_*` variables, then Entra ID."
)


# --- the disk outputs both disk resources show -----------------------------------------------------------------------

_DISK_OUTPUTS = (
    Prop("url", "string", "The blob's URL, without any SAS: use it as a managed disk's import source. It is also the "
         "resource's id."),
    Prop("size_bytes", "number", "The disk size Azure sees (the footer's current size), in bytes."),
    Prop("blob_length", "number", "The page blob's length: `size_bytes` + 512 for the footer."),
    Prop("unique_id", "string", "The footer's unique id (32 hex digits); delete removes only a blob carrying it."),
    Prop("blob_endpoint", "string", "The storage account's blob endpoint the disk lives in; the disk never moves "
         "without a replacement."),
    Prop("azure_ready", "boolean", "False when a refresh found a footer Azure would refuse; the next update repairs or "
         "reports it."),
    Prop("adopted", "boolean", "True when the disk was taken over with `adopt_existing` (or imported) rather than "
         "created."),
)
_DISK_REQUIRED = ("container_name", "blob_name", "url", "size_bytes", "blob_length", "blob_endpoint", "azure_ready",
                  "adopted")

BLANK_VHD = ResourceDecl(
    python_name="BlankVhd",
    description="A blank fixed VHD in an Azure page blob, ready for Azure to import as a managed disk or to attach."
    + _ACCOUNT_NOTE,
    inputs=(
        Prop("size_gb", "integer", "Disk size in whole GiB, 1 to 8191 (1023 on Azure Stack: see `cloud`). Growing it "
             "is an in-place update that keeps the data; shrinking is refused at preview unless "
             "`allow_shrink_by_replace` is set.", required=True),
        Prop("container_name", "string", "The blob container that holds the disk. It must exist: check looks for a new "
             "disk's container, and a missing one fails the preview (through the plugin, whose preview cannot tell a "
             "container the same update makes, it warns). Take the name from the `BlobContainer` that makes it, or "
             "make it with `vhdcore container create`. Changing it replaces the disk.", required=True),
        Prop("blob_name", "string", "The blob's name, for example `data.vhd`. Changing it replaces the disk; a "
             "replacement deletes the old disk first.", default="`<resource name>-<8 hex>.vhd`, the hex derived from "
             "the resource's identity: the same in every run, kept on updates"),
        *ACCOUNT,
        Prop("metadata", "map", "Blob metadata (names are C# identifiers, not starting with `vhdcore_`). A change is "
             "an in-place update that replaces the disk's metadata and keeps this tool's own `vhdcore_*` entries."),
        Prop("adopt_existing", "boolean", "Take over an existing blob of that name instead of failing, if it is a "
             "valid fixed VHD of exactly `size_gb` (nothing is written). Destroying or replacing an adopted disk "
             "leaves the blob in place (with a warning) unless this tool made it.", default="false"),
        Prop("allow_shrink_by_replace", "boolean", "Allow a smaller `size_gb` by replacing the disk with a new blank "
             "one; the old disk's data is lost.", default="false"),
    ),
    outputs=_DISK_OUTPUTS,
    required_outputs=("size_gb", *_DISK_REQUIRED),
)

# The image a VhdImage or a ManagedDiskImage is made from (providers/image_source.py checks them for both).
_IMAGE_SOURCE = (
    Prop("source", "string", "The disk image: a file's path (relative to the program's directory) or an `https://` "
         "URL (`http://` only to this machine), as it is or compressed (xz, gzip, bzip2, zstd: detected from the magic "
         "bytes). Moving or renaming the file changes nothing; new content replaces the disk (the preview shows both "
         "fingerprints or checksums). A URL that carries a token should be given as a secret.", required=True),
    Prop("source_sha256", "string", "The SHA-256 the image is published with (of the compressed file, for a "
         "compressed one), as 64 hex digits: checked before the disk's footer is written (a mismatch leaves no usable "
         "disk), and what tells the versions of a URL or compressed image apart (a change replaces the disk). "
         "Required with a URL, which a preview does not download.",
         default="for a local compressed file, computed from the file; none for an uncompressed one"),
    Prop("compression", "string", "How the source is compressed: `xz`, `gzip`, `bzip2`, `zstd`, or `none` to take "
         "the file as it is.", default="detected from the magic bytes"),
)
_IMAGE_FORMAT = Prop("format", "string", "The image's format: `raw`, `vhd`, `vhdx`, `qcow2`, `vmdk` or `vdi`.",
                     default="detected from the content; a compressed image that holds no recognizable format needs "
                     "`raw`")

VHD_IMAGE = ResourceDecl(
    python_name="VhdImage",
    description="A disk image (raw, VHD, VHDX, QCOW2, VMDK or VDI; a file or an https URL, compressed with xz, gzip, "
    "bzip2 or zstd or not) uploaded as a fixed VHD page blob, streamed with no full-size copy, ready for Azure to "
    "import as a managed disk or to attach. The image's content fingerprint (a local file) or published SHA-256 (a "
    "URL or a compressed file), not its name, decides: new content replaces the disk." + _ACCOUNT_NOTE,
    inputs=(
        *_IMAGE_SOURCE,
        Prop("container_name", "string", "The blob container that holds the disk; it must exist, as for "
             "BlankVhd's. Changing it replaces the disk.", required=True),
        Prop("blob_name", "string", "The blob's name. Changing it replaces the disk.", default="`<resource "
             "name>-<8 hex>.vhd`, the hex derived from the resource's identity and the image's fingerprint: a killed "
             "`pulumi up` resumes its upload, and a new image gets a new name, made before the old disk is deleted"),
        _IMAGE_FORMAT,
        Prop("size_gb", "integer", "Disk size in whole GiB, at least the image's virtual size. Raising it grows the "
             "disk in place; lowering it is refused.", default="the image's virtual size rounded up to whole MiB"),
        *ACCOUNT,
        Prop("metadata", "map", "Blob metadata; a change is an in-place update (this tool's `vhdcore_*` entries are "
             "kept)."),
        Prop("adopt_existing", "boolean", "Take over an existing blob of that name if it is a finished upload of this "
             "same image (its recorded fingerprint matches; for a URL or a compressed image, its data read back "
             "equals the image's); nothing is written.", default="false"),
        Prop("verify", "boolean", "Read every written page back before the footer and compare it with the image.",
             default="false"),
    ),
    outputs=(
        *_DISK_OUTPUTS,
        Prop("fingerprint", "string", "The image's content fingerprint (`sha256:...`): the same for the same disk "
             "content in any format."),
        Prop("bytes_sent", "number", "Request bytes the upload sent: the image's non-zero pages and the 512-byte "
             "footer (0 for a disk that was adopted, imported or read)."),
        Prop("image_format", "string", "The image's format (`raw`, `vhd`, `vhdx`, `qcow2`, `vmdk` or `vdi`); empty "
             "for a disk that was imported or read, as the blob does not record it."),
        Prop("image_size", "number", "The image's virtual disk size in bytes, before rounding up to whole MiB (0 "
             "when imported or read)."),
        Prop("data_bytes", "number", "Bytes of the image's non-zero 512-byte pages (0 when imported or read)."),
    ),
    required_outputs=(*_DISK_REQUIRED, "fingerprint"),
)

BLOB_CONTAINER = ResourceDecl(
    python_name="BlobContainer",
    description="A blob container. An existing container is used as it is and never deleted; one this resource made "
    "is deleted on destroy if it is empty. On Azure you may declare azure-native's `storage.BlobContainer` instead."
    + _ACCOUNT_NOTE,
    inputs=(
        Prop("container_name", "string", "The container's name: 3 to 63 lowercase letters, digits and single "
             "hyphens. Changing it replaces the container.", required=True),
        *ACCOUNT,
    ),
    outputs=(
        Prop("url", "string", "The container's URL (no SAS); also the resource's id."),
        Prop("blob_endpoint", "string", "The storage account's blob endpoint the container lives in."),
        Prop("created", "boolean", "True when this resource made the container (so destroy deletes it if it is "
             "empty)."),
    ),
    required_outputs=("container_name", "url", "blob_endpoint", "created"),
)

MANAGED_DISK_IMAGE = ResourceDecl(
    python_name="ManagedDiskImage",
    description="An Azure managed disk filled from a disk image (raw, VHD, VHDX, QCOW2, VMDK or VDI; a file or an "
    "https URL, compressed with xz, gzip, bzip2 or zstd or not) by Azure's direct upload: created for upload, written "
    "through the write SAS a grant hands out (only the image's non-zero pages, the footer last), then made usable by "
    "revoking access. No storage account, no import copy, no full-size local copy. Its id is the disk's resource id, "
    "ready for a VM, an image or a gallery version. The image's content fingerprint (a local file) or published "
    "SHA-256 (a URL or a compressed file) decides: new content is a new disk, made before the old one is deleted. "
    "Credentials: DefaultAzureCredential.",
    inputs=(
        *_IMAGE_SOURCE,
        Prop("resource_group_name", "string", "The resource group the disk is in; it must exist. Changing it replaces "
             "the disk.", required=True),
        Prop("location", "string", "The disk's region, for example `westeurope`. Changing it replaces the disk.",
             required=True),
        Prop("disk_name", "string", "The managed disk's name (1 to 80 letters, digits, `_` or `-`). Changing it "
             "replaces the disk; with a name given, a replacement deletes the old disk first.",
             default="`<resource name>-<8 hex>`, the hex derived from the resource's identity and the image's (its "
             "fingerprint or `source_sha256`): a killed `pulumi up` resumes its upload, and a new image gets a new "
             "disk, made before the old one is deleted"),
        Prop("sku", "string", "The disk's SKU: `Standard_LRS`, `Premium_LRS`, `StandardSSD_LRS`, `UltraSSD_LRS`, "
             "`Premium_ZRS`, `StandardSSD_ZRS` or `PremiumV2_LRS`. Changing it replaces the disk.",
             default="`Standard_LRS`"),
        _IMAGE_FORMAT,
        Prop("os_type", "string", "For an OS disk: `Linux` or `Windows`. Changing it replaces the disk."),
        Prop("hyperv_generation", "string", "For an OS disk: the VM generation, `V1` or `V2`. Changing it replaces "
             "the disk."),
        Prop("security_type", "string", "`TrustedLaunch` or a `ConfidentialVM_...` type: the disk is uploaded with its "
             "VM guest state (`guest_state`), needs `hyperv_generation` `V2`. Changing it replaces the disk."),
        Prop("guest_state", "string", "With `security_type`: path of the VM guest state file (a fixed VHD), uploaded "
             "with the disk byte for byte."),
        Prop("subscription_id", "string", "The subscription the disk is in.", default="`AZURE_SUBSCRIPTION_ID`"),
        Prop("resource_manager_endpoint", "string", "The Azure Resource Manager endpoint.",
             default="`VHDCORE_ENDPOINT_RESOURCE_MANAGER`, else `https://management.azure.com`"),
        Prop("verify", "boolean", "Read every written page back before the footer and compare it with the image.",
             default="false"),
    ),
    outputs=(
        Prop("disk_id", "string", "The managed disk's resource id (also the resource's id)."),
        Prop("fingerprint", "string", "The image's content fingerprint (`sha256:...`). A local image's is recorded in "
             "the disk's `vhdcore_fingerprint` tag; an image from a URL or a compressed file records its "
             "`source_sha256` in the tag `vhdcore_sha256` instead (its fingerprint, learned by the upload, is empty "
             "for such a disk that was imported)."),
        Prop("upload_size_bytes", "number", "The upload size the disk was created with: the fixed VHD's length, "
             "`size_bytes` + 512."),
        Prop("size_bytes", "number", "The disk's size in bytes: the image's virtual size rounded up to whole MiB, at "
             "least 20 MiB."),
        Prop("disk_state", "string", "The disk's state as Azure reports it (`Unattached` once uploaded, `Attached` "
             "while a VM holds it)."),
        Prop("bytes_sent", "number", "Request bytes the upload sent (0 for a disk that was imported or read)."),
        Prop("image_format", "string", "The image's format; empty for a disk that was imported."),
        Prop("image_size", "number", "The image's virtual size in bytes (0 when imported)."),
        Prop("data_bytes", "number", "Bytes of the image's non-zero 512-byte pages (0 when imported)."),
    ),
    required_outputs=("resource_group_name", "location", "disk_name", "disk_id", "fingerprint", "upload_size_bytes",
                      "size_bytes", "disk_state"),
)

RESOURCES = (BLANK_VHD, VHD_IMAGE, BLOB_CONTAINER, MANAGED_DISK_IMAGE)
BY_TOKEN = {r.token: r for r in RESOURCES}

# The SDK packages a user's CLI generates from the schema (`pulumi package gen-sdk`). No dependency floors of our
# own: the generated code calls SDK functions as new as the generator (exists_resource), whose minimum applies.
LANGUAGE: dict[str, dict[str, Any]] = {
    "nodejs": {
        "packageName": "@blank-vhd/pulumi",
        "packageDescription": "Fixed VHDs in Azure page blobs: blank disks and uploaded disk images.",
    },
    "python": {
        # Beside the dynamic resources' `providers` package and the `vhdcore` library, without a clash.
        "packageName": "pulumi_blank_vhd",
        "pyproject": {"enabled": True},
    },
    "go": {
        "importBasePath": "github.com/blank-vhd/blank-vhd/sdk/go/blankvhd",
        "generateResourceContainerTypes": True,
    },
    "csharp": {
        "rootNamespace": "BlankVhd",
        "namespaces": {PACKAGE: "Pulumi"},  # BlankVhd.Pulumi
        "packageReferences": {"Pulumi": "3.*"},
    },
    "java": {
        "basePackage": "io.github.blankvhd",
    },
}


# --- names in each door's spelling ----------------------------------------------------------------------------------

def _all_names() -> tuple[str, ...]:
    names = {p.name for r in RESOURCES for p in r.props} | {p.name for p in CONFIG}
    # Longest first, so `size_gb` never eats the start of a longer name.
    return tuple(sorted((n for n in names if "_" in n), key=len, reverse=True))


_NAME = re.compile(r"\b(" + "|".join(_all_names()) + r")\b")


def door_text(text: str) -> str:
    """`text` (a description or a message the core wrote) with every declared Python field name in the plugin's
    camelCase spelling. Whole words only: a blob named `my_size_gb.vhd` is left as it is."""
    return _NAME.sub(lambda m: camel(m[1]), text)


# --- the Pulumi package schema ----------------------------------------------------------------------------------------

_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "map": {"type": "object", "additionalProperties": {"type": "string"}},
}


def _property(prop: Prop) -> dict[str, Any]:
    text = door_text(prop.description)
    if prop.default is not None:
        text += f" Default: {door_text(prop.default)}."
    spec: dict[str, Any] = {**_TYPES[prop.kind], "description": text}
    if prop.secret:
        spec["secret"] = True
    return spec


def package_schema(version: str) -> dict[str, Any]:
    """The Pulumi package schema of the plugin (https://www.pulumi.com/docs/iac/using-pulumi/extending-pulumi/schema/).
    No schema `default` is declared: an SDK would send it as an input, and the provider decides what an omitted
    input means (an endpoint suffix sent beside an account URL would be refused)."""
    config = {p.camel: _property(p) for p in CONFIG}
    return {
        "name": PACKAGE,
        "displayName": "blank-vhd",
        "version": version,
        "description": "Fixed VHDs in Azure page blobs: blank disks, disk images uploaded as fixed VHDs, and the "
                       "containers that hold them.",
        "keywords": ["azure", "vhd", "page-blob", "managed-disk", "azure-stack", "category/cloud", "kind/native"],
        "license": "MIT",
        "publisher": "blank-vhd developers",
        # The SDKs carry the schema's version instead of a placeholder filled at publish time, so a user's
        # `pulumi package gen-sdk` writes an installable package (as `pulumi package add` does).
        "meta": {"supportPack": True},
        "config": {"variables": config},
        "provider": {
            "description": door_text(CONFIG_DESCRIPTION),
            "type": "object",
            "inputProperties": config,
        },
        "resources": {r.token: _resource(r) for r in RESOURCES},
        "language": LANGUAGE,
    }


def _resource(decl: ResourceDecl) -> dict[str, Any]:
    return {
        "description": door_text(decl.description),
        "type": "object",
        "properties": {p.camel: _property(p) for p in decl.props},
        "required": [camel(n) for n in decl.required_outputs],
        "inputProperties": {p.camel: _property(p) for p in decl.inputs},
        "requiredInputs": [p.camel for p in decl.inputs if p.required],
    }
