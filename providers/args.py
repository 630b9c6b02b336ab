"""The typed inputs and outputs of the dynamic resources, for IDEs and `mypy --strict`: generated from the
declaration in providers/schema.py by tools/generate.py; do not edit.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

__all__ = [
    "BlankVhdArgs",
    "BlankVhdOutputs",
    "BlobContainerArgs",
    "BlobContainerOutputs",
    "ManagedDiskImageArgs",
    "ManagedDiskImageOutputs",
    "VhdImageArgs",
    "VhdImageOutputs",
]


@dataclass
class BlankVhdArgs:
    """The inputs of a BlankVhd. A blank fixed VHD in an Azure page blob, ready for Azure to import as a managed disk
    or to attach. Say where the account is with at most one of `storage_account_name`, `account_url` and
    `connection_string` (or none, to use the provider's configuration); credentials come from the resource, then
    the provider's configuration, then the `AZURE_STORAGE_*` variables, then Entra ID.
    """

    size_gb: pulumi.Input[int]
    """Disk size in whole GiB, 1 to 8191 (1023 on Azure Stack: see `cloud`). Growing it is an in-place update that
    keeps the data; shrinking is refused at preview unless `allow_shrink_by_replace` is set.
    """

    container_name: pulumi.Input[str]
    """The blob container that holds the disk. It must exist: check looks for a new disk's container, and a missing
    one fails the preview (through the plugin, whose preview cannot tell a container the same update makes, it
    warns). Take the name from the `BlobContainer` that makes it, or make it with `vhdcore container create`.
    Changing it replaces the disk.
    """

    blob_name: pulumi.Input[str] | None = None
    """The blob's name, for example `data.vhd`. Changing it replaces the disk; a replacement deletes the old disk
    first. Default: `<resource name>-<8 hex>.vhd`, the hex derived from the resource's identity: the same in every
    run, kept on updates.
    """

    storage_account_name: pulumi.Input[str] | None = None
    """The storage account's name; the blob endpoint is `https://<name>.blob.<endpoint suffix>`."""

    endpoint_suffix: pulumi.Input[str] | None = None
    """With `storage_account_name`: the cloud's storage endpoint suffix, for example `core.chinacloudapi.cn`,
    `core.usgovcloudapi.net` or an Azure Stack deployment's `local.azurestack.external` (then `cloud` follows it).
    Default: the cloud's (`core.windows.net`).
    """

    account_url: pulumi.Input[str] | None = None
    """The account's blob endpoint instead of its name, for example `https://acct.blob.core.windows.net` (Azure Stack
    Hub, Azurite); never with a SAS in it.
    """

    connection_string: pulumi.Input[str] | None = None
    """A storage connection string: says where the account is and holds its key or SAS (`UseDevelopmentStorage=true`
    works). Stored as a secret.
    """

    account_key: pulumi.Input[str] | None = None
    """The account's shared key. Stored as a secret."""

    sas_token: pulumi.Input[str] | None = None
    """A SAS token for the account or container, with or without the leading `?`. Stored as a secret."""

    cloud: pulumi.Input[str] | None = None
    """The cloud the account is in, as `az cloud list` names it: `AzureCloud`, `AzureChinaCloud`,
    `AzureUSGovernment`, `AzureStackHub` or `AzureStackEdge`. It sets the endpoint suffix for
    `storage_account_name` (Azure Stack has none: give `account_url` or `endpoint_suffix`), the storage API
    version sent, and the limits checked at preview (page blobs of 8 TiB and disks of 8191 GiB; on Azure Stack 1
    TiB, 1023 GiB and blob names of 880 characters). A change is an in-place update that writes nothing, unless it
    moves the endpoint (then the resource is replaced). Default: the public cloud whose endpoint the account has,
    else `AzureCloud`.
    """

    api_version: pulumi.Input[str] | None = None
    """The storage API version (`x-ms-version`) every request sends, for example `2019-07-07` for Azure Stack Hub
    2008 and later. Changing it is an in-place update that writes nothing. Default: `VHDCORE_STORAGE_API_VERSION`,
    else the cloud's pinned one (`2019-07-07`; `2019-02-02` on Azure Stack).
    """

    allow_plain_http: pulumi.Input[bool] | None = None
    """Send the account key or SAS over plain http to a host other than this machine: only for a private endpoint you
    trust. Without it, http is refused at preview except to localhost (Azurite). Default: false.
    """

    metadata: pulumi.Input[dict[str, str]] | None = None
    """Blob metadata (names are C# identifiers, not starting with `vhdcore_`). A change is an in-place update that
    replaces the disk's metadata and keeps this tool's own `vhdcore_*` entries.
    """

    adopt_existing: pulumi.Input[bool] | None = None
    """Take over an existing blob of that name instead of failing, if it is a valid fixed VHD of exactly `size_gb`
    (nothing is written). Destroying or replacing an adopted disk leaves the blob in place (with a warning) unless
    this tool made it. Default: false.
    """

    allow_shrink_by_replace: pulumi.Input[bool] | None = None
    """Allow a smaller `size_gb` by replacing the disk with a new blank one; the old disk's data is lost. Default:
    false.
    """


class BlankVhdOutputs:
    """What a BlankVhd shows: every input, echoed, and what it computes."""

    size_gb: pulumi.Output[int]
    """Disk size in whole GiB, 1 to 8191 (1023 on Azure Stack: see `cloud`). Growing it is an in-place update that
    keeps the data; shrinking is refused at preview unless `allow_shrink_by_replace` is set.
    """

    container_name: pulumi.Output[str]
    """The blob container that holds the disk. It must exist: check looks for a new disk's container, and a missing
    one fails the preview (through the plugin, whose preview cannot tell a container the same update makes, it
    warns). Take the name from the `BlobContainer` that makes it, or make it with `vhdcore container create`.
    Changing it replaces the disk.
    """

    blob_name: pulumi.Output[str]
    """The blob's name, for example `data.vhd`. Changing it replaces the disk; a replacement deletes the old disk
    first. Default: `<resource name>-<8 hex>.vhd`, the hex derived from the resource's identity: the same in every
    run, kept on updates.
    """

    storage_account_name: pulumi.Output[str]
    """The storage account's name; the blob endpoint is `https://<name>.blob.<endpoint suffix>`."""

    endpoint_suffix: pulumi.Output[str]
    """With `storage_account_name`: the cloud's storage endpoint suffix, for example `core.chinacloudapi.cn`,
    `core.usgovcloudapi.net` or an Azure Stack deployment's `local.azurestack.external` (then `cloud` follows it).
    Default: the cloud's (`core.windows.net`).
    """

    account_url: pulumi.Output[str]
    """The account's blob endpoint instead of its name, for example `https://acct.blob.core.windows.net` (Azure Stack
    Hub, Azurite); never with a SAS in it.
    """

    connection_string: pulumi.Output[str]
    """A storage connection string: says where the account is and holds its key or SAS (`UseDevelopmentStorage=true`
    works). Stored as a secret.
    """

    account_key: pulumi.Output[str]
    """The account's shared key. Stored as a secret."""

    sas_token: pulumi.Output[str]
    """A SAS token for the account or container, with or without the leading `?`. Stored as a secret."""

    cloud: pulumi.Output[str]
    """The cloud the account is in, as `az cloud list` names it: `AzureCloud`, `AzureChinaCloud`,
    `AzureUSGovernment`, `AzureStackHub` or `AzureStackEdge`. It sets the endpoint suffix for
    `storage_account_name` (Azure Stack has none: give `account_url` or `endpoint_suffix`), the storage API
    version sent, and the limits checked at preview (page blobs of 8 TiB and disks of 8191 GiB; on Azure Stack 1
    TiB, 1023 GiB and blob names of 880 characters). A change is an in-place update that writes nothing, unless it
    moves the endpoint (then the resource is replaced). Default: the public cloud whose endpoint the account has,
    else `AzureCloud`.
    """

    api_version: pulumi.Output[str]
    """The storage API version (`x-ms-version`) every request sends, for example `2019-07-07` for Azure Stack Hub
    2008 and later. Changing it is an in-place update that writes nothing. Default: `VHDCORE_STORAGE_API_VERSION`,
    else the cloud's pinned one (`2019-07-07`; `2019-02-02` on Azure Stack).
    """

    allow_plain_http: pulumi.Output[bool]
    """Send the account key or SAS over plain http to a host other than this machine: only for a private endpoint you
    trust. Without it, http is refused at preview except to localhost (Azurite). Default: false.
    """

    metadata: pulumi.Output[dict[str, str]]
    """Blob metadata (names are C# identifiers, not starting with `vhdcore_`). A change is an in-place update that
    replaces the disk's metadata and keeps this tool's own `vhdcore_*` entries.
    """

    adopt_existing: pulumi.Output[bool]
    """Take over an existing blob of that name instead of failing, if it is a valid fixed VHD of exactly `size_gb`
    (nothing is written). Destroying or replacing an adopted disk leaves the blob in place (with a warning) unless
    this tool made it. Default: false.
    """

    allow_shrink_by_replace: pulumi.Output[bool]
    """Allow a smaller `size_gb` by replacing the disk with a new blank one; the old disk's data is lost. Default:
    false.
    """

    url: pulumi.Output[str]
    """The blob's URL, without any SAS: use it as a managed disk's import source. It is also the resource's id."""

    size_bytes: pulumi.Output[int]
    """The disk size Azure sees (the footer's current size), in bytes."""

    blob_length: pulumi.Output[int]
    """The page blob's length: `size_bytes` + 512 for the footer."""

    unique_id: pulumi.Output[str]
    """The footer's unique id (32 hex digits); delete removes only a blob carrying it."""

    blob_endpoint: pulumi.Output[str]
    """The storage account's blob endpoint the disk lives in; the disk never moves without a replacement."""

    azure_ready: pulumi.Output[bool]
    """False when a refresh found a footer Azure would refuse; the next update repairs or reports it."""

    adopted: pulumi.Output[bool]
    """True when the disk was taken over with `adopt_existing` (or imported) rather than created."""


@dataclass
class VhdImageArgs:
    """The inputs of a VhdImage. A disk image (raw, VHD, VHDX, QCOW2, VMDK or VDI; a file or an https URL, compressed
    with xz, gzip, bzip2 or zstd or not) uploaded as a fixed VHD page blob, streamed with no full-size copy, ready
    for Azure to import as a managed disk or to attach. The image's content fingerprint (a local file) or
    published SHA-256 (a URL or a compressed file), not its name, decides: new content replaces the disk. Say
    where the account is with at most one of `storage_account_name`, `account_url` and `connection_string` (or
    none, to use the provider's configuration); credentials come from the resource, then the provider's
    configuration, then the `AZURE_STORAGE_*` variables, then Entra ID.
    """

    source: pulumi.Input[str]
    """The disk image: a file's path (relative to the program's directory) or an `https://` URL (`http://` only to
    this machine), as it is or compressed (xz, gzip, bzip2, zstd: detected from the magic bytes). Moving or
    renaming the file changes nothing; new content replaces the disk (the preview shows both fingerprints or
    checksums). A URL that carries a token should be given as a secret.
    """

    container_name: pulumi.Input[str]
    """The blob container that holds the disk; it must exist, as for BlankVhd's. Changing it replaces the disk."""

    source_sha256: pulumi.Input[str] | None = None
    """The SHA-256 the image is published with (of the compressed file, for a compressed one), as 64 hex digits:
    checked before the disk's footer is written (a mismatch leaves no usable disk), and what tells the versions of
    a URL or compressed image apart (a change replaces the disk). Required with a URL, which a preview does not
    download. Default: for a local compressed file, computed from the file; none for an uncompressed one.
    """

    compression: pulumi.Input[str] | None = None
    """How the source is compressed: `xz`, `gzip`, `bzip2`, `zstd`, or `none` to take the file as it is. Default:
    detected from the magic bytes.
    """

    blob_name: pulumi.Input[str] | None = None
    """The blob's name. Changing it replaces the disk. Default: `<resource name>-<8 hex>.vhd`, the hex derived from
    the resource's identity and the image's fingerprint: a killed `pulumi up` resumes its upload, and a new image
    gets a new name, made before the old disk is deleted.
    """

    format: pulumi.Input[str] | None = None
    """The image's format: `raw`, `vhd`, `vhdx`, `qcow2`, `vmdk` or `vdi`. Default: detected from the content; a
    compressed image that holds no recognizable format needs `raw`.
    """

    size_gb: pulumi.Input[int] | None = None
    """Disk size in whole GiB, at least the image's virtual size. Raising it grows the disk in place; lowering it is
    refused. Default: the image's virtual size rounded up to whole MiB.
    """

    storage_account_name: pulumi.Input[str] | None = None
    """The storage account's name; the blob endpoint is `https://<name>.blob.<endpoint suffix>`."""

    endpoint_suffix: pulumi.Input[str] | None = None
    """With `storage_account_name`: the cloud's storage endpoint suffix, for example `core.chinacloudapi.cn`,
    `core.usgovcloudapi.net` or an Azure Stack deployment's `local.azurestack.external` (then `cloud` follows it).
    Default: the cloud's (`core.windows.net`).
    """

    account_url: pulumi.Input[str] | None = None
    """The account's blob endpoint instead of its name, for example `https://acct.blob.core.windows.net` (Azure Stack
    Hub, Azurite); never with a SAS in it.
    """

    connection_string: pulumi.Input[str] | None = None
    """A storage connection string: says where the account is and holds its key or SAS (`UseDevelopmentStorage=true`
    works). Stored as a secret.
    """

    account_key: pulumi.Input[str] | None = None
    """The account's shared key. Stored as a secret."""

    sas_token: pulumi.Input[str] | None = None
    """A SAS token for the account or container, with or without the leading `?`. Stored as a secret."""

    cloud: pulumi.Input[str] | None = None
    """The cloud the account is in, as `az cloud list` names it: `AzureCloud`, `AzureChinaCloud`,
    `AzureUSGovernment`, `AzureStackHub` or `AzureStackEdge`. It sets the endpoint suffix for
    `storage_account_name` (Azure Stack has none: give `account_url` or `endpoint_suffix`), the storage API
    version sent, and the limits checked at preview (page blobs of 8 TiB and disks of 8191 GiB; on Azure Stack 1
    TiB, 1023 GiB and blob names of 880 characters). A change is an in-place update that writes nothing, unless it
    moves the endpoint (then the resource is replaced). Default: the public cloud whose endpoint the account has,
    else `AzureCloud`.
    """

    api_version: pulumi.Input[str] | None = None
    """The storage API version (`x-ms-version`) every request sends, for example `2019-07-07` for Azure Stack Hub
    2008 and later. Changing it is an in-place update that writes nothing. Default: `VHDCORE_STORAGE_API_VERSION`,
    else the cloud's pinned one (`2019-07-07`; `2019-02-02` on Azure Stack).
    """

    allow_plain_http: pulumi.Input[bool] | None = None
    """Send the account key or SAS over plain http to a host other than this machine: only for a private endpoint you
    trust. Without it, http is refused at preview except to localhost (Azurite). Default: false.
    """

    metadata: pulumi.Input[dict[str, str]] | None = None
    """Blob metadata; a change is an in-place update (this tool's `vhdcore_*` entries are kept)."""

    adopt_existing: pulumi.Input[bool] | None = None
    """Take over an existing blob of that name if it is a finished upload of this same image (its recorded
    fingerprint matches; for a URL or a compressed image, its data read back equals the image's); nothing is
    written. Default: false.
    """

    verify: pulumi.Input[bool] | None = None
    """Read every written page back before the footer and compare it with the image. Default: false."""


class VhdImageOutputs:
    """What a VhdImage shows: every input, echoed, and what it computes."""

    source: pulumi.Output[str]
    """The disk image: a file's path (relative to the program's directory) or an `https://` URL (`http://` only to
    this machine), as it is or compressed (xz, gzip, bzip2, zstd: detected from the magic bytes). Moving or
    renaming the file changes nothing; new content replaces the disk (the preview shows both fingerprints or
    checksums). A URL that carries a token should be given as a secret.
    """

    source_sha256: pulumi.Output[str]
    """The SHA-256 the image is published with (of the compressed file, for a compressed one), as 64 hex digits:
    checked before the disk's footer is written (a mismatch leaves no usable disk), and what tells the versions of
    a URL or compressed image apart (a change replaces the disk). Required with a URL, which a preview does not
    download. Default: for a local compressed file, computed from the file; none for an uncompressed one.
    """

    compression: pulumi.Output[str]
    """How the source is compressed: `xz`, `gzip`, `bzip2`, `zstd`, or `none` to take the file as it is. Default:
    detected from the magic bytes.
    """

    container_name: pulumi.Output[str]
    """The blob container that holds the disk; it must exist, as for BlankVhd's. Changing it replaces the disk."""

    blob_name: pulumi.Output[str]
    """The blob's name. Changing it replaces the disk. Default: `<resource name>-<8 hex>.vhd`, the hex derived from
    the resource's identity and the image's fingerprint: a killed `pulumi up` resumes its upload, and a new image
    gets a new name, made before the old disk is deleted.
    """

    format: pulumi.Output[str]
    """The image's format: `raw`, `vhd`, `vhdx`, `qcow2`, `vmdk` or `vdi`. Default: detected from the content; a
    compressed image that holds no recognizable format needs `raw`.
    """

    size_gb: pulumi.Output[int]
    """Disk size in whole GiB, at least the image's virtual size. Raising it grows the disk in place; lowering it is
    refused. Default: the image's virtual size rounded up to whole MiB.
    """

    storage_account_name: pulumi.Output[str]
    """The storage account's name; the blob endpoint is `https://<name>.blob.<endpoint suffix>`."""

    endpoint_suffix: pulumi.Output[str]
    """With `storage_account_name`: the cloud's storage endpoint suffix, for example `core.chinacloudapi.cn`,
    `core.usgovcloudapi.net` or an Azure Stack deployment's `local.azurestack.external` (then `cloud` follows it).
    Default: the cloud's (`core.windows.net`).
    """

    account_url: pulumi.Output[str]
    """The account's blob endpoint instead of its name, for example `https://acct.blob.core.windows.net` (Azure Stack
    Hub, Azurite); never with a SAS in it.
    """

    connection_string: pulumi.Output[str]
    """A storage connection string: says where the account is and holds its key or SAS (`UseDevelopmentStorage=true`
    works). Stored as a secret.
    """

    account_key: pulumi.Output[str]
    """The account's shared key. Stored as a secret."""

    sas_token: pulumi.Output[str]
    """A SAS token for the account or container, with or without the leading `?`. Stored as a secret."""

    cloud: pulumi.Output[str]
    """The cloud the account is in, as `az cloud list` names it: `AzureCloud`, `AzureChinaCloud`,
    `AzureUSGovernment`, `AzureStackHub` or `AzureStackEdge`. It sets the endpoint suffix for
    `storage_account_name` (Azure Stack has none: give `account_url` or `endpoint_suffix`), the storage API
    version sent, and the limits checked at preview (page blobs of 8 TiB and disks of 8191 GiB; on Azure Stack 1
    TiB, 1023 GiB and blob names of 880 characters). A change is an in-place update that writes nothing, unless it
    moves the endpoint (then the resource is replaced). Default: the public cloud whose endpoint the account has,
    else `AzureCloud`.
    """

    api_version: pulumi.Output[str]
    """The storage API version (`x-ms-version`) every request sends, for example `2019-07-07` for Azure Stack Hub
    2008 and later. Changing it is an in-place update that writes nothing. Default: `VHDCORE_STORAGE_API_VERSION`,
    else the cloud's pinned one (`2019-07-07`; `2019-02-02` on Azure Stack).
    """

    allow_plain_http: pulumi.Output[bool]
    """Send the account key or SAS over plain http to a host other than this machine: only for a private endpoint you
    trust. Without it, http is refused at preview except to localhost (Azurite). Default: false.
    """

    metadata: pulumi.Output[dict[str, str]]
    """Blob metadata; a change is an in-place update (this tool's `vhdcore_*` entries are kept)."""

    adopt_existing: pulumi.Output[bool]
    """Take over an existing blob of that name if it is a finished upload of this same image (its recorded
    fingerprint matches; for a URL or a compressed image, its data read back equals the image's); nothing is
    written. Default: false.
    """

    verify: pulumi.Output[bool]
    """Read every written page back before the footer and compare it with the image. Default: false."""

    url: pulumi.Output[str]
    """The blob's URL, without any SAS: use it as a managed disk's import source. It is also the resource's id."""

    size_bytes: pulumi.Output[int]
    """The disk size Azure sees (the footer's current size), in bytes."""

    blob_length: pulumi.Output[int]
    """The page blob's length: `size_bytes` + 512 for the footer."""

    unique_id: pulumi.Output[str]
    """The footer's unique id (32 hex digits); delete removes only a blob carrying it."""

    blob_endpoint: pulumi.Output[str]
    """The storage account's blob endpoint the disk lives in; the disk never moves without a replacement."""

    azure_ready: pulumi.Output[bool]
    """False when a refresh found a footer Azure would refuse; the next update repairs or reports it."""

    adopted: pulumi.Output[bool]
    """True when the disk was taken over with `adopt_existing` (or imported) rather than created."""

    fingerprint: pulumi.Output[str]
    """The image's content fingerprint (`sha256:...`): the same for the same disk content in any format."""

    bytes_sent: pulumi.Output[int]
    """Request bytes the upload sent: the image's non-zero pages and the 512-byte footer (0 for a disk that was
    adopted, imported or read).
    """

    image_format: pulumi.Output[str]
    """The image's format (`raw`, `vhd`, `vhdx`, `qcow2`, `vmdk` or `vdi`); empty for a disk that was imported or
    read, as the blob does not record it.
    """

    image_size: pulumi.Output[int]
    """The image's virtual disk size in bytes, before rounding up to whole MiB (0 when imported or read)."""

    data_bytes: pulumi.Output[int]
    """Bytes of the image's non-zero 512-byte pages (0 when imported or read)."""


@dataclass
class BlobContainerArgs:
    """The inputs of a BlobContainer. A blob container. An existing container is used as it is and never deleted; one
    this resource made is deleted on destroy if it is empty. On Azure you may declare azure-native's
    `storage.BlobContainer` instead. Say where the account is with at most one of `storage_account_name`,
    `account_url` and `connection_string` (or none, to use the provider's configuration); credentials come from
    the resource, then the provider's configuration, then the `AZURE_STORAGE_*` variables, then Entra ID.
    """

    container_name: pulumi.Input[str]
    """The container's name: 3 to 63 lowercase letters, digits and single hyphens. Changing it replaces the
    container.
    """

    storage_account_name: pulumi.Input[str] | None = None
    """The storage account's name; the blob endpoint is `https://<name>.blob.<endpoint suffix>`."""

    endpoint_suffix: pulumi.Input[str] | None = None
    """With `storage_account_name`: the cloud's storage endpoint suffix, for example `core.chinacloudapi.cn`,
    `core.usgovcloudapi.net` or an Azure Stack deployment's `local.azurestack.external` (then `cloud` follows it).
    Default: the cloud's (`core.windows.net`).
    """

    account_url: pulumi.Input[str] | None = None
    """The account's blob endpoint instead of its name, for example `https://acct.blob.core.windows.net` (Azure Stack
    Hub, Azurite); never with a SAS in it.
    """

    connection_string: pulumi.Input[str] | None = None
    """A storage connection string: says where the account is and holds its key or SAS (`UseDevelopmentStorage=true`
    works). Stored as a secret.
    """

    account_key: pulumi.Input[str] | None = None
    """The account's shared key. Stored as a secret."""

    sas_token: pulumi.Input[str] | None = None
    """A SAS token for the account or container, with or without the leading `?`. Stored as a secret."""

    cloud: pulumi.Input[str] | None = None
    """The cloud the account is in, as `az cloud list` names it: `AzureCloud`, `AzureChinaCloud`,
    `AzureUSGovernment`, `AzureStackHub` or `AzureStackEdge`. It sets the endpoint suffix for
    `storage_account_name` (Azure Stack has none: give `account_url` or `endpoint_suffix`), the storage API
    version sent, and the limits checked at preview (page blobs of 8 TiB and disks of 8191 GiB; on Azure Stack 1
    TiB, 1023 GiB and blob names of 880 characters). A change is an in-place update that writes nothing, unless it
    moves the endpoint (then the resource is replaced). Default: the public cloud whose endpoint the account has,
    else `AzureCloud`.
    """

    api_version: pulumi.Input[str] | None = None
    """The storage API version (`x-ms-version`) every request sends, for example `2019-07-07` for Azure Stack Hub
    2008 and later. Changing it is an in-place update that writes nothing. Default: `VHDCORE_STORAGE_API_VERSION`,
    else the cloud's pinned one (`2019-07-07`; `2019-02-02` on Azure Stack).
    """

    allow_plain_http: pulumi.Input[bool] | None = None
    """Send the account key or SAS over plain http to a host other than this machine: only for a private endpoint you
    trust. Without it, http is refused at preview except to localhost (Azurite). Default: false.
    """


class BlobContainerOutputs:
    """What a BlobContainer shows: every input, echoed, and what it computes."""

    container_name: pulumi.Output[str]
    """The container's name: 3 to 63 lowercase letters, digits and single hyphens. Changing it replaces the
    container.
    """

    storage_account_name: pulumi.Output[str]
    """The storage account's name; the blob endpoint is `https://<name>.blob.<endpoint suffix>`."""

    endpoint_suffix: pulumi.Output[str]
    """With `storage_account_name`: the cloud's storage endpoint suffix, for example `core.chinacloudapi.cn`,
    `core.usgovcloudapi.net` or an Azure Stack deployment's `local.azurestack.external` (then `cloud` follows it).
    Default: the cloud's (`core.windows.net`).
    """

    account_url: pulumi.Output[str]
    """The account's blob endpoint instead of its name, for example `https://acct.blob.core.windows.net` (Azure Stack
    Hub, Azurite); never with a SAS in it.
    """

    connection_string: pulumi.Output[str]
    """A storage connection string: says where the account is and holds its key or SAS (`UseDevelopmentStorage=true`
    works). Stored as a secret.
    """

    account_key: pulumi.Output[str]
    """The account's shared key. Stored as a secret."""

    sas_token: pulumi.Output[str]
    """A SAS token for the account or container, with or without the leading `?`. Stored as a secret."""

    cloud: pulumi.Output[str]
    """The cloud the account is in, as `az cloud list` names it: `AzureCloud`, `AzureChinaCloud`,
    `AzureUSGovernment`, `AzureStackHub` or `AzureStackEdge`. It sets the endpoint suffix for
    `storage_account_name` (Azure Stack has none: give `account_url` or `endpoint_suffix`), the storage API
    version sent, and the limits checked at preview (page blobs of 8 TiB and disks of 8191 GiB; on Azure Stack 1
    TiB, 1023 GiB and blob names of 880 characters). A change is an in-place update that writes nothing, unless it
    moves the endpoint (then the resource is replaced). Default: the public cloud whose endpoint the account has,
    else `AzureCloud`.
    """

    api_version: pulumi.Output[str]
    """The storage API version (`x-ms-version`) every request sends, for example `2019-07-07` for Azure Stack Hub
    2008 and later. Changing it is an in-place update that writes nothing. Default: `VHDCORE_STORAGE_API_VERSION`,
    else the cloud's pinned one (`2019-07-07`; `2019-02-02` on Azure Stack).
    """

    allow_plain_http: pulumi.Output[bool]
    """Send the account key or SAS over plain http to a host other than this machine: only for a private endpoint you
    trust. Without it, http is refused at preview except to localhost (Azurite). Default: false.
    """

    url: pulumi.Output[str]
    """The container's URL (no SAS); also the resource's id."""

    blob_endpoint: pulumi.Output[str]
    """The storage account's blob endpoint the container lives in."""

    created: pulumi.Output[bool]
    """True when this resource made the container (so destroy deletes it if it is empty)."""


@dataclass
class ManagedDiskImageArgs:
    """The inputs of a ManagedDiskImage. An Azure managed disk filled from a disk image (raw, VHD, VHDX, QCOW2, VMDK
    or VDI; a file or an https URL, compressed with xz, gzip, bzip2 or zstd or not) by Azure's direct upload:
    created for upload, written through the write SAS a grant hands out (only the image's non-zero pages, the
    footer last), then made usable by revoking access. No storage account, no import copy, no full-size local
    copy. Its id is the disk's resource id, ready for a VM, an image or a gallery version. The image's content
    fingerprint (a local file) or published SHA-256 (a URL or a compressed file) decides: new content is a new
    disk, made before the old one is deleted. Credentials: DefaultAzureCredential.
    """

    source: pulumi.Input[str]
    """The disk image: a file's path (relative to the program's directory) or an `https://` URL (`http://` only to
    this machine), as it is or compressed (xz, gzip, bzip2, zstd: detected from the magic bytes). Moving or
    renaming the file changes nothing; new content replaces the disk (the preview shows both fingerprints or
    checksums). A URL that carries a token should be given as a secret.
    """

    resource_group_name: pulumi.Input[str]
    """The resource group the disk is in; it must exist. Changing it replaces the disk."""

    location: pulumi.Input[str]
    """The disk's region, for example `westeurope`. Changing it replaces the disk."""

    source_sha256: pulumi.Input[str] | None = None
    """The SHA-256 the image is published with (of the compressed file, for a compressed one), as 64 hex digits:
    checked before the disk's footer is written (a mismatch leaves no usable disk), and what tells the versions of
    a URL or compressed image apart (a change replaces the disk). Required with a URL, which a preview does not
    download. Default: for a local compressed file, computed from the file; none for an uncompressed one.
    """

    compression: pulumi.Input[str] | None = None
    """How the source is compressed: `xz`, `gzip`, `bzip2`, `zstd`, or `none` to take the file as it is. Default:
    detected from the magic bytes.
    """

    disk_name: pulumi.Input[str] | None = None
    """The managed disk's name (1 to 80 letters, digits, `_` or `-`). Changing it replaces the disk; with a name
    given, a replacement deletes the old disk first. Default: `<resource name>-<8 hex>`, the hex derived from the
    resource's identity and the image's (its fingerprint or `source_sha256`): a killed `pulumi up` resumes its
    upload, and a new image gets a new disk, made before the old one is deleted.
    """

    sku: pulumi.Input[str] | None = None
    """The disk's SKU: `Standard_LRS`, `Premium_LRS`, `StandardSSD_LRS`, `UltraSSD_LRS`, `Premium_ZRS`,
    `StandardSSD_ZRS` or `PremiumV2_LRS`. Changing it replaces the disk. Default: `Standard_LRS`.
    """

    format: pulumi.Input[str] | None = None
    """The image's format: `raw`, `vhd`, `vhdx`, `qcow2`, `vmdk` or `vdi`. Default: detected from the content; a
    compressed image that holds no recognizable format needs `raw`.
    """

    os_type: pulumi.Input[str] | None = None
    """For an OS disk: `Linux` or `Windows`. Changing it replaces the disk."""

    hyperv_generation: pulumi.Input[str] | None = None
    """For an OS disk: the VM generation, `V1` or `V2`. Changing it replaces the disk."""

    security_type: pulumi.Input[str] | None = None
    """`TrustedLaunch` or a `ConfidentialVM_...` type: the disk is uploaded with its VM guest state (`guest_state`),
    needs `hyperv_generation` `V2`. Changing it replaces the disk.
    """

    guest_state: pulumi.Input[str] | None = None
    """With `security_type`: path of the VM guest state file (a fixed VHD), uploaded with the disk byte for byte."""

    subscription_id: pulumi.Input[str] | None = None
    """The subscription the disk is in. Default: `AZURE_SUBSCRIPTION_ID`."""

    resource_manager_endpoint: pulumi.Input[str] | None = None
    """The Azure Resource Manager endpoint. Default: `VHDCORE_ENDPOINT_RESOURCE_MANAGER`, else
    `https://management.azure.com`.
    """

    verify: pulumi.Input[bool] | None = None
    """Read every written page back before the footer and compare it with the image. Default: false."""


class ManagedDiskImageOutputs:
    """What a ManagedDiskImage shows: every input, echoed, and what it computes."""

    source: pulumi.Output[str]
    """The disk image: a file's path (relative to the program's directory) or an `https://` URL (`http://` only to
    this machine), as it is or compressed (xz, gzip, bzip2, zstd: detected from the magic bytes). Moving or
    renaming the file changes nothing; new content replaces the disk (the preview shows both fingerprints or
    checksums). A URL that carries a token should be given as a secret.
    """

    source_sha256: pulumi.Output[str]
    """The SHA-256 the image is published with (of the compressed file, for a compressed one), as 64 hex digits:
    checked before the disk's footer is written (a mismatch leaves no usable disk), and what tells the versions of
    a URL or compressed image apart (a change replaces the disk). Required with a URL, which a preview does not
    download. Default: for a local compressed file, computed from the file; none for an uncompressed one.
    """

    compression: pulumi.Output[str]
    """How the source is compressed: `xz`, `gzip`, `bzip2`, `zstd`, or `none` to take the file as it is. Default:
    detected from the magic bytes.
    """

    resource_group_name: pulumi.Output[str]
    """The resource group the disk is in; it must exist. Changing it replaces the disk."""

    location: pulumi.Output[str]
    """The disk's region, for example `westeurope`. Changing it replaces the disk."""

    disk_name: pulumi.Output[str]
    """The managed disk's name (1 to 80 letters, digits, `_` or `-`). Changing it replaces the disk; with a name
    given, a replacement deletes the old disk first. Default: `<resource name>-<8 hex>`, the hex derived from the
    resource's identity and the image's (its fingerprint or `source_sha256`): a killed `pulumi up` resumes its
    upload, and a new image gets a new disk, made before the old one is deleted.
    """

    sku: pulumi.Output[str]
    """The disk's SKU: `Standard_LRS`, `Premium_LRS`, `StandardSSD_LRS`, `UltraSSD_LRS`, `Premium_ZRS`,
    `StandardSSD_ZRS` or `PremiumV2_LRS`. Changing it replaces the disk. Default: `Standard_LRS`.
    """

    format: pulumi.Output[str]
    """The image's format: `raw`, `vhd`, `vhdx`, `qcow2`, `vmdk` or `vdi`. Default: detected from the content; a
    compressed image that holds no recognizable format needs `raw`.
    """

    os_type: pulumi.Output[str]
    """For an OS disk: `Linux` or `Windows`. Changing it replaces the disk."""

    hyperv_generation: pulumi.Output[str]
    """For an OS disk: the VM generation, `V1` or `V2`. Changing it replaces the disk."""

    security_type: pulumi.Output[str]
    """`TrustedLaunch` or a `ConfidentialVM_...` type: the disk is uploaded with its VM guest state (`guest_state`),
    needs `hyperv_generation` `V2`. Changing it replaces the disk.
    """

    guest_state: pulumi.Output[str]
    """With `security_type`: path of the VM guest state file (a fixed VHD), uploaded with the disk byte for byte."""

    subscription_id: pulumi.Output[str]
    """The subscription the disk is in. Default: `AZURE_SUBSCRIPTION_ID`."""

    resource_manager_endpoint: pulumi.Output[str]
    """The Azure Resource Manager endpoint. Default: `VHDCORE_ENDPOINT_RESOURCE_MANAGER`, else
    `https://management.azure.com`.
    """

    verify: pulumi.Output[bool]
    """Read every written page back before the footer and compare it with the image. Default: false."""

    disk_id: pulumi.Output[str]
    """The managed disk's resource id (also the resource's id)."""

    fingerprint: pulumi.Output[str]
    """The image's content fingerprint (`sha256:...`). A local image's is recorded in the disk's
    `vhdcore_fingerprint` tag; an image from a URL or a compressed file records its `source_sha256` in the tag
    `vhdcore_sha256` instead (its fingerprint, learned by the upload, is empty for such a disk that was imported).
    """

    upload_size_bytes: pulumi.Output[int]
    """The upload size the disk was created with: the fixed VHD's length, `size_bytes` + 512."""

    size_bytes: pulumi.Output[int]
    """The disk's size in bytes: the image's virtual size rounded up to whole MiB, at least 20 MiB."""

    disk_state: pulumi.Output[str]
    """The disk's state as Azure reports it (`Unattached` once uploaded, `Attached` while a VM holds it)."""

    bytes_sent: pulumi.Output[int]
    """Request bytes the upload sent (0 for a disk that was imported or read)."""

    image_format: pulumi.Output[str]
    """The image's format; empty for a disk that was imported."""

    image_size: pulumi.Output[int]
    """The image's virtual size in bytes (0 when imported)."""

    data_bytes: pulumi.Output[int]
    """Bytes of the image's non-zero 512-byte pages (0 when imported)."""
