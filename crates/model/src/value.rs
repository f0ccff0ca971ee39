//! `AttributeValue` and its DynamoDB JSON wire form (`{"S": "x"}`, `{"N": "1"}`, B as base64).
//!
//! Decoding runs in two passes, in DynamoDB's order: first the JSON shape (a wrong JSON type is a
//! `SerializationException`), then the values (a `ValidationException`: empty or doubled type,
//! bad number, empty or duplicate set, nesting too deep).

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::ser::{SerializeMap, SerializeSeq};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::limits::NESTING_DEPTH_MAX;
use crate::number::Number;
use crate::shape;

/// A DynamoDB attribute value. Maps are ordered so that encoding and evaluation are
/// deterministic on every replica.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum AttributeValue {
    S(String),
    N(Number),
    B(Vec<u8>),
    Bool(bool),
    Null,
    M(BTreeMap<String, AttributeValue>),
    L(Vec<AttributeValue>),
    Ss(Vec<String>),
    Ns(Vec<Number>),
    Bs(Vec<Vec<u8>>),
}

/// An item: attribute name to value.
pub type Item = BTreeMap<String, AttributeValue>;

/// The ten DynamoDB type descriptors, as written on the wire and in `attribute_type()`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum ValueType {
    S,
    N,
    B,
    Bool,
    Null,
    M,
    L,
    Ss,
    Ns,
    Bs,
}

impl ValueType {
    pub const ALL: [ValueType; 10] = [
        ValueType::S,
        ValueType::N,
        ValueType::B,
        ValueType::Bool,
        ValueType::Null,
        ValueType::M,
        ValueType::L,
        ValueType::Ss,
        ValueType::Ns,
        ValueType::Bs,
    ];

    pub fn descriptor(self) -> &'static str {
        match self {
            ValueType::S => "S",
            ValueType::N => "N",
            ValueType::B => "B",
            ValueType::Bool => "BOOL",
            ValueType::Null => "NULL",
            ValueType::M => "M",
            ValueType::L => "L",
            ValueType::Ss => "SS",
            ValueType::Ns => "NS",
            ValueType::Bs => "BS",
        }
    }

    pub fn from_descriptor(s: &str) -> Option<ValueType> {
        ValueType::ALL.into_iter().find(|t| t.descriptor() == s)
    }
}

pub const MSG_EMPTY_VALUE: &str =
    "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes";
pub const MSG_MULTIPLE_TYPES: &str =
    "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes";
pub const MSG_NULL_FALSE: &str =
    "One or more parameter values were invalid: Null attribute value types must have the value of true";
pub const MSG_NESTING: &str =
    "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit";

impl AttributeValue {
    pub fn value_type(&self) -> ValueType {
        match self {
            AttributeValue::S(_) => ValueType::S,
            AttributeValue::N(_) => ValueType::N,
            AttributeValue::B(_) => ValueType::B,
            AttributeValue::Bool(_) => ValueType::Bool,
            AttributeValue::Null => ValueType::Null,
            AttributeValue::M(_) => ValueType::M,
            AttributeValue::L(_) => ValueType::L,
            AttributeValue::Ss(_) => ValueType::Ss,
            AttributeValue::Ns(_) => ValueType::Ns,
            AttributeValue::Bs(_) => ValueType::Bs,
        }
    }

    /// Size by DynamoDB's item-size rules (the value only; the caller adds the name).
    pub fn size_bytes(&self) -> usize {
        match self {
            AttributeValue::S(s) => s.len(),
            AttributeValue::N(n) => n.size_bytes(),
            AttributeValue::B(b) => b.len(),
            AttributeValue::Bool(_) | AttributeValue::Null => 1,
            AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
            AttributeValue::Ns(v) => v.iter().map(Number::size_bytes).sum(),
            AttributeValue::Bs(v) => v.iter().map(Vec::len).sum(),
            // Containers cost 3 bytes, plus 1 byte per element.
            AttributeValue::M(m) => 3 + m.iter().map(|(k, v)| k.len() + v.size_bytes() + 1).sum::<usize>(),
            AttributeValue::L(l) => 3 + l.iter().map(|v| v.size_bytes() + 1).sum::<usize>(),
        }
    }

