//! Key schemas, key validation, the order-preserving key encoding and the partition hash.
//!
//! **Invariant:** for two values of one key attribute, `encode_key_value(a) < encode_key_value(b)`
//! byte-wise exactly when DynamoDB sorts `a` before `b` (S and B by unsigned bytes, N by value).
//! Encodings are prefix-free, so a partition key and a sort key can be concatenated and still
//! sort by (partition, sort).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::{PARTITION_KEY_BYTES_MAX, SORT_KEY_BYTES_MAX};
use crate::number::Number;
use crate::value::{AttributeValue, Item};

/// The types a key attribute may have.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, Serialize, Deserialize)]
pub enum ScalarType {
    S,
    N,
    B,
}

impl ScalarType {
    pub fn descriptor(self) -> &'static str {
        match self {
            ScalarType::S => "S",
            ScalarType::N => "N",
            ScalarType::B => "B",
        }
    }

    pub fn from_descriptor(s: &str) -> Option<ScalarType> {
        match s {
            "S" => Some(ScalarType::S),
            "N" => Some(ScalarType::N),
            "B" => Some(ScalarType::B),
            _ => None,
        }
    }

    pub fn matches(self, value: &AttributeValue) -> bool {
        matches!(
            (self, value),
            (ScalarType::S, AttributeValue::S(_))
                | (ScalarType::N, AttributeValue::N(_))
                | (ScalarType::B, AttributeValue::B(_))
        )
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum KeyType {
    Hash,
    Range,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct KeyAttribute {
    pub name: String,
    pub scalar_type: ScalarType,
}

/// A table's (or index's) primary key: a partition key and an optional sort key.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct KeySchema {
    pub partition: KeyAttribute,
    pub sort: Option<KeyAttribute>,
}

/// The key values of one item.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PrimaryKey {
    pub partition: AttributeValue,
    pub sort: Option<AttributeValue>,
}

pub const MSG_KEY_SCHEMA_MISMATCH: &str = "The provided key element does not match the schema";

impl KeySchema {
    pub fn attributes(&self) -> impl Iterator<Item = &KeyAttribute> {
        std::iter::once(&self.partition).chain(self.sort.as_ref())
    }

    pub fn is_key_attribute(&self, name: &str) -> bool {
        self.attributes().any(|a| a.name == name)
    }

    /// Checks the key attributes of a whole item (PutItem, BatchWriteItem put, UpdateItem's
    /// result) and returns its key.
    pub fn item_key(&self, item: &Item) -> Result<PrimaryKey> {
        let partition = item_key_value(item, &self.partition, PARTITION_KEY_BYTES_MAX, "hashkey")?;
        let sort = self
            .sort
            .as_ref()
            .map(|attr| item_key_value(item, attr, SORT_KEY_BYTES_MAX, "rangekey"))
            .transpose()?;
        Ok(PrimaryKey { partition, sort })
    }

    /// Checks a `Key` parameter (GetItem, DeleteItem, UpdateItem, BatchGetItem): exactly the
    /// schema's attributes, of the schema's types.
    pub fn key_from_map(&self, key: &Item) -> Result<PrimaryKey> {
        let expected = 1 + usize::from(self.sort.is_some());
        if key.len() != expected {
            return Err(Error::validation(MSG_KEY_SCHEMA_MISMATCH));
        }
        let get = |attr: &KeyAttribute, max: usize, what: &str| -> Result<AttributeValue> {
            let value = key
                .get(&attr.name)
                .filter(|v| attr.scalar_type.matches(v))
                .ok_or_else(|| Error::validation(MSG_KEY_SCHEMA_MISMATCH))?;
            check_key_value(&attr.name, value, max, what)?;
            Ok(value.clone())
        };
        let partition = get(&self.partition, PARTITION_KEY_BYTES_MAX, "hashkey")?;
        let sort = self
            .sort
            .as_ref()
            .map(|attr| get(attr, SORT_KEY_BYTES_MAX, "rangekey"))
            .transpose()?;
        Ok(PrimaryKey { partition, sort })
    }
}

