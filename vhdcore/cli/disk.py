"""`vhdcore disk upload|create`: managed disks filled by Azure's direct upload, with no storage account and no copy.

`disk upload SOURCE --sas-url URL` writes an image into the page blob a grant of write access handed out (the disk
was created elsewhere, with the upload size `vhdcore inspect` prints); `disk create SOURCE -g RG -n NAME -l LOCATION`
does the whole of it: creates the disk for upload, grants access, uploads (the VM guest state too), revokes access.
SOURCE is opened as `blob upload` opens it (images.open_source_args: a path or a URL, compressed or not). The
Azure SDK (and, for `disk create`, azure-mgmt-compute: `blank-vhd[disks]`) is imported when a command runs.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict
from typing import Any

from ..errors import UsageError
from ..format.sizes import FOOTER_SIZE, MAX_UPLOAD_DISK, GiB, SizeLimit, check_upload_size, parse_size
from .common import EXIT_CODES_HELP, EXIT_OK, add_output_option, print_result
from .images import SOURCE_HELP, add_source_options, open_source_args, shown_source, source_facts
from .parser import Parser

DEFAULT_CONNECTIONS = 8  # vhdcore.azure.upload.DEFAULT_CONNECTIONS, without importing the Azure SDK here
# The SAS URL from the environment: flags show up in process lists, and the SAS lets anyone write the disk.
ENV_SAS_URL = "VHDCORE_SAS_URL"
SKUS = ("Standard_LRS", "Premium_LRS", "StandardSSD_LRS", "UltraSSD_LRS", "Premium_ZRS", "StandardSSD_ZRS",
        "PremiumV2_LRS")  # vhdcore.azure.compute.SKUS (checked there too)

EPILOG = f"""The disk is filled by Azure's direct upload: only the image's non-zero pages are sent, the footer last,
and a re-run resumes by reading back what is there. The SAS URL is never printed.