    /// Depth of nested maps and lists (a scalar is 0, `{"M":{}}` is 1).
    pub fn nesting_depth(&self) -> usize {
        match self {
            AttributeValue::M(m) => 1 + m.values().map(AttributeValue::nesting_depth).max().unwrap_or(0),
            AttributeValue::L(l) => 1 + l.iter().map(AttributeValue::nesting_depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// Decodes the DynamoDB JSON form, shape first, then values.
    pub fn from_json(value: &Value) -> Result<AttributeValue> {
        check_shape(value, 0)?;
        decode(value, 1)
    }

    /// Encodes to the DynamoDB JSON form.
    pub fn to_json(&self) -> Value {
        // Serializing our own tree into a Value cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Size of a whole item by DynamoDB's rules: the sum of name lengths and value sizes.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + v.size_bytes()).sum()
}

/// Decodes an item (`{"name": {"S": "x"}, ...}`) from DynamoDB JSON.
pub fn item_from_json(value: &Value) -> Result<Item> {
    let map = shape::attribute_map(value)?;
    for v in map.values() {
        check_shape(v, 0)?;
    }
    let mut item = Item::new();
    for (k, v) in map {
        item.insert(k.clone(), decode(v, 1)?);
    }
    Ok(item)
}

pub fn item_to_json(item: &Item) -> Value {
    Value::Object(item.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

/// Pass 1: the JSON types fit the AttributeValue shape. Unknown members are ignored, as the
/// service's deserializer does; JSON null counts as absent.
fn check_shape(value: &Value, depth: usize) -> Result<()> {
    // The JSON parser bounds depth at 128; this bounds our own recursion independently of it.
    if depth > NESTING_DEPTH_MAX + 1 {
        return Err(Error::validation(MSG_NESTING));
    }
    let map = shape::attribute_value(value)?;
    for (key, member) in map {
        if member.is_null() {
            continue;
        }
        match key.as_str() {
            "S" | "N" => {
                shape::string(member)?;
            }
            "B" => {
                shape::blob(member)?;
            }
            "BOOL" | "NULL" => {
                shape::boolean(member)?;
            }
            "SS" | "NS" => {
                for v in shape::list(member)? {
                    shape::string(v)?;
                }
            }
            "BS" => {
                for v in shape::list(member)? {
                    shape::blob(v)?;
                }
            }
            "L" => {
                for v in shape::list(member)? {
                    check_shape(v, depth + 1)?;
                }
            }
            "M" => {
                for v in shape::attribute_map(member)?.values() {
                    check_shape(v, depth + 1)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Pass 2: exactly one type, and a valid value of it. `depth` is the level of this value:
/// a top-level attribute is level 1, and no value may sit deeper than level 32.
fn decode(value: &Value, depth: usize) -> Result<AttributeValue> {
    if depth > NESTING_DEPTH_MAX {
        return Err(Error::validation(MSG_NESTING));
    }
    let map = shape::attribute_value(value)?;
    let mut found: Option<(&str, &Value)> = None;
    let mut types = 0;
    for (key, member) in map {
        if member.is_null() || ValueType::from_descriptor(key).is_none() {
            continue;
        }
        types += 1;
        found = found.or(Some((key.as_str(), member)));
    }
    let Some((key, member)) = found else {
        return Err(Error::validation(MSG_EMPTY_VALUE));
    };
    if types > 1 {
        return Err(Error::validation(MSG_MULTIPLE_TYPES));
    }
    let text = |v: &Value| shape::string(v).map(str::to_string);
    Ok(match key {
        "S" => AttributeValue::S(text(member)?),
        "N" => AttributeValue::N(Number::parse(shape::string(member)?)?),
        "B" => AttributeValue::B(shape::blob(member)?),
        "BOOL" => AttributeValue::Bool(shape::boolean(member)?),
        "NULL" => {
            if !shape::boolean(member)? {
                return Err(Error::validation(MSG_NULL_FALSE));
            }
            AttributeValue::Null
        }
        "SS" => {
            let v = shape::list(member)?.iter().map(text).collect::<Result<Vec<_>>>()?;
            check_string_set(&v)?;
            AttributeValue::Ss(in_set_order(v))
        }
        "NS" => {
            let v = shape::list(member)?
                .iter()
                .map(|s| Number::parse(shape::string(s)?))
                .collect::<Result<Vec<_>>>()?;
            check_number_set(&v)?;
            AttributeValue::Ns(in_set_order(v))
        }
        "BS" => {
            let v = shape::list(member)?
                .iter()
                .map(shape::blob)
                .collect::<Result<Vec<_>>>()?;
            check_binary_set(&v)?;
            AttributeValue::Bs(in_set_order(v))
        }
        "L" => AttributeValue::L(
            shape::list(member)?
                .iter()
                .map(|v| decode(v, depth + 1))
                .collect::<Result<Vec<_>>>()?,
        ),
        "M" => {
            let mut m = BTreeMap::new();
            for (k, v) in shape::attribute_map(member)? {
                m.insert(k.clone(), decode(v, depth + 1)?);
            }
            AttributeValue::M(m)
        }
        _ => return Err(Error::validation(MSG_EMPTY_VALUE)),
    })
}

/// The service renders a duplicate set as it meets it: the members seen so far in byte order,
/// then the repeat, then the rest as sent. Returns the rendering, or None without duplicates.
fn duplicate_rendering<T: Ord + Clone>(members: &[T], show: impl Fn(&T) -> String, sep: &str) -> Option<String> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, m) in members.iter().enumerate() {
        if !seen.insert(m.clone()) {
            let shown: Vec<String> = seen
                .iter()
                .chain(std::iter::once(m))
                .chain(&members[i + 1..])
                .map(&show)
                .collect();
            return Some(shown.join(sep));
        }
    }
    None
}

const MSG_INVALID: &str = "One or more parameter values were invalid";

/// A set's members in DynamoDB's order, the order it answers them in: strings and binaries
/// bytewise, numbers by value.
pub fn in_set_order<T: Ord>(mut members: Vec<T>) -> Vec<T> {
    members.sort();
    members
}

/// A set as answered: in set order (sets written before they were kept sorted are sorted on
/// the way out; a sorted one is not copied).
fn set_view<T: Ord + Clone>(members: &[T]) -> std::borrow::Cow<'_, [T]> {
    if members.windows(2).all(|w| w[0] <= w[1]) {
        std::borrow::Cow::Borrowed(members)
    } else {
        std::borrow::Cow::Owned(in_set_order(members.to_vec()))
    }
}

pub fn check_string_set(members: &[String]) -> Result<()> {
    if members.is_empty() {
        return Err(Error::validation(format!(
            "{MSG_INVALID}: An string set  may not be empty"
        )));
    }
    match duplicate_rendering(members, |s| format!("\"{s}\""), ", ") {
        Some(shown) => Err(Error::validation(format!(
            "{MSG_INVALID}: Input collection [{shown}] contains duplicates."
        ))),
        None => Ok(()),
    }
}

pub fn check_number_set(members: &[Number]) -> Result<()> {
    if members.is_empty() {
        return Err(Error::validation(format!(
            "{MSG_INVALID}: An number set  may not be empty"
        )));
    }
    match duplicate_rendering(members, Number::to_string, ",") {
        Some(_) => Err(Error::validation(format!(
            "{MSG_INVALID}: Input collection contains duplicates."
        ))),
        None => Ok(()),
    }
}

pub fn check_binary_set(members: &[Vec<u8>]) -> Result<()> {
    if members.is_empty() {
        return Err(Error::validation(format!(
            "{MSG_INVALID}: Binary sets should not be empty"
        )));
    }
    let b64 = |b: &Vec<u8>| format!("\"{}\"", base64::engine::general_purpose::STANDARD.encode(b));
    match duplicate_rendering(members, b64, ",") {
        Some(shown) => Err(Error::validation(format!(
            "{MSG_INVALID}: Input collection [{shown}]of type BS contains duplicates."
        ))),
        None => Ok(()),
    }
}

impl serde::Serialize for AttributeValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        if !serializer.is_human_readable() {
            return binary::serialize(self, serializer);
        }
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            AttributeValue::S(s) => map.serialize_entry("S", s)?,
            AttributeValue::N(n) => map.serialize_entry("N", &n.to_string())?,
            AttributeValue::B(b) => map.serialize_entry("B", &b64(b))?,
            AttributeValue::Bool(b) => map.serialize_entry("BOOL", b)?,
            AttributeValue::Null => map.serialize_entry("NULL", &true)?,
            AttributeValue::M(m) => map.serialize_entry("M", m)?,
            AttributeValue::L(l) => map.serialize_entry("L", l)?,
            AttributeValue::Ss(v) => map.serialize_entry("SS", &*set_view(v))?,
            AttributeValue::Ns(v) => map.serialize_entry("NS", &NumberStrings(&set_view(v)))?,
            AttributeValue::Bs(v) => map.serialize_entry("BS", &Base64Strings(&set_view(v)))?,
        }
        map.end()
    }
}

struct NumberStrings<'a>(&'a [Number]);
impl serde::Serialize for NumberStrings<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for n in self.0 {
            seq.serialize_element(&n.to_string())?;
        }
        seq.end()
    }
}

struct Base64Strings<'a>(&'a [Vec<u8>]);
impl serde::Serialize for Base64Strings<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for b in self.0 {
            seq.serialize_element(&base64::engine::general_purpose::STANDARD.encode(b))?;
        }
        seq.end()
    }
}

