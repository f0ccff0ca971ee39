"""Fixtures for the end-to-end suite.

- `server`: one `tessera local --port 0 --data-dir <tmp>` for the whole session (fast).
- `start_server`: factory for extra servers in one test (restart / durability tests); every
  server it started is stopped at teardown, even when the test fails.
- `ddb` / `ddb_resource`: boto3 client and resource on the session server (no retries).
- `table_name` / `make_table`: unique table names per test, so tests are independent.
- `aws`: runs the AWS CLI against the session server -> (exit code, parsed JSON, stderr).
"""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("e2e_helpers")

from e2e_helpers import Server, create_table, make_client, make_resource, run_aws, unique_name  # noqa: E402


@pytest.fixture(scope="session")
def server(tmp_path_factory):
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
