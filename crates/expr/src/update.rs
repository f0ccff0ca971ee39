//! Applying an UpdateExpression to an item, with DynamoDB's semantics: every right-hand side
//! reads the item as it was before the update; list indexes in one expression refer to the
//! original list (REMOVE shifts only after all SETs); SET past the end of a list appends.

use std::cmp::Reverse;

use tessera_model::{AttributeValue, Error, Item, KeySchema, Result};

use crate::ast::{Path, PathElem, SetValue, Update};
use crate::eval::get_path;

pub const MSG_MISSING_OPERAND: &str = "The provided expression refers to an attribute that does not exist in the item";
pub const MSG_WRONG_TYPE: &str = "An operand in the update expression has an incorrect data type";
pub const MSG_INVALID_PATH: &str = "The document path provided in the update expression is invalid for update";

/// Rejects an update touching a key attribute (DynamoDB checks this before reading the item).
pub fn check_key_attributes(update: &Update, schema: &KeySchema) -> Result<()> {
    for path in update.target_paths() {
        let root = path.root();
        if schema.is_key_attribute(root) {
            return Err(Error::validation(format!(
                "One or more parameter values were invalid: Cannot update attribute {root}. This attribute is part of the key"
            )));
        }
    }
    Ok(())
}

/// What UpdateItem charges a statement against the 409,600-byte item limit, besides the
/// finished item (which must fit as well): 3 for the update, then per clause what it writes
/// plus a fixed cost. DynamoDB documents none of it; the figures are the service's, measured
/// byte by byte (the conformance suite's `itemSizeBySurface` tests):
/// - SET: 19 + its target + its value, where a value operand costs its size at every use, a
///   path operand 1 + (14 + element) per element (what it reads is free), `+` 34, `-` 37,
///   `if_not_exists` 39 and `list_append` 37, each plus both operands;
/// - ADD: 19 + its target + the value added; REMOVE and DELETE: 1 + the target.
///
/// A target costs its first name, plus 4 + the element for each later one; an element is a
/// name's bytes or a list index's digits. Key attributes and attributes the statement leaves
/// alone cost nothing.
pub fn statement_charge(update: &Update) -> usize {
    fn element(e: &PathElem) -> usize {
        match e {
            PathElem::Attr(name) => name.len(),
            PathElem::Index(i) => i.to_string().len(),
        }
    }
    fn target(p: &Path) -> usize {
        p.0.iter()
            .enumerate()
            .map(|(i, e)| if i == 0 { element(e) } else { 4 + element(e) })
            .sum()
    }
    fn operand_path(p: &Path) -> usize {
        1 + p.0.iter().map(|e| 14 + element(e)).sum::<usize>()
    }
    fn value(v: &SetValue) -> usize {
        match v {
            SetValue::Path(p) => operand_path(p),
            SetValue::Value(v) => v.size_bytes(),
            SetValue::IfNotExists(p, v) => 39 + operand_path(p) + value(v),
            SetValue::ListAppend(a, b) => 37 + value(a) + value(b),
            SetValue::Plus(a, b) => 34 + value(a) + value(b),
            SetValue::Minus(a, b) => 37 + value(a) + value(b),
        }
    }
    3 + update.set.iter().map(|(p, v)| 19 + target(p) + value(v)).sum::<usize>()
        + update
            .add
            .iter()
            .map(|(p, v)| 19 + target(p) + v.size_bytes())
            .sum::<usize>()
        + update.remove.iter().map(|p| 1 + target(p)).sum::<usize>()
        + update.delete.iter().map(|(p, _)| 1 + target(p)).sum::<usize>()
}

