"""Pulumi resources for fixed VHDs in Azure page blobs, by two front doors over one core.

- The dynamic resources, for Python programs: `BlankVhd` (type `pulumi-python:dynamic/azureblob:BlankVhd`),
  `VhdImage` (a disk image uploaded as a fixed VHD, `pulumi-python:dynamic/azureblob:VhdImage`) and `BlobContainer`
  (`pulumi-python:dynamic/azureblob:BlobContainer`).
- The provider plugin `pulumi-resource-blank-vhd` (`providers.plugin`), for programs in any language: the same
  resources as `blank-vhd:index:BlankVhd`, `VhdImage` and `BlobContainer`.

Each name loads with the first use of it, so a program (or the plugin) pays only for what it uses. Importing
this package declares no resources, so the dynamic-provider process can import it to run the providers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .args import BlankVhdArgs, BlobContainerArgs, ManagedDiskImageArgs, VhdImageArgs
    from .blank_vhd import BlankVhd
    from .container import BlobContainer
    from .managed_disk_image import ManagedDiskImage
    from .vhd_image import VhdImage

_HOME = {
    "BlankVhd": ".blank_vhd", "BlobContainer": ".container", "VhdImage": ".vhd_image",
    "BlankVhdArgs": ".args", "BlobContainerArgs": ".args", "VhdImageArgs": ".args",
    "ManagedDiskImage": ".managed_disk_image", "ManagedDiskImageArgs": ".args",
}

__all__ = ["BlankVhd", "BlankVhdArgs", "BlobContainer", "BlobContainerArgs", "ManagedDiskImage",
           "ManagedDiskImageArgs", "VhdImage", "VhdImageArgs"]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
