"""BlankVhd: a blank fixed VHD in an Azure page blob, as a Pulumi resource.

Type token `pulumi-python:dynamic/azureblob:BlankVhd`. It is part of every URN in every stack's
state: never rename the class keywords (or this module, or the provider class) without an alias.
Importing this module loads no Azure SDK: the program process only declares resources.
"""

from __future__ import annotations

from typing import Any, overload

import pulumi
import pulumi.dynamic

from .args import BlankVhdArgs, BlankVhdOutputs
from .common import engine_props, get_resource, register, resource_inputs, with_secret_outputs
from .provider import BlankVhdProvider
from .schema import BLANK_VHD

__all__ = ["BlankVhd", "BlankVhdArgs", "delete_first", "identity"]  # the Args keep their old home too

# What BlankVhd computes (providers/schema.py): seeded as None, or the engine never shows them.
OUTPUTS = tuple(p.name for p in BLANK_VHD.outputs)


class BlankVhd(pulumi.dynamic.Resource, BlankVhdOutputs, module="azureblob", name="BlankVhd"):
    """A blank fixed VHD in a page blob, ready for Azure to import as a managed disk or attach. Its inputs and
    outputs: BlankVhdArgs and BlankVhdOutputs (generated from providers/schema.py; docs/reference.md)."""

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
        register(self, provider, resource_name, props, with_secret_outputs(delete_first(resource_name, opts)))

    @staticmethod
    def get(resource_name: str, id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None) -> BlankVhd:
        """Read an existing disk by its URL (the `url` output; no SAS) into this program, without managing it.

        The engine reads it through the provider: credentials come from stack config or the AZURE_STORAGE_*
        variables, as for refresh. A blob that does not exist, or is not a page blob, fails the read.
        """
        return get_resource(BlankVhd, BlankVhdProvider(), resource_name, id, opts, (p.name for p in BLANK_VHD.props))


def identity(resource_name: str, opts: pulumi.ResourceOptions | None) -> str:
    """Who a disk belongs to, the same in every run of the program: organization, project, stack, the parent's
    type and name (two disks of one name may sit under two parents), and the resource's name. Synchronous,
    unlike the URN, because the provider must hold it before the resource is registered."""
    parent = opts.parent if opts is not None else None
    within = ""
    if isinstance(parent, pulumi.Resource):
        within = f"{parent.pulumi_resource_type}::{parent.pulumi_resource_name}"
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
