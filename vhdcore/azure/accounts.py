"""What kind of storage account a new disk goes to, asked once per account per run (Get Account Information).

Page blobs live in general-purpose accounts (StorageV2, Storage) and premium page-blob accounts. An account
with a hierarchical namespace (Data Lake Storage) or of kind BlockBlobStorage, BlobStorage or FileStorage
cannot hold one: a create or an upload refuses it before anything is written, instead of failing at Put Blob
or later. A premium account bills a page blob at its provisioned tier from the first second, written or not:
the caller is told which tier. A credential that may not ask (a SAS without read permission) does not stop
the write: it is said once per account, and the operation goes on unchecked.

Pure rules (`kind_refusal`, `premium_tier`) plus one cached request (`account_notes`), asked inside the
session of the operation that is about to write a new blob, before its first write.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from ..errors import (
    AuthFailedError,
    HeaderRefusedError,
    RefusedError,
    ServiceError,
    StorageError,
    ThrottledError,
    UnsuitableAccountError,
)
from ..format.sizes import FOOTER_SIZE, GiB, MiB
from .session import Session, sdk_text

# Kinds that cannot hold page blobs (BlobTypeNotSupported on Put Blob).
NO_PAGE_BLOBS = {
    "BlockBlobStorage": "a premium block-blob account",
    "BlobStorage": "a legacy Blob storage account, which holds block and append blobs only",
    "FileStorage": "a premium file-share account",
}
# The premium page-blob tiers Azure picks for a blob created with only a size: the smallest at or above its
# length (P4, P6 and P15 only when set explicitly). P50 is 4095 GiB in the page-blob table.
PREMIUM_TIERS = (("P10", 128), ("P20", 512), ("P30", 1024), ("P40", 2048), ("P50", 4095), ("P60", 8192))


@dataclass(frozen=True)
class AccountInfo:
    sku_name: str | None
    account_kind: str | None
    is_hns_enabled: bool | None  # None: not reported (API versions before 2019-07-07, or a blob-level answer)

    @classmethod
    def from_headers(cls, answer: dict[str, Any]) -> AccountInfo:
        def text(key: str) -> str | None:
            value = answer.get(key)
            return None if value is None else sdk_text(value)

        hns = answer.get("is_hns_enabled")
        return cls(text("sku_name"), text("account_kind"), hns if isinstance(hns, bool) else None)


_UNREADABLE = AccountInfo(None, None, None)  # asked, and the credential may not: said once, never asked again
_known: dict[str, AccountInfo] = {}
_asking = threading.Lock()  # one request per account, even with provider calls running at once


def forget() -> None:
    """Forget every account's answer, so the next create asks again (tests; a long-running program)."""
    with _asking:
        _known.clear()


def account_notes(s: Session, size: int) -> tuple[str, ...]:
    """Check the account of `s` for a new disk of `size` bytes: UnsuitableAccountError if it cannot hold a page
    blob; warnings (a premium tier, or that the account could not be read) to show the user."""
    account = s.target.blob_endpoint.lower()
    with _asking:
        info = _known.get(account)
        note: tuple[str, ...] = ()
        if info is None:
            info, note = _ask(s)
            _known[account] = info
    if info is _UNREADABLE:
        return note
    if (refusal := kind_refusal(info, account=s.target.blob_endpoint)) is not None:
        raise refusal
    return (*note, *premium_warning(info, size, account=s.target.blob_endpoint))


def _ask(s: Session) -> tuple[AccountInfo, tuple[str, ...]]:
    try:
        answer = s.account_information()
    except (HeaderRefusedError, ThrottledError):
        raise  # the create's own requests would meet the same answer
    except (AuthFailedError, RefusedError, ServiceError) as exc:
        if _unanswered(exc):
            raise  # no answer at all (network, 5xx after retries): nothing to go on with
        why = f"{_shown(exc)}; a SAS needs read permission for it" if exc.status == 403 else _shown(exc)
        return _UNREADABLE, (
            f"could not read the kind of storage account {s.target.blob_endpoint} ({why}), so the create goes on "
            "without checking for a hierarchical namespace or a premium tier.",
        )
    return AccountInfo.from_headers(answer), ()


def _unanswered(exc: StorageError) -> bool:
    return exc.status is None or exc.status >= 500


def _shown(exc: StorageError) -> str:
    return f"HTTP {exc.status} {exc.code or ''}".strip()


def kind_refusal(info: AccountInfo, *, account: str) -> UnsuitableAccountError | None:
    """Why the account cannot hold a page blob, or None."""
    if info.is_hns_enabled:
        return UnsuitableAccountError(
            f"storage account {account} has a hierarchical namespace (Data Lake Storage), which cannot hold page "
            "blobs, so no disk was created", "use a general-purpose v2 (StorageV2) account without one")
    if info.account_kind in NO_PAGE_BLOBS:
        return UnsuitableAccountError(
            f"storage account {account} is of kind {info.account_kind} ({NO_PAGE_BLOBS[info.account_kind]}), which "
            "cannot hold page blobs, so no disk was created",
            "use a general-purpose v2 (StorageV2) account, or a premium page-blob account")
    return None


def premium_tier(blob_length: int) -> tuple[str, int] | None:
    """The premium page-blob tier (name, GiB) Azure bills a blob of `blob_length` bytes at; None past P60."""
    return next(((name, gib) for name, gib in PREMIUM_TIERS if blob_length <= gib * GiB), None)


def premium_warning(info: AccountInfo, size: int, *, account: str) -> tuple[str, ...]:
    if not (info.sku_name or "").startswith("Premium"):
        return ()
    tier = premium_tier(size + FOOTER_SIZE)
    if tier is None:
        return ()
    name, gib = tier
    below = next((f"; its 512-byte footer takes it past {n}'s {g} GiB" for n, g in PREMIUM_TIERS
                  if g * GiB == size), "")
    # Blank disks are whole GiB; an image's disk is whole MiB.
    shown = f"{size // GiB} GiB" if size % GiB == 0 else f"{size // MiB} MiB" if size % MiB == 0 else f"{size} byte"
    return (f"storage account {account} is premium ({info.sku_name}): this {shown} disk is billed as a "
            f"{name} page blob ({gib} GiB) from the moment it exists, written or not{below}.",)
