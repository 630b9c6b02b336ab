"""blank-vhd's library: spec-exact fixed VHDs, locally and in Azure page blobs.

Layers, each importing only the ones before it:

- `vhdcore.format`: the footer, CHS geometry, sizes, unique ids, reports, local files and disk images of
  every common format (`vhdcore.format.images`; standard library only, no network);
- `vhdcore.sources`: images as published (compressed files, https URLs, the publisher's checksum), read
  without a full-size copy;
- `vhdcore.azure`: page blobs, image uploads, containers, credentials, clouds and Azure's naming rules (the
  layer that talks to Azure Storage);
- `vhdcore.cli`: the `vhdcore` command (`python -m vhdcore`).

`vhdcore.errors` holds every error, split by fault. Everything in `__all__` is the supported surface;
the Azure operations (which load the Azure SDK) and the image readers load on first use, so `import vhdcore`
stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .azure import (
    AZURE_CLOUD,
    CLOUDS,
    ENV_VARIABLES,
    ClientOptions,
    Cloud,
    StorageTarget,
    owner_tag,
    split_blob_url,
    split_container_url,
    validate_blob_name,
    validate_container_name,
    validate_metadata,
)
from .errors import (
    DEBUG_ENV,
    AuthFailedError,
    BlobExistsError,
    BlobLeasedError,
    BlobNameError,
    BlobNotFoundError,
    ChecksumMismatchError,
    CloudError,
    ContainerNotEmptyError,
    ContainerNotFoundError,
    CorruptImageError,
    CredentialsError,
    DependencyError,
    DiskAttachedError,
    HeaderRefusedError,
    ImageDownloadError,
    ImageError,
    InputError,
    InternalError,
    InvalidDiskError,
    NotOwnedError,
    RefusedError,
    ServiceError,
    ShrinkRefusedError,
    SizeError,
    StorageError,
    ThrottledError,
    UnreachableError,
    UnsuitableAccountError,
    UnsupportedImageError,
    UsageError,
    VhdError,
    VhdFormatError,
    scrub,
)
from .format import (
    AZURE_LIMIT,
    FOOTER_SIZE,
    DiskReport,
    DiskType,
    Footer,
    Geometry,
    GiB,
    KiB,
    MiB,
    SizeLimit,
    TiB,
    UniqueId,
    check_disk_size,
    chs_geometry,
    create_fixed_vhd,
    fixed_footer,
    footer_checksum,
    inspect_file,
    parse_size,
    parse_size_gb,
    vhd_timestamp,
)

if TYPE_CHECKING:
    from .azure import (
        BlankVhdBlob,
        BlobInspection,
        ComputeTarget,
        ContainerInfo,
        ContainerListing,
        DiskAddress,
        DiskSpec,
        ImageUpload,
        ManagedDisk,
        ManagedDiskUpload,
        UploadProgress,
        container_exists,
        create_blank_vhd,
        create_container,
        delete_blank_vhd,
        delete_container,
        delete_container_if_empty,
        delete_disk,
        get_disk,
        grow_blank_vhd,
        inspect_blank_vhd,
        list_containers,
        repair_blank_vhd_footer,
        require_container,
        set_blank_vhd_metadata,
        upload_image,
        upload_image_to_sas,
        upload_to_managed_disk,
    )
    from .format.images import (
        DiskImage,
        FileStamp,
        Scan,
        check_format,
        convert_to_fixed_vhd,
        disk_size,
        fingerprint,
        open_image,
        upload_disk_size,
    )
    from .sources import (
        SourceImage,
        check_compression,
        check_image_url,
        check_sha256,
        is_compressed_file,
        is_image_url,
        open_source,
        shown_url,
    )

__version__ = "0.2.0"

# Loaded on first use: the Azure operations (they load the Azure SDK), the image readers and the image sources.
_LAZY = {
    **dict.fromkeys(
        ("BlankVhdBlob", "BlobInspection", "ContainerInfo", "ContainerListing", "ImageUpload", "UploadProgress",
         "container_exists", "create_blank_vhd", "create_container", "delete_blank_vhd", "delete_container",
         "delete_container_if_empty", "grow_blank_vhd", "inspect_blank_vhd", "list_containers",
         "repair_blank_vhd_footer", "require_container", "set_blank_vhd_metadata", "upload_image",
         "upload_image_to_sas", "upload_to_managed_disk", "ComputeTarget", "DiskAddress", "DiskSpec", "ManagedDisk",
         "ManagedDiskUpload", "delete_disk", "get_disk"),
        ".azure",
    ),
    **dict.fromkeys(("DiskImage", "FileStamp", "Scan", "check_format", "convert_to_fixed_vhd", "disk_size",
                     "fingerprint", "open_image", "upload_disk_size"), ".format.images"),
    **dict.fromkeys(("SourceImage", "check_compression", "check_image_url", "check_sha256", "is_compressed_file",
                     "is_image_url", "open_source", "shown_url"), ".sources"),
}

__all__ = [
    "AZURE_CLOUD",
    "AZURE_LIMIT",
    "CLOUDS",
    "DEBUG_ENV",
    "ENV_VARIABLES",
    "FOOTER_SIZE",
    "AuthFailedError",
    "BlankVhdBlob",
    "BlobExistsError",
    "BlobInspection",
    "BlobLeasedError",
    "BlobNameError",
    "BlobNotFoundError",
    "ChecksumMismatchError",
    "ClientOptions",
    "Cloud",
    "CloudError",
    "ComputeTarget",
    "ContainerInfo",
    "ContainerListing",
    "ContainerNotEmptyError",
    "ContainerNotFoundError",
    "CorruptImageError",
    "CredentialsError",
    "DependencyError",
    "DiskAddress",
    "DiskAttachedError",
    "DiskImage",
    "DiskReport",
    "DiskSpec",
    "DiskType",
    "FileStamp",
    "Footer",
    "Geometry",
    "GiB",
    "HeaderRefusedError",
    "ImageDownloadError",
    "ImageError",
    "ImageUpload",
    "InputError",
    "InternalError",
    "InvalidDiskError",
    "KiB",
    "ManagedDisk",
    "ManagedDiskUpload",
    "MiB",
    "NotOwnedError",
    "RefusedError",
    "Scan",
    "ServiceError",
    "ShrinkRefusedError",
    "SizeError",
    "SizeLimit",
    "SourceImage",
    "StorageError",
    "StorageTarget",
    "ThrottledError",
    "TiB",
    "UniqueId",
    "UnreachableError",
    "UnsuitableAccountError",
    "UnsupportedImageError",
    "UploadProgress",
    "UsageError",
    "VhdError",
    "VhdFormatError",
    "__version__",
    "check_compression",
    "check_disk_size",
    "check_format",
    "check_image_url",
    "check_sha256",
    "chs_geometry",
    "container_exists",
    "convert_to_fixed_vhd",
    "create_blank_vhd",
    "create_container",
    "create_fixed_vhd",
    "delete_blank_vhd",
    "delete_container",
    "delete_container_if_empty",
    "delete_disk",
    "disk_size",
    "fingerprint",
    "fixed_footer",
    "footer_checksum",
    "get_disk",
    "grow_blank_vhd",
    "inspect_blank_vhd",
    "inspect_file",
    "is_compressed_file",
    "is_image_url",
    "list_containers",
    "open_image",
    "open_source",
    "owner_tag",
    "parse_size",
    "parse_size_gb",
    "repair_blank_vhd_footer",
    "require_container",
    "scrub",
    "set_blank_vhd_metadata",
    "shown_url",
    "split_blob_url",
    "split_container_url",
    "upload_disk_size",
    "upload_image",
    "upload_image_to_sas",
    "upload_to_managed_disk",
    "validate_blob_name",
    "validate_container_name",
    "validate_metadata",
    "vhd_timestamp",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
