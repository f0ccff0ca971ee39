"""DynamoDB's legacy (non-expression) request parameters: Expected + ConditionalOperator on
PutItem / DeleteItem / UpdateItem, AttributeUpdates (PUT, DELETE, ADD) on UpdateItem,
KeyConditions and QueryFilter on Query, ScanFilter on Scan, and AttributesToGet on GetItem,
BatchGetItem, Query and Scan.

Behaviour follows the DynamoDB developer guide ("Legacy conditional parameters": Expected,
AttributeUpdates, KeyConditions, QueryFilter, ScanFilter, AttributesToGet, ConditionalOperator)
and the API reference (AttributeValueUpdate, Condition, ExpectedAttributeValue). Exact error
texts are only those the public conformance suite (paritysuite/dynamodb-conformance) records
from real DynamoDB; each such test names the file it comes from. Behaviour tests go through
boto3; exact messages, and requests botocore would refuse, go as raw JSON."""

from __future__ import annotations

import json

import pytest

from e2e_helpers import expect_error, op_error as error, post_op as call, raw_post

CCF = "ConditionalCheckFailedException"
CCF_MSG = "The conditional request failed"
VE = "ValidationException"
ENV = "1 validation error detected: "
INV = "One or more parameter values were invalid: "


def S(v):
    return {"S": v}


def N(v):
    return {"N": str(v)}


def SS(*v):
    return {"SS": list(v)}


def NS(*v):
    return {"NS": [str(x) for x in v]}


def norm(av):
    """Make AttributeValues comparable: sets become sorted lists."""
    if isinstance(av, dict):
        return {k: (sorted(v) if k in ("SS", "NS", "BS") else norm(v)) for k, v in av.items()}
    if isinstance(av, list):
        return [norm(x) for x in av]
    return av


def get(ddb, table, key):
    """The stored item (strongly consistent), or None."""
    return ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


@pytest.fixture
def table(make_table):
    """A hash-only table (pk: S)."""
    return make_table()


@pytest.fixture
def ntable(ddb, make_table):
    """A composite table (pk: S, sk: N): partition "p" holds sk 1, 2, 9, 10, 11 (numeric order
    differs from string order there); partition "q" holds sk 5. Every item has v = "v<sk>";
    color is red for 1 and 10, blue for 2, absent otherwise; n = sk * 10."""
    name = make_table(range_key=("sk", "N"))
    colors = {1: "red", 10: "red", 2: "blue"}
    for sk in (1, 2, 9, 10, 11):
        item = {"pk": S("p"), "sk": N(sk), "v": S(f"v{sk}"), "n": N(sk * 10)}
        if sk in colors:
            item["color"] = S(colors[sk])
        ddb.put_item(TableName=name, Item=item)
    ddb.put_item(TableName=name, Item={"pk": S("q"), "sk": N(5), "v": S("v5"), "n": N(50), "color": S("red")})
    return name


def sks(items):
    return [int(it["sk"]["N"]) for it in items]


# --- Expected: the Exists / Value forms ------------------------------------------------------

def test_put_expected_exists_false_guards_an_insert(ddb, table):
    """Expected {pk: {Exists: false}} lets the first PutItem create the item and fails the second
    with ConditionalCheckFailedException 'The conditional request failed', leaving it unchanged."""
    key = {"pk": S("ins")}
    ddb.put_item(TableName=table, Item={**key, "v": S("first")}, Expected={"pk": {"Exists": False}})
    expect_error(ddb.put_item, CCF, CCF_MSG, TableName=table, Item={**key, "v": S("second")},
                 Expected={"pk": {"Exists": False}})
    assert get(ddb, table, key) == {**key, "v": S("first")}


def test_expected_value_alone_means_exists_and_equal(ddb, table):
    """Expected {a: {Value: x}} (Exists defaults to true) and {a: {Value: x, Exists: true}} pass
    only when the stored attribute equals x: a different value, a missing attribute and a
    missing item all fail."""
    key = {"pk": S("val")}
    ddb.put_item(TableName=table, Item={**key, "v": N(1)})
    ddb.put_item(TableName=table, Item={**key, "v": N(2)}, Expected={"v": {"Value": N(1)}})
    assert get(ddb, table, key)["v"] == N(2)
    ddb.put_item(TableName=table, Item={**key, "v": N(3)}, Expected={"v": {"Value": N(2), "Exists": True}})
    assert get(ddb, table, key)["v"] == N(3)
    expect_error(ddb.put_item, CCF, CCF_MSG, TableName=table, Item={**key, "v": N(4)}, Expected={"v": {"Value": N(1)}})
    expect_error(ddb.put_item, CCF, CCF_MSG, TableName=table, Item={**key, "v": N(4)},
                 Expected={"other": {"Value": N(3)}})
    assert get(ddb, table, key) == {**key, "v": N(3)}
    expect_error(ddb.put_item, CCF, CCF_MSG, TableName=table, Item={"pk": S("val-missing")},
                 Expected={"v": {"Value": N(3)}})
    assert get(ddb, table, {"pk": S("val-missing")}) is None


def test_expected_exists_false_on_an_attribute(ddb, table):
    """Expected {a: {Exists: false}} passes while the item lacks `a` (or is missing) and fails
    once `a` is present."""
    key = {"pk": S("nx")}
    ddb.put_item(TableName=table, Item={**key, "b": S("x")}, Expected={"a": {"Exists": False}})
    ddb.put_item(TableName=table, Item={**key, "a": S("y")}, Expected={"a": {"Exists": False}})
    assert get(ddb, table, key) == {**key, "a": S("y")}
    expect_error(ddb.put_item, CCF, CCF_MSG, TableName=table, Item={**key, "a": S("z")},
                 Expected={"a": {"Exists": False}})
    assert get(ddb, table, key) == {**key, "a": S("y")}


# --- Expected: ComparisonOperator ------------------------------------------------------------

BASE_ITEM = {
    "n": N(5),
    "s": S("hello"),
    "ss": SS("a", "b"),
    "ns": NS(1, 2),
    "l": {"L": [S("x"), N(1)]},
    "b": {"B": b"\x80\x01"},
    "nul": {"NULL": True},
}

