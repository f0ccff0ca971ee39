"""Single-item operations through boto3: PutItem, GetItem, UpdateItem, DeleteItem with
ConditionExpression, ReturnValues, ReturnValuesOnConditionCheckFailure, expression attribute
names/values, ProjectionExpression and ConsistentRead."""

from __future__ import annotations

from decimal import Decimal

import pytest
from boto3.dynamodb.conditions import Attr

from e2e_helpers import expect_error

CCF = "ConditionalCheckFailedException"
CCF_MSG = "The conditional request failed"


@pytest.fixture
def table(make_table):
    """A hash-only table (pk: S)."""
    return make_table()


@pytest.fixture
def ctable(make_table):
    """A composite-key table (pk: S, sk: N)."""
    return make_table(range_key=("sk", "N"))


def S(v):
    return {"S": v}


def N(v):
    return {"N": str(v)}


def norm(av):
    """Make AttributeValues comparable: sets become sorted lists."""
    if isinstance(av, dict):
        out = {}
        for k, v in av.items():
            if k in ("SS", "NS", "BS"):
                out[k] = sorted(v)
            else:
                out[k] = norm(v)
        return out
    if isinstance(av, list):
        return [norm(x) for x in av]
    return av


FULL_ITEM = {
    "pk": S("all-types"),
    "s": S("hello ✓"),
    "empty_s": S(""),
    "n": N("-12.5"),
    "b": {"B": b"\x00\x01binary\xff"},
    "empty_b": {"B": b""},
    "ss": {"SS": ["a", "b", "c"]},
    "ns": {"NS": ["1", "2.5", "-3"]},
    "bs": {"BS": [b"x", b"y"]},
    "bool_t": {"BOOL": True},
    "bool_f": {"BOOL": False},
    "null": {"NULL": True},
    "l": {"L": [S("x"), N("1"), {"L": []}, {"M": {}}, {"NULL": True}]},
    "m": {"M": {"inner": {"M": {"deep": S("v")}}, "list": {"L": [N("1"), N("2")]}}},
}


def test_put_get_roundtrip_all_types(ddb, table):
    """Every AttributeValue type (S, N, B, SS, NS, BS, BOOL, NULL, L, M, empty S/B, nesting)
    survives PutItem -> GetItem unchanged (sets compared as sets)."""
    ddb.put_item(TableName=table, Item=FULL_ITEM)
    got = ddb.get_item(TableName=table, Key={"pk": S("all-types")})["Item"]
    assert norm(got) == norm(FULL_ITEM)


def test_get_missing_item_has_no_item_key(ddb, table):
    """GetItem of a key that was never written answers 200 without an Item member."""
    resp = ddb.get_item(TableName=table, Key={"pk": S("nope")})
    assert "Item" not in resp
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_put_replaces_whole_item(ddb, table):
    """A second PutItem on the same key replaces the whole item (old attributes disappear)."""
    ddb.put_item(TableName=table, Item={"pk": S("k"), "a": S("1"), "b": S("2")})
    ddb.put_item(TableName=table, Item={"pk": S("k"), "c": S("3")})
    assert ddb.get_item(TableName=table, Key={"pk": S("k")})["Item"] == {"pk": S("k"), "c": S("3")}


def test_composite_key_items_are_distinct(ddb, ctable):
    """Items with the same partition key and different sort keys are stored separately and
    each is addressed by its full key."""
    for i in range(3):
        ddb.put_item(TableName=ctable, Item={"pk": S("p"), "sk": N(i), "v": S(f"v{i}")})
    for i in range(3):
        got = ddb.get_item(TableName=ctable, Key={"pk": S("p"), "sk": N(i)})["Item"]
        assert got == {"pk": S("p"), "sk": N(i), "v": S(f"v{i}")}
    assert "Item" not in ddb.get_item(TableName=ctable, Key={"pk": S("p"), "sk": N(3)})


