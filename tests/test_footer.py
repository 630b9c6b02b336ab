"""The footer codec: the shared note's 10 GiB vector, round trips, robustness, checksum, problems."""

from __future__ import annotations

import json
import math
import struct
import uuid
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from vhdcore.errors import VhdError, VhdFormatError
from vhdcore.format.footer import Footer, fixed_footer, footer_checksum, vhd_timestamp
from vhdcore.format.report import DiskReport
from vhdcore.format.unique_id import UniqueId

# ---- /work/shared/research/vhd-format.md section 7, copied from the note ----
VECTOR_SIZE = 10_737_418_240
VECTOR_LENGTH = 10_737_418_752
VECTOR_TIME = datetime(2024, 1, 1, tzinfo=UTC)
VECTOR_ID = bytes.fromhex("00112233445566778899aabbccddeeff")
VECTOR = bytes.fromhex(
    "636f6e65637469780000000200010000ffffffffffffffff2d24bd0077610000"
    "000700005769326b000000028000000000000002800000005145103f00000002"
    "ffffe77a00112233445566778899aabbccddeeff000000000000000000000000"
) + bytes(512 - 96)
UNIX_2000 = 946_684_800


def spec_checksum(raw: bytes) -> int:
    """Section 3, written out: one's complement of the sum of every byte but 64..67."""
    total = 0
    for offset, byte in enumerate(raw):
        if not 64 <= offset < 68:
            total += byte
    return (~total) & 0xFFFFFFFF


def vector_footer() -> Footer:
    return fixed_footer(VECTOR_SIZE, timestamp=VECTOR_TIME, unique_id=VECTOR_ID)


# ---- the vector ----


def test_10gib_vector_byte_for_byte() -> None:
    assert vector_footer().pack() == VECTOR


def test_vector_with_unix_seconds_and_uuid_bytes() -> None:
    # The same inputs in their other accepted forms; the id convention is Python's UUID.bytes.
    footer = fixed_footer(VECTOR_SIZE, timestamp=1704067200, unique_id=uuid.UUID(VECTOR_ID.hex()).bytes)
    assert footer.pack() == VECTOR


def test_vector_fields_at_the_notes_offsets() -> None:
    raw = vector_footer().pack()
    assert raw[0x00:0x08] == b"conectix"
    assert struct.unpack_from(">I", raw, 0x08)[0] == 0x2
    assert struct.unpack_from(">I", raw, 0x0C)[0] == 0x00010000
    assert struct.unpack_from(">Q", raw, 0x10)[0] == 0xFFFFFFFFFFFFFFFF
    assert struct.unpack_from(">I", raw, 0x18)[0] == 0x2D24BD00
    assert raw[0x1C:0x20] == b"wa\0\0"
    assert struct.unpack_from(">I", raw, 0x20)[0] == 0x00070000
    assert raw[0x24:0x28] == b"Wi2k"
    assert struct.unpack_from(">QQ", raw, 0x28) == (VECTOR_SIZE, VECTOR_SIZE)
    assert struct.unpack_from(">I", raw, 0x38)[0] == 0x5145103F
    assert struct.unpack_from(">I", raw, 0x3C)[0] == 2
    assert struct.unpack_from(">I", raw, 0x40)[0] == 0xFFFFE77A
    assert raw[0x44:0x54] == VECTOR_ID
    assert raw[0x54:] == bytes(512 - 0x54)
    # The declaration names the same offsets (image refusals quote them: "disk type ... (byte 60)").
    offsets = {"data_offset": 0x10, "current_size": 0x30, "disk_type": 0x3C, "checksum": 0x40, "unique_id": 0x44}
    assert {name: Footer.offset_of(name) for name in offsets} == offsets and Footer.struct_size() == 512


def test_vector_decodes() -> None:
    f = Footer.unpack(VECTOR)
    assert (f.cylinders, f.heads, f.sectors_per_track) == (20805, 16, 63)
    assert f.current_size == f.original_size == VECTOR_SIZE
    assert f.checksum == 0xFFFFE77A and f.checksum_valid
    assert f.unix_timestamp == 1704067200
    assert f.unique_id == VECTOR_ID
    assert f.spec_problems() == []
    assert f.azure_problems(VECTOR_LENGTH) == []
    assert f.pack() == VECTOR


