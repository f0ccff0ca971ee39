"""Error types and exact messages for bad input (texts from the project's research notes
docs/research/item-messages.md and expr-messages.md, which cite real-AWS captures), number
limits and normalisation, and the HTTP protocol layer (auth, target, JSON, CRC32)."""

from __future__ import annotations

import json
import zlib

import pytest

from e2e_helpers import expect_error, raw_post, unique_name

VE = "ValidationException"
ENVELOPE = "1 validation error detected: "


@pytest.fixture
def table(make_table):
    return make_table()


@pytest.fixture
def ctable(make_table):
    return make_table(range_key=("sk", "N"))


# --- keys ----------------------------------------------------------------------------------

def test_put_missing_key_attribute(ddb, ctable):
    """PutItem without the hash key (or the range key) names the missing key."""
    expect_error(ddb.put_item, VE, endswith="One or more parameter values were invalid: Missing the key pk in the item",
                 TableName=ctable, Item={"sk": {"N": "1"}, "a": {"S": "x"}})
    expect_error(ddb.put_item, VE, endswith="One or more parameter values were invalid: Missing the key sk in the item",
                 TableName=ctable, Item={"pk": {"S": "p"}})


def test_put_wrong_key_type(ddb, table):
    """PutItem with an N where the schema says S: 'Type mismatch for key pk expected: S
    actual: N' (bare, per the notes)."""
    expect_error(ddb.put_item, VE,
                 "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N",
                 TableName=table, Item={"pk": {"N": "1"}})


@pytest.mark.parametrize("key", [
    {"pk": {"N": "1"}},                        # wrong type
    {"other": {"S": "a"}},                     # wrong attribute
    {"pk": {"S": "a"}, "extra": {"S": "b"}},   # extra attribute
    {},                                        # nothing
])
def test_get_item_wrong_key(ddb, table, key):
    """GetItem with a key of the wrong type, the wrong attribute, an extra attribute or no
    attribute: 'The provided key element does not match the schema'."""
    expect_error(ddb.get_item, VE, "The provided key element does not match the schema", TableName=table, Key=key)


def test_get_item_missing_range_key(ddb, ctable):
    """GetItem with only the hash key of a composite-key table does not match the schema."""
    expect_error(ddb.get_item, VE, "The provided key element does not match the schema",
                 TableName=ctable, Key={"pk": {"S": "a"}})


def test_delete_and_update_wrong_key(ddb, ctable):
    """DeleteItem and UpdateItem with an incomplete key: 'The provided key element does not
    match the schema' (envelope may vary)."""
    expect_error(ddb.delete_item, VE, endswith="The provided key element does not match the schema",
                 TableName=ctable, Key={"pk": {"S": "a"}})
    expect_error(ddb.update_item, VE, endswith="The provided key element does not match the schema",
                 TableName=ctable, Key={"pk": {"S": "a"}, "sk": {"S": "1"}},
                 UpdateExpression="SET a = :a", ExpressionAttributeValues={":a": {"S": "x"}})


def test_empty_string_key(ddb, table):
    """An empty string as a key value is rejected with the 'cannot contain an empty string
    value. Key: pk' message."""
    expect_error(
        ddb.put_item, VE,
        contains="One or more parameter values are not valid. The AttributeValue for a key attribute "
                 "cannot contain an empty string value. Key: pk",
        TableName=table, Item={"pk": {"S": ""}},
    )


def test_update_key_attribute(ddb, table):
    """UpdateItem may not SET a key attribute: 'Cannot update attribute pk. This attribute is
    part of the key'."""
    expect_error(
        ddb.update_item, VE,
        contains="One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key",
        TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression="SET pk = :v",
        ExpressionAttributeValues={":v": {"S": "b"}},
    )


# --- item size -------------------------------------------------------------------------------