def test_put_return_values(ddb, table):
    """PutItem ReturnValues: NONE and ALL_OLD on a new item return no Attributes; ALL_OLD on an
    existing item returns the whole replaced item."""
    r = ddb.put_item(TableName=table, Item={"pk": S("k"), "v": N(1)}, ReturnValues="NONE")
    assert "Attributes" not in r
    r = ddb.put_item(TableName=table, Item={"pk": S("k2"), "v": N(1)}, ReturnValues="ALL_OLD")
    assert "Attributes" not in r
    r = ddb.put_item(TableName=table, Item={"pk": S("k2"), "v": N(2)}, ReturnValues="ALL_OLD")
    assert r["Attributes"] == {"pk": S("k2"), "v": N(1)}
    r = ddb.put_item(TableName=table, Item={"pk": S("k2"), "v": N(3)})
    assert "Attributes" not in r


@pytest.mark.parametrize("rv", ["ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"])
def test_put_and_delete_reject_other_return_values(ddb, table, rv):
    """PutItem and DeleteItem accept only ReturnValues NONE/ALL_OLD; others are a
    ValidationException 'ReturnValues can only be ALL_OLD or NONE' (envelope varies)."""
    expect_error(
        ddb.put_item, "ValidationException", endswith="ReturnValues can only be ALL_OLD or NONE",
        TableName=table, Item={"pk": S("k")}, ReturnValues=rv,
    )
    expect_error(
        ddb.delete_item, "ValidationException", endswith="ReturnValues can only be ALL_OLD or NONE",
        TableName=table, Key={"pk": S("k")}, ReturnValues=rv,
    )


def test_put_condition_attribute_not_exists(ddb, table):
    """PutItem with attribute_not_exists(pk) succeeds once; the second put fails with
    ConditionalCheckFailedException 'The conditional request failed' and changes nothing."""
    ddb.put_item(TableName=table, Item={"pk": S("k"), "v": N(1)}, ConditionExpression="attribute_not_exists(pk)")
    resp = expect_error(
        ddb.put_item, CCF, CCF_MSG,
        TableName=table, Item={"pk": S("k"), "v": N(2)}, ConditionExpression="attribute_not_exists(pk)",
    )
    assert "Item" not in resp  # no ReturnValuesOnConditionCheckFailure -> no item in the error
    assert ddb.get_item(TableName=table, Key={"pk": S("k")})["Item"]["v"] == N(1)


def test_put_condition_on_value(ddb, table):
    """PutItem with a comparison condition (optimistic locking on a version number) succeeds
    when the stored value matches and fails otherwise."""
    ddb.put_item(TableName=table, Item={"pk": S("k"), "ver": N(1)})
    ddb.put_item(
        TableName=table, Item={"pk": S("k"), "ver": N(2)},
        ConditionExpression="ver = :expected", ExpressionAttributeValues={":expected": N(1)},
    )
    expect_error(
        ddb.put_item, CCF, CCF_MSG,
        TableName=table, Item={"pk": S("k"), "ver": N(3)},
        ConditionExpression="ver = :expected", ExpressionAttributeValues={":expected": N(1)},
    )
    assert ddb.get_item(TableName=table, Key={"pk": S("k")})["Item"]["ver"] == N(2)


