"""Query and Scan through boto3: every key-condition operator in both directions, key ordering
for N/S/B sort keys, Limit + ExclusiveStartKey pagination, FilterExpression (Count vs
ScannedCount), Select COUNT, ProjectionExpression, and parallel Scan segments."""

from __future__ import annotations

import pytest

from e2e_helpers import batch_put, create_table, expect_error, unique_name

NUM_SKS = ["-5", "1", "2", "2.5", "3", "10", "100"]  # ascending by numeric value


@pytest.fixture(scope="module")
def qtable(ddb):
    """pk S + sk N with partition 'q' holding NUM_SKS (numeric order differs from string order)
    and a neighbour partition 'other' that must never leak into 'q' results."""
    name = unique_name("query-num")
    create_table(ddb, name, range_key=("sk", "N"))
    items = []
    for i, sk in enumerate(NUM_SKS):
        items.append({"pk": {"S": "q"}, "sk": {"N": sk}, "grp": {"S": "even" if i % 2 == 0 else "odd"},
                      "pos": {"N": str(i)}, "payload": {"S": "x" * 10}})
    for i in range(5):
        items.append({"pk": {"S": "other"}, "sk": {"N": str(i)}, "grp": {"S": "even"}})
    batch_put(ddb, name, items)
    yield name
    ddb.delete_table(TableName=name)


def sks(resp):
    return [it["sk"]["N"] for it in resp["Items"]]


def query(ddb, table, cond, values, **kw):
    values = {":p": {"S": "q"}, **values}
    return ddb.query(TableName=table, KeyConditionExpression=cond, ExpressionAttributeValues=values, **kw)


@pytest.mark.parametrize(
    "cond, values, expected",
    [
        ("pk = :p", {}, NUM_SKS),
        ("pk = :p AND sk = :v", {":v": {"N": "2"}}, ["2"]),
        ("pk = :p AND sk = :v", {":v": {"N": "2.0"}}, ["2"]),
        ("pk = :p AND sk < :v", {":v": {"N": "2"}}, ["-5", "1"]),
        ("pk = :p AND sk <= :v", {":v": {"N": "2"}}, ["-5", "1", "2"]),
        ("pk = :p AND sk > :v", {":v": {"N": "3"}}, ["10", "100"]),
        ("pk = :p AND sk >= :v", {":v": {"N": "3"}}, ["3", "10", "100"]),
        ("pk = :p AND sk BETWEEN :lo AND :hi", {":lo": {"N": "1"}, ":hi": {"N": "3"}}, ["1", "2", "2.5", "3"]),
        ("pk = :p AND sk BETWEEN :lo AND :hi", {":lo": {"N": "4"}, ":hi": {"N": "9"}}, []),
        ("sk > :v AND pk = :p", {":v": {"N": "50"}}, ["100"]),
        ("(pk = :p) AND (sk < :v)", {":v": {"N": "0"}}, ["-5"]),
    ],
)
def test_query_key_conditions_both_directions(ddb, qtable, cond, values, expected):
    """Each key-condition operator (=, <, <=, >, >=, BETWEEN; also reversed clause order and
    parentheses) selects exactly the matching sort keys of one partition, in ascending numeric
    order with ScanIndexForward=True (default) and descending with False."""
    fwd = query(ddb, qtable, cond, values)
    assert sks(fwd) == expected
    assert fwd["Count"] == len(expected) == fwd["ScannedCount"]
    back = query(ddb, qtable, cond, values, ScanIndexForward=False)
    assert sks(back) == list(reversed(expected))


def test_query_string_sort_key_begins_with_and_between(ddb, make_table):
    """On an S sort key: begins_with selects the prefix range, BETWEEN is inclusive, and order
    is by UTF-8 bytes ('#' < 'b'), in both directions."""
    name = make_table(range_key=("sk", "S"))
    keys = ["a", "a#1", "a#2", "ab", "b", "b#1", "ba", "c", "é"]
    batch_put(ddb, name, [{"pk": {"S": "s"}, "sk": {"S": k}} for k in keys])

    def q(cond, vals, fwd=True):
        resp = ddb.query(TableName=name, KeyConditionExpression=cond, ScanIndexForward=fwd,
                         ExpressionAttributeValues={":p": {"S": "s"}, **vals})
        return [it["sk"]["S"] for it in resp["Items"]]

    assert q("pk = :p", {}) == keys
    assert q("pk = :p AND begins_with(sk, :x)", {":x": {"S": "a#"}}) == ["a#1", "a#2"]
    assert q("pk = :p AND begins_with(sk, :x)", {":x": {"S": "a"}}) == ["a", "a#1", "a#2", "ab"]
    assert q("pk = :p AND begins_with(sk, :x)", {":x": {"S": "a"}}, fwd=False) == ["ab", "a#2", "a#1", "a"]
    assert q("pk = :p AND begins_with(sk, :x)", {":x": {"S": "z"}}) == []
    assert q("pk = :p AND sk BETWEEN :lo AND :hi", {":lo": {"S": "a#"}, ":hi": {"S": "b"}}) == ["a#1", "a#2", "ab", "b"]
    assert q("pk = :p AND sk > :x", {":x": {"S": "c"}}) == ["é"]


