"""Fixtures for the end-to-end suite.

- `server`: one `tessera local --port 0 --data-dir <tmp>` for the whole session (fast).
- `start_server`: factory for extra servers in one test (restart / durability tests); every
  server it started is stopped at teardown, even when the test fails.
- `ddb` / `ddb_resource`: boto3 client and resource on the session server (no retries).
- `table_name` / `make_table`: unique table names per test, so tests are independent.
- `aws`: runs the AWS CLI against the session server -> (exit code, parsed JSON, stderr).

With TESSERA_ENDPOINT=http://HOST:PORT set, `server`/`endpoint` use that endpoint (e.g. a cluster
router from scripts/cluster) instead of starting `tessera local`, and tests that start their own
servers (`start_server`: durability, restarts) are skipped. Reads without ConsistentRead are then
sent as strongly consistent (see e2e_helpers.force_consistent_reads; TESSERA_E2E_STRONG_READS=0
turns that off) and tests of read-after-write with ConsistentRead=False are skipped.
"""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("e2e_helpers")

from e2e_helpers import (  # noqa: E402
    EVENTUAL_READ_AFTER_WRITE_TESTS,
    EXTERNAL_ENDPOINT,
    ExternalServer,
    Server,
    create_table,
    make_client,
    make_resource,
    run_aws,
    force_consistent_reads,
    strong_reads_by_default,
    unique_name,
)

if strong_reads_by_default():
    force_consistent_reads()


def pytest_collection_modifyitems(items):
    if not strong_reads_by_default():
        return
    skip = pytest.mark.skip(reason="reads with ConsistentRead=False right after a write: only tessera local "
                                   "promises that; a cluster's replicas may lag (TESSERA_ENDPOINT is set)")
    for item in items:
        if f"{item.path.name}::{item.name}" in EVENTUAL_READ_AFTER_WRITE_TESTS:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    if EXTERNAL_ENDPOINT:
        yield ExternalServer(EXTERNAL_ENDPOINT)
        return
    srv = Server(tmp_path_factory.mktemp("tessera-session"))
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def endpoint(server) -> str:
    return server.endpoint


@pytest.fixture(scope="session")
def ddb(endpoint):
    return make_client(endpoint)


@pytest.fixture(scope="session")
def ddb_resource(endpoint):
    return make_resource(endpoint)


@pytest.fixture
def start_server(tmp_path):
    """start_server(data_dir=None, in_memory=False) -> a started Server. Reuse a data dir by
    passing the previous server's `data_dir` (or call `srv.start()` again after `srv.kill()`)."""
    if EXTERNAL_ENDPOINT:
        pytest.skip(f"starts its own tessera local server; not run against TESSERA_ENDPOINT={EXTERNAL_ENDPOINT}")
    started: list[Server] = []

    def _start(data_dir=None, in_memory: bool = False) -> Server:
        srv = Server(tmp_path / f"server{len(started)}", data_dir=data_dir, in_memory=in_memory)
        started.append(srv)
        return srv.start()

    yield _start
    for srv in started:
        srv.stop()


@pytest.fixture
def table_name(request) -> str:
    return unique_name(request.node.name)


@pytest.fixture
def make_table(ddb, request):
    """make_table(hash_key=("pk","S"), range_key=None, **CreateTable extras) -> table name.
    The table is ACTIVE on return and deleted (best effort) after the test."""
    created: list[str] = []

    def _make(hash_key=("pk", "S"), range_key=None, name: str | None = None, **extra) -> str:
        name = name or unique_name(request.node.name)
        create_table(ddb, name, hash_key=hash_key, range_key=range_key, **extra)
        created.append(name)
        return name

    yield _make
    for name in created:
        try:
            ddb.delete_table(TableName=name)
        except Exception:  # noqa: BLE001 - cleanup only; the test may have deleted it itself
            pass


@pytest.fixture
def aws(endpoint):
    def _run(*args: str, timeout: float = 120):
        return run_aws(endpoint, *args, timeout=timeout)

    return _run
