//! The compact binary form of stored items (not JSON): a tag byte per value, LEB128 lengths,
//! numbers in their sortable encoding. Decoding validates everything it reads and reports
//! corruption instead of panicking.

use std::collections::BTreeMap;

use tessera_model::limits::NESTING_DEPTH_MAX;
use tessera_model::{AttributeValue, Error, Item, Number, Result};

const TAG_S: u8 = 1;
const TAG_N: u8 = 2;
const TAG_B: u8 = 3;
const TAG_TRUE: u8 = 4;
const TAG_FALSE: u8 = 5;
const TAG_NULL: u8 = 6;
const TAG_M: u8 = 7;
const TAG_L: u8 = 8;
const TAG_SS: u8 = 9;
const TAG_NS: u8 = 10;
const TAG_BS: u8 = 11;

/// Framing of the storage's own records (snapshots, intents, request-id records): a u32
/// big-endian length, then the bytes.
pub(crate) fn put_framed(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The next `n` bytes of `bytes`; `what` names the record in the corruption error.
pub(crate) fn take_fixed<'b>(bytes: &mut &'b [u8], n: usize, what: &str) -> Result<&'b [u8]> {
    let (head, rest) = bytes
        .split_at_checked(n)
        .ok_or_else(|| Error::internal(format!("{what} is corrupt")))?;
    *bytes = rest;
    Ok(head)
}

/// The next [`put_framed`] bytes of `bytes`.
pub(crate) fn take_framed<'b>(bytes: &mut &'b [u8], what: &str) -> Result<&'b [u8]> {
    let len = take_fixed(bytes, 4, what)?;
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    take_fixed(bytes, len, what)
}

fn put_len(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n & 0x7F) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_len(out, b.len());
    out.extend_from_slice(b);
}

fn put_value(out: &mut Vec<u8>, v: &AttributeValue) {
    match v {
        AttributeValue::S(s) => {
            out.push(TAG_S);
            put_bytes(out, s.as_bytes());
        }
        AttributeValue::N(n) => {
            out.push(TAG_N);
            n.encode_sortable(out);
        }
        AttributeValue::B(b) => {
            out.push(TAG_B);
            put_bytes(out, b);
        }
        AttributeValue::Bool(true) => out.push(TAG_TRUE),
        AttributeValue::Bool(false) => out.push(TAG_FALSE),
        AttributeValue::Null => out.push(TAG_NULL),
        AttributeValue::M(m) => {
            out.push(TAG_M);
            put_map(out, m);
        }
        AttributeValue::L(l) => {
            out.push(TAG_L);
            put_len(out, l.len());
            l.iter().for_each(|v| put_value(out, v));
        }
        AttributeValue::Ss(ss) => {
            out.push(TAG_SS);
            put_len(out, ss.len());
            ss.iter().for_each(|s| put_bytes(out, s.as_bytes()));
        }
        AttributeValue::Ns(ns) => {
            out.push(TAG_NS);
            put_len(out, ns.len());
            ns.iter().for_each(|n| n.encode_sortable(out));
        }
        AttributeValue::Bs(bs) => {
            out.push(TAG_BS);
            put_len(out, bs.len());
            bs.iter().for_each(|b| put_bytes(out, b));
        }
    }
}

fn put_map(out: &mut Vec<u8>, m: &BTreeMap<String, AttributeValue>) {
    put_len(out, m.len());
    for (k, v) in m {
        put_bytes(out, k.as_bytes());
        put_value(out, v);
    }
}

