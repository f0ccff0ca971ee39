"""BatchWriteItem and BatchGetItem through boto3: limits (25 writes, 100 keys), mixed puts and
deletes across tables, UnprocessedItems/UnprocessedKeys, duplicates, projections."""

from __future__ import annotations

from e2e_helpers import expect_error, unique_name

DUP_MSG = "Provided list of item keys contains duplicates"


def put(pk, **attrs):
    item = {"pk": {"S": pk}}
    item.update({k: {"S": v} for k, v in attrs.items()})
    return {"PutRequest": {"Item": item}}


def delete(pk):
    return {"DeleteRequest": {"Key": {"pk": {"S": pk}}}}


def test_batch_write_mixed_puts_and_deletes_across_tables(ddb, make_table):
    """One BatchWriteItem with puts and deletes on two tables applies all of them and answers an
    empty UnprocessedItems."""
    t1, t2 = make_table(), make_table()
    for t in (t1, t2):
        ddb.put_item(TableName=t, Item={"pk": {"S": "old1"}})
        ddb.put_item(TableName=t, Item={"pk": {"S": "old2"}})
    resp = ddb.batch_write_item(RequestItems={
        t1: [put("a", v="1"), put("b", v="2"), delete("old1"), delete("never-existed")],
        t2: [put("c", v="3"), delete("old2")],
    })
    assert resp["UnprocessedItems"] == {}
    keys1 = sorted(it["pk"]["S"] for it in ddb.scan(TableName=t1)["Items"])
    keys2 = sorted(it["pk"]["S"] for it in ddb.scan(TableName=t2)["Items"])
    assert keys1 == ["a", "b", "old2"]
    assert keys2 == ["c", "old1"]
    assert ddb.get_item(TableName=t1, Key={"pk": {"S": "b"}})["Item"]["v"] == {"S": "2"}


def test_batch_write_25_ok_26_rejected(ddb, make_table):
    """25 write requests are accepted; 26 are a ValidationException naming the 25 limit and
    nothing of the rejected batch is written."""
    t = make_table()
    resp = ddb.batch_write_item(RequestItems={t: [put(f"k{i}") for i in range(25)]})
    assert resp["UnprocessedItems"] == {}
    assert ddb.scan(TableName=t, Select="COUNT")["Count"] == 25
    expect_error(
        ddb.batch_write_item, "ValidationException",
        contains="Member must have length less than or equal to 25",
        RequestItems={t: [put(f"new{i}") for i in range(26)]},
    )
    assert ddb.scan(TableName=t, Select="COUNT")["Count"] == 25


def test_batch_write_26_across_two_tables_rejected(ddb, make_table):
    """The 25 limit is per request: 13 + 13 requests over two tables are a ValidationException."""
    t1, t2 = make_table(), make_table()
    expect_error(
        ddb.batch_write_item, "ValidationException",
        RequestItems={t1: [put(f"a{i}") for i in range(13)], t2: [put(f"b{i}") for i in range(13)]},
    )
    assert ddb.scan(TableName=t1, Select="COUNT")["Count"] == 0


def test_batch_write_duplicate_keys(ddb, make_table):
    """Two requests for the same key in one BatchWriteItem (two puts, or a put and a delete) are
    a ValidationException 'Provided list of item keys contains duplicates'."""
    t = make_table()
    expect_error(ddb.batch_write_item, "ValidationException", DUP_MSG,
                 RequestItems={t: [put("x", v="1"), put("x", v="2")]})
    expect_error(ddb.batch_write_item, "ValidationException", DUP_MSG,
                 RequestItems={t: [put("x"), delete("x")]})
    assert ddb.scan(TableName=t, Select="COUNT")["Count"] == 0


def test_batch_write_missing_table(ddb, make_table):
    """BatchWriteItem naming an unknown table is ResourceNotFoundException
    'Requested resource not found' and writes nothing to the other table."""
    t = make_table()
    expect_error(ddb.batch_write_item, "ResourceNotFoundException", "Requested resource not found",
                 RequestItems={t: [put("a")], unique_name("missing"): [put("b")]})
    assert ddb.scan(TableName=t, Select="COUNT")["Count"] == 0


def test_batch_write_bad_key_type(ddb, make_table):
    """A PutRequest whose key has the wrong type is a ValidationException
    'The provided key element does not match the schema' (BatchWriteItem's wording)."""
    t = make_table()
    expect_error(ddb.batch_write_item, "ValidationException", "The provided key element does not match the schema",
                 RequestItems={t: [{"PutRequest": {"Item": {"pk": {"N": "1"}}}}]})


