"""VhdImage: a disk image (raw, VHD, VHDX, QCOW2, VMDK, VDI) uploaded as a fixed VHD page blob, as a Pulumi
resource.

Type token `pulumi-python:dynamic/azureblob:VhdImage`. It is part of every URN in every stack's state:
never rename the class keywords (or this module, or the provider class) without an alias. Importing
this module loads no Azure SDK: the program process only declares resources.
"""

from __future__ import annotations

from typing import Any, overload

import pulumi
import pulumi.dynamic

from .args import VhdImageArgs, VhdImageOutputs
from .blank_vhd import identity
from .common import engine_props, get_resource, register, resource_inputs, with_secret_outputs
from .image_provider import VhdImageProvider
from .schema import VHD_IMAGE

__all__ = ["VhdImage", "VhdImageArgs"]  # the Args keep their old home too

# What VhdImage computes (providers/schema.py): seeded as None, or the engine never shows them.
OUTPUTS = tuple(p.name for p in VHD_IMAGE.outputs)


class VhdImage(pulumi.dynamic.Resource, VhdImageOutputs, module="azureblob", name="VhdImage"):
    """A fixed VHD page blob made from a disk image, ready for Azure to import as a managed disk or attach. Its
    inputs and outputs: VhdImageArgs and VhdImageOutputs (generated from providers/schema.py; docs/reference.md)."""

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
        source_sha256: pulumi.Input[str] | None = None,
        compression: pulumi.Input[str] | None = None,
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
        register(self, provider, resource_name, props, with_secret_outputs(opts))

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
        return get_resource(VhdImage, VhdImageProvider(), resource_name, id, opts, (p.name for p in VHD_IMAGE.props))
