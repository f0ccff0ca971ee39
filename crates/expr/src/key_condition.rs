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

fn flatten_and<'n>(node: &'n Node, out: &mut Vec<&'n Node>) -> Result<()> {
    match strip(node) {
        Node::And(a, b) => {
            flatten_and(a, out)?;
            flatten_and(b, out)
        }
        Node::Or(..) => Err(Error::validation("Invalid operator used in KeyConditionExpression: OR")),
        Node::Not(_) => Err(Error::validation(
            "Invalid operator used in KeyConditionExpression: NOT",
        )),
        leaf => {
            out.push(leaf);
            Ok(())
        }
    }
}

const MSG_NESTED_OPERATIONS: &str = "KeyConditionExpressions cannot contain nested operations";
const MSG_NESTED_ATTRIBUTES: &str = "KeyConditionExpressions cannot have conditions on nested attributes";

impl Context<'_> {
    /// The name a key-condition operand refers to, or None for a `:value`.
    fn key_operand(&mut self, node: &Node) -> Result<Option<String>> {
        match strip(node) {
            Node::Path(p) => {
                if p.len() != 1 {
                    return Err(Error::validation(MSG_NESTED_ATTRIBUTES));
                }
                let path = self.resolve_path_for_key(p)?;
                Ok(Some(path))
            }
            Node::Value(_) => Ok(None),
            _ => Err(Error::validation(MSG_NESTED_OPERATIONS)),
        }
    }

    fn resolve_path_for_key(&mut self, p: &[RawElem]) -> Result<String> {
        let path = self.resolve_raw(ExprKind::KeyCondition, p)?;
        Ok(path.root().to_string())
    }

    fn key_value(&mut self, node: &Node) -> Result<AttributeValue> {
        match strip(node) {
            Node::Value(v) => self.resolve_value(ExprKind::KeyCondition, v),
            _ => Err(Error::validation(
                "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
            )),
        }
    }

    fn leaf(&mut self, node: &Node) -> Result<Leaf> {
        match node {
            Node::Compare(op, a, b) => {
                if *op == CompareOp::Ne {
                    return Err(Error::validation("Invalid operator used in KeyConditionExpression: <>"));
                }
                let (left, right) = (self.key_operand(a)?, self.key_operand(b)?);
                let (name, value, op) = match (left, right) {
                    (Some(_), Some(_)) => return Err(Error::validation(
                        "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
                    )),
                    (None, None) => {
                        return Err(Error::validation(
                            "Invalid condition in KeyConditionExpression: No key attribute specified",
                        ))
                    }
                    (Some(name), None) => (name, self.key_value(b)?, *op),
                    (None, Some(name)) => (name, self.key_value(a)?, op.flipped()),
                };
                Ok(Leaf {
                    name,
                    condition: SortCondition::Compare(op, value),
                })
            }
            Node::Between(a, lo, hi) => {
                let Some(name) = self.key_operand(a)? else {
                    let other = [lo, hi].into_iter().any(|n| matches!(strip(n), Node::Path(_)));
                    return Err(Error::validation(if other {
                        "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand"
                    } else {
                        "Invalid condition in KeyConditionExpression: No key attribute specified"
                    }));
                };
                let (lo, hi) = (self.key_value(lo)?, self.key_value(hi)?);
                Ok(Leaf {
                    name,
                    condition: SortCondition::Between(lo, hi),
                })
            }
            Node::In(..) => Err(Error::validation("Invalid operator used in KeyConditionExpression: IN")),
            Node::Call(f, args) if f == "begins_with" => {
                let Some(name) = self.key_operand(&args[0])? else {
                    return Err(Error::validation(
                        "Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand",
                    ));
                };
                let prefix = self.key_value(&args[1])?;
                Ok(Leaf {
                    name,
                    condition: SortCondition::BeginsWith(prefix),
                })
            }
            Node::Call(f, _) if f == "size" => Err(Error::validation(MSG_NESTED_OPERATIONS)),
            Node::Call(f, _) => Err(Error::validation(format!(
                "Invalid operator used in KeyConditionExpression: {f}"
            ))),
            _ => Err(Error::validation(MSG_NESTED_OPERATIONS)),
        }
    }

    /// Parses and checks a KeyConditionExpression against the key schema of the table or
    /// index being queried.
    pub fn key_condition(&mut self, text: &str, schema: &KeySchema) -> Result<KeyCondition> {
        let node = self.condition_tree(ExprKind::KeyCondition, text)?;
        let mut leaves = Vec::new();
        flatten_and(&node, &mut leaves)?;
        let key_count = 1 + usize::from(schema.sort.is_some());
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