def test_item_size_limit_boundary(ddb, table):
    """An item of exactly 409,600 bytes (names + values) is accepted; one byte more is refused
    with 'Item size has exceeded the maximum allowed size'."""
    # size = len("pk") + len("big") + len("d") + n
    n = 409_600 - (2 + 3 + 1)
    ddb.put_item(TableName=table, Item={"pk": {"S": "big"}, "d": {"S": "x" * n}})
    assert len(ddb.get_item(TableName=table, Key={"pk": {"S": "big"}})["Item"]["d"]["S"]) == n
    expect_error(ddb.put_item, VE, contains="Item size has exceeded the maximum allowed size",
                 TableName=table, Item={"pk": {"S": "big2"}, "d": {"S": "x" * (n + 1)}})
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "big2"}})


def test_oversized_item_in_batch_write(ddb, table):
    """BatchWriteItem refuses an item over 400 KB with the same size message."""
    expect_error(ddb.batch_write_item, VE, contains="Item size has exceeded the maximum allowed size",
                 RequestItems={table: [{"PutRequest": {"Item": {"pk": {"S": "b"}, "d": {"S": "y" * 410_000}}}}]})


def test_update_item_beyond_size_limit(ddb, table):
    """An UpdateItem that would grow the item past 400 KB is refused with 'Item size to update
    has exceeded the maximum allowed size' and leaves the item unchanged."""
    ddb.put_item(TableName=table, Item={"pk": {"S": "u"}, "a": {"S": "x" * 300_000}})
    expect_error(ddb.update_item, VE, contains="Item size to update has exceeded the maximum allowed size",
                 TableName=table, Key={"pk": {"S": "u"}}, UpdateExpression="SET b = :b",
                 ExpressionAttributeValues={":b": {"S": "y" * 200_000}})
    assert "b" not in ddb.get_item(TableName=table, Key={"pk": {"S": "u"}})["Item"]


# --- expressions -----------------------------------------------------------------------------

def test_update_expression_syntax_error(ddb, table):
    """A trailing comma in an UpdateExpression is a syntax error naming the token <EOF> and the
    text near it."""
    expect_error(ddb.update_item, VE, endswith='Invalid UpdateExpression: Syntax error; token: "<EOF>", near: ","',
                 TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression="SET a = :a,",
                 ExpressionAttributeValues={":a": {"S": "x"}})


def test_update_expression_syntax_error_first_token(ddb, table):
    """An UpdateExpression starting with an unknown word: token is that word, near is it plus
    the next token."""
    expect_error(ddb.update_item, VE,
                 contains='Invalid UpdateExpression: Syntax error; token: "INVALID", near: "INVALID SYNTAX"',
                 TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression="INVALID SYNTAX HERE")


def test_projection_syntax_error(ddb, table):
    """GetItem with ProjectionExpression '!!! INVALID !!!': exact syntax-error message."""
    expect_error(ddb.get_item, VE, 'Invalid ProjectionExpression: Syntax error; token: "!", near: "!!"',
                 TableName=table, Key={"pk": {"S": "a"}}, ProjectionExpression="!!! INVALID !!!")


def test_condition_syntax_error_numeric_literal(ddb, table):
    """Numeric literals are not operands in DynamoDB expressions: 'a > 4' in a
    ConditionExpression is a syntax error."""
    expect_error(ddb.put_item, VE, contains="Invalid ConditionExpression: Syntax error;",
                 TableName=table, Item={"pk": {"S": "a"}}, ConditionExpression="a > 4")


def test_reserved_word_in_filter(ddb, table):
    """A reserved word used bare in a Scan FilterExpression: 'Attribute name is a reserved
    keyword; reserved keyword: status' (keyword echoed as written)."""
    expect_error(ddb.scan, VE, "Invalid FilterExpression: Attribute name is a reserved keyword; reserved keyword: status",
                 TableName=table, FilterExpression="status = :s", ExpressionAttributeValues={":s": {"S": "x"}})
    expect_error(ddb.scan, VE, "Invalid FilterExpression: Attribute name is a reserved keyword; reserved keyword: Size",
                 TableName=table, FilterExpression="Size = :s", ExpressionAttributeValues={":s": {"S": "x"}})


