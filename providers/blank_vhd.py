"""BlankVhd: a blank fixed VHD in an Azure page blob, as a Pulumi resource.

Type token `pulumi-python:dynamic/azureblob:BlankVhd`. It is part of every URN in every stack's
state: never rename the class keywords (or this module, or the provider class) without an alias.
Importing this module loads no Azure SDK: the program process only declares resources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, overload

import pulumi
import pulumi.dynamic

from .common import engine_props, get_resource, resource_inputs, with_secret_outputs
from .provider import BlankVhdProvider

OUTPUTS = ("url", "size_bytes", "blob_length", "unique_id", "blob_endpoint", "azure_ready", "adopted")


@dataclass
class BlankVhdArgs:
    """The inputs of a BlankVhd. Say where the account is with exactly one of storage_account_name,
    account_url or connection_string; credentials are optional (see `account_key`)."""

    size_gb: pulumi.Input[int]
    """Disk size in whole GiB, 1 to 8191 (1023 on Azure Stack: see `cloud`). Growing it is an in-place update
    that keeps the data; shrinking is refused unless allow_shrink_by_replace is set."""

    container_name: pulumi.Input[str]
    """The blob container that holds the disk (it must exist). Changing it replaces the disk."""

    blob_name: pulumi.Input[str] | None = None
    """The blob's name, for example `data.vhd`. When omitted it is `<resource name>-<8 hex>.vhd`, chosen
    once and kept; a replacement then gets a fresh name so the new disk is made before the old one goes.
    With an explicit name, a replacement deletes the old disk first. Changing it replaces the disk."""

    storage_account_name: pulumi.Input[str] | None = None
    """The storage account's name; the endpoint is https://<name>.blob.<endpoint_suffix>."""

    endpoint_suffix: pulumi.Input[str] | None = None
    """With storage_account_name: the cloud's storage suffix (default core.windows.net; for example
    core.chinacloudapi.cn or core.usgovcloudapi.net)."""

    account_url: pulumi.Input[str] | None = None
    """The account's blob endpoint, for example https://acct.blob.core.windows.net (no SAS in it)."""

    connection_string: pulumi.Input[str] | None = None
    """A storage connection string: says where the account is and holds its key or SAS. Stored as a secret."""

    account_key: pulumi.Input[str] | None = None
    """The account's shared key. Stored as a secret. When no credential is given here, the provider
    uses stack config (blank-vhd:storageConnectionString, storageAccountKey, storageSasToken), then the
    AZURE_STORAGE_* variables, then Entra ID (DefaultAzureCredential)."""

    sas_token: pulumi.Input[str] | None = None
    """A SAS token for the account or container (with or without the leading `?`). Stored as a secret."""

    cloud: pulumi.Input[str] | None = None
    """The cloud the account is in, as `az cloud list` names it: AzureCloud, AzureChinaCloud, AzureUSGovernment,
    or AzureStackHub / AzureStackEdge. It sets the endpoint suffix for storage_account_name (Azure Stack has
    none: give account_url or endpoint_suffix), the storage API version sent, and the limits checked at
    preview (page blobs of 8 TiB, disks of 8191 GiB; on Azure Stack 1 TiB and 1023 GiB, blob names of 880
    characters). Default: the public cloud whose endpoint the account has, else AzureCloud. A change is an
    in-place update that writes nothing, unless it moves the endpoint (then the disk is replaced)."""

    api_version: pulumi.Input[str] | None = None
    """The storage API version (x-ms-version) every request for this disk carries, for example 2019-07-07 for
    Azure Stack Hub 2008 and later. Default: the VHDCORE_STORAGE_API_VERSION variable, else the version
    blank-vhd pins for the cloud (vhdcore.azure.clouds: 2019-07-07; 2019-02-02 on Azure Stack). Changing it
    is an in-place update that writes nothing."""

    allow_plain_http: pulumi.Input[bool] | None = None
    """Send the account key or SAS over plain http to a host other than this machine: only for a private
    endpoint you trust. Without it, http is refused at preview except to localhost (Azurite)."""

    metadata: pulumi.Input[dict[str, str]] | None = None
    """Blob metadata (names must be C# identifiers, not starting with vhdcore_). Changing it is an in-place
    update that replaces the disk's metadata and keeps this tool's own vhdcore_* entries."""

    adopt_existing: pulumi.Input[bool] | None = None
    """Take over an existing blob of that name instead of failing, if it is a valid fixed VHD of exactly
    size_gb (nothing is written). `pulumi import` cannot work for dynamic resources (pulumi#16175).
    Destroying or replacing an adopted disk leaves the blob in place (with a warning) unless this tool made it."""

    allow_shrink_by_replace: pulumi.Input[bool] | None = None
    """Allow a smaller size_gb by replacing the disk with a new blank one; the old disk's data is lost."""


