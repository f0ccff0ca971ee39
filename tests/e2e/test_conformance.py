"""Exact answers that the public DynamoDB conformance suite (paritysuite/dynamodb-conformance,
tests/tier3/{error-messages,validation-ordering,limits}, tests/tier1) records from real
DynamoDB, where its recorded regional splits pin the newer validation wording. Requests go as
raw JSON, so no client-side validation gets in the way."""

from __future__ import annotations


import pytest

from e2e_helpers import op_error as error, post_op as call, raw_post

VE = "ValidationException"
ENV = "1 validation error detected: "
INV = "One or more parameter values were invalid: "
RCC_BOGUS = ("Value 'BOGUS' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy "
             "enum value set: [INDEXES, TOTAL, NONE]")
MAP_KEYS = ("Map keys must satisfy constraint: [Member must have length less than or equal to 255, Member must "
            "have length greater than or equal to 3, Member must satisfy regular expression pattern: "
            "[a-zA-Z0-9_.-]+]")


def assert_error(endpoint: str, op: str, body: dict, message: str, kind: str = VE):
    assert error(endpoint, op, body) == (kind, message)


@pytest.fixture
def table(make_table):
    return make_table()


@pytest.fixture
def ctable(make_table):
    return make_table(range_key=("sk", "S"))


# --- Scan and Query ------------------------------------------------------------------------

def test_scan_parameter_messages(endpoint, table):
    assert_error(endpoint, "Scan", {"TableName": table, "Segment": 5, "TotalSegments": 5},
                 "The Segment parameter is zero-based and must be less than parameter TotalSegments")
    assert_error(endpoint, "Scan", {"TableName": table, "Limit": 0},
                 ENV + "Value at 'Limit' failed to satisfy constraint: Member must have value greater than or equal to 1")
    assert_error(endpoint, "Scan", {"TableName": table, "Segment": -1, "TotalSegments": 4},
                 ENV + "Value at 'Segment' failed to satisfy constraint: Member must have value greater than or equal to 0")
    assert_error(endpoint, "Scan", {"TableName": table, "ExclusiveStartKey": {"bad": {"S": "p"}}},
                 "The provided starting key is invalid")
    assert_error(endpoint, "Scan", {"TableName": table, "Select": "SPECIFIC_ATTRIBUTES"},
                 ENV + "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES")


def test_query_parameter_messages(endpoint, table, ctable):
    base = {"TableName": ctable, "KeyConditionExpression": "pk = :v", "ExpressionAttributeValues": {":v": {"S": "val"}}}
    assert_error(endpoint, "Query", {**base, "Select": "INVALID_VALUE"},
                 ENV + "Value 'INVALID_VALUE' at 'select' failed to satisfy constraint: Member must satisfy enum value "
                 "set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]")
    assert_error(endpoint, "Query", {**base, "Limit": 0},
                 ENV + "Value at 'Limit' failed to satisfy constraint: Member must have value greater than or equal to 1")
    assert_error(endpoint, "Query", {**base, "ExclusiveStartKey": {"bad": {"S": "p"}}},
                 "The provided starting key is invalid")
    assert_error(endpoint, "Query", {**base, "Select": "SPECIFIC_ATTRIBUTES"},
                 ENV + "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES")
    assert_error(endpoint, "Query", {"TableName": table, "KeyConditionExpression": "((pk = :v))",
                                     "ExpressionAttributeValues": {":v": {"S": "val"}}},
                 "Invalid KeyConditionExpression: The expression has redundant parentheses;")


# --- expression values and envelopes -------------------------------------------------------

@pytest.mark.parametrize("number,message", [
    ("abc", "The parameter cannot be converted to a numeric value: abc"),
    ("", "The parameter cannot be converted to a numeric value: "),
    ("1e126", "Number overflow. Attempting to store a number with magnitude larger than supported range"),
])
def test_bad_expression_values_are_reported_as_they_are(endpoint, table, number, message):
    """A bad ExpressionAttributeValues entry: the value's own message, enveloped by the
    single-item writes and bare in Query."""
    bad = {":v": {"N": number}}
    assert_error(endpoint, "PutItem", {"TableName": table, "Item": {"pk": {"S": "vl-n"}},
                                       "ConditionExpression": "attribute_not_exists(pk) OR n = :v",
                                       "ExpressionAttributeValues": bad}, ENV + message)
    assert_error(endpoint, "UpdateItem", {"TableName": table, "Key": {"pk": {"S": "vl-n"}},
                                          "UpdateExpression": "SET n = :v", "ExpressionAttributeValues": bad},
                 ENV + message)
    assert_error(endpoint, "DeleteItem", {"TableName": table, "Key": {"pk": {"S": "vl-n"}},
                                          "ConditionExpression": "n = :v", "ExpressionAttributeValues": bad},
                 ENV + message)
    assert_error(endpoint, "Query", {"TableName": table, "KeyConditionExpression": "pk = :p",
                                     "FilterExpression": "n = :v",
                                     "ExpressionAttributeValues": {":p": {"S": "vl-n"}, **bad}}, message)


