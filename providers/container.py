"""BlobContainer: a blob container made by the stack (the `local` target declares one on Azurite).

Type token `pulumi-python:dynamic/azureblob:BlobContainer`; never rename it without an alias. On
Azure, declare pulumi-azure-native's storage.BlobContainer instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, overload

import pulumi
import pulumi.dynamic

from .common import engine_props, resource_inputs, with_secret_outputs
from .container_provider import BlobContainerProvider


@dataclass
class BlobContainerArgs:
    """Where the container is: its name and exactly one of storage_account_name, account_url or
    connection_string; credentials work as for BlankVhdArgs."""

    container_name: pulumi.Input[str]
    """The container's name (3 to 63 lowercase letters, digits and single hyphens). An existing container
    is used as it is and never deleted; one this resource made is deleted on destroy if it is empty."""

    storage_account_name: pulumi.Input[str] | None = None
    """The storage account's name; the endpoint is https://<name>.blob.<endpoint_suffix>."""

    endpoint_suffix: pulumi.Input[str] | None = None
    """With storage_account_name: the cloud's storage suffix (default core.windows.net)."""

    account_url: pulumi.Input[str] | None = None
    """The account's blob endpoint URL (no SAS in it)."""

    connection_string: pulumi.Input[str] | None = None
    """A storage connection string (location and secret). Stored as a secret."""

    account_key: pulumi.Input[str] | None = None
    """The account's shared key. Stored as a secret."""

    sas_token: pulumi.Input[str] | None = None
    """A SAS token with container create/delete/list rights. Stored as a secret."""

    cloud: pulumi.Input[str] | None = None
    """The cloud the account is in; as for BlankVhdArgs.cloud."""

    api_version: pulumi.Input[str] | None = None
    """The storage API version (x-ms-version) to send; default as for BlankVhdArgs.api_version."""
    allow_plain_http: pulumi.Input[bool] | None = None
    """Send the key or SAS over plain http to a host other than this machine (a private endpoint you trust)."""


class BlobContainer(pulumi.dynamic.Resource, module="azureblob", name="BlobContainer"):
    """A blob container; `created` tells whether this stack made it (and so may delete it)."""

    container_name: pulumi.Output[str]
    """The container's name."""
    url: pulumi.Output[str]
    """The container's URL (no SAS); also the resource id."""
    blob_endpoint: pulumi.Output[str]
    """The storage account's blob endpoint the container lives in."""
    created: pulumi.Output[bool]
    """True when this stack made the container (so destroy deletes it if it is empty)."""

    @overload
    def __init__(
        self, resource_name: str, args: BlobContainerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None: ...

    @overload
    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        container_name: pulumi.Input[str],
        storage_account_name: pulumi.Input[str] | None = None,
        endpoint_suffix: pulumi.Input[str] | None = None,
        account_url: pulumi.Input[str] | None = None,
        connection_string: pulumi.Input[str] | None = None,
        account_key: pulumi.Input[str] | None = None,
        sas_token: pulumi.Input[str] | None = None,
        cloud: pulumi.Input[str] | None = None,
        api_version: pulumi.Input[str] | None = None,
        allow_plain_http: pulumi.Input[bool] | None = None,
    ) -> None: ...

    def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
        """Declare a container: `BlobContainer(name, BlobContainerArgs(...), opts)` or with keyword inputs."""
        given, opts = resource_inputs(BlobContainerArgs, resource_name, args, kwargs)
        props = engine_props(given, ("url", "blob_endpoint", "created"))
        super().__init__(BlobContainerProvider(), resource_name, props, with_secret_outputs(opts))
