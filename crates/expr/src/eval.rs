//! Evaluation of conditions against an item. Deterministic and allocation-light: operands
//! borrow from the item wherever they can.

use std::borrow::Cow;
use std::cmp::Ordering;

use tessera_model::{AttributeValue, Item, Number, ValueType};

use crate::ast::{CompareOp, Condition, Operand, Path, PathElem};

/// The value at a document path, if the item has one there.
pub fn get_path<'a>(item: &'a Item, path: &Path) -> Option<&'a AttributeValue> {
    let mut elems = path.0.iter();
    let mut current = match elems.next()? {
        PathElem::Attr(name) => item.get(name)?,
        PathElem::Index(_) => return None,
    };
    for e in elems {
        current = match (e, current) {
            (PathElem::Attr(name), AttributeValue::M(m)) => m.get(name)?,
            (PathElem::Index(i), AttributeValue::L(l)) => l.get(*i)?,
            _ => return None,
        };
    }
    Some(current)
}

/// DynamoDB's ordering for S (bytes), N (value) and B (bytes); None for other or mixed types.
pub fn compare_values(a: &AttributeValue, b: &AttributeValue) -> Option<Ordering> {
    match (a, b) {
        (AttributeValue::S(x), AttributeValue::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (AttributeValue::N(x), AttributeValue::N(y)) => Some(x.cmp(y)),
        (AttributeValue::B(x), AttributeValue::B(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn same_members<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

/// Equality as DynamoDB defines it: sets are unordered, maps and lists compare deeply.
pub fn values_equal(a: &AttributeValue, b: &AttributeValue) -> bool {
    match (a, b) {
        (AttributeValue::Ss(x), AttributeValue::Ss(y)) => same_members(x, y),
        (AttributeValue::Ns(x), AttributeValue::Ns(y)) => same_members(x, y),
        (AttributeValue::Bs(x), AttributeValue::Bs(y)) => same_members(x, y),
        (AttributeValue::L(x), AttributeValue::L(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q))
        }
        (AttributeValue::M(x), AttributeValue::M(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

/// `size()`: string length in bytes, binary length, members of a set, list or map. None for
/// types without a size (the comparison using it is then false).
pub fn size_of(v: &AttributeValue) -> Option<usize> {
    Some(match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::B(b) => b.len(),
        AttributeValue::Ss(s) => s.len(),
        AttributeValue::Ns(s) => s.len(),
        AttributeValue::Bs(s) => s.len(),
        AttributeValue::L(l) => l.len(),
        AttributeValue::M(m) => m.len(),
        AttributeValue::N(_) | AttributeValue::Bool(_) | AttributeValue::Null => return None,
    })
}

fn operand<'a>(item: &'a Item, op: &'a Operand) -> Option<Cow<'a, AttributeValue>> {
    match op {
        Operand::Path(p) => get_path(item, p).map(Cow::Borrowed),
        Operand::Value(v) => Some(Cow::Borrowed(v)),
        Operand::Size(inner) => {
            let v = operand(item, inner)?;
            let n = size_of(&v)?;
            Some(Cow::Owned(AttributeValue::N(Number::from(n as i64))))
        }
    }
}

fn contains(haystack: &AttributeValue, needle: &AttributeValue) -> bool {
    match (haystack, needle) {
        (AttributeValue::S(h), AttributeValue::S(n)) => h.contains(n.as_str()),
        (AttributeValue::B(h), AttributeValue::B(n)) => n.is_empty() || h.windows(n.len()).any(|w| w == n.as_slice()),
        (AttributeValue::Ss(h), AttributeValue::S(n)) => h.contains(n),
        (AttributeValue::Ns(h), AttributeValue::N(n)) => h.contains(n),
        (AttributeValue::Bs(h), AttributeValue::B(n)) => h.contains(n),
        (AttributeValue::L(h), n) => h.iter().any(|e| values_equal(e, n)),
        _ => false,
    }
}

fn begins_with(value: &AttributeValue, prefix: &AttributeValue) -> bool {
    match (value, prefix) {
        (AttributeValue::S(v), AttributeValue::S(p)) => v.starts_with(p.as_str()),
        (AttributeValue::B(v), AttributeValue::B(p)) => v.starts_with(p),
        _ => false,
    }
}

fn compare(op: CompareOp, a: Option<&AttributeValue>, b: Option<&AttributeValue>) -> bool {
    match op {
        CompareOp::Eq => matches!((a, b), (Some(x), Some(y)) if values_equal(x, y)),
        // A missing operand is unequal to everything, even to another missing one.
        CompareOp::Ne => !matches!((a, b), (Some(x), Some(y)) if values_equal(x, y)),
        _ => {
            let Some(ord) = a.zip(b).and_then(|(x, y)| compare_values(x, y)) else {
                return false;
            };
            match op {
                CompareOp::Lt => ord == Ordering::Less,
                CompareOp::Le => ord != Ordering::Greater,
                CompareOp::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            }
        }
    }
}

/// Evaluates a condition; a missing item behaves as an item with no attributes.
pub fn evaluate(cond: &Condition, item: Option<&Item>) -> bool {
    static EMPTY: Item = Item::new();
    eval(cond, item.unwrap_or(&EMPTY))
}

fn eval(cond: &Condition, item: &Item) -> bool {
    match cond {
        Condition::Or(..) | Condition::And(..) => {
            // Iterate along the left spine (chains are left-deep and can be hundreds long;
            // recursion per link would not fit a 2 MiB worker stack in debug builds).
            let mut rights = Vec::new();
            let mut current = cond;
            while let Condition::Or(a, b) | Condition::And(a, b) = current {
                rights.push((matches!(current, Condition::Or(..)), &**b));
                current = a;
            }
            let mut value = eval(current, item);
            for (is_or, b) in rights.into_iter().rev() {
                // Short-circuit: evaluation has no side effects, so skipping is only faster.
                value = if is_or {
                    value || eval(b, item)
                } else {
                    value && eval(b, item)
                };
            }
            value
        }
        Condition::Not(a) => !eval(a, item),
        Condition::Compare(op, a, b) => {
            let (x, y) = (operand(item, a), operand(item, b));
            compare(*op, x.as_deref(), y.as_deref())
        }
        Condition::Between(a, low, high) => {
            let (x, lo, hi) = (operand(item, a), operand(item, low), operand(item, high));
            let (Some(x), Some(lo), Some(hi)) = (x, lo, hi) else {
                return false;
            };
            matches!(compare_values(&x, &lo), Some(Ordering::Greater | Ordering::Equal))
                && matches!(compare_values(&x, &hi), Some(Ordering::Less | Ordering::Equal))
        }
        Condition::In(a, list) => {
            let Some(x) = operand(item, a) else {
                return false;
            };
            list.iter()
                .any(|o| operand(item, o).is_some_and(|y| values_equal(&x, &y)))
        }
        Condition::AttributeExists(p) => get_path(item, p).is_some(),
        Condition::AttributeNotExists(p) => get_path(item, p).is_none(),
        Condition::AttributeType(a, t) => {
            let (Some(v), Some(t)) = (operand(item, a), operand(item, t)) else {
                return false;
            };
            match &*t {
                AttributeValue::S(name) => ValueType::from_descriptor(name) == Some(v.value_type()),
                _ => false,
            }
        }
        Condition::BeginsWith(a, b) => match (operand(item, a), operand(item, b)) {
            (Some(v), Some(p)) => begins_with(&v, &p),
            _ => false,
        },
        Condition::Contains(a, b) => match (operand(item, a), operand(item, b)) {
            (Some(h), Some(n)) => contains(&h, &n),
            _ => false,
        },
    }
}
