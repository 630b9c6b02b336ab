"""ManagedDiskImage: an Azure managed disk filled from a disk image by direct upload, as a Pulumi resource.

Type token `pulumi-python:dynamic/azureblob:ManagedDiskImage` (the dynamic resources' module, so every resource of
this package shares one). It is part of every URN in every stack's state: never rename the class keywords (or this
module, or the provider class) without an alias. Importing this module loads no Azure SDK.
"""

from __future__ import annotations

from typing import Any, overload

import pulumi
import pulumi.dynamic

from .args import ManagedDiskImageArgs, ManagedDiskImageOutputs
from .blank_vhd import identity
from .common import engine_props, get_resource, register, resource_inputs
from .managed_disk_provider import ManagedDiskImageProvider
from .schema import MANAGED_DISK_IMAGE

__all__ = ["ManagedDiskImage", "ManagedDiskImageArgs"]

OUTPUTS = tuple(p.name for p in MANAGED_DISK_IMAGE.outputs)


class ManagedDiskImage(pulumi.dynamic.Resource, ManagedDiskImageOutputs, module="azureblob", name="ManagedDiskImage"):
    """An Azure managed disk filled from a disk image by direct upload; its id is the disk's resource id. Its inputs
    and outputs: ManagedDiskImageArgs and ManagedDiskImageOutputs (generated from providers/schema.py)."""

    @overload
    def __init__(
        self, resource_name: str, args: ManagedDiskImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None: ...

    @overload
    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        source: pulumi.Input[str],
        source_sha256: pulumi.Input[str] | None = None,
        compression: pulumi.Input[str] | None = None,
        resource_group_name: pulumi.Input[str],
        location: pulumi.Input[str],
        disk_name: pulumi.Input[str] | None = None,
        sku: pulumi.Input[str] | None = None,
        format: pulumi.Input[str] | None = None,
        os_type: pulumi.Input[str] | None = None,
        hyperv_generation: pulumi.Input[str] | None = None,
        security_type: pulumi.Input[str] | None = None,
        guest_state: pulumi.Input[str] | None = None,
        subscription_id: pulumi.Input[str] | None = None,
        resource_manager_endpoint: pulumi.Input[str] | None = None,
        verify: pulumi.Input[bool] | None = None,
    ) -> None: ...

    def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
        """Declare a managed disk from an image: `ManagedDiskImage(name, ManagedDiskImageArgs(...), opts)` or
        `ManagedDiskImage(name, opts=..., source=..., resource_group_name=..., location=...)`."""
        given, opts = resource_inputs(ManagedDiskImageArgs, resource_name, args, kwargs)
        props = engine_props(given, OUTPUTS)
        props.setdefault("disk_name", None)
        provider = ManagedDiskImageProvider(auto_name_prefix=resource_name if given.disk_name is None else None,
                                            identity=identity(resource_name, opts))
        register(self, provider, resource_name, props, opts)

    @staticmethod
    def get(resource_name: str, id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None
            ) -> ManagedDiskImage:
        """Read a managed disk a ManagedDiskImage filled, by its resource id, without managing it."""
        return get_resource(ManagedDiskImage, ManagedDiskImageProvider(), resource_name, id, opts,
                            (p.name for p in MANAGED_DISK_IMAGE.props))
