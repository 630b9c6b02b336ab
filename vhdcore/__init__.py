"""blank-vhd's library: spec-exact fixed VHDs, locally and in Azure page blobs.

Layers, each importing only the ones before it:

- `vhdcore.format`: the footer, CHS geometry, sizes, unique ids, reports and local files (standard
  library only, no network);
- `vhdcore.azure`: page blobs, containers, credentials and Azure's naming rules (the only code that
  talks to Azure);
- `vhdcore.cli`: the `vhdcore` command (`python -m vhdcore`).

`vhdcore.errors` holds every error, split by fault. Everything in `__all__` is the supported surface;
the Azure operations load the Azure SDK on first use, so `import vhdcore` stays cheap.
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
    CredentialsError,
    HeaderRefusedError,
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
    UnsuitableAccountError,
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
        create_blank_vhd,
        delete_blank_vhd,
        grow_blank_vhd,
        inspect_blank_vhd,
        set_blank_vhd_metadata,
    )

__version__ = "0.2.0"

_AZURE = (
    "BlankVhdBlob",
    "BlobInspection",
    "create_blank_vhd",
    "delete_blank_vhd",
    "grow_blank_vhd",
    "inspect_blank_vhd",
    "set_blank_vhd_metadata",
)

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
    "CredentialsError",
    "DiskReport",
    "DiskType",
    "Footer",
    "Geometry",
    "GiB",
    "HeaderRefusedError",
    "InputError",
    "InternalError",
    "InvalidDiskError",
    "KiB",
    "MiB",
    "NotOwnedError",
    "RefusedError",
    "ServiceError",
    "ShrinkRefusedError",
    "SizeError",
    "StorageError",
    "StorageTarget",
    "ThrottledError",
    "TiB",
    "UniqueId",
    "UnsuitableAccountError",
    "UsageError",
    "VhdError",
    "VhdFormatError",
    "__version__",
    "chs_geometry",
    "create_blank_vhd",
    "create_fixed_vhd",
    "delete_blank_vhd",
    "fixed_footer",
    "footer_checksum",
    "grow_blank_vhd",
    "inspect_blank_vhd",
    "inspect_file",
    "parse_size",
    "parse_size_gb",
    "set_blank_vhd_metadata",
    "vhd_timestamp",
]


def __getattr__(name: str) -> Any:
    if name not in _AZURE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(".azure", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