def test_reserved_word_in_update(ddb, table):
    """A reserved word as a path component in an UpdateExpression is rejected with the
    reserved-keyword message."""
    expect_error(ddb.update_item, VE,
                 endswith="Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: name",
                 TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression="SET name = :v",
                 ExpressionAttributeValues={":v": {"S": "x"}})


def test_undefined_name_placeholder(ddb, ctable):
    """Query FilterExpression using #missing not in ExpressionAttributeNames: exact message."""
    expect_error(
        ddb.query, VE,
        "Invalid FilterExpression: An expression attribute name used in the document path is not defined; attribute name: #missing",
        TableName=ctable, KeyConditionExpression="pk = :p", FilterExpression="#missing = :p",
        ExpressionAttributeValues={":p": {"S": "a"}},
    )


def test_undefined_value_placeholder(ddb, table):
    """UpdateExpression using :v not in ExpressionAttributeValues names the value."""
    expect_error(
        ddb.update_item, VE,
        endswith="Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :v",
        TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression="SET a = :v",
    )


def test_unused_name_placeholder(ddb, ctable):
    """An ExpressionAttributeNames entry used by no expression: exact 'unused' message."""
    expect_error(
        ddb.query, VE, "Value provided in ExpressionAttributeNames unused in expressions: keys: {#unused}",
        TableName=ctable, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}},
        ExpressionAttributeNames={"#unused": "x"},
    )


def test_key_condition_missing_partition_key(ddb, ctable):
    """A KeyConditionExpression on the sort key only: 'Query condition missed key schema
    element: pk'."""
    expect_error(ddb.query, VE, "Query condition missed key schema element: pk",
                 TableName=ctable, KeyConditionExpression="sk = :v", ExpressionAttributeValues={":v": {"N": "1"}})


def test_empty_expression(ddb, ctable):
    """An empty KeyConditionExpression: 'The expression can not be empty;'."""
    expect_error(ddb.query, VE, "Invalid KeyConditionExpression: The expression can not be empty;",
                 TableName=ctable, KeyConditionExpression="")


def test_redundant_parentheses(ddb, table):
    """Doubled parentheses around a condition: 'The expression has redundant parentheses;'."""
    expect_error(ddb.put_item, VE, contains="Invalid ConditionExpression: The expression has redundant parentheses;",
                 TableName=table, Item={"pk": {"S": "a"}}, ConditionExpression="((attribute_not_exists(pk)))")


# --- numbers ---------------------------------------------------------------------------------

def test_number_38_digits_roundtrip(ddb, table):
    """38 significant digits are stored and returned exactly, including as negative and
    fractional values and beyond float precision."""
    for v in ["12345678901234567890123456789012345678", "-1.2345678901234567890123456789012345678",
              "0.00000000000000000000000000000000000000000001", "99999999999999999999999999999999999999"]:
        ddb.put_item(TableName=table, Item={"pk": {"S": "n"}, "v": {"N": v}})
        assert ddb.get_item(TableName=table, Key={"pk": {"S": "n"}})["Item"]["v"]["N"] == v


def test_number_arithmetic_is_exact(ddb, table):
    """UpdateItem arithmetic on 38-digit numbers is exact decimal arithmetic (no float loss)."""
    ddb.put_item(TableName=table, Item={"pk": {"S": "n"}, "v": {"N": "12345678901234567890123456789012345670"}})
    r = ddb.update_item(TableName=table, Key={"pk": {"S": "n"}}, UpdateExpression="SET v = v + :d",
                        ExpressionAttributeValues={":d": {"N": "8"}}, ReturnValues="UPDATED_NEW")
    assert r["Attributes"]["v"]["N"] == "12345678901234567890123456789012345678"
    r = ddb.update_item(TableName=table, Key={"pk": {"S": "n"}}, UpdateExpression="SET w = :a - :b",
                        ExpressionAttributeValues={":a": {"N": "0.3"}, ":b": {"N": "0.1"}}, ReturnValues="UPDATED_NEW")
    assert r["Attributes"]["w"]["N"] == "0.2"


