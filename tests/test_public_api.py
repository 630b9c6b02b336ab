"""The supported surface: `vhdcore.__all__` names every operation a program needs and every error it may
catch, each resolves to the object its layer defines, nothing private is exported, and `import vhdcore`
loads neither the Azure SDK nor the image readers until one of their names is used."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import vhdcore
import vhdcore.azure
import vhdcore.errors
import vhdcore.format
import vhdcore.format.images
import vhdcore.sources

ROOT = Path(__file__).resolve().parent.parent

# What a program builds on (the list): footer, geometry, sizes, local disks, the page-blob operations
# and image uploads, StorageTarget, the errors. Removing one of these is a breaking change.
OPERATIONS = {
    "Footer", "DiskType", "Geometry", "chs_geometry", "fixed_footer", "footer_checksum", "vhd_timestamp",
    "UniqueId", "parse_size", "parse_size_gb", "FOOTER_SIZE", "KiB", "MiB", "GiB", "TiB",
    "create_fixed_vhd", "inspect_file", "DiskReport",
    "StorageTarget", "ClientOptions", "create_blank_vhd", "inspect_blank_vhd", "grow_blank_vhd",
    "set_blank_vhd_metadata", "delete_blank_vhd", "repair_blank_vhd_footer", "BlankVhdBlob", "BlobInspection",
    "upload_image", "ImageUpload", "UploadProgress",
    "open_image", "fingerprint", "convert_to_fixed_vhd", "DiskImage", "Scan",
}


def test_every_operation_and_every_error_is_in_the_supported_surface() -> None:
    missing = OPERATIONS - set(vhdcore.__all__)
    assert missing == set(), sorted(missing)
    errors = {name for name in vhdcore.errors.__all__ if isinstance(getattr(vhdcore.errors, name), type)}
    assert errors - set(vhdcore.__all__) == set(), sorted(errors - set(vhdcore.__all__))


def test_each_exported_name_is_the_object_its_layer_defines() -> None:
    layers = (vhdcore.errors, vhdcore.format, vhdcore.format.images, vhdcore.sources, vhdcore.azure)
    for name in vhdcore.__all__:
        assert not name.startswith("_") or name == "__version__", name
        value = getattr(vhdcore, name)
        homes = [layer for layer in layers if name in getattr(layer, "__all__", ())]
        if name != "__version__":
            assert homes, f"{name} is exported by vhdcore but by none of its layers"
            assert all(getattr(layer, name) is value for layer in homes), name
    assert set(vhdcore.__all__) <= set(dir(vhdcore))


def test_a_name_outside_the_surface_is_an_attribute_error() -> None:
    try:
        vhdcore.page_blob_internals  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as error:
        assert "page_blob_internals" in str(error)
    else:
        raise AssertionError("an unknown name resolved")


def test_import_vhdcore_loads_the_sdk_and_the_image_readers_only_on_first_use() -> None:
    probe = (
        "import sys, vhdcore\n"
        "before = sorted(m for m in sys.modules if m.startswith(('azure.', 'vhdcore.format.images', 'tqdm')))\n"
        "vhdcore.open_image\n"
        "images = 'vhdcore.format.images' in sys.modules and 'azure.storage.blob' not in sys.modules\n"
        "vhdcore.upload_image\n"
        "print(before, images, 'azure.storage.blob' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert (run.returncode, run.stdout.strip()) == (0, "[] True True"), run.stdout + run.stderr


def test_an_image_upload_is_a_disk_in_a_blob_with_what_the_upload_did() -> None:
    """One type for a disk in a blob: ImageUpload extends BlankVhdBlob, and declares none of its fields again."""
    assert issubclass(vhdcore.ImageUpload, vhdcore.BlankVhdBlob)
    disk = [f.name for f in dataclasses.fields(vhdcore.BlankVhdBlob)]
    upload = [f.name for f in dataclasses.fields(vhdcore.ImageUpload)]
    assert upload[: len(disk)] == disk and "fingerprint" in upload[len(disk) :]
    assert set(vhdcore.ImageUpload.__annotations__) & set(disk) == set()