# (case id, a passing Expected, a failing Expected). The base item is BASE_ITEM.
COMPARISONS = [
    ("EQ", {"n": {"ComparisonOperator": "EQ", "AttributeValueList": [N(5)]}},
     {"n": {"ComparisonOperator": "EQ", "AttributeValueList": [N(6)]}}),
    # A value of another type never matches: {"S": "5"} is not {"N": "5"}.
    ("EQ-type", {"s": {"ComparisonOperator": "EQ", "AttributeValueList": [S("hello")]}},
     {"n": {"ComparisonOperator": "EQ", "AttributeValueList": [S("5")]}}),
    ("EQ-set", {"ss": {"ComparisonOperator": "EQ", "AttributeValueList": [SS("b", "a")]}},
     {"ss": {"ComparisonOperator": "EQ", "AttributeValueList": [SS("a")]}}),
    ("NE", {"n": {"ComparisonOperator": "NE", "AttributeValueList": [N(6)]}},
     {"n": {"ComparisonOperator": "NE", "AttributeValueList": [N(5)]}}),
    ("LE", {"n": {"ComparisonOperator": "LE", "AttributeValueList": [N(5)]}},
     {"n": {"ComparisonOperator": "LE", "AttributeValueList": [N(4)]}}),
    # Numbers compare numerically: 5 < 10 although "5" > "10" as strings.
    ("LT", {"n": {"ComparisonOperator": "LT", "AttributeValueList": [N(10)]}},
     {"n": {"ComparisonOperator": "LT", "AttributeValueList": [N(5)]}}),
    ("GE", {"n": {"ComparisonOperator": "GE", "AttributeValueList": [N("5.0")]}},
     {"n": {"ComparisonOperator": "GE", "AttributeValueList": [N(6)]}}),
    ("GT", {"n": {"ComparisonOperator": "GT", "AttributeValueList": [N(-10)]}},
     {"n": {"ComparisonOperator": "GT", "AttributeValueList": [N(5)]}}),
    # Strings compare by UTF-8 bytes: "a" > "A" and "a" > "B".
    ("GT-string", {"s": {"ComparisonOperator": "GT", "AttributeValueList": [S("Z")]}},
     {"s": {"ComparisonOperator": "GT", "AttributeValueList": [S("hf")]}}),
    # Binary bytes are unsigned: 0x80 > 0x7f.
    ("GT-binary", {"b": {"ComparisonOperator": "GT", "AttributeValueList": [{"B": b"\x7f"}]}},
     {"b": {"ComparisonOperator": "LT", "AttributeValueList": [{"B": b"\x7f"}]}}),
    # A comparison against a value of another type does not match.
    ("LT-type", {"n": {"ComparisonOperator": "LT", "AttributeValueList": [N(6)]}},
     {"n": {"ComparisonOperator": "LT", "AttributeValueList": [S("6")]}}),
    ("NOT_NULL", {"s": {"ComparisonOperator": "NOT_NULL"}},
     {"missing": {"ComparisonOperator": "NOT_NULL"}}),
    ("NULL", {"missing": {"ComparisonOperator": "NULL"}},
     {"s": {"ComparisonOperator": "NULL"}}),
    # NOT_NULL / NULL test existence, not the data type: a NULL-typed attribute exists.
    ("NULL-typed", {"nul": {"ComparisonOperator": "NOT_NULL"}},
     {"nul": {"ComparisonOperator": "NULL"}}),
    ("CONTAINS-substring", {"s": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [S("ell")]}},
     {"s": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [S("xyz")]}}),
    ("CONTAINS-set", {"ns": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [N(2)]}},
     {"ss": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [S("c")]}}),
    ("CONTAINS-list", {"l": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [S("x")]}},
     {"l": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [S("y")]}}),
    ("NOT_CONTAINS", {"s": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [S("xyz")]}},
     {"ss": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [S("a")]}}),
    ("BEGINS_WITH", {"s": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [S("he")]}},
     {"s": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [S("el")]}}),
    ("BEGINS_WITH-binary", {"b": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"B": b"\x80"}]}},
     {"b": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"B": b"\x01"}]}}),
    ("IN", {"n": {"ComparisonOperator": "IN", "AttributeValueList": [N(1), N(5), N(9)]}},
     {"n": {"ComparisonOperator": "IN", "AttributeValueList": [N(1), N(2)]}}),
    # BETWEEN is inclusive at both ends.
    ("BETWEEN", {"n": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [N(5), N(10)]}},
     {"n": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [N(6), N(10)]}}),
]


@pytest.mark.parametrize("case,passing,failing", COMPARISONS, ids=[c[0] for c in COMPARISONS])
def test_put_expected_comparison_operator(ddb, table, case, passing, failing):
    """One ComparisonOperator in PutItem's Expected: the failing form is a
    ConditionalCheckFailedException that leaves the item as it was; the passing form replaces it."""
    key = {"pk": S(f"cmp-{case}")}
    ddb.put_item(TableName=table, Item={**key, **BASE_ITEM})
    expect_error(ddb.put_item, CCF, CCF_MSG, TableName=table, Item={**key, "marker": S("bad")}, Expected=failing)
    assert norm(get(ddb, table, key)) == norm({**key, **BASE_ITEM})
    ddb.put_item(TableName=table, Item={**key, "marker": S("good")}, Expected=passing)
    assert get(ddb, table, key) == {**key, "marker": S("good")}