def test_query_number_sort_key_order(ddb, make_table):
    """Numbers sort by value, not by text: negatives, fractions, exponents and huge/tiny
    magnitudes come back in numeric order."""
    name = make_table(range_key=("sk", "N"))
    values = ["-1e10", "-100", "-2.5", "-0.001", "0", "0.000001", "0.5", "1", "9", "10", "1e20", "9.99e125"]
    normalised = ["-10000000000", "-100", "-2.5", "-0.001", "0", "0.000001", "0.5", "1", "9", "10",
                  "100000000000000000000", "999" + "0" * 123]
    batch_put(ddb, name, [{"pk": {"S": "n"}, "sk": {"N": v}} for v in reversed(values)])
    resp = ddb.query(TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "n"}})
    assert [it["sk"]["N"] for it in resp["Items"]] == normalised


def test_query_binary_sort_key_order(ddb, make_table):
    """B sort keys order as unsigned bytes (0x7f < 0x80 < 0xff; a prefix sorts first), and
    begins_with works on binary."""
    name = make_table(range_key=("sk", "B"))
    keys = [b"\x00", b"\x01", b"\x01\x00", b"\x7f", b"\x80", b"\xff"]
    batch_put(ddb, name, [{"pk": {"S": "b"}, "sk": {"B": k}} for k in reversed(keys)])
    resp = ddb.query(TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "b"}})
    assert [it["sk"]["B"] for it in resp["Items"]] == keys
    resp = ddb.query(TableName=name, KeyConditionExpression="pk = :p AND begins_with(sk, :x)",
                     ExpressionAttributeValues={":p": {"S": "b"}, ":x": {"B": b"\x01"}})
    assert [it["sk"]["B"] for it in resp["Items"]] == [b"\x01", b"\x01\x00"]


@pytest.mark.parametrize("forward", [True, False])
@pytest.mark.parametrize("limit", [1, 2, 3, 7, 8])
def test_query_limit_pagination(ddb, qtable, forward, limit):
    """Limit caps each page; LastEvaluatedKey holds exactly the key attributes of the last item
    returned; feeding it back as ExclusiveStartKey walks the partition without gaps or
    repeats, in either direction."""
    seen = []
    kwargs = {}
    for _ in range(20):
        resp = query(ddb, qtable, "pk = :p", {}, Limit=limit, ScanIndexForward=forward, **kwargs)
        assert len(resp["Items"]) <= limit
        seen += sks(resp)
        lek = resp.get("LastEvaluatedKey")
        if not lek:
            break
        assert set(lek) == {"pk", "sk"}
        assert lek == {"pk": resp["Items"][-1]["pk"], "sk": resp["Items"][-1]["sk"]}
        kwargs = {"ExclusiveStartKey": lek}
    else:
        pytest.fail("pagination did not finish")
    assert seen == (NUM_SKS if forward else list(reversed(NUM_SKS)))


def test_query_exclusive_start_key_mid_range(ddb, qtable):
    """An ExclusiveStartKey inside a BETWEEN range resumes strictly after that key (forward) or
    strictly before it (backward)."""
    cond = "pk = :p AND sk BETWEEN :lo AND :hi"
    vals = {":lo": {"N": "1"}, ":hi": {"N": "10"}}
    start = {"pk": {"S": "q"}, "sk": {"N": "2"}}
    assert sks(query(ddb, qtable, cond, vals, ExclusiveStartKey=start)) == ["2.5", "3", "10"]
    assert sks(query(ddb, qtable, cond, vals, ExclusiveStartKey=start, ScanIndexForward=False)) == ["1"]


