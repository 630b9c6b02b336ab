"""Pulumi dynamic resources for blank fixed VHDs in Azure page blobs.

`BlankVhd` (type `pulumi-python:dynamic/azureblob:BlankVhd`) and `BlobContainer`
(`pulumi-python:dynamic/azureblob:BlobContainer`). Importing this package declares no resources,
so the dynamic-provider process can import it to run the providers.
"""

from .blank_vhd import BlankVhd, BlankVhdArgs
from .container import BlobContainer, BlobContainerArgs

__all__ = ["BlankVhd", "BlankVhdArgs", "BlobContainer", "BlobContainerArgs"]