def test_expected_conditional_operator_and_or(ddb, table):
    """Several Expected conditions are ANDed by default and with ConditionalOperator AND; with
    OR one true condition is enough, and OR of false conditions still fails."""
    key = {"pk": S("andor")}
    ddb.put_item(TableName=table, Item={**key, "a": N(1), "b": N(2)})
    one_true = {"a": {"ComparisonOperator": "EQ", "AttributeValueList": [N(1)]},
                "b": {"ComparisonOperator": "EQ", "AttributeValueList": [N(99)]}}
    none_true = {"a": {"ComparisonOperator": "GT", "AttributeValueList": [N(1)]},
                 "c": {"ComparisonOperator": "NOT_NULL"}}
    expect_error(ddb.put_item, CCF, CCF_MSG, TableName=table, Item={**key, "r": S("default")}, Expected=one_true)
    expect_error(ddb.put_item, CCF, CCF_MSG, TableName=table, Item={**key, "r": S("and")}, Expected=one_true,
                 ConditionalOperator="AND")
    expect_error(ddb.put_item, CCF, CCF_MSG, TableName=table, Item={**key, "r": S("or-none")}, Expected=none_true,
                 ConditionalOperator="OR")
    assert get(ddb, table, key) == {**key, "a": N(1), "b": N(2)}
    ddb.put_item(TableName=table, Item={**key, "a": N(1), "r": S("or")}, Expected=one_true, ConditionalOperator="OR")
    assert get(ddb, table, key) == {**key, "a": N(1), "r": S("or")}
    # Both true under AND, mixing the Value form with a ComparisonOperator.
    ddb.put_item(TableName=table, Item={**key, "r": S("and-ok")}, ConditionalOperator="AND",
                 Expected={"a": {"Value": N(1)}, "r": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [S("o")]}})
    assert get(ddb, table, key) == {**key, "r": S("and-ok")}


def test_delete_item_expected(ddb, table):
    """DeleteItem with a false Expected fails and keeps the item; with a true one (ORed) it
    deletes it and ReturnValues ALL_OLD returns the deleted item."""
    key = {"pk": S("del")}
    item = {**key, "state": S("closed"), "n": N(3)}
    ddb.put_item(TableName=table, Item=item)
    expect_error(ddb.delete_item, CCF, CCF_MSG, TableName=table, Key=key,
                 Expected={"state": {"Value": S("open")}})
    expect_error(ddb.delete_item, CCF, CCF_MSG, TableName=table, Key=key,
                 Expected={"state": {"Value": S("closed")}, "n": {"ComparisonOperator": "GT", "AttributeValueList": [N(3)]}})
    assert get(ddb, table, key) == item
    out = ddb.delete_item(TableName=table, Key=key, ReturnValues="ALL_OLD", ConditionalOperator="OR",
                          Expected={"state": {"Value": S("open")}, "n": {"ComparisonOperator": "LE", "AttributeValueList": [N(3)]}})
    assert out["Attributes"] == item
    assert get(ddb, table, key) is None


def test_update_item_expected_guards_attribute_updates(ddb, table):
    """UpdateItem's Expected decides whether AttributeUpdates apply: a failed check changes
    nothing (and returns no attributes), a passing one applies them."""
    key = {"pk": S("upd-exp")}
    ddb.put_item(TableName=table, Item={**key, "version": N(1), "v": S("a")})
    updates = {"version": {"Action": "ADD", "Value": N(1)}, "v": {"Action": "PUT", "Value": S("b")}}
    expect_error(ddb.update_item, CCF, CCF_MSG, TableName=table, Key=key, AttributeUpdates=updates,
                 Expected={"version": {"Value": N(2)}}, ReturnValues="ALL_NEW")
    assert get(ddb, table, key) == {**key, "version": N(1), "v": S("a")}
    out = ddb.update_item(TableName=table, Key=key, AttributeUpdates=updates, ReturnValues="ALL_NEW",
                          Expected={"version": {"ComparisonOperator": "EQ", "AttributeValueList": [N(1)]}})
    assert out["Attributes"] == {**key, "version": N(2), "v": S("b")}
    assert get(ddb, table, key) == {**key, "version": N(2), "v": S("b")}


def test_update_item_expected_on_a_missing_item(ddb, table):
    """On a key with no item, Expected Value fails (and creates nothing) while Exists false and
    NULL pass and the update creates the item."""
    missing = {"pk": S("upd-missing")}
    expect_error(ddb.update_item, CCF, CCF_MSG, TableName=table, Key=missing,
                 AttributeUpdates={"v": {"Value": S("x")}}, Expected={"v": {"Value": S("x")}})
    assert get(ddb, table, missing) is None
    ddb.update_item(TableName=table, Key=missing, AttributeUpdates={"v": {"Value": S("x")}},
                    Expected={"v": {"Exists": False}, "w": {"ComparisonOperator": "NULL"}})
    assert get(ddb, table, missing) == {**missing, "v": S("x")}


# --- AttributeUpdates --------------------------------------------------------------------------

def test_attribute_updates_put(ddb, table):
    """PUT (also the default Action) replaces an attribute or adds it, leaving other attributes
    alone; on a missing key it creates the item with the key and the attribute."""
    key = {"pk": S("au-put")}
    ddb.put_item(TableName=table, Item={**key, "a": S("old"), "keep": N(7)})
    ddb.update_item(TableName=table, Key=key, AttributeUpdates={
        "a": {"Action": "PUT", "Value": S("new")},
        "m": {"Value": {"M": {"x": {"L": [N(1), S("y")]}}}},
    })
    assert get(ddb, table, key) == {**key, "a": S("new"), "keep": N(7), "m": {"M": {"x": {"L": [N(1), S("y")]}}}}
    fresh = {"pk": S("au-put-fresh")}
    ddb.update_item(TableName=table, Key=fresh, AttributeUpdates={"a": {"Value": SS("p", "q")}})
    assert norm(get(ddb, table, fresh)) == norm({**fresh, "a": SS("p", "q")})


def test_attribute_updates_delete_without_value_removes_the_attribute(ddb, table):
    """DELETE with no Value removes the attribute whatever its type; deleting an attribute the
    item does not have is not an error."""
    key = {"pk": S("au-del")}
    ddb.put_item(TableName=table, Item={**key, "a": S("x"), "ss": SS("a"), "keep": S("k")})
    ddb.update_item(TableName=table, Key=key, AttributeUpdates={
        "a": {"Action": "DELETE"}, "ss": {"Action": "DELETE"}, "never": {"Action": "DELETE"}})
    assert get(ddb, table, key) == {**key, "keep": S("k")}