def test_query_filter_counts(ddb, qtable):
    """FilterExpression drops items after they are read: Count is the number returned,
    ScannedCount the number read; with Limit the limit applies to items read, not returned."""
    resp = query(ddb, qtable, "pk = :p", {":g": {"S": "odd"}}, FilterExpression="grp = :g")
    assert sks(resp) == ["1", "2.5", "10"]
    assert resp["Count"] == 3
    assert resp["ScannedCount"] == 7

    resp = query(ddb, qtable, "pk = :p", {":g": {"S": "odd"}}, FilterExpression="grp = :g", Limit=4)
    assert resp["ScannedCount"] == 4
    assert sks(resp) == ["1", "2.5"]
    assert resp["Count"] == 2
    assert resp["LastEvaluatedKey"] == {"pk": {"S": "q"}, "sk": {"N": "2.5"}}

    # A page where nothing passes the filter still reports progress.
    resp = query(ddb, qtable, "pk = :p", {":g": {"S": "odd"}}, FilterExpression="grp = :g", Limit=1)
    assert resp["Count"] == 0 and resp["Items"] == [] and resp["ScannedCount"] == 1
    assert resp["LastEvaluatedKey"] == {"pk": {"S": "q"}, "sk": {"N": "-5"}}


def test_query_select_count(ddb, qtable):
    """Select=COUNT returns Count/ScannedCount and no Items, with and without a filter."""
    resp = query(ddb, qtable, "pk = :p", {}, Select="COUNT")
    assert "Items" not in resp
    assert resp["Count"] == 7 and resp["ScannedCount"] == 7
    resp = query(ddb, qtable, "pk = :p AND sk > :v", {":v": {"N": "1"}, ":g": {"S": "even"}},
                 Select="COUNT", FilterExpression="grp = :g")
    assert "Items" not in resp
    assert resp["ScannedCount"] == 5
    assert resp["Count"] == 3  # sk 2, 3 and 100 (positions 2, 4, 6)


def test_query_projection_and_names(ddb, qtable):
    """Query with ProjectionExpression and #names on the key condition returns only the
    projected attributes."""
    resp = ddb.query(
        TableName=qtable, KeyConditionExpression="#p = :p AND #s >= :v",
        ExpressionAttributeNames={"#p": "pk", "#s": "sk", "#g": "grp"},
        ExpressionAttributeValues={":p": {"S": "q"}, ":v": {"N": "10"}},
        ProjectionExpression="#s, #g",
    )
    assert resp["Items"] == [
        {"sk": {"N": "10"}, "grp": {"S": "odd"}},
        {"sk": {"N": "100"}, "grp": {"S": "even"}},
    ]


def test_query_empty_partition(ddb, qtable):
    """Query of a partition with no items answers Count 0, empty Items, no LastEvaluatedKey."""
    resp = ddb.query(TableName=qtable, KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": "nobody"}})
    assert resp["Items"] == [] and resp["Count"] == 0 and resp["ScannedCount"] == 0
    assert "LastEvaluatedKey" not in resp


def test_query_missing_table(ddb):
    """Query of an unknown table: ResourceNotFoundException 'Requested resource not found'."""
    expect_error(
        ddb.query, "ResourceNotFoundException", "Requested resource not found",
        TableName=unique_name("missing"), KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "x"}},
    )


# --- Scan ---------------------------------------------------------------------------------

SCAN_N = 60


@pytest.fixture(scope="module")
def stable(ddb):
    """A hash+range table with SCAN_N items spread over 12 partitions."""
    name = unique_name("scan")
    create_table(ddb, name, range_key=("sk", "N"))
    batch_put(ddb, name, [
        {"pk": {"S": f"p{i % 12}"}, "sk": {"N": str(i)}, "n": {"N": str(i)}, "odd": {"BOOL": i % 2 == 1}}
        for i in range(SCAN_N)
    ])
    yield name
    ddb.delete_table(TableName=name)


def ids(items):
    return [int(it["n"]["N"]) for it in items]


def test_scan_all(ddb, stable):
    """A Scan without Limit returns every item once, Count == ScannedCount == number of items,
    and no LastEvaluatedKey (the table is far below 1 MB)."""
    resp = ddb.scan(TableName=stable)
    assert sorted(ids(resp["Items"])) == list(range(SCAN_N))
    assert resp["Count"] == SCAN_N == resp["ScannedCount"]
    assert "LastEvaluatedKey" not in resp


def test_scan_items_of_a_partition_are_in_sort_order(ddb, stable):
    """Within one partition, Scan returns items in ascending sort-key order."""
    resp = ddb.scan(TableName=stable)
    by_pk = {}
    for it in resp["Items"]:
        by_pk.setdefault(it["pk"]["S"], []).append(int(it["sk"]["N"]))
    for pk, sks_ in by_pk.items():
        assert sks_ == sorted(sks_), pk


