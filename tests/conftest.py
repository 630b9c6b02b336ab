"""Shared fixtures: one real Azurite per test process behind a recording proxy, and a fresh container per test.

Every request a test makes to Azurite (through vhdcore, the SDK helpers here, the command line or the
Pulumi provider processes) passes `wire`, which records its x-ms-version; after each test that used
Azurite, `pinned_version` asserts that all of them carried the pinned storage API version (or one of
the versions a test declares with @pytest.mark.api_versions(...)). Azurite itself runs without
--skipApiVersionCheck, so it refuses any version newer than its own.

The suite runs on pytest-xdist workers (pyproject.toml: -n auto --dist loadgroup; the count is chosen here, in
pytest_xdist_auto_num_workers). Session fixtures are per worker: each worker has its own Azurite and `wire`, so
request counts only ever see that worker's tests, which run one at a time.
"""

from __future__ import annotations

import fcntl
import gc
import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from azurite_server import ACCOUNT_KEY, Azurite
from xdist.scheduler import LoadScopeScheduling

from tests.e2e_support import E2E
from tests.faultproxy import FaultProxy, blob_service
from tests.images import TestImages, make_images
from vhdcore.azure.clouds import API_VERSION
from vhdcore.azure.credentials import StorageTarget

# Test processes for a run of the whole suite (or of a folder, or of more than FEW files). Most of a test's time
# is spent waiting (on the pulumi CLI and its provider processes, Azurite, qemu-img, retries' back-off), so on
# this 2-core machine 4 workers keep both cores busy; more only add contention (docs/development.md, "The test suite").
WORKERS = 4
FEW = 2


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """How many workers `-n auto` starts: WORKERS for the suite, a folder or many files; none (the tests run in
    this process, with no start-up cost) for a few named files or tests. PYTEST_XDIST_AUTO_NUM_WORKERS or an
    explicit -n N decide instead."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return int(os.environ["PYTEST_XDIST_AUTO_NUM_WORKERS"])
    files: set[Path] = set()
    for arg in config.args:
        path = Path(config.invocation_params.dir, arg.split("::")[0])
        if path.is_dir():
            return WORKERS
        files.add(path)
    return WORKERS if len(files) > FEW else 0


# Modules that run whole on one worker, in file order: their tests share state (test_interop's corruption table is
# filled by the cases before it). What tests only share because it is costly to make goes in run_wide instead.
WHOLE_MODULES = ("tests/test_interop.py",)


class SuiteScheduling(LoadScopeScheduling):
    """How the controller hands out tests (`--dist load`, the default here): one test at a time, whichever worker is
    free, except WHOLE_MODULES, each sent to one worker as a unit (xdist's `xdist_group` marks would do that, but
    its loadgroup mode finds no group under pytest 9.2, pytest-xdist issue #1386). Units go out in the order the
    workers collected them (pytest_collection_modifyitems: the engine tests first), the whole modules before all."""

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::", 1)[0]
        return module if module in WHOLE_MODULES else nodeid


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadScopeScheduling | None:
    return SuiteScheduling(config, log) if config.getvalue("dist") == "load" else None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a worker: the `e2e` tests (the real pulumi CLI, 5 to 80 s each) first, in file order, then the rest in file
    order. Handed out in that order, the long tests start while every worker has work, and the run ends on short
    ones instead of waiting on one long test that began last. Every worker sorts the same way, as xdist requires."""
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: item.get_closest_marker("e2e") is None)


# Lines for the end-of-run summary (tables that tests build for the reader). A worker's own terminal is not
# shown, so a worker hands its lines to the controller when it finishes; the controller prints them all.
SUMMARY = pytest.StashKey[list[str]]()


def summary_lines(config: pytest.Config) -> list[str]:
    return config.stash.setdefault(SUMMARY, [])


