"""What `inspect` says about an image as published (a URL, or a compressed file): the image report of what it
holds, and how it would be read (compression, route, how its size was learned, the published bytes' SHA-256)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Any

from ..errors import ImageError
from ..format.images import disk_size
from ..format.images.report import FileReport, ImageReport, inspect_image, upload_size_of
from ..format.report import size_text
from . import SourceImage, SpooledImage, StreamImage, open_source
from .compressed import HEAD, NONE, check_compression, detect_compression
from .urls import is_image_url, shown_url

# Appended to the image report's keys, always all of them, in this order.
FACTS = ("source", "compression", "published_size", "route", "size_learned_from", "sha256")


@dataclass(frozen=True)
class SourceReport:
    image: ImageReport
    facts: dict[str, Any]

    @property
    def azure_ready(self) -> bool:
        return self.image.azure_ready

    def to_json(self) -> dict[str, Any]:
        return {**self.image.to_json(), **{key: self.facts.get(key) for key in FACTS}}

    def to_table(self) -> str:
        facts = self.facts
        lines = [self.image.to_table()]
        if facts.get("route"):
            lines.append(f"read as: {facts['route']}")
        if facts.get("size_learned_from"):
            lines.append(f"size learned from: {facts['size_learned_from']}")
        if facts.get("sha256"):
            lines.append(f"sha256 of the published bytes: {facts['sha256']}")
        return "\n".join(lines)


def _starts_compressed(path: str) -> bool:
    """Whether a regular file starts with a compression's magic (anything else is inspect_image's to report)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as file:
            return detect_compression(file.read(HEAD)) is not None
    except OSError:
        return False


def route_of(image: SourceImage) -> str:
    if isinstance(image, StreamImage):
        return "a stream, in order (nothing stored locally)"
    if isinstance(image, SpooledImage):
        return f"a sparse temporary file of its data ({size_text(image.spooled_bytes)} of non-zero blocks)"
    return "the file, in place"


def inspect_source(location: str, format: str | None = None, *, compression: str | None = None,
                   sha256: str | None = None) -> FileReport | ImageReport | SourceReport:
    """`vhdcore inspect`: a local file that is not compressed gets inspect_image's report; anything else is opened
    as an upload would open it (decompressed, counted or spooled as needed) and reported."""
    packed = check_compression(compression)
    if not is_image_url(location) and packed in (None, NONE) and (packed == NONE or not _starts_compressed(location)):
        return inspect_image(location, format)
    facts: dict[str, Any] = {"source": shown_url(location) if is_image_url(location) else location}
    try:
        image = open_source(location, format, compression=compression, sha256=sha256)
    except ImageError as exc:
        length = None if is_image_url(location) else os.path.getsize(location) if os.path.exists(location) else None
        return SourceReport(ImageReport(length or 0, format or "unknown", None, None, None, None, None, (str(exc),),
                                        None, str(exc)), facts)
    with image:
        published = getattr(image, "published", None)
        facts.update(
            compression=published.compression if published is not None else NONE,
            published_size=published.origin.size if published is not None else os.path.getsize(location),
            route=route_of(image),
            size_learned_from=image.content.learned if isinstance(image, StreamImage) else None,
        )
        problems: list[str] = []
        try:
            size: int | None = disk_size(image).size
        except ImageError as exc:
            size, problems = None, [str(exc)]
        extents = len(image.image.extents) if isinstance(image, SpooledImage) else None
        report = ImageReport(facts["published_size"] or 0, image.format, image.variant, image.virtual_size,
                             image.allocated_bytes, extents, size, tuple(problems), *upload_size_of(image))
        # Known when a pass read every published byte (a counting pass, the spool); an xz index read is not one.
        facts["sha256"] = image.content.sha256 if isinstance(image, StreamImage) else getattr(image, "checksum", None)
    return SourceReport(report, facts)
