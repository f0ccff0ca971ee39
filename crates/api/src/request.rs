//! Reading request members with the service's error wording: JSON shape problems are
//! `SerializationException`s; constraint violations are collected and reported together as
//! `N validation error(s) detected: …`, as DynamoDB does.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use tessera_model::ops::Placeholders;
use tessera_model::{shape, AttributeValue, Error, Item, Result};

/// A request object (or a nested structure of one).
#[derive(Clone, Copy)]
pub struct Req<'a> {
    obj: &'a Map<String, Value>,
}

/// The deepest JSON nesting a request body may have. Attribute values nest 32 levels at most
/// (two JSON levels each), but DynamoDB checks a request's members before its values, so a
/// deeper value must still parse to be refused in that order; deeper than this is refused
/// before parsing (parsing recurses, and must not exhaust the stack).
pub const JSON_DEPTH_MAX: usize = 256;

/// Whether the JSON text nests no deeper than `max` (strings skipped; not a validation).
fn depth_within(body: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// Parses a request body. Anything but a JSON object is a SerializationException with no
/// message, as the service answers.
pub fn parse_body(body: &[u8]) -> Result<Value> {
    if !depth_within(body, JSON_DEPTH_MAX) {
        return Err(Error::serialization(""));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    // serde_json's own limit (128) is below JSON_DEPTH_MAX, which bounds the depth instead.
    de.disable_recursion_limit();
    match serde::Deserialize::deserialize(&mut de).and_then(|v: Value| de.end().map(|()| v)) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(Error::serialization("")),
    }
}

impl<'a> Req<'a> {
    pub fn new(v: &'a Value) -> Result<Req<'a>> {
        match v {
            Value::Object(obj) => Ok(Req { obj }),
            _ => Err(Error::serialization("Unexpected field type")),
        }
    }

    pub fn get(&self, name: &str) -> Option<&'a Value> {
        shape::member(self.obj, name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn str(&self, name: &str) -> Result<Option<&'a str>> {
        self.get(name).map(shape::string).transpose()
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>> {
        self.get(name).map(shape::boolean).transpose()
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>> {
        self.get(name).map(shape::integer).transpose()
    }

    pub fn list(&self, name: &str) -> Result<Option<&'a Vec<Value>>> {
        self.get(name).map(shape::list).transpose()
    }

    /// A nested structure.
    pub fn obj(&self, name: &str) -> Result<Option<Req<'a>>> {
        self.get(name)
            .map(|v| match v {
                Value::Object(obj) => Ok(Req { obj }),
                Value::Array(_) => Err(Error::serialization("Unrecognized collection type")),
                _ => Err(Error::serialization("Unexpected field type")),
            })
            .transpose()
    }

    /// A map of attribute values (Item, Key, ExclusiveStartKey), decoded.
    pub fn item(&self, name: &str) -> Result<Option<Item>> {
        self.get(name).map(tessera_model::item_from_json).transpose()
    }

    /// A map member's raw entries (RequestItems, Tags as structures, …).
    pub fn raw_map(&self, name: &str) -> Result<Option<&'a Map<String, Value>>> {
        self.get(name).map(shape::string_map).transpose()
    }

    pub fn string_map(&self, name: &str) -> Result<Option<BTreeMap<String, String>>> {
        let Some(m) = self.get(name).map(shape::string_map).transpose()? else {
            return Ok(None);
        };
        m.iter()
            .map(|(k, v)| Ok((k.clone(), shape::string(v)?.to_string())))
            .collect::<Result<_>>()
            .map(Some)
    }
}

/// Constraint violations, gathered and reported together.
#[derive(Default)]
pub struct Constraints {
    errors: Vec<String>,
}

pub const TABLE_NAME_PATTERN: &str = "[a-zA-Z0-9_.-]+";

fn is_table_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

impl Constraints {
    fn push(&mut self, value: Option<&str>, path: &str, constraint: impl std::fmt::Display) {
        let shown = match value {
            Some(v) => format!("'{v}'"),
            None => "null".to_string(),
        };
        self.errors.push(format!(
            "Value {shown} at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// The newer wording of DynamoDB's validation framework, where it has reached a check:
    /// the member's own name and no value (`Value at 'Limit' failed to satisfy …`).
    fn push_member(&mut self, member: &str, constraint: impl std::fmt::Display) {
        self.errors.push(format!(
            "Value at '{member}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// `at_least` in the newer wording (Query's and Scan's numeric members).
    pub fn member_at_least(&mut self, value: Option<i64>, member: &str, min: i64) {
        if value.is_some_and(|v| v < min) {
            self.push_member(member, format!("Member must have value greater than or equal to {min}"));
        }
    }

    /// `at_most` in the newer wording.
    pub fn member_at_most(&mut self, value: Option<i64>, member: &str, max: i64) {
        if value.is_some_and(|v| v > max) {
            self.push_member(member, format!("Member must have value less than or equal to {max}"));
        }
    }

    /// A whole constraint message of its own wording.
    pub fn raw(&mut self, message: String) {
        self.errors.push(message);
    }

    /// Adds `other`'s violations after these.
    pub fn append(&mut self, other: Constraints) {
        self.errors.extend(other.errors);
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn not_null(&mut self, present: bool, path: &str) {
        if !present {
            self.push(None, path, "Member must not be null");
        }
    }

    /// Whether `name` passes `name`'s checks.
    pub fn valid_name(name: &str, min: usize) -> bool {
        is_table_name(name) && name.len() >= min && name.len() <= 255
    }

    /// A table or index name: required, `[a-zA-Z0-9_.-]+`, `min..=255` characters. An empty
    /// name breaks only the length (DynamoDB does not report the pattern for it).
    pub fn name(&mut self, value: Option<&str>, path: &str, min: usize) {
        let Some(v) = value else {
            return self.not_null(false, path);
        };
        if !v.is_empty() && !is_table_name(v) {
            self.push(
                Some(v),
                path,
                format!("Member must satisfy regular expression pattern: {TABLE_NAME_PATTERN}"),
            );
        }
        if v.len() < min {
            self.push(
                Some(v),
                path,
                format!("Member must have length greater than or equal to {min}"),
            );
        }
        if v.len() > 255 {
            self.push(Some(v), path, "Member must have length less than or equal to 255");
        }
    }

    pub fn one_of(&mut self, value: Option<&str>, path: &str, allowed: &[&str]) {
        if let Some(v) = value {
            if !allowed.contains(&v) {
                self.push(
                    Some(v),
                    path,
                    format!("Member must satisfy enum value set: [{}]", allowed.join(", ")),
                );
            }
        }
    }

    pub fn at_least(&mut self, value: Option<i64>, path: &str, min: i64) {
        if let Some(v) = value.filter(|v| *v < min) {
            self.push(
                Some(&v.to_string()),
                path,
                format!("Member must have value greater than or equal to {min}"),
            );
        }
    }

    pub fn at_most(&mut self, value: Option<i64>, path: &str, max: i64) {
        if let Some(v) = value.filter(|v| *v > max) {
            self.push(
                Some(&v.to_string()),
                path,
                format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    pub fn length_at_least_one(&mut self, path: &str) {
        self.push(Some("[]"), path, "Member must have length greater than or equal to 1");
    }

    pub fn length_at_most(&mut self, len: usize, shown: &str, path: &str, max: usize) {
        if len > max {
            self.push(
                Some(shown),
                path,
                format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    pub fn finish(self) -> Result<()> {
        match self.errors.len() {
            0 => Ok(()),
            // The service stops collecting after ten.
            n => Err(Error::validation(format!(
                "{n} validation error{} detected: {}",
                if n == 1 { "" } else { "s" },
                self.errors.iter().take(10).cloned().collect::<Vec<_>>().join("; ")
            ))),
        }
    }
}

/// `1 validation error detected: Value null at '<path>' …must not be null`, for a member
/// checked on its own.
pub fn missing_member(path: &str) -> Error {
    let mut c = Constraints::default();
    c.not_null(false, path);
    c.finish().err().unwrap_or_else(|| Error::validation(path.to_string()))
}

/// Wraps a single value error as the current-layer operations (PutItem, UpdateItem,
/// DeleteItem) report it.
pub fn enveloped(mut e: Error) -> Error {
    if e.kind == tessera_model::ErrorKind::Validation {
        e.message = format!("1 validation error detected: {}", e.message);
    }
    e
}

fn valid_placeholder(key: &str, sigil: char) -> bool {
    let mut chars = key.chars();
    chars.next() == Some(sigil) && key.len() > 1 && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// ExpressionAttributeNames and ExpressionAttributeValues, with their own checks.
pub fn placeholders(req: &Req<'_>) -> Result<Placeholders> {
    let names = req.string_map("ExpressionAttributeNames")?;
    let raw_values = req
        .get("ExpressionAttributeValues")
        .map(shape::attribute_map)
        .transpose()?;
    if names.as_ref().is_some_and(BTreeMap::is_empty) {
        return Err(Error::validation("ExpressionAttributeNames must not be empty"));
    }
    if raw_values.is_some_and(|m| m.is_empty()) {
        return Err(Error::validation("ExpressionAttributeValues must not be empty"));
    }
    let names = names.unwrap_or_default();
    if let Some(bad) = names.keys().find(|k| !valid_placeholder(k, '#')) {
        return Err(Error::validation(format!(
            "ExpressionAttributeNames contains invalid key: Syntax error; key: \"{bad}\""
        )));
    }
    let mut values = BTreeMap::new();
    for (k, v) in raw_values.into_iter().flatten() {
        if !valid_placeholder(k, ':') {
            return Err(Error::validation(format!(
                "ExpressionAttributeValues contains invalid key: Syntax error; key: \"{k}\""
            )));
        }
        // A bad value is reported as it is, without naming its placeholder.
        let value = AttributeValue::from_json(v)?;
        values.insert(k.clone(), value);
    }
    Ok(Placeholders { names, values })
}

/// Rejects placeholder maps in a request with no expression that could use them.
pub fn placeholders_need_expressions(req: &Req<'_>, name_users: &[&str], value_users: &[&str]) -> Result<()> {
    if req.has("ExpressionAttributeNames") && !name_users.iter().any(|e| req.has(e)) {
        return Err(Error::validation(
            "ExpressionAttributeNames can only be specified when using expressions",
        ));
    }
    if req.has("ExpressionAttributeValues") && !value_users.iter().any(|e| req.has(e)) {
        return Err(Error::validation(
            "ExpressionAttributeValues can only be specified when using expressions",
        ));
    }
    Ok(())
}

/// Refuses legacy (non-expression) parameters beside expression ones, with DynamoDB's
/// message naming those of each kind the request holds.
pub fn mixed_parameters(req: &Req<'_>, legacy: &[&str], expressions: &[&str]) -> Result<()> {
    let legacy: Vec<&str> = legacy.iter().copied().filter(|p| req.has(p)).collect();
    let expressions: Vec<&str> = expressions.iter().copied().filter(|p| req.has(p)).collect();
    if legacy.is_empty() || expressions.is_empty() {
        return Ok(());
    }
    Err(Error::validation(format!(
        "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
        legacy.join(", "),
        expressions.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> Vec<u8> {
        format!("{{\"a\":{}1{}}}", "[".repeat(levels - 1), "]".repeat(levels - 1)).into_bytes()
    }

    #[test]
    fn bodies_parse_up_to_the_depth_bound_and_no_deeper() {
        assert!(parse_body(&nested(200)).is_ok(), "past serde_json's own 128");
        assert!(parse_body(&nested(JSON_DEPTH_MAX)).is_ok());
        let too_deep = parse_body(&nested(JSON_DEPTH_MAX + 1)).unwrap_err();
        assert_eq!(too_deep.kind, tessera_model::ErrorKind::Serialization);
        // Brackets inside strings do not count, escaped quotes do not end a string.
        let mut s = br#"{"a":"\"[[[[[[[[[[[[[[[[[[[[["}"#.to_vec();
        assert!(depth_within(&s, 2));
        s.truncate(s.len() - 1);
        assert!(parse_body(&s).is_err(), "unterminated");
        assert!(parse_body(b"{} {}").is_err(), "trailing data");
        assert!(parse_body(b"[]").is_err(), "not an object");
    }
}
