"""`python -m vhdcore create|inspect` as a user runs it: a subprocess, its exit code and its output."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
MiB, GiB = 2**20, 2**30

# The shared note's 10 GiB vector (section 7).
VECTOR_ID = "00112233445566778899aabbccddeeff"
VECTOR = bytes.fromhex(
    "636f6e65637469780000000200010000ffffffffffffffff2d24bd0077610000"
    "000700005769326b000000028000000000000002800000005145103f00000002"
    "ffffe77a00112233445566778899aabbccddeeff000000000000000000000000"
) + bytes(512 - 96)

JSON_KEYS = {
    "cookie", "features", "file_format_version", "data_offset", "timestamp", "creator_application",
    "creator_host_os", "creator_version", "original_size", "current_size", "cylinders", "heads",
    "sectors_per_track", "disk_type", "checksum", "checksum_valid", "unique_id", "saved_state", "file_size",
    "azure_ready", "problems",
}
# Keys added since (appended after the ones above): the human verdict and the named forms of three fields.
NEW_KEYS = {"verdict", "disk_type_name", "timestamp_utc", "checksum_hex"}
# Appended after those: the file read as a disk image (vhdcore.format.images.report).
IMAGE_KEYS = ["image_format", "image_variant", "virtual_size", "allocated_bytes", "fixed_vhd_size", "image_problems",
              "upload_size_bytes"]


def vhdcore(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vhdcore", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def inspect_json(path: Path) -> tuple[int, dict[str, Any]]:
    run = vhdcore("inspect", path, "--json")
    assert run.stderr == ""
    return run.returncode, json.loads(run.stdout)


def tail(path: Path) -> bytes:
    with path.open("rb") as fh:
        fh.seek(-512, os.SEEK_END)
        return fh.read()


@pytest.mark.parametrize("when", ["2024-01-01T00:00:00Z", "1704067200", "2024-01-01T01:00:00+01:00"])
def test_create_writes_the_vector(tmp_path: Path, when: str) -> None:
    path = tmp_path / "ten.vhd"
    run = vhdcore("create", path, "--size", "10GiB", "--timestamp", when, "--unique-id", VECTOR_ID)
    assert (run.returncode, run.stderr) == (0, "")
    assert str(path) in run.stdout and VECTOR_ID in run.stdout
    assert path.stat().st_size == 10 * GiB + 512
    assert tail(path) == VECTOR


def sparse_disk(path: Path, footer: bytes) -> Path:
    """A 10 GiB sparse data area followed by `footer`."""
    with path.open("wb") as fh:
        fh.truncate(10 * GiB)
        fh.seek(10 * GiB)
        fh.write(footer)
    return path


def test_inspect_json_of_the_vector(tmp_path: Path) -> None:
    path = sparse_disk(tmp_path / "ten.vhd", VECTOR)
    code, doc = inspect_json(path)
    assert code == 0
    assert set(doc) == JSON_KEYS | NEW_KEYS | set(IMAGE_KEYS)
    assert list(doc)[:len(JSON_KEYS)] == [k for k in doc if k in JSON_KEYS]  # the old keys first, in their order
    assert list(doc)[-len(IMAGE_KEYS):] == IMAGE_KEYS  # the newest last
    assert doc == {
        "cookie": "conectix", "features": 2, "file_format_version": 0x00010000, "data_offset": 2**64 - 1,
        "timestamp": 1704067200, "creator_application": "wa", "creator_version": 0x00070000,
        "creator_host_os": "Wi2k", "original_size": 10 * GiB, "current_size": 10 * GiB, "cylinders": 20805,
        "heads": 16, "sectors_per_track": 63, "disk_type": 2, "checksum": 0xFFFFE77A, "checksum_valid": True,
        "unique_id": VECTOR_ID, "saved_state": 0, "file_size": 10 * GiB + 512, "azure_ready": True,
        "problems": [], "verdict": "fixed VHD, 10 GiB, Azure-ready", "disk_type_name": "fixed",
        "timestamp_utc": "2024-01-01T00:00:00Z", "checksum_hex": "0xffffe77a",
        "image_format": "vhd", "image_variant": "fixed", "virtual_size": 10 * GiB, "allocated_bytes": 0,
        "fixed_vhd_size": 10 * GiB, "image_problems": [], "upload_size_bytes": 10 * GiB + 512,
    }


def test_inspect_json_text_fields_are_ascii_without_nuls(tmp_path: Path) -> None:
    raw = bytearray(VECTOR)
    raw[28:32] = b"q\xe9\0\0"  # a non-ASCII creator; the checksum goes bad too, which is fine here
    path = sparse_disk(tmp_path / "odd.vhd", bytes(raw))
    code, doc = inspect_json(path)
    assert code == 1
    creator = doc["creator_application"]
    assert isinstance(creator, str) and creator.isascii() and "\0" not in creator and creator.startswith("q")
    assert doc["checksum_valid"] is False


def test_inspect_exit_1_lists_problems(tmp_path: Path) -> None:
    path = tmp_path / "ten.vhd"
    assert vhdcore("create", path, "--size", "20MiB").returncode == 0
    with path.open("ab") as fh:
        fh.write(bytes(512))  # the footer is no longer the last 512 bytes
    code, doc = inspect_json(path)
    assert code == 1 and doc["azure_ready"] is False
    assert any("cookie" in p for p in doc["problems"])
    table = vhdcore("inspect", path)
    assert table.returncode == 1
    assert re.search(r"^problems\n  - .*cookie", table.stdout, re.M)
    assert table.stdout.startswith("not a VHD: cookie is ")


def test_human_table_reads_as_a_verdict_then_named_fields(tmp_path: Path) -> None:
    path = tmp_path / "t.vhd"
    when = "2024-05-06T07:08:09Z"
    assert vhdcore("create", path, "--size", "512MiB", "--unique-id", VECTOR_ID, "--timestamp", when).returncode == 0
    _, doc = inspect_json(path)
    table = vhdcore("inspect", path)
    assert (table.returncode, table.stderr) == (0, "")
    verdict, *lines, as_image, upload = table.stdout.splitlines()
    assert verdict == "fixed VHD, 0.5 GiB, Azure-ready" == doc["verdict"]
    assert as_image == ("as an image: vhd, 0.5 GiB (536870912 bytes), 0 GiB (0 bytes) stored; upload and convert make "
                        "a fixed VHD of 0.5 GiB (536870912 bytes)")
    assert upload == "upload_size_bytes: 536871424 (create the managed disk with this upload size)"
    matches = [re.fullmatch(r"(\w+)\s{2,}(\S.*)", line) for line in lines]
    rows = {m[1]: m[2] for m in matches if m}
    assert len(rows) == len(lines), table.stdout
    assert list(rows) == [*[k for k in doc if k in JSON_KEYS and k != "problems"], "problems"]
    assert rows["problems"] == "none"
    assert rows["cookie"] == "conectix" and rows["creator_host_os"] == "Wi2k"
    assert rows["current_size"] == rows["original_size"] == f"0.5 GiB ({512 * MiB} bytes)"
    assert rows["file_size"] == f"0.5 GiB ({512 * MiB + 512} bytes)"
    assert rows["timestamp"] == f"{when} ({doc['timestamp']})" and doc["timestamp_utc"] == when
    assert rows["disk_type"] == "2 (fixed)" and doc["disk_type_name"] == "fixed"
    assert rows["checksum"] == doc["checksum_hex"] == f"0x{doc['checksum']:08x}"
    assert rows["data_offset"] == "0xffffffffffffffff" and rows["features"] == "0x00000002"
    assert rows["unique_id"] == VECTOR_ID and rows["azure_ready"] == "True"
    # One value column, aligned.
    assert len({line.index(value) for line, value in zip(lines, rows.values(), strict=True)}) == 1


def test_a_broken_footer_leads_with_its_first_problem_and_the_checksum_looks_the_same_everywhere(
    tmp_path: Path,
) -> None:
    raw = bytearray(VECTOR)
    raw[64:68] = b"\0\0\0\1"  # a wrong stored checksum
    path = sparse_disk(tmp_path / "bad.vhd", bytes(raw))
    code, doc = inspect_json(path)
    table = vhdcore("inspect", path).stdout
    verdict = table.splitlines()[0]
    assert code == 1 and verdict == doc["verdict"]
    assert verdict == ("fixed VHD, 10 GiB, not Azure-ready: checksum 0x00000001 does not match the computed "
                       "0xffffe77a: the footer is corrupt")
    assert doc["checksum_hex"] == "0x00000001" and re.search(r"^checksum\s+0x00000001$", table, re.M)


def test_a_file_without_a_footer_prints_the_verdict_and_the_problem_not_rows_of_none(tmp_path: Path) -> None:
    short = tmp_path / "short.bin"
    short.write_bytes(b"x" * 100)
    run = vhdcore("inspect", short)
    assert run.returncode == 1 and "None" not in run.stdout, run.stdout
    assert run.stdout.splitlines() == [
        "not a VHD: length 100 is shorter than the 512-byte footer: the disk is truncated or not a VHD",
        "file_size  100",
        "problems",
        "  - length 100 is shorter than the 512-byte footer: the disk is truncated or not a VHD.",
        "as an image: raw, 9.31e-08 GiB (100 bytes), 9.31e-08 GiB (100 bytes) stored; upload and convert make a "
        "fixed VHD of 0.000977 GiB (1048576 bytes)",
        "upload_size_bytes: 20972032 (create the managed disk with this upload size)",
    ]
    zeros = tmp_path / "zeros.bin"
    zeros.write_bytes(bytes(4096))
    run = vhdcore("inspect", zeros)
    first, *rest = run.stdout.splitlines()
    assert first.startswith("not a VHD: cookie is b'\\x00") and "(and " in first and "more problems)" in first
    assert "cylinders" not in run.stdout and rest[0] == "file_size  4096"
    _, doc = inspect_json(zeros)
    assert set(JSON_KEYS) <= set(doc) and doc["cookie"] is not None  # the JSON keeps every decoded field


def test_output_formats_of_inspect_and_create(tmp_path: Path) -> None:
    path = tmp_path / "o.vhd"
    made = vhdcore("create", path, "--size", "1MiB", "--unique-id", VECTOR_ID, "-o", "json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout) == {"path": str(path), "size": MiB, "file_size": MiB + 512, "unique_id": VECTOR_ID}
    _, doc = inspect_json(path)
    for output in (["-o", "json"], ["--output", "json"]):
        assert json.loads(vhdcore("inspect", path, *output).stdout) == doc
    tsv = vhdcore("inspect", path, "-o", "tsv")
    assert tsv.returncode == 0 and tsv.stdout.count("\n") == 1
    cells = dict(zip(doc, tsv.stdout.rstrip("\n").split("\t"), strict=True))
    assert cells["unique_id"] == VECTOR_ID and cells["azure_ready"] == "true" and cells["problems"] == "0"
    assert cells["current_size"] == str(MiB) and cells["cookie"] == "conectix"
    assert vhdcore("inspect", path, "-o", "table").stdout == vhdcore("inspect", path).stdout
    other = tmp_path / "t.vhd"
    assert vhdcore("create", other, "--size", "1MiB", "-o", "tsv").stdout.startswith(f"{other}\t{MiB}\t")


def test_refuses_existing_file_then_force_replaces(tmp_path: Path) -> None:
    path = tmp_path / "d.vhd"
    path.write_bytes(b"precious")
    run = vhdcore("create", path, "--size", "1MiB")
    assert run.returncode == 2 and "--force" in run.stderr and run.stdout == ""
    assert path.read_bytes() == b"precious"
    run = vhdcore("create", path, "--size", "1MiB", "--force")
    assert run.returncode == 0
    assert path.stat().st_size == MiB + 512
    assert inspect_json(path)[0] == 0
    assert sorted(os.listdir(tmp_path)) == ["d.vhd"]


USAGE_ERRORS = [
    ["create", "{d}/x.vhd", "--size", "10GB"],
    ["create", "{d}/x.vhd", "--size", "10G"],
    ["create", "{d}/x.vhd", "--size", "0"],
    ["create", "{d}/x.vhd", "--size", "-5MiB"],
    ["create", "{d}/x.vhd", "--size", "1.5GiB"],
    ["create", "{d}/x.vhd", "--size", "8192GiB"],
    ["create", "{d}/x.vhd", "--size", "1000000000"],
    ["create", "{d}/x.vhd", "--size", "lots"],
    ["create", "{d}/x.vhd"],
    ["create", "--size", "1MiB"],
    ["create", "{d}/x.vhd", "--size", "1MiB", "--timestamp", "yesterday"],
    ["create", "{d}/x.vhd", "--size", "1MiB", "--timestamp", "2024-01-01T00:00:00"],
    ["create", "{d}/x.vhd", "--size", "1MiB", "--timestamp", "1999-12-31T23:59:59Z"],
    ["create", "{d}/x.vhd", "--size", "1MiB", "--timestamp", "99999999999999"],
    ["create", "{d}/x.vhd", "--size", "1MiB", "--timestamp", "\u00b2"],
    ["create", "{d}/x.vhd", "--size", "1MiB", "--unique-id", "0011"],
    ["create", "{d}/x.vhd", "--size", "1MiB", "--unique-id", "zz112233445566778899aabbccddeeff"],
    ["create", "{d}/x.vhd", "--size", "1MiB", "--unique-id", "00112233 44556677 8899aabb ccddeeff"],
    ["create", "{d}/no/such/dir/x.vhd", "--size", "1MiB"],
    ["create", "{d}/x.vhd", "--size", "1MiB", "--bogus"],
    ["inspect", "{d}/missing.vhd"],
    ["inspect", "{d}/missing.vhd", "--json"],
    ["inspect"],
    ["frobnicate"],
    [],
]


@pytest.mark.parametrize("argv", USAGE_ERRORS, ids=[" ".join(a) or "no-args" for a in USAGE_ERRORS])
def test_usage_errors_one_line_exit_2_nothing_written(tmp_path: Path, argv: list[str]) -> None:
    run = vhdcore(*(a.format(d=tmp_path) for a in argv))
    assert run.returncode == 2
    assert run.stdout == ""
    assert len(run.stderr.splitlines()) == 1 and run.stderr.startswith("vhdcore: error: "), run.stderr
    assert os.listdir(tmp_path) == []


def test_size_error_names_value_and_rule(tmp_path: Path) -> None:
    run = vhdcore("create", tmp_path / "x.vhd", "--size", "10GB")
    assert "'10GB'" in run.stderr and "10GiB" in run.stderr


def test_random_unique_id_and_clock_by_default(tmp_path: Path) -> None:
    for name in ("a.vhd", "b.vhd"):
        assert vhdcore("create", tmp_path / name, "--size", "1MiB").returncode == 0
    (_, a), (_, b) = inspect_json(tmp_path / "a.vhd"), inspect_json(tmp_path / "b.vhd")
    assert a["unique_id"] != b["unique_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", str(a["unique_id"]))
    assert isinstance(a["timestamp"], int) and a["timestamp"] > 1704067200


@pytest.mark.parametrize(("module", "forbidden"), [
    ("vhdcore.cli.command", ()),
    ("vhdcore.cli.blob", ("vhdcore.cli.command",)),
    ("vhdcore.cli.common", ("vhdcore.cli.command", "vhdcore.cli.blob")),
    ("vhdcore.cli.containers", ("vhdcore.cli.command", "vhdcore.cli.blob")),
    ("vhdcore.cli.account", ("vhdcore.cli.command", "vhdcore.cli.blob", "vhdcore.cli.containers")),
    ("vhdcore.cli.parser", ("vhdcore.cli.command", "vhdcore.cli.blob", "vhdcore.cli.containers", "vhdcore.cli.account",
                            "vhdcore.cli.common")),
])
def test_cli_modules_import_one_way_and_only_the_standard_library(module: str, forbidden: tuple[str, ...]) -> None:
    code = (f"import sys; before = set(sys.modules); import {module}; print(sorted(m for m in set(sys.modules) - "
            f"before if m.split('.')[0] not in sys.stdlib_module_names | {{'vhdcore'}} or m in {forbidden!r}))")
    run: Any = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == "[]", (run.stdout, run.stderr)


def test_the_library_entry_point_runs_again_and_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # vhdcore.cli.main is the function each time: the command's module has another name, so importing it never
    # rebinds the package attribute (with a submodule named main, the second call found a module and failed).
    from vhdcore import cli

    for n in range(3):
        assert cli.main(["create", str(tmp_path / f"d{n}.vhd"), "--size", "1MiB"]) == 0
        assert callable(cli.main)
    assert len(list(tmp_path.glob("d*.vhd"))) == 3
    capsys.readouterr()