fn item_key_value(item: &Item, attr: &KeyAttribute, max: usize, what: &str) -> Result<AttributeValue> {
    let value = item.get(&attr.name).ok_or_else(|| {
        Error::validation(format!(
            "One or more parameter values were invalid: Missing the key {} in the item",
            attr.name
        ))
    })?;
    if !attr.scalar_type.matches(value) {
        return Err(Error::validation(format!(
            "One or more parameter values were invalid: Type mismatch for key {} expected: {} actual: {}",
            attr.name,
            attr.scalar_type.descriptor(),
            value.value_type().descriptor()
        )));
    }
    check_key_value(&attr.name, value, max, what)?;
    Ok(value.clone())
}

fn check_key_value(name: &str, value: &AttributeValue, max: usize, what: &str) -> Result<()> {
    let (len, kind) = match value {
        AttributeValue::S(s) => (s.len(), "string"),
        AttributeValue::B(b) => (b.len(), "binary"),
        _ => return Ok(()),
    };
    if len == 0 {
        return Err(Error::validation(format!(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {kind} value. Key: {name}"
        )));
    }
    if len > max {
        // Both texts are the service's, including the missing space in "of2048".
        let message = if what == "hashkey" {
            format!("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of{max} bytes")
        } else {
            format!("One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of {max} bytes")
        };
        return Err(Error::validation(message));
    }
    Ok(())
}

/// Appends the order-preserving, prefix-free encoding of a key value (S, N or B).
/// Other types never reach here: key validation admits only S, N and B.
pub fn encode_key_value(value: &AttributeValue, out: &mut Vec<u8>) {
    match value {
        AttributeValue::S(s) => encode_bytes(s.as_bytes(), out),
        AttributeValue::B(b) => encode_bytes(b, out),
        AttributeValue::N(n) => n.encode_sortable(out),
        _ => {}
    }
}

/// Decodes one value written by [`encode_key_value`]; returns it and the bytes used.
pub fn decode_key_value(scalar_type: ScalarType, bytes: &[u8]) -> Option<(AttributeValue, usize)> {
    match scalar_type {
        ScalarType::N => Number::decode_sortable(bytes).map(|(n, used)| (AttributeValue::N(n), used)),
        ScalarType::S => {
            let (raw, used) = decode_bytes(bytes)?;
            Some((AttributeValue::S(String::from_utf8(raw).ok()?), used))
        }
        ScalarType::B => decode_bytes(bytes).map(|(raw, used)| (AttributeValue::B(raw), used)),
    }
}

/// Byte strings escape 0x00 as 0x00 0xFF and end with 0x00 0x01, which keeps byte order and
/// makes the encoding prefix-free.
fn encode_bytes(raw: &[u8], out: &mut Vec<u8>) {
    out.reserve(raw.len() + 2);
    for &b in raw {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0x00, 0x01]);
}

fn decode_bytes(bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut raw = Vec::new();
    let mut i = 0;
    loop {
        let b = *bytes.get(i)?;
        if b == 0 {
            match *bytes.get(i + 1)? {
                0xFF => raw.push(0),
                0x01 => return Some((raw, i + 2)),
                _ => return None,
            }
            i += 2;
        } else {
            raw.push(b);
            i += 1;
        }
    }
}