impl<'de> serde::Deserialize<'de> for AttributeValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        if !deserializer.is_human_readable() {
            return serde::de::DeserializeSeed::deserialize(binary::ValueSeed { depth: 0 }, deserializer);
        }
        let value = Value::deserialize(deserializer)?;
        AttributeValue::from_json(&value).map_err(|e| serde::de::Error::custom(e.message))
    }
}

/// The serde form of values in binary formats ([`crate::wire`]): an enum, variant index then
/// payload, instead of the JSON map of DynamoDB's wire form (no names, no base64).
mod binary {
    use std::collections::BTreeMap;
    use std::fmt;

    use serde::de::{self, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Serialize, Serializer};

    use super::{AttributeValue, NumberStrings};
    use crate::number::Number;
    use crate::wire::VALUE_DEPTH_MAX;

    const NAME: &str = "AttributeValue";
    const VARIANTS: &[&str] = &["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"];

    struct Bytes<'a>(&'a [u8]);
    impl Serialize for Bytes<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }

    struct BytesList<'a>(&'a [Vec<u8>]);
    impl Serialize for BytesList<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(self.0.len()))?;
            for b in self.0 {
                seq.serialize_element(&Bytes(b))?;
            }
            seq.end()
        }
    }

    pub(super) fn serialize<S: Serializer>(v: &AttributeValue, s: S) -> Result<S::Ok, S::Error> {
        match v {
            AttributeValue::S(x) => s.serialize_newtype_variant(NAME, 0, "S", x),
            AttributeValue::N(n) => s.serialize_newtype_variant(NAME, 1, "N", &n.to_string()),
            AttributeValue::B(b) => s.serialize_newtype_variant(NAME, 2, "B", &Bytes(b)),
            AttributeValue::Bool(b) => s.serialize_newtype_variant(NAME, 3, "BOOL", b),
            AttributeValue::Null => s.serialize_unit_variant(NAME, 4, "NULL"),
            AttributeValue::M(m) => s.serialize_newtype_variant(NAME, 5, "M", m),
            AttributeValue::L(l) => s.serialize_newtype_variant(NAME, 6, "L", l),
            AttributeValue::Ss(v) => s.serialize_newtype_variant(NAME, 7, "SS", v),
            AttributeValue::Ns(v) => s.serialize_newtype_variant(NAME, 8, "NS", &NumberStrings(v)),
            AttributeValue::Bs(v) => s.serialize_newtype_variant(NAME, 9, "BS", &BytesList(v)),
        }
    }

    struct ByteBuf(Vec<u8>);
    impl<'de> Deserialize<'de> for ByteBuf {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = ByteBuf;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("bytes")
                }
                fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                    Ok(ByteBuf(v.to_vec()))
                }
                fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                    Ok(ByteBuf(v))
                }
            }
            d.deserialize_byte_buf(V)
        }
    }

    fn number<E: de::Error>(text: &str) -> Result<Number, E> {
        Number::parse(text).map_err(|e| E::custom(e.message))
    }

    /// One value at nesting `depth` (M and L members are one deeper).
    pub(super) struct ValueSeed {
        pub depth: usize,
    }

    impl<'de> DeserializeSeed<'de> for ValueSeed {
        type Value = AttributeValue;
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<AttributeValue, D::Error> {
            if self.depth >= VALUE_DEPTH_MAX {
                return Err(de::Error::custom("attribute values nested too deeply"));
            }
            d.deserialize_enum(NAME, VARIANTS, self)
        }
    }

    impl<'de> Visitor<'de> for ValueSeed {
        type Value = AttributeValue;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an attribute value")
        }
        fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<AttributeValue, A::Error> {
            let (index, v): (u32, _) = data.variant()?;
            let depth = self.depth + 1;
            Ok(match index {
                0 => AttributeValue::S(v.newtype_variant()?),
                1 => AttributeValue::N(number(&v.newtype_variant::<String>()?)?),
                2 => AttributeValue::B(v.newtype_variant::<ByteBuf>()?.0),
                3 => AttributeValue::Bool(v.newtype_variant()?),
                4 => {
                    v.unit_variant()?;
                    AttributeValue::Null
                }
                5 => AttributeValue::M(v.newtype_variant_seed(MapSeed { depth })?),
                6 => AttributeValue::L(v.newtype_variant_seed(ListSeed { depth })?),
                7 => AttributeValue::Ss(v.newtype_variant()?),
                8 => AttributeValue::Ns(
                    v.newtype_variant::<Vec<String>>()?
                        .iter()
                        .map(|t| number(t))
                        .collect::<Result<_, _>>()?,
                ),
                9 => AttributeValue::Bs(v.newtype_variant::<Vec<ByteBuf>>()?.into_iter().map(|b| b.0).collect()),
                other => return Err(de::Error::custom(format!("unknown attribute value type {other}"))),
            })
        }
    }

    struct MapSeed {
        depth: usize,
    }

    impl<'de> DeserializeSeed<'de> for MapSeed {
        type Value = BTreeMap<String, AttributeValue>;
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for MapSeed {
        type Value = BTreeMap<String, AttributeValue>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map of attribute values")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(name) = map.next_key::<String>()? {
                let value = map.next_value_seed(ValueSeed { depth: self.depth })?;
                out.insert(name, value);
            }
            Ok(out)
        }
    }

    struct ListSeed {
        depth: usize,
    }

    impl<'de> DeserializeSeed<'de> for ListSeed {
        type Value = Vec<AttributeValue>;
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_seq(self)
        }
    }

    impl<'de> Visitor<'de> for ListSeed {
        type Value = Vec<AttributeValue>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of attribute values")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            // A length prefix from the network is not trusted for the allocation.
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
            while let Some(v) = seq.next_element_seed(ValueSeed { depth: self.depth })? {
                out.push(v);
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn av(v: Value) -> Result<AttributeValue> {
        AttributeValue::from_json(&v)
    }

    #[test]
    fn round_trips_every_type() {
        let original = json!({"M": {
            "s": {"S": "héllo"}, "n": {"N": "-1.50"}, "b": {"B": "AAEC"}, "t": {"BOOL": true},
            "z": {"NULL": true}, "l": {"L": [{"S": "x"}, {"N": "1"}]}, "ss": {"SS": ["a", "b"]},
            "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": ["AA==", "AQ=="]}
        }});
        let value = av(original.clone()).unwrap();
        let mut expected = original;
        expected["M"]["n"] = json!({"N": "-1.5"});
        assert_eq!(value.to_json(), expected);
        let AttributeValue::M(m) = &value else { panic!() };
        assert_eq!(m["b"], AttributeValue::B(vec![0, 1, 2]));
    }

    #[test]
    fn items_serialise_straight_to_the_json_of_their_tree() {
        let value = av(json!({"M": {
            "s": {"S": "a\"b"}, "n": {"N": "10"}, "b": {"B": "AAEC"}, "t": {"BOOL": false},
            "z": {"NULL": true}, "l": {"L": [{"NS": ["1", "2"]}, {"BS": ["AA=="]}, {"SS": ["x"]}]}
        }}))
        .unwrap();
        let AttributeValue::M(item) = value else { panic!() };
        assert_eq!(
            serde_json::to_vec(&item).unwrap(),
            serde_json::to_vec(&item_to_json(&item)).unwrap()
        );
    }

    #[test]
    fn rejects_empty_and_multiple_types() {
        assert_eq!(av(json!({})).unwrap_err().message, MSG_EMPTY_VALUE);
        assert_eq!(av(json!({"X": "a"})).unwrap_err().message, MSG_EMPTY_VALUE);
        assert_eq!(av(json!({"S": null})).unwrap_err().message, MSG_EMPTY_VALUE);
        assert_eq!(av(json!({"S": "a", "N": "1"})).unwrap_err().message, MSG_MULTIPLE_TYPES);
        assert_eq!(av(json!({"NULL": false})).unwrap_err().message, MSG_NULL_FALSE);
    }

    #[test]
    fn shape_errors_are_serialization() {
        use crate::ErrorKind;
        for bad in [
            json!({"S": 1}),
            json!({"N": 1}),
            json!({"BOOL": "x"}),
            json!({"SS": "a"}),
            json!({"SS": [1]}),
            json!({"L": {}}),
            json!({"M": []}),
            json!("S"),
        ] {
            assert_eq!(av(bad.clone()).unwrap_err().kind, ErrorKind::Serialization, "{bad}");
        }
        // Shape is checked before values: the bad number is not reported.
        let err = av(json!({"M": {"a": {"N": "x"}, "b": {"S": 5}}})).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Serialization);
    }

    #[test]
    fn rejects_bad_sets() {
        assert_eq!(
            av(json!({"SS": []})).unwrap_err().message,
            "One or more parameter values were invalid: An string set  may not be empty"
        );
        assert_eq!(
            av(json!({"NS": []})).unwrap_err().message,
            "One or more parameter values were invalid: An number set  may not be empty"
        );
        assert_eq!(
            av(json!({"BS": []})).unwrap_err().message,
            "One or more parameter values were invalid: Binary sets should not be empty"
        );
        assert_eq!(
            av(json!({"SS": ["b", "a", "b"]})).unwrap_err().message,
            "One or more parameter values were invalid: Input collection [\"a\", \"b\", \"b\"] contains duplicates."
        );
        assert_eq!(
            av(json!({"BS": ["/w==", "AA==", "AA=="]})).unwrap_err().message,
            "One or more parameter values were invalid: Input collection [\"AA==\",\"/w==\",\"AA==\"]of type BS contains duplicates."
        );
        assert_eq!(
            av(json!({"NS": ["1", "1.0"]})).unwrap_err().message,
            "One or more parameter values were invalid: Input collection contains duplicates."
        );
        // Empty members are fine; only the set itself may not be empty.
        assert!(av(json!({"SS": [""]})).is_ok());
        assert!(av(json!({"NS": ["1", "x"]})).is_err());
    }

    #[test]
    fn bounds_nesting() {
        // A top-level attribute is level 1: 31 containers put the leaf at level 32, the limit.
        let mut v = json!({"S": "leaf"});
        for _ in 0..31 {
            v = json!({"L": [v]});
        }
        assert_eq!(av(v.clone()).unwrap().nesting_depth(), 31);
        let deeper = json!({"M": {"x": v}});
        assert_eq!(av(deeper).unwrap_err().message, MSG_NESTING);
        // Far deeper than the limit still fails cleanly.
        let mut v = json!({"S": "leaf"});
        for _ in 0..100 {
            v = json!({"L": [v]});
        }
        assert_eq!(av(v).unwrap_err().message, MSG_NESTING);
    }

    #[test]
    fn sizes_follow_dynamodb_rules() {
        let item = item_from_json(&json!({
            "pk": {"S": "abc"},       // 2 + 3
            "n": {"N": "12345"},      // 1 + 4
            "flag": {"BOOL": true},   // 4 + 1
            "m": {"M": {"k": {"S": "v"}}}, // 1 + 3 + (1 + 1 + 1)
            "l": {"L": [{"NULL": true}, {"S": "xy"}]} // 1 + 3 + (1+1) + (2+1)
        }))
        .unwrap();
        assert_eq!(item_size(&item), 5 + 5 + 5 + 7 + 9);
    }
}
