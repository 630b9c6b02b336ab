"""Images as published (vhdcore.sources): compressed files and URLs opened without a full-size copy, converted to
fixed VHDs and checked by qemu-img; the route each takes; checksums; hostile streams and servers."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_wide
from tests.images import PAGE, QEMU_FORMAT, SIZE, MiB, TestImages, qemu_img, rewrite_in_place, tool
from tests.webserver import WebServer
from vhdcore.errors import (
    ChecksumMismatchError,
    CorruptImageError,
    ImageDownloadError,
    ImageError,
    InputError,
    UnsupportedImageError,
)
from vhdcore.format.images import convert_to_fixed_vhd, fingerprint, open_image
from vhdcore.sources import SpooledImage, StreamImage, open_source
from vhdcore.sources import compressed as compressed_module
from vhdcore.sources import web as web_module
from vhdcore.sources.compressed import Decompressed
from vhdcore.sources.stream import Content

ROUNDED = 6 * MiB
COMPRESSORS = {"xz": (["xz", "-k", "-f", "-T1"], ".xz"), "gzip": (["gzip", "-k", "-f"], ".gz"),
               "bzip2": (["bzip2", "-k", "-f"], ".bz2"), "zstd": (["zstd", "-q", "-f"], ".zst")}
RANDOM = ["qcow2", "vhdx", "vhd-dynamic", "vmdk", "vdi"]
ONE_LINE = re.compile(r"^[^\n]+$")


def compress(path: Path, kind: str, out: Path | None = None) -> Path:
    command, suffix = COMPRESSORS[kind]
    subprocess.run([tool(command[0]), *command[1:], str(path)], check=True, timeout=120)
    made = Path(str(path) + suffix)
    if out is not None:
        made.rename(out)
        return out
    return made


@pytest.fixture(scope="module")
def packed(test_images: TestImages, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Every test image compressed with every compression, by (image name, compression); made once per run for every
    test worker."""
    made = {}
    with run_wide(tmp_path_factory, "packed") as (folder, done):
        for name in ["raw", "vhd-fixed", *RANDOM]:
            copy = folder / test_images[name].name
            if not done:
                shutil.copyfile(test_images[name], copy)
            for kind in COMPRESSORS:
                made[(name, kind)] = Path(f"{copy}{COMPRESSORS[kind][1]}") if done else compress(copy, kind)
    return made