def test_return_values_on_condition_check_failure(ddb, table):
    """With ReturnValuesOnConditionCheckFailure=ALL_OLD a failed PutItem, UpdateItem or
    DeleteItem condition carries the current item in the error response; with NONE it does
    not; and a failure on a missing item carries no Item."""
    item = {"pk": S("k"), "v": N(1), "tag": S("x")}
    ddb.put_item(TableName=table, Item=item)
    common = dict(ConditionExpression="v = :two", ExpressionAttributeValues={":two": N(2)})

    r = expect_error(ddb.put_item, CCF, CCF_MSG, TableName=table, Item={"pk": S("k")},
                     ReturnValuesOnConditionCheckFailure="ALL_OLD", **common)
    assert r["Item"] == item
    r = expect_error(ddb.update_item, CCF, CCF_MSG, TableName=table, Key={"pk": S("k")},
                     UpdateExpression="SET tag = :two", ReturnValuesOnConditionCheckFailure="ALL_OLD", **common)
    assert r["Item"] == item
    r = expect_error(ddb.delete_item, CCF, CCF_MSG, TableName=table, Key={"pk": S("k")},
                     ReturnValuesOnConditionCheckFailure="ALL_OLD", **common)
    assert r["Item"] == item
    r = expect_error(ddb.delete_item, CCF, CCF_MSG, TableName=table, Key={"pk": S("k")},
                     ReturnValuesOnConditionCheckFailure="NONE", **common)
    assert "Item" not in r
    r = expect_error(ddb.delete_item, CCF, CCF_MSG, TableName=table, Key={"pk": S("missing")},
                     ReturnValuesOnConditionCheckFailure="ALL_OLD", **common)
    assert "Item" not in r
    assert ddb.get_item(TableName=table, Key={"pk": S("k")})["Item"] == item


BASE = {"pk": S("u"), "a": N(1), "b": S("x"), "c": S("keep")}
UPDATE = dict(
    Key={"pk": S("u")},
    UpdateExpression="SET a = a + :one, d = :d REMOVE b",
    ExpressionAttributeValues={":one": N(1), ":d": S("new")},
)


@pytest.mark.parametrize(
    "rv, expected",
    [
        ("NONE", None),
        ("ALL_OLD", BASE),
        ("UPDATED_OLD", {"a": N(1), "b": S("x")}),
        ("ALL_NEW", {"pk": S("u"), "a": N(2), "c": S("keep"), "d": S("new")}),
        ("UPDATED_NEW", {"a": N(2), "d": S("new")}),
    ],
)
def test_update_return_values(ddb, table, rv, expected):
    """UpdateItem ReturnValues: NONE -> nothing; ALL_OLD -> whole old item; UPDATED_OLD -> old
    values of changed/removed attributes that existed; ALL_NEW -> whole new item; UPDATED_NEW ->
    new values of set attributes (removed ones are not returned)."""
    ddb.put_item(TableName=table, Item=BASE)
    resp = ddb.update_item(TableName=table, ReturnValues=rv, **UPDATE)
    if expected is None:
        assert "Attributes" not in resp
    else:
        assert resp["Attributes"] == expected
    assert ddb.get_item(TableName=table, Key={"pk": S("u")})["Item"] == {
        "pk": S("u"), "a": N(2), "c": S("keep"), "d": S("new"),
    }


def test_update_creates_missing_item(ddb, table):
    """UpdateItem on a missing key creates the item (upsert); ALL_OLD then returns nothing and
    ALL_NEW returns key + set attributes."""
    r = ddb.update_item(TableName=table, Key={"pk": S("new")}, UpdateExpression="SET v = :v",
                        ExpressionAttributeValues={":v": S("x")}, ReturnValues="ALL_OLD")
    assert "Attributes" not in r
    r = ddb.update_item(TableName=table, Key={"pk": S("new2")}, UpdateExpression="SET v = :v",
                        ExpressionAttributeValues={":v": S("x")}, ReturnValues="ALL_NEW")
    assert r["Attributes"] == {"pk": S("new2"), "v": S("x")}
    assert ddb.get_item(TableName=table, Key={"pk": S("new")})["Item"] == {"pk": S("new"), "v": S("x")}


def test_update_remove_only_does_not_create_item(ddb, table):
    """An UpdateItem whose only action is REMOVE on a missing item does not create the item
    (DynamoDB: no Attributes with ALL_NEW, and GetItem finds nothing)."""
    r = ddb.update_item(TableName=table, Key={"pk": S("ghost")}, UpdateExpression="REMOVE b", ReturnValues="ALL_NEW")
    assert "Attributes" not in r
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": S("ghost")})