@pytest.fixture
def summary(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Adds a line to what the run prints after the tests (pytest's terminal summary)."""
    return summary_lines(request.config).append


def pytest_runtest_teardown(item: pytest.Item) -> None:
    # The Pulumi SDK leaves coroutines of inline-program runs the CLI did not finish for the garbage collector
    # (pyproject.toml's filterwarnings says why). Collected by chance while Python compiles source (pytest's
    # assertion rewriting, or a test's ast.parse), their cleanup breaks CPython 3.11.7's AST construction:
    # "SystemError: AST constructor recursion depth mismatch", in whatever runs then (seen: test_clouds' ast.parse on
    # a worker after the engine tests; hypothesis's import for the summary after test_e2e_killed alone, 3 of 4 runs).
    # Collected as each engine test ends, they are harmless.
    if item.get_closest_marker("e2e") is not None:
        gc.collect()


def pytest_sessionfinish(session: pytest.Session) -> None:
    gc.collect()  # anything the engine tests' teardown did not collect, before the summary imports (see above)
    if hasattr(session.config, "workeroutput"):  # an xdist worker: the controller prints them
        session.config.workeroutput["summary"] = summary_lines(session.config)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist's controller, as each worker finishes: its summary lines."""
    summary_lines(node.config).extend(getattr(node, "workeroutput", {}).get("summary", []))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = summary_lines(terminalreporter.config)
    if lines:
        terminalreporter.write_sep("-", "tables")
        for line in lines:
            terminalreporter.write_line(line)


# The storage variables a developer's shell may hold; tests that resolve credentials must not see them.
STORAGE_ENV = (
    "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_ACCOUNT_URL", "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_AUTH_MODE", "VHDCORE_STORAGE_API_VERSION",
)


@pytest.fixture(scope="session")
def wire() -> Iterator[FaultProxy]:
    """A fresh in-memory Azurite on a free 127.0.0.1 port, and the recording proxy every test reaches it by."""
    server = Azurite().start()
    try:
        with FaultProxy(f"http://127.0.0.1:{server.port}") as proxy:
            yield proxy
    finally:
        server.stop()


@pytest.fixture(scope="session")
def azurite(wire: FaultProxy) -> Azurite:
    """Azurite as the tests see it: its endpoint and connection string lead through `wire`."""
    return Azurite(port=wire.port)


@pytest.fixture(autouse=True)
def pinned_version(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used Azurite: every request it sent carried the pinned x-ms-version. Before it, the
    account kinds this process learnt are forgotten, so request counts do not depend on the test order."""
    if "azurite" not in request.fixturenames:
        yield
        return
    from vhdcore.azure.accounts import forget

    forget()
    wire: FaultProxy = request.getfixturevalue("wire")
    start = wire.requests
    yield
    marker = request.node.get_closest_marker("api_versions")
    allowed = {API_VERSION, *(marker.args if marker else ())}  # fixtures speak the pinned one anyway
    sent = wire.versions(start)
    assert sent <= allowed, f"requests carried x-ms-version {sorted(map(str, sent - allowed))}, not {sorted(allowed)}"


@pytest.fixture
def container(azurite: Azurite) -> Iterator[str]:
    """A new, empty container in the session's Azurite, deleted afterwards."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    service = blob_service(azurite.connection_string)
    service.create_container(name)
    yield name
    service.delete_container(name)


@pytest.fixture
def e2e(azurite: Azurite) -> Iterator[E2E]:
    """A fresh stack of the project on the session's Azurite (tests/e2e_support.py). At the end it is destroyed
    and removed, and everything its operations showed is scanned for the secrets registered in `e2e.scan`."""
    env = E2E(azurite)
    yield env
    env.finish()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A 127.0.0.1 port where nothing listens, for this test: bound by a socket that never listens, so connections
    are refused and no other process (test workers start servers on free ports all the time) can take it meanwhile."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def service(azurite: Azurite) -> Iterator[BlobServiceClient]:
    """A client of the session's Azurite, straight (no proxy), speaking the pinned API version."""
    with blob_service(azurite.connection_string) as client:
        yield client


@pytest.fixture
def direct(azurite: Azurite) -> StorageTarget:
    """A target that reaches the session's Azurite directly."""
    return StorageTarget(connection_string=azurite.connection_string)


@pytest.fixture
def no_storage_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in STORAGE_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def no_container_lookup(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """For check() tests whose accounts are made up (hosts that do not exist): the disk providers' look for the
    container (StorageProvider.check_container) is recorded as (container, blob) instead of sent."""
    import vhdcore

    asked: list[tuple[str, str]] = []

    def record(target: StorageTarget, name: str, *, blob: str, options: object = None) -> None:
        asked.append((name, blob))

    monkeypatch.setattr(vhdcore, "require_container", record)
    return asked


@pytest.fixture
def proxy(azurite: Azurite) -> Iterator[FaultProxy]:
    """A fault-injecting, counting proxy in front of the session's Azurite."""
    with FaultProxy(f"http://127.0.0.1:{azurite.port}") as running:
        yield running


@pytest.fixture
def second_proxy(azurite: Azurite) -> Iterator[FaultProxy]:
    """Another proxy in front of the same Azurite: another endpoint, so another account to a client or a cache."""
    with FaultProxy(f"http://127.0.0.1:{azurite.port}") as running:
        yield running


def via(proxy: FaultProxy) -> StorageTarget:
    """A target that reaches Azurite through `proxy`."""
    return StorageTarget(account_url=proxy.endpoint(), account_key=ACCOUNT_KEY)


@contextmanager
def run_wide(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[tuple[Path, bool]]:
    """A folder that every test process of this run shares, and whether it is made already. The first process to
    ask makes it (its `with` block); the others wait on a file lock meanwhile, then find it made. Session fixtures
    are per worker: this is how the workers share what costs time to make and never changes."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the workers' basetemps share a parent
    directory, made = root / name, root / f"{name}.made"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        done = made.exists()
        if not done:
            shutil.rmtree(directory, ignore_errors=True)  # what a process that failed half-way left
            directory.mkdir()
        yield directory, done
        made.touch()


def shared_images(tmp_path_factory: pytest.TempPathFactory, name: str, **options: Any) -> TestImages:
    """make_images(**options), made by qemu-img once per run, in a folder all test processes read."""
    with run_wide(tmp_path_factory, name) as (directory, done):
        return make_images(directory, write=not done, **options)


@pytest.fixture(scope="session")
def test_images(tmp_path_factory: pytest.TempPathFactory) -> TestImages:
    """The known 5 MiB + 1536 raw disk and qemu-img's conversions of it to every format (tests/images.py). Tests
    only read them."""
    return shared_images(tmp_path_factory, "images")
