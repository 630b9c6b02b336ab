"""`vhdcore convert` and `vhdcore blob upload` as a user runs them: subprocesses against Azurite through the
counting proxy, their exit codes and output, a progress bar only on a terminal, and an upload killed with
SIGKILL in the middle, then finished by the same command."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient
from azurite_server import ACCOUNT, ACCOUNT_KEY

from tests.faultproxy import Fault, FaultProxy, stored
from tests.images import PAGE, SIZE, STACK_PAGE, MiB, TestImages, nonzero_pages, qemu_img
from tests.test_upload import ROUNDED, holds_image, is_valid_disk, page_ranges

ROOT = Path(__file__).resolve().parent.parent
BLOB = "disk.vhd"


def command(*args: str | Path, env: dict[str, str] | None = None) -> list[str]:
    return [sys.executable, "-m", "vhdcore", *map(str, args)]


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}, **(extra or {})}


def vhdcore(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(*args), capture_output=True, text=True, cwd=ROOT, env=clean_env(env), timeout=300)


def through(proxy: FaultProxy) -> dict[str, str]:
    return {"AZURE_STORAGE_CONNECTION_STRING": f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey="
                                               f"{ACCOUNT_KEY};BlobEndpoint={proxy.endpoint()};"}


def killed_at_third_write(proxy: FaultProxy, query: str, args: list[str | Path], env: dict[str, str]) -> None:
    """Run `vhdcore args` with the proxy holding its third data write (a PUT whose query matches `query`; it lands 3 s
    later, after the kill: a late write), and SIGKILL it there."""
    held = proxy.add(Fault("delay", method="PUT", query=query, nth=3, times=-1, delay=3.0))
    process = subprocess.Popen(command(*args), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while held.fired == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert held.fired == 1, "the upload never reached its third data write"
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL
    proxy.drain()


def data_bytes(test_images: TestImages) -> int:
    """What an upload sends before the footer: the 4 KiB pages that hold a non-zero byte."""
    return sum(end - start for start, end in nonzero_pages(test_images.raw, STACK_PAGE))


def test_upload_prints_the_disk_and_what_was_sent(test_images: TestImages, proxy: FaultProxy, container: str,
                                                  service: BlobServiceClient) -> None:
    run = vhdcore("blob", "upload", test_images["vmdk"], "-c", container, "-n", BLOB, "-o", "json",
                  env=through(proxy))
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert (doc["size"], doc["blob_length"], doc["image_format"], doc["image_size"]) == (ROUNDED, ROUNDED + PAGE,
                                                                                         "vmdk", SIZE)
    assert doc["bytes_sent"] == data_bytes(test_images) + PAGE == proxy.body_bytes
    assert doc["fingerprint"].startswith("sha256:") and doc["resumed"] is False
    # In the order -o tsv prints them as columns, which scripts rely on (new fields only ever go last).
    assert list(doc) == ["url", "container", "name", "size", "blob_length", "unique_id", "etag", "fingerprint",
                         "image_format", "image_size", "data_bytes", "bytes_sent", "resumed", "already_complete",
                         "verified", "warnings", "source", "compression", "route", "size_learned_from", "sha256",
                         "bytes_read", "spooled_bytes"]
    # Not a terminal: no progress bar, only the note about rounding, as one line.
    assert run.stderr == ("vhdcore: note: the image's 5244416-byte disk is not a whole number of MiB, which Azure "
                          "requires, so it becomes a 6291456-byte fixed VHD (rounded up; the 1047040 bytes added "
                          "read as zeros).\n")
    assert holds_image(service, container, test_images.raw)
    again = vhdcore("blob", "upload", test_images["vmdk"], "-c", container, "-n", BLOB, env=through(proxy))
    assert again.returncode == 0 and again.stdout.startswith(f"{doc['url']} already holds ") and \
        again.stdout.rstrip().endswith("nothing was sent")


@pytest.mark.parametrize(("make", "pattern"), [
    ("compressed", r"^vhdcore: error: image \S+ is a compressed qcow2 .* without -c\.$"),
    ("missing", r"^vhdcore: error: cannot open image \S+: No such file or directory; check the path"),
    ("truncated", r"^vhdcore: error: image \S+ is truncated or corrupt"),
    ("wrong-format", r"^vhdcore: error: --format 'iso' is not a format this tool reads"),
    ("too-small", r"^vhdcore: error: --size 5242880 is smaller than the image's 5244416-byte disk"),
])
def test_a_bad_source_is_refused_in_one_line_before_any_request(make: str, pattern: str, test_images: TestImages,
                                                                proxy: FaultProxy, container: str,
                                                                tmp_path: Path) -> None:
    source, extra = tmp_path / "image.qcow2", []
    if make == "compressed":
        qemu_img("convert", "-c", "-f", "raw", "-O", "qcow2", test_images["raw"], source)
    elif make == "truncated":
        source.write_bytes(test_images["qcow2"].read_bytes()[: 256 * 1024])
    elif make == "wrong-format":
        source, extra = test_images["qcow2"], ["--format", "iso"]
    elif make == "too-small":
        source, extra = test_images["qcow2"], ["--size", "5MiB"]
    run = vhdcore("blob", "upload", source, "-c", container, "-n", BLOB, *extra, env=through(proxy))
    assert run.returncode == 2 and run.stdout == "", run
    assert run.stderr.count("\n") == 1 and re.search(pattern, run.stderr), run.stderr
    assert proxy.requests == 0


def test_convert_writes_a_sparse_fixed_vhd(test_images: TestImages, tmp_path: Path) -> None:
    dest = tmp_path / "out.vhd"
    run = vhdcore("convert", test_images["vhdx"], dest, "--size", "8MiB", "-o", "json")
    assert run.returncode == 0 and run.stderr == "", run
    doc = json.loads(run.stdout)
    assert (doc["size"], doc["file_size"], doc["image_format"]) == (8 * MiB, 8 * MiB + PAGE, "vhdx")
    assert doc["data_bytes"] == sum(end - start for start, end in nonzero_pages(test_images.raw))
    assert dest.read_bytes()[:SIZE] == test_images.raw
    shown = json.loads(vhdcore("inspect", dest, "-o", "json").stdout)
    assert shown["azure_ready"] is True and shown["current_size"] == 8 * MiB
    refused = vhdcore("convert", test_images["vhdx"], dest)
    assert refused.returncode == 2 and "already exists" in refused.stderr


def test_a_terminal_gets_a_progress_bar(test_images: TestImages, tmp_path: Path) -> None:
    """tqdm draws on stderr when it is a terminal: bytes, rate and time left."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # a new pty is 0 columns wide
    process = subprocess.Popen(command("convert", test_images["qcow2"], tmp_path / "out.vhd"), cwd=ROOT,
                               env=clean_env(), stdout=subprocess.PIPE, stderr=follower, text=True)
    os.close(follower)
    drawn = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        drawn += chunk
    assert process.wait(timeout=60) == 0
    text = drawn.decode(errors="replace")
    assert "converting" in text and "B/s" in text and "100%" in text, text


