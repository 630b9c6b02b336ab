"""Interop with real VHD readers: qemu-img (qemu-utils), vhdiinfo (libvhdi-utils), dissect.hypervisor.

These never skip: a missing tool is a failure (scripts/setup.sh --test installs them). Expected
values come from the tools themselves, the shared note and the spec oracle in test_geometry.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dissect.hypervisor.disk.vhd import VHD, FixedDisk

from tests.test_footer import spec_checksum
from tests.test_geometry import spec_chs

ROOT = Path(__file__).resolve().parent.parent
MiB, GiB, TiB = 2**20, 2**30, 2**40
SPT63_BYTES = 65535 * 16 * 63 * 512  # 31.5 GiB region: 32255 MiB is below it, 32256 MiB above

OUR_SIZES = {
    "1MiB": MiB, "20MiB": 20 * MiB, "1GiB": GiB, "10GiB": 10 * GiB, "32255MiB": 32255 * MiB,
    "32256MiB": 32256 * MiB, "127GiB": 127 * GiB, "128GiB": 128 * GiB, "1TiB": TiB, "2040GiB": 2040 * GiB,
}
QEMU_SIZES = {"1MiB": MiB, "20MiB": 20 * MiB, "1GiB": GiB, "10GiB": 10 * GiB, "127GiB": 127 * GiB,
              "2040GiB": 2040 * GiB}
assert 32255 * MiB < SPT63_BYTES < 32256 * MiB


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; run scripts/setup.sh --test (apt qemu-utils, libvhdi-utils)")
    return path


def run(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*map(str, argv)], capture_output=True, text=True, timeout=300, cwd=ROOT)


def vhdcore(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return run(sys.executable, "-m", "vhdcore", *args)


@dataclass
class Verdict:
    accepted: bool
    size: int | None
    detail: str

    def cell(self) -> str:
        return f"accept ({self.size})" if self.accepted else f"reject: {self.detail}"


def qemu_info(path: Path, *, current_size: bool = True) -> Verdict:
    """qemu-img info; with current_size the vpc driver trusts current_size instead of CHS."""
    if current_size:
        spec = f"driver=vpc,force_size_calc=current_size,file.driver=file,file.filename={path}"
        proc = run(tool("qemu-img"), "info", "--output=json", "--image-opts", spec)
    else:
        proc = run(tool("qemu-img"), "info", "--output=json", "-f", "vpc", path)
    if proc.returncode:
        return Verdict(False, None, proc.stderr.strip().rsplit(": ", 1)[-1])
    info = json.loads(proc.stdout)
    assert info["format"] == "vpc"
    return Verdict(True, info["virtual-size"], "")


def vhdiinfo(path: Path) -> tuple[Verdict, dict[str, str]]:
    proc = run(tool("vhdiinfo"), path)
    fields = dict(re.findall(r"^\s*([A-Za-z ]+?)\s*:\s*(.*?)\s*$", proc.stdout, re.M))
    if proc.returncode:
        # libvhdi prints a backtrace of "function: message." lines; the first is the cause.
        causes = [line.split(": ", 1)[1] for line in proc.stderr.splitlines() if line.startswith("libvhdi")]
        return Verdict(False, None, (causes or [proc.stderr.strip() or f"exit {proc.returncode}"])[0]), fields
    media = re.fullmatch(r".*\((\d+) bytes\)", fields["Media size"])
    assert media, proc.stdout
    return Verdict(True, int(media[1]), ""), fields


def dissect(path: Path) -> tuple[Verdict, str | None]:
    try:
        with path.open("rb") as fh:
            vhd = VHD(fh)
            kind = type(vhd.disk).__name__
            disk_type = vhd.disk.footer.disk_type
            vhd.seek(0)
            vhd.read(512)
    except Exception as exc:  # dissect raises whatever its parser hits; every one is a rejection
        return Verdict(False, None, f"{type(exc).__name__}: {exc}"), None
    return Verdict(True, vhd.size, ""), f"{kind}/type {disk_type}"


def inspect_json(path: Path) -> tuple[int, dict[str, Any]]:
    proc = vhdcore("inspect", path, "--json")
    assert proc.stderr == ""
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    for p in tmp_path.iterdir():  # terabyte-sized (if sparse) files should not outlive the test
        p.unlink()


def test_tools_are_installed() -> None:
    for name in ("qemu-img", "vhdiinfo"):
        tool(name)


# ---- our files, read by the others ----


@pytest.mark.parametrize("size", OUR_SIZES.values(), ids=OUR_SIZES.keys())
def test_our_disks_read_by_qemu_libvhdi_dissect(workdir: Path, size: int) -> None:
    path = workdir / "ours.vhd"
    unique_id = uuid.uuid4()
    proc = vhdcore("create", path, "--size", str(size), "--unique-id", unique_id.hex)
    assert proc.returncode == 0, proc.stderr

    current = qemu_info(path)
    assert current == Verdict(True, size, "")

    # Without force_size_calc qemu sizes a `wa` disk by its CHS (section 8 of the note), except at
    # the 65535/16/255 cap, where it falls back to current_size: both must agree with the spec.
    cylinders, heads, spt = spec_chs(size // 512)
    chs = qemu_info(path, current_size=False)
    expected = size if (cylinders, heads, spt) == (65535, 16, 255) else cylinders * heads * spt * 512
    assert chs == Verdict(True, expected, "")

    libvhdi, fields = vhdiinfo(path)
    assert libvhdi == Verdict(True, size, "")  # libvhdi reports Original Size
    assert fields["Disk type"] == "Fixed"
    assert fields["Format version"] == "1.0"
    assert fields["Identifier"] == str(unique_id)  # unique id bytes are UUID.bytes (RFC 4122 order)

    verdict, kind = dissect(path)
    assert verdict == Verdict(True, size, "")
    assert kind == "FixedDisk/type 2"
    with path.open("rb") as fh:
        vhd = VHD(fh)
        assert isinstance(vhd.disk, FixedDisk)
        vhd.seek(size - 4096)
        assert vhd.read(4096) == bytes(4096)


# ---- qemu's files, read by us ----


@pytest.mark.parametrize("size", QEMU_SIZES.values(), ids=QEMU_SIZES.keys())
def test_qemu_force_size_disks_decoded_by_inspect(workdir: Path, size: int) -> None:
    path = workdir / "qemu.vhd"
    proc = run(tool("qemu-img"), "create", "-q", "-f", "vpc", "-o", "subformat=fixed,force_size=on", path, str(size))
    assert proc.returncode == 0, proc.stderr
    code, doc = inspect_json(path)
    assert doc["creator_application"] == "qem2"
    assert (doc["cylinders"], doc["heads"], doc["sectors_per_track"]) == (65535, 16, 255)
    assert doc["current_size"] == doc["original_size"] == size == qemu_info(path).size
    assert doc["file_size"] == path.stat().st_size == size + 512
    with path.open("rb") as fh:
        fh.seek(-512, os.SEEK_END)
        raw = fh.read()
    assert doc["checksum"] == int.from_bytes(raw[64:68], "big") == spec_checksum(raw)
    assert doc["checksum_valid"] is True
    assert doc["unique_id"] == raw[68:84].hex()
    assert (code, doc["azure_ready"], doc["problems"]) == (0, True, [])


def test_qemu_unaligned_force_size_disk_is_not_azure_ready(workdir: Path) -> None:
    path = workdir / "odd.vhd"
    size = 1_000_000_000  # a multiple of 512, not of 1 MiB
    assert run(tool("qemu-img"), "create", "-q", "-f", "vpc", "-o", "subformat=fixed,force_size=on", path,
               str(size)).returncode == 0
    code, doc = inspect_json(path)
    assert doc["current_size"] == size == qemu_info(path).size and doc["checksum_valid"] is True
    assert code == 1 and doc["azure_ready"] is False
    assert [p for p in doc["problems"] if "MiB" in p]


def test_qemu_chs_rounded_disk_size_agrees(workdir: Path) -> None:
    # Without force_size qemu rounds 10G up to a CHS multiple and writes creator `qemu`.
    path = workdir / "chs.vhd"
    assert run(tool("qemu-img"), "create", "-q", "-f", "vpc", "-o", "subformat=fixed", path, "10G").returncode == 0
    code, doc = inspect_json(path)
    qemu_size = qemu_info(path, current_size=False).size
    assert qemu_size is not None and qemu_size % (1 << 20)  # qemu's own rounding, not MiB-aligned
    assert doc["creator_application"] == "qemu" and doc["current_size"] == qemu_size
    assert doc["cylinders"] * doc["heads"] * doc["sectors_per_track"] * 512 == qemu_size
    assert doc["file_size"] == qemu_size + 512
    assert code == 1 and doc["checksum_valid"] is True


# ---- corruptions: we must report them, whatever the others say ----

BASE_SIZE = 20 * MiB


def _with_checksum(footer: bytearray) -> bytearray:
    footer[64:68] = spec_checksum(bytes(footer)).to_bytes(4, "big")
    return footer


def corrupt(case: str, disk: bytes) -> bytes:
    data, footer = disk[:BASE_SIZE], bytearray(disk[BASE_SIZE:])
    if case == "bad checksum":
        footer[67] ^= 0x01
        return data + footer
    if case == "bad cookie":
        footer[0:8] = b"conectiX"
        return data + _with_checksum(footer)
    if case == "truncated (footer cut off)":
        return data
    if case == "truncated (mid-footer)":
        return data + footer[:256]
    if case == "length != size + 512":
        return data + bytes(MiB) + footer
    if case == "100-byte file (footer start)":
        return bytes(footer[:100])
    if case == "features 0x2 cleared":
        footer[8:12] = bytes(4)
        return data + _with_checksum(footer)
    if case == "version 0x00020000":
        footer[12:16] = (0x00020000).to_bytes(4, "big")
        return data + _with_checksum(footer)
    raise AssertionError(case)


CORRUPTIONS = {
    "bad checksum": "does not match the computed",
    "bad cookie": "cookie is b'conectiX'",
    "truncated (footer cut off)": "cookie is b'\\x00",
    "truncated (mid-footer)": "not b'conectix'",
    "length != size + 512": f"length {BASE_SIZE + MiB + 512} is not current size {BASE_SIZE} + 512",
    "100-byte file (footer start)": "shorter than the 512-byte footer",
    "features 0x2 cleared": "lack the reserved bit 0x2",
    "version 0x00020000": "file format version 0x00020000",
}


@pytest.fixture(scope="module")
def base_disk(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("base") / "base.vhd"
    assert vhdcore("create", path, "--size", "20MiB").returncode == 0
    data = path.read_bytes()
    path.unlink()
    return data


VERDICTS: dict[str, dict[str, str]] = {}


# The table is filled by the corruption cases and printed after them: this module runs whole on one test worker, in
# file order (WHOLE_MODULES in tests/conftest.py).
@pytest.mark.parametrize("case", CORRUPTIONS)
def test_corruption_reported_by_inspect(workdir: Path, base_disk: bytes, case: str) -> None:
    path = workdir / "bad.vhd"
    path.write_bytes(corrupt(case, base_disk))
    code, doc = inspect_json(path)
    assert code == 1 and doc["azure_ready"] is False
    assert any(CORRUPTIONS[case] in p for p in doc["problems"]), doc["problems"]
    table = vhdcore("inspect", path)
    assert table.returncode == 1 and CORRUPTIONS[case] in table.stdout

    # What the other readers make of it: recorded for the report, not judged.
    VERDICTS[case] = {
        "qemu-img (current_size)": qemu_info(path).cell(),
        "qemu-img -f vpc (CHS)": qemu_info(path, current_size=False).cell(),
        "vhdiinfo": vhdiinfo(path)[0].cell(),
        "dissect.hypervisor": dissect(path)[0].cell(),
        "vhdcore inspect": "reject (exit 1)",
    }


def test_zz_corruption_table(summary: Callable[[str], None]) -> None:
    """The accept/reject table, printed after the tests; runs after the corruption cases (file order)."""
    if set(VERDICTS) != set(CORRUPTIONS):
        pytest.fail("run the whole module: the table needs every corruption case")
    columns = list(next(iter(VERDICTS.values())))
    lines = ["| case | " + " | ".join(columns) + " |", "|" + "---|" * (len(columns) + 1)]
    lines += [f"| {case} | " + " | ".join(row[c] for c in columns) + " |" for case, row in VERDICTS.items()]
    for line in ("Corrupt 20 MiB disks: what each reader says", *lines):
        summary(line)
