//! # tessera-expr
//!
//! DynamoDB's expression language: one tokenizer and parser for ConditionExpression,
//! FilterExpression, KeyConditionExpression, ProjectionExpression and UpdateExpression; a
//! checker that reports problems with DynamoDB's messages in DynamoDB's order; and evaluators
//! for conditions, updates and projections. No I/O.
//!
//! ## Layout
//! - `lexer`, `parser`: text to raw trees (syntax errors only); nesting bounded.
//! - `check`: [`Context`] (the request's placeholder maps) validates raw trees and resolves
//!   them into [`Condition`], [`Update`] and projection paths; `check_unused` afterwards.
//! - `key_condition`: KeyConditionExpression against a key schema.
//! - `eval`, `update`, `projection`: evaluation, deterministic so every replica agrees.
//!
//! ## Use
//! ```
//! use std::collections::BTreeMap;
//! use tessera_expr::{Context, ExprKind, evaluate};
//! use tessera_model::{AttributeValue, Item, Number};
//!
//! let names = BTreeMap::from([("#s".to_string(), "status".to_string())]);
//! let values = BTreeMap::from([(":v".to_string(), AttributeValue::S("open".into()))]);
//! let mut ctx = Context::new(&names, &values);
//! let cond = ctx.condition(ExprKind::Condition, "#s = :v AND attribute_exists(id)").unwrap();
//! ctx.check_unused().unwrap();
//! let item = Item::from([
//!     ("id".to_string(), AttributeValue::N(Number::from(1))),
//!     ("status".to_string(), AttributeValue::S("open".into())),
//! ]);
//! assert!(evaluate(&cond, Some(&item)));
//! ```

mod ast;
mod check;
mod eval;
mod key_condition;
mod lexer;
mod parser;
mod projection;
mod reserved;
mod update;

pub use ast::{CompareOp, Condition, Operand, Path, PathElem, SetValue, Update};
pub use check::{Context, ExprKind};
pub use eval::{compare_values, evaluate, get_path, size_of, values_equal};
pub use key_condition::{KeyCondition, KeyConditionParts, SortCondition};
pub use parser::NESTING_MAX;
pub use projection::project;
pub use reserved::is_reserved;
pub use update::{
    apply_update, check_key_attributes, statement_charge, MSG_INVALID_PATH, MSG_MISSING_OPERAND, MSG_WRONG_TYPE,
};
