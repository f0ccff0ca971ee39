//! Parse trees. The parser produces a *raw* tree (names and placeholders as written); the
//! checker validates it in DynamoDB's order and resolves it into the typed trees evaluated by
//! `eval` and `update`.

use std::fmt;

use tessera_model::AttributeValue;

/// One element of a raw document path, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawElem {
    /// A bare name (checked against the reserved words).
    Name(String),
    /// `#name`, resolved through ExpressionAttributeNames.
    NameRef(String),
    Index(usize),
}

pub type RawPath = Vec<RawElem>;

/// A raw condition or operand.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Or(Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Parens(Box<Node>),
    Compare(CompareOp, Box<Node>, Box<Node>),
    Between(Box<Node>, Box<Node>, Box<Node>),
    In(Box<Node>, Vec<Node>),
    Call(String, Vec<Node>),
    Path(RawPath),
    Value(String),
}

impl Node {
    /// True for nodes that are conditions rather than operands.
    pub fn is_condition(&self) -> bool {
        match self {
            Node::Or(..) | Node::And(..) | Node::Not(_) | Node::Compare(..) | Node::Between(..) | Node::In(..) => true,
            Node::Parens(inner) => inner.is_condition(),
            _ => false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }

    /// The same comparison with its operands swapped (`:v < a` is `a > :v`).
    pub fn flipped(self) -> CompareOp {
        match self {
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::Le => CompareOp::Ge,
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::Ge => CompareOp::Le,
            other => other,
        }
    }
}

/// A resolved document path element.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElem {
    Attr(String),
    Index(usize),
}

/// A resolved document path: `a.b[3].c` is `[Attr(a), Attr(b), Index(3), Attr(c)]`.
/// Never empty; always starts with an attribute.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Path(pub Vec<PathElem>);

impl Path {
    pub fn attr(name: impl Into<String>) -> Path {
        Path(vec![PathElem::Attr(name.into())])
    }

    /// The top-level attribute name.
    pub fn root(&self) -> &str {
        match self.0.first() {
            Some(PathElem::Attr(name)) => name,
            _ => "",
        }
    }
}

/// DynamoDB's rendering in messages: `[a, b, [3]]`.
impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match e {
                PathElem::Attr(a) => f.write_str(a)?,
                PathElem::Index(n) => write!(f, "[{n}]")?,
            }
        }
        f.write_str("]")
    }
}

/// A resolved operand of a condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Path(Path),
    Value(AttributeValue),
    Size(Box<Operand>),
}

/// A resolved condition (ConditionExpression, FilterExpression).
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Or(Box<Condition>, Box<Condition>),
    And(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
    Compare(CompareOp, Operand, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    AttributeExists(Path),
    AttributeNotExists(Path),
    AttributeType(Operand, Operand),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
}

impl Operand {
    fn mentions(&self, name: &str) -> bool {
        match self {
            Operand::Path(p) => p.root() == name,
            Operand::Value(_) => false,
            Operand::Size(inner) => inner.mentions(name),
        }
    }
}

impl Condition {
    /// Whether a path of the condition starts at the top-level attribute `name`.
    pub fn mentions(&self, name: &str) -> bool {
        match self {
            Condition::Or(a, b) | Condition::And(a, b) => a.mentions(name) || b.mentions(name),
            Condition::Not(c) => c.mentions(name),
            Condition::Compare(_, a, b)
            | Condition::AttributeType(a, b)
            | Condition::BeginsWith(a, b)
            | Condition::Contains(a, b) => a.mentions(name) || b.mentions(name),
            Condition::Between(a, b, c) => a.mentions(name) || b.mentions(name) || c.mentions(name),
            Condition::In(a, list) => a.mentions(name) || list.iter().any(|o| o.mentions(name)),
            Condition::AttributeExists(p) | Condition::AttributeNotExists(p) => p.root() == name,
        }
    }
}

/// A resolved right-hand side of a SET action.
#[derive(Clone, Debug, PartialEq)]
pub enum SetValue {
    Path(Path),
    Value(AttributeValue),
    IfNotExists(Path, Box<SetValue>),
    ListAppend(Box<SetValue>, Box<SetValue>),
    Plus(Box<SetValue>, Box<SetValue>),
    Minus(Box<SetValue>, Box<SetValue>),
}

/// A resolved UpdateExpression.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Update {
    pub set: Vec<(Path, SetValue)>,
    pub remove: Vec<Path>,
    pub add: Vec<(Path, AttributeValue)>,
    pub delete: Vec<(Path, AttributeValue)>,
}

impl Update {
    /// Every path the update writes (for the key-attribute check and UPDATED_* return values).
    pub fn target_paths(&self) -> impl Iterator<Item = &Path> {
        self.set
            .iter()
            .map(|(p, _)| p)
            .chain(&self.remove)
            .chain(self.add.iter().map(|(p, _)| p))
            .chain(self.delete.iter().map(|(p, _)| p))
    }
}
