"""Disk images of every format read through their allocation maps (vhdcore.format.images), checked against
qemu-img (which made them, and converts them back to raw) and dissect.hypervisor (an independent reader)."""

from __future__ import annotations

import os
import random
import shutil
import struct
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from dissect.hypervisor.disk import qcow2 as dissect_qcow2
from dissect.hypervisor.disk import vdi as dissect_vdi
from dissect.hypervisor.disk import vhd as dissect_vhd
from dissect.hypervisor.disk import vhdx as dissect_vhdx
from dissect.hypervisor.disk import vmdk as dissect_vmdk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import shared_images
from tests.images import (
    KINDS,
    LAYOUT,
    NAMES,
    PAGE,
    QEMU_FORMAT,
    SIZE,
    ZEROED_PAGE,
    MiB,
    TestImages,
    make_images,
    nonzero_pages,
    qemu_img,
    qemu_info,
    rewrite_in_place,
    write_raw,
)
from vhdcore.errors import CorruptImageError, ImageError, SizeError, UnsupportedImageError, UsageError
from vhdcore.format.images import Scan, check_format, disk_size, fingerprint, open_image
from vhdcore.format.sizes import MAX_PUT_PAGE

ROUNDED = -(-SIZE // MiB) * MiB


@pytest.mark.parametrize("name", NAMES)
def test_format_variant_and_virtual_size_from_the_content(name: str, test_images: TestImages) -> None:
    with open_image(test_images[name]) as image:
        assert (image.format, image.variant) == KINDS[name]
        assert image.virtual_size == SIZE == qemu_info(test_images[name], QEMU_FORMAT[image.format])["virtual-size"]
        assert image.allocated_bytes <= image.file_size
        assert image.metadata_bytes_read < 256 * 1024  # headers and tables only


@pytest.mark.parametrize("name", NAMES)
def test_every_byte_reads_as_qemu_img_reads_it(name: str, test_images: TestImages, tmp_path: Path) -> None:
    truth = tmp_path / "truth.raw"
    with open_image(test_images[name]) as image:
        qemu_img("convert", "-f", QEMU_FORMAT[image.format], "-O", "raw", test_images[name], truth)
        expected = truth.read_bytes()
        assert expected == test_images.raw
        assert b"".join(image.read(pos, min(MiB, SIZE - pos)) for pos in range(0, SIZE, MiB)) == expected
        assert image.read(SIZE - 3, 3) == expected[-3:]


@pytest.mark.parametrize("name", NAMES)
def test_the_scan_finds_exactly_the_nonzero_pages_reading_only_what_is_stored(name: str,
                                                                             test_images: TestImages) -> None:
    raw = test_images.raw
    with open_image(test_images[name]) as image:
        before = image.bytes_read
        scan = Scan(image)
        runs = list(scan)
        assert image.bytes_read - before == image.allocated_bytes == scan.scanned
    merged: list[tuple[int, int]] = []
    for run in runs:
        assert run.offset % PAGE == 0 and len(run.data) % PAGE == 0 and 0 < len(run.data) <= MAX_PUT_PAGE
        assert run.data == raw[run.offset : run.end]
        if merged and merged[-1][1] == run.offset:
            merged[-1] = (merged[-1][0], run.end)
        else:
            merged.append((run.offset, run.end))
    assert merged == nonzero_pages(raw)
    assert all(not (start <= ZEROED_PAGE < end) for start, end in merged)
    assert scan.data_bytes == sum(end - start for start, end in merged)
    written = {page for offset, length in LAYOUT for page in range(offset - offset % PAGE, offset + length, PAGE)}
    assert {page for start, end in merged for page in range(start, end, PAGE)} == written - {ZEROED_PAGE}
    assert 0 in written and SIZE - PAGE in written  # the first and the last sector


def test_the_fingerprint_is_the_disk_content_whatever_the_container(test_images: TestImages, tmp_path: Path) -> None:
    found = set()
    for name in NAMES:
        with open_image(test_images[name]) as image:
            found.add(fingerprint(image))
    assert len(found) == 1 and next(iter(found)).startswith("sha256:")
    # One more byte anywhere, or a bigger disk with the same data, is another fingerprint.
    changed = tmp_path / "changed.raw"
    shutil.copy(test_images["raw"], changed)
    with open(changed, "r+b") as fh:
        fh.seek(2 * MiB + 100)
        fh.write(b"\x01")
    with open_image(changed) as image:
        assert fingerprint(image) not in found
    with open(changed, "r+b") as fh:
        fh.seek(2 * MiB + 100)
        fh.write(b"\x00")
        fh.truncate(SIZE + PAGE)
    with open_image(changed) as image:
        assert fingerprint(image) not in found


def test_thousands_of_scattered_clusters_scan_and_fingerprint_as_the_raw_disk(tmp_path: Path) -> None:
    # Every odd 512-byte page, and some longer runs: a qcow2 of 512-byte clusters maps each page on its own, so
    # a window holds hundreds of extents (read into one buffer and looked at only where they are), and the
    # fingerprint hashes over 6,000 runs (its run list is hashed in batches); a raw file is one extent.
    size = 8 * MiB
    layout = [(page + PAGE, PAGE) for page in range(0, 6 * MiB, 2 * PAGE)]
    layout += [(6 * MiB + 1000, 9000), (7 * MiB, 64 * 1024 + 3), (size - 3 * PAGE, 3 * PAGE)]
    images = make_images(tmp_path, size=size, layout=layout, names=["qcow2"])
    small = tmp_path / "disk.512.qcow2"
    qemu_img("convert", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=512", images["raw"], small)
    raw = images.raw
    prints = set()
    for path in (images["raw"], images["qcow2"], small):
        with open_image(path) as image:
            for granularity in (PAGE, 4096):
                scan = Scan(image, granularity=granularity)
                merged: list[tuple[int, int]] = []
                for run in scan:
                    assert run.data == raw[run.offset : run.end]
                    if merged and merged[-1][1] == run.offset:
                        merged[-1] = (merged[-1][0], run.end)
                    else:
                        merged.append((run.offset, run.end))
                assert merged == nonzero_pages(raw, granularity), (path.name, granularity)
                assert scan.data_bytes == sum(end - start for start, end in nonzero_pages(raw))
                prints.add(scan.fingerprint)
                assert scan.fingerprint == scan.fingerprint  # reading it twice changes nothing
    assert len(nonzero_pages(raw)) > 6000 and len(prints) == 1
    # The same bytes in the same order, the first page one page earlier: only the first run's offset differs.
    moved = tmp_path / "moved.raw"
    write_raw(moved, size, [(0, PAGE), *layout[1:]])
    assert moved.read_bytes()[:PAGE] == raw[PAGE : 2 * PAGE] and moved.read_bytes()[2 * PAGE :] == raw[2 * PAGE :]
    with open_image(moved) as image:
        assert fingerprint(image) not in prints


def _qcow2_of_scattered_tables(path: Path, disk: bytes) -> None:
    """A qcow2 of 512-byte clusters holding `disk`, written here: header, refcount table and block, L1 table, then
    the L2 tables in a shuffled order (an unused cluster after every third), then the data clusters in guest
    order. The tables are a large part of the file, in another order than the L1 table names them."""
    cluster, per = 512, 64
    used = [k for k in range(len(disk) // cluster) if disk[k * cluster : (k + 1) * cluster] != bytes(cluster)]
    l1_size = -(-len(disk) // (cluster * per))
    tables = sorted({k // per for k in used})
    shuffled = random.Random(16).sample(tables, len(tables))
    first = 3 * cluster + -(-8 * l1_size // cluster) * cluster
    table_at = {i: first + (j + j // 3) * cluster for j, i in enumerate(shuffled)}
    data_at = first + (len(tables) + len(tables) // 3 + 1) * cluster
    header = struct.pack(">4sIQIIQIIQQIIQQQQII", b"QFI\xfb", 3, 0, 0, 9, len(disk), 0, l1_size, 3 * cluster, cluster,
                         1, 0, 0, 0, 0, 0, 4, 104)
    image = bytearray(data_at + len(used) * cluster)
    image[: len(header)] = header
    struct.pack_into(">Q", image, cluster, 2 * cluster)  # the refcount table's one block (left empty)
    for i, at in table_at.items():
        struct.pack_into(">Q", image, 3 * cluster + 8 * i, at)
    for n, k in enumerate(used):
        host = data_at + n * cluster
        struct.pack_into(">Q", image, table_at[k // per] + 8 * (k % per), host)
        image[host : host + cluster] = disk[k * cluster : (k + 1) * cluster]
    path.write_bytes(bytes(image))


def _shuffle_tables(path: Path, directory: list[tuple[int, int]], table_bytes: int, code: str, unit: int) -> None:
    """Move the tables a directory names ((byte of its entry, table offset) pairs; the entry holds the offset in
    `unit`s, struct `code`) to one another's places in a seeded order, and point each entry where its table went:
    the same disk, its tables in another order in the file."""
    data = bytearray(path.read_bytes())
    places = [offset for _, offset in directory]
    random.Random(16).shuffle(places)
    tables = {offset: bytes(data[offset : offset + table_bytes]) for _, offset in directory}
    for (entry, old), new in zip(directory, places, strict=True):
        data[new : new + table_bytes] = tables[old]
        struct.pack_into(code, data, entry, struct.unpack_from(code, data, entry)[0] - old // unit + new // unit)
    path.write_bytes(bytes(data))


def test_tables_in_any_order_and_place_in_the_file_read_as_qemu_reads_them(tmp_path: Path) -> None:
    # The readers take small tables in file order (neighbours, or tables a few KiB apart, read as one) and put
    # what they map back in directory order. Three files whose directory names the tables in another order than
    # the file holds them: a qcow2 written here whose L2 tables are a large part of the file (counted into file
    # order), one written by qemu-img (512-byte clusters, each L2 table among data clusters) and a VMDK by qemu-img
    # (four grain tables next to each other in a larger file; both sorted into file order), their tables shuffled.
    size = 16 * MiB
    layout = [(at + at // (32 * 1024) % 64 * PAGE, PAGE) for at in range(0, size, 32 * 1024)]  # one per L2 table
    images = make_images(tmp_path, size=size, layout=layout, names=["raw"])
    ours = tmp_path / "ours.qcow2"
    _qcow2_of_scattered_tables(ours, images.raw)
    theirs = tmp_path / "theirs.qcow2"
    qemu_img("convert", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=512", images["raw"], theirs)
    data = theirs.read_bytes()
    l1_at = struct.unpack_from(">Q", data, 40)[0]
    l1 = [(l1_at + 8 * i, struct.unpack_from(">Q", data, l1_at + 8 * i)[0] & 0x00FFFFFFFFFFFE00) for i in range(512)]
    assert all(0 < a < b - 512 for (_, a), (_, b) in pairwise(l1))  # other clusters between the tables
    _shuffle_tables(theirs, l1, 512, ">Q", 1)
    large = make_images(tmp_path / "large", size=128 * MiB, names=["vmdk"],
                        layout=[(at * MiB - 300, 700) for at in (7, 40, 70, 100, 127)])
    vmdk = large["vmdk"]
    data = vmdk.read_bytes()
    gd_at, per_gt = struct.unpack_from("<Q", data, 56)[0] * 512, struct.unpack_from("<I", data, 44)[0]
    assert per_gt * struct.unpack_from("<Q", data, 20)[0] * 512 == 32 * MiB  # four tables
    _shuffle_tables(vmdk, [(gd_at + 4 * d, struct.unpack_from("<I", data, gd_at + 4 * d)[0] * 512) for d in range(4)],
                    4 * per_gt, "<I", 512)
    for path, fmt, disk in ((ours, "qcow2", images), (theirs, "qcow2", images), (vmdk, "vmdk", large)):
        expected = disk.raw
        qemu_raw = tmp_path / "qemu.raw"
        qemu_img("convert", "-f", fmt, "-O", "raw", path, qemu_raw)
        assert qemu_raw.read_bytes() == expected, path.name
        with open_image(path) as image:
            assert b"".join(image.read(at, MiB) for at in range(0, len(expected), MiB)) == expected, path.name
            scan = Scan(image)
            runs: list[tuple[int, int]] = []
            for run in scan:
                assert run.data == expected[run.offset : run.end]
                if runs and runs[-1][1] == run.offset:  # a run goes on into the next 4 MiB window
                    runs[-1] = (runs[-1][0], run.end)
                else:
                    runs.append((run.offset, run.end))
            assert runs == nonzero_pages(expected), path.name
        with open_image(disk["raw"]) as image:
            assert fingerprint(image) == scan.fingerprint, path.name


@pytest.mark.parametrize("name", [n for n in NAMES if n != "raw"])
def test_dissect_reads_the_same_data_at_every_known_run(name: str, test_images: TestImages) -> None:
    raw = test_images.raw
    with open(test_images[name], "rb") as fh, open_image(test_images[name]) as image:
        read = _dissect_reader(image.format, fh)
        for offset, length in LAYOUT:
            assert read(offset, length) == raw[offset : offset + length] == image.read(offset, length), offset


def _dissect_reader(fmt: str, fh: Any) -> Callable[[int, int], bytes]:
    """dissect.hypervisor 3.21, used around its known bugs (see docs/development.md, Dependencies)."""
    if fmt == "vmdk":
        disk = dissect_vmdk.VMDK(fh)  # its stream fails reading the tail of an odd-sized disk: read sectors
        return lambda off, n: disk.read_sectors(off // PAGE, -(-(off % PAGE + n) // PAGE))[off % PAGE :][:n]
    stream = {
        "vhd": lambda: dissect_vhd.VHD(fh),
        "vhdx": lambda: dissect_vhdx.VHDX(fh),
        "qcow2": lambda: dissect_qcow2.QCow2(fh).open(),
        "vdi": lambda: dissect_vdi.VDI(fh).open(),  # reads within one block only: the runs are
    }[fmt]()

    def read(off: int, n: int) -> bytes:
        stream.seek(off)
        data: bytes = stream.read(n)
        return data

    return read


def test_a_vhd_whose_size_follows_chs_keeps_qemu_s_size(tmp_path: Path, test_images: TestImages) -> None:
    chs = tmp_path / "chs.vhd"
    qemu_img("convert", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic", test_images["raw"], chs)
    with open_image(chs) as image:
        assert image.virtual_size == qemu_info(chs, "vpc")["virtual-size"] > SIZE
        assert image.read(0, SIZE) == test_images.raw and image.read(SIZE, image.virtual_size - SIZE) == bytes(
            image.virtual_size - SIZE)


# --- the format is detected, or given ------------------------------------------------------------------------


def test_a_given_format_is_used_as_given(test_images: TestImages) -> None:
    with open_image(test_images["qcow2"], "raw") as image:
        assert image.format == "raw" and image.virtual_size == os.path.getsize(test_images["qcow2"])
    with open_image(test_images["vhd-dynamic"], "VPC") as image:
        assert (image.format, image.variant) == ("vhd", "dynamic")
    with pytest.raises(CorruptImageError, match=r"disk\.raw does not start with the qcow2 magic.*give the right "
                                                r"--format\.$"):
        open_image(test_images["raw"], "qcow2")
    with pytest.raises(UsageError, match=r"^--format 'iso' is not a format this tool reads; give one of raw, vhd, "
                                         r"vhdx, qcow2, vmdk, vdi"):
        check_format("iso")


def test_a_missing_or_unreadable_source_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match=r"^cannot open image .*nope\.qcow2: No such file or directory; check"):
        open_image(tmp_path / "nope.qcow2")
    with pytest.raises(ImageError, match=r"is not a regular file or block device"):
        open_image(tmp_path)
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(ImageError, match=r"is an empty raw image \(0 bytes\)"):
        open_image(tmp_path / "empty")


def test_an_image_is_unchanged_until_its_file_is_written_even_with_its_modification_time_put_back(
        test_images: TestImages, tmp_path: Path) -> None:
    """Its stamp (size, modification and change times, inode) is what an upload checks the file against once it
    has read it, and what VhdImage keeps as source_stamp, in the text its states hold."""
    path = tmp_path / "disk.qcow2"
    shutil.copyfile(test_images["qcow2"], path)
    with open_image(path) as image:
        info = os.stat(path)
        assert image.stamp() == f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}"
        assert image.unchanged()
        rewrite_in_place(path)
        assert os.stat(path).st_mtime_ns == info.st_mtime_ns and not image.unchanged()
    with open_image(path) as image:
        shutil.copyfile(test_images["qcow2"], tmp_path / "copy")
        os.replace(tmp_path / "copy", path)  # the same bytes in another file under the same name
        assert not image.unchanged()
        path.unlink()
        assert not image.unchanged()


def test_disk_size_rounds_up_to_whole_mib_and_size_may_only_grow_it(test_images: TestImages, tmp_path: Path) -> None:
    with open_image(test_images["qcow2"]) as image:
        rounded = disk_size(image)
        assert rounded.size == ROUNDED == 6 * MiB
        assert rounded.note is not None and "rounded up; the 1047040 bytes added read as zeros" in rounded.note
        assert disk_size(image, 8 * MiB).size == 8 * MiB
        with pytest.raises(SizeError, match=r"^--size 5242880 is smaller than the image's 5244416-byte disk rounded "
                                            r"up to whole MiB.*give 6291456 bytes \(6MiB\) or more"):
            disk_size(image, 5 * MiB)
        with pytest.raises(SizeError, match="whole number of MiB"):
            disk_size(image, ROUNDED + PAGE)
    huge = tmp_path / "huge.qcow2"
    qemu_img("create", "-f", "qcow2", huge, "9T")
    with open_image(huge) as image, pytest.raises(SizeError, match="more than the 8191GiB"):
        disk_size(image)


# --- refused: one sentence, before anything is read but headers and tables -------------------------------------


def _patch(path: Path, offset: int, data: bytes) -> Path:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)
    return path


def _copy(test_images: TestImages, name: str, tmp_path: Path) -> Path:
    return Path(shutil.copy(test_images[name], tmp_path / test_images[name].name))


def _vhd_differencing(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vhd-dynamic", tmp)
    size = path.stat().st_size
    footer = bytearray(path.read_bytes()[-512:])
    footer[60:64] = struct.pack(">I", 4)
    footer[64:68] = bytes(4)
    footer[64:68] = struct.pack(">I", ~sum(footer) & 0xFFFFFFFF)
    _patch(path, 0, bytes(footer))
    return _patch(path, size - 512, bytes(footer))


def _vhdx_header_patch(path: Path, offset: int, data: bytes) -> None:
    from dissect.util.hash.crc32c import crc32c  # an independent CRC-32C

    for header in (64 * 1024, 128 * 1024):
        raw = bytearray(path.read_bytes()[header : header + 4096])
        raw[offset : offset + len(data)] = data
        raw[4:8] = bytes(4)
        raw[4:8] = struct.pack("<I", crc32c(bytes(raw)))
        _patch(path, header, bytes(raw))


def _vhdx_with_log(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vhdx", tmp)
    _vhdx_header_patch(path, 48, b"\x11" * 16)  # log_guid
    return path


def _vhdx_differencing(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vhdx", tmp)
    with open_image(path) as image:
        assert image.format == "vhdx"
    data = path.read_bytes()
    # The metadata table at the metadata region's start; find the file parameters item and set has_parent.
    file_parameters = bytes.fromhex("3767a1ca36fa434db3b633f0aa44e76b")
    table = data.index(b"metadata", 3 * 64 * 1024)
    entry = data.index(file_parameters, table)
    item = table + struct.unpack_from("<I", data, entry + 16)[0]
    return _patch(path, item + 4, struct.pack("<I", 2))


def _vdi_field(offset: int, value: int) -> Callable[[TestImages, Path], Path]:
    def make(images: TestImages, tmp: Path) -> Path:
        return _patch(_copy(images, "vdi", tmp), offset, struct.pack("<I", value))

    return make


def _qemu(*args: str) -> Callable[[TestImages, Path], Path]:
    """An image qemu-img makes: `{raw}` is the test disk, `{out}` the result, `{tmp}` a directory."""

    def make(images: TestImages, tmp: Path) -> Path:
        out = tmp / "refused.img"
        qemu_img(*(a.format(raw=images["raw"], out=out, tmp=tmp, qcow2=images["qcow2"], vmdk=images["vmdk"])
                   for a in args))
        return out

    return make


def _qcow2_marked_corrupt(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "qcow2", tmp)
    return _patch(path, 72, struct.pack(">Q", 2))


def _vmdk_descriptor(subformat: str) -> Callable[[TestImages, Path], Path]:
    def make(images: TestImages, tmp: Path) -> Path:
        out = tmp / f"{subformat}.vmdk"
        qemu_img("convert", "-f", "raw", "-O", "vmdk", "-o", f"subformat={subformat}", images["raw"], out)
        return out

    return make


SECRET = "--object=secret,id=s0,data=passw0rd"
REFUSED: dict[str, tuple[Callable[[TestImages, Path], Path], type[ImageError], str]] = {
    "qcow2-compressed": (_qemu("convert", "-c", "-f", "raw", "-O", "qcow2", "{raw}", "{out}"), UnsupportedImageError,
                         r"is a compressed qcow2 \(the cluster at guest byte 0 is compressed\).*without -c\.$"),
    "qcow2-aes": (_qemu("create", "-f", "qcow2", SECRET, "-o", "encrypt.format=aes,encrypt.key-secret=s0", "{out}",
                        "4M"), UnsupportedImageError, r"is an encrypted qcow2 \(AES\); decrypt it first"),
    "qcow2-luks": (_qemu("create", "-f", "qcow2", SECRET, "-o",
                         "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10", "{out}", "4M"),
                   UnsupportedImageError, r"is an encrypted qcow2 \(LUKS\)"),
    "qcow2-backing": (_qemu("create", "-f", "qcow2", "-b", "{qcow2}", "-F", "qcow2", "{out}"), UnsupportedImageError,
                      r"is a qcow2 with a backing file, which holds only changes to it; flatten it first"),
    "qcow2-data-file": (_qemu("create", "-f", "qcow2", "-o", "data_file={tmp}/data.bin", "{out}", "4M"),
                        UnsupportedImageError, r"is a qcow2 with an external data file"),
    "qcow2-extended-l2": (_qemu("convert", "-f", "raw", "-O", "qcow2", "-o", "extended_l2=on", "{raw}", "{out}"),
                          UnsupportedImageError, r"is a qcow2 with extended L2 entries \(subclusters\)"),
    "qcow2-marked-corrupt": (_qcow2_marked_corrupt, CorruptImageError, r"is a qcow2 that qemu marked corrupt"),
    "vmdk-stream-optimized": (_vmdk_descriptor("streamOptimized"), UnsupportedImageError,
                              r"is a compressed VMDK \(streamOptimized, as exported in OVAs\)"),
    "vmdk-monolithic-flat": (_vmdk_descriptor("monolithicFlat"), UnsupportedImageError,
                             r"is a VMDK descriptor whose data is in separate extent files"),
    "vmdk-two-gb-sparse": (_vmdk_descriptor("twoGbMaxExtentSparse"), UnsupportedImageError,
                           r"is a VMDK descriptor whose data is in separate extent files"),
    "vmdk-differencing": (_qemu("create", "-f", "vmdk", "-b", "{vmdk}", "-F", "vmdk", "{out}"), UnsupportedImageError,
                          r"is a differencing VMDK \(parentCID is set\)"),
    "vhd-differencing": (_vhd_differencing, UnsupportedImageError, r"is a differencing VHD"),
    "vhdx-differencing": (_vhdx_differencing, UnsupportedImageError, r"is a differencing VHDX"),
    "vhdx-log": (_vhdx_with_log, UnsupportedImageError, r"is a VHDX whose log holds writes not yet applied"),
    "vdi-differencing": (_vdi_field(76, 4), UnsupportedImageError, r"is a differencing VDI \(diff\)"),
    "vdi-undo": (_vdi_field(76, 3), UnsupportedImageError, r"is a differencing VDI \(undo\)"),
    "vdi-block-extra": (_vdi_field(72 + 4 * 3 + 256 + 4 * 7 + 8 + 4, 512), UnsupportedImageError,
                        r"is a VDI with 512 extra bytes per block"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_images_say_why_and_how_to_fix_it_in_one_sentence(case: str, test_images: TestImages,
                                                                   tmp_path: Path) -> None:
    make, error, pattern = REFUSED[case]
    path = make(test_images, tmp_path)
    with pytest.raises(error, match=pattern) as caught:
        open_image(path)
    text = str(caught.value)
    assert text.startswith(f"image {path} ") and text.endswith(".") and "\n" not in text


TRUNCATED = {  # name -> bytes kept: each cuts data or tables the map points at
    "qcow2": 256 * 1024, "qcow2-v2": 256 * 1024, "qcow2-4k": 64 * 1024, "vhd-dynamic": 4 * 1024,
    "vhdx": 3 * MiB, "vmdk": 200 * 1024, "vdi": 3 * MiB,
}


@pytest.mark.parametrize("name", list(TRUNCATED))
def test_a_truncated_image_is_refused_before_any_data_is_read(name: str, test_images: TestImages,
                                                              tmp_path: Path) -> None:
    path = _copy(test_images, name, tmp_path)
    os.truncate(path, TRUNCATED[name])
    with pytest.raises(CorruptImageError, match=r"(truncated|corrupt)") as caught:
        open_image(path)
    assert str(caught.value).endswith(".") and "\n" not in str(caught.value)


def test_a_fixed_vhd_without_its_footer_is_raw_unless_the_format_is_given(test_images: TestImages,
                                                                        tmp_path: Path) -> None:
    path = _copy(test_images, "vhd-fixed", tmp_path)
    os.truncate(path, SIZE)  # the footer is gone: nothing in the file says VHD any more
    with open_image(path) as image:
        assert image.format == "raw"
    with pytest.raises(CorruptImageError, match="does not end in a VHD footer"):
        open_image(path, "vhd")
    os.truncate(path, SIZE - 4096 + 512)
    _patch(path, SIZE - 4096, test_images["vhd-fixed"].read_bytes()[-512:])  # a footer, but the data is short
    with pytest.raises(CorruptImageError, match=r"is a fixed VHD of 5244416 bytes, but the file holds 5240320 bytes"):
        open_image(path)


# --- any bytes: an ImageError or a disk, never another exception --------------------------------------------


@pytest.fixture(scope="module")
def tiny_images(tmp_path_factory: pytest.TempPathFactory) -> TestImages:
    return shared_images(tmp_path_factory, "tiny", size=MiB + PAGE, layout=[(0, 4096), (MiB - 100, 612)])


@pytest.mark.parametrize("name", [n for n in NAMES if n != "raw"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.integers(0, 320 * 1024), st.integers(1, 255)), min_size=1, max_size=8),
       at_end=st.booleans())
def test_damaged_headers_and_tables_give_an_image_error_or_a_readable_disk(
    name: str, flips: list[tuple[int, int]], at_end: bool, tiny_images: TestImages, tmp_path: Path
) -> None:
    data = bytearray(tiny_images[name].read_bytes())
    for offset, xor in flips:
        where = (len(data) - 1 - offset % len(data)) if at_end else offset % len(data)
        data[where] ^= xor
    path = tmp_path / f"damaged-{name}"
    path.write_bytes(bytes(data))
    try:
        image = open_image(path)
    except ImageError as exc:
        assert str(exc).endswith(".") and "\n" not in str(exc)
        return
    with image:
        assert image.virtual_size > 0
        for run in Scan(image):
            assert run.end <= -(-image.virtual_size // PAGE) * PAGE