@pytest.fixture
def no_temporary_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """TMPDIR is a fresh folder, which must be empty again after the test (the spool has no name)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", None)
    yield folder
    assert list(folder.iterdir()) == []


def converted(image: object, dest: Path) -> str:
    done = convert_to_fixed_vhd(image, dest, force=True)  # type: ignore[arg-type]
    return done.fingerprint


def check_disk(dest: Path, test_images: TestImages, source: str) -> None:
    """The fixed VHD holds exactly the test disk: qemu-img compares it with the image (the oracle)."""
    data = dest.read_bytes()
    assert len(data) == ROUNDED + PAGE and data[:SIZE] == test_images.raw and not any(data[SIZE:ROUNDED])
    qemu_img("compare", "-f", QEMU_FORMAT.get(source.split("-")[0], "raw"), "-F", "vpc", test_images[source], dest)


# --- local compressed files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(COMPRESSORS))
@pytest.mark.parametrize("name", ["raw", "vhd-fixed"])
def test_a_compressed_raw_disk_or_fixed_vhd_streams_in_order(name: str, kind: str, packed: dict[tuple[str, str], Path],
                                                             test_images: TestImages, tmp_path: Path,
                                                             no_temporary_files: Path) -> None:
    expected = fingerprint(open_image(test_images["raw"]))
    with open_source(str(packed[(name, kind)]), "raw" if name == "raw" else None) as image:
        assert isinstance(image, StreamImage)
        assert (image.format, image.variant) == (("raw", "raw") if name == "raw" else ("vhd", "fixed"))
        assert image.virtual_size == SIZE and image.kind.endswith(f"{kind}-compressed")
        learned = image.content.learned
        # xz: the index (and the last block, to see a footer); the others: one counting pass.
        if kind == "xz":
            assert learned == ("the xz index" if name == "raw" else "the xz index and its last block"), learned
        else:
            assert learned.startswith("a counting pass"), learned
        assert converted(image, tmp_path / "out.vhd") == expected
        assert image.published.passes == (1 if kind == "xz" else 2) + 1  # + the head that detection read
    check_disk(tmp_path / "out.vhd", test_images, name)


@pytest.mark.parametrize("kind", list(COMPRESSORS))
@pytest.mark.parametrize("name", RANDOM)
def test_a_compressed_random_access_format_goes_through_a_sparse_unnamed_temporary_file(
        name: str, kind: str, packed: dict[tuple[str, str], Path], test_images: TestImages, tmp_path: Path,
        no_temporary_files: Path) -> None:
    with open_source(str(packed[(name, kind)])) as image:
        assert isinstance(image, SpooledImage)
        assert image.virtual_size == SIZE and image.path == str(packed[(name, kind)])
        # The temporary file has no name, and holds only the image file's non-zero 4 KiB blocks.
        assert list(no_temporary_files.iterdir()) == []
        stored = os.fstat(image.image.file.fd).st_blocks * 512
        assert stored <= image.spooled_bytes + 64 * 1024 < os.path.getsize(test_images[name]) + 64 * 1024
        assert converted(image, tmp_path / "out.vhd") == fingerprint(open_image(test_images["raw"]))
    check_disk(tmp_path / "out.vhd", test_images, name)


def test_compressed_content_that_is_no_format_is_not_taken_for_a_raw_disk(packed: dict[tuple[str, str], Path]) -> None:
    path = packed[("raw", "gzip")]
    with pytest.raises(UnsupportedImageError) as caught:
        open_source(str(path))
    message = str(caught.value)
    assert ONE_LINE.match(message) and message.startswith(f"image {path} is gzip-compressed")
    assert message.endswith("if it is one, give --format raw."), message
    with open_source(str(path), "raw") as image:
        assert image.format == "raw"


def test_compression_is_detected_by_magic_not_by_name_and_can_be_overridden(packed: dict[tuple[str, str], Path],
                                                                            tmp_path: Path) -> None:
    renamed = tmp_path / "disk.img"
    shutil.copyfile(packed[("vhd-fixed", "zstd")], renamed)
    with open_source(str(renamed)) as image:
        assert image.kind == "vhd (fixed), zstd-compressed"
    with open_source(str(renamed), compression="none") as image:  # taken as it is: a raw disk of those bytes
        assert image.format == "raw" and image.virtual_size == renamed.stat().st_size
    with pytest.raises(InputError, match=r"^--compression 'lz4' is not a compression this tool reads; give one of "):
        open_source(str(renamed), compression="lz4")


@pytest.mark.parametrize("kind", list(COMPRESSORS))
def test_truncated_and_corrupt_streams_are_refused_in_one_line(kind: str, packed: dict[tuple[str, str], Path],
                                                               tmp_path: Path) -> None:
    whole = packed[("vhd-fixed", kind)].read_bytes()
    cut = tmp_path / f"cut{kind}"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    with pytest.raises(CorruptImageError) as caught, open_source(str(cut)) as image:
        converted(image, tmp_path / "out.vhd")
    assert ONE_LINE.match(str(caught.value)), caught.value
    assert re.search(rf"image {cut} is not a valid {kind} file: .*(truncated|ends|Compressed file ended)",
                     str(caught.value)), caught.value
    assert not (tmp_path / "out.vhd").exists()

    damaged = bytearray(whole)
    middle = len(damaged) // 2
    damaged[middle : middle + 64] = bytes(b ^ 0x5A for b in damaged[middle : middle + 64])
    bad = tmp_path / f"bad{kind}"
    bad.write_bytes(bytes(damaged))
    with pytest.raises(CorruptImageError) as caught, open_source(str(bad)) as image:
        converted(image, tmp_path / "out.vhd")
    assert ONE_LINE.match(str(caught.value)), caught.value
    assert str(caught.value).startswith(f"image {bad} ") and "copy it again" in str(caught.value), caught.value
    assert not (tmp_path / "out.vhd").exists()


def test_trailing_garbage_is_refused_and_concatenated_streams_are_read(test_images: TestImages,
                                                                         tmp_path: Path) -> None:
    raw = test_images.raw
    half = len(raw) // 2
    joined = tmp_path / "joined.gz"
    joined.write_bytes(gzip.compress(raw[:half]) + gzip.compress(raw[half:]))  # what pigz --independent... writes
    with open_source(str(joined), "raw") as image:
        assert converted(image, tmp_path / "out.vhd") == fingerprint(open_image(test_images["raw"]))
    padded = tmp_path / "padded.xz"
    padded.write_bytes(lzma.compress(raw) + bytes(8))  # xz's stream padding
    with open_source(str(padded), "raw") as image:
        assert image.virtual_size == SIZE
        converted(image, tmp_path / "out.vhd")
    trailing = tmp_path / "trailing.bz2"
    trailing.write_bytes(bz2.compress(raw) + b"garbage!")
    with pytest.raises(CorruptImageError, match=r"followed by bytes that are not another stream \(trailing data\)"):
        open_source(str(trailing), "raw")


def _footer_with(footer: bytes, offset: int, value: bytes) -> bytes:
    """A VHD footer with `value` at `offset` and its checksum fixed (the spec's: the one's complement of the byte
    sum, checksum field left out)."""
    changed = footer[:offset] + value + footer[offset + len(value) :]
    changed = changed[:64] + bytes(4) + changed[68:]
    return changed[:64] + (~sum(changed) & 0xFFFFFFFF).to_bytes(4, "big") + changed[68:]


# A fixed VHD's footer changed at (byte, new bytes), checksum fixed: no longer the footer of a fixed VHD of its data.
FOOTER_FAULTS = {
    "differencing": (60, (4).to_bytes(4, "big")),
    "dynamic without its footer copy": (60, (3).to_bytes(4, "big")),
    "an unknown disk type": (60, (7).to_bytes(4, "big")),
    "a size of no whole sectors": (48, (SIZE + 1).to_bytes(8, "big")),
    "a size the data does not fill": (48, (SIZE + PAGE).to_bytes(8, "big")),
}


@pytest.mark.parametrize("case", list(FOOTER_FAULTS))
def test_a_stream_ending_in_a_footer_that_is_no_fixed_vhd_is_refused_as_the_file_is(
        case: str, test_images: TestImages, tmp_path: Path) -> None:
    data = test_images["vhd-fixed"].read_bytes()
    damaged = tmp_path / "disk.vhd"
    damaged.write_bytes(data[:-PAGE] + _footer_with(data[-PAGE:], *FOOTER_FAULTS[case]))
    packed = tmp_path / "disk.vhd.gz"
    packed.write_bytes(gzip.compress(damaged.read_bytes(), compresslevel=1))
    with pytest.raises(ImageError) as as_file:
        open_image(damaged)
    with pytest.raises(ImageError) as as_stream:
        open_source(str(packed))
    assert ONE_LINE.match(str(as_stream.value)) and type(as_stream.value) is type(as_file.value), case
    assert str(as_stream.value) == str(as_file.value).replace(str(damaged), str(packed)), case


def test_foreign_compressions_and_archives_are_refused_naming_the_way_out(test_images: TestImages,
                                                                         tmp_path: Path) -> None:
    lz4 = tmp_path / "disk.raw.lz4"
    lz4.write_bytes(b"\x04\x22\x4d\x18" + bytes(4096))
    with pytest.raises(UnsupportedImageError, match=r"holds lz4-compressed data, which this tool does not read as "
                                                    r"a disk image; decompress it first \(lz4 -d\), or give --format "
                                                    r"raw"):
        open_source(str(lz4))
    tarred = tmp_path / "disk.tar.gz"
    subprocess.run(["tar", "-czf", str(tarred), "-C", str(test_images["raw"].parent), test_images["raw"].name],
                   check=True)
    with pytest.raises(UnsupportedImageError, match=r"is gzip-compressed and holds a tar archive .*\(tar -x\)"):
        open_source(str(tarred))


# --- bounds ------------------------------------------------------------------------------------------------------


class _Bytes:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def read(self, size: int) -> bytes:
        chunk = self.data[self.pos : self.pos + size]
        self.pos += len(chunk)
        return chunk


def test_a_decompression_bomb_stops_at_the_cap_with_bounded_reads() -> None:
    bomb = gzip.compress(bytes(64 * MiB), compresslevel=9)  # 64 MiB of zeros in about 64 KiB
    stream = Decompressed(_Bytes(bomb), "gzip", "bomb.gz", limit=16 * MiB)
    largest = 0
    with pytest.raises(CorruptImageError, match=r"^image bomb.gz is refused: it decompresses to more than 16777216 "):
        while data := stream.read():
            largest = max(largest, len(data))
    assert largest <= compressed_module.READ and stream.produced <= 16 * MiB + compressed_module.READ


def test_decoders_that_need_too_much_memory_are_refused(tmp_path: Path) -> None:
    big_dictionary = lzma.compress(b"x" * 4096, format=lzma.FORMAT_XZ, filters=[
        {"id": lzma.FILTER_LZMA2, "dict_size": 1 << 30, "mf": lzma.MF_HC3, "nice_len": 8}])
    stream = Decompressed(_Bytes(big_dictionary), "xz", "big.xz", limit=1 << 40)
    with pytest.raises(CorruptImageError, match=r"needs more than 256 MiB of memory to decompress"):
        stream.read()
    window = subprocess.run([tool("zstd"), "-q", "--long=30", "--no-content-size", "-c", "-"], input=os.urandom(4096),
                            capture_output=True, check=True).stdout
    stream = Decompressed(_Bytes(window), "zstd", "big.zst", limit=1 << 40)
    with pytest.raises(CorruptImageError, match=r"needs a window larger than 256 MiB"):
        stream.read()


def test_a_stream_longer_or_shorter_than_its_index_says_is_refused(test_images: TestImages, tmp_path: Path) -> None:
    path = tmp_path / "disk.raw.xz"
    path.write_bytes(lzma.compress(test_images.raw))
    with open_source(str(path), "raw") as image:
        assert isinstance(image, StreamImage)
        image.content = Content(SIZE - PAGE, b"", "a lie")  # as if the index had said less
        image.virtual_size = SIZE - PAGE
        with pytest.raises(CorruptImageError, match=r"holds more than the 5243904 bytes it was found to hold"):
            converted(image, tmp_path / "out.vhd")
        image.content = Content(SIZE + PAGE, b"", "a lie")
        image.virtual_size = SIZE + PAGE
        with pytest.raises(CorruptImageError, match=r"ends after 5244416 bytes, before the 5244928"):
            converted(image, tmp_path / "out.vhd")
    assert not (tmp_path / "out.vhd").exists()


# --- checksums ---------------------------------------------------------------------------------------------------


def test_the_checksum_of_the_published_bytes_is_checked_before_the_last_window(packed: dict[tuple[str, str], Path],
                                                                              tmp_path: Path) -> None:
    path = packed[("vhd-fixed", "xz")]
    good = hashlib.sha256(path.read_bytes()).hexdigest()
    with open_source(str(path), sha256=f"sha256:{good.upper()}") as image:
        converted(image, tmp_path / "out.vhd")
        assert image.checksum == good
    wrong = "0" * 64
    with pytest.raises(ChecksumMismatchError) as caught, open_source(str(path), sha256=wrong) as image:
        converted(image, tmp_path / "other.vhd")
    assert str(caught.value).startswith(f"image {path} does not have the SHA-256 that was given: expected {wrong}, "
                                        f"found {good} over its {path.stat().st_size} published bytes")
    assert not (tmp_path / "other.vhd").exists()
    with pytest.raises(InputError, match=r"^--sha256 'abc' is not a SHA-256; give its 64 hexadecimal digits"):
        open_source(str(path), sha256="abc")


def test_a_spooled_image_is_opened_only_after_its_checksum_matched(packed: dict[tuple[str, str], Path],
                                                                  no_temporary_files: Path) -> None:
    with pytest.raises(ChecksumMismatchError, match=r"expected f{64}"):
        open_source(str(packed[("qcow2", "gzip")]), sha256="f" * 64)


def test_a_compressed_file_is_unchanged_until_it_is_written_even_with_its_modification_time_put_back(
        packed: dict[tuple[str, str], Path], tmp_path: Path) -> None:
    """A stream's stamp holds its compression, its file's stamp and the disk; unchanged() follows the file's."""
    path = tmp_path / "raw.xz"
    shutil.copyfile(packed[("raw", "xz")], path)
    with open_source(str(path), "raw") as image:
        info = os.stat(path)
        assert image.stamp() == (f"xz|file|{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}|raw|"
                                 f"{SIZE}")
        assert image.unchanged()
        rewrite_in_place(path)
        assert not image.unchanged()


