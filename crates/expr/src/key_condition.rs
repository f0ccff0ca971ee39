//! KeyConditionExpression: a condition that must name the partition key with `=` and at most
//! one condition on the sort key (`= < <= > >=`, BETWEEN, begins_with).

use std::cmp::Ordering;

use tessera_model::{AttributeValue, Error, KeySchema, Result};

use crate::ast::{CompareOp, Node, RawElem};
use crate::check::{Context, ExprKind};
use crate::eval::compare_values;

/// A condition on the sort key.
#[derive(Clone, Debug, PartialEq)]
pub enum SortCondition {
    Compare(CompareOp, AttributeValue),
    Between(AttributeValue, AttributeValue),
    BeginsWith(AttributeValue),
}

impl SortCondition {
    pub fn matches(&self, value: &AttributeValue) -> bool {
        match self {
            SortCondition::Compare(op, v) => {
                let Some(ord) = compare_values(value, v) else {
                    return false;
                };
                match op {
                    CompareOp::Eq => ord == Ordering::Equal,
                    CompareOp::Ne => ord != Ordering::Equal,
                    CompareOp::Lt => ord == Ordering::Less,
                    CompareOp::Le => ord != Ordering::Greater,
                    CompareOp::Gt => ord == Ordering::Greater,
                    CompareOp::Ge => ord != Ordering::Less,
                }
            }
            SortCondition::Between(lo, hi) => {
                matches!(compare_values(value, lo), Some(Ordering::Greater | Ordering::Equal))
                    && matches!(compare_values(value, hi), Some(Ordering::Less | Ordering::Equal))
            }
            SortCondition::BeginsWith(p) => match (value, p) {
                (AttributeValue::S(v), AttributeValue::S(p)) => v.starts_with(p.as_str()),
                (AttributeValue::B(v), AttributeValue::B(p)) => v.starts_with(p),
                _ => false,
            },
        }
    }
}

/// A checked key condition: the partition key value and an optional sort-key condition.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyCondition {
    pub partition: AttributeValue,
    pub sort: Option<SortCondition>,
}

/// One leaf condition, reduced to (key attribute name, condition on it).
/// A key condition checked but not yet matched to a key schema (`Context::key_condition_parts`).
pub struct KeyConditionParts(Vec<Leaf>);

struct Leaf {
    name: String,
    condition: SortCondition,
}

fn strip(node: &Node) -> &Node {
    match node {
        Node::Parens(inner) => strip(inner),
        other => other,
    }
}

/// The conditions joined by AND, left to right. Anything else (OR and NOT included) is a
/// leaf, so that problems are reported in the order the conditions are written.
fn flatten_and<'n>(node: &'n Node, out: &mut Vec<&'n Node>) {
    // An explicit stack: long AND chains must not recurse once per link.
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        match strip(node) {
            Node::And(a, b) => {
                stack.push(b);
                stack.push(a);
            }
            leaf => out.push(leaf),
        }
    }
}

fn invalid_operator(op: &str) -> Error {
    Error::validation(format!("Invalid operator used in KeyConditionExpression: {op}"))
}

const MSG_NESTED_OPERATIONS: &str = "KeyConditionExpressions cannot contain nested operations";
const MSG_NESTED_ATTRIBUTES: &str = "KeyConditionExpressions cannot have conditions on nested attributes";