def test_vector_checksum_matches_spec_checksum() -> None:
    assert footer_checksum(VECTOR) == spec_checksum(VECTOR) == 0xFFFFE77A


# ---- checksum ----


@given(st.binary(min_size=512, max_size=512))
def test_checksum_identity(raw: bytes) -> None:
    s = sum(raw) - sum(raw[64:68])
    assert (s + footer_checksum(raw)) % 2**32 == 0xFFFFFFFF
    assert footer_checksum(raw) == spec_checksum(raw)


def test_checksum_ignores_its_own_field() -> None:
    assert footer_checksum(VECTOR[:64] + b"\x12\x34\x56\x78" + VECTOR[68:]) == 0xFFFFE77A


# ---- round trips ----

footers = st.builds(
    Footer,
    cookie=st.binary(min_size=8, max_size=8),
    features=st.integers(0, 2**32 - 1),
    file_format_version=st.integers(0, 2**32 - 1),
    data_offset=st.integers(0, 2**64 - 1),
    timestamp=st.integers(0, 2**32 - 1),
    creator_application=st.binary(min_size=4, max_size=4),
    creator_version=st.integers(0, 2**32 - 1),
    creator_host_os=st.binary(min_size=4, max_size=4),
    original_size=st.integers(0, 2**64 - 1),
    current_size=st.integers(0, 2**64 - 1),
    cylinders=st.integers(0, 2**16 - 1),
    heads=st.integers(0, 255),
    sectors_per_track=st.integers(0, 255),
    disk_type=st.integers(0, 2**32 - 1),
    checksum=st.integers(0, 2**32 - 1),
    unique_id=st.binary(min_size=16, max_size=16),
    saved_state=st.integers(0, 255),
    reserved=st.binary(min_size=427, max_size=427),
)


@given(footers)
def test_encode_decode_round_trip(footer: Footer) -> None:
    raw = footer.pack()
    assert len(raw) == 512
    assert Footer.unpack(raw) == footer


@given(st.binary(min_size=512, max_size=512))
def test_decode_encode_round_trip(raw: bytes) -> None:
    assert Footer.unpack(raw).pack() == raw


@given(
    mib=st.integers(1, 8 * 1024 * 1024 - 1),
    when=st.integers(UNIX_2000, UNIX_2000 + 2**32 - 1),
    unique_id=st.binary(min_size=16, max_size=16),
)
def test_fixed_footer_round_trip(mib: int, when: int, unique_id: bytes) -> None:
    size = mib << 20
    raw = fixed_footer(size, timestamp=when, unique_id=unique_id).pack()
    f = Footer.unpack(raw)
    assert (f.current_size, f.original_size, f.unix_timestamp, f.unique_id) == (size, size, when, unique_id)
    assert f.checksum == spec_checksum(raw) and f.checksum_valid
    assert f.spec_problems() == []
    assert f.azure_problems(size + 512) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [("cookie", b"conectixX"), ("cookie", b"conecti"), ("creator_application", b"wa"), ("unique_id", bytes(15)),
     ("reserved", bytes(428)), ("heads", 256), ("cylinders", 65536), ("checksum", -1), ("current_size", 2**64),
     ("cookie", "conectix")],
)
def test_pack_rejects_fields_that_do_not_fit(name: str, value: object) -> None:
    # Silent padding or truncation would encode bytes this Footer does not hold.
    fix = r"(pass exactly \d+ bytes|check the values passed to Footer)"
    with pytest.raises(VhdError, match=rf"^footer field .*; {fix}\.$"):
        replace(vector_footer(), **{name: value}).pack()  # type: ignore[arg-type]