def test_attribute_updates_delete_set_members(ddb, table):
    """DELETE with a set Value subtracts those members ([a,b,c] minus [a,c] is [b]); members not
    in the set are ignored; subtracting every member removes the attribute."""
    key = {"pk": S("au-delset")}
    ddb.put_item(TableName=table, Item={**key, "ss": SS("a", "b", "c"), "ns": NS(1, 2, 3), "bs": {"BS": [b"\x01", b"\x02"]}})
    ddb.update_item(TableName=table, Key=key, AttributeUpdates={
        "ss": {"Action": "DELETE", "Value": SS("a", "c", "zz")},
        "ns": {"Action": "DELETE", "Value": NS(2)},
        "bs": {"Action": "DELETE", "Value": {"BS": [b"\x02"]}},
    })
    assert norm(get(ddb, table, key)) == norm({**key, "ss": SS("b"), "ns": NS(1, 3), "bs": {"BS": [b"\x01"]}})
    ddb.update_item(TableName=table, Key=key, AttributeUpdates={"ss": {"Action": "DELETE", "Value": SS("b")}})
    assert "ss" not in get(ddb, table, key)


def test_attribute_updates_add_numbers(ddb, table):
    """ADD adds a number to a number (a negative Value subtracts); a missing attribute starts from
    0; on a missing key ADD creates the item with the key and the number."""
    key = {"pk": S("au-addn")}
    ddb.put_item(TableName=table, Item={**key, "n": N(5), "f": N("1.5")})
    ddb.update_item(TableName=table, Key=key, AttributeUpdates={
        "n": {"Action": "ADD", "Value": N(3)},
        "f": {"Action": "ADD", "Value": N("-4.25")},
        "count": {"Action": "ADD", "Value": N(3)},
    })
    assert get(ddb, table, key) == {**key, "n": N(8), "f": N("-2.75"), "count": N(3)}
    ddb.update_item(TableName=table, Key=key, AttributeUpdates={"n": {"Action": "ADD", "Value": N(-10)}})
    assert get(ddb, table, key)["n"] == N(-2)
    fresh = {"pk": S("au-addn-fresh")}
    ddb.update_item(TableName=table, Key=fresh, AttributeUpdates={"hits": {"Action": "ADD", "Value": N(1)}})
    ddb.update_item(TableName=table, Key=fresh, AttributeUpdates={"hits": {"Action": "ADD", "Value": N(1)}})
    assert get(ddb, table, fresh) == {**fresh, "hits": N(2)}


def test_attribute_updates_add_sets(ddb, table):
    """ADD of a set to a set of the same type is the union; ADD to a missing attribute (or a
    missing item, for a number set) stores the given set."""
    key = {"pk": S("au-adds")}
    ddb.put_item(TableName=table, Item={**key, "ss": SS("a", "b"), "ns": NS(1, 2)})
    ddb.update_item(TableName=table, Key=key, AttributeUpdates={
        "ss": {"Action": "ADD", "Value": SS("b", "c")},
        "ns": {"Action": "ADD", "Value": NS(3)},
        "bs": {"Action": "ADD", "Value": {"BS": [b"\x00"]}},
    })
    assert norm(get(ddb, table, key)) == norm({**key, "ss": SS("a", "b", "c"), "ns": NS(1, 2, 3), "bs": {"BS": [b"\x00"]}})
    fresh = {"pk": S("au-adds-fresh")}
    ddb.update_item(TableName=table, Key=fresh, AttributeUpdates={"ns": {"Action": "ADD", "Value": NS(7, 8)}})
    assert norm(get(ddb, table, fresh)) == norm({**fresh, "ns": NS(7, 8)})


def test_attribute_updates_add_of_the_wrong_type_is_refused(ddb, table):
    """ADD is only for numbers and sets of the same type: a number onto a string, or a string
    set onto a number set, is a ValidationException and changes nothing."""
    key = {"pk": S("au-addbad")}
    item = {**key, "s": S("text"), "ns": NS(1)}
    ddb.put_item(TableName=table, Item=item)
    expect_error(ddb.update_item, VE, TableName=table, Key=key, AttributeUpdates={"s": {"Action": "ADD", "Value": N(1)}})
    expect_error(ddb.update_item, VE, TableName=table, Key=key, AttributeUpdates={"ns": {"Action": "ADD", "Value": SS("x")}})
    assert norm(get(ddb, table, key)) == norm(item)


@pytest.mark.parametrize("rv,expected", [
    ("NONE", None),
    ("ALL_OLD", {"pk": S("au-rv"), "a": S("1"), "n": N(5), "gone": S("x"), "keep": S("k")}),
    ("ALL_NEW", {"pk": S("au-rv"), "a": S("2"), "n": N(6), "fresh": N(3), "keep": S("k")}),
    ("UPDATED_OLD", {"a": S("1"), "n": N(5), "gone": S("x")}),
    ("UPDATED_NEW", {"a": S("2"), "n": N(6), "fresh": N(3)}),
])
def test_attribute_updates_return_values(ddb, table, rv, expected):
    """ReturnValues with PUT, ADD (existing and new attribute) and DELETE in one request:
    UPDATED_OLD holds the old values of the attributes that existed, UPDATED_NEW the new values
    of those that remain, ALL_OLD / ALL_NEW the whole item; the stored item is the new one."""
    key = {"pk": S("au-rv")}
    ddb.put_item(TableName=table, Item={**key, "a": S("1"), "n": N(5), "gone": S("x"), "keep": S("k")})
    out = ddb.update_item(TableName=table, Key=key, ReturnValues=rv, AttributeUpdates={
        "a": {"Action": "PUT", "Value": S("2")},
        "n": {"Action": "ADD", "Value": N(1)},
        "fresh": {"Action": "ADD", "Value": N(3)},
        "gone": {"Action": "DELETE"},
    })
    assert out.get("Attributes") == expected
    assert get(ddb, table, key) == {**key, "a": S("2"), "n": N(6), "fresh": N(3), "keep": S("k")}


