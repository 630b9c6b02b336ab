"""Shared fixtures: one real Azurite per test run, and a fresh container per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from azurite_server import Azurite


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """A fresh in-memory Azurite on a free 127.0.0.1 port, stopped after the run."""
    server = Azurite().start()
    yield server
    server.stop()


@pytest.fixture
def container(azurite: Azurite) -> Iterator[str]:
    """A new, empty container in the session's Azurite, deleted afterwards."""
    from azure.storage.blob import BlobServiceClient

    name = f"t-{uuid.uuid4().hex[:12]}"
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    service.create_container(name)
    yield name
    service.delete_container(name)