def test_fixed_footer_pads_short_creator_fields() -> None:
    raw = fixed_footer(1 << 20, timestamp=VECTOR_TIME, unique_id=VECTOR_ID, creator_application=b"x",
                       creator_host_os=b"Mac ").pack()
    assert raw[28:32] == b"x\0\0\0" and raw[36:40] == b"Mac "


def test_fixed_footer_rejects_bad_unique_id_and_draws_random_ones() -> None:
    with pytest.raises(VhdError, match="16 bytes"):
        fixed_footer(1 << 20, timestamp=VECTOR_TIME, unique_id=bytes(15))
    a, b = (fixed_footer(1 << 20, timestamp=VECTOR_TIME).unique_id for _ in range(2))
    assert a != b and len(a) == 16


# ---- decoding anything ----


def assert_fully_decodable(raw: bytes, length: int) -> None:
    f = Footer.unpack(raw)
    assert isinstance(f, Footer)
    for problems in (f.spec_problems(), f.azure_problems(length), f.azure_problems()):
        assert isinstance(problems, list) and all(isinstance(p, str) and p for p in problems)
    assert f.checksum_valid == (f.checksum == spec_checksum(raw))
    report = DiskReport.from_tail(raw, length)
    json.dumps(report.to_json())
    assert isinstance(report.to_table(), str)


@given(st.binary(min_size=512, max_size=512), st.integers(0, 2**64))
def test_any_512_bytes_decode(raw: bytes, length: int) -> None:
    assert_fully_decodable(raw, length)


@given(st.lists(st.tuples(st.integers(0, 511), st.integers(0, 255)), min_size=1, max_size=12))
def test_mutated_vector_decodes_and_mutations_are_noticed(edits: list[tuple[int, int]]) -> None:
    raw = bytearray(VECTOR)
    for offset, value in edits:
        raw[offset] = value
    assume(bytes(raw) != VECTOR)
    assert_fully_decodable(bytes(raw), VECTOR_LENGTH)
    f = Footer.unpack(bytes(raw))
    # Any change that breaks the byte sum must be reported as a corrupt checksum.
    if spec_checksum(bytes(raw)) != f.checksum:
        assert any("checksum" in p for p in f.spec_problems())
        assert DiskReport.from_tail(bytes(raw), VECTOR_LENGTH).azure_ready is False


@given(st.binary(max_size=2048).filter(lambda b: len(b) != 512))
def test_wrong_length_raises_only_format_error(raw: bytes) -> None:
    with pytest.raises(VhdFormatError):
        Footer.unpack(raw)


@pytest.mark.parametrize("raw", [None, "x" * 512, 512, [0] * 512, bytearray(511)])
def test_non_bytes_raise_format_error(raw: object) -> None:
    with pytest.raises(VhdFormatError):
        Footer.unpack(raw)  # type: ignore[arg-type]


def test_bytearray_and_memoryview_decode() -> None:
    assert Footer.unpack(bytearray(VECTOR)) == Footer.unpack(memoryview(VECTOR)) == vector_footer()


@given(st.binary(max_size=1024), st.integers(-(2**64), 2**64))
def test_report_to_json_never_raises(tail: bytes, length: int) -> None:
    doc = DiskReport.from_tail(tail, length).to_json()
    json.dumps(doc)
    assert isinstance(doc["problems"], list) and all(isinstance(p, str) for p in doc["problems"])
    assert doc["azure_ready"] is (doc["problems"] == [] and len(tail) == 512)


# ---- what problems are reported ----


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"cookie": b"conectiX"}, "cookie"),
        ({"features": 0}, "reserved bit"),
        ({"file_format_version": 0x00020000}, "version"),
        ({"data_offset": 512}, "data offset"),
        ({"disk_type": 5}, "disk type 5"),
        ({"saved_state": 2}, "saved state 2"),
    ],
)
def test_spec_problems_name_the_field(change: dict[str, object], words: str) -> None:
    f = replace(vector_footer(), **change).sealed()  # type: ignore[arg-type]
    problems = f.spec_problems()
    assert len(problems) == 1 and words in problems[0]