def test_scan_filter_counts(ddb, stable):
    """Scan FilterExpression: Count counts matching items, ScannedCount every item read."""
    resp = ddb.scan(TableName=stable, FilterExpression="n < :x AND odd = :t",
                    ExpressionAttributeValues={":x": {"N": "20"}, ":t": {"BOOL": True}})
    assert sorted(ids(resp["Items"])) == list(range(1, 20, 2))
    assert resp["Count"] == 10
    assert resp["ScannedCount"] == SCAN_N
    resp = ddb.scan(TableName=stable, Select="COUNT", FilterExpression="odd = :t",
                    ExpressionAttributeValues={":t": {"BOOL": True}})
    assert "Items" not in resp
    assert resp["Count"] == SCAN_N // 2 and resp["ScannedCount"] == SCAN_N


@pytest.mark.parametrize("limit", [1, 7, 60])
def test_scan_limit_pagination(ddb, stable, limit):
    """Scan with Limit pages through the table with LastEvaluatedKey/ExclusiveStartKey, each
    page at most Limit items, every item exactly once."""
    seen, kwargs = [], {}
    for _ in range(SCAN_N + 5):
        resp = ddb.scan(TableName=stable, Limit=limit, **kwargs)
        assert len(resp["Items"]) <= limit
        assert resp["ScannedCount"] <= limit
        seen += ids(resp["Items"])
        if "LastEvaluatedKey" not in resp:
            break
        assert set(resp["LastEvaluatedKey"]) == {"pk", "sk"}
        kwargs = {"ExclusiveStartKey": resp["LastEvaluatedKey"]}
    else:
        pytest.fail("scan pagination did not finish")
    assert sorted(seen) == list(range(SCAN_N))


@pytest.mark.parametrize("total", [1, 2, 3, 4, 7, 16])
def test_parallel_scan_segments(ddb, stable, total):
    """Segment/TotalSegments: the segments (each paged with Limit) together return every item
    exactly once."""
    seen = []
    for seg in range(total):
        kwargs = {}
        while True:
            resp = ddb.scan(TableName=stable, Segment=seg, TotalSegments=total, Limit=5, **kwargs)
            seen += ids(resp["Items"])
            if "LastEvaluatedKey" not in resp:
                break
            kwargs = {"ExclusiveStartKey": resp["LastEvaluatedKey"]}
    assert sorted(seen) == list(range(SCAN_N))


def test_parallel_scan_bad_segment(ddb, stable):
    """Segment must be below TotalSegments: Segment == TotalSegments is a ValidationException."""
    expect_error(ddb.scan, "ValidationException", TableName=stable, Segment=2, TotalSegments=2)


def test_scan_paginator(ddb, stable):
    """boto3's scan paginator (PageSize) yields every item exactly once."""
    seen = []
    for page in ddb.get_paginator("scan").paginate(TableName=stable, PaginationConfig={"PageSize": 9}):
        seen += ids(page["Items"])
    assert sorted(seen) == list(range(SCAN_N))


def test_pagination_survives_deleting_the_last_evaluated_item(ddb, make_table):
    """If the item named by LastEvaluatedKey is deleted before the next page is requested, the
    next page still starts right after that key (no repeats, no gaps)."""
    t = make_table(range_key=("sk", "N"))
    batch_put(ddb, t, [{"pk": {"S": "d"}, "sk": {"N": str(i)}} for i in range(20)])
    seen, kwargs = [], {}
    while True:
        resp = ddb.query(TableName=t, KeyConditionExpression="pk = :p", Limit=5,
                         ExpressionAttributeValues={":p": {"S": "d"}}, **kwargs)
        seen += [int(it["sk"]["N"]) for it in resp["Items"]]
        lek = resp.get("LastEvaluatedKey")
        if not lek:
            break
        ddb.delete_item(TableName=t, Key=lek)
        kwargs = {"ExclusiveStartKey": lek}
    assert seen == list(range(20))
    remaining = ddb.query(TableName=t, KeyConditionExpression="pk = :p",
                          ExpressionAttributeValues={":p": {"S": "d"}})
    assert len(remaining["Items"]) in (16, 17)  # 4 (or 5 if a last empty page was needed) deleted


def test_exclusive_start_key_need_not_exist(ddb, qtable):
    """An ExclusiveStartKey that names no stored item still positions the Query by key order."""
    resp = query(ddb, qtable, "pk = :p", {}, ExclusiveStartKey={"pk": {"S": "q"}, "sk": {"N": "2.7"}})
    assert sks(resp) == ["3", "10", "100"]
    resp = query(ddb, qtable, "pk = :p", {}, ExclusiveStartKey={"pk": {"S": "q"}, "sk": {"N": "2.7"}},
                 ScanIndexForward=False)
    assert sks(resp) == ["2.5", "2", "1", "-5"]