def test_an_uncompressed_local_file_is_checked_whole_before_it_is_read_in_place(test_images: TestImages) -> None:
    good = hashlib.sha256(test_images["qcow2"].read_bytes()).hexdigest()
    with open_source(str(test_images["qcow2"]), sha256=good) as image:
        assert image.format == "qcow2"
    with pytest.raises(ChecksumMismatchError, match=f"found {good}"):
        open_source(str(test_images["qcow2"]), sha256="1" * 64)


# --- from a web server ---------------------------------------------------------------------------------------


@pytest.fixture
def served(packed: dict[tuple[str, str], Path], test_images: TestImages, tmp_path: Path) -> Path:
    root = tmp_path / "www"
    root.mkdir()
    for (name, kind), path in packed.items():
        shutil.copyfile(path, root / f"{name}.{kind}")
    for name in ["raw", "vhd-fixed", "qcow2"]:
        shutil.copyfile(test_images[name], root / name)
    return root


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web_module, "_BACKOFF", (0.01,))


@pytest.mark.parametrize("ranges", [True, False], ids=["ranges", "no-ranges"])
@pytest.mark.parametrize("what", ["vhd-fixed.xz", "vhd-fixed.gzip", "vhd-fixed", "raw.zstd", "qcow2.bzip2", "qcow2"])
def test_an_image_url_is_read_with_and_without_range_support(what: str, ranges: bool, served: Path,
                                                             test_images: TestImages, tmp_path: Path,
                                                             no_temporary_files: Path) -> None:
    name = what.split(".")[0]
    good = hashlib.sha256((served / what).read_bytes()).hexdigest()
    with WebServer(served, ranges=ranges) as server, \
            open_source(server.url(what), "raw" if name == "raw" else None, sha256=good) as image:
        expected = SpooledImage if name == "qcow2" else StreamImage
        assert isinstance(image, expected) and image.virtual_size == SIZE
        if isinstance(image, StreamImage):
            learned = image.content.learned
            if what == "vhd-fixed" and ranges:
                assert learned == "its size, and a read of its last 512 bytes", learned
            elif what == "vhd-fixed.xz" and ranges:
                assert learned == "the xz index and its last block", learned
            else:
                assert learned.startswith("a counting pass"), learned
        converted(image, tmp_path / "out.vhd")
        assert image.checksum == good
    check_disk(tmp_path / "out.vhd", test_images, name)
    assert all(s.status in (200, 206) for s in server.served)
    if not ranges:
        assert all(s.status == 200 for s in server.served)


