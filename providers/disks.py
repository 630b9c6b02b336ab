"""What both disk providers (BlankVhd, VhdImage) do alike: find the disk a state records again (read, refresh) and
remove it (delete), with one set of rules and messages.

A disk is ours to delete only with the unique id its state records (vhdcore refuses any other); a disk taken over
(adopt_existing, `pulumi import`, `get`) that this tool did not make is never deleted at all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import vhdcore
from vhdcore import ContainerNotFoundError

from .common import Account, NamingProvider, StoredDisk, warn

if TYPE_CHECKING:
    from vhdcore import BlobInspection


class DiskPlace(Protocol):
    """Where a disk's inputs say it is."""

    @property
    def container_name(self) -> str: ...
    @property
    def blob_name(self) -> str: ...
    @property
    def account(self) -> Account: ...


class DiskRecord(StoredDisk, Protocol):
    """A disk resource's state: where it is, and what storage held when it was last written or read."""

    @property
    def inputs(self) -> DiskPlace: ...


class DiskProvider(NamingProvider):
    """Base of the disk providers: `recorded` reads a state's outputs; read and delete build on `find`."""

    def recorded(self, props: Mapping[str, Any]) -> DiskRecord:
        raise NotImplementedError

    def find(self, state: DiskRecord) -> BlobInspection | None:
        """The blob `state` records, as storage has it now, in the account the state records whatever the
        configuration says now; None when it is gone (deleted out of band, or its container with it) or now holds
        another disk (with a warning; it is left untouched): the read then drops it from the state."""
        place = state.inputs
        try:
            found = self.with_fallback(
                place.account,
                lambda t: vhdcore.inspect_blank_vhd(t, container=place.container_name, name=place.blob_name),
                endpoint=state.blob_endpoint or None,
            )
        except ContainerNotFoundError:
            return None  # the container went, and the blob with it
        if found is not None and found.report.azure_ready and state.unique_id is not None and \
                found.unique_id != state.unique_id:
            warn(f"blob {place.blob_name!r} in container {place.container_name!r} now holds another disk (unique id "
                 f"{found.unique_id}, not {state.unique_id}); it is dropped from the state and left untouched.")
            return None
        return found

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        state = self.recorded(props)
        place = state.inputs
        endpoint = state.blob_endpoint or None
        container, name = place.container_name, place.blob_name
        with contextlib.suppress(ContainerNotFoundError):  # the blob went with its container: done
            if state.adopted:
                found = self.with_fallback(
                    place.account, lambda t: vhdcore.inspect_blank_vhd(t, container=container, name=name),
                    endpoint=endpoint,
                )
                if found is None:
                    return
                if not found.made_by_vhdcore:
                    # Taken over, not created, and not made by this tool: never ours to delete.
                    warn(f"blob {name!r} in container {container!r} was left in place because it was adopted "
                         "(adopt_existing or an import), not made by this tool; delete it yourself if it is no longer "
                         "needed.")
                    return
            self.with_fallback(
                place.account,
                lambda t: vhdcore.delete_blank_vhd(t, container=container, name=name, unique_id=state.unique_id),
                endpoint=endpoint,
            )