fn eval_set(value: &SetValue, old: &Item) -> Result<AttributeValue> {
    Ok(match value {
        SetValue::Path(p) => get_path(old, p)
            .cloned()
            .ok_or_else(|| Error::validation(MSG_MISSING_OPERAND))?,
        SetValue::Value(v) => v.clone(),
        SetValue::IfNotExists(p, fallback) => match get_path(old, p) {
            Some(v) => v.clone(),
            None => eval_set(fallback, old)?,
        },
        SetValue::ListAppend(a, b) => match (eval_set(a, old)?, eval_set(b, old)?) {
            (AttributeValue::L(mut x), AttributeValue::L(y)) => {
                x.extend(y);
                AttributeValue::L(x)
            }
            _ => return Err(Error::validation(MSG_WRONG_TYPE)),
        },
        SetValue::Plus(a, b) | SetValue::Minus(a, b) => match (eval_set(a, old)?, eval_set(b, old)?) {
            (AttributeValue::N(x), AttributeValue::N(y)) => AttributeValue::N(if matches!(value, SetValue::Plus(..)) {
                x.checked_add(&y)?
            } else {
                x.checked_sub(&y)?
            }),
            _ => return Err(Error::validation(MSG_WRONG_TYPE)),
        },
    })
}

/// The container holding the last element of `path`, which must exist and have the right type.
enum Parent<'a> {
    Map(&'a mut std::collections::BTreeMap<String, AttributeValue>),
    List(&'a mut Vec<AttributeValue>),
}

fn parent_mut<'a>(item: &'a mut Item, path: &Path) -> Option<Parent<'a>> {
    let (last, init) = path.0.split_last()?;
    if init.is_empty() {
        return matches!(last, PathElem::Attr(_)).then_some(Parent::Map(item));
    }
    let mut elems = init.iter();
    let mut current = match elems.next()? {
        PathElem::Attr(name) => item.get_mut(name)?,
        PathElem::Index(_) => return None,
    };
    for e in elems {
        current = match (e, current) {
            (PathElem::Attr(name), AttributeValue::M(m)) => m.get_mut(name)?,
            (PathElem::Index(i), AttributeValue::L(l)) => l.get_mut(*i)?,
            _ => return None,
        };
    }
    match (last, current) {
        (PathElem::Attr(_), AttributeValue::M(m)) => Some(Parent::Map(m)),
        (PathElem::Index(_), AttributeValue::L(l)) => Some(Parent::List(l)),
        _ => None,
    }
}

fn set_path(item: &mut Item, path: &Path, value: AttributeValue) -> Result<()> {
    let parent = parent_mut(item, path).ok_or_else(|| Error::validation(MSG_INVALID_PATH))?;
    match (parent, path.0.last()) {
        (Parent::Map(m), Some(PathElem::Attr(name))) => {
            m.insert(name.clone(), value);
        }
        (Parent::List(l), Some(PathElem::Index(i))) => match l.get_mut(*i) {
            Some(slot) => *slot = value,
            None => l.push(value),
        },
        _ => return Err(Error::validation(MSG_INVALID_PATH)),
    }
    Ok(())
}

fn remove_path(item: &mut Item, path: &Path) -> Result<()> {
    let parent = parent_mut(item, path).ok_or_else(|| Error::validation(MSG_INVALID_PATH))?;
    match (parent, path.0.last()) {
        (Parent::Map(m), Some(PathElem::Attr(name))) => {
            m.remove(name);
        }
        (Parent::List(l), Some(PathElem::Index(i))) => {
            if *i < l.len() {
                l.remove(*i);
            }
        }
        _ => return Err(Error::validation(MSG_INVALID_PATH)),
    }
    Ok(())
}

/// The union, in set order (see `tessera_model::value::in_set_order`).
fn union<T: Ord + Clone>(mut a: Vec<T>, b: &[T]) -> Vec<T> {
    for x in b {
        if !a.contains(x) {
            a.push(x.clone());
        }
    }
    tessera_model::value::in_set_order(a)
}

fn difference<T: PartialEq + Clone>(a: &[T], b: &[T]) -> Vec<T> {
    a.iter().filter(|x| !b.contains(x)).cloned().collect()
}

fn add_value(current: Option<&AttributeValue>, operand: &AttributeValue) -> Result<AttributeValue> {
    Ok(match (current, operand) {
        (None, v) => v.clone(),
        (Some(AttributeValue::N(x)), AttributeValue::N(y)) => AttributeValue::N(x.checked_add(y)?),
        (Some(AttributeValue::Ss(x)), AttributeValue::Ss(y)) => AttributeValue::Ss(union(x.clone(), y)),
        (Some(AttributeValue::Ns(x)), AttributeValue::Ns(y)) => AttributeValue::Ns(union(x.clone(), y)),
        (Some(AttributeValue::Bs(x)), AttributeValue::Bs(y)) => AttributeValue::Bs(union(x.clone(), y)),
        _ => return Err(Error::validation(MSG_WRONG_TYPE)),
    })
}

