"""The BlobContainer provider, the core both front doors run (see provider.py): a container this stack creates, and
deletes only if it made it and it is empty. Pickled by reference like provider.py: never rename or move it."""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

import vhdcore
from vhdcore import RefusedError, StorageTarget, VhdError, split_container_url, validate_container_name

from .common import Account, StorageProvider, changed, flag, given, is_unknown, no_change, warn
from .schema import ACCOUNT_FIELDS

INPUTS = ("container_name", *ACCOUNT_FIELDS)


class BlobContainerProvider(StorageProvider):
    """`id` is the container URL; output `created` records whether this stack made it."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = self.check_account(news)
        name = news.get("container_name")
        if name is None:
            failures.append(CheckFailure("container_name", "container_name is required; give a name such as 'vhds'."))
        elif not is_unknown(name):
            try:
                validate_container_name(name)
            except VhdError as exc:
                failures.append(CheckFailure("container_name", str(exc)))
        return CheckResult(dict(news), failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = [key for key in INPUTS if is_unknown(news.get(key)) or olds.get(key) != news.get(key)]
        replaces = self.account_replaces(olds, news)  # also when only config or AZURE_STORAGE_* moved
        if not changes and not replaces:
            return no_change()
        if "container_name" in changes:
            replaces.append("container_name")
        return changed(olds, news, changes, replaces, inputs_unchanged=not changes)

    def create(self, props: dict[str, Any]) -> CreateResult:
        account, name = Account.from_props(props), str(props["container_name"])
        target = self.target(account)
        created = vhdcore.create_container(target, name)
        return CreateResult(_url(target, name), _outputs(account, name, target, created=created))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Only credentials (or the way the same account is named) changed.
        account, name = Account.from_props(news), str(news["container_name"])
        target = self.target(account, endpoint=olds.get("blob_endpoint"))
        return UpdateResult(_outputs(account, name, target, created=flag(olds, "created")))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        if not given(props, "container_name"):
            return self._read_by_url(id_)  # `pulumi import`: the id (the container URL) is all there is
        account, name = Account.from_props(props), str(props["container_name"])
        endpoint = props.get("blob_endpoint")  # where the container is, whatever config or env say now
        if not self.with_fallback(account, lambda t: vhdcore.container_exists(t, name), endpoint=endpoint):
            return ReadResult(None, {})
        outs = _outputs(account, name, self.target(account, endpoint=endpoint), created=flag(props, "created"))
        return ReadResult(id_, outs, {"container_name": name, **account.to_props()})

    def _read_by_url(self, url: str) -> ReadResult:
        """A container known only by its URL. This resource did not make it (`created` false), so destroy never
        deletes it."""
        endpoint, name = split_container_url(url)
        account = self.account_at(endpoint)
        if not self.with_fallback(account, lambda t: vhdcore.container_exists(t, name), endpoint=endpoint):
            raise RefusedError(f"BlobContainer: no container {name!r} at {endpoint}",
                               "check the URL (the `url` output of the container, without a SAS)")
        outs = _outputs(account, name, self.target(account, endpoint=endpoint), created=False)
        return ReadResult(outs["url"], outs, {"container_name": name, **account.to_props()})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        account, name = Account.from_props(props), str(props["container_name"])
        if not flag(props, "created"):
            return  # it was there before this stack: not ours to delete
        deleted = self.with_fallback(
            account, lambda t: vhdcore.delete_container_if_empty(t, name), endpoint=props.get("blob_endpoint")
        )
        if not deleted:
            warn(f"container {name!r} was kept: it still holds blobs (or is already gone).")


def _url(target: StorageTarget, name: str) -> str:
    return f"{target.blob_endpoint}/{name}"


def _outputs(account: Account, name: str, target: StorageTarget, *, created: bool) -> dict[str, Any]:
    return {"container_name": name, **account.to_props(), "url": _url(target, name),
            "blob_endpoint": target.blob_endpoint, "created": created}