# tests/tier3/limits/itemSizeBySurface.test.ts, "AttributeUpdates sizes the finished item":
# "caps the finished item at exactly 409,600" alone and beside an untouched attribute; the
# refusal carries the update wording.
@pytest.mark.parametrize("untouched", [{}, {"u": S("y" * 10)}], ids=["alone", "beside-untouched"])
def test_attribute_updates_item_size_cap(ddb, table, untouched):
    """AttributeUpdates is measured on the finished item, key and untouched attributes included:
    exactly 409,600 bytes is stored, one byte more is refused with 'Item size to update has
    exceeded the maximum allowed size' and writes nothing."""
    def size(item):  # names + values; every value here is a string
        return sum(len(k.encode()) + len(v["S"].encode()) for k, v in item.items())

    def send(key, pad_bytes):
        if untouched:
            ddb.put_item(TableName=table, Item={**key, **untouched})
        ddb.update_item(TableName=table, Key=key, AttributeUpdates={"b": {"Action": "PUT", "Value": S("x" * pad_bytes)}})

    accepted, refused = {"pk": S(f"au-size-{len(untouched)}-at")}, {"pk": S(f"au-size-{len(untouched)}-ov")}
    padding = 409_600 - size(accepted) - len("b") - size(untouched)
    send(accepted, padding)
    stored = get(ddb, table, accepted)
    assert size(stored) == 409_600 and len(stored["b"]["S"]) == padding
    expect_error(send, VE, contains="Item size to update has exceeded the maximum allowed size",
                 key=refused, pad_bytes=padding + 1)
    assert get(ddb, table, refused) == ({**refused, **untouched} if untouched else None)


# --- Query: KeyConditions, QueryFilter, AttributesToGet ---------------------------------------

def test_query_key_conditions_hash_only(ddb, ntable):
    """KeyConditions with only EQ on the hash key returns that partition's items, in numeric
    sort-key order (descending with ScanIndexForward false)."""
    cond = {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("p")]}}
    out = ddb.query(TableName=ntable, KeyConditions=cond, ConsistentRead=True)
    assert sks(out["Items"]) == [1, 2, 9, 10, 11]
    assert out["Count"] == 5 and out["ScannedCount"] == 5
    assert out["Items"][0] == {"pk": S("p"), "sk": N(1), "v": S("v1"), "n": N(10), "color": S("red")}
    out = ddb.query(TableName=ntable, KeyConditions=cond, ConsistentRead=True, ScanIndexForward=False)
    assert sks(out["Items"]) == [11, 10, 9, 2, 1]
    q = ddb.query(TableName=ntable, KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("q")]}},
                  ConsistentRead=True)
    assert sks(q["Items"]) == [5]


@pytest.mark.parametrize("op,values,expected", [
    ("EQ", [10], [10]),
    ("LE", [9], [1, 2, 9]),
    ("LT", [9], [1, 2]),
    ("GE", [10], [10, 11]),
    ("GT", [10], [11]),
    ("BETWEEN", [2, 10], [2, 9, 10]),
    ("BETWEEN", [3, 8], []),
])
def test_query_key_conditions_on_the_range_key(ddb, ntable, op, values, expected):
    """Each range-key operator of KeyConditions selects the right items of the partition,
    comparing numbers numerically (BETWEEN inclusive)."""
    out = ddb.query(TableName=ntable, ConsistentRead=True, KeyConditions={
        "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("p")]},
        "sk": {"ComparisonOperator": op, "AttributeValueList": [N(v) for v in values]},
    })
    assert sks(out["Items"]) == expected
    assert out["Count"] == len(expected)


def test_query_key_conditions_begins_with(ddb, make_table):
    """BEGINS_WITH on a string range key selects the items whose sort key has that prefix, and
    string BETWEEN compares by bytes."""
    t = make_table(range_key=("sk", "S"))
    for sk in ("a#1", "a#2", "ab", "b#1", "A#1"):
        ddb.put_item(TableName=t, Item={"pk": S("p"), "sk": S(sk)})
    hash_eq = {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("p")]}}
    out = ddb.query(TableName=t, ConsistentRead=True, KeyConditions={
        **hash_eq, "sk": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [S("a#")]}})
    assert [it["sk"]["S"] for it in out["Items"]] == ["a#1", "a#2"]
    out = ddb.query(TableName=t, ConsistentRead=True, KeyConditions={
        **hash_eq, "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [S("A"), S("a~")]}})
    assert [it["sk"]["S"] for it in out["Items"]] == ["A#1", "a#1", "a#2", "ab"]


def test_query_key_conditions_paginate(ddb, ntable):
    """KeyConditions with Limit pages through the range with LastEvaluatedKey /
    ExclusiveStartKey, and the pages add up to the whole range."""
    cond = {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("p")]},
            "sk": {"ComparisonOperator": "GE", "AttributeValueList": [N(2)]}}
    got, start, pages = [], None, 0
    while True:
        kwargs = {"ExclusiveStartKey": start} if start else {}
        out = ddb.query(TableName=ntable, KeyConditions=cond, Limit=2, ConsistentRead=True, **kwargs)
        got += sks(out["Items"])
        pages += 1
        start = out.get("LastEvaluatedKey")
        if not start:
            break
        assert pages < 10
    assert got == [2, 9, 10, 11]


def test_query_filter(ddb, ntable):
    """QueryFilter drops non-matching items after the key condition: Count counts the matches,
    ScannedCount the items read; several filters are ANDed unless ConditionalOperator is OR;
    the filter sees attributes that AttributesToGet leaves out."""
    hash_eq = {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("p")]}}
    out = ddb.query(TableName=ntable, ConsistentRead=True, KeyConditions=hash_eq,
                    QueryFilter={"color": {"ComparisonOperator": "EQ", "AttributeValueList": [S("red")]}})
    assert sks(out["Items"]) == [1, 10]
    assert out["Count"] == 2 and out["ScannedCount"] == 5
    both = {"color": {"ComparisonOperator": "NOT_NULL"}, "n": {"ComparisonOperator": "GT", "AttributeValueList": [N(15)]}}
    out = ddb.query(TableName=ntable, ConsistentRead=True, KeyConditions=hash_eq, QueryFilter=both)
    assert sks(out["Items"]) == [2, 10]
    out = ddb.query(TableName=ntable, ConsistentRead=True, KeyConditions=hash_eq, QueryFilter=both, ConditionalOperator="OR")
    assert sks(out["Items"]) == [1, 2, 9, 10, 11]
    out = ddb.query(TableName=ntable, ConsistentRead=True, KeyConditions=hash_eq, ConditionalOperator="OR",
                    QueryFilter={"color": {"ComparisonOperator": "NULL"},
                                 "v": {"ComparisonOperator": "IN", "AttributeValueList": [S("v1"), S("v2")]}})
    assert sks(out["Items"]) == [1, 2, 9, 11]
    out = ddb.query(TableName=ntable, ConsistentRead=True, KeyConditions=hash_eq, AttributesToGet=["v"],
                    QueryFilter={"color": {"ComparisonOperator": "EQ", "AttributeValueList": [S("blue")]}})
    assert out["Items"] == [{"v": S("v2")}]