@pytest.mark.parametrize("ranges", [True, False], ids=["ranges", "no-ranges"])
def test_a_dropped_connection_is_resumed_where_it_broke(ranges: bool, served: Path, test_images: TestImages,
                                                        tmp_path: Path) -> None:
    what = "vhd-fixed"  # uncompressed: 6 MiB through one GET
    size = (served / what).stat().st_size
    with WebServer(served, ranges=ranges) as server:
        with open_source(server.url(what), "vhd") as image:
            before = len(server.served)  # the probe (and, without ranges, the counting pass)
            server.faults.drop_after, server.faults.drops = 2 * MiB, 2
            converted(image, tmp_path / "out.vhd")
        gets = server.served[before:]
        if ranges:  # the two broken answers were resumed from where they broke: nothing was fetched twice
            assert [s.range for s in gets] == [None, f"bytes={2 * MiB}-", f"bytes={4 * MiB}-"], gets
            assert sum(s.sent for s in gets) == size
        else:  # without ranges, the file is fetched again from its start, and what was read is skipped
            assert [s.status for s in gets] == [200, 200, 200] and sum(s.sent for s in gets) == size + 4 * MiB
    check_disk(tmp_path / "out.vhd", test_images, "vhd-fixed")


def test_a_server_that_keeps_dropping_fails_in_one_line_after_the_retries(served: Path, tmp_path: Path) -> None:
    with WebServer(served, ranges=True) as server, pytest.raises(ImageDownloadError) as caught, \
            open_source(server.url("vhd-fixed"), "vhd") as image:
        # Answers broken after 1 MiB each still make progress, so they are resumed to the end...
        server.faults.drop_after, server.faults.drops = 1 * MiB, 3
        converted(image, tmp_path / "first.vhd")
        # ...but a server that never sends another byte is given up after the retries.
        server.faults.drop_after, server.faults.drops = 0, None
        converted(image, tmp_path / "out.vhd")
    message = str(caught.value)
    assert ONE_LINE.match(message) and re.match(
        rf"^image http://127\.0\.0\.1:{server.port}/vhd-fixed could not be read at byte 0: .*\(5 retries did not "
        r"help\); check the network and the server, then run again\.$", message), message
    assert not (tmp_path / "out.vhd").exists()


