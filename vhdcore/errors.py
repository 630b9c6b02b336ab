"""Every error blank-vhd raises on purpose, in one hierarchy split by whose fault it is.

- InputError: the caller's input cannot work (a size, a name, a credential setting, a command-line
  flag). Found before any request; nothing was changed. The command line exits 2.
- RefusedError: storage was asked and said no (the blob exists, is leased, the credentials are
  forbidden, it keeps throttling, the change would shrink a disk). The command line exits 1.
- ServiceError: storage or the network failed (no answer, a broken connection, an unexpected
  status). The command line exits 1.
- InternalError: a bug in blank-vhd. The command line exits 1 and asks for a report.

Every message is one sentence: what happened; the fix. Storage errors keep the two halves apart
(`what`, `fix`) plus the HTTP status and Azure error code, so a caller can match on them.
"""

from __future__ import annotations

import copy
import re

# Set to 1 to let an error that is a bug in blank-vhd show its Python traceback (command line and provider).
DEBUG_ENV = "VHDCORE_DEBUG"


# What a message about an unexpected error might quote: a SAS signature, a key or SAS inside a connection string.
_SECRET_SHAPES = re.compile(r"(?i)\b(sig|accountkey|sharedaccesssignature)=[^&;\s'\"]*")


def scrub(text: str) -> str:
    """`text` with anything shaped like a credential replaced: for messages blank-vhd did not write itself (a
    bug's exception text, an SDK message), which could quote a request URL or a connection string."""
    return _SECRET_SHAPES.sub(lambda m: f"{m[1]}=<redacted>", text)


class VhdError(Exception):
    """Base class of every error blank-vhd raises on purpose."""


class InputError(VhdError, ValueError):
    """The caller's input cannot work; found before any request, so nothing was changed."""


class VhdFormatError(InputError):
    """Bytes that cannot be decoded as a VHD footer (for example, not 512 of them)."""


class SizeError(InputError):
    """A disk size that breaks the size rules."""


class BlobNameError(InputError):
    """A container name, blob name or metadata entry that Azure would reject."""


