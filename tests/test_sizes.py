"""Size parsing: every rejection names the value and the rule; valid binary sizes parse exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vhdcore.errors import SizeError, VhdError
from vhdcore.format.images import upload_disk_size
from vhdcore.format.sizes import check_disk_size, check_upload_size, parse_size, parse_size_gb

MiB, GiB, TiB = 2**20, 2**30, 2**40


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512MiB", 512 * MiB),
        ("10GiB", 10 * GiB),
        ("1TiB", TiB),
        ("8191GiB", 8191 * GiB),
        ("1MiB", MiB),
        ("1024KiB", MiB),
        ("1073741824", GiB),
        ("1073741824B", GiB),
        (" 10 GiB ", 10 * GiB),
        (GiB, GiB),
        (8191 * GiB, 8191 * GiB),
    ],
)
def test_valid_sizes(text: object, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("value", "shown", "rule"),
    [
        (0, "0", "positive"),
        ("0", "'0'", "positive"),
        ("0GiB", "'0GiB'", "positive"),
        (-MiB, str(-MiB), "positive"),
        ("-1GiB", "'-1GiB'", "positive"),
        ("1.5GiB", "'1.5GiB'", "fractional"),
        ("10.GiB", "'10.GiB'", "fractional"),
        (1.5, "1.5", "whole number"),
        (float(GiB), str(float(GiB)), "whole number"),
        (True, "True", "whole number"),
        (False, "False", "whole number"),
        ("ten", "'ten'", "512MiB"),
        ("", "''", "512MiB"),
        ("GiB", "'GiB'", "512MiB"),
        ("1e9", "'1e9'", "512MiB"),
        ("10 G iB", "'10 G iB'", "512MiB"),
        (None, "None", "whole number"),
        (b"10GiB", "b'10GiB'", "whole number"),
        ("10GB", "'10GB'", "10GiB"),
        ("10G", "'10G'", "10GiB"),
        ("10TB", "'10TB'", "10TiB"),
        ("10MB", "'10MB'", "10MiB"),
        ("512K", "'512K'", "512KiB"),
        ("10XiB", "'10XiB'", "unknown unit"),
        ("8192GiB", "'8192GiB'", "8191GiB maximum"),
        ("8TiB", "'8TiB'", "8191GiB maximum"),
        (8192 * GiB, str(8192 * GiB), "8191GiB maximum"),
        ("100TiB", "'100TiB'", "8191GiB maximum"),
        (GiB + 512, str(GiB + 512), "whole number of MiB"),
        ("1000000000", "'1000000000'", "whole number of MiB"),
        ("1536KiB", "'1536KiB'", "whole number of MiB"),
        ("512B", "'512B'", "whole number of MiB"),
        ("1" * 5000, "'" + "1" * 5000 + "'", "8191GiB maximum"),
        ("-" + "1" * 5000, "'-" + "1" * 5000 + "'", "positive"),
    ],
)
def test_rejections_name_value_and_rule(value: object, shown: str, rule: str) -> None:
    with pytest.raises(SizeError) as info:
        parse_size(value, field="--size")
    message = str(info.value)
    assert f"--size {shown}" in message
    assert rule in message


@pytest.mark.parametrize("text", ["10GB", "10G", "10TB", "10gb", "10M"])
def test_decimal_units_are_ambiguous(text: str) -> None:
    with pytest.raises(SizeError, match="ambiguous decimal unit"):
        parse_size(text)


def test_fraction_with_decimal_unit_does_not_suggest_a_fraction() -> None:
    with pytest.raises(SizeError) as info:
        parse_size("1.5GB")
    assert "1.5GiB (" not in str(info.value) and "fractional" in str(info.value)


def test_size_error_is_a_value_error_and_a_vhd_error() -> None:
    assert issubclass(SizeError, ValueError) and issubclass(SizeError, VhdError)


@given(st.integers(1, 8191), st.sampled_from([("GiB", GiB), ("MiB", MiB)]))
def test_whole_binary_units_parse(n: int, unit: tuple[str, int]) -> None:
    name, factor = unit
    assert parse_size(f"{n}{name}") == n * factor == parse_size(n * factor) == check_disk_size(n * factor)


@given(st.integers(1, 8191 * 1024))
def test_any_positive_mib_multiple_up_to_8191gib_parses(mib: int) -> None:
    assert parse_size(str(mib * MiB)) == mib * MiB


@given(st.integers(-(2**70), 2**70).filter(lambda n: n <= 0 or n % MiB or n > 8191 * GiB))
def test_bad_byte_counts_are_rejected(n: int) -> None:
    with pytest.raises(SizeError, match=str(n)):
        parse_size(n)


@given(st.one_of(st.text(), st.from_regex(r"\s*[+-]?\d{1,25}(\.\d*)?\s*[A-Za-z]{0,4}\s*", fullmatch=True)))
def test_any_text_parses_or_raises_size_error(text: str) -> None:
    try:
        size = parse_size(text)
    except SizeError as exc:
        assert repr(text) in str(exc)
    else:
        assert 0 < size <= 8191 * GiB and size % MiB == 0


@pytest.mark.parametrize(("value", "expected"), [(1, 1), (10, 10), (8191, 8191), (10.0, 10)])
def test_parse_size_gb_valid(value: object, expected: int) -> None:
    assert parse_size_gb(value) == expected


@pytest.mark.parametrize("value", [0, -1, 8192, 1.5, True, "10", None, float("nan"), float("inf")])
def test_parse_size_gb_rejects(value: object) -> None:
    with pytest.raises(SizeError) as info:
        parse_size_gb(value)
    assert f"size_gb {value!r}" in str(info.value) and "8191" in str(info.value)


# --- Azure's direct upload into a managed disk: the upload size ---------------------------------------------------


@pytest.mark.parametrize("upload", [20 * MiB + 512, 21 * MiB + 512, 9 * TiB + 512, 32 * TiB + 512])
def test_upload_sizes_azure_takes(upload: int) -> None:
    assert check_upload_size(upload) == upload


@pytest.mark.parametrize("upload", [20 * MiB, 20 * MiB + 511, 19 * MiB + 512, 20 * MiB + 513, 21 * MiB + 1024,
                                    32 * TiB + MiB + 512, 0, 512, -512])
def test_upload_sizes_azure_refuses_name_the_rule_and_where_to_find_the_right_one(upload: int) -> None:
    with pytest.raises(SizeError, match=rf"^upload size {upload} is not a whole number of MiB plus the 512-byte footer "
                       r"between 20972032 \(20 MiB \+ 512\) and 35184372089344 \(32 TiB \+ 512\).*upload_size_bytes"):
        check_upload_size(upload)


class _Image:
    """What upload_disk_size reads of an image: its path and virtual size."""

    def __init__(self, virtual_size: int) -> None:
        self.path, self.virtual_size = "disk.img", virtual_size


@pytest.mark.parametrize(("virtual", "disk", "noted"), [
    (1, 20 * MiB, "smaller than the 20 MiB"),
    (5 * MiB + 1536, 20 * MiB, "smaller than the 20 MiB"),
    (20 * MiB, 20 * MiB, None),
    (20 * MiB + 1, 21 * MiB, "not a whole number of MiB"),
    (9 * TiB, 9 * TiB, None),  # beyond a page blob's 8 TiB: a managed disk takes it
    (32 * TiB, 32 * TiB, None),
])
def test_the_disk_an_image_becomes_in_a_managed_disk(virtual: int, disk: int, noted: str | None) -> None:
    size = upload_disk_size(_Image(virtual))  # type: ignore[arg-type]
    assert (size.size, size.upload_size, size.image_size) == (disk, disk + 512, virtual)
    assert check_upload_size(size.upload_size) == size.upload_size
    assert (size.note is None) if noted is None else (noted in str(size.note))


def test_an_image_larger_than_a_managed_disk_is_refused() -> None:
    with pytest.raises(SizeError, match=r"^image disk.img holds a 35184373137408-byte disk, more than the 32 TiB"):
        upload_disk_size(_Image(32 * TiB + MiB))  # type: ignore[arg-type]