# --- killed in the middle, resumed by the same command -------------------------------------------------------


def test_an_upload_killed_mid_way_is_no_disk_and_the_same_command_finishes_it(
    test_images: TestImages, proxy: FaultProxy, container: str, service: BlobServiceClient, tmp_path: Path,
) -> None:
    args: list[str | Path] = ["blob", "upload", test_images["qcow2"], "-c", container, "-n", BLOB, "--max-connections",
                              "1"]
    killed_at_third_write(proxy, "^comp=page$", args, clean_env(through(proxy)))
    assert not is_valid_disk(service, container)  # killed before the footer: not a disk
    before = stored(service, container, BLOB)
    already = sum(end - start for start, end in page_ranges(service, container))
    assert 0 < already < data_bytes(test_images)
    proxy.clear()

    other = tmp_path / "other.raw"
    other.write_bytes(b"\x07" * SIZE)
    refused = vhdcore("blob", "upload", other, "-c", container, "-n", BLOB, env=through(proxy))
    # By its content: the first page on the blob is not what this other image holds there.
    assert refused.returncode == 1 and "but its page at offset 0 holds other bytes than image" in refused.stderr, \
        refused
    assert stored(service, container, BLOB) == before and proxy.body_bytes == 0
    proxy.clear()

    again = vhdcore(*args[:-2], "-o", "json", env=through(proxy))
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["resumed"] is True and doc["bytes_sent"] == proxy.body_bytes == data_bytes(test_images) - already + PAGE
    assert "resuming the unfinished upload" in again.stderr
    assert holds_image(service, container, test_images.raw)
    assert page_ranges(service, container) == [*nonzero_pages(test_images.raw, STACK_PAGE), (ROUNDED, ROUNDED + PAGE)]