class CredentialsError(InputError):
    """Storage settings that cannot work: conflicting, incomplete or malformed.

    `settings` names the StorageTarget settings at fault (account_url, account_name, endpoint_suffix,
    connection_string, account_key, sas_token), so a caller can say where each came from (a flag, an input,
    stack config, a variable). The message never quotes a secret.
    """

    def __init__(self, message: str, settings: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.settings = settings


class UsageError(InputError):
    """A command line that cannot be parsed."""


class ImageError(InputError):
    """A disk image that cannot be read as a whole disk; found before any request (or, for an image read as a
    stream, at its end: `amended` then says what the run that stopped on it left)."""

    def amended(self, more: str) -> ImageError:
        """The same error, its type and attributes kept, with `more` appended before its final full stop."""
        error = copy.copy(self)
        error.args = (f"{str(self).removesuffix('.')}{more}.",)
        return error


class UnsupportedImageError(ImageError):
    """A valid image blank-vhd does not read: compressed, encrypted, differencing, or a variant it does not handle."""


class CorruptImageError(ImageError):
    """An image whose structures are inconsistent or point past the end of the file (truncated)."""


class ChecksumMismatchError(ImageError):
    """An image's published bytes do not have the SHA-256 that was given: nothing made from them is sealed.

    `what` says so (the image, `expected` and `found`), `fix` what to check, as a StorageError's halves, so a caller
    that removes what the run made can say so in its own words.
    """

    def __init__(self, what: str, fix: str = "", *, expected: str = "", found: str = "") -> None:
        super().__init__(f"{what}; {fix}." if fix else what)
        self.what, self.fix, self.expected, self.found = what, fix, expected, found


class ImageDownloadError(ImageError):
    """An image URL's server could not give the image: unreachable, an error status, a broken or inconsistent
    answer, after the retries."""


class CloudError(InputError):
    """A cloud name, storage API version or endpoint that does not fit the cloud the disk is in."""


class DependencyError(InputError):
    """An operation needs a package that is not installed (an optional extra); found before any request."""


class InternalError(VhdError):
    """A bug in blank-vhd: a rule it should have kept was broken."""


class StorageError(VhdError):
    """An operation on Azure Storage (or, for managed disks, the Compute API) went wrong. The message is `what; fix.`.

    `notes` holds what was learnt after the request failed (for example what the blob of that name is), each as it
    was appended to `what` by `amended`, so a caller that words `what` its own way can keep them.
    """

    def __init__(self, what: str, fix: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(f"{what}; {fix}.")
        self.what, self.fix, self.status, self.code = what, fix, status, code
        self.notes: tuple[str, ...] = ()

    def amended(self, more: str) -> StorageError:
        """The same error with `more` appended to what happened."""
        error = type(self)(self.what + more, self.fix, status=self.status, code=self.code)
        error.notes = (*self.notes, more)
        return error


class RefusedError(StorageError):
    """Storage refused the operation; what it holds is as it was, unless the message says otherwise."""


class ServiceError(StorageError):
    """Storage or the network failed: no answer, a broken connection, or an answer blank-vhd did not expect."""


class UnreachableError(ServiceError):
    """No request reached storage (connection refused, a name that does not resolve): nothing was changed."""


class BlobExistsError(RefusedError):
    """A blob of that name exists and was left untouched."""


class BlobNotFoundError(RefusedError):
    """The blob does not exist."""


class ContainerNotFoundError(RefusedError):
    """The container does not exist (the page-blob operations never create one; `vhdcore container create` and
    the BlobContainer resource do)."""


class ContainerNotEmptyError(RefusedError):
    """The container still holds blobs, so it was not deleted (nor were they)."""


class BlobLeasedError(RefusedError):
    """The blob (or container) has an active lease; leases are never broken."""


class AuthFailedError(RefusedError):
    """The account refused the credentials, or none could be found."""


class HeaderRefusedError(RefusedError):
    """Storage refused a request header, not the operation: a storage API version, or a page-blob length, that it
    does not accept (Azure Stack). Nothing was written."""


class UnsuitableAccountError(RefusedError):
    """The storage account cannot hold page blobs (a hierarchical namespace, or a block-blob or file account);
    found before anything was written."""


class ThrottledError(RefusedError):
    """Storage kept throttling or timing out the request, even after retries."""


class NotOwnedError(RefusedError):
    """The blob is not the disk the caller named (another unique id, or not made by blank-vhd)."""


class ShrinkRefusedError(RefusedError):
    """The change would shrink a disk, and a page blob loses its data past a shrink."""


class InvalidDiskError(RefusedError):
    """The blob is not a fixed VHD that blank-vhd can work on (wrong blob type, no valid footer)."""


class DiskAttachedError(RefusedError):
    """The managed disk is attached to a VM (its managedBy names it), so it was not deleted."""


__all__ = [
    "DEBUG_ENV",
    "AuthFailedError",
    "BlobExistsError",
    "BlobLeasedError",
    "BlobNameError",
    "BlobNotFoundError",
    "ChecksumMismatchError",
    "CloudError",
    "ContainerNotEmptyError",
    "ContainerNotFoundError",
    "CorruptImageError",
    "CredentialsError",
    "DependencyError",
    "DiskAttachedError",
    "HeaderRefusedError",
    "ImageDownloadError",
    "ImageError",
    "InputError",
    "InternalError",
    "InvalidDiskError",
    "NotOwnedError",
    "RefusedError",
    "ServiceError",
    "ShrinkRefusedError",
    "SizeError",
    "StorageError",
    "ThrottledError",
    "UnreachableError",
    "UnsuitableAccountError",
    "UnsupportedImageError",
    "UsageError",
    "VhdError",
    "VhdFormatError",
    "scrub",
]
