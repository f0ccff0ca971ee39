//! The binary encoding of what travels between our own processes and what the Raft log
//! stores: commands, results, reads, Raft messages. postcard (compact, no field names, no
//! escaping) behind a one-byte tag; JSON was a fifth of a replica's CPU per write.
//!
//! Bytes without the tag are read as JSON, the earlier encoding, so logs, markers and
//! request-id records written by earlier builds stay readable. Earlier builds cannot read this
//! encoding: a cluster moves to it as a whole, not node by node. JSON never starts with the tag
//! byte (0xB1 is not a valid first byte of UTF-8).
//!
//! postcard writes fields by position, without names or defaults: the layout of every type
//! that is logged or sent is a stored format. Change one (a field, a variant's position) only
//! with a new tag and a decoder for the old one; `tests::layout_is_stable` pins the layout.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// First byte of every binary encoding.
pub const TAG: u8 = 0xB1;

/// Deepest nesting of M/L values accepted when decoding (DynamoDB allows 32 levels): bytes
/// from the network must not overflow the stack.
pub const VALUE_DEPTH_MAX: usize = 64;

/// `value`, binary encoded.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    let out = vec![TAG];
    postcard::to_extend(value, out).map_err(|e| format!("wire encoding: {e}"))
}

/// A value written by [`encode`] (or, without the tag, as JSON).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    match bytes.split_first() {
        Some((&TAG, rest)) => match postcard::take_from_bytes(rest) {
            Ok((value, [])) => Ok(value),
            Ok((_, trailing)) => Err(format!("wire decoding: {} bytes after the value", trailing.len())),
            Err(e) => Err(format!("wire decoding: {e}")),
        },
        _ => serde_json::from_slice(bytes).map_err(|e| format!("wire decoding (json): {e}")),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::value::{AttributeValue, Item};
    use crate::{Error, ErrorKind, Number};

    fn every_type() -> Item {
        let mut inner = BTreeMap::new();
        inner.insert("s".to_string(), AttributeValue::S("héllo \"q\"".into()));
        inner.insert("n".to_string(), AttributeValue::N(Number::parse("-1.5e-3").unwrap()));
        inner.insert("b".to_string(), AttributeValue::B(vec![0, 1, 255]));
        inner.insert("t".to_string(), AttributeValue::Bool(true));
        inner.insert("z".to_string(), AttributeValue::Null);
        inner.insert(
            "l".to_string(),
            AttributeValue::L(vec![AttributeValue::S("x".into()), AttributeValue::L(vec![])]),
        );
        inner.insert("ss".to_string(), AttributeValue::Ss(vec!["a".into(), "b".into()]));
        inner.insert(
            "ns".to_string(),
            AttributeValue::Ns(vec![Number::parse("1").unwrap(), Number::parse("2.5").unwrap()]),
        );
        inner.insert("bs".to_string(), AttributeValue::Bs(vec![vec![], vec![7]]));
        let mut item = Item::new();
        item.insert("m".to_string(), AttributeValue::M(inner));
        item.insert("pk".to_string(), AttributeValue::S("k".into()));
        item
    }

    #[test]
    fn round_trips_every_attribute_type() {
        let item = every_type();
        let bytes = encode(&item).unwrap();
        assert_eq!(bytes[0], TAG);
        assert_eq!(decode::<Item>(&bytes).unwrap(), item);
        // Smaller than its JSON: no field names, quotes or escapes.
        assert!(bytes.len() < serde_json::to_vec(&item).unwrap().len());
    }

    #[test]
    fn reads_json_written_before() {
        let item = every_type();
        let json = serde_json::to_vec(&item).unwrap();
        assert_eq!(decode::<Item>(&json).unwrap(), item);
        let mut err = Error::new(ErrorKind::ConditionalCheckFailed, "The conditional request failed");
        err.item = Some(Box::new(item));
        let json = serde_json::to_vec(&Err::<(), _>(err.clone())).unwrap();
        assert_eq!(decode::<Result<(), Error>>(&json).unwrap(), Err(err.clone()));
        let bytes = encode(&Err::<(), _>(err.clone())).unwrap();
        assert_eq!(decode::<Result<(), Error>>(&bytes).unwrap(), Err(err));
    }

    #[test]
    fn layout_is_stable() {
        let mut item = Item::new();
        item.insert("k".into(), AttributeValue::S("v".into()));
        item.insert("n".into(), AttributeValue::N(Number::parse("1.5").unwrap()));
        let mut err = Error::new(ErrorKind::ConditionalCheckFailed, "no");
        err.item = Some(Box::new(item));
        let bytes = encode(&Err::<(), _>(err)).unwrap();
        // Err (1), kind (ConditionalCheckFailed: 2), message, Some(item) of 2 members: "k" S "v", "n" N "1.5".
        let expected = [
            TAG, 1, 2, 2, b'n', b'o', 1, 2, 1, b'k', 0, 1, b'v', 1, b'n', 1, 3, b'1', b'.', b'5',
        ];
        assert_eq!(bytes, expected);
    }

    #[test]
    fn rejects_trailing_bytes() {
        let mut bytes = encode(&every_type()).unwrap();
        bytes.push(0);
        assert!(decode::<Item>(&bytes).is_err());
    }

    #[test]
    fn rejects_damaged_bytes_without_panicking() {
        let bytes = encode(&every_type()).unwrap();
        for cut in 0..bytes.len() {
            assert!(decode::<Item>(&bytes[..cut]).is_err(), "prefix of {cut} bytes decoded");
        }
        let mut flipped = bytes.clone();
        for i in 1..flipped.len() {
            flipped[i] ^= 0x5A;
            let _ = decode::<Item>(&flipped);
            flipped[i] ^= 0x5A;
        }
    }

    #[test]
    fn bounds_nesting_depth() {
        let nest = |depth: usize| {
            let mut v = AttributeValue::S("leaf".into());
            for _ in 0..depth {
                v = AttributeValue::L(vec![v]);
            }
            v
        };
        let ok = encode(&nest(VALUE_DEPTH_MAX - 1)).unwrap();
        assert!(decode::<AttributeValue>(&ok).is_ok());
        let deep = encode(&nest(VALUE_DEPTH_MAX + 1)).unwrap();
        assert!(decode::<AttributeValue>(&deep).is_err());
        // Hand-made bytes far deeper than anything we encode: still an error, not a crash.
        let mut hostile = vec![TAG];
        hostile.extend(std::iter::repeat_n([6u8, 1], 100_000).flatten());
        assert!(decode::<AttributeValue>(&hostile).is_err());
    }
}