def test_duplicate_set_in_a_start_key_is_reported_as_it_is(endpoint, table):
    assert_error(endpoint, "Query", {"TableName": table, "KeyConditionExpression": "pk = :p",
                                     "ExpressionAttributeValues": {":p": {"S": "vl-d"}},
                                     "ExclusiveStartKey": {"pk": {"SS": ["b", "a", "b"]}}},
                 INV + 'Input collection ["a", "b", "b"] contains duplicates.')


def test_write_expression_errors_are_enveloped(endpoint, table):
    assert_error(endpoint, "PutItem", {"TableName": table, "Item": {"pk": {"S": "e"}}, "ConditionExpression": ""},
                 ENV + "Invalid ConditionExpression: The expression can not be empty;")
    assert_error(endpoint, "DeleteItem", {"TableName": table, "Key": {"pk": {"S": "e"}}, "ConditionExpression": ""},
                 ENV + "Invalid ConditionExpression: The expression can not be empty;")
    assert_error(endpoint, "UpdateItem", {"TableName": table, "Key": {"pk": {"S": "e"}}, "UpdateExpression": "SET b = :w",
                                          "ConditionExpression": "a = :v", "ExpressionAttributeValues": {":w": {"S": "x"}}},
                 ENV + "Invalid ConditionExpression: An expression attribute value used in expression is not defined; "
                 "attribute value: :v")


def test_legacy_and_expression_parameters_together(endpoint, table):
    mixed = "Can not use both expression and non-expression parameters in the same request: "
    assert_error(endpoint, "PutItem", {"TableName": table, "Item": {"pk": {"S": "m"}}, "Expected": {"pk": {"Exists": False}},
                                       "ConditionExpression": "attribute_not_exists(pk)"},
                 ENV + mixed + "Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}")
    assert_error(endpoint, "UpdateItem", {"TableName": table, "Key": {"pk": {"S": "m"}}, "UpdateExpression": "SET a = :v",
                                          "ExpressionAttributeValues": {":v": {"S": "val"}},
                                          "AttributeUpdates": {"a": {"Value": {"S": "val"}, "Action": "PUT"}}},
                 ENV + mixed + "Non-expression parameters: {AttributeUpdates} Expression parameters: {UpdateExpression}")
    kind, message = error(endpoint, "BatchGetItem", {"RequestItems": {table: {
        "Keys": [{"pk": {"S": "m"}}], "AttributesToGet": ["pk"], "ProjectionExpression": "pk"}}})
    assert kind == VE and mixed + "Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}" in message


def test_update_item_parenthesised_arithmetic(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "p"}, "c": {"N": "10"}})
    out = ddb.update_item(TableName=table, Key={"pk": {"S": "p"}}, UpdateExpression="SET c = (c - :v)",
                          ExpressionAttributeValues={":v": {"N": "3"}}, ReturnValues="ALL_NEW")
    assert out["Attributes"]["c"] == {"N": "7"}
    out = ddb.update_item(TableName=table, Key={"pk": {"S": "p"}}, UpdateExpression="SET c = c + (:v)",
                          ExpressionAttributeValues={":v": {"N": "3"}}, ReturnValues="UPDATED_NEW")
    assert out["Attributes"]["c"] == {"N": "10"}


# --- validation order of the single-item writes ---------------------------------------------

def test_empty_table_name_of_put_and_delete_is_reported_alone(endpoint):
    alone = ENV + "Value at 'TableName' failed to satisfy constraint: Member must have length greater than or equal to 1"
    assert_error(endpoint, "PutItem", {"TableName": "", "Item": {"pk": {"S": "x"}}, "ReturnValues": "INVALID"}, alone)
    assert_error(endpoint, "PutItem", {"TableName": "", "Item": {}}, alone)
    assert_error(endpoint, "DeleteItem", {"TableName": "", "Key": {}}, alone)