def test_query_attributes_to_get(ddb, ntable):
    """Query AttributesToGet returns only the named attributes (keys too only when named); a
    named attribute an item lacks is just absent; Select SPECIFIC_ATTRIBUTES is accepted with it."""
    cond = {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("p")]},
            "sk": {"ComparisonOperator": "LE", "AttributeValueList": [N(9)]}}
    out = ddb.query(TableName=ntable, ConsistentRead=True, KeyConditions=cond, AttributesToGet=["sk", "color", "nope"])
    assert out["Items"] == [{"sk": N(1), "color": S("red")}, {"sk": N(2), "color": S("blue")}, {"sk": N(9)}]
    out = ddb.query(TableName=ntable, ConsistentRead=True, KeyConditions=cond, AttributesToGet=["v"],
                    Select="SPECIFIC_ATTRIBUTES")
    assert out["Items"] == [{"v": S("v1")}, {"v": S("v2")}, {"v": S("v9")}]


# --- Scan: ScanFilter, AttributesToGet --------------------------------------------------------

@pytest.fixture
def stable(ddb, table):
    """The hash table with five items s0..s4: n = i, tags a string set, name present on some."""
    items = [
        {"pk": S("s0"), "n": N(0), "tags": SS("x", "y"), "name": S("alpha")},
        {"pk": S("s1"), "n": N(1), "tags": SS("y")},
        {"pk": S("s2"), "n": N(2), "tags": SS("x"), "name": S("beta")},
        {"pk": S("s3"), "n": N(3), "name": S("alpine")},
        {"pk": S("s4"), "n": N(4), "tags": SS("z")},
    ]
    for it in items:
        ddb.put_item(TableName=table, Item=it)
    return table


def scan_pks(ddb, table, **kw):
    out = ddb.scan(TableName=table, ConsistentRead=True, **kw)
    assert out["ScannedCount"] == 5
    assert out["Count"] == len(out["Items"])
    return sorted(it["pk"]["S"] for it in out.get("Items", []))


def test_scan_filter(ddb, stable):
    """ScanFilter conditions (CONTAINS on a set, GE, NULL / NOT_NULL, BEGINS_WITH, IN, BETWEEN,
    NOT_CONTAINS) select the matching items; several are ANDed unless ConditionalOperator is OR."""
    contains_x = {"tags": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [S("x")]}}
    assert scan_pks(ddb, stable, ScanFilter=contains_x) == ["s0", "s2"]
    both = {**contains_x, "n": {"ComparisonOperator": "GE", "AttributeValueList": [N(1)]}}
    assert scan_pks(ddb, stable, ScanFilter=both) == ["s2"]
    assert scan_pks(ddb, stable, ScanFilter=both, ConditionalOperator="AND") == ["s2"]
    assert scan_pks(ddb, stable, ScanFilter=both, ConditionalOperator="OR") == ["s0", "s1", "s2", "s3", "s4"]
    assert scan_pks(ddb, stable, ScanFilter={"name": {"ComparisonOperator": "NULL"}}) == ["s1", "s4"]
    assert scan_pks(ddb, stable, ScanFilter={"tags": {"ComparisonOperator": "NOT_NULL"}}) == ["s0", "s1", "s2", "s4"]
    assert scan_pks(ddb, stable, ScanFilter={
        "name": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [S("alp")]}}) == ["s0", "s3"]
    assert scan_pks(ddb, stable, ScanFilter={
        "pk": {"ComparisonOperator": "IN", "AttributeValueList": [S("s1"), S("s4"), S("nope")]}}) == ["s1", "s4"]
    assert scan_pks(ddb, stable, ScanFilter={
        "n": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [N(1), N(3)]}}) == ["s1", "s2", "s3"]
    # NOT_CONTAINS only over items that have `tags` (s3, which lacks it, is excluded by `n`).
    assert scan_pks(ddb, stable, ScanFilter={
        "tags": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [S("y")]},
        "n": {"ComparisonOperator": "IN", "AttributeValueList": [N(0), N(1), N(2), N(4)]}}) == ["s2", "s4"]


def test_scan_filter_with_select_count(ddb, stable):
    """Select COUNT with a ScanFilter returns the number of matches and no items."""
    out = ddb.scan(TableName=stable, ConsistentRead=True, Select="COUNT",
                   ScanFilter={"n": {"ComparisonOperator": "LT", "AttributeValueList": [N(3)]}})
    assert out["Count"] == 3 and out["ScannedCount"] == 5
    assert "Items" not in out


def test_scan_attributes_to_get(ddb, stable):
    """Scan AttributesToGet returns only the named attributes, together with a ScanFilter on an
    attribute it does not return."""
    out = ddb.scan(TableName=stable, ConsistentRead=True, AttributesToGet=["pk", "name"])
    assert sorted((json.dumps(it, sort_keys=True) for it in out["Items"])) == sorted(json.dumps(it, sort_keys=True) for it in [
        {"pk": S("s0"), "name": S("alpha")}, {"pk": S("s1")}, {"pk": S("s2"), "name": S("beta")},
        {"pk": S("s3"), "name": S("alpine")}, {"pk": S("s4")}])
    out = ddb.scan(TableName=stable, ConsistentRead=True, AttributesToGet=["name"],
                   ScanFilter={"n": {"ComparisonOperator": "EQ", "AttributeValueList": [N(2)]}})
    assert out["Items"] == [{"name": S("beta")}]


# --- GetItem / BatchGetItem AttributesToGet ---------------------------------------------------

def test_get_item_attributes_to_get(ddb, table):
    """GetItem AttributesToGet returns only the named attributes (not the key unless named); a
    named attribute the item lacks is absent; naming only absent attributes gives an empty Item."""
    key = {"pk": S("g")}
    ddb.put_item(TableName=table, Item={**key, "a": S("1"), "b": N(2), "c": {"L": [S("x")]}})
    out = ddb.get_item(TableName=table, Key=key, ConsistentRead=True, AttributesToGet=["a", "c", "zz"])
    assert out["Item"] == {"a": S("1"), "c": {"L": [S("x")]}}
    out = ddb.get_item(TableName=table, Key=key, ConsistentRead=True, AttributesToGet=["pk", "b"])
    assert out["Item"] == {**key, "b": N(2)}
    assert ddb.get_item(TableName=table, Key=key, ConsistentRead=True, AttributesToGet=["zz"]).get("Item", {}) == {}