def test_number_39_digits_rejected(ddb, table):
    """39 significant digits in PutItem: '1 validation error detected: Attempting to store more
    than 38 significant digits in a Number'."""
    expect_error(ddb.put_item, VE, ENVELOPE + "Attempting to store more than 38 significant digits in a Number",
                 TableName=table, Item={"pk": {"S": "n"}, "v": {"N": "123456789012345678901234567890123456789"}})


@pytest.mark.parametrize("raw, msg", [
    ("abc", "The parameter cannot be converted to a numeric value: abc"),
    ("1.2.3", "The parameter cannot be converted to a numeric value: 1.2.3"),
    ("1e126", "Number overflow. Attempting to store a number with magnitude larger than supported range"),
    ("1e-131", "Number underflow. Attempting to store a number with magnitude smaller than supported range"),
])
def test_bad_numbers_in_put(ddb, table, raw, msg):
    """Malformed, overflowing and underflowing numbers in PutItem give the enveloped
    current-layer messages from the notes."""
    expect_error(ddb.put_item, VE, ENVELOPE + msg, TableName=table, Item={"pk": {"S": "n"}, "v": {"N": raw}})


@pytest.mark.parametrize("raw, stored", [
    ("1.50", "1.5"), ("00042", "42"), ("-0", "0"), ("1e3", "1000"), ("1.5E2", "150"), ("+5", "5"),
    (".5", "0.5"), ("5.", "5"), ("0.000001", "0.000001"), ("1.0000000000000000000000000000000000000000", "1"),
    ("9.9999999999999999999999999999999999999E+125", "99999999999999999999999999999999999999" + "0" * 88),
    ("1E-130", "0." + "0" * 129 + "1"),
])
def test_number_normalisation(ddb, table, raw, stored):
    """Numbers come back in plain normalised decimal: no exponent, no leading/trailing zeros,
    no '+', -0 becomes 0; the extremes of the range are accepted."""
    ddb.put_item(TableName=table, Item={"pk": {"S": "n"}, "v": {"N": raw}})
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "n"}})["Item"]["v"]["N"] == stored


def test_number_key_normalisation(ddb, make_table):
    """A number key written as '1.50' is the same key as '1.5': GetItem with either finds it
    and returns the normalised form."""
    t = make_table(hash_key=("id", "N"))
    ddb.put_item(TableName=t, Item={"id": {"N": "1.50"}, "v": {"S": "x"}})
    assert ddb.get_item(TableName=t, Key={"id": {"N": "1.5"}})["Item"] == {"id": {"N": "1.5"}, "v": {"S": "x"}}
    assert ddb.get_item(TableName=t, Key={"id": {"N": "001.500"}})["Item"]["id"] == {"N": "1.5"}


def test_empty_set_rejected(ddb, table):
    """An empty string set is rejected (AWS wording 'An string set  may not be empty')."""
    expect_error(ddb.put_item, VE, contains="One or more parameter values were invalid: An string set  may not be empty",
                 TableName=table, Item={"pk": {"S": "a"}, "ss": {"SS": []}})


def test_duplicate_set_members_rejected(ddb, table):
    """Sets with a duplicate member are rejected in PutItem with the current-layer messages
    (SS lists the members in byte order up to the repeat; NS names none)."""
    expect_error(
        ddb.put_item, VE,
        ENVELOPE + 'One or more parameter values were invalid: Input collection ["a", "b", "b"] contains duplicates.',
        TableName=table, Item={"pk": {"S": "a"}, "ss": {"SS": ["b", "a", "b"]}},
    )
    expect_error(
        ddb.put_item, VE,
        ENVELOPE + "One or more parameter values were invalid: Input collection contains duplicates.",
        TableName=table, Item={"pk": {"S": "a"}, "ns": {"NS": ["2", "1", "2"]}},
    )


# --- missing tables ----------------------------------------------------------------------------

