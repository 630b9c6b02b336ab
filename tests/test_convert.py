"""Images of every format written as local sparse fixed VHDs (convert_to_fixed_vhd), checked by qemu-img,
vhdiinfo and dissect.hypervisor, and by the file system (holes stay holes)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from dissect.hypervisor.disk.vhd import VHD

from tests.images import NAMES, PAGE, QEMU_FORMAT, SIZE, MiB, TestImages, nonzero_pages, qemu_img, qemu_info, tool
from vhdcore.errors import InputError
from vhdcore.format.footer import Footer
from vhdcore.format.images import convert_to_fixed_vhd, fingerprint, open_image
from vhdcore.format.report import DiskReport

ROUNDED = 6 * MiB


@pytest.mark.parametrize("name", NAMES)
def test_every_format_becomes_an_azure_ready_sparse_fixed_vhd(name: str, test_images: TestImages,
                                                              tmp_path: Path) -> None:
    dest = tmp_path / "out.vhd"
    with open_image(test_images[name]) as image:
        converted = convert_to_fixed_vhd(image, dest, unique_id=bytes(range(16)), timestamp=0 + 946684800)
        source_fingerprint = fingerprint(image)
    data = dest.read_bytes()
    assert len(data) == ROUNDED + PAGE
    report = DiskReport.from_tail(data[-PAGE:], len(data))
    assert report.azure_ready, report.problems
    assert Footer.unpack(data[-PAGE:]) == converted.footer and converted.footer.current_size == ROUNDED
    assert data[:SIZE] == test_images.raw and data[SIZE:ROUNDED] == bytes(ROUNDED - SIZE)
    assert converted.fingerprint == source_fingerprint
    written = sum(end - start for start, end in nonzero_pages(test_images.raw))
    assert converted.data_bytes == written
    # Holes stay holes: the file system holds the data and the footer, in 4 KiB blocks, not 6 MiB.
    assert os.stat(dest).st_blocks * 512 <= written + 16 * 4096

    info = qemu_info(dest, "vpc")
    assert info["virtual-size"] == ROUNDED
    qemu_img("compare", "-f", QEMU_FORMAT[image.format], "-F", "vpc", test_images[name], dest)
    vhdi = subprocess.run([tool("vhdiinfo"), str(dest)], capture_output=True, text=True, timeout=60)
    assert vhdi.returncode == 0 and "Fixed" in vhdi.stdout and f"{ROUNDED} bytes" in vhdi.stdout, vhdi.stdout
    with open(dest, "rb") as fh:
        disk = VHD(fh)
        assert disk.size == ROUNDED
        disk.seek(0)
        assert disk.read(SIZE) == test_images.raw


def test_an_existing_destination_is_kept_unless_forced(test_images: TestImages, tmp_path: Path) -> None:
    dest = tmp_path / "out.vhd"
    dest.write_bytes(b"keep me")
    with open_image(test_images["qcow2"]) as image:
        with pytest.raises(InputError, match="already exists; choose another path or pass --force"):
            convert_to_fixed_vhd(image, dest)
        assert dest.read_bytes() == b"keep me"
        convert_to_fixed_vhd(image, dest, force=True, size=8 * MiB)
    assert dest.stat().st_size == 8 * MiB + PAGE
    assert [p.name for p in tmp_path.iterdir()] == ["out.vhd"]  # no temporary file left behind