def test_checksum_problem() -> None:
    f = replace(vector_footer(), checksum=0xFFFFE77B)
    assert not f.checksum_valid
    (problem,) = f.spec_problems()
    assert "checksum 0xffffe77b" in problem and "0xffffe77a" in problem


@pytest.mark.parametrize(
    ("change", "length", "words"),
    [
        ({"disk_type": 3}, VECTOR_LENGTH, "not 2 (fixed)"),
        ({"current_size": VECTOR_SIZE + 512, "original_size": VECTOR_SIZE + 512}, VECTOR_LENGTH + 512, "MiB"),
        ({"current_size": 0, "original_size": 0}, 512, "MiB"),
        ({"current_size": 8 << 40, "original_size": 8 << 40}, (8 << 40) + 512, "8 TiB"),
        ({"original_size": 1 << 20}, VECTOR_LENGTH, "original size 1048576"),
        ({"saved_state": 1}, VECTOR_LENGTH, "saved state is 1"),
        ({}, VECTOR_LENGTH - 512, f"length {VECTOR_LENGTH - 512}"),
        ({}, VECTOR_LENGTH + 1, f"length {VECTOR_LENGTH + 1}"),
    ],
)
def test_azure_problems(change: dict[str, object], length: int, words: str) -> None:
    f = replace(vector_footer(), **change).sealed()  # type: ignore[arg-type]
    problems = f.azure_problems(length)
    assert len(problems) == 1 and words in problems[0], problems


def test_largest_mib_aligned_disk_fits_a_page_blob() -> None:
    size = (8 << 40) - (1 << 20)
    f = fixed_footer(size, timestamp=VECTOR_TIME, unique_id=VECTOR_ID)
    assert f.azure_problems(size + 512) == []


def test_fields_declared_once_cover_512_bytes() -> None:
    assert len(vector_footer().pack()) == 512
    assert [f.name for f in fields(Footer)][-3:] == ["unique_id", "saved_state", "reserved"]


# ---- timestamps ----


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (datetime(2000, 1, 1, tzinfo=UTC), 0),
        (UNIX_2000, 0),
        (VECTOR_TIME, 0x2D24BD00),
        (datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))), 0x2D24BD00),
        (1704067200.9, 0x2D24BD00),
        (UNIX_2000 + 0xFFFFFFFF, 0xFFFFFFFF),
    ],
)
def test_vhd_timestamp(when: datetime | float, expected: int) -> None:
    assert vhd_timestamp(when) == expected


@pytest.mark.parametrize(
    "when",
    [
        datetime(2024, 1, 1),
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
        UNIX_2000 - 1,
        UNIX_2000 + 2**32,
        99_999_999_999_999,
        1e300,
        math.inf,
        -math.inf,
        math.nan,
        datetime(9999, 12, 31, tzinfo=UTC),
    ],
)
def test_vhd_timestamp_rejects_with_vhd_error(when: datetime | float) -> None:
    with pytest.raises(VhdError, match="timestamp"):
        vhd_timestamp(when)


def test_fixed_footer_uses_the_clock_when_no_time_is_given() -> None:
    before = int(datetime.now(UTC).timestamp())
    f = fixed_footer(1 << 20, unique_id=VECTOR_ID)
    after = int(datetime.now(UTC).timestamp())
    assert before <= f.unix_timestamp <= after


@pytest.mark.parametrize("text", ["00112233445566778899AABBCCDDEEFF", "00112233445566778899aabbccddeeff"])
def test_parse_unique_id_takes_32_hex_digits_in_either_case(text: str) -> None:
    assert UniqueId.parse(text) == bytes.fromhex("00112233445566778899aabbccddeeff")


@pytest.mark.parametrize("text", ["", "0011", "00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff", " " + "00" * 16,
                                  "00" * 16 + "\n", "0x" + "00" * 15, "g" * 32, "00" * 17, None, b"0" * 32])
def test_parse_unique_id_is_strict(text: object) -> None:
    with pytest.raises(VhdError, match=r"unique id .* must be 32 hex digits .*; copy it again\.$"):
        UniqueId.parse(text)