@pytest.mark.parametrize("op, kwargs", [
    ("get_item", {"Key": {"pk": {"S": "a"}}}),
    ("put_item", {"Item": {"pk": {"S": "a"}}}),
    ("update_item", {"Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET a = :a",
                     "ExpressionAttributeValues": {":a": {"S": "x"}}}),
    ("delete_item", {"Key": {"pk": {"S": "a"}}}),
    ("scan", {}),
])
def test_missing_table_item_ops(ddb, op, kwargs):
    """Item operations and Scan on an unknown table: ResourceNotFoundException 'Requested
    resource not found'."""
    expect_error(getattr(ddb, op), "ResourceNotFoundException", "Requested resource not found",
                 TableName=unique_name("missing"), **kwargs)


# --- HTTP protocol -----------------------------------------------------------------------------

def test_missing_authentication_token(endpoint):
    """A request without an Authorization header is rejected: HTTP 400
    MissingAuthenticationTokenException 'Request is missing Authentication Token'."""
    r = raw_post(endpoint, b"{}", auth=False)
    assert r.status == 400
    body = r.json()
    assert body["__type"].endswith("#MissingAuthenticationTokenException"), body
    assert body.get("message") == "Request is missing Authentication Token"


def test_unknown_operation(endpoint):
    """An unknown X-Amz-Target is HTTP 400 UnknownOperationException."""
    r = raw_post(endpoint, b"{}", target="DynamoDB_20120810.ListTable")
    assert r.status == 400
    assert r.json()["__type"].endswith("#UnknownOperationException")
    r = raw_post(endpoint, b"{}", target="whatever")
    assert r.status == 400
    assert r.json()["__type"].endswith("#UnknownOperationException")


def test_malformed_json(endpoint):
    """A body that is not JSON is HTTP 400 SerializationException."""
    r = raw_post(endpoint, b'{"TableName": ', target="DynamoDB_20120810.DescribeTable")
    assert r.status == 400
    assert r.json()["__type"].endswith("#SerializationException")


def test_wrong_json_type(endpoint):
    """A JSON value of the wrong type for a field (a number for TableName) is HTTP 400
    SerializationException."""
    r = raw_post(endpoint, b'{"TableName": 23}', target="DynamoDB_20120810.DescribeTable")
    assert r.status == 400
    assert r.json()["__type"].endswith("#SerializationException")


def test_raw_success_headers_and_crc32(endpoint):
    """A successful raw ListTables answers 200 JSON with content type
    application/x-amz-json-1.0, an x-amzn-RequestId, and x-amz-crc32 equal to zlib.crc32 of the
    body."""
    r = raw_post(endpoint, json.dumps({"Limit": 1}).encode())
    assert r.status == 200
    assert "TableNames" in r.json()
    assert r.headers.get("Content-Type", "").startswith("application/x-amz-json-1.0")
    assert r.headers.get("x-amzn-RequestId")
    assert r.headers.get("x-amz-crc32") == str(zlib.crc32(r.body))


def test_raw_error_crc32_and_type(endpoint):
    """An error response (DescribeTable of a missing table) also carries a correct x-amz-crc32,
    the namespaced __type and a lowercase 'message'."""
    name = unique_name("missing")
    r = raw_post(endpoint, json.dumps({"TableName": name}).encode(), target="DynamoDB_20120810.DescribeTable")
    assert r.status == 400
    assert r.headers.get("x-amz-crc32") == str(zlib.crc32(r.body))
    body = r.json()
    assert body["__type"] == "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
    assert body["message"] == f"Requested resource not found: Table: {name} not found"


def test_raw_validation_error_namespace(endpoint, table):
    """A ValidationException uses the com.amazon.coral.validate namespace."""
    r = raw_post(endpoint, json.dumps({"TableName": table, "Key": {"pk": {"N": "1"}}}).encode(),
                 target="DynamoDB_20120810.GetItem")
    assert r.status == 400
    body = r.json()
    assert body["__type"] == "com.amazon.coral.validate#ValidationException"
    assert body["message"] == "The provided key element does not match the schema"