class BlankVhd(pulumi.dynamic.Resource, module="azureblob", name="BlankVhd"):
    """A blank fixed VHD in a page blob, ready for Azure to import as a managed disk or attach."""

    size_gb: pulumi.Output[int]
    """The disk size in GiB (after a refresh: what the blob really holds)."""
    container_name: pulumi.Output[str]
    """The container holding the disk."""
    blob_name: pulumi.Output[str]
    """The blob's name (the drawn `<resource>-<8 hex>.vhd` when blob_name was omitted)."""
    url: pulumi.Output[str]
    """The blob's URL, without any SAS: use it as a managed disk's import source. It is also the resource id."""
    size_bytes: pulumi.Output[int]
    """size_gb x 2^30: the disk size Azure sees (the footer's current size)."""
    blob_length: pulumi.Output[int]
    """The page blob's length: size_bytes + 512 for the footer."""
    unique_id: pulumi.Output[str]
    """The footer's unique id (32 hex digits); delete only removes a blob carrying this id."""
    blob_endpoint: pulumi.Output[str]
    """The storage account's blob endpoint the disk lives in; the disk never moves without a replacement."""
    azure_ready: pulumi.Output[bool]
    """False when a refresh found a footer Azure would refuse; the next update repairs or reports it."""
    adopted: pulumi.Output[bool]
    """True when the disk was taken over with adopt_existing rather than created."""

    @overload
    def __init__(
        self, resource_name: str, args: BlankVhdArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None: ...

    @overload
    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        size_gb: pulumi.Input[int],
        container_name: pulumi.Input[str],
        blob_name: pulumi.Input[str] | None = None,
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
        allow_shrink_by_replace: pulumi.Input[bool] | None = None,
    ) -> None: ...

    def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
        """Declare a disk: `BlankVhd(name, BlankVhdArgs(...), opts)` or `BlankVhd(name, opts=..., size_gb=...)`.
        The inputs are BlankVhdArgs' fields."""
        given, opts = resource_inputs(BlankVhdArgs, resource_name, args, kwargs)
        props = engine_props(given, OUTPUTS)
        props.setdefault("blob_name", None)
        # check() has no URN: the provider holds the resource's name (for an omitted blob_name) and identity.
        provider = BlankVhdProvider(auto_name_prefix=resource_name if given.blob_name is None else None,
                                    identity=identity(resource_name, opts))
        super().__init__(provider, resource_name, props, with_secret_outputs(delete_first(resource_name, opts)))

    @staticmethod
    def get(resource_name: str, id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None) -> BlankVhd:
        """Read an existing disk by its URL (the `url` output; no SAS) into this program, without managing it.

        The engine reads it through the provider: credentials come from stack config or the AZURE_STORAGE_*
        variables, as for refresh. A blob that does not exist, or is not a page blob, fails the read.
        """
        return get_resource(BlankVhd, BlankVhdProvider(), resource_name, id, opts,
                            ("size_gb", "container_name", "blob_name", *OUTPUTS))


def identity(resource_name: str, opts: pulumi.ResourceOptions | None) -> str:
    """Who a disk belongs to, the same in every run of the program: organization, project, stack, the parent's
    type and name (two disks of one name may sit under two parents), and the resource's name. Synchronous,
    unlike the URN, because the provider must hold it before the resource is registered."""
    parent = opts.parent if opts is not None else None
    within = f"{parent._type}::{parent.pulumi_resource_name}" if isinstance(parent, pulumi.Resource) else ""
    where = (pulumi.get_organization(), pulumi.get_project(), pulumi.get_stack(), within, resource_name)
    return "/".join(part or "" for part in where)  # unit-test mocks may leave the organization unset


def delete_first(resource_name: str, opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions | None:
    """Replacements delete the old disk before the new one is made: the new disk may reuse the blob name, and
    a create takes a blob carrying its own identity for its own interrupted attempt (see BlankVhdProvider), so
    the disk being replaced must be gone first. `pulumi up --replace` asks the provider nothing, so the option
    is set here."""
    if opts is not None and opts.delete_before_replace is False:
        raise pulumi.RunError(f"BlankVhd {resource_name!r}: delete_before_replace=False is not supported; a "
                              "replacement deletes the old disk first because the new one may reuse its blob name "
                              "(remove the option).")
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(delete_before_replace=True))