# --- inspect understands every format -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["qcow2", "qcow2-v2", "vhd-dynamic", "vhdx", "vmdk", "vdi"])
def test_inspect_an_image_says_what_it_is_and_the_fixed_vhd_it_becomes(name: str, test_images: TestImages) -> None:
    run = vhdcore("inspect", test_images[name], "-o", "json")
    assert run.returncode == 0 and run.stderr == "", run
    doc = json.loads(run.stdout)
    assert list(doc) == ["image_format", "image_variant", "virtual_size", "file_size", "allocated_bytes", "extents",
                         "fixed_vhd_size", "azure_ready", "problems", "verdict", "upload_size_bytes"]
    # Smaller than the 20 MiB a managed disk for direct upload holds: the upload size is 20 MiB + 512.
    assert doc["upload_size_bytes"] == 20 * MiB + 512
    assert doc["verdict"].endswith("upload and convert make an Azure-ready fixed VHD of 0.00586 GiB (6291456 bytes)")
    assert (doc["virtual_size"], doc["fixed_vhd_size"], doc["azure_ready"], doc["problems"]) == (SIZE, ROUNDED, True,
                                                                                                 [])
    assert doc["file_size"] == test_images[name].stat().st_size and doc["allocated_bytes"] <= doc["file_size"]
    assert doc["image_format"] == name.split("-")[0]
    table = vhdcore("inspect", test_images[name])
    assert table.returncode == 0 and table.stdout.startswith(doc["verdict"] + "\n"), table.stdout
    assert re.search(r"^fixed_vhd_size\s+0.00586 GiB \(6291456 bytes\)$", table.stdout, re.M), table.stdout
    assert re.search(r"^upload_size_bytes\s+20972032 \(create the managed disk with this upload size\)$", table.stdout,
                     re.M), table.stdout


def test_inspect_a_refused_image_lists_why(tmp_path: Path, test_images: TestImages) -> None:
    compressed = tmp_path / "c.qcow2"
    qemu_img("convert", "-c", "-f", "raw", "-O", "qcow2", test_images["raw"], compressed)
    run = vhdcore("inspect", compressed, "-o", "json")
    doc = json.loads(run.stdout)
    assert run.returncode == 1 and doc["azure_ready"] is False and doc["image_format"] == "qcow2"
    assert len(doc["problems"]) == 1 and "is a compressed qcow2" in doc["problems"][0]
    assert doc["verdict"].startswith("qcow2 image, cannot become a fixed VHD: image ")


def test_inspect_a_vhd_or_raw_file_keeps_the_footer_report_and_appends_the_image(test_images: TestImages,
                                                                                tmp_path: Path) -> None:
    made = tmp_path / "blank.vhd"
    assert vhdcore("create", made, "--size", "4MiB").returncode == 0
    before = list(json.loads(vhdcore("inspect", made, "-o", "json").stdout))
    for path, ready in ((made, True), (test_images["vhd-fixed"], False), (test_images["raw"], False)):
        run = vhdcore("inspect", path, "-o", "json")
        doc = json.loads(run.stdout)
        assert run.returncode == (0 if ready else 1) and doc["azure_ready"] is ready
        assert list(doc)[: list(doc).index("problems") + 1] == before[: before.index("problems") + 1]
        assert list(doc)[-7:] == ["image_format", "image_variant", "virtual_size", "allocated_bytes",
                                  "fixed_vhd_size", "image_problems", "upload_size_bytes"]
        assert doc["upload_size_bytes"] == 20 * MiB + 512
    raw = json.loads(vhdcore("inspect", test_images["raw"], "-o", "json").stdout)
    assert (raw["image_format"], raw["virtual_size"], raw["fixed_vhd_size"]) == ("raw", SIZE, ROUNDED)
    forced = json.loads(vhdcore("inspect", test_images["qcow2"], "--format", "raw", "-o", "json").stdout)
    assert forced["image_format"] == "raw" and forced["virtual_size"] == test_images["qcow2"].stat().st_size


def test_inspect_says_the_upload_size_of_a_managed_disk_also_where_a_page_blob_cannot_hold_the_image(
        tmp_path: Path) -> None:
    # 9 TiB: more than a page blob holds (no fixed_vhd_size), within the 32 TiB of a managed disk.
    big = tmp_path / "big.raw"
    with big.open("wb") as f:
        f.truncate(9 * 2**40)
    doc = json.loads(vhdcore("inspect", big, "-o", "json").stdout)
    assert (doc["fixed_vhd_size"], doc["upload_size_bytes"]) == (None, 9 * 2**40 + 512), doc
    # 33 TiB (a qcow2's header says so): no managed disk holds it, and the table says why.
    huge = tmp_path / "huge.qcow2"
    qemu_img("create", "-f", "qcow2", huge, str(33 * 2**40))
    doc = json.loads(vhdcore("inspect", huge, "-o", "json").stdout)
    assert doc["upload_size_bytes"] is None
    table = vhdcore("inspect", huge).stdout
    assert re.search(r"^upload_size_bytes\s+none: image .*huge.qcow2 holds a 36283883716608-byte disk, more than "
                     r"the 32 TiB a managed disk can be uploaded into", table, re.M), table
