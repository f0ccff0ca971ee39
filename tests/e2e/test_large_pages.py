"""Query and Scan over more than 1 MB: a page stops at about 1 MB of data read with a
LastEvaluatedKey, and the pages together return every item exactly once. The same limit caps
filtered and Select=COUNT reads."""

from __future__ import annotations

import pytest

from e2e_helpers import batch_put, create_table, unique_name

N_ITEMS = 1500
PAYLOAD = 1000  # bytes of the 'd' attribute; item size ~ 1011 bytes -> ~1.5 MB in all
MB = 1024 * 1024
# ~1 MB of ~1011-byte items is ~1037 items; allow for size-accounting differences.
PAGE_MIN, PAGE_MAX = 900, 1100


@pytest.fixture(scope="module")
def big_table(ddb):
    name = unique_name("big")
    create_table(ddb, name, range_key=("sk", "N"))
    batch_put(ddb, name, [
        {"pk": {"S": "big"}, "sk": {"N": str(i)}, "d": {"S": chr(ord("a") + i % 26) * PAYLOAD}}
        for i in range(N_ITEMS)
    ])
    yield name
    ddb.delete_table(TableName=name)


def item_size(item) -> int:
    """DynamoDB size of an item holding only S and N values (names + values)."""
    total = 0
    for name, av in item.items():
        total += len(name.encode())
        if "S" in av:
            total += len(av["S"].encode())
        else:
            digits = av["N"].lstrip("-").replace(".", "").strip("0") or "0"
            total += 1 + (len(digits) + 1) // 2
    return total


def _pages(call, **kwargs):
    pages, start = [], None
    for _ in range(10):
        resp = call(**kwargs, **({"ExclusiveStartKey": start} if start else {}))
        pages.append(resp)
        start = resp.get("LastEvaluatedKey")
        if not start:
            return pages
    pytest.fail("more than 10 pages for 1.5 MB")


@pytest.mark.parametrize("op", ["query", "query-backward", "scan"])
def test_one_megabyte_pages(ddb, big_table, op):
    """Without Limit, the first page stops at ~1 MB (well under all 1500 items) with a
    LastEvaluatedKey; following it returns the rest; every item comes back exactly once, in
    sort-key order (descending for a backward Query)."""
    if op.startswith("query"):
        pages = _pages(ddb.query, TableName=big_table, KeyConditionExpression="pk = :p",
                       ScanIndexForward=(op == "query"), ExpressionAttributeValues={":p": {"S": "big"}})
    else:
        pages = _pages(ddb.scan, TableName=big_table)
    first = pages[0]
    assert "LastEvaluatedKey" in first, "a 1.5 MB result must be split"
    assert PAGE_MIN <= len(first["Items"]) <= PAGE_MAX, len(first["Items"])
    size = sum(item_size(it) for it in first["Items"])
    assert 0.85 * MB <= size <= 1.1 * MB, size
    assert first["LastEvaluatedKey"] == {"pk": first["Items"][-1]["pk"], "sk": first["Items"][-1]["sk"]}
    assert len(pages) in (2, 3)  # a third, empty page is allowed
    sks = [int(it["sk"]["N"]) for p in pages for it in p["Items"]]
    assert sks == (list(reversed(range(N_ITEMS))) if op == "query-backward" else list(range(N_ITEMS)))
    for p in pages:
        assert p["Count"] == len(p["Items"])


def test_one_megabyte_limit_applies_before_filter(ddb, big_table):
    """A FilterExpression that matches nothing still stops the page at ~1 MB read: Count 0,
    ScannedCount ~1000, LastEvaluatedKey present; following pages scan the rest."""
    pages = _pages(ddb.query, TableName=big_table, KeyConditionExpression="pk = :p",
                   FilterExpression="d = :none",
                   ExpressionAttributeValues={":p": {"S": "big"}, ":none": {"S": "nothing"}})
    first = pages[0]
    assert first["Count"] == 0 and first["Items"] == []
    assert PAGE_MIN <= first["ScannedCount"] <= PAGE_MAX, first["ScannedCount"]
    assert "LastEvaluatedKey" in first
    assert sum(p["ScannedCount"] for p in pages) == N_ITEMS


def test_one_megabyte_limit_applies_to_select_count(ddb, big_table):
    """Select=COUNT is capped by the same ~1 MB read: the first page counts ~1000 items and
    returns a LastEvaluatedKey; the pages' Counts add up to every item."""
    pages = _pages(ddb.scan, TableName=big_table, Select="COUNT")
    first = pages[0]
    assert "Items" not in first
    assert PAGE_MIN <= first["Count"] <= PAGE_MAX, first["Count"]
    assert "LastEvaluatedKey" in first
    assert sum(p["Count"] for p in pages) == N_ITEMS


def test_small_limit_still_paginates_big_table(ddb, big_table):
    """With Limit=500 the Limit (not the 1 MB cap) ends each page: pages of exactly 500 items."""
    pages = _pages(ddb.query, TableName=big_table, KeyConditionExpression="pk = :p",
                   ExpressionAttributeValues={":p": {"S": "big"}}, Limit=500, ScanIndexForward=False)
    counts = [len(p["Items"]) for p in pages]
    assert counts[:3] == [500, 500, 500]
    sks = [int(it["sk"]["N"]) for p in pages for it in p["Items"]]
    assert sks == list(reversed(range(N_ITEMS)))


def test_batch_get_16mb_response_cap(ddb, make_table):
    """BatchGetItem over ~19 MB of items (50 x ~390 KB) answers at most 16 MB of items (AWS API
    reference: "returns 52 items (so as not to exceed the 16 MB limit)") with the rest in
    UnprocessedKeys; re-requesting UnprocessedKeys returns every item exactly once."""
    t = make_table()
    blob = "z" * 390_000
    for start in range(0, 50, 10):
        r = ddb.batch_write_item(RequestItems={t: [
            {"PutRequest": {"Item": {"pk": {"S": f"k{i:02d}"}, "d": {"S": blob}}}} for i in range(start, start + 10)
        ]})
        assert r["UnprocessedItems"] == {}
    request = {t: {"Keys": [{"pk": {"S": f"k{i:02d}"}} for i in range(50)]}}
    got, rounds = [], 0
    while request:
        rounds += 1
        assert rounds <= 10
        r = ddb.batch_get_item(RequestItems=request)
        items = r["Responses"].get(t, [])
        assert sum(item_size(it) for it in items) <= 16 * MB
        got += [it["pk"]["S"] for it in items]
        request = r.get("UnprocessedKeys") or {}
        if rounds == 1:
            assert request, "19 MB cannot come back in one BatchGetItem response"
    assert sorted(got) == [f"k{i:02d}" for i in range(50)]
