//! Validation and resolution of raw trees, in the order DynamoDB reports problems, and the
//! placeholder bookkeeping shared by all the expressions of one request.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use tessera_model::limits::{EXPRESSION_BYTES_MAX, IN_OPERANDS_MAX, NESTING_DEPTH_MAX, UPDATE_OPERATORS_MAX};
use tessera_model::{AttributeValue, Error, Result, ValueType};

use crate::ast::{CompareOp, Condition, Node, Operand, Path, PathElem, RawElem, RawPath, SetValue, Update};
use crate::eval::compare_values;
use crate::parser::{self, RawAction, RawSet, SyntaxError};
use crate::reserved::is_reserved;

/// Which request parameter an expression came from; it prefixes every message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExprKind {
    Condition,
    Filter,
    KeyCondition,
    Projection,
    Update,
}

impl ExprKind {
    pub fn param(self) -> &'static str {
        match self {
            ExprKind::Condition => "ConditionExpression",
            ExprKind::Filter => "FilterExpression",
            ExprKind::KeyCondition => "KeyConditionExpression",
            ExprKind::Projection => "ProjectionExpression",
            ExprKind::Update => "UpdateExpression",
        }
    }
}

const CONDITION_FUNCTIONS: [&str; 6] = [
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "begins_with",
    "contains",
    "size",
];
const UPDATE_FUNCTIONS: [&str; 2] = ["if_not_exists", "list_append"];
/// Functions that yield a boolean (conditions), as opposed to `size` (an operand).
const BOOLEAN_FUNCTIONS: [&str; 5] = [
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "begins_with",
    "contains",
];
const VALID_TYPES: &str = "{B,NULL,SS,BOOL,L,BS,N,NS,S,M}";

/// The ExpressionAttributeNames and ExpressionAttributeValues of one request, and which of
/// them the request's expressions used (every supplied placeholder must be used).
pub struct Context<'a> {
    names: &'a BTreeMap<String, String>,
    values: &'a BTreeMap<String, AttributeValue>,
    used_names: BTreeSet<String>,
    used_values: BTreeSet<String>,
    /// Whether update and projection texts are held to DynamoDB's size limits (see `trusted`).
    limits: bool,
}

/// Builds `Invalid <Param>: <message>`.
fn invalid(kind: ExprKind, message: impl std::fmt::Display) -> Error {
    Error::validation(format!("Invalid {}: {message}", kind.param()))
}

fn syntax(kind: ExprKind, e: SyntaxError) -> Error {
    invalid(
        kind,
        format!("Syntax error; token: \"{}\", near: \"{}\"", e.token, e.near),
    )
}

fn operand_type_error(kind: ExprKind, op: &str, t: ValueType) -> Error {
    invalid(
        kind,
        format!(
            "Incorrect operand type for operator or function; operator or function: {op}, operand type: {}",
            t.descriptor()
        ),
    )
}

fn operand_count_error(kind: ExprKind, f: &str, n: usize) -> Error {
    invalid(
        kind,
        format!(
            "Incorrect number of operands for operator or function; operator or function: {f}, number of operands: {n}"
        ),
    )
}

fn not_allowed(kind: ExprKind, f: &str) -> Error {
    invalid(
        kind,
        format!("The function is not allowed to be used this way in an expression; function: {f}"),
    )
}

fn requires_path(kind: ExprKind, f: &str) -> Error {
    invalid(
        kind,
        format!("Operator or function requires a document path; operator or function: {f}"),
    )
}

/// `AttributeValue: {N:10}` as BETWEEN messages show a bound.
fn show_bound(v: &AttributeValue) -> String {
    // Bounds reaching this are S, N or B (the type checks run first).
    let raw = match v {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => n.to_string(),
        AttributeValue::B(b) => String::from_utf8_lossy(b).into_owned(),
        other => format!("{other:?}"),
    };
    format!("AttributeValue: {{{}:{raw}}}", v.value_type().descriptor())
}

fn strip_parens(node: &Node) -> &Node {
    match node {
        Node::Parens(inner) => strip_parens(inner),
        other => other,
    }
}

