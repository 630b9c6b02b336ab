"""Compressed images and image URLs uploaded as fixed VHD page blobs on a real Azurite: the blob checked by
qemu-img on a sparse download, page ranges only where data is, no file larger than 64 MiB written while the
command runs (RLIMIT_FSIZE), checksums, a server that drops the connection, and the re-run that resumes."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from tests.conftest import run_wide, shared_images, via
from tests.faultproxy import FaultProxy, stored
from tests.images import PAGE, STACK_PAGE, MiB, TestImages, nonzero_pages, qemu_img
from tests.test_image_cli import clean_env, command, through
from tests.test_sources import COMPRESSORS, compress
from tests.test_upload import download_sparse, page_ranges
from tests.webserver import WebServer
from vhdcore.azure.upload import upload_image
from vhdcore.errors import ChecksumMismatchError, ImageDownloadError, ImageError
from vhdcore.format.report import DiskReport
from vhdcore.sources import open_source
from vhdcore.sources import web as web_module

BIG = 200 * MiB  # larger than the 64 MiB any file may grow to while an upload runs
FILE_LIMIT = 64 * MiB
BLOB = "disk.vhd"
# First and last sectors, and runs scattered over the disk (some unaligned, one across a 4 MiB window).
LAYOUT = [(0, PAGE), (3 * MiB + 100, 70_000), (4 * MiB - 2048, 8192), (57 * MiB, 1 * MiB), (128 * MiB + 7, 1),
          (150 * MiB, 300 * 1024), (BIG - PAGE, PAGE)]


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> TestImages:
    """A 200 MiB disk (raw, and qemu-img's fixed VHD and qcow2 of it) with the data of LAYOUT, made once per run for
    every test worker."""
    return shared_images(tmp_path_factory, "big", size=BIG, layout=LAYOUT, names=["vhd-fixed", "qcow2"])


@pytest.fixture(scope="module")
def big_packed(big: TestImages, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Each of them compressed each way, once per run for every test worker (xz of 200 MiB takes seconds)."""
    made = {}
    with run_wide(tmp_path_factory, "big-packed") as (folder, done):
        for name in ["raw", "vhd-fixed", "qcow2"]:
            copy = folder / big[name].name
            if not done:
                shutil.copyfile(big[name], copy)
            for kind in COMPRESSORS if name != "qcow2" else ["xz"]:
                made[(name, kind)] = Path(f"{copy}{COMPRESSORS[kind][1]}") if done else compress(copy, kind)
            copy.unlink(missing_ok=True)
    return made


def is_disk(service: BlobServiceClient, container: str) -> bool | None:
    """None: no blob; else whether it ends in a valid footer of a BIG disk (the only part read)."""
    found = stored(service, container, BLOB, max_bytes=0)
    if found is None:
        return None
    if found.length != BIG + PAGE:
        return False
    tail = service.get_blob_client(container, BLOB).download_blob(offset=BIG, length=PAGE).readall()
    return DiskReport.from_tail(tail, BIG + PAGE).azure_ready


def limited(max_bytes: int, args: list[str | Path]) -> list[str | Path]:
    """`args` run with no file allowed past `max_bytes`: a small Python sets the limit and execs them. Not a
    preexec_fn: the test process may hold grpc (from the Pulumi tests before), whose fork handlers abort a child
    forked from it that runs Python before its exec (seen: SIGABRT, "epoll_wait error: Bad file descriptor")."""
    return [sys.executable, "-c", "import os, resource, sys; n = int(sys.argv[1]); "
            "resource.setrlimit(resource.RLIMIT_FSIZE, (n, n)); os.execvp(sys.argv[2], sys.argv[2:])",
            str(max_bytes), *args]


def run_limited(args: list[str | Path], env: dict[str, str], tmp: Path) -> subprocess.CompletedProcess[str]:
    """A command with no file allowed past FILE_LIMIT bytes (the kernel stops a write past it: SIGXFSZ, EFBIG) and
    its temporary folder watched."""
    return subprocess.run(limited(FILE_LIMIT, args), capture_output=True, text=True, timeout=600,
                          env={**clean_env(env), "TMPDIR": str(tmp)}, cwd=Path(__file__).resolve().parent.parent)


def check_blob(service: BlobServiceClient, container: str, images: TestImages, source: str, size: int,
               tmp_path: Path) -> None:
    """Length, footer, page ranges exactly the data's 4 KiB pages and the footer, and every byte (qemu-img)."""
    raw = images.raw
    expected: list[tuple[int, int]] = []
    for start, end in [*nonzero_pages(raw, STACK_PAGE), (size, size + PAGE)]:  # merged as page_ranges merges
        if expected and expected[-1][1] == start:
            expected[-1] = (expected[-1][0], end)
        else:
            expected.append((start, end))
    assert page_ranges(service, container) == expected
    local = download_sparse(service, container, tmp_path / "downloaded.vhd")
    assert local.stat().st_size == size + PAGE
    with open(local, "rb") as fh:
        fh.seek(size)
        report = DiskReport.from_tail(fh.read(PAGE), size + PAGE)
    assert report.azure_ready, report.problems
    # qemu sizes a VHD by its CHS geometry unless told to use current_size (a 200 MiB disk reads as 199.8 MiB).
    first = {"raw": "driver=raw", "vhd-fixed": "driver=vpc,force_size_calc=current_size", "qcow2": "driver=qcow2"}
    qemu_img("compare", "--image-opts", f"{first[source]},file.driver=file,file.filename={images[source]}",
             f"driver=vpc,force_size_calc=current_size,file.driver=file,file.filename={local}")


# --- compressed files, through the command line ----------------------------------------------------------------


def test_the_file_size_limit_stops_a_full_size_decompression(big_packed: dict[tuple[str, str], Path],
                                                            tmp_path: Path) -> None:
    """The control: what the guides do (decompress to a file) is stopped by the same limit the uploads run under."""
    out = tmp_path / "full.vhd"
    with open(out, "wb") as sink:
        run = subprocess.run(limited(FILE_LIMIT, ["xz", "-dc", str(big_packed[("vhd-fixed", "xz")])]), stdout=sink,
                             timeout=120)
    assert run.returncode != 0 and out.stat().st_size <= FILE_LIMIT  # SIGXFSZ, or EFBIG: "File too large"


@pytest.mark.parametrize("kind", list(COMPRESSORS))
@pytest.mark.parametrize("name", ["raw", "vhd-fixed"])
def test_a_compressed_image_uploads_in_one_pass_with_no_file_over_64_mib(
        name: str, kind: str, big: TestImages, big_packed: dict[tuple[str, str], Path], proxy: FaultProxy,
        service: BlobServiceClient, container: str, tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    args: list[str | Path] = [*command("blob", "upload", big_packed[(name, kind)], "-c", container, "-n", BLOB,
                                       "-o", "json")]
    if name == "raw":
        args += ["--format", "raw"]
    run = run_limited(args, through(proxy), tmp)
    assert run.returncode == 0, run.stderr
    assert list(tmp.iterdir()) == []
    doc = json.loads(run.stdout)
    assert (doc["size"], doc["blob_length"], doc["compression"]) == (BIG, BIG + PAGE, kind)
    assert doc["route"] == "a stream, in order (nothing stored locally)"
    data = sum(end - start for start, end in nonzero_pages(big.raw, STACK_PAGE))
    assert doc["bytes_sent"] == data + PAGE  # only the data, then the footer
    assert doc["bytes_read"] <= 3 * big_packed[(name, kind)].stat().st_size  # the compressed bytes, per pass
    check_blob(service, container, big, name, BIG, tmp_path)


def test_a_compressed_qcow2_uploads_through_a_sparse_temporary_file(big: TestImages,
                                                                    big_packed: dict[tuple[str, str], Path],
                                                                    proxy: FaultProxy, service: BlobServiceClient,
                                                                    container: str, tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    run = run_limited([*command("blob", "upload", big_packed[("qcow2", "xz")], "-c", container, "-n", BLOB,
                                "-o", "json")], through(proxy), tmp)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["route"].startswith("a sparse temporary file of its data") and doc["image_format"] == "qcow2"
    assert doc["spooled_bytes"] <= big["qcow2"].stat().st_size and list(tmp.iterdir()) == []
    check_blob(service, container, big, "qcow2", BIG, tmp_path)


# --- from a web server -------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web_module, "_BACKOFF", (0.01,))


@pytest.fixture
def www(big_packed: dict[tuple[str, str], Path], tmp_path: Path) -> Path:
    root = tmp_path / "www"
    root.mkdir()
    for (name, kind), path in big_packed.items():
        shutil.copyfile(path, root / f"{name}.{kind}")
    return root


@pytest.fixture(scope="module")
def blocks_xz(big: TestImages, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixed VHD as a multi-block xz (as xz -T0 and pixz write): its index gives the size, its last block the
    footer, so no counting pass is needed and the data goes out before the checksum can be known."""
    with run_wide(tmp_path_factory, "blocks-xz") as (folder, done):
        made = folder / "vhd-fixed.blocks.xz"
        if not done:
            with open(made, "wb") as out:
                subprocess.run(["xz", "-c", "-T1", "--block-size=16MiB", str(big["vhd-fixed"])], stdout=out,
                               check=True, timeout=300)
    return made


@pytest.mark.parametrize("ranges", [True, False], ids=["ranges", "no-ranges"])
def test_an_image_url_uploads_with_the_right_checksum_and_leaves_no_disk_with_a_wrong_one(
        ranges: bool, www: Path, blocks_xz: Path, big: TestImages, proxy: FaultProxy, service: BlobServiceClient,
        container: str, tmp_path: Path) -> None:
    shutil.copyfile(blocks_xz, www / "vhd-fixed.xz")
    published = (www / "vhd-fixed.xz").read_bytes()
    good = hashlib.sha256(published).hexdigest()
    wrong = hashlib.sha256(b"another release").hexdigest()
    with WebServer(www, ranges=ranges) as server:
        url = server.url("vhd-fixed.xz", query="sig=SECRET")
        run = subprocess.run(command("blob", "upload", url, "-c", container, "-n", BLOB, "--sha256", wrong),
                             capture_output=True, text=True, timeout=600, env=clean_env(through(proxy)))
        assert run.returncode != 0 and run.stdout == ""
        error = run.stderr.strip()
        assert "\n" not in error and "SECRET" not in error, error
        assert f"does not have the SHA-256 that was given: expected {wrong}, found {good}" in error, error
        # No valid disk: with ranges the size came from the xz index and the data was sent before the checksum
        # could be known, so an unfinished blob (no footer) is left; without, the counting pass refused first.
        if ranges:
            assert is_disk(service, container) is False and "stopped before its footer" in error
            # The user named the blob: it is kept for the corrected run, and the error says how to remove it instead.
            assert "was left for a resume: run the same upload again once the source is right" in error, error
            assert f"or delete it with `vhdcore blob delete -c {container} -n {BLOB} --unique-id " in error, error
        else:
            assert is_disk(service, container) is None
        run = subprocess.run(command("blob", "upload", url, "-c", container, "-n", BLOB, "--sha256", good, "-o",
                                     "json"), capture_output=True, text=True, timeout=600,
                             env=clean_env(through(proxy)))
        assert run.returncode == 0, run.stderr
        doc = json.loads(run.stdout)
        assert doc["sha256"] == good and doc["source"] == f"http://127.0.0.1:{server.port}/vhd-fixed.xz?<query hidden>"
        assert doc["resumed"] is ranges  # the unfinished blob's pages were read back, compared, and kept
    check_blob(service, container, big, "vhd-fixed", BIG, tmp_path)


@pytest.mark.parametrize("ranges", [True, False], ids=["ranges", "no-ranges"])
def test_a_server_that_drops_the_connection_midway_then_the_re_run_resumes(
        ranges: bool, www: Path, big: TestImages, proxy: FaultProxy, service: BlobServiceClient, container: str,
        tmp_path: Path) -> None:
    what = "vhd-fixed.gzip"
    good = hashlib.sha256((www / what).read_bytes()).hexdigest()
    size = (www / what).stat().st_size
    data = sum(end - start for start, end in nonzero_pages(big.raw, STACK_PAGE))
    with WebServer(www, ranges=ranges) as server:
        url = server.url(what)
        with open_source(url, sha256=good) as image:  # the probe and the counting pass (gzip holds no size)
            server.faults.wall = size * 3 // 4  # from now on nothing past three quarters of the file is served
            with pytest.raises(ImageDownloadError) as caught:
                upload_image(via(proxy), image, container=container, name=BLOB)
        message = str(caught.value)
        assert "\n" not in message and "retries did not help" in message and "stopped before its footer" in message
        assert is_disk(service, container) is False
        kept = sum(end - start for start, end in page_ranges(service, container))
        assert 0 < kept < data  # some of the data made it before the server stopped
        server.faults.wall = None
        with open_source(url, sha256=good) as image:
            done = upload_image(via(proxy), image, container=container, name=BLOB)
        assert done.resumed and done.bytes_sent == data - kept + PAGE  # only what was missing, then the footer
    check_blob(service, container, big, "vhd-fixed", BIG, tmp_path)


def test_a_truncated_stream_is_refused_in_one_line_and_leaves_no_disk(big_packed: dict[tuple[str, str], Path],
                                                                      proxy: FaultProxy, service: BlobServiceClient,
                                                                      container: str, tmp_path: Path) -> None:
    whole = big_packed[("vhd-fixed", "xz")].read_bytes()
    cut = tmp_path / "cut.vhd.xz"
    cut.write_bytes(whole[: len(whole) - 4096])  # the index and the end of the last block are gone
    run = subprocess.run(command("blob", "upload", cut, "-c", container, "-n", BLOB), capture_output=True, text=True,
                         timeout=600, env=clean_env(through(proxy)))
    assert run.returncode == 2 and run.stdout == ""
    error = run.stderr.strip()
    assert "\n" not in error and error.startswith(f"vhdcore: error: image {cut} is not a valid xz file: "), error
    assert is_disk(service, container) is None  # the counting pass found it before anything was written


def test_an_image_error_at_the_end_of_a_stream_names_the_unfinished_blob(blocks_xz: Path, proxy: FaultProxy,
                                                                         service: BlobServiceClient,
                                                                         container: str) -> None:
    with open_source(str(blocks_xz), sha256="0" * 64) as image, \
            pytest.raises(ChecksumMismatchError) as caught:
        upload_image(via(proxy), image, container=container, name=BLOB)
    message = str(caught.value)
    assert isinstance(caught.value, ImageError) and "\n" not in message
    assert "; the upload to " in message and "stopped before its footer, so that blob is no disk" in message
    assert is_disk(service, container) is False
