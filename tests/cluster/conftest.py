"""Fixtures for the cluster fault tests.

- `cluster`: one cluster per test module (scripts/cluster up into a tmp dir, TESSERA_FAULTS=1),
  always torn down with scripts/cluster down, even when tests fail.
- `healthy`: function-scoped view of the module cluster; heals faults and restarts dead
  processes before and after the test, so tests sharing a cluster do not break each other.
- `fresh_cluster`: factory for a cluster of its own in one test (node_args like
  "--snapshot-logs 200"); torn down at the end of the test.

Measured recovery times are collected with cluster_helpers.report() and printed in the terminal
summary.
"""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("cluster_helpers")

from cluster_helpers import MEASUREMENTS, Cluster  # noqa: E402


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, request):
    c = Cluster(tmp_path_factory.mktemp(f"cluster-{request.module.__name__}"))
    try:
        c.up()
        yield c
    finally:
        c.down()


@pytest.fixture
def healthy(cluster):
    cluster.ensure_healthy()
    yield cluster
    cluster.ensure_healthy()


@pytest.fixture
def fresh_cluster(tmp_path):
    started: list[Cluster] = []

    def _start(node_args: str = "") -> Cluster:
        c = Cluster(tmp_path / f"cluster{len(started)}", node_args=node_args)
        started.append(c)
        return c.up()

    try:
        yield _start
    finally:
        for c in started:
            c.down()


def pytest_terminal_summary(terminalreporter):
    if MEASUREMENTS:
        terminalreporter.section("cluster measurements")
        for line in MEASUREMENTS:
            terminalreporter.write_line(line)
