//! ProjectionExpression: keeps only the named paths of an item. List elements picked by
//! index come back compacted, in index order; a path that names nothing is left out.

use std::collections::BTreeMap;

use tessera_model::{AttributeValue, Item};

use crate::ast::{Path, PathElem};

#[derive(Default)]
struct Node {
    /// The whole value at this position is wanted.
    whole: bool,
    members: BTreeMap<String, Node>,
    elements: BTreeMap<usize, Node>,
}

fn extract(value: &AttributeValue, node: &Node) -> Option<AttributeValue> {
    if node.whole {
        return Some(value.clone());
    }
    match value {
        AttributeValue::M(m) if !node.members.is_empty() => {
            let picked: BTreeMap<String, AttributeValue> = node
                .members
                .iter()
                .filter_map(|(k, child)| Some((k.clone(), extract(m.get(k)?, child)?)))
                .collect();
            (!picked.is_empty()).then_some(AttributeValue::M(picked))
        }
        AttributeValue::L(l) if !node.elements.is_empty() => {
            let picked: Vec<AttributeValue> = node
                .elements
                .iter()
                .filter_map(|(i, child)| extract(l.get(*i)?, child))
                .collect();
            (!picked.is_empty()).then_some(AttributeValue::L(picked))
        }
        _ => None,
    }
}

/// The item restricted to `paths` (already checked not to overlap).
pub fn project(item: &Item, paths: &[Path]) -> Item {
    let mut root = Node::default();
    for path in paths {
        let mut node = &mut root;
        for e in &path.0 {
            node = match e {
                PathElem::Attr(a) => node.members.entry(a.clone()).or_default(),
                PathElem::Index(i) => node.elements.entry(*i).or_default(),
            };
        }
        node.whole = true;
    }
    root.members
        .iter()
        .filter_map(|(k, child)| Some((k.clone(), extract(item.get(k)?, child)?)))
        .collect()
}
