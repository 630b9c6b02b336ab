"""Azure Storage: blank fixed VHDs in page blobs, the credentials to reach them, and Azure's naming rules.

The layer of blank-vhd that builds clients and calls the Azure SDK. The SDK is imported on first use of a
name that needs it (_LAZY), never by `import vhdcore.azure`: a Pulumi program that only declares disks, and
the local command line, do not pay for it.
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING, Any

from .clients import KEPT_CLIENTS, KeptClients
from .clouds import AZURE_CLOUD, CLOUDS, Cloud
from .credentials import ENV_VARIABLES, ClientOptions, StorageTarget, split_blob_url, split_container_url
from .names import (
    FINGERPRINT_TAG,
    OWNER_TAG,
    SHA256_TAG,
    owner_tag,
    validate_blob_name,
    validate_container_name,
    validate_metadata,
)

if TYPE_CHECKING:
    from .blobs import BlankVhdBlob, BlobInspection
    from .compute import ComputeTarget, DiskAddress, DiskSpec, ManagedDisk, delete_disk, get_disk
    from .containers import (
        ContainerInfo,
        ContainerListing,
        container_exists,
        create_container,
        delete_container,
        delete_container_if_empty,
        list_containers,
        require_container,
    )
    from .managed_disks import ManagedDiskUpload, upload_to_managed_disk
    from .page_blob import (
        create_blank_vhd,
        delete_blank_vhd,
        grow_blank_vhd,
        inspect_blank_vhd,
        repair_blank_vhd_footer,
        set_blank_vhd_metadata,
    )
    from .upload import ImageUpload, UploadProgress, upload_image, upload_image_to_sas

# Names whose modules import the Azure SDK, loaded when first used.
_LAZY = {
    "BlankVhdBlob": "blobs",
    "BlobInspection": "blobs",
    "create_blank_vhd": "page_blob",
    "delete_blank_vhd": "page_blob",
    "grow_blank_vhd": "page_blob",
    "inspect_blank_vhd": "page_blob",
    "repair_blank_vhd_footer": "page_blob",
    "set_blank_vhd_metadata": "page_blob",
    "ContainerInfo": "containers",
    "ContainerListing": "containers",
    "container_exists": "containers",
    "create_container": "containers",
    "delete_container": "containers",
    "delete_container_if_empty": "containers",
    "list_containers": "containers",
    "require_container": "containers",
    "ImageUpload": "upload",
    "UploadProgress": "upload",
    "upload_image": "upload",
    "upload_image_to_sas": "upload",
    "ComputeTarget": "compute",
    "DiskAddress": "compute",
    "DiskSpec": "compute",
    "ManagedDisk": "compute",
    "delete_disk": "compute",
    "get_disk": "compute",
    "ManagedDiskUpload": "managed_disks",
    "upload_to_managed_disk": "managed_disks",
}

__all__ = [
    "AZURE_CLOUD",
    "CLOUDS",
    "ENV_VARIABLES",
    "FINGERPRINT_TAG",
    "KEPT_CLIENTS",
    "OWNER_TAG",
    "SHA256_TAG",
    "BlankVhdBlob",
    "BlobInspection",
    "ClientOptions",
    "Cloud",
    "ComputeTarget",
    "ContainerInfo",
    "ContainerListing",
    "DiskAddress",
    "DiskSpec",
    "ImageUpload",
    "KeptClients",
    "ManagedDisk",
    "ManagedDiskUpload",
    "StorageTarget",
    "UploadProgress",
    "container_exists",
    "create_blank_vhd",
    "create_container",
    "delete_blank_vhd",
    "delete_container",
    "delete_container_if_empty",
    "delete_disk",
    "get_disk",
    "grow_blank_vhd",
    "inspect_blank_vhd",
    "list_containers",
    "owner_tag",
    "repair_blank_vhd_footer",
    "require_container",
    "set_blank_vhd_metadata",
    "split_blob_url",
    "split_container_url",
    "upload_image",
    "upload_image_to_sas",
    "upload_to_managed_disk",
    "validate_blob_name",
    "validate_container_name",
    "validate_metadata",
]


# A provider process runs several calls at once on threads: two of them importing the SDK's modules at the
# same time can meet its circular imports from both ends (importlib's _DeadlockError, seen in the e2e suite).
# So every lazy module is imported at once, by one thread.
_IMPORT_LOCK = threading.Lock()


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _IMPORT_LOCK:
        loaded = {lazy: importlib.import_module(f"{__name__}.{lazy}") for lazy in sorted(set(_LAZY.values()))}
    value = getattr(loaded[module], name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