def test_batch_get_item_attributes_to_get(ddb, table):
    """BatchGetItem AttributesToGet applies to every item returned for the table."""
    for i in range(3):
        ddb.put_item(TableName=table, Item={"pk": S(f"bg{i}"), "a": N(i), "b": S("skip")})
    out = ddb.batch_get_item(RequestItems={table: {
        "Keys": [{"pk": S("bg0")}, {"pk": S("bg2")}, {"pk": S("bg-none")}],
        "AttributesToGet": ["pk", "a"], "ConsistentRead": True}})
    got = sorted(out["Responses"][table], key=lambda it: it["pk"]["S"])
    assert got == [{"pk": S("bg0"), "a": N(0)}, {"pk": S("bg2"), "a": N(2)}]
    assert out["UnprocessedKeys"] == {}


# --- exact validation messages (raw JSON) -----------------------------------------------------

# tests/tier3/error-messages/deleteItem.test.ts, "DeleteItem - request validation envelope",
# "every malformed Expected condition".
@pytest.mark.parametrize("expected,message", [
    ({"a": {"Exists": True}}, INV + "Value must be provided when Exists is true for Attribute: a"),
    ({"a": {"Exists": False, "Value": S("x")}}, INV + "Value cannot be used when Exists is false for Attribute: a"),
    ({"a": {"Value": S("x"), "ComparisonOperator": "EQ", "AttributeValueList": [S("x")]}},
     INV + "Value and AttributeValueList cannot be used together for Attribute: a"),
    ({"a": {"ComparisonOperator": "EQ"}}, INV + "Value or AttributeValueList must be used with ComparisonOperator: EQ for Attribute: a"),
    ({"a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [S("x")]}},
     INV + "Invalid number of argument(s) for the BETWEEN ComparisonOperator"),
], ids=["exists-true-no-value", "exists-false-with-value", "value-and-list", "eq-without-values", "between-one-value"])
def test_delete_item_malformed_expected_messages(ddb, endpoint, table, expected, message):
    """A malformed Expected condition on DeleteItem is a ValidationException inside the
    '1 validation error detected: ' envelope, and the item stays."""
    key = {"pk": S("em-del-envelope")}
    ddb.put_item(TableName=table, Item={**key, "a": S("x")})
    assert error(endpoint, "DeleteItem", {"TableName": table, "Key": key, "Expected": expected}) == (VE, ENV + message)
    assert get(ddb, table, key) == {**key, "a": S("x")}


def test_delete_item_legacy_and_expression_parameter_messages(endpoint, table):
    """DeleteItem: ExpressionAttributeNames beside Expected is refused as used without an
    expression, and Expected beside ConditionExpression as mixing the two kinds."""
    # tests/tier3/error-messages/deleteItem.test.ts, "ExpressionAttributeValues or
    # ExpressionAttributeNames without an expression".
    key = {"pk": S("em-del-mix")}
    assert error(endpoint, "DeleteItem", {"TableName": table, "Key": key, "Expected": {"a": {"Exists": False}},
                                          "ExpressionAttributeNames": {"#a": "a"}}) == (
        VE, ENV + "ExpressionAttributeNames can only be specified when using expressions")
    # tests/tier3/error-messages/deleteItem.test.ts, "mixing Expected with ConditionExpression"
    # (asserted there with toContain).
    kind, message = error(endpoint, "DeleteItem", {"TableName": table, "Key": key, "Expected": {"pk": {"Exists": False}},
                                                   "ConditionExpression": "attribute_not_exists(pk)"})
    assert kind == VE
    assert ("Can not use both expression and non-expression parameters in the same request: "
            "Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}") in message


# tests/tier3/error-messages/putItem.test.ts, "PutItem - request validation envelope",
# "a malformed Expected condition".
def test_put_item_malformed_expected_messages(ddb, endpoint, table):
    """A malformed Expected condition on PutItem is refused inside the envelope and writes nothing."""
    item = {"pk": S("em-put-envelope")}
    assert error(endpoint, "PutItem", {"TableName": table, "Item": item, "Expected": {"a": {"Exists": True}}}) == (
        VE, ENV + INV + "Value must be provided when Exists is true for Attribute: a")
    assert error(endpoint, "PutItem", {"TableName": table, "Item": item, "Expected": {"a": {"ComparisonOperator": "EQ"}}}) == (
        VE, ENV + INV + "Value or AttributeValueList must be used with ComparisonOperator: EQ for Attribute: a")
    assert get(ddb, table, item) is None


# tests/tier3/error-messages/valueLayers.test.ts: the current layer's answer to each number
# shape (SHAPES / CURRENT), for "PutItem checks the numbers in Expected values and writes
# nothing" and "UpdateItem refuses a malformed number ... in AttributeUpdates".
NUMBER_SHAPES = [
    ("abc", "The parameter cannot be converted to a numeric value: abc"),
    ("", "The parameter cannot be converted to a numeric value: "),
    ("1e126", "Number overflow. Attempting to store a number with magnitude larger than supported range"),
    ("1e2147483647", "Number overflow. Attempting to store a number with magnitude larger than supported range"),
]


@pytest.mark.parametrize("number,message", NUMBER_SHAPES, ids=["abc", "empty", "1e126", "1e2147483647"])
def test_bad_numbers_in_expected_and_attribute_updates(ddb, endpoint, table, number, message):
    """A malformed number in an Expected Value (PutItem) or an AttributeUpdates Value
    (UpdateItem) is refused inside the envelope, and nothing is written."""
    key = {"pk": S("vl-n-expected")}
    assert error(endpoint, "PutItem", {"TableName": table, "Item": key, "Expected": {"n": {"Value": {"N": number}}}}) == (
        VE, ENV + message)
    assert error(endpoint, "UpdateItem", {"TableName": table, "Key": key,
                                          "AttributeUpdates": {"n": {"Action": "PUT", "Value": {"N": number}}}}) == (
        VE, ENV + message)
    assert get(ddb, table, key) is None


# tests/tier3/error-messages/valueLayers.test.ts: DUPES and DUPE_CURRENT, for "PutItem refuses a
# duplicate in ... an Expected value inside the envelope", "UpdateItem refuses a duplicate in ...
# AttributeUpdates ... inside the envelope" and "Query refuses a duplicate in ... QueryFilter bare".
DUPLICATE_SETS = [
    ({"SS": ["b", "a", "b"]}, INV + 'Input collection ["a", "b", "b"] contains duplicates.'),
    ({"BS": ["/w==", "AA==", "AA=="]}, INV + 'Input collection ["AA==","/w==","AA=="]of type BS contains duplicates.'),
    ({"NS": ["2", "1", "2"]}, INV + "Input collection contains duplicates."),
]


@pytest.mark.parametrize("dupe,message", DUPLICATE_SETS, ids=["SS", "BS", "NS"])
def test_duplicate_set_members_in_legacy_values(ddb, endpoint, table, dupe, message):
    """A set with a repeated member in Expected (PutItem) or AttributeUpdates (UpdateItem) is
    refused inside the envelope; in a QueryFilter (with KeyConditions) it is refused bare."""
    key = {"pk": S("vl-d")}
    assert error(endpoint, "PutItem", {"TableName": table, "Item": key, "Expected": {"s": {"Value": dupe}}}) == (
        VE, ENV + message)
    assert error(endpoint, "UpdateItem", {"TableName": table, "Key": key,
                                          "AttributeUpdates": {"s": {"Action": "PUT", "Value": dupe}}}) == (VE, ENV + message)
    assert error(endpoint, "Query", {"TableName": table, "ConsistentRead": True,
                                     "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("vl-d")]}},
                                     "QueryFilter": {"s": {"ComparisonOperator": "EQ", "AttributeValueList": [dupe]}}}) == (
        VE, message)
    assert get(ddb, table, key) is None


# tests/tier3/validation-ordering/updateItem.test.ts, "joins XOR with two Expected conditions to
# the missing key".
def test_update_item_xor_conditional_operator_joined_with_missing_key(endpoint):
    """ConditionalOperator XOR is outside the [OR, AND] enum; with Key left out the two member
    errors are joined in one message."""
    got = error(endpoint, "UpdateItem", {
        "TableName": "vo_upd_nokey_absent_legacy",
        "AttributeUpdates": {"x": {"Action": "PUT", "Value": {"S": "1"}}},
        "Expected": {"a": {"Exists": False}, "b": {"Exists": False}},
        "ConditionalOperator": "XOR",
    })
    assert got == (VE, "2 validation errors detected: Value 'XOR' at 'conditionalOperator' failed to satisfy "
                       "constraint: Member must satisfy enum value set: [OR, AND]; Value null at 'key' failed to "
                       "satisfy constraint: Member must not be null")


# --- edges found in review -------------------------------------------------------------------

def test_empty_legacy_maps_mean_no_condition(ddb, endpoint, table):
    """An empty Expected, ScanFilter or QueryFilter is no condition at all, as in DynamoDB."""
    ddb.put_item(TableName=table, Item={"pk": S("e")}, Expected={})
    assert get(ddb, table, {"pk": S("e")}) is not None
    out = ddb.scan(TableName=table, ScanFilter={}, ConsistentRead=True)
    assert out["Count"] == 1
    out = ddb.query(TableName=table, KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("e")]}},
                    QueryFilter={}, ConsistentRead=True)
    assert out["Count"] == 1