{EXIT_CODES_HELP}"""


def add_disk_commands(commands: Any) -> None:
    disk = commands.add_parser("disk", help="managed disks filled by Azure's direct upload", epilog=EPILOG,
                               description="Fill Azure managed disks from disk images by direct upload (no storage "
                               "account, no import copy).")
    sub = disk.add_subparsers(dest="disk_command", required=True, parser_class=type(disk))

    upload: Parser = sub.add_parser(
        "upload", help="upload an image into a managed disk's upload SAS (the disk exists, created with the image's "
        "upload size, and write access was granted)", epilog=EPILOG)
    _image_arguments(upload)
    # The SAS lets anyone write the disk: a secret flag (Parser.add_secret_argument), never quoted by an error.
    upload.add_secret_argument(upload.add_argument_group("the upload target"), "--sas-url", metavar="URL",
                               help=f"the accessSAS a grant of write access returned (prefer {ENV_SAS_URL}: flags "
                               "show up in process lists)")
    upload.add_argument("--size", help="the disk size the managed disk was created for, if larger than the image's "
                        "(its upload size minus 512)")
    add_output_option(upload)
    upload.set_defaults(run=_upload)

    create = sub.add_parser("create", help="create a managed disk from an image: create it for upload, grant write "
                            "access, upload, revoke (a re-run resumes)", epilog=EPILOG)
    _image_arguments(create)
    create.add_argument("--resource-group", "-g", required=True, help="the disk's resource group (it must exist)")
    create.add_argument("--name", "-n", required=True, help="the managed disk's name")
    create.add_argument("--location", "-l", required=True, help="the disk's region, e.g. westeurope")
    create.add_argument("--sku", default="Standard_LRS", choices=SKUS, metavar="SKU",
                        help=f"the disk's SKU: {', '.join(SKUS)} (default Standard_LRS)")
    create.add_argument("--os-type", choices=("Linux", "Windows"), help="for an OS disk")
    create.add_argument("--hyper-v-generation", choices=("V1", "V2"), help="for an OS disk: the VM generation")
    create.add_argument("--security-type", metavar="TYPE", help="TrustedLaunch or ConfidentialVM_...: the disk is "
                        "uploaded with its VM guest state (--guest-state), Azure's UploadWithSecurityData")
    create.add_argument("--guest-state", metavar="FILE", help="the VM guest state (a fixed VHD file) to upload with "
                        "the disk; needs --security-type")
    create.add_argument("--tags", nargs="*", default=[], metavar="KEY=VALUE", help="the disk's tags")
    create.add_argument("--subscription", help="the subscription id (default: AZURE_SUBSCRIPTION_ID)")
    create.add_argument("--endpoint-resource-manager", metavar="URL", help="the resource manager endpoint (default: "
                        "VHDCORE_ENDPOINT_RESOURCE_MANAGER, else the cloud's)")
    create.add_argument("--cloud", metavar="NAME", help="AzureCloud (default), AzureChinaCloud or AzureUSGovernment")
    create.add_argument("--access-duration", type=int, default=24 * 3600, metavar="SECONDS",
                        help="how long the upload SAS lives (default 86400); a re-run grants again")
    add_output_option(create)
    create.set_defaults(run=_create)


def _image_arguments(parser: argparse.ArgumentParser) -> None:
    """The image, read as `blob upload` reads it (a path or a URL, compressed or not: vhdcore.sources)."""
    parser.add_argument("source", help=SOURCE_HELP)
    add_source_options(parser)
    parser.add_argument("--verify", action="store_true",
                        help="before the footer, read every written page back and compare it with the image")
    parser.add_argument("--max-connections", type=int, default=DEFAULT_CONNECTIONS, metavar="N",
                        help=f"Put Page requests at a time, 1 to 64 (default {DEFAULT_CONNECTIONS})")


def _upload(args: argparse.Namespace) -> int:
    from ..azure.credentials import ClientOptions
    from ..azure.upload import upload_image_to_sas
    from .progress import Progress

    sas_url = args.sas_url or os.environ.get(ENV_SAS_URL)
    if not sas_url:
        raise UsageError(f"no SAS URL given; pass --sas-url or set {ENV_SAS_URL} to the accessSAS of a write grant "
                         "(az disk grant-access --access-level Write).")
    size = None
    if args.size is not None:
        # Any whole number of MiB a managed disk can be uploaded into (not a page blob's 8191 GiB cap).
        size = parse_size(args.size, field="--size", limit=SizeLimit(MAX_UPLOAD_DISK + GiB))
        check_upload_size(size + FOOTER_SIZE, field="--size + 512")
    with open_source_args(args) as image:  # a refused image stops here, before any request
        with Progress(image.allocated_bytes, "uploading") as bar:
            done = upload_image_to_sas(sas_url, image, size=size, verify=args.verify,
                                       max_connections=args.max_connections,
                                       options=ClientOptions(on_retry=bar.retrying),
                                       progress=lambda p: bar.update(p.read, p.sent), notes=bar.note,
                                       what="the managed disk's blob")
        kind = image.kind
        facts = source_facts(image)
    source = shown_source(args.source)
    doc = asdict(done) | {"unique_id": str(done.unique_id), "source": source, **facts}
    del doc["warnings"]
    if done.already_complete:
        table = f"{done.url} already holds {source} as a fixed VHD of {done.size} bytes; nothing was sent"
    else:
        table = (f"uploaded {source} ({kind}, {done.image_size} bytes, {done.data_bytes} bytes of data) into "
                 f"{done.url}{' (resumed)' if done.resumed else ''}: a fixed VHD of {done.size} bytes (upload size "
                 f"{done.blob_length}), {done.bytes_sent} bytes sent{', verified' if done.verified else ''}; revoke "
                 "access to make the disk usable")
    print_result(doc, table, args.output)
    return EXIT_OK


def _create(args: argparse.Namespace) -> int:
    from ..azure.compute import ComputeTarget, DiskAddress, DiskSpec, subscription_from
    from ..azure.credentials import ClientOptions
    from ..azure.managed_disks import upload_to_managed_disk
    from ..sources import published_sha256
    from .progress import Progress

    address = DiskAddress(subscription_from(args.subscription), args.resource_group, args.name)
    address.validate()
    spec = DiskSpec(args.location, args.sku, args.os_type, args.hyper_v_generation, args.security_type,
                    _tags(args.tags))
    spec.validate()
    compute = ComputeTarget.resolve(args.endpoint_resource_manager, cloud=args.cloud)
    with open_source_args(args) as image:  # a refused image stops here, before any request
        with Progress(image.allocated_bytes, "uploading") as bar:
            done = upload_to_managed_disk(compute, address, image, spec, guest_state=args.guest_state,
                                          sha256=published_sha256(image), access_seconds=args.access_duration,
                                          verify=args.verify, max_connections=args.max_connections,
                                          options=ClientOptions(on_retry=bar.retrying),
                                          progress=lambda p: bar.update(p.read, p.sent), notes=bar.note)
        kind = image.kind
        facts = source_facts(image)
    source = shown_source(args.source)
    doc = asdict(done) | {"source": source, **facts}
    table = (f"{'created' if done.created else 'finished'} managed disk {done.id} from {source} ({kind}, "
             f"{done.image_size} bytes, {done.data_bytes} bytes of data): {done.size} bytes, {done.sku}, "
             f"{done.state}{' (resumed)' if done.resumed else ''}, {done.bytes_sent} bytes sent")
    print_result(doc, table, args.output)
    return EXIT_OK


def _tags(pairs: list[str]) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--tags {pair!r} is not KEY=VALUE; write it like --tags env=prod team=disks.")
        tags[key] = value
    return tags