impl Context<'_> {
    fn resolve_path_for_key(&mut self, p: &[RawElem]) -> Result<String> {
        let path = self.resolve_raw(ExprKind::KeyCondition, p)?;
        Ok(path.root().to_string())
    }

    /// One condition of the AND chain, reduced to (key attribute, condition on it). Its
    /// operands are examined left to right, as DynamoDB does: the first second path, nested
    /// path or nested operation met is the one reported.
    fn leaf(&mut self, node: &Node) -> Result<Leaf> {
        let operands: Vec<&Node> = match node {
            Node::Or(..) => return Err(invalid_operator("OR")),
            Node::Not(_) => return Err(invalid_operator("NOT")),
            Node::In(..) => return Err(invalid_operator("IN")),
            Node::Compare(CompareOp::Ne, ..) => return Err(invalid_operator("<>")),
            Node::Compare(_, a, b) => vec![a, b],
            Node::Between(a, lo, hi) => vec![a, lo, hi],
            Node::Call(f, args) if f == "begins_with" => args.iter().collect(),
            Node::Call(f, _) if f == "size" => return Err(Error::validation(MSG_NESTED_OPERATIONS)),
            // The remaining condition functions (the checker rejected every other name).
            Node::Call(f, _) => return Err(invalid_operator(f)),
            _ => return Err(Error::validation(MSG_NESTED_OPERATIONS)),
        };
        let operator = match node {
            Node::Between(..) => Some("BETWEEN"),
            Node::Call(..) => Some("begins_with"),
            _ => None,
        };
        if let Some(operator) = operator {
            if !matches!(operands.first().map(|n| strip(n)), Some(Node::Path(_))) {
                return Err(Error::validation(format!(
                    "Invalid condition in KeyConditionExpression: {operator} operator must have the key attribute as its first operand"
                )));
            }
        }
        let mut key: Option<(String, usize)> = None;
        let mut values = Vec::with_capacity(2);
        for (i, operand) in operands.iter().enumerate() {
            match strip(operand) {
                Node::Path(p) => {
                    if key.is_some() {
                        return Err(Error::validation(
                            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
                        ));
                    }
                    if p.len() != 1 {
                        return Err(Error::validation(MSG_NESTED_ATTRIBUTES));
                    }
                    key = Some((self.resolve_path_for_key(p)?, i));
                }
                Node::Value(v) => values.push(self.resolve_value(ExprKind::KeyCondition, v)?),
                // size(): the checker admits no other function in operand position.
                _ => return Err(Error::validation(MSG_NESTED_OPERATIONS)),
            }
        }
        let Some((name, key_index)) = key else {
            return Err(Error::validation(
                "Invalid condition in KeyConditionExpression: No key attribute specified",
            ));
        };
        let mut values = values.into_iter();
        let mut value = || {
            values
                .next()
                .ok_or_else(|| Error::internal("key condition operand missing"))
        };
        let condition = match node {
            // `:v <= sk` means `sk >= :v`.
            Node::Compare(op, ..) if key_index == 0 => SortCondition::Compare(*op, value()?),
            Node::Compare(op, ..) => SortCondition::Compare(op.flipped(), value()?),
            Node::Between(..) => SortCondition::Between(value()?, value()?),
            _ => SortCondition::BeginsWith(value()?),
        };
        Ok(Leaf { name, condition })
    }

    /// A KeyConditionExpression through the checks that need no key schema (syntax,
    /// operators, operand types, placeholders, one condition per key), which DynamoDB makes
    /// before it looks the table up; `key_condition_for` finishes it against the schema.
    pub fn key_condition_parts(&mut self, text: &str) -> Result<KeyConditionParts> {
        self.key_condition_leaves(text).map(KeyConditionParts)
    }

    fn key_condition_leaves(&mut self, text: &str) -> Result<Vec<Leaf>> {
        let node = self.condition_tree(ExprKind::KeyCondition, text)?;
        let mut leaves = Vec::new();
        flatten_and(&node, &mut leaves);
        let mut resolved: Vec<Leaf> = Vec::with_capacity(leaves.len());
        for leaf in leaves {
            let leaf = self.leaf(leaf)?;
            if resolved.iter().any(|l| l.name == leaf.name) {
                return Err(Error::validation(
                    "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key",
                ));
            }
            resolved.push(leaf);
        }
        Ok(resolved)
    }

    /// Parses and checks a KeyConditionExpression against the key schema of the table or
    /// index being queried.
    pub fn key_condition(&mut self, text: &str, schema: &KeySchema) -> Result<KeyCondition> {
        let parts = self.key_condition_parts(text)?;
        Self::key_condition_for(parts, schema)
    }

    /// Checks a key condition's parts against the key schema of the table or index queried.
    pub fn key_condition_for(parts: KeyConditionParts, schema: &KeySchema) -> Result<KeyCondition> {
        let mut resolved = parts.0;
        let key_count = 1 + usize::from(schema.sort.is_some());
        if resolved.len() > key_count {
            return Err(Error::validation(format!(
                "The number of query conditions ({}) exceeds the number of key attributes defined in the schema ({key_count})",
                resolved.len()
            )));
        }
        let mismatch = || {
            Error::validation(
                "One or more parameter values were invalid: Condition parameter type does not match schema type",
            )
        };
        let pk = &schema.partition;
        let Some(pos) = resolved.iter().position(|l| l.name == pk.name) else {
            return Err(Error::validation(format!(
                "Query condition missed key schema element: {}",
                pk.name
            )));
        };
        let partition_leaf = resolved.remove(pos);
        let SortCondition::Compare(CompareOp::Eq, partition) = partition_leaf.condition else {
            return Err(Error::validation("Query key condition not supported"));
        };
        if !pk.scalar_type.matches(&partition) {
            return Err(mismatch());
        }
        let sort = match (resolved.pop(), &schema.sort) {
            (None, _) => None,
            (Some(leaf), Some(sk)) if leaf.name == sk.name => {
                let values: Vec<&AttributeValue> = match &leaf.condition {
                    SortCondition::Compare(_, v) | SortCondition::BeginsWith(v) => vec![v],
                    SortCondition::Between(lo, hi) => vec![lo, hi],
                };
                if values.iter().any(|v| !sk.scalar_type.matches(v)) {
                    return Err(mismatch());
                }
                Some(leaf.condition)
            }
            (Some(_), Some(sk)) => {
                return Err(Error::validation(format!(
                    "Query condition missed key schema element: {}",
                    sk.name
                )))
            }
            (Some(_), None) => return Err(Error::validation("Query key condition not supported")),
        };
        Ok(KeyCondition { partition, sort })
    }
}
