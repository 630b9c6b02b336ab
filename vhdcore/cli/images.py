"""The image commands: `vhdcore convert` (a local sparse fixed VHD) and the runner of `vhdcore blob upload`.

Every image is opened, and refused if it must be, before anything is written or any request is made.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..format.images import FORMATS, Scan, convert_to_fixed_vhd, disk_size
from ..format.sizes import FOOTER_SIZE, parse_size
from ..format.unique_id import UniqueId
from .common import EXIT_CODES_HELP, EXIT_OK, add_output_option, parse_timestamp, print_result

FORMAT_HELP = (f"the image's format: {', '.join(FORMATS)} (vpc is vhd); default: detected from the content (a "
               "valid VHD footer at the end, then the magic at the start; anything else is raw, except inside a "
               "compressed file, where it takes --format raw)")
SOURCE_HELP = ("the disk image: a path, or an https:// URL (http:// only to this machine); raw, VHD (fixed or "
               "dynamic), VHDX, QCOW2, VMDK or VDI, as it is or compressed with xz, gzip, bzip2 or zstd")


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """--format, --compression and --sha256: how to read an image and what its published bytes must hash to."""
    parser.add_argument("--format", help=FORMAT_HELP)
    parser.add_argument("--compression", metavar="NAME",
                        help="xz, gzip, bzip2, zstd, or none to take the file as it is (default: detected from its "
                        "magic bytes, never from its name)")
    parser.add_argument("--sha256", metavar="HEX",
                        help="the SHA-256 the image is published with (of the compressed file, for a compressed "
                        "one): checked before the disk is finished; a mismatch leaves no usable disk")


def open_source_args(args: argparse.Namespace) -> Any:
    """The image named by `args.source` (and --format, --compression, --sha256), opened for reading
    (vhdcore.sources): refused, if it must be, before anything is written or any request is made to Azure."""
    from ..sources import open_source

    return open_source(args.source, args.format, compression=args.compression, sha256=args.sha256)


def shown_source(source: str) -> str:
    """A source as results may print it: a URL without its credentials or query string."""
    from ..sources.urls import is_image_url, shown_url

    return shown_url(source) if is_image_url(source) else source


def source_facts(image: Any) -> dict[str, Any]:
    """What the JSON result says about how the image was read (appended after the older keys)."""
    from ..sources import SpooledImage, StreamImage
    from ..sources.report import route_of

    published = getattr(image, "published", None)
    checksum = getattr(image, "checksum", None)
    return {
        "compression": published.compression if published is not None else "none",
        "route": route_of(image),
        "size_learned_from": image.content.learned if isinstance(image, StreamImage) else None,
        "sha256": checksum,
        "bytes_read": getattr(image, "bytes_read", None),
        "spooled_bytes": image.spooled_bytes if isinstance(image, SpooledImage) else None,
    }


def add_convert_command(commands: Any) -> None:
    convert = commands.add_parser(
        "convert", help="write any disk image as a local sparse fixed VHD (holes stay holes)", epilog=EXIT_CODES_HELP,
        description="Write a raw, VHD, VHDX, QCOW2, VMDK or VDI image (a file or a URL, compressed or not) as a fixed "
        "VHD file of whole MiB: only the image's non-zero pages are written, the rest stays holes.")
    convert.add_argument("source", help=SOURCE_HELP)
    convert.add_argument("dest", help="the fixed VHD to write; never replaced unless --force")
    add_source_options(convert)
    convert.add_argument("--size", help="disk size, at least the image's rounded up to whole MiB (the default)")
    convert.add_argument("--unique-id", help="the 16 footer id bytes in on-disk order, as 32 hex digits")
    convert.add_argument("--timestamp", help="footer time: ISO 8601 UTC (2024-01-01T00:00:00Z) or Unix seconds")
    convert.add_argument("--force", action="store_true", help="replace an existing file")
    add_output_option(convert)
    convert.set_defaults(run=_convert)


def _convert(args: argparse.Namespace) -> int:
    from .progress import Progress

    size = parse_size(args.size, field="--size") if args.size is not None else None
    unique_id = UniqueId.parse(args.unique_id, field="--unique-id") if args.unique_id is not None else None
    timestamp = parse_timestamp(args.timestamp) if args.timestamp is not None else None
    with open_source_args(args) as image:
        target = disk_size(image, size)
        with Progress(image.allocated_bytes, "converting") as bar:
            if target.note:
                bar.note(target.note)

            def show(scan: Scan) -> None:
                bar.update(scan.scanned)

            done = convert_to_fixed_vhd(image, args.dest, size=size, force=args.force, timestamp=timestamp,
                                        unique_id=unique_id, progress=show)
        source = shown_source(args.source)
        doc = {"path": args.dest, "source": source, "image_format": image.format, "image_variant": image.variant,
               "image_size": image.virtual_size, "size": done.footer.current_size,
               "file_size": done.footer.current_size + FOOTER_SIZE, "data_bytes": done.data_bytes,
               "unique_id": str(done.footer.unique_id), "fingerprint": done.fingerprint, **source_facts(image)}
        print_result(doc, f"converted {source} ({image.kind}, {image.virtual_size} bytes) to {args.dest}: fixed "
                          f"VHD, {done.footer.current_size} bytes, {done.data_bytes} bytes of data written, unique id "
                          f"{done.footer.unique_id}", args.output)
    return EXIT_OK