def test_update_expression_actions(ddb, table):
    """SET with arithmetic, if_not_exists, list_append, nested map paths and list indexes;
    REMOVE of a list element; ADD on numbers and sets (creating missing ones); DELETE from a set."""
    ddb.put_item(TableName=table, Item={
        "pk": S("k"), "n": N(10), "l": {"L": [S("a"), S("b"), S("c")]},
        "m": {"M": {"x": N(1)}}, "tags": {"SS": ["red", "green"]},
    })
    ddb.update_item(
        TableName=table, Key={"pk": S("k")},
        UpdateExpression=(
            "SET n = n - :two, cnt = if_not_exists(cnt, :zero) + :one, l = list_append(l, :more), "
            "m.y = :one, m.x = m.x + :one "
            "ADD tot :five, tags :blue"
        ),
        ExpressionAttributeValues={
            ":two": N(2), ":zero": N(0), ":one": N(1), ":five": N(5), ":more": {"L": [S("d")]},
            ":blue": {"SS": ["blue"]},
        },
    )
    # Paths in one expression may not overlap, so list-element and set-delete edits come next.
    ddb.update_item(
        TableName=table, Key={"pk": S("k")},
        UpdateExpression="SET l[0] = :z REMOVE l[1] DELETE tags :red",
        ExpressionAttributeValues={":z": S("z"), ":red": {"SS": ["red"]}},
    )
    got = ddb.get_item(TableName=table, Key={"pk": S("k")})["Item"]
    assert norm(got) == norm({
        "pk": S("k"), "n": N(8), "cnt": N(1), "tot": N(5),
        "l": {"L": [S("z"), S("c"), S("d")]},
        "m": {"M": {"x": N(2), "y": N(1)}},
        "tags": {"SS": ["blue", "green"]},
    })
    # Second round: if_not_exists keeps the existing value, ADD accumulates.
    r = ddb.update_item(
        TableName=table, Key={"pk": S("k")},
        UpdateExpression="SET cnt = if_not_exists(cnt, :zero) + :one ADD tot :five",
        ExpressionAttributeValues={":zero": N(0), ":one": N(1), ":five": N(5)},
        ReturnValues="UPDATED_NEW",
    )
    assert r["Attributes"] == {"cnt": N(2), "tot": N(10)}
    # Deleting the last members of a set removes the attribute.
    ddb.update_item(TableName=table, Key={"pk": S("k")}, UpdateExpression="DELETE tags :all",
                    ExpressionAttributeValues={":all": {"SS": ["blue", "green"]}})
    assert "tags" not in ddb.get_item(TableName=table, Key={"pk": S("k")})["Item"]


def test_update_missing_attribute_in_arithmetic(ddb, table):
    """SET a = a + :n when a does not exist is a ValidationException 'The provided expression
    refers to an attribute that does not exist in the item'."""
    ddb.put_item(TableName=table, Item={"pk": S("k")})
    expect_error(
        ddb.update_item, "ValidationException",
        contains="The provided expression refers to an attribute that does not exist in the item",
        TableName=table, Key={"pk": S("k")}, UpdateExpression="SET a = a + :n",
        ExpressionAttributeValues={":n": N(1)},
    )