/// Every node of a tree, parents before children, left to right.
fn walk<'n>(node: &'n Node, out: &mut Vec<&'n Node>) {
    // An explicit stack, not recursion: AND/OR chains of a 4 KB expression are hundreds of
    // levels deep, and this must run on small (2 MiB) async worker stacks.
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        out.push(node);
        // Children pushed last-first so they pop (and are listed) left to right.
        match node {
            Node::Or(a, b) | Node::And(a, b) | Node::Compare(_, a, b) => {
                stack.push(b);
                stack.push(a);
            }
            Node::Not(a) | Node::Parens(a) => stack.push(a),
            Node::Between(a, b, c) => {
                stack.push(c);
                stack.push(b);
                stack.push(a);
            }
            Node::In(a, list) => {
                stack.extend(list.iter().rev());
                stack.push(a);
            }
            Node::Call(_, args) => stack.extend(args.iter().rev()),
            Node::Path(_) | Node::Value(_) => {}
        }
    }
}

/// Splits a chain of ANDs and ORs along its left spine (the parser builds chains left-deep):
/// the leftmost operand, then each (node, right operand) from the innermost outwards. Lets
/// the recursive passes iterate over long chains instead of recursing once per link.
fn left_spine(node: &Node) -> (&Node, Vec<(&Node, &Node)>) {
    let mut links = Vec::new();
    let mut current = node;
    while let Node::Or(a, b) | Node::And(a, b) = current {
        links.push((current, &**b));
        current = a;
    }
    links.reverse();
    (current, links)
}

fn check_reserved(kind: ExprKind, path: &RawPath) -> Result<()> {
    for elem in path {
        if let RawElem::Name(name) = elem {
            if is_reserved(name) {
                return Err(invalid(
                    kind,
                    format!("Attribute name is a reserved keyword; reserved keyword: {name}"),
                ));
            }
        }
    }
    Ok(())
}

fn check_size(kind: ExprKind, text: &str) -> Result<()> {
    if text.is_empty() {
        return Err(invalid(kind, "The expression can not be empty;"));
    }
    if text.len() > EXPRESSION_BYTES_MAX {
        return Err(invalid(
            kind,
            format!(
                "Expression size has exceeded the maximum allowed size; expression size: {}",
                text.len()
            ),
        ));
    }
    Ok(())
}

/// Paths overlap when one is a prefix of the other; they conflict when, after a common
/// prefix, one indexes a list where the other names a map member.
fn check_overlaps(kind: ExprKind, paths: &[Path]) -> Result<()> {
    for (j, two) in paths.iter().enumerate() {
        for one in &paths[..j] {
            if one.0.iter().zip(&two.0).all(|(a, b)| a == b) {
                return Err(invalid(
                    kind,
                    format!("Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {one}, path two: {two}"),
                ));
            }
        }
    }
    for (j, two) in paths.iter().enumerate() {
        for one in &paths[..j] {
            let differing = one.0.iter().zip(&two.0).find(|(a, b)| a != b);
            if let Some((a, b)) = differing {
                if matches!(a, PathElem::Index(_)) != matches!(b, PathElem::Index(_)) {
                    return Err(invalid(
                        kind,
                        format!("Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {one}, path two: {two}"),
                    ));
                }
            }
        }
    }
    Ok(())
}

impl<'a> Context<'a> {
    pub fn new(names: &'a BTreeMap<String, String>, values: &'a BTreeMap<String, AttributeValue>) -> Self {
        Context {
            names,
            values,
            used_names: BTreeSet::new(),
            used_values: BTreeSet::new(),
            limits: true,
        }
    }

    /// A context that does not hold UpdateExpressions and ProjectionExpressions to the
    /// expression size limits: for texts checked where they arrived (a shard re-reading what
    /// the API checked), or written by Tessera from legacy parameters, which DynamoDB does not
    /// limit that way. Both parse into flat lists. Conditions stay limited: their size bounds
    /// the depth of the trees that evaluation walks.
    pub fn trusted(mut self) -> Self {
        self.limits = false;
        self
    }

