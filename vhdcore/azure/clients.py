"""Which client a request goes out on: a new one per call, closed after it (the default), or one kept open between
calls, for a process that makes many calls to the same accounts.

Building a BlobServiceClient and opening its connection cost about as much CPU as the request itself, and a
client built without a key or SAS makes a DefaultAzureCredential that fetches its own token. The provider plugin,
and the dynamic resources' provider process, each serve the requests of one engine run, so they keep their clients
(KEPT_CLIENTS, set in the context of each call):
- one client per (target, options) and per thread: a target holds the account and its credentials, so two accounts,
  or two credentials for one account, never share a client, and no client is used by two calls at once (the
  requests session under it is not made for that); the threads of one operation (an upload's writes) share the
  client of the call that started it, as they do with a client built for that call;
- only for options made of plain values: a transport, credential, retry policy or callback of the caller's belongs
  to that call;
- closed with the KeptClients (the plugin's process ends with the engine run).

Nothing here imports the Azure SDK: StorageTarget.service_client does, when the first client is built.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .credentials import ClientOptions, StorageTarget

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient

_Key = tuple[StorageTarget, ClientOptions]


class KeptClients:
    """Clients kept open between calls, one per target, options and thread; close() closes them all."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._every: list[BlobServiceClient] = []
        self._lock = threading.Lock()
        self._closed = False

    def client(self, target: StorageTarget, options: ClientOptions) -> BlobServiceClient | None:
        """This thread's open client for `target` with `options`, built on first use; None when the options are
        the caller's own objects (the call then builds its own client) or the clients were closed."""
        if self._closed or not _plain(options):
            return None
        kept: dict[_Key, BlobServiceClient] = self._local.__dict__.setdefault("clients", {})
        client = kept.get((target, options))
        if client is None:
            with self._lock:
                if self._closed:
                    return None
                client = target.service_client(options)
                client.__enter__()  # opens the transport once; the client's own `with` would close it after the call
                self._every.append(client)
            kept[(target, options)] = client
        return client

    def close(self) -> None:
        """Close every kept client (and the credential each one built); later calls build their own again."""
        with self._lock:
            self._closed = True
            every, self._every = self._every, []
        for client in every:
            client.__exit__(None, None, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._every)


# The KeptClients the calls in this context use; None (the default): a new client per call.
KEPT_CLIENTS: contextvars.ContextVar[KeptClients | None] = contextvars.ContextVar("kept_clients", default=None)


@contextmanager
def open_client(target: StorageTarget, options: ClientOptions | None) -> Iterator[BlobServiceClient]:
    """A client for one call on `target`: the context's kept one, else a new one closed when the block ends."""
    kept = KEPT_CLIENTS.get()
    client = kept.client(target, options or ClientOptions()) if kept is not None else None
    if client is not None:
        target.validate()  # as service_client does for a new one: a kept client never skips the checks
        yield client
        return
    with target.service_client(options) as service:
        yield service


def _plain(options: ClientOptions) -> bool:
    return all(value is None for value in (options.transport, options.credential, options.retry_policy,
                                            options.on_retry))
