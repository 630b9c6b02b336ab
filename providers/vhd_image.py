"""VhdImage: a disk image (raw, VHD, VHDX, QCOW2, VMDK, VDI) uploaded as a fixed VHD page blob, as a Pulumi
resource.

Type token `pulumi-python:dynamic/azureblob:VhdImage`. It is part of every URN in every stack's state:
never rename the class keywords (or this module, or the provider class) without an alias. Importing
this module loads no Azure SDK: the program process only declares resources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, overload

import pulumi
import pulumi.dynamic

from .blank_vhd import identity
from .common import engine_props, get_resource, resource_inputs, with_secret_outputs
from .image_provider import VhdImageProvider

OUTPUTS = ("url", "size_bytes", "blob_length", "unique_id", "blob_endpoint", "azure_ready", "adopted", "fingerprint",
           "bytes_sent", "image_format", "image_size", "data_bytes")


@dataclass
class VhdImageArgs:
    """The inputs of a VhdImage. Say where the account is with exactly one of storage_account_name,
    account_url or connection_string; credentials are optional (see BlankVhdArgs.account_key)."""

    source: pulumi.Input[str]
    """Path of the disk image file (relative to the program's directory). Its content fingerprint, not its
    name, decides: new content replaces the disk (preview shows both fingerprints); moving or renaming the
    file changes nothing."""

    container_name: pulumi.Input[str]
    """The blob container that holds the disk (it must exist). Changing it replaces the disk."""

    blob_name: pulumi.Input[str] | None = None
    """The blob's name. When omitted it is `<resource name>-<8 hex>.vhd`, the hex derived from the resource's
    identity (organization, project, stack, parent, name) and the image's fingerprint: a killed `pulumi up`
    finds its unfinished upload again and resumes it, and a new image gets a new name, made before the old
    disk is deleted. Changing it replaces the disk."""

    format: pulumi.Input[str] | None = None
    """The image's format (raw, vhd, vhdx, qcow2, vmdk, vdi); default: detected from the content."""

    size_gb: pulumi.Input[int] | None = None
    """Disk size in whole GiB, at least the image's virtual size (the default: that size rounded up to whole
    MiB). Raising it grows the disk in place; lowering it is refused."""

    storage_account_name: pulumi.Input[str] | None = None
    """The storage account's name; the endpoint is https://<name>.blob.<endpoint_suffix>."""

    endpoint_suffix: pulumi.Input[str] | None = None
    """With storage_account_name: the cloud's storage suffix (default core.windows.net)."""

    account_url: pulumi.Input[str] | None = None
    """The account's blob endpoint, for example https://acct.blob.core.windows.net (no SAS in it)."""

    connection_string: pulumi.Input[str] | None = None
    """A storage connection string: says where the account is and holds its key or SAS. Stored as a secret."""

    account_key: pulumi.Input[str] | None = None
    """The account's shared key. Stored as a secret."""

    sas_token: pulumi.Input[str] | None = None
    """A SAS token for the account or container. Stored as a secret."""

    cloud: pulumi.Input[str] | None = None
    """The cloud the account is in (AzureCloud, AzureChinaCloud, AzureUSGovernment, AzureStackHub,
    AzureStackEdge), as for BlankVhdArgs.cloud: endpoint suffix, API version and limits (on Azure Stack, disks
    up to 1023 GiB: a bigger image is refused at preview)."""

    api_version: pulumi.Input[str] | None = None
    """The storage API version (x-ms-version) to send; default as for BlankVhdArgs.api_version."""

    allow_plain_http: pulumi.Input[bool] | None = None
    """Send the account key or SAS over plain http to a host other than this machine; as for BlankVhdArgs."""

    metadata: pulumi.Input[dict[str, str]] | None = None
    """Blob metadata; a change is an in-place update (this tool's vhdcore_* entries are kept)."""

    adopt_existing: pulumi.Input[bool] | None = None
    """Take over an existing blob of that name if it is a finished upload of this same image (its recorded
    fingerprint matches); nothing is written."""

    verify: pulumi.Input[bool] | None = None
    """Read every written page back before the footer and compare it with the image."""


class VhdImage(pulumi.dynamic.Resource, module="azureblob", name="VhdImage"):
    """A fixed VHD page blob made from a disk image, ready for Azure to import as a managed disk or attach."""

    source: pulumi.Output[str]
    """The image file's path, as given."""
    container_name: pulumi.Output[str]
    """The container holding the disk."""
    blob_name: pulumi.Output[str]
    """The blob's name."""
    url: pulumi.Output[str]
    """The blob's URL, without any SAS: use it as a managed disk's import source. It is also the resource id."""
    size_bytes: pulumi.Output[int]
    """The disk size Azure sees (the footer's current size): whole MiB."""
    blob_length: pulumi.Output[int]
    """The page blob's length: size_bytes + 512 for the footer."""
    unique_id: pulumi.Output[str]
    """The footer's unique id (32 hex digits); delete only removes a blob carrying this id."""
    blob_endpoint: pulumi.Output[str]
    """The storage account's blob endpoint the disk lives in."""
    azure_ready: pulumi.Output[bool]
    """False when a refresh found a footer Azure would refuse."""
    adopted: pulumi.Output[bool]
    """True when the disk was taken over with adopt_existing rather than uploaded."""
    fingerprint: pulumi.Output[str]
    """The image's content fingerprint (sha256:...): the same for the same disk content in any format."""
    bytes_sent: pulumi.Output[int]
    """Request bytes the upload sent: the image's non-zero pages and the 512-byte footer."""
    image_format: pulumi.Output[str]
    """The image's format (raw, vhd, vhdx, qcow2, vmdk, vdi)."""
    image_size: pulumi.Output[int]
    """The image's virtual disk size in bytes, before rounding up to whole MiB."""
    data_bytes: pulumi.Output[int]
    """Bytes of the image's non-zero 512-byte pages."""

    @overload
    def __init__(
        self, resource_name: str, args: VhdImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None: ...

    @overload
    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        source: pulumi.Input[str],
        container_name: pulumi.Input[str],
        blob_name: pulumi.Input[str] | None = None,
        format: pulumi.Input[str] | None = None,
        size_gb: pulumi.Input[int] | None = None,
        storage_account_name: pulumi.Input[str] | None = None,
        endpoint_suffix: pulumi.Input[str] | None = None,
        account_url: pulumi.Input[str] | None = None,
        connection_string: pulumi.Input[str] | None = None,
        account_key: pulumi.Input[str] | None = None,
        sas_token: pulumi.Input[str] | None = None,
        cloud: pulumi.Input[str] | None = None,
        api_version: pulumi.Input[str] | None = None,
        allow_plain_http: pulumi.Input[bool] | None = None,
        metadata: pulumi.Input[dict[str, str]] | None = None,
        adopt_existing: pulumi.Input[bool] | None = None,
        verify: pulumi.Input[bool] | None = None,
    ) -> None: ...

    def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
        """Declare a disk from an image: `VhdImage(name, VhdImageArgs(...), opts)` or `VhdImage(name, opts=...,
        source=..., container_name=...)`. The inputs are VhdImageArgs' fields."""
        given, opts = resource_inputs(VhdImageArgs, resource_name, args, kwargs)
        props = engine_props(given, OUTPUTS)
        props.setdefault("blob_name", None)
        # check() has no URN: the provider holds the resource's name and identity, for an omitted blob_name.
        provider = VhdImageProvider(auto_name_prefix=resource_name if given.blob_name is None else None,
                                    identity=identity(resource_name, opts))
        super().__init__(provider, resource_name, props, with_secret_outputs(opts))

    @staticmethod
    def get(resource_name: str, id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None) -> VhdImage:
        """Read an existing disk made from an image by its URL (the `url` output; no SAS) into this program,
        without managing it: nothing is written, and destroying the stack leaves the blob alone.

        The engine reads it through the provider: credentials come from stack config or the AZURE_STORAGE_*
        variables, as for refresh. The outputs are the blob's: url, container_name, blob_name, size_bytes,
        blob_length, unique_id, blob_endpoint, azure_ready (True), adopted (False), fingerprint (the one its
        upload recorded on the blob) and bytes_sent 0 (the read sent nothing). What only the upload knew is not
        on the blob, so source, image_format, image_size and data_bytes are None.
        A blob that does not exist, or is not a finished VhdImage upload (no valid footer, or no recorded
        fingerprint, as on a blank BlankVhd disk), fails the read in one sentence.
        """
        return get_resource(VhdImage, VhdImageProvider(), resource_name, id, opts,
                            ("source", "container_name", "blob_name", *OUTPUTS))