def test_crc32_on_large_body(endpoint, ddb, table):
    """x-amz-crc32 is right for a large (~400 KB) GetItem response too."""
    ddb.put_item(TableName=table, Item={"pk": {"S": "big"}, "d": {"S": "é" * 150_000}})
    r = raw_post(endpoint, json.dumps({"TableName": table, "Key": {"pk": {"S": "big"}}}).encode(),
                 target="DynamoDB_20120810.GetItem")
    assert r.status == 200
    assert r.headers.get("x-amz-crc32") == str(zlib.crc32(r.body))
    assert r.json()["Item"]["d"]["S"] == "é" * 150_000


# --- more validation (exact texts from the notes) ----------------------------------------------

@pytest.mark.parametrize("cond, values, msg", [
    ("pk = :p OR sk = :v", {":v": {"N": "1"}}, "Invalid operator used in KeyConditionExpression: OR"),
    ("pk = :p AND pk = :v", {":v": {"S": "b"}},
     "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key"),
    ("pk = :p AND begins_with(sk, :v)", {":v": {"N": "1"}},
     "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"),
    ("pk = :p AND sk < :v", {":v": {"BOOL": True}},
     "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: <, operand type: BOOL"),
    ("pk = :p AND sk = :v", {":v": {"S": "1"}},
     "One or more parameter values were invalid: Condition parameter type does not match schema type"),
    ("pk = :p AND sk BETWEEN :hi AND :lo", {":lo": {"N": "1"}, ":hi": {"N": "5"}},
     "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; "
     "lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:1}"),
])
def test_key_condition_errors(ddb, ctable, cond, values, msg):
    """Invalid key conditions (OR, two conditions on one key, begins_with/< with a non-key-type
    constant, a value of the wrong key type, reversed BETWEEN bounds) give the exact messages
    recorded from AWS."""
    expect_error(ddb.query, VE, msg, TableName=ctable, KeyConditionExpression=cond,
                 ExpressionAttributeValues={":p": {"S": "a"}, **values})


def test_key_condition_reversed_operands_accepted(ddb, ctable):
    """A key condition written value-first (':lo <= sk') is accepted and means sk >= :lo."""
    for i in range(5):
        ddb.put_item(TableName=ctable, Item={"pk": {"S": "r"}, "sk": {"N": str(i)}})
    resp = ddb.query(TableName=ctable, KeyConditionExpression=":p = pk AND :lo <= sk",
                     ExpressionAttributeValues={":p": {"S": "r"}, ":lo": {"N": "3"}})
    assert [it["sk"]["N"] for it in resp["Items"]] == ["3", "4"]


def test_expression_attribute_maps_must_not_be_empty(ddb, table):
    """An empty ExpressionAttributeValues / ExpressionAttributeNames map is a ValidationException
    ('... must not be empty')."""
    expect_error(ddb.put_item, VE, endswith="ExpressionAttributeValues must not be empty",
                 TableName=table, Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)",
                 ExpressionAttributeValues={})
    expect_error(ddb.put_item, VE, endswith="ExpressionAttributeNames must not be empty",
                 TableName=table, Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)",
                 ExpressionAttributeNames={})


def test_expression_values_without_expression(ddb, table):
    """ExpressionAttributeValues on a PutItem without any expression:
    'ExpressionAttributeValues can only be specified when using expressions'."""
    expect_error(ddb.put_item, VE, endswith="ExpressionAttributeValues can only be specified when using expressions",
                 TableName=table, Item={"pk": {"S": "a"}}, ExpressionAttributeValues={":v": {"S": "x"}})


