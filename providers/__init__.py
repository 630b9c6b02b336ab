"""Pulumi dynamic resources for fixed VHDs in Azure page blobs.

`BlankVhd` (type `pulumi-python:dynamic/azureblob:BlankVhd`), `VhdImage` (a disk image uploaded as a fixed
VHD, `pulumi-python:dynamic/azureblob:VhdImage`) and `BlobContainer`
(`pulumi-python:dynamic/azureblob:BlobContainer`). Importing this package declares no resources,
so the dynamic-provider process can import it to run the providers.
"""

from .blank_vhd import BlankVhd, BlankVhdArgs
from .container import BlobContainer, BlobContainerArgs
from .vhd_image import VhdImage, VhdImageArgs

__all__ = ["BlankVhd", "BlankVhdArgs", "BlobContainer", "BlobContainerArgs", "VhdImage", "VhdImageArgs"]