/// The 64-bit hash of a partition key value that decides its shard. Stable across versions
/// and machines (it is part of the on-disk placement), and equal for equal numbers however
/// they were written ("1" and "1.0").
pub fn partition_hash(value: &AttributeValue) -> u64 {
    let mut buf = Vec::with_capacity(32);
    encode_key_value(value, &mut buf);
    xxhash_rust::xxh3::xxh3_64(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::item_from_json;
    use proptest::prelude::*;
    use serde_json::json;

    fn schema() -> KeySchema {
        KeySchema {
            partition: KeyAttribute {
                name: "pk".into(),
                scalar_type: ScalarType::S,
            },
            sort: Some(KeyAttribute {
                name: "sk".into(),
                scalar_type: ScalarType::N,
            }),
        }
    }

    fn item(v: serde_json::Value) -> Item {
        item_from_json(&v).unwrap()
    }

    #[test]
    fn validates_item_keys() {
        let s = schema();
        assert!(s
            .item_key(&item(json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"S": "y"}})))
            .is_ok());
        assert_eq!(
            s.item_key(&item(json!({"pk": {"S": "a"}}))).unwrap_err().message,
            "One or more parameter values were invalid: Missing the key sk in the item"
        );
        assert_eq!(
            s.item_key(&item(json!({"pk": {"N": "1"}, "sk": {"N": "1"}})))
                .unwrap_err()
                .message,
            "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"
        );
        assert_eq!(
            s.item_key(&item(json!({"pk": {"S": ""}, "sk": {"N": "1"}}))).unwrap_err().message,
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"
        );
        let long = "x".repeat(2049);
        assert!(s
            .item_key(&item(json!({"pk": {"S": long}, "sk": {"N": "1"}})))
            .unwrap_err()
            .message
            .contains("hashkey"));
        let ok = "x".repeat(2048);
        assert!(s.item_key(&item(json!({"pk": {"S": ok}, "sk": {"N": "1"}}))).is_ok());
    }

    #[test]
    fn validates_key_parameter() {
        let s = schema();
        assert!(s
            .key_from_map(&item(json!({"pk": {"S": "a"}, "sk": {"N": "1"}})))
            .is_ok());
        for bad in [
            json!({"pk": {"S": "a"}}),
            json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"S": "y"}}),
            json!({"pk": {"S": "a"}, "sk": {"S": "1"}}),
            json!({"pk": {"S": "a"}, "other": {"N": "1"}}),
        ] {
            assert_eq!(s.key_from_map(&item(bad)).unwrap_err().message, MSG_KEY_SCHEMA_MISMATCH);
        }
    }

    #[test]
    fn hash_is_by_value() {
        let a = AttributeValue::N(Number::parse("1").unwrap());
        let b = AttributeValue::N(Number::parse("1.000").unwrap());
        assert_eq!(partition_hash(&a), partition_hash(&b));
        assert_ne!(
            partition_hash(&AttributeValue::S("a".into())),
            partition_hash(&AttributeValue::S("b".into()))
        );
    }

    fn enc(v: &AttributeValue) -> Vec<u8> {
        let mut out = Vec::new();
        encode_key_value(v, &mut out);
        out
    }

    proptest! {
        #[test]
        fn string_encoding_preserves_order(a in ".{0,20}", b in ".{0,20}", sa in any::<i64>(), sb in any::<i64>()) {
            let (va, vb) = (AttributeValue::S(a.clone()), AttributeValue::S(b.clone()));
            prop_assert_eq!(a.as_bytes().cmp(b.as_bytes()), enc(&va).cmp(&enc(&vb)));
            // Composite (partition ‖ sort) keys sort by partition, then sort.
            let (na, nb) = (AttributeValue::N(sa.into()), AttributeValue::N(sb.into()));
            let mut ka = enc(&va); ka.extend(enc(&na));
            let mut kb = enc(&vb); kb.extend(enc(&nb));
            prop_assert_eq!((a.as_bytes(), sa).cmp(&(b.as_bytes(), sb)), ka.cmp(&kb));
            let (back, used) = decode_key_value(ScalarType::S, &enc(&va)).unwrap();
            prop_assert_eq!(back, va.clone());
            prop_assert_eq!(used, enc(&va).len());
        }

        #[test]
        fn binary_encoding_preserves_order(a in proptest::collection::vec(any::<u8>(), 0..16), b in proptest::collection::vec(any::<u8>(), 0..16)) {
            let (va, vb) = (AttributeValue::B(a.clone()), AttributeValue::B(b.clone()));
            prop_assert_eq!(a.cmp(&b), enc(&va).cmp(&enc(&vb)));
            prop_assert_eq!(decode_key_value(ScalarType::B, &enc(&va)).unwrap().0, va);
        }
    }
}