def test_update_condition(ddb, table):
    """UpdateItem with a ConditionExpression applies when true and fails with
    ConditionalCheckFailedException (item unchanged) when false; attribute_exists(pk) prevents
    the upsert of a missing item."""
    ddb.put_item(TableName=table, Item={"pk": S("k"), "state": S("open"), "n": N(1)})
    ddb.update_item(
        TableName=table, Key={"pk": S("k")}, UpdateExpression="SET #st = :closed",
        ConditionExpression="#st = :open AND n < :lim",
        ExpressionAttributeNames={"#st": "state"},
        ExpressionAttributeValues={":open": S("open"), ":closed": S("closed"), ":lim": N(5)},
    )
    expect_error(
        ddb.update_item, CCF, CCF_MSG,
        TableName=table, Key={"pk": S("k")}, UpdateExpression="SET #st = :open",
        ConditionExpression="#st = :open",
        ExpressionAttributeNames={"#st": "state"}, ExpressionAttributeValues={":open": S("open")},
    )
    assert ddb.get_item(TableName=table, Key={"pk": S("k")})["Item"]["state"] == S("closed")
    expect_error(
        ddb.update_item, CCF, CCF_MSG,
        TableName=table, Key={"pk": S("missing")}, UpdateExpression="SET v = :v",
        ConditionExpression="attribute_exists(pk)", ExpressionAttributeValues={":v": S("x")},
    )
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": S("missing")})


def test_delete_item(ddb, table):
    """DeleteItem removes the item; ReturnValues ALL_OLD returns it, NONE returns nothing, and
    deleting a missing item succeeds without Attributes."""
    ddb.put_item(TableName=table, Item={"pk": S("a"), "v": N(1)})
    ddb.put_item(TableName=table, Item={"pk": S("b"), "v": N(2)})
    r = ddb.delete_item(TableName=table, Key={"pk": S("a")}, ReturnValues="ALL_OLD")
    assert r["Attributes"] == {"pk": S("a"), "v": N(1)}
    r = ddb.delete_item(TableName=table, Key={"pk": S("b")}, ReturnValues="NONE")
    assert "Attributes" not in r
    r = ddb.delete_item(TableName=table, Key={"pk": S("a")}, ReturnValues="ALL_OLD")
    assert "Attributes" not in r
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": S("a")})
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": S("b")})


@pytest.mark.parametrize(
    "cond, values, names, holds",
    [
        ("attribute_exists(v)", {}, {}, True),
        ("attribute_not_exists(v)", {}, {}, False),
        ("attribute_type(v, :t)", {":t": S("N")}, {}, True),
        ("attribute_type(v, :t)", {":t": S("S")}, {}, False),
        ("begins_with(s, :p)", {":p": S("hel")}, {}, True),
        ("begins_with(s, :p)", {":p": S("el")}, {}, False),
        ("contains(s, :p)", {":p": S("ell")}, {}, True),
        ("contains(tags, :p)", {":p": S("b")}, {}, True),
        ("contains(tags, :p)", {":p": S("z")}, {}, False),
        ("size(s) = :n", {":n": N(5)}, {}, True),
        ("size(tags) > :n", {":n": N(2)}, {}, False),
        ("v BETWEEN :lo AND :hi", {":lo": N(1), ":hi": N(10)}, {}, True),
        ("v BETWEEN :lo AND :hi", {":lo": N(6), ":hi": N(10)}, {}, False),
        ("v IN (:a, :b)", {":a": N(4), ":b": N(5)}, {}, True),
        ("v IN (:a, :b)", {":a": N(4), ":b": N(6)}, {}, False),
        ("v <> :x", {":x": N(5)}, {}, False),
        ("absent <> :x", {":x": N(5)}, {}, True),
        ("absent < :x", {":x": N(5)}, {}, False),
        ("NOT (v = :x)", {":x": N(5)}, {}, False),
        ("v = :x OR s = :s", {":x": N(0), ":s": S("hello")}, {}, True),
        ("(v >= :x AND s < :s) OR NOT attribute_exists(pk)", {":x": N(5), ":s": S("help")}, {}, True),
        ("#m.#k = :s", {":s": S("deep")}, {"#m": "map", "#k": "key"}, True),
        ("#l[1] = :s", {":s": N(2)}, {"#l": "list"}, True),
        ("#dot = :s", {":s": S("literal")}, {"#dot": "a.b"}, True),
    ],
)
def test_delete_condition_functions(ddb, table, cond, values, names, holds):
    """DeleteItem ConditionExpression with each function/operator (attribute_exists/not_exists,
    attribute_type, begins_with, contains on strings and sets, size, BETWEEN, IN, <>, NOT,
    AND/OR, nested and list paths, a name containing a dot): the delete happens exactly when the
    condition holds, otherwise ConditionalCheckFailedException."""
    item = {
        "pk": S("k"), "v": N(5), "s": S("hello"), "tags": {"SS": ["a", "b"]},
        "map": {"M": {"key": S("deep")}}, "list": {"L": [N(1), N(2)]}, "a.b": S("literal"),
    }
    ddb.put_item(TableName=table, Item=item)
    kwargs = dict(TableName=table, Key={"pk": S("k")}, ConditionExpression=cond)
    if values:
        kwargs["ExpressionAttributeValues"] = values
    if names:
        kwargs["ExpressionAttributeNames"] = names
    if holds:
        ddb.delete_item(**kwargs)
        assert "Item" not in ddb.get_item(TableName=table, Key={"pk": S("k")})
    else:
        expect_error(ddb.delete_item, CCF, CCF_MSG, **kwargs)
        assert ddb.get_item(TableName=table, Key={"pk": S("k")})["Item"] == item


