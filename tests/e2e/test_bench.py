"""`tessera bench` (the load generator) against the server: every workload runs with no
errors, its JSON report adds up, the load phase writes the records (checked with boto3), and the
inserting workloads (D, E) grow the key space. Operation counts, not durations, so the test does
the same work on any machine; no figure is asserted (those belong to benchmarks)."""

from __future__ import annotations

import json
import subprocess

import pytest

from e2e_helpers import tessera_bin, unique_name

RECORDS = 60
OPERATIONS = 150


def bench(endpoint: str, table: str, workload: str, *extra: str) -> dict:
    out = subprocess.run(
        [tessera_bin(), "bench", "--endpoint", endpoint, "--table", table, "--workload", workload,
         "--records", str(RECORDS), "--operations", str(OPERATIONS), "--warmup", "0",
         "--concurrency", "4", "--rows-per-partition", "5", "--json", "-", "--quiet", *extra],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def bench_table(endpoint, ddb):
    name = unique_name("bench")
    yield name
    try:
        ddb.delete_table(TableName=name)
    except ddb.exceptions.ResourceNotFoundException:
        pass


def test_bench_loads_records_and_runs_workload_a(endpoint, ddb, bench_table):
    """The first run creates the table and loads RECORDS items of 10 x 100 B fields under
    YCSB-style keys; workload A's reads and updates all succeed, and the report's totals are
    the sum of its operations."""
    report = bench(endpoint, bench_table, "a")
    assert report["load"]["records"] == RECORDS
    assert report["errors"] == {}
    assert set(report["operations"]) == {"read", "update"}
    assert report["total"]["operations"] == OPERATIONS
    assert sum(op["operations"] for op in report["operations"].values()) == OPERATIONS
    assert report["total"]["p50_ms"] <= report["total"]["p99_ms"] <= report["total"]["max_ms"]
    items = ddb.scan(TableName=bench_table, ConsistentRead=True)["Items"]
    assert len(items) == RECORDS
    item = ddb.get_item(TableName=bench_table, Key={"pk": {"S": "user0000000002"}, "sk": {"N": "3"}},
                        ConsistentRead=True)["Item"]
    assert sorted(k for k in item if k.startswith("field")) == [f"field{i}" for i in range(10)]
    assert all(len(item[f"field{i}"]["S"]) == 100 for i in range(10))


@pytest.mark.parametrize("workload,ops", [
    ("b", {"read", "update"}),
    ("c", {"read"}),
    ("f", {"read", "read_modify_write"}),
    ("get", {"read"}),
    ("put", {"put"}),
    ("noop", {"noop"}),
])
def test_bench_workloads_run_without_errors(endpoint, bench_table, workload, ops):
    """Each workload issues only its own operations, and every one succeeds."""
    report = bench(endpoint, bench_table, workload, "--no-load", "--consistent-read")
    assert report["errors"] == {}
    assert set(report["operations"]) == ops
    assert report["total"]["operations"] == OPERATIONS
    assert report["consistent_read"] is True


@pytest.mark.parametrize("workload,ops", [("d", {"read", "insert"}), ("e", {"scan", "insert"})])
def test_inserting_workloads_grow_the_key_space(endpoint, ddb, workload, ops):
    """Workloads D and E insert new records after the loaded ones (record RECORDS, RECORDS + 1,
    ...): the table ends with more than RECORDS items and none is lost."""
    table = unique_name(f"bench{workload}")
    try:
        report = bench(endpoint, table, workload)
        assert report["errors"] == {}
        assert set(report["operations"]) <= ops
        inserted = report["operations"].get("insert", {}).get("operations", 0)
        count = ddb.scan(TableName=table, Select="COUNT", ConsistentRead=True)["Count"]
        assert count == RECORDS + inserted
    finally:
        ddb.delete_table(TableName=table)


def test_bench_rejects_a_table_with_another_key_schema(endpoint, make_table):
    """A table whose keys are not pk (S) + sk (N) is refused before any load."""
    name = make_table()
    out = subprocess.run(
        [tessera_bin(), "bench", "--endpoint", endpoint, "--table", name, "--operations", "1", "--quiet"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode != 0
    assert "key schema" in out.stderr