def test_update_item_constraint_order(endpoint):
    length = "Value '' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 1"
    no_key = "Value null at 'key' failed to satisfy constraint: Member must not be null"
    body = {"TableName": "", "UpdateExpression": "SET a = :a", "ExpressionAttributeValues": {":a": {"S": "x"}}}
    assert_error(endpoint, "UpdateItem", body, f"2 validation errors detected: {length}; {no_key}")
    assert_error(endpoint, "UpdateItem", {**body, "ReturnConsumedCapacity": "INVALID", "ReturnValues": "INVALID"},
                 "4 validation errors detected: Value 'INVALID' at 'returnConsumedCapacity' failed to satisfy "
                 f"constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]; {length}; Value 'INVALID' at "
                 "'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, "
                 f"UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]; {no_key}")
    assert_error(endpoint, "UpdateItem", {"TableName": "", "Key": {}}, ENV + length)
    # With the table name and key in order, ReturnValues is reported alone, in newer wording.
    assert_error(endpoint, "UpdateItem", {"TableName": "valid_table_name_absent", "Key": {"pk": {"S": "t"}},
                                          "ReturnValues": "INVALID", "ReturnConsumedCapacity": "INVALID"},
                 ENV + "Failed to satisfy constraint: Member must satisfy enum value set: "
                 "[ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATE_NEW, NONE]")


def test_delete_item_return_values_enum(endpoint):
    assert_error(endpoint, "DeleteItem", {"TableName": "vo_absent_table", "Key": {"pk": {"S": "k"}}, "ReturnValues": "BOGUS"},
                 ENV + "Value 'BOGUS' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value "
                 "set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]")


# --- batches --------------------------------------------------------------------------------

def test_batch_write_checks_return_item_collection_metrics(ddb, endpoint, table):
    """An unknown ReturnItemCollectionMetrics is refused and nothing is written."""
    item = {table: [{"PutRequest": {"Item": {"pk": {"S": "vo-bw-ricm"}}}}]}
    ricm = ("Value 'BOGUS2' at 'returnItemCollectionMetrics' failed to satisfy constraint: Member must satisfy "
            "enum value set: [SIZE, NONE]")
    assert_error(endpoint, "BatchWriteItem", {"RequestItems": item, "ReturnItemCollectionMetrics": "BOGUS2"}, ENV + ricm)
    assert_error(endpoint, "BatchWriteItem", {"RequestItems": item, "ReturnConsumedCapacity": "BOGUS",
                                              "ReturnItemCollectionMetrics": "BOGUS2"},
                 f"2 validation errors detected: {RCC_BOGUS}; {ricm}")
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "vo-bw-ricm"}}, ConsistentRead=True)


def test_batch_table_name_errors_echo_the_request_items(endpoint, table):
    bad_get = {"bad!name": {"Keys": [{"pk": {"S": "a"}}]}}
    echo = '{"bad!name":{"Keys":[{"pk":{"S":"a"}}]}}'
    assert_error(endpoint, "BatchGetItem", {"RequestItems": bad_get},
                 ENV + f"Value '{echo}' at 'requestItems' failed to satisfy constraint: {MAP_KEYS}")
    assert_error(endpoint, "BatchGetItem", {"RequestItems": bad_get, "ReturnConsumedCapacity": "BOGUS"},
                 f"2 validation errors detected: Value '{echo}' at 'requestItems' failed to satisfy constraint: "
                 f"{MAP_KEYS}; {RCC_BOGUS}")
    bad_write = {"bad!name": [{"PutRequest": {"Item": {"pk": {"S": "x"}}}}]}
    assert_error(endpoint, "BatchWriteItem", {"RequestItems": bad_write, "ReturnConsumedCapacity": "BOGUS"}, ENV + RCC_BOGUS)
    kind, message = error(endpoint, "BatchWriteItem", {"RequestItems": bad_write})
    assert kind == VE
    assert message.startswith(ENV + "Value '{bad!name=[WriteRequest(putRequest=PutRequest(item={pk=")
    assert message.endswith(")]}' at 'requestItems' failed to satisfy constraint: " + MAP_KEYS)
    sizes = ("Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must "
             "have length greater than or equal to 1]")
    assert_error(endpoint, "BatchWriteItem", {"RequestItems": {table: []}},
                 ENV + f"Value '{{{table}=[]}}' at 'requestItems' failed to satisfy constraint: {sizes}")


def deep_value(levels: int) -> dict:
    value: dict = {"S": "leaf"}
    for _ in range(levels):
        value = {"M": {"n": value}}
    return value