def test_batch_get_100_keys(ddb, make_table):
    """BatchGetItem with 100 keys (some missing) returns every existing item once and an empty
    UnprocessedKeys; missing keys are simply absent."""
    t = make_table()
    ddb.batch_write_item(RequestItems={t: [put(f"k{i}", v=str(i)) for i in range(25)]})
    ddb.batch_write_item(RequestItems={t: [put(f"k{i}", v=str(i)) for i in range(25, 50)]})
    keys = [{"pk": {"S": f"k{i}"}} for i in range(100)]  # k50..k99 do not exist
    resp = ddb.batch_get_item(RequestItems={t: {"Keys": keys}})
    assert resp["UnprocessedKeys"] == {}
    got = sorted(int(it["pk"]["S"][1:]) for it in resp["Responses"][t])
    assert got == list(range(50))
    for it in resp["Responses"][t]:
        assert it["v"]["S"] == it["pk"]["S"][1:]


def test_batch_get_101_keys_rejected(ddb, make_table):
    """101 keys for one table are a ValidationException naming the 100 limit."""
    t = make_table()
    expect_error(
        ddb.batch_get_item, "ValidationException",
        contains="Member must have length less than or equal to 100",
        RequestItems={t: {"Keys": [{"pk": {"S": f"k{i}"}} for i in range(101)]}},
    )


def test_batch_get_duplicate_keys(ddb, make_table):
    """The same key twice in one Keys list is a ValidationException
    'Provided list of item keys contains duplicates'."""
    t = make_table()
    expect_error(ddb.batch_get_item, "ValidationException", DUP_MSG,
                 RequestItems={t: {"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "a"}}]}})


def test_batch_get_duplicate_number_keys_after_normalisation(ddb, make_table):
    """Number keys are compared by value: 1 and 1.0 in one Keys list are duplicates."""
    t = make_table(hash_key=("id", "N"))
    expect_error(ddb.batch_get_item, "ValidationException", DUP_MSG,
                 RequestItems={t: {"Keys": [{"id": {"N": "1"}}, {"id": {"N": "1.0"}}]}})


def test_batch_get_two_tables_with_projection(ddb, make_table):
    """BatchGetItem across two tables with a ProjectionExpression (and #names) per table returns
    only the projected attributes, grouped by table; ConsistentRead is accepted."""
    t1, t2 = make_table(), make_table()
    ddb.put_item(TableName=t1, Item={"pk": {"S": "a"}, "name": {"S": "n1"}, "x": {"S": "x1"}})
    ddb.put_item(TableName=t2, Item={"pk": {"S": "b"}, "name": {"S": "n2"}, "x": {"S": "x2"}})
    resp = ddb.batch_get_item(RequestItems={
        t1: {"Keys": [{"pk": {"S": "a"}}], "ProjectionExpression": "#n", "ExpressionAttributeNames": {"#n": "name"}},
        t2: {"Keys": [{"pk": {"S": "b"}}, {"pk": {"S": "zz"}}], "ConsistentRead": True},
    })
    assert resp["UnprocessedKeys"] == {}
    assert resp["Responses"][t1] == [{"name": {"S": "n1"}}]
    assert resp["Responses"][t2] == [{"pk": {"S": "b"}, "name": {"S": "n2"}, "x": {"S": "x2"}}]


def test_batch_get_missing_table(ddb):
    """BatchGetItem naming an unknown table is ResourceNotFoundException."""
    expect_error(ddb.batch_get_item, "ResourceNotFoundException", "Requested resource not found",
                 RequestItems={unique_name("missing"): {"Keys": [{"pk": {"S": "a"}}]}})


def test_batch_get_wrong_key(ddb, make_table):
    """A key with the wrong attribute type is a ValidationException
    'The provided key element does not match the schema'."""
    t = make_table()
    expect_error(ddb.batch_get_item, "ValidationException", "The provided key element does not match the schema",
                 RequestItems={t: {"Keys": [{"pk": {"N": "1"}}]}})


def test_resource_batch_writer(ddb_resource, make_table):
    """boto3's Table.batch_writer (which chunks into 25 and retries UnprocessedItems) writes
    and deletes 120 items correctly."""
    t = ddb_resource.Table(make_table())
    with t.batch_writer() as bw:
        for i in range(120):
            bw.put_item(Item={"pk": f"k{i}", "n": i})
    with t.batch_writer() as bw:
        for i in range(0, 120, 2):
            bw.delete_item(Key={"pk": f"k{i}"})
    items = t.scan()["Items"]
    assert sorted(int(it["n"]) for it in items) == list(range(1, 120, 2))
