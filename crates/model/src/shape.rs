//! JSON shape checks with the service's `SerializationException` wording. A request whose JSON
//! types do not fit the operation's shape fails here, before any value is validated.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

fn scalar_name(v: &Value) -> &'static str {
    match v {
        Value::Bool(true) => "TRUE_VALUE",
        Value::Bool(false) => "FALSE_VALUE",
        Value::Number(n) if n.is_f64() => "DECIMAL_VALUE",
        Value::Number(_) => "NUMBER_VALUE",
        Value::String(_) => "STRING_VALUE",
        Value::Null => "NULL",
        Value::Array(_) | Value::Object(_) => "",
    }
}

const MSG_UNEXPECTED_MAP: &str = "Start of structure or map found where not expected";

/// A string member (TableName, S, N, set members, …).
pub fn string(v: &Value) -> Result<&str> {
    match v {
        Value::String(s) => Ok(s),
        Value::Array(_) => Err(Error::serialization(
            "Unrecognized collection type class java.lang.String",
        )),
        Value::Object(_) => Err(Error::serialization(MSG_UNEXPECTED_MAP)),
        other => Err(Error::serialization(format!(
            "{} cannot be converted to String",
            scalar_name(other)
        ))),
    }
}

/// A boolean member (BOOL, NULL, ConsistentRead, …).
pub fn boolean(v: &Value) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(_) => Err(Error::serialization("Unexpected token received from parser")),
        Value::Array(_) => Err(Error::serialization(
            "Unrecognized collection type class java.lang.Boolean",
        )),
        Value::Object(_) => Err(Error::serialization(MSG_UNEXPECTED_MAP)),
        other => Err(Error::serialization(format!(
            "{} cannot be converted to Boolean",
            scalar_name(other)
        ))),
    }
}

/// An integer member (Limit, Segment, …).
pub fn integer(v: &Value) -> Result<i64> {
    match v {
        Value::Number(n) if n.is_i64() => Ok(n.as_i64().unwrap_or_default()),
        Value::Array(_) => Err(Error::serialization(
            "Unrecognized collection type class java.lang.Integer",
        )),
        Value::Object(_) => Err(Error::serialization(MSG_UNEXPECTED_MAP)),
        other => Err(Error::serialization(format!(
            "{} cannot be converted to Integer",
            scalar_name(other)
        ))),
    }
}

/// A list member (SS, L, AttributesToGet, …).
pub fn list(v: &Value) -> Result<&Vec<Value>> {
    match v {
        Value::Array(a) => Ok(a),
        Value::Object(_) => Err(Error::serialization(MSG_UNEXPECTED_MAP)),
        _ => Err(Error::serialization("Unexpected field type")),
    }
}

/// A map of attribute values (Item, Key, M, ExpressionAttributeValues).
pub fn attribute_map(v: &Value) -> Result<&Map<String, Value>> {
    match v {
        Value::Object(m) => Ok(m),
        Value::Array(_) => Err(Error::serialization(
            "Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>",
        )),
        _ => Err(Error::serialization("Unexpected field type")),
    }
}

/// A map of strings (ExpressionAttributeNames, Tags as maps, …).
pub fn string_map(v: &Value) -> Result<&Map<String, Value>> {
    match v {
        Value::Object(m) => Ok(m),
        Value::Array(_) => Err(Error::serialization(
            "Unrecognized collection type java.util.Map<java.lang.String, java.lang.String>",
        )),
        _ => Err(Error::serialization("Unexpected field type")),
    }
}

/// One AttributeValue structure (an element of L, a value of M or of an item).
pub fn attribute_value(v: &Value) -> Result<&Map<String, Value>> {
    match v {
        Value::Object(m) => Ok(m),
        Value::Array(_) => Err(Error::serialization(
            "Unrecognized collection type class com.amazonaws.dynamodb.v20120810.AttributeValue",
        )),
        _ => Err(Error::serialization("Unexpected value type in payload")),
    }
}

/// A B or BS member: a base64 string.
pub fn blob(v: &Value) -> Result<Vec<u8>> {
    use base64::Engine as _;
    let s = match v {
        Value::String(s) => s,
        Value::Array(_) => {
            return Err(Error::serialization(
                "Unrecognized collection type class java.nio.ByteBuffer",
            ))
        }
        Value::Object(_) => return Err(Error::serialization(MSG_UNEXPECTED_MAP)),
        _ => {
            return Err(Error::serialization(
                "only base-64-encoded strings are convertible to bytes",
            ))
        }
    };
    if s.len() % 4 != 0 {
        return Err(Error::serialization(format!(
            "Base64 encoded length is expected a multiple of 4 bytes but found: {}",
            s.len()
        )));
    }
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| match e {
            base64::DecodeError::InvalidByte(_, c) if c != b'=' => {
                Error::serialization(format!("Invalid Base64 character: '{}'", char::from(c)))
            }
            // The service's own spelling.
            _ => Error::serialization("Invalid last non-pad Base64 character dectected"),
        })
}

/// Object members, treating JSON null as absent (as the service's deserializer does).
pub fn member<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    m.get(name).filter(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_name_the_json_type() {
        assert_eq!(
            string(&json!(true)).unwrap_err().message,
            "TRUE_VALUE cannot be converted to String"
        );
        assert_eq!(
            string(&json!(23)).unwrap_err().message,
            "NUMBER_VALUE cannot be converted to String"
        );
        assert_eq!(
            string(&json!(34.56)).unwrap_err().message,
            "DECIMAL_VALUE cannot be converted to String"
        );
        assert_eq!(
            boolean(&json!("x")).unwrap_err().message,
            "Unexpected token received from parser"
        );
        assert_eq!(list(&json!("x")).unwrap_err().message, "Unexpected field type");
        assert_eq!(
            attribute_value(&json!(1)).unwrap_err().message,
            "Unexpected value type in payload"
        );
        assert_eq!(
            blob(&json!("23456")).unwrap_err().message,
            "Base64 encoded length is expected a multiple of 4 bytes but found: 5"
        );
        assert_eq!(blob(&json!("AAEC")).unwrap(), vec![0, 1, 2]);
        assert!(blob(&json!("=+/=")).is_err());
    }
}