def test_deep_values_do_not_hide_member_errors(endpoint):
    """DynamoDB checks a request's members before its values: a value nested far beyond the
    32-level limit still parses, and ReturnValues is what gets reported."""
    bogus = (ENV + "Value 'BOGUS' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: "
             "[ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]")
    assert_error(endpoint, "DeleteItem", {"TableName": "deep_order_absent", "Key": {"pk": deep_value(100)},
                                          "ReturnValues": "BOGUS"}, bogus)
    assert_error(endpoint, "DeleteItem", {"TableName": "deep_order_absent", "Key": {"pk": {"S": "a"}},
                                          "ConditionExpression": "#d = :deep", "ExpressionAttributeNames": {"#d": "d"},
                                          "ExpressionAttributeValues": {":deep": deep_value(63)}, "ReturnValues": "BOGUS"},
                 bogus)
    # The values themselves are still refused for their depth.
    assert_error(endpoint, "PutItem", {"TableName": "deep_order_absent", "Item": {"pk": {"S": "a"}, "d": deep_value(100)}},
                 ENV + "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels "
                 "beyond supported limit")


def test_json_nested_past_the_parse_bound_is_a_serialization_error(endpoint):
    body = b'{"TableName":"t","Item":{"a":' + b"[" * 300 + b"]" * 300 + b"}}"
    r = raw_post(endpoint, body, target="DynamoDB_20120810.PutItem")
    assert r.status == 400
    assert r.json()["__type"].endswith("SerializationException")
    # The server is still up.
    assert raw_post(endpoint, b"{}", target="DynamoDB_20120810.ListTables").status == 200


@pytest.mark.parametrize("value,message", [
    ({"N": ""}, "The parameter cannot be converted to a numeric value"),
    ({"N": "abc"}, "The parameter cannot be converted to a numeric value: abc"),
    ({"N": "1e126"}, "Number overflow. Attempting to store a number with magnitude larger than supported range"),
    ({"N": "1e2147483647"}, "Number underflow. Attempting to store a number with magnitude smaller than supported range"),
    ({"SS": ["b", "a", "b"]}, INV + "Input collection [b, a, b] contains duplicates."),
    ({"BS": ["/w==", "AA==", "AA=="]}, INV + "Input collection [/w==, AA==, AA==]of type BS contains duplicates."),
    ({"NS": ["2", "1", "2"]}, "Input collection contains duplicates"),
])
def test_batch_write_values_in_older_wording(endpoint, table, value, message):
    """BatchWriteItem still words bad values the older way (sets shown as sent)."""
    assert_error(endpoint, "BatchWriteItem",
                 {"RequestItems": {table: [{"PutRequest": {"Item": {"pk": {"S": "vl"}, "n": value}}}]}}, message)
    if "N" not in value:
        assert_error(endpoint, "BatchWriteItem", {"RequestItems": {table: [{"DeleteRequest": {"Key": {"pk": value}}}]}},
                     message)


def test_query_checks_its_key_condition_before_the_table(endpoint):
    """An operand of the wrong type is a ValidationException even when the table is absent."""
    kind, message = error(endpoint, "Query", {"TableName": "vo_query_kce_missing",
                                              "KeyConditionExpression": "pk = :p AND begins_with(sk, :n)",
                                              "ExpressionAttributeValues": {":p": {"S": "q"}, ":n": {"N": "1"}}})
    assert kind == VE
    assert "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N" in message


def test_query_bad_conditional_operator_is_reported_first(endpoint):
    assert_error(endpoint, "Query", {"TableName": "vo_query_xor",
                                     "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
                                     "QueryFilter": {"b": {"ComparisonOperator": "NULL"}, "c": {"ComparisonOperator": "NULL"}},
                                     "ConditionalOperator": "XOR", "Select": "BOGUS"},
                 "Failed to satisfy constraint: Member must satisfy enum value set: [ALL, OR]")


def test_batch_get_kinds_of_projection_do_not_mix_across_tables(endpoint, table, ctable):
    kind, _ = error(endpoint, "BatchGetItem", {"RequestItems": {
        table: {"Keys": [{"pk": {"S": "a"}}], "ProjectionExpression": "pk"},
        ctable: {"Keys": [{"pk": {"S": "b"}, "sk": {"S": "z"}}], "AttributesToGet": ["pk"]}}})
    assert kind == VE


def test_delete_item_return_values_other_than_all_old_is_bare(endpoint, table):
    assert_error(endpoint, "DeleteItem", {"TableName": table, "Key": {"pk": {"S": "a"}}, "ReturnValues": "UPDATED_NEW"},
                 "ReturnValues can only be ALL_OLD or NONE")