def test_expression_attribute_names_for_reserved_words(ddb, table):
    """Attributes named after reserved words (status, name, size) are written and read through
    #placeholders in UpdateExpression, ConditionExpression and ProjectionExpression."""
    ddb.update_item(
        TableName=table, Key={"pk": S("k")},
        UpdateExpression="SET #s = :s, #n = :n, #z = :z",
        ConditionExpression="attribute_not_exists(#s)",
        ExpressionAttributeNames={"#s": "status", "#n": "name", "#z": "size"},
        ExpressionAttributeValues={":s": S("ok"), ":n": S("bob"), ":z": N(3)},
    )
    got = ddb.get_item(
        TableName=table, Key={"pk": S("k")}, ProjectionExpression="#s, #z",
        ExpressionAttributeNames={"#s": "status", "#z": "size"},
    )["Item"]
    assert got == {"status": S("ok"), "size": N(3)}


def test_projection_expression(ddb, ctable):
    """GetItem ProjectionExpression returns only the named top-level attributes, nested map
    members and list elements (list elements compacted in index order); keys are not added
    implicitly; a projection matching nothing gives an empty Item."""
    ddb.put_item(TableName=ctable, Item={
        "pk": S("p"), "sk": N(1), "a": S("A"), "b": S("B"),
        "m": {"M": {"x": N(1), "y": N(2), "z": {"M": {"deep": S("d")}}}},
        "l": {"L": [S("l0"), S("l1"), S("l2"), S("l3")]},
    })
    key = {"pk": S("p"), "sk": N(1)}

    def proj(expr, names=None):
        kw = {"ExpressionAttributeNames": names} if names else {}
        return ddb.get_item(TableName=ctable, Key=key, ProjectionExpression=expr, **kw)["Item"]

    assert proj("a") == {"a": S("A")}
    assert proj("a, b, sk") == {"a": S("A"), "b": S("B"), "sk": N(1)}
    assert proj("m.y, m.z.deep") == {"m": {"M": {"y": N(2), "z": {"M": {"deep": S("d")}}}}}
    assert proj("l[2], l[0]") == {"l": {"L": [S("l0"), S("l2")]}}
    assert proj("#mm.#yy", {"#mm": "m", "#yy": "y"}) == {"m": {"M": {"y": N(2)}}}
    assert proj("nothing, m.nothing") == {}


def test_consistent_read(ddb, table):
    """GetItem with ConsistentRead=True and False both see a write acknowledged just before."""
    for i in range(5):
        ddb.put_item(TableName=table, Item={"pk": S("k"), "v": N(i)})
        assert ddb.get_item(TableName=table, Key={"pk": S("k")}, ConsistentRead=True)["Item"]["v"] == N(i)
        assert ddb.get_item(TableName=table, Key={"pk": S("k")}, ConsistentRead=False)["Item"]["v"] == N(i)