def test_wide_attribute_updates_are_not_held_to_expression_limits(ddb, table):
    """300 AttributeUpdates (and as many AttributesToGet) would be over 4 KB as expression
    text; the legacy parameters have no such limit."""
    updates = {f"attribute_{i:03}": {"Action": "PUT", "Value": S("x")} for i in range(300)}
    ddb.update_item(TableName=table, Key={"pk": S("wide")}, AttributeUpdates=updates)
    item = ddb.get_item(TableName=table, Key={"pk": S("wide")}, AttributesToGet=list(updates), ConsistentRead=True)["Item"]
    assert len(item) == 300


def test_key_conditions_hold_one_or_two_conditions(endpoint, ntable):
    conditions = {name: {"ComparisonOperator": "EQ", "AttributeValueList": [value]}
                  for name, value in (("pk", S("p")), ("sk", N(1)), ("v", S("v1")))}
    assert error(endpoint, "Query", {"TableName": ntable, "KeyConditions": conditions}) == \
        (VE, "Conditions can be of length 1 or 2 only")


def test_legacy_odd_requests(endpoint, table):
    # A placeholder map with AttributesToGet in a BatchGetItem, as in GetItem.
    assert error(endpoint, "BatchGetItem", {"RequestItems": {table: {
        "Keys": [{"pk": S("a")}], "AttributesToGet": ["a"], "ExpressionAttributeNames": {"#n": "a"}}}}) == \
        (VE, "ExpressionAttributeNames can only be specified when using expressions")
    # An unknown Action is reported as such, with or without a Value.
    kind, message = error(endpoint, "UpdateItem", {"TableName": table, "Key": {"pk": S("a")},
                                                   "AttributeUpdates": {"a": {"Action": "FOO"}}})
    assert kind == VE and "Member must satisfy enum value set: [ADD, PUT, DELETE]" in message
    # Select names the member the projection came in.
    assert error(endpoint, "Scan", {"TableName": table, "Select": "COUNT", "AttributesToGet": ["a"]}) == \
        (VE, INV + "Cannot specify the AttributesToGet when choosing to get only the Count")


def test_batch_write_older_wording_names_the_failing_value(endpoint, table):
    """The value that fails first is the one reported, in the older wording only when it has
    one: a bad number ahead of a duplicate set reports the number."""
    assert error(endpoint, "BatchWriteItem", {"RequestItems": {table: [{"PutRequest": {"Item": {
        "pk": S("o"), "a": {"N": "x"}, "b": {"SS": ["q", "q"]}}}}]}}) == \
        (VE, "The parameter cannot be converted to a numeric value: x")