pub fn encode_item(item: &Item) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    put_map(&mut out, item);
    out
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn corrupt() -> Error {
    Error::internal("stored item is corrupt")
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8> {
        let b = *self.buf.get(self.pos).ok_or_else(corrupt)?;
        self.pos += 1;
        Ok(b)
    }

    fn len(&mut self) -> Result<usize> {
        let mut n: usize = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= usize::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                // A length can never exceed the remaining input.
                return if n <= self.buf.len() { Ok(n) } else { Err(corrupt()) };
            }
        }
        Err(corrupt())
    }

    fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.len()?;
        let end = self.pos.checked_add(n).ok_or_else(corrupt)?;
        let b = self.buf.get(self.pos..end).ok_or_else(corrupt)?;
        self.pos = end;
        Ok(b)
    }

    fn string(&mut self) -> Result<String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| corrupt())
    }

    fn number(&mut self) -> Result<Number> {
        let rest = self.buf.get(self.pos..).ok_or_else(corrupt)?;
        let (n, used) = Number::decode_sortable(rest).ok_or_else(corrupt)?;
        self.pos += used;
        Ok(n)
    }

    fn map(&mut self, depth: usize) -> Result<BTreeMap<String, AttributeValue>> {
        let n = self.len()?;
        let mut m = BTreeMap::new();
        for _ in 0..n {
            let k = self.string()?;
            let v = self.value(depth + 1)?;
            m.insert(k, v);
        }
        Ok(m)
    }

    fn value(&mut self, depth: usize) -> Result<AttributeValue> {
        if depth > NESTING_DEPTH_MAX + 1 {
            return Err(corrupt());
        }
        Ok(match self.byte()? {
            TAG_S => AttributeValue::S(self.string()?),
            TAG_N => AttributeValue::N(self.number()?),
            TAG_B => AttributeValue::B(self.bytes()?.to_vec()),
            TAG_TRUE => AttributeValue::Bool(true),
            TAG_FALSE => AttributeValue::Bool(false),
            TAG_NULL => AttributeValue::Null,
            TAG_M => AttributeValue::M(self.map(depth)?),
            TAG_L => {
                let n = self.len()?;
                let mut l = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    l.push(self.value(depth + 1)?);
                }
                AttributeValue::L(l)
            }
            TAG_SS => {
                let n = self.len()?;
                (0..n)
                    .map(|_| self.string())
                    .collect::<Result<_>>()
                    .map(AttributeValue::Ss)?
            }
            TAG_NS => {
                let n = self.len()?;
                (0..n)
                    .map(|_| self.number())
                    .collect::<Result<_>>()
                    .map(AttributeValue::Ns)?
            }
            TAG_BS => {
                let n = self.len()?;
                (0..n)
                    .map(|_| self.bytes().map(<[u8]>::to_vec))
                    .collect::<Result<_>>()
                    .map(AttributeValue::Bs)?
            }
            _ => return Err(corrupt()),
        })
    }
}

pub fn decode_item(buf: &[u8]) -> Result<Item> {
    let mut r = Reader { buf, pos: 0 };
    let item = r.map(0)?;
    if r.pos != buf.len() {
        return Err(corrupt());
    }
    Ok(item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tessera_model::item_from_json;

    #[test]
    fn round_trips_every_type() {
        let item = item_from_json(&json!({
            "s": {"S": "héllo"}, "n": {"N": "-12.5e3"}, "b": {"B": "AAEC"}, "t": {"BOOL": true},
            "f": {"BOOL": false}, "z": {"NULL": true}, "ss": {"SS": ["a", ""]}, "ns": {"NS": ["1", "0", "-1e-130"]},
            "bs": {"BS": ["AA==", ""]}, "m": {"M": {"l": {"L": [{"S": "x"}, {"M": {}}, {"L": []}]}}}
        }))
        .unwrap();
        let bytes = encode_item(&item);
        assert_eq!(decode_item(&bytes).unwrap(), item);
    }

    #[test]
    fn corrupt_input_is_an_error() {
        let item = item_from_json(&json!({"a": {"S": "xyz"}, "b": {"L": [{"N": "5"}]}})).unwrap();
        let bytes = encode_item(&item);
        for cut in 0..bytes.len() {
            assert!(decode_item(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode_item(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let _ = decode_item(&bytes);
        }
    }
}