    /// After every expression of the request parsed: each supplied placeholder must be used.
    pub fn check_unused(&self) -> Result<()> {
        let unused: Vec<&str> = self
            .names
            .keys()
            .filter(|k| !self.used_names.contains(*k))
            .map(String::as_str)
            .collect();
        if !unused.is_empty() {
            return Err(Error::validation(format!(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
                unused.join(", ")
            )));
        }
        let unused: Vec<&str> = self
            .values
            .keys()
            .filter(|k| !self.used_values.contains(*k))
            .map(String::as_str)
            .collect();
        if !unused.is_empty() {
            return Err(Error::validation(format!(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}",
                unused.join(", ")
            )));
        }
        Ok(())
    }

    fn undefined_name<'p>(&self, path: &'p [RawElem]) -> Option<&'p str> {
        path.iter().find_map(|e| match e {
            RawElem::NameRef(n) if !self.names.contains_key(n) => Some(n.as_str()),
            _ => None,
        })
    }

    /// The first undefined `#name` or `:value` in a subtree, as an error.
    fn check_defined(&self, kind: ExprKind, node: &Node) -> Result<()> {
        let mut nodes = Vec::new();
        walk(node, &mut nodes);
        for n in nodes {
            match n {
                Node::Path(p) => {
                    if let Some(name) = self.undefined_name(p) {
                        return Err(invalid(kind, format!("An expression attribute name used in the document path is not defined; attribute name: {name}")));
                    }
                }
                Node::Value(v) if !self.values.contains_key(v) => {
                    return Err(invalid(
                        kind,
                        format!(
                            "An expression attribute value used in expression is not defined; attribute value: {v}"
                        ),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn resolve_path(&mut self, kind: ExprKind, raw: &[RawElem]) -> Result<Path> {
        let mut out = Vec::with_capacity(raw.len());
        for e in raw {
            out.push(match e {
                RawElem::Name(n) => PathElem::Attr(n.clone()),
                RawElem::NameRef(n) => {
                    let name = self.names.get(n).ok_or_else(|| {
                        invalid(kind, format!("An expression attribute name used in the document path is not defined; attribute name: {n}"))
                    })?;
                    self.used_names.insert(n.clone());
                    PathElem::Attr(name.clone())
                }
                RawElem::Index(i) => PathElem::Index(*i),
            });
        }
        if out.len() > NESTING_DEPTH_MAX {
            return Err(invalid(
                kind,
                format!(
                    "The document path has too many nesting levels; nesting levels: {}",
                    out.len()
                ),
            ));
        }
        Ok(Path(out))
    }

    pub(crate) fn resolve_raw(&mut self, kind: ExprKind, raw: &[RawElem]) -> Result<Path> {
        self.resolve_path(kind, raw)
    }

    pub(crate) fn resolve_value(&mut self, kind: ExprKind, name: &str) -> Result<AttributeValue> {
        self.value(kind, name)
    }

    fn value(&mut self, kind: ExprKind, name: &str) -> Result<AttributeValue> {
        let v = self.values.get(name).ok_or_else(|| {
            invalid(
                kind,
                format!("An expression attribute value used in expression is not defined; attribute value: {name}"),
            )
        })?;
        self.used_values.insert(name.to_string());
        Ok(v.clone())
    }

    /// The constant an operand stands for, if it is a `:value` (without marking it used).
    fn constant(&self, node: &Node) -> Option<&AttributeValue> {
        match strip_parens(node) {
            Node::Value(v) => self.values.get(v),
            _ => None,
        }
    }

    /// The type an operand is known to have before evaluation: a constant's, or N for size().
    fn static_type(&self, node: &Node) -> Option<ValueType> {
        match strip_parens(node) {
            Node::Call(f, _) if f == "size" => Some(ValueType::N),
            other => self.constant(other).map(AttributeValue::value_type),
        }
    }

    fn static_path(&self, node: &Node) -> Option<Path> {
        match strip_parens(node) {
            Node::Path(raw) => {
                let elems = raw
                    .iter()
                    .map(|e| match e {
                        RawElem::Name(n) => Some(PathElem::Attr(n.clone())),
                        RawElem::NameRef(n) => self.names.get(n).map(|s| PathElem::Attr(s.clone())),
                        RawElem::Index(i) => Some(PathElem::Index(*i)),
                    })
                    .collect::<Option<Vec<_>>>()?;
                Some(Path(elems))
            }
            _ => None,
        }
    }

    // ---------------- conditions ----------------

    /// Parses and checks a ConditionExpression, FilterExpression or (before its key checks)
    /// KeyConditionExpression, and resolves it.
    pub fn condition(&mut self, kind: ExprKind, text: &str) -> Result<Condition> {
        let node = self.condition_tree(kind, text)?;
        self.resolve_condition(kind, &node)
    }

    pub(crate) fn condition_tree(&mut self, kind: ExprKind, text: &str) -> Result<Node> {
        check_size(kind, text)?;
        let node = parser::parse_condition(text).map_err(|e| syntax(kind, e))?;
        let mut nodes = Vec::new();
        walk(&node, &mut nodes);
        for n in &nodes {
            if let Node::Parens(inner) = n {
                if matches!(**inner, Node::Parens(_)) {
                    return Err(invalid(kind, "The expression has redundant parentheses;"));
                }
            }
        }
        for n in &nodes {
            if let Node::Call(f, _) = n {
                if !CONDITION_FUNCTIONS.contains(&f.as_str()) && !UPDATE_FUNCTIONS.contains(&f.as_str()) {
                    return Err(invalid(kind, format!("Invalid function name; function: {f}")));
                }
            }
        }
        self.check_function_use(kind, &node, true)?;
        for n in &nodes {
            if let Node::Path(p) = n {
                check_reserved(kind, p)?;
            }
        }
        self.check_conditions(kind, &node)?;
        Ok(node)
    }

    /// Boolean functions only where a condition stands; size() and update functions never
    /// there; update functions nowhere in a condition.
    fn check_function_use(&self, kind: ExprKind, node: &Node, condition_position: bool) -> Result<()> {
        match node {
            Node::Or(..) | Node::And(..) => {
                let (first, links) = left_spine(node);
                self.check_function_use(kind, first, true)?;
                links
                    .iter()
                    .try_for_each(|(_, b)| self.check_function_use(kind, b, true))
            }
            Node::Not(a) => self.check_function_use(kind, a, true),
            Node::Parens(a) => self.check_function_use(kind, a, condition_position),
            Node::Compare(_, a, b) => {
                self.check_function_use(kind, a, false)?;
                self.check_function_use(kind, b, false)
            }
            Node::Between(a, b, c) => {
                for n in [a, b, c] {
                    self.check_function_use(kind, n, false)?;
                }
                Ok(())
            }
            Node::In(a, list) => {
                self.check_function_use(kind, a, false)?;
                list.iter().try_for_each(|n| self.check_function_use(kind, n, false))
            }
            Node::Call(f, args) => {
                let boolean = BOOLEAN_FUNCTIONS.contains(&f.as_str());
                if UPDATE_FUNCTIONS.contains(&f.as_str()) || boolean != condition_position {
                    return Err(not_allowed(kind, f));
                }
                args.iter().try_for_each(|n| self.check_function_use(kind, n, false))
            }
            Node::Path(_) | Node::Value(_) => Ok(()),
        }
    }

    /// Per leaf condition, in order: undefined placeholders, operand counts, distinct
    /// operands, then operand types.
    fn check_conditions(&self, kind: ExprKind, node: &Node) -> Result<()> {
        match node {
            Node::Or(..) | Node::And(..) => {
                let (first, links) = left_spine(node);
                self.check_conditions(kind, first)?;
                links.iter().try_for_each(|(_, b)| self.check_conditions(kind, b))
            }
            Node::Not(a) | Node::Parens(a) => self.check_conditions(kind, a),
            leaf => {
                self.check_defined(kind, leaf)?;
                self.check_operand_counts(kind, leaf)?;
                self.check_distinct(kind, leaf)?;
                self.check_types(kind, leaf)
            }
        }
    }

    fn check_operand_counts(&self, kind: ExprKind, node: &Node) -> Result<()> {
        let mut nodes = Vec::new();
        walk(node, &mut nodes);
        for n in nodes {
            if let Node::Call(f, args) = n {
                let expected = match f.as_str() {
                    "attribute_exists" | "attribute_not_exists" | "size" => 1,
                    _ => 2,
                };
                if args.len() != expected {
                    return Err(operand_count_error(kind, f, args.len()));
                }
            }
        }
        if let Node::In(_, list) = node {
            if list.len() > IN_OPERANDS_MAX {
                return Err(invalid(
                    kind,
                    format!(
                        "The IN operator is provided with too many operands; number of operands: {}",
                        list.len()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_distinct(&self, kind: ExprKind, node: &Node) -> Result<()> {
        let (op, first, rest): (&str, &Node, Vec<&Node>) = match node {
            Node::Compare(op, a, b) => (op.symbol(), a, vec![b]),
            Node::Between(a, b, c) => ("BETWEEN", a, vec![b, c]),
            Node::In(a, list) => ("IN", a, list.iter().collect()),
            Node::Call(f, args)
                if matches!(f.as_str(), "contains" | "begins_with" | "attribute_type") && !args.is_empty() =>
            {
                (f.as_str(), &args[0], args[1..].iter().collect())
            }
            _ => return Ok(()),
        };
        if let Some(first_path) = self.static_path(first) {
            if rest.iter().any(|n| self.static_path(n).as_ref() == Some(&first_path)) {
                return Err(invalid(
                    kind,
                    format!("The first operand must be distinct from the remaining operands for this operator or function; operator: {op}, first operand: {first_path}"),
                ));
            }
        }
        Ok(())
    }

    fn check_types(&self, kind: ExprKind, node: &Node) -> Result<()> {
        // size() anywhere inside: its argument may not be a scalar constant.
        let mut nodes = Vec::new();
        walk(node, &mut nodes);
        for n in &nodes {
            if let Node::Call(f, args) = n {
                if f == "size" {
                    if let Some(t) = args.first().and_then(|a| self.static_type(a)) {
                        if matches!(t, ValueType::N | ValueType::Bool | ValueType::Null) {
                            return Err(operand_type_error(kind, "size", t));
                        }
                    }
                }
            }
        }
        let orderable = |t: ValueType| matches!(t, ValueType::S | ValueType::N | ValueType::B);
        match node {
            Node::Compare(op, a, b) if !matches!(op, CompareOp::Eq | CompareOp::Ne) => {
                for n in [a, b] {
                    if let Some(t) = self.static_type(n).filter(|t| !orderable(*t)) {
                        return Err(operand_type_error(kind, op.symbol(), t));
                    }
                }
            }
            Node::Between(a, low, high) => {
                for n in [a, low, high] {
                    if let Some(t) = self.static_type(n).filter(|t| !orderable(*t)) {
                        return Err(operand_type_error(kind, "BETWEEN", t));
                    }
                }
                if let (Some(lo), Some(hi)) = (self.constant(low), self.constant(high)) {
                    if lo.value_type() != hi.value_type() {
                        return Err(invalid(
                            kind,
                            format!("The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: {}, upper bound operand: {}", show_bound(lo), show_bound(hi)),
                        ));
                    }
                    if compare_values(lo, hi) == Some(Ordering::Greater) {
                        return Err(invalid(
                            kind,
                            format!("The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: {}, upper bound operand: {}", show_bound(lo), show_bound(hi)),
                        ));
                    }
                }
            }
            Node::Call(f, args) => match f.as_str() {
                "attribute_exists" | "attribute_not_exists" if !matches!(strip_parens(&args[0]), Node::Path(_)) => {
                    return Err(requires_path(kind, f));
                }
                "attribute_type" => {
                    if !matches!(strip_parens(&args[0]), Node::Path(_)) {
                        return Err(requires_path(kind, f));
                    }
                    match self.constant(&args[1]) {
                        Some(AttributeValue::S(t)) => {
                            if ValueType::from_descriptor(t).is_none() {
                                return Err(invalid(kind, format!("Invalid attribute type name found; type: {t}, valid types: {VALID_TYPES}")));
                            }
                        }
                        Some(other) => return Err(operand_type_error(kind, f, other.value_type())),
                        None => {
                            return Err(invalid(
                                kind,
                                "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {NS,SS,L,BS,N,M,B,BOOL,NULL,S}",
                            ))
                        }
                    }
                }
                "begins_with" => {
                    for a in args {
                        if let Some(t) = self
                            .static_type(a)
                            .filter(|t| !matches!(t, ValueType::S | ValueType::B))
                        {
                            return Err(operand_type_error(kind, f, t));
                        }
                    }
                }
                _ => {}
            },
            _ => {}
        }
        Ok(())
    }

    fn resolve_operand(&mut self, kind: ExprKind, node: &Node) -> Result<Operand> {
        Ok(match strip_parens(node) {
            Node::Path(p) => Operand::Path(self.resolve_path(kind, p)?),
            Node::Value(v) => Operand::Value(self.value(kind, v)?),
            Node::Call(f, args) if f == "size" && args.len() == 1 => {
                Operand::Size(Box::new(self.resolve_operand(kind, &args[0])?))
            }
            // The checks above admit nothing else in operand position.
            _ => return Err(Error::internal("unexpected operand in a checked condition")),
        })
    }

    fn resolve_condition(&mut self, kind: ExprKind, node: &Node) -> Result<Condition> {
        Ok(match node {
            Node::Or(..) | Node::And(..) => {
                let (first, links) = left_spine(node);
                let mut resolved = self.resolve_condition(kind, first)?;
                for (link, b) in links {
                    let right = Box::new(self.resolve_condition(kind, b)?);
                    resolved = if matches!(link, Node::Or(..)) {
                        Condition::Or(Box::new(resolved), right)
                    } else {
                        Condition::And(Box::new(resolved), right)
                    };
                }
                resolved
            }
            Node::Not(a) => Condition::Not(Box::new(self.resolve_condition(kind, a)?)),
            Node::Parens(a) => self.resolve_condition(kind, a)?,
            Node::Compare(op, a, b) => {
                Condition::Compare(*op, self.resolve_operand(kind, a)?, self.resolve_operand(kind, b)?)
            }
            Node::Between(a, b, c) => Condition::Between(
                self.resolve_operand(kind, a)?,
                self.resolve_operand(kind, b)?,
                self.resolve_operand(kind, c)?,
            ),
            Node::In(a, list) => Condition::In(
                self.resolve_operand(kind, a)?,
                list.iter()
                    .map(|n| self.resolve_operand(kind, n))
                    .collect::<Result<_>>()?,
            ),
            Node::Call(f, args) => {
                let path_arg = |ctx: &mut Self| match strip_parens(&args[0]) {
                    Node::Path(p) => ctx.resolve_path(kind, p),
                    _ => Err(requires_path(kind, f)),
                };
                match f.as_str() {
                    "attribute_exists" => Condition::AttributeExists(path_arg(self)?),
                    "attribute_not_exists" => Condition::AttributeNotExists(path_arg(self)?),
                    "attribute_type" => Condition::AttributeType(
                        self.resolve_operand(kind, &args[0])?,
                        self.resolve_operand(kind, &args[1])?,
                    ),
                    "begins_with" => Condition::BeginsWith(
                        self.resolve_operand(kind, &args[0])?,
                        self.resolve_operand(kind, &args[1])?,
                    ),
                    "contains" => Condition::Contains(
                        self.resolve_operand(kind, &args[0])?,
                        self.resolve_operand(kind, &args[1])?,
                    ),
                    _ => return Err(not_allowed(kind, f)),
                }
            }
            Node::Path(_) | Node::Value(_) => return Err(Error::internal("unexpected operand in condition position")),
        })
    }

    // ---------------- projections ----------------

    /// Parses and checks a ProjectionExpression: reserved words, undefined names, then
    /// overlapping and conflicting paths.
    pub fn projection(&mut self, text: &str) -> Result<Vec<Path>> {
        let kind = ExprKind::Projection;
        if self.limits {
            check_size(kind, text)?;
        }
        let raw = parser::parse_projection(text).map_err(|e| syntax(kind, e))?;
        for p in &raw {
            check_reserved(kind, p)?;
        }
        let paths = raw
            .iter()
            .map(|p| self.resolve_path(kind, p))
            .collect::<Result<Vec<_>>>()?;
        check_overlaps(kind, &paths)?;
        Ok(paths)
    }

    // ---------------- updates ----------------

    /// Parses and checks an UpdateExpression in DynamoDB's order: reserved words, function
    /// names, duplicate sections, undefined names, undefined values, overlapping paths,
    /// conflicting paths, ADD/DELETE operand types, then function operands.
    pub fn update(&mut self, text: &str) -> Result<Update> {
        let kind = ExprKind::Update;
        if self.limits {
            check_size(kind, text)?;
        }
        let raw = parser::parse_update(text).map_err(|e| syntax(kind, e))?;

        // Every path (targets and operands) and every operand node, in the order written:
        // DynamoDB reports the first reserved word or undefined name as it reads the text.
        let mut all_paths: Vec<&RawPath> = Vec::new();
        let mut nodes: Vec<&Node> = Vec::new();
        for action in &raw.actions {
            let mut action_nodes = Vec::new();
            match action {
                RawAction::Set(p, value) => {
                    all_paths.push(p);
                    match value {
                        RawSet::Operand(a) => walk(a, &mut action_nodes),
                        RawSet::Plus(a, b) | RawSet::Minus(a, b) => {
                            walk(a, &mut action_nodes);
                            walk(b, &mut action_nodes);
                        }
                    }
                }
                RawAction::Remove(p) | RawAction::Add(p, _) | RawAction::Delete(p, _) => all_paths.push(p),
            }
            all_paths.extend(action_nodes.iter().filter_map(|n| match n {
                Node::Path(p) => Some(p),
                _ => None,
            }));
            nodes.extend(action_nodes);
        }
        for p in &all_paths {
            check_reserved(kind, p)?;
        }
        for n in &nodes {
            if let Node::Call(f, _) = n {
                if !UPDATE_FUNCTIONS.contains(&f.as_str()) {
                    return Err(invalid(kind, format!("Invalid function name; function: {f}")));
                }
            }
        }
        if let Some(section) = raw.duplicate_section {
            return Err(invalid(
                kind,
                format!(
                    "The \"{}\" section can only be used once in an update expression;",
                    section.name()
                ),
            ));
        }
        for p in &all_paths {
            if let Some(name) = self.undefined_name(p) {
                return Err(invalid(
                    kind,
                    format!(
                        "An expression attribute name used in the document path is not defined; attribute name: {name}"
                    ),
                ));
            }
        }
        let mut value_refs: Vec<&str> = Vec::new();
        for action in &raw.actions {
            match action {
                RawAction::Set(_, value) => {
                    let mut ns = Vec::new();
                    match value {
                        RawSet::Operand(a) => walk(a, &mut ns),
                        RawSet::Plus(a, b) | RawSet::Minus(a, b) => {
                            walk(a, &mut ns);
                            walk(b, &mut ns);
                        }
                    }
                    value_refs.extend(ns.iter().filter_map(|n| match n {
                        Node::Value(v) => Some(v.as_str()),
                        _ => None,
                    }));
                }
                RawAction::Add(_, v) | RawAction::Delete(_, v) => value_refs.push(v),
                RawAction::Remove(_) => {}
            }
        }
        if let Some(v) = value_refs.iter().find(|v| !self.values.contains_key(**v)) {
            return Err(invalid(
                kind,
                format!("An expression attribute value used in expression is not defined; attribute value: {v}"),
            ));
        }

        let mut targets = Vec::with_capacity(raw.actions.len());
        for action in &raw.actions {
            let p = match action {
                RawAction::Set(p, _) | RawAction::Remove(p) | RawAction::Add(p, _) | RawAction::Delete(p, _) => p,
            };
            targets.push(self.resolve_path(kind, p)?);
        }
        check_overlaps(kind, &targets)?;

        let long_name = |t: ValueType| match t {
            ValueType::S => "STRING",
            ValueType::N => "NUMBER",
            ValueType::B => "BINARY",
            ValueType::Bool => "BOOLEAN",
            ValueType::Null => "NULL",
            ValueType::L => "LIST",
            ValueType::M => "MAP",
            ValueType::Ss => "STRING_SET",
            ValueType::Ns => "NUMBER_SET",
            ValueType::Bs => "BINARY_SET",
        };
        for action in &raw.actions {
            let (op, v, allowed): (&str, &str, &[ValueType]) = match action {
                RawAction::Add(_, v) => ("ADD", v, &[ValueType::N, ValueType::Ss, ValueType::Ns, ValueType::Bs]),
                RawAction::Delete(_, v) => ("DELETE", v, &[ValueType::Ss, ValueType::Ns, ValueType::Bs]),
                _ => continue,
            };
            if let Some(t) = self.values.get(v).map(AttributeValue::value_type) {
                if !allowed.contains(&t) {
                    return Err(invalid(
                        kind,
                        format!(
                            "Incorrect operand type for operator or function; operator: {op}, operand type: {}",
                            long_name(t)
                        ),
                    ));
                }
            }
        }

        let mut operators = 0usize;
        let mut update = Update::default();
        for (action, target) in raw.actions.iter().zip(targets) {
            operators += 1;
            match action {
                RawAction::Set(_, value) => {
                    let v = self.resolve_set(kind, value, &mut operators)?;
                    update.set.push((target, v));
                }
                RawAction::Remove(_) => update.remove.push(target),
                RawAction::Add(_, v) => {
                    let value = self.value(kind, v)?;
                    update.add.push((target, value));
                }
                RawAction::Delete(_, v) => {
                    let value = self.value(kind, v)?;
                    update.delete.push((target, value));
                }
            }
        }
        if self.limits && operators > UPDATE_OPERATORS_MAX {
            return Err(invalid(kind, "Expression size has exceeded the maximum allowed size;"));
        }
        Ok(update)
    }

    fn resolve_set(&mut self, kind: ExprKind, value: &RawSet, operators: &mut usize) -> Result<SetValue> {
        match value {
            RawSet::Operand(a) => self.resolve_set_operand(kind, a, false, operators),
            RawSet::Plus(a, b) | RawSet::Minus(a, b) => {
                let symbol = if matches!(value, RawSet::Plus(..)) { "+" } else { "-" };
                for n in [a, b] {
                    if let Some(t) = self
                        .constant(n)
                        .map(AttributeValue::value_type)
                        .filter(|t| *t != ValueType::N)
                    {
                        return Err(operand_type_error(kind, symbol, t));
                    }
                }
                *operators += 1;
                let left = Box::new(self.resolve_set_operand(kind, a, false, operators)?);
                let right = Box::new(self.resolve_set_operand(kind, b, false, operators)?);
                Ok(if symbol == "+" {
                    SetValue::Plus(left, right)
                } else {
                    SetValue::Minus(left, right)
                })
            }
        }
    }

    fn resolve_set_operand(
        &mut self,
        kind: ExprKind,
        node: &Node,
        inside_list_append: bool,
        operators: &mut usize,
    ) -> Result<SetValue> {
        Ok(match node {
            Node::Path(p) => SetValue::Path(self.resolve_path(kind, p)?),
            Node::Value(v) => SetValue::Value(self.value(kind, v)?),
            Node::Call(f, args) => {
                *operators += 1;
                match f.as_str() {
                    "if_not_exists" => {
                        if args.len() != 2 {
                            return Err(operand_count_error(kind, f, args.len()));
                        }
                        let Node::Path(p) = &args[0] else {
                            return Err(requires_path(kind, f));
                        };
                        let path = self.resolve_path(kind, p)?;
                        let fallback = self.resolve_set_operand(kind, &args[1], false, operators)?;
                        SetValue::IfNotExists(path, Box::new(fallback))
                    }
                    "list_append" => {
                        if inside_list_append {
                            return Err(not_allowed(kind, f));
                        }
                        if args.len() != 2 {
                            return Err(operand_count_error(kind, f, args.len()));
                        }
                        for a in args {
                            if let Some(t) = self
                                .constant(a)
                                .map(AttributeValue::value_type)
                                .filter(|t| *t != ValueType::L)
                            {
                                return Err(operand_type_error(kind, f, t));
                            }
                        }
                        let a = self.resolve_set_operand(kind, &args[0], true, operators)?;
                        let b = self.resolve_set_operand(kind, &args[1], true, operators)?;
                        SetValue::ListAppend(Box::new(a), Box::new(b))
                    }
                    _ => return Err(invalid(kind, format!("Invalid function name; function: {f}"))),
                }
            }
            _ => return Err(Error::internal("unexpected operand in a SET action")),
        })
    }
}