def test_unused_expression_attribute_value(ddb, table):
    """An ExpressionAttributeValues entry no expression uses is a ValidationException
    'Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}'."""
    expect_error(
        ddb.update_item, "ValidationException",
        endswith="Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}",
        TableName=table, Key={"pk": S("k")}, UpdateExpression="SET a = :a",
        ExpressionAttributeValues={":a": S("x"), ":unused": S("y")},
    )


def test_resource_api_roundtrip(ddb_resource, table):
    """The boto3 resource (document) API: Python types in, Decimal/set/bytes out; update with
    ALL_NEW; conditional put via boto3.dynamodb.conditions raises ConditionalCheckFailed."""
    t = ddb_resource.Table(table)
    t.put_item(Item={"pk": "doc", "n": 3, "f": Decimal("1.25"), "tags": {"a", "b"},
                     "m": {"k": [1, "two", None, True]}, "raw": b"\x01\x02"})
    item = t.get_item(Key={"pk": "doc"}, ConsistentRead=True)["Item"]
    assert item["n"] == Decimal(3) and item["f"] == Decimal("1.25")
    assert item["tags"] == {"a", "b"}
    assert item["m"] == {"k": [Decimal(1), "two", None, True]}
    assert item["raw"].value == b"\x01\x02"
    r = t.update_item(Key={"pk": "doc"}, UpdateExpression="SET n = n + :x",
                      ExpressionAttributeValues={":x": 2}, ReturnValues="ALL_NEW")
    assert r["Attributes"]["n"] == Decimal(5)
    with pytest.raises(t.meta.client.exceptions.ConditionalCheckFailedException):
        t.put_item(Item={"pk": "doc"}, ConditionExpression=Attr("n").lt(5))
    t.delete_item(Key={"pk": "doc"}, ConditionExpression=Attr("n").eq(5))
    assert "Item" not in t.get_item(Key={"pk": "doc"})


def test_return_consumed_capacity(ddb, table):
    """ReturnConsumedCapacity=TOTAL is accepted on writes and reads and reports ConsumedCapacity
    for the table with positive CapacityUnits; NONE reports nothing."""
    r = ddb.put_item(TableName=table, Item={"pk": S("k")}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["TableName"] == table
    assert r["ConsumedCapacity"]["CapacityUnits"] > 0
    r = ddb.get_item(TableName=table, Key={"pk": S("k")}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["TableName"] == table
    assert r["ConsumedCapacity"]["CapacityUnits"] > 0
    r = ddb.get_item(TableName=table, Key={"pk": S("k")}, ReturnConsumedCapacity="NONE")
    assert "ConsumedCapacity" not in r


def test_unicode_and_binary_keys(ddb, make_table):
    """Keys with multi-byte UTF-8 (accents, CJK, emoji) and binary hash keys round-trip and are
    addressed exactly (no normalisation of strings)."""
    t = make_table()
    keys = ["é", "e\u0301", "中文", "🙂", "a b", " lead", "trail ", "x" * 100]
    for k in keys:
        ddb.put_item(TableName=t, Item={"pk": S(k), "v": S(k)})
    for k in keys:
        assert ddb.get_item(TableName=t, Key={"pk": S(k)})["Item"]["v"] == S(k)
    assert ddb.scan(TableName=t, Select="COUNT")["Count"] == len(keys)
    bt = make_table(hash_key=("id", "B"))
    for k in (b"\x00", b"\x00\x00", b"\xff\xfe", b"plain"):
        ddb.put_item(TableName=bt, Item={"id": {"B": k}, "len": N(len(k))})
    for k in (b"\x00", b"\x00\x00", b"\xff\xfe", b"plain"):
        assert ddb.get_item(TableName=bt, Key={"id": {"B": k}})["Item"]["len"] == N(len(k))