def test_update_expression_semantic_errors(ddb, table):
    """UpdateExpression parse-time errors: a SET section used twice, overlapping paths, ADD with
    a string operand, an unknown function."""
    key = {"pk": {"S": "a"}}
    expect_error(ddb.update_item, VE,
                 endswith='Invalid UpdateExpression: The "SET" section can only be used once in an update expression;',
                 TableName=table, Key=key, UpdateExpression="SET a = :v SET b = :v",
                 ExpressionAttributeValues={":v": {"S": "x"}})
    expect_error(ddb.update_item, VE,
                 endswith="Invalid UpdateExpression: Two document paths overlap with each other; must remove or "
                          "rewrite one of these paths; path one: [a, b], path two: [a]",
                 TableName=table, Key=key, UpdateExpression="SET a.b = :v, a = :v",
                 ExpressionAttributeValues={":v": {"S": "x"}})
    expect_error(ddb.update_item, VE,
                 endswith="Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING",
                 TableName=table, Key=key, UpdateExpression="ADD a :v", ExpressionAttributeValues={":v": {"S": "x"}})
    expect_error(ddb.update_item, VE, endswith="Invalid UpdateExpression: Invalid function name; function: f",
                 TableName=table, Key=key, UpdateExpression="SET a = f(b)")


def test_update_runtime_type_errors(ddb, table):
    """Data-dependent update errors: ADD of a number to a string attribute ('An operand in the
    update expression has an incorrect data type') and SET below a missing map ('The document
    path provided in the update expression is invalid for update'); the item is unchanged."""
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "s": {"S": "text"}})
    expect_error(ddb.update_item, VE, contains="An operand in the update expression has an incorrect data type",
                 TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression="ADD s :n",
                 ExpressionAttributeValues={":n": {"N": "1"}})
    expect_error(ddb.update_item, VE,
                 contains="The document path provided in the update expression is invalid for update",
                 TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression="SET nomap.x = :n",
                 ExpressionAttributeValues={":n": {"N": "1"}})
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}, "s": {"S": "text"}}


def test_projection_undefined_name(ddb, table):
    """GetItem ProjectionExpression with an undefined #name: exact message."""
    expect_error(ddb.get_item, VE,
                 "Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: #undef",
                 TableName=table, Key={"pk": {"S": "a"}}, ProjectionExpression="#undef")


def test_hash_key_size_limit(ddb, table):
    """A 2048-byte string hash key is accepted; 2049 bytes is rejected with the 'Size of hashkey'
    message (AWS has no space in 'of2048')."""
    ddb.put_item(TableName=table, Item={"pk": {"S": "k" * 2048}})
    assert "Item" in ddb.get_item(TableName=table, Key={"pk": {"S": "k" * 2048}})
    expect_error(ddb.put_item, VE,
                 contains="One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes",
                 TableName=table, Item={"pk": {"S": "k" * 2049}})


def test_range_key_size_limit(ddb, make_table):
    """A 1024-byte string range key is accepted; 1025 bytes is rejected with the 'Aggregated
    size of all range keys' message."""
    t = make_table(range_key=("sk", "S"))
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": {"S": "s" * 1024}})
    expect_error(ddb.put_item, VE,
                 contains="One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes",
                 TableName=t, Item={"pk": {"S": "a"}, "sk": {"S": "s" * 1025}})


def test_null_false_rejected(ddb, table):
    """{"NULL": false} is rejected: 'Null attribute value types must have the value of true'."""
    expect_error(ddb.put_item, VE,
                 contains="One or more parameter values were invalid: Null attribute value types must have the value of true",
                 TableName=table, Item={"pk": {"S": "a"}, "n": {"NULL": False}})


def test_number_set_duplicates_after_normalisation(ddb, table):
    """An NS holding 1 and 1.0 has a duplicate once normalised: ValidationException."""
    expect_error(ddb.put_item, VE, contains="contains duplicates",
                 TableName=table, Item={"pk": {"S": "a"}, "ns": {"NS": ["1", "1.0"]}})


def test_json_content_type_accepted(endpoint):
    """Requests sent with Content-Type application/json (as some SDKs do) are served too."""
    r = raw_post(endpoint, b"{}", content_type="application/json")
    assert r.status == 200
    assert "TableNames" in r.json()