def test_create_table_with_one_attribute_as_both_keys(endpoint):
    kind, message = error(endpoint, "CreateTable", {
        "TableName": "vo_dupkey", "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "pk", "KeyType": "RANGE"}]})
    assert kind == VE and "Invalid KeySchema" in message


UPDATE_TOO_LARGE = "Item size to update has exceeded the maximum allowed size"


def test_update_item_charges_the_statement_not_only_the_finished_item(ddb, endpoint, table):
    """UpdateItem refuses when what the statement writes plus its clause costs passes
    409,600 bytes: `SET b = :pad` costs 3 + 19 + 1 + the value, so at a one-byte key the
    ceiling sits 19 bytes under the item limit (the finished item is then 409,581 bytes)."""
    ceiling_pad = 409_600 - 23

    def update(key, pad, **extra):
        return call(endpoint, "UpdateItem", {"TableName": table, "Key": {"pk": {"S": key}},
                                             "UpdateExpression": "SET b = :pad",
                                             "ExpressionAttributeValues": {":pad": {"S": "x" * pad}}, **extra})

    assert update("K", ceiling_pad)[0] == 200
    item = ddb.get_item(TableName=table, Key={"pk": {"S": "K"}}, ConsistentRead=True)["Item"]
    assert len(item["b"]["S"]) == ceiling_pad
    assert error(endpoint, "UpdateItem", {"TableName": table, "Key": {"pk": {"S": "L"}}, "UpdateExpression": "SET b = :pad",
                                          "ExpressionAttributeValues": {":pad": {"S": "x" * (ceiling_pad + 1)}}}) == \
        (VE, UPDATE_TOO_LARGE)
    # Checked before the condition, which would fail here.
    status, out = update("L", ceiling_pad + 1, ConditionExpression="attribute_exists(nope)")
    assert (status, out["message"]) == (400, UPDATE_TOO_LARGE)
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "L"}}, ConsistentRead=True)
    # The legacy AttributeUpdates sizes the finished item only: 409,600 exactly is stored.
    legacy_pad = 409_600 - len("pk") - len("M") - len("b")
    status, _ = call(endpoint, "UpdateItem", {"TableName": table, "Key": {"pk": {"S": "M"}},
                                              "AttributeUpdates": {"b": {"Action": "PUT", "Value": {"S": "x" * legacy_pad}}}})
    assert status == 200


def test_sets_come_back_in_dynamodb_order(ddb, table):
    """Strings and binaries bytewise, numbers by value, however they were written
    (tests/tier1/updateItem/basic.test.ts: ADD '' onto ['a'] reads back ['', 'a'])."""
    ddb.put_item(TableName=table, Item={"pk": {"S": "sets"}, "ss": {"SS": ["b", "a", "B"]},
                                        "ns": {"NS": ["10", "2", "-1", "2.5"]}, "bs": {"BS": [b"\x02", b"\x01\xff", b"\x01"]},
                                        "tags": {"SS": ["a"]}})
    ddb.update_item(TableName=table, Key={"pk": {"S": "sets"}}, UpdateExpression="ADD tags :v",
                    ExpressionAttributeValues={":v": {"SS": [""]}})
    item = ddb.get_item(TableName=table, Key={"pk": {"S": "sets"}}, ConsistentRead=True)["Item"]
    assert item["ss"]["SS"] == ["B", "a", "b"]
    assert item["ns"]["NS"] == ["-1", "2", "2.5", "10"]
    assert item["bs"]["BS"] == [b"\x01", b"\x01\xff", b"\x02"]
    assert item["tags"]["SS"] == ["", "a"]


def test_query_filters_may_not_name_key_attributes(endpoint, ctable):
    """A Query's filter cannot name a key attribute (its key condition decides those); a
    Scan's can."""
    base = {"TableName": ctable, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a"}}}
    assert_error(endpoint, "Query", {**base, "FilterExpression": "begins_with(sk, :p)"},
                 "Filter Expression can only contain non-primary key attributes: Primary key attribute: sk")
    assert_error(endpoint, "Query", {**base, "FilterExpression": "attribute_exists(#k) OR size(x) > :n",
                                     "ExpressionAttributeNames": {"#k": "pk"},
                                     "ExpressionAttributeValues": {":p": {"S": "a"}, ":n": {"N": "1"}}},
                 "Filter Expression can only contain non-primary key attributes: Primary key attribute: pk")
    assert_error(endpoint, "Query", {"TableName": ctable,
                                     "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
                                     "QueryFilter": {"sk": {"ComparisonOperator": "NOT_NULL"}}},
                 "QueryFilter can only contain non-primary key attributes: Primary key attribute: sk")
    status, _ = call(endpoint, "Scan", {"TableName": ctable, "FilterExpression": "begins_with(sk, :p)",
                                        "ExpressionAttributeValues": {":p": {"S": "a"}}})
    assert status == 200