/// None when the set becomes empty (the attribute is then removed).
fn delete_value(current: &AttributeValue, operand: &AttributeValue) -> Result<Option<AttributeValue>> {
    let left = match (current, operand) {
        (AttributeValue::Ss(x), AttributeValue::Ss(y)) => AttributeValue::Ss(difference(x, y)),
        (AttributeValue::Ns(x), AttributeValue::Ns(y)) => AttributeValue::Ns(difference(x, y)),
        (AttributeValue::Bs(x), AttributeValue::Bs(y)) => AttributeValue::Bs(difference(x, y)),
        _ => return Err(Error::validation(MSG_WRONG_TYPE)),
    };
    let empty = match &left {
        AttributeValue::Ss(v) => v.is_empty(),
        AttributeValue::Ns(v) => v.is_empty(),
        AttributeValue::Bs(v) => v.is_empty(),
        _ => false,
    };
    Ok((!empty).then_some(left))
}

/// Orders list positions numerically so that several SETs past the end of one list append in
/// index order, and REMOVEs of one list run from the highest index down.
fn index_key(path: &Path) -> Vec<(u8, usize, &str)> {
    path.0
        .iter()
        .map(|e| match e {
            PathElem::Attr(a) => (0, 0, a.as_str()),
            PathElem::Index(i) => (1, *i, ""),
        })
        .collect()
}

/// Applies `update` to `old` (None when the item does not exist) and returns the new item.
/// Key attributes are the caller's to check ([`check_key_attributes`]) and to add.
pub fn apply_update(update: &Update, old: Option<&Item>) -> Result<Item> {
    static EMPTY: Item = Item::new();
    let before = old.unwrap_or(&EMPTY);
    // Every right-hand side reads the item as it was.
    let mut sets = update
        .set
        .iter()
        .map(|(path, value)| Ok((path, eval_set(value, before)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut adds = Vec::with_capacity(update.add.len());
    for (path, operand) in &update.add {
        adds.push((path, add_value(get_path(before, path), operand)?));
    }
    let mut deletes = Vec::with_capacity(update.delete.len());
    for (path, operand) in &update.delete {
        if let Some(current) = get_path(before, path) {
            deletes.push((path, delete_value(current, operand)?));
        } else if !parent_fits(before, path) {
            // Deleting from a missing attribute is a no-op, but only where the path could
            // name one: its parent must be a map (for `.x`) or a list (for `[i]`).
            return Err(Error::validation(MSG_INVALID_PATH));
        }
    }

    let mut item = before.clone();
    sets.sort_by(|a, b| index_key(a.0).cmp(&index_key(b.0)));
    for (path, value) in sets {
        set_path(&mut item, path, value)?;
    }
    for (path, value) in adds {
        set_path(&mut item, path, value)?;
    }
    for (path, value) in deletes {
        match value {
            Some(v) => set_path(&mut item, path, v)?,
            None => remove_path(&mut item, path)?,
        }
    }
    let mut removes: Vec<&Path> = update.remove.iter().collect();
    removes.sort_by_key(|p| Reverse(index_key(p)));
    for path in removes {
        // Removing inside an item that does not exist is a no-op, as in DynamoDB.
        if old.is_none() {
            continue;
        }
        remove_path(&mut item, path)?;
    }
    Ok(item)
}

/// Whether the container that would hold the last element of `path` exists and has the
/// right type (the item itself for a top-level attribute).
fn parent_fits(item: &Item, path: &Path) -> bool {
    let Some((last, init)) = path.0.split_last() else {
        return false;
    };
    if init.is_empty() {
        return matches!(last, PathElem::Attr(_));
    }
    matches!(
        (last, get_path(item, &Path(init.to_vec()))),
        (PathElem::Attr(_), Some(AttributeValue::M(_))) | (PathElem::Index(_), Some(AttributeValue::L(_)))
    )
}
