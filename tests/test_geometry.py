"""CHS geometry against an independent, literal transcription of the spec's "CHS Calculation".

The oracle below copies the spec pseudocode line by line (C integer division, the `heads < 4` fix-up,
the misspelt `cylinderTimesHeads` spelt right). The boundary table was worked out by hand from the
pseudocode; each row's comment shows the arithmetic, so none of it comes from vhdcore's output.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vhdcore.format.footer import fixed_footer
from vhdcore.format.geometry import chs_geometry

SPT63_LIMIT = 65535 * 16 * 63  # 66,059,280 sectors: from here on the spec uses 255 sectors per track
CAP = 65535 * 16 * 255  # 267,386,880 sectors: everything larger is pinned to 65535/16/255
GiB = 1 << 30


def spec_chs(total_sectors: int, *, boundary_ge: bool = True) -> tuple[int, int, int]:
    """Spec appendix pseudocode, transcribed literally; boundary_ge=False is the old `>` variant."""
    if total_sectors > 65535 * 16 * 255:
        total_sectors = 65535 * 16 * 255
    at_or_past = total_sectors >= 65535 * 16 * 63 if boundary_ge else total_sectors > 65535 * 16 * 63
    if at_or_past:
        sectors_per_track = 255
        heads = 16
        cylinder_times_heads = total_sectors // sectors_per_track
    else:
        sectors_per_track = 17
        cylinder_times_heads = total_sectors // sectors_per_track
        heads = (cylinder_times_heads + 1023) // 1024
        if heads < 4:
            heads = 4
        if cylinder_times_heads >= (heads * 1024) or heads > 16:
            sectors_per_track = 31
            heads = 16
            cylinder_times_heads = total_sectors // sectors_per_track
        if cylinder_times_heads >= (heads * 1024):
            sectors_per_track = 63
            heads = 16
            cylinder_times_heads = total_sectors // sectors_per_track
    cylinders = cylinder_times_heads // heads
    return cylinders, heads, sectors_per_track


def ours(total_sectors: int) -> tuple[int, int, int]:
    g = chs_geometry(total_sectors * 512)
    return g.cylinders, g.heads, g.sectors_per_track


# (total sectors, expected C/H/S, how it follows from the pseudocode)
HAND_WORKED = [
    (0, (0, 4, 17), "cxh 0, heads raised to 4"),
    (2048, (30, 4, 17), "1 MiB: cxh 2048//17=120, heads 4, 120//4"),
    (69631, (1023, 4, 17), "cxh 4095 < 4*1024: stays 17"),
    (69632, (140, 16, 31), "cxh 4096 >= 4*1024: 31 spt, 69632//31=2246, //16"),
    (278527, (1023, 16, 17), "cxh 16383, heads 16, 16383 < 16384: stays 17"),
    (278528, (561, 16, 31), "cxh 16384 >= 16*1024: 31 spt, 278528//31=8984, //16"),
    (278545, (561, 16, 31), "cxh 16385: heads 17 > 16: 31 spt"),
    (507903, (1023, 16, 31), "31 spt: 507903//31=16383 < 16384: stays 31"),
    (507904, (503, 16, 63), "31 spt: 507904//31=16384: 63 spt, 507904//63=8061, //16"),
    (20971520, (20805, 16, 63), "10 GiB, the shared note's vector"),
    (SPT63_LIMIT - 1, (65534, 16, 63), "one below: 63 spt, cxh 1048559 (65535*16 = 1048560), //16"),
    (SPT63_LIMIT, (16191, 16, 255), "exactly 65535*16*63 with >=: 255 spt, cxh 259056, //16"),
    (CAP - 1, (65534, 16, 255), "cxh 1048575, //16=65534"),
    (CAP, (65535, 16, 255), "the cap itself"),
    (CAP + 1, (65535, 16, 255), "capped"),
    (2040 * GiB // 512, (65535, 16, 255), "2040 GiB, capped"),
    (8191 * GiB // 512, (65535, 16, 255), "8191 GiB, capped"),
]


def test_hand_worked_table_has_its_arithmetic_right() -> None:
    # Guards the oracle and the table against each other before either judges vhdcore.
    for total, expected, why in HAND_WORKED:
        assert spec_chs(total) == expected, why


@pytest.mark.parametrize(("total", "expected", "why"), HAND_WORKED, ids=[str(row[0]) for row in HAND_WORKED])
def test_branch_boundaries(total: int, expected: tuple[int, int, int], why: str) -> None:
    assert ours(total) == expected, why


def test_every_branch_is_reached() -> None:
    assert {ours(total)[2] for total, _, _ in HAND_WORKED} == {17, 31, 63, 255}


def test_ge_boundary_at_exactly_65535x16x63_sectors() -> None:
    # The two readings of the spec differ only here: `>` keeps 63 spt (65535/16/63, the exact
    # capacity), the spec's `>=` switches to 255 spt (16191/16/255).
    assert spec_chs(SPT63_LIMIT, boundary_ge=False) == (65535, 16, 63)
    assert ours(SPT63_LIMIT) == (16191, 16, 255) != spec_chs(SPT63_LIMIT, boundary_ge=False)
    for total in (SPT63_LIMIT - 1, SPT63_LIMIT + 1):
        assert spec_chs(total, boundary_ge=False) == spec_chs(total) == ours(total)
    fixed_footer(SPT63_LIMIT * 512, timestamp=1704067200, unique_id=bytes(16)).pack()


def test_exhaustive_through_the_17_31_63_region() -> None:
    # Every sector count through the last 17->31->63 switch (507904) and a bit past it.
    for total in range(0, 520_000, 7):
        assert ours(total) == spec_chs(total), total


@pytest.mark.parametrize("edge", [69632, 278528, 507904, SPT63_LIMIT, CAP])
def test_neighbourhood_of_each_switch(edge: int) -> None:
    for total in range(edge - 64, edge + 64):
        assert ours(total) == spec_chs(total), total


@given(st.integers(min_value=0, max_value=1 << 44))
def test_matches_oracle_for_any_size(size: int) -> None:
    g = chs_geometry(size)
    assert (g.cylinders, g.heads, g.sectors_per_track) == spec_chs(size // 512)
    # Rounds down: CHS never addresses more than the disk, and every field fits the footer.
    assert g.cylinders * g.heads * g.sectors_per_track * 512 <= size
    assert g.capacity == g.cylinders * g.heads * g.sectors_per_track * 512
    assert 0 <= g.cylinders <= 0xFFFF and 0 <= g.heads <= 16 and 0 <= g.sectors_per_track <= 255


@given(st.integers(min_value=1, max_value=8191 * 1024))
def test_mib_aligned_sizes_match_oracle_and_pack(mib: int) -> None:
    size = mib << 20
    assert ours(size // 512) == spec_chs(size // 512)
    raw = fixed_footer(size, timestamp=1704067200, unique_id=bytes(16)).pack()
    assert (int.from_bytes(raw[56:58], "big"), raw[58], raw[59]) == spec_chs(size // 512)
