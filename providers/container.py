"""BlobContainer: a blob container made by the stack (the `local` target declares one on Azurite).

Type token `pulumi-python:dynamic/azureblob:BlobContainer`; never rename it without an alias. On
Azure, declare pulumi-azure-native's storage.BlobContainer instead.
"""

from __future__ import annotations

from typing import Any, overload

import pulumi
import pulumi.dynamic

from .args import BlobContainerArgs, BlobContainerOutputs
from .common import engine_props, register, resource_inputs, with_secret_outputs
from .container_provider import BlobContainerProvider
from .schema import BLOB_CONTAINER

__all__ = ["BlobContainer", "BlobContainerArgs"]  # the Args keep their old home too


class BlobContainer(pulumi.dynamic.Resource, BlobContainerOutputs, module="azureblob", name="BlobContainer"):
    """A blob container; `created` tells whether this stack made it (and so may delete it). Its inputs and outputs:
    BlobContainerArgs and BlobContainerOutputs (generated from providers/schema.py; docs/reference.md). Its
    `container_name` output is known once the container exists: pass it as a disk's container_name, so that the
    disk's check at preview does not look for a container the same update is about to make."""

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
        props = engine_props(given, (p.name for p in BLOB_CONTAINER.outputs))
        register(self, BlobContainerProvider(), resource_name, props, with_secret_outputs(opts))
        # The name as disks take it: known only once the container exists (when its id is; an update in place keeps
        # the id known at preview, a create or replacement does not). A preview echoes an input as the output of a
        # resource it will create, so without this a disk's check would look for the container before the update
        # makes it, and refuse the disk.
        self.container_name = pulumi.Output.all(self.id, self.container_name).apply(lambda made: str(made[1]))
