"""blank-vhd's library: spec-exact fixed VHDs, locally and in Azure page blobs.

Layers, each importing only the ones before it:

- `vhdcore.format`: the footer, CHS geometry, sizes, unique ids, reports, local files and disk images of
  every common format (`vhdcore.format.images`; standard library only, no network);
- `vhdcore.azure`: page blobs, image uploads, containers, credentials, clouds and Azure's naming rules (the
  only code that talks to Azure);
- `vhdcore.cli`: the `vhdcore` command (`python -m vhdcore`).

`vhdcore.errors` holds every error, split by fault. Everything in `__all__` is the supported surface;
the Azure operations (which load the Azure SDK) and the image readers load on first use, so `import vhdcore`
stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .azure.credentials import ClientOptions, StorageTarget
from .errors import (
    AuthFailedError,
    BlobExistsError,
    BlobLeasedError,
    BlobNameError,
    BlobNotFoundError,
    CloudError,
    ContainerNotFoundError,
    CorruptImageError,
    CredentialsError,
    HeaderRefusedError,
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
)
from .format import (
    FOOTER_SIZE,
    DiskReport,
    DiskType,
    Footer,
    Geometry,
    GiB,
    KiB,
    MiB,
    TiB,
    UniqueId,
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
        ImageUpload,
        UploadProgress,
        create_blank_vhd,
        delete_blank_vhd,
        grow_blank_vhd,
        inspect_blank_vhd,
        repair_blank_vhd_footer,
        set_blank_vhd_metadata,
        upload_image,
    )
    from .format.images import DiskImage, Scan, convert_to_fixed_vhd, fingerprint, open_image

__version__ = "0.2.0"

# Loaded on first use: the Azure operations (they load the Azure SDK) and the image readers.
_LAZY = {
    **dict.fromkeys(
        ("BlankVhdBlob", "BlobInspection", "ImageUpload", "UploadProgress", "create_blank_vhd", "delete_blank_vhd",
         "grow_blank_vhd", "inspect_blank_vhd", "repair_blank_vhd_footer", "set_blank_vhd_metadata",
         "upload_image"),
        ".azure",
    ),
    **dict.fromkeys(("DiskImage", "Scan", "convert_to_fixed_vhd", "fingerprint", "open_image"), ".format.images"),
}

__all__ = [
    "FOOTER_SIZE",
    "AuthFailedError",
    "BlankVhdBlob",
    "BlobExistsError",
    "BlobInspection",
    "BlobLeasedError",
    "BlobNameError",
    "BlobNotFoundError",
    "ClientOptions",
    "CloudError",
    "ContainerNotFoundError",
    "CorruptImageError",
    "CredentialsError",
    "DiskImage",
    "DiskReport",
    "DiskType",
    "Footer",
    "Geometry",
    "GiB",
    "HeaderRefusedError",
    "ImageError",
    "ImageUpload",
    "InputError",
    "InternalError",
    "InvalidDiskError",
    "KiB",
    "MiB",
    "NotOwnedError",
    "RefusedError",
    "Scan",
    "ServiceError",
    "ShrinkRefusedError",
    "SizeError",
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
    "chs_geometry",
    "convert_to_fixed_vhd",
    "create_blank_vhd",
    "create_fixed_vhd",
    "delete_blank_vhd",
    "fingerprint",
    "fixed_footer",
    "footer_checksum",
    "grow_blank_vhd",
    "inspect_blank_vhd",
    "inspect_file",
    "open_image",
    "parse_size",
    "parse_size_gb",
    "repair_blank_vhd_footer",
    "set_blank_vhd_metadata",
    "upload_image",
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
