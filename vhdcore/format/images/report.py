"""What `inspect` says about a disk image: its format, sizes and allocation, and the fixed VHD it would become.

A VHD file (or a file that is no image at all) keeps the footer report (report.DiskReport), which says
whether the file itself is Azure-ready, with the image facts appended (JSON keys after all of the footer
report's, a last line in the table). Any other image (dynamic VHD, VHDX, QCOW2, VMDK, VDI, or a format given
explicitly) gets an ImageReport: whether `blob upload` and `convert` would make an Azure-ready fixed VHD of
it, and of what size. Both put a verdict line first for people, as the footer report does. Both end with
`upload_size_bytes`: the length a managed disk must be created with to be filled by Azure's direct upload (`vhdcore
disk create` and `disk upload` make that fixed VHD), or None with the reason when no managed disk can hold it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ...errors import ImageError, SizeError
from ..local_disk import inspect_file
from ..report import DiskReport, size_text
from .detect import detect_format, open_image
from .fixed import disk_size, upload_disk_size
from .readable import ReadableImage
from .source import DiskImage, ImageFile

# The image facts appended to a footer report, always all of them (None where unknown), in this order.
FACTS = ("image_format", "image_variant", "virtual_size", "allocated_bytes", "fixed_vhd_size", "image_problems",
         "upload_size_bytes")


@dataclass(frozen=True)
class ImageReport:
    """An image that is not itself a fixed VHD, and the fixed VHD it would become (None where it was refused)."""

    file_size: int
    image_format: str | None
    image_variant: str | None
    virtual_size: int | None
    allocated_bytes: int | None
    extents: int | None
    fixed_vhd_size: int | None
    problems: tuple[str, ...]
    upload_size_bytes: int | None = None
    upload_problem: str | None = None  # why upload_size_bytes is None (tables only: JSON keeps its keys)

    @property
    def azure_ready(self) -> bool:
        """Whether uploading or converting it gives a fixed VHD that Azure accepts."""
        return self.fixed_vhd_size is not None and not self.problems

    @property
    def verdict(self) -> str:
        kind = f"{self.image_format} ({self.image_variant})" if self.image_variant else str(self.image_format)
        if not self.azure_ready:
            return f"{kind} image, cannot become a fixed VHD: {self.problems[0].removesuffix('.')}"
        assert self.virtual_size is not None and self.fixed_vhd_size is not None
        return (f"{kind} image of {size_text(self.virtual_size)}; upload and convert make an Azure-ready fixed VHD "
                f"of {size_text(self.fixed_vhd_size)}")

    def to_json(self) -> dict[str, Any]:
        return {
            "image_format": self.image_format,
            "image_variant": self.image_variant,
            "virtual_size": self.virtual_size,
            "file_size": self.file_size,
            "allocated_bytes": self.allocated_bytes,
            "extents": self.extents,
            "fixed_vhd_size": self.fixed_vhd_size,
            "azure_ready": self.azure_ready,
            "problems": list(self.problems),
            "verdict": self.verdict,
            "upload_size_bytes": self.upload_size_bytes,
        }

    def to_table(self) -> str:
        doc = self.to_json()
        problems, lines = doc.pop("problems"), [doc.pop("verdict")]
        width = max(map(len, doc))
        lines += [f"{key:<{width}}  {_shown(key, value, self.upload_problem)}" for key, value in doc.items()]
        lines.append("problems" + ("".join(f"\n  - {p}" for p in problems) if problems else f"{' ' * (width - 6)}none"))
        return "\n".join(lines)


@dataclass(frozen=True)
class FileReport:
    """A fixed VHD or raw file: the footer report (is the file itself Azure-ready), and the file read as an image."""

    report: DiskReport
    facts: dict[str, Any]

    @property
    def azure_ready(self) -> bool:
        return self.report.azure_ready

    def to_json(self) -> dict[str, Any]:
        return {**self.report.to_json(), **{key: self.facts.get(key) for key in FACTS}}

    def to_table(self) -> str:
        facts = self.facts
        if facts.get("image_problems"):
            line = f"as an image: {facts['image_problems'][0]}"
        else:
            line = (f"as an image: {facts['image_format']}, {size_text(facts['virtual_size'])}, "
                    f"{size_text(facts['allocated_bytes'])} stored; upload and convert make a fixed VHD of "
                    f"{size_text(facts['fixed_vhd_size'])}")
        upload = _shown("upload_size_bytes", facts.get("upload_size_bytes"), facts.get("upload_problem"))
        return f"{self.report.to_table()}\n{line}\nupload_size_bytes: {upload}"


def inspect_image(path: str | os.PathLike[str], format: str | None = None) -> FileReport | ImageReport:
    """The report `vhdcore inspect` prints for `path` (see the module docstring for which one)."""
    footer_report = inspect_file(path)  # an unreadable file is an InputError here, as before
    try:
        image = open_image(path, format)
    except ImageError as exc:
        detected = format or _detected(path)
        if format is None and detected in (None, "raw", "vhd"):
            return FileReport(footer_report, {"image_format": detected, "image_problems": [str(exc)],
                                                 "upload_problem": str(exc)})
        return ImageReport(footer_report.length, detected, None, None, None, None, None, (str(exc),), None, str(exc))
    with image:
        size, problems = _fixed_size(image)
        upload, upload_problem = upload_size_of(image)
        if format is None and (image.format == "raw" or (image.format, image.variant) == ("vhd", "fixed")):
            return FileReport(footer_report, {
                "image_format": image.format, "image_variant": image.variant, "virtual_size": image.virtual_size,
                "allocated_bytes": image.allocated_bytes, "fixed_vhd_size": size, "image_problems": problems,
                "upload_size_bytes": upload, "upload_problem": upload_problem})
        return ImageReport(image.file_size, image.format, image.variant, image.virtual_size, image.allocated_bytes,
                           len(image.extents), size, tuple(problems), upload, upload_problem)


def _fixed_size(image: DiskImage) -> tuple[int | None, list[str]]:
    try:
        return disk_size(image).size, []
    except SizeError as exc:
        return None, [str(exc)]


def upload_size_of(image: ReadableImage) -> tuple[int | None, str | None]:
    """The upload size a managed disk must be created with to hold `image` (its fixed VHD's length), or None and why
    no managed disk can hold it."""
    try:
        return upload_disk_size(image).upload_size, None
    except SizeError as exc:
        return None, str(exc)


def _detected(path: str | os.PathLike[str]) -> str | None:
    try:
        image = ImageFile(path)
    except ImageError:
        return None
    try:
        return detect_format(image)
    finally:
        image.close()


def _shown(key: str, value: Any, why_none: str | None = None) -> str:
    if key in ("virtual_size", "file_size", "allocated_bytes", "fixed_vhd_size") and isinstance(value, int):
        return size_text(value)
    if key == "upload_size_bytes":
        return (f"{value} (create the managed disk with this upload size)" if isinstance(value, int) else
                f"none: {why_none or 'the image cannot be read'}")
    return str(value)