def test_a_server_that_sends_less_than_it_announced_is_a_broken_answer(served: Path, tmp_path: Path) -> None:
    with WebServer(served, ranges=False) as server:
        server.faults.short_by = 1000
        size = (served / "vhd-fixed").stat().st_size
        with pytest.raises(ImageDownloadError, match=rf"could not be read at byte {size}: the answer broke off after "
                                                     rf"byte {size} .*IncompleteRead.* \(5 retries did not help\)"):
            open_source(server.url("vhd-fixed"), "vhd")


def test_urls_are_refused_or_shown_without_credentials_and_query(served: Path) -> None:
    with pytest.raises(InputError, match=r"^source http://example\.com/disk\.vhd\.xz\?<query hidden> is plain http to "
                                         r"another machine, .*give its https:// URL"):
        open_source("http://user:secret@example.com/disk.vhd.xz?sig=SECRET")
    with WebServer(served) as server:
        url = server.url("missing.xz", query="sv=2024&sig=SECRETSIG", userinfo="alice:SECRETPW")
        with pytest.raises(ImageDownloadError) as caught:
            open_source(url)
        message = str(caught.value)
        assert message == (f"image http://127.0.0.1:{server.port}/missing.xz?<query hidden> could not be fetched: the "
                           "server answered 404 Not Found; check the URL.")
        assert "SECRET" not in message and "alice" not in message
        # The credentials went to the URL's own host, as Basic auth, with the query.
        (request,) = server.served
        assert request.headers.get("Authorization", "").startswith("Basic ") and "sig=SECRETSIG" in request.path
        server.faults.redirect = "http://192.0.2.1/elsewhere.xz"
        with pytest.raises(ImageDownloadError, match=r"redirects to http://192\.0\.2\.1/elsewhere\.xz, which is "
                                                     r"refused: .*plain http to another machine"):
            open_source(server.url("vhd-fixed.xz"))
        server.faults.redirect = None
        server.faults.encoding = "gzip"
        with pytest.raises(ImageDownloadError, match=r"was sent with Content-Encoding gzip although this tool asked "
                                                     r"for the file's own bytes"):
            open_source(server.url("vhd-fixed.xz"))


def test_a_file_that_changes_on_the_server_between_requests_is_refused(served: Path, tmp_path: Path) -> None:
    with WebServer(served, ranges=True) as server, open_source(server.url("vhd-fixed.xz")) as image:
        path = served / "vhd-fixed.xz"
        os.utime(path, ns=(1, 1))  # another ETag from now on
        with pytest.raises(ImageDownloadError, match=r"changed on the server while it was being read \(412"):
            converted(image, tmp_path / "out.vhd")
